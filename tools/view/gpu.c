/*
 * The scene on the GPU through sedx: one vertex and one index buffer for every mesh (uploaded in
 * pieces through the staging ring, with progress for large models), the materials in a storage
 * buffer the fragment shader finds by its bindless ID, every base colour texture as a sedx image
 * with its whole mip chain (level 0 uploaded, the rest blitted), and a checker for materials
 * without one.
 */
#include "view.h"

#include <stdlib.h>
#include <string.h>

#define PIECE (8ull << 20)

/* A buffer of `bytes` from src, in pieces through the ring; progress every piece when asked. */
static sedx_result upload_buffer(sedx_context *ctx, sedx_buffer *dst, const void *src, uint64_t bytes,
                                 const char *what, bool progress)
{
    for (uint64_t off = 0; off < bytes; off += PIECE) {
        uint64_t n = bytes - off < PIECE ? bytes - off : PIECE;
        sedx_result r = sedx_upload(ctx, dst, off, n, (const uint8_t *)src + off);
        if (r != SEDX_SUCCESS) return r;
        if (progress)
            fprintf(stderr, "\r  uploading %s: %3.0f%% of %.1f MB", what, 100.0 * (double)(off + n) / (double)bytes,
                    (double)bytes / 1e6);
    }
    if (progress) fprintf(stderr, "\n");
    return SEDX_SUCCESS;
}

static sedx_result make_buffer(sedx_context *ctx, uint64_t bytes, sedx_buffer_usage_flags usage, const char *name,
                               const void *src, bool progress, sedx_buffer *out)
{
    sedx_result r = sedx_buffer_create(ctx, bytes, usage, SEDX_MEMORY_GPU, name, out);
    return r == SEDX_SUCCESS ? upload_buffer(ctx, out, src, bytes, name, progress) : r;
}

static int upload_geometry(sedx_context *ctx, const view_scene *s, view_gpu *g, sedx_buffer_usage_flags extra_usage,
                           bool quiet, char *err, size_t errlen)
{
    const VkPhysicalDeviceLimits *lim = &sedx_context_properties(ctx)->limits;
    uint64_t vbytes = s->vertex_count * sizeof(view_vertex), ibytes = s->index_count * sizeof(uint32_t);
    for (uint32_t m = 0; m < s->mesh_count; ++m)
        if (s->meshes[m].vertex_count - 1 > lim->maxDrawIndexedIndexValue)
            return view_fail(err, errlen, VIEW_EXIT_LIMITS, "mesh '%s': %u vertices exceed maxDrawIndexedIndexValue (%u)",
                         s->meshes[m].name, s->meshes[m].vertex_count, lim->maxDrawIndexedIndexValue);
    bool progress = !quiet && vbytes + ibytes > (32ull << 20);
    sedx_result r = make_buffer(ctx, vbytes, SEDX_BUFFER_USAGE_VERTEX | extra_usage, "scene vertices", s->vertices,
                                progress, &g->vertices);
    if (r == SEDX_SUCCESS)
        r = make_buffer(ctx, ibytes, SEDX_BUFFER_USAGE_INDEX | extra_usage, "scene indices", s->indices, progress,
                        &g->indices);
    if (r == SEDX_ERROR_OUT_OF_DEVICE_MEMORY || r == SEDX_ERROR_INVALID_SIZE || r == SEDX_ERROR_OVER_BUDGET)
        return view_fail(err, errlen, VIEW_EXIT_LIMITS, "geometry of %.1f MB does not fit the device: %s",
                     (double)(vbytes + ibytes) / 1e6, sedx_result_name(r));
    if (r != SEDX_SUCCESS) return view_fail(err, errlen, VIEW_EXIT_GPU, "geometry upload: %s", sedx_result_name(r));
    g->geometry_bytes = vbytes + ibytes;
    return VIEW_OK;
}

static bool can_blit(sedx_context *ctx, VkFormat f)
{
    VkFormatProperties fp;
    vkGetPhysicalDeviceFormatProperties(sedx_context_physical_device(ctx), f, &fp);
    VkFormatFeatureFlags need = VK_FORMAT_FEATURE_BLIT_SRC_BIT | VK_FORMAT_FEATURE_BLIT_DST_BIT |
                                VK_FORMAT_FEATURE_SAMPLED_IMAGE_FILTER_LINEAR_BIT;
    return (fp.optimalTilingFeatures & need) == need;
}

/* One texture: level 0 uploaded, the chain blitted (or level 0 alone where the format cannot,
 * or when the benchmark measures the upload alone). */
static bool g_no_mips;
void view_gpu_set_no_mips(bool no_mips) { g_no_mips = no_mips; }

static sedx_result upload_texture(sedx_context *ctx, const view_image *src, sedx_image *out, uint64_t *bytes)
{
    sedx_image_info ii = {0};
    ii.format = VK_FORMAT_R8G8B8A8_SRGB;
    ii.width = src->width;
    ii.height = src->height;
    ii.mip_levels = !g_no_mips && can_blit(ctx, ii.format) ? SEDX_MIP_LEVELS_FULL : 1;
    ii.name = src->name;
    sedx_result r = sedx_image_create(ctx, &ii, out);
    if (r != SEDX_SUCCESS) return r;
    sedx_image_region rg = {0};
    rg.data = src->rgba;
    r = sedx_upload_image(ctx, out, &rg, 1, NULL);
    if (r == SEDX_SUCCESS && out->mip_levels > 1) r = sedx_image_generate_mips(ctx, out);
    *bytes += (uint64_t)src->width * src->height * 4;
    return r;
}

static sedx_result create_sets(sedx_context *ctx, view_gpu *g)
{
    VkDevice dev = sedx_context_device(ctx);
    VkSamplerCreateInfo si = {VK_STRUCTURE_TYPE_SAMPLER_CREATE_INFO};
    si.magFilter = si.minFilter = VK_FILTER_LINEAR;
    si.mipmapMode = VK_SAMPLER_MIPMAP_MODE_LINEAR;
    si.addressModeU = si.addressModeV = si.addressModeW = VK_SAMPLER_ADDRESS_MODE_REPEAT;
    si.maxLod = VK_LOD_CLAMP_NONE;
    if (vkCreateSampler(dev, &si, NULL, &g->sampler) != VK_SUCCESS) return SEDX_ERROR_VULKAN;
    VkDescriptorSetLayoutBinding b = {0, VK_DESCRIPTOR_TYPE_COMBINED_IMAGE_SAMPLER, 1, VK_SHADER_STAGE_FRAGMENT_BIT, NULL};
    VkDescriptorSetLayoutCreateInfo li = {VK_STRUCTURE_TYPE_DESCRIPTOR_SET_LAYOUT_CREATE_INFO};
    li.bindingCount = 1;
    li.pBindings = &b;
    if (vkCreateDescriptorSetLayout(dev, &li, NULL, &g->set_layout) != VK_SUCCESS) return SEDX_ERROR_VULKAN;
    uint32_t n = g->texture_count + 1;
    VkDescriptorPoolSize ps = {VK_DESCRIPTOR_TYPE_COMBINED_IMAGE_SAMPLER, n};
    VkDescriptorPoolCreateInfo pi = {VK_STRUCTURE_TYPE_DESCRIPTOR_POOL_CREATE_INFO};
    pi.maxSets = n;
    pi.poolSizeCount = 1;
    pi.pPoolSizes = &ps;
    if (vkCreateDescriptorPool(dev, &pi, NULL, &g->pool) != VK_SUCCESS) return SEDX_ERROR_VULKAN;
    g->sets = calloc(n, sizeof *g->sets);
    if (!g->sets) return SEDX_ERROR_OUT_OF_HOST_MEMORY;
    for (uint32_t i = 0; i < n; ++i) {
        VkDescriptorSetAllocateInfo ai = {VK_STRUCTURE_TYPE_DESCRIPTOR_SET_ALLOCATE_INFO};
        ai.descriptorPool = g->pool;
        ai.descriptorSetCount = 1;
        ai.pSetLayouts = &g->set_layout;
        if (vkAllocateDescriptorSets(dev, &ai, &g->sets[i]) != VK_SUCCESS) return SEDX_ERROR_VULKAN;
        VkDescriptorImageInfo ii = {g->sampler, g->textures[i].view, sedx_image_layout(&g->textures[i])};
        VkWriteDescriptorSet w = {VK_STRUCTURE_TYPE_WRITE_DESCRIPTOR_SET};
        w.dstSet = g->sets[i];
        w.descriptorCount = 1;
        w.descriptorType = VK_DESCRIPTOR_TYPE_COMBINED_IMAGE_SAMPLER;
        w.pImageInfo = &ii;
        vkUpdateDescriptorSets(dev, 1, &w, 0, NULL);
    }
    return SEDX_SUCCESS;
}

static int upload_materials(sedx_context *ctx, const view_scene *s, view_gpu *g, char *err, size_t errlen)
{
    g->texture_count = s->texture_count;
    g->textures = calloc(s->texture_count + 1, sizeof *g->textures);
    if (!g->textures) return view_fail(err, errlen, VIEW_EXIT_GPU, "out of host memory");
    sedx_result r = SEDX_SUCCESS;
    for (uint32_t i = 0; r == SEDX_SUCCESS && i < s->texture_count; ++i)
        r = upload_texture(ctx, &s->textures[i], &g->textures[i], &g->texture_bytes);
    view_image checker = {0};
    view_image_checker(&checker);
    if (r == SEDX_SUCCESS) r = checker.rgba ? upload_texture(ctx, &checker, &g->textures[s->texture_count],
                                                             &g->texture_bytes) : SEDX_ERROR_OUT_OF_HOST_MEMORY;
    view_image_free(&checker);
    /* the materials: std430 vec4 base colour each */
    float *mats = calloc(s->material_count, 16);
    for (uint32_t i = 0; mats && i < s->material_count; ++i) memcpy(mats + i * 4, s->materials[i].base_color, 16);
    if (r == SEDX_SUCCESS)
        r = mats ? make_buffer(ctx, (uint64_t)s->material_count * 16, SEDX_BUFFER_USAGE_STORAGE, "scene materials", mats,
                               false, &g->materials)
                 : SEDX_ERROR_OUT_OF_HOST_MEMORY;
    free(mats);
    if (r == SEDX_SUCCESS) r = create_sets(ctx, g);
    if (r != SEDX_SUCCESS) return view_fail(err, errlen, VIEW_EXIT_GPU, "textures and materials: %s", sedx_result_name(r));
    return VIEW_OK;
}

int view_gpu_upload_geometry(sedx_context *ctx, const view_scene *s, view_gpu *g, sedx_buffer_usage_flags extra_usage,
                             bool quiet, char *err, size_t errlen)
{
    memset(g, 0, sizeof *g);
    g->ctx = ctx;
    return upload_geometry(ctx, s, g, extra_usage, quiet, err, errlen);
}

int view_gpu_upload_materials(sedx_context *ctx, const view_scene *s, view_gpu *g, char *err, size_t errlen)
{
    return upload_materials(ctx, s, g, err, errlen);
}

int view_gpu_resident(sedx_context *ctx, char *err, size_t errlen)
{
    sedx_ticket tk; /* every upload submitted, every upload and blit done */
    if (sedx_upload_submit(ctx, &tk) != SEDX_SUCCESS || sedx_context_wait_idle(ctx) != SEDX_SUCCESS)
        return view_fail(err, errlen, VIEW_EXIT_GPU, "waiting for the uploads failed");
    return VIEW_OK;
}

void view_gpu_free(view_gpu *g)
{
    if (!g->ctx) return;
    VkDevice dev = sedx_context_device(g->ctx);
    /* the sampler and the descriptor sets are plain Vulkan objects: not destroyed behind the GPU
     * as sedx's buffers and images are, so wait (a run that stopped on an error may not have) */
    sedx_context_wait_idle(g->ctx);
    if (g->pool) vkDestroyDescriptorPool(dev, g->pool, NULL);
    if (g->set_layout) vkDestroyDescriptorSetLayout(dev, g->set_layout, NULL);
    if (g->sampler) vkDestroySampler(dev, g->sampler, NULL);
    free(g->sets);
    for (uint32_t i = 0; g->textures && i <= g->texture_count; ++i) sedx_image_release(&g->textures[i]);
    free(g->textures);
    sedx_buffer_release(&g->vertices);
    sedx_buffer_release(&g->indices);
    sedx_buffer_release(&g->materials);
    memset(g, 0, sizeof *g);
}
