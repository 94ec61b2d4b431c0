/*
 * Zero-copy staging: sedx_upload_reserve hands out staging-ring bytes, the caller produces its
 * data in place without the transfer lock, sedx_upload_commit records the copy into the open
 * batch (sedx_upload_cancel gives the bytes back).
 *
 * The ring's FIFO bookkeeping cannot keep such bytes: a batch submitted while a reservation is
 * outstanding records {head, ticket}, and once the ticket passes the tail moves past every byte
 * below that head. So every reservation is also a pin (ring_pin, a physical range in the ring),
 * and sedx__ring_fits never places an allocation over a pin. A pin lives from the reserve until
 * a cancel, or until the batch the commit recorded it into has completed (the batch's ticket,
 * not the FIFO, frees it: the FIFO entry covering its bytes may be an earlier batch's).
 * Reservations never make anyone wait for a commit; only GPU work is waited for.
 */
#include "transfer/transfer_private.h"

#define PIN_SLOT_BITS 8u
_Static_assert(PIN_CAP == 1u << PIN_SLOT_BITS, "slot bits of a reservation handle");

bool sedx__pins_skip(const ring *r, uint64_t size, uint64_t *pad)
{
    for (;;) {
        if (*pad + size > r->size) return false; /* a whole lap without a free place */
        uint64_t pos = (r->head + *pad) % r->size;
        if (pos + size > r->size) {
            *pad += r->size - pos; /* skip to the start */
            continue;
        }
        uint64_t skip = 0;
        for (uint32_t i = 0, seen = 0; i < PIN_CAP && seen < r->pin_count; ++i) {
            const ring_pin *p = &r->pins[i];
            if (p->state == PIN_FREE) continue;
            seen++;
            if (p->start < pos + size && pos < p->start + p->size) skip = SEDX__MAX(skip, p->start + p->size - pos);
        }
        if (!skip) return true;
        *pad += skip;
    }
}

static void pin_free(ring *r, ring_pin *p)
{
    memset(p, 0, sizeof *p);
    r->pin_count--;
}

void sedx__pins_reclaim(sedx_context *ctx, ring *r)
{
    for (uint32_t i = 0; i < PIN_CAP && r->pin_count; ++i)
        if (r->pins[i].state == PIN_IN_FLIGHT && sedx_ticket_poll(ctx, r->pins[i].ticket) == SEDX_SUCCESS)
            pin_free(r, &r->pins[i]);
}

void sedx__pins_submitted(ring *r, sedx_ticket ticket)
{
    for (uint32_t i = 0; i < PIN_CAP; ++i)
        if (r->pins[i].state == PIN_COMMITTED) {
            r->pins[i].state = PIN_IN_FLIGHT;
            r->pins[i].ticket = ticket;
        }
}

void sedx__pins_failed(ring *r)
{
    for (uint32_t i = 0; i < PIN_CAP && r->pin_count; ++i)
        if (r->pins[i].state == PIN_COMMITTED) pin_free(r, &r->pins[i]);
}

uint64_t sedx_upload_reserve_limit(sedx_context *ctx)
{
    if (!ctx) return 0;
    struct sedx__transfer *t = sedx__get_transfer(ctx);
    pthread_mutex_lock(&t->lock);
    uint64_t limit = t->up.size / 4;
    pthread_mutex_unlock(&t->lock);
    return limit;
}

/* A free pin slot, reclaiming finished ones, submitting committed ones and waiting for the GPU
 * (unless no_wait) when every slot is taken; NULL with *r set when all are outstanding or the
 * caller would have to wait. Lock held. */
static ring_pin *pin_slot(sedx_context *ctx, struct sedx__transfer *t, bool no_wait, sedx_result *r)
{
    ring *g = &t->up;
    for (int pass = 0;; ++pass) {
        if (g->pin_count < PIN_CAP)
            for (uint32_t i = 0; i < PIN_CAP; ++i)
                if (g->pins[i].state == PIN_FREE) return &g->pins[i];
        if (pass == 0) {
            sedx__ring_reclaim(ctx, g);
            continue;
        }
        bool committed = false;
        const ring_pin *oldest = NULL;
        for (uint32_t i = 0; i < PIN_CAP; ++i) {
            const ring_pin *p = &g->pins[i];
            committed |= p->state == PIN_COMMITTED;
            if (p->state == PIN_IN_FLIGHT && (!oldest || p->ticket.value < oldest->ticket.value)) oldest = p;
        }
        if (committed) {
            if ((*r = sedx__batch_submit(ctx, t, NULL)) != SEDX_SUCCESS) return NULL;
            continue; /* now in flight */
        }
        if (!oldest || no_wait) {
            if (oldest) t->stats.ring_full_errors++;
            *r = SEDX__ERR(SEDX_ERROR_OUT_OF_STAGING, TAG, "sedx_upload_reserve: %u reservations are outstanding or "
                           "in flight (at most %u)%s", g->pin_count, PIN_CAP,
                           oldest ? " and NO_WAIT was asked" : ": commit or cancel some first");
            return NULL;
        }
        t->stats.ring_waits++;
        if ((*r = sedx_ticket_wait(ctx, oldest->ticket, UINT64_MAX)) != SEDX_SUCCESS) return NULL;
        sedx__ring_reclaim(ctx, g);
    }
}

static sedx_result reserve_locked(sedx_context *ctx, struct sedx__transfer *t, const sedx_buffer *dst,
                                  uint64_t offset, uint64_t size, bool no_wait, sedx_upload_reservation *out)
{
    /* up.size is the configured size until the ring exists (then its real size, which may be
     * smaller): a request refused for its size must not create the ring, which would make
     * sedx_transfer_configure BUSY although nothing was transferred */
    uint64_t limit = t->up.size / 4;
    sedx_result r = size > limit ? SEDX_SUCCESS : sedx__ring_ensure(ctx, t, &t->up);
    if (r != SEDX_SUCCESS) return r;
    limit = t->up.size / 4;
    if (size > limit)
        return SEDX__ERR(SEDX_ERROR_INVALID_SIZE, TAG, "sedx_upload_reserve: buffer '%s': %llu bytes are more than "
                         "one reservation may hold (%llu: a quarter of the %llu-byte staging ring, "
                         "sedx_upload_reserve_limit); reserve it in pieces", dst->resource->name,
                         (unsigned long long)size, (unsigned long long)limit, (unsigned long long)t->up.size);
    ring_pin *p = pin_slot(ctx, t, no_wait, &r);
    if (!p) return r;
    uint64_t off;
    if ((r = sedx__ring_alloc(ctx, t, &t->up, size, true, no_wait, &off)) != SEDX_SUCCESS) return r;
    uint32_t slot = (uint32_t)(p - t->up.pins);
    *p = (ring_pin){off, sedx__align_up(size, RING_ALIGN), (++t->reserve_serial << PIN_SLOT_BITS) | slot,
                    PIN_RESERVED, {0}, *dst, offset, size};
    t->up.pin_count++;
    sedx__buffer_ref(dst->resource);
    *out = (sedx_upload_reservation){t->up.ptr + off, size, offset, p->handle, ctx->id};
    return SEDX_SUCCESS;
}

sedx_result sedx_upload_reserve_ex(sedx_context *ctx, const sedx_buffer *dst, uint64_t offset, uint64_t size,
                                   uint32_t flags, sedx_upload_reservation *out)
{
    if (out) memset(out, 0, sizeof *out);
    if (!ctx || !out)
        return SEDX__ERR(SEDX_ERROR_INVALID_ARGUMENT, TAG, "sedx_upload_reserve: %s is NULL", !ctx ? "ctx" : "out");
    if (flags & ~(uint32_t)SEDX_UPLOAD_FLAGS_ALL)
        return SEDX__ERR(SEDX_ERROR_INVALID_ARGUMENT, TAG, "sedx_upload_reserve_ex: unknown flags 0x%x",
                         flags & ~(uint32_t)SEDX_UPLOAD_FLAGS_ALL);
    sedx_result r;
    sedx_buffer_resource *res = sedx__check_buffer(ctx, dst, offset, size, "sedx_upload_reserve", &r);
    if (!res) return r;
    if (size == 0)
        return SEDX__ERR(SEDX_ERROR_INVALID_SIZE, TAG, "sedx_upload_reserve: buffer '%s': size 0", res->name);
    struct sedx__transfer *t = sedx__get_transfer(ctx);
    SEDX_PROFILE_SCOPE("sedx_upload_reserve");
    pthread_mutex_lock(&t->lock);
    t->no_wait = (flags & SEDX_UPLOAD_NO_WAIT) != 0;
    r = reserve_locked(ctx, t, dst, offset, size, t->no_wait, out);
    t->no_wait = false;
    pthread_mutex_unlock(&t->lock);
    return r;
}

sedx_result sedx_upload_reserve(sedx_context *ctx, const sedx_buffer *dst, uint64_t offset, uint64_t size,
                                sedx_upload_reservation *out)
{
    return sedx_upload_reserve_ex(ctx, dst, offset, size, 0, out);
}

/* The live reservation behind rv, or NULL (logged). Lock held. */
static ring_pin *find_pin(sedx_context *ctx, struct sedx__transfer *t, const sedx_upload_reservation *rv,
                          const char *what, sedx_result *r)
{
    if (!rv->handle) {
        *r = SEDX__ERR(SEDX_ERROR_INVALID_HANDLE, TAG, "%s: empty reservation (never reserved, a failed reserve, or "
                       "already committed or cancelled)", what);
        return NULL;
    }
    if (rv->context_id != ctx->id) {
        *r = SEDX__ERR(SEDX_ERROR_INVALID_HANDLE, TAG, "%s: reservation 0x%llx belongs to another context", what,
                       (unsigned long long)rv->handle);
        return NULL;
    }
    ring_pin *p = &t->up.pins[rv->handle & (PIN_CAP - 1)];
    if (p->state != PIN_RESERVED || p->handle != rv->handle) {
        *r = SEDX__ERR(SEDX_ERROR_INVALID_HANDLE, TAG, "%s: stale reservation 0x%llx (already committed or "
                       "cancelled, or a copy of one)", what, (unsigned long long)rv->handle);
        return NULL;
    }
    return p;
}

/* Gives a reservation back: its reference to the destination goes, its bytes are free (nothing
 * will read them). Lock held. */
static void give_back(ring *g, ring_pin *p, sedx_upload_reservation *rv)
{
    sedx_buffer_resource *res = p->dst.resource;
    pin_free(g, p);
    rv->data = NULL; /* spent; size and offset stay for the caller */
    rv->handle = 0;
    sedx__buffer_unref(res); /* may be the last reference: destroyed behind its recorded uses */
}

static sedx_result commit_locked(sedx_context *ctx, struct sedx__transfer *t, sedx_upload_reservation *rv)
{
    sedx_result r;
    ring_pin *p = find_pin(ctx, t, rv, "sedx_upload_commit", &r);
    if (!p) return r;
    sedx_buffer_resource *res = p->dst.resource;
    if (!sedx_buffer_is_valid(&p->dst)) {
        r = SEDX__ERR(SEDX_ERROR_INVALID_HANDLE, TAG, "sedx_upload_commit: buffer '%s' was released after "
                      "sedx_upload_reserve: nothing written, the reservation is given back", res->name);
        give_back(&t->up, p, rv);
        return r;
    }
    if ((r = sedx__batch_reserve(t, 1, 1)) != SEDX_SUCCESS) return r; /* the reservation stays: retry or cancel */
    if (!t->up.buffer.resource->coherent &&
        (r = sedx_memory_flush(ctx, t->up.buffer.resource->allocation, p->start, p->data_size)) != SEDX_SUCCESS)
        return r;
    sedx__batch_add(t, res, p->start, p->dst_offset, p->data_size); /* the batch takes its own reference */
    p->state = PIN_COMMITTED;
    p->handle = 0;
    p->dst = (sedx_buffer){0};
    rv->data = NULL; /* spent; size and offset stay for the caller */
    rv->handle = 0;
    sedx__buffer_unref(res);
    t->stats.uploads++;
    t->stats.upload_bytes += p->data_size;
    t->stats.staged_bytes += p->data_size;
    if (t->batch_bytes >= sedx__batch_target(t)) r = sedx__batch_submit(ctx, t, NULL); /* as sedx_upload does */
    return r;
}

sedx_result sedx_upload_commit(sedx_context *ctx, sedx_upload_reservation *rv)
{
    if (!ctx || !rv)
        return SEDX__ERR(SEDX_ERROR_INVALID_ARGUMENT, TAG, "sedx_upload_commit: %s is NULL", !ctx ? "ctx" : "r");
    struct sedx__transfer *t = sedx__get_transfer(ctx);
    SEDX_PROFILE_SCOPE("sedx_upload_commit");
    pthread_mutex_lock(&t->lock);
    sedx_result r = commit_locked(ctx, t, rv);
    pthread_mutex_unlock(&t->lock);
    return r;
}

sedx_result sedx_upload_cancel(sedx_context *ctx, sedx_upload_reservation *rv)
{
    if (!ctx || !rv)
        return SEDX__ERR(SEDX_ERROR_INVALID_ARGUMENT, TAG, "sedx_upload_cancel: %s is NULL", !ctx ? "ctx" : "r");
    struct sedx__transfer *t = sedx__get_transfer(ctx);
    pthread_mutex_lock(&t->lock);
    sedx_result r;
    ring_pin *p = find_pin(ctx, t, rv, "sedx_upload_cancel", &r);
    if (p) {
        give_back(&t->up, p, rv);
        r = SEDX_SUCCESS;
    }
    pthread_mutex_unlock(&t->lock);
    return r;
}
