/* Review 8 (adversarial): upload reservations against a byte-by-byte CPU model, beyond
 * tests/gpu/reserve.c's random mix (one GPU buffer): three destinations at once (GPU, CPU and a
 * GPU one that is released and re-created while reservations for it are outstanding), up to
 * eight reservations held across sedx_upload, sedx_upload_submit and sedx_upload_flush, and the
 * refusals mixed in: a commit after the destination's release (SEDX_ERROR_INVALID_HANDLE, nothing
 * written, the next commit of it refused as empty), a double commit or cancel, a stale copy of a
 * spent reservation, a reservation given to another context. Every buffer is compared with the
 * model after each flush. Modes: a 64 KiB ring (direct writes allowed), and the same ring with
 * SEDX_TRANSFER_NO_DIRECT. */
#include "test_util.h"

#include <stdlib.h>
#include <string.h>

enum { RING = 64 << 10, NB = 3, BSIZE = 24 << 10, NLIVE = 8, STEPS = 1500 };

static uint64_t g_rng;

static sedx_context *ring_ctx(uint32_t flags)
{
    sedx_context *ctx = tu_context(false);
    sedx_transfer_info ti = {0};
    ti.staging_size = RING;
    ti.staging_max = RING;
    ti.flags = flags;
    assert_int_equal(sedx_transfer_configure(ctx, &ti), SEDX_SUCCESS);
    return ctx;
}

static const sedx_memory_flags MEM[NB] = {SEDX_MEMORY_GPU, SEDX_MEMORY_CPU, SEDX_MEMORY_GPU};

static void make(sedx_context *ctx, int i, sedx_buffer *b, uint8_t *model)
{
    assert_int_equal(sedx_buffer_create(ctx, BSIZE, SEDX_BUFFER_USAGE_STORAGE, MEM[i], "review8 reserve", b),
                     SEDX_SUCCESS);
    /* its first contents through the readback path: an upload of the whole buffer could find the
     * small ring held by the reservations (SEDX_ERROR_OUT_OF_STAGING, docs/reserve.md) */
    if (MEM[i] == SEDX_MEMORY_CPU) {
        tu_fill_random(model, BSIZE, &g_rng);
        assert_int_equal(sedx_buffer_write(b, model, BSIZE, 0), SEDX_SUCCESS);
    } else {
        assert_int_equal(sedx_download(ctx, b, 0, BSIZE, model), SEDX_SUCCESS);
    }
}

static void check_all(sedx_context *ctx, const sedx_buffer *b, uint8_t (*model)[BSIZE], int step)
{
    static uint8_t got[BSIZE];
    assert_int_equal(sedx_upload_flush(ctx), SEDX_SUCCESS);
    for (int i = 0; i < NB; ++i) {
        memset(got, 0, sizeof got);
        assert_int_equal(sedx_download(ctx, &b[i], 0, BSIZE, got), SEDX_SUCCESS);
        if (memcmp(got, model[i], BSIZE) != 0) {
            size_t at = 0;
            while (got[at] == model[i][at]) at++;
            fprintf(stderr, "step %d: buffer %d differs first at byte %zu (0x%02x, model 0x%02x)\n", step, i, at,
                    got[at], model[i][at]);
        }
        assert_memory_equal(got, model[i], BSIZE);
    }
}

typedef struct live {
    sedx_upload_reservation rv;
    int buf;
    uint32_t gen; /* the buffer's generation at the reserve */
    uint8_t *bytes;
} live;

static void run_mode(uint32_t flags)
{
    sedx_context *ctx = ring_ctx(flags);
    sedx_context *other = ring_ctx(flags);
    sedx_buffer b[NB];
    static uint8_t model[NB][BSIZE];
    uint32_t gen[NB] = {0};
    for (int i = 0; i < NB; ++i) make(ctx, i, &b[i], model[i]);
    sedx_buffer ob;
    assert_int_equal(sedx_buffer_create(other, BSIZE, SEDX_BUFFER_USAGE_STORAGE, SEDX_MEMORY_GPU, "review8 other", &ob),
                     SEDX_SUCCESS);
    uint64_t limit = sedx_upload_reserve_limit(ctx);
    assert_int_equal(limit, RING / 4);
    live l[NLIVE];
    int n = 0;
    uint8_t *src = malloc(BSIZE);
    uint32_t refused = 0, committed = 0, stale = 0;
    tu_log_capture();
    for (int step = 0; step < STEPS; ++step) {
        uint64_t x = tu_rand(&g_rng);
        int op = (int)(x % 10), bi = (int)((x >> 4) % NB);
        if (op <= 2 && n < NLIVE) { /* reserve */
            uint64_t size = 1 + (x >> 8) % (limit / 3), off = (x >> 28) % (BSIZE - size + 1);
            sedx_result r = sedx_upload_reserve(ctx, &b[bi], off, size, &l[n].rv);
            if (r == SEDX_ERROR_OUT_OF_STAGING) continue; /* pins fill the small ring: allowed */
            assert_int_equal(r, SEDX_SUCCESS);
            l[n].buf = bi;
            l[n].gen = gen[bi];
            l[n].bytes = malloc(size);
            tu_fill_random(l[n].bytes, size, &g_rng);
            memcpy(l[n].rv.data, l[n].bytes, size);
            n++;
        } else if ((op == 3 || op == 4) && n) { /* commit or cancel one */
            int i = (int)((x >> 8) % (uint64_t)n);
            sedx_upload_reservation copy = l[i].rv;
            if ((x >> 20) & 1) /* another context's commit first: refused, nothing changes */
                assert_int_equal(sedx_upload_commit(other, &l[i].rv), SEDX_ERROR_INVALID_HANDLE);
            bool released = l[i].gen != gen[l[i].buf];
            sedx_result r = op == 3 ? sedx_upload_commit(ctx, &l[i].rv) : sedx_upload_cancel(ctx, &l[i].rv);
            if (op == 3 && released) {
                assert_int_equal(r, SEDX_ERROR_INVALID_HANDLE);
                refused++;
            } else {
                assert_int_equal(r, SEDX_SUCCESS);
                if (op == 3) {
                    memcpy(model[l[i].buf] + l[i].rv.offset, l[i].bytes, l[i].rv.size);
                    committed++;
                }
            }
            assert_null(l[i].rv.data);
            assert_int_equal(l[i].rv.handle, 0);
            /* spent: the reservation itself and a copy of it are refused */
            assert_int_equal(sedx_upload_commit(ctx, &l[i].rv), SEDX_ERROR_INVALID_HANDLE);
            assert_int_equal(sedx_upload_cancel(ctx, &copy), SEDX_ERROR_INVALID_HANDLE);
            assert_int_equal(sedx_upload_commit(ctx, &copy), SEDX_ERROR_INVALID_HANDLE);
            stale++;
            free(l[i].bytes);
            l[i] = l[--n];
        } else if (op == 5) { /* sedx_upload into the same buffers, overlapping whatever is held */
            uint64_t size = 1 + (x >> 8) % (limit / 2), off = (x >> 28) % (BSIZE - size + 1);
            tu_fill_random(src, size, &g_rng);
            sedx_result r = sedx_upload(ctx, &b[bi], off, size, src);
            if (r == SEDX_ERROR_OUT_OF_STAGING) continue;
            assert_int_equal(r, SEDX_SUCCESS);
            memcpy(model[bi] + off, src, size);
        } else if (op == 6) {
            assert_int_equal(sedx_upload_submit(ctx, NULL), SEDX_SUCCESS);
        } else if (op == 7 && (x >> 8) % 4 == 0) {
            check_all(ctx, b, model, step);
        } else if (op == 8 && (x >> 8) % 8 == 0 && bi != 1) { /* release with reservations outstanding */
            sedx_buffer_release(&b[bi]);
            gen[bi]++;
            make(ctx, bi, &b[bi], model[bi]);
        } else if (op == 9 && n && (x >> 8) % 4 == 0) { /* bytes rewritten in place before the commit */
            int i = (int)((x >> 12) % (uint64_t)n);
            tu_fill_random(l[i].bytes, l[i].rv.size, &g_rng);
            memcpy(l[i].rv.data, l[i].bytes, l[i].rv.size);
        }
    }
    for (int i = 0; i < n; ++i) { /* the rest committed */
        bool released = l[i].gen != gen[l[i].buf];
        assert_int_equal(sedx_upload_commit(ctx, &l[i].rv), released ? SEDX_ERROR_INVALID_HANDLE : SEDX_SUCCESS);
        if (!released) memcpy(model[l[i].buf] + l[i].rv.offset, l[i].bytes, l[i].rv.size);
        free(l[i].bytes);
    }
    check_all(ctx, b, model, STEPS);
    sedx_set_logger(NULL, NULL);
    sedx_set_log_level(SEDX_LOG_WARN);
    fprintf(stderr, "mode 0x%x: %u commits, %u refused after a release, %u spent reservations refused\n", flags,
            committed, refused, stale);
    assert_true(committed > 50 && refused > 0);
    free(src);
    for (int i = 0; i < NB; ++i) sedx_buffer_release(&b[i]);
    sedx_buffer_release(&ob);
    tu_context_destroy(other);
    tu_context_destroy(ctx);
}

static void test_model_default(void **state)
{
    (void)state;
    g_rng = tu_seed() ^ 0x8080;
    run_mode(0);
}

static void test_model_no_direct(void **state)
{
    (void)state;
    g_rng = tu_seed() ^ 0x0808;
    run_mode(SEDX_TRANSFER_NO_DIRECT);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_model_default),
        cmocka_unit_test(test_model_no_direct),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
