/* The per-call paths of sedx_upload (docs/transfer.md, "What one small upload costs"): the
 * direct path's small copies (string copy into host-cached memory, up to 64 KiB), the staged
 * path's fast ring allocation, and the batch's overlap test (radix sort), each checked byte for
 * byte against a shadow copy; and the checks that were inlined keep their codes and log lines. */
#include "test_util.h"

#include <stdlib.h>
#include <string.h>

#define BUFS 3
#define BUF_SIZE (1u << 20)

static uint64_t g_rng;

static sedx_context *make_ctx(uint32_t tflags, uint64_t ring)
{
    sedx_context *ctx = tu_context(false);
    sedx_transfer_info ti = {0};
    ti.flags = tflags;
    ti.staging_size = ring;
    ti.staging_max = ring;
    ti.readback_size = ring;
    ti.memcpy_threads = 2;
    assert_int_equal(sedx_transfer_configure(ctx, &ti), SEDX_SUCCESS);
    return ctx;
}

typedef struct fixture {
    sedx_context *ctx;
    sedx_buffer b[BUFS];
    uint8_t *shadow[BUFS];
    uint8_t *src, *got;
} fixture;

static void setup(fixture *f, uint32_t tflags, uint64_t ring)
{
    f->ctx = make_ctx(tflags, ring);
    f->src = malloc(BUF_SIZE);
    f->got = malloc(BUF_SIZE);
    assert_non_null(f->src);
    assert_non_null(f->got);
    for (int i = 0; i < BUFS; ++i) {
        assert_int_equal(sedx_buffer_create(f->ctx, BUF_SIZE, SEDX_BUFFER_USAGE_STORAGE, SEDX_MEMORY_GPU, "percall",
                                            &f->b[i]),
                         SEDX_SUCCESS);
        f->shadow[i] = malloc(BUF_SIZE);
        assert_non_null(f->shadow[i]);
        memset(f->shadow[i], 0x5A, BUF_SIZE);
        assert_int_equal(sedx_upload(f->ctx, &f->b[i], 0, BUF_SIZE, f->shadow[i]), SEDX_SUCCESS);
    }
    assert_int_equal(sedx_upload_flush(f->ctx), SEDX_SUCCESS);
}

static void verify(fixture *f)
{
    assert_int_equal(sedx_upload_flush(f->ctx), SEDX_SUCCESS);
    for (int i = 0; i < BUFS; ++i) {
        memset(f->got, 0x11, BUF_SIZE);
        assert_int_equal(sedx_download(f->ctx, &f->b[i], 0, BUF_SIZE, f->got), SEDX_SUCCESS);
        if (memcmp(f->got, f->shadow[i], BUF_SIZE) != 0) {
            for (uint32_t k = 0; k < BUF_SIZE; ++k)
                if (f->got[k] != f->shadow[i][k]) {
                    fprintf(stderr, "buffer %d: first mismatch at %u: %02x != %02x\n", i, k, f->got[k], f->shadow[i][k]);
                    break;
                }
            fail();
        }
    }
}

static void teardown(fixture *f)
{
    for (int i = 0; i < BUFS; ++i) {
        sedx_buffer_release(&f->b[i]);
        free(f->shadow[i]);
    }
    free(f->src);
    free(f->got);
    tu_context_destroy(f->ctx);
}

/* One upload of [off, +n) into buffer i from fresh random bytes, mirrored in the shadow. */
static void put(fixture *f, int i, uint64_t off, uint64_t n)
{
    uint8_t *p = f->src + (tu_rand(&g_rng) % 64); /* sources at odd alignments too */
    if (n > BUF_SIZE - 64) p = f->src;
    tu_fill_random(p, (size_t)n, &g_rng);
    assert_int_equal(sedx_upload(f->ctx, &f->b[i], off, n, p), SEDX_SUCCESS);
    memcpy(f->shadow[i] + off, p, (size_t)n);
}

/* Sizes around the small-copy limit (64 KiB) and tiny ones, at awkward offsets. */
static void sizes_and_offsets(fixture *f)
{
    static const uint64_t sizes[] = {1, 2, 3, 15, 16, 17, 63, 64, 65, 4095, 4096, 4097, 65535, 65536, 65537, 300000};
    for (size_t s = 0; s < sizeof sizes / sizeof sizes[0]; ++s)
        for (int k = 0; k < 4; ++k) {
            uint64_t n = sizes[s], off = tu_rand(&g_rng) % (BUF_SIZE - n + 1);
            if (k == 0) off = 0;
            if (k == 1) off = BUF_SIZE - n;
            put(f, (int)(s + (size_t)k) % BUFS, off, n);
        }
}

/* Many 4 KiB-ish regions over several buffers: in increasing order (the one-pass answer),
 * scattered without overlap (the radix sort), scattered with overlaps (call order must win). */
static void scattered(fixture *f, bool overlaps, bool in_order)
{
    uint32_t slots = BUF_SIZE / 4096;
    uint32_t *perm = malloc(slots * sizeof *perm);
    assert_non_null(perm);
    for (int i = 0; i < BUFS; ++i) {
        for (uint32_t k = 0; k < slots; ++k) perm[k] = k;
        for (uint32_t k = slots - 1; k > 0 && !in_order; --k) {
            uint32_t j = (uint32_t)(tu_rand(&g_rng) % (k + 1)), t = perm[k];
            perm[k] = perm[j];
            perm[j] = t;
        }
        for (uint32_t k = 0; k < slots; ++k) {
            uint64_t off = (uint64_t)perm[k] * 4096, n = 4096;
            if (overlaps && (k % 5) == 0) {
                off += tu_rand(&g_rng) % 6000; /* reaches into a neighbour's slot */
                if (off + n > BUF_SIZE) off = BUF_SIZE - n;
            }
            if (!overlaps && (k % 7) == 0) n = 4 + tu_rand(&g_rng) % 4092; /* shorter, still inside its slot */
            put(f, i, off, n);
            /* the other buffers in between: regions of several destinations interleave */
            if ((k % 3) == 0) put(f, (i + 1) % BUFS, (uint64_t)(tu_rand(&g_rng) % slots) * 4096 + 8, 64);
        }
    }
    free(perm);
}

static void run_mode(uint32_t tflags, uint64_t ring)
{
    g_rng = tu_seed();
    fixture f;
    setup(&f, tflags, ring);
    sizes_and_offsets(&f);
    verify(&f);
    scattered(&f, false, true);
    verify(&f);
    scattered(&f, false, false);
    verify(&f);
    scattered(&f, true, false);
    verify(&f);
    teardown(&f);
}

static void test_direct(void **state)
{
    (void)state;
    run_mode(0, 16u << 20);
}

static void test_staged(void **state)
{
    (void)state;
    run_mode(SEDX_TRANSFER_NO_DIRECT, 16u << 20);
}

static void test_staged_tiny_ring(void **state)
{
    (void)state;
    run_mode(SEDX_TRANSFER_NO_DIRECT, 64u << 10); /* wraps, reclaims and submits on the slow path */
}

/* The checks that sedx_upload now does inline: the same code and the same log line as before. */
static void test_checks_unchanged(void **state)
{
    (void)state;
    sedx_context *ctx = make_ctx(0, 16u << 20), *other = make_ctx(0, 16u << 20);
    sedx_buffer b, cpu, foreign;
    assert_int_equal(sedx_buffer_create(ctx, 4096, SEDX_BUFFER_USAGE_STORAGE, SEDX_MEMORY_GPU, "chk", &b), SEDX_SUCCESS);
    assert_int_equal(sedx_buffer_create(ctx, 4096, SEDX_BUFFER_USAGE_STORAGE, SEDX_MEMORY_CPU, "chk cpu", &cpu),
                     SEDX_SUCCESS);
    assert_int_equal(sedx_buffer_create(other, 4096, SEDX_BUFFER_USAGE_STORAGE, SEDX_MEMORY_GPU, "chk other", &foreign),
                     SEDX_SUCCESS);
    uint8_t data[64] = {0};
    tu_log_capture();
    tu_log_reset();
    assert_int_equal(sedx_upload(ctx, &b, 4090, 7, data), SEDX_ERROR_OUT_OF_BOUNDS);
    assert_true(tu_log_contains("sedx_upload: buffer 'chk': [4090, +7) is outside its 4096 bytes"));
    assert_int_equal(sedx_upload(ctx, &b, 8, UINT64_MAX - 4, data), SEDX_ERROR_OUT_OF_BOUNDS); /* wrap-around */
    assert_int_equal(sedx_upload(ctx, &b, 4097, 0, data), SEDX_ERROR_OUT_OF_BOUNDS);
    tu_log_reset();
    assert_int_equal(sedx_upload(ctx, &foreign, 0, 4, data), SEDX_ERROR_WRONG_CONTEXT);
    assert_true(tu_log_contains("sedx_upload: buffer 'chk other' belongs to another context"));
    assert_int_equal(sedx_upload(ctx, &b, 0, 4, NULL), SEDX_ERROR_INVALID_ARGUMENT);
    assert_int_equal(sedx_upload(ctx, &b, 0, 0, NULL), SEDX_SUCCESS); /* nothing to copy */
    assert_int_equal(sedx_upload(ctx, &cpu, 0, 64, (uint8_t *)cpu.data + 32), SEDX_ERROR_INVALID_ARGUMENT);
    assert_int_equal(sedx_upload(ctx, NULL, 0, 4, data), SEDX_ERROR_INVALID_HANDLE);
    sedx_buffer stale = b;
    sedx_buffer_release(&b);
    tu_log_reset();
    assert_int_equal(sedx_upload(ctx, &stale, 0, 4, data), SEDX_ERROR_INVALID_HANDLE);
    assert_true(tu_log_contains("invalid handle"));
    assert_int_equal(sedx_upload_ex(ctx, &cpu, 0, 4, data, 0x80000000u), SEDX_ERROR_INVALID_ARGUMENT);
    sedx_buffer_release(&cpu);
    sedx_buffer_release(&foreign);
    tu_context_destroy(other);
    tu_context_destroy(ctx);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_direct),
        cmocka_unit_test(test_staged),
        cmocka_unit_test(test_staged_tiny_ring),
        cmocka_unit_test(test_checks_unchanged),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
