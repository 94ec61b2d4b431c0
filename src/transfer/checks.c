/*
 * Argument checks shared by uploads, readback and copies.
 */
#include "transfer/transfer_private.h"

sedx_result sedx__check_range(const sedx_buffer_resource *res, uint64_t offset, uint64_t size, const char *what)
{
    if (offset > res->size || size > res->size - offset)
        return SEDX__ERR(SEDX_ERROR_OUT_OF_BOUNDS, TAG, "%s: buffer '%s': [%llu, +%llu) is outside its %llu bytes",
                         what, res->name, (unsigned long long)offset, (unsigned long long)size,
                         (unsigned long long)res->size);
    return SEDX_SUCCESS;
}

sedx_buffer_resource *sedx__check_buffer(sedx_context *ctx, const sedx_buffer *buf, uint64_t offset, uint64_t size,
                                          const char *what, sedx_result *r)
{
    sedx_buffer_resource *res = sedx__buffer_get(buf, what);
    if (!res) {
        *r = SEDX_ERROR_INVALID_HANDLE;
        return NULL;
    }
    if (res->ctx != ctx) {
        *r = SEDX__ERR(SEDX_ERROR_WRONG_CONTEXT, TAG, "%s: buffer '%s' belongs to another context", what, res->name);
        return NULL;
    }
    if ((*r = sedx__check_range(res, offset, size, what)) != SEDX_SUCCESS) return NULL;
    return res;
}

bool sedx__gpu_idle_for(sedx_context *ctx, sedx_buffer_resource *res)
{
    for (int q = 0; q < SEDX_QUEUE_COUNT; ++q) {
        uint64_t v = atomic_load(&res->last_use[q]);
        if (!v || atomic_load(&sedx__ctx_queue(ctx, (sedx_queue)q)->completed) >= v) continue; /* cached */
        if (sedx_context_completed_value(ctx, (sedx_queue)q) < v) return false;
    }
    return true;
}

sedx_buffer_resource *sedx__lookup_vk(sedx_context *ctx, VkBuffer buffer, const char *what, sedx_result *r)
{
    sedx_buffer_resource *res = sedx__buffer_lookup_vk(ctx, buffer);
    if (!res)
        *r = SEDX__ERR(SEDX_ERROR_INVALID_HANDLE, TAG, "%s: VkBuffer 0x%llx is not a live buffer of this sedx "
                       "context (released, another context's, or not created by sedx)", what,
                       (unsigned long long)(uintptr_t)buffer);
    return res;
}
