/*
 * sedx-report: sedx's statistics as pictures.
 *   sedx-report memory DUMP.json OUT.png [--width N]
 *       the allocator's JSON dump (sedx_memory_dump_json, sedx-demo --dump) as a memory map
 * Exit status 0, 1 on bad input (with a message), 2 on bad usage.
 */
#include "memory_map.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static int usage(void)
{
    fprintf(stderr, "usage: sedx-report memory DUMP.json OUT.png [--width N]\n");
    return 2;
}

/* The whole file, NUL-terminated, or NULL with err filled. */
static char *read_file(const char *path, char *err, size_t errlen)
{
    FILE *f = fopen(path, "rb");
    if (!f) {
        snprintf(err, errlen, "cannot open %s: %s", path, strerror(errno));
        return NULL;
    }
    size_t cap = 1u << 16, len = 0;
    char *buf = malloc(cap);
    while (buf) {
        len += fread(buf + len, 1, cap - len - 1u, f);
        if (len < cap - 1u) break;
        char *bigger = cap < ((size_t)1 << 30) ? realloc(buf, cap * 2u) : NULL;
        if (!bigger) {
            free(buf);
            buf = NULL;
            break;
        }
        buf = bigger;
        cap *= 2u;
    }
    bool bad = ferror(f) != 0;
    fclose(f);
    if (!buf || bad) {
        free(buf);
        snprintf(err, errlen, "cannot read %s (%s)", path, bad ? "I/O error" : "too large or out of memory");
        return NULL;
    }
    buf[len] = '\0';
    return buf;
}

int main(int argc, char **argv)
{
    if (argc < 4 || strcmp(argv[1], "memory") != 0) return usage();
    unsigned width = 1280;
    for (int i = 4; i < argc; ++i) {
        if (strcmp(argv[i], "--width") == 0 && i + 1 < argc) {
            char *end;
            unsigned long w = strtoul(argv[++i], &end, 10);
            if (*end || w == 0 || w > 16384) return usage();
            width = (unsigned)w;
        } else {
            return usage();
        }
    }
    char err[256];
    char *json = read_file(argv[2], err, sizeof err);
    report_image img;
    if (!json || report_memory_map(json, width, &img, err, sizeof err) != 0 ||
        report_write_png(&img, argv[3], err, sizeof err) != 0) {
        fprintf(stderr, "sedx-report: %s\n", err);
        free(json);
        return 1;
    }
    printf("sedx-report: %s: %u block/dedicated rows, %ux%u pixels\n", argv[3], img.rows, img.width, img.height);
    report_image_free(&img);
    free(json);
    return 0;
}
