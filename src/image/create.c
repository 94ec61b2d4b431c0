/*
 * Creation: the info's defaults and checks, the device's support for what is asked, the
 * VkImage with its memory, the default view, the name.
 */
#include "image/image_private.h"
#include "core/vk.h"

uint32_t sedx_mip_chain_length(uint32_t width, uint32_t height, uint32_t depth)
{
    uint32_t m = SEDX__MAX(width, SEDX__MAX(height, depth)), n = 1;
    while (m > 1) {
        m >>= 1;
        n++;
    }
    return n;
}

VkExtent3D sedx__image_level_extent(const sedx_image_resource *res, uint32_t level)
{
    VkExtent3D e = res->extent;
    return (VkExtent3D){SEDX__MAX(e.width >> level, 1u), SEDX__MAX(e.height >> level, 1u),
                        SEDX__MAX(e.depth >> level, 1u)};
}

static VkImageAspectFlags format_aspects(VkFormat f)
{
    switch (f) {
    case VK_FORMAT_D16_UNORM:
    case VK_FORMAT_X8_D24_UNORM_PACK32:
    case VK_FORMAT_D32_SFLOAT: return VK_IMAGE_ASPECT_DEPTH_BIT;
    case VK_FORMAT_S8_UINT: return VK_IMAGE_ASPECT_STENCIL_BIT;
    case VK_FORMAT_D16_UNORM_S8_UINT:
    case VK_FORMAT_D24_UNORM_S8_UINT:
    case VK_FORMAT_D32_SFLOAT_S8_UINT: return VK_IMAGE_ASPECT_DEPTH_BIT | VK_IMAGE_ASPECT_STENCIL_BIT;
    default: return VK_IMAGE_ASPECT_COLOR_BIT;
    }
}

/* A VkFormat of core Vulkan 1.3, the version sedx asks for: anything else (a value outside the
 * enum, or an extension's format such as PVRTC) would reach the driver unchecked. */
static bool known_format(VkFormat f)
{
    uint32_t v = (uint32_t)f;
    return (v >= 1 && v <= 184) ||                    /* 1.0: R4G4 .. ASTC_12x12_SRGB */
           (v >= 1000156000u && v <= 1000156033u) || /* 1.1: YCbCr (multi-planar) formats */
           (v >= 1000330000u && v <= 1000330003u) || /* 1.3: 4:4:4 two-plane formats */
           (v >= 1000340000u && v <= 1000340001u) || /* 1.3: A4R4G4B4, A4B4G4R4 */
           (v >= 1000066000u && v <= 1000066013u);   /* 1.3: ASTC HDR (SFLOAT) */
}

/* Formats whose image views need a sampler Y'CbCr conversion (4:2:2, 4:2:0, multi-planar),
 * which sedx does not create: the default view of such an image would be invalid. */
static bool needs_ycbcr(VkFormat f)
{
    uint32_t v = (uint32_t)f;
    if (v >= 1000330000u && v <= 1000330003u) return true;
    if (v < 1000156000u || v > 1000156033u) return false;
    uint32_t k = v - 1000156000u; /* the R10X6 / R12X4 single-component and packed formats need none */
    return !(k >= 7 && k <= 9) && !(k >= 17 && k <= 19);
}

#define CORE_USAGE                                                                                                 \
    (VK_IMAGE_USAGE_TRANSFER_SRC_BIT | VK_IMAGE_USAGE_TRANSFER_DST_BIT | VK_IMAGE_USAGE_SAMPLED_BIT |                \
     VK_IMAGE_USAGE_STORAGE_BIT | VK_IMAGE_USAGE_COLOR_ATTACHMENT_BIT | VK_IMAGE_USAGE_DEPTH_STENCIL_ATTACHMENT_BIT | \
     VK_IMAGE_USAGE_TRANSIENT_ATTACHMENT_BIT | VK_IMAGE_USAGE_INPUT_ATTACHMENT_BIT)
#define ATTACHMENT_USAGE                                                                                           \
    (VK_IMAGE_USAGE_COLOR_ATTACHMENT_BIT | VK_IMAGE_USAGE_DEPTH_STENCIL_ATTACHMENT_BIT | VK_IMAGE_USAGE_INPUT_ATTACHMENT_BIT)

/* The info with its defaults applied (into *n), checked before any Vulkan call. */
static sedx_result normalise(const sedx_image_info *in, sedx_image_info *n)
{
    const char *nm = sedx__image_safe_name(in->name);
    *n = *in;
    if ((uint32_t)in->type > SEDX_IMAGE_CUBE)
        return SEDX__ERR(SEDX_ERROR_INVALID_ARGUMENT, TAG, "sedx_image_create: image '%s': unknown type %d", nm,
                         (int)in->type);
    if (in->flags & ~SEDX_IMAGE_FLAGS_ALL)
        return SEDX__ERR(SEDX_ERROR_INVALID_ARGUMENT, TAG, "sedx_image_create: image '%s': unknown flag bits 0x%x", nm,
                         in->flags & ~SEDX_IMAGE_FLAGS_ALL);
    if (in->format == VK_FORMAT_UNDEFINED)
        return SEDX__ERR(SEDX_ERROR_INVALID_ARGUMENT, TAG, "sedx_image_create: image '%s': format is UNDEFINED", nm);
    if (!known_format(in->format))
        return SEDX__ERR(SEDX_ERROR_INVALID_ARGUMENT, TAG, "sedx_image_create: image '%s': format %d is not a VkFormat "
                         "of core Vulkan 1.3 (sedx enables no format extension)", nm, (int)in->format);
    if (needs_ycbcr(in->format) && !(in->flags & SEDX_IMAGE_NO_VIEW))
        return SEDX__ERR(SEDX_ERROR_FEATURE_NOT_PRESENT, TAG, "sedx_image_create: image '%s': format %d needs a sampler "
                         "Y'CbCr conversion for its view, which sedx does not create: ask for SEDX_IMAGE_NO_VIEW and "
                         "make the view yourself", nm, (int)in->format);
    if (in->usage & ~(VkImageUsageFlags)CORE_USAGE)
        return SEDX__ERR(SEDX_ERROR_INVALID_USAGE, TAG, "sedx_image_create: image '%s': unknown usage bits 0x%x (sedx "
                         "enables no extension that adds image usages)", nm, in->usage & ~(VkImageUsageFlags)CORE_USAGE);
    if ((in->usage & VK_IMAGE_USAGE_TRANSIENT_ATTACHMENT_BIT) &&
        ((in->usage & ~(VkImageUsageFlags)(ATTACHMENT_USAGE | VK_IMAGE_USAGE_TRANSIENT_ATTACHMENT_BIT)) ||
         !(in->usage & ATTACHMENT_USAGE)))
        return SEDX__ERR(SEDX_ERROR_INVALID_USAGE, TAG, "sedx_image_create: image '%s': usage 0x%x: a transient "
                         "attachment has attachment usages only, and at least one", nm, in->usage);
    bool is3d = in->type == SEDX_IMAGE_3D, is1d = in->type == SEDX_IMAGE_1D, cube = in->type == SEDX_IMAGE_CUBE;
    if (is1d && !n->height) n->height = 1;
    if (!is3d && !n->depth) n->depth = 1;
    if (is3d && !n->depth) n->depth = 0; /* required */
    if (!n->width || !n->height || !n->depth)
        return SEDX__ERR(SEDX_ERROR_INVALID_SIZE, TAG, "sedx_image_create: image '%s': extent %ux%ux%u has a zero",
                         nm, in->width, in->height, in->depth);
    if ((is1d && n->height != 1) || (!is3d && n->depth != 1))
        return SEDX__ERR(SEDX_ERROR_INVALID_ARGUMENT, TAG, "sedx_image_create: image '%s': extent %ux%ux%u does not "
                         "fit a %s image", nm, n->width, n->height, n->depth, is1d ? "1D" : "2D or cube");
    if (!n->array_layers) n->array_layers = cube ? 6 : 1;
    if (is3d && n->array_layers != 1)
        return SEDX__ERR(SEDX_ERROR_INVALID_ARGUMENT, TAG, "sedx_image_create: image '%s': a 3D image has one layer, "
                         "not %u", nm, n->array_layers);
    if (cube && (n->width != n->height || n->array_layers % 6))
        return SEDX__ERR(SEDX_ERROR_INVALID_ARGUMENT, TAG, "sedx_image_create: image '%s': a cube needs square faces "
                         "(%ux%u) and layers in sixes (%u)", nm, n->width, n->height, n->array_layers);
    uint32_t chain = sedx_mip_chain_length(n->width, n->height, n->depth);
    if (!n->mip_levels) n->mip_levels = 1;
    if (n->mip_levels == SEDX_MIP_LEVELS_FULL) n->mip_levels = chain;
    if (n->mip_levels > chain)
        return SEDX__ERR(SEDX_ERROR_INVALID_ARGUMENT, TAG, "sedx_image_create: image '%s': %u mip levels, but the "
                         "chain of %ux%ux%u has %u", nm, n->mip_levels, n->width, n->height, n->depth, chain);
    if (!n->samples) n->samples = VK_SAMPLE_COUNT_1_BIT;
    if ((n->samples & (n->samples - 1)) || n->samples > VK_SAMPLE_COUNT_64_BIT)
        return SEDX__ERR(SEDX_ERROR_INVALID_ARGUMENT, TAG, "sedx_image_create: image '%s': %u samples", nm,
                         (unsigned)n->samples);
    if (n->samples != VK_SAMPLE_COUNT_1_BIT && (n->type != SEDX_IMAGE_2D || n->mip_levels != 1))
        return SEDX__ERR(SEDX_ERROR_INVALID_ARGUMENT, TAG, "sedx_image_create: image '%s': multisampled images are "
                         "2D with one mip level", nm);
    if (!n->usage) n->usage = VK_IMAGE_USAGE_SAMPLED_BIT;
    /* every image can be uploaded to and read back, as every buffer can (not transient ones:
     * their memory may never exist) */
    if (!(n->usage & VK_IMAGE_USAGE_TRANSIENT_ATTACHMENT_BIT))
        n->usage |= VK_IMAGE_USAGE_TRANSFER_SRC_BIT | VK_IMAGE_USAGE_TRANSFER_DST_BIT;
    return SEDX_SUCCESS;
}

static VkImageType vk_type(sedx_image_type t)
{
    return t == SEDX_IMAGE_1D ? VK_IMAGE_TYPE_1D : t == SEDX_IMAGE_3D ? VK_IMAGE_TYPE_3D : VK_IMAGE_TYPE_2D;
}

/* What the device supports for this format, type, usage and size. */
static sedx_result check_support(sedx_context *ctx, const sedx_image_info *n, const VkImageCreateInfo *ici)
{
    const char *nm = sedx__image_safe_name(n->name);
    VkImageFormatProperties fp;
    VkResult vr = vkGetPhysicalDeviceImageFormatProperties(ctx->physical, ici->format, ici->imageType, ici->tiling,
                                                           ici->usage, ici->flags, &fp);
    if (vr == VK_ERROR_FORMAT_NOT_SUPPORTED)
        return SEDX__ERR(SEDX_ERROR_FEATURE_NOT_PRESENT, TAG, "sedx_image_create: image '%s': format %d with usage "
                         "0x%x is not supported by the device for this image type", nm, (int)ici->format, ici->usage);
    if (vr != VK_SUCCESS) return SEDX__VK(vr, "vkGetPhysicalDeviceImageFormatProperties");
    if (n->width > fp.maxExtent.width || n->height > fp.maxExtent.height || n->depth > fp.maxExtent.depth ||
        n->mip_levels > fp.maxMipLevels || n->array_layers > fp.maxArrayLayers || !(fp.sampleCounts & n->samples))
        return SEDX__ERR(SEDX_ERROR_FEATURE_NOT_PRESENT, TAG, "sedx_image_create: image '%s': %ux%ux%u, %u levels, %u "
                         "layers, %u samples exceeds the device's %ux%ux%u, %u, %u, samples 0x%x", nm, n->width,
                         n->height, n->depth, n->mip_levels, n->array_layers, (unsigned)n->samples,
                         fp.maxExtent.width, fp.maxExtent.height, fp.maxExtent.depth, fp.maxMipLevels,
                         fp.maxArrayLayers, fp.sampleCounts);
    /* the texel bytes of every level, layer and sample, as the specification bounds them */
    sedx__block bl;
    VkImageAspectFlags a = format_aspects(n->format);
    if (sedx__format_block(n->format, (a & VK_IMAGE_ASPECT_DEPTH_BIT) ? VK_IMAGE_ASPECT_DEPTH_BIT : a, &bl) && bl.bytes) {
        long double bytes = 0;
        for (uint32_t m = 0; m < n->mip_levels; ++m) {
            uint64_t w = SEDX__MAX(n->width >> m, 1u), h = SEDX__MAX(n->height >> m, 1u), d = SEDX__MAX(n->depth >> m, 1u);
            bytes += (long double)((w + bl.width - 1) / bl.width) * ((h + bl.height - 1) / bl.height) * d * bl.bytes;
        }
        bytes *= (long double)n->array_layers * (uint32_t)n->samples;
        if (bytes > (long double)fp.maxResourceSize)
            return SEDX__ERR(SEDX_ERROR_FEATURE_NOT_PRESENT, TAG, "sedx_image_create: image '%s': %.0Lf bytes of "
                             "texels exceed the device's maxResourceSize (%llu) for this format", nm, bytes,
                             (unsigned long long)fp.maxResourceSize);
    }
    return SEDX_SUCCESS;
}

static bool viewable(VkImageUsageFlags u)
{
    return (u & (VK_IMAGE_USAGE_SAMPLED_BIT | VK_IMAGE_USAGE_STORAGE_BIT | VK_IMAGE_USAGE_COLOR_ATTACHMENT_BIT |
                 VK_IMAGE_USAGE_DEPTH_STENCIL_ATTACHMENT_BIT | VK_IMAGE_USAGE_INPUT_ATTACHMENT_BIT)) != 0;
}

/* The default view: every level and layer; the depth aspect of depth-stencil formats. Cube
 * arrays get a 2D_ARRAY view (CUBE_ARRAY needs a feature sedx does not enable). */
static sedx_result create_view(sedx_context *ctx, sedx_image_resource *res)
{
    VkImageViewCreateInfo vi = {VK_STRUCTURE_TYPE_IMAGE_VIEW_CREATE_INFO};
    vi.image = res->image;
    vi.format = res->format;
    bool array = res->array_layers > 1;
    switch (res->type) {
    case SEDX_IMAGE_1D: vi.viewType = array ? VK_IMAGE_VIEW_TYPE_1D_ARRAY : VK_IMAGE_VIEW_TYPE_1D; break;
    case SEDX_IMAGE_3D: vi.viewType = VK_IMAGE_VIEW_TYPE_3D; break;
    case SEDX_IMAGE_CUBE:
        vi.viewType = res->array_layers == 6 ? VK_IMAGE_VIEW_TYPE_CUBE : VK_IMAGE_VIEW_TYPE_2D_ARRAY;
        break;
    default: vi.viewType = array ? VK_IMAGE_VIEW_TYPE_2D_ARRAY : VK_IMAGE_VIEW_TYPE_2D; break;
    }
    VkImageAspectFlags a = res->aspects;
    vi.subresourceRange = (VkImageSubresourceRange){(a & VK_IMAGE_ASPECT_DEPTH_BIT) ? VK_IMAGE_ASPECT_DEPTH_BIT : a, 0,
                                                    res->mip_levels, 0, res->array_layers};
    VkResult vr = vkCreateImageView(ctx->device, &vi, NULL, &res->view);
    return vr == VK_SUCCESS ? SEDX_SUCCESS : SEDX__VK(vr, "vkCreateImageView");
}

static sedx_result create_vk_image(sedx_context *ctx, sedx_image_resource *res, const sedx_image_info *n)
{
    VkImageCreateInfo ici = {VK_STRUCTURE_TYPE_IMAGE_CREATE_INFO};
    ici.flags = n->type == SEDX_IMAGE_CUBE ? VK_IMAGE_CREATE_CUBE_COMPATIBLE_BIT : 0;
    ici.imageType = res->vk_type;
    ici.format = n->format;
    ici.extent = res->extent;
    ici.mipLevels = n->mip_levels;
    ici.arrayLayers = n->array_layers;
    ici.samples = n->samples;
    ici.tiling = VK_IMAGE_TILING_OPTIMAL;
    ici.usage = n->usage;
    ici.initialLayout = VK_IMAGE_LAYOUT_UNDEFINED;
    uint32_t families[2] = {ctx->queues[SEDX_QUEUE_GRAPHICS].family, ctx->queues[SEDX_QUEUE_TRANSFER].family};
    if (res->concurrent) {
        ici.sharingMode = VK_SHARING_MODE_CONCURRENT;
        ici.queueFamilyIndexCount = 2;
        ici.pQueueFamilyIndices = families;
    }
    sedx_result r = check_support(ctx, n, &ici);
    if (r != SEDX_SUCCESS) return r;
    sedx_allocation_info ai = {0};
    ai.usage = SEDX_MEMORY_USAGE_GPU_ONLY;
    ai.flags = (n->flags & SEDX_IMAGE_DEDICATED) ? SEDX_ALLOCATION_DEDICATED : 0;
    ai.name = res->name;
    return sedx_memory_create_image(ctx, &ici, &ai, &res->image, &res->allocation);
}

static sedx_image_resource *new_resource(sedx_context *ctx, const sedx_image_info *n)
{
    sedx_image_resource *res = sedx__calloc(1, sizeof *res);
    if (!res) return NULL;
    res->name = sedx__strdup(n->name ? n->name : "");
    if (!res->name) {
        sedx__free(res);
        return NULL;
    }
    atomic_init(&res->refs, 1);
    atomic_init(&res->layout, VK_IMAGE_LAYOUT_UNDEFINED);
    res->ctx = ctx;
    res->type = n->type;
    res->vk_type = vk_type(n->type);
    res->format = n->format;
    res->extent = (VkExtent3D){n->width, n->height, n->depth};
    res->mip_levels = n->mip_levels;
    res->array_layers = n->array_layers;
    res->usage = n->usage;
    res->samples = n->samples;
    res->aspects = format_aspects(n->format);
    VkImageAspectFlags first = res->aspects & VK_IMAGE_ASPECT_DEPTH_BIT ? VK_IMAGE_ASPECT_DEPTH_BIT : res->aspects;
    if (!sedx__format_block(n->format, first, &res->block)) res->block = (sedx__block){0, 1, 1};
    res->concurrent = ctx->queues[SEDX_QUEUE_TRANSFER].present && !(n->flags & SEDX_IMAGE_EXCLUSIVE);
    return res;
}

sedx_result sedx_image_create(sedx_context *ctx, const sedx_image_info *info, sedx_image *out)
{
    if (!ctx || !info || !out)
        return SEDX__ERR(SEDX_ERROR_INVALID_ARGUMENT, TAG, "sedx_image_create: %s is NULL",
                         !ctx ? "ctx" : !info ? "info" : "out");
    sedx_image_info n;
    sedx_result r = normalise(info, &n);
    if (r != SEDX_SUCCESS) return r;
    if (!sedx__image_handles()) return SEDX__ERR(SEDX_ERROR_OUT_OF_HOST_MEMORY, TAG, "image handle pool unavailable");
    SEDX_PROFILE_SCOPE("sedx_image_create");
    sedx_image_resource *res = new_resource(ctx, &n);
    if (!res)
        return SEDX__ERR(SEDX_ERROR_OUT_OF_HOST_MEMORY, TAG, "image '%s': out of host memory",
                         sedx__image_safe_name(n.name));
    r = create_vk_image(ctx, res, &n);
    if (r == SEDX_SUCCESS && viewable(n.usage) && !(n.flags & SEDX_IMAGE_NO_VIEW)) r = create_view(ctx, res);
    if (r == SEDX_SUCCESS) r = sedx__handle_alloc(sedx__image_handles(), res, &res->handle);
    if (r == SEDX_SUCCESS) {
        r = sedx__image_register(res);
        if (r != SEDX_SUCCESS) sedx__handle_free(sedx__image_handles(), res->handle);
    }
    if (r != SEDX_SUCCESS) {
        sedx__image_free(ctx, res);
        return r;
    }
    if (*res->name) {
        sedx_context_set_object_name(ctx, VK_OBJECT_TYPE_IMAGE, (uint64_t)res->image, res->name);
        if (res->view) sedx_context_set_object_name(ctx, VK_OBJECT_TYPE_IMAGE_VIEW, (uint64_t)res->view, res->name);
    }
    SEDX_LOG_DEBUG_TAG(TAG, "created '%s': %ux%ux%u, %u levels, %u layers, format %d%s", res->name, n.width, n.height,
                       n.depth, n.mip_levels, n.array_layers, (int)n.format, res->concurrent ? ", concurrent" : "");
    *out = (sedx_image){res, res->image, res->view, res->format, res->extent, res->mip_levels, res->array_layers,
                        res->usage, res->handle};
    return SEDX_SUCCESS;
}
