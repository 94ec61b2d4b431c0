/*
 * The open upload batch: regions recorded by uploads, submitted once with the barriers later
 * commands need (copy regions, or one compute scatter for many small ones); ordered submits
 * across queues.
 */
#include "transfer/transfer_private.h"

sedx_result sedx__submit_ordered(sedx_context *ctx, struct sedx__transfer *t, sedx_cmd *cmd, sedx_ticket *out)
{
    sedx_queue q = (sedx_queue)cmd->queue;
    sedx__queue *mine = sedx__ctx_queue(ctx, q);
    VkSemaphore waits[1];
    uint64_t values[1];
    VkPipelineStageFlags stages[1] = {VK_PIPELINE_STAGE_ALL_COMMANDS_BIT};
    sedx_submit_info si = {0, waits, values, stages};
    for (int other = 0; other < SEDX_QUEUE_COUNT; ++other) {
        sedx__queue *oq = sedx__ctx_queue(ctx, (sedx_queue)other);
        if (oq == mine || !t->last_value[other]) continue;
        if (atomic_load(&oq->completed) >= t->last_value[other]) continue;
        waits[0] = oq->timeline;
        values[0] = t->last_value[other];
        si.wait_count = 1;
    }
    sedx_ticket ticket;
    sedx_result r = sedx_cmd_submit(ctx, cmd, &si, &ticket);
    if (r != SEDX_SUCCESS) return r;
    t->last_value[ticket.queue] = ticket.value;
    t->last_ticket = ticket;
    if (out) *out = ticket;
    return SEDX_SUCCESS;
}

void sedx__barrier(VkCommandBuffer cb, VkPipelineStageFlags src_stage, VkAccessFlags src_access,
                    VkPipelineStageFlags dst_stage, VkAccessFlags dst_access)
{
    VkMemoryBarrier mb = {VK_STRUCTURE_TYPE_MEMORY_BARRIER};
    mb.srcAccessMask = src_access;
    mb.dstAccessMask = dst_access;
    vkCmdPipelineBarrier(cb, src_stage, dst_stage, 0, 1, &mb, 0, NULL, 0, NULL);
}

/* Barriers around transfer work on queue q: before, earlier writes/reads of any command are
 * done (WAW/WAR); after, the writes are visible to every later command. */
static VkPipelineStageFlags work_stages(bool compute)
{
    return VK_PIPELINE_STAGE_TRANSFER_BIT | (compute ? VK_PIPELINE_STAGE_COMPUTE_SHADER_BIT : 0);
}

void sedx__barrier_before(VkCommandBuffer cb, bool compute)
{
    sedx__barrier(cb, VK_PIPELINE_STAGE_ALL_COMMANDS_BIT, VK_ACCESS_MEMORY_WRITE_BIT, work_stages(compute),
            VK_ACCESS_TRANSFER_WRITE_BIT | VK_ACCESS_TRANSFER_READ_BIT |
                (compute ? VK_ACCESS_SHADER_WRITE_BIT | VK_ACCESS_SHADER_READ_BIT : 0));
}

void sedx__barrier_after(VkCommandBuffer cb, bool compute)
{
    sedx__barrier(cb, work_stages(compute), VK_ACCESS_TRANSFER_WRITE_BIT | (compute ? VK_ACCESS_SHADER_WRITE_BIT : 0),
            VK_PIPELINE_STAGE_ALL_COMMANDS_BIT, VK_ACCESS_MEMORY_READ_BIT | VK_ACCESS_MEMORY_WRITE_BIT);
}

/* Room for `regions` more regions and `buffers` more held references, so that an upload, once
 * it has started writing, cannot fail for host memory halfway. Lock held. */
sedx_result sedx__batch_reserve(struct sedx__transfer *t, uint64_t regions, uint64_t buffers)
{
    if (regions > UINT32_MAX - t->region_count || buffers > UINT32_MAX - t->held_count)
        return SEDX__ERR(SEDX_ERROR_OUT_OF_HOST_MEMORY, TAG, "too many upload regions in one batch");
    uint32_t need = t->region_count + (uint32_t)regions;
    if (need > t->region_cap) {
        uint32_t cap = SEDX__MAX(need, t->region_cap ? t->region_cap * 2 : 256u);
        region *n = sedx__realloc(t->regions, (size_t)cap * sizeof *n);
        if (!n) return SEDX__ERR(SEDX_ERROR_OUT_OF_HOST_MEMORY, TAG, "out of host memory for upload regions");
        t->regions = n;
        t->region_cap = cap;
    }
    need = t->held_count + (uint32_t)buffers;
    if (need > t->held_cap) {
        uint32_t cap = SEDX__MAX(need, t->held_cap ? t->held_cap * 2 : 64u);
        sedx_buffer_resource **n = sedx__realloc(t->held, (size_t)cap * sizeof *n);
        if (!n) return SEDX__ERR(SEDX_ERROR_OUT_OF_HOST_MEMORY, TAG, "out of host memory for upload regions");
        t->held = n;
        t->held_cap = cap;
    }
    return SEDX_SUCCESS;
}

static bool scatter_ok(const struct sedx__transfer *t, const region *g)
{
    return t->scatter_pipe && t->scatter && g->size <= (64u << 10) &&
           (g->dst_offset & 3) == 0 && (g->size & 3) == 0 && g->dst->address;
}

/* SEDX_SCATTER_MIRROR: the device-local mirror of the upload ring (created, or replaced when the
 * ring has grown; the old one is released behind its in-flight batches), or NULL. */
static sedx_buffer_resource *mirror_get(sedx_context *ctx, struct sedx__transfer *t)
{
    if (!t->scatter_mirror) return NULL;
    if (t->mirror.resource && t->mirror.resource->size == t->up.size) return t->mirror.resource;
    sedx_buffer_release(&t->mirror); /* its last uses are marked: destroyed once they have passed */
    sedx_buffer_create_info ci = {0};
    ci.size = t->up.size;
    ci.usage = SEDX_BUFFER_USAGE_STORAGE | SEDX_BUFFER_USAGE_TRANSFER_DST;
    ci.memory = SEDX_MEMORY_GPU;
    ci.name = "sedx scatter mirror";
    ci.alignment = 256; /* as the ring: the scatter's uvec4 path needs a 16-byte aligned base */
    if (sedx__buffer_create(ctx, &ci, SEDX__BUFFER_INTERNAL, &t->mirror) != SEDX_SUCCESS || !t->mirror.resource->address) {
        sedx_buffer_release(&t->mirror);
        t->scatter_mirror = false; /* logged; scatter reads the ring itself */
        return NULL;
    }
    return t->mirror.resource;
}

/* With the mirror: copies the ring bytes the scatter will read (its regions' and the table's:
 * at most two runs, the second after a wrap) to the same offsets of the mirror, and returns the
 * mirror's address, or 0 (scatter reads the ring) when there is no mirror or the runs would
 * carry more than twice the scatter's own bytes (a batch of large regions between small ones). */
static VkDeviceAddress mirror_fill(sedx_context *ctx, struct sedx__transfer *t, VkCommandBuffer cb,
                                   uint64_t table_offset, uint32_t n_scatter)
{
    sedx_buffer_resource *m = mirror_get(ctx, t);
    if (!m) return 0;
    uint64_t base = UINT64_MAX, hi1 = 0, lo2 = UINT64_MAX, hi2 = 0, bytes = (uint64_t)n_scatter * 16;
    for (uint32_t i = 0; i <= t->region_count; ++i) {
        uint64_t off, end;
        if (i < t->region_count) {
            const region *g = &t->regions[i];
            if (!scatter_ok(t, g)) continue;
            off = g->src_offset;
            end = off + g->size;
            bytes += g->size;
        } else {
            off = table_offset; /* allocated after every region */
            end = off + (uint64_t)n_scatter * 16;
        }
        if (base == UINT64_MAX) base = off;
        if (off >= base) hi1 = SEDX__MAX(hi1, end);
        else { /* past the ring's end: the next lap */
            lo2 = SEDX__MIN(lo2, off);
            hi2 = SEDX__MAX(hi2, end);
        }
    }
    uint64_t run_bytes = (hi1 - base) + (hi2 > lo2 ? hi2 - lo2 : 0);
    if (run_bytes > 2 * bytes) return 0;
    VkBufferCopy c[2] = {{base, base, hi1 - base}, {lo2, lo2, hi2 > lo2 ? hi2 - lo2 : 0}};
    vkCmdCopyBuffer(cb, t->up.buffer.resource->buffer, m->buffer, c[1].size ? 2 : 1, c);
    sedx__barrier(cb, VK_PIPELINE_STAGE_TRANSFER_BIT, VK_ACCESS_TRANSFER_WRITE_BIT, VK_PIPELINE_STAGE_COMPUTE_SHADER_BIT,
                  VK_ACCESS_SHADER_READ_BIT);
    t->stats.mirror_bytes += run_bytes;
    return m->address;
}

/* One compute dispatch (per 65,535 regions) copies every scatter-eligible region; its table of
 * {dst address, src word, words | aligned16} goes into the ring at table_offset. */
static void record_scatter(sedx_context *ctx, struct sedx__transfer *t, VkCommandBuffer cb, uint64_t table_offset,
                           uint32_t n_scatter)
{
    uint8_t *table = t->up.ptr + table_offset;
    uint32_t k = 0;
    for (uint32_t i = 0; i < t->region_count; ++i) {
        region *g = &t->regions[i];
        if (!scatter_ok(t, g)) continue;
        uint64_t dst_addr = g->dst->address + g->dst_offset;
        uint32_t words = (uint32_t)(g->size / 4);
        bool aligned16 = ((dst_addr | g->src_offset | g->size) & 15) == 0;
        uint32_t src_word = (uint32_t)(g->src_offset / 4);
        uint32_t w = words | (aligned16 ? 0x80000000u : 0);
        memcpy(table + (size_t)k * 16, &dst_addr, 8);
        memcpy(table + (size_t)k * 16 + 8, &src_word, 4);
        memcpy(table + (size_t)k * 16 + 12, &w, 4);
        k++;
    }
    sedx_memory_flush(ctx, t->up.buffer.resource->allocation, table_offset, (uint64_t)n_scatter * 16);
    VkDeviceAddress src = mirror_fill(ctx, t, cb, table_offset, n_scatter);
    if (!src) src = t->up.address;
    vkCmdBindPipeline(cb, VK_PIPELINE_BIND_POINT_COMPUTE, t->scatter_pipe);
    for (uint32_t first = 0; first < n_scatter; first += 65535u) {
        struct { uint64_t src, table; uint32_t count, first; } pc = {src, src + table_offset, n_scatter, first};
        vkCmdPushConstants(cb, t->layout, VK_SHADER_STAGE_COMPUTE_BIT, 0, sizeof pc, &pc);
        vkCmdDispatch(cb, SEDX__MIN(n_scatter - first, 65535u), 1, 1);
        t->stats.scatter_dispatches++;
    }
}

/* Overlapping uploads: in call order, one copy each, a barrier between them. */
static void record_ordered(struct sedx__transfer *t, VkCommandBuffer cb, VkBuffer ring_buf)
{
    for (uint32_t i = 0; i < t->region_count; ++i) {
        region *g = &t->regions[i];
        if (i)
            sedx__barrier(cb, VK_PIPELINE_STAGE_TRANSFER_BIT, VK_ACCESS_TRANSFER_WRITE_BIT,
                          VK_PIPELINE_STAGE_TRANSFER_BIT, VK_ACCESS_TRANSFER_WRITE_BIT);
        VkBufferCopy c = {g->src_offset, g->dst_offset, g->size};
        vkCmdCopyBuffer(cb, ring_buf, g->dst->buffer, 1, &c);
    }
    t->stats.copy_regions += t->region_count;
}

/* The regions the scatter did not take: one vkCmdCopyBuffer per run with the same destination. */
static void record_copies(struct sedx__transfer *t, VkCommandBuffer cb, VkBuffer ring_buf, bool scatter)
{
    VkBufferCopy copies[256];
    uint32_t nc = 0;
    VkBuffer cur = VK_NULL_HANDLE;
    for (uint32_t i = 0; i <= t->region_count; ++i) {
        region *g = i < t->region_count ? &t->regions[i] : NULL;
        if (g && scatter && scatter_ok(t, g)) continue;
        VkBuffer dst = g ? g->dst->buffer : VK_NULL_HANDLE;
        if (nc && (dst != cur || nc == SEDX__COUNTOF(copies) || !g)) {
            vkCmdCopyBuffer(cb, ring_buf, cur, nc, copies);
            t->stats.copy_regions += nc;
            nc = 0;
        }
        if (!g) break;
        cur = dst;
        copies[nc++] = (VkBufferCopy){g->src_offset, g->dst_offset, g->size};
    }
}

/* Ring room for the scatter region table (no batch submit from here). During a NO_WAIT call
 * (t->no_wait) only room free now: the upload that fills the ring must not wait for the GPU to
 * make room for its batch's table, and without room the batch goes by copy commands. */
static bool table_room(sedx_context *ctx, struct sedx__transfer *t, uint64_t bytes, uint64_t *out_offset)
{
    if (t->no_wait) {
        uint64_t pad;
        sedx__ring_reclaim(ctx, &t->up);
        if (!sedx__ring_fits(&t->up, sedx__align_up(bytes, RING_ALIGN), &pad)) return false;
    }
    return sedx__ring_alloc(ctx, t, &t->up, bytes, false, false, out_offset) == SEDX_SUCCESS;
}

/* After the submit (r its result): the batch's references record the use, then go (destruction
 * waits for it). Each buffer is touched once, before its own reference goes: a dropped
 * reference may be the last one, and the buffer may be destroyed at once if the GPU is already
 * done. Then the batch is empty and the ring's bytes belong to the ticket. */
static sedx_result close_batch(struct sedx__transfer *t, sedx_result r, sedx_ticket ticket)
{
    for (uint32_t i = 0; i < t->held_count; ++i) {
        sedx_buffer_resource *d = t->held[i];
        d->batch_id = 0;
        if (r == SEDX_SUCCESS) sedx__buffer_mark_use(d, (sedx_queue)ticket.queue, ticket.value);
        sedx__buffer_unref(d);
    }
    t->held_count = 0;
    sedx__batch_close_images(t, r == SEDX_SUCCESS, ticket);
    t->region_count = 0;
    t->batch_bytes = 0;
    t->batch_id++; /* the touch marks of this batch are stale from here */
    sedx__touch_reset(t);
    if (r != SEDX_SUCCESS) {
        t->up.committed = t->up.head; /* nothing will read the failed batch's bytes */
        if (t->up.pin_count) sedx__pins_failed(&t->up); /* nor the reservations committed into it */
        return r;
    }
    t->stats.batches++;
    sedx__ring_commit(&t->up, ticket);
    return SEDX_SUCCESS;
}

uint32_t sedx__batch_abandon(struct sedx__transfer *t, sedx_result why)
{
    uint32_t n = t->region_count + t->piece_count;
    close_batch(t, why, (sedx_ticket){0});
    return n;
}

sedx_result sedx__batch_record(sedx_context *ctx, struct sedx__transfer *t, sedx__batch_rec *rec)
{
    rec->open = false;
    if (!sedx__batch_open(t)) return SEDX_SUCCESS;
    /* many small regions: one compute dispatch on the main queue instead of thousands of
     * copy regions (docs/transfer.md has the measurements behind the threshold) */
    bool ordered = sedx__batch_overlap(t);
    uint32_t n_scatter = 0;
    for (uint32_t i = 0; i < t->region_count && !ordered; ++i) n_scatter += scatter_ok(t, &t->regions[i]);
    bool scatter = n_scatter >= 64;
    uint64_t table_offset = 0;
    if (scatter && !table_room(ctx, t, (uint64_t)n_scatter * 16, &table_offset)) scatter = false;
    sedx_queue q = (!scatter && !t->batch_main && t->use_transfer_queue) ? SEDX_QUEUE_TRANSFER : SEDX_QUEUE_GRAPHICS;
    sedx_result r = sedx_cmd_begin(ctx, q, &rec->cmd);
    if (r != SEDX_SUCCESS) return r;
    VkCommandBuffer cb = rec->cmd.cmd;
    VkBuffer ring_buf = t->up.buffer.resource->buffer;
    sedx__barrier_before(cb, scatter);
    if (scatter) record_scatter(ctx, t, cb, table_offset, n_scatter);
    if (ordered) record_ordered(t, cb, ring_buf);
    else if (!scatter || n_scatter < t->region_count) record_copies(t, cb, ring_buf, scatter); /* some not scattered */
    if (t->piece_count) sedx__batch_record_images(t, cb, ring_buf);
    sedx__barrier_after(cb, scatter);
    rec->open = true;
    rec->scatter = scatter;
    return SEDX_SUCCESS;
}

sedx_result sedx__batch_send(sedx_context *ctx, struct sedx__transfer *t, sedx__batch_rec *rec, sedx_ticket *out)
{
    if (!rec->open) {
        if (out) *out = t->last_ticket;
        return SEDX_SUCCESS;
    }
    rec->open = false;
    sedx_ticket ticket = {0};
    sedx_result r = close_batch(t, sedx__submit_ordered(ctx, t, &rec->cmd, &ticket), ticket);
    if (r == SEDX_SUCCESS && rec->scatter && t->mirror.resource)
        sedx__buffer_mark_use(t->mirror.resource, (sedx_queue)ticket.queue, ticket.value);
    if (r == SEDX_SUCCESS && out) *out = ticket;
    return r;
}

sedx_result sedx__batch_submit(sedx_context *ctx, struct sedx__transfer *t, sedx_ticket *out)
{
    if (!sedx__batch_open(t)) { /* no profile zone for an empty batch */
        if (out) *out = t->last_ticket;
        return SEDX_SUCCESS;
    }
    SEDX_PROFILE_SCOPE("sedx_upload_submit");
    sedx__batch_rec rec;
    sedx_result r = sedx__batch_record(ctx, t, &rec);
    return r == SEDX_SUCCESS ? sedx__batch_send(ctx, t, &rec, out) : r;
}

sedx_result sedx__transfer_wait(sedx_context *ctx, struct sedx__transfer *t, sedx_ticket tk)
{
    if (t->wait_spin_ns && tk.value && tk.queue < SEDX_QUEUE_COUNT) {
        uint64_t until = sedx_time_ns() + t->wait_spin_ns;
        do {
            if (sedx_context_completed_value(ctx, (sedx_queue)tk.queue) >= tk.value) return SEDX_SUCCESS;
        } while (sedx_time_ns() < until);
    }
    return sedx_ticket_wait(ctx, tk, UINT64_MAX);
}

uint64_t sedx__chunk_next(const struct sedx__transfer *t, uint64_t chunk, uint64_t done, uint64_t total)
{
    uint64_t left = total - done;
    if (!t->ramp || total <= 2 * chunk) return SEDX__MIN(chunk, left);
    uint64_t least = SEDX__MAX(chunk / 16, (uint64_t)64 << 10);
    uint64_t head = SEDX__MAX(least, done);          /* 1/16, 1/16, 1/8, 1/4, 1/2 of chunk, then chunk */
    uint64_t tail = SEDX__MAX(least, left / 2);      /* ..., chunk / 2, chunk / 4, ... down to least */
    return SEDX__MIN(SEDX__MIN(chunk, left), SEDX__MIN(head, tail));
}

/* Waits for every transfer submit so far (both queues). */
sedx_result sedx__transfer_wait_all(sedx_context *ctx, struct sedx__transfer *t)
{
    for (int q = 0; q < SEDX_QUEUE_COUNT; ++q) {
        if (!t->last_value[q]) continue;
        sedx_ticket tk = {t->last_value[q], (uint32_t)q, ctx->id};
        sedx_result r = sedx__transfer_wait(ctx, t, tk);
        if (r != SEDX_SUCCESS) return r;
    }
    return SEDX_SUCCESS;
}
