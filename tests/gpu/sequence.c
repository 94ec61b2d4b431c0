/* A random sequence over the public buffer and transfer API (creation over every usage and memory
 * kind, host writes and reads, uploads single / NO_WAIT / batched, submits, flushes, downloads,
 * device copies with and without tickets, the seed's raw-handle copies, retain / release with
 * uploads in flight, stale copies, ticket waits and polls, bad calls; frames in flight with
 * transient memory copied into buffers in the frame, zero-copy staging reservations committed or
 * cancelled among ordinary uploads, asynchronous readbacks taken out of order), every readback
 * compared byte by byte with a CPU shadow copy (tests/common/shadow.c). The seed is tu_seed().
 *
 * Modes (one ctest entry each; argv[1] or SEDX_SEQ_MODE):
 *   default    transfer defaults (lavapipe: everything host-visible, so mostly the direct path)
 *   tiny_ring  staging ring 64 KiB that never grows (readback ring 64 KiB too): ring waits,
 *              wrap-arounds, uploads and batches larger than the ring, NO_WAIT refusals
 *   no_direct  SEDX_TRANSFER_NO_DIRECT: the staged path a discrete GPU takes
 *   tiny_ring_no_direct  both: every upload through the 64 KiB ring (chunks, waits, wraps)
 * Knobs: SEDX_TEST_LONG=1 (10x the operations), SEDX_SEQ_OPS=n, SEDX_SEQ_TRACE=1 (print every
 * operation), SEDX_SEQ_DISABLE=op,op (leave operations out while hunting a second bug),
 * SEDX_SEQ_IGNORE="(a),(d)" (do not count failure kinds containing these). */
#include "test_util.h"
#include "shadow.h"

#include <stdlib.h>
#include <string.h>

#define OPS_DEFAULT 6000u

static const char *g_mode = "default";
static const char *g_exe = "gpu_sequence";

static uint32_t env_u32(const char *name, uint32_t fallback)
{
    const char *e = getenv(name);
    return e && *e ? (uint32_t)strtoul(e, NULL, 0) : fallback;
}

static void print_transfer_stats(sedx_context *ctx)
{
    sedx_transfer_stats st;
    if (sedx_transfer_get_stats(ctx, &st) != SEDX_SUCCESS) return;
    fprintf(stderr,
            "  transfer: %llu uploads (%llu direct, %llu KiB staged), %llu batches, %llu copy regions, ring %llu KiB: "
            "%llu waits, %llu full (NO_WAIT), %llu wraps, %llu grows; %llu downloads (%llu KiB direct of %llu KiB); "
            "%llu command copies, %llu compute copies\n",
            (unsigned long long)st.uploads, (unsigned long long)st.direct_uploads,
            (unsigned long long)(st.staged_bytes >> 10), (unsigned long long)st.batches,
            (unsigned long long)st.copy_regions, (unsigned long long)(st.staging_size >> 10),
            (unsigned long long)st.ring_waits, (unsigned long long)st.ring_full_errors,
            (unsigned long long)st.ring_wraps, (unsigned long long)st.ring_grows, (unsigned long long)st.downloads,
            (unsigned long long)(st.direct_download_bytes >> 10), (unsigned long long)(st.download_bytes >> 10),
            (unsigned long long)st.command_copies, (unsigned long long)st.compute_copies);
}

static void test_sequence(void **state)
{
    (void)state;
    shadow_install_logger();
    sedx_set_log_level(SEDX_LOG_WARN);
    bool both = strcmp(g_mode, "tiny_ring_no_direct") == 0;
    bool tiny = both || strcmp(g_mode, "tiny_ring") == 0, no_direct = both || strcmp(g_mode, "no_direct") == 0;
    if (!tiny && !no_direct && strcmp(g_mode, "default") != 0) {
        fprintf(stderr, "unknown mode '%s' (default, tiny_ring, no_direct, tiny_ring_no_direct)\n", g_mode);
        fail();
    }
    /* synchronization validation on (SEDX_SEQ_SYNC=0: off): a missing barrier is a finding too */
    sedx_context *ctx = tu_context(env_u32("SEDX_SEQ_SYNC", 1) != 0);
    sedx_context *other = tu_context(false);
    sedx_transfer_info ti = {0};
    if (tiny) {
        ti.staging_size = 64u << 10;
        ti.staging_max = 64u << 10;
        ti.readback_size = 64u << 10;
    }
    if (no_direct) ti.flags = SEDX_TRANSFER_NO_DIRECT;
    if (tiny || no_direct) assert_int_equal(sedx_transfer_configure(ctx, &ti), SEDX_SUCCESS);

    char repro[256];
    snprintf(repro, sizeof repro, "%s %s", g_exe, g_mode);
    shadow_config cfg = {0};
    cfg.ctx = ctx;
    cfg.other_ctx = other;
    cfg.mode = g_mode;
    cfg.repro = repro;
    cfg.seed = tu_seed();
    cfg.thread = -1;
    cfg.max_size = 4u << 20;
    cfg.max_live_bytes = 40u << 20;
    cfg.max_buffers = 40;
    cfg.ring_size = tiny ? 64u << 10 : 16u << 20;
    cfg.trace = env_u32("SEDX_SEQ_TRACE", 0) != 0;
    cfg.check_logs = true;
    cfg.gate = true;
    cfg.disabled_ops = shadow_parse_disabled(getenv("SEDX_SEQ_DISABLE"));
    cfg.ignore = getenv("SEDX_SEQ_IGNORE");
    cfg.frame_block_size = tiny ? 64u << 10 : 256u << 10; /* blocks fill up and are added within a frame */
    uint32_t ops = env_u32("SEDX_SEQ_OPS", OPS_DEFAULT * (tu_long_mode() ? 10u : 1u));
    fprintf(stderr, "sequence %s: seed 0x%llx, %u operations\n", g_mode, (unsigned long long)cfg.seed, ops);

    shadow_seq *s = shadow_seq_create(&cfg);
    for (uint32_t i = 0; i < ops; ++i) shadow_seq_step(s);
    shadow_seq_finish(s);
    shadow_seq_print_stats(s);
    print_transfer_stats(ctx);
    uint32_t failures = shadow_seq_failures(s);
    shadow_seq_destroy(s);
    if (failures)
        fprintf(stderr, "sequence %s: %u failures; reproduce with SEDX_TEST_SEED=0x%llx %s\n", g_mode, failures,
                (unsigned long long)cfg.seed, repro);
    tu_context_destroy(other);
    tu_context_destroy(ctx);
    assert_int_equal(failures, 0);
}

int main(int argc, char **argv)
{
    if (argc > 0) g_exe = argv[0];
    if (argc > 1) g_mode = argv[1];
    else if (getenv("SEDX_SEQ_MODE")) g_mode = getenv("SEDX_SEQ_MODE");
    const struct CMUnitTest tests[] = {cmocka_unit_test(test_sequence)};
    return cmocka_run_group_tests(tests, NULL, NULL);
}
