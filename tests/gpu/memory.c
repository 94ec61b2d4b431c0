/* The GPU allocator on a real device with validation on: every memory type, GPU copies between
 * sub-allocations, dedicated allocations, budget and heap limits, block reuse, flush rounding,
 * statistics against the JSON dump, handle misuse, debug margins, the leak report, host and
 * device allocation failures. Random data everywhere (seed: SEDX_TEST_SEED). */
#include "test_util.h"
#include <sedx/sedx.h>
#include "memory/memory.h"

#include <cjson/cJSON.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define MiB (1024ull * 1024ull)

static uint64_t g_rng;

static int setup(void **state)
{
    (void)state;
    g_rng = tu_seed();
    return 0;
}

static void log_restore(void)
{
    sedx_set_logger(NULL, NULL);
    sedx_set_log_level(SEDX_LOG_WARN);
}

static uint64_t rnd(uint64_t n) { return tu_rand(&g_rng) % n; }

static VkMemoryRequirements reqs(uint64_t size, uint64_t align, uint32_t bits)
{
    VkMemoryRequirements r;
    r.size = size;
    r.alignment = align;
    r.memoryTypeBits = bits;
    return r;
}

static sedx_memory_stats stats_of(sedx_context *ctx)
{
    sedx_memory_stats s;
    assert_int_equal(sedx_memory_get_stats(ctx, &s), SEDX_SUCCESS);
    return s;
}

static uint32_t type_count(sedx_context *ctx) { return sedx_context_memory_properties(ctx)->memoryTypeCount; }

static VkMemoryPropertyFlags type_flags(sedx_context *ctx, uint32_t t)
{
    return sedx_context_memory_properties(ctx)->memoryTypes[t].propertyFlags;
}

/* Writes random bytes through one mapping and reads them back through another. */
static void write_read_through_mapping(sedx_context *ctx, sedx_allocation a, uint64_t size)
{
    unsigned char *src = malloc((size_t)size);
    assert_non_null(src);
    tu_fill_random(src, (size_t)size, &g_rng);
    void *p = NULL;
    assert_int_equal(sedx_memory_map(ctx, a, &p), SEDX_SUCCESS);
    assert_non_null(p);
    memcpy(p, src, (size_t)size);
    assert_int_equal(sedx_memory_flush(ctx, a, 0, VK_WHOLE_SIZE), SEDX_SUCCESS);
    assert_int_equal(sedx_memory_unmap(ctx, a), SEDX_SUCCESS);
    void *q = NULL;
    assert_int_equal(sedx_memory_map(ctx, a, &q), SEDX_SUCCESS);
    assert_int_equal(sedx_memory_invalidate(ctx, a, 0, VK_WHOLE_SIZE), SEDX_SUCCESS);
    assert_memory_equal(q, src, (size_t)size);
    assert_int_equal(sedx_memory_unmap(ctx, a), SEDX_SUCCESS);
    free(src);
}

/* ------------------------------------------------------------------------------------------ */
static void test_every_memory_type(void **state)
{
    (void)state;
    sedx_context *ctx = tu_context(false);
    uint32_t n = type_count(ctx), tried = 0;
    for (uint32_t t = 0; t < n; ++t) {
        VkMemoryPropertyFlags f = type_flags(ctx, t);
        if (f & (VK_MEMORY_PROPERTY_PROTECTED_BIT | VK_MEMORY_PROPERTY_LAZILY_ALLOCATED_BIT |
                 VK_MEMORY_PROPERTY_DEVICE_COHERENT_BIT_AMD))
            continue;
        for (int k = 0; k < 4; ++k) {
            sedx_allocation_info ai = {0};
            ai.usage = SEDX_MEMORY_USAGE_CUSTOM;
            ai.required_flags = f;
            ai.memory_type_bits = 1u << t;
            ai.name = "every-type";
            uint64_t size = 1 + rnd(200000);
            uint64_t align = 1ull << rnd(13);
            VkMemoryRequirements r = reqs(size, align, UINT32_MAX);
            sedx_allocation a;
            assert_int_equal(sedx_memory_allocate(ctx, &ai, &r, &a), SEDX_SUCCESS);
            sedx_allocation_details d;
            assert_int_equal(sedx_memory_get_details(ctx, a, &d), SEDX_SUCCESS);
            assert_int_equal(d.memory_type, t);
            assert_int_equal(d.size, size);
            assert_int_equal(d.offset % align, 0);
            assert_string_equal(d.name, "every-type");
            assert_true(d.offset + d.size <= sedx__memory_device_memory_size(ctx, a));
            if (f & VK_MEMORY_PROPERTY_HOST_VISIBLE_BIT) {
                write_read_through_mapping(ctx, a, size);
            } else {
                void *p;
                assert_int_equal(sedx_memory_map(ctx, a, &p), SEDX_ERROR_NOT_HOST_VISIBLE);
            }
            assert_int_equal(sedx_memory_free(ctx, a), SEDX_SUCCESS);
            ++tried;
        }
    }
    assert_true(tried > 0);
    assert_int_equal(stats_of(ctx).total.allocation_count, 0);
    tu_context_destroy(ctx);
}

/* The usages pick types as the decision table says (checked against the flags, whatever the
 * device offers). */
static void test_usage_choice(void **state)
{
    (void)state;
    sedx_context *ctx = tu_context(false);
    uint32_t t;
    sedx_allocation_info ai = {0};
    assert_int_equal(sedx_memory_find_type(ctx, &ai, UINT32_MAX, &t), SEDX_SUCCESS);
    bool any_dl = false;
    for (uint32_t i = 0; i < type_count(ctx); ++i)
        any_dl |= (type_flags(ctx, i) & VK_MEMORY_PROPERTY_DEVICE_LOCAL_BIT) != 0;
    if (any_dl) assert_true(type_flags(ctx, t) & VK_MEMORY_PROPERTY_DEVICE_LOCAL_BIT);
    const sedx_memory_usage host_usages[] = {SEDX_MEMORY_USAGE_UPLOAD, SEDX_MEMORY_USAGE_STAGING,
                                             SEDX_MEMORY_USAGE_READBACK};
    for (size_t i = 0; i < 3; ++i) {
        ai.usage = host_usages[i];
        assert_int_equal(sedx_memory_find_type(ctx, &ai, UINT32_MAX, &t), SEDX_SUCCESS);
        assert_true(type_flags(ctx, t) & VK_MEMORY_PROPERTY_HOST_VISIBLE_BIT);
    }
    /* MAPPED implies host-visible under AUTO */
    ai.usage = SEDX_MEMORY_USAGE_AUTO;
    ai.flags = SEDX_ALLOCATION_MAPPED;
    assert_int_equal(sedx_memory_find_type(ctx, &ai, UINT32_MAX, &t), SEDX_SUCCESS);
    assert_true(type_flags(ctx, t) & VK_MEMORY_PROPERTY_HOST_VISIBLE_BIT);
    /* nothing qualifies */
    ai.flags = 0;
    assert_int_equal(sedx_memory_find_type(ctx, &ai, 0, &t), SEDX_ERROR_NO_MEMORY_TYPE);
    ai.required_flags = VK_MEMORY_PROPERTY_PROTECTED_BIT | VK_MEMORY_PROPERTY_HOST_VISIBLE_BIT;
    assert_int_equal(sedx_memory_find_type(ctx, &ai, UINT32_MAX, &t), SEDX_ERROR_NO_MEMORY_TYPE);
    tu_context_destroy(ctx);
}

/* Buffers sub-allocated side by side: random data written through the mappings, copied on the
 * GPU from each buffer into another, read back. A wrong bind offset or overlap shows. */
static void test_gpu_copy_between_suballocations(void **state)
{
    (void)state;
    sedx_context *ctx = tu_context(false);
    enum { N = 24 };
    VkBuffer src[N], dst[N];
    sedx_allocation sa[N], da[N];
    uint64_t size[N];
    unsigned char *expect[N];
    sedx_allocation_info ai = {0};
    ai.usage = SEDX_MEMORY_USAGE_UPLOAD;
    ai.flags = SEDX_ALLOCATION_MAPPED;
    for (int i = 0; i < N; ++i) {
        size[i] = 4 * (1 + rnd(8192));
        VkBufferCreateInfo bi = {VK_STRUCTURE_TYPE_BUFFER_CREATE_INFO, NULL, 0, size[i],
                                 VK_BUFFER_USAGE_TRANSFER_SRC_BIT | VK_BUFFER_USAGE_TRANSFER_DST_BIT,
                                 VK_SHARING_MODE_EXCLUSIVE, 0, NULL};
        assert_int_equal(sedx_memory_create_buffer(ctx, &bi, &ai, &src[i], &sa[i]), SEDX_SUCCESS);
        assert_int_equal(sedx_memory_create_buffer(ctx, &bi, &ai, &dst[i], &da[i]), SEDX_SUCCESS);
        expect[i] = malloc((size_t)size[i]);
        assert_non_null(expect[i]);
        tu_fill_random(expect[i], (size_t)size[i], &g_rng);
        sedx_allocation_details d;
        assert_int_equal(sedx_memory_get_details(ctx, sa[i], &d), SEDX_SUCCESS);
        assert_non_null(d.mapped);
        assert_int_equal(d.kind, SEDX_ALLOCATION_KIND_BUFFER);
        memcpy(d.mapped, expect[i], (size_t)size[i]);
        assert_int_equal(sedx_memory_flush(ctx, sa[i], 0, VK_WHOLE_SIZE), SEDX_SUCCESS);
        assert_int_equal(sedx_memory_get_details(ctx, da[i], &d), SEDX_SUCCESS);
        tu_fill_random(d.mapped, (size_t)size[i], &g_rng); /* garbage that must be overwritten */
        assert_int_equal(sedx_memory_flush(ctx, da[i], 0, VK_WHOLE_SIZE), SEDX_SUCCESS);
    }
    /* all in few blocks: the point is that they share VkDeviceMemory */
    assert_true(stats_of(ctx).total.block_count <= 2);
    sedx_cmd cmd;
    assert_int_equal(sedx_cmd_begin(ctx, SEDX_QUEUE_GRAPHICS, &cmd), SEDX_SUCCESS);
    for (int i = 0; i < N; ++i) {
        VkBufferCopy c = {0, 0, size[i]};
        vkCmdCopyBuffer(cmd.cmd, src[i], dst[i], 1, &c);
    }
    VkMemoryBarrier mb = {VK_STRUCTURE_TYPE_MEMORY_BARRIER, NULL, VK_ACCESS_TRANSFER_WRITE_BIT, VK_ACCESS_HOST_READ_BIT};
    vkCmdPipelineBarrier(cmd.cmd, VK_PIPELINE_STAGE_TRANSFER_BIT, VK_PIPELINE_STAGE_HOST_BIT, 0, 1, &mb, 0, NULL, 0,
                         NULL);
    sedx_ticket tk;
    assert_int_equal(sedx_cmd_submit(ctx, &cmd, NULL, &tk), SEDX_SUCCESS);
    assert_int_equal(sedx_ticket_wait(ctx, tk, UINT64_MAX), SEDX_SUCCESS);
    for (int i = 0; i < N; ++i) {
        sedx_allocation_details d;
        assert_int_equal(sedx_memory_invalidate(ctx, da[i], 0, VK_WHOLE_SIZE), SEDX_SUCCESS);
        assert_int_equal(sedx_memory_get_details(ctx, da[i], &d), SEDX_SUCCESS);
        assert_memory_equal(d.mapped, expect[i], (size_t)size[i]);
        free(expect[i]);
        assert_int_equal(sedx_memory_destroy_buffer(ctx, src[i], sa[i]), SEDX_SUCCESS);
        assert_int_equal(sedx_memory_destroy_buffer(ctx, dst[i], da[i]), SEDX_SUCCESS);
    }
    tu_context_destroy(ctx);
}

/* Dedicated: forced by flag, by the driver's requirements, and for requests over half a block. */
static void test_dedicated(void **state)
{
    (void)state;
    sedx_allocator_info opt = {0};
    opt.preferred_block_size = 4 * MiB;
    sedx_context *ctx = tu_context_flags(0, &opt);
    sedx_allocation_info ai = {0};
    ai.usage = SEDX_MEMORY_USAGE_UPLOAD;
    ai.name = "small-in-block";
    VkMemoryRequirements r = reqs(1000 + rnd(1000), 256, UINT32_MAX);
    sedx_allocation inblock, forced, required, large, large_block;
    assert_int_equal(sedx_memory_allocate(ctx, &ai, &r, &inblock), SEDX_SUCCESS);
    ai.flags = SEDX_ALLOCATION_DEDICATED;
    ai.name = "forced";
    assert_int_equal(sedx_memory_allocate(ctx, &ai, &r, &forced), SEDX_SUCCESS);
    ai.flags = 0;
    ai.name = "required";
    VkMemoryDedicatedRequirements dr = {VK_STRUCTURE_TYPE_MEMORY_DEDICATED_REQUIREMENTS, NULL, VK_TRUE, VK_TRUE};
    assert_int_equal(sedx_memory_allocate2(ctx, &ai, &r, &dr, VK_NULL_HANDLE, VK_NULL_HANDLE, &required), SEDX_SUCCESS);
    ai.name = "large";
    VkMemoryRequirements big = reqs(2 * MiB + 4096 * (1 + rnd(100)), 4096, UINT32_MAX); /* > 4 MiB / 2 */
    assert_int_equal(sedx_memory_allocate(ctx, &ai, &big, &large), SEDX_SUCCESS);
    ai.flags = SEDX_ALLOCATION_NO_DEDICATED;
    ai.name = "large-in-block";
    assert_int_equal(sedx_memory_allocate(ctx, &ai, &big, &large_block), SEDX_SUCCESS);

    sedx_allocation_details d, blk;
    assert_int_equal(sedx_memory_get_details(ctx, inblock, &blk), SEDX_SUCCESS);
    assert_false(blk.dedicated);
    sedx_allocation ded[] = {forced, required, large};
    for (size_t i = 0; i < 3; ++i) {
        assert_int_equal(sedx_memory_get_details(ctx, ded[i], &d), SEDX_SUCCESS);
        assert_true(d.dedicated);
        assert_int_equal(d.offset, 0);
        assert_true(d.memory != blk.memory);
        assert_int_equal(sedx__memory_device_memory_size(ctx, ded[i]), d.size);
        write_read_through_mapping(ctx, ded[i], d.size);
    }
    assert_int_equal(sedx_memory_get_details(ctx, large_block, &d), SEDX_SUCCESS);
    assert_false(d.dedicated);
    sedx_memory_stats s = stats_of(ctx);
    assert_int_equal(s.total.dedicated_count, 3);
    assert_int_equal(s.total.allocation_count, 5);
    assert_int_equal(s.device_memory_count, s.total.block_count + s.total.dedicated_count);
    /* dedicated mapping goes away at map count 0 */
    assert_int_equal(sedx_memory_get_details(ctx, forced, &d), SEDX_SUCCESS);
    assert_null(d.mapped);
    for (size_t i = 0; i < 3; ++i) assert_int_equal(sedx_memory_free(ctx, ded[i]), SEDX_SUCCESS);
    assert_int_equal(sedx_memory_free(ctx, inblock), SEDX_SUCCESS);
    assert_int_equal(sedx_memory_free(ctx, large_block), SEDX_SUCCESS);
    s = stats_of(ctx);
    assert_int_equal(s.total.dedicated_count, 0);
    assert_int_equal(s.vk_free_count + s.device_memory_count, s.vk_allocate_count - s.vk_allocate_failures);
    tu_context_destroy(ctx);
}

/* A real buffer whose memory the buffer helper allocates as dedicated when asked, bound with
 * VkMemoryDedicatedAllocateInfo (validation checks the pairing). */
static void test_dedicated_buffer_and_device_address(void **state)
{
    (void)state;
    sedx_context *ctx = tu_context(false);
    bool bda = (sedx_context_features(ctx) & SEDX_FEATURE_BUFFER_DEVICE_ADDRESS) != 0;
    VkBufferUsageFlags usage = VK_BUFFER_USAGE_STORAGE_BUFFER_BIT;
    if (bda) usage |= VK_BUFFER_USAGE_SHADER_DEVICE_ADDRESS_BIT;
    VkBufferCreateInfo bi = {VK_STRUCTURE_TYPE_BUFFER_CREATE_INFO, NULL, 0, 65536, usage, VK_SHARING_MODE_EXCLUSIVE, 0, NULL};
    sedx_allocation_info ai = {0};
    VkBuffer b1, b2;
    sedx_allocation a1, a2;
    assert_int_equal(sedx_memory_create_buffer(ctx, &bi, &ai, &b1, &a1), SEDX_SUCCESS);
    ai.flags = SEDX_ALLOCATION_DEDICATED;
    assert_int_equal(sedx_memory_create_buffer(ctx, &bi, &ai, &b2, &a2), SEDX_SUCCESS);
    if (bda) {
        /* needs VK_MEMORY_ALLOCATE_DEVICE_ADDRESS_BIT on the memory: validation complains otherwise */
        VkBufferDeviceAddressInfo i1 = {VK_STRUCTURE_TYPE_BUFFER_DEVICE_ADDRESS_INFO, NULL, b1};
        VkBufferDeviceAddressInfo i2 = {VK_STRUCTURE_TYPE_BUFFER_DEVICE_ADDRESS_INFO, NULL, b2};
        assert_true(vkGetBufferDeviceAddress(sedx_context_device(ctx), &i1) != 0);
        assert_true(vkGetBufferDeviceAddress(sedx_context_device(ctx), &i2) != 0);
    }
    assert_int_equal(sedx_memory_destroy_buffer(ctx, b1, a1), SEDX_SUCCESS);
    assert_int_equal(sedx_memory_destroy_buffer(ctx, b2, a2), SEDX_SUCCESS);
    tu_context_destroy(ctx);
}

/* A request large enough to prefer a dedicated allocation, past the budget: OVER_BUDGET, as
 * for small ones (it was OUT_OF_DEVICE_MEMORY: the block fallback's error replaced the
 * dedicated attempt's, found by sedx-bench upload's budget halving). */
static void test_budget_large_request(void **state)
{
    (void)state;
    uint64_t limits[VK_MAX_MEMORY_HEAPS];
    for (uint32_t i = 0; i < VK_MAX_MEMORY_HEAPS; ++i) limits[i] = 64 * MiB;
    sedx_allocator_info opt = {0};
    opt.heap_size_limit = limits;
    sedx_context *ctx = tu_context_flags(0, &opt);
    sedx_allocation_info ai = {0};
    ai.usage = SEDX_MEMORY_USAGE_GPU_ONLY;
    sedx_allocation a;
    VkMemoryRequirements q = reqs(60 * MiB, 256, UINT32_MAX); /* under the limit, over the 80 % budget */
    tu_log_capture();
    assert_int_equal(sedx_memory_allocate(ctx, &ai, &q, &a), SEDX_ERROR_OVER_BUDGET);
    q = reqs(40 * MiB, 256, UINT32_MAX); /* within it: fine */
    assert_int_equal(sedx_memory_allocate(ctx, &ai, &q, &a), SEDX_SUCCESS);
    assert_int_equal(sedx_memory_free(ctx, a), SEDX_SUCCESS);
    tu_context_destroy(ctx);
}

/* heap_size_limit: the budget is 80 % of the limit (OVER_BUDGET), ALLOW_OVER_BUDGET goes on up
 * to the limit itself (then OUT_OF_DEVICE_MEMORY). */
static void test_budget_and_heap_limit(void **state)
{
    (void)state;
    uint64_t limits[VK_MAX_MEMORY_HEAPS];
    for (uint32_t i = 0; i < VK_MAX_MEMORY_HEAPS; ++i) limits[i] = 64 * MiB;
    sedx_allocator_info opt = {0};
    opt.heap_size_limit = limits;
    sedx_context *ctx = tu_context_flags(0, &opt);
    sedx_allocation_info ai = {0};
    ai.usage = SEDX_MEMORY_USAGE_UPLOAD;
    ai.flags = SEDX_ALLOCATION_NO_FALLBACK;
    uint32_t t;
    assert_int_equal(sedx_memory_find_type(ctx, &ai, UINT32_MAX, &t), SEDX_SUCCESS);
    uint32_t heap = sedx_context_memory_properties(ctx)->memoryTypes[t].heapIndex;
    sedx_memory_budget b[VK_MAX_MEMORY_HEAPS];
    uint32_t nheaps;
    assert_int_equal(sedx_memory_get_budget(ctx, b, &nheaps), SEDX_SUCCESS);
    assert_true(heap < nheaps);
    assert_int_equal(b[heap].heap_size, SEDX__MIN(64 * MiB, sedx_context_memory_properties(ctx)->memoryHeaps[heap].size));
    assert_true(b[heap].budget <= 64 * MiB / 10 * 8);

    enum { MAXN = 256 };
    sedx_allocation a[MAXN];
    int n = 0;
    sedx_result r = SEDX_SUCCESS;
    tu_log_capture();
    while (n < MAXN) {
        VkMemoryRequirements q = reqs(256 * 1024 + 64 * rnd(4096), 64, UINT32_MAX);
        r = sedx_memory_allocate(ctx, &ai, &q, &a[n]);
        if (r != SEDX_SUCCESS) break;
        ++n;
    }
    assert_int_equal(r, SEDX_ERROR_OVER_BUDGET);
    assert_true(n > 10);
    assert_int_equal(sedx_memory_get_budget(ctx, b, NULL), SEDX_SUCCESS);
    assert_true(b[heap].block_bytes <= b[heap].budget);
    assert_true(b[heap].allocation_bytes <= b[heap].block_bytes);
    /* allowed past the budget, never past the limit */
    ai.flags |= SEDX_ALLOCATION_ALLOW_OVER_BUDGET;
    int over = 0;
    while (n < MAXN) {
        VkMemoryRequirements q = reqs(256 * 1024 + 64 * rnd(4096), 64, UINT32_MAX);
        r = sedx_memory_allocate(ctx, &ai, &q, &a[n]);
        if (r != SEDX_SUCCESS) break;
        ++n;
        ++over;
    }
    assert_int_equal(r, SEDX_ERROR_OUT_OF_DEVICE_MEMORY);
    assert_true(over > 0);
    assert_int_equal(sedx_memory_get_budget(ctx, b, NULL), SEDX_SUCCESS);
    assert_true(b[heap].block_bytes > b[heap].budget);
    assert_true(b[heap].block_bytes <= 64 * MiB);
    assert_true(b[heap].usage >= b[heap].block_bytes);
    log_restore();
    while (n > 0) assert_int_equal(sedx_memory_free(ctx, a[--n]), SEDX_SUCCESS);
    /* over budget: no spare block is kept while the heap is over it; at most one otherwise */
    assert_true(stats_of(ctx).total.empty_block_count <= 1);
    tu_context_destroy(ctx);
}

/* Churn: the second and later rounds reuse the blocks (no vkAllocateMemory); one spare block
 * survives when everything is freed; release_empty_blocks frees it. The Workload B pattern. */
static void test_block_reuse(void **state)
{
    (void)state;
    sedx_context *ctx = tu_context(false);
    enum { N = 1000 };
    static VkBuffer bufs[N];
    static sedx_allocation al[N];
    VkBufferCreateInfo bi = {VK_STRUCTURE_TYPE_BUFFER_CREATE_INFO, NULL, 0, 65536,
                             VK_BUFFER_USAGE_STORAGE_BUFFER_BIT | VK_BUFFER_USAGE_TRANSFER_DST_BIT,
                             VK_SHARING_MODE_EXCLUSIVE, 0, NULL};
    sedx_allocation_info ai = {0};
    uint64_t after_first = 0;
    for (int round = 0; round < 4; ++round) {
        for (int i = 0; i < N; ++i) assert_int_equal(sedx_memory_create_buffer(ctx, &bi, &ai, &bufs[i], &al[i]), SEDX_SUCCESS);
        sedx_memory_stats s = stats_of(ctx);
        assert_int_equal(s.total.allocation_count, N);
        if (round == 0) after_first = s.vk_allocate_count;
        else assert_int_equal(s.vk_allocate_count, after_first);
        for (int i = 0; i < N; ++i) assert_int_equal(sedx_memory_destroy_buffer(ctx, bufs[i], al[i]), SEDX_SUCCESS);
        s = stats_of(ctx);
        assert_int_equal(s.total.allocation_count, 0);
        assert_int_equal(s.total.empty_block_count, 1);
        assert_int_equal(s.total.block_count, 1);
    }
    assert_true(after_first <= 2);
    /* random churn, fewer live than fit: still no new device memory */
    uint64_t before = stats_of(ctx).vk_allocate_count;
    int live = 0;
    for (int op = 0; op < 20000; ++op) {
        if (live == 0 || (live < N && rnd(100) < 55)) {
            assert_int_equal(sedx_memory_create_buffer(ctx, &bi, &ai, &bufs[live], &al[live]), SEDX_SUCCESS);
            ++live;
        } else {
            int k = (int)rnd((uint64_t)live);
            assert_int_equal(sedx_memory_destroy_buffer(ctx, bufs[k], al[k]), SEDX_SUCCESS);
            bufs[k] = bufs[live - 1];
            al[k] = al[live - 1];
            --live;
        }
    }
    assert_int_equal(stats_of(ctx).vk_allocate_count, before);
    while (live > 0) {
        --live;
        assert_int_equal(sedx_memory_destroy_buffer(ctx, bufs[live], al[live]), SEDX_SUCCESS);
    }
    sedx_memory_stats s = stats_of(ctx);
    uint64_t frees = s.vk_free_count;
    assert_int_equal(sedx_memory_release_empty_blocks(ctx), 1);
    s = stats_of(ctx);
    assert_int_equal(s.vk_free_count, frees + 1);
    assert_int_equal(s.total.block_count, 0);
    assert_int_equal(s.device_memory_count, 0);
    tu_context_destroy(ctx);
}

/* sedx_memory_create_buffer keeps the memory requirements per create info (Vulkan 1.3's
 * vkGetDeviceBufferMemoryRequirements) and has a fast path for plain allocation infos: every
 * buffer, first of its create info or not, named or not, fast path or general path, more
 * create infos than the cache holds, gets memory that meets the buffer's own requirements
 * (asked of the driver here for each buffer), of the type the general choice gives, with its
 * name, kind and user data; the validation layer checks every bind. Then the same from 4
 * threads (the cache is read without a lock). */
typedef struct create_case {
    sedx_context *ctx;
    uint32_t seed;
} create_case;

static void check_buffer_allocation(sedx_context *ctx, VkBuffer buf, sedx_allocation a, const sedx_allocation_info *ai)
{
    const sedx__memory_vk *vk = sedx__memory_vk_fns(ctx);
    VkMemoryRequirements2 r2 = {VK_STRUCTURE_TYPE_MEMORY_REQUIREMENTS_2, NULL, {0, 0, 0}};
    VkBufferMemoryRequirementsInfo2 ri = {VK_STRUCTURE_TYPE_BUFFER_MEMORY_REQUIREMENTS_INFO_2, NULL, buf};
    vk->GetBufferMemoryRequirements2(sedx_context_device(ctx), &ri, &r2);
    sedx_allocation_details d;
    assert_int_equal(sedx_memory_get_details(ctx, a, &d), SEDX_SUCCESS);
    assert_int_equal(d.size, r2.memoryRequirements.size);
    assert_int_equal(d.offset % r2.memoryRequirements.alignment, 0);
    assert_true(r2.memoryRequirements.memoryTypeBits & (1u << d.memory_type));
    assert_int_equal(d.kind, SEDX_ALLOCATION_KIND_BUFFER);
    assert_string_equal(d.name, ai->name ? ai->name : "");
    assert_ptr_equal(d.user_data, ai->user_data);
    uint32_t want;
    assert_int_equal(sedx_memory_find_type(ctx, ai, r2.memoryRequirements.memoryTypeBits, &want), SEDX_SUCCESS);
    if (!ai->flags) assert_int_equal(d.memory_type, want);
}

static void create_buffers_round(sedx_context *ctx, uint64_t *rng, int n_infos)
{
    enum { PER = 24 };
    static const VkBufferUsageFlags usages[] = {
        VK_BUFFER_USAGE_STORAGE_BUFFER_BIT | VK_BUFFER_USAGE_TRANSFER_DST_BIT, VK_BUFFER_USAGE_VERTEX_BUFFER_BIT,
        VK_BUFFER_USAGE_UNIFORM_BUFFER_BIT, VK_BUFFER_USAGE_TRANSFER_SRC_BIT | VK_BUFFER_USAGE_INDEX_BUFFER_BIT};
    for (int k = 0; k < n_infos; ++k) {
        VkBufferCreateInfo bi = {VK_STRUCTURE_TYPE_BUFFER_CREATE_INFO, NULL, 0, 1 + tu_rand(rng) % (256 * 1024),
                                 usages[k % 4], VK_SHARING_MODE_EXCLUSIVE, 0, NULL};
        VkBuffer bufs[PER];
        sedx_allocation al[PER];
        sedx_allocation_info ai[PER];
        for (int i = 0; i < PER; ++i) {
            memset(&ai[i], 0, sizeof ai[i]);
            ai[i].usage = (sedx_memory_usage)(tu_rand(rng) % (SEDX_MEMORY_USAGE_CUSTOM + 1));
            switch (tu_rand(rng) % 4) {
            case 0: ai[i].name = "named buffer"; break;
            case 1: ai[i].flags = SEDX_ALLOCATION_MAPPED; break;
            case 2: ai[i].user_data = &bufs[i]; break;
            default: break; /* plain: the fast path once the create info is cached */
            }
            assert_int_equal(sedx_memory_create_buffer(ctx, &bi, &ai[i], &bufs[i], &al[i]), SEDX_SUCCESS);
            check_buffer_allocation(ctx, bufs[i], al[i], &ai[i]);
        }
        for (int i = 0; i < PER; ++i) assert_int_equal(sedx_memory_destroy_buffer(ctx, bufs[i], al[i]), SEDX_SUCCESS);
    }
}

static void *create_buffers_thread(void *p)
{
    create_case *c = p;
    uint64_t rng = c->seed;
    create_buffers_round(c->ctx, &rng, 12);
    return NULL;
}

static void test_create_buffer_cached_requirements(void **state)
{
    (void)state;
    sedx_context *ctx = tu_context(false);
    /* the cache is on wherever Vulkan 1.3 is (lavapipe, the H100) */
    if (sedx_context_api_version(ctx) >= VK_API_VERSION_1_3)
        assert_non_null(sedx__memory_vk_fns(ctx)->GetDeviceBufferMemoryRequirements);
    create_buffers_round(ctx, &g_rng, 40); /* 40 create infos: more than the cache holds */
    create_buffers_round(ctx, &g_rng, 40);
    pthread_t th[4];
    create_case cs[4];
    for (int i = 0; i < 4; ++i) {
        cs[i] = (create_case){ctx, (uint32_t)tu_rand(&g_rng)};
        assert_int_equal(pthread_create(&th[i], NULL, create_buffers_thread, &cs[i]), 0);
    }
    for (int i = 0; i < 4; ++i) pthread_join(th[i], NULL);
    sedx_memory_stats s = stats_of(ctx);
    assert_int_equal(s.total.allocation_count, 0);
    tu_context_destroy(ctx);
}

/* NO_SPARE_BLOCK frees blocks as soon as they empty; NEVER_ALLOCATE only uses existing blocks. */
static void test_no_spare_and_never_allocate(void **state)
{
    (void)state;
    sedx_allocator_info opt = {0};
    opt.flags = SEDX_ALLOCATOR_NO_SPARE_BLOCK;
    sedx_context *ctx = tu_context_flags(0, &opt);
    sedx_allocation_info ai = {0};
    ai.flags = SEDX_ALLOCATION_NEVER_ALLOCATE;
    VkMemoryRequirements q = reqs(4096 + rnd(4096), 256, UINT32_MAX);
    sedx_allocation a, b;
    tu_log_capture();
    assert_int_equal(sedx_memory_allocate(ctx, &ai, &q, &a), SEDX_ERROR_OUT_OF_DEVICE_MEMORY);
    log_restore();
    assert_int_equal(stats_of(ctx).vk_allocate_count, 0);
    ai.flags = 0;
    assert_int_equal(sedx_memory_allocate(ctx, &ai, &q, &a), SEDX_SUCCESS);
    ai.flags = SEDX_ALLOCATION_NEVER_ALLOCATE;
    assert_int_equal(sedx_memory_allocate(ctx, &ai, &q, &b), SEDX_SUCCESS);
    assert_int_equal(stats_of(ctx).vk_allocate_count, 1);
    assert_int_equal(sedx_memory_free(ctx, a), SEDX_SUCCESS);
    assert_int_equal(sedx_memory_free(ctx, b), SEDX_SUCCESS);
    sedx_memory_stats s = stats_of(ctx);
    assert_int_equal(s.total.block_count, 0);
    assert_int_equal(s.vk_free_count, 1);
    tu_context_destroy(ctx);
}

/* DEBUG_NONCOHERENT: allocations aligned to nonCoherentAtomSize, flush/invalidate ranges rounded
 * to it and clamped to the VkDeviceMemory; validation checks every range the driver sees. */
static void test_flush_rounding_noncoherent(void **state)
{
    (void)state;
    sedx_allocator_info opt = {0};
    opt.flags = SEDX_ALLOCATOR_DEBUG_NONCOHERENT;
    sedx_context *ctx = tu_context_flags(0, &opt);
    uint64_t atom = sedx_context_properties(ctx)->limits.nonCoherentAtomSize;
    sedx_allocation_info ai = {0};
    ai.usage = SEDX_MEMORY_USAGE_UPLOAD;
    ai.flags = SEDX_ALLOCATION_MAPPED;
    enum { N = 40 };
    sedx_allocation a[N];
    for (int i = 0; i < N; ++i) {
        if (i % 10 == 9) ai.flags |= SEDX_ALLOCATION_DEDICATED;
        else ai.flags &= ~(uint32_t)SEDX_ALLOCATION_DEDICATED;
        VkMemoryRequirements q = reqs(1 + rnd(5000), 1u << rnd(4), UINT32_MAX);
        assert_int_equal(sedx_memory_allocate(ctx, &ai, &q, &a[i]), SEDX_SUCCESS);
        sedx_allocation_details d;
        assert_int_equal(sedx_memory_get_details(ctx, a[i], &d), SEDX_SUCCESS);
        assert_int_equal(d.offset % atom, 0);
        uint64_t memsize = sedx__memory_device_memory_size(ctx, a[i]);
        for (int k = 0; k < 50; ++k) {
            uint64_t off = rnd(d.size + 1);
            uint64_t sz = k == 0 ? VK_WHOLE_SIZE : rnd(d.size - off + 1);
            VkMappedMemoryRange mr = {0};
            bool needed = false;
            assert_int_equal(sedx__memory_flush_range(ctx, a[i], off, sz, &mr, &needed), SEDX_SUCCESS);
            if (sz == VK_WHOLE_SIZE) sz = d.size - off;
            if (sz == 0) {
                assert_false(needed);
                continue;
            }
            assert_true(needed);
            assert_true(mr.memory == d.memory);
            assert_int_equal(mr.offset % atom, 0);
            assert_true(mr.offset <= d.offset + off);
            assert_true(mr.offset + mr.size >= d.offset + off + sz);
            assert_true(mr.offset + mr.size <= memsize);
            assert_true(mr.size % atom == 0 || mr.offset + mr.size == memsize);
            assert_true(mr.offset + atom > d.offset + off);         /* no wider than needed ... */
            assert_true(mr.offset + mr.size < d.offset + off + sz + atom || mr.offset + mr.size == memsize);
            assert_int_equal(sedx_memory_flush(ctx, a[i], off, sz), SEDX_SUCCESS);
            assert_int_equal(sedx_memory_invalidate(ctx, a[i], off, sz), SEDX_SUCCESS);
        }
        tu_log_capture();
        assert_int_equal(sedx_memory_flush(ctx, a[i], d.size, 1), SEDX_ERROR_OUT_OF_BOUNDS);
        log_restore();
        write_read_through_mapping(ctx, a[i], d.size);
    }
    for (int i = 0; i < N; ++i) assert_int_equal(sedx_memory_free(ctx, a[i]), SEDX_SUCCESS);
    tu_context_destroy(ctx);

    /* coherent memory without the debug option: nothing to flush */
    ctx = tu_context(false);
    sedx_allocation b;
    VkMemoryRequirements q = reqs(1000, 16, UINT32_MAX);
    ai.flags = SEDX_ALLOCATION_MAPPED;
    assert_int_equal(sedx_memory_allocate(ctx, &ai, &q, &b), SEDX_SUCCESS);
    sedx_allocation_details d;
    assert_int_equal(sedx_memory_get_details(ctx, b, &d), SEDX_SUCCESS);
    if (d.property_flags & VK_MEMORY_PROPERTY_HOST_COHERENT_BIT) {
        VkMappedMemoryRange mr;
        bool needed = true;
        assert_int_equal(sedx__memory_flush_range(ctx, b, 0, VK_WHOLE_SIZE, &mr, &needed), SEDX_SUCCESS);
        assert_false(needed);
    }
    assert_int_equal(sedx_memory_free(ctx, b), SEDX_SUCCESS);
    tu_context_destroy(ctx);
}

/* Statistics and the JSON dump describe the same state. */
static uint64_t jnum(const cJSON *o, const char *k)
{
    const cJSON *v = cJSON_GetObjectItemCaseSensitive(o, k);
    assert_non_null(v);
    assert_true(cJSON_IsNumber(v));
    return (uint64_t)v->valuedouble;
}

static void check_stat(const cJSON *js, const sedx_memory_stat *s)
{
    assert_int_equal(jnum(js, "block_count"), s->block_count);
    assert_int_equal(jnum(js, "dedicated_count"), s->dedicated_count);
    assert_int_equal(jnum(js, "allocation_count"), s->allocation_count);
    assert_int_equal(jnum(js, "allocation_bytes"), s->allocation_bytes);
    assert_int_equal(jnum(js, "block_bytes"), s->block_bytes);
    assert_int_equal(jnum(js, "free_range_count"), s->free_range_count);
    assert_int_equal(jnum(js, "largest_free_range"), s->largest_free_range);
    assert_int_equal(jnum(js, "empty_block_count"), s->empty_block_count);
}

static void test_stats_agree_with_json(void **state)
{
    (void)state;
    sedx_allocator_info opt = {0};
    opt.preferred_block_size = 8 * MiB;
    sedx_context *ctx = tu_context_flags(0, &opt);
    enum { N = 300 };
    sedx_allocation a[N];
    VkImage img[N];
    memset(img, 0, sizeof img);
    int n = 0;
    char name[64];
    const sedx_memory_usage usages[] = {SEDX_MEMORY_USAGE_GPU_ONLY, SEDX_MEMORY_USAGE_UPLOAD,
                                        SEDX_MEMORY_USAGE_STAGING, SEDX_MEMORY_USAGE_READBACK};
    for (int i = 0; i < N; ++i) {
        sedx_allocation_info ai = {0};
        ai.usage = usages[rnd(4)];
        snprintf(name, sizeof name, "alloc \"%d\"\t#%d", i, (int)rnd(1000)); /* needs escaping */
        ai.name = name;
        ai.kind = (sedx_allocation_kind)rnd(4);
        if (rnd(20) == 0) ai.flags |= SEDX_ALLOCATION_DEDICATED;
        if (ai.usage != SEDX_MEMORY_USAGE_GPU_ONLY && rnd(2)) ai.flags |= SEDX_ALLOCATION_MAPPED;
        if (i % 50 == 0) {
            VkImageCreateInfo ii = {VK_STRUCTURE_TYPE_IMAGE_CREATE_INFO, NULL, 0, VK_IMAGE_TYPE_2D,
                                    VK_FORMAT_R8G8B8A8_UNORM, {64, 64, 1}, 1, 1, VK_SAMPLE_COUNT_1_BIT,
                                    VK_IMAGE_TILING_OPTIMAL, VK_IMAGE_USAGE_SAMPLED_BIT, VK_SHARING_MODE_EXCLUSIVE,
                                    0, NULL, VK_IMAGE_LAYOUT_UNDEFINED};
            ai.usage = SEDX_MEMORY_USAGE_GPU_ONLY;
            ai.flags = 0;
            assert_int_equal(sedx_memory_create_image(ctx, &ii, &ai, &img[n], &a[n]), SEDX_SUCCESS);
        } else {
            VkMemoryRequirements q = reqs(1 + rnd(300000), 1ull << rnd(10), UINT32_MAX);
            assert_int_equal(sedx_memory_allocate(ctx, &ai, &q, &a[n]), SEDX_SUCCESS);
        }
        ++n;
        if (rnd(3) == 0) { /* free a random one */
            int k = (int)rnd((uint64_t)n);
            assert_int_equal(sedx_memory_destroy_image(ctx, img[k], a[k]), SEDX_SUCCESS);
            a[k] = a[n - 1];
            img[k] = img[n - 1];
            img[n - 1] = VK_NULL_HANDLE;
            --n;
        }
    }
    sedx_memory_stats s = stats_of(ctx);
    char *json = NULL;
    assert_int_equal(sedx_memory_dump_json(ctx, &json), SEDX_SUCCESS);
    cJSON *root = cJSON_Parse(json);
    if (!root) fprintf(stderr, "JSON does not parse near: %.80s\n", cJSON_GetErrorPtr());
    assert_non_null(root);
    check_stat(cJSON_GetObjectItemCaseSensitive(root, "total"), &s.total);
    assert_int_equal(jnum(root, "vk_allocate_count"), s.vk_allocate_count);
    assert_int_equal(jnum(root, "device_memory_count"), s.device_memory_count);
    const cJSON *heaps = cJSON_GetObjectItemCaseSensitive(root, "heaps");
    assert_int_equal(cJSON_GetArraySize(heaps), s.memory_heap_count);
    for (uint32_t h = 0; h < s.memory_heap_count; ++h)
        check_stat(cJSON_GetObjectItemCaseSensitive(cJSON_GetArrayItem(heaps, (int)h), "stats"), &s.memory_heap[h]);
    const cJSON *types = cJSON_GetObjectItemCaseSensitive(root, "types");
    assert_int_equal(cJSON_GetArraySize(types), s.memory_type_count);
    uint32_t seen = 0;
    for (uint32_t t = 0; t < s.memory_type_count; ++t) {
        const cJSON *jt = cJSON_GetArrayItem(types, (int)t);
        check_stat(cJSON_GetObjectItemCaseSensitive(jt, "stats"), &s.memory_type[t]);
        uint64_t bytes = 0, reserved = 0, count = 0;
        const cJSON *blk;
        cJSON_ArrayForEach(blk, cJSON_GetObjectItemCaseSensitive(jt, "blocks"))
        {
            uint64_t bsize = jnum(blk, "size");
            reserved += bsize;
            const cJSON *allocs = cJSON_GetObjectItemCaseSensitive(blk, "allocations");
            assert_int_equal(cJSON_GetArraySize(allocs), jnum(blk, "allocation_count"));
            uint64_t ranges[2 * N];
            int nr = 0;
            const cJSON *al;
            cJSON_ArrayForEach(al, allocs)
            {
                uint64_t off = jnum(al, "offset"), sz = jnum(al, "size");
                assert_true(off + sz <= bsize);
                assert_int_equal(jnum(al, "memory_type"), t);
                assert_true(cJSON_IsString(cJSON_GetObjectItemCaseSensitive(al, "name")));
                assert_true(cJSON_IsString(cJSON_GetObjectItemCaseSensitive(al, "kind")));
                assert_true(cJSON_IsFalse(cJSON_GetObjectItemCaseSensitive(al, "dedicated")));
                ranges[nr++] = off;
                ranges[nr++] = off + sz;
                bytes += sz;
                ++count;
            }
            /* offset order, no overlaps (visit order is by offset) */
            for (int k = 2; k < nr; k += 2) assert_true(ranges[k] >= ranges[k - 1]);
        }
        const cJSON *al;
        cJSON_ArrayForEach(al, cJSON_GetObjectItemCaseSensitive(jt, "dedicated"))
        {
            assert_true(cJSON_IsTrue(cJSON_GetObjectItemCaseSensitive(al, "dedicated")));
            bytes += jnum(al, "size");
            reserved += jnum(al, "size");
            ++count;
        }
        assert_int_equal(count, s.memory_type[t].allocation_count);
        assert_int_equal(bytes, s.memory_type[t].allocation_bytes);
        assert_int_equal(reserved, s.memory_type[t].block_bytes);
        seen += (uint32_t)count;
    }
    assert_int_equal(seen, (uint32_t)n);
    /* every live allocation is listed with its exact name (escaped and parsed back), offset, size */
    for (int i = 0; i < n; ++i) {
        sedx_allocation_details d;
        assert_int_equal(sedx_memory_get_details(ctx, a[i], &d), SEDX_SUCCESS);
        const cJSON *jt = cJSON_GetArrayItem(types, (int)d.memory_type), *al, *blk;
        bool found = false;
        cJSON_ArrayForEach(blk, cJSON_GetObjectItemCaseSensitive(jt, "blocks"))
        {
            cJSON_ArrayForEach(al, cJSON_GetObjectItemCaseSensitive(blk, "allocations"))
            {
                if (jnum(al, "creation_index") != d.creation_index) continue;
                assert_string_equal(cJSON_GetObjectItemCaseSensitive(al, "name")->valuestring, d.name);
                assert_int_equal(jnum(al, "offset"), d.offset);
                assert_int_equal(jnum(al, "size"), d.size);
                assert_string_equal(cJSON_GetObjectItemCaseSensitive(al, "kind")->valuestring,
                                    sedx_allocation_kind_name(d.kind));
                found = true;
            }
        }
        cJSON_ArrayForEach(al, cJSON_GetObjectItemCaseSensitive(jt, "dedicated"))
        {
            if (jnum(al, "creation_index") != d.creation_index) continue;
            assert_true(d.dedicated);
            assert_string_equal(cJSON_GetObjectItemCaseSensitive(al, "name")->valuestring, d.name);
            found = true;
        }
        assert_true(found);
    }
    cJSON_Delete(root);
    sedx_memory_free_string(json);
    for (int i = 0; i < n; ++i) assert_int_equal(sedx_memory_destroy_image(ctx, img[i], a[i]), SEDX_SUCCESS);
    s = stats_of(ctx);
    assert_int_equal(s.total.allocation_count, 0);
    assert_int_equal(s.total.allocation_bytes, 0);
    tu_context_destroy(ctx);
}

/* With bufferImageGranularity > 1, buffers and optimal-tiling images never share a block. */
static void test_granularity_separates_linear_and_optimal(void **state)
{
    (void)state;
    sedx_context *ctx = tu_context(false);
    uint64_t gran = sedx_context_properties(ctx)->limits.bufferImageGranularity;
    VkBufferCreateInfo bi = {VK_STRUCTURE_TYPE_BUFFER_CREATE_INFO, NULL, 0, 1000 + rnd(1000),
                             VK_BUFFER_USAGE_STORAGE_BUFFER_BIT, VK_SHARING_MODE_EXCLUSIVE, 0, NULL};
    VkImageCreateInfo ii = {VK_STRUCTURE_TYPE_IMAGE_CREATE_INFO, NULL, 0, VK_IMAGE_TYPE_2D, VK_FORMAT_R8G8B8A8_UNORM,
                            {32, 32, 1}, 1, 1, VK_SAMPLE_COUNT_1_BIT, VK_IMAGE_TILING_OPTIMAL,
                            VK_IMAGE_USAGE_SAMPLED_BIT, VK_SHARING_MODE_EXCLUSIVE, 0, NULL, VK_IMAGE_LAYOUT_UNDEFINED};
    sedx_allocation_info ai = {0};
    VkBuffer b1, b2;
    VkImage i1, i2;
    sedx_allocation ab1, ab2, ai1, ai2;
    assert_int_equal(sedx_memory_create_buffer(ctx, &bi, &ai, &b1, &ab1), SEDX_SUCCESS);
    assert_int_equal(sedx_memory_create_image(ctx, &ii, &ai, &i1, &ai1), SEDX_SUCCESS);
    assert_int_equal(sedx_memory_create_buffer(ctx, &bi, &ai, &b2, &ab2), SEDX_SUCCESS);
    assert_int_equal(sedx_memory_create_image(ctx, &ii, &ai, &i2, &ai2), SEDX_SUCCESS);
    sedx_allocation_details db1, db2, di1, di2;
    sedx_memory_get_details(ctx, ab1, &db1);
    sedx_memory_get_details(ctx, ab2, &db2);
    sedx_memory_get_details(ctx, ai1, &di1);
    sedx_memory_get_details(ctx, ai2, &di2);
    assert_int_equal(di1.kind, SEDX_ALLOCATION_KIND_IMAGE_OPTIMAL);
    assert_true(db1.memory == db2.memory); /* same class shares */
    if (!di1.dedicated && !di2.dedicated) assert_true(di1.memory == di2.memory);
    if (gran > 1 && db1.memory_type == di1.memory_type) {
        assert_true(db1.memory != di1.memory);
        assert_true(db2.memory != di2.memory);
    }
    sedx_memory_destroy_buffer(ctx, b1, ab1);
    sedx_memory_destroy_buffer(ctx, b2, ab2);
    sedx_memory_destroy_image(ctx, i1, ai1);
    sedx_memory_destroy_image(ctx, i2, ai2);
    tu_context_destroy(ctx);
}

/* Misuse: double free, stale, foreign and malformed handles, unmap without map, bad sizes. */
static void test_handle_misuse(void **state)
{
    (void)state;
    sedx_context *ctx = tu_context(false);
    sedx_context *other = tu_context(false);
    tu_log_capture();
    sedx_allocation_info ai = {0};
    ai.usage = SEDX_MEMORY_USAGE_UPLOAD;
    ai.name = "victim";
    VkMemoryRequirements q = reqs(100 + rnd(1000), 64, UINT32_MAX);
    sedx_allocation a, f;
    assert_int_equal(sedx_memory_allocate(ctx, &ai, &q, &a), SEDX_SUCCESS);
    assert_int_equal(sedx_memory_allocate(other, &ai, &q, &f), SEDX_SUCCESS);
    void *p;
    /* foreign: a handle of another context */
    assert_int_equal(sedx_memory_free(ctx, f), SEDX_ERROR_INVALID_HANDLE);
    assert_int_equal(sedx_memory_map(ctx, f, &p), SEDX_ERROR_INVALID_HANDLE);
    /* malformed */
    for (int i = 0; i < 1000; ++i) {
        sedx_allocation junk = {tu_rand(&g_rng)};
        if (junk.id == a.id) continue;
        assert_int_equal(sedx_memory_free(ctx, junk), SEDX_ERROR_INVALID_HANDLE);
        sedx_allocation_details d;
        assert_int_equal(sedx_memory_get_details(ctx, junk, &d), SEDX_ERROR_INVALID_HANDLE);
    }
    /* unmap without map */
    assert_int_equal(sedx_memory_unmap(ctx, a), SEDX_ERROR_NOT_MAPPED);
    assert_true(tu_log_contains("victim"));
    /* map counts */
    void *p1, *p2;
    assert_int_equal(sedx_memory_map(ctx, a, &p1), SEDX_SUCCESS);
    assert_int_equal(sedx_memory_map(ctx, a, &p2), SEDX_SUCCESS);
    assert_ptr_equal(p1, p2);
    sedx_allocation_details d;
    assert_int_equal(sedx_memory_get_details(ctx, a, &d), SEDX_SUCCESS);
    assert_int_equal(d.map_count, 2);
    assert_int_equal(sedx_memory_unmap(ctx, a), SEDX_SUCCESS);
    assert_int_equal(sedx_memory_unmap(ctx, a), SEDX_SUCCESS);
    assert_int_equal(sedx_memory_unmap(ctx, a), SEDX_ERROR_NOT_MAPPED);
    /* double free */
    assert_int_equal(sedx_memory_free(ctx, a), SEDX_SUCCESS);
    tu_log_reset();
    assert_int_equal(sedx_memory_free(ctx, a), SEDX_ERROR_DOUBLE_FREE);
    assert_true(tu_log_contains("double free"));
    assert_true(tu_log_contains("victim"));
    assert_int_equal(sedx_memory_map(ctx, a, &p), SEDX_ERROR_INVALID_HANDLE);
    assert_int_equal(sedx_memory_get_details(ctx, a, &d), SEDX_ERROR_INVALID_HANDLE);
    assert_int_equal(sedx_memory_flush(ctx, a, 0, VK_WHOLE_SIZE), SEDX_ERROR_INVALID_HANDLE);
    /* the slot is reused: the stale handle stays invalid */
    sedx_allocation b;
    assert_int_equal(sedx_memory_allocate(ctx, &ai, &q, &b), SEDX_SUCCESS);
    assert_true(b.id != a.id);
    assert_int_equal(sedx_memory_free(ctx, a), SEDX_ERROR_INVALID_HANDLE);
    assert_int_equal(sedx_memory_get_details(ctx, b, &d), SEDX_SUCCESS);
    assert_int_equal(sedx_memory_free(ctx, b), SEDX_SUCCESS);
    assert_int_equal(sedx_memory_free(ctx, SEDX_NULL_ALLOCATION), SEDX_SUCCESS);
    /* bad requests */
    VkMemoryRequirements bad = reqs(0, 64, UINT32_MAX);
    assert_int_equal(sedx_memory_allocate(ctx, &ai, &bad, &b), SEDX_ERROR_INVALID_SIZE);
    bad = reqs(100, 48, UINT32_MAX);
    assert_int_equal(sedx_memory_allocate(ctx, &ai, &bad, &b), SEDX_ERROR_INVALID_ALIGNMENT);
    bad = reqs(100, 64, 0);
    assert_int_equal(sedx_memory_allocate(ctx, &ai, &bad, &b), SEDX_ERROR_NO_MEMORY_TYPE);
    bad = reqs(UINT64_MAX - 8, 64, UINT32_MAX);
    sedx_result r = sedx_memory_allocate(ctx, &ai, &bad, &b);
    assert_true(r == SEDX_ERROR_OUT_OF_DEVICE_MEMORY || r == SEDX_ERROR_OVER_BUDGET || r == SEDX_ERROR_INVALID_SIZE);
    ai.usage = (sedx_memory_usage)77;
    assert_int_equal(sedx_memory_allocate(ctx, &ai, &q, &b), SEDX_ERROR_INVALID_ARGUMENT);
    assert_int_equal(sedx_memory_allocate(NULL, &ai, &q, &b), SEDX_ERROR_INVALID_ARGUMENT);
    log_restore();
    assert_int_equal(sedx_memory_free(other, f), SEDX_SUCCESS);
    assert_int_equal(stats_of(ctx).total.allocation_count, 0);
    tu_context_destroy(other);
    tu_context_destroy(ctx);
}

/* After a refused call the context still works: a buffer round trip through the GPU. */
static void assert_round_trip(sedx_context *ctx)
{
    uint8_t in[4096], out[4096];
    tu_fill_random(in, sizeof in, &g_rng);
    memset(out, 0, sizeof out);
    sedx_buffer b = {0};
    assert_int_equal(sedx_buffer_create(ctx, sizeof in, SEDX_BUFFER_USAGE_STORAGE, SEDX_MEMORY_GPU, "round-trip", &b),
                     SEDX_SUCCESS);
    assert_int_equal(sedx_upload(ctx, &b, 0, sizeof in, in), SEDX_SUCCESS);
    assert_int_equal(sedx_download(ctx, &b, 0, sizeof out, out), SEDX_SUCCESS);
    assert_memory_equal(in, out, sizeof in);
    sedx_buffer_release(&b);
}

/* One refused call: the exact code, an error logged, nothing allocated, nothing that
 * reached Vulkan (the validation layer saw no error). */
#define ASSERT_REFUSED(ctx, call, code, needle)                                                     \
    do {                                                                                           \
        tu_log_reset();                                                                            \
        assert_int_equal((call), (code));                                                          \
        assert_true(tu_log_count(SEDX_LOG_ERROR) >= 1);                                            \
        assert_true(tu_log_contains(needle));                                                      \
        assert_int_equal(stats_of(ctx).total.allocation_count, 0);                                 \
        assert_int_equal(sedx_context_validation_error_count(ctx), 0);                             \
    } while (0)

/* Flag bits and enum values sedx does not define are refused by every entry point that takes
 * a sedx_allocation_info, before any Vulkan call (validation stays clean). */
static void test_unknown_flags_and_enums(void **state)
{
    (void)state;
    sedx_context *ctx = tu_context(false);
    VkMemoryRequirements q = reqs(4096, 256, UINT32_MAX);
    VkBufferCreateInfo bi = {VK_STRUCTURE_TYPE_BUFFER_CREATE_INFO};
    bi.size = 4096;
    bi.usage = VK_BUFFER_USAGE_TRANSFER_DST_BIT;
    VkImageCreateInfo ii = {VK_STRUCTURE_TYPE_IMAGE_CREATE_INFO};
    ii.imageType = VK_IMAGE_TYPE_2D;
    ii.format = VK_FORMAT_R8G8B8A8_UNORM;
    ii.extent = (VkExtent3D){16, 16, 1};
    ii.mipLevels = 1;
    ii.arrayLayers = 1;
    ii.samples = VK_SAMPLE_COUNT_1_BIT;
    ii.tiling = VK_IMAGE_TILING_OPTIMAL;
    ii.usage = VK_IMAGE_USAGE_TRANSFER_DST_BIT;
    sedx_allocation_info bad[6];
    memset(bad, 0, sizeof bad);
    bad[0].flags = 0xFFFFFF00u;
    bad[1].flags = SEDX_ALLOCATION_MAPPED | 0x40u;
    bad[2].usage = (sedx_memory_usage)(SEDX_MEMORY_USAGE_CUSTOM + 1);
    bad[3].usage = (sedx_memory_usage)-1;
    bad[4].kind = (sedx_allocation_kind)(SEDX_ALLOCATION_KIND_IMAGE_OPTIMAL + 1);
    bad[5].kind = (sedx_allocation_kind)256; /* would wrap to UNKNOWN in a byte */
    assert_int_equal(bad[0].flags & SEDX_ALLOCATION_FLAGS_ALL, 0);
    tu_log_capture();
    for (size_t i = 0; i < SEDX__COUNTOF(bad); ++i) {
        const sedx_allocation_info *ai = &bad[i];
        const char *what = i < 2 ? "unknown flag" : i < 4 ? "unknown memory usage" : "unknown kind";
        sedx_allocation a = SEDX_NULL_ALLOCATION;
        VkBuffer buf = VK_NULL_HANDLE;
        VkImage img = VK_NULL_HANDLE;
        uint32_t type = 99;
        ASSERT_REFUSED(ctx, sedx_memory_allocate(ctx, ai, &q, &a), SEDX_ERROR_INVALID_ARGUMENT, what);
        ASSERT_REFUSED(ctx, sedx_memory_allocate2(ctx, ai, &q, NULL, VK_NULL_HANDLE, VK_NULL_HANDLE, &a),
                       SEDX_ERROR_INVALID_ARGUMENT, what);
        ASSERT_REFUSED(ctx, sedx_memory_find_type(ctx, ai, UINT32_MAX, &type), SEDX_ERROR_INVALID_ARGUMENT, what);
        ASSERT_REFUSED(ctx, sedx_memory_create_buffer(ctx, &bi, ai, &buf, &a), SEDX_ERROR_INVALID_ARGUMENT, what);
        ASSERT_REFUSED(ctx, sedx_memory_create_image(ctx, &ii, ai, &img, &a), SEDX_ERROR_INVALID_ARGUMENT, what);
        assert_int_equal(type, 99);
        assert_int_equal(a.id, 0);
        assert_null(buf);
        assert_null(img);
        VkBuffer vb;
        assert_int_equal(vkCreateBuffer(sedx_context_device(ctx), &bi, NULL, &vb), VK_SUCCESS);
        ASSERT_REFUSED(ctx, sedx_memory_allocate_for_buffer(ctx, vb, ai, &a), SEDX_ERROR_INVALID_ARGUMENT, what);
        vkDestroyBuffer(sedx_context_device(ctx), vb, NULL);
        VkImage vi;
        assert_int_equal(vkCreateImage(sedx_context_device(ctx), &ii, NULL, &vi), VK_SUCCESS);
        ASSERT_REFUSED(ctx, sedx_memory_allocate_for_image(ctx, vi, ii.tiling, ai, &a), SEDX_ERROR_INVALID_ARGUMENT,
                       what);
        vkDestroyImage(sedx_context_device(ctx), vi, NULL);
    }
    log_restore();
    /* every defined flag alone is accepted (NEVER_ALLOCATE may find no block: not a refusal) */
    for (uint32_t bit = 1; bit & SEDX_ALLOCATION_FLAGS_ALL; bit <<= 1) {
        sedx_allocation_info ai = {0};
        ai.flags = bit;
        sedx_allocation a;
        sedx_result r = sedx_memory_allocate(ctx, &ai, &q, &a);
        if (bit == SEDX_ALLOCATION_NEVER_ALLOCATE) assert_true(r == SEDX_SUCCESS || r == SEDX_ERROR_OUT_OF_DEVICE_MEMORY);
        else assert_int_equal(r, SEDX_SUCCESS);
        if (r == SEDX_SUCCESS) assert_int_equal(sedx_memory_free(ctx, a), SEDX_SUCCESS);
    }
    assert_round_trip(ctx);
    tu_context_destroy(ctx); /* validation clean */
}

/* Unknown allocator flags (sedx_context_info.allocator, sedx_context_create_from_vulkan) are
 * refused at context creation. */
static void test_unknown_allocator_flags(void **state)
{
    (void)state;
    tu_log_capture();
    const uint32_t bad[] = {0xFFFFFF00u, 0xFFFFFFE0u, SEDX_ALLOCATOR_DEBUG_FILL | 0x20u};
    for (size_t i = 0; i < SEDX__COUNTOF(bad); ++i) {
        sedx_allocator_info ainfo = {0};
        ainfo.flags = bad[i];
        sedx_context_info info = {0};
        info.flags = SEDX_CONTEXT_VALIDATION;
        info.allocator = &ainfo;
        sedx_context *ctx = (sedx_context *)0x1;
        tu_log_reset();
        assert_int_equal(sedx_context_create(&info, &ctx), SEDX_ERROR_INVALID_ARGUMENT);
        assert_null(ctx);
        assert_true(tu_log_count(SEDX_LOG_ERROR) >= 1);
        assert_true(tu_log_contains("unknown flag"));
    }
    assert_int_equal(bad[1] & SEDX_ALLOCATOR_FLAGS_ALL, 0);
    log_restore();
    sedx_allocator_info all = {0};
    all.flags = SEDX_ALLOCATOR_FLAGS_ALL;
    sedx_context *ctx = tu_context_flags(0, &all);
    sedx_allocator_info got;
    assert_int_equal(sedx_memory_get_allocator_info(ctx, &got), SEDX_SUCCESS);
    assert_int_equal(got.flags & SEDX_ALLOCATOR_FLAGS_ALL, SEDX_ALLOCATOR_FLAGS_ALL);
    assert_round_trip(ctx);
    tu_context_destroy(ctx);
}

/* sedx_memory_create_buffer / _image refuse what Vulkan would flag (size or extent 0, usage 0,
 * no create info) before calling vkCreateBuffer / vkCreateImage: no validation message. */
static void test_create_refuses_empty_info(void **state)
{
    (void)state;
    sedx_context *ctx = tu_context(false);
    VkBuffer buf = VK_NULL_HANDLE;
    VkImage img = VK_NULL_HANDLE;
    sedx_allocation a = SEDX_NULL_ALLOCATION;
    VkBufferCreateInfo bi = {VK_STRUCTURE_TYPE_BUFFER_CREATE_INFO};
    bi.usage = VK_BUFFER_USAGE_TRANSFER_DST_BIT;
    tu_log_capture();
    bi.size = 0; /* VUID-VkBufferCreateInfo-size-00912 */
    ASSERT_REFUSED(ctx, sedx_memory_create_buffer(ctx, &bi, NULL, &buf, &a), SEDX_ERROR_INVALID_SIZE, "size 0");
    bi.size = 256;
    bi.usage = 0; /* VUID-VkBufferCreateInfo-usage-requiredbitmask */
    ASSERT_REFUSED(ctx, sedx_memory_create_buffer(ctx, &bi, NULL, &buf, &a), SEDX_ERROR_INVALID_USAGE, "usage 0");
    ASSERT_REFUSED(ctx, sedx_memory_create_buffer(ctx, NULL, NULL, &buf, &a), SEDX_ERROR_INVALID_ARGUMENT, "NULL");
    VkImageCreateInfo ii = {VK_STRUCTURE_TYPE_IMAGE_CREATE_INFO};
    ii.imageType = VK_IMAGE_TYPE_2D;
    ii.format = VK_FORMAT_R8G8B8A8_UNORM;
    ii.samples = VK_SAMPLE_COUNT_1_BIT;
    ii.tiling = VK_IMAGE_TILING_OPTIMAL;
    ii.usage = VK_IMAGE_USAGE_TRANSFER_DST_BIT;
    const VkExtent3D extents[] = {{0, 16, 1}, {16, 0, 1}, {16, 16, 0}};
    for (size_t i = 0; i < SEDX__COUNTOF(extents); ++i) {
        ii.extent = extents[i];
        ii.mipLevels = 1;
        ii.arrayLayers = 1;
        ASSERT_REFUSED(ctx, sedx_memory_create_image(ctx, &ii, NULL, &img, &a), SEDX_ERROR_INVALID_SIZE, "size 0");
    }
    ii.extent = (VkExtent3D){16, 16, 1};
    ii.mipLevels = 0;
    ASSERT_REFUSED(ctx, sedx_memory_create_image(ctx, &ii, NULL, &img, &a), SEDX_ERROR_INVALID_SIZE, "size 0");
    ii.mipLevels = 1;
    ii.arrayLayers = 0;
    ASSERT_REFUSED(ctx, sedx_memory_create_image(ctx, &ii, NULL, &img, &a), SEDX_ERROR_INVALID_SIZE, "size 0");
    ii.arrayLayers = 1;
    ii.usage = 0;
    ASSERT_REFUSED(ctx, sedx_memory_create_image(ctx, &ii, NULL, &img, &a), SEDX_ERROR_INVALID_USAGE, "usage 0");
    ASSERT_REFUSED(ctx, sedx_memory_create_image(ctx, NULL, NULL, &img, &a), SEDX_ERROR_INVALID_ARGUMENT, "NULL");
    log_restore();
    assert_null(buf);
    assert_null(img);
    assert_int_equal(a.id, 0);
    assert_int_equal(sedx_context_validation_error_count(ctx), 0);
    /* the corrected requests work */
    bi.usage = VK_BUFFER_USAGE_TRANSFER_DST_BIT;
    assert_int_equal(sedx_memory_create_buffer(ctx, &bi, NULL, &buf, &a), SEDX_SUCCESS);
    assert_int_equal(sedx_memory_destroy_buffer(ctx, buf, a), SEDX_SUCCESS);
    ii.usage = VK_IMAGE_USAGE_TRANSFER_DST_BIT;
    assert_int_equal(sedx_memory_create_image(ctx, &ii, NULL, &img, &a), SEDX_SUCCESS);
    assert_int_equal(sedx_memory_destroy_image(ctx, img, a), SEDX_SUCCESS);
    assert_round_trip(ctx);
    tu_context_destroy(ctx); /* validation clean: nothing reached Vulkan */
}

/* Debug margins: an overrun past the end (or before the start) is reported on free with the
 * allocation's name; clean allocations free normally; fill patterns. */
static void test_debug_margins_and_fill(void **state)
{
    (void)state;
    sedx_allocator_info opt = {0};
    opt.flags = SEDX_ALLOCATOR_DEBUG_MARGINS | SEDX_ALLOCATOR_DEBUG_FILL;
    opt.debug_margin = 32;
    sedx_context *ctx = tu_context_flags(0, &opt);
    sedx_allocator_info eff;
    assert_int_equal(sedx_memory_get_allocator_info(ctx, &eff), SEDX_SUCCESS);
    assert_int_equal(eff.debug_margin, 32);
    sedx_allocation_info ai = {0};
    ai.usage = SEDX_MEMORY_USAGE_UPLOAD;
    ai.flags = SEDX_ALLOCATION_MAPPED;
    enum { N = 30 };
    sedx_allocation a[N];
    uint64_t size[N];
    char name[N][32];
    for (int i = 0; i < N; ++i) {
        snprintf(name[i], sizeof name[i], "margin-victim-%d", i);
        ai.name = name[i];
        size[i] = 1 + rnd(3000);
        VkMemoryRequirements q = reqs(size[i], 1u << rnd(9), UINT32_MAX);
        assert_int_equal(sedx_memory_allocate(ctx, &ai, &q, &a[i]), SEDX_SUCCESS);
        sedx_allocation_details d;
        assert_int_equal(sedx_memory_get_details(ctx, a[i], &d), SEDX_SUCCESS);
        for (uint64_t k = 0; k < size[i]; ++k) assert_int_equal(((unsigned char *)d.mapped)[k], 0xDC);
        tu_fill_random(d.mapped, (size_t)size[i], &g_rng); /* legal writes: whole range */
    }
    assert_int_equal(sedx_memory_check_corruption(ctx, UINT32_MAX), SEDX_SUCCESS);
    int over = 3 + (int)rnd(10), under = over + 1 + (int)rnd(5);
    sedx_allocation_details d;
    assert_int_equal(sedx_memory_get_details(ctx, a[over], &d), SEDX_SUCCESS);
    ((unsigned char *)d.mapped)[size[over] + rnd(32)] ^= 0x5A; /* past the end */
    assert_int_equal(sedx_memory_get_details(ctx, a[under], &d), SEDX_SUCCESS);
    ((unsigned char *)d.mapped)[-1 - (long)rnd(32)] ^= 0xA5; /* before the start */
    tu_log_capture();
    assert_int_equal(sedx_memory_check_corruption(ctx, UINT32_MAX), SEDX_ERROR_CORRUPTION);
    tu_log_reset();
    for (int i = 0; i < N; ++i) {
        sedx_result r = sedx_memory_free(ctx, a[i]);
        if (i == over || i == under) {
            assert_int_equal(r, SEDX_ERROR_CORRUPTION);
            assert_true(tu_log_contains(name[i]));
        } else {
            assert_int_equal(r, SEDX_SUCCESS);
        }
    }
    assert_true(tu_log_contains("after allocation 'margin-victim"));
    assert_true(tu_log_contains("before allocation 'margin-victim"));
    log_restore();
    /* freed anyway: nothing left */
    assert_int_equal(stats_of(ctx).total.allocation_count, 0);
    tu_context_destroy(ctx);
}

/* The leak report names every live allocation at destruction. */
static void test_leak_report(void **state)
{
    (void)state;
    sedx_context *ctx = tu_context(false);
    sedx_allocation_info ai = {0};
    char name[48];
    snprintf(name, sizeof name, "leaky-%llu", (unsigned long long)rnd(1000000));
    ai.name = name;
    VkMemoryRequirements q = reqs(4096 + rnd(4096), 64, UINT32_MAX);
    sedx_allocation a, b;
    assert_int_equal(sedx_memory_allocate(ctx, &ai, &q, &a), SEDX_SUCCESS);
    ai.flags = SEDX_ALLOCATION_DEDICATED | SEDX_ALLOCATION_MAPPED;
    ai.usage = SEDX_MEMORY_USAGE_UPLOAD;
    ai.name = "a-very-long-dedicated-allocation-name-that-does-not-fit-inline";
    assert_int_equal(sedx_memory_allocate(ctx, &ai, &q, &b), SEDX_SUCCESS);
    ai.flags = 0;
    ai.name = "freed-one";
    sedx_allocation c;
    assert_int_equal(sedx_memory_allocate(ctx, &ai, &q, &c), SEDX_SUCCESS);
    assert_int_equal(sedx_memory_free(ctx, c), SEDX_SUCCESS);
    tu_log_capture();
    tu_context_destroy(ctx);
    assert_true(tu_log_contains(name));
    assert_true(tu_log_contains("a-very-long-dedicated-allocation-name-that-does-not-fit-inline"));
    assert_true(tu_log_contains("#1)")); /* creation index of the first */
    assert_true(tu_log_contains("2 allocations"));
    assert_false(tu_log_contains("freed-one"));
    log_restore();
}

/* Every host allocation failing in turn: SEDX_ERROR_OUT_OF_HOST_MEMORY and nothing leaked. */
static _Atomic long g_fail_at = -1, g_count;

static void *fail_alloc(size_t n, void *u)
{
    (void)u;
    long c = atomic_fetch_add(&g_count, 1);
    if (atomic_load(&g_fail_at) >= 0 && c >= atomic_load(&g_fail_at)) return NULL;
    return malloc(n);
}
static void *fail_realloc(void *p, size_t n, void *u)
{
    (void)u;
    long c = atomic_fetch_add(&g_count, 1);
    if (atomic_load(&g_fail_at) >= 0 && c >= atomic_load(&g_fail_at)) return NULL;
    return realloc(p, n);
}
static void plain_free(void *p, void *u)
{
    (void)u;
    free(p);
}

static sedx_result oom_scenario(sedx_context *ctx)
{
    /* named allocations (a long name needs a heap copy), a new block, a dedicated one, a dump */
    sedx_allocation a[3] = {{0}, {0}, {0}};
    sedx_allocation_info ai = {0};
    ai.usage = SEDX_MEMORY_USAGE_UPLOAD;
    ai.name = "an allocation name that is longer than the inline forty bytes";
    VkMemoryRequirements q = reqs(1000, 64, UINT32_MAX);
    sedx_result r = sedx_memory_allocate(ctx, &ai, &q, &a[0]);
    if (r == SEDX_SUCCESS) {
        ai.flags = SEDX_ALLOCATION_DEDICATED;
        r = sedx_memory_allocate(ctx, &ai, &q, &a[1]);
    }
    if (r == SEDX_SUCCESS) r = sedx_memory_set_name(ctx, a[0], "another rather long name that must be copied to the heap");
    char *json = NULL;
    if (r == SEDX_SUCCESS) r = sedx_memory_dump_json(ctx, &json);
    sedx_memory_free_string(json);
    for (int i = 0; i < 3; ++i) sedx_memory_free(ctx, a[i]);
    sedx_memory_release_empty_blocks(ctx);
    return r;
}

static void test_host_oom(void **state)
{
    (void)state;
    sedx_context *ctx = tu_context(false);
    sedx_host_allocator fa = {fail_alloc, fail_realloc, plain_free, NULL};
    tu_log_capture();
    /* warm-up: the record pages and the block list are kept for reuse once made */
    assert_int_equal(oom_scenario(ctx), SEDX_SUCCESS);
    bool done = false;
    for (long n = 0; n < 200 && !done; ++n) {
        /* 1: the scenario on the context's allocator */
        int64_t before = sedx_host_allocation_count();
        atomic_store(&g_count, 0);
        atomic_store(&g_fail_at, n);
        sedx_set_host_allocator(&fa);
        sedx_result r = oom_scenario(ctx);
        atomic_store(&g_fail_at, -1);
        sedx_set_host_allocator(NULL);
        assert_true(r == SEDX_SUCCESS || r == SEDX_ERROR_OUT_OF_HOST_MEMORY);
        done = r == SEDX_SUCCESS;
        sedx_memory_stats s = stats_of(ctx);
        assert_int_equal(s.total.allocation_count, 0);
        assert_int_equal(s.device_memory_count, 0);
        assert_int_equal(sedx_host_allocation_count(), before);
    }
    assert_true(done);
    /* 2: the allocator's own creation */
    sedx_allocator_info opt = {0};
    done = false;
    for (long n = 0; n < 50 && !done; ++n) {
        sedx__allocator_destroy(ctx);
        int64_t before = sedx_host_allocation_count();
        atomic_store(&g_count, 0);
        atomic_store(&g_fail_at, n);
        sedx_set_host_allocator(&fa);
        sedx_result r = sedx__allocator_create(ctx, &opt);
        atomic_store(&g_fail_at, -1);
        sedx_set_host_allocator(NULL);
        assert_true(r == SEDX_SUCCESS || r == SEDX_ERROR_OUT_OF_HOST_MEMORY);
        done = r == SEDX_SUCCESS;
        if (!done) {
            assert_null(ctx->layers.memory);
            assert_int_equal(sedx_host_allocation_count(), before);
            assert_int_equal(sedx__allocator_create(ctx, &opt), SEDX_SUCCESS);
        }
    }
    assert_true(done);
    log_restore();
    tu_context_destroy(ctx);
}

/* vkAllocateMemory failing: a smaller block is tried, then the allocation fails cleanly. */
static void test_device_failure_fallback(void **state)
{
    (void)state;
    sedx_context *ctx = tu_context(false);
    sedx_allocation_info ai = {0};
    ai.flags = SEDX_ALLOCATION_NO_FALLBACK;
    VkMemoryRequirements q = reqs(4096 + rnd(4096), 256, UINT32_MAX);
    sedx_allocation a;
    /* reference: the size of the first block */
    assert_int_equal(sedx_memory_allocate(ctx, &ai, &q, &a), SEDX_SUCCESS);
    uint64_t first = sedx__memory_device_memory_size(ctx, a);
    assert_int_equal(sedx_memory_free(ctx, a), SEDX_SUCCESS);
    assert_int_equal(sedx_memory_release_empty_blocks(ctx), 1);
    /* one failure: half the size */
    sedx__memory_inject_device_failures(ctx, 1);
    assert_int_equal(sedx_memory_allocate(ctx, &ai, &q, &a), SEDX_SUCCESS);
    assert_int_equal(sedx__memory_device_memory_size(ctx, a), first / 2);
    sedx_memory_stats s = stats_of(ctx);
    assert_int_equal(s.vk_allocate_failures, 1);
    assert_int_equal(sedx_memory_free(ctx, a), SEDX_SUCCESS);
    sedx_memory_release_empty_blocks(ctx);
    /* every try fails: a clean error, no memory held */
    sedx__memory_inject_device_failures(ctx, 100);
    tu_log_capture();
    assert_int_equal(sedx_memory_allocate(ctx, &ai, &q, &a), SEDX_ERROR_OUT_OF_DEVICE_MEMORY);
    log_restore();
    sedx__memory_inject_device_failures(ctx, 0);
    s = stats_of(ctx);
    assert_int_equal(s.device_memory_count, 0);
    assert_int_equal(s.total.allocation_count, 0);
    assert_int_equal(s.total.block_bytes, 0);
    /* and it works again */
    assert_int_equal(sedx_memory_allocate(ctx, &ai, &q, &a), SEDX_SUCCESS);
    assert_int_equal(sedx_memory_free(ctx, a), SEDX_SUCCESS);
    tu_context_destroy(ctx);
}

/* Block sizes: the first blocks grow 1/8, 1/4, 1/2 of the preferred size. */
static void test_block_growth(void **state)
{
    (void)state;
    sedx_allocator_info opt = {0};
    opt.preferred_block_size = 16 * MiB;
    sedx_context *ctx = tu_context_flags(0, &opt);
    sedx_allocation_info ai = {0};
    ai.flags = SEDX_ALLOCATION_NO_FALLBACK;
    const VkPhysicalDeviceMemoryProperties *mp = sedx_context_memory_properties(ctx);
    uint32_t t;
    assert_int_equal(sedx_memory_find_type(ctx, &ai, UINT32_MAX, &t), SEDX_SUCCESS);
    if (mp->memoryHeaps[mp->memoryTypes[t].heapIndex].size <= 1024 * MiB) { /* small heap: heap/8 policy */
        tu_context_destroy(ctx);
        skip();
    }
    enum { N = 40 }; /* 2 + 4 + 8 + 16 + 10 MiB */
    sedx_allocation a[N];
    uint64_t expect[] = {2 * MiB, 4 * MiB, 8 * MiB, 16 * MiB, 16 * MiB};
    int nb = 0;
    VkDeviceMemory last = VK_NULL_HANDLE;
    for (int i = 0; i < N; ++i) {
        VkMemoryRequirements q = reqs(1 * MiB, 256, UINT32_MAX);
        assert_int_equal(sedx_memory_allocate(ctx, &ai, &q, &a[i]), SEDX_SUCCESS);
        sedx_allocation_details d;
        sedx_memory_get_details(ctx, a[i], &d);
        if (d.memory != last) {
            assert_true(nb < 5);
            assert_int_equal(sedx__memory_device_memory_size(ctx, a[i]), expect[nb]);
            ++nb;
            last = d.memory;
        }
    }
    assert_int_equal(nb, 5);
    for (int i = 0; i < N; ++i) sedx_memory_free(ctx, a[i]);
    sedx_memory_stats s = stats_of(ctx);
    assert_int_equal(s.total.block_count, 1);
    assert_int_equal(s.total.block_bytes, 16 * MiB); /* the larger empty block is the one kept */
    tu_context_destroy(ctx);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test_setup(test_every_memory_type, setup),
        cmocka_unit_test_setup(test_usage_choice, setup),
        cmocka_unit_test_setup(test_gpu_copy_between_suballocations, setup),
        cmocka_unit_test_setup(test_dedicated, setup),
        cmocka_unit_test_setup(test_dedicated_buffer_and_device_address, setup),
        cmocka_unit_test_setup(test_budget_and_heap_limit, setup),
        cmocka_unit_test_setup(test_budget_large_request, setup),
        cmocka_unit_test_setup(test_block_reuse, setup),
        cmocka_unit_test_setup(test_no_spare_and_never_allocate, setup),
        cmocka_unit_test_setup(test_flush_rounding_noncoherent, setup),
        cmocka_unit_test_setup(test_stats_agree_with_json, setup),
        cmocka_unit_test_setup(test_granularity_separates_linear_and_optimal, setup),
        cmocka_unit_test_setup(test_handle_misuse, setup),
        cmocka_unit_test_setup(test_unknown_flags_and_enums, setup),
        cmocka_unit_test_setup(test_unknown_allocator_flags, setup),
        cmocka_unit_test_setup(test_create_refuses_empty_info, setup),
        cmocka_unit_test_setup(test_debug_margins_and_fill, setup),
        cmocka_unit_test_setup(test_leak_report, setup),
        cmocka_unit_test_setup(test_host_oom, setup),
        cmocka_unit_test_setup(test_device_failure_fallback, setup),
        cmocka_unit_test_setup(test_block_growth, setup),
        cmocka_unit_test_setup(test_create_buffer_cached_requirements, setup),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
