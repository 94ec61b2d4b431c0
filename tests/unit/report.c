/*
 * sedx-report memory (tools/report/memory_map.c): a dump written here is drawn, and pixels at
 * known places must have the colour of what lies there (allocation kind, free space, the edge
 * between neighbours, the memory type's swatch, a hollow swatch for dedicated memory); the PNG
 * read back through libpng must equal the pixels; bad input is refused with a message.
 */
#include "test_util.h"

#include "../../tools/report/memory_map.c"

#include <unistd.h>

/* A bar exactly 1000 pixels wide: width = margin + swatch + margin + 1000 + margin. */
#define BAR 1000u
#define WIDTH (REPORT_MARGIN * 3u + REPORT_SWATCH + BAR)
#define LEFT (REPORT_MARGIN * 2u + REPORT_SWATCH)

static const char k_dump[] =
    "{\"device\":\"test\",\"types\":["
    " {\"index\":0,\"heap\":0,\"blocks\":["
    "   {\"id\":0,\"size\":1000,\"allocations\":["
    "     {\"offset\":0,\"size\":100,\"kind\":\"buffer\"},"
    "     {\"offset\":100,\"size\":50,\"kind\":\"buffer\"},"
    "     {\"offset\":500,\"size\":250,\"kind\":\"image-optimal\"},"
    "     {\"offset\":990,\"size\":10,\"kind\":\"no such kind\"}]},"
    "   {\"id\":1,\"size\":1000000000,\"allocations\":["
    "     {\"offset\":500000000,\"size\":1,\"kind\":\"image-linear\"}]}],"
    "  \"dedicated\":[]},"
    " {\"index\":3,\"heap\":1,\"blocks\":[],"
    "  \"dedicated\":[{\"offset\":0,\"size\":300,\"kind\":\"image-linear\"},"
    "                {\"offset\":0,\"size\":100,\"kind\":\"buffer\"}]}]}";

static void expect_pixel(const report_image *img, unsigned x, unsigned y, rgb8 want, const char *what)
{
    assert_true(x < img->width && y < img->height);
    const uint8_t *p = &img->rgb[((size_t)y * img->width + x) * 3u];
    if (p[0] != want.r || p[1] != want.g || p[2] != want.b)
        fail_msg("%s: pixel (%u, %u) is %u,%u,%u, expected %u,%u,%u", what, x, y, p[0], p[1], p[2], want.r, want.g,
                 want.b);
}

static unsigned row_y(unsigned row) { return REPORT_MARGIN + row * REPORT_ROW_PITCH + REPORT_ROW_HEIGHT / 2u; }

static void test_pixels(void **state)
{
    (void)state;
    report_image img;
    char err[256] = "";
    assert_int_equal(report_memory_map(k_dump, WIDTH, &img, err, sizeof err), 0);
    assert_int_equal(img.rows, 3); /* two blocks, one dedicated row */
    assert_int_equal(img.width, WIDTH);
    assert_int_equal(img.height, REPORT_MARGIN * 2u + 3u * REPORT_ROW_PITCH);
    /* block 0: one pixel per byte */
    unsigned y = row_y(0);
    expect_pixel(&img, REPORT_MARGIN + 1u, y, report_type_color(0), "type 0 swatch");
    expect_pixel(&img, LEFT + 50u, y, report_kind_color("buffer"), "buffer at 50");
    expect_pixel(&img, LEFT + 99u, y, k_edge, "edge between the two buffers");
    expect_pixel(&img, LEFT + 120u, y, report_kind_color("buffer"), "second buffer");
    expect_pixel(&img, LEFT + 300u, y, k_free, "free at 300");
    expect_pixel(&img, LEFT + 600u, y, report_kind_color("image-optimal"), "optimal image at 600");
    expect_pixel(&img, LEFT + 760u, y, k_free, "free at 760");
    expect_pixel(&img, LEFT + 995u, y, report_kind_color(NULL), "unknown kind at 995");
    expect_pixel(&img, LEFT + 50u, y - REPORT_ROW_HEIGHT / 2u - 1u, k_background, "gap above the row");
    /* block 1: a 1-byte allocation still gets a pixel, in the middle */
    y = row_y(1);
    expect_pixel(&img, LEFT + 500u, y, report_kind_color("image-linear"), "1-byte allocation");
    expect_pixel(&img, LEFT + 499u, y, k_free, "left of it");
    expect_pixel(&img, LEFT + 501u, y, k_free, "right of it");
    /* type 3: dedicated allocations packed, 300 : 100 of the width; a hollow swatch */
    y = row_y(2);
    expect_pixel(&img, REPORT_MARGIN, y, report_type_color(3), "type 3 swatch rim");
    expect_pixel(&img, REPORT_MARGIN + REPORT_SWATCH / 2u, y, k_background, "hollow swatch");
    expect_pixel(&img, LEFT + 100u, y, report_kind_color("image-linear"), "first dedicated");
    expect_pixel(&img, LEFT + 900u, y, report_kind_color("buffer"), "second dedicated");
    report_image_free(&img);
}

static void test_png_round_trip(void **state)
{
    (void)state;
    report_image img;
    char err[256] = "";
    assert_int_equal(report_memory_map(k_dump, 300, &img, err, sizeof err), 0);
    char path[] = "/tmp/sedx-report-test-XXXXXX";
    int fd = mkstemp(path);
    assert_true(fd >= 0);
    close(fd);
    assert_int_equal(report_write_png(&img, path, err, sizeof err), 0);
    png_image pi;
    memset(&pi, 0, sizeof pi);
    pi.version = PNG_IMAGE_VERSION;
    assert_true(png_image_begin_read_from_file(&pi, path));
    pi.format = PNG_FORMAT_RGB;
    assert_int_equal(pi.width, img.width);
    assert_int_equal(pi.height, img.height);
    uint8_t *back = malloc(PNG_IMAGE_SIZE(pi));
    assert_non_null(back);
    memset(back, 0x5A, PNG_IMAGE_SIZE(pi));
    assert_true(png_image_finish_read(&pi, NULL, back, 0, NULL));
    assert_memory_equal(back, img.rgb, (size_t)img.width * img.height * 3u);
    free(back);
    unlink(path);
    /* a path that cannot be written */
    assert_int_equal(report_write_png(&img, "/nonexistent-dir/x.png", err, sizeof err), -1);
    assert_non_null(strstr(err, "cannot open"));
    report_image_free(&img);
}

static void test_bad_input(void **state)
{
    (void)state;
    report_image img;
    char err[256];
    assert_int_equal(report_memory_map("{not json", 640, &img, err, sizeof err), -1);
    assert_non_null(strstr(err, "not valid JSON"));
    assert_null(img.rgb);
    assert_int_equal(report_memory_map("{\"device\":\"x\"}", 640, &img, err, sizeof err), -1);
    assert_non_null(strstr(err, "not a sedx memory dump"));
    assert_int_equal(report_memory_map(k_dump, 8, &img, err, sizeof err), -1);
    assert_non_null(strstr(err, "width"));
    /* odd values are drawn without harm: negative, missing and past-the-end offsets and sizes */
    static const char odd[] = "{\"types\":[{\"index\":1,\"blocks\":[{\"size\":100,\"allocations\":["
                              "{\"offset\":-5,\"size\":10},{\"size\":1e30},{\"offset\":90,\"size\":50},"
                              "{\"offset\":500,\"size\":5},\"junk\",{}]},{\"allocations\":7}],\"dedicated\":3}]}";
    assert_int_equal(report_memory_map(odd, 200, &img, err, sizeof err), 0);
    assert_int_equal(img.rows, 2);
    report_image_free(&img);
    /* an empty dump: one empty row's worth of background */
    assert_int_equal(report_memory_map("{\"types\":[]}", 64, &img, err, sizeof err), 0);
    assert_int_equal(img.rows, 0);
    report_image_free(&img);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_pixels),
        cmocka_unit_test(test_png_round_trip),
        cmocka_unit_test(test_bad_input),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
