/* Zero-copy staging (sedx_upload_reserve / _commit / _cancel, docs/reserve.md), under the
 * validation layer, in four transfer modes (default, SEDX_TRANSFER_NO_DIRECT, a 64 KiB ring,
 * both): data produced in place arrives intact into poisoned buffers; reservations outstanding
 * while other uploads, submits and reclaims go on (also behind a gate that keeps batches in
 * flight); commit after release; cancel; every bad input with its code and log line. */
#include "test_util.h"

#include <stdlib.h>
#include <string.h>

#define POISON 0xCD
#define K 1024u

static uint64_t g_rng;

typedef struct mode {
    const char *name;
    uint32_t flags;
    uint64_t ring; /* 0 = default */
} mode;
static const mode MODES[] = {
    {"default", 0, 0},
    {"no_direct", SEDX_TRANSFER_NO_DIRECT, 0},
    {"tiny_ring", 0, 64 * K},
    {"tiny_ring_no_direct", SEDX_TRANSFER_NO_DIRECT, 64 * K},
};
#define MODE_COUNT (sizeof MODES / sizeof MODES[0])

static sedx_context *make_ctx(uint32_t flags, uint64_t ring)
{
    sedx_context *ctx = tu_context(true);
    sedx_transfer_info ti = {0};
    ti.flags = flags;
    ti.staging_size = ring;
    ti.staging_max = ring; /* fixed: the tests count on its size */
    ti.memcpy_threads = 2;
    assert_int_equal(sedx_transfer_configure(ctx, &ti), SEDX_SUCCESS);
    return ctx;
}

static sedx_buffer poisoned(sedx_context *ctx, uint64_t size, sedx_memory_flags mem, const char *name)
{
    sedx_buffer b;
    assert_int_equal(sedx_buffer_create(ctx, size, SEDX_BUFFER_USAGE_STORAGE, mem, name, &b), SEDX_SUCCESS);
    uint8_t *p = malloc(size);
    memset(p, POISON, size);
    assert_int_equal(sedx_upload(ctx, &b, 0, size, p), SEDX_SUCCESS);
    assert_int_equal(sedx_upload_flush(ctx), SEDX_SUCCESS);
    free(p);
    return b;
}

/* The producer: random bytes written straight into the reservation, sequentially, in 8-byte
 * words where aligned (never read back), the same bytes into the model. Never all zeros. */
static void produce(uint8_t *dst, uint8_t *model, uint64_t n, uint64_t *rng)
{
    uint64_t i = 0;
    for (; i + 8 <= n; i += 8) {
        uint64_t w = tu_rand(rng) | 1;
        memcpy(dst + i, &w, 8);
        memcpy(model + i, &w, 8);
    }
    for (; i < n; ++i) dst[i] = model[i] = (uint8_t)(tu_rand(rng) | 1);
}

static void check(sedx_context *ctx, const sedx_buffer *b, const uint8_t *expect, uint64_t size, const char *what)
{
    uint8_t *got = malloc(size);
    memset(got, 0x11, size);
    assert_int_equal(sedx_download(ctx, b, 0, size, got), SEDX_SUCCESS);
    for (uint64_t i = 0; i < size; ++i)
        if (got[i] != expect[i]) {
            fprintf(stderr, "%s: mismatch at %llu of %llu: %02x, expected %02x\n", what, (unsigned long long)i,
                    (unsigned long long)size, got[i], expect[i]);
            fail();
        }
    free(got);
}

/* Reserve, produce in place, commit; sizes from 1 to the limit at awkward offsets, GPU and CPU
 * destinations; read back byte for byte. */
static void test_roundtrip(void **state)
{
    (void)state;
    for (size_t m = 0; m < MODE_COUNT; ++m) {
        sedx_context *ctx = make_ctx(MODES[m].flags, MODES[m].ring);
        uint64_t limit = sedx_upload_reserve_limit(ctx);
        assert_true(limit >= 16 * K);
        const uint64_t sizes[] = {1, 3, 16, 4095, 4097, limit - 1, limit};
        for (int mem = 0; mem < 2; ++mem) {
            uint64_t size = limit + 3 * K;
            sedx_buffer b = poisoned(ctx, size, mem ? SEDX_MEMORY_CPU : SEDX_MEMORY_GPU, "reserve roundtrip");
            uint8_t *expect = malloc(size);
            memset(expect, POISON, size);
            for (size_t i = 0; i < sizeof sizes / sizeof sizes[0]; ++i) {
                uint64_t off = (i * 1237) % (size - sizes[i] + 1);
                sedx_upload_reservation rv;
                assert_int_equal(sedx_upload_reserve(ctx, &b, off, sizes[i], &rv), SEDX_SUCCESS);
                assert_non_null(rv.data);
                assert_int_equal((uintptr_t)rv.data & 15, 0);
                assert_int_equal(rv.size, sizes[i]);
                assert_int_equal(rv.offset, off);
                produce(rv.data, expect + off, sizes[i], &g_rng);
                assert_int_equal(sedx_upload_commit(ctx, &rv), SEDX_SUCCESS);
                assert_null(rv.data);
                if (i & 1) assert_int_equal(sedx_upload_submit(ctx, NULL), SEDX_SUCCESS);
            }
            check(ctx, &b, expect, size, MODES[m].name); /* sedx_download submits the open batch */
            sedx_buffer_release(&b);
            free(expect);
        }
        sedx_transfer_stats st;
        assert_int_equal(sedx_transfer_get_stats(ctx, &st), SEDX_SUCCESS);
        assert_true(st.staged_bytes > 0);
        tu_context_destroy(ctx);
    }
}

/* Reservations outstanding (some half written) while many times the ring's size goes through
 * it with sedx_upload and submits: the ring laps around them; they still arrive intact. Then
 * commits and uploads interleaved at random against a CPU model. */
static void test_outstanding_while_ring_laps(void **state)
{
    (void)state;
    for (size_t m = 0; m < MODE_COUNT; ++m) {
        sedx_context *ctx = make_ctx(MODES[m].flags, MODES[m].ring);
        uint64_t limit = sedx_upload_reserve_limit(ctx), ring = limit * 4;
        uint64_t rsize = limit / 8, usize = limit / 2; /* one chunk each: all or nothing */
        enum { NR = 6 };
        uint64_t bsize = NR * rsize, osize = 8 * usize;
        sedx_buffer b = poisoned(ctx, bsize, SEDX_MEMORY_GPU, "reserved");
        sedx_buffer o = poisoned(ctx, osize, SEDX_MEMORY_GPU, "others");
        uint8_t *eb = malloc(bsize), *eo = malloc(osize), *src = malloc(usize);
        memset(eb, POISON, bsize);
        memset(eo, POISON, osize);
        sedx_upload_reservation rv[NR];
        for (int i = 0; i < NR; ++i) {
            assert_int_equal(sedx_upload_reserve(ctx, &b, (uint64_t)i * rsize, rsize, &rv[i]), SEDX_SUCCESS);
            produce(rv[i].data, eb + (uint64_t)i * rsize, rsize / 2, &g_rng); /* first half now */
            if (i == 2) { /* uploads and a submit between the reserves */
                assert_int_equal(sedx_upload(ctx, &o, 0, usize, src), SEDX_SUCCESS);
                memcpy(eo, src, usize);
                assert_int_equal(sedx_upload_submit(ctx, NULL), SEDX_SUCCESS);
            }
        }
        uint64_t moved = 0;
        for (int k = 0; moved < 6 * ring; ++k) {
            uint64_t off = (uint64_t)(k % 8) * usize;
            tu_fill_random(src, usize, &g_rng);
            assert_int_equal(sedx_upload(ctx, &o, off, usize, src), SEDX_SUCCESS);
            memcpy(eo + off, src, usize);
            if (k % 3 == 0) assert_int_equal(sedx_upload_submit(ctx, NULL), SEDX_SUCCESS);
            if (k % 7 == 0) assert_int_equal(sedx_upload_flush(ctx), SEDX_SUCCESS);
            moved += usize;
        }
        sedx_transfer_stats st;
        sedx_transfer_get_stats(ctx, &st);
        if ((MODES[m].flags & SEDX_TRANSFER_NO_DIRECT) || st.staged_bytes > 4 * ring)
            assert_true(st.ring_wraps >= 3); /* staged: the ring lapped around the reservations */
        for (int i = 0; i < NR; ++i) { /* the second halves after the traffic */
            uint64_t h = rsize / 2;
            produce((uint8_t *)rv[i].data + h, eb + (uint64_t)i * rsize + h, rsize - h, &g_rng);
            assert_int_equal(sedx_upload_commit(ctx, &rv[i]), SEDX_SUCCESS);
        }
        assert_int_equal(sedx_upload_flush(ctx), SEDX_SUCCESS);
        check(ctx, &b, eb, bsize, "reserved across laps");
        check(ctx, &o, eo, osize, "uploads around reservations");

        /* random interleaving: up to 4 outstanding; commits, cancels, uploads, submits */
        sedx_upload_reservation live[4];
        uint8_t *pend[4];
        int nlive = 0;
        for (int step = 0; step < 400; ++step) {
            uint64_t x = tu_rand(&g_rng);
            int op = (int)(x % 5);
            if (op == 0 && nlive < 4) {
                uint64_t n = 1 + (x >> 8) % rsize, off = (x >> 24) % (bsize - n + 1);
                sedx_result r = sedx_upload_reserve(ctx, &b, off, n, &live[nlive]);
                if (r == SEDX_ERROR_OUT_OF_STAGING) continue; /* pins can fragment the 64 KiB ring */
                assert_int_equal(r, SEDX_SUCCESS);
                pend[nlive] = malloc(n);
                produce(live[nlive].data, pend[nlive], n, &g_rng);
                nlive++;
            } else if ((op == 1 || op == 2) && nlive) {
                int i = (int)((x >> 8) % (uint64_t)nlive);
                if (op == 1) {
                    assert_int_equal(sedx_upload_commit(ctx, &live[i]), SEDX_SUCCESS);
                    assert_null(live[i].data); /* spent; offset and size stay */
                    memcpy(eb + live[i].offset, pend[i], live[i].size);
                } else {
                    assert_int_equal(sedx_upload_cancel(ctx, &live[i]), SEDX_SUCCESS);
                }
                free(pend[i]);
                live[i] = live[nlive - 1];
                pend[i] = pend[nlive - 1];
                nlive--;
            } else if (op == 3) {
                uint64_t n = 1 + (x >> 8) % usize, off = (x >> 24) % (bsize - n + 1);
                tu_fill_random(src, n, &g_rng);
                sedx_result r = sedx_upload(ctx, &b, off, n, src);
                if (r == SEDX_ERROR_OUT_OF_STAGING) continue;
                assert_int_equal(r, SEDX_SUCCESS);
                memcpy(eb + off, src, n);
            } else {
                assert_int_equal(sedx_upload_submit(ctx, NULL), SEDX_SUCCESS);
            }
        }
        while (nlive) {
            nlive--;
            assert_int_equal(sedx_upload_cancel(ctx, &live[nlive]), SEDX_SUCCESS);
            free(pend[nlive]);
        }
        check(ctx, &b, eb, bsize, "random interleaving");
        sedx_buffer_release(&b);
        sedx_buffer_release(&o);
        free(eb);
        free(eo);
        free(src);
        tu_context_destroy(ctx);
    }
}

/* The case the FIFO alone gets wrong: a reservation made before batch A is submitted lies under
 * A's FIFO entry; committed into batch B, which a gate holds, while A completes. A's completion
 * must not free the reservation's bytes before B has copied them. */
static void test_fifo_entry_before_commit(void **state)
{
    (void)state;
    sedx_context *ctx = make_ctx(SEDX_TRANSFER_NO_DIRECT, 64 * K);
    uint64_t size = 16 * K;
    sedx_buffer b = poisoned(ctx, size, SEDX_MEMORY_GPU, "held");
    sedx_buffer o = poisoned(ctx, 64 * K, SEDX_MEMORY_GPU, "traffic");
    uint8_t *eb = malloc(size), *src = malloc(64 * K);
    sedx_upload_reservation rv;
    assert_int_equal(sedx_upload_reserve(ctx, &b, 0, size, &rv), SEDX_SUCCESS);
    memset(src, 0x5A, 64 * K);
    assert_int_equal(sedx_upload(ctx, &o, 0, 4 * K, src), SEDX_SUCCESS);
    sedx_ticket ta;
    assert_int_equal(sedx_upload_submit(ctx, &ta), SEDX_SUCCESS); /* A: its FIFO entry covers rv's bytes */
    assert_int_equal(sedx_ticket_wait(ctx, ta, UINT64_MAX), SEDX_SUCCESS);
    /* a NO_WAIT upload reclaims: A's entry goes, the FIFO's tail passes rv's bytes */
    assert_int_equal(sedx_upload_ex(ctx, &o, 4 * K, 4 * K, src, SEDX_UPLOAD_NO_WAIT), SEDX_SUCCESS);
    produce(rv.data, eb, size, &g_rng);
    sedx_ticket blocker;
    VkSemaphore gate = tu_gate(ctx, SEDX_QUEUE_TRANSFER, &blocker);
    assert_int_equal(sedx_upload_commit(ctx, &rv), SEDX_SUCCESS);
    assert_int_equal(sedx_upload_submit(ctx, NULL), SEDX_SUCCESS); /* B: held by the gate */
    /* traffic that would land on rv's bytes if they were free: NO_WAIT (the gate holds the GPU) */
    int accepted = 0;
    sedx_set_log_level(SEDX_LOG_OFF);
    for (int i = 0; i < 16; ++i) {
        sedx_result r = sedx_upload_ex(ctx, &o, (uint64_t)(i % 16) * 4 * K, 4 * K, src, SEDX_UPLOAD_NO_WAIT);
        if (r == SEDX_SUCCESS) {
            accepted++;
            assert_int_equal(sedx_upload_submit(ctx, NULL), SEDX_SUCCESS);
        } else {
            assert_int_equal(r, SEDX_ERROR_OUT_OF_STAGING);
        }
    }
    sedx_set_log_level(SEDX_LOG_WARN);
    assert_true(accepted > 0 && accepted < 16); /* the ring filled up around the pin */
    tu_open_gate(ctx, gate);
    assert_int_equal(sedx_upload_flush(ctx), SEDX_SUCCESS);
    check(ctx, &b, eb, size, "reservation behind a completed earlier batch");
    sedx_ticket_wait(ctx, blocker, UINT64_MAX); /* the gate's own submission is done */
    vkDestroySemaphore(sedx_context_device(ctx), gate, NULL);
    sedx_buffer_release(&b);
    sedx_buffer_release(&o);
    free(eb);
    free(src);
    tu_context_destroy(ctx);
}

/* Release between reserve and commit: safe, reported at commit, nothing written; a retained
 * second reference still sees the poison. */
static void test_commit_after_release(void **state)
{
    (void)state;
    for (size_t m = 0; m < MODE_COUNT; ++m) {
        sedx_context *ctx = make_ctx(MODES[m].flags, MODES[m].ring);
        uint64_t size = 8 * K;
        uint8_t *eb = malloc(size);
        memset(eb, POISON, size);
        /* the only reference released: destroyed at the commit, never written */
        sedx_buffer b = poisoned(ctx, size, SEDX_MEMORY_GPU, "gone");
        sedx_upload_reservation rv;
        assert_int_equal(sedx_upload_reserve(ctx, &b, 0, size, &rv), SEDX_SUCCESS);
        sedx_buffer_release(&b);
        uint8_t *junk = malloc(size);
        produce(rv.data, junk, size, &g_rng); /* still valid memory to write */
        tu_log_capture();
        assert_int_equal(sedx_upload_commit(ctx, &rv), SEDX_ERROR_INVALID_HANDLE);
        assert_true(tu_log_contains("was released after sedx_upload_reserve: nothing written"));
        assert_null(rv.data);
        tu_log_reset();
        assert_int_equal(sedx_upload_commit(ctx, &rv), SEDX_ERROR_INVALID_HANDLE); /* spent */
        assert_true(tu_log_contains("empty reservation"));
        sedx_set_logger(NULL, NULL);
        sedx_set_log_level(SEDX_LOG_WARN);
        /* a second reference kept: the buffer lives, the released reference's commit writes nothing */
        sedx_buffer c = poisoned(ctx, size, SEDX_MEMORY_GPU, "kept");
        sedx_buffer keep = sedx_buffer_retain(&c);
        assert_int_equal(sedx_upload_reserve(ctx, &c, 0, size, &rv), SEDX_SUCCESS);
        produce(rv.data, junk, size, &g_rng);
        sedx_buffer_release(&c);
        sedx_set_log_level(SEDX_LOG_OFF);
        assert_int_equal(sedx_upload_commit(ctx, &rv), SEDX_ERROR_INVALID_HANDLE);
        sedx_set_log_level(SEDX_LOG_WARN);
        assert_int_equal(sedx_upload_flush(ctx), SEDX_SUCCESS);
        check(ctx, &keep, eb, size, "commit through a released reference");
        /* the context works afterwards */
        assert_int_equal(sedx_upload_reserve(ctx, &keep, 0, size, &rv), SEDX_SUCCESS);
        produce(rv.data, eb, size, &g_rng);
        assert_int_equal(sedx_upload_commit(ctx, &rv), SEDX_SUCCESS);
        check(ctx, &keep, eb, size, "after the refused commit");
        sedx_buffer_release(&keep);
        free(eb);
        free(junk);
        tu_context_destroy(ctx);
    }
}

/* Cancel: nothing written, the space comes back (also with no batch ever committed: many more
 * cancelled bytes than the ring holds). */
static void test_cancel(void **state)
{
    (void)state;
    for (size_t m = 0; m < MODE_COUNT; ++m) {
        sedx_context *ctx = make_ctx(MODES[m].flags, MODES[m].ring);
        uint64_t limit = sedx_upload_reserve_limit(ctx);
        uint64_t size = limit;
        sedx_buffer b = poisoned(ctx, size, SEDX_MEMORY_GPU, "cancelled");
        uint8_t *eb = malloc(size), *junk = malloc(size);
        memset(eb, POISON, size);
        for (int i = 0; i < 20; ++i) { /* 5 rings' worth */
            sedx_upload_reservation rv, copy;
            assert_int_equal(sedx_upload_reserve(ctx, &b, 0, size, &rv), SEDX_SUCCESS);
            produce(rv.data, junk, size, &g_rng);
            copy = rv;
            assert_int_equal(sedx_upload_cancel(ctx, &rv), SEDX_SUCCESS);
            assert_null(rv.data);
            sedx_set_log_level(SEDX_LOG_OFF);
            assert_int_equal(sedx_upload_commit(ctx, &copy), SEDX_ERROR_INVALID_HANDLE); /* a copy: stale */
            assert_int_equal(sedx_upload_cancel(ctx, &copy), SEDX_ERROR_INVALID_HANDLE);
            assert_int_equal(sedx_upload_cancel(ctx, &rv), SEDX_ERROR_INVALID_HANDLE);
            sedx_set_log_level(SEDX_LOG_WARN);
        }
        assert_int_equal(sedx_upload_flush(ctx), SEDX_SUCCESS);
        check(ctx, &b, eb, size, "cancelled reservations write nothing");
        /* and the ring still works for both kinds of upload */
        sedx_upload_reservation rv;
        assert_int_equal(sedx_upload_reserve(ctx, &b, 0, size / 2, &rv), SEDX_SUCCESS);
        produce(rv.data, eb, size / 2, &g_rng);
        assert_int_equal(sedx_upload_commit(ctx, &rv), SEDX_SUCCESS);
        tu_fill_random(junk, size / 2, &g_rng);
        memcpy(eb + size / 2, junk, size / 2);
        assert_int_equal(sedx_upload(ctx, &b, size / 2, size / 2, junk), SEDX_SUCCESS);
        check(ctx, &b, eb, size, "after cancels");
        sedx_buffer_release(&b);
        free(eb);
        free(junk);
        tu_context_destroy(ctx);
    }
}

#define EXPECT(call, code, needle)                                                                             \
    do {                                                                                                       \
        tu_log_reset();                                                                                        \
        assert_int_equal((call), (code));                                                                      \
        if (!tu_log_contains(needle)) {                                                                        \
            fprintf(stderr, "no log line containing '%s' for %s\n", needle, #call);                            \
            fail();                                                                                            \
        }                                                                                                      \
    } while (0)

/* A small upload and readback still work. */
static void still_works(sedx_context *ctx, sedx_buffer *b)
{
    uint8_t e[256];
    sedx_upload_reservation rv;
    assert_int_equal(sedx_upload_reserve(ctx, b, 0, sizeof e, &rv), SEDX_SUCCESS);
    produce(rv.data, e, sizeof e, &g_rng);
    assert_int_equal(sedx_upload_commit(ctx, &rv), SEDX_SUCCESS);
    uint8_t got[256];
    assert_int_equal(sedx_download(ctx, b, 0, sizeof got, got), SEDX_SUCCESS);
    assert_memory_equal(got, e, sizeof e);
}

static void test_errors(void **state)
{
    (void)state;
    for (size_t m = 0; m < MODE_COUNT; ++m) {
        sedx_context *ctx = make_ctx(MODES[m].flags, MODES[m].ring);
        sedx_context *other = tu_context(false);
        sedx_buffer b = poisoned(ctx, 64 * K, SEDX_MEMORY_GPU, "errors");
        sedx_buffer ob = poisoned(other, 4 * K, SEDX_MEMORY_GPU, "other's");
        sedx_buffer dead = poisoned(ctx, 4 * K, SEDX_MEMORY_GPU, "dead"), stale = dead;
        sedx_buffer_release(&dead);
        uint64_t limit = sedx_upload_reserve_limit(ctx);
        sedx_buffer big = poisoned(ctx, limit + 16, SEDX_MEMORY_GPU, "big");
        sedx_upload_reservation rv, orv;
        tu_log_capture();
        /* reserve */
        EXPECT(sedx_upload_reserve(NULL, &b, 0, 16, &rv), SEDX_ERROR_INVALID_ARGUMENT, "ctx is NULL");
        EXPECT(sedx_upload_reserve(ctx, &b, 0, 16, NULL), SEDX_ERROR_INVALID_ARGUMENT, "out is NULL");
        EXPECT(sedx_upload_reserve_ex(ctx, &b, 0, 16, 0x80, &rv), SEDX_ERROR_INVALID_ARGUMENT, "unknown flags 0x80");
        assert_int_equal(rv.handle, 0);
        EXPECT(sedx_upload_reserve(ctx, NULL, 0, 16, &rv), SEDX_ERROR_INVALID_HANDLE, "buffer pointer is NULL");
        EXPECT(sedx_upload_reserve(ctx, &stale, 0, 16, &rv), SEDX_ERROR_INVALID_HANDLE, "invalid handle");
        EXPECT(sedx_upload_reserve(ctx, &ob, 0, 16, &rv), SEDX_ERROR_WRONG_CONTEXT, "belongs to another context");
        EXPECT(sedx_upload_reserve(ctx, &b, 64 * K - 15, 16, &rv), SEDX_ERROR_OUT_OF_BOUNDS, "is outside");
        EXPECT(sedx_upload_reserve(ctx, &b, UINT64_MAX, 2, &rv), SEDX_ERROR_OUT_OF_BOUNDS, "is outside");
        EXPECT(sedx_upload_reserve(ctx, &b, 0, 0, &rv), SEDX_ERROR_INVALID_SIZE, "size 0");
        EXPECT(sedx_upload_reserve(ctx, &big, 0, limit + 1, &rv), SEDX_ERROR_INVALID_SIZE,
               "more than one reservation may hold");
        assert_null(rv.data);
        assert_int_equal(rv.handle, 0);
        /* commit / cancel */
        sedx_upload_reservation zero = {0};
        EXPECT(sedx_upload_commit(NULL, &zero), SEDX_ERROR_INVALID_ARGUMENT, "ctx is NULL");
        EXPECT(sedx_upload_commit(ctx, NULL), SEDX_ERROR_INVALID_ARGUMENT, "r is NULL");
        EXPECT(sedx_upload_cancel(ctx, NULL), SEDX_ERROR_INVALID_ARGUMENT, "r is NULL");
        EXPECT(sedx_upload_commit(ctx, &zero), SEDX_ERROR_INVALID_HANDLE, "empty reservation");
        EXPECT(sedx_upload_cancel(ctx, &zero), SEDX_ERROR_INVALID_HANDLE, "empty reservation");
        assert_int_equal(sedx_upload_reserve(other, &ob, 0, 16, &orv), SEDX_SUCCESS);
        EXPECT(sedx_upload_commit(ctx, &orv), SEDX_ERROR_INVALID_HANDLE, "belongs to another context");
        assert_int_equal(sedx_upload_cancel(other, &orv), SEDX_SUCCESS);
        assert_int_equal(sedx_upload_reserve(ctx, &b, 0, 16, &rv), SEDX_SUCCESS);
        sedx_upload_reservation copy = rv, forged = rv;
        forged.handle ^= 0x1234500;
        EXPECT(sedx_upload_commit(ctx, &forged), SEDX_ERROR_INVALID_HANDLE, "stale reservation");
        memset(rv.data, 0x77, 16);
        assert_int_equal(sedx_upload_commit(ctx, &rv), SEDX_SUCCESS);
        EXPECT(sedx_upload_commit(ctx, &rv), SEDX_ERROR_INVALID_HANDLE, "empty reservation");  /* double */
        EXPECT(sedx_upload_commit(ctx, &copy), SEDX_ERROR_INVALID_HANDLE, "stale reservation"); /* its copy */
        EXPECT(sedx_upload_cancel(ctx, &copy), SEDX_ERROR_INVALID_HANDLE, "stale reservation");
        /* a later reservation in the same slot does not revive the copy */
        assert_int_equal(sedx_upload_reserve(ctx, &b, 0, 16, &rv), SEDX_SUCCESS);
        EXPECT(sedx_upload_commit(ctx, &copy), SEDX_ERROR_INVALID_HANDLE, "stale reservation");
        assert_int_equal(sedx_upload_cancel(ctx, &rv), SEDX_SUCCESS);
        sedx_set_logger(NULL, NULL);
        sedx_set_log_level(SEDX_LOG_WARN);
        still_works(ctx, &b);

        /* the ring full of outstanding reservations: never waited for */
        uint64_t ring = limit * 4;
        if (ring <= 64 * K) {
            sedx_upload_reservation hold[5];
            int held = 0;
            sedx_set_log_level(SEDX_LOG_OFF);
            while (held < 5 && sedx_upload_reserve(ctx, &b, 0, limit, &hold[held]) == SEDX_SUCCESS) held++;
            sedx_set_log_level(SEDX_LOG_WARN);
            assert_true(held >= 3 && held <= 4); /* 4 only when the ring's head was at a quarter */
            tu_log_capture();
            EXPECT(sedx_upload_reserve(ctx, &b, 0, limit, &rv), SEDX_ERROR_OUT_OF_STAGING,
                   "outstanding sedx_upload_reserve reservations hold the rest");
            static uint8_t d[16 * K];
            if (MODES[m].flags & SEDX_TRANSFER_NO_DIRECT) /* staged: the ring is needed */
                EXPECT(sedx_upload(ctx, &b, 0, limit, d), SEDX_ERROR_OUT_OF_STAGING, "reservations hold the rest");
            sedx_set_logger(NULL, NULL);
            sedx_set_log_level(SEDX_LOG_WARN);
            for (int i = 0; i < held; ++i) assert_int_equal(sedx_upload_cancel(ctx, &hold[i]), SEDX_SUCCESS);
            still_works(ctx, &b);
        }
        /* 256 reservations outstanding: the 257th is refused */
        static sedx_upload_reservation many[256];
        for (int i = 0; i < 256; ++i) assert_int_equal(sedx_upload_reserve(ctx, &b, 16 * (uint64_t)i, 16, &many[i]), SEDX_SUCCESS);
        tu_log_capture();
        EXPECT(sedx_upload_reserve(ctx, &b, 0, 16, &rv), SEDX_ERROR_OUT_OF_STAGING, "256 reservations are outstanding");
        sedx_set_logger(NULL, NULL);
        sedx_set_log_level(SEDX_LOG_WARN);
        for (int i = 0; i < 256; ++i) {
            memset(many[i].data, i + 1, 16);
            assert_int_equal(sedx_upload_commit(ctx, &many[i]), SEDX_SUCCESS);
        }
        /* committed but not submitted: a new reserve submits them and reuses the slots */
        assert_int_equal(sedx_upload_reserve(ctx, &b, 0, 16, &rv), SEDX_SUCCESS);
        assert_int_equal(sedx_upload_cancel(ctx, &rv), SEDX_SUCCESS);
        uint8_t got[16 * 256];
        assert_int_equal(sedx_download(ctx, &b, 0, sizeof got, got), SEDX_SUCCESS);
        for (int i = 0; i < 256; ++i) assert_int_equal(got[16 * i + 15], (uint8_t)(i + 1));

        /* NO_WAIT with the ring full of in-flight batches (a gate holds the GPU) */
        sedx_ticket blocker;
        VkSemaphore gate = tu_gate(ctx, SEDX_QUEUE_TRANSFER, &blocker);
        sedx_result r = SEDX_SUCCESS;
        int accepted = 0;
        sedx_set_log_level(SEDX_LOG_OFF);
        for (int i = 0; i < 64 && r == SEDX_SUCCESS; ++i) {
            r = sedx_upload_reserve_ex(ctx, &b, 0, limit / 2, SEDX_UPLOAD_NO_WAIT, &rv);
            if (r != SEDX_SUCCESS) break;
            accepted++;
            memset(rv.data, 0x42, limit / 2);
            assert_int_equal(sedx_upload_commit(ctx, &rv), SEDX_SUCCESS);
            assert_int_equal(sedx_upload_submit(ctx, NULL), SEDX_SUCCESS);
        }
        sedx_set_log_level(SEDX_LOG_WARN);
        if (ring <= 64 * K) { /* the default ring may be larger than 64 reservations */
            assert_int_equal(r, SEDX_ERROR_OUT_OF_STAGING);
            assert_true(accepted >= 1);
            tu_log_capture();
            EXPECT(sedx_upload_reserve_ex(ctx, &b, 0, limit / 2, SEDX_UPLOAD_NO_WAIT, &rv), SEDX_ERROR_OUT_OF_STAGING,
                   "NO_WAIT");
            sedx_set_logger(NULL, NULL);
            sedx_set_log_level(SEDX_LOG_WARN);
        }
        tu_open_gate(ctx, gate);
        assert_int_equal(sedx_upload_flush(ctx), SEDX_SUCCESS);
        sedx_ticket_wait(ctx, blocker, UINT64_MAX); /* the gate's own submission is done */
        vkDestroySemaphore(sedx_context_device(ctx), gate, NULL);
        still_works(ctx, &b);

        sedx_buffer_release(&b);
        sedx_buffer_release(&big);
        sedx_buffer_release(&ob);
        tu_context_destroy(other);
        tu_context_destroy(ctx);
    }
}

int main(void)
{
    g_rng = tu_seed();
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_roundtrip),
        cmocka_unit_test(test_outstanding_while_ring_laps),
        cmocka_unit_test(test_fifo_entry_before_commit),
        cmocka_unit_test(test_commit_after_release),
        cmocka_unit_test(test_cancel),
        cmocka_unit_test(test_errors),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
