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
sedx_result sedx__create_logical_device(sedx_context *ctx, const sedx_context_info *info)
{
    bool minimal = (info->flags & SEDX_CONTEXT_MINIMAL_FEATURES) != 0;
    uint32_t main_f, xfer_f;
    int qf = sedx__find_queue_families(ctx->physical, !(info->flags & SEDX_CONTEXT_NO_TRANSFER_QUEUE), &main_f, &xfer_f);
    if (qf < 0) return SEDX__ERR(SEDX_ERROR_OUT_OF_HOST_MEMORY, TAG, "out of host memory listing queue families");
    if (qf == 0) return SEDX__ERR(SEDX_ERROR_NO_DEVICE, TAG, "device has no compute queue");

    /* device API version: min(instance request, device) */
    if (VK_API_VERSION_MINOR(ctx->props.apiVersion) < VK_API_VERSION_MINOR(ctx->api_version))
        ctx->api_version = VK_MAKE_API_VERSION(0, 1, VK_API_VERSION_MINOR(ctx->props.apiVersion), 0);
    bool v13 = VK_API_VERSION_MINOR(ctx->api_version) >= 3;

    uint32_t n_ext = 0;
    VkResult vr = vkEnumerateDeviceExtensionProperties(ctx->physical, NULL, &n_ext, NULL);
    if (vr != VK_SUCCESS) return SEDX__VK(vr, "vkEnumerateDeviceExtensionProperties");
    VkExtensionProperties *exts = sedx__calloc(n_ext ? n_ext : 1, sizeof *exts);
    if (!exts) return SEDX__ERR(SEDX_ERROR_OUT_OF_HOST_MEMORY, TAG, "out of host memory");
    vkEnumerateDeviceExtensionProperties(ctx->physical, NULL, &n_ext, exts);

    const char *enabled[8];
    uint32_t n_enabled = 0;
    bool has_budget = sedx__has_extension(exts, n_ext, VK_EXT_MEMORY_BUDGET_EXTENSION_NAME);
    bool has_host_mem = sedx__has_extension(exts, n_ext, VK_EXT_EXTERNAL_MEMORY_HOST_EXTENSION_NAME);
    bool has_rob2 = sedx__has_extension(exts, n_ext, VK_EXT_ROBUSTNESS_2_EXTENSION_NAME);
    bool has_prio = sedx__has_extension(exts, n_ext, VK_EXT_MEMORY_PRIORITY_EXTENSION_NAME);
    bool has_sync2_ext = sedx__has_extension(exts, n_ext, VK_KHR_SYNCHRONIZATION_2_EXTENSION_NAME);
    bool has_maint4_ext = sedx__has_extension(exts, n_ext, VK_KHR_MAINTENANCE_4_EXTENSION_NAME);
    sedx__free(exts);

    /* what the device supports */
    VkPhysicalDeviceVulkan12Features s12 = {VK_STRUCTURE_TYPE_PHYSICAL_DEVICE_VULKAN_1_2_FEATURES};
    VkPhysicalDeviceVulkan13Features s13 = {VK_STRUCTURE_TYPE_PHYSICAL_DEVICE_VULKAN_1_3_FEATURES};
    VkPhysicalDeviceSynchronization2Features ssync2 = {VK_STRUCTURE_TYPE_PHYSICAL_DEVICE_SYNCHRONIZATION_2_FEATURES};
    VkPhysicalDeviceRobustness2FeaturesEXT srob2 = {VK_STRUCTURE_TYPE_PHYSICAL_DEVICE_ROBUSTNESS_2_FEATURES_EXT};
    VkPhysicalDeviceMemoryPriorityFeaturesEXT sprio = {VK_STRUCTURE_TYPE_PHYSICAL_DEVICE_MEMORY_PRIORITY_FEATURES_EXT};
    VkPhysicalDeviceFeatures2 sup = {VK_STRUCTURE_TYPE_PHYSICAL_DEVICE_FEATURES_2};
    void **chain = &sup.pNext;
#define SEDX__CHAIN(s) do { *chain = &(s); chain = &(s).pNext; } while (0)
    SEDX__CHAIN(s12);
    if (v13) SEDX__CHAIN(s13);
    else if (has_sync2_ext) SEDX__CHAIN(ssync2);
    if (has_rob2) SEDX__CHAIN(srob2);
    if (has_prio) SEDX__CHAIN(sprio);
    vkGetPhysicalDeviceFeatures2(ctx->physical, &sup);

    if (!s12.timelineSemaphore)
        return SEDX__ERR(SEDX_ERROR_FEATURE_NOT_PRESENT, TAG, "device '%s' lacks timeline semaphores",
                         ctx->props.deviceName);

    /* what sedx enables */
    VkPhysicalDeviceVulkan12Features e12 = {VK_STRUCTURE_TYPE_PHYSICAL_DEVICE_VULKAN_1_2_FEATURES};
    VkPhysicalDeviceVulkan13Features e13 = {VK_STRUCTURE_TYPE_PHYSICAL_DEVICE_VULKAN_1_3_FEATURES};
    VkPhysicalDeviceSynchronization2Features esync2 = {VK_STRUCTURE_TYPE_PHYSICAL_DEVICE_SYNCHRONIZATION_2_FEATURES};
    VkPhysicalDeviceRobustness2FeaturesEXT erob2 = {VK_STRUCTURE_TYPE_PHYSICAL_DEVICE_ROBUSTNESS_2_FEATURES_EXT};
    VkPhysicalDeviceMemoryPriorityFeaturesEXT eprio = {VK_STRUCTURE_TYPE_PHYSICAL_DEVICE_MEMORY_PRIORITY_FEATURES_EXT};
    VkPhysicalDeviceFeatures2 en = {VK_STRUCTURE_TYPE_PHYSICAL_DEVICE_FEATURES_2};
    chain = &en.pNext;
    SEDX__CHAIN(e12);
    e12.timelineSemaphore = VK_TRUE;
    ctx->features |= SEDX_FEATURE_TIMELINE_SEMAPHORE;
    if (!minimal) {
        if (s12.bufferDeviceAddress) {
            e12.bufferDeviceAddress = VK_TRUE;
            ctx->features |= SEDX_FEATURE_BUFFER_DEVICE_ADDRESS;
        }
        if (s12.descriptorIndexing && s12.runtimeDescriptorArray && s12.descriptorBindingPartiallyBound &&
            s12.shaderStorageBufferArrayNonUniformIndexing && s12.descriptorBindingStorageBufferUpdateAfterBind &&
            s12.descriptorBindingUpdateUnusedWhilePending && s12.descriptorBindingVariableDescriptorCount) {
            e12.descriptorIndexing = VK_TRUE;
            e12.runtimeDescriptorArray = VK_TRUE;
            e12.descriptorBindingPartiallyBound = VK_TRUE;
            e12.shaderStorageBufferArrayNonUniformIndexing = VK_TRUE;
            e12.descriptorBindingStorageBufferUpdateAfterBind = VK_TRUE;
            e12.descriptorBindingUpdateUnusedWhilePending = VK_TRUE;
            e12.descriptorBindingVariableDescriptorCount = VK_TRUE;
            ctx->features |= SEDX_FEATURE_DESCRIPTOR_INDEXING;
        }
        if (v13) {
            SEDX__CHAIN(e13);
            if (s13.synchronization2) {
                e13.synchronization2 = VK_TRUE;
                ctx->features |= SEDX_FEATURE_SYNCHRONIZATION2;
            }
            if (s13.maintenance4) {
                e13.maintenance4 = VK_TRUE;
                ctx->features |= SEDX_FEATURE_MAINTENANCE4;
            }
        } else {
            if (has_sync2_ext && ssync2.synchronization2) {
                SEDX__CHAIN(esync2);
                esync2.synchronization2 = VK_TRUE;
                enabled[n_enabled++] = VK_KHR_SYNCHRONIZATION_2_EXTENSION_NAME;
                ctx->features |= SEDX_FEATURE_SYNCHRONIZATION2;
            }
            if (has_maint4_ext) {
                enabled[n_enabled++] = VK_KHR_MAINTENANCE_4_EXTENSION_NAME;
                ctx->features |= SEDX_FEATURE_MAINTENANCE4;
            }
        }
        if (has_budget) {
            enabled[n_enabled++] = VK_EXT_MEMORY_BUDGET_EXTENSION_NAME;
            ctx->features |= SEDX_FEATURE_MEMORY_BUDGET;
        }
        if (has_host_mem) {
            enabled[n_enabled++] = VK_EXT_EXTERNAL_MEMORY_HOST_EXTENSION_NAME;
            ctx->features |= SEDX_FEATURE_EXTERNAL_MEMORY_HOST;
        }
        if (has_rob2 && srob2.nullDescriptor) {
            SEDX__CHAIN(erob2);
            erob2.nullDescriptor = VK_TRUE;
            enabled[n_enabled++] = VK_EXT_ROBUSTNESS_2_EXTENSION_NAME;
            ctx->features |= SEDX_FEATURE_NULL_DESCRIPTOR;
        }
        if (has_prio && sprio.memoryPriority) {
            SEDX__CHAIN(eprio);
            eprio.memoryPriority = VK_TRUE;
            enabled[n_enabled++] = VK_EXT_MEMORY_PRIORITY_EXTENSION_NAME;
            ctx->features |= SEDX_FEATURE_MEMORY_PRIORITY;
        }
    }
#undef SEDX__CHAIN

    float prio = 1.0f;
    VkDeviceQueueCreateInfo qci[2] = {{VK_STRUCTURE_TYPE_DEVICE_QUEUE_CREATE_INFO},
                                      {VK_STRUCTURE_TYPE_DEVICE_QUEUE_CREATE_INFO}};
    qci[0].queueFamilyIndex = main_f;
    qci[0].queueCount = 1;
    qci[0].pQueuePriorities = &prio;
    uint32_t n_q = 1;
    if (xfer_f != UINT32_MAX) {
        qci[1].queueFamilyIndex = xfer_f;
        qci[1].queueCount = 1;
        qci[1].pQueuePriorities = &prio;
        n_q = 2;
    }
    VkDeviceCreateInfo dci = {VK_STRUCTURE_TYPE_DEVICE_CREATE_INFO};
    dci.pNext = &en;
    dci.queueCreateInfoCount = n_q;
    dci.pQueueCreateInfos = qci;
    dci.enabledExtensionCount = n_enabled;
    dci.ppEnabledExtensionNames = enabled;
    vr = vkCreateDevice(ctx->physical, &dci, NULL, &ctx->device);
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

