/* Core: results, logging, host allocation callbacks, handle pool, profiling. No GPU. */
#include "test_util.h"
#include "core/core.h"

#include <cjson/cJSON.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

static void test_result_names(void **state)
{
    (void)state;
    assert_string_equal(sedx_result_name(SEDX_SUCCESS), "SEDX_SUCCESS");
    assert_string_equal(sedx_result_name(SEDX_ERROR_OUT_OF_BOUNDS), "SEDX_ERROR_OUT_OF_BOUNDS");
    assert_string_equal(sedx_result_name((sedx_result)-9999), "SEDX_UNKNOWN_RESULT");
    assert_string_equal(sedx_result_string((sedx_result)12345), "unknown result code");
    /* the library linked is the version of the headers */
    assert_int_equal(sedx_version(), SEDX_VERSION);
    char v[32];
    snprintf(v, sizeof v, "%u.%u.%u", SEDX_VERSION_MAJOR_OF(sedx_version()), SEDX_VERSION_MINOR_OF(sedx_version()),
             SEDX_VERSION_PATCH_OF(sedx_version()));
    assert_string_equal(sedx_version_string(), v);
    /* every listed code: negative for errors, distinct names and values */
    static const int values[] = {
#define V(name, value, text) value,
        SEDX_RESULT_LIST(V)
#undef V
    };
    static const char *names[] = {
#define N(name, value, text) #name,
        SEDX_RESULT_LIST(N)
#undef N
    };
    size_t n = sizeof values / sizeof values[0];
    for (size_t i = 0; i < n; ++i) {
        assert_string_equal(sedx_result_name((sedx_result)values[i]), names[i]);
        assert_true(strlen(sedx_result_string((sedx_result)values[i])) > 3);
        if (strncmp(names[i], "SEDX_ERROR_", 11) == 0) assert_true(values[i] < 0);
        else assert_true(values[i] >= 0);
        for (size_t j = i + 1; j < n; ++j) assert_int_not_equal(values[i], values[j]);
    }
}

typedef struct {
    int calls;
    sedx_log_level level;
    char tag[32], msg[256], file[128];
    int line;
} log_record;

static void record_logger(sedx_log_level level, const char *tag, const char *message, const char *file, int line,
                          void *user)
{
    log_record *r = user;
    r->calls++;
    r->level = level;
    snprintf(r->tag, sizeof r->tag, "%s", tag ? tag : "(null)");
    snprintf(r->msg, sizeof r->msg, "%s", message);
    snprintf(r->file, sizeof r->file, "%s", file);
    r->line = line;
}

static void test_logging(void **state)
{
    (void)state;
    log_record rec = {0};
    sedx_set_logger(record_logger, &rec);
    sedx_set_log_level(SEDX_LOG_INFO);
    int line = __LINE__ + 1;
    SEDX_LOG_INFO_TAG("BUFFER", "created %s of %d bytes", "vb", 1024);
    assert_int_equal(rec.calls, 1);
    assert_int_equal(rec.level, SEDX_LOG_INFO);
    assert_string_equal(rec.tag, "BUFFER");
    assert_string_equal(rec.msg, "created vb of 1024 bytes");
    assert_non_null(strstr(rec.file, "core.c"));
    assert_int_equal(rec.line, line);
    /* filtered below the level */
    SEDX_LOG_DEBUG_TAG("BUFFER", "hidden");
    assert_int_equal(rec.calls, 1);
    SEDX_LOG_ERROR("untagged %d", 7);
    assert_int_equal(rec.calls, 2);
    assert_string_equal(rec.tag, "(null)");
    assert_int_equal(rec.level, SEDX_LOG_ERROR);
    /* a message longer than the stack buffer arrives whole */
    char big[2000];
    memset(big, 'x', sizeof big - 1);
    big[sizeof big - 1] = '\0';
    SEDX_LOG_WARN_TAG("T", "%s", big);
    assert_int_equal(rec.calls, 3);
    sedx_set_log_level(SEDX_LOG_OFF);
    SEDX_LOG_ERROR_TAG("T", "off");
    assert_int_equal(rec.calls, 3);
    sedx_set_logger(NULL, NULL);
    sedx_set_log_level(SEDX_LOG_WARN);
    assert_string_equal(sedx_log_level_name(SEDX_LOG_WARN), "WARN");
}

typedef struct {
    int allocs, frees;
    int fail_after; /* -1 = never */
} counting_alloc;

static void *c_alloc(size_t size, void *u)
{
    counting_alloc *c = u;
    if (c->fail_after >= 0 && c->allocs >= c->fail_after) return NULL;
    c->allocs++;
    return malloc(size);
}
static void *c_realloc(void *p, size_t size, void *u)
{
    (void)u;
    return realloc(p, size);
}
static void c_free(void *p, void *u)
{
    counting_alloc *c = u;
    c->frees++;
    free(p);
}

static void test_host_allocator(void **state)
{
    (void)state;
    counting_alloc c = {0, 0, -1};
    sedx_host_allocator a = {c_alloc, c_realloc, c_free, &c};
    sedx_set_host_allocator(&a);
    int64_t live0 = sedx_host_allocation_count();
    void *p = sedx__malloc(100);
    assert_non_null(p);
    assert_int_equal(c.allocs, 1);
    assert_int_equal(sedx_host_allocation_count(), live0 + 1);
    sedx__free(p);
    assert_int_equal(c.frees, 1);
    assert_int_equal(sedx_host_allocation_count(), live0);
    assert_null(sedx__calloc(SIZE_MAX / 2, 4)); /* overflow: refused, not wrapped */
    c.fail_after = 1;
    assert_null(sedx__malloc(8));
    sedx_set_host_allocator(NULL);
}

static void test_handle_pool(void **state)
{
    (void)state;
    sedx__handle_pool pool;
    assert_int_equal(sedx__handle_pool_init(&pool), SEDX_SUCCESS);
    int objs[3000];
    sedx__handle h[3000];
    for (int i = 0; i < 3000; ++i) assert_int_equal(sedx__handle_alloc(&pool, &objs[i], &h[i]), SEDX_SUCCESS);
    assert_int_equal(sedx__handle_live(&pool), 3000);
    for (int i = 0; i < 3000; ++i) assert_ptr_equal(sedx__handle_get(&pool, h[i]), &objs[i]);
    assert_null(sedx__handle_get(&pool, 0));
    assert_null(sedx__handle_get(&pool, 0xFFFFFFFFFFFFFFFFull));
    assert_int_equal(sedx__handle_free(&pool, h[5]), SEDX_SUCCESS);
    assert_null(sedx__handle_get(&pool, h[5]));                                 /* stale */
    assert_int_equal(sedx__handle_free(&pool, h[5]), SEDX_ERROR_INVALID_HANDLE); /* double free */
    sedx__handle again;
    assert_int_equal(sedx__handle_alloc(&pool, &objs[5], &again), SEDX_SUCCESS);
    assert_int_not_equal(again, h[5]);           /* same slot, new generation */
    assert_int_equal((uint32_t)again, (uint32_t)h[5]);
    assert_null(sedx__handle_get(&pool, h[5]));  /* the old handle stays dead */
    assert_ptr_equal(sedx__handle_get(&pool, again), &objs[5]);
    sedx__handle_pool_finish(&pool);
}

/* sedx__map against a reference (a plain array of keys): random puts, replaces, gets and
 * removes with colliding keys, so clusters wrap around the end and backward shifts run. */
static void test_map(void **state)
{
    (void)state;
    enum { KEYS = 4096, OPS = 200000 };
    static void *ref[KEYS]; /* value of key i + 1, NULL = absent */
    memset(ref, 0, sizeof ref);
    sedx__map m = {0};
    uint64_t rng = tu_seed();
    uint32_t count = 0;
    for (int op = 0; op < OPS; ++op) {
        uint32_t k = (uint32_t)(tu_rand(&rng) % KEYS);
        uint64_t key = (uint64_t)k + 1; /* small counters, as handles of some drivers are */
        switch (tu_rand(&rng) % 3) {
        case 0: {
            void *v = (void *)(uintptr_t)(tu_rand(&rng) | 1);
            assert_int_equal(sedx__map_put(&m, key, v), SEDX_SUCCESS);
            if (!ref[k]) count++;
            ref[k] = v;
            break;
        }
        case 1:
            if (ref[k]) count--;
            sedx__map_remove(&m, key);
            ref[k] = NULL;
            break;
        default: assert_ptr_equal(sedx__map_get(&m, key), ref[k]);
        }
        assert_int_equal(m.count, count);
        if (op % 20000 == 0)
            for (uint32_t i = 0; i < KEYS; ++i) assert_ptr_equal(sedx__map_get(&m, (uint64_t)i + 1), ref[i]);
    }
    assert_true(m.count * 2 <= m.cap);
    assert_null(sedx__map_get(&m, 0));
    assert_int_equal(sedx__map_put(&m, 0, &m), SEDX_ERROR_INVALID_ARGUMENT); /* 0 is "empty" */
    sedx__map_remove(&m, 0);
    sedx__map_free(&m);
    assert_null(sedx__map_get(&m, 1));
}

static void test_profiling(void **state)
{
    (void)state;
    sedx_profile_clear();
    {
        SEDX_PROFILE_SCOPE("disabled");
    }
    assert_int_equal(sedx_profile_events(NULL, 0), 0);
    sedx_profile_enable(true);
    for (int i = 0; i < 3; ++i) {
        SEDX_PROFILE_SCOPE("scope \"quoted\"");
        volatile int x = 0;
        for (int k = 0; k < 1000; ++k) x = x + k;
        assert_true(x > 0);
    }
    SEDX_PROFILE_BEGIN(z, "pair\xff\n");
    SEDX_PROFILE_END(z);
    sedx_profile_event ev[8];
    assert_int_equal(sedx_profile_events(ev, 8), 4);
    assert_string_equal(ev[0].name, "scope \"quoted\"");
    assert_string_equal(ev[3].name, "pair\xff\n");
    char path[] = "/tmp/sedx-trace-XXXXXX";
    int fd = mkstemp(path);
    assert_true(fd >= 0);
    assert_int_equal(sedx_profile_write_trace(path), SEDX_SUCCESS);
    FILE *f = fdopen(fd, "r");
    char buf[8192] = {0};
    size_t n = fread(buf, 1, sizeof buf - 1, f);
    fclose(f);
    unlink(path);
    assert_true(n > 0);
    cJSON *root = cJSON_Parse(buf);
    assert_non_null(root);
    cJSON *events = cJSON_GetObjectItem(root, "traceEvents");
    assert_int_equal(cJSON_GetArraySize(events), 4);
    cJSON *e0 = cJSON_GetArrayItem(events, 0);
    assert_string_equal(cJSON_GetObjectItem(e0, "name")->valuestring, "scope \"quoted\"");
    assert_string_equal(cJSON_GetObjectItem(e0, "ph")->valuestring, "X");
    /* a name that is not UTF-8 stays JSON text: the bad byte becomes U+FFFD */
    assert_null(strstr(buf, "\xff"));
    assert_string_equal(cJSON_GetObjectItem(cJSON_GetArrayItem(events, 3), "name")->valuestring, "pair\xef\xbf\xbd\n");
    cJSON_Delete(root);
    assert_int_equal(sedx_profile_write_trace("/nonexistent-dir/x.json"), SEDX_ERROR_IO);
    assert_int_equal(sedx_profile_write_trace(NULL), SEDX_ERROR_INVALID_ARGUMENT);
    sedx_profile_enable(false);
    sedx_profile_clear();
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_result_names),  cmocka_unit_test(test_logging),
        cmocka_unit_test(test_host_allocator), cmocka_unit_test(test_handle_pool),
        cmocka_unit_test(test_profiling),     cmocka_unit_test(test_map),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
