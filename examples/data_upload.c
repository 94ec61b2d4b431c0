/*
 * The seed's "Memory Mapping" example (DataUploadModule::UploadData): map a CPU buffer,
 * memcpy, unmap, log "Uploaded N bytes to buffer ID".
 *
 * The seed asserts that the buffer is CPU memory; sedx_buffer_map returns
 * SEDX_ERROR_NOT_HOST_VISIBLE for GPU memory instead (see error_handling.c), so UploadData
 * returns that code. Each frame uploads a new record; main() checks the bytes on the CPU
 * (sedx_buffer_read) and as the GPU sees them (sedx_download).
 */
#include <sedx/sedx.h>
#include <sedx/module.h>

#include <stdio.h>
#include <string.h>
#include "example.h"

typedef struct record {
    uint32_t frame;
    float values[15];
} record;

typedef struct upload_module {
    sedx_buffer buffer;
    uint32_t frame;
} upload_module;

/* DataUploadModule::UploadData */
static sedx_result upload_data(const sedx_buffer *buffer, const void *data, size_t size)
{
    void *mapped;
    sedx_result r = sedx_buffer_map(buffer, &mapped); /* NOT_HOST_VISIBLE for GPU memory */
    if (r != SEDX_SUCCESS) return r;
    memcpy(mapped, data, size); /* or sedx_buffer_write(), which also checks the bounds */
    r = sedx_buffer_unmap(buffer);
    SEDX_LOG_INFO_TAG("UPLOAD", "Uploaded %zu bytes to buffer %u", size, sedx_buffer_id(buffer));
    return r;
}

static sedx_result upload_attach(sedx_module *m)
{
    upload_module *self = sedx_module_user(m);
    return sedx_buffer_create(sedx_module_context(m), sizeof(record), SEDX_BUFFER_USAGE_STORAGE, SEDX_MEMORY_CPU,
                              "Upload Target", &self->buffer);
}

static void upload_update(sedx_module *m, double dt)
{
    upload_module *self = sedx_module_user(m);
    record rec = {.frame = ++self->frame};
    for (int i = 0; i < 15; ++i) rec.values[i] = (float)(dt * i * self->frame);
    upload_data(&self->buffer, &rec, sizeof rec);
}

static void upload_detach(sedx_module *m)
{
    upload_module *self = sedx_module_user(m);
    sedx_buffer_release(&self->buffer);
}

/* --- the application: one module on a stack, a few frames, then checks --------------------- */

int main(void)
{
    sedx_set_logger(logger, NULL);
    sedx_context_info info = {.flags = SEDX_CONTEXT_VALIDATION, .app_name = "data_upload"};
    sedx_context *ctx = NULL;
    sedx_result r = sedx_context_create(&info, &ctx);
    if (r != SEDX_SUCCESS) {
        fprintf(stderr, "sedx_context_create: %s\n", sedx_result_string(r));
        return 1;
    }
    sedx_module_stack *stack = NULL;
    sedx_module_stack_create(ctx, &stack);

    upload_module um = {0};
    sedx_module_desc desc = {.name = "DataUploadModule", .user = &um, .on_attach = upload_attach,
                             .on_detach = upload_detach, .on_update = upload_update};
    r = sedx_module_push(stack, &desc, NULL);
    CHECK(r == SEDX_SUCCESS, "DataUploadModule attach: %s", sedx_result_name(r));
    const double dt = 0.25;
    for (int frame = 0; frame < 3; ++frame) sedx_module_stack_update(stack, dt);

    if (r == SEDX_SUCCESS) {
        record want = {.frame = 3}, cpu, gpu;
        for (int i = 0; i < 15; ++i) want.values[i] = (float)(dt * i * 3);
        r = sedx_buffer_read(&um.buffer, &cpu, sizeof cpu, 0);
        CHECK(r == SEDX_SUCCESS && memcmp(&cpu, &want, sizeof want) == 0, "CPU view of frame 3");
        r = sedx_download(ctx, &um.buffer, 0, sizeof gpu, &gpu);
        CHECK(r == SEDX_SUCCESS && memcmp(&gpu, &want, sizeof want) == 0, "GPU view of frame 3");
        printf("DataUploadModule: 3 uploads of %zu bytes into buffer %u, verified\n", sizeof want,
               sedx_buffer_id(&um.buffer));
    }

    sedx_module_stack_destroy(stack);
    CHECK(sedx_context_validation_error_count(ctx) == 0, "validation errors");
    CHECK(sedx_context_validation_warning_count(ctx) == 0, "validation warnings");
    sedx_context_destroy(ctx);
    CHECK(g_sedx_problems == 0, "sedx logged %u warnings/errors", g_sedx_problems);
    printf("data_upload: %s\n", g_failures ? "FAILED" : "OK");
    return g_failures ? 1 : 0;
}
