/* Review 5: per-frame transient memory under random frame sequences (fixed seed), validation on.
 * 1..4 frames in flight, 4 KiB .. 64 KiB blocks (so frames cross many block ends, small and
 * large requests, the shared and the per-thread chunk paths), every usage mix; every allocation
 * filled with random non-zero bytes and kept in a shadow; before a slot is reused (and at every
 * end) every allocation of every frame still valid must hold its bytes (no two live allocations
 * share a byte, nothing a later frame did touched them), be aligned to stats.alignment, lie in
 * its block, and sedx_transient_check must say SUCCESS; after the reuse, INVALID_HANDLE. Each
 * frame's submission is held behind a GPU gate for a random number of frames, so begin really
 * waits for its slot (stats.waits printed) and frames are in flight on the GPU. Misuse mixed in,
 * each with its exact code and the frame still usable: begin while open (BUSY), end / flush of
 * a frame pointer of another slot or an ended frame (INVALID_HANDLE), alloc on an ended frame
 * (INVALID_HANDLE), size 0 and block_size + 1 (INVALID_SIZE), usage 0 / outside the transient
 * set (INVALID_USAGE), a ticket value never submitted (INVALID_ARGUMENT). Ends with a context
 * destroyed while a frame is open and frames are in flight (logged; no leak under ASan). */
#include "test_util.h"

#include <stdlib.h>
#include <string.h>

static uint64_t g_rng;

enum { MAX_ALLOCS = 512 };

typedef struct talloc {
    sedx_transient t;
    uint8_t *shadow;
} talloc;

typedef struct fslot {
    talloc a[MAX_ALLOCS];
    uint32_t n;
} fslot;

static void check_slot(sedx_context *ctx, fslot *s, uint64_t align, bool valid)
{
    for (uint32_t i = 0; i < s->n; ++i) {
        talloc *a = &s->a[i];
        assert_int_equal(a->t.offset % align, 0);
        assert_int_equal(sedx_transient_check(ctx, &a->t), valid ? SEDX_SUCCESS : SEDX_ERROR_INVALID_HANDLE);
        if (valid && memcmp(a->t.data, a->shadow, (size_t)a->t.size) != 0)
            fail_msg("frame %llu: transient %u (%llu bytes at %llu) was overwritten", (unsigned long long)a->t.frame, i,
                     (unsigned long long)a->t.size, (unsigned long long)a->t.offset);
    }
}

static void clear_slot(fslot *s)
{
    for (uint32_t i = 0; i < s->n; ++i) free(s->a[i].shadow);
    s->n = 0;
}

static const uint32_t k_usages[] = {
    SEDX_BUFFER_USAGE_UNIFORM, SEDX_BUFFER_USAGE_STORAGE, SEDX_BUFFER_USAGE_INDEX, SEDX_BUFFER_USAGE_VERTEX,
    SEDX_BUFFER_USAGE_INDIRECT | SEDX_BUFFER_USAGE_STORAGE, SEDX_TRANSIENT_USAGE_ALL,
    SEDX_BUFFER_USAGE_UNIFORM_TEXEL | SEDX_BUFFER_USAGE_TRANSFER_SRC,
};

static void run(uint32_t fif, uint64_t block, uint32_t frames, uint32_t transfer_flags)
{
    sedx_context *ctx = tu_context(false);
    if (transfer_flags) {
        sedx_transfer_info ti = {0};
        ti.flags = transfer_flags;
        assert_int_equal(sedx_transfer_configure(ctx, &ti), SEDX_SUCCESS);
    }
    sedx_frame_info fi = {0};
    fi.frames_in_flight = fif;
    fi.block_size = block;
    fi.idle_frames = 2;
    assert_int_equal(sedx_frames_configure(ctx, &fi), SEDX_SUCCESS);
    fslot *slots = calloc(SEDX_MAX_FRAMES_IN_FLIGHT, sizeof *slots);
    VkSemaphore gates[64] = {0};
    uint32_t gate_open_at[64] = {0}, ngates = 0;
    sedx_frame *prev = NULL;
    sedx_ticket tk_last;
    {
        sedx_cmd cmd;
        assert_int_equal(sedx_cmd_begin(ctx, SEDX_QUEUE_GRAPHICS, &cmd), SEDX_SUCCESS);
        assert_int_equal(sedx_cmd_submit(ctx, &cmd, NULL, &tk_last), SEDX_SUCCESS);
    }
    uint64_t align = 0;
    for (uint32_t f = 1; f <= frames; ++f) {
        /* open the gates whose time has come (some frames stay on the GPU for a while) */
        for (uint32_t g = 0; g < ngates; ++g)
            if (gates[g] && gate_open_at[g] <= f) tu_open_gate(ctx, gates[g]), gate_open_at[g] = UINT32_MAX;
        uint32_t slot = (f - 1) % fif;
        /* the frame about to reuse the slot: its allocations are still intact until the begin */
        for (uint32_t s = 0; s < fif; ++s) check_slot(ctx, &slots[s], align ? align : 1, true);
        sedx_frame *fr;
        assert_int_equal(sedx_frame_begin(ctx, &fr), SEDX_SUCCESS);
        assert_int_equal(sedx_frame_number(fr), f);
        assert_int_equal(sedx_frame_slot(fr), slot);
        sedx_frame *again;
        assert_int_equal(sedx_frame_begin(ctx, &again), SEDX_ERROR_BUSY);
        assert_null(again);
        /* the slot's previous frame is over: its transients are no longer valid */
        check_slot(ctx, &slots[slot], align ? align : 1, false);
        clear_slot(&slots[slot]);
        sedx_frame_stats st;
        assert_int_equal(sedx_frame_get_stats(ctx, &st), SEDX_SUCCESS);
        align = st.alignment;
        if (prev && prev != fr) { /* another slot's frame pointer: ended */
            sedx_ticket zero = {0};
            sedx_transient t;
            memset(&t, 0x77, sizeof t);
            sedx_transient before = t;
            assert_int_equal(sedx_frame_end(ctx, prev, zero), SEDX_ERROR_INVALID_HANDLE);
            assert_int_equal(sedx_frame_flush(ctx, prev), SEDX_ERROR_INVALID_HANDLE);
            assert_int_equal(sedx_transient_alloc(prev, 16, SEDX_BUFFER_USAGE_UNIFORM, &t), SEDX_ERROR_INVALID_HANDLE);
            assert_memory_equal(&t, &before, sizeof t);
        }
        uint32_t n = 1 + (uint32_t)(tu_rand(&g_rng) % 200);
        fslot *s = &slots[slot];
        for (uint32_t i = 0; i < n && s->n < MAX_ALLOCS; ++i) {
            uint64_t x = tu_rand(&g_rng) % 100;
            uint64_t size = x < 70 ? 1 + tu_rand(&g_rng) % 300 : x < 95 ? 1 + tu_rand(&g_rng) % (block / 2) : block;
            uint32_t usage = k_usages[tu_rand(&g_rng) % (sizeof k_usages / sizeof k_usages[0])];
            talloc *a = &s->a[s->n];
            assert_int_equal(sedx_transient_alloc(fr, size, usage, &a->t), SEDX_SUCCESS);
            assert_int_equal(a->t.size, size);
            assert_int_equal(a->t.frame, f);
            assert_int_equal(a->t.offset % align, 0);
            assert_true(a->t.offset + size <= block);
            a->shadow = malloc(size);
            tu_fill_random(a->shadow, size, &g_rng);
            for (uint64_t k = 0; k < size; ++k)
                if (!a->shadow[k]) a->shadow[k] = 0x5A;
            memcpy(a->t.data, a->shadow, size);
            s->n++;
            if (tu_rand(&g_rng) % 50 == 0) { /* misuse in the open frame: refused, frame still works */
                sedx_transient t;
                assert_int_equal(sedx_transient_alloc(fr, 0, SEDX_BUFFER_USAGE_UNIFORM, &t), SEDX_ERROR_INVALID_SIZE);
                assert_int_equal(sedx_transient_alloc(fr, block + 1, SEDX_BUFFER_USAGE_UNIFORM, &t),
                                 SEDX_ERROR_INVALID_SIZE);
                assert_int_equal(sedx_transient_alloc(fr, 64, 0, &t), SEDX_ERROR_INVALID_USAGE);
                assert_int_equal(sedx_transient_alloc(fr, 64, SEDX_BUFFER_USAGE_ACCELERATION_STRUCTURE_INPUT, &t),
                                 SEDX_ERROR_INVALID_USAGE);
                sedx_ticket never = tk_last; /* a real ticket of this context, its value never submitted */
                never.value += 1000000;
                assert_int_equal(sedx_frame_end(ctx, fr, never), SEDX_ERROR_INVALID_ARGUMENT);
            }
        }
        /* every valid allocation (this frame's included) intact: no overlap inside or across frames */
        for (uint32_t k = 0; k < fif; ++k) check_slot(ctx, &slots[k], align, true);
        assert_int_equal(sedx_frame_flush(ctx, fr), SEDX_SUCCESS);
        /* the frame's submission, sometimes behind a gate that opens a few frames later */
        sedx_ticket tk;
        if (ngates < 64 && tu_rand(&g_rng) % 3 == 0) {
            uint32_t g = ngates++;
            gates[g] = tu_gate(ctx, SEDX_QUEUE_GRAPHICS, &tk);
            gate_open_at[g] = f + 1 + (uint32_t)(tu_rand(&g_rng) % fif);
        } else {
            sedx_cmd cmd;
            assert_int_equal(sedx_cmd_begin(ctx, SEDX_QUEUE_GRAPHICS, &cmd), SEDX_SUCCESS);
            assert_int_equal(sedx_cmd_submit(ctx, &cmd, NULL, &tk), SEDX_SUCCESS);
        }
        assert_int_equal(sedx_frame_end(ctx, fr, tu_rand(&g_rng) % 4 ? tk : (sedx_ticket){0}), SEDX_SUCCESS);
        assert_int_equal(sedx_frame_end(ctx, fr, tk), SEDX_ERROR_INVALID_HANDLE); /* twice */
        tk_last = tk;
        prev = fr;
    }
    for (uint32_t g = 0; g < ngates; ++g)
        if (gates[g] && gate_open_at[g] != UINT32_MAX) tu_open_gate(ctx, gates[g]);
    sedx_frame_stats st;
    assert_int_equal(sedx_frame_get_stats(ctx, &st), SEDX_SUCCESS);
    assert_int_equal(st.frames_begun, frames);
    assert_int_equal(st.frames_ended, frames);
    print_message("  %u in flight, %llu-byte blocks: %llu begins waited, %llu blocks created, %llu released\n", fif,
                  (unsigned long long)block, (unsigned long long)st.waits, (unsigned long long)st.blocks_created,
                  (unsigned long long)st.blocks_released);
    assert_true(st.blocks_created > 1);
    /* a frame left open, frames in flight: destroyed anyway (logged, nothing leaks) */
    sedx_frame *fr;
    assert_int_equal(sedx_frame_begin(ctx, &fr), SEDX_SUCCESS);
    sedx_transient t;
    assert_int_equal(sedx_transient_alloc(fr, 100, SEDX_BUFFER_USAGE_STORAGE, &t), SEDX_SUCCESS);
    assert_int_equal(sedx_context_wait_idle(ctx), SEDX_SUCCESS);
    for (uint32_t g = 0; g < ngates; ++g)
        if (gates[g]) vkDestroySemaphore(sedx_context_device(ctx), gates[g], NULL);
    for (uint32_t k = 0; k < SEDX_MAX_FRAMES_IN_FLIGHT; ++k) clear_slot(&slots[k]);
    free(slots);
    tu_context_destroy(ctx);
}

static void test_frames(void **state)
{
    (void)state;
    run(1, 4096, 40, 0);
    run(2, 8192, 60, 0);
    run(3, 4096, 60, SEDX_TRANSFER_NO_DIRECT);
    run(4, 64u << 10, 60, 0);
}

int main(void)
{
    g_rng = tu_seed();
    const struct CMUnitTest tests[] = {cmocka_unit_test(test_frames)};
    return cmocka_run_group_tests(tests, NULL, NULL);
}
