/* Bindless tables from several threads: workers create and release buffers while the main
 * thread starts the tables halfway through; afterwards every live buffer's table entry is its
 * own, every ID is held by one buffer only, and the entries of IDs nobody holds are empty.
 * Runs under ThreadSanitizer in `make test`. */
#include "test_util.h"

#include <pthread.h>
#include <sched.h>
#include <stdatomic.h>
#include <stdlib.h>
#include <string.h>

#define THREADS 4
#define KEEP 24 /* buffers each worker still holds at the end */

static sedx_context *g_ctx;
static _Atomic int g_failures;
static _Atomic int g_started;
static sedx_buffer g_kept[THREADS][KEEP];

static void *worker(void *arg)
{
    uintptr_t w = (uintptr_t)arg;
    uint64_t rng = tu_seed() + w * 7919u;
    int iters = tu_long_mode() ? 3000 : 200;
    for (int i = 0; i < iters; ++i) {
        uint32_t k = (uint32_t)(tu_rand(&rng) % KEEP);
        sedx_buffer_release(&g_kept[w][k]); /* empty: a no-op */
        uint64_t size = 4 + 4 * (tu_rand(&rng) % 256);
        sedx_memory_flags mem = (tu_rand(&rng) & 1) ? SEDX_MEMORY_CPU : SEDX_MEMORY_GPU;
        if (sedx_buffer_create(g_ctx, size, SEDX_BUFFER_USAGE_STORAGE, mem, "bindless thread", &g_kept[w][k]) !=
            SEDX_SUCCESS)
            g_failures++;
        if (i == iters / 2) atomic_fetch_add(&g_started, 1);
    }
    return NULL;
}

static void test_threads(void **state)
{
    (void)state;
    g_ctx = tu_context(false);
    sedx_bindless_layout l;
    pthread_t t[THREADS];
    for (uintptr_t i = 0; i < THREADS; ++i) pthread_create(&t[i], NULL, worker, (void *)i);
    while (atomic_load(&g_started) == 0) sched_yield();
    sedx_result r = sedx_bindless_get(g_ctx, &l); /* while the workers run */
    for (int i = 0; i < THREADS; ++i) pthread_join(t[i], NULL);
    assert_int_equal(g_failures, 0);
    if (r == SEDX_ERROR_FEATURE_NOT_PRESENT || (r == SEDX_SUCCESS && !l.table)) {
        for (int w = 0; w < THREADS; ++w)
            for (int k = 0; k < KEEP; ++k) sedx_buffer_release(&g_kept[w][k]);
        tu_context_destroy(g_ctx);
        print_message("the device has no buffer device address: no table to check\n");
        skip();
    }
    assert_int_equal(r, SEDX_SUCCESS);
    sedx_context_collect_garbage(g_ctx);

    uint8_t *held = calloc(l.capacity, 1);
    assert_non_null(held);
    for (int w = 0; w < THREADS; ++w)
        for (int k = 0; k < KEEP; ++k) {
            const sedx_buffer *b = &g_kept[w][k];
            uint32_t id = sedx_buffer_id(b);
            assert_true(id < l.capacity);
            assert_int_equal(held[id], 0); /* one buffer per ID */
            held[id] = 1;
            sedx_bindless_entry e;
            assert_int_equal(sedx_bindless_entry_get(g_ctx, id, &e), SEDX_SUCCESS);
            assert_int_equal(e.address, sedx_buffer_address(b));
            assert_int_equal(e.size, b->size);
        }
    /* IDs nobody holds (past those of sedx's own buffers: the table, the transfer rings) */
    uint32_t empty = 0;
    for (uint32_t id = 0; id < 4096 && id < l.capacity; ++id) {
        if (held[id]) continue;
        sedx_bindless_entry e;
        assert_int_equal(sedx_bindless_entry_get(g_ctx, id, &e), SEDX_SUCCESS);
        empty += e.address == 0 && e.size == 0;
    }
    assert_true(empty >= 4096u - THREADS * KEEP - 8u);
    free(held);
    for (int w = 0; w < THREADS; ++w)
        for (int k = 0; k < KEEP; ++k) sedx_buffer_release(&g_kept[w][k]);
    tu_context_destroy(g_ctx);
}

int main(void)
{
    const struct CMUnitTest tests[] = {cmocka_unit_test(test_threads)};
    return cmocka_run_group_tests(tests, NULL, NULL);
}
