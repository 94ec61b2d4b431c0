/* sedx-bench readback: the CPU cost of an asynchronous readback per request, in a loop that
 * mimics an editor's frames (docs/readback.md): each "frame" issues one 256-byte picking
 * readback (sedx_download_async) and takes the result of the one from --latency N frames ago
 * (sedx_download_poll, then sedx_download_result; a result not ready yet is waited for and
 * counted as a stall). Figures: the median over --runs runs of the mean per request of each
 * call, and their sum. Also: the same with a batch of --batch requests per frame (one submit,
 * sedx_download_async_batch), the callback form, and the blocking sedx_download for comparison.
 * Each in the default transfer mode and with SEDX_TRANSFER_NO_DIRECT.
 * Between frames the loop spins --frame-us microseconds (default 100: a 10 kHz "frame rate"),
 * the rest of a frame; without it the loop would issue faster than any GPU finishes and measure
 * the GPU (sedx_cmd_begin waits once 64 submissions are in flight), not the CPU cost.
 *   sedx-bench readback [--frames N] [--latency N] [--size BYTES] [--batch N] [--frame-us N] [--runs N] [--json] */
#include "bench.h"

#include <cjson/cJSON.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

int bench_readback(const bench_args *args);

typedef struct rb_opts {
    uint32_t frames, latency, batch;
    uint64_t size;
    double frame_us; /* the rest of a "frame": spin this long after each frame's calls */
} rb_opts;

typedef struct rb_fig {
    double async_us, poll_us, result_us, total_us;
    uint64_t stalls;
    bool ok;
} rb_fig;

static double now_us(void) { return (double)sedx_time_ns() * 1e-3; }

static uint64_t arg_u64(const bench_args *args, const char *flag, uint64_t def)
{
    const char *v = bench_flag_value(args, flag);
    long long x = v ? atoll(v) : 0;
    return x > 0 ? (uint64_t)x : def;
}

/* Where request k reads: whole requests inside the 1 MiB source. */
static uint64_t pick_offset(const rb_opts *o, uint64_t k) { return (k % ((1u << 20) / o->size)) * o->size; }

static void on_pick(sedx_context *ctx, const void *data, uint64_t size, void *user)
{
    (void)ctx;
    uint64_t *sum = user;
    *sum += ((const uint8_t *)data)[0] + ((const uint8_t *)data)[size - 1];
}

/* One run of the frame loop; per = requests per frame (batch), kind 0 = handle, 1 = callback. */
static rb_fig frame_loop(sedx_context *ctx, const sedx_buffer *src, const uint8_t *expect, const rb_opts *o,
                         uint32_t per, int kind)
{
    rb_fig f = {0, 0, 0, 0, 0, true};
    uint32_t slots = (o->latency + 1) * per;
    sedx_download_request *reqs = calloc(slots, sizeof *reqs);
    sedx_download_async_info *infos = calloc(per, sizeof *infos);
    uint8_t *dst = malloc(o->size);
    uint64_t cb_sum = 0;
    double ta = 0, tp = 0, tr = 0;
    uint64_t n = 0;
    for (uint32_t frame = 0; frame < o->frames + o->latency; ++frame) {
        sedx_download_request *mine = &reqs[(frame % (o->latency + 1)) * per];
        if (frame < o->frames) {
            for (uint32_t i = 0; i < per; ++i)
                infos[i] = (sedx_download_async_info){src, pick_offset(o, (uint64_t)frame * per + i),
                                                      o->size, kind ? on_pick : NULL, &cb_sum};
            double t0 = now_us();
            sedx_result r = per == 1 && !kind ? sedx_download_async(ctx, src, infos[0].offset, o->size, mine)
                                              : sedx_download_async_batch(ctx, infos, per, kind ? NULL : mine);
            ta += now_us() - t0;
            if (r != SEDX_SUCCESS) f.ok = false;
            n += per;
        }
        for (double end = now_us() + o->frame_us; now_us() < end;) {
        }
        if (frame < o->latency) continue;
        sedx_download_request *old = &reqs[((frame - o->latency) % (o->latency + 1)) * per];
        uint32_t issued_at = frame - o->latency;
        if (kind) { /* callbacks: one pump per frame */
            double t0 = now_us();
            sedx_download_pump(ctx);
            tp += now_us() - t0;
            continue;
        }
        for (uint32_t i = 0; i < per; ++i) {
            double t0 = now_us();
            sedx_result p = sedx_download_poll(ctx, &old[i]);
            tp += now_us() - t0;
            if (p == SEDX_NOT_READY) {
                f.stalls++;
                sedx_download_wait(ctx, &old[i], UINT64_MAX);
            }
            t0 = now_us();
            if (sedx_download_result(ctx, &old[i], dst) != SEDX_SUCCESS) f.ok = false;
            tr += now_us() - t0;
            uint64_t off = pick_offset(o, (uint64_t)issued_at * per + i);
            if (memcmp(dst, expect + off, o->size) != 0) f.ok = false;
        }
    }
    if (kind) { /* the rest */
        sedx_context_wait_idle(ctx);
        double t0 = now_us();
        sedx_download_pump(ctx);
        tp += now_us() - t0;
    }
    f.async_us = ta / (double)n;
    f.poll_us = tp / (double)n;
    f.result_us = tr / (double)n;
    f.total_us = f.async_us + f.poll_us + f.result_us;
    free(dst);
    free(infos);
    free(reqs);
    return f;
}

static double blocking(sedx_context *ctx, const sedx_buffer *src, const rb_opts *o)
{
    uint8_t *dst = malloc(o->size);
    uint32_t n = o->frames < 2000 ? o->frames : 2000;
    double t0 = now_us();
    for (uint32_t i = 0; i < n; ++i) sedx_download(ctx, src, pick_offset(o, i), o->size, dst);
    double us = (now_us() - t0) / n;
    free(dst);
    return us;
}

static cJSON *report(FILE *log, cJSON *arr, const char *mode, const char *name, rb_fig *runs, int R)
{
    double *v = calloc((size_t)R, sizeof *v);
    rb_fig m = {0, 0, 0, 0, 0, true};
    double *fields[4] = {&m.async_us, &m.poll_us, &m.result_us, &m.total_us};
    for (int k = 0; k < 4; ++k) {
        for (int i = 0; i < R; ++i) v[i] = *(&runs[i].async_us + k);
        *fields[k] = bench_median(v, R);
    }
    for (int i = 0; i < R; ++i) {
        m.stalls += runs[i].stalls;
        m.ok &= runs[i].ok;
    }
    free(v);
    fprintf(log, "  %-9s %-34s async %6.2f  poll %5.2f  result %5.2f  = %6.2f us/request  (stalls %llu)%s\n", mode,
            name, m.async_us, m.poll_us, m.result_us, m.total_us, (unsigned long long)m.stalls,
            m.ok ? "" : "  CHECK FAILED");
    cJSON *e = cJSON_CreateObject();
    cJSON_AddStringToObject(e, "mode", mode);
    cJSON_AddStringToObject(e, "case", name);
    cJSON_AddNumberToObject(e, "async_us", m.async_us);
    cJSON_AddNumberToObject(e, "poll_us", m.poll_us);
    cJSON_AddNumberToObject(e, "result_us", m.result_us);
    cJSON_AddNumberToObject(e, "total_us", m.total_us);
    cJSON_AddNumberToObject(e, "stalls", (double)m.stalls);
    cJSON_AddBoolToObject(e, "ok", m.ok);
    cJSON_AddItemToArray(arr, e);
    return e;
}

int bench_readback(const bench_args *args)
{
    rb_opts o = {(uint32_t)arg_u64(args, "--frames", 5000), (uint32_t)arg_u64(args, "--latency", 3),
                 (uint32_t)arg_u64(args, "--batch", 16), arg_u64(args, "--size", 256),
                 (double)arg_u64(args, "--frame-us", 100)};
    if (o.size > (1u << 20)) o.size = 1u << 20;
    FILE *log = args->json ? stderr : stdout;
    cJSON *root = cJSON_CreateObject();
    char cpu[256];
    bench_add_machine(root, cpu, sizeof cpu);
    cJSON *arr = cJSON_AddArrayToObject(root, "results");
    int fails = 0;
    const char *modes[2] = {"default", "no_direct"};
    for (int mode = 0; mode < 2; ++mode) {
        sedx_context_info ci = {0};
        ci.flags = SEDX_CONTEXT_NO_ENV_VALIDATION;
        ci.app_name = "sedx-bench";
        sedx_transfer_info ti = {0};
        ti.flags = mode ? SEDX_TRANSFER_NO_DIRECT : 0;
        ci.transfer = &ti;
        sedx_context *ctx;
        if (sedx_context_create(&ci, &ctx) != SEDX_SUCCESS) {
            fprintf(stderr, "sedx-bench readback: no context\n");
            return 1;
        }
        if (mode == 0) {
            const VkPhysicalDeviceProperties *p = sedx_context_properties(ctx);
            fprintf(log, "sedx-bench readback: %u frames of %.0f us, result taken %u frames later, %llu bytes per "
                         "request, %d runs (median); stalls = results not ready when taken (waited, not counted)\n",
                    o.frames, o.frame_us, o.latency, (unsigned long long)o.size, args->runs);
            fprintf(log, "cpu: %s (%ld online)\n", cpu, sysconf(_SC_NPROCESSORS_ONLN));
            fprintf(log, "device: %s (%s)%s\n", p->deviceName, sedx_device_type_name(p->deviceType),
                    sedx_context_validation_enabled(ctx) ? ", VALIDATION ON (figures not meaningful)" : "");
            cJSON *d = cJSON_AddObjectToObject(root, "device");
            cJSON_AddStringToObject(d, "name", p->deviceName);
            cJSON_AddStringToObject(d, "type", sedx_device_type_name(p->deviceType));
            cJSON_AddNumberToObject(root, "frames", o.frames);
            cJSON_AddNumberToObject(root, "latency", o.latency);
            cJSON_AddNumberToObject(root, "size", (double)o.size);
            cJSON_AddNumberToObject(root, "batch", o.batch);
            cJSON_AddNumberToObject(root, "frame_us", o.frame_us);
        }
        uint8_t *data = malloc(1u << 20);
        uint64_t x = 0x9E3779B97F4A7C15ull;
        for (uint32_t i = 0; i < (1u << 20); ++i) {
            x ^= x << 13, x ^= x >> 7, x ^= x << 17;
            data[i] = (uint8_t)(x | 1);
        }
        sedx_buffer src;
        if (sedx_buffer_create_with_data(ctx, 1u << 20, SEDX_BUFFER_USAGE_STORAGE, SEDX_MEMORY_GPU, "picking source",
                                         data, &src) != SEDX_SUCCESS) {
            fprintf(stderr, "sedx-bench readback: buffer\n");
            return 1;
        }
        int R = args->runs;
        rb_fig *runs = calloc((size_t)R, sizeof *runs);
        char name[96];
        frame_loop(ctx, &src, data, &o, 1, 0); /* warm-up: the ring, command buffers */
        for (int i = 0; i < R; ++i) runs[i] = frame_loop(ctx, &src, data, &o, 1, 0);
        report(log, arr, modes[mode], "1 request per frame", runs, R);
        for (int i = 0; i < R; ++i) fails += !runs[i].ok;
        for (int i = 0; i < R; ++i) runs[i] = frame_loop(ctx, &src, data, &o, o.batch, 0);
        snprintf(name, sizeof name, "%u per frame, one batch", o.batch);
        report(log, arr, modes[mode], name, runs, R);
        for (int i = 0; i < R; ++i) fails += !runs[i].ok;
        for (int i = 0; i < R; ++i) runs[i] = frame_loop(ctx, &src, data, &o, 1, 1);
        report(log, arr, modes[mode], "1 per frame, callback (pump)", runs, R);
        for (int i = 0; i < R; ++i) runs[i] = frame_loop(ctx, &src, data, &o, o.batch, 1);
        snprintf(name, sizeof name, "%u per frame, batch + callback", o.batch);
        report(log, arr, modes[mode], name, runs, R);
        double *v = calloc((size_t)R, sizeof *v);
        for (int i = 0; i < R; ++i) v[i] = blocking(ctx, &src, &o);
        double bl = bench_median(v, R);
        free(v);
        fprintf(log, "  %-9s %-34s %6.2f us/request (waits for the GPU each time)\n", modes[mode],
                "blocking sedx_download", bl);
        cJSON *e = cJSON_CreateObject();
        cJSON_AddStringToObject(e, "mode", modes[mode]);
        cJSON_AddStringToObject(e, "case", "blocking sedx_download");
        cJSON_AddNumberToObject(e, "total_us", bl);
        cJSON_AddItemToArray(arr, e);
        free(runs);
        sedx_buffer_release(&src);
        free(data);
        sedx_context_destroy(ctx);
    }
    int rc = bench_emit_json(args, root);
    cJSON_Delete(root);
    return fails ? 1 : rc;
}
