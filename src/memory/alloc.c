/*
 * Allocate and free: the allocator's hot path, in one translation unit so that its steps
 * inline into each other and its code stays together. Records (taken from and returned to a
 * memory type's free list), blocks (created, kept sorted by free space, released by the
 * spare-block policy), the memory-type choice, the sub-allocation with the TLSF virtual block,
 * the fallbacks between memory types and between block and dedicated allocations,
 * sedx_memory_free, and the buffer entry points the buffer layer calls for every buffer
 * (sedx__memory_alloc_bind_buffer, sedx_memory_create_buffer / _destroy_buffer) with the
 * argument check they share with objects.c. The invariants these keep are listed in
 * memory_private.h.
 */
#include "memory/memory_private.h"
#include "memory/tlsf_core.h" /* the TLSF cores, inline in this file's hot path */

#if defined(__linux__)
/* The contended type lock: spin a little (the holder keeps it for a few hundred instructions),
 * then sleep until an unlock wakes this thread or TLOCK_WAIT_NS pass (see type_lock). */
void sedx__tlock_wait(type_lock *l)
{
    for (int i = 0; i < 64; ++i) {
        uint32_t c = 0;
        if (atomic_load_explicit(&l->state, memory_order_relaxed) == 0u &&
            atomic_compare_exchange_weak_explicit(&l->state, &c, 1u, memory_order_acquire, memory_order_relaxed))
            return;
#if defined(__x86_64__) || defined(__i386__)
        __builtin_ia32_pause();
#endif
    }
    atomic_fetch_add_explicit(&l->waiters, 1u, memory_order_seq_cst);
    for (;;) {
        uint32_t c = 0;
        if (atomic_compare_exchange_strong_explicit(&l->state, &c, 1u, memory_order_acquire, memory_order_relaxed))
            break;
        struct timespec ts = {0, TLOCK_WAIT_NS};
        syscall(SYS_futex, (uint32_t *)&l->state, FUTEX_WAIT_PRIVATE, 1, &ts, NULL, 0);
    }
    atomic_fetch_sub_explicit(&l->waiters, 1u, memory_order_relaxed);
}
#endif

/* SWAR popcount: __builtin_popcount becomes a libgcc call without -mpopcnt. */
static inline uint32_t popcount32(uint32_t x)
{
    x = x - ((x >> 1) & 0x55555555u);
    x = (x & 0x33333333u) + ((x >> 2) & 0x33333333u);
    return (((x + (x >> 4)) & 0x0F0F0F0Fu) * 0x01010101u) >> 24;
}

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

/* ------------------------------------------------------------------------------------------
 * Records
 * ---------------------------------------------------------------------------------------- */
/* Grows the record pages by one page (the free list was empty). */
static sedx_result rec_grow(mtype *T)
{
    if (T->page_count >= REC_MAX_PAGES)
        return SEDX__ERR(SEDX_ERROR_TOO_MANY_ALLOCATIONS, TAG, "memory type %u: more than %u live allocations", T->index,
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
    for (uint32_t i = 0; i < REC_PAGE_SIZE; ++i) page[i].next_free = (i + 1u < REC_PAGE_SIZE) ? base + i + 2u : 0u;
    T->pages[T->page_count++] = page;
    T->free_head = base + 1u;
    return SEDX_SUCCESS;
}

/* A free record (not yet live) and its index; NULL with *r set when none can be made. */
static inline rec *rec_take(mtype *T, uint32_t *out_index, sedx_result *r)
{
    if (!T->free_head && (*r = rec_grow(T)) != SEDX_SUCCESS) return NULL;
    uint32_t index = T->free_head - 1u;
    rec *R = rec_at(T, index);
    T->free_head = R->next_free;
    *out_index = index;
    return R;
}

sedx_result sedx__mem_rec_take(mtype *T, uint32_t *out_index)
{
    sedx_result r = SEDX_SUCCESS;
    rec_take(T, out_index, &r);
    return r;
}

void sedx__mem_rec_untake(mtype *T, uint32_t index)
{
    rec_at(T, index)->next_free = T->free_head;
    T->free_head = index + 1u;
}

void sedx__mem_rec_discard(mtype *T, uint32_t index)
{
    rec *R = rec_at(T, index);
    sedx__free(R->name_heap);
    R->name_heap = NULL;
    sedx__mem_rec_untake(T, index);
}

sedx_result sedx__mem_rec_set_name(rec *R, const char *name)
{
    char *heap = NULL;
    size_t n = name ? strlen(name) : 0;
    if (n >= NAME_INLINE) {
        heap = sedx__malloc(n + 1);
        if (!heap) return SEDX__ERR(SEDX_ERROR_OUT_OF_HOST_MEMORY, TAG, "out of host memory (allocation name)");
        memcpy(heap, name, n + 1);
    }
    /* name may point into the record's own name (the one sedx_memory_get_details returns):
     * copy it inline (memmove) before the old heap copy is freed */
    size_t k = n < NAME_INLINE ? n : NAME_INLINE - 1u;
    if (k) memmove(R->name, name, k);
    R->name[k] = '\0';
    sedx__free(R->name_heap);
    R->name_heap = heap;
    return SEDX_SUCCESS;
}

/* With T locked: the record dies (odd -> even generation) and goes back on the free list. Its
 * other fields stay as they were: nothing reads a dead record but its name and creation index
 * (the double-free report), and every field is set again when it is taken and made live
 * (alloc_block or the dedicated allocation, then rec_publish). */
static inline void rec_kill(mtype *T, rec *R, uint32_t index)
{
    if (R->name_heap) {
        sedx__free(R->name_heap);
        R->name_heap = NULL;
    }
    R->gen = (R->gen + 1u) & GEN_MASK; /* odd -> even: dead */
    R->next_free = T->free_head;
    T->free_head = index + 1u;
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
static inline __attribute__((always_inline)) void block_sort_fuller(mtype *T, block *b)
{
    while (b->index > 0 && block_free(T->blocks[b->index - 1u]) > block_free(b)) block_swap(T, b->index - 1u, b->index);
}

static inline __attribute__((always_inline)) void block_sort_emptier(mtype *T, block *b)
{
    while (b->index + 1u < T->block_count && block_free(T->blocks[b->index + 1u]) < block_free(b))
        block_swap(T, b->index, b->index + 1u);
}

void sedx__mem_block_destroy(allocator *A, mtype *T, block *b)
{
    /* unlink */
    for (uint32_t i = b->index; i + 1u < T->block_count; ++i) {
        T->blocks[i] = T->blocks[i + 1u];
        T->blocks[i]->index = i;
    }
    T->block_count--;
    T->block_bytes -= b->size;
    if (b->mapped) A->vk.UnmapMemory(A->device, b->memory);
    sedx__mem_devmem_free(A, T, b->memory, b->size);
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
    r = sedx__mem_devmem_alloc(A, T, &q, &b->memory);
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
        r = sedx__mem_block_map(A, b);
        if (r != SEDX_SUCCESS && (T->margins || T->fill)) { /* the debug writes need the mapping */
            sedx__mem_devmem_free(A, T, b->memory, size);
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

/* b just became empty. Keeps at most one spare empty block per type (the larger one), none
 * when NO_SPARE_BLOCK is set or the heap is over budget. */
static void block_became_empty(allocator *A, mtype *T, block *b)
{
    if ((A->info.flags & SEDX_ALLOCATOR_NO_SPARE_BLOCK) || heap_over_budget(A, T->heap)) {
        sedx__mem_block_destroy(A, T, b);
        return;
    }
    for (uint32_t i = 0; i < T->block_count; ++i) {
        block *c = T->blocks[i];
        if (c != b && c->alloc_count == 0) {
            sedx__mem_block_destroy(A, T, c->size < b->size ? c : b);
            return;
        }
    }
}

uint32_t sedx_memory_release_empty_blocks(sedx_context *ctx)
{
    allocator *A = get_allocator(ctx);
    if (!A) return 0;
    uint32_t n = 0;
    for (uint32_t t = 0; t < A->type_count; ++t) {
        mtype *T = &A->types[t];
        tlock_lock(&T->lock);
        for (uint32_t i = T->block_count; i-- > 0;) {
            if (T->blocks[i]->alloc_count == 0) {
                sedx__mem_block_destroy(A, T, T->blocks[i]);
                ++n;
            }
        }
        tlock_unlock(&T->lock);
    }
    return n;
}

/* ------------------------------------------------------------------------------------------
 * Memory-type choice
 * ---------------------------------------------------------------------------------------- */
sedx_result sedx__mem_usage_prefs(const sedx_allocation_info *info, type_prefs *p)
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

/* Cost = missing preferred bits + present not-preferred bits, ties by type index. */
uint32_t sedx__mem_candidate_types(const allocator *A, const type_prefs *p, uint32_t bits, uint32_t out[32])
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
 * Allocation from blocks (all with T locked)
 * ---------------------------------------------------------------------------------------- */
/* Alignment, front margin and size of the virtual allocation for q in T. */
static sedx_result block_layout(const allocator *A, const mtype *T, const alloc_request *q, uint64_t *out_align,
                                uint64_t *out_front, uint64_t *out_vsize)
{
    /* nonCoherentAtomSize for non-coherent types (flushes of neighbours never overlap) and
     * the allocator's min_alignment */
    const uint64_t align = SEDX__MAX(q->alignment, T->min_align);
    uint64_t front = 0, back = 0;
    if (T->margins) {
        front = sedx__align_up(A->margin, align);
        back = A->margin;
    }
    if (front == 0 && T->margins) return SEDX__ERR(SEDX_ERROR_INVALID_SIZE, TAG, "alignment too large for margins");
    if (sedx__add_overflows(q->size, front + back, out_vsize))
        return SEDX__ERR(SEDX_ERROR_INVALID_SIZE, TAG, "size %llu overflows", (unsigned long long)q->size);
    *out_align = align;
    *out_front = front;
    return SEDX_SUCCESS;
}

/* The first existing block (fullest first) of the granularity class with room for vsize bytes,
 * the virtual allocation made in it; NULL if none. */
static inline __attribute__((always_inline)) block *block_find(mtype *T, uint8_t klass, uint64_t vsize, uint64_t align,
                                                               rec *R, tlsf_node **va, uint64_t *voff)
{
    for (uint32_t i = 0; i < T->block_count; ++i) {
        block *c = T->blocks[i];
        if (c->alloc_count && c->klass != klass) continue;
        if (block_free(c) < vsize) continue;
        if (tlsf_allocate(c->vb, vsize, align, R, va, voff) == SEDX_SUCCESS) return c;
    }
    return NULL;
}

/* A new block for vsize bytes, the virtual allocation made in it. *out = NULL on failure. */
static sedx_result block_new(allocator *A, mtype *T, const sedx_allocation_info *info, uint64_t vsize, uint64_t align,
                             rec *R, tlsf_node **va, uint64_t *voff, block **out)
{
    block *b = NULL;
    sedx_result r;
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
        r = tlsf_allocate(b->vb, vsize, align, R, va, voff);
        if (r != SEDX_SUCCESS) { /* cannot happen: an empty block of >= vsize bytes at offset 0 */
            SEDX_LOG_ERROR_TAG(TAG, "internal: empty block of %llu bytes refused %llu bytes",
                               (unsigned long long)b->size, (unsigned long long)vsize);
            if (T->block_count && b->alloc_count == 0) sedx__mem_block_destroy(A, T, b);
            b = NULL;
            r = SEDX_ERROR_OUT_OF_DEVICE_MEMORY;
        }
    }
    *out = b;
    return r;
}

/* Sub-allocation from an existing or new block. */
static sedx_result alloc_block(allocator *A, mtype *T, const alloc_request *q, bool may_create, sedx_allocation *out,
                               sedx__placement *place)
{
    const sedx_allocation_info *info = q->info;
    uint64_t align, front, vsize;
    sedx_result r = block_layout(A, T, q, &align, &front, &vsize);
    if (r != SEDX_SUCCESS) return r;
    uint8_t klass = kind_class(A, q->kind);

    uint32_t index;
    rec *R = rec_take(T, &index, &r);
    if (!R) return r;
    if (info->name && *info->name) {
        r = sedx__mem_rec_set_name(R, info->name);
        if (r != SEDX_SUCCESS) {
            sedx__mem_rec_untake(T, index);
            return r;
        }
    } else {
        R->name[0] = '\0';
    }

    tlsf_node *va = NULL;
    uint64_t voff = 0;
    block *b = block_find(T, klass, vsize, align, R, &va, &voff);
    if (!b && may_create && !(info->flags & SEDX_ALLOCATION_NEVER_ALLOCATE))
        r = block_new(A, T, info, vsize, align, R, &va, &voff, &b);
    else if (!b)
        r = SEDX_ERROR_OUT_OF_DEVICE_MEMORY;
    if (!b) {
        sedx__mem_rec_discard(T, index);
        return r;
    }

    R->block = b;
    R->memory = b->memory;
    R->offset = voff + front;
    R->size = q->size;
    R->vsize = vsize;
    R->vnode = va;
    R->map_count = 0;
    if (info->flags & SEDX_ALLOCATION_MAPPED) {
        r = sedx__mem_block_map(A, b);
        if (r != SEDX_SUCCESS) {
            tlsf_free_node(b->vb, va);
            sedx__mem_rec_discard(T, index);
            return r;
        }
        R->map_count = 1;
    }
    b->klass = klass; /* a change only if b was empty: block_find skips non-empty blocks of other classes */
    b->alloc_count++;
    b->used += vsize;
    block_sort_fuller(T, b);
    T->alloc_count++;
    T->alloc_bytes += q->size;
    if (T->margins) sedx__mem_margin_write(A, T, R);
    if (T->fill) sedx__mem_fill_user_range(A, T, R, FILL_CREATED);
    rec_publish(A, T, R, index, q, out);
    if (place) fill_placement(T, R, place);
    return SEDX_SUCCESS;
}

/* ------------------------------------------------------------------------------------------
 * Allocation: memory types and fallbacks
 * ---------------------------------------------------------------------------------------- */
static bool is_device_failure(sedx_result r)
{
    return r == SEDX_ERROR_OUT_OF_DEVICE_MEMORY || r == SEDX_ERROR_OVER_BUDGET || r == SEDX_ERROR_TOO_MANY_ALLOCATIONS;
}

/* One memory type: dedicated or block, with the fallbacks between them. */
static inline __attribute__((always_inline)) sedx_result alloc_in_type(allocator *A, mtype *T, const alloc_request *q,
                                                                       sedx_allocation *out, sedx__placement *place)
{
    const sedx_allocation_info *info = q->info;
    bool must_dedicated = q->requires_dedicated || (info->flags & SEDX_ALLOCATION_DEDICATED) ||
                          (A->info.flags & SEDX_ALLOCATOR_DEBUG_ALWAYS_DEDICATED);
    bool no_dedicated = (info->flags & (SEDX_ALLOCATION_NO_DEDICATED | SEDX_ALLOCATION_NEVER_ALLOCATE)) != 0;
    bool prefer_dedicated = !must_dedicated && !no_dedicated &&
                            (q->prefers_dedicated || q->size > A->preferred_block[T->heap] / 2u);
    if (must_dedicated) return sedx__mem_alloc_dedicated(A, T, q, out, place);
    sedx_result r, rd = SEDX_SUCCESS;
    if (prefer_dedicated) {
        rd = sedx__mem_alloc_dedicated(A, T, q, out, place);
        if (!is_device_failure(rd)) return rd;
    }
    tlock_lock(&T->lock);
    /* When dedicated was preferred and failed, only existing blocks are worth trying if the
     * request is larger than a block would be. */
    bool may_create = !prefer_dedicated || q->size <= A->preferred_block[T->heap];
    r = alloc_block(A, T, q, may_create, out, place);
    tlock_unlock(&T->lock);
    /* both failed: the budget is the reason to report where it was one (the block attempt only
     * looked at existing blocks and says "no room") */
    if (prefer_dedicated && r != SEDX_SUCCESS && is_device_failure(r)) return rd == SEDX_ERROR_OVER_BUDGET ? rd : r;
    if (r == SEDX_SUCCESS || !is_device_failure(r) || prefer_dedicated || no_dedicated) return r;
    /* Last resort (as VMA): a dedicated allocation needs less memory than a new block. */
    sedx_result r2 = sedx__mem_alloc_dedicated(A, T, q, out, place);
    return r2 == SEDX_SUCCESS ? r2 : r;
}

sedx_result sedx__mem_allocate(allocator *A, const alloc_request *q, sedx_allocation *out, sedx__placement *place)
{
    const sedx_allocation_info *info = q->info;
    if (q->size == 0) return SEDX__ERR(SEDX_ERROR_INVALID_SIZE, TAG, "allocation '%s': size 0", info_name(info));
    if (!sedx__is_pow2(q->alignment))
        return SEDX__ERR(SEDX_ERROR_INVALID_ALIGNMENT, TAG, "allocation '%s': alignment %llu is not a power of two",
                         info_name(info), (unsigned long long)q->alignment);
    if (q->size > SEDX_VIRTUAL_MAX_SIZE) /* no heap is that large; the block sizes would overflow */
        return SEDX__ERR(SEDX_ERROR_INVALID_SIZE, TAG, "allocation '%s': size %llu is over 2^63", info_name(info),
                         (unsigned long long)q->size);
    if ((info->flags & SEDX_ALLOCATION_NEVER_ALLOCATE) &&
        (q->requires_dedicated || (info->flags & SEDX_ALLOCATION_DEDICATED)))
        return SEDX__ERR(SEDX_ERROR_INVALID_ARGUMENT, TAG, "allocation '%s': NEVER_ALLOCATE with a dedicated allocation",
                         info_name(info));
    uint32_t bits = q->type_bits;
    if (info->memory_type_bits) bits &= info->memory_type_bits;
    type_prefs p;
    sedx_result r, first = SEDX_SUCCESS;
    uint32_t first_type = 0, tried = 0;
    if (!(info->required_flags | info->preferred_flags | info->not_preferred_flags) &&
        (uint32_t)info->usage <= SEDX_MEMORY_USAGE_CUSTOM) {
        /* The precomputed order of the usage, filtered by the bits as it goes: no candidate
         * list to build when the first type takes the allocation. */
        const uint32_t m = (info->flags & SEDX_ALLOCATION_MAPPED) ? 1u : 0u;
        const uint8_t *order = A->order[info->usage][m];
        const uint32_t order_n = A->order_n[info->usage][m];
        const uint32_t max_tries = (info->flags & SEDX_ALLOCATION_NO_FALLBACK) ? 1u : 32u;
        for (uint32_t k = 0; k < order_n && tried < max_tries; ++k) {
            const uint32_t t = order[k];
            if (!(bits & (1u << t))) continue;
            r = alloc_in_type(A, &A->types[t], q, out, place);
            if (r == SEDX_SUCCESS) return SEDX_SUCCESS;
            if (tried++ == 0) {
                first = r;
                first_type = t;
            }
            if (!is_device_failure(r)) break;
        }
    } else {
        r = sedx__mem_usage_prefs(info, &p);
        if (r != SEDX_SUCCESS) return r;
        uint32_t cand[32];
        uint32_t n = sedx__mem_candidate_types(A, &p, bits, cand);
        if (n && (info->flags & SEDX_ALLOCATION_NO_FALLBACK)) n = 1;
        for (uint32_t i = 0; i < n; ++i) {
            r = alloc_in_type(A, &A->types[cand[i]], q, out, place);
            if (r == SEDX_SUCCESS) return SEDX_SUCCESS;
            if (tried++ == 0) {
                first = r;
                first_type = cand[0];
            }
            if (!is_device_failure(r)) break;
        }
    }
    if (tried == 0) {
        if (sedx__mem_usage_prefs(info, &p) != SEDX_SUCCESS) p.required = info->required_flags;
        return SEDX__ERR(SEDX_ERROR_NO_MEMORY_TYPE, TAG,
                         "allocation '%s': no memory type among 0x%x has the required properties 0x%x",
                         info_name(info), bits, p.required);
    }
    /* The message names the number of candidates, as before: count them (cold path). */
    uint32_t n = 0;
    if (!(info->flags & SEDX_ALLOCATION_NO_FALLBACK)) {
        uint32_t cand[32];
        if (sedx__mem_usage_prefs(info, &p) == SEDX_SUCCESS) n = sedx__mem_candidate_types(A, &p, bits, cand);
    }
    if (n == 0) n = 1;
    return SEDX__ERR(first, TAG, "allocation '%s' of %llu bytes (%s, memory type %u first of %u tried) failed: %s",
                     info_name(info), (unsigned long long)q->size, sedx_memory_usage_name(info->usage), first_type, n,
                     sedx_result_name(first));
}

/* ------------------------------------------------------------------------------------------
 * Free
 * ---------------------------------------------------------------------------------------- */
/* With T locked, for a handle without a live record; unlocks T. A record freed and not reused
 * since is a double free, anything else an invalid handle. */
static sedx_result free_refused(mtype *T, sedx_allocation alloc, bool double_free)
{
    if (double_free) {
        char name[128];
        rec *dead = rec_at(T, (uint32_t)(alloc.id & H_INDEX_MASK) - 1u);
        snprintf(name, sizeof name, "%s", dead->name);
        uint64_t ci = dead->creation_index;
        tlock_unlock(&T->lock);
        return SEDX__ERR(SEDX_ERROR_DOUBLE_FREE, TAG, "sedx_memory_free: double free of allocation '%s' (#%llu)",
                         name, (unsigned long long)ci);
    }
    tlock_unlock(&T->lock);
    return SEDX__ERR(SEDX_ERROR_INVALID_HANDLE, TAG, "sedx_memory_free: invalid or stale allocation handle 0x%llx",
                     (unsigned long long)alloc.id);
}

/* With T locked: R's range goes back to its block b (filled first when FILL is on), and b
 * takes its place in the order, or goes when the spare-block policy says so. */
static inline __attribute__((always_inline)) void free_in_block(allocator *A, mtype *T, block *b, const rec *R)
{
    if (T->fill) sedx__mem_fill_user_range(A, T, R, FILL_DESTROYED);
    tlsf_free_node(b->vb, R->vnode); /* R's own allocation: R's checks passed */
    b->alloc_count--;
    b->used -= R->vsize;
    block_sort_emptier(T, b);
    if (b->alloc_count == 0) block_became_empty(A, T, b);
}

/* With T locked: the record's share of T's counters goes and the record dies (rec_kill). */
static inline __attribute__((always_inline)) void rec_release(mtype *T, rec *R, uint32_t index)
{
    T->alloc_count--;
    T->alloc_bytes -= R->size;
    rec_kill(T, R, index);
}

/* memory_free of a dedicated allocation, with T locked; unlocks T, then frees the memory. */
static __attribute__((noinline)) sedx_result free_dedicated(allocator *A, mtype *T, rec *R, uint32_t index)
{
    const uint64_t size = R->size;
    const VkDeviceMemory ded = R->memory;
    const bool ded_mapped = R->ded_mapped != NULL;
    T->dedicated_count--;
    T->dedicated_bytes -= size;
    rec_release(T, R, index);
    tlock_unlock(&T->lock);
    if (ded) {
        if (ded_mapped) A->vk.UnmapMemory(A->device, ded);
        sedx__mem_devmem_free(A, T, ded, size);
    }
    return SEDX_SUCCESS;
}

/* memory_free of a block allocation in a type with debug margins, with T locked; unlocks T.
 * The margins are checked before the range goes back; the free happens either way, and an
 * overwritten margin is reported (after the unlock) as SEDX_ERROR_CORRUPTION. */
static __attribute__((noinline)) sedx_result free_with_margins(allocator *A, mtype *T, block *b, rec *R, uint32_t index)
{
    char name[128];
    bool front_bad = false;
    const bool ok = sedx__mem_margin_ok(A, T, R, true, &front_bad);
    if (!ok) name_copy(name, sizeof name, R);
    const uint64_t ci = R->creation_index, off = R->offset, size = R->size;
    free_in_block(A, T, b, R);
    rec_release(T, R, index);
    tlock_unlock(&T->lock);
    if (ok) return SEDX_SUCCESS;
    SEDX_LOG_ERROR_TAG(TAG,
                       "memory corruption: the debug margin %s allocation '%s' (#%llu, %llu bytes at offset %llu "
                       "of memory type %u) was overwritten",
                       front_bad ? "before" : "after", name, (unsigned long long)ci, (unsigned long long)size,
                       (unsigned long long)off, T->index);
    return SEDX_ERROR_CORRUPTION;
}

/* sedx_memory_free after the allocator check (sedx_memory_destroy_buffer has made it already).
 * The hot path is a block allocation without debug margins; the other two have their own
 * functions (so does a refused handle). */
static inline __attribute__((always_inline)) sedx_result memory_free(allocator *A, sedx_allocation alloc)
{
    mtype *T = handle_type(A, alloc);
    if (!T)
        return SEDX__ERR(SEDX_ERROR_INVALID_HANDLE, TAG, "sedx_memory_free: invalid or foreign allocation handle 0x%llx",
                         (unsigned long long)alloc.id);
    uint32_t index;
    bool double_free;
    tlock_lock(&T->lock);
    rec *R = handle_rec(T, alloc, &index, &double_free);
    if (!R) return free_refused(T, alloc, double_free);
    block *b = R->block;
    if (!b) return free_dedicated(A, T, R, index);
    if (T->margins) return free_with_margins(A, T, b, R, index);
    free_in_block(A, T, b, R);
    rec_release(T, R, index);
    tlock_unlock(&T->lock);
    return SEDX_SUCCESS;
}

sedx_result sedx_memory_free(sedx_context *ctx, sedx_allocation alloc)
{
    if (alloc.id == 0) return SEDX_SUCCESS;
    NEED_ALLOCATOR(A, ctx, "sedx_memory_free");
    return memory_free(A, alloc);
}

/* ------------------------------------------------------------------------------------------
 * Buffers: the entry points of the hot path (the buffer layer creates and destroys every
 * buffer through sedx__memory_alloc_bind_buffer and sedx_memory_destroy_buffer), kept with
 * the code they run. In objects.c (another object file, the same instructions) Workload B
 * measured 3-6 % slower on lavapipe, here at parity with the undivided allocator
 * (bench/results/allocator-split-lavapipe.txt)
 * ---------------------------------------------------------------------------------------- */
const sedx_allocation_info sedx__mem_default_info;

static inline __attribute__((always_inline)) sedx_result check_info(const sedx_allocation_info *info, const char *fn)
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

sedx_result sedx__mem_check_info(const sedx_allocation_info *info, const char *fn) { return check_info(info, fn); }

/* What vkCreateBuffer would flag as invalid usage (VUID-VkBufferCreateInfo-size-00912, -usage-requiredbitmask). */
static sedx_result check_buffer_create_info(const VkBufferCreateInfo *bi)
{
    const char *fn = "sedx_memory_create_buffer";
    if (bi->size == 0) return SEDX__ERR(SEDX_ERROR_INVALID_SIZE, TAG, "%s: size 0", fn);
    if (bi->usage == 0) return SEDX__ERR(SEDX_ERROR_INVALID_USAGE, TAG, "%s: usage 0", fn);
    return SEDX_SUCCESS;
}

/* Whether the requirements of buffers made from bi may be cached: no pNext; exclusive sharing,
 * or concurrent between at most two queue families (sedx's buffers where a transfer-only queue
 * exists: every such buffer of a discrete GPU). */
static inline bool breq_cacheable(const VkBufferCreateInfo *bi)
{
    return !bi->pNext && (bi->sharingMode == VK_SHARING_MODE_EXCLUSIVE ||
                          (bi->sharingMode == VK_SHARING_MODE_CONCURRENT && bi->queueFamilyIndexCount <= 2u &&
                           bi->pQueueFamilyIndices));
}

/* Whether entry e was made from a create info equal to bi (cacheable) in what the requirements
 * may depend on. */
static inline bool breq_matches(const struct breq *e, const VkBufferCreateInfo *bi)
{
    if (e->size != bi->size || e->usage != bi->usage || e->flags != bi->flags || e->sharing != bi->sharingMode)
        return false;
    if (bi->sharingMode == VK_SHARING_MODE_EXCLUSIVE) return true;
    if (e->family_count != bi->queueFamilyIndexCount) return false;
    for (uint32_t i = 0; i < e->family_count; ++i)
        if (e->families[i] != bi->pQueueFamilyIndices[i]) return false;
    return true;
}

/* The cached requirements of buffers made from bi (see allocator.breq), or NULL: not cacheable
 * (before Vulkan 1.3, a pNext chain, more than two concurrent queue families), not cached yet,
 * or the cache full. */
static inline const struct breq *breq_find(allocator *A, const VkBufferCreateInfo *bi)
{
    if (!breq_cacheable(bi)) return NULL;
    /* no entry without vkGetDeviceBufferMemoryRequirements (breq_add) */
    uint32_t n = atomic_load_explicit(&A->breq_count, memory_order_acquire);
    for (uint32_t i = 0; i < n; ++i)
        if (breq_matches(&A->breq[i], bi)) return &A->breq[i];
    return NULL;
}

/* Where sedx__mem_allocate would put a request with e's requirements and an allocation info
 * without flags, explicit property flags, type bits or name, for each usage: the first type of
 * the usage's order among e's memoryTypeBits, taken when the allocation there is a plain block
 * allocation: the requirements pass sedx__mem_allocate's checks, no dedicated rule applies
 * (required, preferred, ALWAYS_DEDICATED, larger than half a block) and the type has no debug
 * margins or fill. The choice depends on nothing that changes after the allocator is made. */
static void breq_fast_types(const allocator *A, struct breq *e)
{
    const VkMemoryRequirements *r = &e->req;
    bool plain = r->size != 0 && r->size <= SEDX_VIRTUAL_MAX_SIZE && sedx__is_pow2(r->alignment ? r->alignment : 1u) &&
                 !e->requires_dedicated && !e->prefers_dedicated &&
                 !(A->info.flags & SEDX_ALLOCATOR_DEBUG_ALWAYS_DEDICATED);
    for (uint32_t u = 0; u <= SEDX_MEMORY_USAGE_CUSTOM; ++u) {
        e->fast_type[u] = 0xFF;
        e->fast_align[u] = 1;
        for (uint32_t k = 0; k < A->order_n[u][0] && plain; ++k) {
            const uint32_t t = A->order[u][0][k];
            if (!(r->memoryTypeBits & (1u << t))) continue;
            const mtype *T = &A->types[t];
            if (!T->margins && !T->fill && r->size <= A->preferred_block[T->heap] / 2u) {
                e->fast_type[u] = (uint8_t)t;
                e->fast_align[u] = SEDX__MAX(r->alignment ? r->alignment : 1u, T->min_align); /* block_layout's */
            }
            break;
        }
    }
}

/* After a cache miss, with the requirements the driver gave for a buffer made from bi: asks
 * vkGetDeviceBufferMemoryRequirements for bi (a valid create info: vkCreateBuffer accepted it)
 * and keeps the answer when it is the buffer's, as the specification says it is. */
static void breq_add(allocator *A, const VkBufferCreateInfo *bi, const VkMemoryRequirements *got,
                     const VkMemoryDedicatedRequirements *got_ded)
{
    if (!A->vk.GetDeviceBufferMemoryRequirements || !breq_cacheable(bi) ||
        atomic_load_explicit(&A->breq_count, memory_order_relaxed) >= BREQ_CACHE_SIZE)
        return;
    VkMemoryDedicatedRequirements ded = {VK_STRUCTURE_TYPE_MEMORY_DEDICATED_REQUIREMENTS, NULL, VK_FALSE, VK_FALSE};
    VkMemoryRequirements2 req2 = {VK_STRUCTURE_TYPE_MEMORY_REQUIREMENTS_2, &ded, {0, 0, 0}};
    VkDeviceBufferMemoryRequirements di = {VK_STRUCTURE_TYPE_DEVICE_BUFFER_MEMORY_REQUIREMENTS, NULL, bi};
    A->vk.GetDeviceBufferMemoryRequirements(A->device, &di, &req2);
    const VkMemoryRequirements *r = &req2.memoryRequirements;
    if (r->size != got->size || r->alignment != got->alignment || r->memoryTypeBits != got->memoryTypeBits ||
        ded.requiresDedicatedAllocation != got_ded->requiresDedicatedAllocation ||
        ded.prefersDedicatedAllocation != got_ded->prefersDedicatedAllocation) {
        SEDX_LOG_DEBUG_TAG(TAG, "vkGetDeviceBufferMemoryRequirements differs from the buffer's requirements "
                                "(size %llu, usage 0x%x): not cached",
                           (unsigned long long)bi->size, (unsigned)bi->usage);
        return;
    }
    tlock_lock(&A->breq_lock);
    uint32_t n = atomic_load_explicit(&A->breq_count, memory_order_relaxed);
    bool have = false;
    for (uint32_t i = 0; i < n && !have; ++i)
        have = breq_matches(&A->breq[i], bi);
    if (!have && n < BREQ_CACHE_SIZE) {
        struct breq *e = &A->breq[n];
        e->flags = bi->flags;
        e->usage = bi->usage;
        e->size = bi->size;
        e->sharing = bi->sharingMode;
        e->family_count = bi->sharingMode == VK_SHARING_MODE_CONCURRENT ? bi->queueFamilyIndexCount : 0u;
        for (uint32_t i = 0; i < e->family_count; ++i) e->families[i] = bi->pQueueFamilyIndices[i];
        e->req = *r;
        e->requires_dedicated = ded.requiresDedicatedAllocation != VK_FALSE;
        e->prefers_dedicated = ded.prefersDedicatedAllocation != VK_FALSE;
        breq_fast_types(A, e);
        atomic_store_explicit(&A->breq_count, n + 1u, memory_order_release);
    }
    tlock_unlock(&A->breq_lock);
}

/* The buffer entry points' fast path: what sedx__mem_allocate does for a cached create info
 * whose fast_type applies (see breq_fast_types) and an allocation info without flags, explicit
 * property flags or type bits, and no name or one short enough for the record (no heap copy),
 * when an existing block has room. Returns false, having changed nothing, in every other case:
 * the caller then takes the general path. place (may be NULL): the placement alloc_block gives. */
static inline __attribute__((always_inline)) bool alloc_fast(allocator *A, const struct breq *c,
                                                             const sedx_allocation_info *info, sedx_allocation *out,
                                                             VkDeviceMemory *out_memory, uint64_t *out_offset,
                                                             sedx__placement *place)
{
    if (info->flags | info->required_flags | info->preferred_flags | info->not_preferred_flags | info->memory_type_bits)
        return false;
    size_t name_len = 0;
    if (info->name && *info->name && (name_len = strlen(info->name)) >= NAME_INLINE) return false;
    const uint32_t t = c->fast_type[info->usage]; /* usage checked by sedx__mem_check_info */
    if (t == 0xFFu) return false;
    mtype *T = &A->types[t];
    const uint64_t size = c->req.size, align = c->fast_align[info->usage];
    const uint8_t klass = CLASS_LINEAR; /* kind_class() of a buffer, with or without split classes */
    tlock_lock(&T->lock);
    if (!T->free_head) { /* a new record page: the general path */
        tlock_unlock(&T->lock);
        return false;
    }
    const uint32_t index = T->free_head - 1u;
    rec *R = rec_at(T, index);
    tlsf_node *va = NULL; /* (set when block_find succeeds; gcc cannot see that) */
    uint64_t voff = 0;
    block *b = block_find(T, klass, size, align, R, &va, &voff);
    if (!b) { /* a new block: the general path */
        tlock_unlock(&T->lock);
        return false;
    }
    T->free_head = R->next_free;
    if (R->name_heap) { /* as sedx__mem_rec_set_name */
        sedx__free(R->name_heap);
        R->name_heap = NULL;
    }
    if (name_len) memcpy(R->name, info->name, name_len);
    R->name[name_len] = '\0';
    R->block = b;
    R->memory = b->memory;
    R->offset = voff;
    R->size = size;
    R->vsize = size;
    R->vnode = va;
    R->map_count = 0;
    b->klass = klass; /* a change only if b was empty: block_find skips non-empty blocks of other classes */
    b->alloc_count++;
    b->used += size;
    block_sort_fuller(T, b);
    T->alloc_count++;
    T->alloc_bytes += size;
    R->creation_index = next_creation_index(A);
    R->user_data = info->user_data;
    R->kind = SEDX_ALLOCATION_KIND_BUFFER;
    R->gen = (R->gen + 1u) & GEN_MASK; /* even -> odd: live */
    out->id = handle_make(T, index, R->gen);
    *out_memory = b->memory;
    *out_offset = voff;
    if (place) fill_placement(T, R, place);
    tlock_unlock(&T->lock);
    return true;
}

/* The requirements of buffer, made from buffer_info (NULL: not known): from the cache when the
 * create info has an entry (*out_cached = entry), else from the driver (and the cache gets an
 * entry for it where it can). */
static inline __attribute__((always_inline)) void buffer_request_ci(allocator *A, VkBuffer buffer,
                                                                    const VkBufferCreateInfo *buffer_info,
                                                                    const sedx_allocation_info *info, alloc_request *q,
                                                                    const struct breq **out_cached)
{
    const struct breq *c = buffer_info ? breq_find(A, buffer_info) : NULL;
    *out_cached = c;
    if (c) {
        request_init(q, info, &c->req);
        q->kind = SEDX_ALLOCATION_KIND_BUFFER;
        q->requires_dedicated = c->requires_dedicated;
        q->prefers_dedicated = c->prefers_dedicated;
        q->dedicated_buffer = buffer;
    } else {
        VkMemoryRequirements2 req2;
        VkMemoryDedicatedRequirements ded;
        buffer_request(A, buffer, info, q, &req2, &ded);
        if (buffer_info) breq_add(A, buffer_info, &req2.memoryRequirements, &ded);
    }
}

sedx_result sedx__memory_buffer_requirements(sedx_context *ctx, VkBuffer buffer, const VkBufferCreateInfo *buffer_info,
                                             VkMemoryRequirements *out_req, VkMemoryDedicatedRequirements *out_ded)
{
    NEED_ALLOCATOR(A, ctx, "sedx__memory_buffer_requirements");
    if (!buffer || !out_req || !out_ded)
        return SEDX__ERR(SEDX_ERROR_INVALID_ARGUMENT, TAG, "sedx__memory_buffer_requirements: NULL argument");
    const struct breq *c = buffer_info ? breq_find(A, buffer_info) : NULL;
    if (c) {
        *out_req = c->req;
        out_ded->requiresDedicatedAllocation = c->requires_dedicated ? VK_TRUE : VK_FALSE;
        out_ded->prefersDedicatedAllocation = c->prefers_dedicated ? VK_TRUE : VK_FALSE;
        return SEDX_SUCCESS;
    }
    VkMemoryDedicatedRequirements ded = {VK_STRUCTURE_TYPE_MEMORY_DEDICATED_REQUIREMENTS, NULL, VK_FALSE, VK_FALSE};
    VkMemoryRequirements2 req2 = {VK_STRUCTURE_TYPE_MEMORY_REQUIREMENTS_2, &ded, {0, 0, 0}};
    VkBufferMemoryRequirementsInfo2 ri = {VK_STRUCTURE_TYPE_BUFFER_MEMORY_REQUIREMENTS_INFO_2, NULL, buffer};
    A->vk.GetBufferMemoryRequirements2(A->device, &ri, &req2);
    if (buffer_info) breq_add(A, buffer_info, &req2.memoryRequirements, &ded);
    *out_req = req2.memoryRequirements;
    out_ded->requiresDedicatedAllocation = ded.requiresDedicatedAllocation;
    out_ded->prefersDedicatedAllocation = ded.prefersDedicatedAllocation;
    return SEDX_SUCCESS;
}

sedx_result sedx__memory_alloc_bind_buffer(sedx_context *ctx, VkBuffer buffer, const VkBufferCreateInfo *buffer_info,
                                           const sedx_allocation_info *info, sedx_allocation *out,
                                           sedx__placement *out_place)
{
    NEED_ALLOCATOR(A, ctx, "sedx__memory_alloc_bind_buffer");
    if (!buffer || !out) return SEDX__ERR(SEDX_ERROR_INVALID_ARGUMENT, TAG, "sedx__memory_alloc_bind_buffer: NULL argument");
    sedx_result r = check_info(info, "sedx_memory_create_buffer");
    if (r != SEDX_SUCCESS) return r;
    if (!info) info = &sedx__mem_default_info;
    alloc_request q;
    const struct breq *c;
    buffer_request_ci(A, buffer, buffer_info, info, &q, &c);
    sedx__placement place;
    sedx_allocation a;
    VkDeviceMemory memory;
    uint64_t offset;
    if (!(c && alloc_fast(A, c, info, &a, &memory, &offset, &place))) {
        r = sedx__mem_allocate(A, &q, &a, &place);
        if (r != SEDX_SUCCESS) return r;
    }
    VkResult vr = A->vk.BindBufferMemory(A->device, buffer, place.memory, place.offset);
    if (vr != VK_SUCCESS) {
        sedx_memory_free(ctx, a);
        return SEDX__VK(vr, "vkBindBufferMemory");
    }
    *out = a;
    if (out_place) *out_place = place;
    return SEDX_SUCCESS;
}

/* vkCreateBuffer, then the allocation and the bind in line (what sedx__memory_alloc_bind_buffer
 * does, without its second argument check), with the memory requirements from the cache when
 * the create info has an entry. */
sedx_result sedx_memory_create_buffer(sedx_context *ctx, const VkBufferCreateInfo *buffer_info,
                                      const sedx_allocation_info *info, VkBuffer *out_buffer, sedx_allocation *out_alloc)
{
    NEED_ALLOCATOR(A, ctx, "sedx_memory_create_buffer");
    if (!buffer_info || !out_buffer || !out_alloc)
        return SEDX__ERR(SEDX_ERROR_INVALID_ARGUMENT, TAG, "sedx_memory_create_buffer: NULL argument");
    sedx_result r = check_buffer_create_info(buffer_info);
    if (r == SEDX_SUCCESS) r = check_info(info, "sedx_memory_create_buffer");
    if (r != SEDX_SUCCESS) return r;
    if (!info) info = &sedx__mem_default_info;
    VkBuffer buffer;
    VkResult vr = A->vk.CreateBuffer(A->device, buffer_info, NULL, &buffer);
    if (vr != VK_SUCCESS) return SEDX__VK(vr, "vkCreateBuffer");
    alloc_request q;
    const struct breq *c = breq_find(A, buffer_info);
    sedx_allocation a;
    VkDeviceMemory memory;
    uint64_t offset;
    if (c && alloc_fast(A, c, info, &a, &memory, &offset, NULL)) {
        vr = A->vk.BindBufferMemory(A->device, buffer, memory, offset);
        if (vr == VK_SUCCESS) {
            *out_buffer = buffer;
            *out_alloc = a;
            return SEDX_SUCCESS;
        }
        memory_free(A, a);
        r = SEDX__VK(vr, "vkBindBufferMemory");
        A->vk.DestroyBuffer(A->device, buffer, NULL);
        return r;
    }
    if (c) {
        request_init(&q, info, &c->req);
        q.kind = SEDX_ALLOCATION_KIND_BUFFER;
        q.requires_dedicated = c->requires_dedicated;
        q.prefers_dedicated = c->prefers_dedicated;
        q.dedicated_buffer = buffer;
    } else {
        VkMemoryRequirements2 req2;
        VkMemoryDedicatedRequirements ded;
        buffer_request(A, buffer, info, &q, &req2, &ded);
        breq_add(A, buffer_info, &req2.memoryRequirements, &ded);
    }
    sedx__placement place;
    r = sedx__mem_allocate(A, &q, &a, &place);
    if (r == SEDX_SUCCESS) {
        vr = A->vk.BindBufferMemory(A->device, buffer, place.memory, place.offset);
        if (vr != VK_SUCCESS) {
            sedx_memory_free(ctx, a);
            r = SEDX__VK(vr, "vkBindBufferMemory");
        }
    }
    if (r != SEDX_SUCCESS) {
        A->vk.DestroyBuffer(A->device, buffer, NULL);
        return r;
    }
    *out_buffer = buffer;
    *out_alloc = a;
    return SEDX_SUCCESS;
}

sedx_result sedx_memory_destroy_buffer(sedx_context *ctx, VkBuffer buffer, sedx_allocation alloc)
{
    NEED_ALLOCATOR(A, ctx, "sedx_memory_destroy_buffer");
    if (buffer) A->vk.DestroyBuffer(A->device, buffer, NULL);
    return alloc.id ? memory_free(A, alloc) : SEDX_SUCCESS;
}
