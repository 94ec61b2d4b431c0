/*
 * Shared by the GPU allocator's files only (src/memory/): its internal structures, tunables,
 * the handle layout, small inline helpers and the functions one file calls in another.
 *
 * Files
 *  - alloc.c      allocate and free, the hot path: records, blocks and the block policy,
 *                 memory-type choice, the TLSF calls, sedx_memory_free, and the buffer entry
 *                 points on that path (create/destroy buffer, the buffer layer's
 *                 allocate-and-bind); one translation unit, so that they inline and stay together
 *  - devmem.c     device memory: vkAllocateMemory/vkFreeMemory with every check before the
 *                 driver, failure injection, budget accounting, dedicated allocations
 *  - access.c     a live allocation: details, name and user data, placement, mapping, flush
 *                 and invalidate
 *  - debug.c      debug margins, fill patterns, the corruption check
 *  - objects.c    the entry points for raw memory requirements and images: allocate*, bind,
 *                 create/destroy images, find_type
 *  - stats.c      statistics, the budget query, the JSON dump, the leak report, names
 *  - allocator.c  the allocator's life: options, create, destroy
 *  - tlsf.c       the TLSF virtual block (<sedx/virtual_block.h>) every block is cut with
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
#ifndef SEDX_MEMORY_PRIVATE_H
#define SEDX_MEMORY_PRIVATE_H

#include "memory/memory.h"

#include <stdio.h>
#include <string.h>
#if defined(__linux__)
#include <linux/futex.h>
#include <sys/syscall.h>
#include <time.h>
#include <unistd.h>
#endif

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
#define BREQ_CACHE_SIZE 16u                  /* buffer create infos whose requirements are kept */

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
 * The memory type's lock. On Linux a futex lock whose release is a plain store: uncontended,
 * lock is one compare-and-swap and unlock a store and a load, inline. A contended lock spins
 * briefly, then counts itself in `waiters` and sleeps in FUTEX_WAIT; the unlock wakes one
 * sleeper when it sees one. The unlock's store and its load of `waiters` may pass each other
 * (x86 lets a load overtake an earlier store), so a waiter that counted itself just then can
 * miss its wake-up: its sleep has a timeout (TLOCK_WAIT_NS), after which it tries again, so
 * the worst case is a late lock, never a lost one. Why not an atomic exchange in the unlock,
 * as in the classic futex mutex: on the 2-core EPYC VM every locked instruction costs about
 * 3.5-4 ns, and the exchange was 2 of the 5 per buffer created and destroyed (Workload B:
 * about 44 -> 36 ns of sedx's time over the driver per buffer without them). glibc's pthread_mutex_lock/unlock
 * cost about 55 instructions per pair. Acquire on lock, release on unlock: ThreadSanitizer
 * sees the order. Elsewhere a pthread mutex.
 * ---------------------------------------------------------------------------------------- */
#if defined(__linux__)
#define TLOCK_WAIT_NS 100000L /* a sleeping waiter looks again after 100 us at the latest */

typedef struct type_lock {
    _Atomic uint32_t state;   /* 0 free, 1 locked */
    _Atomic uint32_t waiters; /* threads in (or on their way to) FUTEX_WAIT */
} type_lock;

static inline int tlock_init(type_lock *l)
{
    atomic_init(&l->state, 0u);
    atomic_init(&l->waiters, 0u);
    return 0;
}
static inline void tlock_destroy(type_lock *l) { (void)l; }
void sedx__tlock_wait(type_lock *l); /* alloc.c: the contended path */
static inline void tlock_lock(type_lock *l)
{
    uint32_t c = 0;
    if (!atomic_compare_exchange_strong_explicit(&l->state, &c, 1u, memory_order_acquire, memory_order_relaxed))
        sedx__tlock_wait(l);
}
static inline void tlock_unlock(type_lock *l)
{
    atomic_store_explicit(&l->state, 0u, memory_order_release);
    if (atomic_load_explicit(&l->waiters, memory_order_relaxed))
        syscall(SYS_futex, (uint32_t *)&l->state, FUTEX_WAKE_PRIVATE, 1, NULL, NULL, 0);
}
#else
typedef struct type_lock {
    pthread_mutex_t m;
} type_lock;
static inline int tlock_init(type_lock *l) { return pthread_mutex_init(&l->m, NULL); }
static inline void tlock_destroy(type_lock *l) { pthread_mutex_destroy(&l->m); }
static inline void tlock_lock(type_lock *l) { pthread_mutex_lock(&l->m); }
static inline void tlock_unlock(type_lock *l) { pthread_mutex_unlock(&l->m); }
#endif

/* ------------------------------------------------------------------------------------------
 * Types
 * ---------------------------------------------------------------------------------------- */
struct block;
struct tlsf_node; /* tlsf_core.h */

typedef struct rec {
    uint32_t gen;              /* odd while live */
    uint32_t next_free;        /* free list: index + 1 of the next free record, 0 = end */
    struct block *block;       /* NULL: dedicated */
    VkDeviceMemory memory;
    uint64_t offset;           /* of the user range, in memory */
    uint64_t size;             /* as requested */
    uint64_t vsize;            /* block allocations: size of the virtual allocation (margins included) */
    union {                    /* which one is in use: R->block says */
        struct tlsf_node *vnode; /* block allocations: the virtual allocation's node in block->vb (nodes never move) */
        void *ded_mapped;        /* dedicated: the mapping while map_count > 0 */
    };
    uint64_t creation_index;
    void *user_data;
    char *name_heap;           /* names longer than the inline buffer */
    uint32_t map_count;
    uint8_t kind;              /* sedx_allocation_kind */
    char name[NAME_INLINE];    /* inline copy (truncated for long names; kept after free for reports) */
} rec;
/* 128 bytes on 64-bit targets: &page[i] is a shift (at 136 bytes it took three instructions on
 * every allocate and free). */
_Static_assert(sizeof(void *) != 8 || sizeof(rec) == 128, "rec: keep it at 128 bytes on 64-bit targets");

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
    type_lock lock;
    /* constant after creation */
    uint32_t index, heap;
    VkMemoryPropertyFlags flags;
    bool host_visible;
    bool non_coherent;         /* flush/invalidate needed (really, or DEBUG_NONCOHERENT) */
    bool margins;              /* debug margins apply (host-visible and enabled) */
    bool fill;                 /* debug fill patterns apply */
    uint64_t min_align;
    uint64_t handle_bits;      /* (index << H_TYPE_SHIFT) | (allocator tag << H_TAG_SHIFT): what its handles share */
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
    /* Linux: 256 bytes in all, so neighbouring types' locks stay off one cache line and
     * &types[i] is a shift (at 176 bytes it took three instructions on every allocate and
     * free). Elsewhere the lock is a pthread mutex of the platform's size: 64 bytes of padding. */
#if defined(__linux__)
    char pad[136];
#else
    char pad[56];
#endif
} mtype;
#if defined(__linux__)
_Static_assert(sizeof(mtype) == 256, "mtype: resize pad to keep the struct at 256 bytes");
#endif

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

    /* sedx_memory_create_buffer's (and sedx_buffer_create's, through
     * sedx__memory_alloc_bind_buffer) memory requirements per buffer create info (flags, usage,
     * size, sharing mode and up to two queue families; no pNext), from Vulkan 1.3's vkGetDeviceBufferMemoryRequirements,
     * which answers from the create info alone: every buffer made from an equal create info
     * has those requirements, so the per-buffer vkGetBufferMemoryRequirements2 can go. Entries
     * are written once, under breq_lock, and published by breq_count (release); readers take
     * no lock. Full: the other create infos ask the driver per buffer, as before. */
    type_lock breq_lock;
    _Atomic uint32_t breq_count;
    struct breq {
        VkBufferCreateFlags flags;
        VkBufferUsageFlags usage;
        VkDeviceSize size;
        VkSharingMode sharing;
        uint32_t family_count, families[2]; /* CONCURRENT only; 0 for EXCLUSIVE */
        VkMemoryRequirements req;
        bool requires_dedicated, prefers_dedicated;
        /* per usage: the memory type an allocation without flags, explicit property flags,
         * type bits or long name goes to first, when that type's allocation is a plain block
         * allocation (no dedicated rule applies, no debug margins or fill); 0xFF = none */
        uint8_t fast_type[SEDX_MEMORY_USAGE_CUSTOM + 1];
        uint64_t fast_align[SEDX_MEMORY_USAGE_CUSTOM + 1]; /* there: max(req.alignment, min_align) */
    } breq[BREQ_CACHE_SIZE];
};

typedef struct sedx__allocator allocator;

/* Property flags a request asks of its memory type (from the usage and the explicit flags). */
typedef struct type_prefs {
    VkMemoryPropertyFlags required, preferred, not_preferred;
} type_prefs;

/* One allocation request, from memory requirements (and the dedicated requirements). */
typedef struct alloc_request {
    const sedx_allocation_info *info;
    uint64_t size, alignment;
    uint32_t type_bits;        /* VkMemoryRequirements.memoryTypeBits */
    uint8_t kind;
    bool requires_dedicated, prefers_dedicated;
    VkBuffer dedicated_buffer;
    VkImage dedicated_image;
} alloc_request;

/* One VkDeviceMemory to allocate (a block or a dedicated allocation). */
typedef struct devmem_request {
    uint64_t size;
    VkBuffer dedicated_buffer;
    VkImage dedicated_image;
    float priority;
    bool allow_over_budget;
} devmem_request;

/* ------------------------------------------------------------------------------------------
 * Small helpers
 * ---------------------------------------------------------------------------------------- */
static inline uint64_t align_down(uint64_t x, uint64_t a) { return x & ~(a - 1); }
static inline uint64_t block_free(const block *b) { return b->size - b->used; }
static inline const char *rec_name(const rec *R) { return R->name_heap ? R->name_heap : R->name; }
static inline const char *info_name(const sedx_allocation_info *info) { return info->name ? info->name : ""; }
/* Copies a record's name for logging after the lock is dropped. */
static inline void name_copy(char *dst, size_t n, const rec *R) { snprintf(dst, n, "%s", rec_name(R)); }

static inline allocator *get_allocator(sedx_context *ctx) { return ctx ? ctx->layers.memory : NULL; }

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

static inline uint64_t handle_make(const mtype *T, uint32_t index, uint32_t gen)
{
    return (uint64_t)(index + 1u) | T->handle_bits | ((uint64_t)gen << H_GEN_SHIFT);
}

/* The memory type a handle names, or NULL if it cannot be ours. No lock needed. */
static inline mtype *handle_type(allocator *A, sedx_allocation a)
{
    uint64_t h = a.id;
    uint32_t type = (uint32_t)(h >> H_TYPE_SHIFT) & 31u;
    uint32_t tag = (uint32_t)(h >> H_TAG_SHIFT) & 0xFFu;
    if ((h & H_INDEX_MASK) == 0 || tag != A->tag || type >= A->type_count) return NULL;
    return &A->types[type];
}

/* With T locked: the live record of a, or NULL. *double_free tells a just-freed record
 * (the slot was not reused since): a double free. */
static inline rec *handle_rec(mtype *T, sedx_allocation a, uint32_t *out_index, bool *double_free)
{
    uint32_t index = (uint32_t)(a.id & H_INDEX_MASK) - 1u;
    uint32_t gen = (uint32_t)(a.id >> H_GEN_SHIFT) & GEN_MASK;
    if (double_free) *double_free = false;
    if ((index >> REC_PAGE_SHIFT) >= T->page_count || !(gen & 1u)) return NULL;
    rec *R = rec_at(T, index);
    if (R->gen != gen) {
        if (double_free && R->gen == ((gen + 1u) & GEN_MASK)) *double_free = true;
        return NULL;
    }
    if (out_index) *out_index = index;
    return R;
}

static inline void fill_placement(const mtype *T, const rec *R, sedx__placement *place)
{
    place->memory = R->memory;
    place->offset = R->offset;
    place->size = R->size;
    place->memory_type = T->index;
    place->property_flags = T->flags;
    place->dedicated = R->block == NULL;
    place->non_coherent = T->non_coherent;
    place->mapped = NULL;
    if (R->map_count) place->mapped = R->block ? (void *)(R->block->mapped + R->offset) : R->ded_mapped;
}

/* The next creation index (1, 2, 3, ...), with a memory type locked. With one memory type
 * (lavapipe) every allocation is made under that type's lock, which orders the increments:
 * a plain load and store (a locked add costs about 4 ns there, a tenth of a buffer's share). */
static inline uint64_t next_creation_index(allocator *A)
{
    if (A->type_count == 1u) {
        uint64_t v = atomic_load_explicit(&A->creation_counter, memory_order_relaxed) + 1u;
        atomic_store_explicit(&A->creation_counter, v, memory_order_relaxed);
        return v;
    }
    return atomic_fetch_add_explicit(&A->creation_counter, 1u, memory_order_relaxed) + 1u;
}

/* Makes the taken record R (number `index`) live with the common fields. With T locked. */
static inline void rec_publish(allocator *A, mtype *T, rec *R, uint32_t index, const alloc_request *q,
                               sedx_allocation *out)
{
    R->creation_index = next_creation_index(A);
    R->user_data = q->info->user_data;
    R->kind = q->kind;
    R->gen = (R->gen + 1u) & GEN_MASK; /* even -> odd: live */
    out->id = handle_make(T, index, R->gen);
}

/* ------------------------------------------------------------------------------------------
 * Requests from memory requirements (inline: the buffer entry points are the hot path)
 * ---------------------------------------------------------------------------------------- */
static inline void request_init(alloc_request *q, const sedx_allocation_info *info, const VkMemoryRequirements *req)
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
static inline void buffer_request(allocator *A, VkBuffer buffer, const sedx_allocation_info *info, alloc_request *q,
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

/* ------------------------------------------------------------------------------------------
 * alloc.c: allocate and free
 * ---------------------------------------------------------------------------------------- */
/* Records, with T locked (or the record private): take a free one (not yet live); return one
 * that was taken but never made live (untake; discard: also drops the name it was given); set
 * the name (inline when short, else a heap copy). */
sedx_result sedx__mem_rec_take(mtype *T, uint32_t *out_index);
void sedx__mem_rec_untake(mtype *T, uint32_t index);
void sedx__mem_rec_discard(mtype *T, uint32_t index);
sedx_result sedx__mem_rec_set_name(rec *R, const char *name);
/* With T locked: destroys block b (unmapped, its memory freed) and unlinks it. */
void sedx__mem_block_destroy(allocator *A, mtype *T, block *b);
/* The property flags a request's usage and flags ask for; candidate types for them, best
 * first (returns how many). */
sedx_result sedx__mem_usage_prefs(const sedx_allocation_info *info, type_prefs *p);
uint32_t sedx__mem_candidate_types(const allocator *A, const type_prefs *p, uint32_t bits, uint32_t out[32]);
/* The whole choice: memory types in order, block or dedicated, fallbacks. place may be NULL. */
sedx_result sedx__mem_allocate(allocator *A, const alloc_request *q, sedx_allocation *out, sedx__placement *place);
/* The allocation info of a NULL argument (all defaults). */
extern const sedx_allocation_info sedx__mem_default_info;
/* Refuses what sedx does not define (logged with fn), before any Vulkan call; NULL = defaults. */
sedx_result sedx__mem_check_info(const sedx_allocation_info *info, const char *fn);

/* ------------------------------------------------------------------------------------------
 * devmem.c: device memory, budget, dedicated allocations
 * ---------------------------------------------------------------------------------------- */
/* vkAllocateMemory with every check sedx promises before the driver is asked: size limit,
 * budget, heap_size_limit, maxMemoryAllocationCount. Logs only at DEBUG: callers may retry. */
sedx_result sedx__mem_devmem_alloc(allocator *A, mtype *T, const devmem_request *q, VkDeviceMemory *out);
void sedx__mem_devmem_free(allocator *A, mtype *T, VkDeviceMemory memory, uint64_t size);
/* Re-reads VK_EXT_memory_budget. With budget_lock held. */
void sedx__mem_budget_fetch_locked(allocator *A);
/* Current usage and budget of heap h (sedx's estimate between driver reads). */
void sedx__mem_budget_get(allocator *A, uint32_t h, bool fresh, uint64_t *usage, uint64_t *budget);
static inline bool heap_over_budget(allocator *A, uint32_t h)
{
    uint64_t u, b;
    sedx__mem_budget_get(A, h, false, &u, &b);
    return u > b;
}
/* A dedicated VkDeviceMemory. Takes T's lock itself. */
sedx_result sedx__mem_alloc_dedicated(allocator *A, mtype *T, const alloc_request *q, sedx_allocation *out,
                                      sedx__placement *place);

/* ------------------------------------------------------------------------------------------
 * access.c: mapping
 * ---------------------------------------------------------------------------------------- */
/* Maps the whole block once (kept until the block is destroyed). With T locked. */
sedx_result sedx__mem_block_map(allocator *A, block *b);

/* ------------------------------------------------------------------------------------------
 * debug.c: debug margins and fill patterns (host-visible types only; with T locked)
 * ---------------------------------------------------------------------------------------- */
void sedx__mem_margin_write(allocator *A, mtype *T, const rec *R);
/* true when both margins still hold the magic value; `dying`: the allocation is being freed. */
bool sedx__mem_margin_ok(allocator *A, mtype *T, const rec *R, bool dying, bool *front_bad);
void sedx__mem_fill_user_range(allocator *A, mtype *T, const rec *R, int pattern);

/* ------------------------------------------------------------------------------------------
 * stats.c: statistics and reports
 * ---------------------------------------------------------------------------------------- */
/* Logs a leak line for every live record of T (the allocator's first ones only: *leaks counts
 * them over all types) and adds them to *leaks and *leak_bytes. With T locked. */
void sedx__mem_leak_report_type(const mtype *T, uint64_t *leaks, uint64_t *leak_bytes);
void sedx__mem_leak_report_total(uint64_t leaks, uint64_t leak_bytes);

#endif
