/* Review 5: image uploads of whole mip chains of odd-sized images, under the validation layer,
 * checked byte by byte against a CPU shadow: 1xN, Nx1, 1D, non-power-of-two 2D, 3D (the depth
 * shrinks with the levels), cubes, arrays, texels of 1, 2, 3, 4, 6 and 16 bytes (3 and 6: the
 * ring offsets are multiples of lcm(alignment, texel bytes, 4), not powers of two), BC1 and BC7
 * (4x4 blocks; levels of 2x2 and 1x1 texels are one partial block). For each image: every level
 * in one call from memory with padded rows and slices (random non-zero texels, poisoned padding),
 * then level 0 as one region per row of blocks, then random disjoint block-aligned sub-regions of random levels (several per call, the last row
 * and column of blocks partial at the level's edge), then every bad-region class with its exact
 * code followed by a full readback proving nothing was written (a good region placed before the
 * bad one in the same call included), then every level and layer read back into poisoned memory
 * with its own row length (the padding between rows untouched). Modes: default transfer
 * settings; a 64 KiB staging and readback ring that never grows with SEDX_TRANSFER_NO_DIRECT
 * (levels larger than the ring stream through it in pieces). Formats the device does not support
 * must be refused with SEDX_ERROR_FEATURE_NOT_PRESENT (checked, and counted in the output).
 * 12-byte texels (R32G32B32_*) too: their staging row pitch, lcm(optimalBufferCopyRowPitchAlignment,
 * 12), is no power of two and was rounded with a power-of-two mask: on lavapipe (alignment 128)
 * a 9-texel row of 108 bytes got a pitch of 128 and bufferRowLength 10 (120 bytes), so the CPU
 * wrote the rows 128 bytes apart and the GPU read them 120 apart and every row after the first
 * came back shifted (a sedx defect, fixed in 662f955; a plain-Vulkan program making the same
 * copies with a correct pitch reads back every byte on lavapipe). */
#include "test_util.h"

#include <stdlib.h>
#include <string.h>

#define POISON 0xCD

static uint64_t g_rng;

typedef struct spec {
    sedx_image_type type;
    VkFormat format;
    uint32_t bytes, bw, bh;
    uint32_t w, h, d, layers;
} spec;

typedef struct shadow {
    const spec *s;
    sedx_image img;
    uint32_t mips, layers;
    uint8_t *level[16];
    uint64_t slice_bytes[16]; /* hb * wb * bytes */
    VkExtent3D ext[16];
} shadow;

static uint32_t max_u(uint32_t a, uint32_t b) { return a > b ? a : b; }
static uint32_t div_up(uint32_t a, uint32_t b) { return (a + b - 1) / b; }

static void fill_nonzero(uint8_t *p, size_t n)
{
    tu_fill_random(p, n, &g_rng);
    for (size_t i = 0; i < n; ++i)
        if (!p[i] || p[i] == POISON) p[i] = (uint8_t)(1 + (i % 199));
}

static bool format_ok(sedx_context *ctx, const spec *s)
{
    VkImageFormatProperties ip;
    VkImageType t = s->type == SEDX_IMAGE_1D ? VK_IMAGE_TYPE_1D : s->type == SEDX_IMAGE_3D ? VK_IMAGE_TYPE_3D
                                                                                           : VK_IMAGE_TYPE_2D;
    VkImageCreateFlags f = s->type == SEDX_IMAGE_CUBE ? VK_IMAGE_CREATE_CUBE_COMPATIBLE_BIT : 0;
    VkResult vr = vkGetPhysicalDeviceImageFormatProperties(
        sedx_context_physical_device(ctx), s->format, t, VK_IMAGE_TILING_OPTIMAL,
        VK_IMAGE_USAGE_SAMPLED_BIT | VK_IMAGE_USAGE_TRANSFER_SRC_BIT | VK_IMAGE_USAGE_TRANSFER_DST_BIT, f, &ip);
    return vr == VK_SUCCESS;
}

/* The level's region in the shadow: [x0, x0 + w) x [y0, y0 + h) x [z0, z0 + dz) texels of layers [l0, l0 + nl). */
typedef struct box { uint32_t l0, nl, x0, y0, z0, w, h, dz; } box;

static uint8_t *texel_at(shadow *sh, uint32_t m, uint32_t layer, uint32_t z, uint32_t bx, uint32_t by)
{
    const spec *s = sh->s;
    uint32_t wb = div_up(sh->ext[m].width, s->bw), hb = div_up(sh->ext[m].height, s->bh);
    uint64_t slice = (uint64_t)layer * sh->ext[m].depth + z;
    return sh->level[m] + slice * sh->slice_bytes[m] + ((uint64_t)by * wb + bx) * s->bytes;
    (void)hb;
}

/* Memory for box b of level m with row_length rl and image_height ih (texels, whole blocks):
 * the shadow's bytes after `fresh` replaces them with new random ones, poison in the padding. */
static uint8_t *pack(shadow *sh, uint32_t m, const box *b, uint32_t rl, uint32_t ih, bool fresh, size_t *out_size)
{
    const spec *s = sh->s;
    uint32_t wb = div_up(b->w, s->bw), hb = div_up(b->h, s->bh);
    uint64_t urp = (uint64_t)(rl / s->bw) * s->bytes, usp = (uint64_t)(ih / s->bh) * urp;
    uint64_t slices = (uint64_t)b->nl * b->dz;
    size_t size = (size_t)(slices * usp);
    uint8_t *mem = malloc(size);
    memset(mem, POISON, size);
    for (uint64_t sl = 0; sl < slices; ++sl) {
        uint32_t layer = b->l0 + (uint32_t)(sl / b->dz), z = b->z0 + (uint32_t)(sl % b->dz);
        for (uint32_t r = 0; r < hb; ++r) {
            uint8_t *t = texel_at(sh, m, layer, z, b->x0 / s->bw, b->y0 / s->bh + r);
            if (fresh) fill_nonzero(t, (size_t)wb * s->bytes);
            memcpy(mem + sl * usp + r * urp, t, (size_t)wb * s->bytes);
        }
    }
    *out_size = size;
    return mem;
}

static sedx_image_region region_of(const box *b, uint32_t m, const void *data, uint32_t rl, uint32_t ih)
{
    sedx_image_region g = {0};
    g.data = data;
    g.mip_level = m;
    g.base_array_layer = b->l0;
    g.layer_count = b->nl;
    g.offset = (VkOffset3D){(int32_t)b->x0, (int32_t)b->y0, (int32_t)b->z0};
    g.extent = (VkExtent3D){b->w, b->h, b->dz};
    g.row_length = rl;
    g.image_height = ih;
    return g;
}

static box whole(const shadow *sh, uint32_t m)
{
    box b = {0, sh->layers, 0, 0, 0, sh->ext[m].width, sh->ext[m].height, sh->ext[m].depth};
    return b;
}

/* Every level and layer read back into poisoned memory with padded rows; compared. */
static void check_all(sedx_context *ctx, shadow *sh)
{
    const spec *s = sh->s;
    for (uint32_t m = 0; m < sh->mips; ++m) {
        box b = whole(sh, m);
        uint32_t pad = (uint32_t)(tu_rand(&g_rng) % 3);
        uint32_t rl = (div_up(b.w, s->bw) + pad) * s->bw, ih = (div_up(b.h, s->bh) + (pad & 1)) * s->bh;
        size_t size;
        uint8_t *want = pack(sh, m, &b, rl, ih, false, &size);
        uint8_t *got = malloc(size);
        memset(got, POISON, size);
        sedx_image_region g = region_of(&b, m, NULL, rl, ih);
        assert_int_equal(sedx_download_image(ctx, &sh->img, &g, got), SEDX_SUCCESS);
        if (memcmp(got, want, size) != 0) {
            size_t bad = 0, first = 0, last = 0;
            for (size_t i = 0; i < size; ++i)
                if (got[i] != want[i]) { if (!bad++) first = i; last = i; }
            print_message("  level %u: %zu bytes differ in [%zu, %zu] of %zu (row pitch %u texels, image height %u)\n", m,
                          bad, first, last, size, rl, ih);
            for (size_t i = 0; i < size; ++i)
                if (got[i] != want[i])
                    fail_msg("format %d %ux%ux%u x%u: level %u, byte %zu of %zu is 0x%02x, expected 0x%02x", (int)s->format,
                             s->w, s->h, s->d, s->layers, m, i, size, got[i], want[i]);
        }
        free(want);
        free(got);
    }
}

/* Splits [0, n) texels into 1..3 block-aligned pieces (the last may end at the edge, partial). */
static uint32_t cuts(uint32_t n, uint32_t bw, uint32_t *at)
{
    uint32_t blocks = div_up(n, bw), k = 1 + (uint32_t)(tu_rand(&g_rng) % 3);
    if (k > blocks) k = blocks;
    at[0] = 0;
    for (uint32_t i = 1; i < k; ++i) at[i] = at[i - 1] + bw * (1 + (uint32_t)(tu_rand(&g_rng) % ((blocks - (at[i - 1] / bw)) - (k - i))));
    for (uint32_t i = 1; i < k; ++i)
        if (at[i] <= at[i - 1] || at[i] >= n) return i; /* keep it simple: fewer pieces */
    return k;
}

static void upload_boxes(sedx_context *ctx, shadow *sh, uint32_t m, const box *bs, uint32_t n, uint32_t flags)
{
    const spec *s = sh->s;
    sedx_image_region g[32] = {{0}}; /* (all n set below; gcc cannot see it once inlined) */
    uint8_t *mem[32];
    for (uint32_t i = 0; i < n; ++i) {
        uint32_t pad = (uint32_t)(tu_rand(&g_rng) % 3);
        uint32_t rl = (div_up(bs[i].w, s->bw) + pad) * s->bw, ih = (div_up(bs[i].h, s->bh) + (pad >> 1)) * s->bh;
        size_t size;
        mem[i] = pack(sh, m, &bs[i], rl, ih, true, &size);
        /* row_length / image_height 0 where there is no padding: the defaults */
        g[i] = region_of(&bs[i], m, mem[i], pad ? rl : 0, (pad >> 1) ? ih : 0);
    }
    sedx_image_upload_info ui = {0};
    ui.flags = flags;
    assert_int_equal(sedx_upload_image(ctx, &sh->img, g, n, &ui), SEDX_SUCCESS);
    for (uint32_t i = 0; i < n; ++i) free(mem[i]);
}

/* Every bad region class with its code; nothing written (checked by the caller's check_all). */
static void bad_regions(sedx_context *ctx, shadow *sh)
{
    const spec *s = sh->s;
    box b0 = whole(sh, 0);
    size_t size;
    uint8_t *mem = pack(sh, 0, &b0, div_up(b0.w, s->bw) * s->bw, div_up(b0.h, s->bh) * s->bh, false, &size);
    uint8_t *junk = malloc(size);
    memset(junk, 0x5A, size);
    sedx_image_region good = region_of(&b0, 0, junk, 0, 0); /* would overwrite level 0 with junk */
    sedx_image_region g[2];
#define BAD(code, ...)                                                                                           \
    do {                                                                                                         \
        g[0] = good;                                                                                             \
        g[1] = good;                                                                                             \
        __VA_ARGS__;                                                                                             \
        assert_int_equal(sedx_upload_image(ctx, &sh->img, &g[1], 1, NULL), code);                                \
        assert_int_equal(sedx_upload_image(ctx, &sh->img, g, 2, NULL), code); /* after a good region */         \
    } while (0)
    /* g[0] is level 0 whole; the bad g[1] must fail on its own first (the 2-region call then fails
     * either for g[1]'s reason or because it overlaps g[0]: both INVALID_ARGUMENT or its code) */
    BAD(SEDX_ERROR_OUT_OF_BOUNDS, g[1].mip_level = sh->mips; g[0].mip_level = 0);
    BAD(SEDX_ERROR_OUT_OF_BOUNDS, g[1].mip_level = sh->mips - 1; g[1].extent = (VkExtent3D){0, 0, 0};
        g[1].base_array_layer = sh->layers - 1; g[1].layer_count = 2);
    BAD(SEDX_ERROR_OUT_OF_BOUNDS, g[1].mip_level = sh->mips - 1; g[1].extent = (VkExtent3D){0, 0, 0};
        g[1].offset.x = (int32_t)sh->ext[sh->mips - 1].width);
    BAD(SEDX_ERROR_OUT_OF_BOUNDS, g[1].mip_level = sh->mips - 1; g[1].extent = (VkExtent3D){0, 0, 0};
        g[1].offset.y = -1);
    BAD(SEDX_ERROR_OUT_OF_BOUNDS, g[1].mip_level = sh->mips - 1;
        g[1].extent = (VkExtent3D){sh->ext[sh->mips - 1].width + s->bw, 1, 1});
    BAD(SEDX_ERROR_OUT_OF_BOUNDS, g[1].mip_level = sh->mips - 1;
        g[1].extent = (VkExtent3D){0, 0, sh->ext[sh->mips - 1].depth + 1});
    BAD(SEDX_ERROR_INVALID_ARGUMENT, g[1].mip_level = sh->mips - 1; g[1].extent = (VkExtent3D){0, 0, 0};
        g[1].data = NULL);
    if (sh->mips > 1 && (sh->ext[1].width > s->bw || sh->ext[1].height > s->bh)) {
        /* a region of another level, its rows (or its slices' rows) shorter than the region */
        bool by_rows = sh->ext[1].width > s->bw;
        BAD(SEDX_ERROR_INVALID_ARGUMENT, g[1].mip_level = 1; g[1].extent = (VkExtent3D){0, 0, 0};
            g[1].row_length = by_rows ? s->bw * (div_up(sh->ext[1].width, s->bw) - 1) : 0;
            g[1].image_height = by_rows ? 0 : s->bh * (div_up(sh->ext[1].height, s->bh) - 1));
    }
    if (s->bw > 1 && b0.w > s->bw) { /* off block boundaries, and a partial block not at the edge */
        BAD(SEDX_ERROR_INVALID_ARGUMENT, g[1].mip_level = 0; g[1].offset.x = 1; g[1].extent = (VkExtent3D){0, 0, 0};
            g[0].mip_level = sh->mips - 1; g[0].extent = (VkExtent3D){0, 0, 0});
        BAD(SEDX_ERROR_INVALID_ARGUMENT, g[1].mip_level = 0; g[1].extent = (VkExtent3D){s->bw - 1, s->bh, 1};
            g[0].mip_level = sh->mips - 1; g[0].extent = (VkExtent3D){0, 0, 0});
    }
    /* two good regions that overlap: nothing written */
    g[0] = good;
    g[1] = good;
    g[1].extent = (VkExtent3D){1, 1, 1};
    assert_int_equal(sedx_upload_image(ctx, &sh->img, g, 2, NULL), SEDX_ERROR_INVALID_ARGUMENT);
#undef BAD
    free(mem);
    free(junk);
}

static void run_spec(sedx_context *ctx, const spec *s, uint32_t upload_flags, int *refused)
{
    sedx_image_info ii = {0};
    ii.type = s->type;
    ii.format = s->format;
    ii.width = s->w;
    ii.height = s->type == SEDX_IMAGE_1D ? 0 : s->h;
    ii.depth = s->type == SEDX_IMAGE_3D ? s->d : 0;
    ii.array_layers = s->layers;
    ii.mip_levels = SEDX_MIP_LEVELS_FULL;
    ii.name = "review5 chain";
    shadow sh = {0};
    sh.s = s;
    sedx_result r = sedx_image_create(ctx, &ii, &sh.img);
    if (!format_ok(ctx, s)) {
        assert_int_equal(r, SEDX_ERROR_FEATURE_NOT_PRESENT);
        ++*refused;
        return;
    }
    assert_int_equal(r, SEDX_SUCCESS);
    uint32_t big = max_u(s->w, max_u(s->type == SEDX_IMAGE_1D ? 1 : s->h, s->type == SEDX_IMAGE_3D ? s->d : 1));
    uint32_t full = 1;
    while (big >> full) full++;
    assert_int_equal(sh.img.mip_levels, full);
    sh.mips = full;
    sh.layers = s->type == SEDX_IMAGE_CUBE ? 6 * max_u(s->layers / 6, 1) : max_u(s->layers, 1);
    for (uint32_t m = 0; m < sh.mips; ++m) {
        sh.ext[m] = (VkExtent3D){max_u(s->w >> m, 1), s->type == SEDX_IMAGE_1D ? 1 : max_u(s->h >> m, 1),
                                 s->type == SEDX_IMAGE_3D ? max_u(s->d >> m, 1) : 1};
        sh.slice_bytes[m] = (uint64_t)div_up(sh.ext[m].width, s->bw) * div_up(sh.ext[m].height, s->bh) * s->bytes;
        size_t n = (size_t)(sh.slice_bytes[m] * sh.ext[m].depth * sh.layers);
        sh.level[m] = malloc(n);
        fill_nonzero(sh.level[m], n);
    }
    /* 1: every level in one call */
    {
        sedx_image_region g[16];
        uint8_t *mem[16];
        for (uint32_t m = 0; m < sh.mips; ++m) {
            box b = whole(&sh, m);
            uint32_t pad = (uint32_t)(tu_rand(&g_rng) % 3);
            uint32_t rl = (div_up(b.w, s->bw) + pad) * s->bw, ih = (div_up(b.h, s->bh) + pad) * s->bh;
            size_t size;
            mem[m] = pack(&sh, m, &b, rl, ih, false, &size);
            g[m] = region_of(&b, m, mem[m], rl, ih);
            g[m].extent = (VkExtent3D){0, 0, 0}; /* to the edge */
        }
        sedx_image_upload_info ui = {0};
        ui.flags = upload_flags;
        assert_int_equal(sedx_upload_image(ctx, &sh.img, g, sh.mips, &ui), SEDX_SUCCESS);
        for (uint32_t m = 0; m < sh.mips; ++m) free(mem[m]);
    }
    check_all(ctx, &sh);
    /* 1b: level 0 as one region per row of blocks (every layer and slice), in one call */
    if (div_up(sh.ext[0].height, s->bh) <= 32) {
        box bs[32];
        uint32_t rows = div_up(sh.ext[0].height, s->bh);
        for (uint32_t y = 0; y < rows; ++y) {
            uint32_t h = y + 1 < rows ? s->bh : sh.ext[0].height - y * s->bh;
            bs[y] = (box){0, sh.layers, 0, y * s->bh, 0, sh.ext[0].width, h, sh.ext[0].depth};
        }
        upload_boxes(ctx, &sh, 0, bs, rows, upload_flags);
        check_all(ctx, &sh);
    }
    /* 2: random disjoint sub-regions of random levels, several per call */
    for (int round = 0; round < 6; ++round) {
        uint32_t m = (uint32_t)(tu_rand(&g_rng) % sh.mips);
        uint32_t xs[4], ys[4];
        uint32_t nx = cuts(sh.ext[m].width, s->bw, xs), ny = cuts(sh.ext[m].height, s->bh, ys);
        box bs[32];
        uint32_t n = 0;
        uint32_t l0 = (uint32_t)(tu_rand(&g_rng) % sh.layers), nl = 1 + (uint32_t)(tu_rand(&g_rng) % (sh.layers - l0));
        uint32_t z0 = (uint32_t)(tu_rand(&g_rng) % sh.ext[m].depth);
        uint32_t dz = 1 + (uint32_t)(tu_rand(&g_rng) % (sh.ext[m].depth - z0));
        for (uint32_t i = 0; i < nx; ++i)
            for (uint32_t j = 0; j < ny; ++j) {
                if (tu_rand(&g_rng) % 4 == 0) continue; /* leave some out */
                uint32_t x1 = i + 1 < nx ? xs[i + 1] : sh.ext[m].width, y1 = j + 1 < ny ? ys[j + 1] : sh.ext[m].height;
                bs[n++] = (box){l0, nl, xs[i], ys[j], z0, x1 - xs[i], y1 - ys[j], dz};
            }
        if (n) upload_boxes(ctx, &sh, m, bs, n, round & 1 ? upload_flags : 0);
        if (round % 3 == 2) check_all(ctx, &sh);
    }
    check_all(ctx, &sh);
    /* 3: bad regions; nothing written */
    bad_regions(ctx, &sh);
    check_all(ctx, &sh);
    sedx_image_release(&sh.img);
    for (uint32_t m = 0; m < sh.mips; ++m) free(sh.level[m]);
}

static const spec k_specs[] = {
    {SEDX_IMAGE_2D, VK_FORMAT_R8G8B8A8_UNORM, 4, 1, 1, 1, 37, 1, 1},
    {SEDX_IMAGE_2D, VK_FORMAT_R8_UNORM, 1, 1, 1, 53, 1, 1, 1},
    {SEDX_IMAGE_1D, VK_FORMAT_R16_UNORM, 2, 1, 1, 100, 1, 1, 3},
    {SEDX_IMAGE_2D, VK_FORMAT_R8G8B8_UNORM, 3, 1, 1, 13, 7, 1, 2},
    {SEDX_IMAGE_2D, VK_FORMAT_R32G32B32A32_UINT, 16, 1, 1, 7, 5, 1, 3},
    {SEDX_IMAGE_3D, VK_FORMAT_R8G8B8A8_UINT, 4, 1, 1, 5, 3, 9, 1},
    {SEDX_IMAGE_3D, VK_FORMAT_R16G16_UINT, 4, 1, 1, 2, 1, 17, 1},
    {SEDX_IMAGE_CUBE, VK_FORMAT_R8_UINT, 1, 1, 1, 11, 11, 1, 6},
    {SEDX_IMAGE_2D, VK_FORMAT_BC1_RGBA_UNORM_BLOCK, 8, 4, 4, 13, 5, 1, 1},
    {SEDX_IMAGE_2D, VK_FORMAT_BC7_UNORM_BLOCK, 16, 4, 4, 9, 9, 1, 2},
    {SEDX_IMAGE_2D, VK_FORMAT_BC7_SRGB_BLOCK, 16, 4, 4, 1, 30, 1, 1},
    {SEDX_IMAGE_2D, VK_FORMAT_R8G8B8A8_UNORM, 4, 1, 1, 301, 203, 1, 1},   /* 239 KiB: pieces on a 64 KiB ring */
    {SEDX_IMAGE_2D, VK_FORMAT_R16G16B16_UNORM, 6, 1, 1, 97, 61, 1, 1},  /* 35 KiB, 6-byte texels */
    {SEDX_IMAGE_1D, VK_FORMAT_R32G32B32A32_UINT, 16, 1, 1, 2049, 1, 1, 1}, /* a 32 KiB row */
    {SEDX_IMAGE_2D, VK_FORMAT_R32G32B32_UINT, 12, 1, 1, 9, 17, 1, 1},     /* 12-byte texels */
    {SEDX_IMAGE_2D, VK_FORMAT_R32G32B32_SFLOAT, 12, 1, 1, 33, 7, 1, 2},
    {SEDX_IMAGE_3D, VK_FORMAT_R32G32B32_SINT, 12, 1, 1, 11, 5, 6, 1},
    {SEDX_IMAGE_2D, VK_FORMAT_R32G32B32_UINT, 12, 1, 1, 97, 61, 1, 1},    /* 69 KiB: pieces on a 64 KiB ring */
};

static void run_all(uint32_t transfer_flags, uint64_t ring, uint32_t upload_flags)
{
    sedx_context *ctx = tu_context(false);
    if (transfer_flags || ring) {
        sedx_transfer_info ti = {0};
        ti.flags = transfer_flags;
        ti.staging_size = ring;
        ti.staging_max = ring;
        ti.readback_size = ring;
        assert_int_equal(sedx_transfer_configure(ctx, &ti), SEDX_SUCCESS);
    }
    int refused = 0;
    for (size_t i = 0; i < sizeof k_specs / sizeof k_specs[0]; ++i) run_spec(ctx, &k_specs[i], upload_flags, &refused);
    print_message("  %zu images, %d formats refused by the device (FEATURE_NOT_PRESENT checked)\n",
                  sizeof k_specs / sizeof k_specs[0], refused);
    tu_context_destroy(ctx);
}

static void test_default(void **state)
{
    (void)state;
    run_all(0, 0, 0);
}

static void test_tiny_ring_staged(void **state)
{
    (void)state;
    run_all(SEDX_TRANSFER_NO_DIRECT, 64u << 10, 0);
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
