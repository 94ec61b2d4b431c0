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

/* ------------------------------------------------------------------------------------------
 * Review 10: one block of 2^64 - 1 bytes, thousands of allocations in one row (the last one
 * drawn wins a pixel), the 4096-row limit exactly, names that need escaping (and invalid UTF-8)
 * in the dump, dedicated allocations whose sizes add up past 2^64, a width too small for a bar.
 * ---------------------------------------------------------------------------------------- */
static void test_huge_block(void **state)
{
    (void)state;
    /* 2^64 - 1 bytes; a quarter of it at the middle */
    static const char dump[] =
        "{\"types\":[{\"index\":2,\"blocks\":[{\"size\":18446744073709551615,\"allocations\":["
        "{\"offset\":9223372036854775808,\"size\":4611686018427387904,\"kind\":\"buffer\","
        "\"name\":\"q\\\"b\\\\c\\u0001\\u001f\\ud83d\\ude00 \xff\xfe\"}]}],\"dedicated\":[]}]}";
    report_image img;
    char err[256] = "";
    assert_int_equal(report_memory_map(dump, WIDTH, &img, err, sizeof err), 0);
    assert_int_equal(img.rows, 1);
    unsigned y = row_y(0);
    expect_pixel(&img, REPORT_MARGIN, y, report_type_color(2), "swatch");
    expect_pixel(&img, LEFT + 499u, y, k_free, "free before the middle");
    expect_pixel(&img, LEFT + 500u, y, report_kind_color("buffer"), "buffer at the middle");
    expect_pixel(&img, LEFT + 748u, y, report_kind_color("buffer"), "buffer up to three quarters");
    expect_pixel(&img, LEFT + 749u, y, k_edge, "its edge");
    expect_pixel(&img, LEFT + 750u, y, k_free, "free after it");
    expect_pixel(&img, LEFT + BAR - 1u, y, k_free, "free at the end");
    report_image_free(&img);
}

static void test_thousands_of_allocations(void **state)
{
    (void)state;
    enum { N = 3000 };
    /* a block of 4000 bytes, 4 bytes a pixel; 1-byte allocations at 0 .. N-1, kinds alternate:
     * each pixel below 750 is drawn last by the odd offset 4x+3, an optimal image */
    size_t cap = 64u + (size_t)N * 64u, len = 0;
    char *dump = malloc(cap);
    assert_non_null(dump);
    len += (size_t)snprintf(dump + len, cap - len, "{\"types\":[{\"index\":0,\"blocks\":[{\"size\":4000,\"allocations\":[");
    for (int i = 0; i < N; ++i)
        len += (size_t)snprintf(dump + len, cap - len, "%s{\"offset\":%d,\"size\":1,\"kind\":\"%s\"}", i ? "," : "", i,
                                i & 1 ? "image-optimal" : "buffer");
    len += (size_t)snprintf(dump + len, cap - len, "]}],\"dedicated\":[]}]}");
    assert_true(len < cap);
    report_image img;
    char err[256] = "";
    assert_int_equal(report_memory_map(dump, WIDTH, &img, err, sizeof err), 0);
    assert_int_equal(img.rows, 1);
    unsigned y = row_y(0);
    for (unsigned x = 0; x < 750u; ++x) expect_pixel(&img, LEFT + x, y, report_kind_color("image-optimal"), "pixel");
    for (unsigned x = 750u; x < BAR; ++x) expect_pixel(&img, LEFT + x, y, k_free, "free");
    report_image_free(&img);
    free(dump);
}

static char *blocks_dump(unsigned blocks)
{
    size_t cap = 64u + (size_t)blocks * 32u, len = 0;
    char *dump = malloc(cap);
    assert_non_null(dump);
    len += (size_t)snprintf(dump + len, cap - len, "{\"types\":[{\"index\":0,\"blocks\":[");
    for (unsigned i = 0; i < blocks; ++i) len += (size_t)snprintf(dump + len, cap - len, "%s{\"size\":64}", i ? "," : "");
    len += (size_t)snprintf(dump + len, cap - len, "],\"dedicated\":[]}]}");
    assert_true(len < cap);
    return dump;
}

static void test_row_limit(void **state)
{
    (void)state;
    report_image img;
    char err[256] = "";
    char *dump = blocks_dump(4096);
    assert_int_equal(report_memory_map(dump, 64, &img, err, sizeof err), 0);
    assert_int_equal(img.rows, 4096);
    assert_int_equal(img.height, REPORT_MARGIN * 2u + 4096u * REPORT_ROW_PITCH);
    expect_pixel(&img, LEFT + 1u, row_y(4095), k_free, "last row: an empty block");
    report_image_free(&img);
    free(dump);
    dump = blocks_dump(4097);
    assert_int_equal(report_memory_map(dump, 64, &img, err, sizeof err), -1);
    assert_string_equal(err, "4097 rows: too many blocks to draw");
    assert_null(img.rgb);
    free(dump);
}

/* Two dedicated allocations of 2^63 bytes each: the row's total is 2^64, past uint64_t; each
 * still gets its half of the row. */
static void test_dedicated_sizes_past_2_64(void **state)
{
    (void)state;
    static const char dump[] =
        "{\"types\":[{\"index\":1,\"blocks\":[],\"dedicated\":["
        "{\"offset\":0,\"size\":9223372036854775808,\"kind\":\"buffer\"},"
        "{\"offset\":0,\"size\":9223372036854775808,\"kind\":\"image-linear\"},"
        "{\"offset\":0,\"size\":1e30,\"kind\":\"image-optimal\"}]}]}";
    report_image img;
    char err[256] = "";
    assert_int_equal(report_memory_map(dump, WIDTH, &img, err, sizeof err), 0);
    assert_int_equal(img.rows, 1);
    unsigned y = row_y(0);
    /* the sum saturates at 2^64 - 1: the first two fill the row, the third starts past its end */
    expect_pixel(&img, LEFT + 250u, y, report_kind_color("buffer"), "first half");
    expect_pixel(&img, LEFT + 750u, y, report_kind_color("image-linear"), "second half");
    expect_pixel(&img, LEFT + 5u, y, report_kind_color("buffer"), "nothing wraps back to the start");
    report_image_free(&img);
}

/* A width with no room for the bar (margins and swatch take 40 pixels) is refused. */
static void test_width_without_bar(void **state)
{
    (void)state;
    static const char dump[] = "{\"types\":[{\"index\":0,\"blocks\":[{\"size\":100,\"allocations\":["
                               "{\"offset\":0,\"size\":100,\"kind\":\"buffer\"}]}],\"dedicated\":[]}]}";
    report_image img;
    char err[256] = "";
    for (unsigned w = 16u; w < LEFT + REPORT_MARGIN + 16u; ++w) {
        if (report_memory_map(dump, w, &img, err, sizeof err) != -1) fail_msg("width %u accepted", w);
        assert_non_null(strstr(err, "width"));
        assert_null(img.rgb);
    }
    assert_int_equal(report_memory_map(dump, LEFT + REPORT_MARGIN + 16u, &img, err, sizeof err), 0);
    unsigned y = row_y(0);
    expect_pixel(&img, LEFT - 1u, y, k_background, "margin before the bar");
    for (unsigned x = 0; x < 15u; ++x) expect_pixel(&img, LEFT + x, y, report_kind_color("buffer"), "bar");
    expect_pixel(&img, LEFT + 15u, y, k_edge, "edge");
    expect_pixel(&img, LEFT + 16u, y, k_background, "margin after the bar");
    report_image_free(&img);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_pixels),
        cmocka_unit_test(test_png_round_trip),
        cmocka_unit_test(test_bad_input),
        cmocka_unit_test(test_huge_block),
        cmocka_unit_test(test_thousands_of_allocations),
        cmocka_unit_test(test_row_limit),
        cmocka_unit_test(test_dedicated_sizes_past_2_64),
        cmocka_unit_test(test_width_without_bar),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
