/*
 * The allocator's debug options on host-visible memory: margins of MAGIC_MARGIN around every
 * block allocation (written at allocation, checked at free and by
 * sedx_memory_check_corruption) and the fill patterns (FILL_CREATED / FILL_DESTROYED) of the
 * user range. Non-coherent memory is flushed after the writes and invalidated before the
 * checks that may.
 */
#include "memory/memory_private.h"

static void range_flush(allocator *A, VkDeviceMemory memory, uint64_t mem_size, uint64_t off, uint64_t size,
                        bool invalidate)
{
    uint64_t start = align_down(off, A->atom), end = sedx__align_up(off + size, A->atom);
    if (end == 0 || end > mem_size) end = mem_size;
    VkMappedMemoryRange mr = {VK_STRUCTURE_TYPE_MAPPED_MEMORY_RANGE, NULL, memory, start, end - start};
    if (invalidate) A->vk.InvalidateMappedMemoryRanges(A->device, 1, &mr);
    else A->vk.FlushMappedMemoryRanges(A->device, 1, &mr);
}

void sedx__mem_margin_write(allocator *A, mtype *T, const rec *R)
{
    block *b = R->block;
    uint32_t m = A->margin, magic = MAGIC_MARGIN;
    for (uint32_t i = 0; i < m; i += 4u) {
        memcpy(b->mapped + R->offset - m + i, &magic, 4);
        memcpy(b->mapped + R->offset + R->size + i, &magic, 4);
    }
    if (T->non_coherent) {
        range_flush(A, b->memory, b->size, R->offset - m, m, false);
        range_flush(A, b->memory, b->size, R->offset + R->size, m, false);
    }
}

/* On non-coherent memory the margins of a dying allocation are invalidated first (to see GPU
 * overruns): the atom-rounded range can cover the allocation's own last bytes, whose unflushed
 * CPU writes an invalidate would discard, so a live allocation is checked without it. */
bool sedx__mem_margin_ok(allocator *A, mtype *T, const rec *R, bool dying, bool *front_bad)
{
    block *b = R->block;
    uint32_t m = A->margin, v;
    if (T->non_coherent && dying) {
        range_flush(A, b->memory, b->size, R->offset - m, m, true);
        range_flush(A, b->memory, b->size, R->offset + R->size, m, true);
    }
    *front_bad = false;
    for (uint32_t i = 0; i < m; i += 4u) {
        memcpy(&v, b->mapped + R->offset - m + i, 4);
        if (v != MAGIC_MARGIN) {
            *front_bad = true;
            return false;
        }
    }
    for (uint32_t i = 0; i < m; i += 4u) {
        memcpy(&v, b->mapped + R->offset + R->size + i, 4);
        if (v != MAGIC_MARGIN) return false;
    }
    return true;
}

void sedx__mem_fill_user_range(allocator *A, mtype *T, const rec *R, int pattern)
{
    uint8_t *base = R->block ? R->block->mapped : NULL;
    if (!base) return;
    memset(base + R->offset, pattern, (size_t)R->size);
    if (T->non_coherent) range_flush(A, R->block->memory, R->block->size, R->offset, R->size, false);
}

sedx_result sedx_memory_check_corruption(sedx_context *ctx, uint32_t memory_type_bits)
{
    NEED_ALLOCATOR(A, ctx, "sedx_memory_check_corruption");
    if (!A->margin) return SEDX_ERROR_FEATURE_NOT_PRESENT;
    enum { REPORT_MAX = 16 };
    struct { char name[128]; uint64_t index, size, offset; bool front; } rep[REPORT_MAX];
    uint32_t bad = 0;
    for (uint32_t t = 0; t < A->type_count; ++t) {
        mtype *T = &A->types[t];
        if (!(memory_type_bits & (1u << t)) || !T->margins) continue;
        uint32_t nrep = 0;
        tlock_lock(&T->lock);
        for (uint32_t p = 0; p < T->page_count; ++p) {
            for (uint32_t i = 0; i < REC_PAGE_SIZE; ++i) {
                rec *R = &T->pages[p][i];
                bool front;
                if (!(R->gen & 1u) || !R->block || sedx__mem_margin_ok(A, T, R, false, &front)) continue;
                if (nrep < REPORT_MAX) {
                    name_copy(rep[nrep].name, sizeof rep[nrep].name, R);
                    rep[nrep].index = R->creation_index;
                    rep[nrep].size = R->size;
                    rep[nrep].offset = R->offset;
                    rep[nrep].front = front;
                    ++nrep;
                }
                ++bad;
            }
        }
        tlock_unlock(&T->lock);
        for (uint32_t k = 0; k < nrep; ++k)
            SEDX_LOG_ERROR_TAG(TAG,
                               "memory corruption: the debug margin %s allocation '%s' (#%llu, %llu bytes at offset "
                               "%llu of memory type %u) was overwritten",
                               rep[k].front ? "before" : "after", rep[k].name, (unsigned long long)rep[k].index,
                               (unsigned long long)rep[k].size, (unsigned long long)rep[k].offset, t);
    }
    if (bad) SEDX_LOG_ERROR_TAG(TAG, "sedx_memory_check_corruption: %u corrupted allocation%s", bad, bad == 1 ? "" : "s");
    return bad ? SEDX_ERROR_CORRUPTION : SEDX_SUCCESS;
}
