/* Texel block sizes of the formats sedx can check copies for (buffer <-> image addressing as
 * in the Vulkan specification, "Copying Data Between Buffers and Images"). */
#include "core/core.h"
#include "core/format.h"

/* Formats of one size class: VkFormat values [first, last] share a block size. */
typedef struct format_range {
    VkFormat first, last;
    uint8_t bytes, width, height;
} format_range;

static const format_range k_ranges[] = {
    {VK_FORMAT_R4G4_UNORM_PACK8, VK_FORMAT_R4G4_UNORM_PACK8, 1, 1, 1},
    {VK_FORMAT_R4G4B4A4_UNORM_PACK16, VK_FORMAT_A1R5G5B5_UNORM_PACK16, 2, 1, 1},
    {VK_FORMAT_R8_UNORM, VK_FORMAT_R8_SRGB, 1, 1, 1},
    {VK_FORMAT_R8G8_UNORM, VK_FORMAT_R8G8_SRGB, 2, 1, 1},
    {VK_FORMAT_R8G8B8_UNORM, VK_FORMAT_B8G8R8_SRGB, 3, 1, 1},
    {VK_FORMAT_R8G8B8A8_UNORM, VK_FORMAT_A2B10G10R10_SINT_PACK32, 4, 1, 1},
    {VK_FORMAT_R16_UNORM, VK_FORMAT_R16_SFLOAT, 2, 1, 1},
    {VK_FORMAT_R16G16_UNORM, VK_FORMAT_R16G16_SFLOAT, 4, 1, 1},
    {VK_FORMAT_R16G16B16_UNORM, VK_FORMAT_R16G16B16_SFLOAT, 6, 1, 1},
    {VK_FORMAT_R16G16B16A16_UNORM, VK_FORMAT_R16G16B16A16_SFLOAT, 8, 1, 1},
    {VK_FORMAT_R32_UINT, VK_FORMAT_R32_SFLOAT, 4, 1, 1},
    {VK_FORMAT_R32G32_UINT, VK_FORMAT_R32G32_SFLOAT, 8, 1, 1},
    {VK_FORMAT_R32G32B32_UINT, VK_FORMAT_R32G32B32_SFLOAT, 12, 1, 1},
    {VK_FORMAT_R32G32B32A32_UINT, VK_FORMAT_R32G32B32A32_SFLOAT, 16, 1, 1},
    {VK_FORMAT_R64_UINT, VK_FORMAT_R64_SFLOAT, 8, 1, 1},
    {VK_FORMAT_R64G64_UINT, VK_FORMAT_R64G64_SFLOAT, 16, 1, 1},
    {VK_FORMAT_R64G64B64_UINT, VK_FORMAT_R64G64B64_SFLOAT, 24, 1, 1},
    {VK_FORMAT_R64G64B64A64_UINT, VK_FORMAT_R64G64B64A64_SFLOAT, 32, 1, 1},
    {VK_FORMAT_B10G11R11_UFLOAT_PACK32, VK_FORMAT_E5B9G9R9_UFLOAT_PACK32, 4, 1, 1},
    {VK_FORMAT_BC1_RGB_UNORM_BLOCK, VK_FORMAT_BC1_RGBA_SRGB_BLOCK, 8, 4, 4},
    {VK_FORMAT_BC2_UNORM_BLOCK, VK_FORMAT_BC3_SRGB_BLOCK, 16, 4, 4},
    {VK_FORMAT_BC4_UNORM_BLOCK, VK_FORMAT_BC4_SNORM_BLOCK, 8, 4, 4},
    {VK_FORMAT_BC5_UNORM_BLOCK, VK_FORMAT_BC7_SRGB_BLOCK, 16, 4, 4},
    {VK_FORMAT_ETC2_R8G8B8_UNORM_BLOCK, VK_FORMAT_ETC2_R8G8B8A1_SRGB_BLOCK, 8, 4, 4},
    {VK_FORMAT_ETC2_R8G8B8A8_UNORM_BLOCK, VK_FORMAT_ETC2_R8G8B8A8_SRGB_BLOCK, 16, 4, 4},
    {VK_FORMAT_EAC_R11_UNORM_BLOCK, VK_FORMAT_EAC_R11_SNORM_BLOCK, 8, 4, 4},
    {VK_FORMAT_EAC_R11G11_UNORM_BLOCK, VK_FORMAT_EAC_R11G11_SNORM_BLOCK, 16, 4, 4},
    {VK_FORMAT_ASTC_4x4_UNORM_BLOCK, VK_FORMAT_ASTC_4x4_SRGB_BLOCK, 16, 4, 4},
};

/* Depth/stencil: the bytes of one aspect in a buffer (the stencil aspect is always 1 byte;
 * depth of D24 formats is copied as 4 bytes). 0 = the format has no such aspect. */
static uint32_t depth_stencil_bytes(VkFormat f, VkImageAspectFlags aspect)
{
    bool stencil = aspect == VK_IMAGE_ASPECT_STENCIL_BIT, depth = aspect == VK_IMAGE_ASPECT_DEPTH_BIT;
    switch (f) {
    case VK_FORMAT_D16_UNORM: return depth ? 2 : 0;
    case VK_FORMAT_X8_D24_UNORM_PACK32:
    case VK_FORMAT_D32_SFLOAT: return depth ? 4 : 0;
    case VK_FORMAT_S8_UINT: return stencil ? 1 : 0;
    case VK_FORMAT_D16_UNORM_S8_UINT: return depth ? 2 : stencil ? 1 : 0;
    case VK_FORMAT_D24_UNORM_S8_UINT:
    case VK_FORMAT_D32_SFLOAT_S8_UINT: return depth ? 4 : stencil ? 1 : 0;
    default: return 0;
    }
}

static bool is_depth_stencil(VkFormat f) { return f >= VK_FORMAT_D16_UNORM && f <= VK_FORMAT_D32_SFLOAT_S8_UINT; }

bool sedx__format_block(VkFormat format, VkImageAspectFlags aspect, sedx__block *out)
{
    if (is_depth_stencil(format)) {
        uint32_t bytes = depth_stencil_bytes(format, aspect);
        *out = (sedx__block){bytes, 1, 1};
        return bytes != 0;
    }
    if (aspect != VK_IMAGE_ASPECT_COLOR_BIT) return false;
    for (size_t i = 0; i < SEDX__COUNTOF(k_ranges); ++i) {
        if (format < k_ranges[i].first || format > k_ranges[i].last) continue;
        *out = (sedx__block){k_ranges[i].bytes, k_ranges[i].width, k_ranges[i].height};
        return true;
    }
    return false;
}
