/* Buffers on a real device with validation: the seed's rules, mapping, access, misuse,
 * reference counting, deferred destruction and the live list. */
#include "test_util.h"

#include "buffer/buffer.h"
#include "memory/memory_private.h" /* white box: the requirements cache's entries */

#include <pthread.h>
#include <stdlib.h>
#include <string.h>

_Static_assert((uint32_t)SEDX_BUFFER_USAGE_TRANSFER_SRC == (uint32_t)VK_BUFFER_USAGE_TRANSFER_SRC_BIT, "usage");
_Static_assert((uint32_t)SEDX_BUFFER_USAGE_TRANSFER_DST == (uint32_t)VK_BUFFER_USAGE_TRANSFER_DST_BIT, "usage");
_Static_assert((uint32_t)SEDX_BUFFER_USAGE_UNIFORM_TEXEL == (uint32_t)VK_BUFFER_USAGE_UNIFORM_TEXEL_BUFFER_BIT, "usage");
_Static_assert((uint32_t)SEDX_BUFFER_USAGE_STORAGE_TEXEL == (uint32_t)VK_BUFFER_USAGE_STORAGE_TEXEL_BUFFER_BIT, "usage");
_Static_assert((uint32_t)SEDX_BUFFER_USAGE_UNIFORM == (uint32_t)VK_BUFFER_USAGE_UNIFORM_BUFFER_BIT, "usage");
_Static_assert((uint32_t)SEDX_BUFFER_USAGE_STORAGE == (uint32_t)VK_BUFFER_USAGE_STORAGE_BUFFER_BIT, "usage");
_Static_assert((uint32_t)SEDX_BUFFER_USAGE_INDEX == (uint32_t)VK_BUFFER_USAGE_INDEX_BUFFER_BIT, "usage");
_Static_assert((uint32_t)SEDX_BUFFER_USAGE_VERTEX == (uint32_t)VK_BUFFER_USAGE_VERTEX_BUFFER_BIT, "usage");
_Static_assert((uint32_t)SEDX_BUFFER_USAGE_INDIRECT == (uint32_t)VK_BUFFER_USAGE_INDIRECT_BUFFER_BIT, "usage");
_Static_assert((uint32_t)SEDX_BUFFER_USAGE_SHADER_BINDING_TABLE == (uint32_t)VK_BUFFER_USAGE_SHADER_BINDING_TABLE_BIT_KHR, "usage");
_Static_assert((uint32_t)SEDX_BUFFER_USAGE_ADDRESS == (uint32_t)VK_BUFFER_USAGE_SHADER_DEVICE_ADDRESS_BIT, "usage");
_Static_assert(SEDX_BUFFER_USAGE_ACCELERATION_STRUCTURE_INPUT ==
                   (uint32_t)VK_BUFFER_USAGE_ACCELERATION_STRUCTURE_BUILD_INPUT_READ_ONLY_BIT_KHR, "usage");
_Static_assert((uint32_t)SEDX_BUFFER_USAGE_ACCELERATION_STRUCTURE == (uint32_t)VK_BUFFER_USAGE_ACCELERATION_STRUCTURE_STORAGE_BIT_KHR,
               "usage");
_Static_assert(SEDX_MEMORY_GPU == 0x1 && SEDX_MEMORY_CPU == 0x6, "the seed's MemoryType values");

static sedx_context *g_ctx;

static int setup(void **state)
{
    (void)state;
    g_ctx = tu_context(false);
    return 0;
}

static int teardown(void **state)
{
    (void)state;
    tu_context_destroy(g_ctx);
    return 0;
}

/* Seed values, checked at run time too (the values the seed's header lists). */
static void test_usage_values_equal_seed(void **state)
{
    (void)state;
    static const uint32_t seed[][2] = {
        {SEDX_BUFFER_USAGE_TRANSFER_SRC, 0x00000001}, {SEDX_BUFFER_USAGE_TRANSFER_DST, 0x00000002},
        {SEDX_BUFFER_USAGE_UNIFORM_TEXEL, 0x00000004}, {SEDX_BUFFER_USAGE_STORAGE_TEXEL, 0x00000008},
        {SEDX_BUFFER_USAGE_UNIFORM, 0x00000010}, {SEDX_BUFFER_USAGE_STORAGE, 0x00000020},
        {SEDX_BUFFER_USAGE_INDEX, 0x00000040}, {SEDX_BUFFER_USAGE_VERTEX, 0x00000080},
        {SEDX_BUFFER_USAGE_INDIRECT, 0x00000100}, {SEDX_BUFFER_USAGE_ADDRESS, 0x00020000},
        {SEDX_BUFFER_USAGE_ACCELERATION_STRUCTURE_INPUT, 0x00080000},
        {SEDX_BUFFER_USAGE_ACCELERATION_STRUCTURE, 0x00100000}, {SEDX_BUFFER_USAGE_SHADER_BINDING_TABLE, 0x00000400},
    };
    uint32_t all = 0;
    for (size_t i = 0; i < sizeof seed / sizeof seed[0]; ++i) {
        assert_int_equal(seed[i][0], seed[i][1]);
        all |= seed[i][0];
    }
    assert_int_equal(all, SEDX_BUFFER_USAGE_ALL);
}

typedef struct { uint32_t id; uint64_t alloc_size; uint32_t maps, refs; bool found; } find_ctx;
static void find_fn(const sedx_buffer_info *bi, void *user)
{
    find_ctx *f = user;
    if (bi->id == f->id) {
        f->alloc_size = bi->allocation_size;
        f->maps = bi->map_count;
        f->refs = bi->references;
        f->found = true;
    }
}
static find_ctx find(const sedx_buffer *b)
{
    find_ctx f = {sedx_buffer_id(b), 0, 0, 0, false};
    sedx_buffer_list(g_ctx, find_fn, &f);
    return f;
}

static void test_seed_rules(void **state)
{
    (void)state;
    const VkPhysicalDeviceLimits *lim = &sedx_context_properties(g_ctx)->limits;
    bool bda = sedx_context_features(g_ctx) & SEDX_FEATURE_BUFFER_DEVICE_ADDRESS;
    sedx_buffer vb, ib, sb, ub, st;
    /* every buffer is a transfer source and destination and, with buffer device address, has an
     * address: buffer.usage says so, and is exactly the VkBuffer's usage */
    const sedx_buffer_usage_flags added = SEDX_BUFFER_USAGE_TRANSFER_SRC | SEDX_BUFFER_USAGE_TRANSFER_DST |
                                          (bda ? SEDX_BUFFER_USAGE_ADDRESS : 0);
    assert_int_equal(sedx_buffer_create(g_ctx, 36, SEDX_BUFFER_USAGE_VERTEX, SEDX_MEMORY_GPU, "Mesh Vertex Buffer", &vb),
                     SEDX_SUCCESS);
    assert_int_equal(vb.usage, SEDX_BUFFER_USAGE_VERTEX | added);
    assert_null(vb.data);
    assert_int_equal(vb.memory, SEDX_MEMORY_GPU);
    assert_int_equal(vb.size, 36);
    assert_non_null(sedx_buffer_vk(&vb));
    assert_string_equal(sedx_buffer_name(&vb), "Mesh Vertex Buffer");
    assert_int_equal(sedx_buffer_vk_usage(&vb), vb.usage);
    assert_int_equal(sedx_buffer_address(&vb) != 0, bda); /* one truth with the bindless table */
    assert_int_equal(sedx_buffer_create(g_ctx, 12, SEDX_BUFFER_USAGE_INDEX, 0, "Mesh Index Buffer", &ib), SEDX_SUCCESS);
    assert_int_equal(ib.usage, SEDX_BUFFER_USAGE_INDEX | added);
    assert_int_equal(ib.memory, SEDX_MEMORY_GPU); /* 0 = the seed's default */

    /* storage: ADDRESS added (with buffer device address), size rounded UP to the alignment */
    uint64_t odd = lim->minStorageBufferOffsetAlignment + 1;
    assert_int_equal(sedx_buffer_create(g_ctx, odd, SEDX_BUFFER_USAGE_STORAGE, SEDX_MEMORY_GPU, "SSBO", &sb), SEDX_SUCCESS);
    assert_int_equal(sb.size, odd);
    assert_int_equal(sb.usage, SEDX_BUFFER_USAGE_STORAGE | added);
    assert_int_equal(sedx_buffer_vk_usage(&sb), sb.usage);
    assert_int_equal(sedx_buffer_address(&sb) != 0, bda);
    find_ctx f = find(&sb);
    assert_true(f.found);
    assert_int_equal(f.alloc_size, 2 * lim->minStorageBufferOffsetAlignment); /* the seed's rule gave odd + 1 */
    assert_true(f.alloc_size % lim->minStorageBufferOffsetAlignment == 0);

    /* uniform: CPU memory, persistently mapped, size rounded up to minUniformBufferOffsetAlignment */
    assert_int_equal(sedx_buffer_create(g_ctx, 100, SEDX_BUFFER_USAGE_UNIFORM, SEDX_MEMORY_CPU, "Scene Uniform Buffer", &ub),
                     SEDX_SUCCESS);
    assert_non_null(ub.data);
    f = find(&ub);
    assert_true(f.alloc_size >= 100 && f.alloc_size % lim->minUniformBufferOffsetAlignment == 0);
    VkDescriptorBufferInfo di = sedx_buffer_descriptor(&ub);
    assert_ptr_equal(di.buffer, sedx_buffer_vk(&ub));
    assert_int_equal(di.range, 100);
    uint64_t off = 99;
    assert_non_null(sedx_buffer_memory(&ub, &off));
    assert_true(off != 99);

    /* staging */
    assert_int_equal(sedx_staging_buffer_create(g_ctx, 4096, "Data Transfer Staging", &st), SEDX_SUCCESS);
    assert_int_equal(st.usage, SEDX_BUFFER_USAGE_TRANSFER_SRC | added);
    assert_int_equal(st.memory, SEDX_MEMORY_CPU);
    assert_non_null(st.data);

    /* ray tracing usages: refused where the context has no ray tracing, not a validation error
     * (tests/gpu/raytracing.c checks both sides) */
    sedx_buffer as;
    sedx_result want_as = (sedx_context_features(g_ctx) & SEDX_FEATURE_ACCELERATION_STRUCTURE)
                              ? SEDX_SUCCESS : SEDX_ERROR_FEATURE_NOT_PRESENT;
    assert_int_equal(sedx_buffer_create(g_ctx, 256, SEDX_BUFFER_USAGE_ACCELERATION_STRUCTURE, 0, "AS", &as), want_as);
    if (want_as == SEDX_SUCCESS) sedx_buffer_release(&as);

    /* ids: distinct among live buffers */
    assert_int_not_equal(sedx_buffer_id(&vb), sedx_buffer_id(&ib));
    assert_int_not_equal(sedx_buffer_id(&vb), SEDX_INVALID_ID);

    char table[4096];
    size_t need = sedx_buffer_format_table(g_ctx, table, sizeof table);
    assert_true(need < sizeof table);
    assert_non_null(strstr(table, "Mesh Vertex Buffer"));
    assert_non_null(strstr(table, "Scene Uniform Buffer"));
    assert_non_null(strstr(table, "TRANSFER_DST|VERTEX"));
    assert_non_null(strstr(table, "5 live buffers"));
    char tiny[8];
    assert_int_equal(sedx_buffer_format_table(g_ctx, tiny, sizeof tiny), need);
    assert_int_equal(strlen(tiny), 7);

    sedx_buffer_release(&vb);
    sedx_buffer_release(&ib);
    sedx_buffer_release(&sb);
    sedx_buffer_release(&ub);
    sedx_buffer_release(&st);
    assert_null(vb.resource);
    assert_int_equal(sedx_buffer_list(g_ctx, NULL, NULL), 0);
}

static void test_map_write_read(void **state)
{
    (void)state;
    uint64_t rng = tu_seed();
    sedx_buffer ub;
    const uint64_t n = 4099;
    assert_int_equal(sedx_buffer_create(g_ctx, n, SEDX_BUFFER_USAGE_UNIFORM, SEDX_MEMORY_CPU, "map test", &ub),
                     SEDX_SUCCESS);
    uint8_t *src = malloc(n), *dst = malloc(n);
    tu_fill_random(src, n, &rng);
    /* the seed's pattern: map, memcpy, unmap */
    void *p = NULL;
    assert_int_equal(sedx_buffer_map(&ub, &p), SEDX_SUCCESS);
    assert_ptr_equal(p, ub.data);
    void *p2 = NULL;
    assert_int_equal(sedx_buffer_map(&ub, &p2), SEDX_SUCCESS); /* counted */
    assert_int_equal(find(&ub).maps, 2);
    memcpy(p, src, n);
    assert_int_equal(sedx_buffer_unmap(&ub), SEDX_SUCCESS);
    assert_int_equal(sedx_buffer_unmap(&ub), SEDX_SUCCESS);
    tu_log_capture();
    assert_int_equal(sedx_buffer_unmap(&ub), SEDX_ERROR_NOT_MAPPED);
    memset(dst, 0xCD, n);
    assert_int_equal(sedx_buffer_read(&ub, dst, n, 0), SEDX_SUCCESS);
    assert_memory_equal(src, dst, n);
    /* write at awkward offsets, read back */
    tu_fill_random(src, n, &rng);
    assert_int_equal(sedx_buffer_write(&ub, src, 1, 0), SEDX_SUCCESS);
    assert_int_equal(sedx_buffer_write(&ub, src + 1, n - 4, 1), SEDX_SUCCESS);
    assert_int_equal(sedx_buffer_write(&ub, src + n - 3, 3, n - 3), SEDX_SUCCESS);
    memset(dst, 0xCD, n);
    assert_int_equal(sedx_buffer_read(&ub, dst, n, 0), SEDX_SUCCESS);
    assert_memory_equal(src, dst, n);
    /* out of bounds, wrap-around: refused, nothing changes */
    uint8_t before[16];
    memcpy(before, ub.data, 16);
    assert_int_equal(sedx_buffer_write(&ub, src, n + 1, 0), SEDX_ERROR_OUT_OF_BOUNDS);
    assert_int_equal(sedx_buffer_write(&ub, src, 1, n), SEDX_ERROR_OUT_OF_BOUNDS);
    assert_int_equal(sedx_buffer_write(&ub, src, 16, UINT64_MAX - 7), SEDX_ERROR_OUT_OF_BOUNDS);
    assert_int_equal(sedx_buffer_write(&ub, src, UINT64_MAX, 1), SEDX_ERROR_OUT_OF_BOUNDS);
    assert_int_equal(sedx_buffer_read(&ub, dst, 2, UINT64_MAX - 1), SEDX_ERROR_OUT_OF_BOUNDS);
    assert_memory_equal(before, ub.data, 16);
    assert_true(tu_log_contains("map test"));
    assert_int_equal(sedx_buffer_write(&ub, NULL, 4, 0), SEDX_ERROR_INVALID_ARGUMENT);
    assert_int_equal(sedx_buffer_write(&ub, NULL, 0, n), SEDX_SUCCESS);
    assert_int_equal(sedx_buffer_map(&ub, NULL), SEDX_ERROR_INVALID_ARGUMENT);
    sedx_set_logger(NULL, NULL);
    sedx_set_log_level(SEDX_LOG_WARN);
    sedx_buffer_release(&ub);
    free(src);
    free(dst);
}

static void test_misuse(void **state)
{
    (void)state;
    tu_log_capture();
    sedx_buffer b = {0}, gpu;
    sedx_buffer garbage;
    memset(&garbage, 0xAB, sizeof garbage);
    assert_int_equal(sedx_buffer_create(g_ctx, 0, SEDX_BUFFER_USAGE_VERTEX, 0, "zero", &b), SEDX_ERROR_INVALID_SIZE);
    assert_true(tu_log_contains("zero"));
    assert_int_equal(sedx_buffer_create(g_ctx, UINT64_MAX, SEDX_BUFFER_USAGE_STORAGE, 0, "huge", &b),
                     SEDX_ERROR_INVALID_SIZE);
    assert_int_equal(sedx_buffer_create(g_ctx, UINT64_MAX - 3, SEDX_BUFFER_USAGE_VERTEX, 0, "huge2", &b) < 0, 1);
    assert_int_equal(sedx_buffer_create(g_ctx, 64, 0x40000000u, 0, "bits", &b), SEDX_ERROR_INVALID_USAGE);
    assert_int_equal(sedx_buffer_create(g_ctx, 64, 0, 0, "none", &b), SEDX_ERROR_INVALID_USAGE);
    assert_int_equal(sedx_buffer_create(g_ctx, 64, SEDX_BUFFER_USAGE_VERTEX, 0x10, "mem", &b),
                     SEDX_ERROR_INVALID_ARGUMENT);
    assert_int_equal(sedx_buffer_create(g_ctx, 64, SEDX_BUFFER_USAGE_VERTEX, 0x2, "half cpu", &b),
                     SEDX_ERROR_INVALID_ARGUMENT);
    assert_int_equal(sedx_buffer_create(NULL, 64, SEDX_BUFFER_USAGE_VERTEX, 0, "x", &b), SEDX_ERROR_INVALID_ARGUMENT);
    assert_int_equal(sedx_buffer_create(g_ctx, 64, SEDX_BUFFER_USAGE_VERTEX, 0, "x", NULL), SEDX_ERROR_INVALID_ARGUMENT);
    sedx_buffer_create_info ci = {0};
    ci.size = 64;
    ci.usage = SEDX_BUFFER_USAGE_STORAGE;
    ci.alignment = 48;
    assert_int_equal(sedx_buffer_create_ex(g_ctx, &ci, &b), SEDX_ERROR_INVALID_ALIGNMENT);
    assert_null(b.resource); /* never written on failure */

    /* GPU memory: no CPU access, the seed's assert made safe */
    assert_int_equal(sedx_buffer_create(g_ctx, 256, SEDX_BUFFER_USAGE_VERTEX, SEDX_MEMORY_GPU, "GPU only VB", &gpu),
                     SEDX_SUCCESS);
    void *p = (void *)0x1;
    tu_log_reset();
    assert_int_equal(sedx_buffer_map(&gpu, &p), SEDX_ERROR_NOT_HOST_VISIBLE);
    assert_true(tu_log_contains("GPU only VB"));
    uint8_t data[16] = {1, 2, 3};
    assert_int_equal(sedx_buffer_write(&gpu, data, 16, 0), SEDX_ERROR_NOT_HOST_VISIBLE);
    assert_int_equal(sedx_buffer_read(&gpu, data, 16, 0), SEDX_ERROR_NOT_HOST_VISIBLE);
    assert_int_equal(sedx_buffer_unmap(&gpu), SEDX_ERROR_NOT_HOST_VISIBLE);

    /* use after release, double release, stale copies, garbage */
    sedx_buffer copy = gpu; /* a plain struct copy, not a reference */
    sedx_buffer_release(&gpu);
    assert_int_equal(sedx_buffer_validate(&copy), SEDX_ERROR_INVALID_HANDLE);
    assert_int_equal(sedx_buffer_write(&copy, data, 1, 0), SEDX_ERROR_INVALID_HANDLE);
    assert_int_equal(sedx_buffer_map(&copy, &p), SEDX_ERROR_INVALID_HANDLE);
    assert_null(sedx_buffer_vk(&copy));
    assert_int_equal(sedx_buffer_id(&copy), SEDX_INVALID_ID);
    tu_log_reset();
    sedx_buffer_release(&copy); /* reported, not fatal */
    assert_true(tu_log_contains("double release"));
    sedx_buffer_release(&gpu); /* empty: no-op */
    sedx_buffer_release(NULL);
    assert_int_equal(sedx_buffer_validate(&garbage), SEDX_ERROR_INVALID_HANDLE);
    assert_int_equal(sedx_buffer_read(&garbage, data, 1, 0), SEDX_ERROR_INVALID_HANDLE);
    sedx_buffer_release(&garbage);
    assert_int_equal(sedx_buffer_validate(NULL), SEDX_ERROR_INVALID_HANDLE);
    assert_int_equal(sedx_buffer_map(NULL, &p), SEDX_ERROR_INVALID_HANDLE);

    /* the context keeps working */
    sedx_buffer ok;
    assert_int_equal(sedx_buffer_create(g_ctx, 64, SEDX_BUFFER_USAGE_UNIFORM, SEDX_MEMORY_CPU, "after misuse", &ok),
                     SEDX_SUCCESS);
    assert_int_equal(sedx_buffer_write(&ok, data, 16, 0), SEDX_SUCCESS);
    sedx_buffer_release(&ok);
    sedx_set_logger(NULL, NULL);
    sedx_set_log_level(SEDX_LOG_WARN);
}

static void test_reference_counting(void **state)
{
    (void)state;
    sedx_buffer a;
    assert_int_equal(sedx_buffer_create(g_ctx, 128, SEDX_BUFFER_USAGE_STORAGE, SEDX_MEMORY_CPU, "shared", &a),
                     SEDX_SUCCESS);
    assert_int_equal(sedx_buffer_ref_count(&a), 1);
    sedx_buffer b = sedx_buffer_retain(&a);
    assert_ptr_equal(b.resource, a.resource);
    assert_int_equal(sedx_buffer_ref_count(&a), 2);
    sedx_buffer_release(&a);
    assert_null(a.resource);
    assert_int_equal(sedx_buffer_ref_count(&b), 1);
    assert_int_equal(sedx_buffer_validate(&b), SEDX_SUCCESS); /* still alive through b */
    uint32_t v = 0xDEADBEEF;
    assert_int_equal(sedx_buffer_write(&b, &v, 4, 124), SEDX_SUCCESS);
    sedx_buffer_release(&b);
    assert_int_equal(sedx_buffer_validate(&b), SEDX_ERROR_INVALID_HANDLE);
    sedx_set_log_level(SEDX_LOG_OFF);
    sedx_buffer c = sedx_buffer_retain(&b);
    sedx_set_log_level(SEDX_LOG_WARN);
    assert_null(c.resource);
}

/* Deferred destruction really waits for the GPU. */
static void test_deferred_destruction_waits(void **state)
{
    (void)state;
    VkDevice dev = sedx_context_device(g_ctx);
    sedx_buffer src, dst;
    assert_int_equal(sedx_buffer_create(g_ctx, 65536, SEDX_BUFFER_USAGE_TRANSFER_SRC, SEDX_MEMORY_CPU, "in flight", &src),
                     SEDX_SUCCESS);
    assert_int_equal(sedx_buffer_create(g_ctx, 65536, SEDX_BUFFER_USAGE_STORAGE | SEDX_BUFFER_USAGE_TRANSFER_DST,
                                        SEDX_MEMORY_CPU, "copy target", &dst),
                     SEDX_SUCCESS);
    uint64_t rng = tu_seed();
    tu_fill_random(src.data, 65536, &rng);
    memset(dst.data, 0xCD, 65536);
    /* a submission gated on a semaphore the host signals later */
    VkSemaphoreTypeCreateInfo type = {VK_STRUCTURE_TYPE_SEMAPHORE_TYPE_CREATE_INFO};
    type.semaphoreType = VK_SEMAPHORE_TYPE_TIMELINE;
    VkSemaphoreCreateInfo sci = {VK_STRUCTURE_TYPE_SEMAPHORE_CREATE_INFO};
    sci.pNext = &type;
    VkSemaphore gate;
    assert_int_equal(vkCreateSemaphore(dev, &sci, NULL, &gate), VK_SUCCESS);
    sedx_cmd cmd;
    assert_int_equal(sedx_cmd_begin(g_ctx, SEDX_QUEUE_GRAPHICS, &cmd), SEDX_SUCCESS);
    VkBufferCopy region = {0, 0, 65536};
    vkCmdCopyBuffer(cmd.cmd, sedx_buffer_vk(&src), sedx_buffer_vk(&dst), 1, &region);
    VkMemoryBarrier mb = {VK_STRUCTURE_TYPE_MEMORY_BARRIER};
    mb.srcAccessMask = VK_ACCESS_TRANSFER_WRITE_BIT;
    mb.dstAccessMask = VK_ACCESS_HOST_READ_BIT;
    vkCmdPipelineBarrier(cmd.cmd, VK_PIPELINE_STAGE_TRANSFER_BIT, VK_PIPELINE_STAGE_HOST_BIT, 0, 1, &mb, 0, NULL, 0, NULL);
    uint64_t one = 1;
    VkPipelineStageFlags stage = VK_PIPELINE_STAGE_TRANSFER_BIT;
    sedx_submit_info si = {1, &gate, &one, &stage};
    sedx_ticket t;
    assert_int_equal(sedx_cmd_submit(g_ctx, &cmd, &si, &t), SEDX_SUCCESS);
    assert_int_equal(sedx_buffer_mark_used(&src, t), SEDX_SUCCESS);
    assert_int_equal(sedx_buffer_mark_used(&dst, t), SEDX_SUCCESS);

    sedx_memory_stats before;
    assert_int_equal(sedx_memory_get_stats(g_ctx, &before), SEDX_SUCCESS);
    uint32_t pending0 = sedx_context_pending_deletions(g_ctx);
    sedx_buffer_release(&src); /* the GPU has not run the copy yet */
    assert_int_equal(sedx_buffer_validate(&src), SEDX_ERROR_INVALID_HANDLE); /* the handle dies at once */
    assert_int_equal(sedx_context_collect_garbage(g_ctx), 0);
    assert_int_equal(sedx_context_pending_deletions(g_ctx), pending0 + 1);
    sedx_memory_stats mid;
    sedx_memory_get_stats(g_ctx, &mid);
    assert_int_equal(mid.total.allocation_count, before.total.allocation_count); /* memory still there */

    VkSemaphoreSignalInfo sig = {VK_STRUCTURE_TYPE_SEMAPHORE_SIGNAL_INFO};
    sig.semaphore = gate;
    sig.value = 1;
    assert_int_equal(vkSignalSemaphore(dev, &sig), VK_SUCCESS);
    assert_int_equal(sedx_ticket_wait(g_ctx, t, UINT64_MAX), SEDX_SUCCESS);
    assert_true(sedx_context_collect_garbage(g_ctx) >= 1);
    assert_int_equal(sedx_context_pending_deletions(g_ctx), pending0);
    sedx_memory_stats after;
    sedx_memory_get_stats(g_ctx, &after);
    assert_int_equal(after.total.allocation_count, before.total.allocation_count - 1);
    /* the copy really read the source before it went away */
    uint8_t *expect = malloc(65536);
    uint64_t rng2 = tu_seed();
    tu_fill_random(expect, 65536, &rng2);
    assert_memory_equal(dst.data, expect, 65536);
    free(expect);
    sedx_buffer_release(&dst);
    vkDestroySemaphore(dev, gate, NULL);
    assert_int_equal(sedx_context_wait_idle(g_ctx), SEDX_SUCCESS);
}

/* sedx_buffer_create takes the memory requirements from the allocator's per-create-info cache
 * (Vulkan 1.3's vkGetDeviceBufferMemoryRequirements) and, for GPU buffers with short names, the
 * allocator's fast path. For every usage combination the cache keys on (the VkBuffer usage:
 * the 7 bits that vary once TRANSFER_SRC/DST and ADDRESS are added, each with and without the
 * added bits asked for), GPU and CPU, the first buffer (a miss: the driver, then the entry; GPU first for even combinations, CPU for odd), the
 * next ones (hits: fast path, no name, a long name: general path, an extra alignment: the
 * requirements by hand) get exactly what their own vkGetBufferMemoryRequirements2 asks for: the
 * size, an offset aligned to it, a type among its bits, the first buffer's type, dedicated as
 * the first (and where required). A fresh context per 6 combinations: the cache (16 entries)
 * holds them all, checked. Then the same from 4 threads on one context. */
enum { CACHE_COMBOS_PER_CTX = 6, CACHE_KEY_BITS = 7 };
static const sedx_buffer_usage_flags k_key_bits[CACHE_KEY_BITS] = {
    SEDX_BUFFER_USAGE_UNIFORM_TEXEL, SEDX_BUFFER_USAGE_STORAGE_TEXEL, SEDX_BUFFER_USAGE_UNIFORM,
    SEDX_BUFFER_USAGE_STORAGE,       SEDX_BUFFER_USAGE_INDEX,         SEDX_BUFFER_USAGE_VERTEX,
    SEDX_BUFFER_USAGE_INDIRECT};

static sedx_buffer_usage_flags combo_usage(uint32_t combo, bool extra, bool bda)
{
    sedx_buffer_usage_flags u = 0;
    for (uint32_t i = 0; i < CACHE_KEY_BITS; ++i)
        if (combo & (1u << i)) u |= k_key_bits[i];
    if (extra) u |= SEDX_BUFFER_USAGE_TRANSFER_SRC | SEDX_BUFFER_USAGE_TRANSFER_DST | (bda ? SEDX_BUFFER_USAGE_ADDRESS : 0);
    return u;
}

static bool cache_has(sedx_context *ctx, VkBufferUsageFlags usage, uint64_t size)
{
    allocator *A = get_allocator(ctx);
    uint32_t n = atomic_load_explicit(&A->breq_count, memory_order_acquire);
    for (uint32_t i = 0; i < n; ++i)
        if (A->breq[i].usage == usage && A->breq[i].size == size && A->breq[i].flags == 0) return true;
    return false;
}

typedef struct { uint32_t type; bool dedicated, set; } first_choice;

/* Checks b against its own requirements and the first buffer of its combination. */
static void check_against_own_requirements(sedx_context *ctx, const sedx_buffer *b, uint64_t extra_align,
                                           first_choice *first)
{
    const sedx_buffer_resource *res = b->resource;
    VkMemoryDedicatedRequirements ded = {VK_STRUCTURE_TYPE_MEMORY_DEDICATED_REQUIREMENTS, NULL, VK_FALSE, VK_FALSE};
    VkMemoryRequirements2 r2 = {VK_STRUCTURE_TYPE_MEMORY_REQUIREMENTS_2, &ded, {0, 0, 0}};
    VkBufferMemoryRequirementsInfo2 ri = {VK_STRUCTURE_TYPE_BUFFER_MEMORY_REQUIREMENTS_INFO_2, NULL, sedx_buffer_vk(b)};
    vkGetBufferMemoryRequirements2(sedx_context_device(ctx), &ri, &r2);
    const VkMemoryRequirements *r = &r2.memoryRequirements;
    sedx_allocation_details d;
    assert_int_equal(sedx_memory_get_details(ctx, res->allocation, &d), SEDX_SUCCESS);
    assert_int_equal(d.size, r->size);
    assert_int_equal(d.offset, res->offset);
    assert_int_equal(d.offset % r->alignment, 0);
    if (extra_align) assert_int_equal(d.offset % extra_align, 0);
    assert_true(r->memoryTypeBits & (1u << d.memory_type));
    assert_int_equal(d.memory_type, res->memory_type);
    assert_int_equal(d.dedicated, res->dedicated);
    assert_int_equal(d.kind, SEDX_ALLOCATION_KIND_BUFFER);
    assert_ptr_equal(d.user_data, res);
    if (ded.requiresDedicatedAllocation) assert_true(d.dedicated);
    if (b->memory & SEDX_MEMORY_CPU) assert_non_null(b->data);
    if (!first->set) {
        *first = (first_choice){d.memory_type, d.dedicated, true};
    } else {
        assert_int_equal(d.memory_type, first->type);
        assert_int_equal(d.dedicated, first->dedicated);
    }
}

static void cached_combo_round(sedx_context *ctx, uint32_t combo, bool check_cache)
{
    const bool bda = (sedx_context_features(ctx) & SEDX_FEATURE_BUFFER_DEVICE_ADDRESS) != 0;
    static const char *const long_name = "a buffer name longer than the allocation record holds inline";
    for (int m = 0; m < 2; ++m) { /* odd combinations: CPU first (its first buffer the miss) */
        const sedx_memory_flags mem = (m ^ (int)(combo & 1u)) ? SEDX_MEMORY_CPU : SEDX_MEMORY_GPU;
        first_choice first = {0};
        sedx_buffer bufs[6];
        for (int i = 0; i < 6; ++i) {
            sedx_buffer_create_info ci = {0};
            ci.size = 1000 + 8u * combo;
            ci.usage = combo_usage(combo, (i & 1) != 0, bda);
            ci.memory = mem;
            ci.name = i == 2 ? NULL : i == 3 ? long_name : "cache test";
            ci.alignment = i == 4 ? 4096u : 0u;
            assert_int_equal(sedx__buffer_create(ctx, &ci, 0, &bufs[i]), SEDX_SUCCESS);
            const sedx_buffer_resource *res = bufs[i].resource;
            assert_int_equal(res->vk_usage & ~(VkBufferUsageFlags)(VK_BUFFER_USAGE_TRANSFER_SRC_BIT |
                                                                   VK_BUFFER_USAGE_TRANSFER_DST_BIT |
                                                                   VK_BUFFER_USAGE_SHADER_DEVICE_ADDRESS_BIT),
                             combo_usage(combo, false, bda));
            if (check_cache && sedx_context_api_version(ctx) >= VK_API_VERSION_1_3)
                assert_true(cache_has(ctx, res->vk_usage, res->allocation_size));
            check_against_own_requirements(ctx, &bufs[i], ci.alignment, &first);
            find_ctx f = find(&bufs[i]);
            assert_true(f.found);
            assert_int_equal(f.alloc_size, res->allocation_size);
        }
        for (int i = 0; i < 6; ++i) sedx_buffer_release(&bufs[i]);
    }
}

static void test_cached_requirements_every_usage(void **state)
{
    (void)state;
    sedx_context *saved = g_ctx;
    for (uint32_t c0 = 1; c0 < (1u << CACHE_KEY_BITS); c0 += CACHE_COMBOS_PER_CTX) {
        g_ctx = tu_context(false);
        for (uint32_t combo = c0; combo < c0 + CACHE_COMBOS_PER_CTX && combo < (1u << CACHE_KEY_BITS); ++combo)
            cached_combo_round(g_ctx, combo, true);
        sedx_context_collect_garbage(g_ctx);
        tu_context_destroy(g_ctx);
    }
    g_ctx = saved;
}

typedef struct { uint32_t first_combo; } cache_thread_arg;
static void *cached_combo_thread(void *p)
{
    const cache_thread_arg *a = p;
    for (uint32_t k = 0; k < 2 * CACHE_COMBOS_PER_CTX; ++k) {
        uint32_t combo = 1u + (a->first_combo + k) % CACHE_COMBOS_PER_CTX;
        cached_combo_round(g_ctx, combo * 19u % ((1u << CACHE_KEY_BITS) - 1u) + 1u, true);
    }
    return NULL;
}

static void test_cached_requirements_threads(void **state)
{
    (void)state;
    sedx_context *saved = g_ctx;
    g_ctx = tu_context(false);
    pthread_t th[4];
    cache_thread_arg args[4];
    for (uint32_t i = 0; i < 4; ++i) {
        args[i].first_combo = i;
        assert_int_equal(pthread_create(&th[i], NULL, cached_combo_thread, &args[i]), 0);
    }
    for (int i = 0; i < 4; ++i) pthread_join(th[i], NULL);
    assert_int_equal(sedx_context_collect_garbage(g_ctx), SEDX_SUCCESS);
    tu_context_destroy(g_ctx);
    g_ctx = saved;
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_usage_values_equal_seed),
        cmocka_unit_test(test_seed_rules),
        cmocka_unit_test(test_map_write_read),
        cmocka_unit_test(test_misuse),
        cmocka_unit_test(test_reference_counting),
        cmocka_unit_test(test_deferred_destruction_waits),
        cmocka_unit_test(test_cached_requirements_every_usage),
        cmocka_unit_test(test_cached_requirements_threads),
    };
    return cmocka_run_group_tests(tests, setup, teardown);
}
