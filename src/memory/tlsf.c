/*
 * Virtual block: TLSF (two-level segregated fit) over a range of offsets, with every piece of
 * metadata outside the managed range, plus a linear/ring mode. No Vulkan here.
 * See docs/virtual-block.md for the algorithm, the worst-case bound and what it costs.
 *
 * Nodes. Every range of the block, free or allocated, is a node {offset, size, physical
 * neighbours, free-list links or user data, generation}. Nodes live in a pool of 64-byte-aligned
 * chunks of TLSF_CHUNK_NODES nodes that never move, so nodes link to each other by pointer; a
 * node's pool index (index 0 is never used) plus its generation make the public handle,
 * (generation << 32) | index. The generation is bumped whenever an allocation ends (free or
 * clear), so stale handles are detected. Nodes no longer needed go to a spare list and are
 * reused: steady-state allocation never calls the host allocator.
 *
 * Sentinel. Each block embeds one guard node (state NODE_GUARD, size 0, offset = the block
 * size in TLSF mode). The physical chain is circular through it (guard.next_phys = the node at
 * offset 0, guard.prev_phys = the last node) and an empty class list points at it, so list and
 * neighbour updates need no NULL tests: a guard is never free (no merge with it) and its size
 * 0 never fits a request.
 *
 * Size classes. class(s) = s for s < 64 (one list per byte size: the linear "small" level);
 * above, 32 classes per power of two: class(s) = 32 * (f - 5) + (s >> (f - 5)), f = fls(s).
 * First level = class >> 5 (one bit of fl_bitmap), second level = class & 31 (one bit of
 * sl_bitmap[fl]). Every free node is in the list of class(size).
 *
 * Slack. An alignment padding shorter than SEDX_VIRTUAL_PAD_RANGE_MIN in front of a new
 * allocation does not become a free node: the used node below keeps it. So a node's range is
 * [offset, next_phys->offset) (the guard's offset is the block size); size holds the whole
 * range for a free node and the requested size for a used one.
 *
 * Invariants (all checked by sedx_virtual_block_validate):
 *  - TLSF: the physical chain covers [0, size) in offset order with no empty range; a free
 *    node's size is its whole range, a used node's at most its range; two free nodes are
 *    never neighbours (free coalesces at once).
 *  - a bit of sl_bitmap is set iff its list is non-empty; a bit of fl_bitmap iff its
 *    sl_bitmap word is non-zero.
 *  - pool nodes [1, high_water) are each exactly one of: used, free (in one list), spare.
 *  - LINEAR: the used nodes form the circular list through the guard in allocation order
 *    (next_phys = newer); along it the offsets increase, wrapping to lower offsets at most
 *    once, and the wrapped part ends at or before the oldest allocation's offset.
 */
#include "core/core.h"

#include <sedx/virtual_block.h>

#include <inttypes.h>

/* ---- tunables ------------------------------------------------------------------------------ */
#define TLSF_SL_LOG2 5u                          /* 32 second-level lists per power of two */
#define TLSF_SL_COUNT (1u << TLSF_SL_LOG2)
#define TLSF_FL_MAX 64u                          /* first-level slots (at most 60 are used) */
#define TLSF_CHUNK_LOG2 8u                       /* 256 nodes (16 KiB) per pool chunk */
#define TLSF_CHUNK_NODES (1u << TLSF_CHUNK_LOG2)
#define TLSF_CHUNK_MASK (TLSF_CHUNK_NODES - 1u)
#define TLSF_INITIAL_CHUNK_SLOTS 8u              /* chunk-table entries before it first grows */
#define TLSF_MAX_CHUNKS ((uint32_t)(UINT32_MAX >> TLSF_CHUNK_LOG2)) /* indices stay < 2^32 */
#define TLSF_NODE_ALIGN 64u                      /* one node, one cache line */

_Static_assert(TLSF_SL_COUNT == 32, "sl_bitmap words are uint32_t");
/* Sizes and searches never exceed 2^63, whose class is 58 * 32 + 32: first level 59. */
_Static_assert((((63u - TLSF_SL_LOG2) << TLSF_SL_LOG2) + 2u * TLSF_SL_COUNT - 1u) >> TLSF_SL_LOG2 < TLSF_FL_MAX,
               "fl_bitmap too small for 64-bit sizes");
_Static_assert(TLSF_CHUNK_LOG2 >= 4 && TLSF_CHUNK_LOG2 <= 16, "chunk size out of range");

#if defined(__GNUC__) || defined(__clang__)
#  define TLSF_UNLIKELY(x) __builtin_expect(!!(x), 0)
#  define TLSF_COLD __attribute__((cold, noinline))
#  define TLSF_NOINLINE __attribute__((noinline))
#else
#  define TLSF_NOINLINE
#  define TLSF_UNLIKELY(x) (x)
#  define TLSF_COLD
#endif

/* ---- bit scans, wrapped once; x must be non-zero ------------------------------------------ */
#if defined(__GNUC__) || defined(__clang__)
static inline unsigned tlsf_fls64(uint64_t x) { return 63u - (unsigned)__builtin_clzll(x); }
static inline unsigned tlsf_ffs64(uint64_t x) { return (unsigned)__builtin_ctzll(x); }
static inline unsigned tlsf_fls32(uint32_t x) { return 31u - (unsigned)__builtin_clz(x); }
static inline unsigned tlsf_ffs32(uint32_t x) { return (unsigned)__builtin_ctz(x); }
#else
static inline unsigned tlsf_fls64(uint64_t x)
{
    unsigned r = 0;
    while (x >>= 1) ++r;
    return r;
}
static inline unsigned tlsf_ffs64(uint64_t x)
{
    unsigned r = 0;
    for (; !(x & 1u); x >>= 1) ++r;
    return r;
}
static inline unsigned tlsf_fls32(uint32_t x) { return tlsf_fls64(x); }
static inline unsigned tlsf_ffs32(uint32_t x) { return tlsf_ffs64(x); }
#endif

/* ---- nodes --------------------------------------------------------------------------------- */
enum { NODE_SPARE = 0, NODE_FREE = 1, NODE_USED = 2, NODE_GUARD = 3 };

typedef struct tlsf_node tlsf_node;
struct tlsf_node {
    uint64_t offset;
    uint64_t size;          /* used: the size as requested; free: the whole free range */
    tlsf_node *prev_phys;   /* TLSF: lower neighbour; LINEAR: older allocation (or the guard) */
    tlsf_node *next_phys;   /* TLSF: upper neighbour; LINEAR: newer allocation (or the guard) */
    tlsf_node *next_free;   /* NODE_FREE: class list (the guard ends it); NODE_SPARE: spare list */
    union {
        tlsf_node **pprev_free; /* NODE_FREE: the link that points here (a head or a next_free) */
        void *user_data;        /* NODE_USED */
    } u;
    uint32_t generation;    /* bumped when an allocation ends: the high half of its handle */
    uint32_t index;         /* position in the pool: the low half of its handle */
    uint16_t cls;           /* NODE_FREE: the class list it is in */
    uint8_t state;          /* NODE_* */
    uint8_t reserved_[5];
};
_Static_assert(sizeof(tlsf_node) == TLSF_NODE_ALIGN, "a node is one cache line");

typedef struct tlsf_chunk {
    tlsf_node *nodes; /* TLSF_NODE_ALIGN-aligned */
    void *raw;        /* what the host allocator returned */
} tlsf_chunk;

struct sedx_virtual_block {
    /* hot */
    uint64_t size;
    uint64_t alloc_bytes;
    uint32_t alloc_count;
    uint32_t avail;          /* nodes that can be taken without growing: spares + never used */
    uint32_t high_water;     /* pool nodes [1, high_water) have been taken at least once */
    tlsf_node *spare;        /* spare list */
    tlsf_chunk *chunks;      /* chunk table; chunks never move, the table may */
    uint64_t fl_bitmap;
    bool linear;
    uint32_t class_count;    /* TLSF: heads[] entries (whole first-level rows) */
    uint32_t sl_bitmap[TLSF_FL_MAX];
    tlsf_node guard;         /* see "Sentinel" above */
    /* cold */
    uint32_t chunk_count;
    uint32_t chunk_slots;
    uint32_t gen_seed;       /* initial generation of fresh nodes: differs between blocks */
    tlsf_node *heads[];      /* TLSF: first free node of each class, or &guard */
};

static _Atomic uint32_t g_block_serial;

/* Taken nodes are used, free or spare, and spares count in avail: no counter needed. */
static inline uint32_t free_node_count(const sedx_virtual_block *b)
{
    return b->chunk_count * TLSF_CHUNK_NODES - 1u - b->avail - b->alloc_count;
}

static inline tlsf_node *node_at(const sedx_virtual_block *b, uint32_t i)
{
    return &b->chunks[i >> TLSF_CHUNK_LOG2].nodes[i & TLSF_CHUNK_MASK];
}

/* log2 of the class width at s: 0 below 64 (the linear small level), fls(s) - 5 above. */
static inline unsigned class_shift(uint64_t s)
{
    return tlsf_fls64(s | TLSF_SL_COUNT) - TLSF_SL_LOG2;
}

static inline uint32_t size_class(uint64_t s) /* s >= 1 */
{
    unsigned sh = class_shift(s);
    return (uint32_t)(((uint64_t)sh << TLSF_SL_LOG2) + (s >> sh));
}

/* The lowest class whose every node has at least s bytes: class(s), plus one when s is not
 * the lower bound of its class (class indices run on across first-level rows, so the next
 * class of the last one in a row is the first of the next row). */
static inline uint32_t size_class_up(uint64_t s) /* s >= 1 */
{
    unsigned sh = class_shift(s);
    uint64_t below = s & (((uint64_t)1 << sh) - 1u);
    return (uint32_t)(((uint64_t)sh << TLSF_SL_LOG2) + (s >> sh)) + (below != 0);
}

static inline sedx_virtual_alloc make_handle(const tlsf_node *n)
{
    return ((uint64_t)n->generation << 32) | n->index;
}

/* The used node a handle names, or NULL (0, unknown, foreign, stale). */
static inline tlsf_node *handle_node(const sedx_virtual_block *b, sedx_virtual_alloc h)
{
    uint32_t i = (uint32_t)h;
    if (TLSF_UNLIKELY(i == 0 || i >= b->high_water)) return NULL;
    tlsf_node *n = node_at(b, i);
    if (TLSF_UNLIKELY(n->state != NODE_USED || n->generation != (uint32_t)(h >> 32))) return NULL;
    return n;
}

/* ---- node pool ----------------------------------------------------------------------------- */
static sedx_result pool_grow(sedx_virtual_block *b)
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

/* Callers make sure b->avail is large enough first. */
static inline tlsf_node *node_take(sedx_virtual_block *b)
{
    tlsf_node *n = b->spare;
    if (n) {
        b->spare = n->next_free;
    } else {
        n = node_at(b, b->high_water++);
    }
    b->avail--;
    return n;
}

static inline void node_release(sedx_virtual_block *b, tlsf_node *n)
{
    n->state = NODE_SPARE;
    n->next_free = b->spare;
    b->spare = n;
    b->avail++;
}

/* Links n into the physical chain (or the linear age list) just before `at`. */
static inline void link_before(tlsf_node *at, tlsf_node *n)
{
    n->prev_phys = at->prev_phys;
    n->next_phys = at;
    at->prev_phys->next_phys = n;
    at->prev_phys = n;
}

static inline void unlink_phys(tlsf_node *n)
{
    n->prev_phys->next_phys = n->next_phys;
    n->next_phys->prev_phys = n->prev_phys;
}

/* ---- class lists (branch-free: the guard stands in for "none") ---------------------------- */
static inline void free_insert(sedx_virtual_block *b, tlsf_node *n, uint32_t c)
{
    tlsf_node *h = b->heads[c];
    n->state = NODE_FREE;
    n->cls = (uint16_t)c;
    n->next_free = h;
    n->u.pprev_free = &b->heads[c];
    h->u.pprev_free = &n->next_free; /* the guard's is scratch */
    b->heads[c] = n;
    b->sl_bitmap[c >> TLSF_SL_LOG2] |= 1u << (c & (TLSF_SL_COUNT - 1u));
    b->fl_bitmap |= (uint64_t)1 << (c >> TLSF_SL_LOG2);
}

static inline void free_remove(sedx_virtual_block *b, tlsf_node *n)
{
    uint32_t c = n->cls, fl = c >> TLSF_SL_LOG2;
    tlsf_node *x = n->next_free;
    *n->u.pprev_free = x;
    x->u.pprev_free = n->u.pprev_free; /* the guard's is scratch */
    uint32_t empty = b->heads[c] == &b->guard;
    b->sl_bitmap[fl] &= ~(empty << (c & (TLSF_SL_COUNT - 1u)));
    b->fl_bitmap &= ~((uint64_t)(b->sl_bitmap[fl] == 0) << fl);
}

/* First non-empty list at class c or above, or NULL. c may lie past class_count (every bit
 * there is clear and sl_bitmap has TLSF_FL_MAX words). */
static inline tlsf_node *search_from(const sedx_virtual_block *b, uint32_t c)
{
    uint32_t fl = c >> TLSF_SL_LOG2;
    uint32_t sl_map = b->sl_bitmap[fl] & (~0u << (c & (TLSF_SL_COUNT - 1u)));
    if (!sl_map) {
        uint64_t fl_map = b->fl_bitmap & ((~(uint64_t)0 << fl) << 1); /* fl <= 59 */
        if (!fl_map) return NULL;
        fl = tlsf_ffs64(fl_map);
        sl_map = b->sl_bitmap[fl];
    }
    return b->heads[(fl << TLSF_SL_LOG2) | tlsf_ffs32(sl_map)];
}

/*
 * A free node that holds `size` bytes at an offset aligned to mask + 1, or NULL. Constant
 * time, no list walk:
 *  1. the first non-empty class at or above size_class_up(size + mask): the padding in front
 *     of an aligned offset is at most mask bytes, so every node there fits, its head included;
 *  2. only if there is none, two nodes that may fit anyway are looked at: the head of
 *     class(size), the lowest class that can hold a fitting node (exact and near fits), then
 *     the head of the highest non-empty class (the largest ranges; e.g. the whole block).
 */
static inline bool fits(const tlsf_node *n, uint64_t size, uint64_t mask)
{
    return n->size >= size + ((0u - n->offset) & mask); /* <= 2^64 - 1: no wrap; the guard: size 0 */
}

static inline tlsf_node *tlsf_find(const sedx_virtual_block *b, uint64_t size, uint64_t mask)
{
    uint64_t need = size + mask; /* size <= 2^63, mask < 2^63: no wrap */
    if (need <= b->size) {
        tlsf_node *f = search_from(b, size_class_up(need));
        if (f) return f;
    }
    if (size > b->size || !b->fl_bitmap) return NULL;
    tlsf_node *h = b->heads[size_class(size)];
    if (fits(h, size, mask)) return h;
    uint32_t fl = tlsf_fls64(b->fl_bitmap);
    h = b->heads[(fl << TLSF_SL_LOG2) | tlsf_fls32(b->sl_bitmap[fl])];
    return fits(h, size, mask) ? h : NULL;
}

/* ---- errors, kept off the hot path --------------------------------------------------------- */
static TLSF_COLD sedx_result out_of_space(const sedx_virtual_block *b, uint64_t size, uint64_t alignment)
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
    sedx_result r = pool_grow(b);
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
    if (!linear_fit(b, size, alignment - 1u, &offset)) return out_of_space(b, size, alignment);
    if (TLSF_UNLIKELY(b->avail < 1u)) {
        sedx_result r = pool_grow(b);
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
/* The TLSF allocation itself; the arguments are checked (see below). */
static inline __attribute__((always_inline)) sedx_result tlsf_allocate(sedx_virtual_block *b, uint64_t size,
                                                                        uint64_t alignment, void *user_data,
                                                                        sedx_virtual_alloc *out_alloc,
                                                                        uint64_t *out_offset)
{
    uint64_t mask = alignment - 1u;
    tlsf_node *f = tlsf_find(b, size, mask);
    if (TLSF_UNLIKELY(!f)) return out_of_space(b, size, alignment);
    /* Up to two new nodes (allocation or remainder, padding): reserve before changing anything. */
    if (TLSF_UNLIKELY(b->avail < 2u)) {
        sedx_result r = pool_grow(b);
        if (r != SEDX_SUCCESS) return r;
    }

    uint64_t start = f->offset, pad = (0u - start) & mask;
    uint64_t rest = f->size - pad - size; /* f fits: no wrap */
    tlsf_node *a;
    if (rest) {
        /* f keeps the remainder above the allocation; in its list only if its class changed. */
        a = node_take(b);
        link_before(f, a);
        f->offset = start + pad + size;
        f->size = rest;
        uint32_t c = size_class(rest);
        if (c != f->cls) {
            free_remove(b, f);
            free_insert(b, f, c);
        }
    } else {
        free_remove(b, f);
        a = f;
    }
    if (TLSF_UNLIKELY(pad >= SEDX_VIRTUAL_PAD_RANGE_MIN)) {
        /* A large padding is a free node of its own. Its lower neighbour is used (free nodes
         * are never neighbours, and offset 0 needs no padding), so there is nothing to merge. */
        tlsf_node *p = node_take(b);
        link_before(a, p);
        p->offset = start;
        p->size = pad;
        free_insert(b, p, size_class(pad));
    }
    /* A smaller padding becomes slack at the end of the used lower neighbour (see "Slack"):
     * no node, no list operation, and no free sliver that only a smaller alignment could use. */
    a->offset = start + pad;
    a->size = size;
    a->state = NODE_USED;
    a->u.user_data = user_data;
    b->alloc_count++;
    b->alloc_bytes += size;
    *out_alloc = make_handle(a);
    if (out_offset) *out_offset = a->offset;
    return SEDX_SUCCESS;
}

sedx_result sedx_virtual_allocate(sedx_virtual_block *b, uint64_t size, uint64_t alignment, void *user_data,
                                  sedx_virtual_alloc *out_alloc, uint64_t *out_offset)
{
    if (alignment == 0) alignment = 1;
    /* size - 1 >= 2^63 covers size 0 and size > 2^63; with alignment <= 2^63 as well, no
     * sum below can wrap around. */
    if (TLSF_UNLIKELY(!b || !out_alloc || size - 1u >= SEDX_VIRTUAL_MAX_SIZE || (alignment & (alignment - 1u))))
        return bad_request(b, out_alloc, size, alignment);
    if (b->linear) return linear_allocate(b, size, alignment, user_data, out_alloc, out_offset);
    return tlsf_allocate(b, size, alignment, user_data, out_alloc, out_offset);
}

/* The GPU allocator's entry (src/memory/alloc.c): its blocks are TLSF blocks and it has checked
 * what sedx_virtual_allocate checks (size 1 .. 2^63, alignment a power of two, out_alloc and
 * out_offset not NULL), so its calls go straight to the allocation. */
sedx_result sedx__virtual_allocate_checked(sedx_virtual_block *b, uint64_t size, uint64_t alignment, void *user_data,
                                           sedx_virtual_alloc *out_alloc, uint64_t *out_offset);
sedx_result sedx__virtual_allocate_checked(sedx_virtual_block *b, uint64_t size, uint64_t alignment, void *user_data,
                                           sedx_virtual_alloc *out_alloc, uint64_t *out_offset)
{
    return tlsf_allocate(b, size, alignment, user_data, out_alloc, out_offset);
}

/* The free itself, for a live allocation n of b. */
static inline __attribute__((always_inline)) void tlsf_free_node(sedx_virtual_block *b, tlsf_node *n)
{
    n->generation++; /* the handle goes stale */
    b->alloc_count--;
    b->alloc_bytes -= n->size;
    if (b->linear) {
        /* Unlinking is all it takes: freeing the oldest moves the head to the next live
         * allocation, freeing the newest moves the tail back. */
        unlink_phys(n);
        node_release(b, n);
        return;
    }
    /* Coalesce with both physical neighbours (the guard is never free). A free neighbour
     * survives the merge and keeps its place in its list when its class does not change. */
    tlsf_node *p = n->prev_phys, *x = n->next_phys, *keep;
    uint64_t size = x->offset - n->offset; /* the whole range, slack included; the guard's offset is b->size */
    if (p->state == NODE_FREE) {
        if (x->state == NODE_FREE) {
            free_remove(b, x);
            size += x->size;
            unlink_phys(x);
            node_release(b, x);
        }
        p->size += size;
        keep = p;
    } else if (x->state == NODE_FREE) {
        x->offset = n->offset;
        x->size += size;
        keep = x;
    } else {
        n->size = size;
        free_insert(b, n, size_class(size));
        return;
    }
    unlink_phys(n);
    node_release(b, n);
    uint32_t c = size_class(keep->size);
    if (c != keep->cls) {
        free_remove(b, keep);
        free_insert(b, keep, c);
    }
}

sedx_result sedx_virtual_free(sedx_virtual_block *b, sedx_virtual_alloc h)
{
    tlsf_node *n = b ? handle_node(b, h) : NULL;
    if (TLSF_UNLIKELY(!n)) return h == 0 && b ? SEDX_SUCCESS : bad_handle("free", b, h);
    tlsf_free_node(b, n);
    return SEDX_SUCCESS;
}

/* The GPU allocator's entry (src/memory/alloc.c): h is the live allocation its record holds (the
 * record's own handle and generation checks have passed), so only the handle's node is looked up. */
void sedx__virtual_free_checked(sedx_virtual_block *b, sedx_virtual_alloc h);
void sedx__virtual_free_checked(sedx_virtual_block *b, sedx_virtual_alloc h) { tlsf_free_node(b, node_at(b, (uint32_t)h)); }

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
