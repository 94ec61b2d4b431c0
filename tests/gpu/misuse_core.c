/* Misuse catalog, CPU-side headers: core.h (results, logging, host allocator, profiling),
 * virtual_block.h, module.h (modules and the JSON configuration) and the sedx_bytes part of
 * buffer.h. The harness is tests/gpu/misuse_util.h; docs/errors.md lists every case.
 * These objects need no context: "still works afterwards" is checked on the object itself
 * (the block allocates, the stack pushes, the configuration reads and writes). */
#include "misuse_util.h"

#include <errno.h>
#include <math.h>
#include <sys/stat.h>

/* ------------------------------------------------------------------------------------------
 * core.h
 * ---------------------------------------------------------------------------------------- */
static void test_core(void **state)
{
    (void)state;
    mis_begin();
    /* results: values outside the list */
    MIS_STR("sedx_result_name", "value outside the list (-999)", "SEDX_UNKNOWN_RESULT", LOG_NONE, sedx_result_name((sedx_result)-999));
    MIS_STR("sedx_result_name", "value outside the list (1000)", "SEDX_UNKNOWN_RESULT", LOG_NONE, sedx_result_name((sedx_result)1000));
    MIS_STR("sedx_result_string", "value outside the list (-999)", "unknown result code", LOG_NONE, sedx_result_string((sedx_result)-999));

    /* logging */
    MIS_STR("sedx_log_level_name", "level outside the enum (99)", "?", LOG_NONE, sedx_log_level_name((sedx_log_level)99));
    MIS_STR("sedx_log_level_name", "level outside the enum (-1)", "?", LOG_NONE, sedx_log_level_name((sedx_log_level)-1));
    /* an out-of-range level is refused (logged) and the level stays */
    sedx_log_level before = sedx_get_log_level();
    MIS_VOID("sedx_set_log_level", "level outside the enum (99)", "level", sedx_set_log_level((sedx_log_level)99));
    MIS_TRUE("sedx_set_log_level", "level outside the enum (99)", "the log level is unchanged",
             sedx_get_log_level() == before);
    sedx_set_log_level(before);
    MIS_VOID("sedx_set_log_level", "level outside the enum (-5)", "level", sedx_set_log_level((sedx_log_level)-5));
    MIS_TRUE("sedx_set_log_level", "level outside the enum (-5)", "the log level is unchanged",
             sedx_get_log_level() == before);
    sedx_set_log_level(before);
    MIS_VOID("sedx_log", "level outside the enum (99): dropped", LOG_NONE,
             sedx_log((sedx_log_level)99, "MISUSE", __FILE__, __LINE__, "%s", "dropped"));
    MIS_TRUE("sedx_log", "level outside the enum (99): dropped", "nothing reached the logger",
             tu_log_count(SEDX_LOG_OFF) == 0 && !tu_log_contains("dropped"));
    MIS_VOID("sedx_log", "NULL tag and NULL file", LOG_ANY,
             sedx_log(SEDX_LOG_ERROR, NULL, NULL, 0, "%s", "misuse: untagged"));
    MIS_TRUE("sedx_log", "NULL tag and NULL file", "the line arrived", tu_log_contains("misuse: untagged"));

    /* host allocator: a callback set without every function falls back to malloc (warned) */
    sedx_host_allocator partial = {0};
    MIS_VOID("sedx_set_host_allocator", "alloc/realloc/free NULL (zeroed struct)", LOG_WARN("host allocator"),
             sedx_set_host_allocator(&partial));
    MIS_VOID("sedx_set_host_allocator", "NULL (restores malloc)", LOG_NONE, sedx_set_host_allocator(NULL));

    /* profiling */
    MIS_VOID("sedx_profile_end", "NULL zone", LOG_NONE, sedx_profile_end(NULL));
    sedx_profile_zone zeroed_zone = {0};
    MIS_VOID("sedx_profile_end", "zeroed zone", LOG_NONE, sedx_profile_end(&zeroed_zone));
    MIS_VAL("sedx_profile_events", "NULL out with max > 0", sedx_profile_events(NULL, 0), LOG_NONE,
            sedx_profile_events(NULL, 16));
    MIS_RC("sedx_profile_write_trace", "NULL path", SEDX_ERROR_INVALID_ARGUMENT, "trace path is NULL",
           sedx_profile_write_trace(NULL));
    MIS_RC("sedx_profile_write_trace", "path in a directory that does not exist", SEDX_ERROR_IO, "cannot open",
           sedx_profile_write_trace("/nonexistent-sedx-dir/trace.json"));
    char dir[] = "/tmp/sedx-misuse-XXXXXX";
    if (mkdtemp(dir)) {
        MIS_RC("sedx_profile_write_trace", "path is a directory", SEDX_ERROR_IO, "cannot open",
               sedx_profile_write_trace(dir));
        struct stat st;
        MIS_TRUE("sedx_profile_write_trace", "path is a directory", "the directory is still there",
                 stat(dir, &st) == 0 && S_ISDIR(st.st_mode));
        rmdir(dir);
    }
    /* a zone without a name (names must be literals): recorded and written as "" */
    sedx_profile_enable(true);
    sedx_profile_zone unnamed = sedx_profile_begin(NULL);
    MIS_VOID("sedx_profile_begin/end", "NULL name", LOG_NONE, sedx_profile_end(&unnamed));
    /* still works */
    char trace[] = "/tmp/sedx-misuse-trace-XXXXXX";
    int fd = mkstemp(trace);
    if (fd >= 0) close(fd);
    MIS_RC("sedx_profile_write_trace", "(valid, after the misuse)", SEDX_SUCCESS, LOG_NONE,
           sedx_profile_write_trace(trace));
    unlink(trace);
    sedx_profile_enable(false);
    sedx_profile_clear();
    mis_end("core.h");
}

/* ------------------------------------------------------------------------------------------
 * virtual_block.h
 * ---------------------------------------------------------------------------------------- */
static void test_virtual_block(void **state)
{
    (void)state;
    mis_begin();
    sedx_virtual_block *out = MIS_SENTINEL_PTR;
    sedx_virtual_block_info bad = {0};
    MIS_RC("sedx_virtual_block_create", "NULL info", SEDX_ERROR_INVALID_ARGUMENT, "info is NULL",
           sedx_virtual_block_create(NULL, &out));
    MIS_TRUE("sedx_virtual_block_create", "NULL info", "*out not written", out == MIS_SENTINEL_PTR);
    bad.size = 4096;
    MIS_RC("sedx_virtual_block_create", "NULL out", SEDX_ERROR_INVALID_ARGUMENT, "out is NULL",
           sedx_virtual_block_create(&bad, NULL));
    bad.size = 0;
    MIS_RC("sedx_virtual_block_create", "zeroed info (size 0)", SEDX_ERROR_INVALID_SIZE, "size 0",
           sedx_virtual_block_create(&bad, &out));
    MIS_TRUE("sedx_virtual_block_create", "zeroed info (size 0)", "*out not written", out == MIS_SENTINEL_PTR);
    bad.size = SEDX_VIRTUAL_MAX_SIZE + 1;
    MIS_RC("sedx_virtual_block_create", "size 2^63 + 1", SEDX_ERROR_INVALID_SIZE, "must be 1 .. 2^63",
           sedx_virtual_block_create(&bad, &out));
    bad.size = UINT64_MAX;
    MIS_RC("sedx_virtual_block_create", "size UINT64_MAX", SEDX_ERROR_INVALID_SIZE, "must be 1 .. 2^63",
           sedx_virtual_block_create(&bad, &out));
    bad.size = 4096;
    bad.flags = 0x80000000u;
    MIS_RC("sedx_virtual_block_create", "unknown flag bits (0x80000000)", SEDX_ERROR_INVALID_ARGUMENT, "unknown flags",
           sedx_virtual_block_create(&bad, &out));
    MIS_TRUE("sedx_virtual_block_create", "unknown flag bits", "*out not written", out == MIS_SENTINEL_PTR);
    MIS_VOID("sedx_virtual_block_destroy", "NULL", LOG_NONE, sedx_virtual_block_destroy(NULL));
    MIS_VOID("sedx_virtual_block_clear", "NULL", LOG_NONE, sedx_virtual_block_clear(NULL));

    sedx_virtual_block_info info = {65536, 0};
    sedx_virtual_block *b = NULL, *other = NULL;
    assert_int_equal(sedx_virtual_block_create(&info, &b), SEDX_SUCCESS);
    assert_int_equal(sedx_virtual_block_create(&info, &other), SEDX_SUCCESS);
    sedx_virtual_alloc live = 0, dead = 0, foreign = 0;
    uint64_t off = 0;
    assert_int_equal(sedx_virtual_allocate(b, 256, 16, (void *)0x1, &live, &off), SEDX_SUCCESS);
    assert_int_equal(sedx_virtual_allocate(b, 512, 16, NULL, &dead, NULL), SEDX_SUCCESS);
    assert_int_equal(sedx_virtual_free(b, dead), SEDX_SUCCESS);
    assert_int_equal(sedx_virtual_allocate(other, 256, 16, NULL, &foreign, NULL), SEDX_SUCCESS);
    sedx_virtual_alloc garbage;
    memset(&garbage, 0xAB, sizeof garbage);
    sedx_virtual_block_stats s0, s1;
    sedx_virtual_block_get_stats(b, &s0);

    sedx_virtual_alloc a = MIS_SENTINEL_U64;
    uint64_t o = MIS_SENTINEL_U64;
    MIS_RC("sedx_virtual_allocate", "NULL block", SEDX_ERROR_INVALID_ARGUMENT, "block is NULL",
           sedx_virtual_allocate(NULL, 64, 1, NULL, &a, &o));
    MIS_RC("sedx_virtual_allocate", "NULL out_alloc", SEDX_ERROR_INVALID_ARGUMENT, "out_alloc is NULL",
           sedx_virtual_allocate(b, 64, 1, NULL, NULL, &o));
    MIS_RC("sedx_virtual_allocate", "size 0", SEDX_ERROR_INVALID_SIZE, "size 0",
           sedx_virtual_allocate(b, 0, 1, NULL, &a, &o));
    MIS_RC("sedx_virtual_allocate", "size 2^63 + 1", SEDX_ERROR_INVALID_SIZE, "over the maximum",
           sedx_virtual_allocate(b, SEDX_VIRTUAL_MAX_SIZE + 1, 1, NULL, &a, &o));
    MIS_RC("sedx_virtual_allocate", "size UINT64_MAX", SEDX_ERROR_INVALID_SIZE, "over the maximum",
           sedx_virtual_allocate(b, UINT64_MAX, 1, NULL, &a, &o));
    MIS_RC("sedx_virtual_allocate", "alignment 3 (not a power of two)", SEDX_ERROR_INVALID_ALIGNMENT,
           "not a power of two", sedx_virtual_allocate(b, 64, 3, NULL, &a, &o));
    MIS_RC("sedx_virtual_allocate", "alignment UINT64_MAX", SEDX_ERROR_INVALID_ALIGNMENT, "not a power of two",
           sedx_virtual_allocate(b, 64, UINT64_MAX, NULL, &a, &o));
    MIS_RC("sedx_virtual_allocate", "alignment 2^63 (size + alignment wraps)", SEDX_ERROR_OUT_OF_SPACE, LOG_NONE,
           sedx_virtual_allocate(b, 64, UINT64_C(1) << 63, NULL, &a, &o));
    /* out of space is an expected outcome: not logged above DEBUG (header) */
    MIS_RC("sedx_virtual_allocate", "larger than the block (out of space)", SEDX_ERROR_OUT_OF_SPACE, LOG_NONE,
           sedx_virtual_allocate(b, 65536 * 2, 1, NULL, &a, &o));
    MIS_TRUE("sedx_virtual_allocate", "every refused allocation", "out_alloc and out_offset not written",
             a == MIS_SENTINEL_U64 && o == MIS_SENTINEL_U64);
    sedx_virtual_block_get_stats(b, &s1);
    MIS_TRUE("sedx_virtual_allocate", "every refused allocation", "the block is unchanged",
             memcmp(&s0, &s1, sizeof s0) == 0);

    MIS_RC("sedx_virtual_free", "NULL block", SEDX_ERROR_INVALID_ARGUMENT, "block is NULL",
           sedx_virtual_free(NULL, live));
    MIS_RC("sedx_virtual_free", "0 (null handle): no-op", SEDX_SUCCESS, LOG_NONE, sedx_virtual_free(b, 0));
    MIS_RC("sedx_virtual_free", "freed handle (double free)", SEDX_ERROR_INVALID_HANDLE, "not a live allocation",
           sedx_virtual_free(b, dead));
    MIS_RC("sedx_virtual_free", "garbage handle (0xAB..)", SEDX_ERROR_INVALID_HANDLE, "not a live allocation",
           sedx_virtual_free(b, garbage));
    MIS_RC("sedx_virtual_free", "another block's handle", SEDX_ERROR_INVALID_HANDLE, "not a live allocation",
           sedx_virtual_free(b, foreign));
    sedx_virtual_block_get_stats(b, &s1);
    MIS_TRUE("sedx_virtual_free", "every refused free", "the block is unchanged", memcmp(&s0, &s1, sizeof s0) == 0);

    sedx_virtual_alloc_info vi;
    memset(&vi, 0x5E, sizeof vi);
    MIS_RC("sedx_virtual_get_info", "NULL out", SEDX_ERROR_INVALID_ARGUMENT, "out is NULL",
           sedx_virtual_get_info(b, live, NULL));
    MIS_RC("sedx_virtual_get_info", "NULL block", SEDX_ERROR_INVALID_ARGUMENT, "block is NULL",
           sedx_virtual_get_info(NULL, live, &vi));
    MIS_RC("sedx_virtual_get_info", "freed handle", SEDX_ERROR_INVALID_HANDLE, "not a live allocation",
           sedx_virtual_get_info(b, dead, &vi));
    MIS_RC("sedx_virtual_get_info", "garbage handle", SEDX_ERROR_INVALID_HANDLE, "not a live allocation",
           sedx_virtual_get_info(b, garbage, &vi));
    MIS_RC("sedx_virtual_get_info", "0 (null handle)", SEDX_ERROR_INVALID_HANDLE, "not a live allocation",
           sedx_virtual_get_info(b, 0, &vi));
    MIS_RC("sedx_virtual_get_info", "another block's handle", SEDX_ERROR_INVALID_HANDLE, "not a live allocation",
           sedx_virtual_get_info(b, foreign, &vi));
    MIS_TRUE("sedx_virtual_get_info", "every refused call", "*out not written", mis_all(&vi, 0x5E, sizeof vi));

    MIS_RC("sedx_virtual_set_user_data", "NULL block", SEDX_ERROR_INVALID_ARGUMENT, "block is NULL",
           sedx_virtual_set_user_data(NULL, live, NULL));
    MIS_RC("sedx_virtual_set_user_data", "freed handle", SEDX_ERROR_INVALID_HANDLE, "not a live allocation",
           sedx_virtual_set_user_data(b, dead, NULL));
    MIS_RC("sedx_virtual_set_user_data", "garbage handle", SEDX_ERROR_INVALID_HANDLE, "not a live allocation",
           sedx_virtual_set_user_data(b, garbage, NULL));
    MIS_RC("sedx_virtual_set_user_data", "another block's handle", SEDX_ERROR_INVALID_HANDLE,
           "not a live allocation", sedx_virtual_set_user_data(b, foreign, NULL));
    assert_int_equal(sedx_virtual_get_info(b, live, &vi), SEDX_SUCCESS);
    MIS_TRUE("sedx_virtual_set_user_data", "every refused call", "the live allocation keeps its user data",
             vi.user_data == (void *)0x1 && vi.offset == off && vi.size == 256);

    sedx_virtual_block_stats st;
    memset(&st, 0x5E, sizeof st);
    MIS_VOID("sedx_virtual_block_get_stats", "NULL block", LOG_NONE, sedx_virtual_block_get_stats(NULL, &st));
    MIS_TRUE("sedx_virtual_block_get_stats", "NULL block", "zeroed stats", mis_all(&st, 0, sizeof st));
    MIS_VOID("sedx_virtual_block_get_stats", "NULL out", LOG_NONE, sedx_virtual_block_get_stats(b, NULL));
    MIS_VAL("sedx_virtual_block_is_empty", "NULL block", true, LOG_NONE, sedx_virtual_block_is_empty(NULL));
    MIS_RC("sedx_virtual_block_validate", "NULL block", SEDX_ERROR_INVALID_ARGUMENT, "block is NULL",
           sedx_virtual_block_validate(NULL));
    MIS_VOID("sedx_virtual_block_foreach", "NULL block", LOG_NONE, sedx_virtual_block_foreach(NULL, NULL, NULL));
    MIS_VOID("sedx_virtual_block_foreach", "NULL fn", LOG_NONE, sedx_virtual_block_foreach(b, NULL, NULL));

    /* still works */
    MIS_RC("sedx_virtual_block_validate", "(after the misuse)", SEDX_SUCCESS, LOG_NONE, sedx_virtual_block_validate(b));
    sedx_virtual_alloc x = 0;
    MIS_RC("sedx_virtual_allocate", "(valid, after the misuse)", SEDX_SUCCESS, LOG_NONE,
           sedx_virtual_allocate(b, 1024, 256, NULL, &x, NULL));
    MIS_RC("sedx_virtual_free", "(valid, after the misuse)", SEDX_SUCCESS, LOG_NONE, sedx_virtual_free(b, x));
    sedx_virtual_block_destroy(other);
    sedx_virtual_block_destroy(b);
    mis_end("virtual_block.h");
}

/* ------------------------------------------------------------------------------------------
 * module.h: modules
 * ---------------------------------------------------------------------------------------- */
typedef struct cb_probe {
    sedx_result push, pop, remove;
    int destroy_refused, update_refused, ui_len;
    sedx_module *target;
} cb_probe;

static sedx_result attach_fails(sedx_module *m)
{
    (void)m;
    return SEDX_ERROR_OUT_OF_DEVICE_MEMORY;
}

/* Inside a callback every stack change is refused (BUSY, logged). */
static void update_misuses(sedx_module *m, double dt)
{
    (void)dt;
    cb_probe *p = sedx_module_user(m);
    sedx_module_stack *s = sedx_module_get_stack(m);
    sedx_module_desc d = {.name = "Inner"};
    p->push = sedx_module_push(s, &d, NULL);
    p->pop = sedx_module_pop(s);
    p->remove = sedx_module_remove(s, p->target ? p->target : m);
    uint32_t before = sedx_module_stack_count(s);
    sedx_module_stack_destroy(s); /* refused: nothing happens */
    p->destroy_refused = sedx_module_stack_count(s) == before;
    char ui[64];
    p->ui_len = (int)sedx_module_stack_ui(s, ui, sizeof ui);
}

static void test_modules(void **state)
{
    (void)state;
    mis_begin();
    MIS_RC("sedx_module_stack_create", "NULL out", SEDX_ERROR_INVALID_ARGUMENT, "out is NULL",
           sedx_module_stack_create(NULL, NULL));
    MIS_VOID("sedx_module_stack_destroy", "NULL", LOG_NONE, sedx_module_stack_destroy(NULL));
    sedx_module_stack *s = NULL, *s2 = NULL;
    assert_int_equal(sedx_module_stack_create(NULL, &s), SEDX_SUCCESS);
    assert_int_equal(sedx_module_stack_create(NULL, &s2), SEDX_SUCCESS);
    sedx_module_desc desc = {.name = "Base"};
    sedx_module *base = NULL, *elsewhere = NULL, *gone = NULL;
    assert_int_equal(sedx_module_push(s, &desc, &base), SEDX_SUCCESS);
    desc.name = "Elsewhere";
    assert_int_equal(sedx_module_push(s2, &desc, &elsewhere), SEDX_SUCCESS);
    desc.name = "Gone";
    assert_int_equal(sedx_module_push(s, &desc, &gone), SEDX_SUCCESS);
    assert_int_equal(sedx_module_pop(s), SEDX_SUCCESS); /* gone is a stale pointer from here on */

    sedx_module *m = MIS_SENTINEL_PTR;
    MIS_RC("sedx_module_push", "NULL stack", SEDX_ERROR_INVALID_ARGUMENT, "stack or desc is NULL",
           sedx_module_push(NULL, &desc, &m));
    MIS_RC("sedx_module_push", "NULL desc", SEDX_ERROR_INVALID_ARGUMENT, "stack or desc is NULL",
           sedx_module_push(s, NULL, &m));
    sedx_module_desc failing = {.name = "FailingModule", .on_attach = attach_fails};
    MIS_RC("sedx_module_push", "on_attach fails", SEDX_ERROR_OUT_OF_DEVICE_MEMORY, "FailingModule",
           sedx_module_push(s, &failing, &m));
    MIS_TRUE("sedx_module_push", "every refused push", "*out not written, the stack unchanged",
             m == MIS_SENTINEL_PTR && sedx_module_stack_count(s) == 1 && !sedx_module_find(s, "FailingModule"));
    MIS_RC("sedx_module_pop", "NULL stack", SEDX_ERROR_INVALID_ARGUMENT, "stack is NULL", sedx_module_pop(NULL));
    sedx_module_stack *empty = NULL;
    assert_int_equal(sedx_module_stack_create(NULL, &empty), SEDX_SUCCESS);
    MIS_RC("sedx_module_pop", "empty stack", SEDX_ERROR_INVALID_ARGUMENT, "the stack is empty", sedx_module_pop(empty));
    sedx_module_stack_destroy(empty);
    MIS_RC("sedx_module_remove", "NULL stack", SEDX_ERROR_INVALID_ARGUMENT, "stack or module is NULL",
           sedx_module_remove(NULL, base));
    MIS_RC("sedx_module_remove", "NULL module", SEDX_ERROR_INVALID_ARGUMENT, "stack or module is NULL",
           sedx_module_remove(s, NULL));
    MIS_RC("sedx_module_remove", "another stack's module", SEDX_ERROR_INVALID_HANDLE, "is not on this stack",
           sedx_module_remove(s, elsewhere));
    MIS_RC("sedx_module_remove", "removed module (stale pointer)", SEDX_ERROR_INVALID_HANDLE, "is not on this stack",
           sedx_module_remove(s, gone));
    sedx_module *garbage;
    memset(&garbage, 0xAB, sizeof garbage);
    MIS_RC("sedx_module_remove", "garbage pointer (0xAB..)", SEDX_ERROR_INVALID_HANDLE, "is not on this stack",
           sedx_module_remove(s, garbage));
    MIS_TRUE("sedx_module_remove", "every refused remove", "both stacks unchanged",
             sedx_module_stack_count(s) == 1 && sedx_module_stack_count(s2) == 1 &&
                 sedx_module_stack_get(s, 0) == base);

    /* inside a callback */
    cb_probe probe = {0};
    probe.target = base;
    sedx_module_desc busy = {.name = "Busy", .user = &probe, .on_update = update_misuses};
    sedx_module *busy_m = NULL;
    assert_int_equal(sedx_module_push(s, &busy, &busy_m), SEDX_SUCCESS);
    MIS_VOID("sedx_module_stack_update", "push/pop/remove/destroy/ui inside a callback", "inside a module callback",
             sedx_module_stack_update(s, 0.016));
    MIS_VAL("sedx_module_push", "inside a module callback", SEDX_ERROR_BUSY, LOG_ANY, probe.push);
    MIS_VAL("sedx_module_pop", "inside a module callback", SEDX_ERROR_BUSY, LOG_ANY, probe.pop);
    MIS_VAL("sedx_module_remove", "inside a module callback", SEDX_ERROR_BUSY, LOG_ANY, probe.remove);
    MIS_VAL("sedx_module_stack_destroy", "inside a module callback: refused", 1, LOG_ANY, probe.destroy_refused);
    MIS_VAL("sedx_module_stack_ui", "inside a module callback: refused", 0, LOG_ANY, probe.ui_len);
    MIS_TRUE("sedx_module_stack_update", "misuse inside a callback", "the stack is unchanged",
             sedx_module_stack_count(s) == 2 && sedx_module_stack_get(s, 0) == base &&
                 sedx_module_stack_get(s, 1) == busy_m);
    assert_int_equal(sedx_module_remove(s, busy_m), SEDX_SUCCESS);

    MIS_VOID("sedx_module_stack_update", "NULL stack", LOG_NONE, sedx_module_stack_update(NULL, 1.0));
    char ui[32];
    memset(ui, 'x', sizeof ui);
    MIS_VAL("sedx_module_stack_ui", "NULL stack", 0, LOG_NONE, sedx_module_stack_ui(NULL, ui, sizeof ui));
    MIS_TRUE("sedx_module_stack_ui", "NULL stack", "out is NUL-terminated", ui[0] == '\0');
    MIS_VAL("sedx_module_stack_ui", "NULL out", 0, LOG_NONE, sedx_module_stack_ui(s, NULL, 16));
    memset(ui, 'x', sizeof ui);
    MIS_VAL("sedx_module_stack_ui", "cap 0", 0, LOG_NONE, sedx_module_stack_ui(s, ui, 0));
    MIS_TRUE("sedx_module_stack_ui", "cap 0", "out not written", ui[0] == 'x');
    MIS_VAL("sedx_module_stack_count", "NULL stack", 0, LOG_NONE, sedx_module_stack_count(NULL));
    MIS_PTR("sedx_module_stack_get", "NULL stack", NULL, LOG_NONE, sedx_module_stack_get(NULL, 0));
    MIS_PTR("sedx_module_stack_get", "index past the top (99)", NULL, LOG_NONE, sedx_module_stack_get(s, 99));
    MIS_PTR("sedx_module_find", "NULL stack", NULL, LOG_NONE, sedx_module_find(NULL, "Base"));
    MIS_PTR("sedx_module_find", "NULL name", NULL, LOG_NONE, sedx_module_find(s, NULL));
    MIS_PTR("sedx_module_stack_context", "NULL stack", NULL, LOG_NONE, sedx_module_stack_context(NULL));
    MIS_PTR("sedx_module_name", "NULL module", NULL, LOG_NONE, sedx_module_name(NULL));
    MIS_PTR("sedx_module_user", "NULL module", NULL, LOG_NONE, sedx_module_user(NULL));
    MIS_PTR("sedx_module_context", "NULL module", NULL, LOG_NONE, sedx_module_context(NULL));
    MIS_PTR("sedx_module_get_stack", "NULL module", NULL, LOG_NONE, sedx_module_get_stack(NULL));
    MIS_VOID("sedx_module_set_enabled", "NULL module", LOG_NONE, sedx_module_set_enabled(NULL, false));
    MIS_VAL("sedx_module_enabled", "NULL module", false, LOG_NONE, sedx_module_enabled(NULL));
    MIS_VAL("sedx_text_append", "NULL text, cap 0 (length only)", 5, LOG_NONE, sedx_text_append(NULL, 0, "%s", "hello"));
    char t[4] = {'a', 'b', 'c', 'd'};
    MIS_VAL("sedx_text_append", "cap 0", 5, LOG_NONE, sedx_text_append(t, 0, "%s", "hello"));
    MIS_TRUE("sedx_text_append", "cap 0", "text not written", t[0] == 'a' && t[3] == 'd');
    t[0] = '\0';
    MIS_VAL("sedx_text_append", "text not NUL-terminated within cap", 8, LOG_NONE,
            (memcpy(t, "abcd", 4), sedx_text_append(t, sizeof t, "%s", "hello")));
    MIS_TRUE("sedx_text_append", "text not NUL-terminated within cap", "cut and NUL-terminated at cap - 1",
             t[3] == '\0');

    /* still works */
    desc.name = "After";
    sedx_module *after = NULL;
    MIS_RC("sedx_module_push", "(valid, after the misuse)", SEDX_SUCCESS, LOG_NONE, sedx_module_push(s, &desc, &after));
    MIS_RC("sedx_module_remove", "(valid, after the misuse)", SEDX_SUCCESS, LOG_NONE, sedx_module_remove(s, after));
    sedx_module_stack_destroy(s2);
    sedx_module_stack_destroy(s);
    mis_end("module.h (modules)");
}

/* ------------------------------------------------------------------------------------------
 * module.h: configuration
 * ---------------------------------------------------------------------------------------- */
static sedx_result parse_text(const char *text, sedx_config **out)
{
    return sedx_config_parse(text, strlen(text), "misuse.json", out);
}

static void write_file(const char *path, const char *text)
{
    FILE *f = fopen(path, "wb");
    assert_non_null(f);
    fputs(text, f);
    fclose(f);
}

static void test_config(void **state)
{
    (void)state;
    mis_begin();
    sedx_config *out = MIS_SENTINEL_PTR;
    MIS_RC("sedx_config_create", "NULL out", SEDX_ERROR_INVALID_ARGUMENT, "out is NULL", sedx_config_create(NULL));
    /* a refused parse or load must not write *out; an unexpected success is cleaned up */
#define CFG_BAD(fn, input, expected, log, call)                                                         \
    do {                                                                                               \
        out = MIS_SENTINEL_PTR;                                                                        \
        MIS_RC(fn, input, expected, log, call);                                                        \
        MIS_TRUE(fn, input, "*out not written", out == MIS_SENTINEL_PTR);                              \
        if (out != MIS_SENTINEL_PTR) sedx_config_destroy(out);                                         \
    } while (0)
    CFG_BAD("sedx_config_parse", "NULL json with size > 0", SEDX_ERROR_INVALID_ARGUMENT, "json or out is NULL",
            sedx_config_parse(NULL, 5, NULL, &out));
    MIS_RC("sedx_config_parse", "NULL out", SEDX_ERROR_INVALID_ARGUMENT, "json or out is NULL",
           sedx_config_parse("{}", 2, NULL, NULL));
    CFG_BAD("sedx_config_parse", "empty input (size 0)", SEDX_ERROR_PARSE, "malformed JSON",
            sedx_config_parse("", 0, "empty.json", &out));
    CFG_BAD("sedx_config_parse", "malformed JSON", SEDX_ERROR_PARSE, "misuse.json:1:", parse_text("{\"a\": 1,", &out));
    CFG_BAD("sedx_config_parse", "top level not an object", SEDX_ERROR_PARSE, "not a JSON object",
            parse_text("[1, 2]", &out));
    CFG_BAD("sedx_config_parse", "text after the value", SEDX_ERROR_PARSE, "unexpected text",
            parse_text("{\"a\": 1} {\"b\": 2}", &out));
    CFG_BAD("sedx_config_parse", "number out of range (1e999)", SEDX_ERROR_PARSE, "out of range",
            parse_text("{\"a\": 1e999}", &out));
    CFG_BAD("sedx_config_parse", "key with \\u0000", SEDX_ERROR_PARSE, "misuse.json",
            parse_text("{\"ab\\u0000cd\": 1}", &out));
    CFG_BAD("sedx_config_parse", "key that is only \\u0000", SEDX_ERROR_PARSE, "misuse.json",
            parse_text("{\"\\u0000\": true}", &out));
    CFG_BAD("sedx_config_parse", "string value with \\u0000", SEDX_ERROR_PARSE, "misuse.json",
            parse_text("{\"s\": \"ab\\u0000cd\"}", &out));
    CFG_BAD("sedx_config_parse", "empty key", SEDX_ERROR_PARSE, "misuse.json", parse_text("{\"\": 1}", &out));
    static const char nul_then_text[] = "{\"a\": 1}\0x";
    CFG_BAD("sedx_config_parse", "text after a NUL byte", SEDX_ERROR_PARSE, "nul.json",
            sedx_config_parse(nul_then_text, sizeof nul_then_text - 1, "nul.json", &out));
    char deep[2101];
    for (int i = 0; i < 1050; ++i) deep[i] = '[';
    for (int i = 0; i < 1050; ++i) deep[1050 + i] = ']';
    deep[2100] = '\0';
    char *nested = malloc(2200);
    snprintf(nested, 2200, "{\"a\": %s}", deep);
    CFG_BAD("sedx_config_parse", "nesting deeper than 1000 levels", SEDX_ERROR_PARSE, "misuse.json",
            parse_text(nested, &out));
    free(nested);
    /* a size that counts the trailing NUL parses fine */
    sedx_config *c = NULL;
    static const char padded[16] = "{\"n\": 8}";
    MIS_RC("sedx_config_parse", "zero-padded buffer (only NULs after the text)", SEDX_SUCCESS, LOG_NONE,
           sedx_config_parse(padded, sizeof padded, "padded.json", &c));
    MIS_TRUE("sedx_config_parse", "zero-padded buffer", "the value is read", c && sedx_config_get_u64(c, "n", 0) == 8);
    sedx_config_destroy(c);
    c = NULL;
    static const char with_nul[] = "{\"n\": 7}";
    MIS_RC("sedx_config_parse", "size counts the trailing NUL", SEDX_SUCCESS, LOG_NONE,
           sedx_config_parse(with_nul, sizeof with_nul, "nul.json", &c));
    MIS_TRUE("sedx_config_parse", "size counts the trailing NUL", "the value is read",
             c && sedx_config_get_u64(c, "n", 0) == 7);
    sedx_config_destroy(c);
    c = NULL;

    char dir[] = "/tmp/sedx-misuse-cfg-XXXXXX";
    assert_non_null(mkdtemp(dir));
    char path[256], sub[256], fifo[256], bad[256], tmp[300];
    snprintf(path, sizeof path, "%s/ok.json", dir);
    snprintf(sub, sizeof sub, "%s/subdir", dir);
    snprintf(fifo, sizeof fifo, "%s/fifo", dir);
    snprintf(bad, sizeof bad, "%s/bad.json", dir);
    assert_int_equal(mkdir(sub, 0700), 0);
    assert_int_equal(mkfifo(fifo, 0600), 0);
    write_file(bad, "{\"a\": tru}");

    CFG_BAD("sedx_config_load", "NULL path", SEDX_ERROR_INVALID_ARGUMENT, "path or out is NULL",
            sedx_config_load(NULL, &out));
    MIS_RC("sedx_config_load", "NULL out", SEDX_ERROR_INVALID_ARGUMENT, "path or out is NULL",
           sedx_config_load(path, NULL));
    CFG_BAD("sedx_config_load", "path is a directory", SEDX_ERROR_IO, "subdir", sedx_config_load(sub, &out));
    CFG_BAD("sedx_config_load", "malformed file", SEDX_ERROR_PARSE, "bad.json:1:", sedx_config_load(bad, &out));
    CFG_BAD("sedx_config_load", "empty path", SEDX_ERROR_INVALID_ARGUMENT, "sedx_config_load", sedx_config_load("", &out));
    char large[256];
    snprintf(large, sizeof large, "%s/large.json", dir);
    FILE *lf = fopen(large, "wb");
    assert_non_null(lf);
    assert_int_equal(ftruncate(fileno(lf), (off_t)(65u << 20)), 0); /* sparse: 65 MiB of NULs */
    fclose(lf);
    CFG_BAD("sedx_config_load", "file larger than 64 MiB", SEDX_ERROR_IO, "large.json", sedx_config_load(large, &out));
    unlink(large);
#undef CFG_BAD

    assert_int_equal(parse_text("{\"u\": 5, \"s\": \"text\", \"f\": 1.5, \"b\": true, \"i\": -3}", &c), SEDX_SUCCESS);
    char before[512], after[512];
    sedx_config_format(c, before, sizeof before);
    MIS_RC("sedx_config_save", "NULL cfg", SEDX_ERROR_INVALID_ARGUMENT, "cfg or path is NULL",
           sedx_config_save(NULL, path));
    MIS_RC("sedx_config_save", "NULL path", SEDX_ERROR_INVALID_ARGUMENT, "cfg or path is NULL",
           sedx_config_save(c, NULL));
    MIS_RC("sedx_config_save", "directory does not exist", SEDX_ERROR_IO, "cannot write",
           sedx_config_save(c, "/nonexistent-sedx-dir/cfg.json"));
    MIS_RC("sedx_config_save", "path is a directory", SEDX_ERROR_IO, "subdir", sedx_config_save(c, sub));
    struct stat st;
    MIS_TRUE("sedx_config_save", "path is a directory", "still a directory, no .tmp left",
             stat(sub, &st) == 0 && S_ISDIR(st.st_mode) &&
                 (snprintf(tmp, sizeof tmp, "%s.tmp", sub), stat(tmp, &st) != 0));
    MIS_RC("sedx_config_save", "path is a FIFO", SEDX_ERROR_IO, "fifo", sedx_config_save(c, fifo));
    MIS_TRUE("sedx_config_save", "path is a FIFO", "still a FIFO, no .tmp left",
             stat(fifo, &st) == 0 && S_ISFIFO(st.st_mode) &&
                 (snprintf(tmp, sizeof tmp, "%s.tmp", fifo), stat(tmp, &st) != 0));
    char link_dir[256], link_dangling[256], blocked[256], blocked_tmp[300];
    snprintf(link_dir, sizeof link_dir, "%s/link-to-dir", dir);
    snprintf(link_dangling, sizeof link_dangling, "%s/link-dangling", dir);
    snprintf(blocked, sizeof blocked, "%s/blocked.json", dir);
    snprintf(blocked_tmp, sizeof blocked_tmp, "%s/blocked.json.tmp", dir);
    assert_int_equal(symlink(sub, link_dir), 0);
    assert_int_equal(symlink("/nonexistent-sedx-dir/x", link_dangling), 0);
    assert_int_equal(mkdir(blocked_tmp, 0700), 0);
    MIS_RC("sedx_config_save", "symbolic link to a directory", SEDX_ERROR_IO, "link-to-dir", sedx_config_save(c, link_dir));
    MIS_TRUE("sedx_config_save", "symbolic link to a directory", "the link and the directory are as they were",
             lstat(link_dir, &st) == 0 && S_ISLNK(st.st_mode) && stat(sub, &st) == 0 && S_ISDIR(st.st_mode));
    MIS_RC("sedx_config_save", "symbolic link that cannot be followed", SEDX_ERROR_IO, "link-dangling",
           sedx_config_save(c, link_dangling));
    MIS_TRUE("sedx_config_save", "symbolic link that cannot be followed", "the link is as it was",
             lstat(link_dangling, &st) == 0 && S_ISLNK(st.st_mode));
    MIS_RC("sedx_config_save", "<file>.tmp is a directory", SEDX_ERROR_IO, "blocked.json", sedx_config_save(c, blocked));
    MIS_TRUE("sedx_config_save", "<file>.tmp is a directory", "nothing written",
             stat(blocked, &st) != 0 && stat(blocked_tmp, &st) == 0 && S_ISDIR(st.st_mode));
    unlink(link_dir);
    unlink(link_dangling);
    rmdir(blocked_tmp);
    unlink(blocked);

    char fmt[16];
    memset(fmt, 'x', sizeof fmt);
    MIS_VAL("sedx_config_format", "NULL cfg", 0, "cfg is NULL", sedx_config_format(NULL, fmt, sizeof fmt));
    MIS_TRUE("sedx_config_format", "NULL cfg", "out is NUL-terminated", fmt[0] == '\0');
    MIS_VOID("sedx_config_destroy", "NULL", LOG_NONE, sedx_config_destroy(NULL));
    MIS_VAL("sedx_config_has", "NULL cfg", false, LOG_NONE, sedx_config_has(NULL, "u"));
    MIS_VAL("sedx_config_has", "NULL key", false, LOG_NONE, sedx_config_has(c, NULL));
    MIS_VAL("sedx_config_count", "NULL cfg", 0, LOG_NONE, sedx_config_count(NULL));
    MIS_PTR("sedx_config_key", "NULL cfg", NULL, LOG_NONE, sedx_config_key(NULL, 0));
    MIS_PTR("sedx_config_key", "index past the end (99)", NULL, LOG_NONE, sedx_config_key(c, 99));
    MIS_RC("sedx_config_remove", "NULL cfg", SEDX_ERROR_INVALID_ARGUMENT, "cfg or key is NULL",
           sedx_config_remove(NULL, "u"));
    MIS_RC("sedx_config_remove", "NULL key", SEDX_ERROR_INVALID_ARGUMENT, "cfg or key is NULL",
           sedx_config_remove(c, NULL));
    MIS_RC("sedx_config_remove", "missing key: no-op", SEDX_SUCCESS, LOG_NONE, sedx_config_remove(c, "nope"));

    /* getters: a NULL argument or the wrong type gives the default, logged */
    MIS_VAL("sedx_config_get_u64", "NULL cfg", 42, "cfg or key is NULL", sedx_config_get_u64(NULL, "u", 42));
    MIS_VAL("sedx_config_get_u64", "NULL key", 42, "cfg or key is NULL", sedx_config_get_u64(c, NULL, 42));
    MIS_VAL("sedx_config_get_u64", "wrong type (a string)", 42, LOG_WARN("expected an unsigned integer"),
            sedx_config_get_u64(c, "s", 42));
    MIS_VAL("sedx_config_get_u64", "wrong type (negative)", 42, LOG_WARN("expected an unsigned integer"),
            sedx_config_get_u64(c, "i", 42));
    MIS_VAL("sedx_config_get_i64", "NULL cfg", 42, "cfg or key is NULL", sedx_config_get_i64(NULL, "i", 42));
    MIS_VAL("sedx_config_get_i64", "wrong type (a boolean)", 42, LOG_WARN("expected a signed 64-bit integer"),
            sedx_config_get_i64(c, "b", 42));
    MIS_VAL("sedx_config_get_f64", "NULL key", 1, "cfg or key is NULL", sedx_config_get_f64(c, NULL, 1.0) == 1.0);
    MIS_VAL("sedx_config_get_f64", "wrong type (a string)", 1, LOG_WARN("expected a number"),
            sedx_config_get_f64(c, "s", 1.0) == 1.0);
    MIS_VAL("sedx_config_get_bool", "NULL cfg", true, "cfg or key is NULL", sedx_config_get_bool(NULL, "b", true));
    MIS_VAL("sedx_config_get_bool", "wrong type (a number)", true, LOG_WARN("expected a boolean"),
            sedx_config_get_bool(c, "u", true));
    static const char *const def = "def";
    MIS_PTR("sedx_config_get_string", "NULL key", def, "cfg or key is NULL", sedx_config_get_string(c, NULL, def));
    MIS_PTR("sedx_config_get_string", "wrong type (a number)", def, LOG_WARN("expected a string"),
            sedx_config_get_string(c, "f", def));

    /* setters */
    MIS_RC("sedx_config_set_u64", "NULL cfg", SEDX_ERROR_INVALID_ARGUMENT, "cfg or key is NULL",
           sedx_config_set_u64(NULL, "u", 1));
    MIS_RC("sedx_config_set_u64", "NULL key", SEDX_ERROR_INVALID_ARGUMENT, "cfg or key is NULL",
           sedx_config_set_u64(c, NULL, 1));
    MIS_RC("sedx_config_set_i64", "NULL cfg", SEDX_ERROR_INVALID_ARGUMENT, "cfg or key is NULL",
           sedx_config_set_i64(NULL, "i", 1));
    MIS_RC("sedx_config_set_i64", "NULL key", SEDX_ERROR_INVALID_ARGUMENT, "cfg or key is NULL",
           sedx_config_set_i64(c, NULL, 1));
    MIS_RC("sedx_config_set_f64", "NULL cfg", SEDX_ERROR_INVALID_ARGUMENT, "cfg or key is NULL",
           sedx_config_set_f64(NULL, "f", 1.0));
    MIS_RC("sedx_config_set_f64", "NULL key", SEDX_ERROR_INVALID_ARGUMENT, "cfg or key is NULL",
           sedx_config_set_f64(c, NULL, 1.0));
    MIS_RC("sedx_config_set_f64", "NaN", SEDX_ERROR_INVALID_ARGUMENT, "NaN or infinity",
           sedx_config_set_f64(c, "f", NAN));
    MIS_RC("sedx_config_set_f64", "infinity", SEDX_ERROR_INVALID_ARGUMENT, "NaN or infinity",
           sedx_config_set_f64(c, "f", -INFINITY));
    MIS_RC("sedx_config_set_bool", "NULL cfg", SEDX_ERROR_INVALID_ARGUMENT, "cfg or key is NULL",
           sedx_config_set_bool(NULL, "b", false));
    MIS_RC("sedx_config_set_bool", "NULL key", SEDX_ERROR_INVALID_ARGUMENT, "cfg or key is NULL",
           sedx_config_set_bool(c, NULL, false));
    MIS_RC("sedx_config_set_string", "NULL cfg", SEDX_ERROR_INVALID_ARGUMENT, "cfg or key is NULL",
           sedx_config_set_string(NULL, "s", "x"));
    MIS_RC("sedx_config_set_string", "NULL key", SEDX_ERROR_INVALID_ARGUMENT, "cfg or key is NULL",
           sedx_config_set_string(c, NULL, "x"));
    MIS_RC("sedx_config_set_string", "NULL value", SEDX_ERROR_INVALID_ARGUMENT, "value is NULL",
           sedx_config_set_string(c, "s", NULL));
    MIS_RC("sedx_config_set_u64", "empty key", SEDX_ERROR_INVALID_ARGUMENT, "key", sedx_config_set_u64(c, "", 1));
    MIS_RC("sedx_config_set_string", "empty key", SEDX_ERROR_INVALID_ARGUMENT, "key", sedx_config_set_string(c, "", "x"));
    sedx_config_format(c, after, sizeof after);
    MIS_TRUE("sedx_config_set_*", "every refused call", "the configuration is unchanged",
             strcmp(before, after) == 0 && sedx_config_get_f64(c, "f", 0) == 1.5 &&
                 strcmp(sedx_config_get_string(c, "s", ""), "text") == 0);

    /* still works */
    MIS_RC("sedx_config_set_u64", "(valid, after the misuse)", SEDX_SUCCESS, LOG_NONE, sedx_config_set_u64(c, "n", 9));
    MIS_RC("sedx_config_save", "(valid, after the misuse)", SEDX_SUCCESS, LOG_NONE, sedx_config_save(c, path));
    sedx_config *back = NULL;
    MIS_RC("sedx_config_load", "(valid, after the misuse)", SEDX_SUCCESS, LOG_NONE, sedx_config_load(path, &back));
    MIS_TRUE("sedx_config_load", "(valid, after the misuse)", "the saved values read back",
             back && sedx_config_get_u64(back, "n", 0) == 9 && sedx_config_get_i64(back, "i", 0) == -3);
    sedx_config_destroy(back);
    sedx_config_destroy(c);
    unlink(path);
    unlink(bad);
    unlink(fifo);
    rmdir(sub);
    rmdir(dir);
    mis_end("module.h (config)");
}

/* ------------------------------------------------------------------------------------------
 * buffer.h: sedx_bytes (the seed's CPU-side byte buffer)
 * ---------------------------------------------------------------------------------------- */
typedef struct big_t {
    uint8_t bytes[128];
} big_t;

static void test_bytes(void **state)
{
    (void)state;
    mis_begin();
    sedx_bytes b = {0}, empty = {0};
    assert_int_equal(sedx_bytes_allocate(&b, 64), SEDX_SUCCESS);
    uint8_t ref[64], src[64], dst[64];
    tu_fill_random(ref, sizeof ref, &g_mis.rng);
    memcpy(b.data, ref, sizeof ref);
    memset(src, 0x77, sizeof src);
    uint8_t *held = b.data;

    MIS_RC("sedx_bytes_allocate", "NULL", SEDX_ERROR_INVALID_ARGUMENT, "sedx_bytes_allocate", sedx_bytes_allocate(NULL, 8));
    MIS_RC("sedx_bytes_allocate", "size 2^63 (past PTRDIFF_MAX)", SEDX_ERROR_INVALID_SIZE, "too large",
           sedx_bytes_allocate(&b, UINT64_C(1) << 63));
    MIS_RC("sedx_bytes_allocate", "size UINT64_MAX", SEDX_ERROR_INVALID_SIZE, "too large",
           sedx_bytes_allocate(&b, UINT64_MAX));
    MIS_TRUE("sedx_bytes_allocate", "every refused allocate", "b keeps what it held",
             b.data == held && b.size == 64 && memcmp(b.data, ref, 64) == 0);
    MIS_VOID("sedx_bytes_release", "NULL", LOG_NONE, sedx_bytes_release(NULL));
    MIS_VOID("sedx_bytes_release", "empty (zeroed)", LOG_NONE, sedx_bytes_release(&empty));
    MIS_RC("sedx_bytes_zero", "NULL", SEDX_ERROR_INVALID_ARGUMENT, "sedx_bytes_zero", sedx_bytes_zero(NULL));
    MIS_RC("sedx_bytes_zero", "empty (zeroed): no-op", SEDX_SUCCESS, LOG_NONE, sedx_bytes_zero(&empty));
    MIS_VAL("sedx_bytes_valid", "NULL", false, LOG_NONE, sedx_bytes_valid(NULL));
    MIS_VAL("sedx_bytes_size", "NULL", 0, LOG_NONE, sedx_bytes_size(NULL));

    MIS_RC("sedx_bytes_write", "NULL bytes", SEDX_ERROR_INVALID_ARGUMENT, "byte buffer is NULL",
           sedx_bytes_write(NULL, src, 8, 0));
    MIS_RC("sedx_bytes_write", "NULL src", SEDX_ERROR_INVALID_ARGUMENT, "src is NULL", sedx_bytes_write(&b, NULL, 8, 0));
    MIS_RC("sedx_bytes_write", "past the end (60 + 8 > 64)", SEDX_ERROR_OUT_OF_BOUNDS, "is outside 64 bytes",
           sedx_bytes_write(&b, src, 8, 60));
    MIS_RC("sedx_bytes_write", "offset + size wraps (offset UINT64_MAX - 3)", SEDX_ERROR_OUT_OF_BOUNDS,
           "is outside 64 bytes", sedx_bytes_write(&b, src, 8, UINT64_MAX - 3));
    MIS_RC("sedx_bytes_write", "size past 2^63", SEDX_ERROR_OUT_OF_BOUNDS, "is outside 64 bytes",
           sedx_bytes_write(&b, src, (UINT64_C(1) << 63) + 1, 0));
    MIS_RC("sedx_bytes_write", "empty (zeroed) bytes", SEDX_ERROR_OUT_OF_BOUNDS, "is outside 0 bytes",
           sedx_bytes_write(&empty, src, 1, 0));
    MIS_RC("sedx_bytes_write", "size 0: no-op", SEDX_SUCCESS, LOG_NONE, sedx_bytes_write(&b, NULL, 0, 64));
    MIS_TRUE("sedx_bytes_write", "every refused write", "the bytes are intact", memcmp(b.data, ref, 64) == 0);
    MIS_RC("sedx_bytes_write", "src overlaps the bytes (memmove)", SEDX_SUCCESS, LOG_NONE,
           sedx_bytes_write(&b, b.data + 8, 32, 16));
    uint8_t moved[64];
    memcpy(moved, ref, 64);
    memmove(moved + 16, moved + 8, 32);
    MIS_TRUE("sedx_bytes_write", "src overlaps the bytes (memmove)", "bytes as memmove gives", memcmp(b.data, moved, 64) == 0);
    memcpy(b.data, ref, 64);

    memset(dst, 0x5E, sizeof dst);
    MIS_RC("sedx_bytes_read", "NULL bytes", SEDX_ERROR_INVALID_ARGUMENT, "byte buffer is NULL",
           sedx_bytes_read(NULL, dst, 8, 0));
    MIS_RC("sedx_bytes_read", "NULL dst", SEDX_ERROR_INVALID_ARGUMENT, "dst is NULL", sedx_bytes_read(&b, NULL, 8, 0));
    MIS_RC("sedx_bytes_read", "past the end", SEDX_ERROR_OUT_OF_BOUNDS, "is outside 64 bytes",
           sedx_bytes_read(&b, dst, 65, 0));
    MIS_RC("sedx_bytes_read", "offset + size wraps", SEDX_ERROR_OUT_OF_BOUNDS, "is outside 64 bytes",
           sedx_bytes_read(&b, dst, 16, UINT64_MAX - 7));
    MIS_TRUE("sedx_bytes_read", "every refused read", "dst not written", mis_all(dst, 0x5E, sizeof dst));
    MIS_RC("sedx_bytes_read", "dst overlaps the bytes (memmove)", SEDX_SUCCESS, LOG_NONE,
           sedx_bytes_read(&b, b.data + 4, 32, 0));
    memcpy(moved, ref, 64);
    memmove(moved + 4, moved, 32);
    MIS_TRUE("sedx_bytes_read", "dst overlaps the bytes (memmove)", "bytes as memmove gives", memcmp(b.data, moved, 64) == 0);
    memcpy(b.data, ref, 64);

    sedx_bytes rb = {(uint8_t *)MIS_SENTINEL_PTR, MIS_SENTINEL_U64};
    MIS_RC("sedx_bytes_read_bytes", "NULL out", SEDX_ERROR_INVALID_ARGUMENT, "out is NULL",
           sedx_bytes_read_bytes(&b, 8, 0, NULL));
    MIS_RC("sedx_bytes_read_bytes", "NULL bytes", SEDX_ERROR_INVALID_ARGUMENT, "byte buffer is NULL",
           sedx_bytes_read_bytes(NULL, 8, 0, &rb));
    MIS_RC("sedx_bytes_read_bytes", "past the end", SEDX_ERROR_OUT_OF_BOUNDS, "is outside 64 bytes",
           sedx_bytes_read_bytes(&b, 8, 60, &rb));
    MIS_RC("sedx_bytes_read_bytes", "offset + size wraps", SEDX_ERROR_OUT_OF_BOUNDS, "is outside 64 bytes",
           sedx_bytes_read_bytes(&b, 2, UINT64_MAX, &rb));
    MIS_TRUE("sedx_bytes_read_bytes", "every refused call", "*out not written",
             rb.data == (uint8_t *)MIS_SENTINEL_PTR && rb.size == MIS_SENTINEL_U64);

    sedx_bytes cp = {0};
    assert_int_equal(sedx_bytes_copy(&cp, ref, 16), SEDX_SUCCESS);
    uint8_t *cp_held = cp.data;
    MIS_RC("sedx_bytes_copy", "NULL out", SEDX_ERROR_INVALID_ARGUMENT, "out is NULL", sedx_bytes_copy(NULL, ref, 8));
    MIS_RC("sedx_bytes_copy", "NULL data with size > 0", SEDX_ERROR_INVALID_ARGUMENT, "data is NULL",
           sedx_bytes_copy(&cp, NULL, 8));
    MIS_RC("sedx_bytes_copy", "size past PTRDIFF_MAX", SEDX_ERROR_INVALID_SIZE, "too large",
           sedx_bytes_copy(&cp, ref, UINT64_MAX));
    MIS_TRUE("sedx_bytes_copy", "every refused copy", "out keeps what it held",
             cp.data == cp_held && cp.size == 16 && memcmp(cp.data, ref, 16) == 0);
    sedx_bytes_release(&cp);

    MIS_PTR("sedx_bytes_ptr", "NULL bytes", NULL, "byte buffer is NULL", sedx_bytes_ptr(NULL, 0, 4, 4));
    MIS_PTR("sedx_bytes_ptr", "past the end", NULL, "is outside 64 bytes", sedx_bytes_ptr(&b, 62, 4, 1));
    MIS_PTR("sedx_bytes_ptr", "offset + size wraps", NULL, "is outside 64 bytes", sedx_bytes_ptr(&b, UINT64_MAX, 2, 1));
    MIS_PTR("sedx_bytes_ptr", "misaligned (offset 1, align 4)", NULL, "not aligned", sedx_bytes_ptr(&b, 1, 4, 4));
    MIS_PTR("sedx_bytes_ptr", "alignment 3 (not a power of two)", NULL, "not aligned", sedx_bytes_ptr(&b, 0, 4, 3));
    MIS_PTR("sedx_bytes_ptr", "alignment 0", NULL, "not aligned", sedx_bytes_ptr(&b, 0, 4, 0));
    MIS_PTR("sedx_bytes_ptr", "size 0", NULL, LOG_ANY, sedx_bytes_ptr(&b, 0, 0, 1));
    MIS_PTR("sedx_bytes_at", "index past the end (64)", NULL, "is outside 64 bytes", sedx_bytes_at(&b, 64));
    MIS_PTR("SEDX_BYTES_AS", "smaller than the type", NULL, "is outside 64 bytes", SEDX_BYTES_AS(&b, big_t));
    MIS_TRUE("sedx_bytes_*", "every refused call", "the bytes are intact", memcmp(b.data, ref, 64) == 0);

    /* still works */
    MIS_RC("sedx_bytes_write", "(valid, after the misuse)", SEDX_SUCCESS, LOG_NONE, sedx_bytes_write(&b, src, 64, 0));
    MIS_RC("sedx_bytes_read", "(valid, after the misuse)", SEDX_SUCCESS, LOG_NONE, sedx_bytes_read(&b, dst, 64, 0));
    MIS_TRUE("sedx_bytes_read", "(valid, after the misuse)", "the written bytes read back", memcmp(dst, src, 64) == 0);
    sedx_bytes_release(&b);
    mis_end("buffer.h (sedx_bytes)");
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_core),
        cmocka_unit_test(test_virtual_block),
        cmocka_unit_test(test_modules),
        cmocka_unit_test(test_config),
        cmocka_unit_test(test_bytes),
    };
    return mis_main(tests, sizeof tests / sizeof tests[0]);
}
