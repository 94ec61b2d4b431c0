/*
 * The allocator's life (the composite context drives it): the options (checked, then resolved
 * with the defaults and SEDX_ALLOC_DEBUG), creation after the device (the device-level entry
 * points, the device's limits, heap and memory-type set-up, the candidate orders of the
 * allocate fast path, the first budget read), and destruction with the leak report.
 */
#include "memory/memory_private.h"

#include <stdlib.h>
#include <strings.h>

static uint32_t env_debug_flags(void)
{
    const char *e = getenv("SEDX_ALLOC_DEBUG");
    if (!e || !*e || strcmp(e, "0") == 0) return 0;
    if (strcmp(e, "1") == 0 || strcasecmp(e, "all") == 0) return SEDX_ALLOCATOR_DEBUG_MARGINS | SEDX_ALLOCATOR_DEBUG_FILL;
    uint32_t f = 0;
    if (strstr(e, "margin")) f |= SEDX_ALLOCATOR_DEBUG_MARGINS;
    if (strstr(e, "fill")) f |= SEDX_ALLOCATOR_DEBUG_FILL;
    if (strstr(e, "noncoherent")) f |= SEDX_ALLOCATOR_DEBUG_NONCOHERENT;
    if (strstr(e, "dedicated")) f |= SEDX_ALLOCATOR_DEBUG_ALWAYS_DEDICATED;
    return f;
}

static void allocator_free(allocator *A, uint32_t types_initialised, bool budget_lock)
{
    for (uint32_t t = 0; t < types_initialised; ++t) tlock_destroy(&A->types[t].lock);
    if (budget_lock) pthread_mutex_destroy(&A->budget_lock);
    tlock_destroy(&A->breq_lock);
    sedx__free(A);
}

sedx_result sedx__allocator_check_info(const sedx_allocator_info *info)
{
    if (!info) return SEDX_SUCCESS;
    if (info->flags & ~SEDX_ALLOCATOR_FLAGS_ALL)
        return SEDX__ERR(SEDX_ERROR_INVALID_ARGUMENT, TAG,
                         "allocator: unknown flag bits 0x%x in sedx_allocator_info.flags (known: 0x%x)",
                         info->flags & ~SEDX_ALLOCATOR_FLAGS_ALL, SEDX_ALLOCATOR_FLAGS_ALL);
    if (info->min_alignment && !sedx__is_pow2(info->min_alignment))
        return SEDX__ERR(SEDX_ERROR_INVALID_ALIGNMENT, TAG, "allocator: min_alignment %u is not a power of two",
                         info->min_alignment);
    return SEDX_SUCCESS;
}

/* ------------------------------------------------------------------------------------------
 * Creation, step by step
 * ---------------------------------------------------------------------------------------- */
/* The device-level entry points, fetched once with vkGetDeviceProcAddr (no loader trampoline). */
static sedx_result load_functions(allocator *A, VkDevice device)
{
#define LOAD(fn)                                                                                   \
    A->vk.fn = (PFN_vk##fn)vkGetDeviceProcAddr(device, "vk" #fn);                                  \
    if (!A->vk.fn) return SEDX__ERR(SEDX_ERROR_VULKAN, TAG, "vkGetDeviceProcAddr(vk" #fn ") returned NULL");
    LOAD(AllocateMemory) LOAD(FreeMemory) LOAD(MapMemory) LOAD(UnmapMemory) LOAD(FlushMappedMemoryRanges)
    LOAD(InvalidateMappedMemoryRanges) LOAD(CreateBuffer) LOAD(DestroyBuffer) LOAD(CreateImage) LOAD(DestroyImage)
    LOAD(BindBufferMemory) LOAD(BindImageMemory) LOAD(GetBufferMemoryRequirements2) LOAD(GetImageMemoryRequirements2)
#undef LOAD
    return SEDX_SUCCESS;
}

/* Vulkan 1.3's create-info requirements query, for sedx_memory_create_buffer's cache (alloc.c). */
static void load_optional_functions(allocator *A, const sedx_context *ctx)
{
    if (ctx->api_version >= VK_API_VERSION_1_3 && ctx->props.apiVersion >= VK_API_VERSION_1_3)
        A->vk.GetDeviceBufferMemoryRequirements = (PFN_vkGetDeviceBufferMemoryRequirements)vkGetDeviceProcAddr(
            ctx->device, "vkGetDeviceBufferMemoryRequirements");
}

/* The options in effect: the caller's (checked), SEDX_ALLOC_DEBUG's flags, the defaults. */
static void resolve_options(allocator *A, const sedx_allocator_info *info)
{
    A->info = *info;
    A->info.heap_size_limit = NULL;
    A->info.flags |= env_debug_flags();
    if (!A->info.preferred_block_size) A->info.preferred_block_size = DEFAULT_BLOCK_SIZE;
    A->info.preferred_block_size = sedx__align_up(A->info.preferred_block_size, BLOCK_SIZE_GRANULE);
    if (!A->info.preferred_block_size) A->info.preferred_block_size = DEFAULT_BLOCK_SIZE; /* overflowed */
    if (!A->info.min_alignment) A->info.min_alignment = 1;
    if (A->info.flags & SEDX_ALLOCATOR_DEBUG_MARGINS) {
        if (!A->info.debug_margin) A->info.debug_margin = DEFAULT_DEBUG_MARGIN;
        A->info.debug_margin = (A->info.debug_margin + 3u) & ~3u;
        A->margin = A->info.debug_margin;
    }
}

/* What the device's limits and the context's enabled features decide. */
static void read_device(allocator *A, const sedx_context *ctx)
{
    const VkPhysicalDeviceLimits *lim = &ctx->props.limits;
    A->type_count = ctx->mem_props.memoryTypeCount;
    A->heap_count = ctx->mem_props.memoryHeapCount;
    A->tag = ctx->id & 0xFFu;
    A->granularity = lim->bufferImageGranularity ? lim->bufferImageGranularity : 1;
    A->split_classes = A->granularity > 1;
    A->atom = sedx__is_pow2(lim->nonCoherentAtomSize) ? lim->nonCoherentAtomSize : 256;
    A->max_alloc_count = lim->maxMemoryAllocationCount ? lim->maxMemoryAllocationCount : UINT32_MAX;
    A->max_alloc_size = ctx->maint3.maxMemoryAllocationSize ? ctx->maint3.maxMemoryAllocationSize : UINT64_MAX;
    A->use_budget_ext = (ctx->features & SEDX_FEATURE_MEMORY_BUDGET) != 0;
    A->bda = (ctx->features & SEDX_FEATURE_BUFFER_DEVICE_ADDRESS) != 0;
    A->priority = (ctx->features & SEDX_FEATURE_MEMORY_PRIORITY) != 0;
}

/* Each heap's size after heap_size_limit and its preferred block size. info: as the caller
 * gave it (an explicit preferred_block_size is told from the default). */
static void size_heaps(allocator *A, const sedx_context *ctx, const sedx_allocator_info *info)
{
    for (uint32_t h = 0; h < A->heap_count; ++h) {
        uint64_t size = ctx->mem_props.memoryHeaps[h].size;
        uint64_t limit = info->heap_size_limit ? info->heap_size_limit[h] : 0;
        A->heap_limit[h] = limit;
        A->heap_size[h] = limit ? SEDX__MIN(size, limit) : size;
        uint64_t pref = A->info.preferred_block_size;
        if (A->heap_size[h] <= SMALL_HEAP_MAX) {
            uint64_t eighth = sedx__align_up(A->heap_size[h] / 8u, BLOCK_SIZE_GRANULE);
            if (!eighth) eighth = BLOCK_SIZE_GRANULE;
            /* an explicit preferred size is an upper bound on small heaps too */
            pref = info->preferred_block_size ? SEDX__MIN(pref, eighth) : eighth;
        }
        A->preferred_block[h] = pref;
    }
}

/* Each memory type's mutex and constant properties. *out_initialised: the mutexes made (all
 * of them on success). */
static sedx_result init_types(allocator *A, const sedx_context *ctx, uint32_t *out_initialised)
{
    uint32_t t = 0;
    for (; t < A->type_count; ++t) {
        mtype *T = &A->types[t];
        if (tlock_init(&T->lock) != 0) {
            *out_initialised = t;
            return SEDX__ERR(SEDX_ERROR_OUT_OF_HOST_MEMORY, TAG, "pthread_mutex_init failed");
        }
        T->index = t;
        T->handle_bits = ((uint64_t)t << H_TYPE_SHIFT) | ((uint64_t)A->tag << H_TAG_SHIFT);
        T->heap = ctx->mem_props.memoryTypes[t].heapIndex;
        T->flags = ctx->mem_props.memoryTypes[t].propertyFlags;
        T->host_visible = (T->flags & VK_MEMORY_PROPERTY_HOST_VISIBLE_BIT) != 0;
        T->non_coherent = T->host_visible && (!(T->flags & VK_MEMORY_PROPERTY_HOST_COHERENT_BIT) ||
                                              (A->info.flags & SEDX_ALLOCATOR_DEBUG_NONCOHERENT));
        T->margins = T->host_visible && A->margin > 0;
        T->fill = T->host_visible && (A->info.flags & SEDX_ALLOCATOR_DEBUG_FILL);
        T->min_align = SEDX__MAX((uint64_t)A->info.min_alignment, T->non_coherent ? A->atom : 1u);
    }
    *out_initialised = t;
    return SEDX_SUCCESS;
}

/* The candidate order over all types of every usage without explicit property flags, with and
 * without MAPPED: sedx__mem_allocate's fast path only filters it by memoryTypeBits. */
static void build_orders(allocator *A)
{
    for (uint32_t u = 0; u <= SEDX_MEMORY_USAGE_CUSTOM; ++u) {
        for (uint32_t m = 0; m < 2; ++m) {
            sedx_allocation_info ai = {0};
            ai.usage = (sedx_memory_usage)u;
            ai.flags = m ? SEDX_ALLOCATION_MAPPED : 0u;
            type_prefs p;
            uint32_t cand[32];
            sedx__mem_usage_prefs(&ai, &p);
            uint32_t n = sedx__mem_candidate_types(A, &p, UINT32_MAX, cand);
            for (uint32_t k = 0; k < n; ++k) A->order[u][m][k] = (uint8_t)cand[k];
            A->order_n[u][m] = (uint8_t)n;
        }
    }
}

sedx_result sedx__allocator_create(sedx_context *ctx, const sedx_allocator_info *info)
{
    static const sedx_allocator_info defaults;
    if (!ctx || !ctx->device) return SEDX__ERR(SEDX_ERROR_INVALID_ARGUMENT, TAG, "allocator: no device");
    if (!info) info = &defaults;
    sedx_result r = sedx__allocator_check_info(info);
    if (r != SEDX_SUCCESS) return r;
    allocator *A = sedx__calloc(1, sizeof *A);
    if (!A) return SEDX__ERR(SEDX_ERROR_OUT_OF_HOST_MEMORY, TAG, "out of host memory (allocator)");
    A->ctx = ctx;
    A->device = ctx->device;
    tlock_init(&A->breq_lock);
    r = load_functions(A, ctx->device);
    if (r != SEDX_SUCCESS) {
        allocator_free(A, 0, false);
        return r;
    }
    load_optional_functions(A, ctx);
    resolve_options(A, info);
    read_device(A, ctx);
    size_heaps(A, ctx, info);
    uint32_t types_initialised;
    r = init_types(A, ctx, &types_initialised);
    if (r != SEDX_SUCCESS) {
        allocator_free(A, types_initialised, false);
        return r;
    }
    build_orders(A);
    if (pthread_mutex_init(&A->budget_lock, NULL) != 0) {
        allocator_free(A, types_initialised, false);
        return SEDX__ERR(SEDX_ERROR_OUT_OF_HOST_MEMORY, TAG, "pthread_mutex_init failed");
    }
    if (A->use_budget_ext) {
        pthread_mutex_lock(&A->budget_lock);
        sedx__mem_budget_fetch_locked(A);
        pthread_mutex_unlock(&A->budget_lock);
    }
    ctx->layers.memory = A;
    SEDX_LOG_DEBUG_TAG(TAG,
                       "allocator: %u memory types, %u heaps, preferred block %llu MiB, granularity %llu, atom %llu, "
                       "budget %s, flags 0x%x",
                       A->type_count, A->heap_count, (unsigned long long)(A->preferred_block[0] >> 20),
                       (unsigned long long)A->granularity, (unsigned long long)A->atom,
                       A->use_budget_ext ? "VK_EXT_memory_budget" : "estimated", A->info.flags);
    return SEDX_SUCCESS;
}

/* ------------------------------------------------------------------------------------------
 * Destruction
 * ---------------------------------------------------------------------------------------- */
/* With T locked: the memory of the live records (leaks, reported already), the blocks and the
 * record pages go. */
static void type_release(allocator *A, mtype *T)
{
    for (uint32_t p = 0; p < T->page_count; ++p) {
        for (uint32_t i = 0; i < REC_PAGE_SIZE; ++i) {
            rec *R = &T->pages[p][i];
            if (!(R->gen & 1u)) continue;
            if (!R->block) {
                if (R->ded_mapped) A->vk.UnmapMemory(A->device, R->memory);
                sedx__mem_devmem_free(A, T, R->memory, R->size);
            }
            sedx__free(R->name_heap);
            R->name_heap = NULL;
            R->gen = (R->gen + 1u) & GEN_MASK;
        }
    }
    while (T->block_count) sedx__mem_block_destroy(A, T, T->blocks[T->block_count - 1u]);
    for (uint32_t p = 0; p < T->page_count; ++p) sedx__free(T->pages[p]);
    sedx__free(T->pages);
    sedx__free(T->blocks);
}

void sedx__allocator_destroy(sedx_context *ctx)
{
    allocator *A = get_allocator(ctx);
    if (!A) return;
    /* Leak report: every live allocation, with name, size and creation index. */
    uint64_t leaks = 0, leak_bytes = 0;
    for (uint32_t t = 0; t < A->type_count; ++t) {
        mtype *T = &A->types[t];
        tlock_lock(&T->lock);
        sedx__mem_leak_report_type(T, &leaks, &leak_bytes);
        type_release(A, T);
        tlock_unlock(&T->lock);
    }
    sedx__mem_leak_report_total(leaks, leak_bytes);
    SEDX_LOG_DEBUG_TAG(TAG, "allocator destroyed: %llu vkAllocateMemory calls, %llu vkFreeMemory calls",
                       (unsigned long long)atomic_load(&A->vk_alloc_calls), (unsigned long long)atomic_load(&A->vk_free_calls));
    ctx->layers.memory = NULL;
    allocator_free(A, A->type_count, true);
}

/* ------------------------------------------------------------------------------------------
 * Accessors
 * ---------------------------------------------------------------------------------------- */
sedx_result sedx_memory_get_allocator_info(sedx_context *ctx, sedx_allocator_info *out)
{
    NEED_ALLOCATOR(A, ctx, "sedx_memory_get_allocator_info");
    if (!out) return SEDX__ERR(SEDX_ERROR_INVALID_ARGUMENT, TAG, "sedx_memory_get_allocator_info: out is NULL");
    *out = A->info;
    return SEDX_SUCCESS;
}

const sedx__memory_vk *sedx__memory_vk_fns(const sedx_context *ctx)
{
    return ctx && ctx->layers.memory ? &ctx->layers.memory->vk : NULL;
}
