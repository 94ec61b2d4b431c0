/*
 * Uploads: direct writes into host-visible memory, or staged through the ring into the open
 * batch; batched uploads; submit and flush; buffers created with data.
 */
#include "transfer/transfer_private.h"

#include <stdatomic.h>

/* Small staged regions of a batch share one ring allocation (a group of at most
 * sedx__batch_target bytes) and are copied in parallel; the rest goes through upload_locked in
 * order. */
#define GROUP_REGION_MAX (256u << 10)

/* The checks after the handle's: res is dst's live resource. */
static inline sedx_buffer_resource *check_upload_res(sedx_context *ctx, const sedx_buffer *dst, sedx_buffer_resource *res,
                                                     uint64_t dst_offset, const void *data, uint64_t size, sedx_result *r)
{
    /* rare: the shared check logs the exact error */
    if ((res->ctx != ctx || dst_offset > res->size || size > res->size - dst_offset) &&
        !sedx__check_buffer(ctx, dst, dst_offset, size, "sedx_upload", r))
        return NULL;
    if (size && !data) {
        *r = SEDX__ERR(SEDX_ERROR_INVALID_ARGUMENT, TAG, "sedx_upload: data is NULL for %llu bytes",
                       (unsigned long long)size);
        return NULL;
    }
    if (sedx__host_overlap(res, dst_offset, size, data)) {
        /* the direct path would copy in pieces, in parallel: refused rather than half-moved */
        *r = SEDX__ERR(SEDX_ERROR_INVALID_ARGUMENT, TAG,
                       "sedx_upload: buffer '%s': the source bytes overlap the destination range in its own "
                       "mapping (use sedx_buffer_write, which moves, or sedx_gpu_copy)", res->name);
        return NULL;
    }
    return res;
}

/* Validation shared by the single and the batched upload: the checks of sedx__check_buffer (the
 * handle, the context, the range, with the same codes and log lines) and the upload's own. Inline:
 * it runs once per sedx_upload call. */
static inline sedx_buffer_resource *check_upload(sedx_context *ctx, const sedx_buffer *dst, uint64_t dst_offset,
                                                 const void *data, uint64_t size, sedx_result *r)
{
    sedx_buffer_resource *res = sedx__buffer_get(dst, "sedx_upload");
    if (!res) {
        *r = SEDX_ERROR_INVALID_HANDLE;
        return NULL;
    }
    return check_upload_res(ctx, dst, res, dst_offset, data, size, r);
}

/* Is the GPU done with res? The cached completed values answer without a driver call almost
 * always; otherwise sedx__gpu_idle_for asks the driver. */
static inline bool gpu_idle(sedx_context *ctx, sedx_buffer_resource *res)
{
    for (int q = 0; q < SEDX_QUEUE_COUNT; ++q) {
        uint64_t v = atomic_load(&res->last_use[q]);
        if (v && atomic_load(&sedx__ctx_queue(ctx, (sedx_queue)q)->completed) < v) return sedx__gpu_idle_for(ctx, res);
    }
    return true;
}

static inline bool direct_ok(sedx_context *ctx, struct sedx__transfer *t, sedx_buffer_resource *res)
{
    return res->host_ptr && !(t->info.flags & SEDX_TRANSFER_NO_DIRECT) && res->batch_id != t->batch_id + 1 &&
           gpu_idle(ctx, res);
}

/* A small copy (up to 64 KiB) into host memory the CPU caches. With fast strings (ERMS, x86-64)
 * `rep movsb`. On the 2-core AMD EPYC, under its usual load, one 4 KiB piece into a destination
 * not in the cache took 200-220 ns this way and 265-280 ns with glibc's memcpy, which copies 4 KiB
 * there with a vector loop. On a quiet machine the two were equal. glibc already takes
 * `rep movsb` above 2 KiB on the Intel hosts. Sanitizer builds keep memcpy, so that the
 * sanitizers see every byte. */
#if (defined(__x86_64__) || defined(_M_X64)) && (defined(__GNUC__) || defined(__clang__))
#  if defined(__SANITIZE_ADDRESS__) || defined(__SANITIZE_THREAD__)
#    define SEDX__NO_STRING_COPY 1
#  elif defined(__has_feature)
#    if __has_feature(address_sanitizer) || __has_feature(thread_sanitizer) || __has_feature(memory_sanitizer)
#      define SEDX__NO_STRING_COPY 1
#    endif
#  endif
#else
#  define SEDX__NO_STRING_COPY 1
#endif
#ifndef SEDX__NO_STRING_COPY
#include <cpuid.h>
static _Atomic int g_erms = -1; /* -1 unknown, 0 no, 1 fast strings */
static int erms_query(void)
{
    unsigned a, b = 0, c, d;
    int v = __get_cpuid_count(7, 0, &a, &b, &c, &d) && (b & (1u << 9));
    atomic_store_explicit(&g_erms, v, memory_order_relaxed);
    return v;
}
#endif
static inline void cached_copy(void *dst, const void *src, size_t n)
{
#ifndef SEDX__NO_STRING_COPY
    int erms = atomic_load_explicit(&g_erms, memory_order_relaxed);
    if (erms < 0) erms = erms_query();
    if (erms) {
        __asm__ volatile("rep movsb" : "+D"(dst), "+S"(src), "+c"(n) : : "memory");
        return;
    }
#endif
    memcpy(dst, src, n);
}

/* The direct path: a host-visible destination the GPU is not using, no copy into it pending. */
static inline sedx_result upload_direct(sedx_context *ctx, struct sedx__transfer *t, sedx_buffer_resource *res,
                                        uint64_t dst_offset, const uint8_t *src, uint64_t size)
{
    uint8_t *dst = (uint8_t *)res->host_ptr + dst_offset;
    if (size >= (2u << 20)) sedx__pool_memcpy(&t->pool, dst, src, (size_t)size); /* split over the pool */
    else if (res->host_cached && size <= (64u << 10)) cached_copy(dst, src, (size_t)size);
    else memcpy(dst, src, (size_t)size);
    t->stats.direct_uploads++;
    t->stats.direct_bytes += size;
    return res->coherent ? SEDX_SUCCESS : sedx_memory_flush(ctx, res->allocation, dst_offset, size);
}

/* With NO_WAIT: whether the whole upload fits the ring now (growing it if allowed), so that
 * nothing is written unless all of it can be. Lock held. */
static bool fits_without_waiting(sedx_context *ctx, struct sedx__transfer *t, uint64_t size)
{
    sedx__ring_reclaim(ctx, &t->up);
    uint64_t pad, aligned = sedx__align_up(size, RING_ALIGN);
    /* no room now: the ring may grow (after submitting what is pending: nothing of this upload
     * has been written yet) */
    while (size <= t->up.size / 4 && !sedx__ring_fits(&t->up, aligned, &pad) && t->up.size * 2 <= t->info.staging_max) {
        if (sedx__batch_open(t) && sedx__batch_submit(ctx, t, NULL) != SEDX_SUCCESS) break;
        if (!sedx__ring_grow(ctx, t)) break;
    }
    return size <= t->up.size / 4 && sedx__ring_fits(&t->up, aligned, &pad);
}

/* Copies n bytes into the ring at off: into write-combined memory (a discrete GPU's staging)
 * with non-temporal stores for small copies (glibc's memcpy switches to `rep movsb` above 2 KiB,
 * which is slow into WC memory), into host-cached memory (a CPU device's) as cached_copy does;
 * the thread pool for large ones. */
static inline void copy_to_ring(struct sedx__transfer *t, uint64_t off, const uint8_t *src, uint64_t n)
{
    if (n >= (2u << 20)) sedx__pool_memcpy(&t->pool, t->up.ptr + off, src, (size_t)n);
    else if (t->small_copy_libc) memcpy(t->up.ptr + off, src, (size_t)n);
    else if (t->up.buffer.resource->host_cached && n <= (64u << 10)) cached_copy(t->up.ptr + off, src, (size_t)n);
    else if (t->pool.prefetch) sedx__stream_copy_prefetch(t->up.ptr + off, src, (size_t)n);
    else sedx__stream_copy(t->up.ptr + off, src, (size_t)n);
}

/* The common case of sedx__batch_reserve without a call: room is there already. */
static inline sedx_result batch_reserve(struct sedx__transfer *t, uint64_t regions, uint64_t buffers)
{
    if (regions <= t->region_cap - t->region_count && buffers <= t->held_cap - t->held_count) return SEDX_SUCCESS;
    return sedx__batch_reserve(t, regions, buffers);
}

/* The common case of sedx__ring_alloc without a call: the bytes fit before the ring's end in
 * what is known free, no reservation is pinned. Otherwise (wrap, reclaim, submit, wait, pins)
 * sedx__ring_alloc, whose first pass is this same test. */
static inline sedx_result ring_alloc(sedx_context *ctx, struct sedx__transfer *t, uint64_t size, bool no_wait,
                                     uint64_t *out_offset)
{
    ring *r = &t->up;
    uint64_t n = sedx__align_up(size, RING_ALIGN);
    /* rings are powers of two unless configured otherwise: a mask, not a 64-bit division */
    uint64_t pos = (r->size & (r->size - 1)) ? r->head % r->size : r->head & (r->size - 1);
    if (!r->pin_count && pos && pos + n <= r->size && r->fifo_count < FIFO_CAP && (r->head - r->tail) + n <= r->size) {
        *out_offset = pos;
        r->head += n;
        return SEDX_SUCCESS;
    }
    return sedx__ring_alloc(ctx, t, r, size, true, no_wait, out_offset);
}

/* Regions one staged upload of size bytes in chunks of at most chunk adds to the batch: one per
 * chunk; sedx__chunk_next's ramp adds at most 4 at the start and 6 at the end. */
static inline uint64_t staged_pieces(const struct sedx__transfer *t, uint64_t size, uint64_t chunk)
{
    return size < chunk ? 1 : size / chunk + 1 + (t->ramp ? 12 : 0);
}

/* The staged path: chunks of at most sedx__chunk_target, the batch submitted as it fills. The
 * ring exists (ring_ensure). Lock held. */
static sedx_result upload_staged(sedx_context *ctx, struct sedx__transfer *t, sedx_buffer_resource *res,
                                 uint64_t dst_offset, const uint8_t *src, uint64_t size, bool no_wait)
{
    /* NO_WAIT: one chunk (fits_without_waiting has found room for all of it), so that no
     * ring allocation after a submit can refuse the rest of an upload already half recorded */
    uint64_t chunk = no_wait ? t->up.size / 4 : sedx__chunk_target(t), done = 0;
    sedx_result r = batch_reserve(t, staged_pieces(t, size, chunk), 1);
    if (r != SEDX_SUCCESS) return r;
    if (no_wait && !fits_without_waiting(ctx, t, size)) {
        t->stats.ring_full_errors++;
        return SEDX__ERR(SEDX_ERROR_OUT_OF_STAGING, TAG, "sedx_upload: buffer '%s': %llu bytes do not fit the staging "
                         "ring now and NO_WAIT was asked (nothing written)", res->name, (unsigned long long)size);
    }
    while (done < size) {
        uint64_t n = sedx__chunk_next(t, chunk, done, size), off; /* NO_WAIT: one chunk, never ramped */
        if ((r = ring_alloc(ctx, t, n, no_wait, &off)) != SEDX_SUCCESS) break;
        copy_to_ring(t, off, src + done, n);
        sedx__batch_add(t, res, off, dst_offset + done, n);
        t->stats.staged_bytes += n;
        done += n;
        if (t->batch_bytes >= sedx__batch_target(t) && (r = sedx__batch_submit(ctx, t, NULL)) != SEDX_SUCCESS) break;
    }
    return r;
}

/* One validated upload. Lock held. */
static sedx_result upload_locked(sedx_context *ctx, struct sedx__transfer *t, sedx_buffer_resource *res,
                                 uint64_t dst_offset, const uint8_t *src, uint64_t size, uint32_t flags)
{
    t->stats.uploads++;
    t->stats.upload_bytes += size;
    if (direct_ok(ctx, t, res)) return upload_direct(ctx, t, res, dst_offset, src, size);
    sedx_result r = t->up.ptr ? SEDX_SUCCESS : sedx__ring_ensure(ctx, t, &t->up);
    if (r != SEDX_SUCCESS) return r;
    return upload_staged(ctx, t, res, dst_offset, src, size, (flags & SEDX_UPLOAD_NO_WAIT) != 0);
}

sedx_result sedx_upload_ex(sedx_context *ctx, const sedx_buffer *dst, uint64_t dst_offset, uint64_t size,
                           const void *data, uint32_t flags)
{
    if (!ctx) return SEDX__ERR(SEDX_ERROR_INVALID_ARGUMENT, TAG, "sedx_upload: ctx is NULL");
    if (flags & ~(uint32_t)SEDX_UPLOAD_FLAGS_ALL)
        return SEDX__ERR(SEDX_ERROR_INVALID_ARGUMENT, TAG, "sedx_upload_ex: unknown flags 0x%x",
                         flags & ~(uint32_t)SEDX_UPLOAD_FLAGS_ALL);
    sedx_result r;
    sedx_buffer_resource *res = check_upload(ctx, dst, dst_offset, data, size, &r);
    if (!res) return r;
    if (size == 0) return SEDX_SUCCESS;
    struct sedx__transfer *t = sedx__get_transfer(ctx);
    SEDX_PROFILE_BEGIN(zone, "sedx_upload");
    pthread_mutex_lock(&t->lock);
    t->no_wait = (flags & SEDX_UPLOAD_NO_WAIT) != 0;
    sedx__pool_hot(&t->pool, true);
    r = upload_locked(ctx, t, res, dst_offset, data, size, flags);
    sedx__pool_hot(&t->pool, false);
    t->no_wait = false;
    pthread_mutex_unlock(&t->lock);
    if (zone.start_ns) SEDX_PROFILE_END(zone); /* (sedx_profile_end does nothing without a start) */
    return r;
}

/* A group's bookkeeping: its regions into the open batch (room was reserved by batch_prepare),
 * the counters, and, when the batch is then full, the recording of its submission (sent once
 * the copy is done). None of it needs a copied byte, so it runs while the pool copies the group. */
typedef struct group_side {
    sedx_context *ctx;
    struct sedx__transfer *t;
    const sedx_upload_region *regions;
    uint32_t first, end;
    uint64_t base, sum;
    bool submit;
    sedx_result r;
    sedx__batch_rec rec;
} group_side;

static void group_bookkeeping(void *arg)
{
    SEDX_PROFILE_SCOPE("sedx_upload_group_side");
    group_side *g = arg;
    struct sedx__transfer *t = g->t;
    uint64_t off = g->base;
    for (uint32_t i = g->first; i < g->end; ++i) {
        sedx__batch_add(t, g->regions[i].dst->resource, off, g->regions[i].offset, g->regions[i].size);
        off += sedx__align_up(g->regions[i].size, RING_ALIGN);
    }
    t->stats.uploads += g->end - g->first;
    t->stats.upload_bytes += g->sum;
    t->stats.staged_bytes += g->sum;
    g->submit = t->batch_bytes >= sedx__batch_target(t);
    if (g->submit) {
        SEDX_PROFILE_SCOPE("sedx_upload_submit"); /* the batch's one zone, as sedx__batch_submit's */
        g->r = sedx__batch_record(g->ctx, t, &g->rec);
    }
}

static sedx_result flush_group(sedx_context *ctx, struct sedx__transfer *t, const sedx_upload_region *regions,
                               uint32_t first, uint32_t end, uint64_t bytes, copy_job *jobs)
{
    if (first == end) return SEDX_SUCCESS;
    SEDX_PROFILE_SCOPE("sedx_upload_group");
    uint64_t base;
    sedx_result r = sedx__ring_alloc(ctx, t, &t->up, bytes, true, false, &base);
    if (r != SEDX_SUCCESS) return r;
    group_side g = {.ctx = ctx, .t = t, .regions = regions, .first = first, .end = end, .base = base};
    uint64_t off = base;
    for (uint32_t i = first; i < end; ++i) {
        jobs[i - first] = (copy_job){t->up.ptr + off, regions[i].data, (size_t)regions[i].size, true};
        off += sedx__align_up(regions[i].size, RING_ALIGN);
        g.sum += regions[i].size;
    }
    sedx__pool_run_with(&t->pool, jobs, end - first, (size_t)bytes, group_bookkeeping, &g);
    if (g.submit) {
        SEDX_PROFILE_SCOPE("sedx_upload_send");
        r = g.r == SEDX_SUCCESS ? sedx__batch_send(ctx, t, &g.rec, NULL) : g.r;
    }
    return r;
}

/* Everything that could fail for lack of a resource, done before the first byte moves: the
 * ring (if any region will be staged) and room for every region and reference. Lock held. */
static sedx_result batch_prepare(sedx_context *ctx, struct sedx__transfer *t, const sedx_upload_region *regions,
                                 uint32_t count)
{
    bool staged = false;
    for (uint32_t i = 0; i < count && !staged; ++i)
        staged = regions[i].size && !direct_ok(ctx, t, regions[i].dst->resource);
    if (!staged) return SEDX_SUCCESS;
    sedx_result r = sedx__ring_ensure(ctx, t, &t->up);
    if (r != SEDX_SUCCESS) return r;
    uint64_t chunk = sedx__chunk_target(t), pieces = 0;
    for (uint32_t i = 0; i < count; ++i) pieces += staged_pieces(t, regions[i].size, chunk); /* as upload_staged */
    return sedx__batch_reserve(t, pieces, count);
}

static sedx_result upload_batch_locked(sedx_context *ctx, struct sedx__transfer *t, const sedx_upload_region *regions,
                                       uint32_t count, copy_job *jobs)
{
    sedx_result r = batch_prepare(ctx, t, regions, count);
    if (r != SEDX_SUCCESS) return r;
    uint64_t group_limit = sedx__batch_target(t), group_bytes = 0;
    uint32_t first = 0;
    for (uint32_t i = 0; i < count; ++i) {
        const sedx_upload_region *g = &regions[i];
        sedx_buffer_resource *res = g->dst->resource;
        uint64_t n = sedx__align_up(g->size, RING_ALIGN);
        bool small = g->size && g->size <= GROUP_REGION_MAX && n <= group_limit && !direct_ok(ctx, t, res);
        if (small && group_bytes + n <= group_limit) {
            group_bytes += n;
            continue;
        }
        if ((r = flush_group(ctx, t, regions, first, i, group_bytes, jobs)) != SEDX_SUCCESS) return r;
        first = i;
        group_bytes = 0;
        if (small) {
            group_bytes = n;
            continue;
        }
        first = i + 1;
        if (g->size && (r = upload_locked(ctx, t, res, g->offset, g->data, g->size, 0)) != SEDX_SUCCESS) return r;
    }
    return flush_group(ctx, t, regions, first, count, group_bytes, jobs);
}

sedx_result sedx_upload_batch(sedx_context *ctx, const sedx_upload_region *regions, uint32_t count)
{
    if (!ctx || (count && !regions))
        return SEDX__ERR(SEDX_ERROR_INVALID_ARGUMENT, TAG, "sedx_upload_batch: NULL argument");
    sedx_result r;
    /* all or nothing: every region is checked before a byte moves. A region naming the same
     * handle as the one before it (the common batch: one buffer, many pieces) skips the handle
     * lookup; the handle was live a moment ago, within this call, and the range, data and
     * overlap checks still run for every region. */
    SEDX_PROFILE_BEGIN(check_zone, "sedx_upload_batch_check");
    const sedx_buffer *prev = NULL;
    sedx_buffer_resource *prev_res = NULL;
    for (uint32_t i = 0; i < count; ++i) {
        const sedx_buffer *d = regions[i].dst;
        sedx_buffer_resource *res =
            prev_res && d && (d == prev || (d->handle == prev->handle && d->resource == prev->resource))
                ? check_upload_res(ctx, d, prev_res, regions[i].offset, regions[i].data, regions[i].size, &r)
                : check_upload(ctx, d, regions[i].offset, regions[i].data, regions[i].size, &r);
        if (!res) return r; /* (an unfinished zone is dropped) */
        prev = d;
        prev_res = res;
    }
    if (check_zone.start_ns) SEDX_PROFILE_END(check_zone);
    struct sedx__transfer *t = sedx__get_transfer(ctx);
    SEDX_PROFILE_SCOPE("sedx_upload_batch");
    copy_job *jobs = sedx__malloc(sizeof *jobs * (count ? count : 1));
    if (!jobs) return SEDX__ERR(SEDX_ERROR_OUT_OF_HOST_MEMORY, TAG, "sedx_upload_batch: out of host memory");
    pthread_mutex_lock(&t->lock);
    sedx__pool_hot(&t->pool, true);
    r = upload_batch_locked(ctx, t, regions, count, jobs);
    sedx__pool_hot(&t->pool, false);
    pthread_mutex_unlock(&t->lock);
    sedx__free(jobs);
    return r;
}

sedx_result sedx_upload(sedx_context *ctx, const sedx_buffer *dst, uint64_t offset, uint64_t size, const void *data)
{
    return sedx_upload_ex(ctx, dst, offset, size, data, 0);
}

sedx_result sedx_upload_submit(sedx_context *ctx, sedx_ticket *out_ticket)
{
    if (!ctx) return SEDX__ERR(SEDX_ERROR_INVALID_ARGUMENT, TAG, "sedx_upload_submit: ctx is NULL");
    sedx_result r;
    struct sedx__transfer *t = sedx__get_transfer(ctx);
    pthread_mutex_lock(&t->lock);
    r = sedx__batch_submit(ctx, t, out_ticket);
    pthread_mutex_unlock(&t->lock);
    return r;
}

sedx_result sedx_upload_flush(sedx_context *ctx)
{
    SEDX_PROFILE_SCOPE("sedx_upload_flush");
    sedx_ticket tk;
    sedx_result r = sedx_upload_submit(ctx, &tk);
    if (r != SEDX_SUCCESS) return r;
    pthread_mutex_lock(&ctx->layers.transfer->lock);
    r = sedx__transfer_wait_all(ctx, ctx->layers.transfer);
    pthread_mutex_unlock(&ctx->layers.transfer->lock);
    return r;
}

sedx_result sedx_buffer_create_with_data(sedx_context *ctx, uint64_t size, sedx_buffer_usage_flags usage,
                                         sedx_memory_flags memory, const char *name, const void *data, sedx_buffer *out)
{
    if (!data) return SEDX__ERR(SEDX_ERROR_INVALID_ARGUMENT, TAG, "sedx_buffer_create_with_data: data is NULL");
    sedx_buffer_create_info ci = {0};
    ci.size = size;
    ci.usage = usage;
    ci.memory = memory;
    ci.name = name;
    ci.initial_data = data;
    return sedx_buffer_create_ex(ctx, &ci, out);
}

/* sedx_buffer_create_ex lives here, above the buffer layer: initial data for GPU memory is an
 * upload (the buffer layer itself only copies into mapped memory). */
sedx_result sedx_buffer_create_ex(sedx_context *ctx, const sedx_buffer_create_info *info, sedx_buffer *out)
{
    if (!ctx || !info || !out)
        return SEDX__ERR(SEDX_ERROR_INVALID_ARGUMENT, TAG, "sedx_buffer_create_ex: %s is NULL",
                         !ctx ? "ctx" : !info ? "info" : "out");
    sedx_buffer b;
    sedx_result r = sedx__buffer_create(ctx, info, 0, &b);
    if (r != SEDX_SUCCESS) return r;
    uint64_t n = info->initial_data ? (info->initial_data_size ? info->initial_data_size : info->size) : 0;
    if (n && !b.data) {
        r = sedx_upload(ctx, &b, 0, n, info->initial_data);
        if (r == SEDX_SUCCESS) r = sedx_upload_flush(ctx);
        if (r != SEDX_SUCCESS) {
            sedx_buffer_release(&b); /* pieces may be in flight: the release waits behind them */
            return r;
        }
    }
    *out = b;
    return SEDX_SUCCESS;
}
