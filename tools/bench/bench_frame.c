/*
 * sedx-bench frame: transient allocation (<sedx/frame.h>, docs/frames.md).
 *
 *   sedx-bench frame [--json] [--runs N] [--out FILE] [--count N] [--threads N] [--size BYTES]
 *
 * 1. Single thread: --count (default 65536) sedx_transient_alloc calls of --size bytes (default
 *    256, UNIFORM) in one frame, the frame's blocks large enough (64 MiB) that the timed loop
 *    adds no block after the untimed warm-up frames; ns per call, median of --runs runs (each
 *    run one frame). The same run times two baselines on the same count and alignment: a plain
 *    bump pointer (no atomics, the same struct written) and a bare atomic fetch-add bump.
 * 2. Contended: --threads threads (default 8) allocate --count / threads each in the same frame,
 *    released together by a barrier; ns per call is each thread's own time divided by its calls
 *    (median over threads and runs), and the wall time over all calls is reported too. Baseline:
 *    the same threads on one shared atomic fetch-add bump (a plain bump cannot be shared).
 * 3. Checked, untimed: one more frame with --threads threads records every allocation; none
 *    may overlap another or miss the alignment. The chunk tails of the last timed frame
 *    (sedx_frame_stats.last_frame_chunk_tail_bytes) are reported.
 * Targets (the issue's): single <= 10 ns, contended <= 30 ns, within 2x of the plain bump
 * pointer. Timings are reported, never asserted; the exit code is 0 when every call succeeded
 * and the allocations did not overlap.
 */
#include "bench.h"

#include <cjson/cJSON.h>

#include <pthread.h>
#include <stdatomic.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#define BF_TARGET_SINGLE_NS 10.0
#define BF_TARGET_CONTENDED_NS 30.0
#define BF_TARGET_RATIO 2.0
#define BF_MAX_THREADS 64

static inline void bf_clobber(void *p) { __asm__ volatile("" : : "r"(p) : "memory"); }

typedef struct bf_opts {
    uint64_t count, size;
    uint32_t threads;
    int runs;
} bf_opts;

/* ---- baselines: the same work without sedx -------------------------------------------------- */
typedef struct bf_bump {
    uint8_t *base;
    uint64_t head, size, granule;
    _Alignas(64) _Atomic uint64_t ahead;
} bf_bump;

__attribute__((noinline)) static int bump_plain(bf_bump *b, uint64_t size, sedx_transient *out)
{
    uint64_t a = (size + b->granule - 1) & ~(b->granule - 1);
    uint64_t off = b->head;
    if (off + a > b->size) return -1;
    b->head = off + a;
    out->buffer = VK_NULL_HANDLE;
    out->offset = off;
    out->size = size;
    out->data = b->base + off;
    out->address = 0;
    out->frame = 1;
    out->context_id = 0;
    out->reserved = 0;
    return 0;
}

__attribute__((noinline)) static int bump_atomic(bf_bump *b, uint64_t size, sedx_transient *out)
{
    uint64_t a = (size + b->granule - 1) & ~(b->granule - 1);
    uint64_t off = atomic_fetch_add_explicit(&b->ahead, a, memory_order_relaxed);
    if (off + a > b->size) return -1;
    out->buffer = VK_NULL_HANDLE;
    out->offset = off;
    out->size = size;
    out->data = b->base + off;
    out->address = 0;
    out->frame = 1;
    out->context_id = 0;
    out->reserved = 0;
    return 0;
}

/* ---- one timed loop ------------------------------------------------------------------------ */
enum { BF_SEDX = 0, BF_PLAIN = 1, BF_ATOMIC = 2, BF_KINDS = 3 };
static const char *const k_kind[BF_KINDS] = {"sedx_transient_alloc", "plain bump pointer", "atomic bump pointer"};

typedef struct bf_job {
    int kind;
    sedx_frame *frame;
    bf_bump *bump;
    uint64_t count, size;
    pthread_barrier_t *barrier;
    double ns_per_call;
    uint64_t t0, t1;
    int failed;
    uint64_t first_offset;
} bf_job;

static void *bf_run(void *p)
{
    bf_job *j = p;
    sedx_transient t;
    if (j->barrier) pthread_barrier_wait(j->barrier);
    uint64_t t0 = sedx_time_ns();
    for (uint64_t i = 0; i < j->count; ++i) {
        int bad;
        if (j->kind == BF_SEDX) bad = sedx_transient_alloc(j->frame, j->size, SEDX_BUFFER_USAGE_UNIFORM, &t) != SEDX_SUCCESS;
        else if (j->kind == BF_PLAIN) bad = bump_plain(j->bump, j->size, &t);
        else bad = bump_atomic(j->bump, j->size, &t);
        if (bad) {
            j->failed = 1;
            break;
        }
        bf_clobber(&t);
    }
    uint64_t t1 = sedx_time_ns();
    j->t0 = t0;
    j->t1 = t1;
    j->ns_per_call = (double)(t1 - t0) / (double)j->count;
    return NULL;
}

/* One run of kind with n threads: fills per-thread ns into ns[] and returns the wall ns per call. */
static double bf_once(sedx_context *ctx, int kind, uint32_t n, const bf_opts *o, bf_bump *bump, double *ns, int *bad)
{
    sedx_frame *frame = NULL;
    if (kind == BF_SEDX && sedx_frame_begin(ctx, &frame) != SEDX_SUCCESS) {
        *bad = 1;
        return 0;
    }
    bump->head = 0;
    atomic_store(&bump->ahead, 0);
    bf_job jobs[BF_MAX_THREADS];
    pthread_t th[BF_MAX_THREADS];
    pthread_barrier_t barrier;
    if (n > 1) pthread_barrier_init(&barrier, NULL, n);
    uint64_t per = o->count / n;
    for (uint32_t i = 0; i < n; ++i) {
        jobs[i] = (bf_job){kind, frame, bump, per, o->size, n > 1 ? &barrier : NULL, 0, 0, 0, 0, 0};
        if (n > 1) pthread_create(&th[i], NULL, bf_run, &jobs[i]);
    }
    if (n == 1) bf_run(&jobs[0]);
    uint64_t first = UINT64_MAX, last = 0;
    for (uint32_t i = 0; i < n; ++i) {
        if (n > 1) pthread_join(th[i], NULL);
        ns[i] = jobs[i].ns_per_call;
        if (jobs[i].failed) *bad = 1;
        first = jobs[i].t0 < first ? jobs[i].t0 : first;
        last = jobs[i].t1 > last ? jobs[i].t1 : last;
    }
    if (n > 1) pthread_barrier_destroy(&barrier);
    if (kind == BF_SEDX && sedx_frame_end(ctx, frame, (sedx_ticket){0}) != SEDX_SUCCESS) *bad = 1;
    return (double)(last - first) / (double)(per * n);
}

/* ---- the untimed check: no overlap, alignment ----------------------------------------------- */
typedef struct bf_rec {
    VkBuffer buffer;
    uint64_t offset, size;
} bf_rec;

typedef struct bf_vjob {
    sedx_frame *frame;
    uint64_t count, size;
    bf_rec *recs;
    pthread_barrier_t *barrier;
    int failed;
} bf_vjob;

static void *bf_verify_run(void *p)
{
    bf_vjob *j = p;
    pthread_barrier_wait(j->barrier);
    for (uint64_t i = 0; i < j->count; ++i) {
        sedx_transient t;
        if (sedx_transient_alloc(j->frame, j->size, SEDX_BUFFER_USAGE_UNIFORM, &t) != SEDX_SUCCESS) {
            j->failed = 1;
            return NULL;
        }
        j->recs[i] = (bf_rec){t.buffer, t.offset, t.size};
    }
    return NULL;
}

static int bf_cmp_rec(const void *a, const void *b)
{
    const bf_rec *x = a, *y = b;
    if (x->buffer != y->buffer) return (uintptr_t)x->buffer < (uintptr_t)y->buffer ? -1 : 1;
    return (x->offset > y->offset) - (x->offset < y->offset);
}

/* One frame of n threads recording their allocations: 0 when none overlaps or is misaligned. */
static int bf_verify(sedx_context *ctx, uint32_t n, const bf_opts *o, uint32_t alignment)
{
    sedx_frame *frame = NULL;
    if (sedx_frame_begin(ctx, &frame) != SEDX_SUCCESS) return 1;
    uint64_t per = o->count / n;
    bf_rec *recs = malloc(sizeof *recs * per * n);
    bf_vjob jobs[BF_MAX_THREADS];
    pthread_t th[BF_MAX_THREADS];
    pthread_barrier_t barrier;
    pthread_barrier_init(&barrier, NULL, n);
    int bad = !recs;
    for (uint32_t i = 0; i < n && !bad; ++i) {
        jobs[i] = (bf_vjob){frame, per, o->size, recs + i * per, &barrier, 0};
        pthread_create(&th[i], NULL, bf_verify_run, &jobs[i]);
    }
    for (uint32_t i = 0; i < n && !bad; ++i) {
        pthread_join(th[i], NULL);
        bad |= jobs[i].failed;
    }
    pthread_barrier_destroy(&barrier);
    if (sedx_frame_end(ctx, frame, (sedx_ticket){0}) != SEDX_SUCCESS) bad = 1;
    if (!bad) {
        qsort(recs, per * n, sizeof *recs, bf_cmp_rec);
        for (uint64_t i = 0; i < per * n && !bad; ++i) {
            if (recs[i].offset % alignment) bad = 1;
            if (i && recs[i].buffer == recs[i - 1].buffer && recs[i - 1].offset + recs[i - 1].size > recs[i].offset)
                bad = 1;
        }
        if (bad) fprintf(stderr, "sedx-bench frame: allocations overlap or are misaligned\n");
    }
    free(recs);
    return bad;
}

static void add_machine_and_device(sedx_context *ctx, cJSON *root, FILE *log)
{
    char cpu[256];
    bench_add_machine(root, cpu, sizeof cpu);
    fprintf(log, "cpu: %s (%ld online)\n", cpu, sysconf(_SC_NPROCESSORS_ONLN));
    const VkPhysicalDeviceProperties *p = sedx_context_properties(ctx);
    cJSON *d = cJSON_AddObjectToObject(root, "device");
    cJSON_AddStringToObject(d, "name", p->deviceName);
    cJSON_AddStringToObject(d, "type", sedx_device_type_name(p->deviceType));
    cJSON_AddBoolToObject(d, "validation", sedx_context_validation_enabled(ctx));
    fprintf(log, "device: %s (%s)%s\n", p->deviceName, sedx_device_type_name(p->deviceType),
            sedx_context_validation_enabled(ctx) ? ", VALIDATION ON (figures not meaningful)" : "");
}

static bool parse_u64(const bench_args *args, const char *flag, uint64_t *out)
{
    const char *v = bench_flag_value(args, flag);
    if (!v) return true;
    char *end = NULL;
    unsigned long long x = strtoull(v, &end, 10);
    if (!*v || *end || x == 0) {
        fprintf(stderr, "sedx-bench frame: %s needs a positive number (got '%s')\n", flag, v);
        return false;
    }
    *out = x;
    return true;
}

int bench_frame(const bench_args *args)
{
    bf_opts o = {65536, 256, 8, args->runs > 0 ? args->runs : 5};
    uint64_t threads = o.threads;
    if (!parse_u64(args, "--count", &o.count) || !parse_u64(args, "--size", &o.size) ||
        !parse_u64(args, "--threads", &threads))
        return 2;
    if (threads > BF_MAX_THREADS || o.size > (1u << 20) || o.count < threads) {
        fprintf(stderr, "sedx-bench frame: --threads <= %d, --size <= 1 MiB, --count >= --threads\n", BF_MAX_THREADS);
        return 2;
    }
    o.threads = (uint32_t)threads;
    FILE *log = args->json ? stderr : stdout;

    sedx_context_info info = {.flags = SEDX_CONTEXT_NO_ENV_VALIDATION};
    sedx_context *ctx = NULL;
    sedx_result r = sedx_context_create(&info, &ctx);
    if (r != SEDX_SUCCESS) {
        fprintf(stderr, "sedx-bench frame: sedx_context_create: %s\n", sedx_result_name(r));
        return 1;
    }
    sedx_frame_info fi = {.frames_in_flight = 2, .block_size = 64u << 20};
    if ((r = sedx_frames_configure(ctx, &fi)) != SEDX_SUCCESS) {
        sedx_context_destroy(ctx);
        return 1;
    }
    sedx_frame_stats st;
    cJSON *root = cJSON_CreateObject();
    char lib[32];
    snprintf(lib, sizeof lib, "sedx %d.%d.%d", SEDX_VERSION_MAJOR, SEDX_VERSION_MINOR, SEDX_VERSION_PATCH);
    cJSON_AddStringToObject(root, "benchmark", "frame");
    cJSON_AddStringToObject(root, "library", lib);
    fprintf(log, "sedx-bench frame (%s)\n", lib);
    add_machine_and_device(ctx, root, log);

    /* the baselines bump over memory of the same size, with sedx's alignment */
    bf_bump bump = {0};
    uint64_t span = o.count * ((o.size + 255u) & ~255ull) + 4096u;
    bump.base = malloc(span);
    bump.size = span;
    sedx_frame_get_stats(ctx, &st);
    bump.granule = st.alignment;
    int bad = 0;
    /* warm-up: one sedx frame per slot (creates the blocks) and one of each baseline */
    double scratch[BF_MAX_THREADS];
    for (int k = 0; k < BF_KINDS; ++k)
        for (uint32_t w = 0; w < 2; ++w) bf_once(ctx, k, 1, &o, &bump, scratch, &bad);
    sedx_frame_get_stats(ctx, &st);
    uint64_t blocks_before = st.blocks_created;

    cJSON *set = cJSON_AddObjectToObject(root, "settings");
    cJSON_AddNumberToObject(set, "count", (double)o.count);
    cJSON_AddNumberToObject(set, "size", (double)o.size);
    cJSON_AddNumberToObject(set, "threads", o.threads);
    cJSON_AddNumberToObject(set, "runs", o.runs);
    cJSON_AddNumberToObject(set, "alignment", st.alignment);
    cJSON_AddNumberToObject(set, "block_size", (double)st.block_size);
    cJSON_AddBoolToObject(set, "device_local", st.device_local);

    double *single[BF_KINDS], *multi[BF_KINDS], *wall[BF_KINDS];
    for (int k = 0; k < BF_KINDS; ++k) {
        single[k] = calloc((size_t)o.runs, sizeof(double));
        multi[k] = calloc((size_t)o.runs * o.threads, sizeof(double));
        wall[k] = calloc((size_t)o.runs, sizeof(double));
    }
    /* interleaved run by run */
    for (int run = 0; run < o.runs; ++run)
        for (int k = 0; k < BF_KINDS; ++k) {
            bf_once(ctx, k, 1, &o, &bump, &single[k][run], &bad);
            if (k == BF_PLAIN) continue; /* a plain bump pointer cannot be shared by threads */
            wall[k][run] = bf_once(ctx, k, o.threads, &o, &bump, &multi[k][run * o.threads], &bad);
        }
    sedx_frame_get_stats(ctx, &st);
    uint64_t tails = st.last_frame_chunk_tail_bytes, last_bytes = st.last_frame_bytes;
    if (bf_verify(ctx, o.threads, &o, st.alignment)) bad = 1;
    double med_single[BF_KINDS], med_multi[BF_KINDS], med_wall[BF_KINDS];
    for (int k = 0; k < BF_KINDS; ++k) {
        med_single[k] = bench_median(single[k], o.runs);
        med_multi[k] = k == BF_PLAIN ? 0 : bench_median(multi[k], o.runs * (int)o.threads);
        med_wall[k] = k == BF_PLAIN ? 0 : bench_median(wall[k], o.runs);
    }

    fprintf(log, "\nTransient allocation of %llu B (alignment %u, %s memory), %llu calls per run, median of %d runs\n",
            (unsigned long long)o.size, st.alignment, st.device_local ? "device-local host-visible" : "host",
            (unsigned long long)o.count, o.runs);
    char hdr[32];
    snprintf(hdr, sizeof hdr, "%u threads ns/thr", o.threads);
    fprintf(log, "  %-22s %12s %16s %16s\n", "", "1 thread ns", hdr, "wall ns/call");
    cJSON *res = cJSON_AddObjectToObject(root, "results");
    for (int k = 0; k < BF_KINDS; ++k) {
        if (k == BF_PLAIN)
            fprintf(log, "  %-22s %12.2f %16s %16s\n", k_kind[k], med_single[k], "-", "-");
        else
            fprintf(log, "  %-22s %12.2f %16.2f %16.2f\n", k_kind[k], med_single[k], med_multi[k], med_wall[k]);
        cJSON *e = cJSON_AddObjectToObject(res, k == BF_SEDX ? "sedx" : k == BF_PLAIN ? "plain_bump" : "atomic_bump");
        cJSON_AddNumberToObject(e, "single_ns", med_single[k]);
        if (k != BF_PLAIN) {
            cJSON_AddNumberToObject(e, "contended_ns_per_thread", med_multi[k]);
            cJSON_AddNumberToObject(e, "contended_wall_ns_per_call", med_wall[k]);
        }
    }
    double r_plain = med_single[BF_SEDX] / med_single[BF_PLAIN];
    double r_atomic = med_single[BF_SEDX] / med_single[BF_ATOMIC];
    double r_multi = med_multi[BF_SEDX] / med_multi[BF_ATOMIC];
    double r_multi_plain = med_multi[BF_SEDX] / med_single[BF_PLAIN];
    fprintf(log, "  target: single <= %.0f ns: %.2f ns (%s); %u threads <= %.0f ns: %.2f ns (%s)\n", BF_TARGET_SINGLE_NS,
            med_single[BF_SEDX], med_single[BF_SEDX] <= BF_TARGET_SINGLE_NS ? "met" : "NOT met", o.threads,
            BF_TARGET_CONTENDED_NS, med_multi[BF_SEDX], med_multi[BF_SEDX] <= BF_TARGET_CONTENDED_NS ? "met" : "NOT met");
    fprintf(log, "  against the bump pointers: %.2fx the plain one, %.2fx the atomic one (1 thread), %.2fx the atomic one "
                 "(%u threads); target within %.0fx\n",
            r_plain, r_atomic, r_multi, o.threads, BF_TARGET_RATIO);
    fprintf(log, "  %u threads against the plain bump pointer (1 thread): %.2fx\n", o.threads, r_multi_plain);
    fprintf(log, "  last timed frame (%u threads): %llu bytes taken, %llu of them unused chunk tails; %u threads x %llu "
                 "calls checked: %s\n",
            o.threads, (unsigned long long)last_bytes, (unsigned long long)tails, o.threads,
            (unsigned long long)(o.count / o.threads), bad ? "FAILED" : "no overlap, aligned");
    fprintf(log, "  blocks added during the timed runs: %llu (frames of %llu calls fit in the pooled blocks)\n",
            (unsigned long long)(st.blocks_created - blocks_before), (unsigned long long)o.count);
    cJSON_AddNumberToObject(res, "sedx_vs_plain", r_plain);
    cJSON_AddNumberToObject(res, "sedx_vs_atomic", r_atomic);
    cJSON_AddNumberToObject(res, "sedx_vs_atomic_contended", r_multi);
    cJSON_AddNumberToObject(res, "sedx_contended_vs_plain", r_multi_plain);
    cJSON_AddNumberToObject(res, "last_frame_bytes", (double)last_bytes);
    cJSON_AddNumberToObject(res, "last_frame_chunk_tail_bytes", (double)tails);
    cJSON_AddBoolToObject(res, "checked_no_overlap", !bad);
    cJSON_AddNumberToObject(res, "blocks_added_timed", (double)(st.blocks_created - blocks_before));
    if (bad) fprintf(stderr, "sedx-bench frame: a call failed\n");
    int rc = bench_emit_json(args, root) || bad;
    cJSON_Delete(root);
    for (int k = 0; k < BF_KINDS; ++k) {
        free(single[k]);
        free(multi[k]);
        free(wall[k]);
    }
    free(bump.base);
    sedx_context_destroy(ctx);
    return rc;
}
