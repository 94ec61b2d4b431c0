/*
 * Do two regions of the open upload batch write the same bytes? Then their order matters, and
 * one dispatch or one copy command would not keep it (sedx__batch_record takes the ordered path).
 *
 * Two tests. Each region marks the 256-byte granules it writes as it joins the batch
 * (sedx__touch_add, a hash set of 64-granule words per destination: a few instructions per region,
 * no false "no overlap", since two regions sharing a byte share its granule). When no granule was
 * marked twice the answer is "no" without looking at the regions again. Otherwise (two regions
 * share a granule, e.g. 16-byte uniform updates side by side; a region over 256 KiB; a set that
 * could not grow) the exact test below sorts the regions. The batched 4 KiB scatter spent ~87
 * instructions per region in that sort when it ran for every batch (callgrind,
 * bench/results/scatter-batch-bookkeeping-lavapipe-2026-12-06-s5.txt).
 */
#include "transfer/transfer_private.h"

bool sedx__touch_grow(struct sedx__transfer *t)
{
    uint32_t cap = t->touch_cap ? t->touch_cap * 2 : 4096u;
    if (cap > TOUCH_CAP_MAX) return false;
    touch_word *n = sedx__calloc(cap, sizeof *n);
    if (!n) return false; /* the exact test decides: slower, never wrong */
    touch_word *old = t->touch;
    uint32_t old_cap = t->touch_cap;
    t->touch = n;
    t->touch_cap = cap;
    t->touch_limit = cap / 2;
    t->touch_shift = 64u - (unsigned)__builtin_ctz(cap);
    t->touch_used = 0;
    uint64_t gen = t->batch_id + 1;
    for (uint32_t i = 0; i < old_cap; ++i)
        if (old[i].gen == gen) sedx__touch_mark(t, old[i].dst, old[i].word, old[i].bits); /* under half full: no grow */
    sedx__free(old);
    return true;
}

void sedx__touch_add_words(struct sedx__transfer *t, const sedx_buffer_resource *dst, uint64_t first, uint64_t last)
{
    uint64_t w0 = first >> 6, w1 = last >> 6;
    if (w1 - w0 >= TOUCH_MAX_WORDS) {
        t->touch_maybe = true;
        return;
    }
    for (uint64_t w = w0; w <= w1; ++w) {
        uint64_t lo = w == w0 ? first & 63 : 0, hi = w == w1 ? last & 63 : 63;
        sedx__touch_mark(t, dst, w, ((2ull << hi) - 1) & (~0ull << lo));
    }
}

/* The exact test. Regions already in (destination, offset) order answer in one pass; otherwise
 * they are sorted by (destination, offset) with an LSD radix sort over the 8-bit digits that
 * differ between regions, from the lowest differing bit (4 KiB pieces of a 128 MiB buffer: two
 * passes; one destination: none of the pointer's), O(n). A qsort with a comparison callback cost
 * ~300 instructions per region (callgrind), byte-aligned digits ~117, these ~87. Then any overlap
 * shows between neighbours. */
typedef struct span {
    uint64_t start, end;
    uintptr_t dst;
} span;

static bool spans_overlap_sorted(const span *v, uint32_t n)
{
    for (uint32_t i = 1; i < n; ++i)
        if (v[i].dst == v[i - 1].dst && v[i - 1].end > v[i].start) return true;
    return false;
}

static bool regions_overlap(const region *g, uint32_t n)
{
    if (n < 2) return false;
    bool in_order = true;
    for (uint32_t i = 1; i < n && in_order; ++i)
        in_order = (uintptr_t)g[i - 1].dst < (uintptr_t)g[i].dst ||
                   (g[i - 1].dst == g[i].dst && g[i - 1].dst_offset + g[i - 1].size <= g[i].dst_offset);
    if (in_order) return false; /* every region starts after the previous one of its buffer ends */
    span *a = sedx__malloc((size_t)n * 2 * sizeof *a);
    if (!a) return true; /* cannot tell: take the ordered path */
    span *b = a + n;
    uint64_t or0 = 0, and0 = ~(uint64_t)0, or1 = 0, and1 = ~(uint64_t)0;
    for (uint32_t i = 0; i < n; ++i) {
        a[i] = (span){g[i].dst_offset, g[i].dst_offset + g[i].size, (uintptr_t)g[i].dst};
        or0 |= a[i].start;
        and0 &= a[i].start;
        or1 |= (uint64_t)a[i].dst;
        and1 &= (uint64_t)a[i].dst;
    }
    /* least significant first: the offset's digits, then the destination's (stable passes) */
    for (int key = 0; key < 2; ++key) {
        uint64_t differ = key ? or1 ^ and1 : or0 ^ and0;
        for (unsigned shift = differ ? (unsigned)__builtin_ctzll(differ) : 64u; shift < 64u; shift += 8) {
            if (!((differ >> shift) & 0xff)) continue; /* the same in every region: no pass */
            uint32_t count[256] = {0};
            for (uint32_t i = 0; i < n; ++i) count[((key ? (uint64_t)a[i].dst : a[i].start) >> shift) & 0xff]++;
            uint32_t sum = 0;
            for (int k = 0; k < 256; ++k) {
                uint32_t c = count[k];
                count[k] = sum;
                sum += c;
            }
            for (uint32_t i = 0; i < n; ++i) b[count[((key ? (uint64_t)a[i].dst : a[i].start) >> shift) & 0xff]++] = a[i];
            span *tmp = a;
            a = b;
            b = tmp;
        }
    }
    bool overlap = spans_overlap_sorted(a, n);
    sedx__free(a < b ? a : b); /* the allocation's start: whichever half it is */
    return overlap;
}

bool sedx__batch_overlap(struct sedx__transfer *t)
{
    if (!t->touch_maybe) return false;
    t->stats.overlap_sorts++;
    return regions_overlap(t->regions, t->region_count);
}
