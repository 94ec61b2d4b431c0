/* Review 9: what a recorded readback request (sedx_download_async_record) learns of its own
 * command buffer through sedx__queue_cmd_fate, under the validation layer.
 *  - sedx_download_async_submitted with a ticket that is not its command buffer's submission:
 *    its command buffer was discarded (the bytes are never written), or it was submitted later
 *    than the ticket's submission and has not run yet (the bytes are not written when the
 *    ticket passes). Either way taking the ticket returns ring bytes nobody wrote as SUCCESS; sedx
 *    knows the command buffer's fate and must refuse, as it refuses a ticket submitted before
 *    the record.
 *  - sedx_download_async_submitted_all's ERROR line counts each request of unknown fate once,
 *    also past its 64-request step.
 *  - the slot's count of not-submitted begins wrapping (2^32 discards of one slot, set directly):
 *    the request of a discarded command buffer is still dropped, never given a submission. */
#include "test_util.h"

#include "device/device.h" /* the slot's drop log */

#include <stdlib.h>
#include <string.h>

#define SRC_BYTES 4096u

static sedx_buffer make_src(sedx_context *ctx)
{
    sedx_buffer b;
    assert_int_equal(sedx_buffer_create(ctx, SRC_BYTES, SEDX_BUFFER_USAGE_STORAGE, SEDX_MEMORY_GPU, "review9 src", &b),
                     SEDX_SUCCESS);
    return b;
}

/* The ring's first bytes hold `word` (a request recorded, submitted and taken). */
static void prime_ring(sedx_context *ctx, const sedx_buffer *src, uint32_t word)
{
    sedx_cmd c;
    assert_int_equal(sedx_cmd_begin(ctx, SEDX_QUEUE_GRAPHICS, &c), SEDX_SUCCESS);
    tu_cmd_fill(&c, src, word);
    sedx_download_request r;
    assert_int_equal(sedx_download_async_record(ctx, &c, src, 0, 256, &r), SEDX_SUCCESS);
    sedx_ticket tk;
    assert_int_equal(sedx_cmd_submit(ctx, &c, NULL, &tk), SEDX_SUCCESS);
    assert_int_equal(sedx_download_async_submitted(ctx, &r, 1, tk), SEDX_SUCCESS);
    uint32_t got[64];
    assert_int_equal(sedx_download_wait(ctx, &r, UINT64_MAX), SEDX_SUCCESS);
    assert_int_equal(sedx_download_result(ctx, &r, got), SEDX_SUCCESS);
    assert_int_equal(got[0], word);
    assert_int_equal(sedx_context_wait_idle(ctx), SEDX_SUCCESS);
}

/* An empty command buffer submitted: a ticket after the record that is not the request's. */
static sedx_ticket other_submission(sedx_context *ctx)
{
    sedx_cmd c;
    sedx_ticket tk;
    assert_int_equal(sedx_cmd_begin(ctx, SEDX_QUEUE_GRAPHICS, &c), SEDX_SUCCESS);
    assert_int_equal(sedx_cmd_submit(ctx, &c, NULL, &tk), SEDX_SUCCESS);
    return tk;
}

/* Recorded into A, A discarded; another submission's ticket given to the request. */
static void test_explicit_discarded(void **state)
{
    (void)state;
    sedx_context *ctx = tu_context(false);
    sedx_buffer src = make_src(ctx);
    prime_ring(ctx, &src, 0x11111111u);
    sedx_cmd a;
    assert_int_equal(sedx_cmd_begin(ctx, SEDX_QUEUE_GRAPHICS, &a), SEDX_SUCCESS);
    tu_cmd_fill(&a, &src, 0x22222222u);
    sedx_download_request r;
    assert_int_equal(sedx_download_async_record(ctx, &a, &src, 0, 256, &r), SEDX_SUCCESS);
    sedx_cmd_discard(ctx, &a);
    sedx_ticket tk = other_submission(ctx);
    tu_log_reset();
    sedx_result res = sedx_download_async_submitted(ctx, &r, 1, tk);
    if (res == SEDX_SUCCESS) { /* the defect: show what the request then returns */
        uint32_t got[64];
        assert_int_equal(sedx_download_wait(ctx, &r, UINT64_MAX), SEDX_SUCCESS);
        assert_int_equal(sedx_download_result(ctx, &r, got), SEDX_SUCCESS);
        fail_msg("a request of a discarded command buffer took another submission's ticket: SUCCESS with bytes "
                 "nobody wrote (0x%08x, the ring's earlier bytes)", got[0]);
    }
    assert_int_equal(res, SEDX_ERROR_INVALID_ARGUMENT);
    assert_true(tu_log_contains("discarded"));
    /* still pending; submitted_all drops it, said once */
    tu_log_reset();
    assert_int_equal(sedx_download_async_submitted_all(ctx), 0);
    assert_int_equal(tu_log_count(SEDX_LOG_ERROR), 1);
    assert_int_equal(sedx_download_poll(ctx, &r), SEDX_ERROR_INVALID_HANDLE);
    assert_int_equal(sedx_context_wait_idle(ctx), SEDX_SUCCESS);
    sedx_buffer_release(&src);
    tu_context_destroy(ctx);
}

/* Recorded into A; C submitted, then A behind a gate; C's ticket given to A's request. */
static void test_explicit_earlier_ticket(void **state)
{
    (void)state;
    sedx_context *ctx = tu_context(false);
    sedx_buffer src = make_src(ctx);
    prime_ring(ctx, &src, 0x33333333u);
    sedx_cmd a;
    assert_int_equal(sedx_cmd_begin(ctx, SEDX_QUEUE_GRAPHICS, &a), SEDX_SUCCESS);
    tu_cmd_fill(&a, &src, 0x44444444u);
    sedx_download_request r;
    assert_int_equal(sedx_download_async_record(ctx, &a, &src, 0, 256, &r), SEDX_SUCCESS);
    sedx_ticket tc = other_submission(ctx), gate_tk, ta;
    assert_int_equal(sedx_ticket_wait(ctx, tc, UINT64_MAX), SEDX_SUCCESS);
    VkSemaphore gate = tu_gate(ctx, SEDX_QUEUE_GRAPHICS, &gate_tk);
    assert_int_equal(sedx_cmd_submit(ctx, &a, NULL, &ta), SEDX_SUCCESS);
    tu_log_reset();
    sedx_result res = sedx_download_async_submitted(ctx, &r, 1, tc);
    if (res == SEDX_SUCCESS) {
        uint32_t got[64];
        sedx_result pr = sedx_download_result(ctx, &r, got);
        tu_open_gate(ctx, gate);
        assert_int_equal(sedx_context_wait_idle(ctx), SEDX_SUCCESS);
        vkDestroySemaphore(sedx_context_device(ctx), gate, NULL);
        fail_msg("a ticket submitted before the request's command buffer was accepted: result %s with 0x%08x "
                 "before the command buffer ran", sedx_result_name(pr), got[0]);
    }
    assert_int_equal(res, SEDX_ERROR_INVALID_ARGUMENT);
    assert_int_equal(sedx_download_async_submitted(ctx, &r, 1, ta), SEDX_SUCCESS); /* its own */
    tu_open_gate(ctx, gate);
    uint32_t got[64];
    assert_int_equal(sedx_download_wait(ctx, &r, UINT64_MAX), SEDX_SUCCESS);
    assert_int_equal(sedx_download_result(ctx, &r, got), SEDX_SUCCESS);
    for (int i = 0; i < 64; ++i) assert_int_equal(got[i], 0x44444444u);
    assert_int_equal(sedx_context_wait_idle(ctx), SEDX_SUCCESS);
    vkDestroySemaphore(sedx_context_device(ctx), gate, NULL);
    sedx_buffer_release(&src);
    tu_context_destroy(ctx);
}

/* 65 requests of unknown fate (their discarded command buffer pushed out of the drop log):
 * the ERROR line says 65 of 65, not 66. */
static void test_unknown_counted_once(void **state)
{
    (void)state;
    sedx_context *ctx = tu_context(false);
    sedx_buffer src = make_src(ctx);
    sedx_cmd a, b;
    assert_int_equal(sedx_cmd_begin(ctx, SEDX_QUEUE_GRAPHICS, &a), SEDX_SUCCESS);
    sedx_download_request r[65];
    for (int i = 0; i < 65; ++i)
        assert_int_equal(sedx_download_async_record(ctx, &a, &src, (uint64_t)i * 16, 16, &r[i]), SEDX_SUCCESS);
    uint32_t slot = a.slot;
    sedx_cmd_discard(ctx, &a);
    for (uint32_t i = 0; i < SEDX__CMD_DROP_LOG; ++i) {
        assert_int_equal(sedx_cmd_begin(ctx, SEDX_QUEUE_GRAPHICS, &b), SEDX_SUCCESS);
        assert_int_equal(b.slot, slot);
        sedx_cmd_discard(ctx, &b);
    }
    tu_log_reset();
    assert_int_equal(sedx_download_async_submitted_all(ctx), 0);
    assert_int_equal(tu_log_count(SEDX_LOG_ERROR), 1);
    if (!tu_log_contains("65 recorded readback request(s)") || !tu_log_contains("(65 of them"))
        fail_msg("the ERROR line does not count 65 requests of unknown fate once each%s",
                 tu_log_contains("(66 of them") ? " (it says 66 of them)" : "");
    for (int i = 0; i < 65; ++i) assert_int_equal(sedx_download_poll(ctx, &r[i]), SEDX_ERROR_INVALID_HANDLE);
    sedx_buffer_release(&src);
    tu_context_destroy(ctx);
}

/* The slot's count of not-submitted begins at 2^32 - 1 when A is discarded: it wraps. */
static void test_drop_count_wrap(void **state)
{
    (void)state;
    sedx_context *ctx = tu_context(false);
    sedx_buffer src = make_src(ctx);
    prime_ring(ctx, &src, 0x55555555u);
    sedx__queue *q = &ctx->queues[SEDX_QUEUE_GRAPHICS];
    sedx_cmd a, b;
    assert_int_equal(sedx_cmd_begin(ctx, SEDX_QUEUE_GRAPHICS, &a), SEDX_SUCCESS);
    /* as after 2^32 - 1 discards of this slot (the log's entries are older epochs than A's) */
    pthread_mutex_lock(&q->pool_lock);
    q->cmd_drop_count[a.slot] = UINT32_MAX;
    pthread_mutex_unlock(&q->pool_lock);
    tu_cmd_fill(&a, &src, 0x66666666u);
    sedx_download_request r;
    assert_int_equal(sedx_download_async_record(ctx, &a, &src, 0, 256, &r), SEDX_SUCCESS);
    sedx_cmd_discard(ctx, &a);
    assert_int_equal(sedx_cmd_begin(ctx, SEDX_QUEUE_GRAPHICS, &b), SEDX_SUCCESS); /* A's slot begun again */
    assert_int_equal(b.slot, a.slot);
    assert_int_equal(sedx_cmd_submit(ctx, &b, NULL, NULL), SEDX_SUCCESS);
    assert_int_equal(sedx_context_wait_idle(ctx), SEDX_SUCCESS);
    uint32_t given = sedx_download_async_submitted_all(ctx);
    if (given) {
        uint32_t got[64];
        sedx_result pr = sedx_download_result(ctx, &r, got);
        fail_msg("the request of a discarded command buffer was given a submission after the drop count wrapped: "
                 "result %s with 0x%08x (bytes nobody wrote)", sedx_result_name(pr), got[0]);
    }
    assert_int_equal(sedx_download_poll(ctx, &r), SEDX_ERROR_INVALID_HANDLE);
    sedx_buffer_release(&src);
    tu_context_destroy(ctx);
}

int main(void)
{
    tu_log_capture();
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_explicit_discarded),
        cmocka_unit_test(test_explicit_earlier_ticket),
        cmocka_unit_test(test_unknown_counted_once),
        cmocka_unit_test(test_drop_count_wrap),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
