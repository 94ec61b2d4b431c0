/* The transfer layer's sizes under attack (a review of the 8 MiB batch / 16 MiB chunk caps,
 * 2026-12-06): readback rings of odd sizes with downloads of awkward lengths, NO_WAIT uploads
 * all-or-nothing while the ring grows and the GPU is held, batched uploads of mixed sizes over
 * ring growth, and a NO_WAIT upload that must never wait for the GPU, however many batches are
 * in flight. Every byte is checked against what was uploaded. */
#include "test_util.h"

#include <pthread.h>
#include <stdatomic.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#define POISON 0xCD

static uint64_t g_rng;

static double now_s(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec + (double)ts.tv_nsec * 1e-9;
}

static sedx_context *make_ctx(uint32_t tflags, uint64_t ring, uint64_t ring_max, uint64_t readback)
{
    sedx_context *ctx = tu_context(false);
    sedx_transfer_info ti = {0};
    ti.flags = tflags;
    ti.staging_size = ring;
    ti.staging_max = ring_max;
    ti.readback_size = readback;
    ti.memcpy_threads = 2;
    assert_int_equal(sedx_transfer_configure(ctx, &ti), SEDX_SUCCESS);
    return ctx;
}

static sedx_buffer make_buf(sedx_context *ctx, uint64_t size, const char *name)
{
    sedx_buffer b;
    assert_int_equal(sedx_buffer_create(ctx, size, SEDX_BUFFER_USAGE_STORAGE | SEDX_BUFFER_USAGE_TRANSFER_DST,
                                        SEDX_MEMORY_GPU, name, &b), SEDX_SUCCESS);
    return b;
}

static void check_equal(const uint8_t *want, const uint8_t *got, uint64_t n, const char *what)
{
    if (memcmp(want, got, n) == 0) return;
    for (uint64_t i = 0; i < n; ++i)
        if (want[i] != got[i]) fail_msg("%s: first difference at %llu: %02x, expected %02x", what,
                                        (unsigned long long)i, got[i], want[i]);
}

/* (c) readback rings of odd sizes, downloads of every awkward length, through the ring. */
static void test_readback_odd_rings(void **state)
{
    (void)state;
    g_rng = tu_seed() + 101;
    static const uint64_t rings[] = {64u << 10, 192u << 10, (1u << 20) + 256, (3u << 20) + 768};
    const uint64_t bsize = (40u << 20) + 4099;
    uint8_t *expect = malloc(bsize), *got = malloc(bsize);
    tu_fill_random(expect, bsize, &g_rng);
    for (size_t ri = 0; ri < sizeof rings / sizeof rings[0]; ++ri) {
        sedx_context *ctx = make_ctx(SEDX_TRANSFER_NO_DIRECT, 1u << 20, 1u << 20, rings[ri]);
        sedx_buffer b = make_buf(ctx, bsize, "readback odd");
        assert_int_equal(sedx_upload(ctx, &b, 0, bsize, expect), SEDX_SUCCESS);
        assert_int_equal(sedx_upload_flush(ctx), SEDX_SUCCESS);
        uint64_t q = rings[ri] / 4;
        const uint64_t lens[] = {1, q - 1, q, q + 1, rings[ri] - 1, rings[ri], rings[ri] + 1, 17 * q + 5,
                                 (16u << 20) + 1, bsize - 7};
        for (size_t li = 0; li < sizeof lens / sizeof lens[0]; ++li) {
            uint64_t off = lens[li] < bsize - 7 ? 7 : 0, n = lens[li];
            memset(got, 0x11, n + 1);
            assert_int_equal(sedx_download(ctx, &b, off, n, got), SEDX_SUCCESS);
            check_equal(expect + off, got, n, "download");
            assert_int_equal(got[n], 0x11); /* nothing past the end */
        }
        sedx_buffer_release(&b);
        tu_context_destroy(ctx);
    }
    free(expect);
    free(got);
}

/* (a) NO_WAIT is all or nothing with the ring growing and the GPU held: every accepted upload
 * arrives whole, every refused one leaves the destination untouched. Random sizes. */
static void test_nowait_all_or_nothing(void **state)
{
    (void)state;
    g_rng = tu_seed() + 102;
    sedx_context *ctx = make_ctx(SEDX_TRANSFER_NO_DIRECT, 64u << 10, 1u << 20, 64u << 10);
    enum { N = 200 };
    const uint64_t slot = 300u << 10, bsize = (uint64_t)N * slot;
    sedx_buffer b = make_buf(ctx, bsize, "nowait");
    uint8_t *expect = malloc(bsize), *data = malloc(bsize), *got = malloc(bsize);
    memset(expect, POISON, bsize);
    assert_int_equal(sedx_upload(ctx, &b, 0, bsize, expect), SEDX_SUCCESS);
    assert_int_equal(sedx_upload_flush(ctx), SEDX_SUCCESS);
    tu_fill_random(data, bsize, &g_rng);
    sedx_ticket blocker;
    VkSemaphore gate = tu_gate(ctx, SEDX_QUEUE_TRANSFER, &blocker);
    sedx_transfer_stats s0, s1;
    sedx_transfer_get_stats(ctx, &s0);
    uint64_t accepted_bytes = 0;
    int accepted = 0;
    for (int i = 0; i < N; ++i) {
        uint64_t n = 1 + tu_rand(&g_rng) % (i % 3 == 0 ? slot : 8192);
        uint64_t off = (uint64_t)i * slot;
        sedx_result r = sedx_upload_ex(ctx, &b, off, n, data + off, SEDX_UPLOAD_NO_WAIT);
        if (r == SEDX_SUCCESS) {
            memcpy(expect + off, data + off, n);
            accepted_bytes += n;
            accepted++;
        } else {
            assert_int_equal(r, SEDX_ERROR_OUT_OF_STAGING);
        }
        sedx_transfer_get_stats(ctx, &s1);
        assert_int_equal(s1.staged_bytes - s0.staged_bytes, accepted_bytes); /* nothing half-staged */
    }
    assert_true(accepted > 0);
    tu_open_gate(ctx, gate);
    assert_int_equal(sedx_upload_flush(ctx), SEDX_SUCCESS);
    memset(got, 0x11, bsize);
    assert_int_equal(sedx_download(ctx, &b, 0, bsize, got), SEDX_SUCCESS);
    check_equal(expect, got, bsize, "nowait all or nothing");
    vkDestroySemaphore(sedx_context_device(ctx), gate, NULL);
    sedx_buffer_release(&b);
    free(expect);
    free(data);
    free(got);
    tu_context_destroy(ctx);
}

/* (b)/(e) sedx_upload_batch with small and large regions over several buffers while the ring
 * grows from 64 KiB: same bytes as uploads in order. */
static void test_batch_mixed_growth(void **state)
{
    (void)state;
    g_rng = tu_seed() + 103;
    sedx_context *ctx = make_ctx(SEDX_TRANSFER_NO_DIRECT, 64u << 10, 32u << 20, 64u << 10);
    enum { NB = 3, NR = 300 };
    const uint64_t bsize = 12u << 20;
    sedx_buffer b[NB];
    uint8_t *expect[NB], *got = malloc(bsize);
    for (int k = 0; k < NB; ++k) {
        b[k] = make_buf(ctx, bsize, "batch mixed");
        expect[k] = malloc(bsize);
        memset(expect[k], POISON, bsize);
        assert_int_equal(sedx_upload(ctx, &b[k], 0, bsize, expect[k]), SEDX_SUCCESS);
    }
    assert_int_equal(sedx_upload_flush(ctx), SEDX_SUCCESS);
    for (int round = 0; round < 4; ++round) {
        sedx_upload_region rg[NR];
        uint8_t *src[NR];
        for (int i = 0; i < NR; ++i) {
            uint64_t pick = tu_rand(&g_rng) % 20;
            uint64_t n = pick == 0 ? (1u << 20) + 1 + tu_rand(&g_rng) % (5u << 20)
                         : pick < 4 ? (200u << 10) + tu_rand(&g_rng) % (120u << 10)
                                    : 1 + tu_rand(&g_rng) % 8192;
            int k = (int)(tu_rand(&g_rng) % NB);
            uint64_t off = tu_rand(&g_rng) % (bsize - n + 1);
            src[i] = malloc(n);
            tu_fill_random(src[i], n, &g_rng);
            rg[i] = (sedx_upload_region){&b[k], off, n, src[i]};
        }
        assert_int_equal(sedx_upload_batch(ctx, rg, NR), SEDX_SUCCESS);
        for (int i = 0; i < NR; ++i) {
            int k = (int)(rg[i].dst - b);
            memcpy(expect[k] + rg[i].offset, src[i], rg[i].size);
        }
        assert_int_equal(sedx_upload_flush(ctx), SEDX_SUCCESS);
        for (int i = 0; i < NR; ++i) free(src[i]);
    }
    for (int k = 0; k < NB; ++k) {
        memset(got, 0x11, bsize);
        assert_int_equal(sedx_download(ctx, &b[k], 0, bsize, got), SEDX_SUCCESS);
        check_equal(expect[k], got, bsize, "batch mixed");
        sedx_buffer_release(&b[k]);
        free(expect[k]);
    }
    sedx_transfer_stats s;
    sedx_transfer_get_stats(ctx, &s);
    print_message("ring grows %llu, batches %llu, staging %llu\n", (unsigned long long)s.ring_grows,
                  (unsigned long long)s.batches, (unsigned long long)s.staging_size);
    free(got);
    tu_context_destroy(ctx);
}

/* (a) NO_WAIT must not wait for the GPU. With batches submitted at 8 MiB (not a quarter of the
 * ring), a ring of 512 MiB holds 64 batches: more than the 64 one-time command buffers a queue
 * has, so while the GPU is held, the 64th batch's submit inside a NO_WAIT sedx_upload_ex waits in
 * sedx_cmd_begin for a command buffer (forever, if the GPU waits on this thread). At 203b639
 * (batches at a quarter: 128 MiB) the ring fills after 4 batches and NO_WAIT returns
 * OUT_OF_STAGING. RING_MB can be lowered with SEDX_BATCH_KB (e.g. SEDX_BATCH_KB=64 and a
 * 16 MiB ring). A watchdog opens the gate once one call has taken 10 s so that the test fails instead of hanging. */
typedef struct watchdog {
    sedx_context *ctx;
    VkSemaphore gate, gate2; /* the transfer queue's and the main queue's */
    atomic_bool done, fired;
    _Atomic uint64_t call; /* number of calls started */
} watchdog;

static void *watchdog_main(void *arg)
{
    watchdog *w = arg;
    uint64_t seen = ~(uint64_t)0;
    int still = 0;
    while (!atomic_load(&w->done)) {
        struct timespec ts = {0, 100 * 1000 * 1000};
        nanosleep(&ts, NULL);
        uint64_t c = atomic_load(&w->call);
        still = c == seen ? still + 1 : 0;
        seen = c;
        if (still >= 100) break; /* one call for 10 s */
    }
    if (!atomic_load(&w->done)) {
        atomic_store(&w->fired, true);
        fprintf(stderr, "watchdog: a NO_WAIT upload is blocked; opening the gate\n");
        tu_open_gate(w->ctx, w->gate);
        if (w->gate2) tu_open_gate(w->ctx, w->gate2);
    }
    return NULL;
}

/* NO_WAIT 4 KiB uploads into a held GPU until the ring refuses one: no call may wait (a
 * watchdog opens the gate after 10 s, so that the test fails instead of hanging), the last
 * answer is OUT_OF_STAGING, and everything recorded arrives once the gate opens. */
static void nowait_until_full(uint32_t tflags, uint64_t ring, const char *batch_kb, bool prime)
{
    if (batch_kb) setenv("SEDX_BATCH_KB", batch_kb, 1);
    sedx_context *ctx = make_ctx(SEDX_TRANSFER_NO_DIRECT | tflags, ring, ring, 64u << 10);
    unsetenv("SEDX_BATCH_KB"); /* read by sedx_transfer_configure */
    const uint64_t bsize = 8u << 20, piece = 4096;
    sedx_buffer b = make_buf(ctx, bsize, "nowait never waits");
    uint8_t *data = malloc(bsize), *got = malloc(bsize);
    tu_fill_random(data, bsize, &g_rng);
    if (prime) { /* the ring exists before the GPU is held */
        assert_int_equal(sedx_upload(ctx, &b, 0, piece, data), SEDX_SUCCESS);
        assert_int_equal(sedx_upload_flush(ctx), SEDX_SUCCESS);
    }
    watchdog w = {ctx, VK_NULL_HANDLE, VK_NULL_HANDLE, false, false, 0};
    sedx_ticket blocker, blocker2;
    w.gate = tu_gate(ctx, SEDX_QUEUE_TRANSFER, &blocker);
    w.gate2 = tu_gate(ctx, SEDX_QUEUE_GRAPHICS, &blocker2); /* scatter batches run there */
    pthread_t th;
    assert_int_equal(pthread_create(&th, NULL, watchdog_main, &w), 0);
    sedx_result r = SEDX_SUCCESS;
    uint64_t k = 0, ring_pieces = ring / piece + 16;
    double worst = 0;
    for (; k < ring_pieces && r == SEDX_SUCCESS; ++k) {
        double t0 = now_s();
        atomic_fetch_add(&w.call, 1);
        r = sedx_upload_ex(ctx, &b, (k * piece) % bsize, piece, data + (k * piece) % bsize, SEDX_UPLOAD_NO_WAIT);
        double dt = now_s() - t0;
        if (dt > worst) worst = dt;
    }
    atomic_store(&w.done, true);
    pthread_join(th, NULL);
    if (!atomic_load(&w.fired)) {
        tu_open_gate(ctx, w.gate);
        tu_open_gate(ctx, w.gate2);
    }
    sedx_transfer_stats s;
    sedx_transfer_get_stats(ctx, &s);
    print_message("NO_WAIT: %llu calls, last %s, longest call %.3f s, %llu batches, %llu scatter dispatches\n",
                  (unsigned long long)k, sedx_result_name(r), worst, (unsigned long long)s.batches,
                  (unsigned long long)s.scatter_dispatches);
    assert_int_equal(sedx_upload_flush(ctx), SEDX_SUCCESS);
    /* the refused call wrote nothing: pieces 0 .. k-2 arrived (the first call's piece 0 too) */
    uint64_t arrived = (k - 1) * piece < bsize ? (k - 1) * piece : bsize;
    memset(got, 0x11, bsize);
    assert_int_equal(sedx_download(ctx, &b, 0, arrived, got), SEDX_SUCCESS);
    check_equal(data, got, arrived, "NO_WAIT pieces");
    vkDestroySemaphore(sedx_context_device(ctx), w.gate, NULL);
    vkDestroySemaphore(sedx_context_device(ctx), w.gate2, NULL);
    sedx_buffer_release(&b);
    free(data);
    free(got);
    tu_context_destroy(ctx);
    assert_false(atomic_load(&w.fired)); /* a NO_WAIT call waited for the GPU */
    assert_int_equal(r, SEDX_ERROR_OUT_OF_STAGING);
}

/* 64 KiB batches in a 16 MiB ring: up to 256 batches could be in flight, four times the command
 * buffers a queue has (the review's case: 8 MiB batches in a 512 MiB ring). */
static void test_nowait_never_waits(void **state)
{
    (void)state;
    g_rng = tu_seed() + 303;
    nowait_until_full(0, 16u << 20, "64", true);
}

/* Scatter batches (a discrete GPU's, forced here): a batch's region table (16 bytes a region)
 * goes into the ring at submit. 256 KiB batches of 64 pieces in a ring of 4 x 256 KiB + 3 tables
 * of 1 KiB: the NO_WAIT upload that completes the fourth batch fills the ring to its last byte
 * and submits that batch, whose table must not wait for room (it goes by copy commands then). */
static void test_nowait_scatter_table(void **state)
{
    (void)state;
    g_rng = tu_seed() + 304;
    nowait_until_full(SEDX_TRANSFER_FORCE_SCATTER, (1024u + 3u) << 10, "256", false);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_readback_odd_rings),
        cmocka_unit_test(test_nowait_all_or_nothing),
        cmocka_unit_test(test_batch_mixed_growth),
        cmocka_unit_test(test_nowait_never_waits),
        cmocka_unit_test(test_nowait_scatter_table),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
