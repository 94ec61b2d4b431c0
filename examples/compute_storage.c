/*
 * The seed's "Example 3: Storage Buffer for Compute" (ComputeModule).
 *
 * OnAttach creates an input and an output storage buffer (GPU memory) and initialises the
 * particles through a CPU staging buffer (MapBuffer / memcpy / UnmapBuffer + CopyBuffer).
 * The seed stops there; the application would dispatch its simulation shader each frame.
 * Here OnUpdate stands in for that dispatch with a device-to-device sedx_copy (input ->
 * output), so the frames do GPU work on both buffers. main() reads both back and compares.
 */
#include <sedx/sedx.h>
#include <sedx/module.h>

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include "example.h"

typedef struct particle {
    float position[3];
    float velocity[3];
    float lifetime;
} particle;

#define PARTICLE_COUNT 10000 /* m_ParticleCount */

typedef struct compute_module {
    sedx_buffer input_buffer;  /* m_InputBuffer */
    sedx_buffer output_buffer; /* m_OutputBuffer */
    uint32_t dispatches;
} compute_module;

/* GetRandomPosition / GetRandomVelocity / GetRandomLifetime, reproducible. */
static float random_float(uint32_t *state, float lo, float hi)
{
    *state = *state * 1664525u + 1013904223u;
    return lo + (hi - lo) * (float)(*state >> 8) / 16777216.0f;
}
static void make_particles(particle *p, size_t count)
{
    uint32_t rng = 12345;
    for (size_t i = 0; i < count; ++i) {
        for (int k = 0; k < 3; ++k) p[i].position[k] = random_float(&rng, -10.0f, 10.0f);
        for (int k = 0; k < 3; ++k) p[i].velocity[k] = random_float(&rng, -1.0f, 1.0f);
        p[i].lifetime = random_float(&rng, 1.0f, 5.0f);
    }
}

static sedx_result initialize_particles(sedx_context *ctx, compute_module *self) /* InitializeParticles */
{
    /* Create staging buffer */
    const uint64_t size = PARTICLE_COUNT * sizeof(particle);
    sedx_buffer staging;
    sedx_result r = sedx_buffer_create(ctx, size, SEDX_BUFFER_USAGE_TRANSFER_SRC, SEDX_MEMORY_CPU,
                                       "Particle Init Staging", &staging);
    if (r != SEDX_SUCCESS) return r;

    /* Generate initial particle data straight into the mapped staging memory */
    void *mapped;
    r = sedx_buffer_map(&staging, &mapped);
    if (r == SEDX_SUCCESS) {
        make_particles(mapped, PARTICLE_COUNT);
        r = sedx_buffer_unmap(&staging);
    }
    /* Copy to device buffer */
    if (r == SEDX_SUCCESS)
        r = sedx_copy_buffer(ctx, sedx_buffer_vk(&staging), sedx_buffer_vk(&self->input_buffer), size);
    sedx_buffer_release(&staging);
    return r;
}

static void compute_detach(sedx_module *m)
{
    compute_module *self = sedx_module_user(m);
    sedx_buffer_release(&self->input_buffer);
    sedx_buffer_release(&self->output_buffer);
}

static sedx_result compute_attach(sedx_module *m) /* ComputeModule::OnAttach */
{
    SEDX_PROFILE_SCOPE("ComputeModule::OnAttach");
    compute_module *self = sedx_module_user(m);
    sedx_context *ctx = sedx_module_context(m);
    const uint64_t size = PARTICLE_COUNT * sizeof(particle);

    /* Create input and output storage buffers (STORAGE also gets the shader device address
     * where the device has it; sizes are rounded up to minStorageBufferOffsetAlignment) */
    sedx_result r = sedx_buffer_create(ctx, size, SEDX_BUFFER_USAGE_STORAGE, SEDX_MEMORY_GPU, "Particle Input Buffer",
                                       &self->input_buffer);
    if (r == SEDX_SUCCESS)
        r = sedx_buffer_create(ctx, size, SEDX_BUFFER_USAGE_STORAGE, SEDX_MEMORY_GPU, "Particle Output Buffer",
                               &self->output_buffer);
    /* Initialize particle data */
    if (r == SEDX_SUCCESS) r = initialize_particles(ctx, self);
    if (r != SEDX_SUCCESS) {
        compute_detach(m); /* a failed attach is not detached: clean up here */
        return r;
    }
    SEDX_LOG_INFO_TAG("COMPUTE", "Created storage buffers for %d particles", PARTICLE_COUNT);
    SEDX_LOG_INFO_TAG("COMPUTE", "Input buffer ID: %u, Output buffer ID: %u", sedx_buffer_id(&self->input_buffer),
                      sedx_buffer_id(&self->output_buffer));
    return SEDX_SUCCESS;
}

/* Stands in for the simulation dispatch: the GPU copies input -> output (sedx_copy returns
 * once the copy is done when no ticket pointer is given). */
static void compute_update(sedx_module *m, double dt)
{
    (void)dt;
    compute_module *self = sedx_module_user(m);
    if (sedx_gpu_copy(sedx_module_context(m), &self->input_buffer, 0, &self->output_buffer, 0,
                  PARTICLE_COUNT * sizeof(particle), NULL) == SEDX_SUCCESS)
        self->dispatches++;
}

/* --- the application: one module on a stack, a few frames, then checks --------------------- */

int main(void)
{
    sedx_set_logger(logger, NULL);
    sedx_context_info info = {.flags = SEDX_CONTEXT_VALIDATION, .app_name = "compute_storage"};
    sedx_context *ctx = NULL;
    sedx_result r = sedx_context_create(&info, &ctx);
    if (r != SEDX_SUCCESS) {
        fprintf(stderr, "sedx_context_create: %s\n", sedx_result_string(r));
        return 1;
    }
    sedx_module_stack *stack = NULL;
    sedx_module_stack_create(ctx, &stack);

    compute_module cm = {0};
    sedx_module_desc desc = {.name = "ComputeModule", .user = &cm, .on_attach = compute_attach,
                             .on_detach = compute_detach, .on_update = compute_update};
    r = sedx_module_push(stack, &desc, NULL);
    CHECK(r == SEDX_SUCCESS, "ComputeModule attach: %s", sedx_result_name(r));
    for (int frame = 0; frame < 3; ++frame) sedx_module_stack_update(stack, 1.0 / 60.0);

    if (r == SEDX_SUCCESS) {
        particle *want = malloc(PARTICLE_COUNT * sizeof *want), *back = malloc(PARTICLE_COUNT * sizeof *back);
        CHECK(want && back, "out of memory");
        if (want && back) {
            make_particles(want, PARTICLE_COUNT);
            r = sedx_download(ctx, &cm.input_buffer, 0, PARTICLE_COUNT * sizeof *back, back);
            CHECK(r == SEDX_SUCCESS && memcmp(back, want, PARTICLE_COUNT * sizeof *back) == 0, "input particles");
            memset(back, 0, PARTICLE_COUNT * sizeof *back);
            r = sedx_download(ctx, &cm.output_buffer, 0, PARTICLE_COUNT * sizeof *back, back);
            CHECK(r == SEDX_SUCCESS && memcmp(back, want, PARTICLE_COUNT * sizeof *back) == 0, "output particles");
        }
        free(want);
        free(back);
        CHECK(cm.dispatches == 3, "3 frames, 3 GPU copies (got %u)", cm.dispatches);
        uint32_t in_id = sedx_buffer_id(&cm.input_buffer), out_id = sedx_buffer_id(&cm.output_buffer);
        CHECK(in_id != SEDX_INVALID_ID && out_id != SEDX_INVALID_ID && in_id != out_id, "two distinct IDs");
        printf("ComputeModule: %d particles, input id %u, output id %u, address 0x%llx, verified\n", PARTICLE_COUNT,
               in_id, out_id, (unsigned long long)sedx_buffer_address(&cm.input_buffer));
    }

    sedx_module_stack_destroy(stack);
    CHECK(sedx_context_validation_error_count(ctx) == 0, "validation errors");
    CHECK(sedx_context_validation_warning_count(ctx) == 0, "validation warnings");
    sedx_context_destroy(ctx);
    CHECK(g_sedx_problems == 0, "sedx logged %u warnings/errors", g_sedx_problems);
    printf("compute_storage: %s\n", g_failures ? "FAILED" : "OK");
    return g_failures ? 1 : 0;
}
