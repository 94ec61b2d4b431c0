/* Misuse catalog, image.h (sedx_image_create, retain, release and the queries, set_layout,
 * mark_used, sedx_mip_chain_length, sedx_image_count), the image calls of transfer.h
 * (sedx_upload_image, sedx_download_image, sedx_image_generate_mips, and the seed's
 * sedx_copy_buffer_to_image / _ex given a sedx image's VkImage) and context.h's
 * sedx_stats_json. docs/images.md has the model. Every refused call on an image that holds data
 * is followed by a read-back of its texels (they must be as they were) and of its tracked
 * layout. The contexts here have a 64 KiB staging ring that cannot grow and a 64 KiB readback
 * ring. The harness is tests/gpu/misuse_util.h; docs/errors.md lists every case. */
#include "misuse_util.h"

enum { RING = 64 << 10 };

static sedx_context *img_context(void)
{
    sedx_context *ctx = mis_context(0, NULL);
    sedx_transfer_info ti = {0};
    ti.staging_size = RING;
    ti.staging_max = RING;
    ti.readback_size = RING;
    ti.memcpy_threads = 2;
    assert_int_equal(sedx_transfer_configure(ctx, &ti), SEDX_SUCCESS);
    return ctx;
}

static bool format_has(sedx_context *ctx, VkFormat f, VkFormatFeatureFlags need)
{
    VkFormatProperties fp;
    vkGetPhysicalDeviceFormatProperties(sedx_context_physical_device(ctx), f, &fp);
    return (fp.optimalTilingFeatures & need) == need;
}

static const VkFormatFeatureFlags XFER = VK_FORMAT_FEATURE_TRANSFER_SRC_BIT | VK_FORMAT_FEATURE_TRANSFER_DST_BIT |
                                         VK_FORMAT_FEATURE_SAMPLED_IMAGE_BIT;

/* ------------------------------------------------------------------------------------------
 * The victim: RGBA8 16x8, 2 layers, 2 levels, every texel known (model[level])
 * ---------------------------------------------------------------------------------------- */
enum { VW = 16, VH = 8, VL = 2 };
static const uint64_t level_bytes[2] = {VW * VH * VL * 4, (VW / 2) * (VH / 2) * VL * 4};

typedef struct victim {
    sedx_image img;
    uint8_t *model[2];
} victim;

static void victim_make(sedx_context *ctx, victim *v, const char *name)
{
    sedx_image_info ii = {0};
    ii.format = VK_FORMAT_R8G8B8A8_UNORM;
    ii.width = VW;
    ii.height = VH;
    ii.array_layers = VL;
    ii.mip_levels = 2;
    ii.name = name;
    assert_int_equal(sedx_image_create(ctx, &ii, &v->img), SEDX_SUCCESS);
    sedx_image_region rg[2] = {{0}};
    for (int m = 0; m < 2; ++m) {
        v->model[m] = malloc(level_bytes[m]);
        tu_fill_random(v->model[m], level_bytes[m], &g_mis.rng);
        rg[m].data = v->model[m];
        rg[m].mip_level = (uint32_t)m;
        rg[m].layer_count = VL;
    }
    assert_int_equal(sedx_upload_image(ctx, &v->img, rg, 2, NULL), SEDX_SUCCESS);
    assert_int_equal(sedx_upload_flush(ctx), SEDX_SUCCESS); /* the batch's reference goes */
}

/* Every texel of both levels as the model says, and the tracked layout as expected. */
static bool victim_intact(sedx_context *ctx, const victim *v, VkImageLayout layout)
{
    bool ok = sedx_image_layout(&v->img) == layout;
    for (int m = 0; m < 2 && ok; ++m) {
        uint8_t *back = malloc(level_bytes[m]);
        memset(back, 0xCD, level_bytes[m]);
        sedx_image_region rg = {0};
        rg.mip_level = (uint32_t)m;
        rg.layer_count = VL;
        ok = sedx_download_image(ctx, &v->img, &rg, back) == SEDX_SUCCESS && memcmp(back, v->model[m], level_bytes[m]) == 0;
        free(back);
    }
    return ok && sedx_image_layout(&v->img) == layout;
}

static void victim_free(victim *v)
{
    sedx_image_release(&v->img);
    free(v->model[0]);
    free(v->model[1]);
}

/* ------------------------------------------------------------------------------------------
 * The bad sedx_image inputs (as misuse_util.h has them for buffers)
 * ---------------------------------------------------------------------------------------- */
enum { BAD_NULL, BAD_ZEROED, BAD_RELEASED, BAD_STALE, BAD_GARBAGE, BAD_COUNT };
static const char *const bad_name[BAD_COUNT] = {
    "NULL image pointer",
    "zeroed (empty) image",
    "released image (last reference)",
    "stale copy (its reference released, another one alive)",
    "garbage image (memset 0xAB)",
};
static const char *const bad_log[BAD_COUNT] = {
    "image pointer is NULL", "empty image", "invalid handle", "invalid handle", "invalid handle",
};

typedef struct bad_set {
    sedx_image zeroed, released, stale, garbage, keeper;
} bad_set;

static void bad_set_init(sedx_context *ctx, bad_set *s)
{
    memset(s, 0, sizeof *s);
    sedx_image_info ii = {0};
    ii.format = VK_FORMAT_R8G8B8A8_UNORM;
    ii.width = ii.height = 4;
    ii.name = "misuse released image";
    sedx_image a;
    assert_int_equal(sedx_image_create(ctx, &ii, &a), SEDX_SUCCESS);
    s->released = a;
    sedx_image_release(&a);
    ii.name = "misuse stale image";
    assert_int_equal(sedx_image_create(ctx, &ii, &a), SEDX_SUCCESS);
    s->keeper = sedx_image_retain(&a);
    s->stale = a;
    sedx_image_release(&a);
    memset(&s->garbage, 0xAB, sizeof s->garbage);
}

static const sedx_image *bad_ptr(const bad_set *s, int k)
{
    switch (k) {
    case BAD_NULL: return NULL;
    case BAD_ZEROED: return &s->zeroed;
    case BAD_RELEASED: return &s->released;
    case BAD_STALE: return &s->stale;
    default: return &s->garbage;
    }
}

/* An upload and the submit that records its barriers (where a bad layout would reach Vulkan). */
static sedx_result upload_flush(sedx_context *ctx, const sedx_image *img, const sedx_image_region *rg, uint32_t n,
                                const sedx_image_upload_info *info)
{
    sedx_result r = sedx_upload_image(ctx, img, rg, n, info);
    return r != SEDX_SUCCESS ? r : sedx_upload_flush(ctx);
}

static char *row(char *buf, size_t n, const char *a, const char *b)
{
    snprintf(buf, n, "%s%s", a, b);
    return buf;
}

/* ------------------------------------------------------------------------------------------
 * sedx_image_create
 * ---------------------------------------------------------------------------------------- */
static void test_create(void **state)
{
    (void)state;
    mis_begin();
    sedx_context *ctx = img_context();
    const char *F = "sedx_image_create";
    sedx_image_info ok = {0};
    ok.format = VK_FORMAT_R8G8B8A8_UNORM;
    ok.width = 8;
    ok.height = 8;
    ok.name = "misuse create";
    sedx_image out, sentinel;
    memset(&sentinel, 0xAB, sizeof sentinel);
#define CREATE_BAD(input, code, needle, info_expr)                                                             \
    do {                                                                                                       \
        out = sentinel;                                                                                        \
        MIS_RC(F, input, code, needle, sedx_image_create(ctx, info_expr, &out));                              \
        MIS_TRUE(F, input, "*out untouched, no image left behind",                                             \
                 memcmp(&out, &sentinel, sizeof out) == 0 && sedx_image_count(ctx) == 0);                     \
    } while (0)
    sedx_image_info b;

    out = sentinel;
    MIS_RC(F, "NULL ctx", SEDX_ERROR_INVALID_ARGUMENT, "sedx_image_create: ctx is NULL", sedx_image_create(NULL, &ok, &out));
    MIS_TRUE(F, "NULL ctx", "*out untouched", memcmp(&out, &sentinel, sizeof out) == 0);
    CREATE_BAD("NULL info", SEDX_ERROR_INVALID_ARGUMENT, "sedx_image_create: info is NULL", NULL);
    MIS_RC(F, "NULL out", SEDX_ERROR_INVALID_ARGUMENT, "sedx_image_create: out is NULL", sedx_image_create(ctx, &ok, NULL));
    MIS_TRUE(F, "NULL out", "no image left behind", sedx_image_count(ctx) == 0);

    /* enums and flags */
    b = ok; b.type = (sedx_image_type)4;
    CREATE_BAD("unknown type 4", SEDX_ERROR_INVALID_ARGUMENT, "image 'misuse create': unknown type 4", &b);
    b = ok; b.type = (sedx_image_type)-1;
    CREATE_BAD("unknown type -1", SEDX_ERROR_INVALID_ARGUMENT, "unknown type -1", &b);
    b = ok; b.flags = 0x8;
    CREATE_BAD("unknown flag bit 0x8", SEDX_ERROR_INVALID_ARGUMENT, "unknown flag bits 0x8", &b);
    b = ok; b.flags = 0x80000000u | SEDX_IMAGE_NO_VIEW;
    CREATE_BAD("unknown flag bit 0x80000000 with a known one", SEDX_ERROR_INVALID_ARGUMENT, "unknown flag bits 0x80000000", &b);
    b = ok; b.format = VK_FORMAT_UNDEFINED;
    CREATE_BAD("format UNDEFINED", SEDX_ERROR_INVALID_ARGUMENT, "format is UNDEFINED", &b);
    b = ok; b.format = (VkFormat)0x7FFF0000;
    CREATE_BAD("format not a VkFormat (0x7FFF0000)", SEDX_ERROR_INVALID_ARGUMENT, "is not a VkFormat", &b);
    b = ok; b.format = (VkFormat)185; /* one past VK_FORMAT_ASTC_12x12_SRGB_BLOCK */
    CREATE_BAD("format not a VkFormat (185, past the core list)", SEDX_ERROR_INVALID_ARGUMENT, "is not a VkFormat", &b);
    b = ok; b.format = VK_FORMAT_PVRTC1_2BPP_UNORM_BLOCK_IMG;
    CREATE_BAD("format of an extension sedx does not enable (PVRTC)", SEDX_ERROR_INVALID_ARGUMENT, "is not a VkFormat", &b);
    b = ok; b.format = VK_FORMAT_G8_B8R8_2PLANE_420_UNORM;
    CREATE_BAD("multi-planar format (G8_B8R8_2PLANE_420) with the default view", SEDX_ERROR_FEATURE_NOT_PRESENT,
               "needs a sampler Y'CbCr conversion for its view", &b);
    b = ok; b.format = VK_FORMAT_G8B8G8R8_422_UNORM;
    CREATE_BAD("4:2:2 format (G8B8G8R8_422) with the default view", SEDX_ERROR_FEATURE_NOT_PRESENT,
               "needs a sampler Y'CbCr conversion for its view", &b);
    b = ok; b.usage = 0x80000000u | VK_IMAGE_USAGE_SAMPLED_BIT;
    CREATE_BAD("unknown usage bit 0x80000000", SEDX_ERROR_INVALID_USAGE, "unknown usage bits 0x80000000", &b);
    b = ok; b.usage = VK_IMAGE_USAGE_FRAGMENT_DENSITY_MAP_BIT_EXT;
    CREATE_BAD("usage of an extension sedx does not enable (fragment density map)", SEDX_ERROR_INVALID_USAGE,
               "unknown usage bits 0x200", &b);
    b = ok; b.usage = VK_IMAGE_USAGE_TRANSIENT_ATTACHMENT_BIT | VK_IMAGE_USAGE_SAMPLED_BIT | VK_IMAGE_USAGE_COLOR_ATTACHMENT_BIT;
    CREATE_BAD("TRANSIENT_ATTACHMENT with SAMPLED", SEDX_ERROR_INVALID_USAGE, "transient attachment", &b);
    b = ok; b.usage = VK_IMAGE_USAGE_TRANSIENT_ATTACHMENT_BIT;
    CREATE_BAD("TRANSIENT_ATTACHMENT without an attachment usage", SEDX_ERROR_INVALID_USAGE, "transient attachment", &b);

    /* sizes */
    b = ok; b.width = 0;
    CREATE_BAD("2D width 0", SEDX_ERROR_INVALID_SIZE, "extent 0x8x0 has a zero", &b);
    b = ok; b.height = 0;
    CREATE_BAD("2D height 0", SEDX_ERROR_INVALID_SIZE, "has a zero", &b);
    b = ok; b.type = SEDX_IMAGE_1D; b.height = 0; b.width = 0;
    CREATE_BAD("1D width 0", SEDX_ERROR_INVALID_SIZE, "has a zero", &b);
    b = ok; b.type = SEDX_IMAGE_3D; b.depth = 0;
    CREATE_BAD("3D depth 0", SEDX_ERROR_INVALID_SIZE, "has a zero", &b);
    b = ok; b.type = SEDX_IMAGE_CUBE; b.width = b.height = 0;
    CREATE_BAD("cube width and height 0", SEDX_ERROR_INVALID_SIZE, "has a zero", &b);

    /* extents that do not fit the type */
    b = ok; b.type = SEDX_IMAGE_1D; b.height = 2;
    CREATE_BAD("1D with height 2", SEDX_ERROR_INVALID_ARGUMENT, "does not fit a 1D image", &b);
    b = ok; b.type = SEDX_IMAGE_1D; b.height = 1; b.depth = 2;
    CREATE_BAD("1D with depth 2", SEDX_ERROR_INVALID_ARGUMENT, "does not fit a 1D image", &b);
    b = ok; b.depth = 4;
    CREATE_BAD("2D with depth 4", SEDX_ERROR_INVALID_ARGUMENT, "does not fit a 2D or cube image", &b);
    b = ok; b.type = SEDX_IMAGE_CUBE; b.depth = 2;
    CREATE_BAD("cube with depth 2", SEDX_ERROR_INVALID_ARGUMENT, "does not fit a 2D or cube image", &b);
    b = ok; b.type = SEDX_IMAGE_CUBE; b.height = 4;
    CREATE_BAD("cube 8x4 (not square)", SEDX_ERROR_INVALID_ARGUMENT, "a cube needs square faces (8x4)", &b);
    b = ok; b.type = SEDX_IMAGE_CUBE; b.array_layers = 7;
    CREATE_BAD("cube with 7 layers", SEDX_ERROR_INVALID_ARGUMENT, "layers in sixes (7)", &b);
    b = ok; b.type = SEDX_IMAGE_CUBE; b.array_layers = 3;
    CREATE_BAD("cube with 3 layers", SEDX_ERROR_INVALID_ARGUMENT, "layers in sixes (3)", &b);
    b = ok; b.type = SEDX_IMAGE_3D; b.depth = 2; b.array_layers = 2;
    CREATE_BAD("3D with 2 layers", SEDX_ERROR_INVALID_ARGUMENT, "a 3D image has one layer, not 2", &b);

    /* levels and samples */
    b = ok; b.mip_levels = 5;
    CREATE_BAD("5 levels for an 8x8 chain of 4", SEDX_ERROR_INVALID_ARGUMENT, "5 mip levels, but the chain of 8x8x1 has 4", &b);
    b = ok; b.mip_levels = 0xFFFFFFFEu;
    CREATE_BAD("0xFFFFFFFE levels (not SEDX_MIP_LEVELS_FULL)", SEDX_ERROR_INVALID_ARGUMENT, "4294967294 mip levels", &b);
    b = ok; b.type = SEDX_IMAGE_1D; b.height = 0; b.width = 16; b.mip_levels = 6;
    CREATE_BAD("1D 16 texels with 6 levels (chain of 5)", SEDX_ERROR_INVALID_ARGUMENT, "chain of 16x1x1 has 5", &b);
    b = ok; b.samples = (VkSampleCountFlagBits)3;
    CREATE_BAD("samples 3 (not a power of two)", SEDX_ERROR_INVALID_ARGUMENT, "3 samples", &b);
    b = ok; b.samples = (VkSampleCountFlagBits)128;
    CREATE_BAD("samples 128 (past VK_SAMPLE_COUNT_64_BIT)", SEDX_ERROR_INVALID_ARGUMENT, "128 samples", &b);
    b = ok; b.samples = (VkSampleCountFlagBits)0x80000000u;
    CREATE_BAD("samples 0x80000000", SEDX_ERROR_INVALID_ARGUMENT, "2147483648 samples", &b);
    b = ok; b.samples = VK_SAMPLE_COUNT_4_BIT; b.mip_levels = 2;
    CREATE_BAD("4 samples with 2 levels", SEDX_ERROR_INVALID_ARGUMENT, "multisampled images are 2D with one mip level", &b);
    b = ok; b.samples = VK_SAMPLE_COUNT_4_BIT; b.type = SEDX_IMAGE_CUBE;
    CREATE_BAD("4 samples, cube", SEDX_ERROR_INVALID_ARGUMENT, "multisampled images are 2D", &b);
    b = ok; b.samples = VK_SAMPLE_COUNT_4_BIT; b.type = SEDX_IMAGE_3D; b.depth = 2;
    CREATE_BAD("4 samples, 3D", SEDX_ERROR_INVALID_ARGUMENT, "multisampled images are 2D", &b);
    b = ok; b.samples = VK_SAMPLE_COUNT_4_BIT; b.type = SEDX_IMAGE_1D; b.height = 1;
    CREATE_BAD("4 samples, 1D", SEDX_ERROR_INVALID_ARGUMENT, "multisampled images are 2D", &b);

    /* what the device does not support */
    b = ok; b.format = VK_FORMAT_BC1_RGBA_UNORM_BLOCK; b.usage = VK_IMAGE_USAGE_COLOR_ATTACHMENT_BIT;
    CREATE_BAD("BC1 as a colour attachment", SEDX_ERROR_FEATURE_NOT_PRESENT, "is not supported by the device", &b);
    b = ok; b.format = VK_FORMAT_R8G8B8A8_UNORM; b.usage = VK_IMAGE_USAGE_DEPTH_STENCIL_ATTACHMENT_BIT;
    CREATE_BAD("colour format as a depth attachment", SEDX_ERROR_FEATURE_NOT_PRESENT, "is not supported by the device", &b);
    b = ok; b.width = b.height = 1u << 20;
    CREATE_BAD("2D 2^20 x 2^20 (past maxImageDimension2D)", SEDX_ERROR_FEATURE_NOT_PRESENT, "exceeds the device's", &b);
    b = ok; b.type = SEDX_IMAGE_1D; b.width = 1u << 20; b.height = 0;
    CREATE_BAD("1D 2^20 texels (past maxImageDimension1D)", SEDX_ERROR_FEATURE_NOT_PRESENT, "exceeds the device's", &b);
    b = ok; b.type = SEDX_IMAGE_3D; b.depth = 1u << 20;
    CREATE_BAD("3D depth 2^20 (past maxImageDimension3D)", SEDX_ERROR_FEATURE_NOT_PRESENT, "exceeds the device's", &b);
    b = ok; b.type = SEDX_IMAGE_CUBE; b.width = b.height = 1u << 20;
    CREATE_BAD("cube 2^20 (past maxImageDimensionCube)", SEDX_ERROR_FEATURE_NOT_PRESENT, "exceeds the device's", &b);
    b = ok; b.array_layers = 1u << 20;
    CREATE_BAD("2^20 layers (past maxImageArrayLayers)", SEDX_ERROR_FEATURE_NOT_PRESENT, "exceeds the device's", &b);
    b = ok; b.samples = VK_SAMPLE_COUNT_64_BIT; b.usage = VK_IMAGE_USAGE_COLOR_ATTACHMENT_BIT;
    {
        VkImageFormatProperties fp;
        bool has64 = vkGetPhysicalDeviceImageFormatProperties(sedx_context_physical_device(ctx), b.format,
                                                              VK_IMAGE_TYPE_2D, VK_IMAGE_TILING_OPTIMAL,
                                                              b.usage | VK_IMAGE_USAGE_TRANSFER_SRC_BIT |
                                                                  VK_IMAGE_USAGE_TRANSFER_DST_BIT,
                                                              0, &fp) == VK_SUCCESS &&
                     (fp.sampleCounts & VK_SAMPLE_COUNT_64_BIT);
        if (has64) MIS_SKIP(F, "64 samples the device does not support", "this device supports 64 samples");
        else CREATE_BAD("64 samples the device does not support", SEDX_ERROR_FEATURE_NOT_PRESENT, "exceeds the device's", &b);
    }
    b = ok; b.format = VK_FORMAT_R32G32B32A32_SFLOAT; b.width = b.height = 16384; b.array_layers = 64;
    {
        VkImageFormatProperties fp;
        bool fits = vkGetPhysicalDeviceImageFormatProperties(sedx_context_physical_device(ctx), b.format,
                                                             VK_IMAGE_TYPE_2D, VK_IMAGE_TILING_OPTIMAL,
                                                             VK_IMAGE_USAGE_SAMPLED_BIT | VK_IMAGE_USAGE_TRANSFER_SRC_BIT |
                                                                 VK_IMAGE_USAGE_TRANSFER_DST_BIT,
                                                             0, &fp) != VK_SUCCESS ||
                    fp.maxResourceSize >= (256ull << 30) || fp.maxArrayLayers < 64 || fp.maxExtent.width < 16384;
        if (fits) MIS_SKIP(F, "more bytes than maxResourceSize", "this device's maxResourceSize takes 256 GiB");
        else CREATE_BAD("more bytes than maxResourceSize (16384^2 RGBA32F x 64 layers, 256 GiB)",
                        SEDX_ERROR_FEATURE_NOT_PRESENT, "bytes of texels exceed the device's maxResourceSize", &b);
    }
#undef CREATE_BAD

    /* boundaries that must stay allowed */
    b = ok; b.type = SEDX_IMAGE_CUBE; b.array_layers = 0;
    MIS_RC(F, "(valid) cube with layers 0 (= 6)", SEDX_SUCCESS, LOG_NONE, sedx_image_create(ctx, &b, &out));
    MIS_TRUE(F, "(valid) cube with layers 0 (= 6)", "6 layers", out.array_layers == 6);
    sedx_image_release(&out);
    b = ok; b.mip_levels = SEDX_MIP_LEVELS_FULL;
    MIS_RC(F, "(valid) SEDX_MIP_LEVELS_FULL", SEDX_SUCCESS, LOG_NONE, sedx_image_create(ctx, &b, &out));
    MIS_TRUE(F, "(valid) SEDX_MIP_LEVELS_FULL", "4 levels", out.mip_levels == 4);
    sedx_image_release(&out);
    b = ok; b.type = SEDX_IMAGE_1D; b.height = 0; b.mip_levels = 4;
    MIS_RC(F, "(valid) 1D with height 0 (= 1), the whole chain", SEDX_SUCCESS, LOG_NONE, sedx_image_create(ctx, &b, &out));
    sedx_image_release(&out);
    b = ok; b.name = NULL;
    MIS_RC(F, "(valid) NULL name", SEDX_SUCCESS, LOG_NONE, sedx_image_create(ctx, &b, &out));
    MIS_STR("sedx_image_name", "(valid) an unnamed image", "", LOG_NONE, sedx_image_name(&out));
    sedx_image_release(&out);
    MIS_TRUE(F, "after the group", "no image left", sedx_image_count(ctx) == 0);

    mis_roundtrip(ctx, "sedx_image_create misuse");
    mis_context_destroy(ctx);
    mis_end("image.h (sedx_image_create)");
}

/* ------------------------------------------------------------------------------------------
 * References, queries, set_layout, mark_used
 * ---------------------------------------------------------------------------------------- */
static void test_refs(void **state)
{
    (void)state;
    mis_begin();
    sedx_context *ctx = img_context();
    sedx_context *other = img_context();
    bad_set bs;
    bad_set_init(ctx, &bs);
    victim v;
    victim_make(ctx, &v, "misuse refs");
    const VkImageLayout SRO = VK_IMAGE_LAYOUT_SHADER_READ_ONLY_OPTIMAL;
    char in[160];

    for (int k = 0; k < BAD_COUNT; ++k) {
        const sedx_image *p = bad_ptr(&bs, k);
        sedx_image before;
        if (p) before = *p;
        sedx_image got;
        memset(&got, 0x11, sizeof got);
        MIS_VOID("sedx_image_retain", bad_name[k], bad_log[k], got = sedx_image_retain(p));
        MIS_TRUE("sedx_image_retain", bad_name[k], "returns {0}; the image's reference count unchanged",
                 !got.resource && !got.handle && !got.image && !got.view && sedx_image_ref_count(&bs.keeper) == 1);
        MIS_VAL("sedx_image_is_valid", bad_name[k], false, LOG_NONE, sedx_image_is_valid(p));
        MIS_VAL("sedx_image_ref_count", bad_name[k], 0, LOG_ANY, sedx_image_ref_count(p));
        MIS_STR("sedx_image_name", bad_name[k], "", LOG_ANY, sedx_image_name(p));
        MIS_VAL("sedx_image_layout", bad_name[k], VK_IMAGE_LAYOUT_UNDEFINED, LOG_ANY, sedx_image_layout(p));
        VkExtent3D e;
        memset(&e, 0x11, sizeof e);
        MIS_VOID("sedx_image_mip_extent", bad_name[k], LOG_ANY, e = sedx_image_mip_extent(p, 0));
        MIS_TRUE("sedx_image_mip_extent", bad_name[k], "returns {0, 0, 0}", mis_all(&e, 0, sizeof e));
        MIS_VAL("sedx_image_mip_size", bad_name[k], 0, LOG_ANY, sedx_image_mip_size(p, 0));
        MIS_RC("sedx_image_set_layout", bad_name[k], SEDX_ERROR_INVALID_HANDLE,
               k == BAD_NULL ? "sedx_image_set_layout: image pointer is NULL" : bad_log[k],
               sedx_image_set_layout(p, VK_IMAGE_LAYOUT_GENERAL));
        sedx_ticket t0 = {0};
        MIS_RC("sedx_image_mark_used", bad_name[k], SEDX_ERROR_INVALID_HANDLE,
               k == BAD_NULL ? "sedx_image_mark_used: image pointer is NULL" : bad_log[k], sedx_image_mark_used(p, t0));
        if (p) MIS_TRUE("sedx_image_*", bad_name[k], "the struct untouched", memcmp(p, &before, sizeof before) == 0);
    }
    MIS_TRUE("sedx_image_set_layout", "bad images", "the stale copy's image kept its layout",
             sedx_image_layout(&bs.keeper) == VK_IMAGE_LAYOUT_UNDEFINED);

    /* release: NULL and {0} are silent no-ops; the others are logged and ignored */
    MIS_VOID("sedx_image_release", "NULL", LOG_NONE, sedx_image_release(NULL));
    sedx_image z = {0};
    MIS_VOID("sedx_image_release", "zeroed (empty) image", LOG_NONE, sedx_image_release(&z));
    sedx_image rel = bs.released;
    MIS_VOID("sedx_image_release", "released image (double release)", "double release or stale copy",
             sedx_image_release(&rel));
    MIS_TRUE("sedx_image_release", "released image (double release)", "*img emptied", mis_all(&rel, 0, sizeof rel));
    sedx_image st = bs.stale;
    MIS_VOID("sedx_image_release", "stale copy (another reference alive)", "double release or stale copy",
             sedx_image_release(&st));
    MIS_TRUE("sedx_image_release", "stale copy (another reference alive)", "the live reference kept its image",
             sedx_image_is_valid(&bs.keeper) && sedx_image_ref_count(&bs.keeper) == 1);
    sedx_image gb = bs.garbage;
    MIS_VOID("sedx_image_release", "garbage image (memset 0xAB)", "double release or stale copy", sedx_image_release(&gb));
    sedx_image half = v.img;
    half.handle = 0;
    MIS_VOID("sedx_image_release", "resource set, handle 0", "double release or stale copy", sedx_image_release(&half));
    half = v.img;
    half.resource = NULL;
    MIS_VOID("sedx_image_release", "handle of a live image, resource NULL", "double release or stale copy",
             sedx_image_release(&half));
    half = v.img;
    half.resource = bs.keeper.resource;
    MIS_VOID("sedx_image_release", "handle of one image, resource of another", "double release or stale copy",
             sedx_image_release(&half));
    MIS_TRUE("sedx_image_release", "mismatched handles", "both images still live with one reference",
             sedx_image_ref_count(&v.img) == 1 && sedx_image_ref_count(&bs.keeper) == 1);

    /* queries with a valid image: levels that do not exist */
    VkExtent3D e;
    MIS_VOID("sedx_image_mip_extent", "level 2 of 2", LOG_ANY, e = sedx_image_mip_extent(&v.img, 2));
    MIS_TRUE("sedx_image_mip_extent", "level 2 of 2", "returns {0, 0, 0}", !e.width && !e.height && !e.depth);
    MIS_VOID("sedx_image_mip_extent", "level 0xFFFFFFFF", LOG_ANY, e = sedx_image_mip_extent(&v.img, 0xFFFFFFFFu));
    MIS_TRUE("sedx_image_mip_extent", "level 0xFFFFFFFF", "returns {0, 0, 0}", !e.width && !e.height && !e.depth);
    MIS_VOID("sedx_image_mip_extent", "(valid) level 1", LOG_NONE, e = sedx_image_mip_extent(&v.img, 1));
    MIS_TRUE("sedx_image_mip_extent", "(valid) level 1", "8x4x1", e.width == 8 && e.height == 4 && e.depth == 1);
    MIS_VAL("sedx_image_mip_size", "level 2 of 2", 0, LOG_ANY, sedx_image_mip_size(&v.img, 2));
    MIS_VAL("sedx_image_mip_size", "level 0xFFFFFFFF", 0, LOG_ANY, sedx_image_mip_size(&v.img, 0xFFFFFFFFu));
    MIS_VAL("sedx_image_mip_size", "(valid) level 1: one layer", 8 * 4 * 4, LOG_NONE, sedx_image_mip_size(&v.img, 1));
    MIS_VAL("sedx_mip_chain_length", "all zero", 1, LOG_ANY, sedx_mip_chain_length(0, 0, 0));
    MIS_VAL("sedx_mip_chain_length", "width 0, height 8", 4, LOG_ANY, sedx_mip_chain_length(0, 8, 0));
    MIS_VAL("sedx_mip_chain_length", "UINT32_MAX", 32, LOG_ANY, sedx_mip_chain_length(UINT32_MAX, 1, 1));
    MIS_VAL("sedx_image_count", "NULL ctx", 0, LOG_ANY, sedx_image_count(NULL));
    MIS_VAL("sedx_image_count", "(valid) another context's images are not counted", 0, LOG_NONE, sedx_image_count(other));
    /* another context's image: these calls take no context, so it is a valid image */
    sedx_image theirs = sedx_image_retain(&v.img);
    MIS_VAL("sedx_image_ref_count", "(valid) an image of another context than the caller's", 2, LOG_NONE,
            sedx_image_ref_count(&theirs));
    sedx_image_release(&theirs);

    /* set_layout: layouts that are not ones sedx can start from for this image */
    static const struct {
        VkImageLayout l;
        const char *in, *log;
    } bad_layouts[] = {
        {VK_IMAGE_LAYOUT_PREINITIALIZED, "PREINITIALIZED (linear images only)", "layout 8"},
        {(VkImageLayout)12345, "garbage 12345", "layout 12345"},
        {(VkImageLayout)-1, "garbage -1", "layout -1"},
        {(VkImageLayout)1000200000, "garbage 1000200000 (between extension layouts)", "layout 1000200000"},
        {(VkImageLayout)1000117005, "garbage 1000117005", "layout 1000117005"},
        {VK_IMAGE_LAYOUT_PRESENT_SRC_KHR, "PRESENT_SRC_KHR (not a swapchain image)", "layout 1000001002"},
        {VK_IMAGE_LAYOUT_SHARED_PRESENT_KHR, "SHARED_PRESENT_KHR (an extension sedx does not enable)", "layout 1000111000"},
        {VK_IMAGE_LAYOUT_COLOR_ATTACHMENT_OPTIMAL, "COLOR_ATTACHMENT_OPTIMAL without that usage", "layout 2"},
        {VK_IMAGE_LAYOUT_DEPTH_STENCIL_ATTACHMENT_OPTIMAL, "DEPTH_STENCIL_ATTACHMENT_OPTIMAL on a colour image", "layout 3"},
        {VK_IMAGE_LAYOUT_DEPTH_STENCIL_READ_ONLY_OPTIMAL, "DEPTH_STENCIL_READ_ONLY_OPTIMAL on a colour image", "layout 4"},
        {VK_IMAGE_LAYOUT_DEPTH_READ_ONLY_STENCIL_ATTACHMENT_OPTIMAL, "DEPTH_READ_ONLY_STENCIL_ATTACHMENT on a colour image",
         "layout 1000117000"},
        {VK_IMAGE_LAYOUT_DEPTH_ATTACHMENT_OPTIMAL, "DEPTH_ATTACHMENT_OPTIMAL (separate depth/stencil layouts not enabled)",
         "layout 1000241000"},
        {VK_IMAGE_LAYOUT_ATTACHMENT_OPTIMAL, "ATTACHMENT_OPTIMAL without an attachment usage", "layout 1000314001"},
    };
    for (size_t i = 0; i < sizeof bad_layouts / sizeof bad_layouts[0]; ++i) {
        MIS_RC("sedx_image_set_layout", bad_layouts[i].in, SEDX_ERROR_INVALID_ARGUMENT,
               bad_layouts[i].log, sedx_image_set_layout(&v.img, bad_layouts[i].l));
        MIS_TRUE("sedx_image_set_layout", bad_layouts[i].in, "the tracked layout unchanged", sedx_image_layout(&v.img) == SRO);
    }
    MIS_TRUE("sedx_image_set_layout", "bad layouts", "the texels and layout as they were", victim_intact(ctx, &v, SRO));
    MIS_RC("sedx_image_set_layout", "(valid) GENERAL (the application moved it)", SEDX_SUCCESS, LOG_NONE,
           sedx_image_set_layout(&v.img, VK_IMAGE_LAYOUT_GENERAL));
    MIS_RC("sedx_image_set_layout", "(valid) TRANSFER_SRC_OPTIMAL", SEDX_SUCCESS, LOG_NONE,
           sedx_image_set_layout(&v.img, VK_IMAGE_LAYOUT_TRANSFER_SRC_OPTIMAL));
    MIS_RC("sedx_image_set_layout", "(valid) back to SHADER_READ_ONLY_OPTIMAL", SEDX_SUCCESS, LOG_NONE,
           sedx_image_set_layout(&v.img, SRO));

    /* mark_used: tickets that cannot be this image's */
    sedx_ticket real;
    assert_int_equal(sedx_upload_submit(ctx, &real), SEDX_SUCCESS);
    sedx_ticket tk = real;
    tk.context_id = real.context_id + 1000;
    MIS_RC("sedx_image_mark_used", "ticket of another context", SEDX_ERROR_WRONG_CONTEXT,
           "sedx_image_mark_used: image 'misuse refs': ticket of context", sedx_image_mark_used(&v.img, tk));
    sedx_ticket ot = {0};
    sedx_buffer ob[2];
    for (int i = 0; i < 2; ++i)
        assert_int_equal(sedx_buffer_create(other, 256, SEDX_BUFFER_USAGE_STORAGE, SEDX_MEMORY_GPU, "misuse other", &ob[i]),
                         SEDX_SUCCESS);
    assert_int_equal(sedx_gpu_copy(other, &ob[0], 0, &ob[1], 0, 256, &ot), SEDX_SUCCESS);
    assert_true(ot.value != 0);
    MIS_RC("sedx_image_mark_used", "a real ticket of another context", SEDX_ERROR_WRONG_CONTEXT,
           "sedx_image_mark_used: image 'misuse refs': ticket of context", sedx_image_mark_used(&v.img, ot));
    sedx_buffer_release(&ob[0]);
    sedx_buffer_release(&ob[1]);
    tk = real;
    tk.queue = 7;
    MIS_RC("sedx_image_mark_used", "queue 7", SEDX_ERROR_INVALID_ARGUMENT, "sedx_image_mark_used: image 'misuse refs': "
           "ticket with queue 7", sedx_image_mark_used(&v.img, tk));
    tk = real;
    tk.queue = 0xFFFFFFFFu;
    MIS_RC("sedx_image_mark_used", "queue 0xFFFFFFFF", SEDX_ERROR_INVALID_ARGUMENT, "ticket with queue 4294967295",
           sedx_image_mark_used(&v.img, tk));
    tk = real;
    tk.value = real.value + 1000;
    snprintf(in, sizeof in, "value never submitted (the last + 1000)");
    MIS_RC("sedx_image_mark_used", in, SEDX_ERROR_INVALID_ARGUMENT, "was never submitted", sedx_image_mark_used(&v.img, tk));
    tk.value = UINT64_MAX;
    MIS_RC("sedx_image_mark_used", "value UINT64_MAX", SEDX_ERROR_INVALID_ARGUMENT, "was never submitted",
           sedx_image_mark_used(&v.img, tk));
    MIS_RC("sedx_image_mark_used", "(valid) value 0: nothing to wait for", SEDX_SUCCESS, LOG_NONE,
           sedx_image_mark_used(&v.img, (sedx_ticket){0, 0, real.context_id}));
    MIS_RC("sedx_image_mark_used", "(valid) the last upload's ticket", SEDX_SUCCESS, LOG_NONE,
           sedx_image_mark_used(&v.img, real));
    MIS_TRUE("sedx_image_mark_used", "after the refusals", "the texels and layout as they were", victim_intact(ctx, &v, SRO));

    victim_free(&v);
    sedx_image_release(&bs.keeper);
    mis_roundtrip(ctx, "image references and queries misuse");
    mis_context_destroy(other);
    mis_context_destroy(ctx);
    mis_end("image.h (references, queries, set_layout, mark_used)");
}

/* ------------------------------------------------------------------------------------------
 * sedx_upload_image
 * ---------------------------------------------------------------------------------------- */
static void test_upload(void **state)
{
    (void)state;
    mis_begin();
    sedx_context *ctx = img_context();
    sedx_context *other = img_context();
    bad_set bs;
    bad_set_init(ctx, &bs);
    victim v;
    victim_make(ctx, &v, "victim");
    const VkImageLayout SRO = VK_IMAGE_LAYOUT_SHADER_READ_ONLY_OPTIMAL;
    const char *F = "sedx_upload_image";
    uint8_t *junk = malloc(1 << 20);
    memset(junk, 0xEE, 1 << 20);
    sedx_image_region g = {0}; /* level 0, layer 0, whole: 16x8 */
    g.data = junk;
    sedx_image_region b;
    char in[200];

#define UP_BAD(input, code, needle, img, regions, count, info)                                                  \
    do {                                                                                                        \
        MIS_RC(F, input, code, needle, sedx_upload_image(ctx, img, regions, count, info));                     \
        MIS_TRUE(F, input, "nothing written, layout unchanged", victim_intact(ctx, &v, SRO));                  \
    } while (0)

    MIS_RC(F, "NULL ctx", SEDX_ERROR_INVALID_ARGUMENT, "sedx_upload_image: ctx is NULL",
           sedx_upload_image(NULL, &v.img, &g, 1, NULL));
    UP_BAD("NULL regions, count 1", SEDX_ERROR_INVALID_ARGUMENT, "sedx_upload_image: regions is NULL", &v.img, NULL, 1, NULL);
    for (int k = 0; k < BAD_COUNT; ++k)
        MIS_RC(F, bad_name[k], SEDX_ERROR_INVALID_HANDLE, row(in, sizeof in, "sedx_upload_image: ", bad_log[k]),
               sedx_upload_image(ctx, bad_ptr(&bs, k), &g, 1, NULL));
    MIS_RC(F, "image of another context (called with that context)", SEDX_ERROR_WRONG_CONTEXT,
           "image 'victim' belongs to another context", sedx_upload_image(other, &v.img, &g, 1, NULL));
    MIS_TRUE(F, "image of another context", "nothing written", victim_intact(ctx, &v, SRO));
    MIS_RC(F, "(valid) count 0: nothing to do", SEDX_SUCCESS, LOG_NONE, sedx_upload_image(ctx, &v.img, NULL, 0, NULL));

    /* the info */
    sedx_image_upload_info ui = {0};
    ui.flags = 0x80;
    UP_BAD("unknown upload flag 0x80", SEDX_ERROR_INVALID_ARGUMENT, "sedx_upload_image: unknown flags 0x80", &v.img, &g, 1, &ui);
    ui.flags = 0x80000000u | SEDX_UPLOAD_NO_WAIT;
    UP_BAD("unknown upload flag 0x80000000 with NO_WAIT", SEDX_ERROR_INVALID_ARGUMENT, "unknown flags 0x80000000", &v.img,
           &g, 1, &ui);
    ui.flags = 0;
    static const struct {
        VkImageLayout l;
        const char *in, *log;
    } finals[] = {
        {VK_IMAGE_LAYOUT_COLOR_ATTACHMENT_OPTIMAL, "final layout COLOR_ATTACHMENT_OPTIMAL, usage without it", "final layout 2"},
        {VK_IMAGE_LAYOUT_DEPTH_STENCIL_ATTACHMENT_OPTIMAL, "final layout DEPTH_STENCIL_ATTACHMENT_OPTIMAL (colour)", "final layout 3"},
        {VK_IMAGE_LAYOUT_DEPTH_STENCIL_READ_ONLY_OPTIMAL, "final layout DEPTH_STENCIL_READ_ONLY_OPTIMAL (colour)", "final layout 4"},
        {VK_IMAGE_LAYOUT_PREINITIALIZED, "final layout PREINITIALIZED", "final layout 8"},
        {VK_IMAGE_LAYOUT_PRESENT_SRC_KHR, "final layout PRESENT_SRC_KHR", "final layout 1000001002"},
        {(VkImageLayout)12345, "final layout garbage 12345", "final layout 12345"},
        {(VkImageLayout)-1, "final layout garbage -1", "final layout -1"},
    };
    for (size_t i = 0; i < sizeof finals / sizeof finals[0]; ++i) {
        ui.final_layout = finals[i].l;
        UP_BAD(finals[i].in, SEDX_ERROR_INVALID_ARGUMENT, finals[i].log, &v.img, &g, 1, &ui);
    }
    ui.final_layout = 0;

    /* regions */
    b = g; b.data = NULL;
    UP_BAD("region data NULL", SEDX_ERROR_INVALID_ARGUMENT, "image 'victim': data is NULL", &v.img, &b, 1, NULL);
    b = g; b.mip_level = 2;
    UP_BAD("mip 2 of 2", SEDX_ERROR_OUT_OF_BOUNDS, "image 'victim': mip 2 of 2 levels", &v.img, &b, 1, NULL);
    b = g; b.mip_level = 0xFFFFFFFFu;
    UP_BAD("mip 0xFFFFFFFF", SEDX_ERROR_OUT_OF_BOUNDS, "mip 4294967295 of 2 levels", &v.img, &b, 1, NULL);
    b = g; b.base_array_layer = 2;
    UP_BAD("layer 2 of 2", SEDX_ERROR_OUT_OF_BOUNDS, "layers 2+1 of 2", &v.img, &b, 1, NULL);
    b = g; b.base_array_layer = 1; b.layer_count = 2;
    UP_BAD("layers 1+2 of 2", SEDX_ERROR_OUT_OF_BOUNDS, "layers 1+2 of 2", &v.img, &b, 1, NULL);
    b = g; b.base_array_layer = 1; b.layer_count = 0xFFFFFFFFu;
    UP_BAD("layers 1+0xFFFFFFFF (wraps)", SEDX_ERROR_OUT_OF_BOUNDS, "layers 1+4294967295 of 2", &v.img, &b, 1, NULL);
    b = g; b.base_array_layer = 0xFFFFFFFFu;
    UP_BAD("base layer 0xFFFFFFFF", SEDX_ERROR_OUT_OF_BOUNDS, "layers 4294967295+1 of 2", &v.img, &b, 1, NULL);
    b = g; b.offset.x = -1;
    UP_BAD("offset x -1", SEDX_ERROR_OUT_OF_BOUNDS, "offset (-1,0,0) is outside mip 0 (16x8x1)", &v.img, &b, 1, NULL);
    b = g; b.offset.y = -4;
    UP_BAD("offset y -4", SEDX_ERROR_OUT_OF_BOUNDS, "offset (0,-4,0) is outside mip 0", &v.img, &b, 1, NULL);
    b = g; b.offset.z = INT32_MIN;
    UP_BAD("offset z INT32_MIN", SEDX_ERROR_OUT_OF_BOUNDS, "is outside mip 0", &v.img, &b, 1, NULL);
    b = g; b.offset.x = 16;
    UP_BAD("offset x 16 (the level's width)", SEDX_ERROR_OUT_OF_BOUNDS, "offset (16,0,0) is outside mip 0", &v.img, &b, 1, NULL);
    b = g; b.offset.z = 1;
    UP_BAD("offset z 1 in a 2D image", SEDX_ERROR_OUT_OF_BOUNDS, "offset (0,0,1) is outside mip 0", &v.img, &b, 1, NULL);
    b = g; b.offset.x = 10; b.extent = (VkExtent3D){7, 1, 1};
    UP_BAD("box (10,0,0)+(7,1,1) past the width", SEDX_ERROR_OUT_OF_BOUNDS,
           "region (10,0,0)+(7,1,1) is outside mip 0 (16x8x1)", &v.img, &b, 1, NULL);
    b = g; b.extent = (VkExtent3D){16, 9, 1};
    UP_BAD("extent height 9 of 8", SEDX_ERROR_OUT_OF_BOUNDS, "is outside mip 0", &v.img, &b, 1, NULL);
    b = g; b.extent = (VkExtent3D){16, 8, 2};
    UP_BAD("extent depth 2 in a 2D image", SEDX_ERROR_OUT_OF_BOUNDS, "is outside mip 0", &v.img, &b, 1, NULL);
    b = g; b.offset.x = 8; b.extent = (VkExtent3D){0xFFFFFFFFu, 1, 1};
    UP_BAD("offset 8 + width 0xFFFFFFFF (wraps in 32 bits)", SEDX_ERROR_OUT_OF_BOUNDS, "is outside mip 0", &v.img, &b, 1, NULL);
    b = g; b.mip_level = 1; b.extent = (VkExtent3D){8, 5, 1};
    UP_BAD("mip 1 box 8x5 of 8x4", SEDX_ERROR_OUT_OF_BOUNDS, "is outside mip 1 (8x4x1)", &v.img, &b, 1, NULL);
    b = g; b.row_length = 15;
    UP_BAD("row_length 15 < width 16", SEDX_ERROR_INVALID_ARGUMENT, "row_length 15 / image_height 8 shorter than the region's 16x8",
           &v.img, &b, 1, NULL);
    b = g; b.offset.x = 4; b.extent = (VkExtent3D){8, 2, 1}; b.row_length = 7;
    UP_BAD("row_length 7 < box width 8", SEDX_ERROR_INVALID_ARGUMENT, "row_length 7", &v.img, &b, 1, NULL);
    b = g; b.image_height = 3;
    UP_BAD("image_height 3 < height 8", SEDX_ERROR_INVALID_ARGUMENT, "image_height 3 shorter", &v.img, &b, 1, NULL);
    b = g; b.aspect = VK_IMAGE_ASPECT_DEPTH_BIT;
    UP_BAD("aspect DEPTH on a colour image", SEDX_ERROR_INVALID_ARGUMENT, "aspect 0x2 is not one aspect of its format (0x1)",
           &v.img, &b, 1, NULL);
    b = g; b.aspect = VK_IMAGE_ASPECT_STENCIL_BIT;
    UP_BAD("aspect STENCIL on a colour image", SEDX_ERROR_INVALID_ARGUMENT, "aspect 0x4", &v.img, &b, 1, NULL);
    b = g; b.aspect = VK_IMAGE_ASPECT_COLOR_BIT | VK_IMAGE_ASPECT_DEPTH_BIT;
    UP_BAD("aspect COLOR | DEPTH (two)", SEDX_ERROR_INVALID_ARGUMENT, "aspect 0x3", &v.img, &b, 1, NULL);
    b = g; b.aspect = VK_IMAGE_ASPECT_PLANE_0_BIT;
    UP_BAD("aspect PLANE_0 on a single-plane format", SEDX_ERROR_INVALID_ARGUMENT, "aspect 0x10", &v.img, &b, 1, NULL);
    b = g; b.aspect = 0x80000000u;
    UP_BAD("aspect garbage 0x80000000", SEDX_ERROR_INVALID_ARGUMENT, "aspect 0x80000000", &v.img, &b, 1, NULL);

    /* several regions: overlap, and a bad one after good ones */
    sedx_image_region two[3] = {g, g, g};
    UP_BAD("the same region twice", SEDX_ERROR_INVALID_ARGUMENT, "regions 0 and 1 of one call write the same texels",
           &v.img, two, 2, NULL);
    two[1].offset.x = 4; two[1].offset.y = 6; two[1].extent = (VkExtent3D){4, 2, 1};
    UP_BAD("a box inside the first region", SEDX_ERROR_INVALID_ARGUMENT, "write the same texels", &v.img, two, 2, NULL);
    two[0].layer_count = 2; two[1] = g; two[1].base_array_layer = 1; two[1].extent = (VkExtent3D){1, 1, 1};
    UP_BAD("layers 0+2 and one texel of layer 1", SEDX_ERROR_INVALID_ARGUMENT, "write the same texels", &v.img, two, 2, NULL);
    two[0] = g; two[0].extent = (VkExtent3D){8, 8, 1};
    two[1] = g; two[1].offset.x = 8; two[1].extent = (VkExtent3D){8, 8, 1};
    two[2] = g; two[2].offset.x = 15; two[2].offset.y = 7; two[2].extent = (VkExtent3D){1, 1, 1};
    UP_BAD("three regions, the third overlapping the second", SEDX_ERROR_INVALID_ARGUMENT, "regions 1 and 2", &v.img, two, 3, NULL);
    two[2] = g; two[2].mip_level = 5;
    UP_BAD("two good regions, then mip 5", SEDX_ERROR_OUT_OF_BOUNDS, "mip 5 of 2 levels", &v.img, two, 3, NULL);
    two[2] = g; two[2].base_array_layer = 1; two[2].data = NULL;
    UP_BAD("two good regions, then data NULL", SEDX_ERROR_INVALID_ARGUMENT, "data is NULL", &v.img, two, 3, NULL);

    /* NO_WAIT: larger than it may take at once; the ring held by reservations */
    {
        sedx_image_info big = {0};
        big.format = VK_FORMAT_R8G8B8A8_UNORM;
        big.width = big.height = 128; /* 64 KiB: more than a quarter of the ring */
        big.name = "big";
        sedx_image bi;
        assert_int_equal(sedx_image_create(ctx, &big, &bi), SEDX_SUCCESS);
        sedx_image_region all = {0};
        all.data = junk;
        ui.flags = SEDX_UPLOAD_NO_WAIT;
        MIS_RC(F, "NO_WAIT, 64 KiB at once (more than a quarter of the 64 KiB ring)", SEDX_ERROR_OUT_OF_STAGING,
               "bytes exceed a quarter of the staging ring and NO_WAIT was asked",
               sedx_upload_image(ctx, &bi, &all, 1, &ui));
        MIS_TRUE(F, "NO_WAIT, 64 KiB at once", "the image still holds no data",
                 sedx_image_layout(&bi) == VK_IMAGE_LAYOUT_UNDEFINED);
        sedx_image_release(&bi);
        sedx_buffer rb;
        assert_int_equal(sedx_buffer_create(ctx, RING, SEDX_BUFFER_USAGE_STORAGE, SEDX_MEMORY_GPU, "misuse reserve", &rb),
                         SEDX_SUCCESS);
        assert_int_equal(sedx_upload_flush(ctx), SEDX_SUCCESS);
        assert_int_equal(sedx_context_wait_idle(ctx), SEDX_SUCCESS);
        enum { MAXR = 200 };
        sedx_upload_reservation rv[MAXR];
        int n = 0;
        static const uint64_t sizes[3] = {4096, 256, 16};
        for (int k = 0; k < 3; ++k)
            while (n < MAXR && sedx_upload_reserve_ex(ctx, &rb, 0, sizes[k], SEDX_UPLOAD_NO_WAIT, &rv[n]) == SEDX_SUCCESS)
                n++;
        MIS_TRUE(F, "NO_WAIT, the ring held by reservations", "the reservations filled the ring", n > 16 && n < MAXR);
        b = g; b.extent = (VkExtent3D){16, 1, 1};
        MIS_RC(F, "NO_WAIT, the ring held by reservations (one row)", SEDX_ERROR_OUT_OF_STAGING,
               "sedx_upload_image: image 'victim': the staging ring cannot take its", sedx_upload_image(ctx, &v.img, &b, 1, &ui));
        for (int i = 0; i < n; ++i) assert_int_equal(sedx_upload_cancel(ctx, &rv[i]), SEDX_SUCCESS);
        sedx_buffer_release(&rb);
        MIS_TRUE(F, "NO_WAIT, the ring held by reservations", "nothing written, layout unchanged",
                 victim_intact(ctx, &v, SRO));
        ui.flags = 0;
    }

    /* one block row larger than the whole ring, after a region that fits: all or nothing */
    {
        sedx_image_info one = {0};
        one.type = SEDX_IMAGE_1D;
        one.format = VK_FORMAT_R32G32B32A32_SFLOAT;
        one.width = 8192; /* a row of 128 KiB, the ring 64 KiB */
        one.array_layers = 2;
        one.name = "wide";
        sedx_image wi;
        assert_int_equal(sedx_image_create(ctx, &one, &wi), SEDX_SUCCESS);
        enum { CH = 1024 }; /* 16 KiB pieces */
        uint8_t *truth = malloc(8192 * 16 * 2);
        tu_fill_random(truth, 8192 * 16 * 2, &g_mis.rng);
        sedx_image_region parts[16];
        for (int i = 0; i < 16; ++i) {
            memset(&parts[i], 0, sizeof parts[i]);
            parts[i].data = truth + (size_t)i * CH * 16;
            parts[i].base_array_layer = (uint32_t)(i / 8);
            parts[i].offset.x = (i % 8) * CH;
            parts[i].extent = (VkExtent3D){CH, 1, 1};
        }
        assert_int_equal(sedx_upload_image(ctx, &wi, parts, 16, NULL), SEDX_SUCCESS);
        sedx_image_region mix[2] = {{0}};
        mix[0].data = junk;
        mix[0].extent = (VkExtent3D){16, 1, 1};
        mix[1].data = junk;
        mix[1].base_array_layer = 1;
        MIS_RC(F, "a region that fits, then one row of 128 KiB (larger than the 64 KiB ring)", SEDX_ERROR_OUT_OF_STAGING,
               "image 'wide': one block row", sedx_upload_image(ctx, &wi, mix, 2, NULL));
        bool same = sedx_image_layout(&wi) == SRO;
        uint8_t *back = malloc(CH * 16);
        for (int i = 0; i < 16 && same; ++i) {
            sedx_image_region r = parts[i];
            r.data = NULL;
            same = sedx_download_image(ctx, &wi, &r, back) == SEDX_SUCCESS &&
                   memcmp(back, truth + (size_t)i * CH * 16, CH * 16) == 0;
        }
        MIS_TRUE(F, "a region that fits, then one row larger than the ring", "nothing written (the first region neither)",
                 same);
        free(back);
        free(truth);
        sedx_image_release(&wi);
    }

    /* other kinds of image */
    sedx_image_info ii = {0};
    ii.format = VK_FORMAT_R8G8B8A8_UNORM;
    ii.width = ii.height = ii.depth = 4;
    ii.type = SEDX_IMAGE_3D;
    ii.name = "volume";
    sedx_image vol;
    assert_int_equal(sedx_image_create(ctx, &ii, &vol), SEDX_SUCCESS);
    b = g; b.base_array_layer = 1;
    MIS_RC(F, "3D image, layer 1", SEDX_ERROR_OUT_OF_BOUNDS, "image 'volume': layers 1+1 of 1", sedx_upload_image(ctx, &vol, &b, 1, NULL));
    b = g; b.offset.z = 4;
    MIS_RC(F, "3D image, offset z 4 of depth 4", SEDX_ERROR_OUT_OF_BOUNDS, "offset (0,0,4) is outside mip 0 (4x4x4)",
           sedx_upload_image(ctx, &vol, &b, 1, NULL));
    b = g; b.offset.z = 2; b.extent = (VkExtent3D){4, 4, 3};
    MIS_RC(F, "3D image, box z 2 + 3 of depth 4", SEDX_ERROR_OUT_OF_BOUNDS, "region (0,0,2)+(4,4,3)",
           sedx_upload_image(ctx, &vol, &b, 1, NULL));
    MIS_TRUE(F, "3D image", "still holds no data", sedx_image_layout(&vol) == VK_IMAGE_LAYOUT_UNDEFINED);
    sedx_image_release(&vol);
    ii = (sedx_image_info){0};
    ii.type = SEDX_IMAGE_1D;
    ii.format = VK_FORMAT_R8G8B8A8_UNORM;
    ii.width = 16;
    ii.name = "line";
    sedx_image line;
    assert_int_equal(sedx_image_create(ctx, &ii, &line), SEDX_SUCCESS);
    b = g; b.offset.y = 1;
    MIS_RC(F, "1D image, offset y 1", SEDX_ERROR_OUT_OF_BOUNDS, "offset (0,1,0) is outside mip 0 (16x1x1)",
           sedx_upload_image(ctx, &line, &b, 1, NULL));
    b = g; b.extent = (VkExtent3D){16, 2, 1};
    MIS_RC(F, "1D image, extent height 2", SEDX_ERROR_OUT_OF_BOUNDS, "region (0,0,0)+(16,2,1)",
           sedx_upload_image(ctx, &line, &b, 1, NULL));
    sedx_image_release(&line);

    /* depth */
    if (format_has(ctx, VK_FORMAT_D16_UNORM, VK_FORMAT_FEATURE_TRANSFER_DST_BIT | VK_FORMAT_FEATURE_TRANSFER_SRC_BIT)) {
        ii = (sedx_image_info){0};
        ii.format = VK_FORMAT_D16_UNORM;
        ii.width = ii.height = 8;
        ii.name = "depth";
        sedx_image d;
        assert_int_equal(sedx_image_create(ctx, &ii, &d), SEDX_SUCCESS);
        b = g; b.aspect = VK_IMAGE_ASPECT_COLOR_BIT;
        MIS_RC(F, "aspect COLOR on a depth image", SEDX_ERROR_INVALID_ARGUMENT, "image 'depth': aspect 0x1 is not one aspect of its format (0x2)",
               sedx_upload_image(ctx, &d, &b, 1, NULL));
        b = g; b.aspect = VK_IMAGE_ASPECT_STENCIL_BIT;
        MIS_RC(F, "aspect STENCIL on D16 (no stencil)", SEDX_ERROR_INVALID_ARGUMENT, "aspect 0x4",
               sedx_upload_image(ctx, &d, &b, 1, NULL));
        ui.final_layout = VK_IMAGE_LAYOUT_COLOR_ATTACHMENT_OPTIMAL;
        MIS_RC(F, "final layout COLOR_ATTACHMENT_OPTIMAL on a depth image", SEDX_ERROR_INVALID_ARGUMENT, "final layout 2",
               sedx_upload_image(ctx, &d, &g, 1, &ui));
        ui.final_layout = VK_IMAGE_LAYOUT_DEPTH_STENCIL_ATTACHMENT_OPTIMAL;
        MIS_RC(F, "final layout DEPTH_STENCIL_ATTACHMENT_OPTIMAL without that usage", SEDX_ERROR_INVALID_ARGUMENT,
               "final layout 3", upload_flush(ctx, &d, &g, 1, &ui));
        ui.final_layout = VK_IMAGE_LAYOUT_DEPTH_STENCIL_READ_ONLY_OPTIMAL;
        MIS_RC(F, "final layout DEPTH_STENCIL_READ_ONLY_OPTIMAL, a depth image without DEPTH_STENCIL_ATTACHMENT usage",
               SEDX_ERROR_INVALID_ARGUMENT, "final layout 4", upload_flush(ctx, &d, &g, 1, &ui));
        ui.final_layout = 0;
        MIS_TRUE(F, "depth image", "still holds no data", sedx_image_layout(&d) == VK_IMAGE_LAYOUT_UNDEFINED);
        uint16_t dz[8 * 8] = {0};
        b = g; b.data = dz;
        MIS_RC(F, "(valid) a depth image that is only sampled: default final layout (and its submit)", SEDX_SUCCESS, LOG_NONE,
               upload_flush(ctx, &d, &b, 1, NULL));
        MIS_TRUE(F, "(valid) a depth image that is only sampled", "left in SHADER_READ_ONLY_OPTIMAL",
                 sedx_image_layout(&d) == VK_IMAGE_LAYOUT_SHADER_READ_ONLY_OPTIMAL);
        sedx_image_release(&d);
    } else {
        MIS_SKIP(F, "aspects of a depth image", "D16 cannot be copied on this device");
    }

    /* block-compressed */
    if (format_has(ctx, VK_FORMAT_BC1_RGBA_UNORM_BLOCK, XFER)) {
        ii = (sedx_image_info){0};
        ii.format = VK_FORMAT_BC1_RGBA_UNORM_BLOCK;
        ii.width = ii.height = 14; /* blocks: 4 x 4, the last ones 2 texels wide */
        ii.mip_levels = 2;
        ii.name = "bc1";
        sedx_image c;
        assert_int_equal(sedx_image_create(ctx, &ii, &c), SEDX_SUCCESS);
        uint8_t *bt = malloc(4 * 4 * 8 + 2 * 2 * 8);
        tu_fill_random(bt, 4 * 4 * 8 + 2 * 2 * 8, &g_mis.rng);
        sedx_image_region lv[2] = {{0}};
        lv[0].data = bt;
        lv[1].data = bt + 4 * 4 * 8;
        lv[1].mip_level = 1;
        assert_int_equal(sedx_upload_image(ctx, &c, lv, 2, NULL), SEDX_SUCCESS);
        struct {
            const char *in, *log;
            VkOffset3D o;
            VkExtent3D e;
            uint32_t rl, ih;
        } bc[] = {
            {"BC1: offset x 2 (off the 4x4 grid)", "not on 4x4 block boundaries", {2, 0, 0}, {4, 4, 1}, 0, 0},
            {"BC1: offset y 1", "not on 4x4 block boundaries", {0, 1, 0}, {4, 4, 1}, 0, 0},
            {"BC1: extent 6x4 at 0 (not whole blocks, not to the edge)", "not on 4x4 block boundaries", {0, 0, 0}, {6, 4, 1}, 0, 0},
            {"BC1: extent 4x3 at (4,4)", "not on 4x4 block boundaries", {4, 4, 0}, {4, 3, 1}, 0, 0},
            {"BC1: row_length 18 (not whole blocks)", "row_length or image_height not on 4x4", {0, 0, 0}, {14, 14, 1}, 18, 0},
            {"BC1: image_height 17", "not on 4x4", {0, 0, 0}, {14, 14, 1}, 0, 17},
            {"BC1: offset x -4", "offset (-4,0,0) is outside mip 0 (14x14x1)", {-4, 0, 0}, {4, 4, 1}, 0, 0},
            {"BC1: box (12,0)+(4,4) past the 14-texel edge", "region (12,0,0)+(4,4,1) is outside mip 0", {12, 0, 0}, {4, 4, 1}, 0, 0},
        };
        for (size_t i = 0; i < sizeof bc / sizeof bc[0]; ++i) {
            b = g; b.offset = bc[i].o; b.extent = bc[i].e; b.row_length = bc[i].rl; b.image_height = bc[i].ih;
            MIS_RC(F, bc[i].in, strstr(bc[i].log, "outside") ? SEDX_ERROR_OUT_OF_BOUNDS : SEDX_ERROR_INVALID_ARGUMENT,
                   bc[i].log, sedx_upload_image(ctx, &c, &b, 1, NULL));
        }
        uint8_t *back = malloc(4 * 4 * 8);
        sedx_image_region r0 = {0};
        bool same = sedx_download_image(ctx, &c, &r0, back) == SEDX_SUCCESS && memcmp(back, bt, 4 * 4 * 8) == 0;
        MIS_TRUE(F, "BC1 refusals", "the blocks as they were", same);
        b = g; b.offset = (VkOffset3D){12, 12, 0}; b.extent = (VkExtent3D){2, 2, 1}; b.data = bt;
        MIS_RC(F, "(valid) BC1: the 2x2 corner block at the edge", SEDX_SUCCESS, LOG_NONE, sedx_upload_image(ctx, &c, &b, 1, NULL));
        b = g; b.mip_level = 1; b.data = bt;
        MIS_RC(F, "(valid) BC1: the whole 7x7 level 1", SEDX_SUCCESS, LOG_NONE, sedx_upload_image(ctx, &c, &b, 1, NULL));
        free(back);
        free(bt);
        sedx_image_release(&c);
    } else {
        MIS_SKIP(F, "BC1 block grid", "BC1 cannot be sampled and copied on this device");
    }

    /* a format sedx has no texel block for (where the device has one of them) */
    {
        static const VkFormat unknown[] = {VK_FORMAT_ASTC_6x6_UNORM_BLOCK, VK_FORMAT_ASTC_8x8_UNORM_BLOCK,
                                           VK_FORMAT_G8_B8R8_2PLANE_420_UNORM};
        bool done = false;
        for (size_t i = 0; i < sizeof unknown / sizeof unknown[0] && !done; ++i) {
            ii = (sedx_image_info){0};
            ii.format = unknown[i];
            ii.width = ii.height = 12;
            ii.flags = SEDX_IMAGE_NO_VIEW;
            ii.name = "unknown block";
            sedx_image u;
            if (sedx_image_create(ctx, &ii, &u) != SEDX_SUCCESS) continue;
            done = true;
            MIS_RC(F, "a format whose texel block sedx does not know (ASTC 6x6, 8x8 or 2-plane 4:2:0)",
                   SEDX_ERROR_FEATURE_NOT_PRESENT, "image 'unknown block': format", sedx_upload_image(ctx, &u, &g, 1, NULL));
            sedx_image_release(&u);
        }
        if (!done) MIS_SKIP(F, "a format whose texel block sedx does not know", "no ASTC 6x6/8x8 or 2-plane 4:2:0 images");
    }

    /* multisampled and transient images */
    ii = (sedx_image_info){0};
    ii.format = VK_FORMAT_R8G8B8A8_UNORM;
    ii.width = ii.height = 8;
    ii.samples = VK_SAMPLE_COUNT_4_BIT;
    ii.usage = VK_IMAGE_USAGE_COLOR_ATTACHMENT_BIT;
    ii.name = "msaa";
    sedx_image ms;
    if (sedx_image_create(ctx, &ii, &ms) == SEDX_SUCCESS) {
        MIS_RC(F, "multisampled image", SEDX_ERROR_INVALID_USAGE, "image 'msaa' is multisampled (4 samples)",
               sedx_upload_image(ctx, &ms, &g, 1, NULL));
        sedx_image_release(&ms);
    } else {
        MIS_SKIP(F, "multisampled image", "no 4-sample RGBA8 attachments");
    }
    ii.samples = 0;
    ii.usage = VK_IMAGE_USAGE_TRANSIENT_ATTACHMENT_BIT | VK_IMAGE_USAGE_COLOR_ATTACHMENT_BIT;
    ii.name = "transient";
    sedx_image tr;
    if (sedx_image_create(ctx, &ii, &tr) == SEDX_SUCCESS) {
        MIS_RC(F, "transient attachment (no TRANSFER_DST usage)", SEDX_ERROR_INVALID_USAGE,
               "image 'transient' has no TRANSFER_DST usage", sedx_upload_image(ctx, &tr, &g, 1, NULL));
        MIS_TRUE(F, "transient attachment", "layout unchanged", sedx_image_layout(&tr) == VK_IMAGE_LAYOUT_UNDEFINED);
        sedx_image_release(&tr);
    } else {
        MIS_SKIP(F, "transient attachment", "no transient RGBA8 attachments");
    }

    /* positive controls: what the refusals must not have spoiled */
    b = g; b.offset.x = 15; b.offset.y = 7; b.extent = (VkExtent3D){1, 1, 1}; b.row_length = 0;
    uint8_t px[4] = {1, 2, 3, 4};
    b.data = px;
    MIS_RC(F, "(valid) the last texel", SEDX_SUCCESS, LOG_NONE, sedx_upload_image(ctx, &v.img, &b, 1, NULL));
    memcpy(v.model[0] + (7 * 16 + 15) * 4, px, 4);
    two[0] = g; two[0].extent = (VkExtent3D){8, 8, 1}; two[0].data = v.model[0]; two[0].row_length = 16;
    two[1] = two[0]; two[1].offset.x = 8; two[1].data = v.model[0] + 8 * 4;
    MIS_RC(F, "(valid) two regions side by side (touching, not overlapping)", SEDX_SUCCESS, LOG_NONE,
           sedx_upload_image(ctx, &v.img, two, 2, NULL));
    MIS_TRUE(F, "after the group", "the victim's texels are the model's", victim_intact(ctx, &v, SRO));
#undef UP_BAD

    free(junk);
    victim_free(&v);
    sedx_image_release(&bs.keeper);
    mis_roundtrip(ctx, "sedx_upload_image misuse");
    mis_context_destroy(other);
    mis_context_destroy(ctx);
    mis_end("transfer.h (sedx_upload_image)");
}

/* ------------------------------------------------------------------------------------------
 * sedx_download_image
 * ---------------------------------------------------------------------------------------- */
static void test_download(void **state)
{
    (void)state;
    mis_begin();
    sedx_context *ctx = img_context();
    sedx_context *other = img_context();
    bad_set bs;
    bad_set_init(ctx, &bs);
    victim v;
    victim_make(ctx, &v, "victim");
    const VkImageLayout SRO = VK_IMAGE_LAYOUT_SHADER_READ_ONLY_OPTIMAL;
    const char *F = "sedx_download_image";
    enum { DST = 4096 };
    uint8_t dst[DST];
    char in[200];
    sedx_image_region g = {0}, b;
#define DL_BAD(input, code, needle, c, img, region)                                                             \
    do {                                                                                                        \
        memset(dst, 0x5A, DST);                                                                                 \
        MIS_RC(F, input, code, needle, sedx_download_image(c, img, region, dst));                              \
        MIS_TRUE(F, input, "dst untouched", mis_all(dst, 0x5A, DST));                                           \
    } while (0)

    DL_BAD("NULL ctx", SEDX_ERROR_INVALID_ARGUMENT, "sedx_download_image: ctx is NULL", NULL, &v.img, &g);
    DL_BAD("NULL region", SEDX_ERROR_INVALID_ARGUMENT, "sedx_download_image: region is NULL", ctx, &v.img, NULL);
    MIS_RC(F, "NULL dst", SEDX_ERROR_INVALID_ARGUMENT, "sedx_download_image: dst is NULL", sedx_download_image(ctx, &v.img, &g, NULL));
    for (int k = 0; k < BAD_COUNT; ++k)
        DL_BAD(bad_name[k], SEDX_ERROR_INVALID_HANDLE, row(in, sizeof in, "sedx_download_image: ", bad_log[k]), ctx,
               bad_ptr(&bs, k), &g);
    DL_BAD("image of another context", SEDX_ERROR_WRONG_CONTEXT, "image 'victim' belongs to another context", other, &v.img, &g);
    b = g; b.mip_level = 2;
    DL_BAD("mip 2 of 2", SEDX_ERROR_OUT_OF_BOUNDS, "sedx_download_image: image 'victim': mip 2 of 2 levels", ctx, &v.img, &b);
    b = g; b.base_array_layer = 1; b.layer_count = 2;
    DL_BAD("layers 1+2 of 2", SEDX_ERROR_OUT_OF_BOUNDS, "layers 1+2 of 2", ctx, &v.img, &b);
    b = g; b.offset.y = -1;
    DL_BAD("offset y -1", SEDX_ERROR_OUT_OF_BOUNDS, "offset (0,-1,0) is outside mip 0", ctx, &v.img, &b);
    b = g; b.offset.x = 12; b.extent = (VkExtent3D){5, 1, 1};
    DL_BAD("box (12,0,0)+(5,1,1) past the width", SEDX_ERROR_OUT_OF_BOUNDS, "region (12,0,0)+(5,1,1) is outside mip 0", ctx,
           &v.img, &b);
    b = g; b.mip_level = 1; b.offset.y = 4;
    DL_BAD("mip 1, offset y 4 of height 4", SEDX_ERROR_OUT_OF_BOUNDS, "is outside mip 1 (8x4x1)", ctx, &v.img, &b);
    b = g; b.row_length = 8;
    DL_BAD("row_length 8 < width 16", SEDX_ERROR_INVALID_ARGUMENT, "row_length 8 / image_height 8 shorter", ctx, &v.img, &b);
    b = g; b.image_height = 7;
    DL_BAD("image_height 7 < height 8", SEDX_ERROR_INVALID_ARGUMENT, "image_height 7 shorter", ctx, &v.img, &b);
    b = g; b.aspect = VK_IMAGE_ASPECT_DEPTH_BIT;
    DL_BAD("aspect DEPTH on a colour image", SEDX_ERROR_INVALID_ARGUMENT, "aspect 0x2 is not one aspect", ctx, &v.img, &b);
    b = g; b.aspect = VK_IMAGE_ASPECT_METADATA_BIT;
    DL_BAD("aspect METADATA", SEDX_ERROR_INVALID_ARGUMENT, "aspect 0x8", ctx, &v.img, &b);

    /* block-compressed and depth images */
    if (format_has(ctx, VK_FORMAT_BC1_RGBA_UNORM_BLOCK, XFER)) {
        sedx_image_info bi = {0};
        bi.format = VK_FORMAT_BC1_RGBA_UNORM_BLOCK;
        bi.width = bi.height = 16;
        bi.name = "bc1";
        sedx_image c;
        assert_int_equal(sedx_image_create(ctx, &bi, &c), SEDX_SUCCESS);
        uint8_t blocks[4 * 4 * 8] = {0};
        sedx_image_region all = {0};
        all.data = blocks;
        assert_int_equal(sedx_upload_image(ctx, &c, &all, 1, NULL), SEDX_SUCCESS);
        b = g; b.offset.x = 2; b.extent = (VkExtent3D){4, 4, 1};
        DL_BAD("BC1: offset x 2 (off the 4x4 grid)", SEDX_ERROR_INVALID_ARGUMENT, "image 'bc1': region, row_length or "
               "image_height not on 4x4 block boundaries", ctx, &c, &b);
        b = g; b.extent = (VkExtent3D){6, 4, 1};
        DL_BAD("BC1: extent 6x4 (not whole blocks, not to the edge)", SEDX_ERROR_INVALID_ARGUMENT, "not on 4x4 block",
               ctx, &c, &b);
        b = g; b.row_length = 18;
        DL_BAD("BC1: row_length 18 (not whole blocks)", SEDX_ERROR_INVALID_ARGUMENT, "not on 4x4 block", ctx, &c, &b);
        b = g; b.offset.y = 16;
        DL_BAD("BC1: offset y 16 of 16", SEDX_ERROR_OUT_OF_BOUNDS, "offset (0,16,0) is outside mip 0 (16x16x1)", ctx, &c, &b);
        sedx_image_release(&c);
    } else {
        MIS_SKIP(F, "BC1 block grid", "BC1 cannot be sampled and copied on this device");
    }
    if (format_has(ctx, VK_FORMAT_D16_UNORM, VK_FORMAT_FEATURE_TRANSFER_DST_BIT | VK_FORMAT_FEATURE_TRANSFER_SRC_BIT)) {
        sedx_image_info di = {0};
        di.format = VK_FORMAT_D16_UNORM;
        di.width = di.height = 8;
        di.name = "depth";
        sedx_image d;
        assert_int_equal(sedx_image_create(ctx, &di, &d), SEDX_SUCCESS);
        uint16_t dz[8 * 8] = {0};
        sedx_image_region all = {0};
        all.data = dz;
        assert_int_equal(sedx_upload_image(ctx, &d, &all, 1, NULL), SEDX_SUCCESS);
        b = g; b.aspect = VK_IMAGE_ASPECT_COLOR_BIT;
        DL_BAD("aspect COLOR of a depth image", SEDX_ERROR_INVALID_ARGUMENT, "image 'depth': aspect 0x1 is not one aspect "
               "of its format (0x2)", ctx, &d, &b);
        b = g; b.aspect = VK_IMAGE_ASPECT_STENCIL_BIT;
        DL_BAD("aspect STENCIL of D16 (no stencil)", SEDX_ERROR_INVALID_ARGUMENT, "aspect 0x4", ctx, &d, &b);
        sedx_image_release(&d);
    } else {
        MIS_SKIP(F, "aspects of a depth image", "D16 cannot be copied on this device");
    }

    /* images that hold nothing to read */
    sedx_image_info ii = {0};
    ii.format = VK_FORMAT_R8G8B8A8_UNORM;
    ii.width = ii.height = 8;
    ii.name = "fresh";
    sedx_image fresh;
    assert_int_equal(sedx_image_create(ctx, &ii, &fresh), SEDX_SUCCESS);
    DL_BAD("an image that holds no data (UNDEFINED)", SEDX_ERROR_INVALID_ARGUMENT, "image 'fresh' holds no data (layout UNDEFINED)",
           ctx, &fresh, &g);
    assert_int_equal(sedx_image_set_layout(&v.img, VK_IMAGE_LAYOUT_UNDEFINED), SEDX_SUCCESS);
    DL_BAD("an image the application said it discarded (set_layout UNDEFINED)", SEDX_ERROR_INVALID_ARGUMENT,
           "image 'victim' holds no data", ctx, &v.img, &g);
    assert_int_equal(sedx_image_set_layout(&v.img, SRO), SEDX_SUCCESS);
    sedx_image_release(&fresh);

    /* one row larger than the 64 KiB readback ring */
    ii = (sedx_image_info){0};
    ii.type = SEDX_IMAGE_1D;
    ii.format = VK_FORMAT_R32G32B32A32_SFLOAT;
    ii.width = 8192;
    ii.name = "wide";
    sedx_image wi;
    assert_int_equal(sedx_image_create(ctx, &ii, &wi), SEDX_SUCCESS);
    uint8_t *zeros = calloc(1024, 16);
    sedx_image_region part = {0};
    part.data = zeros;
    part.extent = (VkExtent3D){1024, 1, 1};
    for (int i = 0; i < 8; ++i) {
        part.offset.x = i * 1024;
        assert_int_equal(sedx_upload_image(ctx, &wi, &part, 1, NULL), SEDX_SUCCESS);
    }
    free(zeros);
    uint8_t *big = malloc(8192 * 16);
    memset(big, 0x5A, 8192 * 16);
    MIS_RC(F, "one row of 128 KiB (larger than the 64 KiB readback ring)", SEDX_ERROR_OUT_OF_STAGING,
           "image 'wide': one row of 131072 bytes exceeds the readback ring", sedx_download_image(ctx, &wi, &g, big));
    MIS_TRUE(F, "one row larger than the readback ring", "dst untouched", mis_all(big, 0x5A, 8192 * 16));
    free(big);
    sedx_image_release(&wi);

    /* multisampled and transient images */
    ii = (sedx_image_info){0};
    ii.format = VK_FORMAT_R8G8B8A8_UNORM;
    ii.width = ii.height = 8;
    ii.samples = VK_SAMPLE_COUNT_4_BIT;
    ii.usage = VK_IMAGE_USAGE_COLOR_ATTACHMENT_BIT;
    ii.name = "msaa";
    sedx_image ms;
    if (sedx_image_create(ctx, &ii, &ms) == SEDX_SUCCESS) {
        assert_int_equal(sedx_image_set_layout(&ms, VK_IMAGE_LAYOUT_COLOR_ATTACHMENT_OPTIMAL), SEDX_SUCCESS);
        DL_BAD("multisampled image", SEDX_ERROR_INVALID_USAGE, "image 'msaa' is multisampled", ctx, &ms, &g);
        sedx_image_release(&ms);
    } else {
        MIS_SKIP(F, "multisampled image", "no 4-sample RGBA8 attachments");
    }
    ii.samples = 0;
    ii.usage = VK_IMAGE_USAGE_TRANSIENT_ATTACHMENT_BIT | VK_IMAGE_USAGE_COLOR_ATTACHMENT_BIT;
    ii.name = "transient";
    sedx_image tr;
    if (sedx_image_create(ctx, &ii, &tr) == SEDX_SUCCESS) {
        assert_int_equal(sedx_image_set_layout(&tr, VK_IMAGE_LAYOUT_COLOR_ATTACHMENT_OPTIMAL), SEDX_SUCCESS);
        DL_BAD("transient attachment (no TRANSFER_SRC usage)", SEDX_ERROR_INVALID_USAGE,
               "image 'transient' has no TRANSFER_SRC usage", ctx, &tr, &g);
        sedx_image_release(&tr);
    } else {
        MIS_SKIP(F, "transient attachment", "no transient RGBA8 attachments");
    }

    /* positive controls */
    sedx_image_upload_info gen = {0};
    gen.final_layout = VK_IMAGE_LAYOUT_GENERAL;
    b = g; b.data = v.model[0];
    assert_int_equal(sedx_upload_image(ctx, &v.img, &b, 1, &gen), SEDX_SUCCESS);
    memset(dst, 0x5A, DST);
    MIS_RC(F, "(valid) an image left in GENERAL by its last upload", SEDX_SUCCESS, LOG_NONE,
           sedx_download_image(ctx, &v.img, &g, dst));
    MIS_TRUE(F, "(valid) an image in GENERAL", "level 0 layer 0 read, the layout kept",
             memcmp(dst, v.model[0], VW * VH * 4) == 0 && sedx_image_layout(&v.img) == VK_IMAGE_LAYOUT_GENERAL);
    assert_int_equal(sedx_upload_image(ctx, &v.img, &b, 1, NULL), SEDX_SUCCESS);
    b = g; b.data = (const void *)(uintptr_t)0x1; /* downloads ignore data */
    memset(dst, 0x5A, DST);
    MIS_RC(F, "(valid) data set to garbage (ignored by downloads)", SEDX_SUCCESS, LOG_NONE, sedx_download_image(ctx, &v.img, &b, dst));
    MIS_TRUE(F, "(valid) data set to garbage", "level 0 layer 0 read", memcmp(dst, v.model[0], VW * VH * 4) == 0);
    b = g; b.offset.x = 2; b.offset.y = 3; b.extent = (VkExtent3D){3, 2, 1}; b.row_length = 5; b.image_height = 4;
    memset(dst, 0x5A, DST);
    MIS_RC(F, "(valid) a 3x2 box into rows of 5 texels: the bytes between rows untouched", SEDX_SUCCESS, LOG_NONE,
           sedx_download_image(ctx, &v.img, &b, dst));
    bool ok = true;
    for (int y = 0; y < 2; ++y) {
        ok = ok && memcmp(dst + y * 5 * 4, v.model[0] + ((3 + y) * 16 + 2) * 4, 12) == 0;
        ok = ok && mis_all(dst + y * 5 * 4 + 12, 0x5A, 8);
    }
    ok = ok && mis_all(dst + 2 * 5 * 4, 0x5A, DST - 2 * 5 * 4);
    MIS_TRUE(F, "(valid) a 3x2 box into rows of 5 texels", "the box's texels, nothing else", ok);
    MIS_TRUE(F, "after the group", "the victim as it was", victim_intact(ctx, &v, SRO));
#undef DL_BAD

    victim_free(&v);
    sedx_image_release(&bs.keeper);
    mis_roundtrip(ctx, "sedx_download_image misuse");
    mis_context_destroy(other);
    mis_context_destroy(ctx);
    mis_end("transfer.h (sedx_download_image)");
}

/* ------------------------------------------------------------------------------------------
 * sedx_image_generate_mips
 * ---------------------------------------------------------------------------------------- */
static void test_mips(void **state)
{
    (void)state;
    mis_begin();
    sedx_context *ctx = img_context();
    sedx_context *other = img_context();
    bad_set bs;
    bad_set_init(ctx, &bs);
    victim v;
    victim_make(ctx, &v, "victim");
    const VkImageLayout SRO = VK_IMAGE_LAYOUT_SHADER_READ_ONLY_OPTIMAL;
    const char *F = "sedx_image_generate_mips";
    char in[200];
#define MIP_BAD(input, code, needle, c, img)                                                                    \
    do {                                                                                                        \
        MIS_RC(F, input, code, needle, sedx_image_generate_mips(c, img));                                      \
        MIS_TRUE(F, input, "level 1 not regenerated, layout unchanged", victim_intact(ctx, &v, SRO));          \
    } while (0)
    MIP_BAD("NULL ctx", SEDX_ERROR_INVALID_ARGUMENT, "sedx_image_generate_mips: ctx is NULL", NULL, &v.img);
    for (int k = 0; k < BAD_COUNT; ++k)
        MIP_BAD(bad_name[k], SEDX_ERROR_INVALID_HANDLE, row(in, sizeof in, "sedx_image_generate_mips: ", bad_log[k]), ctx,
                bad_ptr(&bs, k));
    MIP_BAD("image of another context", SEDX_ERROR_WRONG_CONTEXT, "image 'victim' belongs to another context", other, &v.img);
    assert_int_equal(sedx_image_set_layout(&v.img, VK_IMAGE_LAYOUT_UNDEFINED), SEDX_SUCCESS);
    MIS_RC(F, "an image the application said it discarded (set_layout UNDEFINED)", SEDX_ERROR_INVALID_ARGUMENT,
           "image 'victim' holds no data (layout UNDEFINED)", sedx_image_generate_mips(ctx, &v.img));
    assert_int_equal(sedx_image_set_layout(&v.img, SRO), SEDX_SUCCESS);
    MIS_TRUE(F, "an image said to be discarded", "level 1 not regenerated", victim_intact(ctx, &v, SRO));

    sedx_image_info ii = {0};
    ii.format = VK_FORMAT_R8G8B8A8_UNORM;
    ii.width = ii.height = 8;
    ii.mip_levels = SEDX_MIP_LEVELS_FULL;
    ii.name = "fresh";
    sedx_image im;
    assert_int_equal(sedx_image_create(ctx, &ii, &im), SEDX_SUCCESS);
    MIS_RC(F, "an image that holds no data (UNDEFINED)", SEDX_ERROR_INVALID_ARGUMENT, "image 'fresh' holds no data",
           sedx_image_generate_mips(ctx, &im));
    MIS_TRUE(F, "an image that holds no data", "still UNDEFINED", sedx_image_layout(&im) == VK_IMAGE_LAYOUT_UNDEFINED);
    sedx_image_release(&im);
    ii.mip_levels = 1;
    assert_int_equal(sedx_image_create(ctx, &ii, &im), SEDX_SUCCESS);
    MIS_RC(F, "one level, no data (UNDEFINED)", SEDX_ERROR_INVALID_ARGUMENT, "holds no data", sedx_image_generate_mips(ctx, &im));
    sedx_image_release(&im);

    /* formats without linear-filter blits */
    static const struct {
        VkFormat f;
        const char *in;
    } nolin[] = {
        {VK_FORMAT_R32G32B32A32_UINT, "integer format (R32G32B32A32_UINT)"},
        {VK_FORMAT_R8G8B8A8_SINT, "integer format (R8G8B8A8_SINT)"},
        {VK_FORMAT_D16_UNORM, "depth format (D16)"},
        {VK_FORMAT_BC1_RGBA_UNORM_BLOCK, "block-compressed format (BC1)"},
    };
    for (size_t i = 0; i < sizeof nolin / sizeof nolin[0]; ++i) {
        ii = (sedx_image_info){0};
        ii.format = nolin[i].f;
        ii.width = ii.height = 8;
        ii.mip_levels = 2;
        ii.name = "nolinear";
        if (sedx_image_create(ctx, &ii, &im) != SEDX_SUCCESS) {
            MIS_SKIP(F, nolin[i].in, "format not supported for sampling on this device");
            continue;
        }
        VkFormatProperties fp;
        vkGetPhysicalDeviceFormatProperties(sedx_context_physical_device(ctx), nolin[i].f, &fp);
        if (nolin[i].f != VK_FORMAT_D16_UNORM &&
            (fp.optimalTilingFeatures & (VK_FORMAT_FEATURE_BLIT_SRC_BIT | VK_FORMAT_FEATURE_BLIT_DST_BIT |
                                         VK_FORMAT_FEATURE_SAMPLED_IMAGE_FILTER_LINEAR_BIT)) ==
                (VK_FORMAT_FEATURE_BLIT_SRC_BIT | VK_FORMAT_FEATURE_BLIT_DST_BIT | VK_FORMAT_FEATURE_SAMPLED_IMAGE_FILTER_LINEAR_BIT)) {
            MIS_SKIP(F, nolin[i].in, "this device blits it with linear filtering");
            sedx_image_release(&im);
            continue;
        }
        uint8_t *data = calloc(8 * 8, 16);
        sedx_image_region r = {0};
        r.data = data;
        if (sedx_upload_image(ctx, &im, &r, 1, NULL) != SEDX_SUCCESS)
            assert_int_equal(sedx_image_set_layout(&im, VK_IMAGE_LAYOUT_GENERAL), SEDX_SUCCESS);
        VkImageLayout before = sedx_image_layout(&im);
        MIS_RC(F, nolin[i].in, SEDX_ERROR_FEATURE_NOT_PRESENT, "image 'nolinear': format", sedx_image_generate_mips(ctx, &im));
        MIS_TRUE(F, nolin[i].in, "layout unchanged", sedx_image_layout(&im) == before);
        free(data);
        sedx_image_release(&im);
    }

    /* multisampled and transient images */
    ii = (sedx_image_info){0};
    ii.format = VK_FORMAT_R8G8B8A8_UNORM;
    ii.width = ii.height = 8;
    ii.samples = VK_SAMPLE_COUNT_4_BIT;
    ii.usage = VK_IMAGE_USAGE_COLOR_ATTACHMENT_BIT;
    ii.name = "msaa";
    if (sedx_image_create(ctx, &ii, &im) == SEDX_SUCCESS) {
        assert_int_equal(sedx_image_set_layout(&im, VK_IMAGE_LAYOUT_COLOR_ATTACHMENT_OPTIMAL), SEDX_SUCCESS);
        MIS_RC(F, "multisampled image", SEDX_ERROR_INVALID_USAGE, "image 'msaa' is multisampled", sedx_image_generate_mips(ctx, &im));
        sedx_image_release(&im);
    } else {
        MIS_SKIP(F, "multisampled image", "no 4-sample RGBA8 attachments");
    }
    ii.samples = 0;
    ii.mip_levels = 2;
    ii.usage = VK_IMAGE_USAGE_TRANSIENT_ATTACHMENT_BIT | VK_IMAGE_USAGE_COLOR_ATTACHMENT_BIT;
    ii.name = "transient";
    if (sedx_image_create(ctx, &ii, &im) == SEDX_SUCCESS) {
        assert_int_equal(sedx_image_set_layout(&im, VK_IMAGE_LAYOUT_COLOR_ATTACHMENT_OPTIMAL), SEDX_SUCCESS);
        MIS_RC(F, "transient attachment with 2 levels (no TRANSFER usage)", SEDX_ERROR_INVALID_USAGE,
               "image 'transient' has no TRANSFER_SRC | TRANSFER_DST usage", sedx_image_generate_mips(ctx, &im));
        sedx_image_release(&im);
    } else {
        MIS_SKIP(F, "transient attachment", "no transient RGBA8 attachments");
    }

    /* positive controls */
    ii = (sedx_image_info){0};
    ii.format = VK_FORMAT_R8G8B8A8_UNORM;
    ii.width = ii.height = 8;
    ii.name = "single";
    assert_int_equal(sedx_image_create(ctx, &ii, &im), SEDX_SUCCESS);
    uint8_t px[8 * 8 * 4] = {0};
    sedx_image_region r = {0};
    r.data = px;
    assert_int_equal(sedx_upload_image(ctx, &im, &r, 1, NULL), SEDX_SUCCESS);
    MIS_RC(F, "(valid) one level: nothing to do", SEDX_SUCCESS, LOG_NONE, sedx_image_generate_mips(ctx, &im));
    sedx_image_release(&im);
    MIS_RC(F, "(valid) the victim's chain", SEDX_SUCCESS, LOG_NONE, sedx_image_generate_mips(ctx, &v.img));
#undef MIP_BAD

    victim_free(&v);
    sedx_image_release(&bs.keeper);
    mis_roundtrip(ctx, "sedx_image_generate_mips misuse");
    mis_context_destroy(other);
    mis_context_destroy(ctx);
    mis_end("transfer.h (sedx_image_generate_mips)");
}

/* ------------------------------------------------------------------------------------------
 * The seed's sedx_copy_buffer_to_image(_ex) on a sedx image's VkImage
 * ---------------------------------------------------------------------------------------- */
static void test_seed_copy(void **state)
{
    (void)state;
    mis_begin();
    sedx_context *ctx = img_context();
    sedx_context *other = img_context();
    victim v;
    victim_make(ctx, &v, "victim");
    const VkImageLayout SRO = VK_IMAGE_LAYOUT_SHADER_READ_ONLY_OPTIMAL;
    const char *F = "sedx_copy_buffer_to_image";
    const char *FX = "sedx_copy_buffer_to_image_ex";
    sedx_buffer staging;
    assert_int_equal(sedx_staging_buffer_create(ctx, 4096, "misuse seed staging", &staging), SEDX_SUCCESS);
    uint8_t junk[4096];
    memset(junk, 0xEE, sizeof junk);
    assert_int_equal(sedx_buffer_write(&staging, junk, sizeof junk, 0), SEDX_SUCCESS);
    VkBuffer sb = sedx_buffer_vk(&staging);
    sedx_buffer_image_copy c0 = {0}, c;
    c0.image_extent = (VkExtent3D){4, 4, 1};
    c0.current_layout = SRO;
#define CP_BAD(input, code, needle, call)                                                                        \
    do {                                                                                                         \
        MIS_RC(FX, input, code, needle, call);                                                                   \
        MIS_TRUE(FX, input, "nothing written, layout unchanged", victim_intact(ctx, &v, SRO));                  \
    } while (0)

    MIS_RC(F, "sedx image: 16x16 of a 16x8 image", SEDX_ERROR_OUT_OF_BOUNDS, "outside the 16x8x1 mip level",
           sedx_copy_buffer_to_image(ctx, sb, v.img.image, 16, 16));
    MIS_TRUE(F, "sedx image: 16x16 of a 16x8 image", "nothing written", victim_intact(ctx, &v, SRO));
    c = c0; c.mip_level = 2; c.mip_levels = 8;
    CP_BAD("sedx image: mip 2 of 2 (the description says 8)", SEDX_ERROR_OUT_OF_BOUNDS, "mip 2, layers 0+1 of an image with 2 mips",
           sedx_copy_buffer_to_image_ex(ctx, sb, v.img.image, &c));
    c = c0; c.base_array_layer = 2; c.array_layers = 6;
    CP_BAD("sedx image: layer 2 of 2 (the description says 6)", SEDX_ERROR_OUT_OF_BOUNDS, "layers 2+1 of an image with 2 mips and 2 layers",
           sedx_copy_buffer_to_image_ex(ctx, sb, v.img.image, &c));
    c = c0; c.mip_level = 1; c.image_extent = (VkExtent3D){16, 8, 1}; c.mip_extent = (VkExtent3D){16, 8, 1};
    CP_BAD("sedx image: mip 1 box 16x8 of 8x4 (the description says 16x8)", SEDX_ERROR_OUT_OF_BOUNDS, "outside the 8x4x1 mip level",
           sedx_copy_buffer_to_image_ex(ctx, sb, v.img.image, &c));
    c = c0; c.image_offset.x = -4;
    CP_BAD("sedx image: offset x -4", SEDX_ERROR_OUT_OF_BOUNDS, "region (-4,0,0)+(4,4,1)", sedx_copy_buffer_to_image_ex(ctx, sb, v.img.image, &c));
    c = c0; c.image_extent = (VkExtent3D){16, 8, 1}; c.format = VK_FORMAT_R8_UNORM; c.buffer_offset = 4096 - 16 * 8;
    CP_BAD("sedx image: R8 in the description (RGBA8 image): the buffer is too short", SEDX_ERROR_OUT_OF_BOUNDS,
           "reads bytes [3968, 4480) of buffer 'misuse seed staging'", sedx_copy_buffer_to_image_ex(ctx, sb, v.img.image, &c));
    c = c0; c.aspect = VK_IMAGE_ASPECT_DEPTH_BIT;
    CP_BAD("sedx image: aspect DEPTH on a colour image", SEDX_ERROR_INVALID_ARGUMENT, "aspect 0x2 is not one aspect of image 'victim'",
           sedx_copy_buffer_to_image_ex(ctx, sb, v.img.image, &c));
    c = c0; c.aspect = VK_IMAGE_ASPECT_STENCIL_BIT;
    CP_BAD("sedx image: aspect STENCIL on a colour image", SEDX_ERROR_INVALID_ARGUMENT, "aspect 0x4 is not one aspect",
           sedx_copy_buffer_to_image_ex(ctx, sb, v.img.image, &c));
    c = c0; c.final_layout = VK_IMAGE_LAYOUT_COLOR_ATTACHMENT_OPTIMAL;
    CP_BAD("sedx image: final layout COLOR_ATTACHMENT_OPTIMAL, usage without it", SEDX_ERROR_INVALID_ARGUMENT,
           "image 'victim': final layout 2 is not one its usage", sedx_copy_buffer_to_image_ex(ctx, sb, v.img.image, &c));
    c = c0; c.final_layout = (VkImageLayout)12345;
    CP_BAD("sedx image: final layout garbage 12345", SEDX_ERROR_INVALID_ARGUMENT, "final layout 12345",
           sedx_copy_buffer_to_image_ex(ctx, sb, v.img.image, &c));
    c = c0; c.final_layout = VK_IMAGE_LAYOUT_PREINITIALIZED;
    CP_BAD("sedx image: final layout PREINITIALIZED", SEDX_ERROR_INVALID_ARGUMENT, "final layout 8",
           sedx_copy_buffer_to_image_ex(ctx, sb, v.img.image, &c));
    c = c0; c.current_layout = (VkImageLayout)12345;
    CP_BAD("sedx image: current layout garbage 12345", SEDX_ERROR_INVALID_ARGUMENT, "current layout 12345",
           sedx_copy_buffer_to_image_ex(ctx, sb, v.img.image, &c));
    c = c0; c.flags = 0x10;
    CP_BAD("sedx image: unknown flag 0x10", SEDX_ERROR_INVALID_ARGUMENT, "unknown flags 0x10",
           sedx_copy_buffer_to_image_ex(ctx, sb, v.img.image, &c));
    c = c0;
    {
        sedx_buffer os;
        assert_int_equal(sedx_staging_buffer_create(other, 4096, "misuse other staging", &os), SEDX_SUCCESS);
        MIS_RC(FX, "a sedx image of another context (the buffer that context's)", SEDX_ERROR_WRONG_CONTEXT,
               "image 'victim' belongs to another context", sedx_copy_buffer_to_image_ex(other, sedx_buffer_vk(&os), v.img.image, &c));
        sedx_buffer_release(&os);
    }
    MIS_TRUE(FX, "a sedx image of another context", "nothing written, layout unchanged", victim_intact(ctx, &v, SRO));

    if (format_has(ctx, VK_FORMAT_BC1_RGBA_UNORM_BLOCK, XFER)) {
        sedx_image_info bi = {0};
        bi.format = VK_FORMAT_BC1_RGBA_UNORM_BLOCK;
        bi.width = bi.height = 16;
        bi.name = "bc1";
        sedx_image bc;
        assert_int_equal(sedx_image_create(ctx, &bi, &bc), SEDX_SUCCESS);
        uint8_t blocks[4 * 4 * 8], back[4 * 4 * 8];
        tu_fill_random(blocks, sizeof blocks, &g_mis.rng);
        sedx_image_region all = {0};
        all.data = blocks;
        assert_int_equal(sedx_upload_image(ctx, &bc, &all, 1, NULL), SEDX_SUCCESS);
        c = c0; c.image_offset.x = 2; c.format = VK_FORMAT_R8G8B8A8_UNORM; /* the image's format wins */
        MIS_RC(FX, "sedx image: BC1, offset x 2 (off the 4x4 grid; the description says RGBA8)", SEDX_ERROR_INVALID_ARGUMENT,
               "not on 4x4 block boundaries", sedx_copy_buffer_to_image_ex(ctx, sb, bc.image, &c));
        c = c0; c.image_extent = (VkExtent3D){6, 4, 1};
        MIS_RC(FX, "sedx image: BC1, extent 6x4 (not whole blocks, not to the edge)", SEDX_ERROR_INVALID_ARGUMENT,
               "not on 4x4 block boundaries", sedx_copy_buffer_to_image_ex(ctx, sb, bc.image, &c));
        sedx_image_region r = {0};
        MIS_TRUE(FX, "sedx image: BC1 refusals", "the blocks and the layout as they were",
                 sedx_download_image(ctx, &bc, &r, back) == SEDX_SUCCESS && memcmp(back, blocks, sizeof back) == 0 &&
                     sedx_image_layout(&bc) == SRO);
        sedx_image_release(&bc);
    } else {
        MIS_SKIP(FX, "sedx image: BC1 block grid", "BC1 cannot be sampled and copied on this device");
    }

    /* multisampled and transient sedx images */
    sedx_image_info ii = {0};
    ii.format = VK_FORMAT_R8G8B8A8_UNORM;
    ii.width = ii.height = 8;
    ii.samples = VK_SAMPLE_COUNT_4_BIT;
    ii.usage = VK_IMAGE_USAGE_COLOR_ATTACHMENT_BIT;
    ii.name = "msaa";
    sedx_image im;
    if (sedx_image_create(ctx, &ii, &im) == SEDX_SUCCESS) {
        c = c0; c.current_layout = 0; c.image_extent = (VkExtent3D){8, 8, 1};
        MIS_RC(FX, "sedx image: multisampled", SEDX_ERROR_INVALID_USAGE, "image 'msaa' is multisampled",
               sedx_copy_buffer_to_image_ex(ctx, sb, im.image, &c));
        MIS_TRUE(FX, "sedx image: multisampled", "layout unchanged", sedx_image_layout(&im) == VK_IMAGE_LAYOUT_UNDEFINED);
        sedx_image_release(&im);
    } else {
        MIS_SKIP(FX, "sedx image: multisampled", "no 4-sample RGBA8 attachments");
    }
    ii.samples = 0;
    ii.usage = VK_IMAGE_USAGE_TRANSIENT_ATTACHMENT_BIT | VK_IMAGE_USAGE_COLOR_ATTACHMENT_BIT;
    ii.name = "transient";
    if (sedx_image_create(ctx, &ii, &im) == SEDX_SUCCESS) {
        c = c0; c.current_layout = 0; c.image_extent = (VkExtent3D){8, 8, 1};
        MIS_RC(FX, "sedx image: transient attachment (no TRANSFER_DST usage)", SEDX_ERROR_INVALID_USAGE,
               "image 'transient' has no TRANSFER_DST usage", sedx_copy_buffer_to_image_ex(ctx, sb, im.image, &c));
        sedx_image_release(&im);
    } else {
        MIS_SKIP(FX, "sedx image: transient attachment", "no transient RGBA8 attachments");
    }

    /* one level of a chain, with a final layout of its own: the whole image follows (one tracked layout) */
    c = c0;
    c.mip_level = 1;
    c.current_layout = 0;
    c.final_layout = VK_IMAGE_LAYOUT_GENERAL;
    c.image_extent = (VkExtent3D){8, 4, 1};
    uint8_t lvl1[8 * 4 * 4];
    tu_fill_random(lvl1, sizeof lvl1, &g_mis.rng);
    assert_int_equal(sedx_buffer_write(&staging, lvl1, sizeof lvl1, 0), SEDX_SUCCESS);
    MIS_RC(FX, "(valid) sedx image: level 1 of 2, layer 0, final layout GENERAL", SEDX_SUCCESS, LOG_NONE,
           sedx_copy_buffer_to_image_ex(ctx, sb, v.img.image, &c));
    memcpy(v.model[1], lvl1, sizeof lvl1);
    uint8_t back[VW * VH * 4];
    sedx_image_region r0 = {0};
    r0.base_array_layer = 1;
    MIS_RC("sedx_download_image", "(valid) level 0, layer 1 after a seed copy into level 1 of layer 0 with its own final layout",
           SEDX_SUCCESS, LOG_NONE, sedx_download_image(ctx, &v.img, &r0, back));
    MIS_TRUE(FX, "(valid) level 1 of 2 with its own final layout", "the texels and the layout (GENERAL)",
             memcmp(back, v.model[0] + VW * VH * 4, sizeof back) == 0 && victim_intact(ctx, &v, VK_IMAGE_LAYOUT_GENERAL));
#undef CP_BAD

    sedx_buffer_release(&staging);
    victim_free(&v);
    mis_roundtrip(ctx, "sedx_copy_buffer_to_image on sedx images");
    mis_context_destroy(other);
    mis_context_destroy(ctx);
    mis_end("transfer.h (the seed's copy into sedx images)");
}

/* ------------------------------------------------------------------------------------------
 * sedx_stats_json
 * ---------------------------------------------------------------------------------------- */
static void test_stats_json(void **state)
{
    (void)state;
    mis_begin();
    sedx_context *ctx = img_context();
    const char *F = "sedx_stats_json";
    char *json = MIS_SENTINEL_PTR;
    MIS_RC(F, "NULL ctx", SEDX_ERROR_INVALID_ARGUMENT, "sedx_stats_json: ctx is NULL", sedx_stats_json(NULL, &json));
    MIS_TRUE(F, "NULL ctx", "*out_json untouched", json == MIS_SENTINEL_PTR);
    MIS_RC(F, "NULL out_json", SEDX_ERROR_INVALID_ARGUMENT, "sedx_stats_json: out_json is NULL", sedx_stats_json(ctx, NULL));
    victim v;
    victim_make(ctx, &v, "misuse stats");
    json = NULL;
    MIS_RC(F, "(valid) with a live image", SEDX_SUCCESS, LOG_NONE, sedx_stats_json(ctx, &json));
    MIS_TRUE(F, "(valid) with a live image", "a document with live_images naming it",
             json && strstr(json, "\"live_images\"") && strstr(json, "misuse stats"));
    sedx_memory_free_string(json);
    victim_free(&v);
    mis_roundtrip(ctx, "sedx_stats_json misuse");
    mis_context_destroy(ctx);
    mis_end("context.h (sedx_stats_json)");
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_create),   cmocka_unit_test(test_refs),      cmocka_unit_test(test_upload),
        cmocka_unit_test(test_download), cmocka_unit_test(test_mips),      cmocka_unit_test(test_seed_copy),
        cmocka_unit_test(test_stats_json),
    };
    return mis_main(tests, sizeof tests / sizeof tests[0]);
}
