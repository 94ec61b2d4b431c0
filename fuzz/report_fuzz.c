/* libFuzzer: arbitrary text as an allocator dump for sedx-report's memory map (the tool reads
 * files users hand it). Errors are fine; crashes, sanitizer reports, a picture of the wrong
 * size and a pixel of a colour the map does not use are not. */
#include "../tools/report/memory_map.c"

#include <stdint.h>
#include <stdlib.h>
#include <string.h>

static bool known(const uint8_t *p)
{
    static const char *const kinds[] = {"buffer", "image-optimal", "image-linear", NULL};
    rgb8 fixed[] = {k_background, k_free, k_edge};
    for (size_t i = 0; i < sizeof fixed / sizeof fixed[0]; ++i)
        if (p[0] == fixed[i].r && p[1] == fixed[i].g && p[2] == fixed[i].b) return true;
    for (size_t i = 0; i < sizeof kinds / sizeof kinds[0]; ++i) {
        rgb8 c = report_kind_color(kinds[i]);
        if (p[0] == c.r && p[1] == c.g && p[2] == c.b) return true;
    }
    for (unsigned t = 0; t < 8; ++t) {
        rgb8 c = report_type_color(t);
        if (p[0] == c.r && p[1] == c.g && p[2] == c.b) return true;
    }
    return false;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);
int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    if (size < 1) return 0;
    unsigned width = 16u + data[0] * 2u; /* 16 .. 526: small pictures, many inputs */
    char *json = malloc(size);
    if (!json) return 0;
    memcpy(json, data + 1, size - 1);
    json[size - 1] = '\0';
    report_image img;
    char err[256];
    if (report_memory_map(json, width, &img, err, sizeof err) == 0) {
        if (img.width != width || img.height != REPORT_MARGIN * 2u + (img.rows ? img.rows : 1u) * REPORT_ROW_PITCH)
            abort();
        for (size_t i = 0; i < (size_t)img.width * img.height; ++i)
            if (!known(&img.rgb[i * 3u])) abort();
        report_image_free(&img);
    }
    free(json);
    return 0;
}
