/*
 * Bindless tables (see <sedx/bindless.h> and docs/bindless.md): the device-address table and
 * the descriptor array, indexed by the buffer layer's resource IDs and kept in step through
 * its hook (called with the buffer registry locked, which also serialises every update of the
 * descriptor set, as vkUpdateDescriptorSets requires).
 */
#include "bindless/bindless.h"

#include <sedx/bindless.h>

#include <pthread.h>
#include <string.h>

#define TAG "BINDLESS"

struct sedx__bindless {
    /* The tables are started by the first sedx_bindless_get (they cost a 1 MiB table and a
     * descriptor pool, which most contexts never need): the layer's one lazy part, under `lock`. */
    pthread_mutex_t lock;
    bool started;
    uint32_t capacity;
    sedx_buffer table;             /* sedx's own buffer; empty without buffer device address */
    sedx_bindless_entry *entries;  /* table.data: host-visible, coherent, persistently mapped */
    VkDescriptorSetLayout set_layout;
    VkDescriptorPool pool;
    VkDescriptorSet set;
    VkDeviceSize max_range;        /* maxStorageBufferRange */
    bool null_descriptor;          /* robustness2 nullDescriptor: dead elements are nulled */
    bool warned_capacity;
};

/* The hook: with the buffer registry locked. */
static void bindless_update(sedx_context *ctx, sedx_buffer_resource *res, bool live)
{
    struct sedx__bindless *B = ctx->layers.bindless;
    uint32_t id = res->id;
    if (id >= B->capacity) {
        if (live && !B->warned_capacity) {
            B->warned_capacity = true;
            SEDX_LOG_WARN_TAG(TAG, "buffer '%s' has ID %u, past the bindless capacity %u: it has no entry "
                              "(logged once)", res->name, id, B->capacity);
        }
        return;
    }
    if (B->entries) {
        sedx_bindless_entry e = {0, 0};
        if (live && res->address) e = (sedx_bindless_entry){res->address, res->size};
        B->entries[id] = e;
    }
    if (B->set && (!live || (res->vk_usage & VK_BUFFER_USAGE_STORAGE_BUFFER_BIT))) {
        VkDescriptorBufferInfo bi = {VK_NULL_HANDLE, 0, VK_WHOLE_SIZE};
        if (live) {
            bi.buffer = res->buffer;
            bi.range = SEDX__MIN(res->allocation_size, B->max_range);
        } else if (!B->null_descriptor) {
            /* no null descriptors: point the dead element at a buffer that outlives every ID */
            bi.buffer = sedx_buffer_vk(&B->table);
            bi.range = SEDX__MIN(B->table.size, B->max_range);
        }
        VkWriteDescriptorSet w = {VK_STRUCTURE_TYPE_WRITE_DESCRIPTOR_SET};
        w.dstSet = B->set;
        w.dstBinding = 0;
        w.dstArrayElement = id;
        w.descriptorCount = 1;
        w.descriptorType = VK_DESCRIPTOR_TYPE_STORAGE_BUFFER;
        w.pBufferInfo = &bi;
        if (bi.buffer || B->null_descriptor) vkUpdateDescriptorSets(ctx->device, 1, &w, 0, NULL);
    }
}

/* Everything start() made; B itself stays. */
static void tables_free(sedx_context *ctx, struct sedx__bindless *B)
{
    if (B->pool) vkDestroyDescriptorPool(ctx->device, B->pool, NULL);
    if (B->set_layout) vkDestroyDescriptorSetLayout(ctx->device, B->set_layout, NULL);
    sedx_buffer_release(&B->table);
    B->pool = VK_NULL_HANDLE;
    B->set_layout = VK_NULL_HANDLE;
    B->set = VK_NULL_HANDLE;
    B->entries = NULL;
}

static sedx_result create_set(sedx_context *ctx, struct sedx__bindless *B)
{
    VkDescriptorBindingFlags flags = VK_DESCRIPTOR_BINDING_UPDATE_AFTER_BIND_BIT |
                                     VK_DESCRIPTOR_BINDING_PARTIALLY_BOUND_BIT |
                                     VK_DESCRIPTOR_BINDING_UPDATE_UNUSED_WHILE_PENDING_BIT;
    VkDescriptorSetLayoutBindingFlagsCreateInfo bf = {VK_STRUCTURE_TYPE_DESCRIPTOR_SET_LAYOUT_BINDING_FLAGS_CREATE_INFO};
    bf.bindingCount = 1;
    bf.pBindingFlags = &flags;
    VkDescriptorSetLayoutBinding binding = {0, VK_DESCRIPTOR_TYPE_STORAGE_BUFFER, B->capacity, VK_SHADER_STAGE_ALL, NULL};
    VkDescriptorSetLayoutCreateInfo li = {VK_STRUCTURE_TYPE_DESCRIPTOR_SET_LAYOUT_CREATE_INFO, &bf};
    li.flags = VK_DESCRIPTOR_SET_LAYOUT_CREATE_UPDATE_AFTER_BIND_POOL_BIT;
    li.bindingCount = 1;
    li.pBindings = &binding;
    VkResult vr = vkCreateDescriptorSetLayout(ctx->device, &li, NULL, &B->set_layout);
    if (vr != VK_SUCCESS) return SEDX__VK(vr, "vkCreateDescriptorSetLayout");
    VkDescriptorPoolSize ps = {VK_DESCRIPTOR_TYPE_STORAGE_BUFFER, B->capacity};
    VkDescriptorPoolCreateInfo pi = {VK_STRUCTURE_TYPE_DESCRIPTOR_POOL_CREATE_INFO};
    pi.flags = VK_DESCRIPTOR_POOL_CREATE_UPDATE_AFTER_BIND_BIT;
    pi.maxSets = 1;
    pi.poolSizeCount = 1;
    pi.pPoolSizes = &ps;
    vr = vkCreateDescriptorPool(ctx->device, &pi, NULL, &B->pool);
    if (vr != VK_SUCCESS) return SEDX__VK(vr, "vkCreateDescriptorPool");
    VkDescriptorSetAllocateInfo ai = {VK_STRUCTURE_TYPE_DESCRIPTOR_SET_ALLOCATE_INFO};
    ai.descriptorPool = B->pool;
    ai.descriptorSetCount = 1;
    ai.pSetLayouts = &B->set_layout;
    vr = vkAllocateDescriptorSets(ctx->device, &ai, &B->set);
    if (vr != VK_SUCCESS) return SEDX__VK(vr, "vkAllocateDescriptorSets");
    sedx_context_set_object_name(ctx, VK_OBJECT_TYPE_DESCRIPTOR_SET, (uint64_t)B->set, "sedx bindless buffers");
    return SEDX_SUCCESS;
}

/* With B->lock held. */
static sedx_result start(sedx_context *ctx, struct sedx__bindless *B)
{
    bool bda = (ctx->features & SEDX_FEATURE_BUFFER_DEVICE_ADDRESS) != 0;
    bool di = (ctx->features & SEDX_FEATURE_DESCRIPTOR_INDEXING) != 0;
    if (!bda && !di)
        return SEDX__ERR(SEDX_ERROR_FEATURE_NOT_PRESENT, TAG,
                         "the device has neither buffer device address nor descriptor indexing");
    B->capacity = SEDX_BINDLESS_DEFAULT_CAPACITY;
    B->max_range = ctx->props.limits.maxStorageBufferRange;
    B->null_descriptor = (ctx->features & SEDX_FEATURE_NULL_DESCRIPTOR) != 0;
    if (di) {
        /* one set, one binding: every limit that bounds its element count */
        uint32_t lim = ctx->props12.maxDescriptorSetUpdateAfterBindStorageBuffers;
        lim = SEDX__MIN(lim, ctx->props12.maxPerStageDescriptorUpdateAfterBindStorageBuffers);
        lim = SEDX__MIN(lim, ctx->props12.maxPerStageUpdateAfterBindResources);
        lim = SEDX__MIN(lim, ctx->maint3.maxPerSetDescriptors);
        B->capacity = SEDX__MIN(B->capacity, lim);
    }
    sedx_result r = SEDX_SUCCESS;
    if (bda) {
        sedx_buffer_create_info ci = {0};
        ci.size = (uint64_t)B->capacity * sizeof(sedx_bindless_entry);
        ci.usage = SEDX_BUFFER_USAGE_STORAGE;
        ci.memory = SEDX_MEMORY_CPU; /* written by the CPU, read by shaders: ReBAR where there is one */
        ci.name = "sedx bindless table";
        r = sedx__buffer_create(ctx, &ci, SEDX__BUFFER_INTERNAL, &B->table);
        if (r == SEDX_SUCCESS) {
            B->entries = B->table.data;
            memset(B->entries, 0, (size_t)ci.size);
        }
    }
    if (r == SEDX_SUCCESS && di) r = create_set(ctx, B);
    if (r == SEDX_SUCCESS) r = sedx__buffers_install_bindless(ctx, bindless_update); /* enters every live buffer */
    if (r != SEDX_SUCCESS) {
        tables_free(ctx, B);
        return r;
    }
    B->started = true;
    SEDX_LOG_INFO_TAG(TAG, "bindless tables started: %u IDs, address table %s, descriptor array %s", B->capacity,
                      B->entries ? "yes" : "no (no buffer device address)",
                      B->set ? "yes" : "no (no descriptor indexing)");
    return SEDX_SUCCESS;
}

sedx_result sedx_bindless_get(sedx_context *ctx, sedx_bindless_layout *out)
{
    if (!ctx || !out)
        return SEDX__ERR(SEDX_ERROR_INVALID_ARGUMENT, TAG, "sedx_bindless_get: %s is NULL", !ctx ? "ctx" : "out");
    struct sedx__bindless *B = ctx->layers.bindless;
    pthread_mutex_lock(&B->lock);
    sedx_result r = B->started ? SEDX_SUCCESS : start(ctx, B);
    if (r == SEDX_SUCCESS)
        *out = (sedx_bindless_layout){B->capacity, sedx_buffer_vk(&B->table), sedx_buffer_address(&B->table),
                                      B->set_layout, B->set, 0};
    pthread_mutex_unlock(&B->lock);
    return r;
}

sedx_result sedx_bindless_entry_get(sedx_context *ctx, uint32_t id, sedx_bindless_entry *out)
{
    if (!ctx || !out)
        return SEDX__ERR(SEDX_ERROR_INVALID_ARGUMENT, TAG, "sedx_bindless_entry_get: %s is NULL",
                         !ctx ? "ctx" : "out");
    struct sedx__bindless *B = ctx->layers.bindless;
    pthread_mutex_lock(&B->lock);
    bool started = B->started;
    pthread_mutex_unlock(&B->lock);
    if (!started || !B->entries)
        return SEDX__ERR(SEDX_ERROR_INVALID_ARGUMENT, TAG, "sedx_bindless_entry_get: %s",
                         !started ? "the bindless tables are not started (sedx_bindless_get)" : "the device has no table");
    if (id >= B->capacity)
        return SEDX__ERR(SEDX_ERROR_OUT_OF_BOUNDS, TAG, "sedx_bindless_entry_get: ID %u >= capacity %u", id,
                         B->capacity);
    sedx__buffers_lock(ctx);
    *out = B->entries[id];
    sedx__buffers_unlock(ctx);
    return SEDX_SUCCESS;
}

sedx_result sedx__bindless_create(sedx_context *ctx)
{
    struct sedx__bindless *B = sedx__calloc(1, sizeof *B);
    if (!B) return SEDX__ERR(SEDX_ERROR_OUT_OF_HOST_MEMORY, TAG, "out of host memory");
    pthread_mutex_init(&B->lock, NULL);
    ctx->layers.bindless = B;
    return SEDX_SUCCESS;
}

/* Context teardown (GPU idle): the hook goes first, so the buffers destroyed after it leave the
 * tables alone. */
void sedx__bindless_destroy(sedx_context *ctx)
{
    struct sedx__bindless *B = ctx->layers.bindless;
    if (!B) return;
    if (B->started) sedx__buffers_install_bindless(ctx, NULL);
    tables_free(ctx, B);
    pthread_mutex_destroy(&B->lock);
    sedx__free(B);
    ctx->layers.bindless = NULL;
}
