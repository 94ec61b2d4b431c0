/* The random sequence of tests/gpu/sequence.c from 8 threads at once on one context: each thread
 * owns its buffers and its shadow copy (tests/common/shadow.c) and runs its own seeded sequence
 * (seed tu_seed() + thread); all of them also read a few shared read-only buffers (download,
 * copy from, raw copy from, read the mapping, upload from the mapping, retain and release a
 * reference of their own). Every thread also reserves, commits and cancels zero-copy staging and
 * makes asynchronous readbacks (callbacks may run on any thread); thread 0 alone runs frames.
 * The staging ring is small and may grow, so that uploads of different
 * threads contend for it. Modes (argv[1]): default (lavapipe: mostly direct writes) and
 * no_direct (SEDX_TRANSFER_NO_DIRECT: every upload through the shared ring and batch).
 * Runs under ThreadSanitizer in `make test` (ctest -R thread).
 * Knobs as in sequence.c: SEDX_TEST_LONG=1, SEDX_SEQ_OPS (per thread), SEDX_SEQ_TRACE=1,
 * SEDX_SEQ_DISABLE, SEDX_SEQ_IGNORE. */
#include "test_util.h"
#include "shadow.h"

#include <pthread.h>
#include <stdlib.h>
#include <string.h>

#define THREADS 8
#define OPS_PER_THREAD 800u

static sedx_context *g_ctx;
static shadow_shared g_shared;
static uint32_t g_ops;
static uint64_t g_disabled;
static bool g_trace;
static const char *g_exe = "gpu_sequence_threads";
static const char *g_mode = "default";
static _Atomic uint32_t g_failures;
static _Atomic uint32_t g_total_ops;

static void *worker(void *arg)
{
    int thread = (int)(uintptr_t)arg;
    char repro[256];
    snprintf(repro, sizeof repro, "%s %s   (thread %d of %d)", g_exe, g_mode, thread, THREADS);
    shadow_config cfg = {0};
    cfg.ctx = g_ctx;
    cfg.mode = strcmp(g_mode, "no_direct") == 0 ? "threads no_direct" : "threads";
    cfg.repro = repro;
    cfg.seed = tu_seed() + (uint64_t)thread * 0x9E3779B97F4A7C15ull;
    cfg.thread = thread;
    cfg.max_size = 1u << 20;
    cfg.max_live_bytes = 6u << 20;
    cfg.max_buffers = 16;
    cfg.ring_size = 256u << 10;
    cfg.shared = &g_shared;
    cfg.trace = g_trace;
    cfg.check_logs = true;
    cfg.disabled_ops = g_disabled;
    cfg.ignore = getenv("SEDX_SEQ_IGNORE");
    cfg.no_frames = thread != 0; /* frames have one owner: thread 0 begins, allocates, copies and ends them */
    cfg.frame_block_size = 64u << 10;
    shadow_seq *s = shadow_seq_create(&cfg);
    for (uint32_t i = 0; i < g_ops; ++i) shadow_seq_step(s);
    shadow_seq_finish(s);
    shadow_seq_print_stats(s);
    g_failures += shadow_seq_failures(s);
    g_total_ops += shadow_seq_ops(s);
    shadow_seq_destroy(s);
    return NULL;
}

static void test_sequence_threads(void **state)
{
    (void)state;
    shadow_install_logger();
    sedx_set_log_level(SEDX_LOG_WARN);
    g_ctx = tu_context(false);
    sedx_transfer_info ti = {0};
    ti.staging_size = 256u << 10;
    ti.staging_max = 1u << 20;
    ti.readback_size = 256u << 10;
    if (strcmp(g_mode, "no_direct") == 0) ti.flags = SEDX_TRANSFER_NO_DIRECT;
    else if (strcmp(g_mode, "default") != 0) {
        fprintf(stderr, "unknown mode '%s' (default, no_direct)\n", g_mode);
        fail();
    }
    assert_int_equal(sedx_transfer_configure(g_ctx, &ti), SEDX_SUCCESS);
    const char *e = getenv("SEDX_SEQ_OPS");
    g_ops = e && *e ? (uint32_t)strtoul(e, NULL, 0) : OPS_PER_THREAD * (tu_long_mode() ? 10u : 1u);
    g_disabled = shadow_parse_disabled(getenv("SEDX_SEQ_DISABLE"));
    e = getenv("SEDX_SEQ_TRACE");
    g_trace = e && *e && *e != '0';
    fprintf(stderr, "sequence threads %s: seed 0x%llx (thread k: + k * 0x9E3779B97F4A7C15), %u threads x %u operations\n",
            g_mode, (unsigned long long)tu_seed(), THREADS, g_ops);
    uint32_t shared_failures = shadow_shared_create(g_ctx, &g_shared, tu_seed(), 1u << 20);
    pthread_t t[THREADS];
    for (uintptr_t i = 0; i < THREADS; ++i) assert_int_equal(pthread_create(&t[i], NULL, worker, (void *)i), 0);
    for (int i = 0; i < THREADS; ++i) pthread_join(t[i], NULL);
    shared_failures += shadow_shared_finish(g_ctx, &g_shared);
    sedx_transfer_stats st;
    if (sedx_transfer_get_stats(g_ctx, &st) == SEDX_SUCCESS)
        fprintf(stderr,
                "  transfer: %llu uploads (%llu direct, %llu KiB staged), %llu batches, ring %llu KiB: %llu waits, "
                "%llu wraps, %llu grows; %llu downloads\n",
                (unsigned long long)st.uploads, (unsigned long long)st.direct_uploads,
                (unsigned long long)(st.staged_bytes >> 10), (unsigned long long)st.batches,
                (unsigned long long)(st.staging_size >> 10), (unsigned long long)st.ring_waits,
                (unsigned long long)st.ring_wraps, (unsigned long long)st.ring_grows, (unsigned long long)st.downloads);
    uint32_t failures = g_failures + shared_failures;
    fprintf(stderr, "sequence threads: %u operations in all, %u failures%s\n", (unsigned)g_total_ops, failures,
            failures ? " (each report names its thread and that thread's seed)" : "");
    tu_context_destroy(g_ctx);
    assert_int_equal(failures, 0);
}

int main(int argc, char **argv)
{
    if (argc > 0 && argv[0]) g_exe = argv[0];
    if (argc > 1) g_mode = argv[1];
    const struct CMUnitTest tests[] = {cmocka_unit_test(test_sequence_threads)};
    return cmocka_run_group_tests(tests, NULL, NULL);
}
