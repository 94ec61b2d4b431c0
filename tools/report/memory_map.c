/*
 * sedx-report memory: the allocator's JSON dump (sedx_memory_dump_json) as a picture.
 *
 * One row per VkDeviceMemory block, grouped by memory type, the block's whole size across the
 * picture's width; allocations drawn at their offsets in a colour per kind, free space dark, a
 * darker line where one allocation ends and the next begins, so neighbours stay apart. Each
 * memory type's rows start with a swatch in the type's colour; dedicated allocations of a type
 * get one row, each allocation a share of the width proportional to its size. An allocation
 * narrower than a pixel still gets one. Layout and colours: docs/report.md.
 *
 * No GPU here: the renderer reads JSON text and writes RGB pixels (and a PNG through libpng),
 * so that tests/unit/report.c can check the pixels of a dump it wrote itself.
 */
#include "memory_map.h"

#include <cjson/cJSON.h>
#include <png.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

typedef struct canvas {
    uint8_t *rgb;
    unsigned w, h;
} canvas;

static const rgb8 k_background = {24, 24, 28};
static const rgb8 k_free = {58, 58, 64};
static const rgb8 k_edge = {10, 10, 12};

rgb8 report_kind_color(const char *kind)
{
    if (kind && strcmp(kind, "buffer") == 0) return (rgb8){66, 135, 245};
    if (kind && strcmp(kind, "image-optimal") == 0) return (rgb8){72, 199, 116};
    if (kind && strcmp(kind, "image-linear") == 0) return (rgb8){240, 200, 60};
    return (rgb8){214, 92, 214}; /* unknown */
}

rgb8 report_type_color(unsigned type_index)
{
    static const rgb8 k[8] = {{230, 80, 80},  {80, 200, 230}, {240, 160, 60},  {160, 120, 240},
                              {120, 220, 120}, {240, 120, 190}, {200, 200, 200}, {140, 170, 90}};
    return k[type_index % 8u];
}

static void fill(canvas *c, unsigned x0, unsigned y0, unsigned x1, unsigned y1, rgb8 col)
{
    if (x1 > c->w) x1 = c->w;
    if (y1 > c->h) y1 = c->h;
    for (unsigned y = y0; y < y1; ++y)
        for (unsigned x = x0; x < x1; ++x) {
            uint8_t *p = &c->rgb[((size_t)y * c->w + x) * 3u];
            p[0] = col.r;
            p[1] = col.g;
            p[2] = col.b;
        }
}

/* [lo, hi) of a block of `size` bytes in pixels [0, width): at least one pixel wide. */
static void span(uint64_t lo, uint64_t hi, uint64_t size, unsigned width, unsigned *x0, unsigned *x1)
{
    long double s = (long double)width / (long double)size;
    unsigned a = (unsigned)((long double)lo * s), b = (unsigned)((long double)hi * s);
    if (a >= width) a = width - 1u;
    if (b > width) b = width;
    if (b <= a) b = a + 1u;
    *x0 = a;
    *x1 = b;
}

static uint64_t num(const cJSON *o, const char *key)
{
    const cJSON *v = cJSON_GetObjectItemCaseSensitive(o, key);
    if (!cJSON_IsNumber(v) || !(v->valuedouble > 0)) return 0; /* missing, negative, NaN */
    return v->valuedouble < 18446744073709551616.0 ? (uint64_t)v->valuedouble : UINT64_MAX;
}

/* Draws the allocations of one row: `allocs` placed in [0, size) over [left, left + width). */
/* a + b, UINT64_MAX where it would wrap */
static uint64_t add_sat(uint64_t a, uint64_t b) { return a + b < a ? UINT64_MAX : a + b; }

static void draw_row(canvas *c, unsigned left, unsigned width, unsigned y, uint64_t size, const cJSON *allocs,
                     bool packed)
{
    fill(c, left, y, left + width, y + REPORT_ROW_HEIGHT, k_free);
    uint64_t at = 0; /* packed rows (dedicated): allocations one after the other */
    const cJSON *a;
    cJSON_ArrayForEach(a, allocs)
    {
        uint64_t off = packed ? at : num(a, "offset"), sz = num(a, "size");
        at = add_sat(at, sz); /* sizes may add up past 2^64 */
        if (sz == 0 || off >= size) continue;
        uint64_t end = off + sz > size || off + sz < off ? size : off + sz;
        unsigned x0, x1;
        span(off, end, size, width, &x0, &x1);
        const cJSON *kind = cJSON_GetObjectItemCaseSensitive(a, "kind");
        fill(c, left + x0, y, left + x1, y + REPORT_ROW_HEIGHT,
             report_kind_color(cJSON_IsString(kind) ? kind->valuestring : NULL));
        if (x1 - x0 >= 3u) fill(c, left + x1 - 1u, y, left + x1, y + REPORT_ROW_HEIGHT, k_edge);
    }
}

int report_memory_map(const char *json, unsigned width, report_image *out, char *err, size_t errlen)
{
    memset(out, 0, sizeof *out);
    /* margins and the swatch take 40 pixels: at least 16 for the bar */
    const unsigned min_width = REPORT_MARGIN * 3u + REPORT_SWATCH + 16u;
    if (width < min_width || width > 16384u) {
        snprintf(err, errlen, "width %u is outside %u .. 16384", width, min_width);
        return -1;
    }
    cJSON *root = cJSON_Parse(json);
    const cJSON *types = root ? cJSON_GetObjectItemCaseSensitive(root, "types") : NULL;
    if (!cJSON_IsArray(types)) {
        snprintf(err, errlen, "%s", root ? "no \"types\" array: not a sedx memory dump" : "not valid JSON");
        cJSON_Delete(root);
        return -1;
    }
    /* rows: every block, and one row per type with dedicated allocations */
    unsigned rows = 0;
    const cJSON *t;
    cJSON_ArrayForEach(t, types)
    {
        rows += (unsigned)cJSON_GetArraySize(cJSON_GetObjectItemCaseSensitive(t, "blocks"));
        rows += cJSON_GetArraySize(cJSON_GetObjectItemCaseSensitive(t, "dedicated")) > 0;
    }
    if (rows > 4096u) {
        snprintf(err, errlen, "%u rows: too many blocks to draw", rows);
        cJSON_Delete(root);
        return -1;
    }
    canvas c = {NULL, width, REPORT_MARGIN * 2u + (rows ? rows : 1u) * REPORT_ROW_PITCH};
    c.rgb = malloc((size_t)c.w * c.h * 3u);
    if (!c.rgb) {
        snprintf(err, errlen, "out of memory for a %ux%u picture", c.w, c.h);
        cJSON_Delete(root);
        return -1;
    }
    fill(&c, 0, 0, c.w, c.h, k_background);
    unsigned left = REPORT_MARGIN + REPORT_SWATCH + REPORT_MARGIN, bar = width - left - REPORT_MARGIN;
    unsigned y = REPORT_MARGIN;
    cJSON_ArrayForEach(t, types)
    {
        rgb8 tc = report_type_color((unsigned)num(t, "index"));
        const cJSON *b;
        cJSON_ArrayForEach(b, cJSON_GetObjectItemCaseSensitive(t, "blocks"))
        {
            uint64_t size = num(b, "size");
            fill(&c, REPORT_MARGIN, y, REPORT_MARGIN + REPORT_SWATCH, y + REPORT_ROW_HEIGHT, tc);
            if (size) draw_row(&c, left, bar, y, size, cJSON_GetObjectItemCaseSensitive(b, "allocations"), false);
            y += REPORT_ROW_PITCH;
        }
        const cJSON *ded = cJSON_GetObjectItemCaseSensitive(t, "dedicated");
        if (cJSON_GetArraySize(ded) > 0) {
            uint64_t total = 0;
            const cJSON *a;
            cJSON_ArrayForEach(a, ded)
            {
                total = add_sat(total, num(a, "size")); /* as draw_row's packing */
            }
            /* a hollow swatch: dedicated memory, not a block */
            fill(&c, REPORT_MARGIN, y, REPORT_MARGIN + REPORT_SWATCH, y + REPORT_ROW_HEIGHT, tc);
            fill(&c, REPORT_MARGIN + 3u, y + 3u, REPORT_MARGIN + REPORT_SWATCH - 3u, y + REPORT_ROW_HEIGHT - 3u,
                 k_background);
            if (total) draw_row(&c, left, bar, y, total, ded, true);
            y += REPORT_ROW_PITCH;
        }
    }
    cJSON_Delete(root);
    out->rgb = c.rgb;
    out->width = c.w;
    out->height = c.h;
    out->rows = rows;
    return 0;
}

void report_image_free(report_image *img)
{
    free(img->rgb);
    memset(img, 0, sizeof *img);
}

int report_write_png(const report_image *img, const char *path, char *err, size_t errlen)
{
    FILE *f = fopen(path, "wb");
    if (!f) {
        snprintf(err, errlen, "cannot open %s for writing", path);
        return -1;
    }
    png_structp png = png_create_write_struct(PNG_LIBPNG_VER_STRING, NULL, NULL, NULL);
    png_infop info = png ? png_create_info_struct(png) : NULL;
    if (!png || !info || setjmp(png_jmpbuf(png))) {
        png_destroy_write_struct(&png, &info);
        fclose(f);
        snprintf(err, errlen, "libpng failed writing %s", path);
        return -1;
    }
    png_init_io(png, f);
    png_set_IHDR(png, info, img->width, img->height, 8, PNG_COLOR_TYPE_RGB, PNG_INTERLACE_NONE,
                 PNG_COMPRESSION_TYPE_DEFAULT, PNG_FILTER_TYPE_DEFAULT);
    png_text text = {PNG_TEXT_COMPRESSION_NONE, "Software", "sedx-report", 11, 0, NULL, NULL};
    png_set_text(png, info, &text, 1);
    png_write_info(png, info);
    for (unsigned y = 0; y < img->height; ++y) png_write_row(png, img->rgb + (size_t)y * img->width * 3u);
    png_write_end(png, NULL);
    png_destroy_write_struct(&png, &info);
    if (fclose(f) != 0) {
        snprintf(err, errlen, "error closing %s", path);
        return -1;
    }
    return 0;
}
