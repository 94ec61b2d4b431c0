/*
 * Transient allocation from 8 threads in the same frame (run under ThreadSanitizer by make
 * test): small blocks so that threads race to add blocks; every thread fills its allocations
 * with its own pattern; after the threads join, the main thread checks that no two
 * allocations overlap, that every byte is still the pattern its owner wrote, the alignment,
 * and the frame's byte count. Over several frames in flight, with blocks reused from the pool.
 * Then the per-thread chunks: worker threads that live across frames (so their cached chunks
 * outlive the frames) allocate small and large requests in frame after frame with 2 and 3
 * frames in flight; every allocation carries its frame's number, none overlaps another of its
 * frame, and the bytes of the frames still in flight are never touched by a later frame (a
 * chunk of frame N used in frame N + frames_in_flight would overlap that frame's allocations
 * from the same block); the frame's bytes cover the allocations and the chunk tails. And 80
 * threads in one frame, more than a slot's 64 chunk records (the rest use the shared bump).
 */
#include "test_util.h"

#include <pthread.h>
#include <stdatomic.h>
#include <stdlib.h>
#include <string.h>

#define THREADS 8u
#define PER_THREAD 400u
#define FRAMES 12u

typedef struct rec {
    VkBuffer buffer;
    uint64_t offset, size;
    uint8_t *data;
    uint32_t owner;
} rec;

typedef struct worker {
    sedx_frame *frame;
    uint32_t index;
    uint64_t seed;
    rec recs[PER_THREAD];
    sedx_result failed;
    pthread_barrier_t *start;
} worker;

static void *work(void *p)
{
    worker *w = p;
    pthread_barrier_wait(w->start);
    for (uint32_t i = 0; i < PER_THREAD; ++i) {
        uint64_t size = 1u + tu_rand(&w->seed) % 512u;
        sedx_buffer_usage_flags u = (i & 1) ? SEDX_BUFFER_USAGE_UNIFORM : SEDX_BUFFER_USAGE_STORAGE;
        sedx_transient t;
        sedx_result r = sedx_transient_alloc(w->frame, size, u, &t);
        if (r != SEDX_SUCCESS) {
            w->failed = r;
            return NULL;
        }
        memset(t.data, (int)(w->index * 31u + 7u), (size_t)size);
        w->recs[i] = (rec){t.buffer, t.offset, size, t.data, w->index};
    }
    return NULL;
}

static int cmp_rec(const void *a, const void *b)
{
    const rec *x = a, *y = b;
    if (x->buffer != y->buffer) return (uintptr_t)x->buffer < (uintptr_t)y->buffer ? -1 : 1;
    return (x->offset > y->offset) - (x->offset < y->offset);
}

static void test_threads_one_frame(void **state)
{
    (void)state;
    sedx_context *ctx = tu_context(false);
    sedx_frame_info fi = {.block_size = 16u << 10, .frames_in_flight = 3, .idle_frames = 2};
    assert_int_equal(sedx_frames_configure(ctx, &fi), SEDX_SUCCESS);
    static worker w[THREADS];
    static rec all[THREADS * PER_THREAD];
    pthread_barrier_t start;
    uint64_t seed = tu_seed();
    for (uint32_t f = 0; f < FRAMES; ++f) {
        sedx_frame *frame;
        assert_int_equal(sedx_frame_begin(ctx, &frame), SEDX_SUCCESS);
        pthread_barrier_init(&start, NULL, THREADS);
        pthread_t th[THREADS];
        for (uint32_t i = 0; i < THREADS; ++i) {
            w[i] = (worker){frame, i, tu_rand(&seed) | 1u, {{0}}, SEDX_SUCCESS, &start};
            assert_int_equal(pthread_create(&th[i], NULL, work, &w[i]), 0);
        }
        for (uint32_t i = 0; i < THREADS; ++i) assert_int_equal(pthread_join(th[i], NULL), 0);
        pthread_barrier_destroy(&start);
        uint32_t n = 0;
        uint64_t bytes = 0;
        for (uint32_t i = 0; i < THREADS; ++i) {
            assert_int_equal(w[i].failed, SEDX_SUCCESS);
            for (uint32_t k = 0; k < PER_THREAD; ++k) {
                all[n++] = w[i].recs[k];
                bytes += w[i].recs[k].size;
            }
        }
        qsort(all, n, sizeof all[0], cmp_rec);
        uint32_t blocks = 1;
        for (uint32_t i = 0; i < n; ++i) {
            const rec *r = &all[i];
            assert_true(r->offset + r->size <= fi.block_size);
            assert_int_equal(r->offset % 16u, 0);
            if (i && all[i - 1].buffer == r->buffer && all[i - 1].offset + all[i - 1].size > r->offset)
                fail_msg("frame %u: allocations overlap in one block at offset %llu", f, (unsigned long long)r->offset);
            if (i && all[i - 1].buffer != r->buffer) blocks++;
            uint8_t want = (uint8_t)(r->owner * 31u + 7u);
            for (uint64_t b = 0; b < r->size; ++b)
                if (r->data[b] != want) fail_msg("frame %u: byte %llu of thread %u's allocation overwritten", f,
                                                 (unsigned long long)b, r->owner);
        }
        assert_int_equal(sedx_frame_end(ctx, frame, (sedx_ticket){0}), SEDX_SUCCESS);
        sedx_frame_stats st;
        assert_int_equal(sedx_frame_get_stats(ctx, &st), SEDX_SUCCESS);
        assert_true(st.last_frame_bytes >= bytes);
        assert_true(st.last_frame_blocks >= blocks);
        if (f == 0 || f == FRAMES - 1)
            printf("  frame %u: %u allocations from %u threads, %llu bytes in %u blocks (%u live, %llu created)\n", f + 1,
                   n, THREADS, (unsigned long long)bytes, st.last_frame_blocks, st.blocks_live,
                   (unsigned long long)st.blocks_created);
    }
    tu_context_destroy(ctx);
}

/* Threads allocate while another thread reads the statistics and checks transients. */
typedef struct checker {
    sedx_context *ctx;
    sedx_transient t;
    _Atomic int stop;
} checker;

static void *check_loop(void *p)
{
    checker *c = p;
    while (!atomic_load(&c->stop)) {
        sedx_frame_stats st;
        assert_int_equal(sedx_frame_get_stats(c->ctx, &st), SEDX_SUCCESS);
        assert_int_equal(sedx_transient_check(c->ctx, &c->t), SEDX_SUCCESS);
    }
    return NULL;
}

static void test_threads_with_stats(void **state)
{
    (void)state;
    sedx_context *ctx = tu_context(false);
    sedx_frame_info fi = {.block_size = 8u << 10};
    assert_int_equal(sedx_frames_configure(ctx, &fi), SEDX_SUCCESS);
    sedx_frame *frame;
    assert_int_equal(sedx_frame_begin(ctx, &frame), SEDX_SUCCESS);
    checker c = {ctx, {0}, 0};
    assert_int_equal(sedx_transient_alloc(frame, 64, SEDX_BUFFER_USAGE_UNIFORM, &c.t), SEDX_SUCCESS);
    pthread_t ct;
    assert_int_equal(pthread_create(&ct, NULL, check_loop, &c), 0);
    static worker w[THREADS];
    pthread_barrier_t start;
    pthread_barrier_init(&start, NULL, THREADS);
    pthread_t th[THREADS];
    for (uint32_t i = 0; i < THREADS; ++i) {
        w[i] = (worker){frame, i, 1234u + i, {{0}}, SEDX_SUCCESS, &start};
        assert_int_equal(pthread_create(&th[i], NULL, work, &w[i]), 0);
    }
    for (uint32_t i = 0; i < THREADS; ++i) assert_int_equal(pthread_join(th[i], NULL), 0);
    atomic_store(&c.stop, 1);
    assert_int_equal(pthread_join(ct, NULL), 0);
    pthread_barrier_destroy(&start);
    for (uint32_t i = 0; i < THREADS; ++i) assert_int_equal(w[i].failed, SEDX_SUCCESS);
    assert_int_equal(sedx_frame_end(ctx, frame, (sedx_ticket){0}), SEDX_SUCCESS);
    tu_context_destroy(ctx);
}


/* ---- threads that live across frames ---------------------------------------------------- */
#define P_THREADS 4u
#define P_PER 150u
#define P_FRAMES 16u

typedef struct prec {
    VkBuffer buffer;
    uint64_t offset, size, frame;
    uint8_t *data;
    uint8_t fill;
} prec;

typedef struct pworker {
    uint32_t index;
    uint64_t seed;
    pthread_barrier_t *start, *done;
    sedx_frame *_Atomic *frame; /* the frame to allocate in; NULL = stop */
    prec recs[SEDX_MAX_FRAMES_IN_FLIGHT][P_PER]; /* by frame number % frames in flight... */
    uint32_t ring;                               /* ...which the main thread sets each frame */
    sedx_result failed;
} pworker;

static void palloc(pworker *w, sedx_frame *frame)
{
    for (uint32_t i = 0; i < P_PER; ++i) {
        uint64_t r = tu_rand(&w->seed);
        /* mostly small (per-thread chunks), one in 8 large (the shared bump) */
        uint64_t size = (r & 7) ? 1u + (r >> 8) % 600u : 600u + (r >> 8) % 5400u;
        sedx_buffer_usage_flags u = (r & 16) ? SEDX_BUFFER_USAGE_UNIFORM : SEDX_BUFFER_USAGE_INDEX;
        sedx_transient t;
        sedx_result res = sedx_transient_alloc(frame, size, u, &t);
        if (res != SEDX_SUCCESS) {
            w->failed = res;
            return;
        }
        uint8_t fill = (uint8_t)(t.frame * 13u + w->index * 31u + i * 7u + 1u);
        memset(t.data, fill, (size_t)size);
        w->recs[w->ring][i] = (prec){t.buffer, t.offset, size, t.frame, t.data, fill};
    }
}

static void *pwork(void *p)
{
    pworker *w = p;
    for (;;) {
        pthread_barrier_wait(w->start);
        sedx_frame *frame = atomic_load(w->frame);
        if (!frame) return NULL;
        palloc(w, frame);
        pthread_barrier_wait(w->done);
    }
}

static int cmp_prec(const void *a, const void *b)
{
    const prec *x = *(const prec *const *)a, *y = *(const prec *const *)b;
    if (x->buffer != y->buffer) return (uintptr_t)x->buffer < (uintptr_t)y->buffer ? -1 : 1;
    return (x->offset > y->offset) - (x->offset < y->offset);
}

static void across_frames(uint32_t in_flight)
{
    sedx_context *ctx = tu_context(false);
    sedx_frame_info fi = {.block_size = 64u << 10, .frames_in_flight = in_flight, .idle_frames = 2};
    assert_int_equal(sedx_frames_configure(ctx, &fi), SEDX_SUCCESS);
    static pworker w[P_THREADS + 1]; /* the last one is the main thread's */
    static const prec *live[(P_THREADS + 1) * P_PER * SEDX_MAX_FRAMES_IN_FLIGHT];
    pthread_barrier_t start, done;
    pthread_barrier_init(&start, NULL, P_THREADS + 1);
    pthread_barrier_init(&done, NULL, P_THREADS + 1);
    sedx_frame *_Atomic current = NULL;
    pthread_t th[P_THREADS];
    uint64_t seed = tu_seed();
    for (uint32_t i = 0; i <= P_THREADS; ++i) {
        memset(&w[i], 0, sizeof w[i]);
        w[i] = (pworker){.index = i, .seed = tu_rand(&seed) | 1u, .start = &start, .done = &done, .frame = &current};
        if (i < P_THREADS) assert_int_equal(pthread_create(&th[i], NULL, pwork, &w[i]), 0);
    }
    uint64_t tails_max = 0;
    for (uint32_t fr = 0; fr < P_FRAMES; ++fr) {
        sedx_frame *frame;
        assert_int_equal(sedx_frame_begin(ctx, &frame), SEDX_SUCCESS);
        uint64_t number = sedx_frame_number(frame);
        uint32_t ring = (uint32_t)(number % in_flight);
        for (uint32_t i = 0; i <= P_THREADS; ++i) w[i].ring = ring;
        atomic_store(&current, frame);
        pthread_barrier_wait(&start);
        palloc(&w[P_THREADS], frame);
        pthread_barrier_wait(&done);
        /* this frame's allocations and those of the frames still in flight (number - in_flight + 1 ..) */
        uint32_t n = 0;
        uint64_t bytes = 0;
        uint64_t frames_live = number < in_flight ? number : in_flight;
        for (uint32_t i = 0; i <= P_THREADS; ++i) {
            assert_int_equal(w[i].failed, SEDX_SUCCESS);
            for (uint64_t back = 0; back < frames_live; ++back) {
                uint32_t rg = (uint32_t)((number - back) % in_flight);
                for (uint32_t k = 0; k < P_PER; ++k) {
                    const prec *r = &w[i].recs[rg][k];
                    assert_int_equal(r->frame, number - back);
                    if (back == 0) bytes += r->size;
                    live[n++] = r;
                }
            }
        }
        qsort(live, n, sizeof live[0], cmp_prec);
        for (uint32_t i = 0; i < n; ++i) {
            const prec *r = live[i];
            assert_int_equal(r->offset % 16u, 0);
            if (i && live[i - 1]->buffer == r->buffer && live[i - 1]->offset + live[i - 1]->size > r->offset)
                fail_msg("frame %llu: allocations of frames %llu and %llu overlap at offset %llu",
                         (unsigned long long)number, (unsigned long long)live[i - 1]->frame,
                         (unsigned long long)r->frame, (unsigned long long)r->offset);
            for (uint64_t b = 0; b < r->size; ++b)
                if (r->data[b] != r->fill)
                    fail_msg("frame %llu: byte %llu of an allocation of frame %llu overwritten",
                             (unsigned long long)number, (unsigned long long)b, (unsigned long long)r->frame);
        }
        assert_int_equal(sedx_frame_end(ctx, frame, (sedx_ticket){0}), SEDX_SUCCESS);
        sedx_frame_stats st;
        assert_int_equal(sedx_frame_get_stats(ctx, &st), SEDX_SUCCESS);
        assert_true(st.last_frame_bytes >= bytes + st.last_frame_chunk_tail_bytes);
        tails_max = st.last_frame_chunk_tail_bytes > tails_max ? st.last_frame_chunk_tail_bytes : tails_max;
        if (fr == P_FRAMES - 1)
            printf("  %u in flight: frame %llu: %u threads, %llu bytes asked, %llu taken in %u blocks, %llu of chunk "
                   "tails (at most %llu in a frame)\n",
                   in_flight, (unsigned long long)number, P_THREADS + 1, (unsigned long long)bytes,
                   (unsigned long long)st.last_frame_bytes, st.last_frame_blocks,
                   (unsigned long long)st.last_frame_chunk_tail_bytes, (unsigned long long)tails_max);
    }
    atomic_store(&current, NULL);
    pthread_barrier_wait(&start);
    for (uint32_t i = 0; i < P_THREADS; ++i) assert_int_equal(pthread_join(th[i], NULL), 0);
    pthread_barrier_destroy(&start);
    pthread_barrier_destroy(&done);
    tu_context_destroy(ctx);
}

static void test_threads_across_frames(void **state)
{
    (void)state;
    across_frames(2);
    across_frames(3);
}

/* More threads in one frame than a slot has chunk records. */
#define M_THREADS 80u
#define M_PER 60u

typedef struct mworker {
    sedx_frame *frame;
    uint32_t index;
    pthread_barrier_t *start;
    rec recs[M_PER];
    sedx_result failed;
} mworker;

static void *mwork(void *p)
{
    mworker *w = p;
    pthread_barrier_wait(w->start);
    for (uint32_t i = 0; i < M_PER; ++i) {
        uint64_t size = 16u + (w->index * 7u + i * 13u) % 300u;
        sedx_transient t;
        sedx_result r = sedx_transient_alloc(w->frame, size, SEDX_BUFFER_USAGE_STORAGE, &t);
        if (r != SEDX_SUCCESS) {
            w->failed = r;
            return NULL;
        }
        memset(t.data, (int)(w->index + 1u), (size_t)size);
        w->recs[i] = (rec){t.buffer, t.offset, size, t.data, w->index};
    }
    return NULL;
}

static void test_many_threads(void **state)
{
    (void)state;
    sedx_context *ctx = tu_context(false);
    sedx_frame_info fi = {.block_size = 256u << 10};
    assert_int_equal(sedx_frames_configure(ctx, &fi), SEDX_SUCCESS);
    static mworker w[M_THREADS];
    static rec all[M_THREADS * M_PER];
    for (uint32_t round = 0; round < 2; ++round) {
        sedx_frame *frame;
        assert_int_equal(sedx_frame_begin(ctx, &frame), SEDX_SUCCESS);
        pthread_barrier_t start;
        pthread_barrier_init(&start, NULL, M_THREADS);
        pthread_t th[M_THREADS];
        for (uint32_t i = 0; i < M_THREADS; ++i) {
            w[i] = (mworker){frame, i, &start, {{0}}, SEDX_SUCCESS};
            assert_int_equal(pthread_create(&th[i], NULL, mwork, &w[i]), 0);
        }
        for (uint32_t i = 0; i < M_THREADS; ++i) assert_int_equal(pthread_join(th[i], NULL), 0);
        pthread_barrier_destroy(&start);
        uint32_t n = 0;
        for (uint32_t i = 0; i < M_THREADS; ++i) {
            assert_int_equal(w[i].failed, SEDX_SUCCESS);
            for (uint32_t k = 0; k < M_PER; ++k) all[n++] = w[i].recs[k];
        }
        qsort(all, n, sizeof all[0], cmp_rec);
        for (uint32_t i = 0; i < n; ++i) {
            const rec *r = &all[i];
            if (i && all[i - 1].buffer == r->buffer && all[i - 1].offset + all[i - 1].size > r->offset)
                fail_msg("allocations of threads %u and %u overlap", all[i - 1].owner, r->owner);
            for (uint64_t b = 0; b < r->size; ++b)
                if (r->data[b] != (uint8_t)(r->owner + 1u)) fail_msg("thread %u's allocation overwritten", r->owner);
        }
        assert_int_equal(sedx_frame_end(ctx, frame, (sedx_ticket){0}), SEDX_SUCCESS);
        sedx_frame_stats st;
        assert_int_equal(sedx_frame_get_stats(ctx, &st), SEDX_SUCCESS);
        if (round == 1)
            printf("  %u threads in one frame: %u allocations, %llu bytes in %u blocks, %llu of chunk tails\n",
                   M_THREADS, n, (unsigned long long)st.last_frame_bytes, st.last_frame_blocks,
                   (unsigned long long)st.last_frame_chunk_tail_bytes);
    }
    tu_context_destroy(ctx);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_threads_one_frame),
        cmocka_unit_test(test_threads_with_stats),
        cmocka_unit_test(test_threads_across_frames),
        cmocka_unit_test(test_many_threads),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
