/*
 * module_tour: the seed's buffer system at work on the default device, end to end, as the
 * seed's engine would drive it (this was sedx-demo; `make demo` now runs sedx-view, which renders
 * a model through the same system).
 *   - the device report (as sedx-info, short)
 *   - a module stack like the seed's engine: MeshModule (vertex + index buffers uploaded in one
 *     batch), SceneModule (a per-frame uniform buffer, persistently mapped), ParticleModule
 *     (storage buffers, a device-to-device copy every frame), StreamingModule (a large upload
 *     every few frames, read back and checked)
 *   - 60 frames; then the seed's debug panel (sedx_buffer_format_table), the allocator and
 *     transfer statistics, and a Chrome/Perfetto trace of the profiling scopes.
 * Exit code 0 only if every read-back matched (and, with SEDX_VALIDATION=1, validation stayed
 * silent). Options: --frames N, --trace FILE (default module-tour-trace.json), --quiet,
 * --dump FILE (the allocator's JSON dump after the last frame; `sedx-report memory FILE OUT.png`
 * draws it).
 */
#include <sedx/sedx.h>

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static unsigned g_mismatches;

/* ---- MeshModule: the seed's Example 1, with one batched upload instead of a staging buffer -- */
typedef struct { float pos[3], color[3]; } vertex;
typedef struct { sedx_buffer vb, ib; uint32_t vertices; } mesh_module;

static sedx_result mesh_attach(sedx_module *m)
{
    mesh_module *self = sedx_module_user(m);
    sedx_context *ctx = sedx_module_context(m);
    enum { GRID = 64 };
    self->vertices = GRID * GRID;
    vertex *v = malloc(sizeof(vertex) * self->vertices);
    uint32_t *idx = malloc(sizeof(uint32_t) * 6 * (GRID - 1) * (GRID - 1));
    if (!v || !idx) {
        free(v);
        free(idx);
        return SEDX_ERROR_OUT_OF_HOST_MEMORY;
    }
    for (uint32_t y = 0, k = 0; y < GRID; ++y)
        for (uint32_t x = 0; x < GRID; ++x, ++k)
            v[k] = (vertex){{(float)x, 0.0f, (float)y}, {(float)x / GRID, (float)y / GRID, 0.5f}};
    uint32_t n = 0;
    for (uint32_t y = 0; y + 1 < GRID; ++y)
        for (uint32_t x = 0; x + 1 < GRID; ++x) {
            uint32_t a = y * GRID + x;
            uint32_t quad[6] = {a, a + 1, a + GRID, a + 1, a + GRID + 1, a + GRID};
            memcpy(idx + n, quad, sizeof quad);
            n += 6;
        }
    sedx_result r = sedx_buffer_create(ctx, sizeof(vertex) * self->vertices, SEDX_BUFFER_USAGE_VERTEX, SEDX_MEMORY_GPU,
                                       "Terrain Vertex Buffer", &self->vb);
    if (r == SEDX_SUCCESS)
        r = sedx_buffer_create(ctx, sizeof(uint32_t) * n, SEDX_BUFFER_USAGE_INDEX, SEDX_MEMORY_GPU,
                               "Terrain Index Buffer", &self->ib);
    sedx_upload_region up[2] = {{&self->vb, 0, sizeof(vertex) * self->vertices, v},
                                {&self->ib, 0, sizeof(uint32_t) * n, idx}};
    if (r == SEDX_SUCCESS) r = sedx_upload_batch(ctx, up, 2); /* the seed's staging + CopyBuffer, twice */
    if (r == SEDX_SUCCESS) {
        vertex back;
        r = sedx_download(ctx, &self->vb, sizeof(vertex) * 77, sizeof back, &back);
        if (r == SEDX_SUCCESS && memcmp(&back, &v[77], sizeof back) != 0) g_mismatches++;
    }
    free(v);
    free(idx);
    if (r != SEDX_SUCCESS) {
        sedx_buffer_release(&self->vb);
        sedx_buffer_release(&self->ib);
    }
    return r;
}

static void mesh_detach(sedx_module *m)
{
    mesh_module *self = sedx_module_user(m);
    sedx_buffer_release(&self->vb);
    sedx_buffer_release(&self->ib);
}

static void mesh_ui(sedx_module *m, char *text, size_t cap)
{
    mesh_module *self = sedx_module_user(m);
    sedx_text_append(text, cap, "%u vertices, vertex buffer ID %u, index buffer ID %u", self->vertices,
                     sedx_buffer_id(&self->vb), sedx_buffer_id(&self->ib));
}

/* ---- SceneModule: the seed's Example 2, persistently mapped --------------------------------- */
typedef struct { float view[16], proj[16], light[4], time; uint32_t frame; } scene_uniforms;
typedef struct { sedx_buffer ub; double time; uint32_t frame; } scene_module;

static sedx_result scene_attach(sedx_module *m)
{
    scene_module *self = sedx_module_user(m);
    return sedx_buffer_create(sedx_module_context(m), sizeof(scene_uniforms), SEDX_BUFFER_USAGE_UNIFORM,
                              SEDX_MEMORY_CPU, "Scene Uniform Buffer", &self->ub);
}

static void scene_update(sedx_module *m, double dt)
{
    SEDX_PROFILE_SCOPE("SceneModule::OnUpdate");
    scene_module *self = sedx_module_user(m);
    self->time += dt;
    scene_uniforms u = {{0}, {0}, {0.0f, 10.0f, 0.0f, 1.0f}, (float)self->time, ++self->frame};
    for (int i = 0; i < 4; ++i) u.view[i * 5] = u.proj[i * 5] = 1.0f;
    memcpy(self->ub.data, &u, sizeof u); /* persistently mapped: no map/unmap per frame */
}

static void scene_detach(sedx_module *m)
{
    sedx_buffer_release(&((scene_module *)sedx_module_user(m))->ub);
}

/* ---- ParticleModule: the seed's Example 3; a device copy each frame (compute on NVIDIA) ----- */
typedef struct { sedx_buffer in, out; uint64_t bytes; sedx_ticket last; } particle_module;

static sedx_result particle_attach(sedx_module *m)
{
    particle_module *self = sedx_module_user(m);
    sedx_context *ctx = sedx_module_context(m);
    self->bytes = 4u << 20;
    sedx_result r = sedx_buffer_create(ctx, self->bytes, SEDX_BUFFER_USAGE_STORAGE | SEDX_BUFFER_USAGE_TRANSFER_DST,
                                       SEDX_MEMORY_GPU, "Particle Input Buffer", &self->in);
    if (r == SEDX_SUCCESS)
        r = sedx_buffer_create(ctx, self->bytes, SEDX_BUFFER_USAGE_STORAGE, SEDX_MEMORY_GPU, "Particle Output Buffer",
                               &self->out);
    float *p = r == SEDX_SUCCESS ? malloc(self->bytes) : NULL;
    if (p) {
        for (uint64_t i = 0; i < self->bytes / sizeof(float); ++i) p[i] = (float)(i % 977) * 0.5f;
        r = sedx_upload(ctx, &self->in, 0, self->bytes, p);
        free(p);
    } else if (r == SEDX_SUCCESS) {
        r = SEDX_ERROR_OUT_OF_HOST_MEMORY;
    }
    if (r != SEDX_SUCCESS) {
        sedx_buffer_release(&self->in);
        sedx_buffer_release(&self->out);
    }
    return r;
}

static void particle_update(sedx_module *m, double dt)
{
    (void)dt;
    SEDX_PROFILE_SCOPE("ParticleModule::OnUpdate");
    particle_module *self = sedx_module_user(m);
    /* not waited for: the next frame's copy is ordered after it by sedx */
    if (sedx_gpu_copy(sedx_module_context(m), &self->in, 0, &self->out, 0, self->bytes, &self->last) != SEDX_SUCCESS)
        g_mismatches++;
}

static void particle_detach(sedx_module *m)
{
    particle_module *self = sedx_module_user(m);
    float probe[4];
    if (sedx_download(sedx_module_context(m), &self->out, 4096, sizeof probe, probe) != SEDX_SUCCESS ||
        probe[0] != (float)(1024 % 977) * 0.5f)
        g_mismatches++;
    sedx_buffer_release(&self->in);
    sedx_buffer_release(&self->out);
}

/* ---- StreamingModule: a large upload every 10 frames, read back and checked ---------------- */
typedef struct { sedx_buffer big; uint8_t *src, *back; uint64_t bytes; uint32_t frame, uploads; } streaming_module;

static sedx_result streaming_attach(sedx_module *m)
{
    streaming_module *self = sedx_module_user(m);
    self->bytes = 32u << 20;
    self->src = malloc(self->bytes);
    self->back = malloc(self->bytes);
    if (!self->src || !self->back) return SEDX_ERROR_OUT_OF_HOST_MEMORY;
    return sedx_buffer_create(sedx_module_context(m), self->bytes,
                              SEDX_BUFFER_USAGE_STORAGE | SEDX_BUFFER_USAGE_TRANSFER_DST, SEDX_MEMORY_GPU,
                              "Streaming Dataset", &self->big);
}

static void streaming_update(sedx_module *m, double dt)
{
    (void)dt;
    streaming_module *self = sedx_module_user(m);
    if (self->frame++ % 10) return;
    SEDX_PROFILE_SCOPE("StreamingModule::upload+verify");
    uint64_t x = 0x9E3779B97F4A7C15ull + self->frame;
    for (uint64_t i = 0; i + 8 <= self->bytes; i += 8) {
        x ^= x >> 12;
        x ^= x << 25;
        x ^= x >> 27;
        uint64_t v = x * 0x2545F4914F6CDD1Dull;
        memcpy(self->src + i, &v, 8);
    }
    sedx_context *ctx = sedx_module_context(m);
    if (sedx_upload(ctx, &self->big, 0, self->bytes, self->src) != SEDX_SUCCESS ||
        sedx_download(ctx, &self->big, 0, self->bytes, self->back) != SEDX_SUCCESS ||
        memcmp(self->src, self->back, self->bytes) != 0)
        g_mismatches++;
    self->uploads++;
}

static void streaming_detach(sedx_module *m)
{
    streaming_module *self = sedx_module_user(m);
    sedx_buffer_release(&self->big);
    free(self->src);
    free(self->back);
}

static void streaming_ui(sedx_module *m, char *text, size_t cap)
{
    streaming_module *self = sedx_module_user(m);
    sedx_text_append(text, cap, "%u uploads of %llu MiB, each read back and compared", self->uploads,
                     (unsigned long long)(self->bytes >> 20));
}

int main(int argc, char **argv)
{
    int frames = 60;
    const char *trace = "module-tour-trace.json";
    const char *dump = NULL;
    bool quiet = false;
    for (int i = 1; i < argc; ++i) {
        if (strcmp(argv[i], "--frames") == 0 && i + 1 < argc) frames = atoi(argv[++i]);
        else if (strcmp(argv[i], "--trace") == 0 && i + 1 < argc) trace = argv[++i];
        else if (strcmp(argv[i], "--quiet") == 0) quiet = true;
        else if (strcmp(argv[i], "--dump") == 0 && i + 1 < argc) dump = argv[++i];
        else {
            fprintf(stderr, "usage: sedx-demo [--frames N] [--trace FILE] [--dump FILE] [--quiet]\n");
            return 2;
        }
    }
    sedx_context_info info = {0};
    info.app_name = "sedx-demo";
    sedx_context *ctx = NULL;
    sedx_result r = sedx_context_create(&info, &ctx);
    if (r != SEDX_SUCCESS) {
        fprintf(stderr, "sedx-demo: no Vulkan context: %s (%s)\n", sedx_result_name(r), sedx_result_string(r));
        return 1;
    }
    const VkPhysicalDeviceProperties *p = sedx_context_properties(ctx);
    uint32_t api = sedx_context_api_version(ctx);
    printf("sedx-demo on %s (%s, Vulkan %u.%u), validation %s, transfer queue %s\n", p->deviceName,
           sedx_device_type_name(p->deviceType), VK_API_VERSION_MAJOR(api), VK_API_VERSION_MINOR(api),
           sedx_context_validation_enabled(ctx) ? "on" : "off (SEDX_VALIDATION=1 turns it on)",
           sedx_context_has_transfer_queue(ctx) ? "yes" : "no");
    sedx_profile_enable(true);

    sedx_module_stack *stack = NULL;
    mesh_module mesh = {0};
    scene_module scene = {0};
    particle_module particles = {0};
    streaming_module streaming = {0};
    const sedx_module_desc descs[] = {
        {"MeshModule", &mesh, mesh_attach, mesh_detach, NULL, mesh_ui},
        {"SceneModule", &scene, scene_attach, scene_detach, scene_update, NULL},
        {"ParticleModule", &particles, particle_attach, particle_detach, particle_update, NULL},
        {"StreamingModule", &streaming, streaming_attach, streaming_detach, streaming_update, streaming_ui},
    };
    r = sedx_module_stack_create(ctx, &stack);
    for (size_t i = 0; r == SEDX_SUCCESS && i < sizeof descs / sizeof descs[0]; ++i)
        r = sedx_module_push(stack, &descs[i], NULL);
    if (r != SEDX_SUCCESS) fprintf(stderr, "sedx-demo: a module failed to attach: %s\n", sedx_result_name(r));

    uint64_t t0 = sedx_time_ns();
    for (int f = 0; r == SEDX_SUCCESS && f < frames; ++f) {
        SEDX_PROFILE_SCOPE("frame");
        sedx_module_stack_update(stack, 1.0 / 60.0);
        sedx_ticket t;
        if (sedx_upload_submit(ctx, &t) != SEDX_SUCCESS) g_mismatches++;
        sedx_context_collect_garbage(ctx);
    }
    double ms = (double)(sedx_time_ns() - t0) / 1e6;
    if (r == SEDX_SUCCESS) printf("%d frames in %.1f ms (%.2f ms per frame)\n", frames, ms, ms / frames);
    if (dump) {
        char *json = NULL;
        FILE *f = NULL;
        bool written = sedx_memory_dump_json(ctx, &json) == SEDX_SUCCESS && (f = fopen(dump, "w")) != NULL &&
                       fputs(json, f) >= 0;
        if (f && fclose(f) != 0) written = false;
        sedx_memory_free_string(json);
        if (!written) {
            fprintf(stderr, "sedx-demo: could not write the memory dump to %s\n", dump);
            g_mismatches++;
        } else if (!quiet) {
            printf("Allocator dump written to %s (sedx-report memory %s map.png draws it)\n", dump, dump);
        }
    }

    if (!quiet) {
        char text[8192];
        sedx_module_stack_ui(stack, text, sizeof text);
        printf("\nModules (the seed's OnUIRender, as text):\n%s\n", text);
        sedx_buffer_format_table(ctx, text, sizeof text);
        printf("Buffer debug panel:\n%s\n", text);
        sedx_memory_stats ms_ = {0};
        if (sedx_memory_get_stats(ctx, &ms_) == SEDX_SUCCESS)
            printf("Allocator: %u allocations, %.1f MiB used in %.1f MiB of VkDeviceMemory (%u blocks, %u dedicated), "
                   "%llu vkAllocateMemory calls\n",
                   ms_.total.allocation_count, (double)ms_.total.allocation_bytes / 1048576.0,
                   (double)ms_.total.block_bytes / 1048576.0, ms_.total.block_count, ms_.total.dedicated_count,
                   (unsigned long long)ms_.vk_allocate_count);
        sedx_transfer_stats ts;
        if (sedx_transfer_get_stats(ctx, &ts) == SEDX_SUCCESS)
            printf("Transfers: %llu uploads (%.1f MiB: %.1f MiB direct, %.1f MiB staged) in %llu batches, "
                   "%llu downloads (%.1f MiB), %llu compute / %llu command copies\n",
                   (unsigned long long)ts.uploads, (double)ts.upload_bytes / 1048576.0,
                   (double)ts.direct_bytes / 1048576.0, (double)ts.staged_bytes / 1048576.0,
                   (unsigned long long)ts.batches, (unsigned long long)ts.downloads,
                   (double)ts.download_bytes / 1048576.0, (unsigned long long)ts.compute_copies,
                   (unsigned long long)ts.command_copies);
    }
    sedx_module_stack_destroy(stack);
    if (sedx_profile_write_trace(trace) == SEDX_SUCCESS && !quiet)
        printf("Profiling scopes written to %s (open in ui.perfetto.dev or chrome://tracing)\n", trace);
    uint32_t verrors = sedx_context_validation_error_count(ctx) + sedx_context_validation_warning_count(ctx);
    sedx_context_destroy(ctx);
    bool ok = r == SEDX_SUCCESS && g_mismatches == 0 && verrors == 0;
    printf("\nsedx-demo: %s (%u mismatches, %u validation messages)\n", ok ? "OK" : "FAILED", g_mismatches, verrors);
    return ok ? 0 : 1;
}
