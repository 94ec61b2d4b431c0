/* The open batch's touch marks (sedx__touch_add, src/transfer/overlap.c): the cheap test that
 * lets a batch skip the exact overlap sort. Against a brute-force shadow, over random batches of
 * three destinations: a batch whose regions share a byte is never called clear (no false "no
 * overlap"); a batch of regions that share no 256-byte granule is never sent to the sort; a
 * region over 256 KiB, and a batch past the set's largest size, are left to the sort. The set
 * grows (4096 entries and up) and is reused batch after batch without clearing (generations).
 * No GPU. */
#include "test_util.h"
#include "transfer/transfer_private.h"

#include <stdlib.h>

typedef struct rgn {
    int dst;
    uint64_t off, size;
} rgn;

static bool shadow_overlap(const rgn *r, uint32_t n)
{
    for (uint32_t i = 0; i < n; ++i)
        for (uint32_t j = i + 1; j < n; ++j)
            if (r[i].dst == r[j].dst && r[i].off < r[j].off + r[j].size && r[j].off < r[i].off + r[i].size) return true;
    return false;
}

static bool shadow_share_granule(const rgn *r, uint32_t n)
{
    for (uint32_t i = 0; i < n; ++i)
        for (uint32_t j = i + 1; j < n; ++j) {
            uint64_t a0 = r[i].off >> TOUCH_SHIFT, a1 = (r[i].off + r[i].size - 1) >> TOUCH_SHIFT;
            uint64_t b0 = r[j].off >> TOUCH_SHIFT, b1 = (r[j].off + r[j].size - 1) >> TOUCH_SHIFT;
            if (r[i].dst == r[j].dst && a0 <= b1 && b0 <= a1) return true;
        }
    return false;
}

static bool large(const rgn *r, uint32_t n)
{
    for (uint32_t i = 0; i < n; ++i)
        if (((r[i].off + r[i].size - 1) >> (TOUCH_SHIFT + 6)) - (r[i].off >> (TOUCH_SHIFT + 6)) >= TOUCH_MAX_WORDS)
            return true;
    return false;
}

/* one batch: mark every region, then close it as close_batch does */
static bool run_batch(struct sedx__transfer *t, sedx_buffer_resource *dsts, const rgn *r, uint32_t n)
{
    for (uint32_t i = 0; i < n; ++i) sedx__touch_add(t, &dsts[r[i].dst], r[i].off, r[i].size);
    bool maybe = t->touch_maybe;
    t->batch_id++;
    sedx__touch_reset(t);
    return maybe;
}

static void test_random_batches(void **state)
{
    (void)state;
    uint64_t rng = tu_seed() + 11;
    struct sedx__transfer t;
    memset(&t, 0, sizeof t);
    sedx_buffer_resource dsts[3];
    memset(dsts, 0, sizeof dsts);
    enum { MAXN = 300 };
    rgn r[MAXN];
    uint32_t clear = 0, sorted = 0, overlapping = 0;
    for (int b = 0; b < 4000; ++b) {
        uint32_t n = 1 + (uint32_t)(tu_rand(&rng) % MAXN);
        int kind = (int)(tu_rand(&rng) % 4);
        for (uint32_t i = 0; i < n; ++i) {
            r[i].dst = (int)(tu_rand(&rng) % 3);
            switch (kind) {
            case 0: /* 4 KiB pieces of distinct or repeated slots: mostly clear */
                r[i].off = (tu_rand(&rng) % 4096) * 4096;
                r[i].size = 4096;
                break;
            case 1: /* small, unaligned, close together: granules shared, some overlap */
                r[i].off = tu_rand(&rng) % (64u << 10);
                r[i].size = 1 + tu_rand(&rng) % 300;
                break;
            case 2: /* straddling 16 KiB words, now and then far apart */
                r[i].off = (tu_rand(&rng) % 256) * 16384 - (tu_rand(&rng) % 2 ? 0 : 1 + tu_rand(&rng) % 1024);
                if (r[i].off > (1ull << 40)) r[i].off = 0; /* (wrapped below zero) */
                r[i].size = 1 + tu_rand(&rng) % 20000;
                break;
            default: /* sizes up to 512 KiB: some past the marked limit */
                r[i].off = tu_rand(&rng) % (8u << 20);
                r[i].size = 1 + tu_rand(&rng) % (tu_rand(&rng) % 8 ? 4096 : (512u << 10));
                break;
            }
        }
        bool ov = shadow_overlap(r, n), share = shadow_share_granule(r, n), big = large(r, n);
        bool maybe = run_batch(&t, dsts, r, n);
        if (ov) assert_true(maybe); /* never a false "no overlap" */
        if (!share && !big) assert_false(maybe); /* and no needless sort for granule-disjoint regions */
        if (maybe && !big) assert_true(share);
        clear += !maybe;
        sorted += maybe;
        overlapping += ov;
    }
    print_message("batches clear %u, left to the sort %u (overlapping %u)\n", clear, sorted, overlapping);
    assert_true(clear > 500 && sorted > 500 && overlapping > 100);
    assert_true(t.touch_cap >= 4096);
    sedx__free(t.touch);
}

/* 2048 4 KiB pieces of one 128 MiB buffer, shuffled (the benchmark's batch), 300 batches in a
 * row: never sent to the sort, and a piece repeated in the next batch is not a conflict (the
 * old marks are stale). Then a batch over the set's largest size: left to the sort. */
static void test_scatter_batches_and_cap(void **state)
{
    (void)state;
    uint64_t rng = tu_seed() + 12;
    struct sedx__transfer t;
    memset(&t, 0, sizeof t);
    sedx_buffer_resource d;
    memset(&d, 0, sizeof d);
    static uint32_t slot[32768];
    for (uint32_t i = 0; i < 32768; ++i) slot[i] = i;
    for (int b = 0; b < 300; ++b) {
        for (uint32_t i = 0; i < 2048; ++i) {
            uint32_t j = i + (uint32_t)(tu_rand(&rng) % (32768 - i)), tmp = slot[i];
            slot[i] = slot[j];
            slot[j] = tmp;
            sedx__touch_add(&t, &d, (uint64_t)slot[i] * 4096, 4096);
        }
        assert_false(t.touch_maybe);
        t.batch_id++;
        sedx__touch_reset(&t);
    }
    /* one word each (16 KiB apart): more words than the largest set holds at half load */
    for (uint32_t i = 0; i < TOUCH_CAP_MAX / 2 + 10 && !t.touch_maybe; ++i) sedx__touch_add(&t, &d, (uint64_t)i * 16384, 64);
    assert_true(t.touch_maybe);
    assert_int_equal(t.touch_cap, TOUCH_CAP_MAX);
    t.batch_id++;
    sedx__touch_reset(&t);
    sedx__touch_add(&t, &d, 0, 64);
    sedx__touch_add(&t, &d, 64, 64); /* the same granule: undecided */
    assert_true(t.touch_maybe);
    sedx__free(t.touch);
}

int main(void)
{
    const struct CMUnitTest tests[] = {cmocka_unit_test(test_random_batches), cmocka_unit_test(test_scatter_batches_and_cap)};
    return cmocka_run_group_tests(tests, NULL, NULL);
}
