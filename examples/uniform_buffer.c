/*
 * The seed's "Example 2: Dynamic Uniform Buffer Management" (UniformBufferModule).
 *
 * OnAttach creates a CPU uniform buffer; OnUpdate fills SceneUniforms each frame (camera
 * matrices, light position, time) with MapBuffer / memcpy / UnmapBuffer. The module's
 * m_IsEnabled is sedx_module_set_enabled(): a disabled module gets no OnUpdate.
 * main() runs frames and reads the uniforms back with sedx_download (what the GPU sees),
 * with the module enabled, disabled and enabled again.
 *
 * That form is right with one frame in flight only: the next frame's memcpy overwrites bytes the
 * GPU may still be reading for the previous one. With several frames in flight, each frame
 * takes its uniforms from transient memory (<sedx/frame.h>, docs/frames.md): the second half
 * runs 3 frames in flight, the GPU copying each frame's uniforms (read from transient memory
 * when the frame executes, not when it was recorded) into a history buffer that is checked.
 */
#include <sedx/sedx.h>
#include <sedx/module.h>

#include <math.h>
#include <stdio.h>
#include <string.h>
#include "example.h"

typedef struct scene_uniforms { /* SceneUniforms (glm::mat4 = 16 floats, column-major) */
    float view_matrix[16];
    float proj_matrix[16];
    float light_position[4];
    float time;
    float pad[3]; /* std140: the struct size is a multiple of 16 */
} scene_uniforms;

typedef struct uniform_module {
    sedx_buffer uniform_buffer; /* m_UniformBuffer */
    float light_position[3];    /* m_LightPosition */
    double time;
} uniform_module;

/* m_Camera->GetViewMatrix(): a camera orbiting the origin at distance 5 (a translation and a
 * rotation about Y); GetProjectionMatrix(): 60 degree perspective, 16:9, Vulkan depth 0..1. */
static void camera_view(float t, float m[16])
{
    float c = cosf(t), s = sinf(t);
    float v[16] = {c, 0, s, 0, 0, 1, 0, 0, -s, 0, c, 0, 0, 0, -5, 1};
    memcpy(m, v, sizeof v);
}
static void camera_proj(float m[16])
{
    const float f = 1.0f / tanf(0.5235988f), aspect = 16.0f / 9.0f, n = 0.1f, fr = 100.0f;
    float p[16] = {f / aspect, 0, 0, 0, 0, -f, 0, 0, 0, 0, fr / (n - fr), -1, 0, 0, n * fr / (n - fr), 0};
    memcpy(m, p, sizeof p);
}

static sedx_result uniform_attach(sedx_module *m) /* UniformBufferModule::OnAttach */
{
    SEDX_PROFILE_SCOPE("UniformBufferModule::OnAttach");
    uniform_module *self = sedx_module_user(m);
    sedx_result r = sedx_buffer_create(sedx_module_context(m), sizeof(scene_uniforms), SEDX_BUFFER_USAGE_UNIFORM,
                                       SEDX_MEMORY_CPU, /* CPU accessible for frequent updates */
                                       "Scene Uniform Buffer", &self->uniform_buffer);
    if (r != SEDX_SUCCESS) return r;
    SEDX_LOG_INFO_TAG("UNIFORM", "Created uniform buffer (size: %zu bytes)", sizeof(scene_uniforms));
    return SEDX_SUCCESS;
}

static void uniform_update(sedx_module *m, double dt) /* UniformBufferModule::OnUpdate */
{
    SEDX_PROFILE_SCOPE("UniformBufferModule::OnUpdate");
    uniform_module *self = sedx_module_user(m);
    self->time += dt; /* GetTime() */

    /* Update uniform data */
    scene_uniforms uniforms = {0};
    camera_view((float)self->time, uniforms.view_matrix);
    camera_proj(uniforms.proj_matrix);
    memcpy(uniforms.light_position, self->light_position, sizeof self->light_position);
    uniforms.light_position[3] = 1.0f;
    uniforms.time = (float)self->time;

    /* Map and update buffer. CPU memory is persistently mapped in sedx, so
     * memcpy(self->uniform_buffer.data, ...) or sedx_buffer_write() is the same thing. */
    void *mapped;
    if (sedx_buffer_map(&self->uniform_buffer, &mapped) != SEDX_SUCCESS) return; /* logged by sedx */
    memcpy(mapped, &uniforms, sizeof uniforms);
    sedx_buffer_unmap(&self->uniform_buffer);
}

static void uniform_detach(sedx_module *m)
{
    uniform_module *self = sedx_module_user(m);
    sedx_buffer_release(&self->uniform_buffer);
}

/* --- the application: one module on a stack, a few frames, then checks --------------------- */

/* The time the GPU sees in the uniform buffer. */
static float gpu_time(sedx_context *ctx, const uniform_module *u)
{
    scene_uniforms back;
    sedx_result r = sedx_download(ctx, &u->uniform_buffer, 0, sizeof back, &back);
    CHECK(r == SEDX_SUCCESS, "sedx_download: %s", sedx_result_name(r));
    return r == SEDX_SUCCESS ? back.time : -1.0f;
}

/* --- the same uniforms with several frames in flight: transient memory --------------------- */
#define TRANSIENT_FRAMES 12u

static void fill_uniforms(scene_uniforms *u, float time)
{
    memset(u, 0, sizeof *u);
    camera_view(time, u->view_matrix);
    camera_proj(u->proj_matrix);
    u->light_position[1] = 10.0f;
    u->light_position[3] = 1.0f;
    u->time = time;
}

static void transient_frames(sedx_context *ctx)
{
    sedx_frame_info fi = {.frames_in_flight = 3};
    sedx_result r = sedx_frames_configure(ctx, &fi);
    CHECK(r == SEDX_SUCCESS, "sedx_frames_configure: %s", sedx_result_name(r));
    /* what the GPU read each frame (a stand-in for the draws that would use the uniforms) */
    sedx_buffer history;
    r = sedx_buffer_create(ctx, TRANSIENT_FRAMES * sizeof(scene_uniforms), SEDX_BUFFER_USAGE_STORAGE, SEDX_MEMORY_GPU,
                           "uniform history", &history);
    CHECK(r == SEDX_SUCCESS, "history buffer: %s", sedx_result_name(r));
    if (r != SEDX_SUCCESS) return;
    const double dt = 1.0 / 64.0;
    for (uint32_t i = 0; i < TRANSIENT_FRAMES && r == SEDX_SUCCESS; ++i) {
        sedx_frame *frame;
        r = sedx_frame_begin(ctx, &frame); /* waits only if frame i - 3 is still on the GPU */
        CHECK(r == SEDX_SUCCESS, "sedx_frame_begin: %s", sedx_result_name(r));
        if (r != SEDX_SUCCESS) break;
        sedx_transient t;
        r = sedx_transient_alloc(frame, sizeof(scene_uniforms), SEDX_BUFFER_USAGE_UNIFORM, &t);
        CHECK(r == SEDX_SUCCESS, "sedx_transient_alloc: %s", sedx_result_name(r));
        if (r == SEDX_SUCCESS) {
            fill_uniforms(t.data, (float)(i * dt)); /* straight into the frame's own memory */
            /* a draw would bind t.buffer with dynamic offset t.offset; here the GPU copies it */
        }
        sedx_ticket ticket = {0};
        if (r == SEDX_SUCCESS) {
            VkBufferCopy region = {t.offset, i * sizeof(scene_uniforms), sizeof(scene_uniforms)};
            sedx_cmd cmd;
            r = sedx_cmd_begin(ctx, SEDX_QUEUE_GRAPHICS, &cmd);
            if (r == SEDX_SUCCESS) {
                vkCmdCopyBuffer(cmd.cmd, t.buffer, sedx_buffer_vk(&history), 1, &region);
                r = sedx_cmd_submit(ctx, &cmd, NULL, &ticket);
            }
            CHECK(r == SEDX_SUCCESS, "copy: %s", sedx_result_name(r));
            if (r == SEDX_SUCCESS) sedx_buffer_mark_used(&history, ticket);
        }
        sedx_result e = sedx_frame_end(ctx, frame, ticket); /* reclaimed once ticket has passed */
        CHECK(e == SEDX_SUCCESS, "sedx_frame_end: %s", sedx_result_name(e));
    }
    scene_uniforms back[TRANSIENT_FRAMES];
    r = sedx_download(ctx, &history, 0, sizeof back, back);
    CHECK(r == SEDX_SUCCESS, "sedx_download: %s", sedx_result_name(r));
    uint32_t good = 0;
    for (uint32_t i = 0; r == SEDX_SUCCESS && i < TRANSIENT_FRAMES; ++i) {
        scene_uniforms want;
        fill_uniforms(&want, (float)(i * dt));
        if (memcmp(&back[i], &want, sizeof want) == 0) good++;
    }
    CHECK(good == TRANSIENT_FRAMES, "%u of %u frames saw their own uniforms", good, TRANSIENT_FRAMES);
    sedx_frame_stats st;
    sedx_frame_get_stats(ctx, &st);
    printf("transient uniforms: %u frames, %u in flight, %u of them verified, %llu begin(s) waited for the GPU\n",
           TRANSIENT_FRAMES, st.frames_in_flight, good, (unsigned long long)st.waits);
    sedx_buffer_release(&history);
}

int main(void)
{
    sedx_set_logger(logger, NULL);
    sedx_context_info info = {.flags = SEDX_CONTEXT_VALIDATION, .app_name = "uniform_buffer"};
    sedx_context *ctx = NULL;
    sedx_result r = sedx_context_create(&info, &ctx);
    if (r != SEDX_SUCCESS) {
        fprintf(stderr, "sedx_context_create: %s\n", sedx_result_string(r));
        return 1;
    }
    sedx_module_stack *stack = NULL;
    sedx_module_stack_create(ctx, &stack);

    uniform_module ubm = {.light_position = {0.0f, 10.0f, 0.0f}};
    sedx_module_desc desc = {.name = "UniformBufferModule", .user = &ubm, .on_attach = uniform_attach,
                             .on_detach = uniform_detach, .on_update = uniform_update};
    sedx_module *module = NULL;
    r = sedx_module_push(stack, &desc, &module);
    CHECK(r == SEDX_SUCCESS, "UniformBufferModule attach: %s", sedx_result_name(r));
    if (r == SEDX_SUCCESS) {
        const double dt = 1.0 / 64.0; /* exact in binary: the expected times compare exactly */
        for (int frame = 0; frame < 5; ++frame) sedx_module_stack_update(stack, dt);
        CHECK(gpu_time(ctx, &ubm) == (float)(5 * dt), "time after 5 frames");

        sedx_module_set_enabled(module, false); /* m_IsEnabled = false */
        for (int frame = 0; frame < 3; ++frame) sedx_module_stack_update(stack, dt);
        CHECK(gpu_time(ctx, &ubm) == (float)(5 * dt), "a disabled module does not update");

        sedx_module_set_enabled(module, true);
        sedx_module_stack_update(stack, dt);
        scene_uniforms back, want = {0};
        r = sedx_download(ctx, &ubm.uniform_buffer, 0, sizeof back, &back);
        camera_view((float)(6 * dt), want.view_matrix);
        camera_proj(want.proj_matrix);
        CHECK(r == SEDX_SUCCESS && back.time == (float)(6 * dt), "time after re-enabling");
        CHECK(memcmp(back.view_matrix, want.view_matrix, sizeof want.view_matrix) == 0, "view matrix");
        CHECK(memcmp(back.proj_matrix, want.proj_matrix, sizeof want.proj_matrix) == 0, "projection matrix");
        CHECK(back.light_position[1] == 10.0f && back.light_position[3] == 1.0f, "light position");
        CHECK(ubm.uniform_buffer.data != NULL, "CPU memory is persistently mapped");
        printf("UniformBufferModule: uniform buffer id %u, time %.4f after 6 updates, verified\n",
               sedx_buffer_id(&ubm.uniform_buffer), (double)back.time);
    }

    sedx_module_stack_destroy(stack);
    transient_frames(ctx);
    CHECK(sedx_context_validation_error_count(ctx) == 0, "validation errors");
    CHECK(sedx_context_validation_warning_count(ctx) == 0, "validation warnings");
    sedx_context_destroy(ctx);
    CHECK(g_sedx_problems == 0, "sedx logged %u warnings/errors", g_sedx_problems);
    printf("uniform_buffer: %s\n", g_failures ? "FAILED" : "OK");
    return g_failures ? 1 : 0;
}
