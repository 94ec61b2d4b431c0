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
 * Options: --size MiB, --piece KiB (default: sedx_upload_reserve_limit), --runs R, --json, --out FILE.
 */
#include "bench.h"

#include <cjson/cJSON.h>
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

static sedx_result run_reserve(sedx_context *ctx, sedx_buffer *dst, uint64_t size, uint64_t piece)
{
    for (uint64_t off = 0; off < size; off += piece) {
        uint64_t n = size - off < piece ? size - off : piece;
        sedx_upload_reservation rv;
        sedx_result r = sedx_upload_reserve(ctx, dst, off, n, &rv);
        if (r != SEDX_SUCCESS) return r;
        produce(rv.data, n, off / 8);
        if ((r = sedx_upload_commit(ctx, &rv)) != SEDX_SUCCESS) return r;
    }
    return sedx_upload_flush(ctx);
}

static sedx_result run_upload(sedx_context *ctx, sedx_buffer *dst, uint64_t size, uint64_t piece, uint8_t *user)
{
    for (uint64_t off = 0; off < size; off += piece) /* the same producer, same pieces */
        produce(user + off, size - off < piece ? size - off : piece, off / 8);
    sedx_result r = sedx_upload(ctx, dst, 0, size, user);
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
    const char *pk = bench_flag_value(args, "--piece"); /* KiB; default: the reservation limit */
    if (pk && atoll(pk) > 0 && ((uint64_t)atoll(pk) << 10) < piece) piece = (uint64_t)atoll(pk) << 10;
    int R = args->runs, fails = 0;
    double *tr = calloc((size_t)R, sizeof *tr), *tu = calloc((size_t)R, sizeof *tu), *tp = calloc((size_t)R, sizeof *tp);
    /* one warm-up of each (ring creation, page faults), checked byte for byte */
    for (int which = 0; which < 2; ++which) {
        sedx_result r = which ? run_upload(ctx, &dst, size, piece, user) : run_reserve(ctx, &dst, size, piece);
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
        if (run_reserve(ctx, &dst, size, piece) != SEDX_SUCCESS) fails++;
        tr[i] = now_s() - t0;
        t0 = now_s();
        if (run_upload(ctx, &dst, size, piece, user) != SEDX_SUCCESS) fails++;
        tu[i] = now_s() - t0;
        t0 = now_s(); /* the producer alone, into the same user memory: what in-place production can save at most */
        for (uint64_t off = 0; off < size; off += piece) produce(user + off, size - off < piece ? size - off : piece, off / 8);
        tp[i] = now_s() - t0;
    }
    double mr = bench_median(tr, R), mu = bench_median(tu, R), mp = bench_median(tp, R);
    double gr = (double)size / mr / 1e9, gu = (double)size / mu / 1e9;
    sedx_transfer_stats st;
    sedx_transfer_get_stats(ctx, &st);
    fprintf(log, "  %-10s reserve+produce+commit %7.2f GB/s (%.2f ms)   produce+sedx_upload %7.2f GB/s (%.2f ms)   "
                 "%.2fx   [ring %llu MiB, pieces %llu KiB, %llu direct uploads; producer alone %.2f ms: "
                 "ceiling %.2fx]\n",
            name, gr, mr * 1e3, gu, mu * 1e3, mu / mr, (unsigned long long)(st.staging_size >> 20),
            (unsigned long long)(piece >> 10), (unsigned long long)st.direct_uploads, mp * 1e3, mu / mp);
    cJSON *o = cJSON_AddObjectToObject(root, name);
    cJSON_AddNumberToObject(o, "reserve_GBps", gr);
    cJSON_AddNumberToObject(o, "upload_GBps", gu);
    cJSON_AddNumberToObject(o, "reserve_ms", mr * 1e3);
    cJSON_AddNumberToObject(o, "upload_ms", mu * 1e3);
    cJSON_AddNumberToObject(o, "ratio", mu / mr);
    cJSON_AddNumberToObject(o, "staging_size", (double)st.staging_size);
    cJSON_AddNumberToObject(o, "piece_bytes", (double)piece);
    cJSON_AddNumberToObject(o, "produce_ms", mp * 1e3);
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
