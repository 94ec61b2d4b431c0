/*
 * Copies done by the GPU: sedx_gpu_copy between sedx buffers, and the seed's CopyBuffer on raw
 * VkBuffers, both checked the same way.
 */
#include "transfer/transfer_private.h"

static bool use_compute_copy(const struct sedx__transfer *t, uint64_t src_addr, uint64_t dst_addr, uint64_t size,
                             bool host_side)
{
    if (!t->copy_pipe || !src_addr || !dst_addr) return false;
    if (host_side) return false; /* host memory over PCIe: the DMA engine's job */
    if (((src_addr | dst_addr) & 15) != 0 || size < 16) return false;
    if (t->info.flags & SEDX_TRANSFER_FORCE_COPY_COMMAND) return false;
    if (t->info.flags & SEDX_TRANSFER_FORCE_COMPUTE_COPY) return true;
    /* measured: NVIDIA H100 compute copy 1.41 TB/s vs vkCmdCopyBuffer 0.43 TB/s; lavapipe the
     * other way round (4.9 vs 16.7 GB/s). Other vendors: the copy command until measured. */
    return t->nvidia && size >= (1u << 20);
}

static void record_copy(sedx_context *ctx, struct sedx__transfer *t, VkCommandBuffer cb, sedx_buffer_resource *s,
                        uint64_t so, sedx_buffer_resource *d, uint64_t dof, uint64_t size, bool *used_compute)
{
    uint64_t sa = s->address ? s->address + so : 0, da = d->address ? d->address + dof : 0;
    /* a CPU-memory side on a discrete GPU means PCIe: leave that to the copy engine */
    bool host_side = ctx->props.deviceType == VK_PHYSICAL_DEVICE_TYPE_DISCRETE_GPU &&
                     (s->memory_kind == SEDX_MEMORY_CPU || d->memory_kind == SEDX_MEMORY_CPU);
    if (use_compute_copy(t, sa, da, size, host_side)) {
        uint64_t body = size & ~(uint64_t)15;
        vkCmdBindPipeline(cb, VK_PIPELINE_BIND_POINT_COMPUTE, t->copy_pipe);
        for (uint64_t done = 0; done < body;) {
            uint64_t n = SEDX__MIN(body - done, (uint64_t)0xFFFFFFF0u * 16u);
            struct { uint64_t src, dst; uint32_t count, pad; } pc = {sa + done, da + done, (uint32_t)(n / 16), 0};
            vkCmdPushConstants(cb, t->layout, VK_SHADER_STAGE_COMPUTE_BIT, 0, sizeof pc, &pc);
            uint64_t groups = SEDX__MIN((n / 16 + 255) / 256, (uint64_t)ctx->props.limits.maxComputeWorkGroupCount[0]);
            groups = SEDX__MIN(groups, (uint64_t)t->copy_groups);
            vkCmdDispatch(cb, (uint32_t)SEDX__MAX(groups, 1u), 1, 1);
            done += n;
        }
        if (size > body) {
            VkBufferCopy c = {so + body, dof + body, size - body};
            vkCmdCopyBuffer(cb, s->buffer, d->buffer, 1, &c);
        }
        *used_compute = true;
        t->stats.compute_copies++;
    } else {
        VkBufferCopy c = {so, dof, size};
        vkCmdCopyBuffer(cb, s->buffer, d->buffer, 1, &c);
        t->stats.command_copies++;
    }
}

/* Records and submits one device copy between two checked resources. Lock not held. */
static sedx_result copy_resources(sedx_context *ctx, struct sedx__transfer *t, sedx_buffer_resource *s, uint64_t so,
                                  sedx_buffer_resource *d, uint64_t dof, uint64_t size, sedx_ticket *out)
{
    SEDX_PROFILE_SCOPE("sedx_gpu_copy");
    pthread_mutex_lock(&t->lock);
    sedx_result r = sedx__batch_submit(ctx, t, NULL); /* earlier uploads first */
    sedx_cmd cmd;
    if (r == SEDX_SUCCESS) r = sedx_cmd_begin(ctx, SEDX_QUEUE_GRAPHICS, &cmd);
    sedx_ticket tk = {0};
    if (r == SEDX_SUCCESS) {
        bool compute = false;
        sedx__barrier_before(cmd.cmd, true);
        record_copy(ctx, t, cmd.cmd, s, so, d, dof, size, &compute);
        sedx__barrier_after(cmd.cmd, true);
        r = sedx__submit_ordered(ctx, t, &cmd, &tk);
    }
    if (r == SEDX_SUCCESS) {
        sedx__buffer_mark_use(s, (sedx_queue)tk.queue, tk.value);
        sedx__buffer_mark_use(d, (sedx_queue)tk.queue, tk.value);
        *out = tk;
    }
    pthread_mutex_unlock(&t->lock);
    return r;
}

static sedx_result check_copy(sedx_buffer_resource *s, uint64_t so, sedx_buffer_resource *d, uint64_t dof,
                              uint64_t size, const char *what)
{
    sedx_result r = sedx__check_range(s, so, size, what);
    if (r == SEDX_SUCCESS) r = sedx__check_range(d, dof, size, what);
    if (r == SEDX_SUCCESS && s == d && so < dof + size && dof < so + size)
        r = SEDX__ERR(SEDX_ERROR_INVALID_ARGUMENT, TAG, "%s: buffer '%s': source [%llu, +%llu) and destination "
                      "[%llu, +%llu) overlap", what, s->name, (unsigned long long)so, (unsigned long long)size,
                      (unsigned long long)dof, (unsigned long long)size);
    return r;
}

sedx_result sedx_gpu_copy(sedx_context *ctx, const sedx_buffer *src, uint64_t src_offset, const sedx_buffer *dst,
                          uint64_t dst_offset, uint64_t size, sedx_ticket *out_ticket)
{
    if (!ctx) return SEDX__ERR(SEDX_ERROR_INVALID_ARGUMENT, TAG, "sedx_gpu_copy: ctx is NULL");
    sedx_result r;
    sedx_buffer_resource *s = sedx__check_buffer(ctx, src, src_offset, size, "sedx_gpu_copy(src)", &r);
    if (!s) return r;
    sedx_buffer_resource *d = sedx__check_buffer(ctx, dst, dst_offset, size, "sedx_gpu_copy(dst)", &r);
    if (!d) return r;
    if ((r = check_copy(s, src_offset, d, dst_offset, size, "sedx_gpu_copy")) != SEDX_SUCCESS) return r;
    struct sedx__transfer *t = sedx__get_transfer(ctx);
    sedx_ticket tk = {0, 0, ctx->id};
    if (size && (r = copy_resources(ctx, t, s, src_offset, d, dst_offset, size, &tk)) != SEDX_SUCCESS) return r;
    if (out_ticket) {
        *out_ticket = tk;
        return SEDX_SUCCESS;
    }
    return tk.value ? sedx_ticket_wait(ctx, tk, UINT64_MAX) : SEDX_SUCCESS;
}

sedx_result sedx_copy_buffer_offsets(sedx_context *ctx, VkBuffer src, VkDeviceSize src_offset, VkBuffer dst,
                                     VkDeviceSize dst_offset, VkDeviceSize size)
{
    const char *what = "sedx_copy_buffer";
    if (!ctx || !src || !dst) return SEDX__ERR(SEDX_ERROR_INVALID_ARGUMENT, TAG, "%s: NULL context or buffer", what);
    if (size == 0) return SEDX__ERR(SEDX_ERROR_INVALID_SIZE, TAG, "%s: size 0", what);
    sedx_result r;
    struct sedx__transfer *t = sedx__get_transfer(ctx);
    sedx_buffer_resource *s = sedx__lookup_vk(ctx, src, what, &r);
    if (!s) return r;
    sedx_buffer_resource *d = sedx__lookup_vk(ctx, dst, what, &r);
    sedx_ticket tk = {0};
    if (d) r = check_copy(s, src_offset, d, dst_offset, size, what);
    if (d && r == SEDX_SUCCESS) r = copy_resources(ctx, t, s, src_offset, d, dst_offset, size, &tk);
    if (r == SEDX_SUCCESS) r = sedx_ticket_wait(ctx, tk, UINT64_MAX);
    sedx__buffer_unref(s); /* after the wait: the references kept the buffers alive meanwhile */
    if (d) sedx__buffer_unref(d);
    return r;
}

sedx_result sedx_copy_buffer(sedx_context *ctx, VkBuffer src, VkBuffer dst, VkDeviceSize size)
{
    return sedx_copy_buffer_offsets(ctx, src, 0, dst, 0, size);
}
