/*
 * The Vulkan instance and the validation messenger.
 */
#include "device/device_private.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

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
bool sedx__has_extension(const VkExtensionProperties *exts, uint32_t n, const char *name)
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


/* ------------------------------------------------------------------------------------------
 * Instance
 * ---------------------------------------------------------------------------------------- */
/* The API version to ask for: info's, or the highest the loader offers (1.3 at most). */
static sedx_result choose_api_version(const sedx_context_info *info, uint32_t *out)
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
    *out = VK_API_VERSION_MINOR(want) > 3 ? VK_API_VERSION_1_3 : want; /* headers know up to 1.3 */
    return SEDX_SUCCESS;
}

static const char *const k_layer = "VK_LAYER_KHRONOS_validation";

/* The instance extensions sedx enables: debug utils wherever available, validation features
 * for synchronization validation. */
typedef struct instance_plan {
    const char *extensions[4];
    uint32_t count;
    bool debug_utils, validation_features;
} instance_plan;

static sedx_result plan_instance(bool validation, bool sync_validation, instance_plan *plan)
{
    *plan = (instance_plan){{0}, 0, false, false};
    if (validation) {
        bool found;
        sedx_result lr = has_layer(k_layer, &found);
        if (lr != SEDX_SUCCESS) return lr;
        if (!found)
            return SEDX__ERR(SEDX_ERROR_LAYER_NOT_PRESENT, TAG,
                             "validation requested but %s is not installed (Debian: vulkan-validationlayers)", k_layer);
    }
    uint32_t n_ext = 0, n_layer_ext = 0;
    VkExtensionProperties *exts = instance_extensions(NULL, &n_ext);
    VkExtensionProperties *layer_exts = validation ? instance_extensions(k_layer, &n_layer_ext) : NULL;
    plan->debug_utils = sedx__has_extension(exts, n_ext, VK_EXT_DEBUG_UTILS_EXTENSION_NAME) ||
                        sedx__has_extension(layer_exts, n_layer_ext, VK_EXT_DEBUG_UTILS_EXTENSION_NAME);
    plan->validation_features =
        sync_validation && sedx__has_extension(layer_exts, n_layer_ext, VK_EXT_VALIDATION_FEATURES_EXTENSION_NAME);
    if (plan->debug_utils) plan->extensions[plan->count++] = VK_EXT_DEBUG_UTILS_EXTENSION_NAME;
    if (plan->validation_features) plan->extensions[plan->count++] = VK_EXT_VALIDATION_FEATURES_EXTENSION_NAME;
    sedx__free(exts);
    sedx__free(layer_exts);
    return SEDX_SUCCESS;
}

static VkDebugUtilsMessengerCreateInfoEXT messenger_info(sedx_context *ctx)
{
    VkDebugUtilsMessengerCreateInfoEXT dbg = {VK_STRUCTURE_TYPE_DEBUG_UTILS_MESSENGER_CREATE_INFO_EXT};
    dbg.messageSeverity = VK_DEBUG_UTILS_MESSAGE_SEVERITY_WARNING_BIT_EXT | VK_DEBUG_UTILS_MESSAGE_SEVERITY_ERROR_BIT_EXT;
    dbg.messageType = VK_DEBUG_UTILS_MESSAGE_TYPE_GENERAL_BIT_EXT | VK_DEBUG_UTILS_MESSAGE_TYPE_VALIDATION_BIT_EXT |
                      VK_DEBUG_UTILS_MESSAGE_TYPE_PERFORMANCE_BIT_EXT;
    dbg.pfnUserCallback = debug_callback;
    dbg.pUserData = ctx;
    return dbg;
}

/* Debug-utils entry points, and the messenger that routes validation messages to the log. */
static sedx_result start_messenger(sedx_context *ctx, bool validation)
{
    ctx->features |= SEDX_FEATURE_DEBUG_UTILS;
    ctx->create_messenger =
        (PFN_vkCreateDebugUtilsMessengerEXT)vkGetInstanceProcAddr(ctx->instance, "vkCreateDebugUtilsMessengerEXT");
    ctx->destroy_messenger =
        (PFN_vkDestroyDebugUtilsMessengerEXT)vkGetInstanceProcAddr(ctx->instance, "vkDestroyDebugUtilsMessengerEXT");
    if (!validation || !ctx->create_messenger) return SEDX_SUCCESS;
    VkDebugUtilsMessengerCreateInfoEXT dbg = messenger_info(ctx);
    VkResult vr = ctx->create_messenger(ctx->instance, &dbg, NULL, &ctx->messenger);
    return vr == VK_SUCCESS ? SEDX_SUCCESS : SEDX__VK(vr, "vkCreateDebugUtilsMessengerEXT");
}

sedx_result sedx__create_instance(sedx_context *ctx, const sedx_context_info *info, bool validation,
                                  bool sync_validation)
{
    uint32_t want;
    instance_plan plan;
    sedx_result r = choose_api_version(info, &want);
    if (r == SEDX_SUCCESS) r = plan_instance(validation, sync_validation, &plan);
    if (r != SEDX_SUCCESS) return r;
    ctx->api_version = want;
    VkApplicationInfo app = {VK_STRUCTURE_TYPE_APPLICATION_INFO};
    app.pApplicationName = info->app_name ? info->app_name : "sedx";
    app.pEngineName = "sedx";
    app.engineVersion = VK_MAKE_API_VERSION(0, SEDX_VERSION_MAJOR, SEDX_VERSION_MINOR, SEDX_VERSION_PATCH);
    app.apiVersion = want;
    VkDebugUtilsMessengerCreateInfoEXT dbg = messenger_info(ctx);
    VkValidationFeatureEnableEXT vf_enable[] = {VK_VALIDATION_FEATURE_ENABLE_SYNCHRONIZATION_VALIDATION_EXT};
    VkValidationFeaturesEXT vf = {VK_STRUCTURE_TYPE_VALIDATION_FEATURES_EXT};
    vf.enabledValidationFeatureCount = 1;
    vf.pEnabledValidationFeatures = vf_enable;
    VkInstanceCreateInfo ci = {VK_STRUCTURE_TYPE_INSTANCE_CREATE_INFO};
    ci.pApplicationInfo = &app;
    ci.enabledExtensionCount = plan.count;
    ci.ppEnabledExtensionNames = plan.extensions;
    if (validation) {
        ci.enabledLayerCount = 1;
        ci.ppEnabledLayerNames = (const char *const *)&k_layer;
        /* the messenger in the chain also catches messages from vkCreate/DestroyInstance */
        void **tail = (void **)&ci.pNext;
        if (plan.debug_utils) {
            *tail = &dbg;
            tail = (void **)&dbg.pNext;
        }
        if (plan.validation_features) *tail = &vf;
    }
    VkResult vr = vkCreateInstance(&ci, NULL, &ctx->instance);
    if (vr == VK_ERROR_INCOMPATIBLE_DRIVER)
        return SEDX__ERR(SEDX_ERROR_NO_VULKAN, TAG,
                         "no Vulkan driver (ICD) found: install a driver (Debian: mesa-vulkan-drivers for lavapipe)");
    if (vr != VK_SUCCESS) return SEDX__VK(vr, "vkCreateInstance");
    ctx->owns_instance = true;
    ctx->validation = validation;
    if (plan.debug_utils && (r = start_messenger(ctx, validation)) != SEDX_SUCCESS) return r;
    if (validation)
        SEDX_LOG_DEBUG_TAG(TAG, "validation on%s", sync_validation ? " (with synchronization validation)" : "");
    return SEDX_SUCCESS;
}
