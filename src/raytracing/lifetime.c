/*
 * The ray-tracing layer's life, the acceleration structures' handles and destruction behind the
 * GPU, the device's properties, and the TLAS instance writer.
 */
#include "raytracing/raytracing_private.h"

#include <string.h>

sedx_result sedx__rt_require(sedx_context *ctx, uint32_t feature, const char *what)
{
    if (ctx->features & feature) return SEDX_SUCCESS;
    return SEDX__ERR(SEDX_ERROR_FEATURE_NOT_PRESENT, TAG, "%s: needs %s, which this context does not have (device "
                     "without it, or SEDX_CONTEXT_NO_RAY_TRACING)", what,
                     feature == SEDX_FEATURE_RAY_TRACING_PIPELINE ? "VK_KHR_ray_tracing_pipeline"
                                                                  : "VK_KHR_acceleration_structure");
}

sedx_result sedx__rt_begin(sedx_context *ctx, const void *info, const void *out, uint32_t feature, const char *fn)
{
    if (!ctx || !info || !out)
        return SEDX__ERR(SEDX_ERROR_INVALID_ARGUMENT, TAG, "%s: %s is NULL", fn, !ctx ? "ctx" : !info ? "info" : "out");
    return sedx__rt_require(ctx, feature, fn);
}

sedx_result sedx__raytracing_create(sedx_context *ctx)
{
    struct sedx__raytracing *rt = sedx__calloc(1, sizeof *rt);
    if (!rt) return SEDX__ERR(SEDX_ERROR_OUT_OF_HOST_MEMORY, TAG, "out of host memory (ray-tracing layer)");
    sedx_result r = sedx__handle_pool_init(&rt->handles);
    if (r != SEDX_SUCCESS) {
        sedx__free(rt);
        return SEDX__ERR(r, TAG, "out of host memory (ray-tracing layer)");
    }
    pthread_mutex_init(&rt->release_lock, NULL);
    ctx->layers.raytracing = rt;
    return SEDX_SUCCESS;
}

static void as_free(sedx_context *ctx, void *user)
{
    sedx__as *a = user;
    if (a->as) ctx->rt.destroy_as(ctx->device, a->as, NULL);
    sedx_buffer_release(&a->storage); /* behind the GPU too: the buffer layer's deletion queue */
    sedx__free(a->name);
    sedx__free(a);
}

static bool take_leaked(void *object, void *user)
{
    sedx__as *a = object;
    sedx_context *ctx = user;
    SEDX_LOG_WARN_TAG(TAG, "acceleration structure '%s' was not released; destroyed with its context", a->name);
    as_free(ctx, a);
    return true;
}

void sedx__raytracing_destroy(sedx_context *ctx)
{
    struct sedx__raytracing *rt = sedx__rt(ctx);
    if (!rt) return;
    sedx__device_drain(ctx); /* the GPU is past every structure, leaked ones included */
    sedx__handle_free_matching(&rt->handles, take_leaked, ctx);
    sedx__handle_pool_finish(&rt->handles);
    pthread_mutex_destroy(&rt->release_lock);
    sedx__free(rt);
    ctx->layers.raytracing = NULL;
}

sedx_result sedx__as_create(sedx_context *ctx, VkAccelerationStructureTypeKHR type, uint64_t bytes,
                            uint32_t primitives, const char *name, sedx_acceleration_structure *out)
{
    const uint64_t size = sedx__align_up(bytes, 256u);
    sedx_buffer storage = {0};
    sedx_result r = sedx_as_storage_create(ctx, size, name, &storage);
    if (r != SEDX_SUCCESS) return r;
    sedx__as *a = sedx__calloc(1, sizeof *a);
    char *copy = sedx__strdup(name ? name : "");
    if (!a || !copy) {
        sedx__free(a);
        sedx__free(copy);
        sedx_buffer_release(&storage);
        return SEDX__ERR(SEDX_ERROR_OUT_OF_HOST_MEMORY, TAG, "'%s': out of host memory", sedx__rt_name(name));
    }
    a->ctx = ctx;
    a->storage = storage;
    a->name = copy;
    VkAccelerationStructureCreateInfoKHR ci = {VK_STRUCTURE_TYPE_ACCELERATION_STRUCTURE_CREATE_INFO_KHR};
    ci.buffer = sedx_buffer_vk(&a->storage);
    ci.offset = 0;
    ci.size = size;
    ci.type = type;
    VkResult vr = ctx->rt.create_as(ctx->device, &ci, NULL, &a->as);
    sedx__handle h = 0;
    r = vr == VK_SUCCESS ? SEDX_SUCCESS : SEDX__VK(vr, "vkCreateAccelerationStructureKHR");
    if (r == SEDX_SUCCESS && (r = sedx__handle_alloc(&sedx__rt(ctx)->handles, a, &h)) != SEDX_SUCCESS)
        r = SEDX__ERR(r, TAG, "'%s': out of host memory", a->name);
    if (r != SEDX_SUCCESS) {
        as_free(ctx, a);
        return r;
    }
    if (name && *name) sedx_context_set_object_name(ctx, VK_OBJECT_TYPE_ACCELERATION_STRUCTURE_KHR, (uint64_t)a->as, name);
    VkAccelerationStructureDeviceAddressInfoKHR ai = {VK_STRUCTURE_TYPE_ACCELERATION_STRUCTURE_DEVICE_ADDRESS_INFO_KHR};
    ai.accelerationStructure = a->as;
    *out = (sedx_acceleration_structure){a->as, ctx->rt.as_address(ctx->device, &ai), size, (uint32_t)type, primitives,
                                         h};
    return SEDX_SUCCESS;
}

sedx_result sedx__as_create_like(sedx_context *ctx, const sedx_acceleration_structure *as, const uint64_t *sizes,
                                 uint32_t count, sedx_acceleration_structure *out)
{
    sedx_result r = SEDX_SUCCESS;
    uint32_t made = 0;
    for (; made < count && r == SEDX_SUCCESS; ++made) {
        const sedx__as *a = sedx__handle_get(&sedx__rt(ctx)->handles, as[made].handle);
        const char *name = a && *a->name ? a->name : NULL;
        r = sedx__as_create(ctx, (VkAccelerationStructureTypeKHR)as[made].type, sizes[made], as[made].primitive_count,
                            name, &out[made]);
        if (r != SEDX_SUCCESS) break;
    }
    if (r != SEDX_SUCCESS)
        for (uint32_t i = 0; i < made; ++i) sedx__as_discard(ctx, &out[i]);
    return r;
}

void sedx__as_barrier(VkCommandBuffer cb)
{
    VkMemoryBarrier mb = {VK_STRUCTURE_TYPE_MEMORY_BARRIER};
    mb.srcAccessMask = VK_ACCESS_ACCELERATION_STRUCTURE_WRITE_BIT_KHR;
    mb.dstAccessMask = VK_ACCESS_ACCELERATION_STRUCTURE_READ_BIT_KHR | VK_ACCESS_SHADER_READ_BIT;
    vkCmdPipelineBarrier(cb, VK_PIPELINE_STAGE_ACCELERATION_STRUCTURE_BUILD_BIT_KHR, VK_PIPELINE_STAGE_ALL_COMMANDS_BIT, 0,
                         1, &mb, 0, NULL, 0, NULL);
}

sedx__as *sedx__as_get(sedx_context *ctx, const sedx_acceleration_structure *as, const char *what)
{
    if (!as) {
        SEDX_LOG_ERROR_TAG(TAG, "%s: acceleration structure pointer is NULL", what);
        return NULL;
    }
    sedx__as *a = as->handle && sedx__rt(ctx) ? sedx__handle_get(&sedx__rt(ctx)->handles, as->handle) : NULL;
    if (!a || a->as != as->as) { /* a live handle with another structure's VkAccelerationStructureKHR: corrupted */
        SEDX_LOG_ERROR_TAG(TAG, "%s: invalid acceleration structure handle 0x%llx (released, foreign, empty or "
                           "corrupted)", what, (unsigned long long)as->handle);
        return NULL;
    }
    return a;
}

void sedx__as_discard(sedx_context *ctx, sedx_acceleration_structure *as)
{
    sedx__as *a = sedx__handle_get(&sedx__rt(ctx)->handles, as->handle);
    if (!a) return;
    sedx__handle_free(&sedx__rt(ctx)->handles, as->handle);
    as_free(ctx, a);
    *as = (sedx_acceleration_structure){0};
}

void sedx_acceleration_structure_release(sedx_context *ctx, sedx_acceleration_structure *as)
{
    if (!ctx || !as || (!as->handle && !as->as)) return;
    struct sedx__raytracing *rt = sedx__rt(ctx);
    if (!rt) return;
    /* lookup, check and free under the release lock: of two releases of copies of one structure,
     * the second finds the handle dead (logged, ignored) and never reads the structure, which the
     * first one's deferred destruction may be freeing */
    pthread_mutex_lock(&rt->release_lock);
    sedx__as *a = sedx__as_get(ctx, as, "sedx_acceleration_structure_release");
    bool mine = a && sedx__handle_free(&rt->handles, as->handle) == SEDX_SUCCESS;
    pthread_mutex_unlock(&rt->release_lock);
    if (!mine) return; /* logged: ignored */
    *as = (sedx_acceleration_structure){0};
    /* behind every submission so far: the structure may be in the caller's commands */
    uint64_t after[SEDX_QUEUE_COUNT];
    for (int q = 0; q < SEDX_QUEUE_COUNT; ++q) after[q] = sedx_context_submitted_value(ctx, (sedx_queue)q);
    if (sedx_context_defer(ctx, after, as_free, a) != SEDX_SUCCESS) {
        sedx__device_drain(ctx); /* no room to queue it: wait instead, never free it under the GPU */
        as_free(ctx, a);
    }
}

uint32_t sedx_acceleration_structure_count(sedx_context *ctx)
{
    return ctx && sedx__rt(ctx) ? sedx__handle_live(&sedx__rt(ctx)->handles) : 0u;
}

sedx_result sedx_raytracing_get_properties(sedx_context *ctx, sedx_raytracing_properties *out)
{
    if (!ctx || !out)
        return SEDX__ERR(SEDX_ERROR_INVALID_ARGUMENT, TAG, "sedx_raytracing_get_properties: %s is NULL",
                         !ctx ? "ctx" : "out");
    memset(out, 0, sizeof *out);
    sedx_result r = sedx__rt_require(ctx, SEDX_FEATURE_ACCELERATION_STRUCTURE, "sedx_raytracing_get_properties");
    if (r != SEDX_SUCCESS) return r;
    const VkPhysicalDeviceAccelerationStructurePropertiesKHR *a = &ctx->as_props;
    out->acceleration_structure = true;
    out->min_scratch_offset_alignment = a->minAccelerationStructureScratchOffsetAlignment;
    out->max_geometry_count = a->maxGeometryCount;
    out->max_instance_count = a->maxInstanceCount;
    out->max_primitive_count = a->maxPrimitiveCount;
    if (ctx->features & SEDX_FEATURE_RAY_TRACING_PIPELINE) {
        const VkPhysicalDeviceRayTracingPipelinePropertiesKHR *p = &ctx->rtp_props;
        out->pipeline = true;
        out->shader_group_handle_size = p->shaderGroupHandleSize;
        out->shader_group_handle_alignment = p->shaderGroupHandleAlignment;
        out->shader_group_base_alignment = p->shaderGroupBaseAlignment;
        out->max_shader_group_stride = p->maxShaderGroupStride;
        out->max_ray_recursion_depth = p->maxRayRecursionDepth;
        out->max_ray_dispatch_invocation_count = p->maxRayDispatchInvocationCount;
    }
    return SEDX_SUCCESS;
}

void sedx_as_instance(VkAccelerationStructureInstanceKHR *out, const float transform[12], uint32_t custom_index,
                      uint32_t mask, uint32_t sbt_offset, uint32_t flags, const sedx_acceleration_structure *blas)
{
    if (!out) return;
    static const float identity[12] = {1, 0, 0, 0, 0, 1, 0, 0, 0, 0, 1, 0};
    memset(out, 0, sizeof *out);
    memcpy(out->transform.matrix, transform ? transform : identity, sizeof out->transform.matrix);
    out->instanceCustomIndex = custom_index & 0xFFFFFFu;
    out->mask = mask & 0xFFu;
    out->instanceShaderBindingTableRecordOffset = sbt_offset & 0xFFFFFFu;
    out->flags = flags & 0xFFu;
    out->accelerationStructureReference = blas ? blas->address : 0;
}
