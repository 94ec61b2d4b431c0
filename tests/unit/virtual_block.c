/*
 * Virtual block (src/memory/tlsf.c): randomised sequences against reference models, edge
 * cases, the linear/ring mode, host-allocation failures, and the check values of Workload A.
 * SEDX_TEST_SEED=<n> changes the seed, SEDX_TEST_LONG=1 runs many more operations.
 */
#include "test_util.h"

#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* The workload definitions (PRNG, draw_size, FNV, check values) are tested here too. */
#include "../../tools/bench/workloads.c"

#define KIB UINT64_C(1024)
#define MIB (KIB * KIB)

/* ---- helpers ------------------------------------------------------------------------------- */
static uint64_t rnd(uint64_t *s, uint64_t n) { return n ? tu_rand(s) % n : 0; }

static sedx_virtual_block *make_block(uint64_t size, uint32_t flags)
{
    sedx_virtual_block_info info = {size, flags};
    sedx_virtual_block *b = NULL;
    assert_int_equal(sedx_virtual_block_create(&info, &b), SEDX_SUCCESS);
    assert_non_null(b);
    assert_int_equal(sedx_virtual_block_validate(b), SEDX_SUCCESS);
    return b;
}

/* A silent logger that counts messages per level and remembers whether an ERROR came with
 * the "TLSF" tag (the ctest environment prints WARN and above otherwise). */
static uint32_t g_log_counts[SEDX_LOG_OFF + 1];
static uint32_t g_tlsf_errors;
static void counting_logger(sedx_log_level level, const char *tag, const char *message, const char *file, int line,
                            void *user)
{
    (void)message, (void)file, (void)line, (void)user;
    if ((unsigned)level <= SEDX_LOG_OFF) g_log_counts[level]++;
    if (level == SEDX_LOG_ERROR && tag && strcmp(tag, "TLSF") == 0) g_tlsf_errors++;
}
static void log_quiet(sedx_log_level level)
{
    memset(g_log_counts, 0, sizeof g_log_counts);
    g_tlsf_errors = 0;
    sedx_set_logger(counting_logger, NULL);
    sedx_set_log_level(level);
}
static void log_restore(void)
{
    sedx_set_logger(NULL, NULL);
    sedx_set_log_level(SEDX_LOG_WARN);
}

static int setup_quiet(void **state)
{
    (void)state;
    log_quiet(SEDX_LOG_DEBUG);
    return 0;
}
static int teardown_quiet(void **state)
{
    (void)state;
    log_restore();
    return 0;
}

static bool stats_equal(const sedx_virtual_block_stats *a, const sedx_virtual_block_stats *b)
{
    return a->size == b->size && a->allocation_count == b->allocation_count &&
           a->allocation_bytes == b->allocation_bytes && a->free_bytes == b->free_bytes &&
           a->free_range_count == b->free_range_count && a->largest_free_range == b->largest_free_range;
}

/* ---- reference model: the set of live intervals -------------------------------------------- */
typedef struct model_alloc {
    sedx_virtual_alloc handle;
    uint64_t offset, size;
    uintptr_t user;
    uint64_t serial; /* allocation order (linear mode) */
    uint64_t end;    /* end of the range the allocation holds: offset + size + slack (TLSF) */
} model_alloc;

typedef struct model {
    model_alloc *v;
    size_t n, cap;
    uint64_t bytes;
    uint64_t serial;
    uint64_t block_size;
    bool slack; /* TLSF: padding below SEDX_VIRTUAL_PAD_RANGE_MIN joins the lower allocation */
} model;

static void model_add(model *m, sedx_virtual_alloc h, uint64_t offset, uint64_t size, uintptr_t user)
{
    if (m->n == m->cap) {
        m->cap = m->cap ? m->cap * 2 : 64;
        m->v = realloc(m->v, m->cap * sizeof *m->v);
        assert_non_null(m->v);
    }
    if (m->slack) {
        /* The free range the allocation came from starts at the end of the allocation below
         * it (or at 0); a padding shorter than SEDX_VIRTUAL_PAD_RANGE_MIN in front of the new
         * allocation is kept by that one, a longer one stays a free range. */
        model_alloc *below = NULL;
        for (size_t i = 0; i < m->n; ++i)
            if (m->v[i].offset < offset && (!below || m->v[i].offset > below->offset)) below = &m->v[i];
        uint64_t start = below ? below->end : 0;
        assert_true(start <= offset);
        if (below && offset - start < SEDX_VIRTUAL_PAD_RANGE_MIN) below->end = offset;
    }
    m->v[m->n++] = (model_alloc){h, offset, size, user, m->serial++, offset + size};
    m->bytes += size;
}

/* Removes entry i keeping allocation order (the linear model relies on it). */
static void model_remove(model *m, size_t i)
{
    m->bytes -= m->v[i].size;
    memmove(&m->v[i], &m->v[i + 1], (m->n - i - 1) * sizeof *m->v);
    m->n--;
}

static int cmp_offset(const void *a, const void *b)
{
    const model_alloc *x = a, *y = b;
    return (x->offset > y->offset) - (x->offset < y->offset);
}

/* Free ranges between live allocations (each allocation holding its slack): count, largest,
 * and the live set sorted by offset. */
typedef struct gaps {
    uint32_t count;
    uint64_t largest;
} gaps;

static gaps model_gaps(const model *m, model_alloc *sorted)
{
    memcpy(sorted, m->v, m->n * sizeof *sorted);
    qsort(sorted, m->n, sizeof *sorted, cmp_offset);
    gaps g = {0, 0};
    uint64_t at = 0;
    for (size_t i = 0; i <= m->n; ++i) {
        uint64_t next = i < m->n ? sorted[i].offset : m->block_size;
        if (next > at) {
            g.count++;
            if (next - at > g.largest) g.largest = next - at;
        }
        if (i < m->n) at = sorted[i].end;
    }
    return g;
}

static void check_new_alloc(const model *m, uint64_t offset, uint64_t size, uint64_t alignment)
{
    assert_true(alignment == 0 || offset % alignment == 0);
    assert_true(offset <= m->block_size && size <= m->block_size - offset);
    for (size_t i = 0; i < m->n; ++i) {
        const model_alloc *a = &m->v[i];
        bool disjoint = offset + size <= a->offset || a->offset + a->size <= offset;
        if (!disjoint)
            fail_msg("[%" PRIu64 ", +%" PRIu64 ") overlaps live [%" PRIu64 ", +%" PRIu64 ")", offset, size, a->offset,
                     a->size);
    }
}

/* Visits must be exactly the live set, in increasing offset order. */
typedef struct visit_ctx {
    const model_alloc *sorted;
    size_t n, seen;
    bool ok;
} visit_ctx;

static void visit_check(void *ctx, sedx_virtual_alloc alloc, uint64_t offset, uint64_t size, void *user_data)
{
    visit_ctx *v = ctx;
    if (v->seen >= v->n) {
        v->ok = false;
        return;
    }
    const model_alloc *e = &v->sorted[v->seen++];
    if (e->handle != alloc || e->offset != offset || e->size != size || (void *)e->user != user_data) v->ok = false;
}

static void check_foreach(const sedx_virtual_block *b, const model_alloc *sorted, size_t n)
{
    visit_ctx v = {sorted, n, 0, true};
    sedx_virtual_block_foreach(b, visit_check, &v);
    assert_true(v.ok);
    assert_int_equal(v.seen, n);
}

/* Random request: sizes from 1 B to the whole block, alignments 1 B .. 64 KiB. */
static void random_request(uint64_t *s, uint64_t block_size, uint64_t *size, uint64_t *alignment)
{
    uint64_t r = rnd(s, 16);
    if (r < 5) *size = 1 + rnd(s, 64);
    else if (r < 10) *size = 1 + rnd(s, 4096);
    else if (r < 14) *size = 1 + rnd(s, block_size / 32);
    else if (r < 15) *size = 1 + rnd(s, block_size / 4);
    else *size = 1 + rnd(s, block_size + block_size / 8); /* sometimes larger than the block */
    uint64_t k = rnd(s, 4) == 0 ? rnd(s, 17) : rnd(s, 9); /* 2^0 .. 2^16, mostly small */
    *alignment = rnd(s, 32) == 0 ? 0 : UINT64_C(1) << k;
}

/* ---- randomised TLSF sequences ------------------------------------------------------------- */
static void run_random_tlsf(uint64_t seed, uint64_t block_size, uint32_t ops)
{
    uint64_t s = seed;
    sedx_virtual_block *b = make_block(block_size, 0);
    model m = {0};
    m.block_size = block_size;
    m.slack = true;
    model_alloc *sorted = NULL;
    size_t sorted_cap = 0;
    sedx_virtual_alloc stale[64] = {0};
    uint32_t n_stale = 0, failures = 0, successes = 0, peak = 0;
    uintptr_t next_user = 1;

    for (uint32_t op = 0; op < ops; ++op) {
        /* Phases that fill the block up (70 % allocate) and drain it (35 %), so that the
         * nearly full, fragmented state is exercised too. */
        uint64_t alloc_share = (op / 1500) % 2 ? 350 : 700;
        uint64_t r = rnd(&s, 1000);
        bool misc = r < 60; /* stale handles, info, foreach, clear */
        bool allocate = !misc && rnd(&s, 1000) < alloc_share;
        if (m.n == 0 || allocate) {
            uint64_t size, alignment;
            random_request(&s, block_size, &size, &alignment);
            sedx_virtual_alloc h = 0;
            uint64_t offset = UINT64_MAX;
            uintptr_t user = next_user++;
            sedx_result res = sedx_virtual_allocate(b, size, alignment, (void *)user, &h, &offset);
            if (res == SEDX_SUCCESS) {
                successes++;
                assert_int_not_equal(h, 0);
                check_new_alloc(&m, offset, size, alignment);
                model_add(&m, h, offset, size, user);
                if (m.n > peak) peak = (uint32_t)m.n;
            } else {
                assert_int_equal(res, SEDX_ERROR_OUT_OF_SPACE);
                assert_int_equal(h, 0);             /* nothing written on failure */
                assert_int_equal(offset, UINT64_MAX);
                failures++;
                /* The O(1) guarantee: a free range of at least size + alignment - 1, rounded up
                 * to its size class (< 1/32 more), is always found. */
                uint64_t need = size + (alignment ? alignment - 1 : 0);
                uint64_t sure = need + need / 16 + 64;
                if (sorted_cap < m.n + 1) {
                    sorted_cap = (m.n + 1) * 2;
                    sorted = realloc(sorted, sorted_cap * sizeof *sorted);
                    assert_non_null(sorted);
                }
                gaps g = model_gaps(&m, sorted);
                if (g.largest >= sure)
                    fail_msg("out of space for %" PRIu64 " B (alignment %" PRIu64 ") with a free range of %" PRIu64
                             " B",
                             size, alignment, g.largest);
            }
        } else if (!misc) {
            size_t i = (size_t)rnd(&s, m.n);
            sedx_virtual_alloc h = m.v[i].handle;
            assert_int_equal(sedx_virtual_free(b, h), SEDX_SUCCESS);
            model_remove(&m, i);
            stale[n_stale++ % 64] = h;
        } else if (r < 20 && n_stale) {
            /* Double free / stale handle: an error, and nothing changes. */
            sedx_virtual_block_stats before, after;
            sedx_virtual_block_get_stats(b, &before);
            sedx_virtual_alloc h = stale[rnd(&s, n_stale < 64 ? n_stale : 64)];
            assert_int_equal(sedx_virtual_free(b, h), SEDX_ERROR_INVALID_HANDLE);
            sedx_virtual_alloc_info info;
            assert_int_equal(sedx_virtual_get_info(b, h, &info), SEDX_ERROR_INVALID_HANDLE);
            sedx_virtual_block_get_stats(b, &after);
            assert_true(stats_equal(&before, &after));
        } else if (r < 50 && m.n) {
            size_t i = (size_t)rnd(&s, m.n);
            sedx_virtual_alloc_info info;
            assert_int_equal(sedx_virtual_get_info(b, m.v[i].handle, &info), SEDX_SUCCESS);
            assert_int_equal(info.offset, m.v[i].offset);
            assert_int_equal(info.size, m.v[i].size);
            assert_ptr_equal(info.user_data, (void *)m.v[i].user);
            m.v[i].user = next_user++;
            assert_int_equal(sedx_virtual_set_user_data(b, m.v[i].handle, (void *)m.v[i].user), SEDX_SUCCESS);
        } else if (r < 59) {
            if (sorted_cap < m.n + 1) {
                sorted_cap = (m.n + 1) * 2;
                sorted = realloc(sorted, sorted_cap * sizeof *sorted);
                assert_non_null(sorted);
            }
            model_gaps(&m, sorted);
            check_foreach(b, sorted, m.n);
        } else {
            sedx_virtual_block_clear(b);
            for (size_t i = 0; i < m.n; ++i) stale[n_stale++ % 64] = m.v[i].handle;
            m.n = 0;
            m.bytes = 0;
            assert_true(sedx_virtual_block_is_empty(b));
        }

        /* After every operation: the block's own checks and the model's sums. */
        assert_int_equal(sedx_virtual_block_validate(b), SEDX_SUCCESS);
        if (sorted_cap < m.n + 1) {
            sorted_cap = (m.n + 1) * 2;
            sorted = realloc(sorted, sorted_cap * sizeof *sorted);
            assert_non_null(sorted);
        }
        gaps g = model_gaps(&m, sorted);
        sedx_virtual_block_stats st;
        sedx_virtual_block_get_stats(b, &st);
        assert_int_equal(st.size, block_size);
        assert_int_equal(st.allocation_count, m.n);
        assert_int_equal(st.allocation_bytes, m.bytes);
        assert_int_equal(st.free_bytes, block_size - m.bytes);
        assert_int_equal(st.free_range_count, g.count);
        assert_int_equal(st.largest_free_range, g.largest);
        assert_int_equal(sedx_virtual_block_is_empty(b), m.n == 0);
    }
    print_message("  block %" PRIu64 " B: %u allocated, %u out of space, peak %u live\n", block_size, successes,
                  failures, peak);
    /* The sequence must have exercised both outcomes. */
    assert_true(successes > ops / 10);
    assert_true(failures > 0);
    sedx_virtual_block_destroy(b);
    free(m.v);
    free(sorted);
}

static void test_random_tlsf(void **state)
{
    (void)state;
    uint64_t seed = tu_seed();
    uint32_t ops = tu_long_mode() ? 1000000u : 25000u;
    print_message("seed 0x%016" PRIx64 ", %u operations per block\n", seed, ops);
    static const uint64_t sizes[] = {MIB, 4 * MIB + 12345, 100000, 64 * KIB};
    for (size_t k = 0; k < sizeof sizes / sizeof sizes[0]; ++k) run_random_tlsf(seed + k, sizes[k], ops);
}

/* ---- frees in order and at random: both coalescing paths ------------------------------------ */
/* The free takes one of two paths (tlsf_core.h): with no branch on which neighbours are free
 * while the cases come at random, with branches once the same case came several frees in a
 * row (frees in address order, in reverse, every other one). Phases of each kind, switching
 * in the middle of a streak, against the model: no overlap, inside the block, aligned, the
 * counts and the largest free range exact after every operation, and no failure while a free
 * range would surely fit. */
static size_t pick_by_offset(const model *m, model_alloc *sorted, uint32_t how, uint64_t *s)
{
    model_gaps(m, sorted);
    size_t k;
    switch (how) {
    case 0: k = 0; break;                                  /* lowest offset */
    case 1: k = m->n - 1; break;                           /* highest */
    case 2: k = (m->n - 1) & ~(size_t)1; break;            /* every other one, from the top */
    default: k = (size_t)rnd(s, m->n); break;              /* anywhere */
    }
    for (size_t i = 0; i < m->n; ++i)
        if (m->v[i].handle == sorted[k].handle) return i;
    fail_msg("model: handle not found");
    return 0;
}

static void run_free_streaks(uint64_t seed, uint64_t block_size, uint32_t ops)
{
    uint64_t s = seed;
    sedx_virtual_block *b = make_block(block_size, 0);
    model m = {0};
    m.block_size = block_size;
    m.slack = true;
    size_t cap = 1024;
    model_alloc *sorted = malloc(cap * sizeof *sorted);
    assert_non_null(sorted);
    uint32_t failures = 0, phase = 0, left = 0;
    for (uint32_t op = 0; op < ops; ++op) {
        /* phase (length 64 .. 575): fill, free lowest / highest / every other / random, mixed */
        if (left == 0) {
            phase = (uint32_t)rnd(&s, 6);
            left = 64 + (uint32_t)rnd(&s, 512);
        }
        left--;
        bool fill = phase == 0 || (phase == 5 && rnd(&s, 2)) || m.n == 0;
        if (fill) {
            uint64_t size = rnd(&s, 4) ? 1 + rnd(&s, block_size / 64) : 1 + rnd(&s, 64);
            uint64_t alignment = rnd(&s, 3) ? (uint64_t)1 << rnd(&s, 13) : 0;
            sedx_virtual_alloc h = 0;
            uint64_t offset = UINT64_MAX;
            sedx_result r = sedx_virtual_allocate(b, size, alignment, NULL, &h, &offset);
            if (r == SEDX_SUCCESS) {
                check_new_alloc(&m, offset, size, alignment);
                model_add(&m, h, offset, size, 0);
            } else {
                assert_int_equal(r, SEDX_ERROR_OUT_OF_SPACE);
                failures++;
                if (m.n + 1 > cap) {
                    cap = (m.n + 1) * 2;
                    sorted = realloc(sorted, cap * sizeof *sorted);
                    assert_non_null(sorted);
                }
                uint64_t need = size + (alignment ? alignment - 1 : 0);
                gaps g = model_gaps(&m, sorted);
                if (g.largest >= need + need / 16 + 64)
                    fail_msg("out of space for %" PRIu64 " B (alignment %" PRIu64 ") with a free range of %" PRIu64
                             " B",
                             size, alignment, g.largest);
                if (phase == 0) left = 0; /* full: next phase */
            }
        } else {
            if (m.n > cap) {
                cap = m.n * 2;
                sorted = realloc(sorted, cap * sizeof *sorted);
                assert_non_null(sorted);
            }
            uint32_t how = phase == 5 ? (rnd(&s, 2) ? 0u : 3u) : phase - 1u; /* 1..4 -> 0..3 */
            size_t i = pick_by_offset(&m, sorted, how, &s);
            assert_int_equal(sedx_virtual_free(b, m.v[i].handle), SEDX_SUCCESS);
            model_remove(&m, i);
        }
        assert_int_equal(sedx_virtual_block_validate(b), SEDX_SUCCESS);
        if (m.n + 1 > cap) {
            cap = (m.n + 1) * 2;
            sorted = realloc(sorted, cap * sizeof *sorted);
            assert_non_null(sorted);
        }
        gaps g = model_gaps(&m, sorted);
        sedx_virtual_block_stats st;
        sedx_virtual_block_get_stats(b, &st);
        assert_int_equal(st.allocation_count, m.n);
        assert_int_equal(st.allocation_bytes, m.bytes);
        assert_int_equal(st.free_range_count, g.count);
        assert_int_equal(st.largest_free_range, g.largest);
    }
    /* Everything freed in address order at the end: one free range, the whole block. */
    while (m.n) {
        size_t i = pick_by_offset(&m, sorted, 0, &s);
        assert_int_equal(sedx_virtual_free(b, m.v[i].handle), SEDX_SUCCESS);
        model_remove(&m, i);
        assert_int_equal(sedx_virtual_block_validate(b), SEDX_SUCCESS);
    }
    sedx_virtual_block_stats st;
    sedx_virtual_block_get_stats(b, &st);
    assert_int_equal(st.free_range_count, 1);
    assert_int_equal(st.largest_free_range, block_size);
    print_message("  block %" PRIu64 " B: %u out of space\n", block_size, failures);
    sedx_virtual_block_destroy(b);
    free(m.v);
    free(sorted);
}

static void test_free_streaks(void **state)
{
    (void)state;
    uint64_t seed = tu_seed() ^ 0x5157u;
    uint32_t ops = tu_long_mode() ? 400000u : 20000u;
    static const uint64_t sizes[] = {MIB, 4 * MIB + 12345, 100000};
    for (size_t k = 0; k < sizeof sizes / sizeof sizes[0]; ++k) run_free_streaks(seed + k, sizes[k], ops);
}

/* Requests near the 64-bit limits on blocks of every scale: the search class of size +
 * alignment - 1 reaches first level 60 (past any block's classes); nothing may be found
 * there, nothing may be read out of bounds, and what does fit is found. */
static void test_huge_requests(void **state)
{
    (void)state;
    static const uint64_t blocks[] = {1, 4096, UINT64_C(1) << 40, UINT64_C(1) << 62, SEDX_VIRTUAL_MAX_SIZE};
    for (size_t k = 0; k < sizeof blocks / sizeof blocks[0]; ++k) {
        sedx_virtual_block *b = make_block(blocks[k], 0);
        static const uint64_t sizes[] = {1, 4096, UINT64_C(1) << 62, SEDX_VIRTUAL_MAX_SIZE - 1, SEDX_VIRTUAL_MAX_SIZE};
        static const uint64_t aligns[] = {0, 1, 4096, UINT64_C(1) << 62, UINT64_C(1) << 63};
        for (size_t i = 0; i < 5; ++i)
            for (size_t j = 0; j < 5; ++j) {
                sedx_virtual_alloc h = 0;
                uint64_t off = UINT64_MAX;
                sedx_result r = sedx_virtual_allocate(b, sizes[i], aligns[j], NULL, &h, &off);
                /* An empty block: offset 0 is aligned to anything, so it fits iff size <= block. */
                assert_int_equal(r, sizes[i] <= blocks[k] ? SEDX_SUCCESS : SEDX_ERROR_OUT_OF_SPACE);
                if (r == SEDX_SUCCESS) {
                    assert_int_equal(off, 0);
                    assert_int_equal(sedx_virtual_free(b, h), SEDX_SUCCESS);
                }
                assert_int_equal(sedx_virtual_block_validate(b), SEDX_SUCCESS);
            }
        sedx_virtual_block_destroy(b);
    }
}

/* ---- randomised linear (ring) sequences ---------------------------------------------------- */
/* Where the ring must place the next allocation: after the newest one (rounded up to the
 * alignment) if it fits before the end of the range (not wrapped) or before the oldest one
 * (wrapped); else at 0 if the ring has not wrapped and it fits before the oldest. */
static bool ring_expect(const model *m, uint64_t size, uint64_t alignment, uint64_t *offset)
{
    if (m->n == 0) {
        *offset = 0;
        return size <= m->block_size;
    }
    const model_alloc *oldest = &m->v[0], *newest = &m->v[m->n - 1];
    uint64_t a = alignment ? alignment : 1;
    uint64_t tail = newest->offset + newest->size, at = (tail + a - 1) / a * a;
    bool wrapped = newest->offset < oldest->offset;
    uint64_t limit = wrapped ? oldest->offset : m->block_size;
    if (at <= limit && limit - at >= size) {
        *offset = at;
        return true;
    }
    if (!wrapped && size <= oldest->offset) {
        *offset = 0;
        return true;
    }
    return false;
}

static void run_random_linear(uint64_t seed, uint64_t block_size, uint32_t ops)
{
    uint64_t s = seed;
    sedx_virtual_block *b = make_block(block_size, SEDX_VIRTUAL_BLOCK_LINEAR);
    model m = {0};
    m.block_size = block_size;
    model_alloc *sorted = calloc(1, sizeof *sorted);
    size_t sorted_cap = 1;
    uint32_t failures = 0, wraps = 0;
    uintptr_t next_user = 1;
    for (uint32_t op = 0; op < ops; ++op) {
        uint64_t r = rnd(&s, 100);
        if (m.n == 0 || r < 55) {
            uint64_t size = rnd(&s, 8) == 0 ? 1 + rnd(&s, block_size / 3) : 1 + rnd(&s, block_size / 24);
            uint64_t alignment = rnd(&s, 3) == 0 ? UINT64_C(1) << rnd(&s, 13) : 1;
            uint64_t expected = 0, offset = 0;
            bool fits = ring_expect(&m, size, alignment, &expected);
            sedx_virtual_alloc h = 0;
            uintptr_t user = next_user++;
            sedx_result res = sedx_virtual_allocate(b, size, alignment, (void *)user, &h, &offset);
            if (fits) {
                assert_int_equal(res, SEDX_SUCCESS);
                assert_int_equal(offset, expected);
                check_new_alloc(&m, offset, size, alignment);
                if (m.n && offset < m.v[m.n - 1].offset) wraps++;
                model_add(&m, h, offset, size, user);
            } else {
                assert_int_equal(res, SEDX_ERROR_OUT_OF_SPACE);
                failures++;
            }
        } else if (r < 75) {
            assert_int_equal(sedx_virtual_free(b, m.v[0].handle), SEDX_SUCCESS); /* FIFO */
            model_remove(&m, 0);
        } else if (r < 97) {
            size_t i = (size_t)rnd(&s, m.n); /* any order */
            sedx_virtual_alloc h = m.v[i].handle;
            assert_int_equal(sedx_virtual_free(b, h), SEDX_SUCCESS);
            model_remove(&m, i);
            assert_int_equal(sedx_virtual_free(b, h), SEDX_ERROR_INVALID_HANDLE);
        } else {
            size_t i = (size_t)rnd(&s, m.n);
            sedx_virtual_alloc_info info;
            assert_int_equal(sedx_virtual_get_info(b, m.v[i].handle, &info), SEDX_SUCCESS);
            assert_int_equal(info.offset, m.v[i].offset);
            assert_int_equal(info.size, m.v[i].size);
            assert_ptr_equal(info.user_data, (void *)m.v[i].user);
        }
        assert_int_equal(sedx_virtual_block_validate(b), SEDX_SUCCESS);
        sedx_virtual_block_stats st;
        sedx_virtual_block_get_stats(b, &st);
        assert_int_equal(st.allocation_count, m.n);
        assert_int_equal(st.allocation_bytes, m.bytes);
        assert_int_equal(st.free_bytes, block_size - m.bytes);
        if (sorted_cap < m.n + 1) {
            sorted_cap = (m.n + 1) * 2;
            sorted = realloc(sorted, sorted_cap * sizeof *sorted);
            assert_non_null(sorted);
        }
        memcpy(sorted, m.v, m.n * sizeof *sorted);
        qsort(sorted, m.n, sizeof *sorted, cmp_offset);
        if (op % 16 == 0) check_foreach(b, sorted, m.n);
    }
    assert_true(failures > 0);
    assert_true(wraps > 0);
    sedx_virtual_block_destroy(b);
    free(m.v);
    free(sorted);
}

static void test_random_linear(void **state)
{
    (void)state;
    uint32_t ops = tu_long_mode() ? 1000000u : 50000u;
    run_random_linear(tu_seed() ^ 0x11u, MIB, ops);
    run_random_linear(tu_seed() ^ 0x22u, 1000003, ops);
}

/* ---- TLSF edge cases ----------------------------------------------------------------------- */
static void test_arguments(void **state)
{
    (void)state;
    sedx_virtual_block *b = NULL;
    sedx_virtual_block_info info = {MIB, 0};
    assert_int_equal(sedx_virtual_block_create(NULL, &b), SEDX_ERROR_INVALID_ARGUMENT);
    assert_int_equal(sedx_virtual_block_create(&info, NULL), SEDX_ERROR_INVALID_ARGUMENT);
    info.size = 0;
    assert_int_equal(sedx_virtual_block_create(&info, &b), SEDX_ERROR_INVALID_SIZE);
    info.size = SEDX_VIRTUAL_MAX_SIZE + 1;
    assert_int_equal(sedx_virtual_block_create(&info, &b), SEDX_ERROR_INVALID_SIZE);
    info.size = MIB;
    info.flags = 0x80;
    assert_int_equal(sedx_virtual_block_create(&info, &b), SEDX_ERROR_INVALID_ARGUMENT);
    assert_null(b);
    assert_true(g_tlsf_errors >= 5); /* each misuse is logged with the tag */

    sedx_virtual_alloc h = 0;
    uint64_t off = 0;
    assert_int_equal(sedx_virtual_allocate(NULL, 16, 1, NULL, &h, &off), SEDX_ERROR_INVALID_ARGUMENT);
    b = make_block(MIB, 0);
    assert_int_equal(sedx_virtual_allocate(b, 16, 1, NULL, NULL, &off), SEDX_ERROR_INVALID_ARGUMENT);
    assert_int_equal(sedx_virtual_allocate(b, 16, 1, NULL, &h, NULL), SEDX_SUCCESS); /* offset optional */
    assert_int_equal(sedx_virtual_free(NULL, h), SEDX_ERROR_INVALID_ARGUMENT);
    assert_int_equal(sedx_virtual_get_info(b, h, NULL), SEDX_ERROR_INVALID_ARGUMENT);
    sedx_virtual_alloc_info ai;
    assert_int_equal(sedx_virtual_get_info(NULL, h, &ai), SEDX_ERROR_INVALID_ARGUMENT);
    assert_int_equal(sedx_virtual_set_user_data(NULL, h, NULL), SEDX_ERROR_INVALID_ARGUMENT);
    assert_int_equal(sedx_virtual_block_validate(NULL), SEDX_ERROR_INVALID_ARGUMENT);
    sedx_virtual_block_stats st;
    memset(&st, 0xAB, sizeof st);
    sedx_virtual_block_get_stats(NULL, &st);
    assert_int_equal(st.size, 0);
    assert_int_equal(st.allocation_count, 0);
    sedx_virtual_block_get_stats(b, NULL);
    assert_true(sedx_virtual_block_is_empty(NULL));
    sedx_virtual_block_foreach(NULL, visit_check, NULL);
    sedx_virtual_block_foreach(b, NULL, NULL);
    sedx_virtual_block_clear(NULL);
    sedx_virtual_block_destroy(NULL);
    assert_int_equal(sedx_virtual_block_validate(b), SEDX_SUCCESS);
    sedx_virtual_block_destroy(b);
}

static void test_sizes_and_alignments(void **state)
{
    (void)state;
    sedx_virtual_block *b = make_block(MIB, 0);
    sedx_virtual_alloc h = 0;
    uint64_t off = 0;
    sedx_virtual_block_stats before, after;
    sedx_virtual_block_get_stats(b, &before);

    /* size 0, sizes that overflow or exceed 2^63: INVALID_SIZE; nothing is written */
    static const uint64_t bad_sizes[] = {0, UINT64_MAX, UINT64_MAX - 100, SEDX_VIRTUAL_MAX_SIZE + 1};
    for (size_t i = 0; i < sizeof bad_sizes / sizeof bad_sizes[0]; ++i) {
        assert_int_equal(sedx_virtual_allocate(b, bad_sizes[i], 1024, NULL, &h, &off), SEDX_ERROR_INVALID_SIZE);
        assert_int_equal(sedx_virtual_allocate(b, bad_sizes[i], 1, NULL, &h, &off), SEDX_ERROR_INVALID_SIZE);
    }
    assert_int_equal(sedx_virtual_allocate(b, 16, UINT64_C(1) << 63, NULL, &h, &off), SEDX_SUCCESS);
    assert_int_equal(off, 0);
    assert_int_equal(sedx_virtual_free(b, h), SEDX_SUCCESS);
    h = 0, off = 0;
    /* larger than the block but representable: simply does not fit */
    assert_int_equal(sedx_virtual_allocate(b, SEDX_VIRTUAL_MAX_SIZE, 1, NULL, &h, &off), SEDX_ERROR_OUT_OF_SPACE);
    assert_int_equal(sedx_virtual_allocate(b, MIB + 1, 1, NULL, &h, &off), SEDX_ERROR_OUT_OF_SPACE);
    assert_int_equal(sedx_virtual_allocate(b, MIB - 10, UINT64_C(1) << 62, NULL, &h, &off), SEDX_SUCCESS);
    assert_int_equal(sedx_virtual_free(b, h), SEDX_SUCCESS);
    h = 0, off = 0;

    /* alignment: powers of two only (0 means 1) */
    static const uint64_t bad_align[] = {3, 6, 24, 65535, 65537, UINT64_MAX, (UINT64_C(1) << 63) + 1};
    for (size_t i = 0; i < sizeof bad_align / sizeof bad_align[0]; ++i)
        assert_int_equal(sedx_virtual_allocate(b, 16, bad_align[i], NULL, &h, &off), SEDX_ERROR_INVALID_ALIGNMENT);
    assert_int_equal(h, 0);
    assert_int_equal(off, 0);
    sedx_virtual_block_get_stats(b, &after);
    assert_true(stats_equal(&before, &after));
    assert_int_equal(g_log_counts[SEDX_LOG_ERROR], g_tlsf_errors); /* all errors logged with the tag */

    /* alignment 1 and 64 KiB after an odd-sized allocation */
    sedx_virtual_alloc a1, a2, a3, a4;
    uint64_t o1, o2, o3, o4;
    assert_int_equal(sedx_virtual_allocate(b, 3, 0, NULL, &a1, &o1), SEDX_SUCCESS);
    assert_int_equal(sedx_virtual_allocate(b, 5, 1, NULL, &a2, &o2), SEDX_SUCCESS);
    assert_int_equal(o1, 0);
    assert_int_equal(o2, 3); /* alignment 1: no padding */
    assert_int_equal(sedx_virtual_allocate(b, 100, 64 * KIB, NULL, &a3, &o3), SEDX_SUCCESS);
    assert_int_equal(o3 % (64 * KIB), 0);
    assert_int_equal(o3, 64 * KIB);
    assert_int_equal(sedx_virtual_allocate(b, 1, 64 * KIB, NULL, &a4, &o4), SEDX_SUCCESS);
    assert_int_equal(o4 % (64 * KIB), 0);
    assert_int_equal(sedx_virtual_block_validate(b), SEDX_SUCCESS);
    sedx_virtual_block_get_stats(b, &after);
    assert_int_equal(after.allocation_bytes, 109);
    assert_int_equal(after.free_range_count, 3); /* the two paddings and the rest */
    assert_int_equal(sedx_virtual_free(b, a3), SEDX_SUCCESS);
    assert_int_equal(sedx_virtual_free(b, a1), SEDX_SUCCESS);
    assert_int_equal(sedx_virtual_free(b, a4), SEDX_SUCCESS);
    assert_int_equal(sedx_virtual_free(b, a2), SEDX_SUCCESS);
    sedx_virtual_block_get_stats(b, &after);
    assert_true(stats_equal(&before, &after)); /* everything coalesced back */
    assert_int_equal(after.free_range_count, 1);
    assert_int_equal(after.largest_free_range, MIB);
    sedx_virtual_block_destroy(b);
}

static void test_exactly_full(void **state)
{
    (void)state;
    static const uint64_t sizes[] = {1, 63, 64, 1000003, MIB, SEDX_VIRTUAL_MAX_SIZE};
    for (size_t i = 0; i < sizeof sizes / sizeof sizes[0]; ++i) {
        uint64_t n = sizes[i];
        sedx_virtual_block *b = make_block(n, 0);
        for (uint64_t alignment = 1; alignment <= 64 * KIB; alignment <<= 4) {
            sedx_virtual_alloc h, h2;
            uint64_t off = 1;
            assert_int_equal(sedx_virtual_allocate(b, n, alignment, NULL, &h, &off), SEDX_SUCCESS);
            assert_int_equal(off, 0);
            assert_int_equal(sedx_virtual_allocate(b, 1, 1, NULL, &h2, NULL), SEDX_ERROR_OUT_OF_SPACE);
            sedx_virtual_block_stats st;
            sedx_virtual_block_get_stats(b, &st);
            assert_int_equal(st.free_bytes, 0);
            assert_int_equal(st.free_range_count, 0);
            assert_int_equal(st.largest_free_range, 0);
            assert_int_equal(sedx_virtual_block_validate(b), SEDX_SUCCESS);
            assert_int_equal(sedx_virtual_free(b, h), SEDX_SUCCESS);
        }
        if (n >= 2) {
            /* two halves fill it exactly as well */
            sedx_virtual_alloc x, y;
            uint64_t ox, oy;
            assert_int_equal(sedx_virtual_allocate(b, n / 2, 1, NULL, &x, &ox), SEDX_SUCCESS);
            assert_int_equal(sedx_virtual_allocate(b, n - n / 2, 1, NULL, &y, &oy), SEDX_SUCCESS);
            assert_int_equal(oy, n / 2);
            assert_int_equal(sedx_virtual_free(b, x), SEDX_SUCCESS);
            assert_int_equal(sedx_virtual_free(b, y), SEDX_SUCCESS);
        }
        assert_true(sedx_virtual_block_is_empty(b));
        sedx_virtual_block_destroy(b);
    }
}

static void test_handles(void **state)
{
    (void)state;
    sedx_virtual_block *b = make_block(MIB, 0), *other = make_block(MIB, 0);
    sedx_virtual_alloc h, h_other;
    assert_int_equal(sedx_virtual_allocate(b, 100, 16, (void *)0x1234, &h, NULL), SEDX_SUCCESS);
    assert_int_equal(sedx_virtual_allocate(other, 100, 16, NULL, &h_other, NULL), SEDX_SUCCESS);
    sedx_virtual_block_stats before, after;
    sedx_virtual_block_get_stats(b, &before);

    /* free of 0 is a no-op; unknown, foreign and malformed handles are errors that change nothing */
    uint32_t errors = g_tlsf_errors;
    assert_int_equal(sedx_virtual_free(b, 0), SEDX_SUCCESS);
    assert_int_equal(g_tlsf_errors, errors);
    static const sedx_virtual_alloc junk[] = {1, 0xFFFFFFFFu, UINT64_MAX, UINT64_C(0x100000001), UINT64_C(1) << 40};
    for (size_t i = 0; i < sizeof junk / sizeof junk[0]; ++i)
        assert_int_equal(sedx_virtual_free(b, junk[i]), SEDX_ERROR_INVALID_HANDLE);
    assert_int_equal(sedx_virtual_free(b, h ^ (UINT64_C(1) << 32)), SEDX_ERROR_INVALID_HANDLE); /* wrong generation */
    assert_int_equal(sedx_virtual_free(b, h_other), SEDX_ERROR_INVALID_HANDLE);                 /* other block */
    assert_int_equal(sedx_virtual_set_user_data(b, h_other, NULL), SEDX_ERROR_INVALID_HANDLE);
    assert_int_equal(g_tlsf_errors, errors + sizeof junk / sizeof junk[0] + 3);
    sedx_virtual_block_get_stats(b, &after);
    assert_true(stats_equal(&before, &after));
    assert_int_equal(sedx_virtual_block_validate(b), SEDX_SUCCESS);

    sedx_virtual_alloc_info info;
    assert_int_equal(sedx_virtual_get_info(b, h, &info), SEDX_SUCCESS);
    assert_ptr_equal(info.user_data, (void *)0x1234);
    assert_int_equal(info.size, 100);
    assert_int_equal(sedx_virtual_set_user_data(b, h, (void *)0x5678), SEDX_SUCCESS);
    assert_int_equal(sedx_virtual_get_info(b, h, &info), SEDX_SUCCESS);
    assert_ptr_equal(info.user_data, (void *)0x5678);

    /* double free, and a stale handle whose node was reused by a newer allocation */
    assert_int_equal(sedx_virtual_free(b, h), SEDX_SUCCESS);
    assert_int_equal(sedx_virtual_free(b, h), SEDX_ERROR_INVALID_HANDLE);
    sedx_virtual_alloc h2;
    assert_int_equal(sedx_virtual_allocate(b, 100, 16, NULL, &h2, NULL), SEDX_SUCCESS);
    assert_int_not_equal(h2, h);
    assert_int_equal(sedx_virtual_free(b, h), SEDX_ERROR_INVALID_HANDLE);
    assert_int_equal(sedx_virtual_get_info(b, h, &info), SEDX_ERROR_INVALID_HANDLE);
    assert_int_equal(sedx_virtual_free(b, h2), SEDX_SUCCESS);
    assert_true(sedx_virtual_block_is_empty(b));
    assert_int_equal(sedx_virtual_block_validate(b), SEDX_SUCCESS);
    sedx_virtual_block_destroy(b);
    sedx_virtual_block_destroy(other);
}

static void test_out_of_space_not_logged_as_error(void **state)
{
    (void)state;
    sedx_virtual_block *b = make_block(4096, 0);
    sedx_virtual_alloc h, h2;
    assert_int_equal(sedx_virtual_allocate(b, 4000, 1, NULL, &h, NULL), SEDX_SUCCESS);
    memset(g_log_counts, 0, sizeof g_log_counts);
    assert_int_equal(sedx_virtual_allocate(b, 200, 1, NULL, &h2, NULL), SEDX_ERROR_OUT_OF_SPACE);
    assert_int_equal(g_log_counts[SEDX_LOG_ERROR], 0);
    assert_int_equal(g_log_counts[SEDX_LOG_WARN], 0);
    assert_int_equal(g_log_counts[SEDX_LOG_DEBUG], 1); /* at DEBUG only */
    sedx_set_log_level(SEDX_LOG_INFO);
    assert_int_equal(sedx_virtual_allocate(b, 200, 1, NULL, &h2, NULL), SEDX_ERROR_OUT_OF_SPACE);
    assert_int_equal(g_log_counts[SEDX_LOG_DEBUG], 1); /* filtered */
    sedx_set_log_level(SEDX_LOG_DEBUG);
    sedx_virtual_block_destroy(b);
}

static void test_coalesce_and_clear(void **state)
{
    (void)state;
    sedx_virtual_block *b = make_block(10000, 0);
    sedx_virtual_alloc a[5];
    uint64_t off[5];
    for (int i = 0; i < 5; ++i) {
        assert_int_equal(sedx_virtual_allocate(b, 2000, 1, NULL, &a[i], &off[i]), SEDX_SUCCESS);
        assert_int_equal(off[i], 2000u * (unsigned)i);
    }
    sedx_virtual_alloc x;
    assert_int_equal(sedx_virtual_allocate(b, 1, 1, NULL, &x, NULL), SEDX_ERROR_OUT_OF_SPACE);
    sedx_virtual_block_stats st;
    /* free 1 and 3: two ranges; then 2 joins them into one of 6000 */
    assert_int_equal(sedx_virtual_free(b, a[1]), SEDX_SUCCESS);
    assert_int_equal(sedx_virtual_free(b, a[3]), SEDX_SUCCESS);
    sedx_virtual_block_get_stats(b, &st);
    assert_int_equal(st.free_range_count, 2);
    assert_int_equal(st.largest_free_range, 2000);
    assert_int_equal(sedx_virtual_allocate(b, 2001, 1, NULL, &x, NULL), SEDX_ERROR_OUT_OF_SPACE);
    assert_int_equal(sedx_virtual_free(b, a[2]), SEDX_SUCCESS);
    sedx_virtual_block_get_stats(b, &st);
    assert_int_equal(st.free_range_count, 1);
    assert_int_equal(st.largest_free_range, 6000);
    uint64_t o;
    assert_int_equal(sedx_virtual_allocate(b, 6000, 1, NULL, &x, &o), SEDX_SUCCESS); /* exact fit */
    assert_int_equal(o, 2000);
    assert_int_equal(sedx_virtual_block_validate(b), SEDX_SUCCESS);

    /* clear: every handle goes stale, the whole range is free again, and the block is reusable */
    sedx_virtual_block_clear(b);
    assert_true(sedx_virtual_block_is_empty(b));
    assert_int_equal(sedx_virtual_block_validate(b), SEDX_SUCCESS);
    assert_int_equal(sedx_virtual_free(b, a[0]), SEDX_ERROR_INVALID_HANDLE);
    assert_int_equal(sedx_virtual_free(b, x), SEDX_ERROR_INVALID_HANDLE);
    sedx_virtual_block_get_stats(b, &st);
    assert_int_equal(st.free_range_count, 1);
    assert_int_equal(st.largest_free_range, 10000);
    for (int round = 0; round < 3; ++round) {
        for (int i = 0; i < 5; ++i)
            assert_int_equal(sedx_virtual_allocate(b, 2000, 1, NULL, &a[i], &off[i]), SEDX_SUCCESS);
        assert_int_equal(sedx_virtual_block_validate(b), SEDX_SUCCESS);
        sedx_virtual_block_clear(b);
        sedx_virtual_alloc_info info;
        for (int i = 0; i < 5; ++i) assert_int_equal(sedx_virtual_get_info(b, a[i], &info), SEDX_ERROR_INVALID_HANDLE);
    }
    sedx_virtual_block_destroy(b);
}

/* A block where a list walk would find a fit but the class head does not: the O(1) search
 * skips that class and takes a larger range instead (documented cost), and never walks. */
static void test_no_walk_alignment(void **state)
{
    (void)state;
    sedx_virtual_block *b = make_block(MIB, 0);
    /* Free ranges of 4096 + 100 B at odd offsets (not 4 KiB aligned), separated by used bytes,
     * then one large range at the end. */
    sedx_virtual_alloc hold[8], gap[8];
    for (int i = 0; i < 8; ++i) {
        assert_int_equal(sedx_virtual_allocate(b, 4196, 1, NULL, &gap[i], NULL), SEDX_SUCCESS);
        assert_int_equal(sedx_virtual_allocate(b, 1, 1, NULL, &hold[i], NULL), SEDX_SUCCESS);
    }
    for (int i = 0; i < 8; ++i) assert_int_equal(sedx_virtual_free(b, gap[i]), SEDX_SUCCESS);
    /* 4096 B aligned to 4 KiB: would fit into the gap starting at 4197 * k only where the
     * padding is <= 100; the guaranteed class needs 4096 + 4095 B: the tail range serves it. */
    sedx_virtual_alloc h;
    uint64_t off;
    assert_int_equal(sedx_virtual_allocate(b, 4096, 4096, NULL, &h, &off), SEDX_SUCCESS);
    assert_int_equal(off % 4096, 0);
    assert_true(off >= 8 * 4197);
    assert_int_equal(sedx_virtual_block_validate(b), SEDX_SUCCESS);
    /* with alignment 1, a gap of exactly the right class is taken */
    assert_int_equal(sedx_virtual_allocate(b, 4000, 1, NULL, &h, &off), SEDX_SUCCESS);
    assert_true(off < 8 * 4197);
    assert_int_equal(sedx_virtual_block_validate(b), SEDX_SUCCESS);
    sedx_virtual_block_destroy(b);
}

/* No class is sure to fit, but the head of class(size) does: it is taken (one O(1) look),
 * while the larger range of the highest class does not fit because of its padding. */
static void test_near_fit_heads(void **state)
{
    (void)state;
    sedx_virtual_block *b = make_block(16384, 0);
    static const uint64_t sizes[] = {256, 6000, 145, 6100, 16384 - 12501};
    sedx_virtual_alloc h[5];
    uint64_t off[5];
    for (int i = 0; i < 5; ++i)
        assert_int_equal(sedx_virtual_allocate(b, sizes[i], 1, NULL, &h[i], &off[i]), SEDX_SUCCESS);
    assert_int_equal(off[1], 256);
    assert_int_equal(off[3], 6401); /* 6401 % 256 == 1: 255 B of padding */
    assert_int_equal(sedx_virtual_free(b, h[1]), SEDX_SUCCESS);
    assert_int_equal(sedx_virtual_free(b, h[3]), SEDX_SUCCESS);
    sedx_virtual_alloc x;
    uint64_t ox;
    assert_int_equal(sedx_virtual_allocate(b, 6000, 256, NULL, &x, &ox), SEDX_SUCCESS);
    assert_int_equal(ox, 256);
    assert_int_equal(sedx_virtual_block_validate(b), SEDX_SUCCESS);
    /* 5846 B at alignment 256 fit neither range: 6100 - 255 = 5845 */
    assert_int_equal(sedx_virtual_allocate(b, 5846, 256, NULL, &x, &ox), SEDX_ERROR_OUT_OF_SPACE);
    assert_int_equal(sedx_virtual_allocate(b, 5845, 256, NULL, &x, &ox), SEDX_SUCCESS);
    assert_int_equal(ox, 6656);
    assert_int_equal(sedx_virtual_block_validate(b), SEDX_SUCCESS);
    sedx_virtual_block_destroy(b);
}

/* A padding shorter than SEDX_VIRTUAL_PAD_RANGE_MIN stays with the allocation below (no free
 * range of its own, returned when that one is freed); a longer one is a free range. */
static void test_padding_slack(void **state)
{
    (void)state;
    sedx_virtual_block *b = make_block(65536, 0);
    sedx_virtual_alloc a, c, d;
    uint64_t oa, oc, od;
    sedx_virtual_block_stats st;
    assert_int_equal(sedx_virtual_allocate(b, 100, 1, NULL, &a, &oa), SEDX_SUCCESS);
    assert_int_equal(sedx_virtual_allocate(b, 100, 256, NULL, &c, &oc), SEDX_SUCCESS);
    assert_int_equal(oa, 0);
    assert_int_equal(oc, 256);
    sedx_virtual_block_get_stats(b, &st);
    assert_int_equal(st.free_bytes, 65536 - 200);   /* the 156 B of padding count as free bytes */
    assert_int_equal(st.free_range_count, 1);       /* but are not a range: only [356, 65536) is */
    assert_int_equal(st.largest_free_range, 65536 - 356);
    /* A 4 KiB-aligned allocation needs 3740 B of padding after c: that one is a range. */
    assert_int_equal(sedx_virtual_allocate(b, 100, 4096, NULL, &d, &od), SEDX_SUCCESS);
    assert_int_equal(od, 4096);
    sedx_virtual_block_get_stats(b, &st);
    assert_int_equal(st.free_range_count, 2);
    assert_int_equal(st.largest_free_range, 65536 - 4196);
    assert_int_equal(sedx_virtual_block_validate(b), SEDX_SUCCESS);
    /* Freeing a returns its 100 B and the 156 B it held: [0, 256) is one free range. */
    assert_int_equal(sedx_virtual_free(b, a), SEDX_SUCCESS);
    sedx_virtual_block_get_stats(b, &st);
    assert_int_equal(st.free_range_count, 3);
    assert_int_equal(sedx_virtual_allocate(b, 256, 1, NULL, &a, &oa), SEDX_SUCCESS);
    assert_int_equal(oa, 0);
    /* Freeing c merges its range [256, 356) with the 3740 B range above. */
    assert_int_equal(sedx_virtual_free(b, c), SEDX_SUCCESS);
    sedx_virtual_block_get_stats(b, &st);
    assert_int_equal(st.free_range_count, 2);
    assert_int_equal(sedx_virtual_allocate(b, 4096 - 256, 1, NULL, &c, &oc), SEDX_SUCCESS);
    assert_int_equal(oc, 256);
    assert_int_equal(sedx_virtual_block_validate(b), SEDX_SUCCESS);
    sedx_virtual_block_destroy(b);
}

/* ---- linear (ring) edge cases -------------------------------------------------------------- */
static void test_linear_ring(void **state)
{
    (void)state;
    sedx_virtual_block *b = make_block(1000, SEDX_VIRTUAL_BLOCK_LINEAR);
    sedx_virtual_alloc a, c, d, e, f;
    uint64_t oa, oc, od, oe, of;
    /* reuse: alone, it restarts at 0 */
    assert_int_equal(sedx_virtual_allocate(b, 300, 1, NULL, &a, &oa), SEDX_SUCCESS);
    assert_int_equal(oa, 0);
    assert_int_equal(sedx_virtual_free(b, a), SEDX_SUCCESS);
    assert_int_equal(sedx_virtual_allocate(b, 300, 1, NULL, &a, &oa), SEDX_SUCCESS);
    assert_int_equal(oa, 0);
    assert_int_equal(sedx_virtual_allocate(b, 300, 64, NULL, &c, &oc), SEDX_SUCCESS);
    assert_int_equal(oc, 320); /* after a, aligned */
    assert_int_equal(sedx_virtual_allocate(b, 300, 1, NULL, &d, &od), SEDX_SUCCESS);
    assert_int_equal(od, 620);
    /* full: 80 B left at the end, nothing before a */
    assert_int_equal(sedx_virtual_allocate(b, 100, 1, NULL, &e, &oe), SEDX_ERROR_OUT_OF_SPACE);
    sedx_virtual_block_stats st;
    sedx_virtual_block_get_stats(b, &st);
    assert_int_equal(st.free_range_count, 1);
    assert_int_equal(st.largest_free_range, 80);
    assert_int_equal(st.free_bytes, 100);

    /* FIFO reclamation: freeing c (not the oldest) reclaims nothing yet */
    assert_int_equal(sedx_virtual_free(b, c), SEDX_SUCCESS);
    assert_int_equal(sedx_virtual_allocate(b, 100, 1, NULL, &e, &oe), SEDX_ERROR_OUT_OF_SPACE);
    sedx_virtual_block_get_stats(b, &st);
    assert_int_equal(st.free_bytes, 400);
    assert_int_equal(st.largest_free_range, 80);
    /* freeing the oldest reclaims everything up to d: wrap-around to 0 */
    assert_int_equal(sedx_virtual_free(b, a), SEDX_SUCCESS);
    sedx_virtual_block_get_stats(b, &st);
    assert_int_equal(st.free_range_count, 2);
    assert_int_equal(st.largest_free_range, 620);
    assert_int_equal(sedx_virtual_allocate(b, 80, 1, NULL, &e, &oe), SEDX_SUCCESS);
    assert_int_equal(oe, 920); /* the end first: exactly fits */
    assert_int_equal(sedx_virtual_allocate(b, 500, 16, NULL, &f, &of), SEDX_SUCCESS);
    assert_int_equal(of, 0); /* wrapped */
    assert_int_equal(sedx_virtual_block_validate(b), SEDX_SUCCESS);
    /* wrapped: only [500, 620) is free */
    sedx_virtual_alloc g;
    uint64_t og;
    assert_int_equal(sedx_virtual_allocate(b, 121, 1, NULL, &g, &og), SEDX_ERROR_OUT_OF_SPACE);
    assert_int_equal(sedx_virtual_allocate(b, 120, 1, NULL, &g, &og), SEDX_SUCCESS);
    assert_int_equal(og, 500);
    sedx_virtual_block_get_stats(b, &st);
    assert_int_equal(st.free_range_count, 0);
    assert_int_equal(st.allocation_count, 4);

    /* foreach in offset order despite the wrap: f(0) g(500) d(620) e(920) */
    model_alloc sorted[4] = {{f, 0, 500, 0, 0}, {g, 500, 120, 0, 0}, {d, 620, 300, 0, 0}, {e, 920, 80, 0, 0}};
    check_foreach(b, sorted, 4);

    /* freeing the newest gives its space back at once (the tail moves back) */
    assert_int_equal(sedx_virtual_free(b, g), SEDX_SUCCESS);
    assert_int_equal(sedx_virtual_allocate(b, 120, 1, NULL, &g, &og), SEDX_SUCCESS);
    assert_int_equal(og, 500);
    /* double free and foreign handles */
    assert_int_equal(sedx_virtual_free(b, a), SEDX_ERROR_INVALID_HANDLE);
    assert_int_equal(sedx_virtual_free(b, 12345), SEDX_ERROR_INVALID_HANDLE);
    assert_int_equal(sedx_virtual_block_validate(b), SEDX_SUCCESS);

    /* clear, then reuse from 0 */
    sedx_virtual_block_clear(b);
    assert_true(sedx_virtual_block_is_empty(b));
    assert_int_equal(sedx_virtual_free(b, d), SEDX_ERROR_INVALID_HANDLE);
    assert_int_equal(sedx_virtual_allocate(b, 1000, 1, NULL, &a, &oa), SEDX_SUCCESS); /* exactly full */
    assert_int_equal(oa, 0);
    assert_int_equal(sedx_virtual_allocate(b, 1, 1, NULL, &c, &oc), SEDX_ERROR_OUT_OF_SPACE);
    assert_int_equal(sedx_virtual_allocate(b, 0, 1, NULL, &c, &oc), SEDX_ERROR_INVALID_SIZE);
    assert_int_equal(sedx_virtual_allocate(b, 1, 3, NULL, &c, &oc), SEDX_ERROR_INVALID_ALIGNMENT);
    assert_int_equal(sedx_virtual_block_validate(b), SEDX_SUCCESS);
    sedx_virtual_block_destroy(b);
}

/* ---- host-allocation failures -------------------------------------------------------------- */
typedef struct failing_alloc {
    int64_t calls;   /* alloc and realloc calls so far */
    int64_t fail_at; /* the call that fails (0-based); -1 never */
    int64_t failed;
} failing_alloc;

static void *fa_alloc(size_t size, void *user)
{
    failing_alloc *f = user;
    if (f->calls++ == f->fail_at) {
        f->failed++;
        return NULL;
    }
    return malloc(size);
}
static void *fa_realloc(void *p, size_t size, void *user)
{
    failing_alloc *f = user;
    if (f->calls++ == f->fail_at) {
        f->failed++;
        return NULL;
    }
    return realloc(p, size);
}
static void fa_free(void *p, void *user)
{
    (void)user;
    free(p);
}

/* Create a block and grow its node pool well past the first chunk-table reallocation,
 * with host allocation number `fail_at` failing. Returns true if that failure happened. */
static bool oom_round(int64_t fail_at, uint32_t flags)
{
    failing_alloc fa = {0, fail_at, 0};
    sedx_host_allocator ha = {fa_alloc, fa_realloc, fa_free, &fa};
    int64_t live_before = sedx_host_allocation_count();
    uint32_t errors_before = g_tlsf_errors;
    sedx_set_host_allocator(&ha);

    sedx_virtual_block *b = NULL;
    sedx_virtual_block_info info = {64 * MIB, flags};
    sedx_result r = sedx_virtual_block_create(&info, &b);
    if (r != SEDX_SUCCESS) {
        assert_int_equal(r, SEDX_ERROR_OUT_OF_HOST_MEMORY);
        assert_null(b);
    } else {
        enum { N = 5000 };
        static sedx_virtual_alloc h[N];
        uint32_t n = 0, oom = 0;
        for (uint32_t i = 0; i < N; ++i) {
            sedx_virtual_block_stats before, after;
            sedx_virtual_block_get_stats(b, &before);
            /* odd sizes with alignment 16: each allocation adds up to two nodes */
            r = sedx_virtual_allocate(b, 17 + i % 7, 16, NULL, &h[n], NULL);
            if (r == SEDX_SUCCESS) {
                n++;
            } else {
                assert_int_equal(r, SEDX_ERROR_OUT_OF_HOST_MEMORY);
                oom++;
                sedx_virtual_block_get_stats(b, &after);
                assert_true(stats_equal(&before, &after)); /* unchanged */
                assert_int_equal(sedx_virtual_block_validate(b), SEDX_SUCCESS);
            }
            if (i % 3 == 2 && n) { /* some frees too, so that spare nodes get reused */
                uint32_t k = n / 2;
                assert_int_equal(sedx_virtual_free(b, h[k]), SEDX_SUCCESS);
                h[k] = h[--n];
            }
        }
        assert_true(oom <= 1); /* only the one injected failure */
        assert_int_equal(sedx_virtual_block_validate(b), SEDX_SUCCESS);
        sedx_virtual_block_stats st;
        sedx_virtual_block_get_stats(b, &st);
        assert_int_equal(st.allocation_count, n);
        sedx_virtual_block_destroy(b);
    }
    sedx_set_host_allocator(NULL);
    assert_int_equal(sedx_host_allocation_count(), live_before); /* nothing leaked */
    if (fa.failed) assert_true(g_tlsf_errors > errors_before);   /* and it was logged */
    return fa.failed != 0;
}

static void test_out_of_host_memory(void **state)
{
    (void)state;
    for (uint32_t flags = 0; flags <= SEDX_VIRTUAL_BLOCK_LINEAR; flags += SEDX_VIRTUAL_BLOCK_LINEAR) {
        int64_t k = 0;
        while (oom_round(k, flags)) k++;
        /* create (3) + several chunks + at least one chunk-table growth were all exercised */
        assert_true(k >= 3 + 9);
    }
}

/* ---- Workload A's check values ------------------------------------------------------------- */
static void test_workload_check_values(void **state)
{
    (void)state;
    /* Independent copies of the values in docs/benchmarks.md. */
    static const uint64_t next5[5] = {UINT64_C(0x0d83b3e29a21487a), UINT64_C(0x54c44c79f1fe9d67),
                                      UINT64_C(0xa845f342007a0e78), UINT64_C(0x7d6e0b878a794779),
                                      UINT64_C(0x90d8d6e5a10dd485)};
    static const uint64_t sizes8[8] = {28, 629, 23446, 3664, 8498, 14960, 165613, 1404};
    wl_rng r;
    wl_seed(&r);
    for (int i = 0; i < 5; ++i) assert_int_equal(wl_next(&r), next5[i]);
    wl_seed(&r);
    for (int i = 0; i < 8; ++i) assert_int_equal(wl_draw_size(&r), sizes8[i]);
    wl_seed(&r);
    uint64_t sum = 0, mn = UINT64_MAX, mx = 0, fnv = UINT64_C(0xCBF29CE484222325);
    for (int i = 0; i < 1000000; ++i) {
        uint64_t v = wl_draw_size(&r);
        sum += v;
        mn = v < mn ? v : mn;
        mx = v > mx ? v : mx;
        for (int k = 0; k < 8; ++k) fnv = (fnv ^ ((v >> (8 * k)) & 0xFF)) * UINT64_C(0x100000001B3);
    }
    assert_int_equal(sum, UINT64_C(94696716056));
    assert_int_equal(mn, 16);
    assert_int_equal(mx, 1048567);
    assert_int_equal(fnv, UINT64_C(0xa3f4635abf14b072));
    assert_int_equal(wl_verify_check_values(NULL, NULL), 0);

    /* Ops 0..9,999 of Workload A against a real 1 GiB block: no failure, the published trace. */
    sedx_virtual_block *b = make_block(WL_A_BLOCK_SIZE, 0);
    static sedx_virtual_alloc live[WL_A_TRACE_OPS];
    uint32_t n = 0;
    wl_trace t;
    wl_trace_init(&t);
    wl_seed(&r);
    for (uint32_t i = 0; i < WL_A_TRACE_OPS; ++i) {
        uint64_t x = wl_next(&r);
        if (n == 0 || x % 100u < WL_A_ALLOC_PERCENT) {
            uint64_t size = wl_draw_size(&r);
            wl_trace_alloc(&t, size);
            uint64_t off;
            assert_int_equal(sedx_virtual_allocate(b, size, WL_A_ALIGNMENT, NULL, &live[n], &off), SEDX_SUCCESS);
            assert_int_equal(off % WL_A_ALIGNMENT, 0);
            n++;
        } else {
            uint64_t idx = wl_next(&r) % n;
            wl_trace_free(&t, idx);
            assert_int_equal(sedx_virtual_free(b, live[idx]), SEDX_SUCCESS);
            live[idx] = live[--n];
        }
    }
    assert_int_equal(t.fnv, UINT64_C(0xeec6876861088379));
    assert_int_equal(t.size_sum, 549619877);
    assert_int_equal(sedx_virtual_block_validate(b), SEDX_SUCCESS);
    sedx_virtual_block_stats st;
    sedx_virtual_block_get_stats(b, &st);
    assert_int_equal(st.allocation_count, n);
    sedx_virtual_block_destroy(b);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test_setup_teardown(test_workload_check_values, setup_quiet, teardown_quiet),
        cmocka_unit_test_setup_teardown(test_arguments, setup_quiet, teardown_quiet),
        cmocka_unit_test_setup_teardown(test_sizes_and_alignments, setup_quiet, teardown_quiet),
        cmocka_unit_test_setup_teardown(test_exactly_full, setup_quiet, teardown_quiet),
        cmocka_unit_test_setup_teardown(test_handles, setup_quiet, teardown_quiet),
        cmocka_unit_test_setup_teardown(test_out_of_space_not_logged_as_error, setup_quiet, teardown_quiet),
        cmocka_unit_test_setup_teardown(test_coalesce_and_clear, setup_quiet, teardown_quiet),
        cmocka_unit_test_setup_teardown(test_no_walk_alignment, setup_quiet, teardown_quiet),
        cmocka_unit_test_setup_teardown(test_near_fit_heads, setup_quiet, teardown_quiet),
        cmocka_unit_test_setup_teardown(test_padding_slack, setup_quiet, teardown_quiet),
        cmocka_unit_test_setup_teardown(test_linear_ring, setup_quiet, teardown_quiet),
        cmocka_unit_test_setup_teardown(test_out_of_host_memory, setup_quiet, teardown_quiet),
        cmocka_unit_test_setup_teardown(test_random_tlsf, setup_quiet, teardown_quiet),
        cmocka_unit_test_setup_teardown(test_random_linear, setup_quiet, teardown_quiet),
        cmocka_unit_test_setup_teardown(test_free_streaks, setup_quiet, teardown_quiet),
        cmocka_unit_test_setup_teardown(test_huge_requests, setup_quiet, teardown_quiet),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
