/*
 * sedx GPU memory allocator (VMA's role): memory-type choice, blocks sub-allocated with a TLSF
 * virtual block, dedicated allocations, mapping, flush/invalidate, budget, statistics, JSON
 * dump, leak report and debug margins. The context owns one allocator (created with the
 * context, also on an adopted device); every function takes the context.
 *
 * Thread safety: every function here may be called from several threads at once, except that
 * one allocation must not be freed while another thread still uses it (map, flush, bind, ...).
 * Locking is per memory type; statistics and the JSON dump lock each type in turn.
 *
 * See docs/allocator.md for the memory-type decision table, the block size policy, the
 * dedicated-allocation rules, budget, mapping/flush rules, the JSON format and debug options.
 */
#ifndef SEDX_MEMORY_H
#define SEDX_MEMORY_H

#include <sedx/core.h>
#include <sedx/context.h>
#include <vulkan/vulkan.h>

#ifdef __cplusplus
extern "C" {
#endif

/* ------------------------------------------------------------------------------------------
 * Allocator options (sedx_context_info.allocator / sedx_context_create_from_vulkan).
 * Zero-initialised = defaults. SEDX_ALLOC_DEBUG in the environment adds debug flags:
 * "1" or "all" = MARGINS|FILL, or a comma list of margins, fill, noncoherent, dedicated.
 * ---------------------------------------------------------------------------------------- */
typedef enum sedx_allocator_flag_bits {
    /* Reserve debug_margin bytes before and after every allocation in host-visible memory, fill
     * them with a magic value and check it on free (SEDX_ERROR_CORRUPTION, logged with the
     * allocation's name) and in sedx_memory_check_corruption(). */
    SEDX_ALLOCATOR_DEBUG_MARGINS = 0x01,
    /* Fill host-visible allocations with 0xDC when allocated and 0xEF when freed. */
    SEDX_ALLOCATOR_DEBUG_FILL = 0x02,
    /* Treat every HOST_COHERENT type as non-coherent: nonCoherentAtomSize alignment and real
     * vkFlush/vkInvalidateMappedMemoryRanges calls (tests the flush rules on devices that only
     * have coherent memory, such as lavapipe). */
    SEDX_ALLOCATOR_DEBUG_NONCOHERENT = 0x04,
    /* Every allocation gets its own VkDeviceMemory (isolates overruns; slow). */
    SEDX_ALLOCATOR_DEBUG_ALWAYS_DEDICATED = 0x08,
    /* Free a block as soon as it becomes empty (no spare block kept). */
    SEDX_ALLOCATOR_NO_SPARE_BLOCK = 0x10
} sedx_allocator_flag_bits;
typedef uint32_t sedx_allocator_flags;
/* Every bit above; context creation refuses any other (SEDX_ERROR_INVALID_ARGUMENT). */
#define SEDX_ALLOCATOR_FLAGS_ALL                                                                 \
    ((uint32_t)(SEDX_ALLOCATOR_DEBUG_MARGINS | SEDX_ALLOCATOR_DEBUG_FILL |                        \
                SEDX_ALLOCATOR_DEBUG_NONCOHERENT | SEDX_ALLOCATOR_DEBUG_ALWAYS_DEDICATED |        \
                SEDX_ALLOCATOR_NO_SPARE_BLOCK))

struct sedx_allocator_info {
    sedx_allocator_flags flags; /* sedx_allocator_flag_bits; others: SEDX_ERROR_INVALID_ARGUMENT */
    /* Preferred VkDeviceMemory block size for heaps larger than 1 GiB; 0 = 256 MiB. Heaps of
     * 1 GiB or less use heap size / 8. The first blocks of a memory type are 1/8, 1/4, 1/2 of
     * it (as long as they stay larger than every existing block and twice the request). */
    uint64_t preferred_block_size;
    /* NULL, or one entry per memory heap (memoryHeapCount entries): 0 = no limit, else sedx
     * treats the heap as being that large and as its only user (for tests, like VMA's
     * pHeapSizeLimit): device memory beyond it fails with SEDX_ERROR_OUT_OF_DEVICE_MEMORY, the
     * heap's usage is sedx's own, and its budget is 80 % of the limit (or the driver's budget
     * if lower). */
    const uint64_t *heap_size_limit;
    /* Bytes of debug margin before and after each allocation when DEBUG_MARGINS is set
     * (rounded up to a multiple of 4); 0 = 16. */
    uint32_t debug_margin;
    /* Minimum alignment of every allocation (a power of two); 0 = 1. */
    uint32_t min_alignment;
};

/* ------------------------------------------------------------------------------------------
 * Allocations
 * ---------------------------------------------------------------------------------------- */
/* Generation-checked handle; {0} is never valid. A freed handle, a handle of another context
 * or a malformed one is rejected with SEDX_ERROR_INVALID_HANDLE (freeing a freed handle:
 * SEDX_ERROR_DOUBLE_FREE while its slot has not been reused), never a crash. */
typedef struct sedx_allocation {
    uint64_t id;
} sedx_allocation;
#ifdef __cplusplus
#define SEDX_NULL_ALLOCATION (sedx_allocation{0})
#else
#define SEDX_NULL_ALLOCATION ((sedx_allocation){0})
#endif

/* What the memory is for; chooses the memory-type preferences (docs/allocator.md has the
 * table). The explicit property flags of sedx_allocation_info are added on top. */
typedef enum sedx_memory_usage {
    /* GPU_ONLY, or UPLOAD when SEDX_ALLOCATION_MAPPED is set. */
    SEDX_MEMORY_USAGE_AUTO = 0,
    /* Only the GPU reads/writes: prefer DEVICE_LOCAL, avoid HOST_VISIBLE. */
    SEDX_MEMORY_USAGE_GPU_ONLY = 1,
    /* CPU writes sequentially, GPU reads directly (uniforms, dynamic vertices): requires
     * HOST_VISIBLE, prefers DEVICE_LOCAL (ReBAR) while within budget, else host memory;
     * avoids HOST_CACHED. */
    SEDX_MEMORY_USAGE_UPLOAD = 2,
    /* CPU writes, the GPU only copies from it (staging): requires HOST_VISIBLE, avoids
     * DEVICE_LOCAL and HOST_CACHED, prefers HOST_COHERENT. */
    SEDX_MEMORY_USAGE_STAGING = 3,
    /* GPU writes, CPU reads back: requires HOST_VISIBLE, prefers HOST_CACHED. */
    SEDX_MEMORY_USAGE_READBACK = 4,
    /* No implied preferences: only the explicit flags below. */
    SEDX_MEMORY_USAGE_CUSTOM = 5
} sedx_memory_usage;

typedef enum sedx_allocation_flag_bits {
    /* Own VkDeviceMemory (dedicated allocation), whatever the size. */
    SEDX_ALLOCATION_DEDICATED = 0x01,
    /* Only sub-allocate from existing blocks: never call vkAllocateMemory (else
     * SEDX_ERROR_OUT_OF_DEVICE_MEMORY). */
    SEDX_ALLOCATION_NEVER_ALLOCATE = 0x02,
    /* Persistently mapped: mapped at creation (one map reference, released by the free);
     * sedx_allocation_details.mapped holds the pointer. Needs a HOST_VISIBLE type. */
    SEDX_ALLOCATION_MAPPED = 0x04,
    /* May take the heap past its budget (never past heap_size_limit or the driver's limits). */
    SEDX_ALLOCATION_ALLOW_OVER_BUDGET = 0x08,
    /* Only the best memory type: no fallback to the next suitable type on failure. */
    SEDX_ALLOCATION_NO_FALLBACK = 0x10,
    /* Never dedicated unless the driver requires it (also not for large requests). */
    SEDX_ALLOCATION_NO_DEDICATED = 0x20
} sedx_allocation_flag_bits;
typedef uint32_t sedx_allocation_flags;
/* Every bit above; any other is refused (SEDX_ERROR_INVALID_ARGUMENT). */
#define SEDX_ALLOCATION_FLAGS_ALL                                                                \
    ((uint32_t)(SEDX_ALLOCATION_DEDICATED | SEDX_ALLOCATION_NEVER_ALLOCATE | SEDX_ALLOCATION_MAPPED | \
                SEDX_ALLOCATION_ALLOW_OVER_BUDGET | SEDX_ALLOCATION_NO_FALLBACK |                 \
                SEDX_ALLOCATION_NO_DEDICATED))

/* What occupies the memory; with bufferImageGranularity > 1, linear (buffers, linear images)
 * and optimal-tiling resources never share a block, and UNKNOWN gets blocks of its own. */
typedef enum sedx_allocation_kind {
    SEDX_ALLOCATION_KIND_UNKNOWN = 0,
    SEDX_ALLOCATION_KIND_BUFFER = 1,
    SEDX_ALLOCATION_KIND_IMAGE_LINEAR = 2,
    SEDX_ALLOCATION_KIND_IMAGE_OPTIMAL = 3
} sedx_allocation_kind;

/* Zero-initialised = a GPU-only allocation of unknown kind. Every call that takes one refuses,
 * with SEDX_ERROR_INVALID_ARGUMENT (logged) and before any Vulkan call, a usage or kind outside
 * its enum and flag bits outside SEDX_ALLOCATION_FLAGS_ALL. */
typedef struct sedx_allocation_info {
    sedx_memory_usage usage;
    sedx_allocation_flags flags;               /* sedx_allocation_flag_bits */
    VkMemoryPropertyFlags required_flags;      /* every one of these, or the type is not used */
    VkMemoryPropertyFlags preferred_flags;     /* each missing one costs 1 */
    VkMemoryPropertyFlags not_preferred_flags; /* each present one costs 1 */
    uint32_t memory_type_bits;                 /* 0 = any; else further restricts the types */
    sedx_allocation_kind kind;                 /* the buffer/image helpers set it */
    const char *name;                          /* copied; NULL = unnamed */
    void *user_data;
    /* VK_EXT_memory_priority (when the context enabled it), dedicated allocations only;
     * 0 = 0.5. Blocks always use 0.5. */
    float priority;
} sedx_allocation_info;

/* Where an allocation lives. */
typedef struct sedx_allocation_details {
    VkDeviceMemory memory;
    uint64_t offset;            /* bytes into memory */
    uint64_t size;              /* as requested (the VkMemoryRequirements size) */
    uint32_t memory_type;
    uint32_t heap;
    VkMemoryPropertyFlags property_flags;
    void *mapped;               /* non-NULL while mapped (map count > 0) */
    uint32_t map_count;
    bool dedicated;
    sedx_allocation_kind kind;
    const char *name;           /* "" when unnamed; valid until the allocation is freed or renamed */
    void *user_data;
    uint64_t creation_index;    /* 1, 2, 3, ... in creation order (in leak reports) */
} sedx_allocation_details;

/* Allocates memory for requirements: size 0 SEDX_ERROR_INVALID_SIZE, an alignment that is not
 * a power of two SEDX_ERROR_INVALID_ALIGNMENT (0 = 1). info may be NULL (defaults). */
SEDX_API sedx_result sedx_memory_allocate(sedx_context *ctx, const sedx_allocation_info *info,
                                          const VkMemoryRequirements *requirements, sedx_allocation *out);
/* Same, with the dedicated-allocation requirements of vkGet*MemoryRequirements2; dedicated_buffer
 * / dedicated_image (may be VK_NULL_HANDLE) go into VkMemoryDedicatedAllocateInfo. */
SEDX_API sedx_result sedx_memory_allocate2(sedx_context *ctx, const sedx_allocation_info *info,
                                           const VkMemoryRequirements *requirements,
                                           const VkMemoryDedicatedRequirements *dedicated,
                                           VkBuffer dedicated_buffer, VkImage dedicated_image,
                                           sedx_allocation *out);
/* Memory for an existing buffer/image (vkGet*MemoryRequirements2 + VkMemoryDedicatedRequirements);
 * does not bind. info may be NULL (defaults); kind is set from the object. */
SEDX_API sedx_result sedx_memory_allocate_for_buffer(sedx_context *ctx, VkBuffer buffer,
                                                     const sedx_allocation_info *info, sedx_allocation *out);
SEDX_API sedx_result sedx_memory_allocate_for_image(sedx_context *ctx, VkImage image, VkImageTiling tiling,
                                                    const sedx_allocation_info *info, sedx_allocation *out);
/* vkBindBufferMemory / vkBindImageMemory at the allocation's offset. */
SEDX_API sedx_result sedx_memory_bind_buffer(sedx_context *ctx, sedx_allocation alloc, VkBuffer buffer);
SEDX_API sedx_result sedx_memory_bind_image(sedx_context *ctx, sedx_allocation alloc, VkImage image);
/* vkCreateBuffer/vkCreateImage + allocate + bind (vmaCreateBuffer). Both outputs are
 * required; on failure nothing is left behind and they are not written. Refused before
 * vkCreateBuffer/vkCreateImage (logged): a NULL argument SEDX_ERROR_INVALID_ARGUMENT; buffer
 * size 0, an image extent, mipLevels or arrayLayers of 0 SEDX_ERROR_INVALID_SIZE; usage 0
 * SEDX_ERROR_INVALID_USAGE; a bad info as for sedx_allocation_info. */
SEDX_API sedx_result sedx_memory_create_buffer(sedx_context *ctx, const VkBufferCreateInfo *buffer_info,
                                               const sedx_allocation_info *info, VkBuffer *out_buffer,
                                               sedx_allocation *out_alloc);
SEDX_API sedx_result sedx_memory_create_image(sedx_context *ctx, const VkImageCreateInfo *image_info,
                                              const sedx_allocation_info *info, VkImage *out_image,
                                              sedx_allocation *out_alloc);
/* vkDestroyBuffer/Image then free (either may be null). Returns the free's result. */
SEDX_API sedx_result sedx_memory_destroy_buffer(sedx_context *ctx, VkBuffer buffer, sedx_allocation alloc);
SEDX_API sedx_result sedx_memory_destroy_image(sedx_context *ctx, VkImage image, sedx_allocation alloc);

/* Frees; {0} is a no-op (SEDX_SUCCESS). A still-mapped allocation is unmapped. With debug
 * margins, an overwritten margin returns SEDX_ERROR_CORRUPTION (logged with the name); the
 * allocation is freed anyway. */
SEDX_API sedx_result sedx_memory_free(sedx_context *ctx, sedx_allocation alloc);

SEDX_API sedx_result sedx_memory_get_details(sedx_context *ctx, sedx_allocation alloc,
                                             sedx_allocation_details *out);
/* Copies name (NULL clears it). */
SEDX_API sedx_result sedx_memory_set_name(sedx_context *ctx, sedx_allocation alloc, const char *name);
SEDX_API sedx_result sedx_memory_set_user_data(sedx_context *ctx, sedx_allocation alloc, void *user_data);

/* Mapping. Blocks are mapped once (whole VkDeviceMemory) and stay mapped until freed;
 * dedicated memory is mapped while its map count is > 0. Each map needs one unmap.
 * SEDX_ERROR_NOT_HOST_VISIBLE for device-only memory; unmap at count 0: SEDX_ERROR_NOT_MAPPED. */
SEDX_API sedx_result sedx_memory_map(sedx_context *ctx, sedx_allocation alloc, void **out_ptr);
SEDX_API sedx_result sedx_memory_unmap(sedx_context *ctx, sedx_allocation alloc);
/* Flush after CPU writes / invalidate before CPU reads, for [offset, offset+size) of the
 * allocation (size VK_WHOLE_SIZE = to its end). No-op for HOST_COHERENT types (unless
 * DEBUG_NONCOHERENT); otherwise the range is widened to nonCoherentAtomSize and clamped to
 * the VkDeviceMemory. The memory must be mapped (else SEDX_ERROR_NOT_MAPPED). */
SEDX_API sedx_result sedx_memory_flush(sedx_context *ctx, sedx_allocation alloc, uint64_t offset, uint64_t size);
SEDX_API sedx_result sedx_memory_invalidate(sedx_context *ctx, sedx_allocation alloc, uint64_t offset,
                                            uint64_t size);

/* Memory-type choice without allocating (vmaFindMemoryTypeIndex): the best type among
 * memory_type_bits. SEDX_ERROR_NO_MEMORY_TYPE when none qualifies. */
SEDX_API sedx_result sedx_memory_find_type(sedx_context *ctx, const sedx_allocation_info *info,
                                           uint32_t memory_type_bits, uint32_t *out_type);

/* ------------------------------------------------------------------------------------------
 * Statistics, budget, dump
 * ---------------------------------------------------------------------------------------- */
typedef struct sedx_memory_stat {
    uint32_t block_count;          /* VkDeviceMemory blocks (dedicated ones not counted) */
    uint32_t dedicated_count;      /* dedicated VkDeviceMemory objects */
    uint32_t allocation_count;     /* live allocations, dedicated included */
    uint64_t allocation_bytes;     /* bytes used: sum of allocation sizes */
    uint64_t block_bytes;          /* bytes reserved: sum of VkDeviceMemory sizes, dedicated included */
    uint32_t free_range_count;     /* free ranges inside blocks */
    uint64_t largest_free_range;   /* largest of them */
    uint32_t empty_block_count;    /* spare blocks kept for reuse */
} sedx_memory_stat;

typedef struct sedx_memory_stats {
    uint32_t memory_type_count, memory_heap_count;
    sedx_memory_stat memory_type[VK_MAX_MEMORY_TYPES];
    sedx_memory_stat memory_heap[VK_MAX_MEMORY_HEAPS];
    sedx_memory_stat total;
    uint64_t vk_allocate_count;    /* vkAllocateMemory calls made since creation (failed ones included) */
    uint64_t vk_allocate_failures; /* of those, how many failed */
    uint64_t vk_free_count;        /* vkFreeMemory calls made */
    uint32_t device_memory_count;  /* live VkDeviceMemory objects (limit: maxMemoryAllocationCount) */
} sedx_memory_stats;

SEDX_API sedx_result sedx_memory_get_stats(sedx_context *ctx, sedx_memory_stats *out);

typedef struct sedx_memory_budget {
    uint64_t block_bytes;      /* sedx's VkDeviceMemory in the heap */
    uint64_t allocation_bytes; /* sedx's allocations in the heap */
    uint64_t usage;            /* whole process (VK_EXT_memory_budget) or sedx's estimate */
    uint64_t budget;           /* how much may be used; allocations beyond it fail with OVER_BUDGET */
    uint64_t heap_size;        /* after heap_size_limit */
} sedx_memory_budget;
/* Fills out[0 .. memoryHeapCount-1] (fresh values from the driver); *out_count may be NULL. */
SEDX_API sedx_result sedx_memory_get_budget(sedx_context *ctx, sedx_memory_budget out[VK_MAX_MEMORY_HEAPS],
                                            uint32_t *out_count);

/* JSON text of every heap, type, block and allocation (format in docs/allocator.md). Free it
 * with sedx_memory_free_string. */
SEDX_API sedx_result sedx_memory_dump_json(sedx_context *ctx, char **out_json);
SEDX_API void sedx_memory_free_string(char *s);

/* Checks the debug margins of every live allocation in the given memory types (UINT32_MAX =
 * all): SEDX_SUCCESS, SEDX_ERROR_CORRUPTION (each case logged), or SEDX_ERROR_FEATURE_NOT_PRESENT
 * when margins are off. */
SEDX_API sedx_result sedx_memory_check_corruption(sedx_context *ctx, uint32_t memory_type_bits);

/* Frees every empty (spare) block; returns how many. */
SEDX_API uint32_t sedx_memory_release_empty_blocks(sedx_context *ctx);

/* The options in effect after defaults and SEDX_ALLOC_DEBUG (heap_size_limit is not copied). */
SEDX_API sedx_result sedx_memory_get_allocator_info(sedx_context *ctx, sedx_allocator_info *out);

SEDX_API const char *sedx_memory_usage_name(sedx_memory_usage usage);
SEDX_API const char *sedx_allocation_kind_name(sedx_allocation_kind kind);

#ifdef __cplusplus
}
#endif
#endif /* SEDX_MEMORY_H */
