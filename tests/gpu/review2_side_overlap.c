/* sedx_upload_batch's group bookkeeping and the full batch's recording (sedx__pool_run_with's
 * side function) run on the calling thread while the pool's workers copy the group: groups of
 * a whole batch target (the parallel path: >= 1 MiB, several regions) with the scatter forced
 * (its table allocated and written in the ring during the copy), optionally the mirror, an
 * image piece and a committed reservation already in the open batch, an outstanding
 * reservation pinned in the ring, overlapping regions (the ordered path), and a ring small
 * enough to wrap and wait. Every byte against a shadow; meant for the TSan build too. */
#include "test_util.h"

#include <stdlib.h>
#include <string.h>

#define BSIZE (20u << 20)
#define MAXN 1200u

static void run(bool mirror, bool ordered)
{
    if (mirror) setenv("SEDX_SCATTER_MIRROR", "1", 1);
    else unsetenv("SEDX_SCATTER_MIRROR");
    uint64_t rng = tu_seed() + (mirror ? 11 : 5) + (ordered ? 100 : 0);
    sedx_context *ctx = tu_context(false);
    sedx_transfer_info ti = {0};
    ti.flags = SEDX_TRANSFER_NO_DIRECT | SEDX_TRANSFER_FORCE_SCATTER;
    ti.staging_size = 8u << 20; /* batch target 2 MiB: groups of up to 2 MiB (>= 1 MiB: the parallel path) fill it */
    ti.staging_max = 8u << 20;
    ti.memcpy_threads = 3;
    assert_int_equal(sedx_transfer_configure(ctx, &ti), SEDX_SUCCESS);
    sedx_buffer b, rb;
    assert_int_equal(sedx_buffer_create(ctx, BSIZE, SEDX_BUFFER_USAGE_STORAGE, SEDX_MEMORY_GPU, "side dst", &b),
                     SEDX_SUCCESS);
    assert_int_equal(sedx_buffer_create(ctx, 64u << 10, SEDX_BUFFER_USAGE_STORAGE, SEDX_MEMORY_GPU, "rsv dst", &rb),
                     SEDX_SUCCESS);
    sedx_image_info ii = {0};
    ii.format = VK_FORMAT_R8G8B8A8_UNORM;
    ii.width = 64;
    ii.height = 64;
    ii.name = "side img";
    sedx_image img;
    assert_int_equal(sedx_image_create(ctx, &ii, &img), SEDX_SUCCESS);
    uint8_t *shadow = calloc(1, BSIZE), *got = malloc(BSIZE), *pix = malloc(64 * 64 * 4), *pback = malloc(64 * 64 * 4);
    uint8_t *rshadow = calloc(1, 64u << 10), *rgot = malloc(64u << 10);
    assert_int_equal(sedx_upload(ctx, &b, 0, BSIZE, shadow), SEDX_SUCCESS);
    assert_int_equal(sedx_upload(ctx, &rb, 0, 64u << 10, rshadow), SEDX_SUCCESS);
    assert_int_equal(sedx_upload_flush(ctx), SEDX_SUCCESS);
    static uint8_t data[MAXN][8192];
    static sedx_upload_region regs[MAXN];
    for (int k = 0; k < 24; ++k) {
        /* an image piece and a committed reservation in the open batch first; an outstanding
         * reservation pinned while the batch runs */
        tu_fill_random(pix, 64 * 64 * 4, &rng);
        sedx_image_region ir = {0};
        ir.data = pix;
        assert_int_equal(sedx_upload_image(ctx, &img, &ir, 1, NULL), SEDX_SUCCESS);
        sedx_upload_reservation rv, pinned;
        uint64_t roff = (uint64_t)(k % 8) * 4096;
        assert_int_equal(sedx_upload_reserve(ctx, &rb, roff, 4096, &rv), SEDX_SUCCESS);
        tu_fill_random(rv.data, 4096, &rng);
        memcpy(rshadow + roff, rv.data, 4096);
        assert_int_equal(sedx_upload_commit(ctx, &rv), SEDX_SUCCESS);
        assert_int_equal(sedx_upload_reserve(ctx, &rb, 32768 + roff, 4096, &pinned), SEDX_SUCCESS);
        uint32_t n = 300 + (uint32_t)(tu_rand(&rng) % (MAXN - 300));
        for (uint32_t i = 0; i < n; ++i) {
            uint64_t size = 4 * (1 + tu_rand(&rng) % 2048);
            uint64_t off = ordered ? 4 * (tu_rand(&rng) % ((BSIZE - size) / 4)) : ((uint64_t)(k & 1) * MAXN + i) * 8192;
            tu_fill_random(data[i], size, &rng);
            regs[i] = (sedx_upload_region){&b, off, size, data[i]};
            memcpy(shadow + off, data[i], size);
        }
        assert_int_equal(sedx_upload_batch(ctx, regs, n), SEDX_SUCCESS);
        /* the batch's bytes are the call's: scribbling over the sources now must not show */
        for (uint32_t i = 0; i < n; ++i) memset(data[i], 0xEE, regs[i].size);
        memset(pinned.data, 0x5A, 4096);
        memset(rshadow + 32768 + roff, 0x5A, 4096);
        assert_int_equal(sedx_upload_commit(ctx, &pinned), SEDX_SUCCESS);
        if (k % 3 == 2) assert_int_equal(sedx_upload_flush(ctx), SEDX_SUCCESS);
        assert_int_equal(sedx_upload_submit(ctx, NULL), SEDX_SUCCESS);
        assert_int_equal(sedx_download_image(ctx, &img, &ir, pback), SEDX_SUCCESS);
        assert_memory_equal(pback, pix, 64 * 64 * 4);
    }
    assert_int_equal(sedx_upload_flush(ctx), SEDX_SUCCESS);
    assert_int_equal(sedx_download(ctx, &b, 0, BSIZE, got), SEDX_SUCCESS);
    for (uint64_t i = 0; i < BSIZE; ++i)
        if (got[i] != shadow[i]) fail_msg("byte %llu: %02x, expected %02x", (unsigned long long)i, got[i], shadow[i]);
    assert_int_equal(sedx_download(ctx, &rb, 0, 64u << 10, rgot), SEDX_SUCCESS);
    assert_memory_equal(rgot, rshadow, 64u << 10);
    sedx_transfer_stats st;
    assert_int_equal(sedx_transfer_get_stats(ctx, &st), SEDX_SUCCESS);
    print_message("batches %llu scatter %llu copy regions %llu mirror %llu waits %llu threads %u\n",
                  (unsigned long long)st.batches, (unsigned long long)st.scatter_dispatches,
                  (unsigned long long)st.copy_regions, (unsigned long long)st.mirror_bytes,
                  (unsigned long long)st.ring_waits, st.memcpy_threads);
    if (!ordered) assert_true(st.scatter_dispatches > 0);
    free(shadow);
    free(got);
    free(pix);
    free(pback);
    free(rshadow);
    free(rgot);
    sedx_image_release(&img);
    sedx_buffer_release(&b);
    sedx_buffer_release(&rb);
    tu_context_destroy(ctx);
}

static void test_scatter(void **state)
{
    (void)state;
    run(false, false);
}
static void test_mirror(void **state)
{
    (void)state;
    run(true, false);
}
static void test_ordered(void **state)
{
    (void)state;
    run(false, true);
}

int main(void)
{
    const struct CMUnitTest tests[] = {cmocka_unit_test(test_scatter), cmocka_unit_test(test_mirror),
                                       cmocka_unit_test(test_ordered)};
    return cmocka_run_group_tests(tests, NULL, NULL);
}
