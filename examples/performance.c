/*
 * The seed's "Best Practices 3: Performance Optimization" (OptimizedBufferModule).
 *
 * The seed keeps a pool of 4 staging buffers (m_StagingPool), a list of pending uploads
 * (m_PendingUploads) copied into one staging buffer per frame, and its uniforms mapped. In
 * sedx (docs/transfer.md):
 *  - the staging pool is the transfer layer's bounded staging ring: nothing to create, map,
 *    pool or recycle;
 *  - ProcessPendingUploads is sedx_upload_batch (every region checked first, bytes copied at
 *    once, so the pending data may be reused on return) + sedx_upload_submit (one submit for
 *    the whole batch, a ticket to wait on or poll);
 *  - "keep buffers mapped": CPU buffers are persistently mapped, buffer.data is always valid.
 * main() queues uploads over several frames, waits for the last ticket, reads every target
 * back and checks the transfer statistics: one batch per frame.
 */
#include <sedx/sedx.h>
#include <sedx/module.h>

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include "example.h"

#define TARGET_COUNT 4
#define TARGET_SIZE (256u << 10)
#define UPLOADS_PER_FRAME 64
#define UPLOAD_SIZE 1024
#define FRAMES 5

typedef struct pending_upload { /* PendingUpload */
    const void *data;
    uint64_t size;
    const sedx_buffer *target;
    uint64_t offset;
} pending_upload;

typedef struct uniform_data {
    float time;
    uint32_t frame;
    uint32_t pad[2];
} uniform_data;

typedef struct optimized_module {
    sedx_buffer targets[TARGET_COUNT];
    sedx_buffer uniform_buffer;
    uniform_data uniforms; /* m_UniformData */
    bool uniforms_need_update;
    pending_upload pending[UPLOADS_PER_FRAME]; /* m_PendingUploads */
    uint32_t pending_count;
    sedx_ticket last_ticket;
    uint32_t submits;
} optimized_module;

static void optimized_detach(sedx_module *m)
{
    optimized_module *self = sedx_module_user(m);
    for (int i = 0; i < TARGET_COUNT; ++i) sedx_buffer_release(&self->targets[i]);
    sedx_buffer_release(&self->uniform_buffer);
}

static sedx_result optimized_attach(sedx_module *m) /* OptimizedBufferModule::OnAttach */
{
    optimized_module *self = sedx_module_user(m);
    sedx_context *ctx = sedx_module_context(m);
    /* CreateAllBuffers. No staging pool: the transfer layer owns one bounded staging ring. */
    sedx_result r = SEDX_SUCCESS;
    for (int i = 0; i < TARGET_COUNT && r == SEDX_SUCCESS; ++i) {
        char name[32];
        snprintf(name, sizeof name, "Streamed Chunk %d", i);
        r = sedx_buffer_create(ctx, TARGET_SIZE, SEDX_BUFFER_USAGE_STORAGE | SEDX_BUFFER_USAGE_TRANSFER_DST,
                               SEDX_MEMORY_GPU, name, &self->targets[i]);
    }
    if (r == SEDX_SUCCESS)
        r = sedx_buffer_create(ctx, sizeof(uniform_data), SEDX_BUFFER_USAGE_UNIFORM, SEDX_MEMORY_CPU,
                               "Optimized Uniforms", &self->uniform_buffer);
    if (r != SEDX_SUCCESS) optimized_detach(m);
    return r;
}

/* ProcessPendingUploads: one batch, one submit. */
static void process_pending_uploads(optimized_module *self, sedx_context *ctx)
{
    SEDX_PROFILE_SCOPE("ProcessPendingUploads");
    sedx_upload_region regions[UPLOADS_PER_FRAME];
    for (uint32_t i = 0; i < self->pending_count; ++i)
        regions[i] = (sedx_upload_region){self->pending[i].target, self->pending[i].offset, self->pending[i].size,
                                          self->pending[i].data};
    sedx_result r = sedx_upload_batch(ctx, regions, self->pending_count);
    if (r == SEDX_SUCCESS) r = sedx_upload_submit(ctx, &self->last_ticket);
    if (r == SEDX_SUCCESS) self->submits++;
    self->pending_count = 0; /* m_PendingUploads.clear(): the bytes are copied already */
}

static void optimized_update(sedx_module *m, double dt) /* OptimizedBufferModule::OnUpdate */
{
    SEDX_PROFILE_SCOPE("OptimizedBufferModule::OnUpdate");
    optimized_module *self = sedx_module_user(m);
    self->uniforms.time += (float)dt;
    self->uniforms.frame++;
    self->uniforms_need_update = true;
    /* Minimize mapping operations: the buffer is always mapped (UpdateUniformsEfficiently) */
    if (self->uniforms_need_update) {
        memcpy(self->uniform_buffer.data, &self->uniforms, sizeof self->uniforms);
        self->uniforms_need_update = false;
    }
    /* Batch data uploads */
    if (self->pending_count) process_pending_uploads(self, sedx_module_context(m));
}

/* --- the application: one module on a stack, a few frames, then checks --------------------- */

int main(void)
{
    sedx_set_logger(logger, NULL);
    sedx_context_info info = {.flags = SEDX_CONTEXT_VALIDATION, .app_name = "performance"};
    sedx_context *ctx = NULL;
    sedx_result r = sedx_context_create(&info, &ctx);
    if (r != SEDX_SUCCESS) {
        fprintf(stderr, "sedx_context_create: %s\n", sedx_result_string(r));
        return 1;
    }
    /* Where a GPU buffer is host-visible and idle (lavapipe: all memory), sedx_upload writes
     * straight into it. Turned off here so every device shows the staging ring and the batch;
     * an application keeps the default. */
    sedx_transfer_info ti = {.flags = SEDX_TRANSFER_NO_DIRECT};
    sedx_transfer_configure(ctx, &ti);
    sedx_module_stack *stack = NULL;
    sedx_module_stack_create(ctx, &stack);

    optimized_module *om = calloc(1, sizeof *om);
    uint8_t *mirror = calloc(TARGET_COUNT, TARGET_SIZE);     /* what each target should hold */
    uint8_t *frame_data = malloc(UPLOADS_PER_FRAME * UPLOAD_SIZE); /* reused every frame */
    if (!om || !mirror || !frame_data) return 1;
    sedx_module_desc desc = {.name = "OptimizedBufferModule", .user = om, .on_attach = optimized_attach,
                             .on_detach = optimized_detach, .on_update = optimized_update};
    r = sedx_module_push(stack, &desc, NULL);
    CHECK(r == SEDX_SUCCESS, "OptimizedBufferModule attach: %s", sedx_result_name(r));

    if (r == SEDX_SUCCESS) {
        sedx_transfer_stats before, after;
        sedx_transfer_get_stats(ctx, &before);
        uint32_t rng = 1;
        for (int frame = 0; frame < FRAMES; ++frame) {
            /* The application queues uploads during the frame... */
            for (uint32_t i = 0; i < UPLOADS_PER_FRAME; ++i) {
                uint8_t *bytes = frame_data + i * UPLOAD_SIZE;
                for (uint32_t k = 0; k < UPLOAD_SIZE; ++k) bytes[k] = (uint8_t)((rng = rng * 1103515245u + 12345u) >> 16);
                uint32_t t = i % TARGET_COUNT;
                uint64_t offset = (uint64_t)((i / TARGET_COUNT + (uint32_t)frame * 7u) % (TARGET_SIZE / UPLOAD_SIZE)) *
                                  UPLOAD_SIZE;
                om->pending[om->pending_count++] = (pending_upload){bytes, UPLOAD_SIZE, &om->targets[t], offset};
                memcpy(mirror + (size_t)t * TARGET_SIZE + offset, bytes, UPLOAD_SIZE);
            }
            /* ... and OnUpdate sends them in one batch. */
            sedx_module_stack_update(stack, 1.0 / 60.0);
        }
        r = sedx_ticket_wait(ctx, om->last_ticket, UINT64_MAX);
        CHECK(r == SEDX_SUCCESS, "ticket wait: %s", sedx_result_name(r));
        sedx_transfer_get_stats(ctx, &after);

        uint8_t *back = malloc(TARGET_SIZE);
        for (int t = 0; t < TARGET_COUNT && back; ++t) {
            r = sedx_download(ctx, &om->targets[t], 0, TARGET_SIZE, back);
            CHECK(r == SEDX_SUCCESS && memcmp(back, mirror + (size_t)t * TARGET_SIZE, TARGET_SIZE) == 0,
                  "contents of chunk %d", t);
        }
        free(back);
        uniform_data u;
        memcpy(&u, om->uniform_buffer.data, sizeof u);
        CHECK(u.frame == FRAMES, "uniforms of the last frame");
        CHECK(om->submits == FRAMES, "one submit per frame (got %u)", om->submits);
        CHECK(after.uploads - before.uploads == FRAMES * UPLOADS_PER_FRAME, "every upload counted");
        CHECK(after.batches - before.batches == FRAMES, "one batch per frame");
        CHECK(after.staged_bytes - before.staged_bytes == FRAMES * UPLOADS_PER_FRAME * UPLOAD_SIZE, "all staged");
        printf("OptimizedBufferModule: %d frames x %d uploads of %d bytes, %u submits; contents verified\n"
               "  transfer stats: %llu batches, %llu bytes direct, %llu bytes staged, %llu copy regions, "
               "%llu scatter dispatches, ring %llu KiB\n",
               FRAMES, UPLOADS_PER_FRAME, UPLOAD_SIZE, om->submits,
               (unsigned long long)(after.batches - before.batches),
               (unsigned long long)(after.direct_bytes - before.direct_bytes),
               (unsigned long long)(after.staged_bytes - before.staged_bytes),
               (unsigned long long)(after.copy_regions - before.copy_regions),
               (unsigned long long)(after.scatter_dispatches - before.scatter_dispatches),
               (unsigned long long)(after.staging_size >> 10));
    }

    sedx_module_stack_destroy(stack);
    free(om);
    free(mirror);
    free(frame_data);
    CHECK(sedx_context_validation_error_count(ctx) == 0, "validation errors");
    CHECK(sedx_context_validation_warning_count(ctx) == 0, "validation warnings");
    sedx_context_destroy(ctx);
    CHECK(g_sedx_problems == 0, "sedx logged %u warnings/errors", g_sedx_problems);
    printf("performance: %s\n", g_failures ? "FAILED" : "OK");
    return g_failures ? 1 : 0;
}
