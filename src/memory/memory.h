/* The GPU allocator's internal API for the buffer and transfer layers (and white-box tests).
 * Not installed. */
#ifndef SEDX_MEMORY_MEMORY_H
#define SEDX_MEMORY_MEMORY_H

#include <sedx/memory.h>
#include <sedx/virtual_block.h>
#include "device/device.h"

/* Device-level entry points fetched once with vkGetDeviceProcAddr (no loader trampoline).
 * The buffer layer may call them directly on its hot path. */
typedef struct sedx__memory_vk {
    PFN_vkAllocateMemory AllocateMemory;
    PFN_vkFreeMemory FreeMemory;
    PFN_vkMapMemory MapMemory;
    PFN_vkUnmapMemory UnmapMemory;
    PFN_vkFlushMappedMemoryRanges FlushMappedMemoryRanges;
    PFN_vkInvalidateMappedMemoryRanges InvalidateMappedMemoryRanges;
    PFN_vkCreateBuffer CreateBuffer;
    PFN_vkDestroyBuffer DestroyBuffer;
    PFN_vkCreateImage CreateImage;
    PFN_vkDestroyImage DestroyImage;
    PFN_vkBindBufferMemory BindBufferMemory;
    PFN_vkBindImageMemory BindImageMemory;
    PFN_vkGetBufferMemoryRequirements2 GetBufferMemoryRequirements2;
    PFN_vkGetImageMemoryRequirements2 GetImageMemoryRequirements2;
    /* Vulkan 1.3 (NULL before): the requirements of a buffer create info, see breq in alloc.c */
    PFN_vkGetDeviceBufferMemoryRequirements GetDeviceBufferMemoryRequirements;
} sedx__memory_vk;

/* NULL when the context has no allocator. */
const sedx__memory_vk *sedx__memory_vk_fns(const sedx_context *ctx);

/* Where an allocation landed; filled by the calls below (mapped: the pointer when the
 * allocation was created with SEDX_ALLOCATION_MAPPED, else NULL). */
typedef struct sedx__placement {
    VkDeviceMemory memory;
    uint64_t offset;
    uint64_t size;
    uint32_t memory_type;
    VkMemoryPropertyFlags property_flags;
    void *mapped;
    bool dedicated;
    bool non_coherent; /* flushes/invalidates are needed (real or DEBUG_NONCOHERENT) */
} sedx__placement;

/* For sedx_buffer_create: memory for buffer, allocated and bound. buffer_info: what buffer was
 * created from (NULL: not known); the memory requirements (with the dedicated requirements)
 * then come from sedx_memory_create_buffer's per-create-info cache, and its fast path applies,
 * as there; else (and on a cache miss) from vkGetBufferMemoryRequirements2. On failure nothing
 * is allocated and *out is untouched; the buffer itself stays the caller's. out_place may be
 * NULL. */
sedx_result sedx__memory_alloc_bind_buffer(sedx_context *ctx, VkBuffer buffer, const VkBufferCreateInfo *buffer_info,
                                           const sedx_allocation_info *info, sedx_allocation *out,
                                           sedx__placement *out_place);
/* The memory requirements of buffer (made from buffer_info, or NULL), from the same cache where
 * it has them, else from vkGetBufferMemoryRequirements2 (the cache then learns them). */
sedx_result sedx__memory_buffer_requirements(sedx_context *ctx, VkBuffer buffer, const VkBufferCreateInfo *buffer_info,
                                             VkMemoryRequirements *out_req, VkMemoryDedicatedRequirements *out_ded);
/* Placement of a live allocation (locks its memory type). */
sedx_result sedx__memory_placement(sedx_context *ctx, sedx_allocation alloc, sedx__placement *out);

/* The range a flush/invalidate of [offset, offset+size) of alloc would pass to Vulkan.
 * *out_needed = false (and *out untouched) when the memory is coherent. Tests use it to check
 * the nonCoherentAtomSize rounding. */
sedx_result sedx__memory_flush_range(sedx_context *ctx, sedx_allocation alloc, uint64_t offset, uint64_t size,
                                     VkMappedMemoryRange *out, bool *out_needed);

/* Test hook: the next `count` device-memory allocations fail as if vkAllocateMemory had
 * returned VK_ERROR_OUT_OF_DEVICE_MEMORY (counted as calls and failures in the stats). */
void sedx__memory_inject_device_failures(sedx_context *ctx, uint32_t count);

/* Size of the VkDeviceMemory an allocation lives in (block or dedicated); 0 for a bad handle. */
uint64_t sedx__memory_device_memory_size(sedx_context *ctx, sedx_allocation alloc);

/* The layer's life (the composite context calls these). create: after the device; info may
 * be NULL (defaults). check_info refuses unknown flags and bad values before any Vulkan object
 * exists. */
sedx_result sedx__allocator_check_info(const sedx_allocator_info *info);
sedx_result sedx__allocator_create(sedx_context *ctx, const sedx_allocator_info *info);
void sedx__allocator_destroy(sedx_context *ctx);

#endif
