/*
 * A live allocation: its details, name and user data, its placement (for bind and the buffer
 * layer), mapping (blocks stay mapped whole; dedicated allocations are mapped while their map
 * count is above 0), flush and invalidate (rounded to nonCoherentAtomSize, no-ops on coherent
 * memory).
 */
#include "memory/memory_private.h"

/* Locks the handle's type and finds its record; logs and returns an error otherwise. */
static sedx_result lock_rec(allocator *A, sedx_allocation alloc, const char *fn, mtype **outT, rec **outR)
{
    mtype *T = handle_type(A, alloc);
    if (T) {
        tlock_lock(&T->lock);
        rec *R = handle_rec(T, alloc, NULL, NULL);
        if (R) {
            *outT = T;
            *outR = R;
            return SEDX_SUCCESS;
        }
        tlock_unlock(&T->lock);
    }
    return SEDX__ERR(SEDX_ERROR_INVALID_HANDLE, TAG, "%s: invalid, freed or foreign allocation handle 0x%llx", fn,
                     (unsigned long long)alloc.id);
}

/* ------------------------------------------------------------------------------------------
 * Details, names, user data, placement
 * ---------------------------------------------------------------------------------------- */
sedx_result sedx_memory_get_details(sedx_context *ctx, sedx_allocation alloc, sedx_allocation_details *out)
{
    NEED_ALLOCATOR(A, ctx, "sedx_memory_get_details");
    if (!out) return SEDX__ERR(SEDX_ERROR_INVALID_ARGUMENT, TAG, "sedx_memory_get_details: out is NULL");
    mtype *T;
    rec *R;
    sedx_result r = lock_rec(A, alloc, "sedx_memory_get_details", &T, &R);
    if (r != SEDX_SUCCESS) return r;
    sedx_allocation_details d;
    d.memory = R->memory;
    d.offset = R->offset;
    d.size = R->size;
    d.memory_type = T->index;
    d.heap = T->heap;
    d.property_flags = T->flags;
    d.mapped = R->map_count ? (R->block ? (void *)(R->block->mapped + R->offset) : R->ded_mapped) : NULL;
    d.map_count = R->map_count;
    d.dedicated = R->block == NULL;
    d.kind = (sedx_allocation_kind)R->kind;
    d.name = rec_name(R);
    d.user_data = R->user_data;
    d.creation_index = R->creation_index;
    tlock_unlock(&T->lock);
    *out = d;
    return SEDX_SUCCESS;
}

uint64_t sedx__memory_device_memory_size(sedx_context *ctx, sedx_allocation alloc)
{
    allocator *A = get_allocator(ctx);
    mtype *T = A ? handle_type(A, alloc) : NULL;
    if (!T) return 0;
    tlock_lock(&T->lock);
    rec *R = handle_rec(T, alloc, NULL, NULL);
    uint64_t s = R ? (R->block ? R->block->size : R->size) : 0;
    tlock_unlock(&T->lock);
    return s;
}

sedx_result sedx_memory_set_name(sedx_context *ctx, sedx_allocation alloc, const char *name)
{
    NEED_ALLOCATOR(A, ctx, "sedx_memory_set_name");
    mtype *T;
    rec *R;
    sedx_result r = lock_rec(A, alloc, "sedx_memory_set_name", &T, &R);
    if (r != SEDX_SUCCESS) return r;
    r = sedx__mem_rec_set_name(R, name);
    tlock_unlock(&T->lock);
    return r;
}

sedx_result sedx_memory_set_user_data(sedx_context *ctx, sedx_allocation alloc, void *user_data)
{
    NEED_ALLOCATOR(A, ctx, "sedx_memory_set_user_data");
    mtype *T;
    rec *R;
    sedx_result r = lock_rec(A, alloc, "sedx_memory_set_user_data", &T, &R);
    if (r != SEDX_SUCCESS) return r;
    R->user_data = user_data;
    tlock_unlock(&T->lock);
    return SEDX_SUCCESS;
}

sedx_result sedx__memory_placement(sedx_context *ctx, sedx_allocation alloc, sedx__placement *out)
{
    NEED_ALLOCATOR(A, ctx, "sedx__memory_placement");
    mtype *T = handle_type(A, alloc);
    if (!T || !out) return SEDX_ERROR_INVALID_HANDLE;
    tlock_lock(&T->lock);
    rec *R = handle_rec(T, alloc, NULL, NULL);
    if (R) fill_placement(T, R, out);
    tlock_unlock(&T->lock);
    return R ? SEDX_SUCCESS : SEDX_ERROR_INVALID_HANDLE;
}

/* ------------------------------------------------------------------------------------------
 * Mapping
 * ---------------------------------------------------------------------------------------- */
sedx_result sedx__mem_block_map(allocator *A, block *b)
{
    if (b->mapped) return SEDX_SUCCESS;
    void *p = NULL;
    VkResult vr = A->vk.MapMemory(A->device, b->memory, 0, VK_WHOLE_SIZE, 0, &p);
    if (vr != VK_SUCCESS) return SEDX__VK(vr, "vkMapMemory");
    b->mapped = p;
    return SEDX_SUCCESS;
}

sedx_result sedx_memory_map(sedx_context *ctx, sedx_allocation alloc, void **out_ptr)
{
    NEED_ALLOCATOR(A, ctx, "sedx_memory_map");
    if (!out_ptr) return SEDX__ERR(SEDX_ERROR_INVALID_ARGUMENT, TAG, "sedx_memory_map: out_ptr is NULL");
    mtype *T;
    rec *R;
    sedx_result r = lock_rec(A, alloc, "sedx_memory_map", &T, &R);
    if (r != SEDX_SUCCESS) return r;
    char name[128];
    if (!T->host_visible) {
        name_copy(name, sizeof name, R);
        tlock_unlock(&T->lock);
        return SEDX__ERR(SEDX_ERROR_NOT_HOST_VISIBLE, TAG, "map of allocation '%s': memory type %u is not host-visible",
                         name, T->index);
    }
    void *p = NULL;
    if (R->block) {
        r = sedx__mem_block_map(A, R->block);
        if (r == SEDX_SUCCESS) p = R->block->mapped + R->offset;
    } else if (R->map_count == 0) {
        /* into a local: on failure the driver may have written anything there, and ded_mapped
         * says whether the memory is mapped (the free unmaps it, a flush needs it) */
        void *mp = NULL;
        VkResult vr = A->vk.MapMemory(A->device, R->memory, 0, VK_WHOLE_SIZE, 0, &mp);
        if (vr != VK_SUCCESS) r = SEDX__VK(vr, "vkMapMemory");
        else p = R->ded_mapped = mp;
    } else {
        p = R->ded_mapped;
    }
    if (r == SEDX_SUCCESS) {
        if (R->map_count == UINT32_MAX) r = SEDX_ERROR_INVALID_ARGUMENT;
        else R->map_count++;
    }
    tlock_unlock(&T->lock);
    if (r != SEDX_SUCCESS) return r;
    *out_ptr = p;
    return SEDX_SUCCESS;
}

sedx_result sedx_memory_unmap(sedx_context *ctx, sedx_allocation alloc)
{
    NEED_ALLOCATOR(A, ctx, "sedx_memory_unmap");
    mtype *T;
    rec *R;
    sedx_result r = lock_rec(A, alloc, "sedx_memory_unmap", &T, &R);
    if (r != SEDX_SUCCESS) return r;
    if (R->map_count == 0) {
        char name[128];
        name_copy(name, sizeof name, R);
        tlock_unlock(&T->lock);
        return SEDX__ERR(SEDX_ERROR_NOT_MAPPED, TAG, "unmap of allocation '%s' without a matching map", name);
    }
    if (--R->map_count == 0 && !R->block) {
        A->vk.UnmapMemory(A->device, R->memory);
        R->ded_mapped = NULL;
    }
    tlock_unlock(&T->lock);
    return SEDX_SUCCESS;
}

/* ------------------------------------------------------------------------------------------
 * Flush and invalidate
 * ---------------------------------------------------------------------------------------- */
/* With T locked. Error codes are returned unlogged (callers log with context). */
static sedx_result flush_range_locked(allocator *A, mtype *T, rec *R, uint64_t offset, uint64_t size,
                                      VkMappedMemoryRange *out, bool *needed)
{
    *needed = false;
    if (!T->host_visible) return SEDX_ERROR_NOT_HOST_VISIBLE;
    if (offset > R->size) return SEDX_ERROR_OUT_OF_BOUNDS;
    if (size == VK_WHOLE_SIZE) size = R->size - offset;
    else if (size > R->size - offset) return SEDX_ERROR_OUT_OF_BOUNDS;
    if (!T->non_coherent || size == 0) return SEDX_SUCCESS;
    bool mapped = R->block ? R->block->mapped != NULL : R->ded_mapped != NULL;
    if (!mapped) return SEDX_ERROR_NOT_MAPPED;
    uint64_t mem_size = R->block ? R->block->size : R->size;
    uint64_t start = R->offset + offset, end = start + size;
    start = align_down(start, A->atom);
    end = sedx__align_up(end, A->atom);
    if (end == 0 || end > mem_size) end = mem_size;
    *out = (VkMappedMemoryRange){VK_STRUCTURE_TYPE_MAPPED_MEMORY_RANGE, NULL, R->memory, start, end - start};
    *needed = true;
    return SEDX_SUCCESS;
}

sedx_result sedx__memory_flush_range(sedx_context *ctx, sedx_allocation alloc, uint64_t offset, uint64_t size,
                                     VkMappedMemoryRange *out, bool *out_needed)
{
    NEED_ALLOCATOR(A, ctx, "sedx__memory_flush_range");
    mtype *T;
    rec *R;
    sedx_result r = lock_rec(A, alloc, "sedx__memory_flush_range", &T, &R);
    if (r != SEDX_SUCCESS) return r;
    r = flush_range_locked(A, T, R, offset, size, out, out_needed);
    tlock_unlock(&T->lock);
    return r;
}

static sedx_result flush_or_invalidate(sedx_context *ctx, sedx_allocation alloc, uint64_t offset, uint64_t size,
                                       bool invalidate)
{
    const char *fn = invalidate ? "sedx_memory_invalidate" : "sedx_memory_flush";
    NEED_ALLOCATOR(A, ctx, fn);
    mtype *T;
    rec *R;
    sedx_result r = lock_rec(A, alloc, fn, &T, &R);
    if (r != SEDX_SUCCESS) return r;
    VkMappedMemoryRange mr;
    bool needed;
    char name[128];
    r = flush_range_locked(A, T, R, offset, size, &mr, &needed);
    uint64_t asize = R->size;
    if (r != SEDX_SUCCESS) name_copy(name, sizeof name, R);
    tlock_unlock(&T->lock);
    if (r != SEDX_SUCCESS)
        return SEDX__ERR(r, TAG, "%s of allocation '%s' (offset %llu, size %llu of %llu bytes): %s", fn, name,
                         (unsigned long long)offset, (unsigned long long)size, (unsigned long long)asize,
                         sedx_result_string(r));
    if (!needed) return SEDX_SUCCESS;
    /* Outside the lock: the allocation keeps its memory alive (freeing it concurrently is a
     * caller error), and neither call needs the memory externally synchronised. */
    VkResult vr = invalidate ? A->vk.InvalidateMappedMemoryRanges(A->device, 1, &mr)
                             : A->vk.FlushMappedMemoryRanges(A->device, 1, &mr);
    return vr == VK_SUCCESS ? SEDX_SUCCESS
                            : SEDX__VK(vr, invalidate ? "vkInvalidateMappedMemoryRanges" : "vkFlushMappedMemoryRanges");
}

sedx_result sedx_memory_flush(sedx_context *ctx, sedx_allocation alloc, uint64_t offset, uint64_t size)
{
    return flush_or_invalidate(ctx, alloc, offset, size, false);
}

sedx_result sedx_memory_invalidate(sedx_context *ctx, sedx_allocation alloc, uint64_t offset, uint64_t size)
{
    return flush_or_invalidate(ctx, alloc, offset, size, true);
}
