/* Review 5: images of 12-byte texels (R32G32B32_UINT, _SINT, _SFLOAT), under the validation layer.
 * The staging ring's row pitch is optimalBufferCopyRowPitchAlignment rounded to whole texels,
 * lcm(alignment, 12): not a power of two. sedx rounded the row bytes up to it with the
 * power-of-two mask (sedx__align_up), which gave a pitch that is no multiple of the texel (on
 * lavapipe, alignment 128: 9 texels = 108 bytes -> 128, bufferRowLength 128 / 12 = 10), so the
 * CPU wrote the rows 128 bytes apart and the GPU read them 120 apart: every row after the first
 * came back wrong (a plain-Vulkan program doing the same copies with a correct pitch reads back
 * every byte). Here: random non-zero texels (finite floats for SFLOAT) into whole levels, mip
 * chains, arrays, 1D and 3D images, widths on both sides of each pitch step, from tightly packed
 * and padded memory, in one region and one region per row, then sub-boxes; every level and
 * layer read back into poisoned memory (padded rows: the padding must stay poison) and compared
 * byte by byte. Modes: default transfer settings; a 64 KiB ring that never grows with
 * SEDX_TRANSFER_NO_DIRECT (large levels go through the ring in pieces of rows). */
#include "test_util.h"

#include <stdlib.h>
#include <string.h>

#define POISON 0xCD
#define TEXEL 12u

static uint64_t g_rng;

typedef struct spec {
    sedx_image_type type;
    VkFormat format;
    uint32_t w, h, d, layers, mips; /* mips 0: the whole chain */
} spec;

typedef struct model {
    const spec *s;
    sedx_image img;
    uint32_t layers;
    VkExtent3D ext[16];
    uint8_t *level[16]; /* tightly packed: layers x depth x height x width texels */
} model;

static uint32_t max_u(uint32_t a, uint32_t b) { return a > b ? a : b; }
static uint32_t rnd(uint32_t n) { return (uint32_t)(tu_rand(&g_rng) % n); }

static uint8_t nonzero_byte(void)
{
    uint8_t b;
    do b = (uint8_t)tu_rand(&g_rng);
    while (!b || b == POISON);
    return b;
}

/* Random texels, no byte zero or poison; SFLOAT words are finite, in +-[1, 2). */
static void fill(const spec *s, uint8_t *p, size_t n)
{
    for (size_t i = 0; i < n; ++i) p[i] = nonzero_byte();
    if (s->format == VK_FORMAT_R32G32B32_SFLOAT)
        for (size_t i = 0; i + 4 <= n; i += 4) {
            uint8_t b2;
            do b2 = (uint8_t)(0x80 | tu_rand(&g_rng));
            while (b2 == POISON);
            p[i + 2] = b2;
            p[i + 3] = tu_rand(&g_rng) & 1 ? 0x3F : 0xBF;
        }
}

static uint8_t *texel(model *m, uint32_t lv, uint32_t layer, uint32_t z, uint32_t x, uint32_t y)
{
    VkExtent3D e = m->ext[lv];
    return m->level[lv] + ((((uint64_t)layer * e.depth + z) * e.height + y) * e.width + x) * TEXEL;
}

typedef struct box { uint32_t lv, l0, nl, x, y, z, w, h, dz; } box;

/* Memory for box b with rows of rl texels and slices of ih rows: the model's texels (fresh ones
 * first when fresh), poison between rows and slices. */
static uint8_t *pack(model *m, const box *b, uint32_t rl, uint32_t ih, bool fresh, size_t *size)
{
    uint64_t rp = (uint64_t)rl * TEXEL, sp = (uint64_t)ih * rp, slices = (uint64_t)b->nl * b->dz;
    *size = (size_t)(slices * sp);
    uint8_t *mem = malloc(*size);
    memset(mem, POISON, *size);
    for (uint64_t sl = 0; sl < slices; ++sl)
        for (uint32_t r = 0; r < b->h; ++r) {
            uint8_t *t = texel(m, b->lv, b->l0 + (uint32_t)(sl / b->dz), b->z + (uint32_t)(sl % b->dz), b->x, b->y + r);
            if (fresh) fill(m->s, t, (size_t)b->w * TEXEL);
            memcpy(mem + sl * sp + r * rp, t, (size_t)b->w * TEXEL);
        }
    return mem;
}

static sedx_image_region region(const box *b, const void *data, uint32_t rl, uint32_t ih)
{
    sedx_image_region g = {0};
    g.data = data;
    g.mip_level = b->lv;
    g.base_array_layer = b->l0;
    g.layer_count = b->nl;
    g.offset = (VkOffset3D){(int32_t)b->x, (int32_t)b->y, (int32_t)b->z};
    g.extent = (VkExtent3D){b->w, b->h, b->dz};
    g.row_length = rl;
    g.image_height = ih;
    return g;
}

static box whole(const model *m, uint32_t lv)
{
    return (box){lv, 0, m->layers, 0, 0, 0, m->ext[lv].width, m->ext[lv].height, m->ext[lv].depth};
}

/* Every level and layer read back into poisoned memory, tightly packed or with padded rows. */
static void check(sedx_context *ctx, model *m, const char *when)
{
    for (uint32_t lv = 0; lv < m->img.mip_levels; ++lv) {
        box b = whole(m, lv);
        uint32_t pad = rnd(3), rl = b.w + pad, ih = b.h + (pad & 1);
        size_t size;
        uint8_t *want = pack(m, &b, rl, ih, false, &size);
        uint8_t *got = malloc(size);
        memset(got, POISON, size);
        sedx_image_region g = region(&b, NULL, pad ? rl : 0, (pad & 1) ? ih : 0);
        assert_int_equal(sedx_download_image(ctx, &m->img, &g, got), SEDX_SUCCESS);
        if (memcmp(got, want, size) != 0) {
            size_t bad = 0, zero = 0, first = 0;
            for (size_t i = 0; i < size; ++i)
                if (got[i] != want[i]) {
                    if (!bad++) first = i;
                    zero += !got[i];
                }
            uint64_t rp = (uint64_t)rl * TEXEL;
            fail_msg("%s: format %d %ux%ux%u x%u level %u (%ux%u, read back with rows of %u texels): %zu of %zu bytes "
                     "wrong (%zu zero), the first at byte %zu (row %llu, byte %llu of the row): 0x%02x, expected 0x%02x",
                     when, (int)m->s->format, m->s->w, m->s->h, m->s->d, m->s->layers, lv, b.w, b.h, rl, bad, size, zero,
                     first, (unsigned long long)(first / rp), (unsigned long long)(first % rp), got[first], want[first]);
        }
        free(want);
        free(got);
    }
}

static void upload(sedx_context *ctx, model *m, const box *bs, uint32_t n, bool padded)
{
    sedx_image_region g[64];
    uint8_t *mem[64];
    assert_true(n <= 64);
    for (uint32_t i = 0; i < n; ++i) {
        uint32_t pad = padded ? 1 + rnd(5) : 0, rl = bs[i].w + pad, ih = bs[i].h + (padded ? rnd(2) : 0);
        size_t size;
        mem[i] = pack(m, &bs[i], rl, ih, true, &size);
        g[i] = region(&bs[i], mem[i], padded ? rl : 0, padded ? ih : 0);
    }
    assert_int_equal(sedx_upload_image(ctx, &m->img, g, n, NULL), SEDX_SUCCESS);
    for (uint32_t i = 0; i < n; ++i) free(mem[i]);
}

static void run_spec(sedx_context *ctx, const spec *s)
{
    sedx_image_info ii = {0};
    ii.type = s->type;
    ii.format = s->format;
    ii.width = s->w;
    ii.height = s->type == SEDX_IMAGE_1D ? 0 : s->h;
    ii.depth = s->type == SEDX_IMAGE_3D ? s->d : 0;
    ii.array_layers = s->layers;
    ii.mip_levels = s->mips ? s->mips : SEDX_MIP_LEVELS_FULL;
    ii.name = "review5 rgb32";
    model m = {0};
    m.s = s;
    assert_int_equal(sedx_image_create(ctx, &ii, &m.img), SEDX_SUCCESS);
    m.layers = m.img.array_layers;
    for (uint32_t lv = 0; lv < m.img.mip_levels; ++lv) {
        m.ext[lv] = (VkExtent3D){max_u(s->w >> lv, 1u), s->type == SEDX_IMAGE_1D ? 1 : max_u(s->h >> lv, 1u),
                                 s->type == SEDX_IMAGE_3D ? max_u(s->d >> lv, 1u) : 1};
        assert_int_equal(sedx_image_mip_size(&m.img, lv),
                         (uint64_t)m.ext[lv].width * m.ext[lv].height * m.ext[lv].depth * TEXEL);
        m.level[lv] = malloc((size_t)sedx_image_mip_size(&m.img, lv) * m.layers);
    }
    /* 1: every level in one call, tightly packed (the reported case), then from padded rows */
    for (int padded = 0; padded < 2; ++padded) {
        box bs[16];
        for (uint32_t lv = 0; lv < m.img.mip_levels; ++lv) bs[lv] = whole(&m, lv);
        upload(ctx, &m, bs, m.img.mip_levels, padded);
        check(ctx, &m, padded ? "whole levels, padded rows" : "whole levels, tightly packed");
    }
    /* 2: level 0 one region per row (every layer and slice), tightly packed and padded */
    if (m.ext[0].height <= 64)
        for (int padded = 0; padded < 2; ++padded) {
            box bs[64];
            for (uint32_t y = 0; y < m.ext[0].height; ++y) bs[y] = (box){0, 0, m.layers, 0, y, 0, m.ext[0].width, 1, m.ext[0].depth};
            upload(ctx, &m, bs, m.ext[0].height, padded);
            check(ctx, &m, padded ? "row by row, padded" : "row by row, tightly packed");
        }
    /* 3: random sub-boxes of random levels */
    for (int round = 0; round < 4; ++round) {
        uint32_t lv = rnd(m.img.mip_levels);
        VkExtent3D e = m.ext[lv];
        box b;
        b.lv = lv;
        b.l0 = rnd(m.layers);
        b.nl = 1 + rnd(m.layers - b.l0);
        b.x = rnd(e.width);
        b.y = rnd(e.height);
        b.z = rnd(e.depth);
        b.w = 1 + rnd(e.width - b.x);
        b.h = 1 + rnd(e.height - b.y);
        b.dz = 1 + rnd(e.depth - b.z);
        upload(ctx, &m, &b, 1, round & 1);
        check(ctx, &m, "a sub-box");
    }
    for (uint32_t lv = 0; lv < m.img.mip_levels; ++lv) free(m.level[lv]); /* before the release empties m.img */
    sedx_image_release(&m.img);
}

static bool supported(sedx_context *ctx, const spec *s)
{
    VkFormatProperties fp;
    vkGetPhysicalDeviceFormatProperties(sedx_context_physical_device(ctx), s->format, &fp);
    VkFormatFeatureFlags need = VK_FORMAT_FEATURE_TRANSFER_SRC_BIT | VK_FORMAT_FEATURE_TRANSFER_DST_BIT |
                                VK_FORMAT_FEATURE_SAMPLED_IMAGE_BIT;
    if ((fp.optimalTilingFeatures & need) != need) return false;
    VkImageFormatProperties ip;
    VkImageType t = s->type == SEDX_IMAGE_1D ? VK_IMAGE_TYPE_1D : s->type == SEDX_IMAGE_3D ? VK_IMAGE_TYPE_3D : VK_IMAGE_TYPE_2D;
    return vkGetPhysicalDeviceImageFormatProperties(
               sedx_context_physical_device(ctx), s->format, t, VK_IMAGE_TILING_OPTIMAL,
               VK_IMAGE_USAGE_SAMPLED_BIT | VK_IMAGE_USAGE_TRANSFER_SRC_BIT | VK_IMAGE_USAGE_TRANSFER_DST_BIT, 0,
               &ip) == VK_SUCCESS;
}

static const spec k_specs[] = {
    {SEDX_IMAGE_2D, VK_FORMAT_R32G32B32_UINT, 9, 17, 1, 1, 1}, /* the reported image */
    {SEDX_IMAGE_2D, VK_FORMAT_R32G32B32_UINT, 9, 17, 1, 1, 0},
    {SEDX_IMAGE_2D, VK_FORMAT_R32G32B32_SFLOAT, 9, 17, 1, 2, 0},
    {SEDX_IMAGE_2D, VK_FORMAT_R32G32B32_SINT, 11, 5, 1, 1, 0},  /* 132-byte rows: past one 128 step */
    {SEDX_IMAGE_2D, VK_FORMAT_R32G32B32_UINT, 32, 3, 1, 1, 1},  /* 384 bytes: a whole lcm(128, 12) */
    {SEDX_IMAGE_2D, VK_FORMAT_R32G32B32_SFLOAT, 33, 7, 1, 3, 0},
    {SEDX_IMAGE_2D, VK_FORMAT_R32G32B32_UINT, 1, 23, 1, 1, 0},
    {SEDX_IMAGE_1D, VK_FORMAT_R32G32B32_UINT, 100, 1, 1, 2, 0},
    {SEDX_IMAGE_3D, VK_FORMAT_R32G32B32_SFLOAT, 5, 3, 7, 1, 0},
    {SEDX_IMAGE_2D, VK_FORMAT_R32G32B32_UINT, 97, 61, 1, 1, 1}, /* 70 KiB: rows in pieces on a 64 KiB ring */
};

static void run_all(uint32_t flags, uint64_t ring)
{
    sedx_context *ctx = tu_context(true);
    if (flags || ring) {
        sedx_transfer_info ti = {0};
        ti.flags = flags;
        ti.staging_size = ring;
        ti.staging_max = ring;
        ti.readback_size = ring;
        assert_int_equal(sedx_transfer_configure(ctx, &ti), SEDX_SUCCESS);
    }
    int ran = 0;
    for (size_t i = 0; i < sizeof k_specs / sizeof k_specs[0]; ++i) {
        if (!supported(ctx, &k_specs[i])) continue;
        run_spec(ctx, &k_specs[i]);
        ++ran;
    }
    print_message("  %d of %zu images (the rest: formats the device lacks)\n", ran, sizeof k_specs / sizeof k_specs[0]);
    tu_context_destroy(ctx);
}

static void test_default(void **state)
{
    (void)state;
    run_all(0, 0);
}

static void test_tiny_ring_staged(void **state)
{
    (void)state;
    run_all(SEDX_TRANSFER_NO_DIRECT, 64u << 10);
}

int main(void)
{
    g_rng = tu_seed();
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_default),
        cmocka_unit_test(test_tiny_ring_staged),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
