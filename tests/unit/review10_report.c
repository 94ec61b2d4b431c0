/*
 * Review 10: sedx-report's memory map (tools/report/memory_map.c) beyond tests/unit/report.c:
 * one block of 2^64 - 1 bytes, thousands of allocations in one row (the last one drawn wins a
 * pixel), the 4096-row limit exactly, names that need escaping (and invalid UTF-8) in the dump,
 * dedicated allocations whose sizes add up past 2^64, and a width too small to hold a bar.
 */
#include "test_util.h"

#include "../../tools/report/memory_map.c"

#define BAR 1000u
#define WIDTH (REPORT_MARGIN * 3u + REPORT_SWATCH + BAR)
#define LEFT (REPORT_MARGIN * 2u + REPORT_SWATCH)

static void expect_pixel(const report_image *img, unsigned x, unsigned y, rgb8 want, const char *what)
{
    assert_true(x < img->width && y < img->height);
    const uint8_t *p = &img->rgb[((size_t)y * img->width + x) * 3u];
    if (p[0] != want.r || p[1] != want.g || p[2] != want.b)
        fail_msg("%s: pixel (%u, %u) is %u,%u,%u, expected %u,%u,%u", what, x, y, p[0], p[1], p[2], want.r, want.g,
                 want.b);
}

static unsigned row_y(unsigned row) { return REPORT_MARGIN + row * REPORT_ROW_PITCH + REPORT_ROW_HEIGHT / 2u; }

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
        cmocka_unit_test(test_huge_block),
        cmocka_unit_test(test_thousands_of_allocations),
        cmocka_unit_test(test_row_limit),
        cmocka_unit_test(test_dedicated_sizes_past_2_64),
        cmocka_unit_test(test_width_without_bar),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
