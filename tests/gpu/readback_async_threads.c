/* Asynchronous readback from several threads at once (docs/readback.md), under ThreadSanitizer
 * in `make test`: each worker uploads new random bytes into its own buffer, requests them back,
 * keeps several requests in flight and takes them in random order; a quarter of its requests
 * are handed to a consumer thread that takes them (made on one thread, taken on another); some
 * requests have callbacks, run by whichever thread pumps first; one thread only polls and
 * pumps. Some requests are recorded into the worker's own command buffer after a
 * vkCmdUpdateBuffer of fresh bytes (sedx_download_async_record), then given their submission
 * with sedx_download_async_submitted or found by sedx_download_async_submitted_all while other
 * threads record theirs. Every result is compared with the bytes the buffer held when it was
 * requested. */
#include "test_util.h"

#include <pthread.h>
#include <stdlib.h>
#include <string.h>

#define WORKERS 4
#define SIZE 4096u
#define DEPTH 8

static sedx_context *g_ctx;
static _Atomic int g_failures, g_callbacks_expected, g_callbacks_run;
static _Atomic bool g_done;

typedef struct handed {
    sedx_download_request req;
    uint8_t expect[SIZE];
} handed;

static pthread_mutex_t g_lock = PTHREAD_MUTEX_INITIALIZER;
static handed *g_queue[1024];
static int g_queue_count;

static void bad(const char *what)
{
    fprintf(stderr, "readback_async_threads: %s\n", what);
    g_failures++;
}

static void take(handed *h)
{
    uint8_t got[SIZE];
    memset(got, 0xCD, sizeof got);
    if (sedx_download_wait(g_ctx, &h->req, UINT64_MAX) != SEDX_SUCCESS) bad("wait");
    uint64_t n = h->req.size;
    if (sedx_download_result(g_ctx, &h->req, got) != SEDX_SUCCESS) bad("result");
    else if (memcmp(got, h->expect, n) != 0) bad("bytes differ");
    free(h);
}

static void on_bytes(sedx_context *ctx, const void *data, uint64_t size, void *user)
{
    (void)ctx;
    handed *h = user;
    if (size != h->req.size || memcmp(data, h->expect, size) != 0) bad("callback bytes differ");
    g_callbacks_run++;
    free(h);
}

static void *worker(void *arg)
{
    uint64_t rng = tu_seed() + (uint64_t)(uintptr_t)arg * 7919u;
    sedx_buffer b;
    if (sedx_buffer_create(g_ctx, SIZE, SEDX_BUFFER_USAGE_STORAGE, SEDX_MEMORY_GPU, "thread readback", &b) !=
        SEDX_SUCCESS) {
        bad("create");
        return NULL;
    }
    sedx_buffer pb; /* written by the worker's own commands, read back by recorded requests */
    if (sedx_buffer_create(g_ctx, SIZE, SEDX_BUFFER_USAGE_STORAGE | SEDX_BUFFER_USAGE_TRANSFER_DST, SEDX_MEMORY_GPU,
                           "thread recorded readback", &pb) != SEDX_SUCCESS) {
        bad("create");
        return NULL;
    }
    uint8_t pshadow[SIZE];
    memset(pshadow, 0, sizeof pshadow);
    uint8_t now[SIZE];
    handed *mine[DEPTH];
    int live = 0, iters = tu_long_mode() ? 2000 : 150;
    for (int it = 0; it < iters; ++it) {
        tu_fill_random(now, SIZE, &rng);
        for (uint32_t i = 0; i < SIZE; ++i) now[i] |= 1; /* never zero */
        if (sedx_upload(g_ctx, &b, 0, SIZE, now) != SEDX_SUCCESS) bad("upload");
        uint64_t off = tu_rand(&rng) % SIZE, n = 1 + tu_rand(&rng) % (SIZE - off);
        handed *h = malloc(sizeof *h);
        memcpy(h->expect, now + off, n);
        int kind = (int)(tu_rand(&rng) % 8);
        if (kind == 3 || kind == 4) { /* recorded into this thread's command buffer, after its own write */
            sedx_cmd cmd;
            if (sedx_cmd_begin(g_ctx, SEDX_QUEUE_GRAPHICS, &cmd) != SEDX_SUCCESS) {
                bad("cmd_begin");
                free(h);
                continue;
            }
            uint64_t wsize = 4 * (1 + tu_rand(&rng) % 128), woff = 4 * (tu_rand(&rng) % ((SIZE - wsize) / 4 + 1));
            for (uint64_t i = 0; i < wsize; ++i) pshadow[woff + i] = now[i];
            vkCmdUpdateBuffer(cmd.cmd, sedx_buffer_vk(&pb), woff, wsize, now);
            memcpy(h->expect, pshadow + off, n);
            if (sedx_download_async_record(g_ctx, &cmd, &pb, off, n, &h->req) != SEDX_SUCCESS) bad("record");
            sedx_ticket tk;
            if (sedx_cmd_submit(g_ctx, &cmd, NULL, &tk) != SEDX_SUCCESS) bad("submit");
            if (kind == 3) {
                if (sedx_download_async_submitted(g_ctx, &h->req, 1, tk) != SEDX_SUCCESS) bad("submitted");
            } else {
                sedx_download_async_submitted_all(g_ctx); /* finds it (and maybe other threads') */
                if (sedx_download_async_get_stats(g_ctx, &(sedx_download_async_stats){0}) != SEDX_SUCCESS) bad("stats");
            }
            mine[live++] = h;
            if (live == DEPTH) {
                int k = (int)(tu_rand(&rng) % DEPTH);
                take(mine[k]);
                mine[k] = mine[--live];
            }
            continue;
        }
        if (kind == 0) { /* callback */
            h->req.size = n;
            sedx_download_async_info info = {&b, off, n, on_bytes, h};
            g_callbacks_expected++;
            if (sedx_download_async_batch(g_ctx, &info, 1, NULL) != SEDX_SUCCESS) bad("async (callback)");
            continue;
        }
        if (sedx_download_async(g_ctx, &b, off, n, &h->req) != SEDX_SUCCESS) {
            bad("async");
            free(h);
            continue;
        }
        if (kind <= 2) { /* to the consumer */
            pthread_mutex_lock(&g_lock);
            if (g_queue_count < 1024) g_queue[g_queue_count++] = h, h = NULL;
            pthread_mutex_unlock(&g_lock);
            if (!h) continue;
        }
        mine[live++] = h;
        if (live == DEPTH) { /* take a random one */
            int k = (int)(tu_rand(&rng) % DEPTH);
            sedx_result p = sedx_download_poll(g_ctx, &mine[k]->req);
            if (p != SEDX_SUCCESS && p != SEDX_NOT_READY) bad("poll");
            take(mine[k]);
            mine[k] = mine[--live];
        }
    }
    while (live) take(mine[--live]);
    sedx_buffer_release(&pb);
    sedx_buffer_release(&b); /* requests of the consumer may still be in flight */
    return NULL;
}

static void *consumer(void *arg)
{
    (void)arg;
    for (;;) {
        handed *h = NULL;
        pthread_mutex_lock(&g_lock);
        if (g_queue_count) h = g_queue[--g_queue_count];
        bool done = g_done && !g_queue_count && !h;
        pthread_mutex_unlock(&g_lock);
        if (h) take(h);
        else if (done) return NULL;
        else sedx_download_pump(g_ctx);
    }
}

static void *pumper(void *arg)
{
    (void)arg;
    while (!g_done) {
        sedx_download_pump(g_ctx);
        sedx_download_async_stats st;
        if (sedx_download_async_get_stats(g_ctx, &st) != SEDX_SUCCESS) bad("stats");
    }
    return NULL;
}

static void run(uint32_t flags)
{
    g_ctx = tu_context(false);
    sedx_transfer_info ti = {0};
    ti.flags = flags;
    assert_int_equal(sedx_transfer_configure(g_ctx, &ti), SEDX_SUCCESS);
    g_done = false;
    g_callbacks_expected = g_callbacks_run = 0;
    pthread_t w[WORKERS], c, p;
    pthread_create(&c, NULL, consumer, NULL);
    pthread_create(&p, NULL, pumper, NULL);
    for (uintptr_t i = 0; i < WORKERS; ++i) pthread_create(&w[i], NULL, worker, (void *)i);
    for (int i = 0; i < WORKERS; ++i) pthread_join(w[i], NULL);
    g_done = true;
    pthread_join(c, NULL);
    pthread_join(p, NULL);
    assert_int_equal(sedx_context_wait_idle(g_ctx), SEDX_SUCCESS);
    sedx_download_pump(g_ctx);
    assert_int_equal(g_callbacks_run, g_callbacks_expected);
    sedx_download_async_stats st;
    assert_int_equal(sedx_download_async_get_stats(g_ctx, &st), SEDX_SUCCESS);
    assert_int_equal(st.outstanding, 0);
    assert_int_equal(g_failures, 0);
    tu_context_destroy(g_ctx);
}

static void test_threads(void **state)
{
    (void)state;
    run(0);
}

static void test_threads_staged(void **state)
{
    (void)state;
    run(SEDX_TRANSFER_NO_DIRECT);
}

int main(void)
{
    const struct CMUnitTest tests[] = {cmocka_unit_test(test_threads), cmocka_unit_test(test_threads_staged)};
    return cmocka_run_group_tests(tests, NULL, NULL);
}
