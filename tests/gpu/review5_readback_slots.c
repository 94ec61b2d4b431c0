/* Review 5: recorded asynchronous readbacks (sedx_download_async_record) whose one-time command
 * buffer slot is used again before sedx_download_async_submitted_all looks at it, under the
 * validation layer, default and staged (SEDX_TRANSFER_NO_DIRECT) paths.
 *
 * sedx_cmd_begin hands out the lowest free slot, so the slot of a discarded command buffer (its
 * value is 0: free at once) is the very next one begun, and the slot of a finished one too.
 * The request must still learn what happened to ITS command buffer:
 *  - recorded into A, A discarded, B begun in the same slot (and maybe submitted) before
 *    submitted_all: the request is dropped (handle stale), never given B's submission (its
 *    bytes were never written: taking it would return stale ring bytes as SUCCESS);
 *  - recorded into A, A submitted and finished, B begun in the same slot and discarded before
 *    submitted_all: the request was written; it is given a submission, its bytes are right.
 * Then random sequences (fixed seed) of begin / fill / record / submit / discard / cancel /
 * explicit submitted / submitted_all / take / old-path request over up to 6 open command
 * buffers, against a model: every return code, submitted_all's count, every byte (each command
 * buffer fills the source with its own random non-zero word before its requests, so stale ring
 * bytes can never pass), the ring empty at the end. */
#include "test_util.h"

#include "device/device.h" /* SEDX__CMD_DROP_LOG */

#include <stdlib.h>
#include <string.h>

#define POISON 0xCD
#define SRC_BYTES (64u << 10)

static uint64_t g_rng;

static sedx_context *make_ctx(uint32_t flags)
{
    sedx_context *ctx = tu_context(false);
    if (flags) {
        sedx_transfer_info ti = {0};
        ti.flags = flags;
        assert_int_equal(sedx_transfer_configure(ctx, &ti), SEDX_SUCCESS);
    }
    return ctx;
}

static uint32_t nonzero_word(void)
{
    uint32_t w;
    do w = (uint32_t)tu_rand(&g_rng);
    while (!(w & 0xFF) || !(w & 0xFF00) || !(w & 0xFF0000) || !(w & 0xFF000000) || (w & 0xFF) == POISON);
    return w;
}

static void expect_word_bytes(const uint8_t *got, uint64_t offset, uint64_t size, uint32_t word)
{
    for (uint64_t i = 0; i < size; ++i) {
        uint8_t want = (uint8_t)(word >> (8 * ((offset + i) & 3)));
        if (got[i] != want)
            fail_msg("byte %llu of a %llu-byte request at %llu is 0x%02x, expected 0x%02x (fill word 0x%08x)",
                     (unsigned long long)i, (unsigned long long)size, (unsigned long long)offset, got[i], want, word);
    }
}

static void take_word(sedx_context *ctx, sedx_download_request *req, uint64_t offset, uint32_t word)
{
    uint64_t n = req->size;
    uint8_t *got = malloc(n);
    memset(got, POISON, n);
    assert_int_equal(sedx_download_wait(ctx, req, UINT64_MAX), SEDX_SUCCESS);
    assert_int_equal(sedx_download_result(ctx, req, got), SEDX_SUCCESS);
    expect_word_bytes(got, offset, n, word);
    assert_int_equal(req->handle, 0);
    free(got);
}

static void expect_empty(sedx_context *ctx)
{
    assert_int_equal(sedx_context_wait_idle(ctx), SEDX_SUCCESS);
    sedx_download_pump(ctx);
    sedx_download_async_stats st;
    assert_int_equal(sedx_download_async_get_stats(ctx, &st), SEDX_SUCCESS);
    assert_int_equal(st.outstanding, 0);
    assert_int_equal(st.unsubmitted, 0);
    assert_int_equal(st.ring_used, 0);
}

static sedx_buffer make_src(sedx_context *ctx)
{
    sedx_buffer b;
    assert_int_equal(sedx_buffer_create(ctx, SRC_BYTES, SEDX_BUFFER_USAGE_STORAGE, SEDX_MEMORY_GPU, "review5 src", &b),
                     SEDX_SUCCESS);
    return b;
}

/* A discarded command buffer whose slot is begun again (and submitted) before submitted_all. */
static void discard_then_reuse(uint32_t flags, bool submit_b, bool warm_slot)
{
    sedx_context *ctx = make_ctx(flags);
    sedx_buffer src = make_src(ctx);
    sedx_cmd cmd;
    if (warm_slot) { /* the slot's value is a real submission's, not 0 */
        assert_int_equal(sedx_cmd_begin(ctx, SEDX_QUEUE_GRAPHICS, &cmd), SEDX_SUCCESS);
        tu_cmd_fill(&cmd, &src, nonzero_word());
        assert_int_equal(sedx_cmd_submit(ctx, &cmd, NULL, NULL), SEDX_SUCCESS);
        assert_int_equal(sedx_context_wait_idle(ctx), SEDX_SUCCESS);
    }
    /* a first request that fills the ring's start with known bytes, taken: its bytes stay there */
    uint32_t w0 = nonzero_word();
    assert_int_equal(sedx_cmd_begin(ctx, SEDX_QUEUE_GRAPHICS, &cmd), SEDX_SUCCESS);
    tu_cmd_fill(&cmd, &src, w0);
    sedx_download_request first;
    assert_int_equal(sedx_download_async_record(ctx, &cmd, &src, 0, 256, &first), SEDX_SUCCESS);
    sedx_ticket t0;
    assert_int_equal(sedx_cmd_submit(ctx, &cmd, NULL, &t0), SEDX_SUCCESS);
    assert_int_equal(sedx_download_async_submitted_all(ctx), 1);
    take_word(ctx, &first, 0, w0);
    assert_int_equal(sedx_context_wait_idle(ctx), SEDX_SUCCESS);

    /* A: recorded, then discarded */
    sedx_cmd a, b;
    assert_int_equal(sedx_cmd_begin(ctx, SEDX_QUEUE_GRAPHICS, &a), SEDX_SUCCESS);
    tu_cmd_fill(&a, &src, nonzero_word());
    sedx_download_request r;
    assert_int_equal(sedx_download_async_record(ctx, &a, &src, 0, 256, &r), SEDX_SUCCESS);
    uint32_t slot_a = a.slot;
    sedx_cmd_discard(ctx, &a);
    /* B: the same slot, begun (and submitted) before anybody looked */
    assert_int_equal(sedx_cmd_begin(ctx, SEDX_QUEUE_GRAPHICS, &b), SEDX_SUCCESS);
    assert_int_equal(b.slot, slot_a); /* the premise: the lowest free slot */
    if (submit_b) assert_int_equal(sedx_cmd_submit(ctx, &b, NULL, NULL), SEDX_SUCCESS);
    assert_int_equal(sedx_download_async_submitted_all(ctx), 0); /* nothing to give: A never ran */
    assert_int_equal(sedx_download_poll(ctx, &r), SEDX_ERROR_INVALID_HANDLE); /* dropped */
    uint8_t got[256];
    memset(got, POISON, sizeof got);
    assert_int_equal(sedx_download_result(ctx, &r, got), SEDX_ERROR_INVALID_HANDLE);
    if (!submit_b) sedx_cmd_discard(ctx, &b);
    expect_empty(ctx);
    sedx_buffer_release(&src);
    tu_context_destroy(ctx);
}

/* A recorded, then submitted (and finished) or discarded; then its slot begun `reuses` more times
 * before submitted_all: each later command buffer submitted, except `discards` of them discarded
 * (spread among them). The request must get a submission (A submitted) or be dropped (A
 * discarded) however many times the slot was used since; the fate of a submitted A is unknown
 * only past SEDX__CMD_DROP_LOG later discards of the same slot (then dropped, with an ERROR line,
 * never taken as written). */
static void reuse_many(uint32_t flags, bool submit_a, int reuses, int discards)
{
    sedx_context *ctx = make_ctx(flags);
    sedx_buffer src = make_src(ctx);
    sedx_cmd a, b;
    uint32_t w = nonzero_word();
    assert_int_equal(sedx_cmd_begin(ctx, SEDX_QUEUE_GRAPHICS, &a), SEDX_SUCCESS);
    tu_cmd_fill(&a, &src, w);
    sedx_download_request r;
    assert_int_equal(sedx_download_async_record(ctx, &a, &src, 64, 4000, &r), SEDX_SUCCESS);
    uint32_t slot_a = a.slot;
    if (submit_a) {
        assert_int_equal(sedx_cmd_submit(ctx, &a, NULL, NULL), SEDX_SUCCESS);
        assert_int_equal(sedx_context_wait_idle(ctx), SEDX_SUCCESS);
    } else {
        sedx_cmd_discard(ctx, &a);
    }
    for (int i = 0; i < reuses; ++i) {
        assert_int_equal(sedx_cmd_begin(ctx, SEDX_QUEUE_GRAPHICS, &b), SEDX_SUCCESS);
        assert_int_equal(b.slot, slot_a); /* the premise: the lowest free slot, free again */
        if (discards && i % (reuses / discards) == 0 && i / (reuses / discards) < discards) {
            sedx_cmd_discard(ctx, &b);
        } else {
            tu_cmd_fill(&b, &src, nonzero_word()); /* other bytes: never to be taken for A's */
            assert_int_equal(sedx_cmd_submit(ctx, &b, NULL, NULL), SEDX_SUCCESS);
            assert_int_equal(sedx_context_wait_idle(ctx), SEDX_SUCCESS);
        }
    }
    bool known = discards <= (int)SEDX__CMD_DROP_LOG;
    tu_log_reset();
    assert_int_equal(sedx_download_async_submitted_all(ctx), submit_a && known ? 1 : 0);
    if (submit_a && known) {
        take_word(ctx, &r, 64, w);
    } else {
        assert_int_equal(tu_log_count(SEDX_LOG_ERROR), 1); /* dropped, said once */
        assert_int_equal(sedx_download_poll(ctx, &r), SEDX_ERROR_INVALID_HANDLE);
    }
    expect_empty(ctx);
    sedx_buffer_release(&src);
    tu_context_destroy(ctx);
}

static void test_reuse_many(void **state)
{
    (void)state;
    tu_log_capture();
    for (int flags = 0; flags < 2; ++flags) {
        uint32_t f = flags ? SEDX_TRANSFER_NO_DIRECT : 0;
        reuse_many(f, true, 200, 0);                            /* 200 > the 64 begins review 5 kept */
        reuse_many(f, true, 200, (int)SEDX__CMD_DROP_LOG);      /* every discard still remembered */
        reuse_many(f, true, 200, (int)SEDX__CMD_DROP_LOG + 1);  /* one too many: unknown, dropped */
        reuse_many(f, false, 200, 0);                           /* discarded A: dropped */
        reuse_many(f, false, 200, (int)SEDX__CMD_DROP_LOG - 1); /* with A's, the log is full */
        reuse_many(f, false, 200, (int)SEDX__CMD_DROP_LOG + 3); /* A's discard pushed out: dropped */
    }
}

static void test_discard_then_reuse(void **state)
{
    (void)state;
    for (int flags = 0; flags < 2; ++flags)
        for (int submit_b = 0; submit_b < 2; ++submit_b)
            for (int warm = 0; warm < 2; ++warm)
                discard_then_reuse(flags ? SEDX_TRANSFER_NO_DIRECT : 0, submit_b, warm);
}

/* A submitted and finished; B begun in A's slot and discarded before submitted_all. */
static void test_submit_then_reuse_discard(void **state)
{
    (void)state;
    reuse_many(0, true, 1, 1);
    reuse_many(SEDX_TRANSFER_NO_DIRECT, true, 1, 1);
}

/* ------------------------------------------------------------------------------------------
 * Random sequences against a model
 * ---------------------------------------------------------------------------------------- */
enum { MAX_OPEN = 6, MAX_REQ = 192, MAX_CMDS = 4096 };
enum { C_OPEN, C_SUBMITTED, C_DISCARDED };
enum { Q_PENDING, Q_GIVEN, Q_DROPPED, Q_GONE };

typedef struct mcmd {
    sedx_cmd cmd;
    int state;
    uint32_t word;
    sedx_ticket ticket;
} mcmd;

typedef struct mreq {
    sedx_download_request req;
    uint64_t off, size;
    uint32_t word;
    int cmd;        /* index into the command buffers, -1 for the old path */
    int state;
    bool cancelled; /* pending and cancelled: still holds its space */
} mreq;

typedef struct model {
    sedx_context *ctx;
    sedx_buffer src;
    mcmd cmds[MAX_CMDS];
    int ncmds;
    int open[MAX_OPEN];
    int nopen;
    mreq reqs[MAX_REQ];
    uint32_t last_word; /* the fill of the latest submitted command buffer */
    uint64_t align;
    uint64_t ring_size;
    int dropped; /* requests dropped by submitted_all (their command buffer discarded) */
} model;

static int live_count(const model *m)
{
    int n = 0;
    for (int i = 0; i < MAX_REQ; ++i) n += m->reqs[i].state != Q_GONE;
    return n;
}

static int free_req(model *m)
{
    for (int i = 0; i < MAX_REQ; ++i)
        if (m->reqs[i].state == Q_GONE) return i;
    return -1;
}

static uint64_t held_bytes(const model *m, uint32_t *count, uint32_t *pending)
{
    uint64_t b = 0;
    *count = *pending = 0;
    for (int i = 0; i < MAX_REQ; ++i) {
        const mreq *q = &m->reqs[i];
        bool holds = q->state == Q_PENDING || (q->state == Q_GIVEN && !q->cancelled);
        if (!holds) continue;
        b += (q->size + m->align - 1) / m->align * m->align;
        ++*count;
        *pending += q->state == Q_PENDING;
    }
    return b;
}

static void op_begin(model *m)
{
    if (m->nopen == MAX_OPEN || m->ncmds == MAX_CMDS) return;
    int c = m->ncmds++;
    mcmd *mc = &m->cmds[c];
    assert_int_equal(sedx_cmd_begin(m->ctx, SEDX_QUEUE_GRAPHICS, &mc->cmd), SEDX_SUCCESS);
    mc->state = C_OPEN;
    mc->word = nonzero_word();
    tu_cmd_fill(&mc->cmd, &m->src, mc->word);
    m->open[m->nopen++] = c;
}

static void close_open(model *m, int k)
{
    m->open[k] = m->open[--m->nopen];
}

static void op_record(model *m, int *fulls)
{
    if (!m->nopen) return;
    int slot = free_req(m);
    if (slot < 0) return;
    int c = m->open[tu_rand(&g_rng) % (uint64_t)m->nopen];
    mreq *q = &m->reqs[slot];
    uint64_t size = 1 + tu_rand(&g_rng) % ((tu_rand(&g_rng) & 3) ? 600 : 6000);
    uint64_t off = tu_rand(&g_rng) % (SRC_BYTES - size + 1);
    sedx_result r = sedx_download_async_record(m->ctx, &m->cmds[c].cmd, &m->src, off, size, &q->req);
    if (r == SEDX_ERROR_OUT_OF_STAGING) {
        uint32_t n, p;
        uint64_t held = held_bytes(m, &n, &p);
        assert_true(n > 0);                                   /* something holds the ring */
        assert_true(held + ((size + m->align - 1) & ~(m->align - 1)) > m->ring_size / 4); /* not refused while nearly empty */
        assert_int_equal(q->req.handle, 0);
        ++*fulls;
        return;
    }
    assert_int_equal(r, SEDX_SUCCESS);
    assert_int_equal(q->req.size, size);
    q->off = off;
    q->size = size;
    q->word = m->cmds[c].word;
    q->cmd = c;
    q->state = Q_PENDING;
    q->cancelled = false;
}

/* A command buffer of the model fills the source: where sedx reads on a transfer-only queue,
 * the fill must wait for the reads sedx submitted there (the old-path requests), or it may
 * overwrite the source before they read it (docs/readback.md; the H100 showed it). */
static void submit_fill(model *m, mcmd *mc)
{
    VkSemaphore sem = sedx_context_timeline(m->ctx, SEDX_QUEUE_TRANSFER);
    uint64_t value = sedx_context_submitted_value(m->ctx, SEDX_QUEUE_TRANSFER);
    sedx_submit_info si = {1, &sem, &value, NULL};
    bool wait = sedx_context_has_transfer_queue(m->ctx) && value > 0;
    assert_int_equal(sedx_cmd_submit(m->ctx, &mc->cmd, wait ? &si : NULL, &mc->ticket), SEDX_SUCCESS);
}

static void op_submit(model *m)
{
    if (!m->nopen) return;
    int k = (int)(tu_rand(&g_rng) % (uint64_t)m->nopen);
    mcmd *mc = &m->cmds[m->open[k]];
    submit_fill(m, mc);
    assert_int_equal(sedx_buffer_mark_used(&m->src, mc->ticket), SEDX_SUCCESS);
    mc->state = C_SUBMITTED;
    m->last_word = mc->word;
    close_open(m, k);
}

static void op_discard(model *m)
{
    if (!m->nopen) return;
    int k = (int)(tu_rand(&g_rng) % (uint64_t)m->nopen);
    mcmd *mc = &m->cmds[m->open[k]];
    sedx_cmd_discard(m->ctx, &mc->cmd);
    assert_null(mc->cmd.cmd);
    mc->state = C_DISCARDED;
    close_open(m, k);
}

static void op_submitted_all(model *m)
{
    uint32_t want = 0;
    for (int i = 0; i < MAX_REQ; ++i) {
        mreq *q = &m->reqs[i];
        if (q->state != Q_PENDING) continue;
        int st = m->cmds[q->cmd].state;
        if (st == C_SUBMITTED) {
            want++;
            q->state = Q_GIVEN; /* a cancelled one holds its space until its ticket passes */
        } else if (st == C_DISCARDED) {
            q->state = q->cancelled ? Q_GONE : Q_DROPPED;
            m->dropped += !q->cancelled;
        }
    }
    assert_int_equal(sedx_download_async_submitted_all(m->ctx), want);
}

/* The explicit form for the pending, not cancelled requests of one submitted command buffer. */
static void op_submitted(model *m)
{
    int c = -1;
    for (int tries = 0; tries < 8 && c < 0; ++tries) {
        int i = (int)(tu_rand(&g_rng) % MAX_REQ);
        mreq *q = &m->reqs[i];
        if (q->state == Q_PENDING && !q->cancelled && m->cmds[q->cmd].state == C_SUBMITTED) c = q->cmd;
    }
    if (c < 0) return;
    sedx_download_request list[MAX_REQ];
    int idx[MAX_REQ], n = 0;
    for (int i = 0; i < MAX_REQ; ++i) {
        mreq *q = &m->reqs[i];
        if (q->state == Q_PENDING && !q->cancelled && q->cmd == c) idx[n] = i, list[n++] = q->req;
    }
    /* a wrong ticket first: one submitted before the record (when there is one) changes nothing */
    sedx_ticket early = m->cmds[c].ticket;
    early.value = 1;
    if (early.value < m->cmds[c].ticket.value) /* every record came after the first fill's value 1 */
        assert_int_equal(sedx_download_async_submitted(m->ctx, list, (uint32_t)n, early), SEDX_ERROR_INVALID_ARGUMENT);
    assert_int_equal(sedx_download_async_submitted(m->ctx, list, (uint32_t)n, m->cmds[c].ticket), SEDX_SUCCESS);
    for (int k = 0; k < n; ++k) m->reqs[idx[k]].state = Q_GIVEN;
}

static void op_cancel(model *m)
{
    int i = (int)(tu_rand(&g_rng) % MAX_REQ);
    mreq *q = &m->reqs[i];
    if ((q->state != Q_PENDING && q->state != Q_GIVEN) || q->cancelled) return;
    assert_int_equal(sedx_download_cancel(m->ctx, &q->req), SEDX_SUCCESS);
    assert_int_equal(q->req.handle, 0);
    q->cancelled = true; /* pending: until its submission is known; given: until its ticket passed (a pump) */
}

static void op_take(model *m)
{
    int i = (int)(tu_rand(&g_rng) % MAX_REQ);
    mreq *q = &m->reqs[i];
    if (q->state == Q_GONE || q->cancelled) return;
    if (q->state == Q_GIVEN) {
        take_word(m->ctx, &q->req, q->off, q->word);
        q->state = Q_GONE;
    } else if (q->state == Q_DROPPED) {
        assert_int_equal(sedx_download_poll(m->ctx, &q->req), SEDX_ERROR_INVALID_HANDLE);
        q->state = Q_GONE;
    } else { /* pending */
        uint8_t got[16];
        assert_int_equal(sedx_download_poll(m->ctx, &q->req), SEDX_NOT_READY);
        assert_int_equal(sedx_download_result(m->ctx, &q->req, got), SEDX_NOT_READY);
        assert_int_equal(sedx_download_wait(m->ctx, &q->req, 0), SEDX_ERROR_BUSY);
        assert_int_not_equal(q->req.handle, 0);
    }
}

static void op_old_path(model *m, int *fulls)
{
    int slot = free_req(m);
    if (slot < 0) return;
    mreq *q = &m->reqs[slot];
    uint64_t size = 1 + tu_rand(&g_rng) % 2000;
    uint64_t off = tu_rand(&g_rng) % (SRC_BYTES - size + 1);
    sedx_result r = sedx_download_async(m->ctx, &m->src, off, size, &q->req);
    if (r == SEDX_ERROR_OUT_OF_STAGING) {
        assert_int_equal(q->req.handle, 0);
        ++*fulls;
        return;
    }
    assert_int_equal(r, SEDX_SUCCESS);
    q->off = off;
    q->size = size;
    q->word = m->last_word;
    q->cmd = -1;
    q->state = Q_GIVEN;
    q->cancelled = false;
}

static void quiescent_check(model *m)
{
    assert_int_equal(sedx_context_wait_idle(m->ctx), SEDX_SUCCESS);
    sedx_download_pump(m->ctx);
    for (int i = 0; i < MAX_REQ; ++i) /* cancelled given requests are freed now */
        if (m->reqs[i].state == Q_GIVEN && m->reqs[i].cancelled) m->reqs[i].state = Q_GONE;
    uint32_t n, p;
    uint64_t held = held_bytes(m, &n, &p);
    sedx_download_async_stats st;
    assert_int_equal(sedx_download_async_get_stats(m->ctx, &st), SEDX_SUCCESS);
    assert_int_equal(st.outstanding, n);
    assert_int_equal(st.unsubmitted, p);
    assert_int_equal(st.ring_used, held);
}

static void random_sequence(uint32_t flags, uint64_t readback_size, int steps)
{
    model *m = calloc(1, sizeof *m);
    m->ctx = tu_context(false);
    sedx_transfer_info ti = {0};
    ti.flags = flags;
    ti.readback_size = readback_size;
    assert_int_equal(sedx_transfer_configure(m->ctx, &ti), SEDX_SUCCESS);
    m->src = make_src(m->ctx);
    for (int i = 0; i < MAX_REQ; ++i) m->reqs[i].state = Q_GONE;
    uint64_t atom = sedx_context_properties(m->ctx)->limits.nonCoherentAtomSize;
    m->align = atom > 64 ? atom : 64;
    m->ring_size = readback_size;
    /* the source's first contents: one submitted fill */
    op_begin(m);
    m->nopen = 0;
    submit_fill(m, &m->cmds[0]);
    assert_int_equal(sedx_buffer_mark_used(&m->src, m->cmds[0].ticket), SEDX_SUCCESS);
    m->cmds[0].state = C_SUBMITTED;
    m->last_word = m->cmds[0].word;
    int fulls = 0;
    for (int step = 0; step < steps; ++step) {
        uint64_t x = tu_rand(&g_rng) % 100;
        if (x < 12) op_begin(m);
        else if (x < 42) op_record(m, &fulls);
        else if (x < 52) op_submit(m);
        else if (x < 57) op_discard(m);
        else if (x < 62) op_cancel(m);
        else if (x < 68) op_submitted(m);
        else if (x < 76) op_submitted_all(m);
        else if (x < 94) op_take(m);
        else if (x < 98) op_old_path(m, &fulls);
        else quiescent_check(m);
        if (m->ncmds == MAX_CMDS) break;
    }
    /* drain: discard what is open, give, take everything */
    while (m->nopen) op_discard(m);
    op_submitted_all(m);
    for (int i = 0; i < MAX_REQ; ++i) {
        mreq *q = &m->reqs[i];
        if (q->state == Q_GIVEN && !q->cancelled) take_word(m->ctx, &q->req, q->off, q->word);
        else if (q->state == Q_DROPPED) assert_int_equal(sedx_download_poll(m->ctx, &q->req), SEDX_ERROR_INVALID_HANDLE);
        if (q->state != Q_GIVEN || !q->cancelled) q->state = Q_GONE;
    }
    quiescent_check(m);
    assert_int_equal(live_count(m), 0);
    expect_empty(m->ctx);
    print_message("  %d command buffers, %d ring-full refusals, %d requests dropped\n", m->ncmds, fulls, m->dropped);
    assert_true(m->dropped > 0);
    if (readback_size < (1u << 20)) assert_true(fulls > 0);
    sedx_buffer_release(&m->src);
    tu_context_destroy(m->ctx);
    free(m);
}

static void test_random_default(void **state)
{
    (void)state;
    random_sequence(0, 64u << 10, 2500);
}

static void test_random_staged(void **state)
{
    (void)state;
    random_sequence(SEDX_TRANSFER_NO_DIRECT, 64u << 10, 2500);
}

static void test_random_big_ring(void **state)
{
    (void)state;
    random_sequence(SEDX_TRANSFER_NO_DIRECT, 1u << 20, 2500);
}

int main(void)
{
    g_rng = tu_seed();
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_discard_then_reuse),
        cmocka_unit_test(test_submit_then_reuse_discard),
        cmocka_unit_test(test_reuse_many),
        cmocka_unit_test(test_random_default),
        cmocka_unit_test(test_random_staged),
        cmocka_unit_test(test_random_big_ring),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
