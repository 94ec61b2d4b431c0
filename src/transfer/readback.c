/*
 * Readback: direct from host-cached memory, else through the readback ring in pieces.
 */
#include "transfer/transfer_private.h"

static sedx_result download_one(sedx_context *ctx, struct sedx__transfer *t, sedx_buffer_resource *res, uint64_t offset,
                                uint64_t size, uint8_t *dst)
{
    /* the GPU must be done with the buffer (sedx's own submissions and marked uses) */
    for (int q = 0; q < SEDX_QUEUE_COUNT; ++q) {
        uint64_t v = atomic_load(&res->last_use[q]);
        if (!v) continue;
        sedx_ticket tk = {v, (uint32_t)q, ctx->id};
        sedx_result r = sedx_ticket_wait(ctx, tk, UINT64_MAX);
        if (r != SEDX_SUCCESS) return r;
    }
    t->stats.downloads++;
    t->stats.download_bytes += size;
    if (res->host_ptr && res->host_cached && !(t->info.flags & SEDX_TRANSFER_NO_DIRECT)) {
        sedx_result r = res->coherent ? SEDX_SUCCESS : sedx_memory_invalidate(ctx, res->allocation, offset, size);
        if (r != SEDX_SUCCESS) return r;
        sedx__pool_memcpy(&t->pool, dst, (const uint8_t *)res->host_ptr + offset, (size_t)size);
        t->stats.direct_download_bytes += size;
        return SEDX_SUCCESS;
    }
    /* through the readback ring in chunks of a quarter of the ring, at most readback_chunk
     * bytes (16 MiB), up to DL_SLOTS of them in flight: the GPU fills later chunks while the CPU
     * drains the oldest. Smaller chunks were tried on the H100 (SEDX_READBACK_CHUNK_KB): 8 MiB
     * 0.80x the raw copy like 16 MiB, 4 MiB 0.73x, 2 MiB 0.35x, 1 MiB 0.19x (each chunk is a
     * submission, a wait and a wake-up of the copy threads). */
    enum { DL_SLOTS = 16 };
    ring *r = &t->down;
    sedx_result er = sedx__ring_ensure(ctx, t, r);
    if (er != SEDX_SUCCESS) return er;
    uint64_t chunk = SEDX__MIN(r->size / 4, t->readback_chunk);
    const uint32_t slots = (uint32_t)SEDX__MIN(r->size / chunk, (uint64_t)DL_SLOTS);
    sedx_queue q = t->use_transfer_queue ? SEDX_QUEUE_TRANSFER : SEDX_QUEUE_GRAPHICS;
    struct { uint64_t dst_off, n; sedx_ticket tk; } pend[DL_SLOTS]; /* slot i: ring bytes [i * chunk, + n) */
    uint64_t issued = 0;
    uint32_t head = 0, tail = 0, live = 0;
    sedx_result rr = SEDX_SUCCESS;
    while (issued < size || live) {
        if (issued < size && live < slots) {
            uint64_t n = sedx__chunk_next(t, chunk, issued, size);
            sedx_cmd cmd;
            rr = sedx_cmd_begin(ctx, q, &cmd);
            if (rr != SEDX_SUCCESS) break;
            sedx__barrier_before(cmd.cmd, false);
            VkBufferCopy c = {offset + issued, (uint64_t)head * chunk, n};
            vkCmdCopyBuffer(cmd.cmd, res->buffer, r->buffer.resource->buffer, 1, &c);
            sedx__barrier(cmd.cmd, VK_PIPELINE_STAGE_TRANSFER_BIT, VK_ACCESS_TRANSFER_WRITE_BIT, VK_PIPELINE_STAGE_HOST_BIT,
                    VK_ACCESS_HOST_READ_BIT);
            rr = sedx__submit_ordered(ctx, t, &cmd, &pend[head].tk);
            if (rr != SEDX_SUCCESS) break;
            sedx__buffer_mark_use(res, (sedx_queue)pend[head].tk.queue, pend[head].tk.value);
            pend[head].dst_off = issued;
            pend[head].n = n;
            issued += n;
            head = (head + 1) % slots;
            live++;
            continue;
        }
        rr = sedx__transfer_wait(ctx, t, pend[tail].tk);
        if (rr != SEDX_SUCCESS) break;
        rr = sedx_memory_invalidate(ctx, r->buffer.resource->allocation, (uint64_t)tail * chunk, pend[tail].n);
        if (rr != SEDX_SUCCESS) break;
        sedx__pool_copy(&t->pool, dst + pend[tail].dst_off, r->ptr + (uint64_t)tail * chunk, (size_t)pend[tail].n,
                        t->readback_stream);
        tail = (tail + 1) % slots;
        live--;
    }
    for (; live; live--, tail = (tail + 1) % slots) sedx_ticket_wait(ctx, pend[tail].tk, UINT64_MAX);
    return rr;
}

sedx_result sedx_download_batch(sedx_context *ctx, const sedx_download_region *regions, uint32_t count)
{
    if (!ctx || (count && !regions))
        return SEDX__ERR(SEDX_ERROR_INVALID_ARGUMENT, TAG, "sedx_download_batch: NULL argument");
    sedx_result r;
    /* validate everything first: all or nothing */
    for (uint32_t i = 0; i < count; ++i) {
        const sedx_download_region *g = &regions[i];
        sedx_buffer_resource *res = sedx__check_buffer(ctx, g->src, g->offset, g->size, "sedx_download", &r);
        if (!res) return r;
        if (g->size && !g->dst) return SEDX__ERR(SEDX_ERROR_INVALID_ARGUMENT, TAG, "sedx_download: dst is NULL");
        if (sedx__host_overlap(res, g->offset, g->size, g->dst))
            return SEDX__ERR(SEDX_ERROR_INVALID_ARGUMENT, TAG, "sedx_download: buffer '%s': dst overlaps the source "
                             "range in the buffer's own mapping", res->name);
    }
    struct sedx__transfer *t = sedx__get_transfer(ctx);
    SEDX_PROFILE_SCOPE("sedx_download");
    pthread_mutex_lock(&t->lock);
    r = sedx__batch_submit(ctx, t, NULL); /* earlier uploads first */
    sedx__pool_hot(&t->pool, true);
    for (uint32_t i = 0; r == SEDX_SUCCESS && i < count; ++i) {
        if (!regions[i].size) continue;
        r = download_one(ctx, t, regions[i].src->resource, regions[i].offset, regions[i].size, regions[i].dst);
    }
    sedx__pool_hot(&t->pool, false);
    pthread_mutex_unlock(&t->lock);
    return r;
}

sedx_result sedx_download(sedx_context *ctx, const sedx_buffer *src, uint64_t offset, uint64_t size, void *dst)
{
    sedx_download_region reg = {src, offset, size, dst};
    return sedx_download_batch(ctx, &reg, 1);
}
