/* Asynchronous readback (sedx_download_async, docs/readback.md), under the validation layer:
 * many requests in flight checked byte for byte against random data (never zeros) uploaded into
 * poisoned buffers, results taken out of order, order with uploads, polling behind a GPU gate,
 * a source released while in flight, callbacks (also one that calls sedx from inside), cancel,
 * the staged path (SEDX_TRANSFER_NO_DIRECT), synchronization validation, and every bad input
 * with its code and log line, the context working afterwards. Recorded requests
 * (sedx_download_async_record into a frame's command buffer): each sees exactly the bytes the
 * commands before it wrote, is ready right after frames_in_flight frames, never blocks a poll;
 * 1,000 over many frames under synchronization validation; the explicit
 * sedx_download_async_submitted; a cancel while not submitted. */
#include "test_util.h"

#include <stdlib.h>
#include <string.h>
#include <time.h>

#define POISON 0xCD

static uint64_t g_rng;

static void fill_nonzero(uint8_t *p, size_t n)
{
    tu_fill_random(p, n, &g_rng);
    for (size_t i = 0; i < n; ++i)
        if (!p[i] || p[i] == POISON) p[i] = (uint8_t)(1 + (i % 200));
}

static double now_ms(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec * 1e3 + (double)ts.tv_nsec / 1e6;
}

static sedx_context *make_ctx(bool sync, uint32_t flags, uint64_t readback_size)
{
    sedx_context *ctx = tu_context(sync);
    assert_true(sedx_context_validation_enabled(ctx));
    if (flags || readback_size) {
        sedx_transfer_info ti = {0};
        ti.flags = flags;
        ti.readback_size = readback_size;
        assert_int_equal(sedx_transfer_configure(ctx, &ti), SEDX_SUCCESS);
    }
    return ctx;
}

/* A buffer poisoned first, then filled with random non-zero bytes (its shadow in *shadow). */
static sedx_buffer make_filled(sedx_context *ctx, uint64_t size, sedx_memory_flags memory, const char *name,
                               uint8_t **shadow)
{
    sedx_buffer b;
    assert_int_equal(sedx_buffer_create(ctx, size, SEDX_BUFFER_USAGE_STORAGE, memory, name, &b), SEDX_SUCCESS);
    uint8_t *p = malloc(size);
    memset(p, POISON, size);
    assert_int_equal(sedx_upload(ctx, &b, 0, size, p), SEDX_SUCCESS);
    fill_nonzero(p, size);
    assert_int_equal(sedx_upload(ctx, &b, 0, size, p), SEDX_SUCCESS);
    *shadow = p;
    return b;
}

static sedx_queue rb_queue(sedx_context *ctx)
{
    return sedx_context_has_transfer_queue(ctx) ? SEDX_QUEUE_TRANSFER : SEDX_QUEUE_GRAPHICS;
}

/* Takes req into poisoned memory and compares it with expect. */
static void take_and_check(sedx_context *ctx, sedx_download_request *req, const uint8_t *expect)
{
    uint64_t n = req->size;
    uint8_t *got = malloc(n);
    memset(got, POISON, n);
    assert_int_equal(sedx_download_wait(ctx, req, UINT64_MAX), SEDX_SUCCESS);
    assert_int_equal(sedx_download_result(ctx, req, got), SEDX_SUCCESS);
    assert_memory_equal(got, expect, n);
    assert_int_equal(req->handle, 0); /* spent */
    free(got);
}

static void expect_empty(sedx_context *ctx)
{
    sedx_download_async_stats st;
    assert_int_equal(sedx_download_async_get_stats(ctx, &st), SEDX_SUCCESS);
    assert_int_equal(st.outstanding, 0);
    assert_int_equal(st.ring_used, 0);
}

/* The context still works: an upload and an asynchronous readback of random bytes. */
static void still_works(sedx_context *ctx)
{
    uint8_t *shadow;
    sedx_buffer b = make_filled(ctx, 777, SEDX_MEMORY_GPU, "still works", &shadow);
    sedx_download_request req;
    assert_int_equal(sedx_download_async(ctx, &b, 0, 777, &req), SEDX_SUCCESS);
    take_and_check(ctx, &req, shadow);
    sedx_buffer_release(&b);
    free(shadow);
}

/* 1,000 requests in flight over GPU and CPU buffers, random ranges; taken in a shuffled order. */
static void many_in_flight(bool sync, uint32_t flags, uint32_t count)
{
    sedx_context *ctx = make_ctx(sync, flags, 0);
    enum { NBUF = 4, BUF = 256 << 10 };
    sedx_buffer bufs[NBUF];
    uint8_t *shadow[NBUF];
    for (int i = 0; i < NBUF; ++i)
        bufs[i] = make_filled(ctx, BUF, (i & 1) ? SEDX_MEMORY_CPU : SEDX_MEMORY_GPU, "readback source", &shadow[i]);
    sedx_download_request *reqs = calloc(count, sizeof *reqs);
    const uint8_t **expect = calloc(count, sizeof *expect);
    for (uint32_t i = 0; i < count; ++i) {
        int k = (int)(tu_rand(&g_rng) % NBUF);
        uint64_t size = 1 + tu_rand(&g_rng) % 4096;
        uint64_t off = tu_rand(&g_rng) % (BUF - size + 1);
        assert_int_equal(sedx_download_async(ctx, &bufs[k], off, size, &reqs[i]), SEDX_SUCCESS);
        assert_int_equal(reqs[i].size, size);
        expect[i] = shadow[k] + off;
    }
    sedx_download_async_stats st;
    assert_int_equal(sedx_download_async_get_stats(ctx, &st), SEDX_SUCCESS);
    assert_int_equal(st.outstanding, count);
    uint32_t *order = malloc(count * sizeof *order);
    for (uint32_t i = 0; i < count; ++i) order[i] = i;
    for (uint32_t i = count - 1; i > 0; --i) {
        uint32_t j = (uint32_t)(tu_rand(&g_rng) % (i + 1)), x = order[i];
        order[i] = order[j];
        order[j] = x;
    }
    for (uint32_t i = 0; i < count; ++i) {
        sedx_result p = sedx_download_poll(ctx, &reqs[order[i]]);
        assert_true(p == SEDX_SUCCESS || p == SEDX_NOT_READY);
        take_and_check(ctx, &reqs[order[i]], expect[order[i]]);
    }
    expect_empty(ctx);
    for (int i = 0; i < NBUF; ++i) {
        sedx_buffer_release(&bufs[i]);
        free(shadow[i]);
    }
    free(order);
    free(expect);
    free(reqs);
    still_works(ctx);
    tu_context_destroy(ctx);
}

static void test_many_in_flight(void **state)
{
    (void)state;
    many_in_flight(false, 0, 1000);
}

static void test_many_in_flight_staged(void **state)
{
    (void)state;
    many_in_flight(false, SEDX_TRANSFER_NO_DIRECT, 1000);
}

static void test_sync_validation(void **state)
{
    (void)state;
    many_in_flight(true, 0, 200);
    many_in_flight(true, SEDX_TRANSFER_NO_DIRECT, 200);
}

/* A request sees every earlier upload (also one still in the open batch) and none after it. */
static void ordered_with_uploads(uint32_t flags)
{
    sedx_context *ctx = make_ctx(false, flags, 0);
    enum { N = 4096, ROUNDS = 64 };
    sedx_buffer b;
    assert_int_equal(sedx_buffer_create(ctx, N, SEDX_BUFFER_USAGE_STORAGE, SEDX_MEMORY_GPU, "ordered", &b), SEDX_SUCCESS);
    uint8_t *versions = malloc((size_t)N * ROUNDS);
    sedx_download_request reqs[ROUNDS];
    for (int i = 0; i < ROUNDS; ++i) {
        fill_nonzero(versions + (size_t)i * N, N);
        assert_int_equal(sedx_upload(ctx, &b, 0, N, versions + (size_t)i * N), SEDX_SUCCESS); /* not submitted */
        assert_int_equal(sedx_download_async(ctx, &b, 0, N, &reqs[i]), SEDX_SUCCESS);
    }
    for (int i = ROUNDS - 1; i >= 0; --i) take_and_check(ctx, &reqs[i], versions + (size_t)i * N); /* newest first */
    sedx_buffer_release(&b);
    free(versions);
    expect_empty(ctx);
    tu_context_destroy(ctx);
}

static void test_ordered_with_uploads(void **state)
{
    (void)state;
    ordered_with_uploads(0);
    ordered_with_uploads(SEDX_TRANSFER_NO_DIRECT);
}

static void test_batch(void **state)
{
    (void)state;
    sedx_context *ctx = make_ctx(false, SEDX_TRANSFER_NO_DIRECT, 0);
    uint8_t *shadow;
    sedx_buffer b = make_filled(ctx, 1 << 20, SEDX_MEMORY_GPU, "batch source", &shadow);
    enum { N = 100 };
    sedx_download_async_info infos[N];
    sedx_download_request reqs[N];
    for (int i = 0; i < N; ++i) infos[i] = (sedx_download_async_info){&b, (uint64_t)i * 5000, 1 + (uint64_t)i * 37, NULL, NULL};
    assert_int_equal(sedx_download_async_batch(ctx, infos, N, reqs), SEDX_SUCCESS);
    for (int i = 0; i < N; i += 2) take_and_check(ctx, &reqs[i], shadow + i * 5000);
    for (int i = 1; i < N; i += 2) take_and_check(ctx, &reqs[i], shadow + i * 5000);
    expect_empty(ctx);
    sedx_buffer_release(&b);
    free(shadow);
    tu_context_destroy(ctx);
}

/* Behind a GPU gate: poll returns NOT_READY at once, result NOT_READY (request kept), wait
 * times out; the source released meanwhile; after the gate opens the bytes are right. */
static void gated(uint32_t flags)
{
    sedx_context *ctx = make_ctx(false, flags, 0);
    uint8_t *shadow;
    sedx_buffer b = make_filled(ctx, 65536, SEDX_MEMORY_GPU, "gated source", &shadow);
    assert_int_equal(sedx_upload_flush(ctx), SEDX_SUCCESS);
    sedx_ticket gt;
    VkSemaphore gate = tu_gate(ctx, rb_queue(ctx), &gt);
    sedx_download_request req;
    double t0 = now_ms();
    assert_int_equal(sedx_download_async(ctx, &b, 100, 256, &req), SEDX_SUCCESS);
    double worst = 0;
    for (int i = 0; i < 1000; ++i) {
        double a = now_ms();
        assert_int_equal(sedx_download_poll(ctx, &req), SEDX_NOT_READY);
        double d = now_ms() - a;
        if (d > worst) worst = d;
    }
    assert_true(worst < 50.0); /* it never waits for the GPU (which will not move until the gate opens) */
    uint8_t got[256];
    memset(got, POISON, sizeof got);
    assert_int_equal(sedx_download_result(ctx, &req, got), SEDX_NOT_READY);
    assert_int_not_equal(req.handle, 0); /* kept */
    assert_int_equal(sedx_download_wait(ctx, &req, 1000000), SEDX_TIMEOUT);
    /* the source's last reference goes while the copy is queued */
    sedx_buffer_release(&b);
    sedx_context_collect_garbage(ctx);
    assert_true(now_ms() - t0 < 10000.0);
    tu_open_gate(ctx, gate);
    take_and_check(ctx, &req, shadow + 100);
    assert_int_equal(sedx_ticket_wait(ctx, gt, UINT64_MAX), SEDX_SUCCESS);
    vkDestroySemaphore(sedx_context_device(ctx), gate, NULL);
    free(shadow);
    expect_empty(ctx);
    still_works(ctx);
    tu_context_destroy(ctx);
}

static void test_gated_poll_never_blocks(void **state)
{
    (void)state;
    gated(0);
    gated(SEDX_TRANSFER_NO_DIRECT);
}

/* Callbacks: not run before the GPU is done; run once each by poll / pump / the next request;
 * a callback may call sedx (here: a new request from inside). */
typedef struct cb_state {
    sedx_context *ctx;
    const uint8_t *expect;
    uint64_t size;
    int runs;
    bool chain;
    sedx_buffer *src;
    sedx_download_request chained;
} cb_state;

static void on_bytes(sedx_context *ctx, const void *data, uint64_t size, void *user)
{
    cb_state *s = user;
    assert_ptr_equal(ctx, s->ctx);
    assert_int_equal(size, s->size);
    assert_memory_equal(data, s->expect, size);
    s->runs++;
    if (s->chain) assert_int_equal(sedx_download_async(ctx, s->src, 0, 64, &s->chained), SEDX_SUCCESS);
}

static void test_callbacks(void **state)
{
    (void)state;
    sedx_context *ctx = make_ctx(false, 0, 0);
    uint8_t *shadow;
    sedx_buffer b = make_filled(ctx, 8192, SEDX_MEMORY_GPU, "callback source", &shadow);
    assert_int_equal(sedx_upload_flush(ctx), SEDX_SUCCESS);
    sedx_ticket gt;
    VkSemaphore gate = tu_gate(ctx, rb_queue(ctx), &gt);
    cb_state s[3] = {{ctx, shadow + 10, 100, 0, false, NULL, {0}},
                     {ctx, shadow + 1000, 256, 0, true, &b, {0}},
                     {ctx, shadow, 8192, 0, false, NULL, {0}}};
    sedx_download_async_info infos[3];
    for (int i = 0; i < 3; ++i)
        infos[i] = (sedx_download_async_info){&b, (uint64_t)(s[i].expect - shadow), s[i].size, on_bytes, &s[i]};
    assert_int_equal(sedx_download_async_batch(ctx, infos, 2, NULL), SEDX_SUCCESS);
    sedx_download_request plain[1];
    assert_int_equal(sedx_download_async_batch(ctx, &infos[2], 1, plain), SEDX_SUCCESS);
    assert_int_equal(plain[0].handle, 0); /* a callback request has no handle */
    assert_int_equal(sedx_download_pump(ctx), 0);
    assert_int_equal(s[0].runs + s[1].runs + s[2].runs, 0);
    tu_open_gate(ctx, gate);
    assert_int_equal(sedx_ticket_wait(ctx, gt, UINT64_MAX), SEDX_SUCCESS);
    assert_int_equal(sedx_context_wait_idle(ctx), SEDX_SUCCESS);
    assert_int_equal(sedx_download_pump(ctx), 3);
    assert_int_equal(sedx_download_pump(ctx), 0);
    for (int i = 0; i < 3; ++i) assert_int_equal(s[i].runs, 1);
    take_and_check(ctx, &s[1].chained, shadow); /* the request made inside the callback */
    /* run by the next sedx_download_async once the GPU is done */
    s[0].runs = 0;
    assert_int_equal(sedx_download_async_batch(ctx, &infos[0], 1, NULL), SEDX_SUCCESS);
    assert_int_equal(sedx_context_wait_idle(ctx), SEDX_SUCCESS);
    sedx_download_request r2;
    assert_int_equal(sedx_download_async(ctx, &b, 0, 16, &r2), SEDX_SUCCESS);
    assert_int_equal(s[0].runs, 1);
    take_and_check(ctx, &r2, shadow);
    vkDestroySemaphore(sedx_context_device(ctx), gate, NULL);
    expect_empty(ctx);
    sedx_download_async_stats st;
    assert_int_equal(sedx_download_async_get_stats(ctx, &st), SEDX_SUCCESS);
    assert_int_equal(st.callbacks, 4);
    sedx_buffer_release(&b);
    free(shadow);
    tu_context_destroy(ctx);
}

/* Cancel in flight: the space comes back once the GPU is done, others are untouched. */
static void test_cancel(void **state)
{
    (void)state;
    sedx_context *ctx = make_ctx(false, 0, 0);
    uint8_t *shadow;
    sedx_buffer b = make_filled(ctx, 4096, SEDX_MEMORY_GPU, "cancel source", &shadow);
    assert_int_equal(sedx_upload_flush(ctx), SEDX_SUCCESS);
    sedx_ticket gt;
    VkSemaphore gate = tu_gate(ctx, rb_queue(ctx), &gt);
    sedx_download_request a, c, copy;
    assert_int_equal(sedx_download_async(ctx, &b, 0, 1024, &a), SEDX_SUCCESS);
    assert_int_equal(sedx_download_async(ctx, &b, 1024, 1024, &c), SEDX_SUCCESS);
    copy = a;
    assert_int_equal(sedx_download_cancel(ctx, &a), SEDX_SUCCESS);
    assert_int_equal(a.handle, 0);
    tu_log_capture();
    assert_int_equal(sedx_download_poll(ctx, &copy), SEDX_ERROR_INVALID_HANDLE);
    assert_true(tu_log_contains("stale request"));
    sedx_download_async_stats st;
    assert_int_equal(sedx_download_async_get_stats(ctx, &st), SEDX_SUCCESS);
    assert_int_equal(st.outstanding, 2); /* the cancelled one is still written by the GPU */
    tu_open_gate(ctx, gate);
    assert_int_equal(sedx_context_wait_idle(ctx), SEDX_SUCCESS);
    assert_int_equal(sedx_download_pump(ctx), 0); /* frees the cancelled space; no callback */
    assert_int_equal(sedx_download_async_get_stats(ctx, &st), SEDX_SUCCESS);
    assert_int_equal(st.outstanding, 1);
    take_and_check(ctx, &c, shadow + 1024);
    vkDestroySemaphore(sedx_context_device(ctx), gate, NULL);
    expect_empty(ctx);
    sedx_buffer_release(&b);
    free(shadow);
    tu_context_destroy(ctx);
}

static void on_never(sedx_context *ctx, const void *data, uint64_t size, void *user)
{
    (void)ctx, (void)data, (void)size;
    ++*(int *)user;
}

/* Destroying the context with requests never taken: a warning, no leak, no callback. */
static void test_destroy_with_outstanding(void **state)
{
    (void)state;
    sedx_context *ctx = make_ctx(false, 0, 0);
    uint8_t *shadow;
    sedx_buffer b = make_filled(ctx, 4096, SEDX_MEMORY_GPU, "left behind", &shadow);
    sedx_download_request r;
    assert_int_equal(sedx_download_async(ctx, &b, 0, 4096, &r), SEDX_SUCCESS);
    int runs = 0;
    sedx_download_async_info info = {&b, 0, 16, on_never, &runs};
    assert_int_equal(sedx_download_async_batch(ctx, &info, 1, NULL), SEDX_SUCCESS);
    sedx_buffer_release(&b);
    tu_log_capture();
    tu_context_destroy(ctx);
    assert_true(tu_log_contains("never taken"));
    assert_int_equal(runs, 0);
    free(shadow);
}

/* Every bad input: the exact code, a log line, nothing changed, the context works after. */
static void test_misuse(void **state)
{
    (void)state;
    sedx_context *ctx = make_ctx(false, 0, 64 << 10); /* a 64 KiB ring: exhausted below */
    sedx_context *other = tu_context(false);
    uint8_t *shadow, *oshadow;
    sedx_buffer b = make_filled(ctx, 1 << 20, SEDX_MEMORY_GPU, "misuse source", &shadow);
    sedx_buffer ob = make_filled(other, 4096, SEDX_MEMORY_GPU, "other's", &oshadow);
    sedx_download_request req, good;
    uint8_t dst[256];
    tu_log_capture();
#define EXPECT(call, code, needle)                                                                            \
    do {                                                                                                    \
        tu_log_reset();                                                                                     \
        assert_int_equal((call), (code));                                                                   \
        if (!tu_log_contains(needle)) fail_msg("no log line containing \"%s\" for %s", needle, #call);     \
    } while (0)
    EXPECT(sedx_download_async(NULL, &b, 0, 4, &req), SEDX_ERROR_INVALID_ARGUMENT, "ctx is NULL");
    assert_int_equal(req.handle, 0);
    EXPECT(sedx_download_async(ctx, &b, 0, 4, NULL), SEDX_ERROR_INVALID_ARGUMENT, "out is NULL");
    EXPECT(sedx_download_async(ctx, NULL, 0, 4, &req), SEDX_ERROR_INVALID_HANDLE, "buffer pointer is NULL");
    EXPECT(sedx_download_async(ctx, &b, 0, 0, &req), SEDX_ERROR_INVALID_SIZE, "size 0");
    EXPECT(sedx_download_async(ctx, &b, (1 << 20) - 3, 4, &req), SEDX_ERROR_OUT_OF_BOUNDS, "outside");
    EXPECT(sedx_download_async(ctx, &b, UINT64_MAX, 2, &req), SEDX_ERROR_OUT_OF_BOUNDS, "outside");
    EXPECT(sedx_download_async(ctx, &ob, 0, 4, &req), SEDX_ERROR_WRONG_CONTEXT, "another context");
    EXPECT(sedx_download_async(ctx, &b, 0, (64 << 10) + 1, &req), SEDX_ERROR_INVALID_SIZE, "more than");
    sedx_buffer gone, stale;
    assert_int_equal(sedx_buffer_create(ctx, 64, SEDX_BUFFER_USAGE_STORAGE, SEDX_MEMORY_GPU, "gone", &gone),
                     SEDX_SUCCESS);
    stale = gone;
    sedx_buffer_release(&gone);
    EXPECT(sedx_download_async(ctx, &gone, 0, 4, &req), SEDX_ERROR_INVALID_HANDLE, "already released");
    EXPECT(sedx_download_async(ctx, &stale, 0, 4, &req), SEDX_ERROR_INVALID_HANDLE, "invalid handle");
    /* batch: NULL infos; out NULL without callback; all or nothing */
    sedx_download_request pair[2]; /* out has count entries: a refusal zeroes them all */
    EXPECT(sedx_download_async_batch(ctx, NULL, 2, pair), SEDX_ERROR_INVALID_ARGUMENT, "infos is NULL");
    sedx_download_async_info infos[3] = {{&b, 0, 16, NULL, NULL}, {&b, 16, 16, NULL, NULL}, {&b, 1 << 20, 1, NULL, NULL}};
    EXPECT(sedx_download_async_batch(ctx, infos, 1, NULL), SEDX_ERROR_INVALID_ARGUMENT, "no callback");
    sedx_download_request three[3];
    EXPECT(sedx_download_async_batch(ctx, infos, 3, three), SEDX_ERROR_OUT_OF_BOUNDS, "outside");
    sedx_download_async_stats st;
    assert_int_equal(sedx_download_async_get_stats(ctx, &st), SEDX_SUCCESS);
    assert_int_equal(st.requests, 0); /* nothing recorded */
    assert_int_equal(three[0].handle, 0);
    /* request handles */
    assert_int_equal(sedx_download_async(ctx, &b, 64, 200, &good), SEDX_SUCCESS);
    sedx_download_request zero = {0}, forged = good, foreign = good, copy = good;
    forged.handle ^= 0x5A5A00000000ull;
    foreign.context_id ^= 0x77;
    EXPECT(sedx_download_poll(NULL, &good), SEDX_ERROR_INVALID_ARGUMENT, "ctx is NULL");
    EXPECT(sedx_download_poll(ctx, NULL), SEDX_ERROR_INVALID_ARGUMENT, "req is NULL");
    EXPECT(sedx_download_wait(ctx, NULL, 0), SEDX_ERROR_INVALID_ARGUMENT, "req is NULL");
    EXPECT(sedx_download_result(ctx, NULL, dst), SEDX_ERROR_INVALID_ARGUMENT, "req is NULL");
    EXPECT(sedx_download_cancel(NULL, &good), SEDX_ERROR_INVALID_ARGUMENT, "ctx is NULL");
    EXPECT(sedx_download_poll(ctx, &zero), SEDX_ERROR_INVALID_HANDLE, "empty request");
    EXPECT(sedx_download_result(ctx, &zero, dst), SEDX_ERROR_INVALID_HANDLE, "empty request");
    EXPECT(sedx_download_poll(ctx, &forged), SEDX_ERROR_INVALID_HANDLE, "stale request");
    EXPECT(sedx_download_wait(ctx, &forged, 0), SEDX_ERROR_INVALID_HANDLE, "stale request");
    EXPECT(sedx_download_result(ctx, &forged, dst), SEDX_ERROR_INVALID_HANDLE, "stale request");
    EXPECT(sedx_download_cancel(ctx, &forged), SEDX_ERROR_INVALID_HANDLE, "stale request");
    EXPECT(sedx_download_poll(ctx, &foreign), SEDX_ERROR_INVALID_HANDLE, "another context");
    EXPECT(sedx_download_poll(other, &good), SEDX_ERROR_INVALID_HANDLE, "another context");
    EXPECT(sedx_download_result(other, &good, dst), SEDX_ERROR_INVALID_HANDLE, "another context");
    EXPECT(sedx_download_result(ctx, &good, NULL), SEDX_ERROR_INVALID_ARGUMENT, "dst is NULL");
    take_and_check(ctx, &good, shadow + 64); /* still intact after all of that */
    EXPECT(sedx_download_result(ctx, &good, dst), SEDX_ERROR_INVALID_HANDLE, "empty request"); /* double take */
    EXPECT(sedx_download_result(ctx, &copy, dst), SEDX_ERROR_INVALID_HANDLE, "stale request"); /* copy of it */
    EXPECT(sedx_download_cancel(ctx, &copy), SEDX_ERROR_INVALID_HANDLE, "stale request");
    EXPECT(sedx_download_async_get_stats(ctx, NULL), SEDX_ERROR_INVALID_ARGUMENT, "NULL argument");
    assert_int_equal(sedx_download_pump(NULL), 0);
    /* ring exhausted: 64 KiB in 16 KiB requests; never waits (nobody would free the space) */
    sedx_download_request fill[4];
    for (int i = 0; i < 4; ++i) assert_int_equal(sedx_download_async(ctx, &b, (uint64_t)i << 14, 16 << 10, &fill[i]), SEDX_SUCCESS);
    EXPECT(sedx_download_async(ctx, &b, 0, 16, &req), SEDX_ERROR_OUT_OF_STAGING, "readback ring is full");
    assert_int_equal(req.handle, 0);
    assert_int_equal(sedx_download_async_get_stats(ctx, &st), SEDX_SUCCESS);
    assert_int_equal(st.full_errors, 1);
    assert_int_equal(st.ring_size, 64 << 10);
    take_and_check(ctx, &fill[2], shadow + (2 << 14)); /* out of order: the third frees a hole */
    assert_int_equal(sedx_download_async(ctx, &b, 5, 16 << 10, &req), SEDX_SUCCESS);
    take_and_check(ctx, &fill[0], shadow);
    take_and_check(ctx, &req, shadow + 5);
    take_and_check(ctx, &fill[3], shadow + (3 << 14));
    take_and_check(ctx, &fill[1], shadow + (1 << 14));
    expect_empty(ctx);
#undef EXPECT
    still_works(ctx);
    sedx_buffer_release(&b);
    sedx_buffer_release(&ob);
    free(shadow);
    free(oshadow);
    tu_context_destroy(other);
    tu_context_destroy(ctx);
}

/* ------------------------------------------------------------------------------------------
 * Recorded into the frame's command buffer (sedx_download_async_record)
 * ---------------------------------------------------------------------------------------- */
typedef struct rec_req {
    sedx_download_request req;
    uint8_t *expect; /* the bytes at record time */
} rec_req;

static void rec_take(sedx_context *ctx, rec_req *r)
{
    uint64_t n = r->req.size;
    uint8_t *got = malloc(n);
    memset(got, POISON, n);
    double a = now_ms();
    assert_int_equal(sedx_download_poll(ctx, &r->req), SEDX_SUCCESS); /* no wait: the begin waited for its frame */
    assert_int_equal(sedx_download_result(ctx, &r->req, got), SEDX_SUCCESS);
    assert_true(now_ms() - a < 1000.0);
    if (memcmp(got, r->expect, n) != 0) {
        for (uint64_t i = 0; i < n; ++i)
            if (got[i] != r->expect[i]) fail_msg("recorded request: byte %llu of %llu is 0x%02x, expected 0x%02x",
                                                 (unsigned long long)i, (unsigned long long)n, got[i], r->expect[i]);
    }
    assert_int_equal(r->req.handle, 0);
    free(got);
    free(r->expect);
    r->expect = NULL;
}

/* frames_in_flight F: every frame writes fresh random bytes into a range of `pick` with
 * vkCmdUpdateBuffer in its own command buffer, then records per_frame readbacks of random
 * ranges of `pick` (overlapping the write or not) and of four uploaded buffers (GPU and CPU
 * memory, poisoned first); submits; sedx_frame_end gives them the submission. Frame n's
 * requests are taken (shuffled) right after sedx_frame_begin of frame n + F: poll says ready
 * without waiting, each byte is the one of the request's moment (later frames' writes to the
 * same bytes are not seen). */
static void record_frames(bool sync, uint32_t flags, uint32_t F, uint32_t frames, uint32_t per_frame)
{
    sedx_context *ctx = make_ctx(sync, flags, 0);
    sedx_frame_info fi = {0};
    fi.frames_in_flight = F;
    assert_int_equal(sedx_frames_configure(ctx, &fi), SEDX_SUCCESS);
    enum { NBUF = 4, BUF = 256 << 10, PICK = 64 << 10 };
    sedx_buffer bufs[NBUF], pick;
    uint8_t *shadow[NBUF], *pshadow = malloc(PICK);
    for (int i = 0; i < NBUF; ++i)
        bufs[i] = make_filled(ctx, BUF, (i & 1) ? SEDX_MEMORY_CPU : SEDX_MEMORY_GPU, "recorded source", &shadow[i]);
    assert_int_equal(sedx_buffer_create(ctx, PICK, SEDX_BUFFER_USAGE_STORAGE | SEDX_BUFFER_USAGE_TRANSFER_DST,
                                        SEDX_MEMORY_GPU, "picking ids", &pick), SEDX_SUCCESS);
    memset(pshadow, POISON, PICK);
    assert_int_equal(sedx_upload(ctx, &pick, 0, PICK, pshadow), SEDX_SUCCESS);
    assert_int_equal(sedx_upload_flush(ctx), SEDX_SUCCESS); /* the frames' queue sees the uploads */
    rec_req *reqs = calloc((size_t)(F + 1) * per_frame, sizeof *reqs);
    uint32_t taken = 0;
    for (uint32_t frame = 0; frame < frames + F; ++frame) {
        sedx_frame *fr;
        assert_int_equal(sedx_frame_begin(ctx, &fr), SEDX_SUCCESS);
        if (frame >= F) { /* frame - F's answers, in a shuffled order */
            rec_req *old = &reqs[((frame - F) % (F + 1)) * per_frame];
            for (uint32_t i = per_frame - 1; i > 0; --i) {
                uint32_t j = (uint32_t)(tu_rand(&g_rng) % (i + 1));
                rec_req x = old[i];
                old[i] = old[j];
                old[j] = x;
            }
            for (uint32_t i = 0; i < per_frame; ++i, ++taken) rec_take(ctx, &old[i]);
        }
        if (frame >= frames) {
            assert_int_equal(sedx_frame_end(ctx, fr, (sedx_ticket){0, 0, 0}), SEDX_SUCCESS);
            continue;
        }
        sedx_cmd cmd;
        assert_int_equal(sedx_cmd_begin(ctx, SEDX_QUEUE_GRAPHICS, &cmd), SEDX_SUCCESS);
        rec_req *mine = &reqs[(frame % (F + 1)) * per_frame];
        for (uint32_t i = 0; i < per_frame; ++i) {
            rec_req *r = &mine[i];
            const sedx_buffer *src;
            uint64_t size, off;
            const uint8_t *now;
            if (i % 2 == 0) { /* the picking pass: written by this frame's commands just before */
                uint64_t wsize = 4 * (1 + tu_rand(&g_rng) % 256), woff = 4 * (tu_rand(&g_rng) % ((PICK - wsize) / 4 + 1));
                uint8_t w[1024];
                fill_nonzero(w, wsize);
                vkCmdUpdateBuffer(cmd.cmd, sedx_buffer_vk(&pick), woff, wsize, w);
                memcpy(pshadow + woff, w, wsize);
                size = 1 + tu_rand(&g_rng) % 2048;
                off = (tu_rand(&g_rng) & 1) ? woff : tu_rand(&g_rng) % (PICK - size + 1);
                if (off + size > PICK) off = PICK - size;
                src = &pick;
                now = pshadow + off;
            } else {
                int k = (int)(tu_rand(&g_rng) % NBUF);
                size = 1 + tu_rand(&g_rng) % 4096;
                off = tu_rand(&g_rng) % (BUF - size + 1);
                src = &bufs[k];
                now = shadow[k] + off;
            }
            assert_int_equal(sedx_download_async_record(ctx, &cmd, src, off, size, &r->req), SEDX_SUCCESS);
            assert_int_equal(r->req.size, size);
            r->expect = malloc(size);
            memcpy(r->expect, now, size);
        }
        if (frame == 0) { /* before the submit: not ready, never blocks, never waited for */
            uint8_t got[16];
            double a = now_ms();
            assert_int_equal(sedx_download_poll(ctx, &mine[0].req), SEDX_NOT_READY);
            assert_int_equal(sedx_download_result(ctx, &mine[0].req, got), SEDX_NOT_READY);
            tu_log_capture();
            assert_int_equal(sedx_download_wait(ctx, &mine[0].req, UINT64_MAX), SEDX_ERROR_BUSY);
            assert_true(tu_log_contains("not given its submission"));
            tu_log_reset();
            assert_true(now_ms() - a < 1000.0);
            sedx_download_async_stats st;
            assert_int_equal(sedx_download_async_get_stats(ctx, &st), SEDX_SUCCESS);
            assert_int_equal(st.unsubmitted, per_frame);
            assert_int_equal(st.recorded, per_frame);
        }
        sedx_ticket tk;
        assert_int_equal(sedx_cmd_submit(ctx, &cmd, NULL, &tk), SEDX_SUCCESS);
        assert_int_equal(sedx_frame_end(ctx, fr, tk), SEDX_SUCCESS);
        sedx_download_async_stats st;
        assert_int_equal(sedx_download_async_get_stats(ctx, &st), SEDX_SUCCESS);
        assert_int_equal(st.unsubmitted, 0); /* sedx_frame_end gave every one its submission */
    }
    assert_int_equal(taken, frames * per_frame);
    sedx_download_async_stats st;
    assert_int_equal(sedx_download_async_get_stats(ctx, &st), SEDX_SUCCESS);
    assert_int_equal(st.recorded, (uint64_t)frames * per_frame);
    expect_empty(ctx);
    for (int i = 0; i < NBUF; ++i) {
        sedx_buffer_release(&bufs[i]);
        free(shadow[i]);
    }
    sedx_buffer_release(&pick);
    free(pshadow);
    free(reqs);
    still_works(ctx);
    tu_context_destroy(ctx);
}

static void test_record_in_frames(void **state)
{
    (void)state;
    record_frames(false, 0, 2, 40, 6);
    record_frames(false, 0, 3, 40, 6);
    record_frames(false, SEDX_TRANSFER_NO_DIRECT, 1, 20, 4);
}

/* 1,000 requests over 100 frames (3 in flight), synchronization validation on. */
static void test_record_1000_sync(void **state)
{
    (void)state;
    record_frames(true, 0, 3, 100, 10);
}

/* A recorded request behind a GPU gate: the frame's submission waits for the host; every
 * poll returns NOT_READY at once, result NOT_READY, wait times out; the source is released
 * meanwhile (the request holds it); after the gate the bytes are right. */
static void test_record_gated(void **state)
{
    (void)state;
    sedx_context *ctx = make_ctx(false, 0, 0);
    uint8_t *shadow;
    sedx_buffer b = make_filled(ctx, 65536, SEDX_MEMORY_GPU, "recorded gated source", &shadow);
    assert_int_equal(sedx_upload_flush(ctx), SEDX_SUCCESS);
    sedx_ticket gt;
    VkSemaphore gate = tu_gate(ctx, SEDX_QUEUE_GRAPHICS, &gt);
    sedx_frame *fr;
    assert_int_equal(sedx_frame_begin(ctx, &fr), SEDX_SUCCESS);
    sedx_cmd cmd;
    assert_int_equal(sedx_cmd_begin(ctx, SEDX_QUEUE_GRAPHICS, &cmd), SEDX_SUCCESS);
    sedx_download_request req;
    assert_int_equal(sedx_download_async_record(ctx, &cmd, &b, 300, 256, &req), SEDX_SUCCESS);
    sedx_buffer_release(&b); /* the request holds it until its submission is known */
    sedx_context_collect_garbage(ctx);
    sedx_ticket tk;
    assert_int_equal(sedx_cmd_submit(ctx, &cmd, NULL, &tk), SEDX_SUCCESS);
    assert_int_equal(sedx_frame_end(ctx, fr, tk), SEDX_SUCCESS);
    double worst = 0;
    for (int i = 0; i < 1000; ++i) {
        double a = now_ms();
        assert_int_equal(sedx_download_poll(ctx, &req), SEDX_NOT_READY);
        double d = now_ms() - a;
        if (d > worst) worst = d;
    }
    assert_true(worst < 50.0);
    uint8_t got[256];
    memset(got, POISON, sizeof got);
    assert_int_equal(sedx_download_result(ctx, &req, got), SEDX_NOT_READY);
    assert_int_equal(sedx_download_wait(ctx, &req, 1000000), SEDX_TIMEOUT);
    sedx_context_collect_garbage(ctx);
    tu_open_gate(ctx, gate);
    take_and_check(ctx, &req, shadow + 300);
    assert_int_equal(sedx_ticket_wait(ctx, gt, UINT64_MAX), SEDX_SUCCESS);
    vkDestroySemaphore(sedx_context_device(ctx), gate, NULL);
    free(shadow);
    expect_empty(ctx);
    still_works(ctx);
    tu_context_destroy(ctx);
}

/* Without frames: the explicit sedx_download_async_submitted; a cancel while the command buffer
 * is still being recorded keeps the space until the submission is known and has passed. */
static void test_record_submitted(void **state)
{
    (void)state;
    sedx_context *ctx = make_ctx(false, 0, 0);
    uint8_t *shadow;
    sedx_buffer b = make_filled(ctx, 8192, SEDX_MEMORY_GPU, "recorded explicit", &shadow);
    assert_int_equal(sedx_upload_flush(ctx), SEDX_SUCCESS);
    for (int round = 0; round < 20; ++round) {
        sedx_cmd cmd;
        assert_int_equal(sedx_cmd_begin(ctx, SEDX_QUEUE_GRAPHICS, &cmd), SEDX_SUCCESS);
        sedx_download_request r[4];
        for (int i = 0; i < 4; ++i)
            assert_int_equal(sedx_download_async_record(ctx, &cmd, &b, (uint64_t)(round * 100 + i * 1000), 100 + i, &r[i]),
                             SEDX_SUCCESS);
        assert_int_equal(sedx_download_cancel(ctx, &r[3]), SEDX_SUCCESS); /* not submitted yet */
        sedx_download_async_stats st;
        assert_int_equal(sedx_download_async_get_stats(ctx, &st), SEDX_SUCCESS);
        assert_int_equal(st.outstanding, 4); /* the cancelled one: its command buffer may still run */
        sedx_ticket tk;
        assert_int_equal(sedx_cmd_submit(ctx, &cmd, NULL, &tk), SEDX_SUCCESS);
        assert_int_equal(sedx_download_async_submitted(ctx, r, 3, tk), SEDX_SUCCESS);
        assert_int_equal(sedx_download_async_submitted_all(ctx), 1); /* finds the cancelled one's */
        for (int i = 2; i >= 0; --i) take_and_check(ctx, &r[i], shadow + round * 100 + i * 1000);
        assert_int_equal(sedx_context_wait_idle(ctx), SEDX_SUCCESS);
        sedx_download_pump(ctx);
        expect_empty(ctx);
    }
    /* the old and new paths side by side, in one command buffer and around it */
    sedx_cmd cmd;
    assert_int_equal(sedx_cmd_begin(ctx, SEDX_QUEUE_GRAPHICS, &cmd), SEDX_SUCCESS);
    sedx_download_request a, c;
    assert_int_equal(sedx_download_async_record(ctx, &cmd, &b, 0, 512, &a), SEDX_SUCCESS);
    assert_int_equal(sedx_download_async(ctx, &b, 512, 512, &c), SEDX_SUCCESS);
    sedx_ticket tk;
    assert_int_equal(sedx_cmd_submit(ctx, &cmd, NULL, &tk), SEDX_SUCCESS);
    assert_int_equal(sedx_download_async_submitted_all(ctx), 1);
    take_and_check(ctx, &c, shadow + 512);
    take_and_check(ctx, &a, shadow);
    sedx_buffer_release(&b);
    free(shadow);
    expect_empty(ctx);
    tu_context_destroy(ctx);
}

int main(void)
{
    g_rng = tu_seed();
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_many_in_flight),      cmocka_unit_test(test_many_in_flight_staged),
        cmocka_unit_test(test_sync_validation),     cmocka_unit_test(test_ordered_with_uploads),
        cmocka_unit_test(test_batch),               cmocka_unit_test(test_gated_poll_never_blocks),
        cmocka_unit_test(test_callbacks),           cmocka_unit_test(test_cancel),
        cmocka_unit_test(test_destroy_with_outstanding), cmocka_unit_test(test_misuse),
        cmocka_unit_test(test_record_in_frames),    cmocka_unit_test(test_record_1000_sync),
        cmocka_unit_test(test_record_gated),        cmocka_unit_test(test_record_submitted),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
