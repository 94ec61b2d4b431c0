/*
 * sedx-view: loads a 3D model with assimp and renders it offscreen through the sedx buffer
 * system (docs/viewer.md), built from sedx modules on a module stack:
 *   MeshModule      the model read with assimp; vertices and indices into two sedx buffers
 *   MaterialModule  base colour textures as sedx images with their mip chains, the materials in
 *                   a storage buffer found by its bindless ID, a checker where a texture is missing
 *   RenderModule    frames in flight: camera and transforms in transient memory, one draw per
 *                   object, the object ID under the pick pixel read back asynchronously
 *   StatsModule     frame times, sedx's share of them, the picked object
 *   RayTraceModule  (--raytrace) the scene's acceleration structures and a ray-tracing pipeline;
 *                   after the last frame, its primary rays traced into raytrace.png and its
 *                   object IDs compared with the raster pass's, pixel by pixel
 * Then frame.png (the last frame, read with sedx_download_image), stats.json (sedx_stats_json
 * and the viewer's summary), trace.json (profiling scopes), memory.json (the allocator's dump)
 * and memory.png (that dump drawn as a memory map, as `sedx-report memory` draws it).
 */
#include "view.h"
#include "memory_map.h"

#include <cjson/cJSON.h>
#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

typedef struct app {
    view_options o;
    sedx_context *ctx;
    view_scene scene;
    view_gpu gpu;
    view_renderer *r;
    int rc;
    char err[2048];
    double load_ms, upload_ms;
    uint32_t frame;
    double *frame_ms, *sedx_us;
    int64_t picked;
    view_tracer *tracer;       /* --raytrace */
    uint8_t *traced_rgba;      /* the traced image, for raytrace.png */
    view_trace_stats rt;
    view_id_match match;
} app;

static double now_ms(void) { return (double)sedx_time_ns() * 1e-6; }

static app *of(sedx_module *m) { return sedx_module_user(m); }

/* A module's failure: the exit code stays in the app; the stack only needs a negative result. */
static sedx_result failed(app *a, int rc)
{
    a->rc = rc;
    return rc == VIEW_OK ? SEDX_SUCCESS : SEDX_ERROR_INVALID_ARGUMENT;
}

/* ---- MeshModule ---- */
static sedx_result mesh_attach(sedx_module *m)
{
    app *a = of(m);
    double t0 = now_ms();
    int rc = view_scene_load(a->o.model, &a->scene, a->err, sizeof a->err);
    a->load_ms = now_ms() - t0;
    if (rc != VIEW_OK) return failed(a, rc);
    t0 = now_ms();
    /* with --raytrace the BLAS are built straight from the vertex and index buffers */
    sedx_buffer_usage_flags extra = a->o.raytrace ? SEDX_BUFFER_USAGE_ACCELERATION_STRUCTURE_INPUT : 0;
    rc = view_gpu_upload_geometry(a->ctx, &a->scene, &a->gpu, extra, a->o.quiet, a->err, sizeof a->err);
    a->upload_ms += now_ms() - t0;
    return failed(a, rc);
}
static void mesh_ui(sedx_module *m, char *text, size_t cap)
{
    const view_scene *s = &of(m)->scene;
    sedx_text_append(text, cap, "%u meshes, %u objects, %llu vertices, %llu triangles, %.2f MB of geometry\n",
                     s->mesh_count, s->object_count, (unsigned long long)s->vertex_count,
                     (unsigned long long)(s->index_count / 3), (double)of(m)->gpu.geometry_bytes / 1e6);
}

/* ---- MaterialModule ---- */
static sedx_result material_attach(sedx_module *m)
{
    app *a = of(m);
    double t0 = now_ms();
    int rc = view_gpu_upload_materials(a->ctx, &a->scene, &a->gpu, a->err, sizeof a->err);
    if (rc == VIEW_OK) rc = view_gpu_resident(a->ctx, a->err, sizeof a->err);
    a->upload_ms += now_ms() - t0;
    return failed(a, rc);
}
static void material_ui(sedx_module *m, char *text, size_t cap)
{
    const app *a = of(m);
    sedx_text_append(text, cap, "%u materials, %u textures (%.2f MB, whole mip chains), %u missing\n",
                     a->scene.material_count, a->scene.texture_count, (double)a->gpu.texture_bytes / 1e6,
                     a->scene.missing_textures);
}

/* ---- RenderModule ---- */
static sedx_result render_attach(sedx_module *m)
{
    app *a = of(m);
    sedx_frame_info fi = {0};
    fi.frames_in_flight = a->o.frames_in_flight;
    uint64_t per_frame = (uint64_t)a->scene.object_count * 64 + 4096; /* the transforms, the camera */
    fi.block_size = per_frame <= (1u << 20) ? 0 : ((per_frame + 255) & ~255ull);
    if (fi.block_size > (256ull << 20)) return failed(a, VIEW_EXIT_LIMITS);
    if (sedx_frames_configure(a->ctx, &fi) != SEDX_SUCCESS) return failed(a, VIEW_EXIT_GPU);
    return failed(a, view_renderer_create(a->ctx, &a->o, &a->scene, &a->gpu, &a->r, a->err, sizeof a->err));
}
static void render_update(sedx_module *m, double dt)
{
    (void)dt;
    app *a = of(m);
    if (a->rc != VIEW_OK || a->frame >= a->o.frames) return;
    view_frame_result res;
    a->rc = view_renderer_frame(a->r, a->frame, &res);
    if (a->rc != VIEW_OK) snprintf(a->err, sizeof a->err, "frame %u failed", a->frame);
    a->frame_ms[a->frame] = res.cpu_ms;
    a->sedx_us[a->frame] = res.sedx_us;
    a->picked = res.picked;
}
static void render_detach(sedx_module *m)
{
    app *a = of(m);
    view_renderer_destroy(a->r);
    a->r = NULL;
}

/* ---- RayTraceModule (--raytrace) ---- */
static sedx_result raytrace_attach(sedx_module *m)
{
    app *a = of(m);
    int rc = view_tracer_create(a->ctx, &a->o, &a->scene, &a->gpu, &a->tracer, a->err, sizeof a->err);
    if (rc != VIEW_OK) { /* a module whose attach fails is never detached */
        view_tracer_destroy(a->tracer);
        a->tracer = NULL;
    }
    return failed(a, rc);
}
static void raytrace_detach(sedx_module *m)
{
    app *a = of(m);
    view_tracer_destroy(a->tracer);
    a->tracer = NULL;
}
static void raytrace_ui(sedx_module *m, char *text, size_t cap)
{
    const app *a = of(m);
    sedx_text_append(text, cap, "%u BLAS, %u instances, %.2f MB of acceleration structures\n", a->rt.blas_count,
                     a->rt.instance_count, (double)a->rt.as_bytes / 1e6);
}

/* The last frame's primary rays, traced with that frame's camera; their object IDs against the
 * raster pass's ID target after that frame. */
static int raytrace(app *a)
{
    size_t pixels = (size_t)a->o.width * a->o.height;
    uint32_t *traced = malloc(pixels * sizeof *traced), *raster = malloc(pixels * sizeof *raster);
    a->traced_rgba = malloc(pixels * 4);
    int rc = traced && raster && a->traced_rgba ? VIEW_OK : VIEW_EXIT_GPU;
    if (rc != VIEW_OK) snprintf(a->err, sizeof a->err, "out of host memory for the traced image");
    view_camera cam;
    view_renderer_camera(a->r, a->o.frames - 1, &cam);
    if (rc == VIEW_OK) rc = view_tracer_trace(a->tracer, &cam, a->traced_rgba, traced, &a->rt, a->err, sizeof a->err);
    if (rc == VIEW_OK && (rc = view_renderer_read_ids(a->r, raster)) != VIEW_OK)
        snprintf(a->err, sizeof a->err, "reading the raster pass's object IDs failed");
    if (rc == VIEW_OK) a->match = view_ids_compare(traced, raster, pixels);
    free(traced);
    free(raster);
    return rc;
}

/* ---- StatsModule ---- */
static int cmp_double(const void *x, const void *y)
{
    double a = *(const double *)x, b = *(const double *)y;
    return (a > b) - (a < b);
}
static double median(const double *v, uint32_t n)
{
    if (!n) return 0;
    double *c = malloc(n * sizeof *c);
    if (!c) return 0;
    memcpy(c, v, n * sizeof *c);
    qsort(c, n, sizeof *c, cmp_double);
    double m = c[n / 2];
    free(c);
    return m;
}
static void stats_update(sedx_module *m, double dt)
{
    (void)dt;
    app *a = of(m);
    if (!a->o.quiet && a->rc == VIEW_OK && (a->frame + 1) % 20 == 0)
        fprintf(stderr, "  frame %u/%u: %.2f ms CPU\n", a->frame + 1, a->o.frames, a->frame_ms[a->frame]);
    a->frame++;
}
static void stats_ui(sedx_module *m, char *text, size_t cap)
{
    const app *a = of(m);
    sedx_text_append(text, cap, "%u frames, median %.3f ms CPU per frame, sedx %.2f us of it\n", a->frame,
                     median(a->frame_ms, a->frame), median(a->sedx_us, a->frame));
}

/* ---- outputs ---- */

static const char *picked_name(const app *a)
{
    if (a->picked < 0 || (uint64_t)a->picked >= a->scene.object_count) return NULL;
    return a->scene.meshes[a->scene.objects[a->picked].mesh].name;
}

static bool write_text(const char *path, const char *text)
{
    FILE *f = fopen(path, "w");
    if (!f) return false;
    bool ok = fputs(text, f) >= 0;
    return fclose(f) == 0 && ok;
}

static bool write_stats(const app *a, const char *path, const view_bench *b)
{
    char *sedx = NULL;
    if (sedx_stats_json(a->ctx, &sedx) != SEDX_SUCCESS) return false;
    cJSON *root = cJSON_CreateObject(), *v = cJSON_AddObjectToObject(root, "viewer");
    cJSON_AddStringToObject(v, "model", a->o.model);
    cJSON_AddNumberToObject(v, "meshes", a->scene.mesh_count);
    cJSON_AddNumberToObject(v, "objects", a->scene.object_count);
    cJSON_AddNumberToObject(v, "vertices", (double)a->scene.vertex_count);
    cJSON_AddNumberToObject(v, "triangles", (double)(a->scene.index_count / 3));
    cJSON_AddNumberToObject(v, "textures", a->scene.texture_count);
    cJSON_AddNumberToObject(v, "missing_textures", a->scene.missing_textures);
    cJSON_AddNumberToObject(v, "geometry_bytes", (double)a->gpu.geometry_bytes);
    cJSON_AddNumberToObject(v, "texture_bytes", (double)a->gpu.texture_bytes);
    cJSON_AddNumberToObject(v, "load_ms", a->load_ms);
    cJSON_AddNumberToObject(v, "upload_ms", a->upload_ms);
    cJSON_AddNumberToObject(v, "frames", a->frame);
    cJSON_AddNumberToObject(v, "frames_in_flight", a->o.frames_in_flight);
    cJSON_AddNumberToObject(v, "width", a->o.width);
    cJSON_AddNumberToObject(v, "height", a->o.height);
    cJSON_AddNumberToObject(v, "frame_cpu_ms_median", median(a->frame_ms, a->frame));
    cJSON_AddNumberToObject(v, "sedx_us_per_frame_median", median(a->sedx_us, a->frame));
    cJSON_AddNumberToObject(v, "picked_object", (double)a->picked);
    cJSON_AddStringToObject(v, "picked_mesh", picked_name(a) ? picked_name(a) : "");
    cJSON_AddNumberToObject(v, "pick_latency_frames", a->r ? view_renderer_pick_latency(a->r) : 0);
    if (b->bytes) {
        cJSON *o = cJSON_AddObjectToObject(v, "bench");
        cJSON_AddNumberToObject(o, "bytes", (double)b->bytes);
        cJSON_AddNumberToObject(o, "upload_GBps", b->upload_gbps);
        cJSON_AddNumberToObject(o, "upload_with_mips_GBps", b->full_gbps);
        cJSON_AddNumberToObject(o, "raw_staging_GBps", b->raw_gbps);
        cJSON_AddNumberToObject(o, "ratio", b->upload_gbps / b->raw_gbps);
        cJSON_AddNumberToObject(o, "ratio_with_mips", b->full_gbps / b->raw_gbps);
    }
    if (a->traced_rgba) {
        cJSON *o = cJSON_AddObjectToObject(root, "raytrace");
        cJSON_AddNumberToObject(o, "width", a->o.width);
        cJSON_AddNumberToObject(o, "height", a->o.height);
        cJSON_AddNumberToObject(o, "covered_pixels", (double)a->match.covered);
        cJSON_AddNumberToObject(o, "matching_pixels", (double)a->match.matching);
        cJSON_AddNumberToObject(o, "match_ratio", a->match.ratio);
        cJSON_AddNumberToObject(o, "trace_ms", a->rt.trace_ms);
        cJSON_AddStringToObject(o, "trace_timer", a->rt.gpu_timed ? "gpu_timestamps" : "cpu_submit_to_done");
        cJSON_AddNumberToObject(o, "blas_count", a->rt.blas_count);
        cJSON_AddNumberToObject(o, "instance_count", a->rt.instance_count);
        cJSON_AddNumberToObject(o, "as_bytes", (double)a->rt.as_bytes);
        cJSON_AddNumberToObject(o, "sbt_bytes", (double)a->rt.sbt_bytes);
    }
    cJSON_AddItemToObject(root, "sedx", cJSON_Parse(sedx));
    sedx_memory_free_string(sedx);
    char *text = cJSON_Print(root);
    bool ok = text && write_text(path, text);
    cJSON_free(text);
    cJSON_Delete(root);
    return ok;
}

static int write_outputs(app *a, const view_bench *b)
{
    char path[1200];
    if (mkdir(a->o.out_dir, 0777) != 0 && errno != EEXIST) {
        snprintf(a->err, sizeof a->err, "cannot create the output folder '%s'", a->o.out_dir);
        return VIEW_EXIT_OUTPUT;
    }
    uint8_t *rgba = malloc((size_t)a->o.width * a->o.height * 4);
    int rc = rgba ? view_renderer_read_color(a->r, rgba) : VIEW_EXIT_GPU;
    snprintf(path, sizeof path, "%s/frame.png", a->o.out_dir);
    if (rc == VIEW_OK && !view_png_write(path, rgba, a->o.width, a->o.height)) rc = VIEW_EXIT_OUTPUT;
    free(rgba);
    snprintf(path, sizeof path, "%s/raytrace.png", a->o.out_dir);
    if (rc == VIEW_OK && a->traced_rgba && !view_png_write(path, a->traced_rgba, a->o.width, a->o.height))
        rc = VIEW_EXIT_OUTPUT;
    snprintf(path, sizeof path, "%s/stats.json", a->o.out_dir);
    if (rc == VIEW_OK && !write_stats(a, path, b)) rc = VIEW_EXIT_OUTPUT;
    snprintf(path, sizeof path, "%s/trace.json", a->o.out_dir);
    if (rc == VIEW_OK && sedx_profile_write_trace(path) != SEDX_SUCCESS) rc = VIEW_EXIT_OUTPUT;
    char *mem = NULL;
    snprintf(path, sizeof path, "%s/memory.json", a->o.out_dir);
    if (rc == VIEW_OK && (sedx_memory_dump_json(a->ctx, &mem) != SEDX_SUCCESS || !write_text(path, mem)))
        rc = VIEW_EXIT_OUTPUT;
    report_image map = {0};
    char why[256];
    snprintf(path, sizeof path, "%s/memory.png", a->o.out_dir); /* the memory map, as sedx-report draws it */
    if (rc == VIEW_OK && (report_memory_map(mem, 1024, &map, why, sizeof why) != 0 ||
                          report_write_png(&map, path, why, sizeof why) != 0))
        rc = VIEW_EXIT_OUTPUT;
    report_image_free(&map);
    sedx_memory_free_string(mem);
    if (rc != VIEW_OK && !a->err[0]) snprintf(a->err, sizeof a->err, "writing the outputs into '%s' failed", a->o.out_dir);
    return rc;
}

static void summary(const app *a, const view_bench *b)
{
    const view_scene *s = &a->scene;
    double mb = (double)(a->gpu.geometry_bytes + a->gpu.texture_bytes) / 1e6;
    printf("sedx-view: %s\n", a->o.model);
    printf("  loaded:  %u meshes, %u objects, %llu vertices, %llu triangles, %u textures (%u missing), in %.1f ms\n",
           s->mesh_count, s->object_count, (unsigned long long)s->vertex_count,
           (unsigned long long)(s->index_count / 3), s->texture_count, s->missing_textures, a->load_ms);
    printf("  upload:  %.2f MB (geometry %.2f MB, textures %.2f MB + mip chains blitted) in %.1f ms: %.2f GB/s\n", mb,
           (double)a->gpu.geometry_bytes / 1e6, (double)a->gpu.texture_bytes / 1e6, a->upload_ms,
           mb / a->upload_ms);
    if (b->bytes)
        printf("  bench:   scene upload %.2f GB/s (%.2f GB/s with the mip blits), raw staging copy of the same bytes "
               "%.2f GB/s: %.2fx (%.2fx)\n", b->upload_gbps, b->full_gbps, b->raw_gbps, b->upload_gbps / b->raw_gbps,
               b->full_gbps / b->raw_gbps);
    printf("  frames:  %u at %ux%u, %u in flight: %.3f ms CPU per frame (median), sedx's share %.2f us\n", a->frame,
           a->o.width, a->o.height, a->o.frames_in_flight, median(a->frame_ms, a->frame),
           median(a->sedx_us, a->frame));
    const char *name = picked_name(a);
    printf("  picked:  (%d,%d): %s%s%s (object %lld), answered %u frames after its request\n",
           a->o.pick_x >= 0 ? a->o.pick_x : (int)a->o.width / 2, a->o.pick_y >= 0 ? a->o.pick_y : (int)a->o.height / 2,
           name ? "mesh '" : "", name ? name : "background", name ? "'" : "", (long long)a->picked,
           a->r ? view_renderer_pick_latency(a->r) : 0);
    if (a->traced_rgba)
        printf("  raytrace: %ux%u traced in %.3f ms, object IDs match the raster image on %.2f %% of %llu covered "
               "pixels\n", a->o.width, a->o.height, a->rt.trace_ms, a->match.ratio * 100.0,
               (unsigned long long)a->match.covered);
    printf("  outputs: %s/frame.png, %sstats.json, trace.json, memory.json, memory.png\n", a->o.out_dir,
           a->traced_rgba ? "raytrace.png, " : "");
}

static int run(app *a)
{
    sedx_module_stack *stack;
    if (sedx_module_stack_create(a->ctx, &stack) != SEDX_SUCCESS) return VIEW_EXIT_GPU;
    const sedx_module_desc mods[] = {
        {"MeshModule", a, mesh_attach, NULL, NULL, mesh_ui},
        {"MaterialModule", a, material_attach, NULL, NULL, material_ui},
        {"RenderModule", a, render_attach, render_detach, render_update, NULL},
        {"StatsModule", a, NULL, NULL, stats_update, stats_ui},
        {"RayTraceModule", a, raytrace_attach, raytrace_detach, NULL, raytrace_ui},
    };
    size_t count = sizeof mods / sizeof mods[0] - (a->o.raytrace ? 0 : 1);
    for (size_t i = 0; i < count && a->rc == VIEW_OK; ++i)
        if (sedx_module_push(stack, &mods[i], NULL) != SEDX_SUCCESS && a->rc == VIEW_OK) a->rc = VIEW_EXIT_GPU;
    view_bench bench = {0};
    if (a->rc == VIEW_OK && a->o.bench) a->rc = view_bench_upload(a->ctx, &a->scene, 5, stderr, &bench);
    while (a->rc == VIEW_OK && a->frame < a->o.frames) sedx_module_stack_update(stack, 1.0 / 60.0);
    if (a->rc == VIEW_OK) a->rc = view_renderer_finish(a->r, &a->picked);
    if (a->rc == VIEW_OK && a->tracer) a->rc = raytrace(a);
    if (a->rc == VIEW_OK) a->rc = write_outputs(a, &bench);
    if (a->rc == VIEW_OK && !a->o.quiet) {
        char ui[4096];
        sedx_module_stack_ui(stack, ui, sizeof ui);
        fprintf(stderr, "%s", ui);
    }
    if (a->rc == VIEW_OK) summary(a, &bench);
    sedx_module_stack_destroy(stack);
    return a->rc;
}

/* --raytrace needs both extensions: without them, a distinct exit code before any work. */
static int check_raytracing(app *a)
{
    uint32_t f = sedx_context_features(a->ctx);
    bool as = f & SEDX_FEATURE_ACCELERATION_STRUCTURE, pipe = f & SEDX_FEATURE_RAY_TRACING_PIPELINE;
    if (!a->o.raytrace || (as && pipe)) return VIEW_OK;
    snprintf(a->err, sizeof a->err, "ray tracing is not available on this device (%s: %s%s%s; sedx-info lists the "
             "features sedx enabled)", sedx_context_properties(a->ctx)->deviceName,
             as ? "" : "no VK_KHR_acceleration_structure", as || pipe ? "" : ", ",
             pipe ? "" : "no VK_KHR_ray_tracing_pipeline");
    return VIEW_EXIT_NO_RAYTRACING;
}

int main(int argc, char **argv)
{
    static app a;
    a.rc = view_options_parse(argc, argv, &a.o);
    if (a.rc < 0) return 0; /* --help */
    if (a.rc != VIEW_OK) return a.rc;
    a.frame_ms = calloc(a.o.frames, sizeof *a.frame_ms);
    a.sedx_us = calloc(a.o.frames, sizeof *a.sedx_us);
    a.picked = -2;
    sedx_profile_enable(true);
    if (a.o.quiet || !getenv("SEDX_LOG_LEVEL")) sedx_set_log_level(SEDX_LOG_WARN); /* SEDX_LOG_LEVEL=info shows more */
    sedx_context_info ci = {0};
    ci.app_name = "sedx-view";
    ci.flags = (a.o.validation ? SEDX_CONTEXT_VALIDATION : 0) | (a.o.sync_validation ? SEDX_CONTEXT_SYNC_VALIDATION : 0);
    ci.device = a.o.device[0] ? a.o.device : NULL;
    if (!a.frame_ms || !a.sedx_us || sedx_context_create(&ci, &a.ctx) != SEDX_SUCCESS) {
        fprintf(stderr, "sedx-view: no Vulkan context (sedx-info lists the devices)\n");
        return VIEW_EXIT_GPU;
    }
    if (!a.o.quiet)
        fprintf(stderr, "sedx-view on %s%s: %s\n", sedx_context_properties(a.ctx)->deviceName,
                a.o.validation ? " (validation on)" : "", a.o.model);
    a.rc = check_raytracing(&a);
    if (a.rc == VIEW_OK) a.rc = run(&a);
    view_gpu_free(&a.gpu);
    uint32_t verrs = a.o.validation ? sedx_context_validation_error_count(a.ctx) +
                                          sedx_context_validation_warning_count(a.ctx)
                                    : 0;
    sedx_context_destroy(a.ctx);
    if (a.rc == VIEW_OK && verrs) {
        a.rc = VIEW_EXIT_GPU;
        snprintf(a.err, sizeof a.err, "the validation layer reported %u message(s)", verrs);
    }
    if (a.rc == VIEW_OK && a.scene.missing_textures && !a.o.allow_missing_textures) {
        a.rc = VIEW_EXIT_TEXTURE;
        snprintf(a.err, sizeof a.err, "%u texture(s) missing or unreadable (rendered with a checker; "
                 "--allow-missing-textures accepts that)", a.scene.missing_textures);
    }
    if (a.rc != VIEW_OK) fprintf(stderr, "sedx-view: error: %s\n", a.err[0] ? a.err : "failed");
    view_scene_free(&a.scene);
    free(a.traced_rgba);
    free(a.frame_ms);
    free(a.sedx_us);
    return a.rc;
}
