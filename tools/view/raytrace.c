/*
 * sedx-view --raytrace: the traced image. The scene's acceleration structures (raytrace_as.c)
 * and the ray-tracing pipeline (raytrace_pipeline.c) are made once; a trace takes a raster
 * camera, inverts its view and projection matrices into the trace parameters (a small GPU
 * buffer the shaders find by device address), and traces one primary ray per pixel into two
 * sedx storage images: the colour (RGBA8, sRGB-encoded by the shader) and the object ID
 * (R32_UINT, the raster target's values: 0 background, object + 1). Both go from UNDEFINED to
 * GENERAL for the trace and to TRANSFER_SRC_OPTIMAL after it in the trace's own command buffer
 * (sedx is told with sedx_image_set_layout), and are read back with sedx_download_image. The
 * trace's GPU time comes from two timestamps around vkCmdTraceRaysKHR where the main queue has
 * timestamps, else from the submission to its end.
 */
#include "view.h"
#include "view_math.h"

#include <stdlib.h>
#include <string.h>

/* The shaders' Params block (std430). */
typedef struct rt_params {
    float inv_view[16], inv_proj[16];
    float light_dir[4];
    float tmin, tmax;
    uint32_t pad[2];
    VkDeviceAddress vertices, indices, objects;
} rt_params;
_Static_assert(sizeof(rt_params) == 184, "rt_params must match the shaders' Params block");

struct view_tracer {
    sedx_context *ctx;
    VkDevice dev;
    const view_options *o;
    const view_gpu *g;
    view_rt_scene scene;
    view_rt_pipeline pipe;
    sedx_image color, id;
    sedx_buffer objects;     /* uvec2 per object: its mesh's first index and first vertex */
    VkDescriptorPool pool;
    VkDescriptorSet set;
    VkQueryPool timer;       /* two timestamps; VK_NULL_HANDLE: timed on the CPU */
    uint64_t timer_mask;
    double tick_ns;
};

static double now_ms(void) { return (double)sedx_time_ns() * 1e-6; }

static sedx_result storage_image(sedx_context *ctx, VkFormat f, const char *name, uint32_t w, uint32_t h,
                                 sedx_image *out)
{
    sedx_image_info ii = {0};
    ii.format = f;
    ii.width = w;
    ii.height = h;
    ii.usage = VK_IMAGE_USAGE_STORAGE_BIT; /* TRANSFER_SRC for the readback is always added */
    ii.flags = SEDX_IMAGE_EXCLUSIVE;       /* traced and read back on the main queue only */
    ii.name = name;
    return sedx_image_create(ctx, &ii, out);
}

static sedx_result object_table(sedx_context *ctx, const view_scene *s, sedx_buffer *out)
{
    uint32_t n = s->object_count ? s->object_count : 1;
    uint32_t *t = calloc(n, 2 * sizeof *t);
    if (!t) return SEDX_ERROR_OUT_OF_HOST_MEMORY;
    for (uint32_t i = 0; i < s->object_count; ++i) {
        const view_mesh *m = &s->meshes[s->objects[i].mesh];
        t[2 * i] = m->first_index;
        t[2 * i + 1] = m->first_vertex;
    }
    sedx_result r = sedx_buffer_create_with_data(ctx, (uint64_t)n * 2 * sizeof *t, SEDX_BUFFER_USAGE_STORAGE,
                                                 SEDX_MEMORY_GPU, "view trace objects", t, out);
    free(t);
    return r;
}

static VkResult descriptors(view_tracer *t)
{
    VkDescriptorPoolSize ps[2] = {{VK_DESCRIPTOR_TYPE_ACCELERATION_STRUCTURE_KHR, 1},
                                  {VK_DESCRIPTOR_TYPE_STORAGE_IMAGE, 2}};
    VkDescriptorPoolCreateInfo pi = {VK_STRUCTURE_TYPE_DESCRIPTOR_POOL_CREATE_INFO};
    pi.maxSets = 1;
    pi.poolSizeCount = 2;
    pi.pPoolSizes = ps;
    VkResult vr = vkCreateDescriptorPool(t->dev, &pi, NULL, &t->pool);
    if (vr != VK_SUCCESS) return vr;
    VkDescriptorSetAllocateInfo ai = {VK_STRUCTURE_TYPE_DESCRIPTOR_SET_ALLOCATE_INFO};
    ai.descriptorPool = t->pool;
    ai.descriptorSetCount = 1;
    ai.pSetLayouts = &t->pipe.set_layout;
    vr = vkAllocateDescriptorSets(t->dev, &ai, &t->set);
    if (vr != VK_SUCCESS) return vr;
    VkWriteDescriptorSetAccelerationStructureKHR as = {VK_STRUCTURE_TYPE_WRITE_DESCRIPTOR_SET_ACCELERATION_STRUCTURE_KHR};
    as.accelerationStructureCount = 1;
    as.pAccelerationStructures = &t->scene.tlas.as;
    VkDescriptorImageInfo img[2] = {{VK_NULL_HANDLE, t->color.view, VK_IMAGE_LAYOUT_GENERAL},
                                    {VK_NULL_HANDLE, t->id.view, VK_IMAGE_LAYOUT_GENERAL}};
    VkWriteDescriptorSet w[3];
    for (uint32_t i = 0; i < 3; ++i) {
        w[i] = (VkWriteDescriptorSet){VK_STRUCTURE_TYPE_WRITE_DESCRIPTOR_SET};
        w[i].dstSet = t->set;
        w[i].dstBinding = i;
        w[i].descriptorCount = 1;
        w[i].descriptorType = i == 0 ? VK_DESCRIPTOR_TYPE_ACCELERATION_STRUCTURE_KHR : VK_DESCRIPTOR_TYPE_STORAGE_IMAGE;
        if (i > 0) w[i].pImageInfo = &img[i - 1];
    }
    w[0].pNext = &as;
    vkUpdateDescriptorSets(t->dev, 3, w, 0, NULL);
    return VK_SUCCESS;
}

/* Two timestamps where the main queue's family has them (else t->timer stays VK_NULL_HANDLE). */
static VkResult timer(view_tracer *t)
{
    uint32_t family = 0, count = 0;
    if (!sedx_context_queue(t->ctx, SEDX_QUEUE_GRAPHICS, &family)) return VK_ERROR_INITIALIZATION_FAILED;
    VkPhysicalDevice pd = sedx_context_physical_device(t->ctx);
    vkGetPhysicalDeviceQueueFamilyProperties(pd, &count, NULL);
    VkQueueFamilyProperties *qf = calloc(count ? count : 1, sizeof *qf);
    if (!qf) return VK_ERROR_OUT_OF_HOST_MEMORY;
    vkGetPhysicalDeviceQueueFamilyProperties(pd, &count, qf);
    uint32_t bits = family < count ? qf[family].timestampValidBits : 0;
    free(qf);
    t->tick_ns = sedx_context_properties(t->ctx)->limits.timestampPeriod;
    if (!bits || !(t->tick_ns > 0)) return VK_SUCCESS;
    t->timer_mask = bits >= 64 ? UINT64_MAX : (1ull << bits) - 1;
    VkQueryPoolCreateInfo qi = {VK_STRUCTURE_TYPE_QUERY_POOL_CREATE_INFO};
    qi.queryType = VK_QUERY_TYPE_TIMESTAMP;
    qi.queryCount = 2;
    return vkCreateQueryPool(t->dev, &qi, NULL, &t->timer);
}

int view_tracer_create(sedx_context *ctx, const view_options *o, const view_scene *s, const view_gpu *g,
                       view_tracer **out, char *err, size_t errlen)
{
    const uint32_t need = SEDX_FEATURE_ACCELERATION_STRUCTURE | SEDX_FEATURE_RAY_TRACING_PIPELINE;
    if ((sedx_context_features(ctx) & need) != need)
        return view_fail(err, errlen, VIEW_EXIT_NO_RAYTRACING, "ray tracing is not available on this device");
    if (!(sedx_context_features(ctx) & SEDX_FEATURE_BUFFER_DEVICE_ADDRESS))
        return view_fail(err, errlen, VIEW_EXIT_GPU, "the device lacks buffer device address");
    view_tracer *t = calloc(1, sizeof *t);
    if (!t) return view_fail(err, errlen, VIEW_EXIT_GPU, "out of host memory");
    *out = t;
    t->ctx = ctx;
    t->dev = sedx_context_device(ctx);
    t->o = o;
    t->g = g;
    int rc = view_rt_scene_build(ctx, s, g, &t->scene, err, errlen);
    if (rc == VIEW_OK) rc = view_rt_pipeline_create(ctx, &t->pipe, err, errlen);
    if (rc != VIEW_OK) return rc;
    sedx_result r = storage_image(ctx, VK_FORMAT_R8G8B8A8_UNORM, "view traced color", o->width, o->height, &t->color);
    if (r == SEDX_SUCCESS) r = storage_image(ctx, VK_FORMAT_R32_UINT, "view traced id", o->width, o->height, &t->id);
    if (r == SEDX_SUCCESS) r = object_table(ctx, s, &t->objects);
    if (r != SEDX_SUCCESS) return view_fail(err, errlen, VIEW_EXIT_GPU, "trace targets: %s", sedx_result_name(r));
    VkResult vr = descriptors(t);
    if (vr == VK_SUCCESS) vr = timer(t);
    if (vr != VK_SUCCESS) return view_fail(err, errlen, VIEW_EXIT_GPU, "trace descriptors or timer: VkResult %d", vr);
    return VIEW_OK;
}

/* ---- one trace ----------------------------------------------------------------------------- */

static sedx_result params_buffer(const view_tracer *t, const view_camera *cam, sedx_buffer *out)
{
    rt_params p;
    memset(&p, 0, sizeof p);
    if (!vm_inverse(cam->view, p.inv_view) || !vm_inverse(cam->proj, p.inv_proj)) return SEDX_ERROR_INVALID_ARGUMENT;
    memcpy(p.light_dir, cam->light_dir, sizeof cam->light_dir);
    p.tmin = cam->znear * 1e-3f; /* just past the eye; every object lies beyond the near plane */
    p.tmax = 1e30f;
    p.vertices = sedx_buffer_address(&t->g->vertices);
    p.indices = sedx_buffer_address(&t->g->indices);
    p.objects = sedx_buffer_address(&t->objects);
    if (!p.vertices || !p.indices || !p.objects) return SEDX_ERROR_FEATURE_NOT_PRESENT;
    return sedx_buffer_create_with_data(t->ctx, sizeof p, SEDX_BUFFER_USAGE_STORAGE, SEDX_MEMORY_GPU,
                                        "view trace params", &p, out);
}

static void record(const view_tracer *t, VkCommandBuffer cb, VkDeviceAddress params)
{
    const VkPipelineStageFlags rt = VK_PIPELINE_STAGE_RAY_TRACING_SHADER_BIT_KHR;
    const VkImage imgs[2] = {t->color.image, t->id.image};
    if (t->timer) vkCmdResetQueryPool(cb, t->timer, 0, 2);
    for (int i = 0; i < 2; ++i) /* earlier contents are not needed */
        view_image_barrier(cb, imgs[i], VK_IMAGE_ASPECT_COLOR_BIT, VK_IMAGE_LAYOUT_UNDEFINED, VK_IMAGE_LAYOUT_GENERAL,
                           VK_PIPELINE_STAGE_TOP_OF_PIPE_BIT, 0, rt, VK_ACCESS_SHADER_WRITE_BIT);
    vkCmdBindPipeline(cb, VK_PIPELINE_BIND_POINT_RAY_TRACING_KHR, t->pipe.pipe);
    vkCmdBindDescriptorSets(cb, VK_PIPELINE_BIND_POINT_RAY_TRACING_KHR, t->pipe.layout, 0, 1, &t->set, 0, NULL);
    vkCmdPushConstants(cb, t->pipe.layout, VK_SHADER_STAGE_RAYGEN_BIT_KHR | VK_SHADER_STAGE_CLOSEST_HIT_BIT_KHR, 0,
                       sizeof params, &params);
    if (t->timer) vkCmdWriteTimestamp(cb, VK_PIPELINE_STAGE_TOP_OF_PIPE_BIT, t->timer, 0);
    const sedx_sbt *sbt = &t->pipe.sbt;
    t->pipe.trace_rays(cb, &sbt->raygen, &sbt->miss, &sbt->hit, &sbt->callable, t->o->width, t->o->height, 1);
    if (t->timer) vkCmdWriteTimestamp(cb, VK_PIPELINE_STAGE_BOTTOM_OF_PIPE_BIT, t->timer, 1);
    for (int i = 0; i < 2; ++i)
        view_image_barrier(cb, imgs[i], VK_IMAGE_ASPECT_COLOR_BIT, VK_IMAGE_LAYOUT_GENERAL,
                           VK_IMAGE_LAYOUT_TRANSFER_SRC_OPTIMAL, rt, VK_ACCESS_SHADER_WRITE_BIT,
                           VK_PIPELINE_STAGE_TRANSFER_BIT, VK_ACCESS_TRANSFER_READ_BIT);
}

/* Everything the submission with tk reads or writes, for sedx's destruction and readback order. */
static sedx_result mark_used(const view_tracer *t, const sedx_buffer *params, sedx_ticket tk)
{
    const sedx_buffer *bufs[] = {params, &t->objects, &t->g->vertices, &t->g->indices, &t->pipe.sbt.buffer};
    sedx_result r = sedx_image_set_layout(&t->color, VK_IMAGE_LAYOUT_TRANSFER_SRC_OPTIMAL);
    if (r == SEDX_SUCCESS) r = sedx_image_set_layout(&t->id, VK_IMAGE_LAYOUT_TRANSFER_SRC_OPTIMAL);
    if (r == SEDX_SUCCESS) r = sedx_image_mark_used(&t->color, tk);
    if (r == SEDX_SUCCESS) r = sedx_image_mark_used(&t->id, tk);
    for (size_t i = 0; r == SEDX_SUCCESS && i < sizeof bufs / sizeof bufs[0]; ++i) r = sedx_buffer_mark_used(bufs[i], tk);
    return r;
}

static int trace_time(const view_tracer *t, double cpu_ms, view_trace_stats *st, char *err, size_t errlen)
{
    st->trace_ms = cpu_ms;
    st->gpu_timed = false;
    if (!t->timer) return VIEW_OK;
    uint64_t ts[2];
    VkResult vr = vkGetQueryPoolResults(t->dev, t->timer, 0, 2, sizeof ts, ts, sizeof ts[0],
                                        VK_QUERY_RESULT_64_BIT | VK_QUERY_RESULT_WAIT_BIT);
    if (vr != VK_SUCCESS) return view_fail(err, errlen, VIEW_EXIT_GPU, "trace timestamps: VkResult %d", vr);
    st->trace_ms = (double)((ts[1] - ts[0]) & t->timer_mask) * t->tick_ns * 1e-6;
    st->gpu_timed = true;
    return VIEW_OK;
}

int view_tracer_trace(view_tracer *t, const view_camera *cam, uint8_t *rgba, uint32_t *ids, view_trace_stats *st,
                      char *err, size_t errlen)
{
    sedx_buffer params = {0};
    sedx_result r = params_buffer(t, cam, &params);
    if (r != SEDX_SUCCESS) return view_fail(err, errlen, VIEW_EXIT_GPU, "trace parameters: %s", sedx_result_name(r));
    sedx_cmd cmd;
    r = sedx_cmd_begin(t->ctx, SEDX_QUEUE_GRAPHICS, &cmd);
    if (r != SEDX_SUCCESS) {
        sedx_buffer_release(&params);
        return view_fail(err, errlen, VIEW_EXIT_GPU, "trace command buffer: %s", sedx_result_name(r));
    }
    record(t, cmd.cmd, sedx_buffer_address(&params));
    double t0 = now_ms();
    sedx_ticket tk;
    r = sedx_cmd_submit(t->ctx, &cmd, NULL, &tk);
    if (r != SEDX_SUCCESS) sedx_cmd_discard(t->ctx, &cmd); /* (a no-op when Vulkan consumed it) */
    if (r == SEDX_SUCCESS) r = mark_used(t, &params, tk);
    if (r == SEDX_SUCCESS) r = sedx_ticket_wait(t->ctx, tk, UINT64_MAX);
    double cpu_ms = now_ms() - t0;
    sedx_buffer_release(&params);
    if (r != SEDX_SUCCESS) return view_fail(err, errlen, VIEW_EXIT_GPU, "the trace: %s", sedx_result_name(r));
    int rc = trace_time(t, cpu_ms, st, err, errlen);
    if (rc != VIEW_OK) return rc;
    sedx_image_region all = {0};
    r = sedx_download_image(t->ctx, &t->color, &all, rgba);
    if (r == SEDX_SUCCESS) r = sedx_download_image(t->ctx, &t->id, &all, ids);
    if (r != SEDX_SUCCESS) return view_fail(err, errlen, VIEW_EXIT_GPU, "reading the traced image: %s", sedx_result_name(r));
    st->blas_count = t->scene.blas_count;
    st->instance_count = t->scene.instance_count;
    st->as_bytes = t->scene.bytes;
    st->sbt_bytes = t->pipe.sbt.buffer.size;
    return VIEW_OK;
}

void view_tracer_destroy(view_tracer *t)
{
    if (!t) return;
    sedx_context_wait_idle(t->ctx); /* the pool, set and query pool are plain Vulkan objects */
    if (t->timer) vkDestroyQueryPool(t->dev, t->timer, NULL);
    if (t->pool) vkDestroyDescriptorPool(t->dev, t->pool, NULL);
    sedx_buffer_release(&t->objects);
    sedx_image_release(&t->color);
    sedx_image_release(&t->id);
    view_rt_pipeline_destroy(t->ctx, &t->pipe);
    view_rt_scene_free(t->ctx, &t->scene);
    free(t);
}
