/* Review 3: random sequences of sedx_upload, sedx_upload_batch and reservations (commit, cancel,
 * commits long after the reserve) on the discrete path (SEDX_TRANSFER_FLAGS=0x42: NO_DIRECT |
 * FORCE_SCATTER), against a CPU shadow checked byte by byte. The regions are drawn to hit the
 * batch's granule marks (src/transfer/overlap.c) from every side: overlaps inside one batch call
 * and across calls of the same open batch, regions sharing a 256-byte granule without sharing a
 * byte, regions straddling 16 KiB words, regions over 256 KiB (left to the exact test), regions
 * that end at the buffer's last byte, several destinations at the same offsets, and a buffer
 * released (and another created, maybe at the same address) while its uploads are in the open
 * batch. Three configurations, each with its own context:
 *   0: a 256 KiB ring that never grows (64 KiB batches, many submits from ring pressure), the
 *      default pool knobs (prefetching copies, 200 us polling), 4 copy threads;
 *   1: an 8 MiB ring (2 MiB groups: the pool's parallel path with the side bookkeeping), 8 copy
 *      threads, SEDX_SMALL_COPY=stream, SEDX_POOL_SPIN_US=0, SEDX_COPY_PIECES=3;
 *   2: a 1 MiB ring growing to 8 MiB, SEDX_SMALL_COPY=libc, SEDX_BATCH_KB=64, 3 copy threads.
 * Fixed seed: the same operations every run. */
#include "test_util.h"

#include <stdlib.h>
#include <string.h>

#define NBUF 4
#define ARENA (6u << 20)
#define MAXR 600u
#define MAXPEND 2 /* more pins could split a small ring into gaps below one chunk (OUT_OF_STAGING by design) */
#define MIN(a, b) ((a) < (b) ? (a) : (b))

static const uint64_t k_sizes[NBUF] = {(1u << 20), (64u << 10) + 12, (3u << 20) + 4, (256u << 10)};

typedef struct dst {
    sedx_buffer b;
    uint64_t size;
    uint8_t *shadow;
} dst;

typedef struct pend {
    sedx_upload_reservation rv;
    int buf;
    uint8_t *bytes; /* what was written into rv.data */
} pend;

typedef struct fx {
    sedx_context *ctx;
    dst d[NBUF];
    uint8_t *arena, *got;
    uint64_t rng, ring;
    pend p[MAXPEND];
    int np;
    uint32_t ops, checks, isolated, iso_meet, iso_overlap;
    uint64_t target;
} fx;

static uint64_t rnd(fx *f, uint64_t n) { return n ? tu_rand(&f->rng) % n : 0; }

/* a region of buffer size S: offset and size */
static void pick(fx *f, uint64_t S, uint64_t *off, uint64_t *size, uint64_t hot_base)
{
    uint64_t o, s;
    switch (rnd(f, 8)) {
    case 0: /* tiny, unaligned: granules shared */
        s = 1 + rnd(f, 64);
        o = rnd(f, S - s + 1);
        break;
    case 1: /* 4-byte aligned, scatter-eligible */
        s = 4 * (1 + rnd(f, 1024));
        o = 4 * rnd(f, (S - s) / 4 + 1);
        break;
    case 2: /* a 4 KiB slot */
        s = 4096;
        o = 4096 * rnd(f, S / 4096);
        break;
    case 3: /* medium: several 16 KiB words, sometimes past 256 KiB */
        s = (16u << 10) + rnd(f, 300u << 10);
        if (s > S) s = S;
        o = rnd(f, S - s + 1);
        break;
    case 4: /* around a 16 KiB word boundary */
        s = 1 + rnd(f, 1024);
        o = ((1 + rnd(f, S / 16384)) * 16384) - 1 - rnd(f, s);
        if (o + s > S) o = S - s;
        break;
    case 5: /* the buffer's end */
        s = 1 + rnd(f, 8192);
        if (s > S) s = S;
        o = S - s;
        break;
    default: /* the hot window: overlaps likely */
        s = 4 * (1 + rnd(f, 512));
        o = hot_base + 4 * rnd(f, 2048);
        if (o + s > S) o = S - s;
        break;
    }
    *off = o;
    *size = s;
}

static void check_range(fx *f, int k, uint64_t off, uint64_t size)
{
    assert_int_equal(sedx_download(f->ctx, &f->d[k].b, off, size, f->got), SEDX_SUCCESS);
    for (uint64_t i = 0; i < size; ++i)
        if (f->got[i] != f->d[k].shadow[off + i])
            fail_msg("op %u: buffer %d byte %llu: %02x, expected %02x", f->ops, k, (unsigned long long)(off + i),
                     f->got[i], f->d[k].shadow[off + i]);
    f->checks++;
}

static void create_buf(fx *f, int k)
{
    dst *d = &f->d[k];
    d->size = k_sizes[k];
    assert_int_equal(sedx_buffer_create(f->ctx, d->size, SEDX_BUFFER_USAGE_STORAGE, SEDX_MEMORY_GPU, "review3", &d->b),
                     SEDX_SUCCESS);
    if (!d->shadow) d->shadow = malloc(d->size);
    tu_fill_random(d->shadow, d->size, &f->rng);
    assert_int_equal(sedx_upload(f->ctx, &d->b, 0, d->size, d->shadow), SEDX_SUCCESS); /* into the open batch */
}

static void op_upload(fx *f, uint64_t hot)
{
    int k = (int)rnd(f, NBUF);
    uint64_t off, size;
    pick(f, f->d[k].size, &off, &size, hot % f->d[k].size);
    if (rnd(f, 16) == 0) { /* a large one: chunked, through the pool */
        size = MIN(f->d[k].size, (2u << 20) + 4 * rnd(f, 1u << 18));
        off = rnd(f, f->d[k].size - size + 1);
    }
    uint8_t *src = f->arena;
    tu_fill_random(src, size, &f->rng);
    memcpy(f->d[k].shadow + off, src, size);
    assert_int_equal(sedx_upload(f->ctx, &f->d[k].b, off, size, src), SEDX_SUCCESS);
    memset(src, 0xEE, size); /* the call's bytes are copied: scribbling now must not show */
}

static void op_batch(fx *f, uint64_t hot)
{
    static sedx_upload_region r[MAXR];
    static int which[MAXR];
    uint32_t n = 1 + (uint32_t)rnd(f, rnd(f, 4) == 0 ? MAXR : 80);
    int one = rnd(f, 2) ? (int)rnd(f, NBUF) : -1; /* one destination, or any */
    uint64_t used = 0;
    uint32_t m = 0;
    for (uint32_t i = 0; i < n; ++i) {
        int k = one >= 0 ? one : (int)rnd(f, NBUF);
        uint64_t off, size;
        if (m && rnd(f, 10) == 0) { /* the same bytes as an earlier region of this call, or a neighbour's granule */
            uint32_t j = (uint32_t)rnd(f, m);
            const sedx_upload_region *e = &r[j];
            k = which[j];
            off = e->offset + (rnd(f, 2) ? 0 : rnd(f, e->size));
            size = 1 + rnd(f, 512);
            if (off + size > f->d[k].size) off = f->d[k].size - size;
        } else {
            pick(f, f->d[k].size, &off, &size, hot % f->d[k].size);
        }
        if (used + size > ARENA) break;
        uint8_t *src = f->arena + used;
        tu_fill_random(src, size, &f->rng);
        which[m] = k;
        r[m++] = (sedx_upload_region){&f->d[k].b, off, size, src};
        used += ((size + 15) & ~(uint64_t)15);
    }
    for (uint32_t i = 0; i < m; ++i) memcpy(f->d[which[i]].shadow + r[i].offset, r[i].data, r[i].size);
    assert_int_equal(sedx_upload_batch(f->ctx, r, m), SEDX_SUCCESS);
    for (uint32_t i = 0; i < m; ++i) memset((void *)r[i].data, 0xEE, r[i].size);
}

/* regions in distinct slots of one buffer (no byte shared; granules shared when the slots are
 * smaller than 256 bytes), in shuffled order, after a submit: the scatter's side of the marks */
static void op_disjoint(fx *f)
{
    static sedx_upload_region r[MAXR];
    static uint8_t taken[(3u << 20) / 16 + 1];
    static const uint64_t k_slot[4] = {16, 64, 4096, 20000};
    int k = (int)rnd(f, NBUF);
    uint64_t ss = k_slot[rnd(f, 4)], slots = f->d[k].size / ss;
    memset(taken, 0, (size_t)slots);
    uint32_t n = 64 + (uint32_t)rnd(f, MAXR - 64), m = 0;
    uint64_t used = 0;
    if (rnd(f, 4)) assert_int_equal(sedx_upload_submit(f->ctx, NULL), SEDX_SUCCESS);
    for (uint32_t i = 0; i < n && m < slots / 2; ++i) {
        uint64_t sl;
        do sl = rnd(f, slots);
        while (taken[sl]);
        taken[sl] = 1;
        uint64_t lead = 4 * rnd(f, ss / 16), size = 4 * (1 + rnd(f, (ss - lead) / 4));
        if (used + size > ARENA || used + size > (f->ring / 8)) break;
        uint8_t *src = f->arena + used;
        tu_fill_random(src, size, &f->rng);
        r[m++] = (sedx_upload_region){&f->d[k].b, sl * ss + lead, size, src};
        memcpy(f->d[k].shadow + sl * ss + lead, src, size);
        used += (size + 15) & ~(uint64_t)15;
    }
    assert_int_equal(sedx_upload_batch(f->ctx, r, m), SEDX_SUCCESS);
    for (uint32_t i = 0; i < m; ++i) memset((void *)r[i].data, 0xEE, r[i].size);
}

/* One batch alone (submitted before and after), its regions from sedx_upload, a commit and
 * sedx_upload_batch: when the library sent it as one batch, stats.overlap_sorts must say exactly
 * whether two of its regions share a 256-byte granule of one buffer (or one spans 16 KiB words
 * 16 apart: left to the exact test), and a batch with a shared byte must not go by the scatter.
 * (lavapipe runs one vkCmdCopyBuffer's regions in order, so a missed overlap would rarely show in
 * the bytes: this is the check that sees it.) */
typedef struct iso {
    int k;
    uint64_t off, size;
} iso;

static bool granules_meet(const iso *a, const iso *b)
{
    return a->k == b->k && (a->off >> 8) <= ((b->off + b->size - 1) >> 8) && (b->off >> 8) <= ((a->off + a->size - 1) >> 8);
}

/* sedx_upload_batch, the shadow in call order */
static void batch_call(fx *f, const sedx_upload_region *r, const int *which, uint32_t m)
{
    for (uint32_t i = 0; i < m; ++i) memcpy(f->d[which[i]].shadow + r[i].offset, r[i].data, r[i].size);
    assert_int_equal(sedx_upload_batch(f->ctx, r, m), SEDX_SUCCESS);
}

static void op_isolated(fx *f, uint64_t hot)
{
    static sedx_upload_region r[MAXR];
    static iso v[MAXR + 2];
    static int which[MAXR];
    uint64_t budget = (f->ring / 4 < f->target ? f->ring / 4 : f->target) / 2, used = 0;
    bool sparse = rnd(f, 2);
    uint32_t n = 1 + (uint32_t)rnd(f, sparse ? 40 : 200), m = 0, nv = 0;
    assert_int_equal(sedx_upload_submit(f->ctx, NULL), SEDX_SUCCESS);
    sedx_transfer_stats a, b;
    assert_int_equal(sedx_transfer_get_stats(f->ctx, &a), SEDX_SUCCESS);
    for (uint32_t i = 0; i < n; ++i) {
        int k = (int)rnd(f, NBUF);
        uint64_t off, size;
        pick(f, f->d[k].size, &off, &size, hot % f->d[k].size);
        if (sparse) { /* spread out: granules rarely meet */
            size = 1 + rnd(f, rnd(f, 24) ? 2048 : 300000);
            if (size > f->d[k].size) size = f->d[k].size;
            off = rnd(f, f->d[k].size - size + 1);
        }
        if (used + ((size + 15) & ~(uint64_t)15) + 64 > budget) continue;
        uint8_t *src = f->arena + used;
        tu_fill_random(src, size, &f->rng);
        used += (size + 15) & ~(uint64_t)15;
        v[nv++] = (iso){k, off, size};
        uint64_t how = rnd(f, 10);
        if (how == 0) { /* on its own */
            memcpy(f->d[k].shadow + off, src, size);
            assert_int_equal(sedx_upload(f->ctx, &f->d[k].b, off, size, src), SEDX_SUCCESS);
        } else if (how == 1 && size <= sedx_upload_reserve_limit(f->ctx) / 8) { /* reserved and committed */
            sedx_upload_reservation rv;
            memcpy(f->d[k].shadow + off, src, size);
            assert_int_equal(sedx_upload_reserve(f->ctx, &f->d[k].b, off, size, &rv), SEDX_SUCCESS);
            memcpy(rv.data, src, size);
            assert_int_equal(sedx_upload_commit(f->ctx, &rv), SEDX_SUCCESS);
        } else { /* in the next sedx_upload_batch call */
            which[m] = k;
            r[m++] = (sedx_upload_region){&f->d[k].b, off, size, src};
            if (rnd(f, 6) == 0) {
                batch_call(f, r, which, m);
                m = 0;
            }
        }
    }
    batch_call(f, r, which, m);
    assert_int_equal(sedx_upload_submit(f->ctx, NULL), SEDX_SUCCESS);
    assert_int_equal(sedx_transfer_get_stats(f->ctx, &b), SEDX_SUCCESS);
    if (!nv || b.batches - a.batches != 1) return; /* split by the ring: no single batch to judge */
    bool meet = false, overlap = false;
    for (uint32_t i = 0; i < nv; ++i) {
        if (((v[i].off + v[i].size - 1) >> 14) - (v[i].off >> 14) >= 16) meet = true;
        for (uint32_t j = i + 1; j < nv; ++j) {
            meet |= granules_meet(&v[i], &v[j]);
            overlap |= v[i].k == v[j].k && v[i].off < v[j].off + v[j].size && v[j].off < v[i].off + v[i].size;
        }
    }
    if (b.overlap_sorts - a.overlap_sorts != (meet ? 1u : 0u))
        fail_msg("op %u: %u regions, granules %s, but %llu sorts", f->ops, nv, meet ? "meet" : "apart",
                 (unsigned long long)(b.overlap_sorts - a.overlap_sorts));
    if (overlap && b.scatter_dispatches != a.scatter_dispatches)
        fail_msg("op %u: overlapping regions went by the scatter", f->ops);
    f->isolated++;
    f->iso_meet += meet;
    f->iso_overlap += overlap;
}

static void op_reserve(fx *f, uint64_t hot)
{
    uint64_t limit = sedx_upload_reserve_limit(f->ctx);
    if (f->np < MAXPEND && rnd(f, 3)) {
        int k = (int)rnd(f, NBUF);
        uint64_t off, size;
        pick(f, f->d[k].size, &off, &size, hot % f->d[k].size);
        size = MIN(size, MIN(limit / 8, 16384));
        if (off + size > f->d[k].size) off = f->d[k].size - size;
        pend *p = &f->p[f->np];
        assert_int_equal(sedx_upload_reserve(f->ctx, &f->d[k].b, off, size, &p->rv), SEDX_SUCCESS);
        p->buf = k;
        p->bytes = malloc(size);
        tu_fill_random(p->bytes, size, &f->rng);
        memcpy(p->rv.data, p->bytes, size);
        f->np++;
        return;
    }
    if (!f->np) return;
    int i = (int)rnd(f, (uint64_t)f->np);
    pend *p = &f->p[i];
    if (rnd(f, 5)) {
        memcpy(f->d[p->buf].shadow + p->rv.offset, p->bytes, p->rv.size); /* lands at the commit, in call order */
        assert_int_equal(sedx_upload_commit(f->ctx, &p->rv), SEDX_SUCCESS);
    } else {
        assert_int_equal(sedx_upload_cancel(f->ctx, &p->rv), SEDX_SUCCESS);
    }
    free(p->bytes);
    f->p[i] = f->p[--f->np];
}

static void drop_pending(fx *f, int k)
{
    for (int i = 0; i < f->np;) {
        if (f->p[i].buf != k) {
            ++i;
            continue;
        }
        assert_int_equal(sedx_upload_cancel(f->ctx, &f->p[i].rv), SEDX_SUCCESS);
        free(f->p[i].bytes);
        f->p[i] = f->p[--f->np];
    }
}

static void run(int mode)
{
    setenv("SEDX_TRANSFER_FLAGS", "0x42", 1);
    unsetenv("SEDX_SMALL_COPY");
    unsetenv("SEDX_POOL_SPIN_US");
    unsetenv("SEDX_COPY_PIECES");
    unsetenv("SEDX_BATCH_KB");
    sedx_transfer_info ti = {0};
    if (mode == 0) {
        ti.staging_size = ti.staging_max = 256u << 10;
        ti.memcpy_threads = 4;
    } else if (mode == 1) {
        ti.staging_size = ti.staging_max = 8u << 20;
        ti.memcpy_threads = 8;
        setenv("SEDX_SMALL_COPY", "stream", 1);
        setenv("SEDX_POOL_SPIN_US", "0", 1);
        setenv("SEDX_COPY_PIECES", "3", 1);
    } else {
        ti.staging_size = 1u << 20;
        ti.staging_max = 8u << 20;
        ti.memcpy_threads = 3;
        setenv("SEDX_SMALL_COPY", "libc", 1);
        setenv("SEDX_BATCH_KB", "64", 1);
    }
    fx f = {0};
    f.rng = tu_seed() * 31 + (uint64_t)mode * 977 + 3;
    f.ctx = tu_context(false);
    f.ring = ti.staging_size;
    f.target = mode == 2 ? (64u << 10) : (8u << 20);
    assert_int_equal(sedx_transfer_configure(f.ctx, &ti), SEDX_SUCCESS);
    f.arena = malloc(ARENA);
    f.got = malloc(4u << 20);
    for (int k = 0; k < NBUF; ++k) create_buf(&f, k);
    sedx_transfer_stats a;
    assert_int_equal(sedx_transfer_get_stats(f.ctx, &a), SEDX_SUCCESS);
    uint64_t hot = 0;
    const uint32_t nops = tu_long_mode() ? 20000 : 2000;
    for (f.ops = 0; f.ops < nops; ++f.ops) {
        if (rnd(&f, 32) == 0) hot = 4 * rnd(&f, 1u << 19);
        uint64_t c = rnd(&f, 100);
        if (c < 30) op_upload(&f, hot);
        else if (c < 50) op_batch(&f, hot);
        else if (c < 56) op_disjoint(&f);
        else if (c < 62) op_isolated(&f, hot);
        else if (c < 80) op_reserve(&f, hot);
        else if (c < 86) assert_int_equal(sedx_upload_submit(f.ctx, NULL), SEDX_SUCCESS);
        else if (c < 89) assert_int_equal(sedx_upload_flush(f.ctx), SEDX_SUCCESS);
        else if (c < 97) {
            int k = (int)rnd(&f, NBUF);
            uint64_t off = rnd(&f, f.d[k].size), size = 1 + rnd(&f, f.d[k].size - off);
            check_range(&f, k, off, size);
        } else {
            /* released while its uploads sit in the open batch; a new one in its place */
            int k = (int)rnd(&f, NBUF);
            drop_pending(&f, k);
            sedx_buffer_release(&f.d[k].b);
            create_buf(&f, k);
        }
    }
    for (int i = f.np - 1; i >= 0; --i) { /* the outstanding ones last, then everything */
        memcpy(f.d[f.p[i].buf].shadow + f.p[i].rv.offset, f.p[i].bytes, f.p[i].rv.size);
        assert_int_equal(sedx_upload_commit(f.ctx, &f.p[i].rv), SEDX_SUCCESS);
        free(f.p[i].bytes);
    }
    f.np = 0;
    for (int k = 0; k < NBUF; ++k) check_range(&f, k, 0, f.d[k].size);
    sedx_transfer_stats b;
    assert_int_equal(sedx_transfer_get_stats(f.ctx, &b), SEDX_SUCCESS);
    print_message("mode %d: %u isolated batches (%u with granules met, %u overlapping)\n", mode, f.isolated, f.iso_meet,
                  f.iso_overlap);
    assert_true(f.iso_meet > 10 && f.isolated - f.iso_meet > 10 && f.iso_overlap > 5);
    print_message("mode %d: %u checks, %llu batches, %llu sorts, %llu scatter dispatches, %llu copy regions\n", mode,
                  f.checks, (unsigned long long)(b.batches - a.batches),
                  (unsigned long long)(b.overlap_sorts - a.overlap_sorts),
                  (unsigned long long)(b.scatter_dispatches - a.scatter_dispatches),
                  (unsigned long long)(b.copy_regions - a.copy_regions));
    /* the sequence reached both sides of the marks and the scatter */
    assert_true(b.overlap_sorts > a.overlap_sorts);
    assert_true(b.batches - a.batches > b.overlap_sorts - a.overlap_sorts);
    assert_true(b.scatter_dispatches > a.scatter_dispatches);
    for (int k = 0; k < NBUF; ++k) {
        sedx_buffer_release(&f.d[k].b);
        free(f.d[k].shadow);
    }
    free(f.arena);
    free(f.got);
    tu_context_destroy(f.ctx);
}

/* One batch marking more 16 KiB words than the set's first size takes (4096 entries, half full
 * at 2048 live words): 4000 regions on distinct words in shuffled order, so the set grows in the
 * middle of the first batch and re-inserts its marks. A region marked before the growth and one
 * sharing its bytes after it must still meet (first case); then, in the grown set with the stale
 * marks of earlier batches, no sort without a shared granule, and none for one in another
 * granule of a marked word. */
#define GBUF (64u << 20)
#define GN 4000u
static void growth_case(sedx_context *ctx, sedx_buffer *b, uint8_t *shadow, uint8_t *data, uint64_t *rng, int variant)
{
    static sedx_upload_region r[GN + 1];
    static uint32_t word[GBUF >> 14];
    uint32_t words = GBUF >> 14;
    for (uint32_t i = 0; i < words; ++i) word[i] = i;
    for (uint32_t i = words - 1; i > 0; --i) {
        uint32_t j = (uint32_t)(tu_rand(rng) % (i + 1)), t = word[i];
        word[i] = word[j];
        word[j] = t;
    }
    uint32_t n = 0;
    for (uint32_t i = 0; i < GN; ++i)
        r[n++] = (sedx_upload_region){b, (uint64_t)word[i] * 16384 + 16 * (tu_rand(rng) % 16), 16, data + (uint64_t)i * 16};
    if (variant == 1) /* the 6th region's bytes again, after both growths */
        r[n++] = (sedx_upload_region){b, r[5].offset + 4, 8, data + (uint64_t)GN * 16};
    if (variant == 2) /* the 6th region's word, another granule */
        r[n++] = (sedx_upload_region){b, (r[5].offset & ~(uint64_t)16383) + 8192, 16, data + (uint64_t)GN * 16};
    tu_fill_random(data, (GN + 1) * 16, rng);
    for (uint32_t i = 0; i < n; ++i) memcpy(shadow + r[i].offset, r[i].data, r[i].size);
    sedx_transfer_stats a, s;
    assert_int_equal(sedx_upload_submit(ctx, NULL), SEDX_SUCCESS);
    assert_int_equal(sedx_transfer_get_stats(ctx, &a), SEDX_SUCCESS);
    assert_int_equal(sedx_upload_batch(ctx, r, n), SEDX_SUCCESS);
    assert_int_equal(sedx_upload_submit(ctx, NULL), SEDX_SUCCESS);
    assert_int_equal(sedx_transfer_get_stats(ctx, &s), SEDX_SUCCESS);
    assert_int_equal(s.batches - a.batches, 1);
    assert_int_equal(s.overlap_sorts - a.overlap_sorts, variant == 1 ? 1 : 0);
    assert_int_equal(s.scatter_dispatches - a.scatter_dispatches, variant == 1 ? 0 : 1);
}

static void test_growth(void **state)
{
    (void)state;
    setenv("SEDX_TRANSFER_FLAGS", "0x42", 1);
    uint64_t rng = tu_seed() + 77;
    sedx_context *ctx = tu_context(false);
    sedx_transfer_info ti = {0};
    ti.staging_size = ti.staging_max = 8u << 20;
    assert_int_equal(sedx_transfer_configure(ctx, &ti), SEDX_SUCCESS);
    sedx_buffer b;
    assert_int_equal(sedx_buffer_create(ctx, GBUF, SEDX_BUFFER_USAGE_STORAGE, SEDX_MEMORY_GPU, "growth", &b), SEDX_SUCCESS);
    uint8_t *shadow = calloc(1, GBUF), *got = malloc(GBUF), *data = malloc((GN + 1) * 16);
    assert_int_equal(sedx_upload(ctx, &b, 0, GBUF, shadow), SEDX_SUCCESS);
    for (int v = 0; v < 3; ++v) growth_case(ctx, &b, shadow, data, &rng, (v + 1) % 3); /* 1, 2, 0 */
    assert_int_equal(sedx_download(ctx, &b, 0, GBUF, got), SEDX_SUCCESS);
    assert_memory_equal(got, shadow, GBUF);
    sedx_buffer_release(&b);
    free(shadow);
    free(got);
    free(data);
    tu_context_destroy(ctx);
}

static void test_ring_256k(void **state)
{
    (void)state;
    run(0);
}

static void test_pool_8mib(void **state)
{
    (void)state;
    run(1);
}

static void test_growing_libc(void **state)
{
    (void)state;
    run(2);
}

int main(void)
{
    const struct CMUnitTest tests[] = {cmocka_unit_test(test_ring_256k), cmocka_unit_test(test_pool_8mib),
                                       cmocka_unit_test(test_growing_libc), cmocka_unit_test(test_growth)};
    return cmocka_run_group_tests(tests, NULL, NULL);
}
