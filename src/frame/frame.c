/*
 * Frames in flight: slots used in turn, begin waits for the slot's previous frame's ticket,
 * end records the ticket; settings and statistics.
 */
#include "frame/frame_private.h"

#include <inttypes.h>
#include <sedx/transfer.h>

static sedx_result check_info(const sedx_frame_info *info)
{
    if (info->frames_in_flight > SEDX_MAX_FRAMES_IN_FLIGHT)
        return SEDX__ERR(SEDX_ERROR_INVALID_ARGUMENT, TAG,
                         "sedx_frames_configure: frames_in_flight %u is outside 1..%u (0 = 2)", info->frames_in_flight,
                         SEDX_MAX_FRAMES_IN_FLIGHT);
    if (info->flags & ~SEDX_FRAME_FLAGS_ALL)
        return SEDX__ERR(SEDX_ERROR_INVALID_ARGUMENT, TAG, "sedx_frames_configure: unknown flag bits 0x%x (known: 0x%x)",
                         info->flags & ~SEDX_FRAME_FLAGS_ALL, SEDX_FRAME_FLAGS_ALL);
    if (info->block_size && (info->block_size < FRAME_MIN_BLOCK || info->block_size > FRAME_MAX_BLOCK ||
                             info->block_size % 256u))
        return SEDX__ERR(SEDX_ERROR_INVALID_SIZE, TAG,
                         "sedx_frames_configure: block_size %" PRIu64 " is not a multiple of 256 in 4 KiB .. 256 MiB",
                         info->block_size);
    return SEDX_SUCCESS;
}

static void apply_info(struct sedx__frame *fl, const sedx_frame_info *info)
{
    fl->info = *info;
    if (!fl->info.frames_in_flight) fl->info.frames_in_flight = 2;
    if (!fl->info.block_size) fl->info.block_size = FRAME_DEFAULT_BLOCK;
    if (!fl->info.idle_frames) fl->info.idle_frames = FRAME_DEFAULT_IDLE;
}

/* Every offset and size is a multiple of the largest alignment a transient usage can need
 * (uniform, storage, texel, index = 4, nonCoherentAtomSize where the memory is not coherent):
 * one atomic add keeps every allocation aligned for any usage. */
static uint64_t granule_for(sedx_context *ctx)
{
    const VkPhysicalDeviceLimits *lim = &ctx->props.limits;
    uint64_t g = 16;
    g = SEDX__MAX(g, lim->minUniformBufferOffsetAlignment);
    g = SEDX__MAX(g, lim->minStorageBufferOffsetAlignment);
    g = SEDX__MAX(g, lim->minTexelBufferOffsetAlignment);
    sedx_allocator_info ai;
    if (sedx_memory_get_allocator_info(ctx, &ai) == SEDX_SUCCESS && (ai.flags & SEDX_ALLOCATOR_DEBUG_NONCOHERENT))
        g = SEDX__MAX(g, lim->nonCoherentAtomSize);
    while (!sedx__is_pow2(g)) g++; /* Vulkan's limits are powers of two; be safe */
    return g;
}

sedx_result sedx__frames_create(sedx_context *ctx)
{
    struct sedx__frame *fl = sedx__calloc(1, sizeof *fl);
    if (!fl) return SEDX__ERR(SEDX_ERROR_OUT_OF_HOST_MEMORY, TAG, "frame layer: out of host memory");
    fl->ctx = ctx;
    pthread_mutex_init(&fl->lock, NULL);
    sedx_frame_info defaults = {0};
    apply_info(fl, &defaults);
    fl->granule = granule_for(ctx);
    for (uint32_t i = 0; i < SEDX_MAX_FRAMES_IN_FLIGHT; ++i) {
        sedx_frame *f = &fl->slots[i];
        f->magic = FRAME_MAGIC;
        f->index = i;
        f->context_id = ctx->id;
        f->owner = fl;
        atomic_init(&f->state, SLOT_IDLE);
        atomic_init(&f->number, 0);
        atomic_init(&f->current, NULL);
    }
    ctx->layers.frame = fl;
    return SEDX_SUCCESS;
}

void sedx__frames_destroy(sedx_context *ctx)
{
    struct sedx__frame *fl = ctx ? sedx__frames(ctx) : NULL;
    if (!fl) return;
    pthread_mutex_lock(&fl->lock);
    if (fl->recording)
        SEDX_LOG_WARN_TAG(TAG, "context %u destroyed with frame %" PRIu64 " still open (never ended)", ctx->id,
                          atomic_load(&fl->recording->number));
    for (uint32_t i = 0; i < SEDX_MAX_FRAMES_IN_FLIGHT; ++i) {
        sedx_frame *f = &fl->slots[i];
        for (uint32_t k = 0; k < f->block_count; ++k) sedx__frame_block_free(fl, f->blocks[k]);
        sedx__free(f->blocks);
        f->magic = 0;
    }
    for (uint32_t k = 0; k < fl->pool_count; ++k) sedx__frame_block_free(fl, fl->pool[k]);
    sedx__free(fl->pool);
    pthread_mutex_unlock(&fl->lock);
    pthread_mutex_destroy(&fl->lock);
    ctx->layers.frame = NULL;
    sedx__free(fl);
}

sedx_result sedx__frame_check(sedx_context *ctx, const sedx_frame *frame, const char *what)
{
    if (!ctx) return SEDX__ERR(SEDX_ERROR_INVALID_ARGUMENT, TAG, "%s: ctx is NULL", what);
    struct sedx__frame *fl = sedx__frames(ctx);
    if (!fl) return SEDX__ERR(SEDX_ERROR_INVALID_ARGUMENT, TAG, "%s: context %u has no frame layer", what, ctx->id);
    if (!frame) return SEDX__ERR(SEDX_ERROR_INVALID_HANDLE, TAG, "%s: frame is NULL", what);
    /* compare addresses only: a pointer that is not one of ctx's slots is never read */
    uintptr_t p = (uintptr_t)frame, lo = (uintptr_t)&fl->slots[0], hi = (uintptr_t)&fl->slots[fl->info.frames_in_flight];
    if (p < lo || p >= hi || (p - lo) % sizeof(sedx_frame))
        return SEDX__ERR(SEDX_ERROR_INVALID_HANDLE, TAG, "%s: %p is not a frame of context %u", what, (const void *)frame,
                         ctx->id);
    if (atomic_load(&frame->state) != SLOT_RECORDING)
        return SEDX__ERR(SEDX_ERROR_INVALID_HANDLE, TAG, "%s: frame %" PRIu64 " (slot %u) %s", what,
                         atomic_load(&frame->number), frame->index,
                         atomic_load(&frame->number) ? "has already ended" : "was never begun");
    return SEDX_SUCCESS;
}

sedx_result sedx_frames_configure(sedx_context *ctx, const sedx_frame_info *info)
{
    if (!ctx || !info)
        return SEDX__ERR(SEDX_ERROR_INVALID_ARGUMENT, TAG, "sedx_frames_configure: %s is NULL", !ctx ? "ctx" : "info");
    struct sedx__frame *fl = sedx__frames(ctx);
    if (!fl) return SEDX__ERR(SEDX_ERROR_INVALID_ARGUMENT, TAG, "sedx_frames_configure: no frame layer");
    sedx_result r = check_info(info);
    if (r != SEDX_SUCCESS) return r;
    pthread_mutex_lock(&fl->lock);
    if (fl->started) {
        pthread_mutex_unlock(&fl->lock);
        return SEDX__ERR(SEDX_ERROR_BUSY, TAG,
                         "sedx_frames_configure: context %u has begun frames already; configure before the first "
                         "sedx_frame_begin",
                         ctx->id);
    }
    apply_info(fl, info);
    pthread_mutex_unlock(&fl->lock);
    return SEDX_SUCCESS;
}

/* Waits for slot f's previous frame; returns the ns waited through *waited. Lock held. */
static sedx_result wait_slot(sedx_context *ctx, sedx_frame *f, uint64_t *waited)
{
    *waited = 0;
    if (atomic_load(&f->state) != SLOT_IN_FLIGHT) return SEDX_SUCCESS;
    for (uint32_t q = 0; q < SEDX_QUEUE_COUNT; ++q) {
        if (!f->after[q]) continue;
        sedx_ticket t = {f->after[q], q, ctx->id};
        if (sedx_ticket_poll(ctx, t) == SEDX_SUCCESS) continue;
        uint64_t t0 = sedx_time_ns();
        sedx_result r = sedx_ticket_wait(ctx, t, UINT64_MAX);
        *waited += sedx_time_ns() - t0;
        if (r != SEDX_SUCCESS)
            return SEDX__ERR(r, TAG, "sedx_frame_begin: waiting for frame %" PRIu64 " (slot %u): %s",
                             atomic_load(&f->number), f->index, sedx_result_name(r));
    }
    return SEDX_SUCCESS;
}

sedx_result sedx_frame_begin(sedx_context *ctx, sedx_frame **out)
{
    if (out) *out = NULL; /* every refusal, NULL ctx included (frame.h) */
    if (!ctx || !out)
        return SEDX__ERR(SEDX_ERROR_INVALID_ARGUMENT, TAG, "sedx_frame_begin: %s is NULL", !ctx ? "ctx" : "out");
    struct sedx__frame *fl = sedx__frames(ctx);
    if (!fl) return SEDX__ERR(SEDX_ERROR_INVALID_ARGUMENT, TAG, "sedx_frame_begin: no frame layer");
    SEDX_PROFILE_SCOPE("sedx_frame_begin");
    pthread_mutex_lock(&fl->lock);
    if (fl->recording) {
        sedx_frame *open = fl->recording;
        pthread_mutex_unlock(&fl->lock);
        return SEDX__ERR(SEDX_ERROR_BUSY, TAG,
                         "sedx_frame_begin: frame %" PRIu64 " (slot %u) has not ended; call sedx_frame_end first",
                         atomic_load(&open->number), open->index);
    }
    if (!fl->started) {
        fl->started = true;
        fl->stats.frames_in_flight = fl->info.frames_in_flight;
        fl->stats.block_size = fl->info.block_size;
        fl->stats.alignment = (uint32_t)fl->granule;
        fl->stats.coherent = true;
        for (uint32_t i = 0; i < SEDX_MAX_FRAMES_IN_FLIGHT; ++i) {
            fl->slots[i].granule = fl->granule;
            fl->slots[i].max_size = fl->info.block_size;
        }
    }
    uint64_t number = fl->frame_count + 1;
    sedx_frame *f = &fl->slots[(number - 1) % fl->info.frames_in_flight];
    uint64_t waited = 0;
    sedx_result r = wait_slot(ctx, f, &waited);
    if (r != SEDX_SUCCESS) {
        pthread_mutex_unlock(&fl->lock);
        return r;
    }
    fl->frame_count = number;
    sedx__frame_reclaim_locked(fl, f); /* the slot's previous frame is over: its blocks go to the pool */
    atomic_store(&f->number, number);
    sedx__frame_trim_locked(fl);
    frame_block *first = sedx__frame_pool_pop_locked(fl);
    if (first && !sedx__frame_push_block_locked(f, first)) {
        sedx__frame_pool_push_locked(fl, first); /* no host memory now: the first allocation adds it */
        first = NULL;
    }
    atomic_store_explicit(&f->current, first, memory_order_release);
    for (uint32_t q = 0; q < SEDX_QUEUE_COUNT; ++q) f->after[q] = 0;
    atomic_store(&f->state, SLOT_RECORDING);
    fl->recording = f;
    fl->stats.frames_begun++;
    fl->stats.wait_ns_last = waited;
    if (waited) {
        fl->stats.waits++;
        fl->stats.wait_ns_total += waited;
        fl->stats.wait_ns_max = SEDX__MAX(fl->stats.wait_ns_max, waited);
    }
    pthread_mutex_unlock(&fl->lock);
    *out = f;
    return SEDX_SUCCESS;
}

/* The timeline values frame must pass: the caller's ticket, or every queue's submitted value. */
static sedx_result ticket_values(sedx_context *ctx, sedx_ticket ticket, uint64_t after[SEDX_QUEUE_COUNT])
{
    for (uint32_t q = 0; q < SEDX_QUEUE_COUNT; ++q) after[q] = 0;
    if (ticket.value == 0) {
        for (uint32_t q = 0; q < SEDX_QUEUE_COUNT; ++q) after[q] = sedx_context_submitted_value(ctx, (sedx_queue)q);
        return SEDX_SUCCESS;
    }
    if (ticket.context_id != ctx->id)
        return SEDX__ERR(SEDX_ERROR_WRONG_CONTEXT, TAG, "sedx_frame_end: the ticket is context %u's, not context %u's",
                         ticket.context_id, ctx->id);
    if (ticket.queue >= SEDX_QUEUE_COUNT)
        return SEDX__ERR(SEDX_ERROR_INVALID_ARGUMENT, TAG, "sedx_frame_end: ticket queue %u is not a sedx_queue",
                         ticket.queue);
    if (ticket.value > sedx_context_submitted_value(ctx, (sedx_queue)ticket.queue))
        return SEDX__ERR(SEDX_ERROR_INVALID_ARGUMENT, TAG,
                         "sedx_frame_end: ticket value %" PRIu64 " on queue %u was never submitted", ticket.value,
                         ticket.queue);
    after[ticket.queue] = ticket.value;
    return SEDX_SUCCESS;
}

sedx_result sedx_frame_end(sedx_context *ctx, sedx_frame *frame, sedx_ticket ticket)
{
    sedx_result r = sedx__frame_check(ctx, frame, "sedx_frame_end");
    if (r != SEDX_SUCCESS) return r;
    struct sedx__frame *fl = sedx__frames(ctx);
    uint64_t after[SEDX_QUEUE_COUNT];
    if ((r = ticket_values(ctx, ticket, after)) != SEDX_SUCCESS) return r;
    pthread_mutex_lock(&fl->lock);
    if (fl->recording != frame) { /* ended by another thread in between */
        pthread_mutex_unlock(&fl->lock);
        return SEDX__ERR(SEDX_ERROR_INVALID_HANDLE, TAG, "sedx_frame_end: frame %" PRIu64 " has already ended",
                         atomic_load(&frame->number));
    }
    uint64_t bytes = 0;
    for (uint32_t k = 0; k < frame->block_count; ++k) {
        frame_block *b = frame->blocks[k];
        bytes += SEDX__MIN(atomic_load_explicit(&b->head, memory_order_relaxed), b->size);
        /* the buffer layer's view: a block released later is destroyed only after this use */
        for (uint32_t q = 0; q < SEDX_QUEUE_COUNT; ++q)
            if (after[q]) sedx__buffer_mark_use(b->buffer.resource, (sedx_queue)q, after[q]);
    }
    for (uint32_t q = 0; q < SEDX_QUEUE_COUNT; ++q) frame->after[q] = after[q];
    atomic_store(&frame->state, SLOT_IN_FLIGHT);
    fl->recording = NULL;
    fl->stats.frames_ended++;
    fl->stats.last_frame_bytes = bytes;
    fl->stats.last_frame_blocks = frame->block_count;
    fl->stats.last_frame_chunk_tail_bytes = sedx__frame_chunk_tails_locked(frame);
    fl->stats.peak_frame_bytes = SEDX__MAX(fl->stats.peak_frame_bytes, bytes);
    pthread_mutex_unlock(&fl->lock);
    /* readbacks recorded into the frame's command buffers (sedx_download_async_record) get the
     * submissions that carry them: no lock, no call below when there are none */
    sedx_download_async_submitted_all(ctx);
    return SEDX_SUCCESS;
}

uint64_t sedx_frame_number(const sedx_frame *frame)
{
    if (!frame || frame->magic != FRAME_MAGIC || atomic_load(&frame->state) != SLOT_RECORDING) return 0;
    return atomic_load(&frame->number);
}

uint32_t sedx_frame_slot(const sedx_frame *frame)
{
    if (!frame || frame->magic != FRAME_MAGIC || atomic_load(&frame->state) != SLOT_RECORDING) return UINT32_MAX;
    return frame->index;
}

sedx_result sedx_frame_get_stats(sedx_context *ctx, sedx_frame_stats *out)
{
    if (!ctx || !out)
        return SEDX__ERR(SEDX_ERROR_INVALID_ARGUMENT, TAG, "sedx_frame_get_stats: %s is NULL", !ctx ? "ctx" : "out");
    struct sedx__frame *fl = sedx__frames(ctx);
    if (!fl) return SEDX__ERR(SEDX_ERROR_INVALID_ARGUMENT, TAG, "sedx_frame_get_stats: no frame layer");
    pthread_mutex_lock(&fl->lock);
    *out = fl->stats;
    out->frames_in_flight = fl->info.frames_in_flight;
    out->block_size = fl->info.block_size;
    out->alignment = (uint32_t)fl->granule;
    out->blocks_live = fl->blocks_live;
    out->blocks_free = fl->pool_count;
    pthread_mutex_unlock(&fl->lock);
    return SEDX_SUCCESS;
}
