/* A JSON string, written through the caller's sink (the memory dump's buffer, the profile
 * trace's file): one escaping for every JSON text sedx writes by hand. */
#include "core/core.h"

#include <stdio.h>

/* Length of the valid UTF-8 sequence at c (no overlong form, surrogate or code point above
 * U+10FFFF), 0 if none starts there. */
static size_t utf8_len(const unsigned char *c)
{
    size_t n = c[0] >= 0xC2 && c[0] <= 0xDF ? 2 : c[0] >= 0xE0 && c[0] <= 0xEF ? 3 : c[0] >= 0xF0 && c[0] <= 0xF4 ? 4 : 0;
    uint32_t cp = c[0] & (0x7Fu >> n);
    for (size_t k = 1; k < n; ++k) {
        if ((c[k] & 0xC0) != 0x80) return 0; /* also stops at the NUL */
        cp = (cp << 6) | (c[k] & 0x3Fu);
    }
    if (n == 3 && (cp < 0x800 || (cp >= 0xD800 && cp <= 0xDFFF))) return 0;
    if (n == 4 && (cp < 0x10000 || cp > 0x10FFFF)) return 0;
    return n;
}

void sedx__json_string(const char *str, sedx__json_sink put, void *sink)
{
    put(sink, "\"", 1);
    for (const unsigned char *c = (const unsigned char *)(str ? str : ""); *c; ++c) {
        if (*c >= 0x80) { /* JSON text is UTF-8: a byte that starts no valid sequence is U+FFFD */
            size_t n = utf8_len(c);
            if (n) {
                put(sink, (const char *)c, n);
                c += n - 1;
            } else {
                put(sink, "\\ufffd", 6);
            }
            continue;
        }
        const char *esc = *c == '"' ? "\\\"" : *c == '\\' ? "\\\\" : *c == '\n' ? "\\n" : *c == '\r' ? "\\r"
                        : *c == '\t' ? "\\t" : *c == '\b' ? "\\b" : *c == '\f' ? "\\f" : NULL;
        if (esc) {
            put(sink, esc, 2);
        } else if (*c < 0x20) {
            char u[8];
            snprintf(u, sizeof u, "\\u%04x", *c);
            put(sink, u, 6);
        } else {
            put(sink, (const char *)c, 1);
        }
    }
    put(sink, "\"", 1);
}
