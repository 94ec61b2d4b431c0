/*
 * Ray tracing on sedx buffers (docs/raytracing.md): the seed's AccelerationStructureInput,
 * AccelerationStructure and ShaderBindingTable usages, acceleration structures built from sedx
 * buffers, and shader binding tables laid out with the device's alignments.
 *
 *   // vertices and indices: sedx buffers with SEDX_BUFFER_USAGE_ACCELERATION_STRUCTURE_INPUT
 *   sedx_as_triangles tri = {0};
 *   tri.vertices = &vb; tri.vertex_stride = 32; tri.vertex_count = nv;   // R32G32B32_SFLOAT at offset 0
 *   tri.indices = &ib; tri.index_count = ni;                              // uint32 indices (index_size 0)
 *   sedx_blas_info bi = {&tri, 1};
 *   sedx_acceleration_structure blas;
 *   sedx_blas_build(ctx, &bi, 1, &blas, NULL);        // waits; pass a ticket not to wait
 *
 *   VkAccelerationStructureInstanceKHR inst;
 *   sedx_as_instance(&inst, transform_3x4, object_id, 0xFF, 0, 0, &blas);
 *   sedx_buffer instances;                             // AS_INPUT usage, the instances uploaded
 *   sedx_buffer_create_with_data(ctx, sizeof inst, SEDX_BUFFER_USAGE_ACCELERATION_STRUCTURE_INPUT,
 *                                SEDX_MEMORY_GPU, "instances", &inst, &instances);
 *   sedx_tlas_info ti = {&instances, 0, 1};
 *   sedx_acceleration_structure tlas;
 *   sedx_tlas_build(ctx, &ti, &tlas, NULL);
 *
 *   sedx_sbt_info si = {pipeline, 1, 1, 1};            // raygen, miss, hit groups in pipeline order
 *   sedx_sbt sbt;
 *   sedx_sbt_create(ctx, &si, &sbt);
 *   vkCmdTraceRaysKHR(cmd, &sbt.raygen, &sbt.miss, &sbt.hit, &sbt.callable, w, h, 1);
 *
 * The extensions (VK_KHR_acceleration_structure with VK_KHR_deferred_host_operations, and
 * VK_KHR_ray_tracing_pipeline) are enabled where the device has them, unless the context was
 * created with SEDX_CONTEXT_NO_RAY_TRACING; sedx_context_features() then has
 * SEDX_FEATURE_ACCELERATION_STRUCTURE and SEDX_FEATURE_RAY_TRACING_PIPELINE. Without them every
 * call here is refused with SEDX_ERROR_FEATURE_NOT_PRESENT (logged), as are the three buffer
 * usages.
 *
 * Builds are recorded on the main queue after every upload submitted so far (the open upload
 * batch is submitted first), in one submission per call, with one scratch buffer for the whole
 * call (STORAGE | ADDRESS, aligned to minAccelerationStructureScratchOffsetAlignment) that is
 * destroyed behind the build. The submission ends with a barrier that makes the structures
 * visible to every later command on that queue.
 *
 * Thread safety: every call may be made from any thread; releases of copies of one structure
 * from several threads at once are safe (one wins, the others are logged and ignored). Building
 * from buffers, or compacting structures, that another thread is releasing is the caller's
 * race, as for copies.
 */
#ifndef SEDX_RAYTRACING_H
#define SEDX_RAYTRACING_H

#include <sedx/buffer.h>
#include <sedx/context.h>
#include <sedx/core.h>
#include <vulkan/vulkan.h>

#ifdef __cplusplus
extern "C" {
#endif

/* What the device says, for laying out ray-tracing data by hand. */
typedef struct sedx_raytracing_properties {
    bool acceleration_structure;       /* VK_KHR_acceleration_structure enabled */
    bool pipeline;                     /* VK_KHR_ray_tracing_pipeline enabled */
    uint32_t min_scratch_offset_alignment;  /* minAccelerationStructureScratchOffsetAlignment */
    uint64_t max_geometry_count, max_instance_count, max_primitive_count;
    uint32_t shader_group_handle_size;      /* the pipeline's (0 without the pipeline extension) */
    uint32_t shader_group_handle_alignment;
    uint32_t shader_group_base_alignment;
    uint32_t max_shader_group_stride;
    uint32_t max_ray_recursion_depth;
    uint32_t max_ray_dispatch_invocation_count; /* width * height * depth of one trace at most */
} sedx_raytracing_properties;
/* Fills *out (zeroed where the extensions are absent). NULL ctx or out:
 * SEDX_ERROR_INVALID_ARGUMENT; without VK_KHR_acceleration_structure:
 * SEDX_ERROR_FEATURE_NOT_PRESENT, *out zeroed. */
SEDX_API sedx_result sedx_raytracing_get_properties(sedx_context *ctx, sedx_raytracing_properties *out);

/* ------------------------------------------------------------------------------------------
 * Acceleration structures
 * ---------------------------------------------------------------------------------------- */
typedef enum sedx_as_geometry_flag_bits {
    SEDX_AS_GEOMETRY_OPAQUE = 0x1 /* VK_GEOMETRY_OPAQUE_BIT_KHR: no any-hit shader runs */
} sedx_as_geometry_flag_bits;

/* One triangle geometry of a BLAS, from sedx buffers made with
 * SEDX_BUFFER_USAGE_ACCELERATION_STRUCTURE_INPUT. Zero means default where a default is said. */
typedef struct sedx_as_triangles {
    const sedx_buffer *vertices;
    uint64_t vertex_offset;       /* bytes; a multiple of the format's component size */
    uint64_t vertex_stride;       /* bytes; 0 = the format's size */
    uint32_t vertex_count;        /* vertices the indices may name: maxVertex + 1 */
    VkFormat vertex_format;       /* 0 = VK_FORMAT_R32G32B32_SFLOAT */
    const sedx_buffer *indices;   /* NULL: not indexed, vertex_count / 3 triangles */
    uint64_t index_offset;        /* bytes; a multiple of index_size */
    uint32_t index_count;         /* a multiple of 3 */
    uint32_t index_size;          /* bytes per index: 2 or 4; 0 = 4 (uint32) */
    uint32_t flags;               /* sedx_as_geometry_flag_bits */
} sedx_as_triangles;

typedef struct sedx_blas_info {
    const sedx_as_triangles *geometries; /* gl_GeometryIndexEXT is the index in this array */
    uint32_t geometry_count;
    /* VkBuildAccelerationStructureFlagsKHR; 0 = PREFER_FAST_TRACE */
    VkBuildAccelerationStructureFlagsKHR build_flags;
    const char *name;                    /* may be NULL; names the structure and its buffer */
} sedx_blas_info;

typedef struct sedx_tlas_info {
    /* instance_count VkAccelerationStructureInstanceKHR (64 bytes each) at instance_offset (a
     * multiple of 16) of a buffer with SEDX_BUFFER_USAGE_ACCELERATION_STRUCTURE_INPUT; each
     * instance names a BLAS by its address (sedx_as_instance writes one) */
    const sedx_buffer *instances;
    uint64_t instance_offset;
    uint32_t instance_count;
    VkBuildAccelerationStructureFlagsKHR build_flags; /* 0 = PREFER_FAST_TRACE */
    const char *name;
} sedx_tlas_info;

/* A built acceleration structure: a value like sedx_buffer, generation-checked. Its storage is
 * a sedx buffer (SEDX_BUFFER_USAGE_ACCELERATION_STRUCTURE, offset 0) it holds a reference to. */
typedef struct sedx_acceleration_structure {
    VkAccelerationStructureKHR as;
    VkDeviceAddress address;   /* for instances and shaders */
    uint64_t size;             /* bytes of storage */
    uint32_t type;             /* VkAccelerationStructureTypeKHR: BOTTOM_LEVEL or TOP_LEVEL */
    uint32_t primitive_count;  /* triangles (BLAS) or instances (TLAS) */
    uint64_t handle;           /* generation-checked */
} sedx_acceleration_structure;

/* Storage and scratch a build of info needs (what vkGetAccelerationStructureBuildSizesKHR
 * answers, the scratch rounded up to the scratch offset alignment). */
typedef struct sedx_as_sizes {
    uint64_t storage, build_scratch, update_scratch;
} sedx_as_sizes;
SEDX_API sedx_result sedx_blas_sizes(sedx_context *ctx, const sedx_blas_info *info, sedx_as_sizes *out);
SEDX_API sedx_result sedx_tlas_sizes(sedx_context *ctx, const sedx_tlas_info *info, sedx_as_sizes *out);
/* For builds recorded by hand: a GPU buffer of size bytes that scratch can live in
 * (STORAGE | ADDRESS, placed at minAccelerationStructureScratchOffsetAlignment; keep one and
 * reuse it for build after build), and a GPU buffer of size bytes for structure storage (the
 * ACCELERATION_STRUCTURE usage). Errors: sedx_buffer_create's, and
 * SEDX_ERROR_FEATURE_NOT_PRESENT without VK_KHR_acceleration_structure. */
SEDX_API sedx_result sedx_as_scratch_create(sedx_context *ctx, uint64_t size, const char *name, sedx_buffer *out);
SEDX_API sedx_result sedx_as_storage_create(sedx_context *ctx, uint64_t size, const char *name, sedx_buffer *out);

/* Builds count BLAS (one submission, one scratch buffer) into outs[0..count). out_ticket NULL:
 * returns when the builds have finished; else the ticket of the submission (commands
 * submitted later to the main queue see the structures; another queue waits on the ticket).
 * Every check comes before any object is made; on an error nothing is built and outs is
 * untouched. Errors (logged): NULL ctx / infos / outs, count 0, geometry_count 0 or NULL
 * geometries SEDX_ERROR_INVALID_ARGUMENT; a buffer released or never made
 * SEDX_ERROR_INVALID_HANDLE, another context's SEDX_ERROR_WRONG_CONTEXT; a buffer without
 * the ACCELERATION_STRUCTURE_INPUT usage SEDX_ERROR_INVALID_USAGE; a vertex or index range past
 * its buffer SEDX_ERROR_OUT_OF_BOUNDS; a misaligned offset or stride
 * SEDX_ERROR_INVALID_ALIGNMENT; index_count not a multiple of 3, or a non-indexed vertex_count
 * not a multiple of 3, an index_size other than 0, 2 or 4, unknown geometry or build flags,
 * PREFER_FAST_TRACE with PREFER_FAST_BUILD, a vertex format other than R32G32(B32)_SFLOAT and
 * R16G16(B16A16)_SFLOAT/SNORM SEDX_ERROR_INVALID_ARGUMENT; what the device cannot do (more
 * geometries, triangles or instances than its limits, a vertex format it cannot build from)
 * SEDX_ERROR_FEATURE_NOT_PRESENT, as for images beyond the device's limits. Without
 * VK_KHR_acceleration_structure: SEDX_ERROR_FEATURE_NOT_PRESENT. */
SEDX_API sedx_result sedx_blas_build(sedx_context *ctx, const sedx_blas_info *infos, uint32_t count,
                                     sedx_acceleration_structure *outs, sedx_ticket *out_ticket);
/* Builds a TLAS over instance_count instances (checked as above; instance_count 0 is allowed:
 * an empty scene, whose instance_offset may be the buffer's end). The instances' BLAS must stay
 * alive while the TLAS is used. */
SEDX_API sedx_result sedx_tlas_build(sedx_context *ctx, const sedx_tlas_info *info, sedx_acceleration_structure *out,
                                     sedx_ticket *out_ticket);
/* Destroys the structure and drops its storage buffer once every submission made so far on any
 * queue has finished (the structure may be in flight in the caller's commands); empties *as.
 * NULL or {0}: no-op; a stale copy is logged and ignored. */
SEDX_API void sedx_acceleration_structure_release(sedx_context *ctx, sedx_acceleration_structure *as);
/* Live structures of ctx (0 for NULL). */
SEDX_API uint32_t sedx_acceleration_structure_count(sedx_context *ctx);

/* Compacts as[0..count) (built with VK_BUILD_ACCELERATION_STRUCTURE_ALLOW_COMPACTION_BIT_KHR):
 * the compacted sizes are queried on the GPU (one submission, waited for), each structure is
 * copied into a new one of that size (one more submission), and each original is released
 * behind the copy; as[i] then names the copy (new handle, address and size, same type and
 * primitive count). A BLAS's address changes: build TLAS over the compacted BLAS afterwards.
 * out_ticket as for builds (NULL: waits for the copies). Errors (logged; nothing changes): NULL
 * ctx / as, count 0 SEDX_ERROR_INVALID_ARGUMENT; a stale or empty structure
 * SEDX_ERROR_INVALID_HANDLE; one built without ALLOW_COMPACTION, or the same structure twice,
 * SEDX_ERROR_INVALID_ARGUMENT; without VK_KHR_acceleration_structure
 * SEDX_ERROR_FEATURE_NOT_PRESENT. */
SEDX_API sedx_result sedx_as_compact(sedx_context *ctx, sedx_acceleration_structure *as, uint32_t count,
                                     sedx_ticket *out_ticket);

/* Writes one TLAS instance: transform is 3x4 row-major (NULL = identity), custom_index the
 * 24-bit gl_InstanceCustomIndexEXT, mask the 8-bit cull mask, sbt_offset the 24-bit hit-group
 * offset, flags VkGeometryInstanceFlagsKHR (8 bits), blas a built BLAS (its address). Values
 * past their bit widths are cut to them. */
SEDX_API void sedx_as_instance(VkAccelerationStructureInstanceKHR *out, const float transform[12],
                               uint32_t custom_index, uint32_t mask, uint32_t sbt_offset, uint32_t flags,
                               const sedx_acceleration_structure *blas);

/* ------------------------------------------------------------------------------------------
 * Shader binding tables
 * ---------------------------------------------------------------------------------------- */
/* Groups in the pipeline's order: raygen_count raygen groups, then miss_count miss groups, then
 * hit_count hit groups, then callable_count callable groups (the order of
 * VkRayTracingPipelineCreateInfoKHR::pGroups). record_size bytes of shader record data follow
 * each handle (0: none); record_data, when not NULL, holds one record_size record per group in
 * that order. */
typedef struct sedx_sbt_info {
    VkPipeline pipeline;
    uint32_t raygen_count, miss_count, hit_count, callable_count;
    uint32_t record_size;
    const void *record_data;
    const char *name;
} sedx_sbt_info;

/* One GPU buffer (SEDX_BUFFER_USAGE_SHADER_BINDING_TABLE) holding the four regions, each
 * starting at a multiple of shaderGroupBaseAlignment, records at a stride of handle size +
 * record_size rounded up to shaderGroupHandleAlignment; the regions as vkCmdTraceRaysKHR takes
 * them (an absent kind: all zero; the raygen region's size equals its stride, as the
 * specification requires). */
typedef struct sedx_sbt {
    sedx_buffer buffer;
    VkStridedDeviceAddressRegionKHR raygen, miss, hit, callable;
} sedx_sbt;
/* Asks the pipeline for its group handles, lays them out, uploads them (waits). Errors (logged):
 * NULL ctx / info / out, VK_NULL_HANDLE pipeline, raygen_count != 1, record_data without
 * record_size SEDX_ERROR_INVALID_ARGUMENT; a stride past maxShaderGroupStride
 * SEDX_ERROR_INVALID_SIZE; without VK_KHR_ray_tracing_pipeline SEDX_ERROR_FEATURE_NOT_PRESENT.
 * The counts must not exceed the pipeline's groups: Vulkan has no query for a pipeline's group
 * count, so sedx cannot check it, and asking for more handles than the pipeline has is undefined
 * behaviour (the validation layer reports it; a driver may return garbage handles). *out is
 * written only on success. */
SEDX_API sedx_result sedx_sbt_create(sedx_context *ctx, const sedx_sbt_info *info, sedx_sbt *out);
/* Releases the table's buffer and empties *sbt. The buffer is destroyed once every submission
 * made so far on any queue has finished (the caller's traces read it, unseen by sedx), as for
 * sedx_acceleration_structure_release. NULL or {0}: no-op. */
SEDX_API void sedx_sbt_release(sedx_sbt *sbt);

#ifdef __cplusplus
}
#endif
#endif
