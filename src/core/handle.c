#include "core/core.h"

sedx_result sedx__handle_pool_init(sedx__handle_pool *pool)
{
    memset(pool, 0, sizeof *pool);
    if (pthread_mutex_init(&pool->lock, NULL) != 0)
        return SEDX__ERR(SEDX_ERROR_OUT_OF_HOST_MEMORY, "CORE", "pthread_mutex_init failed");
    return SEDX_SUCCESS;
}

void sedx__handle_pool_finish(sedx__handle_pool *pool)
{
    for (uint32_t i = 0; i < pool->page_count; ++i) sedx__free(atomic_load(&pool->pages[i]));
    pthread_mutex_destroy(&pool->lock);
    memset(pool, 0, sizeof *pool);
}

static sedx__handle_slot *slot_at(sedx__handle_pool *pool, uint32_t index)
{
    uint32_t page = index / SEDX__HANDLE_PAGE_SLOTS;
    if (page >= SEDX__HANDLE_MAX_PAGES) return NULL;
    sedx__handle_slot *p = atomic_load_explicit(&pool->pages[page], memory_order_acquire);
    return p ? &p[index % SEDX__HANDLE_PAGE_SLOTS] : NULL;
}

sedx_result sedx__handle_alloc(sedx__handle_pool *pool, void *object, sedx__handle *out)
{
    pthread_mutex_lock(&pool->lock);
    if (!pool->free_head) {
        if (pool->page_count == SEDX__HANDLE_MAX_PAGES) {
            pthread_mutex_unlock(&pool->lock);
            return SEDX__ERR(SEDX_ERROR_OUT_OF_HOST_MEMORY, "CORE", "handle pool full (%u slots)",
                             SEDX__HANDLE_MAX_PAGES * SEDX__HANDLE_PAGE_SLOTS);
        }
        sedx__handle_slot *page = sedx__calloc(SEDX__HANDLE_PAGE_SLOTS, sizeof *page);
        if (!page) {
            pthread_mutex_unlock(&pool->lock);
            return SEDX__ERR(SEDX_ERROR_OUT_OF_HOST_MEMORY, "CORE", "out of host memory for handles");
        }
        uint32_t base = pool->page_count * SEDX__HANDLE_PAGE_SLOTS;
        for (uint32_t i = 0; i < SEDX__HANDLE_PAGE_SLOTS; ++i)
            page[i].next_free = (i + 1 < SEDX__HANDLE_PAGE_SLOTS) ? base + i + 2 : 0;
        atomic_store_explicit(&pool->pages[pool->page_count], page, memory_order_release);
        pool->page_count++;
        pool->free_head = base + 1;
    }
    uint32_t index = pool->free_head - 1;
    sedx__handle_slot *s = slot_at(pool, index);
    pool->free_head = s->next_free;
    atomic_store(&s->object, object);
    uint32_t gen = atomic_load(&s->generation) + 1; /* even -> odd: live */
    atomic_store_explicit(&s->generation, gen, memory_order_release);
    pool->live++;
    pthread_mutex_unlock(&pool->lock);
    *out = ((uint64_t)gen << 32) | (uint64_t)(index + 1);
    return SEDX_SUCCESS;
}

void *sedx__handle_get(sedx__handle_pool *pool, sedx__handle h)
{
    uint32_t lo = (uint32_t)h, gen = (uint32_t)(h >> 32);
    if (lo == 0 || !(gen & 1u)) return NULL;
    sedx__handle_slot *s = slot_at(pool, lo - 1);
    if (!s) return NULL;
    if (atomic_load_explicit(&s->generation, memory_order_acquire) != gen) return NULL;
    void *obj = atomic_load(&s->object);
    /* Re-check: a concurrent free between the two loads would bump the generation. */
    if (atomic_load_explicit(&s->generation, memory_order_acquire) != gen) return NULL;
    return obj;
}

sedx_result sedx__handle_free(sedx__handle_pool *pool, sedx__handle h)
{
    uint32_t lo = (uint32_t)h, gen = (uint32_t)(h >> 32);
    if (lo == 0 || !(gen & 1u)) return SEDX_ERROR_INVALID_HANDLE;
    pthread_mutex_lock(&pool->lock);
    sedx__handle_slot *s = slot_at(pool, lo - 1);
    if (!s || atomic_load(&s->generation) != gen) {
        pthread_mutex_unlock(&pool->lock);
        return SEDX_ERROR_INVALID_HANDLE;
    }
    atomic_store(&s->generation, gen + 1); /* odd -> even: dead */
    atomic_store(&s->object, NULL);
    s->next_free = pool->free_head;
    pool->free_head = lo;
    pool->live--;
    pthread_mutex_unlock(&pool->lock);
    return SEDX_SUCCESS;
}

uint32_t sedx__handle_live(sedx__handle_pool *pool)
{
    pthread_mutex_lock(&pool->lock);
    uint32_t n = pool->live;
    pthread_mutex_unlock(&pool->lock);
    return n;
}

uint32_t sedx__handle_free_matching(sedx__handle_pool *pool, bool (*match)(void *object, void *user), void *user)
{
    uint32_t freed = 0;
    pthread_mutex_lock(&pool->lock);
    for (uint32_t i = 0; i < pool->page_count * SEDX__HANDLE_PAGE_SLOTS; ++i) {
        sedx__handle_slot *s = slot_at(pool, i);
        uint32_t gen = atomic_load(&s->generation);
        if (!(gen & 1u) || !match(atomic_load(&s->object), user)) continue;
        atomic_store(&s->generation, gen + 1);
        atomic_store(&s->object, NULL);
        s->next_free = pool->free_head;
        pool->free_head = i + 1;
        pool->live--;
        freed++;
    }
    pthread_mutex_unlock(&pool->lock);
    return freed;
}
