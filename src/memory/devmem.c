/*
 * Device memory: every VkDeviceMemory the allocator owns comes from sedx__mem_devmem_alloc
 * (vkAllocateMemory after the size, budget, heap_size_limit and maxMemoryAllocationCount
 * checks, with the test hook that injects failures) and goes back through
 * sedx__mem_devmem_free. The budget accounting (VK_EXT_memory_budget cached under its own
 * lock, or sedx's estimate), and dedicated allocations (one VkDeviceMemory each).
 */
#include "memory/memory_private.h"

/* ------------------------------------------------------------------------------------------
 * Budget
 * ---------------------------------------------------------------------------------------- */
void sedx__mem_budget_fetch_locked(allocator *A)
{
    VkPhysicalDeviceMemoryBudgetPropertiesEXT bp = {.sType = VK_STRUCTURE_TYPE_PHYSICAL_DEVICE_MEMORY_BUDGET_PROPERTIES_EXT};
    VkPhysicalDeviceMemoryProperties2 mp = {VK_STRUCTURE_TYPE_PHYSICAL_DEVICE_MEMORY_PROPERTIES_2, &bp, {0}};
    vkGetPhysicalDeviceMemoryProperties2(A->ctx->physical, &mp);
    for (uint32_t h = 0; h < A->heap_count; ++h) {
        uint64_t heap = A->ctx->mem_props.memoryHeaps[h].size;
        A->b_usage[h] = bp.heapUsage[h];
        A->b_budget[h] = bp.heapBudget[h];
        A->b_at_fetch[h] = atomic_load_explicit(&A->heap_block_bytes[h], memory_order_relaxed);
        /* Some drivers report 0 or more than the heap (VMA applies the same sanitising). */
        if (A->b_budget[h] == 0) A->b_budget[h] = heap / 10u * 8u;
        else if (A->b_budget[h] > heap) A->b_budget[h] = heap;
        if (A->b_usage[h] == 0 && A->b_at_fetch[h] > 0) A->b_usage[h] = A->b_at_fetch[h];
    }
    atomic_store_explicit(&A->budget_ops, 0, memory_order_relaxed);
    A->budget_valid = true;
}

void sedx__mem_budget_get(allocator *A, uint32_t h, bool fresh, uint64_t *usage, uint64_t *budget)
{
    uint64_t blocks = atomic_load_explicit(&A->heap_block_bytes[h], memory_order_relaxed);
    uint64_t u, b;
    if (A->heap_limit[h]) {
        /* A simulated heap of heap_limit bytes that sedx alone uses: deterministic in tests
         * whatever else the process holds in the real heap. */
        u = blocks;
        b = A->heap_limit[h] / 10u * 8u;
        if (A->use_budget_ext) {
            pthread_mutex_lock(&A->budget_lock);
            if (fresh || !A->budget_valid) sedx__mem_budget_fetch_locked(A);
            b = SEDX__MIN(b, A->b_budget[h]);
            pthread_mutex_unlock(&A->budget_lock);
        }
        *usage = u;
        *budget = b;
        return;
    }
    if (A->use_budget_ext) {
        pthread_mutex_lock(&A->budget_lock);
        if (fresh || !A->budget_valid ||
            atomic_load_explicit(&A->budget_ops, memory_order_relaxed) >= BUDGET_REFRESH_OPS)
            sedx__mem_budget_fetch_locked(A);
        blocks = atomic_load_explicit(&A->heap_block_bytes[h], memory_order_relaxed);
        if (blocks >= A->b_at_fetch[h]) u = A->b_usage[h] + (blocks - A->b_at_fetch[h]);
        else u = A->b_usage[h] > A->b_at_fetch[h] - blocks ? A->b_usage[h] - (A->b_at_fetch[h] - blocks) : 0;
        b = A->b_budget[h];
        pthread_mutex_unlock(&A->budget_lock);
    } else {
        u = blocks;
        b = A->ctx->mem_props.memoryHeaps[h].size / 10u * 8u;
    }
    *usage = u;
    *budget = b;
}

/* ------------------------------------------------------------------------------------------
 * vkAllocateMemory / vkFreeMemory
 * ---------------------------------------------------------------------------------------- */
/* The checks before the driver is asked, and the reservations they make: one object of
 * maxMemoryAllocationCount, q->size bytes of the heap (enforcing heap_size_limit). */
static sedx_result devmem_reserve(allocator *A, mtype *T, const devmem_request *q)
{
    uint32_t h = T->heap;
    if (q->size > A->max_alloc_size) {
        SEDX_LOG_DEBUG_TAG(TAG, "type %u: %llu bytes exceed maxMemoryAllocationSize", T->index,
                           (unsigned long long)q->size);
        return SEDX_ERROR_OUT_OF_DEVICE_MEMORY;
    }
    if (q->size > A->heap_size[h]) { /* larger than the heap (or its heap_size_limit): never, budget or not */
        SEDX_LOG_DEBUG_TAG(TAG, "heap %u: %llu bytes exceed the heap's %llu", h, (unsigned long long)q->size,
                           (unsigned long long)A->heap_size[h]);
        return SEDX_ERROR_OUT_OF_DEVICE_MEMORY;
    }
    if (!q->allow_over_budget) {
        uint64_t usage, budget;
        sedx__mem_budget_get(A, h, false, &usage, &budget);
        if (usage + q->size > budget) {
            SEDX_LOG_DEBUG_TAG(TAG, "heap %u: %llu + %llu bytes would exceed the budget of %llu", h,
                               (unsigned long long)usage, (unsigned long long)q->size,
                               (unsigned long long)budget);
            return SEDX_ERROR_OVER_BUDGET;
        }
    }
    /* maxMemoryAllocationCount: reserve one object */
    uint32_t n = atomic_load_explicit(&A->device_memory_count, memory_order_relaxed);
    do {
        if (n >= A->max_alloc_count) {
            SEDX_LOG_DEBUG_TAG(TAG, "maxMemoryAllocationCount (%u) reached", A->max_alloc_count);
            return SEDX_ERROR_TOO_MANY_ALLOCATIONS;
        }
    } while (!atomic_compare_exchange_weak_explicit(&A->device_memory_count, &n, n + 1u, memory_order_relaxed,
                                                    memory_order_relaxed));
    /* heap bytes: reserve, enforcing heap_size_limit */
    uint64_t cur = atomic_load_explicit(&A->heap_block_bytes[h], memory_order_relaxed);
    do {
        if (A->heap_limit[h] && (cur + q->size < cur || cur + q->size > A->heap_limit[h])) {
            atomic_fetch_sub_explicit(&A->device_memory_count, 1u, memory_order_relaxed);
            SEDX_LOG_DEBUG_TAG(TAG, "heap %u: heap_size_limit %llu reached", h, (unsigned long long)A->heap_limit[h]);
            return SEDX_ERROR_OUT_OF_DEVICE_MEMORY;
        }
    } while (!atomic_compare_exchange_weak_explicit(&A->heap_block_bytes[h], &cur, cur + q->size,
                                                    memory_order_relaxed, memory_order_relaxed));
    return SEDX_SUCCESS;
}

/* vkAllocateMemory with the pNext chain the request and the context's features ask for, or
 * the failure sedx__memory_inject_device_failures asked for. */
static VkResult devmem_call(allocator *A, mtype *T, const devmem_request *q, VkDeviceMemory *out)
{
    VkMemoryAllocateInfo ai = {VK_STRUCTURE_TYPE_MEMORY_ALLOCATE_INFO, NULL, q->size, T->index};
    VkMemoryAllocateFlagsInfo flags = {VK_STRUCTURE_TYPE_MEMORY_ALLOCATE_FLAGS_INFO, NULL, 0, 0};
    VkMemoryDedicatedAllocateInfo ded = {VK_STRUCTURE_TYPE_MEMORY_DEDICATED_ALLOCATE_INFO, NULL,
                                         q->dedicated_image, q->dedicated_buffer};
    VkMemoryPriorityAllocateInfoEXT prio = {VK_STRUCTURE_TYPE_MEMORY_PRIORITY_ALLOCATE_INFO_EXT, NULL, q->priority};
    const void **next = &ai.pNext;
    if (A->bda) {
        flags.flags = VK_MEMORY_ALLOCATE_DEVICE_ADDRESS_BIT;
        *next = &flags;
        next = &flags.pNext;
    }
    if (q->dedicated_buffer || q->dedicated_image) {
        *next = &ded;
        next = &ded.pNext;
    }
    if (A->priority) {
        *next = &prio;
        next = &prio.pNext;
    }
    (void)next;

    uint32_t inj = atomic_load_explicit(&A->inject_failures, memory_order_relaxed);
    while (inj && !atomic_compare_exchange_weak_explicit(&A->inject_failures, &inj, inj - 1u, memory_order_relaxed,
                                                         memory_order_relaxed)) {
    }
    if (inj) return VK_ERROR_OUT_OF_DEVICE_MEMORY;
    return A->vk.AllocateMemory(A->device, &ai, NULL, out);
}

sedx_result sedx__mem_devmem_alloc(allocator *A, mtype *T, const devmem_request *q, VkDeviceMemory *out)
{
    uint32_t h = T->heap;
    sedx_result r = devmem_reserve(A, T, q);
    if (r != SEDX_SUCCESS) return r;
    VkResult vr = devmem_call(A, T, q, out);
    atomic_fetch_add_explicit(&A->vk_alloc_calls, 1u, memory_order_relaxed);
    if (vr != VK_SUCCESS) {
        atomic_fetch_add_explicit(&A->vk_alloc_failures, 1u, memory_order_relaxed);
        atomic_fetch_sub_explicit(&A->heap_block_bytes[h], q->size, memory_order_relaxed);
        atomic_fetch_sub_explicit(&A->device_memory_count, 1u, memory_order_relaxed);
        if (vr == VK_ERROR_OUT_OF_DEVICE_MEMORY) {
            SEDX_LOG_DEBUG_TAG(TAG, "vkAllocateMemory(%llu bytes, type %u): out of device memory",
                               (unsigned long long)q->size, T->index);
            return SEDX_ERROR_OUT_OF_DEVICE_MEMORY;
        }
        if (vr == VK_ERROR_TOO_MANY_OBJECTS) return SEDX_ERROR_TOO_MANY_ALLOCATIONS;
        return SEDX__VK(vr, "vkAllocateMemory");
    }
    atomic_fetch_add_explicit(&A->budget_ops, 1u, memory_order_relaxed);
    return SEDX_SUCCESS;
}

void sedx__mem_devmem_free(allocator *A, mtype *T, VkDeviceMemory memory, uint64_t size)
{
    A->vk.FreeMemory(A->device, memory, NULL);
    atomic_fetch_add_explicit(&A->vk_free_calls, 1u, memory_order_relaxed);
    atomic_fetch_sub_explicit(&A->heap_block_bytes[T->heap], size, memory_order_relaxed);
    atomic_fetch_sub_explicit(&A->device_memory_count, 1u, memory_order_relaxed);
    atomic_fetch_add_explicit(&A->budget_ops, 1u, memory_order_relaxed);
}

void sedx__memory_inject_device_failures(sedx_context *ctx, uint32_t count)
{
    allocator *A = get_allocator(ctx);
    if (A) atomic_store(&A->inject_failures, count);
}

/* ------------------------------------------------------------------------------------------
 * Dedicated allocations
 * ---------------------------------------------------------------------------------------- */
/* The driver calls run unlocked (the record is taken first, so a host failure costs no driver
 * call). */
sedx_result sedx__mem_alloc_dedicated(allocator *A, mtype *T, const alloc_request *q, sedx_allocation *out,
                                      sedx__placement *place)
{
    const sedx_allocation_info *info = q->info;
    if (info->flags & SEDX_ALLOCATION_NEVER_ALLOCATE) return SEDX_ERROR_OUT_OF_DEVICE_MEMORY;
    uint32_t index;
    tlock_lock(&T->lock);
    sedx_result r = sedx__mem_rec_take(T, &index);
    rec *R = r == SEDX_SUCCESS ? rec_at(T, index) : NULL;
    if (R) {
        R->name[0] = '\0';
        if (info->name && *info->name) {
            r = sedx__mem_rec_set_name(R, info->name);
            if (r != SEDX_SUCCESS) sedx__mem_rec_untake(T, index);
        }
    }
    tlock_unlock(&T->lock);
    if (r != SEDX_SUCCESS) return r;

    float prio = info->priority > 0.0f ? SEDX__MIN(info->priority, 1.0f) : 0.5f;
    devmem_request dq = {q->size, q->dedicated_buffer, q->dedicated_image, prio,
                         (info->flags & SEDX_ALLOCATION_ALLOW_OVER_BUDGET) != 0};
    VkDeviceMemory memory = VK_NULL_HANDLE;
    void *mapped = NULL;
    r = sedx__mem_devmem_alloc(A, T, &dq, &memory);
    if (r == SEDX_SUCCESS && (info->flags & SEDX_ALLOCATION_MAPPED)) {
        VkResult vr = A->vk.MapMemory(A->device, memory, 0, VK_WHOLE_SIZE, 0, &mapped);
        if (vr != VK_SUCCESS) {
            sedx__mem_devmem_free(A, T, memory, q->size);
            r = SEDX__VK(vr, "vkMapMemory");
        }
    }
    tlock_lock(&T->lock);
    if (r != SEDX_SUCCESS) {
        sedx__mem_rec_discard(T, index);
        tlock_unlock(&T->lock);
        return r;
    }
    R->block = NULL;
    R->memory = memory;
    R->offset = 0;
    R->size = q->size;
    R->vsize = 0;
    R->ded_mapped = mapped;
    R->map_count = mapped ? 1u : 0u;
    T->alloc_count++;
    T->alloc_bytes += q->size;
    T->dedicated_count++;
    T->dedicated_bytes += q->size;
    rec_publish(A, T, R, index, q, out);
    if (place) fill_placement(T, R, place);
    tlock_unlock(&T->lock);
    if (A->ctx->set_object_name && info->name && *info->name)
        sedx_context_set_object_name(A->ctx, VK_OBJECT_TYPE_DEVICE_MEMORY, (uint64_t)memory, info->name);
    return SEDX_SUCCESS;
}
