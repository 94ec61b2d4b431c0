/*
 * Transient memory: linear blocks; each thread reserves chunks of the current block with one
 * atomic add and bumps them privately (no atomic per allocation); large requests bump the
 * block itself with one atomic add; a lock only to add a block. The pool of free blocks is
 * shared by the slots and given back after idle_frames frames unused.
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

/* Process-wide frame generations: every sedx_frame_begin of every context gets a new one, so a
 * thread's cached chunk (keyed by it) can never match a later frame of its slot, nor a frame of
 * another context, even one allocated at the same address after a context was destroyed. */
static _Atomic uint64_t g_frame_gen;

void sedx__frame_reclaim_locked(struct sedx__frame *fl, sedx_frame *f)
{
    atomic_store_explicit(&f->current, NULL, memory_order_release);
    /* the current (last) block goes back last: the pool pops it first, still warm */
    for (uint32_t k = 0; k < f->block_count; ++k) {
        f->blocks[k]->last_used = fl->frame_count; /* idle from now on: the GPU is past it */
        sedx__frame_pool_push_locked(fl, f->blocks[k]);
    }
    f->block_count = 0;
    /* a new generation: every thread's cached chunk of the slot's previous frame is dead */
    atomic_store_explicit(&f->gen, atomic_fetch_add_explicit(&g_frame_gen, 1, memory_order_relaxed) + 1,
                          memory_order_relaxed);
    atomic_store_explicit(&f->chunk_count, 0, memory_order_relaxed);
    f->chunks = (frame_chunk *)(((uintptr_t)f->chunk_mem + 63u) & ~(uintptr_t)63u);
    uint64_t g = f->granule ? f->granule : fl->granule;
    uint64_t cmax = SEDX__MIN(FRAME_CHUNK_MAX, f->max_size / 8u) & ~(g - 1);
    if (cmax < g) cmax = g;
    f->chunk_max = cmax;
    f->chunk_small = cmax / 4u >= g ? cmax / 4u : 0; /* larger requests bump the block directly */
    f->tls_way = (f->context_id * SEDX_MAX_FRAMES_IN_FLIGHT + f->index) & (FRAME_TLS_WAYS - 1u);
}

_Static_assert(sizeof(frame_chunk) == 64, "a chunk record is one cache line");

uint64_t sedx__frame_chunk_tails_locked(const sedx_frame *f)
{
    if (!f->chunks) return 0;
    uint32_t n = SEDX__MIN(atomic_load_explicit(&f->chunk_count, memory_order_relaxed), FRAME_CHUNK_THREADS);
    uint64_t tails = 0;
    for (uint32_t k = 0; k < n; ++k) tails += f->chunks[k].waste + (f->chunks[k].end - f->chunks[k].head);
    return tails;
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

static inline void fill(sedx_transient *out, const sedx_frame *f, VkBuffer vk, uint8_t *ptr, VkDeviceAddress address,
                        uint64_t off, uint64_t size)
{
    out->buffer = vk;
    out->offset = off;
    out->size = size;
    out->data = ptr + off;
    out->address = address ? address + off : 0;
    out->frame = atomic_load_explicit(&f->number, memory_order_relaxed);
    out->context_id = f->context_id;
    out->reserved = 0;
}

/* The shared path: one atomic add of asize on the current block (requests larger than a
 * quarter chunk, threads past FRAME_CHUNK_THREADS). */
static sedx_result alloc_shared(sedx_frame *f, uint64_t size, uint64_t asize, sedx_transient *out)
{
    for (;;) {
        frame_block *b = atomic_load_explicit(&f->current, memory_order_acquire);
        if (__builtin_expect(b != NULL, 1)) {
            uint64_t off = atomic_fetch_add_explicit(&b->head, asize, memory_order_relaxed);
            if (__builtin_expect(off + asize <= b->size, 1)) {
                fill(out, f, b->vk, b->ptr, b->address, off, size);
                return SEDX_SUCCESS;
            }
        }
        sedx_result r = sedx__frame_grow(f, b);
        if (r != SEDX_SUCCESS) return r;
    }
}

/* A thread's cache of chunk records: one entry per (context, slot) modulo FRAME_TLS_WAYS, valid
 * while gen is its frame's generation. Plain data: nothing to free when the thread exits, and a
 * stale entry (a frame over, a context destroyed) is never followed since gens never repeat.
 * initial-exec: 256 bytes of static TLS, reached without __tls_get_addr from libsedx.so too. */
typedef struct tls_way {
    uint64_t gen;
    frame_chunk *chunk;
} tls_way;
static _Thread_local tls_way t_ways[FRAME_TLS_WAYS] __attribute__((tls_model("initial-exec")));

/* Threads past FRAME_CHUNK_THREADS in a frame point at this: never fits, so they take the
 * shared path. Never written. */
static frame_chunk k_no_chunk;

/* The chunk c cannot hold asize: reserve a new one (or extend c in place when nothing was
 * reserved after it), then bump it. */
static sedx_result chunk_refill(sedx_frame *f, frame_chunk *c, uint64_t size, uint64_t asize, sedx_transient *out)
{
    uint64_t g = f->granule;
    uint64_t want = SEDX__MIN(SEDX__MAX(c->next, 4u * asize), f->chunk_max);
    want = (want + g - 1) & ~(g - 1); /* chunks start and end on the granule */
    for (;;) {
        frame_block *b = atomic_load_explicit(&f->current, memory_order_acquire);
        if (b && c->block == b && c->end < b->size) {
            /* nobody reserved past our chunk: extend it, no tail left behind */
            uint64_t expect = c->end, end = SEDX__MIN(c->end + want, b->size);
            if (c->head + asize <= end &&
                atomic_compare_exchange_strong_explicit(&b->head, &expect, end, memory_order_relaxed,
                                                        memory_order_relaxed)) {
                c->end = end;
                c->next = SEDX__MIN(want * 2u, f->chunk_max);
                break;
            }
        }
        if (c->block && c->end > c->head) {
            /* give the tail back when it is still the end of its block's reservations */
            uint64_t expect = c->end;
            if (!atomic_compare_exchange_strong_explicit(&c->block->head, &expect, c->head, memory_order_relaxed,
                                                         memory_order_relaxed))
                c->waste += c->end - c->head;
            c->end = c->head;
        }
        if (__builtin_expect(b != NULL, 1)) {
            uint64_t off = atomic_fetch_add_explicit(&b->head, want, memory_order_relaxed);
            if (off + asize <= b->size) {
                c->block = b;
                c->ptr = b->ptr;
                c->vk = b->vk;
                c->address = b->address;
                c->head = off;
                c->end = SEDX__MIN(off + want, b->size); /* the block's last chunk may be short */
                c->next = SEDX__MIN(want * 2u, f->chunk_max);
                break;
            }
            if (off < b->size) c->waste += b->size - off; /* the block's end, too short for the request */
        }
        sedx_result r = sedx__frame_grow(f, b);
        if (r != SEDX_SUCCESS) return r;
    }
    uint64_t off = c->head;
    c->head = off + asize;
    fill(out, f, c->vk, c->ptr, c->address, off, size);
    return SEDX_SUCCESS;
}

/* Everything but a small request fitting the calling thread's chunk of this frame. */
static sedx_result __attribute__((noinline)) alloc_slow(sedx_frame *f, uint64_t size, sedx_buffer_usage_flags usage,
                                                       sedx_transient *out)
{
    if (!f || !out || f->magic != FRAME_MAGIC || atomic_load_explicit(&f->state, memory_order_relaxed) != SLOT_RECORDING ||
        size - 1 >= f->max_size || !usage || (usage & ~SEDX_TRANSIENT_USAGE_ALL))
        return alloc_refused(f, size, usage, out);
    uint64_t g = f->granule;
    uint64_t asize = (size + g - 1) & ~(g - 1);
    if (asize > f->chunk_small) return alloc_shared(f, size, asize, out);
    tls_way *w = &t_ways[f->tls_way & (FRAME_TLS_WAYS - 1u)];
    uint64_t gen = atomic_load_explicit(&f->gen, memory_order_relaxed);
    if (w->gen != gen) { /* the thread's first small request in this frame (or a way shared with another slot) */
        uint32_t k = atomic_fetch_add_explicit(&f->chunk_count, 1, memory_order_relaxed);
        frame_chunk *c = &k_no_chunk;
        if (k < FRAME_CHUNK_THREADS) {
            c = &f->chunks[k];
            *c = (frame_chunk){.next = SEDX__MIN(FRAME_CHUNK_MIN, f->chunk_max)};
        }
        w->gen = gen;
        w->chunk = c;
    }
    frame_chunk *c = w->chunk;
    if (c == &k_no_chunk) return alloc_shared(f, size, asize, out);
    if (c->head + asize <= c->end) { /* (the fast path's case, reached through a way just claimed) */
        uint64_t off = c->head;
        c->head = off + asize;
        fill(out, f, c->vk, c->ptr, c->address, off, size);
        return SEDX_SUCCESS;
    }
    return chunk_refill(f, c, size, asize, out);
}

sedx_result sedx_transient_alloc(sedx_frame *f, uint64_t size, sedx_buffer_usage_flags usage, sedx_transient *out)
{
    /* the fast path: a small request that fits the calling thread's chunk of this very frame.
     * Every check is here (the refusals are decided by alloc_slow); a state other than
     * RECORDING also guards the chunk pointer (a never-begun slot has gen 0, as an unused way). */
    if (__builtin_expect(f != NULL && out != NULL, 1)) {
        const tls_way *w = &t_ways[f->tls_way & (FRAME_TLS_WAYS - 1u)];
        if (__builtin_expect(f->magic == FRAME_MAGIC &&
                                 atomic_load_explicit(&f->state, memory_order_relaxed) == SLOT_RECORDING &&
                                 w->gen == atomic_load_explicit(&f->gen, memory_order_relaxed) &&
                                 size - 1 < f->chunk_small && usage != 0 && !(usage & ~SEDX_TRANSIENT_USAGE_ALL),
                             1)) {
            frame_chunk *c = w->chunk;
            uint64_t g = f->granule;
            uint64_t asize = (size + g - 1) & ~(g - 1);
            uint64_t off = c->head;
            if (__builtin_expect(off + asize <= c->end, 1)) {
                c->head = off + asize;
                fill(out, f, c->vk, c->ptr, c->address, off, size);
                return SEDX_SUCCESS;
            }
        }
    }
    return alloc_slow(f, size, usage, out);
}

sedx_result sedx_transient_check(sedx_context *ctx, const sedx_transient *t)
{
    if (!ctx || !t)
        return SEDX__ERR(SEDX_ERROR_INVALID_ARGUMENT, TAG, "sedx_transient_check: %s is NULL", !ctx ? "ctx" : "t");
    struct sedx__frame *fl = sedx__frames(ctx);
    if (!fl) return SEDX__ERR(SEDX_ERROR_INVALID_ARGUMENT, TAG, "sedx_transient_check: no frame layer");
    /* a zeroed (never allocated) transient first: its context id 0 is no context's */
    if (t->frame == 0 || !t->buffer)
        return SEDX__ERR(SEDX_ERROR_INVALID_HANDLE, TAG, "sedx_transient_check: not a transient allocation (frame %" PRIu64 ")",
                         t->frame);
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
