/*
 * Asynchronous readback (docs/readback.md): sedx_download_async records a GPU copy into the
 * asynchronous readback ring and submits it; the bytes stay there until the application takes
 * them (sedx_download_result), cancels the request, or its callback has run.
 *
 * The ring is a host-cached buffer of readback_size bytes of its own, created on the first
 * request (sedx__ring_ensure, with its smaller-size fallback). It is not sedx_download's ring:
 * that one is reused from its start by every blocking download, and a blocking download could
 * never wait for space held by results nobody has taken yet. Its space is cut by a TLSF
 * virtual block, so requests are freed in any order without touching each other's bytes;
 * space is freed only when a result is taken (or a cancelled / callback request has finished
 * on the GPU), never by the GPU passing a ticket alone. So a full ring is never waited for:
 * SEDX_ERROR_OUT_OF_STAGING.
 *
 * Locks: the transfer lock (t->lock) orders the submission with uploads and other transfers;
 * rb->lock (taken inside t->lock, never the other way) guards the requests, the virtual block
 * and the list of callback requests. poll / wait / result / cancel / pump take rb->lock only,
 * for a few instructions, so they never wait behind an upload that waits for the GPU.
 * Callbacks run with no lock held.
 *
 * Recorded requests (sedx_download_async_record): the copy goes into the application's command
 * buffer (a sedx_cmd being recorded), so no submission is made for it. Such a request has no
 * ticket (ticket.value 0: "pending") until sedx_download_async_submitted names its submission,
 * or sedx_download_async_submitted_all (sedx_frame_end) finds it: the device layer says what
 * became of the one-time command buffer it was recorded into (sedx__queue_cmd_fate, by the
 * slot's begin count at the record, even once the slot was begun again): still being recorded,
 * submitted (with its value, or a completed one at or after it), or not submitted (dropped).
 * Pending requests are in the pending list; they hold a reference to their source until their
 * submission is known (its last use is recorded then). A pending request is never freed by a
 * cancel: the command buffer may still be submitted and write its bytes, so a cancelled one
 * waits in the pending list for its ticket.
 * Lock order: rb->lock, then a device queue's pool_lock.
 */
#include "transfer/transfer_private.h"

#include <sedx/virtual_block.h>

#define RB_SLAB 256u

typedef struct rb_request {
    sedx__handle handle;       /* 0 once spent (taken, cancelled) or for callback requests */
    sedx_ticket ticket;        /* the submission that writes the bytes */
    sedx_virtual_alloc alloc;  /* ring space */
    uint64_t ring_offset, size;
    sedx_download_fn callback;
    void *user;
    bool reap;                 /* in the reap list: freed (callback run) once the ticket passes */
    struct rb_request *next, *prev; /* reap list, or free list (next) */
    /* recorded requests (sedx_download_async_record); pending while ticket.value == 0 */
    bool pending;
    bool mark;                 /* sedx_download_async_submitted: seen in this call */
    bool found;                /* given its submission by sedx_download_async_submitted_all: one
                                  sedx_download_async_submitted of the same queue is still accepted */
    uint32_t left;             /* sedx_download_async_submitted_all calls that found it unsubmitted */
    uint32_t rec_queue, rec_slot; /* the sedx_queue its tickets name, the device's command buffer slot */
    uint64_t rec_after;        /* rec_queue's submitted value when it was recorded */
    uint64_t rec_epoch;        /* the slot's begin count then (sedx__queue.cmd_epoch): names this
                                  command buffer to sedx__queue_cmd_fate */
    sedx_buffer_resource *src; /* a reference until the submission is known */
    struct rb_request *pnext, *pprev; /* pending list */
} rb_request;

struct sedx__readback {
    pthread_mutex_t lock;
    ring ring;                 /* only buffer / ptr / size are used */
    sedx_virtual_block *space; /* created with the ring */
    uint64_t align;
    sedx__handle_pool handles;
    rb_request *free_list;
    rb_request **slabs;
    uint32_t slab_count;
    rb_request *reap_head[SEDX_QUEUE_COUNT], *reap_tail[SEDX_QUEUE_COUNT]; /* callback / cancelled
                                           requests, per ticket queue, in ticket order */
    _Atomic uint32_t reap_count;
    _Atomic uint32_t reap_queue_count[SEDX_QUEUE_COUNT];
    rb_request *pending_head, *pending_tail; /* recorded requests without a ticket, in record order */
    _Atomic uint32_t pending_count;
    uint32_t outstanding;
    uint64_t used;
    sedx_download_async_stats stats;
};

static sedx_queue rb_queue(const struct sedx__transfer *t)
{
    return t->use_transfer_queue ? SEDX_QUEUE_TRANSFER : SEDX_QUEUE_GRAPHICS;
}

sedx_result sedx__readback_create(sedx_context *ctx, struct sedx__transfer *t)
{
    (void)ctx;
    struct sedx__readback *rb = sedx__calloc(1, sizeof *rb);
    if (!rb) return SEDX__ERR(SEDX_ERROR_OUT_OF_HOST_MEMORY, TAG, "out of host memory (readback state)");
    sedx_result r = sedx__handle_pool_init(&rb->handles);
    if (r != SEDX_SUCCESS) {
        sedx__free(rb);
        return r;
    }
    pthread_mutex_init(&rb->lock, NULL);
    t->rb = rb;
    return SEDX_SUCCESS;
}

void sedx__readback_destroy(sedx_context *ctx, struct sedx__transfer *t)
{
    struct sedx__readback *rb = t->rb;
    (void)ctx;
    if (!rb) return;
    uint32_t cbs = 0, handles = sedx__handle_live(&rb->handles), unsubmitted = 0;
    for (int k = 0; k < SEDX_QUEUE_COUNT; ++k)
        for (rb_request *q = rb->reap_head[k]; q; q = q->next) cbs += q->callback != NULL;
    for (rb_request *q = rb->pending_head; q; q = q->pnext) {
        unsubmitted++;
        if (q->src) sedx__buffer_unref(q->src);
        q->src = NULL;
    }
    if (handles || cbs)
        SEDX_LOG_WARN_TAG(TAG, "context destroyed with %u readback request(s) never taken and %u callback(s) never "
                          "run (sedx_download_result / _cancel / _pump them first)", handles, cbs);
    if (unsubmitted)
        SEDX_LOG_WARN_TAG(TAG, "context destroyed with %u recorded readback request(s) never given their submission "
                          "(sedx_download_async_submitted / sedx_frame_end)", unsubmitted);
    /* the device was drained before the transfer layer goes: no copy still writes the ring */
    sedx_buffer_release(&rb->ring.buffer);
    sedx_virtual_block_destroy(rb->space);
    sedx__handle_pool_finish(&rb->handles);
    for (uint32_t i = 0; i < rb->slab_count; ++i) sedx__free(rb->slabs[i]);
    sedx__free(rb->slabs);
    pthread_mutex_destroy(&rb->lock);
    sedx__free(rb);
    t->rb = NULL;
}

/* rb->lock held. */
static rb_request *request_new(struct sedx__readback *rb)
{
    if (!rb->free_list) {
        rb_request **slabs = sedx__realloc(rb->slabs, (rb->slab_count + 1) * sizeof *slabs);
        if (!slabs) return NULL;
        rb->slabs = slabs;
        rb_request *s = sedx__calloc(RB_SLAB, sizeof *s);
        if (!s) return NULL;
        rb->slabs[rb->slab_count++] = s;
        for (uint32_t i = 0; i < RB_SLAB; ++i) {
            s[i].next = rb->free_list;
            rb->free_list = &s[i];
        }
    }
    rb_request *q = rb->free_list;
    rb->free_list = q->next;
    memset(q, 0, sizeof *q);
    return q;
}

/* Frees the request's space and the request itself (its handle is gone already). rb->lock held. */
static void request_free(struct sedx__readback *rb, rb_request *q)
{
    if (q->alloc) {
        sedx_virtual_free(rb->space, q->alloc);
        rb->used -= sedx__align_up(q->size, rb->align);
        rb->outstanding--;
    }
    memset(q, 0, sizeof *q);
    q->next = rb->free_list;
    rb->free_list = q;
}

/* Into the reap list of its ticket's queue, sorted by ticket value (new requests go to the
 * tail). rb->lock held. */
static void reap_insert(struct sedx__readback *rb, rb_request *q)
{
    uint32_t k = q->ticket.queue < SEDX_QUEUE_COUNT ? q->ticket.queue : 0;
    rb_request *after = rb->reap_tail[k];
    while (after && after->ticket.value > q->ticket.value) after = after->prev;
    q->prev = after;
    q->next = after ? after->next : rb->reap_head[k];
    if (q->next) q->next->prev = q;
    else rb->reap_tail[k] = q;
    if (after) after->next = q;
    else rb->reap_head[k] = q;
    q->reap = true;
    atomic_fetch_add(&rb->reap_queue_count[k], 1);
    atomic_fetch_add(&rb->reap_count, 1);
}

/* Pending list (recorded requests without a ticket). rb->lock held. */
static void pending_insert(struct sedx__readback *rb, rb_request *q)
{
    q->pending = true;
    q->pnext = NULL;
    q->pprev = rb->pending_tail;
    if (rb->pending_tail) rb->pending_tail->pnext = q;
    else rb->pending_head = q;
    rb->pending_tail = q;
    atomic_fetch_add(&rb->pending_count, 1);
}

static void pending_remove(struct sedx__readback *rb, rb_request *q)
{
    if (q->pprev) q->pprev->pnext = q->pnext;
    else rb->pending_head = q->pnext;
    if (q->pnext) q->pnext->pprev = q->pprev;
    else rb->pending_tail = q->pprev;
    q->pnext = q->pprev = NULL;
    q->pending = false;
    atomic_fetch_sub(&rb->pending_count, 1);
}

static sedx_result invalidate(sedx_context *ctx, struct sedx__readback *rb, uint64_t offset, uint64_t size)
{
    sedx_buffer_resource *res = rb->ring.buffer.resource;
    return res->coherent ? SEDX_SUCCESS : sedx_memory_invalidate(ctx, res->allocation, offset, size);
}

/* Runs the callbacks of finished requests and frees finished cancelled ones. No lock held by the
 * caller; callbacks run with none. */
static uint32_t pump(sedx_context *ctx, struct sedx__transfer *t)
{
    struct sedx__readback *rb = t->rb;
    if (!atomic_load(&rb->reap_count)) return 0; /* nothing to do: no lock, no driver call */
    uint64_t done[SEDX_QUEUE_COUNT];
    for (int k = 0; k < SEDX_QUEUE_COUNT; ++k)
        done[k] = atomic_load(&rb->reap_queue_count[k]) ? sedx_context_completed_value(ctx, (sedx_queue)k) : 0;
    rb_request *list = NULL, *last = NULL;
    pthread_mutex_lock(&rb->lock);
    for (int k = 0; k < SEDX_QUEUE_COUNT; ++k)
        while (rb->reap_head[k] && rb->reap_head[k]->ticket.value <= done[k]) {
            rb_request *q = rb->reap_head[k];
            rb->reap_head[k] = q->next;
            if (rb->reap_head[k]) rb->reap_head[k]->prev = NULL;
            else rb->reap_tail[k] = NULL;
            atomic_fetch_sub(&rb->reap_queue_count[k], 1);
            atomic_fetch_sub(&rb->reap_count, 1);
            q->next = NULL;
            if (!q->callback) {
                request_free(rb, q); /* cancelled: nobody reads it */
                continue;
            }
            if (last) last->next = q;
            else list = q;
            last = q;
        }
    pthread_mutex_unlock(&rb->lock);
    uint32_t ran = 0;
    for (rb_request *q = list; q;) {
        rb_request *next = q->next;
        if (invalidate(ctx, rb, q->ring_offset, q->size) == SEDX_SUCCESS) {
            q->callback(ctx, rb->ring.ptr + q->ring_offset, q->size, q->user);
            ran++;
        }
        pthread_mutex_lock(&rb->lock);
        rb->stats.callbacks++;
        request_free(rb, q);
        pthread_mutex_unlock(&rb->lock);
        q = next;
    }
    return ran;
}

uint32_t sedx_download_pump(sedx_context *ctx)
{
    if (!ctx) return 0;
    return pump(ctx, sedx__get_transfer(ctx));
}

/* ------------------------------------------------------------------------------------------
 * Requests
 * ---------------------------------------------------------------------------------------- */
static sedx_result check_info(sedx_context *ctx, const sedx_download_async_info *g, const char *what)
{
    sedx_result r;
    sedx_buffer_resource *res = sedx__check_buffer(ctx, g->src, g->offset, g->size, what, &r);
    if (!res) return r;
    if (!g->size) return SEDX__ERR(SEDX_ERROR_INVALID_SIZE, TAG, "%s: buffer '%s': size 0", what, res->name);
    return SEDX_SUCCESS;
}

/* The ring and its virtual block. Transfer lock held. */
static sedx_result ensure_ring(sedx_context *ctx, struct sedx__transfer *t)
{
    struct sedx__readback *rb = t->rb;
    if (rb->space) return SEDX_SUCCESS;
    if (!rb->ring.ptr) {
        rb->ring.size = t->info.readback_size;
        uint64_t keep = t->stats.readback_size; /* sedx__ring_ensure reports into it: that is sedx_download's */
        sedx_result r = sedx__ring_ensure(ctx, t, &rb->ring);
        t->stats.readback_size = keep;
        if (r != SEDX_SUCCESS) return r;
    }
    sedx_virtual_block_info vi = {rb->ring.size, 0};
    sedx_virtual_block *vb;
    sedx_result r = sedx_virtual_block_create(&vi, &vb);
    if (r != SEDX_SUCCESS) return r;
    pthread_mutex_lock(&rb->lock);
    rb->align = SEDX__MAX(64, ctx->props.limits.nonCoherentAtomSize);
    rb->stats.ring_size = rb->ring.size;
    rb->space = vb;
    pthread_mutex_unlock(&rb->lock);
    return SEDX_SUCCESS;
}

/* Takes ring space and a request (with a handle unless it has a callback) for each info; all
 * or nothing. rb->lock held. */
static sedx_result reserve_all(struct sedx__readback *rb, const sedx_download_async_info *infos, uint32_t count,
                               rb_request **reqs)
{
    sedx_result r = SEDX_SUCCESS;
    uint32_t i = 0;
    for (; i < count; ++i) {
        rb_request *q = request_new(rb);
        if (!q) {
            r = SEDX__ERR(SEDX_ERROR_OUT_OF_HOST_MEMORY, TAG, "sedx_download_async: out of host memory");
            break;
        }
        reqs[i] = q;
        q->size = infos[i].size;
        q->callback = infos[i].callback;
        q->user = infos[i].user;
        uint64_t bytes = sedx__align_up(q->size, rb->align);
        r = sedx_virtual_allocate(rb->space, bytes, rb->align, q, &q->alloc, &q->ring_offset);
        if (r == SEDX_ERROR_OUT_OF_SPACE) {
            rb->stats.full_errors++;
            r = SEDX__ERR(SEDX_ERROR_OUT_OF_STAGING, TAG, "sedx_download_async: the readback ring is full (%llu of "
                          "%llu bytes held by %u requests; %llu more asked): take results (sedx_download_result) "
                          "or cancel requests first", (unsigned long long)rb->used,
                          (unsigned long long)rb->ring.size, rb->outstanding, (unsigned long long)bytes);
        }
        if (r != SEDX_SUCCESS) {
            q->alloc = 0;
            request_free(rb, q);
            break;
        }
        rb->used += bytes;
        rb->outstanding++;
        if (!q->callback && (r = sedx__handle_alloc(&rb->handles, q, &q->handle)) != SEDX_SUCCESS) {
            request_free(rb, q);
            break;
        }
    }
    if (r != SEDX_SUCCESS)
        while (i--) {
            if (reqs[i]->handle) sedx__handle_free(&rb->handles, reqs[i]->handle);
            request_free(rb, reqs[i]);
        }
    return r;
}

/* One command buffer with every copy, submitted in order with the other transfers. Transfer
 * lock held. */
static sedx_result record_submit(sedx_context *ctx, struct sedx__transfer *t, const sedx_download_async_info *infos,
                                 uint32_t count, rb_request **reqs, sedx_ticket *out)
{
    sedx_cmd cmd;
    sedx_result r = sedx_cmd_begin(ctx, rb_queue(t), &cmd);
    if (r != SEDX_SUCCESS) return r;
    sedx__barrier_before(cmd.cmd, false);
    VkBuffer ring_buf = t->rb->ring.buffer.resource->buffer;
    for (uint32_t i = 0; i < count; ++i) {
        VkBufferCopy c = {infos[i].offset, reqs[i]->ring_offset, infos[i].size};
        vkCmdCopyBuffer(cmd.cmd, infos[i].src->resource->buffer, ring_buf, 1, &c);
    }
    sedx__barrier(cmd.cmd, VK_PIPELINE_STAGE_TRANSFER_BIT, VK_ACCESS_TRANSFER_WRITE_BIT, VK_PIPELINE_STAGE_HOST_BIT,
                  VK_ACCESS_HOST_READ_BIT);
    /* as sedx__submit_ordered, and also after every source's last use on the other queue
     * (work of the application marked with sedx_buffer_mark_used, e.g. the shader that wrote
     * the picking result): the same queue orders by itself (barrier above) */
    sedx_queue mine = (sedx_queue)cmd.queue;
    VkSemaphore waits[SEDX_QUEUE_COUNT];
    uint64_t values[SEDX_QUEUE_COUNT];
    VkPipelineStageFlags stages[SEDX_QUEUE_COUNT];
    sedx_submit_info si = {0, waits, values, stages};
    for (int other = 0; other < SEDX_QUEUE_COUNT; ++other) {
        if (other == (int)mine) continue;
        uint64_t v = t->last_value[other];
        for (uint32_t i = 0; i < count; ++i) v = SEDX__MAX(v, atomic_load(&infos[i].src->resource->last_use[other]));
        v = SEDX__MIN(v, sedx_context_submitted_value(ctx, (sedx_queue)other));
        sedx__queue *oq = sedx__ctx_queue(ctx, (sedx_queue)other);
        if (!v || atomic_load(&oq->completed) >= v) continue;
        waits[si.wait_count] = oq->timeline;
        values[si.wait_count] = v;
        stages[si.wait_count++] = VK_PIPELINE_STAGE_ALL_COMMANDS_BIT;
    }
    sedx_ticket tk;
    r = sedx_cmd_submit(ctx, &cmd, &si, &tk);
    if (r != SEDX_SUCCESS) {
        if (cmd.cmd) sedx_cmd_discard(ctx, &cmd);
        return r;
    }
    t->last_value[tk.queue] = tk.value;
    t->last_ticket = tk;
    *out = tk;
    return SEDX_SUCCESS;
}

/* out (may be NULL) gets the handles of the requests without a callback, written under rb->lock:
 * once it is dropped, another thread's pump may run a callback request and free it. */
static sedx_result async_locked(sedx_context *ctx, struct sedx__transfer *t, const sedx_download_async_info *infos,
                                uint32_t count, rb_request **reqs, sedx_download_request *out)
{
    struct sedx__readback *rb = t->rb;
    sedx_result r = SEDX_SUCCESS;
    /* every size against the ring (readback_size until it exists) before it is created, so that
     * a refused request creates nothing; again after, in case it fell back to a smaller size */
    for (int pass = 0; pass < 2; ++pass) {
        uint64_t ring_size = rb->ring.ptr ? rb->ring.size : t->info.readback_size;
        for (uint32_t i = 0; i < count; ++i)
            if (infos[i].size > ring_size)
                return SEDX__ERR(SEDX_ERROR_INVALID_SIZE, TAG, "sedx_download_async: buffer '%s': %llu bytes are "
                                 "more than the %llu-byte readback ring holds (readback_size); read it in pieces or "
                                 "with sedx_download", infos[i].src->resource->name,
                                 (unsigned long long)infos[i].size, (unsigned long long)ring_size);
        if (pass == 0 && (r = ensure_ring(ctx, t)) != SEDX_SUCCESS) return r;
    }
    if ((r = sedx__batch_submit(ctx, t, NULL)) != SEDX_SUCCESS) return r; /* earlier uploads first */
    pthread_mutex_lock(&rb->lock);
    r = reserve_all(rb, infos, count, reqs);
    pthread_mutex_unlock(&rb->lock);
    if (r != SEDX_SUCCESS) return r;
    sedx_ticket tk;
    r = record_submit(ctx, t, infos, count, reqs, &tk);
    pthread_mutex_lock(&rb->lock);
    for (uint32_t i = 0; i < count; ++i) {
        rb_request *q = reqs[i];
        if (r != SEDX_SUCCESS) {
            if (q->handle) sedx__handle_free(&rb->handles, q->handle);
            request_free(rb, q);
            continue;
        }
        q->ticket = tk;
        if (q->callback) reap_insert(rb, q);
        else if (out) out[i] = (sedx_download_request){q->handle, infos[i].size, ctx->id, 0};
        rb->stats.requests++;
        rb->stats.bytes += q->size;
    }
    pthread_mutex_unlock(&rb->lock);
    if (r != SEDX_SUCCESS) return r;
    for (uint32_t i = 0; i < count; ++i) sedx__buffer_mark_use(infos[i].src->resource, (sedx_queue)tk.queue, tk.value);
    sedx__buffer_mark_use(rb->ring.buffer.resource, (sedx_queue)tk.queue, tk.value);
    return SEDX_SUCCESS;
}

sedx_result sedx_download_async_batch(sedx_context *ctx, const sedx_download_async_info *infos, uint32_t count,
                                      sedx_download_request *out)
{
    const char *fn = "sedx_download_async";
    if (out) memset(out, 0, (size_t)count * sizeof *out); /* every refusal, NULL infos included */
    if (!ctx || (count && !infos))
        return SEDX__ERR(SEDX_ERROR_INVALID_ARGUMENT, TAG, "%s: %s is NULL", fn, !ctx ? "ctx" : "infos");
    sedx_result r;
    for (uint32_t i = 0; i < count; ++i) {
        if (!infos[i].callback && !out)
            return SEDX__ERR(SEDX_ERROR_INVALID_ARGUMENT, TAG, "%s: out is NULL and request %u has no callback: "
                             "nothing could take its result", fn, i);
        if ((r = check_info(ctx, &infos[i], fn)) != SEDX_SUCCESS) return r;
    }
    if (!count) return SEDX_SUCCESS;
    struct sedx__transfer *t = sedx__get_transfer(ctx);
    pump(ctx, t); /* callbacks due since the last call, before taking the transfer lock */
    rb_request *one[1], **reqs = count == 1 ? one : sedx__calloc(count, sizeof *reqs);
    if (!reqs) return SEDX__ERR(SEDX_ERROR_OUT_OF_HOST_MEMORY, TAG, "%s: out of host memory", fn);
    SEDX_PROFILE_SCOPE("sedx_download_async");
    pthread_mutex_lock(&t->lock);
    r = async_locked(ctx, t, infos, count, reqs, out);
    pthread_mutex_unlock(&t->lock);
    if (reqs != one) sedx__free(reqs);
    return r;
}

sedx_result sedx_download_async(sedx_context *ctx, const sedx_buffer *src, uint64_t offset, uint64_t size,
                                sedx_download_request *out)
{
    if (out) memset(out, 0, sizeof *out);
    if (!out) return SEDX__ERR(SEDX_ERROR_INVALID_ARGUMENT, TAG, "sedx_download_async: out is NULL");
    sedx_download_async_info info = {src, offset, size, NULL, NULL};
    return sedx_download_async_batch(ctx, &info, 1, out);
}

/* The live request behind req, or NULL (logged). rb->lock held. */
static rb_request *find(sedx_context *ctx, struct sedx__readback *rb, const sedx_download_request *req,
                        const char *what, sedx_result *r)
{
    if (!req->handle) {
        *r = SEDX__ERR(SEDX_ERROR_INVALID_HANDLE, TAG, "%s: empty request (never made, a failed request, a callback "
                       "request, or already taken or cancelled)", what);
        return NULL;
    }
    if (req->context_id != ctx->id) {
        *r = SEDX__ERR(SEDX_ERROR_INVALID_HANDLE, TAG, "%s: request 0x%llx belongs to another context", what,
                       (unsigned long long)req->handle);
        return NULL;
    }
    rb_request *q = sedx__handle_get(&rb->handles, req->handle);
    if (!q || q->handle != req->handle) {
        *r = SEDX__ERR(SEDX_ERROR_INVALID_HANDLE, TAG, "%s: stale request 0x%llx (already taken or cancelled, or a "
                       "copy of one)", what, (unsigned long long)req->handle);
        return NULL;
    }
    return q;
}

/* The request's ticket, for poll and wait. */
static sedx_result lookup_ticket(sedx_context *ctx, struct sedx__transfer *t, const sedx_download_request *req,
                                 const char *what, sedx_ticket *tk)
{
    if (!ctx || !req)
        return SEDX__ERR(SEDX_ERROR_INVALID_ARGUMENT, TAG, "%s: %s is NULL", what, !ctx ? "ctx" : "req");
    struct sedx__readback *rb = t->rb;
    sedx_result r = SEDX_SUCCESS;
    pthread_mutex_lock(&rb->lock);
    rb_request *q = find(ctx, rb, req, what, &r);
    if (q) *tk = q->ticket;
    pthread_mutex_unlock(&rb->lock);
    return r;
}

sedx_result sedx_download_poll(sedx_context *ctx, const sedx_download_request *req)
{
    if (!ctx) return SEDX__ERR(SEDX_ERROR_INVALID_ARGUMENT, TAG, "sedx_download_poll: ctx is NULL");
    struct sedx__transfer *t = sedx__get_transfer(ctx);
    pump(ctx, t);
    sedx_ticket tk;
    sedx_result r = lookup_ticket(ctx, t, req, "sedx_download_poll", &tk);
    if (r == SEDX_SUCCESS && !tk.value) return SEDX_NOT_READY; /* recorded, its submission not known yet */
    return r == SEDX_SUCCESS ? sedx_ticket_poll(ctx, tk) : r;
}

sedx_result sedx_download_wait(sedx_context *ctx, const sedx_download_request *req, uint64_t timeout_ns)
{
    if (!ctx) return SEDX__ERR(SEDX_ERROR_INVALID_ARGUMENT, TAG, "sedx_download_wait: ctx is NULL");
    struct sedx__transfer *t = sedx__get_transfer(ctx);
    sedx_ticket tk;
    sedx_result r = lookup_ticket(ctx, t, req, "sedx_download_wait", &tk);
    if (r == SEDX_SUCCESS && !tk.value) /* nothing to wait for: it would wait for the caller itself */
        return SEDX__ERR(SEDX_ERROR_BUSY, TAG, "sedx_download_wait: request 0x%llx was recorded into a command buffer "
                         "and not given its submission yet (sedx_download_async_submitted, or sedx_frame_end after "
                         "sedx_cmd_submit): not waited for", (unsigned long long)req->handle);
    if (r == SEDX_SUCCESS) r = sedx_ticket_wait(ctx, tk, timeout_ns); /* no lock held */
    pump(ctx, t);
    return r;
}

sedx_result sedx_download_result(sedx_context *ctx, sedx_download_request *req, void *dst)
{
    const char *fn = "sedx_download_result";
    if (!ctx || !req)
        return SEDX__ERR(SEDX_ERROR_INVALID_ARGUMENT, TAG, "%s: %s is NULL", fn, !ctx ? "ctx" : "req");
    struct sedx__transfer *t = sedx__get_transfer(ctx);
    struct sedx__readback *rb = t->rb;
    pump(ctx, t);
    sedx_result r = SEDX_SUCCESS;
    pthread_mutex_lock(&rb->lock);
    rb_request *q = find(ctx, rb, req, fn, &r);
    if (q && !dst) r = SEDX__ERR(SEDX_ERROR_INVALID_ARGUMENT, TAG, "%s: dst is NULL (the request is kept)", fn);
    else if (q && (q->pending || sedx_ticket_poll(ctx, q->ticket) != SEDX_SUCCESS)) r = SEDX_NOT_READY;
    else if (q) {
        sedx__handle_free(&rb->handles, q->handle); /* spent: a second take or a copy is refused from now */
        q->handle = 0;
    }
    pthread_mutex_unlock(&rb->lock);
    if (!q || r != SEDX_SUCCESS) return r;
    /* outside the lock: nobody else can reach q now */
    r = invalidate(ctx, rb, q->ring_offset, q->size);
    if (r == SEDX_SUCCESS) memcpy(dst, rb->ring.ptr + q->ring_offset, (size_t)q->size);
    memset(req, 0, sizeof *req);
    pthread_mutex_lock(&rb->lock);
    request_free(rb, q);
    pthread_mutex_unlock(&rb->lock);
    return r;
}

sedx_result sedx_download_cancel(sedx_context *ctx, sedx_download_request *req)
{
    const char *fn = "sedx_download_cancel";
    if (!ctx || !req)
        return SEDX__ERR(SEDX_ERROR_INVALID_ARGUMENT, TAG, "%s: %s is NULL", fn, !ctx ? "ctx" : "req");
    struct sedx__transfer *t = sedx__get_transfer(ctx);
    struct sedx__readback *rb = t->rb;
    sedx_result r = SEDX_SUCCESS;
    pthread_mutex_lock(&rb->lock);
    rb_request *q = find(ctx, rb, req, fn, &r);
    if (q) {
        sedx__handle_free(&rb->handles, q->handle);
        q->handle = 0;
        if (q->pending) {
            /* its command buffer may still be submitted and write the space: it stays in the
             * pending list until its submission is known, then waits for it like any other */
        } else if (sedx_ticket_poll(ctx, q->ticket) == SEDX_SUCCESS) request_free(rb, q);
        else reap_insert(rb, q); /* the GPU still writes it: freed by a later pump */
        memset(req, 0, sizeof *req);
    }
    pthread_mutex_unlock(&rb->lock);
    return r;
}

sedx_result sedx_download_async_get_stats(sedx_context *ctx, sedx_download_async_stats *out)
{
    if (!ctx || !out)
        return SEDX__ERR(SEDX_ERROR_INVALID_ARGUMENT, TAG, "sedx_download_async_get_stats: NULL argument");
    struct sedx__readback *rb = sedx__get_transfer(ctx)->rb;
    pthread_mutex_lock(&rb->lock);
    *out = rb->stats;
    out->ring_used = rb->used;
    out->outstanding = rb->outstanding;
    out->unsubmitted = atomic_load(&rb->pending_count);
    pthread_mutex_unlock(&rb->lock);
    return SEDX_SUCCESS;
}

/* ------------------------------------------------------------------------------------------
 * Recorded requests: the copy rides on the application's submission (no sedx submission)
 * ---------------------------------------------------------------------------------------- */
static const char *queue_name(uint32_t q) { return q == SEDX_QUEUE_TRANSFER ? "transfer" : "graphics"; }

/* The sedx_queue whose tickets cmd's submission will have, when cmd is a command buffer of ctx
 * being recorded (begun by sedx_cmd_begin, not submitted or discarded). */
static sedx_result check_cmd(sedx_context *ctx, const sedx_cmd *cmd, const char *what, uint32_t *queue,
                             uint64_t *epoch)
{
    if (!cmd->cmd)
        return SEDX__ERR(SEDX_ERROR_INVALID_ARGUMENT, TAG, "%s: cmd is not being recorded (its VkCommandBuffer is "
                         "VK_NULL_HANDLE: submitted or discarded already, or never begun)", what);
    if (cmd->queue >= SEDX_QUEUE_COUNT || cmd->slot >= SEDX__CMD_RING)
        return SEDX__ERR(SEDX_ERROR_INVALID_ARGUMENT, TAG, "%s: cmd (queue %u, slot %u) is not a command buffer of "
                         "sedx_cmd_begin", what, cmd->queue, cmd->slot);
    sedx__queue *dq = sedx__ctx_queue(ctx, (sedx_queue)cmd->queue);
    pthread_mutex_lock(&dq->pool_lock);
    bool ours = dq->cmd_busy[cmd->slot] && dq->cmds[cmd->slot] == cmd->cmd;
    *epoch = dq->cmd_epoch[cmd->slot];
    pthread_mutex_unlock(&dq->pool_lock);
    if (!ours)
        return SEDX__ERR(SEDX_ERROR_INVALID_ARGUMENT, TAG, "%s: command buffer %p is not being recorded on context %u "
                         "(sedx_cmd_begin on this context, not yet submitted or discarded)", what, (void *)cmd->cmd,
                         ctx->id);
    *queue = dq == &ctx->queues[SEDX_QUEUE_TRANSFER] ? SEDX_QUEUE_TRANSFER : SEDX_QUEUE_GRAPHICS;
    return SEDX_SUCCESS;
}

sedx_result sedx_download_async_record(sedx_context *ctx, const sedx_cmd *cmd, const sedx_buffer *src, uint64_t offset,
                                       uint64_t size, sedx_download_request *out)
{
    const char *fn = "sedx_download_async_record";
    if (out) memset(out, 0, sizeof *out);
    if (!ctx || !cmd || !out)
        return SEDX__ERR(SEDX_ERROR_INVALID_ARGUMENT, TAG, "%s: %s is NULL", fn, !ctx ? "ctx" : !cmd ? "cmd" : "out");
    sedx_download_async_info info = {src, offset, size, NULL, NULL};
    sedx_result r = check_info(ctx, &info, fn);
    if (r != SEDX_SUCCESS) return r;
    uint32_t queue;
    uint64_t epoch;
    if ((r = check_cmd(ctx, cmd, fn, &queue, &epoch)) != SEDX_SUCCESS) return r;
    struct sedx__transfer *t = sedx__get_transfer(ctx);
    struct sedx__readback *rb = t->rb;
    pump(ctx, t); /* callbacks due, as every request does */
    pthread_mutex_lock(&rb->lock);
    bool have_ring = rb->space != NULL;
    pthread_mutex_unlock(&rb->lock);
    if (!have_ring) { /* the first request: the ring, under the transfer lock (as sedx_download_async) */
        pthread_mutex_lock(&t->lock);
        uint64_t want = t->info.readback_size;
        r = size > want ? SEDX_ERROR_INVALID_SIZE : ensure_ring(ctx, t);
        pthread_mutex_unlock(&t->lock);
        if (r == SEDX_ERROR_INVALID_SIZE)
            return SEDX__ERR(r, TAG, "%s: buffer '%s': %llu bytes are more than the %llu-byte readback ring holds "
                             "(readback_size); read it in pieces or with sedx_download", fn, src->resource->name,
                             (unsigned long long)size, (unsigned long long)want);
        if (r != SEDX_SUCCESS) return r;
    }
    sedx_buffer_resource *res = src->resource;
    pthread_mutex_lock(&rb->lock);
    if (size > rb->ring.size) {
        uint64_t ring_size = rb->ring.size;
        pthread_mutex_unlock(&rb->lock);
        return SEDX__ERR(SEDX_ERROR_INVALID_SIZE, TAG, "%s: buffer '%s': %llu bytes are more than the %llu-byte "
                         "readback ring holds (readback_size); read it in pieces or with sedx_download", fn, res->name,
                         (unsigned long long)size, (unsigned long long)ring_size);
    }
    rb_request *q;
    r = reserve_all(rb, &info, 1, &q);
    if (r != SEDX_SUCCESS) {
        pthread_mutex_unlock(&rb->lock);
        return r;
    }
    q->rec_queue = queue;
    q->rec_slot = cmd->slot;
    q->rec_after = sedx_context_submitted_value(ctx, (sedx_queue)queue);
    q->rec_epoch = epoch;
    q->src = res;
    sedx__buffer_ref(res); /* until the submission is known: its last use is recorded then */
    pending_insert(rb, q);
    rb->stats.requests++;
    rb->stats.recorded++;
    rb->stats.bytes += size;
    uint64_t ring_offset = q->ring_offset;
    VkBuffer ring_buf = rb->ring.buffer.resource->buffer;
    *out = (sedx_download_request){q->handle, size, ctx->id, 0};
    pthread_mutex_unlock(&rb->lock);
    /* every earlier write (and read of the ring's bytes) of any stage before the copy; after it,
     * the ring's bytes available to the host, and later commands of any stage after the copy
     * (a later write of src must not overtake its read) */
    sedx__barrier_before(cmd->cmd, false);
    VkBufferCopy c = {offset, ring_offset, size};
    vkCmdCopyBuffer(cmd->cmd, res->buffer, ring_buf, 1, &c);
    sedx__barrier(cmd->cmd, VK_PIPELINE_STAGE_TRANSFER_BIT, VK_ACCESS_TRANSFER_WRITE_BIT,
                  VK_PIPELINE_STAGE_HOST_BIT | VK_PIPELINE_STAGE_ALL_COMMANDS_BIT, VK_ACCESS_HOST_READ_BIT);
    return SEDX_SUCCESS;
}

/* What became of q's command buffer (sedx__queue_cmd_fate; *v its submission's value, or a
 * completed one at or after it). */
static sedx__cmd_fate rec_fate(sedx_context *ctx, const rb_request *q, uint64_t *v)
{
    return sedx__queue_cmd_fate(sedx__ctx_queue(ctx, (sedx_queue)q->rec_queue), q->rec_slot, q->rec_epoch, v);
}

/* A ticket that names a submission of ctx. */
static sedx_result check_ticket_arg(sedx_context *ctx, sedx_ticket tk, const char *what)
{
    if (!tk.value)
        return SEDX__ERR(SEDX_ERROR_INVALID_ARGUMENT, TAG, "%s: ticket value 0 names no submission (pass "
                         "sedx_cmd_submit's ticket)", what);
    if (tk.context_id != ctx->id)
        return SEDX__ERR(SEDX_ERROR_WRONG_CONTEXT, TAG, "%s: the ticket is context %u's, not context %u's", what,
                         tk.context_id, ctx->id);
    if (tk.queue >= SEDX_QUEUE_COUNT)
        return SEDX__ERR(SEDX_ERROR_INVALID_ARGUMENT, TAG, "%s: ticket queue %u is not a sedx_queue", what, tk.queue);
    if (tk.value > sedx_context_submitted_value(ctx, (sedx_queue)tk.queue))
        return SEDX__ERR(SEDX_ERROR_INVALID_ARGUMENT, TAG, "%s: ticket value %llu on the %s queue was never submitted",
                         what, (unsigned long long)tk.value, queue_name(tk.queue));
    return SEDX_SUCCESS;
}

/* After the requests got their ticket (outside rb->lock): the sources' last use, then our
 * references go; the ring's last use. */
static void sources_submitted(struct sedx__readback *rb, sedx_buffer_resource **srcs, const sedx_ticket *tks, uint32_t n)
{
    for (uint32_t i = 0; i < n; ++i) {
        if (!srcs[i]) continue;
        if (tks[i].value) {
            sedx__buffer_mark_use(srcs[i], (sedx_queue)tks[i].queue, tks[i].value);
            sedx__buffer_mark_use(rb->ring.buffer.resource, (sedx_queue)tks[i].queue, tks[i].value);
        }
        sedx__buffer_unref(srcs[i]);
    }
}

sedx_result sedx_download_async_submitted(sedx_context *ctx, const sedx_download_request *reqs, uint32_t count,
                                          sedx_ticket ticket)
{
    const char *fn = "sedx_download_async_submitted";
    if (!ctx || (count && !reqs))
        return SEDX__ERR(SEDX_ERROR_INVALID_ARGUMENT, TAG, "%s: %s is NULL", fn, !ctx ? "ctx" : "reqs");
    sedx_result r = check_ticket_arg(ctx, ticket, fn);
    if (r != SEDX_SUCCESS || !count) return r;
    struct sedx__readback *rb = sedx__get_transfer(ctx)->rb;
    enum { LOCAL = 16 };
    rb_request *local_q[LOCAL];
    sedx_buffer_resource *local_src[LOCAL];
    sedx_ticket local_tk[LOCAL];
    rb_request **qs = count <= LOCAL ? local_q : sedx__calloc(count, sizeof *qs);
    sedx_buffer_resource **srcs = count <= LOCAL ? local_src : sedx__calloc(count, sizeof *srcs);
    sedx_ticket *tks = count <= LOCAL ? local_tk : sedx__calloc(count, sizeof *tks);
    if (!qs || !srcs || !tks) {
        if (count > LOCAL) sedx__free(qs), sedx__free(srcs), sedx__free(tks);
        return SEDX__ERR(SEDX_ERROR_OUT_OF_HOST_MEMORY, TAG, "%s: out of host memory", fn);
    }
    uint32_t i = 0;
    pthread_mutex_lock(&rb->lock);
    for (; i < count; ++i) { /* every request checked before any is changed: all or nothing */
        rb_request *q = qs[i] = find(ctx, rb, &reqs[i], fn, &r);
        if (!q) break;
        if (q->mark) {
            r = SEDX__ERR(SEDX_ERROR_INVALID_ARGUMENT, TAG, "%s: request 0x%llx is in reqs twice", fn,
                          (unsigned long long)q->handle);
            break;
        }
        if (!q->pending && q->found && q->ticket.queue == ticket.queue && ticket.value > q->rec_after) {
            /* another thread's sedx_download_async_submitted_all (sedx_frame_end) was first: it
             * read the submission off the command buffer; accepted once, nothing to change */
            q->mark = true;
            continue;
        }
        if (!q->pending) {
            r = SEDX__ERR(SEDX_ERROR_INVALID_ARGUMENT, TAG, "%s: request 0x%llx was given its submission already "
                          "(ticket %llu on the %s queue): submitted twice, or made by sedx_download_async", fn,
                          (unsigned long long)q->handle, (unsigned long long)q->ticket.value,
                          queue_name(q->ticket.queue));
            break;
        }
        if (q->rec_queue != ticket.queue) {
            r = SEDX__ERR(SEDX_ERROR_INVALID_ARGUMENT, TAG, "%s: request 0x%llx was recorded into a command buffer "
                          "of the %s queue; the ticket names the %s queue (not its submission)", fn,
                          (unsigned long long)q->handle, queue_name(q->rec_queue), queue_name(ticket.queue));
            break;
        }
        uint64_t v;
        sedx__cmd_fate fate = rec_fate(ctx, q, &v);
        if (fate == SEDX__CMD_RECORDING) {
            r = SEDX__ERR(SEDX_ERROR_INVALID_ARGUMENT, TAG, "%s: request 0x%llx: its command buffer has not been "
                          "submitted yet (sedx_cmd_submit it first)", fn, (unsigned long long)q->handle);
            break;
        }
        if (fate == SEDX__CMD_NOT_SUBMITTED) { /* no ticket is its: the copy never runs */
            r = SEDX__ERR(SEDX_ERROR_INVALID_ARGUMENT, TAG, "%s: request 0x%llx: its command buffer was discarded "
                          "or its submit failed, so no submission carries it (sedx_download_async_submitted_all "
                          "drops it)", fn, (unsigned long long)q->handle);
            break;
        }
        if (ticket.value <= q->rec_after) {
            r = SEDX__ERR(SEDX_ERROR_INVALID_ARGUMENT, TAG, "%s: ticket value %llu on the %s queue was submitted "
                          "before request 0x%llx was recorded (after value %llu): not its submission", fn,
                          (unsigned long long)ticket.value, queue_name(ticket.queue), (unsigned long long)q->handle,
                          (unsigned long long)q->rec_after);
            break;
        }
        /* v is its submission's own value while the slot was not begun again (a later one is a
         * completed value): an earlier ticket that may pass before the copy ran is another's */
        if (fate == SEDX__CMD_SUBMITTED && ticket.value < v &&
            sedx_context_completed_value(ctx, (sedx_queue)ticket.queue) < v) {
            r = SEDX__ERR(SEDX_ERROR_INVALID_ARGUMENT, TAG, "%s: ticket value %llu on the %s queue is not request "
                          "0x%llx's submission: its command buffer was submitted with value %llu", fn,
                          (unsigned long long)ticket.value, queue_name(ticket.queue), (unsigned long long)q->handle,
                          (unsigned long long)v);
            break;
        }
        q->mark = true;
    }
    if (r != SEDX_SUCCESS) {
        while (i--) qs[i]->mark = false;
        pthread_mutex_unlock(&rb->lock);
    } else {
        for (i = 0; i < count; ++i) {
            rb_request *q = qs[i];
            srcs[i] = NULL;
            tks[i] = ticket;
            q->mark = false;
            if (!q->pending) { /* given by _submitted_all already */
                q->found = false;
                continue;
            }
            q->ticket = ticket;
            pending_remove(rb, q);
            srcs[i] = q->src;
            tks[i] = ticket;
            q->src = NULL;
        }
        pthread_mutex_unlock(&rb->lock);
        sources_submitted(rb, srcs, tks, count);
    }
    if (count > LOCAL) sedx__free(qs), sedx__free(srcs), sedx__free(tks);
    return r;
}

uint32_t sedx_download_async_submitted_all(sedx_context *ctx)
{
    if (!ctx) return 0;
    struct sedx__readback *rb = sedx__get_transfer(ctx)->rb;
    if (!atomic_load(&rb->pending_count)) return 0; /* the frame loop without readbacks: no lock */
    enum { STEP = 64 };
    sedx_buffer_resource *srcs[STEP];
    sedx_ticket tks[STEP];
    uint32_t given = 0, dropped = 0, dropped_handles = 0, stuck = 0, unknown = 0;
    for (uint32_t pass = 0, more = 1; more; ++pass) {
        uint32_t n = 0;
        more = 0;
        stuck = 0; /* counted again by each pass over what is left */
        pthread_mutex_lock(&rb->lock);
        for (rb_request *q = rb->pending_head, *next; q; q = next) {
            next = q->pnext;
            /* Its own command buffer's fate, even when the slot was begun again since: never a
             * later command buffer's submission (its bytes would be stale ring bytes). */
            uint64_t v;
            sedx__cmd_fate fate =
                sedx__queue_cmd_fate(sedx__ctx_queue(ctx, (sedx_queue)q->rec_queue), q->rec_slot, q->rec_epoch, &v);
            if (fate == SEDX__CMD_RECORDING) {
                if (pass == 0) q->left++;
                if (q->left > 1) stuck++; /* left by an earlier call too */
                continue;
            }
            if (n == STEP) {
                more = 1;
                break;
            }
            unknown += fate == SEDX__CMD_UNKNOWN; /* once: after the step's break, not before */
            pending_remove(rb, q);
            srcs[n] = q->src;
            q->src = NULL;
            if (!v) { /* discarded, or its submit failed: the GPU never writes it */
                tks[n++] = (sedx_ticket){0, 0, 0};
                dropped++;
                if (q->handle) {
                    sedx__handle_free(&rb->handles, q->handle);
                    dropped_handles++;
                }
                request_free(rb, q);
                continue;
            }
            q->ticket = (sedx_ticket){v, q->rec_queue, ctx->id};
            q->found = true;
            tks[n++] = q->ticket;
            if (!q->handle && !q->callback) reap_insert(rb, q); /* cancelled while pending */
            given++;
        }
        pthread_mutex_unlock(&rb->lock);
        sources_submitted(rb, srcs, tks, n);
    }
    if (dropped)
        SEDX_LOG_ERROR_TAG(TAG, "sedx_download_async_submitted_all: %u recorded readback "
                  "request(s) (%u not cancelled) were in a command buffer that was discarded or failed to submit "
                  "(%u of them: whose slot had more than %u command buffers discarded since, so whether it ran is "
                  "not known): dropped, their handles are stale", dropped, dropped_handles, unknown,
                  SEDX__CMD_DROP_LOG);
    /* one in a command buffer another thread is recording now is normal; one that was there at
     * an earlier call too (a frame ago) is probably never submitted */
    if (stuck)
        SEDX_LOG_WARN_TAG(TAG, "sedx_download_async_submitted_all: %u recorded readback request(s) are still in "
                          "command buffers not submitted since an earlier call (sedx_frame_end): submit them, or "
                          "cancel the requests and discard", stuck);
    return given;
}
