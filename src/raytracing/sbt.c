/*
 * Shader binding tables: the pipeline's group handles (and the caller's records) laid out with
 * the device's alignments in one sedx buffer, uploaded, and the regions vkCmdTraceRaysKHR takes.
 */
#include "raytracing/raytracing_private.h"

#include <string.h>

/* The byte layout of a table: per kind (raygen, miss, hit, callable) its offset and group count. */
typedef struct sbt_layout {
    uint64_t stride, offset[4], size[4], total;
    uint32_t count[4];
} sbt_layout;

static sedx_result layout_for(sedx_context *ctx, const sedx_sbt_info *in, sbt_layout *l)
{
    const VkPhysicalDeviceRayTracingPipelinePropertiesKHR *p = &ctx->rtp_props;
    const uint64_t base = SEDX__MAX(p->shaderGroupBaseAlignment, 1u);
    l->stride = sedx__align_up((uint64_t)p->shaderGroupHandleSize + in->record_size,
                               SEDX__MAX(p->shaderGroupHandleAlignment, 1u));
    if (l->stride > p->maxShaderGroupStride)
        return SEDX__ERR(SEDX_ERROR_INVALID_SIZE, TAG, "sedx_sbt_create: table '%s': a record of %llu bytes (handle "
                         "%u + record_size %u) exceeds maxShaderGroupStride %u", sedx__rt_name(in->name),
                         (unsigned long long)l->stride, p->shaderGroupHandleSize, in->record_size,
                         p->maxShaderGroupStride);
    const uint32_t counts[4] = {in->raygen_count, in->miss_count, in->hit_count, in->callable_count};
    uint64_t at = 0;
    for (int k = 0; k < 4; ++k) {
        l->count[k] = counts[k];
        l->offset[k] = at;
        l->size[k] = (uint64_t)counts[k] * l->stride;
        at = sedx__align_up(at + l->size[k], base);
    }
    l->total = SEDX__MAX(at, base);
    return SEDX_SUCCESS;
}

static sedx_result check_info(sedx_context *ctx, const sedx_sbt_info *in)
{
    const char *name = sedx__rt_name(in->name);
    if (!in->pipeline)
        return SEDX__ERR(SEDX_ERROR_INVALID_ARGUMENT, TAG, "sedx_sbt_create: table '%s': pipeline is VK_NULL_HANDLE",
                         name);
    if (in->raygen_count != 1)
        return SEDX__ERR(SEDX_ERROR_INVALID_ARGUMENT, TAG, "sedx_sbt_create: table '%s': raygen_count %u (one raygen "
                         "group per table: vkCmdTraceRaysKHR takes one)", name, in->raygen_count);
    if (in->record_data && !in->record_size)
        return SEDX__ERR(SEDX_ERROR_INVALID_ARGUMENT, TAG, "sedx_sbt_create: table '%s': record_data without "
                         "record_size", name);
    uint64_t groups = (uint64_t)in->raygen_count + in->miss_count + in->hit_count + in->callable_count;
    if (groups > UINT32_MAX / SEDX__MAX(ctx->rtp_props.shaderGroupHandleSize, 1u))
        return SEDX__ERR(SEDX_ERROR_INVALID_ARGUMENT, TAG, "sedx_sbt_create: table '%s': %llu groups", name,
                         (unsigned long long)groups);
    return SEDX_SUCCESS;
}

/* The table's bytes: each group's handle then its record, at the layout's places. */
static sedx_result fill(sedx_context *ctx, const sedx_sbt_info *in, const sbt_layout *l, uint8_t *bytes)
{
    const uint32_t h = ctx->rtp_props.shaderGroupHandleSize;
    const uint32_t groups = l->count[0] + l->count[1] + l->count[2] + l->count[3];
    uint8_t *handles = sedx__calloc(groups, h);
    if (!handles) return SEDX__ERR(SEDX_ERROR_OUT_OF_HOST_MEMORY, TAG, "sedx_sbt_create: out of host memory");
    VkResult vr = ctx->rt.group_handles(ctx->device, in->pipeline, 0, groups, (size_t)groups * h, handles);
    if (vr != VK_SUCCESS) {
        sedx__free(handles);
        return SEDX__VK(vr, "vkGetRayTracingShaderGroupHandlesKHR");
    }
    const uint8_t *rec = in->record_data;
    for (uint32_t k = 0, g = 0; k < 4; ++k)
        for (uint32_t i = 0; i < l->count[k]; ++i, ++g) {
            uint8_t *dst = bytes + l->offset[k] + (uint64_t)i * l->stride;
            memcpy(dst, handles + (size_t)g * h, h);
            if (rec) memcpy(dst + h, rec + (size_t)g * in->record_size, in->record_size);
        }
    sedx__free(handles);
    return SEDX_SUCCESS;
}

sedx_result sedx_sbt_create(sedx_context *ctx, const sedx_sbt_info *info, sedx_sbt *out)
{
    sedx_result r = sedx__rt_begin(ctx, info, out, SEDX_FEATURE_RAY_TRACING_PIPELINE, "sedx_sbt_create");
    if (r == SEDX_SUCCESS) r = check_info(ctx, info);
    sbt_layout l = {0};
    if (r == SEDX_SUCCESS) r = layout_for(ctx, info, &l);
    if (r != SEDX_SUCCESS) return r;
    uint8_t *bytes = sedx__calloc(1, (size_t)l.total);
    if (!bytes) return SEDX__ERR(SEDX_ERROR_OUT_OF_HOST_MEMORY, TAG, "sedx_sbt_create: out of host memory");
    sedx_buffer buf = {0};
    r = fill(ctx, info, &l, bytes);
    if (r == SEDX_SUCCESS)
        r = sedx_buffer_create_with_data(ctx, l.total, SEDX_BUFFER_USAGE_SHADER_BINDING_TABLE, SEDX_MEMORY_GPU,
                                         info->name ? info->name : "sedx SBT", bytes, &buf);
    sedx__free(bytes);
    if (r != SEDX_SUCCESS) return r;
    VkDeviceAddress a = sedx_buffer_address(&buf);
    if (a % SEDX__MAX(ctx->rtp_props.shaderGroupBaseAlignment, 1u)) { /* the allocator placed it so: never */
        sedx_buffer_release(&buf);
        return SEDX__ERR(SEDX_ERROR_INVALID_ALIGNMENT, TAG, "sedx_sbt_create: buffer address 0x%llx is not a multiple "
                         "of shaderGroupBaseAlignment %u", (unsigned long long)a,
                         ctx->rtp_props.shaderGroupBaseAlignment);
    }
    sedx_sbt s = {buf};
    VkStridedDeviceAddressRegionKHR *regions[4] = {&s.raygen, &s.miss, &s.hit, &s.callable};
    for (int k = 0; k < 4; ++k)
        if (l.count[k]) *regions[k] = (VkStridedDeviceAddressRegionKHR){a + l.offset[k], l.stride, l.size[k]};
    *out = s;
    return SEDX_SUCCESS;
}

void sedx_sbt_release(sedx_sbt *sbt)
{
    if (!sbt) return;
    /* as for acceleration structures: behind every submission made so far, since the table is
     * read by the caller's traces, which sedx does not see (a stale or empty buffer: the buffer
     * layer's release logs or ignores it) */
    sedx_buffer_resource *res = sbt->buffer.resource ? sedx__buffer_get(&sbt->buffer, "sedx_sbt_release") : NULL;
    if (res)
        for (int q = 0; q < SEDX_QUEUE_COUNT; ++q)
            sedx__buffer_mark_use(res, (sedx_queue)q, sedx_context_submitted_value(res->ctx, (sedx_queue)q));
    sedx_buffer_release(&sbt->buffer);
    *sbt = (sedx_sbt){0};
}
