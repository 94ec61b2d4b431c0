/*
 * The logical device: the extensions and features sedx enables, queues.
 */
#include "device/device_private.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

/* ------------------------------------------------------------------------------------------
 * Device
 * ---------------------------------------------------------------------------------------- */
/* Which of the optional device extensions sedx uses the device has. */
typedef struct extensions {
    bool budget, host_memory, robustness2, priority, sync2, maintenance4;
    bool accel, deferred_ops, rt_pipeline; /* VK_KHR_acceleration_structure and what it needs, ray-tracing pipelines */
} extensions;

static sedx_result probe_extensions(sedx_context *ctx, extensions *out)
{
    uint32_t n = 0;
    VkResult vr = vkEnumerateDeviceExtensionProperties(ctx->physical, NULL, &n, NULL);
    if (vr != VK_SUCCESS) return SEDX__VK(vr, "vkEnumerateDeviceExtensionProperties");
    VkExtensionProperties *exts = sedx__calloc(n ? n : 1, sizeof *exts);
    if (!exts) return SEDX__ERR(SEDX_ERROR_OUT_OF_HOST_MEMORY, TAG, "out of host memory");
    vkEnumerateDeviceExtensionProperties(ctx->physical, NULL, &n, exts);
    out->budget = sedx__has_extension(exts, n, VK_EXT_MEMORY_BUDGET_EXTENSION_NAME);
    out->host_memory = sedx__has_extension(exts, n, VK_EXT_EXTERNAL_MEMORY_HOST_EXTENSION_NAME);
    out->robustness2 = sedx__has_extension(exts, n, VK_EXT_ROBUSTNESS_2_EXTENSION_NAME);
    out->priority = sedx__has_extension(exts, n, VK_EXT_MEMORY_PRIORITY_EXTENSION_NAME);
    out->sync2 = sedx__has_extension(exts, n, VK_KHR_SYNCHRONIZATION_2_EXTENSION_NAME);
    out->maintenance4 = sedx__has_extension(exts, n, VK_KHR_MAINTENANCE_4_EXTENSION_NAME);
    out->accel = sedx__has_extension(exts, n, VK_KHR_ACCELERATION_STRUCTURE_EXTENSION_NAME);
    out->deferred_ops = sedx__has_extension(exts, n, VK_KHR_DEFERRED_HOST_OPERATIONS_EXTENSION_NAME);
    out->rt_pipeline = sedx__has_extension(exts, n, VK_KHR_RAY_TRACING_PIPELINE_EXTENSION_NAME);
    sedx__free(exts);
    return SEDX_SUCCESS;
}

/* The feature structs of one side (what the device supports, or what sedx enables), chained
 * from `base`. They must live until vkCreateDevice. */
typedef struct feature_chain {
    VkPhysicalDeviceFeatures2 base;
    VkPhysicalDeviceVulkan12Features v12;
    VkPhysicalDeviceVulkan13Features v13;
    VkPhysicalDeviceSynchronization2Features sync2;
    VkPhysicalDeviceRobustness2FeaturesEXT robustness2;
    VkPhysicalDeviceMemoryPriorityFeaturesEXT priority;
    VkPhysicalDeviceAccelerationStructureFeaturesKHR accel;
    VkPhysicalDeviceRayTracingPipelineFeaturesKHR rt_pipeline;
    void **tail;
} feature_chain;

static void chain_init(feature_chain *c)
{
    *c = (feature_chain){{VK_STRUCTURE_TYPE_PHYSICAL_DEVICE_FEATURES_2}};
    c->v12.sType = VK_STRUCTURE_TYPE_PHYSICAL_DEVICE_VULKAN_1_2_FEATURES;
    c->v13.sType = VK_STRUCTURE_TYPE_PHYSICAL_DEVICE_VULKAN_1_3_FEATURES;
    c->sync2.sType = VK_STRUCTURE_TYPE_PHYSICAL_DEVICE_SYNCHRONIZATION_2_FEATURES;
    c->robustness2.sType = VK_STRUCTURE_TYPE_PHYSICAL_DEVICE_ROBUSTNESS_2_FEATURES_EXT;
    c->priority.sType = VK_STRUCTURE_TYPE_PHYSICAL_DEVICE_MEMORY_PRIORITY_FEATURES_EXT;
    c->accel.sType = VK_STRUCTURE_TYPE_PHYSICAL_DEVICE_ACCELERATION_STRUCTURE_FEATURES_KHR;
    c->rt_pipeline.sType = VK_STRUCTURE_TYPE_PHYSICAL_DEVICE_RAY_TRACING_PIPELINE_FEATURES_KHR;
    c->tail = &c->base.pNext;
}

static void chain_add(feature_chain *c, void *s)
{
    *c->tail = s;
    c->tail = (void **)&((VkBaseOutStructure *)s)->pNext;
}

/* What the device supports, among what sedx may use. */
static void query_support(sedx_context *ctx, const extensions *x, bool v13, feature_chain *sup)
{
    chain_init(sup);
    chain_add(sup, &sup->v12);
    if (v13) chain_add(sup, &sup->v13);
    else if (x->sync2) chain_add(sup, &sup->sync2);
    if (x->robustness2) chain_add(sup, &sup->robustness2);
    if (x->priority) chain_add(sup, &sup->priority);
    if (x->accel) chain_add(sup, &sup->accel);
    if (x->rt_pipeline) chain_add(sup, &sup->rt_pipeline);
    vkGetPhysicalDeviceFeatures2(ctx->physical, &sup->base);
}

typedef struct enable_list {
    const char *names[12];
    uint32_t count;
} enable_list;

static bool descriptor_indexing_supported(const VkPhysicalDeviceVulkan12Features *s)
{
    return s->descriptorIndexing && s->runtimeDescriptorArray && s->descriptorBindingPartiallyBound &&
           s->shaderStorageBufferArrayNonUniformIndexing && s->descriptorBindingStorageBufferUpdateAfterBind &&
           s->descriptorBindingUpdateUnusedWhilePending && s->descriptorBindingVariableDescriptorCount;
}

/* Vulkan 1.2 core features sedx turns on when present. */
static void enable_core12(sedx_context *ctx, const feature_chain *sup, feature_chain *en)
{
    VkPhysicalDeviceVulkan12Features *e = &en->v12;
    if (sup->v12.bufferDeviceAddress) {
        e->bufferDeviceAddress = VK_TRUE;
        ctx->features |= SEDX_FEATURE_BUFFER_DEVICE_ADDRESS;
    }
    if (descriptor_indexing_supported(&sup->v12)) {
        e->descriptorIndexing = VK_TRUE;
        e->runtimeDescriptorArray = VK_TRUE;
        e->descriptorBindingPartiallyBound = VK_TRUE;
        e->shaderStorageBufferArrayNonUniformIndexing = VK_TRUE;
        e->descriptorBindingStorageBufferUpdateAfterBind = VK_TRUE;
        e->descriptorBindingUpdateUnusedWhilePending = VK_TRUE;
        e->descriptorBindingVariableDescriptorCount = VK_TRUE;
        ctx->features |= SEDX_FEATURE_DESCRIPTOR_INDEXING;
    }
}

/* synchronization2 and maintenance4: core in 1.3, extensions before; dynamicRendering where 1.3 is. */
static void enable_sync2_maint4(sedx_context *ctx, const extensions *x, bool v13, const feature_chain *sup,
                                feature_chain *en, enable_list *ext)
{
    if (v13) {
        chain_add(en, &en->v13);
        if (sup->v13.synchronization2) {
            en->v13.synchronization2 = VK_TRUE;
            ctx->features |= SEDX_FEATURE_SYNCHRONIZATION2;
        }
        if (sup->v13.maintenance4) {
            en->v13.maintenance4 = VK_TRUE;
            ctx->features |= SEDX_FEATURE_MAINTENANCE4;
        }
        if (sup->v13.dynamicRendering) { /* for renderers on sedx (sedx-view); costs nothing */
            en->v13.dynamicRendering = VK_TRUE;
            ctx->features |= SEDX_FEATURE_DYNAMIC_RENDERING;
        }
        return;
    }
    if (x->sync2 && sup->sync2.synchronization2) {
        chain_add(en, &en->sync2);
        en->sync2.synchronization2 = VK_TRUE;
        ext->names[ext->count++] = VK_KHR_SYNCHRONIZATION_2_EXTENSION_NAME;
        ctx->features |= SEDX_FEATURE_SYNCHRONIZATION2;
    }
    if (x->maintenance4) {
        ext->names[ext->count++] = VK_KHR_MAINTENANCE_4_EXTENSION_NAME;
        ctx->features |= SEDX_FEATURE_MAINTENANCE4;
    }
}

/* The optional extensions: memory budget, host memory import, null descriptors, priority. */
static void enable_extensions(sedx_context *ctx, const extensions *x, const feature_chain *sup, feature_chain *en,
                              enable_list *ext)
{
    if (x->budget) {
        ext->names[ext->count++] = VK_EXT_MEMORY_BUDGET_EXTENSION_NAME;
        ctx->features |= SEDX_FEATURE_MEMORY_BUDGET;
    }
    if (x->host_memory) {
        ext->names[ext->count++] = VK_EXT_EXTERNAL_MEMORY_HOST_EXTENSION_NAME;
        ctx->features |= SEDX_FEATURE_EXTERNAL_MEMORY_HOST;
    }
    if (x->robustness2 && sup->robustness2.nullDescriptor) {
        chain_add(en, &en->robustness2);
        en->robustness2.nullDescriptor = VK_TRUE;
        ext->names[ext->count++] = VK_EXT_ROBUSTNESS_2_EXTENSION_NAME;
        ctx->features |= SEDX_FEATURE_NULL_DESCRIPTOR;
    }
    if (x->priority && sup->priority.memoryPriority) {
        chain_add(en, &en->priority);
        en->priority.memoryPriority = VK_TRUE;
        ext->names[ext->count++] = VK_EXT_MEMORY_PRIORITY_EXTENSION_NAME;
        ctx->features |= SEDX_FEATURE_MEMORY_PRIORITY;
    }
}

/* Ray tracing (<sedx/raytracing.h>), unless the context opts out: VK_KHR_acceleration_structure
 * with VK_KHR_deferred_host_operations where the device has them and buffer device address is
 * on (its other dependencies, descriptor indexing and Vulkan 1.1, are core in the 1.2 sedx
 * needs), then VK_KHR_ray_tracing_pipeline (SPIR-V 1.4 is core in 1.2). */
static void enable_raytracing(sedx_context *ctx, const extensions *x, const feature_chain *sup, feature_chain *en,
                              enable_list *ext)
{
    if (!x->accel || !x->deferred_ops || !sup->accel.accelerationStructure ||
        !(ctx->features & SEDX_FEATURE_BUFFER_DEVICE_ADDRESS))
        return;
    chain_add(en, &en->accel);
    en->accel.accelerationStructure = VK_TRUE;
    ext->names[ext->count++] = VK_KHR_ACCELERATION_STRUCTURE_EXTENSION_NAME;
    ext->names[ext->count++] = VK_KHR_DEFERRED_HOST_OPERATIONS_EXTENSION_NAME;
    ctx->features |= SEDX_FEATURE_ACCELERATION_STRUCTURE;
    if (x->rt_pipeline && sup->rt_pipeline.rayTracingPipeline) {
        chain_add(en, &en->rt_pipeline);
        en->rt_pipeline.rayTracingPipeline = VK_TRUE;
        ext->names[ext->count++] = VK_KHR_RAY_TRACING_PIPELINE_EXTENSION_NAME;
        ctx->features |= SEDX_FEATURE_RAY_TRACING_PIPELINE;
    }
}

/* vkCreateDevice with one queue of the main family and, when there is one, one of the
 * transfer-only family; then the queues. */
static sedx_result create_with_queues(sedx_context *ctx, const feature_chain *en, const enable_list *ext,
                                      uint32_t main_f, uint32_t xfer_f)
{
    float prio = 1.0f;
    VkDeviceQueueCreateInfo qci[2] = {{VK_STRUCTURE_TYPE_DEVICE_QUEUE_CREATE_INFO},
                                      {VK_STRUCTURE_TYPE_DEVICE_QUEUE_CREATE_INFO}};
    qci[0].queueFamilyIndex = main_f;
    qci[0].queueCount = 1;
    qci[0].pQueuePriorities = &prio;
    qci[1] = qci[0];
    qci[1].queueFamilyIndex = xfer_f;
    VkDeviceCreateInfo dci = {VK_STRUCTURE_TYPE_DEVICE_CREATE_INFO};
    dci.pNext = &en->base;
    dci.queueCreateInfoCount = xfer_f != UINT32_MAX ? 2 : 1;
    dci.pQueueCreateInfos = qci;
    dci.enabledExtensionCount = ext->count;
    dci.ppEnabledExtensionNames = ext->names;
    VkResult vr = vkCreateDevice(ctx->physical, &dci, NULL, &ctx->device);
    if (vr != VK_SUCCESS) return SEDX__VK(vr, "vkCreateDevice");
    ctx->owns_device = true;
    ctx->queues[SEDX_QUEUE_GRAPHICS].family = main_f;
    vkGetDeviceQueue(ctx->device, main_f, 0, &ctx->queues[SEDX_QUEUE_GRAPHICS].queue);
    ctx->queues[SEDX_QUEUE_GRAPHICS].present = true;
    if (xfer_f != UINT32_MAX) {
        ctx->queues[SEDX_QUEUE_TRANSFER].family = xfer_f;
        vkGetDeviceQueue(ctx->device, xfer_f, 0, &ctx->queues[SEDX_QUEUE_TRANSFER].queue);
        ctx->queues[SEDX_QUEUE_TRANSFER].present = true;
    }
    return SEDX_SUCCESS;
}

sedx_result sedx__create_logical_device(sedx_context *ctx, const sedx_context_info *info)
{
    uint32_t main_f, xfer_f;
    int qf = sedx__find_queue_families(ctx->physical, !(info->flags & SEDX_CONTEXT_NO_TRANSFER_QUEUE), &main_f,
                                       &xfer_f);
    if (qf < 0) return SEDX__ERR(SEDX_ERROR_OUT_OF_HOST_MEMORY, TAG, "out of host memory listing queue families");
    if (qf == 0) return SEDX__ERR(SEDX_ERROR_NO_DEVICE, TAG, "device has no compute queue");
    /* device API version: min(instance request, device) */
    if (VK_API_VERSION_MINOR(ctx->props.apiVersion) < VK_API_VERSION_MINOR(ctx->api_version))
        ctx->api_version = VK_MAKE_API_VERSION(0, 1, VK_API_VERSION_MINOR(ctx->props.apiVersion), 0);
    bool v13 = VK_API_VERSION_MINOR(ctx->api_version) >= 3;
    extensions x = {0};
    sedx_result r = probe_extensions(ctx, &x);
    if (r != SEDX_SUCCESS) return r;
    feature_chain sup, en;
    query_support(ctx, &x, v13, &sup);
    if (!sup.v12.timelineSemaphore)
        return SEDX__ERR(SEDX_ERROR_FEATURE_NOT_PRESENT, TAG, "device '%s' lacks timeline semaphores",
                         ctx->props.deviceName);
    chain_init(&en);
    chain_add(&en, &en.v12);
    en.v12.timelineSemaphore = VK_TRUE;
    ctx->features |= SEDX_FEATURE_TIMELINE_SEMAPHORE;
    enable_list ext = {{0}, 0};
    if (!(info->flags & SEDX_CONTEXT_MINIMAL_FEATURES)) {
        enable_core12(ctx, &sup, &en);
        enable_sync2_maint4(ctx, &x, v13, &sup, &en, &ext);
        enable_extensions(ctx, &x, &sup, &en, &ext);
        if (!(info->flags & SEDX_CONTEXT_NO_RAY_TRACING)) enable_raytracing(ctx, &x, &sup, &en, &ext);
    }
    return create_with_queues(ctx, &en, &ext, main_f, xfer_f);
}
