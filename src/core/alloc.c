#include "core/core.h"

#include <stdlib.h>

static void *default_alloc(size_t size, void *u) { (void)u; return malloc(size); }
static void *default_realloc(void *p, size_t size, void *u) { (void)u; return realloc(p, size); }
static void default_free(void *p, void *u) { (void)u; free(p); }

static sedx_host_allocator g_alloc = {default_alloc, default_realloc, default_free, NULL};
static _Atomic int64_t g_live;

void sedx_set_host_allocator(const sedx_host_allocator *a)
{
    if (a && a->alloc && a->realloc && a->free) {
        g_alloc = *a;
    } else {
        if (a) SEDX_LOG_WARN_TAG("CORE", "host allocator without alloc/realloc/free: using malloc");
        g_alloc = (sedx_host_allocator){default_alloc, default_realloc, default_free, NULL};
    }
}

int64_t sedx_host_allocation_count(void) { return atomic_load(&g_live); }

void *sedx__malloc(size_t size)
{
    void *p = g_alloc.alloc(size ? size : 1, g_alloc.user_data);
    if (p) atomic_fetch_add(&g_live, 1);
    return p;
}

void *sedx__calloc(size_t count, size_t size)
{
    if (size && count > SIZE_MAX / size) return NULL;
    void *p = sedx__malloc(count * size);
    if (p) memset(p, 0, count * size);
    return p;
}

void *sedx__realloc(void *ptr, size_t size)
{
    if (!ptr) return sedx__malloc(size);
    return g_alloc.realloc(ptr, size ? size : 1, g_alloc.user_data);
}

void sedx__free(void *ptr)
{
    if (!ptr) return;
    atomic_fetch_sub(&g_live, 1);
    g_alloc.free(ptr, g_alloc.user_data);
}

char *sedx__strdup(const char *s)
{
    if (!s) return NULL;
    size_t n = strlen(s) + 1;
    char *d = sedx__malloc(n);
    if (d) memcpy(d, s, n);
    return d;
}
