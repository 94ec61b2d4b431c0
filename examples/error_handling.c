/*
 * The seed's "Best Practices 2: Error Handling Patterns" (SafeBufferModule) and its "Common
 * Error Scenarios".
 *
 * The seed wraps creation in try/catch and guards every use with SEDX_CORE_ASSERT /
 * SEDX_CORE_VERIFY. In sedx nothing throws or asserts on misuse: every call returns a
 * sedx_result (sedx_result_name / sedx_result_string) and logs one line saying what was wrong,
 * in release builds too. This program commits each misuse on purpose, prints the code and the
 * log line, and checks that nothing reached Vulkan (the validation layer saw no error).
 */
#include <sedx/sedx.h>
#include <sedx/module.h>

#include <stdio.h>
#include <string.h>
#define EXAMPLE_OWN_LOGGER
#include "example.h"

typedef struct uniform_data {
    float color[4];
} uniform_data;

typedef struct safe_module {
    uint64_t vertex_data_size; /* m_VertexDataSize */
    sedx_buffer vertex_buffer;  /* m_VertexBuffer */
    sedx_buffer uniform_buffer; /* m_UniformBuffer */
    uniform_data uniforms;      /* m_UniformData */
    uint32_t updates;
} safe_module;

static void safe_detach(sedx_module *m)
{
    safe_module *self = sedx_module_user(m);
    sedx_buffer_release(&self->vertex_buffer);
    sedx_buffer_release(&self->uniform_buffer);
}

/* SafeBufferModule::OnAttach + CreateBuffers: no parameter check needed before the call (a size
 * of 0 is SEDX_ERROR_INVALID_SIZE), no VERIFY after it (success means a valid VkBuffer). A
 * failed attach returns the code: the push fails and the module is not on the stack (the
 * seed's m_InitializationFailed). */
static sedx_result safe_attach(sedx_module *m)
{
    safe_module *self = sedx_module_user(m);
    char name[64];
    snprintf(name, sizeof name, "%s Vertex Buffer", sedx_module_name(m)); /* GetName() + " Vertex Buffer" */
    sedx_result r = sedx_buffer_create(sedx_module_context(m), self->vertex_data_size, SEDX_BUFFER_USAGE_VERTEX,
                                       SEDX_MEMORY_GPU, name, &self->vertex_buffer);
    snprintf(name, sizeof name, "%s Uniform Buffer", sedx_module_name(m));
    if (r == SEDX_SUCCESS)
        r = sedx_buffer_create(sedx_module_context(m), sizeof(uniform_data), SEDX_BUFFER_USAGE_UNIFORM,
                               SEDX_MEMORY_CPU, name, &self->uniform_buffer);
    if (r != SEDX_SUCCESS) {
        SEDX_LOG_ERROR_TAG("BUFFER", "Failed to create buffers: %s", sedx_result_string(r));
        safe_detach(m);
        return r;
    }
    SEDX_LOG_INFO_TAG("BUFFER", "All buffers created successfully");
    return SEDX_SUCCESS;
}

static void safe_update(sedx_module *m, double dt) /* SafeBufferModule::OnUpdate */
{
    (void)dt;
    safe_module *self = sedx_module_user(m);
    /* Always validate before use: an error code, not an assert */
    if (sedx_buffer_validate(&self->vertex_buffer) != SEDX_SUCCESS) return;
    /* Safe memory mapping (UpdateUniforms) */
    if (self->uniform_buffer.memory & SEDX_MEMORY_CPU) {
        void *mapped;
        sedx_result r = sedx_buffer_map(&self->uniform_buffer, &mapped);
        if (r != SEDX_SUCCESS) {
            SEDX_LOG_ERROR_TAG("BUFFER", "Failed to map uniform buffer: %s", sedx_result_name(r));
            return;
        }
        memcpy(mapped, &self->uniforms, sizeof self->uniforms);
        sedx_buffer_unmap(&self->uniform_buffer); /* always unmap */
        self->updates++;
    }
}

/* --- the application --------------------------------------------------------------------- */
static unsigned g_errors_logged, g_warnings_logged;
static char g_last_log[512];

/* Keeps sedx's last log line instead of printing it at once. */
static void logger(sedx_log_level level, const char *tag, const char *msg, const char *file, int line, void *user)
{
    (void)file, (void)line, (void)user;
    if (level == SEDX_LOG_ERROR) g_errors_logged++;
    if (level == SEDX_LOG_WARN) g_warnings_logged++;
    if (level >= SEDX_LOG_WARN) snprintf(g_last_log, sizeof g_last_log, "[%s] %s", tag ? tag : "", msg);
}

/* One misuse: the code it returned, the one expected, and the error line sedx logged. */
static void expect(const char *what, sedx_result got, sedx_result want, bool returns)
{
    static unsigned errors_before;
    bool logged = g_errors_logged > errors_before;
    errors_before = g_errors_logged;
    printf("  %-58s -> %s\n", what, returns ? sedx_result_name(got) : "(void: reported and ignored)");
    printf("  %-58s    log: %s\n", "", logged ? g_last_log : "(none)");
    CHECK(got == want, "%s: got %s, expected %s", what, sedx_result_name(got), sedx_result_name(want));
    CHECK(logged, "%s: an error line was logged", what);
}
#define EXPECT(call, want) expect(#call, (call), (want), true)
#define EXPECT_VOID(call) ((call), expect(#call, SEDX_SUCCESS, SEDX_SUCCESS, false))

int main(void)
{
    sedx_set_logger(logger, NULL);
    sedx_context_info info = {.flags = SEDX_CONTEXT_VALIDATION, .app_name = "error_handling"};
    sedx_context *ctx = NULL;
    sedx_result r = sedx_context_create(&info, &ctx);
    if (r != SEDX_SUCCESS) {
        fprintf(stderr, "sedx_context_create: %s\n", sedx_result_string(r));
        return 1;
    }
    sedx_module_stack *stack = NULL;
    sedx_module_stack_create(ctx, &stack);

    printf("SafeBufferModule with m_VertexDataSize = 0 (the seed asserts):\n");
    safe_module broken = {.vertex_data_size = 0};
    sedx_module_desc desc = {.name = "SafeBufferModule", .user = &broken, .on_attach = safe_attach,
                             .on_detach = safe_detach, .on_update = safe_update};
    EXPECT(sedx_module_push(stack, &desc, NULL), SEDX_ERROR_INVALID_SIZE);
    CHECK(sedx_module_stack_count(stack) == 0, "a failed module is not on the stack");

    safe_module sm = {.vertex_data_size = 4096, .uniforms = {{1, 0.5f, 0.25f, 1}}};
    desc.user = &sm;
    r = sedx_module_push(stack, &desc, NULL);
    CHECK(r == SEDX_SUCCESS, "SafeBufferModule attach: %s", sedx_result_name(r));
    for (int frame = 0; frame < 3; ++frame) sedx_module_stack_update(stack, 1.0 / 60.0);
    CHECK(sm.updates == 3, "3 uniform updates (got %u)", sm.updates);

    printf("Creation:\n");
    sedx_buffer b;
    EXPECT(sedx_buffer_create(ctx, 0, SEDX_BUFFER_USAGE_VERTEX, SEDX_MEMORY_GPU, "zero", &b), SEDX_ERROR_INVALID_SIZE);
    EXPECT(sedx_buffer_create(ctx, UINT64_MAX, SEDX_BUFFER_USAGE_STORAGE, SEDX_MEMORY_GPU, "huge", &b),
           SEDX_ERROR_INVALID_SIZE);
    EXPECT(sedx_buffer_create(ctx, 64, 0x40000000u, SEDX_MEMORY_GPU, "unknown usage", &b), SEDX_ERROR_INVALID_USAGE);
    /* a shader-binding-table buffer where the device has no ray-tracing pipelines (lavapipe) */
    if (!(sedx_context_features(ctx) & SEDX_FEATURE_RAY_TRACING_PIPELINE))
        EXPECT(sedx_buffer_create(ctx, 64, SEDX_BUFFER_USAGE_SHADER_BINDING_TABLE, SEDX_MEMORY_GPU, "SBT", &b),
               SEDX_ERROR_FEATURE_NOT_PRESENT);
    else
        printf("  (this device has ray-tracing pipelines: a SHADER_BINDING_TABLE buffer is no error here)\n");

    printf("Common error scenario 1, invalid memory type for mapping:\n");
    void *p;
    EXPECT(sedx_buffer_map(&sm.vertex_buffer, &p), SEDX_ERROR_NOT_HOST_VISIBLE);
    EXPECT(sedx_buffer_write(&sm.vertex_buffer, &sm.uniforms, 16, 0), SEDX_ERROR_NOT_HOST_VISIBLE);
    EXPECT(sedx_buffer_unmap(&sm.uniform_buffer), SEDX_ERROR_NOT_MAPPED);

    printf("Common error scenario 2, buffer overflow protection (Buffer::Write):\n");
    uint8_t bytes[32] = {0};
    EXPECT(sedx_buffer_write(&sm.uniform_buffer, bytes, 17, 0), SEDX_ERROR_OUT_OF_BOUNDS);
    EXPECT(sedx_buffer_write(&sm.uniform_buffer, bytes, 8, UINT64_MAX - 4), SEDX_ERROR_OUT_OF_BOUNDS);
    EXPECT(sedx_buffer_read(&sm.uniform_buffer, bytes, 32, 0), SEDX_ERROR_OUT_OF_BOUNDS);
    EXPECT(sedx_buffer_write(&sm.uniform_buffer, NULL, 4, 0), SEDX_ERROR_INVALID_ARGUMENT);
    EXPECT(sedx_upload(ctx, &sm.vertex_buffer, 4090, 8, bytes), SEDX_ERROR_OUT_OF_BOUNDS);

    printf("Common error scenario 3, resource cleanup (resource.Reset()):\n");
    sedx_buffer copy = sm.uniform_buffer; /* a plain copy is not a reference */
    sedx_buffer_release(&sm.uniform_buffer);
    EXPECT(sedx_buffer_map(&copy, &p), SEDX_ERROR_INVALID_HANDLE);
    EXPECT(sedx_buffer_validate(&copy), SEDX_ERROR_INVALID_HANDLE);
    EXPECT_VOID(sedx_buffer_release(&copy)); /* a double release is reported, never fatal */
    sedx_buffer garbage = {.resource = (sedx_buffer_resource *)&garbage, .handle = 0xDEAD0000BEEFull};
    EXPECT(sedx_buffer_map(&garbage, &p), SEDX_ERROR_INVALID_HANDLE);

    /* OnUpdate after the uniform buffer was released: validate and the memory check skip it */
    sedx_module_stack_update(stack, 1.0 / 60.0);
    CHECK(sm.updates == 3, "no update through a released buffer");

    sedx_module_stack_destroy(stack);
    CHECK(sedx_context_validation_error_count(ctx) == 0, "validation errors: a misuse reached Vulkan");
    CHECK(sedx_context_validation_warning_count(ctx) == 0, "validation warnings");
    sedx_context_destroy(ctx);
    CHECK(g_warnings_logged == 0, "%u unexpected warnings (a leak?): %s", g_warnings_logged, g_last_log);
    printf("error_handling: %s\n", g_failures ? "FAILED" : "OK");
    return g_failures ? 1 : 0;
}
