/*
 * The seed's "Best Practices 1: Memory Management Guidelines" (BufferManagerModule), with the
 * "Streaming Data" helper CreateLargeDataBuffer of "Buffer Usage Patterns".
 *
 *  - static vertices in GPU (device-local) memory, filled once;
 *  - per-frame uniforms in CPU memory (host-visible, persistently mapped), written each frame;
 *  - a large one-time upload through a CPU staging buffer and CopyBuffer (UploadLargeDataSet),
 *    and the same in one call with the transfer layer (sedx_buffer_create_with_data).
 * main() reads every buffer back and prints the debug table (where each buffer lives).
 */
#include <sedx/sedx.h>
#include <sedx/module.h>

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include "example.h"

#define VERTEX_DATA_SIZE (64u << 10) /* vertexDataSize */
#define LARGE_DATA_SIZE (8u << 20)   /* largeDataSize */

typedef struct frame_uniforms {
    float view_projection[16];
    uint32_t frame;
    uint32_t pad[3];
} frame_uniforms;

typedef struct manager_module {
    sedx_buffer static_vertex_buffer;  /* m_StaticVertexBuffer */
    sedx_buffer dynamic_uniform_buffer; /* m_DynamicUniformBuffer */
    sedx_buffer large_dataset;          /* "Large Dataset Device" */
    sedx_buffer streamed;               /* CreateLargeDataBuffer, the sedx way */
    uint8_t *large_data;                /* largeData */
    uint32_t frame;
} manager_module;

static void fill(uint8_t *p, size_t n, uint32_t seed)
{
    for (size_t i = 0; i < n; ++i) p[i] = (uint8_t)((i * 2654435761u) >> 13 ^ seed);
}

/* CreateLargeDataBuffer(data, size): the seed's staging-buffer pattern. */
static sedx_result create_large_data_buffer(sedx_context *ctx, const void *data, uint64_t size,
                                            sedx_buffer_usage_flags target_usage, const char *name, sedx_buffer *out)
{
    /* Create staging buffer and upload data */
    sedx_buffer staging;
    sedx_result r = sedx_buffer_create(ctx, size, SEDX_BUFFER_USAGE_TRANSFER_SRC, SEDX_MEMORY_CPU,
                                       "Large Dataset Staging", &staging);
    if (r != SEDX_SUCCESS) return r;
    void *mapped;
    r = sedx_buffer_map(&staging, &mapped);
    if (r == SEDX_SUCCESS) {
        memcpy(mapped, data, size);
        r = sedx_buffer_unmap(&staging);
    }
    /* Create device buffer and transfer data */
    sedx_buffer device = {0};
    if (r == SEDX_SUCCESS) r = sedx_buffer_create(ctx, size, target_usage, SEDX_MEMORY_GPU, name, &device);
    if (r == SEDX_SUCCESS) r = sedx_copy_buffer(ctx, sedx_buffer_vk(&staging), sedx_buffer_vk(&device), size);
    sedx_buffer_release(&staging); /* "automatically cleaned up when out of scope" */
    if (r != SEDX_SUCCESS) {
        sedx_buffer_release(&device);
        return r;
    }
    *out = device;
    return SEDX_SUCCESS;
}

static void manager_detach(sedx_module *m)
{
    manager_module *self = sedx_module_user(m);
    sedx_buffer_release(&self->static_vertex_buffer);
    sedx_buffer_release(&self->dynamic_uniform_buffer);
    sedx_buffer_release(&self->large_dataset);
    sedx_buffer_release(&self->streamed);
}

static sedx_result manager_attach(sedx_module *m) /* BufferManagerModule::OnAttach */
{
    manager_module *self = sedx_module_user(m);
    sedx_context *ctx = sedx_module_context(m);

    /* Good: device-local memory for frequently accessed GPU data, filled once */
    uint8_t *vertices = malloc(VERTEX_DATA_SIZE);
    if (!vertices) return SEDX_ERROR_OUT_OF_HOST_MEMORY;
    fill(vertices, VERTEX_DATA_SIZE, 1);
    sedx_result r = sedx_buffer_create(ctx, VERTEX_DATA_SIZE, SEDX_BUFFER_USAGE_VERTEX, SEDX_MEMORY_GPU,
                                       "Static Mesh Vertices", &self->static_vertex_buffer);
    if (r == SEDX_SUCCESS) r = sedx_upload(ctx, &self->static_vertex_buffer, 0, VERTEX_DATA_SIZE, vertices);
    free(vertices); /* sedx_upload copied the bytes already */
    if (r == SEDX_SUCCESS) r = sedx_upload_submit(ctx, NULL); /* the GPU copy starts; nobody waits */

    /* Good: CPU-accessible memory for frequently updated data */
    if (r == SEDX_SUCCESS)
        r = sedx_buffer_create(ctx, sizeof(frame_uniforms), SEDX_BUFFER_USAGE_UNIFORM, SEDX_MEMORY_CPU,
                               "Dynamic Frame Uniforms", &self->dynamic_uniform_buffer);

    /* Good: staging buffers for large one-time uploads (UploadLargeDataSet) ... */
    if (r == SEDX_SUCCESS)
        r = create_large_data_buffer(ctx, self->large_data, LARGE_DATA_SIZE, SEDX_BUFFER_USAGE_STORAGE,
                                     "Large Dataset Device", &self->large_dataset);
    /* ... or the transfer layer's staging ring, in one call */
    if (r == SEDX_SUCCESS)
        r = sedx_buffer_create_with_data(ctx, LARGE_DATA_SIZE, SEDX_BUFFER_USAGE_STORAGE, SEDX_MEMORY_GPU,
                                         "Large Dataset Streamed", self->large_data, &self->streamed);
    if (r != SEDX_SUCCESS) manager_detach(m);
    return r;
}

static void manager_update(sedx_module *m, double dt)
{
    (void)dt;
    manager_module *self = sedx_module_user(m);
    frame_uniforms u = {.view_projection = {1, 0, 0, 0, 0, 1, 0, 0, 0, 0, 1, 0, 0, 0, 0, 1}, .frame = ++self->frame};
    memcpy(self->dynamic_uniform_buffer.data, &u, sizeof u); /* persistently mapped, coherent */
}

/* --- the application: one module on a stack, a few frames, then checks --------------------- */

/* Reads size bytes of buf back and compares them with want. */
static void check_contents(sedx_context *ctx, const sedx_buffer *buf, const void *want, size_t size)
{
    uint8_t *back = malloc(size);
    sedx_result r = back ? sedx_download(ctx, buf, 0, size, back) : SEDX_ERROR_OUT_OF_HOST_MEMORY;
    CHECK(r == SEDX_SUCCESS, "download '%s': %s", sedx_buffer_name(buf), sedx_result_name(r));
    CHECK(r != SEDX_SUCCESS || memcmp(back, want, size) == 0, "'%s' contents differ", sedx_buffer_name(buf));
    free(back);
}

int main(void)
{
    sedx_set_logger(logger, NULL);
    sedx_context_info info = {.flags = SEDX_CONTEXT_VALIDATION, .app_name = "memory_management"};
    sedx_context *ctx = NULL;
    sedx_result r = sedx_context_create(&info, &ctx);
    if (r != SEDX_SUCCESS) {
        fprintf(stderr, "sedx_context_create: %s\n", sedx_result_string(r));
        return 1;
    }
    sedx_module_stack *stack = NULL;
    sedx_module_stack_create(ctx, &stack);

    manager_module mm = {.large_data = malloc(LARGE_DATA_SIZE)};
    if (!mm.large_data) return 1;
    fill(mm.large_data, LARGE_DATA_SIZE, 7);
    sedx_module_desc desc = {.name = "BufferManagerModule", .user = &mm, .on_attach = manager_attach,
                             .on_detach = manager_detach, .on_update = manager_update};
    r = sedx_module_push(stack, &desc, NULL);
    CHECK(r == SEDX_SUCCESS, "BufferManagerModule attach: %s", sedx_result_name(r));
    for (int frame = 0; frame < 4; ++frame) sedx_module_stack_update(stack, 1.0 / 60.0);

    if (r == SEDX_SUCCESS) {
        uint8_t *vertices = malloc(VERTEX_DATA_SIZE);
        if (vertices) {
            fill(vertices, VERTEX_DATA_SIZE, 1);
            check_contents(ctx, &mm.static_vertex_buffer, vertices, VERTEX_DATA_SIZE);
        }
        free(vertices);
        check_contents(ctx, &mm.large_dataset, mm.large_data, LARGE_DATA_SIZE);
        check_contents(ctx, &mm.streamed, mm.large_data, LARGE_DATA_SIZE);
        frame_uniforms u;
        r = sedx_download(ctx, &mm.dynamic_uniform_buffer, 0, sizeof u, &u);
        CHECK(r == SEDX_SUCCESS && u.frame == 4, "uniforms of frame 4");
        CHECK(mm.static_vertex_buffer.data == NULL && mm.static_vertex_buffer.memory == SEDX_MEMORY_GPU,
              "static vertices: GPU memory, not mapped");
        CHECK(mm.dynamic_uniform_buffer.data != NULL && mm.dynamic_uniform_buffer.memory == SEDX_MEMORY_CPU,
              "dynamic uniforms: CPU memory, mapped");
        char table[4096];
        sedx_buffer_format_table(ctx, table, sizeof table);
        printf("BufferManagerModule: contents verified\n%s", table);
    }

    sedx_module_stack_destroy(stack);
    free(mm.large_data);
    CHECK(sedx_context_validation_error_count(ctx) == 0, "validation errors");
    CHECK(sedx_context_validation_warning_count(ctx) == 0, "validation warnings");
    sedx_context_destroy(ctx);
    CHECK(g_sedx_problems == 0, "sedx logged %u warnings/errors", g_sedx_problems);
    printf("memory_management: %s\n", g_failures ? "FAILED" : "OK");
    return g_failures ? 1 : 0;
}
