/*
 * sedx-bench alloc: Workload A of docs/benchmarks.md on a sedx virtual block (as defined, 60 %
 * allocate, and the 50 % variant), then Workload B (bench_alloc_b.c).
 *   sedx-bench alloc [--workload A|A50|B|all] [--runs N] [--json] [--out FILE]
 * The check values are computed and compared first; nothing is reported if one differs.
 */
#include "workloads.h"

#include <inttypes.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <unistd.h>


/* VMA 3.4.0-development (TLSF, -O2) on a 2-core machine, from docs/benchmarks.md. */
typedef struct vma_reference {
    double ops_per_s;
    uint32_t peak_live;
    double fragmentation;
} vma_reference;

typedef struct a_variant {
    const char *name;
    uint32_t alloc_percent;
    vma_reference vma;
} a_variant;

static const a_variant k_variants[] = {
    {"A", WL_A_ALLOC_PERCENT, {8531.0, 95749, 0.9976}},
    {"A50", WL_A50_ALLOC_PERCENT, {14.9e6, 1447, 0.19}},
};

/* Counters of one run; identical in every run (the workload and the allocator are
 * deterministic), only the time differs. */
typedef struct a_counts {
    uint32_t peak_live, attempts, failed, frees, final_live;
    int64_t first_failed_op; /* -1: none */
    sedx_virtual_block_stats stats;
    double fragmentation;
    wl_trace trace; /* ops 0 .. WL_A_TRACE_OPS-1 as they ran against the allocator */
} a_counts;

typedef struct a_state {
    sedx_virtual_block *block;
    sedx_virtual_alloc *live;
    uint32_t n_live;
    uint32_t alloc_percent;
    wl_rng rng;
    a_counts c;
} a_state;

/* One operation of Workload A, in the exact order of PRNG draws. trace is NULL after the
 * traced prefix (constant-folded away once inlined). Returns 0, or -1 on an unexpected error. */
static inline __attribute__((always_inline)) int a_op(a_state *s, uint32_t i, wl_trace *trace)
{
    uint64_t r = wl_next(&s->rng); /* always drawn */
    if (s->n_live == 0 || r % 100u < s->alloc_percent) {
        uint64_t size = wl_draw_size(&s->rng);
        if (trace) wl_trace_alloc(trace, size);
        s->c.attempts++;
        sedx_virtual_alloc h;
        sedx_result res = sedx_virtual_allocate(s->block, size, WL_A_ALIGNMENT, NULL, &h, NULL);
        if (res == SEDX_SUCCESS) {
            s->live[s->n_live++] = h;
            if (s->n_live > s->c.peak_live) s->c.peak_live = s->n_live;
        } else if (res == SEDX_ERROR_OUT_OF_SPACE) {
            if (s->c.failed++ == 0) s->c.first_failed_op = i;
        } else {
            fprintf(stderr, "op %" PRIu32 ": allocate(%" PRIu64 ") failed: %s\n", i, size, sedx_result_name(res));
            return -1;
        }
    } else {
        uint64_t idx = wl_next(&s->rng) % s->n_live;
        if (trace) wl_trace_free(trace, idx);
        sedx_result res = sedx_virtual_free(s->block, s->live[idx]);
        if (res != SEDX_SUCCESS) {
            fprintf(stderr, "op %" PRIu32 ": free failed: %s\n", i, sedx_result_name(res));
            return -1;
        }
        s->live[idx] = s->live[--s->n_live]; /* swap-remove */
        s->c.frees++;
    }
    return 0;
}

/* One timed run: block creation, final statistics and teardown are outside the clock. */
static int run_a(uint32_t alloc_percent, sedx_virtual_alloc *live, a_counts *out, double *out_seconds)
{
    sedx_virtual_block_info info = {WL_A_BLOCK_SIZE, 0};
    a_state s = {0};
    s.live = live;
    s.alloc_percent = alloc_percent;
    s.c.first_failed_op = -1;
    wl_trace_init(&s.c.trace);
    sedx_result res = sedx_virtual_block_create(&info, &s.block);
    if (res != SEDX_SUCCESS) {
        fprintf(stderr, "sedx_virtual_block_create: %s\n", sedx_result_name(res));
        return -1;
    }
    wl_seed(&s.rng);
    int err = 0;
    uint32_t i = 0;
    uint64_t t0 = sedx_time_ns();
    for (; i < WL_A_TRACE_OPS && i < WL_A_OPS && !err; ++i) err = a_op(&s, i, &s.c.trace);
    for (; i < WL_A_OPS && !err; ++i) err = a_op(&s, i, NULL);
    uint64_t t1 = sedx_time_ns();

    if (!err && (res = sedx_virtual_block_validate(s.block)) != SEDX_SUCCESS) {
        fprintf(stderr, "sedx_virtual_block_validate after the run: %s\n", sedx_result_name(res));
        err = -1;
    }
    s.c.final_live = s.n_live;
    sedx_virtual_block_get_stats(s.block, &s.c.stats);
    s.c.fragmentation = s.c.stats.free_bytes
                            ? 1.0 - (double)s.c.stats.largest_free_range / (double)s.c.stats.free_bytes
                            : 0.0;
    if (!err && (s.c.stats.allocation_count != s.n_live)) {
        fprintf(stderr, "statistics: %" PRIu32 " allocations, the workload holds %" PRIu32 "\n",
                s.c.stats.allocation_count, s.n_live);
        err = -1;
    }
    sedx_virtual_block_destroy(s.block);
    *out = s.c;
    *out_seconds = (double)(t1 - t0) * 1e-9;
    return err;
}

static cJSON *json_u64(uint64_t v) { return cJSON_CreateNumber((double)v); }

/* "  what   ours   vma   (xratio)" with `decimals` digits after the point. */
static void print_ref(FILE *f, const char *what, double ours, double vma, int decimals)
{
    fprintf(f, "  %-28s %14.*f %14.*f", what, decimals, ours, decimals, vma);
    if (vma > 0) fprintf(f, "   (x%.2f)", ours / vma);
    fputc('\n', f);
}

/* Runs one variant `runs` times; reports it on `log` and into `workloads` (may be NULL). */
static int bench_variant(const a_variant *v, int runs, sedx_virtual_alloc *live, FILE *log, cJSON *workloads)
{
    double *ops = calloc((size_t)runs, sizeof *ops);
    double *sorted = calloc((size_t)runs, sizeof *sorted);
    if (!ops || !sorted) {
        free(ops);
        free(sorted);
        fprintf(stderr, "out of memory\n");
        return 1;
    }
    a_counts first = {0};
    int rc = 0;
    fprintf(log, "\nWorkload %s: %u ops, %u %% allocate, 1 GiB block, alignment %u, %d runs\n", v->name, WL_A_OPS,
            v->alloc_percent, WL_A_ALIGNMENT, runs);
    for (int k = 0; k < runs && rc == 0; ++k) {
        a_counts c;
        double sec;
        if (run_a(v->alloc_percent, live, &c, &sec) != 0) {
            rc = 1;
            break;
        }
        ops[k] = sec > 0 ? (double)WL_A_OPS / sec : 0.0;
        fprintf(log, "  run %d: %12.0f ops/s  (%.3f s, %.1f ns/op)\n", k + 1, ops[k], sec, sec * 1e9 / WL_A_OPS);
        if (k == 0) {
            first = c;
        } else if (memcmp(&c.trace, &first.trace, sizeof c.trace) != 0 || c.peak_live != first.peak_live ||
                   c.failed != first.failed || c.final_live != first.final_live ||
                   c.stats.largest_free_range != first.stats.largest_free_range) {
            fprintf(stderr, "run %d differs from run 1: the workload or the allocator is not deterministic\n", k + 1);
            rc = 1;
        }
    }
    /* As defined (60 %), ops 0..9,999 have no failure and must replay the published trace. */
    bool trace_checked = v->alloc_percent == WL_A_ALLOC_PERCENT;
    bool trace_ok = !trace_checked ||
                    (first.trace.fnv == WL_A_TRACE_FNV && first.trace.size_sum == WL_A_TRACE_SIZE_SUM &&
                     (first.first_failed_op < 0 || first.first_failed_op >= (int64_t)WL_A_TRACE_OPS));
    if (rc == 0 && !trace_ok) {
        fprintf(stderr,
                "Workload %s: the run's trace of ops 0..9999 is 0x%016" PRIx64 " / %" PRIu64
                " (first failure at op %" PRId64 "), expected 0x%016" PRIx64 " / %" PRIu64 ": not reporting\n",
                v->name, first.trace.fnv, first.trace.size_sum, first.first_failed_op, WL_A_TRACE_FNV,
                WL_A_TRACE_SIZE_SUM);
        rc = 1;
    }
    if (rc != 0) {
        free(ops);
        free(sorted);
        return rc;
    }
    memcpy(sorted, ops, (size_t)runs * sizeof *ops);
    double median = bench_median(sorted, runs);

    fprintf(log, "  %-28s %14s %14s\n", "", "sedx", "VMA (ref.)");
    print_ref(log, "median ops/s", median, v->vma.ops_per_s, 0);
    print_ref(log, "peak live allocations", first.peak_live, v->vma.peak_live, 0);
    print_ref(log, "end fragmentation", first.fragmentation, v->vma.fragmentation, 4);
    fprintf(log, "  attempts %" PRIu32 ", failed %" PRIu32 ", frees %" PRIu32 ", first failed op %" PRId64
                 ", final live %" PRIu32 "\n",
            first.attempts, first.failed, first.frees, first.first_failed_op, first.final_live);
    fprintf(log, "  end state: %" PRIu64 " B free in %" PRIu32 " ranges, largest %" PRIu64 " B\n",
            first.stats.free_bytes, first.stats.free_range_count, first.stats.largest_free_range);
    if (trace_checked)
        fprintf(log, "  trace of ops 0..9999 against the allocator: 0x%016" PRIx64 ", size sum %" PRIu64 ": ok\n",
                first.trace.fnv, first.trace.size_sum);

    if (workloads) {
        cJSON *o = cJSON_AddObjectToObject(workloads, v->name);
        cJSON_AddNumberToObject(o, "alloc_percent", v->alloc_percent);
        cJSON_AddItemToObject(o, "ops", json_u64(WL_A_OPS));
        cJSON_AddItemToObject(o, "block_size", json_u64(WL_A_BLOCK_SIZE));
        cJSON_AddNumberToObject(o, "alignment", WL_A_ALIGNMENT);
        cJSON_AddNumberToObject(o, "median_ops_per_s", median);
        cJSON_AddItemToObject(o, "runs_ops_per_s", cJSON_CreateDoubleArray(ops, runs));
        cJSON_AddNumberToObject(o, "peak_live", first.peak_live);
        cJSON_AddNumberToObject(o, "attempts", first.attempts);
        cJSON_AddNumberToObject(o, "failed", first.failed);
        cJSON_AddNumberToObject(o, "frees", first.frees);
        if (first.first_failed_op >= 0) cJSON_AddNumberToObject(o, "first_failed_op", (double)first.first_failed_op);
        else cJSON_AddNullToObject(o, "first_failed_op");
        cJSON_AddNumberToObject(o, "final_live", first.final_live);
        cJSON_AddNumberToObject(o, "end_fragmentation", first.fragmentation);
        cJSON_AddItemToObject(o, "free_bytes", json_u64(first.stats.free_bytes));
        cJSON_AddItemToObject(o, "largest_free_range", json_u64(first.stats.largest_free_range));
        cJSON_AddNumberToObject(o, "free_ranges", first.stats.free_range_count);
        if (trace_checked) cJSON_AddBoolToObject(o, "trace_ok", trace_ok);
        cJSON *vma = cJSON_AddObjectToObject(o, "vma_reference");
        cJSON_AddNumberToObject(vma, "median_ops_per_s", v->vma.ops_per_s);
        cJSON_AddNumberToObject(vma, "peak_live", v->vma.peak_live);
        cJSON_AddNumberToObject(vma, "end_fragmentation", v->vma.fragmentation);
        cJSON_AddNumberToObject(o, "ops_ratio_vs_vma", median / v->vma.ops_per_s);
    }
    free(ops);
    free(sorted);
    return 0;
}

int bench_alloc(const bench_args *args)
{
    const char *which = bench_flag_value(args, "--workload");
    if (!which) which = "all";
    bool all = strcasecmp(which, "all") == 0;
    bool want[2] = {all || strcasecmp(which, "A") == 0, all || strcasecmp(which, "A50") == 0};
    bool want_b = all || strcasecmp(which, "B") == 0;
    if (!want[0] && !want[1] && !want_b) {
        fprintf(stderr, "sedx-bench alloc: --workload must be A, A50, B or all (got '%s')\n", which);
        return 2;
    }
    FILE *log = args->json ? stderr : stdout;
    int runs = args->runs > 0 ? args->runs : 5;

    cJSON *root = cJSON_CreateObject();
    if (!root) return 1;
    cJSON_AddStringToObject(root, "benchmark", "alloc");
    char lib[32];
    snprintf(lib, sizeof lib, "sedx %d.%d.%d", SEDX_VERSION_MAJOR, SEDX_VERSION_MINOR, SEDX_VERSION_PATCH);
    cJSON_AddStringToObject(root, "library", lib);
    char cpu[256];
    bench_add_machine(root, cpu, sizeof cpu);
    int bad = wl_verify_check_values(log, root);
    if (bad) {
        fprintf(stderr, "sedx-bench alloc: %d check value(s) differ from docs/benchmarks.md: not reporting\n", bad);
        cJSON_Delete(root);
        return 1;
    }
    cJSON *workloads = cJSON_AddObjectToObject(root, "workloads");
    int rc = 0;
    if (want[0] || want[1]) {
        sedx_virtual_alloc *live = malloc((size_t)WL_A_OPS * sizeof *live);
        if (!live) {
            fprintf(stderr, "out of memory\n");
            cJSON_Delete(root);
            return 1;
        }
        for (size_t k = 0; k < sizeof k_variants / sizeof k_variants[0] && rc == 0; ++k)
            if (want[k]) rc = bench_variant(&k_variants[k], runs, live, log, workloads);
        free(live);
    }
    int rc_b = 0;
    if (rc == 0 && want_b) {
        rc_b = bench_alloc_b(args, workloads);
    }
    /* Workload A's figures are reported even if Workload B could not run (its exit code is
     * passed on); nothing is reported if a check value or an A run failed. */
    if (rc == 0) rc = bench_emit_json(args, root);
    if (rc == 0) rc = rc_b;
    cJSON_Delete(root);
    return rc;
}
