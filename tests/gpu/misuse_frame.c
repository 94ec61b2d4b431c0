/* Misuse catalog, frame.h: frame settings, frames in flight (begin / end / flush, the slot
 * pointers), transient allocations and their generation check, statistics. The harness is
 * tests/gpu/misuse_util.h; docs/errors.md lists every case (docs/frames.md has the model). */
#include "misuse_util.h"

#include <pthread.h>
#include <time.h>

/* A ticket of ctx's own: an empty submission on the main queue. */
static sedx_ticket own_ticket(sedx_context *ctx)
{
    sedx_cmd cmd;
    sedx_ticket t;
    assert_int_equal(sedx_cmd_begin(ctx, SEDX_QUEUE_GRAPHICS, &cmd), SEDX_SUCCESS);
    assert_int_equal(sedx_cmd_submit(ctx, &cmd, NULL, &t), SEDX_SUCCESS);
    return t;
}

static bool stats_are(sedx_context *ctx, uint32_t frames_in_flight, uint64_t block_size)
{
    sedx_frame_stats st;
    return sedx_frame_get_stats(ctx, &st) == SEDX_SUCCESS && st.frames_in_flight == frames_in_flight &&
           st.block_size == block_size;
}

static uint64_t frames_begun(sedx_context *ctx)
{
    sedx_frame_stats st;
    return sedx_frame_get_stats(ctx, &st) == SEDX_SUCCESS ? st.frames_begun : UINT64_MAX;
}

static bool allocates(sedx_frame *f)
{
    sedx_transient t;
    return sedx_transient_alloc(f, 16, SEDX_BUFFER_USAGE_UNIFORM, &t) == SEDX_SUCCESS;
}

/* A frame allocates, the bytes can be written, its end is taken: the frame layer still works. */
static bool frame_works(sedx_context *ctx)
{
    sedx_frame *f = NULL;
    sedx_transient t;
    if (sedx_frame_begin(ctx, &f) != SEDX_SUCCESS) return false;
    bool ok = sedx_transient_alloc(f, 256, SEDX_BUFFER_USAGE_UNIFORM, &t) == SEDX_SUCCESS && t.data &&
              sedx_transient_check(ctx, &t) == SEDX_SUCCESS;
    if (ok) memset(t.data, 0x42, 256);
    return sedx_frame_end(ctx, f, (sedx_ticket){0}) == SEDX_SUCCESS && ok;
}

/* ------------------------------------------------------------------------------------------
 * sedx_frames_configure, sedx_frame_get_stats
 * ---------------------------------------------------------------------------------------- */
static void test_configure(void **state)
{
    (void)state;
    mis_begin();
    sedx_context *ctx = mis_context(0, NULL);
    sedx_frame_info fi = {0};
    MIS_RC("sedx_frames_configure", "NULL ctx", SEDX_ERROR_INVALID_ARGUMENT, "sedx_frames_configure: ctx is NULL",
           sedx_frames_configure(NULL, &fi));
    MIS_RC("sedx_frames_configure", "NULL info", SEDX_ERROR_INVALID_ARGUMENT, "sedx_frames_configure: info is NULL",
           sedx_frames_configure(ctx, NULL));
    /* a refused configuration changes nothing: the defaults (2 in flight, 1 MiB blocks) stay */
#define CONFIGURE_BAD(input, expected, log)                                                                   \
    do {                                                                                                      \
        if (MIS_RC("sedx_frames_configure", input, expected, log, sedx_frames_configure(ctx, &fi)) == SEDX_SUCCESS) { \
            mis_context_destroy(ctx);                                                                         \
            ctx = mis_context(0, NULL);                                                                       \
        }                                                                                                     \
        MIS_TRUE("sedx_frames_configure", input, "the settings are unchanged", stats_are(ctx, 2, 1u << 20));   \
        memset(&fi, 0, sizeof fi);                                                                            \
    } while (0)
    fi.frames_in_flight = 5;
    CONFIGURE_BAD("frames_in_flight 5 (more than 4)", SEDX_ERROR_INVALID_ARGUMENT, "frames_in_flight 5 is outside 1..4");
    fi.frames_in_flight = UINT32_MAX;
    CONFIGURE_BAD("frames_in_flight UINT32_MAX", SEDX_ERROR_INVALID_ARGUMENT, "is outside 1..4");
    fi.flags = 0x80;
    CONFIGURE_BAD("unknown flag bits (0x80)", SEDX_ERROR_INVALID_ARGUMENT, "unknown flag bits 0x80");
    fi.flags = SEDX_FRAME_HOST_MEMORY | 0x80000000u;
    CONFIGURE_BAD("unknown flag bits (0x80000000) beside a known one", SEDX_ERROR_INVALID_ARGUMENT,
                  "unknown flag bits 0x80000000");
    fi.block_size = 1000;
    CONFIGURE_BAD("block_size 1000 (not a multiple of 256)", SEDX_ERROR_INVALID_SIZE,
                  "block_size 1000 is not a multiple of 256 in 4 KiB .. 256 MiB");
    fi.block_size = 4096 + 128;
    CONFIGURE_BAD("block_size 4224 (in range, not a multiple of 256)", SEDX_ERROR_INVALID_SIZE, "block_size 4224");
    fi.block_size = 3840;
    CONFIGURE_BAD("block_size 3840 (below 4 KiB)", SEDX_ERROR_INVALID_SIZE, "block_size 3840");
    fi.block_size = (256ull << 20) + 256;
    CONFIGURE_BAD("block_size 256 MiB + 256 (above 256 MiB)", SEDX_ERROR_INVALID_SIZE, "in 4 KiB .. 256 MiB");
    fi.block_size = UINT64_MAX;
    CONFIGURE_BAD("block_size UINT64_MAX", SEDX_ERROR_INVALID_SIZE, "in 4 KiB .. 256 MiB");
    fi.block_size = UINT64_C(1) << 63;
    CONFIGURE_BAD("block_size 2^63", SEDX_ERROR_INVALID_SIZE, "in 4 KiB .. 256 MiB");
    fi.frames_in_flight = 3;
    fi.block_size = 100;
    CONFIGURE_BAD("valid frames_in_flight with a bad block_size (nothing applied)", SEDX_ERROR_INVALID_SIZE,
                  "block_size 100");
#undef CONFIGURE_BAD
    /* the boundaries stay allowed (before the first frame, configure may be called again) */
    static const struct { uint32_t fif; uint64_t block; const char *input; } ok[] = {
        {1, 4096, "(valid) frames_in_flight 1, block_size 4096 (the smallest)"},
        {4, 256ull << 20, "(valid) frames_in_flight 4, block_size 256 MiB (the largest)"},
        {0, 0, "(valid) zeroed info (defaults: 2, 1 MiB)"},
        {3, 8192, "(valid) frames_in_flight 3, block_size 8192"},
    };
    for (size_t i = 0; i < sizeof ok / sizeof ok[0]; ++i) {
        fi = (sedx_frame_info){ok[i].fif, 0, ok[i].block, 0};
        MIS_RC("sedx_frames_configure", ok[i].input, SEDX_SUCCESS, LOG_NONE, sedx_frames_configure(ctx, &fi));
        MIS_TRUE("sedx_frames_configure", ok[i].input, "applied",
                 stats_are(ctx, ok[i].fif ? ok[i].fif : 2, ok[i].block ? ok[i].block : 1u << 20));
    }
    fi = (sedx_frame_info){.idle_frames = UINT32_MAX, .frames_in_flight = 3, .block_size = 8192};
    MIS_RC("sedx_frames_configure", "(valid) idle_frames UINT32_MAX (blocks never given back)", SEDX_SUCCESS, LOG_NONE,
           sedx_frames_configure(ctx, &fi));
    MIS_TRUE("context", "after the refused configurations", "frames work", frame_works(ctx));
    fi = (sedx_frame_info){.frames_in_flight = 1};
    MIS_RC("sedx_frames_configure", "after the first sedx_frame_begin", SEDX_ERROR_BUSY,
           "configure before the first sedx_frame_begin", sedx_frames_configure(ctx, &fi));
    MIS_TRUE("sedx_frames_configure", "after the first sedx_frame_begin", "the settings in use are unchanged",
             stats_are(ctx, 3, 8192));
    fi = (sedx_frame_info){.frames_in_flight = 9};
    MIS_RC("sedx_frames_configure", "bad info after the first begin (checked first)", SEDX_ERROR_INVALID_ARGUMENT,
           "frames_in_flight 9", sedx_frames_configure(ctx, &fi));

    sedx_frame_stats out;
    memset(&out, 0x5E, sizeof out);
    MIS_RC("sedx_frame_get_stats", "NULL ctx", SEDX_ERROR_INVALID_ARGUMENT, "sedx_frame_get_stats: ctx is NULL",
           sedx_frame_get_stats(NULL, &out));
    MIS_RC("sedx_frame_get_stats", "NULL out", SEDX_ERROR_INVALID_ARGUMENT, "sedx_frame_get_stats: out is NULL",
           sedx_frame_get_stats(ctx, NULL));
    MIS_TRUE("sedx_frame_get_stats", "every refused call", "*out not written", mis_all(&out, 0x5E, sizeof out));
    MIS_TRUE("context", "frames_configure", "frames work", frame_works(ctx));
    mis_roundtrip(ctx, "frames_configure");
    mis_context_destroy(ctx);
    mis_end("frame.h (configure)");
}

/* ------------------------------------------------------------------------------------------
 * sedx_frame_begin / sedx_frame_end / sedx_frame_flush / sedx_frame_number / sedx_frame_slot
 * ---------------------------------------------------------------------------------------- */
typedef struct gate_opener {
    sedx_context *ctx;
    VkSemaphore gate;
} gate_opener;

static void *open_later(void *arg)
{
    gate_opener *g = arg;
    struct timespec ts = {0, 100 * 1000 * 1000};
    nanosleep(&ts, NULL);
    VkSemaphoreSignalInfo sig = {VK_STRUCTURE_TYPE_SEMAPHORE_SIGNAL_INFO};
    sig.semaphore = g->gate;
    sig.value = 1;
    vkSignalSemaphore(sedx_context_device(g->ctx), &sig);
    return NULL;
}

static void test_begin_end(void **state)
{
    (void)state;
    mis_begin();
    sedx_context *ctx = mis_context(0, NULL);
    sedx_context *other = mis_context(0, NULL);
    sedx_frame_info fi = {.frames_in_flight = 3, .block_size = 8192};
    assert_int_equal(sedx_frames_configure(ctx, &fi), SEDX_SUCCESS);
    sedx_frame *f1 = NULL, *f2 = NULL, *of = NULL, *got = MIS_SENTINEL_PTR;

    MIS_RC("sedx_frame_begin", "NULL ctx", SEDX_ERROR_INVALID_ARGUMENT, "sedx_frame_begin: ctx is NULL",
           sedx_frame_begin(NULL, &got));
    MIS_TRUE("sedx_frame_begin", "NULL ctx", "*out = NULL", got == NULL);
    MIS_RC("sedx_frame_begin", "NULL out", SEDX_ERROR_INVALID_ARGUMENT, "sedx_frame_begin: out is NULL",
           sedx_frame_begin(ctx, NULL));
    MIS_TRUE("sedx_frame_begin", "NULL out", "no frame was begun", frames_begun(ctx) == 0);
    assert_int_equal(sedx_frame_begin(other, &of), SEDX_SUCCESS);
    assert_int_equal(sedx_frame_begin(ctx, &f1), SEDX_SUCCESS);
    got = MIS_SENTINEL_PTR;
    MIS_RC("sedx_frame_begin", "begun again without ending the open frame", SEDX_ERROR_BUSY,
           "frame 1 (slot 0) has not ended; call sedx_frame_end first", sedx_frame_begin(ctx, &got));
    MIS_TRUE("sedx_frame_begin", "begun again without ending the open frame", "*out = NULL, frame 1 still open",
             got == NULL && sedx_frame_number(f1) == 1 && sedx_frame_slot(f1) == 0);
    sedx_transient t1;
    assert_int_equal(sedx_transient_alloc(f1, 64, SEDX_BUFFER_USAGE_STORAGE, &t1), SEDX_SUCCESS);

    /* end: every refusal leaves the frame open */
    sedx_ticket mine = own_ticket(ctx), theirs = own_ticket(other), bad;
    MIS_RC("sedx_frame_end", "NULL ctx", SEDX_ERROR_INVALID_ARGUMENT, "sedx_frame_end: ctx is NULL",
           sedx_frame_end(NULL, f1, mine));
    MIS_RC("sedx_frame_end", "NULL frame", SEDX_ERROR_INVALID_HANDLE, "sedx_frame_end: frame is NULL",
           sedx_frame_end(ctx, NULL, mine));
    MIS_RC("sedx_frame_end", "another context's open frame", SEDX_ERROR_INVALID_HANDLE, "is not a frame of context",
           sedx_frame_end(ctx, of, mine));
    uint64_t zeroes[64] = {0};
    MIS_RC("sedx_frame_end", "pointer to other memory (zeroed; never read)", SEDX_ERROR_INVALID_HANDLE,
           "is not a frame of context", sedx_frame_end(ctx, (sedx_frame *)zeroes, mine));
    MIS_RC("sedx_frame_end", "pointer into the middle of a frame (frame + 8 bytes)", SEDX_ERROR_INVALID_HANDLE,
           "is not a frame of context", sedx_frame_end(ctx, (sedx_frame *)((char *)f1 + 8), mine));
    MIS_RC("sedx_frame_end", "another context's ticket", SEDX_ERROR_WRONG_CONTEXT, "the ticket is context",
           sedx_frame_end(ctx, f1, theirs));
    bad = mine;
    bad.context_id = 0;
    MIS_RC("sedx_frame_end", "ticket with context id 0 and a value", SEDX_ERROR_WRONG_CONTEXT, "the ticket is context 0's",
           sedx_frame_end(ctx, f1, bad));
    bad = mine;
    bad.queue = 7;
    MIS_RC("sedx_frame_end", "ticket queue 7", SEDX_ERROR_INVALID_ARGUMENT, "ticket queue 7 is not a sedx_queue",
           sedx_frame_end(ctx, f1, bad));
    bad.queue = SEDX_QUEUE_COUNT;
    MIS_RC("sedx_frame_end", "ticket queue SEDX_QUEUE_COUNT", SEDX_ERROR_INVALID_ARGUMENT, "is not a sedx_queue",
           sedx_frame_end(ctx, f1, bad));
    bad.queue = UINT32_MAX;
    MIS_RC("sedx_frame_end", "ticket queue UINT32_MAX", SEDX_ERROR_INVALID_ARGUMENT, "is not a sedx_queue",
           sedx_frame_end(ctx, f1, bad));
    bad = mine;
    bad.value = mine.value + 1000000;
    MIS_RC("sedx_frame_end", "ticket value never submitted (+1000000)", SEDX_ERROR_INVALID_ARGUMENT,
           "was never submitted", sedx_frame_end(ctx, f1, bad));
    bad.value = UINT64_MAX;
    MIS_RC("sedx_frame_end", "ticket value UINT64_MAX", SEDX_ERROR_INVALID_ARGUMENT, "was never submitted",
           sedx_frame_end(ctx, f1, bad));
    MIS_TRUE("sedx_frame_end", "every refused end", "frame 1 is still open and allocates",
             sedx_frame_number(f1) == 1 && sedx_transient_check(ctx, &t1) == SEDX_SUCCESS && allocates(f1));
    MIS_RC("sedx_frame_flush", "NULL ctx", SEDX_ERROR_INVALID_ARGUMENT, "sedx_frame_flush: ctx is NULL",
           sedx_frame_flush(NULL, f1));
    MIS_RC("sedx_frame_flush", "NULL frame", SEDX_ERROR_INVALID_HANDLE, "sedx_frame_flush: frame is NULL",
           sedx_frame_flush(ctx, NULL));
    MIS_RC("sedx_frame_flush", "another context's open frame", SEDX_ERROR_INVALID_HANDLE, "is not a frame of context",
           sedx_frame_flush(ctx, of));
    MIS_RC("sedx_frame_flush", "(valid) the open frame", SEDX_SUCCESS, LOG_NONE, sedx_frame_flush(ctx, f1));
    MIS_RC("sedx_frame_end", "(valid) its own ticket, after the refused ones", SEDX_SUCCESS, LOG_NONE,
           sedx_frame_end(ctx, f1, mine));
    MIS_RC("sedx_frame_end", "ended twice", SEDX_ERROR_INVALID_HANDLE, "frame 1 (slot 0) has already ended",
           sedx_frame_end(ctx, f1, mine));
    MIS_RC("sedx_frame_flush", "an ended frame", SEDX_ERROR_INVALID_HANDLE,
           "sedx_frame_flush: frame 1 (slot 0) has already ended", sedx_frame_flush(ctx, f1));
    MIS_VAL("sedx_frame_number", "an ended frame", 0, LOG_NONE, sedx_frame_number(f1));
    MIS_VAL("sedx_frame_slot", "an ended frame", UINT32_MAX, LOG_NONE, sedx_frame_slot(f1));
    MIS_VAL("sedx_frame_number", "NULL", 0, LOG_NONE, sedx_frame_number(NULL));
    MIS_VAL("sedx_frame_slot", "NULL", UINT32_MAX, LOG_NONE, sedx_frame_slot(NULL));
    MIS_VAL("sedx_frame_number", "pointer to zeroed memory", 0, LOG_NONE, sedx_frame_number((sedx_frame *)zeroes));
    MIS_VAL("sedx_frame_slot", "pointer to zeroed memory", UINT32_MAX, LOG_NONE, sedx_frame_slot((sedx_frame *)zeroes));

    /* the slots are an array: frame 2 is slot 1, so slot 2 (never begun) and slot 3 (outside
     * frames_in_flight 3) are at known addresses */
    assert_int_equal(sedx_frame_begin(ctx, &f2), SEDX_SUCCESS);
    assert_int_equal(sedx_frame_slot(f2), 1);
    ptrdiff_t stride = (char *)f2 - (char *)f1;
    sedx_frame *never = (sedx_frame *)((char *)f2 + stride), *beyond = (sedx_frame *)((char *)f1 + 3 * stride);
    MIS_RC("sedx_frame_end", "a slot never begun (slot 2 of 3)", SEDX_ERROR_INVALID_HANDLE, "(slot 2) was never begun",
           sedx_frame_end(ctx, never, mine));
    MIS_RC("sedx_frame_flush", "a slot never begun (slot 2 of 3)", SEDX_ERROR_INVALID_HANDLE, "was never begun",
           sedx_frame_flush(ctx, never));
    MIS_RC("sedx_frame_end", "slot 3 with frames_in_flight 3 (never read)", SEDX_ERROR_INVALID_HANDLE,
           "is not a frame of context", sedx_frame_end(ctx, beyond, mine));
    MIS_RC("sedx_frame_end", "an ended frame while another is open", SEDX_ERROR_INVALID_HANDLE,
           "frame 1 (slot 0) has already ended", sedx_frame_end(ctx, f1, mine));
    MIS_VAL("sedx_frame_number", "a slot never begun", 0, LOG_NONE, sedx_frame_number(never));
    MIS_VAL("sedx_frame_slot", "a slot never begun", UINT32_MAX, LOG_NONE, sedx_frame_slot(never));
    MIS_TRUE("sedx_frame_end", "refusals while frame 2 is open", "frame 2 is still open", sedx_frame_number(f2) == 2);
    theirs.value = 0;
    MIS_RC("sedx_frame_end", "(valid) ticket value 0 (everything submitted), another context's id", SEDX_SUCCESS,
           LOG_NONE, sedx_frame_end(ctx, f2, theirs));
    sedx_frame *f3 = NULL, *f4 = NULL;
    assert_int_equal(sedx_frame_begin(ctx, &f3), SEDX_SUCCESS);
    assert_int_equal(sedx_frame_end(ctx, f3, (sedx_ticket){0}), SEDX_SUCCESS);
    assert_int_equal(sedx_frame_begin(ctx, &f4), SEDX_SUCCESS); /* reuses slot 0: f1's pointer */
    MIS_TRUE("sedx_frame_begin", "frame 4", "reuses frame 1's slot", f4 == f1 && sedx_frame_number(f4) == 4);
    /* docs/frames.md, limits of the checks: a frame pointer names a slot, so frame 1's pointer
     * after its slot was begun again is frame 4 */
    MIS_RC("sedx_frame_end", "(documented limit) frame 1's pointer once frame 4 reused its slot: ends frame 4",
           SEDX_SUCCESS, LOG_NONE, sedx_frame_end(ctx, f1, (sedx_ticket){0}));
    MIS_TRUE("context", "begin / end", "frames work", frame_works(ctx));
    assert_int_equal(sedx_frame_end(other, of, (sedx_ticket){0}), SEDX_SUCCESS);
    mis_roundtrip(ctx, "frame begin / end");
    mis_context_destroy(other);
    mis_context_destroy(ctx);

    /* one frame in flight: begin waits for the slot's previous frame (a gate a thread opens) */
    ctx = mis_context(0, NULL);
    fi = (sedx_frame_info){.frames_in_flight = 1};
    assert_int_equal(sedx_frames_configure(ctx, &fi), SEDX_SUCCESS);
    assert_int_equal(sedx_frame_begin(ctx, &f1), SEDX_SUCCESS);
    assert_int_equal(sedx_transient_alloc(f1, 64, SEDX_BUFFER_USAGE_UNIFORM, &t1), SEDX_SUCCESS);
    sedx_ticket gated;
    VkSemaphore gate = tu_gate(ctx, SEDX_QUEUE_GRAPHICS, &gated);
    assert_int_equal(sedx_frame_end(ctx, f1, gated), SEDX_SUCCESS);
    MIS_RC("sedx_transient_check", "(valid) frame ended, still on the GPU", SEDX_SUCCESS, LOG_NONE,
           sedx_transient_check(ctx, &t1));
    gate_opener go = {ctx, gate};
    pthread_t th;
    assert_int_equal(pthread_create(&th, NULL, open_later, &go), 0);
    MIS_RC("sedx_frame_begin", "(valid) the slot's previous frame still on the GPU: waits", SEDX_SUCCESS, LOG_NONE,
           sedx_frame_begin(ctx, &f2));
    pthread_join(th, NULL);
    sedx_frame_stats st;
    assert_int_equal(sedx_frame_get_stats(ctx, &st), SEDX_SUCCESS);
    MIS_TRUE("sedx_frame_begin", "the slot's previous frame still on the GPU", "counted as a wait", st.waits == 1);
    MIS_RC("sedx_transient_check", "frames_in_flight 1: frame 1's transient once frame 2 began",
           SEDX_ERROR_INVALID_HANDLE, "transient of frame 1 used after its slot 0 was reused by frame 2",
           sedx_transient_check(ctx, &t1));
    assert_int_equal(sedx_frame_end(ctx, f2, (sedx_ticket){0}), SEDX_SUCCESS);
    assert_int_equal(sedx_context_wait_idle(ctx), SEDX_SUCCESS);
    vkDestroySemaphore(sedx_context_device(ctx), gate, NULL);
    MIS_TRUE("context", "one frame in flight", "frames work", frame_works(ctx));
    mis_roundtrip(ctx, "one frame in flight");
    mis_context_destroy(ctx);

    /* a context destroyed with a frame open: a warning, nothing leaks (ASan) */
    ctx = mis_context(0, NULL);
    assert_int_equal(sedx_frame_begin(ctx, &f1), SEDX_SUCCESS);
    assert_int_equal(sedx_transient_alloc(f1, 64, SEDX_BUFFER_USAGE_UNIFORM, &t1), SEDX_SUCCESS);
    assert_int_equal(sedx_frame_end(ctx, f1, (sedx_ticket){0}), SEDX_SUCCESS);
    assert_int_equal(sedx_frame_begin(ctx, &f2), SEDX_SUCCESS);
    mis_unwatch(ctx);
    assert_int_equal(mis_vk_count(ctx), 0);
    MIS_VOID("sedx_context_destroy", "a frame still open (frame 2)", LOG_WARN("destroyed with frame 2 still open"),
             sedx_context_destroy(ctx));
    mis_end("frame.h (begin / end)");
}

/* ------------------------------------------------------------------------------------------
 * sedx_transient_alloc / sedx_transient_check
 * ---------------------------------------------------------------------------------------- */
static void test_transient(void **state)
{
    (void)state;
    mis_begin();
    sedx_context *ctx = mis_context(0, NULL);
    sedx_context *other = mis_context(0, NULL);
    sedx_frame_info fi = {.frames_in_flight = 2, .block_size = 8192};
    assert_int_equal(sedx_frames_configure(ctx, &fi), SEDX_SUCCESS);
    sedx_frame *f = NULL, *of = NULL;
    assert_int_equal(sedx_frame_begin(ctx, &f), SEDX_SUCCESS);
    assert_int_equal(sedx_frame_begin(other, &of), SEDX_SUCCESS);
    sedx_transient out;
    memset(&out, 0x5E, sizeof out);
    const uint32_t U = SEDX_BUFFER_USAGE_UNIFORM;
    MIS_RC("sedx_transient_alloc", "NULL frame", SEDX_ERROR_INVALID_ARGUMENT, "sedx_transient_alloc: frame is NULL",
           sedx_transient_alloc(NULL, 16, U, &out));
    MIS_RC("sedx_transient_alloc", "NULL out", SEDX_ERROR_INVALID_ARGUMENT, "sedx_transient_alloc: out is NULL",
           sedx_transient_alloc(f, 16, U, NULL));
    uint64_t zeroes[64] = {0};
    MIS_RC("sedx_transient_alloc", "pointer to zeroed memory (not a frame)", SEDX_ERROR_INVALID_HANDLE,
           "is not a sedx frame", sedx_transient_alloc((sedx_frame *)zeroes, 16, U, &out));
    MIS_RC("sedx_transient_alloc", "size 0", SEDX_ERROR_INVALID_SIZE, "sedx_transient_alloc: size 0",
           sedx_transient_alloc(f, 0, U, &out));
    MIS_RC("sedx_transient_alloc", "size block_size + 1 (8193)", SEDX_ERROR_INVALID_SIZE,
           "size 8193 exceeds the block size 8192", sedx_transient_alloc(f, 8193, U, &out));
    MIS_RC("sedx_transient_alloc", "size UINT64_MAX", SEDX_ERROR_INVALID_SIZE, "exceeds the block size 8192",
           sedx_transient_alloc(f, UINT64_MAX, U, &out));
    MIS_RC("sedx_transient_alloc", "size 2^63", SEDX_ERROR_INVALID_SIZE, "exceeds the block size 8192",
           sedx_transient_alloc(f, UINT64_C(1) << 63, U, &out));
    MIS_RC("sedx_transient_alloc", "usage 0", SEDX_ERROR_INVALID_USAGE, "usage 0x0 has no bits",
           sedx_transient_alloc(f, 16, 0, &out));
    MIS_RC("sedx_transient_alloc", "usage SHADER_BINDING_TABLE (0x400)", SEDX_ERROR_INVALID_USAGE,
           "usage 0x400 has bits a transient allocation cannot have",
           sedx_transient_alloc(f, 16, SEDX_BUFFER_USAGE_SHADER_BINDING_TABLE, &out));
    MIS_RC("sedx_transient_alloc", "usage TRANSFER_DST (0x2)", SEDX_ERROR_INVALID_USAGE, "usage 0x2 has bits",
           sedx_transient_alloc(f, 16, SEDX_BUFFER_USAGE_TRANSFER_DST, &out));
    MIS_RC("sedx_transient_alloc", "unknown usage bit 0x80000000 beside UNIFORM", SEDX_ERROR_INVALID_USAGE,
           "usage 0x80000010 has bits", sedx_transient_alloc(f, 16, U | 0x80000000u, &out));
    MIS_RC("sedx_transient_alloc", "several bad inputs at once (size 0, usage 0)", SEDX_ERROR_INVALID_SIZE, "size 0",
           sedx_transient_alloc(f, 0, 0, &out));
    MIS_TRUE("sedx_transient_alloc", "every refused allocation", "*out not written", mis_all(&out, 0x5E, sizeof out));
    sedx_frame_stats st;
    assert_int_equal(sedx_frame_get_stats(ctx, &st), SEDX_SUCCESS);
    uint64_t align = st.alignment;

    /* boundaries that stay allowed */
    sedx_transient t1, whole, all, theirs;
    MIS_RC("sedx_transient_alloc", "(valid) size 1", SEDX_SUCCESS, LOG_NONE, sedx_transient_alloc(f, 1, U, &t1));
    MIS_TRUE("sedx_transient_alloc", "(valid) size 1", "aligned, of this frame",
             t1.offset % align == 0 && t1.size == 1 && t1.frame == 1 && t1.data && t1.buffer);
    MIS_RC("sedx_transient_alloc", "(valid) size == block_size (8192, a new block)", SEDX_SUCCESS, LOG_NONE,
           sedx_transient_alloc(f, 8192, SEDX_BUFFER_USAGE_STORAGE, &whole));
    MIS_TRUE("sedx_transient_alloc", "(valid) size == block_size", "offset 0 of a block of its own",
             whole.offset == 0 && whole.size == 8192);
    memset(whole.data, 0x11, 8192);
    MIS_RC("sedx_transient_alloc", "(valid) every usage of SEDX_TRANSIENT_USAGE_ALL", SEDX_SUCCESS, LOG_NONE,
           sedx_transient_alloc(f, 100, SEDX_TRANSIENT_USAGE_ALL, &all));
    MIS_RC("sedx_transient_alloc", "(valid) another context's open frame: that context's memory", SEDX_SUCCESS,
           LOG_NONE, sedx_transient_alloc(of, 64, U, &theirs));
    MIS_TRUE("sedx_transient_alloc", "(valid) another context's open frame", "carries the other context's id",
             theirs.context_id != t1.context_id);

    /* sedx_transient_check */
    MIS_RC("sedx_transient_check", "NULL ctx", SEDX_ERROR_INVALID_ARGUMENT, "sedx_transient_check: ctx is NULL",
           sedx_transient_check(NULL, &t1));
    MIS_RC("sedx_transient_check", "NULL t", SEDX_ERROR_INVALID_ARGUMENT, "sedx_transient_check: t is NULL",
           sedx_transient_check(ctx, NULL));
    MIS_RC("sedx_transient_check", "another context's transient", SEDX_ERROR_WRONG_CONTEXT,
           "sedx_transient_check: transient of context", sedx_transient_check(ctx, &theirs));
    MIS_RC("sedx_transient_check", "this context's transient checked against another context", SEDX_ERROR_WRONG_CONTEXT,
           "sedx_transient_check: transient of context", sedx_transient_check(other, &t1));
    sedx_transient zero = {0};
    /* a zeroed transient (context_id 0; context ids start at 1) is checked for being empty
     * before its context: INVALID_HANDLE as frame.h promises, not WRONG_CONTEXT (it was before) */
    MIS_RC("sedx_transient_check", "zeroed transient (never allocated)", SEDX_ERROR_INVALID_HANDLE,
           "not a transient allocation", sedx_transient_check(ctx, &zero));
    zero.context_id = t1.context_id;
    MIS_RC("sedx_transient_check", "zeroed transient with this context's id", SEDX_ERROR_INVALID_HANDLE,
           "not a transient allocation (frame 0)", sedx_transient_check(ctx, &zero));
    sedx_transient forged = t1;
    forged.frame = 1000;
    MIS_RC("sedx_transient_check", "frame number not begun yet (1000)", SEDX_ERROR_INVALID_HANDLE,
           "not a transient allocation (frame 1000)", sedx_transient_check(ctx, &forged));
    forged = t1;
    forged.buffer = VK_NULL_HANDLE;
    MIS_RC("sedx_transient_check", "VkBuffer NULL", SEDX_ERROR_INVALID_HANDLE, "not a transient allocation",
           sedx_transient_check(ctx, &forged));
    MIS_RC("sedx_transient_check", "(valid) its frame open", SEDX_SUCCESS, LOG_NONE, sedx_transient_check(ctx, &t1));

    /* used after its frame slot was reused: 2 in flight, frame 3 reuses slot 0 */
    assert_int_equal(sedx_frame_end(ctx, f, (sedx_ticket){0}), SEDX_SUCCESS);
    sedx_transient after_end;
    memset(&after_end, 0x5E, sizeof after_end);
    MIS_RC("sedx_transient_alloc", "frame ended", SEDX_ERROR_INVALID_HANDLE, "frame 1 (slot 0) has already ended",
           sedx_transient_alloc(f, 16, U, &after_end));
    MIS_TRUE("sedx_transient_alloc", "frame ended", "*out not written", mis_all(&after_end, 0x5E, sizeof after_end));
    MIS_RC("sedx_transient_check", "(valid) its frame ended, slot not reused yet", SEDX_SUCCESS, LOG_NONE,
           sedx_transient_check(ctx, &t1));
    sedx_frame *f2 = NULL, *f3 = NULL;
    assert_int_equal(sedx_frame_begin(ctx, &f2), SEDX_SUCCESS);
    sedx_transient t2;
    assert_int_equal(sedx_transient_alloc(f2, 32, U, &t2), SEDX_SUCCESS);
    MIS_RC("sedx_transient_check", "(valid) frame 2 open, frame 1 on the GPU (slot 0 not reused)", SEDX_SUCCESS,
           LOG_NONE, sedx_transient_check(ctx, &t1));
    assert_int_equal(sedx_frame_end(ctx, f2, (sedx_ticket){0}), SEDX_SUCCESS);
    assert_int_equal(sedx_frame_begin(ctx, &f3), SEDX_SUCCESS);
    MIS_RC("sedx_transient_check", "used after its frame slot was reused (frame 1, frame 3 began)",
           SEDX_ERROR_INVALID_HANDLE, "transient of frame 1 used after its slot 0 was reused by frame 3",
           sedx_transient_check(ctx, &t1));
    MIS_RC("sedx_transient_check", "(valid) frame 2's transient while frame 3 is open", SEDX_SUCCESS, LOG_NONE,
           sedx_transient_check(ctx, &t2));
    sedx_transient t3, via_old;
    assert_int_equal(sedx_transient_alloc(f3, 16, U, &t3), SEDX_SUCCESS);
    /* docs/frames.md, limits of the checks: frame 1's pointer names slot 0, which frame 3 holds */
    MIS_RC("sedx_transient_alloc", "(documented limit) frame 1's pointer once frame 3 reused its slot: frame 3's memory",
           SEDX_SUCCESS, LOG_NONE, sedx_transient_alloc(f, 48, U, &via_old));
    MIS_TRUE("sedx_transient_alloc", "(documented limit) frame 1's pointer once frame 3 reused its slot",
             "an allocation of frame 3, apart from frame 3's others",
             f == f3 && via_old.frame == 3 && (via_old.buffer != t3.buffer || via_old.offset >= t3.offset + 16 ||
                                               via_old.offset + 48 <= t3.offset));
    assert_int_equal(sedx_frame_end(ctx, f3, (sedx_ticket){0}), SEDX_SUCCESS);
    for (int i = 0; i < 4; ++i) { /* frames 4..7 */
        sedx_frame *fx;
        assert_int_equal(sedx_frame_begin(ctx, &fx), SEDX_SUCCESS);
        assert_int_equal(sedx_frame_end(ctx, fx, (sedx_ticket){0}), SEDX_SUCCESS);
    }
    MIS_RC("sedx_transient_check", "frame 1's transient after its slot was reused three times", SEDX_ERROR_INVALID_HANDLE,
           "transient of frame 1 used after its slot 0 was reused by frame 7", sedx_transient_check(ctx, &t1));
    MIS_RC("sedx_transient_check", "frame 3's transient (slot reused by frame 5, then 7)", SEDX_ERROR_INVALID_HANDLE,
           "transient of frame 3", sedx_transient_check(ctx, &t3));
    MIS_TRUE("context", "transient allocations", "frames work", frame_works(ctx));
    assert_int_equal(sedx_frame_end(other, of, (sedx_ticket){0}), SEDX_SUCCESS);
    MIS_TRUE("context", "transient allocations (the other context)", "frames work", frame_works(other));
    mis_roundtrip(ctx, "transient allocations");
    mis_roundtrip(other, "transient allocations (the other context)");
    mis_context_destroy(other);
    mis_context_destroy(ctx);

    /* no memory for a new block: a heap limited below the block size */
    uint64_t limits[VK_MAX_MEMORY_HEAPS];
    for (uint32_t i = 0; i < VK_MAX_MEMORY_HEAPS; ++i) limits[i] = 48ull << 20;
    sedx_allocator_info ai = {0};
    ai.heap_size_limit = limits;
    ctx = mis_context(0, &ai);
    fi = (sedx_frame_info){.block_size = 128ull << 20};
    assert_int_equal(sedx_frames_configure(ctx, &fi), SEDX_SUCCESS);
    assert_int_equal(sedx_frame_begin(ctx, &f), SEDX_SUCCESS);
    memset(&out, 0x5E, sizeof out);
    MIS_RC("sedx_transient_alloc", "no memory for a new block (128 MiB blocks, 48 MiB heap)",
           SEDX_ERROR_OUT_OF_DEVICE_MEMORY, "transient block of 134217728 bytes", sedx_transient_alloc(f, 64, U, &out));
    MIS_TRUE("sedx_transient_alloc", "no memory for a new block", "*out not written", mis_all(&out, 0x5E, sizeof out));
    MIS_RC("sedx_frame_end", "(valid) a frame whose allocations failed", SEDX_SUCCESS, LOG_NONE,
           sedx_frame_end(ctx, f, (sedx_ticket){0}));
    mis_roundtrip(ctx, "no memory for a transient block");
    mis_context_destroy(ctx);
    printf("misuse frame.h (transient): %d open bug(s)\n", g_mis_open_bugs);
    mis_end("frame.h (transient)");
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_configure),
        cmocka_unit_test(test_begin_end),
        cmocka_unit_test(test_transient),
    };
    return mis_main(tests, sizeof tests / sizeof tests[0]);
}
