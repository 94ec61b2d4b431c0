/*
 * CPU access (the seed's Map/Unmap, Write/Read, flush/invalidate) and the getters.
 */
#include "buffer/buffer_private.h"

static sedx_buffer_resource *host_buffer(const sedx_buffer *buf, const char *what, sedx_result *r)
{
    sedx_buffer_resource *res = sedx__buffer_get(buf, what);
    if (!res) {
        *r = SEDX_ERROR_INVALID_HANDLE;
        return NULL;
    }
    if (!res->mapped) {
        *r = SEDX__ERR(SEDX_ERROR_NOT_HOST_VISIBLE, TAG,
                       "%s: buffer '%s' is GPU memory, not accessible to the CPU (use sedx_upload/sedx_download)",
                       what, sedx__safe_name(res->name));
        return NULL;
    }
    *r = SEDX_SUCCESS;
    return res;
}

static sedx_result check_range(const sedx_buffer_resource *res, uint64_t size, uint64_t offset, const char *what)
{
    if (offset > res->size || size > res->size - offset)
        return SEDX__ERR(SEDX_ERROR_OUT_OF_BOUNDS, TAG, "%s: buffer '%s': [%llu, +%llu) is outside its %llu bytes",
                         what, sedx__safe_name(res->name), (unsigned long long)offset, (unsigned long long)size,
                         (unsigned long long)res->size);
    return SEDX_SUCCESS;
}

sedx_result sedx_buffer_map(const sedx_buffer *buf, void **out_ptr)
{
    if (!out_ptr) return SEDX__ERR(SEDX_ERROR_INVALID_ARGUMENT, TAG, "sedx_buffer_map: out_ptr is NULL");
    sedx_result r;
    sedx_buffer_resource *res = host_buffer(buf, "sedx_buffer_map", &r);
    if (!res) return r;
    atomic_fetch_add(&res->map_count, 1);
    r = res->coherent ? SEDX_SUCCESS : sedx_memory_invalidate(res->ctx, res->allocation, 0, VK_WHOLE_SIZE);
    if (r != SEDX_SUCCESS) {
        atomic_fetch_sub(&res->map_count, 1);
        return r;
    }
    *out_ptr = res->mapped;
    return SEDX_SUCCESS;
}

sedx_result sedx_buffer_unmap(const sedx_buffer *buf)
{
    sedx_result r;
    sedx_buffer_resource *res = host_buffer(buf, "sedx_buffer_unmap", &r);
    if (!res) return r;
    uint32_t c = atomic_load(&res->map_count);
    do {
        if (c == 0)
            return SEDX__ERR(SEDX_ERROR_NOT_MAPPED, TAG, "sedx_buffer_unmap: buffer '%s' is not mapped",
                             sedx__safe_name(res->name));
    } while (!atomic_compare_exchange_weak(&res->map_count, &c, c - 1));
    return res->coherent ? SEDX_SUCCESS : sedx_memory_flush(res->ctx, res->allocation, 0, VK_WHOLE_SIZE);
}

sedx_result sedx_buffer_write(const sedx_buffer *buf, const void *src, uint64_t size, uint64_t offset)
{
    sedx_result r;
    sedx_buffer_resource *res = host_buffer(buf, "sedx_buffer_write", &r);
    if (!res) return r;
    if ((r = check_range(res, size, offset, "sedx_buffer_write")) != SEDX_SUCCESS) return r;
    if (size == 0) return SEDX_SUCCESS;
    if (!src) return SEDX__ERR(SEDX_ERROR_INVALID_ARGUMENT, TAG, "sedx_buffer_write: src is NULL");
    /* memmove: src may lie in the buffer's own mapping (moving bytes within the buffer) */
    memmove((uint8_t *)res->mapped + offset, src, (size_t)size);
    return res->coherent ? SEDX_SUCCESS : sedx_memory_flush(res->ctx, res->allocation, offset, size);
}

sedx_result sedx_buffer_read(const sedx_buffer *buf, void *dst, uint64_t size, uint64_t offset)
{
    sedx_result r;
    sedx_buffer_resource *res = host_buffer(buf, "sedx_buffer_read", &r);
    if (!res) return r;
    if ((r = check_range(res, size, offset, "sedx_buffer_read")) != SEDX_SUCCESS) return r;
    if (size == 0) return SEDX_SUCCESS;
    if (!dst) return SEDX__ERR(SEDX_ERROR_INVALID_ARGUMENT, TAG, "sedx_buffer_read: dst is NULL");
    if (!res->coherent && (r = sedx_memory_invalidate(res->ctx, res->allocation, offset, size)) != SEDX_SUCCESS)
        return r;
    memmove(dst, (const uint8_t *)res->mapped + offset, (size_t)size); /* dst may lie in the mapping */
    return SEDX_SUCCESS;
}

sedx_result sedx_buffer_flush(const sedx_buffer *buf, uint64_t offset, uint64_t size)
{
    sedx_result r;
    sedx_buffer_resource *res = host_buffer(buf, "sedx_buffer_flush", &r);
    if (!res) return r;
    /* VK_WHOLE_SIZE: to the end of the buffer, so only the offset is checked (against the buffer,
     * not its rounded allocation) */
    if ((r = check_range(res, size == VK_WHOLE_SIZE ? 0 : size, offset, "sedx_buffer_flush")) != SEDX_SUCCESS) return r;
    return sedx_memory_flush(res->ctx, res->allocation, offset, size);
}

sedx_result sedx_buffer_invalidate(const sedx_buffer *buf, uint64_t offset, uint64_t size)
{
    sedx_result r;
    sedx_buffer_resource *res = host_buffer(buf, "sedx_buffer_invalidate", &r);
    if (!res) return r;
    /* VK_WHOLE_SIZE: to the end of the buffer, so only the offset is checked (against the buffer,
     * not its rounded allocation) */
    if ((r = check_range(res, size == VK_WHOLE_SIZE ? 0 : size, offset, "sedx_buffer_invalidate")) != SEDX_SUCCESS)
        return r;
    return sedx_memory_invalidate(res->ctx, res->allocation, offset, size);
}

uint32_t sedx_buffer_id(const sedx_buffer *buf)
{
    return sedx_buffer_is_valid(buf) ? buf->resource->id : SEDX_INVALID_ID;
}

VkBuffer sedx_buffer_vk(const sedx_buffer *buf)
{
    return sedx_buffer_is_valid(buf) ? buf->resource->buffer : VK_NULL_HANDLE;
}

VkBufferUsageFlags sedx_buffer_vk_usage(const sedx_buffer *buf)
{
    return sedx_buffer_is_valid(buf) ? buf->resource->vk_usage : 0;
}

VkDeviceMemory sedx_buffer_memory(const sedx_buffer *buf, uint64_t *out_offset)
{
    if (!sedx_buffer_is_valid(buf)) return VK_NULL_HANDLE;
    if (out_offset) *out_offset = buf->resource->offset;
    return buf->resource->memory;
}

VkDescriptorBufferInfo sedx_buffer_descriptor(const sedx_buffer *buf)
{
    VkDescriptorBufferInfo d = {VK_NULL_HANDLE, 0, 0};
    if (sedx_buffer_is_valid(buf)) {
        d.buffer = buf->resource->buffer;
        d.range = buf->resource->size;
    }
    return d;
}

VkDeviceAddress sedx_buffer_address(const sedx_buffer *buf)
{
    return sedx_buffer_is_valid(buf) ? buf->resource->address : 0;
}

const char *sedx_buffer_name(const sedx_buffer *buf)
{
    return sedx_buffer_is_valid(buf) ? buf->resource->name : "";
}

sedx_context *sedx_buffer_context(const sedx_buffer *buf)
{
    return sedx_buffer_is_valid(buf) ? buf->resource->ctx : NULL;
}

uint64_t sedx_buffer_get_size(const sedx_buffer *buf)
{
    return sedx_buffer_is_valid(buf) ? buf->resource->size : 0;
}
