/*
 * sedx-view --raytrace: the scene's acceleration structures. One BLAS per mesh, all built in one
 * sedx_blas_build call from the shared vertex and index buffers at the mesh's offsets (positions
 * R32G32B32_SFLOAT at offset 0 of each 32-byte vertex, uint32 indices, opaque); one TLAS instance
 * per object (node instance) with the object's world transform, the one the raster pass draws
 * it with, and custom index = the raster pass's picking ID (object + 1; 0 is the background),
 * the instances uploaded into a GPU buffer with the acceleration-structure input usage.
 */
#include "view.h"

#include <stdlib.h>
#include <string.h>

#define CUSTOM_INDEX_MAX 0xFFFFFFu /* gl_InstanceCustomIndexEXT: 24 bits */

/* A refused build because of the model's size is the device's limit (memory, or more geometries,
 * triangles or instances than it allows: FEATURE_NOT_PRESENT); anything else is a failure. */
static int code_of(sedx_result r)
{
    return r == SEDX_ERROR_OUT_OF_DEVICE_MEMORY || r == SEDX_ERROR_OVER_BUDGET || r == SEDX_ERROR_INVALID_SIZE ||
                   r == SEDX_ERROR_FEATURE_NOT_PRESENT
               ? VIEW_EXIT_LIMITS
               : VIEW_EXIT_GPU;
}

static int build_blas(sedx_context *ctx, const view_scene *s, const view_gpu *g, view_rt_scene *rs, char *err,
                      size_t errlen)
{
    sedx_as_triangles *tri = calloc(s->mesh_count, sizeof *tri);
    sedx_blas_info *infos = calloc(s->mesh_count, sizeof *infos);
    rs->blas = calloc(s->mesh_count, sizeof *rs->blas);
    if (!tri || !infos || !rs->blas) {
        free(tri);
        free(infos);
        return view_fail(err, errlen, VIEW_EXIT_GPU, "out of host memory");
    }
    for (uint32_t m = 0; m < s->mesh_count; ++m) {
        const view_mesh *mesh = &s->meshes[m];
        tri[m].vertices = &g->vertices;
        tri[m].vertex_offset = (uint64_t)mesh->first_vertex * sizeof(view_vertex); /* pos: offset 0 */
        tri[m].vertex_stride = sizeof(view_vertex);
        tri[m].vertex_count = mesh->vertex_count;
        tri[m].vertex_format = VK_FORMAT_R32G32B32_SFLOAT;
        tri[m].indices = &g->indices;
        tri[m].index_offset = (uint64_t)mesh->first_index * sizeof(uint32_t);
        tri[m].index_count = mesh->index_count;
        tri[m].index_size = sizeof(uint32_t);
        tri[m].flags = SEDX_AS_GEOMETRY_OPAQUE;
        infos[m].geometries = &tri[m];
        infos[m].geometry_count = 1;
        infos[m].name = mesh->name;
    }
    sedx_result r = sedx_blas_build(ctx, infos, s->mesh_count, rs->blas, NULL);
    free(tri);
    free(infos);
    if (r != SEDX_SUCCESS)
        return view_fail(err, errlen, code_of(r), "building %u bottom-level acceleration structures: %s", s->mesh_count,
                     sedx_result_name(r));
    rs->blas_count = s->mesh_count;
    for (uint32_t m = 0; m < rs->blas_count; ++m) rs->bytes += rs->blas[m].size;
    return VIEW_OK;
}

/* The column-major world transform as the 3x4 row-major matrix of an instance. */
static void transform_3x4(const float model[16], float out[12])
{
    for (int r = 0; r < 3; ++r)
        for (int c = 0; c < 4; ++c) out[r * 4 + c] = model[c * 4 + r];
}

static int build_tlas(sedx_context *ctx, const view_scene *s, view_rt_scene *rs, char *err, size_t errlen)
{
    uint32_t n = s->object_count;
    VkAccelerationStructureInstanceKHR *inst = calloc(n ? n : 1, sizeof *inst); /* one zeroed for no objects */
    if (!inst) return view_fail(err, errlen, VIEW_EXIT_GPU, "out of host memory");
    for (uint32_t i = 0; i < n; ++i) {
        float t[12];
        transform_3x4(s->objects[i].model, t);
        sedx_as_instance(&inst[i], t, i + 1, 0xFF, 0, 0, &rs->blas[s->objects[i].mesh]);
    }
    sedx_result r = sedx_buffer_create_with_data(ctx, (uint64_t)(n ? n : 1) * sizeof *inst,
                                                 SEDX_BUFFER_USAGE_ACCELERATION_STRUCTURE_INPUT, SEDX_MEMORY_GPU,
                                                 "view instances", inst, &rs->instances);
    free(inst);
    if (r != SEDX_SUCCESS) return view_fail(err, errlen, code_of(r), "the instance buffer: %s", sedx_result_name(r));
    sedx_tlas_info ti = {0};
    ti.instances = &rs->instances;
    ti.instance_count = n;
    ti.name = "view tlas";
    r = sedx_tlas_build(ctx, &ti, &rs->tlas, NULL);
    if (r != SEDX_SUCCESS)
        return view_fail(err, errlen, code_of(r), "building the top-level acceleration structure over %u instances: %s", n,
                     sedx_result_name(r));
    rs->instance_count = n;
    rs->bytes += rs->tlas.size;
    return VIEW_OK;
}

int view_rt_scene_build(sedx_context *ctx, const view_scene *s, const view_gpu *g, view_rt_scene *out, char *err,
                        size_t errlen)
{
    memset(out, 0, sizeof *out);
    sedx_raytracing_properties p;
    sedx_result r = sedx_raytracing_get_properties(ctx, &p);
    if (r == SEDX_ERROR_FEATURE_NOT_PRESENT || (r == SEDX_SUCCESS && !p.acceleration_structure))
        return view_fail(err, errlen, VIEW_EXIT_NO_RAYTRACING, "ray tracing is not available on this device "
                     "(no VK_KHR_acceleration_structure)");
    if (r != SEDX_SUCCESS) return view_fail(err, errlen, VIEW_EXIT_GPU, "ray-tracing properties: %s", sedx_result_name(r));
    if ((uint64_t)s->object_count > CUSTOM_INDEX_MAX - 1 || s->object_count > p.max_instance_count)
        return view_fail(err, errlen, VIEW_EXIT_LIMITS, "%u objects: more TLAS instances than the device (%llu) or a "
                     "24-bit custom index allows", s->object_count, (unsigned long long)p.max_instance_count);
    for (uint32_t m = 0; m < s->mesh_count; ++m)
        if (s->meshes[m].index_count / 3 > p.max_primitive_count)
            return view_fail(err, errlen, VIEW_EXIT_LIMITS, "mesh '%s': %u triangles, more than a BLAS holds (%llu)",
                         s->meshes[m].name, s->meshes[m].index_count / 3, (unsigned long long)p.max_primitive_count);
    int rc = build_blas(ctx, s, g, out, err, errlen);
    return rc == VIEW_OK ? build_tlas(ctx, s, out, err, errlen) : rc;
}

void view_rt_scene_free(sedx_context *ctx, view_rt_scene *rs)
{
    sedx_acceleration_structure_release(ctx, &rs->tlas);
    for (uint32_t m = 0; rs->blas && m < rs->blas_count; ++m) sedx_acceleration_structure_release(ctx, &rs->blas[m]);
    free(rs->blas);
    sedx_buffer_release(&rs->instances);
    memset(rs, 0, sizeof *rs);
}
