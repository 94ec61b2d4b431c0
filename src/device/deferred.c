/*
 * The deletion queue: work run once the GPU has passed given timeline values.
 */
#include "device/device_private.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

/* ------------------------------------------------------------------------------------------
 * Deletion queue
 * ---------------------------------------------------------------------------------------- */
/* A value never submitted would hold the item until the context is destroyed. */
static sedx_result check_defer_values(const sedx_context *ctx, const uint64_t after[SEDX_QUEUE_COUNT])
{
    for (int i = 0; after && i < SEDX_QUEUE_COUNT; ++i) {
        uint64_t submitted = sedx_context_submitted_value(ctx, (sedx_queue)i);
        if (after[i] > submitted)
            return SEDX__ERR(SEDX_ERROR_INVALID_ARGUMENT, TAG,
                             "sedx_context_defer: after[%d] = %llu was never submitted (last submitted: %llu)", i,
                             (unsigned long long)after[i], (unsigned long long)submitted);
    }
    return SEDX_SUCCESS;
}

sedx_result sedx_context_defer(sedx_context *ctx, const uint64_t after[SEDX_QUEUE_COUNT], sedx_deferred_fn fn,
                               void *user)
{
    if (!ctx || !fn) return SEDX__ERR(SEDX_ERROR_INVALID_ARGUMENT, TAG, "sedx_context_defer: NULL context or fn");
    sedx_result r = check_defer_values(ctx, after);
    if (r != SEDX_SUCCESS) return r;
    pthread_mutex_lock(&ctx->deferred_lock);
    if (ctx->deferred_count == ctx->deferred_cap) {
        uint32_t cap = ctx->deferred_cap ? ctx->deferred_cap * 2 : 64;
        sedx__deferred *d = sedx__realloc(ctx->deferred, (size_t)cap * sizeof *d);
        if (!d) {
            pthread_mutex_unlock(&ctx->deferred_lock);
            return SEDX__ERR(SEDX_ERROR_OUT_OF_HOST_MEMORY, TAG, "out of host memory for the deletion queue");
        }
        ctx->deferred = d;
        ctx->deferred_cap = cap;
    }
    sedx__deferred *d = &ctx->deferred[ctx->deferred_count++];
    for (int i = 0; i < SEDX_QUEUE_COUNT; ++i) d->after[i] = after ? after[i] : 0;
    d->fn = fn;
    d->user = user;
    pthread_mutex_unlock(&ctx->deferred_lock);
    return SEDX_SUCCESS;
}

/* Runs every item whose values have passed (all: every item). One pass over the queue per
 * round, keeping the order of the rest; the callbacks run outside the lock (they may defer). */
uint32_t sedx__run_deferred(sedx_context *ctx, bool all)
{
    uint64_t done[SEDX_QUEUE_COUNT];
    for (int i = 0; i < SEDX_QUEUE_COUNT; ++i)
        done[i] = all ? UINT64_MAX : sedx__queue_refresh_completed(ctx, sedx__ctx_queue(ctx, (sedx_queue)i));
    uint32_t ran = 0;
    for (;;) {
        sedx__deferred ready[64];
        uint32_t n_ready = 0, kept = 0;
        pthread_mutex_lock(&ctx->deferred_lock);
        for (uint32_t i = 0; i < ctx->deferred_count; ++i) {
            sedx__deferred *d = &ctx->deferred[i];
            bool go = n_ready < SEDX__COUNTOF(ready);
            for (int k = 0; k < SEDX_QUEUE_COUNT && go; ++k) go = d->after[k] <= done[k];
            if (go) ready[n_ready++] = *d;
            else ctx->deferred[kept++] = *d;
        }
        ctx->deferred_count = kept;
        pthread_mutex_unlock(&ctx->deferred_lock);
        for (uint32_t i = 0; i < n_ready; ++i) ready[i].fn(ctx, ready[i].user);
        ran += n_ready;
        if (n_ready < SEDX__COUNTOF(ready)) break; /* a full batch: there may be more */
    }
    return ran;
}

uint32_t sedx_context_collect_garbage(sedx_context *ctx)
{
    if (!ctx) return 0;
    pthread_mutex_lock(&ctx->deferred_lock);
    uint32_t n = ctx->deferred_count;
    pthread_mutex_unlock(&ctx->deferred_lock);
    return n ? sedx__run_deferred(ctx, false) : 0;
}

uint32_t sedx_context_pending_deletions(sedx_context *ctx)
{
    if (!ctx) return 0;
    pthread_mutex_lock(&ctx->deferred_lock);
    uint32_t n = ctx->deferred_count;
    pthread_mutex_unlock(&ctx->deferred_lock);
    return n;
}

sedx_result sedx_context_wait_idle(sedx_context *ctx)
{
    if (!ctx) return SEDX__ERR(SEDX_ERROR_INVALID_ARGUMENT, TAG, "NULL context");
    sedx_result r = SEDX_SUCCESS;
    for (int i = 0; i < SEDX_QUEUE_COUNT; ++i) {
        sedx__queue *q = &ctx->queues[i];
        if (!q->present) continue;
        sedx_result w = sedx__queue_wait(ctx, q, atomic_load(&q->submitted), UINT64_MAX);
        if (w != SEDX_SUCCESS) r = w;
    }
    if (r == SEDX_SUCCESS) {
        while (sedx__run_deferred(ctx, false)) {
        }
    }
    return r;
}

