/* The VkResult -> sedx_result mapping (logged with the failing call's name). */
#ifndef SEDX_CORE_VK_H
#define SEDX_CORE_VK_H

#include <sedx/core.h>
#include <vulkan/vulkan.h>

sedx_result sedx__vk_error(VkResult vr, const char *what, const char *file, int line);
#define SEDX__VK(vr, what) sedx__vk_error((vr), (what), __FILE__, __LINE__)

#endif
