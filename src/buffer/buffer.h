/* Buffer internals shared with the transfer and bindless layers. */
#ifndef SEDX_BUFFER_BUFFER_H
#define SEDX_BUFFER_BUFFER_H

#include <sedx/buffer.h>
#include <sedx/memory.h>
#include "device/device.h"

struct sedx_buffer_resource {
    _Atomic uint32_t refs;
    _Atomic uint32_t map_count;
    sedx_context *ctx;
    uint64_t handle;               /* the first reference's handle (each reference has its own) */
    VkBuffer buffer;
    sedx_allocation allocation;
    VkDeviceMemory memory;
    uint64_t offset;               /* in memory */
    uint64_t size;                 /* as requested */
    uint64_t allocation_size;      /* after alignment rounding */
    sedx_buffer_usage_flags usage;
    VkBufferUsageFlags vk_usage;
    sedx_memory_flags memory_kind;
    uint32_t memory_type;
    bool host_visible, coherent, dedicated;
    void *mapped;                  /* persistent mapping (CPU memory): buffer.data */
    void *host_ptr;                /* CPU address whenever the memory is host-visible (GPU
                                      memory too, e.g. lavapipe or ReBAR): the direct path */
    bool host_cached;
    uint64_t batch_id;             /* transfer layer: last upload batch that references it */
    bool internal;                 /* sedx's own (the transfer rings): not in sedx_buffer_list */
    VkDeviceAddress address;
    uint32_t id;
    _Atomic uint64_t last_use[SEDX_QUEUE_COUNT];
    char *name;                    /* never NULL: "" when unnamed */
    struct sedx_buffer_resource *prev, *next; /* registry list (live buffers) */
};

/* Validates buf and returns its resource, or NULL (logging `what` with the reason). */
sedx_buffer_resource *sedx__buffer_get(const sedx_buffer *buf, const char *what);
/* Creation for sedx's own needs: STAGING prefers host memory (the upload ring); INTERNAL
 * buffers (rings, the bindless table) take no resource ID and are in neither the live list nor
 * the VkBuffer map, so the application never sees them. */
enum { SEDX__BUFFER_STAGING = 0x1, SEDX__BUFFER_INTERNAL = 0x2 };
sedx_result sedx__buffer_create(sedx_context *ctx, const sedx_buffer_create_info *ci, uint32_t flags,
                                sedx_buffer *out);
/* The live sedx buffer of ctx whose VkBuffer is buffer, with a reference taken for the caller
 * (drop it with sedx__buffer_unref), or NULL when ctx did not create it. O(1). */
sedx_buffer_resource *sedx__buffer_lookup_vk(sedx_context *ctx, VkBuffer buffer);
/* A reference taken/dropped by sedx itself (e.g. a batch that copies into the buffer). */
void sedx__buffer_ref(sedx_buffer_resource *res);
void sedx__buffer_unref(sedx_buffer_resource *res);
/* The bindless layer's hook (NULL removes it): called with the registry locked when a buffer gets
 * its ID (live = true) and when it is destroyed (live = false). Installing it calls it for every
 * live buffer. */
typedef void (*sedx__bindless_hook)(sedx_context *ctx, sedx_buffer_resource *res, bool live);
sedx_result sedx__buffers_install_bindless(sedx_context *ctx, sedx__bindless_hook update);
/* The layer's life (the composite context calls these). destroy reports and frees the buffers
 * the application never released. */
sedx_result sedx__buffers_create(sedx_context *ctx);
void sedx__buffers_destroy(sedx_context *ctx);
/* The registry's lock, for readers of what the hook maintains. */
void sedx__buffers_lock(sedx_context *ctx);
void sedx__buffers_unlock(sedx_context *ctx);
/* Records a GPU use by a sedx submission (for deferred destruction). */
void sedx__buffer_mark_use(sedx_buffer_resource *res, sedx_queue queue, uint64_t value);

#endif
