/*
 * Context: instance, physical device choice, device and queues, validation messenger,
 * timelines, one-time submissions and the deletion queue.
 */
#include "device/device.h"

#include <ctype.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#define TAG "CONTEXT"

static _Atomic uint32_t g_next_context_id = 1;

/* Upper layers hook their teardown here; weak so the context links without them. */
void sedx__bindless_destroy(sedx_context *ctx) __attribute__((weak));
void sedx__transfer_destroy(sedx_context *ctx) __attribute__((weak));
void sedx__buffers_destroy(sedx_context *ctx) __attribute__((weak));
sedx_result sedx__allocator_create(sedx_context *ctx, const sedx_allocator_info *info) __attribute__((weak));
sedx_result sedx__allocator_check_info(const sedx_allocator_info *info) __attribute__((weak));
void sedx__allocator_destroy(sedx_context *ctx) __attribute__((weak));

sedx_result sedx__vk_error(VkResult vr, const char *what, const char *file, int line)
{
    sedx_result r;
    switch (vr) {
    case VK_SUCCESS: return SEDX_SUCCESS;
    case VK_ERROR_OUT_OF_HOST_MEMORY: r = SEDX_ERROR_OUT_OF_HOST_MEMORY; break;
    case VK_ERROR_OUT_OF_DEVICE_MEMORY: r = SEDX_ERROR_OUT_OF_DEVICE_MEMORY; break;
    case VK_ERROR_DEVICE_LOST: r = SEDX_ERROR_DEVICE_LOST; break;
    case VK_ERROR_LAYER_NOT_PRESENT: r = SEDX_ERROR_LAYER_NOT_PRESENT; break;
    case VK_ERROR_INCOMPATIBLE_DRIVER: r = SEDX_ERROR_NO_VULKAN; break;
    case VK_ERROR_FEATURE_NOT_PRESENT:
    case VK_ERROR_EXTENSION_NOT_PRESENT: r = SEDX_ERROR_FEATURE_NOT_PRESENT; break;
    case VK_ERROR_TOO_MANY_OBJECTS: r = SEDX_ERROR_TOO_MANY_ALLOCATIONS; break;
    case VK_TIMEOUT: return SEDX_TIMEOUT;
    case VK_NOT_READY: return SEDX_NOT_READY;
    default: r = SEDX_ERROR_VULKAN; break;
    }
    sedx_log(SEDX_LOG_ERROR, "VULKAN", file, line, "%s failed: VkResult %d (%s)", what, (int)vr,
             sedx_result_name(r));
    return r;
}

/* ------------------------------------------------------------------------------------------
 * Validation messenger
 * ---------------------------------------------------------------------------------------- */
static VKAPI_ATTR VkBool32 VKAPI_CALL debug_callback(VkDebugUtilsMessageSeverityFlagBitsEXT severity,
                                                     VkDebugUtilsMessageTypeFlagsEXT types,
                                                     const VkDebugUtilsMessengerCallbackDataEXT *data,
                                                     void *user)
{
    sedx_context *ctx = user;
    (void)types;
    const char *id = data && data->pMessageIdName ? data->pMessageIdName : "?";
    if (strcmp(id, "UNASSIGNED-VkSemaphore-state-timeout") == 0) {
        /* The layer's own deadlock breaker, "most likely a validation bug" in its words: layers
         * before 1.3.296 (Debian 12 ships 1.3.239) can deadlock when one thread signals a timeline
         * semaphore from the host while another waits on a value that depends on it
         * (KhronosGroup/Vulkan-ValidationLayers#4649, fixed by #8519). Valid usage; reported, not
         * counted as a validation error. */
        sedx_log(SEDX_LOG_WARN, "VALIDATION", __FILE__, __LINE__,
                 "%s (a validation-layer defect, not an API error; not counted): %s", id,
                 data && data->pMessage ? data->pMessage : "");
        return VK_FALSE;
    }
    sedx_log_level level = SEDX_LOG_DEBUG;
    if (severity & VK_DEBUG_UTILS_MESSAGE_SEVERITY_ERROR_BIT_EXT) {
        level = SEDX_LOG_ERROR;
        if (ctx) atomic_fetch_add(&ctx->validation_errors, 1);
    } else if (severity & VK_DEBUG_UTILS_MESSAGE_SEVERITY_WARNING_BIT_EXT) {
        level = SEDX_LOG_WARN;
        if (ctx) atomic_fetch_add(&ctx->validation_warnings, 1);
    } else if (severity & VK_DEBUG_UTILS_MESSAGE_SEVERITY_INFO_BIT_EXT) {
        level = SEDX_LOG_TRACE;
    } else {
        level = SEDX_LOG_TRACE;
    }
    sedx_log(level, "VALIDATION", __FILE__, __LINE__, "%s: %s", id, data && data->pMessage ? data->pMessage : "");
    return VK_FALSE;
}

/* ------------------------------------------------------------------------------------------
 * Helpers
 * ---------------------------------------------------------------------------------------- */
static bool has_extension(const VkExtensionProperties *exts, uint32_t n, const char *name)
{
    for (uint32_t i = 0; i < n; ++i)
        if (strcmp(exts[i].extensionName, name) == 0) return true;
    return false;
}

/* *found = whether the loader knows the layer; SEDX_ERROR_OUT_OF_HOST_MEMORY if we could not
 * even look (so an allocation failure is not reported as a missing layer). */
static sedx_result has_layer(const char *name, bool *found)
{
    *found = false;
    uint32_t n = 0;
    if (vkEnumerateInstanceLayerProperties(&n, NULL) != VK_SUCCESS || n == 0) return SEDX_SUCCESS;
    VkLayerProperties *layers = sedx__calloc(n, sizeof *layers);
    if (!layers) return SEDX__ERR(SEDX_ERROR_OUT_OF_HOST_MEMORY, TAG, "out of host memory listing layers");
    if (vkEnumerateInstanceLayerProperties(&n, layers) == VK_SUCCESS)
        for (uint32_t i = 0; i < n && !*found; ++i) *found = strcmp(layers[i].layerName, name) == 0;
    sedx__free(layers);
    return SEDX_SUCCESS;
}

/* Instance extensions, from the loader and (optionally) a layer. Caller frees. */
static VkExtensionProperties *instance_extensions(const char *layer, uint32_t *count)
{
    *count = 0;
    uint32_t n = 0;
    if (vkEnumerateInstanceExtensionProperties(layer, &n, NULL) != VK_SUCCESS) return NULL;
    VkExtensionProperties *e = sedx__calloc(n ? n : 1, sizeof *e);
    if (!e) return NULL;
    if (vkEnumerateInstanceExtensionProperties(layer, &n, e) != VK_SUCCESS) n = 0;
    *count = n;
    return e;
}

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
    default: return "?";
    }
}

/* ------------------------------------------------------------------------------------------
 * Instance
 * ---------------------------------------------------------------------------------------- */
static sedx_result create_instance(sedx_context *ctx, const sedx_context_info *info, bool validation,
                                   bool sync_validation)
{
    uint32_t loader_version = VK_API_VERSION_1_0;
    PFN_vkEnumerateInstanceVersion enum_version =
        (PFN_vkEnumerateInstanceVersion)vkGetInstanceProcAddr(NULL, "vkEnumerateInstanceVersion");
    if (enum_version) enum_version(&loader_version);

    uint32_t want = info->api_version;
    if (want == 0) {
        want = VK_API_VERSION_1_3;
        if (VK_API_VERSION_MAJOR(loader_version) == 1 && VK_API_VERSION_MINOR(loader_version) < 3)
            want = VK_API_VERSION_1_2;
    }
    if (VK_API_VERSION_MAJOR(want) != 1 || VK_API_VERSION_MINOR(want) < 2)
        return SEDX__ERR(SEDX_ERROR_UNSUPPORTED_VERSION, TAG,
                         "api_version %u.%u is not supported: sedx needs Vulkan 1.2 or later",
                         VK_API_VERSION_MAJOR(want), VK_API_VERSION_MINOR(want));
    if (VK_MAKE_API_VERSION(0, VK_API_VERSION_MAJOR(want), VK_API_VERSION_MINOR(want), 0) >
        VK_MAKE_API_VERSION(0, VK_API_VERSION_MAJOR(loader_version), VK_API_VERSION_MINOR(loader_version), 0))
        return SEDX__ERR(SEDX_ERROR_UNSUPPORTED_VERSION, TAG,
                         "api_version %u.%u requested but the Vulkan loader offers only %u.%u",
                         VK_API_VERSION_MAJOR(want), VK_API_VERSION_MINOR(want),
                         VK_API_VERSION_MAJOR(loader_version), VK_API_VERSION_MINOR(loader_version));
    if (VK_API_VERSION_MINOR(want) > 3) want = VK_API_VERSION_1_3; /* headers know up to 1.3 */
    ctx->api_version = want;

    const char *layer = "VK_LAYER_KHRONOS_validation";
    if (validation) {
        bool found;
        sedx_result lr = has_layer(layer, &found);
        if (lr != SEDX_SUCCESS) return lr;
        if (!found)
            return SEDX__ERR(SEDX_ERROR_LAYER_NOT_PRESENT, TAG,
                             "validation requested but %s is not installed (Debian: vulkan-validationlayers)", layer);
    }

    uint32_t n_ext = 0, n_layer_ext = 0;
    VkExtensionProperties *exts = instance_extensions(NULL, &n_ext);
    VkExtensionProperties *layer_exts = validation ? instance_extensions(layer, &n_layer_ext) : NULL;
    const char *enabled[4];
    uint32_t n_enabled = 0;
    bool debug_utils = has_extension(exts, n_ext, VK_EXT_DEBUG_UTILS_EXTENSION_NAME) ||
                       has_extension(layer_exts, n_layer_ext, VK_EXT_DEBUG_UTILS_EXTENSION_NAME);
    bool features_ext = has_extension(layer_exts, n_layer_ext, VK_EXT_VALIDATION_FEATURES_EXTENSION_NAME);
    if (debug_utils) enabled[n_enabled++] = VK_EXT_DEBUG_UTILS_EXTENSION_NAME;
    if (sync_validation && features_ext) enabled[n_enabled++] = VK_EXT_VALIDATION_FEATURES_EXTENSION_NAME;
    sedx__free(exts);
    sedx__free(layer_exts);

    VkApplicationInfo app = {VK_STRUCTURE_TYPE_APPLICATION_INFO};
    app.pApplicationName = info->app_name ? info->app_name : "sedx";
    app.pEngineName = "sedx";
    app.engineVersion = VK_MAKE_API_VERSION(0, SEDX_VERSION_MAJOR, SEDX_VERSION_MINOR, SEDX_VERSION_PATCH);
    app.apiVersion = want;

    VkDebugUtilsMessengerCreateInfoEXT dbg = {VK_STRUCTURE_TYPE_DEBUG_UTILS_MESSENGER_CREATE_INFO_EXT};
    dbg.messageSeverity = VK_DEBUG_UTILS_MESSAGE_SEVERITY_WARNING_BIT_EXT | VK_DEBUG_UTILS_MESSAGE_SEVERITY_ERROR_BIT_EXT;
    dbg.messageType = VK_DEBUG_UTILS_MESSAGE_TYPE_GENERAL_BIT_EXT | VK_DEBUG_UTILS_MESSAGE_TYPE_VALIDATION_BIT_EXT |
                      VK_DEBUG_UTILS_MESSAGE_TYPE_PERFORMANCE_BIT_EXT;
    dbg.pfnUserCallback = debug_callback;
    dbg.pUserData = ctx;

    VkValidationFeatureEnableEXT vf_enable[] = {VK_VALIDATION_FEATURE_ENABLE_SYNCHRONIZATION_VALIDATION_EXT};
    VkValidationFeaturesEXT vf = {VK_STRUCTURE_TYPE_VALIDATION_FEATURES_EXT};
    vf.enabledValidationFeatureCount = 1;
    vf.pEnabledValidationFeatures = vf_enable;

    VkInstanceCreateInfo ci = {VK_STRUCTURE_TYPE_INSTANCE_CREATE_INFO};
    ci.pApplicationInfo = &app;
    ci.enabledExtensionCount = n_enabled;
    ci.ppEnabledExtensionNames = enabled;
    if (validation) {
        ci.enabledLayerCount = 1;
        ci.ppEnabledLayerNames = &layer;
        if (debug_utils) {
            ci.pNext = &dbg; /* also catches messages from vkCreate/DestroyInstance */
            if (sync_validation && features_ext) dbg.pNext = &vf;
        } else if (sync_validation && features_ext) {
            ci.pNext = &vf;
        }
    }
    VkResult vr = vkCreateInstance(&ci, NULL, &ctx->instance);
    if (vr == VK_ERROR_INCOMPATIBLE_DRIVER)
        return SEDX__ERR(SEDX_ERROR_NO_VULKAN, TAG,
                         "no Vulkan driver (ICD) found: install a driver (Debian: mesa-vulkan-drivers for lavapipe)");
    if (vr != VK_SUCCESS) return SEDX__VK(vr, "vkCreateInstance");
    ctx->owns_instance = true;
    ctx->validation = validation;

    if (debug_utils) {
        ctx->features |= SEDX_FEATURE_DEBUG_UTILS;
        ctx->create_messenger = (PFN_vkCreateDebugUtilsMessengerEXT)vkGetInstanceProcAddr(
            ctx->instance, "vkCreateDebugUtilsMessengerEXT");
        ctx->destroy_messenger = (PFN_vkDestroyDebugUtilsMessengerEXT)vkGetInstanceProcAddr(
            ctx->instance, "vkDestroyDebugUtilsMessengerEXT");
        if (validation && ctx->create_messenger) {
            dbg.pNext = NULL;
            vr = ctx->create_messenger(ctx->instance, &dbg, NULL, &ctx->messenger);
            if (vr != VK_SUCCESS) return SEDX__VK(vr, "vkCreateDebugUtilsMessengerEXT");
        }
    }
    if (validation)
        SEDX_LOG_DEBUG_TAG(TAG, "validation on%s", sync_validation ? " (with synchronization validation)" : "");
    return SEDX_SUCCESS;
}

/* ------------------------------------------------------------------------------------------
 * Physical device
 * ---------------------------------------------------------------------------------------- */
/* 1: found (families written), 0: the device has no compute queue, -1: out of host memory. */
static int find_queue_families(VkPhysicalDevice pd, bool want_transfer, uint32_t *main_family,
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

static sedx_result pick_physical_device(sedx_context *ctx, const char *selector)
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
        int qf = VK_API_VERSION_MINOR(p.apiVersion) >= 2 ? find_queue_families(pds[i], false, &mf, &tf) : 0;
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

static void query_properties(sedx_context *ctx)
{
    vkGetPhysicalDeviceProperties(ctx->physical, &ctx->props);
    vkGetPhysicalDeviceMemoryProperties(ctx->physical, &ctx->mem_props);
    ctx->props12 = (VkPhysicalDeviceVulkan12Properties){VK_STRUCTURE_TYPE_PHYSICAL_DEVICE_VULKAN_1_2_PROPERTIES};
    ctx->maint3 = (VkPhysicalDeviceMaintenance3Properties){VK_STRUCTURE_TYPE_PHYSICAL_DEVICE_MAINTENANCE_3_PROPERTIES};
    VkPhysicalDeviceProperties2 p2 = {VK_STRUCTURE_TYPE_PHYSICAL_DEVICE_PROPERTIES_2};
    ctx->maint3.pNext = NULL;
    p2.pNext = &ctx->maint3;
    if (VK_API_VERSION_MINOR(ctx->props.apiVersion) >= 2) ctx->maint3.pNext = &ctx->props12;
    vkGetPhysicalDeviceProperties2(ctx->physical, &p2);
    ctx->maint3.pNext = NULL;
    ctx->props12.pNext = NULL;
}

/* ------------------------------------------------------------------------------------------
 * Device
 * ---------------------------------------------------------------------------------------- */
static sedx_result create_device(sedx_context *ctx, const sedx_context_info *info)
{
    bool minimal = (info->flags & SEDX_CONTEXT_MINIMAL_FEATURES) != 0;
    uint32_t main_f, xfer_f;
    int qf = find_queue_families(ctx->physical, !(info->flags & SEDX_CONTEXT_NO_TRANSFER_QUEUE), &main_f, &xfer_f);
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
    bool has_budget = has_extension(exts, n_ext, VK_EXT_MEMORY_BUDGET_EXTENSION_NAME);
    bool has_host_mem = has_extension(exts, n_ext, VK_EXT_EXTERNAL_MEMORY_HOST_EXTENSION_NAME);
    bool has_rob2 = has_extension(exts, n_ext, VK_EXT_ROBUSTNESS_2_EXTENSION_NAME);
    bool has_prio = has_extension(exts, n_ext, VK_EXT_MEMORY_PRIORITY_EXTENSION_NAME);
    bool has_sync2_ext = has_extension(exts, n_ext, VK_KHR_SYNCHRONIZATION_2_EXTENSION_NAME);
    bool has_maint4_ext = has_extension(exts, n_ext, VK_KHR_MAINTENANCE_4_EXTENSION_NAME);
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

/* ------------------------------------------------------------------------------------------
 * Queues: timelines and one-time command buffers
 * ---------------------------------------------------------------------------------------- */
static sedx_result init_queue(sedx_context *ctx, sedx__queue *q)
{
    pthread_mutex_init(&q->lock, NULL);
    pthread_mutex_init(&q->pool_lock, NULL);
    if (!q->present || !(ctx->features & SEDX_FEATURE_TIMELINE_SEMAPHORE)) return SEDX_SUCCESS;
    VkSemaphoreTypeCreateInfo type = {VK_STRUCTURE_TYPE_SEMAPHORE_TYPE_CREATE_INFO};
    type.semaphoreType = VK_SEMAPHORE_TYPE_TIMELINE;
    type.initialValue = 0;
    VkSemaphoreCreateInfo sci = {VK_STRUCTURE_TYPE_SEMAPHORE_CREATE_INFO};
    sci.pNext = &type;
    VkResult vr = vkCreateSemaphore(ctx->device, &sci, NULL, &q->timeline);
    if (vr != VK_SUCCESS) return SEDX__VK(vr, "vkCreateSemaphore(timeline)");
    q->can_submit = true;
    return SEDX_SUCCESS;
}

/* Creates slot's pool and command buffer on first use (called with pool_lock held). */
static sedx_result init_slot(sedx_context *ctx, sedx__queue *q, int slot)
{
    if (q->pools[slot]) return SEDX_SUCCESS;
    VkCommandPoolCreateInfo pci = {VK_STRUCTURE_TYPE_COMMAND_POOL_CREATE_INFO};
    pci.flags = VK_COMMAND_POOL_CREATE_TRANSIENT_BIT;
    pci.queueFamilyIndex = q->family;
    VkResult vr = vkCreateCommandPool(ctx->device, &pci, NULL, &q->pools[slot]);
    if (vr != VK_SUCCESS) return SEDX__VK(vr, "vkCreateCommandPool");
    VkCommandBufferAllocateInfo ai = {VK_STRUCTURE_TYPE_COMMAND_BUFFER_ALLOCATE_INFO};
    ai.commandPool = q->pools[slot];
    ai.level = VK_COMMAND_BUFFER_LEVEL_PRIMARY;
    ai.commandBufferCount = 1;
    vr = vkAllocateCommandBuffers(ctx->device, &ai, &q->cmds[slot]);
    if (vr != VK_SUCCESS) {
        vkDestroyCommandPool(ctx->device, q->pools[slot], NULL);
        q->pools[slot] = VK_NULL_HANDLE;
        return SEDX__VK(vr, "vkAllocateCommandBuffers");
    }
    return SEDX_SUCCESS;
}

static void finish_queue(sedx_context *ctx, sedx__queue *q)
{
    if (ctx->device) {
        for (int i = 0; i < (int)SEDX__CMD_RING; ++i)
            if (q->pools[i]) vkDestroyCommandPool(ctx->device, q->pools[i], NULL);
        if (q->timeline) vkDestroySemaphore(ctx->device, q->timeline, NULL);
    }
    memset(q->pools, 0, sizeof q->pools);
    q->timeline = VK_NULL_HANDLE;
    pthread_mutex_destroy(&q->lock);
    pthread_mutex_destroy(&q->pool_lock);
}

static uint64_t refresh_completed(sedx_context *ctx, sedx__queue *q)
{
    if (!q->timeline) return atomic_load(&q->completed);
    uint64_t v = 0;
    if (vkGetSemaphoreCounterValue(ctx->device, q->timeline, &v) != VK_SUCCESS) return atomic_load(&q->completed);
    uint64_t old = atomic_load(&q->completed);
    while (v > old && !atomic_compare_exchange_weak(&q->completed, &old, v)) {
    }
    return v > old ? v : old;
}

static sedx_result wait_value(sedx_context *ctx, sedx__queue *q, uint64_t value, uint64_t timeout_ns)
{
    if (value == 0 || atomic_load(&q->completed) >= value) return SEDX_SUCCESS;
    if (!q->timeline) return SEDX_SUCCESS;
    VkSemaphoreWaitInfo wi = {VK_STRUCTURE_TYPE_SEMAPHORE_WAIT_INFO};
    wi.semaphoreCount = 1;
    wi.pSemaphores = &q->timeline;
    wi.pValues = &value;
    VkResult vr = vkWaitSemaphores(ctx->device, &wi, timeout_ns);
    if (vr == VK_TIMEOUT) return SEDX_TIMEOUT;
    if (vr != VK_SUCCESS) return SEDX__VK(vr, "vkWaitSemaphores");
    refresh_completed(ctx, q);
    return SEDX_SUCCESS;
}

sedx_result sedx_cmd_begin(sedx_context *ctx, sedx_queue kind, sedx_cmd *out)
{
    if (!ctx || !out || (unsigned)kind >= SEDX_QUEUE_COUNT)
        return SEDX__ERR(SEDX_ERROR_INVALID_ARGUMENT, TAG, "sedx_cmd_begin: NULL context/out or bad queue");
    sedx__queue *q = sedx__ctx_queue(ctx, kind);
    if (!q->can_submit)
        return SEDX__ERR(SEDX_ERROR_FEATURE_NOT_PRESENT, TAG,
                         "submissions need timeline semaphores (not enabled on the adopted device)");
    pthread_mutex_lock(&q->pool_lock);
    int slot = -1;
    for (int attempt = 0; slot < 0; ++attempt) {
        uint64_t done = refresh_completed(ctx, q);
        uint64_t oldest = UINT64_MAX;
        for (int i = 0; i < (int)SEDX__CMD_RING; ++i) {
            if (q->cmd_busy[i]) continue;
            if (q->cmd_value[i] <= done) {
                slot = i;
                break;
            }
            oldest = SEDX__MIN(oldest, q->cmd_value[i]);
        }
        if (slot >= 0) break;
        if (oldest == UINT64_MAX || attempt > 1000) {
            pthread_mutex_unlock(&q->pool_lock);
            return SEDX__ERR(SEDX_ERROR_BUSY, TAG, "all %u one-time command buffers are being recorded",
                             SEDX__CMD_RING);
        }
        /* every command buffer is in flight: wait for the oldest, without holding the lock */
        pthread_mutex_unlock(&q->pool_lock);
        sedx_result r = wait_value(ctx, q, oldest, UINT64_MAX);
        pthread_mutex_lock(&q->pool_lock);
        if (r != SEDX_SUCCESS) {
            pthread_mutex_unlock(&q->pool_lock);
            return r;
        }
    }
    sedx_result r = init_slot(ctx, q, slot);
    if (r == SEDX_SUCCESS) q->cmd_busy[slot] = true;
    pthread_mutex_unlock(&q->pool_lock);
    if (r != SEDX_SUCCESS) return r;

    /* the slot's pool is ours alone until submit/discard */
    VkResult vr = vkResetCommandPool(ctx->device, q->pools[slot], 0);
    VkCommandBufferBeginInfo bi = {VK_STRUCTURE_TYPE_COMMAND_BUFFER_BEGIN_INFO};
    bi.flags = VK_COMMAND_BUFFER_USAGE_ONE_TIME_SUBMIT_BIT;
    if (vr == VK_SUCCESS) vr = vkBeginCommandBuffer(q->cmds[slot], &bi);
    if (vr != VK_SUCCESS) {
        pthread_mutex_lock(&q->pool_lock);
        q->cmd_busy[slot] = false;
        pthread_mutex_unlock(&q->pool_lock);
        return SEDX__VK(vr, "vkBeginCommandBuffer");
    }
    out->cmd = q->cmds[slot];
    out->queue = (uint32_t)kind;
    out->slot = (uint32_t)slot;
    return SEDX_SUCCESS;
}

static void release_slot(sedx__queue *q, uint32_t slot, uint64_t value)
{
    pthread_mutex_lock(&q->pool_lock);
    q->cmd_value[slot] = value;
    q->cmd_busy[slot] = false;
    pthread_mutex_unlock(&q->pool_lock);
}

/* cmd's queue when cmd is a command buffer begun on ctx and not yet submitted, else NULL. */
static sedx__queue *begun_queue(sedx_context *ctx, const sedx_cmd *cmd)
{
    if (!ctx || !cmd || !cmd->cmd || cmd->queue >= SEDX_QUEUE_COUNT || cmd->slot >= SEDX__CMD_RING) return NULL;
    sedx__queue *q = sedx__ctx_queue(ctx, (sedx_queue)cmd->queue);
    pthread_mutex_lock(&q->pool_lock);
    bool ours = q->cmd_busy[cmd->slot] && q->cmds[cmd->slot] == cmd->cmd;
    pthread_mutex_unlock(&q->pool_lock);
    return ours ? q : NULL;
}

void sedx_cmd_discard(sedx_context *ctx, sedx_cmd *cmd)
{
    sedx__queue *q = begun_queue(ctx, cmd);
    if (!q) return;
    vkEndCommandBuffer(cmd->cmd);
    release_slot(q, cmd->slot, 0);
    cmd->cmd = VK_NULL_HANDLE;
}

/* The waits of a submission, checked before the command buffer is ended: a refusal leaves it
 * begun (the caller may correct info and submit again, or discard it). */
static sedx_result check_submit_info(const sedx_submit_info *info)
{
    if (!info || info->wait_count == 0) return SEDX_SUCCESS;
    if (info->wait_count > SEDX__MAX_SUBMIT_WAITS)
        return SEDX__ERR(SEDX_ERROR_INVALID_ARGUMENT, TAG,
                         "sedx_cmd_submit: %u wait_semaphores, at most %u (the command buffer stays begun)",
                         info->wait_count, SEDX__MAX_SUBMIT_WAITS);
    if (!info->wait_semaphores)
        return SEDX__ERR(SEDX_ERROR_INVALID_ARGUMENT, TAG,
                         "sedx_cmd_submit: wait_count %u but wait_semaphores is NULL (the command buffer stays begun)",
                         info->wait_count);
    for (uint32_t i = 0; i < info->wait_count; ++i)
        if (!info->wait_semaphores[i])
            return SEDX__ERR(SEDX_ERROR_INVALID_ARGUMENT, TAG,
                             "sedx_cmd_submit: wait_semaphores[%u] is VK_NULL_HANDLE (the command buffer stays begun)", i);
    return SEDX_SUCCESS;
}

/* vkQueueSubmit of cmd with info's waits, signalling the queue's next timeline value
 * (*out_value, 0 on failure). Takes the queue lock. */
static VkResult queue_submit(sedx__queue *q, VkCommandBuffer cmd, const sedx_submit_info *info, uint64_t *out_value)
{
    uint32_t n_wait = info ? info->wait_count : 0;
    uint64_t zero_values[SEDX__MAX_SUBMIT_WAITS] = {0};
    VkPipelineStageFlags all_stages[SEDX__MAX_SUBMIT_WAITS];
    for (uint32_t i = 0; i < SEDX__MAX_SUBMIT_WAITS; ++i) all_stages[i] = VK_PIPELINE_STAGE_ALL_COMMANDS_BIT;

    pthread_mutex_lock(&q->lock);
    uint64_t value = atomic_load(&q->submitted) + 1;
    VkTimelineSemaphoreSubmitInfo ts = {VK_STRUCTURE_TYPE_TIMELINE_SEMAPHORE_SUBMIT_INFO};
    ts.waitSemaphoreValueCount = n_wait;
    ts.pWaitSemaphoreValues = (info && info->wait_values) ? info->wait_values : zero_values;
    ts.signalSemaphoreValueCount = 1;
    ts.pSignalSemaphoreValues = &value;
    VkSubmitInfo si = {VK_STRUCTURE_TYPE_SUBMIT_INFO};
    si.pNext = &ts;
    si.waitSemaphoreCount = n_wait;
    si.pWaitSemaphores = n_wait ? info->wait_semaphores : NULL;
    si.pWaitDstStageMask = (info && info->wait_stages) ? info->wait_stages : all_stages;
    si.commandBufferCount = 1;
    si.pCommandBuffers = &cmd;
    si.signalSemaphoreCount = 1;
    si.pSignalSemaphores = &q->timeline;
    VkResult vr = vkQueueSubmit(q->queue, 1, &si, VK_NULL_HANDLE);
    if (vr == VK_SUCCESS) atomic_store(&q->submitted, value);
    pthread_mutex_unlock(&q->lock);
    *out_value = vr == VK_SUCCESS ? value : 0;
    return vr;
}

sedx_result sedx_cmd_submit(sedx_context *ctx, sedx_cmd *cmd, const sedx_submit_info *info, sedx_ticket *out_ticket)
{
    if (!ctx || !cmd || !cmd->cmd)
        return SEDX__ERR(SEDX_ERROR_INVALID_ARGUMENT, TAG, "sedx_cmd_submit: no begun command buffer");
    sedx__queue *q = begun_queue(ctx, cmd);
    if (!q)
        return SEDX__ERR(SEDX_ERROR_INVALID_ARGUMENT, TAG,
                         "sedx_cmd_submit: the command buffer was not begun on this context and queue");
    sedx_result r = check_submit_info(info);
    if (r != SEDX_SUCCESS) return r;
    /* from here on the command buffer is consumed, submitted or not */
    const char *call = "vkEndCommandBuffer";
    VkResult vr = vkEndCommandBuffer(cmd->cmd);
    uint64_t value = 0;
    if (vr == VK_SUCCESS) {
        call = "vkQueueSubmit";
        vr = queue_submit(q, cmd->cmd, info, &value);
    }
    release_slot(q, cmd->slot, value);
    cmd->cmd = VK_NULL_HANDLE;
    if (vr != VK_SUCCESS) return SEDX__VK(vr, call);
    if (out_ticket) {
        out_ticket->value = value;
        out_ticket->queue = (q == &ctx->queues[SEDX_QUEUE_TRANSFER]) ? SEDX_QUEUE_TRANSFER : SEDX_QUEUE_GRAPHICS;
        out_ticket->context_id = ctx->id;
    }
    sedx_context_collect_garbage(ctx);
    return SEDX_SUCCESS;
}

/* ------------------------------------------------------------------------------------------
 * Tickets and timelines
 * ---------------------------------------------------------------------------------------- */
static sedx_result check_ticket(sedx_context *ctx, sedx_ticket t, sedx__queue **out_q)
{
    if (!ctx) return SEDX__ERR(SEDX_ERROR_INVALID_ARGUMENT, TAG, "NULL context");
    if (t.value == 0) {
        *out_q = NULL;
        return SEDX_SUCCESS;
    }
    if (t.context_id != ctx->id)
        return SEDX__ERR(SEDX_ERROR_WRONG_CONTEXT, TAG, "ticket from context %u used with context %u",
                         t.context_id, ctx->id);
    if (t.queue >= SEDX_QUEUE_COUNT) return SEDX__ERR(SEDX_ERROR_INVALID_ARGUMENT, TAG, "ticket with bad queue");
    sedx__queue *q = sedx__ctx_queue(ctx, (sedx_queue)t.queue);
    if (t.value > atomic_load(&q->submitted))
        return SEDX__ERR(SEDX_ERROR_INVALID_ARGUMENT, TAG, "ticket value %llu was never submitted",
                         (unsigned long long)t.value);
    *out_q = q;
    return SEDX_SUCCESS;
}

sedx_result sedx_ticket_poll(sedx_context *ctx, sedx_ticket ticket)
{
    sedx__queue *q = NULL;
    sedx_result r = check_ticket(ctx, ticket, &q);
    if (r != SEDX_SUCCESS || !q) return r;
    return refresh_completed(ctx, q) >= ticket.value ? SEDX_SUCCESS : SEDX_NOT_READY;
}

sedx_result sedx_ticket_wait(sedx_context *ctx, sedx_ticket ticket, uint64_t timeout_ns)
{
    sedx__queue *q = NULL;
    sedx_result r = check_ticket(ctx, ticket, &q);
    if (r != SEDX_SUCCESS || !q) return r;
    return wait_value(ctx, q, ticket.value, timeout_ns);
}

VkSemaphore sedx_context_timeline(const sedx_context *ctx, sedx_queue kind)
{
    if (!ctx || (unsigned)kind >= SEDX_QUEUE_COUNT) return VK_NULL_HANDLE;
    return sedx__ctx_queue((sedx_context *)ctx, kind)->timeline;
}

uint64_t sedx_context_completed_value(sedx_context *ctx, sedx_queue kind)
{
    if (!ctx || (unsigned)kind >= SEDX_QUEUE_COUNT) return 0;
    return refresh_completed(ctx, sedx__ctx_queue(ctx, kind));
}

uint64_t sedx_context_submitted_value(const sedx_context *ctx, sedx_queue kind)
{
    if (!ctx || (unsigned)kind >= SEDX_QUEUE_COUNT) return 0;
    return atomic_load(&sedx__ctx_queue((sedx_context *)ctx, kind)->submitted);
}

/* ------------------------------------------------------------------------------------------
 * Deletion queue
 * ---------------------------------------------------------------------------------------- */
/* A value never submitted would hold the item until the context is destroyed. */
static sedx_result check_defer_values(const sedx_context *ctx, const uint64_t after[SEDX_QUEUE_COUNT])
{
    for (int i = 0; after && i < SEDX_QUEUE_COUNT; ++i) {
        uint64_t submitted = sedx_context_submitted_value(ctx, (sedx_queue)i);
        if (after[i] > submitted)
            return SEDX__ERR(SEDX_ERROR_INVALID_ARGUMENT, TAG,
                             "sedx_context_defer: after[%d] = %llu was never submitted (last submitted: %llu)", i,
                             (unsigned long long)after[i], (unsigned long long)submitted);
    }
    return SEDX_SUCCESS;
}

sedx_result sedx_context_defer(sedx_context *ctx, const uint64_t after[SEDX_QUEUE_COUNT], sedx_deferred_fn fn,
                               void *user)
{
    if (!ctx || !fn) return SEDX__ERR(SEDX_ERROR_INVALID_ARGUMENT, TAG, "sedx_context_defer: NULL context or fn");
    sedx_result r = check_defer_values(ctx, after);
    if (r != SEDX_SUCCESS) return r;
    pthread_mutex_lock(&ctx->deferred_lock);
    if (ctx->deferred_count == ctx->deferred_cap) {
        uint32_t cap = ctx->deferred_cap ? ctx->deferred_cap * 2 : 64;
        sedx__deferred *d = sedx__realloc(ctx->deferred, (size_t)cap * sizeof *d);
        if (!d) {
            pthread_mutex_unlock(&ctx->deferred_lock);
            return SEDX__ERR(SEDX_ERROR_OUT_OF_HOST_MEMORY, TAG, "out of host memory for the deletion queue");
        }
        ctx->deferred = d;
        ctx->deferred_cap = cap;
    }
    sedx__deferred *d = &ctx->deferred[ctx->deferred_count++];
    for (int i = 0; i < SEDX_QUEUE_COUNT; ++i) d->after[i] = after ? after[i] : 0;
    d->fn = fn;
    d->user = user;
    pthread_mutex_unlock(&ctx->deferred_lock);
    return SEDX_SUCCESS;
}

/* Runs every item whose values have passed (all: every item). One pass over the queue per
 * round, keeping the order of the rest; the callbacks run outside the lock (they may defer). */
static uint32_t run_deferred(sedx_context *ctx, bool all)
{
    uint64_t done[SEDX_QUEUE_COUNT];
    for (int i = 0; i < SEDX_QUEUE_COUNT; ++i)
        done[i] = all ? UINT64_MAX : refresh_completed(ctx, sedx__ctx_queue(ctx, (sedx_queue)i));
    uint32_t ran = 0;
    for (;;) {
        sedx__deferred ready[64];
        uint32_t n_ready = 0, kept = 0;
        pthread_mutex_lock(&ctx->deferred_lock);
        for (uint32_t i = 0; i < ctx->deferred_count; ++i) {
            sedx__deferred *d = &ctx->deferred[i];
            bool go = n_ready < SEDX__COUNTOF(ready);
            for (int k = 0; k < SEDX_QUEUE_COUNT && go; ++k) go = d->after[k] <= done[k];
            if (go) ready[n_ready++] = *d;
            else ctx->deferred[kept++] = *d;
        }
        ctx->deferred_count = kept;
        pthread_mutex_unlock(&ctx->deferred_lock);
        for (uint32_t i = 0; i < n_ready; ++i) ready[i].fn(ctx, ready[i].user);
        ran += n_ready;
        if (n_ready < SEDX__COUNTOF(ready)) break; /* a full batch: there may be more */
    }
    return ran;
}

uint32_t sedx_context_collect_garbage(sedx_context *ctx)
{
    if (!ctx) return 0;
    pthread_mutex_lock(&ctx->deferred_lock);
    uint32_t n = ctx->deferred_count;
    pthread_mutex_unlock(&ctx->deferred_lock);
    return n ? run_deferred(ctx, false) : 0;
}

uint32_t sedx_context_pending_deletions(sedx_context *ctx)
{
    if (!ctx) return 0;
    pthread_mutex_lock(&ctx->deferred_lock);
    uint32_t n = ctx->deferred_count;
    pthread_mutex_unlock(&ctx->deferred_lock);
    return n;
}

sedx_result sedx_context_wait_idle(sedx_context *ctx)
{
    if (!ctx) return SEDX__ERR(SEDX_ERROR_INVALID_ARGUMENT, TAG, "NULL context");
    sedx_result r = SEDX_SUCCESS;
    for (int i = 0; i < SEDX_QUEUE_COUNT; ++i) {
        sedx__queue *q = &ctx->queues[i];
        if (!q->present) continue;
        sedx_result w = wait_value(ctx, q, atomic_load(&q->submitted), UINT64_MAX);
        if (w != SEDX_SUCCESS) r = w;
    }
    if (r == SEDX_SUCCESS) {
        while (run_deferred(ctx, false)) {
        }
    }
    return r;
}

/* ------------------------------------------------------------------------------------------
 * Create / destroy
 * ---------------------------------------------------------------------------------------- */
static sedx_context *context_alloc(void)
{
    sedx_context *ctx = sedx__calloc(1, sizeof *ctx);
    if (!ctx) return NULL;
    ctx->id = atomic_fetch_add(&g_next_context_id, 1);
    pthread_mutex_init(&ctx->deferred_lock, NULL);
    return ctx;
}

static sedx_result finish_setup(sedx_context *ctx, const sedx_allocator_info *alloc_info)
{
    query_properties(ctx);
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
    for (int i = 0; i < SEDX_QUEUE_COUNT; ++i) {
        sedx_result r = init_queue(ctx, &ctx->queues[i]);
        if (r != SEDX_SUCCESS) return r;
    }
    if (!ctx->queues[SEDX_QUEUE_TRANSFER].present) {
        ctx->queues[SEDX_QUEUE_TRANSFER].family = ctx->queues[SEDX_QUEUE_GRAPHICS].family;
        ctx->queues[SEDX_QUEUE_TRANSFER].queue = ctx->queues[SEDX_QUEUE_GRAPHICS].queue;
    }
    if (sedx__allocator_create) {
        sedx_result r = sedx__allocator_create(ctx, alloc_info);
        if (r != SEDX_SUCCESS) return r;
    }
    SEDX_LOG_DEBUG_TAG(TAG, "context %u on '%s' (Vulkan %u.%u), transfer queue: %s", ctx->id,
                       ctx->props.deviceName, VK_API_VERSION_MAJOR(ctx->api_version),
                       VK_API_VERSION_MINOR(ctx->api_version),
                       ctx->queues[SEDX_QUEUE_TRANSFER].present ? "yes" : "no");
    return SEDX_SUCCESS;
}

static bool env_flag(const char *name)
{
    const char *e = getenv(name);
    return e && *e && strcmp(e, "0") != 0 && strcasecmp(e, "false") != 0 && strcasecmp(e, "off") != 0;
}

/* Options sedx does not know are refused before any Vulkan object is made. */
static sedx_result check_allocator_info(const sedx_allocator_info *allocator)
{
    return allocator && sedx__allocator_check_info ? sedx__allocator_check_info(allocator) : SEDX_SUCCESS;
}

static sedx_result check_context_info(const sedx_context_info *info)
{
    if (info->flags & ~SEDX_CONTEXT_FLAGS_ALL)
        return SEDX__ERR(SEDX_ERROR_INVALID_ARGUMENT, TAG,
                         "sedx_context_create: unknown flag bits 0x%x in sedx_context_info.flags (known: 0x%x)",
                         info->flags & ~SEDX_CONTEXT_FLAGS_ALL, SEDX_CONTEXT_FLAGS_ALL);
    return check_allocator_info(info->allocator);
}

sedx_result sedx_context_create(const sedx_context_info *info, sedx_context **out_ctx)
{
    if (!info || !out_ctx)
        return SEDX__ERR(SEDX_ERROR_INVALID_ARGUMENT, TAG, "sedx_context_create: %s is NULL",
                         !info ? "info" : "out_ctx");
    *out_ctx = NULL;
    sedx_result r = check_context_info(info);
    if (r != SEDX_SUCCESS) return r;
    SEDX_PROFILE_SCOPE("sedx_context_create");
    bool sync = (info->flags & SEDX_CONTEXT_SYNC_VALIDATION) != 0;
    bool validation = sync || (info->flags & SEDX_CONTEXT_VALIDATION) ||
                      (!(info->flags & SEDX_CONTEXT_NO_ENV_VALIDATION) && env_flag("SEDX_VALIDATION"));
    if (!(info->flags & SEDX_CONTEXT_NO_ENV_VALIDATION) && env_flag("SEDX_SYNC_VALIDATION")) sync = validation = true;
    sedx_context *ctx = context_alloc();
    if (!ctx) return SEDX__ERR(SEDX_ERROR_OUT_OF_HOST_MEMORY, TAG, "out of host memory");
    r = create_instance(ctx, info, validation, sync);
    const char *selector = info->device ? info->device : getenv("SEDX_DEVICE");
    if (r == SEDX_SUCCESS) r = pick_physical_device(ctx, selector);
    if (r == SEDX_SUCCESS) {
        query_properties(ctx);
        r = create_device(ctx, info);
    }
    if (r == SEDX_SUCCESS) r = finish_setup(ctx, info->allocator);
    if (r != SEDX_SUCCESS) {
        sedx_context_destroy(ctx);
        return r;
    }
    *out_ctx = ctx;
    return SEDX_SUCCESS;
}

/* Feature bits sedx knows, queue families the physical device has (both go into Vulkan calls). */
static sedx_result check_adopted_objects(const sedx_vulkan_objects *o)
{
    const char *fn = "sedx_context_create_from_vulkan";
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

sedx_result sedx_context_create_from_vulkan(const sedx_vulkan_objects *o, const sedx_allocator_info *allocator,
                                            sedx_context **out_ctx)
{
    if (!o || !out_ctx)
        return SEDX__ERR(SEDX_ERROR_INVALID_ARGUMENT, TAG, "sedx_context_create_from_vulkan: NULL argument");
    *out_ctx = NULL;
    if (!o->instance || !o->physical_device || !o->device || !o->graphics_queue)
        return SEDX__ERR(SEDX_ERROR_INVALID_ARGUMENT, TAG,
                         "sedx_context_create_from_vulkan: instance, physical device, device and a queue are required");
    if (VK_API_VERSION_MINOR(o->api_version) < 2 && VK_API_VERSION_MAJOR(o->api_version) == 1)
        return SEDX__ERR(SEDX_ERROR_UNSUPPORTED_VERSION, TAG, "adopted device uses Vulkan %u.%u; sedx needs 1.2",
                         VK_API_VERSION_MAJOR(o->api_version), VK_API_VERSION_MINOR(o->api_version));
    sedx_result r = check_adopted_objects(o);
    if (r == SEDX_SUCCESS) r = check_allocator_info(allocator);
    if (r != SEDX_SUCCESS) return r;
    sedx_context *ctx = context_alloc();
    if (!ctx) return SEDX__ERR(SEDX_ERROR_OUT_OF_HOST_MEMORY, TAG, "out of host memory");
    ctx->instance = o->instance;
    ctx->physical = o->physical_device;
    ctx->device = o->device;
    ctx->api_version = o->api_version;
    ctx->features = o->enabled_features;
    ctx->queues[SEDX_QUEUE_GRAPHICS].queue = o->graphics_queue;
    ctx->queues[SEDX_QUEUE_GRAPHICS].family = o->graphics_queue_family;
    ctx->queues[SEDX_QUEUE_GRAPHICS].present = true;
    if (o->transfer_queue) {
        ctx->queues[SEDX_QUEUE_TRANSFER].queue = o->transfer_queue;
        ctx->queues[SEDX_QUEUE_TRANSFER].family = o->transfer_queue_family;
        ctx->queues[SEDX_QUEUE_TRANSFER].present = true;
    }
    if (ctx->features & SEDX_FEATURE_DEBUG_UTILS) {
        /* only if the instance really has it */
        if (!vkGetInstanceProcAddr(ctx->instance, "vkSetDebugUtilsObjectNameEXT"))
            ctx->features &= ~(uint32_t)SEDX_FEATURE_DEBUG_UTILS;
    }
    r = finish_setup(ctx, allocator);
    if (r != SEDX_SUCCESS) {
        sedx_context_destroy(ctx);
        return r;
    }
    if (!(ctx->features & SEDX_FEATURE_TIMELINE_SEMAPHORE))
        SEDX_LOG_INFO_TAG(TAG, "adopted device without timeline semaphores: sedx will not submit work");
    *out_ctx = ctx;
    return SEDX_SUCCESS;
}

void sedx_context_destroy(sedx_context *ctx)
{
    if (!ctx) return;
    if (ctx->device) {
        for (int i = 0; i < SEDX_QUEUE_COUNT; ++i) {
            sedx__queue *q = &ctx->queues[i];
            if (q->present && q->timeline) wait_value(ctx, q, atomic_load(&q->submitted), UINT64_MAX);
        }
        run_deferred(ctx, true);
        if (ctx->bindless && sedx__bindless_destroy) sedx__bindless_destroy(ctx);
        if (ctx->transfer && sedx__transfer_destroy) sedx__transfer_destroy(ctx);
        if (ctx->buffers && sedx__buffers_destroy) sedx__buffers_destroy(ctx);
        run_deferred(ctx, true);
        if (ctx->allocator && sedx__allocator_destroy) sedx__allocator_destroy(ctx);
    }
    for (int i = 0; i < SEDX_QUEUE_COUNT; ++i) finish_queue(ctx, &ctx->queues[i]);
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
