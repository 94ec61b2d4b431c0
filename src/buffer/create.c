/*
 * Creation: the seed's rules (usage additions, alignment rounding), the memory for what the
 * buffer is for, the VkBuffer, its memory, mapping, address and name.
 */
#include "buffer/buffer_private.h"

/* The seed's ray-tracing usages ("appropriate flags" added): each adds ADDRESS (builds and
 * traces take device addresses); ACCELERATION_STRUCTURE storage is sized and placed in 256-byte
 * units (VkAccelerationStructureCreateInfoKHR::offset is a multiple of 256), a
 * SHADER_BINDING_TABLE at shaderGroupBaseAlignment (a region's address is a multiple of it).
 * *mem_align: the memory offset alignment the usage needs beyond the driver's. */
static sedx_result apply_raytracing_rules(sedx_context *ctx, sedx_buffer_usage_flags *usage, const char *name,
                                          uint64_t *align, uint64_t *mem_align)
{
    const sedx_buffer_usage_flags as_bits =
        SEDX_BUFFER_USAGE_ACCELERATION_STRUCTURE | SEDX_BUFFER_USAGE_ACCELERATION_STRUCTURE_INPUT;
    if (!(*usage & (as_bits | SEDX_BUFFER_USAGE_SHADER_BINDING_TABLE))) return SEDX_SUCCESS;
    if ((*usage & as_bits) && !(ctx->features & SEDX_FEATURE_ACCELERATION_STRUCTURE))
        return SEDX__ERR(SEDX_ERROR_FEATURE_NOT_PRESENT, TAG,
                         "buffer '%s': acceleration-structure usages need VK_KHR_acceleration_structure, which "
                         "this context does not have (device without it, or SEDX_CONTEXT_NO_RAY_TRACING)",
                         sedx__safe_name(name));
    if ((*usage & SEDX_BUFFER_USAGE_SHADER_BINDING_TABLE) && !(ctx->features & SEDX_FEATURE_RAY_TRACING_PIPELINE))
        return SEDX__ERR(SEDX_ERROR_FEATURE_NOT_PRESENT, TAG,
                         "buffer '%s': the shader-binding-table usage needs VK_KHR_ray_tracing_pipeline, which "
                         "this context does not have (device without it, or SEDX_CONTEXT_NO_RAY_TRACING)",
                         sedx__safe_name(name));
    *usage |= SEDX_BUFFER_USAGE_ADDRESS;
    if (*usage & SEDX_BUFFER_USAGE_ACCELERATION_STRUCTURE) {
        *align = SEDX__MAX(*align, 256u);
        *mem_align = SEDX__MAX(*mem_align, 256u);
    }
    if (*usage & SEDX_BUFFER_USAGE_SHADER_BINDING_TABLE) {
        uint64_t base = SEDX__MAX(ctx->rtp_props.shaderGroupBaseAlignment, 1u);
        *align = SEDX__MAX(*align, base);
        *mem_align = SEDX__MAX(*mem_align, base);
    }
    return SEDX_SUCCESS;
}

/* The seed's automatic usage rules. Returns the usage the buffer really gets, the size rounding
 * (*out_align) and the memory offset alignment beyond the driver's (*out_mem_align). */
static sedx_result apply_usage_rules(sedx_context *ctx, sedx_buffer_usage_flags usage, const char *name,
                                     sedx_buffer_usage_flags *out_usage, uint64_t *out_align, uint64_t *out_mem_align)
{
    const VkPhysicalDeviceLimits *lim = &ctx->props.limits;
    bool bda = (ctx->features & SEDX_FEATURE_BUFFER_DEVICE_ADDRESS) != 0;
    uint64_t align = 1, mem_align = 1;
    sedx_result rr = apply_raytracing_rules(ctx, &usage, name, &align, &mem_align);
    if (rr != SEDX_SUCCESS) return rr;
    if ((usage & SEDX_BUFFER_USAGE_ADDRESS) && !bda)
        return SEDX__ERR(SEDX_ERROR_FEATURE_NOT_PRESENT, TAG,
                         "buffer '%s': ADDRESS usage needs buffer device address, which the device lacks",
                         sedx__safe_name(name));
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
    *out_mem_align = mem_align;
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

/* Checks what the caller asked for; every refusal is logged with the buffer's name. */
static sedx_result check_create_info(const sedx_buffer_create_info *ci)
{
    const char *name = sedx__safe_name(ci->name);
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
static sedx_result create_vk_buffer(sedx_context *ctx, sedx_buffer_resource *res, VkBufferCreateInfo *out_bci,
                                    uint32_t families[2])
{
    VkBufferCreateInfo bci = {VK_STRUCTURE_TYPE_BUFFER_CREATE_INFO};
    bci.size = res->allocation_size;
    bci.usage = (VkBufferUsageFlags)res->usage;
    families[0] = ctx->queues[SEDX_QUEUE_GRAPHICS].family;
    families[1] = ctx->queues[SEDX_QUEUE_TRANSFER].family;
    if (ctx->queues[SEDX_QUEUE_TRANSFER].present && families[0] != families[1]) {
        bci.sharingMode = VK_SHARING_MODE_CONCURRENT;
        bci.queueFamilyIndexCount = 2;
        bci.pQueueFamilyIndices = families;
    }
    res->vk_usage = bci.usage;
    *out_bci = bci;
    VkResult vr = vkCreateBuffer(ctx->device, &bci, NULL, &res->buffer);
    return vr == VK_SUCCESS ? SEDX_SUCCESS : SEDX__VK(vr, "vkCreateBuffer");
}

/* Memory for res->buffer (made from bci), bound, and what the buffer keeps of its placement.
 * The memory requirements come from the allocator's per-create-info cache (sedx_memory_create_buffer's)
 * where it has them, else from vkGetBufferMemoryRequirements2. */
static sedx_result allocate_memory(sedx_context *ctx, sedx_buffer_resource *res, const VkBufferCreateInfo *bci,
                                   const sedx_buffer_create_info *ci, bool staging)
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
        VkMemoryRequirements req;
        r = sedx__memory_buffer_requirements(ctx, res->buffer, bci, &req, &ded);
        req.alignment = SEDX__MAX(req.alignment, ci->alignment);
        if (r == SEDX_SUCCESS)
            r = sedx_memory_allocate2(ctx, &ai, &req, &ded, res->buffer, VK_NULL_HANDLE, &res->allocation);
        if (r == SEDX_SUCCESS) r = sedx_memory_bind_buffer(ctx, res->allocation, res->buffer);
        if (r == SEDX_SUCCESS) r = sedx__memory_placement(ctx, res->allocation, &pl);
    } else {
        r = sedx__memory_alloc_bind_buffer(ctx, res->buffer, bci, &ai, &res->allocation, &pl);
    }
    if (r != SEDX_SUCCESS) {
        SEDX_LOG_ERROR_TAG(TAG, "buffer '%s': no memory for %llu bytes (%s)", sedx__safe_name(ci->name),
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
                         sedx__safe_name(ci->name));
    return SEDX_SUCCESS;
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
    uint64_t align, mem_align;
    if ((r = apply_usage_rules(ctx, ci->usage, ci->name, &usage, &align, &mem_align)) != SEDX_SUCCESS) return r;
    sedx_buffer_create_info aligned_ci;
    if (mem_align > 1 && mem_align > ci->alignment) { /* the usage's placement rule, as an explicit alignment */
        aligned_ci = *ci;
        aligned_ci.alignment = mem_align;
        ci = &aligned_ci;
    }
    /* round UP (the seed's `size += size % align` does not); sizes past 2^63 are refused here,
     * smaller impossible ones by the driver or the allocator */
    uint64_t alloc_size = sedx__align_up(ci->size, align);
    if (alloc_size == 0 || alloc_size > UINT64_MAX / 2)
        return SEDX__ERR(SEDX_ERROR_INVALID_SIZE, TAG, "buffer '%s': size %llu overflows", sedx__safe_name(ci->name),
                         (unsigned long long)ci->size);
    if (ctx->max_buffer_size && alloc_size > ctx->max_buffer_size)
        return SEDX__ERR(SEDX_ERROR_INVALID_SIZE, TAG, "buffer '%s': %llu bytes exceed the device's maxBufferSize %llu",
                         sedx__safe_name(ci->name), (unsigned long long)alloc_size,
                         (unsigned long long)ctx->max_buffer_size);

    if (!sedx__buffer_handles())
        return SEDX__ERR(SEDX_ERROR_OUT_OF_HOST_MEMORY, TAG, "buffer handle pool unavailable");
    struct sedx__buffer_registry *reg = sedx__registry(ctx);
    sedx_buffer_resource *res = reg ? new_resource(ctx, ci, flags) : NULL;
    if (!res)
        return SEDX__ERR(SEDX_ERROR_OUT_OF_HOST_MEMORY, TAG, "buffer '%s': out of host memory", sedx__safe_name(ci->name));
    res->allocation_size = alloc_size;
    res->usage = usage;
    VkBufferCreateInfo bci;
    uint32_t families[2];
    r = create_vk_buffer(ctx, res, &bci, families);
    if (r == SEDX_SUCCESS) r = allocate_memory(ctx, res, &bci, ci, (flags & SEDX__BUFFER_STAGING) != 0);
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
    if ((r = sedx__handle_alloc(sedx__buffer_handles(), res, &res->handle)) != SEDX_SUCCESS) goto fail;
    sedx_buffer b = {res->mapped, res, ci->size, usage, res->memory_kind, res->handle};
    if (!res->internal) {
        pthread_mutex_lock(&reg->lock);
        r = sedx__register_locked(ctx, reg, res);
        pthread_mutex_unlock(&reg->lock);
        if (r != SEDX_SUCCESS) goto fail_handle;
    }
    SEDX_LOG_DEBUG_TAG(TAG, "created '%s' id %u: %llu bytes (%llu allocated), memory type %u%s", sedx__safe_name(ci->name),
                       res->id, (unsigned long long)ci->size, (unsigned long long)alloc_size, res->memory_type,
                       res->dedicated ? ", dedicated" : "");
    *out = b;
    return SEDX_SUCCESS;

fail_handle:
    sedx__handle_free(sedx__buffer_handles(), res->handle);
fail:
    sedx__free_resource(ctx, res);
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
