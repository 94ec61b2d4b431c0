/* libFuzzer: arbitrary bytes as a JSON configuration. A parse may fail; when it succeeds,
 * parse -> format -> parse must give the same keys in the same order with the same values
 * (and format to the same text again), and the key index must agree with the key list while
 * keys are removed. Crashes and sanitizer reports are findings too. */
#include <sedx/module.h>

#include <stdint.h>
#include <stdlib.h>
#include <string.h>

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

/* The whole formatted text (free it); aborts if format fails. */
static char *format_all(const sedx_config *cfg)
{
    size_t need = sedx_config_format(cfg, NULL, 0);
    char *out = need ? malloc(need + 1) : NULL;
    if (!out || sedx_config_format(cfg, out, need + 1) != need) abort();
    return out;
}

/* Every getter gives the same on both (bool asked with both defaults). */
static void same_value(const sedx_config *a, const sedx_config *b, const char *key)
{
    if (sedx_config_get_u64(a, key, 7) != sedx_config_get_u64(b, key, 7)) abort();
    if (sedx_config_get_i64(a, key, -7) != sedx_config_get_i64(b, key, -7)) abort();
    double fa = sedx_config_get_f64(a, key, 0.5), fb = sedx_config_get_f64(b, key, 0.5);
    if (memcmp(&fa, &fb, sizeof fa) != 0) abort(); /* bit for bit: -0.0 stays -0.0 */
    if (sedx_config_get_bool(a, key, false) != sedx_config_get_bool(b, key, false)) abort();
    if (sedx_config_get_bool(a, key, true) != sedx_config_get_bool(b, key, true)) abort();
    const char *sa = sedx_config_get_string(a, key, NULL), *sb = sedx_config_get_string(b, key, NULL);
    if (!sa != !sb || (sa && strcmp(sa, sb) != 0)) abort();
}

static void same_config(const sedx_config *a, const sedx_config *b)
{
    uint32_t n = sedx_config_count(a);
    if (sedx_config_count(b) != n) abort();
    for (uint32_t i = 0; i < n; ++i) {
        const char *key = sedx_config_key(a, i);
        if (!key || !key[0] || strcmp(key, sedx_config_key(b, i)) != 0) abort();
        same_value(a, b, key);
    }
}

static char *copy(const char *s)
{
    size_t n = strlen(s) + 1;
    char *c = malloc(n);
    if (!c) abort();
    return memcpy(c, s, n);
}

/* Removes the keys at even places, last first: the others stay findable, in their order. */
static void check_index(sedx_config *cfg)
{
    uint32_t n = sedx_config_count(cfg);
    for (uint32_t i = 0; i < n; ++i)
        if (!sedx_config_has(cfg, sedx_config_key(cfg, i))) abort();
    for (uint32_t i = n; i-- > 0;) {
        if (i % 2) continue;
        char *key = copy(sedx_config_key(cfg, i));
        if (sedx_config_remove(cfg, key) != SEDX_SUCCESS || sedx_config_has(cfg, key)) abort();
        free(key);
    }
    if (sedx_config_count(cfg) != n / 2) abort();
    for (uint32_t j = 0; j < n / 2; ++j)
        if (!sedx_config_has(cfg, sedx_config_key(cfg, j))) abort();
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    sedx_set_log_level(SEDX_LOG_OFF);
    sedx_config *cfg = NULL;
    if (sedx_config_parse((const char *)data, size, "fuzz", &cfg) != SEDX_SUCCESS) return 0;
    char *text = format_all(cfg);
    sedx_config *again = NULL;
    if (sedx_config_parse(text, strlen(text), "fuzz round trip", &again) != SEDX_SUCCESS)
        abort(); /* what we write we read */
    same_config(cfg, again);
    char *text2 = format_all(again);
    if (strcmp(text, text2) != 0) abort();
    free(text2);
    free(text);
    check_index(again);
    sedx_config_destroy(again);
    sedx_config_destroy(cfg);
    return 0;
}
