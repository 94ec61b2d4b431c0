/* The composite context: the entry points of every layer it creates and destroys. */
#ifndef SEDX_CONTEXT_CONTEXT_H
#define SEDX_CONTEXT_CONTEXT_H

#include "bindless/bindless.h"
#include "buffer/buffer.h"
#include "device/device.h"
#include "frame/frame.h"
#include "image/image.h"
#include "memory/memory.h"
#include "raytracing/raytracing.h"
#include "transfer/transfer.h"

#endif
