/* Image internals shared with the transfer layer (uploads, readback, mip generation). */
#ifndef SEDX_IMAGE_IMAGE_H
#define SEDX_IMAGE_IMAGE_H

#include <sedx/image.h>
#include <sedx/memory.h>
#include "core/format.h"
#include "device/device.h"

struct sedx_image_resource {
    _Atomic uint32_t refs;
    sedx_context *ctx;
    uint64_t handle;              /* the first reference's handle (each reference has its own) */
    VkImage image;
    VkImageView view;
    sedx_allocation allocation;
    sedx_image_type type;
    VkImageType vk_type;
    VkFormat format;
    VkExtent3D extent;            /* level 0 */
    uint32_t mip_levels, array_layers;
    VkImageUsageFlags usage;
    VkSampleCountFlagBits samples;
    VkImageAspectFlags aspects;   /* every aspect of the format */
    sedx__block block;            /* of the first aspect (0 bytes when sedx has no table entry) */
    bool concurrent;              /* shared by the main and the transfer-only family */
    _Atomic uint32_t layout;      /* VkImageLayout after sedx's recorded work */
    uint64_t batch_id;            /* transfer layer: last upload batch that references it */
    _Atomic uint64_t last_use[SEDX_QUEUE_COUNT];
    char *name;                   /* never NULL: "" when unnamed */
    struct sedx_image_resource *prev, *next; /* live list */
};

/* Validates img and returns its resource, or NULL (logging `what` with the reason). */
sedx_image_resource *sedx__image_get(const sedx_image *img, const char *what);
/* The live sedx image whose VkImage is image, with a reference (sedx__image_unref it): of ctx,
 * or of another live context (the caller checks res->ctx and refuses it), NULL when no live
 * sedx image has that handle. */
sedx_image_resource *sedx__image_lookup_vk(sedx_context *ctx, VkImage image);
/* A layout sedx may name in a barrier of res: one its usage and aspects allow (lifetime.c). */
bool sedx__image_layout_ok(const sedx_image_resource *res, VkImageLayout layout);
void sedx__image_ref(sedx_image_resource *res);
void sedx__image_unref(sedx_image_resource *res);
void sedx__image_mark_use(sedx_image_resource *res, sedx_queue queue, uint64_t value);
/* Extent of level (no check). */
VkExtent3D sedx__image_level_extent(const sedx_image_resource *res, uint32_t level);
/* The layer's life (the composite context calls these); destroy reports leaked images. */
sedx_result sedx__images_create(sedx_context *ctx);
void sedx__images_destroy(sedx_context *ctx);

#endif
