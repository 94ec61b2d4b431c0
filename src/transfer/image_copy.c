/*
 * The seed's CopyBufferToImage: checked against the buffer and the image as described, or, when
 * the VkImage is a sedx image, against the image itself (format, levels, layers, extents, the
 * layout sedx tracks), which it then updates as sedx_upload_image does.
 */
#include "transfer/transfer_private.h"

/* A region with every default applied. */
typedef struct image_region {
    VkExtent3D e, m;          /* region, whole mip level */
    VkImageAspectFlags aspect;
    uint32_t layers;          /* layer_count */
    sedx__block block;
} image_region;

static uint64_t div_up(uint64_t a, uint64_t b) { return (a + b - 1) / b; }

/* The subresource and the region inside the mip level, as described. */
static sedx_result check_image_subresource(const sedx_buffer_image_copy *rg, const image_region *g, const char *what)
{
    const VkExtent3D e = g->e, m = g->m;
    uint32_t levels = rg->mip_levels ? rg->mip_levels : 1, layers = rg->array_layers ? rg->array_layers : 1;
    if (rg->mip_level >= levels || rg->base_array_layer >= layers || g->layers > layers - rg->base_array_layer)
        return SEDX__ERR(SEDX_ERROR_OUT_OF_BOUNDS, TAG, "%s: mip %u, layers %u+%u of an image with %u mips and %u "
                         "layers", what, rg->mip_level, rg->base_array_layer, g->layers, levels, layers);
    if (rg->image_offset.x < 0 || rg->image_offset.y < 0 || rg->image_offset.z < 0 ||
        (uint64_t)rg->image_offset.x + e.width > m.width || (uint64_t)rg->image_offset.y + e.height > m.height ||
        (uint64_t)rg->image_offset.z + e.depth > m.depth)
        return SEDX__ERR(SEDX_ERROR_OUT_OF_BOUNDS, TAG, "%s: region (%d,%d,%d)+(%u,%u,%u) is outside the %ux%ux%u mip "
                         "level", what, rg->image_offset.x, rg->image_offset.y, rg->image_offset.z, e.width, e.height,
                         e.depth, m.width, m.height, m.depth);
    if (e.depth > 1 && g->layers > 1)
        return SEDX__ERR(SEDX_ERROR_INVALID_ARGUMENT, TAG, "%s: depth %u with %u layers (3D images have one layer)",
                         what, e.depth, g->layers);
    bool whole = !rg->image_offset.x && !rg->image_offset.y && !rg->image_offset.z && e.width == m.width &&
                 e.height == m.height && e.depth == m.depth;
    if (rg->current_layout == VK_IMAGE_LAYOUT_UNDEFINED && !whole && !(rg->flags & SEDX_IMAGE_COPY_DISCARD))
        return SEDX__ERR(SEDX_ERROR_INVALID_ARGUMENT, TAG, "%s: current_layout UNDEFINED would discard the rest of "
                         "the mip level around this region: pass its current layout, or SEDX_IMAGE_COPY_DISCARD",
                         what);
    return SEDX_SUCCESS;
}

/* Block alignment of compressed regions (VUIDs of VkBufferImageCopy). */
static sedx_result check_image_blocks(const sedx_buffer_image_copy *rg, const image_region *g, const char *what)
{
    uint32_t bw = g->block.width, bh = g->block.height;
    bool x_ok = rg->image_offset.x % bw == 0 && (g->e.width % bw == 0 || rg->image_offset.x + g->e.width == g->m.width);
    bool y_ok = rg->image_offset.y % bh == 0 &&
                (g->e.height % bh == 0 || rg->image_offset.y + g->e.height == g->m.height);
    if (!x_ok || !y_ok || rg->buffer_row_length % bw || rg->buffer_image_height % bh)
        return SEDX__ERR(SEDX_ERROR_INVALID_ARGUMENT, TAG, "%s: region, row length or image height not on %ux%u "
                         "block boundaries", what, bw, bh);
    uint64_t align = g->aspect == VK_IMAGE_ASPECT_COLOR_BIT ? g->block.bytes : 4;
    if (rg->buffer_offset % align)
        return SEDX__ERR(SEDX_ERROR_INVALID_ALIGNMENT, TAG, "%s: buffer_offset %llu is not a multiple of %llu", what,
                         (unsigned long long)rg->buffer_offset, (unsigned long long)align);
    return SEDX_SUCCESS;
}

/* The bytes the copy reads: the last block's end, as the specification addresses them. */
static sedx_result check_image_bytes(const sedx_buffer_resource *buf, const sedx_buffer_image_copy *rg,
                                     const image_region *g, const char *what)
{
    uint64_t row = div_up(rg->buffer_row_length ? rg->buffer_row_length : g->e.width, g->block.width);
    uint64_t height = div_up(rg->buffer_image_height ? rg->buffer_image_height : g->e.height, g->block.height);
    uint64_t wb = div_up(g->e.width, g->block.width), hb = div_up(g->e.height, g->block.height);
    uint64_t slices = (uint64_t)g->e.depth * g->layers, last, bytes, end; /* u32 products: no overflow */
    bool overflow = __builtin_mul_overflow(slices - 1, height, &last) || __builtin_add_overflow(last, hb - 1, &last) ||
                    __builtin_mul_overflow(last, row, &last) || __builtin_add_overflow(last, wb, &last) ||
                    __builtin_mul_overflow(last, (uint64_t)g->block.bytes, &bytes) ||
                    __builtin_add_overflow(bytes, rg->buffer_offset, &end);
    if (overflow)
        return SEDX__ERR(SEDX_ERROR_OUT_OF_BOUNDS, TAG, "%s: the region's bytes from offset %llu end past 2^64 "
                         "(buffer '%s', %llu bytes)", what, (unsigned long long)rg->buffer_offset, buf->name,
                         (unsigned long long)buf->size);
    if (end > buf->size)
        return SEDX__ERR(SEDX_ERROR_OUT_OF_BOUNDS, TAG, "%s: the region reads bytes [%llu, %llu) of buffer '%s', which "
                         "has %llu", what, (unsigned long long)rg->buffer_offset, (unsigned long long)end, buf->name,
                         (unsigned long long)buf->size);
    return SEDX_SUCCESS;
}

static sedx_result check_image_copy(const sedx_buffer_resource *buf, const sedx_buffer_image_copy *rg,
                                    image_region *g)
{
    const char *what = "sedx_copy_buffer_to_image";
    if (rg->flags & ~(uint32_t)SEDX_IMAGE_COPY_FLAGS_ALL)
        return SEDX__ERR(SEDX_ERROR_INVALID_ARGUMENT, TAG, "%s: unknown flags 0x%x", what, rg->flags);
    g->e = rg->image_extent;
    g->m = rg->mip_extent;
    if (!g->e.depth) g->e.depth = 1;
    if (!g->m.depth) g->m.depth = 1;
    g->layers = rg->layer_count ? rg->layer_count : 1;
    g->aspect = rg->aspect ? rg->aspect : VK_IMAGE_ASPECT_COLOR_BIT;
    VkFormat format = rg->format ? rg->format : VK_FORMAT_R8G8B8A8_UNORM;
    if (!g->e.width || !g->e.height) return SEDX__ERR(SEDX_ERROR_INVALID_ARGUMENT, TAG, "%s: zero extent", what);
    if ((rg->buffer_row_length && rg->buffer_row_length < g->e.width) ||
        (rg->buffer_image_height && rg->buffer_image_height < g->e.height))
        return SEDX__ERR(SEDX_ERROR_INVALID_ARGUMENT, TAG, "%s: row length/height below extent", what);
    if (!sedx__format_block(format, g->aspect, &g->block))
        return SEDX__ERR(SEDX_ERROR_INVALID_ARGUMENT, TAG, "%s: format %d with aspect 0x%x: no texel block size known "
                         "to sedx", what, (int)format, g->aspect);
    sedx_result r = check_image_subresource(rg, g, what);
    if (r == SEDX_SUCCESS) r = check_image_blocks(rg, g, what);
    if (r == SEDX_SUCCESS) r = check_image_bytes(buf, rg, g, what);
    return r;
}


/* What only a sedx image can be checked for (its description is its truth by now). */
static sedx_result check_sedx_image(sedx_context *ctx, const sedx_image_resource *img, const sedx_buffer_image_copy *rg)
{
    const char *what = "sedx_copy_buffer_to_image";
    if (img->ctx != ctx)
        return SEDX__ERR(SEDX_ERROR_WRONG_CONTEXT, TAG, "%s: image '%s' belongs to another context", what, img->name);
    if (img->samples != VK_SAMPLE_COUNT_1_BIT)
        return SEDX__ERR(SEDX_ERROR_INVALID_USAGE, TAG, "%s: image '%s' is multisampled (%u samples): copies need one "
                         "sample", what, img->name, (unsigned)img->samples);
    if (!(img->usage & VK_IMAGE_USAGE_TRANSFER_DST_BIT))
        return SEDX__ERR(SEDX_ERROR_INVALID_USAGE, TAG, "%s: image '%s' has no TRANSFER_DST usage (usage 0x%x: a "
                         "transient attachment?)", what, img->name, img->usage);
    if ((rg->aspect & (rg->aspect - 1)) || !(rg->aspect & img->aspects))
        return SEDX__ERR(SEDX_ERROR_INVALID_ARGUMENT, TAG, "%s: aspect 0x%x is not one aspect of image '%s' (0x%x)",
                         what, rg->aspect, img->name, img->aspects);
    if (rg->current_layout != VK_IMAGE_LAYOUT_UNDEFINED && !sedx__image_layout_ok(img, rg->current_layout))
        return SEDX__ERR(SEDX_ERROR_INVALID_ARGUMENT, TAG, "%s: image '%s': current layout %d is not one its usage "
                         "0x%x allows", what, img->name, (int)rg->current_layout, img->usage);
    VkImageLayout final = rg->final_layout ? rg->final_layout : VK_IMAGE_LAYOUT_SHADER_READ_ONLY_OPTIMAL;
    if (!sedx__image_layout_ok(img, final))
        return SEDX__ERR(SEDX_ERROR_INVALID_ARGUMENT, TAG, "%s: image '%s': final layout %d is not one its usage 0x%x "
                         "allows sedx to leave it in", what, img->name, (int)final, img->usage);
    return SEDX_SUCCESS;
}

/* img: a sedx image, whose every subresource is in its one tracked layout: the barriers cover
 * all of it, so that the layout stays one for the whole image. */
static void record_image_copy(VkCommandBuffer cb, VkBuffer buffer, VkImage image, const sedx_buffer_image_copy *rg,
                              const image_region *g, const sedx_image_resource *img)
{
    VkImageLayout final_layout = rg->final_layout ? rg->final_layout : VK_IMAGE_LAYOUT_SHADER_READ_ONLY_OPTIMAL;
    VkImageSubresourceRange range = {g->aspect, rg->mip_level, 1, rg->base_array_layer, g->layers};
    if (img) range = (VkImageSubresourceRange){img->aspects, 0, img->mip_levels, 0, img->array_layers};
    /* current -> TRANSFER_DST_OPTIMAL (the seed leaves this out) */
    sedx__image_range_barrier(cb, image, &range, rg->current_layout, VK_IMAGE_LAYOUT_TRANSFER_DST_OPTIMAL,
                  VK_PIPELINE_STAGE_ALL_COMMANDS_BIT, VK_ACCESS_MEMORY_WRITE_BIT, VK_PIPELINE_STAGE_TRANSFER_BIT,
                  VK_ACCESS_TRANSFER_WRITE_BIT);
    sedx__barrier(cb, VK_PIPELINE_STAGE_ALL_COMMANDS_BIT, VK_ACCESS_MEMORY_WRITE_BIT, VK_PIPELINE_STAGE_TRANSFER_BIT,
            VK_ACCESS_TRANSFER_READ_BIT);
    VkBufferImageCopy c = {0};
    c.bufferOffset = rg->buffer_offset;
    c.bufferRowLength = rg->buffer_row_length;
    c.bufferImageHeight = rg->buffer_image_height;
    c.imageSubresource = (VkImageSubresourceLayers){g->aspect, rg->mip_level, rg->base_array_layer, g->layers};
    c.imageOffset = rg->image_offset;
    c.imageExtent = g->e;
    vkCmdCopyBufferToImage(cb, buffer, image, VK_IMAGE_LAYOUT_TRANSFER_DST_OPTIMAL, 1, &c);
    if (final_layout != VK_IMAGE_LAYOUT_TRANSFER_DST_OPTIMAL)
        sedx__image_range_barrier(cb, image, &range, VK_IMAGE_LAYOUT_TRANSFER_DST_OPTIMAL, final_layout,
                      VK_PIPELINE_STAGE_TRANSFER_BIT, VK_ACCESS_TRANSFER_WRITE_BIT, VK_PIPELINE_STAGE_ALL_COMMANDS_BIT,
                      VK_ACCESS_MEMORY_READ_BIT | VK_ACCESS_MEMORY_WRITE_BIT);
    else
        sedx__barrier_after(cb, false);
}

sedx_result sedx_copy_buffer_to_image_ex(sedx_context *ctx, VkBuffer buffer, VkImage image,
                                         const sedx_buffer_image_copy *rg)
{
    if (!ctx || !buffer || !image || !rg)
        return SEDX__ERR(SEDX_ERROR_INVALID_ARGUMENT, TAG, "sedx_copy_buffer_to_image: NULL argument");
    sedx_result r;
    struct sedx__transfer *t = sedx__get_transfer(ctx);
    sedx_buffer_resource *src = sedx__lookup_vk(ctx, buffer, "sedx_copy_buffer_to_image", &r);
    if (!src) return r;
    /* a sedx image: its truth replaces the description */
    sedx_image_resource *img = sedx__image_lookup_vk(ctx, image);
    sedx_buffer_image_copy truth;
    if (img) {
        truth = *rg;
        truth.format = img->format;
        truth.mip_levels = img->mip_levels;
        truth.array_layers = img->array_layers;
        truth.mip_extent = sedx__image_level_extent(img, rg->mip_level < img->mip_levels ? rg->mip_level : 0);
        if (!truth.aspect) truth.aspect = (img->aspects & VK_IMAGE_ASPECT_DEPTH_BIT) ? VK_IMAGE_ASPECT_DEPTH_BIT
                                                                                     : img->aspects;
        if (rg->current_layout == VK_IMAGE_LAYOUT_UNDEFINED) truth.current_layout = atomic_load(&img->layout);
        rg = &truth;
    }
    image_region g;
    sedx_ticket tk = {0};
    r = img ? check_sedx_image(ctx, img, rg) : SEDX_SUCCESS;
    if (r == SEDX_SUCCESS && (r = check_image_copy(src, rg, &g)) == SEDX_SUCCESS) {
        SEDX_PROFILE_SCOPE("sedx_copy_buffer_to_image");
        pthread_mutex_lock(&t->lock);
        r = sedx__batch_submit(ctx, t, NULL);
        sedx_cmd cmd;
        if (r == SEDX_SUCCESS) r = sedx_cmd_begin(ctx, SEDX_QUEUE_GRAPHICS, &cmd);
        if (r == SEDX_SUCCESS) {
            record_image_copy(cmd.cmd, buffer, image, rg, &g, img);
            r = sedx__submit_ordered(ctx, t, &cmd, &tk);
        }
        if (r == SEDX_SUCCESS) sedx__buffer_mark_use(src, (sedx_queue)tk.queue, tk.value);
        if (r == SEDX_SUCCESS && img) {
            sedx__image_mark_use(img, (sedx_queue)tk.queue, tk.value);
            atomic_store(&img->layout, (uint32_t)(rg->final_layout ? rg->final_layout
                                                                   : VK_IMAGE_LAYOUT_SHADER_READ_ONLY_OPTIMAL));
        }
        pthread_mutex_unlock(&t->lock);
    }
    if (r == SEDX_SUCCESS) r = sedx_ticket_wait(ctx, tk, UINT64_MAX);
    if (img) sedx__image_unref(img);
    sedx__buffer_unref(src);
    return r;
}

sedx_result sedx_copy_buffer_to_image(sedx_context *ctx, VkBuffer buffer, VkImage image, uint32_t width, uint32_t height)
{
    sedx_buffer_image_copy c = {0};
    c.image_extent = (VkExtent3D){width, height, 1};
    c.mip_extent = c.image_extent;
    c.current_layout = VK_IMAGE_LAYOUT_UNDEFINED;
    c.final_layout = VK_IMAGE_LAYOUT_SHADER_READ_ONLY_OPTIMAL;
    c.format = VK_FORMAT_R8G8B8A8_UNORM;
    return sedx_copy_buffer_to_image_ex(ctx, buffer, image, &c);
}
