/* Images from several threads on one context (TSan runs it): each thread creates images of its
 * own sizes, uploads random texels to every level, reads them back and compares, retains and
 * releases references, while other threads do the same and one uploads buffers. */
#include "test_util.h"

#include <pthread.h>
#include <stdlib.h>
#include <string.h>

#define THREADS 4
#define ROUNDS 12

typedef struct job {
    sedx_context *ctx;
    uint64_t seed;
    int failures;
} job;

static void *image_worker(void *arg)
{
    job *j = arg;
    uint64_t rng = j->seed;
    for (int round = 0; round < ROUNDS; ++round) {
        sedx_image_info ii = {0};
        ii.format = VK_FORMAT_R8G8B8A8_UNORM;
        ii.width = 1 + (uint32_t)(tu_rand(&rng) % 70);
        ii.height = 1 + (uint32_t)(tu_rand(&rng) % 40);
        ii.array_layers = 1 + (uint32_t)(tu_rand(&rng) % 3);
        ii.mip_levels = SEDX_MIP_LEVELS_FULL;
        ii.name = "threaded";
        sedx_image img;
        if (sedx_image_create(j->ctx, &ii, &img) != SEDX_SUCCESS) {
            j->failures++;
            continue;
        }
        sedx_image_region rg[8] = {{0}};
        uint8_t *lv[8] = {0};
        uint32_t n = img.mip_levels < 8 ? img.mip_levels : 8;
        for (uint32_t m = 0; m < n; ++m) {
            uint64_t bytes = sedx_image_mip_size(&img, m) * img.array_layers;
            lv[m] = malloc(bytes);
            tu_fill_random(lv[m], bytes, &rng);
            rg[m] = (sedx_image_region){lv[m], m, 0, img.array_layers, {0, 0, 0}, {0, 0, 0}, 0, 0, 0};
        }
        sedx_image other = sedx_image_retain(&img);
        if (sedx_upload_image(j->ctx, &img, rg, n, NULL) != SEDX_SUCCESS) j->failures++;
        sedx_image_release(&img); /* the retained reference and the batch keep it */
        for (uint32_t m = 0; m < n; ++m) {
            uint64_t bytes = sedx_image_mip_size(&other, m) * other.array_layers;
            uint8_t *back = malloc(bytes);
            sedx_image_region d = {0};
            d.mip_level = m;
            d.layer_count = other.array_layers;
            if (sedx_download_image(j->ctx, &other, &d, back) != SEDX_SUCCESS || memcmp(back, lv[m], bytes) != 0)
                j->failures++;
            free(back);
            free(lv[m]);
        }
        sedx_image_release(&other);
    }
    return NULL;
}

static void *buffer_worker(void *arg)
{
    job *j = arg;
    uint64_t rng = j->seed;
    sedx_buffer b;
    if (sedx_buffer_create(j->ctx, 64 * 1024, SEDX_BUFFER_USAGE_STORAGE, SEDX_MEMORY_GPU, "threads buffer", &b)) {
        j->failures++;
        return NULL;
    }
    uint8_t data[4096], back[4096];
    for (int round = 0; round < ROUNDS * 4; ++round) {
        uint64_t off = (tu_rand(&rng) % 15) * 4096;
        tu_fill_random(data, sizeof data, &rng);
        if (sedx_upload(j->ctx, &b, off, sizeof data, data) != SEDX_SUCCESS ||
            sedx_download(j->ctx, &b, off, sizeof back, back) != SEDX_SUCCESS || memcmp(data, back, sizeof data))
            j->failures++;
    }
    sedx_buffer_release(&b);
    return NULL;
}

static void test_threads(void **state)
{
    (void)state;
    sedx_context *ctx = tu_context(false);
    sedx_transfer_info ti = {0};
    ti.flags = SEDX_TRANSFER_NO_DIRECT;
    ti.staging_size = 256 * 1024; /* small: pieces, ring waits and mid-call submits under contention */
    ti.staging_max = 256 * 1024;
    assert_int_equal(sedx_transfer_configure(ctx, &ti), SEDX_SUCCESS);
    pthread_t th[THREADS + 1];
    job jobs[THREADS + 1];
    for (int i = 0; i <= THREADS; ++i) {
        jobs[i] = (job){ctx, tu_seed() + (uint64_t)i * 7919u, 0};
        pthread_create(&th[i], NULL, i < THREADS ? image_worker : buffer_worker, &jobs[i]);
    }
    int failures = 0;
    for (int i = 0; i <= THREADS; ++i) {
        pthread_join(th[i], NULL);
        failures += jobs[i].failures;
    }
    assert_int_equal(failures, 0);
    assert_int_equal(sedx_image_count(ctx), 0);
    tu_context_destroy(ctx);
}

int main(void)
{
    const struct CMUnitTest tests[] = {cmocka_unit_test(test_threads)};
    return cmocka_run_group_tests(tests, NULL, NULL);
}
