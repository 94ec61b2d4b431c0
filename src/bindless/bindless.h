/* The bindless layer's life (the composite context calls these). */
#ifndef SEDX_BINDLESS_BINDLESS_H
#define SEDX_BINDLESS_BINDLESS_H

#include <sedx/bindless.h>
#include "buffer/buffer.h"

sedx_result sedx__bindless_create(sedx_context *ctx);
void sedx__bindless_destroy(sedx_context *ctx);

#endif
