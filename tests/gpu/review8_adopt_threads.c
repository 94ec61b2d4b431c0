/* Review 8 (adversarial): sedx_context_create_from_vulkan on an application's own instance and
 * device, beyond tests/gpu/context.c's test_adopt_application_device.
 *
 * The application's instance has the Khronos validation layer and a messenger of its own (the
 * adopted context has none): every test fails on any validation error or warning.
 *  - test_same_queue_both_kinds: the application hands the same VkQueue as graphics_queue and
 *    transfer_queue. sedx_context_lock_queue(GRAPHICS) is the application's way to serialise
 *    its own submissions with sedx's (context.h): while it is held, no sedx submission may reach
 *    that VkQueue, whichever sedx_queue kind it is recorded for (a thread's TRANSFER submit
 *    must wait for the unlock). Uploads through the staging ring checked byte by byte.
 *  - test_no_timeline_semaphores: a device without timelineSemaphore: every submission is
 *    refused with SEDX_ERROR_FEATURE_NOT_PRESENT, direct uploads and CPU buffers still work,
 *    nothing hangs, the context is destroyed cleanly, the application's device stays alive.
 *  - test_claimed_features_missing: enabled_features claims acceleration structures and the
 *    ray-tracing pipeline on a device created without those extensions: sedx drops them (the
 *    entry points are missing), every ray-tracing call and usage is refused with
 *    SEDX_ERROR_FEATURE_NOT_PRESENT, nothing else changes.
 *  - test_two_contexts_one_device: a second context adopts the first one's device and queues;
 *    each keeps its own buffers, tickets and reservations (WRONG_CONTEXT / INVALID_HANDLE
 *    across), destroying the adopting one leaves the first working.
 *  - test_adopt_api_version: api_version below 1.2 (1.1, 1.0, 0) or with a variant (0xFFFFFFFF
 *    included) refused with SEDX_ERROR_UNSUPPORTED_VERSION before anything is created; one above
 *    the device's (1.9) taken as the device's; the contexts made afterwards work.
 */
#include "test_util.h"

#include <pthread.h>
#include <stdatomic.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

static atomic_uint g_vk_errors, g_vk_warnings;

static void log_restore(void)
{
    sedx_set_logger(NULL, NULL);
    sedx_set_log_level(SEDX_LOG_WARN);
}

static VKAPI_ATTR VkBool32 VKAPI_CALL app_messenger(VkDebugUtilsMessageSeverityFlagBitsEXT severity,
                                                    VkDebugUtilsMessageTypeFlagsEXT types,
                                                    const VkDebugUtilsMessengerCallbackDataEXT *data, void *user)
{
    (void)types;
    (void)user;
    if (severity & VK_DEBUG_UTILS_MESSAGE_SEVERITY_ERROR_BIT_EXT) atomic_fetch_add(&g_vk_errors, 1);
    else if (severity & VK_DEBUG_UTILS_MESSAGE_SEVERITY_WARNING_BIT_EXT) atomic_fetch_add(&g_vk_warnings, 1);
    else return VK_FALSE;
    fprintf(stderr, "  application's validation: %s\n", data && data->pMessage ? data->pMessage : "?");
    return VK_FALSE;
}

typedef struct app {
    VkInstance inst;
    VkDebugUtilsMessengerEXT messenger;
    VkPhysicalDevice pd;
    VkDevice dev;
    VkQueue queue;
    uint32_t family;
    sedx_vulkan_objects o;
} app;

/* The application's instance (validation on) and a device with one queue of family 0;
 * timeline semaphores and buffer device address as asked. */
static void app_create(app *a, bool timeline, bool bda)
{
    memset(a, 0, sizeof *a);
    atomic_store(&g_vk_errors, 0);
    atomic_store(&g_vk_warnings, 0);
    VkApplicationInfo ai = {VK_STRUCTURE_TYPE_APPLICATION_INFO};
    ai.apiVersion = VK_API_VERSION_1_2;
    const char *layer = "VK_LAYER_KHRONOS_validation";
    const char *ext = VK_EXT_DEBUG_UTILS_EXTENSION_NAME;
    VkDebugUtilsMessengerCreateInfoEXT mci = {VK_STRUCTURE_TYPE_DEBUG_UTILS_MESSENGER_CREATE_INFO_EXT};
    mci.messageSeverity = VK_DEBUG_UTILS_MESSAGE_SEVERITY_WARNING_BIT_EXT | VK_DEBUG_UTILS_MESSAGE_SEVERITY_ERROR_BIT_EXT;
    mci.messageType = VK_DEBUG_UTILS_MESSAGE_TYPE_VALIDATION_BIT_EXT | VK_DEBUG_UTILS_MESSAGE_TYPE_GENERAL_BIT_EXT;
    mci.pfnUserCallback = app_messenger;
    VkInstanceCreateInfo ici = {VK_STRUCTURE_TYPE_INSTANCE_CREATE_INFO};
    ici.pApplicationInfo = &ai;
    ici.enabledLayerCount = 1;
    ici.ppEnabledLayerNames = &layer;
    ici.enabledExtensionCount = 1;
    ici.ppEnabledExtensionNames = &ext;
    ici.pNext = &mci;
    assert_int_equal(vkCreateInstance(&ici, NULL, &a->inst), VK_SUCCESS);
    PFN_vkCreateDebugUtilsMessengerEXT create_messenger =
        (PFN_vkCreateDebugUtilsMessengerEXT)vkGetInstanceProcAddr(a->inst, "vkCreateDebugUtilsMessengerEXT");
    assert_non_null(create_messenger);
    assert_int_equal(create_messenger(a->inst, &mci, NULL, &a->messenger), VK_SUCCESS);
    uint32_t n = 1;
    VkResult vr = vkEnumeratePhysicalDevices(a->inst, &n, &a->pd);
    assert_true((vr == VK_SUCCESS || vr == VK_INCOMPLETE) && n == 1);
    float prio = 1.0f;
    VkDeviceQueueCreateInfo qci = {VK_STRUCTURE_TYPE_DEVICE_QUEUE_CREATE_INFO};
    qci.queueFamilyIndex = 0;
    qci.queueCount = 1;
    qci.pQueuePriorities = &prio;
    VkPhysicalDeviceVulkan12Features f12 = {VK_STRUCTURE_TYPE_PHYSICAL_DEVICE_VULKAN_1_2_FEATURES};
    f12.timelineSemaphore = timeline;
    f12.bufferDeviceAddress = bda;
    VkDeviceCreateInfo dci = {VK_STRUCTURE_TYPE_DEVICE_CREATE_INFO};
    dci.pNext = &f12;
    dci.queueCreateInfoCount = 1;
    dci.pQueueCreateInfos = &qci;
    assert_int_equal(vkCreateDevice(a->pd, &dci, NULL, &a->dev), VK_SUCCESS);
    vkGetDeviceQueue(a->dev, 0, 0, &a->queue);
    a->family = 0;
    a->o.instance = a->inst;
    a->o.physical_device = a->pd;
    a->o.device = a->dev;
    a->o.api_version = VK_API_VERSION_1_2;
    a->o.graphics_queue = a->queue;
    a->o.graphics_queue_family = 0;
    a->o.enabled_features = (timeline ? SEDX_FEATURE_TIMELINE_SEMAPHORE : 0u) |
                            (bda ? SEDX_FEATURE_BUFFER_DEVICE_ADDRESS : 0u);
}

/* The application's objects are still alive and usable after sedx is gone; then destroyed. */
static void app_destroy(app *a)
{
    assert_int_equal(vkDeviceWaitIdle(a->dev), VK_SUCCESS);
    VkFence fence;
    VkFenceCreateInfo fci = {VK_STRUCTURE_TYPE_FENCE_CREATE_INFO};
    assert_int_equal(vkCreateFence(a->dev, &fci, NULL, &fence), VK_SUCCESS);
    assert_int_equal(vkQueueSubmit(a->queue, 0, NULL, fence), VK_SUCCESS); /* the queue still works */
    assert_int_equal(vkWaitForFences(a->dev, 1, &fence, VK_TRUE, UINT64_MAX), VK_SUCCESS);
    vkDestroyFence(a->dev, fence, NULL);
    vkDestroyDevice(a->dev, NULL);
    PFN_vkDestroyDebugUtilsMessengerEXT destroy_messenger =
        (PFN_vkDestroyDebugUtilsMessengerEXT)vkGetInstanceProcAddr(a->inst, "vkDestroyDebugUtilsMessengerEXT");
    destroy_messenger(a->inst, a->messenger, NULL);
    vkDestroyInstance(a->inst, NULL);
    assert_int_equal(atomic_load(&g_vk_errors), 0);
    assert_int_equal(atomic_load(&g_vk_warnings), 0);
}

/* n random bytes into a fresh GPU buffer through sedx_upload and a reservation, read back. */
static void round_trip(sedx_context *ctx, uint64_t *rng, uint64_t n)
{
    uint8_t *ref = malloc(n), *got = malloc(n);
    tu_fill_random(ref, n, rng);
    memset(got, 0, n);
    sedx_buffer b;
    assert_int_equal(sedx_buffer_create(ctx, n, SEDX_BUFFER_USAGE_STORAGE, SEDX_MEMORY_GPU, "review8 adopt", &b),
                     SEDX_SUCCESS);
    assert_int_equal(sedx_upload(ctx, &b, 0, n / 2, ref), SEDX_SUCCESS);
    sedx_upload_reservation rv;
    assert_int_equal(sedx_upload_reserve(ctx, &b, n / 2, n - n / 2, &rv), SEDX_SUCCESS);
    memcpy(rv.data, ref + n / 2, n - n / 2);
    assert_int_equal(sedx_upload_commit(ctx, &rv), SEDX_SUCCESS);
    assert_int_equal(sedx_upload_flush(ctx), SEDX_SUCCESS);
    assert_int_equal(sedx_download(ctx, &b, 0, n, got), SEDX_SUCCESS);
    assert_memory_equal(got, ref, n);
    sedx_buffer_release(&b);
    free(ref);
    free(got);
}

static void staged(sedx_context *ctx)
{
    sedx_transfer_info ti = {0};
    ti.flags = SEDX_TRANSFER_NO_DIRECT;
    assert_int_equal(sedx_transfer_configure(ctx, &ti), SEDX_SUCCESS);
}

typedef struct submitter {
    sedx_context *ctx;
    sedx_queue kind;
    atomic_int done;
    sedx_result r;
} submitter;

static void *submit_one(void *arg)
{
    submitter *s = arg;
    sedx_cmd cmd;
    sedx_ticket t = {0};
    s->r = sedx_cmd_begin(s->ctx, s->kind, &cmd);
    if (s->r == SEDX_SUCCESS) s->r = sedx_cmd_submit(s->ctx, &cmd, NULL, &t);
    atomic_store(&s->done, 1);
    if (s->r == SEDX_SUCCESS) s->r = sedx_ticket_wait(s->ctx, t, UINT64_MAX);
    return NULL;
}

static void sleep_ms(long ms)
{
    struct timespec ts = {ms / 1000, (ms % 1000) * 1000000L};
    nanosleep(&ts, NULL);
}

/* Does a sedx submission of kind reach the application's VkQueue while the application holds
 * sedx_context_lock_queue(GRAPHICS)? It must not (the queue is the same). */
static void expect_held_back(sedx_context *ctx, sedx_queue kind)
{
    submitter s = {ctx, kind, 0, SEDX_SUCCESS};
    pthread_t th;
    sedx_context_lock_queue(ctx, SEDX_QUEUE_GRAPHICS);
    assert_int_equal(pthread_create(&th, NULL, submit_one, &s), 0);
    sleep_ms(400); /* an unblocked submit takes well under a millisecond */
    int early = atomic_load(&s.done);
    sedx_context_unlock_queue(ctx, SEDX_QUEUE_GRAPHICS);
    pthread_join(th, NULL);
    if (early) fprintf(stderr, "a sedx submission (queue kind %d) reached the VkQueue while the application held "
                               "sedx_context_lock_queue(GRAPHICS)\n", (int)kind);
    assert_false(early);
    assert_int_equal(s.r, SEDX_SUCCESS);
    assert_int_equal(atomic_load(&s.done), 1);
}

static void test_same_queue_both_kinds(void **state)
{
    (void)state;
    uint64_t rng = tu_seed();
    app a;
    app_create(&a, true, false);
    a.o.transfer_queue = a.queue; /* the same VkQueue for both */
    a.o.transfer_queue_family = a.family;
    sedx_context *ctx = NULL;
    assert_int_equal(sedx_context_create_from_vulkan(&a.o, NULL, &ctx), SEDX_SUCCESS);
    assert_ptr_equal(sedx_context_queue(ctx, SEDX_QUEUE_TRANSFER, NULL), a.queue);
    assert_ptr_equal(sedx_context_queue(ctx, SEDX_QUEUE_GRAPHICS, NULL), a.queue);
    staged(ctx);
    expect_held_back(ctx, SEDX_QUEUE_GRAPHICS);
    expect_held_back(ctx, SEDX_QUEUE_TRANSFER);
    for (int i = 0; i < 4; ++i) round_trip(ctx, &rng, 4096u + (uint64_t)(tu_rand(&rng) % 65536u) * 16u);
    sedx_context_destroy(ctx);
    app_destroy(&a);
}

static void test_no_timeline_semaphores(void **state)
{
    (void)state;
    uint64_t rng = tu_seed() ^ 0x7711;
    app a;
    app_create(&a, false, false);
    sedx_context *ctx = NULL;
    tu_log_capture();
    assert_int_equal(sedx_context_create_from_vulkan(&a.o, NULL, &ctx), SEDX_SUCCESS);
    sedx_cmd cmd = {0};
    assert_int_equal(sedx_cmd_begin(ctx, SEDX_QUEUE_GRAPHICS, &cmd), SEDX_ERROR_FEATURE_NOT_PRESENT);
    assert_int_equal(sedx_cmd_begin(ctx, SEDX_QUEUE_TRANSFER, &cmd), SEDX_ERROR_FEATURE_NOT_PRESENT);
    assert_null(cmd.cmd);
    /* CPU buffers and direct writes need no submission */
    enum { N = 8192 };
    static uint8_t ref[N], got[N];
    tu_fill_random(ref, N, &rng);
    sedx_buffer cpu;
    assert_int_equal(sedx_buffer_create(ctx, N, SEDX_BUFFER_USAGE_STORAGE, SEDX_MEMORY_CPU, "review8 cpu", &cpu),
                     SEDX_SUCCESS);
    assert_int_equal(sedx_buffer_write(&cpu, ref, N, 0), SEDX_SUCCESS);
    memset(got, 0, N);
    assert_int_equal(sedx_buffer_read(&cpu, got, N, 0), SEDX_SUCCESS);
    assert_memory_equal(got, ref, N);
    /* a staged upload cannot be submitted: refused, not hung */
    staged(ctx);
    sedx_buffer gpu;
    assert_int_equal(sedx_buffer_create(ctx, N, SEDX_BUFFER_USAGE_STORAGE, SEDX_MEMORY_GPU, "review8 gpu", &gpu),
                     SEDX_SUCCESS);
    sedx_result r = sedx_upload(ctx, &gpu, 0, N, ref);
    if (r == SEDX_SUCCESS) r = sedx_upload_flush(ctx);
    assert_int_equal(r, SEDX_ERROR_FEATURE_NOT_PRESENT);
    sedx_upload_reservation rv;
    r = sedx_upload_reserve(ctx, &gpu, 0, 256, &rv);
    if (r == SEDX_SUCCESS) {
        memset(rv.data, 0xA5, 256);
        r = sedx_upload_commit(ctx, &rv);
        if (r == SEDX_SUCCESS) r = sedx_upload_flush(ctx);
    }
    assert_int_equal(r, SEDX_ERROR_FEATURE_NOT_PRESENT);
    /* the CPU buffer still works after the refusals; the context waits for nothing */
    tu_fill_random(ref, N, &rng);
    assert_int_equal(sedx_buffer_write(&cpu, ref, N, 0), SEDX_SUCCESS);
    assert_int_equal(sedx_buffer_read(&cpu, got, N, 0), SEDX_SUCCESS);
    assert_memory_equal(got, ref, N);
    assert_int_equal(sedx_context_wait_idle(ctx), SEDX_SUCCESS);
    sedx_buffer_release(&gpu);
    sedx_buffer_release(&cpu);
    /* the batch that never went out is dropped at destroy, said once (an ERROR), and its
     * references with it: the released buffer is not reported as never released */
    tu_log_reset();
    sedx_context_destroy(ctx);
    assert_false(tu_log_contains("never released"));
    assert_true(tu_log_contains("could not be submitted"));
    log_restore();
    app_destroy(&a);
}

static void test_claimed_features_missing(void **state)
{
    (void)state;
    app a;
    app_create(&a, true, true);
    a.o.enabled_features |= SEDX_FEATURE_ACCELERATION_STRUCTURE | SEDX_FEATURE_RAY_TRACING_PIPELINE;
    sedx_context *ctx = NULL;
    tu_log_capture();
    assert_int_equal(sedx_context_create_from_vulkan(&a.o, NULL, &ctx), SEDX_SUCCESS);
    assert_int_equal(sedx_context_features(ctx) & (SEDX_FEATURE_ACCELERATION_STRUCTURE |
                                                   SEDX_FEATURE_RAY_TRACING_PIPELINE), 0);
    assert_true(tu_log_contains("ray tracing off"));
    sedx_buffer b = {0};
    sedx_buffer_usage_flags rt_usages[] = {SEDX_BUFFER_USAGE_ACCELERATION_STRUCTURE_INPUT,
                                           SEDX_BUFFER_USAGE_ACCELERATION_STRUCTURE,
                                           SEDX_BUFFER_USAGE_SHADER_BINDING_TABLE};
    for (int i = 0; i < 3; ++i) {
        assert_int_equal(sedx_buffer_create(ctx, 256, rt_usages[i], SEDX_MEMORY_GPU, "review8 rt", &b),
                         SEDX_ERROR_FEATURE_NOT_PRESENT);
        assert_null(b.resource);
    }
    sedx_buffer vb;
    assert_int_equal(sedx_buffer_create(ctx, 36, SEDX_BUFFER_USAGE_STORAGE, SEDX_MEMORY_GPU, "review8 v", &vb),
                     SEDX_SUCCESS);
    sedx_as_triangles tri = {0};
    tri.vertices = &vb;
    tri.vertex_count = 3;
    sedx_blas_info bi = {&tri, 1, 0, "review8 blas"};
    sedx_acceleration_structure as;
    memset(&as, 0x5A, sizeof as);
    sedx_acceleration_structure before = as;
    assert_int_equal(sedx_blas_build(ctx, &bi, 1, &as, NULL), SEDX_ERROR_FEATURE_NOT_PRESENT);
    assert_memory_equal(&as, &before, sizeof as);
    sedx_raytracing_properties p;
    assert_int_equal(sedx_raytracing_get_properties(ctx, &p), SEDX_ERROR_FEATURE_NOT_PRESENT);
    sedx_buffer scratch = {0};
    assert_int_equal(sedx_as_scratch_create(ctx, 256, "review8 scratch", &scratch), SEDX_ERROR_FEATURE_NOT_PRESENT);
    assert_null(scratch.resource);
    assert_int_equal(sedx_acceleration_structure_count(ctx), 0);
    log_restore();
    uint64_t rng = tu_seed() ^ 0x3131;
    round_trip(ctx, &rng, 3000);
    sedx_buffer_release(&vb);
    sedx_context_destroy(ctx);
    app_destroy(&a);
}

static void test_two_contexts_one_device(void **state)
{
    (void)state;
    uint64_t rng = tu_seed() ^ 0x2222;
    sedx_context *first = tu_context(false);
    sedx_vulkan_objects o = {0};
    o.instance = sedx_context_instance(first);
    o.physical_device = sedx_context_physical_device(first);
    o.device = sedx_context_device(first);
    o.api_version = sedx_context_api_version(first);
    o.graphics_queue = sedx_context_queue(first, SEDX_QUEUE_GRAPHICS, &o.graphics_queue_family);
    if (sedx_context_has_transfer_queue(first))
        o.transfer_queue = sedx_context_queue(first, SEDX_QUEUE_TRANSFER, &o.transfer_queue_family);
    o.enabled_features = sedx_context_features(first);
    sedx_context *second = NULL;
    assert_int_equal(sedx_context_create_from_vulkan(&o, NULL, &second), SEDX_SUCCESS);
    assert_ptr_equal(sedx_context_device(second), sedx_context_device(first));
    staged(second);
    round_trip(first, &rng, 5000);
    round_trip(second, &rng, 7000);
    /* each context's objects stay its own */
    sedx_buffer a1, b2;
    assert_int_equal(sedx_buffer_create(first, 4096, SEDX_BUFFER_USAGE_STORAGE, SEDX_MEMORY_GPU, "review8 first", &a1),
                     SEDX_SUCCESS);
    assert_int_equal(sedx_buffer_create(second, 4096, SEDX_BUFFER_USAGE_STORAGE, SEDX_MEMORY_GPU, "review8 second", &b2),
                     SEDX_SUCCESS);
    uint8_t bytes[4096], got[4096];
    tu_fill_random(bytes, sizeof bytes, &rng);
    tu_log_capture();
    assert_int_equal(sedx_upload(second, &a1, 0, 16, bytes), SEDX_ERROR_WRONG_CONTEXT);
    assert_int_equal(sedx_upload(first, &b2, 0, 16, bytes), SEDX_ERROR_WRONG_CONTEXT);
    sedx_upload_reservation r1, r2;
    assert_int_equal(sedx_upload_reserve(first, &a1, 0, 4096, &r1), SEDX_SUCCESS);
    assert_int_equal(sedx_upload_reserve(second, &b2, 0, 4096, &r2), SEDX_SUCCESS);
    assert_int_equal(sedx_upload_commit(second, &r1), SEDX_ERROR_INVALID_HANDLE);
    assert_int_equal(sedx_upload_cancel(first, &r2), SEDX_ERROR_INVALID_HANDLE);
    assert_non_null(r1.data);
    assert_non_null(r2.data);
    memcpy(r1.data, bytes, sizeof bytes);
    for (size_t i = 0; i < sizeof bytes; ++i) ((uint8_t *)r2.data)[i] = (uint8_t)~bytes[i];
    sedx_ticket t1 = {0}, t2 = {0};
    assert_int_equal(sedx_upload_commit(first, &r1), SEDX_SUCCESS);
    assert_int_equal(sedx_upload_commit(second, &r2), SEDX_SUCCESS);
    assert_int_equal(sedx_upload_submit(first, &t1), SEDX_SUCCESS);
    assert_int_equal(sedx_upload_submit(second, &t2), SEDX_SUCCESS);
    if (t1.value) assert_int_equal(sedx_ticket_wait(second, t1, 0), SEDX_ERROR_WRONG_CONTEXT);
    if (t2.value) assert_int_equal(sedx_ticket_wait(first, t2, 0), SEDX_ERROR_WRONG_CONTEXT);
    log_restore();
    assert_int_equal(sedx_ticket_wait(first, t1, UINT64_MAX), SEDX_SUCCESS);
    assert_int_equal(sedx_ticket_wait(second, t2, UINT64_MAX), SEDX_SUCCESS);
    assert_int_equal(sedx_download(first, &a1, 0, sizeof got, got), SEDX_SUCCESS);
    assert_memory_equal(got, bytes, sizeof got);
    assert_int_equal(sedx_download(second, &b2, 0, sizeof got, got), SEDX_SUCCESS);
    for (size_t i = 0; i < sizeof bytes; ++i) assert_int_equal(got[i], (uint8_t)~bytes[i]);
    /* the adopting context goes (with a buffer of its own released in flight); the first works on */
    assert_int_equal(sedx_upload(second, &b2, 0, sizeof bytes, bytes), SEDX_SUCCESS);
    assert_int_equal(sedx_upload_submit(second, NULL), SEDX_SUCCESS);
    sedx_buffer_release(&b2);
    sedx_context_destroy(second);
    round_trip(first, &rng, 9000);
    assert_int_equal(sedx_download(first, &a1, 0, sizeof got, got), SEDX_SUCCESS);
    assert_memory_equal(got, bytes, sizeof got);
    sedx_buffer_release(&a1);
    tu_context_destroy(first);
}

static void test_adopt_api_version(void **state)
{
    (void)state;
    app a;
    app_create(&a, true, false);
    const uint32_t bad[] = {VK_API_VERSION_1_1, VK_API_VERSION_1_0, 0u, 0xFFFFFFFFu, VK_MAKE_API_VERSION(1, 1, 2, 0)};
    tu_log_capture();
    for (size_t i = 0; i < sizeof bad / sizeof bad[0]; ++i) {
        sedx_vulkan_objects o = a.o;
        o.api_version = bad[i];
        sedx_context *ctx = (sedx_context *)0x1;
        tu_log_reset();
        assert_int_equal(sedx_context_create_from_vulkan(&o, NULL, &ctx), SEDX_ERROR_UNSUPPORTED_VERSION);
        assert_null(ctx);
        assert_true(tu_log_contains("1.2"));
    }
    log_restore();
    /* above the device's (an application's own VkApplicationInfo version on an older driver):
     * taken as the device's, as sedx_context_create does */
    VkPhysicalDeviceProperties pp;
    vkGetPhysicalDeviceProperties(a.o.physical_device, &pp);
    sedx_vulkan_objects o = a.o;
    o.api_version = VK_MAKE_API_VERSION(0, 1, 9, 0);
    sedx_context *ctx = NULL;
    assert_int_equal(sedx_context_create_from_vulkan(&o, NULL, &ctx), SEDX_SUCCESS);
    assert_int_equal(sedx_context_api_version(ctx),
                     VK_MAKE_API_VERSION(0, VK_API_VERSION_MAJOR(pp.apiVersion), VK_API_VERSION_MINOR(pp.apiVersion), 0));
    uint64_t rng = tu_seed() ^ 0x4444;
    round_trip(ctx, &rng, 1234);
    sedx_context_destroy(ctx);
    ctx = NULL;
    assert_int_equal(sedx_context_create_from_vulkan(&a.o, NULL, &ctx), SEDX_SUCCESS);
    round_trip(ctx, &rng, 1234);
    sedx_context_destroy(ctx);
    app_destroy(&a);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_same_queue_both_kinds),
        cmocka_unit_test(test_no_timeline_semaphores),
        cmocka_unit_test(test_claimed_features_missing),
        cmocka_unit_test(test_two_contexts_one_device),
        cmocka_unit_test(test_adopt_api_version),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
