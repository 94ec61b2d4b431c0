/*
 * The seed's "Example 4: Bindless Resource Management" (BindlessBufferModule).
 *
 * OnAttach creates 16 storage buffers of 1 MiB and logs each one's resource ID (Buffer::ID()
 * -> sedx_buffer_id). GetBufferResourceID(index) returns SEDX_INVALID_ID for an index out of
 * range instead of asserting.
 *
 * The IDs index sedx's bindless tables (docs/bindless.md): after sedx_bindless_get, entry ID of
 * the device-address table holds the buffer's address and size, and element ID of the
 * descriptor array (where the device has descriptor indexing) the buffer itself. An ID is given
 * back only once its buffer is destroyed (after the GPU is past it), then reused.
 */
#include <sedx/sedx.h>
#include <sedx/module.h>

#include <stdio.h>
#include <string.h>
#include "example.h"

#define BUFFER_COUNT 16        /* m_BufferCount */
#define BUFFER_SIZE (1u << 20) /* m_BufferSize: 1 MiB each */

typedef struct bindless_module {
    sedx_buffer storage_buffers[BUFFER_COUNT]; /* m_StorageBuffers */
    uint32_t count;
} bindless_module;

static void bindless_detach(sedx_module *m)
{
    bindless_module *self = sedx_module_user(m);
    for (uint32_t i = 0; i < self->count; ++i) sedx_buffer_release(&self->storage_buffers[i]);
    self->count = 0;
}

static sedx_result bindless_attach(sedx_module *m) /* BindlessBufferModule::OnAttach */
{
    bindless_module *self = sedx_module_user(m);
    for (uint32_t i = 0; i < BUFFER_COUNT; ++i) {
        char name[32];
        snprintf(name, sizeof name, "Storage Buffer %u", i); /* fmt::format("Storage Buffer {}", i) */
        sedx_result r = sedx_buffer_create(sedx_module_context(m), BUFFER_SIZE, SEDX_BUFFER_USAGE_STORAGE,
                                           SEDX_MEMORY_GPU, name, &self->storage_buffers[i]);
        if (r != SEDX_SUCCESS) {
            bindless_detach(m);
            return r;
        }
        self->count++;
        SEDX_LOG_INFO_TAG("BINDLESS", "Created storage buffer %u with ID %u", i,
                          sedx_buffer_id(&self->storage_buffers[i]));
    }
    return SEDX_SUCCESS;
}

/* GetBufferResourceID */
static uint32_t bindless_buffer_id(const bindless_module *self, uint32_t index)
{
    return index < self->count ? sedx_buffer_id(&self->storage_buffers[index]) : SEDX_INVALID_ID;
}

/* --- the application: one module on a stack, a few frames, then checks --------------------- */

int main(void)
{
    sedx_set_logger(logger, NULL);
    sedx_context_info info = {.flags = SEDX_CONTEXT_VALIDATION, .app_name = "bindless"};
    sedx_context *ctx = NULL;
    sedx_result r = sedx_context_create(&info, &ctx);
    if (r != SEDX_SUCCESS) {
        fprintf(stderr, "sedx_context_create: %s\n", sedx_result_string(r));
        return 1;
    }
    sedx_module_stack *stack = NULL;
    sedx_module_stack_create(ctx, &stack);

    bindless_module bm = {0};
    sedx_module_desc desc = {.name = "BindlessBufferModule", .user = &bm, .on_attach = bindless_attach,
                             .on_detach = bindless_detach};
    r = sedx_module_push(stack, &desc, NULL);
    CHECK(r == SEDX_SUCCESS, "BindlessBufferModule attach: %s", sedx_result_name(r));
    for (int frame = 0; frame < 3; ++frame) sedx_module_stack_update(stack, 1.0 / 60.0);

    if (r == SEDX_SUCCESS) {
        printf("BindlessBufferModule: IDs");
        for (uint32_t i = 0; i < BUFFER_COUNT; ++i) {
            uint32_t id = bindless_buffer_id(&bm, i);
            printf(" %u", id);
            CHECK(id != SEDX_INVALID_ID, "buffer %u has an ID", i);
            for (uint32_t j = 0; j < i; ++j) CHECK(bindless_buffer_id(&bm, j) != id, "IDs %u and %u differ", j, i);
            CHECK(bm.storage_buffers[i].size == BUFFER_SIZE, "size");
            if (sedx_context_features(ctx) & SEDX_FEATURE_BUFFER_DEVICE_ADDRESS)
                CHECK(sedx_buffer_address(&bm.storage_buffers[i]) != 0, "device address of buffer %u", i);
        }
        printf("\n");
        CHECK(bindless_buffer_id(&bm, BUFFER_COUNT) == SEDX_INVALID_ID, "index out of range");
        /* The bindless tables: what a shader reads for each ID. */
        sedx_bindless_layout layout;
        r = sedx_bindless_get(ctx, &layout);
        CHECK(r == SEDX_SUCCESS, "sedx_bindless_get: %s", sedx_result_name(r));
        if (r == SEDX_SUCCESS) {
            printf("BindlessBufferModule: %u IDs, address table %s, descriptor array %s\n", layout.capacity,
                   layout.table ? "yes" : "no", layout.set ? "yes" : "no");
            for (uint32_t i = 0; i < BUFFER_COUNT && layout.table; ++i) {
                sedx_bindless_entry e = {0, 0};
                sedx_bindless_entry_get(ctx, bindless_buffer_id(&bm, i), &e);
                CHECK(e.address == sedx_buffer_address(&bm.storage_buffers[i]) && e.size == BUFFER_SIZE,
                      "table entry of buffer %u", i);
            }
        }
        /* A released buffer has no ID; its slot goes to the next buffer created. */
        uint32_t old = sedx_buffer_id(&bm.storage_buffers[5]);
        sedx_buffer_release(&bm.storage_buffers[5]);
        CHECK(sedx_buffer_id(&bm.storage_buffers[5]) == SEDX_INVALID_ID, "released: SEDX_INVALID_ID");
        r = sedx_buffer_create(ctx, BUFFER_SIZE, SEDX_BUFFER_USAGE_STORAGE, SEDX_MEMORY_GPU, "Storage Buffer 5",
                               &bm.storage_buffers[5]);
        CHECK(r == SEDX_SUCCESS, "re-create: %s", sedx_result_name(r));
        printf("BindlessBufferModule: buffer 5 released (ID %u) and re-created: ID %u\n", old,
               sedx_buffer_id(&bm.storage_buffers[5]));
    }

    sedx_module_stack_destroy(stack);
    CHECK(sedx_context_validation_error_count(ctx) == 0, "validation errors");
    CHECK(sedx_context_validation_warning_count(ctx) == 0, "validation warnings");
    sedx_context_destroy(ctx);
    CHECK(g_sedx_problems == 0, "sedx logged %u warnings/errors", g_sedx_problems);
    printf("bindless: %s\n", g_failures ? "FAILED" : "OK");
    return g_failures ? 1 : 0;
}
