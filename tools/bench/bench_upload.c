/*
 * sedx-bench upload: every sedx transfer figure against the limit of the same machine, measured
 * in the same run (docs/benchmarks.md has the keys, docs/transfer.md what each path is held to).
 *
 * Limits (no sedx transfer path in between; bench_limits.c):
 *   - host memcpy of --size MiB, pageable to pageable, on 1, 2, 4, 8 and 16 threads;
 *   - raw vkCmdCopyBuffer host -> device and device -> host between buffers made with plain
 *     vkCreateBuffer + vkAllocateMemory, on the main queue and on the transfer-only queue;
 *   - device -> device: vkCmdCopyBuffer, and a plain compute-shader copy
 *     (tools/bench/shaders/bench_copy.comp) at several workgroup counts, at --size and --large;
 *   - one thread memcpy of the scattered 4 KiB pieces.
 * sedx figures: pageable upload, copy from a sedx staging buffer, 4 KiB scatter (batched and one
 * call per region), device to device at --size and --large, readback.
 * Every measurement runs once per round, rounds alternate the order (forward, backward), after
 * one warm-up round; the median of the rounds is reported.
 */
#include "bench_limits.h"

#include <cjson/cJSON.h>
#include <stdarg.h>
#include <stdlib.h>
#include <string.h>

#define BMIN(a, b) ((a) < (b) ? (a) : (b))
#define BMAX(a, b) ((a) > (b) ? (a) : (b))
#define MAX_RUNS 64
#define MAX_GROUP_VARIANTS 4
#define PIECE 4096u

static const int memcpy_threads[] = {1, 2, 4, 8, 16};
enum { N_THREADS = sizeof memcpy_threads / sizeof memcpy_threads[0] };

typedef struct st {
    sedx_context *ctx;
    bool cpu_device;
    uint64_t size, large;       /* bytes */
    uint32_t count;             /* scattered uploads */
    uint32_t rep[2];            /* device copies back to back: at size, at large */
    uint8_t *user, *back, *tmp; /* pageable, size bytes each */
    sedx_buffer dev, dev2, staging, big1, big2;
    bench_raw_buffer h_up, h_down, d_raw; /* raw: host (upload), host (readback), device */
    uint32_t raw_type[3];                 /* their memory types and flags, kept for the report */
    VkMemoryPropertyFlags raw_flags[3];
    bench_compute_copy cc;
    uint32_t groups[2][MAX_GROUP_VARIANTS];
    int n_groups[2];
    /* the host and the copy engine at once (bench_overlap), per round (index round + 1, the
     * warm-up at 0): ov[0] host -> device, ov[1] device -> host; ov[.][.][0] the DMA's rate,
     * ov[.][.][1] memcpy's */
    int round, ov_threads;
    double ov[2][MAX_RUNS + 1][2];
    uint32_t *slots;
    sedx_upload_region *ups;
    VkBufferCopy *regions;
    int fails;
} st;

static double now_s(void) { return (double)sedx_time_ns() * 1e-9; }

static void fill(uint8_t *p, size_t n, uint64_t seed)
{
    uint64_t x = seed | 1;
    for (size_t i = 0; i + 8 <= n; i += 8) {
        x ^= x >> 12;
        x ^= x << 25;
        x ^= x >> 27;
        uint64_t v = x * 0x2545F4914F6CDD1Dull;
        memcpy(p + i, &v, 8);
    }
}

static int check(bool ok, const char *what)
{
    if (!ok) fprintf(stderr, "sedx-bench upload: CHECK FAILED: %s\n", what);
    return ok ? 0 : 1;
}

static double rate(uint64_t bytes, double seconds) { return seconds > 0 ? (double)bytes / seconds / 1e9 : -1; }

/* ------------------------------------------------------------------ the measurements (GB/s) */

static double m_memcpy(st *s, int threads) { return rate(s->size, bench_parallel_memcpy(s->tmp, s->user, s->size, threads)); }

static double m_raw_h2d(st *s, int queue)
{
    return rate(s->size, bench_raw_copy(s->ctx, (sedx_queue)queue, s->h_up.buffer, s->d_raw.buffer, s->size, 1, 0, NULL));
}

static double m_raw_d2h(st *s, int queue)
{
    return rate(s->size, bench_raw_copy(s->ctx, (sedx_queue)queue, s->d_raw.buffer, s->h_down.buffer, s->size, 1, 0, NULL));
}

static double m_upload(st *s, int unused)
{
    (void)unused;
    double t0 = now_s();
    sedx_result r = sedx_upload(s->ctx, &s->dev, 0, s->size, s->user);
    if (r == SEDX_SUCCESS) r = sedx_upload_flush(s->ctx);
    return r == SEDX_SUCCESS ? rate(s->size, now_s() - t0) : -1;
}

static double m_staging_copy(st *s, int unused)
{
    (void)unused;
    double t0 = now_s();
    sedx_result r = sedx_gpu_copy(s->ctx, &s->staging, 0, &s->dev2, 0, s->size, NULL);
    return r == SEDX_SUCCESS ? rate(s->size, now_s() - t0) : -1;
}

static double m_scatter_memcpy(st *s, int unused)
{
    (void)unused;
    double t0 = now_s();
    for (uint32_t k = 0; k < s->count; ++k)
        memcpy(s->tmp + (uint64_t)s->slots[k] * PIECE, s->user + (uint64_t)k * PIECE, PIECE);
    return rate((uint64_t)s->count * PIECE, now_s() - t0);
}

static double m_scatter_calls(st *s, int unused)
{
    (void)unused;
    sedx_result r = SEDX_SUCCESS;
    double t0 = now_s();
    for (uint32_t k = 0; k < s->count && r == SEDX_SUCCESS; ++k)
        r = sedx_upload(s->ctx, &s->dev, (uint64_t)s->slots[k] * PIECE, PIECE, s->user + (uint64_t)k * PIECE);
    if (r == SEDX_SUCCESS) r = sedx_upload_flush(s->ctx);
    return r == SEDX_SUCCESS ? rate((uint64_t)s->count * PIECE, now_s() - t0) : -1;
}

static double m_scatter_batch(st *s, int unused)
{
    (void)unused;
    double t0 = now_s();
    sedx_result r = sedx_upload_batch(s->ctx, s->ups, s->count);
    if (r == SEDX_SUCCESS) r = sedx_upload_flush(s->ctx);
    return r == SEDX_SUCCESS ? rate((uint64_t)s->count * PIECE, now_s() - t0) : -1;
}

/* Where a path's time goes: a few more runs of it with sedx's profile zones on (not timed
 * figures; each zone costs two clock reads), each zone's time summed and divided by the runs.
 * scatter_batch: the call = the check of every region + its groups; a group = its copy by the
 * pool, during which the caller adds the group to the batch (side) and, when the batch is full,
 * records it (submit); then the submission (send). upload_pageable: the call copies every chunk
 * into the ring and submits it (submit), waiting for ring room when the GPU is behind
 * (ring_wait). flush = the last submission + the wait for the GPU. */
typedef struct phase_profile {
    const char *key;
    double (*measure)(st *, int);
    const char *zones[6];
} phase_profile;

static void phase_report(st *s, FILE *log, cJSON *root, const phase_profile *pp)
{
    enum { RUNS = 5 };
    bool was = sedx_profile_enabled();
    sedx_profile_clear();
    sedx_profile_enable(true);
    double wall = 0;
    int ok = 0;
    for (int i = 0; i < RUNS; ++i) {
        double t0 = now_s();
        ok += pp->measure(s, 0) > 0;
        wall += now_s() - t0;
    }
    sedx_profile_enable(was);
    size_t n = sedx_profile_events(NULL, 0);
    sedx_profile_event *ev = calloc(n ? n : 1, sizeof *ev);
    n = sedx_profile_events(ev, n);
    double ms[6] = {0};
    uint32_t cnt[6] = {0};
    for (size_t i = 0; i < n; ++i)
        for (size_t z = 0; z < 6 && pp->zones[z]; ++z)
            if (ev[i].name && strcmp(ev[i].name, pp->zones[z]) == 0) { /* (past the capacity: unfilled) */
                ms[z] += (double)ev[i].duration_ns * 1e-6 / RUNS;
                cnt[z]++;
            }
    free(ev);
    sedx_profile_clear();
    cJSON *o = cJSON_AddObjectToObject(root, pp->key);
    cJSON_AddNumberToObject(o, "runs_ok", ok);
    cJSON_AddNumberToObject(o, "wall_ms", wall * 1e3 / RUNS);
    fprintf(log, "  %-16s wall %.3f ms:", pp->key, wall * 1e3 / RUNS);
    for (size_t z = 0; z < 6 && pp->zones[z]; ++z) {
        fprintf(log, "%s %s %.3f ms (x%.1f)", z ? "," : "", pp->zones[z] + 5, ms[z], (double)cnt[z] / RUNS);
        cJSON_AddNumberToObject(o, pp->zones[z] + 5, ms[z]);
    }
    fprintf(log, "\n");
}

static void phase_reports(st *s, FILE *log, cJSON *root)
{
    static const phase_profile pps[] = {
        {"profile_scatter_batch", m_scatter_batch,
         {"sedx_upload_batch_check", "sedx_upload_group", "sedx_upload_group_side", "sedx_upload_submit",
          "sedx_upload_send", "sedx_upload_flush"}},
        {"profile_upload_pageable", m_upload, {"sedx_upload", "sedx_upload_submit", "sedx_ring_wait", "sedx_upload_flush"}},
    };
    fprintf(log, "where the time goes (sedx profile zones, mean of 5 more runs each; not timed figures):\n");
    for (size_t i = 0; i < sizeof pps / sizeof pps[0]; ++i) phase_report(s, log, root, &pps[i]);
}

/* baseline: memcpy into a raw host-visible buffer, then one vkCmdCopyBuffer with `count` regions */
static double m_copy_regions(st *s, int unused)
{
    (void)unused;
    uint64_t bytes = (uint64_t)s->count * PIECE;
    double t0 = now_s();
    memcpy(s->h_up.mapped, s->user, bytes);
    double t = bench_raw_copy(s->ctx, SEDX_QUEUE_GRAPHICS, s->h_up.buffer, s->d_raw.buffer, 0, 1, s->count, s->regions);
    return t < 0 ? -1 : rate(bytes, now_s() - t0);
}

static void d2d_pair(st *s, int which, sedx_buffer **a, sedx_buffer **b, uint64_t *n)
{
    *a = which ? &s->big1 : &s->dev;
    *b = which ? &s->big2 : &s->dev2;
    *n = which ? s->large : s->size;
}

static double m_d2d_command(st *s, int which)
{
    sedx_buffer *a, *b;
    uint64_t n;
    d2d_pair(s, which, &a, &b, &n);
    uint32_t k = s->rep[which];
    return rate(n * k, bench_raw_copy(s->ctx, SEDX_QUEUE_GRAPHICS, sedx_buffer_vk(a), sedx_buffer_vk(b), n, k, 0, NULL));
}

static double m_d2d_compute(st *s, int arg)
{
    int which = arg / MAX_GROUP_VARIANTS, variant = arg % MAX_GROUP_VARIANTS;
    sedx_buffer *a, *b;
    uint64_t n;
    d2d_pair(s, which, &a, &b, &n);
    uint32_t k = s->rep[which];
    return rate(n * k, bench_compute_copy_run(s->ctx, &s->cc, sedx_buffer_address(a), sedx_buffer_address(b), n,
                                              s->groups[which][variant], k));
}

/* k device copies back to back: k sedx_gpu_copy calls (k submissions), or one sedx_gpu_copy_batch
 * of k regions (one submission); waited for */
static double d2d_sedx(st *s, int which, bool batch)
{
    sedx_buffer *a, *b;
    uint64_t n;
    d2d_pair(s, which, &a, &b, &n);
    uint32_t k = s->rep[which];
    sedx_copy_region regs[64];
    for (uint32_t i = 0; i < k; ++i) regs[i] = (sedx_copy_region){a, 0, b, 0, n};
    sedx_result r = SEDX_SUCCESS;
    sedx_ticket tk = {0};
    double t0 = now_s();
    if (batch) r = sedx_gpu_copy_batch(s->ctx, regs, k, &tk);
    for (uint32_t i = 0; !batch && i < k && r == SEDX_SUCCESS; ++i) r = sedx_gpu_copy(s->ctx, a, 0, b, 0, n, &tk);
    if (r == SEDX_SUCCESS) r = sedx_ticket_wait(s->ctx, tk, UINT64_MAX);
    return r == SEDX_SUCCESS ? rate(n * k, now_s() - t0) : -1;
}

static double m_d2d_sedx(st *s, int which) { return d2d_sedx(s, which, false); }
static double m_d2d_batch(st *s, int which) { return d2d_sedx(s, which, true); }

/* reference: the plain compute copy (sedx's workgroup count) with one submission per copy */
static double m_d2d_each(st *s, int which)
{
    sedx_buffer *a, *b;
    uint64_t n;
    d2d_pair(s, which, &a, &b, &n);
    uint32_t k = s->rep[which], groups = BMIN(bench_compute_copy_full_groups(&s->cc, n), 65535u);
    return rate(n * k, bench_compute_copy_run_each(s->ctx, &s->cc, sedx_buffer_address(a), sedx_buffer_address(b), n,
                                                   groups, k));
}

/* reference: a plain compute copy whose loads read host memory (the sedx staging buffer) and
 * whose stores go to device memory, as the scatter reads the ring on a discrete GPU */
static double m_h2d_compute(st *s, int unused)
{
    (void)unused;
    return rate(s->size, bench_compute_copy_run(s->ctx, &s->cc, sedx_buffer_address(&s->staging),
                                                sedx_buffer_address(&s->dev2), s->size,
                                                bench_compute_copy_full_groups(&s->cc, s->size), 1));
}

/* Limit of a pipelined host path: the copy engine and the host memcpy at once, each on its own
 * half of the raw host buffer (which 0: pageable -> host buffer while the DMA reads the other
 * half into device memory; 1: the DMA writes one half from device memory while host buffer ->
 * pageable copies out of the other). Returns the lower of the two rates. */
static double m_overlap(st *s, int which)
{
    uint64_t half = (s->size / 2) & ~(uint64_t)4095;
    sedx_queue q = sedx_context_has_transfer_queue(s->ctx) ? SEDX_QUEUE_TRANSFER : SEDX_QUEUE_GRAPHICS;
    uint32_t reps = s->cpu_device ? 1 : 4;
    double *out = s->ov[which][s->round + 1];
    int bad;
    if (which == 0) {
        VkBufferCopy c = {half, 0, half};
        bad = bench_overlap(s->ctx, q, s->h_up.buffer, s->d_raw.buffer, &c, reps, s->h_up.mapped, s->user, half,
                            s->ov_threads, &out[0], &out[1]);
    } else {
        VkBufferCopy c = {0, half, half};
        bad = bench_overlap(s->ctx, q, s->d_raw.buffer, s->h_down.buffer, &c, reps, s->back, s->h_down.mapped, half,
                            s->ov_threads, &out[0], &out[1]);
    }
    return bad ? -1 : BMIN(out[0], out[1]);
}

static double m_readback(st *s, int unused)
{
    (void)unused;
    double t0 = now_s();
    sedx_result r = sedx_download(s->ctx, &s->dev, 0, s->size, s->back);
    return r == SEDX_SUCCESS ? rate(s->size, now_s() - t0) : -1;
}

/* ------------------------------------------------------------------ rounds */

typedef struct item {
    char name[48];
    double (*fn)(st *, int);
    int arg;
    double v[MAX_RUNS];
    double median;
} item;

#define MAX_ITEMS 48
typedef struct items {
    item it[MAX_ITEMS];
    int n;
} items;

static item *add(items *L, double (*fn)(st *, int), int arg, const char *fmt, ...) __attribute__((format(printf, 4, 5)));
static item *add(items *L, double (*fn)(st *, int), int arg, const char *fmt, ...)
{
    item *i = &L->it[L->n++];
    memset(i, 0, sizeof *i);
    i->fn = fn;
    i->arg = arg;
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(i->name, sizeof i->name, fmt, ap);
    va_end(ap);
    return i;
}

static void run_rounds(st *s, items *L, int runs, FILE *log)
{
    double t_start = now_s();
    for (int round = -1; round < runs; ++round) { /* round -1: warm-up, not kept */
        bool backward = round >= 0 && (round & 1);
        s->round = round;
        for (int j = 0; j < L->n; ++j) {
            item *i = &L->it[backward ? L->n - 1 - j : j];
            double g = i->fn(s, i->arg);
            if (g < 0) {
                s->fails += check(false, i->name);
                g = 0;
            }
            if (round >= 0) i->v[round] = g;
        }
    }
    fprintf(log, "  warm-up + %d rounds: %.1f s\n", runs, now_s() - t_start);
    for (int j = 0; j < L->n; ++j) {
        double tmpv[MAX_RUNS];
        memcpy(tmpv, L->it[j].v, sizeof(double) * (size_t)runs);
        L->it[j].median = bench_median(tmpv, runs);
    }
}

/* ------------------------------------------------------------------ checks (after the rounds) */

static void clear_buffer(st *s, VkBuffer b, uint64_t size)
{
    sedx_cmd cmd;
    if (sedx_cmd_begin(s->ctx, SEDX_QUEUE_GRAPHICS, &cmd) != SEDX_SUCCESS) return;
    vkCmdFillBuffer(cmd.cmd, b, 0, size, 0);
    sedx_ticket t;
    if (sedx_cmd_submit(s->ctx, &cmd, NULL, &t) == SEDX_SUCCESS) sedx_ticket_wait(s->ctx, t, UINT64_MAX);
}

/* buf[0, n) equals user repeated (n may exceed size: the pattern the large buffers were filled with) */
static bool equals_user(st *s, sedx_buffer *buf, uint64_t n)
{
    for (uint64_t off = 0; off < n; off += s->size) {
        uint64_t c = BMIN(s->size, n - off);
        memset(s->back, 0xA5, c);
        if (sedx_download(s->ctx, buf, off, c, s->back) != SEDX_SUCCESS || memcmp(s->back, s->user, c) != 0) return false;
    }
    return true;
}

static bool scatter_ok(st *s)
{
    if (sedx_download(s->ctx, &s->dev, 0, s->size, s->back) != SEDX_SUCCESS) return false;
    for (uint32_t k = 0; k < s->count; ++k)
        if (memcmp(s->back + (uint64_t)s->slots[k] * PIECE, s->user + (uint64_t)k * PIECE, PIECE) != 0) return false;
    return true;
}

static void check_d2d(st *s, int which)
{
    sedx_buffer *a, *b;
    uint64_t n;
    d2d_pair(s, which, &a, &b, &n);
    clear_buffer(s, sedx_buffer_vk(b), n);
    s->fails += check(m_d2d_sedx(s, which) > 0 && equals_user(s, b, n), "sedx_gpu_copy equal");
    clear_buffer(s, sedx_buffer_vk(b), n);
    s->fails += check(m_d2d_batch(s, which) > 0 && equals_user(s, b, n), "sedx_gpu_copy_batch equal");
    if (s->n_groups[which]) {
        clear_buffer(s, sedx_buffer_vk(b), n);
        s->fails += check(m_d2d_each(s, which) > 0 && equals_user(s, b, n), "compute copy, one submission each, equal");
    }
    for (int v = 0; v < s->n_groups[which]; v += BMAX(1, s->n_groups[which] - 1)) { /* first and last */
        clear_buffer(s, sedx_buffer_vk(b), n);
        s->fails += check(m_d2d_compute(s, which * MAX_GROUP_VARIANTS + v) > 0 && equals_user(s, b, n),
                          "compute copy (bench_copy.comp) equal");
    }
}

static void checks(st *s)
{
    VkDevice vd = sedx_context_device(s->ctx);
    /* raw paths: user -> host buffer -> device -> host buffer */
    memcpy(s->h_up.mapped, s->user, s->size);
    if (!(s->h_up.flags & VK_MEMORY_PROPERTY_HOST_COHERENT_BIT)) {
        VkMappedMemoryRange mr = {VK_STRUCTURE_TYPE_MAPPED_MEMORY_RANGE, NULL, s->h_up.memory, 0, VK_WHOLE_SIZE};
        vkFlushMappedMemoryRanges(vd, 1, &mr);
    }
    int queues = sedx_context_has_transfer_queue(s->ctx) ? 2 : 1;
    for (int q = 0; q < queues; ++q) { /* the main queue, then the transfer-only queue where there is one */
        sedx_queue kind = q ? SEDX_QUEUE_TRANSFER : SEDX_QUEUE_GRAPHICS;
        clear_buffer(s, s->d_raw.buffer, s->size);
        memset(s->h_down.mapped, 0, s->size);
        if (!(s->h_down.flags & VK_MEMORY_PROPERTY_HOST_COHERENT_BIT)) {
            VkMappedMemoryRange mr = {VK_STRUCTURE_TYPE_MAPPED_MEMORY_RANGE, NULL, s->h_down.memory, 0, VK_WHOLE_SIZE};
            vkFlushMappedMemoryRanges(vd, 1, &mr);
        }
        bool ok = m_raw_h2d(s, kind) > 0 && m_raw_d2h(s, kind) > 0;
        if (!(s->h_down.flags & VK_MEMORY_PROPERTY_HOST_COHERENT_BIT)) {
            VkMappedMemoryRange mr = {VK_STRUCTURE_TYPE_MAPPED_MEMORY_RANGE, NULL, s->h_down.memory, 0, VK_WHOLE_SIZE};
            vkInvalidateMappedMemoryRanges(vd, 1, &mr);
        }
        s->fails += check(ok && memcmp(s->h_down.mapped, s->user, s->size) == 0,
                          q ? "raw host->device->host copies equal (transfer queue)"
                            : "raw host->device->host copies equal (main queue)");
    }
    /* sedx paths */
    s->fails += check(m_upload(s, 0) > 0 && equals_user(s, &s->dev, s->size), "uploaded bytes read back equal");
    memset(s->back, 0, s->size);
    s->fails += check(m_readback(s, 0) > 0 && memcmp(s->back, s->user, s->size) == 0, "sedx_download equal");
    clear_buffer(s, sedx_buffer_vk(&s->dev2), s->size);
    s->fails += check(m_staging_copy(s, 0) > 0 && equals_user(s, &s->dev2, s->size), "copy from staging equal");
    check_d2d(s, 0);
    clear_buffer(s, sedx_buffer_vk(&s->dev), s->size);
    s->fails += check(m_scatter_batch(s, 0) > 0 && scatter_ok(s), "batched scatter uploads read back equal");
    clear_buffer(s, sedx_buffer_vk(&s->dev), s->size);
    s->fails += check(m_scatter_calls(s, 0) > 0 && scatter_ok(s), "per-call scatter uploads read back equal");
}

/* ------------------------------------------------------------------ reporting */

typedef struct limit {
    const char *key; /* key in "limits" */
    double gbps;     /* from the medians */
    double round[MAX_RUNS]; /* the same limit from each round's own measurements */
} limit;

/* Round by round: the figure over its limit as measured in the same round. On a busy machine
 * this pairs each figure with a limit that met the same conditions; the median of these is
 * reported beside the ratio of the medians. */
static double round_ratios(const item *it, const limit *l, int runs, double *out)
{
    double tmp[MAX_RUNS];
    for (int i = 0; i < runs; ++i) tmp[i] = out[i] = l->round[i] > 0 ? it->v[i] / l->round[i] : 0;
    return bench_median(tmp, runs);
}

static void figure(cJSON *figs, FILE *log, const char *key, const char *what, const item *it, int runs,
                   const limit *lp, double target, const limit *tp)
{
    const limit lim = *lp, tlim = *tp;
    double g = it->median, rr[MAX_RUNS] = {0}, trr[MAX_RUNS] = {0};
    double rmed = round_ratios(it, lp, runs, rr), trmed = round_ratios(it, tp, runs, trr);
    double rmin = rr[0], rmax = rr[0];
    for (int i = 1; i < runs; ++i) {
        rmin = BMIN(rmin, rr[i]);
        rmax = BMAX(rmax, rr[i]);
    }
    fprintf(log, "  %-18s %-50s %9.2f GB/s  %5.2fx %s (by round %.2fx, %.2f-%.2f)", key, what, g,
            lim.gbps > 0 ? g / lim.gbps : 0, lim.key, rmed, rmin, rmax);
    bool met = tlim.gbps > 0 && g / tlim.gbps >= target;
    if (strcmp(tlim.key, lim.key) == 0)
        fprintf(log, "   target >= %.2fx: %s\n", target, met ? "met" : "NOT met");
    else
        fprintf(log, "   target >= %.2fx %s: %.2fx (by round %.2fx), %s\n", target, tlim.key,
                tlim.gbps > 0 ? g / tlim.gbps : 0, trmed, met ? "met" : "NOT met");
    cJSON *o = cJSON_AddObjectToObject(figs, key);
    cJSON_AddStringToObject(o, "what", what);
    cJSON_AddNumberToObject(o, "GBps", g);
    cJSON *a = cJSON_AddArrayToObject(o, "runs_GBps");
    for (int i = 0; i < runs; ++i) cJSON_AddItemToArray(a, cJSON_CreateNumber(it->v[i]));
    cJSON_AddStringToObject(o, "limit", lim.key);
    cJSON_AddNumberToObject(o, "limit_GBps", lim.gbps);
    cJSON_AddNumberToObject(o, "ratio", lim.gbps > 0 ? g / lim.gbps : 0);
    cJSON *ra = cJSON_AddArrayToObject(o, "ratio_by_round");
    for (int i = 0; i < runs; ++i) cJSON_AddItemToArray(ra, cJSON_CreateNumber(rr[i]));
    cJSON_AddNumberToObject(o, "ratio_by_round_median", rmed);
    cJSON *t = cJSON_AddObjectToObject(o, "target");
    cJSON_AddNumberToObject(t, "min_ratio", target);
    cJSON_AddStringToObject(t, "against", tlim.key);
    cJSON_AddNumberToObject(t, "against_GBps", tlim.gbps);
    cJSON_AddNumberToObject(t, "ratio", tlim.gbps > 0 ? g / tlim.gbps : 0);
    cJSON_AddNumberToObject(t, "ratio_by_round_median", trmed);
    cJSON_AddBoolToObject(t, "met", met);
}

/* The workgroup counts the compute copy is tried with: one invocation per 16 bytes (within the
 * device's limit), 65,535, 16,384 and 4,096, each only when not above the first. */
static void group_variants(st *s, int which)
{
    sedx_buffer *a, *b;
    uint64_t n;
    d2d_pair(s, which, &a, &b, &n);
    s->n_groups[which] = 0;
    if (!s->cc.pipeline || !sedx_buffer_address(a) || !sedx_buffer_address(b)) return;
    uint32_t full = bench_compute_copy_full_groups(&s->cc, n);
    const uint32_t cand[MAX_GROUP_VARIANTS] = {full, 65535, 16384, 4096};
    for (int c = 0; c < MAX_GROUP_VARIANTS; ++c) {
        bool dup = cand[c] > full;
        for (int d = 0; d < s->n_groups[which]; ++d) dup |= s->groups[which][d] == cand[c];
        if (!dup) s->groups[which][s->n_groups[which]++] = cand[c];
    }
}

/* The device-copy measurements of one size: copy command, compute copy per group count, sedx. */
static void d2d_item(items *L, st *s, int which, item **cmd, item **cc, item **sx, item **bx, item **each)
{
    *cmd = add(L, m_d2d_command, which, "d2d copy command %d", which);
    for (int v = 0; v < s->n_groups[which]; ++v)
        cc[v] = add(L, m_d2d_compute, which * MAX_GROUP_VARIANTS + v, "d2d compute %d/%u", which, s->groups[which][v]);
    *each = s->n_groups[which] ? add(L, m_d2d_each, which, "d2d compute one submission each %d", which) : NULL;
    *sx = add(L, m_d2d_sedx, which, which ? "d2d_large" : "d2d");
    *bx = add(L, m_d2d_batch, which, which ? "d2d_large_batch" : "d2d_batch");
}

static void usage_upload(void)
{
    fprintf(stderr,
            "usage: sedx-bench upload [--size MiB] [--large MiB] [--count N] [--runs R] [--quick] [--json] [--out FILE]\n"
            "  --size MiB   pageable upload, staging copy, readback and device copy (default 256)\n"
            "  --large MiB  the second device-to-device size (default 1024; 0 skips it; needs 2x in device memory)\n"
            "  --count N    scattered 4 KiB uploads (default 16384)\n"
            "  --runs R     rounds after one warm-up; medians are reported (default 5, at most 64)\n"
            "  --quick      --size 64 --large 256 --count 4096 --runs 3 (each only when not given)\n"
            "Every sedx figure is printed with its ratio to a limit measured in the same run\n"
            "(docs/benchmarks.md: the keys; docs/transfer.md: what each path is measured against).\n");
}

static void add_machine_line(cJSON *root, FILE *log)
{
    char cpu[256];
    cJSON *m = bench_add_machine(root, cpu, sizeof cpu);
    cJSON *n = cJSON_GetObjectItem(m, "online_cpus"), *c = cJSON_GetObjectItem(m, "compiler");
    fprintf(log, "machine: %s, %d online CPUs, %s, %s%s\n", cpu, n ? (int)n->valuedouble : 0,
            c && cJSON_IsString(c) ? c->valuestring : "unknown compiler",
            cJSON_IsTrue(cJSON_GetObjectItem(m, "optimized")) ? "optimized" : "NOT optimized",
            cJSON_IsTrue(cJSON_GetObjectItem(m, "ndebug")) ? ", NDEBUG" : "");
}

typedef struct import_result {
    bool available, refused;
    double pin_ms, dma_ms, unpin_ms, gbps;
} import_result;
static import_result import_cost(st *s, int R); /* below */
static void import_report(const import_result *m, FILE *log, cJSON *base, uint64_t size, double up);

int bench_upload(const bench_args *args)
{
    if (bench_has_flag(args, "--help") || bench_has_flag(args, "-h")) {
        usage_upload();
        return 0;
    }
    bool quick = bench_has_flag(args, "--quick");
    const char *sz = bench_flag_value(args, "--size"), *lg = bench_flag_value(args, "--large"),
               *cnt = bench_flag_value(args, "--count");
    int R = args->runs;
    if (quick && !bench_flag_value(args, "--runs")) R = 3;
    if (R > MAX_RUNS) R = MAX_RUNS;
    st s = {0};
    s.size = (uint64_t)(sz ? atoll(sz) : quick ? 64 : 256) << 20;
    s.large = (uint64_t)(lg ? atoll(lg) : quick ? 256 : 1024) << 20;
    s.count = cnt ? (uint32_t)atoi(cnt) : quick ? 4096 : 16384;
    if (s.size < (1u << 20) || s.count < 1) {
        usage_upload();
        return 2;
    }
    FILE *log = args->json ? stderr : stdout;
    cJSON *root = cJSON_CreateObject();
    sedx_context_info ci = {0};
    ci.flags = SEDX_CONTEXT_NO_ENV_VALIDATION;
    ci.app_name = "sedx-bench";
    if (sedx_context_create(&ci, &s.ctx) != SEDX_SUCCESS) {
        fprintf(stderr, "sedx-bench upload: no context\n");
        return 1;
    }
    const VkPhysicalDeviceProperties *p = sedx_context_properties(s.ctx);
    s.cpu_device = p->deviceType == VK_PHYSICAL_DEVICE_TYPE_CPU;
    /* device copies back to back, so the submission latency is amortised (a CPU device: 2 at
     * --size, 1 at --large, which are already long enough there) */
    s.rep[0] = s.cpu_device ? 2 : 8;
    s.rep[1] = s.cpu_device ? 1 : 8;
    bool xfer = sedx_context_has_transfer_queue(s.ctx);

    uint64_t slots_n = BMIN((uint64_t)s.count * 2, s.size / PIECE);
    if (slots_n < s.count) s.count = (uint32_t)slots_n;
    fprintf(log,
            "sedx-bench upload on %s (driver 0x%x), %llu MiB, %u scattered 4 KiB uploads, device copies of %llu and "
            "%llu MiB (x%u, x%u back to back), %d rounds after a warm-up (median; order reversed every other round)\n",
            p->deviceName, p->driverVersion, (unsigned long long)(s.size >> 20), s.count,
            (unsigned long long)(s.size >> 20), (unsigned long long)(s.large >> 20), s.rep[0], s.rep[1], R);
    add_machine_line(root, log);
    cJSON_AddStringToObject(root, "benchmark", "upload");
    cJSON_AddNumberToObject(root, "schema", 2);
    cJSON_AddStringToObject(root, "device", p->deviceName);
    cJSON_AddNumberToObject(root, "driver_version", p->driverVersion);
    cJSON_AddBoolToObject(root, "cpu_device", s.cpu_device);
    cJSON_AddBoolToObject(root, "transfer_queue", xfer);
    cJSON_AddNumberToObject(root, "size_bytes", (double)s.size);
    cJSON_AddNumberToObject(root, "large_requested_bytes", (double)s.large);
    cJSON_AddNumberToObject(root, "scatter_count", s.count);
    cJSON_AddNumberToObject(root, "scatter_piece_bytes", PIECE);
    cJSON_AddNumberToObject(root, "device_copy_repeat", s.rep[0]);
    cJSON_AddNumberToObject(root, "device_copy_repeat_large", s.rep[1]);
    cJSON_AddNumberToObject(root, "runs", R);

    /* ---- buffers */
    s.user = malloc(s.size);
    s.back = malloc(s.size);
    s.tmp = malloc(s.size);
    if (!s.user || !s.back || !s.tmp) {
        fprintf(stderr, "sedx-bench upload: out of host memory\n");
        return 1;
    }
    fill(s.user, s.size, 1);
    memset(s.back, 0, s.size);
    memset(s.tmp, 0, s.size); /* every page touched before anything is timed */
    sedx_buffer_usage_flags du = SEDX_BUFFER_USAGE_STORAGE | SEDX_BUFFER_USAGE_TRANSFER_DST;
    sedx_result r = sedx_buffer_create(s.ctx, s.size, du, SEDX_MEMORY_GPU, "bench device", &s.dev);
    if (r == SEDX_SUCCESS) r = sedx_buffer_create(s.ctx, s.size, du, SEDX_MEMORY_GPU, "bench device 2", &s.dev2);
    if (r == SEDX_SUCCESS) r = sedx_staging_buffer_create(s.ctx, s.size, "bench staging", &s.staging);
    if (r != SEDX_SUCCESS) {
        fprintf(stderr, "sedx-bench upload: sedx buffers: %s\n", sedx_result_name(r));
        return 1;
    }
    memcpy(s.staging.data, s.user, s.size);
    VkBufferUsageFlags tu = VK_BUFFER_USAGE_TRANSFER_SRC_BIT | VK_BUFFER_USAGE_TRANSFER_DST_BIT;
    if (bench_raw_buffer_create(s.ctx, s.size, tu, BENCH_RAW_HOST_UPLOAD, &s.h_up) ||
        bench_raw_buffer_create(s.ctx, s.size, tu, BENCH_RAW_HOST_READBACK, &s.h_down) ||
        bench_raw_buffer_create(s.ctx, s.size, tu, BENCH_RAW_DEVICE, &s.d_raw)) {
        fprintf(stderr, "sedx-bench upload: raw Vulkan buffers could not be created\n");
        return 1;
    }
    memcpy(s.h_up.mapped, s.user, s.size);
    memset(s.h_down.mapped, 0, s.size);
    const bench_raw_buffer *rbs[3] = {&s.h_up, &s.h_down, &s.d_raw};
    for (int i = 0; i < 3; ++i) {
        s.raw_type[i] = rbs[i]->memory_type;
        s.raw_flags[i] = rbs[i]->flags;
    }
    bool have_cc = bench_compute_copy_create(s.ctx, &s.cc) == 0;
    if (have_cc) group_variants(&s, 0);
    /* the source of the device copies holds the pattern (sedx_upload, not timed) */
    r = sedx_upload(s.ctx, &s.dev, 0, s.size, s.user);
    if (r == SEDX_SUCCESS) r = sedx_upload_flush(s.ctx);
    s.fails += check(r == SEDX_SUCCESS, "initial uploads");
    sedx_transfer_stats ts0;
    sedx_transfer_get_stats(s.ctx, &ts0);
    s.ov_threads = (int)BMAX(1u, ts0.memcpy_threads); /* as many copying threads as sedx's transfers use */

    /* scattered pieces: count distinct 4 KiB slots, shuffled */
    s.slots = malloc(slots_n * sizeof *s.slots);
    for (uint32_t i = 0; i < slots_n; ++i) s.slots[i] = i;
    uint64_t x = 7;
    for (uint64_t i = slots_n - 1; i > 0; --i) {
        x = x * 6364136223846793005ull + 1442695040888963407ull;
        uint64_t j = (x >> 33) % (i + 1);
        uint32_t t = s.slots[i];
        s.slots[i] = s.slots[j];
        s.slots[j] = t;
    }
    s.ups = malloc(s.count * sizeof *s.ups);
    s.regions = malloc(s.count * sizeof *s.regions);
    for (uint32_t k = 0; k < s.count; ++k) {
        s.ups[k] = (sedx_upload_region){&s.dev, (uint64_t)s.slots[k] * PIECE, PIECE, s.user + (uint64_t)k * PIECE};
        s.regions[k] = (VkBufferCopy){(uint64_t)k * PIECE, (uint64_t)s.slots[k] * PIECE, PIECE};
    }

    /* ---- the measurements, in round order (each limit next to the sedx figures held to it) */
    items L = {0};
    item *mc[N_THREADS];
    for (int t = 0; t < N_THREADS; ++t) mc[t] = add(&L, m_memcpy, memcpy_threads[t], "memcpy %d threads", memcpy_threads[t]);
    item *h2d[2] = {add(&L, m_raw_h2d, SEDX_QUEUE_GRAPHICS, "raw H2D main queue"),
                    xfer ? add(&L, m_raw_h2d, SEDX_QUEUE_TRANSFER, "raw H2D transfer queue") : NULL};
    item *up = add(&L, m_upload, 0, "upload_pageable");
    item *stc = add(&L, m_staging_copy, 0, "copy_from_staging");
    item *scm = add(&L, m_scatter_memcpy, 0, "memcpy 1 thread scattered");
    item *scc = add(&L, m_scatter_calls, 0, "scatter_per_call");
    item *scb = add(&L, m_scatter_batch, 0, "scatter_batch");
    item *reg = add(&L, m_copy_regions, 0, "copy regions baseline");
    item *h2dc = s.cc.pipeline && sedx_buffer_address(&s.staging) && sedx_buffer_address(&s.dev2)
                     ? add(&L, m_h2d_compute, 0, "compute copy host -> device")
                     : NULL;
    item *dcmd[2] = {0}, *dsedx[2] = {0}, *dbatch[2] = {0}, *deach[2] = {0}, *dcc[2][MAX_GROUP_VARIANTS] = {{0}};
    d2d_item(&L, &s, 0, &dcmd[0], dcc[0], &dsedx[0], &dbatch[0], &deach[0]);
    item *d2h[2] = {add(&L, m_raw_d2h, SEDX_QUEUE_GRAPHICS, "raw D2H main queue"),
                    xfer ? add(&L, m_raw_d2h, SEDX_QUEUE_TRANSFER, "raw D2H transfer queue") : NULL};
    item *rb = add(&L, m_readback, 0, "readback");
    /* (not on a CPU device: its copy engine is a driver thread on the same cores as the memcpy) */
    item *ovl[2] = {NULL, NULL};
    if (!s.cpu_device) {
        ovl[0] = add(&L, m_overlap, 0, "overlap host -> device");
        ovl[1] = add(&L, m_overlap, 1, "overlap device -> host");
    }
    fprintf(log, "phase 1: everything at --size\n");
    run_rounds(&s, &L, R, log);
    checks(&s);

    /* ---- baselines that are not limits: the seed's pattern, one copy command with every region */
    uint32_t seed_n = BMIN(s.count, 2048u);
    double t0 = now_s();
    for (uint32_t k = 0; k < seed_n; ++k) {
        sedx_buffer sb;
        if (sedx_buffer_create(s.ctx, PIECE, SEDX_BUFFER_USAGE_TRANSFER_SRC, SEDX_MEMORY_CPU, "seed staging", &sb)) break;
        void *m;
        sedx_buffer_map(&sb, &m);
        memcpy(m, s.user + (uint64_t)k * PIECE, PIECE);
        sedx_buffer_unmap(&sb);
        sedx_copy_buffer_offsets(s.ctx, sedx_buffer_vk(&sb), 0, sedx_buffer_vk(&s.dev), (uint64_t)s.slots[k] * PIECE, PIECE);
        sedx_buffer_release(&sb);
    }
    double seed_gbps = rate((uint64_t)seed_n * PIECE, now_s() - t0);
    import_result imp = import_cost(&s, R);

    /* ---- phase 2: the device copies at --large, in rounds of their own, once the --size buffers
     * are gone (a CPU device's heap may hold only two large buffers then). When 2 x --large does
     * not fit sedx's budget it is halved until it does; s.large is what was measured. */
    items L2 = {0};
    bench_raw_buffer_destroy(s.ctx, &s.h_up);
    bench_raw_buffer_destroy(s.ctx, &s.h_down);
    bench_raw_buffer_destroy(s.ctx, &s.d_raw);
    sedx_buffer_release(&s.dev2);
    sedx_buffer_release(&s.staging);
    sedx_context_wait_idle(s.ctx); /* the released buffers' memory goes back now */
    uint64_t large_req = s.large;
    sedx_log_level level = sedx_get_log_level();
    sedx_set_log_level(SEDX_LOG_OFF); /* a size that does not fit is expected here: said below */
    while (s.large >= (1u << 20)) {
        r = sedx_buffer_create(s.ctx, s.large, du, SEDX_MEMORY_GPU, "bench large", &s.big1);
        if (r == SEDX_SUCCESS) r = sedx_buffer_create(s.ctx, s.large, du, SEDX_MEMORY_GPU, "bench large 2", &s.big2);
        if (r == SEDX_SUCCESS) break;
        sedx_buffer_release(&s.big1);
        sedx_buffer_release(&s.big2);
        sedx_context_wait_idle(s.ctx);
        if (r != SEDX_ERROR_OUT_OF_DEVICE_MEMORY && r != SEDX_ERROR_OVER_BUDGET) {
            fprintf(log, "  2 x %llu MiB: %s: no device copies at --large\n", (unsigned long long)(s.large >> 20),
                    sedx_result_name(r));
            s.fails += check(false, "large buffers");
            s.large = 0;
            break;
        }
        s.large /= 2;
        fprintf(log, "  2 x %llu MiB do not fit (%s): trying 2 x %llu MiB\n", (unsigned long long)(s.large << 1 >> 20),
                sedx_result_name(r), (unsigned long long)(s.large >> 20));
    }
    sedx_set_log_level(level);
    if (s.large < (1u << 20)) s.large = 0;
    cJSON_AddNumberToObject(root, "large_size_bytes", (double)s.large);
    if (s.large) {
        for (uint64_t off = 0; r == SEDX_SUCCESS && off < s.large; off += s.size)
            r = sedx_upload(s.ctx, &s.big1, off, BMIN(s.size, s.large - off), s.user);
        if (r == SEDX_SUCCESS) r = sedx_upload_flush(s.ctx);
        s.fails += check(r == SEDX_SUCCESS, "large initial upload");
        group_variants(&s, 1);
        d2d_item(&L2, &s, 1, &dcmd[1], dcc[1], &dsedx[1], &dbatch[1], &deach[1]);
        fprintf(log, "phase 2: device copies at %llu MiB%s\n", (unsigned long long)(s.large >> 20),
                s.large != large_req ? " (less than --large: see above)" : "");
        run_rounds(&s, &L2, R, log);
        check_d2d(&s, 1);
    }

    /* ---- limits */
    cJSON *lj = cJSON_AddObjectToObject(root, "limits");
    cJSON *mj = cJSON_AddObjectToObject(lj, "memcpy_GBps");
    double mc_best = 0;
    int mc_best_t = 1;
    char line[512];
    int ln = snprintf(line, sizeof line, "  host memcpy, pageable -> pageable, %llu MiB, 1/2/4/8/16 threads:",
                      (unsigned long long)(s.size >> 20));
    for (int t = 0; t < N_THREADS; ++t) {
        char k[8];
        snprintf(k, sizeof k, "%d", memcpy_threads[t]);
        cJSON_AddNumberToObject(mj, k, mc[t]->median);
        ln += snprintf(line + ln, sizeof line - (size_t)ln, "%s %.2f", t ? " /" : "", mc[t]->median);
        if (mc[t]->median > mc_best) {
            mc_best = mc[t]->median;
            mc_best_t = memcpy_threads[t];
        }
    }
    cJSON_AddNumberToObject(lj, "memcpy_best_GBps", mc_best);
    cJSON_AddNumberToObject(lj, "memcpy_best_threads", mc_best_t);
    double h2d_q[2] = {h2d[0]->median, h2d[1] ? h2d[1]->median : 0}, d2h_q[2] = {d2h[0]->median, d2h[1] ? d2h[1]->median : 0};
    double raw_h2d = BMAX(h2d_q[0], h2d_q[1]), raw_d2h = BMAX(d2h_q[0], d2h_q[1]);
    cJSON *q = cJSON_AddObjectToObject(lj, "raw_h2d_by_queue_GBps");
    cJSON_AddNumberToObject(q, "main", h2d_q[0]);
    if (xfer) cJSON_AddNumberToObject(q, "transfer", h2d_q[1]);
    cJSON_AddNumberToObject(lj, "raw_h2d_GBps", raw_h2d);
    q = cJSON_AddObjectToObject(lj, "raw_d2h_by_queue_GBps");
    cJSON_AddNumberToObject(q, "main", d2h_q[0]);
    if (xfer) cJSON_AddNumberToObject(q, "transfer", d2h_q[1]);
    cJSON_AddNumberToObject(lj, "raw_d2h_GBps", raw_d2h);
    limit host_h2d = {"host_h2d_GBps", BMIN(mc_best, raw_h2d), {0}}, host_d2h = {"host_d2h_GBps", BMIN(mc_best, raw_d2h), {0}};
    limit l_raw_h2d = {"raw_h2d_GBps", raw_h2d, {0}}, l_raw_d2h = {"raw_d2h_GBps", raw_d2h, {0}};
    limit l_scm = {"memcpy_1t_scatter_GBps", scm->median, {0}};
    for (int i = 0; i < R; ++i) {
        double m = 0;
        for (int t = 0; t < N_THREADS; ++t) m = BMAX(m, mc[t]->v[i]);
        l_raw_h2d.round[i] = BMAX(h2d[0]->v[i], h2d[1] ? h2d[1]->v[i] : 0);
        l_raw_d2h.round[i] = BMAX(d2h[0]->v[i], d2h[1] ? d2h[1]->v[i] : 0);
        host_h2d.round[i] = BMIN(m, l_raw_h2d.round[i]);
        host_d2h.round[i] = BMIN(m, l_raw_d2h.round[i]);
        l_scm.round[i] = scm->v[i];
    }
    cJSON_AddNumberToObject(lj, host_h2d.key, host_h2d.gbps);
    cJSON_AddNumberToObject(lj, host_d2h.key, host_d2h.gbps);
    cJSON_AddNumberToObject(lj, l_scm.key, l_scm.gbps);
    fprintf(log, "limits (measured in this run, no sedx transfer path):\n%s GB/s; best %.2f (%d thread%s)\n", line, mc_best,
            mc_best_t, mc_best_t == 1 ? "" : "s");
    fprintf(log, "  raw vkCmdCopyBuffer host -> device: main queue %.2f GB/s%s", h2d_q[0], xfer ? "" : "\n");
    if (xfer) fprintf(log, ", transfer queue %.2f GB/s\n", h2d_q[1]);
    fprintf(log, "  raw vkCmdCopyBuffer device -> host: main queue %.2f GB/s%s", d2h_q[0], xfer ? "" : "\n");
    if (xfer) fprintf(log, ", transfer queue %.2f GB/s\n", d2h_q[1]);
    fprintf(log, "  host_h2d = min(best memcpy, raw H2D) %.2f GB/s; host_d2h = min(best memcpy, raw D2H) %.2f GB/s\n",
            host_h2d.gbps, host_d2h.gbps);
    fprintf(log, "  memcpy, 1 thread, %u x 4 KiB to scattered offsets: %.2f GB/s\n", s.count, l_scm.gbps);
    cJSON *rm = cJSON_AddObjectToObject(lj, "raw_memory");
    const char *rnames[3] = {"host_upload", "host_readback", "device"};
    fprintf(log, "  raw buffers' memory types:");
    for (int i = 0; i < 3; ++i) {
        char f[96];
        bench_memory_flags_string(s.raw_flags[i], f, sizeof f);
        cJSON *o = cJSON_AddObjectToObject(rm, rnames[i]);
        cJSON_AddNumberToObject(o, "type", s.raw_type[i]);
        cJSON_AddStringToObject(o, "flags", f);
        fprintf(log, "%s %s %u (%s)", i ? "," : "", rnames[i], s.raw_type[i], f);
    }
    fprintf(log, "\n");
    limit d2d_lim[2] = {{"d2d_best_GBps", 0, {0}}, {"d2d_large_best_GBps", 0, {0}}};
    for (int which = 0; which < 2; ++which) {
        if (!dcmd[which]) break;
        const char *pre = which ? "d2d_large_" : "d2d_";
        char k[64];
        double cc_best = 0;
        uint32_t cc_groups = 0;
        snprintf(k, sizeof k, "%scompute_by_groups_GBps", pre);
        cJSON *g = cJSON_AddObjectToObject(lj, k);
        ln = snprintf(line, sizeof line, "  device -> device %llu MiB: vkCmdCopyBuffer %.2f GB/s; compute copy",
                      (unsigned long long)((which ? s.large : s.size) >> 20), dcmd[which]->median);
        for (int v = 0; v < s.n_groups[which]; ++v) {
            char gk[16];
            snprintf(gk, sizeof gk, "%u", s.groups[which][v]);
            cJSON_AddNumberToObject(g, gk, dcc[which][v]->median);
            ln += snprintf(line + ln, sizeof line - (size_t)ln, "%s %u groups %.2f", v ? "," : "", s.groups[which][v],
                           dcc[which][v]->median);
            if (dcc[which][v]->median > cc_best) {
                cc_best = dcc[which][v]->median;
                cc_groups = s.groups[which][v];
            }
        }
        if (!s.n_groups[which]) ln += snprintf(line + ln, sizeof line - (size_t)ln, " not available (no buffer device address)");
        snprintf(k, sizeof k, "%scopy_command_GBps", pre);
        cJSON_AddNumberToObject(lj, k, dcmd[which]->median);
        snprintf(k, sizeof k, "%scompute_GBps", pre);
        cJSON_AddNumberToObject(lj, k, cc_best);
        snprintf(k, sizeof k, "%scompute_groups", pre);
        cJSON_AddNumberToObject(lj, k, cc_groups);
        bool compute_wins = cc_best > dcmd[which]->median;
        d2d_lim[which].gbps = BMAX(cc_best, dcmd[which]->median);
        for (int i = 0; i < R; ++i) {
            d2d_lim[which].round[i] = dcmd[which]->v[i];
            for (int v = 0; v < s.n_groups[which]; ++v) d2d_lim[which].round[i] = BMAX(d2d_lim[which].round[i], dcc[which][v]->v[i]);
        }
        cJSON_AddNumberToObject(lj, d2d_lim[which].key, d2d_lim[which].gbps);
        snprintf(k, sizeof k, "%sbest_method", pre);
        cJSON_AddStringToObject(lj, k, compute_wins ? "compute" : "copy_command");
        fprintf(log, "%s GB/s; best %.2f GB/s (%s)\n", line, d2d_lim[which].gbps,
                compute_wins ? "compute" : "vkCmdCopyBuffer");
    }

    /* one submission per copy: the same compute copy as the limit, submitted as sedx_gpu_copy is */
    for (int which = 0; which < 2; ++which) {
        if (!deach[which]) continue;
        char k[64];
        snprintf(k, sizeof k, "%scompute_each_submission_GBps", which ? "d2d_large_" : "d2d_");
        cJSON_AddNumberToObject(lj, k, deach[which]->median);
        fprintf(log, "  reference, not a limit: the compute copy with one submission per copy (%llu MiB x%u): %.2f GB/s, "
                     "%.2fx the best\n",
                (unsigned long long)((which ? s.large : s.size) >> 20), s.rep[which], deach[which]->median,
                d2d_lim[which].gbps > 0 ? deach[which]->median / d2d_lim[which].gbps : 0);
    }
    if (h2dc) {
        cJSON_AddNumberToObject(lj, "h2d_compute_GBps", h2dc->median);
        fprintf(log, "  reference, not a limit: a compute shader reading host memory (a sedx staging buffer) into device "
                     "memory, as the scatter reads the ring: %.2f GB/s, %.2fx raw H2D\n",
                h2dc->median, raw_h2d > 0 ? h2dc->median / raw_h2d : 0);
    }
    /* the host and the copy engine at once */
    limit l_ov[2] = {{"overlap_h2d_GBps", ovl[0] ? ovl[0]->median : 0, {0}},
                     {"overlap_d2h_GBps", ovl[1] ? ovl[1]->median : 0, {0}}};
    if (!ovl[0]) fprintf(log, "  both at once (host memcpy and the copy engine): not measured on a CPU device\n");
    for (int w = 0; w < 2 && ovl[w]; ++w) {
        double dma[MAX_RUNS], mcv[MAX_RUNS];
        for (int i = 0; i < R; ++i) {
            l_ov[w].round[i] = ovl[w]->v[i];
            dma[i] = s.ov[w][i + 1][0];
            mcv[i] = s.ov[w][i + 1][1];
        }
        double dm = bench_median(dma, R), mm = bench_median(mcv, R);
        cJSON *o = cJSON_AddObjectToObject(lj, w ? "overlap_d2h" : "overlap_h2d");
        cJSON_AddNumberToObject(o, "dma_GBps", dm);
        cJSON_AddNumberToObject(o, "memcpy_GBps", mm);
        cJSON_AddNumberToObject(o, "memcpy_threads", s.ov_threads);
        cJSON_AddNumberToObject(o, "bound_GBps", l_ov[w].gbps);
        fprintf(log, "  both at once (%d memcpy threads, %s): %s %.2f GB/s while memcpy %s %.2f GB/s; bound "
                     "(the lower, by round) %.2f GB/s\n",
                s.ov_threads, w ? "device -> host" : "host -> device", w ? "DMA into host memory" : "DMA from host memory",
                dm, w ? "out of host memory into pageable" : "pageable into host memory", mm, l_ov[w].gbps);
    }

    /* ---- sedx against its limits */
    fprintf(log, "sedx against its limit (ratio = sedx / limit; targets are for a discrete GPU):\n");
    cJSON *figs = cJSON_AddObjectToObject(root, "figures");
    figure(figs, log, "upload_pageable", "sedx_upload + flush from pageable memory", up, R, &host_h2d, 0.8, &host_h2d);
    figure(figs, log, "copy_from_staging", "sedx_gpu_copy, sedx staging buffer -> device", stc, R, &l_raw_h2d, 0.98, &l_raw_h2d);
    figure(figs, log, "scatter_batch", "4 KiB scattered, one sedx_upload_batch + flush", scb, R, &host_h2d, 0.5, &host_h2d);
    figure(figs, log, "scatter_per_call", "4 KiB scattered, one sedx_upload each + flush", scc, R, &host_h2d, 1.0, &l_scm);
    if (dsedx[0]) figure(figs, log, "d2d", "sedx_gpu_copy device -> device (--size)", dsedx[0], R, &d2d_lim[0], 0.97, &d2d_lim[0]);
    if (dsedx[1]) figure(figs, log, "d2d_large", "sedx_gpu_copy device -> device (--large)", dsedx[1], R, &d2d_lim[1], 0.97, &d2d_lim[1]);
    if (dbatch[0]) figure(figs, log, "d2d_batch", "sedx_gpu_copy_batch, the same copies (--size)", dbatch[0], R, &d2d_lim[0], 0.97, &d2d_lim[0]);
    if (dbatch[1]) figure(figs, log, "d2d_large_batch", "sedx_gpu_copy_batch, the same copies (--large)", dbatch[1], R, &d2d_lim[1], 0.97, &d2d_lim[1]);
    figure(figs, log, "readback", "sedx_download into pageable memory", rb, R, &host_d2h, 0.95, &l_raw_d2h);
    /* the host paths against what the host and the copy engine reach at once */
    const item *host_items[2] = {up, rb};
    const char *host_keys[2] = {"upload_pageable", "readback"};
    for (int w = 0; w < 2 && ovl[w]; ++w) {
        double rr[MAX_RUNS];
        double med = round_ratios(host_items[w], &l_ov[w], R, rr);
        cJSON *o = cJSON_GetObjectItem(figs, host_keys[w]);
        cJSON_AddNumberToObject(o, "ratio_to_overlap_bound", l_ov[w].gbps > 0 ? host_items[w]->median / l_ov[w].gbps : 0);
        cJSON_AddNumberToObject(o, "ratio_to_overlap_bound_by_round", med);
        fprintf(log, "  %-18s against %s (both at once): %.2fx (by round %.2fx)\n", host_keys[w], l_ov[w].key,
                l_ov[w].gbps > 0 ? host_items[w]->median / l_ov[w].gbps : 0, med);
    }

    /* ---- baselines that are not limits: the seed's pattern, one copy command with every region */
    cJSON *base = cJSON_AddObjectToObject(root, "baselines");
    fprintf(log, "baselines (not limits): the seed's pattern (staging buffer + map + memcpy + unmap + blocking copy per "
                 "4 KiB, %u uploads) %.3f GB/s: scatter_batch %.1fx; one vkCmdCopyBuffer with %u regions %.2f GB/s: "
                 "scatter_batch %.2fx\n",
            seed_n, seed_gbps, scb->median / seed_gbps, s.count, reg->median, scb->median / reg->median);
    cJSON_AddNumberToObject(base, "seed_pattern_GBps", seed_gbps);
    cJSON_AddNumberToObject(base, "copy_regions_GBps", reg->median);
    cJSON_AddNumberToObject(base, "scatter_batch_vs_seed", scb->median / seed_gbps);
    cJSON_AddNumberToObject(base, "scatter_batch_vs_copy_regions", scb->median / reg->median);
    import_report(&imp, log, base, s.size, up->median);
    phase_reports(&s, log, root);

    sedx_transfer_stats ts;
    sedx_transfer_get_stats(s.ctx, &ts);
    fprintf(log, "transfer: ring %llu MiB, %u memcpy threads, transfer queue %s, %llu batches, %llu scatter dispatches, "
                 "%llu compute copies, direct %llu MiB, staged %llu MiB\n",
            (unsigned long long)(ts.staging_size >> 20), ts.memcpy_threads, ts.transfer_queue ? "yes" : "no",
            (unsigned long long)ts.batches, (unsigned long long)ts.scatter_dispatches,
            (unsigned long long)ts.compute_copies, (unsigned long long)(ts.direct_bytes >> 20),
            (unsigned long long)(ts.staged_bytes >> 20));
    cJSON *tj = cJSON_AddObjectToObject(root, "transfer");
    cJSON_AddNumberToObject(tj, "staging_size_bytes", (double)ts.staging_size);
    cJSON_AddNumberToObject(tj, "memcpy_threads", ts.memcpy_threads);
    cJSON_AddBoolToObject(tj, "transfer_queue", ts.transfer_queue);
    cJSON_AddNumberToObject(tj, "compute_copies", (double)ts.compute_copies);
    cJSON_AddNumberToObject(tj, "scatter_dispatches", (double)ts.scatter_dispatches);
    cJSON_AddNumberToObject(tj, "direct_bytes", (double)ts.direct_bytes);
    cJSON_AddNumberToObject(tj, "staged_bytes", (double)ts.staged_bytes);
    if (s.fails) fprintf(log, "%d checks FAILED\n", s.fails);
    cJSON_AddNumberToObject(root, "checks_failed", s.fails);
    int fails = s.fails;
    if ((args->json || args->out) && bench_emit_json(args, root)) fails++;
    cJSON_Delete(root);
    bench_compute_copy_destroy(s.ctx, &s.cc);
    bench_raw_buffer_destroy(s.ctx, &s.h_up);
    bench_raw_buffer_destroy(s.ctx, &s.h_down);
    bench_raw_buffer_destroy(s.ctx, &s.d_raw);
    sedx_buffer_release(&s.dev);
    sedx_buffer_release(&s.dev2);
    sedx_buffer_release(&s.staging);
    sedx_buffer_release(&s.big1);
    sedx_buffer_release(&s.big2);
    sedx_context_destroy(s.ctx);
    free(s.user);
    free(s.back);
    free(s.tmp);
    free(s.slots);
    free(s.ups);
    free(s.regions);
    return fails ? 1 : 0;
}

/* What importing user memory (VK_EXT_external_memory_host) would cost: pin + DMA + unpin, against
 * sedx_upload of the same bytes (the decision in docs/transfer.md rests on this). */
static import_result import_cost(st *s, int R)
{
    import_result res = {0};
    if (!(sedx_context_features(s->ctx) & SEDX_FEATURE_EXTERNAL_MEMORY_HOST)) return res;
    VkDevice vd = sedx_context_device(s->ctx);
    PFN_vkGetMemoryHostPointerPropertiesEXT get_props =
        (PFN_vkGetMemoryHostPointerPropertiesEXT)vkGetDeviceProcAddr(vd, "vkGetMemoryHostPointerPropertiesEXT");
    VkPhysicalDeviceExternalMemoryHostPropertiesEXT hp = {VK_STRUCTURE_TYPE_PHYSICAL_DEVICE_EXTERNAL_MEMORY_HOST_PROPERTIES_EXT};
    VkPhysicalDeviceProperties2 p2 = {VK_STRUCTURE_TYPE_PHYSICAL_DEVICE_PROPERTIES_2, &hp};
    vkGetPhysicalDeviceProperties2(sedx_context_physical_device(s->ctx), &p2);
    size_t align = (size_t)BMIN(hp.minImportedHostPointerAlignment, 1u << 21);
    if (align < 4096) align = 4096;
    void *pinned_src = NULL;
    uint64_t size = s->size;
    if (!get_props || posix_memalign(&pinned_src, align, size) != 0) return res;
    res.available = true;
    memcpy(pinned_src, s->user, size); /* pages touched: what a user buffer would be */
    double pin = 0, dma = 0, unpin = 0;
    int ok_runs = 0;
    for (int i = 0; i < R; ++i) {
        double ta = now_s();
        VkMemoryHostPointerPropertiesEXT mp = {VK_STRUCTURE_TYPE_MEMORY_HOST_POINTER_PROPERTIES_EXT};
        if (get_props(vd, VK_EXTERNAL_MEMORY_HANDLE_TYPE_HOST_ALLOCATION_BIT_EXT, pinned_src, &mp) != VK_SUCCESS) break;
        VkExternalMemoryBufferCreateInfo eb = {VK_STRUCTURE_TYPE_EXTERNAL_MEMORY_BUFFER_CREATE_INFO};
        eb.handleTypes = VK_EXTERNAL_MEMORY_HANDLE_TYPE_HOST_ALLOCATION_BIT_EXT;
        VkBufferCreateInfo bci = {VK_STRUCTURE_TYPE_BUFFER_CREATE_INFO, &eb};
        bci.size = size;
        bci.usage = VK_BUFFER_USAGE_TRANSFER_SRC_BIT;
        VkBuffer ib;
        if (vkCreateBuffer(vd, &bci, NULL, &ib) != VK_SUCCESS) break;
        VkMemoryRequirements mr;
        vkGetBufferMemoryRequirements(vd, ib, &mr);
        uint32_t bits = mp.memoryTypeBits & mr.memoryTypeBits, type = 0;
        while (bits && !(bits & (1u << type))) type++;
        VkImportMemoryHostPointerInfoEXT imp = {VK_STRUCTURE_TYPE_IMPORT_MEMORY_HOST_POINTER_INFO_EXT};
        imp.handleType = VK_EXTERNAL_MEMORY_HANDLE_TYPE_HOST_ALLOCATION_BIT_EXT;
        imp.pHostPointer = pinned_src;
        VkMemoryAllocateInfo ai = {VK_STRUCTURE_TYPE_MEMORY_ALLOCATE_INFO, &imp};
        ai.allocationSize = size;
        ai.memoryTypeIndex = type;
        VkDeviceMemory im;
        if (!bits || vkAllocateMemory(vd, &ai, NULL, &im) != VK_SUCCESS) {
            vkDestroyBuffer(vd, ib, NULL);
            break;
        }
        vkBindBufferMemory(vd, ib, im, 0);
        double t1 = now_s();
        bench_raw_copy(s->ctx, SEDX_QUEUE_GRAPHICS, ib, sedx_buffer_vk(&s->dev), size, 1, 0, NULL);
        double t2 = now_s();
        vkDestroyBuffer(vd, ib, NULL);
        vkFreeMemory(vd, im, NULL);
        double t3 = now_s();
        pin += t1 - ta;
        dma += t2 - t1;
        unpin += t3 - t2;
        ok_runs++;
    }
    if (ok_runs) {
        res.pin_ms = pin / ok_runs * 1e3;
        res.dma_ms = dma / ok_runs * 1e3;
        res.unpin_ms = unpin / ok_runs * 1e3;
        res.gbps = (double)size / ((pin + dma + unpin) / ok_runs) / 1e9;
    } else {
        res.refused = true;
    }
    free(pinned_src);
    return res;
}

static void import_report(const import_result *m, FILE *log, cJSON *base, uint64_t size, double up)
{
    if (!m->available) return;
    if (m->refused) {
        fprintf(log, "  import of user memory: the driver refused to import this memory\n");
        return;
    }
    fprintf(log, "  import of user memory (pin %.2f ms + DMA %.2f ms + unpin %.2f ms per %llu MiB) %.2f GB/s   vs "
                 "upload_pageable %.2f GB/s\n",
            m->pin_ms, m->dma_ms, m->unpin_ms, (unsigned long long)(size >> 20), m->gbps, up);
    cJSON *o = cJSON_AddObjectToObject(base, "import");
    cJSON_AddNumberToObject(o, "pin_ms", m->pin_ms);
    cJSON_AddNumberToObject(o, "dma_ms", m->dma_ms);
    cJSON_AddNumberToObject(o, "unpin_ms", m->unpin_ms);
    cJSON_AddNumberToObject(o, "GBps", m->gbps);
}
