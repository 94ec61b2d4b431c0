/*
 * A pool of threads for large memcpys (the caller works too).
 */
#include "transfer/transfer_private.h"

#include <sched.h>

/* One job: memcpy, or non-temporal stores (prefetching the source unless SEDX_SMALL_COPY says no). */
static inline void run_job(const memcpy_pool *p, const copy_job *j)
{
    if (!j->stream) memcpy(j->dst, j->src, j->size);
    else if (p->prefetch) sedx__stream_copy_prefetch(j->dst, j->src, j->size);
    else sedx__stream_copy(j->dst, j->src, j->size);
}

/* One turn of a bounded poll. */
static inline void cpu_relax(void)
{
#if defined(__x86_64__) || defined(__i386__)
    __builtin_ia32_pause();
#endif
}

/* Takes jobs `step` at a time (a list of many small copies: one pair of atomic updates per claim,
 * not per 4 KiB job; 16 threads on one counter made each update a cache-line transfer). */
static void pool_work(memcpy_pool *p)
{
    /* While any thread is in here, run_jobs does not return, so no thread can hold an index
     * of one list while the next list is being set up. */
    atomic_fetch_add(&p->active, 1);
    for (;;) {
        uint32_t step = atomic_load_explicit(&p->step, memory_order_relaxed);
        uint64_t c = atomic_fetch_add(&p->claim, step);
        uint32_t i = (uint32_t)c, n = (uint32_t)(c >> 32);
        if (i >= n) break;
        uint32_t end = SEDX__MIN(n, i + step);
        const copy_job *jobs = atomic_load(&p->jobs);
        for (uint32_t k = i; k < end; ++k) run_job(p, &jobs[k]);
        if (atomic_fetch_add(&p->finished, end - i) + (end - i) == n) {
            pthread_mutex_lock(&p->lock);
            pthread_cond_signal(&p->done);
            pthread_mutex_unlock(&p->lock);
        }
    }
    atomic_fetch_sub(&p->active, 1);
}

static void *pool_thread(void *arg)
{
    memcpy_pool *p = arg;
    uint64_t seen = 0;
    for (;;) {
        if (p->spin_ns && atomic_load(&p->generation) == seen && atomic_load_explicit(&p->hot, memory_order_relaxed)) {
            uint64_t until = sedx_time_ns() + p->spin_ns; /* within a call: poll a while first */
            while (atomic_load(&p->generation) == seen && !atomic_load(&p->quit) &&
                   atomic_load_explicit(&p->hot, memory_order_relaxed) && sedx_time_ns() < until)
                cpu_relax();
        }
        if (atomic_load(&p->generation) == seen) {
            pthread_mutex_lock(&p->lock);
            while (!atomic_load(&p->quit) && atomic_load(&p->generation) == seen) pthread_cond_wait(&p->wake, &p->lock);
            pthread_mutex_unlock(&p->lock);
        }
        if (atomic_load(&p->quit)) break;
        seen = atomic_load(&p->generation);
        pool_work(p);
    }
    return NULL;
}

void sedx__pool_start(memcpy_pool *p, uint32_t threads)
{
    pthread_mutex_init(&p->lock, NULL);
    pthread_cond_init(&p->wake, NULL);
    pthread_cond_init(&p->done, NULL);
    /* a pool may be started again after sedx__pool_stop (sedx_transfer_configure): its workers
     * must not see the old quit flag or an old list */
    atomic_store(&p->quit, false);
    atomic_store(&p->generation, 0);
    atomic_store(&p->jobs, NULL);
    atomic_store(&p->claim, 0);
    atomic_store(&p->finished, 0);
    atomic_store(&p->step, 1);
    atomic_store(&p->hot, false);
    atomic_store(&p->active, 0);
    p->count = 0;
    for (uint32_t i = 0; i < threads && i < SEDX__COUNTOF(p->threads); ++i) {
        if (pthread_create(&p->threads[i], NULL, pool_thread, p) != 0) break;
        p->count++;
    }
}

void sedx__pool_stop(memcpy_pool *p)
{
    pthread_mutex_lock(&p->lock);
    atomic_store(&p->quit, true);
    pthread_cond_broadcast(&p->wake);
    pthread_mutex_unlock(&p->lock);
    for (uint32_t i = 0; i < p->count; ++i) pthread_join(p->threads[i], NULL);
    pthread_mutex_destroy(&p->lock);
    pthread_cond_destroy(&p->wake);
    pthread_cond_destroy(&p->done);
}

/* Runs every job, over the pool's threads when there is enough work. One list at a time
 * (callers hold the transfer lock). */
void sedx__pool_run(memcpy_pool *p, const copy_job *jobs, uint32_t count, size_t total_bytes)
{
    sedx__pool_run_with(p, jobs, count, total_bytes, NULL, NULL);
}

/* Jobs per claim: about 64 KiB of copying, and at least four claims per thread. */
static uint32_t claim_step(const memcpy_pool *p, uint32_t count, size_t total_bytes)
{
    size_t avg = total_bytes / count + 1;
    uint32_t by_bytes = (uint32_t)SEDX__MIN((size_t)(64u << 10) / avg, (size_t)UINT32_MAX);
    uint32_t by_share = count / (4 * (p->count + 1));
    return SEDX__MAX(1u, SEDX__MIN(by_bytes, by_share));
}

void sedx__pool_run_with(memcpy_pool *p, const copy_job *jobs, uint32_t count, size_t total_bytes, void (*side)(void *),
                         void *side_arg)
{
    if (p->count == 0 || count < 2 || total_bytes < (1u << 20) || count > UINT32_MAX / 2) { /* (claims stay below 2^32) */
        if (side) side(side_arg);
        for (uint32_t i = 0; i < count; ++i) run_job(p, &jobs[i]);
        return;
    }
    /* A worker still waking up from the previous list may claim at any moment: until the new
     * list's count and first index are stored together, its claims find the old list spent. */
    atomic_store(&p->jobs, jobs);
    atomic_store(&p->finished, 0);
    atomic_store(&p->step, claim_step(p, count, total_bytes));
    atomic_store(&p->claim, (uint64_t)count << 32);
    pthread_mutex_lock(&p->lock);
    atomic_fetch_add(&p->generation, 1);
    pthread_cond_broadcast(&p->wake);
    pthread_mutex_unlock(&p->lock);
    if (side) side(side_arg); /* while the workers copy; then the caller copies too */
    pool_work(p);
    if (p->spin_ns && atomic_load(&p->finished) != count) { /* the others are on their last claims: poll a while first */
        uint64_t until = sedx_time_ns() + p->spin_ns;
        while (atomic_load(&p->finished) != count && sedx_time_ns() < until) cpu_relax();
    }
    pthread_mutex_lock(&p->lock);
    while (atomic_load(&p->finished) != count) pthread_cond_wait(&p->done, &p->lock);
    pthread_mutex_unlock(&p->lock);
    while (atomic_load(&p->active) != 0) sched_yield(); /* stragglers leave at once: nothing left */
}

/* memcpy (stream: sedx__stream_copy), split into 4 page-aligned pieces per thread for large
 * sizes. */
void sedx__pool_copy(memcpy_pool *p, void *dst, const void *src, size_t size, bool stream)
{
    if (p->count == 0 || size < (2u << 20)) {
        run_job(p, &(copy_job){dst, src, size, stream});
        return;
    }
    copy_job jobs[64];
    uint32_t n = SEDX__MIN(p->pieces ? p->pieces : (p->count + 1) * 4, (uint32_t)SEDX__COUNTOF(jobs));
    /* ceil(size / n) rounded up to a page: n pieces always cover size (a truncated division
     * made a 65th piece past the array for 64 * 32 KiB + 3 bytes) */
    size_t piece = (size_t)sedx__align_up((size + n - 1) / n, 4096);
    uint32_t k = 0;
    for (size_t off = 0; off < size && k < n; off += piece, ++k)
        jobs[k] = (copy_job){(uint8_t *)dst + off, (const uint8_t *)src + off, SEDX__MIN(piece, size - off), stream};
    sedx__pool_run(p, jobs, k, size);
}

void sedx__pool_memcpy(memcpy_pool *p, void *dst, const void *src, size_t size) { sedx__pool_copy(p, dst, src, size, false); }
