/*
 * The seed's "Integration with Module System: Module Lifecycle Integration" (RenderingModule).
 *
 *   OnAttach    -> on_attach: creates vertex, index (GPU) and uniform (CPU) buffers named
 *                  fmt::format("{} Vertex Buffer", GetName()); a failure is returned (the
 *                  seed's rethrow): the push fails and the module is not attached.
 *   OnDetach    -> on_detach: releases them (resource.Reset()).
 *   OnUpdate    -> on_update: per-frame data through MapBuffer / memcpy / UnmapBuffer, skipped
 *                  while the module is disabled (m_IsEnabled).
 *   OnUIRender  -> on_ui: the "Buffer Debug" panel as text instead of ImGui: IDs and sizes, the
 *                  "Enable Updates" checkbox state. A third module, BufferDebugModule, shows
 *                  every buffer of the context with sedx_buffer_format_table.
 * main() pushes two RenderingModules, one that fails and the debug module, renders the UI,
 * toggles updates and checks the uniforms, then destroys the stack (detach in reverse order).
 */
#include <sedx/sedx.h>
#include <sedx/module.h>

#include <stdio.h>
#include <string.h>
#include "example.h"

typedef struct uniform_data {
    float model_matrix[16];
    float view_matrix[16];
    float proj_matrix[16];
    uint32_t frame;
    uint32_t pad[3];
} uniform_data;

typedef struct rendering_module {
    sedx_buffer vertex_buffer;  /* m_VertexBuffer */
    sedx_buffer index_buffer;   /* m_IndexBuffer */
    sedx_buffer uniform_buffer; /* m_UniformBuffer */
    uint64_t vertex_data_size;  /* m_VertexDataSize */
    uint64_t index_data_size;   /* m_IndexDataSize */
    uint32_t frame;
    int order;                  /* detach order, for the check in main */
} rendering_module;

static int g_detach_counter;

static void rendering_detach(sedx_module *m) /* RenderingModule::OnDetach */
{
    rendering_module *self = sedx_module_user(m);
    SEDX_LOG_INFO_TAG("RENDER", "Cleaning up %s", sedx_module_name(m));
    sedx_buffer_release(&self->vertex_buffer);
    sedx_buffer_release(&self->index_buffer);
    sedx_buffer_release(&self->uniform_buffer);
    self->order = ++g_detach_counter;
}

static sedx_result create_rendering_buffers(sedx_module *m, rendering_module *self)
{
    sedx_context *ctx = sedx_module_context(m);
    char name[96];
    snprintf(name, sizeof name, "%s Vertex Buffer", sedx_module_name(m));
    sedx_result r = sedx_buffer_create(ctx, self->vertex_data_size, SEDX_BUFFER_USAGE_VERTEX, SEDX_MEMORY_GPU, name,
                                       &self->vertex_buffer);
    snprintf(name, sizeof name, "%s Index Buffer", sedx_module_name(m));
    if (r == SEDX_SUCCESS)
        r = sedx_buffer_create(ctx, self->index_data_size, SEDX_BUFFER_USAGE_INDEX, SEDX_MEMORY_GPU, name,
                               &self->index_buffer);
    snprintf(name, sizeof name, "%s Uniform Buffer", sedx_module_name(m));
    if (r == SEDX_SUCCESS)
        r = sedx_buffer_create(ctx, sizeof(uniform_data), SEDX_BUFFER_USAGE_UNIFORM, SEDX_MEMORY_CPU, name,
                               &self->uniform_buffer);
    return r;
}

static sedx_result rendering_attach(sedx_module *m) /* RenderingModule::OnAttach */
{
    rendering_module *self = sedx_module_user(m);
    SEDX_LOG_INFO_TAG("RENDER", "=== Initializing %s ===", sedx_module_name(m));
    sedx_result r = create_rendering_buffers(m, self);
    if (r != SEDX_SUCCESS) {
        SEDX_LOG_ERROR_TAG("RENDER", "Failed to create buffers: %s", sedx_result_string(r));
        sedx_buffer_release(&self->vertex_buffer); /* not detached after a failed attach */
        sedx_buffer_release(&self->index_buffer);
        sedx_buffer_release(&self->uniform_buffer);
        return r; /* throw; */
    }
    SEDX_LOG_INFO_TAG("RENDER", "Buffers created successfully");
    return SEDX_SUCCESS;
}

static void rendering_update(sedx_module *m, double dt) /* RenderingModule::OnUpdate (UpdatePerFrameData) */
{
    (void)dt;
    SEDX_PROFILE_SCOPE("RenderingModule::OnUpdate");
    rendering_module *self = sedx_module_user(m);
    uniform_data u = {.frame = ++self->frame};
    for (int i = 0; i < 4; ++i) u.model_matrix[i * 5] = u.view_matrix[i * 5] = u.proj_matrix[i * 5] = 1.0f;
    void *mapped;
    if (sedx_buffer_map(&self->uniform_buffer, &mapped) != SEDX_SUCCESS) return;
    memcpy(mapped, &u, sizeof u);
    sedx_buffer_unmap(&self->uniform_buffer);
}

static void rendering_ui(sedx_module *m, char *text, size_t cap) /* RenderingModule::OnUIRender */
{
    rendering_module *self = sedx_module_user(m);
    sedx_text_append(text, cap, "Buffer Debug\n");
    sedx_text_append(text, cap, "Vertex Buffer ID: %u\n", sedx_buffer_id(&self->vertex_buffer));
    sedx_text_append(text, cap, "Index Buffer ID: %u\n", sedx_buffer_id(&self->index_buffer));
    sedx_text_append(text, cap, "Uniform Buffer ID: %u\n", sedx_buffer_id(&self->uniform_buffer));
    sedx_text_append(text, cap, "Vertex Buffer Size: %llu bytes\n",
                     (unsigned long long)sedx_buffer_get_size(&self->vertex_buffer));
    sedx_text_append(text, cap, "Index Buffer Size: %llu bytes\n",
                     (unsigned long long)sedx_buffer_get_size(&self->index_buffer));
    sedx_text_append(text, cap, "Uniform Buffer Size: %llu bytes\n",
                     (unsigned long long)sedx_buffer_get_size(&self->uniform_buffer));
    sedx_text_append(text, cap, "[%c] Enable Updates\n", sedx_module_enabled(m) ? 'x' : ' ');
}

/* BufferDebugModule: the whole context's buffers, one table (sedx_buffer_list for your own). */
static void buffer_debug_ui(sedx_module *m, char *text, size_t cap)
{
    sedx_buffer_format_table(sedx_module_context(m), text, cap);
}
static void buffer_debug_detach(sedx_module *m)
{
    (void)m;
    ++g_detach_counter;
}

/* --- the application: one module on a stack, a few frames, then checks --------------------- */

static uint32_t uniform_frame(sedx_context *ctx, const rendering_module *rm)
{
    uniform_data u = {0};
    sedx_result r = sedx_download(ctx, &rm->uniform_buffer, 0, sizeof u, &u);
    CHECK(r == SEDX_SUCCESS, "sedx_download: %s", sedx_result_name(r));
    return u.frame;
}

int main(void)
{
    sedx_set_logger(logger, NULL);
    sedx_context_info info = {.flags = SEDX_CONTEXT_VALIDATION, .app_name = "module_integration"};
    sedx_context *ctx = NULL;
    sedx_result r = sedx_context_create(&info, &ctx);
    if (r != SEDX_SUCCESS) {
        fprintf(stderr, "sedx_context_create: %s\n", sedx_result_string(r));
        return 1;
    }
    sedx_module_stack *stack = NULL;
    sedx_module_stack_create(ctx, &stack);

    rendering_module scene = {.vertex_data_size = 36 * 24, .index_data_size = 36 * 4};
    rendering_module overlay = {.vertex_data_size = 4 * 16, .index_data_size = 6 * 2};
    rendering_module broken = {.vertex_data_size = 1024, .index_data_size = 0}; /* the seed's default: 0 */
    sedx_module_desc desc = {.on_attach = rendering_attach, .on_detach = rendering_detach,
                             .on_update = rendering_update, .on_ui = rendering_ui};
    sedx_module *scene_module = NULL;
    desc.name = "Scene", desc.user = &scene;
    r = sedx_module_push(stack, &desc, &scene_module);
    CHECK(r == SEDX_SUCCESS, "Scene attach: %s", sedx_result_name(r));
    desc.name = "Overlay", desc.user = &overlay;
    r = sedx_module_push(stack, &desc, NULL);
    CHECK(r == SEDX_SUCCESS, "Overlay attach: %s", sedx_result_name(r));
    /* A module whose attach fails: its error is returned, it is not on the stack. Its
     * three error lines (the buffer layer's, RenderingModule's, the stack's) are expected. */
    desc.name = "Broken", desc.user = &broken;
    unsigned problems_before = g_sedx_problems;
    r = sedx_module_push(stack, &desc, NULL);
    CHECK(r == SEDX_ERROR_INVALID_SIZE, "Broken attach: %s", sedx_result_name(r));
    CHECK(g_sedx_problems - problems_before == 3, "three error lines for the failed attach");
    g_sedx_problems = problems_before;
    CHECK(sedx_module_stack_count(stack) == 2 && !sedx_module_find(stack, "Broken"), "Broken is not attached");
    CHECK(broken.vertex_buffer.resource == NULL, "Broken released what it created");
    sedx_module_desc debug_desc = {.name = "BufferDebugModule", .on_ui = buffer_debug_ui,
                                   .on_detach = buffer_debug_detach};
    r = sedx_module_push(stack, &debug_desc, NULL);
    CHECK(r == SEDX_SUCCESS, "BufferDebugModule attach: %s", sedx_result_name(r));

    for (int frame = 0; frame < 3; ++frame) sedx_module_stack_update(stack, 1.0 / 60.0);
    CHECK(uniform_frame(ctx, &scene) == 3 && uniform_frame(ctx, &overlay) == 3, "3 frames of uniforms");

    sedx_module_set_enabled(scene_module, false); /* ImGui::Checkbox("Enable Updates", &m_IsEnabled) */
    for (int frame = 0; frame < 2; ++frame) sedx_module_stack_update(stack, 1.0 / 60.0);
    CHECK(uniform_frame(ctx, &scene) == 3, "disabled: no updates");
    CHECK(uniform_frame(ctx, &overlay) == 5, "the other module still updates");

    char ui[8192];
    sedx_module_stack_ui(stack, ui, sizeof ui); /* OnUIRender of every module */
    printf("%s", ui);
    CHECK(strstr(ui, "== Scene == (disabled)\nBuffer Debug\n") != NULL, "Scene panel");
    CHECK(strstr(ui, "[ ] Enable Updates") && strstr(ui, "[x] Enable Updates"), "checkbox states");
    CHECK(strstr(ui, "Vertex Buffer Size: 864 bytes") != NULL, "vertex buffer size");
    CHECK(strstr(ui, "== BufferDebugModule ==\n    ID  NAME") != NULL, "buffer table");
    CHECK(strstr(ui, "Overlay Uniform Buffer") != NULL, "buffer table with names");

    sedx_module_stack_destroy(stack);
    CHECK(overlay.order == 2 && scene.order == 3, "detached in reverse order");
    CHECK(broken.order == 0, "a failed module is never detached");
    CHECK(sedx_context_validation_error_count(ctx) == 0, "validation errors");
    CHECK(sedx_context_validation_warning_count(ctx) == 0, "validation warnings");
    sedx_context_destroy(ctx);
    CHECK(g_sedx_problems == 0, "sedx logged %u warnings/errors", g_sedx_problems);
    printf("module_integration: %s\n", g_failures ? "FAILED" : "OK");
    return g_failures ? 1 : 0;
}
