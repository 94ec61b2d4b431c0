/* sedx-report memory: see memory_map.c. */
#ifndef SEDX_REPORT_MEMORY_MAP_H
#define SEDX_REPORT_MEMORY_MAP_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

/* Layout, in pixels. */
#define REPORT_MARGIN 8u
#define REPORT_SWATCH 16u
#define REPORT_ROW_HEIGHT 20u
#define REPORT_ROW_PITCH 24u /* row height + the gap below it */

typedef struct rgb8 {
    uint8_t r, g, b;
} rgb8;

typedef struct report_image {
    uint8_t *rgb;          /* width * height * 3, row by row */
    unsigned width, height;
    unsigned rows;         /* block rows + dedicated rows drawn */
} report_image;

rgb8 report_kind_color(const char *kind);   /* "buffer", "image-optimal", "image-linear", else unknown */
rgb8 report_type_color(unsigned type_index);

/* Renders a sedx_memory_dump_json text at the given width. 0, or -1 with err filled. */
int report_memory_map(const char *json, unsigned width, report_image *out, char *err, size_t errlen);
void report_image_free(report_image *img);
int report_write_png(const report_image *img, const char *path, char *err, size_t errlen);

#endif
