/* Zero-copy staging from 8 threads on one context (run under TSan by make test): 4 threads
 * reserve, produce in place without the transfer lock (holding up to 2 reservations across a
 * yield) and commit or cancel, into their own slices of one shared buffer; 4 threads upload with
 * sedx_upload into their own buffers and submit. Every byte is checked at the end. Modes: the
 * default ring, and a 256 KiB ring with SEDX_TRANSFER_NO_DIRECT (everything through the ring;
 * OUT_OF_STAGING is retried: pins may fill a small ring for a moment). */
#include "test_util.h"

#include <pthread.h>
#include <sched.h>
#include <stdlib.h>
#include <string.h>

#define THREADS 8
#define SLICE (16u << 10)
#define ITER 150

typedef struct worker {
    sedx_context *ctx;
    sedx_buffer *shared; /* reserve threads: slice i of it */
    sedx_buffer own;     /* upload threads */
    int index;
    uint64_t rng;
    uint8_t expect[SLICE];
    int failures;
} worker;

static void produce(uint8_t *dst, uint8_t *model, uint64_t n, uint64_t *rng)
{
    for (uint64_t i = 0; i + 8 <= n; i += 8) {
        uint64_t w = tu_rand(rng) | 1;
        memcpy(dst + i, &w, 8);
        memcpy(model + i, &w, 8);
    }
}

static sedx_result retry_reserve(worker *w, uint64_t off, uint64_t n, sedx_upload_reservation *rv)
{
    for (;;) {
        sedx_result r = sedx_upload_reserve(w->ctx, w->shared, off, n, rv);
        if (r != SEDX_ERROR_OUT_OF_STAGING) return r;
        sched_yield();
    }
}

static void *reserver(void *arg)
{
    worker *w = arg;
    uint64_t base = (uint64_t)(w->index) * SLICE;
    uint8_t pending[2][SLICE / 2];
    for (int it = 0; it < ITER; ++it) {
        /* two halves, both outstanding at once, produced while other threads run */
        sedx_upload_reservation rv[2];
        for (int h = 0; h < 2; ++h)
            if (retry_reserve(w, base + (uint64_t)h * SLICE / 2, SLICE / 2, &rv[h]) != SEDX_SUCCESS) w->failures++;
        for (int h = 0; h < 2; ++h) {
            produce(rv[h].data, pending[h], SLICE / 2, &w->rng);
            sched_yield();
        }
        bool cancel_first = (tu_rand(&w->rng) % 4) == 0;
        for (int h = 1; h >= 0; --h) {
            if (h == 0 && cancel_first) {
                if (sedx_upload_cancel(w->ctx, &rv[h]) != SEDX_SUCCESS) w->failures++;
                continue;
            }
            if (sedx_upload_commit(w->ctx, &rv[h]) != SEDX_SUCCESS) w->failures++;
            memcpy(w->expect + (uint64_t)h * SLICE / 2, pending[h], SLICE / 2);
        }
        if (it % 16 == 0 && sedx_upload_submit(w->ctx, NULL) != SEDX_SUCCESS) w->failures++;
    }
    return NULL;
}

static void *uploader(void *arg)
{
    worker *w = arg;
    uint8_t data[SLICE];
    for (int it = 0; it < ITER; ++it) {
        uint64_t n = 16 + tu_rand(&w->rng) % (SLICE - 16), off = tu_rand(&w->rng) % (SLICE - n + 1);
        tu_fill_random(data, n, &w->rng);
        sedx_result r;
        while ((r = sedx_upload(w->ctx, &w->own, off, n, data)) == SEDX_ERROR_OUT_OF_STAGING) sched_yield();
        if (r != SEDX_SUCCESS) w->failures++;
        else memcpy(w->expect + off, data, n);
        if (it % 5 == 0 && sedx_upload_submit(w->ctx, NULL) != SEDX_SUCCESS) w->failures++;
        if (it % 37 == 0 && sedx_upload_flush(w->ctx) != SEDX_SUCCESS) w->failures++;
    }
    return NULL;
}

static void run(uint32_t flags, uint64_t ring)
{
    sedx_context *ctx = tu_context(false);
    sedx_transfer_info ti = {0};
    ti.flags = flags;
    ti.staging_size = ring;
    ti.staging_max = ring;
    assert_int_equal(sedx_transfer_configure(ctx, &ti), SEDX_SUCCESS);
    static worker ws[THREADS];
    sedx_buffer shared;
    assert_int_equal(sedx_buffer_create(ctx, (uint64_t)SLICE * THREADS / 2, SEDX_BUFFER_USAGE_STORAGE,
                                        SEDX_MEMORY_GPU, "reserve threads shared", &shared),
                     SEDX_SUCCESS);
    uint8_t *poison = malloc((uint64_t)SLICE * THREADS / 2);
    memset(poison, 0xCD, (uint64_t)SLICE * THREADS / 2);
    assert_int_equal(sedx_upload(ctx, &shared, 0, (uint64_t)SLICE * THREADS / 2, poison), SEDX_SUCCESS);
    pthread_t th[THREADS];
    uint64_t seed = tu_seed();
    for (int i = 0; i < THREADS; ++i) {
        worker *w = &ws[i];
        memset(w, 0, sizeof *w);
        w->ctx = ctx;
        w->shared = &shared;
        w->index = i / 2;
        w->rng = seed + 7919u * (uint64_t)(i + 1);
        memset(w->expect, 0xCD, SLICE);
        if (i & 1) {
            assert_int_equal(sedx_buffer_create(ctx, SLICE, SEDX_BUFFER_USAGE_STORAGE, SEDX_MEMORY_GPU,
                                                "reserve threads own", &w->own),
                             SEDX_SUCCESS);
            assert_int_equal(sedx_upload(ctx, &w->own, 0, SLICE, poison), SEDX_SUCCESS);
        }
    }
    assert_int_equal(sedx_upload_flush(ctx), SEDX_SUCCESS);
    for (int i = 0; i < THREADS; ++i)
        assert_int_equal(pthread_create(&th[i], NULL, (i & 1) ? uploader : reserver, &ws[i]), 0);
    for (int i = 0; i < THREADS; ++i) assert_int_equal(pthread_join(th[i], NULL), 0);
    assert_int_equal(sedx_upload_flush(ctx), SEDX_SUCCESS);
    uint8_t *got = malloc(SLICE);
    for (int i = 0; i < THREADS; ++i) {
        worker *w = &ws[i];
        assert_int_equal(w->failures, 0);
        const sedx_buffer *b = (i & 1) ? &w->own : &shared;
        uint64_t off = (i & 1) ? 0 : (uint64_t)w->index * SLICE;
        assert_int_equal(sedx_download(ctx, b, off, SLICE, got), SEDX_SUCCESS);
        if (memcmp(got, w->expect, SLICE) != 0) {
            fprintf(stderr, "thread %d (%s): bytes differ\n", i, (i & 1) ? "upload" : "reserve");
            fail();
        }
        if (i & 1) sedx_buffer_release(&w->own);
    }
    free(got);
    free(poison);
    sedx_buffer_release(&shared);
    tu_context_destroy(ctx);
}

static void test_default_ring(void **state)
{
    (void)state;
    run(0, 0);
}

static void test_small_ring_no_direct(void **state)
{
    (void)state;
    run(SEDX_TRANSFER_NO_DIRECT, 256u << 10);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_default_ring),
        cmocka_unit_test(test_small_ring_no_direct),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
