/*
 * sedx_buffer: the seed's creation rules, mapping, bounds-checked access, reference counting,
 * deferred destruction, names and the live-buffer list.
 */
#include "buffer/buffer.h"
#include "memory/memory.h"

#include <stdarg.h>
#include <stdio.h>

#define TAG "BUFFER"

/* Process-wide handle pool: buffers are validated without a context argument. */
static sedx__handle_pool g_pool;
static pthread_once_t g_pool_once = PTHREAD_ONCE_INIT;
static sedx_result g_pool_status = SEDX_ERROR_OUT_OF_HOST_MEMORY;
static void pool_init(void) { g_pool_status = sedx__handle_pool_init(&g_pool); }

/* Resource IDs (sedx_buffer_id, the index of a buffer in the bindless table and descriptor
 * array): per context, compact (a free list, reused last-freed first), taken when a buffer is
 * created and given back only when it is destroyed, i.e. after the GPU has passed its last use,
 * so an ID never names two buffers while submitted work may still read it. */
typedef struct id_slot {
    sedx_buffer_resource *res; /* NULL when free */
    uint32_t next_free;        /* free list: next free ID + 1, 0 ends it */
} id_slot;

/* Per-context registry: live buffers (the seed's debug panel), resource IDs, and the VkBuffer
 * -> resource map that lets the seed's raw-handle calls (sedx_copy_buffer, ...) check their
 * arguments. sedx's own buffers (rings, bindless table) are in none of them. */
struct sedx__buffer_registry {
    pthread_mutex_t lock;
    sedx_buffer_resource *head, *tail; /* live (not yet released) buffers, in creation order */
    uint32_t count;
    sedx__map by_vk;                   /* VkBuffer -> live resource */
    /* Installed by the bindless layer (above): called with the lock held when a buffer gets its
     * ID (live = true) and when it is destroyed and gives the ID back (live = false). */
    sedx__bindless_hook bindless_update;
    id_slot *ids;
    uint32_t id_cap, id_high, id_free; /* id_free: first free ID + 1, 0 when none */
};

static struct sedx__buffer_registry *registry(sedx_context *ctx) { return ctx->layers.buffer; }

sedx_result sedx__buffers_create(sedx_context *ctx)
{
    struct sedx__buffer_registry *reg = sedx__calloc(1, sizeof *reg);
    if (!reg) return SEDX__ERR(SEDX_ERROR_OUT_OF_HOST_MEMORY, TAG, "out of host memory (buffer registry)");
    pthread_mutex_init(&reg->lock, NULL);
    ctx->layers.buffer = reg;
    return SEDX_SUCCESS;
}

sedx_buffer_resource *sedx__buffer_get(const sedx_buffer *buf, const char *what)
{
    if (!buf) {
        SEDX_LOG_ERROR_TAG(TAG, "%s: buffer pointer is NULL", what);
        return NULL;
    }
    if (!buf->resource || !buf->handle) {
        SEDX_LOG_ERROR_TAG(TAG, "%s: empty buffer (never created, or already released)", what);
        return NULL;
    }
    if (pthread_once(&g_pool_once, pool_init) != 0 || g_pool_status != SEDX_SUCCESS) return NULL;
    sedx_buffer_resource *res = sedx__handle_get(&g_pool, buf->handle);
    if (!res || res != buf->resource) {
        SEDX_LOG_ERROR_TAG(TAG, "%s: invalid handle 0x%llx (released, foreign or corrupted buffer)", what,
                           (unsigned long long)buf->handle);
        return NULL;
    }
    return res;
}

void sedx__buffer_mark_use(sedx_buffer_resource *res, sedx_queue queue, uint64_t value)
{
    _Atomic uint64_t *slot = &res->last_use[queue];
    uint64_t old = atomic_load(slot);
    while (value > old && !atomic_compare_exchange_weak(slot, &old, value)) {
    }
}

size_t sedx_buffer_usage_string(sedx_buffer_usage_flags usage, char *out, size_t cap)
{
    static const struct { uint32_t bit; const char *name; } names[] = {
        {SEDX_BUFFER_USAGE_TRANSFER_SRC, "TRANSFER_SRC"}, {SEDX_BUFFER_USAGE_TRANSFER_DST, "TRANSFER_DST"},
        {SEDX_BUFFER_USAGE_UNIFORM_TEXEL, "UNIFORM_TEXEL"}, {SEDX_BUFFER_USAGE_STORAGE_TEXEL, "STORAGE_TEXEL"},
        {SEDX_BUFFER_USAGE_UNIFORM, "UNIFORM"}, {SEDX_BUFFER_USAGE_STORAGE, "STORAGE"},
        {SEDX_BUFFER_USAGE_INDEX, "INDEX"}, {SEDX_BUFFER_USAGE_VERTEX, "VERTEX"},
        {SEDX_BUFFER_USAGE_INDIRECT, "INDIRECT"}, {SEDX_BUFFER_USAGE_SHADER_BINDING_TABLE, "SBT"},
        {SEDX_BUFFER_USAGE_ADDRESS, "ADDRESS"}, {SEDX_BUFFER_USAGE_ACCELERATION_STRUCTURE_INPUT, "AS_INPUT"},
        {SEDX_BUFFER_USAGE_ACCELERATION_STRUCTURE, "AS"},
    };
    size_t len = 0;
    if (cap) out[0] = '\0';
    for (size_t i = 0; i < SEDX__COUNTOF(names); ++i) {
        if (!(usage & names[i].bit)) continue;
        int n = snprintf(out ? out + SEDX__MIN(len, cap) : NULL, len < cap ? cap - len : 0, "%s%s", len ? "|" : "",
                         names[i].name);
        len += (size_t)(n > 0 ? n : 0);
    }
    return len;
}

/* ------------------------------------------------------------------------------------------
 * Creation
 * ---------------------------------------------------------------------------------------- */
static const char *safe_name(const char *name) { return name && *name ? name : "(unnamed)"; }

/* The seed's automatic usage rules. Returns the usage the buffer really gets. */
static sedx_result apply_usage_rules(sedx_context *ctx, sedx_buffer_usage_flags usage, const char *name,
                                     sedx_buffer_usage_flags *out_usage, uint64_t *out_align)
{
    const VkPhysicalDeviceLimits *lim = &ctx->props.limits;
    bool bda = (ctx->features & SEDX_FEATURE_BUFFER_DEVICE_ADDRESS) != 0;
    uint64_t align = 1;
    if (usage & (SEDX_BUFFER_USAGE_ACCELERATION_STRUCTURE | SEDX_BUFFER_USAGE_ACCELERATION_STRUCTURE_INPUT |
                 SEDX_BUFFER_USAGE_SHADER_BINDING_TABLE))
        return SEDX__ERR(SEDX_ERROR_FEATURE_NOT_PRESENT, TAG,
                         "buffer '%s': acceleration-structure and shader-binding-table usages need the ray "
                         "tracing extensions, which this sedx context does not enable",
                         safe_name(name));
    if ((usage & SEDX_BUFFER_USAGE_ADDRESS) && !bda)
        return SEDX__ERR(SEDX_ERROR_FEATURE_NOT_PRESENT, TAG,
                         "buffer '%s': ADDRESS usage needs buffer device address, which the device lacks",
                         safe_name(name));
    /* Every buffer is a transfer source and destination (sedx's uploads, readbacks and copies
     * work on any buffer, whichever path the device takes) and, with buffer device address, has
     * an address (its bindless table entry). The seed adds TRANSFER_DST for VERTEX and INDEX
     * and ADDRESS for STORAGE: this is a superset, and buffer.usage says exactly what the
     * VkBuffer has. */
    usage |= SEDX_BUFFER_USAGE_TRANSFER_SRC | SEDX_BUFFER_USAGE_TRANSFER_DST;
    if (bda) usage |= SEDX_BUFFER_USAGE_ADDRESS;
    if (usage & SEDX_BUFFER_USAGE_STORAGE) align = SEDX__MAX(align, lim->minStorageBufferOffsetAlignment);
    if (usage & SEDX_BUFFER_USAGE_UNIFORM) align = SEDX__MAX(align, lim->minUniformBufferOffsetAlignment);
    if (usage & (SEDX_BUFFER_USAGE_UNIFORM_TEXEL | SEDX_BUFFER_USAGE_STORAGE_TEXEL))
        align = SEDX__MAX(align, lim->minTexelBufferOffsetAlignment);
    *out_usage = usage;
    *out_align = align;
    return SEDX_SUCCESS;
}

/* Memory for what the buffer is for (docs/buffers.md, "Where buffers live"):
 *  - GPU: device-local only.
 *  - CPU, readback or random access: host memory, cached.
 *  - CPU uniform buffers (rewritten by the CPU every frame, read a few times by the GPU):
 *    host memory. Measured on the H100: a 256 B memcpy into device-local host-visible (ReBAR)
 *    memory costs ~146 ns against ~13 ns into host memory; the GPU caches what it reads.
 *  - other CPU buffers (dynamic vertices, storage written once and read a lot): ReBAR when
 *    the budget allows, else host memory (SEDX_MEMORY_USAGE_UPLOAD).
 *  - staging: host memory (the copy engine reads it over PCIe). */
static sedx_memory_usage memory_usage_for(sedx_memory_flags memory, sedx_host_access access, bool staging,
                                          sedx_buffer_usage_flags usage)
{
    if (!(memory & SEDX_MEMORY_CPU)) return SEDX_MEMORY_USAGE_GPU_ONLY;
    if (access == SEDX_HOST_ACCESS_READBACK || access == SEDX_HOST_ACCESS_RANDOM) return SEDX_MEMORY_USAGE_READBACK;
    if (staging) return SEDX_MEMORY_USAGE_STAGING;
    const sedx_buffer_usage_flags uniform_only = SEDX_BUFFER_USAGE_UNIFORM | SEDX_BUFFER_USAGE_UNIFORM_TEXEL |
                                                 SEDX_BUFFER_USAGE_TRANSFER_SRC | SEDX_BUFFER_USAGE_TRANSFER_DST |
                                                 SEDX_BUFFER_USAGE_ADDRESS;
    if (access == SEDX_HOST_ACCESS_DEFAULT && (usage & SEDX_BUFFER_USAGE_UNIFORM) && !(usage & ~uniform_only))
        return SEDX_MEMORY_USAGE_STAGING;
    return SEDX_MEMORY_USAGE_UPLOAD;
}

/* With reg locked. */
static sedx_result id_take(struct sedx__buffer_registry *reg, sedx_buffer_resource *res, uint32_t *out)
{
    uint32_t id;
    if (reg->id_free) {
        id = reg->id_free - 1u;
        reg->id_free = reg->ids[id].next_free;
    } else {
        if (reg->id_high == reg->id_cap) {
            if (reg->id_cap >= SEDX_INVALID_ID / 2u)
                return SEDX__ERR(SEDX_ERROR_TOO_MANY_ALLOCATIONS, TAG, "out of buffer IDs (%u live)", reg->id_cap);
            uint32_t cap = reg->id_cap ? reg->id_cap * 2u : 256u;
            id_slot *ids = sedx__realloc(reg->ids, (size_t)cap * sizeof *ids);
            if (!ids) return SEDX__ERR(SEDX_ERROR_OUT_OF_HOST_MEMORY, TAG, "out of host memory for buffer IDs");
            reg->ids = ids;
            reg->id_cap = cap;
        }
        id = reg->id_high++;
    }
    reg->ids[id] = (id_slot){res, 0};
    *out = id;
    return SEDX_SUCCESS;
}

/* With reg locked. */
static void id_give_back(struct sedx__buffer_registry *reg, uint32_t id)
{
    reg->ids[id] = (id_slot){NULL, reg->id_free};
    reg->id_free = id + 1u;
}

static void destroy_resource(sedx_context *ctx, void *user)
{
    sedx_buffer_resource *res = user;
    (void)ctx;
    /* The ID is free again only now (see id_slot); the registry is gone after context teardown
     * has listed the leaked buffers, when nothing can take an ID any more. */
    struct sedx__buffer_registry *reg = registry(res->ctx);
    if (reg && res->id != SEDX_INVALID_ID) {
        pthread_mutex_lock(&reg->lock);
        if (reg->bindless_update) reg->bindless_update(res->ctx, res, false);
        id_give_back(reg, res->id);
        pthread_mutex_unlock(&reg->lock);
    }
    sedx_memory_destroy_buffer(res->ctx, res->buffer, res->allocation);
    sedx__free(res->name);
    sedx__free(res);
}

/* Checks what the caller asked for; every refusal is logged with the buffer's name. */
static sedx_result check_create_info(const sedx_buffer_create_info *ci)
{
    const char *name = safe_name(ci->name);
    if (ci->size == 0) return SEDX__ERR(SEDX_ERROR_INVALID_SIZE, TAG, "buffer '%s': size 0", name);
    if (ci->usage == 0 || (ci->usage & ~(sedx_buffer_usage_flags)SEDX_BUFFER_USAGE_ALL))
        return SEDX__ERR(SEDX_ERROR_INVALID_USAGE, TAG, "buffer '%s': usage 0x%x has %s", name, ci->usage,
                         ci->usage ? "unknown bits" : "no bits");
    sedx_memory_flags memory = ci->memory;
    if ((memory & ~(sedx_memory_flags)(SEDX_MEMORY_GPU | SEDX_MEMORY_CPU)) ||
        ((memory & SEDX_MEMORY_CPU) && (memory & SEDX_MEMORY_CPU) != SEDX_MEMORY_CPU))
        return SEDX__ERR(SEDX_ERROR_INVALID_ARGUMENT, TAG, "buffer '%s': memory 0x%x is not GPU (0x1) or CPU (0x6)",
                         name, memory);
    if ((unsigned)ci->host_access > SEDX_HOST_ACCESS_READBACK)
        return SEDX__ERR(SEDX_ERROR_INVALID_ARGUMENT, TAG, "buffer '%s': host_access %u is not a sedx_host_access",
                         name, (unsigned)ci->host_access);
    if (ci->host_access && !(memory & SEDX_MEMORY_CPU))
        return SEDX__ERR(SEDX_ERROR_INVALID_ARGUMENT, TAG, "buffer '%s': host_access applies to CPU memory only",
                         name);
    if (ci->flags & ~(uint32_t)SEDX_BUFFER_CREATE_FLAGS_ALL)
        return SEDX__ERR(SEDX_ERROR_INVALID_ARGUMENT, TAG, "buffer '%s': unknown create flags 0x%x", name,
                         ci->flags & ~(uint32_t)SEDX_BUFFER_CREATE_FLAGS_ALL);
    if (ci->alignment && !sedx__is_pow2(ci->alignment))
        return SEDX__ERR(SEDX_ERROR_INVALID_ALIGNMENT, TAG, "buffer '%s': alignment %llu is not a power of two",
                         name, (unsigned long long)ci->alignment);
    if (ci->initial_data_size && !ci->initial_data)
        return SEDX__ERR(SEDX_ERROR_INVALID_ARGUMENT, TAG, "buffer '%s': initial_data_size %llu without initial_data",
                         name, (unsigned long long)ci->initial_data_size);
    if (ci->initial_data_size > ci->size)
        return SEDX__ERR(SEDX_ERROR_OUT_OF_BOUNDS, TAG, "buffer '%s': %llu bytes of initial data for %llu bytes",
                         name, (unsigned long long)ci->initial_data_size, (unsigned long long)ci->size);
    return SEDX_SUCCESS;
}

/* The VkBuffer: ADDRESS is SHADER_DEVICE_ADDRESS (same bit). With a transfer-only queue,
 * buffers are shared CONCURRENTly between it and the main queue: uploads need no queue-family
 * ownership transfers (see docs/transfer.md). */
static sedx_result create_vk_buffer(sedx_context *ctx, sedx_buffer_resource *res)
{
    VkBufferCreateInfo bci = {VK_STRUCTURE_TYPE_BUFFER_CREATE_INFO};
    bci.size = res->allocation_size;
    bci.usage = (VkBufferUsageFlags)res->usage;
    uint32_t families[2] = {ctx->queues[SEDX_QUEUE_GRAPHICS].family, ctx->queues[SEDX_QUEUE_TRANSFER].family};
    if (ctx->queues[SEDX_QUEUE_TRANSFER].present && families[0] != families[1]) {
        bci.sharingMode = VK_SHARING_MODE_CONCURRENT;
        bci.queueFamilyIndexCount = 2;
        bci.pQueueFamilyIndices = families;
    }
    res->vk_usage = bci.usage;
    VkResult vr = vkCreateBuffer(ctx->device, &bci, NULL, &res->buffer);
    return vr == VK_SUCCESS ? SEDX_SUCCESS : SEDX__VK(vr, "vkCreateBuffer");
}

/* Memory for res->buffer, bound, and what the buffer keeps of its placement. */
static sedx_result allocate_memory(sedx_context *ctx, sedx_buffer_resource *res, const sedx_buffer_create_info *ci,
                                   bool staging)
{
    sedx_memory_flags memory = res->memory_kind;
    sedx_allocation_info ai = {0};
    ai.usage = memory_usage_for(memory, ci->host_access, staging, ci->usage);
    /* the seed's CPU = HOST_VISIBLE | HOST_COHERENT (0x2 | 0x4): buffer.data needs no flush */
    if (memory & SEDX_MEMORY_CPU) {
        ai.required_flags = VK_MEMORY_PROPERTY_HOST_VISIBLE_BIT | VK_MEMORY_PROPERTY_HOST_COHERENT_BIT;
        ai.flags |= SEDX_ALLOCATION_MAPPED;
    }
    ai.kind = SEDX_ALLOCATION_KIND_BUFFER;
    ai.name = ci->name;
    ai.user_data = res;
    if (ci->flags & SEDX_BUFFER_CREATE_DEDICATED) ai.flags |= SEDX_ALLOCATION_DEDICATED;
    sedx__placement pl;
    sedx_result r;
    if (ci->alignment) {
        /* extra alignment of the memory offset: requirements by hand */
        VkMemoryDedicatedRequirements ded = {VK_STRUCTURE_TYPE_MEMORY_DEDICATED_REQUIREMENTS};
        VkMemoryRequirements2 req2 = {VK_STRUCTURE_TYPE_MEMORY_REQUIREMENTS_2, &ded};
        VkBufferMemoryRequirementsInfo2 rinfo = {VK_STRUCTURE_TYPE_BUFFER_MEMORY_REQUIREMENTS_INFO_2};
        rinfo.buffer = res->buffer;
        vkGetBufferMemoryRequirements2(ctx->device, &rinfo, &req2);
        VkMemoryRequirements req = req2.memoryRequirements;
        req.alignment = SEDX__MAX(req.alignment, ci->alignment);
        r = sedx_memory_allocate2(ctx, &ai, &req, &ded, res->buffer, VK_NULL_HANDLE, &res->allocation);
        if (r == SEDX_SUCCESS) r = sedx_memory_bind_buffer(ctx, res->allocation, res->buffer);
        if (r == SEDX_SUCCESS) r = sedx__memory_placement(ctx, res->allocation, &pl);
    } else {
        r = sedx__memory_alloc_bind_buffer(ctx, res->buffer, &ai, &res->allocation, &pl);
    }
    if (r != SEDX_SUCCESS) {
        SEDX_LOG_ERROR_TAG(TAG, "buffer '%s': no memory for %llu bytes (%s)", safe_name(ci->name),
                           (unsigned long long)res->allocation_size, sedx_result_name(r));
        return r;
    }
    res->memory = pl.memory;
    res->offset = pl.offset;
    res->memory_type = pl.memory_type;
    res->dedicated = pl.dedicated;
    res->host_visible = (pl.property_flags & VK_MEMORY_PROPERTY_HOST_VISIBLE_BIT) != 0;
    res->coherent = !pl.non_coherent;
    res->mapped = pl.mapped;
    res->host_cached = (pl.property_flags & VK_MEMORY_PROPERTY_HOST_CACHED_BIT) != 0;
    res->host_ptr = pl.mapped;
    if (res->host_visible && !res->host_ptr) {
        /* GPU memory that happens to be host-visible: keep a CPU address for direct uploads
         * (buffer.data stays NULL, as the seed says for GPU memory) */
        if (sedx_memory_map(ctx, res->allocation, &res->host_ptr) != SEDX_SUCCESS) res->host_ptr = NULL;
    }
    if ((memory & SEDX_MEMORY_CPU) && !res->mapped)
        return SEDX__ERR(SEDX_ERROR_NOT_HOST_VISIBLE, TAG, "buffer '%s': CPU memory came back unmapped",
                         safe_name(ci->name));
    return SEDX_SUCCESS;
}

/* With reg locked: the buffer becomes visible (list, VkBuffer map, ID, bindless hook). */
static sedx_result register_locked(sedx_context *ctx, struct sedx__buffer_registry *reg, sedx_buffer_resource *res)
{
    sedx_result r = sedx__map_put(&reg->by_vk, (uint64_t)res->buffer, res);
    if (r != SEDX_SUCCESS) return SEDX__ERR(r, TAG, "buffer '%s': out of host memory", safe_name(res->name));
    r = id_take(reg, res, &res->id);
    if (r != SEDX_SUCCESS) {
        sedx__map_remove(&reg->by_vk, (uint64_t)res->buffer);
        return r;
    }
    res->prev = reg->tail;
    if (reg->tail) reg->tail->next = res;
    else reg->head = res;
    reg->tail = res;
    reg->count++;
    if (reg->bindless_update) reg->bindless_update(ctx, res, true);
    return SEDX_SUCCESS;
}

static void free_resource(sedx_context *ctx, sedx_buffer_resource *res)
{
    sedx_memory_destroy_buffer(ctx, res->buffer, res->allocation);
    sedx__free(res->name);
    sedx__free(res);
}

static sedx_buffer_resource *new_resource(sedx_context *ctx, const sedx_buffer_create_info *ci, uint32_t flags)
{
    sedx_buffer_resource *res = sedx__calloc(1, sizeof *res);
    char *name_copy = sedx__strdup(ci->name ? ci->name : "");
    if (!res || !name_copy) {
        sedx__free(res);
        sedx__free(name_copy);
        return NULL;
    }
    res->name = name_copy;
    res->ctx = ctx;
    res->size = ci->size;
    res->memory_kind = (ci->memory & SEDX_MEMORY_CPU) ? SEDX_MEMORY_CPU : SEDX_MEMORY_GPU;
    res->id = SEDX_INVALID_ID;
    res->internal = (flags & SEDX__BUFFER_INTERNAL) != 0;
    atomic_init(&res->refs, 1);
    return res;
}

sedx_result sedx__buffer_create(sedx_context *ctx, const sedx_buffer_create_info *ci, uint32_t flags,
                                sedx_buffer *out)
{
    if (!ctx || !ci || !out)
        return SEDX__ERR(SEDX_ERROR_INVALID_ARGUMENT, TAG, "sedx_buffer_create: %s is NULL",
                         !ctx ? "ctx" : !ci ? "info" : "out");
    SEDX_PROFILE_SCOPE("sedx_buffer_create");
    sedx_result r = check_create_info(ci);
    if (r != SEDX_SUCCESS) return r;
    sedx_buffer_usage_flags usage;
    uint64_t align;
    if ((r = apply_usage_rules(ctx, ci->usage, ci->name, &usage, &align)) != SEDX_SUCCESS) return r;
    /* round UP (the seed's `size += size % align` does not); sizes past 2^63 are refused here,
     * smaller impossible ones by the driver or the allocator */
    uint64_t alloc_size = sedx__align_up(ci->size, align);
    if (alloc_size == 0 || alloc_size > UINT64_MAX / 2)
        return SEDX__ERR(SEDX_ERROR_INVALID_SIZE, TAG, "buffer '%s': size %llu overflows", safe_name(ci->name),
                         (unsigned long long)ci->size);

    if (pthread_once(&g_pool_once, pool_init) != 0 || g_pool_status != SEDX_SUCCESS)
        return SEDX__ERR(SEDX_ERROR_OUT_OF_HOST_MEMORY, TAG, "buffer handle pool unavailable");
    struct sedx__buffer_registry *reg = registry(ctx);
    sedx_buffer_resource *res = reg ? new_resource(ctx, ci, flags) : NULL;
    if (!res)
        return SEDX__ERR(SEDX_ERROR_OUT_OF_HOST_MEMORY, TAG, "buffer '%s': out of host memory", safe_name(ci->name));
    res->allocation_size = alloc_size;
    res->usage = usage;
    r = create_vk_buffer(ctx, res);
    if (r == SEDX_SUCCESS) r = allocate_memory(ctx, res, ci, (flags & SEDX__BUFFER_STAGING) != 0);
    if (r != SEDX_SUCCESS) goto fail;
    if (res->vk_usage & VK_BUFFER_USAGE_SHADER_DEVICE_ADDRESS_BIT) {
        VkBufferDeviceAddressInfo ai = {VK_STRUCTURE_TYPE_BUFFER_DEVICE_ADDRESS_INFO};
        ai.buffer = res->buffer;
        res->address = vkGetBufferDeviceAddress(ctx->device, &ai);
    }
    if (ci->name && *ci->name) {
        sedx_context_set_object_name(ctx, VK_OBJECT_TYPE_BUFFER, (uint64_t)res->buffer, ci->name);
        if (res->dedicated)
            sedx_context_set_object_name(ctx, VK_OBJECT_TYPE_DEVICE_MEMORY, (uint64_t)res->memory, ci->name);
    }
    /* initial data: a memcpy into mapped memory; for GPU memory the transfer layer uploads it
     * (sedx_buffer_create_ex is the transfer layer's) */
    uint64_t initial = ci->initial_data ? (ci->initial_data_size ? ci->initial_data_size : ci->size) : 0;
    if (initial && res->mapped) {
        memcpy(res->mapped, ci->initial_data, (size_t)initial);
        sedx_memory_flush(ctx, res->allocation, 0, initial);
    }
    if ((r = sedx__handle_alloc(&g_pool, res, &res->handle)) != SEDX_SUCCESS) goto fail;
    sedx_buffer b = {res->mapped, res, ci->size, usage, res->memory_kind, res->handle};
    if (!res->internal) {
        pthread_mutex_lock(&reg->lock);
        r = register_locked(ctx, reg, res);
        pthread_mutex_unlock(&reg->lock);
        if (r != SEDX_SUCCESS) goto fail_handle;
    }
    SEDX_LOG_DEBUG_TAG(TAG, "created '%s' id %u: %llu bytes (%llu allocated), memory type %u%s", safe_name(ci->name),
                       res->id, (unsigned long long)ci->size, (unsigned long long)alloc_size, res->memory_type,
                       res->dedicated ? ", dedicated" : "");
    *out = b;
    return SEDX_SUCCESS;

fail_handle:
    sedx__handle_free(&g_pool, res->handle);
fail:
    free_resource(ctx, res);
    return r;
}

sedx_result sedx_buffer_create(sedx_context *ctx, uint64_t size, sedx_buffer_usage_flags usage,
                               sedx_memory_flags memory, const char *name, sedx_buffer *out)
{
    sedx_buffer_create_info ci = {0};
    ci.size = size;
    ci.usage = usage;
    ci.memory = memory;
    ci.name = name;
    return sedx__buffer_create(ctx, &ci, 0, out);
}

sedx_result sedx_staging_buffer_create(sedx_context *ctx, uint64_t size, const char *name, sedx_buffer *out)
{
    sedx_buffer_create_info ci = {0};
    ci.size = size;
    ci.usage = SEDX_BUFFER_USAGE_TRANSFER_SRC;
    ci.memory = SEDX_MEMORY_CPU;
    ci.name = name;
    return sedx__buffer_create(ctx, &ci, SEDX__BUFFER_STAGING, out);
}

/* ------------------------------------------------------------------------------------------
 * References and lifetime
 * ---------------------------------------------------------------------------------------- */
sedx_buffer sedx_buffer_retain(const sedx_buffer *buf)
{
    sedx_buffer copy = {0};
    sedx_buffer_resource *res = sedx__buffer_get(buf, "sedx_buffer_retain");
    if (!res) return copy;
    /* every reference has a handle of its own: a stale struct copy of a released reference is
     * then recognisable, and releasing it cannot drop another owner's reference */
    sedx__handle h;
    if (sedx__handle_alloc(&g_pool, res, &h) != SEDX_SUCCESS) {
        SEDX_LOG_ERROR_TAG(TAG, "sedx_buffer_retain: buffer '%s': no handle for a new reference", safe_name(res->name));
        return copy;
    }
    atomic_fetch_add(&res->refs, 1);
    copy = *buf;
    copy.handle = h;
    return copy;
}

/* Last reference gone: out of the list, the VkBuffer map and (later) the ID. */
static void unregister(sedx_buffer_resource *res)
{
    if (res->internal) return;
    struct sedx__buffer_registry *reg = registry(res->ctx);
    pthread_mutex_lock(&reg->lock);
    if (res->prev) res->prev->next = res->next;
    else reg->head = res->next;
    if (res->next) res->next->prev = res->prev;
    else reg->tail = res->prev;
    res->prev = res->next = NULL;
    reg->count--;
    sedx__map_remove(&reg->by_vk, (uint64_t)res->buffer);
    pthread_mutex_unlock(&reg->lock);
}

void sedx__buffer_ref(sedx_buffer_resource *res) { atomic_fetch_add(&res->refs, 1); }

void sedx__buffer_unref(sedx_buffer_resource *res)
{
    if (atomic_fetch_sub(&res->refs, 1) != 1) return;

    /* last reference: the Vulkan objects go when the GPU is past them */
    unregister(res);
    uint64_t after[SEDX_QUEUE_COUNT];
    for (int q = 0; q < SEDX_QUEUE_COUNT; ++q) after[q] = atomic_load(&res->last_use[q]);
    SEDX_LOG_DEBUG_TAG(TAG, "released '%s' id %u (destroyed after timeline %llu/%llu)", safe_name(res->name), res->id,
                       (unsigned long long)after[0], (unsigned long long)after[1]);
    sedx_context *ctx = res->ctx; /* res may be gone once it is queued (another thread collects) */
    if (sedx_context_defer(ctx, after, destroy_resource, res) != SEDX_SUCCESS) {
        /* cannot queue it: wait for the GPU instead of destroying in-use memory */
        for (int q = 0; q < SEDX_QUEUE_COUNT; ++q) {
            sedx_ticket t = {after[q], (uint32_t)q, ctx->id};
            if (after[q]) sedx_ticket_wait(ctx, t, UINT64_MAX);
        }
        destroy_resource(ctx, res);
    } else {
        sedx_context_collect_garbage(ctx);
    }
}

sedx_buffer_resource *sedx__buffer_lookup_vk(sedx_context *ctx, VkBuffer buffer)
{
    struct sedx__buffer_registry *reg = registry(ctx);
    if (!reg || !buffer) return NULL;
    pthread_mutex_lock(&reg->lock);
    sedx_buffer_resource *res = sedx__map_get(&reg->by_vk, (uint64_t)buffer);
    /* a buffer whose last reference is being dropped right now is gone already */
    uint32_t refs = res ? atomic_load(&res->refs) : 0;
    while (refs && !atomic_compare_exchange_weak(&res->refs, &refs, refs + 1)) {
    }
    pthread_mutex_unlock(&reg->lock);
    return refs ? res : NULL;
}

void sedx_buffer_release(sedx_buffer *buf)
{
    if (!buf || (!buf->resource && !buf->handle)) return; /* empty: no-op */
    sedx_buffer b = *buf;
    memset(buf, 0, sizeof *buf);
    sedx_buffer_resource *res = NULL;
    if (pthread_once(&g_pool_once, pool_init) == 0 && g_pool_status == SEDX_SUCCESS)
        res = sedx__handle_get(&g_pool, b.handle);
    /* Freeing the handle decides who owns the reference: of two threads releasing copies of
     * one reference at once, exactly one frees it; the other, like any stale copy, only logs
     * (and never touches the resource, which the first may have destroyed by then). */
    if (!res || res != b.resource || sedx__handle_free(&g_pool, b.handle) != SEDX_SUCCESS) {
        SEDX_LOG_ERROR_TAG(TAG, "sedx_buffer_release: double release or stale copy (handle 0x%llx); ignored",
                           (unsigned long long)b.handle);
        return;
    }
    sedx__buffer_unref(res);
}

sedx_result sedx_buffer_validate(const sedx_buffer *buf)
{
    return sedx__buffer_get(buf, "sedx_buffer_validate") ? SEDX_SUCCESS : SEDX_ERROR_INVALID_HANDLE;
}

bool sedx_buffer_is_valid(const sedx_buffer *buf)
{
    if (!buf || !buf->handle || !buf->resource) return false;
    if (pthread_once(&g_pool_once, pool_init) != 0 || g_pool_status != SEDX_SUCCESS) return false;
    return sedx__handle_get(&g_pool, buf->handle) == buf->resource;
}

uint32_t sedx_buffer_ref_count(const sedx_buffer *buf)
{
    sedx_buffer_resource *res = sedx_buffer_is_valid(buf) ? buf->resource : NULL;
    return res ? atomic_load(&res->refs) : 0;
}

sedx_result sedx_buffer_mark_used(const sedx_buffer *buf, sedx_ticket ticket)
{
    sedx_buffer_resource *res = sedx__buffer_get(buf, "sedx_buffer_mark_used");
    if (!res) return SEDX_ERROR_INVALID_HANDLE;
    if (ticket.value == 0) return SEDX_SUCCESS;
    if (ticket.context_id != res->ctx->id)
        return SEDX__ERR(SEDX_ERROR_WRONG_CONTEXT, TAG, "buffer '%s': ticket from another context",
                         safe_name(res->name));
    if (ticket.queue >= SEDX_QUEUE_COUNT)
        return SEDX__ERR(SEDX_ERROR_INVALID_ARGUMENT, TAG, "buffer '%s': ticket with bad queue", safe_name(res->name));
    if (ticket.value > sedx_context_submitted_value(res->ctx, (sedx_queue)ticket.queue))
        return SEDX__ERR(SEDX_ERROR_INVALID_ARGUMENT, TAG, "buffer '%s': ticket value %llu was never submitted",
                         safe_name(res->name), (unsigned long long)ticket.value);
    sedx__buffer_mark_use(res, (sedx_queue)ticket.queue, ticket.value);
    return SEDX_SUCCESS;
}

/* ------------------------------------------------------------------------------------------
 * Access
 * ---------------------------------------------------------------------------------------- */
static sedx_buffer_resource *host_buffer(const sedx_buffer *buf, const char *what, sedx_result *r)
{
    sedx_buffer_resource *res = sedx__buffer_get(buf, what);
    if (!res) {
        *r = SEDX_ERROR_INVALID_HANDLE;
        return NULL;
    }
    if (!res->mapped) {
        *r = SEDX__ERR(SEDX_ERROR_NOT_HOST_VISIBLE, TAG,
                       "%s: buffer '%s' is GPU memory, not accessible to the CPU (use sedx_upload/sedx_download)",
                       what, safe_name(res->name));
        return NULL;
    }
    *r = SEDX_SUCCESS;
    return res;
}

static sedx_result check_range(const sedx_buffer_resource *res, uint64_t size, uint64_t offset, const char *what)
{
    if (offset > res->size || size > res->size - offset)
        return SEDX__ERR(SEDX_ERROR_OUT_OF_BOUNDS, TAG, "%s: buffer '%s': [%llu, +%llu) is outside its %llu bytes",
                         what, safe_name(res->name), (unsigned long long)offset, (unsigned long long)size,
                         (unsigned long long)res->size);
    return SEDX_SUCCESS;
}

sedx_result sedx_buffer_map(const sedx_buffer *buf, void **out_ptr)
{
    if (!out_ptr) return SEDX__ERR(SEDX_ERROR_INVALID_ARGUMENT, TAG, "sedx_buffer_map: out_ptr is NULL");
    sedx_result r;
    sedx_buffer_resource *res = host_buffer(buf, "sedx_buffer_map", &r);
    if (!res) return r;
    atomic_fetch_add(&res->map_count, 1);
    r = res->coherent ? SEDX_SUCCESS : sedx_memory_invalidate(res->ctx, res->allocation, 0, VK_WHOLE_SIZE);
    if (r != SEDX_SUCCESS) {
        atomic_fetch_sub(&res->map_count, 1);
        return r;
    }
    *out_ptr = res->mapped;
    return SEDX_SUCCESS;
}

sedx_result sedx_buffer_unmap(const sedx_buffer *buf)
{
    sedx_result r;
    sedx_buffer_resource *res = host_buffer(buf, "sedx_buffer_unmap", &r);
    if (!res) return r;
    uint32_t c = atomic_load(&res->map_count);
    do {
        if (c == 0)
            return SEDX__ERR(SEDX_ERROR_NOT_MAPPED, TAG, "sedx_buffer_unmap: buffer '%s' is not mapped",
                             safe_name(res->name));
    } while (!atomic_compare_exchange_weak(&res->map_count, &c, c - 1));
    return res->coherent ? SEDX_SUCCESS : sedx_memory_flush(res->ctx, res->allocation, 0, VK_WHOLE_SIZE);
}

sedx_result sedx_buffer_write(const sedx_buffer *buf, const void *src, uint64_t size, uint64_t offset)
{
    sedx_result r;
    sedx_buffer_resource *res = host_buffer(buf, "sedx_buffer_write", &r);
    if (!res) return r;
    if ((r = check_range(res, size, offset, "sedx_buffer_write")) != SEDX_SUCCESS) return r;
    if (size == 0) return SEDX_SUCCESS;
    if (!src) return SEDX__ERR(SEDX_ERROR_INVALID_ARGUMENT, TAG, "sedx_buffer_write: src is NULL");
    /* memmove: src may lie in the buffer's own mapping (moving bytes within the buffer) */
    memmove((uint8_t *)res->mapped + offset, src, (size_t)size);
    return res->coherent ? SEDX_SUCCESS : sedx_memory_flush(res->ctx, res->allocation, offset, size);
}

sedx_result sedx_buffer_read(const sedx_buffer *buf, void *dst, uint64_t size, uint64_t offset)
{
    sedx_result r;
    sedx_buffer_resource *res = host_buffer(buf, "sedx_buffer_read", &r);
    if (!res) return r;
    if ((r = check_range(res, size, offset, "sedx_buffer_read")) != SEDX_SUCCESS) return r;
    if (size == 0) return SEDX_SUCCESS;
    if (!dst) return SEDX__ERR(SEDX_ERROR_INVALID_ARGUMENT, TAG, "sedx_buffer_read: dst is NULL");
    if (!res->coherent && (r = sedx_memory_invalidate(res->ctx, res->allocation, offset, size)) != SEDX_SUCCESS)
        return r;
    memmove(dst, (const uint8_t *)res->mapped + offset, (size_t)size); /* dst may lie in the mapping */
    return SEDX_SUCCESS;
}

sedx_result sedx_buffer_flush(const sedx_buffer *buf, uint64_t offset, uint64_t size)
{
    sedx_result r;
    sedx_buffer_resource *res = host_buffer(buf, "sedx_buffer_flush", &r);
    if (!res) return r;
    if (size != VK_WHOLE_SIZE && (r = check_range(res, size, offset, "sedx_buffer_flush")) != SEDX_SUCCESS) return r;
    return sedx_memory_flush(res->ctx, res->allocation, offset, size);
}

sedx_result sedx_buffer_invalidate(const sedx_buffer *buf, uint64_t offset, uint64_t size)
{
    sedx_result r;
    sedx_buffer_resource *res = host_buffer(buf, "sedx_buffer_invalidate", &r);
    if (!res) return r;
    if (size != VK_WHOLE_SIZE && (r = check_range(res, size, offset, "sedx_buffer_invalidate")) != SEDX_SUCCESS)
        return r;
    return sedx_memory_invalidate(res->ctx, res->allocation, offset, size);
}

uint32_t sedx_buffer_id(const sedx_buffer *buf)
{
    return sedx_buffer_is_valid(buf) ? buf->resource->id : SEDX_INVALID_ID;
}

VkBuffer sedx_buffer_vk(const sedx_buffer *buf)
{
    return sedx_buffer_is_valid(buf) ? buf->resource->buffer : VK_NULL_HANDLE;
}

VkBufferUsageFlags sedx_buffer_vk_usage(const sedx_buffer *buf)
{
    return sedx_buffer_is_valid(buf) ? buf->resource->vk_usage : 0;
}

VkDeviceMemory sedx_buffer_memory(const sedx_buffer *buf, uint64_t *out_offset)
{
    if (!sedx_buffer_is_valid(buf)) return VK_NULL_HANDLE;
    if (out_offset) *out_offset = buf->resource->offset;
    return buf->resource->memory;
}

VkDescriptorBufferInfo sedx_buffer_descriptor(const sedx_buffer *buf)
{
    VkDescriptorBufferInfo d = {VK_NULL_HANDLE, 0, 0};
    if (sedx_buffer_is_valid(buf)) {
        d.buffer = buf->resource->buffer;
        d.range = buf->resource->size;
    }
    return d;
}

VkDeviceAddress sedx_buffer_address(const sedx_buffer *buf)
{
    return sedx_buffer_is_valid(buf) ? buf->resource->address : 0;
}

const char *sedx_buffer_name(const sedx_buffer *buf)
{
    return sedx_buffer_is_valid(buf) ? buf->resource->name : "";
}

sedx_context *sedx_buffer_context(const sedx_buffer *buf)
{
    return sedx_buffer_is_valid(buf) ? buf->resource->ctx : NULL;
}

uint64_t sedx_buffer_get_size(const sedx_buffer *buf)
{
    return sedx_buffer_is_valid(buf) ? buf->resource->size : 0;
}

/* ------------------------------------------------------------------------------------------
 * Live-buffer list
 * ---------------------------------------------------------------------------------------- */
uint32_t sedx_buffer_list(sedx_context *ctx, sedx_buffer_visit_fn fn, void *user)
{
    if (!ctx || !registry(ctx)) return 0;
    struct sedx__buffer_registry *reg = registry(ctx);
    uint32_t n = 0;
    pthread_mutex_lock(&reg->lock);
    for (sedx_buffer_resource *r = reg->head; r; r = r->next) {
        if (r->internal) continue;
        ++n;
        if (!fn) continue;
        sedx_buffer_info bi = {r->id, r->name, r->size, r->allocation_size, r->usage, r->memory_kind,
                               r->memory_type, atomic_load(&r->map_count), atomic_load(&r->refs), r->dedicated};
        fn(&bi, user);
    }
    pthread_mutex_unlock(&reg->lock);
    return n;
}

typedef struct table_writer {
    char *out;
    size_t cap, len;
} table_writer;

static void tw_printf(table_writer *w, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
static void tw_printf(table_writer *w, const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    int n = vsnprintf(w->out && w->len < w->cap ? w->out + w->len : NULL, w->len < w->cap ? w->cap - w->len : 0,
                      fmt, ap);
    va_end(ap);
    if (n > 0) w->len += (size_t)n;
}

static void table_row(const sedx_buffer_info *bi, void *user)
{
    char usage[160];
    sedx_buffer_usage_string(bi->usage, usage, sizeof usage);
    tw_printf(user, "%6u  %-32.32s %12llu  %-3s  %4u  %4u  %s\n", bi->id, bi->name[0] ? bi->name : "(unnamed)",
              (unsigned long long)bi->size, (bi->memory & SEDX_MEMORY_CPU) ? "CPU" : "GPU", bi->map_count,
              bi->references, usage);
}

size_t sedx_buffer_format_table(sedx_context *ctx, char *out, size_t cap)
{
    table_writer w = {out, cap, 0};
    if (out && cap) out[0] = '\0';
    tw_printf(&w, "%6s  %-32s %12s  %-3s  %4s  %4s  %s\n", "ID", "NAME", "SIZE", "MEM", "MAPS", "REFS", "USAGE");
    uint32_t n = sedx_buffer_list(ctx, table_row, &w);
    tw_printf(&w, "%u live buffer%s\n", n, n == 1 ? "" : "s");
    if (out && cap && w.len >= cap) out[cap - 1] = '\0';
    return w.len;
}

static bool owned_by(void *object, void *ctx) { return ((sedx_buffer_resource *)object)->ctx == ctx; }

/* Context teardown: buffers the application never released are reported and destroyed. */
void sedx__buffers_destroy(sedx_context *ctx)
{
    struct sedx__buffer_registry *reg = registry(ctx);
    if (!reg) return;
    pthread_mutex_lock(&reg->lock);
    sedx_buffer_resource *r = reg->head;
    reg->head = reg->tail = NULL;
    uint32_t leaked = reg->count;
    reg->count = 0;
    pthread_mutex_unlock(&reg->lock);
    if (leaked) SEDX_LOG_WARN_TAG(TAG, "%u buffer%s never released; destroying:", leaked, leaked == 1 ? "" : "s");
    /* every reference the application still holds dies with the context: its handle first */
    if (leaked) sedx__handle_free_matching(&g_pool, owned_by, ctx);
    /* (sedx's own buffers are released before this runs, so every one listed is the application's) */
    while (r) {
        sedx_buffer_resource *next = r->next;
        SEDX_LOG_WARN_TAG(TAG, "  leaked buffer '%s' id %u, %llu bytes, %u reference%s", safe_name(r->name), r->id,
                          (unsigned long long)r->size, atomic_load(&r->refs), atomic_load(&r->refs) == 1 ? "" : "s");
        destroy_resource(ctx, r);
        r = next;
    }
    pthread_mutex_destroy(&reg->lock);
    sedx__map_free(&reg->by_vk);
    sedx__free(reg->ids);
    sedx__free(reg);
    ctx->layers.buffer = NULL;
}

void sedx__buffers_lock(sedx_context *ctx)
{
    struct sedx__buffer_registry *reg = registry(ctx);
    if (reg) pthread_mutex_lock(&reg->lock);
}

void sedx__buffers_unlock(sedx_context *ctx)
{
    struct sedx__buffer_registry *reg = registry(ctx);
    if (reg) pthread_mutex_unlock(&reg->lock);
}

/* The bindless layer's start: installs its hook and calls it for every live buffer, under the
 * registry lock so that no buffer is created or destroyed in between. */
sedx_result sedx__buffers_install_bindless(sedx_context *ctx, sedx__bindless_hook update)
{
    struct sedx__buffer_registry *reg = registry(ctx);
    pthread_mutex_lock(&reg->lock);
    reg->bindless_update = update;
    if (update)
        for (sedx_buffer_resource *r = reg->head; r; r = r->next) update(ctx, r, true);
    pthread_mutex_unlock(&reg->lock);
    return SEDX_SUCCESS;
}
