/* VkResult -> sedx_result. */
#include "core/vk.h"

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
