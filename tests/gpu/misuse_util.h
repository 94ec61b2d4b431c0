/* The misuse catalog's harness, shared by tests/gpu/misuse*.c (docs/errors.md lists every case).
 *
 * A case is one explicit call with one bad input, written as a row:
 *
 *     MIS_RC("sedx_buffer_write", "NULL src", SEDX_ERROR_INVALID_ARGUMENT, "src is NULL",
 *            sedx_buffer_write(&b, NULL, 16, 0));
 *
 * and checks
 *   (1) the exact result (MIS_VAL: the exact value, for calls that return no sedx_result),
 *   (2) the log: an ERROR line was emitted and some captured line contains the needle
 *       ("" = any ERROR line; LOG_NONE: no ERROR line at all; LOG_WARN(needle): a WARN or
 *       ERROR line; LOG_ANY: not checked),
 *   (3) no validation message on the watched contexts: the refusal came before Vulkan.
 * A failing case is printed ("MISUSE FAIL file:line | function | input | why") and counted,
 * never fatal, so one run lists every failing case. What a case must leave intact (bytes,
 * out-parameters) is checked next to it with MIS_TRUE. A group ends with mis_roundtrip() on
 * its context (create + sedx_upload + sedx_download of random bytes) and mis_end(), which fails
 * the cmocka test if any case of the group failed.
 *
 * mis_main() runs every test function in a child process of its own (with a time limit), so a
 * case that crashes or hangs the current tree fails its group only. */
#ifndef SEDX_MISUSE_UTIL_H
#define SEDX_MISUSE_UTIL_H

#include "test_util.h"

#include <signal.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/wait.h>
#include <unistd.h>

#define LOG_NONE ((const char *)0)
static const char mis_log_any[] __attribute__((unused)) = "<not checked>";
#define LOG_ANY mis_log_any
static const char mis_warn_prefix[] __attribute__((unused)) = "\x01warn:";
/* A WARN or ERROR line containing needle (for outcomes that are not programming errors). */
#define LOG_WARN(needle) ("\x01warn:" needle)

#define MIS_MAX_WATCH 4
#define MIS_FN static __attribute__((unused))

static __attribute__((unused)) struct {
    sedx_context *watch[MIS_MAX_WATCH];
    uint32_t vk_before[MIS_MAX_WATCH];
    int cases, failed, skipped;
    uint64_t rng;
} g_mis;

/* Shared with mis_main's parent: the case a child is in, and whether it reached mis_end. */
typedef struct mis_shared {
    int done;
    char current[400];
} mis_shared;
static mis_shared *g_mis_shared;

MIS_FN uint32_t mis_vk_count(sedx_context *ctx)
{
    return sedx_context_validation_error_count(ctx) + sedx_context_validation_warning_count(ctx);
}

/* Watched contexts: every case checks that they got no new validation message. */
MIS_FN void mis_watch(sedx_context *ctx)
{
    for (int i = 0; i < MIS_MAX_WATCH; ++i)
        if (!g_mis.watch[i]) {
            g_mis.watch[i] = ctx;
            return;
        }
}

MIS_FN void mis_unwatch(sedx_context *ctx)
{
    for (int i = 0; i < MIS_MAX_WATCH; ++i)
        if (g_mis.watch[i] == ctx) g_mis.watch[i] = NULL;
}

MIS_FN void mis_pre(void)
{
    tu_log_reset();
    for (int i = 0; i < MIS_MAX_WATCH; ++i)
        if (g_mis.watch[i]) g_mis.vk_before[i] = mis_vk_count(g_mis.watch[i]);
}

MIS_FN void mis_report(const char *file, int line, const char *fn, const char *input, const char *why)
{
    const char *base = strrchr(file, '/');
    printf("MISUSE FAIL %s:%d | %s | %s | %s\n", base ? base + 1 : file, line, fn, input, why);
    fflush(stdout);
    g_mis.failed++;
}

/* Log and validation part of a case; returns false (and reports) when something is off. */
MIS_FN bool mis_post(const char *file, int line, const char *fn, const char *input, const char *log, bool *failed)
{
    char why[320];
    bool ok = true;
    if (log == LOG_NONE) {
        if (tu_log_count(SEDX_LOG_ERROR) != 0) {
            mis_report(file, line, fn, input, "an ERROR line was logged for a call that should be silent");
            ok = false;
        }
    } else if (log != mis_log_any) {
        bool warn = strncmp(log, mis_warn_prefix, sizeof mis_warn_prefix - 1) == 0;
        const char *needle = warn ? log + sizeof mis_warn_prefix - 1 : log;
        uint32_t lines = tu_log_count(SEDX_LOG_ERROR) + (warn ? tu_log_count(SEDX_LOG_WARN) : 0);
        if (lines == 0 || !tu_log_contains(needle)) {
            snprintf(why, sizeof why, "no %s line %s'%s'", warn ? "WARN/ERROR" : "ERROR",
                     lines ? "containing " : "at all (wanted one containing) ", needle);
            mis_report(file, line, fn, input, why);
            ok = false;
        }
    }
    for (int i = 0; i < MIS_MAX_WATCH; ++i) {
        if (!g_mis.watch[i]) continue;
        uint32_t now = mis_vk_count(g_mis.watch[i]);
        if (now != g_mis.vk_before[i]) {
            snprintf(why, sizeof why, "%u validation message(s): the bad input reached Vulkan", now - g_mis.vk_before[i]);
            mis_report(file, line, fn, input, why);
            ok = false;
        }
    }
    if (!ok) *failed = true;
    return ok;
}

/* MISUSE_LIST=1: every case is printed as a row (docs/errors.md is made from these rows). */
MIS_FN void mis_list(const char *file, const char *fn, const char *input, const char *expected, const char *log)
{
    static int on = -1;
    const char *base = strrchr(file, '/');
    if (g_mis_shared)
        snprintf(g_mis_shared->current, sizeof g_mis_shared->current, "%s | %s | %s", base ? base + 1 : file, fn,
                 input);
    if (on < 0) on = getenv("MISUSE_LIST") && *getenv("MISUSE_LIST") == '1';
    if (!on) return;
    char logs[200];
    if (log == LOG_NONE) snprintf(logs, sizeof logs, "none (no ERROR line)");
    else if (log == mis_log_any) snprintf(logs, sizeof logs, "not checked");
    else if (strncmp(log, mis_warn_prefix, sizeof mis_warn_prefix - 1) == 0)
        snprintf(logs, sizeof logs, "WARN \"%s\"", log + sizeof mis_warn_prefix - 1);
    else snprintf(logs, sizeof logs, "ERROR \"%s\"", log);
    printf("MISUSE CASE\t%s\t%s\t%s\t%s\t%s\n", base ? base + 1 : file, fn, input, expected, logs);
    fflush(stdout); /* before the call: a case that crashes is listed too */
}

MIS_FN sedx_result mis_rc(const char *file, int line, const char *fn, const char *input, sedx_result expected,
                          const char *log, sedx_result got)
{
    bool failed = false;
    g_mis.cases++;
    if (got != expected) {
        char why[200];
        snprintf(why, sizeof why, "expected %s, got %s", sedx_result_name(expected), sedx_result_name(got));
        mis_report(file, line, fn, input, why);
        failed = true;
    }
    mis_post(file, line, fn, input, log, &failed);
    return got;
}

MIS_FN uint64_t mis_val(const char *file, int line, const char *fn, const char *input, uint64_t expected,
                        const char *log, uint64_t got)
{
    bool failed = false;
    g_mis.cases++;
    if (got != expected) {
        char why[200];
        snprintf(why, sizeof why, "expected 0x%llx, got 0x%llx", (unsigned long long)expected,
                 (unsigned long long)got);
        mis_report(file, line, fn, input, why);
        failed = true;
    }
    mis_post(file, line, fn, input, log, &failed);
    return got;
}

MIS_FN const char *mis_str(const char *file, int line, const char *fn, const char *input, const char *expected,
                           const char *log, const char *got)
{
    bool failed = false;
    g_mis.cases++;
    if (!got || strcmp(got, expected) != 0) {
        char why[200];
        snprintf(why, sizeof why, "expected \"%s\", got %s%s%s", expected, got ? "\"" : "", got ? got : "NULL",
                 got ? "\"" : "");
        mis_report(file, line, fn, input, why);
        failed = true;
    }
    mis_post(file, line, fn, input, log, &failed);
    return got;
}

MIS_FN void mis_void(const char *file, int line, const char *fn, const char *input, const char *log)
{
    bool failed = false;
    g_mis.cases++;
    mis_post(file, line, fn, input, log, &failed);
}

MIS_FN bool mis_true(const char *file, int line, const char *fn, const char *input, const char *what, bool cond)
{
    if (!cond) {
        char why[240];
        snprintf(why, sizeof why, "not intact / not as expected: %s", what);
        mis_report(file, line, fn, input, why);
    }
    return cond;
}

/* One case: fn and input name the row; call is evaluated once, after the log is reset. */
#define MIS_RC(fn, input, expected, log, call)                                                     \
    mis_rc(__FILE__, __LINE__, fn, input, (expected), log,                                         \
           (mis_list(__FILE__, fn, input, sedx_result_name(expected), log), mis_pre(), (sedx_result)(call)))
/* A case for a call that returns a value other than sedx_result (compared as uint64_t). */
#define MIS_VAL(fn, input, expected, log, expr) \
    mis_val(__FILE__, __LINE__, fn, input, (uint64_t)(expected), log,                              \
            (mis_list(__FILE__, fn, input, #expected, log), mis_pre(), (uint64_t)(expr)))
#define MIS_PTR(fn, input, expected, log, expr) \
    mis_val(__FILE__, __LINE__, fn, input, (uint64_t)(uintptr_t)(expected), log,                   \
            (mis_list(__FILE__, fn, input, #expected, log), mis_pre(), (uint64_t)(uintptr_t)(expr)))
/* A case for a call that returns a string. */
#define MIS_STR(fn, input, expected, log, expr) \
    mis_str(__FILE__, __LINE__, fn, input, expected, log, (mis_list(__FILE__, fn, input, "\"" expected "\"", log), mis_pre(), (expr)))
/* A case for a call without a result: only the log and validation are checked. */
#define MIS_VOID(fn, input, log, stmt) \
    do {                                                                                           \
        mis_list(__FILE__, fn, input, "(no result)", log);                                         \
        mis_pre();                                                                                 \
        stmt;                                                                                      \
        mis_void(__FILE__, __LINE__, fn, input, log);                                              \
    } while (0)
/* What the previous case must have left as it was (bytes, out-parameters, state). */
#define MIS_TRUE(fn, input, what, cond) mis_true(__FILE__, __LINE__, fn, input, what, (cond))
#define MIS_SKIP(fn, input, why) \
    do { printf("MISUSE SKIP %s | %s | %s\n", fn, input, why); g_mis.skipped++; } while (0)

/* Sentinels for out-parameters that must not be written on failure. */
#define MIS_SENTINEL_U64 0x5E17E15E17E15E17ull
#define MIS_SENTINEL_PTR ((void *)(uintptr_t)0x5E17E150u)

MIS_FN bool mis_all(const void *p, int byte, size_t n)
{
    const unsigned char *c = p;
    for (size_t i = 0; i < n; ++i)
        if (c[i] != (unsigned char)byte) return false;
    return true;
}

MIS_FN void mis_begin(void)
{
    /* a crash ends the child with its signal (cmocka would turn it into a plain failure), so
     * mis_main can say which case it was */
    signal(SIGSEGV, SIG_DFL);
    signal(SIGBUS, SIG_DFL);
    signal(SIGILL, SIG_DFL);
    signal(SIGFPE, SIG_DFL);
    memset(&g_mis, 0, sizeof g_mis);
    g_mis.rng = tu_seed() ^ 0x3157u;
    tu_log_capture();
}

/* The context still works: a buffer of each memory kind gets random bytes through sedx_upload and
 * gives them back through sedx_download. */
MIS_FN void mis_roundtrip_(const char *file, int line, sedx_context *ctx, const char *after)
{
    static const sedx_memory_flags kinds[2] = {SEDX_MEMORY_GPU, SEDX_MEMORY_CPU};
    for (int k = 0; k < 2; ++k) {
        uint64_t size = 4096 + tu_rand(&g_mis.rng) % 8192;
        uint8_t *in = malloc(size), *out = malloc(size);
        tu_fill_random(in, size, &g_mis.rng);
        memset(out, 0, size);
        sedx_buffer b = {0};
        char why[160];
        sedx_result r = sedx_buffer_create(ctx, size, SEDX_BUFFER_USAGE_STORAGE | SEDX_BUFFER_USAGE_TRANSFER_DST,
                                           kinds[k], "misuse round trip", &b);
        if (r == SEDX_SUCCESS) r = sedx_upload(ctx, &b, 0, size, in);
        if (r == SEDX_SUCCESS) r = sedx_download(ctx, &b, 0, size, out);
        if (r != SEDX_SUCCESS || memcmp(in, out, size) != 0) {
            snprintf(why, sizeof why, "round trip (%s memory) after the group: %s%s", k ? "CPU" : "GPU",
                     sedx_result_name(r), r == SEDX_SUCCESS ? ", bytes differ" : "");
            mis_report(file, line, "context", after, why);
        }
        sedx_buffer_release(&b);
        free(in);
        free(out);
    }
}
#define mis_roundtrip(ctx, after) mis_roundtrip_(__FILE__, __LINE__, ctx, after)

/* Destroys a context of a group; a validation message at any point is a failure. */
MIS_FN void mis_context_destroy_(const char *file, int line, sedx_context *ctx)
{
    if (!ctx) return;
    mis_unwatch(ctx);
    uint32_t n = mis_vk_count(ctx);
    if (n) {
        char why[100];
        snprintf(why, sizeof why, "%u validation message(s) over the group", n);
        mis_report(file, line, "context", "end of group", why);
    }
    sedx_context_destroy(ctx);
}
#define mis_context_destroy(ctx) mis_context_destroy_(__FILE__, __LINE__, ctx)

/* A watched context on the default device with validation on. */
MIS_FN sedx_context *mis_context(uint32_t flags, const sedx_allocator_info *alloc)
{
    sedx_context *ctx = tu_context_flags(flags, alloc);
    mis_watch(ctx);
    return ctx;
}

MIS_FN void mis_end(const char *group)
{
    printf("misuse %s: %d cases, %d failed%s\n", group, g_mis.cases, g_mis.failed,
           g_mis.skipped ? " (some skipped: see MISUSE SKIP)" : "");
    fflush(stdout);
    sedx_set_logger(NULL, NULL);
    sedx_set_log_level(SEDX_LOG_WARN);
    if (g_mis_shared) g_mis_shared->done = 1;
    assert_int_equal(g_mis.failed, 0);
}

/* Every test function in a child process of its own, one after the other. */
MIS_FN int mis_main(const struct CMUnitTest *tests, size_t count)
{
    int failed = 0;
    const char *only = getenv("MISUSE_ONLY"); /* run one test by name (debugging) */
    void *shared = mmap(NULL, sizeof(mis_shared), PROT_READ | PROT_WRITE, MAP_SHARED | MAP_ANONYMOUS, -1, 0);
    g_mis_shared = shared == MAP_FAILED ? NULL : shared;
    for (size_t i = 0; i < count; ++i) {
        if (only && *only && strcmp(only, tests[i].name) != 0) continue;
        fflush(stdout);
        fflush(stderr);
        if (g_mis_shared) memset(g_mis_shared, 0, sizeof *g_mis_shared);
        pid_t pid = fork();
        if (pid < 0) {
            perror("fork");
            return 1;
        }
        if (pid == 0) {
            alarm(240);
            int r = _cmocka_run_group_tests(tests[i].name, &tests[i], 1, NULL, NULL);
            fflush(stdout);
            exit(r ? 1 : 0); /* exit, not _exit: LeakSanitizer checks the child at exit */
        }
        int status = 0;
        while (waitpid(pid, &status, 0) < 0) {
        }
        bool done = g_mis_shared && g_mis_shared->done;
        if (WIFSIGNALED(status) || (WEXITSTATUS(status) != 0 && !done)) {
            char how[64];
            if (WIFSIGNALED(status))
                snprintf(how, sizeof how, "killed by signal %d%s", WTERMSIG(status),
                         WTERMSIG(status) == SIGALRM ? " (hung)" : "");
            else
                snprintf(how, sizeof how, "exit status %d before the end", WEXITSTATUS(status));
            printf("MISUSE FAIL %s | %s | %s in this case; the test's later cases did not run\n", tests[i].name,
                   g_mis_shared && g_mis_shared->current[0] ? g_mis_shared->current : "(before the first case)", how);
            failed++;
        } else if (WEXITSTATUS(status) != 0) {
            failed++;
        }
    }
    printf("misuse: %d of %zu test function(s) failed\n", failed, count);
    return failed ? 1 : 0;
}

/* ------------------------------------------------------------------------------------------
 * Open bugs: a row whose fix belongs to code the catalog's author could not change yet. The row
 * is written as it must be (the right code and log line) and runs like any other; while it
 * fails, its MISUSE FAIL line(s) are followed by "MISUSE OPEN BUG <what>" and the group does
 * not fail for it, unless MISUSE_STRICT=1. A row that passes prints "MISUSE OPEN BUG FIXED":
 * drop its MIS_OPEN_BUG then. docs/errors.md marks these rows "(open bug)".
 * ---------------------------------------------------------------------------------------- */
static int g_mis_open_bugs __attribute__((unused));

MIS_FN bool mis_strict(void)
{
    const char *e = getenv("MISUSE_STRICT");
    return e && *e == '1';
}

#define MIS_OPEN_BUG(what, row)                                                                            \
    do {                                                                                                   \
        int mis_failed_before_ = g_mis.failed;                                                             \
        row;                                                                                               \
        if (g_mis.failed > mis_failed_before_) {                                                           \
            printf("MISUSE OPEN BUG %s:%d | %s | not counted (MISUSE_STRICT=1 counts it)\n",              \
                   strrchr("/" __FILE__, '/') + 1, __LINE__, what);                                        \
            g_mis_open_bugs++;                                                                             \
            if (!mis_strict()) g_mis.failed = mis_failed_before_;                                          \
        } else {                                                                                           \
            printf("MISUSE OPEN BUG FIXED %s:%d | %s | drop its MIS_OPEN_BUG\n", strrchr("/" __FILE__, '/') + 1, \
                   __LINE__, what);                                                                        \
        }                                                                                                  \
        fflush(stdout);                                                                                    \
    } while (0)

/* ------------------------------------------------------------------------------------------
 * The five bad sedx_buffer inputs of buffer.h, for the files that take a sedx_buffer *
 * (misuse_frame.c, misuse_readback.c, misuse_transfer.c).
 * ---------------------------------------------------------------------------------------- */
enum { MIS_BAD_NULL, MIS_BAD_ZEROED, MIS_BAD_RELEASED, MIS_BAD_STALE, MIS_BAD_GARBAGE, MIS_BAD_COUNT };
static const char *const mis_bad_name[MIS_BAD_COUNT] __attribute__((unused)) = {
    "NULL buffer pointer",
    "zeroed (empty) buffer",
    "released buffer (last reference)",
    "stale copy (its reference released, another one alive)",
    "garbage buffer (memset 0xAB)",
};
static const char *const mis_bad_log[MIS_BAD_COUNT] __attribute__((unused)) = {
    "buffer pointer is NULL", "empty buffer", "invalid handle", "invalid handle", "invalid handle",
};

typedef struct mis_bad_set {
    sedx_buffer zeroed, released, stale, garbage, keeper; /* keeper: the live reference of stale */
} mis_bad_set;

MIS_FN void mis_bad_set_init(sedx_context *ctx, mis_bad_set *s)
{
    memset(s, 0, sizeof *s);
    sedx_buffer a;
    assert_int_equal(sedx_buffer_create(ctx, 4096, SEDX_BUFFER_USAGE_STORAGE, SEDX_MEMORY_GPU, "misuse released", &a),
                     SEDX_SUCCESS);
    s->released = a;
    sedx_buffer_release(&a);
    assert_int_equal(sedx_buffer_create(ctx, 4096, SEDX_BUFFER_USAGE_STORAGE, SEDX_MEMORY_GPU, "misuse stale", &a),
                     SEDX_SUCCESS);
    s->keeper = sedx_buffer_retain(&a);
    s->stale = a;
    sedx_buffer_release(&a);
    memset(&s->garbage, 0xAB, sizeof s->garbage);
}

MIS_FN void mis_bad_set_finish(mis_bad_set *s)
{
    sedx_buffer_release(&s->keeper);
}

MIS_FN const sedx_buffer *mis_bad_ptr(const mis_bad_set *s, int k)
{
    switch (k) {
    case MIS_BAD_NULL: return NULL;
    case MIS_BAD_ZEROED: return &s->zeroed;
    case MIS_BAD_RELEASED: return &s->released;
    case MIS_BAD_STALE: return &s->stale;
    default: return &s->garbage;
    }
}

#endif
