/* sedx_gpu_copy_batch: many device copies in one submission. Random batches over three buffers
 * against a CPU shadow, byte by byte, with chains (a region reading what an earlier one wrote),
 * under synchronization validation, which reports a missing barrier; both copy methods (compute
 * shader and vkCmdCopyBuffer); bad input all or nothing; buffers released while their copies
 * wait behind a gate. */
#include "test_util.h"

#include <stdlib.h>
#include <string.h>

#define NBUF 3
#define BSIZE ((1u << 20) + 4099u)

static uint64_t g_rng;

static sedx_context *make_ctx(uint32_t tflags)
{
    sedx_context *ctx = tu_context(true); /* synchronization validation: a missing barrier is an error */
    sedx_transfer_info ti = {0};
    ti.flags = tflags;
    ti.memcpy_threads = 2;
    assert_int_equal(sedx_transfer_configure(ctx, &ti), SEDX_SUCCESS);
    return ctx;
}

static sedx_buffer make_buf(sedx_context *ctx, uint64_t size, const uint8_t *data)
{
    sedx_buffer b;
    assert_int_equal(sedx_buffer_create(ctx, size,
                                        SEDX_BUFFER_USAGE_STORAGE | SEDX_BUFFER_USAGE_TRANSFER_DST |
                                            SEDX_BUFFER_USAGE_TRANSFER_SRC,
                                        SEDX_MEMORY_GPU, "copy batch", &b),
                     SEDX_SUCCESS);
    if (data) {
        assert_int_equal(sedx_upload(ctx, &b, 0, size, data), SEDX_SUCCESS);
        assert_int_equal(sedx_upload_flush(ctx), SEDX_SUCCESS);
    }
    return b;
}

static void expect_contents(sedx_context *ctx, sedx_buffer *b, const uint8_t *want, uint64_t size, const char *what)
{
    uint8_t *got = malloc(size);
    memset(got, 0x5A, size);
    assert_int_equal(sedx_download(ctx, b, 0, size, got), SEDX_SUCCESS);
    if (memcmp(got, want, size) != 0)
        for (uint64_t i = 0; i < size; ++i)
            if (got[i] != want[i])
                fail_msg("%s: first difference at byte %llu: %02x, expected %02x", what, (unsigned long long)i, got[i],
                         want[i]);
    free(got);
}

static uint64_t pick(uint64_t n) { return n ? tu_rand(&g_rng) % n : 0; }

/* A random region: sizes from 0 to 300 KiB (mostly small), half of the offsets 16-byte aligned
 * (the compute copy's case), the rest anywhere. */
static void random_region(sedx_buffer *bufs, sedx_copy_region *g, int *si, int *di)
{
    *si = (int)pick(NBUF);
    *di = (int)pick(NBUF);
    uint64_t r = pick(100);
    uint64_t size = r < 5 ? 0 : r < 70 ? 1 + pick(8192) : r < 95 ? 1 + pick(65536) : 1 + pick(300u << 10);
    uint64_t so = pick(BSIZE - size + 1), dof = pick(BSIZE - size + 1);
    if (pick(2)) {
        so &= ~(uint64_t)15;
        dof &= ~(uint64_t)15;
        size = size > 16 ? size & ~(uint64_t)15 : size;
    }
    *g = (sedx_copy_region){&bufs[*si], so, &bufs[*di], dof, size};
}

static bool overlaps_itself(const sedx_copy_region *g, int si, int di)
{
    return si == di && g->size && g->src_offset < g->dst_offset + g->size && g->dst_offset < g->src_offset + g->size;
}

static void shadow_sequence(uint32_t tflags, const char *mode)
{
    g_rng = tu_seed() + 7 + tflags;
    sedx_context *ctx = make_ctx(tflags);
    uint8_t *shadow[NBUF];
    sedx_buffer bufs[NBUF];
    for (int b = 0; b < NBUF; ++b) {
        shadow[b] = malloc(BSIZE);
        tu_fill_random(shadow[b], BSIZE, &g_rng);
        bufs[b] = make_buf(ctx, BSIZE, shadow[b]);
    }
    enum { MAXR = 48 };
    sedx_copy_region regs[MAXR];
    int src_i[MAXR], dst_i[MAXR];
    int batches = tu_long_mode() ? 400 : 60, refused = 0;
    for (int k = 0; k < batches; ++k) {
        uint32_t n = (uint32_t)(1 + pick(MAXR));
        for (uint32_t i = 0; i < n; ++i) {
            do random_region(bufs, &regs[i], &src_i[i], &dst_i[i]);
            while (overlaps_itself(&regs[i], src_i[i], dst_i[i]));
        }
        /* a chain now and then: the next region reads exactly what this one wrote */
        for (uint32_t i = 0; i + 1 < n; ++i) {
            if (pick(4) || !regs[i].size || dst_i[i] == dst_i[i + 1]) continue;
            regs[i + 1].src = regs[i].dst;
            src_i[i + 1] = dst_i[i];
            regs[i + 1].src_offset = regs[i].dst_offset;
            regs[i + 1].size = regs[i].size;
            if (regs[i + 1].dst_offset > BSIZE - regs[i].size) regs[i + 1].dst_offset = BSIZE - regs[i].size;
        }
        /* one batch in seven: one region overlaps itself, and the whole batch must be refused */
        bool bad = k % 7 == 3;
        if (bad) {
            uint32_t j = (uint32_t)pick(n);
            regs[j].size = 2 + pick(4096);
            regs[j].src_offset = pick(BSIZE - 2 * regs[j].size);
            regs[j].dst_offset = regs[j].src_offset + 1 + pick(regs[j].size - 1);
            regs[j].dst = regs[j].src;
            dst_i[j] = src_i[j];
        }
        sedx_ticket tk = {0};
        sedx_result r = sedx_gpu_copy_batch(ctx, regs, n, pick(2) ? &tk : NULL);
        if (bad) {
            assert_int_equal(r, SEDX_ERROR_INVALID_ARGUMENT); /* shadow unchanged: nothing may be copied */
            refused++;
            continue;
        }
        assert_int_equal(r, SEDX_SUCCESS);
        for (uint32_t i = 0; i < n; ++i) /* in order: later regions see earlier ones */
            memcpy(shadow[dst_i[i]] + regs[i].dst_offset, shadow[src_i[i]] + regs[i].src_offset, regs[i].size);
        if (pick(8) == 0)
            for (int b = 0; b < NBUF; ++b) expect_contents(ctx, &bufs[b], shadow[b], BSIZE, mode);
    }
    for (int b = 0; b < NBUF; ++b) {
        expect_contents(ctx, &bufs[b], shadow[b], BSIZE, mode);
        sedx_buffer_release(&bufs[b]);
        free(shadow[b]);
    }
    print_message("%s: %d batches, %d refused whole\n", mode, batches, refused);
    assert_true(refused > 0 && refused < batches); /* both kinds of batch were tried */
    tu_context_destroy(ctx);
}

static void test_shadow_compute(void **state)
{
    (void)state;
    shadow_sequence(SEDX_TRANSFER_FORCE_COMPUTE_COPY, "compute copies");
}

static void test_shadow_copy_command(void **state)
{
    (void)state;
    shadow_sequence(SEDX_TRANSFER_FORCE_COPY_COMMAND, "copy commands");
}

/* More independent regions than are compared with one another between barriers, then one that
 * reads what the first region wrote: the window's barrier must have ordered them. */
static void test_past_the_window(void **state)
{
    (void)state;
    g_rng = tu_seed() + 31;
    sedx_context *ctx = make_ctx(0);
    uint8_t *a = malloc(BSIZE), *want_b = malloc(BSIZE), *want_c = malloc(BSIZE);
    tu_fill_random(a, BSIZE, &g_rng);
    tu_fill_random(want_b, BSIZE, &g_rng);
    tu_fill_random(want_c, BSIZE, &g_rng);
    sedx_buffer A = make_buf(ctx, BSIZE, a), B = make_buf(ctx, BSIZE, want_b), C = make_buf(ctx, BSIZE, want_c);
    enum { N = 200 };
    sedx_copy_region regs[N + 1];
    for (uint32_t i = 0; i < N; ++i) { /* A[i*4096, +4096) -> B, distinct ranges */
        regs[i] = (sedx_copy_region){&A, (uint64_t)i * 4096, &B, (uint64_t)i * 4096, 4096};
        memcpy(want_b + (uint64_t)i * 4096, a + (uint64_t)i * 4096, 4096);
    }
    regs[N] = (sedx_copy_region){&B, 0, &C, 100, 4096}; /* reads region 0's bytes */
    memcpy(want_c + 100, want_b, 4096);
    sedx_ticket tk;
    assert_int_equal(sedx_gpu_copy_batch(ctx, regs, N + 1, &tk), SEDX_SUCCESS);
    assert_true(tk.value > 0);
    assert_int_equal(sedx_ticket_wait(ctx, tk, UINT64_MAX), SEDX_SUCCESS);
    expect_contents(ctx, &B, want_b, BSIZE, "B");
    expect_contents(ctx, &C, want_c, BSIZE, "C");
    sedx_buffer_release(&A);
    sedx_buffer_release(&B);
    sedx_buffer_release(&C);
    free(a);
    free(want_b);
    free(want_c);
    tu_context_destroy(ctx);
}

/* Every bad input: the exact code, a line naming the region, nothing copied, the context usable. */
static void test_bad_input(void **state)
{
    (void)state;
    g_rng = tu_seed() + 43;
    sedx_context *ctx = make_ctx(0), *other = tu_context(false);
    uint8_t *a = malloc(BSIZE), *b = malloc(BSIZE);
    tu_fill_random(a, BSIZE, &g_rng);
    tu_fill_random(b, BSIZE, &g_rng);
    sedx_buffer A = make_buf(ctx, BSIZE, a), B = make_buf(ctx, BSIZE, b), gone = make_buf(ctx, 4096, NULL);
    sedx_buffer foreign = make_buf(other, 4096, NULL);
    sedx_buffer_release(&gone);
    sedx_copy_region good = {&A, 0, &B, 0, 8192};
    struct {
        sedx_copy_region bad;
        sedx_result code;
    } cases[] = {
        {{&A, BSIZE - 10, &B, 0, 11}, SEDX_ERROR_OUT_OF_BOUNDS},
        {{&A, 0, &B, BSIZE, 1}, SEDX_ERROR_OUT_OF_BOUNDS},
        {{&A, 0, &B, 1, UINT64_MAX}, SEDX_ERROR_OUT_OF_BOUNDS},
        {{&A, 0, &A, 100, 200}, SEDX_ERROR_INVALID_ARGUMENT}, /* overlaps itself */
        {{&gone, 0, &B, 0, 16}, SEDX_ERROR_INVALID_HANDLE},
        {{&A, 0, &gone, 0, 16}, SEDX_ERROR_INVALID_HANDLE},
        {{NULL, 0, &B, 0, 16}, SEDX_ERROR_INVALID_HANDLE},
        {{&A, 0, NULL, 0, 16}, SEDX_ERROR_INVALID_HANDLE},
        {{&foreign, 0, &B, 0, 16}, SEDX_ERROR_WRONG_CONTEXT},
        {{&A, 0, &foreign, 0, 16}, SEDX_ERROR_WRONG_CONTEXT},
    };
    tu_log_capture();
    for (size_t c = 0; c < sizeof cases / sizeof cases[0]; ++c) {
        sedx_copy_region regs[3] = {good, cases[c].bad, {&B, 0, &A, 0, 4096}};
        tu_log_reset();
        sedx_ticket tk = {12345, 0, 0};
        assert_int_equal(sedx_gpu_copy_batch(ctx, regs, 3, &tk), cases[c].code);
        assert_true(tu_log_contains("region 1 of 3"));
        assert_int_equal(tk.value, 12345); /* untouched */
    }
    tu_log_reset();
    assert_int_equal(sedx_gpu_copy_batch(NULL, &good, 1, NULL), SEDX_ERROR_INVALID_ARGUMENT);
    assert_int_equal(sedx_gpu_copy_batch(ctx, NULL, 1, NULL), SEDX_ERROR_INVALID_ARGUMENT);
    assert_true(tu_log_count(SEDX_LOG_ERROR) >= 2);
    sedx_ticket tk = {99, 0, 0};
    assert_int_equal(sedx_gpu_copy_batch(ctx, NULL, 0, &tk), SEDX_SUCCESS);
    assert_true(tk.value == 0);
    sedx_copy_region empty[2] = {{&A, 0, &B, 0, 0}, {&B, 5, &A, 5, 0}};
    tk.value = 99;
    assert_int_equal(sedx_gpu_copy_batch(ctx, empty, 2, &tk), SEDX_SUCCESS);
    assert_true(tk.value == 0);
    /* nothing of the refused batches reached the GPU */
    expect_contents(ctx, &A, a, BSIZE, "A after refused batches");
    expect_contents(ctx, &B, b, BSIZE, "B after refused batches");
    /* and the context still copies */
    assert_int_equal(sedx_gpu_copy_batch(ctx, &good, 1, NULL), SEDX_SUCCESS);
    memcpy(b, a, 8192);
    expect_contents(ctx, &B, b, BSIZE, "B after a good batch");
    sedx_buffer_release(&A);
    sedx_buffer_release(&B);
    sedx_buffer_release(&foreign);
    free(a);
    free(b);
    tu_context_destroy(other);
    tu_context_destroy(ctx);
}

/* Released while the batch waits behind a gate on the main queue: the buffers must live until
 * it has run (use after free otherwise: validation and ASan). */
static void test_release_in_flight(void **state)
{
    (void)state;
    g_rng = tu_seed() + 59;
    sedx_context *ctx = make_ctx(0);
    uint8_t *a = malloc(BSIZE), *c = malloc(BSIZE);
    tu_fill_random(a, BSIZE, &g_rng);
    tu_fill_random(c, BSIZE, &g_rng);
    sedx_buffer A = make_buf(ctx, BSIZE, a), B = make_buf(ctx, BSIZE, NULL), C = make_buf(ctx, BSIZE, c);
    sedx_ticket gate_tk;
    VkSemaphore gate = tu_gate(ctx, SEDX_QUEUE_GRAPHICS, &gate_tk);
    sedx_copy_region regs[2] = {{&A, 0, &B, 0, BSIZE}, {&B, 0, &C, 0, BSIZE}};
    sedx_ticket tk;
    assert_int_equal(sedx_gpu_copy_batch(ctx, regs, 2, &tk), SEDX_SUCCESS);
    sedx_buffer_release(&A);
    sedx_buffer_release(&B);
    assert_int_equal(sedx_ticket_wait(ctx, tk, 1000000), SEDX_TIMEOUT); /* still behind the gate */
    tu_open_gate(ctx, gate);
    assert_int_equal(sedx_ticket_wait(ctx, tk, UINT64_MAX), SEDX_SUCCESS);
    expect_contents(ctx, &C, a, BSIZE, "C = A through B");
    sedx_buffer_release(&C);
    sedx_context_wait_idle(ctx);
    vkDestroySemaphore(sedx_context_device(ctx), gate, NULL);
    free(a);
    free(c);
    tu_context_destroy(ctx);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_shadow_compute),  cmocka_unit_test(test_shadow_copy_command),
        cmocka_unit_test(test_past_the_window), cmocka_unit_test(test_bad_input),
        cmocka_unit_test(test_release_in_flight),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
