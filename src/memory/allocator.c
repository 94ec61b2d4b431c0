/*
 * The GPU memory allocator (VMA's role in the seed).
 *
 * Structure
 *  - One `mtype` per Vulkan memory type, each with its own mutex. Everything an allocation
 *    touches on its hot path lives in its memory type: the blocks (VkDeviceMemory, each
 *    sub-allocated by a TLSF sedx_virtual_block), the dedicated allocations and the records.
 *  - Records (one per live allocation) live in fixed pages per memory type that never move;
 *    freed records go on a free list, so steady-state allocate/free does no host allocation.
 *    The public handle encodes (record index, memory type, allocator tag, generation): a free
 *    or a map goes straight to the right mutex and record, and a stale, foreign or malformed
 *    handle is rejected.
 *  - Heap-wide state (bytes of device memory per heap, the number of VkDeviceMemory objects,
 *    call counters) is atomic; the VK_EXT_memory_budget cache has its own mutex, taken only
 *    when device memory is allocated or freed. Lock order: memory type, then budget.
 *
 * Invariants (checked by the tests through the statistics and the JSON dump)
 *  - blocks[] of a type is sorted by free space, ascending (fuller blocks are tried first,
 *    so empty blocks drift to the end and can be released); block->index is its position.
 *  - At most one empty block per type is kept (the larger one), unless NO_SPARE_BLOCK or the
 *    heap is over budget, in which case none is kept.
 *  - With bufferImageGranularity > 1, all allocations of a non-empty block have the same
 *    granularity class (linear / optimal / unknown); an empty block takes any class.
 *  - rec.gen is odd while the record is live; the handle carries the generation it was
 *    issued with.
 */
#include "memory/memory.h"

#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#define TAG "ALLOC"

/* ------------------------------------------------------------------------------------------
 * Tunables
 * ---------------------------------------------------------------------------------------- */
#define DEFAULT_BLOCK_SIZE (256ull << 20)
#define SMALL_HEAP_MAX (1ull << 30)          /* heaps up to this use heap/8 blocks (as VMA) */
#define NEW_BLOCK_SHIFT_MAX 3u               /* first blocks 1/8, 1/4, 1/2 of the preferred size */
#define FAILED_BLOCK_SHIFT_MAX 3u            /* halvings tried when a new block cannot be allocated */
#define BLOCK_SIZE_GRANULE 4096ull           /* block sizes are multiples of this */
#define DEFAULT_DEBUG_MARGIN 16u
#define MAGIC_MARGIN 0x7F84E666u             /* the value VMA uses, so dumps look familiar */
#define FILL_CREATED 0xDC
#define FILL_DESTROYED 0xEF
#define BUDGET_REFRESH_OPS 30u               /* re-read VK_EXT_memory_budget after this many */
#define NAME_INLINE 40u

/* Handle layout: bits 0-23 record index + 1, 24-28 memory type, 29-36 allocator tag,
 * 37-63 generation (27 bits, odd while live). */
#define H_INDEX_MASK 0xFFFFFFull
#define H_TYPE_SHIFT 24u
#define H_TAG_SHIFT 29u
#define H_GEN_SHIFT 37u
#define GEN_MASK ((1u << 27) - 1u)
#define REC_PAGE_SHIFT 10u
#define REC_PAGE_SIZE (1u << REC_PAGE_SHIFT)
#define REC_MAX_PAGES (((uint32_t)H_INDEX_MASK + 1u) / REC_PAGE_SIZE - 1u) /* index + 1 fits 24 bits */

_Static_assert(VK_MAX_MEMORY_TYPES <= 32, "memory type must fit 5 handle bits");
_Static_assert(REC_MAX_PAGES * REC_PAGE_SIZE <= H_INDEX_MASK, "record index + 1 must fit 24 bits");

enum { CLASS_LINEAR = 0, CLASS_OPTIMAL = 1, CLASS_UNKNOWN = 2 };

/* ------------------------------------------------------------------------------------------
 * Types
 * ---------------------------------------------------------------------------------------- */
struct block;

typedef struct rec {
    uint32_t gen;              /* odd while live */
    uint32_t next_free;        /* free list: index + 1 of the next free record, 0 = end */
    struct block *block;       /* NULL: dedicated */
    VkDeviceMemory memory;
    uint64_t offset;           /* of the user range, in memory */
    uint64_t size;             /* as requested */
    uint64_t vsize;            /* block allocations: size of the virtual allocation (margins included) */
    sedx_virtual_alloc valloc; /* block allocations */
    uint64_t creation_index;
    void *user_data;
    void *ded_mapped;          /* dedicated: the mapping while map_count > 0 */
    char *name_heap;           /* names longer than the inline buffer */
    uint32_t map_count;
    uint8_t kind;              /* sedx_allocation_kind */
    char name[NAME_INLINE];    /* inline copy (truncated for long names; kept after free for reports) */
} rec;

typedef struct block {
    VkDeviceMemory memory;
    uint64_t size;
    sedx_virtual_block *vb;
    uint8_t *mapped;           /* whole-block mapping, NULL until first needed; kept until freed */
    uint64_t used;             /* sum of virtual allocation sizes (for ordering by free space) */
    uint32_t alloc_count;
    uint32_t index;            /* position in mtype.blocks */
    uint32_t id;               /* per type, for dumps and debug names */
    uint8_t klass;             /* granularity class of its allocations (meaningless when empty) */
} block;

typedef struct mtype {
    pthread_mutex_t lock;
    /* constant after creation */
    uint32_t index, heap;
    VkMemoryPropertyFlags flags;
    bool host_visible;
    bool non_coherent;         /* flush/invalidate needed (really, or DEBUG_NONCOHERENT) */
    bool margins;              /* debug margins apply (host-visible and enabled) */
    bool fill;                 /* debug fill patterns apply */
    uint64_t min_align;
    /* blocks, sorted by free space ascending */
    block **blocks;
    uint32_t block_count, block_cap, next_block_id;
    /* records */
    rec **pages;
    uint32_t page_count, page_cap;
    uint32_t free_head;        /* index + 1, 0 = none */
    /* counters */
    uint32_t alloc_count, dedicated_count;
    uint64_t alloc_bytes, block_bytes, dedicated_bytes;
    char pad[64];              /* keeps neighbouring types' mutexes off one cache line */
} mtype;

struct sedx__allocator {
    sedx_context *ctx;
    VkDevice device;
    sedx__memory_vk vk;
    sedx_allocator_info info;  /* resolved; heap_size_limit not kept (copied below) */
    uint32_t type_count, heap_count;
    uint32_t tag;
    uint32_t margin;           /* debug margin bytes, 0 = off */
    uint64_t granularity, atom, max_alloc_size;
    uint32_t max_alloc_count;
    bool split_classes, use_budget_ext, bda, priority;
    uint64_t heap_limit[VK_MAX_MEMORY_HEAPS];     /* 0 = none */
    uint64_t heap_size[VK_MAX_MEMORY_HEAPS];      /* after the limit */
    uint64_t preferred_block[VK_MAX_MEMORY_HEAPS];

    _Atomic uint64_t heap_block_bytes[VK_MAX_MEMORY_HEAPS];
    _Atomic uint32_t device_memory_count;
    _Atomic uint64_t vk_alloc_calls, vk_alloc_failures, vk_free_calls, creation_counter;
    _Atomic uint32_t budget_ops, inject_failures;

    pthread_mutex_t budget_lock;
    bool budget_valid;
    uint64_t b_usage[VK_MAX_MEMORY_HEAPS], b_budget[VK_MAX_MEMORY_HEAPS], b_at_fetch[VK_MAX_MEMORY_HEAPS];

    /* Candidate order over all types for each usage without explicit property flags,
     * [usage][MAPPED set]: the hot path only filters it by memoryTypeBits (order is kept). */
    uint8_t order[SEDX_MEMORY_USAGE_CUSTOM + 1][2][VK_MAX_MEMORY_TYPES];
    uint8_t order_n[SEDX_MEMORY_USAGE_CUSTOM + 1][2];

    mtype types[VK_MAX_MEMORY_TYPES];
};

typedef struct sedx__allocator allocator;

/* ------------------------------------------------------------------------------------------
 * Small helpers
 * ---------------------------------------------------------------------------------------- */
static inline uint64_t align_down(uint64_t x, uint64_t a) { return x & ~(a - 1); }
static inline uint64_t block_free(const block *b) { return b->size - b->used; }
/* SWAR popcount: __builtin_popcount becomes a libgcc call without -mpopcnt. */
static inline uint32_t popcount32(uint32_t x)
{
    x = x - ((x >> 1) & 0x55555555u);
    x = (x & 0x33333333u) + ((x >> 2) & 0x33333333u);
    return (((x + (x >> 4)) & 0x0F0F0F0Fu) * 0x01010101u) >> 24;
}

static const char *rec_name(const rec *r) { return r->name_heap ? r->name_heap : r->name; }

static uint8_t kind_class(const allocator *A, uint32_t kind)
{
    if (!A->split_classes) return CLASS_LINEAR;
    switch (kind) {
    case SEDX_ALLOCATION_KIND_BUFFER:
    case SEDX_ALLOCATION_KIND_IMAGE_LINEAR: return CLASS_LINEAR;
    case SEDX_ALLOCATION_KIND_IMAGE_OPTIMAL: return CLASS_OPTIMAL;
    default: return CLASS_UNKNOWN;
    }
}

static const char *class_name(uint8_t c)
{
    return c == CLASS_LINEAR ? "linear" : c == CLASS_OPTIMAL ? "optimal" : "unknown";
}

const char *sedx_allocation_kind_name(sedx_allocation_kind kind)
{
    switch (kind) {
    case SEDX_ALLOCATION_KIND_UNKNOWN: return "unknown";
    case SEDX_ALLOCATION_KIND_BUFFER: return "buffer";
    case SEDX_ALLOCATION_KIND_IMAGE_LINEAR: return "image-linear";
    case SEDX_ALLOCATION_KIND_IMAGE_OPTIMAL: return "image-optimal";
    }
    return "?";
}

const char *sedx_memory_usage_name(sedx_memory_usage usage)
{
    switch (usage) {
    case SEDX_MEMORY_USAGE_AUTO: return "auto";
    case SEDX_MEMORY_USAGE_GPU_ONLY: return "gpu-only";
    case SEDX_MEMORY_USAGE_UPLOAD: return "upload";
    case SEDX_MEMORY_USAGE_STAGING: return "staging";
    case SEDX_MEMORY_USAGE_READBACK: return "readback";
    case SEDX_MEMORY_USAGE_CUSTOM: return "custom";
    }
    return "?";
}

static allocator *get_allocator(sedx_context *ctx) { return ctx ? ctx->layers.memory : NULL; }

#define NEED_ALLOCATOR(A, ctx, fn)                                                                 \
    allocator *A = get_allocator(ctx);                                                             \
    if (!A) return SEDX__ERR(SEDX_ERROR_INVALID_ARGUMENT, TAG, "%s: %s", fn,                        \
                             ctx ? "context has no allocator" : "ctx is NULL")

/* ------------------------------------------------------------------------------------------
 * Records and handles
 * ---------------------------------------------------------------------------------------- */
static inline rec *rec_at(mtype *T, uint32_t index)
{
    return &T->pages[index >> REC_PAGE_SHIFT][index & (REC_PAGE_SIZE - 1u)];
}

static inline uint64_t handle_make(const allocator *A, const mtype *T, uint32_t index, uint32_t gen)
{
    return (uint64_t)(index + 1u) | ((uint64_t)T->index << H_TYPE_SHIFT) | ((uint64_t)A->tag << H_TAG_SHIFT) |
           ((uint64_t)gen << H_GEN_SHIFT);
}

/* The memory type a handle names, or NULL if it cannot be ours. No lock needed. */
static mtype *handle_type(allocator *A, sedx_allocation a)
{
    uint64_t h = a.id;
    uint32_t type = (uint32_t)(h >> H_TYPE_SHIFT) & 31u;
    uint32_t tag = (uint32_t)(h >> H_TAG_SHIFT) & 0xFFu;
    if ((h & H_INDEX_MASK) == 0 || tag != A->tag || type >= A->type_count) return NULL;
    return &A->types[type];
}

/* With T locked: the live record of a, or NULL. *double_free tells a just-freed record
 * (the slot was not reused since): a double free. */
static rec *handle_rec(mtype *T, sedx_allocation a, uint32_t *out_index, bool *double_free)
{
    uint32_t index = (uint32_t)(a.id & H_INDEX_MASK) - 1u;
    uint32_t gen = (uint32_t)(a.id >> H_GEN_SHIFT) & GEN_MASK;
    if (double_free) *double_free = false;
    if ((index >> REC_PAGE_SHIFT) >= T->page_count || !(gen & 1u)) return NULL;
    rec *r = rec_at(T, index);
    if (r->gen != gen) {
        if (double_free && r->gen == ((gen + 1u) & GEN_MASK)) *double_free = true;
        return NULL;
    }
    if (out_index) *out_index = index;
    return r;
}

/* Takes a free record (not yet live). With T locked. */
static sedx_result rec_take(mtype *T, uint32_t *out_index)
{
    if (!T->free_head) {
        if (T->page_count >= REC_MAX_PAGES)
            return SEDX__ERR(SEDX_ERROR_TOO_MANY_ALLOCATIONS, TAG,
                             "memory type %u: more than %u live allocations", T->index,
                             REC_MAX_PAGES * REC_PAGE_SIZE);
        if (T->page_count == T->page_cap) {
            uint32_t cap = T->page_cap ? T->page_cap * 2u : 8u;
            rec **pages = sedx__realloc(T->pages, cap * sizeof *pages);
            if (!pages) return SEDX__ERR(SEDX_ERROR_OUT_OF_HOST_MEMORY, TAG, "out of host memory (record pages)");
            T->pages = pages;
            T->page_cap = cap;
        }
        rec *page = sedx__calloc(REC_PAGE_SIZE, sizeof *page);
        if (!page) return SEDX__ERR(SEDX_ERROR_OUT_OF_HOST_MEMORY, TAG, "out of host memory (records)");
        uint32_t base = T->page_count * REC_PAGE_SIZE;
        for (uint32_t i = 0; i < REC_PAGE_SIZE; ++i)
            page[i].next_free = (i + 1u < REC_PAGE_SIZE) ? base + i + 2u : 0u;
        T->pages[T->page_count++] = page;
        T->free_head = base + 1u;
    }
    uint32_t index = T->free_head - 1u;
    T->free_head = rec_at(T, index)->next_free;
    *out_index = index;
    return SEDX_SUCCESS;
}

/* Returns a record that was taken but never made live. */
static void rec_untake(mtype *T, uint32_t index)
{
    rec_at(T, index)->next_free = T->free_head;
    T->free_head = index + 1u;
}

/* Sets the name (inline when short, else a heap copy). With T locked or the record private. */
static sedx_result rec_set_name(rec *r, const char *name)
{
    char *heap = NULL;
    size_t n = name ? strlen(name) : 0;
    if (n >= NAME_INLINE) {
        heap = sedx__malloc(n + 1);
        if (!heap) return SEDX__ERR(SEDX_ERROR_OUT_OF_HOST_MEMORY, TAG, "out of host memory (allocation name)");
        memcpy(heap, name, n + 1);
    }
    sedx__free(r->name_heap);
    r->name_heap = heap;
    size_t k = n < NAME_INLINE ? n : NAME_INLINE - 1u;
    if (k) memcpy(r->name, name, k);
    r->name[k] = '\0';
    return SEDX_SUCCESS;
}

/* ------------------------------------------------------------------------------------------
 * Budget
 * ---------------------------------------------------------------------------------------- */
/* With budget_lock held. */
static void budget_fetch_locked(allocator *A)
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

/* Current usage and budget of heap h (sedx's estimate between driver reads). */
static void budget_get(allocator *A, uint32_t h, bool fresh, uint64_t *usage, uint64_t *budget)
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
            if (fresh || !A->budget_valid) budget_fetch_locked(A);
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
            budget_fetch_locked(A);
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

static bool heap_over_budget(allocator *A, uint32_t h)
{
    uint64_t u, b;
    budget_get(A, h, false, &u, &b);
    return u > b;
}

/* ------------------------------------------------------------------------------------------
 * Device memory
 * ---------------------------------------------------------------------------------------- */
typedef struct devmem_request {
    uint64_t size;
    VkBuffer dedicated_buffer;
    VkImage dedicated_image;
    float priority;
    bool allow_over_budget;
} devmem_request;

/* vkAllocateMemory with every check sedx promises before the driver is asked: size limit,
 * budget, heap_size_limit, maxMemoryAllocationCount. Logs only at DEBUG: callers may retry. */
static sedx_result devmem_alloc(allocator *A, mtype *T, const devmem_request *q, VkDeviceMemory *out)
{
    uint32_t h = T->heap;
    if (q->size > A->max_alloc_size) {
        SEDX_LOG_DEBUG_TAG(TAG, "type %u: %llu bytes exceed maxMemoryAllocationSize", T->index,
                           (unsigned long long)q->size);
        return SEDX_ERROR_OUT_OF_DEVICE_MEMORY;
    }
    if (!q->allow_over_budget) {
        uint64_t usage, budget;
        budget_get(A, h, false, &usage, &budget);
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

    VkResult vr;
    uint32_t inj = atomic_load_explicit(&A->inject_failures, memory_order_relaxed);
    while (inj && !atomic_compare_exchange_weak_explicit(&A->inject_failures, &inj, inj - 1u, memory_order_relaxed,
                                                         memory_order_relaxed)) {
    }
    if (inj) vr = VK_ERROR_OUT_OF_DEVICE_MEMORY;
    else vr = A->vk.AllocateMemory(A->device, &ai, NULL, out);
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

static void devmem_free(allocator *A, mtype *T, VkDeviceMemory memory, uint64_t size)
{
    A->vk.FreeMemory(A->device, memory, NULL);
    atomic_fetch_add_explicit(&A->vk_free_calls, 1u, memory_order_relaxed);
    atomic_fetch_sub_explicit(&A->heap_block_bytes[T->heap], size, memory_order_relaxed);
    atomic_fetch_sub_explicit(&A->device_memory_count, 1u, memory_order_relaxed);
    atomic_fetch_add_explicit(&A->budget_ops, 1u, memory_order_relaxed);
}

/* ------------------------------------------------------------------------------------------
 * Blocks (all with T locked)
 * ---------------------------------------------------------------------------------------- */
static void block_swap(mtype *T, uint32_t i, uint32_t j)
{
    block *t = T->blocks[i];
    T->blocks[i] = T->blocks[j];
    T->blocks[j] = t;
    T->blocks[i]->index = i;
    T->blocks[j]->index = j;
}

/* Restores the order after b's free space shrank / grew. */
static void block_sort_fuller(mtype *T, block *b)
{
    while (b->index > 0 && block_free(T->blocks[b->index - 1u]) > block_free(b)) block_swap(T, b->index - 1u, b->index);
}

static void block_sort_emptier(mtype *T, block *b)
{
    while (b->index + 1u < T->block_count && block_free(T->blocks[b->index + 1u]) < block_free(b))
        block_swap(T, b->index, b->index + 1u);
}

static sedx_result block_map(allocator *A, block *b)
{
    if (b->mapped) return SEDX_SUCCESS;
    void *p = NULL;
    VkResult vr = A->vk.MapMemory(A->device, b->memory, 0, VK_WHOLE_SIZE, 0, &p);
    if (vr != VK_SUCCESS) return SEDX__VK(vr, "vkMapMemory");
    b->mapped = p;
    return SEDX_SUCCESS;
}

static void block_destroy(allocator *A, mtype *T, block *b)
{
    /* unlink */
    for (uint32_t i = b->index; i + 1u < T->block_count; ++i) {
        T->blocks[i] = T->blocks[i + 1u];
        T->blocks[i]->index = i;
    }
    T->block_count--;
    T->block_bytes -= b->size;
    if (b->mapped) A->vk.UnmapMemory(A->device, b->memory);
    devmem_free(A, T, b->memory, b->size);
    sedx_virtual_block_destroy(b->vb);
    sedx__free(b);
}

/* A new block of exactly `size` bytes, appended (it is empty: the most free space). */
static sedx_result block_create(allocator *A, mtype *T, uint64_t size, bool allow_over_budget, block **out)
{
    /* host side first: a host failure then costs no driver call */
    if (T->block_count == T->block_cap) {
        uint32_t cap = T->block_cap ? T->block_cap * 2u : 4u;
        block **arr = sedx__realloc(T->blocks, cap * sizeof *arr);
        if (!arr) return SEDX__ERR(SEDX_ERROR_OUT_OF_HOST_MEMORY, TAG, "out of host memory (block list)");
        T->blocks = arr;
        T->block_cap = cap;
    }
    block *b = sedx__calloc(1, sizeof *b);
    if (!b) return SEDX__ERR(SEDX_ERROR_OUT_OF_HOST_MEMORY, TAG, "out of host memory (block)");
    sedx_virtual_block_info vi = {size, 0};
    sedx_result r = sedx_virtual_block_create(&vi, &b->vb);
    if (r != SEDX_SUCCESS) {
        sedx__free(b);
        return r == SEDX_ERROR_OUT_OF_HOST_MEMORY ? r : SEDX__ERR(r, TAG, "virtual block of %llu bytes: %s",
                                                                   (unsigned long long)size, sedx_result_name(r));
    }
    devmem_request q = {size, VK_NULL_HANDLE, VK_NULL_HANDLE, 0.5f, allow_over_budget};
    r = devmem_alloc(A, T, &q, &b->memory);
    if (r != SEDX_SUCCESS) {
        sedx_virtual_block_destroy(b->vb);
        sedx__free(b);
        return r;
    }
    b->size = size;
    b->id = T->next_block_id++;
    if (T->host_visible) {
        /* Mapped now, before any other thread can see the block, and until it is destroyed:
         * vkMapMemory needs the memory externally synchronised, and a first map later would
         * race with the vkBindBufferMemory/vkBindImageMemory of the block's other allocations,
         * which run outside the lock (the validation layer's thread checks caught it). */
        r = block_map(A, b);
        if (r != SEDX_SUCCESS && (T->margins || T->fill)) { /* the debug writes need the mapping */
            devmem_free(A, T, b->memory, size);
            sedx_virtual_block_destroy(b->vb);
            sedx__free(b);
            return r;
        }
        if (r != SEDX_SUCCESS) /* usable without: a later map tries again (and may fail the same way) */
            SEDX_LOG_WARN_TAG(TAG, "memory type %u: a new block of %llu bytes could not be mapped (%s)", T->index,
                              (unsigned long long)size, sedx_result_name(r));
    }
    b->index = T->block_count;
    T->blocks[T->block_count++] = b;
    T->block_bytes += size;
    if (A->ctx->set_object_name) {
        char name[64];
        snprintf(name, sizeof name, "sedx block %u of type %u (%llu KiB)", b->id, T->index,
                 (unsigned long long)(size >> 10));
        sedx_context_set_object_name(A->ctx, VK_OBJECT_TYPE_DEVICE_MEMORY, (uint64_t)b->memory, name);
    }
    *out = b;
    return SEDX_SUCCESS;
}

/* Size of the next block for a request of `need` bytes (VMA's policy: start at 1/8, 1/4, 1/2
 * of the preferred size while that stays larger than every existing block and at least twice
 * the request). */
static uint64_t next_block_size(allocator *A, mtype *T, uint64_t need)
{
    uint64_t size = A->preferred_block[T->heap], largest = 0;
    for (uint32_t i = 0; i < T->block_count; ++i) largest = SEDX__MAX(largest, T->blocks[i]->size);
    uint32_t s = 0;
    while (s < NEW_BLOCK_SHIFT_MAX) {
        uint64_t half = size / 2u;
        if (half > largest && need <= half / 2u) {
            size = half;
            ++s;
        } else {
            break;
        }
    }
    if (size < need) size = sedx__align_up(need, BLOCK_SIZE_GRANULE) ? sedx__align_up(need, BLOCK_SIZE_GRANULE) : need;
    return size;
}

/* ------------------------------------------------------------------------------------------
 * Debug margins and fill
 * ---------------------------------------------------------------------------------------- */
static void range_flush(allocator *A, VkDeviceMemory memory, uint64_t mem_size, uint64_t off, uint64_t size,
                        bool invalidate)
{
    uint64_t start = align_down(off, A->atom), end = sedx__align_up(off + size, A->atom);
    if (end == 0 || end > mem_size) end = mem_size;
    VkMappedMemoryRange mr = {VK_STRUCTURE_TYPE_MAPPED_MEMORY_RANGE, NULL, memory, start, end - start};
    if (invalidate) A->vk.InvalidateMappedMemoryRanges(A->device, 1, &mr);
    else A->vk.FlushMappedMemoryRanges(A->device, 1, &mr);
}

static void margin_write(allocator *A, mtype *T, const rec *r)
{
    block *b = r->block;
    uint32_t m = A->margin, magic = MAGIC_MARGIN;
    for (uint32_t i = 0; i < m; i += 4u) {
        memcpy(b->mapped + r->offset - m + i, &magic, 4);
        memcpy(b->mapped + r->offset + r->size + i, &magic, 4);
    }
    if (T->non_coherent) {
        range_flush(A, b->memory, b->size, r->offset - m, m, false);
        range_flush(A, b->memory, b->size, r->offset + r->size, m, false);
    }
}

/* true when both margins still hold the magic value. `dying`: the allocation is being freed,
 * so on non-coherent memory the margins may be invalidated first (to see GPU overruns): the
 * atom-rounded range can cover the allocation's own last bytes, whose unflushed CPU writes an
 * invalidate would discard, so a live allocation is checked without it. */
static bool margin_ok(allocator *A, mtype *T, const rec *r, bool dying, bool *front_bad)
{
    block *b = r->block;
    uint32_t m = A->margin, v;
    if (T->non_coherent && dying) {
        range_flush(A, b->memory, b->size, r->offset - m, m, true);
        range_flush(A, b->memory, b->size, r->offset + r->size, m, true);
    }
    *front_bad = false;
    for (uint32_t i = 0; i < m; i += 4u) {
        memcpy(&v, b->mapped + r->offset - m + i, 4);
        if (v != MAGIC_MARGIN) {
            *front_bad = true;
            return false;
        }
    }
    for (uint32_t i = 0; i < m; i += 4u) {
        memcpy(&v, b->mapped + r->offset + r->size + i, 4);
        if (v != MAGIC_MARGIN) return false;
    }
    return true;
}

static void fill_user_range(allocator *A, mtype *T, const rec *r, int pattern)
{
    uint8_t *base = r->block ? r->block->mapped : NULL;
    if (!base) return;
    memset(base + r->offset, pattern, (size_t)r->size);
    if (T->non_coherent) range_flush(A, r->block->memory, r->block->size, r->offset, r->size, false);
}

/* ------------------------------------------------------------------------------------------
 * Memory-type choice
 * ---------------------------------------------------------------------------------------- */
typedef struct type_prefs {
    VkMemoryPropertyFlags required, preferred, not_preferred;
} type_prefs;

static sedx_result usage_prefs(const sedx_allocation_info *info, type_prefs *p)
{
    p->required = info->required_flags;
    p->preferred = info->preferred_flags;
    p->not_preferred = info->not_preferred_flags;
    sedx_memory_usage usage = info->usage;
    if (usage == SEDX_MEMORY_USAGE_AUTO)
        usage = (info->flags & SEDX_ALLOCATION_MAPPED) ? SEDX_MEMORY_USAGE_UPLOAD : SEDX_MEMORY_USAGE_GPU_ONLY;
    switch (usage) {
    case SEDX_MEMORY_USAGE_GPU_ONLY:
        p->preferred |= VK_MEMORY_PROPERTY_DEVICE_LOCAL_BIT;
        p->not_preferred |= VK_MEMORY_PROPERTY_HOST_VISIBLE_BIT;
        break;
    case SEDX_MEMORY_USAGE_UPLOAD:
        p->required |= VK_MEMORY_PROPERTY_HOST_VISIBLE_BIT;
        p->preferred |= VK_MEMORY_PROPERTY_DEVICE_LOCAL_BIT | VK_MEMORY_PROPERTY_HOST_COHERENT_BIT;
        p->not_preferred |= VK_MEMORY_PROPERTY_HOST_CACHED_BIT;
        break;
    case SEDX_MEMORY_USAGE_STAGING:
        p->required |= VK_MEMORY_PROPERTY_HOST_VISIBLE_BIT;
        p->preferred |= VK_MEMORY_PROPERTY_HOST_COHERENT_BIT;
        p->not_preferred |= VK_MEMORY_PROPERTY_DEVICE_LOCAL_BIT | VK_MEMORY_PROPERTY_HOST_CACHED_BIT;
        break;
    case SEDX_MEMORY_USAGE_READBACK:
        p->required |= VK_MEMORY_PROPERTY_HOST_VISIBLE_BIT;
        p->preferred |= VK_MEMORY_PROPERTY_HOST_CACHED_BIT | VK_MEMORY_PROPERTY_HOST_COHERENT_BIT;
        break;
    case SEDX_MEMORY_USAGE_CUSTOM:
    case SEDX_MEMORY_USAGE_AUTO: break;
    default: return SEDX__ERR(SEDX_ERROR_INVALID_ARGUMENT, TAG, "unknown memory usage %d", (int)info->usage);
    }
    if (info->flags & SEDX_ALLOCATION_MAPPED) p->required |= VK_MEMORY_PROPERTY_HOST_VISIBLE_BIT;
    p->preferred &= ~p->required;
    p->not_preferred &= ~(p->required | p->preferred);
    return SEDX_SUCCESS;
}

/* Candidate types, best first (cost = missing preferred bits + present not-preferred bits,
 * ties by type index). Returns how many. */
static uint32_t candidate_types(const allocator *A, const type_prefs *p, uint32_t bits, uint32_t out[32])
{
    const VkMemoryPropertyFlags wanted = p->required | p->preferred;
    uint32_t cost[32], n = 0;
    for (uint32_t t = 0; t < A->type_count; ++t) {
        if (!(bits & (1u << t))) continue;
        VkMemoryPropertyFlags f = A->types[t].flags;
        if ((f & p->required) != p->required) continue;
        /* Types that need a feature or a usage sedx does not opt into unless asked for. */
        if ((f & VK_MEMORY_PROPERTY_LAZILY_ALLOCATED_BIT) && !(wanted & VK_MEMORY_PROPERTY_LAZILY_ALLOCATED_BIT)) continue;
        if ((f & VK_MEMORY_PROPERTY_PROTECTED_BIT) && !(p->required & VK_MEMORY_PROPERTY_PROTECTED_BIT)) continue;
        if ((f & (VK_MEMORY_PROPERTY_DEVICE_COHERENT_BIT_AMD | VK_MEMORY_PROPERTY_DEVICE_UNCACHED_BIT_AMD)) &&
            !(p->required & (VK_MEMORY_PROPERTY_DEVICE_COHERENT_BIT_AMD | VK_MEMORY_PROPERTY_DEVICE_UNCACHED_BIT_AMD)))
            continue;
        uint32_t c = popcount32(p->preferred & ~f) + popcount32(p->not_preferred & f);
        uint32_t i = n++;
        while (i > 0 && cost[i - 1u] > c) { /* stable insertion: index order among equals */
            cost[i] = cost[i - 1u];
            out[i] = out[i - 1u];
            --i;
        }
        cost[i] = c;
        out[i] = t;
    }
    return n;
}

/* ------------------------------------------------------------------------------------------
 * Allocation
 * ---------------------------------------------------------------------------------------- */
typedef struct alloc_request {
    const sedx_allocation_info *info;
    uint64_t size, alignment;
    uint32_t type_bits;        /* VkMemoryRequirements.memoryTypeBits */
    uint8_t kind;
    bool requires_dedicated, prefers_dedicated;
    VkBuffer dedicated_buffer;
    VkImage dedicated_image;
} alloc_request;

static void fill_placement(const mtype *T, const rec *r, sedx__placement *p)
{
    p->memory = r->memory;
    p->offset = r->offset;
    p->size = r->size;
    p->memory_type = T->index;
    p->property_flags = T->flags;
    p->dedicated = r->block == NULL;
    p->non_coherent = T->non_coherent;
    p->mapped = NULL;
    if (r->map_count) p->mapped = r->block ? (void *)(r->block->mapped + r->offset) : r->ded_mapped;
}

/* Makes the taken record `index` live with the common fields. With T locked. */
static sedx_result rec_publish(allocator *A, mtype *T, uint32_t index, const alloc_request *q, sedx_allocation *out)
{
    rec *r = rec_at(T, index);
    r->creation_index = atomic_fetch_add_explicit(&A->creation_counter, 1u, memory_order_relaxed) + 1u;
    r->user_data = q->info->user_data;
    r->kind = q->kind;
    r->gen = (r->gen + 1u) & GEN_MASK; /* even -> odd: live */
    out->id = handle_make(A, T, index, r->gen);
    return SEDX_SUCCESS;
}

/* Sub-allocation from an existing or new block. With T locked. */
static sedx_result alloc_block(allocator *A, mtype *T, const alloc_request *q, bool may_create, sedx_allocation *out,
                               sedx__placement *place)
{
    const sedx_allocation_info *info = q->info;
    /* nonCoherentAtomSize for non-coherent types (flushes of neighbours never overlap) and
     * the allocator's min_alignment */
    const uint64_t align = SEDX__MAX(q->alignment, T->min_align);
    uint64_t front = 0, back = 0;
    if (T->margins) {
        front = sedx__align_up(A->margin, align);
        back = A->margin;
    }
    uint64_t vsize;
    if (front == 0 && T->margins) return SEDX__ERR(SEDX_ERROR_INVALID_SIZE, TAG, "alignment too large for margins");
    if (sedx__add_overflows(q->size, front + back, &vsize))
        return SEDX__ERR(SEDX_ERROR_INVALID_SIZE, TAG, "size %llu overflows", (unsigned long long)q->size);
    uint8_t klass = kind_class(A, q->kind);

    uint32_t index;
    sedx_result r = rec_take(T, &index);
    if (r != SEDX_SUCCESS) return r;
    rec *R = rec_at(T, index);
    if (info->name && *info->name) {
        r = rec_set_name(R, info->name);
        if (r != SEDX_SUCCESS) {
            rec_untake(T, index);
            return r;
        }
    } else {
        R->name[0] = '\0';
    }

    block *b = NULL;
    sedx_virtual_alloc va = 0;
    uint64_t voff = 0;
    for (uint32_t i = 0; i < T->block_count; ++i) {
        block *c = T->blocks[i];
        if (c->alloc_count && c->klass != klass) continue;
        if (block_free(c) < vsize) continue;
        if (sedx_virtual_allocate(c->vb, vsize, align, R, &va, &voff) == SEDX_SUCCESS) {
            b = c;
            break;
        }
    }
    if (!b && may_create && !(info->flags & SEDX_ALLOCATION_NEVER_ALLOCATE)) {
        uint64_t size = next_block_size(A, T, vsize);
        bool allow = (info->flags & SEDX_ALLOCATION_ALLOW_OVER_BUDGET) != 0;
        /* On failure (driver out of memory, budget, heap limit) retry with up to
         * FAILED_BLOCK_SHIFT_MAX halvings, never below the request. */
        for (uint32_t retry = 0;; ++retry) {
            r = block_create(A, T, size, allow, &b);
            if (r == SEDX_SUCCESS) break;
            bool device = (r == SEDX_ERROR_OUT_OF_DEVICE_MEMORY || r == SEDX_ERROR_OVER_BUDGET);
            uint64_t half = size / 2u;
            if (!device || retry >= FAILED_BLOCK_SHIFT_MAX || half < vsize) break;
            size = half;
        }
        if (b) {
            r = sedx_virtual_allocate(b->vb, vsize, align, R, &va, &voff);
            if (r != SEDX_SUCCESS) { /* cannot happen: an empty block of >= vsize bytes at offset 0 */
                SEDX_LOG_ERROR_TAG(TAG, "internal: empty block of %llu bytes refused %llu bytes",
                                   (unsigned long long)b->size, (unsigned long long)vsize);
                if (T->block_count && b->alloc_count == 0) block_destroy(A, T, b);
                b = NULL;
                r = SEDX_ERROR_OUT_OF_DEVICE_MEMORY;
            }
        }
    } else if (!b) {
        r = SEDX_ERROR_OUT_OF_DEVICE_MEMORY;
    }
    if (!b) {
        sedx__free(R->name_heap);
        R->name_heap = NULL;
        rec_untake(T, index);
        return r;
    }

    R->block = b;
    R->memory = b->memory;
    R->offset = voff + front;
    R->size = q->size;
    R->vsize = vsize;
    R->valloc = va;
    R->ded_mapped = NULL;
    R->map_count = 0;
    if (info->flags & SEDX_ALLOCATION_MAPPED) {
        r = block_map(A, b);
        if (r != SEDX_SUCCESS) {
            sedx_virtual_free(b->vb, va);
            sedx__free(R->name_heap);
            R->name_heap = NULL;
            rec_untake(T, index);
            return r;
        }
        R->map_count = 1;
    }
    if (b->alloc_count == 0) b->klass = klass;
    b->alloc_count++;
    b->used += vsize;
    block_sort_fuller(T, b);
    T->alloc_count++;
    T->alloc_bytes += q->size;
    if (T->margins) margin_write(A, T, R);
    if (T->fill) fill_user_range(A, T, R, FILL_CREATED);
    rec_publish(A, T, index, q, out);
    if (place) fill_placement(T, R, place);
    return SEDX_SUCCESS;
}

/* A dedicated VkDeviceMemory. Takes T's lock itself; the driver calls run unlocked (the
 * record is taken first, so a host failure costs no driver call). */
static sedx_result alloc_dedicated(allocator *A, mtype *T, const alloc_request *q, sedx_allocation *out,
                                   sedx__placement *place)
{
    const sedx_allocation_info *info = q->info;
    if (info->flags & SEDX_ALLOCATION_NEVER_ALLOCATE) return SEDX_ERROR_OUT_OF_DEVICE_MEMORY;
    uint32_t index;
    pthread_mutex_lock(&T->lock);
    sedx_result r = rec_take(T, &index);
    rec *R = r == SEDX_SUCCESS ? rec_at(T, index) : NULL;
    if (R) {
        R->name[0] = '\0';
        if (info->name && *info->name) {
            r = rec_set_name(R, info->name);
            if (r != SEDX_SUCCESS) rec_untake(T, index);
        }
    }
    pthread_mutex_unlock(&T->lock);
    if (r != SEDX_SUCCESS) return r;

    float prio = info->priority > 0.0f ? SEDX__MIN(info->priority, 1.0f) : 0.5f;
    devmem_request dq = {q->size, q->dedicated_buffer, q->dedicated_image, prio,
                         (info->flags & SEDX_ALLOCATION_ALLOW_OVER_BUDGET) != 0};
    VkDeviceMemory memory = VK_NULL_HANDLE;
    void *mapped = NULL;
    r = devmem_alloc(A, T, &dq, &memory);
    if (r == SEDX_SUCCESS && (info->flags & SEDX_ALLOCATION_MAPPED)) {
        VkResult vr = A->vk.MapMemory(A->device, memory, 0, VK_WHOLE_SIZE, 0, &mapped);
        if (vr != VK_SUCCESS) {
            devmem_free(A, T, memory, q->size);
            r = SEDX__VK(vr, "vkMapMemory");
        }
    }
    pthread_mutex_lock(&T->lock);
    if (r != SEDX_SUCCESS) {
        sedx__free(R->name_heap);
        R->name_heap = NULL;
        rec_untake(T, index);
        pthread_mutex_unlock(&T->lock);
        return r;
    }
    R->block = NULL;
    R->memory = memory;
    R->offset = 0;
    R->size = q->size;
    R->vsize = 0;
    R->valloc = 0;
    R->ded_mapped = mapped;
    R->map_count = mapped ? 1u : 0u;
    T->alloc_count++;
    T->alloc_bytes += q->size;
    T->dedicated_count++;
    T->dedicated_bytes += q->size;
    rec_publish(A, T, index, q, out);
    if (place) fill_placement(T, R, place);
    pthread_mutex_unlock(&T->lock);
    if (A->ctx->set_object_name && info->name && *info->name)
        sedx_context_set_object_name(A->ctx, VK_OBJECT_TYPE_DEVICE_MEMORY, (uint64_t)memory, info->name);
    return SEDX_SUCCESS;
}

static bool is_device_failure(sedx_result r)
{
    return r == SEDX_ERROR_OUT_OF_DEVICE_MEMORY || r == SEDX_ERROR_OVER_BUDGET || r == SEDX_ERROR_TOO_MANY_ALLOCATIONS;
}

/* One memory type: dedicated or block, with the fallbacks between them. */
static sedx_result alloc_in_type(allocator *A, mtype *T, const alloc_request *q, sedx_allocation *out,
                                 sedx__placement *place)
{
    const sedx_allocation_info *info = q->info;
    bool must_dedicated = q->requires_dedicated || (info->flags & SEDX_ALLOCATION_DEDICATED) ||
                          (A->info.flags & SEDX_ALLOCATOR_DEBUG_ALWAYS_DEDICATED);
    bool no_dedicated = (info->flags & (SEDX_ALLOCATION_NO_DEDICATED | SEDX_ALLOCATION_NEVER_ALLOCATE)) != 0;
    bool prefer_dedicated = !must_dedicated && !no_dedicated &&
                            (q->prefers_dedicated || q->size > A->preferred_block[T->heap] / 2u);
    if (must_dedicated) return alloc_dedicated(A, T, q, out, place);
    sedx_result r;
    if (prefer_dedicated) {
        r = alloc_dedicated(A, T, q, out, place);
        if (!is_device_failure(r)) return r;
    }
    pthread_mutex_lock(&T->lock);
    /* When dedicated was preferred and failed, only existing blocks are worth trying if the
     * request is larger than a block would be. */
    bool may_create = !prefer_dedicated || q->size <= A->preferred_block[T->heap];
    r = alloc_block(A, T, q, may_create, out, place);
    pthread_mutex_unlock(&T->lock);
    if (r == SEDX_SUCCESS || !is_device_failure(r) || prefer_dedicated || no_dedicated) return r;
    /* Last resort (as VMA): a dedicated allocation needs less memory than a new block. */
    sedx_result r2 = alloc_dedicated(A, T, q, out, place);
    return r2 == SEDX_SUCCESS ? r2 : r;
}


static const char *info_name(const sedx_allocation_info *info) { return info->name ? info->name : ""; }

static sedx_result allocate(allocator *A, const alloc_request *q, sedx_allocation *out, sedx__placement *place)
{
    const sedx_allocation_info *info = q->info;
    if (q->size == 0) return SEDX__ERR(SEDX_ERROR_INVALID_SIZE, TAG, "allocation '%s': size 0", info_name(info));
    if (!sedx__is_pow2(q->alignment))
        return SEDX__ERR(SEDX_ERROR_INVALID_ALIGNMENT, TAG, "allocation '%s': alignment %llu is not a power of two",
                         info_name(info), (unsigned long long)q->alignment);
    if ((info->flags & SEDX_ALLOCATION_NEVER_ALLOCATE) &&
        (q->requires_dedicated || (info->flags & SEDX_ALLOCATION_DEDICATED)))
        return SEDX__ERR(SEDX_ERROR_INVALID_ARGUMENT, TAG, "allocation '%s': NEVER_ALLOCATE with a dedicated allocation",
                         info_name(info));
    uint32_t bits = q->type_bits;
    if (info->memory_type_bits) bits &= info->memory_type_bits;
    uint32_t cand[32], n = 0;
    type_prefs p;
    sedx_result r;
    if (!(info->required_flags | info->preferred_flags | info->not_preferred_flags) &&
        (uint32_t)info->usage <= SEDX_MEMORY_USAGE_CUSTOM) {
        const uint32_t m = (info->flags & SEDX_ALLOCATION_MAPPED) ? 1u : 0u;
        const uint8_t *order = A->order[info->usage][m];
        for (uint32_t k = 0; k < A->order_n[info->usage][m]; ++k)
            if (bits & (1u << order[k])) cand[n++] = order[k];
    } else {
        r = usage_prefs(info, &p);
        if (r != SEDX_SUCCESS) return r;
        n = candidate_types(A, &p, bits, cand);
    }
    if (n == 0) {
        if (usage_prefs(info, &p) != SEDX_SUCCESS) p.required = info->required_flags;
        return SEDX__ERR(SEDX_ERROR_NO_MEMORY_TYPE, TAG,
                         "allocation '%s': no memory type among 0x%x has the required properties 0x%x",
                         info_name(info), bits, p.required);
    }
    if (info->flags & SEDX_ALLOCATION_NO_FALLBACK) n = 1;
    sedx_result first = SEDX_SUCCESS;
    for (uint32_t i = 0; i < n; ++i) {
        r = alloc_in_type(A, &A->types[cand[i]], q, out, place);
        if (r == SEDX_SUCCESS) return SEDX_SUCCESS;
        if (first == SEDX_SUCCESS) first = r;
        if (!is_device_failure(r)) break;
    }
    return SEDX__ERR(first, TAG, "allocation '%s' of %llu bytes (%s, memory type %u first of %u tried) failed: %s",
                     info_name(info), (unsigned long long)q->size, sedx_memory_usage_name(info->usage), cand[0], n,
                     sedx_result_name(first));
}

static const sedx_allocation_info k_default_info;

/* Refuses what sedx does not define (logged with fn), before any Vulkan call; NULL = defaults. */
static sedx_result check_info(const sedx_allocation_info *info, const char *fn)
{
    if (!info) return SEDX_SUCCESS;
    if (info->flags & ~SEDX_ALLOCATION_FLAGS_ALL)
        return SEDX__ERR(SEDX_ERROR_INVALID_ARGUMENT, TAG, "%s: allocation '%s': unknown flag bits 0x%x (known: 0x%x)",
                         fn, info_name(info), info->flags & ~SEDX_ALLOCATION_FLAGS_ALL, SEDX_ALLOCATION_FLAGS_ALL);
    if ((uint32_t)info->usage > SEDX_MEMORY_USAGE_CUSTOM)
        return SEDX__ERR(SEDX_ERROR_INVALID_ARGUMENT, TAG, "%s: allocation '%s': unknown memory usage %d", fn,
                         info_name(info), (int)info->usage);
    if ((uint32_t)info->kind > SEDX_ALLOCATION_KIND_IMAGE_OPTIMAL)
        return SEDX__ERR(SEDX_ERROR_INVALID_ARGUMENT, TAG, "%s: allocation '%s': unknown kind %u", fn,
                         info_name(info), (unsigned)info->kind);
    return SEDX_SUCCESS;
}

/* What vkCreateBuffer would flag as invalid usage (VUID-VkBufferCreateInfo-size-00912, -usage-requiredbitmask). */
static sedx_result check_buffer_create_info(const VkBufferCreateInfo *bi)
{
    const char *fn = "sedx_memory_create_buffer";
    if (bi->size == 0) return SEDX__ERR(SEDX_ERROR_INVALID_SIZE, TAG, "%s: size 0", fn);
    if (bi->usage == 0) return SEDX__ERR(SEDX_ERROR_INVALID_USAGE, TAG, "%s: usage 0", fn);
    return SEDX_SUCCESS;
}

/* Same for vkCreateImage (VUID-VkImageCreateInfo-extent-00944/5/6, -mipLevels-00947,
 * -arrayLayers-00948, -usage-requiredbitmask). */
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

static void request_init(alloc_request *q, const sedx_allocation_info *info, const VkMemoryRequirements *req)
{
    q->info = info;
    q->size = req->size;
    q->alignment = req->alignment ? req->alignment : 1u;
    q->type_bits = req->memoryTypeBits;
    q->kind = (uint8_t)info->kind;
    q->requires_dedicated = false;
    q->prefers_dedicated = false;
    q->dedicated_buffer = VK_NULL_HANDLE;
    q->dedicated_image = VK_NULL_HANDLE;
}

/* Requirements of a buffer (with the dedicated requirements). */
static void buffer_request(allocator *A, VkBuffer buffer, const sedx_allocation_info *info, alloc_request *q,
                           VkMemoryRequirements2 *req2, VkMemoryDedicatedRequirements *ded)
{
    *ded = (VkMemoryDedicatedRequirements){VK_STRUCTURE_TYPE_MEMORY_DEDICATED_REQUIREMENTS, NULL, VK_FALSE, VK_FALSE};
    *req2 = (VkMemoryRequirements2){VK_STRUCTURE_TYPE_MEMORY_REQUIREMENTS_2, ded, {0, 0, 0}};
    VkBufferMemoryRequirementsInfo2 ri = {VK_STRUCTURE_TYPE_BUFFER_MEMORY_REQUIREMENTS_INFO_2, NULL, buffer};
    A->vk.GetBufferMemoryRequirements2(A->device, &ri, req2);
    request_init(q, info, &req2->memoryRequirements);
    q->kind = SEDX_ALLOCATION_KIND_BUFFER;
    q->requires_dedicated = ded->requiresDedicatedAllocation != VK_FALSE;
    q->prefers_dedicated = ded->prefersDedicatedAllocation != VK_FALSE;
    q->dedicated_buffer = buffer;
}

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
 * Public: allocate, bind, create/destroy
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
    sedx_result r = check_info(info, "sedx_memory_allocate");
    if (r != SEDX_SUCCESS) return r;
    if (!info) info = &k_default_info;
    alloc_request q;
    request_init(&q, info, requirements);
    if (dedicated) {
        q.requires_dedicated = dedicated->requiresDedicatedAllocation != VK_FALSE;
        q.prefers_dedicated = dedicated->prefersDedicatedAllocation != VK_FALSE;
    }
    q.dedicated_buffer = dedicated_buffer;
    q.dedicated_image = dedicated_image;
    sedx_allocation a;
    r = allocate(A, &q, &a, NULL);
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
    sedx_result r = check_info(info, "sedx_memory_allocate_for_buffer");
    if (r != SEDX_SUCCESS) return r;
    if (!info) info = &k_default_info;
    alloc_request q;
    VkMemoryRequirements2 req2;
    VkMemoryDedicatedRequirements ded;
    buffer_request(A, buffer, info, &q, &req2, &ded);
    sedx_allocation a;
    r = allocate(A, &q, &a, NULL);
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
    sedx_result r = check_info(info, "sedx_memory_allocate_for_image");
    if (r != SEDX_SUCCESS) return r;
    if (!info) info = &k_default_info;
    alloc_request q;
    VkMemoryRequirements2 req2;
    VkMemoryDedicatedRequirements ded;
    image_request(A, image, tiling, info, &q, &req2, &ded);
    sedx_allocation a;
    r = allocate(A, &q, &a, NULL);
    if (r == SEDX_SUCCESS) *out = a;
    return r;
}

sedx_result sedx__memory_placement(sedx_context *ctx, sedx_allocation alloc, sedx__placement *out)
{
    NEED_ALLOCATOR(A, ctx, "sedx__memory_placement");
    mtype *T = handle_type(A, alloc);
    if (!T || !out) return SEDX_ERROR_INVALID_HANDLE;
    pthread_mutex_lock(&T->lock);
    rec *R = handle_rec(T, alloc, NULL, NULL);
    if (R) fill_placement(T, R, out);
    pthread_mutex_unlock(&T->lock);
    return R ? SEDX_SUCCESS : SEDX_ERROR_INVALID_HANDLE;
}

sedx_result sedx_memory_bind_buffer(sedx_context *ctx, sedx_allocation alloc, VkBuffer buffer)
{
    NEED_ALLOCATOR(A, ctx, "sedx_memory_bind_buffer");
    if (!buffer) return SEDX__ERR(SEDX_ERROR_INVALID_ARGUMENT, TAG, "sedx_memory_bind_buffer: buffer is NULL");
    sedx__placement p;
    if (sedx__memory_placement(ctx, alloc, &p) != SEDX_SUCCESS)
        return SEDX__ERR(SEDX_ERROR_INVALID_HANDLE, TAG, "sedx_memory_bind_buffer: invalid allocation handle 0x%llx",
                         (unsigned long long)alloc.id);
    VkResult vr = A->vk.BindBufferMemory(A->device, buffer, p.memory, p.offset);
    return vr == VK_SUCCESS ? SEDX_SUCCESS : SEDX__VK(vr, "vkBindBufferMemory");
}

sedx_result sedx_memory_bind_image(sedx_context *ctx, sedx_allocation alloc, VkImage image)
{
    NEED_ALLOCATOR(A, ctx, "sedx_memory_bind_image");
    if (!image) return SEDX__ERR(SEDX_ERROR_INVALID_ARGUMENT, TAG, "sedx_memory_bind_image: image is NULL");
    sedx__placement p;
    if (sedx__memory_placement(ctx, alloc, &p) != SEDX_SUCCESS)
        return SEDX__ERR(SEDX_ERROR_INVALID_HANDLE, TAG, "sedx_memory_bind_image: invalid allocation handle 0x%llx",
                         (unsigned long long)alloc.id);
    VkResult vr = A->vk.BindImageMemory(A->device, image, p.memory, p.offset);
    return vr == VK_SUCCESS ? SEDX_SUCCESS : SEDX__VK(vr, "vkBindImageMemory");
}

sedx_result sedx__memory_alloc_bind_buffer(sedx_context *ctx, VkBuffer buffer, const sedx_allocation_info *info,
                                           sedx_allocation *out, sedx__placement *out_place)
{
    NEED_ALLOCATOR(A, ctx, "sedx__memory_alloc_bind_buffer");
    if (!buffer || !out) return SEDX__ERR(SEDX_ERROR_INVALID_ARGUMENT, TAG, "sedx__memory_alloc_bind_buffer: NULL argument");
    sedx_result r = check_info(info, "sedx_memory_create_buffer");
    if (r != SEDX_SUCCESS) return r;
    if (!info) info = &k_default_info;
    alloc_request q;
    VkMemoryRequirements2 req2;
    VkMemoryDedicatedRequirements ded;
    buffer_request(A, buffer, info, &q, &req2, &ded);
    sedx__placement p;
    sedx_allocation a;
    r = allocate(A, &q, &a, &p);
    if (r != SEDX_SUCCESS) return r;
    VkResult vr = A->vk.BindBufferMemory(A->device, buffer, p.memory, p.offset);
    if (vr != VK_SUCCESS) {
        sedx_memory_free(ctx, a);
        return SEDX__VK(vr, "vkBindBufferMemory");
    }
    *out = a;
    if (out_place) *out_place = p;
    return SEDX_SUCCESS;
}

sedx_result sedx_memory_create_buffer(sedx_context *ctx, const VkBufferCreateInfo *buffer_info,
                                      const sedx_allocation_info *info, VkBuffer *out_buffer, sedx_allocation *out_alloc)
{
    NEED_ALLOCATOR(A, ctx, "sedx_memory_create_buffer");
    if (!buffer_info || !out_buffer || !out_alloc)
        return SEDX__ERR(SEDX_ERROR_INVALID_ARGUMENT, TAG, "sedx_memory_create_buffer: NULL argument");
    sedx_result r = check_buffer_create_info(buffer_info);
    if (r == SEDX_SUCCESS) r = check_info(info, "sedx_memory_create_buffer");
    if (r != SEDX_SUCCESS) return r;
    VkBuffer buffer;
    VkResult vr = A->vk.CreateBuffer(A->device, buffer_info, NULL, &buffer);
    if (vr != VK_SUCCESS) return SEDX__VK(vr, "vkCreateBuffer");
    sedx_allocation a;
    r = sedx__memory_alloc_bind_buffer(ctx, buffer, info, &a, NULL);
    if (r != SEDX_SUCCESS) {
        A->vk.DestroyBuffer(A->device, buffer, NULL);
        return r;
    }
    *out_buffer = buffer;
    *out_alloc = a;
    return SEDX_SUCCESS;
}

sedx_result sedx_memory_create_image(sedx_context *ctx, const VkImageCreateInfo *image_info,
                                     const sedx_allocation_info *info, VkImage *out_image, sedx_allocation *out_alloc)
{
    NEED_ALLOCATOR(A, ctx, "sedx_memory_create_image");
    if (!image_info || !out_image || !out_alloc)
        return SEDX__ERR(SEDX_ERROR_INVALID_ARGUMENT, TAG, "sedx_memory_create_image: NULL argument");
    sedx_result r = check_image_create_info(image_info);
    if (r == SEDX_SUCCESS) r = check_info(info, "sedx_memory_create_image");
    if (r != SEDX_SUCCESS) return r;
    if (!info) info = &k_default_info;
    VkImage image;
    VkResult vr = A->vk.CreateImage(A->device, image_info, NULL, &image);
    if (vr != VK_SUCCESS) return SEDX__VK(vr, "vkCreateImage");
    alloc_request q;
    VkMemoryRequirements2 req2;
    VkMemoryDedicatedRequirements ded;
    image_request(A, image, image_info->tiling, info, &q, &req2, &ded);
    sedx__placement p;
    sedx_allocation a;
    r = allocate(A, &q, &a, &p);
    if (r == SEDX_SUCCESS) {
        vr = A->vk.BindImageMemory(A->device, image, p.memory, p.offset);
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

sedx_result sedx_memory_destroy_buffer(sedx_context *ctx, VkBuffer buffer, sedx_allocation alloc)
{
    NEED_ALLOCATOR(A, ctx, "sedx_memory_destroy_buffer");
    if (buffer) A->vk.DestroyBuffer(A->device, buffer, NULL);
    return sedx_memory_free(ctx, alloc);
}

sedx_result sedx_memory_destroy_image(sedx_context *ctx, VkImage image, sedx_allocation alloc)
{
    NEED_ALLOCATOR(A, ctx, "sedx_memory_destroy_image");
    if (image) A->vk.DestroyImage(A->device, image, NULL);
    return sedx_memory_free(ctx, alloc);
}

/* ------------------------------------------------------------------------------------------
 * Public: free
 * ---------------------------------------------------------------------------------------- */
/* With T locked: b just became empty. Keeps at most one spare empty block per type (the larger
 * one), none when NO_SPARE_BLOCK is set or the heap is over budget. */
static void block_became_empty(allocator *A, mtype *T, block *b)
{
    if ((A->info.flags & SEDX_ALLOCATOR_NO_SPARE_BLOCK) || heap_over_budget(A, T->heap)) {
        block_destroy(A, T, b);
        return;
    }
    for (uint32_t i = 0; i < T->block_count; ++i) {
        block *c = T->blocks[i];
        if (c != b && c->alloc_count == 0) {
            block_destroy(A, T, c->size < b->size ? c : b);
            return;
        }
    }
}

/* Copies a record's name for logging after the lock is dropped. */
static void name_copy(char *dst, size_t n, const rec *r) { snprintf(dst, n, "%s", rec_name(r)); }

sedx_result sedx_memory_free(sedx_context *ctx, sedx_allocation alloc)
{
    if (alloc.id == 0) return SEDX_SUCCESS;
    NEED_ALLOCATOR(A, ctx, "sedx_memory_free");
    mtype *T = handle_type(A, alloc);
    if (!T)
        return SEDX__ERR(SEDX_ERROR_INVALID_HANDLE, TAG, "sedx_memory_free: invalid or foreign allocation handle 0x%llx",
                         (unsigned long long)alloc.id);
    char name[128];
    uint32_t index;
    bool double_free;
    pthread_mutex_lock(&T->lock);
    rec *R = handle_rec(T, alloc, &index, &double_free);
    if (!R) {
        if (double_free) {
            rec *dead = rec_at(T, (uint32_t)(alloc.id & H_INDEX_MASK) - 1u);
            snprintf(name, sizeof name, "%s", dead->name);
            uint64_t ci = dead->creation_index;
            pthread_mutex_unlock(&T->lock);
            return SEDX__ERR(SEDX_ERROR_DOUBLE_FREE, TAG, "sedx_memory_free: double free of allocation '%s' (#%llu)",
                             name, (unsigned long long)ci);
        }
        pthread_mutex_unlock(&T->lock);
        return SEDX__ERR(SEDX_ERROR_INVALID_HANDLE, TAG, "sedx_memory_free: invalid or stale allocation handle 0x%llx",
                         (unsigned long long)alloc.id);
    }
    sedx_result result = SEDX_SUCCESS;
    bool front_bad = false;
    uint64_t ci = R->creation_index, off = R->offset, size = R->size;
    block *b = R->block;
    VkDeviceMemory ded = VK_NULL_HANDLE;
    bool ded_mapped = false;
    if (b) {
        if (T->margins && !margin_ok(A, T, R, true, &front_bad)) {
            result = SEDX_ERROR_CORRUPTION;
            name_copy(name, sizeof name, R);
        }
        if (T->fill) fill_user_range(A, T, R, FILL_DESTROYED);
        sedx_result vr = sedx_virtual_free(b->vb, R->valloc);
        if (vr != SEDX_SUCCESS)
            SEDX_LOG_ERROR_TAG(TAG, "internal: virtual free failed (%s)", sedx_result_name(vr)); /* validate() territory */
        b->alloc_count--;
        b->used -= R->vsize;
        block_sort_emptier(T, b);
        if (b->alloc_count == 0) block_became_empty(A, T, b);
    } else {
        ded = R->memory;
        ded_mapped = R->ded_mapped != NULL;
        T->dedicated_count--;
        T->dedicated_bytes -= R->size;
    }
    T->alloc_count--;
    T->alloc_bytes -= R->size;
    sedx__free(R->name_heap);
    R->name_heap = NULL;
    R->gen = (R->gen + 1u) & GEN_MASK; /* odd -> even: dead */
    R->block = NULL;
    R->memory = VK_NULL_HANDLE;
    R->ded_mapped = NULL;
    R->map_count = 0;
    R->user_data = NULL;
    R->next_free = T->free_head;
    T->free_head = index + 1u;
    pthread_mutex_unlock(&T->lock);
    if (ded) {
        if (ded_mapped) A->vk.UnmapMemory(A->device, ded);
        devmem_free(A, T, ded, size);
    }
    if (result == SEDX_ERROR_CORRUPTION)
        SEDX_LOG_ERROR_TAG(TAG,
                           "memory corruption: the debug margin %s allocation '%s' (#%llu, %llu bytes at offset %llu "
                           "of memory type %u) was overwritten",
                           front_bad ? "before" : "after", name, (unsigned long long)ci, (unsigned long long)size,
                           (unsigned long long)off, T->index);
    return result;
}

/* ------------------------------------------------------------------------------------------
 * Public: details, names, mapping, flush
 * ---------------------------------------------------------------------------------------- */
/* Locks the handle's type and finds its record; logs and returns an error otherwise. */
static sedx_result lock_rec(allocator *A, sedx_allocation alloc, const char *fn, mtype **outT, rec **outR)
{
    mtype *T = handle_type(A, alloc);
    if (T) {
        pthread_mutex_lock(&T->lock);
        rec *R = handle_rec(T, alloc, NULL, NULL);
        if (R) {
            *outT = T;
            *outR = R;
            return SEDX_SUCCESS;
        }
        pthread_mutex_unlock(&T->lock);
    }
    return SEDX__ERR(SEDX_ERROR_INVALID_HANDLE, TAG, "%s: invalid, freed or foreign allocation handle 0x%llx", fn,
                     (unsigned long long)alloc.id);
}

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
    pthread_mutex_unlock(&T->lock);
    *out = d;
    return SEDX_SUCCESS;
}

uint64_t sedx__memory_device_memory_size(sedx_context *ctx, sedx_allocation alloc)
{
    allocator *A = get_allocator(ctx);
    mtype *T = A ? handle_type(A, alloc) : NULL;
    if (!T) return 0;
    pthread_mutex_lock(&T->lock);
    rec *R = handle_rec(T, alloc, NULL, NULL);
    uint64_t s = R ? (R->block ? R->block->size : R->size) : 0;
    pthread_mutex_unlock(&T->lock);
    return s;
}

sedx_result sedx_memory_set_name(sedx_context *ctx, sedx_allocation alloc, const char *name)
{
    NEED_ALLOCATOR(A, ctx, "sedx_memory_set_name");
    mtype *T;
    rec *R;
    sedx_result r = lock_rec(A, alloc, "sedx_memory_set_name", &T, &R);
    if (r != SEDX_SUCCESS) return r;
    r = rec_set_name(R, name);
    pthread_mutex_unlock(&T->lock);
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
    pthread_mutex_unlock(&T->lock);
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
        pthread_mutex_unlock(&T->lock);
        return SEDX__ERR(SEDX_ERROR_NOT_HOST_VISIBLE, TAG, "map of allocation '%s': memory type %u is not host-visible",
                         name, T->index);
    }
    void *p = NULL;
    if (R->block) {
        r = block_map(A, R->block);
        if (r == SEDX_SUCCESS) p = R->block->mapped + R->offset;
    } else if (R->map_count == 0) {
        VkResult vr = A->vk.MapMemory(A->device, R->memory, 0, VK_WHOLE_SIZE, 0, &R->ded_mapped);
        if (vr != VK_SUCCESS) r = SEDX__VK(vr, "vkMapMemory");
        else p = R->ded_mapped;
    } else {
        p = R->ded_mapped;
    }
    if (r == SEDX_SUCCESS) {
        if (R->map_count == UINT32_MAX) r = SEDX_ERROR_INVALID_ARGUMENT;
        else R->map_count++;
    }
    pthread_mutex_unlock(&T->lock);
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
        pthread_mutex_unlock(&T->lock);
        return SEDX__ERR(SEDX_ERROR_NOT_MAPPED, TAG, "unmap of allocation '%s' without a matching map", name);
    }
    if (--R->map_count == 0 && !R->block) {
        A->vk.UnmapMemory(A->device, R->memory);
        R->ded_mapped = NULL;
    }
    pthread_mutex_unlock(&T->lock);
    return SEDX_SUCCESS;
}

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
    pthread_mutex_unlock(&T->lock);
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
    pthread_mutex_unlock(&T->lock);
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

sedx_result sedx_memory_find_type(sedx_context *ctx, const sedx_allocation_info *info, uint32_t memory_type_bits,
                                  uint32_t *out_type)
{
    NEED_ALLOCATOR(A, ctx, "sedx_memory_find_type");
    if (!out_type) return SEDX__ERR(SEDX_ERROR_INVALID_ARGUMENT, TAG, "sedx_memory_find_type: out_type is NULL");
    sedx_result r = check_info(info, "sedx_memory_find_type");
    if (r != SEDX_SUCCESS) return r;
    if (!info) info = &k_default_info;
    type_prefs p;
    r = usage_prefs(info, &p);
    if (r != SEDX_SUCCESS) return r;
    uint32_t bits = memory_type_bits;
    if (info->memory_type_bits) bits &= info->memory_type_bits;
    uint32_t cand[32];
    if (candidate_types(A, &p, bits, cand) == 0) return SEDX_ERROR_NO_MEMORY_TYPE;
    *out_type = cand[0];
    return SEDX_SUCCESS;
}

void sedx__memory_inject_device_failures(sedx_context *ctx, uint32_t count)
{
    allocator *A = get_allocator(ctx);
    if (A) atomic_store(&A->inject_failures, count);
}

const sedx__memory_vk *sedx__memory_vk_fns(const sedx_context *ctx)
{
    return ctx && ctx->layers.memory ? &ctx->layers.memory->vk : NULL;
}

/* ------------------------------------------------------------------------------------------
 * Statistics and budget
 * ---------------------------------------------------------------------------------------- */
/* With T locked. */
static void type_stat_locked(mtype *T, sedx_memory_stat *s)
{
    memset(s, 0, sizeof *s);
    s->block_count = T->block_count;
    s->dedicated_count = T->dedicated_count;
    s->allocation_count = T->alloc_count;
    s->allocation_bytes = T->alloc_bytes;
    s->block_bytes = T->block_bytes + T->dedicated_bytes;
    for (uint32_t i = 0; i < T->block_count; ++i) {
        sedx_virtual_block_stats vs;
        sedx_virtual_block_get_stats(T->blocks[i]->vb, &vs);
        s->free_range_count += vs.free_range_count;
        s->largest_free_range = SEDX__MAX(s->largest_free_range, vs.largest_free_range);
        if (T->blocks[i]->alloc_count == 0) s->empty_block_count++;
    }
}

static void stat_add(sedx_memory_stat *d, const sedx_memory_stat *s)
{
    d->block_count += s->block_count;
    d->dedicated_count += s->dedicated_count;
    d->allocation_count += s->allocation_count;
    d->allocation_bytes += s->allocation_bytes;
    d->block_bytes += s->block_bytes;
    d->free_range_count += s->free_range_count;
    d->largest_free_range = SEDX__MAX(d->largest_free_range, s->largest_free_range);
    d->empty_block_count += s->empty_block_count;
}

static void collect_stats(allocator *A, sedx_memory_stats *out)
{
    memset(out, 0, sizeof *out);
    out->memory_type_count = A->type_count;
    out->memory_heap_count = A->heap_count;
    for (uint32_t t = 0; t < A->type_count; ++t) {
        mtype *T = &A->types[t];
        pthread_mutex_lock(&T->lock);
        type_stat_locked(T, &out->memory_type[t]);
        pthread_mutex_unlock(&T->lock);
        stat_add(&out->memory_heap[T->heap], &out->memory_type[t]);
        stat_add(&out->total, &out->memory_type[t]);
    }
    out->vk_allocate_count = atomic_load(&A->vk_alloc_calls);
    out->vk_allocate_failures = atomic_load(&A->vk_alloc_failures);
    out->vk_free_count = atomic_load(&A->vk_free_calls);
    out->device_memory_count = atomic_load(&A->device_memory_count);
}

sedx_result sedx_memory_get_stats(sedx_context *ctx, sedx_memory_stats *out)
{
    NEED_ALLOCATOR(A, ctx, "sedx_memory_get_stats");
    if (!out) return SEDX__ERR(SEDX_ERROR_INVALID_ARGUMENT, TAG, "sedx_memory_get_stats: out is NULL");
    collect_stats(A, out);
    return SEDX_SUCCESS;
}

static void collect_budget(allocator *A, sedx_memory_budget *out, bool fresh)
{
    for (uint32_t h = 0; h < A->heap_count; ++h) {
        memset(&out[h], 0, sizeof out[h]);
        budget_get(A, h, fresh && h == 0, &out[h].usage, &out[h].budget);
        out[h].block_bytes = atomic_load(&A->heap_block_bytes[h]);
        out[h].heap_size = A->heap_size[h];
    }
    for (uint32_t t = 0; t < A->type_count; ++t) {
        mtype *T = &A->types[t];
        pthread_mutex_lock(&T->lock);
        out[T->heap].allocation_bytes += T->alloc_bytes;
        pthread_mutex_unlock(&T->lock);
    }
}

sedx_result sedx_memory_get_budget(sedx_context *ctx, sedx_memory_budget out[VK_MAX_MEMORY_HEAPS], uint32_t *out_count)
{
    NEED_ALLOCATOR(A, ctx, "sedx_memory_get_budget");
    if (!out) return SEDX__ERR(SEDX_ERROR_INVALID_ARGUMENT, TAG, "sedx_memory_get_budget: out is NULL");
    collect_budget(A, out, true);
    if (out_count) *out_count = A->heap_count;
    return SEDX_SUCCESS;
}

uint32_t sedx_memory_release_empty_blocks(sedx_context *ctx)
{
    allocator *A = get_allocator(ctx);
    if (!A) return 0;
    uint32_t n = 0;
    for (uint32_t t = 0; t < A->type_count; ++t) {
        mtype *T = &A->types[t];
        pthread_mutex_lock(&T->lock);
        for (uint32_t i = T->block_count; i-- > 0;) {
            if (T->blocks[i]->alloc_count == 0) {
                block_destroy(A, T, T->blocks[i]);
                ++n;
            }
        }
        pthread_mutex_unlock(&T->lock);
    }
    return n;
}

sedx_result sedx_memory_check_corruption(sedx_context *ctx, uint32_t memory_type_bits)
{
    NEED_ALLOCATOR(A, ctx, "sedx_memory_check_corruption");
    if (!A->margin) return SEDX_ERROR_FEATURE_NOT_PRESENT;
    enum { REPORT_MAX = 16 };
    struct { char name[128]; uint64_t index, size, offset; bool front; } rep[REPORT_MAX];
    uint32_t bad = 0;
    for (uint32_t t = 0; t < A->type_count; ++t) {
        mtype *T = &A->types[t];
        if (!(memory_type_bits & (1u << t)) || !T->margins) continue;
        uint32_t nrep = 0;
        pthread_mutex_lock(&T->lock);
        for (uint32_t p = 0; p < T->page_count; ++p) {
            for (uint32_t i = 0; i < REC_PAGE_SIZE; ++i) {
                rec *R = &T->pages[p][i];
                bool front;
                if (!(R->gen & 1u) || !R->block || margin_ok(A, T, R, false, &front)) continue;
                if (nrep < REPORT_MAX) {
                    name_copy(rep[nrep].name, sizeof rep[nrep].name, R);
                    rep[nrep].index = R->creation_index;
                    rep[nrep].size = R->size;
                    rep[nrep].offset = R->offset;
                    rep[nrep].front = front;
                    ++nrep;
                }
                ++bad;
            }
        }
        pthread_mutex_unlock(&T->lock);
        for (uint32_t k = 0; k < nrep; ++k)
            SEDX_LOG_ERROR_TAG(TAG,
                               "memory corruption: the debug margin %s allocation '%s' (#%llu, %llu bytes at offset "
                               "%llu of memory type %u) was overwritten",
                               rep[k].front ? "before" : "after", rep[k].name, (unsigned long long)rep[k].index,
                               (unsigned long long)rep[k].size, (unsigned long long)rep[k].offset, t);
    }
    if (bad) SEDX_LOG_ERROR_TAG(TAG, "sedx_memory_check_corruption: %u corrupted allocation%s", bad, bad == 1 ? "" : "s");
    return bad ? SEDX_ERROR_CORRUPTION : SEDX_SUCCESS;
}

sedx_result sedx_memory_get_allocator_info(sedx_context *ctx, sedx_allocator_info *out)
{
    NEED_ALLOCATOR(A, ctx, "sedx_memory_get_allocator_info");
    if (!out) return SEDX__ERR(SEDX_ERROR_INVALID_ARGUMENT, TAG, "sedx_memory_get_allocator_info: out is NULL");
    *out = A->info;
    return SEDX_SUCCESS;
}

/* ------------------------------------------------------------------------------------------
 * JSON dump (written directly: every byte goes through sedx__malloc, and cJSON's global hooks
 * stay the application's)
 * ---------------------------------------------------------------------------------------- */
typedef struct sbuf {
    char *p;
    size_t len, cap;
    bool oom;
} sbuf;

static void sb_put(sbuf *s, const char *src, size_t n)
{
    if (s->oom) return;
    if (s->len + n + 1 > s->cap) {
        size_t cap = s->cap ? s->cap : 4096;
        while (cap < s->len + n + 1) cap *= 2;
        char *p = sedx__realloc(s->p, cap);
        if (!p) {
            s->oom = true;
            return;
        }
        s->p = p;
        s->cap = cap;
    }
    memcpy(s->p + s->len, src, n);
    s->len += n;
    s->p[s->len] = '\0';
}

#if defined(__GNUC__)
__attribute__((format(printf, 2, 3)))
#endif
static void sb_printf(sbuf *s, const char *fmt, ...)
{
    char tmp[512];
    va_list ap;
    va_start(ap, fmt);
    int n = vsnprintf(tmp, sizeof tmp, fmt, ap);
    va_end(ap);
    if (n < 0) return;
    sb_put(s, tmp, (size_t)n < sizeof tmp ? (size_t)n : sizeof tmp - 1);
}

static void sb_str(sbuf *s, const char *str)
{
    sb_put(s, "\"", 1);
    for (const unsigned char *c = (const unsigned char *)str; *c; ++c) {
        const char *esc = *c == '"' ? "\\\"" : *c == '\\' ? "\\\\" : *c == '\n' ? "\\n" : *c == '\r' ? "\\r"
                        : *c == '\t' ? "\\t" : *c == '\b' ? "\\b" : *c == '\f' ? "\\f" : NULL;
        if (esc) {
            sb_put(s, esc, 2);
        } else if (*c < 0x20) {
            sb_printf(s, "\\u%04x", *c);
        } else {
            sb_put(s, (const char *)c, 1);
        }
    }
    sb_put(s, "\"", 1);
}

static void sb_flags(sbuf *s, VkMemoryPropertyFlags f)
{
    static const struct { VkMemoryPropertyFlags bit; const char *name; } names[] = {
        {VK_MEMORY_PROPERTY_DEVICE_LOCAL_BIT, "DEVICE_LOCAL"},
        {VK_MEMORY_PROPERTY_HOST_VISIBLE_BIT, "HOST_VISIBLE"},
        {VK_MEMORY_PROPERTY_HOST_COHERENT_BIT, "HOST_COHERENT"},
        {VK_MEMORY_PROPERTY_HOST_CACHED_BIT, "HOST_CACHED"},
        {VK_MEMORY_PROPERTY_LAZILY_ALLOCATED_BIT, "LAZILY_ALLOCATED"},
        {VK_MEMORY_PROPERTY_PROTECTED_BIT, "PROTECTED"},
        {VK_MEMORY_PROPERTY_DEVICE_COHERENT_BIT_AMD, "DEVICE_COHERENT_AMD"},
        {VK_MEMORY_PROPERTY_DEVICE_UNCACHED_BIT_AMD, "DEVICE_UNCACHED_AMD"},
    };
    sb_put(s, "[", 1);
    bool first = true;
    for (size_t i = 0; i < SEDX__COUNTOF(names); ++i) {
        if (!(f & names[i].bit)) continue;
        if (!first) sb_put(s, ",", 1);
        sb_str(s, names[i].name);
        first = false;
    }
    sb_put(s, "]", 1);
}

static void sb_stat(sbuf *s, const sedx_memory_stat *st)
{
    sb_printf(s,
              "{\"block_count\":%u,\"dedicated_count\":%u,\"allocation_count\":%u,\"allocation_bytes\":%llu,"
              "\"block_bytes\":%llu,\"free_range_count\":%u,\"largest_free_range\":%llu,\"empty_block_count\":%u}",
              st->block_count, st->dedicated_count, st->allocation_count, (unsigned long long)st->allocation_bytes,
              (unsigned long long)st->block_bytes, st->free_range_count, (unsigned long long)st->largest_free_range,
              st->empty_block_count);
}

static void sb_alloc(sbuf *s, const mtype *T, const rec *R, bool first)
{
    sb_printf(s, "%s{\"offset\":%llu,\"size\":%llu,\"name\":", first ? "" : ",", (unsigned long long)R->offset,
              (unsigned long long)R->size);
    sb_str(s, rec_name(R));
    sb_printf(s, ",\"kind\":\"%s\",\"memory_type\":%u,\"creation_index\":%llu,\"map_count\":%u,\"dedicated\":%s}",
              sedx_allocation_kind_name((sedx_allocation_kind)R->kind), T->index,
              (unsigned long long)R->creation_index, R->map_count, R->block ? "false" : "true");
}

typedef struct visit_ctx {
    sbuf *s;
    const mtype *T;
    bool first;
} visit_ctx;

static void visit_alloc(void *c, sedx_virtual_alloc alloc, uint64_t offset, uint64_t size, void *user_data)
{
    (void)alloc;
    (void)offset;
    (void)size;
    visit_ctx *v = c;
    sb_alloc(v->s, v->T, user_data, v->first);
    v->first = false;
}

sedx_result sedx_memory_dump_json(sedx_context *ctx, char **out_json)
{
    NEED_ALLOCATOR(A, ctx, "sedx_memory_dump_json");
    if (!out_json) return SEDX__ERR(SEDX_ERROR_INVALID_ARGUMENT, TAG, "sedx_memory_dump_json: out_json is NULL");
    sbuf s = {0};
    const VkPhysicalDeviceProperties *pp = &A->ctx->props;
    sedx_memory_budget budget[VK_MAX_MEMORY_HEAPS];
    collect_budget(A, budget, false);
    sb_put(&s, "{\"device\":", 10);
    sb_str(&s, pp->deviceName);
    sb_printf(&s,
              ",\"buffer_image_granularity\":%llu,\"non_coherent_atom_size\":%llu,\"max_memory_allocation_count\":%u,"
              "\"memory_budget_extension\":%s,\"debug_margin\":%u,\"flags\":%u",
              (unsigned long long)A->granularity, (unsigned long long)A->atom, A->max_alloc_count,
              A->use_budget_ext ? "true" : "false", A->margin, A->info.flags);
    /* types first (each under its lock), totals summed from exactly what was written */
    sedx_memory_stats st;
    memset(&st, 0, sizeof st);
    sbuf types = {0};
    sb_put(&types, "[", 1);
    for (uint32_t t = 0; t < A->type_count; ++t) {
        mtype *T = &A->types[t];
        pthread_mutex_lock(&T->lock);
        type_stat_locked(T, &st.memory_type[t]);
        sb_printf(&types, "%s{\"index\":%u,\"heap\":%u,\"flags\":", t ? "," : "", t, T->heap);
        sb_flags(&types, T->flags);
        sb_printf(&types, ",\"non_coherent\":%s,\"stats\":", T->non_coherent ? "true" : "false");
        sb_stat(&types, &st.memory_type[t]);
        sb_put(&types, ",\"blocks\":[", 11);
        for (uint32_t i = 0; i < T->block_count; ++i) {
            block *b = T->blocks[i];
            sedx_virtual_block_stats vs;
            sedx_virtual_block_get_stats(b->vb, &vs);
            sb_printf(&types,
                      "%s{\"id\":%u,\"memory\":\"0x%llx\",\"size\":%llu,\"class\":\"%s\",\"mapped\":%s,"
                      "\"allocation_count\":%u,\"free_range_count\":%u,\"largest_free_range\":%llu,\"allocations\":[",
                      i ? "," : "", b->id, (unsigned long long)(uintptr_t)b->memory, (unsigned long long)b->size,
                      b->alloc_count ? class_name(b->klass) : "empty", b->mapped ? "true" : "false", b->alloc_count,
                      vs.free_range_count, (unsigned long long)vs.largest_free_range);
            visit_ctx v = {&types, T, true};
            sedx_virtual_block_foreach(b->vb, visit_alloc, &v);
            sb_put(&types, "]}", 2);
        }
        sb_put(&types, "],\"dedicated\":[", 15);
        bool first = true;
        for (uint32_t p = 0; p < T->page_count; ++p) {
            for (uint32_t i = 0; i < REC_PAGE_SIZE; ++i) {
                const rec *R = &T->pages[p][i];
                if (!(R->gen & 1u) || R->block) continue;
                sb_alloc(&types, T, R, first);
                first = false;
            }
        }
        sb_put(&types, "]}", 2);
        pthread_mutex_unlock(&T->lock);
        stat_add(&st.memory_heap[T->heap], &st.memory_type[t]);
        stat_add(&st.total, &st.memory_type[t]);
    }
    sb_put(&types, "]", 1);
    sb_printf(&s, ",\"vk_allocate_count\":%llu,\"vk_allocate_failures\":%llu,\"vk_free_count\":%llu,"
                  "\"device_memory_count\":%u,\"total\":",
              (unsigned long long)atomic_load(&A->vk_alloc_calls), (unsigned long long)atomic_load(&A->vk_alloc_failures),
              (unsigned long long)atomic_load(&A->vk_free_calls), atomic_load(&A->device_memory_count));
    sb_stat(&s, &st.total);
    sb_put(&s, ",\"heaps\":[", 10);
    for (uint32_t h = 0; h < A->heap_count; ++h) {
        sb_printf(&s, "%s{\"index\":%u,\"size\":%llu,\"flags\":%u,\"preferred_block_size\":%llu,", h ? "," : "", h,
                  (unsigned long long)A->heap_size[h], A->ctx->mem_props.memoryHeaps[h].flags,
                  (unsigned long long)A->preferred_block[h]);
        sb_printf(&s, "\"budget\":{\"usage\":%llu,\"budget\":%llu,\"block_bytes\":%llu,\"allocation_bytes\":%llu},\"stats\":",
                  (unsigned long long)budget[h].usage, (unsigned long long)budget[h].budget,
                  (unsigned long long)budget[h].block_bytes, (unsigned long long)budget[h].allocation_bytes);
        sb_stat(&s, &st.memory_heap[h]);
        sb_put(&s, "}", 1);
    }
    sb_put(&s, "],\"types\":", 10);
    if (!types.oom && types.p) sb_put(&s, types.p, types.len);
    sb_put(&s, "}", 1);
    bool oom = s.oom || types.oom;
    sedx__free(types.p);
    if (oom) {
        sedx__free(s.p);
        return SEDX__ERR(SEDX_ERROR_OUT_OF_HOST_MEMORY, TAG, "out of host memory (JSON dump)");
    }
    *out_json = s.p;
    return SEDX_SUCCESS;
}

void sedx_memory_free_string(char *s) { sedx__free(s); }

/* ------------------------------------------------------------------------------------------
 * Creation and destruction (called by the context)
 * ---------------------------------------------------------------------------------------- */
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
    for (uint32_t t = 0; t < types_initialised; ++t) pthread_mutex_destroy(&A->types[t].lock);
    if (budget_lock) pthread_mutex_destroy(&A->budget_lock);
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
#define LOAD(fn)                                                                                   \
    A->vk.fn = (PFN_vk##fn)vkGetDeviceProcAddr(ctx->device, "vk" #fn);                             \
    if (!A->vk.fn) {                                                                               \
        allocator_free(A, 0, false);                                                               \
        return SEDX__ERR(SEDX_ERROR_VULKAN, TAG, "vkGetDeviceProcAddr(vk" #fn ") returned NULL");  \
    }
    LOAD(AllocateMemory) LOAD(FreeMemory) LOAD(MapMemory) LOAD(UnmapMemory) LOAD(FlushMappedMemoryRanges)
    LOAD(InvalidateMappedMemoryRanges) LOAD(CreateBuffer) LOAD(DestroyBuffer) LOAD(CreateImage) LOAD(DestroyImage)
    LOAD(BindBufferMemory) LOAD(BindImageMemory) LOAD(GetBufferMemoryRequirements2) LOAD(GetImageMemoryRequirements2)
#undef LOAD

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
    uint32_t t = 0;
    for (; t < A->type_count; ++t) {
        mtype *T = &A->types[t];
        if (pthread_mutex_init(&T->lock, NULL) != 0) {
            allocator_free(A, t, false);
            return SEDX__ERR(SEDX_ERROR_OUT_OF_HOST_MEMORY, TAG, "pthread_mutex_init failed");
        }
        T->index = t;
        T->heap = ctx->mem_props.memoryTypes[t].heapIndex;
        T->flags = ctx->mem_props.memoryTypes[t].propertyFlags;
        T->host_visible = (T->flags & VK_MEMORY_PROPERTY_HOST_VISIBLE_BIT) != 0;
        T->non_coherent = T->host_visible && (!(T->flags & VK_MEMORY_PROPERTY_HOST_COHERENT_BIT) ||
                                              (A->info.flags & SEDX_ALLOCATOR_DEBUG_NONCOHERENT));
        T->margins = T->host_visible && A->margin > 0;
        T->fill = T->host_visible && (A->info.flags & SEDX_ALLOCATOR_DEBUG_FILL);
        T->min_align = SEDX__MAX((uint64_t)A->info.min_alignment, T->non_coherent ? A->atom : 1u);
    }
    for (uint32_t u = 0; u <= SEDX_MEMORY_USAGE_CUSTOM; ++u) {
        for (uint32_t m = 0; m < 2; ++m) {
            sedx_allocation_info ai = {0};
            ai.usage = (sedx_memory_usage)u;
            ai.flags = m ? SEDX_ALLOCATION_MAPPED : 0u;
            type_prefs p;
            uint32_t cand[32];
            usage_prefs(&ai, &p);
            uint32_t n = candidate_types(A, &p, UINT32_MAX, cand);
            for (uint32_t k = 0; k < n; ++k) A->order[u][m][k] = (uint8_t)cand[k];
            A->order_n[u][m] = (uint8_t)n;
        }
    }
    if (pthread_mutex_init(&A->budget_lock, NULL) != 0) {
        allocator_free(A, t, false);
        return SEDX__ERR(SEDX_ERROR_OUT_OF_HOST_MEMORY, TAG, "pthread_mutex_init failed");
    }
    if (A->use_budget_ext) {
        pthread_mutex_lock(&A->budget_lock);
        budget_fetch_locked(A);
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

#define LEAK_LINES_MAX 256u

void sedx__allocator_destroy(sedx_context *ctx)
{
    allocator *A = get_allocator(ctx);
    if (!A) return;
    /* Leak report: every live allocation, with name, size and creation index. */
    uint64_t leaks = 0, leak_bytes = 0;
    for (uint32_t t = 0; t < A->type_count; ++t) {
        mtype *T = &A->types[t];
        pthread_mutex_lock(&T->lock);
        for (uint32_t p = 0; p < T->page_count; ++p) {
            for (uint32_t i = 0; i < REC_PAGE_SIZE; ++i) {
                rec *R = &T->pages[p][i];
                if (!(R->gen & 1u)) continue;
                if (leaks < LEAK_LINES_MAX)
                    SEDX_LOG_WARN_TAG(TAG, "leak: allocation '%s' (#%llu): %llu bytes, %s, memory type %u, %s at offset %llu",
                                      *rec_name(R) ? rec_name(R) : "(unnamed)", (unsigned long long)R->creation_index,
                                      (unsigned long long)R->size, sedx_allocation_kind_name((sedx_allocation_kind)R->kind),
                                      t, R->block ? "block" : "dedicated", (unsigned long long)R->offset);
                ++leaks;
                leak_bytes += R->size;
                if (!R->block) {
                    if (R->ded_mapped) A->vk.UnmapMemory(A->device, R->memory);
                    devmem_free(A, T, R->memory, R->size);
                }
                sedx__free(R->name_heap);
                R->name_heap = NULL;
                R->gen = (R->gen + 1u) & GEN_MASK;
            }
        }
        while (T->block_count) block_destroy(A, T, T->blocks[T->block_count - 1u]);
        for (uint32_t p = 0; p < T->page_count; ++p) sedx__free(T->pages[p]);
        sedx__free(T->pages);
        sedx__free(T->blocks);
        pthread_mutex_unlock(&T->lock);
    }
    if (leaks)
        SEDX_LOG_WARN_TAG(TAG, "leak report: %llu allocation%s (%llu bytes) still live when the allocator was destroyed%s",
                          (unsigned long long)leaks, leaks == 1 ? "" : "s", (unsigned long long)leak_bytes,
                          leaks > LEAK_LINES_MAX ? " (first ones listed)" : "");
    SEDX_LOG_DEBUG_TAG(TAG, "allocator destroyed: %llu vkAllocateMemory calls, %llu vkFreeMemory calls",
                       (unsigned long long)atomic_load(&A->vk_alloc_calls), (unsigned long long)atomic_load(&A->vk_free_calls));
    ctx->layers.memory = NULL;
    allocator_free(A, A->type_count, true);
}
