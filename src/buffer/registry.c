/*
 * The per-context registry: live buffers (the seed's debug panel), resource IDs, the VkBuffer
 * map that lets the seed's raw-handle calls check their arguments, the bindless hook; and the
 * layer's life.
 */
#include "buffer/buffer_private.h"

sedx_result sedx__buffers_create(sedx_context *ctx)
{
    struct sedx__buffer_registry *reg = sedx__calloc(1, sizeof *reg);
    if (!reg) return SEDX__ERR(SEDX_ERROR_OUT_OF_HOST_MEMORY, TAG, "out of host memory (buffer registry)");
    pthread_mutex_init(&reg->lock, NULL);
    ctx->layers.buffer = reg;
    return SEDX_SUCCESS;
}

/* With reg locked. */
static sedx_result id_take(struct sedx__buffer_registry *reg, sedx_buffer_resource *res, uint32_t *out)
{
    uint32_t id;
    if (reg->id_free) {
        id = reg->id_free - 1u;
        reg->id_free = reg->ids[id].next_free;
    } else {
        if (reg->id_high == reg->id_cap) {
            if (reg->id_cap >= SEDX_INVALID_ID / 2u)
                return SEDX__ERR(SEDX_ERROR_TOO_MANY_ALLOCATIONS, TAG, "out of buffer IDs (%u live)", reg->id_cap);
            uint32_t cap = reg->id_cap ? reg->id_cap * 2u : 256u;
            id_slot *ids = sedx__realloc(reg->ids, (size_t)cap * sizeof *ids);
            if (!ids) return SEDX__ERR(SEDX_ERROR_OUT_OF_HOST_MEMORY, TAG, "out of host memory for buffer IDs");
            reg->ids = ids;
            reg->id_cap = cap;
        }
        id = reg->id_high++;
    }
    reg->ids[id] = (id_slot){res, 0};
    *out = id;
    return SEDX_SUCCESS;
}

/* With reg locked. */
static void id_give_back(struct sedx__buffer_registry *reg, uint32_t id)
{
    reg->ids[id] = (id_slot){NULL, reg->id_free};
    reg->id_free = id + 1u;
}

void sedx__destroy_resource(sedx_context *ctx, void *user)
{
    sedx_buffer_resource *res = user;
    (void)ctx;
    /* The ID is free again only now (see id_slot); the registry is gone after context teardown
     * has listed the leaked buffers, when nothing can take an ID any more. */
    struct sedx__buffer_registry *reg = sedx__registry(res->ctx);
    if (reg && res->id != SEDX_INVALID_ID) {
        pthread_mutex_lock(&reg->lock);
        if (reg->bindless_update) reg->bindless_update(res->ctx, res, false);
        id_give_back(reg, res->id);
        pthread_mutex_unlock(&reg->lock);
    }
    sedx_memory_destroy_buffer(res->ctx, res->buffer, res->allocation);
    sedx__free(res->name);
    sedx__free(res);
}

/* With reg locked: the buffer becomes visible (list, VkBuffer map, ID, bindless hook). */
sedx_result sedx__register_locked(sedx_context *ctx, struct sedx__buffer_registry *reg, sedx_buffer_resource *res)
{
    sedx_result r = sedx__map_put(&reg->by_vk, (uint64_t)res->buffer, res);
    if (r != SEDX_SUCCESS) return SEDX__ERR(r, TAG, "buffer '%s': out of host memory", sedx__safe_name(res->name));
    r = id_take(reg, res, &res->id);
    if (r != SEDX_SUCCESS) {
        sedx__map_remove(&reg->by_vk, (uint64_t)res->buffer);
        return r;
    }
    res->prev = reg->tail;
    if (reg->tail) reg->tail->next = res;
    else reg->head = res;
    reg->tail = res;
    reg->count++;
    if (reg->bindless_update) reg->bindless_update(ctx, res, true);
    return SEDX_SUCCESS;
}

void sedx__free_resource(sedx_context *ctx, sedx_buffer_resource *res)
{
    sedx_memory_destroy_buffer(ctx, res->buffer, res->allocation);
    sedx__free(res->name);
    sedx__free(res);
}

/* Last reference gone: out of the list, the VkBuffer map and (later) the ID. */
void sedx__unregister(sedx_buffer_resource *res)
{
    if (res->internal) return;
    struct sedx__buffer_registry *reg = sedx__registry(res->ctx);
    pthread_mutex_lock(&reg->lock);
    if (res->prev) res->prev->next = res->next;
    else reg->head = res->next;
    if (res->next) res->next->prev = res->prev;
    else reg->tail = res->prev;
    res->prev = res->next = NULL;
    reg->count--;
    sedx__map_remove(&reg->by_vk, (uint64_t)res->buffer);
    pthread_mutex_unlock(&reg->lock);
}

sedx_buffer_resource *sedx__buffer_lookup_vk(sedx_context *ctx, VkBuffer buffer)
{
    struct sedx__buffer_registry *reg = sedx__registry(ctx);
    if (!reg || !buffer) return NULL;
    pthread_mutex_lock(&reg->lock);
    sedx_buffer_resource *res = sedx__map_get(&reg->by_vk, (uint64_t)buffer);
    /* a buffer whose last reference is being dropped right now is gone already */
    uint32_t refs = res ? atomic_load(&res->refs) : 0;
    while (refs && !atomic_compare_exchange_weak(&res->refs, &refs, refs + 1)) {
    }
    pthread_mutex_unlock(&reg->lock);
    return refs ? res : NULL;
}

static bool owned_by(void *object, void *ctx) { return ((sedx_buffer_resource *)object)->ctx == ctx; }

/* Context teardown: buffers the application never released are reported and destroyed. */
void sedx__buffers_destroy(sedx_context *ctx)
{
    struct sedx__buffer_registry *reg = sedx__registry(ctx);
    if (!reg) return;
    pthread_mutex_lock(&reg->lock);
    sedx_buffer_resource *r = reg->head;
    reg->head = reg->tail = NULL;
    uint32_t leaked = reg->count;
    reg->count = 0;
    pthread_mutex_unlock(&reg->lock);
    if (leaked) SEDX_LOG_WARN_TAG(TAG, "%u buffer%s never released; destroying:", leaked, leaked == 1 ? "" : "s");
    /* every reference the application still holds dies with the context: its handle first */
    if (leaked) sedx__handle_free_matching(sedx__buffer_handles(), owned_by, ctx);
    /* (sedx's own buffers are released before this runs, so every one listed is the application's) */
    while (r) {
        sedx_buffer_resource *next = r->next;
        SEDX_LOG_WARN_TAG(TAG, "  leaked buffer '%s' id %u, %llu bytes, %u reference%s", sedx__safe_name(r->name), r->id,
                          (unsigned long long)r->size, atomic_load(&r->refs), atomic_load(&r->refs) == 1 ? "" : "s");
        sedx__destroy_resource(ctx, r);
        r = next;
    }
    pthread_mutex_destroy(&reg->lock);
    sedx__map_free(&reg->by_vk);
    sedx__free(reg->ids);
    sedx__free(reg);
    ctx->layers.buffer = NULL;
}

void sedx__buffers_lock(sedx_context *ctx)
{
    struct sedx__buffer_registry *reg = sedx__registry(ctx);
    if (reg) pthread_mutex_lock(&reg->lock);
}

void sedx__buffers_unlock(sedx_context *ctx)
{
    struct sedx__buffer_registry *reg = sedx__registry(ctx);
    if (reg) pthread_mutex_unlock(&reg->lock);
}

/* The bindless layer's start: installs its hook and calls it for every live buffer, under the
 * registry lock so that no buffer is created or destroyed in between. */
sedx_result sedx__buffers_install_bindless(sedx_context *ctx, sedx__bindless_hook update)
{
    struct sedx__buffer_registry *reg = sedx__registry(ctx);
    pthread_mutex_lock(&reg->lock);
    reg->bindless_update = update;
    if (update)
        for (sedx_buffer_resource *r = reg->head; r; r = r->next) update(ctx, r, true);
    pthread_mutex_unlock(&reg->lock);
    return SEDX_SUCCESS;
}
