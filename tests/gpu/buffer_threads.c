/* Buffers from several threads at once: create, map, write, read back, retain/release.
 * Runs under ThreadSanitizer in `make test`. */
#include "test_util.h"

#include <pthread.h>
#include <stdlib.h>
#include <string.h>

#define THREADS 4

static sedx_context *g_ctx;
static sedx_buffer g_shared;
static _Atomic int g_failures;

static void *worker(void *arg)
{
    uint64_t rng = tu_seed() + (uint64_t)(uintptr_t)arg * 7919u;
    int iters = tu_long_mode() ? 2000 : 150;
    uint8_t src[1024], dst[1024];
    for (int i = 0; i < iters; ++i) {
        uint64_t size = 1 + tu_rand(&rng) % sizeof src;
        sedx_memory_flags mem = (tu_rand(&rng) & 1) ? SEDX_MEMORY_CPU : SEDX_MEMORY_GPU;
        sedx_buffer b;
        sedx_buffer_usage_flags usage = (tu_rand(&rng) & 1) ? SEDX_BUFFER_USAGE_STORAGE : SEDX_BUFFER_USAGE_UNIFORM;
        if (sedx_buffer_create(g_ctx, size, usage, mem, "thread buffer", &b) != SEDX_SUCCESS) {
            g_failures++;
            continue;
        }
        if (mem == SEDX_MEMORY_CPU) {
            tu_fill_random(src, size, &rng);
            void *p = NULL;
            if (sedx_buffer_map(&b, &p) != SEDX_SUCCESS) g_failures++;
            memcpy(p, src, size);
            if (sedx_buffer_unmap(&b) != SEDX_SUCCESS) g_failures++;
            memset(dst, 0xCD, size);
            if (sedx_buffer_read(&b, dst, size, 0) != SEDX_SUCCESS || memcmp(src, dst, size) != 0) g_failures++;
        }
        /* a reference to the shared buffer, taken and dropped */
        sedx_buffer ref = sedx_buffer_retain(&g_shared);
        if (!ref.resource) g_failures++;
        sedx_buffer_release(&ref);
        sedx_buffer_release(&b);
    }
    return NULL;
}

static void test_threads(void **state)
{
    (void)state;
    g_ctx = tu_context(false);
    assert_int_equal(sedx_buffer_create(g_ctx, 256, SEDX_BUFFER_USAGE_UNIFORM, SEDX_MEMORY_CPU, "shared", &g_shared),
                     SEDX_SUCCESS);
    pthread_t t[THREADS];
    for (uintptr_t i = 0; i < THREADS; ++i) pthread_create(&t[i], NULL, worker, (void *)i);
    for (int i = 0; i < THREADS; ++i) pthread_join(t[i], NULL);
    assert_int_equal(g_failures, 0);
    assert_int_equal(sedx_buffer_ref_count(&g_shared), 1);
    assert_int_equal(sedx_buffer_list(g_ctx, NULL, NULL), 1);
    sedx_buffer_release(&g_shared);
    tu_context_destroy(g_ctx);
}

int main(void)
{
    const struct CMUnitTest tests[] = {cmocka_unit_test(test_threads)};
    return cmocka_run_group_tests(tests, NULL, NULL);
}
