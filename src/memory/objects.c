/*
 * The entry points for raw memory requirements and for images: sedx_memory_allocate,
 * sedx_memory_allocate2 (with the dedicated requirements), sedx_memory_allocate_for_buffer and
 * _for_image, bind, create and destroy images (nothing left behind on failure),
 * sedx_memory_find_type. The argument checks run before any Vulkan call; the choice itself is
 * sedx__mem_allocate's, and the buffer entry points of the hot path are in alloc.c.
 */
#include "memory/memory_private.h"

/* What vkCreateImage would flag as invalid usage (VUID-VkImageCreateInfo-extent-00944/5/6,
 * -mipLevels-00947, -arrayLayers-00948, -usage-requiredbitmask). */
static sedx_result check_image_create_info(const VkImageCreateInfo *ii)
{
    const char *fn = "sedx_memory_create_image";
    const VkExtent3D e = ii->extent;
    if (!e.width || !e.height || !e.depth || !ii->mipLevels || !ii->arrayLayers)
        return SEDX__ERR(SEDX_ERROR_INVALID_SIZE, TAG, "%s: size 0 (extent %ux%ux%u, %u mip levels, %u layers)", fn,
                         e.width, e.height, e.depth, ii->mipLevels, ii->arrayLayers);
    if (ii->usage == 0) return SEDX__ERR(SEDX_ERROR_INVALID_USAGE, TAG, "%s: usage 0", fn);
    return SEDX_SUCCESS;
}

/* Requirements of an image (with the dedicated requirements); tiling gives the granularity
 * class. */
static void image_request(allocator *A, VkImage image, VkImageTiling tiling, const sedx_allocation_info *info,
                          alloc_request *q, VkMemoryRequirements2 *req2, VkMemoryDedicatedRequirements *ded)
{
    *ded = (VkMemoryDedicatedRequirements){VK_STRUCTURE_TYPE_MEMORY_DEDICATED_REQUIREMENTS, NULL, VK_FALSE, VK_FALSE};
    *req2 = (VkMemoryRequirements2){VK_STRUCTURE_TYPE_MEMORY_REQUIREMENTS_2, ded, {0, 0, 0}};
    VkImageMemoryRequirementsInfo2 ri = {VK_STRUCTURE_TYPE_IMAGE_MEMORY_REQUIREMENTS_INFO_2, NULL, image};
    A->vk.GetImageMemoryRequirements2(A->device, &ri, req2);
    request_init(q, info, &req2->memoryRequirements);
    q->kind = tiling == VK_IMAGE_TILING_OPTIMAL ? SEDX_ALLOCATION_KIND_IMAGE_OPTIMAL
              : tiling == VK_IMAGE_TILING_LINEAR ? SEDX_ALLOCATION_KIND_IMAGE_LINEAR
                                                 : SEDX_ALLOCATION_KIND_UNKNOWN;
    q->requires_dedicated = ded->requiresDedicatedAllocation != VK_FALSE;
    q->prefers_dedicated = ded->prefersDedicatedAllocation != VK_FALSE;
    q->dedicated_image = image;
}

/* ------------------------------------------------------------------------------------------
 * Allocate
 * ---------------------------------------------------------------------------------------- */
sedx_result sedx_memory_allocate(sedx_context *ctx, const sedx_allocation_info *info,
                                 const VkMemoryRequirements *requirements, sedx_allocation *out)
{
    return sedx_memory_allocate2(ctx, info, requirements, NULL, VK_NULL_HANDLE, VK_NULL_HANDLE, out);
}

sedx_result sedx_memory_allocate2(sedx_context *ctx, const sedx_allocation_info *info,
                                  const VkMemoryRequirements *requirements, const VkMemoryDedicatedRequirements *dedicated,
                                  VkBuffer dedicated_buffer, VkImage dedicated_image, sedx_allocation *out)
{
    NEED_ALLOCATOR(A, ctx, "sedx_memory_allocate");
    if (!requirements || !out)
        return SEDX__ERR(SEDX_ERROR_INVALID_ARGUMENT, TAG, "sedx_memory_allocate: %s is NULL",
                         !requirements ? "requirements" : "out");
    if (dedicated_buffer && dedicated_image)
        return SEDX__ERR(SEDX_ERROR_INVALID_ARGUMENT, TAG, "sedx_memory_allocate: both a dedicated buffer and image");
    sedx_result r = sedx__mem_check_info(info, "sedx_memory_allocate");
    if (r != SEDX_SUCCESS) return r;
    if (!info) info = &sedx__mem_default_info;
    alloc_request q;
    request_init(&q, info, requirements);
    if (dedicated) {
        q.requires_dedicated = dedicated->requiresDedicatedAllocation != VK_FALSE;
        q.prefers_dedicated = dedicated->prefersDedicatedAllocation != VK_FALSE;
    }
    q.dedicated_buffer = dedicated_buffer;
    q.dedicated_image = dedicated_image;
    sedx_allocation a;
    r = sedx__mem_allocate(A, &q, &a, NULL);
    if (r == SEDX_SUCCESS) *out = a;
    return r;
}

sedx_result sedx_memory_allocate_for_buffer(sedx_context *ctx, VkBuffer buffer, const sedx_allocation_info *info,
                                            sedx_allocation *out)
{
    NEED_ALLOCATOR(A, ctx, "sedx_memory_allocate_for_buffer");
    if (!buffer || !out)
        return SEDX__ERR(SEDX_ERROR_INVALID_ARGUMENT, TAG, "sedx_memory_allocate_for_buffer: %s is NULL",
                         !buffer ? "buffer" : "out");
    sedx_result r = sedx__mem_check_info(info, "sedx_memory_allocate_for_buffer");
    if (r != SEDX_SUCCESS) return r;
    if (!info) info = &sedx__mem_default_info;
    alloc_request q;
    VkMemoryRequirements2 req2;
    VkMemoryDedicatedRequirements ded;
    buffer_request(A, buffer, info, &q, &req2, &ded);
    sedx_allocation a;
    r = sedx__mem_allocate(A, &q, &a, NULL);
    if (r == SEDX_SUCCESS) *out = a;
    return r;
}

sedx_result sedx_memory_allocate_for_image(sedx_context *ctx, VkImage image, VkImageTiling tiling,
                                           const sedx_allocation_info *info, sedx_allocation *out)
{
    NEED_ALLOCATOR(A, ctx, "sedx_memory_allocate_for_image");
    if (!image || !out)
        return SEDX__ERR(SEDX_ERROR_INVALID_ARGUMENT, TAG, "sedx_memory_allocate_for_image: %s is NULL",
                         !image ? "image" : "out");
    sedx_result r = sedx__mem_check_info(info, "sedx_memory_allocate_for_image");
    if (r != SEDX_SUCCESS) return r;
    if (!info) info = &sedx__mem_default_info;
    alloc_request q;
    VkMemoryRequirements2 req2;
    VkMemoryDedicatedRequirements ded;
    image_request(A, image, tiling, info, &q, &req2, &ded);
    sedx_allocation a;
    r = sedx__mem_allocate(A, &q, &a, NULL);
    if (r == SEDX_SUCCESS) *out = a;
    return r;
}

sedx_result sedx_memory_find_type(sedx_context *ctx, const sedx_allocation_info *info, uint32_t memory_type_bits,
                                  uint32_t *out_type)
{
    NEED_ALLOCATOR(A, ctx, "sedx_memory_find_type");
    if (!out_type) return SEDX__ERR(SEDX_ERROR_INVALID_ARGUMENT, TAG, "sedx_memory_find_type: out_type is NULL");
    sedx_result r = sedx__mem_check_info(info, "sedx_memory_find_type");
    if (r != SEDX_SUCCESS) return r;
    if (!info) info = &sedx__mem_default_info;
    type_prefs p;
    r = sedx__mem_usage_prefs(info, &p);
    if (r != SEDX_SUCCESS) return r;
    uint32_t bits = memory_type_bits;
    if (info->memory_type_bits) bits &= info->memory_type_bits;
    uint32_t cand[32];
    if (sedx__mem_candidate_types(A, &p, bits, cand) == 0)
        return SEDX__ERR(SEDX_ERROR_NO_MEMORY_TYPE, TAG, "sedx_memory_find_type: no memory type in bits 0x%x has the "
                         "required flags 0x%x", bits, info->required_flags);
    *out_type = cand[0];
    return SEDX_SUCCESS;
}

/* ------------------------------------------------------------------------------------------
 * Bind, create, destroy
 * ---------------------------------------------------------------------------------------- */
sedx_result sedx_memory_bind_buffer(sedx_context *ctx, sedx_allocation alloc, VkBuffer buffer)
{
    NEED_ALLOCATOR(A, ctx, "sedx_memory_bind_buffer");
    if (!buffer) return SEDX__ERR(SEDX_ERROR_INVALID_ARGUMENT, TAG, "sedx_memory_bind_buffer: buffer is NULL");
    sedx__placement place;
    if (sedx__memory_placement(ctx, alloc, &place) != SEDX_SUCCESS)
        return SEDX__ERR(SEDX_ERROR_INVALID_HANDLE, TAG, "sedx_memory_bind_buffer: invalid allocation handle 0x%llx",
                         (unsigned long long)alloc.id);
    VkResult vr = A->vk.BindBufferMemory(A->device, buffer, place.memory, place.offset);
    return vr == VK_SUCCESS ? SEDX_SUCCESS : SEDX__VK(vr, "vkBindBufferMemory");
}

sedx_result sedx_memory_bind_image(sedx_context *ctx, sedx_allocation alloc, VkImage image)
{
    NEED_ALLOCATOR(A, ctx, "sedx_memory_bind_image");
    if (!image) return SEDX__ERR(SEDX_ERROR_INVALID_ARGUMENT, TAG, "sedx_memory_bind_image: image is NULL");
    sedx__placement place;
    if (sedx__memory_placement(ctx, alloc, &place) != SEDX_SUCCESS)
        return SEDX__ERR(SEDX_ERROR_INVALID_HANDLE, TAG, "sedx_memory_bind_image: invalid allocation handle 0x%llx",
                         (unsigned long long)alloc.id);
    VkResult vr = A->vk.BindImageMemory(A->device, image, place.memory, place.offset);
    return vr == VK_SUCCESS ? SEDX_SUCCESS : SEDX__VK(vr, "vkBindImageMemory");
}

sedx_result sedx_memory_create_image(sedx_context *ctx, const VkImageCreateInfo *image_info,
                                     const sedx_allocation_info *info, VkImage *out_image, sedx_allocation *out_alloc)
{
    NEED_ALLOCATOR(A, ctx, "sedx_memory_create_image");
    if (!image_info || !out_image || !out_alloc)
        return SEDX__ERR(SEDX_ERROR_INVALID_ARGUMENT, TAG, "sedx_memory_create_image: NULL argument");
    sedx_result r = check_image_create_info(image_info);
    if (r == SEDX_SUCCESS) r = sedx__mem_check_info(info, "sedx_memory_create_image");
    if (r != SEDX_SUCCESS) return r;
    if (!info) info = &sedx__mem_default_info;
    VkImage image;
    VkResult vr = A->vk.CreateImage(A->device, image_info, NULL, &image);
    if (vr != VK_SUCCESS) return SEDX__VK(vr, "vkCreateImage");
    alloc_request q;
    VkMemoryRequirements2 req2;
    VkMemoryDedicatedRequirements ded;
    image_request(A, image, image_info->tiling, info, &q, &req2, &ded);
    sedx__placement place;
    sedx_allocation a;
    r = sedx__mem_allocate(A, &q, &a, &place);
    if (r == SEDX_SUCCESS) {
        vr = A->vk.BindImageMemory(A->device, image, place.memory, place.offset);
        if (vr != VK_SUCCESS) {
            sedx_memory_free(ctx, a);
            r = SEDX__VK(vr, "vkBindImageMemory");
        }
    }
    if (r != SEDX_SUCCESS) {
        A->vk.DestroyImage(A->device, image, NULL);
        return r;
    }
    *out_image = image;
    *out_alloc = a;
    return SEDX_SUCCESS;
}

sedx_result sedx_memory_destroy_image(sedx_context *ctx, VkImage image, sedx_allocation alloc)
{
    NEED_ALLOCATOR(A, ctx, "sedx_memory_destroy_image");
    if (image) A->vk.DestroyImage(A->device, image, NULL);
    return sedx_memory_free(ctx, alloc);
}
