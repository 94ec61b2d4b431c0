/*
 * The common parts of the baseline workloads (docs/benchmarks.md): the xorshift64*
 * PRNG, u01, draw_size, FNV-1a-64 and the check values that must match before any figure is
 * reported. Shared by Workload A (bench_alloc.c), Workload B (bench_alloc_b.c) and the unit
 * test tests/unit/virtual_block.c.
 */
#ifndef SEDX_BENCH_WORKLOADS_H
#define SEDX_BENCH_WORKLOADS_H

#include "bench.h"

#include <cjson/cJSON.h>
#include <math.h>
#include <stdint.h>
#include <stdio.h>

/* ---- PRNG: xorshift64* (S. Vigna); every run starts from WL_SEED ------------------------- */
#define WL_SEED UINT64_C(0x9E3779B97F4A7C15)

typedef struct wl_rng {
    uint64_t s;
} wl_rng;

static inline void wl_seed(wl_rng *r) { r->s = WL_SEED; }

static inline uint64_t wl_next(wl_rng *r)
{
    uint64_t x = r->s;
    x ^= x >> 12;
    x ^= x << 25;
    x ^= x >> 27;
    r->s = x;
    return x * UINT64_C(0x2545F4914F6CDD1D); /* output; the state stays x */
}

/* [0, 1) with 53 random bits. */
static inline double wl_u01(wl_rng *r) { return (double)(wl_next(r) >> 11) * (1.0 / 9007199254740992.0); }

/* Log-uniform on [16 B, 1 MiB): floor(16 * 2^(16 u)), clamped to [16, 1048576]. Inline, as a
 * benchmark loop written for one library would have it (bench/vma/side_by_side.cpp does). */
static inline uint64_t wl_draw_size(wl_rng *r)
{
    double u = wl_u01(r);
    uint64_t s = (uint64_t)(16.0 * exp2(16.0 * u)); /* truncation == floor */
    if (s < 16) s = 16;
    if (s > 1048576) s = 1048576;
    return s;
}

/* ---- FNV-1a-64, each value fed as 8 little-endian bytes -------------------------------- */
#define WL_FNV_OFFSET UINT64_C(0xCBF29CE484222325)
#define WL_FNV_PRIME UINT64_C(0x100000001B3)

static inline uint64_t wl_fnv_u64(uint64_t h, uint64_t v)
{
    for (int i = 0; i < 8; ++i) {
        h ^= (v >> (8 * i)) & 0xFFu;
        h *= WL_FNV_PRIME;
    }
    return h;
}

/* ---- Workload A ---------------------------------------------------------------------------- */
#define WL_A_BLOCK_SIZE UINT64_C(1073741824) /* 1 GiB */
#define WL_A_OPS 1000000u
#define WL_A_ALIGNMENT 256u
#define WL_A_ALLOC_PERCENT 60u
#define WL_A50_ALLOC_PERCENT 50u
#define WL_A_TRACE_OPS 10000u                            /* ops 0 .. 9,999: a fixed trace */
#define WL_A_TRACE_FNV UINT64_C(0xeec6876861088379)      /* words (0, size) / (1, idx) */
#define WL_A_TRACE_SIZE_SUM UINT64_C(549619877)

/* Hash state over the trace of Workload A: feed every op of the first WL_A_TRACE_OPS. */
typedef struct wl_trace {
    uint64_t fnv;
    uint64_t size_sum;
} wl_trace;

static inline void wl_trace_init(wl_trace *t)
{
    t->fnv = WL_FNV_OFFSET;
    t->size_sum = 0;
}
static inline void wl_trace_alloc(wl_trace *t, uint64_t size)
{
    t->fnv = wl_fnv_u64(wl_fnv_u64(t->fnv, 0), size);
    t->size_sum += size;
}
static inline void wl_trace_free(wl_trace *t, uint64_t idx) { t->fnv = wl_fnv_u64(wl_fnv_u64(t->fnv, 1), idx); }

/* The trace of Workload A's first `ops` operations when every allocation succeeds (no
 * allocator involved: only the live count matters). */
wl_trace wl_a_reference_trace(uint32_t ops, uint32_t alloc_percent);

/* ---- check values -------------------------------------------------------------------------- */
/* Computes every check value of docs/benchmarks.md (PRNG outputs, draw_size values, the
 * 1,000,000-draw sum/min/max/FNV, the Workload A trace), prints each with its expected value
 * to `log` (NULL: silent) and, when `json` is non-NULL, adds an array "checks" of
 * {name, expected, actual, ok} to it. Returns the number of mismatches (0 = all match). */
int wl_verify_check_values(FILE *log, cJSON *json);

/* ---- Workload B ---------------------------------------------------------------------------- */
/* Defined in bench_alloc_b.c (when built). Runs Workload B with args (runs, --json, ...),
 * prints its human-readable report and, when out_json is non-NULL, adds a member "B" with its
 * figures to that object. The check values have already been verified by the caller.
 * Returns a process exit code (0 = ran and every check passed). */
int bench_alloc_b(const bench_args *args, cJSON *out_json);

#endif /* SEDX_BENCH_WORKLOADS_H */
