/*
 * sedx-bench image: an image with its whole mip chain uploaded from pageable user memory, against
 * the same bytes uploaded into a device-local buffer, in one run (docs/images.md).
 *   image:  sedx_upload_image of every level (one region per level), sedx_upload_flush;
 *   buffer: sedx_upload of the same bytes (one region per level, same offsets), sedx_upload_flush;
 *   staged: the buffer upload in a context with SEDX_TRANSFER_NO_DIRECT (the path of a discrete
 *           GPU; where device-local memory is host-visible, as on lavapipe, the default buffer
 *           upload is one memcpy, which no optimal-tiling image upload can be).
 * Default: 4096 x 4096 RGBA8, 13 levels (85.3 MiB). Runs alternate (image, buffer, ...), medians
 * are compared, on the default transfer settings. Level 0 and the last level are read back and
 * checked after the warm-up. Options: --size N (width = height), --runs R, --json, --out FILE.
 */
#include "bench.h"

#include <cjson/cJSON.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

static double now_s(void) { return (double)sedx_time_ns() * 1e-9; }

typedef struct level {
    uint64_t offset, bytes;
} level;

static sedx_result run_image(sedx_context *ctx, sedx_image *img, const uint8_t *src, const level *lv)
{
    sedx_image_region rg[32];
    memset(rg, 0, sizeof rg);
    for (uint32_t m = 0; m < img->mip_levels; ++m) {
        rg[m].data = src + lv[m].offset;
        rg[m].mip_level = m;
    }
    sedx_result r = sedx_upload_image(ctx, img, rg, img->mip_levels, NULL);
    return r == SEDX_SUCCESS ? sedx_upload_flush(ctx) : r;
}

static sedx_result run_buffer(sedx_context *ctx, sedx_buffer *buf, const uint8_t *src, const level *lv, uint32_t n)
{
    for (uint32_t m = 0; m < n; ++m) {
        sedx_result r = sedx_upload(ctx, buf, lv[m].offset, lv[m].bytes, src + lv[m].offset);
        if (r != SEDX_SUCCESS) return r;
    }
    return sedx_upload_flush(ctx);
}

static int check(sedx_context *ctx, sedx_image *img, const uint8_t *src, const level *lv)
{
    int fails = 0;
    uint32_t ms[2] = {0, img->mip_levels - 1};
    for (int i = 0; i < 2; ++i) {
        uint8_t *back = malloc(lv[ms[i]].bytes);
        memset(back, 0, lv[ms[i]].bytes);
        sedx_image_region rg = {0};
        rg.mip_level = ms[i];
        if (sedx_download_image(ctx, img, &rg, back) != SEDX_SUCCESS ||
            memcmp(back, src + lv[ms[i]].offset, lv[ms[i]].bytes) != 0) {
            fprintf(stderr, "sedx-bench image: CHECK FAILED: level %u\n", ms[i]);
            fails++;
        }
        free(back);
    }
    return fails;
}

static sedx_context *make_ctx(FILE *log, cJSON *root, uint32_t size, int runs, uint32_t flags)
{
    sedx_context_info ci = {0};
    ci.flags = SEDX_CONTEXT_NO_ENV_VALIDATION;
    ci.app_name = "sedx-bench";
    sedx_transfer_info ti = {0};
    ti.flags = flags;
    ci.transfer = &ti;
    sedx_context *ctx;
    if (sedx_context_create(&ci, &ctx) != SEDX_SUCCESS) return NULL;
    if (flags) return ctx;
    const VkPhysicalDeviceProperties *p = sedx_context_properties(ctx);
    fprintf(log, "sedx-bench image on %s (driver 0x%x): %ux%u RGBA8 with its mip chain from pageable memory vs the "
                 "same bytes into a buffer, %d runs alternating (median)\n", p->deviceName, p->driverVersion, size,
            size, runs);
    cJSON_AddStringToObject(root, "device", p->deviceName);
    cJSON_AddNumberToObject(root, "driver_version", p->driverVersion);
    return ctx;
}

int bench_image(const bench_args *args)
{
    const char *sz = bench_flag_value(args, "--size");
    uint32_t size = (uint32_t)(sz && atoi(sz) > 0 ? atoi(sz) : 4096);
    FILE *log = args->json ? stderr : stdout;
    cJSON *root = cJSON_CreateObject();
    char cpu[256];
    bench_add_machine(root, cpu, sizeof cpu);
    fprintf(log, "cpu: %s (%ld online)\n", cpu, sysconf(_SC_NPROCESSORS_ONLN));
    sedx_context *ctx = make_ctx(log, root, size, args->runs, 0);
    sedx_context *ctx2 = ctx ? make_ctx(log, root, size, args->runs, SEDX_TRANSFER_NO_DIRECT) : NULL;
    if (!ctx || !ctx2) {
        fprintf(stderr, "sedx-bench image: no context\n");
        if (ctx) sedx_context_destroy(ctx);
        cJSON_Delete(root);
        return 1;
    }
    sedx_image_info ii = {0};
    ii.format = VK_FORMAT_R8G8B8A8_UNORM;
    ii.width = ii.height = size;
    ii.mip_levels = SEDX_MIP_LEVELS_FULL;
    ii.name = "bench image";
    sedx_image img;
    sedx_buffer buf = {0}, buf2 = {0};
    level lv[32];
    uint64_t total = 0;
    int fails = 0;
    if (sedx_image_create(ctx, &ii, &img) != SEDX_SUCCESS) fails++;
    for (uint32_t m = 0; !fails && m < img.mip_levels; ++m) {
        lv[m] = (level){total, sedx_image_mip_size(&img, m)};
        total += lv[m].bytes;
    }
    if (!fails && sedx_buffer_create(ctx, total, SEDX_BUFFER_USAGE_STORAGE, SEDX_MEMORY_GPU, "bench image bytes",
                                     &buf) != SEDX_SUCCESS)
        fails++;
    if (!fails && sedx_buffer_create(ctx2, total, SEDX_BUFFER_USAGE_STORAGE, SEDX_MEMORY_GPU, "bench image bytes",
                                     &buf2) != SEDX_SUCCESS)
        fails++;
    uint8_t *src = fails ? NULL : malloc(total); /* pageable: plain malloc, touched once */
    for (uint64_t i = 0; src && i < total; i += 8) {
        uint64_t x = (i + 1) * 0x9E3779B97F4A7C15ull;
        memcpy(src + i, &x, (size_t)(total - i < 8 ? total - i : 8));
    }
    if (!src) fails++;
    /* warm-up (ring creation, page faults) and the check */
    if (!fails) fails += run_image(ctx, &img, src, lv) != SEDX_SUCCESS;
    if (!fails) fails += run_buffer(ctx, &buf, src, lv, img.mip_levels) != SEDX_SUCCESS;
    if (!fails) fails += run_buffer(ctx2, &buf2, src, lv, img.mip_levels) != SEDX_SUCCESS;
    if (!fails) fails += check(ctx, &img, src, lv);
    int R = args->runs;
    double *ti = calloc((size_t)R, sizeof *ti), *tb = calloc((size_t)R, sizeof *tb), *ts = calloc((size_t)R, sizeof *ts);
    for (int i = 0; i < R && !fails; ++i) {
        double t0 = now_s();
        fails += run_image(ctx, &img, src, lv) != SEDX_SUCCESS;
        ti[i] = now_s() - t0;
        t0 = now_s();
        fails += run_buffer(ctx, &buf, src, lv, img.mip_levels) != SEDX_SUCCESS;
        tb[i] = now_s() - t0;
        t0 = now_s();
        fails += run_buffer(ctx2, &buf2, src, lv, img.mip_levels) != SEDX_SUCCESS;
        ts[i] = now_s() - t0;
    }
    if (!fails) {
        double mi = bench_median(ti, R), mb = bench_median(tb, R), ms = bench_median(ts, R);
        double gi = (double)total / mi / 1e9, gb = (double)total / mb / 1e9, gs = (double)total / ms / 1e9;
        sedx_transfer_stats st;
        sedx_transfer_get_stats(ctx, &st);
        fprintf(log, "  image %7.2f GB/s (%.2f ms)   buffer %7.2f GB/s (%.2f ms)   buffer staged %7.2f GB/s (%.2f ms)\n"
                     "  image/buffer %.2fx   image/buffer staged %.2fx   [%u levels, %.1f MiB, ring %llu MiB, %llu copy "
                     "regions, transfer queue %s]\n",
                gi, mi * 1e3, gb, mb * 1e3, gs, ms * 1e3, mb / mi, ms / mi, img.mip_levels, (double)total / 1048576.0,
                (unsigned long long)(st.staging_size >> 20), (unsigned long long)st.image_copy_regions,
                st.transfer_queue ? "yes" : "no");
        cJSON_AddNumberToObject(root, "width", size);
        cJSON_AddNumberToObject(root, "levels", img.mip_levels);
        cJSON_AddNumberToObject(root, "bytes", (double)total);
        cJSON_AddNumberToObject(root, "runs", R);
        cJSON_AddNumberToObject(root, "image_GBps", gi);
        cJSON_AddNumberToObject(root, "buffer_GBps", gb);
        cJSON_AddNumberToObject(root, "image_ms", mi * 1e3);
        cJSON_AddNumberToObject(root, "buffer_ms", mb * 1e3);
        cJSON_AddNumberToObject(root, "buffer_staged_GBps", gs);
        cJSON_AddNumberToObject(root, "buffer_staged_ms", ms * 1e3);
        cJSON_AddNumberToObject(root, "ratio", mb / mi);
        cJSON_AddNumberToObject(root, "ratio_staged", ms / mi);
    } else {
        fprintf(stderr, "sedx-bench image: FAILED\n");
    }
    free(ti);
    free(tb);
    free(ts);
    free(src);
    sedx_buffer_release(&buf);
    sedx_buffer_release(&buf2);
    if (ctx2) sedx_context_destroy(ctx2);
    sedx_image_release(&img);
    sedx_context_destroy(ctx);
    int rc = bench_emit_json(args, root);
    cJSON_Delete(root);
    return fails ? 1 : rc;
}
