/*
 * The transfer layer's state: creation with the context (pipelines, memcpy threads; the rings
 * come on first need), configuration, teardown, statistics.
 */
#include "transfer/transfer_private.h"

#include "copy_spv.h"
#include "scatter_spv.h"

#include <unistd.h>

static sedx_result create_pipeline(sedx_context *ctx, struct sedx__transfer *t, const uint32_t *code, size_t bytes,
                                   const VkSpecializationInfo *spec, VkPipeline *out)
{
    VkShaderModuleCreateInfo mi = {VK_STRUCTURE_TYPE_SHADER_MODULE_CREATE_INFO};
    mi.codeSize = bytes;
    mi.pCode = code;
    VkShaderModule module;
    VkResult vr = vkCreateShaderModule(ctx->device, &mi, NULL, &module);
    if (vr != VK_SUCCESS) return SEDX__VK(vr, "vkCreateShaderModule");
    VkComputePipelineCreateInfo pci = {VK_STRUCTURE_TYPE_COMPUTE_PIPELINE_CREATE_INFO};
    pci.stage.sType = VK_STRUCTURE_TYPE_PIPELINE_SHADER_STAGE_CREATE_INFO;
    pci.stage.stage = VK_SHADER_STAGE_COMPUTE_BIT;
    pci.stage.module = module;
    pci.stage.pName = "main";
    pci.stage.pSpecializationInfo = spec;
    pci.layout = t->layout;
    vr = vkCreateComputePipelines(ctx->device, VK_NULL_HANDLE, 1, &pci, NULL, out);
    vkDestroyShaderModule(ctx->device, module, NULL);
    if (vr != VK_SUCCESS) return SEDX__VK(vr, "vkCreateComputePipelines");
    return SEDX_SUCCESS;
}

static void transfer_free(sedx_context *ctx, struct sedx__transfer *t)
{
    if (t->pool_started) sedx__pool_stop(&t->pool);
    /* upload reservations never committed or cancelled: each holds a reference to its buffer,
     * which would otherwise be reported as the application's leak */
    for (uint32_t i = 0; i < PIN_CAP && t->up.pin_count; ++i) {
        ring_pin *p = &t->up.pins[i];
        if (p->state == PIN_RESERVED && p->dst.resource) {
            sedx_buffer_resource *res = p->dst.resource;
            SEDX_LOG_WARN_TAG(TAG, "context destroyed with an upload reservation outstanding: %llu bytes for buffer "
                              "'%s' at offset %llu (never committed or cancelled; nothing written)",
                              (unsigned long long)p->data_size, res->name && *res->name ? res->name : "(unnamed)",
                              (unsigned long long)p->dst_offset);
            p->dst = (sedx_buffer){0};
            sedx__buffer_unref(res);
        }
        if (p->state != PIN_FREE) {
            p->state = PIN_FREE;
            t->up.pin_count--;
        }
    }
    sedx__readback_destroy(ctx, t);
    sedx_buffer_release(&t->up.buffer);
    sedx_buffer_release(&t->down.buffer);
    sedx_buffer_release(&t->mirror);
    if (t->copy_pipe) vkDestroyPipeline(ctx->device, t->copy_pipe, NULL);
    if (t->scatter_pipe) vkDestroyPipeline(ctx->device, t->scatter_pipe, NULL);
    if (t->layout) vkDestroyPipelineLayout(ctx->device, t->layout, NULL);
    sedx__free(t->regions);
    sedx__free(t->touch);
    sedx__free(t->held);
    sedx__free(t->pieces);
    sedx__free(t->images);
    pthread_mutex_destroy(&t->lock);
    sedx__free(t);
}

/* Defaults, the environment's benchmark knobs, and what follows from the info (lock held or
 * not yet shared). */
/* The integer in environment variable name when it is at least min, else fallback. */
static uint64_t env_at_least(const char *name, int min, uint64_t fallback)
{
    const char *v = getenv(name);
    int n = v ? atoi(v) : 0;
    return v && n >= min ? (uint64_t)n : fallback;
}

static void apply_info(sedx_context *ctx, struct sedx__transfer *t, const sedx_transfer_info *info)
{
    t->info = info ? *info : (sedx_transfer_info){0};
    const char *small = getenv("SEDX_SMALL_COPY");
    t->small_copy_libc = small && strcmp(small, "libc") == 0;
    t->pool.prefetch = !small || (strcmp(small, "stream") != 0 && strcmp(small, "libc") != 0);
    const char *env_ring = getenv("SEDX_STAGING_MB"); /* benchmark knob: staging ring size */
    if (env_ring && atoi(env_ring) > 0) t->info.staging_size = (uint64_t)atoi(env_ring) << 20;
    const char *env_flags = getenv("SEDX_TRANSFER_FLAGS"); /* benchmark knob: extra sedx_transfer_flag_bits */
    if (env_flags) t->info.flags |= (uint32_t)strtoul(env_flags, NULL, 0) & SEDX_TRANSFER_FLAGS_ALL;
    bool cpu_device = ctx->props.deviceType == VK_PHYSICAL_DEVICE_TYPE_CPU;
    if (!t->info.staging_size) t->info.staging_size = cpu_device ? (16u << 20) : (64u << 20);
    if (!t->info.readback_size) t->info.readback_size = cpu_device ? (8u << 20) : (64u << 20);
    t->info.staging_size = sedx__align_up(SEDX__MAX(t->info.staging_size, RING_MIN), 256);
    if (!t->info.staging_max) t->info.staging_max = t->info.staging_size * 4;
    t->info.staging_max = SEDX__MAX(t->info.staging_max, t->info.staging_size);
    t->info.readback_size = sedx__align_up(SEDX__MAX(t->info.readback_size, RING_MIN), 256);
    if (!t->info.memcpy_threads) {
        long n = sysconf(_SC_NPROCESSORS_ONLN);
        t->info.memcpy_threads = (uint32_t)SEDX__MAX(1, SEDX__MIN(n - 1, 15) + 1);
    }
    t->nvidia = ctx->props.vendorID == 0x10DE;
    /* measured: H100 one dispatch 4.2x one vkCmdCopyBuffer with 16,384 regions; lavapipe runs
     * the shader on the CPU and is 10x slower than its copy command */
    t->scatter = !(t->info.flags & SEDX_TRANSFER_NO_SCATTER) &&
                 (ctx->props.deviceType == VK_PHYSICAL_DEVICE_TYPE_DISCRETE_GPU ||
                  (t->info.flags & SEDX_TRANSFER_FORCE_SCATTER));
    /* tuning knobs for benchmarks; the defaults were measured on the H100 (docs/transfer.md) */
    t->copy_groups = (uint32_t)env_at_least("SEDX_COPY_GROUPS", 1, 65535u);
    t->batch_cap = env_at_least("SEDX_BATCH_KB", 64, 8192u) << 10;
    t->chunk_cap = env_at_least("SEDX_CHUNK_KB", 64, 16384u) << 10;
    t->readback_chunk = env_at_least("SEDX_READBACK_CHUNK_KB", 64, 16384u) << 10;
    t->readback_stream = env_at_least("SEDX_READBACK_STREAM", 1, 0) == 1;
    t->ramp = env_at_least("SEDX_RAMP", 1, 0) == 1;
    t->scatter_mirror = env_at_least("SEDX_SCATTER_MIRROR", 1, 0) == 1;
    t->wait_spin_ns = env_at_least("SEDX_WAIT_SPIN_US", 1, 0) * 1000u;
    t->pool.spin_ns = env_at_least("SEDX_POOL_SPIN_US", 0, 200) * 1000u; /* 0: workers sleep at once */
    t->pool.pieces = (uint32_t)SEDX__MIN(env_at_least("SEDX_COPY_PIECES", 1, 0), 64u);
    t->use_transfer_queue = ctx->queues[SEDX_QUEUE_TRANSFER].present && !(t->info.flags & SEDX_TRANSFER_NO_TRANSFER_QUEUE);
    t->up.size = t->info.staging_size; /* the rings themselves: sedx__ring_ensure */
    t->down.size = t->info.readback_size;
    t->stats.staging_size = t->info.staging_size;
    t->stats.readback_size = t->info.readback_size;
    t->stats.transfer_queue = t->use_transfer_queue;
}

static void start_threads(struct sedx__transfer *t)
{
    if (t->info.memcpy_threads > 1) {
        sedx__pool_start(&t->pool, t->info.memcpy_threads - 1);
        t->pool_started = true;
    }
    t->stats.memcpy_threads = t->pool.count + 1;
}

static void stop_threads(struct sedx__transfer *t)
{
    if (t->pool_started) sedx__pool_stop(&t->pool);
    t->pool_started = false;
    t->pool.count = 0;
}

/* The copy and scatter shaders (buffer device address only). */
static sedx_result create_pipelines(sedx_context *ctx, struct sedx__transfer *t)
{
    if (!(ctx->features & SEDX_FEATURE_BUFFER_DEVICE_ADDRESS)) return SEDX_SUCCESS;
    VkPushConstantRange pcr = {VK_SHADER_STAGE_COMPUTE_BIT, 0, 24};
    VkPipelineLayoutCreateInfo li = {VK_STRUCTURE_TYPE_PIPELINE_LAYOUT_CREATE_INFO};
    li.pushConstantRangeCount = 1;
    li.pPushConstantRanges = &pcr;
    VkResult vr = vkCreatePipelineLayout(ctx->device, &li, NULL, &t->layout);
    if (vr != VK_SUCCESS) return SEDX__VK(vr, "vkCreatePipelineLayout");
    sedx_result r = create_pipeline(ctx, t, sedx__spv_copy, sizeof sedx__spv_copy, NULL, &t->copy_pipe);
    /* SEDX_SCATTER_LOADS=N (1-8, A/B knob): 16-byte loads per invocation before its stores */
    uint32_t loads = (uint32_t)env_at_least("SEDX_SCATTER_LOADS", 1, 1);
    if (loads > 8) loads = 8;
    VkSpecializationMapEntry me = {0, 0, sizeof loads};
    VkSpecializationInfo spec = {1, &me, sizeof loads, &loads};
    if (r == SEDX_SUCCESS)
        r = create_pipeline(ctx, t, sedx__spv_scatter, sizeof sedx__spv_scatter, &spec, &t->scatter_pipe);
    return r;
}

static void log_setup(const struct sedx__transfer *t)
{
    SEDX_LOG_DEBUG_TAG(TAG, "staging ring %llu KiB, readback ring %llu KiB, %u memcpy threads, uploads on the %s queue",
                       (unsigned long long)(t->info.staging_size >> 10), (unsigned long long)(t->info.readback_size >> 10),
                       t->pool.count + 1, t->use_transfer_queue ? "transfer" : "main");
}

sedx_result sedx__transfer_create(sedx_context *ctx, const sedx_transfer_info *info)
{
    struct sedx__transfer *t = sedx__calloc(1, sizeof *t);
    if (!t) return SEDX__ERR(SEDX_ERROR_OUT_OF_HOST_MEMORY, TAG, "out of host memory");
    pthread_mutex_init(&t->lock, NULL);
    t->image_queue_ok = -1; /* asked on the first image copy (image_upload.c) */
    apply_info(ctx, t, info);
    sedx_result r = create_pipelines(ctx, t);
    if (r == SEDX_SUCCESS) r = sedx__readback_create(ctx, t);
    if (r != SEDX_SUCCESS) {
        transfer_free(ctx, t);
        return r;
    }
    start_threads(t);
    log_setup(t);
    ctx->layers.transfer = t;
    return SEDX_SUCCESS;
}

sedx_result sedx__transfer_check_info(const sedx_transfer_info *info)
{
    const char *fn = "sedx_transfer_info";
    if (info->flags & ~(uint32_t)SEDX_TRANSFER_FLAGS_ALL)
        return SEDX__ERR(SEDX_ERROR_INVALID_ARGUMENT, TAG, "%s: unknown flags 0x%x", fn,
                         info->flags & ~(uint32_t)SEDX_TRANSFER_FLAGS_ALL);
    uint32_t both = SEDX_TRANSFER_FORCE_COMPUTE_COPY | SEDX_TRANSFER_FORCE_COPY_COMMAND;
    if ((info->flags & both) == both)
        return SEDX__ERR(SEDX_ERROR_INVALID_ARGUMENT, TAG, "%s: FORCE_COMPUTE_COPY and FORCE_COPY_COMMAND together", fn);
    if ((info->staging_size && info->staging_size < RING_MIN) || (info->readback_size && info->readback_size < RING_MIN))
        return SEDX__ERR(SEDX_ERROR_INVALID_SIZE, TAG, "%s: staging_size %llu / readback_size %llu: at least %u bytes "
                         "(0 = default)", fn, (unsigned long long)info->staging_size,
                         (unsigned long long)info->readback_size, RING_MIN);
    if (info->staging_size > UINT64_MAX / 8 || info->readback_size > UINT64_MAX / 8)
        return SEDX__ERR(SEDX_ERROR_INVALID_SIZE, TAG, "%s: ring size overflows", fn);
    if (info->staging_max && info->staging_max < SEDX__MAX(info->staging_size, RING_MIN))
        return SEDX__ERR(SEDX_ERROR_INVALID_ARGUMENT, TAG, "%s: staging_max %llu is below staging_size", fn,
                         (unsigned long long)info->staging_max);
    if (info->memcpy_threads > 16)
        return SEDX__ERR(SEDX_ERROR_INVALID_ARGUMENT, TAG, "%s: memcpy_threads %u (at most 16)", fn,
                         info->memcpy_threads);
    return SEDX_SUCCESS;
}

/* Nothing that depends on the info exists yet: no ring, nothing recorded or submitted. */
static bool unused(const struct sedx__transfer *t)
{
    return !t->up.ptr && !t->down.ptr && !sedx__batch_open(t) && !t->last_value[0] && !t->last_value[1];
}

sedx_result sedx_transfer_configure(sedx_context *ctx, const sedx_transfer_info *info)
{
    if (!ctx || !info) return SEDX__ERR(SEDX_ERROR_INVALID_ARGUMENT, TAG, "sedx_transfer_configure: NULL argument");
    sedx_result r = sedx__transfer_check_info(info);
    if (r != SEDX_SUCCESS) return r;
    struct sedx__transfer *t = sedx__get_transfer(ctx);
    pthread_mutex_lock(&t->lock);
    if (unused(t)) {
        stop_threads(t);
        apply_info(ctx, t, info);
        start_threads(t);
        log_setup(t);
    } else {
        r = SEDX__ERR(SEDX_ERROR_BUSY, TAG, "sedx_transfer_configure: transfers already started on this context "
                      "(configure before the first staged transfer, or pass sedx_context_info.transfer)");
    }
    pthread_mutex_unlock(&t->lock);
    return r;
}

void sedx__transfer_destroy(sedx_context *ctx)
{
    struct sedx__transfer *t = sedx__get_transfer(ctx);
    if (!t) return;
    /* uploads still in the open batch are the application's data: submit them and wait (their
     * buffers' references are dropped by the submit) rather than drop them; a batch that cannot
     * be submitted (its command buffer cannot even be begun) is dropped, said, and its
     * references with it, so its buffers are not reported as never released */
    pthread_mutex_lock(&t->lock);
    if (sedx__batch_open(t)) {
        sedx_result r = sedx__batch_submit(ctx, t, NULL);
        if (r == SEDX_SUCCESS) sedx__transfer_wait_all(ctx, t);
        else if (sedx__batch_open(t)) {
            uint32_t dropped = sedx__batch_abandon(t, r);
            SEDX_LOG_ERROR_TAG(TAG, "sedx_context_destroy: the open upload batch could not be submitted (%s): %u "
                               "upload(s) dropped", sedx_result_name(r), dropped);
        }
    }
    pthread_mutex_unlock(&t->lock);
    ctx->layers.transfer = NULL;
    transfer_free(ctx, t);
}

sedx_result sedx_transfer_get_stats(sedx_context *ctx, sedx_transfer_stats *out)
{
    if (!ctx || !out) return SEDX__ERR(SEDX_ERROR_INVALID_ARGUMENT, TAG, "sedx_transfer_get_stats: NULL argument");
    struct sedx__transfer *t = sedx__get_transfer(ctx);
    pthread_mutex_lock(&t->lock);
    *out = t->stats;
    pthread_mutex_unlock(&t->lock);
    return SEDX_SUCCESS;
}
