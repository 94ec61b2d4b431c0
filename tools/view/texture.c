/* Texture files decoded to RGBA8 with stb_image (Debian libstb-dev: PNG, JPEG, TGA, BMP, ...),
 * and the checker that stands in where a material has no texture. */
#include "view.h"

#include <stdlib.h>
#include <string.h>

#define STB_IMAGE_IMPLEMENTATION
#define STB_IMAGE_STATIC /* libassimp carries its own stb_image: keep ours private */
#define STBI_FAILURE_USERMSG
#if defined(__GNUC__)
#pragma GCC diagnostic push
#pragma GCC diagnostic ignored "-Wunused-function"
#pragma GCC diagnostic ignored "-Wsign-compare"
#pragma GCC diagnostic ignored "-Wshadow"
#pragma GCC diagnostic ignored "-Wcast-qual"
#pragma GCC diagnostic ignored "-Wdouble-promotion"
#pragma GCC diagnostic ignored "-Wconversion"
#pragma GCC diagnostic ignored "-Wmissing-prototypes"
#pragma GCC diagnostic ignored "-Wimplicit-fallthrough"
#endif
#include <stb/stb_image.h>
#if defined(__GNUC__)
#pragma GCC diagnostic pop
/* stb's static functions this file does not call are reported at the end of the file */
#pragma GCC diagnostic ignored "-Wunused-function"
#endif

static bool take(stbi_uc *px, int w, int h, view_image *out)
{
    if (!px || w <= 0 || h <= 0 || w > 16384 || h > 16384) {
        stbi_image_free(px);
        return false;
    }
    size_t n = (size_t)w * (size_t)h * 4;
    out->rgba = malloc(n);
    if (out->rgba) memcpy(out->rgba, px, n);
    stbi_image_free(px);
    out->width = (uint32_t)w;
    out->height = (uint32_t)h;
    return out->rgba != NULL;
}

bool view_image_load_file(const char *path, view_image *out)
{
    int w = 0, h = 0, c = 0;
    stbi_uc *px = stbi_load(path, &w, &h, &c, 4); /* before w and h are read */
    return take(px, w, h, out);
}

bool view_image_load_memory(const void *data, size_t size, view_image *out)
{
    if (size > 0x7FFFFFFF) return false;
    int w = 0, h = 0, c = 0;
    stbi_uc *px = stbi_load_from_memory(data, (int)size, &w, &h, &c, 4);
    return take(px, w, h, out);
}

void view_image_checker(view_image *out)
{
    out->width = out->height = 64;
    out->rgba = malloc(64 * 64 * 4);
    for (uint32_t y = 0; out->rgba && y < 64; ++y)
        for (uint32_t x = 0; x < 64; ++x) {
            uint8_t v = ((x / 8) ^ (y / 8)) & 1 ? 235 : 150;
            uint8_t *p = out->rgba + (y * 64 + x) * 4;
            p[0] = p[1] = p[2] = v;
            p[3] = 255;
        }
    snprintf(out->name, sizeof out->name, "checker");
}

void view_image_free(view_image *img)
{
    free(img->rgba);
    img->rgba = NULL;
}
