/*
 * The seed's "Example 1: Basic Vertex Buffer Creation" (MeshModule).
 *
 * OnAttach fills a CPU staging buffer (MapBuffer / memcpy / UnmapBuffer), creates a
 * device-local vertex buffer and copies with CopyBuffer; OnDetach releases it
 * (m_VertexBuffer.resource.Reset()). main() runs a few frames, reads the vertex buffer back
 * with sedx_download and compares it with the vertices.
 *
 * In sedx the staging steps are optional: sedx_buffer_create_with_data(), or sedx_upload()
 * into the vertex buffer, does the same through the transfer layer's staging ring.
 */
#include <sedx/sedx.h>
#include <sedx/module.h>

#include <stdio.h>
#include <string.h>
#include "example.h"

typedef struct vertex {
    float position[3];
    float color[3];
} vertex;

static const vertex k_vertices[] = {
    {{-0.5f, -0.5f, 0.0f}, {1.0f, 0.0f, 0.0f}},
    {{0.5f, -0.5f, 0.0f}, {0.0f, 1.0f, 0.0f}},
    {{0.0f, 0.5f, 0.0f}, {0.0f, 0.0f, 1.0f}},
};

typedef struct mesh_module {
    sedx_buffer vertex_buffer; /* m_VertexBuffer */
} mesh_module;

static sedx_result mesh_attach(sedx_module *m) /* MeshModule::OnAttach */
{
    mesh_module *self = sedx_module_user(m);
    sedx_context *ctx = sedx_module_context(m);
    SEDX_LOG_INFO_TAG("MESH", "=== Initializing %s ===", sedx_module_name(m));

    /* Create staging buffer */
    const uint64_t size = sizeof k_vertices;
    sedx_buffer staging;
    sedx_result r = sedx_buffer_create(ctx, size, SEDX_BUFFER_USAGE_TRANSFER_SRC, SEDX_MEMORY_CPU,
                                       "Triangle Staging Buffer", &staging);
    if (r != SEDX_SUCCESS) return r;

    /* Map and copy data (MapBuffer / memcpy / UnmapBuffer) */
    void *mapped;
    r = sedx_buffer_map(&staging, &mapped);
    if (r == SEDX_SUCCESS) {
        memcpy(mapped, k_vertices, size);
        r = sedx_buffer_unmap(&staging);
    }

    /* Create device-local vertex buffer */
    if (r == SEDX_SUCCESS)
        r = sedx_buffer_create(ctx, size, SEDX_BUFFER_USAGE_VERTEX, SEDX_MEMORY_GPU, "Triangle Vertex Buffer",
                               &self->vertex_buffer);

    /* Copy from staging to device buffer (CopyBuffer: waits for the GPU) */
    if (r == SEDX_SUCCESS)
        r = sedx_copy_buffer(ctx, sedx_buffer_vk(&staging), sedx_buffer_vk(&self->vertex_buffer), size);

    sedx_buffer_release(&staging); /* the seed's staging buffer going out of scope */
    if (r != SEDX_SUCCESS) {
        sedx_buffer_release(&self->vertex_buffer);
        return r;
    }
    SEDX_LOG_INFO_TAG("MESH", "Created vertex buffer with %zu vertices",
                      sizeof k_vertices / sizeof k_vertices[0]);
    return SEDX_SUCCESS;
}

static void mesh_detach(sedx_module *m) /* MeshModule::OnDetach */
{
    mesh_module *self = sedx_module_user(m);
    SEDX_LOG_INFO_TAG("MESH", "Cleaning up %s", sedx_module_name(m));
    sedx_buffer_release(&self->vertex_buffer); /* m_VertexBuffer.resource.Reset() */
}

/* --- the application: one module on a stack, a few frames, then checks --------------------- */

int main(void)
{
    sedx_set_logger(logger, NULL);
    sedx_context_info info = {.flags = SEDX_CONTEXT_VALIDATION, .app_name = "vertex_buffer"};
    sedx_context *ctx = NULL;
    sedx_result r = sedx_context_create(&info, &ctx);
    if (r != SEDX_SUCCESS) {
        fprintf(stderr, "sedx_context_create: %s\n", sedx_result_string(r));
        return 1;
    }
    sedx_module_stack *stack = NULL;
    sedx_module_stack_create(ctx, &stack);

    mesh_module mesh = {0};
    sedx_module_desc desc = {.name = "MeshModule", .user = &mesh, .on_attach = mesh_attach, .on_detach = mesh_detach};
    r = sedx_module_push(stack, &desc, NULL);
    CHECK(r == SEDX_SUCCESS, "MeshModule attach: %s", sedx_result_name(r));
    for (int frame = 0; frame < 3; ++frame) sedx_module_stack_update(stack, 1.0 / 60.0);

    if (r == SEDX_SUCCESS) {
        /* What the GPU holds is what we uploaded. */
        vertex back[3];
        r = sedx_download(ctx, &mesh.vertex_buffer, 0, sizeof back, back);
        CHECK(r == SEDX_SUCCESS, "sedx_download: %s", sedx_result_name(r));
        CHECK(memcmp(back, k_vertices, sizeof back) == 0, "vertex buffer contents differ");
        CHECK(mesh.vertex_buffer.data == NULL, "a GPU buffer is not mapped");
        CHECK(mesh.vertex_buffer.usage & SEDX_BUFFER_USAGE_TRANSFER_DST, "VERTEX adds TRANSFER_DST");
        printf("MeshModule: vertex buffer id %u, %llu bytes, contents verified\n", sedx_buffer_id(&mesh.vertex_buffer),
               (unsigned long long)mesh.vertex_buffer.size);
    }

    sedx_module_stack_destroy(stack); /* OnDetach */
    CHECK(sedx_context_validation_error_count(ctx) == 0, "validation errors");
    CHECK(sedx_context_validation_warning_count(ctx) == 0, "validation warnings");
    sedx_context_destroy(ctx);
    CHECK(g_sedx_problems == 0, "sedx logged %u warnings/errors", g_sedx_problems);
    printf("vertex_buffer: %s\n", g_failures ? "FAILED" : "OK");
    return g_failures ? 1 : 0;
}
