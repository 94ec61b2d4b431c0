/* Review 12: buffer creation and access edges.
 *  - size rounding: every combination of STORAGE / UNIFORM / texel usages (with VERTEX and
 *    INDIRECT mixed in), GPU and CPU memory, sizes around the alignment: the allocation size in
 *    the live list is exactly the size rounded up to the largest of the limits this test
 *    queries itself, buffer.size and the descriptor range stay as asked;
 *  - sedx_buffer_flush / _invalidate with VK_WHOLE_SIZE and an offset past buffer.size but
 *    inside the rounded allocation: SEDX_ERROR_OUT_OF_BOUNDS, logged (was SEDX_SUCCESS);
 *  - sizes past the device's maxBufferSize (maintenance4, queried here): SEDX_ERROR_INVALID_SIZE,
 *    logged, before vkCreateBuffer (VUID-VkBufferCreateInfo-size-06409); also a size under the
 *    limit that the storage rounding pushes over it.
 * The context keeps working after every refusal; validation reports nothing. */
#include "test_util.h"

#include <string.h>

static uint64_t align_up(uint64_t v, uint64_t a) { return (v + a - 1) / a * a; }

typedef struct { uint32_t id; uint64_t alloc; int found; } finder;
static void find_fn(const sedx_buffer_info *bi, void *user)
{
    finder *f = user;
    if (bi->id == f->id) {
        f->alloc = bi->allocation_size;
        f->found++;
    }
}
static uint64_t alloc_size_of(sedx_context *ctx, const sedx_buffer *b)
{
    finder f = {sedx_buffer_id(b), 0, 0};
    sedx_buffer_list(ctx, find_fn, &f);
    assert_int_equal(f.found, 1);
    return f.alloc;
}

/* the context still creates, writes and reads a CPU buffer */
static void still_works(sedx_context *ctx)
{
    sedx_buffer b;
    assert_int_equal(sedx_buffer_create(ctx, 64, SEDX_BUFFER_USAGE_VERTEX, SEDX_MEMORY_CPU, "after", &b), SEDX_SUCCESS);
    uint8_t src[64], dst[64];
    for (int i = 0; i < 64; ++i) src[i] = (uint8_t)(i * 7 + 3);
    assert_int_equal(sedx_buffer_write(&b, src, 64, 0), SEDX_SUCCESS);
    memset(dst, 0, sizeof dst);
    assert_int_equal(sedx_buffer_read(&b, dst, 64, 0), SEDX_SUCCESS);
    assert_memory_equal(src, dst, 64);
    sedx_buffer_release(&b);
}

static void test_rounding_every_combination(void **state)
{
    (void)state;
    sedx_context *ctx = tu_context(false);
    const VkPhysicalDeviceLimits *lim = &sedx_context_properties(ctx)->limits;
    static const sedx_buffer_usage_flags bits[] = {SEDX_BUFFER_USAGE_STORAGE, SEDX_BUFFER_USAGE_UNIFORM,
                                                   SEDX_BUFFER_USAGE_UNIFORM_TEXEL, SEDX_BUFFER_USAGE_STORAGE_TEXEL,
                                                   SEDX_BUFFER_USAGE_VERTEX, SEDX_BUFFER_USAGE_INDIRECT};
    uint32_t checked = 0;
    for (uint32_t combo = 1; combo < 64; ++combo) {
        sedx_buffer_usage_flags usage = 0;
        uint64_t a = 1;
        for (int i = 0; i < 6; ++i) {
            if (!(combo & (1u << i))) continue;
            usage |= bits[i];
            if (i == 0) a = a > lim->minStorageBufferOffsetAlignment ? a : lim->minStorageBufferOffsetAlignment;
            if (i == 1) a = a > lim->minUniformBufferOffsetAlignment ? a : lim->minUniformBufferOffsetAlignment;
            if (i == 2 || i == 3) a = a > lim->minTexelBufferOffsetAlignment ? a : lim->minTexelBufferOffsetAlignment;
        }
        const uint64_t sizes[] = {1, a > 1 ? a - 1 : 2, a, a + 1, 3 * a + 5};
        for (int m = 0; m < 2; ++m) {
            sedx_memory_flags mem = m ? SEDX_MEMORY_CPU : SEDX_MEMORY_GPU;
            for (size_t s = 0; s < sizeof sizes / sizeof sizes[0]; ++s) {
                sedx_buffer b;
                assert_int_equal(sedx_buffer_create(ctx, sizes[s], usage, mem, "round", &b), SEDX_SUCCESS);
                assert_int_equal(b.size, sizes[s]);
                assert_int_equal(sedx_buffer_get_size(&b), sizes[s]);
                assert_int_equal(sedx_buffer_descriptor(&b).range, sizes[s]);
                assert_int_equal(b.usage & usage, usage);
                assert_int_equal(alloc_size_of(ctx, &b), align_up(sizes[s], a));
                assert_int_equal(b.data != NULL, m == 1);
                sedx_buffer_release(&b);
                ++checked;
            }
        }
    }
    assert_int_equal(checked, 63 * 2 * 5);
    tu_context_destroy(ctx);
}

static void test_whole_size_offset_past_end(void **state)
{
    (void)state;
    sedx_context *ctx = tu_context(false);
    const uint64_t a = sedx_context_properties(ctx)->limits.minStorageBufferOffsetAlignment;
    /* size a + 1, so the allocation (2a, or more when a is 1) has room past buffer.size */
    const uint64_t size = (a > 1 ? a : 16) + 1;
    sedx_buffer b;
    assert_int_equal(sedx_buffer_create(ctx, size, SEDX_BUFFER_USAGE_STORAGE, SEDX_MEMORY_CPU, "whole", &b),
                     SEDX_SUCCESS);
    uint8_t shadow[64];
    for (uint64_t i = 0; i < size; ++i) shadow[i] = (uint8_t)(0xA5 ^ i);
    assert_int_equal(sedx_buffer_write(&b, shadow, size, 0), SEDX_SUCCESS);
    tu_log_capture();
    /* at the end: an empty range, fine */
    assert_int_equal(sedx_buffer_flush(&b, size, VK_WHOLE_SIZE), SEDX_SUCCESS);
    assert_int_equal(sedx_buffer_invalidate(&b, size, VK_WHOLE_SIZE), SEDX_SUCCESS);
    assert_int_equal(sedx_buffer_flush(&b, 0, VK_WHOLE_SIZE), SEDX_SUCCESS);
    assert_int_equal(tu_log_count(SEDX_LOG_ERROR), 0);
    /* one byte past, still inside the rounded allocation */
    const uint64_t past[] = {size + 1, size + 2, 2 * size - 2};
    for (int i = 0; i < 3; ++i) {
        tu_log_reset();
        assert_int_equal(sedx_buffer_flush(&b, past[i], VK_WHOLE_SIZE), SEDX_ERROR_OUT_OF_BOUNDS);
        assert_true(tu_log_contains("sedx_buffer_flush: buffer 'whole'"));
        tu_log_reset();
        assert_int_equal(sedx_buffer_invalidate(&b, past[i], VK_WHOLE_SIZE), SEDX_ERROR_OUT_OF_BOUNDS);
        assert_true(tu_log_contains("sedx_buffer_invalidate: buffer 'whole'"));
    }
    assert_int_equal(sedx_buffer_flush(&b, UINT64_MAX, VK_WHOLE_SIZE), SEDX_ERROR_OUT_OF_BOUNDS);
    uint8_t got[64];
    memset(got, 0, sizeof got);
    assert_int_equal(sedx_buffer_read(&b, got, size, 0), SEDX_SUCCESS);
    assert_memory_equal(got, shadow, size);
    sedx_set_logger(NULL, NULL);
    sedx_buffer_release(&b);
    still_works(ctx);
    tu_context_destroy(ctx);
}

static void test_max_buffer_size(void **state)
{
    (void)state;
    sedx_context *ctx = tu_context(false);
    sedx_buffer b;
    memset(&b, 0x5E, sizeof b);
    sedx_buffer untouched = b;
    tu_log_capture();
    if (sedx_context_features(ctx) & SEDX_FEATURE_MAINTENANCE4) {
        VkPhysicalDeviceMaintenance4Properties m4 = {VK_STRUCTURE_TYPE_PHYSICAL_DEVICE_MAINTENANCE_4_PROPERTIES};
        VkPhysicalDeviceProperties2 p2 = {VK_STRUCTURE_TYPE_PHYSICAL_DEVICE_PROPERTIES_2, &m4};
        vkGetPhysicalDeviceProperties2(sedx_context_physical_device(ctx), &p2);
        const uint64_t max = m4.maxBufferSize;
        assert_true(max > 0);
        if (max < UINT64_MAX / 2) {
            static const sedx_memory_flags mems[] = {SEDX_MEMORY_GPU, SEDX_MEMORY_CPU};
            for (int m = 0; m < 2; ++m) {
                tu_log_reset();
                assert_int_equal(sedx_buffer_create(ctx, max + 1, SEDX_BUFFER_USAGE_VERTEX, mems[m], "too big", &b),
                                 SEDX_ERROR_INVALID_SIZE);
                assert_true(tu_log_contains("buffer 'too big'"));
                assert_true(tu_log_contains("maxBufferSize"));
                assert_memory_equal(&b, &untouched, sizeof b);
            }
            /* under the limit, but rounded up past it */
            const uint64_t a = sedx_context_properties(ctx)->limits.minStorageBufferOffsetAlignment;
            const uint64_t s = max / a * a + 1;
            if (a > 1 && s <= max && align_up(s, a) > max) {
                tu_log_reset();
                assert_int_equal(sedx_buffer_create(ctx, s, SEDX_BUFFER_USAGE_STORAGE, 0, "rounds over", &b),
                                 SEDX_ERROR_INVALID_SIZE);
                assert_true(tu_log_contains("maxBufferSize"));
                assert_memory_equal(&b, &untouched, sizeof b);
            }
        } else {
            assert_int_equal(sedx_buffer_create(ctx, UINT64_MAX / 2 + 2, SEDX_BUFFER_USAGE_VERTEX, 0, "too big", &b),
                             SEDX_ERROR_INVALID_SIZE);
        }
    } else {
        /* no limit to query: the allocator or the driver refuses it, an error all the same */
        assert_true(sedx_buffer_create(ctx, UINT64_C(1) << 62, SEDX_BUFFER_USAGE_VERTEX, 0, "too big", &b) < 0);
        assert_memory_equal(&b, &untouched, sizeof b);
    }
    sedx_set_logger(NULL, NULL);
    assert_int_equal(sedx_buffer_list(ctx, NULL, NULL), 0);
    still_works(ctx);
    tu_context_destroy(ctx);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_rounding_every_combination),
        cmocka_unit_test(test_whole_size_offset_past_end),
        cmocka_unit_test(test_max_buffer_size),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
