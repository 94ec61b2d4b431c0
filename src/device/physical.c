/*
 * Physical devices: the choice (discrete first, SEDX_DEVICE), properties, queue families, the
 * device list for sedx-info.
 */
#include "device/device_private.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

const char *sedx_device_type_name(VkPhysicalDeviceType type)
{
    switch (type) {
    case VK_PHYSICAL_DEVICE_TYPE_DISCRETE_GPU: return "discrete";
    case VK_PHYSICAL_DEVICE_TYPE_INTEGRATED_GPU: return "integrated";
    case VK_PHYSICAL_DEVICE_TYPE_VIRTUAL_GPU: return "virtual";
    case VK_PHYSICAL_DEVICE_TYPE_CPU: return "cpu";
    default: return "other";
    }
}

static int device_rank(VkPhysicalDeviceType t)
{
    switch (t) {
    case VK_PHYSICAL_DEVICE_TYPE_DISCRETE_GPU: return 4;
    case VK_PHYSICAL_DEVICE_TYPE_INTEGRATED_GPU: return 3;
    case VK_PHYSICAL_DEVICE_TYPE_VIRTUAL_GPU: return 2;
    case VK_PHYSICAL_DEVICE_TYPE_CPU: return 1;
    default: return 0;
    }
}

static bool contains_nocase(const char *hay, const char *needle)
{
    size_t n = strlen(needle);
    if (n == 0) return true;
    for (; *hay; ++hay)
        if (strncasecmp(hay, needle, n) == 0) return true;
    return false;
}

const char *sedx_feature_name(uint32_t bit)
{
    switch (bit) {
    case SEDX_FEATURE_TIMELINE_SEMAPHORE: return "timeline_semaphore";
    case SEDX_FEATURE_SYNCHRONIZATION2: return "synchronization2";
    case SEDX_FEATURE_BUFFER_DEVICE_ADDRESS: return "buffer_device_address";
    case SEDX_FEATURE_DESCRIPTOR_INDEXING: return "descriptor_indexing";
    case SEDX_FEATURE_MEMORY_BUDGET: return "memory_budget";
    case SEDX_FEATURE_EXTERNAL_MEMORY_HOST: return "external_memory_host";
    case SEDX_FEATURE_NULL_DESCRIPTOR: return "null_descriptor";
    case SEDX_FEATURE_DEBUG_UTILS: return "debug_utils";
    case SEDX_FEATURE_MEMORY_PRIORITY: return "memory_priority";
    case SEDX_FEATURE_MAINTENANCE4: return "maintenance4";
    case SEDX_FEATURE_DYNAMIC_RENDERING: return "dynamic_rendering";
    case SEDX_FEATURE_ACCELERATION_STRUCTURE: return "acceleration_structure";
    case SEDX_FEATURE_RAY_TRACING_PIPELINE: return "ray_tracing_pipeline";
    default: return "?";
    }
}

/* ------------------------------------------------------------------------------------------
 * Physical device
 * ---------------------------------------------------------------------------------------- */
/* 1: found (families written), 0: the device has no compute queue, -1: out of host memory. */
int sedx__find_queue_families(VkPhysicalDevice pd, bool want_transfer, uint32_t *main_family,
                               uint32_t *transfer_family)
{
    uint32_t n = 0;
    vkGetPhysicalDeviceQueueFamilyProperties(pd, &n, NULL);
    VkQueueFamilyProperties *q = sedx__calloc(n ? n : 1, sizeof *q);
    if (!q) return -1;
    vkGetPhysicalDeviceQueueFamilyProperties(pd, &n, q);
    uint32_t main_f = UINT32_MAX, compute_f = UINT32_MAX, xfer_f = UINT32_MAX;
    for (uint32_t i = 0; i < n; ++i) {
        VkQueueFlags f = q[i].queueFlags;
        if (q[i].queueCount == 0) continue;
        if ((f & VK_QUEUE_GRAPHICS_BIT) && (f & VK_QUEUE_COMPUTE_BIT) && main_f == UINT32_MAX) main_f = i;
        if ((f & VK_QUEUE_COMPUTE_BIT) && compute_f == UINT32_MAX) compute_f = i;
        if ((f & VK_QUEUE_TRANSFER_BIT) && !(f & (VK_QUEUE_GRAPHICS_BIT | VK_QUEUE_COMPUTE_BIT)) &&
            xfer_f == UINT32_MAX)
            xfer_f = i;
    }
    sedx__free(q);
    if (main_f == UINT32_MAX) main_f = compute_f;
    if (main_f == UINT32_MAX) return 0;
    *main_family = main_f;
    *transfer_family = want_transfer ? xfer_f : UINT32_MAX;
    return 1;
}

sedx_result sedx__pick_physical_device(sedx_context *ctx, const char *selector)
{
    uint32_t n = 0;
    VkResult vr = vkEnumeratePhysicalDevices(ctx->instance, &n, NULL);
    if (vr != VK_SUCCESS) return SEDX__VK(vr, "vkEnumeratePhysicalDevices");
    if (n == 0)
        return SEDX__ERR(SEDX_ERROR_NO_VULKAN, TAG,
                         "the Vulkan loader found no device: install a driver (Debian: mesa-vulkan-drivers)");
    VkPhysicalDevice *pds = sedx__calloc(n, sizeof *pds);
    if (!pds) return SEDX__ERR(SEDX_ERROR_OUT_OF_HOST_MEMORY, TAG, "out of host memory");
    vr = vkEnumeratePhysicalDevices(ctx->instance, &n, pds);
    if (vr != VK_SUCCESS && vr != VK_INCOMPLETE) {
        sedx__free(pds);
        return SEDX__VK(vr, "vkEnumeratePhysicalDevices");
    }

    int best = -1, best_rank = -1;
    bool by_index = false;
    long index = -1;
    if (selector && *selector) {
        char *end = NULL;
        index = strtol(selector, &end, 10);
        by_index = end && *end == '\0' && index >= 0;
    }
    for (uint32_t i = 0; i < n; ++i) {
        VkPhysicalDeviceProperties p;
        vkGetPhysicalDeviceProperties(pds[i], &p);
        uint32_t mf, tf;
        int qf = VK_API_VERSION_MINOR(p.apiVersion) >= 2 ? sedx__find_queue_families(pds[i], false, &mf, &tf) : 0;
        if (qf < 0) {
            sedx__free(pds);
            return SEDX__ERR(SEDX_ERROR_OUT_OF_HOST_MEMORY, TAG, "out of host memory listing queue families");
        }
        bool usable = qf > 0;
        if (selector && *selector) {
            bool match = by_index ? (long)i == index : contains_nocase(p.deviceName, selector);
            if (!match) continue;
            if (!usable) {
                sedx__free(pds);
                return SEDX__ERR(SEDX_ERROR_NO_DEVICE, TAG,
                                 "device '%s' (selected by '%s') lacks Vulkan 1.2 or a compute queue",
                                 p.deviceName, selector);
            }
            best = (int)i;
            break;
        }
        if (usable && device_rank(p.deviceType) > best_rank) {
            best = (int)i;
            best_rank = device_rank(p.deviceType);
        }
    }
    if (best < 0) {
        sedx__free(pds);
        if (selector && *selector)
            return SEDX__ERR(SEDX_ERROR_NO_DEVICE, TAG, "no Vulkan device matches '%s' (%u device%s present)",
                             selector, n, n == 1 ? "" : "s");
        return SEDX__ERR(SEDX_ERROR_NO_DEVICE, TAG, "no device with Vulkan 1.2 and a compute queue");
    }
    ctx->physical = pds[best];
    sedx__free(pds);
    return SEDX_SUCCESS;
}

void sedx__query_properties(sedx_context *ctx)
{
    vkGetPhysicalDeviceProperties(ctx->physical, &ctx->props);
    vkGetPhysicalDeviceMemoryProperties(ctx->physical, &ctx->mem_props);
    ctx->props12 = (VkPhysicalDeviceVulkan12Properties){VK_STRUCTURE_TYPE_PHYSICAL_DEVICE_VULKAN_1_2_PROPERTIES};
    ctx->maint3 = (VkPhysicalDeviceMaintenance3Properties){VK_STRUCTURE_TYPE_PHYSICAL_DEVICE_MAINTENANCE_3_PROPERTIES};
    VkPhysicalDeviceProperties2 p2 = {VK_STRUCTURE_TYPE_PHYSICAL_DEVICE_PROPERTIES_2};
    ctx->maint3.pNext = NULL;
    p2.pNext = &ctx->maint3;
    if (VK_API_VERSION_MINOR(ctx->props.apiVersion) >= 2) ctx->maint3.pNext = &ctx->props12;
    /* maxBufferSize, where maintenance4 is enabled (core 1.3 or the extension) */
    VkPhysicalDeviceMaintenance4Properties maint4 = {VK_STRUCTURE_TYPE_PHYSICAL_DEVICE_MAINTENANCE_4_PROPERTIES,
                                                     &ctx->maint3};
    if (ctx->features & SEDX_FEATURE_MAINTENANCE4) p2.pNext = &maint4;
    vkGetPhysicalDeviceProperties2(ctx->physical, &p2);
    ctx->max_buffer_size = (ctx->features & SEDX_FEATURE_MAINTENANCE4) ? maint4.maxBufferSize : 0;
    ctx->maint3.pNext = NULL;
    ctx->props12.pNext = NULL;
    /* the ray-tracing limits, where sedx enabled the extensions */
    ctx->as_props = (VkPhysicalDeviceAccelerationStructurePropertiesKHR){
        VK_STRUCTURE_TYPE_PHYSICAL_DEVICE_ACCELERATION_STRUCTURE_PROPERTIES_KHR};
    ctx->rtp_props = (VkPhysicalDeviceRayTracingPipelinePropertiesKHR){
        VK_STRUCTURE_TYPE_PHYSICAL_DEVICE_RAY_TRACING_PIPELINE_PROPERTIES_KHR};
    if (ctx->features & SEDX_FEATURE_ACCELERATION_STRUCTURE) {
        VkPhysicalDeviceProperties2 rt2 = {VK_STRUCTURE_TYPE_PHYSICAL_DEVICE_PROPERTIES_2, &ctx->as_props};
        if (ctx->features & SEDX_FEATURE_RAY_TRACING_PIPELINE) ctx->as_props.pNext = &ctx->rtp_props;
        vkGetPhysicalDeviceProperties2(ctx->physical, &rt2);
        ctx->as_props.pNext = NULL;
        ctx->rtp_props.pNext = NULL;
    }
}

sedx_result sedx_enumerate_devices(sedx_device_summary *out, uint32_t max, uint32_t *count)
{
    if (!count) return SEDX__ERR(SEDX_ERROR_INVALID_ARGUMENT, TAG, "count is NULL");
    *count = 0;
    VkApplicationInfo app = {VK_STRUCTURE_TYPE_APPLICATION_INFO};
    app.apiVersion = VK_API_VERSION_1_2;
    VkInstanceCreateInfo ci = {VK_STRUCTURE_TYPE_INSTANCE_CREATE_INFO};
    ci.pApplicationInfo = &app;
    VkInstance inst;
    VkResult vr = vkCreateInstance(&ci, NULL, &inst);
    if (vr == VK_ERROR_INCOMPATIBLE_DRIVER) return SEDX__ERR(SEDX_ERROR_NO_VULKAN, TAG, "no Vulkan driver");
    if (vr != VK_SUCCESS) return SEDX__VK(vr, "vkCreateInstance");
    uint32_t n = 0;
    vkEnumeratePhysicalDevices(inst, &n, NULL);
    VkPhysicalDevice *pds = sedx__calloc(n ? n : 1, sizeof *pds);
    if (!pds) {
        vkDestroyInstance(inst, NULL);
        return SEDX__ERR(SEDX_ERROR_OUT_OF_HOST_MEMORY, TAG, "out of host memory");
    }
    vkEnumeratePhysicalDevices(inst, &n, pds);
    for (uint32_t i = 0; i < n && out && i < max; ++i) {
        VkPhysicalDeviceProperties p;
        vkGetPhysicalDeviceProperties(pds[i], &p);
        memset(&out[i], 0, sizeof out[i]);
        memcpy(out[i].name, p.deviceName, sizeof out[i].name);
        out[i].type = p.deviceType;
        out[i].api_version = p.apiVersion;
        out[i].vendor_id = p.vendorID;
        out[i].device_id = p.deviceID;
    }
    *count = n;
    sedx__free(pds);
    vkDestroyInstance(inst, NULL);
    return SEDX_SUCCESS;
}

