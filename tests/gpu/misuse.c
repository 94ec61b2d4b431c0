/* Misuse catalog, context.h: creation and adoption, queries, command buffers, tickets, the
 * deletion queue. The harness is tests/gpu/misuse_util.h; docs/errors.md lists every case.
 * The other headers: misuse_core.c (core, virtual_block, module, sedx_bytes), misuse_memory.c,
 * misuse_buffer.c, misuse_transfer.c (transfer and bindless). */
#include "misuse_util.h"

/* A creation that should fail but succeeded is cleaned up, so the next case starts clean. On
 * failure the header has *out_ctx set to NULL (or left alone): never a dangling pointer. */
static void drop_context(sedx_context **c)
{
    if (*c && *c != MIS_SENTINEL_PTR) sedx_context_destroy(*c);
    *c = MIS_SENTINEL_PTR;
}

#define CREATE_BAD(input, expected, log, info_ptr)                                                          \
    do {                                                                                                   \
        sedx_context *c_ = MIS_SENTINEL_PTR;                                                               \
        MIS_RC("sedx_context_create", input, expected, log, sedx_context_create(info_ptr, &c_));           \
        MIS_TRUE("sedx_context_create", input, "*out_ctx NULL or not written", c_ == MIS_SENTINEL_PTR || !c_); \
        drop_context(&c_);                                                                                 \
    } while (0)

static void test_context_create(void **state)
{
    (void)state;
    mis_begin();
    sedx_context_info info = {0};
    info.flags = SEDX_CONTEXT_VALIDATION;
    sedx_context *c = MIS_SENTINEL_PTR;
    CREATE_BAD("NULL info", SEDX_ERROR_INVALID_ARGUMENT, "info is NULL", NULL);
    MIS_RC("sedx_context_create", "NULL out_ctx", SEDX_ERROR_INVALID_ARGUMENT, "out_ctx is NULL",
           sedx_context_create(&info, NULL));
    info.flags = SEDX_CONTEXT_VALIDATION | 0x80000000u;
    CREATE_BAD("unknown flag bits (0x80000000)", SEDX_ERROR_INVALID_ARGUMENT, "flags", &info);
    info.flags = SEDX_CONTEXT_VALIDATION | 0x40u;
    CREATE_BAD("unknown flag bits (0x40, next to the defined ones)", SEDX_ERROR_INVALID_ARGUMENT, "flags", &info);
    info.flags = SEDX_CONTEXT_VALIDATION;
    info.api_version = VK_API_VERSION_1_1;
    CREATE_BAD("api_version 1.1 (below 1.2)", SEDX_ERROR_UNSUPPORTED_VERSION, "1.1 is not supported", &info);
    info.api_version = VK_MAKE_API_VERSION(0, 1, 9, 0);
    CREATE_BAD("api_version 1.9 (above the loader's)", SEDX_ERROR_UNSUPPORTED_VERSION, "api_version 1.9", &info);
    info.api_version = 0xFFFFFFFFu;
    CREATE_BAD("api_version 0xFFFFFFFF (garbage)", SEDX_ERROR_UNSUPPORTED_VERSION, "api_version", &info);
    info.api_version = 0;
    info.device = "no-such-device-anywhere";
    CREATE_BAD("device name that matches nothing", SEDX_ERROR_NO_DEVICE, "no-such-device-anywhere", &info);
    info.device = "57";
    CREATE_BAD("device index out of range (57)", SEDX_ERROR_NO_DEVICE, "'57'", &info);
    info.device = NULL;
    sedx_allocator_info alloc = {0};
    alloc.min_alignment = 3;
    info.allocator = &alloc;
    CREATE_BAD("allocator min_alignment 3 (not a power of two)", SEDX_ERROR_INVALID_ALIGNMENT, "min_alignment", &info);
    alloc.min_alignment = 0;
    alloc.flags = 0x80000000u;
    CREATE_BAD("allocator unknown flag bits (0x80000000)", SEDX_ERROR_INVALID_ARGUMENT, "flags", &info);
    info.allocator = NULL;
    /* the transfer settings given at creation get sedx_transfer_configure's checks */
    sedx_transfer_info ti = {0};
    info.transfer = &ti;
    ti.staging_size = 4096;
    CREATE_BAD("transfer staging_size 4096 (below 65536)", SEDX_ERROR_INVALID_SIZE, "at least", &info);
    ti.staging_size = 0;
    ti.flags = 0x80000000u;
    CREATE_BAD("transfer unknown flag bits", SEDX_ERROR_INVALID_ARGUMENT, "unknown flags", &info);
    ti.flags = SEDX_TRANSFER_FORCE_COMPUTE_COPY | SEDX_TRANSFER_FORCE_COPY_COMMAND;
    CREATE_BAD("transfer FORCE_COMPUTE_COPY with FORCE_COPY_COMMAND", SEDX_ERROR_INVALID_ARGUMENT, "together", &info);
    ti.flags = 0;
    ti.memcpy_threads = 17;
    CREATE_BAD("transfer memcpy_threads 17", SEDX_ERROR_INVALID_ARGUMENT, "memcpy_threads", &info);
    info.transfer = NULL;
    MIS_VOID("sedx_context_destroy", "NULL", LOG_NONE, sedx_context_destroy(NULL));

    /* still works: a context can be created after every refusal */
    c = NULL;
    MIS_RC("sedx_context_create", "(valid, after the misuse)", SEDX_SUCCESS, LOG_NONE, sedx_context_create(&info, &c));
    if (c) {
        mis_watch(c);
        mis_roundtrip(c, "context_create");
        mis_context_destroy(c);
    }
    mis_end("context.h (create)");
}

/* Adopting the application's device: only the checks that come before any Vulkan call. */
static void test_context_adopt(void **state)
{
    (void)state;
    mis_begin();
    sedx_context *ctx = mis_context(0, NULL);
    sedx_vulkan_objects o = {0};
    sedx_context *c = MIS_SENTINEL_PTR;
    MIS_RC("sedx_context_create_from_vulkan", "NULL objects", SEDX_ERROR_INVALID_ARGUMENT, "NULL argument",
           sedx_context_create_from_vulkan(NULL, NULL, &c));
    MIS_RC("sedx_context_create_from_vulkan", "NULL out_ctx", SEDX_ERROR_INVALID_ARGUMENT, "NULL argument",
           sedx_context_create_from_vulkan(&o, NULL, NULL));
    MIS_RC("sedx_context_create_from_vulkan", "zeroed objects", SEDX_ERROR_INVALID_ARGUMENT, "are required",
           sedx_context_create_from_vulkan(&o, NULL, &c));
    MIS_TRUE("sedx_context_create_from_vulkan", "zeroed objects", "*out_ctx NULL or not written",
             c == MIS_SENTINEL_PTR || !c);
    drop_context(&c);
    o.instance = sedx_context_instance(ctx);
    o.physical_device = sedx_context_physical_device(ctx);
    o.device = sedx_context_device(ctx);
    o.graphics_queue = sedx_context_queue(ctx, SEDX_QUEUE_GRAPHICS, &o.graphics_queue_family);
    o.enabled_features = SEDX_FEATURE_TIMELINE_SEMAPHORE;
    o.api_version = VK_API_VERSION_1_1;
    MIS_RC("sedx_context_create_from_vulkan", "api_version 1.1", SEDX_ERROR_UNSUPPORTED_VERSION, "sedx needs 1.2",
           sedx_context_create_from_vulkan(&o, NULL, &c));
    MIS_TRUE("sedx_context_create_from_vulkan", "api_version 1.1", "*out_ctx NULL or not written",
             c == MIS_SENTINEL_PTR || !c);
    drop_context(&c);
    o.api_version = VK_API_VERSION_1_2;
    o.device = VK_NULL_HANDLE;
    MIS_RC("sedx_context_create_from_vulkan", "device VK_NULL_HANDLE", SEDX_ERROR_INVALID_ARGUMENT, "are required",
           sedx_context_create_from_vulkan(&o, NULL, &c));
    drop_context(&c);
    o.device = sedx_context_device(ctx);
    sedx_allocator_info bad_alloc = {0};
    bad_alloc.min_alignment = 6;
    MIS_RC("sedx_context_create_from_vulkan", "allocator min_alignment 6", SEDX_ERROR_INVALID_ALIGNMENT,
           "min_alignment", sedx_context_create_from_vulkan(&o, &bad_alloc, &c));
    MIS_TRUE("sedx_context_create_from_vulkan", "allocator min_alignment 6", "*out_ctx NULL or not written",
             c == MIS_SENTINEL_PTR || !c);
    drop_context(&c);
    o.enabled_features = SEDX_FEATURE_TIMELINE_SEMAPHORE | 0x80000000u;
    MIS_RC("sedx_context_create_from_vulkan", "enabled_features unknown bits (0x80000000)", SEDX_ERROR_INVALID_ARGUMENT,
           "enabled_features", sedx_context_create_from_vulkan(&o, NULL, &c));
    MIS_TRUE("sedx_context_create_from_vulkan", "enabled_features unknown bits", "*out_ctx NULL or not written",
             c == MIS_SENTINEL_PTR || !c);
    drop_context(&c);
    o.enabled_features = SEDX_FEATURE_TIMELINE_SEMAPHORE;
    /* last: the current tree hands the family to Vulkan */
    o.graphics_queue_family = 99;
    MIS_RC("sedx_context_create_from_vulkan", "graphics_queue_family out of range (99)", SEDX_ERROR_INVALID_ARGUMENT,
           "family", sedx_context_create_from_vulkan(&o, NULL, &c));
    drop_context(&c);
    mis_roundtrip(ctx, "context_create_from_vulkan");
    mis_context_destroy(ctx);
    mis_end("context.h (adopt)");
}

static void test_context_queries(void **state)
{
    (void)state;
    mis_begin();
    sedx_context *ctx = mis_context(0, NULL);
    const sedx_queue bad_q = (sedx_queue)7, neg_q = (sedx_queue)-1;
    MIS_PTR("sedx_context_instance", "NULL ctx", VK_NULL_HANDLE, LOG_ANY, sedx_context_instance(NULL));
    MIS_PTR("sedx_context_physical_device", "NULL ctx", VK_NULL_HANDLE, LOG_ANY, sedx_context_physical_device(NULL));
    MIS_PTR("sedx_context_device", "NULL ctx", VK_NULL_HANDLE, LOG_ANY, sedx_context_device(NULL));
    MIS_VAL("sedx_context_api_version", "NULL ctx", 0, LOG_ANY, sedx_context_api_version(NULL));
    MIS_PTR("sedx_context_properties", "NULL ctx", NULL, LOG_ANY, sedx_context_properties(NULL));
    MIS_PTR("sedx_context_memory_properties", "NULL ctx", NULL, LOG_ANY, sedx_context_memory_properties(NULL));
    MIS_VAL("sedx_context_features", "NULL ctx", 0, LOG_ANY, sedx_context_features(NULL));
    MIS_STR("sedx_feature_name", "0 (no bit)", "?", LOG_NONE, sedx_feature_name(0));
    MIS_STR("sedx_feature_name", "two bits (0x3)", "?", LOG_NONE, sedx_feature_name(0x3));
    MIS_STR("sedx_feature_name", "unknown bit (0x80000000)", "?", LOG_NONE, sedx_feature_name(0x80000000u));
    MIS_STR("sedx_device_type_name", "value outside the enum", "other", LOG_NONE, sedx_device_type_name((VkPhysicalDeviceType)0x7FFF));
    uint32_t fam = 0x5E17u;
    MIS_PTR("sedx_context_queue", "NULL ctx", VK_NULL_HANDLE, LOG_ANY, sedx_context_queue(NULL, SEDX_QUEUE_GRAPHICS, &fam));
    MIS_PTR("sedx_context_queue", "queue kind out of range (7)", VK_NULL_HANDLE, LOG_ANY, sedx_context_queue(ctx, bad_q, &fam));
    MIS_PTR("sedx_context_queue", "queue kind out of range (-1)", VK_NULL_HANDLE, LOG_ANY, sedx_context_queue(ctx, neg_q, &fam));
    MIS_TRUE("sedx_context_queue", "every refused query", "*family not written", fam == 0x5E17u);
    MIS_VAL("sedx_context_has_transfer_queue", "NULL ctx", false, LOG_ANY, sedx_context_has_transfer_queue(NULL));
    MIS_VOID("sedx_context_lock_queue", "NULL ctx", LOG_ANY, sedx_context_lock_queue(NULL, SEDX_QUEUE_GRAPHICS));
    MIS_VOID("sedx_context_unlock_queue", "NULL ctx", LOG_ANY, sedx_context_unlock_queue(NULL, SEDX_QUEUE_GRAPHICS));
    MIS_VOID("sedx_context_lock_queue", "queue kind out of range (7): ignored", LOG_ANY, sedx_context_lock_queue(ctx, bad_q));
    MIS_VOID("sedx_context_unlock_queue", "queue kind out of range (7): ignored", LOG_ANY,
             sedx_context_unlock_queue(ctx, bad_q));
    MIS_VAL("sedx_context_validation_enabled", "NULL ctx", false, LOG_ANY, sedx_context_validation_enabled(NULL));
    MIS_VAL("sedx_context_validation_error_count", "NULL ctx", 0, LOG_ANY, sedx_context_validation_error_count(NULL));
    MIS_VAL("sedx_context_validation_warning_count", "NULL ctx", 0, LOG_ANY, sedx_context_validation_warning_count(NULL));
    MIS_PTR("sedx_context_timeline", "NULL ctx", VK_NULL_HANDLE, LOG_ANY, sedx_context_timeline(NULL, SEDX_QUEUE_GRAPHICS));
    MIS_PTR("sedx_context_timeline", "queue kind out of range (7)", VK_NULL_HANDLE, LOG_ANY, sedx_context_timeline(ctx, bad_q));
    MIS_VAL("sedx_context_completed_value", "NULL ctx", 0, LOG_ANY, sedx_context_completed_value(NULL, SEDX_QUEUE_GRAPHICS));
    MIS_VAL("sedx_context_completed_value", "queue kind out of range (7)", 0, LOG_ANY, sedx_context_completed_value(ctx, bad_q));
    MIS_VAL("sedx_context_submitted_value", "NULL ctx", 0, LOG_ANY, sedx_context_submitted_value(NULL, SEDX_QUEUE_GRAPHICS));
    MIS_VAL("sedx_context_submitted_value", "queue kind out of range (-1)", 0, LOG_ANY, sedx_context_submitted_value(ctx, neg_q));
    MIS_VAL("sedx_context_collect_garbage", "NULL ctx", 0, LOG_ANY, sedx_context_collect_garbage(NULL));
    MIS_VAL("sedx_context_pending_deletions", "NULL ctx", 0, LOG_ANY, sedx_context_pending_deletions(NULL));
    MIS_RC("sedx_context_wait_idle", "NULL ctx", SEDX_ERROR_INVALID_ARGUMENT, "NULL context", sedx_context_wait_idle(NULL));
    MIS_VOID("sedx_context_set_object_name", "NULL ctx", LOG_ANY,
             sedx_context_set_object_name(NULL, VK_OBJECT_TYPE_DEVICE, 1, "x"));
    MIS_VOID("sedx_context_set_object_name", "handle 0", LOG_ANY,
             sedx_context_set_object_name(ctx, VK_OBJECT_TYPE_BUFFER, 0, "x"));
    MIS_VOID("sedx_context_set_object_name", "NULL name", LOG_ANY,
             sedx_context_set_object_name(ctx, VK_OBJECT_TYPE_DEVICE, (uint64_t)(uintptr_t)sedx_context_device(ctx), NULL));

    sedx_device_summary sum[2];
    memset(sum, 0x5E, sizeof sum);
    uint32_t count = 0;
    MIS_RC("sedx_enumerate_devices", "NULL count", SEDX_ERROR_INVALID_ARGUMENT, "count is NULL",
           sedx_enumerate_devices(sum, 2, NULL));
    MIS_RC("sedx_enumerate_devices", "max 0 (count only)", SEDX_SUCCESS, LOG_NONE, sedx_enumerate_devices(sum, 0, &count));
    MIS_TRUE("sedx_enumerate_devices", "max 0 (count only)", "out not written, count set",
             mis_all(sum, 0x5E, sizeof sum) && count >= 1);
    MIS_RC("sedx_enumerate_devices", "NULL out with max > 0 (count only)", SEDX_SUCCESS, LOG_NONE,
           sedx_enumerate_devices(NULL, 2, &count));
    mis_roundtrip(ctx, "context queries");
    mis_context_destroy(ctx);
    mis_end("context.h (queries)");
}

static void test_cmd(void **state)
{
    (void)state;
    mis_begin();
    sedx_context *ctx = mis_context(0, NULL);
    sedx_context *other = mis_context(0, NULL);
    sedx_cmd out;
    memset(&out, 0x5E, sizeof out);
    MIS_RC("sedx_cmd_begin", "NULL ctx", SEDX_ERROR_INVALID_ARGUMENT, "sedx_cmd_begin",
           sedx_cmd_begin(NULL, SEDX_QUEUE_GRAPHICS, &out));
    MIS_RC("sedx_cmd_begin", "queue kind out of range (7)", SEDX_ERROR_INVALID_ARGUMENT, "bad queue",
           sedx_cmd_begin(ctx, (sedx_queue)7, &out));
    MIS_RC("sedx_cmd_begin", "queue kind SEDX_QUEUE_COUNT", SEDX_ERROR_INVALID_ARGUMENT, "bad queue",
           sedx_cmd_begin(ctx, SEDX_QUEUE_COUNT, &out));
    MIS_RC("sedx_cmd_begin", "NULL out", SEDX_ERROR_INVALID_ARGUMENT, "sedx_cmd_begin",
           sedx_cmd_begin(ctx, SEDX_QUEUE_GRAPHICS, NULL));
    MIS_TRUE("sedx_cmd_begin", "every refused begin", "*out not written", mis_all(&out, 0x5E, sizeof out));

    sedx_cmd cmd, foreign, zeroed = {0}, garbage;
    memset(&garbage, 0xAB, sizeof garbage);
    assert_int_equal(sedx_cmd_begin(ctx, SEDX_QUEUE_GRAPHICS, &cmd), SEDX_SUCCESS);
    assert_int_equal(sedx_cmd_begin(other, SEDX_QUEUE_GRAPHICS, &foreign), SEDX_SUCCESS);
    sedx_ticket tk;
    memset(&tk, 0x5E, sizeof tk);
    MIS_RC("sedx_cmd_submit", "NULL ctx", SEDX_ERROR_INVALID_ARGUMENT, "no begun command buffer",
           sedx_cmd_submit(NULL, &cmd, NULL, &tk));
    MIS_RC("sedx_cmd_submit", "NULL cmd", SEDX_ERROR_INVALID_ARGUMENT, "no begun command buffer",
           sedx_cmd_submit(ctx, NULL, NULL, &tk));
    MIS_RC("sedx_cmd_submit", "zeroed cmd", SEDX_ERROR_INVALID_ARGUMENT, "no begun command buffer",
           sedx_cmd_submit(ctx, &zeroed, NULL, &tk));
    MIS_RC("sedx_cmd_submit", "garbage cmd (0xAB..)", SEDX_ERROR_INVALID_ARGUMENT, "sedx_cmd_submit",
           sedx_cmd_submit(ctx, &garbage, NULL, &tk));
    MIS_RC("sedx_cmd_submit", "another context's cmd", SEDX_ERROR_INVALID_ARGUMENT, "not begun on this context",
           sedx_cmd_submit(ctx, &foreign, NULL, &tk));
    sedx_submit_info too_many = {9, NULL, NULL, NULL};
    MIS_RC("sedx_cmd_submit", "wait_count 9 (more than 8)", SEDX_ERROR_INVALID_ARGUMENT, "at most 8",
           sedx_cmd_submit(ctx, &cmd, &too_many, &tk));
    MIS_TRUE("sedx_cmd_submit", "every refused submit", "*out_ticket not written", mis_all(&tk, 0x5E, sizeof tk));
    /* a refused submit leaves the command buffer begun: it can be submitted again */
    sedx_cmd stale = cmd;
    MIS_RC("sedx_cmd_submit", "(valid, after the refused ones: still begun)", SEDX_SUCCESS, LOG_NONE,
           sedx_cmd_submit(ctx, &cmd, NULL, &tk));
    MIS_RC("sedx_cmd_submit", "stale copy of a submitted cmd", SEDX_ERROR_INVALID_ARGUMENT, "not begun on this context",
           sedx_cmd_submit(ctx, &stale, NULL, NULL));
    MIS_RC("sedx_cmd_submit", "submitted cmd again (emptied by the submit)", SEDX_ERROR_INVALID_ARGUMENT,
           "no begun command buffer", sedx_cmd_submit(ctx, &cmd, NULL, NULL));

    /* discard: a cmd that is not begun on ctx is ignored (header), and left as it was */
    sedx_cmd foreign_copy = foreign, garbage_copy = garbage;
    MIS_VOID("sedx_cmd_discard", "NULL ctx", LOG_ANY, sedx_cmd_discard(NULL, &foreign));
    MIS_VOID("sedx_cmd_discard", "NULL cmd", LOG_NONE, sedx_cmd_discard(ctx, NULL));
    MIS_VOID("sedx_cmd_discard", "zeroed cmd", LOG_NONE, sedx_cmd_discard(ctx, &zeroed));
    MIS_VOID("sedx_cmd_discard", "garbage cmd (0xAB..): ignored", LOG_ANY, sedx_cmd_discard(ctx, &garbage));
    MIS_VOID("sedx_cmd_discard", "stale copy of a submitted cmd: ignored", LOG_ANY, sedx_cmd_discard(ctx, &stale));
    MIS_VOID("sedx_cmd_discard", "another context's cmd: ignored", LOG_ANY, sedx_cmd_discard(ctx, &foreign));
    MIS_TRUE("sedx_cmd_discard", "every ignored discard", "the cmd structs are unchanged",
             memcmp(&foreign, &foreign_copy, sizeof foreign) == 0 && memcmp(&garbage, &garbage_copy, sizeof garbage) == 0);
    MIS_RC("sedx_cmd_submit", "(valid: the other context's cmd survived the refused calls)", SEDX_SUCCESS, LOG_NONE,
           sedx_cmd_submit(other, &foreign, NULL, NULL));
    sedx_cmd d;
    assert_int_equal(sedx_cmd_begin(ctx, SEDX_QUEUE_TRANSFER, &d), SEDX_SUCCESS);
    sedx_cmd d_copy = d;
    sedx_cmd_discard(ctx, &d);
    MIS_VOID("sedx_cmd_discard", "discarded cmd's copy (double discard): ignored", LOG_ANY,
             sedx_cmd_discard(ctx, &d_copy));
    MIS_RC("sedx_cmd_submit", "discarded cmd's copy", SEDX_ERROR_INVALID_ARGUMENT, "not begun on this context",
           sedx_cmd_submit(ctx, &d_copy, NULL, NULL));
    assert_int_equal(sedx_context_wait_idle(ctx), SEDX_SUCCESS);
    assert_int_equal(sedx_context_wait_idle(other), SEDX_SUCCESS);
    mis_roundtrip(ctx, "cmd");
    mis_roundtrip(other, "cmd (other context)");
    mis_context_destroy(other);
    mis_context_destroy(ctx);
    mis_end("context.h (command buffers)");
}

/* Kept apart: the current tree hands the NULL array to vkQueueSubmit (a crash on lavapipe). */
static void test_cmd_submit_null_waits(void **state)
{
    (void)state;
    mis_begin();
    sedx_context *ctx = mis_context(0, NULL);
    sedx_cmd cmd;
    assert_int_equal(sedx_cmd_begin(ctx, SEDX_QUEUE_GRAPHICS, &cmd), SEDX_SUCCESS);
    sedx_ticket tk;
    memset(&tk, 0x5E, sizeof tk);
    uint64_t one = 1;
    sedx_submit_info null_sems = {1, NULL, &one, NULL};
    MIS_RC("sedx_cmd_submit", "wait_count 1 with NULL wait_semaphores", SEDX_ERROR_INVALID_ARGUMENT, "wait_semaphores",
           sedx_cmd_submit(ctx, &cmd, &null_sems, &tk));
    MIS_TRUE("sedx_cmd_submit", "wait_count 1 with NULL wait_semaphores", "*out_ticket not written",
             mis_all(&tk, 0x5E, sizeof tk));
    MIS_RC("sedx_cmd_submit", "(valid, after the refused one: still begun)", SEDX_SUCCESS, LOG_NONE,
           sedx_cmd_submit(ctx, &cmd, NULL, &tk));
    /* and a refused submit can be discarded instead */
    assert_int_equal(sedx_cmd_begin(ctx, SEDX_QUEUE_GRAPHICS, &cmd), SEDX_SUCCESS);
    sedx_submit_info too_many = {9, NULL, NULL, NULL};
    MIS_RC("sedx_cmd_submit", "wait_count 9, then discarded", SEDX_ERROR_INVALID_ARGUMENT, "at most 8",
           sedx_cmd_submit(ctx, &cmd, &too_many, NULL));
    MIS_VOID("sedx_cmd_discard", "(valid: a refused submit's cmd)", LOG_NONE, sedx_cmd_discard(ctx, &cmd));
    MIS_TRUE("sedx_cmd_discard", "(valid: a refused submit's cmd)", "the cmd is emptied", cmd.cmd == VK_NULL_HANDLE);
    assert_int_equal(sedx_context_wait_idle(ctx), SEDX_SUCCESS);
    mis_roundtrip(ctx, "cmd_submit NULL waits");
    mis_context_destroy(ctx);
    mis_end("context.h (submit waits)");
}

static int g_deferred_ran;
static void deferred_fn(sedx_context *ctx, void *user)
{
    (void)ctx;
    (void)user;
    g_deferred_ran++;
}

static void test_tickets_and_deferral(void **state)
{
    (void)state;
    mis_begin();
    sedx_context *ctx = mis_context(0, NULL);
    sedx_context *other = mis_context(0, NULL);
    sedx_cmd cmd;
    sedx_ticket mine = {0}, theirs = {0}, zeroed = {0}, garbage;
    memset(&garbage, 0xAB, sizeof garbage);
    assert_int_equal(sedx_cmd_begin(ctx, SEDX_QUEUE_GRAPHICS, &cmd), SEDX_SUCCESS);
    assert_int_equal(sedx_cmd_submit(ctx, &cmd, NULL, &mine), SEDX_SUCCESS);
    assert_int_equal(sedx_cmd_begin(other, SEDX_QUEUE_GRAPHICS, &cmd), SEDX_SUCCESS);
    assert_int_equal(sedx_cmd_submit(other, &cmd, NULL, &theirs), SEDX_SUCCESS);
    sedx_ticket bad_queue = mine, future = mine;
    bad_queue.queue = 7;
    future.value = sedx_context_submitted_value(ctx, (sedx_queue)mine.queue) + 1000;

    MIS_RC("sedx_ticket_poll", "NULL ctx", SEDX_ERROR_INVALID_ARGUMENT, "NULL context", sedx_ticket_poll(NULL, mine));
    MIS_RC("sedx_ticket_poll", "another context's ticket", SEDX_ERROR_WRONG_CONTEXT, "ticket from context",
           sedx_ticket_poll(ctx, theirs));
    MIS_RC("sedx_ticket_poll", "queue out of range (7)", SEDX_ERROR_INVALID_ARGUMENT, "bad queue",
           sedx_ticket_poll(ctx, bad_queue));
    MIS_RC("sedx_ticket_poll", "value never submitted", SEDX_ERROR_INVALID_ARGUMENT, "never submitted",
           sedx_ticket_poll(ctx, future));
    MIS_RC("sedx_ticket_poll", "garbage ticket (0xAB..)", SEDX_ERROR_WRONG_CONTEXT, "ticket from context",
           sedx_ticket_poll(ctx, garbage));
    MIS_RC("sedx_ticket_poll", "zeroed ticket (nothing to wait for)", SEDX_SUCCESS, LOG_NONE, sedx_ticket_poll(ctx, zeroed));
    MIS_RC("sedx_ticket_wait", "NULL ctx", SEDX_ERROR_INVALID_ARGUMENT, "NULL context",
           sedx_ticket_wait(NULL, mine, UINT64_MAX));
    MIS_RC("sedx_ticket_wait", "another context's ticket", SEDX_ERROR_WRONG_CONTEXT, "ticket from context",
           sedx_ticket_wait(ctx, theirs, UINT64_MAX));
    MIS_RC("sedx_ticket_wait", "queue out of range (7)", SEDX_ERROR_INVALID_ARGUMENT, "bad queue",
           sedx_ticket_wait(ctx, bad_queue, UINT64_MAX));
    MIS_RC("sedx_ticket_wait", "value never submitted (would wait forever)", SEDX_ERROR_INVALID_ARGUMENT,
           "never submitted", sedx_ticket_wait(ctx, future, UINT64_MAX));
    MIS_RC("sedx_ticket_wait", "garbage ticket (0xAB..)", SEDX_ERROR_WRONG_CONTEXT, "ticket from context",
           sedx_ticket_wait(ctx, garbage, 0));
    MIS_RC("sedx_ticket_wait", "zeroed ticket (nothing to wait for)", SEDX_SUCCESS, LOG_NONE,
           sedx_ticket_wait(ctx, zeroed, UINT64_MAX));

    /* in flight behind a gate: not errors */
    sedx_ticket gated;
    VkSemaphore gate = tu_gate(ctx, SEDX_QUEUE_GRAPHICS, &gated);
    MIS_RC("sedx_ticket_poll", "ticket in flight (behind a gate)", SEDX_NOT_READY, LOG_NONE, sedx_ticket_poll(ctx, gated));
    MIS_RC("sedx_ticket_wait", "ticket in flight, timeout 0", SEDX_TIMEOUT, LOG_NONE, sedx_ticket_wait(ctx, gated, 0));
    MIS_RC("sedx_ticket_wait", "ticket in flight, timeout 1 ms", SEDX_TIMEOUT, LOG_NONE,
           sedx_ticket_wait(ctx, gated, 1000000));

    /* deletion queue */
    uint32_t pending = sedx_context_pending_deletions(ctx);
    uint64_t after[SEDX_QUEUE_COUNT] = {0, 0};
    MIS_RC("sedx_context_defer", "NULL ctx", SEDX_ERROR_INVALID_ARGUMENT, "NULL context or fn",
           sedx_context_defer(NULL, after, deferred_fn, NULL));
    MIS_RC("sedx_context_defer", "NULL fn", SEDX_ERROR_INVALID_ARGUMENT, "NULL context or fn",
           sedx_context_defer(ctx, after, NULL, NULL));
    after[SEDX_QUEUE_GRAPHICS] = sedx_context_submitted_value(ctx, SEDX_QUEUE_GRAPHICS) + 1000;
    MIS_RC("sedx_context_defer", "graphics value never submitted", SEDX_ERROR_INVALID_ARGUMENT, "never submitted",
           sedx_context_defer(ctx, after, deferred_fn, NULL));
    after[SEDX_QUEUE_GRAPHICS] = 0;
    after[SEDX_QUEUE_TRANSFER] = sedx_context_submitted_value(ctx, SEDX_QUEUE_TRANSFER) + 1;
    MIS_RC("sedx_context_defer", "transfer value never submitted", SEDX_ERROR_INVALID_ARGUMENT, "never submitted",
           sedx_context_defer(ctx, after, deferred_fn, NULL));
    MIS_TRUE("sedx_context_defer", "every refused defer", "nothing was queued",
             sedx_context_pending_deletions(ctx) == pending);
    /* in flight: a deferred item waits for the gate */
    after[SEDX_QUEUE_TRANSFER] = 0;
    after[SEDX_QUEUE_GRAPHICS] = gated.queue == SEDX_QUEUE_GRAPHICS ? gated.value : 0;
    g_deferred_ran = 0;
    MIS_RC("sedx_context_defer", "(valid: after a value in flight)", SEDX_SUCCESS, LOG_NONE,
           sedx_context_defer(ctx, after, deferred_fn, NULL));
    sedx_context_collect_garbage(ctx);
    MIS_TRUE("sedx_context_defer", "(valid: after a value in flight)", "not run while the GPU is behind the gate",
             g_deferred_ran == 0);
    tu_open_gate(ctx, gate);
    assert_int_equal(sedx_context_wait_idle(ctx), SEDX_SUCCESS);
    MIS_TRUE("sedx_context_defer", "(valid: after a value in flight)", "run once the gate opened", g_deferred_ran == 1);
    vkDestroySemaphore(sedx_context_device(ctx), gate, NULL);
    mis_roundtrip(ctx, "tickets and deferral");
    mis_context_destroy(other);
    mis_context_destroy(ctx);
    mis_end("context.h (tickets, deletion queue)");
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_context_create),
        cmocka_unit_test(test_context_adopt),
        cmocka_unit_test(test_context_queries),
        cmocka_unit_test(test_cmd),
        cmocka_unit_test(test_cmd_submit_null_waits),
        cmocka_unit_test(test_tickets_and_deferral),
    };
    return mis_main(tests, sizeof tests / sizeof tests[0]);
}
