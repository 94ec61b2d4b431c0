/* Modules (lifecycle, update, UI, attach failure) and the JSON configuration. No GPU. */
#include "test_util.h"

#include <sedx/module.h>

#include <errno.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

/* ------------------------------------------------------------------------------------------
 * Modules
 * ---------------------------------------------------------------------------------------- */
static char g_events[512]; /* "attach:A detach:B ..." */

static void event(const char *what, sedx_module *m)
{
    sedx_text_append(g_events, sizeof g_events, "%s:%s ", what, sedx_module_name(m));
}

typedef struct probe {
    int updates;
    double dt_sum;
    sedx_result attach_result;
    sedx_result nested; /* what a push from inside a callback returned */
} probe;

static sedx_result probe_attach(sedx_module *m)
{
    event("attach", m);
    probe *p = sedx_module_user(m);
    return p ? p->attach_result : SEDX_SUCCESS;
}
static void probe_detach(sedx_module *m) { event("detach", m); }
static void probe_update(sedx_module *m, double dt)
{
    event("update", m);
    probe *p = sedx_module_user(m);
    p->updates++;
    p->dt_sum += dt;
}
static void probe_ui(sedx_module *m, char *text, size_t cap)
{
    probe *p = sedx_module_user(m);
    sedx_text_append(text, cap, "updates: %d", p->updates);
}

static sedx_module_desc probe_desc(const char *name, probe *p)
{
    sedx_module_desc d = {0};
    d.name = name;
    d.user = p;
    d.on_attach = probe_attach;
    d.on_detach = probe_detach;
    d.on_update = probe_update;
    d.on_ui = probe_ui;
    return d;
}

static void test_lifecycle_order(void **state)
{
    (void)state;
    int64_t live = sedx_host_allocation_count();
    g_events[0] = '\0';
    sedx_module_stack *s = NULL;
    assert_int_equal(sedx_module_stack_create(NULL, &s), SEDX_SUCCESS);
    probe a = {0}, b = {0}, c = {0};
    sedx_module_desc da = probe_desc("A", &a), db = probe_desc("B", &b), dc = probe_desc("C", &c);
    sedx_module *ma = NULL, *mb = NULL;
    assert_int_equal(sedx_module_push(s, &da, &ma), SEDX_SUCCESS);
    assert_int_equal(sedx_module_push(s, &db, &mb), SEDX_SUCCESS);
    assert_int_equal(sedx_module_push(s, &dc, NULL), SEDX_SUCCESS);
    assert_int_equal(sedx_module_stack_count(s), 3);
    assert_string_equal(sedx_module_name(ma), "A");
    assert_ptr_equal(sedx_module_user(mb), &b);
    assert_ptr_equal(sedx_module_find(s, "B"), mb);
    assert_null(sedx_module_find(s, "nope"));
    assert_ptr_equal(sedx_module_stack_get(s, 0), ma);
    assert_null(sedx_module_stack_get(s, 3));
    assert_ptr_equal(sedx_module_get_stack(ma), s);
    assert_null(sedx_module_context(ma));
    sedx_module_stack_update(s, 0.5);
    sedx_module_stack_destroy(s);
    assert_string_equal(g_events, "attach:A attach:B attach:C update:A update:B update:C "
                                  "detach:C detach:B detach:A ");
    assert_int_equal(sedx_host_allocation_count(), live);
}

static void test_update_loop_and_enable(void **state)
{
    (void)state;
    sedx_module_stack *s = NULL;
    assert_int_equal(sedx_module_stack_create(NULL, &s), SEDX_SUCCESS);
    probe a = {0}, b = {0};
    sedx_module_desc da = probe_desc("A", &a), db = probe_desc("B", &b);
    sedx_module *mb = NULL;
    assert_int_equal(sedx_module_push(s, &da, NULL), SEDX_SUCCESS);
    assert_int_equal(sedx_module_push(s, &db, &mb), SEDX_SUCCESS);
    for (int frame = 0; frame < 10; ++frame) {
        if (frame == 4) sedx_module_set_enabled(mb, false);
        if (frame == 8) sedx_module_set_enabled(mb, true);
        sedx_module_stack_update(s, 0.25);
    }
    assert_int_equal(a.updates, 10);
    assert_int_equal(b.updates, 6);
    assert_true(a.dt_sum == 2.5);
    assert_true(sedx_module_enabled(mb));
    /* UI for every module, disabled ones marked */
    sedx_module_set_enabled(mb, false);
    char ui[256];
    size_t n = sedx_module_stack_ui(s, ui, sizeof ui);
    assert_string_equal(ui, "== A ==\nupdates: 10\n== B == (disabled)\nupdates: 6\n");
    assert_int_equal(n, strlen(ui));
    /* a small buffer: cut, NUL-terminated */
    char small[12];
    memset(small, 'x', sizeof small);
    n = sedx_module_stack_ui(s, small, sizeof small);
    assert_int_equal(n, 11);
    assert_int_equal(small[11], '\0');
    assert_memory_equal(small, "== A ==\nupd", 11);
    /* pop detaches the top, remove any */
    g_events[0] = '\0';
    assert_int_equal(sedx_module_pop(s), SEDX_SUCCESS);
    assert_string_equal(g_events, "detach:B ");
    sedx_set_log_level(SEDX_LOG_OFF);
    assert_int_equal(sedx_module_remove(s, mb), SEDX_ERROR_INVALID_HANDLE); /* stale: not dereferenced */
    assert_int_equal(sedx_module_pop(s), SEDX_SUCCESS);
    assert_int_equal(sedx_module_pop(s), SEDX_ERROR_INVALID_ARGUMENT);      /* empty */
    sedx_set_log_level(SEDX_LOG_WARN);
    sedx_module_stack_destroy(s);
}

static void test_attach_failure(void **state)
{
    (void)state;
    int64_t live = sedx_host_allocation_count();
    tu_log_capture();
    g_events[0] = '\0';
    sedx_module_stack *s = NULL;
    assert_int_equal(sedx_module_stack_create(NULL, &s), SEDX_SUCCESS);
    probe ok = {0}, bad = {.attach_result = SEDX_ERROR_OUT_OF_DEVICE_MEMORY};
    sedx_module_desc d1 = probe_desc("Good", &ok), d2 = probe_desc("Broken", &bad);
    sedx_module *m = (sedx_module *)&ok; /* must stay untouched on failure */
    assert_int_equal(sedx_module_push(s, &d1, NULL), SEDX_SUCCESS);
    assert_int_equal(sedx_module_push(s, &d2, &m), SEDX_ERROR_OUT_OF_DEVICE_MEMORY);
    assert_ptr_equal(m, &ok);
    assert_int_equal(sedx_module_stack_count(s), 1);
    assert_int_equal(tu_log_count(SEDX_LOG_ERROR), 1);
    assert_true(tu_log_contains("[MODULE] 'Broken' failed to attach: SEDX_ERROR_OUT_OF_DEVICE_MEMORY"));
    sedx_module_stack_update(s, 1.0);
    assert_int_equal(bad.updates, 0);
    sedx_module_stack_destroy(s);
    /* the failed module is never detached */
    assert_string_equal(g_events, "attach:Good attach:Broken update:Good detach:Good ");
    sedx_set_logger(NULL, NULL);
    sedx_set_log_level(SEDX_LOG_WARN);
    assert_int_equal(sedx_host_allocation_count(), live);
}

/* A module that tries to change the stack from its callbacks. */
static sedx_result nested_attach(sedx_module *m)
{
    probe *p = sedx_module_user(m);
    sedx_module_desc d = {.name = "inner"};
    p->nested = sedx_module_push(sedx_module_get_stack(m), &d, NULL);
    assert_ptr_equal(sedx_module_find(sedx_module_get_stack(m), "outer"), m); /* visible during attach */
    return SEDX_SUCCESS;
}
static void nested_update(sedx_module *m, double dt)
{
    (void)dt;
    probe *p = sedx_module_user(m);
    p->nested = sedx_module_pop(sedx_module_get_stack(m));
    sedx_module_stack_destroy(sedx_module_get_stack(m)); /* refused, no effect */
    p->updates++;
}

static void test_reentrancy_and_defaults(void **state)
{
    (void)state;
    sedx_set_log_level(SEDX_LOG_OFF);
    sedx_module_stack *s = NULL;
    assert_int_equal(sedx_module_stack_create(NULL, &s), SEDX_SUCCESS);
    probe p = {0};
    sedx_module_desc d = {.name = "outer", .user = &p, .on_attach = nested_attach, .on_update = nested_update};
    assert_int_equal(sedx_module_push(s, &d, NULL), SEDX_SUCCESS);
    assert_int_equal(p.nested, SEDX_ERROR_BUSY);
    assert_int_equal(sedx_module_stack_count(s), 1);
    p.nested = SEDX_SUCCESS;
    sedx_module_stack_update(s, 0.0);
    assert_int_equal(p.nested, SEDX_ERROR_BUSY);
    assert_int_equal(p.updates, 1);
    /* zero desc: no callbacks, default name */
    sedx_module_desc zero = {0};
    sedx_module *z = NULL;
    assert_int_equal(sedx_module_push(s, &zero, &z), SEDX_SUCCESS);
    assert_string_equal(sedx_module_name(z), "Module");
    sedx_module_stack_update(s, 0.0);
    char ui[64];
    sedx_module_stack_ui(s, ui, sizeof ui);
    assert_string_equal(ui, "== outer ==\n== Module ==\n");
    /* misuse */
    assert_int_equal(sedx_module_push(NULL, &zero, NULL), SEDX_ERROR_INVALID_ARGUMENT);
    assert_int_equal(sedx_module_push(s, NULL, NULL), SEDX_ERROR_INVALID_ARGUMENT);
    assert_int_equal(sedx_module_stack_create(NULL, NULL), SEDX_ERROR_INVALID_ARGUMENT);
    assert_null(sedx_module_name(NULL));
    assert_int_equal(sedx_module_stack_ui(NULL, ui, sizeof ui), 0);
    sedx_module_stack_update(NULL, 1.0);
    sedx_module_stack_destroy(NULL);
    sedx_module_stack_destroy(s);
    sedx_set_log_level(SEDX_LOG_WARN);
}

static void test_text_append(void **state)
{
    (void)state;
    char t[8] = "";
    assert_int_equal(sedx_text_append(t, sizeof t, "%s", "abc"), 3);
    assert_int_equal(sedx_text_append(t, sizeof t, "%d", 12345), 8);
    assert_string_equal(t, "abc1234");
    assert_int_equal(sedx_text_append(t, sizeof t, "zz"), 9);
    assert_string_equal(t, "abc1234");
    assert_int_equal(sedx_text_append(NULL, 0, "%d", 42), 2);
}

/* ------------------------------------------------------------------------------------------
 * Configuration
 * ---------------------------------------------------------------------------------------- */

static void path_in_dir(char *out, size_t cap, const char *name) { snprintf(out, cap, "%s/%s", tu_temp_dir(), name); }

static void write_file(const char *path, const char *text)
{
    FILE *f = fopen(path, "wb");
    assert_non_null(f);
    fputs(text, f);
    fclose(f);
}

static void test_config_missing_file_defaults(void **state)
{
    (void)state;
    tu_log_capture();
    char path[128];
    path_in_dir(path, sizeof path, "no-such-file.json");
    sedx_config *cfg = NULL;
    assert_int_equal(sedx_config_load(path, &cfg), SEDX_SUCCESS);
    assert_non_null(cfg);
    assert_int_equal(sedx_config_count(cfg), 0);
    assert_int_equal(sedx_config_get_u64(cfg, "maxVertexBufferSize", 64u << 20), 64u << 20);
    assert_true(sedx_config_get_bool(cfg, "enableDebugNames", true));
    assert_string_equal(sedx_config_get_string(cfg, "name", "dflt"), "dflt");
    assert_int_equal(tu_log_count(SEDX_LOG_WARN) + tu_log_count(SEDX_LOG_ERROR), 0);
    assert_true(tu_log_contains("not found: using defaults"));
    sedx_config_destroy(cfg);
    sedx_set_logger(NULL, NULL);
    sedx_set_log_level(SEDX_LOG_WARN);
}

static void test_config_round_trip(void **state)
{
    (void)state;
    int64_t live = sedx_host_allocation_count();
    char path[128];
    path_in_dir(path, sizeof path, "round.json");
    sedx_config *cfg = NULL;
    assert_int_equal(sedx_config_create(&cfg), SEDX_SUCCESS);
    assert_int_equal(sedx_config_set_u64(cfg, "maxVertexBufferSize", 64u << 20), SEDX_SUCCESS);
    assert_int_equal(sedx_config_set_u64(cfg, "big", UINT64_MAX), SEDX_SUCCESS);
    assert_int_equal(sedx_config_set_i64(cfg, "offset", -42), SEDX_SUCCESS);
    assert_int_equal(sedx_config_set_f64(cfg, "scale", 0.1), SEDX_SUCCESS);
    assert_int_equal(sedx_config_set_bool(cfg, "enableDebugNames", false), SEDX_SUCCESS);
    assert_int_equal(sedx_config_set_string(cfg, "name", "quote \" slash \\ tab \t é"), SEDX_SUCCESS);
    assert_int_equal(sedx_config_set_u64(cfg, "maxVertexBufferSize", 1234), SEDX_SUCCESS); /* replace */
    assert_int_equal(sedx_config_count(cfg), 6);
    sedx_set_log_level(SEDX_LOG_OFF);
    assert_int_equal(sedx_config_set_f64(cfg, "nan", NAN), SEDX_ERROR_INVALID_ARGUMENT);
    assert_int_equal(sedx_config_set_string(cfg, "s", NULL), SEDX_ERROR_INVALID_ARGUMENT);
    assert_int_equal(sedx_config_set_u64(cfg, NULL, 1), SEDX_ERROR_INVALID_ARGUMENT);
    sedx_set_log_level(SEDX_LOG_WARN);
    char text[512];
    size_t need = sedx_config_format(cfg, text, sizeof text);
    assert_int_equal(need, strlen(text));
    assert_non_null(strstr(text, "18446744073709551615")); /* exact, not a double */
    char tiny[4];
    assert_int_equal(sedx_config_format(cfg, tiny, sizeof tiny), need);
    assert_string_equal(tiny, "{\n\t");
    assert_int_equal(sedx_config_save(cfg, path), SEDX_SUCCESS);
    sedx_config_destroy(cfg);

    assert_int_equal(sedx_config_load(path, &cfg), SEDX_SUCCESS);
    assert_int_equal(sedx_config_count(cfg), 6);
    assert_string_equal(sedx_config_key(cfg, 0), "maxVertexBufferSize"); /* order kept */
    assert_int_equal(sedx_config_get_u64(cfg, "maxVertexBufferSize", 0), 1234);
    assert_int_equal(sedx_config_get_i64(cfg, "offset", 0), -42);
    assert_true(sedx_config_get_f64(cfg, "scale", 0.0) == 0.1);
    assert_false(sedx_config_get_bool(cfg, "enableDebugNames", true));
    assert_string_equal(sedx_config_get_string(cfg, "name", ""), "quote \" slash \\ tab \t é");
    assert_true(sedx_config_get_f64(cfg, "maxVertexBufferSize", 0.0) == 1234.0);
    assert_int_equal(sedx_config_get_i64(cfg, "maxVertexBufferSize", 0), 1234);
    assert_int_equal(sedx_config_remove(cfg, "name"), SEDX_SUCCESS);
    assert_int_equal(sedx_config_remove(cfg, "name"), SEDX_SUCCESS); /* missing: no-op */
    assert_false(sedx_config_has(cfg, "name"));
    assert_int_equal(sedx_config_count(cfg), 5);
    /* saving over an existing file replaces it, no .tmp left behind */
    assert_int_equal(sedx_config_save(cfg, path), SEDX_SUCCESS);
    char tmp[140];
    snprintf(tmp, sizeof tmp, "%s.tmp", path);
    assert_int_equal(access(tmp, F_OK), -1);
    sedx_config_destroy(cfg);
    assert_int_equal(sedx_host_allocation_count(), live);
}

static void test_config_malformed(void **state)
{
    (void)state;
    tu_log_capture();
    char path[128];
    path_in_dir(path, sizeof path, "bad.json");
    write_file(path, "{\n  \"a\": 1,\n  \"b\": [1, 2,\n}\n");
    sedx_config *cfg = (sedx_config *)&cfg;
    assert_int_equal(sedx_config_load(path, &cfg), SEDX_ERROR_PARSE);
    assert_ptr_equal(cfg, (sedx_config *)&cfg); /* untouched */
    assert_int_equal(tu_log_count(SEDX_LOG_ERROR), 1);
    assert_true(tu_log_contains("[CONFIG]"));
    assert_true(tu_log_contains("bad.json:4:1: malformed JSON"));
    static const char *const bad[] = {"", "   ", "[1, 2]", "42", "{\"a\": 1} trailing", "{\"a\": 1}{}",
                                      "{\"a\": tru}", "{\"a\": 1e999}", "{'a': 1}", "{\"a\": 1,}"};
    for (size_t i = 0; i < sizeof bad / sizeof bad[0]; ++i) {
        tu_log_reset();
        assert_int_equal(sedx_config_parse(bad[i], strlen(bad[i]), "mem", &cfg), SEDX_ERROR_PARSE);
        assert_int_equal(tu_log_count(SEDX_LOG_ERROR), 1);
    }
    /* a UTF-8 byte order mark is skipped; duplicate keys: the last wins, at the first's place */
    const char bom[] = "\xEF\xBB\xBF{\"a\": 1, \"b\": 2, \"a\": 3}";
    assert_int_equal(sedx_config_parse(bom, strlen(bom), NULL, &cfg), SEDX_SUCCESS);
    assert_int_equal(sedx_config_count(cfg), 2);
    assert_string_equal(sedx_config_key(cfg, 0), "a");
    assert_int_equal(sedx_config_get_u64(cfg, "a", 0), 3);
    sedx_config_destroy(cfg);
    /* not NUL-terminated: only size bytes are read */
    const char json[] = "{\"a\": 7}XXXX";
    assert_int_equal(sedx_config_parse(json, 8, NULL, &cfg), SEDX_SUCCESS);
    assert_int_equal(sedx_config_get_u64(cfg, "a", 0), 7);
    sedx_config_destroy(cfg);
    sedx_set_logger(NULL, NULL);
    sedx_set_log_level(SEDX_LOG_WARN);
}

static void test_config_unknown_keys_and_types(void **state)
{
    (void)state;
    tu_log_capture();
    const char *json = "{ \"uniformBufferSize\": \"big\", \"maxIndexBufferSize\": -5,"
                       "  \"maxVertexBufferSize\": 1.5, \"enableDebugNames\": 1,"
                       "  \"futureOption\": {\"nested\": [1, {\"x\": null}]}, \"list\": [true],"
                       "  \"unset\": null, \"name\": 3, \"huge\": 1e30, \"neg\": -3 }";
    sedx_config *cfg = NULL;
    assert_int_equal(sedx_config_parse(json, strlen(json), "types.json", &cfg), SEDX_SUCCESS);
    assert_int_equal(tu_log_count(SEDX_LOG_WARN), 0); /* unknown keys are no problem */
    assert_int_equal(sedx_config_get_u64(cfg, "uniformBufferSize", 1024), 1024);
    assert_true(tu_log_contains("types.json: 'uniformBufferSize' is a string, expected an unsigned integer"));
    assert_int_equal(sedx_config_get_u64(cfg, "maxIndexBufferSize", 16), 16);
    assert_int_equal(sedx_config_get_u64(cfg, "maxVertexBufferSize", 64), 64);
    assert_true(sedx_config_get_bool(cfg, "enableDebugNames", true));
    assert_int_equal(sedx_config_get_u64(cfg, "futureOption", 9), 9);
    assert_true(tu_log_contains("'futureOption' is an object"));
    assert_string_equal(sedx_config_get_string(cfg, "list", "d"), "d");
    assert_true(tu_log_contains("'list' is an array"));
    assert_string_equal(sedx_config_get_string(cfg, "name", "d"), "d");
    assert_int_equal(sedx_config_get_u64(cfg, "huge", 3), 3);
    assert_int_equal(sedx_config_get_i64(cfg, "huge", 3), 3);
    assert_true(sedx_config_get_f64(cfg, "huge", 0) == 1e30);
    assert_int_equal(sedx_config_get_i64(cfg, "neg", 0), -3);
    assert_true(sedx_config_get_f64(cfg, "neg", 0) == -3.0);
    assert_int_equal(tu_log_count(SEDX_LOG_WARN), 9);
    /* null means "not set": the default, silently */
    assert_int_equal(sedx_config_get_u64(cfg, "unset", 5), 5);
    assert_int_equal(tu_log_count(SEDX_LOG_WARN), 9);
    assert_int_equal(tu_log_count(SEDX_LOG_ERROR), 0);
    /* unknown values survive a round trip */
    char text[1024];
    sedx_config_format(cfg, text, sizeof text);
    assert_non_null(strstr(text, "{\"nested\":[1,{\"x\":null}]}"));
    assert_non_null(strstr(text, "\"unset\":\tnull"));
    sedx_config *again = NULL;
    assert_int_equal(sedx_config_parse(text, strlen(text), "again", &again), SEDX_SUCCESS);
    assert_int_equal(sedx_config_count(again), sedx_config_count(cfg));
    char text2[1024];
    sedx_config_format(again, text2, sizeof text2);
    assert_string_equal(text, text2);
    sedx_config_destroy(again);
    sedx_config_destroy(cfg);
    sedx_set_logger(NULL, NULL);
    sedx_set_log_level(SEDX_LOG_WARN);
}

static void test_config_io_errors(void **state)
{
    (void)state;
    tu_log_capture();
    sedx_config *cfg = NULL;
    /* a directory */
    assert_int_equal(sedx_config_load(tu_temp_dir(), &cfg), SEDX_ERROR_IO);
    assert_true(tu_log_contains("[CONFIG]"));
    /* a path through a regular file (ENOTDIR, not "missing") */
    char file[128], through[160];
    path_in_dir(file, sizeof file, "plain");
    write_file(file, "{}");
    snprintf(through, sizeof through, "%s/x.json", file);
    tu_log_reset();
    assert_int_equal(sedx_config_load(through, &cfg), SEDX_ERROR_IO);
    assert_int_equal(tu_log_count(SEDX_LOG_ERROR), 1);
    assert_null(cfg);
    /* unreadable, when not root */
    if (geteuid() != 0) {
        chmod(file, 0);
        assert_int_equal(sedx_config_load(file, &cfg), SEDX_ERROR_IO);
        chmod(file, 0644);
    }
    /* save into a missing directory */
    assert_int_equal(sedx_config_create(&cfg), SEDX_SUCCESS);
    char missing[160];
    snprintf(missing, sizeof missing, "%s/no/such/dir.json", tu_temp_dir());
    tu_log_reset();
    assert_int_equal(sedx_config_save(cfg, missing), SEDX_ERROR_IO);
    assert_int_equal(tu_log_count(SEDX_LOG_ERROR), 1);
    assert_int_equal(sedx_config_save(cfg, tu_temp_dir()), SEDX_ERROR_IO); /* rename over a directory */
    char tmp[80];
    snprintf(tmp, sizeof tmp, "%s.tmp", tu_temp_dir());
    assert_int_equal(access(tmp, F_OK), -1);
    /* NULLs */
    assert_int_equal(sedx_config_load(NULL, &cfg), SEDX_ERROR_INVALID_ARGUMENT);
    assert_int_equal(sedx_config_save(NULL, missing), SEDX_ERROR_INVALID_ARGUMENT);
    assert_int_equal(sedx_config_get_u64(NULL, "a", 7), 7);
    sedx_config_destroy(cfg);
    sedx_config_destroy(NULL);
    sedx_set_logger(NULL, NULL);
    sedx_set_log_level(SEDX_LOG_WARN);
}

/* Every host allocation the config and module code makes can fail: an error, never a crash or
 * a leak. */
static long g_alloc_n, g_fail_at;
static void *f_alloc(size_t size, void *u)
{
    (void)u;
    return g_alloc_n++ == g_fail_at ? NULL : malloc(size);
}
static void *f_realloc(void *p, size_t size, void *u)
{
    (void)u;
    return g_alloc_n++ == g_fail_at ? NULL : realloc(p, size);
}
static void f_free(void *p, void *u)
{
    (void)u;
    free(p);
}

static bool oom_scenario(void)
{
    bool ok = true;
    const char *json = "{\"a\": 1, \"b\": \"two\", \"c\": [3], \"d\": true, \"e\": -1.5}";
    sedx_config *cfg = NULL;
    if (sedx_config_parse(json, strlen(json), "oom.json", &cfg) != SEDX_SUCCESS) return false;
    for (int i = 0; i < 20; ++i) {
        char key[16];
        snprintf(key, sizeof key, "k%d", i);
        ok &= sedx_config_set_string(cfg, key, "value") == SEDX_SUCCESS;
    }
    ok &= sedx_config_set_string(cfg, "b", "three") == SEDX_SUCCESS;
    if (ok) assert_string_equal(sedx_config_get_string(cfg, "b", ""), "three");
    else assert_non_null(sedx_config_get_string(cfg, "b", NULL)); /* old or new, never freed */
    sedx_config_destroy(cfg);
    sedx_module_stack *s = NULL;
    if (sedx_module_stack_create(NULL, &s) != SEDX_SUCCESS) return false;
    for (int i = 0; i < 10; ++i) {
        sedx_module_desc d = {.name = "m"};
        ok &= sedx_module_push(s, &d, NULL) == SEDX_SUCCESS;
    }
    sedx_module_stack_destroy(s);
    return ok;
}

static void test_host_oom(void **state)
{
    (void)state;
    sedx_set_log_level(SEDX_LOG_OFF);
    int64_t live = sedx_host_allocation_count();
    sedx_host_allocator a = {f_alloc, f_realloc, f_free, NULL};
    sedx_set_host_allocator(&a);
    for (g_fail_at = 0;; ++g_fail_at) {
        g_alloc_n = 0;
        bool ok = oom_scenario();
        assert_int_equal(sedx_host_allocation_count(), live);
        if (ok && g_alloc_n <= g_fail_at) break; /* the scenario ran without hitting the failure */
    }
    assert_true(g_fail_at > 30);
    sedx_set_host_allocator(NULL);
    sedx_set_log_level(SEDX_LOG_WARN);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_lifecycle_order),
        cmocka_unit_test(test_update_loop_and_enable),
        cmocka_unit_test(test_attach_failure),
        cmocka_unit_test(test_reentrancy_and_defaults),
        cmocka_unit_test(test_text_append),
        cmocka_unit_test(test_config_missing_file_defaults),
        cmocka_unit_test(test_config_round_trip),
        cmocka_unit_test(test_config_malformed),
        cmocka_unit_test(test_config_unknown_keys_and_types),
        cmocka_unit_test(test_config_io_errors),
        cmocka_unit_test(test_host_oom),
    };
    return cmocka_run_group_tests(tests, tu_temp_dir_setup, tu_temp_dir_teardown);
}
