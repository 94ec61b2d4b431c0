/* Parsing and loading: cJSON's tree plus a scan of the top level for what cJSON loses (exact
 * integers, escaped NULs, the text of nested values). */
#include "module/config_private.h"

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
    const char *name = sedx__cfg_source_name(cfg);
    sedx_result r = check_member(name, item, text, m);
    entry value = {.kind = KIND_NULL};
    if (r == SEDX_SUCCESS) r = item_value(name, item, text, m, &value);
    if (r == SEDX_SUCCESS) r = sedx__cfg_put(cfg, item->string, value);
    if (r != SEDX_SUCCESS) sedx__cfg_free_value(&value);
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
            return parse_error(sedx__cfg_source_name(cfg), text, sc.at, NULL, "internal error: member not found in the text");
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
    sedx_config *cfg = sedx__cfg_config_new(name);
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

const char *sedx__cfg_errno_text(int e, char *buf, size_t cap)
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
        return SEDX__ERR(SEDX_ERROR_IO, TAG, "%s: read failed: %s", path, sedx__cfg_errno_text(errno, ebuf, sizeof ebuf));
    return SEDX_SUCCESS;
}

static sedx_result load_missing(const char *path, sedx_config **out)
{
    sedx_config *cfg = sedx__cfg_config_new(path);
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
    if (!f) return SEDX__ERR(SEDX_ERROR_IO, TAG, "%s: cannot open: %s", path, sedx__cfg_errno_text(errno, ebuf, sizeof ebuf));
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

