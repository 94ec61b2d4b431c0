/* sedx-bench readback: the CPU cost of an asynchronous readback per request, in a loop that
 * mimics an editor's frames (docs/readback.md): each "frame" issues one 256-byte picking
 * readback (sedx_download_async) and takes the result of the one from --latency N frames ago
 * (sedx_download_poll, then sedx_download_result; a result not ready yet is waited for and
 * counted as a stall). Figures: the median over --runs runs of the mean per request of each
 * call, and their sum. Also: the same with a batch of --batch requests per frame (one submit,
 * sedx_download_async_batch), the callback form, and the blocking sedx_download for comparison.
 * Each in the default transfer mode and with SEDX_TRANSFER_NO_DIRECT.
 * Then the picking loop as an editor runs it, with sedx frames (--latency frames in flight): each
 * frame begins, records a little work of its own into one command buffer (sedx_cmd_begin,
 * vkCmdFillBuffer), asks for 256 bytes, submits, ends; and takes the answer of the frame
 * --latency frames earlier (poll, then result; not ready = a stall, waited for). Three loops in
 * the same run, alternated run by run: no readback (the baseline), the old path
 * (sedx_download_async: one sedx submission per request) and the new one
 * (sedx_download_async_record into the frame's command buffer, given its submission by
 * sedx_frame_end). Figures: the median over frames of the CPU ns of the frame's sedx calls,
 * the readback's share (minus the baseline), and the latency in frames (the first frame whose
 * poll succeeded, minus the frame that asked).
 * Between frames the loop spins --frame-us microseconds (default 100: a 10 kHz "frame rate"),
 * the rest of a frame; without it the loop would issue faster than any GPU finishes and measure
 * the GPU (sedx_cmd_begin waits once 64 submissions are in flight), not the CPU cost.
 *   sedx-bench readback [--frames N] [--latency N] [--size BYTES] [--batch N] [--frame-us N] [--runs N]
 *                       [--frame-loop-only] [--json] */
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

/* ------------------------------------------------------------------------------------------
 * The per-frame picking loop with sedx frames: old path vs new path
 * ---------------------------------------------------------------------------------------- */
enum { PICK_NONE = 0, PICK_OLD = 1, PICK_NEW = 2 };
static const char *const pick_names[3] = {"no readback (baseline)", "sedx_download_async (old)",
                                          "sedx_download_async_record (new)"};

/* Medians over the steady frames (those that ask and take) of each call's CPU ns in the frame. */
typedef struct pick_fig {
    double frame_ns;     /* every sedx call of the frame */
    double request_ns;   /* the request call */
    double take_ns;      /* poll + result */
    double end_ns;       /* sedx_frame_end (the new path's hook is in it) */
    double submit_ns;    /* sedx_cmd_submit */
    double readback_ns;  /* request + poll + result + frame_end */
    double latency;      /* median frames from request to the first successful poll */
    uint32_t latency_max;
    uint64_t stalls;
    bool ok;
} pick_fig;

static int cmp_u32(const void *a, const void *b)
{
    uint32_t x = *(const uint32_t *)a, y = *(const uint32_t *)b;
    return x < y ? -1 : x > y;
}

static pick_fig pick_loop(sedx_context *ctx, const sedx_buffer *src, const sedx_buffer *scratch, const uint8_t *expect,
                          const rb_opts *o, int mode)
{
    pick_fig f = {0};
    f.ok = true;
    uint32_t L = o->latency, n = o->frames;
    sedx_download_request *reqs = calloc(L + 1, sizeof *reqs);
    uint32_t *asked = calloc(L + 1, sizeof *asked);
    double *ns[6]; /* per frame: frame, request, take, end, submit, readback */
    for (int k = 0; k < 6; ++k) ns[k] = calloc(n + L, sizeof *ns[k]);
    uint32_t *lat = calloc(n, sizeof *lat);
    uint32_t nlat = 0;
    uint8_t *dst = malloc(o->size);
    for (uint32_t frame = 0; frame < n + L; ++frame) {
        double t_req = 0, t_take = 0, t_end = 0, t_sub = 0;
        double t0 = now_us();
        sedx_frame *fr;
        if (sedx_frame_begin(ctx, &fr) != SEDX_SUCCESS) {
            f.ok = false;
            break;
        }
        if (mode != PICK_NONE && frame >= L) { /* the answer of frame - L: must be there by now */
            sedx_download_request *old = &reqs[(frame - L) % (L + 1)];
            double a = now_us();
            sedx_result p = sedx_download_poll(ctx, old);
            if (p == SEDX_NOT_READY) {
                f.stalls++;
                double w = now_us();
                sedx_download_wait(ctx, old, UINT64_MAX);
                a += now_us() - w; /* the wait is a stall, not CPU cost */
            }
            if (sedx_download_result(ctx, old, dst) != SEDX_SUCCESS) f.ok = false;
            t_take = now_us() - a;
            uint32_t k = asked[(frame - L) % (L + 1)];
            if (memcmp(dst, expect + pick_offset(o, k), o->size) != 0) f.ok = false;
            lat[nlat++] = p == SEDX_NOT_READY ? L + 1 : L;
        }
        sedx_cmd cmd;
        if (sedx_cmd_begin(ctx, SEDX_QUEUE_GRAPHICS, &cmd) != SEDX_SUCCESS) {
            f.ok = false;
            break;
        }
        vkCmdFillBuffer(cmd.cmd, sedx_buffer_vk(scratch), 0, 256, frame); /* the frame's own work */
        if (mode != PICK_NONE && frame < n) {
            sedx_download_request *mine = &reqs[frame % (L + 1)];
            asked[frame % (L + 1)] = frame;
            double a = now_us();
            sedx_result r = mode == PICK_OLD ? sedx_download_async(ctx, src, pick_offset(o, frame), o->size, mine)
                                             : sedx_download_async_record(ctx, &cmd, src, pick_offset(o, frame),
                                                                          o->size, mine);
            t_req = now_us() - a;
            if (r != SEDX_SUCCESS) f.ok = false;
        }
        sedx_ticket tk;
        double a = now_us();
        if (sedx_cmd_submit(ctx, &cmd, NULL, &tk) != SEDX_SUCCESS) f.ok = false;
        t_sub = now_us() - a;
        a = now_us();
        if (sedx_frame_end(ctx, fr, tk) != SEDX_SUCCESS) f.ok = false;
        t_end = now_us() - a;
        double per[6] = {now_us() - t0, t_req, t_take, t_end, t_sub, t_req + t_take + t_end};
        for (int k = 0; k < 6; ++k) ns[k][frame] = per[k] * 1e3;
        for (double end = now_us() + o->frame_us; now_us() < end;) {
        }
    }
    /* the first L frames take nothing: the steady frames only */
    double *fld[6] = {&f.frame_ns, &f.request_ns, &f.take_ns, &f.end_ns, &f.submit_ns, &f.readback_ns};
    for (int k = 0; k < 6; ++k) *fld[k] = bench_median(ns[k] + L, (int)(n - L)); /* frames that ask and take */
    if (nlat) {
        qsort(lat, nlat, sizeof *lat, cmp_u32);
        f.latency = lat[nlat / 2];
        f.latency_max = lat[nlat - 1];
    }
    free(dst);
    free(lat);
    for (int k = 0; k < 6; ++k) free(ns[k]);
    free(asked);
    free(reqs);
    return f;
}

/* The three loops alternated run by run; the medians over runs. */
static int pick_report(FILE *log, cJSON *arr, sedx_context *ctx, const sedx_buffer *src, const uint8_t *expect,
                       const rb_opts *o, const char *modename, int R)
{
    sedx_buffer scratch;
    if (sedx_buffer_create(ctx, 256, SEDX_BUFFER_USAGE_STORAGE | SEDX_BUFFER_USAGE_TRANSFER_DST, SEDX_MEMORY_GPU,
                           "picking frame work", &scratch) != SEDX_SUCCESS)
        return 1;
    pick_fig *runs = calloc((size_t)R * 3, sizeof *runs);
    rb_opts warm = *o;
    warm.frames = o->frames < 200 ? o->frames : 200;
    for (int m = 0; m < 3; ++m) pick_loop(ctx, src, &scratch, expect, &warm, m); /* warm-up */
    for (int i = 0; i < R; ++i)
        for (int k = 0; k < 3; ++k) {
            int m = (i + k) % 3; /* alternate which goes first */
            runs[m * R + i] = pick_loop(ctx, src, &scratch, expect, o, m);
        }
    double *v = calloc((size_t)R, sizeof *v);
    double med[3][8];
    int fails = 0;
    for (int m = 0; m < 3; ++m) {
        pick_fig *rm = &runs[m * R];
        uint64_t stalls = 0;
        uint32_t lmax = 0;
        bool ok = true;
        for (int k = 0; k < 8; ++k) {
            for (int i = 0; i < R; ++i) {
                const double *fld[8] = {&rm[i].frame_ns, &rm[i].request_ns, &rm[i].take_ns, &rm[i].end_ns,
                                        &rm[i].submit_ns, &rm[i].latency, NULL, &rm[i].readback_ns};
                v[i] = fld[k] ? *fld[k] : (double)rm[i].latency_max;
            }
            med[m][k] = bench_median(v, R);
        }
        for (int i = 0; i < R; ++i) {
            stalls += rm[i].stalls;
            lmax = rm[i].latency_max > lmax ? rm[i].latency_max : lmax;
            ok &= rm[i].ok;
        }
        fails += !ok;
        /* the readback's CPU per frame: its calls, with frame_end's extra over the baseline's */
        double share = med[m][7] - med[0][3];
        if (m == 0)
            fprintf(log, "  %-9s frame loop, %-34s %8.0f ns/frame (cmd_submit %6.0f, frame_end %4.0f)%s\n", modename,
                    pick_names[m], med[m][0], med[m][4], med[m][3], ok ? "" : "  CHECK FAILED");
        else
            fprintf(log, "  %-9s frame loop, %-34s %8.0f ns/frame, readback %6.0f ns/frame (request %6.0f, poll+result "
                         "%4.0f, frame_end %4.0f; cmd_submit %6.0f); latency %.0f frames (max %u), stalls %llu%s\n",
                    modename, pick_names[m], med[m][0], share, med[m][1], med[m][2], med[m][3], med[m][4], med[m][5], lmax,
                    (unsigned long long)stalls, ok ? "" : "  CHECK FAILED");
        cJSON *e = cJSON_CreateObject();
        cJSON_AddStringToObject(e, "mode", modename);
        cJSON_AddStringToObject(e, "case", m == 0 ? "frame loop: no readback" : m == 1 ? "frame loop: old path"
                                                                                  : "frame loop: new path (record)");
        cJSON_AddNumberToObject(e, "frame_ns", med[m][0]);
        cJSON_AddNumberToObject(e, "readback_ns_per_frame", share);
        cJSON_AddNumberToObject(e, "request_ns", med[m][1]);
        cJSON_AddNumberToObject(e, "poll_result_ns", med[m][2]);
        cJSON_AddNumberToObject(e, "frame_end_ns", med[m][3]);
        cJSON_AddNumberToObject(e, "cmd_submit_ns", med[m][4]);
        cJSON_AddNumberToObject(e, "latency_frames", med[m][5]);
        cJSON_AddNumberToObject(e, "latency_frames_max", lmax);
        cJSON_AddNumberToObject(e, "stalls", (double)stalls);
        cJSON_AddBoolToObject(e, "ok", ok);
        cJSON_AddItemToArray(arr, e);
    }
    double old_share = med[1][7] - med[0][3], new_share = med[2][7] - med[0][3];
    fprintf(log, "  %-9s frame loop: readback CPU per frame, new / old = %.0f / %.0f ns = %.2fx; frame, new / old = "
                 "%.2fx\n", modename, new_share, old_share, old_share > 0 ? new_share / old_share : 0.0,
            med[2][0] / med[1][0]);
    free(v);
    free(runs);
    sedx_buffer_release(&scratch);
    return fails;
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
        sedx_frame_info fi = {0};
        fi.frames_in_flight = o.latency < 1 ? 1 : o.latency > SEDX_MAX_FRAMES_IN_FLIGHT ? SEDX_MAX_FRAMES_IN_FLIGHT
                                                                                          : o.latency;
        sedx_frames_configure(ctx, &fi);
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
        rb_opts po = o;
        po.latency = fi.frames_in_flight; /* the answer is taken frames_in_flight frames later */
        fails += pick_report(log, arr, ctx, &src, data, &po, modes[mode], R);
        if (bench_has_flag(args, "--frame-loop-only")) {
            sedx_buffer_release(&src);
            free(data);
            sedx_context_destroy(ctx);
            continue;
        }
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
