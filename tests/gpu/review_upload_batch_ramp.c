/* sedx_upload_batch with SEDX_RAMP=1: "everything the batch could run out of is prepared ...
 * only a lost device can stop it halfway" (include/sedx/transfer.h). The ramp cuts a large
 * staged region into more pieces than size / chunk + 1, so batch_prepare must reserve room for
 * them too: otherwise the large region's own reservation (upload_staged) can fail for host
 * memory after the small regions before it are already in the open batch, and a refused batch
 * still writes them. Each failing host reallocation in turn: a refused batch writes nothing. */
#include "test_util.h"

#include <stdatomic.h>
#include <stdlib.h>
#include <string.h>

static _Atomic long g_reallocs;
static _Atomic long g_fail_at = -1; /* the Nth realloc after arming fails; < 0: none */

static void *f_alloc(size_t size, void *u)
{
    (void)u;
    return malloc(size);
}
static void *f_realloc(void *p, size_t size, void *u)
{
    (void)u;
    long at = atomic_load(&g_fail_at);
    if (at >= 0 && atomic_fetch_add(&g_reallocs, 1) == at) return NULL;
    return realloc(p, size);
}
static void f_free(void *p, void *u)
{
    (void)u;
    free(p);
}

enum { SMALL = 600, SMALL_SIZE = 16, LARGE = 1u << 20 };

/* Returns true when the batch went through. */
static bool one_try(long fail_at)
{
    sedx_context *ctx = tu_context(false);
    sedx_transfer_info ti = {0};
    ti.flags = SEDX_TRANSFER_NO_DIRECT;
    ti.staging_size = 1u << 20; /* chunks of 256 KiB: a 1 MiB region is ramped */
    assert_int_equal(sedx_transfer_configure(ctx, &ti), SEDX_SUCCESS);
    sedx_buffer a, b;
    assert_int_equal(sedx_buffer_create(ctx, SMALL * SMALL_SIZE, SEDX_BUFFER_USAGE_STORAGE, SEDX_MEMORY_GPU, "small", &a),
                     SEDX_SUCCESS);
    assert_int_equal(sedx_buffer_create(ctx, LARGE, SEDX_BUFFER_USAGE_STORAGE, SEDX_MEMORY_GPU, "large", &b), SEDX_SUCCESS);
    uint8_t *old_a = malloc(SMALL * SMALL_SIZE), *new_a = malloc(SMALL * SMALL_SIZE), *big = malloc(LARGE);
    uint8_t *got = malloc(SMALL * SMALL_SIZE);
    memset(old_a, 0x11, SMALL * SMALL_SIZE);
    memset(new_a, 0x22, SMALL * SMALL_SIZE);
    memset(big, 0x33, LARGE);
    assert_int_equal(sedx_upload(ctx, &a, 0, SMALL * SMALL_SIZE, old_a), SEDX_SUCCESS);
    assert_int_equal(sedx_upload_flush(ctx), SEDX_SUCCESS);

    sedx_upload_region regs[SMALL + 1];
    for (uint32_t i = 0; i < SMALL; ++i) regs[i] = (sedx_upload_region){&a, (uint64_t)i * SMALL_SIZE, SMALL_SIZE, new_a};
    regs[SMALL] = (sedx_upload_region){&b, 0, LARGE, big};
    atomic_store(&g_reallocs, 0);
    atomic_store(&g_fail_at, fail_at);
    sedx_result r = sedx_upload_batch(ctx, regs, SMALL + 1);
    atomic_store(&g_fail_at, -1);
    long reallocs = atomic_load(&g_reallocs);
    assert_int_equal(sedx_upload_flush(ctx), SEDX_SUCCESS);
    assert_int_equal(sedx_download(ctx, &a, 0, SMALL * SMALL_SIZE, got), SEDX_SUCCESS);
    print_message("fail_at %ld: %s after %ld reallocs\n", fail_at, sedx_result_name(r), reallocs);
    if (r == SEDX_SUCCESS) {
        assert_memory_equal(got, new_a, SMALL * SMALL_SIZE);
    } else {
        assert_int_equal(r, SEDX_ERROR_OUT_OF_HOST_MEMORY);
        if (memcmp(got, old_a, SMALL * SMALL_SIZE) != 0)
            fail_msg("a refused batch (%s) wrote its small regions", sedx_result_name(r));
    }
    free(old_a);
    free(new_a);
    free(big);
    free(got);
    sedx_buffer_release(&a);
    sedx_buffer_release(&b);
    tu_context_destroy(ctx);
    return r == SEDX_SUCCESS && fail_at >= reallocs;
}

static void test_refused_batch_writes_nothing(void **state)
{
    (void)state;
    setenv("SEDX_RAMP", "1", 1);
    sedx_host_allocator al = {f_alloc, f_realloc, f_free, NULL};
    sedx_set_host_allocator(&al);
    for (long n = 0; n < 16; ++n)
        if (one_try(n)) break; /* no realloc left to fail */
    sedx_set_host_allocator(NULL);
    unsetenv("SEDX_RAMP");
}

int main(void)
{
    const struct CMUnitTest tests[] = {cmocka_unit_test(test_refused_batch_writes_nothing)};
    return cmocka_run_group_tests(tests, NULL, NULL);
}
