/* The seed's CPU byte buffer as sedx_bytes: every method, bounds, overflow, aliasing. */
#include "test_util.h"

#include <string.h>

static void test_allocate_write_read(void **state)
{
    (void)state;
    sedx_set_log_level(SEDX_LOG_OFF);
    uint64_t rng = tu_seed();
    sedx_bytes b = {0};
    assert_false(sedx_bytes_valid(&b));               /* operator bool */
    assert_int_equal(sedx_bytes_allocate(&b, 1000), SEDX_SUCCESS);
    assert_true(sedx_bytes_valid(&b));
    assert_int_equal(sedx_bytes_size(&b), 1000);      /* GetSize */
    assert_int_equal(sedx_bytes_zero(&b), SEDX_SUCCESS);
    for (int i = 0; i < 1000; ++i) assert_int_equal(b.data[i], 0);
    uint8_t src[300], dst[300];
    tu_fill_random(src, sizeof src, &rng);
    memset(dst, 0xCD, sizeof dst);
    assert_int_equal(sedx_bytes_write(&b, src, 300, 700), SEDX_SUCCESS);
    assert_int_equal(sedx_bytes_read(&b, dst, 300, 700), SEDX_SUCCESS);
    assert_memory_equal(src, dst, 300);
    /* out of bounds, including wrap-around: nothing written */
    memset(dst, 0xCD, sizeof dst);
    assert_int_equal(sedx_bytes_write(&b, src, 301, 700), SEDX_ERROR_OUT_OF_BOUNDS);
    assert_int_equal(sedx_bytes_write(&b, src, 2, UINT64_MAX), SEDX_ERROR_OUT_OF_BOUNDS);
    assert_int_equal(sedx_bytes_write(&b, src, UINT64_MAX, 2), SEDX_ERROR_OUT_OF_BOUNDS);
    assert_int_equal(sedx_bytes_read(&b, dst, 16, UINT64_MAX - 8), SEDX_ERROR_OUT_OF_BOUNDS);
    assert_int_equal(dst[0], 0xCD);
    assert_int_equal(sedx_bytes_write(&b, NULL, 4, 0), SEDX_ERROR_INVALID_ARGUMENT);
    assert_int_equal(sedx_bytes_write(&b, NULL, 0, 1000), SEDX_SUCCESS); /* empty write at the end */
    assert_int_equal(sedx_bytes_write(NULL, src, 1, 0), SEDX_ERROR_INVALID_ARGUMENT);
    sedx_bytes_release(&b);
    assert_null(b.data);
    assert_int_equal(b.size, 0);
    sedx_bytes_release(&b); /* twice: harmless */
    sedx_set_log_level(SEDX_LOG_WARN);
}

typedef struct { float x, y, z; uint32_t color; } vertex;

static void test_typed_access(void **state)
{
    (void)state;
    sedx_set_log_level(SEDX_LOG_OFF);
    sedx_bytes b = {0};
    assert_int_equal(sedx_bytes_allocate(&b, 64), SEDX_SUCCESS);
    sedx_bytes_zero(&b);
    vertex v = {1.0f, 2.0f, 3.0f, 0xFF00FF00u};
    assert_int_equal(SEDX_BYTES_WRITE(&b, vertex, 16, &v), SEDX_SUCCESS);
    vertex *ref = SEDX_BYTES_REF(&b, vertex, 16);       /* Read<T>(16) */
    assert_non_null(ref);
    assert_true(ref->z == 3.0f && ref->color == 0xFF00FF00u);
    ref->x = 9.0f;                                        /* a reference, not a copy */
    vertex out;
    assert_int_equal(SEDX_BYTES_READ(&b, vertex, 16, &out), SEDX_SUCCESS);
    assert_true(out.x == 9.0f);
    assert_null(SEDX_BYTES_REF(&b, vertex, 60));         /* past the end */
    assert_null(SEDX_BYTES_REF(&b, vertex, 2));          /* misaligned */
    assert_non_null(SEDX_BYTES_AS(&b, vertex));          /* As<T>() */
    typedef struct { uint8_t bytes[65]; } too_big;
    assert_null(SEDX_BYTES_AS(&b, too_big));             /* larger than the buffer */
    uint8_t *p = sedx_bytes_at(&b, 63);                   /* operator[] */
    assert_non_null(p);
    *p = 0x5A;
    assert_int_equal(b.data[63], 0x5A);
    assert_null(sedx_bytes_at(&b, 64));
    sedx_bytes_release(&b);
    sedx_set_log_level(SEDX_LOG_WARN);
}

static void test_copy_and_read_bytes(void **state)
{
    (void)state;
    uint64_t rng = tu_seed() ^ 0x77;
    uint8_t src[256];
    tu_fill_random(src, sizeof src, &rng);
    sedx_bytes a = {0}, c = {0}, part = {0};
    assert_int_equal(sedx_bytes_copy(&a, src, sizeof src), SEDX_SUCCESS);   /* Copy(data, size) */
    assert_memory_equal(a.data, src, sizeof src);
    assert_int_equal(sedx_bytes_copy(&c, a.data, a.size), SEDX_SUCCESS);    /* Copy(other) */
    assert_ptr_not_equal(c.data, a.data);
    assert_memory_equal(c.data, src, sizeof src);
    assert_int_equal(sedx_bytes_read_bytes(&a, 16, 100, &part), SEDX_SUCCESS); /* ReadBytes */
    assert_int_equal(part.size, 16);
    assert_memory_equal(part.data, src + 100, 16);
    /* Copy from a part of itself: aliasing is safe */
    assert_int_equal(sedx_bytes_copy(&a, a.data + 8, 32), SEDX_SUCCESS);
    assert_int_equal(a.size, 32);
    assert_memory_equal(a.data, src + 8, 32);
    sedx_set_log_level(SEDX_LOG_OFF);
    assert_int_equal(sedx_bytes_read_bytes(&a, 33, 0, &part), SEDX_ERROR_OUT_OF_BOUNDS);
    assert_int_equal(part.size, 16); /* untouched on failure */
    assert_int_equal(sedx_bytes_copy(&a, NULL, 5), SEDX_ERROR_INVALID_ARGUMENT);
    assert_int_equal(a.size, 32);
    assert_int_equal(sedx_bytes_allocate(&a, UINT64_MAX), SEDX_ERROR_INVALID_SIZE);
    sedx_set_log_level(SEDX_LOG_WARN);
    sedx_bytes_release(&a);
    sedx_bytes_release(&c);
    sedx_bytes_release(&part);
    assert_int_equal(sedx_host_allocation_count(), 0);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_allocate_write_read),
        cmocka_unit_test(test_typed_access),
        cmocka_unit_test(test_copy_and_read_bytes),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
