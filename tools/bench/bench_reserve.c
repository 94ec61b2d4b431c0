/*
 * sedx-bench reserve: zero-copy staging (docs/reserve.md) against sedx_upload, in one run.
 *   reserve: N MiB (default 64) produced in place: pieces of sedx_upload_reserve_limit() bytes,
 *            each reserved, filled by the producer straight into the staging ring, committed;
 *            then sedx_upload_flush.
 *   upload:  the same producer writes the same bytes into a user buffer, then one sedx_upload
 *            of all of it and sedx_upload_flush.
 * The producer is a generator loop writing random words sequentially (a hash of the word index). Both into one
 * device-local buffer; runs alternate (reserve, upload, reserve, ...) and the medians are
 * compared, for the default transfer settings and for SEDX_TRANSFER_NO_DIRECT (the staged path
 * a discrete GPU takes for device-local memory), and that with SEDX_TRANSFER_CACHED_STAGING. The bytes are read back and checked once per mode.
 * Also timed: the producer alone into the user buffer; upload / producer is the most in-place
 * production can gain (the ceiling printed next to the ratio).
 * --threads T: T producer threads (each its own pieces; reservations are thread-safe), in both
 * paths and in the producer-alone timing.
 * Options: --size MiB, --piece KiB (default: sedx_upload_reserve_limit / T), --threads T (1..16),
 * --runs R, --json, --out FILE.
 */
#include "bench.h"

#include <cjson/cJSON.h>
#include <pthread.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

static double now_s(void) { return (double)sedx_time_ns() * 1e-9; }

/* The producer: n bytes (a multiple of 8) of random words, word i of the stream being a hash of
 * i (splitmix64's finaliser: no dependency between words, so the loop runs at the rate of the
 * stores, as a real producer that computes its output would want to). */
static void produce(uint8_t *dst, uint64_t n, uint64_t word)
{
    uint64_t *d = (uint64_t *)(void *)dst;
    for (uint64_t i = 0; i < n / 8; ++i) {
        uint64_t x = (word + i + 1) * 0x9E3779B97F4A7C15ull;
        x = (x ^ (x >> 30)) * 0xBF58476D1CE4E5B9ull;
        x = (x ^ (x >> 27)) * 0x94D049BB133111EBull;
        d[i] = x ^ (x >> 31);
    }
}

/* One producer thread's share of a run: pieces t, t + T, t + 2T, ... of `piece` bytes, produced
 * in place (user NULL: reserve, produce, commit) or into the user buffer. */
typedef struct share {
    sedx_context *ctx;
    sedx_buffer *dst;
    uint64_t size, piece;
    uint8_t *user;
    uint32_t t, threads;
    sedx_result r;
} share;

static void *produce_share(void *arg)
{
    share *w = arg;
    w->r = SEDX_SUCCESS;
    for (uint64_t off = (uint64_t)w->t * w->piece; off < w->size && w->r == SEDX_SUCCESS;
         off += (uint64_t)w->threads * w->piece) {
        uint64_t n = w->size - off < w->piece ? w->size - off : w->piece;
        if (w->user) {
            produce(w->user + off, n, off / 8);
            continue;
        }
        sedx_upload_reservation rv;
        if ((w->r = sedx_upload_reserve(w->ctx, w->dst, off, n, &rv)) != SEDX_SUCCESS) break;
        produce(rv.data, n, off / 8);
        w->r = sedx_upload_commit(w->ctx, &rv);
    }
    return NULL;
}

/* All pieces, over `threads` producer threads (the calling one among them). */
static sedx_result produce_all(sedx_context *ctx, sedx_buffer *dst, uint64_t size, uint64_t piece, uint8_t *user,
                               uint32_t threads)
{
    share w[16];
    pthread_t th[16];
    for (uint32_t t = 0; t < threads; ++t) w[t] = (share){ctx, dst, size, piece, user, t, threads, SEDX_SUCCESS};
    for (uint32_t t = 1; t < threads; ++t)
        if (pthread_create(&th[t], NULL, produce_share, &w[t]) != 0) return SEDX_ERROR_OUT_OF_HOST_MEMORY;
    produce_share(&w[0]);
    sedx_result r = w[0].r;
    for (uint32_t t = 1; t < threads; ++t) {
        pthread_join(th[t], NULL);
        if (r == SEDX_SUCCESS) r = w[t].r;
    }
    return r;
}

static sedx_result run_reserve(sedx_context *ctx, sedx_buffer *dst, uint64_t size, uint64_t piece, uint32_t threads)
{
    sedx_result r = produce_all(ctx, dst, size, piece, NULL, threads);
    return r == SEDX_SUCCESS ? sedx_upload_flush(ctx) : r;
}

static sedx_result run_upload(sedx_context *ctx, sedx_buffer *dst, uint64_t size, uint64_t piece, uint8_t *user,
                              uint32_t threads)
{
    sedx_result r = produce_all(ctx, dst, size, piece, user, threads); /* the same producers, same pieces */
    if (r == SEDX_SUCCESS) r = sedx_upload(ctx, dst, 0, size, user);
    return r == SEDX_SUCCESS ? sedx_upload_flush(ctx) : r;
}

/* One mode: its own context (the transfer flags are set before the first transfer). */
static int run_mode(const bench_args *args, FILE *log, cJSON *root, uint32_t flags, const char *name, uint64_t size,
                    uint8_t *user, uint8_t *back)
{
    sedx_context_info ci = {0};
    ci.flags = SEDX_CONTEXT_NO_ENV_VALIDATION;
    ci.app_name = "sedx-bench";
    sedx_transfer_info ti = {0};
    ti.flags = flags;
    ci.transfer = &ti;
    sedx_context *ctx;
    if (sedx_context_create(&ci, &ctx) != SEDX_SUCCESS) {
        fprintf(stderr, "sedx-bench reserve: no context\n");
        return 1;
    }
    sedx_buffer dst;
    if (sedx_buffer_create(ctx, size, SEDX_BUFFER_USAGE_STORAGE, SEDX_MEMORY_GPU, "bench reserve", &dst) != SEDX_SUCCESS) {
        fprintf(stderr, "sedx-bench reserve: no %llu-byte buffer\n", (unsigned long long)size);
        sedx_context_destroy(ctx);
        return 1;
    }
    uint64_t piece = sedx_upload_reserve_limit(ctx) & ~(uint64_t)7;
    const char *th = bench_flag_value(args, "--threads"); /* producer threads, 1..16 */
    uint32_t threads = th && atoi(th) > 1 ? (uint32_t)(atoi(th) > 16 ? 16 : atoi(th)) : 1u;
    if (threads > 1) piece = (piece / threads) & ~(uint64_t)7; /* every thread's reservation fits at once */
    const char *pk = bench_flag_value(args, "--piece"); /* KiB; default: the reservation limit / threads */
    if (pk && atoll(pk) > 0 && ((uint64_t)atoll(pk) << 10) < piece) piece = (uint64_t)atoll(pk) << 10;
    int R = args->runs, fails = 0;
    double *tr = calloc((size_t)R, sizeof *tr), *tu = calloc((size_t)R, sizeof *tu), *tp = calloc((size_t)R, sizeof *tp);
    /* one warm-up of each (ring creation, page faults), checked byte for byte */
    for (int which = 0; which < 2; ++which) {
        sedx_result r = which ? run_upload(ctx, &dst, size, piece, user, threads) : run_reserve(ctx, &dst, size, piece, threads);
        memset(back, 0, size);
        if (r == SEDX_SUCCESS) r = sedx_download(ctx, &dst, 0, size, back);
        for (uint64_t off = 0; r == SEDX_SUCCESS && off < size; off += piece) {
            uint64_t n = size - off < piece ? size - off : piece;
            produce(user + off, n, off / 8);
        }
        if (r != SEDX_SUCCESS || memcmp(back, user, size) != 0) {
            fprintf(stderr, "sedx-bench reserve: CHECK FAILED: %s %s (%s)\n", name, which ? "upload" : "reserve",
                    sedx_result_name(r));
            fails++;
        }
    }
    for (int i = 0; i < R && !fails; ++i) {
        double t0 = now_s();
        if (run_reserve(ctx, &dst, size, piece, threads) != SEDX_SUCCESS) fails++;
        tr[i] = now_s() - t0;
        t0 = now_s();
        if (run_upload(ctx, &dst, size, piece, user, threads) != SEDX_SUCCESS) fails++;
        tu[i] = now_s() - t0;
        t0 = now_s(); /* the producer alone, into the same user memory: what in-place production can save at most */
        if (produce_all(ctx, &dst, size, piece, user, threads) != SEDX_SUCCESS) fails++;
        tp[i] = now_s() - t0;
    }
    double mr = bench_median(tr, R), mu = bench_median(tu, R), mp = bench_median(tp, R);
    double gr = (double)size / mr / 1e9, gu = (double)size / mu / 1e9;
    sedx_transfer_stats st;
    sedx_transfer_get_stats(ctx, &st);
    fprintf(log, "  %-10s reserve+produce+commit %7.2f GB/s (%.2f ms)   produce+sedx_upload %7.2f GB/s (%.2f ms)   "
                 "%.2fx   [ring %llu MiB, pieces %llu KiB, %u producer thread(s), %llu direct uploads; producer "
                 "alone %.2f ms: ceiling %.2fx]\n",
            name, gr, mr * 1e3, gu, mu * 1e3, mu / mr, (unsigned long long)(st.staging_size >> 20),
            (unsigned long long)(piece >> 10), threads, (unsigned long long)st.direct_uploads, mp * 1e3, mu / mp);
    cJSON *o = cJSON_AddObjectToObject(root, name);
    cJSON_AddNumberToObject(o, "reserve_GBps", gr);
    cJSON_AddNumberToObject(o, "upload_GBps", gu);
    cJSON_AddNumberToObject(o, "reserve_ms", mr * 1e3);
    cJSON_AddNumberToObject(o, "upload_ms", mu * 1e3);
    cJSON_AddNumberToObject(o, "ratio", mu / mr);
    cJSON_AddNumberToObject(o, "staging_size", (double)st.staging_size);
    cJSON_AddNumberToObject(o, "piece_bytes", (double)piece);
    cJSON_AddNumberToObject(o, "produce_ms", mp * 1e3);
    cJSON_AddNumberToObject(o, "producer_threads", threads);
    cJSON_AddNumberToObject(o, "ceiling_ratio", mu / mp);
    free(tp);
    free(tr);
    free(tu);
    sedx_buffer_release(&dst);
    sedx_context_destroy(ctx);
    return fails;
}

int bench_reserve(const bench_args *args)
{
    const char *sz = bench_flag_value(args, "--size");
    uint64_t size = (uint64_t)(sz && atoll(sz) > 0 ? atoll(sz) : 64) << 20;
    FILE *log = args->json ? stderr : stdout;
    cJSON *root = cJSON_CreateObject();
    char cpu[256];
    bench_add_machine(root, cpu, sizeof cpu);
    fprintf(log, "cpu: %s (%ld online)\n", cpu, sysconf(_SC_NPROCESSORS_ONLN));
    {
        sedx_context_info ci = {0};
        ci.flags = SEDX_CONTEXT_NO_ENV_VALIDATION;
        sedx_context *ctx;
        if (sedx_context_create(&ci, &ctx) != SEDX_SUCCESS) {
            fprintf(stderr, "sedx-bench reserve: no context\n");
            cJSON_Delete(root);
            return 1;
        }
        const VkPhysicalDeviceProperties *p = sedx_context_properties(ctx);
        fprintf(log, "sedx-bench reserve on %s (driver 0x%x), %llu MiB produced in place vs produced + sedx_upload, "
                     "%d runs alternating (median)\n", p->deviceName, p->driverVersion,
                (unsigned long long)(size >> 20), args->runs);
        cJSON_AddStringToObject(root, "device", p->deviceName);
        cJSON_AddNumberToObject(root, "driver_version", p->driverVersion);
        sedx_context_destroy(ctx);
    }
    cJSON_AddNumberToObject(root, "size_bytes", (double)size);
    cJSON_AddNumberToObject(root, "runs", args->runs);
    uint8_t *user = malloc(size), *back = malloc(size);
    if (!user || !back) {
        fprintf(stderr, "sedx-bench reserve: out of host memory\n");
        return 1;
    }
    memset(user, 0, size);
    int fails = run_mode(args, log, root, 0, "default", size, user, back);
    fails += run_mode(args, log, root, SEDX_TRANSFER_NO_DIRECT, "no_direct", size, user, back);
    /* the same with the staging ring in HOST_CACHED memory (SEDX_TRANSFER_CACHED_STAGING) */
    fails += run_mode(args, log, root, SEDX_TRANSFER_NO_DIRECT | SEDX_TRANSFER_CACHED_STAGING, "no_direct_cached",
                      size, user, back);
    free(user);
    free(back);
    int rc = bench_emit_json(args, root);
    cJSON_Delete(root);
    return fails ? 1 : rc;
}
