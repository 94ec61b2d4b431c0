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

/* One checked copy: resources and ranges. */
typedef struct copy_rec {
    sedx_buffer_resource *s, *d;
    uint64_t so, dof, size;
} copy_rec;

static bool ranges_meet(const sedx_buffer_resource *a, uint64_t ao, const sedx_buffer_resource *b, uint64_t bo,
                        uint64_t n, uint64_t m)
{
    return a == b && ao < bo + m && bo < ao + n;
}

/* Whether c touches bytes that one of the copies recorded since the last barrier writes (read
 * after write, write after write) or reads while c writes them (write after read). */
static bool hazard(const copy_rec *since, uint32_t n, const copy_rec *c)
{
    for (uint32_t j = 0; j < n; ++j) {
        const copy_rec *e = &since[j];
        if (ranges_meet(c->s, c->so, e->d, e->dof, c->size, e->size) ||
            ranges_meet(c->d, c->dof, e->d, e->dof, c->size, e->size) ||
            ranges_meet(c->d, c->dof, e->s, e->so, c->size, e->size))
            return true;
    }
    return false;
}

/* Most copies compared with one another between barriers: past it a barrier is recorded anyway
 * (correct, and keeps recording linear in the number of copies). */
#define HAZARD_WINDOW 64u

/* Records the n checked copies (none of size 0) into one command buffer, in order, with a
 * barrier between two copies only where the later one touches bytes an earlier one since the
 * last barrier writes, or writes bytes it reads; submits it. Lock not held. */
static sedx_result copy_resources(sedx_context *ctx, struct sedx__transfer *t, const copy_rec *c, uint32_t n,
                                  sedx_ticket *out)
{
    SEDX_PROFILE_SCOPE("sedx_gpu_copy");
    pthread_mutex_lock(&t->lock);
    sedx_result r = sedx__batch_submit(ctx, t, NULL); /* earlier uploads first */
    sedx_cmd cmd;
    if (r == SEDX_SUCCESS) r = sedx_cmd_begin(ctx, SEDX_QUEUE_GRAPHICS, &cmd);
    sedx_ticket tk = {0};
    if (r == SEDX_SUCCESS) {
        bool compute = false;
        uint32_t first = 0; /* copies since the last barrier: c[first, i) */
        sedx__barrier_before(cmd.cmd, true);
        for (uint32_t i = 0; i < n; ++i) {
            if (i - first >= HAZARD_WINDOW || hazard(c + first, i - first, &c[i])) {
                sedx__barrier(cmd.cmd, VK_PIPELINE_STAGE_ALL_COMMANDS_BIT, VK_ACCESS_MEMORY_WRITE_BIT,
                              VK_PIPELINE_STAGE_ALL_COMMANDS_BIT, VK_ACCESS_MEMORY_READ_BIT | VK_ACCESS_MEMORY_WRITE_BIT);
                first = i;
            }
            record_copy(ctx, t, cmd.cmd, c[i].s, c[i].so, c[i].d, c[i].dof, c[i].size, &compute);
        }
        sedx__barrier_after(cmd.cmd, true);
        r = sedx__submit_ordered(ctx, t, &cmd, &tk);
    }
    if (r == SEDX_SUCCESS) {
        for (uint32_t i = 0; i < n; ++i) {
            sedx__buffer_mark_use(c[i].s, (sedx_queue)tk.queue, tk.value);
            sedx__buffer_mark_use(c[i].d, (sedx_queue)tk.queue, tk.value);
        }
        *out = tk;
    }
    pthread_mutex_unlock(&t->lock);
    return r;
}

/* The ticket to the caller, or (out_ticket NULL) the wait for it. */
static sedx_result ticket_or_wait(sedx_context *ctx, sedx_ticket tk, sedx_ticket *out_ticket)
{
    if (out_ticket) {
        *out_ticket = tk;
        return SEDX_SUCCESS;
    }
    return tk.value ? sedx_ticket_wait(ctx, tk, UINT64_MAX) : SEDX_SUCCESS;
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
    copy_rec c = {s, d, src_offset, dst_offset, size};
    if (size && (r = copy_resources(ctx, t, &c, 1, &tk)) != SEDX_SUCCESS) return r;
    return ticket_or_wait(ctx, tk, out_ticket);
}

sedx_result sedx_gpu_copy_batch(sedx_context *ctx, const sedx_copy_region *regions, uint32_t count,
                                sedx_ticket *out_ticket)
{
    if (!ctx || (count && !regions))
        return SEDX__ERR(SEDX_ERROR_INVALID_ARGUMENT, TAG, "sedx_gpu_copy_batch: %s is NULL", !ctx ? "ctx" : "regions");
    copy_rec *c = count ? sedx__malloc(sizeof *c * count) : NULL;
    if (count && !c) return SEDX__ERR(SEDX_ERROR_OUT_OF_HOST_MEMORY, TAG, "sedx_gpu_copy_batch: out of host memory");
    /* all or nothing: every region is checked before anything is recorded */
    sedx_result r = SEDX_SUCCESS;
    uint32_t n = 0;
    for (uint32_t i = 0; i < count && r == SEDX_SUCCESS; ++i) {
        const sedx_copy_region *g = &regions[i];
        sedx_buffer_resource *s = sedx__check_buffer(ctx, g->src, g->src_offset, g->size, "sedx_gpu_copy_batch(src)", &r);
        sedx_buffer_resource *d = s ? sedx__check_buffer(ctx, g->dst, g->dst_offset, g->size, "sedx_gpu_copy_batch(dst)", &r)
                                    : NULL;
        if (d) r = check_copy(s, g->src_offset, d, g->dst_offset, g->size, "sedx_gpu_copy_batch");
        if (r == SEDX_SUCCESS && g->size) c[n++] = (copy_rec){s, d, g->src_offset, g->dst_offset, g->size};
        if (r != SEDX_SUCCESS)
            sedx_log(SEDX_LOG_ERROR, TAG, __FILE__, __LINE__, "sedx_gpu_copy_batch: region %u of %u refused (%s): "
                     "nothing copied", i, count, sedx_result_name(r));
    }
    sedx_ticket tk = {0, 0, ctx->id};
    if (r == SEDX_SUCCESS && n) r = copy_resources(ctx, sedx__get_transfer(ctx), c, n, &tk);
    sedx__free(c);
    return r == SEDX_SUCCESS ? ticket_or_wait(ctx, tk, out_ticket) : r;
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
    copy_rec c = {s, d, src_offset, dst_offset, size};
    if (d && r == SEDX_SUCCESS) r = copy_resources(ctx, t, &c, 1, &tk);
    if (r == SEDX_SUCCESS) r = sedx_ticket_wait(ctx, tk, UINT64_MAX);
    sedx__buffer_unref(s); /* after the wait: the references kept the buffers alive meanwhile */
    if (d) sedx__buffer_unref(d);
    return r;
}

sedx_result sedx_copy_buffer(sedx_context *ctx, VkBuffer src, VkBuffer dst, VkDeviceSize size)
{
    return sedx_copy_buffer_offsets(ctx, src, 0, dst, 0, size);
}
