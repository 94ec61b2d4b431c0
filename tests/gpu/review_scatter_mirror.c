/* SEDX_SCATTER_MIRROR: scatter batches read a device-local mirror of the ring bytes they use.
 * A small ring (64 KiB) that wraps within batches (regions at its end, the table at its start)
 * and grows (a large upload) while older batches are in flight: every byte against a shadow,
 * under synchronization validation; the mirror must really be used (mirror_bytes). */
#include "test_util.h"

#include <stdlib.h>
#include <string.h>

#define BSIZE (256u << 10)

static void test_mirror_wrap_and_grow(void **state)
{
    (void)state;
    setenv("SEDX_SCATTER_MIRROR", "1", 1);
    uint64_t rng = tu_seed() + 77;
    sedx_context *ctx = tu_context(true);
    sedx_transfer_info ti = {0};
    ti.flags = SEDX_TRANSFER_NO_DIRECT | SEDX_TRANSFER_FORCE_SCATTER;
    ti.staging_size = 64u << 10;
    ti.staging_max = 512u << 10;
    assert_int_equal(sedx_transfer_configure(ctx, &ti), SEDX_SUCCESS);
    sedx_buffer b;
    assert_int_equal(sedx_buffer_create(ctx, BSIZE, SEDX_BUFFER_USAGE_STORAGE, SEDX_MEMORY_GPU, "mirror dst", &b),
                     SEDX_SUCCESS);
    uint8_t *shadow = malloc(BSIZE), *got = malloc(BSIZE), *big = malloc(BSIZE);
    tu_fill_random(shadow, BSIZE, &rng);
    assert_int_equal(sedx_upload(ctx, &b, 0, BSIZE, shadow), SEDX_SUCCESS);
    assert_int_equal(sedx_upload_flush(ctx), SEDX_SUCCESS);
    enum { MAXN = 200 };
    static uint8_t data[MAXN][512];
    sedx_upload_region regs[MAXN];
    sedx_ticket tk[4] = {{0}};
    for (int k = 0; k < 120; ++k) {
        uint32_t n = 64 + (uint32_t)(tu_rand(&rng) % (MAXN - 64));
        /* distinct 512-byte slots (overlapping regions would take the ordered copy path) */
        static uint32_t slot[BSIZE / 512];
        for (uint32_t i = 0; i < BSIZE / 512; ++i) slot[i] = i;
        for (uint32_t i = 0; i < n; ++i) {
            uint32_t j = i + (uint32_t)(tu_rand(&rng) % (BSIZE / 512 - i)), tmp = slot[i];
            slot[i] = slot[j];
            slot[j] = tmp;
            uint64_t size = 4 * (1 + tu_rand(&rng) % 120), off = (uint64_t)slot[i] * 512 + 4 * (tu_rand(&rng) % 8);
            tu_fill_random(data[i], size, &rng);
            regs[i] = (sedx_upload_region){&b, off, size, data[i]};
            memcpy(shadow + off, data[i], size);
        }
        assert_int_equal(sedx_upload_batch(ctx, regs, n), SEDX_SUCCESS);
        assert_int_equal(sedx_upload_submit(ctx, &tk[k & 3]), SEDX_SUCCESS); /* up to 4 batches in flight */
        if (k == 40 || k == 80) { /* the ring grows (twice its size) while batches are in flight */
            tu_fill_random(big, BSIZE, &rng);
            uint64_t size = (k == 40 ? 100u : 200u) << 10;
            assert_int_equal(sedx_upload(ctx, &b, 0, size, big), SEDX_SUCCESS);
            memcpy(shadow, big, size);
        }
        if ((k & 3) == 3) assert_int_equal(sedx_ticket_wait(ctx, tk[0], UINT64_MAX), SEDX_SUCCESS);
    }
    assert_int_equal(sedx_upload_flush(ctx), SEDX_SUCCESS);
    assert_int_equal(sedx_download(ctx, &b, 0, BSIZE, got), SEDX_SUCCESS);
    for (uint64_t i = 0; i < BSIZE; ++i)
        if (got[i] != shadow[i]) fail_msg("byte %llu: %02x, expected %02x", (unsigned long long)i, got[i], shadow[i]);
    sedx_transfer_stats st;
    assert_int_equal(sedx_transfer_get_stats(ctx, &st), SEDX_SUCCESS);
    print_message("staging %llu KiB, scatter dispatches %llu, mirror bytes %llu\n",
                  (unsigned long long)(st.staging_size >> 10), (unsigned long long)st.scatter_dispatches,
                  (unsigned long long)st.mirror_bytes);
    assert_true(st.scatter_dispatches > 0);
    assert_true(st.mirror_bytes > 0);
    sedx_buffer_release(&b);
    free(shadow);
    free(got);
    free(big);
    tu_context_destroy(ctx);
    unsetenv("SEDX_SCATTER_MIRROR");
}

int main(void)
{
    const struct CMUnitTest tests[] = {cmocka_unit_test(test_mirror_wrap_and_grow)};
    return cmocka_run_group_tests(tests, NULL, NULL);
}
