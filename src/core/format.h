/* Texel blocks of Vulkan formats, for the checks of buffer <-> image copies. */
#ifndef SEDX_CORE_FORMAT_H
#define SEDX_CORE_FORMAT_H

#include <stdbool.h>
#include <stdint.h>
#include <vulkan/vulkan.h>

typedef struct sedx__block {
    uint32_t bytes;         /* bytes of one block in a buffer */
    uint32_t width, height; /* texels of one block (4x4 for BC, ETC2, EAC, ASTC 4x4) */
} sedx__block;

/* The block of format's aspect (COLOR, or DEPTH / STENCIL of a depth-stencil format). false
 * for formats sedx has no table entry for (multi-planar, ASTC other than 4x4, PVRTC, ...) and
 * aspects the format lacks. */
bool sedx__format_block(VkFormat format, VkImageAspectFlags aspect, sedx__block *out);

#endif
