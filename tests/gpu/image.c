/* Images (docs/images.md): creation, sedx_upload_image, sedx_download_image, mip generation,
 * under the validation layer with synchronization validation. Random texels (never zeros) into
 * every level and layer of images first filled with a poison pattern, read back and compared
 * byte by byte: 2D arrays, a cube, a 3D image, RGBA8, R16F, BC1, depth formats where the device
 * has them; regions with padded rows; images larger than the staging ring; the main and the
 * transfer queue; release while uploads are pending; every bad input with its code and log. */
#include "test_util.h"

#include <math.h>
#include <stdlib.h>
#include <string.h>

#define POISON 0xCD
#define K 1024u

static uint64_t g_rng;

static sedx_context *make_ctx(uint32_t flags, uint64_t ring)
{
    sedx_context *ctx = tu_context(true);
    sedx_transfer_info ti = {0};
    ti.flags = flags;
    ti.staging_size = ring;
    ti.staging_max = ring;
    ti.memcpy_threads = 2;
    assert_int_equal(sedx_transfer_configure(ctx, &ti), SEDX_SUCCESS);
    return ctx;
}

static bool format_ok(sedx_context *ctx, VkFormat f, VkFormatFeatureFlags need)
{
    VkFormatProperties fp;
    vkGetPhysicalDeviceFormatProperties(sedx_context_physical_device(ctx), f, &fp);
    return (fp.optimalTilingFeatures & need) == need;
}

/* Random texels for one level (every layer); depth formats get values in [0, 1]. */
static void fill_level(uint8_t *p, uint64_t bytes, VkFormat f)
{
    tu_fill_random(p, bytes, &g_rng);
    if (f == VK_FORMAT_D32_SFLOAT)
        for (uint64_t i = 0; i + 4 <= bytes; i += 4) {
            float v = (float)(tu_rand(&g_rng) % 1000001u) / 1000000.0f;
            memcpy(p + i, &v, 4);
        }
    for (uint64_t i = 0; i < bytes; ++i) /* never a zero byte where the poison could hide it */
        if (f != VK_FORMAT_D32_SFLOAT && p[i] == 0) p[i] = 0x5A;
}

/* Every level and layer: poison, then random texels; read back and compared. */
static void roundtrip(sedx_context *ctx, const sedx_image_info *ii)
{
    sedx_image img;
    assert_int_equal(sedx_image_create(ctx, ii, &img), SEDX_SUCCESS);
    uint32_t layers = img.array_layers;
    uint8_t **model = calloc(img.mip_levels, sizeof *model);
    for (int pass = 0; pass < 2; ++pass) {
        sedx_image_region *rg = calloc(img.mip_levels, sizeof *rg);
        for (uint32_t m = 0; m < img.mip_levels; ++m) {
            uint64_t bytes = sedx_image_mip_size(&img, m) * layers;
            assert_true(bytes > 0);
            if (!model[m]) model[m] = malloc(bytes);
            if (pass == 0) memset(model[m], POISON, bytes);
            else fill_level(model[m], bytes, img.format);
            rg[m].data = model[m];
            rg[m].mip_level = m;
            rg[m].layer_count = layers;
        }
        assert_int_equal(sedx_upload_image(ctx, &img, rg, img.mip_levels, NULL), SEDX_SUCCESS);
        free(rg);
    }
    assert_int_equal(sedx_upload_flush(ctx), SEDX_SUCCESS);
    for (uint32_t m = 0; m < img.mip_levels; ++m) {
        uint64_t bytes = sedx_image_mip_size(&img, m) * layers;
        uint8_t *back = malloc(bytes);
        memset(back, 0x11, bytes);
        sedx_image_region rg = {0};
        rg.mip_level = m;
        rg.layer_count = layers;
        assert_int_equal(sedx_download_image(ctx, &img, &rg, back), SEDX_SUCCESS);
        if (memcmp(back, model[m], bytes)) {
            uint64_t i = 0;
            while (back[i] == model[m][i]) i++;
            fail_msg("image '%s' format %d level %u: byte %llu of %llu differs (%02x, expected %02x)", ii->name,
                     (int)img.format, m, (unsigned long long)i, (unsigned long long)bytes, back[i], model[m][i]);
        }
        free(back);
        free(model[m]);
    }
    free(model);
    assert_int_equal(sedx_image_layout(&img), ii->usage & VK_IMAGE_USAGE_SAMPLED_BIT || !ii->usage
                                                  ? ((ii->format >= VK_FORMAT_D16_UNORM && ii->format <= VK_FORMAT_D32_SFLOAT_S8_UINT)
                                                         ? VK_IMAGE_LAYOUT_DEPTH_STENCIL_READ_ONLY_OPTIMAL
                                                         : VK_IMAGE_LAYOUT_SHADER_READ_ONLY_OPTIMAL)
                                                  : VK_IMAGE_LAYOUT_GENERAL);
    sedx_image_release(&img);
}

static void formats_in(sedx_context *ctx)
{
    sedx_image_info ii = {0};
    ii.format = VK_FORMAT_R8G8B8A8_UNORM;
    ii.width = 37;
    ii.height = 23;
    ii.array_layers = 3;
    ii.mip_levels = SEDX_MIP_LEVELS_FULL;
    ii.name = "rgba8 array";
    roundtrip(ctx, &ii);

    ii = (sedx_image_info){0};
    ii.type = SEDX_IMAGE_CUBE;
    ii.format = VK_FORMAT_R8G8B8A8_SRGB;
    ii.width = ii.height = 16;
    ii.mip_levels = SEDX_MIP_LEVELS_FULL;
    ii.name = "cube";
    roundtrip(ctx, &ii);

    ii = (sedx_image_info){0};
    ii.type = SEDX_IMAGE_3D;
    ii.format = VK_FORMAT_R8G8B8A8_UNORM;
    ii.width = 9;
    ii.height = 6;
    ii.depth = 5;
    ii.mip_levels = SEDX_MIP_LEVELS_FULL;
    ii.name = "volume";
    roundtrip(ctx, &ii);

    ii = (sedx_image_info){0};
    ii.format = VK_FORMAT_R16_SFLOAT;
    ii.width = 33;
    ii.height = 65;
    ii.array_layers = 2;
    ii.mip_levels = 4;
    ii.name = "r16f";
    roundtrip(ctx, &ii);

    const VkFormatFeatureFlags xfer = VK_FORMAT_FEATURE_TRANSFER_DST_BIT | VK_FORMAT_FEATURE_TRANSFER_SRC_BIT |
                                      VK_FORMAT_FEATURE_SAMPLED_IMAGE_BIT;
    if (format_ok(ctx, VK_FORMAT_BC1_RGBA_UNORM_BLOCK, xfer)) {
        ii = (sedx_image_info){0};
        ii.format = VK_FORMAT_BC1_RGBA_UNORM_BLOCK;
        ii.width = 30; /* not a multiple of the block: the edge blocks are partial */
        ii.height = 18;
        ii.array_layers = 2;
        ii.mip_levels = SEDX_MIP_LEVELS_FULL;
        ii.name = "bc1";
        roundtrip(ctx, &ii);
    } else {
        print_message("image: BC1 not supported for sampling/transfer on this device: that case did not run\n");
    }
    const VkFormat depths[] = {VK_FORMAT_D16_UNORM, VK_FORMAT_D32_SFLOAT};
    for (size_t i = 0; i < 2; ++i) {
        if (!format_ok(ctx, depths[i], xfer | VK_FORMAT_FEATURE_DEPTH_STENCIL_ATTACHMENT_BIT)) {
            print_message("image: depth format %d not supported: that case did not run\n", (int)depths[i]);
            continue;
        }
        ii = (sedx_image_info){0};
        ii.format = depths[i];
        ii.width = 19;
        ii.height = 11;
        ii.mip_levels = 3;
        ii.usage = VK_IMAGE_USAGE_SAMPLED_BIT | VK_IMAGE_USAGE_DEPTH_STENCIL_ATTACHMENT_BIT;
        ii.name = "depth";
        roundtrip(ctx, &ii);
    }
}

/* Every format, default ring, on whatever queue sedx picks (the transfer queue where the device
 * has one), and again on the main queue only. */
static void test_formats(void **state)
{
    (void)state;
    static const uint32_t flags[] = {0, SEDX_TRANSFER_NO_TRANSFER_QUEUE};
    for (size_t i = 0; i < 2; ++i) {
        sedx_context *ctx = make_ctx(flags[i], 0);
        formats_in(ctx);
        sedx_transfer_stats st;
        assert_int_equal(sedx_transfer_get_stats(ctx, &st), SEDX_SUCCESS);
        assert_true(st.image_uploads > 0 && st.image_downloads > 0 && st.image_copy_regions > 0);
        /* colour images go to the transfer-only queue where there is one (and nowhere else) */
        if (flags[i] == 0 && sedx_context_has_transfer_queue(ctx)) assert_true(st.image_transfer_queue_regions > 0);
        else assert_int_equal(st.image_transfer_queue_regions, 0);
        assert_int_equal(sedx_image_count(ctx), 0);
        tu_context_destroy(ctx);
    }
}

/* Images much larger than a 64 KiB ring stream through it (rows split, several batches). Also an
 * EXCLUSIVE image (main queue) next to a concurrent one. */
static void test_larger_than_ring(void **state)
{
    (void)state;
    sedx_context *ctx = make_ctx(0, 64 * K);
    sedx_image_info ii = {0};
    ii.format = VK_FORMAT_R8G8B8A8_UNORM;
    ii.width = 300;
    ii.height = 200; /* 234 KiB at level 0 */
    ii.array_layers = 2;
    ii.mip_levels = SEDX_MIP_LEVELS_FULL;
    ii.name = "big";
    roundtrip(ctx, &ii);
    ii.flags = SEDX_IMAGE_EXCLUSIVE;
    ii.name = "big exclusive";
    roundtrip(ctx, &ii);
    ii = (sedx_image_info){0};
    ii.type = SEDX_IMAGE_1D;
    ii.format = VK_FORMAT_R32G32B32A32_SFLOAT;
    ii.width = 4096; /* one row: 64 KiB, a whole ring */
    ii.name = "wide 1D";
    sedx_image img;
    assert_int_equal(sedx_image_create(ctx, &ii, &img), SEDX_SUCCESS);
    uint8_t *d = malloc(64 * K);
    tu_fill_random(d, 64 * K, &g_rng);
    sedx_image_region rg = {0};
    rg.data = d;
    sedx_result r = sedx_upload_image(ctx, &img, &rg, 1, NULL);
    /* a piece is at least one block row; a row of the whole ring cannot share it with the
     * alignment: refused with OUT_OF_STAGING, or taken when the ring could grow */
    assert_true(r == SEDX_SUCCESS || r == SEDX_ERROR_OUT_OF_STAGING);
    assert_int_equal(sedx_upload_flush(ctx), SEDX_SUCCESS);
    sedx_image_release(&img);
    free(d);
    sedx_transfer_stats st;
    assert_int_equal(sedx_transfer_get_stats(ctx, &st), SEDX_SUCCESS);
    assert_true(st.batches > 4);
    tu_context_destroy(ctx);
}

/* A sub-box with padded rows and layers in user memory; the texels around it keep the poison. */
static void test_partial_padded(void **state)
{
    (void)state;
    sedx_context *ctx = make_ctx(SEDX_TRANSFER_NO_DIRECT, 0);
    sedx_image_info ii = {0};
    ii.format = VK_FORMAT_R8G8B8A8_UNORM;
    ii.width = 40;
    ii.height = 30;
    ii.array_layers = 4;
    ii.name = "partial";
    sedx_image img;
    assert_int_equal(sedx_image_create(ctx, &ii, &img), SEDX_SUCCESS);
    const uint64_t level = 40 * 30 * 4 * 4;
    uint8_t *model = malloc(level), *src = malloc(64 * 20 * 2 * 4 * 2), *back = malloc(level);
    memset(model, POISON, level);
    sedx_image_region all = {0};
    all.data = model;
    all.layer_count = 4;
    assert_int_equal(sedx_upload_image(ctx, &img, &all, 1, NULL), SEDX_SUCCESS);
    /* box (5,7)+(13,9) in layers 1..2, from memory with rows of 64 texels, 20 rows per layer */
    tu_fill_random(src, 64 * 20 * 2 * 4 * 2, &g_rng);
    sedx_image_region rg = {0};
    rg.data = src;
    rg.base_array_layer = 1;
    rg.layer_count = 2;
    rg.offset = (VkOffset3D){5, 7, 0};
    rg.extent = (VkExtent3D){13, 9, 1};
    rg.row_length = 64;
    rg.image_height = 20;
    assert_int_equal(sedx_upload_image(ctx, &img, &rg, 1, NULL), SEDX_SUCCESS);
    for (uint32_t l = 0; l < 2; ++l)
        for (uint32_t y = 0; y < 9; ++y)
            memcpy(model + (((uint64_t)(l + 1) * 30 + 7 + y) * 40 + 5) * 4, src + ((uint64_t)l * 20 * 64 + y * 64) * 4,
                   13 * 4);
    assert_int_equal(sedx_download_image(ctx, &img, &all, back), SEDX_SUCCESS);
    assert_memory_equal(back, model, level);
    /* and the box read back into padded memory, the padding untouched */
    uint8_t *padded = malloc(64 * 20 * 2 * 4);
    memset(padded, 0x77, 64 * 20 * 2 * 4);
    assert_int_equal(sedx_download_image(ctx, &img, &rg, padded), SEDX_SUCCESS);
    for (uint32_t l = 0; l < 2; ++l)
        for (uint32_t y = 0; y < 20; ++y)
            for (uint32_t x = 0; x < 64 * 4; ++x) {
                uint8_t got = padded[((uint64_t)l * 20 * 64 + y * 64) * 4 + x];
                uint8_t want = (y < 9 && x < 13 * 4) ? src[((uint64_t)l * 20 * 64 + y * 64) * 4 + x] : 0x77;
                if (got != want) fail_msg("padded readback: layer %u row %u byte %u: %02x, expected %02x", l, y, x,
                                          got, want);
            }
    free(padded);
    free(model);
    free(src);
    free(back);
    sedx_image_release(&img);
    tu_context_destroy(ctx);
}

/* Mip generation: a constant colour stays exact down the chain; a 2x2 checker averages. */
static void test_generate_mips(void **state)
{
    (void)state;
    sedx_context *ctx = make_ctx(0, 0);
    sedx_image_info ii = {0};
    ii.format = VK_FORMAT_R8G8B8A8_UNORM;
    ii.width = 64;
    ii.height = 32;
    ii.array_layers = 2;
    ii.mip_levels = SEDX_MIP_LEVELS_FULL;
    ii.name = "mips";
    sedx_image img;
    assert_int_equal(sedx_image_create(ctx, &ii, &img), SEDX_SUCCESS);
    assert_int_equal(img.mip_levels, 7);
    uint32_t *texels = malloc(64 * 32 * 2 * 4);
    for (uint32_t l = 0; l < 2; ++l)
        for (uint32_t i = 0; i < 64 * 32; ++i) texels[l * 64 * 32 + i] = l ? 0x80402010u : 0xFF00FF00u;
    sedx_image_region rg = {0};
    rg.data = texels;
    rg.layer_count = 2;
    assert_int_equal(sedx_upload_image(ctx, &img, &rg, 1, NULL), SEDX_SUCCESS);
    assert_int_equal(sedx_image_generate_mips(ctx, &img), SEDX_SUCCESS);
    for (uint32_t m = 1; m < 7; ++m) {
        VkExtent3D e = sedx_image_mip_extent(&img, m);
        uint32_t n = e.width * e.height * 2, *back = malloc(n * 4);
        sedx_image_region d = {0};
        d.mip_level = m;
        d.layer_count = 2;
        assert_int_equal(sedx_download_image(ctx, &img, &d, back), SEDX_SUCCESS);
        for (uint32_t i = 0; i < n; ++i) {
            uint32_t want = i < n / 2 ? 0xFF00FF00u : 0x80402010u;
            if (back[i] != want) fail_msg("mip %u texel %u: %08x, expected %08x", m, i, back[i], want);
        }
        free(back);
    }
    assert_int_equal(sedx_image_layout(&img), VK_IMAGE_LAYOUT_SHADER_READ_ONLY_OPTIMAL);
    free(texels);
    sedx_image_release(&img);
    tu_context_destroy(ctx);
}

/* Released while its upload is still in the open batch: the batch keeps it alive; the context
 * sees no leak and the GPU never touches freed memory (validation would say so). */
static void test_release_pending(void **state)
{
    (void)state;
    sedx_context *ctx = make_ctx(0, 8u << 20); /* 256 KiB per upload stays in the open batch */
    sedx_image_info ii = {0};
    ii.format = VK_FORMAT_R8G8B8A8_UNORM;
    ii.width = ii.height = 256;
    ii.name = "released early";
    uint8_t *d = malloc(256 * 256 * 4);
    tu_fill_random(d, 256 * 256 * 4, &g_rng);
    for (int i = 0; i < 4; ++i) {
        sedx_image img;
        assert_int_equal(sedx_image_create(ctx, &ii, &img), SEDX_SUCCESS);
        sedx_image_region rg = {0};
        rg.data = d;
        assert_int_equal(sedx_upload_image(ctx, &img, &rg, 1, NULL), SEDX_SUCCESS);
        sedx_image keep = sedx_image_retain(&img);
        assert_int_equal(sedx_image_ref_count(&img), 3); /* two references + the open batch's */
        sedx_image_release(&img);
        sedx_image_release(&keep);
    }
    assert_int_equal(sedx_image_count(ctx), 4); /* the open batch holds them */
    assert_int_equal(sedx_upload_flush(ctx), SEDX_SUCCESS);
    assert_int_equal(sedx_image_count(ctx), 0);
    assert_int_equal(sedx_context_wait_idle(ctx), SEDX_SUCCESS);
    sedx_context_collect_garbage(ctx);
    assert_int_equal(sedx_context_pending_deletions(ctx), 0);
    free(d);
    tu_context_destroy(ctx);
}

#define EXPECT(call, code, needle)                                                                       \
    do {                                                                                                 \
        tu_log_reset();                                                                                  \
        sedx_result r_ = (call);                                                                         \
        if (r_ != (code)) fail_msg("%s: %s, expected %s", #call, sedx_result_name(r_), sedx_result_name(code)); \
        if (!tu_log_contains(needle)) fail_msg("%s: no log line containing '%s'", #call, needle);       \
    } while (0)

static void test_bad_create(void **state)
{
    (void)state;
    tu_log_capture();
    sedx_context *ctx = make_ctx(0, 0);
    sedx_image out = {0}, sentinel;
    memset(&sentinel, 0xAB, sizeof sentinel);
    sedx_image_info ii = {0};
    ii.format = VK_FORMAT_R8G8B8A8_UNORM;
    ii.width = ii.height = 8;
    EXPECT(sedx_image_create(NULL, &ii, &out), SEDX_ERROR_INVALID_ARGUMENT, "ctx is NULL");
    EXPECT(sedx_image_create(ctx, NULL, &out), SEDX_ERROR_INVALID_ARGUMENT, "info is NULL");
    EXPECT(sedx_image_create(ctx, &ii, NULL), SEDX_ERROR_INVALID_ARGUMENT, "out is NULL");
    sedx_image_info b = ii;
    b.type = (sedx_image_type)9;
    out = sentinel;
    EXPECT(sedx_image_create(ctx, &b, &out), SEDX_ERROR_INVALID_ARGUMENT, "unknown type");
    assert_memory_equal(&out, &sentinel, sizeof out);
    b = ii;
    b.flags = 0x100;
    EXPECT(sedx_image_create(ctx, &b, &out), SEDX_ERROR_INVALID_ARGUMENT, "unknown flag bits");
    b = ii;
    b.format = VK_FORMAT_UNDEFINED;
    EXPECT(sedx_image_create(ctx, &b, &out), SEDX_ERROR_INVALID_ARGUMENT, "UNDEFINED");
    b = ii;
    b.width = 0;
    EXPECT(sedx_image_create(ctx, &b, &out), SEDX_ERROR_INVALID_SIZE, "has a zero");
    b = ii;
    b.depth = 4;
    EXPECT(sedx_image_create(ctx, &b, &out), SEDX_ERROR_INVALID_ARGUMENT, "does not fit a 2D");
    b = ii;
    b.type = SEDX_IMAGE_CUBE;
    b.height = 4;
    EXPECT(sedx_image_create(ctx, &b, &out), SEDX_ERROR_INVALID_ARGUMENT, "square faces");
    b.height = 8;
    b.array_layers = 7;
    EXPECT(sedx_image_create(ctx, &b, &out), SEDX_ERROR_INVALID_ARGUMENT, "layers in sixes");
    b = ii;
    b.type = SEDX_IMAGE_3D;
    b.depth = 2;
    b.array_layers = 2;
    EXPECT(sedx_image_create(ctx, &b, &out), SEDX_ERROR_INVALID_ARGUMENT, "one layer");
    b = ii;
    b.mip_levels = 5;
    EXPECT(sedx_image_create(ctx, &b, &out), SEDX_ERROR_INVALID_ARGUMENT, "chain of 8x8x1 has 4");
    b = ii;
    b.samples = 3;
    EXPECT(sedx_image_create(ctx, &b, &out), SEDX_ERROR_INVALID_ARGUMENT, "3 samples");
    b = ii;
    b.samples = VK_SAMPLE_COUNT_4_BIT;
    b.mip_levels = 2;
    EXPECT(sedx_image_create(ctx, &b, &out), SEDX_ERROR_INVALID_ARGUMENT, "multisampled");
    b = ii;
    b.width = b.height = 1u << 20; /* past maxImageDimension2D everywhere */
    EXPECT(sedx_image_create(ctx, &b, &out), SEDX_ERROR_FEATURE_NOT_PRESENT, "exceeds the device");
    b = ii;
    b.format = VK_FORMAT_D32_SFLOAT;
    b.usage = VK_IMAGE_USAGE_STORAGE_BIT; /* storage depth: not on lavapipe nor the NVIDIA driver */
    sedx_result r = sedx_image_create(ctx, &b, &out); /* the NVIDIA driver has it */
    if (r == SEDX_SUCCESS) {
        sedx_image_release(&out);
        out = sentinel;
    } else {
        assert_int_equal(r, SEDX_ERROR_FEATURE_NOT_PRESENT);
        assert_memory_equal(&out, &sentinel, sizeof out);
    }
    assert_int_equal(sedx_image_count(ctx), 0);
    /* still works */
    assert_int_equal(sedx_image_create(ctx, &ii, &out), SEDX_SUCCESS);
    sedx_image_release(&out);
    sedx_image_release(&out); /* empty: no-op */
    tu_context_destroy(ctx);
}

static void test_bad_transfers(void **state)
{
    (void)state;
    tu_log_capture();
    sedx_context *ctx = make_ctx(0, 0);
    sedx_image_info ii = {0};
    ii.format = VK_FORMAT_R8G8B8A8_UNORM;
    ii.width = 16;
    ii.height = 8;
    ii.array_layers = 2;
    ii.mip_levels = 2;
    ii.name = "victim";
    sedx_image img;
    assert_int_equal(sedx_image_create(ctx, &ii, &img), SEDX_SUCCESS);
    uint8_t *px = malloc(16 * 8 * 2 * 4 * 4), *back = malloc(16 * 8 * 2 * 4);
    sedx_image_region rg = {0};
    rg.data = px;
    /* nothing uploaded yet */
    EXPECT(sedx_download_image(ctx, &img, &rg, back), SEDX_ERROR_INVALID_ARGUMENT, "holds no data");
    EXPECT(sedx_image_generate_mips(ctx, &img), SEDX_ERROR_INVALID_ARGUMENT, "holds no data");
    /* the truth: layers 0..1 of level 0 */
    tu_fill_random(px, 16 * 8 * 2 * 4, &g_rng);
    rg.layer_count = 2;
    assert_int_equal(sedx_upload_image(ctx, &img, &rg, 1, NULL), SEDX_SUCCESS);
    uint8_t *truth = malloc(16 * 8 * 2 * 4);
    memcpy(truth, px, 16 * 8 * 2 * 4);
    uint8_t *garbage = malloc(16 * 8 * 2 * 4 * 4);
    memset(garbage, 0xEE, 16 * 8 * 2 * 4 * 4);
    sedx_image_region g = rg;
    g.data = garbage;
    sedx_image_region b;
    b = g; b.mip_level = 2;
    EXPECT(sedx_upload_image(ctx, &img, &b, 1, NULL), SEDX_ERROR_OUT_OF_BOUNDS, "mip 2 of 2 levels");
    b = g; b.base_array_layer = 1;
    EXPECT(sedx_upload_image(ctx, &img, &b, 1, NULL), SEDX_ERROR_OUT_OF_BOUNDS, "layers 1+2 of 2");
    b = g; b.layer_count = 1; b.base_array_layer = 0xFFFFFFFFu;
    EXPECT(sedx_upload_image(ctx, &img, &b, 1, NULL), SEDX_ERROR_OUT_OF_BOUNDS, "layers");
    b = g; b.offset.x = 10; b.extent = (VkExtent3D){7, 1, 1};
    EXPECT(sedx_upload_image(ctx, &img, &b, 1, NULL), SEDX_ERROR_OUT_OF_BOUNDS, "is outside mip 0");
    b = g; b.offset.y = -1;
    EXPECT(sedx_upload_image(ctx, &img, &b, 1, NULL), SEDX_ERROR_OUT_OF_BOUNDS, "offset");
    b = g; b.offset.x = 16;
    EXPECT(sedx_upload_image(ctx, &img, &b, 1, NULL), SEDX_ERROR_OUT_OF_BOUNDS, "offset");
    b = g; b.mip_level = 1; b.extent = (VkExtent3D){8, 5, 1};
    EXPECT(sedx_upload_image(ctx, &img, &b, 1, NULL), SEDX_ERROR_OUT_OF_BOUNDS, "is outside mip 1");
    b = g; b.row_length = 15;
    EXPECT(sedx_upload_image(ctx, &img, &b, 1, NULL), SEDX_ERROR_INVALID_ARGUMENT, "shorter");
    b = g; b.image_height = 3;
    EXPECT(sedx_upload_image(ctx, &img, &b, 1, NULL), SEDX_ERROR_INVALID_ARGUMENT, "shorter");
    b = g; b.data = NULL;
    EXPECT(sedx_upload_image(ctx, &img, &b, 1, NULL), SEDX_ERROR_INVALID_ARGUMENT, "data is NULL");
    b = g; b.aspect = VK_IMAGE_ASPECT_DEPTH_BIT;
    EXPECT(sedx_upload_image(ctx, &img, &b, 1, NULL), SEDX_ERROR_INVALID_ARGUMENT, "aspect");
    sedx_image_region two[2] = {g, g};
    two[0].layer_count = two[1].layer_count = 1;
    two[1].offset.x = 4; two[1].extent = (VkExtent3D){4, 4, 1};
    EXPECT(sedx_upload_image(ctx, &img, two, 2, NULL), SEDX_ERROR_INVALID_ARGUMENT, "same texels");
    two[1].mip_level = 5; /* the second region bad: the first must not have moved */
    EXPECT(sedx_upload_image(ctx, &img, two, 2, NULL), SEDX_ERROR_OUT_OF_BOUNDS, "mip 5");
    sedx_image_upload_info ui = {0};
    ui.flags = 0x80;
    EXPECT(sedx_upload_image(ctx, &img, &g, 1, &ui), SEDX_ERROR_INVALID_ARGUMENT, "unknown flags");
    ui.flags = 0;
    ui.final_layout = VK_IMAGE_LAYOUT_COLOR_ATTACHMENT_OPTIMAL; /* no such usage */
    EXPECT(sedx_upload_image(ctx, &img, &g, 1, &ui), SEDX_ERROR_INVALID_ARGUMENT, "final layout");
    ui.final_layout = VK_IMAGE_LAYOUT_PREINITIALIZED;
    EXPECT(sedx_upload_image(ctx, &img, &g, 1, &ui), SEDX_ERROR_INVALID_ARGUMENT, "final layout");
    EXPECT(sedx_upload_image(NULL, &img, &g, 1, NULL), SEDX_ERROR_INVALID_ARGUMENT, "ctx is NULL");
    EXPECT(sedx_upload_image(ctx, &img, NULL, 1, NULL), SEDX_ERROR_INVALID_ARGUMENT, "regions is NULL");
    EXPECT(sedx_download_image(ctx, &img, &g, NULL), SEDX_ERROR_INVALID_ARGUMENT, "dst is NULL");
    EXPECT(sedx_download_image(ctx, &img, NULL, back), SEDX_ERROR_INVALID_ARGUMENT, "region is NULL");
    b = g; b.mip_level = 3;
    EXPECT(sedx_download_image(ctx, &img, &b, back), SEDX_ERROR_OUT_OF_BOUNDS, "mip 3");
    /* a stale copy of a released reference */
    sedx_image extra = sedx_image_retain(&img), stale = extra;
    sedx_image_release(&extra);
    EXPECT(sedx_upload_image(ctx, &stale, &g, 1, NULL), SEDX_ERROR_INVALID_HANDLE, "invalid handle");
    EXPECT(sedx_download_image(ctx, &stale, &g, back), SEDX_ERROR_INVALID_HANDLE, "invalid handle");
    EXPECT(sedx_image_generate_mips(ctx, &stale), SEDX_ERROR_INVALID_HANDLE, "invalid handle");
    EXPECT(sedx_image_set_layout(&stale, VK_IMAGE_LAYOUT_GENERAL), SEDX_ERROR_INVALID_HANDLE, "invalid handle");
    tu_log_reset();
    sedx_image_release(&stale);
    assert_true(tu_log_contains("double release or stale copy"));
    sedx_image empty = {0};
    EXPECT(sedx_upload_image(ctx, &empty, &g, 1, NULL), SEDX_ERROR_INVALID_HANDLE, "empty image");
    EXPECT(sedx_upload_image(ctx, NULL, &g, 1, NULL), SEDX_ERROR_INVALID_HANDLE, "image pointer is NULL");
    /* an image of another context */
    sedx_context *other = make_ctx(0, 0);
    EXPECT(sedx_upload_image(other, &img, &g, 1, NULL), SEDX_ERROR_WRONG_CONTEXT, "another context");
    EXPECT(sedx_download_image(other, &img, &g, back), SEDX_ERROR_WRONG_CONTEXT, "another context");
    EXPECT(sedx_image_generate_mips(other, &img), SEDX_ERROR_WRONG_CONTEXT, "another context");
    tu_context_destroy(other);
    /* a format without linear-filter blits */
    sedx_image_info ui_info = ii;
    ui_info.format = VK_FORMAT_R32G32B32A32_UINT;
    ui_info.name = "integer";
    sedx_image iimg;
    assert_int_equal(sedx_image_create(ctx, &ui_info, &iimg), SEDX_SUCCESS);
    sedx_image_region one = {0};
    one.data = garbage;
    one.layer_count = 2;
    assert_int_equal(sedx_upload_image(ctx, &iimg, &one, 1, NULL), SEDX_SUCCESS);
    EXPECT(sedx_image_generate_mips(ctx, &iimg), SEDX_ERROR_FEATURE_NOT_PRESENT, "linear filtering");
    sedx_image_release(&iimg);
    /* every refusal left the image as it was */
    sedx_image_region all = {0};
    all.layer_count = 2;
    assert_int_equal(sedx_download_image(ctx, &img, &all, back), SEDX_SUCCESS);
    assert_memory_equal(back, truth, 16 * 8 * 2 * 4);
    assert_int_equal(sedx_image_layout(&img), VK_IMAGE_LAYOUT_SHADER_READ_ONLY_OPTIMAL);
    free(px);
    free(back);
    free(truth);
    free(garbage);
    sedx_image_release(&img);
    tu_context_destroy(ctx);
}

/* The seed's CopyBufferToImage on a sedx image: checked against the image itself, its tracked
 * layout used and updated; a second copy into a sub-box keeps the rest (no discard). */
static void test_seed_copy(void **state)
{
    (void)state;
    tu_log_capture();
    sedx_context *ctx = make_ctx(0, 0);
    sedx_image_info ii = {0};
    ii.format = VK_FORMAT_R8G8B8A8_UNORM;
    ii.width = 16;
    ii.height = 8;
    ii.name = "seed target";
    sedx_image img;
    assert_int_equal(sedx_image_create(ctx, &ii, &img), SEDX_SUCCESS);
    sedx_buffer staging;
    assert_int_equal(sedx_staging_buffer_create(ctx, 16 * 8 * 4, "seed staging", &staging), SEDX_SUCCESS);
    uint8_t model[16 * 8 * 4], back[16 * 8 * 4];
    tu_fill_random(model, sizeof model, &g_rng);
    assert_int_equal(sedx_buffer_write(&staging, model, sizeof model, 0), SEDX_SUCCESS);
    assert_int_equal(sedx_copy_buffer_to_image(ctx, sedx_buffer_vk(&staging), img.image, 16, 8), SEDX_SUCCESS);
    assert_int_equal(sedx_image_layout(&img), VK_IMAGE_LAYOUT_SHADER_READ_ONLY_OPTIMAL);
    /* 4x2 texels at (3,5) from the start of the staging buffer, current layout left to sedx */
    uint8_t box[4 * 2 * 4];
    tu_fill_random(box, sizeof box, &g_rng);
    assert_int_equal(sedx_buffer_write(&staging, box, sizeof box, 0), SEDX_SUCCESS);
    sedx_buffer_image_copy c = {0};
    c.image_offset = (VkOffset3D){3, 5, 0};
    c.image_extent = (VkExtent3D){4, 2, 1};
    assert_int_equal(sedx_copy_buffer_to_image_ex(ctx, sedx_buffer_vk(&staging), img.image, &c), SEDX_SUCCESS);
    for (uint32_t y = 0; y < 2; ++y) memcpy(model + ((5 + y) * 16 + 3) * 4, box + y * 16, 16);
    sedx_image_region all = {0};
    assert_int_equal(sedx_download_image(ctx, &img, &all, back), SEDX_SUCCESS);
    assert_memory_equal(back, model, sizeof model);
    /* the description says 8 levels; the image has 1: the truth wins */
    c.mip_levels = 8;
    c.mip_level = 3;
    EXPECT(sedx_copy_buffer_to_image_ex(ctx, sedx_buffer_vk(&staging), img.image, &c), SEDX_ERROR_OUT_OF_BOUNDS,
           "mip 3");
    /* the statistics document has the image's traffic and its allocation by name */
    char *json = NULL;
    assert_int_equal(sedx_stats_json(ctx, &json), SEDX_SUCCESS);
    assert_non_null(strstr(json, "\"image_uploads\""));
    assert_non_null(strstr(json, "\"image_downloads\""));
    assert_non_null(strstr(json, "\"live_images\":\t1"));
    assert_non_null(strstr(json, "seed target"));
    assert_non_null(strstr(json, "\"frames\""));
    assert_non_null(strstr(json, "\"readback_async\""));
    sedx_memory_free_string(json);
    EXPECT(sedx_stats_json(ctx, NULL), SEDX_ERROR_INVALID_ARGUMENT, "out_json is NULL");
    EXPECT(sedx_stats_json(NULL, &json), SEDX_ERROR_INVALID_ARGUMENT, "ctx is NULL");
    sedx_buffer_release(&staging);
    sedx_image_release(&img);
    tu_context_destroy(ctx);
}

int main(void)
{
    g_rng = tu_seed();
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_formats),
        cmocka_unit_test(test_larger_than_ring),
        cmocka_unit_test(test_partial_padded),
        cmocka_unit_test(test_generate_mips),
        cmocka_unit_test(test_release_pending),
        cmocka_unit_test(test_bad_create),
        cmocka_unit_test(test_bad_transfers),
        cmocka_unit_test(test_seed_copy),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
