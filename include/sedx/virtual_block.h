/*
 * Virtual block: the allocation algorithm alone, over a range of N bytes that sedx never
 * touches (offsets only, no Vulkan). The GPU allocator runs one per VkDeviceMemory block;
 * applications may use it for their own sub-allocation (e.g. inside one big buffer).
 *
 * Two modes:
 *  - TLSF (default): two-level segregated fit with the metadata outside the managed range.
 *    Allocate and free are worst-case O(1) including alignment (see docs/virtual-block.md for the
 *    bound and its cost).
 *  - LINEAR: a ring for transient allocations (the staging ring): allocations are placed after
 *    the newest one, wrapping to offset 0; space is reclaimed as the oldest allocations are
 *    freed (frees may come in any order; space is reclaimed in FIFO order).
 *
 * Not thread-safe: one block must not be used from several threads at once (the GPU
 * allocator locks around it).
 */
#ifndef SEDX_VIRTUAL_BLOCK_H
#define SEDX_VIRTUAL_BLOCK_H

#include <sedx/core.h>

#ifdef __cplusplus
extern "C" {
#endif

typedef struct sedx_virtual_block sedx_virtual_block;
/* An allocation in a block; 0 is never valid. Stale handles (double free) are detected. */
typedef uint64_t sedx_virtual_alloc;

/* Largest block size and largest allocation size (2^63 bytes). Keeping every size at or below
 * 2^63 means size + alignment - 1 can never wrap around 64 bits. */
#define SEDX_VIRTUAL_MAX_SIZE (UINT64_C(1) << 63)

/* TLSF: an alignment padding shorter than this in front of a new allocation is not kept as a
 * free range of its own but stays with the allocation below it (whose range then ends where
 * the new one starts) until that allocation is freed. Such a sliver could only ever serve a
 * request with a smaller alignment; keeping it out of the lists saves a node and two list
 * operations per allocation. Stats count it as free bytes, not as a free range. */
#define SEDX_VIRTUAL_PAD_RANGE_MIN UINT64_C(1024)

typedef enum sedx_virtual_block_flag_bits {
    SEDX_VIRTUAL_BLOCK_LINEAR = 0x1 /* ring / linear mode instead of TLSF */
} sedx_virtual_block_flag_bits;

typedef struct sedx_virtual_block_info {
    uint64_t size;   /* bytes managed; 0 < size <= SEDX_VIRTUAL_MAX_SIZE */
    uint32_t flags;  /* sedx_virtual_block_flag_bits */
} sedx_virtual_block_info;

typedef struct sedx_virtual_block_stats {
    uint64_t size;               /* bytes managed */
    uint32_t allocation_count;
    uint64_t allocation_bytes;   /* sum of allocation sizes as requested */
    uint64_t free_bytes;         /* size - allocation_bytes (alignment padding counts as free) */
    uint32_t free_range_count;   /* contiguous free ranges */
    uint64_t largest_free_range; /* bytes */
} sedx_virtual_block_stats;

SEDX_API sedx_result sedx_virtual_block_create(const sedx_virtual_block_info *info, sedx_virtual_block **out);
SEDX_API void sedx_virtual_block_destroy(sedx_virtual_block *block); /* NULL ok; live allocations are dropped */

/* size > 0, alignment a power of two (0 means 1). SEDX_ERROR_OUT_OF_SPACE when nothing fits.
 * out_offset may be NULL. Errors: SEDX_ERROR_INVALID_ARGUMENT (block or out_alloc NULL),
 * SEDX_ERROR_INVALID_SIZE (size 0 or > SEDX_VIRTUAL_MAX_SIZE), SEDX_ERROR_INVALID_ALIGNMENT,
 * SEDX_ERROR_OUT_OF_SPACE (not logged above DEBUG: an expected outcome),
 * SEDX_ERROR_OUT_OF_HOST_MEMORY (the node pool could not grow). On error nothing is written
 * and the block is unchanged. */
SEDX_API sedx_result sedx_virtual_allocate(sedx_virtual_block *block, uint64_t size, uint64_t alignment,
                                           void *user_data, sedx_virtual_alloc *out_alloc,
                                           uint64_t *out_offset);
/* SEDX_ERROR_INVALID_HANDLE for an unknown, foreign or already-freed handle (nothing changes).
 * Freeing 0 (the null handle) is a no-op that returns SEDX_SUCCESS, like free(NULL). */
SEDX_API sedx_result sedx_virtual_free(sedx_virtual_block *block, sedx_virtual_alloc alloc);
SEDX_API void sedx_virtual_block_clear(sedx_virtual_block *block); /* frees every allocation */

typedef struct sedx_virtual_alloc_info {
    uint64_t offset;
    uint64_t size;      /* as requested */
    void *user_data;
} sedx_virtual_alloc_info;
SEDX_API sedx_result sedx_virtual_get_info(const sedx_virtual_block *block, sedx_virtual_alloc alloc,
                                           sedx_virtual_alloc_info *out);
SEDX_API sedx_result sedx_virtual_set_user_data(sedx_virtual_block *block, sedx_virtual_alloc alloc,
                                                void *user_data);

SEDX_API void sedx_virtual_block_get_stats(const sedx_virtual_block *block, sedx_virtual_block_stats *out);
SEDX_API bool sedx_virtual_block_is_empty(const sedx_virtual_block *block);
/* Walks every list, bitmap and node: SEDX_SUCCESS or SEDX_ERROR_CORRUPTION (logged). */
SEDX_API sedx_result sedx_virtual_block_validate(const sedx_virtual_block *block);

/* Calls fn for every live allocation in offset order (for dumps and leak reports). */
typedef void (*sedx_virtual_visit_fn)(void *ctx, sedx_virtual_alloc alloc, uint64_t offset, uint64_t size,
                                      void *user_data);
SEDX_API void sedx_virtual_block_foreach(const sedx_virtual_block *block, sedx_virtual_visit_fn fn, void *ctx);

#ifdef __cplusplus
}
#endif
#endif /* SEDX_VIRTUAL_BLOCK_H */
