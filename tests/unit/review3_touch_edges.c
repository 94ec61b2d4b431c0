/* Review 3: the open batch's granule marks (src/transfer/overlap.c) at their edges, against
 * the exact answer. No GPU.
 *   - offsets near 2^64 (a region ending at the last byte: offset + size wraps to 0);
 *   - destinations whose (pointer ^ word) hash keys collide: entries of two buffers in one probe
 *     chain are never merged, and a repeat of either is still seen;
 *   - regions spanning 15 and 16 word boundaries (the last marked size and the first left to the
 *     exact test), a granule shared only in the last word of a multi-word region;
 *   - granule bits 0 and 63 of a word (the 2 << 63 wrap);
 *   - the set growing while a multi-word region is being marked, after many stale batches. */
#include "test_util.h"
#include "transfer/transfer_private.h"

#include <stdlib.h>

typedef struct rgn {
    const sedx_buffer_resource *dst;
    uint64_t off, size;
} rgn;

static bool meet(const rgn *a, const rgn *b)
{
    uint64_t a0 = a->off >> TOUCH_SHIFT, a1 = (a->off + a->size - 1) >> TOUCH_SHIFT;
    uint64_t b0 = b->off >> TOUCH_SHIFT, b1 = (b->off + b->size - 1) >> TOUCH_SHIFT;
    return a->dst == b->dst && a0 <= b1 && b0 <= a1;
}

static bool big(const rgn *a) { return ((a->off + a->size - 1) >> 14) - (a->off >> 14) >= TOUCH_MAX_WORDS; }

/* marks the regions as one batch, closes it, and checks the answer: undecided exactly when two
 * regions share a granule or one is left to the exact test */
static void batch(struct sedx__transfer *t, const rgn *r, uint32_t n)
{
    bool want = false;
    for (uint32_t i = 0; i < n; ++i) {
        want |= big(&r[i]);
        for (uint32_t j = i + 1; j < n; ++j) want |= meet(&r[i], &r[j]);
    }
    for (uint32_t i = 0; i < n; ++i) sedx__touch_add(t, r[i].dst, r[i].off, r[i].size);
    if (t->touch_maybe != want) fail_msg("batch of %u regions: marks say %d, the exact answer %d", n, t->touch_maybe, want);
    t->batch_id++;
    sedx__touch_reset(t);
}

static void test_edges(void **state)
{
    (void)state;
    struct sedx__transfer t;
    memset(&t, 0, sizeof t);
    static sedx_buffer_resource res[4];
    const sedx_buffer_resource *A = &res[0], *B = &res[1];
    const uint64_t top = UINT64_MAX;

    /* the top of the address range */
    batch(&t, (rgn[]){{A, top - 299, 300}, {A, top - 1000, 600}}, 2);          /* granules apart */
    batch(&t, (rgn[]){{A, top - 299, 300}, {A, top - 400, 150}}, 2);           /* one shared granule */
    batch(&t, (rgn[]){{A, top, 1}, {A, top - 255, 1}}, 2);                     /* both in the last granule */
    batch(&t, (rgn[]){{A, top - (64u << 10) + 1, 64u << 10}, {A, 0, 64}}, 2);  /* 4 words at the top; 0 apart */
    batch(&t, (rgn[]){{A, top - (300u << 10) + 1, 300u << 10}}, 1);            /* past the marked size */

    /* bits 0 and 63 of a word, alone and together */
    batch(&t, (rgn[]){{A, 0, 1}, {A, 16383, 1}}, 2);
    batch(&t, (rgn[]){{A, 16128, 256}, {A, 16383, 1}}, 2);
    batch(&t, (rgn[]){{A, 0, 16384}, {A, 16384, 16384}}, 2);
    batch(&t, (rgn[]){{A, 0, 16385}, {A, 16384, 1}}, 2);

    /* 15 and 16 word boundaries */
    batch(&t, (rgn[]){{A, 100, 15 * 16384}, {A, 15 * 16384 + 200, 1}}, 2);  /* last word shares a granule */
    batch(&t, (rgn[]){{A, 100, 15 * 16384}, {A, 15 * 16384 + 356, 1}}, 2);  /* the next granule: apart */
    batch(&t, (rgn[]){{A, 16383, 15 * 16384 + 2}}, 1);                         /* words 0..16: left to the sort */

    /* colliding hash keys: (A ^ w) == (B ^ w') for B = A ^ 1 and w' = w ^ 1 */
    uintptr_t pa = (uintptr_t)&res[2], pb = pa ^ 1;
    const sedx_buffer_resource *C = (const sedx_buffer_resource *)pa, *D = (const sedx_buffer_resource *)pb;
    for (int rep = 0; rep < 3; ++rep) {
        rgn r[64];
        uint32_t n = 0;
        for (uint64_t w = 0; w < 16; ++w) {
            r[n++] = (rgn){C, w * 16384 + 512, 16};
            r[n++] = (rgn){D, (w ^ 1) * 16384 + 512, 16}; /* same hash as the region above */
        }
        batch(&t, r, n); /* every key distinct: apart */
        r[n++] = (rgn){D, 7 * 16384 + 520, 4};
        batch(&t, r, n); /* D's word 7 again, behind C's entries in the chain */
        r[n - 1] = (rgn){C, 6 * 16384 + 512, 4};
        batch(&t, r, n);
    }

    /* growth in the middle of a multi-word region, after many stale batches: fill to one below
     * the grow point, then a 16-word region (its words straddle the growth), then its repeat */
    for (int b = 0; b < 50; ++b) batch(&t, (rgn[]){{A, (uint64_t)b * 4096, 4096}}, 1);
    uint32_t cap = t.touch_cap;
    assert_true(cap >= 4096);
    for (uint32_t i = 0; t.touch_used + 8 < t.touch_limit; ++i) sedx__touch_add(&t, B, (uint64_t)i * 16384, 16);
    assert_false(t.touch_maybe);
    sedx__touch_add(&t, A, 1u << 30, 15 * 16384 + 1); /* 16 words: grows in the middle */
    assert_false(t.touch_maybe);
    assert_true(t.touch_cap > cap);
    sedx__touch_add(&t, A, (1u << 30) + 2 * 16384 + 100, 1); /* a word marked before the growth */
    assert_true(t.touch_maybe);
    t.batch_id++;
    sedx__touch_reset(&t);
    sedx__touch_add(&t, A, (1u << 30) + 2 * 16384 + 100, 1); /* the next batch: stale */
    assert_false(t.touch_maybe);
    sedx__free(t.touch);
}

int main(void)
{
    const struct CMUnitTest tests[] = {cmocka_unit_test(test_edges)};
    return cmocka_run_group_tests(tests, NULL, NULL);
}
