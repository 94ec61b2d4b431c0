/*
 * Ring: one host-visible buffer used as a FIFO of byte ranges. `head` and `tail` count bytes
 * ever allocated / reclaimed (monotonic, never wrap in practice); an allocation that would
 * straddle the end skips to the start. Every submission that consumed ring space records
 * {head at submit, ticket}; reclaiming pops those whose ticket passed, in order.
 */
#include "transfer/transfer_private.h"

_Static_assert(FIFO_CAP * 2u <= SEDX__CMD_RING, "staging batches in flight must leave command buffers for the rest");

static sedx_result ring_init(sedx_context *ctx, ring *r, uint64_t size, bool upload)
{
    const bool cached = (sedx__get_transfer(ctx)->info.flags & SEDX_TRANSFER_CACHED_STAGING) != 0;
    sedx_buffer_create_info ci = {0};
    ci.size = size;
    ci.memory = SEDX_MEMORY_CPU;
    ci.usage = upload ? SEDX_BUFFER_USAGE_TRANSFER_SRC : SEDX_BUFFER_USAGE_TRANSFER_DST;
    ci.host_access = !upload ? SEDX_HOST_ACCESS_READBACK : cached ? SEDX_HOST_ACCESS_RANDOM : SEDX_HOST_ACCESS_SEQUENTIAL_WRITE;
    ci.name = upload ? "sedx staging ring" : "sedx readback ring";
    ci.alignment = 256;
    sedx_result res = sedx__buffer_create(ctx, &ci, SEDX__BUFFER_INTERNAL | (upload ? SEDX__BUFFER_STAGING : 0),
                                          &r->buffer);
    if (res != SEDX_SUCCESS) return res;
    r->ptr = r->buffer.data;
    r->size = size;
    r->address = r->buffer.resource->address;
    return SEDX_SUCCESS;
}

/* Rings are created on first need, not with the transfer layer: a context whose uploads all
 * go straight into host-visible memory never allocates one, and a heap at its budget does not
 * stop those uploads. When the configured size does not fit (budget, device memory), smaller
 * rings are tried down to RING_MIN: a smaller ring only means more, smaller pieces. Lock held. */
sedx_result sedx__ring_ensure(sedx_context *ctx, struct sedx__transfer *t, ring *r)
{
    if (r->ptr) return SEDX_SUCCESS;
    bool upload = r == &t->up;
    uint64_t size = r->size;
    sedx_result res;
    while ((res = ring_init(ctx, r, size, upload)) != SEDX_SUCCESS) {
        bool no_room = res == SEDX_ERROR_OVER_BUDGET || res == SEDX_ERROR_OUT_OF_DEVICE_MEMORY;
        if (!no_room || size <= RING_MIN) return res;
        uint64_t tried = size;
        size = SEDX__MAX(sedx__align_up(size / 2, 256), RING_MIN);
        SEDX_LOG_WARN_TAG(TAG, "%s ring: %llu KiB do not fit (%s); trying %llu KiB", upload ? "staging" : "readback",
                          (unsigned long long)(tried >> 10), sedx_result_name(res), (unsigned long long)(size >> 10));
    }
    if (upload) t->stats.staging_size = r->size;
    else t->stats.readback_size = r->size;
    return SEDX_SUCCESS;
}

void sedx__ring_reclaim(sedx_context *ctx, ring *r)
{
    if (r->pin_count) sedx__pins_reclaim(ctx, r); /* reservations whose batch has completed */
    while (r->fifo_count) {
        sedx_ticket tk = r->fifo[r->fifo_first].ticket;
        if (sedx_ticket_poll(ctx, tk) != SEDX_SUCCESS) break;
        r->tail = r->fifo[r->fifo_first].end;
        r->fifo_first = (r->fifo_first + 1) % FIFO_CAP;
        r->fifo_count--;
    }
    if (!r->fifo_count) r->tail = r->committed; /* nothing in flight; the open batch still owns the rest */
}

/* Marks everything allocated so far as in use until ticket passes. */
void sedx__ring_commit(ring *r, sedx_ticket ticket)
{
    if (r->pin_count) sedx__pins_submitted(r, ticket); /* committed reservations: pinned until ticket */
    r->committed = r->head;
    if (r->fifo_count && r->fifo[(r->fifo_first + r->fifo_count - 1) % FIFO_CAP].end == r->head) {
        r->fifo[(r->fifo_first + r->fifo_count - 1) % FIFO_CAP].ticket = ticket; /* same range: newer ticket */
        return;
    }
    uint32_t i = (r->fifo_first + r->fifo_count) % FIFO_CAP;
    r->fifo[i].end = r->head;
    r->fifo[i].ticket = ticket;
    r->fifo_count++;
}

/* Would size bytes (16-byte aligned) fit now? *pad receives the bytes skipped at the end. */
bool sedx__ring_fits(const ring *r, uint64_t size, uint64_t *pad)
{
    uint64_t pos = r->head % r->size;
    *pad = (pos + size > r->size) ? r->size - pos : 0;
    if (r->pin_count && !sedx__pins_skip(r, size, pad)) return false; /* reservations' bytes are skipped */
    return r->fifo_count < FIFO_CAP && (r->head - r->tail) + *pad + size <= r->size;
}

/* Replaces the upload ring by a larger one (twice the size, at most staging_max) when nothing of
 * the open batch lives in it. The old ring's buffer is released behind its in-flight batches
 * (its last uses are their tickets), so the GPU still reads what it was given. Lock held. */
bool sedx__ring_grow(sedx_context *ctx, struct sedx__transfer *t)
{
    ring *r = &t->up;
    uint64_t size = r->size * 2;
    if (sedx__batch_open(t) || r->head != r->committed || size > t->info.staging_max || r->pin_count) return false;
    ring *fresh = sedx__calloc(1, sizeof *fresh);
    if (!fresh) return false;
    if (ring_init(ctx, fresh, size, true) != SEDX_SUCCESS) {
        sedx__free(fresh);
        return false; /* logged; the caller waits for the GPU instead */
    }
    for (uint32_t i = 0; i < r->fifo_count; ++i) {
        sedx_ticket tk = r->fifo[(r->fifo_first + i) % FIFO_CAP].ticket;
        sedx__buffer_mark_use(r->buffer.resource, (sedx_queue)tk.queue, tk.value);
    }
    sedx_buffer_release(&r->buffer);
    *r = *fresh;
    sedx__free(fresh);
    t->stats.ring_grows++;
    t->stats.staging_size = size;
    SEDX_LOG_DEBUG_TAG(TAG, "staging ring grown to %llu KiB", (unsigned long long)(size >> 10));
    return true;
}

/* Space for size bytes (<= ring size / 2) at a 16-byte aligned offset. May submit the open
 * batch (allow_submit) and wait for the GPU (unless no_wait). Lock held. */
sedx_result sedx__ring_alloc(sedx_context *ctx, struct sedx__transfer *t, ring *r, uint64_t size, bool allow_submit,
                              bool no_wait, uint64_t *out_offset)
{
    size = sedx__align_up(size, RING_ALIGN);
    for (int pass = 0;; ++pass) {
        if (pass) sedx__ring_reclaim(ctx, r); /* first try with what is known free: no driver call */
        uint64_t pad;
        if (sedx__ring_fits(r, size, &pad)) {
            r->head += pad;
            *out_offset = r->head % r->size;
            if (*out_offset == 0 && r->head) t->stats.ring_wraps++; /* back at the start */
            r->head += size;
            return SEDX_SUCCESS;
        }
        if (pass == 0) continue; /* reclaim, then try again */
        if (allow_submit && r == &t->up && sedx__batch_open(t)) {
            sedx_result sr = sedx__batch_submit(ctx, t, NULL); /* the GPU starts on what we have */
            if (sr != SEDX_SUCCESS) return sr;
            continue;
        }
        if (allow_submit && r == &t->up && sedx__ring_grow(ctx, t)) continue; /* within staging_max */
        if (!r->fifo_count && r == &t->up && !sedx__batch_open(t) && r->head != r->committed) {
            /* no region is open: [committed, head) holds only reservations (pinned) or bytes given
             * back by sedx_upload_cancel, so it need not wait for a batch */
            r->committed = r->tail = r->head;
            continue;
        }
        if (!r->fifo_count) return SEDX__ERR(SEDX_ERROR_OUT_OF_STAGING, TAG, "%llu bytes do not fit the ring%s",
                                             (unsigned long long)size, r->pin_count ? " (outstanding "
                                             "sedx_upload_reserve reservations hold the rest)" : "");
        if (no_wait) {
            t->stats.ring_full_errors++;
            return SEDX__ERR(SEDX_ERROR_OUT_OF_STAGING, TAG, "the staging ring is full and NO_WAIT was asked");
        }
        t->stats.ring_waits++;
        SEDX_PROFILE_BEGIN(wait_zone, "sedx_ring_wait");
        sedx_result wr = sedx__transfer_wait(ctx, t, r->fifo[r->fifo_first].ticket);
        if (wait_zone.start_ns) SEDX_PROFILE_END(wait_zone);
        if (wr != SEDX_SUCCESS) return wr;
    }
}
