/*
 * Review 4: the TLSF free of src/memory/tlsf_core.h (the branch-free "flat" free with its
 * stand-in node, the switch to the classic branchy free after a streak of one case), the 64-bit
 * handle field and size_class_up, under adversarial sequences.
 *
 *  - shadow: random operations (fixed seeds) on blocks from 1 B to 2^63 against a CPU shadow of
 *    the live ranges and their slack: every allocation at the aligned start of a free range of
 *    the shadow, no overlap, inside the block; an OUT_OF_SPACE only while no free range reaches
 *    R(size + alignment - 1) (the class-rounded bound of docs/virtual-block.md, computed here
 *    independently); counts, bytes, free ranges and the largest one exact after every
 *    operation; stale, forged (index 0, wrong generation, out of range, another block's) and
 *    cleared handles refused with nothing changed; get_info / set_user_data.
 *  - paths: the same sequence on three blocks, one left alone, one whose every free is forced
 *    down the flat path, one forced down the branchy path (through the block's streak
 *    counters): the same offsets and, after every operation, the same class lists in the same
 *    order (the claim that both frees leave the classic free's list order), the same bitmaps.
 *  - linear: the ring mode with the same handle checks.
 * Deterministic; a few seconds in a release build.
 */
#include "test_util.h"

#include "memory/tlsf_core.h"

#include <inttypes.h>
#include <stdlib.h>
#include <string.h>

static uint64_t rnd(uint64_t *s, uint64_t n) { return n ? tu_rand(s) % n : 0; }

/* ---- shadow ------------------------------------------------------------------------------- */
typedef struct sh_alloc {
    sedx_virtual_alloc h;
    uint64_t offset, size, end; /* end: the end of its range, slack included */
    uintptr_t user;
} sh_alloc;

typedef struct shadow {
    sh_alloc *v; /* sorted by offset */
    size_t n, cap;
    uint64_t size, bytes;
} shadow;

static size_t sh_lower(const shadow *m, uint64_t offset) /* first index with offset >= offset */
{
    size_t lo = 0, hi = m->n;
    while (lo < hi) {
        size_t mid = (lo + hi) / 2;
        if (m->v[mid].offset < offset) lo = mid + 1;
        else hi = mid;
    }
    return lo;
}

/* The free range [*g0, *g1) that offset lies in, false if it lies in an allocation or slack. */
static bool sh_gap_at(const shadow *m, uint64_t offset, uint64_t *g0, uint64_t *g1)
{
    size_t i = sh_lower(m, offset);
    if (i < m->n && m->v[i].offset == offset) return false;
    uint64_t lo = i ? m->v[i - 1].end : 0, hi = i < m->n ? m->v[i].offset : m->size;
    if (offset < lo || offset >= hi) return false;
    *g0 = lo;
    *g1 = hi;
    return true;
}

static void sh_add(shadow *m, sedx_virtual_alloc h, uint64_t offset, uint64_t size, uintptr_t user, uint64_t g0)
{
    if (m->n == m->cap) {
        m->cap = m->cap ? m->cap * 2 : 64;
        m->v = realloc(m->v, m->cap * sizeof *m->v);
        assert_non_null(m->v);
    }
    size_t i = sh_lower(m, offset);
    uint64_t pad = offset - g0;
    if (pad != 0 && pad < SEDX_VIRTUAL_PAD_RANGE_MIN) {
        /* slack of the allocation below (free ranges are never neighbours: there is one) */
        assert_true(i > 0 && m->v[i - 1].end == g0);
        m->v[i - 1].end = offset;
    }
    memmove(&m->v[i + 1], &m->v[i], (m->n - i) * sizeof *m->v);
    m->v[i] = (sh_alloc){h, offset, size, offset + size, user};
    m->n++;
    m->bytes += size;
}

static void sh_remove(shadow *m, size_t i)
{
    m->bytes -= m->v[i].size;
    memmove(&m->v[i], &m->v[i + 1], (m->n - i - 1) * sizeof *m->v);
    m->n--;
}

typedef struct sh_gaps {
    uint32_t count;
    uint64_t largest;
} sh_gaps;

static sh_gaps sh_free_ranges(const shadow *m)
{
    sh_gaps g = {0, 0};
    uint64_t at = 0;
    for (size_t i = 0; i <= m->n; ++i) {
        uint64_t next = i < m->n ? m->v[i].offset : m->size;
        assert_true(next >= at);
        if (next > at) {
            g.count++;
            if (next - at > g.largest) g.largest = next - at;
        }
        if (i < m->n) at = m->v[i].end;
    }
    return g;
}

/* R(n): n rounded up to the lower bound of a size class (1-byte classes below 64, then 32
 * per power of two), written from the docs, not from the code. */
static uint64_t round_class(uint64_t n) /* UINT64_MAX where it would reach 2^64: no range does */
{
    if (n < 64) return n;
    unsigned f = 63u - (unsigned)__builtin_clzll(n);
    uint64_t w = UINT64_C(1) << (f - 5u), q = n / w + (n % w != 0);
    return q > UINT64_MAX / w ? UINT64_MAX : q * w;
}

/* ---- helpers on the block ------------------------------------------------------------------ */
static sedx_virtual_block *make_block(uint64_t size, uint32_t flags)
{
    sedx_virtual_block_info info = {size, flags};
    sedx_virtual_block *b = NULL;
    assert_int_equal(sedx_virtual_block_create(&info, &b), SEDX_SUCCESS);
    assert_int_equal(sedx_virtual_block_validate(b), SEDX_SUCCESS);
    return b;
}

enum { PATH_NATURAL = 0, PATH_FLAT = 1, PATH_BRANCHY = 2 };

/* Frees h, taking the given path through the free (tlsf_free_node's streak test). */
static sedx_result free_via(sedx_virtual_block *b, sedx_virtual_alloc h, int path)
{
    tlsf_node *n = handle_node(b, h);
    if (n && !b->linear && path != PATH_NATURAL) {
        uint32_t kind = (uint32_t)(n->prev_phys->state == NODE_FREE) | (uint32_t)(n->next_phys->state == NODE_FREE) << 1;
        if (path == PATH_FLAT) {
            b->free_kind = kind ^ 1u; /* another case: the streak restarts at 0 */
        } else {
            b->free_kind = kind;
            b->free_streak = TLSF_FREE_STREAK; /* one more in a row */
        }
    }
    return sedx_virtual_free(b, h);
}

static void check_stats(const sedx_virtual_block *b, const shadow *m)
{
    assert_int_equal(sedx_virtual_block_validate(b), SEDX_SUCCESS);
    sh_gaps g = sh_free_ranges(m);
    sedx_virtual_block_stats st;
    sedx_virtual_block_get_stats(b, &st);
    assert_int_equal(st.size, m->size);
    assert_int_equal(st.allocation_count, m->n);
    assert_int_equal(st.allocation_bytes, m->bytes);
    assert_int_equal(st.free_bytes, m->size - m->bytes);
    if (st.free_range_count != g.count || st.largest_free_range != g.largest)
        fail_msg("free ranges: block %" PRIu32 " (largest %" PRIu64 "), shadow %" PRIu32 " (largest %" PRIu64 ")",
                 st.free_range_count, st.largest_free_range, g.count, g.largest);
    assert_int_equal(sedx_virtual_block_is_empty(b), m->n == 0);
}

/* A refused handle changes nothing. */
static void expect_refused(sedx_virtual_block *b, sedx_virtual_alloc h)
{
    sedx_virtual_block_stats before, after;
    sedx_virtual_block_get_stats(b, &before);
    uint32_t kind = b->free_kind, streak = b->free_streak;
    sedx_virtual_alloc_info info = {1, 2, (void *)3};
    assert_int_equal(sedx_virtual_get_info(b, h, &info), SEDX_ERROR_INVALID_HANDLE);
    assert_int_equal(info.offset, 1);
    assert_int_equal(sedx_virtual_set_user_data(b, h, (void *)0x99), SEDX_ERROR_INVALID_HANDLE);
    assert_int_equal(sedx_virtual_free(b, h), h == 0 ? SEDX_SUCCESS : SEDX_ERROR_INVALID_HANDLE);
    sedx_virtual_block_get_stats(b, &after);
    assert_memory_equal(&before, &after, sizeof before);
    assert_int_equal(b->free_kind, kind);
    assert_int_equal(b->free_streak, streak);
}

/* Requests from 1 B to past the block size (log-uniform), alignments 2^0 .. 2^63 (mostly
 * small), sometimes 0. */
static void random_request(uint64_t *s, uint64_t block, uint64_t *size, uint64_t *align)
{
    unsigned top = 64u - (unsigned)__builtin_clzll(block); /* bits of the block size */
    unsigned bits = 1u + (unsigned)rnd(s, top + 1u);          /* up to one more than the block's */
    if (bits > 64) bits = 64;
    uint64_t hi = bits == 64 ? UINT64_MAX : (UINT64_C(1) << bits) - 1u;
    *size = 1 + rnd(s, hi);
    if (*size > SEDX_VIRTUAL_MAX_SIZE) *size = SEDX_VIRTUAL_MAX_SIZE;
    if (rnd(s, 8) == 0) *size = block - rnd(s, block < 16 ? block : 16); /* about the whole block */
    if (rnd(s, 4) == 0) *size = 1 + rnd(s, 64);
    if (rnd(s, 3) == 0) *size = 1 + rnd(s, block / 64 + 1); /* many at once: fragmentation */
    uint64_t k = rnd(s, 8) == 0 ? rnd(s, 64) : rnd(s, 10);
    *align = rnd(s, 32) == 0 ? 0 : UINT64_C(1) << k;
}

/* ---- shadow test ----------------------------------------------------------------------------- */
static void run_shadow(uint64_t seed, uint64_t block_size, uint32_t ops, bool small)
{
    uint64_t s = seed;
    sedx_virtual_block *b = make_block(block_size, 0);
    sedx_virtual_block *other = make_block(block_size, 0); /* its handles are foreign here */
    sedx_virtual_alloc foreign[8] = {0};
    for (int i = 0; i < 8; ++i)
        assert_int_equal(sedx_virtual_allocate(other, 1, 1, NULL, &foreign[i], NULL),
                         block_size >= 8 ? SEDX_SUCCESS : (i < (int)block_size ? SEDX_SUCCESS : SEDX_ERROR_OUT_OF_SPACE));
    shadow m = {0};
    m.size = block_size;
    sedx_virtual_alloc stale[32] = {0};
    uint32_t n_stale = 0, ok = 0, oos = 0, phase = 0, left = 0, path = 0, branchy_seen = 0, flat_seen = 0;
    uint32_t fails_in_row = 0, peak = 0;
    uintptr_t next_user = 1;
    for (uint32_t op = 0; op < ops; ++op) {
        if (left == 0) {
            phase = (uint32_t)rnd(&s, 7);    /* fill, drain by: random, lowest, highest, every other, mixed, clear */
            left = 16 + (uint32_t)rnd(&s, 200);
            path = (uint32_t)rnd(&s, 3);    /* natural, forced flat, forced branchy */
        }
        left--;
        uint64_t r = rnd(&s, 100);
        if (r < 6) {
            /* handles that must be refused */
            uint32_t hw = b->high_water;
            sedx_virtual_alloc h;
            switch (rnd(&s, 7)) {
            case 0: h = n_stale ? stale[rnd(&s, n_stale < 32 ? n_stale : 32)] : 0; break;
            case 1: h = rnd(&s, UINT64_MAX) << 32; break;                          /* index 0 */
            case 2: h = ((uint64_t)node_at(b, 0)->generation << 32); break;      /* node 0's own */
            case 3: h = (rnd(&s, UINT64_MAX) << 32) | (hw + (uint32_t)rnd(&s, 1000)); break; /* past the pool */
            case 4: h = (rnd(&s, UINT64_MAX) << 32) | UINT32_MAX; break;
            case 5: h = foreign[rnd(&s, 8)]; break;
            default: /* a live handle with another generation */
                if (!m.n) continue;
                h = m.v[rnd(&s, m.n)].h + ((1 + rnd(&s, 0xFFFFFFFEu)) << 32);
                break;
            }
            if (h && handle_node(b, h)) { /* a foreign handle may only collide by chance */
                bool live = false;
                for (size_t i = 0; i < m.n; ++i) live |= m.v[i].h == h;
                assert_true(live);
                continue;
            }
            expect_refused(b, h);
        } else if (r < 12 && m.n) {
            size_t i = (size_t)rnd(&s, m.n);
            sedx_virtual_alloc_info info;
            assert_int_equal(sedx_virtual_get_info(b, m.v[i].h, &info), SEDX_SUCCESS);
            assert_int_equal(info.offset, m.v[i].offset);
            assert_int_equal(info.size, m.v[i].size);
            assert_ptr_equal(info.user_data, (void *)m.v[i].user);
            m.v[i].user = next_user++;
            assert_int_equal(sedx_virtual_set_user_data(b, m.v[i].h, (void *)m.v[i].user), SEDX_SUCCESS);
        } else if (phase == 6 && r < 14) {
            sedx_virtual_block_clear(b);
            for (size_t i = 0; i < m.n; ++i) stale[n_stale++ % 32] = m.v[i].h;
            m.n = 0;
            m.bytes = 0;
            left = 0;
        } else if (m.n == 0 || phase == 0 || (phase >= 5 && rnd(&s, 2))) {
            uint64_t size, align;
            random_request(&s, block_size, &size, &align);
            if (small) size = 1 + rnd(&s, rnd(&s, 4) ? 256 : 4096); /* thousands live: the pool grows */
            uint64_t mask = align ? align - 1u : 0;
            sedx_virtual_alloc h = 0;
            uint64_t off = UINT64_MAX;
            uintptr_t user = next_user++;
            sedx_result res = sedx_virtual_allocate(b, size, align, (void *)user, &h, &off);
            if (res == SEDX_SUCCESS) {
                ok++;
                fails_in_row = 0;
                assert_int_not_equal(h, 0);
                uint64_t g0 = 0, g1 = 0;
                if (!sh_gap_at(&m, off, &g0, &g1))
                    fail_msg("allocation at %" PRIu64 " (+%" PRIu64 ") is not in a free range", off, size);
                /* at the aligned start of the free range it came from, and inside it */
                assert_int_equal(off, g0 + ((0u - g0) & mask));
                assert_true(size <= g1 - off);
                assert_true(off <= block_size && size <= block_size - off);
                sh_add(&m, h, off, size, user, g0);
            } else {
                assert_int_equal(res, SEDX_ERROR_OUT_OF_SPACE);
                assert_int_equal(h, 0);
                assert_int_equal(off, UINT64_MAX);
                oos++;
                sh_gaps g = sh_free_ranges(&m);
                if (g.largest >= round_class(size + mask))
                    fail_msg("out of space for %" PRIu64 " B at alignment %" PRIu64 " with a free range of %" PRIu64
                             " B (sure fit from %" PRIu64 " B)",
                             size, align, g.largest, (uint64_t)round_class(size + mask));
                if (phase == 0 && ++fails_in_row >= 16) left = 0; /* full enough */
            }
        } else {
            size_t i;
            uint32_t how = phase == 5 ? (rnd(&s, 2) ? 1u : 4u) : phase;
            switch (how) {
            case 1: i = (size_t)rnd(&s, m.n); break;
            case 2: i = 0; break;
            case 3: i = m.n - 1; break;
            default: i = (m.n - 1) & ~(size_t)1; break;
            }
            sedx_virtual_alloc h = m.v[i].h;
            assert_int_equal(free_via(b, h, (int)path), SEDX_SUCCESS);
            if (b->free_streak >= TLSF_FREE_STREAK) branchy_seen++;
            else flat_seen++;
            sh_remove(&m, i);
            stale[n_stale++ % 32] = h;
            expect_refused(b, h); /* freed: stale at once */
        }
        check_stats(b, &m);
        if (m.n > peak) peak = (uint32_t)m.n;
    }
    /* destroy with live allocations (ASan: nothing leaks, nothing read after free) */
    print_message("  block %" PRIu64 ": %u allocated, %u out of space, %zu live (peak %u), frees %u flat %u branchy\n",
                  block_size, ok, oos, m.n, peak, flat_seen, branchy_seen);
    assert_true(ok > 0);
    assert_true(flat_seen > 0 && branchy_seen > 0);
    sedx_virtual_block_destroy(b);
    sedx_virtual_block_destroy(other);
    free(m.v);
}

static const uint64_t g_sizes[] = {
    1, 2, 63, 64, 65, 1000, 4096, (UINT64_C(1) << 20) + 7, UINT64_C(1) << 40,
    (UINT64_C(1) << 62) + 1, SEDX_VIRTUAL_MAX_SIZE - 1, SEDX_VIRTUAL_MAX_SIZE,
};

static void test_shadow(void **state)
{
    (void)state;
    uint64_t seed = tu_seed() ^ 0x7265766965773434u;
    for (size_t k = 0; k < sizeof g_sizes / sizeof g_sizes[0]; ++k) run_shadow(seed + k, g_sizes[k], 12000, false);
    run_shadow(seed ^ 1, UINT64_C(1) << 20, 12000, true);
    run_shadow(seed ^ 2, SEDX_VIRTUAL_MAX_SIZE, 12000, true);
}

/* ---- the same sequence down the flat, the branchy and the natural free -------------------- */
static void expect_same_lists(const sedx_virtual_block *a, const sedx_virtual_block *b)
{
    assert_int_equal(a->fl_bitmap, b->fl_bitmap);
    assert_memory_equal(a->sl_bitmap, b->sl_bitmap, sizeof a->sl_bitmap);
    assert_int_equal(a->class_count, b->class_count);
    for (uint32_t c = 0; c < a->class_count; ++c) {
        const tlsf_node *x = a->heads[c], *y = b->heads[c];
        uint32_t pos = 0;
        for (; x != &a->guard && y != &b->guard; x = x->next_free, y = y->next_free, ++pos)
            if (x->offset != y->offset || x->size != y->size)
                fail_msg("class %" PRIu32 " position %" PRIu32 ": [%" PRIu64 ", +%" PRIu64 ") against [%" PRIu64
                         ", +%" PRIu64 ")",
                         c, pos, x->offset, x->size, y->offset, y->size);
        if (x != &a->guard || y != &b->guard) fail_msg("class %" PRIu32 ": lists of different lengths", c);
    }
}

static void run_paths(uint64_t seed, uint64_t block_size, uint32_t ops, bool small)
{
    uint64_t s = seed;
    sedx_virtual_block *b[3];
    shadow m[3];
    for (int k = 0; k < 3; ++k) {
        b[k] = make_block(block_size, 0);
        m[k] = (shadow){0};
        m[k].size = block_size;
    }
    uint32_t phase = 0, left = 0;
    for (uint32_t op = 0; op < ops; ++op) {
        if (left == 0) {
            phase = (uint32_t)rnd(&s, 6);
            left = 8 + (uint32_t)rnd(&s, 120);
        }
        left--;
        if (m[0].n == 0 || phase == 0 || (phase == 5 && rnd(&s, 2))) {
            uint64_t size, align;
            random_request(&s, block_size, &size, &align);
            if (rnd(&s, 2)) size = 1 + rnd(&s, block_size / 16 + 1); /* many small ones */
            if (small) {
                /* Many free ranges of a few KiB (classes 32 .. 128 B wide) next to tiny
                 * allocations: a free that merges a tiny one often keeps the class, so which
                 * list position the merged range takes is seen. */
                size = rnd(&s, 2) ? 1 + rnd(&s, 32) : 1024 + rnd(&s, 3072);
                align = UINT64_C(1) << rnd(&s, 4);
            }
            uint64_t off[3];
            sedx_result res[3];
            for (int k = 0; k < 3; ++k) {
                sedx_virtual_alloc h = 0;
                off[k] = UINT64_MAX;
                res[k] = sedx_virtual_allocate(b[k], size, align, NULL, &h, &off[k]);
                if (res[k] == SEDX_SUCCESS) {
                    uint64_t g0, g1;
                    assert_true(sh_gap_at(&m[k], off[k], &g0, &g1));
                    sh_add(&m[k], h, off[k], size, 0, g0);
                }
            }
            assert_int_equal(res[0], res[1]);
            assert_int_equal(res[0], res[2]);
            assert_int_equal(off[0], off[1]);
            assert_int_equal(off[0], off[2]);
            if (res[0] != SEDX_SUCCESS && phase == 0 && rnd(&s, 8) == 0) left = 0;
        } else {
            size_t i;
            switch (phase == 5 ? (rnd(&s, 2) ? 1u : 4u) : phase) {
            case 1: i = (size_t)rnd(&s, m[0].n); break;
            case 2: i = 0; break;
            case 3: i = m[0].n - 1; break;
            default: i = (m[0].n - 1) & ~(size_t)1; break;
            }
            uint64_t at = m[0].v[i].offset;
            for (int k = 0; k < 3; ++k) {
                assert_int_equal(m[k].v[i].offset, at);
                assert_int_equal(free_via(b[k], m[k].v[i].h, k), SEDX_SUCCESS);
                sh_remove(&m[k], i);
            }
        }
        for (int k = 0; k < 3; ++k) check_stats(b[k], &m[k]);
        expect_same_lists(b[0], b[1]);
        expect_same_lists(b[0], b[2]);
    }
    for (int k = 0; k < 3; ++k) {
        sedx_virtual_block_destroy(b[k]);
        free(m[k].v);
    }
}

static void test_paths(void **state)
{
    (void)state;
    uint64_t seed = tu_seed() ^ 0x70617468u;
    for (size_t k = 0; k < sizeof g_sizes / sizeof g_sizes[0]; ++k) run_paths(seed + k, g_sizes[k], 4000, false);
    run_paths(seed ^ 1, 1 << 16, 12000, true);
    run_paths(seed ^ 2, SEDX_VIRTUAL_MAX_SIZE, 8000, true);
}

/* ---- every case of the free, each neighbour the guard or not, both paths ------------------- */
/* The block filled by three allocations (the outer ones' other neighbour is the guard), then
 * the middle one freed with its neighbours free or not, down each path. */
static void test_cases_at_edges(void **state)
{
    (void)state;
    static const uint64_t blocks[] = {3, 4, 96, 3 * 64 + 1, SEDX_VIRTUAL_MAX_SIZE};
    for (size_t bi = 0; bi < sizeof blocks / sizeof blocks[0]; ++bi)
        for (uint32_t kase = 0; kase < 4; ++kase)
            for (int path = 0; path < 3; ++path) {
                    uint64_t bs = blocks[bi], piece = bs / 3;
                    sedx_virtual_block *b = make_block(bs, 0);
                    sedx_virtual_alloc h[3];
                    /* fill exactly: three pieces, the last one takes the remainder */
                    for (int k = 0; k < 3; ++k)
                        assert_int_equal(sedx_virtual_allocate(b, k < 2 ? piece : bs - 2 * piece, 1, NULL, &h[k], NULL),
                                         SEDX_SUCCESS);
                    if (kase & 1) assert_int_equal(sedx_virtual_free(b, h[0]), SEDX_SUCCESS);
                    if (kase & 2) assert_int_equal(sedx_virtual_free(b, h[2]), SEDX_SUCCESS);
                    assert_int_equal(free_via(b, h[1], path), SEDX_SUCCESS);
                    assert_int_equal(sedx_virtual_block_validate(b), SEDX_SUCCESS);
                    sedx_virtual_block_stats st;
                    sedx_virtual_block_get_stats(b, &st);
                    assert_int_equal(st.free_range_count, 1); /* the neighbours' ranges merged */
                    uint64_t want = piece + ((kase & 1) ? piece : 0) + ((kase & 2) ? bs - 2 * piece : 0);
                    assert_int_equal(st.largest_free_range, want);
                    /* the rest, in the other order, down the other path */
                    if (!(kase & 2)) assert_int_equal(free_via(b, h[2], path == PATH_FLAT ? PATH_BRANCHY : PATH_FLAT), SEDX_SUCCESS);
                    if (!(kase & 1)) assert_int_equal(free_via(b, h[0], path), SEDX_SUCCESS);
                    assert_int_equal(sedx_virtual_block_validate(b), SEDX_SUCCESS);
                    sedx_virtual_block_get_stats(b, &st);
                    assert_int_equal(st.free_range_count, 1);
                    assert_int_equal(st.largest_free_range, bs);
                    /* and the whole block is one allocation again */
                    sedx_virtual_alloc all;
                    uint64_t off = 1;
                    assert_int_equal(sedx_virtual_allocate(b, bs, 0, NULL, &all, &off), SEDX_SUCCESS);
                    assert_int_equal(off, 0);
                    sedx_virtual_block_destroy(b);
                }
}

/* ---- linear mode: placement inside the block, handles ---------------------------------------- */
static void test_linear(void **state)
{
    (void)state;
    uint64_t s = tu_seed() ^ 0x6c696eu;
    static const uint64_t blocks[] = {1, 100, 1 << 20, SEDX_VIRTUAL_MAX_SIZE};
    for (size_t bi = 0; bi < sizeof blocks / sizeof blocks[0]; ++bi) {
        uint64_t bs = blocks[bi];
        sedx_virtual_block *b = make_block(bs, SEDX_VIRTUAL_BLOCK_LINEAR);
        shadow m = {0};
        m.size = bs;
        sedx_virtual_alloc stale[16] = {0};
        uint32_t n_stale = 0;
        for (uint32_t op = 0; op < 4000; ++op) {
            if (m.n == 0 || rnd(&s, 2)) {
                uint64_t size, align;
                random_request(&s, bs, &size, &align);
                if (rnd(&s, 2)) size = 1 + rnd(&s, bs / 8 + 1);
                sedx_virtual_alloc h = 0;
                uint64_t off = UINT64_MAX;
                sedx_result res = sedx_virtual_allocate(b, size, align, (void *)(uintptr_t)op, &h, &off);
                if (res == SEDX_SUCCESS) {
                    assert_true(align == 0 || off % align == 0);
                    assert_true(off <= bs && size <= bs - off);
                    size_t i = sh_lower(&m, off);
                    if (i > 0) assert_true(m.v[i - 1].offset + m.v[i - 1].size <= off);
                    if (i < m.n) assert_true(off + size <= m.v[i].offset);
                    /* (linear: no slack) */
                    sh_add(&m, h, off, size, (uintptr_t)op, off);
                } else {
                    assert_int_equal(res, SEDX_ERROR_OUT_OF_SPACE);
                    assert_int_equal(h, 0);
                    if (m.n == 0) assert_true(size > bs);
                }
            } else {
                size_t i = (size_t)rnd(&s, m.n);
                sedx_virtual_alloc h = m.v[i].h;
                sedx_virtual_alloc_info info;
                assert_int_equal(sedx_virtual_get_info(b, h, &info), SEDX_SUCCESS);
                assert_int_equal(info.offset, m.v[i].offset);
                assert_ptr_equal(info.user_data, (void *)m.v[i].user);
                assert_int_equal(sedx_virtual_free(b, h), SEDX_SUCCESS);
                sh_remove(&m, i);
                stale[n_stale++ % 16] = h;
                expect_refused(b, h);
            }
            if (rnd(&s, 50) == 0 && n_stale) expect_refused(b, stale[rnd(&s, n_stale < 16 ? n_stale : 16)]);
            if (rnd(&s, 50) == 0) expect_refused(b, rnd(&s, UINT64_MAX) << 32);
            if (rnd(&s, 500) == 0) {
                sedx_virtual_block_clear(b);
                for (size_t i = 0; i < m.n; ++i) expect_refused(b, m.v[i].h);
                m.n = 0;
                m.bytes = 0;
            }
            assert_int_equal(sedx_virtual_block_validate(b), SEDX_SUCCESS);
            sedx_virtual_block_stats st;
            sedx_virtual_block_get_stats(b, &st);
            assert_int_equal(st.allocation_count, m.n);
            assert_int_equal(st.allocation_bytes, m.bytes);
            assert_int_equal(st.free_bytes, bs - m.bytes);
        }
        sedx_virtual_block_destroy(b); /* with live allocations */
        free(m.v);
    }
}

/* ---- clear in the middle of a streak, then both paths on the fresh block -------------------- */
static void test_clear_mid_streak(void **state)
{
    (void)state;
    sedx_virtual_block *b = make_block(1 << 16, 0);
    for (int round = 0; round < 50; ++round) {
        sedx_virtual_alloc h[64];
        for (int i = 0; i < 64; ++i) assert_int_equal(sedx_virtual_allocate(b, 100 + i, 16, NULL, &h[i], NULL), SEDX_SUCCESS);
        for (int i = 0; i < round % 10; ++i) assert_int_equal(sedx_virtual_free(b, h[i]), SEDX_SUCCESS); /* a streak */
        sedx_virtual_block_clear(b);
        assert_int_equal(b->free_streak, 0);
        assert_int_equal(sedx_virtual_block_validate(b), SEDX_SUCCESS);
        for (int i = 0; i < 64; ++i) expect_refused(b, h[i]);
        sedx_virtual_block_stats st;
        sedx_virtual_block_get_stats(b, &st);
        assert_int_equal(st.free_range_count, 1);
        assert_int_equal(st.largest_free_range, 1 << 16);
    }
    sedx_virtual_block_destroy(b);
}

/* ---- handles whose index is the pool's high-water mark when the pool is full ----------------- */
/* Allocations that take two nodes each (a padding of at least SEDX_VIRTUAL_PAD_RANGE_MIN) fill
 * the last chunk exactly now and then: the first index past the pool then names a chunk that
 * does not exist, and the handle test must refuse it before looking (ASan sees the read). */
static void test_handle_at_pool_edge(void **state)
{
    (void)state;
    uint64_t s = tu_seed() ^ 0x65646765u;
    sedx_virtual_block *b = make_block(UINT64_C(1) << 40, 0);
    uint32_t hits = 0;
    for (uint32_t op = 0; op < 6000; ++op) {
        sedx_virtual_alloc h;
        uint64_t size = 1 + rnd(&s, 3000);
        assert_int_equal(sedx_virtual_allocate(b, size, rnd(&s, 2) ? 1 : 4096, NULL, &h, NULL), SEDX_SUCCESS);
        if (b->high_water == b->chunk_count * TLSF_CHUNK_NODES) {
            hits++;
            for (uint32_t d = 0; d < 3; ++d)
                expect_refused(b, ((uint64_t)node_at(b, b->high_water - 1)->generation << 32) | (b->high_water + d));
        }
        expect_refused(b, h + (UINT64_C(1) << 32));
    }
    assert_int_equal(sedx_virtual_block_validate(b), SEDX_SUCCESS);
    print_message("  pool full at the high-water mark %u times (%u chunks)\n", hits, b->chunk_count);
    assert_true(hits > 0);
    sedx_virtual_block_destroy(b);
}

int main(void)
{
    sedx_set_log_level(SEDX_LOG_OFF);
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_cases_at_edges),
        cmocka_unit_test(test_clear_mid_streak),
        cmocka_unit_test(test_handle_at_pool_edge),
        cmocka_unit_test(test_linear),
        cmocka_unit_test(test_paths),
        cmocka_unit_test(test_shadow),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
