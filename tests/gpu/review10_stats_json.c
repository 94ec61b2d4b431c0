/*
 * Review 10: sedx_memory_dump_json and sedx_stats_json are JSON a strict parser accepts
 * (RFC 8259: UTF-8 text) whatever bytes the application put in its names, and every figure in
 * them is the live state:
 *  - names with quotes, backslashes, every control byte, DEL, and invalid UTF-8 (stray
 *    continuation bytes, a truncated sequence, an overlong form, a surrogate, 0xFF): the text
 *    is valid UTF-8 and parses with cJSON; valid names come back byte for byte; in an invalid
 *    one each byte that starts no valid sequence reads back as U+FFFD, the rest unchanged;
 *  - live_buffers / live_images / memory totals against the buffers, images and allocations
 *    created here and sedx_memory_get_stats; each named allocation found once with its size;
 *  - NULL outputs: refused with the documented code and log line, the context keeps working.
 * Nothing here depends on lavapipe's single queue or all-host-visible memory types.
 */
#include "test_util.h"

#include <cjson/cJSON.h>
#include <stdlib.h>
#include <string.h>

/* Strict UTF-8 (no overlong forms, no surrogates, nothing above U+10FFFF). */
static bool utf8_valid(const unsigned char *s, size_t n, size_t *bad_at)
{
    size_t i = 0;
    while (i < n) {
        unsigned c = s[i];
        size_t len;
        unsigned cp, min;
        if (c < 0x80) { i++; continue; }
        if (c >= 0xC2 && c <= 0xDF) { len = 2; cp = c & 0x1F; min = 0x80; }
        else if (c >= 0xE0 && c <= 0xEF) { len = 3; cp = c & 0x0F; min = 0x800; }
        else if (c >= 0xF0 && c <= 0xF4) { len = 4; cp = c & 0x07; min = 0x10000; }
        else goto bad;
        if (i + len > n) goto bad;
        for (size_t k = 1; k < len; ++k) {
            if ((s[i + k] & 0xC0) != 0x80) goto bad;
            cp = (cp << 6) | (s[i + k] & 0x3F);
        }
        if (cp < min || cp > 0x10FFFF || (cp >= 0xD800 && cp <= 0xDFFF)) goto bad;
        i += len;
    }
    return true;
bad:
    *bad_at = i;
    return false;
}

static void expect_utf8(const char *text)
{
    size_t at = 0;
    if (!utf8_valid((const unsigned char *)text, strlen(text), &at))
        fail_msg("JSON text is not valid UTF-8 at byte %zu: ...%.40s", at, text + (at > 20 ? at - 20 : 0));
}

static cJSON *parse_or_fail(const char *text)
{
    cJSON *root = cJSON_Parse(text);
    if (!root) fail_msg("JSON does not parse near: %.80s", cJSON_GetErrorPtr());
    return root;
}

static double jnum(const cJSON *o, const char *key)
{
    const cJSON *v = cJSON_GetObjectItemCaseSensitive(o, key);
    if (!cJSON_IsNumber(v)) fail_msg("\"%s\" is missing or not a number", key);
    return v->valuedouble;
}

#define FFFD "\xEF\xBF\xBD"

/* name as given, name as the JSON must give it back */
static const struct { const char *name, *back; } k_names[] = {
    {"quote \"x\" back\\slash \\\" end", NULL},
    {"ctl \x01\x02\x03\x07\x08\x0B\x0C\x0E\x1A\x1B\x1F del \x7F", NULL},
    {"tab\tnl\ncr\r", NULL},
    {"valid \xC3\xA9 \xE2\x82\xAC \xF0\x9F\x98\x80", NULL},
    {"bad \xFF\xFE x", "bad " FFFD FFFD " x"},
    {"stray \x80\xBF", "stray " FFFD FFFD},
    {"truncated \xE2\x82", "truncated " FFFD FFFD},
    {"overlong \xC0\xAF", "overlong " FFFD FFFD},
    {"surrogate \xED\xA0\x80!", "surrogate " FFFD FFFD FFFD "!"},
    {"above \xF4\x90\x80\x80", "above " FFFD FFFD FFFD FFFD},
    {"mixed \xC3\xA9\xC3 \"\\\x01", "mixed \xC3\xA9" FFFD " \"\\\x01"},
    /* longer than the allocator's inline copy (40 bytes), invalid byte at the very end */
    {"a long name that lives on the heap, quoted \"here\" and ending badly \xC3",
     "a long name that lives on the heap, quoted \"here\" and ending badly " FFFD},
};
#define NAMES (sizeof k_names / sizeof k_names[0])

static const char *back_of(size_t i) { return k_names[i].back ? k_names[i].back : k_names[i].name; }

/* Every allocation of the dump (blocks and dedicated), by name: how many, and the last one. */
static int find_allocations(const cJSON *memory, const char *name, const cJSON **found)
{
    int n = 0;
    const cJSON *t, *b, *a;
    cJSON_ArrayForEach(t, cJSON_GetObjectItemCaseSensitive(memory, "types"))
    {
        cJSON_ArrayForEach(b, cJSON_GetObjectItemCaseSensitive(t, "blocks"))
        {
            cJSON_ArrayForEach(a, cJSON_GetObjectItemCaseSensitive(b, "allocations"))
            {
                const cJSON *nm = cJSON_GetObjectItemCaseSensitive(a, "name");
                if (cJSON_IsString(nm) && strcmp(nm->valuestring, name) == 0) { *found = a; ++n; }
            }
        }
        cJSON_ArrayForEach(a, cJSON_GetObjectItemCaseSensitive(t, "dedicated"))
        {
            const cJSON *nm = cJSON_GetObjectItemCaseSensitive(a, "name");
            if (cJSON_IsString(nm) && strcmp(nm->valuestring, name) == 0) { *found = a; ++n; }
        }
    }
    return n;
}

static void check_total(const cJSON *memory, const sedx_memory_stats *s)
{
    const cJSON *total = cJSON_GetObjectItemCaseSensitive(memory, "total");
    assert_true(jnum(total, "allocation_count") == (double)s->total.allocation_count);
    assert_true(jnum(total, "allocation_bytes") == (double)s->total.allocation_bytes);
    assert_true(jnum(total, "block_bytes") == (double)s->total.block_bytes);
    assert_true(jnum(total, "block_count") == (double)s->total.block_count);
    assert_true(jnum(total, "dedicated_count") == (double)s->total.dedicated_count);
    assert_true(jnum(memory, "device_memory_count") == (double)s->device_memory_count);
}

static void check_names(const cJSON *memory, const uint64_t *sizes, const char *kind)
{
    for (size_t i = 0; i < NAMES; ++i) {
        const cJSON *a = NULL;
        int n = find_allocations(memory, back_of(i), &a);
        if (n != 1) fail_msg("name %zu (\"%s\"): found %d times, expected once", i, back_of(i), n);
        assert_true(jnum(a, "size") == (double)sizes[i]);
        const cJSON *k = cJSON_GetObjectItemCaseSensitive(a, "kind");
        assert_true(cJSON_IsString(k));
        assert_string_equal(k->valuestring, kind);
    }
}

static void test_names_and_totals(void **state)
{
    (void)state;
    sedx_context *ctx = tu_context(false);
    /* the baseline: whatever the context made for itself */
    const uint32_t buffers0 = sedx_buffer_list(ctx, NULL, NULL), images0 = sedx_image_count(ctx);
    sedx_memory_stats s0;
    assert_int_equal(sedx_memory_get_stats(ctx, &s0), SEDX_SUCCESS);

    sedx_allocation alloc[NAMES];
    uint64_t sizes[NAMES], bytes = 0;
    for (size_t i = 0; i < NAMES; ++i) {
        sedx_allocation_info ai = {0};
        ai.usage = SEDX_MEMORY_USAGE_GPU_ONLY;
        ai.kind = SEDX_ALLOCATION_KIND_BUFFER;
        ai.name = k_names[i].name;
        if (i % 4 == 3) ai.flags |= SEDX_ALLOCATION_DEDICATED;
        sizes[i] = 4096u + 256u * i + (i & 1u); /* odd sizes too */
        VkMemoryRequirements q = {sizes[i], 256, UINT32_MAX};
        assert_int_equal(sedx_memory_allocate(ctx, &ai, &q, &alloc[i]), SEDX_SUCCESS);
        bytes += sizes[i];
    }
    /* buffers and an image with names that need escaping (valid UTF-8: they reach Vulkan) */
    static const char *bufnames[] = {"buffer \"one\"", "buffer \\two\\", "buffer\tthree\x01"};
    sedx_buffer buf[3];
    for (int i = 0; i < 3; ++i)
        assert_int_equal(sedx_buffer_create(ctx, 1000u + (uint64_t)i, SEDX_BUFFER_USAGE_STORAGE,
                                            i == 1 ? SEDX_MEMORY_CPU : SEDX_MEMORY_GPU, bufnames[i], &buf[i]),
                         SEDX_SUCCESS);
    sedx_image_info ii = {0};
    ii.type = SEDX_IMAGE_2D;
    ii.format = VK_FORMAT_R8G8B8A8_UNORM;
    ii.width = 32;
    ii.height = 16;
    ii.name = "image \"\\\"\x1F";
    sedx_image img;
    assert_int_equal(sedx_image_create(ctx, &ii, &img), SEDX_SUCCESS);

    sedx_memory_stats s;
    assert_int_equal(sedx_memory_get_stats(ctx, &s), SEDX_SUCCESS);
    /* this test's raw allocations are in the totals exactly (the buffers and image add 4 more) */
    assert_int_equal(s.total.allocation_count, s0.total.allocation_count + NAMES + 4u);
    assert_true(s.total.allocation_bytes >= s0.total.allocation_bytes + bytes + 1000u + 1001u + 1002u + 32u * 16u * 4u);

    /* the allocator's dump */
    char *dump = NULL;
    assert_int_equal(sedx_memory_dump_json(ctx, &dump), SEDX_SUCCESS);
    expect_utf8(dump);
    cJSON *mem = parse_or_fail(dump);
    check_total(mem, &s);
    check_names(mem, sizes, "buffer");
    for (int i = 0; i < 3; ++i) {
        const cJSON *a = NULL;
        assert_int_equal(find_allocations(mem, bufnames[i], &a), 1);
        assert_true(jnum(a, "size") >= 1000.0 + i);
    }
    const cJSON *ia = NULL;
    assert_int_equal(find_allocations(mem, ii.name, &ia), 1);
    assert_string_equal(cJSON_GetObjectItemCaseSensitive(ia, "kind")->valuestring, "image-optimal");
    cJSON_Delete(mem);
    sedx_memory_free_string(dump);

    /* the whole statistics document */
    char *json = NULL;
    assert_int_equal(sedx_stats_json(ctx, &json), SEDX_SUCCESS);
    expect_utf8(json);
    cJSON *root = parse_or_fail(json);
    assert_true(jnum(root, "live_buffers") == (double)(buffers0 + 3u));
    assert_true(jnum(root, "live_images") == (double)(images0 + 1u));
    const cJSON *dev = cJSON_GetObjectItemCaseSensitive(root, "device");
    assert_true(cJSON_IsString(dev));
    const cJSON *memory = cJSON_GetObjectItemCaseSensitive(root, "memory");
    assert_true(cJSON_IsObject(memory));
    assert_string_equal(cJSON_GetObjectItemCaseSensitive(memory, "device")->valuestring, dev->valuestring);
    check_total(memory, &s);
    check_names(memory, sizes, "buffer");
    for (const char *k = "transfer\0readback_async\0frames\0"; *k; k += strlen(k) + 1)
        assert_true(cJSON_IsObject(cJSON_GetObjectItemCaseSensitive(root, k)));
    cJSON_Delete(root);
    sedx_memory_free_string(json);

    /* everything released: back to the baseline counts, and the names are gone */
    for (size_t i = 0; i < NAMES; ++i) assert_int_equal(sedx_memory_free(ctx, alloc[i]), SEDX_SUCCESS);
    for (int i = 0; i < 3; ++i) sedx_buffer_release(&buf[i]);
    sedx_image_release(&img);
    assert_int_equal(sedx_context_wait_idle(ctx), SEDX_SUCCESS);
    assert_int_equal(sedx_stats_json(ctx, &json), SEDX_SUCCESS);
    expect_utf8(json);
    root = parse_or_fail(json);
    assert_true(jnum(root, "live_buffers") == (double)buffers0);
    assert_true(jnum(root, "live_images") == (double)images0);
    assert_int_equal(sedx_memory_get_stats(ctx, &s), SEDX_SUCCESS);
    assert_int_equal(s.total.allocation_count, s0.total.allocation_count);
    memory = cJSON_GetObjectItemCaseSensitive(root, "memory");
    check_total(memory, &s);
    const cJSON *a = NULL;
    for (size_t i = 0; i < NAMES; ++i) assert_int_equal(find_allocations(memory, back_of(i), &a), 0);
    cJSON_Delete(root);
    sedx_memory_free_string(json);
    tu_context_destroy(ctx);
}

/* Renaming to a bad name and back: the dump follows the live name. */
static void test_rename(void **state)
{
    (void)state;
    sedx_context *ctx = tu_context(false);
    sedx_allocation_info ai = {0};
    ai.usage = SEDX_MEMORY_USAGE_GPU_ONLY;
    ai.name = "first";
    VkMemoryRequirements q = {12345, 16, UINT32_MAX};
    sedx_allocation a;
    assert_int_equal(sedx_memory_allocate(ctx, &ai, &q, &a), SEDX_SUCCESS);
    assert_int_equal(sedx_memory_set_name(ctx, a, "\xC3\x28 renamed \x22"), SEDX_SUCCESS);
    char *dump = NULL;
    assert_int_equal(sedx_memory_dump_json(ctx, &dump), SEDX_SUCCESS);
    expect_utf8(dump);
    cJSON *mem = parse_or_fail(dump);
    const cJSON *f = NULL;
    assert_int_equal(find_allocations(mem, FFFD "( renamed \"", &f), 1);
    assert_true(jnum(f, "size") == 12345.0);
    assert_int_equal(find_allocations(mem, "first", &f), 0);
    cJSON_Delete(mem);
    sedx_memory_free_string(dump);
    assert_int_equal(sedx_memory_free(ctx, a), SEDX_SUCCESS);
    tu_context_destroy(ctx);
}

static void test_null_outputs(void **state)
{
    (void)state;
    sedx_context *ctx = tu_context(false);
    tu_log_capture();
    assert_int_equal(sedx_stats_json(ctx, NULL), SEDX_ERROR_INVALID_ARGUMENT);
    assert_true(tu_log_contains("sedx_stats_json: out_json is NULL"));
    assert_int_equal(sedx_memory_dump_json(ctx, NULL), SEDX_ERROR_INVALID_ARGUMENT);
    assert_true(tu_log_contains("sedx_memory_dump_json: out_json is NULL"));
    char *json = (char *)&json; /* untouched on failure */
    assert_int_equal(sedx_stats_json(NULL, &json), SEDX_ERROR_INVALID_ARGUMENT);
    assert_true(tu_log_contains("sedx_stats_json: ctx is NULL"));
    assert_ptr_equal(json, (char *)&json);
    assert_int_equal(tu_log_count(SEDX_LOG_ERROR), 3);
    sedx_set_logger(NULL, NULL);
    sedx_set_log_level(SEDX_LOG_WARN);
    /* the context keeps working */
    json = NULL;
    assert_int_equal(sedx_stats_json(ctx, &json), SEDX_SUCCESS);
    cJSON *root = parse_or_fail(json);
    cJSON_Delete(root);
    sedx_memory_free_string(json);
    tu_context_destroy(ctx);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_names_and_totals),
        cmocka_unit_test(test_rename),
        cmocka_unit_test(test_null_outputs),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
