/* The seed's BufferConfig ToJSON/FromJSON: a flat JSON object of typed values, parsed and
 * printed with cJSON. Values live in sedx's own storage (sedx__malloc); cJSON's tree exists
 * only during a parse or a print.
 *
 * cJSON reads every number as a double, so a parse also walks the top level of the text itself
 * (scanner below, run only on text cJSON accepted): integers are read exactly from their
 * digits, objects and arrays are kept as their own text, and an escaped NUL (\u0000), which
 * cJSON would silently cut a C string at, is found and refused. */
#include "module/config_private.h"

const char *sedx__cfg_source_name(const sedx_config *cfg) { return cfg->source ? cfg->source : "<config>"; }

bool sedx__cfg_owns_text(entry_kind kind) { return kind == KIND_STRING || kind == KIND_RAW || kind == KIND_BIG; }

void sedx__cfg_free_value(entry *e)
{
    if (sedx__cfg_owns_text(e->kind)) sedx__free(e->v.s);
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

entry *sedx__cfg_find(const sedx_config *cfg, const char *key) { return find_hashed(cfg, key, hash_key(key)); }

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
        return SEDX__ERR(SEDX_ERROR_OUT_OF_HOST_MEMORY, TAG, "%s: more than %u keys", sedx__cfg_source_name(cfg), MAX_KEYS);
    if (cfg->count == cfg->capacity) {
        uint32_t cap = cfg->capacity ? cfg->capacity * 2 : 16;
        entry *grown = sedx__realloc(cfg->entries, (size_t)cap * sizeof *grown);
        if (!grown) return SEDX__ERR(SEDX_ERROR_OUT_OF_HOST_MEMORY, TAG, "%s: out of host memory", sedx__cfg_source_name(cfg));
        cfg->entries = grown;
        cfg->capacity = cap;
    }
    if (!reserve_slot(cfg))
        return SEDX__ERR(SEDX_ERROR_OUT_OF_HOST_MEMORY, TAG, "%s: out of host memory", sedx__cfg_source_name(cfg));
    return SEDX_SUCCESS;
}

/* Adds or replaces key with a value (a replaced key keeps its place). Strings of value
 * (STRING, RAW, BIG) become the config's on success and are freed by the caller on failure. */
sedx_result sedx__cfg_put(sedx_config *cfg, const char *key, entry value)
{
    uint32_t hash = hash_key(key);
    entry *e = find_hashed(cfg, key, hash);
    if (e) {
        sedx__cfg_free_value(e);
        e->kind = value.kind;
        e->v = value.v;
        return SEDX_SUCCESS;
    }
    sedx_result r = reserve_entry(cfg);
    if (r != SEDX_SUCCESS) return r;
    value.key = sedx__strdup(key);
    if (!value.key) return SEDX__ERR(SEDX_ERROR_OUT_OF_HOST_MEMORY, TAG, "%s: out of host memory", sedx__cfg_source_name(cfg));
    value.hash = hash;
    cfg->slots[probe(cfg, key, hash)] = cfg->count + 1;
    cfg->entries[cfg->count++] = value;
    return SEDX_SUCCESS;
}

sedx_result sedx__cfg_put_string(sedx_config *cfg, const char *key, const char *s)
{
    entry value = {.kind = KIND_STRING};
    value.v.s = sedx__strdup(s);
    if (!value.v.s) return SEDX__ERR(SEDX_ERROR_OUT_OF_HOST_MEMORY, TAG, "%s: out of host memory", sedx__cfg_source_name(cfg));
    sedx_result r = sedx__cfg_put(cfg, key, value);
    if (r != SEDX_SUCCESS) sedx__free(value.v.s);
    return r;
}

sedx_config *sedx__cfg_config_new(const char *source)
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
    sedx_config *cfg = sedx__cfg_config_new(NULL);
    if (!cfg) return SEDX__ERR(SEDX_ERROR_OUT_OF_HOST_MEMORY, TAG, "sedx_config_create: out of host memory");
    *out = cfg;
    return SEDX_SUCCESS;
}

void sedx_config_destroy(sedx_config *cfg)
{
    if (!cfg) return;
    for (uint32_t i = 0; i < cfg->count; ++i) {
        sedx__cfg_free_value(&cfg->entries[i]);
        sedx__free(cfg->entries[i].key);
    }
    sedx__free(cfg->entries);
    sedx__free(cfg->slots);
    sedx__free(cfg->source);
    sedx__free(cfg);
}

/* ------------------------------------------------------------------------------------------
 * Keys and typed access
 * ---------------------------------------------------------------------------------------- */
bool sedx_config_has(const sedx_config *cfg, const char *key) { return cfg && key && sedx__cfg_find(cfg, key); }
uint32_t sedx_config_count(const sedx_config *cfg) { return cfg ? cfg->count : 0; }

const char *sedx_config_key(const sedx_config *cfg, uint32_t index)
{
    return cfg && index < cfg->count ? cfg->entries[index].key : NULL;
}

/* O(count): the later entries move up one place, and the index is rebuilt. */
sedx_result sedx_config_remove(sedx_config *cfg, const char *key)
{
    if (!cfg || !key) return SEDX__ERR(SEDX_ERROR_INVALID_ARGUMENT, TAG, "sedx_config_remove: cfg or key is NULL");
    entry *e = sedx__cfg_find(cfg, key);
    if (!e) return SEDX_SUCCESS;
    sedx__cfg_free_value(e);
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
    const entry *e = sedx__cfg_find(cfg, key);
    return e && e->kind != KIND_NULL ? e : NULL;
}

static void wrong_type(const sedx_config *cfg, const entry *e, const char *expected)
{
    SEDX_LOG_WARN_TAG(TAG, "%s: '%s' is %s, expected %s: using the default", sedx__cfg_source_name(cfg), e->key, kind_text(e),
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
        SEDX_LOG_ERROR_TAG(TAG, "%s: %s: an empty key is not supported", fn, sedx__cfg_source_name(cfg));
        return false;
    }
    return true;
}

sedx_result sedx_config_set_u64(sedx_config *cfg, const char *key, uint64_t value)
{
    if (!check_set(cfg, key, "sedx_config_set_u64")) return SEDX_ERROR_INVALID_ARGUMENT;
    return sedx__cfg_put(cfg, key, (entry){.kind = KIND_U64, .v.u = value});
}

sedx_result sedx_config_set_i64(sedx_config *cfg, const char *key, int64_t value)
{
    if (!check_set(cfg, key, "sedx_config_set_i64")) return SEDX_ERROR_INVALID_ARGUMENT;
    if (value >= 0) return sedx__cfg_put(cfg, key, (entry){.kind = KIND_U64, .v.u = (uint64_t)value});
    return sedx__cfg_put(cfg, key, (entry){.kind = KIND_I64, .v.i = value});
}

sedx_result sedx_config_set_f64(sedx_config *cfg, const char *key, double value)
{
    if (!check_set(cfg, key, "sedx_config_set_f64")) return SEDX_ERROR_INVALID_ARGUMENT;
    if (!isfinite(value))
        return SEDX__ERR(SEDX_ERROR_INVALID_ARGUMENT, TAG, "%s: '%s': JSON cannot hold NaN or infinity",
                         sedx__cfg_source_name(cfg), key);
    return sedx__cfg_put(cfg, key, (entry){.kind = KIND_F64, .v.f = value});
}

sedx_result sedx_config_set_bool(sedx_config *cfg, const char *key, bool value)
{
    if (!check_set(cfg, key, "sedx_config_set_bool")) return SEDX_ERROR_INVALID_ARGUMENT;
    return sedx__cfg_put(cfg, key, (entry){.kind = KIND_BOOL, .v.b = value});
}

sedx_result sedx_config_set_string(sedx_config *cfg, const char *key, const char *value)
{
    if (!check_set(cfg, key, "sedx_config_set_string")) return SEDX_ERROR_INVALID_ARGUMENT;
    if (!value) return SEDX__ERR(SEDX_ERROR_INVALID_ARGUMENT, TAG, "%s: '%s': value is NULL", sedx__cfg_source_name(cfg), key);
    return sedx__cfg_put_string(cfg, key, value);
}

