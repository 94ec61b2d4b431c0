/*
 * sedx-view --raytrace: the ray-tracing pipeline and its shader binding table. Three stages in
 * three groups, in the order sedx_sbt_create expects (raygen, miss, hit): raytrace.rgen (a
 * general group), raytrace.rmiss (general), raytrace.rchit (a triangles hit group with its
 * closest-hit shader), recursion depth 1. Set 0: binding 0 the TLAS, 1 the RGBA8 colour storage
 * image, 2 the R32_UINT object-ID storage image; push constants: the device address of the trace
 * parameters. The extension's entry points come from vkGetDeviceProcAddr (the loader does not
 * export them); the group handles are asked for by sedx_sbt_create.
 */
#include "view.h"

#include "raytrace_rchit_spv.h"
#include "raytrace_rgen_spv.h"
#include "raytrace_rmiss_spv.h"

#include <string.h>

static VkResult create_layouts(VkDevice dev, view_rt_pipeline *p)
{
    VkDescriptorSetLayoutBinding b[3] = {
        {0, VK_DESCRIPTOR_TYPE_ACCELERATION_STRUCTURE_KHR, 1, VK_SHADER_STAGE_RAYGEN_BIT_KHR, NULL},
        {1, VK_DESCRIPTOR_TYPE_STORAGE_IMAGE, 1, VK_SHADER_STAGE_RAYGEN_BIT_KHR, NULL},
        {2, VK_DESCRIPTOR_TYPE_STORAGE_IMAGE, 1, VK_SHADER_STAGE_RAYGEN_BIT_KHR, NULL}};
    VkDescriptorSetLayoutCreateInfo li = {VK_STRUCTURE_TYPE_DESCRIPTOR_SET_LAYOUT_CREATE_INFO};
    li.bindingCount = 3;
    li.pBindings = b;
    VkResult vr = vkCreateDescriptorSetLayout(dev, &li, NULL, &p->set_layout);
    if (vr != VK_SUCCESS) return vr;
    VkPushConstantRange pr = {VK_SHADER_STAGE_RAYGEN_BIT_KHR | VK_SHADER_STAGE_CLOSEST_HIT_BIT_KHR, 0,
                              sizeof(VkDeviceAddress)};
    VkPipelineLayoutCreateInfo pl = {VK_STRUCTURE_TYPE_PIPELINE_LAYOUT_CREATE_INFO};
    pl.setLayoutCount = 1;
    pl.pSetLayouts = &p->set_layout;
    pl.pushConstantRangeCount = 1;
    pl.pPushConstantRanges = &pr;
    return vkCreatePipelineLayout(dev, &pl, NULL, &p->layout);
}

static VkResult shader_module(VkDevice dev, const uint32_t *code, size_t bytes, VkShaderModule *out)
{
    VkShaderModuleCreateInfo mi = {VK_STRUCTURE_TYPE_SHADER_MODULE_CREATE_INFO};
    mi.codeSize = bytes;
    mi.pCode = code;
    return vkCreateShaderModule(dev, &mi, NULL, out);
}

static VkResult create_pipeline(VkDevice dev, PFN_vkCreateRayTracingPipelinesKHR create, view_rt_pipeline *p)
{
    VkShaderModule mods[3] = {VK_NULL_HANDLE, VK_NULL_HANDLE, VK_NULL_HANDLE};
    VkResult vr = shader_module(dev, sedx__spv_raytrace_rgen, sizeof sedx__spv_raytrace_rgen, &mods[0]);
    if (vr == VK_SUCCESS) vr = shader_module(dev, sedx__spv_raytrace_rmiss, sizeof sedx__spv_raytrace_rmiss, &mods[1]);
    if (vr == VK_SUCCESS) vr = shader_module(dev, sedx__spv_raytrace_rchit, sizeof sedx__spv_raytrace_rchit, &mods[2]);
    const VkShaderStageFlagBits kinds[3] = {VK_SHADER_STAGE_RAYGEN_BIT_KHR, VK_SHADER_STAGE_MISS_BIT_KHR,
                                            VK_SHADER_STAGE_CLOSEST_HIT_BIT_KHR};
    VkPipelineShaderStageCreateInfo st[3];
    VkRayTracingShaderGroupCreateInfoKHR gr[3];
    for (uint32_t i = 0; i < 3; ++i) {
        st[i] = (VkPipelineShaderStageCreateInfo){VK_STRUCTURE_TYPE_PIPELINE_SHADER_STAGE_CREATE_INFO};
        st[i].stage = kinds[i];
        st[i].module = mods[i];
        st[i].pName = "main";
        gr[i] = (VkRayTracingShaderGroupCreateInfoKHR){VK_STRUCTURE_TYPE_RAY_TRACING_SHADER_GROUP_CREATE_INFO_KHR};
        gr[i].type = i < 2 ? VK_RAY_TRACING_SHADER_GROUP_TYPE_GENERAL_KHR
                           : VK_RAY_TRACING_SHADER_GROUP_TYPE_TRIANGLES_HIT_GROUP_KHR;
        gr[i].generalShader = i < 2 ? i : VK_SHADER_UNUSED_KHR;
        gr[i].closestHitShader = i == 2 ? i : VK_SHADER_UNUSED_KHR;
        gr[i].anyHitShader = VK_SHADER_UNUSED_KHR;
        gr[i].intersectionShader = VK_SHADER_UNUSED_KHR;
    }
    VkRayTracingPipelineCreateInfoKHR pi = {VK_STRUCTURE_TYPE_RAY_TRACING_PIPELINE_CREATE_INFO_KHR};
    pi.stageCount = 3;
    pi.pStages = st;
    pi.groupCount = 3;
    pi.pGroups = gr;
    pi.maxPipelineRayRecursionDepth = 1; /* primary rays only */
    pi.layout = p->layout;
    if (vr == VK_SUCCESS) vr = create(dev, VK_NULL_HANDLE, VK_NULL_HANDLE, 1, &pi, NULL, &p->pipe);
    for (uint32_t i = 0; i < 3; ++i)
        if (mods[i]) vkDestroyShaderModule(dev, mods[i], NULL);
    return vr;
}

int view_rt_pipeline_create(sedx_context *ctx, view_rt_pipeline *out, char *err, size_t errlen)
{
    memset(out, 0, sizeof *out);
    VkDevice dev = sedx_context_device(ctx);
    PFN_vkCreateRayTracingPipelinesKHR create =
        (PFN_vkCreateRayTracingPipelinesKHR)vkGetDeviceProcAddr(dev, "vkCreateRayTracingPipelinesKHR");
    out->trace_rays = (PFN_vkCmdTraceRaysKHR)vkGetDeviceProcAddr(dev, "vkCmdTraceRaysKHR");
    if (!create || !out->trace_rays)
        return view_fail(err, errlen, VIEW_EXIT_NO_RAYTRACING, "ray tracing is not available on this device "
                     "(vkGetDeviceProcAddr has no VK_KHR_ray_tracing_pipeline entry points)");
    VkResult vr = create_layouts(dev, out);
    if (vr != VK_SUCCESS) return view_fail(err, errlen, VIEW_EXIT_GPU, "ray-tracing pipeline layout: VkResult %d", vr);
    vr = create_pipeline(dev, create, out);
    if (vr != VK_SUCCESS) return view_fail(err, errlen, VIEW_EXIT_GPU, "vkCreateRayTracingPipelinesKHR: VkResult %d", vr);
    sedx_sbt_info si = {0};
    si.pipeline = out->pipe;
    si.raygen_count = si.miss_count = si.hit_count = 1;
    si.name = "view sbt";
    sedx_result r = sedx_sbt_create(ctx, &si, &out->sbt);
    if (r != SEDX_SUCCESS) return view_fail(err, errlen, VIEW_EXIT_GPU, "shader binding table: %s", sedx_result_name(r));
    return VIEW_OK;
}

void view_rt_pipeline_destroy(sedx_context *ctx, view_rt_pipeline *p)
{
    VkDevice dev = sedx_context_device(ctx);
    sedx_context_wait_idle(ctx); /* plain Vulkan objects: not destroyed behind the GPU */
    sedx_sbt_release(&p->sbt);
    if (p->pipe) vkDestroyPipeline(dev, p->pipe, NULL);
    if (p->layout) vkDestroyPipelineLayout(dev, p->layout, NULL);
    if (p->set_layout) vkDestroyDescriptorSetLayout(dev, p->set_layout, NULL);
    memset(p, 0, sizeof *p);
}
