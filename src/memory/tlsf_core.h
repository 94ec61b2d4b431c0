/*
 * The TLSF virtual block's structures and its allocate / free cores, inline: included by tlsf.c
 * (the public sedx_virtual_* API) and by alloc.c (the GPU allocator, whose blocks are TLSF blocks
 * and whose hot path calls the cores without a function call in between). Nothing else includes
 * it. The cold parts (pool growth, the out-of-space log line) live in tlsf.c. The callers check
 * the arguments first (size 1 .. 2^63, alignment a power of two, out_alloc not NULL; a free's
 * node is a live allocation of the block): the cores do not.
 *
 * TLSF (two-level segregated fit) over a range of offsets, with every piece of metadata outside
 * the managed range, plus a linear/ring mode. No Vulkan here. See docs/virtual-block.md for the algorithm, the worst-case bound and what it costs.
 *
 * Nodes. Every range of the block, free or allocated, is a node {offset, size, physical
 * neighbours, free-list links or user data, generation}. Nodes live in a pool of 64-byte-aligned
 * chunks of TLSF_CHUNK_NODES nodes that never move, so nodes link to each other by pointer; a
 * node's pool index (index 0 is never used) plus its generation make the public handle,
 * (generation << 32) | index, stored as one 64-bit field. The generation is bumped whenever an
 * allocation ends (free or clear), so stale handles are detected. Nodes no longer needed go to
 * a spare list and are reused: steady-state allocation never calls the host allocator.
 *
 * Sentinel. Each block embeds one guard node (state NODE_GUARD, size 0, offset = the block
 * size in TLSF mode). The physical chain is circular through it (guard.next_phys = the node at
 * offset 0, guard.prev_phys = the last node) and an empty class list points at it, so list and
 * neighbour updates need no NULL tests: a guard is never free (no merge with it) and its size
 * 0 never fits a request. A second embedded node, the stand-in, is never in the chain: the
 * branch-free free takes it out of its "list" in place of a used neighbour (see "free" below).
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
 *  - pool nodes [1, high_water) are each exactly one of: used, free (in one list), spare; pool
 *    node 0 is never taken (it stays spare: handle index 0 is rejected by the state test).
 *  - the stand-in's links lead to b->scratch and the guard, its class is 0, its state GUARD;
 *    class 0's list is empty (no free node has size 0).
 *  - LINEAR: the used nodes form the circular list through the guard in allocation order
 *    (next_phys = newer); along it the offsets increase, wrapping to lower offsets at most
 *    once, and the wrapped part ends at or before the oldest allocation's offset.
 */
#ifndef SEDX_MEMORY_TLSF_CORE_H
#define SEDX_MEMORY_TLSF_CORE_H

#include "core/core.h"

#include <sedx/virtual_block.h>

#include <inttypes.h>

/* ---- tunables ------------------------------------------------------------------------------ */
#define TLSF_SL_LOG2 5u                          /* 32 second-level lists per power of two */
#define TLSF_SL_COUNT (1u << TLSF_SL_LOG2)
#define TLSF_FL_MAX 64u                          /* first-level slots (at most 61 are looked at) */
#define TLSF_CHUNK_LOG2 8u                       /* 256 nodes (16 KiB) per pool chunk */
#define TLSF_CHUNK_NODES (1u << TLSF_CHUNK_LOG2)
#define TLSF_CHUNK_MASK (TLSF_CHUNK_NODES - 1u)
#define TLSF_INITIAL_CHUNK_SLOTS 8u              /* chunk-table entries before it first grows */
#define TLSF_MAX_CHUNKS ((uint32_t)(UINT32_MAX >> TLSF_CHUNK_LOG2)) /* indices stay < 2^32 */
#define TLSF_NODE_ALIGN 64u                      /* one node, one cache line */

_Static_assert(TLSF_SL_COUNT == 32, "sl_bitmap words are uint32_t");
/* Sizes never exceed 2^63, whose class is 58 * 32 + 32: first level 59. A search starts at most
 * at size_class_up(2^64 - 1) = class(2^64 - 2) + 1 = 58 * 32 + 64: first level 60. */
_Static_assert((((63u - TLSF_SL_LOG2) << TLSF_SL_LOG2) + 2u * TLSF_SL_COUNT) >> TLSF_SL_LOG2 < TLSF_FL_MAX,
               "fl_bitmap too small for 64-bit sizes");
_Static_assert(TLSF_CHUNK_LOG2 >= 4 && TLSF_CHUNK_LOG2 <= 16, "chunk size out of range");

#if defined(__GNUC__) || defined(__clang__)
#  define TLSF_UNLIKELY(x) __builtin_expect(!!(x), 0)
#  define TLSF_LIKELY(x) __builtin_expect(!!(x), 1)
#  define TLSF_COLD __attribute__((cold, noinline))
#  define TLSF_NOINLINE __attribute__((noinline))
#else
#  define TLSF_NOINLINE
#  define TLSF_UNLIKELY(x) (x)
#  define TLSF_LIKELY(x) (x)
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
    union {
        uint64_t handle;    /* the public handle of the node's allocation: (generation << 32) | index */
        struct {            /* its halves, named in the byte order that makes them so */
#if defined(__BYTE_ORDER__) && __BYTE_ORDER__ == __ORDER_BIG_ENDIAN__
            uint32_t generation;
            uint32_t index;
#else
            uint32_t index;      /* position in the pool: the low half of the handle */
            uint32_t generation; /* bumped when an allocation ends: the high half */
#endif
        };
    };
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
    tlsf_node standin;       /* see "Free" below: a used neighbour's stand-in, never in the chain */
    tlsf_node *scratch;      /* written by the stand-in's removal and release, never read */
    uint32_t free_kind;      /* the last free's case: lower neighbour free | upper free << 1 */
    uint32_t free_streak;    /* how many frees in a row before it had the same case */
    /* cold */
    uint32_t chunk_count;
    uint32_t chunk_slots;
    uint32_t gen_seed;       /* initial generation of fresh nodes: differs between blocks */
    tlsf_node *heads[];      /* TLSF: first free node of each class, or &guard */
};


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
    /* The classes tile [0, 2^64) in order with no gap (class(0) = 0): the lowest class whose
     * lower bound is at least s is the one after the class of s - 1. */
    return size_class(s - 1u) + 1u;
}

static inline sedx_virtual_alloc make_handle(const tlsf_node *n) { return n->handle; }

/* The used node a handle names, or NULL (0, unknown, foreign, stale). */
static inline tlsf_node *handle_node(const sedx_virtual_block *b, sedx_virtual_alloc h)
{
    uint32_t i = (uint32_t)h;
    if (TLSF_UNLIKELY(i >= b->high_water)) return NULL;
    /* Index 0 needs no test of its own: pool node 0 is never taken, it stays NODE_SPARE. */
    tlsf_node *n = node_at(b, i);
    if (TLSF_UNLIKELY(n->state != NODE_USED || n->handle != h)) return NULL;
    return n;
}

/* ---- node pool ----------------------------------------------------------------------------- */
/* tlsf.c: one more chunk of TLSF_CHUNK_NODES nodes (cold: once per 256 nodes at most). */
sedx_result sedx__tlsf_pool_grow(sedx_virtual_block *b);

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
    tlsf_node *p = at->prev_phys; /* once: the stores below may alias it as far as gcc knows */
    n->prev_phys = p;
    n->next_phys = at;
    p->next_phys = n;
    at->prev_phys = n;
}

static inline void unlink_phys(tlsf_node *n)
{
    n->prev_phys->next_phys = n->next_phys;
    n->next_phys->prev_phys = n->prev_phys;
}

/* ---- class lists (branch-free: the guard stands in for "none") ---------------------------- */
/* n at the head of class c's list, its second-level bit set (the first level is the caller's) */
static inline void list_link(sedx_virtual_block *b, tlsf_node *n, uint32_t c)
{
    tlsf_node *h = b->heads[c];
    n->cls = (uint16_t)c;
    n->next_free = h;
    n->u.pprev_free = &b->heads[c];
    h->u.pprev_free = &n->next_free; /* the guard's is scratch */
    b->heads[c] = n;
    b->sl_bitmap[c >> TLSF_SL_LOG2] |= 1u << (c & (TLSF_SL_COUNT - 1u));
}

/* n out of its class list, the second-level bit cleared when the list is now empty; returns the
 * first-level bitmap fl with its bit cleared when the whole second level is */
static inline uint64_t list_unlink(sedx_virtual_block *b, tlsf_node *n, uint64_t fl)
{
    uint32_t c = n->cls, f = c >> TLSF_SL_LOG2;
    tlsf_node *x = n->next_free, **pp = n->u.pprev_free;
    *pp = x;
    x->u.pprev_free = pp; /* the guard's is scratch */
    uint32_t empty = b->heads[c] == &b->guard; /* pp may have been &heads[c] */
    uint32_t sl = b->sl_bitmap[f] & ~(empty << (c & (TLSF_SL_COUNT - 1u)));
    b->sl_bitmap[f] = sl;
    return fl & ~((uint64_t)(sl == 0) << f);
}

static inline void free_insert(sedx_virtual_block *b, tlsf_node *n, uint32_t c)
{
    n->state = NODE_FREE;
    list_link(b, n, c);
    b->fl_bitmap |= (uint64_t)1 << (c >> TLSF_SL_LOG2);
}

static inline void free_remove(sedx_virtual_block *b, tlsf_node *n) { b->fl_bitmap = list_unlink(b, n, b->fl_bitmap); }

/* free_remove then free_insert into class c, for a free node n: its state stays, and the first
 * level bitmap is read and written once. */
static inline void free_move(sedx_virtual_block *b, tlsf_node *n, uint32_t c)
{
    uint64_t fl = list_unlink(b, n, b->fl_bitmap);
    list_link(b, n, c);
    b->fl_bitmap = fl | (uint64_t)1 << (c >> TLSF_SL_LOG2);
}

/* First non-empty list at class c or above, or NULL. c may lie past class_count (every bit
 * there is clear and sl_bitmap has TLSF_FL_MAX words). */
static inline tlsf_node *search_from(const sedx_virtual_block *b, uint32_t c)
{
    uint32_t fl = c >> TLSF_SL_LOG2;
    uint32_t sl_map = b->sl_bitmap[fl] & (~0u << (c & (TLSF_SL_COUNT - 1u)));
    if (!sl_map) {
        uint64_t fl_map = b->fl_bitmap & ((~(uint64_t)0 << fl) << 1); /* fl <= 60 */
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
    /* need = size + mask < 2^64 (size <= 2^63, mask < 2^63): its class lies below first level
     * 61, and where need > b->size every bit from there up is clear (no node is that large). */
    tlsf_node *f = search_from(b, size_class_up(size + mask));
    if (TLSF_LIKELY(f != NULL)) return f;
    if (size > b->size || !b->fl_bitmap) return NULL;
    tlsf_node *h = b->heads[size_class(size)];
    if (fits(h, size, mask)) return h;
    uint32_t fl = tlsf_fls64(b->fl_bitmap);
    h = b->heads[(fl << TLSF_SL_LOG2) | tlsf_fls32(b->sl_bitmap[fl])];
    return fits(h, size, mask) ? h : NULL;
}

/* tlsf.c: the DEBUG line and SEDX_ERROR_OUT_OF_SPACE of a request that does not fit. */
TLSF_COLD sedx_result sedx__tlsf_out_of_space(const sedx_virtual_block *b, uint64_t size, uint64_t alignment);

/* ---- allocate / free cores ------------------------------------------------------------------ */
/* The TLSF allocation itself; the arguments are checked (see below). *out_node: the allocation's
 * node (its handle is make_handle(node); the GPU allocator's records keep the node itself, which
 * never moves, so a free needs no handle lookup). */
static inline __attribute__((always_inline)) sedx_result tlsf_allocate(sedx_virtual_block *b, uint64_t size,
                                                                        uint64_t alignment, void *user_data,
                                                                        tlsf_node **out_node, uint64_t *out_offset)
{
    uint64_t mask = alignment - 1u;
    tlsf_node *f = tlsf_find(b, size, mask);
    if (TLSF_UNLIKELY(!f)) return sedx__tlsf_out_of_space(b, size, alignment);
    /* Up to two new nodes (allocation or remainder, padding): reserve before changing anything. */
    if (TLSF_UNLIKELY(b->avail < 2u)) {
        sedx_result r = sedx__tlsf_pool_grow(b);
        if (r != SEDX_SUCCESS) return r;
    }

    uint64_t start = f->offset, pad = (0u - start) & mask;
    uint64_t rest = f->size - pad - size; /* f fits: no wrap */
    tlsf_node *a;
    if (TLSF_LIKELY(rest != 0)) {
        /* f keeps the remainder above the allocation; in its list only if its class changed. */
        a = node_take(b);
        link_before(f, a);
        f->offset = start + pad + size;
        f->size = rest;
        uint32_t c = size_class(rest);
        if (c != f->cls) free_move(b, f, c);
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
    *out_node = a;
    if (out_offset) *out_offset = a->offset;
    return SEDX_SUCCESS;
}

/* ---- free ---------------------------------------------------------------------------------
 * Coalescing with both physical neighbours (the guard is never free) has four cases: neither,
 * the lower, the upper or both neighbours free. In a random workload which one comes is a coin
 * toss, and a mispredicted branch costs more than doing every case's work at once; in an
 * ordered one (buffers destroyed in the order they were made, rings, stacks) the same case
 * comes every time, and branches on it cost nothing. So each free counts how many frees in a
 * row had its case (b->free_streak) and takes
 *  - tlsf_free_branchy once the same case came TLSF_FREE_STREAK times in a row: a branch per
 *    case, the surviving free neighbour kept (a streak that long is rare by chance, so this
 *    test itself is predictable in both kinds of workload);
 *  - tlsf_free_flat otherwise: no branch on the case.
 * Both leave the same ranges in the same list order (only which node object holds a merged
 * range differs), so allocation behaves alike after either. */
#define TLSF_FREE_STREAK 4u

/* c ? a : b without a branch (gcc turns a plain ?: on a coin toss into a branch). It selects
 * 64-bit offsets and sizes as well as pointers, through uintptr_t: */
_Static_assert(sizeof(uintptr_t) == sizeof(uint64_t), "tlsf_csel carries 64-bit offsets in a uintptr_t");
static inline uintptr_t tlsf_csel(bool c, uintptr_t a, uintptr_t b)
{
#if (defined(__GNUC__) || defined(__clang__)) && defined(__x86_64__)
    __asm__("test %2, %2\n\tcmovnz %1, %0" : "+r"(b) : "r"(a), "r"((uint32_t)c) : "cc");
    return b;
#else
    uintptr_t m = (uintptr_t)0 - (uintptr_t)c;
    return (a & m) | (b & ~m);
#endif
}
#define TLSF_CSEL(c, a, b) ((__typeof__(b))tlsf_csel((c), (uintptr_t)(a), (uintptr_t)(b)))

/* A free neighbour that survives the merge keeps its place in its list when its class does not
 * change. */
static inline __attribute__((always_inline)) void tlsf_free_branchy(sedx_virtual_block *b, tlsf_node *n,
                                                                    tlsf_node *p, tlsf_node *x, bool pf, bool xf)
{
    tlsf_node *keep;
    uint64_t size = x->offset - n->offset; /* the whole range, slack included; the guard's offset is b->size */
    if (pf) {
        if (xf) {
            free_remove(b, x);
            size += x->size;
            unlink_phys(x);
            node_release(b, x);
        }
        p->size += size;
        keep = p;
    } else if (xf) {
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
    if (c != keep->cls) free_move(b, keep, c);
}

/* n always survives: it takes the merged range, its free neighbours leave their lists for the
 * spare list, and n goes where k (the neighbour tlsf_free_branchy would keep) was in its list
 * if the class stays, else at the head of its class: the order tlsf_free_branchy leaves. A
 * used neighbour's part is done on b->standin instead, an empty pseudo-list member of class 0
 * (no free node has size 0, so class 0's list is always empty and its bit always clear: taking
 * the stand-in out leaves every list and bit as it was), and its spare-list link is
 * b->scratch. */
static inline __attribute__((always_inline)) void tlsf_free_flat(sedx_virtual_block *b, tlsf_node *n, tlsf_node *p,
                                                                 tlsf_node *x, bool pf, bool xf)
{
    /* The merged range: from p's offset if p is free, to x's end if x is free, else to x
     * (slack included; the guard's offset is b->size). */
    uint64_t lo = TLSF_CSEL(pf, p->offset, n->offset);
    uint64_t size = x->offset + TLSF_CSEL(xf, x->size, (uint64_t)0) - lo;
    uint32_t c = size_class(size);
    /* k: p if free, else x if free; o: x when both are free; the stand-in where none. Taken
     * out in this order, k's link is right even when o was just before it in the same list. */
    tlsf_node *k = TLSF_CSEL(pf, p, TLSF_CSEL(xf, x, &b->standin));
    tlsf_node *o = TLSF_CSEL(pf & xf, x, &b->standin);
    free_remove(b, o);
    free_remove(b, k);
    /* (The stand-in's class 0 is never c.) */
    tlsf_node **at = TLSF_CSEL(k->cls == c, k->u.pprev_free, &b->heads[c]);
    tlsf_node *h = *at;
    n->state = NODE_FREE;
    n->cls = (uint16_t)c;
    n->next_free = h;
    n->u.pprev_free = at;
    h->u.pprev_free = &n->next_free; /* the guard's is scratch */
    *at = n;
    b->sl_bitmap[c >> TLSF_SL_LOG2] |= 1u << (c & (TLSF_SL_COUNT - 1u));
    b->fl_bitmap |= (uint64_t)1 << (c >> TLSF_SL_LOG2);
    tlsf_node *np = TLSF_CSEL(pf, p->prev_phys, p), *nx = TLSF_CSEL(xf, x->next_phys, x);
    n->prev_phys = np;
    n->next_phys = nx;
    np->next_phys = n;
    nx->prev_phys = n;
    n->offset = lo;
    n->size = size;
    /* The free neighbours become spare and go on the spare list. */
    _Static_assert(NODE_FREE - 1 == NODE_SPARE, "a free node turns spare by a decrement");
    p->state = (uint8_t)(p->state - pf);
    x->state = (uint8_t)(x->state - xf);
    tlsf_node *sp = b->spare;
    *TLSF_CSEL(pf, &p->next_free, &b->scratch) = sp;
    sp = TLSF_CSEL(pf, p, sp);
    *TLSF_CSEL(xf, &x->next_free, &b->scratch) = sp;
    b->spare = TLSF_CSEL(xf, x, sp);
    b->avail += (uint32_t)pf + (uint32_t)xf;
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
    tlsf_node *p = n->prev_phys, *x = n->next_phys;
    bool pf = p->state == NODE_FREE, xf = x->state == NODE_FREE;
    uint32_t kind = (uint32_t)pf | (uint32_t)xf << 1;
    /* the streak + 1 if the case repeats, else 0, without a branch (wraps after 2^32: harmless) */
    uint32_t streak = (b->free_streak + 1u) & (0u - (uint32_t)(kind == b->free_kind));
    b->free_kind = kind;
    b->free_streak = streak;
    if (streak >= TLSF_FREE_STREAK)
        tlsf_free_branchy(b, n, p, x, pf, xf);
    else
        tlsf_free_flat(b, n, p, x, pf, xf);
}

#endif
