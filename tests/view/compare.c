/*
 * view_compare: compares a rendered frame with its reference image (both RGBA8 PNG, same size).
 *   view_compare RENDERED.png REFERENCE.png [--tolerance N] [--max-bad PERCENT] [--psnr DB]
 * A pixel is "bad" when any channel differs by more than N (default 16 of 255); the test fails
 * when more than PERCENT of the pixels are bad (default 1) or the PSNR over all channels is
 * below DB (default 30 dB; identical images have infinite PSNR). Why these numbers: lavapipe
 * rasterises deterministically for one LLVM version and vector width, but another CPU or LLVM
 * may round texture filtering and edge coverage differently: that moves a few edge pixels and
 * texels by a few levels, which this passes, while a wrong texture, a missing mesh, a wrong
 * camera or broken lighting changes thousands of pixels by far more, which it does not.
 * Prints the figures; exit 0 on pass, 1 on fail, 2 on unreadable input.
 */
#include <math.h>
#include <png.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

typedef struct img {
    png_uint_32 w, h;
    png_bytep px;
} img;

static int load(const char *path, img *out)
{
    png_image pi;
    memset(&pi, 0, sizeof pi);
    pi.version = PNG_IMAGE_VERSION;
    if (!png_image_begin_read_from_file(&pi, path)) return 0;
    pi.format = PNG_FORMAT_RGBA;
    out->w = pi.width;
    out->h = pi.height;
    out->px = malloc(PNG_IMAGE_SIZE(pi));
    if (!out->px || !png_image_finish_read(&pi, NULL, out->px, 0, NULL)) return 0;
    return 1;
}

int main(int argc, char **argv)
{
    if (argc < 3) {
        fprintf(stderr, "usage: view_compare RENDERED.png REFERENCE.png [--tolerance N] [--max-bad PERCENT] [--psnr DB]\n");
        return 2;
    }
    int tol = 16;
    double max_bad = 1.0, psnr_min = 30.0;
    for (int i = 3; i + 1 < argc; i += 2) {
        if (!strcmp(argv[i], "--tolerance")) tol = atoi(argv[i + 1]);
        else if (!strcmp(argv[i], "--max-bad")) max_bad = atof(argv[i + 1]);
        else if (!strcmp(argv[i], "--psnr")) psnr_min = atof(argv[i + 1]);
    }
    img a = {0}, b = {0};
    if (!load(argv[1], &a) || !load(argv[2], &b)) {
        fprintf(stderr, "view_compare: cannot read %s or %s\n", argv[1], argv[2]);
        return 2;
    }
    if (a.w != b.w || a.h != b.h) {
        printf("view_compare: %ux%u against %ux%u\n", a.w, a.h, b.w, b.h);
        return 1;
    }
    size_t n = (size_t)a.w * a.h, bad = 0;
    double se = 0;
    int worst = 0;
    for (size_t i = 0; i < n; ++i) {
        int m = 0;
        for (int c = 0; c < 4; ++c) {
            int d = abs((int)a.px[i * 4 + c] - (int)b.px[i * 4 + c]);
            se += (double)d * d;
            if (d > m) m = d;
        }
        if (m > tol) bad++;
        if (m > worst) worst = m;
    }
    double mse = se / ((double)n * 4), psnr = mse > 0 ? 10.0 * log10(255.0 * 255.0 / mse) : INFINITY;
    double bad_pct = 100.0 * (double)bad / (double)n;
    int pass = bad_pct <= max_bad && psnr >= psnr_min;
    printf("view_compare: %s vs %s: %ux%u, %zu pixels off by more than %d (%.3f%%, limit %.2f%%), largest %d, "
           "PSNR %.2f dB (floor %.1f): %s\n", argv[1], argv[2], a.w, a.h, bad, tol, bad_pct, max_bad, worst, psnr,
           psnr_min, pass ? "pass" : "FAIL");
    free(a.px);
    free(b.px);
    return pass ? 0 : 1;
}
