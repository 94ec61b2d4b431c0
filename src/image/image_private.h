/* Shared by the image layer's files only (src/image/). */
#ifndef SEDX_IMAGE_PRIVATE_H
#define SEDX_IMAGE_PRIVATE_H

#include "image/image.h"
#include "core/core.h"

#include <stdlib.h>
#include <string.h>

#define TAG "IMAGE"

struct sedx__image_registry {
    pthread_mutex_t lock;
    sedx_image_resource *head; /* live (not yet released) images, newest first */
    uint32_t count;
    sedx__map by_vk;           /* VkImage -> live resource */
};

static inline struct sedx__image_registry *sedx__image_registry(sedx_context *ctx) { return ctx->layers.image; }
static inline const char *sedx__image_safe_name(const char *name) { return name && *name ? name : "(unnamed)"; }

/* lifetime.c */
sedx__handle_pool *sedx__image_handles(void);
sedx_result sedx__image_register(sedx_image_resource *res); /* live list + VkImage map */
void sedx__image_free(sedx_context *ctx, void *res);     /* Vulkan objects, memory, struct */

#endif
