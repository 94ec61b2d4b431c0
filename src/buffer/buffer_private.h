/* Shared by the buffer layer's files only (src/buffer/). */
#ifndef SEDX_BUFFER_PRIVATE_H
#define SEDX_BUFFER_PRIVATE_H

#include "buffer/buffer.h"
#include "memory/memory.h"

#define TAG "BUFFER"

/* Resource IDs (sedx_buffer_id, the index of a buffer in the bindless table and descriptor
 * array): per context, compact (a free list, reused last-freed first), taken when a buffer is
 * created and given back only when it is destroyed, i.e. after the GPU has passed its last use,
 * so an ID never names two buffers while submitted work may still read it. */
typedef struct id_slot {
    sedx_buffer_resource *res; /* NULL when free */
    uint32_t next_free;        /* free list: next free ID + 1, 0 ends it */
} id_slot;

/* Per-context registry: live buffers (the seed's debug panel), resource IDs, and the VkBuffer
 * -> resource map that lets the seed's raw-handle calls (sedx_copy_buffer, ...) check their
 * arguments. sedx's own buffers (rings, bindless table) are in none of them. */
struct sedx__buffer_registry {
    pthread_mutex_t lock;
    sedx_buffer_resource *head, *tail; /* live (not yet released) buffers, in creation order */
    uint32_t count;
    sedx__map by_vk;                   /* VkBuffer -> live resource */
    /* Installed by the bindless layer (above): called with the lock held when a buffer gets its
     * ID (live = true) and when it is destroyed and gives the ID back (live = false). */
    sedx__bindless_hook bindless_update;
    id_slot *ids;
    uint32_t id_cap, id_high, id_free; /* id_free: first free ID + 1, 0 when none */
};

static inline struct sedx__buffer_registry *sedx__registry(sedx_context *ctx) { return ctx->layers.buffer; }
static inline const char *sedx__safe_name(const char *name) { return name && *name ? name : "(unnamed)"; }

/* The process-wide pool of reference handles (buffers are validated without a context
 * argument); NULL if it could not be set up (out of host memory). lifetime.c */
sedx__handle_pool *sedx__buffer_handles(void);

/* registry.c (reg locked where it says so) */
sedx_result sedx__register_locked(sedx_context *ctx, struct sedx__buffer_registry *reg, sedx_buffer_resource *res);
void sedx__unregister(sedx_buffer_resource *res);
void sedx__destroy_resource(sedx_context *ctx, void *user); /* a sedx_deferred_fn */
void sedx__free_resource(sedx_context *ctx, sedx_buffer_resource *res);

#endif
