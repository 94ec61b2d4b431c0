/* The seed's BufferConfig ToJSON/FromJSON: a flat JSON object of typed values, parsed and
 * printed with cJSON. Values live in sedx's own storage (sedx__malloc); cJSON's tree exists
 * only during a parse or a print. */
#include "core/core_internal.h"

#include <sedx/module.h>

#include <cjson/cJSON.h>
#include <errno.h>
#include <inttypes.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>

#define TAG "CONFIG"
#define MAX_FILE_SIZE (64u << 20)

typedef enum entry_kind {
    KIND_NULL,   /* JSON null: every getter gives its default, silently */
    KIND_BOOL,
    KIND_U64,    /* non-negative integer */
    KIND_I64,    /* negative integer */
    KIND_F64,    /* any other number */
    KIND_STRING,
    KIND_RAW     /* object or array, kept as its JSON text */
} entry_kind;

typedef struct entry {
    char *key;
    entry_kind kind;
    union {
        bool b;
        uint64_t u;
        int64_t i;
        double f;
        char *s; /* STRING and RAW */
    } v;
} entry;

struct sedx_config {
    entry *entries;
    uint32_t count, capacity;
    char *source; /* file name for log lines */
};

static const char *source_name(const sedx_config *cfg) { return cfg->source ? cfg->source : "<config>"; }

static entry *find(const sedx_config *cfg, const char *key)
{
    for (uint32_t i = 0; i < cfg->count; ++i)
        if (strcmp(cfg->entries[i].key, key) == 0) return &cfg->entries[i];
    return NULL;
}

static void free_value(entry *e)
{
    if (e->kind == KIND_STRING || e->kind == KIND_RAW) sedx__free(e->v.s);
    e->v.s = NULL;
}

/* Adds or replaces key with a value. Strings of value (STRING, RAW) become the config's on
 * success and are freed by the caller on failure. */
static sedx_result put(sedx_config *cfg, const char *key, entry value)
{
    entry *e = find(cfg, key);
    if (e) {
        free_value(e);
        e->kind = value.kind;
        e->v = value.v;
        return SEDX_SUCCESS;
    }
    if (cfg->count == cfg->capacity) {
        uint32_t cap = cfg->capacity ? cfg->capacity * 2 : 16;
        entry *grown = sedx__realloc(cfg->entries, (size_t)cap * sizeof *grown);
        if (!grown) return SEDX__ERR(SEDX_ERROR_OUT_OF_HOST_MEMORY, TAG, "%s: out of host memory", source_name(cfg));
        cfg->entries = grown;
        cfg->capacity = cap;
    }
    char *k = sedx__strdup(key);
    if (!k) return SEDX__ERR(SEDX_ERROR_OUT_OF_HOST_MEMORY, TAG, "%s: out of host memory", source_name(cfg));
    value.key = k;
    cfg->entries[cfg->count++] = value;
    return SEDX_SUCCESS;
}

static sedx_result put_string(sedx_config *cfg, const char *key, entry_kind kind, const char *s)
{
    entry value = {.kind = kind};
    value.v.s = sedx__strdup(s);
    if (!value.v.s) return SEDX__ERR(SEDX_ERROR_OUT_OF_HOST_MEMORY, TAG, "%s: out of host memory", source_name(cfg));
    sedx_result r = put(cfg, key, value);
    if (r != SEDX_SUCCESS) sedx__free(value.v.s);
    return r;
}

static sedx_config *config_new(const char *source)
{
    sedx_config *cfg = sedx__calloc(1, sizeof *cfg);
    if (!cfg) return NULL;
    if (source && !(cfg->source = sedx__strdup(source))) {
        sedx__free(cfg);
        return NULL;
    }
    return cfg;
}

sedx_result sedx_config_create(sedx_config **out)
{
    if (!out) return SEDX__ERR(SEDX_ERROR_INVALID_ARGUMENT, TAG, "sedx_config_create: out is NULL");
    sedx_config *cfg = config_new(NULL);
    if (!cfg) return SEDX__ERR(SEDX_ERROR_OUT_OF_HOST_MEMORY, TAG, "sedx_config_create: out of host memory");
    *out = cfg;
    return SEDX_SUCCESS;
}

void sedx_config_destroy(sedx_config *cfg)
{
    if (!cfg) return;
    for (uint32_t i = 0; i < cfg->count; ++i) {
        free_value(&cfg->entries[i]);
        sedx__free(cfg->entries[i].key);
    }
    sedx__free(cfg->entries);
    sedx__free(cfg->source);
    sedx__free(cfg);
}

/* ------------------------------------------------------------------------------------------
 * Parsing
 * ---------------------------------------------------------------------------------------- */
static void line_column(const char *text, size_t offset, unsigned *line, unsigned *column)
{
    *line = 1;
    *column = 1;
    for (size_t i = 0; i < offset; ++i) {
        if (text[i] == '\n') {
            ++*line;
            *column = 1;
        } else {
            ++*column;
        }
    }
}

static sedx_result add_item(sedx_config *cfg, const cJSON *item)
{
    const char *key = item->string;
    entry value = {.kind = KIND_NULL};
    if (cJSON_IsBool(item)) {
        value.kind = KIND_BOOL;
        value.v.b = cJSON_IsTrue(item);
    } else if (cJSON_IsNumber(item)) {
        double d = item->valuedouble;
        if (!isfinite(d)) /* cJSON reads 1e999 as infinity */
            return SEDX__ERR(SEDX_ERROR_PARSE, TAG, "%s: '%s': number out of range", source_name(cfg), key);
        if (d >= 0.0 && d < 18446744073709551616.0 && (double)(uint64_t)d == d) {
            value.kind = KIND_U64;
            value.v.u = (uint64_t)d;
        } else if (d < 0.0 && d >= -9223372036854775808.0 && (double)(int64_t)d == d) {
            value.kind = KIND_I64;
            value.v.i = (int64_t)d;
        } else {
            value.kind = KIND_F64;
            value.v.f = d;
        }
    } else if (cJSON_IsString(item)) {
        return put_string(cfg, key, KIND_STRING, item->valuestring);
    } else if (cJSON_IsArray(item) || cJSON_IsObject(item)) {
        char *text = cJSON_PrintUnformatted(item);
        if (!text) return SEDX__ERR(SEDX_ERROR_OUT_OF_HOST_MEMORY, TAG, "%s: out of host memory", source_name(cfg));
        sedx_result r = put_string(cfg, key, KIND_RAW, text);
        cJSON_free(text);
        return r;
    }
    return put(cfg, key, value);
}

sedx_result sedx_config_parse(const char *json, size_t size, const char *name, sedx_config **out)
{
    if (!name) name = "<memory>";
    if (!out || (!json && size))
        return SEDX__ERR(SEDX_ERROR_INVALID_ARGUMENT, TAG, "sedx_config_parse(%s): json or out is NULL", name);
    if (!json) json = "";
    const char *end = NULL;
    cJSON *root = cJSON_ParseWithLengthOpts(json, size, &end, false);
    size_t at = end && end >= json && end <= json + size ? (size_t)(end - json) : 0;
    const char *problem = NULL;
    if (!root) {
        problem = "malformed JSON";
    } else {
        /* cJSON stops after the first value: only whitespace may follow it. */
        while (at < size && (json[at] == ' ' || json[at] == '\t' || json[at] == '\n' || json[at] == '\r')) ++at;
        if (at < size) problem = "unexpected text after the JSON value";
        else if (!cJSON_IsObject(root)) {
            problem = "the top level is not a JSON object";
            at = 0;
        }
    }
    if (problem) {
        unsigned line, column;
        line_column(json, at, &line, &column);
        cJSON_Delete(root);
        return SEDX__ERR(SEDX_ERROR_PARSE, TAG, "%s:%u:%u: %s", name, line, column, problem);
    }
    sedx_config *cfg = config_new(name);
    sedx_result r = cfg ? SEDX_SUCCESS : SEDX__ERR(SEDX_ERROR_OUT_OF_HOST_MEMORY, TAG, "%s: out of host memory", name);
    for (const cJSON *item = root->child; item && r == SEDX_SUCCESS; item = item->next) r = add_item(cfg, item);
    cJSON_Delete(root);
    if (r != SEDX_SUCCESS) {
        sedx_config_destroy(cfg);
        return r;
    }
    *out = cfg;
    return SEDX_SUCCESS;
}

static const char *errno_text(int e, char *buf, size_t cap)
{
#if defined(__GLIBC__) && defined(_GNU_SOURCE)
    return strerror_r(e, buf, cap);
#else
    return strerror_r(e, buf, cap) == 0 ? buf : "unknown error";
#endif
}

sedx_result sedx_config_load(const char *path, sedx_config **out)
{
    if (!path || !out) return SEDX__ERR(SEDX_ERROR_INVALID_ARGUMENT, TAG, "sedx_config_load: path or out is NULL");
    char ebuf[128];
    FILE *f = fopen(path, "rb");
    if (!f) {
        int e = errno;
        if (e != ENOENT)
            return SEDX__ERR(SEDX_ERROR_IO, TAG, "%s: cannot open: %s", path, errno_text(e, ebuf, sizeof ebuf));
        sedx_config *cfg = config_new(path);
        if (!cfg) return SEDX__ERR(SEDX_ERROR_OUT_OF_HOST_MEMORY, TAG, "%s: out of host memory", path);
        SEDX_LOG_INFO_TAG(TAG, "%s not found: using defaults", path);
        *out = cfg;
        return SEDX_SUCCESS;
    }
    char *text = NULL;
    size_t size = 0, cap = 0;
    sedx_result r = SEDX_SUCCESS;
    for (;;) {
        if (size == cap) {
            if (cap >= MAX_FILE_SIZE) {
                r = SEDX__ERR(SEDX_ERROR_IO, TAG, "%s: larger than %u MiB", path, MAX_FILE_SIZE >> 20);
                break;
            }
            size_t ncap = cap ? cap * 2 : 4096;
            char *grown = sedx__realloc(text, ncap);
            if (!grown) {
                r = SEDX__ERR(SEDX_ERROR_OUT_OF_HOST_MEMORY, TAG, "%s: out of host memory", path);
                break;
            }
            text = grown;
            cap = ncap;
        }
        size_t n = fread(text + size, 1, cap - size, f);
        size += n;
        if (n == 0) {
            if (ferror(f))
                r = SEDX__ERR(SEDX_ERROR_IO, TAG, "%s: read failed: %s", path, errno_text(errno, ebuf, sizeof ebuf));
            break;
        }
    }
    fclose(f);
    sedx_config *cfg = NULL;
    if (r == SEDX_SUCCESS) r = sedx_config_parse(text, size, path, &cfg);
    sedx__free(text);
    if (r != SEDX_SUCCESS) return r;
    SEDX_LOG_INFO_TAG(TAG, "loaded %s (%u keys)", path, cfg->count);
    *out = cfg;
    return SEDX_SUCCESS;
}

/* ------------------------------------------------------------------------------------------
 * Printing
 * ---------------------------------------------------------------------------------------- */
/* Shortest text that reads back as the same double. */
static void format_double(double d, char *buf, size_t cap)
{
    snprintf(buf, cap, "%.15g", d);
    if (strtod(buf, NULL) != d) snprintf(buf, cap, "%.17g", d);
}

/* The JSON text (cJSON_free it), or NULL (logged). */
static char *print_json(const sedx_config *cfg)
{
    cJSON *root = cJSON_CreateObject();
    bool ok = root != NULL;
    for (uint32_t i = 0; i < cfg->count && ok; ++i) {
        const entry *e = &cfg->entries[i];
        char num[64];
        cJSON *item = NULL;
        switch (e->kind) {
        case KIND_NULL: item = cJSON_CreateNull(); break;
        case KIND_BOOL: item = cJSON_CreateBool(e->v.b); break;
        case KIND_U64: snprintf(num, sizeof num, "%" PRIu64, e->v.u); item = cJSON_CreateRaw(num); break;
        case KIND_I64: snprintf(num, sizeof num, "%" PRId64, e->v.i); item = cJSON_CreateRaw(num); break;
        case KIND_F64: format_double(e->v.f, num, sizeof num); item = cJSON_CreateRaw(num); break;
        case KIND_STRING: item = cJSON_CreateString(e->v.s); break;
        case KIND_RAW: item = cJSON_CreateRaw(e->v.s); break;
        }
        ok = item && cJSON_AddItemToObject(root, e->key, item);
        if (!ok) cJSON_Delete(item);
    }
    char *text = ok ? cJSON_Print(root) : NULL;
    cJSON_Delete(root);
    if (!text) SEDX_LOG_ERROR_TAG(TAG, "%s: out of host memory while printing JSON", source_name(cfg));
    return text;
}

size_t sedx_config_format(const sedx_config *cfg, char *out, size_t cap)
{
    if (out && cap) out[0] = '\0';
    if (!cfg) return (size_t)SEDX__ERR(0, TAG, "sedx_config_format: cfg is NULL");
    char *text = print_json(cfg);
    if (!text) return 0;
    size_t n = strlen(text);
    if (out && cap) {
        size_t c = SEDX__MIN(n, cap - 1);
        memcpy(out, text, c);
        out[c] = '\0';
    }
    cJSON_free(text);
    return n;
}

sedx_result sedx_config_save(const sedx_config *cfg, const char *path)
{
    if (!cfg || !path) return SEDX__ERR(SEDX_ERROR_INVALID_ARGUMENT, TAG, "sedx_config_save: cfg or path is NULL");
    char *text = print_json(cfg);
    if (!text) return SEDX_ERROR_OUT_OF_HOST_MEMORY;
    size_t plen = strlen(path);
    char *tmp = sedx__malloc(plen + 5);
    if (!tmp) {
        cJSON_free(text);
        return SEDX__ERR(SEDX_ERROR_OUT_OF_HOST_MEMORY, TAG, "%s: out of host memory", path);
    }
    memcpy(tmp, path, plen);
    memcpy(tmp + plen, ".tmp", 5);
    char ebuf[128];
    sedx_result r = SEDX_SUCCESS;
    FILE *f = fopen(tmp, "wb");
    if (!f) {
        r = SEDX__ERR(SEDX_ERROR_IO, TAG, "%s: cannot write: %s", tmp, errno_text(errno, ebuf, sizeof ebuf));
    } else {
        size_t n = strlen(text);
        bool ok = fwrite(text, 1, n, f) == n && fputc('\n', f) != EOF;
        int e = errno;
        ok = (fclose(f) == 0) && ok;
        if (!ok) e = errno;
        if (ok && rename(tmp, path) != 0) {
            ok = false;
            e = errno;
        }
        if (!ok) {
            remove(tmp);
            r = SEDX__ERR(SEDX_ERROR_IO, TAG, "%s: save failed: %s", path, errno_text(e, ebuf, sizeof ebuf));
        }
    }
    if (r == SEDX_SUCCESS) SEDX_LOG_DEBUG_TAG(TAG, "saved %s (%u keys)", path, cfg->count);
    sedx__free(tmp);
    cJSON_free(text);
    return r;
}

/* ------------------------------------------------------------------------------------------
 * Keys and typed access
 * ---------------------------------------------------------------------------------------- */
bool sedx_config_has(const sedx_config *cfg, const char *key) { return cfg && key && find(cfg, key); }
uint32_t sedx_config_count(const sedx_config *cfg) { return cfg ? cfg->count : 0; }

const char *sedx_config_key(const sedx_config *cfg, uint32_t index)
{
    return cfg && index < cfg->count ? cfg->entries[index].key : NULL;
}

sedx_result sedx_config_remove(sedx_config *cfg, const char *key)
{
    if (!cfg || !key) return SEDX__ERR(SEDX_ERROR_INVALID_ARGUMENT, TAG, "sedx_config_remove: cfg or key is NULL");
    entry *e = find(cfg, key);
    if (!e) return SEDX_SUCCESS;
    free_value(e);
    sedx__free(e->key);
    size_t index = (size_t)(e - cfg->entries);
    memmove(e, e + 1, (cfg->count - index - 1) * sizeof *e);
    cfg->count--;
    return SEDX_SUCCESS;
}

static const char *kind_text(const entry *e)
{
    switch (e->kind) {
    case KIND_NULL: return "null";
    case KIND_BOOL: return "a boolean";
    case KIND_U64: return "an unsigned integer";
    case KIND_I64: return "a negative integer";
    case KIND_F64: return "a number with a fraction or out of range";
    case KIND_STRING: return "a string";
    case KIND_RAW: return e->v.s[0] == '[' ? "an array" : "an object";
    }
    return "?";
}

/* The entry to read, or NULL for "use the default" (missing key, null, or the wrong type,
 * which is logged). */
static const entry *lookup(const sedx_config *cfg, const char *key, const char *fn)
{
    if (!cfg || !key) {
        SEDX_LOG_ERROR_TAG(TAG, "%s: cfg or key is NULL: using the default", fn);
        return NULL;
    }
    const entry *e = find(cfg, key);
    return e && e->kind != KIND_NULL ? e : NULL;
}

static void wrong_type(const sedx_config *cfg, const entry *e, const char *expected)
{
    SEDX_LOG_WARN_TAG(TAG, "%s: '%s' is %s, expected %s: using the default", source_name(cfg), e->key, kind_text(e),
                      expected);
}

uint64_t sedx_config_get_u64(const sedx_config *cfg, const char *key, uint64_t def)
{
    const entry *e = lookup(cfg, key, "sedx_config_get_u64");
    if (!e) return def;
    if (e->kind == KIND_U64) return e->v.u;
    if (e->kind == KIND_F64 && e->v.f >= 0.0 && e->v.f < 18446744073709551616.0 && (double)(uint64_t)e->v.f == e->v.f)
        return (uint64_t)e->v.f;
    wrong_type(cfg, e, "an unsigned integer");
    return def;
}

int64_t sedx_config_get_i64(const sedx_config *cfg, const char *key, int64_t def)
{
    const entry *e = lookup(cfg, key, "sedx_config_get_i64");
    if (!e) return def;
    if (e->kind == KIND_I64) return e->v.i;
    if (e->kind == KIND_U64 && e->v.u <= (uint64_t)INT64_MAX) return (int64_t)e->v.u;
    if (e->kind == KIND_F64 && e->v.f >= -9223372036854775808.0 && e->v.f < 9223372036854775808.0 &&
        (double)(int64_t)e->v.f == e->v.f)
        return (int64_t)e->v.f;
    wrong_type(cfg, e, "a signed 64-bit integer");
    return def;
}

double sedx_config_get_f64(const sedx_config *cfg, const char *key, double def)
{
    const entry *e = lookup(cfg, key, "sedx_config_get_f64");
    if (!e) return def;
    switch (e->kind) {
    case KIND_U64: return (double)e->v.u;
    case KIND_I64: return (double)e->v.i;
    case KIND_F64: return e->v.f;
    default: wrong_type(cfg, e, "a number"); return def;
    }
}

bool sedx_config_get_bool(const sedx_config *cfg, const char *key, bool def)
{
    const entry *e = lookup(cfg, key, "sedx_config_get_bool");
    if (!e) return def;
    if (e->kind == KIND_BOOL) return e->v.b;
    wrong_type(cfg, e, "a boolean");
    return def;
}

const char *sedx_config_get_string(const sedx_config *cfg, const char *key, const char *def)
{
    const entry *e = lookup(cfg, key, "sedx_config_get_string");
    if (!e) return def;
    if (e->kind == KIND_STRING) return e->v.s;
    wrong_type(cfg, e, "a string");
    return def;
}

static bool check_set(const sedx_config *cfg, const char *key, const char *fn)
{
    if (cfg && key) return true;
    SEDX_LOG_ERROR_TAG(TAG, "%s: cfg or key is NULL", fn);
    return false;
}

sedx_result sedx_config_set_u64(sedx_config *cfg, const char *key, uint64_t value)
{
    if (!check_set(cfg, key, "sedx_config_set_u64")) return SEDX_ERROR_INVALID_ARGUMENT;
    return put(cfg, key, (entry){.kind = KIND_U64, .v.u = value});
}

sedx_result sedx_config_set_i64(sedx_config *cfg, const char *key, int64_t value)
{
    if (!check_set(cfg, key, "sedx_config_set_i64")) return SEDX_ERROR_INVALID_ARGUMENT;
    if (value >= 0) return put(cfg, key, (entry){.kind = KIND_U64, .v.u = (uint64_t)value});
    return put(cfg, key, (entry){.kind = KIND_I64, .v.i = value});
}

sedx_result sedx_config_set_f64(sedx_config *cfg, const char *key, double value)
{
    if (!check_set(cfg, key, "sedx_config_set_f64")) return SEDX_ERROR_INVALID_ARGUMENT;
    if (!isfinite(value))
        return SEDX__ERR(SEDX_ERROR_INVALID_ARGUMENT, TAG, "%s: '%s': JSON cannot hold NaN or infinity",
                         source_name(cfg), key);
    return put(cfg, key, (entry){.kind = KIND_F64, .v.f = value});
}

sedx_result sedx_config_set_bool(sedx_config *cfg, const char *key, bool value)
{
    if (!check_set(cfg, key, "sedx_config_set_bool")) return SEDX_ERROR_INVALID_ARGUMENT;
    return put(cfg, key, (entry){.kind = KIND_BOOL, .v.b = value});
}

sedx_result sedx_config_set_string(sedx_config *cfg, const char *key, const char *value)
{
    if (!check_set(cfg, key, "sedx_config_set_string")) return SEDX_ERROR_INVALID_ARGUMENT;
    if (!value) return SEDX__ERR(SEDX_ERROR_INVALID_ARGUMENT, TAG, "%s: '%s': value is NULL", source_name(cfg), key);
    return put_string(cfg, key, KIND_STRING, value);
}
