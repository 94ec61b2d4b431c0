/*
 * sedx_upload_image: regions of user memory into a sedx image through the staging ring, as
 * pieces of the open upload batch (whole block rows, whole slices when they fit), recorded at
 * submit time between two layout transitions per image.
 */
#include "transfer/transfer_private.h"

static uint64_t div_up(uint64_t a, uint64_t b) { return (a + b - 1) / b; }
static uint64_t gcd(uint64_t a, uint64_t b) { while (b) { uint64_t t = a % b; a = b; b = t; } return a; }
static uint64_t lcm(uint64_t a, uint64_t b) { return a / gcd(a, b) * b; }

void sedx__image_range_barrier(VkCommandBuffer cb, VkImage image, const VkImageSubresourceRange *range,
                               VkImageLayout from, VkImageLayout to, VkPipelineStageFlags src_stage,
                               VkAccessFlags src_access, VkPipelineStageFlags dst_stage, VkAccessFlags dst_access)
{
    VkImageMemoryBarrier b = {VK_STRUCTURE_TYPE_IMAGE_MEMORY_BARRIER};
    b.srcAccessMask = src_access;
    b.dstAccessMask = dst_access;
    b.oldLayout = from;
    b.newLayout = to;
    b.srcQueueFamilyIndex = VK_QUEUE_FAMILY_IGNORED;
    b.dstQueueFamilyIndex = VK_QUEUE_FAMILY_IGNORED;
    b.image = image;
    b.subresourceRange = *range;
    vkCmdPipelineBarrier(cb, src_stage, dst_stage, 0, 0, NULL, 0, NULL, 1, &b);
}

void sedx__image_barrier(VkCommandBuffer cb, const sedx_image_resource *img, uint32_t base_level, uint32_t levels,
                         VkImageLayout from, VkImageLayout to, VkPipelineStageFlags src_stage, VkAccessFlags src_access,
                         VkPipelineStageFlags dst_stage, VkAccessFlags dst_access)
{
    VkImageSubresourceRange range = {img->aspects, base_level, levels, 0, img->array_layers};
    sedx__image_range_barrier(cb, img->image, &range, from, to, src_stage, src_access, dst_stage, dst_access);
}

/* ---- checks ---------------------------------------------------------------------------- */

static sedx_result check_box(const sedx_image_resource *img, sedx_image_region *g, const sedx__block *bl,
                             const char *what)
{
    VkExtent3D m = sedx__image_level_extent(img, g->mip_level);
    VkOffset3D o = g->offset;
    if (o.x < 0 || o.y < 0 || o.z < 0 || (uint32_t)o.x >= m.width || (uint32_t)o.y >= m.height ||
        (uint32_t)o.z >= m.depth)
        return SEDX__ERR(SEDX_ERROR_OUT_OF_BOUNDS, TAG, "%s: image '%s': offset (%d,%d,%d) is outside mip %u "
                         "(%ux%ux%u)", what, img->name, o.x, o.y, o.z, g->mip_level, m.width, m.height, m.depth);
    VkExtent3D *e = &g->extent;
    if (!e->width) e->width = m.width - (uint32_t)o.x;
    if (!e->height) e->height = m.height - (uint32_t)o.y;
    if (!e->depth) e->depth = m.depth - (uint32_t)o.z;
    if ((uint64_t)o.x + e->width > m.width || (uint64_t)o.y + e->height > m.height ||
        (uint64_t)o.z + e->depth > m.depth)
        return SEDX__ERR(SEDX_ERROR_OUT_OF_BOUNDS, TAG, "%s: image '%s': region (%d,%d,%d)+(%u,%u,%u) is outside mip "
                         "%u (%ux%ux%u)", what, img->name, o.x, o.y, o.z, e->width, e->height, e->depth,
                         g->mip_level, m.width, m.height, m.depth);
    uint32_t bw = bl->width, bh = bl->height;
    if (!g->row_length) g->row_length = (uint32_t)div_up(e->width, bw) * bw;   /* whole blocks */
    if (!g->image_height) g->image_height = (uint32_t)div_up(e->height, bh) * bh;
    if (g->row_length < e->width || g->image_height < e->height)
        return SEDX__ERR(SEDX_ERROR_INVALID_ARGUMENT, TAG, "%s: image '%s': row_length %u / image_height %u shorter "
                         "than the region's %ux%u", what, img->name, g->row_length, g->image_height, e->width,
                         e->height);
    bool x_ok = o.x % bw == 0 && (e->width % bw == 0 || o.x + e->width == m.width);
    bool y_ok = o.y % bh == 0 && (e->height % bh == 0 || o.y + e->height == m.height);
    if (!x_ok || !y_ok || g->row_length % bw || g->image_height % bh)
        return SEDX__ERR(SEDX_ERROR_INVALID_ARGUMENT, TAG, "%s: image '%s': region, row_length or image_height not "
                         "on %ux%u block boundaries", what, img->name, bw, bh);
    return SEDX_SUCCESS;
}

sedx_result sedx__check_image_region(const sedx_image_resource *img, const sedx_image_region *in, bool upload,
                                     sedx_image_region *out, sedx__block *block, const char *what)
{
    sedx_image_region g = *in;
    if (upload && !g.data) return SEDX__ERR(SEDX_ERROR_INVALID_ARGUMENT, TAG, "%s: image '%s': data is NULL", what,
                                            img->name);
    if (img->samples != VK_SAMPLE_COUNT_1_BIT)
        return SEDX__ERR(SEDX_ERROR_INVALID_USAGE, TAG, "%s: image '%s' is multisampled (%u samples): copies need "
                         "one sample", what, img->name, (unsigned)img->samples);
    /* transient attachments have no transfer usage (their memory may never exist) */
    VkImageUsageFlags need = upload ? VK_IMAGE_USAGE_TRANSFER_DST_BIT : VK_IMAGE_USAGE_TRANSFER_SRC_BIT;
    if (!(img->usage & need))
        return SEDX__ERR(SEDX_ERROR_INVALID_USAGE, TAG, "%s: image '%s' has no %s usage (usage 0x%x: a transient "
                         "attachment?)", what, img->name, upload ? "TRANSFER_DST" : "TRANSFER_SRC", img->usage);
    if (!g.aspect) g.aspect = (img->aspects & VK_IMAGE_ASPECT_DEPTH_BIT) ? VK_IMAGE_ASPECT_DEPTH_BIT : img->aspects;
    if ((g.aspect & (g.aspect - 1)) || !(g.aspect & img->aspects))
        return SEDX__ERR(SEDX_ERROR_INVALID_ARGUMENT, TAG, "%s: image '%s': aspect 0x%x is not one aspect of its "
                         "format (0x%x)", what, img->name, g.aspect, img->aspects);
    if (!sedx__format_block(img->format, g.aspect, block))
        return SEDX__ERR(SEDX_ERROR_FEATURE_NOT_PRESENT, TAG, "%s: image '%s': format %d: sedx knows no texel block "
                         "size for it (multi-planar, ASTC other than 4x4, ...)", what, img->name, (int)img->format);
    if (!g.layer_count) g.layer_count = 1;
    if (g.mip_level >= img->mip_levels)
        return SEDX__ERR(SEDX_ERROR_OUT_OF_BOUNDS, TAG, "%s: image '%s': mip %u of %u levels", what, img->name,
                         g.mip_level, img->mip_levels);
    if (g.base_array_layer >= img->array_layers || g.layer_count > img->array_layers - g.base_array_layer)
        return SEDX__ERR(SEDX_ERROR_OUT_OF_BOUNDS, TAG, "%s: image '%s': layers %u+%u of %u", what, img->name,
                         g.base_array_layer, g.layer_count, img->array_layers);
    sedx_result r = check_box(img, &g, block, what);
    if (r != SEDX_SUCCESS) return r;
    /* the bytes of the region in memory must be addressable */
    uint64_t slices = (uint64_t)g.extent.depth * g.layer_count, bytes;
    uint64_t rows = slices * div_up(g.image_height, block->height);
    if (__builtin_mul_overflow(rows, div_up(g.row_length, block->width) * block->bytes, &bytes) || bytes > SIZE_MAX / 2)
        return SEDX__ERR(SEDX_ERROR_INVALID_SIZE, TAG, "%s: image '%s': the region's memory layout overflows", what,
                         img->name);
    *out = g;
    return SEDX_SUCCESS;
}

/* Depth images that are depth attachments too: DEPTH_STENCIL_READ_ONLY_OPTIMAL; a depth image
 * that is only sampled cannot be in that layout (VUID-VkImageMemoryBarrier-oldLayout-01210:
 * DEPTH_STENCIL_ATTACHMENT usage), it is sampled in SHADER_READ_ONLY_OPTIMAL. */
static VkImageLayout default_final(const sedx_image_resource *img)
{
    if (!(img->usage & VK_IMAGE_USAGE_SAMPLED_BIT)) return VK_IMAGE_LAYOUT_GENERAL;
    return (img->aspects & VK_IMAGE_ASPECT_DEPTH_BIT) && (img->usage & VK_IMAGE_USAGE_DEPTH_STENCIL_ATTACHMENT_BIT)
               ? VK_IMAGE_LAYOUT_DEPTH_STENCIL_READ_ONLY_OPTIMAL
               : VK_IMAGE_LAYOUT_SHADER_READ_ONLY_OPTIMAL;
}

/* Two regions of one call writing the same texels (the copies would race). */
static bool regions_overlap(const sedx_image_region *a, const sedx_image_region *b)
{
    if (a->mip_level != b->mip_level || a->aspect != b->aspect) return false;
    if (a->base_array_layer + a->layer_count <= b->base_array_layer ||
        b->base_array_layer + b->layer_count <= a->base_array_layer)
        return false;
    return a->offset.x < b->offset.x + (int64_t)b->extent.width && b->offset.x < a->offset.x + (int64_t)a->extent.width &&
           a->offset.y < b->offset.y + (int64_t)b->extent.height && b->offset.y < a->offset.y + (int64_t)a->extent.height &&
           a->offset.z < b->offset.z + (int64_t)b->extent.depth && b->offset.z < a->offset.z + (int64_t)a->extent.depth;
}

/* ---- the plan of one region: pitches in memory and in the ring, pieces -------------------- */

typedef struct plan {
    const sedx_image_region *g;
    sedx__block bl;
    uint64_t wb, hb;          /* blocks per row, block rows per slice */
    uint64_t row_bytes;       /* wb * block bytes: what each row carries */
    uint64_t urp, usp;        /* user row and slice pitch */
    uint64_t rp;              /* ring row pitch */
    uint64_t slices;          /* depth * layers */
    uint64_t align;           /* ring offset alignment */
    uint64_t chunk;           /* most ring bytes of one piece */
} plan;

static void make_plan(sedx_context *ctx, const struct sedx__transfer *t, const sedx_image_region *g,
                      const sedx__block *bl, plan *p)
{
    const VkPhysicalDeviceLimits *lim = &ctx->props.limits;
    p->g = g;
    p->bl = *bl;
    p->wb = div_up(g->extent.width, bl->width);
    p->hb = div_up(g->extent.height, bl->height);
    p->row_bytes = p->wb * bl->bytes;
    p->urp = div_up(g->row_length, bl->width) * bl->bytes;
    p->usp = div_up(g->image_height, bl->height) * p->urp;
    /* whole texel blocks: lcm(alignment, 12) is no power of two, so not sedx__align_up's mask */
    uint64_t ra = lcm(SEDX__MAX(lim->optimalBufferCopyRowPitchAlignment, 1), bl->bytes);
    p->rp = div_up(p->row_bytes, ra) * ra;
    p->slices = (uint64_t)g->extent.depth * g->layer_count;
    uint64_t a = lcm(SEDX__MAX(lim->optimalBufferCopyOffsetAlignment, 1), bl->bytes);
    /* 4 for every aspect: a transfer-only queue takes buffer offsets in multiples of 4 whatever
     * the format (VUID-vkCmdCopyBufferToImage-commandBuffer-07737), depth/stencil on any queue */
    p->align = lcm(a, 4);
    p->chunk = SEDX__MAX(t->up.size / 4, p->rp);
}

/* A piece: slices [s, s + ns), and within one slice (ns == 1) block rows [r, r + nr). */
typedef struct piece { uint64_t s, ns, r, nr; } piece;

/* The next piece after *pc (pc->ns == 0: the first); false when the region is done. */
static bool next_piece(const plan *p, piece *pc)
{
    uint64_t slice_bytes = p->hb * p->rp;
    if (pc->ns) {
        if (pc->ns == 1 && pc->r + pc->nr < p->hb) {
            pc->r += pc->nr;
            pc->nr = SEDX__MIN(p->hb - pc->r, p->chunk / p->rp);
            return true;
        }
        pc->s += pc->ns;
    }
    if (pc->s >= p->slices) return false;
    pc->r = 0;
    if (slice_bytes <= p->chunk) {
        pc->ns = SEDX__MIN(p->slices - pc->s, p->chunk / slice_bytes);
        pc->nr = p->hb;
    } else {
        pc->ns = 1;
        pc->nr = SEDX__MIN(p->hb, p->chunk / p->rp);
    }
    return true;
}

static uint64_t piece_ring_bytes(const plan *p, const piece *pc) { return ((pc->ns - 1) * p->hb + pc->nr) * p->rp; }

/* The texels of a piece from user memory into the ring at dst. */
static void copy_piece(struct sedx__transfer *t, const plan *p, const piece *pc, uint8_t *dst)
{
    const uint8_t *src = (const uint8_t *)p->g->data + pc->s * p->usp + pc->r * p->urp;
    bool rows_match = p->urp == p->rp, slices_match = pc->ns == 1 || p->usp == p->hb * p->rp;
    if (rows_match && slices_match) { /* one run: the last row ends at its texels, not the pitch */
        sedx__pool_memcpy(&t->pool, dst, src, (size_t)(piece_ring_bytes(p, pc) - p->rp + p->row_bytes));
        return;
    }
    for (uint64_t s = 0; s < pc->ns; ++s)
        for (uint64_t r = 0; r < pc->nr; ++r)
            memcpy(dst + (s * p->hb + r) * p->rp, src + s * p->usp + r * p->urp, (size_t)p->row_bytes);
}

static VkBufferImageCopy piece_copy(sedx_image_resource *img, const plan *p, const piece *pc, uint64_t ring_offset)
{
    const sedx_image_region *g = p->g;
    VkBufferImageCopy c = {0};
    c.bufferOffset = ring_offset;
    c.bufferRowLength = (uint32_t)(p->rp / p->bl.bytes * p->bl.width);
    c.bufferImageHeight = (uint32_t)(p->hb * p->bl.height);
    bool is3d = img->vk_type == VK_IMAGE_TYPE_3D;
    uint32_t y0 = (uint32_t)(pc->r * p->bl.height);
    c.imageSubresource = (VkImageSubresourceLayers){g->aspect, g->mip_level,
                                                    g->base_array_layer + (is3d ? 0 : (uint32_t)pc->s),
                                                    is3d ? 1 : (uint32_t)pc->ns};
    c.imageOffset = (VkOffset3D){g->offset.x, g->offset.y + (int32_t)y0, g->offset.z + (is3d ? (int32_t)pc->s : 0)};
    c.imageExtent = (VkExtent3D){g->extent.width,
                                 (uint32_t)SEDX__MIN((uint64_t)g->extent.height - y0, pc->nr * p->bl.height),
                                 is3d ? (uint32_t)pc->ns : 1};
    return c;
}

static uint64_t count_pieces(const plan *p)
{
    piece pc = {0};
    uint64_t n = 0;
    while (next_piece(p, &pc)) n++;
    return n;
}

/* ---- the batch's image part ------------------------------------------------------------- */

static sedx_result reserve_room(struct sedx__transfer *t, uint64_t pieces)
{
    if (pieces > UINT32_MAX / 2 - t->piece_count)
        return SEDX__ERR(SEDX_ERROR_OUT_OF_HOST_MEMORY, TAG, "sedx_upload_image: too many pieces");
    uint32_t need = t->piece_count + (uint32_t)pieces;
    if (need > t->piece_cap) {
        uint32_t cap = SEDX__MAX(need, t->piece_cap * 2u + 64u);
        image_piece *n = sedx__realloc(t->pieces, (size_t)cap * sizeof *n);
        if (!n) return SEDX__ERR(SEDX_ERROR_OUT_OF_HOST_MEMORY, TAG, "out of host memory for image pieces");
        t->pieces = n;
        t->piece_cap = cap;
    }
    if (t->image_count + 1 > t->image_cap) {
        uint32_t cap = t->image_cap * 2u + 16u;
        image_entry *n = sedx__realloc(t->images, (size_t)cap * sizeof *n);
        if (!n) return SEDX__ERR(SEDX_ERROR_OUT_OF_HOST_MEMORY, TAG, "out of host memory for image pieces");
        t->images = n;
        t->image_cap = cap;
    }
    return SEDX_SUCCESS;
}

/* The image's entry in the open batch (added with a reference the first time). */
static void batch_add_piece(struct sedx__transfer *t, sedx_image_resource *img, VkImageLayout final, bool main,
                            const VkBufferImageCopy *c, uint64_t bytes)
{
    if (img->batch_id != t->batch_id + 1) {
        img->batch_id = t->batch_id + 1;
        sedx__image_ref(img);
        t->images[t->image_count++] = (image_entry){img, (VkImageLayout)atomic_load(&img->layout), final};
    } else {
        for (uint32_t i = t->image_count; i--;)
            if (t->images[i].img == img) t->images[i].to = final;
    }
    atomic_store(&img->layout, (uint32_t)final);
    t->batch_main |= main;
    t->pieces[t->piece_count++] = (image_piece){img, *c, t->image_call};
    t->batch_bytes += bytes;
    t->stats.image_copy_regions++;
}

void sedx__batch_record_images(struct sedx__transfer *t, VkCommandBuffer cb, VkBuffer ring_buf)
{
    for (uint32_t i = 0; i < t->image_count; ++i)
        sedx__image_barrier(cb, t->images[i].img, 0, t->images[i].img->mip_levels, t->images[i].from,
                            VK_IMAGE_LAYOUT_TRANSFER_DST_OPTIMAL, VK_PIPELINE_STAGE_ALL_COMMANDS_BIT,
                            VK_ACCESS_MEMORY_WRITE_BIT, VK_PIPELINE_STAGE_TRANSFER_BIT, VK_ACCESS_TRANSFER_WRITE_BIT);
    VkBufferImageCopy copies[64];
    uint32_t n = 0;
    for (uint32_t i = 0; i <= t->piece_count; ++i) {
        const image_piece *pc = i < t->piece_count ? &t->pieces[i] : NULL;
        const image_piece *prev = i ? &t->pieces[i - 1] : NULL;
        bool same = pc && prev && pc->img == prev->img && pc->call == prev->call;
        if (n && (!same || n == SEDX__COUNTOF(copies))) {
            vkCmdCopyBufferToImage(cb, ring_buf, prev->img->image, VK_IMAGE_LAYOUT_TRANSFER_DST_OPTIMAL, n, copies);
            n = 0;
        }
        if (!pc) break;
        /* a later call writing an image an earlier call of this batch wrote: in call order */
        for (uint32_t j = i; j-- && !same;)
            if (t->pieces[j].img == pc->img) {
                sedx__barrier(cb, VK_PIPELINE_STAGE_TRANSFER_BIT, VK_ACCESS_TRANSFER_WRITE_BIT,
                              VK_PIPELINE_STAGE_TRANSFER_BIT, VK_ACCESS_TRANSFER_WRITE_BIT);
                break;
            }
        copies[n++] = pc->copy;
    }
    for (uint32_t i = 0; i < t->image_count; ++i)
        sedx__image_barrier(cb, t->images[i].img, 0, t->images[i].img->mip_levels,
                            VK_IMAGE_LAYOUT_TRANSFER_DST_OPTIMAL, t->images[i].to, VK_PIPELINE_STAGE_TRANSFER_BIT,
                            VK_ACCESS_TRANSFER_WRITE_BIT, VK_PIPELINE_STAGE_ALL_COMMANDS_BIT,
                            VK_ACCESS_MEMORY_READ_BIT | VK_ACCESS_MEMORY_WRITE_BIT);
}

void sedx__batch_close_images(struct sedx__transfer *t, bool ok, sedx_ticket ticket)
{
    if (ok && ticket.queue == SEDX_QUEUE_TRANSFER) t->stats.image_transfer_queue_regions += t->piece_count;
    for (uint32_t i = 0; i < t->image_count; ++i) {
        sedx_image_resource *img = t->images[i].img;
        img->batch_id = 0;
        if (ok) sedx__image_mark_use(img, (sedx_queue)ticket.queue, ticket.value);
        sedx__image_unref(img);
    }
    t->image_count = 0;
    t->piece_count = 0;
    t->batch_main = false;
}

/* ---- the call ---------------------------------------------------------------------------- */

/* Can the transfer-only family copy this image (texel granularity, a colour aspect)? */
bool sedx__image_on_transfer_queue(sedx_context *ctx, struct sedx__transfer *t, const sedx_image_resource *img)
{
    if (t->image_queue_ok < 0) {
        uint32_t n = 0;
        vkGetPhysicalDeviceQueueFamilyProperties(ctx->physical, &n, NULL);
        VkQueueFamilyProperties *fp = sedx__calloc(n ? n : 1, sizeof *fp);
        uint32_t fam = ctx->queues[SEDX_QUEUE_TRANSFER].family;
        t->image_queue_ok = 0;
        if (fp) {
            vkGetPhysicalDeviceQueueFamilyProperties(ctx->physical, &n, fp);
            VkExtent3D g = fam < n ? fp[fam].minImageTransferGranularity : (VkExtent3D){0, 0, 0};
            t->image_queue_ok = g.width == 1 && g.height == 1 && g.depth == 1;
            sedx__free(fp);
        }
    }
    return t->image_queue_ok == 1 && img->concurrent && img->aspects == VK_IMAGE_ASPECT_COLOR_BIT;
}

/* The pieces of one region. With cursor (NO_WAIT), they are cut from ring bytes allocated for
 * the whole call beforehand; else each piece takes ring space, waiting for it if need be. */
static sedx_result upload_region(sedx_context *ctx, struct sedx__transfer *t, sedx_image_resource *img,
                                 const plan *p, VkImageLayout final, bool main, uint64_t *cursor)
{
    piece pc = {0};
    sedx_result r = SEDX_SUCCESS;
    while (r == SEDX_SUCCESS && next_piece(p, &pc)) {
        uint64_t bytes = piece_ring_bytes(p, &pc), off;
        if (cursor) {
            off = *cursor;
        } else {
            uint64_t pad = (16 % p->align) ? p->align - 1 : 0;
            if ((r = sedx__ring_alloc(ctx, t, &t->up, bytes + pad, true, false, &off)) != SEDX_SUCCESS) {
                r = SEDX__ERR(r, TAG, "sedx_upload_image: image '%s': %llu bytes of staging for mip %u: %s", img->name,
                              (unsigned long long)(bytes + pad), p->g->mip_level, sedx_result_name(r));
                break;
            }
        }
        off = div_up(off, p->align) * p->align; /* any alignment (3-byte texels too) */
        if (cursor) *cursor = off + bytes;
        copy_piece(t, p, &pc, t->up.ptr + off);
        VkBufferImageCopy c = piece_copy(img, p, &pc, off);
        batch_add_piece(t, img, final, main, &c, bytes);
        t->stats.staged_bytes += bytes;
        if (!cursor && t->batch_bytes >= sedx__batch_target(t)) r = sedx__batch_submit(ctx, t, NULL);
    }
    return r;
}

/* Checks every region (defaults applied into g[]) and the info; returns the final layout. */
static sedx_result check_upload(sedx_image_resource *img, const sedx_image_region *regions, uint32_t count,
                                const sedx_image_upload_info *info, sedx_image_region *g, sedx__block *bl,
                                VkImageLayout *final)
{
    const char *what = "sedx_upload_image";
    if (info && (info->flags & ~(uint32_t)SEDX_UPLOAD_FLAGS_ALL))
        return SEDX__ERR(SEDX_ERROR_INVALID_ARGUMENT, TAG, "%s: unknown flags 0x%x", what,
                         info->flags & ~(uint32_t)SEDX_UPLOAD_FLAGS_ALL);
    *final = info && info->final_layout ? info->final_layout : default_final(img);
    if (*final == VK_IMAGE_LAYOUT_UNDEFINED || !sedx__image_layout_ok(img, *final))
        return SEDX__ERR(SEDX_ERROR_INVALID_ARGUMENT, TAG, "%s: image '%s': final layout %d is not one its usage 0x%x "
                         "allows sedx to leave it in", what, img->name, (int)*final, img->usage);
    for (uint32_t i = 0; i < count; ++i) {
        sedx_result r = sedx__check_image_region(img, &regions[i], true, &g[i], &bl[i], what);
        if (r != SEDX_SUCCESS) return r;
        for (uint32_t j = 0; j < i; ++j)
            if (regions_overlap(&g[i], &g[j]))
                return SEDX__ERR(SEDX_ERROR_INVALID_ARGUMENT, TAG, "%s: image '%s': regions %u and %u of one call "
                                 "write the same texels", what, img->name, j, i);
    }
    return SEDX_SUCCESS;
}

static sedx_result upload_locked(sedx_context *ctx, struct sedx__transfer *t, sedx_image_resource *img,
                                 const sedx_image_region *g, const sedx__block *bl, uint32_t count,
                                 VkImageLayout final, bool no_wait)
{
    sedx_result r = sedx__ring_ensure(ctx, t, &t->up);
    if (r != SEDX_SUCCESS) return r;
    plan *plans = sedx__malloc((size_t)count * sizeof *plans);
    if (!plans) return SEDX__ERR(SEDX_ERROR_OUT_OF_HOST_MEMORY, TAG, "sedx_upload_image: out of host memory");
    uint64_t pieces = 0, total = 0;
    /* a piece is at least one block row: one that no ring of this context can hold would fail
     * after the regions before it were written, so it is refused before anything moves */
    uint64_t ring_max = SEDX__MAX(t->up.size, t->info.staging_max);
    for (uint32_t i = 0; i < count; ++i) {
        make_plan(ctx, t, &g[i], &bl[i], &plans[i]);
        uint64_t row = plans[i].rp;
        if (row + plans[i].align + RING_ALIGN > ring_max) {
            sedx__free(plans);
            return SEDX__ERR(SEDX_ERROR_OUT_OF_STAGING, TAG, "sedx_upload_image: image '%s': one block row of region %u "
                             "takes %llu bytes, more than the staging ring can hold (%llu bytes, staging_max): nothing "
                             "written", img->name, i, (unsigned long long)row, (unsigned long long)ring_max);
        }
        uint64_t n = count_pieces(&plans[i]);
        pieces += n;
        total += plans[i].slices * plans[i].hb * plans[i].rp + n * plans[i].align; /* + each piece's alignment */
    }
    r = reserve_room(t, pieces);
    /* NO_WAIT: every piece's bytes now, in one allocation, or nothing is written */
    uint64_t base = 0;
    if (r == SEDX_SUCCESS && no_wait && total > t->up.size / 4) {
        t->stats.ring_full_errors++;
        r = SEDX__ERR(SEDX_ERROR_OUT_OF_STAGING, TAG, "sedx_upload_image: image '%s': %llu bytes exceed a quarter of "
                      "the staging ring and NO_WAIT was asked (nothing written)", img->name,
                      (unsigned long long)total);
    } else if (r == SEDX_SUCCESS && no_wait) {
        r = sedx__ring_alloc(ctx, t, &t->up, total, false, true, &base);
        if (r != SEDX_SUCCESS)
            r = SEDX__ERR(r, TAG, "sedx_upload_image: image '%s': the staging ring cannot take its %llu bytes now and "
                          "NO_WAIT was asked (nothing written)", img->name, (unsigned long long)total);
    }
    bool main = !t->use_transfer_queue || !sedx__image_on_transfer_queue(ctx, t, img);
    if (r == SEDX_SUCCESS) {
        t->image_call++;
        t->stats.image_uploads++;
    }
    for (uint32_t i = 0; r == SEDX_SUCCESS && i < count; ++i) {
        r = upload_region(ctx, t, img, &plans[i], final, main, no_wait ? &base : NULL);
        if (r == SEDX_SUCCESS) t->stats.image_upload_bytes += plans[i].slices * plans[i].hb * plans[i].row_bytes;
    }
    sedx__free(plans);
    return r;
}

sedx_result sedx_upload_image(sedx_context *ctx, const sedx_image *dst, const sedx_image_region *regions,
                              uint32_t count, const sedx_image_upload_info *info)
{
    if (!ctx || (count && !regions))
        return SEDX__ERR(SEDX_ERROR_INVALID_ARGUMENT, TAG, "sedx_upload_image: %s is NULL", !ctx ? "ctx" : "regions");
    sedx_image_resource *img = sedx__image_get(dst, "sedx_upload_image");
    if (!img) return SEDX_ERROR_INVALID_HANDLE;
    if (img->ctx != ctx)
        return SEDX__ERR(SEDX_ERROR_WRONG_CONTEXT, TAG, "sedx_upload_image: image '%s' belongs to another context",
                         img->name);
    if (!count) return SEDX_SUCCESS;
    sedx_image_region *g = sedx__malloc((size_t)count * (sizeof *g + sizeof(sedx__block)));
    if (!g) return SEDX__ERR(SEDX_ERROR_OUT_OF_HOST_MEMORY, TAG, "sedx_upload_image: out of host memory");
    sedx__block *bl = (sedx__block *)(g + count);
    VkImageLayout final;
    sedx_result r = check_upload(img, regions, count, info, g, bl, &final);
    if (r == SEDX_SUCCESS) {
        struct sedx__transfer *t = sedx__get_transfer(ctx);
        SEDX_PROFILE_SCOPE("sedx_upload_image");
        pthread_mutex_lock(&t->lock);
        t->no_wait = info && (info->flags & SEDX_UPLOAD_NO_WAIT);
        r = upload_locked(ctx, t, img, g, bl, count, final, t->no_wait);
        t->no_wait = false;
        pthread_mutex_unlock(&t->lock);
    }
    sedx__free(g);
    return r;
}
