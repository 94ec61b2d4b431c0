/*
 * Transient allocation from 8 threads in the same frame (run under ThreadSanitizer by make
 * test): small blocks so that threads race to add blocks; every thread fills its allocations
 * with its own pattern; after the threads join, the main thread checks that no two
 * allocations overlap, that every byte is still the pattern its owner wrote, the alignment,
 * and the frame's byte count. Over several frames in flight, with blocks reused from the pool.
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

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_threads_one_frame),
        cmocka_unit_test(test_threads_with_stats),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
