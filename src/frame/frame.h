/* The frame layer's life (the composite context calls these): frames in flight and per-frame
 * transient memory (<sedx/frame.h>). */
#ifndef SEDX_FRAME_FRAME_H
#define SEDX_FRAME_FRAME_H

#include <sedx/frame.h>
#include "buffer/buffer.h"

/* The layer's state with the default settings; no block exists before the first allocation. */
sedx_result sedx__frames_create(sedx_context *ctx);
/* Gives every block back (the device was drained before). */
void sedx__frames_destroy(sedx_context *ctx);

#endif
