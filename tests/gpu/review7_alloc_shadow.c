/* Review 7: the GPU allocator driven by random operation sequences and checked after every step
 * against a shadow model of every live allocation.
 *
 * Operations: allocate (every usage, CUSTOM with explicit flags and type bits, every kind, sizes
 * 1 B .. 72 MiB, alignments 1 .. 64 KiB, MAPPED / DEDICATED / NO_DEDICATED / NEVER_ALLOCATE /
 * ALLOW_OVER_BUDGET), buffers and images through sedx_memory_create_buffer / _create_image (the
 * fast path included), free, map, unmap, rewrite, flush / invalidate (in and out of bounds),
 * release_empty_blocks, injected driver failures, double / stale / foreign / malformed handles.
 *
 * After every step: no two live allocations of one VkDeviceMemory overlap (with their debug
 * margins, and by atom on non-coherent memory), every offset is aligned, a non-empty block holds
 * one granularity class, every host-visible allocation still holds exactly the bytes written
 * through its mapping (compared with a CPU copy), the statistics and the budget agree with the
 * shadow (counts, bytes, blocks, VkDeviceMemory objects, spare blocks), and every 20 steps the
 * JSON dump lists exactly the shadow's allocations. Refused calls return their exact code and
 * the allocator keeps working.
 *
 * Also: sedx_memory_set_name with a pointer into the allocation's own current name
 * (sedx_memory_get_details' name), which read freed memory before the fix; and a dedicated
 * allocation whose vkMapMemory fails (the driver's output pointer was kept as the mapping). */
#include "test_util.h"
#include <sedx/sedx.h>
#include "memory/memory.h"

#include <cjson/cJSON.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define MiB (1024ull * 1024ull)
#define MAX_LIVE 160
#define HOST_CAP (20 * MiB) /* live host-visible bytes checked after every step */

static uint64_t g_rng;

static int setup(void **state)
{
    (void)state;
    g_rng = tu_seed();
    return 0;
}

static uint64_t rnd(uint64_t n) { return tu_rand(&g_rng) % n; }

static void log_restore(void)
{
    sedx_set_logger(NULL, NULL);
    sedx_set_log_level(SEDX_LOG_WARN);
}

enum { OBJ_NONE, OBJ_BUFFER, OBJ_IMAGE };

typedef struct shadow {
    sedx_allocation a;
    int obj; /* OBJ_*: a VkBuffer / VkImage made with it */
    VkBuffer buffer;
    VkImage image;
    VkDeviceMemory memory;
    uint64_t offset, size, align, ci;
    uint32_t type, maps;
    int klass; /* 0 linear, 1 optimal, 2 unknown */
    sedx_allocation_kind kind;
    bool dedicated, host;
    uint8_t *copy;  /* host: what the memory holds */
    uint8_t *block_ptr; /* block allocations: the mapping seen first (blocks stay mapped) */
    char name[64];
} shadow;

typedef struct run {
    sedx_context *ctx;
    sedx_allocator_info opt;
    uint64_t limit;        /* heap_size_limit (0: none) */
    uint64_t gran, atom, margin;
    bool noncoherent;      /* DEBUG_NONCOHERENT */
    bool fill, no_spare, always_ded;
    uint64_t pref_block;   /* the preferred block size in effect */
    shadow live[MAX_LIVE];
    int n;
    uint64_t host_bytes;
    sedx_allocation dead[64]; /* freed handles (stale) */
    int ndead;
    sedx_allocation foreign;
    sedx_context *other;
    int steps, allocs, fails, frees, json_checks;
    bool injected; /* driver failures injected for the allocation being made */
} run;

static int kind_class(const run *R, sedx_allocation_kind k)
{
    if (R->gran <= 1) return 0;
    return k == SEDX_ALLOCATION_KIND_BUFFER || k == SEDX_ALLOCATION_KIND_IMAGE_LINEAR ? 0
           : k == SEDX_ALLOCATION_KIND_IMAGE_OPTIMAL                                  ? 1
                                                                                       : 2;
}

static sedx_memory_stats stats_of(sedx_context *ctx)
{
    sedx_memory_stats s;
    assert_int_equal(sedx_memory_get_stats(ctx, &s), SEDX_SUCCESS);
    return s;
}

/* A pointer to l's bytes: its block mapping, or a map/unmap pair for dedicated memory with no
 * map held (*tmp set: unmap after use). */
static uint8_t *bytes_of(run *R, shadow *l, bool *tmp)
{
    *tmp = false;
    sedx_allocation_details d;
    assert_int_equal(sedx_memory_get_details(R->ctx, l->a, &d), SEDX_SUCCESS);
    assert_int_equal(d.map_count, l->maps);
    if (l->maps) {
        assert_non_null(d.mapped);
        if (l->block_ptr) assert_ptr_equal(d.mapped, l->block_ptr);
        return d.mapped;
    }
    assert_null(d.mapped);
    void *p = NULL;
    assert_int_equal(sedx_memory_map(R->ctx, l->a, &p), SEDX_SUCCESS);
    assert_non_null(p);
    if (l->block_ptr) assert_ptr_equal(p, l->block_ptr);
    *tmp = true;
    return p;
}

static void verify_bytes(run *R, shadow *l)
{
    if (!l->host) return;
    bool tmp;
    uint8_t *p = bytes_of(R, l, &tmp);
    if (R->noncoherent) assert_int_equal(sedx_memory_invalidate(R->ctx, l->a, 0, VK_WHOLE_SIZE), SEDX_SUCCESS);
    if (memcmp(p, l->copy, (size_t)l->size) != 0) {
        uint64_t k = 0;
        while (p[k] == l->copy[k]) ++k;
        fprintf(stderr, "allocation '%s' (%llu bytes at %llu, %s): byte %llu is 0x%02x, written 0x%02x\n", l->name,
                (unsigned long long)l->size, (unsigned long long)l->offset, l->dedicated ? "dedicated" : "block",
                (unsigned long long)k, p[k], l->copy[k]);
        fail();
    }
    if (tmp) assert_int_equal(sedx_memory_unmap(R->ctx, l->a), SEDX_SUCCESS);
}

/* Writes random bytes to [off, off+size) of l through its mapping and into its copy. */
static void write_bytes(run *R, shadow *l, uint64_t off, uint64_t size)
{
    bool tmp;
    uint8_t *p = bytes_of(R, l, &tmp);
    tu_fill_random(l->copy + off, (size_t)size, &g_rng);
    memcpy(p + off, l->copy + off, (size_t)size);
    if (R->noncoherent) assert_int_equal(sedx_memory_flush(R->ctx, l->a, off, size), SEDX_SUCCESS);
    if (tmp) assert_int_equal(sedx_memory_unmap(R->ctx, l->a), SEDX_SUCCESS);
}

static uint64_t align_down(uint64_t x, uint64_t a) { return x & ~(a - 1); }
static uint64_t align_up(uint64_t x, uint64_t a) { return (x + a - 1) & ~(a - 1); }

/* The placement invariants between l and every other live allocation. */
static void check_placement(run *R, const shadow *l)
{
    assert_int_equal(l->offset % l->align, 0);
    if (R->opt.min_alignment && !l->dedicated) assert_int_equal(l->offset % R->opt.min_alignment, 0);
    if (R->noncoherent && l->host && !l->dedicated) assert_int_equal(l->offset % R->atom, 0);
    if (l->dedicated) assert_int_equal(l->offset, 0);
    uint64_t m = (R->margin && l->host && !l->dedicated) ? R->margin : 0;
    uint64_t lo = l->offset - m, hi = l->offset + l->size + m;
    if (R->noncoherent && l->host) {
        lo = align_down(lo, R->atom);
        hi = align_up(hi, R->atom);
    }
    for (int i = 0; i < R->n; ++i) {
        const shadow *o = &R->live[i];
        if (o == l || o->memory != l->memory) continue;
        assert_false(l->dedicated || o->dedicated); /* dedicated memory has one allocation */
        uint64_t om = (R->margin && o->host) ? R->margin : 0;
        uint64_t olo = o->offset - om, ohi = o->offset + o->size + om;
        if (lo < ohi && olo < hi) {
            fprintf(stderr, "overlap: '%s' [%llu, %llu) and '%s' [%llu, %llu) in one VkDeviceMemory\n", l->name,
                    (unsigned long long)l->offset, (unsigned long long)(l->offset + l->size), o->name,
                    (unsigned long long)o->offset, (unsigned long long)(o->offset + o->size));
            fail();
        }
        assert_int_equal(o->klass, l->klass); /* one granularity class per non-empty block */
        assert_int_equal(o->type, l->type);
    }
}

/* Statistics and budget against the shadow. */
static void check_stats(run *R)
{
    sedx_memory_stats s = stats_of(R->ctx);
    uint64_t bytes = 0, ded_bytes = 0, block_sizes = 0;
    uint32_t ded = 0, blocks = 0;
    for (int i = 0; i < R->n; ++i) {
        const shadow *l = &R->live[i];
        bytes += l->size;
        if (l->dedicated) {
            ++ded;
            ded_bytes += l->size;
            assert_int_equal(sedx__memory_device_memory_size(R->ctx, l->a), l->size);
            continue;
        }
        bool first = true;
        for (int k = 0; k < i && first; ++k) first = R->live[k].memory != l->memory;
        if (first) {
            ++blocks;
            uint64_t bs = sedx__memory_device_memory_size(R->ctx, l->a);
            assert_true(bs >= l->offset + l->size);
            block_sizes += bs;
        }
    }
    assert_int_equal(s.total.allocation_count, (uint32_t)R->n);
    assert_int_equal(s.total.allocation_bytes, bytes);
    assert_int_equal(s.total.dedicated_count, ded);
    /* the blocks with allocations, plus spare ones (at most one per type, none without spares) */
    assert_int_equal(s.total.block_count - s.total.empty_block_count, blocks);
    for (uint32_t t = 0; t < s.memory_type_count; ++t) {
        assert_true(s.memory_type[t].empty_block_count <= (R->no_spare ? 0u : 1u));
        if (R->always_ded) assert_int_equal(s.memory_type[t].block_count, 0);
    }
    if (s.total.empty_block_count == 0) assert_int_equal(s.total.block_bytes, block_sizes + ded_bytes);
    else assert_true(s.total.block_bytes > block_sizes + ded_bytes);
    assert_int_equal(s.device_memory_count, s.total.block_count + s.total.dedicated_count);
    assert_int_equal(s.vk_allocate_count - s.vk_allocate_failures - s.vk_free_count, s.device_memory_count);
    sedx_memory_budget b[VK_MAX_MEMORY_HEAPS];
    uint32_t nh = 0;
    assert_int_equal(sedx_memory_get_budget(R->ctx, b, &nh), SEDX_SUCCESS);
    uint64_t all_alloc = 0, all_block = 0;
    for (uint32_t h = 0; h < nh; ++h) {
        all_alloc += b[h].allocation_bytes;
        all_block += b[h].block_bytes;
        assert_int_equal(b[h].block_bytes, s.memory_heap[h].block_bytes);
        if (R->limit) {
            assert_true(b[h].block_bytes <= R->limit);
            assert_int_equal(b[h].usage, b[h].block_bytes);
        }
    }
    assert_int_equal(all_alloc, bytes);
    assert_int_equal(all_block, s.total.block_bytes);
}

static uint64_t jnum(const cJSON *o, const char *k)
{
    const cJSON *v = cJSON_GetObjectItemCaseSensitive(o, k);
    assert_non_null(v);
    assert_true(cJSON_IsNumber(v));
    return (uint64_t)v->valuedouble;
}

static shadow *find_ci(run *R, uint64_t ci)
{
    for (int i = 0; i < R->n; ++i)
        if (R->live[i].ci == ci) return &R->live[i];
    return NULL;
}

static void check_json_alloc(const cJSON *al, const shadow *l, uint32_t type, bool dedicated)
{
    assert_non_null(l);
    assert_int_equal(jnum(al, "offset"), l->offset);
    assert_int_equal(jnum(al, "size"), l->size);
    assert_int_equal(jnum(al, "memory_type"), type);
    assert_int_equal(jnum(al, "map_count"), l->maps);
    assert_string_equal(cJSON_GetObjectItemCaseSensitive(al, "name")->valuestring, l->name);
    assert_string_equal(cJSON_GetObjectItemCaseSensitive(al, "kind")->valuestring, sedx_allocation_kind_name(l->kind));
    assert_true(dedicated ? cJSON_IsTrue(cJSON_GetObjectItemCaseSensitive(al, "dedicated"))
                          : cJSON_IsFalse(cJSON_GetObjectItemCaseSensitive(al, "dedicated")));
    assert_int_equal(l->dedicated, dedicated);
}

/* The dump lists exactly the shadow's allocations, each once, where the shadow has them. */
static void check_json(run *R)
{
    static const char *cls[] = {"linear", "optimal", "unknown"};
    char *json = NULL;
    assert_int_equal(sedx_memory_dump_json(R->ctx, &json), SEDX_SUCCESS);
    cJSON *root = cJSON_Parse(json);
    assert_non_null(root);
    int seen = 0;
    const cJSON *jt;
    cJSON_ArrayForEach(jt, cJSON_GetObjectItemCaseSensitive(root, "types"))
    {
        uint32_t t = (uint32_t)jnum(jt, "index");
        const cJSON *blk, *al;
        cJSON_ArrayForEach(blk, cJSON_GetObjectItemCaseSensitive(jt, "blocks"))
        {
            uint64_t count = jnum(blk, "allocation_count"), listed = 0, prev_end = 0;
            const char *klass = cJSON_GetObjectItemCaseSensitive(blk, "class")->valuestring;
            if (count == 0) assert_string_equal(klass, "empty");
            cJSON_ArrayForEach(al, cJSON_GetObjectItemCaseSensitive(blk, "allocations"))
            {
                shadow *l = find_ci(R, jnum(al, "creation_index"));
                check_json_alloc(al, l, t, false);
                assert_true(l->offset >= prev_end); /* offset order, disjoint */
                prev_end = l->offset + l->size;
                assert_true(prev_end <= jnum(blk, "size"));
                if (R->gran > 1) assert_string_equal(klass, cls[l->klass]);
                ++listed;
                ++seen;
            }
            assert_int_equal(listed, count);
        }
        cJSON_ArrayForEach(al, cJSON_GetObjectItemCaseSensitive(jt, "dedicated"))
        {
            check_json_alloc(al, find_ci(R, jnum(al, "creation_index")), t, true);
            ++seen;
        }
    }
    assert_int_equal(seen, R->n);
    cJSON_Delete(root);
    sedx_memory_free_string(json);
    R->json_checks++;
}

static void check_all(run *R)
{
    for (int i = 0; i < R->n; ++i) {
        check_placement(R, &R->live[i]);
        verify_bytes(R, &R->live[i]);
    }
    check_stats(R);
    if (R->steps % 20 == 0) check_json(R);
}

/* ------------------------------------------------------------------------------------------
 * Operations
 * ---------------------------------------------------------------------------------------- */
static uint64_t random_size(void)
{
    uint64_t k = rnd(100);
    if (k < 60) return 1 + rnd(4096);
    if (k < 85) return 4096 + rnd(256 * 1024);
    if (k < 97) return 256 * 1024 + rnd(4 * MiB);
    return 4 * MiB + rnd(68 * MiB); /* up to 72 MiB */
}

/* Takes a new live allocation into the shadow (details checked against the request). */
static void adopt(run *R, sedx_allocation a, const sedx_allocation_info *ai, uint64_t size, uint64_t align,
                  sedx_allocation_kind kind, int obj, VkBuffer buf, VkImage img)
{
    shadow *l = &R->live[R->n];
    memset(l, 0, sizeof *l);
    sedx_allocation_details d;
    assert_int_equal(sedx_memory_get_details(R->ctx, a, &d), SEDX_SUCCESS);
    l->a = a;
    l->obj = obj;
    l->buffer = buf;
    l->image = img;
    l->memory = d.memory;
    l->offset = d.offset;
    l->size = d.size;
    l->align = align;
    l->ci = d.creation_index;
    l->type = d.memory_type;
    l->kind = kind;
    l->klass = kind_class(R, kind);
    l->dedicated = d.dedicated;
    l->host = (d.property_flags & VK_MEMORY_PROPERTY_HOST_VISIBLE_BIT) != 0;
    l->maps = (ai->flags & SEDX_ALLOCATION_MAPPED) ? 1u : 0u;
    snprintf(l->name, sizeof l->name, "%s", ai->name ? ai->name : "");
    if (size) assert_int_equal(d.size, size);
    assert_int_equal(d.kind, kind);
    assert_string_equal(d.name, l->name);
    assert_int_equal(d.map_count, l->maps);
    assert_true(l->maps ? d.mapped != NULL : d.mapped == NULL);
    if ((ai->flags & SEDX_ALLOCATION_DEDICATED) || R->always_ded) assert_true(d.dedicated);
    if ((ai->flags & (SEDX_ALLOCATION_NO_DEDICATED | SEDX_ALLOCATION_NEVER_ALLOCATE)) && !R->always_ded)
        assert_false(d.dedicated);
    /* a request over half the preferred block is dedicated when nothing says otherwise and the
     * driver and the budget let it */
    if (!(ai->flags & (SEDX_ALLOCATION_NO_DEDICATED | SEDX_ALLOCATION_NEVER_ALLOCATE)) && !R->limit &&
        !R->injected && d.size > R->pref_block / 2)
        assert_true(d.dedicated);
    if (ai->memory_type_bits) assert_true(ai->memory_type_bits & (1u << d.memory_type));
    assert_int_equal(d.property_flags & ai->required_flags, ai->required_flags);
    R->n++;
    check_placement(R, l);
    if (l->host) {
        l->copy = malloc((size_t)l->size);
        assert_non_null(l->copy);
        bool tmp;
        uint8_t *p = bytes_of(R, l, &tmp);
        if (!l->dedicated) l->block_ptr = p;
        /* DEBUG_FILL: a new block allocation reads 0xDC */
        if (R->fill && !l->dedicated)
            for (uint64_t k = 0; k < l->size; k += 1 + k / 64) assert_int_equal(p[k], 0xDC);
        if (tmp) assert_int_equal(sedx_memory_unmap(R->ctx, l->a), SEDX_SUCCESS);
        write_bytes(R, l, 0, l->size);
        R->host_bytes += l->size;
    }
}

static void forget(run *R, int k)
{
    shadow *l = &R->live[k];
    if (l->host) R->host_bytes -= l->size;
    free(l->copy);
    if (R->ndead < 64) R->dead[R->ndead++] = l->a;
    else R->dead[rnd(64)] = l->a;
    R->live[k] = R->live[--R->n];
}

/* What sedx requires of a memory type for ai (sedx__mem_usage_prefs): the application's flags,
 * plus HOST_VISIBLE for host usages and mapped allocations. */
static VkMemoryPropertyFlags required_of(const sedx_allocation_info *ai)
{
    VkMemoryPropertyFlags req = ai->required_flags;
    sedx_memory_usage u = ai->usage;
    if (u == SEDX_MEMORY_USAGE_UPLOAD || u == SEDX_MEMORY_USAGE_STAGING || u == SEDX_MEMORY_USAGE_READBACK ||
        (ai->flags & SEDX_ALLOCATION_MAPPED))
        req |= VK_MEMORY_PROPERTY_HOST_VISIBLE_BIT;
    return req;
}

/* Whether a memory type among bits has every required flag: where none has (a host-visible
 * optimal image, type bits without a host-visible type on a discrete GPU), the request must be
 * refused with SEDX_ERROR_NO_MEMORY_TYPE, whatever else holds. lavapipe's every type is host
 * visible, so only a discrete GPU (the H100) showed the model lacked this. */
static bool type_exists(const run *R, uint32_t bits, VkMemoryPropertyFlags required)
{
    const VkPhysicalDeviceMemoryProperties *mp = sedx_context_memory_properties(R->ctx);
    for (uint32_t t = 0; t < mp->memoryTypeCount; ++t)
        if ((bits & (1u << t)) && (mp->memoryTypes[t].propertyFlags & required) == required) return true;
    return false;
}

static void op_allocate(run *R)
{
    static char name[64];
    sedx_allocation_info ai = {0};
    ai.usage = (sedx_memory_usage)rnd(SEDX_MEMORY_USAGE_CUSTOM + 1);
    ai.kind = (sedx_allocation_kind)rnd(4);
    snprintf(name, sizeof name, "r7-%d-%s", R->steps, rnd(8) == 0 ? "with a name long enough for the heap" : "x");
    ai.name = name;
    if (rnd(3) == 0) ai.flags |= SEDX_ALLOCATION_MAPPED;
    uint64_t f = rnd(100);
    if (f < 5) ai.flags |= SEDX_ALLOCATION_DEDICATED;
    else if (f < 10) ai.flags |= SEDX_ALLOCATION_NO_DEDICATED;
    else if (f < 15) ai.flags |= SEDX_ALLOCATION_NEVER_ALLOCATE;
    if (R->limit && rnd(4) == 0) ai.flags |= SEDX_ALLOCATION_ALLOW_OVER_BUDGET;
    if (ai.usage == SEDX_MEMORY_USAGE_CUSTOM) {
        const VkPhysicalDeviceMemoryProperties *mp = sedx_context_memory_properties(R->ctx);
        uint32_t t = (uint32_t)rnd(mp->memoryTypeCount);
        VkMemoryPropertyFlags tf = mp->memoryTypes[t].propertyFlags;
        ai.required_flags = tf & (VkMemoryPropertyFlags)tu_rand(&g_rng);
        ai.preferred_flags = (VkMemoryPropertyFlags)tu_rand(&g_rng) & 0xF;
        ai.memory_type_bits = rnd(2) ? (1u << t) : 0u;
    }
    uint64_t size = random_size();
    uint64_t align = 1ull << rnd(17);
    VkMemoryRequirements q = {size, align, UINT32_MAX};
    if (rnd(10) == 0) q.memoryTypeBits = 1u; /* type 0 only */

    const bool feasible =
        type_exists(R, q.memoryTypeBits & (ai.memory_type_bits ? ai.memory_type_bits : UINT32_MAX), required_of(&ai));
    sedx_memory_stats before = stats_of(R->ctx);
    sedx_memory_budget bb[VK_MAX_MEMORY_HEAPS];
    assert_int_equal(sedx_memory_get_budget(R->ctx, bb, NULL), SEDX_SUCCESS);
    uint32_t inject = rnd(15) == 0 ? 1 + (uint32_t)rnd(5) : 0;
    sedx__memory_inject_device_failures(R->ctx, inject);
    R->injected = inject != 0;
    sedx_allocation a = {0x5EED};
    tu_log_capture();
    sedx_result r = sedx_memory_allocate(R->ctx, &ai, &q, &a);
    bool logged = tu_log_contains(name);
    log_restore();
    sedx__memory_inject_device_failures(R->ctx, 0);
    R->allocs++;
    if (r == SEDX_SUCCESS) {
        assert_true(feasible);
        adopt(R, a, &ai, size, align, ai.kind, OBJ_NONE, VK_NULL_HANDLE, VK_NULL_HANDLE);
        R->injected = false;
        return;
    }
    R->injected = false;
    R->fails++;
    assert_int_equal(a.id, 0x5EED); /* not written */
    assert_true(logged);            /* one log line with the name */
    /* nothing changed: no allocation, no device memory left behind */
    sedx_memory_stats s = stats_of(R->ctx);
    assert_int_equal(s.total.allocation_count, before.total.allocation_count);
    assert_int_equal(s.total.allocation_bytes, before.total.allocation_bytes);
    assert_int_equal(s.device_memory_count, before.device_memory_count);
    assert_int_equal(s.total.block_bytes, before.total.block_bytes);
    if (!feasible) {
        assert_int_equal(r, SEDX_ERROR_NO_MEMORY_TYPE);
        return;
    }
    if (ai.flags & SEDX_ALLOCATION_NEVER_ALLOCATE) {
        assert_int_equal(r, SEDX_ERROR_OUT_OF_DEVICE_MEMORY);
        assert_int_equal(s.vk_allocate_count, before.vk_allocate_count);
        return;
    }
    if (inject) {
        if (!R->limit) assert_int_equal(r, SEDX_ERROR_OUT_OF_DEVICE_MEMORY);
        else assert_true(r == SEDX_ERROR_OUT_OF_DEVICE_MEMORY || r == SEDX_ERROR_OVER_BUDGET);
        return;
    }
    /* without a limit, on this driver, nothing else may fail */
    assert_true(R->limit != 0);
    uint32_t heap = 0;
    if (ai.flags & SEDX_ALLOCATION_ALLOW_OVER_BUDGET) {
        assert_int_equal(r, SEDX_ERROR_OUT_OF_DEVICE_MEMORY);
        if (!(ai.flags & SEDX_ALLOCATION_NO_DEDICATED)) assert_true(bb[heap].block_bytes + size > R->limit);
    } else if (size > R->limit) { /* larger than the heap: never, budget or not */
        assert_int_equal(r, SEDX_ERROR_OUT_OF_DEVICE_MEMORY);
    } else {
        assert_int_equal(r, SEDX_ERROR_OVER_BUDGET);
        if (!(ai.flags & SEDX_ALLOCATION_NO_DEDICATED)) assert_true(bb[heap].usage + size > bb[heap].budget);
    }
}

/* After a buffer/image creation: true when it succeeded. Under a heap limit it may be refused
 * for the budget or the limit (exact codes), leaving nothing behind and the output unwritten. */
static bool object_made(run *R, sedx_result r, bool written, bool feasible)
{
    if (r == SEDX_SUCCESS) {
        assert_true(feasible);
        return true;
    }
    if (feasible) {
        assert_true(R->limit != 0);
        assert_true(r == SEDX_ERROR_OVER_BUDGET || r == SEDX_ERROR_OUT_OF_DEVICE_MEMORY);
    } else {
        assert_int_equal(r, SEDX_ERROR_NO_MEMORY_TYPE);
    }
    assert_false(written);
    sedx_memory_stats s = stats_of(R->ctx);
    assert_int_equal(s.total.allocation_count, (uint32_t)R->n);
    R->fails++;
    return false;
}

static void op_create_object(run *R)
{
    sedx_allocation_info ai = {0};
    static char name[48];
    snprintf(name, sizeof name, "r7-obj-%d", R->steps);
    ai.name = rnd(2) ? name : NULL;
    ai.usage = (sedx_memory_usage)rnd(SEDX_MEMORY_USAGE_READBACK + 1);
    if (rnd(4) == 0) ai.flags |= SEDX_ALLOCATION_MAPPED;
    sedx_allocation a;
    R->allocs++;
    if (rnd(4) != 0) {
        static const uint64_t sizes[] = {256, 4096, 65536, 1000, 12345};
        VkBufferCreateInfo bi = {VK_STRUCTURE_TYPE_BUFFER_CREATE_INFO, NULL, 0,
                                 rnd(3) ? sizes[rnd(5)] : 1 + rnd(2 * MiB),
                                 rnd(2) ? VK_BUFFER_USAGE_STORAGE_BUFFER_BIT | VK_BUFFER_USAGE_TRANSFER_DST_BIT
                                        : VK_BUFFER_USAGE_UNIFORM_BUFFER_BIT,
                                 VK_SHARING_MODE_EXCLUSIVE, 0, NULL};
        VkBuffer buf = VK_NULL_HANDLE;
        VkDevice dev = sedx_context_device(R->ctx);
        VkMemoryRequirements probe; /* the same buffer's type bits, for the model */
        assert_int_equal(vkCreateBuffer(dev, &bi, NULL, &buf), VK_SUCCESS);
        vkGetBufferMemoryRequirements(dev, buf, &probe);
        vkDestroyBuffer(dev, buf, NULL);
        buf = VK_NULL_HANDLE;
        if (!object_made(R, sedx_memory_create_buffer(R->ctx, &bi, &ai, &buf, &a), buf != VK_NULL_HANDLE,
                         type_exists(R, probe.memoryTypeBits, required_of(&ai))))
            return;
        VkMemoryRequirements mr;
        vkGetBufferMemoryRequirements(sedx_context_device(R->ctx), buf, &mr);
        adopt(R, a, &ai, mr.size, mr.alignment, SEDX_ALLOCATION_KIND_BUFFER, OBJ_BUFFER, buf, VK_NULL_HANDLE);
    } else {
        bool linear = rnd(2);
        uint32_t w = 1 + (uint32_t)rnd(300), h = 1 + (uint32_t)rnd(300);
        VkImageCreateInfo ii = {VK_STRUCTURE_TYPE_IMAGE_CREATE_INFO, NULL, 0, VK_IMAGE_TYPE_2D,
                                VK_FORMAT_R8G8B8A8_UNORM, {w, h, 1}, 1, 1, VK_SAMPLE_COUNT_1_BIT,
                                linear ? VK_IMAGE_TILING_LINEAR : VK_IMAGE_TILING_OPTIMAL,
                                linear ? VK_IMAGE_USAGE_TRANSFER_SRC_BIT : VK_IMAGE_USAGE_SAMPLED_BIT,
                                VK_SHARING_MODE_EXCLUSIVE, 0, NULL, VK_IMAGE_LAYOUT_UNDEFINED};
        VkImage img = VK_NULL_HANDLE;
        VkDevice dev = sedx_context_device(R->ctx);
        VkMemoryRequirements probe; /* the same image's type bits (no host-visible one for an
                                     * optimal image on a discrete GPU), for the model */
        assert_int_equal(vkCreateImage(dev, &ii, NULL, &img), VK_SUCCESS);
        vkGetImageMemoryRequirements(dev, img, &probe);
        vkDestroyImage(dev, img, NULL);
        img = VK_NULL_HANDLE;
        if (!object_made(R, sedx_memory_create_image(R->ctx, &ii, &ai, &img, &a), img != VK_NULL_HANDLE,
                         type_exists(R, probe.memoryTypeBits, required_of(&ai))))
            return;
        VkMemoryRequirements mr;
        vkGetImageMemoryRequirements(sedx_context_device(R->ctx), img, &mr);
        adopt(R, a, &ai, mr.size, mr.alignment,
              linear ? SEDX_ALLOCATION_KIND_IMAGE_LINEAR : SEDX_ALLOCATION_KIND_IMAGE_OPTIMAL, OBJ_IMAGE,
              VK_NULL_HANDLE, img);
    }
}

static void op_free(run *R)
{
    int k = (int)rnd((uint64_t)R->n);
    shadow *l = &R->live[k];
    verify_bytes(R, l);
    sedx_allocation a = l->a;
    sedx_result r;
    if (l->obj == OBJ_BUFFER) r = sedx_memory_destroy_buffer(R->ctx, l->buffer, a);
    else if (l->obj == OBJ_IMAGE) r = sedx_memory_destroy_image(R->ctx, l->image, a);
    else r = sedx_memory_free(R->ctx, a);
    assert_int_equal(r, SEDX_SUCCESS);
    forget(R, k);
    R->frees++;
    if (rnd(4) == 0) { /* the slot is not reused yet: a double free, logged */
        tu_log_capture();
        assert_int_equal(sedx_memory_free(R->ctx, a), SEDX_ERROR_DOUBLE_FREE);
        assert_true(tu_log_contains("double free"));
        log_restore();
    }
}

static void op_map(run *R)
{
    shadow *l = &R->live[rnd((uint64_t)R->n)];
    void *p = NULL;
    if (!l->host) {
        tu_log_capture();
        assert_int_equal(sedx_memory_map(R->ctx, l->a, &p), SEDX_ERROR_NOT_HOST_VISIBLE);
        log_restore();
        return;
    }
    assert_int_equal(sedx_memory_map(R->ctx, l->a, &p), SEDX_SUCCESS);
    assert_non_null(p);
    if (l->block_ptr) assert_ptr_equal(p, l->block_ptr);
    l->maps++;
}

static void op_unmap(run *R)
{
    shadow *l = &R->live[rnd((uint64_t)R->n)];
    if (l->maps == 0) {
        tu_log_capture();
        assert_int_equal(sedx_memory_unmap(R->ctx, l->a), SEDX_ERROR_NOT_MAPPED);
        assert_true(tu_log_contains("without a matching map"));
        log_restore();
        return;
    }
    assert_int_equal(sedx_memory_unmap(R->ctx, l->a), SEDX_SUCCESS);
    l->maps--;
}

static void op_rewrite(run *R)
{
    shadow *l = &R->live[rnd((uint64_t)R->n)];
    if (!l->host) return;
    uint64_t off = rnd(l->size), size = 1 + rnd(l->size - off);
    write_bytes(R, l, off, size);
}

static void op_flush(run *R)
{
    shadow *l = &R->live[rnd((uint64_t)R->n)];
    if (!l->host) return;
    uint64_t off = rnd(l->size + 1), size = rnd(2) ? VK_WHOLE_SIZE : rnd(l->size - off + 1);
    bool tmp;
    (void)bytes_of(R, l, &tmp); /* hold a map while flushing */
    assert_int_equal(sedx_memory_flush(R->ctx, l->a, off, size), SEDX_SUCCESS);
    if (tmp) assert_int_equal(sedx_memory_unmap(R->ctx, l->a), SEDX_SUCCESS);
    tu_log_capture();
    assert_int_equal(sedx_memory_flush(R->ctx, l->a, l->size + 1 + rnd(100), 1), SEDX_ERROR_OUT_OF_BOUNDS);
    assert_int_equal(sedx_memory_invalidate(R->ctx, l->a, off, l->size - off + 1), SEDX_ERROR_OUT_OF_BOUNDS);
    log_restore();
}

static void op_misuse(run *R)
{
    sedx_allocation_details d;
    void *p;
    tu_log_capture();
    switch (rnd(4)) {
    case 0:
        if (R->ndead) {
            sedx_allocation a = R->dead[rnd((uint64_t)R->ndead)];
            assert_int_equal(sedx_memory_get_details(R->ctx, a, &d), SEDX_ERROR_INVALID_HANDLE);
            assert_int_equal(sedx_memory_map(R->ctx, a, &p), SEDX_ERROR_INVALID_HANDLE);
            sedx_result r = sedx_memory_free(R->ctx, a);
            assert_true(r == SEDX_ERROR_INVALID_HANDLE || r == SEDX_ERROR_DOUBLE_FREE);
        }
        break;
    case 1:
        assert_int_equal(sedx_memory_free(R->ctx, R->foreign), SEDX_ERROR_INVALID_HANDLE);
        assert_int_equal(sedx_memory_unmap(R->ctx, R->foreign), SEDX_ERROR_INVALID_HANDLE);
        break;
    case 2: {
        sedx_allocation junk = {tu_rand(&g_rng)};
        bool ours = false;
        for (int i = 0; i < R->n; ++i) ours |= R->live[i].a.id == junk.id;
        if (!ours) {
            sedx_result r = sedx_memory_free(R->ctx, junk);
            assert_true(r == SEDX_ERROR_INVALID_HANDLE || r == SEDX_ERROR_DOUBLE_FREE);
        }
        break;
    }
    default: { /* a bad request: exact code, nothing allocated */
        sedx_allocation a;
        VkMemoryRequirements q = {1 + rnd(1000), 3 + 2 * rnd(100), UINT32_MAX};
        assert_int_equal(sedx_memory_allocate(R->ctx, NULL, &q, &a), SEDX_ERROR_INVALID_ALIGNMENT);
        q.alignment = 64;
        q.size = 0;
        assert_int_equal(sedx_memory_allocate(R->ctx, NULL, &q, &a), SEDX_ERROR_INVALID_SIZE);
        q.size = 64;
        q.memoryTypeBits = 0;
        assert_int_equal(sedx_memory_allocate(R->ctx, NULL, &q, &a), SEDX_ERROR_NO_MEMORY_TYPE);
        sedx_allocation_info ai = {0};
        ai.usage = SEDX_MEMORY_USAGE_CUSTOM;
        ai.required_flags = VK_MEMORY_PROPERTY_PROTECTED_BIT | VK_MEMORY_PROPERTY_LAZILY_ALLOCATED_BIT;
        q.memoryTypeBits = UINT32_MAX;
        assert_int_equal(sedx_memory_allocate(R->ctx, &ai, &q, &a), SEDX_ERROR_NO_MEMORY_TYPE);
        break;
    }
    }
    log_restore();
}

static void op_release(run *R)
{
    sedx_memory_stats s = stats_of(R->ctx);
    assert_int_equal(sedx_memory_release_empty_blocks(R->ctx), s.total.empty_block_count);
    sedx_memory_stats t = stats_of(R->ctx);
    assert_int_equal(t.total.empty_block_count, 0);
    assert_int_equal(t.vk_free_count, s.vk_free_count + s.total.empty_block_count);
}

static void run_sequence(run *R, int steps)
{
    R->ctx = tu_context_flags(0, &R->opt);
    R->other = tu_context(false);
    sedx_allocation_info fi = {0};
    VkMemoryRequirements fq = {4096, 64, UINT32_MAX};
    assert_int_equal(sedx_memory_allocate(R->other, &fi, &fq, &R->foreign), SEDX_SUCCESS);
    const VkPhysicalDeviceLimits *lim = &sedx_context_properties(R->ctx)->limits;
    R->gran = lim->bufferImageGranularity;
    R->atom = lim->nonCoherentAtomSize;
    sedx_allocator_info eff;
    assert_int_equal(sedx_memory_get_allocator_info(R->ctx, &eff), SEDX_SUCCESS);
    R->margin = (eff.flags & SEDX_ALLOCATOR_DEBUG_MARGINS) ? eff.debug_margin : 0;
    R->noncoherent = (eff.flags & SEDX_ALLOCATOR_DEBUG_NONCOHERENT) != 0;
    R->fill = (eff.flags & SEDX_ALLOCATOR_DEBUG_FILL) != 0;
    R->no_spare = (eff.flags & SEDX_ALLOCATOR_NO_SPARE_BLOCK) != 0;
    R->always_ded = (eff.flags & SEDX_ALLOCATOR_DEBUG_ALWAYS_DEDICATED) != 0;
    char *json = NULL;
    assert_int_equal(sedx_memory_dump_json(R->ctx, &json), SEDX_SUCCESS);
    cJSON *root = cJSON_Parse(json);
    R->pref_block = jnum(cJSON_GetArrayItem(cJSON_GetObjectItemCaseSensitive(root, "heaps"), 0), "preferred_block_size");
    cJSON_Delete(root);
    sedx_memory_free_string(json);

    for (R->steps = 1; R->steps <= steps; ++R->steps) {
        uint64_t k = rnd(100);
        if (R->n == 0 || (R->n < MAX_LIVE && R->host_bytes < HOST_CAP && k < 40)) {
            if (rnd(4) == 0) op_create_object(R);
            else op_allocate(R);
        } else if (k < 70 || R->host_bytes >= HOST_CAP || R->n == MAX_LIVE) {
            op_free(R);
        } else if (k < 78) {
            op_map(R);
        } else if (k < 86) {
            op_unmap(R);
        } else if (k < 91) {
            op_rewrite(R);
        } else if (k < 95) {
            op_flush(R);
        } else if (k < 99) {
            op_misuse(R);
        } else {
            op_release(R);
        }
        check_all(R);
    }
    check_json(R);
    while (R->n > 0) {
        verify_bytes(R, &R->live[R->n - 1]);
        shadow *l = &R->live[R->n - 1];
        if (l->obj == OBJ_BUFFER) assert_int_equal(sedx_memory_destroy_buffer(R->ctx, l->buffer, l->a), SEDX_SUCCESS);
        else if (l->obj == OBJ_IMAGE) assert_int_equal(sedx_memory_destroy_image(R->ctx, l->image, l->a), SEDX_SUCCESS);
        else assert_int_equal(sedx_memory_free(R->ctx, l->a), SEDX_SUCCESS);
        forget(R, R->n - 1);
        check_stats(R);
    }
    sedx_memory_stats s = stats_of(R->ctx);
    assert_int_equal(s.total.allocation_count, 0);
    assert_int_equal(s.total.dedicated_count, 0);
    assert_true(s.total.block_count <= (R->no_spare ? 0u : s.memory_type_count));
    fprintf(stderr, "review7 shadow: %d steps, %d allocations (%d refused), %d frees, %d JSON checks\n", steps,
            R->allocs, R->fails, R->frees, R->json_checks);
    assert_int_equal(sedx_memory_free(R->other, R->foreign), SEDX_SUCCESS);
    tu_context_destroy(R->other);
    tu_context_destroy(R->ctx);
}

static run g_run;

static void test_sequence_default(void **state)
{
    (void)state;
    memset(&g_run, 0, sizeof g_run);
    run_sequence(&g_run, tu_long_mode() ? 20000 : 3000);
}

/* Small blocks (the dedicated threshold at 8 MiB), no spare block, a minimum alignment. */
static void test_sequence_small_blocks(void **state)
{
    (void)state;
    memset(&g_run, 0, sizeof g_run);
    g_run.opt.preferred_block_size = 16 * MiB;
    g_run.opt.flags = SEDX_ALLOCATOR_NO_SPARE_BLOCK;
    g_run.opt.min_alignment = 512;
    run_sequence(&g_run, tu_long_mode() ? 20000 : 2500);
}

/* Debug margins (an odd size, rounded to 4), fill patterns and non-coherent handling. */
static void test_sequence_debug(void **state)
{
    (void)state;
    memset(&g_run, 0, sizeof g_run);
    g_run.opt.preferred_block_size = 8 * MiB;
    g_run.opt.flags = SEDX_ALLOCATOR_DEBUG_MARGINS | SEDX_ALLOCATOR_DEBUG_FILL | SEDX_ALLOCATOR_DEBUG_NONCOHERENT;
    g_run.opt.debug_margin = 22;
    run_sequence(&g_run, tu_long_mode() ? 20000 : 2500);
    assert_int_equal(g_run.margin, 24);
}

/* A 40 MiB heap limit: budget exhaustion (OVER_BUDGET), then the limit itself with
 * ALLOW_OVER_BUDGET (OUT_OF_DEVICE_MEMORY), each exact and logged, nothing left behind. */
static void test_sequence_heap_limit(void **state)
{
    (void)state;
    memset(&g_run, 0, sizeof g_run);
    static uint64_t limits[VK_MAX_MEMORY_HEAPS];
    for (uint32_t i = 0; i < VK_MAX_MEMORY_HEAPS; ++i) limits[i] = 40 * MiB;
    g_run.opt.heap_size_limit = limits;
    g_run.limit = 40 * MiB;
    run_sequence(&g_run, tu_long_mode() ? 20000 : 3000);
    assert_true(g_run.fails > 0);
}

/* Every allocation dedicated. */
static void test_sequence_always_dedicated(void **state)
{
    (void)state;
    memset(&g_run, 0, sizeof g_run);
    g_run.opt.flags = SEDX_ALLOCATOR_DEBUG_ALWAYS_DEDICATED;
    run_sequence(&g_run, tu_long_mode() ? 6000 : 800);
}

/* ------------------------------------------------------------------------------------------
 * sedx_memory_set_name with the allocation's own name (or a part of it): the pointer
 * sedx_memory_get_details returns is the record's copy, which the rename replaces.
 * ---------------------------------------------------------------------------------------- */
static void test_rename_with_own_name(void **state)
{
    (void)state;
    sedx_context *ctx = tu_context(false);
    static const char *names[] = {
        "short name",
        "a name of more than forty bytes, kept on the heap by the allocator",
    };
    for (int n = 0; n < 2; ++n) {
        for (int cut = 0; cut < 3; ++cut) {
            sedx_allocation_info ai = {0};
            ai.usage = SEDX_MEMORY_USAGE_UPLOAD;
            ai.name = names[n];
            VkMemoryRequirements q = {1 + rnd(4096), 64, UINT32_MAX};
            sedx_allocation a;
            assert_int_equal(sedx_memory_allocate(ctx, &ai, &q, &a), SEDX_SUCCESS);
            sedx_allocation_details d;
            assert_int_equal(sedx_memory_get_details(ctx, a, &d), SEDX_SUCCESS);
            /* the same name, a tail of it that stays long, a short tail */
            size_t len = strlen(names[n]);
            size_t skip = cut == 0 ? 0 : cut == 1 ? (len > 45 ? 3 : 1) : len - 7;
            char want[128];
            snprintf(want, sizeof want, "%s", names[n] + skip);
            assert_int_equal(sedx_memory_set_name(ctx, a, d.name + skip), SEDX_SUCCESS);
            assert_int_equal(sedx_memory_get_details(ctx, a, &d), SEDX_SUCCESS);
            assert_string_equal(d.name, want);
            /* the JSON dump and the double-free report (the record's inline copy, 39 bytes) too */
            char *json = NULL;
            assert_int_equal(sedx_memory_dump_json(ctx, &json), SEDX_SUCCESS);
            assert_non_null(strstr(json, want));
            sedx_memory_free_string(json);
            assert_int_equal(sedx_memory_free(ctx, a), SEDX_SUCCESS);
            char inline_name[40];
            memcpy(inline_name, want, sizeof inline_name - 1);
            inline_name[sizeof inline_name - 1] = '\0';
            tu_log_capture();
            assert_int_equal(sedx_memory_free(ctx, a), SEDX_ERROR_DOUBLE_FREE);
            if (!tu_log_contains(inline_name)) fprintf(stderr, "double-free report lacks '%s'\n", inline_name);
            assert_true(tu_log_contains(inline_name));
            log_restore();
        }
    }
    tu_context_destroy(ctx);
}

/* ------------------------------------------------------------------------------------------
 * A dedicated allocation whose vkMapMemory fails: the driver may leave anything in ppData, so
 * the allocation must stay unmapped (no pointer in its details, no vkUnmapMemory at its free,
 * which the validation layer would report). The driver's failure is a stand-in in the
 * allocator's function table that scribbles on ppData first.
 * ---------------------------------------------------------------------------------------- */
static VkResult VKAPI_PTR failing_map(VkDevice device, VkDeviceMemory memory, VkDeviceSize offset, VkDeviceSize size,
                                      VkMemoryMapFlags flags, void **out)
{
    (void)device, (void)memory, (void)offset, (void)size, (void)flags;
    *out = (void *)(uintptr_t)0xDEAD0000u;
    return VK_ERROR_MEMORY_MAP_FAILED;
}

static void test_dedicated_map_failure(void **state)
{
    (void)state;
    sedx_context *ctx = tu_context(false);
    /* the allocator's own table (not const itself: only handed out as const) */
    sedx__memory_vk *vk = (sedx__memory_vk *)sedx__memory_vk_fns(ctx);
    sedx_allocation_info ai = {0};
    ai.usage = SEDX_MEMORY_USAGE_UPLOAD;
    ai.flags = SEDX_ALLOCATION_DEDICATED;
    ai.name = "map fails";
    VkMemoryRequirements q = {65536, 256, UINT32_MAX};
    sedx_allocation a;
    assert_int_equal(sedx_memory_allocate(ctx, &ai, &q, &a), SEDX_SUCCESS);
    PFN_vkMapMemory real = vk->MapMemory;
    vk->MapMemory = failing_map;
    void *p = NULL;
    tu_log_capture();
    assert_int_not_equal(sedx_memory_map(ctx, a, &p), SEDX_SUCCESS);
    log_restore();
    vk->MapMemory = real;
    assert_null(p);
    sedx_allocation_details d;
    assert_int_equal(sedx_memory_get_details(ctx, a, &d), SEDX_SUCCESS);
    assert_null(d.mapped);
    assert_int_equal(sedx_memory_unmap(ctx, a), SEDX_ERROR_NOT_MAPPED); /* never mapped */
    /* it maps and unmaps normally afterwards */
    assert_int_equal(sedx_memory_map(ctx, a, &p), SEDX_SUCCESS);
    memset(p, 0x5A, 65536);
    assert_int_equal(sedx_memory_unmap(ctx, a), SEDX_SUCCESS);
    /* a second one, freed while its failed map is its only map: no vkUnmapMemory */
    sedx_allocation b;
    assert_int_equal(sedx_memory_allocate(ctx, &ai, &q, &b), SEDX_SUCCESS);
    vk->MapMemory = failing_map;
    tu_log_capture();
    assert_int_not_equal(sedx_memory_map(ctx, b, &p), SEDX_SUCCESS);
    log_restore();
    vk->MapMemory = real;
    assert_int_equal(sedx_memory_free(ctx, b), SEDX_SUCCESS);
    assert_int_equal(sedx_memory_free(ctx, a), SEDX_SUCCESS);
    tu_context_destroy(ctx); /* the validation layer's messages are counted here */
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test_setup(test_rename_with_own_name, setup),
        cmocka_unit_test_setup(test_dedicated_map_failure, setup),
        cmocka_unit_test_setup(test_sequence_default, setup),
        cmocka_unit_test_setup(test_sequence_small_blocks, setup),
        cmocka_unit_test_setup(test_sequence_debug, setup),
        cmocka_unit_test_setup(test_sequence_heap_limit, setup),
        cmocka_unit_test_setup(test_sequence_always_dedicated, setup),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
