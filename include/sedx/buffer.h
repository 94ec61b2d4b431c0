/*
 * sedx buffers: the seed's Buffer / BufferResource in C.
 *
 *   sedx_buffer vb;
 *   sedx_result r = sedx_buffer_create(ctx, size, SEDX_BUFFER_USAGE_VERTEX, SEDX_MEMORY_GPU,
 *                                      "Mesh Vertex Buffer", &vb);
 *   ...
 *   sedx_buffer_release(&vb);   // the seed's vb.resource.Reset()
 *
 * A sedx_buffer is a small value (copyable) that names one reference to a reference-counted
 * sedx_buffer_resource. Every function validates the buffer's handle (slot + generation), so a
 * released, foreign or garbage buffer gives SEDX_ERROR_INVALID_HANDLE, never a crash. The last
 * release does not destroy at once: the VkBuffer and its memory wait on the context's deletion
 * queue until the GPU has passed the buffer's last recorded use.
 *
 * Thread safety: create, retain, release, map, unmap, write and read may be called from any
 * thread. Writing the same bytes from two threads at once is the caller's race, as with memcpy.
 * A thread that uses a buffer must hold a reference of its own (sedx_buffer_retain): the last
 * release may free it at once when the GPU is not using it. A plain struct copy is not a
 * reference; releasing it is a release of the reference it was copied from.
 */
#ifndef SEDX_BUFFER_H
#define SEDX_BUFFER_H

#include <sedx/core.h>
#include <sedx/context.h>
#include <vulkan/vulkan.h>

#ifdef __cplusplus
extern "C" {
#endif

/* The seed's BufferUsage values; each equals the VkBufferUsageFlagBits of the same meaning. */
typedef enum sedx_buffer_usage_bits {
    SEDX_BUFFER_USAGE_TRANSFER_SRC = 0x00000001,                 /* TransferSrc */
    SEDX_BUFFER_USAGE_TRANSFER_DST = 0x00000002,                 /* TransferDst */
    SEDX_BUFFER_USAGE_UNIFORM_TEXEL = 0x00000004,                /* UniformTexel */
    SEDX_BUFFER_USAGE_STORAGE_TEXEL = 0x00000008,                /* StorageTexel */
    SEDX_BUFFER_USAGE_UNIFORM = 0x00000010,                      /* Uniform */
    SEDX_BUFFER_USAGE_STORAGE = 0x00000020,                      /* Storage (SSBO) */
    SEDX_BUFFER_USAGE_INDEX = 0x00000040,                        /* Index */
    SEDX_BUFFER_USAGE_VERTEX = 0x00000080,                       /* Vertex */
    SEDX_BUFFER_USAGE_INDIRECT = 0x00000100,                     /* Indirect */
    SEDX_BUFFER_USAGE_SHADER_BINDING_TABLE = 0x00000400,         /* ShaderBindingTable */
    SEDX_BUFFER_USAGE_ADDRESS = 0x00020000,                      /* Address (shader device address) */
    SEDX_BUFFER_USAGE_ACCELERATION_STRUCTURE_INPUT = 0x00080000, /* AccelerationStructureInput */
    SEDX_BUFFER_USAGE_ACCELERATION_STRUCTURE = 0x00100000        /* AccelerationStructure */
} sedx_buffer_usage_bits;
typedef uint32_t sedx_buffer_usage_flags;
#define SEDX_BUFFER_USAGE_ALL 0x001A05FFu /* every bit above */

/* The seed's MemoryType. 0 means the seed's default, GPU. */
typedef enum sedx_memory_bits {
    SEDX_MEMORY_GPU = 0x1,       /* device-local, not mapped: data == NULL */
    SEDX_MEMORY_CPU = 0x2 | 0x4  /* host-visible and coherent, persistently mapped: data != NULL */
} sedx_memory_bits;
typedef uint32_t sedx_memory_flags;

#define SEDX_INVALID_ID 0xFFFFFFFFu

typedef struct sedx_buffer_resource sedx_buffer_resource; /* opaque, reference-counted */

/* The seed's Buffer. Treat the fields as read-only; {0} is an empty buffer. */
typedef struct sedx_buffer {
    void *data;                     /* mapped pointer for CPU memory, NULL for GPU-only */
    sedx_buffer_resource *resource; /* NULL for an empty buffer */
    uint64_t size;                  /* usable size in bytes, as requested */
    sedx_buffer_usage_flags usage;  /* after the automatic additions */
    sedx_memory_flags memory;       /* SEDX_MEMORY_GPU / SEDX_MEMORY_CPU */
    uint64_t handle;                /* generation-checked: detects released and foreign buffers */
} sedx_buffer;

/* ------------------------------------------------------------------------------------------
 * Creation
 * ---------------------------------------------------------------------------------------- */
/* The seed's CreateBuffer. Automatic rules (README "Buffer creation rules"):
 *  - VERTEX and INDEX add TRANSFER_DST.
 *  - STORAGE adds ADDRESS when the device has buffer device address; its allocation size is
 *    rounded UP to minStorageBufferOffsetAlignment (the seed's `size += size % align` did not
 *    round up). UNIFORM rounds up to minUniformBufferOffsetAlignment, texel buffers to
 *    minTexelBufferOffsetAlignment. buffer.size stays the size you asked for.
 *  - ACCELERATION_STRUCTURE(_INPUT) and SHADER_BINDING_TABLE add ADDRESS (and the Vulkan
 *    bits of the same value: ..._BUILD_INPUT_READ_ONLY, ..._STORAGE, SHADER_BINDING_TABLE).
 *    ACCELERATION_STRUCTURE sizes and places the buffer in 256-byte units, SHADER_BINDING_TABLE
 *    at shaderGroupBaseAlignment. They need the ray-tracing extensions (<sedx/raytracing.h>):
 *    without them SEDX_ERROR_FEATURE_NOT_PRESENT (SEDX_FEATURE_ACCELERATION_STRUCTURE for the
 *    first two, SEDX_FEATURE_RAY_TRACING_PIPELINE for the third).
 *  - CPU memory is persistently mapped (data valid for the buffer's lifetime); GPU memory
 *    has data == NULL.
 * name may be NULL; it is copied, set on the VkBuffer through VK_EXT_debug_utils and used in
 * sedx's log lines. *out is written only on success. */
SEDX_API sedx_result sedx_buffer_create(sedx_context *ctx, uint64_t size, sedx_buffer_usage_flags usage,
                                        sedx_memory_flags memory, const char *name, sedx_buffer *out);

typedef enum sedx_host_access {
    SEDX_HOST_ACCESS_DEFAULT = 0,          /* CPU memory: SEQUENTIAL_WRITE */
    SEDX_HOST_ACCESS_SEQUENTIAL_WRITE = 1, /* memcpy in, GPU reads: ReBAR when it fits the budget */
    SEDX_HOST_ACCESS_RANDOM = 2,           /* CPU reads and writes: HOST_CACHED preferred */
    SEDX_HOST_ACCESS_READBACK = 3          /* GPU writes, CPU reads: HOST_CACHED preferred */
} sedx_host_access;

typedef enum sedx_buffer_create_flag_bits {
    SEDX_BUFFER_CREATE_DEDICATED = 0x1,  /* own VkDeviceMemory */
    SEDX_BUFFER_CREATE_CONCURRENT = 0x2  /* VK_SHARING_MODE_CONCURRENT across sedx's queue families */
} sedx_buffer_create_flag_bits;
#define SEDX_BUFFER_CREATE_FLAGS_ALL 0x3u /* every bit above; others: SEDX_ERROR_INVALID_ARGUMENT */

/* Zero-initialised = the defaults of sedx_buffer_create. */
typedef struct sedx_buffer_create_info {
    uint64_t size;
    sedx_buffer_usage_flags usage;
    sedx_memory_flags memory;      /* 0 = GPU */
    const char *name;
    uint64_t alignment;            /* extra alignment of the memory offset (power of two); 0 = none */
    sedx_host_access host_access;  /* CPU memory only */
    uint32_t flags;                /* sedx_buffer_create_flag_bits */
    const void *initial_data;      /* copied in before the call returns (GPU memory: through the
                                      transfer layer, blocking); NULL = none */
    uint64_t initial_data_size;    /* <= size; 0 with initial_data = size */
} sedx_buffer_create_info;

SEDX_API sedx_result sedx_buffer_create_ex(sedx_context *ctx, const sedx_buffer_create_info *info, sedx_buffer *out);

/* The seed's CreateStagingBuffer: TRANSFER_SRC, CPU memory (host memory preferred over ReBAR). */
SEDX_API sedx_result sedx_staging_buffer_create(sedx_context *ctx, uint64_t size, const char *name,
                                                sedx_buffer *out);

/* ------------------------------------------------------------------------------------------
 * References and lifetime
 * ---------------------------------------------------------------------------------------- */
/* A new reference to the same resource (an empty buffer if buf is empty or invalid). */
SEDX_API sedx_buffer sedx_buffer_retain(const sedx_buffer *buf);
/* Drops this reference and empties *buf. The last release queues the destruction behind the
 * buffer's last GPU use. Releasing an empty buffer is a no-op; a stale copy is reported
 * (logged as a double release), never fatal. */
SEDX_API void sedx_buffer_release(sedx_buffer *buf);
/* The seed's explicit check: SEDX_SUCCESS for a live buffer, else SEDX_ERROR_INVALID_HANDLE. */
SEDX_API sedx_result sedx_buffer_validate(const sedx_buffer *buf);
SEDX_API bool sedx_buffer_is_valid(const sedx_buffer *buf);
SEDX_API uint32_t sedx_buffer_ref_count(const sedx_buffer *buf);
/* Record that work the application submitted uses the buffer until ticket's value is reached
 * on its queue (sedx records its own submissions itself). */
SEDX_API sedx_result sedx_buffer_mark_used(const sedx_buffer *buf, sedx_ticket ticket);

/* ------------------------------------------------------------------------------------------
 * Access
 * ---------------------------------------------------------------------------------------- */
/* The seed's MapBuffer/UnmapBuffer. Counted: each map needs one unmap. CPU memory is
 * persistently mapped, so map returns buffer.data; GPU memory: SEDX_ERROR_NOT_HOST_VISIBLE
 * (logged with the buffer's name) — the seed's assert, made safe. For non-coherent memory,
 * map invalidates and unmap flushes the whole buffer. */
SEDX_API sedx_result sedx_buffer_map(const sedx_buffer *buf, void **out_ptr);
SEDX_API sedx_result sedx_buffer_unmap(const sedx_buffer *buf);
/* The seed's Buffer::Write / Read, bounds-checked without overflow: offset + size may not
 * exceed buffer.size (SEDX_ERROR_OUT_OF_BOUNDS, nothing written). CPU memory only
 * (SEDX_ERROR_NOT_HOST_VISIBLE for GPU memory: use sedx_upload / sedx_download).
 * Flushes/invalidates non-coherent memory. size 0 is a no-op. The copy is a memmove: src / dst
 * may lie in the buffer's own mapping. Reading is fast only from host memory: a CPU buffer the
 * CPU reads back should be created with SEDX_HOST_ACCESS_READBACK or RANDOM
 * (sedx_buffer_create_ex); reads of device-local host-visible (ReBAR) memory through a mapping
 * are uncached and cross the bus, orders of magnitude slower (docs/buffers.md). */
SEDX_API sedx_result sedx_buffer_write(const sedx_buffer *buf, const void *src, uint64_t size, uint64_t offset);
SEDX_API sedx_result sedx_buffer_read(const sedx_buffer *buf, void *dst, uint64_t size, uint64_t offset);
/* Explicit flush / invalidate of [offset, offset + size) (no-ops on coherent memory). */
SEDX_API sedx_result sedx_buffer_flush(const sedx_buffer *buf, uint64_t offset, uint64_t size);
SEDX_API sedx_result sedx_buffer_invalidate(const sedx_buffer *buf, uint64_t offset, uint64_t size);

/* The seed's Buffer::ID(): a small integer, unique among the context's buffers, given back only
 * once the buffer is destroyed (after the GPU has passed its last use), then reused; the index of
 * the buffer in the bindless tables (<sedx/bindless.h>). SEDX_INVALID_ID for an empty or invalid
 * (released) buffer. */
SEDX_API uint32_t sedx_buffer_id(const sedx_buffer *buf);
/* The seed's resource->buffer. VK_NULL_HANDLE for an empty or invalid buffer. */
SEDX_API VkBuffer sedx_buffer_vk(const sedx_buffer *buf);
/* The VkBufferUsageFlags the VkBuffer was really created with: buffer.usage plus what sedx
 * adds for its own transfers (TRANSFER_SRC|TRANSFER_DST, SHADER_DEVICE_ADDRESS with buffer
 * device address). 0 for an empty or invalid buffer. */
SEDX_API VkBufferUsageFlags sedx_buffer_vk_usage(const sedx_buffer *buf);
/* The seed's resource->memory and the offset of the buffer inside it. */
SEDX_API VkDeviceMemory sedx_buffer_memory(const sedx_buffer *buf, uint64_t *out_offset);
/* The seed's GetDescriptorInfo(): {buffer, 0, size}. */
SEDX_API VkDescriptorBufferInfo sedx_buffer_descriptor(const sedx_buffer *buf);
/* Shader device address; 0 when the buffer has no ADDRESS usage or the device lacks it. */
SEDX_API VkDeviceAddress sedx_buffer_address(const sedx_buffer *buf);
SEDX_API const char *sedx_buffer_name(const sedx_buffer *buf); /* "" when unnamed or invalid */
SEDX_API sedx_context *sedx_buffer_context(const sedx_buffer *buf);
SEDX_API uint64_t sedx_buffer_get_size(const sedx_buffer *buf); /* the seed's GetSize() */

/* ------------------------------------------------------------------------------------------
 * The seed's debug panel, without ImGui
 * ---------------------------------------------------------------------------------------- */
typedef struct sedx_buffer_info {
    uint32_t id;
    const char *name;             /* valid during the callback */
    uint64_t size;
    uint64_t allocation_size;     /* after alignment rounding */
    sedx_buffer_usage_flags usage;
    sedx_memory_flags memory;
    uint32_t memory_type;
    uint32_t map_count;
    uint32_t references;
    bool dedicated;
} sedx_buffer_info;
typedef void (*sedx_buffer_visit_fn)(const sedx_buffer_info *info, void *user);
/* Calls fn for every live (not yet released) buffer of ctx, in creation order; returns how many
 * (fn may be NULL: just the count). sedx's own internal buffers are not listed.
 * fn runs under the list's lock: it must not create or release buffers of ctx. */
SEDX_API uint32_t sedx_buffer_list(sedx_context *ctx, sedx_buffer_visit_fn fn, void *user);
/* Formats the list as a text table into out (always NUL-terminated when cap > 0); returns the
 * length the whole table needs (like snprintf). */
SEDX_API size_t sedx_buffer_format_table(sedx_context *ctx, char *out, size_t cap);
/* "VERTEX|TRANSFER_DST" into out. */
SEDX_API size_t sedx_buffer_usage_string(sedx_buffer_usage_flags usage, char *out, size_t cap);

/* ------------------------------------------------------------------------------------------
 * The seed's CPU-side byte buffer (Buffer::Allocate/Release/ZeroInitialize/Read/ReadBytes/
 * Write/Copy/operator bool/operator[]/As/GetSize), bounds-checked. {0} is empty.
 * ---------------------------------------------------------------------------------------- */
typedef struct sedx_bytes {
    uint8_t *data;
    uint64_t size;
} sedx_bytes;

/* Allocate: releases what b held, then allocates size bytes (uninitialised). */
SEDX_API sedx_result sedx_bytes_allocate(sedx_bytes *b, uint64_t size);
SEDX_API void sedx_bytes_release(sedx_bytes *b);                 /* Release; empties b */
SEDX_API sedx_result sedx_bytes_zero(const sedx_bytes *b);       /* ZeroInitialize */
SEDX_API bool sedx_bytes_valid(const sedx_bytes *b);             /* operator bool */
SEDX_API uint64_t sedx_bytes_size(const sedx_bytes *b);          /* GetSize */
SEDX_API sedx_result sedx_bytes_write(const sedx_bytes *b, const void *src, uint64_t size, uint64_t offset);
SEDX_API sedx_result sedx_bytes_read(const sedx_bytes *b, void *dst, uint64_t size, uint64_t offset);
/* ReadBytes: a new byte buffer holding a copy of [offset, offset + size). */
SEDX_API sedx_result sedx_bytes_read_bytes(const sedx_bytes *b, uint64_t size, uint64_t offset, sedx_bytes *out);
/* Copy(data, size) / Copy(other): out receives a new copy (what it held is released). */
SEDX_API sedx_result sedx_bytes_copy(sedx_bytes *out, const void *data, uint64_t size);
/* Pointer to [offset, offset + size) if inside and aligned to align (a power of two), else NULL
 * (logged). Read<T>, operator[] and As<T> are built on it. */
SEDX_API void *sedx_bytes_ptr(const sedx_bytes *b, uint64_t offset, uint64_t size, uint64_t align);
/* operator[]: the byte at index, or NULL when out of range. */
#define sedx_bytes_at(b, index) ((uint8_t *)sedx_bytes_ptr((b), (index), 1, 1))
#ifdef __cplusplus
#  define SEDX__ALIGNOF(T) alignof(T)
#else
#  define SEDX__ALIGNOF(T) _Alignof(T)
#endif
/* Read<T>(offset): a T* into the bytes, or NULL when out of range or misaligned. */
#define SEDX_BYTES_REF(b, T, offset) ((T *)sedx_bytes_ptr((b), (offset), sizeof(T), SEDX__ALIGNOF(T)))
/* As<T>(): the bytes as a T*, or NULL when smaller than T or misaligned. */
#define SEDX_BYTES_AS(b, T) SEDX_BYTES_REF(b, T, 0)
/* Typed copy in/out, alignment-free: SEDX_BYTES_READ(&b, float, 8, &f). */
#define SEDX_BYTES_READ(b, T, offset, out_ptr) sedx_bytes_read((b), (out_ptr), sizeof(T), (offset))
#define SEDX_BYTES_WRITE(b, T, offset, in_ptr) sedx_bytes_write((b), (in_ptr), sizeof(T), (offset))

#ifdef __cplusplus
}
#endif
#endif /* SEDX_BUFFER_H */
