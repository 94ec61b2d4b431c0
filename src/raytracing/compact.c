/*
 * Compaction: the compacted sizes queried on the GPU (one submission, waited), each structure
 * copied into a new one of that size (a second submission), the originals released behind it.
 */
#include "raytracing/raytracing_private.h"

#include <string.h>

/* Every structure live, of ctx, built with ALLOW_COMPACTION; handles into vk[]. */
static sedx_result check_all(sedx_context *ctx, const sedx_acceleration_structure *as, uint32_t count,
                             VkAccelerationStructureKHR *vk)
{
    for (uint32_t i = 0; i < count; ++i) {
        sedx__as *a = sedx__as_get(ctx, &as[i], "sedx_as_compact");
        if (!a) return SEDX_ERROR_INVALID_HANDLE;
        if (!(a->build_flags & VK_BUILD_ACCELERATION_STRUCTURE_ALLOW_COMPACTION_BIT_KHR))
            return SEDX__ERR(SEDX_ERROR_INVALID_ARGUMENT, TAG, "sedx_as_compact: structure %u '%s' was built without "
                             "VK_BUILD_ACCELERATION_STRUCTURE_ALLOW_COMPACTION_BIT_KHR", i, sedx__rt_name(a->name));
        for (uint32_t j = 0; j < i; ++j)
            if (vk[j] == a->as)
                return SEDX__ERR(SEDX_ERROR_INVALID_ARGUMENT, TAG, "sedx_as_compact: structure %u '%s' is also "
                                 "structure %u", i, sedx__rt_name(a->name), j);
        vk[i] = a->as;
    }
    return SEDX_SUCCESS;
}

/* The compacted sizes of vk[0..count), written by the GPU into a query pool (waited). */
static sedx_result query_sizes(sedx_context *ctx, const VkAccelerationStructureKHR *vk, uint32_t count,
                               uint64_t *sizes)
{
    VkQueryPoolCreateInfo qi = {VK_STRUCTURE_TYPE_QUERY_POOL_CREATE_INFO};
    qi.queryType = VK_QUERY_TYPE_ACCELERATION_STRUCTURE_COMPACTED_SIZE_KHR;
    qi.queryCount = count;
    VkQueryPool pool = VK_NULL_HANDLE;
    VkResult vr = vkCreateQueryPool(ctx->device, &qi, NULL, &pool);
    if (vr != VK_SUCCESS) return SEDX__VK(vr, "vkCreateQueryPool");
    sedx_cmd cmd;
    sedx_ticket tk = {0};
    sedx_result r = sedx_cmd_begin(ctx, SEDX_QUEUE_GRAPHICS, &cmd);
    if (r == SEDX_SUCCESS) {
        vkCmdResetQueryPool(cmd.cmd, pool, 0, count);
        ctx->rt.cmd_write_properties(cmd.cmd, count, vk, VK_QUERY_TYPE_ACCELERATION_STRUCTURE_COMPACTED_SIZE_KHR, pool,
                                     0);
        r = sedx_cmd_submit(ctx, &cmd, NULL, &tk);
        if (r != SEDX_SUCCESS && cmd.cmd) sedx_cmd_discard(ctx, &cmd);
    }
    if (r == SEDX_SUCCESS) r = sedx_ticket_wait(ctx, tk, UINT64_MAX);
    if (r == SEDX_SUCCESS) {
        vr = vkGetQueryPoolResults(ctx->device, pool, 0, count, (size_t)count * sizeof *sizes, sizes, sizeof *sizes,
                                   VK_QUERY_RESULT_64_BIT | VK_QUERY_RESULT_WAIT_BIT);
        if (vr != VK_SUCCESS) r = SEDX__VK(vr, "vkGetQueryPoolResults");
    }
    vkDestroyQueryPool(ctx->device, pool, NULL); /* the GPU is past it: waited, or never submitted */
    return r;
}

/* Records the compacting copies old[i] -> fresh[i] and submits them. */
static sedx_result copy_all(sedx_context *ctx, const sedx_acceleration_structure *old,
                            const sedx_acceleration_structure *fresh, uint32_t count, sedx_ticket *tk)
{
    sedx_cmd cmd;
    sedx_result r = sedx_cmd_begin(ctx, SEDX_QUEUE_GRAPHICS, &cmd);
    if (r != SEDX_SUCCESS) return r;
    for (uint32_t i = 0; i < count; ++i) {
        VkCopyAccelerationStructureInfoKHR ci = {VK_STRUCTURE_TYPE_COPY_ACCELERATION_STRUCTURE_INFO_KHR};
        ci.src = old[i].as;
        ci.dst = fresh[i].as;
        ci.mode = VK_COPY_ACCELERATION_STRUCTURE_MODE_COMPACT_KHR;
        ctx->rt.cmd_copy(cmd.cmd, &ci);
    }
    sedx__as_barrier(cmd.cmd);
    r = sedx_cmd_submit(ctx, &cmd, NULL, tk);
    if (r != SEDX_SUCCESS && cmd.cmd) sedx_cmd_discard(ctx, &cmd);
    return r;
}

sedx_result sedx_as_compact(sedx_context *ctx, sedx_acceleration_structure *as, uint32_t count, sedx_ticket *out_ticket)
{
    if (!ctx || !as || count == 0)
        return SEDX__ERR(SEDX_ERROR_INVALID_ARGUMENT, TAG, "sedx_as_compact: %s",
                         !ctx ? "ctx is NULL" : !as ? "as is NULL" : "count 0");
    SEDX_PROFILE_SCOPE("sedx_as_compact");
    sedx_result r = sedx__rt_require(ctx, SEDX_FEATURE_ACCELERATION_STRUCTURE, "sedx_as_compact");
    if (r != SEDX_SUCCESS) return r;
    VkAccelerationStructureKHR *vk = sedx__calloc(count, sizeof *vk);
    uint64_t *sizes = sedx__calloc(count, sizeof *sizes);
    sedx_acceleration_structure *fresh = sedx__calloc(count, sizeof *fresh);
    if (!vk || !sizes || !fresh) r = SEDX__ERR(SEDX_ERROR_OUT_OF_HOST_MEMORY, TAG, "sedx_as_compact: out of host memory");
    if (r == SEDX_SUCCESS) r = check_all(ctx, as, count, vk);
    if (r == SEDX_SUCCESS) r = query_sizes(ctx, vk, count, sizes);
    for (uint32_t i = 0; r == SEDX_SUCCESS && i < count; ++i)
        if (sizes[i] == 0 || sizes[i] > as[i].size)
            r = SEDX__ERR(SEDX_ERROR_VULKAN, TAG, "sedx_as_compact: the device reported %llu compacted bytes for a "
                          "structure of %llu", (unsigned long long)sizes[i], (unsigned long long)as[i].size);
    if (r == SEDX_SUCCESS) r = sedx__as_create_like(ctx, as, sizes, count, fresh);
    sedx_ticket tk = {0};
    if (r == SEDX_SUCCESS && (r = copy_all(ctx, as, fresh, count, &tk)) != SEDX_SUCCESS)
        for (uint32_t i = 0; i < count; ++i) sedx__as_discard(ctx, &fresh[i]);
    if (r == SEDX_SUCCESS) {
        for (uint32_t i = 0; i < count; ++i) {
            sedx__as *o = sedx__as_get(ctx, &as[i], "sedx_as_compact"), *f = sedx__as_get(ctx, &fresh[i], "sedx_as_compact");
            if (o && f) f->build_flags = o->build_flags;
            if (o) sedx__buffer_mark_use(o->storage.resource, (sedx_queue)tk.queue, tk.value);
            if (f) sedx__buffer_mark_use(f->storage.resource, (sedx_queue)tk.queue, tk.value);
            sedx_acceleration_structure_release(ctx, &as[i]); /* behind the copy: it is submitted */
            as[i] = fresh[i];
        }
    }
    sedx__free(vk);
    sedx__free(sizes);
    sedx__free(fresh);
    if (r != SEDX_SUCCESS) return r;
    if (out_ticket) *out_ticket = tk;
    else r = sedx_ticket_wait(ctx, tk, UINT64_MAX);
    return r;
}
