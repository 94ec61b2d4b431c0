/* The "sedx_upload_submit" profile zone is one event per submitted upload batch, as it was
 * before sedx__batch_submit was split into record and send: none for a submit of an empty batch
 * (sedx_upload_flush every frame must not fill the bounded event buffer with empty zones), and
 * one for a batch sedx_upload_batch submits because it filled up. */
#include "test_util.h"

#include <stdlib.h>
#include <string.h>

static size_t count_zones(const char *name)
{
    static sedx_profile_event ev[4096];
    size_t n = sedx_profile_events(ev, 4096), k = 0;
    if (n > 4096) n = 4096;
    for (size_t i = 0; i < n; ++i) k += strcmp(ev[i].name, name) == 0;
    return k;
}

static void test_submit_zones(void **state)
{
    (void)state;
    sedx_context *ctx = tu_context(false);
    sedx_transfer_info ti = {0};
    ti.flags = SEDX_TRANSFER_NO_DIRECT;
    ti.staging_size = 4u << 20; /* batch target 1 MiB */
    ti.staging_max = 4u << 20;
    assert_int_equal(sedx_transfer_configure(ctx, &ti), SEDX_SUCCESS);
    enum { N = 384, SIZE = 4096 };
    sedx_buffer b;
    assert_int_equal(sedx_buffer_create(ctx, N * SIZE, SEDX_BUFFER_USAGE_STORAGE, SEDX_MEMORY_GPU, "zones", &b),
                     SEDX_SUCCESS);
    uint8_t *data = calloc(1, N * SIZE);
    sedx_profile_clear();
    sedx_profile_enable(true);
    for (int i = 0; i < 10; ++i) assert_int_equal(sedx_upload_submit(ctx, NULL), SEDX_SUCCESS); /* empty */
    size_t empty = count_zones("sedx_upload_submit");
    static sedx_upload_region regs[N];
    for (uint32_t i = 0; i < N; ++i) regs[i] = (sedx_upload_region){&b, (uint64_t)i * SIZE, SIZE, data + (size_t)i * SIZE};
    sedx_transfer_stats s0, s1;
    assert_int_equal(sedx_transfer_get_stats(ctx, &s0), SEDX_SUCCESS);
    assert_int_equal(sedx_upload_batch(ctx, regs, N), SEDX_SUCCESS); /* 1.5 MiB: fills one batch */
    assert_int_equal(sedx_transfer_get_stats(ctx, &s1), SEDX_SUCCESS);
    size_t full = count_zones("sedx_upload_submit") - empty;
    sedx_profile_enable(false);
    sedx_profile_clear();
    print_message("empty submits: %zu zones; batches submitted by the batch call: %llu, zones %zu\n", empty,
                  (unsigned long long)(s1.batches - s0.batches), full);
    assert_true(s1.batches - s0.batches >= 1);
    assert_int_equal(empty, 0);
    assert_int_equal(full, s1.batches - s0.batches);
    assert_int_equal(sedx_upload_flush(ctx), SEDX_SUCCESS);
    free(data);
    sedx_buffer_release(&b);
    tu_context_destroy(ctx);
}

int main(void)
{
    const struct CMUnitTest tests[] = {cmocka_unit_test(test_submit_zones)};
    return cmocka_run_group_tests(tests, NULL, NULL);
}
