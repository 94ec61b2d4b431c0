/* The transfer layer's life (the composite context calls these). */
#ifndef SEDX_TRANSFER_TRANSFER_H
#define SEDX_TRANSFER_TRANSFER_H

#include <sedx/transfer.h>
#include "buffer/buffer.h"

/* Refuses unknown flags and impossible sizes (logged), before anything is created. */
sedx_result sedx__transfer_check_info(const sedx_transfer_info *info);
/* Pipelines and memcpy threads; the rings are created on first need. info may be NULL. */
sedx_result sedx__transfer_create(sedx_context *ctx, const sedx_transfer_info *info);
/* Submits uploads still in the open batch (the application's data) and waits, then frees. */
void sedx__transfer_destroy(sedx_context *ctx);

#endif
