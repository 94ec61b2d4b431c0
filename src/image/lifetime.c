/*
 * References (one handle per reference, as for buffers), the live list and VkImage map, the
 * last release queuing the destruction behind the GPU, the layer's life, the queries.
 */
#include "image/image_private.h"

static sedx__handle_pool g_pool;
static pthread_once_t g_pool_once = PTHREAD_ONCE_INIT;
static sedx_result g_pool_status = SEDX_ERROR_OUT_OF_HOST_MEMORY;
static void pool_init(void) { g_pool_status = sedx__handle_pool_init(&g_pool); }

sedx__handle_pool *sedx__image_handles(void)
{
    return pthread_once(&g_pool_once, pool_init) == 0 && g_pool_status == SEDX_SUCCESS ? &g_pool : NULL;
}

/* Every context with an image layer, so that a VkImage of one context's sedx image passed to
 * another context is recognised (sedx__image_lookup_vk). Lock order: g_ctx_lock, then a registry's. */
static pthread_mutex_t g_ctx_lock = PTHREAD_MUTEX_INITIALIZER;
static sedx_context **g_ctxs;
static uint32_t g_ctx_count, g_ctx_cap;

sedx_image_resource *sedx__image_get(const sedx_image *img, const char *what)
{
    if (!img) {
        SEDX_LOG_ERROR_TAG(TAG, "%s: image pointer is NULL", what);
        return NULL;
    }
    if (!img->resource || !img->handle) {
        SEDX_LOG_ERROR_TAG(TAG, "%s: empty image (never created, or already released)", what);
        return NULL;
    }
    sedx_image_resource *res = sedx__image_handles() ? sedx__handle_get(sedx__image_handles(), img->handle) : NULL;
    if (!res || res != img->resource) {
        SEDX_LOG_ERROR_TAG(TAG, "%s: invalid handle 0x%llx (released, foreign or corrupted image)", what,
                           (unsigned long long)img->handle);
        return NULL;
    }
    return res;
}

sedx_result sedx__images_create(sedx_context *ctx)
{
    struct sedx__image_registry *reg = sedx__calloc(1, sizeof *reg);
    if (!reg) return SEDX__ERR(SEDX_ERROR_OUT_OF_HOST_MEMORY, TAG, "out of host memory (image registry)");
    pthread_mutex_init(&reg->lock, NULL);
    pthread_mutex_lock(&g_ctx_lock);
    if (g_ctx_count == g_ctx_cap) {
        uint32_t cap = g_ctx_cap * 2u + 8u;
        sedx_context **n = sedx__realloc(g_ctxs, (size_t)cap * sizeof *n);
        if (!n) {
            pthread_mutex_unlock(&g_ctx_lock);
            pthread_mutex_destroy(&reg->lock);
            sedx__free(reg);
            return SEDX__ERR(SEDX_ERROR_OUT_OF_HOST_MEMORY, TAG, "out of host memory (image registry)");
        }
        g_ctxs = n;
        g_ctx_cap = cap;
    }
    g_ctxs[g_ctx_count++] = ctx;
    ctx->layers.image = reg;
    pthread_mutex_unlock(&g_ctx_lock);
    return SEDX_SUCCESS;
}

sedx_result sedx__image_register(sedx_image_resource *res)
{
    struct sedx__image_registry *reg = sedx__image_registry(res->ctx);
    pthread_mutex_lock(&reg->lock);
    sedx_result r = sedx__map_put(&reg->by_vk, (uint64_t)res->image, res);
    if (r == SEDX_SUCCESS) {
        res->next = reg->head;
        if (reg->head) reg->head->prev = res;
        reg->head = res;
        reg->count++;
    }
    pthread_mutex_unlock(&reg->lock);
    return r == SEDX_SUCCESS ? r : SEDX__ERR(r, TAG, "image '%s': out of host memory", res->name);
}

static void unregister(sedx_image_resource *res)
{
    struct sedx__image_registry *reg = sedx__image_registry(res->ctx);
    pthread_mutex_lock(&reg->lock);
    if (res->prev) res->prev->next = res->next;
    else reg->head = res->next;
    if (res->next) res->next->prev = res->prev;
    res->prev = res->next = NULL;
    reg->count--;
    sedx__map_remove(&reg->by_vk, (uint64_t)res->image);
    pthread_mutex_unlock(&reg->lock);
}

void sedx__image_free(sedx_context *ctx, void *user)
{
    sedx_image_resource *res = user;
    if (res->view) vkDestroyImageView(ctx->device, res->view, NULL);
    if (res->image) sedx_memory_destroy_image(ctx, res->image, res->allocation);
    sedx__free(res->name);
    sedx__free(res);
}

static sedx_image_resource *lookup_in(struct sedx__image_registry *reg, VkImage image)
{
    pthread_mutex_lock(&reg->lock);
    sedx_image_resource *res = sedx__map_get(&reg->by_vk, (uint64_t)image);
    if (res) sedx__image_ref(res);
    pthread_mutex_unlock(&reg->lock);
    return res;
}

/* ctx's live sedx image whose VkImage is image; failing that, another context's (the caller
 * refuses it: res->ctx != ctx), so that it is not taken for a VkImage sedx did not create. */
sedx_image_resource *sedx__image_lookup_vk(sedx_context *ctx, VkImage image)
{
    struct sedx__image_registry *reg = sedx__image_registry(ctx);
    if (!reg || !image) return NULL;
    sedx_image_resource *res = lookup_in(reg, image);
    if (res) return res;
    pthread_mutex_lock(&g_ctx_lock);
    for (uint32_t i = 0; i < g_ctx_count && !res; ++i)
        if (g_ctxs[i] != ctx && g_ctxs[i]->layers.image) res = lookup_in(sedx__image_registry(g_ctxs[i]), image);
    pthread_mutex_unlock(&g_ctx_lock);
    return res;
}

void sedx__image_mark_use(sedx_image_resource *res, sedx_queue queue, uint64_t value)
{
    _Atomic uint64_t *slot = &res->last_use[queue];
    uint64_t old = atomic_load(slot);
    while (value > old && !atomic_compare_exchange_weak(slot, &old, value)) {
    }
}

void sedx__image_ref(sedx_image_resource *res) { atomic_fetch_add(&res->refs, 1); }

void sedx__image_unref(sedx_image_resource *res)
{
    if (atomic_fetch_sub(&res->refs, 1) != 1) return;
    unregister(res);
    uint64_t after[SEDX_QUEUE_COUNT];
    for (int q = 0; q < SEDX_QUEUE_COUNT; ++q) after[q] = atomic_load(&res->last_use[q]);
    SEDX_LOG_DEBUG_TAG(TAG, "released '%s' (destroyed after timeline %llu/%llu)", res->name,
                       (unsigned long long)after[0], (unsigned long long)after[1]);
    sedx_context *ctx = res->ctx;
    if (sedx_context_defer(ctx, after, sedx__image_free, res) != SEDX_SUCCESS) {
        for (int q = 0; q < SEDX_QUEUE_COUNT; ++q) { /* cannot queue it: wait instead */
            sedx_ticket t = {after[q], (uint32_t)q, ctx->id};
            if (after[q]) sedx_ticket_wait(ctx, t, UINT64_MAX);
        }
        sedx__image_free(ctx, res);
    } else {
        sedx_context_collect_garbage(ctx);
    }
}

sedx_image sedx_image_retain(const sedx_image *img)
{
    sedx_image copy = {0};
    sedx_image_resource *res = sedx__image_get(img, "sedx_image_retain");
    if (!res) return copy;
    sedx__handle h;
    if (sedx__handle_alloc(sedx__image_handles(), res, &h) != SEDX_SUCCESS) {
        SEDX_LOG_ERROR_TAG(TAG, "sedx_image_retain: image '%s': no handle for a new reference", res->name);
        return copy;
    }
    atomic_fetch_add(&res->refs, 1);
    copy = *img;
    copy.handle = h;
    return copy;
}

void sedx_image_release(sedx_image *img)
{
    if (!img || (!img->resource && !img->handle)) return;
    sedx_image b = *img;
    memset(img, 0, sizeof *img);
    sedx_image_resource *res = sedx__image_handles() ? sedx__handle_get(sedx__image_handles(), b.handle) : NULL;
    /* freeing the handle decides who owns the reference (see sedx_buffer_release) */
    if (!res || res != b.resource || sedx__handle_free(sedx__image_handles(), b.handle) != SEDX_SUCCESS) {
        SEDX_LOG_ERROR_TAG(TAG, "sedx_image_release: double release or stale copy (handle 0x%llx); ignored",
                           (unsigned long long)b.handle);
        return;
    }
    sedx__image_unref(res);
}

static bool owned_by(void *object, void *ctx) { return ((sedx_image_resource *)object)->ctx == ctx; }

void sedx__images_destroy(sedx_context *ctx)
{
    struct sedx__image_registry *reg = sedx__image_registry(ctx);
    if (!reg) return;
    pthread_mutex_lock(&g_ctx_lock);
    for (uint32_t i = 0; i < g_ctx_count; ++i)
        if (g_ctxs[i] == ctx) {
            g_ctxs[i] = g_ctxs[--g_ctx_count];
            break;
        }
    if (!g_ctx_count) {
        sedx__free(g_ctxs);
        g_ctxs = NULL;
        g_ctx_cap = 0;
    }
    pthread_mutex_unlock(&g_ctx_lock);
    pthread_mutex_lock(&reg->lock);
    sedx_image_resource *r = reg->head;
    uint32_t leaked = reg->count;
    reg->head = NULL;
    reg->count = 0;
    pthread_mutex_unlock(&reg->lock);
    if (leaked) {
        SEDX_LOG_WARN_TAG(TAG, "%u image%s never released; destroying:", leaked, leaked == 1 ? "" : "s");
        sedx__handle_free_matching(sedx__image_handles(), owned_by, ctx);
    }
    while (r) {
        sedx_image_resource *next = r->next;
        SEDX_LOG_WARN_TAG(TAG, "  leaked image '%s', %ux%ux%u, %u reference%s", sedx__image_safe_name(r->name),
                          r->extent.width, r->extent.height, r->extent.depth, atomic_load(&r->refs),
                          atomic_load(&r->refs) == 1 ? "" : "s");
        sedx__image_free(ctx, r);
        r = next;
    }
    pthread_mutex_destroy(&reg->lock);
    sedx__map_free(&reg->by_vk);
    sedx__free(reg);
    ctx->layers.image = NULL;
}

/* ---- queries ---- */

bool sedx_image_is_valid(const sedx_image *img)
{
    if (!img || !img->handle || !img->resource || !sedx__image_handles()) return false;
    return sedx__handle_get(sedx__image_handles(), img->handle) == img->resource;
}

uint32_t sedx_image_ref_count(const sedx_image *img)
{
    return sedx_image_is_valid(img) ? atomic_load(&img->resource->refs) : 0;
}

const char *sedx_image_name(const sedx_image *img) { return sedx_image_is_valid(img) ? img->resource->name : ""; }

VkImageLayout sedx_image_layout(const sedx_image *img)
{
    return sedx_image_is_valid(img) ? (VkImageLayout)atomic_load(&img->resource->layout) : VK_IMAGE_LAYOUT_UNDEFINED;
}

/* A layout sedx's barriers can start from for this image: one its usage and aspects allow
 * (the validation layer checks a barrier's oldLayout against them), of core Vulkan or of a
 * feature sedx enabled. Not PREINITIALIZED (linear images only), not the presentation layouts
 * (a sedx image is never a swapchain image), not the separate depth/stencil layouts (sedx does
 * not enable separateDepthStencilLayouts). The transfer layer's image calls use it for the layouts
 * they are given. */
bool sedx__image_layout_ok(const sedx_image_resource *res, VkImageLayout l)
{
    VkImageUsageFlags u = res->usage;
    const VkImageUsageFlags ds = VK_IMAGE_USAGE_DEPTH_STENCIL_ATTACHMENT_BIT;
    bool depth = (res->aspects & (VK_IMAGE_ASPECT_DEPTH_BIT | VK_IMAGE_ASPECT_STENCIL_BIT)) != 0;
    bool sync2 = (res->ctx->features & SEDX_FEATURE_SYNCHRONIZATION2) != 0;
    switch (l) {
    case VK_IMAGE_LAYOUT_UNDEFINED:
    case VK_IMAGE_LAYOUT_GENERAL: return true;
    case VK_IMAGE_LAYOUT_TRANSFER_SRC_OPTIMAL: return (u & VK_IMAGE_USAGE_TRANSFER_SRC_BIT) != 0;
    case VK_IMAGE_LAYOUT_TRANSFER_DST_OPTIMAL: return (u & VK_IMAGE_USAGE_TRANSFER_DST_BIT) != 0;
    case VK_IMAGE_LAYOUT_SHADER_READ_ONLY_OPTIMAL:
        return (u & (VK_IMAGE_USAGE_SAMPLED_BIT | VK_IMAGE_USAGE_INPUT_ATTACHMENT_BIT)) != 0;
    case VK_IMAGE_LAYOUT_COLOR_ATTACHMENT_OPTIMAL: return (u & VK_IMAGE_USAGE_COLOR_ATTACHMENT_BIT) != 0;
    case VK_IMAGE_LAYOUT_DEPTH_STENCIL_ATTACHMENT_OPTIMAL:
    case VK_IMAGE_LAYOUT_DEPTH_STENCIL_READ_ONLY_OPTIMAL: /* VUID-VkImageMemoryBarrier-oldLayout-01210 */
    case VK_IMAGE_LAYOUT_DEPTH_READ_ONLY_STENCIL_ATTACHMENT_OPTIMAL:
    case VK_IMAGE_LAYOUT_DEPTH_ATTACHMENT_STENCIL_READ_ONLY_OPTIMAL: return depth && (u & ds);
    case VK_IMAGE_LAYOUT_READ_ONLY_OPTIMAL:
        return sync2 && (u & (ds | VK_IMAGE_USAGE_SAMPLED_BIT | VK_IMAGE_USAGE_INPUT_ATTACHMENT_BIT));
    case VK_IMAGE_LAYOUT_ATTACHMENT_OPTIMAL: return sync2 && (u & (ds | VK_IMAGE_USAGE_COLOR_ATTACHMENT_BIT));
    default: return false;
    }
}

sedx_result sedx_image_set_layout(const sedx_image *img, VkImageLayout layout)
{
    sedx_image_resource *res = sedx__image_get(img, "sedx_image_set_layout");
    if (!res) return SEDX_ERROR_INVALID_HANDLE;
    if (!sedx__image_layout_ok(res, layout))
        return SEDX__ERR(SEDX_ERROR_INVALID_ARGUMENT, TAG, "sedx_image_set_layout: image '%s': layout %d is not one "
                         "sedx can start from for it (usage 0x%x, aspects 0x%x; not PREINITIALIZED, the presentation "
                         "layouts, the separate depth/stencil ones or a value outside VkImageLayout)", res->name,
                         (int)layout, res->usage, res->aspects);
    atomic_store(&res->layout, (uint32_t)layout);
    return SEDX_SUCCESS;
}

sedx_result sedx_image_mark_used(const sedx_image *img, sedx_ticket ticket)
{
    sedx_image_resource *res = sedx__image_get(img, "sedx_image_mark_used");
    if (!res) return SEDX_ERROR_INVALID_HANDLE;
    if (ticket.value == 0) return SEDX_SUCCESS;
    if (ticket.context_id != res->ctx->id)
        return SEDX__ERR(SEDX_ERROR_WRONG_CONTEXT, TAG, "sedx_image_mark_used: image '%s': ticket of context %u, not "
                         "the image's %u", res->name, ticket.context_id, res->ctx->id);
    if (ticket.queue >= SEDX_QUEUE_COUNT)
        return SEDX__ERR(SEDX_ERROR_INVALID_ARGUMENT, TAG, "sedx_image_mark_used: image '%s': ticket with queue %u "
                         "(there are %d)", res->name, ticket.queue, SEDX_QUEUE_COUNT);
    uint64_t submitted = sedx_context_submitted_value(res->ctx, (sedx_queue)ticket.queue);
    if (ticket.value > submitted)
        return SEDX__ERR(SEDX_ERROR_INVALID_ARGUMENT, TAG, "sedx_image_mark_used: image '%s': ticket value %llu on "
                         "queue %u was never submitted (last %llu)", res->name, (unsigned long long)ticket.value,
                         ticket.queue, (unsigned long long)submitted);
    sedx__image_mark_use(res, (sedx_queue)ticket.queue, ticket.value);
    return SEDX_SUCCESS;
}

VkExtent3D sedx_image_mip_extent(const sedx_image *img, uint32_t level)
{
    if (!sedx_image_is_valid(img) || level >= img->resource->mip_levels) return (VkExtent3D){0, 0, 0};
    return sedx__image_level_extent(img->resource, level);
}

uint64_t sedx_image_mip_size(const sedx_image *img, uint32_t level)
{
    if (!sedx_image_is_valid(img) || level >= img->resource->mip_levels) return 0;
    const sedx_image_resource *res = img->resource;
    VkExtent3D e = sedx__image_level_extent(res, level);
    uint64_t bw = res->block.width, bh = res->block.height;
    return ((e.width + bw - 1) / bw) * ((e.height + bh - 1) / bh) * (uint64_t)e.depth * res->block.bytes;
}

uint32_t sedx_image_count(sedx_context *ctx)
{
    struct sedx__image_registry *reg = ctx ? sedx__image_registry(ctx) : NULL;
    if (!reg) return 0;
    pthread_mutex_lock(&reg->lock);
    uint32_t n = reg->count;
    pthread_mutex_unlock(&reg->lock);
    return n;
}
