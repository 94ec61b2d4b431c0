/* The JSON configuration at its edges: many keys (the hashed index), integers over the whole
 * 64-bit range, what a save may replace, NUL bytes and \u0000, misuse of every call, host
 * allocation failures. No GPU. (tests/unit/module.c has the everyday cases.) */
#include "test_util.h"

#include <sedx/module.h>

#include <errno.h>
#include <float.h>
#include <math.h>
#include <signal.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/sysmacros.h>
#include <sys/un.h>
#include <unistd.h>


static void path_in_dir(char *out, size_t cap, const char *name) { snprintf(out, cap, "%s/%s", tu_temp_dir(), name); }

static void write_bytes(const char *path, const char *bytes, size_t n)
{
    FILE *f = fopen(path, "wb");
    assert_non_null(f);
    assert_int_equal(fwrite(bytes, 1, n, f), n);
    assert_int_equal(fclose(f), 0);
}

static void write_file(const char *path, const char *text) { write_bytes(path, text, strlen(text)); }

/* The file's text (free it), or NULL. */
static char *read_text(const char *path)
{
    FILE *f = fopen(path, "rb");
    if (!f) return NULL;
    char *s = calloc(1, 1 << 16);
    size_t n = fread(s, 1, (1 << 16) - 1, f);
    s[n] = '\0';
    fclose(f);
    return s;
}

static bool is_type(const char *path, mode_t type)
{
    struct stat st;
    return lstat(path, &st) == 0 && (st.st_mode & S_IFMT) == type;
}

static void logs_done(void)
{
    sedx_set_logger(NULL, NULL);
    sedx_set_log_level(SEDX_LOG_WARN);
}

/* The whole formatted text (free it). */
static char *format_all(const sedx_config *cfg)
{
    size_t need = sedx_config_format(cfg, NULL, 0);
    assert_true(need > 0);
    char *text = malloc(need + 1);
    assert_int_equal(sedx_config_format(cfg, text, need + 1), need);
    return text;
}

/* parse(format(cfg)): the same text again. */
static sedx_config *reparse(const sedx_config *cfg)
{
    char *text = format_all(cfg);
    sedx_config *again = NULL;
    assert_int_equal(sedx_config_parse(text, strlen(text), "reparse", &again), SEDX_SUCCESS);
    char *text2 = format_all(again);
    assert_string_equal(text, text2);
    free(text2);
    free(text);
    return again;
}

/* ------------------------------------------------------------------------------------------
 * 1. Many keys: the index. The quadratic version needed about 70 s to load 200 000 keys and
 * as long again to read them back (minutes: past the CTest timeout); now a fraction of a second.
 * ---------------------------------------------------------------------------------------- */
#define SCALE_KEYS 200000u
#define SCALE_DUPS 1000u /* keys 0..999 appear twice; the second (an integer) wins */

static void scale_key(char *out, uint32_t i) { snprintf(out, 16, "k%06u", i); }

static char *scale_json(size_t *size)
{
    size_t cap = (size_t)(SCALE_KEYS + SCALE_DUPS) * 48 + 16, o = 0;
    char *s = malloc(cap);
    o += (size_t)snprintf(s + o, cap - o, "{");
    for (uint32_t i = 0; i < SCALE_KEYS; ++i) {
        if (i % 3 == 0)
            o += (size_t)snprintf(s + o, cap - o, "\"k%06u\": %llu,\n", i, (unsigned long long)(UINT64_MAX - i));
        else if (i % 3 == 1) o += (size_t)snprintf(s + o, cap - o, "\"k%06u\": \"v%u\",\n", i, i);
        else o += (size_t)snprintf(s + o, cap - o, "\"k%06u\": %lld,\n", i, (long long)(INT64_MIN + i));
    }
    for (uint32_t i = 0; i < SCALE_DUPS; ++i) o += (size_t)snprintf(s + o, cap - o, "\"k%06u\": %u,", i, i);
    s[o - 1] = '}';
    *size = o;
    return s;
}

/* Key i holds what scale_json wrote for it. */
static bool scale_value_ok(const sedx_config *cfg, uint32_t i)
{
    char key[16], want[16];
    scale_key(key, i);
    if (i < SCALE_DUPS) return sedx_config_get_u64(cfg, key, UINT64_MAX) == i;
    if (i % 3 == 0) return sedx_config_get_u64(cfg, key, 0) == UINT64_MAX - i;
    if (i % 3 == 2) return sedx_config_get_i64(cfg, key, 0) == INT64_MIN + i;
    snprintf(want, sizeof want, "v%u", i);
    return strcmp(sedx_config_get_string(cfg, key, ""), want) == 0;
}

static void test_many_keys_parse(void **state)
{
    (void)state;
    tu_log_capture();
    size_t size;
    char *json = scale_json(&size);
    sedx_config *cfg = NULL;
    assert_int_equal(sedx_config_parse(json, size, "scale.json", &cfg), SEDX_SUCCESS);
    free(json);
    assert_int_equal(sedx_config_count(cfg), SCALE_KEYS);
    char key[16];
    for (uint32_t i = 0; i < SCALE_KEYS; ++i) {
        scale_key(key, i);
        if (strcmp(sedx_config_key(cfg, i), key) != 0 || !scale_value_ok(cfg, i)) fail_msg("key %u", i);
    }
    assert_false(sedx_config_has(cfg, "k200000"));
    assert_false(sedx_config_has(cfg, "k00000")); /* a prefix */
    assert_int_equal(tu_log_count(SEDX_LOG_WARN) + tu_log_count(SEDX_LOG_ERROR), 0);
    /* remove every 1000th key: the others keep their order and values */
    for (uint32_t i = 0; i < SCALE_KEYS; i += 1000) {
        scale_key(key, i);
        assert_int_equal(sedx_config_remove(cfg, key), SEDX_SUCCESS);
    }
    assert_int_equal(sedx_config_count(cfg), SCALE_KEYS - SCALE_KEYS / 1000);
    for (uint32_t i = 0, at = 0; i < SCALE_KEYS; ++i) {
        scale_key(key, i);
        if (i % 1000 == 0) {
            if (sedx_config_has(cfg, key)) fail_msg("removed key %u still there", i);
            continue;
        }
        if (strcmp(sedx_config_key(cfg, at++), key) != 0 || !scale_value_ok(cfg, i)) fail_msg("key %u", i);
    }
    /* added again: at the end, in the order added */
    for (uint32_t i = 0; i < SCALE_KEYS; i += 1000) {
        scale_key(key, i);
        assert_int_equal(sedx_config_set_u64(cfg, key, i + 1), SEDX_SUCCESS);
    }
    assert_int_equal(sedx_config_count(cfg), SCALE_KEYS);
    for (uint32_t j = 0; j < SCALE_KEYS / 1000; ++j) {
        scale_key(key, j * 1000);
        assert_string_equal(sedx_config_key(cfg, SCALE_KEYS - SCALE_KEYS / 1000 + j), key);
        assert_int_equal(sedx_config_get_u64(cfg, key, 0), j * 1000 + 1);
    }
    sedx_config *again = reparse(cfg);
    assert_int_equal(sedx_config_count(again), SCALE_KEYS);
    sedx_config_destroy(again);
    sedx_config_destroy(cfg);
    logs_done();
}

static void test_many_keys_set_save_load(void **state)
{
    (void)state;
    int64_t live = sedx_host_allocation_count();
    sedx_config *cfg = NULL;
    assert_int_equal(sedx_config_create(&cfg), SEDX_SUCCESS);
    char key[24];
    for (uint32_t i = 0; i < SCALE_KEYS; ++i) {
        snprintf(key, sizeof key, "set.%u", i);
        assert_int_equal(sedx_config_set_u64(cfg, key, (uint64_t)i * 3), SEDX_SUCCESS);
    }
    for (uint32_t i = 0; i < SCALE_KEYS; i += 2) { /* replacing keeps the count and the place */
        snprintf(key, sizeof key, "set.%u", i);
        assert_int_equal(sedx_config_set_i64(cfg, key, -(int64_t)i - 1), SEDX_SUCCESS);
    }
    assert_int_equal(sedx_config_count(cfg), SCALE_KEYS);
    char path[128];
    path_in_dir(path, sizeof path, "scale.json");
    assert_int_equal(sedx_config_save(cfg, path), SEDX_SUCCESS);
    sedx_config_destroy(cfg);
    assert_int_equal(sedx_config_load(path, &cfg), SEDX_SUCCESS);
    assert_int_equal(sedx_config_count(cfg), SCALE_KEYS);
    for (uint32_t i = 0; i < SCALE_KEYS; ++i) {
        snprintf(key, sizeof key, "set.%u", i);
        bool ok = strcmp(sedx_config_key(cfg, i), key) == 0 &&
                  (i % 2 ? sedx_config_get_u64(cfg, key, 0) == (uint64_t)i * 3
                         : sedx_config_get_i64(cfg, key, 0) == -(int64_t)i - 1);
        if (!ok) fail_msg("key %u", i);
    }
    sedx_config_destroy(cfg);
    assert_int_equal(sedx_host_allocation_count(), live);
}

/* Duplicate keys: the last value wins, at the place of the first. */
static void test_duplicate_keys(void **state)
{
    (void)state;
    const char *json = "{\"a\": 1, \"b\": 2, \"a\": \"three\", \"c\": [], \"b\": null, \"a\": 4.5}";
    sedx_config *cfg = NULL;
    assert_int_equal(sedx_config_parse(json, strlen(json), "dup.json", &cfg), SEDX_SUCCESS);
    assert_int_equal(sedx_config_count(cfg), 3);
    assert_string_equal(sedx_config_key(cfg, 0), "a");
    assert_string_equal(sedx_config_key(cfg, 1), "b");
    assert_string_equal(sedx_config_key(cfg, 2), "c");
    assert_true(sedx_config_get_f64(cfg, "a", 0.0) == 4.5);
    assert_int_equal(sedx_config_get_u64(cfg, "b", 9), 9); /* null */
    sedx_config_destroy(cfg);
}

/* ------------------------------------------------------------------------------------------
 * 2. Integers are exact over the whole uint64_t / int64_t range, both ways. (Before, UINT64_MAX
 * and INT64_MAX were saved exactly but read back through a double: the default, a warning.)
 * ---------------------------------------------------------------------------------------- */
static const uint64_t k_u64[] = {0, 1, (1ull << 53) - 1, 1ull << 53, (1ull << 53) + 1, (uint64_t)INT64_MAX,
                                 (uint64_t)INT64_MAX + 1, UINT64_MAX - 1, UINT64_MAX};
static const int64_t k_i64[] = {INT64_MIN, INT64_MIN + 1, -(1ll << 53) - 1, -(1ll << 53), -(1ll << 53) + 1,
                                -1, 0, 1, (1ll << 53) + 1, INT64_MAX - 1, INT64_MAX};
#define N_U64 (sizeof k_u64 / sizeof k_u64[0])
#define N_I64 (sizeof k_i64 / sizeof k_i64[0])

static void check_edges(const sedx_config *cfg)
{
    char key[16];
    for (size_t i = 0; i < N_U64; ++i) {
        snprintf(key, sizeof key, "u%zu", i);
        if (sedx_config_get_u64(cfg, key, 42) != k_u64[i]) fail_msg("%s: not %llu", key, (unsigned long long)k_u64[i]);
    }
    for (size_t i = 0; i < N_I64; ++i) {
        snprintf(key, sizeof key, "i%zu", i);
        if (sedx_config_get_i64(cfg, key, 42) != k_i64[i]) fail_msg("%s: not %lld", key, (long long)k_i64[i]);
    }
}

static void test_integer_edges_round_trip(void **state)
{
    (void)state;
    tu_log_capture();
    sedx_config *cfg = NULL;
    assert_int_equal(sedx_config_create(&cfg), SEDX_SUCCESS);
    char key[16];
    for (size_t i = 0; i < N_U64; ++i) {
        snprintf(key, sizeof key, "u%zu", i);
        assert_int_equal(sedx_config_set_u64(cfg, key, k_u64[i]), SEDX_SUCCESS);
    }
    for (size_t i = 0; i < N_I64; ++i) {
        snprintf(key, sizeof key, "i%zu", i);
        assert_int_equal(sedx_config_set_i64(cfg, key, k_i64[i]), SEDX_SUCCESS);
    }
    check_edges(cfg);
    sedx_config *again = reparse(cfg); /* format -> parse */
    check_edges(again);
    sedx_config_destroy(again);
    char path[128];
    path_in_dir(path, sizeof path, "edges.json");
    assert_int_equal(sedx_config_save(cfg, path), SEDX_SUCCESS); /* save -> load */
    sedx_config_destroy(cfg);
    assert_int_equal(sedx_config_load(path, &cfg), SEDX_SUCCESS);
    check_edges(cfg);
    assert_int_equal(tu_log_count(SEDX_LOG_WARN) + tu_log_count(SEDX_LOG_ERROR), 0);
    /* across the types: exact where the value fits, the default and a warning where not */
    assert_int_equal(sedx_config_get_i64(cfg, "u5", 0), INT64_MAX);
    assert_int_equal(sedx_config_get_i64(cfg, "u6", 7), 7);
    assert_int_equal(sedx_config_get_u64(cfg, "i0", 7), 7);
    assert_int_equal(sedx_config_get_u64(cfg, "i10", 0), (uint64_t)INT64_MAX);
    assert_true(sedx_config_get_f64(cfg, "u8", 0) == 18446744073709551615.0);
    assert_int_equal(tu_log_count(SEDX_LOG_WARN), 2);
    sedx_config_destroy(cfg);
    logs_done();
}

/* Integers written by hand: exact; beyond 64 bits kept as written (get_f64 only); a fraction
 * or an exponent makes a double, which stays one through a save. */
static void test_number_text(void **state)
{
    (void)state;
    tu_log_capture();
    const char *json = "{\"max\": 18446744073709551615, \"min\": -9223372036854775808, \"p53\": 9007199254740993,"
                       " \"big\": 18446744073709551616, \"below\": -9223372036854775809, \"negzero\": -0,"
                       " \"one\": 1.0, \"exp\": 1e3, \"neg\": -0.0, \"tenth\": 0.1, \"huge\": 1e300,"
                       " \"nested\": [18446744073709551615, {\"x\": 9007199254740993}]}";
    sedx_config *cfg = NULL;
    assert_int_equal(sedx_config_parse(json, strlen(json), "numbers.json", &cfg), SEDX_SUCCESS);
    assert_int_equal(sedx_config_get_u64(cfg, "max", 0), UINT64_MAX);
    assert_int_equal(sedx_config_get_i64(cfg, "min", 0), INT64_MIN);
    assert_int_equal(sedx_config_get_u64(cfg, "p53", 0), 9007199254740993ull);
    assert_int_equal(sedx_config_get_u64(cfg, "negzero", 7), 0);
    assert_int_equal(sedx_config_get_u64(cfg, "one", 0), 1);
    assert_int_equal(sedx_config_get_i64(cfg, "exp", 0), 1000);
    assert_true(signbit(sedx_config_get_f64(cfg, "neg", 1.0)));
    assert_int_equal(tu_log_count(SEDX_LOG_WARN), 0);
    assert_int_equal(sedx_config_get_u64(cfg, "big", 7), 7);
    assert_true(tu_log_contains("numbers.json: 'big' is an integer beyond 64 bits, expected an unsigned integer"));
    assert_int_equal(sedx_config_get_i64(cfg, "below", 7), 7); /* not INT64_MIN, which a double gives */
    assert_int_equal(tu_log_count(SEDX_LOG_WARN), 2);
    assert_true(sedx_config_get_f64(cfg, "big", 0) == 18446744073709551616.0);
    char *text = format_all(cfg);
    static const char *const kept[] = {"18446744073709551615", "-9223372036854775808", "9007199254740993",
                                       "18446744073709551616", "-9223372036854775809", "\"one\":\t1.0",
                                       "\"exp\":\t1000.0", "\"neg\":\t-0.0", "\"tenth\":\t0.1", "\"huge\":\t1e+300",
                                       "[18446744073709551615,{\"x\":9007199254740993}]"};
    for (size_t i = 0; i < sizeof kept / sizeof kept[0]; ++i)
        if (!strstr(text, kept[i])) fail_msg("'%s' not in %s", kept[i], text);
    free(text);
    sedx_config *again = reparse(cfg);
    sedx_config_destroy(again);
    sedx_config_destroy(cfg);
    logs_done();
}

/* ------------------------------------------------------------------------------------------
 * 3. A save replaces only a regular file (or creates a missing one); a symbolic link is written
 * through to the regular file it points to. Before, a FIFO (and /dev/full, as root) was
 * replaced by a regular file. Only objects made in the test's own directory are tried.
 * ---------------------------------------------------------------------------------------- */
static sedx_config *small_config(void)
{
    sedx_config *cfg = NULL;
    assert_int_equal(sedx_config_create(&cfg), SEDX_SUCCESS);
    assert_int_equal(sedx_config_set_u64(cfg, "saved", 1), SEDX_SUCCESS);
    return cfg;
}

static void expect_refused(const sedx_config *cfg, const char *path, const char *why)
{
    char tmp[160];
    snprintf(tmp, sizeof tmp, "%s.tmp", path);
    tu_log_reset();
    assert_int_equal(sedx_config_save(cfg, path), SEDX_ERROR_IO);
    assert_int_equal(tu_log_count(SEDX_LOG_ERROR), 1);
    if (!tu_log_contains(why)) fail_msg("no log line with '%s'", why);
    assert_int_equal(access(tmp, F_OK), -1);
}

static void test_save_refuses_a_fifo(void **state)
{
    (void)state;
    tu_log_capture();
    sedx_config *cfg = small_config();
    char path[128];
    path_in_dir(path, sizeof path, "fifo");
    assert_int_equal(mkfifo(path, 0644), 0);
    expect_refused(cfg, path, "fifo is a FIFO: only a regular file is replaced, nothing saved");
    assert_true(is_type(path, S_IFIFO));
    sedx_config_destroy(cfg);
    logs_done();
}

static void test_save_refuses_other_special_files(void **state)
{
    (void)state;
    tu_log_capture();
    sedx_config *cfg = small_config();
    char path[128];
    path_in_dir(path, sizeof path, "dir");
    assert_int_equal(mkdir(path, 0755), 0);
    expect_refused(cfg, path, "is a directory");
    assert_true(is_type(path, S_IFDIR));

    path_in_dir(path, sizeof path, "sock");
    int fd = socket(AF_UNIX, SOCK_STREAM, 0);
    assert_true(fd >= 0);
    struct sockaddr_un addr = {.sun_family = AF_UNIX};
    assert_true(strlen(path) < sizeof addr.sun_path);
    memcpy(addr.sun_path, path, strlen(path) + 1);
    assert_int_equal(bind(fd, (const struct sockaddr *)&addr, sizeof addr), 0);
    expect_refused(cfg, path, "is a socket");
    assert_true(is_type(path, S_IFSOCK));
    close(fd);

    path_in_dir(path, sizeof path, "null"); /* a /dev/null of our own, where we may make one */
    if (mknod(path, S_IFCHR | 0666, makedev(1, 3)) == 0) {
        expect_refused(cfg, path, "is a character device");
        assert_true(is_type(path, S_IFCHR));
    }
    sedx_config_destroy(cfg);
    logs_done();
}

static void test_save_through_symbolic_links(void **state)
{
    (void)state;
    tu_log_capture();
    sedx_config *cfg = small_config();
    char target[128], link[128], fifo[128];
    path_in_dir(target, sizeof target, "target.json");
    path_in_dir(link, sizeof link, "link.json");
    write_file(target, "{\"old\": true}\n");
    assert_int_equal(chmod(target, 0640), 0);
    assert_int_equal(symlink("target.json", link), 0); /* relative, as people write them */
    assert_int_equal(sedx_config_save(cfg, link), SEDX_SUCCESS);
    assert_true(is_type(link, S_IFLNK));
    char *text = read_text(target);
    assert_non_null(strstr(text, "\"saved\":\t1"));
    free(text);
    struct stat st;
    assert_int_equal(stat(target, &st), 0);
    assert_int_equal(st.st_mode & 07777, 0640); /* the permissions stay */
    sedx_config *back = NULL;
    assert_int_equal(sedx_config_load(link, &back), SEDX_SUCCESS);
    assert_int_equal(sedx_config_get_u64(back, "saved", 0), 1);
    sedx_config_destroy(back);

    path_in_dir(link, sizeof link, "dangling.json");
    assert_int_equal(symlink("missing.json", link), 0);
    expect_refused(cfg, link, "a symbolic link that cannot be followed");
    assert_true(is_type(link, S_IFLNK));
    path_in_dir(target, sizeof target, "missing.json");
    assert_int_equal(access(target, F_OK), -1);

    path_in_dir(fifo, sizeof fifo, "fifo2");
    path_in_dir(link, sizeof link, "to-fifo.json");
    assert_int_equal(mkfifo(fifo, 0644), 0);
    assert_int_equal(symlink("fifo2", link), 0);
    expect_refused(cfg, link, "is a FIFO");
    assert_true(is_type(fifo, S_IFIFO));
    assert_true(is_type(link, S_IFLNK));
    sedx_config_destroy(cfg);
    logs_done();
}

/* A replaced file keeps its permission bits (before: the umask's defaults); a regular file left
 * at path.tmp by a crashed save is reused. */
static void test_save_keeps_permissions(void **state)
{
    (void)state;
    sedx_config *cfg = small_config();
    char path[128], tmp[160];
    path_in_dir(path, sizeof path, "private.json");
    snprintf(tmp, sizeof tmp, "%s.tmp", path);
    write_file(path, "{\"before\": 1}");
    assert_int_equal(chmod(path, 0600), 0);
    write_file(tmp, "leftover of a crash");
    assert_int_equal(sedx_config_save(cfg, path), SEDX_SUCCESS);
    assert_int_equal(access(tmp, F_OK), -1);
    struct stat st;
    assert_int_equal(stat(path, &st), 0);
    assert_int_equal(st.st_mode & 07777, 0600);
    sedx_config_destroy(cfg);
}

/* A FIFO at path.tmp is not waited for (before: the save blocked for ever). */
static void test_save_temporary_fifo(void **state)
{
    (void)state;
    tu_log_capture();
    sedx_config *cfg = small_config();
    char path[128], tmp[160];
    path_in_dir(path, sizeof path, "blocked.json");
    snprintf(tmp, sizeof tmp, "%s.tmp", path);
    write_file(path, "{}");
    assert_int_equal(mkfifo(tmp, 0644), 0);
    alarm(30); /* a hang fails the test at once instead of at the CTest timeout */
    assert_int_equal(sedx_config_save(cfg, path), SEDX_ERROR_IO);
    alarm(0);
    assert_int_equal(tu_log_count(SEDX_LOG_ERROR), 1);
    assert_true(tu_log_contains("blocked.json.tmp: cannot write"));
    assert_true(is_type(tmp, S_IFIFO));
    char *text = read_text(path);
    assert_string_equal(text, "{}");
    free(text);
    sedx_config_destroy(cfg);
    logs_done();
}

/* A symbolic link at path.tmp is not followed (before: the file it points to was overwritten
 * and the link renamed over path). */
static void test_save_temporary_link(void **state)
{
    (void)state;
    tu_log_capture();
    sedx_config *cfg = small_config();
    char path[128], tmp[160], victim[128];
    path_in_dir(path, sizeof path, "linked.json");
    snprintf(tmp, sizeof tmp, "%s.tmp", path);
    path_in_dir(victim, sizeof victim, "victim");
    write_file(path, "{}");
    write_file(victim, "untouched");
    assert_int_equal(symlink(victim, tmp), 0);
    assert_int_equal(sedx_config_save(cfg, path), SEDX_ERROR_IO);
    assert_int_equal(tu_log_count(SEDX_LOG_ERROR), 1);
    char *text = read_text(victim);
    assert_string_equal(text, "untouched");
    free(text);
    assert_true(is_type(path, S_IFREG));
    assert_true(is_type(tmp, S_IFLNK));
    sedx_config_destroy(cfg);
    logs_done();
}

/* ------------------------------------------------------------------------------------------
 * 4. NUL bytes in the text: the text ends at the first; only NUL bytes may follow it. Before,
 * strlen + 1 (the terminator counted) was a parse error, and a NUL between two tokens was
 * taken for whitespace.
 * ---------------------------------------------------------------------------------------- */
static void test_nul_bytes_in_the_text(void **state)
{
    (void)state;
    tu_log_capture();
    const char *json = "{\"a\": 1, \"s\": \"x\"}";
    sedx_config *cfg = NULL;
    assert_int_equal(sedx_config_parse(json, strlen(json) + 1, "c-string", &cfg), SEDX_SUCCESS);
    assert_int_equal(sedx_config_get_u64(cfg, "a", 0), 1);
    assert_string_equal(sedx_config_get_string(cfg, "s", ""), "x");
    sedx_config_destroy(cfg);
    char buffer[64] = "{\"a\": 2}\n"; /* zero-padded */
    assert_int_equal(sedx_config_parse(buffer, sizeof buffer, "buffer", &cfg), SEDX_SUCCESS);
    assert_int_equal(sedx_config_get_u64(cfg, "a", 0), 2);
    sedx_config_destroy(cfg);
    assert_int_equal(tu_log_count(SEDX_LOG_ERROR), 0);

    static const struct {
        const char *bytes;
        size_t size;
        const char *log;
    } bad[] = {
        {"{\"a\": 1}\0x", 10, "mem:1:9: a NUL byte inside the text"},
        {"{\"a\": \"x\0y\"}", 12, "mem:1:9: a NUL byte inside the text"},
        {"{\"a\":\0 1}", 9, "mem:1:6: a NUL byte inside the text"},
        {"\0\0", 2, "mem:1:1: malformed JSON"},
    };
    for (size_t i = 0; i < sizeof bad / sizeof bad[0]; ++i) {
        tu_log_reset();
        cfg = (sedx_config *)&cfg;
        assert_int_equal(sedx_config_parse(bad[i].bytes, bad[i].size, "mem", &cfg), SEDX_ERROR_PARSE);
        assert_ptr_equal(cfg, (sedx_config *)&cfg);
        assert_int_equal(tu_log_count(SEDX_LOG_ERROR), 1);
        if (!tu_log_contains(bad[i].log)) fail_msg("case %zu: no '%s'", i, bad[i].log);
    }
    char path[128];
    path_in_dir(path, sizeof path, "padded.json");
    write_bytes(path, "{\"a\": 3}\n\0\0", 11);
    assert_int_equal(sedx_config_load(path, &cfg), SEDX_SUCCESS);
    assert_int_equal(sedx_config_get_u64(cfg, "a", 0), 3);
    sedx_config_destroy(cfg);
    logs_done();
}

/* ------------------------------------------------------------------------------------------
 * 5. \u0000 in a key or a string value cannot be a C string: refused (before: cut short in
 * silence). Inside an object or array value it is kept as written.
 * ---------------------------------------------------------------------------------------- */
static void test_escaped_nul(void **state)
{
    (void)state;
    tu_log_capture();
    static const struct {
        const char *json, *log;
    } bad[] = {
        {"{\"ok\": 1,\n \"a\\u0000b\": 1}", "nul.json:2:2: a key containing \\u0000 (NUL): not supported"},
        {"{\"\\u0000\": 1}", "nul.json:1:2: a key containing \\u0000"},
        {"{\"s\": \"x\\u0000y\"}", "nul.json:1:7: 's': a string containing \\u0000 (NUL): not supported"},
        {"{\"s\": \"\\u0000\"}", "'s': a string containing \\u0000"},
    };
    sedx_config *cfg = NULL;
    for (size_t i = 0; i < sizeof bad / sizeof bad[0]; ++i) {
        tu_log_reset();
        cfg = (sedx_config *)&cfg;
        assert_int_equal(sedx_config_parse(bad[i].json, strlen(bad[i].json), "nul.json", &cfg), SEDX_ERROR_PARSE);
        assert_ptr_equal(cfg, (sedx_config *)&cfg);
        assert_int_equal(tu_log_count(SEDX_LOG_ERROR), 1);
        if (!tu_log_contains(bad[i].log)) fail_msg("case %zu: no '%s'", i, bad[i].log);
    }
    char path[128];
    path_in_dir(path, sizeof path, "nul-key.json");
    write_file(path, bad[0].json);
    tu_log_reset();
    assert_int_equal(sedx_config_load(path, &cfg), SEDX_ERROR_PARSE);
    assert_true(tu_log_contains("nul-key.json:2:2: a key containing"));
    /* an escaped backslash before u0000 is no NUL; nested values keep their escapes */
    const char *good = "{\"ok\": \"back\\\\u0000slash\", \"n\": [\"x\\u0000y\", {\"k\\u0000\": 1}]}";
    tu_log_reset();
    assert_int_equal(sedx_config_parse(good, strlen(good), "good.json", &cfg), SEDX_SUCCESS);
    assert_string_equal(sedx_config_get_string(cfg, "ok", ""), "back\\u0000slash");
    char *text = format_all(cfg);
    assert_non_null(strstr(text, "[\"x\\u0000y\",{\"k\\u0000\":1}]"));
    free(text);
    sedx_config *again = reparse(cfg);
    sedx_config_destroy(again);
    sedx_config_destroy(cfg);
    assert_int_equal(tu_log_count(SEDX_LOG_ERROR), 0);
    logs_done();
}

/* ------------------------------------------------------------------------------------------
 * Misuse: every bad argument or input is an exact error and one log line, and a configuration
 * stays usable after a refused call.
 * ---------------------------------------------------------------------------------------- */
#define EXPECT_ERROR(call, code)                              \
    do {                                                      \
        tu_log_reset();                                       \
        assert_int_equal((call), (code));                     \
        assert_int_equal(tu_log_count(SEDX_LOG_ERROR), 1);    \
    } while (0)

static void test_null_arguments(void **state)
{
    (void)state;
    tu_log_capture();
    sedx_config *cfg = small_config();
    sedx_config *out = (sedx_config *)&out;
    EXPECT_ERROR(sedx_config_create(NULL), SEDX_ERROR_INVALID_ARGUMENT);
    EXPECT_ERROR(sedx_config_parse(NULL, 1, "x", &out), SEDX_ERROR_INVALID_ARGUMENT);
    EXPECT_ERROR(sedx_config_parse("{}", 2, "x", NULL), SEDX_ERROR_INVALID_ARGUMENT);
    EXPECT_ERROR(sedx_config_parse(NULL, 0, "x", &out), SEDX_ERROR_PARSE); /* empty text */
    EXPECT_ERROR(sedx_config_load(NULL, &out), SEDX_ERROR_INVALID_ARGUMENT);
    EXPECT_ERROR(sedx_config_load("x.json", NULL), SEDX_ERROR_INVALID_ARGUMENT);
    EXPECT_ERROR(sedx_config_load("", &out), SEDX_ERROR_INVALID_ARGUMENT);
    assert_ptr_equal(out, (sedx_config *)&out);
    EXPECT_ERROR(sedx_config_save(NULL, "x.json"), SEDX_ERROR_INVALID_ARGUMENT);
    EXPECT_ERROR(sedx_config_save(cfg, NULL), SEDX_ERROR_INVALID_ARGUMENT);
    EXPECT_ERROR(sedx_config_save(cfg, ""), SEDX_ERROR_INVALID_ARGUMENT);
    EXPECT_ERROR(sedx_config_format(NULL, NULL, 0), 0);
    EXPECT_ERROR(sedx_config_remove(NULL, "a"), SEDX_ERROR_INVALID_ARGUMENT);
    EXPECT_ERROR(sedx_config_remove(cfg, NULL), SEDX_ERROR_INVALID_ARGUMENT);
    EXPECT_ERROR(sedx_config_set_u64(NULL, "a", 1), SEDX_ERROR_INVALID_ARGUMENT);
    EXPECT_ERROR(sedx_config_set_i64(cfg, NULL, 1), SEDX_ERROR_INVALID_ARGUMENT);
    EXPECT_ERROR(sedx_config_set_f64(cfg, NULL, 1.0), SEDX_ERROR_INVALID_ARGUMENT);
    EXPECT_ERROR(sedx_config_set_bool(cfg, NULL, true), SEDX_ERROR_INVALID_ARGUMENT);
    EXPECT_ERROR(sedx_config_set_string(cfg, NULL, "v"), SEDX_ERROR_INVALID_ARGUMENT);
    EXPECT_ERROR(sedx_config_set_string(cfg, "a", NULL), SEDX_ERROR_INVALID_ARGUMENT);
    EXPECT_ERROR(sedx_config_get_u64(cfg, NULL, 5), 5);
    EXPECT_ERROR(sedx_config_get_i64(NULL, "a", -5), -5);
    EXPECT_ERROR(sedx_config_get_bool(NULL, "a", true), true);
    tu_log_reset();
    assert_string_equal(sedx_config_get_string(NULL, "a", "d"), "d");
    assert_true(sedx_config_get_f64(cfg, NULL, 2.5) == 2.5);
    assert_int_equal(tu_log_count(SEDX_LOG_ERROR), 2);
    assert_false(sedx_config_has(NULL, "a"));
    assert_false(sedx_config_has(cfg, NULL));
    assert_int_equal(sedx_config_count(NULL), 0);
    assert_null(sedx_config_key(NULL, 0));
    assert_null(sedx_config_key(cfg, 1));
    sedx_config_destroy(NULL);
    assert_int_equal(sedx_config_count(cfg), 1); /* nothing changed */
    assert_int_equal(sedx_config_get_u64(cfg, "saved", 0), 1);
    sedx_config_destroy(cfg);
    logs_done();
}

/* An empty key: refused by set_* and in a file (the two agree); a look-up finds nothing. */
static void test_empty_keys(void **state)
{
    (void)state;
    tu_log_capture();
    sedx_config *cfg = small_config();
    EXPECT_ERROR(sedx_config_set_u64(cfg, "", 1), SEDX_ERROR_INVALID_ARGUMENT);
    EXPECT_ERROR(sedx_config_set_i64(cfg, "", -1), SEDX_ERROR_INVALID_ARGUMENT);
    EXPECT_ERROR(sedx_config_set_f64(cfg, "", 1.5), SEDX_ERROR_INVALID_ARGUMENT);
    EXPECT_ERROR(sedx_config_set_bool(cfg, "", true), SEDX_ERROR_INVALID_ARGUMENT);
    EXPECT_ERROR(sedx_config_set_string(cfg, "", "v"), SEDX_ERROR_INVALID_ARGUMENT);
    assert_true(tu_log_contains("an empty key is not supported"));
    tu_log_reset();
    assert_false(sedx_config_has(cfg, ""));
    assert_int_equal(sedx_config_get_u64(cfg, "", 3), 3);
    assert_int_equal(sedx_config_remove(cfg, ""), SEDX_SUCCESS);
    assert_int_equal(tu_log_count(SEDX_LOG_ERROR) + tu_log_count(SEDX_LOG_WARN), 0);
    assert_int_equal(sedx_config_count(cfg), 1);
    sedx_config *out = (sedx_config *)&out;
    const char *json = "{\"a\": 1, \"\": 2}";
    EXPECT_ERROR(sedx_config_parse(json, strlen(json), "empty.json", &out), SEDX_ERROR_PARSE);
    assert_true(tu_log_contains("empty.json:1:10: an empty key"));
    assert_ptr_equal(out, (sedx_config *)&out);
    const char *nested = "{\"a\": {\"\": 2}}"; /* inside a value: kept as written */
    assert_int_equal(sedx_config_parse(nested, strlen(nested), "nested.json", &out), SEDX_SUCCESS);
    sedx_config_destroy(out);
    sedx_config_destroy(cfg);
    logs_done();
}

static char *nested_json(size_t depth)
{
    char *s = malloc(2 * depth + 16);
    size_t o = (size_t)sprintf(s, "{\"a\":");
    memset(s + o, '[', depth - 1);
    o += depth - 1;
    memset(s + o, ']', depth - 1);
    o += depth - 1;
    strcpy(s + o, "}");
    return s;
}

static void test_bad_documents(void **state)
{
    (void)state;
    tu_log_capture();
    sedx_config *out = NULL;
    char *deep = nested_json(1000); /* the object and 999 arrays: cJSON's limit */
    assert_int_equal(sedx_config_parse(deep, strlen(deep), "deep.json", &out), SEDX_SUCCESS);
    assert_int_equal(sedx_config_count(out), 1);
    sedx_config_destroy(out);
    free(deep);
    deep = nested_json(1001);
    out = (sedx_config *)&out;
    EXPECT_ERROR(sedx_config_parse(deep, strlen(deep), "deep.json", &out), SEDX_ERROR_PARSE);
    assert_true(tu_log_contains("deep.json:1:1005: nested deeper than 1000 levels"));
    free(deep);
    static const char *const not_object[] = {"[]", "42", "\"s\"", "null", "true", " [{\"a\": 1}] "};
    for (size_t i = 0; i < sizeof not_object / sizeof not_object[0]; ++i) {
        EXPECT_ERROR(sedx_config_parse(not_object[i], strlen(not_object[i]), "top", &out), SEDX_ERROR_PARSE);
        assert_true(tu_log_contains("top:1:1: the top level is not a JSON object"));
    }
    static const char *const out_of_range[] = {"{\"a\": 1e999}", "{\"a\": -1e999}", "{\"a\": 1.5e400}"};
    for (size_t i = 0; i < sizeof out_of_range / sizeof out_of_range[0]; ++i) {
        EXPECT_ERROR(sedx_config_parse(out_of_range[i], strlen(out_of_range[i]), "range", &out), SEDX_ERROR_PARSE);
        assert_true(tu_log_contains("range:1:7: 'a': number out of range"));
    }
    char digits[420] = "{\"a\": "; /* an integer beyond the range of a double */
    memset(digits + 6, '9', 400);
    strcpy(digits + 406, "}");
    EXPECT_ERROR(sedx_config_parse(digits, strlen(digits), "range", &out), SEDX_ERROR_PARSE);
    assert_true(tu_log_contains("range:1:7: 'a': number out of range"));
    assert_ptr_equal(out, (sedx_config *)&out);
    logs_done();
}

/* set_f64 refuses NaN and infinities (JSON has none) and keeps the old value. */
static void test_non_finite_values(void **state)
{
    (void)state;
    tu_log_capture();
    sedx_config *cfg = small_config();
    assert_int_equal(sedx_config_set_f64(cfg, "x", 1.5), SEDX_SUCCESS);
    EXPECT_ERROR(sedx_config_set_f64(cfg, "x", NAN), SEDX_ERROR_INVALID_ARGUMENT);
    assert_true(tu_log_contains("'x': JSON cannot hold NaN or infinity"));
    EXPECT_ERROR(sedx_config_set_f64(cfg, "x", INFINITY), SEDX_ERROR_INVALID_ARGUMENT);
    EXPECT_ERROR(sedx_config_set_f64(cfg, "y", -INFINITY), SEDX_ERROR_INVALID_ARGUMENT);
    assert_int_equal(sedx_config_count(cfg), 2);
    assert_true(sedx_config_get_f64(cfg, "x", 0.0) == 1.5);
    assert_false(sedx_config_has(cfg, "y"));
    assert_int_equal(sedx_config_set_f64(cfg, "y", -DBL_MAX), SEDX_SUCCESS);
    sedx_config *again = reparse(cfg);
    assert_true(sedx_config_get_f64(again, "y", 0.0) == -DBL_MAX);
    sedx_config_destroy(again);
    sedx_config_destroy(cfg);
    logs_done();
}

/* Keys and strings with control characters and UTF-8 survive a round trip. */
static void test_odd_keys(void **state)
{
    (void)state;
    sedx_config *cfg = NULL;
    assert_int_equal(sedx_config_create(&cfg), SEDX_SUCCESS);
    static const char *const keys[] = {"\xc3\xa9t\xc3\xa9", "tab\there", "\x01\x1f", "quote\"back\\slash", " ", "a.b"};
    for (size_t i = 0; i < sizeof keys / sizeof keys[0]; ++i)
        assert_int_equal(sedx_config_set_string(cfg, keys[i], keys[i]), SEDX_SUCCESS);
    sedx_config *again = reparse(cfg);
    for (size_t i = 0; i < sizeof keys / sizeof keys[0]; ++i) {
        assert_string_equal(sedx_config_key(again, (uint32_t)i), keys[i]);
        assert_string_equal(sedx_config_get_string(again, keys[i], ""), keys[i]);
    }
    sedx_config_destroy(again);
    sedx_config_destroy(cfg);
}

/* ------------------------------------------------------------------------------------------
 * Every host allocation of parse, set, remove, save and load can fail: an error, never a
 * crash or a leak.
 * ---------------------------------------------------------------------------------------- */
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

static bool oom_scenario(const char *path)
{
    const char *json = "{\"a\": 18446744073709551615, \"b\": \"two\", \"c\": [3, {\"d\": 1}], \"e\": -1.5,"
                       " \"f\": 123456789012345678901234567890, \"g\": null, \"a\": -9223372036854775808}";
    sedx_config *cfg = NULL;
    if (sedx_config_parse(json, strlen(json), "oom.json", &cfg) != SEDX_SUCCESS) return false;
    bool ok = true;
    for (int i = 0; i < 40; ++i) { /* grows the entries and the index */
        char key[16];
        snprintf(key, sizeof key, "k%d", i);
        ok &= sedx_config_set_u64(cfg, key, (uint64_t)i) == SEDX_SUCCESS;
    }
    ok &= sedx_config_remove(cfg, "b") == SEDX_SUCCESS;
    ok &= sedx_config_save(cfg, path) == SEDX_SUCCESS;
    sedx_config_destroy(cfg);
    cfg = NULL;
    ok &= sedx_config_load(path, &cfg) == SEDX_SUCCESS;
    if (cfg) ok &= sedx_config_get_i64(cfg, "a", 0) == INT64_MIN;
    sedx_config_destroy(cfg);
    return ok;
}

static void test_host_oom(void **state)
{
    (void)state;
    sedx_set_log_level(SEDX_LOG_OFF);
    char path[128], tmp[160];
    path_in_dir(path, sizeof path, "oom.json");
    snprintf(tmp, sizeof tmp, "%s.tmp", path);
    int64_t live = sedx_host_allocation_count();
    sedx_host_allocator a = {f_alloc, f_realloc, f_free, NULL};
    sedx_set_host_allocator(&a);
    for (g_fail_at = 0;; ++g_fail_at) {
        g_alloc_n = 0;
        bool ok = oom_scenario(path);
        assert_int_equal(sedx_host_allocation_count(), live);
        assert_int_equal(access(tmp, F_OK), -1);
        if (ok && g_alloc_n <= g_fail_at) break; /* the scenario ran without hitting the failure */
    }
    assert_true(g_fail_at > 40);
    sedx_set_host_allocator(NULL);
    sedx_set_log_level(SEDX_LOG_WARN);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_many_keys_parse),
        cmocka_unit_test(test_many_keys_set_save_load),
        cmocka_unit_test(test_duplicate_keys),
        cmocka_unit_test(test_integer_edges_round_trip),
        cmocka_unit_test(test_number_text),
        cmocka_unit_test(test_save_refuses_a_fifo),
        cmocka_unit_test(test_save_refuses_other_special_files),
        cmocka_unit_test(test_save_through_symbolic_links),
        cmocka_unit_test(test_save_keeps_permissions),
        cmocka_unit_test(test_save_temporary_fifo),
        cmocka_unit_test(test_save_temporary_link),
        cmocka_unit_test(test_nul_bytes_in_the_text),
        cmocka_unit_test(test_escaped_nul),
        cmocka_unit_test(test_null_arguments),
        cmocka_unit_test(test_empty_keys),
        cmocka_unit_test(test_bad_documents),
        cmocka_unit_test(test_non_finite_values),
        cmocka_unit_test(test_odd_keys),
        cmocka_unit_test(test_host_oom),
    };
    return cmocka_run_group_tests(tests, tu_temp_dir_setup, tu_temp_dir_teardown);
}
