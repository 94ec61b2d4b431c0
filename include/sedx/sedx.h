/* sedx: the Scenery Editor X Vulkan buffer system in C, with its own GPU memory allocator. */
#ifndef SEDX_H
#define SEDX_H
#include <sedx/core.h>
#include <sedx/context.h>
#include <sedx/virtual_block.h>
#include <sedx/memory.h>
#include <sedx/buffer.h>
#include <sedx/image.h>
#include <sedx/bindless.h>
#include <sedx/transfer.h>
#include <sedx/frame.h>
#include <sedx/raytracing.h>
#include <sedx/module.h>
#endif
