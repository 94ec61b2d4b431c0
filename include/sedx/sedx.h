/* sedx: the Scenery Editor X Vulkan buffer system in C, with its own GPU memory allocator. */
#ifndef SEDX_H
#define SEDX_H
#include <sedx/core.h>
#include <sedx/context.h>
#include <sedx/virtual_block.h>
#if __has_include(<sedx/memory.h>)
#include <sedx/memory.h>
#endif
#endif
