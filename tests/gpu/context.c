/* Context on a real Vulkan device, validation on: creation, queues, submissions, tickets,
 * deletion queue, adoption of application objects, and every bad input. */
#include "test_util.h"

#include <stdlib.h>
#include <string.h>

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
    /* items still pending at destroy run then */
    int hundred = 100;
    uint64_t never[SEDX_QUEUE_COUNT] = {UINT64_MAX - 1, 0};
    assert_int_equal(sedx_context_defer(ctx, never, count_fn, &hundred), SEDX_SUCCESS);
    tu_context_destroy(ctx);
    assert_int_equal(g_ran, 111);
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
    assert_int_equal(sedx_context_create_from_vulkan(&o, NULL, &ctx), SEDX_SUCCESS);
    assert_ptr_equal(sedx_context_device(ctx), dev);
    sedx_cmd cmd;
    sedx_ticket t;
    assert_int_equal(sedx_cmd_begin(ctx, SEDX_QUEUE_TRANSFER, &cmd), SEDX_SUCCESS);
    assert_int_equal(sedx_cmd_submit(ctx, &cmd, NULL, &t), SEDX_SUCCESS);
    assert_int_equal(sedx_ticket_wait(ctx, t, UINT64_MAX), SEDX_SUCCESS);
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
        cmocka_unit_test(test_adopt_application_device),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
