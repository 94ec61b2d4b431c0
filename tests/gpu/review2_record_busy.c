/* A batched upload whose full batch cannot be recorded (every one-time command buffer of the
 * queue is begun by the application: SEDX_ERROR_BUSY from the recording in sedx_upload_batch's
 * side function) leaves the batch open and consistent, as a failed sedx__batch_submit did: no
 * command buffer left begun by sedx, and once the application's are discarded the next submit
 * delivers every byte, without a validation message. */
#include "test_util.h"

#include <stdlib.h>
#include <string.h>

static void test_record_busy(void **state)
{
    (void)state;
    sedx_context *ctx = tu_context(false);
    sedx_transfer_info ti = {0};
    ti.flags = SEDX_TRANSFER_NO_DIRECT | SEDX_TRANSFER_NO_TRANSFER_QUEUE;
    ti.staging_size = 8u << 20; /* batch target 2 MiB: a group of 2 MiB (the parallel path) fills it */
    ti.staging_max = 8u << 20;
    ti.memcpy_threads = 3;
    assert_int_equal(sedx_transfer_configure(ctx, &ti), SEDX_SUCCESS);
    enum { N = 768, SIZE = 4096 };
    sedx_buffer b;
    assert_int_equal(sedx_buffer_create(ctx, N * SIZE, SEDX_BUFFER_USAGE_STORAGE, SEDX_MEMORY_GPU, "busy", &b),
                     SEDX_SUCCESS);
    uint64_t rng = tu_seed() + 3;
    uint8_t *data = malloc(N * SIZE), *got = malloc(N * SIZE);
    tu_fill_random(data, N * SIZE, &rng);
    static sedx_upload_region regs[N];
    for (uint32_t i = 0; i < N; ++i) regs[i] = (sedx_upload_region){&b, (uint64_t)i * SIZE, SIZE, data + (size_t)i * SIZE};
    static sedx_cmd cmds[64];
    uint32_t held = 0;
    while (held < 64 && sedx_cmd_begin(ctx, SEDX_QUEUE_GRAPHICS, &cmds[held]) == SEDX_SUCCESS) held++;
    sedx_result r = sedx_upload_batch(ctx, regs, N);
    print_message("batch with %u command buffers held: %s\n", held, sedx_result_name(r));
    assert_int_equal(r, SEDX_ERROR_BUSY);
    for (uint32_t i = 0; i < held; ++i) sedx_cmd_discard(ctx, &cmds[i]);
    assert_int_equal(sedx_upload_flush(ctx), SEDX_SUCCESS);
    assert_int_equal(sedx_upload_batch(ctx, regs, N), SEDX_SUCCESS); /* all of it, whatever the first did */
    assert_int_equal(sedx_upload_flush(ctx), SEDX_SUCCESS);
    assert_int_equal(sedx_download(ctx, &b, 0, N * SIZE, got), SEDX_SUCCESS);
    assert_memory_equal(got, data, N * SIZE);
    free(data);
    free(got);
    sedx_buffer_release(&b);
    tu_context_destroy(ctx);
}

int main(void)
{
    const struct CMUnitTest tests[] = {cmocka_unit_test(test_record_busy)};
    return cmocka_run_group_tests(tests, NULL, NULL);
}
