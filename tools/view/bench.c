/*
 * sedx-view --bench: the scene's upload (geometry, then every texture with its level 0 uploaded
 * and its chain blitted, until GPU-resident) against a raw staging copy of the same bytes (one
 * memcpy into a host-visible staging buffer and one vkCmdCopyBuffer into device-local memory,
 * waited for), runs alternating, medians compared. The bytes: vertices + indices + the
 * textures' level 0 (the blitted levels never cross the bus).
 */
#include "view.h"

#include <stdlib.h>
#include <string.h>

static double now_s(void) { return (double)sedx_time_ns() * 1e-9; }

static int cmp(const void *x, const void *y)
{
    double a = *(const double *)x, b = *(const double *)y;
    return (a > b) - (a < b);
}

static int sedx_pass(sedx_context *ctx, const view_scene *s, double *seconds)
{
    char err[256];
    view_gpu g;
    double t0 = now_s();
    int rc = view_gpu_upload_geometry(ctx, s, &g, true, err, sizeof err);
    if (rc == VIEW_OK) rc = view_gpu_upload_materials(ctx, s, &g, err, sizeof err);
    if (rc == VIEW_OK) rc = view_gpu_resident(ctx, err, sizeof err);
    *seconds = now_s() - t0;
    view_gpu_free(&g);
    sedx_context_wait_idle(ctx);
    sedx_context_collect_garbage(ctx);
    return rc;
}

static int raw_pass(sedx_context *ctx, const view_scene *s, sedx_buffer *staging, sedx_buffer *dst, double *seconds)
{
    double t0 = now_s();
    uint8_t *p = staging->data;
    memcpy(p, s->vertices, s->vertex_count * sizeof(view_vertex));
    p += s->vertex_count * sizeof(view_vertex);
    memcpy(p, s->indices, s->index_count * 4);
    p += s->index_count * 4;
    for (uint32_t i = 0; i < s->texture_count; ++i) {
        size_t n = (size_t)s->textures[i].width * s->textures[i].height * 4;
        memcpy(p, s->textures[i].rgba, n);
        p += n;
    }
    sedx_result r = sedx_copy_buffer(ctx, sedx_buffer_vk(staging), sedx_buffer_vk(dst), staging->size);
    *seconds = now_s() - t0;
    return r == SEDX_SUCCESS ? VIEW_OK : VIEW_EXIT_GPU;
}

int view_bench_upload(sedx_context *ctx, const view_scene *s, uint32_t runs, FILE *log, double *sedx_gbps,
                      double *raw_gbps)
{
    uint64_t bytes = s->vertex_count * sizeof(view_vertex) + s->index_count * 4;
    for (uint32_t i = 0; i < s->texture_count; ++i) bytes += (uint64_t)s->textures[i].width * s->textures[i].height * 4;
    sedx_buffer staging, dst;
    if (sedx_staging_buffer_create(ctx, bytes, "bench staging", &staging) != SEDX_SUCCESS) return VIEW_EXIT_GPU;
    if (sedx_buffer_create(ctx, bytes, SEDX_BUFFER_USAGE_STORAGE, SEDX_MEMORY_GPU, "bench raw dst", &dst) != SEDX_SUCCESS) {
        sedx_buffer_release(&staging);
        return VIEW_EXIT_GPU;
    }
    double *ts = calloc(runs, sizeof *ts), *tr = calloc(runs, sizeof *tr);
    int rc = ts && tr ? VIEW_OK : VIEW_EXIT_GPU;
    double warm;
    if (rc == VIEW_OK) rc = sedx_pass(ctx, s, &warm);
    if (rc == VIEW_OK) rc = raw_pass(ctx, s, &staging, &dst, &warm);
    for (uint32_t i = 0; rc == VIEW_OK && i < runs; ++i) {
        rc = sedx_pass(ctx, s, &ts[i]);
        if (rc == VIEW_OK) rc = raw_pass(ctx, s, &staging, &dst, &tr[i]);
    }
    if (rc == VIEW_OK) {
        qsort(ts, runs, sizeof *ts, cmp);
        qsort(tr, runs, sizeof *tr, cmp);
        *sedx_gbps = (double)bytes / ts[runs / 2] / 1e9;
        *raw_gbps = (double)bytes / tr[runs / 2] / 1e9;
        fprintf(log, "  bench: %.2f MB, %u runs alternating: sedx %.3f ms (%.2f GB/s), raw staging copy %.3f ms "
                     "(%.2f GB/s): %.2fx\n", (double)bytes / 1e6, runs, ts[runs / 2] * 1e3, *sedx_gbps,
                tr[runs / 2] * 1e3, *raw_gbps, *sedx_gbps / *raw_gbps);
    }
    free(ts);
    free(tr);
    sedx_buffer_release(&staging);
    sedx_buffer_release(&dst);
    return rc;
}
