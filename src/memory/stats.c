/*
 * What the allocator reports: the names of its enums, the statistics (per type, per heap,
 * total; call counters), the budget query, the JSON dump of every heap, type, block and
 * allocation, and the leak report at destruction.
 */
#include "memory/memory_private.h"

#include <stdarg.h>

#define LEAK_LINES_MAX 256u

const char *sedx_allocation_kind_name(sedx_allocation_kind kind)
{
    switch (kind) {
    case SEDX_ALLOCATION_KIND_UNKNOWN: return "unknown";
    case SEDX_ALLOCATION_KIND_BUFFER: return "buffer";
    case SEDX_ALLOCATION_KIND_IMAGE_LINEAR: return "image-linear";
    case SEDX_ALLOCATION_KIND_IMAGE_OPTIMAL: return "image-optimal";
    }
    return "?";
}

const char *sedx_memory_usage_name(sedx_memory_usage usage)
{
    switch (usage) {
    case SEDX_MEMORY_USAGE_AUTO: return "auto";
    case SEDX_MEMORY_USAGE_GPU_ONLY: return "gpu-only";
    case SEDX_MEMORY_USAGE_UPLOAD: return "upload";
    case SEDX_MEMORY_USAGE_STAGING: return "staging";
    case SEDX_MEMORY_USAGE_READBACK: return "readback";
    case SEDX_MEMORY_USAGE_CUSTOM: return "custom";
    }
    return "?";
}

static const char *class_name(uint8_t c)
{
    return c == CLASS_LINEAR ? "linear" : c == CLASS_OPTIMAL ? "optimal" : "unknown";
}

/* ------------------------------------------------------------------------------------------
 * Statistics and budget
 * ---------------------------------------------------------------------------------------- */
/* With T locked. */
static void type_stat_locked(mtype *T, sedx_memory_stat *s)
{
    memset(s, 0, sizeof *s);
    s->block_count = T->block_count;
    s->dedicated_count = T->dedicated_count;
    s->allocation_count = T->alloc_count;
    s->allocation_bytes = T->alloc_bytes;
    s->block_bytes = T->block_bytes + T->dedicated_bytes;
    for (uint32_t i = 0; i < T->block_count; ++i) {
        sedx_virtual_block_stats vs;
        sedx_virtual_block_get_stats(T->blocks[i]->vb, &vs);
        s->free_range_count += vs.free_range_count;
        s->largest_free_range = SEDX__MAX(s->largest_free_range, vs.largest_free_range);
        if (T->blocks[i]->alloc_count == 0) s->empty_block_count++;
    }
}

static void stat_add(sedx_memory_stat *d, const sedx_memory_stat *s)
{
    d->block_count += s->block_count;
    d->dedicated_count += s->dedicated_count;
    d->allocation_count += s->allocation_count;
    d->allocation_bytes += s->allocation_bytes;
    d->block_bytes += s->block_bytes;
    d->free_range_count += s->free_range_count;
    d->largest_free_range = SEDX__MAX(d->largest_free_range, s->largest_free_range);
    d->empty_block_count += s->empty_block_count;
}

static void collect_stats(allocator *A, sedx_memory_stats *out)
{
    memset(out, 0, sizeof *out);
    out->memory_type_count = A->type_count;
    out->memory_heap_count = A->heap_count;
    for (uint32_t t = 0; t < A->type_count; ++t) {
        mtype *T = &A->types[t];
        tlock_lock(&T->lock);
        type_stat_locked(T, &out->memory_type[t]);
        tlock_unlock(&T->lock);
        stat_add(&out->memory_heap[T->heap], &out->memory_type[t]);
        stat_add(&out->total, &out->memory_type[t]);
    }
    out->vk_allocate_count = atomic_load(&A->vk_alloc_calls);
    out->vk_allocate_failures = atomic_load(&A->vk_alloc_failures);
    out->vk_free_count = atomic_load(&A->vk_free_calls);
    out->device_memory_count = atomic_load(&A->device_memory_count);
}

sedx_result sedx_memory_get_stats(sedx_context *ctx, sedx_memory_stats *out)
{
    NEED_ALLOCATOR(A, ctx, "sedx_memory_get_stats");
    if (!out) return SEDX__ERR(SEDX_ERROR_INVALID_ARGUMENT, TAG, "sedx_memory_get_stats: out is NULL");
    collect_stats(A, out);
    return SEDX_SUCCESS;
}

static void collect_budget(allocator *A, sedx_memory_budget *out, bool fresh)
{
    for (uint32_t h = 0; h < A->heap_count; ++h) {
        memset(&out[h], 0, sizeof out[h]);
        sedx__mem_budget_get(A, h, fresh && h == 0, &out[h].usage, &out[h].budget);
        out[h].block_bytes = atomic_load(&A->heap_block_bytes[h]);
        out[h].heap_size = A->heap_size[h];
    }
    for (uint32_t t = 0; t < A->type_count; ++t) {
        mtype *T = &A->types[t];
        tlock_lock(&T->lock);
        out[T->heap].allocation_bytes += T->alloc_bytes;
        tlock_unlock(&T->lock);
    }
}

sedx_result sedx_memory_get_budget(sedx_context *ctx, sedx_memory_budget out[VK_MAX_MEMORY_HEAPS], uint32_t *out_count)
{
    NEED_ALLOCATOR(A, ctx, "sedx_memory_get_budget");
    if (!out) return SEDX__ERR(SEDX_ERROR_INVALID_ARGUMENT, TAG, "sedx_memory_get_budget: out is NULL");
    collect_budget(A, out, true);
    if (out_count) *out_count = A->heap_count;
    return SEDX_SUCCESS;
}

/* ------------------------------------------------------------------------------------------
 * JSON dump (written directly: every byte goes through sedx__malloc, and cJSON's global hooks
 * stay the application's)
 * ---------------------------------------------------------------------------------------- */
typedef struct sbuf {
    char *p;
    size_t len, cap;
    bool oom;
} sbuf;

static void sb_put(sbuf *s, const char *src, size_t n)
{
    if (s->oom) return;
    if (s->len + n + 1 > s->cap) {
        size_t cap = s->cap ? s->cap : 4096;
        while (cap < s->len + n + 1) cap *= 2;
        char *p = sedx__realloc(s->p, cap);
        if (!p) {
            s->oom = true;
            return;
        }
        s->p = p;
        s->cap = cap;
    }
    memcpy(s->p + s->len, src, n);
    s->len += n;
    s->p[s->len] = '\0';
}

#if defined(__GNUC__)
__attribute__((format(printf, 2, 3)))
#endif
static void sb_printf(sbuf *s, const char *fmt, ...)
{
    char tmp[512];
    va_list ap;
    va_start(ap, fmt);
    int n = vsnprintf(tmp, sizeof tmp, fmt, ap);
    va_end(ap);
    if (n < 0) return;
    sb_put(s, tmp, (size_t)n < sizeof tmp ? (size_t)n : sizeof tmp - 1);
}

static void sb_sink(void *s, const char *bytes, size_t n) { sb_put(s, bytes, n); }

/* A JSON string (sedx__json_string: a name that is not UTF-8 stays valid JSON). */
static void sb_str(sbuf *s, const char *str) { sedx__json_string(str, sb_sink, s); }

static void sb_flags(sbuf *s, VkMemoryPropertyFlags f)
{
    static const struct { VkMemoryPropertyFlags bit; const char *name; } names[] = {
        {VK_MEMORY_PROPERTY_DEVICE_LOCAL_BIT, "DEVICE_LOCAL"},
        {VK_MEMORY_PROPERTY_HOST_VISIBLE_BIT, "HOST_VISIBLE"},
        {VK_MEMORY_PROPERTY_HOST_COHERENT_BIT, "HOST_COHERENT"},
        {VK_MEMORY_PROPERTY_HOST_CACHED_BIT, "HOST_CACHED"},
        {VK_MEMORY_PROPERTY_LAZILY_ALLOCATED_BIT, "LAZILY_ALLOCATED"},
        {VK_MEMORY_PROPERTY_PROTECTED_BIT, "PROTECTED"},
        {VK_MEMORY_PROPERTY_DEVICE_COHERENT_BIT_AMD, "DEVICE_COHERENT_AMD"},
        {VK_MEMORY_PROPERTY_DEVICE_UNCACHED_BIT_AMD, "DEVICE_UNCACHED_AMD"},
    };
    sb_put(s, "[", 1);
    bool first = true;
    for (size_t i = 0; i < SEDX__COUNTOF(names); ++i) {
        if (!(f & names[i].bit)) continue;
        if (!first) sb_put(s, ",", 1);
        sb_str(s, names[i].name);
        first = false;
    }
    sb_put(s, "]", 1);
}

static void sb_stat(sbuf *s, const sedx_memory_stat *st)
{
    sb_printf(s,
              "{\"block_count\":%u,\"dedicated_count\":%u,\"allocation_count\":%u,\"allocation_bytes\":%llu,"
              "\"block_bytes\":%llu,\"free_range_count\":%u,\"largest_free_range\":%llu,\"empty_block_count\":%u}",
              st->block_count, st->dedicated_count, st->allocation_count, (unsigned long long)st->allocation_bytes,
              (unsigned long long)st->block_bytes, st->free_range_count, (unsigned long long)st->largest_free_range,
              st->empty_block_count);
}

static void sb_alloc(sbuf *s, const mtype *T, const rec *R, bool first)
{
    sb_printf(s, "%s{\"offset\":%llu,\"size\":%llu,\"name\":", first ? "" : ",", (unsigned long long)R->offset,
              (unsigned long long)R->size);
    sb_str(s, rec_name(R));
    sb_printf(s, ",\"kind\":\"%s\",\"memory_type\":%u,\"creation_index\":%llu,\"map_count\":%u,\"dedicated\":%s}",
              sedx_allocation_kind_name((sedx_allocation_kind)R->kind), T->index,
              (unsigned long long)R->creation_index, R->map_count, R->block ? "false" : "true");
}

typedef struct visit_ctx {
    sbuf *s;
    const mtype *T;
    bool first;
} visit_ctx;

static void visit_alloc(void *c, sedx_virtual_alloc alloc, uint64_t offset, uint64_t size, void *user_data)
{
    (void)alloc;
    (void)offset;
    (void)size;
    visit_ctx *v = c;
    sb_alloc(v->s, v->T, user_data, v->first);
    v->first = false;
}
/* The allocator-wide fields that open the dump. */
static void json_header(allocator *A, sbuf *s)
{
    sb_put(s, "{\"device\":", 10);
    sb_str(s, A->ctx->props.deviceName);
    sb_printf(s,
              ",\"buffer_image_granularity\":%llu,\"non_coherent_atom_size\":%llu,\"max_memory_allocation_count\":%u,"
              "\"memory_budget_extension\":%s,\"debug_margin\":%u,\"flags\":%u",
              (unsigned long long)A->granularity, (unsigned long long)A->atom, A->max_alloc_count,
              A->use_budget_ext ? "true" : "false", A->margin, A->info.flags);
}

/* Memory type t with its blocks, their allocations and the dedicated allocations, under its
 * lock; *st gets the statistics exactly as written. */
static void json_type(allocator *A, uint32_t t, sbuf *types, sedx_memory_stat *st)
{
    mtype *T = &A->types[t];
    tlock_lock(&T->lock);
    type_stat_locked(T, st);
    sb_printf(types, "%s{\"index\":%u,\"heap\":%u,\"flags\":", t ? "," : "", t, T->heap);
    sb_flags(types, T->flags);
    sb_printf(types, ",\"non_coherent\":%s,\"stats\":", T->non_coherent ? "true" : "false");
    sb_stat(types, st);
    sb_put(types, ",\"blocks\":[", 11);
    for (uint32_t i = 0; i < T->block_count; ++i) {
        block *b = T->blocks[i];
        sedx_virtual_block_stats vs;
        sedx_virtual_block_get_stats(b->vb, &vs);
        sb_printf(types,
                  "%s{\"id\":%u,\"memory\":\"0x%llx\",\"size\":%llu,\"class\":\"%s\",\"mapped\":%s,"
                  "\"allocation_count\":%u,\"free_range_count\":%u,\"largest_free_range\":%llu,\"allocations\":[",
                  i ? "," : "", b->id, (unsigned long long)(uintptr_t)b->memory, (unsigned long long)b->size,
                  b->alloc_count ? class_name(b->klass) : "empty", b->mapped ? "true" : "false", b->alloc_count,
                  vs.free_range_count, (unsigned long long)vs.largest_free_range);
        visit_ctx v = {types, T, true};
        sedx_virtual_block_foreach(b->vb, visit_alloc, &v);
        sb_put(types, "]}", 2);
    }
    sb_put(types, "],\"dedicated\":[", 15);
    bool first = true;
    for (uint32_t p = 0; p < T->page_count; ++p) {
        for (uint32_t i = 0; i < REC_PAGE_SIZE; ++i) {
            const rec *R = &T->pages[p][i];
            if (!(R->gen & 1u) || R->block) continue;
            sb_alloc(types, T, R, first);
            first = false;
        }
    }
    sb_put(types, "]}", 2);
    tlock_unlock(&T->lock);
}

static void json_heaps(allocator *A, sbuf *s, const sedx_memory_budget *budget, const sedx_memory_stats *st)
{
    sb_put(s, ",\"heaps\":[", 10);
    for (uint32_t h = 0; h < A->heap_count; ++h) {
        sb_printf(s, "%s{\"index\":%u,\"size\":%llu,\"flags\":%u,\"preferred_block_size\":%llu,", h ? "," : "", h,
                  (unsigned long long)A->heap_size[h], A->ctx->mem_props.memoryHeaps[h].flags,
                  (unsigned long long)A->preferred_block[h]);
        sb_printf(s, "\"budget\":{\"usage\":%llu,\"budget\":%llu,\"block_bytes\":%llu,\"allocation_bytes\":%llu},\"stats\":",
                  (unsigned long long)budget[h].usage, (unsigned long long)budget[h].budget,
                  (unsigned long long)budget[h].block_bytes, (unsigned long long)budget[h].allocation_bytes);
        sb_stat(s, &st->memory_heap[h]);
        sb_put(s, "}", 1);
    }
    sb_put(s, "]", 1);
}

sedx_result sedx_memory_dump_json(sedx_context *ctx, char **out_json)
{
    NEED_ALLOCATOR(A, ctx, "sedx_memory_dump_json");
    if (!out_json) return SEDX__ERR(SEDX_ERROR_INVALID_ARGUMENT, TAG, "sedx_memory_dump_json: out_json is NULL");
    sbuf s = {0};
    sedx_memory_budget budget[VK_MAX_MEMORY_HEAPS];
    collect_budget(A, budget, false);
    json_header(A, &s);
    /* types first (each under its lock), totals summed from exactly what was written */
    sedx_memory_stats st;
    memset(&st, 0, sizeof st);
    sbuf types = {0};
    sb_put(&types, "[", 1);
    for (uint32_t t = 0; t < A->type_count; ++t) {
        json_type(A, t, &types, &st.memory_type[t]);
        stat_add(&st.memory_heap[A->types[t].heap], &st.memory_type[t]);
        stat_add(&st.total, &st.memory_type[t]);
    }
    sb_put(&types, "]", 1);
    sb_printf(&s, ",\"vk_allocate_count\":%llu,\"vk_allocate_failures\":%llu,\"vk_free_count\":%llu,"
                  "\"device_memory_count\":%u,\"total\":",
              (unsigned long long)atomic_load(&A->vk_alloc_calls), (unsigned long long)atomic_load(&A->vk_alloc_failures),
              (unsigned long long)atomic_load(&A->vk_free_calls), atomic_load(&A->device_memory_count));
    sb_stat(&s, &st.total);
    json_heaps(A, &s, budget, &st);
    sb_put(&s, ",\"types\":", 9);
    if (!types.oom && types.p) sb_put(&s, types.p, types.len);
    sb_put(&s, "}", 1);
    bool oom = s.oom || types.oom;
    sedx__free(types.p);
    if (oom) {
        sedx__free(s.p);
        return SEDX__ERR(SEDX_ERROR_OUT_OF_HOST_MEMORY, TAG, "out of host memory (JSON dump)");
    }
    *out_json = s.p;
    return SEDX_SUCCESS;
}

void sedx_memory_free_string(char *s) { sedx__free(s); }

/* ------------------------------------------------------------------------------------------
 * Leak report (sedx__allocator_destroy)
 * ---------------------------------------------------------------------------------------- */
void sedx__mem_leak_report_type(const mtype *T, uint64_t *leaks, uint64_t *leak_bytes)
{
    for (uint32_t p = 0; p < T->page_count; ++p) {
        for (uint32_t i = 0; i < REC_PAGE_SIZE; ++i) {
            const rec *R = &T->pages[p][i];
            if (!(R->gen & 1u)) continue;
            if (*leaks < LEAK_LINES_MAX)
                SEDX_LOG_WARN_TAG(TAG, "leak: allocation '%s' (#%llu): %llu bytes, %s, memory type %u, %s at offset %llu",
                                  *rec_name(R) ? rec_name(R) : "(unnamed)", (unsigned long long)R->creation_index,
                                  (unsigned long long)R->size, sedx_allocation_kind_name((sedx_allocation_kind)R->kind),
                                  T->index, R->block ? "block" : "dedicated", (unsigned long long)R->offset);
            ++*leaks;
            *leak_bytes += R->size;
        }
    }
}

void sedx__mem_leak_report_total(uint64_t leaks, uint64_t leak_bytes)
{
    if (leaks)
        SEDX_LOG_WARN_TAG(TAG, "leak report: %llu allocation%s (%llu bytes) still live when the allocator was destroyed%s",
                          (unsigned long long)leaks, leaks == 1 ? "" : "s", (unsigned long long)leak_bytes,
                          leaks > LEAK_LINES_MAX ? " (first ones listed)" : "");
}
