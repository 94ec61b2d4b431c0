/*
 * Bindless access to buffers by resource ID (the seed's Buffer::ID(), sedx_buffer_id).
 *
 * Every buffer of a context has an ID: small, unique among the context's buffers, given back
 * only once the buffer is destroyed (after the GPU has passed its last use), so an ID never
 * names two buffers while submitted work may still use it. sedx_bindless_get starts the
 * bindless tables of a context (on first use: a context that never asks pays nothing) and
 * from then on keeps them in step with buffer creation and destruction:
 *
 *  - the device-address table (devices with buffer device address): `capacity` entries of sedx_bindless_entry {address, size}, indexed by ID, in
 *    host-visible memory (device-local where the device offers it). A shader reads it through a
 *    buffer reference (GL_EXT_buffer_reference), e.g. with the table's address in a push
 *    constant. An ID without a live buffer reads {0, 0}.
 *  - the descriptor array (devices with descriptor indexing, with update-after-bind and
 *    partially bound storage-buffer arrays): one descriptor set whose binding 0 is a STORAGE_BUFFER array of `capacity`
 *    descriptors (update-after-bind, partially bound), element ID = the buffer with that ID
 *    when it has STORAGE usage. A destroyed buffer's descriptor is nulled (robustness2
 *    nullDescriptor) or pointed at the table (without it). Bind the set in your pipelines with
 *    set_layout; the set is updated while in use only for elements no pending work uses.
 *
 * IDs at or above capacity have no entry (logged once). Thread-safe.
 */
#ifndef SEDX_BINDLESS_H
#define SEDX_BINDLESS_H

#include <sedx/buffer.h>

#ifdef __cplusplus
extern "C" {
#endif

/* One entry of the device-address table (std430: 16 bytes). */
typedef struct sedx_bindless_entry {
    uint64_t address; /* VkDeviceAddress of the buffer, 0 for a free ID */
    uint64_t size;    /* its size as requested, 0 for a free ID */
} sedx_bindless_entry;

#define SEDX_BINDLESS_DEFAULT_CAPACITY 65536u

typedef struct sedx_bindless_layout {
    uint32_t capacity;                /* IDs below this have an entry / a descriptor */
    VkBuffer table;                   /* VK_NULL_HANDLE without buffer device address */
    VkDeviceAddress table_address;    /* 0 without buffer device address */
    VkDescriptorSetLayout set_layout; /* VK_NULL_HANDLE without descriptor indexing */
    VkDescriptorSet set;
    uint32_t storage_binding;         /* binding of the STORAGE_BUFFER array in set (0) */
} sedx_bindless_layout;

/* Starts the bindless tables on first call (every live buffer is entered), then returns them.
 * SEDX_ERROR_FEATURE_NOT_PRESENT when the device has neither buffer device address nor
 * descriptor indexing; SEDX_ERROR_INVALID_ARGUMENT for NULL. */
SEDX_API sedx_result sedx_bindless_get(sedx_context *ctx, sedx_bindless_layout *out);

/* What the device-address table holds for id (read back from its memory; for tests and
 * debugging). SEDX_ERROR_INVALID_ARGUMENT for NULL or when the tables are not started (or the
 * device has no table), SEDX_ERROR_OUT_OF_BOUNDS for id >= capacity. */
SEDX_API sedx_result sedx_bindless_entry_get(sedx_context *ctx, uint32_t id, sedx_bindless_entry *out);

#ifdef __cplusplus
}
#endif

#endif /* SEDX_BINDLESS_H */
