/* Internal helpers shared by every layer. Not installed. */
#ifndef SEDX_CORE_CORE_H
#define SEDX_CORE_CORE_H

#include <sedx/core.h>
#include <stdatomic.h>
#include <pthread.h>
#include <string.h>

/* Host memory through the user's callbacks (sedx_set_host_allocator). */
void *sedx__malloc(size_t size);
void *sedx__calloc(size_t count, size_t size); /* NULL on overflow */
void *sedx__realloc(void *ptr, size_t size);
void sedx__free(void *ptr);
char *sedx__strdup(const char *s);              /* NULL in -> NULL out */

/* Log at the point of failure and return the code: return SEDX__ERR(r, "TAG", "fmt", ...). */
#define SEDX__ERR(result, tag, ...) \
    (sedx_log(SEDX_LOG_ERROR, tag, __FILE__, __LINE__, __VA_ARGS__), (result))

#define SEDX__MIN(a, b) ((a) < (b) ? (a) : (b))
#define SEDX__MAX(a, b) ((a) > (b) ? (a) : (b))
#define SEDX__COUNTOF(a) (sizeof(a) / sizeof((a)[0]))

static inline int sedx__is_pow2(uint64_t x) { return x != 0 && (x & (x - 1)) == 0; }
/* Rounds up to a power-of-two alignment; returns 0 on overflow (caller checks). */
static inline uint64_t sedx__align_up(uint64_t x, uint64_t align)
{
    uint64_t r = (x + (align - 1)) & ~(align - 1);
    return r < x ? 0 : r;
}
/* a + b, reporting overflow. */
static inline int sedx__add_overflows(uint64_t a, uint64_t b, uint64_t *out)
{
    *out = a + b;
    return *out < a;
}

/* ------------------------------------------------------------------------------------------
 * Generation-checked handle pool. A handle is (generation << 32) | (index + 1); 0 is never a
 * valid handle. Slots live in fixed pages that never move, so a lookup is lock-free: it reads
 * the slot's generation and pointer atomically and compares. Allocation and release lock.
 * ---------------------------------------------------------------------------------------- */
typedef uint64_t sedx__handle;
#define SEDX__HANDLE_PAGE_SLOTS 1024u
#define SEDX__HANDLE_MAX_PAGES 4096u

typedef struct sedx__handle_slot {
    _Atomic uint32_t generation; /* odd while live */
    _Atomic(void *) object;
    uint32_t next_free;          /* index + 1 of the next free slot, 0 = end */
} sedx__handle_slot;

typedef struct sedx__handle_pool {
    pthread_mutex_t lock;
    _Atomic(sedx__handle_slot *) pages[SEDX__HANDLE_MAX_PAGES];
    uint32_t page_count;
    uint32_t free_head;          /* index + 1, 0 = none */
    uint32_t live;
} sedx__handle_pool;

sedx_result sedx__handle_pool_init(sedx__handle_pool *pool);
void sedx__handle_pool_finish(sedx__handle_pool *pool);
sedx_result sedx__handle_alloc(sedx__handle_pool *pool, void *object, sedx__handle *out);
/* Returns the object, or NULL if the handle is stale, foreign or malformed. */
void *sedx__handle_get(sedx__handle_pool *pool, sedx__handle h);
/* Releases; returns SEDX_ERROR_INVALID_HANDLE if h is not live. */
sedx_result sedx__handle_free(sedx__handle_pool *pool, sedx__handle h);
uint32_t sedx__handle_live(sedx__handle_pool *pool);
/* Frees every live handle whose object match() accepts (context teardown: the handles of
 * objects the application leaked). Returns how many. match runs under the pool's lock. */
uint32_t sedx__handle_free_matching(sedx__handle_pool *pool, bool (*match)(void *object, void *user), void *user);

/* ------------------------------------------------------------------------------------------
 * A hash map from non-zero 64-bit keys (Vulkan handles) to pointers: open addressing, linear
 * probing, deletion by backward shift (no tombstones), at most half full. Not thread-safe.
 * ---------------------------------------------------------------------------------------- */
typedef struct sedx__map_slot {
    uint64_t key; /* 0 = empty */
    void *value;
} sedx__map_slot;
typedef struct sedx__map {
    sedx__map_slot *slots;
    uint32_t cap, count; /* cap: 0 or a power of two */
} sedx__map;
/* Inserts or replaces; SEDX_ERROR_OUT_OF_HOST_MEMORY when it cannot grow (map unchanged). */
sedx_result sedx__map_put(sedx__map *m, uint64_t key, void *value);
void *sedx__map_get(const sedx__map *m, uint64_t key); /* NULL when absent */
void sedx__map_remove(sedx__map *m, uint64_t key);
void sedx__map_free(sedx__map *m);

/* Writes str (NULL: "") as a JSON string, quotes included, through put: escapes, control
 * bytes as \u00XX, and bytes that start no valid UTF-8 sequence as \ufffd (core/json.c). */
typedef void (*sedx__json_sink)(void *sink, const char *bytes, size_t n);
void sedx__json_string(const char *str, sedx__json_sink put, void *sink);

/* Thread id for logs and profiling. */
uint32_t sedx__thread_id(void);

#endif
