/* Context on a real Vulkan device, validation on: creation, queues, submissions, tickets,
 * deletion queue, adoption of application objects, and every bad input. */
#include "test_util.h"

#include <sedx/sedx.h>

#include <stdlib.h>
#include <string.h>

/* After a refused call the context still works: a buffer round trip through the GPU. */
static void assert_round_trip(sedx_context *ctx)
{
    uint8_t in[4096], out[4096];
    for (size_t i = 0; i < sizeof in; ++i) in[i] = (uint8_t)(i * 7u + 3u);
    memset(out, 0, sizeof out);
    sedx_buffer b = {0};
    assert_int_equal(sedx_buffer_create(ctx, sizeof in, SEDX_BUFFER_USAGE_STORAGE, SEDX_MEMORY_GPU, "round-trip", &b),
                     SEDX_SUCCESS);
    assert_int_equal(sedx_upload(ctx, &b, 0, sizeof in, in), SEDX_SUCCESS);
    assert_int_equal(sedx_download(ctx, &b, 0, sizeof out, out), SEDX_SUCCESS);
    assert_memory_equal(in, out, sizeof in);
    sedx_buffer_release(&b);
}

static void log_restore(void)
{
    sedx_set_logger(NULL, NULL);
    sedx_set_log_level(SEDX_LOG_WARN);
}

static void test_create_and_report(void **state)
{
    (void)state;
    sedx_context *ctx = tu_context(false);
    assert_true(sedx_context_validation_enabled(ctx));
    assert_non_null(sedx_context_device(ctx));
    assert_true(sedx_context_api_version(ctx) >= VK_API_VERSION_1_2);
    uint32_t f = sedx_context_features(ctx);
    assert_true(f & SEDX_FEATURE_TIMELINE_SEMAPHORE);
    assert_true(f & SEDX_FEATURE_DEBUG_UTILS);
    uint32_t fam = 99;
    assert_non_null(sedx_context_queue(ctx, SEDX_QUEUE_GRAPHICS, &fam));
    assert_int_not_equal(fam, 99);
    /* TRANSFER always resolves to a queue: the transfer family, or the main queue */
    uint32_t tfam = 99;
    assert_non_null(sedx_context_queue(ctx, SEDX_QUEUE_TRANSFER, &tfam));
    if (!sedx_context_has_transfer_queue(ctx)) assert_int_equal(tfam, fam);
    assert_null(sedx_context_queue(ctx, (sedx_queue)7, NULL));
    tu_context_destroy(ctx);
}

/* The validation layer really watches: a deliberate error is counted (so a clean count in
 * the other tests means something). */
static void test_validation_counts_errors(void **state)
{
    (void)state;
    sedx_context *ctx = tu_context(false);
    tu_log_capture();
    VkBufferCreateInfo bci = {VK_STRUCTURE_TYPE_BUFFER_CREATE_INFO};
    bci.size = 0; /* invalid: VUID-VkBufferCreateInfo-size-00912 */
    bci.usage = VK_BUFFER_USAGE_TRANSFER_SRC_BIT;
    VkBuffer b = VK_NULL_HANDLE;
    VkResult vr = vkCreateBuffer(sedx_context_device(ctx), &bci, NULL, &b);
    if (vr == VK_SUCCESS && b) vkDestroyBuffer(sedx_context_device(ctx), b, NULL);
    assert_true(sedx_context_validation_error_count(ctx) >= 1);
    assert_true(tu_log_contains("VkBufferCreateInfo"));
    sedx_set_logger(NULL, NULL);
    sedx_set_log_level(SEDX_LOG_WARN);
    sedx_context_destroy(ctx); /* not tu_context_destroy: errors are expected here */
}

static void test_submit_ticket_and_deferred(void **state)
{
    (void)state;
    sedx_context *ctx = tu_context(true);
    for (int q = 0; q < SEDX_QUEUE_COUNT; ++q) {
        sedx_cmd cmd;
        assert_int_equal(sedx_cmd_begin(ctx, (sedx_queue)q, &cmd), SEDX_SUCCESS);
        sedx_ticket t = {0};
        assert_int_equal(sedx_cmd_submit(ctx, &cmd, NULL, &t), SEDX_SUCCESS);
        assert_true(t.value >= 1);
        assert_int_equal(sedx_ticket_wait(ctx, t, UINT64_MAX), SEDX_SUCCESS);
        assert_int_equal(sedx_ticket_poll(ctx, t), SEDX_SUCCESS);
        assert_true(sedx_context_completed_value(ctx, (sedx_queue)q) >= t.value);
    }
    /* a command buffer that was not begun here, one submitted twice, a discard */
    sedx_set_log_level(SEDX_LOG_OFF);
    sedx_cmd fake = {(VkCommandBuffer)(uintptr_t)0x1234, SEDX_QUEUE_GRAPHICS, 3};
    assert_int_equal(sedx_cmd_submit(ctx, &fake, NULL, NULL), SEDX_ERROR_INVALID_ARGUMENT);
    sedx_cmd once;
    assert_int_equal(sedx_cmd_begin(ctx, SEDX_QUEUE_GRAPHICS, &once), SEDX_SUCCESS);
    sedx_cmd copy = once;
    assert_int_equal(sedx_cmd_submit(ctx, &once, NULL, NULL), SEDX_SUCCESS);
    assert_int_equal(sedx_cmd_submit(ctx, &copy, NULL, NULL), SEDX_ERROR_INVALID_ARGUMENT);
    assert_int_equal(sedx_cmd_begin(ctx, SEDX_QUEUE_GRAPHICS, &once), SEDX_SUCCESS);
    sedx_cmd_discard(ctx, &once);
    sedx_set_log_level(SEDX_LOG_WARN);
    /* many submissions: the command-buffer ring wraps */
    sedx_ticket last = {0};
    for (int i = 0; i < 200; ++i) {
        sedx_cmd cmd;
        assert_int_equal(sedx_cmd_begin(ctx, SEDX_QUEUE_GRAPHICS, &cmd), SEDX_SUCCESS);
        assert_int_equal(sedx_cmd_submit(ctx, &cmd, NULL, &last), SEDX_SUCCESS);
    }
    assert_int_equal(sedx_ticket_wait(ctx, last, UINT64_MAX), SEDX_SUCCESS);
    assert_int_equal(sedx_context_submitted_value(ctx, SEDX_QUEUE_GRAPHICS), last.value);

    /* a ticket that was never submitted, one from another queue index, one from another context */
    sedx_ticket bogus = last;
    bogus.value += 1000;
    assert_int_equal(sedx_ticket_poll(ctx, bogus), SEDX_ERROR_INVALID_ARGUMENT);
    sedx_context *other = tu_context(false);
    assert_int_equal(sedx_ticket_wait(other, last, 0), SEDX_ERROR_WRONG_CONTEXT);
    assert_int_equal(sedx_ticket_poll(other, last), SEDX_ERROR_WRONG_CONTEXT);
    tu_context_destroy(other);
    sedx_ticket empty = {0};
    assert_int_equal(sedx_ticket_poll(ctx, empty), SEDX_SUCCESS);
    tu_context_destroy(ctx);
}

static int g_ran;
static void count_fn(sedx_context *ctx, void *user)
{
    (void)ctx;
    g_ran += *(int *)user;
}

static void test_deletion_queue_waits_for_timeline(void **state)
{
    (void)state;
    sedx_context *ctx = tu_context(false);
    g_ran = 0;
    /* a value not reached yet: a submission that waits on a host-signalled semaphore */
    sedx_ticket t;
    VkSemaphore gate = tu_gate(ctx, SEDX_QUEUE_GRAPHICS, &t);
    int one_i = 1, ten = 10;
    uint64_t after[SEDX_QUEUE_COUNT] = {t.value, 0};
    assert_int_equal(sedx_context_defer(ctx, after, count_fn, &one_i), SEDX_SUCCESS);
    uint64_t now[SEDX_QUEUE_COUNT] = {0, 0};
    assert_int_equal(sedx_context_defer(ctx, now, count_fn, &ten), SEDX_SUCCESS);
    assert_int_equal(sedx_context_collect_garbage(ctx), 1); /* only the unconditional one */
    assert_int_equal(g_ran, 10);
    assert_int_equal(sedx_ticket_poll(ctx, t), SEDX_NOT_READY);
    assert_int_equal(sedx_ticket_wait(ctx, t, 1000000), SEDX_TIMEOUT);
    assert_int_equal(sedx_context_collect_garbage(ctx), 0);
    assert_int_equal(sedx_context_pending_deletions(ctx), 1);
    /* open the gate from the host */
    tu_open_gate(ctx, gate);
    assert_int_equal(sedx_context_wait_idle(ctx), SEDX_SUCCESS);
    assert_int_equal(g_ran, 11);
    assert_int_equal(sedx_context_pending_deletions(ctx), 0);
    vkDestroySemaphore(sedx_context_device(ctx), gate, NULL);
    /* items still pending at destroy run then (destroy waits for the GPU first) */
    int hundred = 100;
    gate = tu_gate(ctx, SEDX_QUEUE_GRAPHICS, &t);
    uint64_t later[SEDX_QUEUE_COUNT] = {t.value, 0};
    assert_int_equal(sedx_context_defer(ctx, later, count_fn, &hundred), SEDX_SUCCESS);
    assert_int_equal(sedx_context_collect_garbage(ctx), 0);
    tu_open_gate(ctx, gate);
    assert_int_equal(sedx_ticket_wait(ctx, t, UINT64_MAX), SEDX_SUCCESS); /* collects nothing */
    vkDestroySemaphore(sedx_context_device(ctx), gate, NULL);
    assert_int_equal(sedx_context_pending_deletions(ctx), 1);
    assert_int_equal(g_ran, 11);
    tu_context_destroy(ctx);
    assert_int_equal(g_ran, 111);
}

/* A deferred item on a timeline value never submitted would wait until the context dies:
 * refused, nothing queued, fn never called. The last submitted value itself is fine. */
static void test_defer_refuses_unsubmitted_value(void **state)
{
    (void)state;
    sedx_context *ctx = tu_context(false);
    g_ran = 0;
    sedx_cmd cmd;
    sedx_ticket t;
    assert_int_equal(sedx_cmd_begin(ctx, SEDX_QUEUE_GRAPHICS, &cmd), SEDX_SUCCESS);
    assert_int_equal(sedx_cmd_submit(ctx, &cmd, NULL, &t), SEDX_SUCCESS);
    int one = 1;
    tu_log_capture();
    for (int q = 0; q < SEDX_QUEUE_COUNT; ++q) {
        uint64_t bad[3][SEDX_QUEUE_COUNT] = {{0}};
        bad[0][q] = sedx_context_submitted_value(ctx, (sedx_queue)q) + 1;
        bad[1][q] = UINT64_MAX - 1;
        bad[2][q] = UINT64_MAX;
        for (int k = 0; k < 3; ++k) {
            tu_log_reset();
            assert_int_equal(sedx_context_defer(ctx, bad[k], count_fn, &one), SEDX_ERROR_INVALID_ARGUMENT);
            assert_true(tu_log_count(SEDX_LOG_ERROR) >= 1);
            assert_true(tu_log_contains("never submitted"));
            assert_int_equal(sedx_context_pending_deletions(ctx), 0);
        }
    }
    log_restore();
    assert_int_equal(sedx_context_wait_idle(ctx), SEDX_SUCCESS);
    assert_int_equal(g_ran, 0);
    assert_round_trip(ctx);
    /* the values sedx did submit are accepted */
    uint64_t ok[SEDX_QUEUE_COUNT] = {sedx_context_submitted_value(ctx, SEDX_QUEUE_GRAPHICS),
                                     sedx_context_submitted_value(ctx, SEDX_QUEUE_TRANSFER)};
    assert_true(ok[0] >= t.value);
    assert_int_equal(sedx_context_defer(ctx, ok, count_fn, &one), SEDX_SUCCESS);
    assert_int_equal(sedx_context_wait_idle(ctx), SEDX_SUCCESS);
    assert_int_equal(g_ran, 1);
    tu_context_destroy(ctx);
    assert_int_equal(g_ran, 1);
}

/* wait_count > 0 with a NULL semaphore array (or a VK_NULL_HANDLE in it) is refused before
 * Vulkan sees it; NULL wait_stages means ALL_COMMANDS, NULL wait_values means 0. */
static void test_submit_refuses_null_wait_arrays(void **state)
{
    (void)state;
    sedx_context *ctx = tu_context(true);
    VkSemaphore gate;
    sedx_ticket gate_ticket;
    gate = tu_gate(ctx, SEDX_QUEUE_GRAPHICS, &gate_ticket);
    tu_open_gate(ctx, gate); /* gate now at 1: a wait on it passes */
    uint64_t one = 1;
    VkPipelineStageFlags stage = VK_PIPELINE_STAGE_ALL_COMMANDS_BIT;
    VkSemaphore null_sem = VK_NULL_HANDLE;
    const sedx_submit_info bad[] = {
        {1, NULL, &one, &stage},
        {3, NULL, NULL, NULL},
        {1, &null_sem, &one, &stage},
    };
    tu_log_capture();
    for (size_t i = 0; i < (sizeof bad / sizeof bad[0]); ++i) {
        sedx_cmd cmd;
        assert_int_equal(sedx_cmd_begin(ctx, SEDX_QUEUE_GRAPHICS, &cmd), SEDX_SUCCESS);
        tu_log_reset();
        assert_int_equal(sedx_cmd_submit(ctx, &cmd, &bad[i], NULL), SEDX_ERROR_INVALID_ARGUMENT);
        assert_true(tu_log_count(SEDX_LOG_ERROR) >= 1);
        assert_true(tu_log_contains("wait_semaphores"));
        sedx_cmd_discard(ctx, &cmd);
    }
    log_restore();
    /* NULL stages and NULL values are defaults, not errors */
    sedx_cmd cmd;
    sedx_ticket t;
    const sedx_submit_info no_stages = {1, &gate, &one, NULL};
    assert_int_equal(sedx_cmd_begin(ctx, SEDX_QUEUE_GRAPHICS, &cmd), SEDX_SUCCESS);
    assert_int_equal(sedx_cmd_submit(ctx, &cmd, &no_stages, &t), SEDX_SUCCESS);
    assert_int_equal(sedx_ticket_wait(ctx, t, UINT64_MAX), SEDX_SUCCESS);
    const sedx_submit_info no_values = {1, &gate, NULL, NULL};
    assert_int_equal(sedx_cmd_begin(ctx, SEDX_QUEUE_GRAPHICS, &cmd), SEDX_SUCCESS);
    assert_int_equal(sedx_cmd_submit(ctx, &cmd, &no_values, &t), SEDX_SUCCESS);
    assert_int_equal(sedx_ticket_wait(ctx, t, UINT64_MAX), SEDX_SUCCESS);
    assert_round_trip(ctx);
    vkDestroySemaphore(sedx_context_device(ctx), gate, NULL);
    tu_context_destroy(ctx); /* validation clean */
}

/* Records a fill of a CPU buffer (made visible to the host) into cmd. */
static void record_fill(sedx_cmd *cmd, const sedx_buffer *b, uint32_t pattern)
{
    vkCmdFillBuffer(cmd->cmd, sedx_buffer_vk(b), 0, VK_WHOLE_SIZE, pattern);
    VkMemoryBarrier mb = {VK_STRUCTURE_TYPE_MEMORY_BARRIER};
    mb.srcAccessMask = VK_ACCESS_TRANSFER_WRITE_BIT;
    mb.dstAccessMask = VK_ACCESS_HOST_READ_BIT;
    vkCmdPipelineBarrier(cmd->cmd, VK_PIPELINE_STAGE_TRANSFER_BIT, VK_PIPELINE_STAGE_HOST_BIT, 0, 1, &mb, 0, NULL, 0,
                         NULL);
}

static void assert_filled(const sedx_buffer *b, uint32_t pattern)
{
    const uint32_t *w = b->data;
    for (uint64_t i = 0; i < b->size / 4u; ++i) assert_int_equal(w[i], pattern);
}

/* A refused submit leaves the command buffer begun with its commands: the caller corrects the
 * info and submits it (the recorded work runs), or discards it. Validation stays clean. */
static void test_refused_submit_keeps_cmd(void **state)
{
    (void)state;
    sedx_context *ctx = tu_context(true);
    sedx_buffer b = {0};
    assert_int_equal(sedx_buffer_create(ctx, 4096, SEDX_BUFFER_USAGE_TRANSFER_DST, SEDX_MEMORY_CPU, "fill", &b),
                     SEDX_SUCCESS);
    memset(b.data, 0, 4096);
    VkSemaphore sems[9];
    uint64_t values[9] = {0};
    VkPipelineStageFlags stages[9];
    for (int i = 0; i < 9; ++i) {
        sems[i] = sedx_context_timeline(ctx, SEDX_QUEUE_GRAPHICS);
        stages[i] = VK_PIPELINE_STAGE_ALL_COMMANDS_BIT;
    }
    const sedx_submit_info too_many = {9, sems, values, stages};
    const sedx_submit_info no_sems = {1, NULL, values, stages};
    const sedx_submit_info *refusals[] = {&too_many, &no_sems};
    tu_log_capture();
    for (int k = 0; k < 2; ++k) {
        /* refused, corrected, submitted: the fill recorded before the refusal runs */
        sedx_cmd cmd;
        assert_int_equal(sedx_cmd_begin(ctx, SEDX_QUEUE_GRAPHICS, &cmd), SEDX_SUCCESS);
        const VkCommandBuffer vk_cmd = cmd.cmd;
        uint32_t pattern = 0xA5A50000u + (uint32_t)k;
        record_fill(&cmd, &b, pattern);
        tu_log_reset();
        sedx_ticket t = {0};
        assert_int_equal(sedx_cmd_submit(ctx, &cmd, refusals[k], &t), SEDX_ERROR_INVALID_ARGUMENT);
        assert_true(tu_log_count(SEDX_LOG_ERROR) >= 1);
        assert_int_equal(t.value, 0);
        assert_ptr_equal(cmd.cmd, vk_cmd);
        const sedx_submit_info fixed = {1, sems, values, stages};
        assert_int_equal(sedx_cmd_submit(ctx, &cmd, &fixed, &t), SEDX_SUCCESS);
        assert_null(cmd.cmd);
        assert_int_equal(sedx_ticket_wait(ctx, t, UINT64_MAX), SEDX_SUCCESS);
        assert_filled(&b, pattern);
        /* refused, then discarded: nothing runs, the slot is free again */
        assert_int_equal(sedx_cmd_begin(ctx, SEDX_QUEUE_GRAPHICS, &cmd), SEDX_SUCCESS);
        record_fill(&cmd, &b, 0xDEADu);
        assert_int_equal(sedx_cmd_submit(ctx, &cmd, refusals[k], NULL), SEDX_ERROR_INVALID_ARGUMENT);
        assert_non_null(cmd.cmd);
        sedx_cmd_discard(ctx, &cmd);
        assert_null(cmd.cmd);
        assert_int_equal(sedx_cmd_submit(ctx, &cmd, NULL, NULL), SEDX_ERROR_INVALID_ARGUMENT);
        assert_int_equal(sedx_context_wait_idle(ctx), SEDX_SUCCESS);
        assert_filled(&b, pattern);
    }
    log_restore();
    /* every slot still cycles: more submissions than the ring holds */
    for (int i = 0; i < 70; ++i) {
        sedx_cmd cmd;
        assert_int_equal(sedx_cmd_begin(ctx, SEDX_QUEUE_GRAPHICS, &cmd), SEDX_SUCCESS);
        assert_int_equal(sedx_cmd_submit(ctx, &cmd, NULL, NULL), SEDX_SUCCESS);
    }
    sedx_buffer_release(&b);
    assert_round_trip(ctx);
    tu_context_destroy(ctx); /* validation clean */
}

static void test_bad_input(void **state)
{
    (void)state;
    tu_log_capture();
    sedx_context *ctx = (sedx_context *)0x1;
    sedx_context_info info = {0};
    assert_int_equal(sedx_context_create(NULL, &ctx), SEDX_ERROR_INVALID_ARGUMENT);
    assert_int_equal(sedx_context_create(&info, NULL), SEDX_ERROR_INVALID_ARGUMENT);
    info.api_version = VK_API_VERSION_1_1;
    assert_int_equal(sedx_context_create(&info, &ctx), SEDX_ERROR_UNSUPPORTED_VERSION);
    assert_null(ctx);
    assert_true(tu_log_contains("1.2"));
    info.api_version = VK_MAKE_API_VERSION(0, 1, 9, 0);
    assert_int_equal(sedx_context_create(&info, &ctx), SEDX_ERROR_UNSUPPORTED_VERSION);
    info.api_version = 0;
    info.device = "no-such-device-anywhere";
    assert_int_equal(sedx_context_create(&info, &ctx), SEDX_ERROR_NO_DEVICE);
    assert_true(tu_log_contains("no-such-device-anywhere"));
    info.device = "57";
    assert_int_equal(sedx_context_create(&info, &ctx), SEDX_ERROR_NO_DEVICE);
    /* SEDX_DEVICE in the environment */
    info.device = NULL;
    setenv("SEDX_DEVICE", "no-such-device-either", 1);
    assert_int_equal(sedx_context_create(&info, &ctx), SEDX_ERROR_NO_DEVICE);
    setenv("SEDX_DEVICE", "0", 1);
    assert_int_equal(sedx_context_create(&info, &ctx), SEDX_SUCCESS);
    sedx_context_destroy(ctx);
    unsetenv("SEDX_DEVICE");
    /* NULL handles everywhere: defined results, no crash */
    sedx_context_destroy(NULL);
    assert_null(sedx_context_device(NULL));
    assert_int_equal(sedx_context_collect_garbage(NULL), 0);
    assert_int_equal(sedx_context_wait_idle(NULL), SEDX_ERROR_INVALID_ARGUMENT);
    sedx_cmd cmd;
    assert_int_equal(sedx_cmd_begin(NULL, SEDX_QUEUE_GRAPHICS, &cmd), SEDX_ERROR_INVALID_ARGUMENT);
    assert_int_equal(sedx_cmd_submit(NULL, &cmd, NULL, NULL), SEDX_ERROR_INVALID_ARGUMENT);
    assert_int_equal(sedx_context_defer(NULL, NULL, count_fn, NULL), SEDX_ERROR_INVALID_ARGUMENT);
    sedx_set_logger(NULL, NULL);
}

/* Flag bits sedx does not define are refused (before any Vulkan object is made), not ignored. */
static void test_unknown_context_flags(void **state)
{
    (void)state;
    tu_log_capture();
    const uint32_t bad[] = {0xFFFFFFC0u, 0x40u, 0x80000000u, SEDX_CONTEXT_VALIDATION | 0x100u};
    for (size_t i = 0; i < sizeof bad / sizeof bad[0]; ++i) {
        sedx_context_info info = {0};
        info.flags = bad[i];
        sedx_context *ctx = (sedx_context *)0x1;
        tu_log_reset();
        assert_int_equal(sedx_context_create(&info, &ctx), SEDX_ERROR_INVALID_ARGUMENT);
        assert_null(ctx);
        assert_true(tu_log_count(SEDX_LOG_ERROR) >= 1);
        assert_true(tu_log_contains("unknown"));
    }
    assert_int_equal(bad[0] & SEDX_CONTEXT_FLAGS_ALL, 0);
    log_restore();
    /* every defined bit is accepted */
    sedx_context *ctx = tu_context_flags(SEDX_CONTEXT_FLAGS_ALL & ~(uint32_t)SEDX_CONTEXT_SYNC_VALIDATION, NULL);
    assert_round_trip(ctx);
    tu_context_destroy(ctx);
}

/* The application owns instance and device; sedx adopts them and leaves them alive. */
static void test_adopt_application_device(void **state)
{
    (void)state;
    VkApplicationInfo app = {VK_STRUCTURE_TYPE_APPLICATION_INFO};
    app.apiVersion = VK_API_VERSION_1_2;
    VkInstanceCreateInfo ici = {VK_STRUCTURE_TYPE_INSTANCE_CREATE_INFO};
    ici.pApplicationInfo = &app;
    VkInstance inst;
    assert_int_equal(vkCreateInstance(&ici, NULL, &inst), VK_SUCCESS);
    uint32_t n = 1;
    VkPhysicalDevice pd;
    VkResult vr = vkEnumeratePhysicalDevices(inst, &n, &pd);
    assert_true(vr == VK_SUCCESS || vr == VK_INCOMPLETE);
    float prio = 1.0f;
    VkDeviceQueueCreateInfo qci = {VK_STRUCTURE_TYPE_DEVICE_QUEUE_CREATE_INFO};
    qci.queueFamilyIndex = 0;
    qci.queueCount = 1;
    qci.pQueuePriorities = &prio;
    VkPhysicalDeviceVulkan12Features f12 = {VK_STRUCTURE_TYPE_PHYSICAL_DEVICE_VULKAN_1_2_FEATURES};
    f12.timelineSemaphore = VK_TRUE;
    VkDeviceCreateInfo dci = {VK_STRUCTURE_TYPE_DEVICE_CREATE_INFO};
    dci.pNext = &f12;
    dci.queueCreateInfoCount = 1;
    dci.pQueueCreateInfos = &qci;
    VkDevice dev;
    assert_int_equal(vkCreateDevice(pd, &dci, NULL, &dev), VK_SUCCESS);
    VkQueue queue;
    vkGetDeviceQueue(dev, 0, 0, &queue);

    sedx_vulkan_objects o = {0};
    o.instance = inst;
    o.physical_device = pd;
    o.device = dev;
    o.api_version = VK_API_VERSION_1_2;
    o.graphics_queue = queue;
    o.graphics_queue_family = 0;
    o.enabled_features = SEDX_FEATURE_TIMELINE_SEMAPHORE;
    sedx_context *ctx = NULL;
    assert_int_equal(sedx_context_create_from_vulkan(NULL, NULL, &ctx), SEDX_ERROR_INVALID_ARGUMENT);
    sedx_vulkan_objects bad = o;
    bad.device = VK_NULL_HANDLE;
    assert_int_equal(sedx_context_create_from_vulkan(&bad, NULL, &ctx), SEDX_ERROR_INVALID_ARGUMENT);
    /* feature bits sedx does not define */
    tu_log_capture();
    bad = o;
    bad.enabled_features = SEDX_FEATURE_TIMELINE_SEMAPHORE | 0x80000000u;
    assert_int_equal(sedx_context_create_from_vulkan(&bad, NULL, &ctx), SEDX_ERROR_INVALID_ARGUMENT);
    assert_null(ctx);
    assert_true(tu_log_contains("unknown"));
    assert_int_equal(0x80000000u & SEDX_DEVICE_FEATURES_ALL, 0);
    /* queue family indices the device does not have */
    uint32_t n_families = 0;
    vkGetPhysicalDeviceQueueFamilyProperties(pd, &n_families, NULL);
    bad = o;
    bad.graphics_queue_family = n_families;
    assert_int_equal(sedx_context_create_from_vulkan(&bad, NULL, &ctx), SEDX_ERROR_INVALID_ARGUMENT);
    assert_null(ctx);
    assert_true(tu_log_contains("graphics_queue_family"));
    bad = o;
    bad.transfer_queue = queue;
    bad.transfer_queue_family = 99;
    assert_int_equal(sedx_context_create_from_vulkan(&bad, NULL, &ctx), SEDX_ERROR_INVALID_ARGUMENT);
    assert_null(ctx);
    assert_true(tu_log_contains("transfer_queue_family"));
    log_restore();
    assert_int_equal(sedx_context_create_from_vulkan(&o, NULL, &ctx), SEDX_SUCCESS);
    assert_ptr_equal(sedx_context_device(ctx), dev);
    sedx_cmd cmd;
    sedx_ticket t;
    assert_int_equal(sedx_cmd_begin(ctx, SEDX_QUEUE_TRANSFER, &cmd), SEDX_SUCCESS);
    assert_int_equal(sedx_cmd_submit(ctx, &cmd, NULL, &t), SEDX_SUCCESS);
    assert_int_equal(sedx_ticket_wait(ctx, t, UINT64_MAX), SEDX_SUCCESS);
    assert_round_trip(ctx);
    sedx_context_destroy(ctx);
    /* still ours and alive */
    assert_int_equal(vkDeviceWaitIdle(dev), VK_SUCCESS);
    vkDestroyDevice(dev, NULL);
    vkDestroyInstance(inst, NULL);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_create_and_report),
        cmocka_unit_test(test_validation_counts_errors),
        cmocka_unit_test(test_submit_ticket_and_deferred),
        cmocka_unit_test(test_deletion_queue_waits_for_timeline),
        cmocka_unit_test(test_bad_input),
        cmocka_unit_test(test_defer_refuses_unsubmitted_value),
        cmocka_unit_test(test_submit_refuses_null_wait_arrays),
        cmocka_unit_test(test_refused_submit_keeps_cmd),
        cmocka_unit_test(test_unknown_context_flags),
        cmocka_unit_test(test_adopt_application_device),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
