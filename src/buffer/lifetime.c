/*
 * References: one handle per reference (retain makes a new one, release frees its own), the
 * count, the last release queuing the destruction behind the GPU, validation of buffers.
 */
#include "buffer/buffer_private.h"

/* Process-wide handle pool: buffers are validated without a context argument. */
static sedx__handle_pool g_pool;
static pthread_once_t g_pool_once = PTHREAD_ONCE_INIT;
static sedx_result g_pool_status = SEDX_ERROR_OUT_OF_HOST_MEMORY;
static void pool_init(void) { g_pool_status = sedx__handle_pool_init(&g_pool); }

sedx__handle_pool *sedx__buffer_handles(void)
{
    return pthread_once(&g_pool_once, pool_init) == 0 && g_pool_status == SEDX_SUCCESS ? &g_pool : NULL;
}

sedx_buffer_resource *sedx__buffer_get(const sedx_buffer *buf, const char *what)
{
    if (!buf) {
        SEDX_LOG_ERROR_TAG(TAG, "%s: buffer pointer is NULL", what);
        return NULL;
    }
    if (!buf->resource || !buf->handle) {
        SEDX_LOG_ERROR_TAG(TAG, "%s: empty buffer (never created, or already released)", what);
        return NULL;
    }
    sedx__handle_pool *pool = sedx__buffer_handles(); /* once: it runs on every call that takes a buffer */
    if (!pool) return NULL;
    sedx_buffer_resource *res = sedx__handle_get(pool, buf->handle);
    if (!res || res != buf->resource) {
        SEDX_LOG_ERROR_TAG(TAG, "%s: invalid handle 0x%llx (released, foreign or corrupted buffer)", what,
                           (unsigned long long)buf->handle);
        return NULL;
    }
    return res;
}

void sedx__buffer_mark_use(sedx_buffer_resource *res, sedx_queue queue, uint64_t value)
{
    _Atomic uint64_t *slot = &res->last_use[queue];
    uint64_t old = atomic_load(slot);
    while (value > old && !atomic_compare_exchange_weak(slot, &old, value)) {
    }
}

sedx_buffer sedx_buffer_retain(const sedx_buffer *buf)
{
    sedx_buffer copy = {0};
    sedx_buffer_resource *res = sedx__buffer_get(buf, "sedx_buffer_retain");
    if (!res) return copy;
    /* every reference has a handle of its own: a stale struct copy of a released reference is
     * then recognisable, and releasing it cannot drop another owner's reference */
    sedx__handle h;
    if (sedx__handle_alloc(sedx__buffer_handles(), res, &h) != SEDX_SUCCESS) {
        SEDX_LOG_ERROR_TAG(TAG, "sedx_buffer_retain: buffer '%s': no handle for a new reference", sedx__safe_name(res->name));
        return copy;
    }
    atomic_fetch_add(&res->refs, 1);
    copy = *buf;
    copy.handle = h;
    return copy;
}

void sedx__buffer_ref(sedx_buffer_resource *res) { atomic_fetch_add(&res->refs, 1); }

void sedx__buffer_unref(sedx_buffer_resource *res)
{
    if (atomic_fetch_sub(&res->refs, 1) != 1) return;

    /* last reference: the Vulkan objects go when the GPU is past them */
    sedx__unregister(res);
    uint64_t after[SEDX_QUEUE_COUNT];
    for (int q = 0; q < SEDX_QUEUE_COUNT; ++q) after[q] = atomic_load(&res->last_use[q]);
    SEDX_LOG_DEBUG_TAG(TAG, "released '%s' id %u (destroyed after timeline %llu/%llu)", sedx__safe_name(res->name), res->id,
                       (unsigned long long)after[0], (unsigned long long)after[1]);
    sedx_context *ctx = res->ctx; /* res may be gone once it is queued (another thread collects) */
    if (sedx_context_defer(ctx, after, sedx__destroy_resource, res) != SEDX_SUCCESS) {
        /* cannot queue it: wait for the GPU instead of destroying in-use memory */
        for (int q = 0; q < SEDX_QUEUE_COUNT; ++q) {
            sedx_ticket t = {after[q], (uint32_t)q, ctx->id};
            if (after[q]) sedx_ticket_wait(ctx, t, UINT64_MAX);
        }
        sedx__destroy_resource(ctx, res);
    } else {
        sedx_context_collect_garbage(ctx);
    }
}

void sedx_buffer_release(sedx_buffer *buf)
{
    if (!buf || (!buf->resource && !buf->handle)) return; /* empty: no-op */
    sedx_buffer b = *buf;
    memset(buf, 0, sizeof *buf);
    sedx_buffer_resource *res = NULL;
    if (sedx__buffer_handles())
        res = sedx__handle_get(sedx__buffer_handles(), b.handle);
    /* Freeing the handle decides who owns the reference: of two threads releasing copies of
     * one reference at once, exactly one frees it; the other, like any stale copy, only logs
     * (and never touches the resource, which the first may have destroyed by then). */
    if (!res || res != b.resource || sedx__handle_free(sedx__buffer_handles(), b.handle) != SEDX_SUCCESS) {
        SEDX_LOG_ERROR_TAG(TAG, "sedx_buffer_release: double release or stale copy (handle 0x%llx); ignored",
                           (unsigned long long)b.handle);
        return;
    }
    sedx__buffer_unref(res);
}

sedx_result sedx_buffer_validate(const sedx_buffer *buf)
{
    return sedx__buffer_get(buf, "sedx_buffer_validate") ? SEDX_SUCCESS : SEDX_ERROR_INVALID_HANDLE;
}

bool sedx_buffer_is_valid(const sedx_buffer *buf)
{
    if (!buf || !buf->handle || !buf->resource) return false;
    if (!sedx__buffer_handles()) return false;
    return sedx__handle_get(sedx__buffer_handles(), buf->handle) == buf->resource;
}

uint32_t sedx_buffer_ref_count(const sedx_buffer *buf)
{
    sedx_buffer_resource *res = sedx_buffer_is_valid(buf) ? buf->resource : NULL;
    return res ? atomic_load(&res->refs) : 0;
}

sedx_result sedx_buffer_mark_used(const sedx_buffer *buf, sedx_ticket ticket)
{
    sedx_buffer_resource *res = sedx__buffer_get(buf, "sedx_buffer_mark_used");
    if (!res) return SEDX_ERROR_INVALID_HANDLE;
    if (ticket.value == 0) return SEDX_SUCCESS;
    if (ticket.context_id != res->ctx->id)
        return SEDX__ERR(SEDX_ERROR_WRONG_CONTEXT, TAG, "buffer '%s': ticket from another context",
                         sedx__safe_name(res->name));
    if (ticket.queue >= SEDX_QUEUE_COUNT)
        return SEDX__ERR(SEDX_ERROR_INVALID_ARGUMENT, TAG, "buffer '%s': ticket with bad queue", sedx__safe_name(res->name));
    if (ticket.value > sedx_context_submitted_value(res->ctx, (sedx_queue)ticket.queue))
        return SEDX__ERR(SEDX_ERROR_INVALID_ARGUMENT, TAG, "buffer '%s': ticket value %llu was never submitted",
                         sedx__safe_name(res->name), (unsigned long long)ticket.value);
    sedx__buffer_mark_use(res, (sedx_queue)ticket.queue, ticket.value);
    return SEDX_SUCCESS;
}
