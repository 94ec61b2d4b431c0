/*
 * Acceleration-structure builds from sedx buffers: every check first, the sizes the driver
 * asks for, storage and one scratch buffer per call, one submission on the main queue after the
 * uploads so far, destruction of the scratch behind it.
 */
#include "raytracing/raytracing_private.h"

#include <string.h>

#define BUILD_FLAGS_KNOWN 0x1Fu /* ALLOW_UPDATE .. LOW_MEMORY */

/* Vertex formats sedx builds from (the ones every device with the extension supports), with
 * their size and component size. */
static bool vertex_format_sizes(VkFormat f, uint32_t *size, uint32_t *component)
{
    switch (f) {
    case VK_FORMAT_R32G32_SFLOAT: *size = 8; *component = 4; return true;
    case VK_FORMAT_R32G32B32_SFLOAT: *size = 12; *component = 4; return true;
    case VK_FORMAT_R16G16_SFLOAT: case VK_FORMAT_R16G16_SNORM: *size = 4; *component = 2; return true;
    case VK_FORMAT_R16G16B16A16_SFLOAT: case VK_FORMAT_R16G16B16A16_SNORM: *size = 8; *component = 2; return true;
    default: return false;
    }
}

/* An input buffer of ctx with the ACCELERATION_STRUCTURE_INPUT usage whose [offset, offset +
 * size) exists; NULL with *r set (logged) otherwise. */
static sedx_buffer_resource *input_buffer(sedx_context *ctx, const sedx_buffer *buf, uint64_t offset, uint64_t size,
                                          const char *what, const char *role, sedx_result *r)
{
    sedx_buffer_resource *res = sedx__buffer_get(buf, what);
    if (!res) {
        *r = SEDX_ERROR_INVALID_HANDLE;
        return NULL;
    }
    if (res->ctx != ctx) {
        *r = SEDX__ERR(SEDX_ERROR_WRONG_CONTEXT, TAG, "%s: %s buffer '%s' belongs to another context", what, role,
                       res->name);
        return NULL;
    }
    if (!(res->usage & SEDX_BUFFER_USAGE_ACCELERATION_STRUCTURE_INPUT)) {
        *r = SEDX__ERR(SEDX_ERROR_INVALID_USAGE, TAG, "%s: %s buffer '%s' lacks the ACCELERATION_STRUCTURE_INPUT "
                       "usage", what, role, res->name);
        return NULL;
    }
    if (offset > res->size || size > res->size - offset) {
        *r = SEDX__ERR(SEDX_ERROR_OUT_OF_BOUNDS, TAG, "%s: %s bytes [%llu, +%llu) past the end of buffer '%s' "
                       "(%llu bytes)", what, role, (unsigned long long)offset, (unsigned long long)size, res->name,
                       (unsigned long long)res->size);
        return NULL;
    }
    return res;
}

/* One triangle geometry, checked, as Vulkan takes it. */
static sedx_result triangles_geometry(sedx_context *ctx, const sedx_as_triangles *t, const char *what,
                                      VkAccelerationStructureGeometryKHR *g, uint32_t *primitives)
{
    sedx_result r = SEDX_SUCCESS;
    VkFormat fmt = t->vertex_format ? t->vertex_format : VK_FORMAT_R32G32B32_SFLOAT;
    uint32_t fsize, comp;
    if (t->flags & ~(uint32_t)SEDX_AS_GEOMETRY_OPAQUE)
        return SEDX__ERR(SEDX_ERROR_INVALID_ARGUMENT, TAG, "%s: unknown geometry flags 0x%x", what, t->flags);
    if (!vertex_format_sizes(fmt, &fsize, &comp))
        return SEDX__ERR(SEDX_ERROR_INVALID_ARGUMENT, TAG, "%s: vertex format %d is not one sedx builds from "
                         "(R32G32(B32)_SFLOAT, R16G16(B16A16)_SFLOAT/SNORM)", what, (int)fmt);
    VkFormatProperties fp;
    vkGetPhysicalDeviceFormatProperties(ctx->physical, fmt, &fp);
    if (!(fp.bufferFeatures & VK_FORMAT_FEATURE_ACCELERATION_STRUCTURE_VERTEX_BUFFER_BIT_KHR))
        return SEDX__ERR(SEDX_ERROR_FEATURE_NOT_PRESENT, TAG, "%s: the device cannot build from vertex format %d",
                         what, (int)fmt);
    uint64_t stride = t->vertex_stride ? t->vertex_stride : fsize;
    if (!t->vertices) return SEDX__ERR(SEDX_ERROR_INVALID_ARGUMENT, TAG, "%s: vertices is NULL", what);
    if (t->vertex_count == 0) return SEDX__ERR(SEDX_ERROR_INVALID_ARGUMENT, TAG, "%s: vertex_count 0", what);
    if (stride % comp || t->vertex_offset % comp || stride > UINT32_MAX || stride < fsize)
        return SEDX__ERR(SEDX_ERROR_INVALID_ALIGNMENT, TAG, "%s: vertex offset %llu / stride %llu: not multiples of "
                         "the %u-byte component, or a stride below the %u-byte vertex or past 2^32 - 1", what,
                         (unsigned long long)t->vertex_offset, (unsigned long long)stride, comp, fsize);
    uint64_t vbytes = (uint64_t)(t->vertex_count - 1u) * stride + fsize;
    sedx_buffer_resource *vb = input_buffer(ctx, t->vertices, t->vertex_offset, vbytes, what, "vertex", &r);
    if (!vb) return r;
    *g = (VkAccelerationStructureGeometryKHR){VK_STRUCTURE_TYPE_ACCELERATION_STRUCTURE_GEOMETRY_KHR};
    g->geometryType = VK_GEOMETRY_TYPE_TRIANGLES_KHR;
    g->flags = (t->flags & SEDX_AS_GEOMETRY_OPAQUE) ? VK_GEOMETRY_OPAQUE_BIT_KHR : 0;
    VkAccelerationStructureGeometryTrianglesDataKHR *d = &g->geometry.triangles;
    d->sType = VK_STRUCTURE_TYPE_ACCELERATION_STRUCTURE_GEOMETRY_TRIANGLES_DATA_KHR;
    d->vertexFormat = fmt;
    d->vertexData.deviceAddress = vb->address + t->vertex_offset;
    d->vertexStride = stride;
    d->maxVertex = t->vertex_count - 1u;
    d->indexType = VK_INDEX_TYPE_NONE_KHR;
    if (!t->indices) {
        if (t->vertex_count % 3u)
            return SEDX__ERR(SEDX_ERROR_INVALID_ARGUMENT, TAG, "%s: %u vertices without indices: not whole "
                             "triangles", what, t->vertex_count);
        *primitives = t->vertex_count / 3u;
        return SEDX_SUCCESS;
    }
    uint32_t isize = t->index_size ? t->index_size : 4u;
    if (isize != 2u && isize != 4u)
        return SEDX__ERR(SEDX_ERROR_INVALID_ARGUMENT, TAG, "%s: index_size %u (2 or 4)", what, t->index_size);
    if (t->index_count == 0 || t->index_count % 3u)
        return SEDX__ERR(SEDX_ERROR_INVALID_ARGUMENT, TAG, "%s: index_count %u is not whole triangles", what,
                         t->index_count);
    if (t->index_offset % isize)
        return SEDX__ERR(SEDX_ERROR_INVALID_ALIGNMENT, TAG, "%s: index_offset %llu is not a multiple of %u", what,
                         (unsigned long long)t->index_offset, isize);
    sedx_buffer_resource *ib =
        input_buffer(ctx, t->indices, t->index_offset, (uint64_t)t->index_count * isize, what, "index", &r);
    if (!ib) return r;
    d->indexType = isize == 2u ? VK_INDEX_TYPE_UINT16 : VK_INDEX_TYPE_UINT32;
    d->indexData.deviceAddress = ib->address + t->index_offset;
    *primitives = t->index_count / 3u;
    return SEDX_SUCCESS;
}

static sedx_result check_build_flags(VkBuildAccelerationStructureFlagsKHR *flags, const char *what)
{
    if (*flags & ~(VkBuildAccelerationStructureFlagsKHR)BUILD_FLAGS_KNOWN)
        return SEDX__ERR(SEDX_ERROR_INVALID_ARGUMENT, TAG, "%s: unknown build flags 0x%x", what, (unsigned)*flags);
    const VkBuildAccelerationStructureFlagsKHR both = VK_BUILD_ACCELERATION_STRUCTURE_PREFER_FAST_TRACE_BIT_KHR |
                                                      VK_BUILD_ACCELERATION_STRUCTURE_PREFER_FAST_BUILD_BIT_KHR;
    if ((*flags & both) == both)
        return SEDX__ERR(SEDX_ERROR_INVALID_ARGUMENT, TAG, "%s: PREFER_FAST_TRACE and PREFER_FAST_BUILD together",
                         what);
    if (!(*flags & both)) *flags |= VK_BUILD_ACCELERATION_STRUCTURE_PREFER_FAST_TRACE_BIT_KHR;
    return SEDX_SUCCESS;
}

/* One structure of a build call, Vulkan's view of it. */
typedef struct plan {
    VkAccelerationStructureBuildGeometryInfoKHR info;
    VkAccelerationStructureGeometryKHR *geoms;        /* into the call's array */
    VkAccelerationStructureBuildRangeInfoKHR *ranges; /* into the call's array */
    uint32_t primitives;                              /* in all geometries */
    VkAccelerationStructureBuildSizesInfoKHR sizes;
    const char *name;
} plan;

static sedx_result blas_plan(sedx_context *ctx, const sedx_blas_info *in, VkAccelerationStructureGeometryKHR *geoms,
                             VkAccelerationStructureBuildRangeInfoKHR *ranges, uint32_t *counts, plan *p)
{
    const char *what = "sedx_blas_build";
    if (!in->geometries || in->geometry_count == 0)
        return SEDX__ERR(SEDX_ERROR_INVALID_ARGUMENT, TAG, "%s: BLAS '%s': %s", what, sedx__rt_name(in->name),
                         in->geometries ? "geometry_count 0" : "geometries is NULL");
    if (in->geometry_count > ctx->as_props.maxGeometryCount)
        return SEDX__ERR(SEDX_ERROR_FEATURE_NOT_PRESENT, TAG, "%s: BLAS '%s': %u geometries, the device allows %llu",
                         what, sedx__rt_name(in->name), in->geometry_count,
                         (unsigned long long)ctx->as_props.maxGeometryCount);
    VkBuildAccelerationStructureFlagsKHR flags = in->build_flags;
    sedx_result r = check_build_flags(&flags, what);
    if (r != SEDX_SUCCESS) return r;
    uint64_t total = 0;
    for (uint32_t i = 0; i < in->geometry_count; ++i) {
        if ((r = triangles_geometry(ctx, &in->geometries[i], what, &geoms[i], &counts[i])) != SEDX_SUCCESS) {
            SEDX_LOG_ERROR_TAG(TAG, "%s: BLAS '%s': geometry %u refused", what, sedx__rt_name(in->name), i);
            return r;
        }
        ranges[i] = (VkAccelerationStructureBuildRangeInfoKHR){counts[i], 0, 0, 0};
        total += counts[i];
    }
    if (total > ctx->as_props.maxPrimitiveCount)
        return SEDX__ERR(SEDX_ERROR_FEATURE_NOT_PRESENT, TAG, "%s: BLAS '%s': %llu triangles, the device allows %llu",
                         what, sedx__rt_name(in->name), (unsigned long long)total,
                         (unsigned long long)ctx->as_props.maxPrimitiveCount);
    *p = (plan){{VK_STRUCTURE_TYPE_ACCELERATION_STRUCTURE_BUILD_GEOMETRY_INFO_KHR}};
    p->info.type = VK_ACCELERATION_STRUCTURE_TYPE_BOTTOM_LEVEL_KHR;
    p->info.flags = flags;
    p->info.mode = VK_BUILD_ACCELERATION_STRUCTURE_MODE_BUILD_KHR;
    p->info.geometryCount = in->geometry_count;
    p->info.pGeometries = geoms;
    p->geoms = geoms;
    p->ranges = ranges;
    p->primitives = (uint32_t)total;
    p->name = in->name;
    p->sizes = (VkAccelerationStructureBuildSizesInfoKHR){VK_STRUCTURE_TYPE_ACCELERATION_STRUCTURE_BUILD_SIZES_INFO_KHR};
    ctx->rt.build_sizes(ctx->device, VK_ACCELERATION_STRUCTURE_BUILD_TYPE_DEVICE_KHR, &p->info, counts, &p->sizes);
    return SEDX_SUCCESS;
}

static sedx_result tlas_plan(sedx_context *ctx, const sedx_tlas_info *in, VkAccelerationStructureGeometryKHR *geom,
                             VkAccelerationStructureBuildRangeInfoKHR *range, plan *p)
{
    const char *what = "sedx_tlas_build";
    VkBuildAccelerationStructureFlagsKHR flags = in->build_flags;
    sedx_result r = check_build_flags(&flags, what);
    if (r != SEDX_SUCCESS) return r;
    if (in->instance_count > ctx->as_props.maxInstanceCount)
        return SEDX__ERR(SEDX_ERROR_FEATURE_NOT_PRESENT, TAG, "%s: TLAS '%s': %u instances, the device allows %llu", what,
                         sedx__rt_name(in->name), in->instance_count, (unsigned long long)ctx->as_props.maxInstanceCount);
    if (!in->instances) return SEDX__ERR(SEDX_ERROR_INVALID_ARGUMENT, TAG, "%s: instances is NULL", what);
    if (in->instance_offset % 16u)
        return SEDX__ERR(SEDX_ERROR_INVALID_ALIGNMENT, TAG, "%s: TLAS '%s': instance_offset %llu is not a multiple "
                         "of 16", what, sedx__rt_name(in->name), (unsigned long long)in->instance_offset);
    sedx_buffer_resource *ib = input_buffer(ctx, in->instances, in->instance_offset,
                                            (uint64_t)in->instance_count * sizeof(VkAccelerationStructureInstanceKHR),
                                            what, "instance", &r);
    if (!ib) return r;
    *geom = (VkAccelerationStructureGeometryKHR){VK_STRUCTURE_TYPE_ACCELERATION_STRUCTURE_GEOMETRY_KHR};
    geom->geometryType = VK_GEOMETRY_TYPE_INSTANCES_KHR;
    geom->geometry.instances.sType = VK_STRUCTURE_TYPE_ACCELERATION_STRUCTURE_GEOMETRY_INSTANCES_DATA_KHR;
    geom->geometry.instances.arrayOfPointers = VK_FALSE;
    /* no instances: the buffer's own address (instance_offset may be its end, which is no
     * address of it: VUID-vkCmdBuildAccelerationStructuresKHR-geometry-03673) */
    geom->geometry.instances.data.deviceAddress = ib->address + (in->instance_count ? in->instance_offset : 0u);
    *range = (VkAccelerationStructureBuildRangeInfoKHR){in->instance_count, 0, 0, 0};
    *p = (plan){{VK_STRUCTURE_TYPE_ACCELERATION_STRUCTURE_BUILD_GEOMETRY_INFO_KHR}};
    p->info.type = VK_ACCELERATION_STRUCTURE_TYPE_TOP_LEVEL_KHR;
    p->info.flags = flags;
    p->info.mode = VK_BUILD_ACCELERATION_STRUCTURE_MODE_BUILD_KHR;
    p->info.geometryCount = 1;
    p->info.pGeometries = geom;
    p->geoms = geom;
    p->ranges = range;
    p->primitives = in->instance_count;
    p->name = in->name;
    p->sizes = (VkAccelerationStructureBuildSizesInfoKHR){VK_STRUCTURE_TYPE_ACCELERATION_STRUCTURE_BUILD_SIZES_INFO_KHR};
    ctx->rt.build_sizes(ctx->device, VK_ACCELERATION_STRUCTURE_BUILD_TYPE_DEVICE_KHR, &p->info, &in->instance_count,
                        &p->sizes);
    return SEDX_SUCCESS;
}

static uint64_t scratch_align(sedx_context *ctx)
{
    return SEDX__MAX(ctx->as_props.minAccelerationStructureScratchOffsetAlignment, 1u);
}

/* A GPU buffer for scratch: STORAGE | ADDRESS at the scratch alignment. */
static sedx_result scratch_buffer(sedx_context *ctx, uint64_t size, const char *name, sedx_buffer *out)
{
    sedx_buffer_create_info sci = {0};
    sci.size = size;
    sci.usage = SEDX_BUFFER_USAGE_STORAGE | SEDX_BUFFER_USAGE_ADDRESS;
    sci.memory = SEDX_MEMORY_GPU;
    sci.alignment = scratch_align(ctx);
    sci.name = name;
    return sedx_buffer_create_ex(ctx, &sci, out);
}

sedx_result sedx_as_scratch_create(sedx_context *ctx, uint64_t size, const char *name, sedx_buffer *out)
{
    if (!ctx) return SEDX__ERR(SEDX_ERROR_INVALID_ARGUMENT, TAG, "sedx_as_scratch_create: ctx is NULL");
    sedx_result r = sedx__rt_require(ctx, SEDX_FEATURE_ACCELERATION_STRUCTURE, "sedx_as_scratch_create");
    return r == SEDX_SUCCESS ? scratch_buffer(ctx, size, name, out) : r;
}

sedx_result sedx_as_storage_create(sedx_context *ctx, uint64_t size, const char *name, sedx_buffer *out)
{
    if (!ctx) return SEDX__ERR(SEDX_ERROR_INVALID_ARGUMENT, TAG, "sedx_as_storage_create: ctx is NULL");
    sedx_result r = sedx__rt_require(ctx, SEDX_FEATURE_ACCELERATION_STRUCTURE, "sedx_as_storage_create");
    return r == SEDX_SUCCESS ? sedx_buffer_create(ctx, size, SEDX_BUFFER_USAGE_ACCELERATION_STRUCTURE, SEDX_MEMORY_GPU,
                                                  name, out)
                             : r;
}

static void sizes_out(sedx_context *ctx, const plan *p, sedx_as_sizes *out)
{
    out->storage = sedx__align_up(p->sizes.accelerationStructureSize, 256u);
    out->build_scratch = sedx__align_up(p->sizes.buildScratchSize, scratch_align(ctx));
    out->update_scratch = sedx__align_up(p->sizes.updateScratchSize, scratch_align(ctx));
}

/* The buffers the plans read (every geometry's vertex and index buffer, or the instances),
 * marked as used by the build's submission. */
static void mark_inputs(const sedx_blas_info *blas, uint32_t count, const sedx_tlas_info *tlas, sedx_ticket tk)
{
    for (uint32_t i = 0; blas && i < count; ++i)
        for (uint32_t g = 0; g < blas[i].geometry_count; ++g) {
            const sedx_as_triangles *t = &blas[i].geometries[g];
            sedx__buffer_mark_use(t->vertices->resource, (sedx_queue)tk.queue, tk.value);
            if (t->indices) sedx__buffer_mark_use(t->indices->resource, (sedx_queue)tk.queue, tk.value);
        }
    if (tlas) sedx__buffer_mark_use(tlas->instances->resource, (sedx_queue)tk.queue, tk.value);
}

/* Records and submits the builds of n plans into outs (created here), with one scratch buffer,
 * after the uploads so far; waits unless out_ticket. */
static sedx_result build(sedx_context *ctx, plan *plans, uint32_t n, const sedx_blas_info *blas,
                         const sedx_tlas_info *tlas, sedx_acceleration_structure *outs, sedx_ticket *out_ticket,
                         const char *what)
{
    const uint64_t a = scratch_align(ctx);
    uint64_t scratch_bytes = 0;
    for (uint32_t i = 0; i < n; ++i) scratch_bytes += sedx__align_up(plans[i].sizes.buildScratchSize, a);
    sedx_buffer scratch = {0};
    sedx_result r = scratch_buffer(ctx, SEDX__MAX(scratch_bytes, 1u), "sedx AS scratch", &scratch);
    uint32_t made = 0;
    for (; r == SEDX_SUCCESS && made < n; ++made) {
        r = sedx__as_create(ctx, plans[made].info.type, plans[made].sizes.accelerationStructureSize,
                            plans[made].primitives, plans[made].name, &outs[made]);
        if (r != SEDX_SUCCESS) break;
    }
    sedx_ticket up = {0};
    if (r == SEDX_SUCCESS) r = sedx_upload_submit(ctx, &up); /* the inputs' uploads first */
    sedx_cmd cmd = {0};
    if (r == SEDX_SUCCESS) r = sedx_cmd_begin(ctx, SEDX_QUEUE_GRAPHICS, &cmd);
    if (r != SEDX_SUCCESS) {
        for (uint32_t i = 0; i < made; ++i) sedx__as_discard(ctx, &outs[i]);
        sedx_buffer_release(&scratch);
        return SEDX__ERR(r, TAG, "%s: %s", what, sedx_result_name(r));
    }
    VkAccelerationStructureBuildGeometryInfoKHR *infos = sedx__calloc(n, sizeof *infos);
    const VkAccelerationStructureBuildRangeInfoKHR **ranges = sedx__calloc(n, sizeof *ranges);
    if (!infos || !ranges) r = SEDX__ERR(SEDX_ERROR_OUT_OF_HOST_MEMORY, TAG, "%s: out of host memory", what);
    VkDeviceAddress base = sedx_buffer_address(&scratch);
    uint64_t off = sedx__align_up(base, a) - base;
    for (uint32_t i = 0; r == SEDX_SUCCESS && i < n; ++i) {
        infos[i] = plans[i].info;
        infos[i].dstAccelerationStructure = outs[i].as;
        infos[i].scratchData.deviceAddress = base + off;
        off += sedx__align_up(plans[i].sizes.buildScratchSize, a);
        ranges[i] = plans[i].ranges;
    }
    sedx_ticket tk = {0};
    if (r == SEDX_SUCCESS) {
        ctx->rt.cmd_build(cmd.cmd, n, infos, ranges);
        sedx__as_barrier(cmd.cmd); /* to traces, builds of a TLAS over them, compaction */
        VkSemaphore wait_sem = sedx_context_timeline(ctx, (sedx_queue)up.queue);
        uint64_t wait_value = up.value;
        VkPipelineStageFlags stage = VK_PIPELINE_STAGE_ACCELERATION_STRUCTURE_BUILD_BIT_KHR;
        sedx_submit_info si = {0, &wait_sem, &wait_value, &stage};
        if (up.value && up.queue != SEDX_QUEUE_GRAPHICS &&
            sedx_context_timeline(ctx, SEDX_QUEUE_TRANSFER) != sedx_context_timeline(ctx, SEDX_QUEUE_GRAPHICS))
            si.wait_count = 1; /* uploads on the transfer queue: the build waits for them on the GPU */
        r = sedx_cmd_submit(ctx, &cmd, &si, &tk);
    }
    if (r != SEDX_SUCCESS) {
        if (cmd.cmd) sedx_cmd_discard(ctx, &cmd);
        for (uint32_t i = 0; i < n; ++i) sedx__as_discard(ctx, &outs[i]);
    } else {
        mark_inputs(blas, n, tlas, tk);
        sedx__buffer_mark_use(scratch.resource, (sedx_queue)tk.queue, tk.value);
        for (uint32_t i = 0; i < n; ++i) {
            sedx__as *as = sedx__as_get(ctx, &outs[i], what);
            if (!as) continue;
            sedx__buffer_mark_use(as->storage.resource, (sedx_queue)tk.queue, tk.value);
            as->build_flags = plans[i].info.flags;
        }
    }
    sedx__free(infos);
    sedx__free(ranges);
    sedx_buffer_release(&scratch); /* destroyed once the build has run */
    if (r != SEDX_SUCCESS) return r;
    if (out_ticket) *out_ticket = tk;
    else r = sedx_ticket_wait(ctx, tk, UINT64_MAX);
    return r;
}

/* The arrays of a BLAS call: geometries and ranges of all infos, primitive counts. */
typedef struct blas_arrays {
    plan *plans;
    VkAccelerationStructureGeometryKHR *geoms;
    VkAccelerationStructureBuildRangeInfoKHR *ranges;
    uint32_t *counts;
} blas_arrays;

static void arrays_free(blas_arrays *b)
{
    sedx__free(b->plans);
    sedx__free(b->geoms);
    sedx__free(b->ranges);
    sedx__free(b->counts);
}

static sedx_result blas_plans(sedx_context *ctx, const sedx_blas_info *infos, uint32_t count, blas_arrays *b)
{
    uint64_t total = 0;
    for (uint32_t i = 0; i < count; ++i) {
        if (!infos[i].geometries || infos[i].geometry_count == 0)
            return SEDX__ERR(SEDX_ERROR_INVALID_ARGUMENT, TAG, "sedx_blas_build: BLAS %u '%s': %s", i,
                             sedx__rt_name(infos[i].name), infos[i].geometries ? "geometry_count 0" : "geometries is NULL");
        if (infos[i].geometry_count > ctx->as_props.maxGeometryCount) /* before anything is sized by it */
            return SEDX__ERR(SEDX_ERROR_FEATURE_NOT_PRESENT, TAG, "sedx_blas_build: BLAS %u '%s': %u geometries, the "
                             "device allows %llu", i, sedx__rt_name(infos[i].name), infos[i].geometry_count,
                             (unsigned long long)ctx->as_props.maxGeometryCount);
        total += infos[i].geometry_count;
    }
    b->plans = sedx__calloc(count, sizeof *b->plans);
    b->geoms = sedx__calloc((size_t)total, sizeof *b->geoms);
    b->ranges = sedx__calloc((size_t)total, sizeof *b->ranges);
    b->counts = sedx__calloc((size_t)total, sizeof *b->counts);
    if (!b->plans || !b->geoms || !b->ranges || !b->counts)
        return SEDX__ERR(SEDX_ERROR_OUT_OF_HOST_MEMORY, TAG, "sedx_blas_build: out of host memory");
    uint64_t at = 0;
    for (uint32_t i = 0; i < count; ++i) {
        sedx_result r = blas_plan(ctx, &infos[i], b->geoms + at, b->ranges + at, b->counts + at, &b->plans[i]);
        if (r != SEDX_SUCCESS) return r;
        at += infos[i].geometry_count;
    }
    return SEDX_SUCCESS;
}

sedx_result sedx_blas_sizes(sedx_context *ctx, const sedx_blas_info *info, sedx_as_sizes *out)
{
    sedx_result r = sedx__rt_begin(ctx, info, out, SEDX_FEATURE_ACCELERATION_STRUCTURE, "sedx_blas_sizes");
    blas_arrays b = {0};
    if (r == SEDX_SUCCESS) r = blas_plans(ctx, info, 1, &b);
    if (r == SEDX_SUCCESS) sizes_out(ctx, &b.plans[0], out);
    arrays_free(&b);
    return r;
}

sedx_result sedx_tlas_sizes(sedx_context *ctx, const sedx_tlas_info *info, sedx_as_sizes *out)
{
    sedx_result r = sedx__rt_begin(ctx, info, out, SEDX_FEATURE_ACCELERATION_STRUCTURE, "sedx_tlas_sizes");
    VkAccelerationStructureGeometryKHR g;
    VkAccelerationStructureBuildRangeInfoKHR range;
    plan p;
    if (r == SEDX_SUCCESS) r = tlas_plan(ctx, info, &g, &range, &p);
    if (r == SEDX_SUCCESS) sizes_out(ctx, &p, out);
    return r;
}

sedx_result sedx_blas_build(sedx_context *ctx, const sedx_blas_info *infos, uint32_t count,
                            sedx_acceleration_structure *outs, sedx_ticket *out_ticket)
{
    if (!ctx || !infos || !outs || count == 0)
        return SEDX__ERR(SEDX_ERROR_INVALID_ARGUMENT, TAG, "sedx_blas_build: %s", !ctx ? "ctx is NULL"
                         : !infos ? "infos is NULL" : !outs ? "outs is NULL" : "count 0");
    SEDX_PROFILE_SCOPE("sedx_blas_build");
    sedx_result r = sedx__rt_require(ctx, SEDX_FEATURE_ACCELERATION_STRUCTURE, "sedx_blas_build");
    blas_arrays b = {0};
    if (r == SEDX_SUCCESS) r = blas_plans(ctx, infos, count, &b);
    sedx_acceleration_structure *made = r == SEDX_SUCCESS ? sedx__calloc(count, sizeof *made) : NULL;
    if (r == SEDX_SUCCESS && !made) r = SEDX__ERR(SEDX_ERROR_OUT_OF_HOST_MEMORY, TAG, "sedx_blas_build: out of host memory");
    if (r == SEDX_SUCCESS) r = build(ctx, b.plans, count, infos, NULL, made, out_ticket, "sedx_blas_build");
    if (r == SEDX_SUCCESS) memcpy(outs, made, count * sizeof *outs); /* outs written on success only */
    sedx__free(made);
    arrays_free(&b);
    return r;
}

sedx_result sedx_tlas_build(sedx_context *ctx, const sedx_tlas_info *info, sedx_acceleration_structure *out,
                            sedx_ticket *out_ticket)
{
    SEDX_PROFILE_SCOPE("sedx_tlas_build");
    sedx_result r = sedx__rt_begin(ctx, info, out, SEDX_FEATURE_ACCELERATION_STRUCTURE, "sedx_tlas_build");
    VkAccelerationStructureGeometryKHR g;
    VkAccelerationStructureBuildRangeInfoKHR range;
    plan p;
    sedx_acceleration_structure made = {0};
    if (r == SEDX_SUCCESS) r = tlas_plan(ctx, info, &g, &range, &p);
    if (r == SEDX_SUCCESS) r = build(ctx, &p, 1, NULL, info, &made, out_ticket, "sedx_tlas_build");
    if (r == SEDX_SUCCESS) *out = made;
    return r;
}
