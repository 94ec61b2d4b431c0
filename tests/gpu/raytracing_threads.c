/* Acceleration structures from several threads at once (TSan in `make test`, on Mesa 25's
 * lavapipe through scripts/with-lavapipe-rt.sh, and on the GPU machine), under the validation
 * layer: 4 threads, each round building its own two BLAS (one call) and TLAS from its own input
 * buffers, its own binding table, tracing 64 random probes with one shared pipeline and checking
 * every answer against the CPU's, then releasing everything while the trace may still run; a
 * fifth thread keeps uploading into a buffer of its own and checks it. Structures from one
 * thread's round are released by another thread the round after (handles are per context, not
 * per thread). At the end: no structure left, validation clean. Skipped (reported) where the
 * device has no ray tracing, failed instead with SEDX_REQUIRE_RAY_TRACING. */
#include "rt_util.h"

#include <pthread.h>
#include <stdatomic.h>

#define THREADS 4
#define ROUNDS 6
#define NPROBES 64u

static sedx_context *g_ctx;
static rt_pipe g_pipe;
static _Atomic bool g_stop;

/* one thread's leftovers of its last round, released by its neighbour (a handle travels) */
static sedx_acceleration_structure g_handoff[THREADS][3];
static pthread_mutex_t g_handoff_lock = PTHREAD_MUTEX_INITIALIZER;

static void release_handoff(int from)
{
    pthread_mutex_lock(&g_handoff_lock);
    for (int k = 0; k < 3; ++k) sedx_acceleration_structure_release(g_ctx, &g_handoff[from][k]);
    pthread_mutex_unlock(&g_handoff_lock);
}

static void *tracer(void *arg)
{
    const int id = (int)(intptr_t)arg;
    uint64_t rng = tu_seed() ^ (0x9E37u * (uint64_t)(id + 1));
    for (int round = 0; round < ROUNDS; ++round) {
        scene s = {0};
        make_inputs(g_ctx, &s, &rng);
        sedx_ticket tk;
        build_blas(g_ctx, &s, &tk, 0);
        build_tlas(g_ctx, &s, round & 1 ? &tk : NULL); /* waited every other round */
        float xy[NPROBES][2];
        uint32_t want[NPROBES];
        probes_create(g_ctx, &s, &rng, xy, want, NPROBES);
        sedx_sbt sbt = probe_sbt(g_ctx, &g_pipe);
        tk = trace(g_ctx, &g_pipe, &sbt, &s, NPROBES);
        sedx_sbt_release(&sbt); /* in flight */
        release_handoff((id + THREADS - 1) % THREADS); /* the neighbour's last round, maybe in flight */
        release_handoff(id); /* mine of the round before, if the neighbour has not come by since */
        pthread_mutex_lock(&g_handoff_lock);
        g_handoff[id][0] = s.blas[0];
        g_handoff[id][1] = s.blas[1];
        g_handoff[id][2] = s.tlas;
        pthread_mutex_unlock(&g_handoff_lock);
        assert_int_equal(sedx_ticket_wait(g_ctx, tk, UINT64_MAX), SEDX_SUCCESS);
        probes_check(g_ctx, &s, (const float(*)[2])xy, want, NPROBES);
        scene_release_buffers(&s);
    }
    return NULL;
}

/* Uploads random bytes into its own buffer until the tracers are done; checks each round. */
static void *uploader(void *arg)
{
    (void)arg;
    uint64_t rng = tu_seed() ^ 0xABCDu;
    sedx_buffer b;
    assert_int_equal(sedx_buffer_create(g_ctx, 64 * 1024, SEDX_BUFFER_USAGE_STORAGE, SEDX_MEMORY_GPU, "rt uploads", &b),
                     SEDX_SUCCESS);
    uint8_t src[64 * 1024], back[64 * 1024];
    uint32_t rounds = 0;
    while (!atomic_load(&g_stop) || rounds < 4) {
        tu_fill_random(src, sizeof src, &rng);
        assert_int_equal(sedx_upload(g_ctx, &b, 0, sizeof src, src), SEDX_SUCCESS);
        assert_int_equal(sedx_upload_flush(g_ctx), SEDX_SUCCESS);
        memset(back, 0, sizeof back);
        assert_int_equal(sedx_download(g_ctx, &b, 0, sizeof back, back), SEDX_SUCCESS);
        assert_memory_equal(src, back, sizeof src);
        rounds++;
    }
    sedx_buffer_release(&b);
    return NULL;
}

static void test_threads(void **state)
{
    (void)state;
    g_ctx = rt_context();
    make_pipeline(g_ctx, &g_pipe);
    pthread_t t[THREADS], up;
    atomic_store(&g_stop, false);
    assert_int_equal(pthread_create(&up, NULL, uploader, NULL), 0);
    for (int i = 0; i < THREADS; ++i) assert_int_equal(pthread_create(&t[i], NULL, tracer, (void *)(intptr_t)i), 0);
    for (int i = 0; i < THREADS; ++i) pthread_join(t[i], NULL);
    atomic_store(&g_stop, true);
    pthread_join(up, NULL);
    for (int i = 0; i < THREADS; ++i) release_handoff(i);
    assert_int_equal(sedx_acceleration_structure_count(g_ctx), 0);
    destroy_pipeline(g_ctx, &g_pipe);
    tu_context_destroy(g_ctx);
}

int main(void)
{
    const struct CMUnitTest tests[] = {cmocka_unit_test(test_threads)};
    return cmocka_run_group_tests(tests, NULL, NULL);
}
