/* The batch's overlap test through the public API, on the discrete path (NO_DIRECT,
 * FORCE_SCATTER): which batches skip the exact sort (stats.overlap_sorts), which go by the
 * scatter dispatch and which by ordered copies, and that every byte lands as in call order.
 *   - 4 KiB pieces in shuffled slots: no sort, one scatter dispatch;
 *   - 16-byte pieces side by side (one granule, no overlap): the sort runs, says no: scatter;
 *   - the same slot written twice, far apart in the batch: sorted, ordered, the last one wins;
 *   - two regions whose only shared bytes lie in the second 16 KiB word of the first: ordered;
 *   - a 512 KiB region among small ones: sorted, no overlap;
 *   - the same offsets in two buffers: no sort.
 * Every batch against a shadow, under synchronization validation. */
#include "test_util.h"

#include <stdlib.h>
#include <string.h>

#define BSIZE (2u << 20)

typedef struct fixture {
    sedx_context *ctx;
    sedx_buffer b[2];
    uint8_t *shadow[2], *got, *data;
    uint64_t rng;
} fixture;

static sedx_transfer_stats stats(fixture *f)
{
    sedx_transfer_stats st;
    assert_int_equal(sedx_transfer_get_stats(f->ctx, &st), SEDX_SUCCESS);
    return st;
}

/* region i: buffer which, offset, size; its bytes are the next ones of f->data */
static uint64_t add(fixture *f, sedx_upload_region *r, uint32_t *n, uint64_t *used, int which, uint64_t off, uint64_t size)
{
    uint8_t *d = f->data + *used;
    tu_fill_random(d, size, &f->rng);
    r[(*n)++] = (sedx_upload_region){&f->b[which], off, size, d};
    memcpy(f->shadow[which] + off, d, size);
    *used += size;
    return size;
}

static void submit_and_check(fixture *f, sedx_upload_region *r, uint32_t n, uint64_t sorts, uint64_t dispatches,
                             bool ordered)
{
    sedx_transfer_stats a = stats(f);
    assert_int_equal(sedx_upload_batch(f->ctx, r, n), SEDX_SUCCESS);
    assert_int_equal(sedx_upload_flush(f->ctx), SEDX_SUCCESS);
    sedx_transfer_stats b = stats(f);
    print_message("sorts %llu dispatches %llu copies %llu batches %llu\n", (unsigned long long)(b.overlap_sorts - a.overlap_sorts), (unsigned long long)(b.scatter_dispatches - a.scatter_dispatches), (unsigned long long)(b.copy_regions - a.copy_regions), (unsigned long long)(b.batches - a.batches));
    assert_int_equal(b.overlap_sorts - a.overlap_sorts, sorts);
    assert_int_equal(b.scatter_dispatches - a.scatter_dispatches, dispatches);
    if (ordered) assert_int_equal(b.copy_regions - a.copy_regions, n);
    for (int k = 0; k < 2; ++k) {
        assert_int_equal(sedx_download(f->ctx, &f->b[k], 0, BSIZE, f->got), SEDX_SUCCESS);
        for (uint64_t i = 0; i < BSIZE; ++i)
            if (f->got[i] != f->shadow[k][i])
                fail_msg("buffer %d byte %llu: %02x, expected %02x", k, (unsigned long long)i, f->got[i], f->shadow[k][i]);
    }
}

static void test_marks(void **state)
{
    (void)state;
    fixture f = {0};
    f.rng = tu_seed() + 5;
    f.ctx = tu_context(true);
    sedx_transfer_info ti = {0};
    ti.flags = SEDX_TRANSFER_NO_DIRECT | SEDX_TRANSFER_FORCE_SCATTER;
    ti.staging_size = 8u << 20;
    assert_int_equal(sedx_transfer_configure(f.ctx, &ti), SEDX_SUCCESS);
    for (int k = 0; k < 2; ++k) {
        assert_int_equal(sedx_buffer_create(f.ctx, BSIZE, SEDX_BUFFER_USAGE_STORAGE, SEDX_MEMORY_GPU, "marks", &f.b[k]),
                         SEDX_SUCCESS);
        f.shadow[k] = malloc(BSIZE);
        tu_fill_random(f.shadow[k], BSIZE, &f.rng);
        assert_int_equal(sedx_upload(f.ctx, &f.b[k], 0, BSIZE, f.shadow[k]), SEDX_SUCCESS);
    }
    assert_int_equal(sedx_upload_flush(f.ctx), SEDX_SUCCESS);
    f.got = malloc(BSIZE);
    f.data = malloc(4 * BSIZE);
    enum { MAXN = 512 };
    sedx_upload_region r[MAXN];
    static uint32_t slot[BSIZE / 4096];
    uint32_t n = 0;
    uint64_t used = 0;

    /* 4 KiB pieces, shuffled slots */
    for (uint32_t i = 0; i < BSIZE / 4096; ++i) slot[i] = i;
    for (uint32_t i = BSIZE / 4096 - 1; i > 0; --i) {
        uint32_t j = (uint32_t)(tu_rand(&f.rng) % (i + 1)), tmp = slot[i];
        slot[i] = slot[j];
        slot[j] = tmp;
    }
    for (uint32_t i = 0; i < 200; ++i) add(&f, r, &n, &used, 0, (uint64_t)slot[i] * 4096, 4096);
    submit_and_check(&f, r, n, 0, 1, false);

    /* 16-byte pieces side by side, in reverse order (not already sorted) */
    n = 0;
    used = 0;
    for (uint32_t i = 0; i < 256; ++i) add(&f, r, &n, &used, 0, 8192 + (uint64_t)(255 - i) * 16, 16);
    submit_and_check(&f, r, n, 1, 1, false);

    /* the same slot twice, 150 regions apart: the later bytes win */
    n = 0;
    used = 0;
    for (uint32_t i = 0; i < 200; ++i) add(&f, r, &n, &used, 0, (uint64_t)slot[i] * 4096 + (i == 180 ? 100 : 0), 4096 - (i == 180 ? 200 : 0));
    add(&f, r, &n, &used, 0, (uint64_t)slot[30] * 4096, 4096);
    submit_and_check(&f, r, n, 1, 0, true);

    /* shared bytes only in the second 16 KiB word of a region */
    n = 0;
    used = 0;
    for (uint32_t i = 0; i < 100; ++i) add(&f, r, &n, &used, 0, (1u << 20) + (uint64_t)i * 4096, 4096);
    add(&f, r, &n, &used, 0, 16384 - 512, 1024);       /* words 0 and 1 */
    add(&f, r, &n, &used, 0, 16384 + 256, 256);        /* word 1, inside the region above */
    submit_and_check(&f, r, n, 1, 0, true);

    /* a 512 KiB region among 4 KiB pieces: sorted, no overlap, scatter for the small ones */
    n = 0;
    used = 0;
    add(&f, r, &n, &used, 0, 0, 512u << 10);
    for (uint32_t i = 0; i < 100; ++i) add(&f, r, &n, &used, 0, (1u << 20) + (uint64_t)(99 - i) * 4096, 4096);
    submit_and_check(&f, r, n, 1, 1, false);

    /* the same offsets in two buffers: no sort */
    n = 0;
    used = 0;
    for (uint32_t i = 0; i < 100; ++i) add(&f, r, &n, &used, (int)(i & 1), (uint64_t)(i / 2) * 4096, 4096);
    submit_and_check(&f, r, n, 0, 1, false);

    for (int k = 0; k < 2; ++k) {
        sedx_buffer_release(&f.b[k]);
        free(f.shadow[k]);
    }
    free(f.got);
    free(f.data);
    tu_context_destroy(f.ctx);
}

int main(void)
{
    const struct CMUnitTest tests[] = {cmocka_unit_test(test_marks)};
    return cmocka_run_group_tests(tests, NULL, NULL);
}
