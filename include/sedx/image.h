/*
 * sedx images: 1D / 2D / 3D / cube images with mip chains and array layers, memory from sedx's
 * allocator, a default view, reference counting and destruction behind the GPU, as for buffers.
 *
 *   sedx_image_info ii = {0};
 *   ii.format = VK_FORMAT_R8G8B8A8_SRGB;
 *   ii.width = 1024; ii.height = 1024;
 *   ii.mip_levels = SEDX_MIP_LEVELS_FULL;      // 11 levels
 *   ii.name = "albedo";
 *   sedx_image tex;
 *   sedx_image_create(ctx, &ii, &tex);
 *   sedx_image_upload_region rg = {0};         // mip 0, layer 0, the whole level
 *   rg.data = pixels;
 *   sedx_upload_image(ctx, &tex, &rg, 1, NULL);  // <sedx/transfer.h>: staged, ends in SHADER_READ_ONLY
 *   sedx_image_generate_mips(ctx, &tex);       // blits level 0 down the chain
 *   ...
 *   sedx_image_release(&tex);
 *
 * A sedx_image is a small value naming one reference (like sedx_buffer): every call checks its
 * handle (slot + generation), so a released, stale or garbage image is SEDX_ERROR_INVALID_HANDLE.
 * The last release queues the VkImage, its view and its memory on the context's deletion queue
 * until the GPU is past the image's last recorded use (sedx's own uploads and readbacks, and
 * what the application reports with sedx_image_mark_used).
 *
 * Layout: sedx tracks the layout every subresource of the image is in after the work sedx has
 * recorded (all subresources share one layout between sedx calls). Images start UNDEFINED;
 * uploads leave them in their final layout (default SHADER_READ_ONLY_OPTIMAL). When the
 * application changes the layout in its own command buffers, it tells sedx with
 * sedx_image_set_layout before the next sedx call on the image.
 *
 * Thread safety: create, retain, release and the queries may be called from any thread.
 */
#ifndef SEDX_IMAGE_H
#define SEDX_IMAGE_H

#include <sedx/core.h>
#include <sedx/context.h>
#include <vulkan/vulkan.h>

#ifdef __cplusplus
extern "C" {
#endif

typedef enum sedx_image_type {
    SEDX_IMAGE_2D = 0, /* default */
    SEDX_IMAGE_1D = 1,
    SEDX_IMAGE_3D = 2,
    SEDX_IMAGE_CUBE = 3 /* 2D, square, array_layers a multiple of 6 (0 = 6); view CUBE or CUBE_ARRAY */
} sedx_image_type;

/* mip_levels = SEDX_MIP_LEVELS_FULL: the whole chain down to 1x1x1. */
#define SEDX_MIP_LEVELS_FULL 0xFFFFFFFFu

typedef enum sedx_image_flag_bits {
    /* VK_SHARING_MODE_EXCLUSIVE even where the device has a transfer-only queue family: sedx's
     * uploads and readbacks of this image then run on the main queue (docs/images.md). */
    SEDX_IMAGE_EXCLUSIVE = 0x1,
    SEDX_IMAGE_NO_VIEW = 0x2,   /* no default view */
    SEDX_IMAGE_DEDICATED = 0x4  /* a dedicated allocation (default: where the driver prefers one) */
} sedx_image_flag_bits;
typedef uint32_t sedx_image_flags;
#define SEDX_IMAGE_FLAGS_ALL 0x7u /* every bit above; others: SEDX_ERROR_INVALID_ARGUMENT */

/* Zero-initialised = defaults; format, width (and for 2D/3D/cube height) are required. */
typedef struct sedx_image_info {
    sedx_image_type type;
    VkFormat format;
    uint32_t width, height, depth; /* height 0 = 1 (1D only), depth 0 = 1 (3D only) */
    uint32_t mip_levels;           /* 0 = 1; SEDX_MIP_LEVELS_FULL = the whole chain */
    uint32_t array_layers;         /* 0 = 1 (cube: 6) */
    VkImageUsageFlags usage;       /* 0 = SAMPLED; TRANSFER_SRC | TRANSFER_DST are always added */
    VkSampleCountFlagBits samples; /* 0 = 1 */
    sedx_image_flags flags;
    const char *name;              /* copied; NULL = unnamed */
} sedx_image_info;

typedef struct sedx_image_resource sedx_image_resource; /* opaque, reference-counted */

/* One reference. Treat the fields as read-only; {0} is an empty image. */
typedef struct sedx_image {
    sedx_image_resource *resource;
    VkImage image;
    VkImageView view;        /* the default view (VK_NULL_HANDLE with SEDX_IMAGE_NO_VIEW) */
    VkFormat format;
    VkExtent3D extent;       /* of mip level 0 */
    uint32_t mip_levels, array_layers;
    VkImageUsageFlags usage; /* after the automatic additions */
    uint64_t handle;         /* generation-checked */
} sedx_image;

/* Creates the image, its memory (device-local; dedicated where the driver prefers or requires
 * it) and its default view. Refused before any Vulkan call (logged): NULL arguments, unknown
 * type or flag bits, a format that is not a VkFormat of core Vulkan 1.3, a zero
 * width/height/depth where the type needs one, a cube that is not square or whose layers are
 * not a multiple of 6, mip_levels above the chain's length (all SEDX_ERROR_INVALID_ARGUMENT,
 * sizes SEDX_ERROR_INVALID_SIZE); usage bits other than the core ones, or a transient
 * attachment with other than attachment usages: SEDX_ERROR_INVALID_USAGE; a
 * format/usage/type/samples combination the device does not support, or an extent, level or
 * layer count or size beyond its limits (vkGetPhysicalDeviceImageFormatProperties, its
 * maxResourceSize): SEDX_ERROR_FEATURE_NOT_PRESENT. */
SEDX_API sedx_result sedx_image_create(sedx_context *ctx, const sedx_image_info *info, sedx_image *out);
/* A new reference to the same image ({0} when img is not valid). */
SEDX_API sedx_image sedx_image_retain(const sedx_image *img);
/* Drops this reference and empties *img; NULL or {0} is a no-op; a stale copy is logged. */
SEDX_API void sedx_image_release(sedx_image *img);
SEDX_API bool sedx_image_is_valid(const sedx_image *img); /* silent */
SEDX_API uint32_t sedx_image_ref_count(const sedx_image *img); /* 0 when not valid */
SEDX_API const char *sedx_image_name(const sedx_image *img);   /* "" when unnamed or not valid */
/* The layout sedx's recorded work leaves the image in (VK_IMAGE_LAYOUT_UNDEFINED when not valid). */
SEDX_API VkImageLayout sedx_image_layout(const sedx_image *img);
/* The application moved the image to layout in its own work (after sedx's last use). A layout
 * the image's usage and aspects do not allow, PREINITIALIZED, the presentation layouts, the
 * separate depth/stencil ones or a value outside VkImageLayout: SEDX_ERROR_INVALID_ARGUMENT. */
SEDX_API sedx_result sedx_image_set_layout(const sedx_image *img, VkImageLayout layout);
/* The application's own submission with ticket uses the image: its destruction waits for it. */
SEDX_API sedx_result sedx_image_mark_used(const sedx_image *img, sedx_ticket ticket);
/* Extent of a mip level ({0} when img is not valid or level does not exist). */
SEDX_API VkExtent3D sedx_image_mip_extent(const sedx_image *img, uint32_t level);
/* Bytes the level's texels take tightly packed for one layer (0 when unknown to sedx). */
SEDX_API uint64_t sedx_image_mip_size(const sedx_image *img, uint32_t level);
/* Number of levels of the whole chain for an extent: floor(log2(max(w, h, d))) + 1. */
SEDX_API uint32_t sedx_mip_chain_length(uint32_t width, uint32_t height, uint32_t depth);
/* Live images of ctx (the leak report at context destruction lists the rest). */
SEDX_API uint32_t sedx_image_count(sedx_context *ctx);

#ifdef __cplusplus
}
#endif

#endif
