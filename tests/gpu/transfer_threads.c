/* Uploads, batched uploads, submits and downloads from several threads at once (each thread
 * its own buffer, random data, read back). Runs under ThreadSanitizer in `make test`. */
#include "test_util.h"

#include <pthread.h>
#include <stdlib.h>
#include <string.h>

#define THREADS 4
static sedx_context *g_ctx;
static _Atomic int g_failures;

static void *worker(void *arg)
{
    uint64_t rng = tu_seed() + (uint64_t)(uintptr_t)arg * 31337u;
    const uint64_t size = 256u << 10;
    sedx_buffer b;
    if (sedx_buffer_create(g_ctx, size, SEDX_BUFFER_USAGE_STORAGE | SEDX_BUFFER_USAGE_TRANSFER_DST, SEDX_MEMORY_GPU,
                           "thread upload", &b) != SEDX_SUCCESS) {
        g_failures++;
        return NULL;
    }
    uint8_t *expect = malloc(size), *got = malloc(size);
    tu_fill_random(expect, size, &rng);
    int iters = tu_long_mode() ? 200 : 12;
    for (int it = 0; it < iters; ++it) {
        uint64_t off = tu_rand(&rng) % (size - 8192), n = 1 + tu_rand(&rng) % 8192;
        tu_fill_random(expect + off, n, &rng);
        if (it % 3 == 0) {
            if (sedx_upload(g_ctx, &b, off, n, expect + off) != SEDX_SUCCESS) g_failures++;
        } else {
            sedx_upload_region r[2] = {{&b, off, n / 2, expect + off}, {&b, off + n / 2, n - n / 2, expect + off + n / 2}};
            if (sedx_upload_batch(g_ctx, r, 2) != SEDX_SUCCESS) g_failures++;
        }
        if (it % 4 == 0 && sedx_upload_submit(g_ctx, NULL) != SEDX_SUCCESS) g_failures++;
    }
    if (sedx_upload(g_ctx, &b, 0, size, expect) != SEDX_SUCCESS) g_failures++; /* the whole thing, last */
    memset(got, 0x11, size);
    if (sedx_download(g_ctx, &b, 0, size, got) != SEDX_SUCCESS || memcmp(expect, got, size) != 0) g_failures++;
    sedx_buffer_release(&b);
    free(expect);
    free(got);
    return NULL;
}

static void test_transfer_threads(void **state)
{
    (void)state;
    g_ctx = tu_context(false);
    sedx_transfer_info ti = {0};
    ti.flags = SEDX_TRANSFER_NO_DIRECT; /* exercise the shared ring and batch */
    ti.staging_size = 256u << 10;
    assert_int_equal(sedx_transfer_configure(g_ctx, &ti), SEDX_SUCCESS);
    pthread_t t[THREADS];
    for (uintptr_t i = 0; i < THREADS; ++i) pthread_create(&t[i], NULL, worker, (void *)i);
    for (int i = 0; i < THREADS; ++i) pthread_join(t[i], NULL);
    assert_int_equal(g_failures, 0);
    tu_context_destroy(g_ctx);
}

int main(void)
{
    const struct CMUnitTest tests[] = {cmocka_unit_test(test_transfer_threads)};
    return cmocka_run_group_tests(tests, NULL, NULL);
}
