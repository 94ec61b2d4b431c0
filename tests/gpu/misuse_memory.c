/* Misuse catalog, memory.h: allocations, binding, create/destroy helpers, mapping, flush,
 * queries, budget. The harness is tests/gpu/misuse_util.h; docs/errors.md lists every case. */
#include "misuse_util.h"

static VkMemoryRequirements reqs(uint64_t size, uint64_t alignment, uint32_t bits)
{
    VkMemoryRequirements r = {size, alignment, bits};
    return r;
}

static bool alloc_untouched(const sedx_allocation *a) { return a->id == MIS_SENTINEL_U64; }

/* A refused allocation must leave *out alone; an unexpected success is freed. */
#define ALLOC_BAD(fn, input, expected, log, ctx, call)                                                    \
    do {                                                                                                 \
        out.id = MIS_SENTINEL_U64;                                                                       \
        MIS_RC(fn, input, expected, log, call);                                                          \
        MIS_TRUE(fn, input, "*out not written", alloc_untouched(&out));                                   \
        if (!alloc_untouched(&out)) sedx_memory_free(ctx, out);                                           \
    } while (0)

static void test_allocate(void **state)
{
    (void)state;
    mis_begin();
    sedx_context *ctx = mis_context(0, NULL);
    sedx_allocation out;
    sedx_allocation_info ai = {0};
    VkMemoryRequirements q = reqs(4096, 256, UINT32_MAX);
    ALLOC_BAD("sedx_memory_allocate", "NULL ctx", SEDX_ERROR_INVALID_ARGUMENT, "ctx is NULL", ctx,
              sedx_memory_allocate(NULL, &ai, &q, &out));
    ALLOC_BAD("sedx_memory_allocate", "NULL requirements", SEDX_ERROR_INVALID_ARGUMENT, "requirements is NULL", ctx,
              sedx_memory_allocate(ctx, &ai, NULL, &out));
    MIS_RC("sedx_memory_allocate", "NULL out", SEDX_ERROR_INVALID_ARGUMENT, "out is NULL",
           sedx_memory_allocate(ctx, &ai, &q, NULL));
    q = reqs(0, 256, UINT32_MAX);
    ALLOC_BAD("sedx_memory_allocate", "size 0", SEDX_ERROR_INVALID_SIZE, "size 0", ctx,
              sedx_memory_allocate(ctx, &ai, &q, &out));
    VkMemoryRequirements zeroed = {0};
    ALLOC_BAD("sedx_memory_allocate", "zeroed requirements", SEDX_ERROR_INVALID_SIZE, "size 0", ctx,
              sedx_memory_allocate(ctx, &ai, &zeroed, &out));
    q = reqs((UINT64_C(1) << 63) + 1, 256, UINT32_MAX);
    ALLOC_BAD("sedx_memory_allocate", "size 2^63 + 1", SEDX_ERROR_INVALID_SIZE, "size", ctx,
              sedx_memory_allocate(ctx, &ai, &q, &out));
    q = reqs(UINT64_MAX, 1, UINT32_MAX);
    ALLOC_BAD("sedx_memory_allocate", "size UINT64_MAX", SEDX_ERROR_INVALID_SIZE, "size", ctx,
              sedx_memory_allocate(ctx, &ai, &q, &out));
    VkMemoryRequirements garbage;
    memset(&garbage, 0xAB, sizeof garbage);
    /* every field bad: the first check that refuses it is the alignment's */
    ALLOC_BAD("sedx_memory_allocate", "garbage requirements (0xAB..)", SEDX_ERROR_INVALID_ALIGNMENT, "not a power of two", ctx,
              sedx_memory_allocate(ctx, &ai, &garbage, &out));
    q = reqs(4096, 3, UINT32_MAX);
    ALLOC_BAD("sedx_memory_allocate", "alignment 3 (not a power of two)", SEDX_ERROR_INVALID_ALIGNMENT,
              "not a power of two", ctx, sedx_memory_allocate(ctx, &ai, &q, &out));
    q = reqs(4096, UINT64_MAX, UINT32_MAX);
    ALLOC_BAD("sedx_memory_allocate", "alignment UINT64_MAX", SEDX_ERROR_INVALID_ALIGNMENT, "not a power of two", ctx,
              sedx_memory_allocate(ctx, &ai, &q, &out));
    q = reqs(4096, 256, 0);
    ALLOC_BAD("sedx_memory_allocate", "memoryTypeBits 0", SEDX_ERROR_NO_MEMORY_TYPE, "no memory type", ctx,
              sedx_memory_allocate(ctx, &ai, &q, &out));
    q = reqs(4096, 256, 0x1);
    ai.memory_type_bits = 0x2;
    ALLOC_BAD("sedx_memory_allocate", "info.memory_type_bits disjoint from the requirements", SEDX_ERROR_NO_MEMORY_TYPE,
              "no memory type", ctx, sedx_memory_allocate(ctx, &ai, &q, &out));
    ai.memory_type_bits = 0;
    q = reqs(4096, 256, UINT32_MAX);
    ai.required_flags = VK_MEMORY_PROPERTY_PROTECTED_BIT | VK_MEMORY_PROPERTY_LAZILY_ALLOCATED_BIT;
    ALLOC_BAD("sedx_memory_allocate", "required_flags no type has", SEDX_ERROR_NO_MEMORY_TYPE, "no memory type", ctx,
              sedx_memory_allocate(ctx, &ai, &q, &out));
    ai.required_flags = 0;
    ai.usage = (sedx_memory_usage)99;
    ALLOC_BAD("sedx_memory_allocate", "usage outside the enum (99)", SEDX_ERROR_INVALID_ARGUMENT, "usage", ctx,
              sedx_memory_allocate(ctx, &ai, &q, &out));
    ai.usage = (sedx_memory_usage)-1;
    ALLOC_BAD("sedx_memory_allocate", "usage outside the enum (-1)", SEDX_ERROR_INVALID_ARGUMENT, "usage", ctx,
              sedx_memory_allocate(ctx, &ai, &q, &out));
    ai.usage = SEDX_MEMORY_USAGE_AUTO;
    ai.kind = (sedx_allocation_kind)99;
    ALLOC_BAD("sedx_memory_allocate", "kind outside the enum (99)", SEDX_ERROR_INVALID_ARGUMENT, "kind", ctx,
              sedx_memory_allocate(ctx, &ai, &q, &out));
    ai.kind = SEDX_ALLOCATION_KIND_UNKNOWN;
    ai.flags = 0x80000000u;
    ALLOC_BAD("sedx_memory_allocate", "unknown flag bits (0x80000000)", SEDX_ERROR_INVALID_ARGUMENT, "flag", ctx,
              sedx_memory_allocate(ctx, &ai, &q, &out));
    ai.flags = 0x40u;
    ALLOC_BAD("sedx_memory_allocate", "unknown flag bits (0x40, next to the defined ones)", SEDX_ERROR_INVALID_ARGUMENT,
              "flag", ctx, sedx_memory_allocate(ctx, &ai, &q, &out));
    ai.flags = SEDX_ALLOCATION_NEVER_ALLOCATE | SEDX_ALLOCATION_DEDICATED;
    ALLOC_BAD("sedx_memory_allocate", "NEVER_ALLOCATE with DEDICATED", SEDX_ERROR_INVALID_ARGUMENT, "NEVER_ALLOCATE", ctx,
              sedx_memory_allocate(ctx, &ai, &q, &out));
    ai.flags = 0;
    MIS_RC("sedx_memory_allocate", "alignment 0 (means 1)", SEDX_SUCCESS, LOG_NONE,
           (q = reqs(4096, 0, UINT32_MAX), sedx_memory_allocate(ctx, &ai, &q, &out)));
    sedx_memory_free(ctx, out);
    q = reqs(4096, 256, UINT32_MAX);

    /* allocate2 */
    VkBufferCreateInfo bci = {VK_STRUCTURE_TYPE_BUFFER_CREATE_INFO};
    bci.size = 4096;
    bci.usage = VK_BUFFER_USAGE_TRANSFER_DST_BIT;
    VkImageCreateInfo ici = {VK_STRUCTURE_TYPE_IMAGE_CREATE_INFO};
    ici.imageType = VK_IMAGE_TYPE_2D;
    ici.format = VK_FORMAT_R8G8B8A8_UNORM;
    ici.extent = (VkExtent3D){16, 16, 1};
    ici.mipLevels = 1;
    ici.arrayLayers = 1;
    ici.samples = VK_SAMPLE_COUNT_1_BIT;
    ici.tiling = VK_IMAGE_TILING_OPTIMAL;
    ici.usage = VK_IMAGE_USAGE_TRANSFER_DST_BIT | VK_IMAGE_USAGE_SAMPLED_BIT;
    VkBuffer vb = VK_NULL_HANDLE;
    VkImage vi = VK_NULL_HANDLE;
    assert_int_equal(vkCreateBuffer(sedx_context_device(ctx), &bci, NULL, &vb), VK_SUCCESS);
    assert_int_equal(vkCreateImage(sedx_context_device(ctx), &ici, NULL, &vi), VK_SUCCESS);
    ALLOC_BAD("sedx_memory_allocate2", "both a dedicated buffer and a dedicated image", SEDX_ERROR_INVALID_ARGUMENT,
              "both a dedicated buffer and image", ctx, sedx_memory_allocate2(ctx, &ai, &q, NULL, vb, vi, &out));
    VkMemoryDedicatedRequirements ded = {VK_STRUCTURE_TYPE_MEMORY_DEDICATED_REQUIREMENTS};
    ded.requiresDedicatedAllocation = VK_TRUE;
    ai.flags = SEDX_ALLOCATION_NEVER_ALLOCATE;
    ALLOC_BAD("sedx_memory_allocate2", "requires dedicated with NEVER_ALLOCATE", SEDX_ERROR_INVALID_ARGUMENT,
              "NEVER_ALLOCATE", ctx, sedx_memory_allocate2(ctx, &ai, &q, &ded, vb, VK_NULL_HANDLE, &out));
    ai.flags = 0;
    ALLOC_BAD("sedx_memory_allocate2", "NULL requirements", SEDX_ERROR_INVALID_ARGUMENT, "requirements is NULL", ctx,
              sedx_memory_allocate2(ctx, &ai, NULL, NULL, VK_NULL_HANDLE, VK_NULL_HANDLE, &out));

    /* allocate_for_buffer / _for_image */
    ALLOC_BAD("sedx_memory_allocate_for_buffer", "NULL ctx", SEDX_ERROR_INVALID_ARGUMENT, "ctx is NULL", ctx,
              sedx_memory_allocate_for_buffer(NULL, vb, NULL, &out));
    ALLOC_BAD("sedx_memory_allocate_for_buffer", "VK_NULL_HANDLE buffer", SEDX_ERROR_INVALID_ARGUMENT, "buffer is NULL",
              ctx, sedx_memory_allocate_for_buffer(ctx, VK_NULL_HANDLE, NULL, &out));
    MIS_RC("sedx_memory_allocate_for_buffer", "NULL out", SEDX_ERROR_INVALID_ARGUMENT, "out is NULL",
           sedx_memory_allocate_for_buffer(ctx, vb, NULL, NULL));
    ai.usage = (sedx_memory_usage)99;
    ALLOC_BAD("sedx_memory_allocate_for_buffer", "info.usage outside the enum", SEDX_ERROR_INVALID_ARGUMENT, "usage",
              ctx, sedx_memory_allocate_for_buffer(ctx, vb, &ai, &out));
    ALLOC_BAD("sedx_memory_allocate_for_image", "info.usage outside the enum", SEDX_ERROR_INVALID_ARGUMENT, "usage", ctx,
              sedx_memory_allocate_for_image(ctx, vi, VK_IMAGE_TILING_OPTIMAL, &ai, &out));
    ai.usage = SEDX_MEMORY_USAGE_AUTO;
    ai.flags = 0x80000000u;
    ALLOC_BAD("sedx_memory_allocate_for_buffer", "info unknown flag bits", SEDX_ERROR_INVALID_ARGUMENT, "flag", ctx,
              sedx_memory_allocate_for_buffer(ctx, vb, &ai, &out));
    ai.flags = 0;
    ALLOC_BAD("sedx_memory_allocate_for_image", "NULL ctx", SEDX_ERROR_INVALID_ARGUMENT, "ctx is NULL", ctx,
              sedx_memory_allocate_for_image(NULL, vi, VK_IMAGE_TILING_OPTIMAL, NULL, &out));
    ALLOC_BAD("sedx_memory_allocate_for_image", "VK_NULL_HANDLE image", SEDX_ERROR_INVALID_ARGUMENT, "image is NULL",
              ctx, sedx_memory_allocate_for_image(ctx, VK_NULL_HANDLE, VK_IMAGE_TILING_OPTIMAL, NULL, &out));
    MIS_RC("sedx_memory_allocate_for_image", "NULL out", SEDX_ERROR_INVALID_ARGUMENT, "out is NULL",
           sedx_memory_allocate_for_image(ctx, vi, VK_IMAGE_TILING_OPTIMAL, NULL, NULL));

    /* exhausted: NEVER_ALLOCATE on a context that has no block with room */
    sedx_memory_release_empty_blocks(ctx);
    ai.flags = SEDX_ALLOCATION_NEVER_ALLOCATE;
    q = reqs(64u << 20, 256, UINT32_MAX);
    ALLOC_BAD("sedx_memory_allocate", "NEVER_ALLOCATE and no block has room", SEDX_ERROR_OUT_OF_DEVICE_MEMORY, "failed",
              ctx, sedx_memory_allocate(ctx, &ai, &q, &out));
    ai.flags = 0;

    vkDestroyBuffer(sedx_context_device(ctx), vb, NULL);
    vkDestroyImage(sedx_context_device(ctx), vi, NULL);
    mis_roundtrip(ctx, "memory allocate");
    mis_context_destroy(ctx);
    mis_end("memory.h (allocate)");
}

static void test_allocations(void **state)
{
    (void)state;
    mis_begin();
    sedx_context *ctx = mis_context(0, NULL);
    sedx_context *other = mis_context(0, NULL);
    sedx_allocation_info ai = {0};
    ai.usage = SEDX_MEMORY_USAGE_UPLOAD;
    ai.name = "misuse live";
    VkMemoryRequirements q = reqs(4096, 256, UINT32_MAX);
    sedx_allocation live, dead, foreign, zeroed = {0}, garbage;
    memset(&garbage, 0xAB, sizeof garbage);
    assert_int_equal(sedx_memory_allocate(ctx, &ai, &q, &live), SEDX_SUCCESS);
    assert_int_equal(sedx_memory_allocate(ctx, &ai, &q, &dead), SEDX_SUCCESS);
    assert_int_equal(sedx_memory_free(ctx, dead), SEDX_SUCCESS);
    assert_int_equal(sedx_memory_allocate(other, &ai, &q, &foreign), SEDX_SUCCESS);
    void *p = NULL;
    assert_int_equal(sedx_memory_map(ctx, live, &p), SEDX_SUCCESS);
    uint8_t ref[4096];
    tu_fill_random(ref, sizeof ref, &g_mis.rng);
    memcpy(p, ref, sizeof ref);
    assert_int_equal(sedx_memory_unmap(ctx, live), SEDX_SUCCESS);
    sedx_memory_stats st0, st1;
    assert_int_equal(sedx_memory_get_stats(ctx, &st0), SEDX_SUCCESS);

    /* free */
    MIS_RC("sedx_memory_free", "{0}: no-op", SEDX_SUCCESS, LOG_NONE, sedx_memory_free(ctx, zeroed));
    MIS_RC("sedx_memory_free", "{0} with NULL ctx: no-op", SEDX_SUCCESS, LOG_NONE, sedx_memory_free(NULL, zeroed));
    MIS_RC("sedx_memory_free", "NULL ctx", SEDX_ERROR_INVALID_ARGUMENT, "ctx is NULL", sedx_memory_free(NULL, live));
    MIS_RC("sedx_memory_free", "freed allocation (double free)", SEDX_ERROR_DOUBLE_FREE, "double free",
           sedx_memory_free(ctx, dead));
    MIS_RC("sedx_memory_free", "garbage handle (0xAB..)", SEDX_ERROR_INVALID_HANDLE, "invalid",
           sedx_memory_free(ctx, garbage));
    MIS_RC("sedx_memory_free", "another context's allocation", SEDX_ERROR_INVALID_HANDLE, "invalid",
           sedx_memory_free(ctx, foreign));
    sedx_allocation malformed = {live.id ^ (UINT64_C(1) << 40)};
    MIS_RC("sedx_memory_free", "handle with a flipped bit", SEDX_ERROR_INVALID_HANDLE, "invalid",
           sedx_memory_free(ctx, malformed));
    MIS_RC("sedx_memory_destroy_buffer", "VK_NULL_HANDLE and {0}: no-op", SEDX_SUCCESS, LOG_NONE,
           sedx_memory_destroy_buffer(ctx, VK_NULL_HANDLE, zeroed));
    MIS_RC("sedx_memory_destroy_buffer", "NULL ctx", SEDX_ERROR_INVALID_ARGUMENT, "ctx is NULL",
           sedx_memory_destroy_buffer(NULL, VK_NULL_HANDLE, live));
    MIS_RC("sedx_memory_destroy_buffer", "freed allocation", SEDX_ERROR_DOUBLE_FREE, "double free",
           sedx_memory_destroy_buffer(ctx, VK_NULL_HANDLE, dead));
    MIS_RC("sedx_memory_destroy_image", "VK_NULL_HANDLE and {0}: no-op", SEDX_SUCCESS, LOG_NONE,
           sedx_memory_destroy_image(ctx, VK_NULL_HANDLE, zeroed));
    MIS_RC("sedx_memory_destroy_image", "NULL ctx", SEDX_ERROR_INVALID_ARGUMENT, "ctx is NULL",
           sedx_memory_destroy_image(NULL, VK_NULL_HANDLE, live));
    MIS_RC("sedx_memory_destroy_image", "garbage allocation", SEDX_ERROR_INVALID_HANDLE, "invalid",
           sedx_memory_destroy_image(ctx, VK_NULL_HANDLE, garbage));

    /* bind */
    VkBufferCreateInfo bci = {VK_STRUCTURE_TYPE_BUFFER_CREATE_INFO};
    bci.size = 1024;
    bci.usage = VK_BUFFER_USAGE_TRANSFER_DST_BIT;
    VkBuffer vb = VK_NULL_HANDLE;
    assert_int_equal(vkCreateBuffer(sedx_context_device(ctx), &bci, NULL, &vb), VK_SUCCESS);
    MIS_RC("sedx_memory_bind_buffer", "NULL ctx", SEDX_ERROR_INVALID_ARGUMENT, "ctx is NULL",
           sedx_memory_bind_buffer(NULL, live, vb));
    MIS_RC("sedx_memory_bind_buffer", "VK_NULL_HANDLE buffer", SEDX_ERROR_INVALID_ARGUMENT, "buffer is NULL",
           sedx_memory_bind_buffer(ctx, live, VK_NULL_HANDLE));
    MIS_RC("sedx_memory_bind_buffer", "{0} allocation", SEDX_ERROR_INVALID_HANDLE, "invalid",
           sedx_memory_bind_buffer(ctx, zeroed, vb));
    MIS_RC("sedx_memory_bind_buffer", "freed allocation", SEDX_ERROR_INVALID_HANDLE, "invalid",
           sedx_memory_bind_buffer(ctx, dead, vb));
    MIS_RC("sedx_memory_bind_buffer", "garbage allocation", SEDX_ERROR_INVALID_HANDLE, "invalid",
           sedx_memory_bind_buffer(ctx, garbage, vb));
    MIS_RC("sedx_memory_bind_buffer", "another context's allocation", SEDX_ERROR_INVALID_HANDLE, "invalid",
           sedx_memory_bind_buffer(ctx, foreign, vb));
    MIS_RC("sedx_memory_bind_image", "NULL ctx", SEDX_ERROR_INVALID_ARGUMENT, "ctx is NULL",
           sedx_memory_bind_image(NULL, live, (VkImage)(uintptr_t)1));
    MIS_RC("sedx_memory_bind_image", "VK_NULL_HANDLE image", SEDX_ERROR_INVALID_ARGUMENT, "image is NULL",
           sedx_memory_bind_image(ctx, live, VK_NULL_HANDLE));
    MIS_RC("sedx_memory_bind_image", "freed allocation", SEDX_ERROR_INVALID_HANDLE, "invalid",
           sedx_memory_bind_image(ctx, dead, (VkImage)(uintptr_t)1));
    MIS_RC("sedx_memory_bind_image", "garbage allocation", SEDX_ERROR_INVALID_HANDLE, "invalid",
           sedx_memory_bind_image(ctx, garbage, (VkImage)(uintptr_t)1));
    vkDestroyBuffer(sedx_context_device(ctx), vb, NULL);

    /* details, names, user data */
    sedx_allocation_details det;
    memset(&det, 0x5E, sizeof det);
    MIS_RC("sedx_memory_get_details", "NULL ctx", SEDX_ERROR_INVALID_ARGUMENT, "ctx is NULL",
           sedx_memory_get_details(NULL, live, &det));
    MIS_RC("sedx_memory_get_details", "NULL out", SEDX_ERROR_INVALID_ARGUMENT, "out is NULL",
           sedx_memory_get_details(ctx, live, NULL));
    MIS_RC("sedx_memory_get_details", "{0} allocation", SEDX_ERROR_INVALID_HANDLE, "invalid",
           sedx_memory_get_details(ctx, zeroed, &det));
    MIS_RC("sedx_memory_get_details", "freed allocation", SEDX_ERROR_INVALID_HANDLE, "invalid",
           sedx_memory_get_details(ctx, dead, &det));
    MIS_RC("sedx_memory_get_details", "garbage allocation", SEDX_ERROR_INVALID_HANDLE, "invalid",
           sedx_memory_get_details(ctx, garbage, &det));
    MIS_RC("sedx_memory_get_details", "another context's allocation", SEDX_ERROR_INVALID_HANDLE, "invalid",
           sedx_memory_get_details(ctx, foreign, &det));
    MIS_TRUE("sedx_memory_get_details", "every refused call", "*out not written", mis_all(&det, 0x5E, sizeof det));
    MIS_RC("sedx_memory_set_name", "NULL ctx", SEDX_ERROR_INVALID_ARGUMENT, "ctx is NULL",
           sedx_memory_set_name(NULL, live, "x"));
    MIS_RC("sedx_memory_set_name", "freed allocation", SEDX_ERROR_INVALID_HANDLE, "invalid",
           sedx_memory_set_name(ctx, dead, "x"));
    MIS_RC("sedx_memory_set_name", "garbage allocation", SEDX_ERROR_INVALID_HANDLE, "invalid",
           sedx_memory_set_name(ctx, garbage, "x"));
    MIS_RC("sedx_memory_set_name", "another context's allocation", SEDX_ERROR_INVALID_HANDLE, "invalid",
           sedx_memory_set_name(ctx, foreign, "x"));
    MIS_RC("sedx_memory_set_user_data", "NULL ctx", SEDX_ERROR_INVALID_ARGUMENT, "ctx is NULL",
           sedx_memory_set_user_data(NULL, live, NULL));
    MIS_RC("sedx_memory_set_user_data", "freed allocation", SEDX_ERROR_INVALID_HANDLE, "invalid",
           sedx_memory_set_user_data(ctx, dead, NULL));
    MIS_RC("sedx_memory_set_user_data", "garbage allocation", SEDX_ERROR_INVALID_HANDLE, "invalid",
           sedx_memory_set_user_data(ctx, garbage, NULL));
    assert_int_equal(sedx_memory_get_details(ctx, live, &det), SEDX_SUCCESS);
    MIS_TRUE("sedx_memory_set_name", "every refused call", "the live allocation keeps its name",
             strcmp(det.name, "misuse live") == 0);

    /* mapping */
    void *mp = MIS_SENTINEL_PTR;
    MIS_RC("sedx_memory_map", "NULL ctx", SEDX_ERROR_INVALID_ARGUMENT, "ctx is NULL", sedx_memory_map(NULL, live, &mp));
    MIS_RC("sedx_memory_map", "NULL out_ptr", SEDX_ERROR_INVALID_ARGUMENT, "out_ptr is NULL",
           sedx_memory_map(ctx, live, NULL));
    MIS_RC("sedx_memory_map", "freed allocation", SEDX_ERROR_INVALID_HANDLE, "invalid", sedx_memory_map(ctx, dead, &mp));
    MIS_RC("sedx_memory_map", "garbage allocation", SEDX_ERROR_INVALID_HANDLE, "invalid",
           sedx_memory_map(ctx, garbage, &mp));
    MIS_RC("sedx_memory_map", "another context's allocation", SEDX_ERROR_INVALID_HANDLE, "invalid",
           sedx_memory_map(ctx, foreign, &mp));
    MIS_TRUE("sedx_memory_map", "every refused map", "*out_ptr not written", mp == MIS_SENTINEL_PTR);
    /* device-only memory, where the device has a type without HOST_VISIBLE */
    const VkPhysicalDeviceMemoryProperties *mprops = sedx_context_memory_properties(ctx);
    uint32_t device_only = 0;
    for (uint32_t t = 0; t < mprops->memoryTypeCount; ++t)
        if (!(mprops->memoryTypes[t].propertyFlags & VK_MEMORY_PROPERTY_HOST_VISIBLE_BIT)) device_only |= 1u << t;
    if (device_only) {
        sedx_allocation gpu;
        sedx_allocation_info gi = {0};
        gi.memory_type_bits = device_only;
        gi.name = "misuse device-only";
        assert_int_equal(sedx_memory_allocate(ctx, &gi, &q, &gpu), SEDX_SUCCESS);
        MIS_RC("sedx_memory_map", "device-only memory", SEDX_ERROR_NOT_HOST_VISIBLE, "misuse device-only",
               sedx_memory_map(ctx, gpu, &mp));
        MIS_TRUE("sedx_memory_map", "device-only memory", "*out_ptr not written", mp == MIS_SENTINEL_PTR);
        MIS_RC("sedx_memory_flush", "device-only memory", SEDX_ERROR_NOT_HOST_VISIBLE, "misuse device-only",
               sedx_memory_flush(ctx, gpu, 0, VK_WHOLE_SIZE));
        sedx_memory_free(ctx, gpu);
    } else {
        MIS_SKIP("sedx_memory_map", "device-only memory", "every memory type of this device is HOST_VISIBLE");
    }
    MIS_RC("sedx_memory_unmap", "not mapped (map count 0)", SEDX_ERROR_NOT_MAPPED, "without a matching map",
           sedx_memory_unmap(ctx, live));
    MIS_RC("sedx_memory_unmap", "NULL ctx", SEDX_ERROR_INVALID_ARGUMENT, "ctx is NULL", sedx_memory_unmap(NULL, live));
    MIS_RC("sedx_memory_unmap", "freed allocation", SEDX_ERROR_INVALID_HANDLE, "invalid", sedx_memory_unmap(ctx, dead));
    MIS_RC("sedx_memory_unmap", "garbage allocation", SEDX_ERROR_INVALID_HANDLE, "invalid",
           sedx_memory_unmap(ctx, garbage));

    /* flush / invalidate */
    MIS_RC("sedx_memory_flush", "NULL ctx", SEDX_ERROR_INVALID_ARGUMENT, "ctx is NULL",
           sedx_memory_flush(NULL, live, 0, 16));
    MIS_RC("sedx_memory_flush", "offset past the end", SEDX_ERROR_OUT_OF_BOUNDS, "misuse live",
           sedx_memory_flush(ctx, live, 4097, 1));
    MIS_RC("sedx_memory_flush", "offset + size past the end", SEDX_ERROR_OUT_OF_BOUNDS, "misuse live",
           sedx_memory_flush(ctx, live, 4000, 200));
    MIS_RC("sedx_memory_flush", "offset + size wraps (size UINT64_MAX - 8)", SEDX_ERROR_OUT_OF_BOUNDS, "misuse live",
           sedx_memory_flush(ctx, live, 16, UINT64_MAX - 8));
    MIS_RC("sedx_memory_flush", "offset UINT64_MAX with VK_WHOLE_SIZE", SEDX_ERROR_OUT_OF_BOUNDS, "misuse live",
           sedx_memory_flush(ctx, live, UINT64_MAX, VK_WHOLE_SIZE));
    MIS_RC("sedx_memory_flush", "freed allocation", SEDX_ERROR_INVALID_HANDLE, "invalid",
           sedx_memory_flush(ctx, dead, 0, 16));
    MIS_RC("sedx_memory_invalidate", "NULL ctx", SEDX_ERROR_INVALID_ARGUMENT, "ctx is NULL",
           sedx_memory_invalidate(NULL, live, 0, 16));
    MIS_RC("sedx_memory_invalidate", "offset past the end", SEDX_ERROR_OUT_OF_BOUNDS, "misuse live",
           sedx_memory_invalidate(ctx, live, 8192, 16));
    MIS_RC("sedx_memory_invalidate", "offset + size wraps (size UINT64_MAX - 1)", SEDX_ERROR_OUT_OF_BOUNDS, "misuse live",
           sedx_memory_invalidate(ctx, live, 4095, UINT64_MAX - 1));
    MIS_RC("sedx_memory_invalidate", "garbage allocation", SEDX_ERROR_INVALID_HANDLE, "invalid",
           sedx_memory_invalidate(ctx, garbage, 0, 16));

    assert_int_equal(sedx_memory_get_stats(ctx, &st1), SEDX_SUCCESS);
    MIS_TRUE("sedx_memory_*", "every refused call", "allocation count and bytes unchanged",
             st0.total.allocation_count == st1.total.allocation_count &&
                 st0.total.allocation_bytes == st1.total.allocation_bytes);
    assert_int_equal(sedx_memory_map(ctx, live, &p), SEDX_SUCCESS);
    MIS_TRUE("sedx_memory_*", "every refused call", "the live allocation's bytes are intact",
             memcmp(p, ref, sizeof ref) == 0);
    assert_int_equal(sedx_memory_unmap(ctx, live), SEDX_SUCCESS);
    MIS_TRUE("sedx_memory_free", "another context's allocation", "still live in its own context",
             sedx_memory_get_details(other, foreign, &det) == SEDX_SUCCESS);
    sedx_memory_free(ctx, live);
    sedx_memory_free(other, foreign);
    mis_roundtrip(ctx, "memory allocations");
    mis_roundtrip(other, "memory allocations (other context)");
    mis_context_destroy(other);
    mis_context_destroy(ctx);
    mis_end("memory.h (allocations)");
}

static void test_create_helpers(void **state)
{
    (void)state;
    mis_begin();
    sedx_context *ctx = mis_context(0, NULL);
    VkBuffer vb = (VkBuffer)MIS_SENTINEL_PTR;
    VkImage vi = (VkImage)MIS_SENTINEL_PTR;
    sedx_allocation a = {MIS_SENTINEL_U64};
    sedx_memory_stats st0, st1;
    assert_int_equal(sedx_memory_get_stats(ctx, &st0), SEDX_SUCCESS);
    VkBufferCreateInfo bci = {VK_STRUCTURE_TYPE_BUFFER_CREATE_INFO};
    bci.size = 4096;
    bci.usage = VK_BUFFER_USAGE_TRANSFER_DST_BIT;
    sedx_allocation_info ai = {0};
#define OUTS_UNTOUCHED(img) ((img ? vi == (VkImage)MIS_SENTINEL_PTR : vb == (VkBuffer)MIS_SENTINEL_PTR) && \
                             a.id == MIS_SENTINEL_U64)
    MIS_RC("sedx_memory_create_buffer", "NULL ctx", SEDX_ERROR_INVALID_ARGUMENT, "ctx is NULL",
           sedx_memory_create_buffer(NULL, &bci, &ai, &vb, &a));
    MIS_RC("sedx_memory_create_buffer", "NULL buffer_info", SEDX_ERROR_INVALID_ARGUMENT, "NULL argument",
           sedx_memory_create_buffer(ctx, NULL, &ai, &vb, &a));
    MIS_RC("sedx_memory_create_buffer", "NULL out_buffer", SEDX_ERROR_INVALID_ARGUMENT, "NULL argument",
           sedx_memory_create_buffer(ctx, &bci, &ai, NULL, &a));
    MIS_RC("sedx_memory_create_buffer", "NULL out_alloc", SEDX_ERROR_INVALID_ARGUMENT, "NULL argument",
           sedx_memory_create_buffer(ctx, &bci, &ai, &vb, NULL));
    bci.size = 0;
    MIS_RC("sedx_memory_create_buffer", "size 0 (before vkCreateBuffer)", SEDX_ERROR_INVALID_SIZE, "size 0",
           sedx_memory_create_buffer(ctx, &bci, &ai, &vb, &a));
    VkBufferCreateInfo zeroed_bci = {0};
    MIS_RC("sedx_memory_create_buffer", "zeroed VkBufferCreateInfo", SEDX_ERROR_INVALID_SIZE, "size 0",
           sedx_memory_create_buffer(ctx, &zeroed_bci, &ai, &vb, &a));
    bci.size = 4096;
    bci.usage = 0;
    MIS_RC("sedx_memory_create_buffer", "usage 0", SEDX_ERROR_INVALID_USAGE, "usage 0",
           sedx_memory_create_buffer(ctx, &bci, &ai, &vb, &a));
    bci.usage = VK_BUFFER_USAGE_TRANSFER_DST_BIT;
    ai.usage = (sedx_memory_usage)99;
    MIS_RC("sedx_memory_create_buffer", "info.usage outside the enum", SEDX_ERROR_INVALID_ARGUMENT, "usage",
           sedx_memory_create_buffer(ctx, &bci, &ai, &vb, &a));
    ai.usage = SEDX_MEMORY_USAGE_AUTO;
    ai.flags = 0x80000000u;
    MIS_RC("sedx_memory_create_buffer", "info unknown flag bits", SEDX_ERROR_INVALID_ARGUMENT, "flag",
           sedx_memory_create_buffer(ctx, &bci, &ai, &vb, &a));
    ai.flags = 0;
    ai.kind = (sedx_allocation_kind)42;
    MIS_RC("sedx_memory_create_buffer", "info.kind outside the enum", SEDX_ERROR_INVALID_ARGUMENT, "kind",
           sedx_memory_create_buffer(ctx, &bci, &ai, &vb, &a));
    ai.kind = SEDX_ALLOCATION_KIND_UNKNOWN;
    MIS_TRUE("sedx_memory_create_buffer", "every refused call", "*out_buffer and *out_alloc not written",
             OUTS_UNTOUCHED(false));

    VkImageCreateInfo ici = {VK_STRUCTURE_TYPE_IMAGE_CREATE_INFO};
    ici.imageType = VK_IMAGE_TYPE_2D;
    ici.format = VK_FORMAT_R8G8B8A8_UNORM;
    ici.extent = (VkExtent3D){16, 16, 1};
    ici.mipLevels = 1;
    ici.arrayLayers = 1;
    ici.samples = VK_SAMPLE_COUNT_1_BIT;
    ici.tiling = VK_IMAGE_TILING_OPTIMAL;
    ici.usage = VK_IMAGE_USAGE_TRANSFER_DST_BIT;
    MIS_RC("sedx_memory_create_image", "NULL ctx", SEDX_ERROR_INVALID_ARGUMENT, "ctx is NULL",
           sedx_memory_create_image(NULL, &ici, &ai, &vi, &a));
    MIS_RC("sedx_memory_create_image", "NULL image_info", SEDX_ERROR_INVALID_ARGUMENT, "NULL argument",
           sedx_memory_create_image(ctx, NULL, &ai, &vi, &a));
    MIS_RC("sedx_memory_create_image", "NULL out_image", SEDX_ERROR_INVALID_ARGUMENT, "NULL argument",
           sedx_memory_create_image(ctx, &ici, &ai, NULL, &a));
    MIS_RC("sedx_memory_create_image", "NULL out_alloc", SEDX_ERROR_INVALID_ARGUMENT, "NULL argument",
           sedx_memory_create_image(ctx, &ici, &ai, &vi, NULL));
    ici.extent.width = 0;
    MIS_RC("sedx_memory_create_image", "extent width 0", SEDX_ERROR_INVALID_SIZE, "size 0",
           sedx_memory_create_image(ctx, &ici, &ai, &vi, &a));
    ici.extent.width = 16;
    ici.extent.depth = 0;
    MIS_RC("sedx_memory_create_image", "extent depth 0", SEDX_ERROR_INVALID_SIZE, "size 0",
           sedx_memory_create_image(ctx, &ici, &ai, &vi, &a));
    ici.extent.depth = 1;
    ici.mipLevels = 0;
    MIS_RC("sedx_memory_create_image", "mipLevels 0", SEDX_ERROR_INVALID_SIZE, "size 0",
           sedx_memory_create_image(ctx, &ici, &ai, &vi, &a));
    ici.mipLevels = 1;
    ici.arrayLayers = 0;
    MIS_RC("sedx_memory_create_image", "arrayLayers 0", SEDX_ERROR_INVALID_SIZE, "size 0",
           sedx_memory_create_image(ctx, &ici, &ai, &vi, &a));
    ici.arrayLayers = 1;
    ici.usage = 0;
    MIS_RC("sedx_memory_create_image", "usage 0", SEDX_ERROR_INVALID_USAGE, "usage 0",
           sedx_memory_create_image(ctx, &ici, &ai, &vi, &a));
    ici.usage = VK_IMAGE_USAGE_TRANSFER_DST_BIT;
    VkImageCreateInfo zeroed_ici = {0};
    MIS_RC("sedx_memory_create_image", "zeroed VkImageCreateInfo", SEDX_ERROR_INVALID_SIZE, "size 0",
           sedx_memory_create_image(ctx, &zeroed_ici, &ai, &vi, &a));
    ai.usage = (sedx_memory_usage)99;
    MIS_RC("sedx_memory_create_image", "info.usage outside the enum", SEDX_ERROR_INVALID_ARGUMENT, "usage",
           sedx_memory_create_image(ctx, &ici, &ai, &vi, &a));
    ai.usage = SEDX_MEMORY_USAGE_AUTO;
    MIS_TRUE("sedx_memory_create_image", "every refused call", "*out_image and *out_alloc not written",
             OUTS_UNTOUCHED(true));
#undef OUTS_UNTOUCHED
    assert_int_equal(sedx_memory_get_stats(ctx, &st1), SEDX_SUCCESS);
    MIS_TRUE("sedx_memory_create_*", "every refused call", "nothing left behind (no allocation, no VkDeviceMemory)",
             st0.total.allocation_count == st1.total.allocation_count &&
                 st0.device_memory_count == st1.device_memory_count);

    /* still works */
    MIS_RC("sedx_memory_create_image", "(valid, after the misuse)", SEDX_SUCCESS, LOG_NONE,
           sedx_memory_create_image(ctx, &ici, &ai, &vi, &a));
    MIS_RC("sedx_memory_destroy_image", "(valid, after the misuse)", SEDX_SUCCESS, LOG_NONE,
           sedx_memory_destroy_image(ctx, vi, a));
    mis_roundtrip(ctx, "memory create helpers");
    mis_context_destroy(ctx);
    mis_end("memory.h (create helpers)");
}

static void test_queries(void **state)
{
    (void)state;
    mis_begin();
    sedx_context *ctx = mis_context(0, NULL);
    uint32_t t = 0x5E17u;
    sedx_allocation_info ai = {0};
    MIS_RC("sedx_memory_find_type", "NULL ctx", SEDX_ERROR_INVALID_ARGUMENT, "ctx is NULL",
           sedx_memory_find_type(NULL, &ai, UINT32_MAX, &t));
    MIS_RC("sedx_memory_find_type", "NULL out_type", SEDX_ERROR_INVALID_ARGUMENT, "out_type is NULL",
           sedx_memory_find_type(ctx, &ai, UINT32_MAX, NULL));
    MIS_RC("sedx_memory_find_type", "memory_type_bits 0", SEDX_ERROR_NO_MEMORY_TYPE, "no memory type",
           sedx_memory_find_type(ctx, &ai, 0, &t));
    ai.required_flags = VK_MEMORY_PROPERTY_PROTECTED_BIT;
    /* a probe for a type, not a programming error: the result says it all */
    MIS_RC("sedx_memory_find_type", "required_flags no type has", SEDX_ERROR_NO_MEMORY_TYPE, LOG_ANY,
           sedx_memory_find_type(ctx, &ai, UINT32_MAX, &t));
    ai.required_flags = 0;
    ai.usage = (sedx_memory_usage)99;
    MIS_RC("sedx_memory_find_type", "usage outside the enum", SEDX_ERROR_INVALID_ARGUMENT, "usage",
           sedx_memory_find_type(ctx, &ai, UINT32_MAX, &t));
    ai.usage = SEDX_MEMORY_USAGE_AUTO;
    ai.flags = 0x80000000u;
    MIS_RC("sedx_memory_find_type", "unknown flag bits", SEDX_ERROR_INVALID_ARGUMENT, "flag",
           sedx_memory_find_type(ctx, &ai, UINT32_MAX, &t));
    ai.flags = 0;
    ai.kind = (sedx_allocation_kind)7;
    MIS_RC("sedx_memory_find_type", "kind outside the enum", SEDX_ERROR_INVALID_ARGUMENT, "kind",
           sedx_memory_find_type(ctx, &ai, UINT32_MAX, &t));
    ai.kind = SEDX_ALLOCATION_KIND_UNKNOWN;
    MIS_TRUE("sedx_memory_find_type", "every refused call", "*out_type not written", t == 0x5E17u);

    sedx_memory_stats stats;
    MIS_RC("sedx_memory_get_stats", "NULL ctx", SEDX_ERROR_INVALID_ARGUMENT, "ctx is NULL",
           sedx_memory_get_stats(NULL, &stats));
    MIS_RC("sedx_memory_get_stats", "NULL out", SEDX_ERROR_INVALID_ARGUMENT, "out is NULL", sedx_memory_get_stats(ctx, NULL));
    sedx_memory_budget budget[VK_MAX_MEMORY_HEAPS];
    uint32_t n = 0x5E17u;
    MIS_RC("sedx_memory_get_budget", "NULL ctx", SEDX_ERROR_INVALID_ARGUMENT, "ctx is NULL",
           sedx_memory_get_budget(NULL, budget, &n));
    MIS_RC("sedx_memory_get_budget", "NULL out", SEDX_ERROR_INVALID_ARGUMENT, "out is NULL",
           sedx_memory_get_budget(ctx, NULL, &n));
    MIS_TRUE("sedx_memory_get_budget", "every refused call", "*out_count not written", n == 0x5E17u);
    char *json = MIS_SENTINEL_PTR;
    MIS_RC("sedx_memory_dump_json", "NULL ctx", SEDX_ERROR_INVALID_ARGUMENT, "ctx is NULL",
           sedx_memory_dump_json(NULL, &json));
    MIS_RC("sedx_memory_dump_json", "NULL out_json", SEDX_ERROR_INVALID_ARGUMENT, "out_json is NULL",
           sedx_memory_dump_json(ctx, NULL));
    MIS_TRUE("sedx_memory_dump_json", "every refused call", "*out_json not written", json == MIS_SENTINEL_PTR);
    MIS_VOID("sedx_memory_free_string", "NULL", LOG_NONE, sedx_memory_free_string(NULL));
    MIS_RC("sedx_memory_check_corruption", "NULL ctx", SEDX_ERROR_INVALID_ARGUMENT, "ctx is NULL",
           sedx_memory_check_corruption(NULL, UINT32_MAX));
    MIS_RC("sedx_memory_check_corruption", "debug margins off", SEDX_ERROR_FEATURE_NOT_PRESENT, LOG_ANY,
           sedx_memory_check_corruption(ctx, UINT32_MAX));
    MIS_VAL("sedx_memory_release_empty_blocks", "NULL ctx", 0, LOG_ANY, sedx_memory_release_empty_blocks(NULL));
    sedx_allocator_info info;
    memset(&info, 0x5E, sizeof info);
    MIS_RC("sedx_memory_get_allocator_info", "NULL ctx", SEDX_ERROR_INVALID_ARGUMENT, "ctx is NULL",
           sedx_memory_get_allocator_info(NULL, &info));
    MIS_RC("sedx_memory_get_allocator_info", "NULL out", SEDX_ERROR_INVALID_ARGUMENT, "out is NULL",
           sedx_memory_get_allocator_info(ctx, NULL));
    MIS_TRUE("sedx_memory_get_allocator_info", "every refused call", "*out not written", mis_all(&info, 0x5E, sizeof info));
    MIS_STR("sedx_memory_usage_name", "value outside the enum", "?", LOG_NONE, sedx_memory_usage_name((sedx_memory_usage)99));
    MIS_STR("sedx_allocation_kind_name", "value outside the enum", "?", LOG_NONE, sedx_allocation_kind_name((sedx_allocation_kind)99));
    mis_roundtrip(ctx, "memory queries");
    mis_context_destroy(ctx);
    mis_end("memory.h (queries)");
}

/* Exhausted budget: heap_size_limit makes the budget 80 % of 64 MiB. */
static void test_budget(void **state)
{
    (void)state;
    mis_begin();
    uint64_t limits[VK_MAX_MEMORY_HEAPS];
    for (uint32_t i = 0; i < VK_MAX_MEMORY_HEAPS; ++i) limits[i] = 64u << 20;
    sedx_allocator_info opt = {0};
    opt.heap_size_limit = limits;
    sedx_context *ctx = mis_context(0, &opt);
    sedx_allocation_info ai = {0};
    ai.usage = SEDX_MEMORY_USAGE_GPU_ONLY;
    enum { MAXN = 64 };
    sedx_allocation a[MAXN];
    int n = 0;
    sedx_result r = SEDX_SUCCESS;
    VkMemoryRequirements q = reqs(4u << 20, 256, UINT32_MAX);
    while (n < MAXN && (r = sedx_memory_allocate(ctx, &ai, &q, &a[n])) == SEDX_SUCCESS) ++n;
    sedx_allocation out = {MIS_SENTINEL_U64};
    MIS_RC("sedx_memory_allocate", "budget exhausted", SEDX_ERROR_OVER_BUDGET, "OVER_BUDGET",
           sedx_memory_allocate(ctx, &ai, &q, &out));
    MIS_TRUE("sedx_memory_allocate", "budget exhausted", "*out not written, earlier allocations live",
             out.id == MIS_SENTINEL_U64 && n > 4);
    q = reqs(128u << 20, 256, UINT32_MAX);
    ai.flags = SEDX_ALLOCATION_ALLOW_OVER_BUDGET;
    MIS_RC("sedx_memory_allocate", "past heap_size_limit (ALLOW_OVER_BUDGET)", SEDX_ERROR_OUT_OF_DEVICE_MEMORY,
           "OUT_OF_DEVICE_MEMORY", sedx_memory_allocate(ctx, &ai, &q, &out));
    MIS_TRUE("sedx_memory_allocate", "past heap_size_limit", "*out not written", out.id == MIS_SENTINEL_U64);
    for (int i = 0; i < n; ++i) sedx_memory_free(ctx, a[i]);
    sedx_memory_release_empty_blocks(ctx);
    mis_roundtrip(ctx, "budget exhausted, then freed");
    mis_context_destroy(ctx);
    mis_end("memory.h (budget)");
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_allocate),
        cmocka_unit_test(test_allocations),
        cmocka_unit_test(test_create_helpers),
        cmocka_unit_test(test_queries),
        cmocka_unit_test(test_budget),
    };
    return mis_main(tests, sizeof tests / sizeof tests[0]);
}
