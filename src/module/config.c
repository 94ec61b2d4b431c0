/* The seed's BufferConfig ToJSON/FromJSON: a flat JSON object of typed values, parsed and
 * printed with cJSON. Values live in sedx's own storage (sedx__malloc); cJSON's tree exists
 * only during a parse or a print.
 *
 * cJSON reads every number as a double, so a parse also walks the top level of the text itself
 * (scanner below, run only on text cJSON accepted): integers are read exactly from their
 * digits, objects and arrays are kept as their own text, and an escaped NUL (\u0000), which
 * cJSON would silently cut a C string at, is found and refused. */
#include "core/core.h"

#include <sedx/module.h>

#include <cjson/cJSON.h>
#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <sys/stat.h>
#include <unistd.h>

#define TAG "CONFIG"
#define MAX_FILE_SIZE (64u << 20)
#define MAX_KEYS (1u << 30) /* keeps the index (twice as many slots) within 32 bits */
#define TEXT_(x) #x
#define TEXT(x) TEXT_(x)

typedef enum entry_kind {
    KIND_NULL,   /* JSON null: every getter gives its default, silently */
    KIND_BOOL,
    KIND_U64,    /* an integer >= 0 written without fraction or exponent, exact */
    KIND_I64,    /* a negative one, exact */
    KIND_BIG,    /* an integer beyond 64 bits, kept as its text */
    KIND_F64,    /* any other number */
    KIND_STRING,
    KIND_RAW     /* object or array, kept as its JSON text */
} entry_kind;

typedef struct entry {
    char *key;
    uint32_t hash; /* hash_key(key) */
    entry_kind kind;
    union {
        bool b;
        uint64_t u;
        int64_t i;
        double f;
        char *s; /* STRING, RAW and BIG */
    } v;
} entry;

/* Entries in insertion order; slots index them by key: open addressing with linear probing,
 * entry index + 1 per slot (0 = empty), at most half of the slots in use. */
struct sedx_config {
    entry *entries;
    uint32_t count, capacity;
    uint32_t *slots;    /* NULL until the first key */
    uint32_t slot_mask; /* slot count - 1 (a power of two) */
    char *source;       /* file name for log lines */
};

static const char *source_name(const sedx_config *cfg) { return cfg->source ? cfg->source : "<config>"; }

static bool owns_text(entry_kind kind) { return kind == KIND_STRING || kind == KIND_RAW || kind == KIND_BIG; }

static void free_value(entry *e)
{
    if (owns_text(e->kind)) sedx__free(e->v.s);
    e->v.s = NULL;
}

/* ------------------------------------------------------------------------------------------
 * Key index
 * ---------------------------------------------------------------------------------------- */
/* FNV-1a, then a finalizer so that the low bits (the slot) depend on every byte. */
static uint32_t hash_key(const char *key)
{
    uint32_t h = 2166136261u;
    for (const unsigned char *p = (const unsigned char *)key; *p; ++p) h = (h ^ *p) * 16777619u;
    h ^= h >> 16;
    h *= 0x85ebca6bu;
    h ^= h >> 13;
    h *= 0xc2b2ae35u;
    return h ^ (h >> 16);
}

/* The slot holding key, or the empty slot where its probe sequence ends. */
static uint32_t probe(const sedx_config *cfg, const char *key, uint32_t hash)
{
    uint32_t s = hash & cfg->slot_mask;
    while (cfg->slots[s]) {
        const entry *e = &cfg->entries[cfg->slots[s] - 1];
        if (e->hash == hash && strcmp(e->key, key) == 0) break;
        s = (s + 1) & cfg->slot_mask;
    }
    return s;
}

static entry *find_hashed(const sedx_config *cfg, const char *key, uint32_t hash)
{
    if (!cfg->slots) return NULL;
    uint32_t i = cfg->slots[probe(cfg, key, hash)];
    return i ? &cfg->entries[i - 1] : NULL;
}

static entry *find(const sedx_config *cfg, const char *key) { return find_hashed(cfg, key, hash_key(key)); }

/* Fills the (empty) slots from the entries. */
static void index_all(sedx_config *cfg)
{
    for (uint32_t i = 0; i < cfg->count; ++i) {
        uint32_t s = cfg->entries[i].hash & cfg->slot_mask;
        while (cfg->slots[s]) s = (s + 1) & cfg->slot_mask;
        cfg->slots[s] = i + 1;
    }
}

/* Room for one more key in the index. */
static bool reserve_slot(sedx_config *cfg)
{
    size_t have = cfg->slots ? (size_t)cfg->slot_mask + 1 : 0;
    if (((size_t)cfg->count + 1) * 2 <= have) return true;
    size_t n = have ? have * 2 : 32;
    uint32_t *slots = sedx__calloc(n, sizeof *slots);
    if (!slots) return false;
    sedx__free(cfg->slots);
    cfg->slots = slots;
    cfg->slot_mask = (uint32_t)(n - 1);
    index_all(cfg);
    return true;
}

/* Room for one more entry, in the array and in the index. */
static sedx_result reserve_entry(sedx_config *cfg)
{
    if (cfg->count >= MAX_KEYS)
        return SEDX__ERR(SEDX_ERROR_OUT_OF_HOST_MEMORY, TAG, "%s: more than %u keys", source_name(cfg), MAX_KEYS);
    if (cfg->count == cfg->capacity) {
        uint32_t cap = cfg->capacity ? cfg->capacity * 2 : 16;
        entry *grown = sedx__realloc(cfg->entries, (size_t)cap * sizeof *grown);
        if (!grown) return SEDX__ERR(SEDX_ERROR_OUT_OF_HOST_MEMORY, TAG, "%s: out of host memory", source_name(cfg));
        cfg->entries = grown;
        cfg->capacity = cap;
    }
    if (!reserve_slot(cfg))
        return SEDX__ERR(SEDX_ERROR_OUT_OF_HOST_MEMORY, TAG, "%s: out of host memory", source_name(cfg));
    return SEDX_SUCCESS;
}

/* Adds or replaces key with a value (a replaced key keeps its place). Strings of value
 * (STRING, RAW, BIG) become the config's on success and are freed by the caller on failure. */
static sedx_result put(sedx_config *cfg, const char *key, entry value)
{
    uint32_t hash = hash_key(key);
    entry *e = find_hashed(cfg, key, hash);
    if (e) {
        free_value(e);
        e->kind = value.kind;
        e->v = value.v;
        return SEDX_SUCCESS;
    }
    sedx_result r = reserve_entry(cfg);
    if (r != SEDX_SUCCESS) return r;
    value.key = sedx__strdup(key);
    if (!value.key) return SEDX__ERR(SEDX_ERROR_OUT_OF_HOST_MEMORY, TAG, "%s: out of host memory", source_name(cfg));
    value.hash = hash;
    cfg->slots[probe(cfg, key, hash)] = cfg->count + 1;
    cfg->entries[cfg->count++] = value;
    return SEDX_SUCCESS;
}

static sedx_result put_string(sedx_config *cfg, const char *key, const char *s)
{
    entry value = {.kind = KIND_STRING};
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
    sedx__free(cfg->slots);
    sedx__free(cfg->source);
    sedx__free(cfg);
}

/* ------------------------------------------------------------------------------------------
 * Scanning the text cJSON accepted: where each top-level member's key and value are
 * ---------------------------------------------------------------------------------------- */
typedef struct scanner {
    const char *s;
    size_t n, at;
} scanner;

typedef struct member {
    size_t key_at, value_at, value_end; /* offsets: the key's quote, the value, after the value */
    bool key_nul, value_nul;            /* the key, or a string value, holds \u0000 */
} member;

static bool is_space(char c) { return (unsigned char)c <= 32; } /* cJSON's whitespace */
static bool is_delimiter(char c) { return is_space(c) || c == ',' || c == ':' || c == '}' || c == ']'; }

static void skip_space(scanner *sc)
{
    while (sc->at < sc->n && is_space(sc->s[sc->at])) ++sc->at;
}

/* Skips the string whose opening quote is at sc->at; true if it holds the escape \u0000. */
static bool skip_string(scanner *sc)
{
    bool nul = false;
    for (++sc->at; sc->at < sc->n && sc->s[sc->at] != '"'; ++sc->at) {
        if (sc->s[sc->at] != '\\') continue;
        if (sc->n - sc->at >= 6 && memcmp(sc->s + sc->at, "\\u0000", 6) == 0) nul = true;
        ++sc->at;
    }
    ++sc->at;
    return nul;
}

/* Skips one value, nested objects and arrays included. */
static void skip_value(scanner *sc)
{
    size_t depth = 0;
    do {
        skip_space(sc);
        if (sc->at >= sc->n) return;
        char c = sc->s[sc->at];
        if (c == '"') {
            (void)skip_string(sc);
        } else if (c == '{' || c == '[') {
            ++depth;
            ++sc->at;
        } else if (c == '}' || c == ']') {
            if (depth) --depth;
            ++sc->at;
        } else if (c == ',' || c == ':') {
            ++sc->at;
        } else {
            while (sc->at < sc->n && !is_delimiter(sc->s[sc->at])) ++sc->at;
        }
    } while (depth > 0);
}

static size_t bom_length(const char *s, size_t n) { return n >= 3 && memcmp(s, "\xEF\xBB\xBF", 3) == 0 ? 3 : 0; }

/* The next member of the top-level object; false after the last. */
static bool next_member(scanner *sc, member *m)
{
    skip_space(sc);
    if (sc->at < sc->n && (sc->s[sc->at] == '{' || sc->s[sc->at] == ',')) ++sc->at;
    skip_space(sc);
    if (sc->at >= sc->n || sc->s[sc->at] != '"') return false;
    m->key_at = sc->at;
    m->key_nul = skip_string(sc);
    skip_space(sc);
    if (sc->at < sc->n && sc->s[sc->at] == ':') ++sc->at;
    skip_space(sc);
    m->value_at = sc->at;
    m->value_nul = false;
    if (sc->at < sc->n && sc->s[sc->at] == '"') m->value_nul = skip_string(sc);
    else skip_value(sc);
    m->value_end = SEDX__MIN(sc->at, sc->n);
    return true;
}

/* How many objects and arrays are open at offset at (where a parse failed). */
static size_t depth_at(const char *s, size_t at)
{
    size_t depth = 0;
    scanner sc = {s, at, 0};
    while (sc.at < at) {
        char c = s[sc.at];
        if (c == '"') {
            (void)skip_string(&sc);
            continue;
        }
        if (c == '{' || c == '[') ++depth;
        else if ((c == '}' || c == ']') && depth) --depth;
        ++sc.at;
    }
    return depth;
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

/* Logs "name:line:column: ['key': ]what" and returns SEDX_ERROR_PARSE. */
static sedx_result parse_error(const char *name, const char *text, size_t at, const char *key, const char *what)
{
    unsigned line, column;
    line_column(text, at, &line, &column);
    if (key) return SEDX__ERR(SEDX_ERROR_PARSE, TAG, "%s:%u:%u: '%s': %s", name, line, column, key, what);
    return SEDX__ERR(SEDX_ERROR_PARSE, TAG, "%s:%u:%u: %s", name, line, column, what);
}

typedef enum number_form { NUMBER_REAL, NUMBER_INTEGER, NUMBER_BIG } number_form;

/* The number token s[0..n): an integer (digits, optionally after '-'; no fraction, no exponent)
 * that fits 64 bits goes into *out exactly; one that does not is NUMBER_BIG; the rest REAL. */
static number_form read_integer(const char *s, size_t n, entry *out)
{
    size_t first = n && s[0] == '-' ? 1 : 0, i = first;
    uint64_t mag = 0;
    bool fits = true;
    for (; i < n && s[i] >= '0' && s[i] <= '9'; ++i) {
        unsigned d = (unsigned)(s[i] - '0');
        fits = fits && mag <= (UINT64_MAX - d) / 10;
        if (fits) mag = mag * 10 + d;
    }
    if (i == first || i != n) return NUMBER_REAL;
    bool negative = first == 1 && mag != 0;
    if (!fits || (negative && mag > (uint64_t)INT64_MAX + 1)) return NUMBER_BIG;
    if (!negative) {
        out->kind = KIND_U64;
        out->v.u = mag;
    } else {
        out->kind = KIND_I64;
        out->v.i = mag > (uint64_t)INT64_MAX ? INT64_MIN : -(int64_t)mag;
    }
    return NUMBER_INTEGER;
}

static char *copy_text(const char *s, size_t n)
{
    char *out = sedx__malloc(n + 1);
    if (!out) return NULL;
    memcpy(out, s, n);
    out[n] = '\0';
    return out;
}

/* An object or array as written, less the whitespace between its tokens: numbers and escapes
 * stay exactly as they were. */
static char *compact_copy(const char *s, size_t n)
{
    char *out = sedx__malloc(n + 1);
    if (!out) return NULL;
    size_t o = 0;
    bool in_string = false;
    for (size_t i = 0; i < n; ++i) {
        char c = s[i];
        if (in_string && c == '\\' && i + 1 < n) {
            out[o++] = c;
            c = s[++i];
        } else if (c == '"') {
            in_string = !in_string;
        } else if (!in_string && is_space(c)) {
            continue;
        }
        out[o++] = c;
    }
    out[o] = '\0';
    return out;
}

/* An integer beyond 64 bits, kept as its digits; one beyond the range of a double is refused. */
static sedx_result big_value(const char *name, const char *key, const char *text, const member *m, entry *out)
{
    char *digits = copy_text(text + m->value_at, m->value_end - m->value_at);
    if (!digits) return SEDX__ERR(SEDX_ERROR_OUT_OF_HOST_MEMORY, TAG, "%s: out of host memory", name);
    if (!isfinite(strtod(digits, NULL))) { /* digits only: no locale question */
        sedx__free(digits);
        return parse_error(name, text, m->value_at, key, "number out of range");
    }
    out->kind = KIND_BIG;
    out->v.s = digits;
    return SEDX_SUCCESS;
}

static sedx_result number_value(const char *name, const cJSON *item, const char *text, const member *m, entry *out)
{
    number_form form = read_integer(text + m->value_at, m->value_end - m->value_at, out);
    if (form == NUMBER_INTEGER) return SEDX_SUCCESS;
    if (form == NUMBER_BIG) return big_value(name, item->string, text, m, out);
    if (!isfinite(item->valuedouble)) /* cJSON reads 1e999 as infinity */
        return parse_error(name, text, m->value_at, item->string, "number out of range");
    out->kind = KIND_F64;
    out->v.f = item->valuedouble;
    return SEDX_SUCCESS;
}

/* The value of a top-level member; STRING, RAW and BIG own a copy of their text. */
static sedx_result item_value(const char *name, const cJSON *item, const char *text, const member *m, entry *out)
{
    *out = (entry){.kind = KIND_NULL};
    if (cJSON_IsBool(item)) {
        out->kind = KIND_BOOL;
        out->v.b = cJSON_IsTrue(item);
        return SEDX_SUCCESS;
    }
    if (cJSON_IsNumber(item)) return number_value(name, item, text, m, out);
    if (cJSON_IsString(item)) {
        out->kind = KIND_STRING;
        out->v.s = sedx__strdup(item->valuestring);
    } else if (cJSON_IsArray(item) || cJSON_IsObject(item)) {
        out->kind = KIND_RAW;
        out->v.s = compact_copy(text + m->value_at, m->value_end - m->value_at);
    } else {
        return SEDX_SUCCESS; /* null */
    }
    return out->v.s ? SEDX_SUCCESS : SEDX__ERR(SEDX_ERROR_OUT_OF_HOST_MEMORY, TAG, "%s: out of host memory", name);
}

/* Keys and string values are C strings: one that holds a NUL, or an empty key, is refused. */
static sedx_result check_member(const char *name, const cJSON *item, const char *text, const member *m)
{
    if (m->key_nul) return parse_error(name, text, m->key_at, NULL, "a key containing \\u0000 (NUL): not supported");
    if (!item->string[0]) return parse_error(name, text, m->key_at, NULL, "an empty key: not supported");
    if (m->value_nul)
        return parse_error(name, text, m->value_at, item->string, "a string containing \\u0000 (NUL): not supported");
    return SEDX_SUCCESS;
}

static sedx_result add_item(sedx_config *cfg, const cJSON *item, const char *text, const member *m)
{
    const char *name = source_name(cfg);
    sedx_result r = check_member(name, item, text, m);
    entry value = {.kind = KIND_NULL};
    if (r == SEDX_SUCCESS) r = item_value(name, item, text, m, &value);
    if (r == SEDX_SUCCESS) r = put(cfg, item->string, value);
    if (r != SEDX_SUCCESS) free_value(&value);
    return r;
}

/* cJSON's tree of text[0..n): one JSON object and nothing after it but whitespace. */
static sedx_result parse_tree(const char *text, size_t n, const char *name, cJSON **out)
{
    const char *end = NULL;
    cJSON *root = cJSON_ParseWithLengthOpts(text, n, &end, false);
    size_t at = end && end >= text && end <= text + n ? (size_t)(end - text) : 0;
    const char *problem = NULL;
    if (!root) {
        problem = depth_at(text, at) >= CJSON_NESTING_LIMIT ? "nested deeper than " TEXT(CJSON_NESTING_LIMIT) " levels"
                                                             : "malformed JSON";
    } else {
        while (at < n && (text[at] == ' ' || text[at] == '\t' || text[at] == '\n' || text[at] == '\r')) ++at;
        if (at < n) {
            problem = "unexpected text after the JSON value";
        } else if (!cJSON_IsObject(root)) {
            problem = "the top level is not a JSON object";
            at = 0;
        }
    }
    if (problem) {
        cJSON_Delete(root);
        return parse_error(name, text, at, NULL, problem);
    }
    *out = root;
    return SEDX_SUCCESS;
}

/* The members of root, in order, with their places in text. */
static sedx_result add_members(sedx_config *cfg, const cJSON *root, const char *text, size_t n)
{
    scanner sc = {text, n, bom_length(text, n)};
    for (const cJSON *item = root->child; item; item = item->next) {
        member m;
        if (!next_member(&sc, &m))
            return parse_error(source_name(cfg), text, sc.at, NULL, "internal error: member not found in the text");
        sedx_result r = add_item(cfg, item, text, &m);
        if (r != SEDX_SUCCESS) return r;
    }
    return SEDX_SUCCESS;
}

/* The text ends at its first NUL byte; only NUL bytes may follow it. */
static bool only_nul_after(const char *s, size_t n, size_t size)
{
    for (size_t i = n; i < size; ++i)
        if (s[i]) return false;
    return true;
}

sedx_result sedx_config_parse(const char *json, size_t size, const char *name, sedx_config **out)
{
    if (!name) name = "<memory>";
    if (!out || (!json && size))
        return SEDX__ERR(SEDX_ERROR_INVALID_ARGUMENT, TAG, "sedx_config_parse(%s): json or out is NULL", name);
    if (!json) json = "";
    size_t n = strnlen(json, size);
    if (!only_nul_after(json, n, size))
        return parse_error(name, json, n, NULL, "a NUL byte inside the text (only the end may be NUL bytes)");
    cJSON *root = NULL;
    sedx_result r = parse_tree(json, n, name, &root);
    if (r != SEDX_SUCCESS) return r;
    sedx_config *cfg = config_new(name);
    r = cfg ? add_members(cfg, root, json, n)
            : SEDX__ERR(SEDX_ERROR_OUT_OF_HOST_MEMORY, TAG, "%s: out of host memory", name);
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

/* The whole of f (at most MAX_FILE_SIZE bytes) into *text (sedx__free it). */
static sedx_result read_all(FILE *f, const char *path, char **text, size_t *size)
{
    char ebuf[128];
    size_t cap = 0;
    *text = NULL;
    *size = 0;
    for (;;) {
        if (*size == cap) {
            if (cap > MAX_FILE_SIZE)
                return SEDX__ERR(SEDX_ERROR_IO, TAG, "%s: larger than %u MiB", path, MAX_FILE_SIZE >> 20);
            size_t ncap = cap ? SEDX__MIN(cap * 2, (size_t)MAX_FILE_SIZE + 1) : 4096;
            char *grown = sedx__realloc(*text, ncap);
            if (!grown) return SEDX__ERR(SEDX_ERROR_OUT_OF_HOST_MEMORY, TAG, "%s: out of host memory", path);
            *text = grown;
            cap = ncap;
        }
        size_t n = fread(*text + *size, 1, cap - *size, f);
        *size += n;
        if (n == 0) break;
    }
    if (ferror(f))
        return SEDX__ERR(SEDX_ERROR_IO, TAG, "%s: read failed: %s", path, errno_text(errno, ebuf, sizeof ebuf));
    return SEDX_SUCCESS;
}

static sedx_result load_missing(const char *path, sedx_config **out)
{
    sedx_config *cfg = config_new(path);
    if (!cfg) return SEDX__ERR(SEDX_ERROR_OUT_OF_HOST_MEMORY, TAG, "%s: out of host memory", path);
    SEDX_LOG_INFO_TAG(TAG, "%s not found: using defaults", path);
    *out = cfg;
    return SEDX_SUCCESS;
}

sedx_result sedx_config_load(const char *path, sedx_config **out)
{
    if (!path || !out) return SEDX__ERR(SEDX_ERROR_INVALID_ARGUMENT, TAG, "sedx_config_load: path or out is NULL");
    if (!path[0]) return SEDX__ERR(SEDX_ERROR_INVALID_ARGUMENT, TAG, "sedx_config_load: path is empty");
    char ebuf[128];
    FILE *f = fopen(path, "rb");
    if (!f && errno == ENOENT) return load_missing(path, out);
    if (!f) return SEDX__ERR(SEDX_ERROR_IO, TAG, "%s: cannot open: %s", path, errno_text(errno, ebuf, sizeof ebuf));
    char *text = NULL;
    size_t size = 0;
    sedx_result r = read_all(f, path, &text, &size);
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
/* Shortest text that reads back as the same double, with a '.' or an exponent so that it reads
 * back as a double, not as an integer. */
static void format_double(double d, char *buf, size_t cap)
{
    snprintf(buf, cap, "%.15g", d);
    if (strtod(buf, NULL) != d) snprintf(buf, cap, "%.17g", d);
    size_t n = strlen(buf);
    if (!strpbrk(buf, ".eE") && n + 3 <= cap) memcpy(buf + n, ".0", 3);
}

static cJSON *json_item(const entry *e)
{
    char num[64];
    switch (e->kind) {
    case KIND_NULL: return cJSON_CreateNull();
    case KIND_BOOL: return cJSON_CreateBool(e->v.b);
    case KIND_U64: snprintf(num, sizeof num, "%" PRIu64, e->v.u); return cJSON_CreateRaw(num);
    case KIND_I64: snprintf(num, sizeof num, "%" PRId64, e->v.i); return cJSON_CreateRaw(num);
    case KIND_F64: format_double(e->v.f, num, sizeof num); return cJSON_CreateRaw(num);
    case KIND_STRING: return cJSON_CreateString(e->v.s);
    case KIND_BIG:
    case KIND_RAW: return cJSON_CreateRaw(e->v.s);
    }
    return NULL;
}

/* The JSON text (cJSON_free it), or NULL (logged). */
static char *print_json(const sedx_config *cfg)
{
    cJSON *root = cJSON_CreateObject();
    bool ok = root != NULL;
    for (uint32_t i = 0; i < cfg->count && ok; ++i) {
        cJSON *item = json_item(&cfg->entries[i]);
        ok = item && cJSON_AddItemToObject(root, cfg->entries[i].key, item);
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

/* ------------------------------------------------------------------------------------------
 * Saving: only a regular file is replaced
 * ---------------------------------------------------------------------------------------- */
typedef struct save_target {
    char *path;  /* the file written: the path, or the file its symbolic link points to */
    bool exists; /* replaced, keeping mode's permission bits */
    mode_t mode;
} save_target;

static const char *file_kind(mode_t mode)
{
    if (S_ISDIR(mode)) return "a directory";
    if (S_ISCHR(mode)) return "a character device";
    if (S_ISBLK(mode)) return "a block device";
    if (S_ISFIFO(mode)) return "a FIFO";
    if (S_ISSOCK(mode)) return "a socket";
    return "not a regular file";
}

/* Fills t for file (the path itself, or the file a link points to) if it is a regular file;
 * refuses anything else. */
static sedx_result existing_target(const char *path, const char *file, const struct stat *st, save_target *t)
{
    if (!S_ISREG(st->st_mode))
        return SEDX__ERR(SEDX_ERROR_IO, TAG, "%s%s%s is %s: only a regular file is replaced, nothing saved", path,
                         file == path ? "" : " -> ", file == path ? "" : file, file_kind(st->st_mode));
    t->path = sedx__strdup(file);
    if (!t->path) return SEDX__ERR(SEDX_ERROR_OUT_OF_HOST_MEMORY, TAG, "%s: out of host memory", path);
    t->exists = true;
    t->mode = st->st_mode;
    return SEDX_SUCCESS;
}

/* A symbolic link is written through: the file it points to is replaced, the link stays. */
static sedx_result link_target(const char *path, save_target *t)
{
    char ebuf[128];
    char *real = realpath(path, NULL); /* libc's malloc */
    if (!real)
        return SEDX__ERR(SEDX_ERROR_IO, TAG, "%s: a symbolic link that cannot be followed (%s): nothing saved", path,
                         errno_text(errno, ebuf, sizeof ebuf));
    struct stat st;
    sedx_result r = stat(real, &st) == 0 ? existing_target(path, real, &st, t)
                                         : SEDX__ERR(SEDX_ERROR_IO, TAG, "%s -> %s: %s", path, real,
                                                     errno_text(errno, ebuf, sizeof ebuf));
    free(real);
    return r;
}

/* Where a save writes: a missing file is created, a regular file (or one a symbolic link points
 * to) replaced; directories, devices, FIFOs and sockets are refused. */
static sedx_result find_target(const char *path, save_target *t)
{
    char ebuf[128];
    struct stat st;
    *t = (save_target){0};
    if (lstat(path, &st) == 0) return S_ISLNK(st.st_mode) ? link_target(path, t) : existing_target(path, path, &st, t);
    if (errno != ENOENT)
        return SEDX__ERR(SEDX_ERROR_IO, TAG, "%s: cannot save: %s", path, errno_text(errno, ebuf, sizeof ebuf));
    t->path = sedx__strdup(path);
    return t->path ? SEDX_SUCCESS : SEDX__ERR(SEDX_ERROR_OUT_OF_HOST_MEMORY, TAG, "%s: out of host memory", path);
}

/* Opens tmp for writing: created, or a regular file left by a failed save truncated. A link or
 * a FIFO there is never followed or waited for; anything but a regular file is refused. */
static int open_temp(const char *tmp, sedx_result *r)
{
    char ebuf[128];
    int fd = open(tmp, O_WRONLY | O_CREAT | O_TRUNC | O_NOFOLLOW | O_NONBLOCK | O_CLOEXEC, 0666);
    if (fd < 0) {
        *r = SEDX__ERR(SEDX_ERROR_IO, TAG, "%s: cannot write: %s", tmp, errno_text(errno, ebuf, sizeof ebuf));
        return -1;
    }
    struct stat st;
    if (fstat(fd, &st) != 0 || !S_ISREG(st.st_mode)) {
        close(fd);
        *r = SEDX__ERR(SEDX_ERROR_IO, TAG, "%s exists and is not a regular file: nothing saved", tmp);
        return -1;
    }
    return fd;
}

static bool write_all(int fd, const char *p, size_t n)
{
    while (n > 0) {
        ssize_t w = write(fd, p, n);
        if (w < 0 && errno == EINTR) continue;
        if (w <= 0) {
            if (w == 0) errno = EIO;
            return false;
        }
        p += w;
        n -= (size_t)w;
    }
    return true;
}

/* Writes text and a newline to disk, with the replaced file's permission bits: 0 or an errno. */
static int write_temp(int fd, const char *tmp, const char *text, const save_target *t)
{
    if (!write_all(fd, text, strlen(text)) || !write_all(fd, "\n", 1)) return errno;
    if (t->exists && fchmod(fd, t->mode & 07777) != 0)
        SEDX_LOG_WARN_TAG(TAG, "%s: cannot keep the permissions of %s (errno %d)", tmp, t->path, errno);
    return fsync(fd) == 0 ? 0 : errno;
}

/* t->path.tmp, written in full, then renamed over t->path: a failed save changes nothing. */
static sedx_result write_replace(const save_target *t, const char *text)
{
    char ebuf[128];
    size_t plen = strlen(t->path);
    char *tmp = sedx__malloc(plen + 5);
    if (!tmp) return SEDX__ERR(SEDX_ERROR_OUT_OF_HOST_MEMORY, TAG, "%s: out of host memory", t->path);
    memcpy(tmp, t->path, plen);
    memcpy(tmp + plen, ".tmp", 5);
    sedx_result r = SEDX_SUCCESS;
    int fd = open_temp(tmp, &r);
    if (fd >= 0) {
        int e = write_temp(fd, tmp, text, t);
        if (close(fd) != 0 && !e) e = errno;
        if (!e && rename(tmp, t->path) != 0) e = errno;
        if (e) {
            unlink(tmp);
            r = SEDX__ERR(SEDX_ERROR_IO, TAG, "%s: save failed: %s", t->path, errno_text(e, ebuf, sizeof ebuf));
        }
    }
    sedx__free(tmp);
    return r;
}

sedx_result sedx_config_save(const sedx_config *cfg, const char *path)
{
    if (!cfg || !path) return SEDX__ERR(SEDX_ERROR_INVALID_ARGUMENT, TAG, "sedx_config_save: cfg or path is NULL");
    if (!path[0]) return SEDX__ERR(SEDX_ERROR_INVALID_ARGUMENT, TAG, "sedx_config_save: path is empty");
    save_target t;
    sedx_result r = find_target(path, &t);
    if (r != SEDX_SUCCESS) return r;
    char *text = print_json(cfg);
    r = text ? write_replace(&t, text) : SEDX_ERROR_OUT_OF_HOST_MEMORY;
    if (r == SEDX_SUCCESS) SEDX_LOG_DEBUG_TAG(TAG, "saved %s (%u keys)", t.path, cfg->count);
    cJSON_free(text);
    sedx__free(t.path);
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

/* O(count): the later entries move up one place, and the index is rebuilt. */
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
    memset(cfg->slots, 0, ((size_t)cfg->slot_mask + 1) * sizeof *cfg->slots);
    index_all(cfg);
    return SEDX_SUCCESS;
}

static const char *kind_text(const entry *e)
{
    switch (e->kind) {
    case KIND_NULL: return "null";
    case KIND_BOOL: return "a boolean";
    case KIND_U64: return "an unsigned integer";
    case KIND_I64: return "a negative integer";
    case KIND_BIG: return "an integer beyond 64 bits";
    case KIND_F64: return "a number with a fraction or an exponent";
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
    case KIND_BIG: return strtod(e->v.s, NULL); /* digits only: no locale question */
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

/* A key set_* accepts: what a file may hold (not NULL, not empty). */
static bool check_set(const sedx_config *cfg, const char *key, const char *fn)
{
    if (!cfg || !key) {
        SEDX_LOG_ERROR_TAG(TAG, "%s: cfg or key is NULL", fn);
        return false;
    }
    if (!key[0]) {
        SEDX_LOG_ERROR_TAG(TAG, "%s: %s: an empty key is not supported", fn, source_name(cfg));
        return false;
    }
    return true;
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
    return put_string(cfg, key, value);
}
