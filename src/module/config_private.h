/* Shared by the configuration's files only (src/module/config*.c). */
#ifndef SEDX_MODULE_CONFIG_PRIVATE_H
#define SEDX_MODULE_CONFIG_PRIVATE_H

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

const char *sedx__cfg_source_name(const sedx_config *cfg);
bool sedx__cfg_owns_text(entry_kind kind);
void sedx__cfg_free_value(entry *e);
entry *sedx__cfg_find(const sedx_config *cfg, const char *key);
/* Adds or replaces key with a value. Strings of value (STRING, RAW, BIG) become the config's on
 * success and are freed by the caller on failure. */
sedx_result sedx__cfg_put(sedx_config *cfg, const char *key, entry value);
sedx_result sedx__cfg_put_string(sedx_config *cfg, const char *key, const char *s);
sedx_config *sedx__cfg_config_new(const char *source);
/* strerror into buf (thread-safe). */
const char *sedx__cfg_errno_text(int e, char *buf, size_t cap);

#endif
