/* The seed's CPU-side byte buffer (Buffer::Allocate, Release, ZeroInitialize, Read, ReadBytes,
 * Write, Copy, operator bool, operator[], As, GetSize), bounds-checked. */
#include <sedx/buffer.h>
#include "core/core.h"

#define TAG "BYTES"

static sedx_result range_ok(const sedx_bytes *b, uint64_t size, uint64_t offset, const char *what)
{
    if (!b) return SEDX__ERR(SEDX_ERROR_INVALID_ARGUMENT, TAG, "%s: byte buffer is NULL", what);
    if (offset > b->size || size > b->size - offset)
        return SEDX__ERR(SEDX_ERROR_OUT_OF_BOUNDS, TAG, "%s: [%llu, +%llu) is outside %llu bytes", what,
                         (unsigned long long)offset, (unsigned long long)size, (unsigned long long)b->size);
    return SEDX_SUCCESS;
}

sedx_result sedx_bytes_allocate(sedx_bytes *b, uint64_t size)
{
    if (!b) return SEDX__ERR(SEDX_ERROR_INVALID_ARGUMENT, TAG, "sedx_bytes_allocate: NULL");
    /* on failure b keeps what it held */
    if (size > (uint64_t)PTRDIFF_MAX)
        return SEDX__ERR(SEDX_ERROR_INVALID_SIZE, TAG, "sedx_bytes_allocate: %llu bytes is too large",
                         (unsigned long long)size);
    uint8_t *data = NULL;
    if (size) {
        data = sedx__malloc((size_t)size);
        if (!data)
            return SEDX__ERR(SEDX_ERROR_OUT_OF_HOST_MEMORY, TAG, "sedx_bytes_allocate: %llu bytes",
                             (unsigned long long)size);
    }
    sedx_bytes_release(b); /* the seed: Allocate releases what was there; Allocate(0) leaves it empty */
    b->data = data;
    b->size = size;
    return SEDX_SUCCESS;
}

void sedx_bytes_release(sedx_bytes *b)
{
    if (!b) return;
    sedx__free(b->data);
    b->data = NULL;
    b->size = 0;
}

sedx_result sedx_bytes_zero(const sedx_bytes *b)
{
    if (!b) return SEDX__ERR(SEDX_ERROR_INVALID_ARGUMENT, TAG, "sedx_bytes_zero: NULL");
    if (b->data) memset(b->data, 0, (size_t)b->size);
    return SEDX_SUCCESS;
}

bool sedx_bytes_valid(const sedx_bytes *b) { return b && b->data && b->size; }
uint64_t sedx_bytes_size(const sedx_bytes *b) { return b ? b->size : 0; }

sedx_result sedx_bytes_write(const sedx_bytes *b, const void *src, uint64_t size, uint64_t offset)
{
    sedx_result r = range_ok(b, size, offset, "sedx_bytes_write");
    if (r != SEDX_SUCCESS || size == 0) return r;
    if (!src) return SEDX__ERR(SEDX_ERROR_INVALID_ARGUMENT, TAG, "sedx_bytes_write: src is NULL");
    memmove(b->data + offset, src, (size_t)size);
    return SEDX_SUCCESS;
}

sedx_result sedx_bytes_read(const sedx_bytes *b, void *dst, uint64_t size, uint64_t offset)
{
    sedx_result r = range_ok(b, size, offset, "sedx_bytes_read");
    if (r != SEDX_SUCCESS || size == 0) return r;
    if (!dst) return SEDX__ERR(SEDX_ERROR_INVALID_ARGUMENT, TAG, "sedx_bytes_read: dst is NULL");
    memmove(dst, b->data + offset, (size_t)size);
    return SEDX_SUCCESS;
}

sedx_result sedx_bytes_read_bytes(const sedx_bytes *b, uint64_t size, uint64_t offset, sedx_bytes *out)
{
    if (!out) return SEDX__ERR(SEDX_ERROR_INVALID_ARGUMENT, TAG, "sedx_bytes_read_bytes: out is NULL");
    sedx_result r = range_ok(b, size, offset, "sedx_bytes_read_bytes");
    if (r != SEDX_SUCCESS) return r;
    return sedx_bytes_copy(out, b->data ? b->data + offset : NULL, size);
}

sedx_result sedx_bytes_copy(sedx_bytes *out, const void *data, uint64_t size)
{
    if (!out) return SEDX__ERR(SEDX_ERROR_INVALID_ARGUMENT, TAG, "sedx_bytes_copy: out is NULL");
    if (size && !data) return SEDX__ERR(SEDX_ERROR_INVALID_ARGUMENT, TAG, "sedx_bytes_copy: data is NULL");
    /* data may point into *out (Copy of a part of itself): copy before releasing */
    sedx_bytes fresh = {0};
    sedx_result r = sedx_bytes_allocate(&fresh, size);
    if (r != SEDX_SUCCESS) return r;
    if (size) memcpy(fresh.data, data, (size_t)size);
    sedx_bytes_release(out);
    *out = fresh;
    return SEDX_SUCCESS;
}

void *sedx_bytes_ptr(const sedx_bytes *b, uint64_t offset, uint64_t size, uint64_t align)
{
    if (range_ok(b, size, offset, "sedx_bytes_ptr") != SEDX_SUCCESS) return NULL;
    if (!b->data || size == 0) return NULL;
    if (!sedx__is_pow2(align) || ((uintptr_t)(b->data + offset) & (align - 1))) {
        SEDX_LOG_ERROR_TAG(TAG, "sedx_bytes_ptr: offset %llu is not aligned to %llu", (unsigned long long)offset,
                           (unsigned long long)align);
        return NULL;
    }
    return b->data + offset;
}
