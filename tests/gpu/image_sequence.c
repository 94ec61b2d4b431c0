/* A random sequence of image operations checked against a CPU shadow of every image's texels:
 * images of every type (2D, arrays, cubes, 3D) and several formats (1, 2, 4, 8 and 16-byte texels,
 * BC1 where the device has it) are created, uploaded in random regions of random levels and
 * layers from memory with padded rows and slices (several regions per call, NO_WAIT calls), read
 * back in random regions and compared byte by byte, their chains blitted (the blitted levels
 * become unknown to the shadow until uploaded again), retained and released with uploads still
 * in the open batch, fed by the seed's sedx_copy_buffer_to_image, refused with bad regions (the
 * shadow must still match afterwards), all interleaved with buffer uploads and readbacks into
 * the same batches, submits and flushes. Validation (with synchronization validation) must stay
 * silent. The seed is tu_seed() (SEDX_TEST_SEED); a failure prints it with the operation number.
 *
 * Modes (argv[1]): default; tiny_ring (a 64 KiB staging ring that never grows: pieces, ring
 * waits, mid-call submits, NO_WAIT refusals); main_queue (SEDX_TRANSFER_NO_TRANSFER_QUEUE). */
#include "test_util.h"

#include <stdlib.h>
#include <string.h>

#define MAX_IMAGES 6
#define OPS 500u
#define K 1024u

typedef struct fmt {
    VkFormat format;
    uint32_t bytes, bw, bh; /* texel block */
} fmt;

typedef struct simage {
    bool live;
    sedx_image img;
    fmt f;
    uint32_t type, mips, layers;
    uint8_t **level;   /* per level: layers * depth * hb * wb * bytes */
    uint8_t **known;   /* per byte: 1 when the shadow knows it */
} simage;

static uint64_t g_rng;
static uint32_t g_op;
static simage g_img[MAX_IMAGES];
static fmt g_fmts[8];
static uint32_t g_fmt_count;

#define CHECK(cond, ...)                                                                           \
    do {                                                                                           \
        if (!(cond)) {                                                                             \
            fprintf(stderr, "IMAGE SEQUENCE FAILURE at op #%u (seed 0x%llx): ", g_op,              \
                    (unsigned long long)tu_seed());                                                \
            fprintf(stderr, __VA_ARGS__);                                                          \
            fprintf(stderr, "\n");                                                                 \
            fail();                                                                                \
        }                                                                                          \
    } while (0)

static uint32_t rnd(uint32_t n) { return n ? (uint32_t)(tu_rand(&g_rng) % n) : 0; }

static VkExtent3D level_extent(const simage *s, uint32_t m) { return sedx_image_mip_extent(&s->img, m); }
static uint32_t wblocks(const simage *s, uint32_t m) { return (level_extent(s, m).width + s->f.bw - 1) / s->f.bw; }
static uint32_t hblocks(const simage *s, uint32_t m) { return (level_extent(s, m).height + s->f.bh - 1) / s->f.bh; }
static uint64_t level_bytes(const simage *s, uint32_t m)
{
    return (uint64_t)wblocks(s, m) * hblocks(s, m) * level_extent(s, m).depth * s->layers * s->f.bytes;
}
/* Offset of block (x, y) of slice z of layer l of level m in the shadow. */
static uint64_t shadow_at(const simage *s, uint32_t m, uint32_t l, uint32_t z, uint32_t y, uint32_t x)
{
    uint64_t slices = level_extent(s, m).depth;
    return ((((uint64_t)l * slices + z) * hblocks(s, m) + y) * wblocks(s, m) + x) * s->f.bytes;
}

static void free_image(simage *s)
{
    for (uint32_t m = 0; m < s->mips; ++m) {
        free(s->level[m]);
        free(s->known[m]);
    }
    free(s->level);
    free(s->known);
    sedx_image_release(&s->img);
    memset(s, 0, sizeof *s);
}

static void op_create(sedx_context *ctx, simage *s)
{
    sedx_image_info ii = {0};
    s->f = g_fmts[rnd(g_fmt_count)];
    s->type = rnd(4);
    ii.format = s->f.format;
    ii.width = 1 + rnd(70);
    ii.height = 1 + rnd(50);
    if (s->type == 1) ii.array_layers = 1 + rnd(4);
    if (s->type == 2) { /* cube */
        ii.type = SEDX_IMAGE_CUBE;
        ii.height = ii.width = 1 + rnd(24);
    }
    if (s->type == 3) {
        ii.type = SEDX_IMAGE_3D;
        ii.depth = 1 + rnd(6);
        if (s->f.bw > 1) ii.type = SEDX_IMAGE_2D, ii.depth = 0; /* no 3D BC on every device */
    }
    ii.mip_levels = rnd(2) ? SEDX_MIP_LEVELS_FULL : 1 + rnd(2);
    uint32_t chain = sedx_mip_chain_length(ii.width, ii.height, ii.depth ? ii.depth : 1);
    if (ii.mip_levels != SEDX_MIP_LEVELS_FULL && ii.mip_levels > chain) ii.mip_levels = chain;
    ii.name = "sequence image";
    sedx_result r = sedx_image_create(ctx, &ii, &s->img);
    CHECK(r == SEDX_SUCCESS, "create %ux%ux%u format %d: %s", ii.width, ii.height, ii.depth, (int)ii.format,
          sedx_result_name(r));
    s->live = true;
    s->mips = s->img.mip_levels;
    s->layers = s->img.array_layers;
    s->level = calloc(s->mips, sizeof *s->level);
    s->known = calloc(s->mips, sizeof *s->known);
    for (uint32_t m = 0; m < s->mips; ++m) {
        s->level[m] = calloc(1, level_bytes(s, m));
        s->known[m] = calloc(1, level_bytes(s, m));
    }
}

/* A random region of s (whole blocks) with padded memory of random bytes. */
typedef struct region_mem {
    sedx_image_region g;
    uint8_t *mem;
    uint64_t bytes;
    uint32_t row_blocks, rows_per_slice; /* of the memory layout, in blocks */
} region_mem;

static void random_region(const simage *s, uint32_t m, region_mem *rm)
{
    memset(rm, 0, sizeof *rm);
    VkExtent3D e = level_extent(s, m);
    uint32_t wb = wblocks(s, m), hb = hblocks(s, m);
    uint32_t x0 = rnd(wb), y0 = rnd(hb), z0 = rnd(e.depth);
    uint32_t nx = 1 + rnd(wb - x0), ny = 1 + rnd(hb - y0), nz = 1 + rnd(e.depth - z0);
    uint32_t l0 = rnd(s->layers), nl = 1 + rnd(s->layers - l0);
    rm->g.mip_level = m;
    rm->g.base_array_layer = l0;
    rm->g.layer_count = nl;
    rm->g.offset = (VkOffset3D){(int32_t)(x0 * s->f.bw), (int32_t)(y0 * s->f.bh), (int32_t)z0};
    /* extents in texels: whole blocks, or to the level's edge */
    uint32_t w = (x0 + nx == wb) ? e.width - x0 * s->f.bw : nx * s->f.bw;
    uint32_t h = (y0 + ny == hb) ? e.height - y0 * s->f.bh : ny * s->f.bh;
    rm->g.extent = (VkExtent3D){w, h, nz};
    rm->row_blocks = nx + (rnd(3) == 0 ? rnd(5) : 0);
    rm->rows_per_slice = ny + (rnd(3) == 0 ? rnd(3) : 0);
    if (rm->row_blocks != nx || rnd(2)) rm->g.row_length = rm->row_blocks * s->f.bw;
    else rm->row_blocks = (w + s->f.bw - 1) / s->f.bw;
    if (rm->rows_per_slice != ny || rnd(2)) rm->g.image_height = rm->rows_per_slice * s->f.bh;
    else rm->rows_per_slice = (h + s->f.bh - 1) / s->f.bh;
    rm->bytes = (uint64_t)rm->row_blocks * rm->rows_per_slice * nz * nl * s->f.bytes;
    rm->mem = malloc(rm->bytes);
}

/* Visits every block of the region: memory offset and shadow offset. */
typedef void (*block_fn)(simage *s, const region_mem *rm, uint64_t mem_off, uint64_t sh_off, void *user);
static void each_block(simage *s, const region_mem *rm, block_fn fn, void *user)
{
    const sedx_image_region *g = &rm->g;
    uint32_t nx = (g->extent.width + s->f.bw - 1) / s->f.bw, ny = (g->extent.height + s->f.bh - 1) / s->f.bh;
    uint32_t x0 = (uint32_t)g->offset.x / s->f.bw, y0 = (uint32_t)g->offset.y / s->f.bh;
    for (uint32_t l = 0; l < g->layer_count; ++l)
        for (uint32_t z = 0; z < g->extent.depth; ++z)
            for (uint32_t y = 0; y < ny; ++y)
                for (uint32_t x = 0; x < nx; ++x) {
                    uint64_t mem = ((((uint64_t)l * g->extent.depth + z) * rm->rows_per_slice + y) * rm->row_blocks + x) *
                                   s->f.bytes;
                    fn(s, rm, mem, shadow_at(s, g->mip_level, g->base_array_layer + l, (uint32_t)g->offset.z + z,
                                             y0 + y, x0 + x), user);
                }
}

static void put_block(simage *s, const region_mem *rm, uint64_t mem, uint64_t sh, void *user)
{
    (void)user;
    memcpy(s->level[rm->g.mip_level] + sh, rm->mem + mem, s->f.bytes);
    memset(s->known[rm->g.mip_level] + sh, 1, s->f.bytes);
}

typedef struct cmp_state {
    uint32_t mismatches;
    uint64_t first_sh;
} cmp_state;

static void cmp_block(simage *s, const region_mem *rm, uint64_t mem, uint64_t sh, void *user)
{
    cmp_state *c = user;
    for (uint32_t i = 0; i < s->f.bytes; ++i) {
        if (!s->known[rm->g.mip_level][sh + i]) continue;
        if (rm->mem[mem + i] != s->level[rm->g.mip_level][sh + i]) {
            if (!c->mismatches) c->first_sh = sh + i;
            c->mismatches++;
        }
    }
}

static void op_upload(sedx_context *ctx, simage *s, bool no_wait)
{
    uint32_t n = 1 + rnd(3);
    region_mem rm[3];
    sedx_image_region g[3];
    uint32_t used = 0;
    for (uint32_t i = 0; i < n; ++i) { /* distinct levels: regions of one call never overlap */
        uint32_t m = rnd(s->mips);
        bool taken = false;
        for (uint32_t j = 0; j < used; ++j) taken |= rm[j].g.mip_level == m;
        if (taken) continue;
        random_region(s, m, &rm[used]);
        tu_fill_random(rm[used].mem, rm[used].bytes, &g_rng);
        rm[used].g.data = rm[used].mem;
        g[used] = rm[used].g;
        used++;
    }
    sedx_image_upload_info info = {0};
    info.flags = no_wait ? SEDX_UPLOAD_NO_WAIT : 0;
    sedx_result r = sedx_upload_image(ctx, &s->img, g, used, &info);
    CHECK(r == SEDX_SUCCESS || (no_wait && r == SEDX_ERROR_OUT_OF_STAGING), "upload of %u regions: %s", used,
          sedx_result_name(r));
    for (uint32_t i = 0; i < used; ++i) {
        if (r == SEDX_SUCCESS) each_block(s, &rm[i], put_block, NULL);
        free(rm[i].mem);
    }
}

static void op_download(sedx_context *ctx, simage *s)
{
    if (sedx_image_layout(&s->img) == VK_IMAGE_LAYOUT_UNDEFINED) return;
    region_mem rm;
    random_region(s, rnd(s->mips), &rm);
    memset(rm.mem, 0xA5, rm.bytes);
    sedx_result r = sedx_download_image(ctx, &s->img, &rm.g, rm.mem);
    CHECK(r == SEDX_SUCCESS, "download: %s", sedx_result_name(r));
    cmp_state c = {0, 0};
    each_block(s, &rm, cmp_block, &c);
    CHECK(!c.mismatches, "download of level %u layers %u+%u box (%d,%d,%d)+(%u,%u,%u), rows of %u blocks: %u bytes "
          "differ from the shadow (first at shadow byte %llu)", rm.g.mip_level, rm.g.base_array_layer,
          rm.g.layer_count, rm.g.offset.x, rm.g.offset.y, rm.g.offset.z, rm.g.extent.width, rm.g.extent.height,
          rm.g.extent.depth, rm.row_blocks, c.mismatches, (unsigned long long)c.first_sh);
    free(rm.mem);
}

static void op_mips(sedx_context *ctx, simage *s)
{
    if (s->f.format != VK_FORMAT_R8G8B8A8_UNORM || sedx_image_layout(&s->img) == VK_IMAGE_LAYOUT_UNDEFINED) return;
    sedx_result r = sedx_image_generate_mips(ctx, &s->img);
    CHECK(r == SEDX_SUCCESS, "generate_mips: %s", sedx_result_name(r));
    for (uint32_t m = 1; m < s->mips; ++m) memset(s->known[m], 0, level_bytes(s, m)); /* filtered: not modelled */
}

/* A region outside the level is refused and changes nothing (the next downloads check). */
static void op_bad(sedx_context *ctx, simage *s)
{
    region_mem rm;
    random_region(s, rnd(s->mips), &rm);
    tu_fill_random(rm.mem, rm.bytes, &g_rng);
    sedx_image_region two[2] = {rm.g, rm.g};
    two[0].data = two[1].data = rm.mem;
    two[1].mip_level = s->mips + rnd(3); /* the second region is bad: the first must not land either */
    sedx_result r = sedx_upload_image(ctx, &s->img, two, 2, NULL);
    CHECK(r == SEDX_ERROR_OUT_OF_BOUNDS, "bad region accepted: %s", sedx_result_name(r));
    free(rm.mem);
}

/* The seed's CopyBufferToImage into level 0, layer 0 of a 2D RGBA8 image. */
static void op_seed_copy(sedx_context *ctx, simage *s)
{
    if (s->f.format != VK_FORMAT_R8G8B8A8_UNORM || s->type == 3) return;
    VkExtent3D e = level_extent(s, 0);
    uint64_t bytes = (uint64_t)e.width * e.height * 4;
    sedx_buffer st;
    CHECK(sedx_staging_buffer_create(ctx, bytes, "sequence seed staging", &st) == SEDX_SUCCESS, "staging buffer");
    region_mem rm;
    memset(&rm, 0, sizeof rm);
    rm.g.layer_count = 1;
    rm.g.extent = e;
    rm.row_blocks = e.width;
    rm.rows_per_slice = e.height;
    rm.mem = st.data;
    tu_fill_random(rm.mem, bytes, &g_rng);
    sedx_result r = sedx_copy_buffer_to_image(ctx, sedx_buffer_vk(&st), s->img.image, e.width, e.height);
    CHECK(r == SEDX_SUCCESS, "seed copy: %s", sedx_result_name(r));
    each_block(s, &rm, put_block, NULL);
    sedx_buffer_release(&st);
}

static void run(sedx_context *ctx, uint32_t ops)
{
    sedx_buffer buf;
    uint8_t model[8 * K], tmp[8 * K];
    CHECK(sedx_buffer_create(ctx, sizeof model, SEDX_BUFFER_USAGE_STORAGE, SEDX_MEMORY_GPU, "sequence buffer", &buf) ==
              SEDX_SUCCESS, "buffer");
    tu_fill_random(model, sizeof model, &g_rng);
    CHECK(sedx_upload(ctx, &buf, 0, sizeof model, model) == SEDX_SUCCESS, "buffer upload");
    for (g_op = 0; g_op < ops; ++g_op) {
        simage *s = &g_img[rnd(MAX_IMAGES)];
        uint32_t k = rnd(100);
        if (!s->live) {
            op_create(ctx, s);
        } else if (k < 35) {
            op_upload(ctx, s, rnd(5) == 0);
        } else if (k < 60) {
            op_download(ctx, s);
        } else if (k < 64) {
            op_mips(ctx, s);
        } else if (k < 68) {
            op_bad(ctx, s);
        } else if (k < 71) {
            op_seed_copy(ctx, s);
        } else if (k < 76) { /* released with its uploads possibly still in the open batch */
            sedx_image keep = rnd(2) ? sedx_image_retain(&s->img) : (sedx_image){0};
            free_image(s);
            sedx_image_release(&keep);
        } else if (k < 86) { /* a buffer upload into the same batch */
            uint32_t off = rnd(sizeof model / 16) * 16, n = 1 + rnd((uint32_t)(sizeof model - off));
            tu_fill_random(model + off, n, &g_rng);
            CHECK(sedx_upload(ctx, &buf, off, n, model + off) == SEDX_SUCCESS, "buffer upload");
        } else if (k < 90) {
            CHECK(sedx_download(ctx, &buf, 0, sizeof tmp, tmp) == SEDX_SUCCESS && !memcmp(tmp, model, sizeof tmp),
                  "buffer readback differs from the shadow");
        } else if (k < 96) {
            sedx_ticket t;
            CHECK(sedx_upload_submit(ctx, &t) == SEDX_SUCCESS, "submit");
        } else {
            CHECK(sedx_upload_flush(ctx) == SEDX_SUCCESS, "flush");
        }
    }
    for (uint32_t i = 0; i < MAX_IMAGES; ++i) { /* the last word: every live image read whole */
        simage *s = &g_img[i];
        for (uint32_t m = 0; s->live && m < s->mips && sedx_image_layout(&s->img) != VK_IMAGE_LAYOUT_UNDEFINED; ++m) {
            region_mem rm;
            memset(&rm, 0, sizeof rm);
            rm.g.mip_level = m;
            rm.g.layer_count = s->layers;
            rm.row_blocks = wblocks(s, m);
            rm.rows_per_slice = hblocks(s, m);
            rm.g.extent = level_extent(s, m);
            rm.bytes = level_bytes(s, m);
            rm.mem = malloc(rm.bytes);
            sedx_image_region g = rm.g;
            g.extent = (VkExtent3D){0, 0, 0};
            CHECK(sedx_download_image(ctx, &s->img, &g, rm.mem) == SEDX_SUCCESS, "final download");
            cmp_state c = {0, 0};
            each_block(s, &rm, cmp_block, &c);
            CHECK(!c.mismatches, "final read of image %u level %u: %u bytes differ", i, m, c.mismatches);
            free(rm.mem);
        }
        if (s->live) free_image(s);
    }
    sedx_buffer_release(&buf);
}

static void add_fmt(sedx_context *ctx, VkFormat f, uint32_t bytes, uint32_t bw, uint32_t bh)
{
    VkFormatProperties fp;
    vkGetPhysicalDeviceFormatProperties(sedx_context_physical_device(ctx), f, &fp);
    VkFormatFeatureFlags need = VK_FORMAT_FEATURE_TRANSFER_SRC_BIT | VK_FORMAT_FEATURE_TRANSFER_DST_BIT |
                                VK_FORMAT_FEATURE_SAMPLED_IMAGE_BIT;
    if ((fp.optimalTilingFeatures & need) == need) g_fmts[g_fmt_count++] = (fmt){f, bytes, bw, bh};
    else print_message("image_sequence: format %d not supported here: left out\n", (int)f);
}

static const char *g_mode = "default";

static void test_image_sequence(void **state)
{
    (void)state;
    sedx_context *ctx = tu_context(true);
    sedx_transfer_info ti = {0};
    ti.memcpy_threads = 2;
    if (!strcmp(g_mode, "tiny_ring")) ti.staging_size = ti.staging_max = 64 * K;
    else if (!strcmp(g_mode, "main_queue")) ti.flags = SEDX_TRANSFER_NO_TRANSFER_QUEUE;
    else if (strcmp(g_mode, "default")) fail_msg("unknown mode '%s' (default, tiny_ring, main_queue)", g_mode);
    assert_int_equal(sedx_transfer_configure(ctx, &ti), SEDX_SUCCESS);
    g_rng = tu_seed() ^ (uint64_t)strlen(g_mode) * 0x9E3779B97F4A7C15ull;
    g_fmt_count = 0;
    add_fmt(ctx, VK_FORMAT_R8G8B8A8_UNORM, 4, 1, 1);
    add_fmt(ctx, VK_FORMAT_R8_UNORM, 1, 1, 1);
    add_fmt(ctx, VK_FORMAT_R16_SFLOAT, 2, 1, 1);
    add_fmt(ctx, VK_FORMAT_R32G32_UINT, 8, 1, 1);
    add_fmt(ctx, VK_FORMAT_R32G32B32A32_UINT, 16, 1, 1);
    add_fmt(ctx, VK_FORMAT_BC1_RGBA_UNORM_BLOCK, 8, 4, 4);
    uint32_t ops = tu_long_mode() ? OPS * 10 : OPS;
    run(ctx, ops);
    sedx_transfer_stats st;
    assert_int_equal(sedx_transfer_get_stats(ctx, &st), SEDX_SUCCESS);
    fprintf(stderr, "image_sequence %s: %u ops, %llu image uploads (%llu pieces), %llu image downloads, %llu batches, "
                    "%llu ring waits, %llu NO_WAIT refusals, %llu mip generations\n", g_mode, ops,
            (unsigned long long)st.image_uploads, (unsigned long long)st.image_copy_regions,
            (unsigned long long)st.image_downloads, (unsigned long long)st.batches, (unsigned long long)st.ring_waits,
            (unsigned long long)st.ring_full_errors, (unsigned long long)st.mip_generations);
    assert_true(st.image_uploads > 20 && st.image_downloads > 20);
    assert_int_equal(sedx_image_count(ctx), 0);
    tu_context_destroy(ctx);
}

int main(int argc, char **argv)
{
    if (argc > 1) g_mode = argv[1];
    const struct CMUnitTest tests[] = {cmocka_unit_test(test_image_sequence)};
    return cmocka_run_group_tests(tests, NULL, NULL);
}
