/* Misuse catalog, transfer.h asynchronous readback: sedx_download_async / _async_batch, _poll,
 * _wait, _result, _cancel, _pump, sedx_download_async_get_stats, and the recorded requests:
 * sedx_download_async_record / _submitted / _submitted_all (docs/readback.md has the
 * model). The contexts here have a 64 KiB asynchronous readback ring. The harness is
 * tests/gpu/misuse_util.h; docs/errors.md lists every case. */
#include "misuse_util.h"

#include <pthread.h>
#include <stdatomic.h>

enum { RING = 64 << 10, N = 128 << 10 };

static sedx_context *rb_context(void)
{
    sedx_context *ctx = mis_context(0, NULL);
    sedx_transfer_info ti = {0};
    ti.readback_size = RING;
    assert_int_equal(sedx_transfer_configure(ctx, &ti), SEDX_SUCCESS);
    return ctx;
}

static sedx_download_async_stats rb_stats(sedx_context *ctx)
{
    sedx_download_async_stats st;
    memset(&st, 0xFF, sizeof st);
    assert_int_equal(sedx_download_async_get_stats(ctx, &st), SEDX_SUCCESS);
    return st;
}

/* Waits for req and takes its bytes; true when they equal expect. */
static bool take_is(sedx_context *ctx, sedx_download_request *req, const void *expect)
{
    uint64_t n = req->size;
    uint8_t *got = malloc(n ? n : 1);
    memset(got, 0xEE, n);
    bool ok = sedx_download_wait(ctx, req, UINT64_MAX) == SEDX_SUCCESS &&
              sedx_download_result(ctx, req, got) == SEDX_SUCCESS && memcmp(got, expect, n) == 0 && req->handle == 0;
    free(got);
    return ok;
}

/* Nothing held: every request taken, cancelled or run. */
static bool ring_empty(sedx_context *ctx)
{
    sedx_download_pump(ctx);
    sedx_download_async_stats st = rb_stats(ctx);
    return st.outstanding == 0 && st.ring_used == 0;
}

/* An upload and an asynchronous readback of random bytes still work. */
static bool async_works(sedx_context *ctx)
{
    enum { M = 777 };
    uint8_t in[M];
    tu_fill_random(in, M, &g_mis.rng);
    sedx_buffer b = {0};
    sedx_download_request req;
    bool ok = sedx_buffer_create(ctx, M, SEDX_BUFFER_USAGE_STORAGE, SEDX_MEMORY_GPU, "misuse async works", &b) ==
                  SEDX_SUCCESS &&
              sedx_upload(ctx, &b, 0, M, in) == SEDX_SUCCESS && sedx_download_async(ctx, &b, 0, M, &req) == SEDX_SUCCESS &&
              take_is(ctx, &req, in);
    sedx_buffer_release(&b);
    return ok;
}

typedef struct cb_log {
    int calls;
    uint64_t size;
    uint8_t first;
} cb_log;

static void on_bytes(sedx_context *ctx, const void *data, uint64_t size, void *user)
{
    (void)ctx;
    cb_log *l = user;
    l->calls++;
    l->size = size;
    l->first = *(const uint8_t *)data;
}

/* ------------------------------------------------------------------------------------------
 * sedx_download_async / sedx_download_async_batch
 * ---------------------------------------------------------------------------------------- */
static void test_request(void **state)
{
    (void)state;
    mis_begin();
    sedx_context *ctx = rb_context();
    sedx_context *other = rb_context();
    mis_bad_set s;
    mis_bad_set_init(ctx, &s);
    sedx_buffer b, foreign;
    assert_int_equal(sedx_buffer_create(ctx, N, SEDX_BUFFER_USAGE_STORAGE, SEDX_MEMORY_GPU, "misuse readback", &b),
                     SEDX_SUCCESS);
    assert_int_equal(sedx_buffer_create(other, 4096, SEDX_BUFFER_USAGE_STORAGE, SEDX_MEMORY_GPU, "misuse foreign", &foreign),
                     SEDX_SUCCESS);
    static uint8_t ref[N];
    tu_fill_random(ref, N, &g_mis.rng);
    assert_int_equal(sedx_upload(ctx, &b, 0, N, ref), SEDX_SUCCESS);
    assert_int_equal(sedx_upload_flush(ctx), SEDX_SUCCESS);

    const char *const A = "sedx_download_async", *const B = "sedx_download_async_batch";
    sedx_download_request req;
    /* a refused request zeroes *out */
#define ASYNC_BAD(input, expected, log, call)                                                      \
    do {                                                                                           \
        memset(&req, 0x5E, sizeof req);                                                            \
        if (MIS_RC(A, input, expected, log, call) == SEDX_SUCCESS) sedx_download_cancel(ctx, &req); \
        MIS_TRUE(A, input, "*out zeroed", mis_all(&req, 0, sizeof req));                           \
    } while (0)
    ASYNC_BAD("NULL ctx", SEDX_ERROR_INVALID_ARGUMENT, "sedx_download_async: ctx is NULL",
              sedx_download_async(NULL, &b, 0, 16, &req));
    MIS_RC(A, "NULL out", SEDX_ERROR_INVALID_ARGUMENT, "sedx_download_async: out is NULL",
           sedx_download_async(ctx, &b, 0, 16, NULL));
    for (int k = 0; k < MIS_BAD_COUNT; ++k)
        ASYNC_BAD(mis_bad_name[k], SEDX_ERROR_INVALID_HANDLE, mis_bad_log[k],
                  sedx_download_async(ctx, mis_bad_ptr(&s, k), 0, 16, &req));
    ASYNC_BAD("another context's buffer", SEDX_ERROR_WRONG_CONTEXT, "belongs to another context",
              sedx_download_async(ctx, &foreign, 0, 16, &req));
    ASYNC_BAD("past the end (131068 + 8 > 131072)", SEDX_ERROR_OUT_OF_BOUNDS, "is outside its 131072 bytes",
              sedx_download_async(ctx, &b, N - 4, 8, &req));
    ASYNC_BAD("offset + size wraps (offset UINT64_MAX)", SEDX_ERROR_OUT_OF_BOUNDS, "is outside its 131072 bytes",
              sedx_download_async(ctx, &b, UINT64_MAX, 2, &req));
    ASYNC_BAD("size past 2^63", SEDX_ERROR_OUT_OF_BOUNDS, "is outside its 131072 bytes",
              sedx_download_async(ctx, &b, 0, (UINT64_C(1) << 63) + 1, &req));
    ASYNC_BAD("size 0 past the end", SEDX_ERROR_OUT_OF_BOUNDS, "is outside its 131072 bytes",
              sedx_download_async(ctx, &b, N + 1, 0, &req));
    ASYNC_BAD("size 0", SEDX_ERROR_INVALID_SIZE, "size 0", sedx_download_async(ctx, &b, 16, 0, &req));
    ASYNC_BAD("larger than the readback ring (65537 of a 64 KiB ring)", SEDX_ERROR_INVALID_SIZE,
              "65537 bytes are more than the 65536-byte readback ring", sedx_download_async(ctx, &b, 0, RING + 1, &req));
    MIS_TRUE(A, "every refused request", "nothing recorded", rb_stats(ctx).requests == 0 && ring_empty(ctx));

    /* batches: all or nothing */
    sedx_download_request three[3];
    sedx_download_async_info in[3] = {{&b, 0, 16, NULL, NULL}, {&b, 64, 32, NULL, NULL}, {&b, 128, 8, NULL, NULL}};
    memset(three, 0x5E, sizeof three);
    MIS_RC(B, "NULL ctx", SEDX_ERROR_INVALID_ARGUMENT, "sedx_download_async: ctx is NULL",
           sedx_download_async_batch(NULL, in, 3, three));
    MIS_TRUE(B, "NULL ctx", "out zeroed", mis_all(three, 0, sizeof three));
    memset(three, 0x5E, sizeof three);
    /* the old code left out as it was when infos was NULL (every other refusal zeroed it) */
    MIS_RC(B, "NULL infos with count 3", SEDX_ERROR_INVALID_ARGUMENT, "sedx_download_async: infos is NULL",
           sedx_download_async_batch(ctx, NULL, 3, three));
    MIS_TRUE(B, "NULL infos with count 3", "out zeroed (its count entries)", mis_all(three, 0, sizeof three));
    MIS_RC(B, "out NULL while an info has no callback", SEDX_ERROR_INVALID_ARGUMENT, "request 1 has no callback",
           sedx_download_async_batch(ctx, (sedx_download_async_info[2]){{&b, 0, 16, on_bytes, NULL}, {&b, 0, 16, NULL, NULL}},
                                     2, NULL));
    MIS_RC(B, "(valid) count 0 (no-op)", SEDX_SUCCESS, LOG_NONE, sedx_download_async_batch(ctx, in, 0, three));
    MIS_RC(B, "(valid) count 0 with NULL infos and out", SEDX_SUCCESS, LOG_NONE, sedx_download_async_batch(ctx, NULL, 0, NULL));
#define BATCH_BAD(input, expected, log, third)                                                                 \
    do {                                                                                                       \
        in[2] = third;                                                                                         \
        memset(three, 0x5E, sizeof three);                                                                     \
        MIS_RC(B, input, expected, log, sedx_download_async_batch(ctx, in, 3, three));                         \
        MIS_TRUE(B, input, "no entry recorded, out zeroed",                                                    \
                 mis_all(three, 0, sizeof three) && rb_stats(ctx).requests == 0 && ring_empty(ctx));           \
    } while (0)
    BATCH_BAD("third entry past the end", SEDX_ERROR_OUT_OF_BOUNDS, "is outside its 131072 bytes",
              ((sedx_download_async_info){&b, N - 8, 16, NULL, NULL}));
    BATCH_BAD("third entry's src NULL", SEDX_ERROR_INVALID_HANDLE, "buffer pointer is NULL",
              ((sedx_download_async_info){NULL, 0, 16, NULL, NULL}));
    BATCH_BAD("third entry's src released", SEDX_ERROR_INVALID_HANDLE, "invalid handle",
              ((sedx_download_async_info){&s.released, 0, 16, NULL, NULL}));
    BATCH_BAD("third entry's src a stale copy", SEDX_ERROR_INVALID_HANDLE, "invalid handle",
              ((sedx_download_async_info){&s.stale, 0, 16, NULL, NULL}));
    BATCH_BAD("third entry's src of another context", SEDX_ERROR_WRONG_CONTEXT, "belongs to another context",
              ((sedx_download_async_info){&foreign, 0, 16, NULL, NULL}));
    BATCH_BAD("third entry size 0", SEDX_ERROR_INVALID_SIZE, "size 0", ((sedx_download_async_info){&b, 0, 0, NULL, NULL}));
    BATCH_BAD("third entry larger than the ring", SEDX_ERROR_INVALID_SIZE, "readback ring",
              ((sedx_download_async_info){&b, 0, RING + 16, NULL, NULL}));
    BATCH_BAD("the three together larger than the ring (3 x 24 KiB)", SEDX_ERROR_OUT_OF_STAGING, "readback ring is full",
              (in[0].size = in[1].size = 24 << 10, in[1].offset = 24 << 10, (sedx_download_async_info){&b, 48 << 10, 24 << 10, NULL, NULL}));
    MIS_TRUE(B, "the three together larger than the ring", "counted in full_errors", rb_stats(ctx).full_errors == 1);
    in[0] = (sedx_download_async_info){&b, 0, 16, NULL, NULL};
    in[1] = (sedx_download_async_info){&b, 64, 32, NULL, NULL};
    in[2] = (sedx_download_async_info){&b, 128, 8, NULL, NULL};
    MIS_RC(B, "(valid) after the refused ones", SEDX_SUCCESS, LOG_NONE, sedx_download_async_batch(ctx, in, 3, three));
    MIS_TRUE(B, "(valid) after the refused ones", "each request gives its bytes",
             take_is(ctx, &three[2], ref + 128) && take_is(ctx, &three[0], ref) && take_is(ctx, &three[1], ref + 64));
    /* callback entries: no handle (their out entry is zeroed), out may be NULL when all have one */
    cb_log l1 = {0}, l2 = {0};
    sedx_download_async_info cbs[2] = {{&b, 5, 9, on_bytes, &l1}, {&b, 4096, 100, on_bytes, &l2}};
    MIS_RC(B, "(valid) callbacks only, out NULL", SEDX_SUCCESS, LOG_NONE, sedx_download_async_batch(ctx, cbs, 2, NULL));
    assert_int_equal(sedx_context_wait_idle(ctx), SEDX_SUCCESS); /* runs no callback */
    MIS_VAL("sedx_download_pump", "(valid) two callbacks due", 2, LOG_NONE, sedx_download_pump(ctx));
    MIS_TRUE(B, "(valid) callbacks only", "each ran once with its bytes",
             l1.calls == 1 && l2.calls == 1 && l1.size == 9 && l1.first == ref[5] && l2.size == 100 &&
                 l2.first == ref[4096]);
    sedx_download_async_info mixed[2] = {{&b, 7, 1, on_bytes, &l1}, {&b, 200, 50, NULL, NULL}};
    sedx_download_request two[2];
    MIS_RC(B, "(valid) a callback entry and a plain one", SEDX_SUCCESS, LOG_NONE,
           sedx_download_async_batch(ctx, mixed, 2, two));
    MIS_RC("sedx_download_poll", "a callback entry's out (zeroed)", SEDX_ERROR_INVALID_HANDLE, "empty request",
           sedx_download_poll(ctx, &two[0]));
    MIS_TRUE(B, "(valid) a callback entry and a plain one", "the plain one gives its bytes", take_is(ctx, &two[1], ref + 200));
    assert_int_equal(sedx_context_wait_idle(ctx), SEDX_SUCCESS);
    sedx_download_pump(ctx); /* poll / wait / result may have run it already */
    MIS_TRUE(B, "(valid) a callback entry and a plain one", "the callback ran once", l1.calls == 2 && l1.first == ref[7]);
    MIS_VAL("sedx_download_pump", "(valid) nothing due", 0, LOG_NONE, sedx_download_pump(ctx));
    MIS_VAL("sedx_download_pump", "NULL ctx", 0, LOG_NONE, sedx_download_pump(NULL));

    /* the source released right after the request: its last use is recorded */
    sedx_buffer tmp;
    assert_int_equal(sedx_buffer_create(ctx, 4096, SEDX_BUFFER_USAGE_STORAGE, SEDX_MEMORY_GPU, "misuse released later",
                                        &tmp), SEDX_SUCCESS);
    assert_int_equal(sedx_upload(ctx, &tmp, 0, 4096, ref), SEDX_SUCCESS);
    MIS_RC(A, "(valid) source released right after the request", SEDX_SUCCESS, LOG_NONE,
           sedx_download_async(ctx, &tmp, 0, 4096, &req));
    sedx_buffer stale_tmp = tmp;
    sedx_buffer_release(&tmp);
    MIS_TRUE(A, "(valid) source released right after the request", "the result has the bytes of the request's time",
             take_is(ctx, &req, ref));
    ASYNC_BAD("a released buffer (request after the release)", SEDX_ERROR_INVALID_HANDLE, "invalid handle",
              sedx_download_async(ctx, &stale_tmp, 0, 16, &req));
    MIS_TRUE(A, "every request", "the ring is empty again", ring_empty(ctx));
    MIS_TRUE("context", "download_async", "asynchronous readback works", async_works(ctx));
    /* a request refused for its size creates nothing: the readback ring configured afterwards is
     * the one used (the old code created the 64 KiB ring before the size check, kept it, and
     * refused the request below) */
    sedx_context *fresh = rb_context();
    sedx_buffer fb;
    /* CPU memory: the upload is direct on every device (a GPU buffer went through the staging
     * ring on the H100, and that ring made the configure below BUSY) */
    assert_int_equal(sedx_buffer_create(fresh, N, SEDX_BUFFER_USAGE_STORAGE, SEDX_MEMORY_CPU, "misuse fresh", &fb),
                     SEDX_SUCCESS);
    assert_int_equal(sedx_upload(fresh, &fb, 0, N, ref), SEDX_SUCCESS); /* direct: no ring */
    memset(&req, 0x5E, sizeof req);
    MIS_RC(A, "larger than the ring as the context's first request", SEDX_ERROR_INVALID_SIZE,
           "100000 bytes are more than the 65536-byte readback ring", sedx_download_async(fresh, &fb, 0, 100000, &req));
    MIS_TRUE(A, "larger than the ring as the context's first request", "no ring created", rb_stats(fresh).ring_size == 0);
    sedx_transfer_info ti = {0};
    ti.readback_size = 2 * RING;
    MIS_RC("sedx_transfer_configure", "(valid) after a readback refused for its size", SEDX_SUCCESS, LOG_NONE,
           sedx_transfer_configure(fresh, &ti));
    MIS_RC(A, "(valid) the size refused before, with the larger ring", SEDX_SUCCESS, LOG_NONE,
           sedx_download_async(fresh, &fb, 0, 100000, &req));
    MIS_TRUE(A, "(valid) the size refused before", "the ring configured afterwards, the bytes",
             rb_stats(fresh).ring_size == 2 * RING && take_is(fresh, &req, ref));
    sedx_buffer_release(&fb);
    mis_roundtrip(fresh, "a readback refused for its size");
    mis_context_destroy(fresh);

    mis_bad_set_finish(&s);
    sedx_buffer_release(&b);
    sedx_buffer_release(&foreign);
    mis_roundtrip(ctx, "download_async");
    mis_roundtrip(other, "download_async (the other context)");
    mis_context_destroy(other);
    mis_context_destroy(ctx);
    mis_end("transfer.h (download_async)");
}

/* ------------------------------------------------------------------------------------------
 * Requests: poll / wait / result / cancel, get_stats
 * ---------------------------------------------------------------------------------------- */
static void test_handles(void **state)
{
    (void)state;
    mis_begin();
    sedx_context *ctx = rb_context();
    sedx_context *other = rb_context();
    sedx_buffer b;
    assert_int_equal(sedx_buffer_create(ctx, N, SEDX_BUFFER_USAGE_STORAGE, SEDX_MEMORY_GPU, "misuse handles", &b),
                     SEDX_SUCCESS);
    static uint8_t ref[N];
    tu_fill_random(ref, N, &g_mis.rng);
    assert_int_equal(sedx_upload(ctx, &b, 0, N, ref), SEDX_SUCCESS);
    assert_int_equal(sedx_upload_flush(ctx), SEDX_SUCCESS);
    const char *const P = "sedx_download_poll", *const W = "sedx_download_wait", *const R = "sedx_download_result",
                      *const X = "sedx_download_cancel";
    uint8_t dst[256];
    memset(dst, 0x5E, sizeof dst);
    sedx_download_request good, copy, zero = {0}, forged, foreign;
    assert_int_equal(sedx_download_async(ctx, &b, 64, 200, &good), SEDX_SUCCESS);
    copy = good;

    MIS_RC(P, "NULL ctx", SEDX_ERROR_INVALID_ARGUMENT, "sedx_download_poll: ctx is NULL", sedx_download_poll(NULL, &good));
    MIS_RC(P, "NULL req", SEDX_ERROR_INVALID_ARGUMENT, "sedx_download_poll: req is NULL", sedx_download_poll(ctx, NULL));
    MIS_RC(W, "NULL ctx", SEDX_ERROR_INVALID_ARGUMENT, "sedx_download_wait: ctx is NULL", sedx_download_wait(NULL, &good, 0));
    MIS_RC(W, "NULL req", SEDX_ERROR_INVALID_ARGUMENT, "sedx_download_wait: req is NULL", sedx_download_wait(ctx, NULL, 0));
    MIS_RC(R, "NULL ctx", SEDX_ERROR_INVALID_ARGUMENT, "sedx_download_result: ctx is NULL",
           sedx_download_result(NULL, &good, dst));
    MIS_RC(R, "NULL req", SEDX_ERROR_INVALID_ARGUMENT, "sedx_download_result: req is NULL",
           sedx_download_result(ctx, NULL, dst));
    MIS_RC(X, "NULL ctx", SEDX_ERROR_INVALID_ARGUMENT, "sedx_download_cancel: ctx is NULL", sedx_download_cancel(NULL, &good));
    MIS_RC(X, "NULL req", SEDX_ERROR_INVALID_ARGUMENT, "sedx_download_cancel: req is NULL", sedx_download_cancel(ctx, NULL));
    MIS_RC(P, "zeroed request", SEDX_ERROR_INVALID_HANDLE, "empty request", sedx_download_poll(ctx, &zero));
    MIS_RC(W, "zeroed request", SEDX_ERROR_INVALID_HANDLE, "empty request", sedx_download_wait(ctx, &zero, UINT64_MAX));
    MIS_RC(R, "zeroed request", SEDX_ERROR_INVALID_HANDLE, "empty request", sedx_download_result(ctx, &zero, dst));
    MIS_RC(X, "zeroed request", SEDX_ERROR_INVALID_HANDLE, "empty request", sedx_download_cancel(ctx, &zero));
    forged = good;
    forged.handle ^= 0x5A5A00000000ull; /* the same slot, another generation */
    MIS_RC(P, "forged handle (another generation)", SEDX_ERROR_INVALID_HANDLE, "stale request", sedx_download_poll(ctx, &forged));
    MIS_RC(W, "forged handle (another generation)", SEDX_ERROR_INVALID_HANDLE, "stale request",
           sedx_download_wait(ctx, &forged, UINT64_MAX));
    MIS_RC(R, "forged handle (another generation)", SEDX_ERROR_INVALID_HANDLE, "stale request",
           sedx_download_result(ctx, &forged, dst));
    MIS_RC(X, "forged handle (another generation)", SEDX_ERROR_INVALID_HANDLE, "stale request",
           sedx_download_cancel(ctx, &forged));
    forged.handle = (UINT64_C(1) << 32) | 0x00FFFFFFu; /* a live generation, a slot never allocated */
    MIS_RC(P, "forged handle (a slot never allocated)", SEDX_ERROR_INVALID_HANDLE, "stale request",
           sedx_download_poll(ctx, &forged));
    forged.handle = UINT64_MAX;
    MIS_RC(R, "handle UINT64_MAX", SEDX_ERROR_INVALID_HANDLE, "stale request", sedx_download_result(ctx, &forged, dst));
    MIS_RC(P, "passed to another context", SEDX_ERROR_INVALID_HANDLE, "belongs to another context",
           sedx_download_poll(other, &good));
    MIS_RC(W, "passed to another context", SEDX_ERROR_INVALID_HANDLE, "belongs to another context",
           sedx_download_wait(other, &good, UINT64_MAX));
    MIS_RC(R, "passed to another context", SEDX_ERROR_INVALID_HANDLE, "belongs to another context",
           sedx_download_result(other, &good, dst));
    MIS_RC(X, "passed to another context", SEDX_ERROR_INVALID_HANDLE, "belongs to another context",
           sedx_download_cancel(other, &good));
    foreign = good;
    foreign.context_id ^= 0x77;
    MIS_RC(R, "context id of another context", SEDX_ERROR_INVALID_HANDLE, "belongs to another context",
           sedx_download_result(ctx, &foreign, dst));
    MIS_RC(R, "NULL dst", SEDX_ERROR_INVALID_ARGUMENT, "dst is NULL (the request is kept)",
           sedx_download_result(ctx, &good, NULL));
    MIS_TRUE(R, "every refused call", "the request is intact and dst untouched",
             good.handle == copy.handle && mis_all(dst, 0x5E, sizeof dst));
    MIS_RC(W, "(valid) after the refused ones", SEDX_SUCCESS, LOG_NONE, sedx_download_wait(ctx, &good, UINT64_MAX));
    MIS_RC(P, "(valid) finished", SEDX_SUCCESS, LOG_NONE, sedx_download_poll(ctx, &good));
    MIS_RC(R, "(valid) after the refused ones", SEDX_SUCCESS, LOG_NONE, sedx_download_result(ctx, &good, dst));
    MIS_TRUE(R, "(valid) after the refused ones", "the bytes, the request spent",
             memcmp(dst, ref + 64, 200) == 0 && good.handle == 0);
    memset(dst, 0x5E, sizeof dst);
    MIS_RC(R, "result() twice", SEDX_ERROR_INVALID_HANDLE, "empty request", sedx_download_result(ctx, &good, dst));
    MIS_RC(R, "a copy of a taken request", SEDX_ERROR_INVALID_HANDLE, "stale request", sedx_download_result(ctx, &copy, dst));
    MIS_RC(X, "cancel of a taken request", SEDX_ERROR_INVALID_HANDLE, "empty request", sedx_download_cancel(ctx, &good));
    MIS_RC(X, "cancel of a copy of a taken request", SEDX_ERROR_INVALID_HANDLE, "stale request",
           sedx_download_cancel(ctx, &copy));
    MIS_RC(W, "wait with a stale request (a copy of a taken one)", SEDX_ERROR_INVALID_HANDLE, "stale request",
           sedx_download_wait(ctx, &copy, UINT64_MAX));
    MIS_RC(P, "poll with a stale request", SEDX_ERROR_INVALID_HANDLE, "stale request", sedx_download_poll(ctx, &copy));
    MIS_TRUE(R, "after the request was spent", "dst untouched", mis_all(dst, 0x5E, sizeof dst));
    /* the slot taken again by a new request: the old copy must not reach it */
    sedx_download_request next;
    assert_int_equal(sedx_download_async(ctx, &b, 1000, 100, &next), SEDX_SUCCESS);
    MIS_TRUE(R, "slot reused", "the new request took the taken one's slot (the case below means something)",
             (uint32_t)next.handle == (uint32_t)copy.handle);
    MIS_RC(R, "a stale copy whose slot holds a new request", SEDX_ERROR_INVALID_HANDLE, "stale request",
           sedx_download_result(ctx, &copy, dst));
    MIS_RC(X, "a stale copy whose slot holds a new request", SEDX_ERROR_INVALID_HANDLE, "stale request",
           sedx_download_cancel(ctx, &copy));
    MIS_TRUE(R, "a stale copy whose slot holds a new request", "the new request is intact", take_is(ctx, &next, ref + 1000));

    /* cancel of a finished request, then everything on the cancelled one */
    assert_int_equal(sedx_download_async(ctx, &b, 0, 128, &good), SEDX_SUCCESS);
    copy = good;
    assert_int_equal(sedx_download_wait(ctx, &good, UINT64_MAX), SEDX_SUCCESS);
    MIS_RC(X, "(valid) a finished request never taken", SEDX_SUCCESS, LOG_NONE, sedx_download_cancel(ctx, &good));
    MIS_TRUE(X, "(valid) a finished request never taken", "spent, its space freed at once",
             good.handle == 0 && rb_stats(ctx).outstanding == 0);
    MIS_RC(X, "cancelled twice", SEDX_ERROR_INVALID_HANDLE, "empty request", sedx_download_cancel(ctx, &good));
    MIS_RC(R, "result of a cancelled request", SEDX_ERROR_INVALID_HANDLE, "empty request", sedx_download_result(ctx, &good, dst));
    MIS_RC(R, "result through a copy of a cancelled request", SEDX_ERROR_INVALID_HANDLE, "stale request",
           sedx_download_result(ctx, &copy, dst));
    MIS_RC(W, "wait through a copy of a cancelled request", SEDX_ERROR_INVALID_HANDLE, "stale request",
           sedx_download_wait(ctx, &copy, 0));

    /* a request the GPU has not run (a gate on the queue the copies go to) */
    sedx_ticket tk0, tk1;
    VkSemaphore gate0 = tu_gate(ctx, SEDX_QUEUE_GRAPHICS, &tk0), gate1 = tu_gate(ctx, SEDX_QUEUE_TRANSFER, &tk1);
    sedx_download_request gated, gated2;
    assert_int_equal(sedx_download_async(ctx, &b, 300, 64, &gated), SEDX_SUCCESS);
    assert_int_equal(sedx_download_async(ctx, &b, 400, 64, &gated2), SEDX_SUCCESS);
    MIS_RC(P, "(valid) not finished yet", SEDX_NOT_READY, LOG_NONE, sedx_download_poll(ctx, &gated));
    MIS_RC(W, "(valid) timeout 0, not finished", SEDX_TIMEOUT, LOG_NONE, sedx_download_wait(ctx, &gated, 0));
    MIS_RC(W, "(valid) timeout 1 ms, not finished", SEDX_TIMEOUT, LOG_NONE, sedx_download_wait(ctx, &gated, 1000000));
    MIS_RC(R, "(valid) not finished yet: request kept", SEDX_NOT_READY, LOG_NONE, sedx_download_result(ctx, &gated, dst));
    MIS_TRUE(R, "(valid) not finished yet", "the request is kept, dst untouched",
             gated.handle != 0 && mis_all(dst, 0x5E, sizeof dst));
    MIS_RC(X, "(valid) a request the GPU still writes", SEDX_SUCCESS, LOG_NONE, sedx_download_cancel(ctx, &gated2));
    MIS_TRUE(X, "(valid) a request the GPU still writes", "its space is held until the GPU is done",
             gated2.handle == 0 && rb_stats(ctx).outstanding == 2);
    MIS_RC(X, "a request the GPU still writes, cancelled twice", SEDX_ERROR_INVALID_HANDLE, "empty request",
           sedx_download_cancel(ctx, &gated2));
    tu_open_gate(ctx, gate0);
    tu_open_gate(ctx, gate1);
    MIS_TRUE(R, "after the gate opened", "the kept request gives its bytes", take_is(ctx, &gated, ref + 300));
    assert_int_equal(sedx_context_wait_idle(ctx), SEDX_SUCCESS);
    vkDestroySemaphore(sedx_context_device(ctx), gate0, NULL);
    vkDestroySemaphore(sedx_context_device(ctx), gate1, NULL);
    MIS_TRUE(X, "a request the GPU still wrote", "its space was freed once the GPU was done", ring_empty(ctx));

    sedx_download_async_stats out;
    memset(&out, 0x5E, sizeof out);
    MIS_RC("sedx_download_async_get_stats", "NULL ctx", SEDX_ERROR_INVALID_ARGUMENT, "NULL argument",
           sedx_download_async_get_stats(NULL, &out));
    MIS_RC("sedx_download_async_get_stats", "NULL out", SEDX_ERROR_INVALID_ARGUMENT, "NULL argument",
           sedx_download_async_get_stats(ctx, NULL));
    MIS_TRUE("sedx_download_async_get_stats", "every refused call", "*out not written", mis_all(&out, 0x5E, sizeof out));
    MIS_TRUE("context", "requests", "asynchronous readback works", async_works(ctx) && async_works(other));
    sedx_buffer_release(&b);
    mis_roundtrip(ctx, "download requests");
    mis_roundtrip(other, "download requests (the other context)");
    mis_context_destroy(other);
    mis_context_destroy(ctx);
    mis_end("transfer.h (download requests)");
}

/* ------------------------------------------------------------------------------------------
 * The ring full, a context destroyed with requests
 * ---------------------------------------------------------------------------------------- */
static void test_ring_full(void **state)
{
    (void)state;
    mis_begin();
    sedx_context *ctx = rb_context();
    sedx_buffer b;
    assert_int_equal(sedx_buffer_create(ctx, N, SEDX_BUFFER_USAGE_STORAGE, SEDX_MEMORY_GPU, "misuse full", &b),
                     SEDX_SUCCESS);
    static uint8_t ref[N];
    tu_fill_random(ref, N, &g_mis.rng);
    assert_int_equal(sedx_upload(ctx, &b, 0, N, ref), SEDX_SUCCESS);
    sedx_download_request fill[4], req;
    for (int i = 0; i < 4; ++i)
        assert_int_equal(sedx_download_async(ctx, &b, (uint64_t)i << 14, 16 << 10, &fill[i]), SEDX_SUCCESS);
    assert_int_equal(sedx_context_wait_idle(ctx), SEDX_SUCCESS);
    memset(&req, 0x5E, sizeof req);
    MIS_RC("sedx_download_async", "the ring full of results not taken (never waits)", SEDX_ERROR_OUT_OF_STAGING,
           "readback ring is full", sedx_download_async(ctx, &b, 0, 16, &req));
    MIS_TRUE("sedx_download_async", "the ring full of results not taken", "*out zeroed, counted in full_errors",
             mis_all(&req, 0, sizeof req) && rb_stats(ctx).full_errors == 1);
    MIS_RC("sedx_download_async_batch", "the ring full, callback entries", SEDX_ERROR_OUT_OF_STAGING,
           "readback ring is full",
           sedx_download_async_batch(ctx, (sedx_download_async_info[1]){{&b, 0, 16, on_bytes, NULL}}, 1, NULL));
    MIS_RC("sedx_download_cancel", "(valid) one of them: room again", SEDX_SUCCESS, LOG_NONE,
           sedx_download_cancel(ctx, &fill[1]));
    MIS_RC("sedx_download_async", "(valid) after the cancel", SEDX_SUCCESS, LOG_NONE,
           sedx_download_async(ctx, &b, 7, 16 << 10, &req));
    MIS_TRUE("sedx_download_async", "the ring full", "the requests give their bytes, in any order",
             take_is(ctx, &fill[3], ref + (3 << 14)) && take_is(ctx, &req, ref + 7) && take_is(ctx, &fill[0], ref) &&
                 take_is(ctx, &fill[2], ref + (2 << 14)) && ring_empty(ctx));
    MIS_TRUE("context", "the ring full", "asynchronous readback works", async_works(ctx));
    mis_roundtrip(ctx, "the readback ring full");
    /* destroyed with a request never taken and a callback never run: a warning, no leak */
    cb_log l = {0};
    assert_int_equal(sedx_download_async(ctx, &b, 0, 64, &req), SEDX_SUCCESS);
    assert_int_equal(sedx_download_async_batch(ctx, (sedx_download_async_info[1]){{&b, 0, 16, on_bytes, &l}}, 1, NULL),
                     SEDX_SUCCESS);
    sedx_buffer_release(&b);
    mis_unwatch(ctx);
    assert_int_equal(mis_vk_count(ctx), 0);
    MIS_VOID("sedx_context_destroy", "a request never taken and a callback never run",
             LOG_WARN("1 readback request(s) never taken and 1 callback(s) never run"), sedx_context_destroy(ctx));
    MIS_TRUE("sedx_context_destroy", "a callback never run", "not run by the destroy", l.calls == 0);
    mis_end("transfer.h (readback ring full)");
}

/* ------------------------------------------------------------------------------------------
 * Callback entries while other threads request and pump
 * ---------------------------------------------------------------------------------------- */
enum { REQUESTERS = 4, ROUNDS = 400, KEEP = 4 };

typedef struct requester {
    sedx_context *ctx;
    const sedx_buffer *b;
    const uint8_t *ref;
    atomic_int *calls;
    int bad;
    pthread_t th;
} requester;

static void count_call(sedx_context *ctx, const void *data, uint64_t size, void *user)
{
    (void)ctx;
    (void)data;
    (void)size;
    atomic_fetch_add((atomic_int *)user, 1);
}

/* Batches of {callback, plain, callback}; every sedx_download_async* call runs the callbacks
 * due, so the threads run each other's. The plain requests are taken a few batches later.
 * bad counts wrong out[] entries (a handle or anything in a callback entry, a plain entry
 * without its bytes). */
static void *request_loop(void *arg)
{
    requester *q = arg;
    sedx_download_request kept[KEEP];
    uint64_t kept_off[KEEP];
    int n = 0;
    for (int i = 0; i < ROUNDS; ++i) {
        uint64_t off = (uint64_t)(i * 97 + (int)(uintptr_t)q % 13) % (N - 256);
        sedx_download_async_info in[3] = {{q->b, off, 64, count_call, q->calls}, {q->b, off + 64, 128, NULL, NULL},
                                          {q->b, off, 16, count_call, q->calls}};
        sedx_download_request out[3];
        memset(out, 0x5E, sizeof out);
        if (n == KEEP) {
            if (!take_is(q->ctx, &kept[0], q->ref + kept_off[0])) q->bad++;
            memmove(kept, kept + 1, sizeof kept[0] * (KEEP - 1));
            memmove(kept_off, kept_off + 1, sizeof kept_off[0] * (KEEP - 1));
            n--;
        }
        if (sedx_download_async_batch(q->ctx, in, 3, out) != SEDX_SUCCESS) {
            q->bad++;
            continue;
        }
        if (!mis_all(&out[0], 0, sizeof out[0]) || !mis_all(&out[2], 0, sizeof out[2]) || out[1].handle == 0 ||
            out[1].size != 128) {
            q->bad++;
            continue;
        }
        kept[n] = out[1];
        kept_off[n++] = off + 64;
    }
    while (n) {
        if (!take_is(q->ctx, &kept[n - 1], q->ref + kept_off[n - 1])) q->bad++;
        n--;
    }
    return NULL;
}

static int batches_from_threads(sedx_context *ctx, const sedx_buffer *b, const uint8_t *ref, atomic_int *calls)
{
    requester r[REQUESTERS];
    for (int i = 0; i < REQUESTERS; ++i) {
        r[i] = (requester){ctx, b, ref, calls, 0, 0};
        assert_int_equal(pthread_create(&r[i].th, NULL, request_loop, &r[i]), 0);
    }
    int bad = 0;
    for (int i = 0; i < REQUESTERS; ++i) {
        pthread_join(r[i].th, NULL);
        bad += r[i].bad;
    }
    return bad;
}

static void test_callbacks_other_threads(void **state)
{
    (void)state;
    mis_begin();
    sedx_context *ctx = rb_context();
    sedx_buffer b;
    assert_int_equal(sedx_buffer_create(ctx, N, SEDX_BUFFER_USAGE_STORAGE, SEDX_MEMORY_GPU, "misuse pumped", &b),
                     SEDX_SUCCESS);
    static uint8_t ref[N];
    tu_fill_random(ref, N, &g_mis.rng);
    assert_int_equal(sedx_upload(ctx, &b, 0, N, ref), SEDX_SUCCESS);
    assert_int_equal(sedx_upload_flush(ctx), SEDX_SUCCESS);
    atomic_int calls = 0;
    /* the old code filled out[] from the requests after dropping the locks, when another
     * thread's call may already have run this thread's callback requests, freed them, and taken
     * a freed one for a request of its own: a use-after-free that put a stray handle into a
     * callback entry (found by the threads sequence test, SEQ_THREADS_ASYNC_CALLBACKS) */
    MIS_VAL("sedx_download_async_batch", "(valid) callback entries while 4 threads request and pump (4 x 400 batches)",
            0, LOG_NONE, batches_from_threads(ctx, &b, ref, &calls));
    assert_int_equal(sedx_context_wait_idle(ctx), SEDX_SUCCESS);
    sedx_download_pump(ctx);
    MIS_TRUE("sedx_download_async_batch", "callback entries while 4 threads request and pump", "every callback ran once",
             atomic_load(&calls) == 2 * REQUESTERS * ROUNDS && ring_empty(ctx));
    sedx_buffer_release(&b);
    mis_roundtrip(ctx, "callbacks run by other threads");
    mis_context_destroy(ctx);
    mis_end("transfer.h (callbacks run by other threads)");
}

/* ------------------------------------------------------------------------------------------
 * Recorded requests: sedx_download_async_record, _submitted, _submitted_all
 * ---------------------------------------------------------------------------------------- */
static void test_record(void **state)
{
    (void)state;
    mis_begin();
    sedx_context *ctx = rb_context();
    sedx_context *other = rb_context();
    mis_bad_set s;
    mis_bad_set_init(ctx, &s);
    sedx_buffer b, foreign;
    assert_int_equal(sedx_buffer_create(ctx, N, SEDX_BUFFER_USAGE_STORAGE, SEDX_MEMORY_GPU, "misuse recorded", &b),
                     SEDX_SUCCESS);
    assert_int_equal(sedx_buffer_create(other, 4096, SEDX_BUFFER_USAGE_STORAGE, SEDX_MEMORY_GPU, "misuse foreign", &foreign),
                     SEDX_SUCCESS);
    static uint8_t ref[N];
    tu_fill_random(ref, N, &g_mis.rng);
    assert_int_equal(sedx_upload(ctx, &b, 0, N, ref), SEDX_SUCCESS);
    assert_int_equal(sedx_upload_flush(ctx), SEDX_SUCCESS);
    sedx_download_request old_path; /* one request of sedx_download_async: it has its submission */
    assert_int_equal(sedx_download_async(ctx, &b, 0, 64, &old_path), SEDX_SUCCESS);
    const char *const A = "sedx_download_async_record", *const S = "sedx_download_async_submitted",
                      *const L = "sedx_download_async_submitted_all";
    sedx_cmd cmd, ocmd, gone, dropped;
    assert_int_equal(sedx_cmd_begin(ctx, SEDX_QUEUE_GRAPHICS, &cmd), SEDX_SUCCESS);
    assert_int_equal(sedx_cmd_begin(other, SEDX_QUEUE_GRAPHICS, &ocmd), SEDX_SUCCESS);
    assert_int_equal(sedx_cmd_begin(ctx, SEDX_QUEUE_GRAPHICS, &gone), SEDX_SUCCESS);
    sedx_cmd submitted_copy = gone;
    assert_int_equal(sedx_cmd_submit(ctx, &gone, NULL, NULL), SEDX_SUCCESS);
    assert_int_equal(sedx_cmd_begin(ctx, SEDX_QUEUE_GRAPHICS, &dropped), SEDX_SUCCESS);
    sedx_cmd discarded_copy = dropped;
    sedx_cmd_discard(ctx, &dropped);
    sedx_cmd zero_cmd = {0}, forged = cmd;
    forged.queue = 7;
    sedx_download_request req;
    uint64_t before = rb_stats(ctx).requests;

    /* a refused record zeroes *out, records nothing into cmd (no validation message when cmd is
     * submitted below) and takes no ring space */
#define REC_BAD(input, expected, log, call)                                                       \
    do {                                                                                          \
        memset(&req, 0x5E, sizeof req);                                                           \
        MIS_RC(A, input, expected, log, call);                                                    \
        MIS_TRUE(A, input, "*out zeroed", mis_all(&req, 0, sizeof req));                          \
    } while (0)
    REC_BAD("NULL ctx", SEDX_ERROR_INVALID_ARGUMENT, "sedx_download_async_record: ctx is NULL",
            sedx_download_async_record(NULL, &cmd, &b, 0, 16, &req));
    REC_BAD("NULL cmd", SEDX_ERROR_INVALID_ARGUMENT, "sedx_download_async_record: cmd is NULL",
            sedx_download_async_record(ctx, NULL, &b, 0, 16, &req));
    MIS_RC(A, "NULL out", SEDX_ERROR_INVALID_ARGUMENT, "sedx_download_async_record: out is NULL",
           sedx_download_async_record(ctx, &cmd, &b, 0, 16, NULL));
    REC_BAD("zeroed cmd (VK_NULL_HANDLE)", SEDX_ERROR_INVALID_ARGUMENT, "cmd is not being recorded",
            sedx_download_async_record(ctx, &zero_cmd, &b, 0, 16, &req));
    REC_BAD("cmd already submitted (a copy of it)", SEDX_ERROR_INVALID_ARGUMENT, "is not being recorded on context",
            sedx_download_async_record(ctx, &submitted_copy, &b, 0, 16, &req));
    REC_BAD("cmd discarded (a copy of it)", SEDX_ERROR_INVALID_ARGUMENT, "is not being recorded on context",
            sedx_download_async_record(ctx, &discarded_copy, &b, 0, 16, &req));
    REC_BAD("another context's cmd", SEDX_ERROR_INVALID_ARGUMENT, "is not being recorded on context",
            sedx_download_async_record(ctx, &ocmd, &b, 0, 16, &req));
    REC_BAD("cmd with a bad queue (7)", SEDX_ERROR_INVALID_ARGUMENT, "is not a command buffer of sedx_cmd_begin",
            sedx_download_async_record(ctx, &forged, &b, 0, 16, &req));
    for (int k = 0; k < MIS_BAD_COUNT; ++k)
        REC_BAD(mis_bad_name[k], SEDX_ERROR_INVALID_HANDLE, mis_bad_log[k],
                sedx_download_async_record(ctx, &cmd, mis_bad_ptr(&s, k), 0, 16, &req));
    REC_BAD("another context's buffer", SEDX_ERROR_WRONG_CONTEXT, "belongs to another context",
            sedx_download_async_record(ctx, &cmd, &foreign, 0, 16, &req));
    REC_BAD("past the end (131068 + 8 > 131072)", SEDX_ERROR_OUT_OF_BOUNDS, "is outside its 131072 bytes",
            sedx_download_async_record(ctx, &cmd, &b, N - 4, 8, &req));
    REC_BAD("offset + size wraps (offset UINT64_MAX)", SEDX_ERROR_OUT_OF_BOUNDS, "is outside its 131072 bytes",
            sedx_download_async_record(ctx, &cmd, &b, UINT64_MAX, 2, &req));
    REC_BAD("size 0", SEDX_ERROR_INVALID_SIZE, "size 0", sedx_download_async_record(ctx, &cmd, &b, 16, 0, &req));
    REC_BAD("larger than the readback ring (65537 of a 64 KiB ring)", SEDX_ERROR_INVALID_SIZE,
            "65537 bytes are more than the 65536-byte readback ring",
            sedx_download_async_record(ctx, &cmd, &b, 0, RING + 1, &req));
    MIS_TRUE(A, "every refused record", "nothing recorded, no space taken",
             rb_stats(ctx).requests == before && rb_stats(ctx).outstanding == 1 && rb_stats(ctx).unsubmitted == 0);

    /* (valid) three requests in cmd; what the recorded-not-submitted ones answer */
    sedx_download_request r[3], copy;
    uint8_t dst[256];
    memset(dst, 0x5E, sizeof dst);
    for (int i = 0; i < 3; ++i)
        MIS_RC(A, "(valid) into a command buffer being recorded", SEDX_SUCCESS, LOG_NONE,
               sedx_download_async_record(ctx, &cmd, &b, 1000 + (uint64_t)i * 300, 200, &r[i]));
    copy = r[0];
    MIS_RC("sedx_download_poll", "(valid) recorded, not submitted", SEDX_NOT_READY, LOG_NONE, sedx_download_poll(ctx, &r[0]));
    MIS_RC("sedx_download_result", "(valid) recorded, not submitted: request kept", SEDX_NOT_READY, LOG_NONE,
           sedx_download_result(ctx, &r[0], dst));
    MIS_TRUE("sedx_download_result", "recorded, not submitted", "request kept, dst untouched",
             r[0].handle == copy.handle && mis_all(dst, 0x5E, sizeof dst));
    MIS_RC("sedx_download_wait", "recorded, not submitted (it would wait for the caller)", SEDX_ERROR_BUSY,
           "not given its submission yet", sedx_download_wait(ctx, &r[0], UINT64_MAX));
    MIS_VAL(L, "(valid) a command buffer still being recorded (left waiting)", 0, LOG_NONE,
            sedx_download_async_submitted_all(ctx));
    MIS_VAL(L, "a command buffer still being recorded at a second call (left waiting)", 0,
            LOG_WARN("3 recorded readback request(s) are still in command buffers not submitted since an earlier call"),
            sedx_download_async_submitted_all(ctx));
    MIS_TRUE(L, "a command buffer still being recorded", "the requests still wait", rb_stats(ctx).unsubmitted == 3);
    MIS_RC("sedx_download_cancel", "(valid) recorded, not submitted", SEDX_SUCCESS, LOG_NONE,
           sedx_download_cancel(ctx, &r[2]));
    MIS_TRUE("sedx_download_cancel", "recorded, not submitted", "spent, but its space held (cmd may still run)",
             r[2].handle == 0 && rb_stats(ctx).outstanding == 4 && rb_stats(ctx).unsubmitted == 3);

    /* sedx_download_async_submitted: the ticket, then the requests; all or nothing */
    sedx_ticket tk, otk;
    assert_int_equal(sedx_cmd_submit(ctx, &cmd, NULL, &tk), SEDX_SUCCESS); /* carries r[0], r[1], r[2] */
    assert_int_equal(sedx_cmd_submit(other, &ocmd, NULL, &otk), SEDX_SUCCESS);
    sedx_ticket before_tk = {tk.value - 1, tk.queue, tk.context_id}; /* submitted before they were recorded */
    sedx_ticket never = {sedx_context_submitted_value(ctx, (sedx_queue)tk.queue) + 100, tk.queue, tk.context_id};
    sedx_ticket badq = tk, zero_tk = {0, 0, 0};
    badq.queue = 5;
    sedx_ticket other_q = {sedx_context_submitted_value(ctx, SEDX_QUEUE_TRANSFER), SEDX_QUEUE_TRANSFER, tk.context_id};
    sedx_download_request zero = {0}, stale = old_path, theirs;
    stale.handle ^= 0x5A5A00000000ull;
    MIS_RC(S, "NULL ctx", SEDX_ERROR_INVALID_ARGUMENT, "sedx_download_async_submitted: ctx is NULL",
           sedx_download_async_submitted(NULL, r, 2, tk));
    MIS_RC(S, "NULL reqs with count 2", SEDX_ERROR_INVALID_ARGUMENT, "sedx_download_async_submitted: reqs is NULL",
           sedx_download_async_submitted(ctx, NULL, 2, tk));
    MIS_RC(S, "ticket value 0", SEDX_ERROR_INVALID_ARGUMENT, "ticket value 0 names no submission",
           sedx_download_async_submitted(ctx, r, 2, zero_tk));
    MIS_RC(S, "another context's ticket", SEDX_ERROR_WRONG_CONTEXT, "the ticket is context",
           sedx_download_async_submitted(ctx, r, 2, otk));
    MIS_RC(S, "ticket with a bad queue (5)", SEDX_ERROR_INVALID_ARGUMENT, "ticket queue 5 is not a sedx_queue",
           sedx_download_async_submitted(ctx, r, 2, badq));
    MIS_RC(S, "a ticket never submitted", SEDX_ERROR_INVALID_ARGUMENT, "was never submitted",
           sedx_download_async_submitted(ctx, r, 2, never));
    MIS_RC(S, "a ticket submitted before the requests were recorded", SEDX_ERROR_INVALID_ARGUMENT,
           "was submitted before request", sedx_download_async_submitted(ctx, r, 2, before_tk));
    if (other_q.value)
        MIS_RC(S, "a ticket of the other queue (recorded into a graphics command buffer)", SEDX_ERROR_INVALID_ARGUMENT,
               "was recorded into a command buffer of the graphics queue; the ticket names the transfer queue",
               sedx_download_async_submitted(ctx, r, 2, other_q));
    else
        MIS_SKIP(S, "a ticket of the other queue", "nothing submitted on the transfer queue yet");
    MIS_RC(S, "a zeroed request", SEDX_ERROR_INVALID_HANDLE, "empty request",
           sedx_download_async_submitted(ctx, &zero, 1, tk));
    MIS_RC(S, "a stale request (forged generation)", SEDX_ERROR_INVALID_HANDLE, "stale request",
           sedx_download_async_submitted(ctx, &stale, 1, tk));
    MIS_RC(S, "the cancelled request", SEDX_ERROR_INVALID_HANDLE, "empty request",
           sedx_download_async_submitted(ctx, &r[2], 1, tk));
    MIS_RC(S, "a request passed to another context (with that context's ticket)", SEDX_ERROR_INVALID_HANDLE,
           "belongs to another context", sedx_download_async_submitted(other, r, 1, otk));
    MIS_RC(S, "a request of sedx_download_async (it has its submission)", SEDX_ERROR_INVALID_ARGUMENT,
           "was given its submission already", sedx_download_async_submitted(ctx, &old_path, 1, tk));
    MIS_RC(S, "the same request twice in reqs", SEDX_ERROR_INVALID_ARGUMENT, "is in reqs twice",
           sedx_download_async_submitted(ctx, (sedx_download_request[2]){r[0], r[0]}, 2, tk));
    MIS_RC(S, "a batch whose second entry is bad (all or nothing)", SEDX_ERROR_INVALID_HANDLE, "empty request",
           sedx_download_async_submitted(ctx, (sedx_download_request[2]){r[0], zero}, 2, tk));
    MIS_TRUE(S, "every refused call", "no request given a submission",
             rb_stats(ctx).unsubmitted == 3 && sedx_download_poll(ctx, &r[0]) == SEDX_NOT_READY);
    MIS_RC(S, "(valid) count 0", SEDX_SUCCESS, LOG_NONE, sedx_download_async_submitted(ctx, NULL, 0, tk));
    MIS_RC(S, "(valid) its own submission", SEDX_SUCCESS, LOG_NONE, sedx_download_async_submitted(ctx, r, 2, tk));
    MIS_RC(S, "submitted twice", SEDX_ERROR_INVALID_ARGUMENT, "was given its submission already",
           sedx_download_async_submitted(ctx, &r[1], 1, tk));
    MIS_VAL(L, "(valid) the cancelled request's command buffer was submitted", 1, LOG_NONE,
            sedx_download_async_submitted_all(ctx));
    MIS_VAL(L, "(valid) nothing waiting", 0, LOG_NONE, sedx_download_async_submitted_all(ctx));
    MIS_VAL(L, "NULL ctx", 0, LOG_NONE, sedx_download_async_submitted_all(NULL));
    MIS_TRUE(S, "(valid) after the refused ones", "the requests give their bytes",
             take_is(ctx, &r[1], ref + 1300) && take_is(ctx, &r[0], ref + 1000) && take_is(ctx, &old_path, ref));
    assert_int_equal(sedx_context_wait_idle(ctx), SEDX_SUCCESS);
    MIS_TRUE(S, "(valid) after the refused ones", "the ring is empty again", ring_empty(ctx));

    /* a command buffer discarded with a request in it: dropped, logged, its handle stale */
    sedx_cmd d;
    assert_int_equal(sedx_cmd_begin(ctx, SEDX_QUEUE_GRAPHICS, &d), SEDX_SUCCESS);
    MIS_RC(A, "(valid) into a command buffer discarded later", SEDX_SUCCESS, LOG_NONE,
           sedx_download_async_record(ctx, &d, &b, 0, 64, &theirs));
    sedx_cmd_discard(ctx, &d);
    sedx_ticket later;
    {
        sedx_cmd e; /* a later submission: no ticket carries a discarded command buffer's request */
        assert_int_equal(sedx_cmd_begin(ctx, SEDX_QUEUE_GRAPHICS, &e), SEDX_SUCCESS);
        assert_int_equal(sedx_cmd_submit(ctx, &e, NULL, &later), SEDX_SUCCESS);
    }
    MIS_RC(S, "a request whose command buffer was discarded (with a later ticket)", SEDX_ERROR_INVALID_ARGUMENT,
           "its command buffer was discarded or its submit failed", sedx_download_async_submitted(ctx, &theirs, 1, later));
    MIS_VAL(L, "the request's command buffer was discarded (dropped)", 0, "discarded or failed to submit",
            sedx_download_async_submitted_all(ctx));
    MIS_RC("sedx_download_poll", "a request dropped with its discarded command buffer", SEDX_ERROR_INVALID_HANDLE,
           "stale request", sedx_download_poll(ctx, &theirs));
    MIS_TRUE(L, "the request's command buffer was discarded", "its space is free at once", ring_empty(ctx));

    /* sedx_frame_end gives recorded requests their submission; one still being recorded waits */
    sedx_frame *fr;
    assert_int_equal(sedx_frame_begin(ctx, &fr), SEDX_SUCCESS);
    sedx_cmd fc, late;
    assert_int_equal(sedx_cmd_begin(ctx, SEDX_QUEUE_GRAPHICS, &fc), SEDX_SUCCESS);
    assert_int_equal(sedx_cmd_begin(ctx, SEDX_QUEUE_GRAPHICS, &late), SEDX_SUCCESS);
    sedx_download_request fr_req, late_req;
    assert_int_equal(sedx_download_async_record(ctx, &fc, &b, 500, 100, &fr_req), SEDX_SUCCESS);
    assert_int_equal(sedx_download_async_record(ctx, &late, &b, 700, 100, &late_req), SEDX_SUCCESS);
    assert_int_equal(sedx_cmd_submit(ctx, &fc, NULL, &tk), SEDX_SUCCESS);
    MIS_RC("sedx_frame_end", "(valid) a readback in a command buffer not submitted yet (left waiting)", SEDX_SUCCESS,
           LOG_NONE, sedx_frame_end(ctx, fr, tk));
    MIS_TRUE("sedx_frame_end", "a readback in a command buffer not submitted yet",
             "the frame's request has its submission, the other waits",
             rb_stats(ctx).unsubmitted == 1 && take_is(ctx, &fr_req, ref + 500));
    assert_int_equal(sedx_frame_begin(ctx, &fr), SEDX_SUCCESS);
    MIS_RC("sedx_frame_end", "a readback still in a command buffer not submitted a frame later", SEDX_SUCCESS,
           LOG_WARN("1 recorded readback request(s) are still in command buffers not submitted since an earlier call"),
           sedx_frame_end(ctx, fr, (sedx_ticket){0, 0, 0}));
    MIS_RC(S, "its command buffer not submitted yet", SEDX_ERROR_INVALID_ARGUMENT,
           "its command buffer has not been submitted yet", sedx_download_async_submitted(ctx, &late_req, 1, tk));
    assert_int_equal(sedx_cmd_submit(ctx, &late, NULL, &tk), SEDX_SUCCESS);
    MIS_VAL(L, "(valid) the late one's command buffer submitted", 1, LOG_NONE, sedx_download_async_submitted_all(ctx));
    MIS_RC(S, "(valid) its own submission after _submitted_all found it (another thread's frame end)", SEDX_SUCCESS,
           LOG_NONE, sedx_download_async_submitted(ctx, &late_req, 1, tk));
    MIS_RC(S, "then once more (submitted twice)", SEDX_ERROR_INVALID_ARGUMENT, "was given its submission already",
           sedx_download_async_submitted(ctx, &late_req, 1, tk));
    MIS_TRUE(S, "(valid) the late one", "gives its bytes", take_is(ctx, &late_req, ref + 700) && ring_empty(ctx));

    /* the ring full: recorded requests never wait either */
    sedx_cmd f;
    assert_int_equal(sedx_cmd_begin(ctx, SEDX_QUEUE_GRAPHICS, &f), SEDX_SUCCESS);
    sedx_download_request fill[4];
    for (int i = 0; i < 4; ++i)
        assert_int_equal(sedx_download_async_record(ctx, &f, &b, (uint64_t)i << 14, 16 << 10, &fill[i]), SEDX_SUCCESS);
    REC_BAD("the ring full of results not taken (never waits)", SEDX_ERROR_OUT_OF_STAGING, "readback ring is full",
            sedx_download_async_record(ctx, &f, &b, 0, 16, &req));
    assert_int_equal(sedx_cmd_submit(ctx, &f, NULL, &tk), SEDX_SUCCESS);
    assert_int_equal(sedx_download_async_submitted(ctx, fill, 4, tk), SEDX_SUCCESS);
    MIS_TRUE(A, "the ring full", "the requests give their bytes",
             take_is(ctx, &fill[2], ref + (2 << 14)) && take_is(ctx, &fill[0], ref) && take_is(ctx, &fill[3], ref + (3 << 14)) &&
                 take_is(ctx, &fill[1], ref + (1 << 14)) && ring_empty(ctx));
#undef REC_BAD
    MIS_TRUE("context", "recorded requests", "asynchronous readback works", async_works(ctx) && async_works(other));
    mis_roundtrip(ctx, "recorded requests");
    mis_roundtrip(other, "recorded requests (the other context)");

    /* destroyed with a recorded request never given its submission: a warning, no leak */
    sedx_cmd x;
    assert_int_equal(sedx_cmd_begin(ctx, SEDX_QUEUE_GRAPHICS, &x), SEDX_SUCCESS);
    assert_int_equal(sedx_download_async_record(ctx, &x, &b, 0, 64, &req), SEDX_SUCCESS);
    assert_int_equal(sedx_cmd_submit(ctx, &x, NULL, NULL), SEDX_SUCCESS);
    mis_bad_set_finish(&s);
    sedx_buffer_release(&b); /* the request still holds it */
    sedx_buffer_release(&foreign);
    mis_context_destroy(other);
    mis_unwatch(ctx);
    assert_int_equal(mis_vk_count(ctx), 0);
    MIS_VOID("sedx_context_destroy", "a recorded request never given its submission",
             LOG_WARN("1 recorded readback request(s) never given their submission"), sedx_context_destroy(ctx));
    mis_end("transfer.h (recorded readback)");
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_request),
        cmocka_unit_test(test_handles),
        cmocka_unit_test(test_ring_full),
        cmocka_unit_test(test_callbacks_other_threads),
        cmocka_unit_test(test_record),
    };
    return mis_main(tests, sizeof tests / sizeof tests[0]);
}
