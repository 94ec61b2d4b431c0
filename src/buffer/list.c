/*
 * The seed's debug panel without ImGui: the live-buffer list, a text table, usage names.
 */
#include "buffer/buffer_private.h"

#include <stdarg.h>
#include <stdio.h>

size_t sedx_buffer_usage_string(sedx_buffer_usage_flags usage, char *out, size_t cap)
{
    static const struct { uint32_t bit; const char *name; } names[] = {
        {SEDX_BUFFER_USAGE_TRANSFER_SRC, "TRANSFER_SRC"}, {SEDX_BUFFER_USAGE_TRANSFER_DST, "TRANSFER_DST"},
        {SEDX_BUFFER_USAGE_UNIFORM_TEXEL, "UNIFORM_TEXEL"}, {SEDX_BUFFER_USAGE_STORAGE_TEXEL, "STORAGE_TEXEL"},
        {SEDX_BUFFER_USAGE_UNIFORM, "UNIFORM"}, {SEDX_BUFFER_USAGE_STORAGE, "STORAGE"},
        {SEDX_BUFFER_USAGE_INDEX, "INDEX"}, {SEDX_BUFFER_USAGE_VERTEX, "VERTEX"},
        {SEDX_BUFFER_USAGE_INDIRECT, "INDIRECT"}, {SEDX_BUFFER_USAGE_SHADER_BINDING_TABLE, "SBT"},
        {SEDX_BUFFER_USAGE_ADDRESS, "ADDRESS"}, {SEDX_BUFFER_USAGE_ACCELERATION_STRUCTURE_INPUT, "AS_INPUT"},
        {SEDX_BUFFER_USAGE_ACCELERATION_STRUCTURE, "AS"},
    };
    size_t len = 0;
    if (cap) out[0] = '\0';
    for (size_t i = 0; i < SEDX__COUNTOF(names); ++i) {
        if (!(usage & names[i].bit)) continue;
        int n = snprintf(out ? out + SEDX__MIN(len, cap) : NULL, len < cap ? cap - len : 0, "%s%s", len ? "|" : "",
                         names[i].name);
        len += (size_t)(n > 0 ? n : 0);
    }
    return len;
}

uint32_t sedx_buffer_list(sedx_context *ctx, sedx_buffer_visit_fn fn, void *user)
{
    if (!ctx || !sedx__registry(ctx)) return 0;
    struct sedx__buffer_registry *reg = sedx__registry(ctx);
    uint32_t n = 0;
    pthread_mutex_lock(&reg->lock);
    for (sedx_buffer_resource *r = reg->head; r; r = r->next) {
        if (r->internal) continue;
        ++n;
        if (!fn) continue;
        sedx_buffer_info bi = {r->id, r->name, r->size, r->allocation_size, r->usage, r->memory_kind,
                               r->memory_type, atomic_load(&r->map_count), atomic_load(&r->refs), r->dedicated};
        fn(&bi, user);
    }
    pthread_mutex_unlock(&reg->lock);
    return n;
}

typedef struct table_writer {
    char *out;
    size_t cap, len;
} table_writer;

static void tw_printf(table_writer *w, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
static void tw_printf(table_writer *w, const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    int n = vsnprintf(w->out && w->len < w->cap ? w->out + w->len : NULL, w->len < w->cap ? w->cap - w->len : 0,
                      fmt, ap);
    va_end(ap);
    if (n > 0) w->len += (size_t)n;
}

static void table_row(const sedx_buffer_info *bi, void *user)
{
    char usage[160];
    sedx_buffer_usage_string(bi->usage, usage, sizeof usage);
    tw_printf(user, "%6u  %-32.32s %12llu  %-3s  %4u  %4u  %s\n", bi->id, bi->name[0] ? bi->name : "(unnamed)",
              (unsigned long long)bi->size, (bi->memory & SEDX_MEMORY_CPU) ? "CPU" : "GPU", bi->map_count,
              bi->references, usage);
}

size_t sedx_buffer_format_table(sedx_context *ctx, char *out, size_t cap)
{
    table_writer w = {out, cap, 0};
    if (out && cap) out[0] = '\0';
    tw_printf(&w, "%6s  %-32s %12s  %-3s  %4s  %4s  %s\n", "ID", "NAME", "SIZE", "MEM", "MAPS", "REFS", "USAGE");
    uint32_t n = sedx_buffer_list(ctx, table_row, &w);
    tw_printf(&w, "%u live buffer%s\n", n, n == 1 ? "" : "s");
    if (out && cap && w.len >= cap) out[cap - 1] = '\0';
    return w.len;
}
