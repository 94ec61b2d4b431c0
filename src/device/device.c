/*
 * The device's life: created (instance, physical device, logical device, queues) or adopted
 * from the application, drained and destroyed; and its accessors. The composite context
 * (src/context) drives it; nothing here knows the layers above.
 */
#include "device/device_private.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

static _Atomic uint32_t g_next_context_id = 1;

sedx_context *sedx__device_alloc(void)
{
    sedx_context *ctx = sedx__calloc(1, sizeof *ctx);
    if (!ctx) return NULL;
    ctx->id = atomic_fetch_add(&g_next_context_id, 1);
    pthread_mutex_init(&ctx->deferred_lock, NULL);
    return ctx;
}

static bool env_flag(const char *name)
{
    const char *e = getenv(name);
    return e && *e && strcmp(e, "0") != 0 && strcasecmp(e, "false") != 0 && strcasecmp(e, "off") != 0;
}

/* The ray-tracing entry points; a feature whose entry points are missing is dropped. */
static void load_raytracing(sedx_context *ctx)
{
#define SEDX__RT_LOAD(field, type, name) ctx->rt.field = (type)vkGetDeviceProcAddr(ctx->device, name)
    if (ctx->features & SEDX_FEATURE_ACCELERATION_STRUCTURE) {
        SEDX__RT_LOAD(create_as, PFN_vkCreateAccelerationStructureKHR, "vkCreateAccelerationStructureKHR");
        SEDX__RT_LOAD(destroy_as, PFN_vkDestroyAccelerationStructureKHR, "vkDestroyAccelerationStructureKHR");
        SEDX__RT_LOAD(build_sizes, PFN_vkGetAccelerationStructureBuildSizesKHR,
                      "vkGetAccelerationStructureBuildSizesKHR");
        SEDX__RT_LOAD(cmd_build, PFN_vkCmdBuildAccelerationStructuresKHR, "vkCmdBuildAccelerationStructuresKHR");
        SEDX__RT_LOAD(as_address, PFN_vkGetAccelerationStructureDeviceAddressKHR,
                      "vkGetAccelerationStructureDeviceAddressKHR");
        SEDX__RT_LOAD(cmd_write_properties, PFN_vkCmdWriteAccelerationStructuresPropertiesKHR,
                      "vkCmdWriteAccelerationStructuresPropertiesKHR");
        SEDX__RT_LOAD(cmd_copy, PFN_vkCmdCopyAccelerationStructureKHR, "vkCmdCopyAccelerationStructureKHR");
        if (!ctx->rt.create_as || !ctx->rt.destroy_as || !ctx->rt.build_sizes || !ctx->rt.cmd_build ||
            !ctx->rt.as_address || !ctx->rt.cmd_write_properties || !ctx->rt.cmd_copy ||
            !(ctx->features & SEDX_FEATURE_BUFFER_DEVICE_ADDRESS)) {
            SEDX_LOG_WARN_TAG(TAG, "acceleration structures: entry points or buffer device address missing; "
                                   "ray tracing off");
            ctx->features &= ~(uint32_t)(SEDX_FEATURE_ACCELERATION_STRUCTURE | SEDX_FEATURE_RAY_TRACING_PIPELINE);
        }
    } else {
        ctx->features &= ~(uint32_t)SEDX_FEATURE_RAY_TRACING_PIPELINE; /* sedx's SBTs need the structures */
    }
    if (ctx->features & SEDX_FEATURE_RAY_TRACING_PIPELINE) {
        SEDX__RT_LOAD(group_handles, PFN_vkGetRayTracingShaderGroupHandlesKHR, "vkGetRayTracingShaderGroupHandlesKHR");
        if (!ctx->rt.group_handles) ctx->features &= ~(uint32_t)SEDX_FEATURE_RAY_TRACING_PIPELINE;
    }
#undef SEDX__RT_LOAD
    sedx__query_properties(ctx); /* again: the ray-tracing limits follow the features */
}

/* Entry points of enabled extensions, then the queues' timelines and command pools. */
static sedx_result finish_setup(sedx_context *ctx)
{
    sedx__query_properties(ctx);
    if (ctx->features & SEDX_FEATURE_DEBUG_UTILS)
        ctx->set_object_name =
            (PFN_vkSetDebugUtilsObjectNameEXT)vkGetDeviceProcAddr(ctx->device, "vkSetDebugUtilsObjectNameEXT");
    if (ctx->features & SEDX_FEATURE_EXTERNAL_MEMORY_HOST)
        ctx->get_host_pointer_props = (PFN_vkGetMemoryHostPointerPropertiesEXT)vkGetDeviceProcAddr(
            ctx->device, "vkGetMemoryHostPointerPropertiesEXT");
    if (ctx->features & SEDX_FEATURE_SYNCHRONIZATION2) {
        ctx->cmd_pipeline_barrier2 =
            (PFN_vkCmdPipelineBarrier2KHR)vkGetDeviceProcAddr(ctx->device, "vkCmdPipelineBarrier2");
        if (!ctx->cmd_pipeline_barrier2)
            ctx->cmd_pipeline_barrier2 =
                (PFN_vkCmdPipelineBarrier2KHR)vkGetDeviceProcAddr(ctx->device, "vkCmdPipelineBarrier2KHR");
    }
    load_raytracing(ctx);
    for (int i = 0; i < SEDX_QUEUE_COUNT; ++i) {
        sedx_result r = sedx__queue_init(ctx, &ctx->queues[i]);
        if (r != SEDX_SUCCESS) return r;
    }
    if (!ctx->queues[SEDX_QUEUE_TRANSFER].present) {
        ctx->queues[SEDX_QUEUE_TRANSFER].family = ctx->queues[SEDX_QUEUE_GRAPHICS].family;
        ctx->queues[SEDX_QUEUE_TRANSFER].queue = ctx->queues[SEDX_QUEUE_GRAPHICS].queue;
    }
    SEDX_LOG_DEBUG_TAG(TAG, "context %u on '%s' (Vulkan %u.%u), transfer queue: %s", ctx->id,
                       ctx->props.deviceName, VK_API_VERSION_MAJOR(ctx->api_version),
                       VK_API_VERSION_MINOR(ctx->api_version),
                       ctx->queues[SEDX_QUEUE_TRANSFER].present ? "yes" : "no");
    return SEDX_SUCCESS;
}

sedx_result sedx__device_create(sedx_context *ctx, const sedx_context_info *info)
{
    bool sync = (info->flags & SEDX_CONTEXT_SYNC_VALIDATION) != 0;
    bool env = !(info->flags & SEDX_CONTEXT_NO_ENV_VALIDATION);
    bool validation = sync || (info->flags & SEDX_CONTEXT_VALIDATION) || (env && env_flag("SEDX_VALIDATION"));
    if (env && env_flag("SEDX_SYNC_VALIDATION")) sync = validation = true;
    sedx_result r = sedx__create_instance(ctx, info, validation, sync);
    const char *selector = info->device ? info->device : getenv("SEDX_DEVICE");
    if (r == SEDX_SUCCESS) r = sedx__pick_physical_device(ctx, selector);
    if (r == SEDX_SUCCESS) {
        sedx__query_properties(ctx);
        r = sedx__create_logical_device(ctx, info);
    }
    return r == SEDX_SUCCESS ? finish_setup(ctx) : r;
}

/* Feature bits sedx knows, queue families the physical device has (both go into Vulkan calls). */
static sedx_result check_adopted_objects(const sedx_vulkan_objects *o)
{
    const char *fn = "sedx_context_create_from_vulkan";
    if (!o->instance || !o->physical_device || !o->device || !o->graphics_queue)
        return SEDX__ERR(SEDX_ERROR_INVALID_ARGUMENT, TAG,
                         "%s: instance, physical device, device and a queue are required", fn);
    /* below 1.2 (0 and 1.x with x < 2 included) or a variant (0xFFFFFFFF): no version a device
     * can have been created with. One above the device's (an application's VkApplicationInfo
     * version on an older driver) is taken as the device's (sedx__device_adopt), as
     * sedx_context_create takes min(request, device). */
    const uint32_t v = VK_MAKE_API_VERSION(VK_API_VERSION_VARIANT(o->api_version), VK_API_VERSION_MAJOR(o->api_version),
                                           VK_API_VERSION_MINOR(o->api_version), 0);
    if (v < VK_API_VERSION_1_2 || VK_API_VERSION_VARIANT(o->api_version) != 0)
        return SEDX__ERR(SEDX_ERROR_UNSUPPORTED_VERSION, TAG, "adopted device uses Vulkan %u.%u (api_version 0x%x); "
                         "sedx needs 1.2 or later, variant 0", VK_API_VERSION_MAJOR(o->api_version),
                         VK_API_VERSION_MINOR(o->api_version), o->api_version);
    if (o->enabled_features & ~SEDX_DEVICE_FEATURES_ALL)
        return SEDX__ERR(SEDX_ERROR_INVALID_ARGUMENT, TAG, "%s: unknown feature bits 0x%x in enabled_features (known: 0x%x)",
                         fn, o->enabled_features & ~SEDX_DEVICE_FEATURES_ALL, SEDX_DEVICE_FEATURES_ALL);
    uint32_t n = 0;
    vkGetPhysicalDeviceQueueFamilyProperties(o->physical_device, &n, NULL);
    if (o->graphics_queue_family >= n)
        return SEDX__ERR(SEDX_ERROR_INVALID_ARGUMENT, TAG, "%s: graphics_queue_family %u out of range (%u queue families)",
                         fn, o->graphics_queue_family, n);
    if (o->transfer_queue && o->transfer_queue_family >= n)
        return SEDX__ERR(SEDX_ERROR_INVALID_ARGUMENT, TAG, "%s: transfer_queue_family %u out of range (%u queue families)",
                         fn, o->transfer_queue_family, n);
    return SEDX_SUCCESS;
}

sedx_result sedx__device_adopt(sedx_context *ctx, const sedx_vulkan_objects *o)
{
    sedx_result r = check_adopted_objects(o);
    if (r != SEDX_SUCCESS) return r;
    ctx->instance = o->instance;
    ctx->physical = o->physical_device;
    ctx->device = o->device;
    /* min(the application's, the device's): the entry points sedx looks up must exist */
    VkPhysicalDeviceProperties pp;
    vkGetPhysicalDeviceProperties(o->physical_device, &pp);
    const uint32_t dev_v = VK_MAKE_API_VERSION(0, VK_API_VERSION_MAJOR(pp.apiVersion), VK_API_VERSION_MINOR(pp.apiVersion), 0);
    ctx->api_version = SEDX__MIN(o->api_version, dev_v);
    ctx->features = o->enabled_features;
    ctx->queues[SEDX_QUEUE_GRAPHICS].queue = o->graphics_queue;
    ctx->queues[SEDX_QUEUE_GRAPHICS].family = o->graphics_queue_family;
    ctx->queues[SEDX_QUEUE_GRAPHICS].present = true;
    /* the graphics queue handed over as the transfer queue too is no transfer queue of its own:
     * two sedx queues (two locks) on one VkQueue would submit to it from two threads at once, and
     * sedx_context_lock_queue(GRAPHICS) would not hold sedx's transfer submissions back */
    if (o->transfer_queue && o->transfer_queue != o->graphics_queue) {
        ctx->queues[SEDX_QUEUE_TRANSFER].queue = o->transfer_queue;
        ctx->queues[SEDX_QUEUE_TRANSFER].family = o->transfer_queue_family;
        ctx->queues[SEDX_QUEUE_TRANSFER].present = true;
    }
    /* debug names only if the instance really has the extension */
    if ((ctx->features & SEDX_FEATURE_DEBUG_UTILS) && !vkGetInstanceProcAddr(ctx->instance, "vkSetDebugUtilsObjectNameEXT"))
        ctx->features &= ~(uint32_t)SEDX_FEATURE_DEBUG_UTILS;
    r = finish_setup(ctx);
    if (r == SEDX_SUCCESS && !(ctx->features & SEDX_FEATURE_TIMELINE_SEMAPHORE))
        SEDX_LOG_INFO_TAG(TAG, "adopted device without timeline semaphores: sedx will not submit work");
    return r;
}

void sedx__device_drain(sedx_context *ctx)
{
    if (!ctx->device) return;
    for (int i = 0; i < SEDX_QUEUE_COUNT; ++i) {
        sedx__queue *q = &ctx->queues[i];
        if (q->present && q->timeline) sedx__queue_wait(ctx, q, atomic_load(&q->submitted), UINT64_MAX);
    }
    sedx__run_deferred(ctx, true);
}

void sedx__device_destroy(sedx_context *ctx)
{
    if (!ctx) return;
    if (ctx->layers.memory || ctx->layers.buffer || ctx->layers.image || ctx->layers.bindless || ctx->layers.transfer ||
        ctx->layers.frame)
        SEDX_LOG_ERROR_TAG(TAG, "context %u: device destroyed before a layer above it (internal error)", ctx->id);
    sedx__device_drain(ctx);
    for (int i = 0; i < SEDX_QUEUE_COUNT; ++i) sedx__queue_finish(ctx, &ctx->queues[i]);
    if (ctx->owns_device && ctx->device) vkDestroyDevice(ctx->device, NULL);
    if (ctx->messenger && ctx->destroy_messenger) ctx->destroy_messenger(ctx->instance, ctx->messenger, NULL);
    if (ctx->owns_instance && ctx->instance) vkDestroyInstance(ctx->instance, NULL);
    sedx__free(ctx->deferred);
    pthread_mutex_destroy(&ctx->deferred_lock);
    sedx__free(ctx);
}

/* ------------------------------------------------------------------------------------------
 * Accessors
 * ---------------------------------------------------------------------------------------- */
VkInstance sedx_context_instance(const sedx_context *ctx) { return ctx ? ctx->instance : VK_NULL_HANDLE; }
VkPhysicalDevice sedx_context_physical_device(const sedx_context *ctx) { return ctx ? ctx->physical : VK_NULL_HANDLE; }
VkDevice sedx_context_device(const sedx_context *ctx) { return ctx ? ctx->device : VK_NULL_HANDLE; }
uint32_t sedx_context_api_version(const sedx_context *ctx) { return ctx ? ctx->api_version : 0; }
const VkPhysicalDeviceProperties *sedx_context_properties(const sedx_context *ctx) { return ctx ? &ctx->props : NULL; }
const VkPhysicalDeviceMemoryProperties *sedx_context_memory_properties(const sedx_context *ctx)
{
    return ctx ? &ctx->mem_props : NULL;
}
uint32_t sedx_context_features(const sedx_context *ctx) { return ctx ? ctx->features : 0; }
bool sedx_context_validation_enabled(const sedx_context *ctx) { return ctx && ctx->validation; }
uint32_t sedx_context_validation_error_count(const sedx_context *ctx)
{
    return ctx ? atomic_load(&((sedx_context *)ctx)->validation_errors) : 0;
}
uint32_t sedx_context_validation_warning_count(const sedx_context *ctx)
{
    return ctx ? atomic_load(&((sedx_context *)ctx)->validation_warnings) : 0;
}

VkQueue sedx_context_queue(const sedx_context *ctx, sedx_queue kind, uint32_t *family)
{
    if (!ctx || (unsigned)kind >= SEDX_QUEUE_COUNT) return VK_NULL_HANDLE;
    const sedx__queue *q = sedx__ctx_queue((sedx_context *)ctx, kind);
    if (family) *family = q->family;
    return q->queue;
}

bool sedx_context_has_transfer_queue(const sedx_context *ctx)
{
    return ctx && ctx->queues[SEDX_QUEUE_TRANSFER].present;
}

void sedx_context_lock_queue(sedx_context *ctx, sedx_queue kind)
{
    if (ctx && (unsigned)kind < SEDX_QUEUE_COUNT) pthread_mutex_lock(&sedx__ctx_queue(ctx, kind)->lock);
}

void sedx_context_unlock_queue(sedx_context *ctx, sedx_queue kind)
{
    if (ctx && (unsigned)kind < SEDX_QUEUE_COUNT) pthread_mutex_unlock(&sedx__ctx_queue(ctx, kind)->lock);
}

void sedx_context_set_object_name(sedx_context *ctx, VkObjectType type, uint64_t handle, const char *name)
{
    if (!ctx || !ctx->set_object_name || !handle || !name || !*name) return;
    VkDebugUtilsObjectNameInfoEXT ni = {VK_STRUCTURE_TYPE_DEBUG_UTILS_OBJECT_NAME_INFO_EXT};
    ni.objectType = type;
    ni.objectHandle = handle;
    ni.pObjectName = name;
    ctx->set_object_name(ctx->device, &ni);
}

