/* Host-allocation failure injection across the whole stack: context, allocator, buffers,
 * transfers. The Nth sedx host allocation fails, for every N the scenario reaches: each call
 * returns success or an error (never crashes), and after cleanup every sedx allocation has
 * been given back. */
#include "test_util.h"

#include <stdatomic.h>
#include <stdlib.h>
#include <string.h>

static _Atomic long g_count;   /* allocations made since the counter was reset */
static _Atomic long g_fail_at; /* < 0: never fail */
static _Atomic bool g_sticky;  /* fail every allocation from g_fail_at on, or only that one */
static _Atomic long g_failed;

static bool should_fail(void)
{
    long i = atomic_fetch_add(&g_count, 1), at = atomic_load(&g_fail_at);
    bool fail = at >= 0 && (atomic_load(&g_sticky) ? i >= at : i == at);
    if (fail) g_failed++;
    return fail;
}
static void *f_alloc(size_t size, void *u)
{
    (void)u;
    return should_fail() ? NULL : malloc(size);
}
static void *f_realloc(void *p, size_t size, void *u)
{
    (void)u;
    return should_fail() ? NULL : realloc(p, size);
}
static void f_free(void *p, void *u)
{
    (void)u;
    free(p);
}

/* Returns true when the whole scenario succeeded (no injected failure was hit). */
static bool scenario(uint64_t seed)
{
    bool ok = true;
    sedx_context_info info = {0};
    info.flags = SEDX_CONTEXT_VALIDATION;
    sedx_context *ctx = NULL;
    sedx_result cr = sedx_context_create(&info, &ctx);
    if (cr != SEDX_SUCCESS) {
        /* the only thing that can fail here is host memory: a different code would mislead */
        if (cr != SEDX_ERROR_OUT_OF_HOST_MEMORY) fprintf(stderr, "context creation: %s\n", sedx_result_name(cr));
        assert_int_equal(cr, SEDX_ERROR_OUT_OF_HOST_MEMORY);
        return false;
    }
    sedx_transfer_info ti = {0};
    ti.flags = SEDX_TRANSFER_NO_DIRECT;
    ti.staging_size = 65536;
    ok &= sedx_transfer_configure(ctx, &ti) == SEDX_SUCCESS;
    sedx_buffer gpu = {0}, cpu = {0};
    uint8_t data[3000], got[3000];
    uint64_t rng = seed;
    tu_fill_random(data, sizeof data, &rng);
    ok &= sedx_buffer_create(ctx, sizeof data, SEDX_BUFFER_USAGE_STORAGE | SEDX_BUFFER_USAGE_TRANSFER_DST,
                             SEDX_MEMORY_GPU, "oom gpu", &gpu) == SEDX_SUCCESS;
    ok &= sedx_buffer_create(ctx, sizeof data, SEDX_BUFFER_USAGE_UNIFORM, SEDX_MEMORY_CPU, "oom cpu", &cpu) ==
          SEDX_SUCCESS;
    if (gpu.resource) {
        sedx_result r = sedx_upload(ctx, &gpu, 0, sizeof data, data);
        ok &= r == SEDX_SUCCESS;
        if (r == SEDX_SUCCESS) {
            r = sedx_download(ctx, &gpu, 0, sizeof got, got);
            ok &= r == SEDX_SUCCESS;
            if (r == SEDX_SUCCESS) assert_memory_equal(data, got, sizeof data); /* never wrong data */
        }
        sedx_buffer extra = sedx_buffer_retain(&gpu);
        sedx_buffer_release(&extra);
    }
    if (cpu.resource) ok &= sedx_buffer_write(&cpu, data, 100, 7) == SEDX_SUCCESS;
    sedx_buffer_release(&gpu);
    sedx_buffer_release(&cpu);
    sedx_context_destroy(ctx);
    return ok;
}

static void test_host_oom_everywhere(void **state)
{
    (void)state;
    sedx_set_log_level(getenv("SEDX_OOM_TRACE") ? SEDX_LOG_ERROR : SEDX_LOG_OFF);
    /* Every scenario creates and destroys a VkInstance; with no instance left the loader unloads
     * the driver. NVIDIA's driver cannot be loaded again hundreds of times (its libnvidia-tls
     * runs out of static TLS), so one instance of our own keeps it loaded throughout. */
    VkApplicationInfo app = {VK_STRUCTURE_TYPE_APPLICATION_INFO};
    app.apiVersion = VK_API_VERSION_1_2;
    VkInstanceCreateInfo ici = {VK_STRUCTURE_TYPE_INSTANCE_CREATE_INFO};
    ici.pApplicationInfo = &app;
    VkInstance keep_loaded;
    assert_int_equal(vkCreateInstance(&ici, NULL, &keep_loaded), VK_SUCCESS);
    sedx_host_allocator a = {f_alloc, f_realloc, f_free, NULL};
    sedx_set_host_allocator(&a);
    /* one clean run first: the process-wide buffer-handle pool keeps its first page for the
     * life of the process (stale handles must stay detectable), which is not a leak */
    atomic_store(&g_fail_at, -1);
    assert_true(scenario(tu_seed()));
    int64_t base = sedx_host_allocation_count();
    long n = 0;
    int limit = tu_long_mode() ? 100000 : 2000;
    for (; n < limit; ++n) {
        bool done = false;
        for (int sticky = 0; sticky < 2; ++sticky) {
            atomic_store(&g_sticky, sticky != 0);
            atomic_store(&g_count, 0);
            atomic_store(&g_fail_at, n);
            atomic_store(&g_failed, 0);
            bool ok = scenario(tu_seed() + (uint64_t)n);
            atomic_store(&g_fail_at, -1);
            int64_t live = sedx_host_allocation_count();
            if (getenv("SEDX_OOM_TRACE"))
                fprintf(stderr, "n=%ld sticky=%d ok=%d failed=%ld live=%lld\n", n, sticky, ok, (long)g_failed,
                        (long long)(live - base));
            if (live != base)
                fprintf(stderr, "failure at allocation %ld (%s) leaked %lld sedx allocations\n", n,
                        sticky ? "and after" : "only", (long long)(live - base));
            assert_int_equal(live, base);
            if (ok && atomic_load(&g_failed) == 0) done = true; /* the scenario needs fewer than n allocations */
        }
        if (done) break;
    }
    fprintf(stderr, "host OOM injected at each of the first %ld allocations (once, and from there on)\n", n);
    assert_true(n > 10 && n < limit); /* the scenario allocated, and every failure point was visited */
    sedx_set_host_allocator(NULL);
    sedx_set_log_level(SEDX_LOG_WARN);
    vkDestroyInstance(keep_loaded, NULL);
}

int main(void)
{
    atomic_store(&g_fail_at, -1);
    const struct CMUnitTest tests[] = {cmocka_unit_test(test_host_oom_everywhere)};
    return cmocka_run_group_tests(tests, NULL, NULL);
}
