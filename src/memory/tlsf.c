/*
 * Virtual block: TLSF (two-level segregated fit) over a range of offsets, with every piece of
 * metadata outside the managed range, plus a linear/ring mode. No Vulkan here. The structures,
 * their invariants and the allocate / free cores are in tlsf_core.h (alloc.c inlines the cores
 * too); this file has the public API around them, the linear mode, the cold paths, validation.
 * See docs/virtual-block.md for the algorithm, the worst-case bound and what it costs.
 */
#include "memory/tlsf_core.h"

static _Atomic uint32_t g_block_serial;

/* ---- node pool ----------------------------------------------------------------------------- */
sedx_result sedx__tlsf_pool_grow(sedx_virtual_block *b)
{
    if (b->chunk_count >= TLSF_MAX_CHUNKS)
        return SEDX__ERR(SEDX_ERROR_OUT_OF_HOST_MEMORY, "TLSF", "node pool full (%" PRIu32 " nodes)",
                         b->chunk_count * TLSF_CHUNK_NODES);
    if (b->chunk_count == b->chunk_slots) {
        /* Only the small table of chunk pointers is reallocated; nodes never move. */
        uint32_t slots = b->chunk_slots * 2u;
        if (slots > TLSF_MAX_CHUNKS) slots = TLSF_MAX_CHUNKS;
        tlsf_chunk *t = sedx__realloc(b->chunks, (size_t)slots * sizeof *t);
        if (!t)
            return SEDX__ERR(SEDX_ERROR_OUT_OF_HOST_MEMORY, "TLSF",
                             "out of host memory growing the node chunk table to %" PRIu32 " entries", slots);
        b->chunks = t;
        b->chunk_slots = slots;
    }
    void *raw = sedx__malloc(TLSF_CHUNK_NODES * sizeof(tlsf_node) + TLSF_NODE_ALIGN - 1u);
    if (!raw)
        return SEDX__ERR(SEDX_ERROR_OUT_OF_HOST_MEMORY, "TLSF", "out of host memory for %u more nodes",
                         TLSF_CHUNK_NODES);
    uintptr_t at = ((uintptr_t)raw + TLSF_NODE_ALIGN - 1u) & ~(uintptr_t)(TLSF_NODE_ALIGN - 1u);
    tlsf_node *c = (tlsf_node *)at;
    uint32_t base = b->chunk_count * TLSF_CHUNK_NODES;
    for (uint32_t k = 0; k < TLSF_CHUNK_NODES; ++k) {
        c[k] = (tlsf_node){0};
        c[k].generation = b->gen_seed;
        c[k].index = base + k;
        c[k].state = NODE_SPARE;
    }
    b->chunks[b->chunk_count++] = (tlsf_chunk){c, raw};
    b->avail += TLSF_CHUNK_NODES;
    return SEDX_SUCCESS;
}

/* ---- errors, kept off the hot path --------------------------------------------------------- */
TLSF_COLD sedx_result sedx__tlsf_out_of_space(const sedx_virtual_block *b, uint64_t size, uint64_t alignment)
{
    /* An expected outcome (a full block): DEBUG only, and sedx_log drops it before formatting
     * unless DEBUG is enabled. */
    SEDX_LOG_DEBUG_TAG("TLSF", "allocate %" PRIu64 " B (alignment %" PRIu64 "): out of space (%" PRIu64
                       " of %" PRIu64 " B free)",
                       size, alignment, b->size - b->alloc_bytes, b->size);
    return SEDX_ERROR_OUT_OF_SPACE;
}

static TLSF_COLD sedx_result bad_request(const sedx_virtual_block *b, const sedx_virtual_alloc *out, uint64_t size,
                                         uint64_t alignment)
{
    if (!b || !out)
        return SEDX__ERR(SEDX_ERROR_INVALID_ARGUMENT, "TLSF", "allocate: %s is NULL", !b ? "block" : "out_alloc");
    if (size == 0) return SEDX__ERR(SEDX_ERROR_INVALID_SIZE, "TLSF", "allocate: size 0");
    if (size > SEDX_VIRTUAL_MAX_SIZE)
        return SEDX__ERR(SEDX_ERROR_INVALID_SIZE, "TLSF", "allocate: size %" PRIu64 " is over the maximum 2^63",
                         size);
    return SEDX__ERR(SEDX_ERROR_INVALID_ALIGNMENT, "TLSF", "allocate: alignment %" PRIu64 " is not a power of two",
                     alignment);
}

static TLSF_COLD sedx_result bad_handle(const char *what, const sedx_virtual_block *b, sedx_virtual_alloc h)
{
    if (!b) return SEDX__ERR(SEDX_ERROR_INVALID_ARGUMENT, "TLSF", "%s: block is NULL", what);
    return SEDX__ERR(SEDX_ERROR_INVALID_HANDLE, "TLSF",
                     "%s: 0x%016" PRIx64 " is not a live allocation of this block (unknown, foreign or freed)", what,
                     h);
}

/* ---- create / destroy / clear -------------------------------------------------------------- */
static void reset_ranges(sedx_virtual_block *b)
{
    b->alloc_bytes = 0;
    b->alloc_count = 0;
    b->fl_bitmap = 0;
    memset(b->sl_bitmap, 0, sizeof b->sl_bitmap);
    b->guard = (tlsf_node){0};
    b->guard.offset = b->size; /* TLSF: the end of the last node's range */
    b->guard.state = NODE_GUARD;
    b->guard.prev_phys = b->guard.next_phys = &b->guard;
    /* The stand-in of a used neighbour in a free (tlsf_core.h): a member of class 0's list as
     * far as its own links tell, the list itself (heads[0]) never pointing at it. */
    b->standin = (tlsf_node){0};
    b->standin.state = NODE_GUARD;
    b->standin.next_free = &b->guard;
    b->standin.u.pprev_free = &b->scratch;
    b->standin.cls = 0;
    b->scratch = NULL;
    b->free_kind = 0;
    b->free_streak = 0;
    for (uint32_t c = 0; c < b->class_count; ++c) b->heads[c] = &b->guard;
    if (!b->linear) {
        tlsf_node *n = node_take(b); /* there is always a chunk: avail >= TLSF_CHUNK_NODES - 1 */
        n->offset = 0;
        n->size = b->size;
        link_before(&b->guard, n);
        free_insert(b, n, size_class(n->size));
    }
}

sedx_result sedx_virtual_block_create(const sedx_virtual_block_info *info, sedx_virtual_block **out)
{
    if (!info || !out)
        return SEDX__ERR(SEDX_ERROR_INVALID_ARGUMENT, "TLSF", "create: %s is NULL", !info ? "info" : "out");
    if (info->size == 0 || info->size > SEDX_VIRTUAL_MAX_SIZE)
        return SEDX__ERR(SEDX_ERROR_INVALID_SIZE, "TLSF", "create: size %" PRIu64 " (must be 1 .. 2^63)", info->size);
    if (info->flags & ~(uint32_t)SEDX_VIRTUAL_BLOCK_LINEAR)
        return SEDX__ERR(SEDX_ERROR_INVALID_ARGUMENT, "TLSF", "create: unknown flags 0x%" PRIx32, info->flags);

    bool linear = (info->flags & SEDX_VIRTUAL_BLOCK_LINEAR) != 0;
    /* Whole first-level rows up to the one of the block size: no free node can be larger. */
    uint32_t class_count = linear ? 0u : ((size_class(info->size) >> TLSF_SL_LOG2) + 1u) << TLSF_SL_LOG2;
    sedx_virtual_block *b = sedx__malloc(sizeof *b + (size_t)class_count * sizeof b->heads[0]);
    if (!b) return SEDX__ERR(SEDX_ERROR_OUT_OF_HOST_MEMORY, "TLSF", "create: out of host memory");
    memset(b, 0, sizeof *b);
    b->size = info->size;
    b->linear = linear;
    b->class_count = class_count;
    b->high_water = 1; /* index 0 is never handed out: handle 0 stays invalid */
    b->gen_seed = (atomic_fetch_add(&g_block_serial, 1u) + 1u) * 0x9E3779B1u;
    b->chunks = sedx__malloc(TLSF_INITIAL_CHUNK_SLOTS * sizeof *b->chunks);
    if (!b->chunks) {
        sedx__free(b);
        return SEDX__ERR(SEDX_ERROR_OUT_OF_HOST_MEMORY, "TLSF", "create: out of host memory");
    }
    b->chunk_slots = TLSF_INITIAL_CHUNK_SLOTS;
    sedx_result r = sedx__tlsf_pool_grow(b);
    if (r != SEDX_SUCCESS) {
        sedx__free(b->chunks);
        sedx__free(b);
        return r;
    }
    b->avail = TLSF_CHUNK_NODES - 1u;
    reset_ranges(b);
    *out = b;
    return SEDX_SUCCESS;
}

void sedx_virtual_block_destroy(sedx_virtual_block *b)
{
    if (!b) return;
    for (uint32_t k = 0; k < b->chunk_count; ++k) sedx__free(b->chunks[k].raw);
    sedx__free(b->chunks);
    sedx__free(b);
}

void sedx_virtual_block_clear(sedx_virtual_block *b)
{
    if (!b) return;
    /* End every allocation (its handle goes stale) and hand the nodes out again from the
     * start; the chunks stay, so the next allocations need no host memory. */
    for (uint32_t i = 1; i < b->high_water; ++i) {
        tlsf_node *n = node_at(b, i);
        if (n->state == NODE_USED) n->generation++;
        n->state = NODE_SPARE;
    }
    b->high_water = 1;
    b->spare = NULL;
    b->avail = b->chunk_count * TLSF_CHUNK_NODES - 1u;
    reset_ranges(b);
}

/* ---- linear (ring) mode -------------------------------------------------------------------- */
/* Used space runs from the oldest allocation's offset ("head") to the newest one's end
 * ("tail"), wrapping past the end of the range at most once. Free space is [tail, size) and
 * [0, head) when not wrapped, [tail, head) when wrapped; holes left by out-of-order frees
 * are reclaimed when the head or the tail reaches them. */
static inline bool linear_fit(const sedx_virtual_block *b, uint64_t size, uint64_t mask, uint64_t *out_offset)
{
    const tlsf_node *old = b->guard.next_phys, *nw = b->guard.prev_phys;
    if (old == &b->guard) { /* empty: restart at 0, the longest run there is */
        *out_offset = 0;
        return size <= b->size;
    }
    uint64_t head = old->offset, tail = nw->offset + nw->size;
    uint64_t at = (tail + mask) & ~mask; /* tail <= 2^63, mask < 2^63: no wrap, at <= 2^63 */
    if (nw->offset >= head) {            /* not wrapped */
        if (at <= b->size && b->size - at >= size) {
            *out_offset = at;
            return true;
        }
        *out_offset = 0; /* wrap to the start: must end at or before the oldest */
        return size <= head;
    }
    *out_offset = at;
    return at <= head && head - at >= size;
}

/* Kept out of line so that the TLSF path of sedx_virtual_allocate stays small. */
static TLSF_NOINLINE sedx_result linear_allocate(sedx_virtual_block *b, uint64_t size, uint64_t alignment,
                                                 void *user_data, sedx_virtual_alloc *out_alloc, uint64_t *out_offset)
{
    uint64_t offset;
    if (!linear_fit(b, size, alignment - 1u, &offset)) return sedx__tlsf_out_of_space(b, size, alignment);
    if (TLSF_UNLIKELY(b->avail < 1u)) {
        sedx_result r = sedx__tlsf_pool_grow(b);
        if (r != SEDX_SUCCESS) return r;
    }
    tlsf_node *n = node_take(b);
    n->offset = offset;
    n->size = size;
    n->u.user_data = user_data;
    n->state = NODE_USED;
    link_before(&b->guard, n); /* newest */
    b->alloc_count++;
    b->alloc_bytes += size;
    *out_alloc = make_handle(n);
    if (out_offset) *out_offset = offset;
    return SEDX_SUCCESS;
}

/* ---- allocate / free ----------------------------------------------------------------------- */

sedx_result sedx_virtual_allocate(sedx_virtual_block *b, uint64_t size, uint64_t alignment, void *user_data,
                                  sedx_virtual_alloc *out_alloc, uint64_t *out_offset)
{
    if (alignment == 0) alignment = 1;
    /* size - 1 >= 2^63 covers size 0 and size > 2^63; with alignment <= 2^63 as well, no
     * sum below can wrap around. */
    if (TLSF_UNLIKELY(!b || !out_alloc || size - 1u >= SEDX_VIRTUAL_MAX_SIZE || (alignment & (alignment - 1u))))
        return bad_request(b, out_alloc, size, alignment);
    if (b->linear) return linear_allocate(b, size, alignment, user_data, out_alloc, out_offset);
    tlsf_node *n = NULL; /* (set on success; gcc cannot see that) */
    sedx_result r = tlsf_allocate(b, size, alignment, user_data, &n, out_offset);
    if (r == SEDX_SUCCESS) *out_alloc = make_handle(n);
    return r;
}

sedx_result sedx_virtual_free(sedx_virtual_block *b, sedx_virtual_alloc h)
{
    tlsf_node *n = b ? handle_node(b, h) : NULL;
    if (TLSF_UNLIKELY(!n)) return h == 0 && b ? SEDX_SUCCESS : bad_handle("free", b, h);
    tlsf_free_node(b, n);
    return SEDX_SUCCESS;
}

/* ---- queries ------------------------------------------------------------------------------- */
sedx_result sedx_virtual_get_info(const sedx_virtual_block *b, sedx_virtual_alloc h, sedx_virtual_alloc_info *out)
{
    if (!out) return SEDX__ERR(SEDX_ERROR_INVALID_ARGUMENT, "TLSF", "get_info: out is NULL");
    const tlsf_node *n = b ? handle_node(b, h) : NULL;
    if (!n) return bad_handle("get_info", b, h);
    *out = (sedx_virtual_alloc_info){n->offset, n->size, n->u.user_data};
    return SEDX_SUCCESS;
}

sedx_result sedx_virtual_set_user_data(sedx_virtual_block *b, sedx_virtual_alloc h, void *user_data)
{
    tlsf_node *n = b ? handle_node(b, h) : NULL;
    if (!n) return bad_handle("set_user_data", b, h);
    n->u.user_data = user_data;
    return SEDX_SUCCESS;
}

bool sedx_virtual_block_is_empty(const sedx_virtual_block *b) { return !b || b->alloc_count == 0; }

void sedx_virtual_block_get_stats(const sedx_virtual_block *b, sedx_virtual_block_stats *out)
{
    if (!out) return;
    *out = (sedx_virtual_block_stats){0};
    if (!b) return;
    out->size = b->size;
    out->allocation_count = b->alloc_count;
    out->allocation_bytes = b->alloc_bytes;
    out->free_bytes = b->size - b->alloc_bytes;
    if (b->linear) {
        /* The ranges a new allocation can use. Holes left by out-of-order frees count in
         * free_bytes but become ranges only once reclaimed. */
        const tlsf_node *old = b->guard.next_phys, *nw = b->guard.prev_phys;
        uint64_t r1 = b->size, r2 = 0;
        if (old != &b->guard) {
            uint64_t head = old->offset, tail = nw->offset + nw->size;
            if (nw->offset >= head) {
                r1 = b->size - tail;
                r2 = head;
            } else {
                r1 = head - tail;
            }
        }
        out->free_range_count = (uint32_t)(r1 != 0) + (uint32_t)(r2 != 0);
        out->largest_free_range = SEDX__MAX(r1, r2);
        return;
    }
    out->free_range_count = free_node_count(b);
    if (b->fl_bitmap) {
        /* The largest free node is in the highest non-empty class: scan that one list. */
        uint32_t fl = tlsf_fls64(b->fl_bitmap);
        uint32_t c = (fl << TLSF_SL_LOG2) | tlsf_fls32(b->sl_bitmap[fl]);
        uint64_t best = 0;
        for (const tlsf_node *n = b->heads[c]; n != &b->guard; n = n->next_free) best = SEDX__MAX(best, n->size);
        out->largest_free_range = best;
    }
}

void sedx_virtual_block_foreach(const sedx_virtual_block *b, sedx_virtual_visit_fn fn, void *ctx)
{
    if (!b || !fn) return;
    const tlsf_node *g = &b->guard;
    if (!b->linear) {
        for (const tlsf_node *n = g->next_phys; n != g; n = n->next_phys)
            if (n->state == NODE_USED) fn(ctx, make_handle(n), n->offset, n->size, n->u.user_data);
        return;
    }
    if (g->next_phys == g) return;
    /* Allocation order is offset order but for one wrap: first the part that wrapped (offsets
     * below the oldest), then the rest. */
    uint64_t head = g->next_phys->offset;
    for (int pass = 0; pass < 2; ++pass)
        for (const tlsf_node *n = g->next_phys; n != g; n = n->next_phys)
            if ((n->offset < head) == (pass == 0)) fn(ctx, make_handle(n), n->offset, n->size, n->u.user_data);
}

/* ---- validate ------------------------------------------------------------------------------ */
#define VCHECK(cond, ...)                                                                      \
    do {                                                                                       \
        if (!(cond)) return SEDX__ERR(SEDX_ERROR_CORRUPTION, "TLSF", "validate: " __VA_ARGS__); \
    } while (0)

/* n is a taken node of this block's pool (O(1): its index names it). */
static bool in_pool(const sedx_virtual_block *b, const tlsf_node *n)
{
    return n->index != 0 && n->index < b->high_water && node_at(b, n->index) == n;
}

static sedx_result validate_pool(const sedx_virtual_block *b, uint32_t used, uint32_t free_nodes)
{
    VCHECK(b->chunk_count >= 1 && b->chunk_count <= b->chunk_slots, "chunk count %" PRIu32 " of %" PRIu32,
           b->chunk_count, b->chunk_slots);
    uint32_t capacity = b->chunk_count * TLSF_CHUNK_NODES;
    VCHECK(b->high_water >= 1 && b->high_water <= capacity, "high water %" PRIu32 " of %" PRIu32, b->high_water,
           capacity);
    for (uint32_t i = 0; i < b->high_water; ++i)
        VCHECK(node_at(b, i)->index == i, "pool node %" PRIu32 " has index %" PRIu32, i, node_at(b, i)->index);
    uint32_t spares = 0;
    for (const tlsf_node *n = b->spare; n; n = n->next_free) {
        VCHECK(spares < b->high_water && in_pool(b, n), "spare list leaves the pool after %" PRIu32 " nodes", spares);
        VCHECK(n->state == NODE_SPARE, "node %" PRIu32 " on the spare list is not spare", n->index);
        spares++;
    }
    VCHECK((uint64_t)used + free_nodes + spares == b->high_water - 1u,
           "nodes: %" PRIu32 " used + %" PRIu32 " free + %" PRIu32 " spare != %" PRIu32 " taken", used, free_nodes,
           spares, b->high_water - 1u);
    VCHECK(b->avail == spares + (capacity - b->high_water), "avail %" PRIu32 " != %" PRIu32, b->avail,
           spares + (capacity - b->high_water));
    VCHECK(b->guard.state == NODE_GUARD && b->guard.size == 0, "guard node overwritten");
    /* The free's stand-in: its removal must stay a no-op on the lists (class 0 is always empty,
     * its links lead to the scratch slot and the guard) and it must never look free. */
    VCHECK(b->standin.state == NODE_GUARD && b->standin.cls == 0 && b->standin.next_free == &b->guard &&
               b->standin.u.pprev_free == &b->scratch,
           "stand-in node overwritten");
    VCHECK(b->linear || b->heads[0] == &b->guard, "class 0 (size 0) holds a node");
    VCHECK(node_at(b, 0)->state == NODE_SPARE, "pool node 0 was taken");
    VCHECK(b->free_kind <= 3u, "free case %" PRIu32 " out of range", b->free_kind);
    return SEDX_SUCCESS;
}

static sedx_result validate_linear(const sedx_virtual_block *b)
{
    const tlsf_node *g = &b->guard, *prev = g;
    uint32_t count = 0;
    uint64_t bytes = 0, head = 0, prev_end = 0;
    bool wrapped = false;
    for (const tlsf_node *n = g->next_phys; n != g; prev = n, n = n->next_phys) {
        VCHECK(count < b->high_water && in_pool(b, n), "allocation list leaves the pool after %" PRIu32 " nodes",
               count);
        VCHECK(n->state == NODE_USED, "node %" PRIu32 " in the allocation list is not used", n->index);
        VCHECK(n->prev_phys == prev, "node %" PRIu32 ": broken back link", n->index);
        VCHECK(n->size > 0 && n->offset <= b->size && n->size <= b->size - n->offset,
               "node %" PRIu32 " [%" PRIu64 ", +%" PRIu64 ") outside the block", n->index, n->offset, n->size);
        uint64_t end = n->offset + n->size;
        if (prev == g) {
            head = n->offset;
        } else if (!(n->offset >= prev_end && (!wrapped || end <= head))) {
            /* The one wrap: back to a lower offset, ending at or before the oldest. */
            VCHECK(!wrapped && end <= head, "node %" PRIu32 " [%" PRIu64 ", +%" PRIu64 ") overlaps or wraps twice",
                   n->index, n->offset, n->size);
            wrapped = true;
        }
        prev_end = end;
        count++;
        bytes += n->size;
    }
    VCHECK(g->prev_phys == prev, "the guard's back link is not the newest allocation");
    VCHECK(count == b->alloc_count && bytes == b->alloc_bytes,
           "%" PRIu32 " allocations / %" PRIu64 " B listed, %" PRIu32 " / %" PRIu64 " B counted", count, bytes,
           b->alloc_count, b->alloc_bytes);
    VCHECK(b->fl_bitmap == 0, "free lists in use in linear mode");
    return validate_pool(b, count, 0);
}

static sedx_result validate_tlsf(const sedx_virtual_block *b)
{
    /* The physical chain covers [0, size) exactly. */
    const tlsf_node *g = &b->guard, *prev = g;
    uint32_t used = 0, free_nodes = 0, nodes = 0;
    uint64_t used_bytes = 0, end = 0;
    for (const tlsf_node *n = g->next_phys; n != g; prev = n, n = n->next_phys) {
        VCHECK(nodes < b->high_water && in_pool(b, n), "physical chain leaves the pool after %" PRIu32 " nodes",
               nodes);
        nodes++;
        VCHECK(n->prev_phys == prev, "node %" PRIu32 ": broken back link", n->index);
        VCHECK(n->offset == end, "node %" PRIu32 " at %" PRIu64 ", expected %" PRIu64 " (gap or overlap)", n->index,
               n->offset, end);
        uint64_t next = n->next_phys->offset; /* the guard's: b->size */
        VCHECK(n->size > 0 && next > n->offset && n->size <= next - n->offset,
               "node %" PRIu32 ": size %" PRIu64 " at %" PRIu64 " overlaps the next node at %" PRIu64, n->index,
               n->size, n->offset, next);
        if (n->state == NODE_USED) {
            used++;
            used_bytes += n->size;
        } else {
            VCHECK(n->state == NODE_FREE, "node %" PRIu32 " in the physical chain is spare", n->index);
            VCHECK(prev->state != NODE_FREE, "free nodes %" PRIu32 " and %" PRIu32 " are neighbours (not coalesced)",
                   prev->index, n->index);
            free_nodes++;
        }
        VCHECK(n->state != NODE_FREE || n->size == next - n->offset,
               "free node %" PRIu32 " [%" PRIu64 ", +%" PRIu64 ") does not reach the next node at %" PRIu64, n->index,
               n->offset, n->size, next);
        end = next;
    }
    VCHECK(g->prev_phys == prev, "the guard's back link is not the last node");
    VCHECK(g->offset == b->size, "the guard's offset %" PRIu64 " is not the block size", g->offset);
    VCHECK(end == b->size, "physical chain ends at %" PRIu64 ", block size %" PRIu64, end, b->size);
    VCHECK(used == b->alloc_count && used_bytes == b->alloc_bytes,
           "%" PRIu32 " allocations / %" PRIu64 " B in the chain, %" PRIu32 " / %" PRIu64 " B counted", used,
           used_bytes, b->alloc_count, b->alloc_bytes);
    uint32_t free_count = free_node_count(b);
    VCHECK(free_nodes == free_count, "%" PRIu32 " free nodes in the chain, %" PRIu32 " counted", free_nodes,
           free_count);

    /* Every class list and both bitmaps. */
    uint32_t listed = 0;
    for (uint32_t c = 0; c < b->class_count; ++c) {
        bool bit = (b->sl_bitmap[c >> TLSF_SL_LOG2] >> (c & (TLSF_SL_COUNT - 1u))) & 1u;
        VCHECK(bit == (b->heads[c] != g), "class %" PRIu32 ": bitmap bit %d but the list is %s", c, (int)bit,
               b->heads[c] != g ? "non-empty" : "empty");
        tlsf_node *const *link = &b->heads[c];
        for (const tlsf_node *n = b->heads[c]; n != g; link = &n->next_free, n = n->next_free) {
            VCHECK(listed < free_count && in_pool(b, n), "class %" PRIu32 ": list leaves the pool or is too long",
                   c);
            VCHECK(n->state == NODE_FREE, "class %" PRIu32 ": node %" PRIu32 " is not free", c, n->index);
            VCHECK(n->cls == c && size_class(n->size) == c, "node %" PRIu32 " (size %" PRIu64 ") in class %" PRIu32,
                   n->index, n->size, c);
            VCHECK(n->u.pprev_free == link, "class %" PRIu32 ": node %" PRIu32 ": broken back link", c, n->index);
            listed++;
        }
    }
    VCHECK(listed == free_count, "%" PRIu32 " nodes in the class lists, %" PRIu32 " free", listed, free_count);
    for (uint32_t fl = 0; fl < TLSF_FL_MAX; ++fl) {
        bool bit = (b->fl_bitmap >> fl) & 1u;
        VCHECK(bit == (b->sl_bitmap[fl] != 0), "first level %" PRIu32 ": bit %d, second-level word 0x%08" PRIx32, fl,
               (int)bit, b->sl_bitmap[fl]);
        VCHECK((fl << TLSF_SL_LOG2) < b->class_count || !b->sl_bitmap[fl], "first level %" PRIu32 " past the classes",
               fl);
    }
    return validate_pool(b, used, free_nodes);
}

sedx_result sedx_virtual_block_validate(const sedx_virtual_block *b)
{
    if (!b) return SEDX__ERR(SEDX_ERROR_INVALID_ARGUMENT, "TLSF", "validate: block is NULL");
    return b->linear ? validate_linear(b) : validate_tlsf(b);
}
