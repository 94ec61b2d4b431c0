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

static int sedx_pass(sedx_context *ctx, const view_scene *s, bool mips, double *seconds)
{
    char err[256];
    view_gpu g;
    view_gpu_set_no_mips(!mips);
    double t0 = now_s();
    int rc = view_gpu_upload_geometry(ctx, s, &g, 0, true, err, sizeof err);
    if (rc == VIEW_OK) rc = view_gpu_upload_materials(ctx, s, &g, err, sizeof err);
    if (rc == VIEW_OK) rc = view_gpu_resident(ctx, err, sizeof err);
    *seconds = now_s() - t0;
    view_gpu_set_no_mips(false);
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

int view_bench_upload(sedx_context *ctx, const view_scene *s, uint32_t runs, FILE *log, view_bench *out)
{
    uint64_t bytes = s->vertex_count * sizeof(view_vertex) + s->index_count * 4;
    for (uint32_t i = 0; i < s->texture_count; ++i) bytes += (uint64_t)s->textures[i].width * s->textures[i].height * 4;
    sedx_buffer staging, dst;
    if (sedx_staging_buffer_create(ctx, bytes, "bench staging", &staging) != SEDX_SUCCESS) return VIEW_EXIT_GPU;
    if (sedx_buffer_create(ctx, bytes, SEDX_BUFFER_USAGE_STORAGE, SEDX_MEMORY_GPU, "bench raw dst", &dst) != SEDX_SUCCESS) {
        sedx_buffer_release(&staging);
        return VIEW_EXIT_GPU;
    }
    double *t[3];
    for (int k = 0; k < 3; ++k) t[k] = calloc(runs + 1, sizeof(double));
    int rc = t[0] && t[1] && t[2] ? VIEW_OK : VIEW_EXIT_GPU;
    for (uint32_t i = 0; rc == VIEW_OK && i <= runs; ++i) { /* run 0 warms up; alternating */
        rc = sedx_pass(ctx, s, false, &t[0][i]);
        if (rc == VIEW_OK) rc = sedx_pass(ctx, s, true, &t[1][i]);
        if (rc == VIEW_OK) rc = raw_pass(ctx, s, &staging, &dst, &t[2][i]);
    }
    if (rc == VIEW_OK) {
        double m[3];
        for (int k = 0; k < 3; ++k) {
            qsort(t[k] + 1, runs, sizeof(double), cmp);
            m[k] = t[k][1 + runs / 2];
        }
        *out = (view_bench){(double)bytes / m[0] / 1e9, (double)bytes / m[1] / 1e9, (double)bytes / m[2] / 1e9, bytes};
        fprintf(log, "  bench: %.2f MB, %u runs alternating (medians): sedx upload %.3f ms (%.2f GB/s), with the mip "
                     "chains blitted %.3f ms (%.2f GB/s), raw staging copy %.3f ms (%.2f GB/s): %.2fx / %.2fx\n",
                (double)bytes / 1e6, runs, m[0] * 1e3, out->upload_gbps, m[1] * 1e3, out->full_gbps, m[2] * 1e3,
                out->raw_gbps, out->upload_gbps / out->raw_gbps, out->full_gbps / out->raw_gbps);
    }
    for (int k = 0; k < 3; ++k) free(t[k]);
    sedx_buffer_release(&staging);
    sedx_buffer_release(&dst);
    return rc;
}
