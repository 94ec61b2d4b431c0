/* The random-sequence engine of tests/gpu/sequence*.c and fuzz/api_fuzz.c: see shadow.h. */
#ifndef _GNU_SOURCE
#define _GNU_SOURCE
#endif
#include "shadow.h"

#include <pthread.h>
#include <stdarg.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#define MAX_REFS 4
#define MAX_BUFS 64
#define MAX_STALE 32
#define MAX_TICKETS 16
#define MAX_RESV 6      /* reservations outstanding per sequence */
#define MAX_REQ 12      /* asynchronous readback requests outstanding per sequence */
#define MAX_TRANS 32    /* transient allocations remembered (checked untouched while their frame is in flight) */
#define REQ_MAX_BYTES (256u << 10)
/* Callback entries of sedx_download_async_batch in threads runs (another thread's call may run
 * them): 0 leaves them out there. They found a use-after-free: the batch read each request after
 * dropping the transfer lock, when another thread's pump could have run and recycled a callback
 * request, and a callback entry's out[i] got another request's handle (fixed: out[] is filled
 * under the readback lock). */
#define SEQ_THREADS_ASYNC_CALLBACKS 1
#define HISTORY (s->history_cap) /* op lines kept (the last writer of a byte is printed when still here) */
#define LOG_TAIL 20u    /* op lines printed with a failure */
#define LINE 400
#define GUARD 64u       /* poisoned bytes around every download destination */
#define GRANULE_SHIFT 6 /* last-writer tracking per 64 bytes */
#define TD (SEDX_BUFFER_USAGE_TRANSFER_SRC | SEDX_BUFFER_USAGE_TRANSFER_DST)

/* ------------------------------------------------------------------------------------------
 * Operations and their weights
 * ---------------------------------------------------------------------------------------- */
#define SHADOW_OPS(X)                                                                                  \
    X(create, 4) X(create_ex, 4) X(create_staging, 1) X(create_with_data, 2)                          \
    X(write, 4) X(read, 4) X(data_check, 3) X(data_write, 2) X(write_self, 1) X(read_self, 1)         \
    X(upload, 14) X(upload_ex, 5) X(upload_from_mapping, 2) X(upload_self, 1) X(upload_batch, 7) X(upload_batch_bad, 1)      \
    X(upload_submit, 4) X(upload_flush, 2) X(download, 7) X(download_to_mapping, 2)                  \
    X(download_self, 1) X(download_batch, 3) X(download_batch_bad, 1) X(copy, 6) X(copy_buffer, 2) X(copy_buffer_offsets, 2)   \
    X(upload_release, 2) X(retain, 2) X(release, 3) X(stale_copy, 1) X(ticket_wait, 2)                \
    X(ticket_poll, 2) X(wait_idle, 1) X(bad, 4) X(bad_raw, 2) X(bad_stale, 2) X(verify, 2) X(shared, 3) X(shared_stale, 1) X(gate, 2) \
    X(frame, 3) X(reserve, 3) X(reserve_done, 3) X(async, 3) X(async_take, 4)

enum {
#define X(name, w) OP_##name,
    SHADOW_OPS(X)
#undef X
    OP_COUNT
};
static const char *const g_op_names[OP_COUNT] = {
#define X(name, w) #name,
    SHADOW_OPS(X)
#undef X
};
static const uint32_t g_op_weights[OP_COUNT] = {
#define X(name, w) w,
    SHADOW_OPS(X)
#undef X
};

enum { MEM_GPU, MEM_CPU, MEM_CPU_READBACK, MEM_CPU_RANDOM, MEM_CPU_SEQ, MEM_STAGING, MEM_KINDS };
static const char *const g_mem_names[MEM_KINDS] = {"GPU", "CPU", "CPU/readback", "CPU/random", "CPU/seqwrite",
                                                   "staging"};

/* ------------------------------------------------------------------------------------------
 * The model
 * ---------------------------------------------------------------------------------------- */
typedef struct sref {
    sedx_buffer b;
    uint32_t serial; /* reference number, for the log: B<buffer>.<ref> */
} sref;

typedef struct sbuf {
    uint32_t serial;
    sref refs[MAX_REFS];
    uint32_t nrefs;
    uint64_t size;
    uint8_t *bytes, *known;
    uint32_t *writer; /* op index of the last write, per granule */
    sedx_buffer_usage_flags usage; /* as requested */
    int mem;
    bool cpu;
    void *data;       /* the mapping (CPU memory) */
    bool in_batch;    /* an upload since the last flush: may still be in the open batch */
    sedx_ticket busy; /* GPU work on it not yet waited for */
} sbuf;

typedef struct stale_ref {
    sedx_buffer b;
    uint32_t serial;
} stale_ref;

typedef struct category {
    char name[160];
    uint32_t count, first_op;
} category;

struct shadow_seq {
    shadow_config cfg;
    uint64_t rng, data_rng;
    const uint8_t *in;
    size_t in_left;
    bool exhausted;
    sbuf *bufs[MAX_BUFS];
    uint32_t nbufs;
    uint64_t live_bytes;
    uint32_t next_serial, next_ref;
    stale_ref stale[MAX_STALE];
    uint32_t nstale, stale_next;
    sedx_ticket tickets[MAX_TICKETS];
    uint32_t ntickets, ticket_next;
    uint8_t *src, *dst, *tmp, *tmpk;
    uint64_t src_cap, dst_cap;
    VkBuffer foreign;
    VkDeviceMemory foreign_mem;
    sedx_buffer other_buf; /* a buffer of other_ctx */
    char (*history)[LINE];
    uint32_t history_count, history_cap;
    char cur[LINE];
    size_t cur_len;
    uint32_t op, ops_done;
    uint32_t failures;
    category cats[64];
    uint32_t ncats;
    uint32_t op_calls[OP_COUNT], op_errors[OP_COUNT];
    uint32_t out_of_staging, not_ready, ignored;
    uint32_t total_weight;
    uint32_t ctx_id; /* the context's id (tickets made from submitted values) */
    /* zero-copy staging */
    struct sresv *resv[MAX_RESV];
    uint32_t nresv;
    /* asynchronous readback */
    struct sreq *reqs[MAX_REQ];
    uint32_t nreq, cancels_pending;
    /* frames */
    bool frames;
    sedx_frame *frame;     /* the open frame, or NULL */
    uint64_t frame_no;
    sedx_ticket frame_ticket; /* the open frame's last recorded submission */
    uint32_t fif, frame_align;
    uint64_t block_size;
    struct strans *trans[MAX_TRANS];
    uint32_t ntrans;
    sedx_transient reclaimed; /* the latest transient whose slot was reused (for sedx_transient_check) */
    /* counters for the stats line */
    uint64_t n_frames, n_transients, n_frame_copies, n_frame_uploads, n_resv, n_commits, n_cancels, n_resv_refused,
        n_pin_refusals, n_async, n_async_batches, n_results, n_async_cancels, n_callbacks, n_async_full;
};

static pthread_mutex_t g_print_lock = PTHREAD_MUTEX_INITIALIZER;

/* ------------------------------------------------------------------------------------------
 * Logger: bad calls are expected to log errors; the rest is printed (the first ones)
 * ---------------------------------------------------------------------------------------- */
static _Thread_local int tl_expect_errors;
static _Thread_local uint32_t tl_logged;
static _Atomic uint32_t g_printed_logs, g_dropped_logs;

static void seq_logger(sedx_log_level level, const char *tag, const char *message, const char *file, int line,
                       void *user)
{
    (void)user;
    if (level >= SEDX_LOG_WARN) tl_logged++;
    bool validation = tag && strcmp(tag, "VALIDATION") == 0;
    if (level < SEDX_LOG_WARN || (tl_expect_errors && !validation)) return;
    if (!validation && atomic_fetch_add(&g_printed_logs, 1) >= 60) {
        atomic_fetch_add(&g_dropped_logs, 1);
        return;
    }
    pthread_mutex_lock(&g_print_lock);
    fprintf(stderr, "  log %s [%s] %s (%s:%d)\n", sedx_log_level_name(level), tag ? tag : "", message,
            file ? file : "?", line);
    pthread_mutex_unlock(&g_print_lock);
}

void shadow_install_logger(void) { sedx_set_logger(seq_logger, NULL); }

/* ------------------------------------------------------------------------------------------
 * Choices
 * ---------------------------------------------------------------------------------------- */
static uint64_t xorshift(uint64_t *state)
{
    uint64_t x = *state;
    x ^= x >> 12;
    x ^= x << 25;
    x ^= x >> 27;
    *state = x;
    return x * 0x2545F4914F6CDD1Dull;
}

/* A value in [0, n). Fuzz: from the input bytes (as few as n needs). */
static uint64_t pick(shadow_seq *s, uint64_t n)
{
    if (n <= 1) return 0;
    uint64_t v = 0;
    if (s->cfg.bytes) {
        unsigned nb = n <= 256u ? 1 : n <= 65536u ? 2 : n <= (1u << 24) ? 3 : 4;
        for (unsigned i = 0; i < nb; ++i) {
            if (!s->in_left) {
                s->exhausted = true;
                break;
            }
            v |= (uint64_t)*s->in++ << (8 * i);
            s->in_left--;
        }
    } else {
        v = xorshift(&s->rng);
    }
    return v % n;
}


/* Random data, never a zero byte (fresh memory is often zero). */
static void fill_data(shadow_seq *s, uint8_t *p, uint64_t n)
{
    uint64_t i = 0;
    while (i < n) {
        uint64_t x = xorshift(&s->data_rng);
        for (int k = 0; k < 8 && i < n; ++k, ++i) {
            uint8_t v = (uint8_t)(x >> (8 * k));
            p[i] = v ? v : 0x5A;
        }
    }
}

static uint8_t poison_byte(uint64_t i) { return (uint8_t)(0xDB ^ (uint8_t)(i * 0x35u)); }
static void poison(uint8_t *p, uint64_t n)
{
    for (uint64_t i = 0; i < n; ++i) p[i] = poison_byte(i);
}
/* First index in [from, from + n) of a poisoned block whose byte changed, or -1. */
static int64_t poison_changed(const uint8_t *block, uint64_t from, uint64_t n)
{
    for (uint64_t i = from; i < from + n; ++i)
        if (block[i] != poison_byte(i)) return (int64_t)i;
    return -1;
}

/* Sizes 1 B .. max_size, odd ones favoured, and the sizes around the ring's. */
static uint64_t choose_size(shadow_seq *s)
{
    uint64_t max = s->cfg.max_size, size;
    uint64_t r = pick(s, 100);
    if (r < 30) size = 1 + pick(s, 64);
    else if (r < 55) size = 65 + pick(s, 4096 - 64);
    else if (r < 62) {
        uint64_t ring = s->cfg.ring_size ? s->cfg.ring_size : 65536;
        static const uint64_t fr[] = {1, 2, 4, 8}; /* fractions and multiples of the ring */
        uint64_t base = pick(s, 2) ? ring / fr[pick(s, 4)] : ring * (1 + pick(s, 3));
        size = base + pick(s, 5) - 2;
        if (size < 1) size = 1;
    } else if (r < 80) size = 4097 + pick(s, 65536 - 4096);
    else if (r < 94) size = 65537 + pick(s, (1u << 20) - 65536);
    else size = (1u << 20) + pick(s, max > (1u << 20) ? max - (1u << 20) + 1 : 1);
    if (size > max) size = 1 + pick(s, max);
    if (pick(s, 4)) size |= 1;
    if (size > max) size = max;
    return size;
}

/* A range of a buffer of size bytes: length 0 now and then, the whole, tiny, small or any. */
static void choose_range(shadow_seq *s, uint64_t size, uint64_t *off, uint64_t *n)
{
    uint64_t r = pick(s, 100), len;
    if (r < 2) len = 0;
    else if (r < 12) len = size;
    else if (r < 40) len = 1 + pick(s, size < 16 ? size : 16);
    else if (r < 70) len = 1 + pick(s, size < 4096 ? size : 4096);
    else len = 1 + pick(s, size);
    if (len > size) len = size;
    *n = len;
    *off = pick(s, 10) == 0 ? size - len : pick(s, size - len + 1);
}

static sedx_buffer_usage_flags choose_usage(shadow_seq *s)
{
    static const sedx_buffer_usage_flags base[] = {
        SEDX_BUFFER_USAGE_VERTEX,        SEDX_BUFFER_USAGE_INDEX,         SEDX_BUFFER_USAGE_UNIFORM,
        SEDX_BUFFER_USAGE_STORAGE,       SEDX_BUFFER_USAGE_UNIFORM_TEXEL, SEDX_BUFFER_USAGE_STORAGE_TEXEL,
        SEDX_BUFFER_USAGE_INDIRECT};
    sedx_buffer_usage_flags u = 0;
    if (pick(s, 10) != 0) {
        uint64_t bits = 1 + pick(s, 3);
        for (uint64_t i = 0; i < bits; ++i) u |= base[pick(s, sizeof base / sizeof base[0])];
    }
    static const sedx_buffer_usage_flags td[] = {0, SEDX_BUFFER_USAGE_TRANSFER_SRC, SEDX_BUFFER_USAGE_TRANSFER_DST, TD};
    u |= td[pick(s, 4)];
    if (!u) u = TD;
    return u;
}

/* ------------------------------------------------------------------------------------------
 * Op log and failure reports
 * ---------------------------------------------------------------------------------------- */
static void lg(shadow_seq *s, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
static void lg(shadow_seq *s, const char *fmt, ...)
{
    if (s->cur_len >= sizeof s->cur - 1) return;
    va_list ap;
    va_start(ap, fmt);
    int n = vsnprintf(s->cur + s->cur_len, sizeof s->cur - s->cur_len, fmt, ap);
    va_end(ap);
    if (n > 0) s->cur_len += (size_t)n;
    if (s->cur_len > sizeof s->cur - 1) s->cur_len = sizeof s->cur - 1;
}

static const char *short_result(sedx_result r)
{
    const char *n = sedx_result_name(r);
    if (strncmp(n, "SEDX_ERROR_", 11) == 0) return n + 11;
    if (strncmp(n, "SEDX_", 5) == 0) return n + 5;
    return n;
}

static void print_tail(shadow_seq *s, FILE *f)
{
    uint32_t have = s->history_count < HISTORY ? s->history_count : HISTORY;
    uint32_t n = have < LOG_TAIL ? have : LOG_TAIL;
    fprintf(f, "  last %u operations (oldest first):\n", n + 1);
    for (uint32_t i = s->history_count - n; i < s->history_count; ++i) fprintf(f, "    %s\n", s->history[i % HISTORY]);
    fprintf(f, "    %s   <-- this one\n", s->cur);
}

static const char *history_line(shadow_seq *s, uint32_t op)
{
    if (op >= s->history_count || s->history_count - op > HISTORY) return NULL;
    const char *l = s->history[op % HISTORY];
    return l;
}

static void fail(shadow_seq *s, const char *category_name, const char *fmt, ...) __attribute__((format(printf, 3, 4)));
static bool ignored(const shadow_seq *s, const char *category_name)
{
    const char *list = s->cfg.ignore;
    if (!list || !*list) return false;
    char buf[512];
    snprintf(buf, sizeof buf, "%s", list);
    for (char *save = NULL, *t = strtok_r(buf, ",", &save); t; t = strtok_r(NULL, ",", &save))
        if (*t && strstr(category_name, t)) return true;
    return false;
}

static void fail(shadow_seq *s, const char *category_name, const char *fmt, ...)
{
    if (ignored(s, category_name)) { /* SEDX_SEQ_IGNORE: a known bug, left out while hunting others */
        if (s->ignored++ == 0) {
            pthread_mutex_lock(&g_print_lock);
            fprintf(stderr, "sequence %s: ignoring failures like [%s] (SEDX_SEQ_IGNORE)\n", s->cfg.mode, category_name);
            pthread_mutex_unlock(&g_print_lock);
        }
        return;
    }
    s->failures++;
    category *c = NULL;
    for (uint32_t i = 0; i < s->ncats; ++i)
        if (strcmp(s->cats[i].name, category_name) == 0) c = &s->cats[i];
    if (!c && s->ncats < sizeof s->cats / sizeof s->cats[0]) {
        c = &s->cats[s->ncats++];
        snprintf(c->name, sizeof c->name, "%s", category_name);
        c->first_op = s->op;
    }
    uint32_t nth = c ? ++c->count : 99;
    char msg[2048];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(msg, sizeof msg, fmt, ap);
    va_end(ap);
    pthread_mutex_lock(&g_print_lock);
    if (nth <= 2 || s->cfg.abort_on_failure) {
        fprintf(stderr, "\nSEQUENCE FAILURE [%s] (#%u of this kind)\n", category_name, nth);
        if (s->cfg.bytes)
            fprintf(stderr, "  mode %s, fuzz input of %zu bytes, operation #%u\n", s->cfg.mode, s->cfg.byte_count, s->op);
        else if (s->cfg.thread >= 0)
            fprintf(stderr, "  mode %s, seed 0x%llx, thread %d, operation #%u\n", s->cfg.mode,
                    (unsigned long long)s->cfg.seed, s->cfg.thread, s->op);
        else
            fprintf(stderr, "  mode %s, seed 0x%llx, operation #%u\n", s->cfg.mode, (unsigned long long)s->cfg.seed,
                    s->op);
        fprintf(stderr, "  %s\n", msg);
        print_tail(s, stderr);
        if (s->cfg.repro && !s->cfg.bytes)
            fprintf(stderr, "  reproduce: SEDX_TEST_SEED=0x%llx SEDX_SEQ_TRACE=1 %s\n", (unsigned long long)s->cfg.seed,
                    s->cfg.repro);
    } else if (nth <= 6) {
        fprintf(stderr, "SEQUENCE FAILURE [%s] (#%u) mode %s%s op #%u: %s\n", category_name, nth, s->cfg.mode,
                s->cfg.thread >= 0 ? " thread" : "", s->op, msg);
    }
    fflush(stderr);
    pthread_mutex_unlock(&g_print_lock);
    if (s->cfg.abort_on_failure) abort();
}

/* got == want, else a failure "<what>: got X, expected Y". Returns got == SUCCESS. */
static bool expect_rc(shadow_seq *s, const char *what, sedx_result got, sedx_result want, const char *extra)
{
    lg(s, " -> %s", short_result(got));
    if (got != want) {
        char cat[160];
        snprintf(cat, sizeof cat, "%s: %s instead of %s", what, short_result(got), short_result(want));
        fail(s, cat, "%s returned %s, expected %s%s%s", what, sedx_result_name(got), sedx_result_name(want),
             extra && *extra ? "; " : "", extra ? extra : "");
    }
    return got == SEDX_SUCCESS;
}

/* ------------------------------------------------------------------------------------------
 * Reservations hold ring space: while any is outstanding (in any thread of the process), an
 * upload that may wait can be refused with OUT_OF_STAGING instead, after recording some of its
 * pieces (docs/reserve.md, "While reservations are outstanding"). The watch spans the call:
 * outstanding before or after it, or a reserve / commit / cancel in between.
 * ---------------------------------------------------------------------------------------- */
static _Atomic uint32_t g_resv_out;
static _Atomic uint64_t g_resv_epoch;

typedef struct pin_watch {
    uint32_t out;
    uint64_t epoch;
    bool quiet;
} pin_watch;

/* Before an upload call: its OUT_OF_STAGING log line is expected while reservations exist. */
static pin_watch pin_begin(void)
{
    pin_watch w = {atomic_load(&g_resv_out), atomic_load(&g_resv_epoch), false};
    w.quiet = w.out != 0;
    if (w.quiet) tl_expect_errors++;
    return w;
}

/* After it: true (and logged, counted) when r is the refusal reservations may cause. */
static bool pin_refused(shadow_seq *s, pin_watch *w, sedx_result r)
{
    if (w->quiet) {
        tl_expect_errors--;
        w->quiet = false;
    }
    if (r != SEDX_ERROR_OUT_OF_STAGING) return false;
    if (!w->out && !atomic_load(&g_resv_out) && atomic_load(&g_resv_epoch) == w->epoch) return false;
    lg(s, " -> OUT_OF_STAGING (reservations hold the ring)");
    s->n_pin_refusals++;
    return true;
}

/* ------------------------------------------------------------------------------------------
 * Model helpers
 * ---------------------------------------------------------------------------------------- */
static const char *usage_str(sedx_buffer_usage_flags u, char *out, size_t cap)
{
    sedx_buffer_usage_string(u, out, cap);
    return out;
}

static void describe(const sbuf *b, char *out, size_t cap)
{
    char u[160];
    snprintf(out, cap, "B%u (%s, %llu bytes, usage %s)", b->serial, g_mem_names[b->mem], (unsigned long long)b->size,
             usage_str(b->usage, u, sizeof u));
}

static void mark_writer(shadow_seq *s, sbuf *b, uint64_t off, uint64_t n)
{
    if (!n) return;
    for (uint64_t g = off >> GRANULE_SHIFT; g <= (off + n - 1) >> GRANULE_SHIFT; ++g) b->writer[g] = s->op;
}

static void sh_write(shadow_seq *s, sbuf *b, uint64_t off, const uint8_t *p, uint64_t n)
{
    memmove(b->bytes + off, p, n);
    memset(b->known + off, 1, n);
    mark_writer(s, b, off, n);
}

/* dst[doff, +n) = src[soff, +n) in the model (known mask too); memmove semantics. */
static void sh_copy(shadow_seq *s, sbuf *d, uint64_t doff, const uint8_t *sbytes, const uint8_t *sknown, uint64_t n)
{
    memcpy(s->tmp, sbytes, n);
    if (sknown) memcpy(s->tmpk, sknown, n);
    else memset(s->tmpk, 1, n);
    memcpy(d->bytes + doff, s->tmp, n);
    memcpy(d->known + doff, s->tmpk, n);
    mark_writer(s, d, doff, n);
}

static void sh_unknown(shadow_seq *s, sbuf *b, uint64_t off, uint64_t n)
{
    memset(b->known + off, 0, n);
    mark_writer(s, b, off, n);
}

/* Compares got with the model's known bytes of [off, +n); on a difference reports it and takes
 * the real bytes into the model (so one bug is reported once). */
static bool check_bytes(shadow_seq *s, sbuf *b, uint64_t off, const uint8_t *got, uint64_t n, const char *how)
{
    const uint8_t *e = b->bytes + off, *k = b->known + off;
    uint64_t first = UINT64_MAX, last = 0, count = 0;
    for (uint64_t i = 0; i < n; ++i) {
        if (k[i] && e[i] != got[i]) {
            if (first == UINT64_MAX) first = i;
            last = i;
            count++;
        }
    }
    if (first == UINT64_MAX) return true;
    char d[256], gx[64] = "", ex[64] = "", wline[LINE + 64] = "";
    describe(b, d, sizeof d);
    for (uint64_t i = first; i < n && i < first + 8; ++i) {
        size_t gl = strlen(gx), el = strlen(ex);
        snprintf(gx + gl, sizeof gx - gl, "%02x", got[i]);
        snprintf(ex + el, sizeof ex - el, k[i] ? "%02x" : "??", e[i]);
    }
    uint32_t w = b->writer[(off + first) >> GRANULE_SHIFT];
    const char *hl = history_line(s, w);
    if (hl) snprintf(wline, sizeof wline, "; that byte's 64-byte granule was last written by: %s", hl);
    else snprintf(wline, sizeof wline, "; that byte's granule was last written by op #%u", w);
    char cat[160];
    snprintf(cat, sizeof cat, "data mismatch (%s, %s)", how, g_mem_names[b->mem]);
    fail(s, cat,
         "%s: %s of [%llu, +%llu) differs from the shadow: first difference at buffer offset %llu: got %s expected %s "
         "(from there); %llu bytes differ, the last at offset %llu%s",
         d, how, (unsigned long long)off, (unsigned long long)n, (unsigned long long)(off + first), gx, ex,
         (unsigned long long)count, (unsigned long long)(off + last), wline);
    memcpy(b->bytes + off, got, n);
    memset(b->known + off, 1, n);
    return false;
}

static sbuf *pick_buf(shadow_seq *s, int want_cpu) /* -1 any, 0 GPU, 1 CPU */
{
    if (!s->nbufs) return NULL;
    if (want_cpu < 0) return s->bufs[pick(s, s->nbufs)];
    sbuf *match[MAX_BUFS];
    uint32_t n = 0;
    for (uint32_t i = 0; i < s->nbufs; ++i)
        if (s->bufs[i]->cpu == (want_cpu == 1)) match[n++] = s->bufs[i];
    if (!n) return NULL;
    return match[pick(s, n)];
}

static sref *pick_ref(shadow_seq *s, sbuf *b) { return &b->refs[pick(s, b->nrefs)]; }

static sbuf *find_serial(shadow_seq *s, uint32_t serial)
{
    for (uint32_t i = 0; i < s->nbufs; ++i)
        if (s->bufs[i]->serial == serial) return s->bufs[i];
    return NULL;
}

static void settle(shadow_seq *s, sedx_ticket t)
{
    for (uint32_t i = 0; i < s->nbufs; ++i) {
        sbuf *b = s->bufs[i];
        if (b->busy.value && b->busy.queue == t.queue && b->busy.value <= t.value) b->busy.value = 0;
    }
}

static void set_busy(sbuf *b, sedx_ticket t)
{
    if (!t.value) return;
    if (!b->busy.value || b->busy.queue == t.queue) {
        if (t.value > b->busy.value) b->busy = t;
    } else {
        b->in_batch = true; /* two queues: the next host access flushes everything */
    }
}

static void add_ticket(shadow_seq *s, sedx_ticket t)
{
    if (!t.value) return;
    s->tickets[s->ticket_next] = t;
    s->ticket_next = (s->ticket_next + 1) % MAX_TICKETS;
    if (s->ntickets < MAX_TICKETS) s->ntickets++;
}

/* After sedx_context_wait_idle: everything submitted is done. The open upload batch is not
 * submitted by it, so uploads still in it stay pending (in_batch). */
static void async_all_done(shadow_seq *s);
static void all_idle(shadow_seq *s)
{
    for (uint32_t i = 0; i < s->nbufs; ++i) s->bufs[i]->busy.value = 0;
    async_all_done(s);
}

static void async_settle(shadow_seq *s, sbuf *b);

/* Before the host touches b's mapping: the GPU work the model knows of is waited for (the
 * asynchronous readbacks of b among it: a host write would race with their GPU read). */
static void host_safe(shadow_seq *s, sbuf *b)
{
    async_settle(s, b);
    if (b->in_batch) {
        lg(s, " [flush]");
        sedx_result r = sedx_upload_flush(s->cfg.ctx);
        expect_rc(s, "sedx_upload_flush", r, SEDX_SUCCESS, NULL);
        for (uint32_t i = 0; i < s->nbufs; ++i) s->bufs[i]->in_batch = false;
    }
    if (b->busy.value) {
        sedx_ticket t = b->busy;
        lg(s, " [wait %llu]", (unsigned long long)t.value);
        sedx_result r = sedx_ticket_wait(s->cfg.ctx, t, UINT64_MAX);
        expect_rc(s, "sedx_ticket_wait", r, SEDX_SUCCESS, NULL);
        settle(s, t);
        b->busy.value = 0;
    }
}

static void add_stale(shadow_seq *s, sedx_buffer b, uint32_t serial)
{
    s->stale[s->stale_next] = (stale_ref){b, serial};
    s->stale_next = (s->stale_next + 1) % MAX_STALE;
    if (s->nstale < MAX_STALE) s->nstale++;
}

static void drop_buf(shadow_seq *s, sbuf *b)
{
    for (uint32_t i = 0; i < s->nbufs; ++i)
        if (s->bufs[i] == b) {
            s->bufs[i] = s->bufs[--s->nbufs];
            break;
        }
    s->live_bytes -= b->size;
    free(b->bytes);
    free(b->known);
    free(b->writer);
    free(b);
}

static bool is_zero(const sedx_buffer *b)
{
    static const sedx_buffer zero;
    return memcmp(b, &zero, sizeof zero) == 0;
}

/* After a release or a stale release: the buffer's remaining references must still work and
 * count at least as many references as the model holds. Returns false (buffer dropped from the
 * model) when the buffer died behind the model's back. */
static bool check_survivors(shadow_seq *s, sbuf *b, const char *after, bool flush)
{
    if (!b->nrefs) return true;
    if (flush) { /* the open batch holds references of its own: drop them first */
        lg(s, " [flush]");
        if (expect_rc(s, "sedx_upload_flush", sedx_upload_flush(s->cfg.ctx), SEDX_SUCCESS, NULL))
            for (uint32_t i = 0; i < s->nbufs; ++i) s->bufs[i]->in_batch = false;
    }
    uint32_t rc = sedx_buffer_ref_count(&b->refs[0].b);
    bool valid = true;
    for (uint32_t i = 0; i < b->nrefs; ++i) valid = valid && sedx_buffer_is_valid(&b->refs[i].b);
    if (valid && rc >= b->nrefs) return true;
    char d[256];
    describe(b, d, sizeof d);
    if (!valid) {
        char cat[160];
        snprintf(cat, sizeof cat, "%s released another owner's reference (buffer destroyed)", after);
        fail(s, cat, "%s: after %s, the buffer's %u remaining reference(s) are invalid: it was destroyed behind its owners' backs", d, after, b->nrefs);
        lg(s, " [B%u destroyed]", b->serial);
        drop_buf(s, b);
        return false;
    }
    char cat[160];
    snprintf(cat, sizeof cat, "%s released another owner's reference (count too low)", after);
    fail(s, cat, "%s: after %s, sedx_buffer_ref_count says %u but %u references are held", d, after, rc, b->nrefs);
    /* the model cannot hold more references than sedx counts: forget the extra ones (without
     * releasing them), so that one bug is reported once */
    if (flush && rc) {
        lg(s, " [model keeps %u of %u references]", rc, b->nrefs);
        b->nrefs = rc;
    }
    return true;
}

/* Downloads [off, +n) of b into poisoned memory and compares. */
static void verify_range(shadow_seq *s, sbuf *b, uint64_t off, uint64_t n, const char *why)
{
    if (!n) return;
    if (n > s->dst_cap - 2 * GUARD) n = s->dst_cap - 2 * GUARD;
    sref *r = &b->refs[0];
    uint8_t *d = s->dst;
    poison(d, n + 2 * GUARD);
    lg(s, " [verify B%u [%llu,+%llu) %s]", b->serial, (unsigned long long)off, (unsigned long long)n, why);
    sedx_result res = sedx_download(s->cfg.ctx, &r->b, off, n, d + GUARD);
    if (!expect_rc(s, "sedx_download (verify)", res, SEDX_SUCCESS, why)) return;
    b->in_batch = false;
    b->busy.value = 0;
    if (poison_changed(d, 0, GUARD) >= 0 || poison_changed(d, GUARD + n, GUARD) >= 0)
        fail(s, "sedx_download wrote outside its destination", "download of B%u [%llu,+%llu) wrote into the guard bytes",
             b->serial, (unsigned long long)off, (unsigned long long)n);
    check_bytes(s, b, off, d + GUARD, n, why);
}

/* The bytes around off (a bad call's target): a window, the whole buffer when small. */
static void verify_window(shadow_seq *s, sbuf *b, uint64_t off, const char *why)
{
    if (b->size <= 65536) {
        verify_range(s, b, 0, b->size, why);
        return;
    }
    if (off > b->size) off = b->size;
    uint64_t lo = off > 4096 ? off - 4096 : 0, hi = off + 4096 < b->size ? off + 4096 : b->size;
    verify_range(s, b, lo, hi - lo, why);
    if (hi < b->size) verify_range(s, b, b->size - 64, 64, why);
}

/* [off, +n) and 64 bytes either side: after a call that changed (or must not have changed)
 * exactly that range. */
static void verify_span(shadow_seq *s, sbuf *b, uint64_t off, uint64_t n, const char *why)
{
    if (off > b->size) off = b->size;
    uint64_t lo = off > 64 ? off - 64 : 0, hi = n > b->size - off ? b->size : off + n;
    hi = hi + 64 < b->size ? hi + 64 : b->size;
    verify_range(s, b, lo, hi - lo, why);
}

/* ------------------------------------------------------------------------------------------
 * Creation
 * ---------------------------------------------------------------------------------------- */
static sbuf *model_add(shadow_seq *s, const sedx_buffer *b, uint64_t size, sedx_buffer_usage_flags usage, int mem)
{
    sbuf *m = calloc(1, sizeof *m);
    m->bytes = malloc(size);
    m->known = calloc(1, size);
    m->writer = calloc((size >> GRANULE_SHIFT) + 1, sizeof *m->writer);
    m->serial = s->next_serial++;
    m->refs[0] = (sref){*b, s->next_ref++};
    m->nrefs = 1;
    m->size = size;
    m->usage = usage;
    m->mem = mem;
    m->cpu = mem != MEM_GPU;
    m->data = b->data;
    s->bufs[s->nbufs++] = m;
    s->live_bytes += size;
    return m;
}

/* The checks every new buffer must pass (requirement (a): TRANSFER_SRC|DST in usage). */
static void check_new(shadow_seq *s, const sedx_buffer *b, uint64_t size, sedx_buffer_usage_flags usage, bool cpu)
{
    char u[160], u2[160];
    if (!b->resource || !b->handle || b->size != size || sedx_buffer_get_size(b) != size || !sedx_buffer_is_valid(b))
        fail(s, "new buffer: bad fields", "new buffer: resource %p handle 0x%llx size %llu (asked %llu), valid %d",
             (void *)b->resource, (unsigned long long)b->handle, (unsigned long long)b->size,
             (unsigned long long)size, sedx_buffer_is_valid(b));
    if (cpu != (b->data != NULL) || b->memory != (cpu ? (sedx_memory_flags)SEDX_MEMORY_CPU : (sedx_memory_flags)SEDX_MEMORY_GPU))
        fail(s, "new buffer: data/memory do not match the memory kind", "new %s buffer: data %p, memory 0x%x",
             cpu ? "CPU" : "GPU", b->data, b->memory);
    if ((b->usage & usage) != usage)
        fail(s, "new buffer: usage lost requested bits", "asked %s, got %s", usage_str(usage, u, sizeof u),
             usage_str(b->usage, u2, sizeof u2));
    if ((b->usage & TD) != TD)
        fail(s, "(a) new buffer: buffer.usage lacks TRANSFER_SRC|TRANSFER_DST",
             "asked %s, buffer.usage is %s (every sedx buffer is a transfer source and destination)",
             usage_str(usage, u, sizeof u), usage_str(b->usage, u2, sizeof u2));
    VkBufferUsageFlags vu = sedx_buffer_vk_usage(b);
    if (!sedx_buffer_vk(b) || (vu & (VK_BUFFER_USAGE_TRANSFER_SRC_BIT | VK_BUFFER_USAGE_TRANSFER_DST_BIT)) !=
                                  (VK_BUFFER_USAGE_TRANSFER_SRC_BIT | VK_BUFFER_USAGE_TRANSFER_DST_BIT))
        fail(s, "new buffer: VkBuffer lacks TRANSFER_SRC|DST", "vk usage 0x%x", (unsigned)vu);
}

static bool room_for(shadow_seq *s, uint64_t *size)
{
    if (s->nbufs >= s->cfg.max_buffers || s->nbufs >= MAX_BUFS) return false;
    if (s->live_bytes + *size > s->cfg.max_live_bytes) {
        *size = 1 + (*size % 4096);
        if (s->live_bytes + *size > s->cfg.max_live_bytes) return false;
    }
    return true;
}

static void op_release(shadow_seq *s);

static void op_create(shadow_seq *s, int kind)
{
    uint64_t size = choose_size(s);
    sedx_buffer_usage_flags usage = choose_usage(s);
    int mem = MEM_GPU;
    uint64_t m = pick(s, 100);
    if (kind == OP_create || kind == OP_create_with_data) mem = m < 50 ? MEM_GPU : MEM_CPU;
    else if (kind == OP_create_ex) mem = m < 40 ? MEM_GPU : m < 55 ? MEM_CPU : m < 70 ? MEM_CPU_READBACK : m < 85 ? MEM_CPU_RANDOM : MEM_CPU_SEQ;
    else mem = MEM_STAGING;
    if (!room_for(s, &size)) {
        op_release(s);
        return;
    }
    char name[32];
    snprintf(name, sizeof name, "seq B%u", s->next_serial);
    sedx_buffer b = {0};
    sedx_result r;
    uint64_t init = 0; /* bytes of initial data */
    uint8_t *data = s->src;
    char u[160];
    pin_watch pw = pin_begin(); /* initial data for GPU memory is an upload */
    if (kind == OP_create) {
        lg(s, "create B%u %s %llu %s", s->next_serial, g_mem_names[mem], (unsigned long long)size, usage_str(usage, u, sizeof u));
        r = sedx_buffer_create(s->cfg.ctx, size, usage, mem == MEM_GPU ? SEDX_MEMORY_GPU : SEDX_MEMORY_CPU, name, &b);
    } else if (kind == OP_create_staging) {
        usage = SEDX_BUFFER_USAGE_TRANSFER_SRC;
        lg(s, "create_staging B%u %llu", s->next_serial, (unsigned long long)size);
        r = sedx_staging_buffer_create(s->cfg.ctx, size, name, &b);
    } else if (kind == OP_create_with_data) {
        init = size;
        fill_data(s, data, size);
        lg(s, "create_with_data B%u %s %llu %s", s->next_serial, g_mem_names[mem], (unsigned long long)size,
           usage_str(usage, u, sizeof u));
        r = sedx_buffer_create_with_data(s->cfg.ctx, size, usage, mem == MEM_GPU ? SEDX_MEMORY_GPU : SEDX_MEMORY_CPU,
                                         name, data, &b);
    } else {
        sedx_buffer_create_info ci = {0};
        ci.size = size;
        ci.usage = usage;
        ci.memory = mem == MEM_GPU ? (pick(s, 4) ? SEDX_MEMORY_GPU : 0) : SEDX_MEMORY_CPU;
        ci.name = pick(s, 8) ? name : NULL;
        ci.alignment = pick(s, 4) == 0 ? (uint64_t)1 << pick(s, 13) : 0;
        static const sedx_host_access access[] = {SEDX_HOST_ACCESS_DEFAULT, SEDX_HOST_ACCESS_DEFAULT,
                                                  SEDX_HOST_ACCESS_READBACK, SEDX_HOST_ACCESS_RANDOM,
                                                  SEDX_HOST_ACCESS_SEQUENTIAL_WRITE};
        ci.host_access = mem == MEM_GPU ? SEDX_HOST_ACCESS_DEFAULT : access[mem];
        if (pick(s, 5) == 0) ci.flags |= SEDX_BUFFER_CREATE_DEDICATED;
        if (pick(s, 8) == 0) ci.flags |= SEDX_BUFFER_CREATE_CONCURRENT;
        if (pick(s, 10) < 4) {
            init = pick(s, 3) == 0 ? 1 + pick(s, size) : size;
            fill_data(s, data, init);
            ci.initial_data = data;
            ci.initial_data_size = init == size && pick(s, 2) ? 0 : init;
        }
        lg(s, "create_ex B%u %s %llu %s align %llu flags 0x%x init %llu", s->next_serial, g_mem_names[mem],
           (unsigned long long)size, usage_str(usage, u, sizeof u), (unsigned long long)ci.alignment, ci.flags,
           (unsigned long long)init);
        r = sedx_buffer_create_ex(s->cfg.ctx, &ci, &b);
    }
    if (pin_refused(s, &pw, r)) return;
    if (!expect_rc(s, g_op_names[kind], r, SEDX_SUCCESS, NULL)) return;
    check_new(s, &b, size, usage, mem != MEM_GPU);
    if (!b.resource) return;
    sbuf *mb = model_add(s, &b, size, usage, mem);
    if (init) sh_write(s, mb, 0, data, init);
    if (init && pick(s, 4) == 0) verify_range(s, mb, 0, size, "initial data");
}

/* ------------------------------------------------------------------------------------------
 * Host access (CPU buffers)
 * ---------------------------------------------------------------------------------------- */
static void op_write(shadow_seq *s)
{
    sbuf *b = pick_buf(s, 1);
    if (!b) return;
    sref *r = pick_ref(s, b);
    uint64_t off, n;
    choose_range(s, b->size, &off, &n);
    uint8_t *p = s->src + pick(s, 16);
    fill_data(s, p, n);
    lg(s, "write B%u.%u [%llu,+%llu)", b->serial, r->serial, (unsigned long long)off, (unsigned long long)n);
    host_safe(s, b);
    if (expect_rc(s, "sedx_buffer_write", sedx_buffer_write(&r->b, p, n, off), SEDX_SUCCESS, NULL))
        sh_write(s, b, off, p, n);
}

static void op_read(shadow_seq *s)
{
    sbuf *b = pick_buf(s, 1);
    if (!b) return;
    sref *r = pick_ref(s, b);
    uint64_t off, n;
    choose_range(s, b->size, &off, &n);
    lg(s, "read B%u.%u [%llu,+%llu)", b->serial, r->serial, (unsigned long long)off, (unsigned long long)n);
    host_safe(s, b);
    poison(s->dst, n + 2 * GUARD);
    if (!expect_rc(s, "sedx_buffer_read", sedx_buffer_read(&r->b, s->dst + GUARD, n, off), SEDX_SUCCESS, NULL)) return;
    if (poison_changed(s->dst, 0, GUARD) >= 0 || poison_changed(s->dst, GUARD + n, GUARD) >= 0)
        fail(s, "sedx_buffer_read wrote outside its destination", "read of B%u [%llu,+%llu)", b->serial,
             (unsigned long long)off, (unsigned long long)n);
    check_bytes(s, b, off, s->dst + GUARD, n, "sedx_buffer_read");
}

static void op_data(shadow_seq *s, bool write)
{
    sbuf *b = pick_buf(s, 1);
    if (!b) return;
    uint64_t off, n;
    choose_range(s, b->size, &off, &n);
    lg(s, "data_%s B%u [%llu,+%llu)", write ? "write" : "check", b->serial, (unsigned long long)off, (unsigned long long)n);
    host_safe(s, b);
    uint8_t *map = b->data;
    if (!map) return;
    if (write) {
        uint8_t *p = s->src;
        fill_data(s, p, n);
        memcpy(map + off, p, n);
        sh_write(s, b, off, p, n);
    } else {
        check_bytes(s, b, off, map + off, n, "data pointer");
    }
}

/* (f) sedx_buffer_write / read whose host pointer is in the buffer's own mapping: memmove. */
static void op_self_access(shadow_seq *s, bool write)
{
    sbuf *b = pick_buf(s, 1);
    if (!b || b->size < 2) return;
    sref *r = pick_ref(s, b);
    uint64_t n = 1 + pick(s, b->size - 1);
    if (pick(s, 2)) n = 1 + pick(s, n < 64 ? n : 64);
    uint64_t from = pick(s, b->size - n + 1), to = pick(s, b->size - n + 1);
    if (pick(s, 3) == 0) { /* overlapping by a little */
        uint64_t d = 1 + pick(s, 8);
        to = from + d <= b->size - n ? from + d : from >= d ? from - d : to;
    }
    uint8_t *map = b->data;
    sedx_result res;
    if (write) {
        lg(s, "write_self B%u.%u src=data+%llu -> [%llu,+%llu)", b->serial, r->serial, (unsigned long long)from,
           (unsigned long long)to, (unsigned long long)n);
        host_safe(s, b);
        res = sedx_buffer_write(&r->b, map + from, n, to);
    } else {
        lg(s, "read_self B%u.%u [%llu,+%llu) -> data+%llu", b->serial, r->serial, (unsigned long long)from,
           (unsigned long long)n, (unsigned long long)to);
        host_safe(s, b);
        res = sedx_buffer_read(&r->b, map + to, n, from);
    }
    if (!expect_rc(s, write ? "sedx_buffer_write (source in its own mapping)" : "sedx_buffer_read (destination in its own mapping)",
                   res, SEDX_SUCCESS, NULL))
        return;
    sh_copy(s, b, to, b->bytes + from, b->known + from, n);
    check_bytes(s, b, to, map + to, n, write ? "data pointer after write_self (memmove)" : "data pointer after read_self (memmove)");
}

/* ------------------------------------------------------------------------------------------
 * Uploads
 * ---------------------------------------------------------------------------------------- */
static void upload_failed_extra(sbuf *b, char *out, size_t cap)
{
    char u[160];
    snprintf(out, cap, "destination B%u %s, usage %s%s", b->serial, g_mem_names[b->mem], usage_str(b->usage, u, sizeof u),
             (b->usage & SEDX_BUFFER_USAGE_TRANSFER_DST) ? "" : " (no TRANSFER_DST asked for: requirement (a))");
}

static void op_upload(shadow_seq *s, bool ex)
{
    sbuf *b = pick_buf(s, -1);
    if (!b) return;
    sref *r = pick_ref(s, b);
    uint64_t off, n;
    choose_range(s, b->size, &off, &n);
    uint8_t *p = s->src + pick(s, 16);
    fill_data(s, p, n);
    uint32_t flags = ex && pick(s, 3) ? SEDX_UPLOAD_NO_WAIT : 0;
    lg(s, "upload%s B%u.%u [%llu,+%llu)%s", ex ? "_ex" : "", b->serial, r->serial, (unsigned long long)off,
       (unsigned long long)n, flags ? " NO_WAIT" : "");
    pin_watch pw = pin_begin();
    sedx_result res = ex ? sedx_upload_ex(s->cfg.ctx, &r->b, off, n, p, flags) : sedx_upload(s->cfg.ctx, &r->b, off, n, p);
    if (!flags && pin_refused(s, &pw, res)) { /* some pieces may have been recorded */
        sh_unknown(s, b, off, n);
        b->in_batch = true;
        return;
    }
    pin_refused(s, &pw, SEDX_SUCCESS);
    if (flags && res == SEDX_ERROR_OUT_OF_STAGING) {
        lg(s, " -> OUT_OF_STAGING");
        s->out_of_staging++;
        verify_span(s, b, off, n, "after OUT_OF_STAGING: nothing written");
        return;
    }
    char extra[256];
    upload_failed_extra(b, extra, sizeof extra);
    if (expect_rc(s, ex ? "sedx_upload_ex" : "sedx_upload", res, SEDX_SUCCESS, extra)) {
        sh_write(s, b, off, p, n);
        b->in_batch = true;
    } else {
        verify_span(s, b, off, n, "after a failed upload: nothing written");
    }
}

/* An upload whose source is another CPU buffer's mapping (allowed). */
static void op_upload_from_mapping(shadow_seq *s)
{
    sbuf *c = pick_buf(s, 1), *b = pick_buf(s, -1);
    if (!c || !b || b == c) return;
    uint64_t lim = b->size < c->size ? b->size : c->size, n, off, x;
    choose_range(s, lim, &off, &n);
    off = pick(s, b->size - n + 1);
    x = pick(s, c->size - n + 1);
    sref *r = pick_ref(s, b);
    lg(s, "upload_from_mapping B%u.%u [%llu,+%llu) <- B%u.data+%llu", b->serial, r->serial, (unsigned long long)off,
       (unsigned long long)n, c->serial, (unsigned long long)x);
    host_safe(s, c);
    pin_watch pw = pin_begin();
    sedx_result res = sedx_upload(s->cfg.ctx, &r->b, off, n, (uint8_t *)c->data + x);
    if (pin_refused(s, &pw, res)) {
        sh_unknown(s, b, off, n);
        b->in_batch = true;
        return;
    }
    char extra[256];
    upload_failed_extra(b, extra, sizeof extra);
    if (expect_rc(s, "sedx_upload (source in another buffer's mapping)", res, SEDX_SUCCESS, extra)) {
        sh_copy(s, b, off, c->bytes + x, c->known + x, n);
        b->in_batch = true;
    }
}

/* Two ranges [off, +n) and [x, +n) of one buffer of size bytes: overlapping (by 1 .. n bytes,
 * the same range included) or disjoint. */
static bool self_ranges(shadow_seq *s, uint64_t size, bool overlap, uint64_t *off, uint64_t *x, uint64_t *n)
{
    if (overlap) {
        *n = pick(s, 2) ? 1 + pick(s, size < 64 ? size : 64) : 1 + pick(s, size);
        *off = pick(s, size - *n + 1);
        uint64_t lo = *off >= *n - 1 ? *off - (*n - 1) : 0;
        uint64_t hi = *off + *n - 1 < size - *n ? *off + *n - 1 : size - *n;
        *x = lo + pick(s, hi - lo + 1);
        return true;
    }
    if (size < 2) return false;
    *n = pick(s, 2) ? 1 + pick(s, size / 2 < 64 ? size / 2 : 64) : 1 + pick(s, size / 2);
    uint64_t first = pick(s, size - 2 * *n + 1), second = first + *n + pick(s, size - 2 * *n - first + 1);
    bool swap = pick(s, 2) != 0;
    *off = swap ? second : first;
    *x = swap ? first : second;
    return true;
}

/* (f) an upload whose source lies in the destination's own mapping: refused with
 * INVALID_ARGUMENT when it overlaps the destination range (docs/errors.md), a plain copy when it
 * does not. */
static void op_upload_self(shadow_seq *s)
{
    sbuf *b = pick_buf(s, 1);
    if (!b) return;
    sref *r = pick_ref(s, b);
    bool overlap = pick(s, 3) != 0;
    uint64_t n, off, x;
    if (!self_ranges(s, b->size, overlap, &off, &x, &n)) return;
    lg(s, "upload_self B%u.%u [%llu,+%llu) <- own data+%llu (%s)", b->serial, r->serial, (unsigned long long)off,
       (unsigned long long)n, (unsigned long long)x, overlap ? "overlapping" : "disjoint");
    host_safe(s, b);
    if (overlap) tl_expect_errors++;
    pin_watch pw = pin_begin();
    sedx_result res = sedx_upload(s->cfg.ctx, &r->b, off, n, (uint8_t *)b->data + x);
    if (overlap) tl_expect_errors--;
    if (!overlap && pin_refused(s, &pw, res)) {
        sh_unknown(s, b, off, n);
        b->in_batch = true;
        return;
    }
    pin_refused(s, &pw, SEDX_SUCCESS);
    char extra[256];
    upload_failed_extra(b, extra, sizeof extra);
    if (expect_rc(s, overlap ? "(f) sedx_upload from the destination range in its own mapping"
                             : "sedx_upload from elsewhere in the destination's own mapping",
                  res, overlap ? SEDX_ERROR_INVALID_ARGUMENT : SEDX_SUCCESS, overlap ? NULL : extra)) {
        sh_copy(s, b, off, b->bytes + x, b->known + x, n); /* a copy of the bytes as they were at the call */
        b->in_batch = true;
        verify_span(s, b, off, n, overlap ? "after upload_self (should have been refused)" : "after upload_self");
        return;
    }
    verify_span(s, b, off, n, "after a refused upload_self: nothing written");
}

static void op_upload_batch(shadow_seq *s, bool bad)
{
    if (!s->nbufs) return;
    enum { MAXR = 8 };
    sedx_upload_region reg[MAXR];
    sbuf *mb[MAXR];
    uint32_t k = 1 + (uint32_t)pick(s, MAXR);
    sbuf *targets[3];
    uint32_t nt = 1 + (uint32_t)pick(s, 3);
    for (uint32_t i = 0; i < nt; ++i) targets[i] = pick_buf(s, -1);
    uint64_t cursor = 0;
    lg(s, "upload_batch %u:", k);
    for (uint32_t i = 0; i < k; ++i) {
        sbuf *b = targets[pick(s, nt)];
        uint64_t off, n;
        if (i && pick(s, 3) == 0) { /* overlap an earlier region of the batch */
            uint32_t j = (uint32_t)pick(s, i);
            b = mb[j];
            off = reg[j].offset + pick(s, reg[j].size + 1);
            if (off > b->size) off = b->size;
            n = pick(s, b->size - off + 1);
            if (n > 2 * reg[j].size + 16) n = 1 + pick(s, 2 * reg[j].size + 16);
            if (n > b->size - off) n = b->size - off;
        } else {
            choose_range(s, b->size, &off, &n);
        }
        cursor += pick(s, 16);
        if (cursor + n > s->src_cap) {
            n = 0;
            off = 0;
        }
        uint8_t *p = s->src + cursor;
        fill_data(s, p, n);
        cursor += n;
        mb[i] = b;
        reg[i] = (sedx_upload_region){&pick_ref(s, b)->b, off, n, p};
        lg(s, " B%u[%llu,+%llu)", b->serial, (unsigned long long)off, (unsigned long long)n);
    }
    /* sometimes one bad region: the batch must fail whole, having written nothing */
    sedx_result want = SEDX_SUCCESS;
    sedx_buffer other_ref;
    uint32_t stale_region = UINT32_MAX;
    sbuf *stale_target = NULL;
    const char *bad_what = "sedx_upload_batch";
    if (bad) {
        uint32_t i = (uint32_t)pick(s, k);
        sbuf *b = mb[i];
        switch (pick(s, 5)) {
        case 0:
            reg[i].offset = b->size - reg[i].size + 1 + pick(s, 16);
            want = SEDX_ERROR_OUT_OF_BOUNDS;
            bad_what = "sedx_upload_batch with a region out of bounds";
            lg(s, " bad: region %u out of bounds at %llu", i, (unsigned long long)reg[i].offset);
            break;
        case 1:
            if (s->nstale) {
                stale_ref *st = &s->stale[pick(s, s->nstale)];
                reg[i].dst = &st->b;
                stale_region = i;
                stale_target = find_serial(s, st->serial); /* it may live on through other references */
                if (reg[i].offset > st->b.size || reg[i].size > st->b.size - reg[i].offset) {
                    reg[i].offset = 0;
                    if (reg[i].size > st->b.size) reg[i].size = st->b.size;
                }
                want = SEDX_ERROR_INVALID_HANDLE;
                bad_what = stale_target ? "(d) sedx_upload_batch with a region to a released reference (buffer alive through another)"
                                        : "sedx_upload_batch with a region to a released buffer";
                lg(s, " bad: region %u to a released reference of B%u", i, st->serial);
                break;
            }
            /* fall through */
        case 2:
            if (!reg[i].size) reg[i].size = 1;
            if (reg[i].size > b->size - reg[i].offset) reg[i].offset = b->size - reg[i].size;
            reg[i].data = NULL;
            want = SEDX_ERROR_INVALID_ARGUMENT;
            bad_what = "sedx_upload_batch with a NULL-data region";
            lg(s, " bad: region %u data NULL", i);
            break;
        case 3:
            if (b->cpu && reg[i].size) {
                uint64_t o = reg[i].offset, m = reg[i].size; /* overlapping its own destination range */
                uint64_t lo = o >= m - 1 ? o - (m - 1) : 0, hi = o + m - 1 < b->size - m ? o + m - 1 : b->size - m;
                reg[i].data = (uint8_t *)b->data + lo + pick(s, hi - lo + 1);
                want = SEDX_ERROR_INVALID_ARGUMENT;
                bad_what = "(f) sedx_upload_batch with a region from its destination range in its own mapping";
                lg(s, " bad: region %u source in its destination's mapping (f)", i);
                break;
            }
            /* fall through */
        default:
            if (s->cfg.other_ctx && s->other_buf.resource) {
                other_ref = s->other_buf;
                reg[i].dst = &other_ref;
                reg[i].offset = 0;
                if (reg[i].size > other_ref.size) reg[i].size = other_ref.size;
                want = SEDX_ERROR_WRONG_CONTEXT;
                bad_what = "sedx_upload_batch with a region to another context's buffer";
                lg(s, " bad: region %u to another context's buffer", i);
            } else {
                reg[i].offset = UINT64_MAX - pick(s, 8);
                if (!reg[i].size) reg[i].size = 16;
                want = SEDX_ERROR_OUT_OF_BOUNDS;
                bad_what = "sedx_upload_batch with a region whose offset wraps";
                lg(s, " bad: region %u offset wraps", i);
            }
            break;
        }
    }
    if (want != SEDX_SUCCESS) tl_expect_errors++;
    pin_watch pw = pin_begin();
    sedx_result res = sedx_upload_batch(s->cfg.ctx, reg, k);
    if (want != SEDX_SUCCESS) tl_expect_errors--;
    if (want == SEDX_SUCCESS && pin_refused(s, &pw, res)) { /* some groups may have been recorded */
        for (uint32_t i = 0; i < k; ++i) {
            sh_unknown(s, mb[i], reg[i].offset, reg[i].size);
            mb[i]->in_batch = true;
        }
        return;
    }
    pin_refused(s, &pw, SEDX_SUCCESS);
    char extra[512] = "";
    for (uint32_t i = 0; i < k && want == SEDX_SUCCESS; ++i)
        if (!(mb[i]->usage & SEDX_BUFFER_USAGE_TRANSFER_DST) && !strstr(extra, "(a)")) {
            char u[160];
            snprintf(extra, sizeof extra, "region %u goes to B%u %s usage %s without TRANSFER_DST: requirement (a)", i,
                     mb[i]->serial, g_mem_names[mb[i]->mem], usage_str(mb[i]->usage, u, sizeof u));
        }
    if (expect_rc(s, bad_what, res, want, extra)) {
        sbuf *self_region = NULL;
        for (uint32_t i = 0; i < k; ++i) { /* in call order: later regions win */
            if (!reg[i].size || !reg[i].data) continue;
            sbuf *b = i == stale_region ? stale_target : mb[i];
            if (!b || reg[i].dst == &other_ref) continue;
            if ((const uint8_t *)reg[i].data >= (const uint8_t *)b->data && b->data &&
                (const uint8_t *)reg[i].data < (const uint8_t *)b->data + b->size) {
                uint64_t x = (uint64_t)((const uint8_t *)reg[i].data - (const uint8_t *)b->data);
                sh_copy(s, b, reg[i].offset, b->bytes + x, b->known + x, reg[i].size);
                self_region = b; /* (f): should have been refused; what it did is checked below */
            } else {
                sh_write(s, b, reg[i].offset, reg[i].data, reg[i].size);
            }
            b->in_batch = true;
        }
        if (self_region) verify_range(s, self_region, 0, self_region->size, "after upload_batch from its own mapping (should have been refused)");
        return;
    }
    /* failed (as it should or not): nothing may have been written */
    for (uint32_t i = 0; i < k; ++i) {
        bool seen = false;
        for (uint32_t j = 0; j < i; ++j) seen = seen || (mb[j] == mb[i] && reg[j].offset == reg[i].offset);
        if (!seen) verify_span(s, mb[i], reg[i].offset, reg[i].size, "after a failed upload_batch: nothing written");
    }
}

static void op_upload_submit(shadow_seq *s)
{
    bool want_ticket = pick(s, 3) != 0;
    sedx_ticket t = {0};
    lg(s, "upload_submit%s", want_ticket ? " (ticket)" : "");
    sedx_result r = sedx_upload_submit(s->cfg.ctx, want_ticket ? &t : NULL);
    if (!expect_rc(s, "sedx_upload_submit", r, SEDX_SUCCESS, NULL) || !want_ticket) return;
    lg(s, " ticket %u:%llu", t.queue, (unsigned long long)t.value);
    add_ticket(s, t);
    for (uint32_t i = 0; i < s->nbufs; ++i) {
        sbuf *b = s->bufs[i];
        if (!b->in_batch || !t.value) continue;
        if (!b->busy.value || b->busy.queue == t.queue) {
            b->in_batch = false;
            if (t.value > b->busy.value) b->busy = t;
        }
    }
}

static void op_upload_flush(shadow_seq *s)
{
    lg(s, "upload_flush");
    if (expect_rc(s, "sedx_upload_flush", sedx_upload_flush(s->cfg.ctx), SEDX_SUCCESS, NULL))
        for (uint32_t i = 0; i < s->nbufs; ++i) s->bufs[i]->in_batch = false;
}

/* Uploads into a buffer, maybe submits (in flight) or copies into it with a ticket, then
 * releases the reference at once: no crash, and if it was not the last reference the data
 * lands (requirement (b)). */
static void op_upload_release(shadow_seq *s)
{
    sbuf *b = pick_buf(s, -1);
    if (!b) return;
    uint32_t ri = (uint32_t)pick(s, b->nrefs);
    sref *r = &b->refs[ri];
    uint32_t serial = b->serial;
    lg(s, "upload_release B%u.%u (%u refs):", b->serial, r->serial, b->nrefs);
    uint32_t uploads = 1 + (uint32_t)pick(s, 3);
    for (uint32_t u = 0; u < uploads; ++u) {
        uint64_t off, n;
        choose_range(s, b->size, &off, &n);
        uint8_t *p = s->src + pick(s, 16);
        fill_data(s, p, n);
        lg(s, " up[%llu,+%llu)", (unsigned long long)off, (unsigned long long)n);
        char extra[256];
        upload_failed_extra(b, extra, sizeof extra);
        pin_watch pw = pin_begin();
        sedx_result ur = sedx_upload(s->cfg.ctx, &r->b, off, n, p);
        if (pin_refused(s, &pw, ur)) {
            sh_unknown(s, b, off, n);
            b->in_batch = true;
            continue;
        }
        if (expect_rc(s, "sedx_upload (then release)", ur, SEDX_SUCCESS, extra)) {
            sh_write(s, b, off, p, n);
            b->in_batch = true;
        }
    }
    uint64_t v = pick(s, 4);
    if (v == 1) {
        sedx_ticket t;
        lg(s, " submit");
        if (expect_rc(s, "sedx_upload_submit", sedx_upload_submit(s->cfg.ctx, &t), SEDX_SUCCESS, NULL)) add_ticket(s, t);
    } else if (v == 2 && s->nbufs > 1) {
        sbuf *c = pick_buf(s, -1);
        if (c != b) {
            uint64_t n = 1 + pick(s, (c->size < b->size ? c->size : b->size));
            sedx_ticket t = {0};
            lg(s, " copy B%u->[0,+%llu) ticket", c->serial, (unsigned long long)n);
            if (expect_rc(s, "sedx_gpu_copy (then release)", sedx_gpu_copy(s->cfg.ctx, &c->refs[0].b, 0, &r->b, 0, n, &t),
                          SEDX_SUCCESS, NULL)) {
                sh_copy(s, b, 0, c->bytes, c->known, n);
                add_ticket(s, t);
                set_busy(b, t);
                set_busy(c, t);
            }
        }
    }
    sedx_buffer copy = r->b;
    lg(s, " release");
    sedx_buffer_release(&r->b);
    add_stale(s, copy, serial);
    b->refs[ri] = b->refs[--b->nrefs];
    if (!b->nrefs) {
        lg(s, " [B%u gone]", serial);
        drop_buf(s, b);
        return;
    }
    check_survivors(s, b, "sedx_buffer_release", false);
}

/* ------------------------------------------------------------------------------------------
 * Downloads
 * ---------------------------------------------------------------------------------------- */
static void op_download(shadow_seq *s)
{
    sbuf *b = pick_buf(s, -1);
    if (!b) return;
    sref *r = pick_ref(s, b);
    uint64_t off, n;
    choose_range(s, b->size, &off, &n);
    lg(s, "download B%u.%u [%llu,+%llu)", b->serial, r->serial, (unsigned long long)off, (unsigned long long)n);
    uint8_t *d = s->dst;
    poison(d, n + 2 * GUARD);
    if (!expect_rc(s, "sedx_download", sedx_download(s->cfg.ctx, &r->b, off, n, d + GUARD), SEDX_SUCCESS, NULL)) return;
    if (n) { /* a download of 0 bytes submits the open batch but waits for nothing */
        b->in_batch = false;
        b->busy.value = 0;
    }
    if (poison_changed(d, 0, GUARD) >= 0 || poison_changed(d, GUARD + n, GUARD) >= 0)
        fail(s, "sedx_download wrote outside its destination", "download of B%u [%llu,+%llu)", b->serial,
             (unsigned long long)off, (unsigned long long)n);
    check_bytes(s, b, off, d + GUARD, n, "sedx_download");
}

/* A download into another CPU buffer's mapping (allowed). */
static void op_download_to_mapping(shadow_seq *s)
{
    sbuf *c = pick_buf(s, 1), *b = pick_buf(s, -1);
    if (!c || !b || b == c) return;
    uint64_t lim = b->size < c->size ? b->size : c->size, n, off, x;
    choose_range(s, lim, &off, &n);
    off = pick(s, b->size - n + 1);
    x = pick(s, c->size - n + 1);
    sref *r = pick_ref(s, b);
    lg(s, "download_to_mapping B%u.%u [%llu,+%llu) -> B%u.data+%llu", b->serial, r->serial, (unsigned long long)off,
       (unsigned long long)n, c->serial, (unsigned long long)x);
    host_safe(s, c);
    uint8_t *map = (uint8_t *)c->data + x;
    poison(map, n);
    sh_write(s, c, x, map, n);
    sedx_result res = sedx_download(s->cfg.ctx, &r->b, off, n, map);
    if (expect_rc(s, "sedx_download (into another buffer's mapping)", res, SEDX_SUCCESS, NULL)) {
        if (n) { /* 0 bytes: the open batch is submitted, nothing waited for */
            b->in_batch = false;
            b->busy.value = 0;
        }
        /* the bytes the download returned, checked against b's model, then c's model follows */
        check_bytes(s, b, off, map, n, "sedx_download into a mapping");
        sh_copy(s, c, x, b->bytes + off, NULL, n);
        memcpy(c->known + x, b->known + off, n);
    }
    check_bytes(s, c, x, map, n, "data pointer after download_to_mapping");
}

/* (f) a download into the source's own mapping: INVALID_ARGUMENT, nothing changes. */
static void op_download_self(shadow_seq *s)
{
    sbuf *b = pick_buf(s, 1);
    if (!b) return;
    sref *r = pick_ref(s, b);
    bool overlap = pick(s, 3) != 0;
    uint64_t n, off, x;
    if (!self_ranges(s, b->size, overlap, &off, &x, &n)) return;
    lg(s, "download_self B%u.%u [%llu,+%llu) -> own data+%llu (%s)", b->serial, r->serial, (unsigned long long)off,
       (unsigned long long)n, (unsigned long long)x, overlap ? "overlapping" : "disjoint");
    host_safe(s, b);
    if (overlap) tl_expect_errors++;
    sedx_result res = sedx_download(s->cfg.ctx, &r->b, off, n, (uint8_t *)b->data + x);
    if (overlap) tl_expect_errors--;
    if (expect_rc(s, overlap ? "(f) sedx_download into the source range in its own mapping"
                             : "sedx_download into elsewhere in the source's own mapping",
                  res, overlap ? SEDX_ERROR_INVALID_ARGUMENT : SEDX_SUCCESS, NULL))
        sh_copy(s, b, x, b->bytes + off, b->known + off, n);
    check_bytes(s, b, 0, b->data, b->size, "data pointer after download_self");
}

static void op_download_batch(shadow_seq *s, bool bad)
{
    if (!s->nbufs) return;
    enum { MAXR = 6 };
    sedx_download_region reg[MAXR];
    sbuf *mb[MAXR];
    uint64_t at[MAXR];
    uint32_t k = 1 + (uint32_t)pick(s, MAXR);
    uint64_t cursor = 0;
    lg(s, "download_batch %u:", k);
    for (uint32_t i = 0; i < k; ++i) {
        sbuf *b = pick_buf(s, -1);
        uint64_t off, n;
        choose_range(s, b->size, &off, &n);
        if (cursor + n + 3 * GUARD > s->dst_cap) n = 0;
        at[i] = cursor + GUARD;
        cursor += n + GUARD;
        mb[i] = b;
        reg[i] = (sedx_download_region){&pick_ref(s, b)->b, off, n, s->dst + at[i]};
        lg(s, " B%u[%llu,+%llu)", b->serial, (unsigned long long)off, (unsigned long long)n);
    }
    poison(s->dst, cursor + GUARD);
    sedx_result want = SEDX_SUCCESS;
    const char *bad_what = "sedx_download_batch";
    if (bad) {
        uint32_t i = (uint32_t)pick(s, k);
        sbuf *b = mb[i];
        switch (pick(s, 4)) {
        case 0:
            reg[i].offset = b->size - reg[i].size + 1;
            want = SEDX_ERROR_OUT_OF_BOUNDS;
            bad_what = "sedx_download_batch with a region out of bounds";
            lg(s, " bad: region %u out of bounds", i);
            break;
        case 1:
            if (s->nstale) {
                stale_ref *st = &s->stale[pick(s, s->nstale)];
                reg[i].src = &st->b;
                if (reg[i].offset > st->b.size || reg[i].size > st->b.size - reg[i].offset) {
                    reg[i].offset = 0;
                    if (reg[i].size > st->b.size) reg[i].size = st->b.size;
                }
                want = SEDX_ERROR_INVALID_HANDLE;
                bad_what = find_serial(s, st->serial)
                               ? "(d) sedx_download_batch with a region from a released reference (buffer alive through another)"
                               : "sedx_download_batch with a region from a released buffer";
                lg(s, " bad: region %u from a released reference of B%u", i, st->serial);
                break;
            }
            /* fall through */
        case 2:
            if (!reg[i].size) {
                reg[i].size = 1;
                if (reg[i].offset == b->size) reg[i].offset--;
            }
            reg[i].dst = NULL;
            want = SEDX_ERROR_INVALID_ARGUMENT;
            bad_what = "sedx_download_batch with a NULL-dst region";
            lg(s, " bad: region %u dst NULL", i);
            break;
        default:
            if (b->cpu && reg[i].size) {
                uint64_t o = reg[i].offset, m = reg[i].size; /* overlapping its own source range */
                uint64_t lo = o >= m - 1 ? o - (m - 1) : 0, hi = o + m - 1 < b->size - m ? o + m - 1 : b->size - m;
                reg[i].dst = (uint8_t *)b->data + lo + pick(s, hi - lo + 1);
                want = SEDX_ERROR_INVALID_ARGUMENT;
                bad_what = "(f) sedx_download_batch with a region into its source range in its own mapping";
                lg(s, " bad: region %u into its source's mapping (f)", i);
            }
            break;
        }
    }
    if (want != SEDX_SUCCESS) tl_expect_errors++;
    sedx_result res = sedx_download_batch(s->cfg.ctx, reg, k);
    if (want != SEDX_SUCCESS) tl_expect_errors--;
    bool ok = expect_rc(s, bad_what, res, want, NULL);
    if (want != SEDX_SUCCESS) {
        int64_t c = poison_changed(s->dst, 0, cursor + GUARD);
        if (c >= 0 && !ok)
            fail(s, "sedx_download_batch wrote although it failed", "failed download_batch changed host byte %lld",
                 (long long)c);
        if (ok) { /* it did something: the mapping case changed the buffer's bytes */
            for (uint32_t i = 0; i < k; ++i) {
                if (reg[i].dst && reg[i].dst != s->dst + at[i] && reg[i].size) {
                    sbuf *b = mb[i];
                    uint64_t x = (uint64_t)((uint8_t *)reg[i].dst - (uint8_t *)b->data);
                    sh_copy(s, b, x, b->bytes + reg[i].offset, b->known + reg[i].offset, reg[i].size);
                }
            }
        }
        return;
    }
    if (!ok) return;
    for (uint32_t i = 0; i < k; ++i) {
        if (!reg[i].size) continue; /* a region of 0 bytes waits for nothing */
        mb[i]->in_batch = false;
        mb[i]->busy.value = 0;
    }
    for (uint32_t i = 0; i < k; ++i) {
        if (poison_changed(s->dst, at[i] - GUARD, GUARD) >= 0 ||
            poison_changed(s->dst, at[i] + reg[i].size, GUARD) >= 0) {
            fail(s, "sedx_download_batch wrote outside its destination", "region %u B%u [%llu,+%llu)", i, mb[i]->serial,
                 (unsigned long long)reg[i].offset, (unsigned long long)reg[i].size);
        }
        check_bytes(s, mb[i], reg[i].offset, s->dst + at[i], reg[i].size, "sedx_download_batch");
    }
}

/* ------------------------------------------------------------------------------------------
 * Device copies
 * ---------------------------------------------------------------------------------------- */
/* Two ranges of n bytes: in src and dst (non-overlapping when they are the same buffer). */
static bool copy_ranges(shadow_seq *s, sbuf *a, sbuf *b, bool allow_zero, uint64_t *so, uint64_t *dof, uint64_t *n)
{
    uint64_t lim = a->size < b->size ? a->size : b->size;
    if (a == b) lim /= 2;
    if (!lim) return false;
    uint64_t off;
    choose_range(s, lim, &off, n);
    if (!*n && !allow_zero) *n = 1;
    *so = pick(s, a->size - *n + 1);
    *dof = pick(s, b->size - *n + 1);
    if (a == b && *so < *dof + *n && *dof < *so + *n) { /* overlap: put them side by side */
        uint64_t first = pick(s, a->size - 2 * *n + 1);
        if (pick(s, 2)) {
            *so = first;
            *dof = first + *n + pick(s, a->size - 2 * *n - first + 1);
        } else {
            *dof = first;
            *so = first + *n + pick(s, a->size - 2 * *n - first + 1);
        }
    }
    return true;
}

static void op_copy(shadow_seq *s)
{
    sbuf *a = pick_buf(s, -1), *b = pick_buf(s, -1);
    if (!a) return;
    uint64_t so, dof, n;
    if (!copy_ranges(s, a, b, true, &so, &dof, &n)) return;
    bool ticket = pick(s, 2) != 0;
    sref *ra = pick_ref(s, a), *rb = pick_ref(s, b);
    lg(s, "copy B%u.%u[%llu,+%llu) -> B%u.%u[%llu]%s", a->serial, ra->serial, (unsigned long long)so,
       (unsigned long long)n, b->serial, rb->serial, (unsigned long long)dof, ticket ? " (ticket)" : "");
    sedx_ticket t = {0};
    sedx_result r = sedx_gpu_copy(s->cfg.ctx, &ra->b, so, &rb->b, dof, n, ticket ? &t : NULL);
    if (!expect_rc(s, "sedx_copy", r, SEDX_SUCCESS, NULL)) return;
    sh_copy(s, b, dof, a->bytes + so, a->known + so, n);
    if (ticket) {
        lg(s, " ticket %u:%llu", t.queue, (unsigned long long)t.value);
        add_ticket(s, t);
        set_busy(a, t);
        set_busy(b, t);
    }
}

/* The seed's raw-handle calls on sedx buffers' VkBuffers. */
static void op_copy_raw(shadow_seq *s, bool offsets)
{
    sbuf *a = pick_buf(s, -1), *b = pick_buf(s, -1);
    if (!a) return;
    uint64_t so = 0, dof = 0, n;
    if (!offsets) {
        if (a == b) return;
        uint64_t lim = a->size < b->size ? a->size : b->size;
        n = 1 + pick(s, lim);
        if (pick(s, 4) == 0) n = lim;
    } else if (!copy_ranges(s, a, b, false, &so, &dof, &n)) {
        return;
    }
    VkBuffer va = sedx_buffer_vk(&pick_ref(s, a)->b), vb = sedx_buffer_vk(&pick_ref(s, b)->b);
    sedx_result r;
    if (offsets) {
        lg(s, "copy_buffer_offsets vk(B%u)[%llu,+%llu) -> vk(B%u)[%llu]", a->serial, (unsigned long long)so,
           (unsigned long long)n, b->serial, (unsigned long long)dof);
        r = sedx_copy_buffer_offsets(s->cfg.ctx, va, so, vb, dof, n);
    } else {
        lg(s, "copy_buffer vk(B%u) -> vk(B%u) %llu", a->serial, b->serial, (unsigned long long)n);
        r = sedx_copy_buffer(s->cfg.ctx, va, vb, n);
    }
    if (expect_rc(s, offsets ? "sedx_copy_buffer_offsets" : "sedx_copy_buffer", r, SEDX_SUCCESS, NULL))
        sh_copy(s, b, dof, a->bytes + so, a->known + so, n);
}

/* ------------------------------------------------------------------------------------------
 * References
 * ---------------------------------------------------------------------------------------- */
static void op_retain(shadow_seq *s)
{
    sbuf *b = pick_buf(s, -1);
    if (!b) return;
    if (b->nrefs >= MAX_REFS) {
        op_release(s);
        return;
    }
    sref *r = pick_ref(s, b);
    lg(s, "retain B%u.%u -> B%u.%u", b->serial, r->serial, b->serial, s->next_ref);
    sedx_buffer n = sedx_buffer_retain(&r->b);
    if (!n.resource || !sedx_buffer_is_valid(&n)) {
        fail(s, "sedx_buffer_retain returned an empty buffer", "retain of live B%u.%u", b->serial, r->serial);
        return;
    }
    if (n.resource != r->b.resource || n.size != r->b.size || n.data != r->b.data || n.usage != r->b.usage ||
        n.memory != r->b.memory)
        fail(s, "sedx_buffer_retain: the new reference differs", "retain of B%u.%u", b->serial, r->serial);
    if (n.handle == r->b.handle)
        fail(s, "(d) sedx_buffer_retain returned the same handle",
             "retain of B%u.%u returned handle 0x%llx, the same as the reference it was retained from (each reference "
             "needs its own handle, so that a stale copy cannot release another owner's reference)",
             b->serial, r->serial, (unsigned long long)n.handle);
    b->refs[b->nrefs++] = (sref){n, s->next_ref++};
}

static void release_ref(shadow_seq *s, sbuf *b, uint32_t ri, bool stale_too)
{
    sref *r = &b->refs[ri];
    uint32_t serial = b->serial;
    sedx_buffer copy = r->b;
    lg(s, "%s B%u.%u (%u refs)", stale_too ? "stale_copy: b2 = a; release(&a); release(&b2):" : "release", b->serial,
       r->serial, b->nrefs);
    sedx_buffer_release(&r->b);
    if (!is_zero(&r->b)) fail(s, "sedx_buffer_release did not empty the buffer", "B%u.%u", serial, r->serial);
    add_stale(s, copy, serial);
    b->refs[ri] = b->refs[--b->nrefs];
    bool gone = b->nrefs == 0;
    if (gone) {
        lg(s, " [B%u gone]", serial);
        drop_buf(s, b);
    } else if (!check_survivors(s, b, "sedx_buffer_release", false)) {
        return;
    }
    if (!stale_too) return;
    sedx_buffer b2 = copy;
    tl_logged = 0;
    tl_expect_errors++;
    sedx_buffer_release(&b2);
    tl_expect_errors--;
    lg(s, " [stale release logged %u]", tl_logged);
    if (s->cfg.check_logs && tl_logged == 0)
        fail(s, "(d) releasing a stale copy was not reported", "release of a stale copy of B%u logged nothing", serial);
    if (!is_zero(&b2)) fail(s, "sedx_buffer_release did not empty the stale copy", "B%u", serial);
    if (!gone) check_survivors(s, b, "(d) releasing a stale copy", true);
}

static void op_release(shadow_seq *s)
{
    sbuf *b = pick_buf(s, -1);
    if (!b) return;
    release_ref(s, b, (uint32_t)pick(s, b->nrefs), false);
}

static void op_stale_copy(shadow_seq *s)
{
    sbuf *b = pick_buf(s, -1);
    if (!b) return;
    if (b->nrefs == 1 && b->nrefs < MAX_REFS && pick(s, 3)) { /* the interesting case: other owners */
        sedx_buffer n = sedx_buffer_retain(&b->refs[0].b);
        lg(s, "retain B%u.%u -> B%u.%u; ", b->serial, b->refs[0].serial, b->serial, s->next_ref);
        if (n.resource) b->refs[b->nrefs++] = (sref){n, s->next_ref++};
    }
    release_ref(s, b, (uint32_t)pick(s, b->nrefs), true);
}

/* ------------------------------------------------------------------------------------------
 * Tickets and waits
 * ---------------------------------------------------------------------------------------- */
static void op_ticket(shadow_seq *s, bool wait)
{
    if (!s->ntickets) {
        lg(s, "%s (no ticket)", wait ? "ticket_wait" : "ticket_poll");
        return;
    }
    sedx_ticket t = s->tickets[pick(s, s->ntickets)];
    lg(s, "%s %u:%llu", wait ? "ticket_wait" : "ticket_poll", t.queue, (unsigned long long)t.value);
    if (wait) {
        if (expect_rc(s, "sedx_ticket_wait", sedx_ticket_wait(s->cfg.ctx, t, UINT64_MAX), SEDX_SUCCESS, NULL)) settle(s, t);
        return;
    }
    sedx_result r = sedx_ticket_poll(s->cfg.ctx, t);
    if (r == SEDX_NOT_READY) {
        lg(s, " -> NOT_READY");
        s->not_ready++;
        return;
    }
    if (expect_rc(s, "sedx_ticket_poll", r, SEDX_SUCCESS, NULL)) settle(s, t);
}

static void op_wait_idle(shadow_seq *s)
{
    lg(s, "wait_idle");
    if (expect_rc(s, "sedx_context_wait_idle", sedx_context_wait_idle(s->cfg.ctx), SEDX_SUCCESS, NULL)) all_idle(s);
}

static void op_verify(shadow_seq *s)
{
    sbuf *b = pick_buf(s, -1);
    if (!b) return;
    lg(s, "verify B%u", b->serial);
    if (b->cpu && pick(s, 2)) {
        host_safe(s, b);
        check_bytes(s, b, 0, b->data, b->size, "data pointer (whole)");
    } else {
        verify_range(s, b, 0, b->size, "whole");
    }
}

/* ------------------------------------------------------------------------------------------
 * Bad calls: the exact error, and nothing changes
 * ---------------------------------------------------------------------------------------- */
static void bad_stale(shadow_seq *s)
{
    stale_ref *st = &s->stale[pick(s, s->nstale)];
    sbuf *live = find_serial(s, st->serial); /* the resource may live on through other references */
    sedx_buffer *sb = &st->b;
    uint64_t sz = sb->size ? sb->size : 1, off, n;
    choose_range(s, sz, &off, &n);
    if (!n) n = 1;
    if (live && off + n > live->size) { off = 0; n = live->size < n ? live->size : n; }
    uint8_t *p = s->src;
    fill_data(s, p, n);
    sedx_result r = SEDX_SUCCESS;
    const char *what = "";
    uint64_t kind = pick(s, 9);
    lg(s, "bad: released reference of B%u%s, ", st->serial, live ? " (buffer still alive)" : "");
    tl_expect_errors++;
    switch (kind) {
    case 0:
        what = "sedx_upload with a released reference";
        lg(s, "upload [%llu,+%llu)", (unsigned long long)off, (unsigned long long)n);
        r = sedx_upload(s->cfg.ctx, sb, off, n, p);
        if (r == SEDX_SUCCESS && live) { sh_write(s, live, off, p, n); live->in_batch = true; }
        break;
    case 1:
        what = "sedx_download with a released reference";
        lg(s, "download [%llu,+%llu)", (unsigned long long)off, (unsigned long long)n);
        poison(s->dst, n);
        r = sedx_download(s->cfg.ctx, sb, off, n, s->dst);
        if (r != SEDX_SUCCESS && poison_changed(s->dst, 0, n) >= 0)
            fail(s, "failed sedx_download wrote", "a failed download changed its destination");
        break;
    case 2:
        what = "sedx_buffer_write with a released reference";
        lg(s, "write [%llu,+%llu)", (unsigned long long)off, (unsigned long long)n);
        if (live && live->cpu) host_safe(s, live);
        r = sedx_buffer_write(sb, p, n, off);
        if (r == SEDX_SUCCESS && live) sh_write(s, live, off, p, n);
        break;
    case 3:
        what = "sedx_buffer_read with a released reference";
        lg(s, "read [%llu,+%llu)", (unsigned long long)off, (unsigned long long)n);
        if (live && live->cpu) host_safe(s, live);
        r = sedx_buffer_read(sb, s->dst, n, off);
        break;
    case 4: {
        sbuf *b = pick_buf(s, -1);
        if (!b || b == live) { r = SEDX_ERROR_INVALID_HANDLE; what = "(skipped)"; break; }
        uint64_t m = n < b->size ? n : b->size;
        if (live && m > live->size) m = live->size;
        bool as_src = pick(s, 2) != 0;
        what = as_src ? "sedx_gpu_copy from a released reference" : "sedx_gpu_copy to a released reference";
        lg(s, "copy %s B%u [0,+%llu)", as_src ? "to" : "from", b->serial, (unsigned long long)m);
        r = as_src ? sedx_gpu_copy(s->cfg.ctx, sb, 0, &b->refs[0].b, 0, m, NULL)
                   : sedx_gpu_copy(s->cfg.ctx, &b->refs[0].b, 0, sb, 0, m, NULL);
        if (r == SEDX_SUCCESS && live) {
            if (as_src) sh_copy(s, b, 0, live->bytes, live->known, m);
            else sh_copy(s, live, 0, b->bytes, b->known, m);
        } else if (r == SEDX_SUCCESS && as_src) {
            sh_unknown(s, b, 0, m);
        }
        break;
    }
    case 5: {
        what = "sedx_buffer_retain of a released reference";
        lg(s, "retain");
        sedx_buffer n2 = sedx_buffer_retain(sb);
        r = n2.resource ? SEDX_SUCCESS : SEDX_ERROR_INVALID_HANDLE;
        if (n2.resource) {
            if (live && live->nrefs < MAX_REFS) live->refs[live->nrefs++] = (sref){n2, s->next_ref++};
            else sedx_buffer_release(&n2);
        }
        break;
    }
    case 6:
        what = "sedx_buffer_validate of a released reference";
        lg(s, "validate");
        r = sedx_buffer_validate(sb);
        if (sedx_buffer_is_valid(sb) != (r == SEDX_SUCCESS))
            fail(s, "sedx_buffer_is_valid disagrees with sedx_buffer_validate", "stale reference of B%u", st->serial);
        if (sedx_buffer_vk(sb) && r != SEDX_SUCCESS)
            fail(s, "sedx_buffer_vk of a released reference is not VK_NULL_HANDLE", "B%u", st->serial);
        break;
    case 7: {
        what = "sedx_upload_ex NO_WAIT with a released reference";
        lg(s, "upload_ex NO_WAIT [%llu,+%llu)", (unsigned long long)off, (unsigned long long)n);
        r = sedx_upload_ex(s->cfg.ctx, sb, off, n, p, SEDX_UPLOAD_NO_WAIT);
        if (r == SEDX_SUCCESS && live) { sh_write(s, live, off, p, n); live->in_batch = true; }
        if (r == SEDX_ERROR_OUT_OF_STAGING) r = SEDX_SUCCESS; /* accepted the handle */
        break;
    }
    default: {
        /* releasing the stale copy: reported and ignored, the other references live on (d) */
        what = "(d) sedx_buffer_release of a released reference";
        lg(s, "release");
        sedx_buffer c = *sb;
        tl_logged = 0;
        sedx_buffer_release(&c);
        if (s->cfg.check_logs && tl_logged == 0)
            fail(s, "(d) releasing a stale copy was not reported", "release of a stale copy of B%u logged nothing", st->serial);
        tl_expect_errors--;
        if (live) check_survivors(s, live, "(d) releasing a stale copy", true);
        return;
    }
    }
    tl_expect_errors--;
    if (strcmp(what, "(skipped)") == 0) return;
    char extra[128] = "", what2[160];
    if (live) snprintf(extra, sizeof extra, "the buffer lives on through another reference, this one was released");
    snprintf(what2, sizeof what2, "%s%s%s", live ? "(d) " : "", what, live ? " (buffer alive through another)" : "");
    expect_rc(s, what2, r, SEDX_ERROR_INVALID_HANDLE, extra);
    if (live && (kind == 0 || kind == 2 || kind == 4 || kind == 7)) verify_window(s, live, off, "after a bad call");
}

static void bad_raw_copy(shadow_seq *s)
{
    sbuf *a = pick_buf(s, -1), *b = pick_buf(s, -1);
    uint64_t kind = pick(s, 5);
    VkBuffer va = sedx_buffer_vk(&a->refs[0].b), vb = sedx_buffer_vk(&b->refs[0].b);
    uint64_t so = 0, dof = 0, n = 1;
    sedx_result want;
    const char *what;
    bool offsets = pick(s, 2) != 0;
    if (kind == 0) { /* past the end of one of the two sedx buffers (within its VkBuffer's rounding, or not) */
        uint64_t lim = a->size < b->size ? a->size : b->size;
        n = lim + 1 + pick(s, 4);
        if (offsets && pick(s, 2)) {
            n = 1 + pick(s, lim);
            if (pick(s, 2)) so = a->size - n + 1 + pick(s, 3);
            else dof = b->size - n + 1 + pick(s, 3);
        }
        if (a == b && (so < dof + n && dof < so + n)) { /* keep it a pure bounds error */
            if (offsets) { so = 0; dof = a->size - n + 1; if (n > a->size / 2) return; }
            else return;
        }
        want = SEDX_ERROR_OUT_OF_BOUNDS;
        what = "(e) raw copy past a sedx buffer's end";
    } else if (kind == 1) { /* overlapping ranges in one buffer */
        b = a;
        vb = va;
        if (a->size < 2) return;
        n = 1 + pick(s, a->size - 1);
        so = pick(s, a->size - n + 1);
        uint64_t lo = so > n - 1 ? so - (n - 1) : 0, hi = so + n - 1 < a->size - n ? so + n - 1 : a->size - n;
        dof = lo + pick(s, hi - lo + 1);
        if (!offsets) so = dof = 0;
        want = SEDX_ERROR_INVALID_ARGUMENT;
        what = "(e) raw copy with overlapping ranges in one buffer";
    } else if (kind == 2 && s->foreign) { /* a VkBuffer this context did not create */
        n = 1 + pick(s, a->size < 4096 ? a->size : 4096);
        if (pick(s, 2)) { va = s->foreign; b = a; vb = sedx_buffer_vk(&a->refs[0].b); }
        else vb = s->foreign;
        want = SEDX_ERROR_INVALID_HANDLE;
        what = "(e) raw copy with a VkBuffer sedx did not create";
    } else if (kind == 3) {
        if (pick(s, 2)) va = VK_NULL_HANDLE;
        else vb = VK_NULL_HANDLE;
        want = SEDX_ERROR_INVALID_ARGUMENT;
        what = "raw copy with VK_NULL_HANDLE";
    } else {
        if (a == b) return;
        n = 0;
        want = SEDX_ERROR_INVALID_SIZE;
        what = "raw copy of 0 bytes";
    }
    lg(s, "bad: %s vk(%s)[%llu] -> vk(%s)[%llu] %llu", offsets ? "copy_buffer_offsets" : "copy_buffer",
       va == s->foreign ? "foreign" : va ? "B" : "NULL", (unsigned long long)so,
       vb == s->foreign ? "foreign" : vb ? "B" : "NULL", (unsigned long long)dof, (unsigned long long)n);
    lg(s, " (B%u -> B%u)", a->serial, b->serial);
    tl_expect_errors++;
    sedx_result r = offsets ? sedx_copy_buffer_offsets(s->cfg.ctx, va, so, vb, dof, n) : sedx_copy_buffer(s->cfg.ctx, va, vb, n);
    tl_expect_errors--;
    char extra[200];
    snprintf(extra, sizeof extra, "src B%u (%llu bytes) [%llu,+%llu), dst B%u (%llu bytes) [%llu,+%llu)", a->serial,
             (unsigned long long)a->size, (unsigned long long)so, (unsigned long long)n, b->serial,
             (unsigned long long)b->size, (unsigned long long)dof, (unsigned long long)n);
    if (expect_rc(s, what, r, want, extra)) {
        /* it copied: whatever it wrote into the sedx destination is unknown now */
        if (vb != s->foreign && dof < b->size) sh_unknown(s, b, dof, (dof + n <= b->size ? n : b->size - dof));
        return;
    }
    if (vb != s->foreign && vb) verify_window(s, b, dof, "after a refused raw copy");
}

static void op_bad(shadow_seq *s)
{
    if (!s->nbufs) return;
    uint64_t kind = pick(s, 12);
    if (kind == 1) kind = 0;
    sbuf *b = pick_buf(s, -1);
    sref *ref = pick_ref(s, b);
    uint64_t off = 0, n = 1;
    switch (pick(s, 3)) { /* a range past the end */
    case 0: off = b->size + 1 + pick(s, 8); n = pick(s, 4); break;
    case 1: n = 1 + pick(s, b->size); off = b->size - n + 1 + pick(s, 4); break;
    default: off = UINT64_MAX - pick(s, 16); n = 1 + pick(s, 64); break;
    }
    uint8_t *p = s->src;
    fill_data(s, p, n < 4096 ? n : 4096);
    sedx_result r, want;
    const char *what;
    tl_expect_errors++;
    switch (kind) {
    case 0:
    case 2:
        lg(s, "bad: upload B%u [%llu,+%llu)", b->serial, (unsigned long long)off, (unsigned long long)n);
        r = sedx_upload_ex(s->cfg.ctx, &ref->b, off, n, p, pick(s, 2) ? SEDX_UPLOAD_NO_WAIT : 0);
        want = SEDX_ERROR_OUT_OF_BOUNDS;
        what = "sedx_upload out of bounds";
        break;
    case 3:
        lg(s, "bad: download B%u [%llu,+%llu)", b->serial, (unsigned long long)off, (unsigned long long)n);
        poison(s->dst, 64);
        r = sedx_download(s->cfg.ctx, &ref->b, off, n, s->dst);
        if (poison_changed(s->dst, 0, 64) >= 0) fail(s, "failed sedx_download wrote", "out-of-bounds download wrote");
        want = SEDX_ERROR_OUT_OF_BOUNDS;
        what = "sedx_download out of bounds";
        break;
    case 4:
        lg(s, "bad: write B%u [%llu,+%llu)", b->serial, (unsigned long long)off, (unsigned long long)n);
        if (!b->cpu) {
            off = 0;
            n = 1 + pick(s, b->size);
        }
        r = sedx_buffer_write(&ref->b, p, n, off);
        want = b->cpu ? SEDX_ERROR_OUT_OF_BOUNDS : SEDX_ERROR_NOT_HOST_VISIBLE;
        what = b->cpu ? "sedx_buffer_write out of bounds" : "sedx_buffer_write on GPU memory";
        if (r == SEDX_SUCCESS && off < b->size) sh_write(s, b, off, p, n <= b->size - off ? n : b->size - off);
        break;
    case 5:
        lg(s, "bad: read B%u [%llu,+%llu)", b->serial, (unsigned long long)off, (unsigned long long)n);
        if (!b->cpu) {
            off = 0;
            n = 1 + pick(s, b->size < 4096 ? b->size : 4096);
        }
        poison(s->dst, 4096);
        r = sedx_buffer_read(&ref->b, s->dst, n, off);
        if (r != SEDX_SUCCESS && poison_changed(s->dst, 0, 4096) >= 0) fail(s, "failed sedx_buffer_read wrote", "it wrote");
        want = b->cpu ? SEDX_ERROR_OUT_OF_BOUNDS : SEDX_ERROR_NOT_HOST_VISIBLE;
        what = b->cpu ? "sedx_buffer_read out of bounds" : "sedx_buffer_read on GPU memory";
        break;
    case 6: {
        sbuf *c = pick_buf(s, -1);
        bool src_side = pick(s, 2) != 0;
        lg(s, "bad: copy %s B%u [%llu,+%llu) %s B%u", src_side ? "from" : "to", b->serial, (unsigned long long)off,
           (unsigned long long)n, src_side ? "to" : "from", c->serial);
        r = src_side ? sedx_gpu_copy(s->cfg.ctx, &ref->b, off, &c->refs[0].b, 0, n, NULL)
                     : sedx_gpu_copy(s->cfg.ctx, &c->refs[0].b, 0, &ref->b, off, n, NULL);
        want = SEDX_ERROR_OUT_OF_BOUNDS;
        what = "sedx_gpu_copy out of bounds";
        if (src_side) { /* the destination c is what must not change */
            b = c;
            off = 0;
        }
        break;
    }
    case 7: {
        if (b->size < 2) {
            r = want = SEDX_ERROR_INVALID_ARGUMENT;
            what = "(skipped)";
            break;
        }
        uint64_t m = 1 + pick(s, b->size - 1), so = pick(s, b->size - m + 1);
        uint64_t lo = so > m - 1 ? so - (m - 1) : 0, hi = so + m - 1 < b->size - m ? so + m - 1 : b->size - m;
        uint64_t dof = lo + pick(s, hi - lo + 1);
        lg(s, "bad: copy B%u [%llu,+%llu) -> [%llu] (overlapping)", b->serial, (unsigned long long)so,
           (unsigned long long)m, (unsigned long long)dof);
        r = sedx_gpu_copy(s->cfg.ctx, &ref->b, so, &b->refs[0].b, dof, m, pick(s, 2) ? NULL : &(sedx_ticket){0});
        want = SEDX_ERROR_INVALID_ARGUMENT;
        what = "sedx_gpu_copy with overlapping ranges";
        if (r == SEDX_SUCCESS) sh_unknown(s, b, dof, m);
        off = dof;
        break;
    }
    case 8:
        n = 1 + pick(s, b->size);
        lg(s, "bad: upload B%u [0,+%llu) data NULL", b->serial, (unsigned long long)n);
        r = sedx_upload(s->cfg.ctx, &ref->b, 0, n, NULL);
        want = SEDX_ERROR_INVALID_ARGUMENT;
        what = "sedx_upload with NULL data";
        off = 0;
        break;
    case 9:
        n = 1 + pick(s, b->size);
        lg(s, "bad: download B%u [0,+%llu) dst NULL", b->serial, (unsigned long long)n);
        r = sedx_download(s->cfg.ctx, &ref->b, 0, n, NULL);
        want = SEDX_ERROR_INVALID_ARGUMENT;
        what = "sedx_download with NULL dst";
        break;
    case 10: {
        if (!s->ntickets) { /* a real ticket is needed for its context id */
            r = want = SEDX_ERROR_INVALID_ARGUMENT;
            what = "(skipped)";
            b = NULL;
            break;
        }
        sedx_ticket t = s->tickets[pick(s, s->ntickets)];
        uint64_t v = pick(s, 3);
        if (v == 0) { t.context_id += 1000; want = SEDX_ERROR_WRONG_CONTEXT; what = "ticket of another context"; }
        else if (v == 1) { t.queue = 7; t.value = t.value ? t.value : 1; want = SEDX_ERROR_INVALID_ARGUMENT; what = "ticket with a bad queue"; }
        else {
            t.queue = 0;
            t.value = sedx_context_submitted_value(s->cfg.ctx, SEDX_QUEUE_GRAPHICS) + 1000000;
            want = SEDX_ERROR_INVALID_ARGUMENT;
            what = "ticket never submitted";
        }
        bool wait = pick(s, 2) != 0;
        lg(s, "bad: ticket_%s %u:%llu ctx %u", wait ? "wait" : "poll", t.queue, (unsigned long long)t.value, t.context_id);
        r = wait ? sedx_ticket_wait(s->cfg.ctx, t, 1000000) : sedx_ticket_poll(s->cfg.ctx, t);
        b = NULL;
        break;
    }
    default:
        if (s->cfg.other_ctx && s->other_buf.resource) {
            uint64_t m = 1 + pick(s, s->other_buf.size);
            uint64_t v = pick(s, 3);
            lg(s, "bad: another context's buffer with %s", v == 0 ? "upload" : v == 1 ? "download" : "copy");
            if (v == 0) r = sedx_upload(s->cfg.ctx, &s->other_buf, 0, m, p);
            else if (v == 1) r = sedx_download(s->cfg.ctx, &s->other_buf, 0, m, s->dst);
            else {
                if (m > b->size) m = b->size;
                r = sedx_gpu_copy(s->cfg.ctx, &s->other_buf, 0, &ref->b, 0, m, NULL);
                off = 0;
            }
            want = SEDX_ERROR_WRONG_CONTEXT;
            what = "another context's buffer";
            if (v != 2) b = NULL;
        } else {
            r = want = SEDX_ERROR_WRONG_CONTEXT;
            what = "(skipped)";
            b = NULL;
        }
        break;
    }
    tl_expect_errors--;
    if (strcmp(what, "(skipped)") == 0) return;
    expect_rc(s, what, r, want, NULL);
    if (b) verify_window(s, b, off, "after a bad call: nothing changed");
}

/* ------------------------------------------------------------------------------------------
 * Shared read-only buffers (threads runs)
 * ---------------------------------------------------------------------------------------- */
static bool check_shared(shadow_seq *s, uint32_t i, uint64_t off, const uint8_t *got, uint64_t n, const char *how)
{
    const uint8_t *e = s->cfg.shared->b[i].bytes + off;
    if (memcmp(e, got, n) == 0) return true;
    uint64_t first = 0;
    while (e[first] == got[first]) first++;
    char cat[160];
    snprintf(cat, sizeof cat, "data mismatch (%s, shared read-only buffer)", how);
    fail(s, cat, "shared buffer S%u (%llu bytes): %s of [%llu,+%llu): first difference at offset %llu: got %02x expected %02x",
         i, (unsigned long long)s->cfg.shared->b[i].size, how, (unsigned long long)off, (unsigned long long)n,
         (unsigned long long)(off + first), got[first], e[first]);
    return false;
}

static void op_shared(shadow_seq *s, bool stale)
{
    shadow_shared *sh = s->cfg.shared;
    if (!sh || !sh->count) {
        if (stale) op_stale_copy(s);
        else op_download(s);
        return;
    }
    uint32_t i = (uint32_t)pick(s, sh->count);
    if (atomic_load(&sh->b[i].dead)) return;
    const sedx_buffer *ref = &sh->b[i].ref;
    uint64_t size = sh->b[i].size, off, n;
    choose_range(s, size, &off, &n);
    uint64_t kind = stale ? 5 : pick(s, 6);
    if (!stale && kind == 5) kind = 6;
    sbuf *b = pick_buf(s, -1);
    if ((kind == 1 || kind == 2 || kind == 6) && !b) kind = 0;
    if ((kind == 3 || kind == 6) && !sh->b[i].cpu) kind = 0;
    if (b && n > b->size) n = b->size;
    uint64_t dof = b ? pick(s, b->size - n + 1) : 0;
    switch (kind) {
    case 0:
    default: {
        lg(s, "shared: download S%u [%llu,+%llu)", i, (unsigned long long)off, (unsigned long long)n);
        poison(s->dst, n + 2 * GUARD);
        if (expect_rc(s, "sedx_download (shared)", sedx_download(s->cfg.ctx, ref, off, n, s->dst + GUARD), SEDX_SUCCESS, NULL))
            check_shared(s, i, off, s->dst + GUARD, n, "sedx_download");
        break;
    }
    case 1: {
        bool ticket = pick(s, 2) != 0;
        sedx_ticket t = {0};
        sref *r = pick_ref(s, b);
        lg(s, "shared: copy S%u [%llu,+%llu) -> B%u.%u[%llu]%s", i, (unsigned long long)off, (unsigned long long)n,
           b->serial, r->serial, (unsigned long long)dof, ticket ? " (ticket)" : "");
        if (expect_rc(s, "sedx_copy (from shared)", sedx_gpu_copy(s->cfg.ctx, ref, off, &r->b, dof, n, ticket ? &t : NULL),
                      SEDX_SUCCESS, NULL)) {
            sh_copy(s, b, dof, sh->b[i].bytes + off, NULL, n);
            if (ticket) {
                add_ticket(s, t);
                set_busy(b, t);
            }
        }
        break;
    }
    case 2: {
        if (!n) n = 1;
        if (n > b->size) break;
        if (dof + n > b->size) dof = b->size - n;
        if (off + n > size) off = size - n;
        lg(s, "shared: copy_buffer_offsets vk(S%u)[%llu,+%llu) -> vk(B%u)[%llu]", i, (unsigned long long)off,
           (unsigned long long)n, b->serial, (unsigned long long)dof);
        if (expect_rc(s, "sedx_copy_buffer_offsets (from shared)",
                      sedx_copy_buffer_offsets(s->cfg.ctx, sedx_buffer_vk(ref), off, sedx_buffer_vk(&b->refs[0].b), dof, n),
                      SEDX_SUCCESS, NULL))
            sh_copy(s, b, dof, sh->b[i].bytes + off, NULL, n);
        break;
    }
    case 3: {
        lg(s, "shared: read S%u [%llu,+%llu)", i, (unsigned long long)off, (unsigned long long)n);
        if (pick(s, 2)) {
            if (expect_rc(s, "sedx_buffer_read (shared)", sedx_buffer_read(ref, s->dst, n, off), SEDX_SUCCESS, NULL))
                check_shared(s, i, off, s->dst, n, "sedx_buffer_read");
        } else {
            check_shared(s, i, off, (const uint8_t *)ref->data + off, n, "data pointer");
        }
        break;
    }
    case 4:
    case 5: {
        /* a reference of one's own, used, dropped; kind 5: and its stale copy released too (d) */
        lg(s, "shared: retain S%u%s", i, kind == 5 ? ", stale copy released too" : "");
        sedx_buffer mine = sedx_buffer_retain(ref);
        if (!mine.resource) {
            fail(s, "sedx_buffer_retain (shared) returned an empty buffer", "S%u", i);
            break;
        }
        if (mine.handle == ref->handle)
            fail(s, "(d) sedx_buffer_retain returned the same handle", "retain of shared S%u returned the main thread's handle", i);
        poison(s->dst, n + 2 * GUARD);
        if (expect_rc(s, "sedx_download (own reference of shared)", sedx_download(s->cfg.ctx, &mine, off, n, s->dst + GUARD),
                      SEDX_SUCCESS, NULL))
            check_shared(s, i, off, s->dst + GUARD, n, "sedx_download via a retained reference");
        sedx_buffer copy = mine;
        sedx_buffer_release(&mine);
        if (kind == 5) {
            tl_expect_errors++;
            sedx_buffer_release(&copy);
            tl_expect_errors--;
        }
        if (!sedx_buffer_is_valid(ref) && !atomic_exchange(&sh->b[i].dead, true))
            fail(s, kind == 5 ? "(d) releasing a stale copy released another owner's reference (shared buffer destroyed)"
                              : "release of a retained reference destroyed the shared buffer",
                 "shared S%u: the main thread's reference is invalid now", i);
        break;
    }
    case 6: {
        sref *r = pick_ref(s, b);
        lg(s, "shared: upload B%u.%u [%llu,+%llu) <- S%u.data+%llu", b->serial, r->serial, (unsigned long long)dof,
           (unsigned long long)n, i, (unsigned long long)off);
        char extra[256];
        upload_failed_extra(b, extra, sizeof extra);
        pin_watch pw = pin_begin();
        sedx_result ur = sedx_upload(s->cfg.ctx, &r->b, dof, n, (const uint8_t *)ref->data + off);
        if (pin_refused(s, &pw, ur)) {
            sh_unknown(s, b, dof, n);
            b->in_batch = true;
            break;
        }
        if (expect_rc(s, "sedx_upload (from a shared mapping)", ur, SEDX_SUCCESS, extra)) {
            sh_copy(s, b, dof, sh->b[i].bytes + off, NULL, n);
            b->in_batch = true;
        }
        break;
    }
    }
}

static void op_reserve_done(shadow_seq *s, bool log_name);
static void op_async_take(shadow_seq *s);

/* ------------------------------------------------------------------------------------------
 * Contexts' ids and "everything submitted so far" as tickets
 * ---------------------------------------------------------------------------------------- */
static uint32_t ctx_id(shadow_seq *s)
{
    if (s->ctx_id) return s->ctx_id;
    sedx_cmd cmd; /* an empty submission: its ticket names the context */
    sedx_ticket t = {0};
    if (sedx_cmd_begin(s->cfg.ctx, SEDX_QUEUE_GRAPHICS, &cmd) == SEDX_SUCCESS &&
        sedx_cmd_submit(s->cfg.ctx, &cmd, NULL, &t) == SEDX_SUCCESS)
        s->ctx_id = t.context_id;
    return s->ctx_id;
}

static void submitted_now(shadow_seq *s, uint64_t vals[SEDX_QUEUE_COUNT])
{
    for (int q = 0; q < SEDX_QUEUE_COUNT; ++q) vals[q] = sedx_context_submitted_value(s->cfg.ctx, (sedx_queue)q);
}

/* Waits until every queue has reached vals (an upper bound of a submission sedx made). */
static void wait_vals(shadow_seq *s, const uint64_t vals[SEDX_QUEUE_COUNT], const char *why)
{
    for (int q = 0; q < SEDX_QUEUE_COUNT; ++q) {
        if (!vals[q]) continue;
        sedx_ticket t = {vals[q], (uint32_t)q, ctx_id(s)};
        if (expect_rc(s, why, sedx_ticket_wait(s->cfg.ctx, t, UINT64_MAX), SEDX_SUCCESS, NULL)) settle(s, t);
    }
}

/* The open upload batch was submitted with ticket t (as op_upload_submit). */
static void batch_submitted(shadow_seq *s, sedx_ticket t)
{
    if (!t.value) return;
    add_ticket(s, t);
    for (uint32_t i = 0; i < s->nbufs; ++i) {
        sbuf *b = s->bufs[i];
        if (!b->in_batch) continue;
        if (!b->busy.value || b->busy.queue == t.queue) {
            b->in_batch = false;
            if (t.value > b->busy.value) b->busy = t;
        }
    }
}

/* ------------------------------------------------------------------------------------------
 * Zero-copy staging: reserve, write in place, commit or cancel (several outstanding)
 * ---------------------------------------------------------------------------------------- */
typedef struct sresv {
    sedx_upload_reservation rv;
    uint32_t buf_serial, ref_serial, op;
    uint64_t off, n;
    uint8_t *data;   /* what was (or will be) written in place */
    bool written;    /* false: written just before the commit */
} sresv;

static void resv_drop(shadow_seq *s, uint32_t i)
{
    free(s->resv[i]->data);
    free(s->resv[i]);
    s->resv[i] = s->resv[--s->nresv];
    atomic_fetch_sub(&g_resv_out, 1);
    atomic_fetch_add(&g_resv_epoch, 1);
}

static void op_reserve(shadow_seq *s)
{
    sbuf *b = pick_buf(s, -1);
    if (!b) return;
    if (s->nresv >= MAX_RESV) {
        lg(s, "reserve: %u outstanding, ", s->nresv);
        op_reserve_done(s, false);
        return;
    }
    sref *r = pick_ref(s, b);
    uint64_t limit = sedx_upload_reserve_limit(s->cfg.ctx), off, n;
    choose_range(s, b->size, &off, &n);
    if (limit && n > limit) {
        n = 1 + pick(s, limit);
        off = pick(s, b->size - n + 1);
    }
    sedx_result want = SEDX_SUCCESS;
    uint64_t bad = pick(s, 24);
    if (n == 0) want = SEDX_ERROR_INVALID_SIZE;
    else if (bad == 0 && limit && b->size > limit) { /* larger than a quarter of the ring */
        n = limit + 1 + pick(s, b->size - limit);
        off = 0;
        want = SEDX_ERROR_INVALID_SIZE;
    } else if (bad == 1) {
        off = b->size - n + 1 + pick(s, 8);
        want = SEDX_ERROR_OUT_OF_BOUNDS;
    }
    bool nowait = pick(s, 3) == 0;
    lg(s, "reserve%s B%u.%u [%llu,+%llu) (%u outstanding, limit %llu)", nowait ? "_ex NO_WAIT" : "", b->serial,
       r->serial, (unsigned long long)off, (unsigned long long)n, s->nresv, (unsigned long long)limit);
    sedx_upload_reservation rv;
    memset(&rv, 0xAB, sizeof rv);
    atomic_fetch_add(&g_resv_out, 1); /* outstanding from before the call: other threads' uploads may be refused */
    atomic_fetch_add(&g_resv_epoch, 1);
    pin_watch pw = pin_begin();
    if (want != SEDX_SUCCESS) tl_expect_errors++;
    sedx_result res = nowait ? sedx_upload_reserve_ex(s->cfg.ctx, &r->b, off, n, SEDX_UPLOAD_NO_WAIT, &rv)
                             : sedx_upload_reserve(s->cfg.ctx, &r->b, off, n, &rv);
    if (want != SEDX_SUCCESS) tl_expect_errors--;
    /* refused for room: NO_WAIT with the ring full, or space held by outstanding reservations
     * (this thread's or, in threads runs, another's) */
    bool room = want == SEDX_SUCCESS && res == SEDX_ERROR_OUT_OF_STAGING && (nowait || s->nresv || pw.out > 1 ||
                                                                                atomic_load(&g_resv_out) > 1);
    pw.out = 0; /* our own count above is not another reservation */
    pin_refused(s, &pw, SEDX_SUCCESS);
    if (res != SEDX_SUCCESS) {
        atomic_fetch_sub(&g_resv_out, 1);
        atomic_fetch_add(&g_resv_epoch, 1);
        static const sedx_upload_reservation zero;
        if (memcmp(&rv, &zero, sizeof rv) != 0)
            fail(s, "a refused sedx_upload_reserve did not zero *out", "reserve of B%u returned %s", b->serial,
                 sedx_result_name(res));
        if (room) {
            lg(s, " -> OUT_OF_STAGING");
            s->n_resv_refused++;
            return;
        }
        expect_rc(s, want == SEDX_SUCCESS ? "sedx_upload_reserve" : "sedx_upload_reserve (bad)", res, want, NULL);
        return;
    }
    if (!expect_rc(s, want == SEDX_SUCCESS ? "sedx_upload_reserve" : "sedx_upload_reserve (bad)", res, want, NULL)) {
        lg(s, " [cancelled]"); /* succeeded where it should not have: give it back */
        sedx_upload_cancel(s->cfg.ctx, &rv);
        atomic_fetch_sub(&g_resv_out, 1);
        atomic_fetch_add(&g_resv_epoch, 1);
        return;
    }
    if (!rv.data || ((uintptr_t)rv.data & 15u) || rv.size != n || rv.offset != off || !rv.handle)
        fail(s, "sedx_upload_reserve: bad reservation", "B%u [%llu,+%llu): data %p size %llu offset %llu handle 0x%llx",
             b->serial, (unsigned long long)off, (unsigned long long)n, rv.data, (unsigned long long)rv.size,
             (unsigned long long)rv.offset, (unsigned long long)rv.handle);
    sresv *v = calloc(1, sizeof *v);
    v->rv = rv;
    v->buf_serial = b->serial;
    v->ref_serial = r->serial;
    v->op = s->op;
    v->off = off;
    v->n = n;
    v->data = malloc(n);
    fill_data(s, v->data, n);
    v->written = pick(s, 4) != 0;
    if (v->written && rv.data) memcpy(rv.data, v->data, n); /* produced in place now; committed later */
    lg(s, " R%llu%s", (unsigned long long)s->n_resv, v->written ? " written" : "");
    s->resv[s->nresv++] = v;
    s->n_resv++;
}

/* Commits or cancels one outstanding reservation (all of them: finish). */
static void resv_resolve(shadow_seq *s, uint32_t i, bool commit)
{
    sresv *v = s->resv[i];
    sbuf *b = find_serial(s, v->buf_serial);
    bool ref_alive = false;
    for (uint32_t k = 0; b && k < b->nrefs; ++k) ref_alive = ref_alive || b->refs[k].serial == v->ref_serial;
    lg(s, " %s B%u[%llu,+%llu) (reserved at #%u%s)", commit ? "commit" : "cancel", v->buf_serial,
       (unsigned long long)v->off, (unsigned long long)v->n, v->op,
       !b ? ", buffer released" : !ref_alive ? ", its reference released" : "");
    if (!v->written && v->rv.data) memcpy(v->rv.data, v->data, v->n);
    sedx_upload_reservation copy = v->rv;
    sedx_result want = commit && !ref_alive ? SEDX_ERROR_INVALID_HANDLE : SEDX_SUCCESS;
    if (want != SEDX_SUCCESS) tl_expect_errors++;
    sedx_result r = commit ? sedx_upload_commit(s->cfg.ctx, &v->rv) : sedx_upload_cancel(s->cfg.ctx, &v->rv);
    if (want != SEDX_SUCCESS) tl_expect_errors--;
    bool ok = expect_rc(s, commit ? (ref_alive ? "sedx_upload_commit" : "sedx_upload_commit after its reference was released")
                                  : "sedx_upload_cancel", r, want, NULL);
    if (r == SEDX_SUCCESS || r == SEDX_ERROR_INVALID_HANDLE) {
        if (v->rv.data || v->rv.size != v->n || v->rv.offset != v->off)
            fail(s, "a spent reservation keeps its data pointer or loses its size",
                 "after %s: data %p size %llu offset %llu", commit ? "commit" : "cancel", v->rv.data,
                 (unsigned long long)v->rv.size, (unsigned long long)v->rv.offset);
    }
    if (commit && r == SEDX_SUCCESS) {
        s->n_commits++;
        if (b) {
            sh_write(s, b, v->off, v->data, v->n);
            b->in_batch = true;
        }
    } else if (!commit) {
        s->n_cancels++;
    }
    /* a spent reservation (and a copy of it) is refused: nothing happens */
    if (r == SEDX_SUCCESS && pick(s, 8) == 0) {
        bool use_copy = pick(s, 2) != 0;
        tl_expect_errors++;
        sedx_result r2 = pick(s, 2) ? sedx_upload_commit(s->cfg.ctx, use_copy ? &copy : &v->rv)
                                    : sedx_upload_cancel(s->cfg.ctx, use_copy ? &copy : &v->rv);
        tl_expect_errors--;
        lg(s, " again%s", use_copy ? " (a copy)" : "");
        expect_rc(s, use_copy ? "commit / cancel of a copy of a spent reservation" : "commit / cancel of a spent reservation",
                  r2, SEDX_ERROR_INVALID_HANDLE, NULL);
    }
    if (ok && b && (!commit || !ref_alive) && pick(s, 3) == 0)
        verify_span(s, b, v->off, v->n, commit ? "after a refused commit: nothing written" : "after a cancel: nothing written");
    resv_drop(s, i);
}

static void op_reserve_done(shadow_seq *s, bool log_name)
{
    if (log_name) lg(s, "reserve_done:");
    if (!s->nresv) {
        lg(s, " (none outstanding)");
        return;
    }
    uint32_t k = 1 + (uint32_t)pick(s, s->nresv < 2 ? 1 : 2);
    for (uint32_t j = 0; j < k && s->nresv; ++j) resv_resolve(s, (uint32_t)pick(s, s->nresv), pick(s, 10) < 7);
}

/* ------------------------------------------------------------------------------------------
 * Asynchronous readback: requests outstanding, taken out of order
 * ---------------------------------------------------------------------------------------- */
/* What a callback found; it runs on whichever thread pumps, so it touches only this. */
typedef struct cbrec {
    _Atomic uint32_t calls;
    uint64_t n;
    const uint8_t *bytes, *known; /* the snapshot */
    uint64_t got_size, first, count;
    uint8_t got[8];
} cbrec;

typedef struct sreq {
    sedx_download_request req; /* handle requests */
    cbrec *cb;                 /* callback requests */
    uint32_t buf_serial, op;
    uint64_t off, n;
    uint8_t *bytes, *known;    /* the model's [off, +n) at the request */
    uint64_t vals[SEDX_QUEUE_COUNT]; /* submitted values after the request: its copy is done by then */
    bool gpu_done;             /* waited for vals */
    bool ready;                /* poll / wait said SUCCESS */
} sreq;

static void async_callback(sedx_context *ctx, const void *data, uint64_t size, void *user)
{
    (void)ctx;
    cbrec *c = user;
    if (atomic_load_explicit(&c->calls, memory_order_acquire) == 0) {
        c->got_size = size;
        c->first = UINT64_MAX;
        c->count = 0;
        const uint8_t *d = data;
        for (uint64_t i = 0; i < c->n && i < size; ++i)
            if (c->known[i] && d[i] != c->bytes[i]) {
                if (c->first == UINT64_MAX) {
                    c->first = i;
                    for (uint64_t k = 0; k < 8 && i + k < c->n && i + k < size; ++k) c->got[k] = d[i + k];
                }
                c->count++;
            }
    }
    atomic_fetch_add_explicit(&c->calls, 1, memory_order_release);
}

static void req_free(sreq *q)
{
    free(q->bytes);
    free(q->known);
    free(q->cb);
    free(q);
}

static void req_drop(shadow_seq *s, uint32_t i)
{
    req_free(s->reqs[i]);
    s->reqs[i] = s->reqs[--s->nreq];
}

/* got vs the snapshot of q; reported like check_bytes, naming the request's line. */
static void check_snapshot(shadow_seq *s, const sreq *q, const uint8_t *got, uint64_t first, uint64_t count,
                           const char *how)
{
    if (first == UINT64_MAX) {
        count = 0;
        for (uint64_t i = 0; i < q->n; ++i)
            if (q->known[i] && got[i] != q->bytes[i]) {
                if (first == UINT64_MAX) first = i;
                count++;
            }
        if (first == UINT64_MAX) return;
        got += first;
    }
    char gx[64] = "", ex[64] = "";
    for (uint64_t i = first, k = 0; i < q->n && k < 8; ++i, ++k) {
        size_t gl = strlen(gx), el = strlen(ex);
        snprintf(gx + gl, sizeof gx - gl, "%02x", got[k]);
        snprintf(ex + el, sizeof ex - el, q->known[i] ? "%02x" : "??", q->bytes[i]);
    }
    const char *hl = history_line(s, q->op);
    char cat[160];
    snprintf(cat, sizeof cat, "data mismatch (%s)", how);
    fail(s, cat,
         "request of B%u [%llu,+%llu) made at op #%u (%s): %s differs from the model at the request: first difference at "
         "buffer offset %llu: got %s expected %s (from there); %llu bytes differ",
         q->buf_serial, (unsigned long long)q->off, (unsigned long long)q->n, q->op, hl ? hl : "line gone", how,
         (unsigned long long)(q->off + first), gx, ex, (unsigned long long)count);
}

static void async_settle(shadow_seq *s, sbuf *b)
{
    for (uint32_t i = 0; i < s->nreq; ++i) {
        sreq *q = s->reqs[i];
        if (q->gpu_done || q->buf_serial != b->serial) continue;
        lg(s, " [wait for the async read of B%u from #%u]", b->serial, q->op);
        wait_vals(s, q->vals, "sedx_ticket_wait (an async readback's submission)");
        q->gpu_done = true;
    }
}

static void async_all_done(shadow_seq *s)
{
    for (uint32_t i = 0; i < s->nreq; ++i) s->reqs[i]->gpu_done = true;
    s->cancels_pending = 0;
}

static uint64_t rb_ring_size(shadow_seq *s)
{
    sedx_download_async_stats st;
    if (sedx_download_async_get_stats(s->cfg.ctx, &st) != SEDX_SUCCESS || !st.ring_size) return 0;
    return st.ring_size;
}

static sreq *req_new(shadow_seq *s, sbuf *b, uint64_t off, uint64_t n, bool callback)
{
    sreq *q = calloc(1, sizeof *q);
    q->buf_serial = b->serial;
    q->op = s->op;
    q->off = off;
    q->n = n;
    q->bytes = malloc(n ? n : 1);
    q->known = malloc(n ? n : 1);
    memcpy(q->bytes, b->bytes + off, n);
    memcpy(q->known, b->known + off, n);
    if (callback) {
        q->cb = calloc(1, sizeof *q->cb);
        q->cb->n = n;
        q->cb->bytes = q->bytes;
        q->cb->known = q->known;
        atomic_init(&q->cb->calls, 0);
    }
    return q;
}

static void op_async(shadow_seq *s)
{
    if (!s->nbufs) return;
    if (s->nreq >= MAX_REQ) {
        lg(s, "async: %u outstanding, ", s->nreq);
        op_async_take(s);
        return;
    }
    uint64_t ring = rb_ring_size(s), cap = ring ? ring / 4 : 16384;
    if (cap > REQ_MAX_BYTES) cap = REQ_MAX_BYTES;
    bool batch = pick(s, 3) == 0;
    uint32_t k = batch ? 1 + (uint32_t)pick(s, MAX_REQ - s->nreq < 4 ? MAX_REQ - s->nreq : 4) : 1;
    sedx_download_async_info infos[4];
    sedx_download_request out[4];
    sbuf *mb[4];
    sedx_result want = SEDX_SUCCESS;
    const char *what = batch ? "sedx_download_async_batch" : "sedx_download_async";
    lg(s, "%s", batch ? "async_batch" : "async");
    for (uint32_t i = 0; i < k; ++i) {
        sbuf *b = pick_buf(s, -1);
        uint64_t off, n;
        choose_range(s, b->size, &off, &n);
        if (n > cap || pick(s, 6) == 0) { /* large ones fill the ring */
            n = n > cap ? 1 + pick(s, cap) : cap < b->size ? cap : b->size;
            off = pick(s, b->size - n + 1);
        }
        if (!n) {
            n = 1;
            off = pick(s, b->size);
        }
        mb[i] = b;
        infos[i] = (sedx_download_async_info){&pick_ref(s, b)->b, off, n, NULL, NULL};
        if (batch && pick(s, 2) && (SEQ_THREADS_ASYNC_CALLBACKS || s->cfg.thread < 0)) infos[i].callback = async_callback;
        lg(s, " B%u[%llu,+%llu)%s", b->serial, (unsigned long long)off, (unsigned long long)n,
           infos[i].callback ? " cb" : "");
    }
    sedx_buffer stale;
    if (pick(s, 16) == 0) { /* one bad entry: the whole call is refused, nothing recorded */
        uint32_t i = (uint32_t)pick(s, k);
        sbuf *b = mb[i];
        switch (pick(s, 4)) {
        case 0:
            infos[i].size = 0;
            want = SEDX_ERROR_INVALID_SIZE;
            what = "sedx_download_async (size 0)";
            break;
        case 1:
            infos[i].offset = b->size - infos[i].size + 1 + pick(s, 4);
            want = SEDX_ERROR_OUT_OF_BOUNDS;
            what = "sedx_download_async (past the end)";
            break;
        case 2:
            if (ring && b->size > ring) {
                infos[i].offset = 0;
                infos[i].size = ring + 1 + pick(s, b->size - ring);
                want = SEDX_ERROR_INVALID_SIZE;
                what = "sedx_download_async (larger than the readback ring)";
                break;
            }
            /* fall through */
        default:
            if (!s->nstale) {
                infos[i].size = 0;
                want = SEDX_ERROR_INVALID_SIZE;
                what = "sedx_download_async (size 0)";
                break;
            }
            stale = s->stale[pick(s, s->nstale)].b;
            infos[i].src = &stale;
            infos[i].offset = 0;
            infos[i].size = 1;
            want = SEDX_ERROR_INVALID_HANDLE;
            what = "sedx_download_async (released reference)";
            break;
        }
        lg(s, " bad: entry %u (%s)", i, what);
    }
    sreq *q[4];
    for (uint32_t i = 0; i < k; ++i) {
        q[i] = want == SEDX_SUCCESS ? req_new(s, mb[i], infos[i].offset, infos[i].size, infos[i].callback != NULL) : NULL;
        if (q[i] && q[i]->cb) infos[i].user = q[i]->cb;
    }
    memset(out, 0xAB, sizeof out);
    if (want != SEDX_SUCCESS) tl_expect_errors++;
    uint32_t held = s->nreq;
    bool quiet = want == SEDX_SUCCESS && (held || s->cancels_pending || s->cfg.thread >= 0);
    if (quiet) tl_expect_errors++; /* a full ring may be refused: logged */
    sedx_result r = batch ? sedx_download_async_batch(s->cfg.ctx, infos, k, out)
                          : sedx_download_async(s->cfg.ctx, infos[0].src, infos[0].offset, infos[0].size, &out[0]);
    if (quiet) tl_expect_errors--;
    if (want != SEDX_SUCCESS) tl_expect_errors--;
    if (r != SEDX_SUCCESS) {
        for (uint32_t i = 0; i < k; ++i) {
            if (out[i].handle || out[i].size) fail(s, "a refused sedx_download_async did not zero *out", "%s", what);
            if (q[i]) req_free(q[i]);
        }
        /* ring full: its space belongs to results not taken (or cancelled copies in flight, or
         * another thread's requests) */
        if (want == SEDX_SUCCESS && r == SEDX_ERROR_OUT_OF_STAGING && quiet) {
            lg(s, " -> OUT_OF_STAGING (%u outstanding)", held);
            s->n_async_full++;
            return;
        }
        expect_rc(s, what, r, want, NULL);
        return;
    }
    if (!expect_rc(s, what, r, want, NULL)) return; /* (accepted a bad call: its requests stay unknown) */
    uint64_t vals[SEDX_QUEUE_COUNT];
    submitted_now(s, vals);
    for (uint32_t i = 0; i < k; ++i) {
        memcpy(q[i]->vals, vals, sizeof vals);
        if (q[i]->cb) {
            if (out[i].handle) fail(s, "sedx_download_async_batch: a callback entry has a handle", "entry %u", i);
        } else {
            q[i]->req = out[i];
            if (!out[i].handle || out[i].size != infos[i].size)
                fail(s, "sedx_download_async: bad request", "entry %u: handle 0x%llx size %llu (asked %llu)", i,
                     (unsigned long long)out[i].handle, (unsigned long long)out[i].size,
                     (unsigned long long)infos[i].size);
        }
        s->reqs[s->nreq++] = q[i];
    }
    s->n_async += k;
    if (batch) s->n_async_batches++;
}

/* A callback request: has it run (once)? Then its findings are checked and it is dropped. */
static bool harvest_callback(shadow_seq *s, uint32_t i)
{
    sreq *q = s->reqs[i];
    uint32_t calls = atomic_load_explicit(&q->cb->calls, memory_order_acquire);
    if (!calls) return false;
    lg(s, " [callback of #%u ran]", q->op);
    s->n_callbacks++;
    if (calls > 1) fail(s, "an async readback callback ran more than once", "request of B%u from op #%u: %u calls",
                        q->buf_serial, q->op, calls);
    if (q->cb->got_size != q->n)
        fail(s, "an async readback callback got the wrong size", "request of B%u [%llu,+%llu) from op #%u: size %llu",
             q->buf_serial, (unsigned long long)q->off, (unsigned long long)q->n, q->op,
             (unsigned long long)q->cb->got_size);
    if (q->cb->first != UINT64_MAX) check_snapshot(s, q, q->cb->got, q->cb->first, q->cb->count, "async readback callback");
    req_drop(s, i);
    return true;
}

static void take_result(shadow_seq *s, uint32_t i, bool must)
{
    sreq *q = s->reqs[i];
    uint8_t *d = s->dst;
    poison(d, q->n + 2 * GUARD);
    sedx_download_request copy = q->req;
    sedx_result r = sedx_download_result(s->cfg.ctx, &q->req, d + GUARD);
    lg(s, " result #%u -> %s", q->op, short_result(r));
    if (r == SEDX_NOT_READY && !must && !q->ready && !q->gpu_done) {
        s->not_ready++;
        if (q->req.handle != copy.handle) fail(s, "sedx_download_result NOT_READY dropped the request", "request from #%u", q->op);
        return;
    }
    if (r != SEDX_SUCCESS) {
        char cat[160];
        snprintf(cat, sizeof cat, "sedx_download_result: %s instead of SUCCESS%s", short_result(r),
                 q->ready ? " after poll / wait said SUCCESS" : q->gpu_done ? " after its submission completed" : "");
        fail(s, cat, "request of B%u [%llu,+%llu) from op #%u", q->buf_serial, (unsigned long long)q->off,
             (unsigned long long)q->n, q->op);
        if (r == SEDX_NOT_READY) return;
        req_drop(s, i);
        return;
    }
    s->n_results++;
    if (q->req.handle || q->req.size)
        fail(s, "sedx_download_result did not spend the request", "request from #%u", q->op);
    if (poison_changed(d, 0, GUARD) >= 0 || poison_changed(d, GUARD + q->n, GUARD) >= 0)
        fail(s, "sedx_download_result wrote outside its destination", "request of B%u [%llu,+%llu) from #%u",
             q->buf_serial, (unsigned long long)q->off, (unsigned long long)q->n, q->op);
    check_snapshot(s, q, d + GUARD, UINT64_MAX, 0, "sedx_download_result");
    if (pick(s, 6) == 0) { /* the spent request, or a copy of it taken before: refused */
        bool use_copy = pick(s, 2) != 0;
        tl_expect_errors++;
        sedx_result r2 = sedx_download_result(s->cfg.ctx, use_copy ? &copy : &q->req, d + GUARD);
        tl_expect_errors--;
        lg(s, " again%s", use_copy ? " (copy)" : "");
        expect_rc(s, use_copy ? "sedx_download_result of a copy of a taken request" : "sedx_download_result of a spent request",
                  r2, SEDX_ERROR_INVALID_HANDLE, NULL);
    }
    req_drop(s, i);
}

static void op_async_take(shadow_seq *s)
{
    lg(s, "async_take");
    if (!s->nreq) {
        lg(s, " (none outstanding)");
        return;
    }
    uint32_t i = (uint32_t)pick(s, s->nreq);
    sreq *q = s->reqs[i];
    lg(s, " #%u B%u[%llu,+%llu)%s:", q->op, q->buf_serial, (unsigned long long)q->off, (unsigned long long)q->n,
       q->cb ? " cb" : "");
    if (q->cb) {
        if (harvest_callback(s, i)) return;
        if (pick(s, 3) == 0 && !q->gpu_done) {
            wait_vals(s, q->vals, "sedx_ticket_wait (an async readback's submission)");
            q->gpu_done = true;
        }
        uint32_t ran = sedx_download_pump(s->cfg.ctx);
        lg(s, " pump %u", ran);
        if (harvest_callback(s, i)) return;
        if (q->gpu_done && s->cfg.thread < 0)
            fail(s, "an async readback callback did not run", "request of B%u from op #%u: its submission completed, "
                 "sedx_download_pump ran %u callbacks, not this one", q->buf_serial, q->op, ran);
        return;
    }
    switch (pick(s, 7)) {
    case 0: {
        sedx_result r = sedx_download_poll(s->cfg.ctx, &q->req);
        lg(s, " poll -> %s", short_result(r));
        if (r == SEDX_SUCCESS) q->ready = true;
        else if (r == SEDX_NOT_READY && !q->gpu_done) s->not_ready++;
        else expect_rc(s, q->gpu_done ? "sedx_download_poll (its submission completed)" : "sedx_download_poll", r,
                       SEDX_SUCCESS, NULL);
        break;
    }
    case 1: {
        bool forever = pick(s, 2) != 0;
        sedx_result r = sedx_download_wait(s->cfg.ctx, &q->req, forever ? UINT64_MAX : 0);
        lg(s, " wait%s -> %s", forever ? "" : " 0", short_result(r));
        if (r == SEDX_SUCCESS) q->ready = q->gpu_done = true;
        else if (r != SEDX_TIMEOUT || forever || q->gpu_done)
            expect_rc(s, "sedx_download_wait", r, SEDX_SUCCESS, NULL);
        break;
    }
    case 2:
    case 3:
        take_result(s, i, false);
        break;
    case 4: {
        sedx_result r = sedx_download_cancel(s->cfg.ctx, &q->req);
        lg(s, " cancel");
        if (expect_rc(s, "sedx_download_cancel", r, SEDX_SUCCESS, NULL)) {
            if (q->req.handle) fail(s, "sedx_download_cancel did not spend the request", "request from #%u", q->op);
            s->n_async_cancels++;
            if (!q->gpu_done) s->cancels_pending++;
            req_drop(s, i);
        }
        break;
    }
    case 5: {
        lg(s, " result(NULL)");
        tl_expect_errors++;
        sedx_result r = sedx_download_result(s->cfg.ctx, &q->req, NULL);
        tl_expect_errors--;
        expect_rc(s, "sedx_download_result with dst NULL", r, SEDX_ERROR_INVALID_ARGUMENT, NULL);
        if (!q->req.handle) fail(s, "sedx_download_result with dst NULL dropped the request", "request from #%u", q->op);
        break;
    }
    default: {
        sedx_result r = sedx_download_wait(s->cfg.ctx, &q->req, UINT64_MAX);
        lg(s, " wait -> %s;", short_result(r));
        if (expect_rc(s, "sedx_download_wait", r, SEDX_SUCCESS, NULL)) q->ready = q->gpu_done = true;
        take_result(s, i, true);
        break;
    }
    }
}

/* Takes every request (waiting), runs every callback. */
static void async_finish(shadow_seq *s)
{
    while (s->nreq) {
        uint32_t i = s->nreq - 1;
        sreq *q = s->reqs[i];
        if (!q->cb) {
            sedx_result r = sedx_download_wait(s->cfg.ctx, &q->req, UINT64_MAX);
            if (expect_rc(s, "sedx_download_wait (finish)", r, SEDX_SUCCESS, NULL)) q->ready = q->gpu_done = true;
            take_result(s, i, true);
            continue;
        }
        wait_vals(s, q->vals, "sedx_ticket_wait (finish)");
        q->gpu_done = true;
        struct timespec t0, now;
        clock_gettime(CLOCK_MONOTONIC, &t0);
        for (;;) {
            sedx_download_pump(s->cfg.ctx);
            if (harvest_callback(s, i)) break;
            clock_gettime(CLOCK_MONOTONIC, &now);
            if (s->cfg.thread < 0 || now.tv_sec - t0.tv_sec > 20) { /* threads: another thread may be running it */
                fail(s, "an async readback callback never ran", "request of B%u from op #%u", q->buf_serial, q->op);
                s->reqs[i] = s->reqs[--s->nreq]; /* leaked on purpose: it might still run */
                break;
            }
            struct timespec ms = {0, 1000000};
            nanosleep(&ms, NULL);
        }
    }
}

/* ------------------------------------------------------------------------------------------
 * Frames: frames in flight, transient memory copied into sedx buffers in the frame
 * ---------------------------------------------------------------------------------------- */
typedef struct strans {
    sedx_transient t;
    uint8_t *copy; /* what was written */
} strans;

static const sedx_buffer_usage_flags g_transient_usages[] = {
    SEDX_BUFFER_USAGE_UNIFORM, SEDX_BUFFER_USAGE_STORAGE, SEDX_BUFFER_USAGE_UNIFORM_TEXEL,
    SEDX_BUFFER_USAGE_STORAGE_TEXEL, SEDX_BUFFER_USAGE_INDEX, SEDX_BUFFER_USAGE_VERTEX,
    SEDX_BUFFER_USAGE_INDIRECT, SEDX_BUFFER_USAGE_TRANSFER_SRC, SEDX_BUFFER_USAGE_ADDRESS};

/* Vulkan's offset rule for a usage (docs/frames.md, "Alignment"). */
static uint64_t usage_alignment(shadow_seq *s, sedx_buffer_usage_flags u)
{
    const VkPhysicalDeviceLimits *l = &sedx_context_properties(s->cfg.ctx)->limits;
    uint64_t a = 1;
    if ((u & SEDX_BUFFER_USAGE_UNIFORM) && l->minUniformBufferOffsetAlignment > a) a = l->minUniformBufferOffsetAlignment;
    if ((u & SEDX_BUFFER_USAGE_STORAGE) && l->minStorageBufferOffsetAlignment > a) a = l->minStorageBufferOffsetAlignment;
    if ((u & (SEDX_BUFFER_USAGE_UNIFORM_TEXEL | SEDX_BUFFER_USAGE_STORAGE_TEXEL)) && l->minTexelBufferOffsetAlignment > a)
        a = l->minTexelBufferOffsetAlignment;
    if ((u & (SEDX_BUFFER_USAGE_INDEX | SEDX_BUFFER_USAGE_INDIRECT)) && a < 4) a = 4;
    return a;
}

static void trans_drop(shadow_seq *s, uint32_t i)
{
    free(s->trans[i]->copy);
    free(s->trans[i]);
    s->trans[i] = s->trans[--s->ntrans];
}

/* The transients of frames still in flight keep their bytes (nothing else was placed over them).
 * Sampled: the first and last 64 bytes and two more windows of each, since on a discrete GPU the
 * blocks are device-local write-combined memory, where every host read is uncached (reading them
 * whole made the default mode 3x slower on an H100). */
static int64_t trans_first_diff(const strans *x, uint64_t salt)
{
    const uint8_t *got = x->t.data;
    uint64_t n = x->t.size, w = n < 64 ? n : 64;
    uint64_t at[4] = {0, n - w, ((x->t.offset + salt) * 2654435761u) % (n - w + 1),
                      ((x->t.offset ^ salt) * 40503u + n / 2) % (n - w + 1)};
    for (int k = 0; k < 4; ++k)
        for (uint64_t i = at[k]; i < at[k] + w; ++i)
            if (got[i] != x->copy[i]) return (int64_t)i;
    return -1;
}

static void trans_check_intact(shadow_seq *s, const char *when)
{
    for (uint32_t i = 0; i < s->ntrans; ++i) {
        strans *x = s->trans[i];
        int64_t k = trans_first_diff(x, s->op);
        if (k < 0) continue;
        fail(s, "transient memory of a frame in flight changed",
             "%s: transient of frame %llu (%llu bytes at offset %llu of VkBuffer 0x%llx) differs at byte %lld: got %02x "
             "expected %02x (current frame %llu, %u in flight)",
             when, (unsigned long long)x->t.frame, (unsigned long long)x->t.size, (unsigned long long)x->t.offset,
             (unsigned long long)(uintptr_t)x->t.buffer, (long long)k, ((const uint8_t *)x->t.data)[k], x->copy[k],
             (unsigned long long)s->frame_no, s->fif);
        memcpy(x->copy, x->t.data, x->t.size); /* report once */
    }
}

static void frame_end(shadow_seq *s, bool everything)
{
    sedx_ticket t = everything ? (sedx_ticket){0} : s->frame_ticket;
    lg(s, " end frame %llu (ticket %s%llu)", (unsigned long long)s->frame_no, t.value ? "" : "0 = everything, ",
       (unsigned long long)t.value);
    if (expect_rc(s, "sedx_frame_end", sedx_frame_end(s->cfg.ctx, s->frame, t), SEDX_SUCCESS, NULL)) {
        sedx_frame *ended = s->frame;
        s->frame = NULL;
        if (pick(s, 24) == 0) {
            tl_expect_errors++;
            sedx_result r = sedx_frame_end(s->cfg.ctx, ended, t);
            tl_expect_errors--;
            lg(s, " end again");
            expect_rc(s, "sedx_frame_end of an ended frame", r, SEDX_ERROR_INVALID_HANDLE, NULL);
        }
    }
}

static bool frame_begin(shadow_seq *s)
{
    sedx_frame *f = NULL;
    sedx_result r = sedx_frame_begin(s->cfg.ctx, &f);
    if (!expect_rc(s, "sedx_frame_begin", r, SEDX_SUCCESS, NULL) || !f) return false;
    uint64_t no = sedx_frame_number(f);
    lg(s, " begin frame %llu (slot %u of %u)", (unsigned long long)no, sedx_frame_slot(f), s->fif);
    if (s->frame_no && no <= s->frame_no)
        fail(s, "sedx_frame_number went back", "frame %llu after %llu", (unsigned long long)no,
             (unsigned long long)s->frame_no);
    if (sedx_frame_slot(f) != (uint32_t)((no - 1) % s->fif))
        fail(s, "sedx_frame_slot is not (number - 1) % frames_in_flight", "frame %llu slot %u, %u in flight",
             (unsigned long long)no, sedx_frame_slot(f), s->fif);
    s->frame = f;
    s->frame_no = no;
    s->frame_ticket = (sedx_ticket){0};
    s->n_frames++;
    /* the frames whose slot this one reused are gone: their transients are no longer valid */
    for (uint32_t i = 0; i < s->ntrans;) {
        if (s->trans[i]->t.frame + s->fif <= no) {
            s->reclaimed = s->trans[i]->t;
            trans_drop(s, i);
        } else {
            ++i;
        }
    }
    if (s->reclaimed.frame && s->reclaimed.frame + s->fif <= no && pick(s, 4) == 0) {
        tl_expect_errors++;
        sedx_result c = sedx_transient_check(s->cfg.ctx, &s->reclaimed);
        tl_expect_errors--;
        lg(s, " check(frame %llu's)", (unsigned long long)s->reclaimed.frame);
        expect_rc(s, "sedx_transient_check of a transient whose slot was reused", c, SEDX_ERROR_INVALID_HANDLE, NULL);
    }
    if (s->ntrans && pick(s, 2)) {
        strans *x = s->trans[pick(s, s->ntrans)];
        lg(s, " check(frame %llu's)", (unsigned long long)x->t.frame);
        expect_rc(s, "sedx_transient_check of a transient of a frame in flight", sedx_transient_check(s->cfg.ctx, &x->t),
                  SEDX_SUCCESS, NULL);
    }
    trans_check_intact(s, "at the begin of the next frame");
    return true;
}

/* One transient allocation, checked and written; NULL when refused (bad calls) or failed. */
static strans *transient_new(shadow_seq *s)
{
    uint64_t r = pick(s, 100), size;
    uint64_t bs = s->block_size ? s->block_size : (1u << 20);
    if (r < 45) size = 1 + pick(s, 256);
    else if (r < 80) size = 1 + pick(s, 4096);
    else if (r < 96) size = 1 + pick(s, bs < 65536 ? bs : 65536);
    else size = bs - pick(s, bs < 64 ? bs : 64);
    if (size > s->cfg.max_size) size = 1 + pick(s, s->cfg.max_size);
    sedx_buffer_usage_flags usage = 0;
    for (uint64_t k = 1 + pick(s, 3); k; --k)
        usage |= g_transient_usages[pick(s, sizeof g_transient_usages / sizeof g_transient_usages[0])];
    sedx_result want = SEDX_SUCCESS;
    const char *what = "sedx_transient_alloc";
    if (pick(s, 32) == 0) {
        switch (pick(s, 4)) {
        case 0: size = 0; want = SEDX_ERROR_INVALID_SIZE; what = "sedx_transient_alloc of 0 bytes"; break;
        case 1: size = bs + 1 + pick(s, 64); want = SEDX_ERROR_INVALID_SIZE; what = "sedx_transient_alloc larger than a block"; break;
        case 2: usage = 0; want = SEDX_ERROR_INVALID_USAGE; what = "sedx_transient_alloc with usage 0"; break;
        default: usage |= SEDX_BUFFER_USAGE_TRANSFER_DST; want = SEDX_ERROR_INVALID_USAGE; what = "sedx_transient_alloc with TRANSFER_DST"; break;
        }
    }
    char u[160];
    lg(s, " alloc %llu %s", (unsigned long long)size, usage_str(usage, u, sizeof u));
    if (s->ntrans == MAX_TRANS) { /* forget the oldest of an earlier frame (no longer checked) */
        uint32_t old = 0;
        for (uint32_t i = 1; i < s->ntrans; ++i)
            if (s->trans[i]->t.frame < s->trans[old]->t.frame) old = i;
        if (s->trans[old]->t.frame == s->frame_no) { /* all of this frame: this op's copies still use them */
            lg(s, " (skipped: %u transients of this frame remembered)", s->ntrans);
            return NULL;
        }
        trans_drop(s, old);
    }
    sedx_transient t, before;
    memset(&t, 0xCD, sizeof t);
    before = t;
    if (want != SEDX_SUCCESS) tl_expect_errors++;
    sedx_result res = sedx_transient_alloc(s->frame, size, usage, &t);
    if (want != SEDX_SUCCESS) tl_expect_errors--;
    if (!expect_rc(s, what, res, want, NULL)) return NULL;
    if (want != SEDX_SUCCESS) {
        if (memcmp(&t, &before, sizeof t) != 0) fail(s, "a refused sedx_transient_alloc wrote *out", "%s", what);
        return NULL;
    }
    s->n_transients++;
    uint64_t ua = usage_alignment(s, usage);
    lg(s, " @%llu", (unsigned long long)t.offset);
    if (!t.buffer || !t.data || t.size != size || t.frame != s->frame_no || t.context_id != ctx_id(s))
        fail(s, "sedx_transient_alloc: bad fields", "buffer 0x%llx data %p size %llu (asked %llu) frame %llu (open %llu) context %u",
             (unsigned long long)(uintptr_t)t.buffer, t.data, (unsigned long long)t.size, (unsigned long long)size,
             (unsigned long long)t.frame, (unsigned long long)s->frame_no, t.context_id);
    if (t.offset % ua || (s->frame_align && t.offset % s->frame_align) || (t.address && t.address % ua) ||
        (t.address && s->frame_align && t.address % s->frame_align)) {
        fail(s, "transient offset not aligned for its usage",
             "%llu bytes %s: offset %llu, address 0x%llx; the usage needs %llu, sedx_frame_stats.alignment %u",
             (unsigned long long)size, usage_str(usage, u, sizeof u), (unsigned long long)t.offset,
             (unsigned long long)t.address, (unsigned long long)ua, s->frame_align);
    }
    /* no overlap with any transient still valid (this frame's and those of frames in flight) */
    for (uint32_t i = 0; i < s->ntrans; ++i) {
        const sedx_transient *o = &s->trans[i]->t;
        const uint8_t *a0 = t.data, *b0 = o->data;
        bool mem = a0 < b0 + o->size && b0 < a0 + t.size;
        bool range = o->buffer == t.buffer && t.offset < o->offset + o->size && o->offset < t.offset + t.size;
        if (mem || range) {
            fail(s, "transient allocations overlap",
                 "new %llu bytes at offset %llu (frame %llu) overlaps %llu bytes at offset %llu of frame %llu (same VkBuffer: %d)",
                 (unsigned long long)t.size, (unsigned long long)t.offset, (unsigned long long)t.frame,
                 (unsigned long long)o->size, (unsigned long long)o->offset, (unsigned long long)o->frame,
                 o->buffer == t.buffer);
            break;
        }
        if (o->buffer == t.buffer && (const uint8_t *)t.data - t.offset != (const uint8_t *)o->data - o->offset) {
            fail(s, "transient data pointers of one block disagree", "offset %llu / %llu", (unsigned long long)t.offset,
                 (unsigned long long)o->offset);
            break;
        }
    }
    strans *x = calloc(1, sizeof *x);
    x->t = t;
    x->copy = malloc(size);
    fill_data(s, x->copy, size);
    memcpy(t.data, x->copy, size);
    s->trans[s->ntrans++] = x;
    return x;
}

static void barrier(VkCommandBuffer cmd, VkPipelineStageFlags src_stage, VkAccessFlags src, VkPipelineStageFlags dst_stage,
                    VkAccessFlags dst)
{
    VkMemoryBarrier mb = {VK_STRUCTURE_TYPE_MEMORY_BARRIER};
    mb.srcAccessMask = src;
    mb.dstAccessMask = dst;
    vkCmdPipelineBarrier(cmd, src_stage, dst_stage, 0, 1, &mb, 0, NULL, 0, NULL);
}

static void op_frame(shadow_seq *s)
{
    if (!s->frames) {
        op_upload(s, false);
        return;
    }
    lg(s, "frame:");
    if (!s->frame) {
        if (!frame_begin(s)) return;
    } else if (pick(s, 40) == 0) {
        sedx_frame *f = (sedx_frame *)(uintptr_t)1;
        tl_expect_errors++;
        sedx_result r = sedx_frame_begin(s->cfg.ctx, &f);
        tl_expect_errors--;
        lg(s, " begin while frame %llu is open", (unsigned long long)s->frame_no);
        expect_rc(s, "sedx_frame_begin with a frame open", r, SEDX_ERROR_BUSY, NULL);
        if (f) fail(s, "a refused sedx_frame_begin did not set *out to NULL", "frame %llu open", (unsigned long long)s->frame_no);
    }
    enum { MAXC = 4 };
    struct { sbuf *b; strans *x; uint64_t so, dof, m; } cp[MAXC];
    uint32_t ncp = 0, k = 1 + (uint32_t)pick(s, MAXC);
    for (uint32_t j = 0; j < k; ++j) {
        strans *x = transient_new(s);
        if (!x || !s->nbufs) continue;
        uint64_t route = pick(s, 20);
        if (route >= 16) continue; /* kept only: checked untouched while its frame is in flight */
        sbuf *b = pick_buf(s, -1);
        uint64_t m = x->t.size < b->size ? x->t.size : b->size;
        if (pick(s, 2)) m = 1 + pick(s, m);
        uint64_t so = pick(s, x->t.size - m + 1), dof = pick(s, b->size - m + 1);
        if (route < 11) { /* a recorded copy in the frame's command buffer */
            cp[ncp].b = b;
            cp[ncp].x = x;
            cp[ncp].so = so;
            cp[ncp].dof = dof;
            cp[ncp++].m = m;
            lg(s, " ->B%u[%llu,+%llu)", b->serial, (unsigned long long)dof, (unsigned long long)m);
        } else if (route < 15) { /* its mapping as an upload's source */
            sref *r = pick_ref(s, b);
            lg(s, " upload B%u.%u[%llu,+%llu) <- transient", b->serial, r->serial, (unsigned long long)dof,
               (unsigned long long)m);
            pin_watch pw = pin_begin();
            sedx_result ur = sedx_upload(s->cfg.ctx, &r->b, dof, m, (const uint8_t *)x->t.data + so);
            if (pin_refused(s, &pw, ur)) {
                sh_unknown(s, b, dof, m);
                b->in_batch = true;
                continue;
            }
            if (expect_rc(s, "sedx_upload (from transient memory)", ur, SEDX_SUCCESS, NULL)) {
                sh_write(s, b, dof, x->copy + so, m);
                b->in_batch = true;
                s->n_frame_uploads++;
            }
        } else { /* the seed's raw copy knows only sedx buffers: a transient block is not one */
            lg(s, " bad: copy_buffer_offsets vk(transient) -> vk(B%u)", b->serial);
            tl_expect_errors++;
            sedx_result cr = sedx_copy_buffer_offsets(s->cfg.ctx, x->t.buffer, x->t.offset + so,
                                                      sedx_buffer_vk(&b->refs[0].b), dof, m);
            tl_expect_errors--;
            if (expect_rc(s, "sedx_copy_buffer_offsets from a transient block", cr, SEDX_ERROR_INVALID_HANDLE, NULL))
                sh_write(s, b, dof, x->copy + so, m); /* it copied after all */
        }
    }
    if (ncp) {
        /* earlier uploads first (the open batch), then the copies: ordered after every earlier
         * submission on this queue by the first barrier, after the transfer queue's by a wait */
        sedx_ticket ut = {0};
        lg(s, " [submit uploads]");
        if (expect_rc(s, "sedx_upload_submit (before a frame's copies)", sedx_upload_submit(s->cfg.ctx, &ut), SEDX_SUCCESS,
                      NULL))
            batch_submitted(s, ut);
        sedx_cmd cmd;
        if (!expect_rc(s, "sedx_cmd_begin", sedx_cmd_begin(s->cfg.ctx, SEDX_QUEUE_GRAPHICS, &cmd), SEDX_SUCCESS, NULL))
            return;
        barrier(cmd.cmd, VK_PIPELINE_STAGE_ALL_COMMANDS_BIT, VK_ACCESS_MEMORY_WRITE_BIT, VK_PIPELINE_STAGE_TRANSFER_BIT,
                VK_ACCESS_TRANSFER_READ_BIT | VK_ACCESS_TRANSFER_WRITE_BIT);
        for (uint32_t j = 0; j < ncp; ++j) {
            if (j)
                barrier(cmd.cmd, VK_PIPELINE_STAGE_TRANSFER_BIT, VK_ACCESS_TRANSFER_WRITE_BIT, VK_PIPELINE_STAGE_TRANSFER_BIT,
                        VK_ACCESS_TRANSFER_READ_BIT | VK_ACCESS_TRANSFER_WRITE_BIT);
            VkBufferCopy c = {cp[j].x->t.offset + cp[j].so, cp[j].dof, cp[j].m};
            vkCmdCopyBuffer(cmd.cmd, cp[j].x->t.buffer, sedx_buffer_vk(&cp[j].b->refs[0].b), 1, &c);
        }
        barrier(cmd.cmd, VK_PIPELINE_STAGE_TRANSFER_BIT, VK_ACCESS_TRANSFER_WRITE_BIT,
                VK_PIPELINE_STAGE_ALL_COMMANDS_BIT | VK_PIPELINE_STAGE_HOST_BIT,
                VK_ACCESS_MEMORY_READ_BIT | VK_ACCESS_MEMORY_WRITE_BIT | VK_ACCESS_HOST_READ_BIT);
        VkSemaphore wait_sem = sedx_context_timeline(s->cfg.ctx, SEDX_QUEUE_TRANSFER);
        uint64_t wait_val = sedx_context_submitted_value(s->cfg.ctx, SEDX_QUEUE_TRANSFER);
        VkPipelineStageFlags wait_stage = VK_PIPELINE_STAGE_ALL_COMMANDS_BIT;
        sedx_submit_info si = {1, &wait_sem, &wait_val, &wait_stage};
        bool other_queue = wait_sem && wait_sem != sedx_context_timeline(s->cfg.ctx, SEDX_QUEUE_GRAPHICS) && wait_val;
        sedx_ticket t = {0};
        if (!expect_rc(s, "sedx_cmd_submit (a frame's copies)", sedx_cmd_submit(s->cfg.ctx, &cmd, other_queue ? &si : NULL, &t),
                       SEDX_SUCCESS, NULL)) {
            if (cmd.cmd) sedx_cmd_discard(s->cfg.ctx, &cmd);
            return;
        }
        lg(s, " [copies %u:%llu]", t.queue, (unsigned long long)t.value);
        for (uint32_t j = 0; j < ncp; ++j) {
            sbuf *b = cp[j].b;
            expect_rc(s, "sedx_buffer_mark_used", sedx_buffer_mark_used(&b->refs[0].b, t), SEDX_SUCCESS, NULL);
            sh_write(s, b, cp[j].dof, cp[j].x->copy + cp[j].so, cp[j].m);
            set_busy(b, t);
        }
        add_ticket(s, t);
        s->frame_ticket = t;
        s->n_frame_copies += ncp;
    }
    trans_check_intact(s, "after this frame's allocations");
    if (pick(s, 2)) frame_end(s, !s->frame_ticket.value || pick(s, 3) == 0);
}

/* ------------------------------------------------------------------------------------------
 * Holding the GPU: a submission waits for a semaphore the host signals after a burst of calls
 * that must not wait (NO_WAIT uploads, copies with tickets, submits, polls, retain/release).
 * Buffers the held GPU still uses cannot take the direct path: NO_WAIT uploads go through the
 * ring until it is full, then OUT_OF_STAGING must leave everything as it was. A watchdog opens
 * the gate after a while and reports the call that blocked. Single-threaded runs only.
 * ---------------------------------------------------------------------------------------- */
typedef struct gate_watch {
    pthread_mutex_t lock;
    pthread_cond_t cond;
    bool done, fired;
    VkDevice dev;
    VkSemaphore sem;
} gate_watch;

static void gate_signal(VkDevice dev, VkSemaphore sem)
{
    VkSemaphoreSignalInfo sig = {VK_STRUCTURE_TYPE_SEMAPHORE_SIGNAL_INFO};
    sig.semaphore = sem;
    sig.value = 1;
    vkSignalSemaphore(dev, &sig);
}

static void *gate_watchdog(void *arg)
{
    gate_watch *w = arg;
    struct timespec until;
    clock_gettime(CLOCK_REALTIME, &until);
    until.tv_sec += 20;
    pthread_mutex_lock(&w->lock);
    while (!w->done)
        if (pthread_cond_timedwait(&w->cond, &w->lock, &until) != 0) break;
    if (!w->done) {
        w->fired = true;
        gate_signal(w->dev, w->sem);
    }
    pthread_mutex_unlock(&w->lock);
    return NULL;
}

static void op_gate(shadow_seq *s)
{
    if (!s->cfg.gate) {
        op_upload(s, true);
        return;
    }
    sedx_context *ctx = s->cfg.ctx;
    VkDevice dev = sedx_context_device(ctx);
    VkSemaphoreTypeCreateInfo type = {VK_STRUCTURE_TYPE_SEMAPHORE_TYPE_CREATE_INFO};
    type.semaphoreType = VK_SEMAPHORE_TYPE_TIMELINE;
    VkSemaphoreCreateInfo sci = {VK_STRUCTURE_TYPE_SEMAPHORE_CREATE_INFO};
    sci.pNext = &type;
    VkSemaphore sem = VK_NULL_HANDLE;
    if (vkCreateSemaphore(dev, &sci, NULL, &sem) != VK_SUCCESS) return;
    sedx_cmd cmd;
    sedx_ticket g = {0};
    if (sedx_cmd_begin(ctx, SEDX_QUEUE_GRAPHICS, &cmd) != SEDX_SUCCESS) {
        vkDestroySemaphore(dev, sem, NULL);
        return;
    }
    uint64_t one = 1;
    VkPipelineStageFlags stage = VK_PIPELINE_STAGE_ALL_COMMANDS_BIT;
    sedx_submit_info si = {1, &sem, &one, &stage};
    if (sedx_cmd_submit(ctx, &cmd, &si, &g) != SEDX_SUCCESS) {
        vkDestroySemaphore(dev, sem, NULL);
        return;
    }
    gate_watch w = {PTHREAD_MUTEX_INITIALIZER, PTHREAD_COND_INITIALIZER, false, false, dev, sem};
    pthread_t watchdog;
    bool watching = pthread_create(&watchdog, NULL, gate_watchdog, &w) == 0;
    uint32_t k = 2 + (uint32_t)pick(s, 11);
    struct { uint32_t serial; uint64_t off, n; } refused[16];
    uint32_t nrefused = 0;
    lg(s, "gate: GPU held (%u:%llu), %u calls that must not wait:", g.queue, (unsigned long long)g.value, k);
    uint32_t held = UINT32_MAX; /* serial of a buffer a held copy writes: uploads into it are staged */
    for (uint32_t j = 0; j < k && s->nbufs; ++j) {
        uint64_t v = pick(s, 11);
        sbuf *b = pick_buf(s, -1);
        if (v < 5 && held != UINT32_MAX && pick(s, 3) && find_serial(s, held)) b = find_serial(s, held);
        sref *r = pick_ref(s, b);
        if (v < 5) { /* NO_WAIT upload */
            uint64_t off, n;
            choose_range(s, b->size, &off, &n);
            if (pick(s, 3) == 0 && b->size > 1024) { n = b->size / (1 + pick(s, 4)); off = pick(s, b->size - n + 1); }
            uint8_t *p = s->src + pick(s, 16);
            fill_data(s, p, n);
            lg(s, " [upload_ex NO_WAIT B%u.%u [%llu,+%llu)", b->serial, r->serial, (unsigned long long)off,
               (unsigned long long)n);
            sedx_result res = sedx_upload_ex(ctx, &r->b, off, n, p, SEDX_UPLOAD_NO_WAIT);
            if (res == SEDX_ERROR_OUT_OF_STAGING) {
                lg(s, " -> OUT_OF_STAGING]");
                s->out_of_staging++;
                if (nrefused < 16) { /* checked after the gate opens: nothing may have been written */
                    refused[nrefused].serial = b->serial;
                    refused[nrefused].off = off;
                    refused[nrefused++].n = n;
                }
                continue;
            }
            char extra[256];
            upload_failed_extra(b, extra, sizeof extra);
            if (expect_rc(s, "sedx_upload_ex NO_WAIT (GPU held)", res, SEDX_SUCCESS, extra)) {
                sh_write(s, b, off, p, n);
                b->in_batch = true;
            }
            lg(s, "]");
        } else if (v < 7) { /* a copy behind the gate: its buffers are in use */
            sbuf *a = pick_buf(s, -1);
            uint64_t so, dof, n;
            if (!copy_ranges(s, a, b, true, &so, &dof, &n)) continue;
            sedx_ticket t = {0};
            lg(s, " [copy B%u[%llu,+%llu) -> B%u[%llu] ticket", a->serial, (unsigned long long)so, (unsigned long long)n,
               b->serial, (unsigned long long)dof);
            if (expect_rc(s, "sedx_copy (GPU held)", sedx_gpu_copy(ctx, &a->refs[0].b, so, &r->b, dof, n, &t), SEDX_SUCCESS,
                          NULL)) {
                sh_copy(s, b, dof, a->bytes + so, a->known + so, n);
                add_ticket(s, t);
                set_busy(a, t);
                set_busy(b, t);
                held = b->serial;
            }
            lg(s, "]");
        } else if (v == 7) {
            sedx_ticket t = {0};
            lg(s, " [upload_submit");
            if (expect_rc(s, "sedx_upload_submit (GPU held)", sedx_upload_submit(ctx, &t), SEDX_SUCCESS, NULL)) add_ticket(s, t);
            lg(s, "]");
        } else if (v == 10) { /* an asynchronous readback: must not wait; its bytes come after the gate */
            if (s->nreq >= MAX_REQ) continue;
            uint64_t off, n, ring = rb_ring_size(s), cap = ring ? ring / 4 : 16384;
            choose_range(s, b->size, &off, &n);
            if (n > cap) n = 1 + pick(s, cap > REQ_MAX_BYTES ? REQ_MAX_BYTES : cap);
            if (!n) n = 1;
            off = pick(s, b->size - n + 1);
            sreq *q = req_new(s, b, off, n, false);
            lg(s, " [async B%u.%u [%llu,+%llu)", b->serial, r->serial, (unsigned long long)off, (unsigned long long)n);
            bool may_be_full = s->nreq || s->cancels_pending;
            if (may_be_full) tl_expect_errors++;
            sedx_result res = sedx_download_async(ctx, &r->b, off, n, &q->req);
            if (may_be_full) tl_expect_errors--;
            if (res == SEDX_SUCCESS) {
                submitted_now(s, q->vals);
                s->reqs[s->nreq++] = q;
                s->n_async++;
                sedx_result pr = sedx_download_poll(ctx, &q->req);
                lg(s, " -> SUCCESS, poll %s]", short_result(pr));
                if (pr == SEDX_NOT_READY) s->not_ready++;
                else if (sedx_context_timeline(ctx, SEDX_QUEUE_TRANSFER) == sedx_context_timeline(ctx, SEDX_QUEUE_GRAPHICS))
                    expect_rc(s, "sedx_download_poll (GPU held)", pr, SEDX_NOT_READY, NULL); /* its queue is held */
            } else {
                req_free(q);
                if (res == SEDX_ERROR_OUT_OF_STAGING && may_be_full) {
                    lg(s, " -> OUT_OF_STAGING]");
                    s->n_async_full++;
                } else {
                    expect_rc(s, "sedx_download_async (GPU held)", res, SEDX_SUCCESS, NULL);
                    lg(s, "]");
                }
            }
        } else if (v == 8 && s->ntickets) {
            sedx_ticket t = s->tickets[pick(s, s->ntickets)];
            sedx_result res = sedx_ticket_poll(ctx, t);
            lg(s, " [poll %llu -> %s]", (unsigned long long)t.value, short_result(res));
            if (res == SEDX_SUCCESS) settle(s, t);
            else if (res != SEDX_NOT_READY) expect_rc(s, "sedx_ticket_poll (GPU held)", res, SEDX_NOT_READY, NULL);
        } else if (b->nrefs > 1 || pick(s, 2)) { /* drop a reference of a buffer the held GPU may use */
            uint32_t ri = (uint32_t)pick(s, b->nrefs);
            uint32_t serial = b->serial;
            sedx_buffer copy = b->refs[ri].b;
            lg(s, " [release B%u.%u (%u refs)]", serial, b->refs[ri].serial, b->nrefs);
            sedx_buffer_release(&b->refs[ri].b);
            add_stale(s, copy, serial);
            b->refs[ri] = b->refs[--b->nrefs];
            if (!b->nrefs) drop_buf(s, b);
        } else if (b->nrefs < MAX_REFS) {
            sedx_buffer n2 = sedx_buffer_retain(&r->b);
            lg(s, " [retain B%u.%u -> B%u.%u]", b->serial, r->serial, b->serial, s->next_ref);
            if (n2.resource) b->refs[b->nrefs++] = (sref){n2, s->next_ref++};
        }
    }
    pthread_mutex_lock(&w.lock);
    w.done = true;
    bool fired = w.fired;
    if (!fired) gate_signal(dev, sem);
    pthread_cond_signal(&w.cond);
    pthread_mutex_unlock(&w.lock);
    if (watching) pthread_join(watchdog, NULL);
    lg(s, " gate opened");
    if (fired)
        fail(s, "deadlock: a call that must not wait blocked while the GPU was held",
             "the watchdog had to open the gate (the blocked call is the last one in this line)");
    expect_rc(s, "sedx_ticket_wait (gate)", sedx_ticket_wait(ctx, g, UINT64_MAX), SEDX_SUCCESS, NULL);
    vkDestroySemaphore(dev, sem, NULL);
    /* what the refused NO_WAIT uploads must not have written, and what the others wrote */
    for (uint32_t i = 0; i < nrefused; ++i) {
        sbuf *b = find_serial(s, refused[i].serial);
        if (b) verify_span(s, b, refused[i].off, refused[i].n, "after OUT_OF_STAGING: nothing written");
    }
    if (s->nbufs && pick(s, 2)) {
        sbuf *b = pick_buf(s, -1);
        verify_range(s, b, 0, b->size, "after the gate");
    }
}

/* ------------------------------------------------------------------------------------------
 * Driver
 * ---------------------------------------------------------------------------------------- */
static uint32_t find_memory_type(sedx_context *ctx, uint32_t bits, VkMemoryPropertyFlags want)
{
    const VkPhysicalDeviceMemoryProperties *mp = sedx_context_memory_properties(ctx);
    for (uint32_t i = 0; i < mp->memoryTypeCount; ++i)
        if ((bits & (1u << i)) && (mp->memoryTypes[i].propertyFlags & want) == want) return i;
    for (uint32_t i = 0; i < mp->memoryTypeCount; ++i)
        if (bits & (1u << i)) return i;
    return 0;
}

shadow_seq *shadow_seq_create(const shadow_config *cfg)
{
    shadow_seq *s = calloc(1, sizeof *s);
    s->cfg = *cfg;
    if (!s->cfg.max_size) s->cfg.max_size = 4u << 20;
    if (!s->cfg.max_live_bytes) s->cfg.max_live_bytes = 48u << 20;
    if (!s->cfg.max_buffers || s->cfg.max_buffers > MAX_BUFS) s->cfg.max_buffers = 40;
    if (!s->cfg.mode) s->cfg.mode = "?";
    s->rng = cfg->seed ? cfg->seed : 1;
    s->data_rng = (cfg->seed ? cfg->seed : 1) ^ 0x9E3779B97F4A7C15ull;
    if (cfg->bytes) {
        uint64_t h = 1469598103934665603ull;
        for (size_t i = 0; i < cfg->byte_count; ++i) h = (h ^ cfg->bytes[i]) * 1099511628211ull;
        s->data_rng = h ? h : 1;
        s->in = cfg->bytes;
        s->in_left = cfg->byte_count;
    }
    s->src_cap = 2 * s->cfg.max_size + 64;
    s->dst_cap = 2 * s->cfg.max_size + 16 * GUARD;
    s->src = malloc(s->src_cap);
    s->dst = malloc(s->dst_cap);
    s->tmp = malloc(s->cfg.max_size + 64);
    s->tmpk = malloc(s->cfg.max_size + 64);
    s->history_cap = cfg->bytes ? 512u : 4096u;
    s->history = calloc(s->history_cap, sizeof *s->history);
    for (int i = 0; i < OP_COUNT; ++i)
        if (!(s->cfg.disabled_ops & (1ull << i))) s->total_weight += g_op_weights[i];
    if (!s->total_weight) s->total_weight = 1;
    /* a VkBuffer sedx did not create, with memory bound (a refused copy must not touch it; one
     * that is not refused stays a valid Vulkan call) */
    VkDevice dev = sedx_context_device(cfg->ctx);
    VkBufferCreateInfo bci = {VK_STRUCTURE_TYPE_BUFFER_CREATE_INFO};
    bci.size = 4096;
    bci.usage = VK_BUFFER_USAGE_TRANSFER_SRC_BIT | VK_BUFFER_USAGE_TRANSFER_DST_BIT;
    if (vkCreateBuffer(dev, &bci, NULL, &s->foreign) == VK_SUCCESS) {
        VkMemoryRequirements req;
        vkGetBufferMemoryRequirements(dev, s->foreign, &req);
        VkMemoryAllocateInfo mai = {VK_STRUCTURE_TYPE_MEMORY_ALLOCATE_INFO};
        mai.allocationSize = req.size;
        mai.memoryTypeIndex = find_memory_type(cfg->ctx, req.memoryTypeBits, VK_MEMORY_PROPERTY_DEVICE_LOCAL_BIT);
        if (vkAllocateMemory(dev, &mai, NULL, &s->foreign_mem) != VK_SUCCESS ||
            vkBindBufferMemory(dev, s->foreign, s->foreign_mem, 0) != VK_SUCCESS) {
            vkDestroyBuffer(dev, s->foreign, NULL);
            if (s->foreign_mem) vkFreeMemory(dev, s->foreign_mem, NULL);
            s->foreign = VK_NULL_HANDLE;
            s->foreign_mem = VK_NULL_HANDLE;
        }
    }
    if (!cfg->no_frames) { /* frames in flight 1..4 (refused as BUSY once the context has begun a frame) */
        sedx_frame_info fi = {0};
        uint32_t h = 2166136261u; /* FNV-1a of the mode: the four modes of one seed get 1..4 frames in flight */
        for (const char *m = s->cfg.mode; *m; ++m) h = (h ^ (uint8_t)*m) * 16777619u;
        fi.frames_in_flight = 1 + (uint32_t)((pick(s, SEDX_MAX_FRAMES_IN_FLIGHT) + (h >> 12)) % SEDX_MAX_FRAMES_IN_FLIGHT);
        fi.block_size = cfg->frame_block_size;
        sedx_result r = sedx_frames_configure(cfg->ctx, &fi);
        sedx_frame_stats fs;
        if ((r == SEDX_SUCCESS || r == SEDX_ERROR_BUSY) && sedx_frame_get_stats(cfg->ctx, &fs) == SEDX_SUCCESS) {
            s->frames = true;
            s->fif = fs.frames_in_flight;
            s->frame_align = fs.alignment;
            s->block_size = fs.block_size;
        } else {
            fprintf(stderr, "sequence %s: sedx_frames_configure: %s (frame ops left out)\n", s->cfg.mode, sedx_result_name(r));
            s->failures++;
        }
    }
    if (cfg->other_ctx &&
        sedx_buffer_create(cfg->other_ctx, 4096, SEDX_BUFFER_USAGE_STORAGE | TD, SEDX_MEMORY_GPU, "other context",
                           &s->other_buf) != SEDX_SUCCESS)
        memset(&s->other_buf, 0, sizeof s->other_buf);
    return s;
}

static void run_op(shadow_seq *s, int op)
{
    switch (op) {
    case OP_create:
    case OP_create_ex:
    case OP_create_staging:
    case OP_create_with_data: op_create(s, op); break;
    case OP_write: op_write(s); break;
    case OP_read: op_read(s); break;
    case OP_data_check: op_data(s, false); break;
    case OP_data_write: op_data(s, true); break;
    case OP_write_self: op_self_access(s, true); break;
    case OP_read_self: op_self_access(s, false); break;
    case OP_upload: op_upload(s, false); break;
    case OP_upload_ex: op_upload(s, true); break;
    case OP_upload_from_mapping: op_upload_from_mapping(s); break;
    case OP_upload_self: op_upload_self(s); break;
    case OP_upload_batch: op_upload_batch(s, false); break;
    case OP_upload_batch_bad: op_upload_batch(s, true); break;
    case OP_upload_submit: op_upload_submit(s); break;
    case OP_upload_flush: op_upload_flush(s); break;
    case OP_download: op_download(s); break;
    case OP_download_to_mapping: op_download_to_mapping(s); break;
    case OP_download_self: op_download_self(s); break;
    case OP_download_batch: op_download_batch(s, false); break;
    case OP_download_batch_bad: op_download_batch(s, true); break;
    case OP_copy: op_copy(s); break;
    case OP_copy_buffer: op_copy_raw(s, false); break;
    case OP_copy_buffer_offsets: op_copy_raw(s, true); break;
    case OP_upload_release: op_upload_release(s); break;
    case OP_retain: op_retain(s); break;
    case OP_release: op_release(s); break;
    case OP_stale_copy: op_stale_copy(s); break;
    case OP_ticket_wait: op_ticket(s, true); break;
    case OP_ticket_poll: op_ticket(s, false); break;
    case OP_wait_idle: op_wait_idle(s); break;
    case OP_bad: op_bad(s); break;
    case OP_bad_raw:
        if (s->nbufs) bad_raw_copy(s);
        break;
    case OP_bad_stale:
        if (s->nbufs && s->nstale) bad_stale(s);
        break;
    case OP_verify: op_verify(s); break;
    case OP_shared: op_shared(s, false); break;
    case OP_shared_stale: op_shared(s, true); break;
    case OP_gate: op_gate(s); break;
    case OP_frame: op_frame(s); break;
    case OP_reserve: op_reserve(s); break;
    case OP_reserve_done: op_reserve_done(s, true); break;
    case OP_async: op_async(s); break;
    case OP_async_take: op_async_take(s); break;
    default: break;
    }
}

static void end_line(shadow_seq *s)
{
    snprintf(s->history[s->history_count % HISTORY], LINE, "%s", s->cur);
    s->history_count++;
    if (s->cfg.trace) {
        pthread_mutex_lock(&g_print_lock);
        if (s->cfg.thread >= 0) fprintf(stderr, "[t%d] %s\n", s->cfg.thread, s->cur);
        else fprintf(stderr, "%s\n", s->cur);
        pthread_mutex_unlock(&g_print_lock);
    }
}

bool shadow_seq_step(shadow_seq *s)
{
    if (s->cfg.bytes && !s->in_left) return false;
    s->op = s->history_count;
    s->cur_len = 0;
    s->cur[0] = '\0';
    lg(s, "#%u ", s->op);
    int op = OP_create;
    if (s->nbufs < 3 && pick(s, 2)) { /* keep a few buffers around */
        op = pick(s, 2) ? OP_create : OP_create_ex;
    } else {
        uint64_t w = pick(s, s->total_weight);
        for (int i = 0; i < OP_COUNT; ++i) {
            if (s->cfg.disabled_ops & (1ull << i)) continue;
            if (w < g_op_weights[i]) {
                op = i;
                break;
            }
            w -= g_op_weights[i];
        }
    }
    if (s->cfg.trace) { /* the start too: a crash inside the operation leaves this line */
        pthread_mutex_lock(&g_print_lock);
        if (s->cfg.thread >= 0) fprintf(stderr, "[t%d] #%u %s ...\n", s->cfg.thread, s->op, g_op_names[op]);
        else fprintf(stderr, "#%u %s ...\n", s->op, g_op_names[op]);
        pthread_mutex_unlock(&g_print_lock);
    }
    uint32_t failures = s->failures;
    s->op_calls[op]++;
    size_t len = s->cur_len;
    run_op(s, op);
    if (s->cur_len == len) lg(s, "%s (skipped: no suitable buffer)", g_op_names[op]);
    if (s->failures != failures) s->op_errors[op]++;
    end_line(s);
    s->ops_done++;
    return !(s->cfg.bytes && s->exhausted && !s->in_left);
}

void shadow_seq_finish(shadow_seq *s)
{
    s->op = s->history_count;
    s->cur_len = 0;
    lg(s, "#%u finish: every live buffer downloaded whole and compared, then released", s->op);
    while (s->nresv) { /* commit what can be, cancel the rest */
        sresv *v = s->resv[s->nresv - 1];
        sbuf *b = find_serial(s, v->buf_serial);
        bool alive = false;
        for (uint32_t k = 0; b && k < b->nrefs; ++k) alive = alive || b->refs[k].serial == v->ref_serial;
        resv_resolve(s, s->nresv - 1, alive);
    }
    if (s->frame) frame_end(s, true);
    async_finish(s);
    for (uint32_t i = 0; i < s->nbufs; ++i) {
        sbuf *b = s->bufs[i];
        verify_range(s, b, 0, b->size, "final download");
        if (b->cpu) {
            host_safe(s, b);
            check_bytes(s, b, 0, b->data, b->size, "final data pointer");
        }
    }
    while (s->nbufs) {
        sbuf *b = s->bufs[s->nbufs - 1];
        while (b->nrefs) sedx_buffer_release(&b->refs[--b->nrefs].b);
        drop_buf(s, b);
    }
    expect_rc(s, "sedx_context_wait_idle", sedx_context_wait_idle(s->cfg.ctx), SEDX_SUCCESS, NULL);
    end_line(s);
    s->nstale = 0;
    s->ntickets = 0;
    while (s->ntrans) trans_drop(s, s->ntrans - 1);
}

uint32_t shadow_seq_failures(const shadow_seq *s) { return s->failures; }
uint32_t shadow_seq_ops(const shadow_seq *s) { return s->ops_done; }

void shadow_seq_print_stats(const shadow_seq *s)
{
    pthread_mutex_lock(&g_print_lock);
    fprintf(stderr, "sequence %s%s: %u operations, %u failures (%u OUT_OF_STAGING, %u NOT_READY polls%s)\n", s->cfg.mode,
            s->cfg.thread >= 0 ? " (one thread)" : "", s->ops_done, s->failures, s->out_of_staging, s->not_ready,
            s->ignored ? ", some failures ignored: SEDX_SEQ_IGNORE" : "");
    fprintf(stderr, "  ops:");
    for (int i = 0; i < OP_COUNT; ++i) fprintf(stderr, " %s %u%s", g_op_names[i], s->op_calls[i], i + 1 < OP_COUNT ? "," : "\n");
    fprintf(stderr,
            "  frames: %llu begun (%u in flight, alignment %u), %llu transient allocations, %llu recorded copies, %llu uploads "
            "from transient memory\n"
            "  reservations: %llu reserved, %llu committed, %llu cancelled, %llu refused for room; %llu uploads refused while "
            "reservations held the ring\n"
            "  async readback: %llu requests (%llu batches), %llu results, %llu cancelled, %llu callbacks, %llu refused "
            "(ring full)\n",
            (unsigned long long)s->n_frames, s->fif, s->frame_align, (unsigned long long)s->n_transients,
            (unsigned long long)s->n_frame_copies, (unsigned long long)s->n_frame_uploads, (unsigned long long)s->n_resv,
            (unsigned long long)s->n_commits, (unsigned long long)s->n_cancels, (unsigned long long)s->n_resv_refused,
            (unsigned long long)s->n_pin_refusals, (unsigned long long)s->n_async, (unsigned long long)s->n_async_batches,
            (unsigned long long)s->n_results, (unsigned long long)s->n_async_cancels, (unsigned long long)s->n_callbacks,
            (unsigned long long)s->n_async_full);
    if (s->ncats) fprintf(stderr, "  failures by kind:\n");
    for (uint32_t i = 0; i < s->ncats; ++i)
        fprintf(stderr, "    %5u x [%s] (first at op #%u)\n", s->cats[i].count, s->cats[i].name, s->cats[i].first_op);
    uint32_t dropped = atomic_load(&g_dropped_logs);
    if (dropped) fprintf(stderr, "  (%u more sedx log lines not printed)\n", dropped);
    pthread_mutex_unlock(&g_print_lock);
}

void shadow_seq_destroy(shadow_seq *s)
{
    if (!s) return;
    while (s->nresv) { /* not finished: give the space and the references back */
        sedx_upload_cancel(s->cfg.ctx, &s->resv[s->nresv - 1]->rv);
        resv_drop(s, s->nresv - 1);
    }
    while (s->nreq) {
        sreq *q = s->reqs[s->nreq - 1];
        if (q->cb) { /* its callback may still run: leaked on purpose */
            s->nreq--;
            continue;
        }
        sedx_download_cancel(s->cfg.ctx, &q->req);
        req_drop(s, s->nreq - 1);
    }
    if (s->frame) sedx_frame_end(s->cfg.ctx, s->frame, (sedx_ticket){0});
    while (s->ntrans) trans_drop(s, s->ntrans - 1);
    while (s->nbufs) {
        sbuf *b = s->bufs[s->nbufs - 1];
        while (b->nrefs) sedx_buffer_release(&b->refs[--b->nrefs].b);
        drop_buf(s, b);
    }
    if (s->other_buf.resource) sedx_buffer_release(&s->other_buf);
    VkDevice dev = sedx_context_device(s->cfg.ctx);
    if (s->foreign) {
        sedx_context_wait_idle(s->cfg.ctx);
        vkDestroyBuffer(dev, s->foreign, NULL);
        vkFreeMemory(dev, s->foreign_mem, NULL);
    }
    free(s->src);
    free(s->dst);
    free(s->tmp);
    free(s->tmpk);
    free(s->history);
    free(s);
}

uint64_t shadow_parse_disabled(const char *list)
{
    uint64_t bits = 0;
    if (!list) return 0;
    char buf[1024];
    snprintf(buf, sizeof buf, "%s", list);
    for (char *save = NULL, *t = strtok_r(buf, ", ", &save); t; t = strtok_r(NULL, ", ", &save)) {
        int found = -1;
        for (int i = 0; i < OP_COUNT; ++i)
            if (strcmp(g_op_names[i], t) == 0) found = i;
        if (found < 0) fprintf(stderr, "SEDX_SEQ_DISABLE: unknown op '%s'\n", t);
        else bits |= 1ull << found;
    }
    return bits;
}

/* ------------------------------------------------------------------------------------------
 * Shared read-only buffers
 * ---------------------------------------------------------------------------------------- */
uint32_t shadow_shared_create(sedx_context *ctx, shadow_shared *sh, uint64_t seed, uint64_t max_size)
{
    static const struct { uint64_t size; bool cpu; sedx_buffer_usage_flags usage; } spec[] = {
        {1, false, SEDX_BUFFER_USAGE_STORAGE},        {4097, true, SEDX_BUFFER_USAGE_UNIFORM},
        {65537, false, SEDX_BUFFER_USAGE_VERTEX},     {200003, true, SEDX_BUFFER_USAGE_STORAGE},
        {1u << 20, false, SEDX_BUFFER_USAGE_INDEX},   {333, true, SEDX_BUFFER_USAGE_INDIRECT}};
    uint32_t failures = 0;
    uint64_t rng = seed ^ 0x5157A7EDull;
    memset(sh, 0, sizeof *sh);
    for (uint32_t i = 0; i < sizeof spec / sizeof spec[0]; ++i) {
        uint64_t size = spec[i].size < max_size ? spec[i].size : max_size;
        uint8_t *bytes = malloc(size);
        for (uint64_t k = 0; k < size; ++k) {
            uint8_t v = (uint8_t)xorshift(&rng);
            bytes[k] = v ? v : 0x77;
        }
        char name[32];
        snprintf(name, sizeof name, "shared S%u", i);
        sedx_buffer b;
        sedx_result r = sedx_buffer_create_with_data(ctx, size, spec[i].usage, spec[i].cpu ? SEDX_MEMORY_CPU : SEDX_MEMORY_GPU,
                                                     name, bytes, &b);
        if (r != SEDX_SUCCESS) {
            fprintf(stderr, "shared buffer %u: sedx_buffer_create_with_data: %s\n", i, sedx_result_name(r));
            failures++;
            free(bytes);
            continue;
        }
        uint32_t k = sh->count++;
        sh->b[k].ref = b;
        sh->b[k].bytes = bytes;
        sh->b[k].size = size;
        sh->b[k].cpu = spec[i].cpu;
        atomic_init(&sh->b[k].dead, false);
    }
    return failures;
}

uint32_t shadow_shared_finish(sedx_context *ctx, shadow_shared *sh)
{
    uint32_t failures = 0;
    for (uint32_t i = 0; i < sh->count; ++i) {
        if (!atomic_load(&sh->b[i].dead)) {
            uint8_t *got = malloc(sh->b[i].size);
            sedx_result r = sedx_download(ctx, &sh->b[i].ref, 0, sh->b[i].size, got);
            if (r != SEDX_SUCCESS || memcmp(got, sh->b[i].bytes, sh->b[i].size) != 0) {
                fprintf(stderr, "SEQUENCE FAILURE [shared read-only buffer changed] S%u: download %s, contents %s\n", i,
                        sedx_result_name(r), r == SEDX_SUCCESS ? "differ" : "-");
                failures++;
            }
            free(got);
            sedx_buffer_release(&sh->b[i].ref);
        }
        free(sh->b[i].bytes);
    }
    sh->count = 0;
    return failures;
}
