/*
 * Transient memory: linear blocks bumped with one atomic add, a lock only to add a block;
 * the pool of free blocks shared by the slots, given back after idle_frames frames unused.
 */
#include "frame/frame_private.h"

#include <inttypes.h>

static sedx_result block_create(struct sedx__frame *fl, frame_block **out)
{
    frame_block *b = sedx__calloc(1, sizeof *b);
    if (!b) return SEDX__ERR(SEDX_ERROR_OUT_OF_HOST_MEMORY, TAG, "transient block: out of host memory");
    sedx_buffer_create_info ci = {0};
    ci.size = fl->info.block_size;
    ci.usage = SEDX_BUFFER_USAGE_UNIFORM | SEDX_BUFFER_USAGE_STORAGE | SEDX_BUFFER_USAGE_INDEX |
               SEDX_BUFFER_USAGE_VERTEX | SEDX_BUFFER_USAGE_INDIRECT | SEDX_BUFFER_USAGE_UNIFORM_TEXEL |
               SEDX_BUFFER_USAGE_STORAGE_TEXEL;
    ci.memory = SEDX_MEMORY_CPU;
    /* SEQUENTIAL_WRITE: device-local host-visible memory while the heap's budget allows, else
     * host memory; STAGING (SEDX_FRAME_HOST_MEMORY): host memory */
    ci.host_access = SEDX_HOST_ACCESS_SEQUENTIAL_WRITE;
    ci.name = "sedx transient block";
    ci.alignment = fl->granule;
    uint32_t flags = SEDX__BUFFER_INTERNAL | ((fl->info.flags & SEDX_FRAME_HOST_MEMORY) ? SEDX__BUFFER_STAGING : 0);
    sedx_result r = sedx__buffer_create(fl->ctx, &ci, flags, &b->buffer);
    if (r != SEDX_SUCCESS) {
        sedx__free(b);
        return SEDX__ERR(r, TAG, "transient block of %" PRIu64 " bytes: %s", fl->info.block_size, sedx_result_name(r));
    }
    sedx_buffer_resource *res = b->buffer.resource;
    b->ptr = b->buffer.data;
    b->vk = res->buffer;
    b->address = res->address;
    b->size = fl->info.block_size;
    b->coherent = res->coherent;
    b->device_local =
        (fl->ctx->mem_props.memoryTypes[res->memory_type].propertyFlags & VK_MEMORY_PROPERTY_DEVICE_LOCAL_BIT) != 0;
    atomic_init(&b->head, 0);
    fl->blocks_live++;
    fl->stats.blocks_created++;
    fl->stats.device_local = b->device_local;
    if (!b->coherent) fl->stats.coherent = false;
    SEDX_LOG_DEBUG_TAG(TAG, "transient block %" PRIu64 ": %" PRIu64 " bytes in memory type %u%s", fl->stats.blocks_created,
                       b->size, res->memory_type, b->device_local ? " (device-local)" : "");
    *out = b;
    return SEDX_SUCCESS;
}

void sedx__frame_block_free(struct sedx__frame *fl, frame_block *b)
{
    sedx_buffer_release(&b->buffer); /* destroyed after its last use (marked at each frame end) */
    sedx__free(b);
    fl->blocks_live--;
    fl->stats.blocks_released++;
}

bool sedx__frame_push_block_locked(sedx_frame *f, frame_block *b)
{
    if (f->block_count == f->block_cap) {
        uint32_t cap = f->block_cap ? f->block_cap * 2 : 8;
        frame_block **p = sedx__realloc(f->blocks, cap * sizeof *p);
        if (!p) return false;
        f->blocks = p;
        f->block_cap = cap;
    }
    f->blocks[f->block_count++] = b;
    b->last_used = atomic_load(&f->number);
    return true;
}

void sedx__frame_pool_push_locked(struct sedx__frame *fl, frame_block *b)
{
    if (fl->pool_count == fl->pool_cap) {
        uint32_t cap = fl->pool_cap ? fl->pool_cap * 2 : 8;
        frame_block **p = sedx__realloc(fl->pool, cap * sizeof *p);
        if (!p) { /* no host memory for the pool: give the block back now */
            sedx__frame_block_free(fl, b);
            return;
        }
        fl->pool = p;
        fl->pool_cap = cap;
    }
    atomic_store_explicit(&b->head, 0, memory_order_relaxed);
    fl->pool[fl->pool_count++] = b;
}

frame_block *sedx__frame_pool_pop_locked(struct sedx__frame *fl)
{
    return fl->pool_count ? fl->pool[--fl->pool_count] : NULL;
}

void sedx__frame_reclaim_locked(struct sedx__frame *fl, sedx_frame *f)
{
    atomic_store_explicit(&f->current, NULL, memory_order_release);
    /* the current (last) block goes back last: the pool pops it first, still warm */
    for (uint32_t k = 0; k < f->block_count; ++k) {
        f->blocks[k]->last_used = fl->frame_count; /* idle from now on: the GPU is past it */
        sedx__frame_pool_push_locked(fl, f->blocks[k]);
    }
    f->block_count = 0;
}

void sedx__frame_trim_locked(struct sedx__frame *fl)
{
    uint64_t now = fl->frame_count;
    uint32_t kept = 0;
    for (uint32_t k = 0; k < fl->pool_count; ++k) {
        frame_block *b = fl->pool[k];
        if (now - b->last_used > fl->info.idle_frames) {
            SEDX_LOG_DEBUG_TAG(TAG, "transient block unused since frame %" PRIu64 " given back (frame %" PRIu64 ")",
                               b->last_used, now);
            sedx__frame_block_free(fl, b);
        } else {
            fl->pool[kept++] = b;
        }
    }
    fl->pool_count = kept;
}

/* The block `seen` could not hold an allocation: make a new current block unless another
 * thread already did. */
sedx_result sedx__frame_grow(sedx_frame *f, frame_block *seen)
{
    struct sedx__frame *fl = f->owner;
    pthread_mutex_lock(&fl->lock);
    sedx_result r = SEDX_SUCCESS;
    if (atomic_load_explicit(&f->current, memory_order_acquire) != seen) goto done; /* someone grew it */
    if (atomic_load(&f->state) != SLOT_RECORDING) {
        r = SEDX__ERR(SEDX_ERROR_INVALID_HANDLE, TAG, "sedx_transient_alloc: frame %" PRIu64 " ended meanwhile",
                      atomic_load(&f->number));
        goto done;
    }
    frame_block *b = sedx__frame_pool_pop_locked(fl);
    if (!b && (r = block_create(fl, &b)) != SEDX_SUCCESS) goto done;
    if (!sedx__frame_push_block_locked(f, b)) {
        sedx__frame_pool_push_locked(fl, b);
        r = SEDX__ERR(SEDX_ERROR_OUT_OF_HOST_MEMORY, TAG, "sedx_transient_alloc: out of host memory");
        goto done;
    }
    atomic_store_explicit(&f->current, b, memory_order_release);
done:
    pthread_mutex_unlock(&fl->lock);
    return r;
}

/* The refusals, out of the hot path. */
static sedx_result __attribute__((noinline, cold)) alloc_refused(sedx_frame *f, uint64_t size,
                                                                 sedx_buffer_usage_flags usage, sedx_transient *out)
{
    if (!f || !out)
        return SEDX__ERR(SEDX_ERROR_INVALID_ARGUMENT, TAG, "sedx_transient_alloc: %s is NULL", !f ? "frame" : "out");
    if (f->magic != FRAME_MAGIC)
        return SEDX__ERR(SEDX_ERROR_INVALID_HANDLE, TAG, "sedx_transient_alloc: %p is not a sedx frame", (void *)f);
    if (atomic_load(&f->state) != SLOT_RECORDING)
        return SEDX__ERR(SEDX_ERROR_INVALID_HANDLE, TAG, "sedx_transient_alloc: frame %" PRIu64 " (slot %u) %s",
                         atomic_load(&f->number), f->index,
                         atomic_load(&f->number) ? "has already ended" : "was never begun");
    if (size == 0) return SEDX__ERR(SEDX_ERROR_INVALID_SIZE, TAG, "sedx_transient_alloc: size 0");
    if (size > f->max_size)
        return SEDX__ERR(SEDX_ERROR_INVALID_SIZE, TAG,
                         "sedx_transient_alloc: size %" PRIu64 " exceeds the block size %" PRIu64
                         " (sedx_frame_info.block_size)",
                         size, f->max_size);
    return SEDX__ERR(SEDX_ERROR_INVALID_USAGE, TAG, "sedx_transient_alloc: usage 0x%x has %s", usage,
                     usage ? "bits a transient allocation cannot have (SEDX_TRANSIENT_USAGE_ALL)" : "no bits");
}

sedx_result sedx_transient_alloc(sedx_frame *f, uint64_t size, sedx_buffer_usage_flags usage, sedx_transient *out)
{
    if (__builtin_expect(!f || !out || f->magic != FRAME_MAGIC ||
                             atomic_load_explicit(&f->state, memory_order_relaxed) != SLOT_RECORDING ||
                             size - 1 >= f->max_size || !usage || (usage & ~SEDX_TRANSIENT_USAGE_ALL),
                         0))
        return alloc_refused(f, size, usage, out);
    uint64_t g = f->granule;
    uint64_t asize = (size + g - 1) & ~(g - 1);
    for (;;) {
        frame_block *b = atomic_load_explicit(&f->current, memory_order_acquire);
        if (__builtin_expect(b != NULL, 1)) {
            uint64_t off = atomic_fetch_add_explicit(&b->head, asize, memory_order_relaxed);
            if (__builtin_expect(off + asize <= b->size, 1)) {
                out->buffer = b->vk;
                out->offset = off;
                out->size = size;
                out->data = b->ptr + off;
                out->address = b->address ? b->address + off : 0;
                out->frame = atomic_load_explicit(&f->number, memory_order_relaxed);
                out->context_id = f->context_id;
                out->reserved = 0;
                return SEDX_SUCCESS;
            }
        }
        sedx_result r = sedx__frame_grow(f, b);
        if (r != SEDX_SUCCESS) return r;
    }
}

sedx_result sedx_transient_check(sedx_context *ctx, const sedx_transient *t)
{
    if (!ctx || !t)
        return SEDX__ERR(SEDX_ERROR_INVALID_ARGUMENT, TAG, "sedx_transient_check: %s is NULL", !ctx ? "ctx" : "t");
    struct sedx__frame *fl = sedx__frames(ctx);
    if (!fl) return SEDX__ERR(SEDX_ERROR_INVALID_ARGUMENT, TAG, "sedx_transient_check: no frame layer");
    if (t->context_id != ctx->id)
        return SEDX__ERR(SEDX_ERROR_WRONG_CONTEXT, TAG, "sedx_transient_check: transient of context %u, not %u",
                         t->context_id, ctx->id);
    pthread_mutex_lock(&fl->lock);
    uint64_t count = fl->frame_count;
    uint32_t n = fl->info.frames_in_flight;
    pthread_mutex_unlock(&fl->lock);
    if (t->frame == 0 || t->frame > count || !t->buffer)
        return SEDX__ERR(SEDX_ERROR_INVALID_HANDLE, TAG, "sedx_transient_check: not a transient allocation (frame %" PRIu64 ")",
                         t->frame);
    const sedx_frame *slot = &fl->slots[(t->frame - 1) % n];
    uint64_t now = atomic_load(&slot->number);
    if (now != t->frame)
        return SEDX__ERR(SEDX_ERROR_INVALID_HANDLE, TAG,
                         "sedx_transient_check: transient of frame %" PRIu64 " used after its slot %u was reused by "
                         "frame %" PRIu64,
                         t->frame, slot->index, now);
    return SEDX_SUCCESS;
}

sedx_result sedx_frame_flush(sedx_context *ctx, sedx_frame *frame)
{
    sedx_result r = sedx__frame_check(ctx, frame, "sedx_frame_flush");
    if (r != SEDX_SUCCESS) return r;
    struct sedx__frame *fl = sedx__frames(ctx);
    pthread_mutex_lock(&fl->lock);
    for (uint32_t k = 0; k < frame->block_count && r == SEDX_SUCCESS; ++k) {
        frame_block *b = frame->blocks[k];
        if (b->coherent) continue;
        uint64_t used = SEDX__MIN(atomic_load_explicit(&b->head, memory_order_relaxed), b->size);
        if (used) r = sedx_memory_flush(ctx, b->buffer.resource->allocation, 0, used);
    }
    pthread_mutex_unlock(&fl->lock);
    return r == SEDX_SUCCESS ? r : SEDX__ERR(r, TAG, "sedx_frame_flush: %s", sedx_result_name(r));
}
