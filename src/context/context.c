/*
 * The context: a small composite. It creates the device, then each layer in order (memory,
 * buffer, image, bindless, transfer, raytracing, frame), and destroys them in reverse, with direct calls. The layers
 * below never call up; what they need from above (the bindless table's view of buffers) they
 * get through hooks the upper layer installs.
 */
#include "context/context.h"

#define TAG "CONTEXT"

/* The layers above the device, bottom up; each create may assume the ones before exist. */
static sedx_result create_layers(sedx_context *ctx, const sedx_allocator_info *allocator,
                                 const sedx_transfer_info *transfer)
{
    sedx_result r = sedx__allocator_create(ctx, allocator);
    if (r == SEDX_SUCCESS) r = sedx__buffers_create(ctx);
    if (r == SEDX_SUCCESS) r = sedx__images_create(ctx);
    if (r == SEDX_SUCCESS) r = sedx__bindless_create(ctx);
    if (r == SEDX_SUCCESS) r = sedx__transfer_create(ctx, transfer);
    if (r == SEDX_SUCCESS) r = sedx__raytracing_create(ctx);
    if (r == SEDX_SUCCESS) r = sedx__frames_create(ctx);
    return r;
}

/* Top down: each layer's teardown may still use the layers below it (the transfer layer submits
 * uploads still open; released buffers wait on the device's deletion queue, drained between). */
static void destroy_layers(sedx_context *ctx)
{
    sedx__device_drain(ctx);
    sedx__frames_destroy(ctx);
    sedx__raytracing_destroy(ctx);
    sedx__transfer_destroy(ctx);
    sedx__bindless_destroy(ctx);
    sedx__device_drain(ctx);
    sedx__images_destroy(ctx);
    sedx__device_drain(ctx);
    sedx__buffers_destroy(ctx);
    sedx__device_drain(ctx);
    sedx__allocator_destroy(ctx);
}

static sedx_result check_info(const sedx_context_info *info)
{
    if (info->flags & ~SEDX_CONTEXT_FLAGS_ALL)
        return SEDX__ERR(SEDX_ERROR_INVALID_ARGUMENT, TAG,
                         "sedx_context_create: unknown flag bits 0x%x in sedx_context_info.flags (known: 0x%x)",
                         info->flags & ~SEDX_CONTEXT_FLAGS_ALL, SEDX_CONTEXT_FLAGS_ALL);
    sedx_result r = info->allocator ? sedx__allocator_check_info(info->allocator) : SEDX_SUCCESS;
    if (r == SEDX_SUCCESS && info->transfer) r = sedx__transfer_check_info(info->transfer);
    return r;
}

sedx_result sedx_context_create(const sedx_context_info *info, sedx_context **out_ctx)
{
    if (!info || !out_ctx)
        return SEDX__ERR(SEDX_ERROR_INVALID_ARGUMENT, TAG, "sedx_context_create: %s is NULL",
                         !info ? "info" : "out_ctx");
    *out_ctx = NULL;
    sedx_result r = check_info(info);
    if (r != SEDX_SUCCESS) return r;
    SEDX_PROFILE_SCOPE("sedx_context_create");
    sedx_context *ctx = sedx__device_alloc();
    if (!ctx) return SEDX__ERR(SEDX_ERROR_OUT_OF_HOST_MEMORY, TAG, "out of host memory");
    r = sedx__device_create(ctx, info);
    if (r == SEDX_SUCCESS) r = create_layers(ctx, info->allocator, info->transfer);
    if (r != SEDX_SUCCESS) {
        sedx_context_destroy(ctx);
        return r;
    }
    *out_ctx = ctx;
    return SEDX_SUCCESS;
}

sedx_result sedx_context_create_from_vulkan(const sedx_vulkan_objects *o, const sedx_allocator_info *allocator,
                                            sedx_context **out_ctx)
{
    if (!o || !out_ctx)
        return SEDX__ERR(SEDX_ERROR_INVALID_ARGUMENT, TAG, "sedx_context_create_from_vulkan: NULL argument");
    *out_ctx = NULL;
    sedx_result r = allocator ? sedx__allocator_check_info(allocator) : SEDX_SUCCESS;
    if (r != SEDX_SUCCESS) return r;
    sedx_context *ctx = sedx__device_alloc();
    if (!ctx) return SEDX__ERR(SEDX_ERROR_OUT_OF_HOST_MEMORY, TAG, "out of host memory");
    r = sedx__device_adopt(ctx, o);
    if (r == SEDX_SUCCESS) r = create_layers(ctx, allocator, NULL);
    if (r != SEDX_SUCCESS) {
        sedx_context_destroy(ctx);
        return r;
    }
    *out_ctx = ctx;
    return SEDX_SUCCESS;
}

void sedx_context_destroy(sedx_context *ctx)
{
    if (!ctx) return;
    destroy_layers(ctx);
    sedx__device_destroy(ctx);
}
