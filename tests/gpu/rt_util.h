/* Shared by the ray-tracing GPU tests (raytracing.c, raytracing_threads.c): the probe pipeline
 * (tests/shaders/rt_probe.*), the scene's input buffers, the CPU's answer for a probe ray, and a
 * trace of the probes. */
#ifndef SEDX_TEST_RT_UTIL_H
#define SEDX_TEST_RT_UTIL_H

#include "test_util.h"

#include "rt_probe_rchit_spv.h"
#include "rt_probe_rgen_spv.h"
#include "rt_probe_rmiss_spv.h"

#include <math.h>
#include <stdlib.h>
#include <string.h>

#define RT_FN static __attribute__((unused))
#define MISS 0xFFFFFFFFu

RT_FN bool device_has(sedx_context *ctx, const char *ext)
{
    uint32_t n = 0;
    VkPhysicalDevice pd = sedx_context_physical_device(ctx);
    vkEnumerateDeviceExtensionProperties(pd, NULL, &n, NULL);
    VkExtensionProperties *e = calloc(n ? n : 1, sizeof *e);
    vkEnumerateDeviceExtensionProperties(pd, NULL, &n, e);
    bool found = false;
    for (uint32_t i = 0; i < n && !found; ++i) found = strcmp(e[i].extensionName, ext) == 0;
    free(e);
    return found;
}

/* Whether ctx traces; with SEDX_REQUIRE_RAY_TRACING set (scripts/with-lavapipe-rt.sh, the GPU
 * machine's runs) a context without it fails the test instead of skipping it. */
RT_FN bool has_rt(sedx_context *ctx)
{
    const uint32_t both = SEDX_FEATURE_ACCELERATION_STRUCTURE | SEDX_FEATURE_RAY_TRACING_PIPELINE;
    bool yes = (sedx_context_features(ctx) & both) == both;
    const char *req = getenv("SEDX_REQUIRE_RAY_TRACING");
    if (!yes && req && *req) fprintf(stderr, "SEDX_REQUIRE_RAY_TRACING is set, but '%s' has no ray tracing\n",
                                     sedx_context_properties(ctx)->deviceName);
    assert_false(!yes && req && *req);
    return yes;
}

/* A validated context that traces; without ray tracing the calling test is reported SKIPPED
 * (failed instead under SEDX_REQUIRE_RAY_TRACING, see has_rt). */
RT_FN sedx_context *rt_context(void)
{
    sedx_context *ctx = tu_context(false);
    if (!has_rt(ctx)) {
        tu_context_destroy(ctx);
        skip();
    }
    return ctx;
}

/* ---- the scene ------------------------------------------------------------------------- */
typedef struct scene {
    sedx_buffer verts, idx, tri, instances, probes, results;
    sedx_acceleration_structure blas[2], tlas;
} scene;

/* vertex i of the quad at a 24-byte stride after 48 bytes of garbage; the rest is garbage */
RT_FN void quad_vertices(uint8_t *v, uint64_t *rng)
{
    tu_fill_random(v, 48 + 4 * 24, rng);
    static const float pos[4][3] = {{0, 0, 0}, {1, 0, 0}, {1, 1, 0}, {0, 1, 0}};
    for (int i = 0; i < 4; ++i) memcpy(v + 48 + i * 24, pos[i], sizeof pos[i]);
}

RT_FN void make_inputs(sedx_context *ctx, scene *s, uint64_t *rng)
{
    const sedx_buffer_usage_flags in = SEDX_BUFFER_USAGE_ACCELERATION_STRUCTURE_INPUT;
    uint8_t v[48 + 4 * 24];
    quad_vertices(v, rng);
    assert_int_equal(sedx_buffer_create_with_data(ctx, sizeof v, in, SEDX_MEMORY_GPU, "rt quad vertices", v, &s->verts),
                     SEDX_SUCCESS);
    uint16_t idx[3 + 6] = {0xBEEF, 0xBEEF, 0xBEEF, 0, 1, 2, 0, 2, 3}; /* from byte 6 */
    assert_int_equal(sedx_buffer_create_with_data(ctx, sizeof idx, in | SEDX_BUFFER_USAGE_INDEX, SEDX_MEMORY_CPU,
                                                  "rt quad indices", idx, &s->idx),
                     SEDX_SUCCESS);
    /* the triangle: created as garbage, then its real vertices uploaded and left in the open
     * batch (no flush), so that the build must come after that upload: on a GPU with a transfer
     * queue, sedx_blas_build waits for it on the GPU; built too early, the probes see garbage */
    float garbage[3][3];
    for (int i = 0; i < 9; ++i) garbage[i / 3][i % 3] = 1.0e6f + (float)(tu_rand(rng) % 1000u);
    assert_int_equal(sedx_buffer_create_with_data(ctx, sizeof garbage, in, SEDX_MEMORY_GPU, "rt triangle", garbage,
                                                  &s->tri),
                     SEDX_SUCCESS);
    const float tri[3][3] = {{0, 0, 0}, {1, 0, 0}, {0, 1, 0}};
    assert_int_equal(sedx_upload(ctx, &s->tri, 0, sizeof tri, tri), SEDX_SUCCESS);
}

RT_FN bool near_line(float d) { return fabsf(d) < 2e-3f; }

/* The CPU's answer for a ray down from (x, y): what rt_probe.rchit / .rmiss write. */
RT_FN uint32_t expect(float x, float y, bool *ambiguous)
{
    *ambiguous = near_line(y) || near_line(y - 1.0f);
    for (int k = 0; k < 3; ++k) {
        float lx = x - 2.0f * (float)k;
        *ambiguous = *ambiguous || near_line(lx) || near_line(lx - 1.0f);
        if (lx <= 0.0f || lx >= 1.0f || y <= 0.0f || y >= 1.0f) continue;
        if (k < 2) {
            *ambiguous = *ambiguous || near_line(lx - y);
            uint32_t prim = y < lx ? 0u : 1u; /* triangle (0,1,2) below the diagonal, (0,2,3) above */
            return (k == 0 ? 7000u + 100u : 9000u + 200u) + prim;
        }
        *ambiguous = *ambiguous || near_line(lx + y - 1.0f);
        return lx + y < 1.0f ? 5000u + 100u : MISS;
    }
    return MISS;
}

/* ---- the pipeline ----------------------------------------------------------------------- */
typedef struct rt_pipe {
    VkShaderModule mods[3];
    VkPipelineLayout layout;
    VkPipeline pipeline;
    PFN_vkCmdTraceRaysKHR trace;
} rt_pipe;

RT_FN VkShaderModule module(VkDevice dev, const uint32_t *code, size_t size)
{
    VkShaderModuleCreateInfo ci = {VK_STRUCTURE_TYPE_SHADER_MODULE_CREATE_INFO};
    ci.codeSize = size;
    ci.pCode = code;
    VkShaderModule m = VK_NULL_HANDLE;
    assert_int_equal(vkCreateShaderModule(dev, &ci, NULL, &m), VK_SUCCESS);
    return m;
}

/* groups: 0 raygen, 1 miss, 2 and 3 hit groups (the same closest-hit shader, two records) */
RT_FN void make_pipeline(sedx_context *ctx, rt_pipe *p)
{
    VkDevice dev = sedx_context_device(ctx);
    p->mods[0] = module(dev, sedx__spv_rt_probe_rgen, sizeof sedx__spv_rt_probe_rgen);
    p->mods[1] = module(dev, sedx__spv_rt_probe_rmiss, sizeof sedx__spv_rt_probe_rmiss);
    p->mods[2] = module(dev, sedx__spv_rt_probe_rchit, sizeof sedx__spv_rt_probe_rchit);
    VkPipelineShaderStageCreateInfo st[3];
    const VkShaderStageFlagBits stages[3] = {VK_SHADER_STAGE_RAYGEN_BIT_KHR, VK_SHADER_STAGE_MISS_BIT_KHR,
                                             VK_SHADER_STAGE_CLOSEST_HIT_BIT_KHR};
    for (int i = 0; i < 3; ++i)
        st[i] = (VkPipelineShaderStageCreateInfo){VK_STRUCTURE_TYPE_PIPELINE_SHADER_STAGE_CREATE_INFO, NULL, 0,
                                                  stages[i], p->mods[i], "main", NULL};
    VkRayTracingShaderGroupCreateInfoKHR g[4];
    for (int i = 0; i < 4; ++i) {
        g[i] = (VkRayTracingShaderGroupCreateInfoKHR){VK_STRUCTURE_TYPE_RAY_TRACING_SHADER_GROUP_CREATE_INFO_KHR};
        g[i].generalShader = g[i].closestHitShader = g[i].anyHitShader = g[i].intersectionShader = VK_SHADER_UNUSED_KHR;
    }
    g[0].type = g[1].type = VK_RAY_TRACING_SHADER_GROUP_TYPE_GENERAL_KHR;
    g[0].generalShader = 0;
    g[1].generalShader = 1;
    g[2].type = g[3].type = VK_RAY_TRACING_SHADER_GROUP_TYPE_TRIANGLES_HIT_GROUP_KHR;
    g[2].closestHitShader = g[3].closestHitShader = 2;
    VkPushConstantRange pcr = {VK_SHADER_STAGE_RAYGEN_BIT_KHR, 0, 32};
    VkPipelineLayoutCreateInfo lci = {VK_STRUCTURE_TYPE_PIPELINE_LAYOUT_CREATE_INFO};
    lci.pushConstantRangeCount = 1;
    lci.pPushConstantRanges = &pcr;
    assert_int_equal(vkCreatePipelineLayout(dev, &lci, NULL, &p->layout), VK_SUCCESS);
    VkRayTracingPipelineCreateInfoKHR pci = {VK_STRUCTURE_TYPE_RAY_TRACING_PIPELINE_CREATE_INFO_KHR};
    pci.stageCount = 3;
    pci.pStages = st;
    pci.groupCount = 4;
    pci.pGroups = g;
    pci.maxPipelineRayRecursionDepth = 1;
    pci.layout = p->layout;
    PFN_vkCreateRayTracingPipelinesKHR create =
        (PFN_vkCreateRayTracingPipelinesKHR)vkGetDeviceProcAddr(dev, "vkCreateRayTracingPipelinesKHR");
    p->trace = (PFN_vkCmdTraceRaysKHR)vkGetDeviceProcAddr(dev, "vkCmdTraceRaysKHR");
    assert_non_null(create);
    assert_non_null(p->trace);
    assert_int_equal(create(dev, VK_NULL_HANDLE, VK_NULL_HANDLE, 1, &pci, NULL, &p->pipeline), VK_SUCCESS);
}

RT_FN void destroy_pipeline(sedx_context *ctx, rt_pipe *p)
{
    VkDevice dev = sedx_context_device(ctx);
    vkDestroyPipeline(dev, p->pipeline, NULL);
    vkDestroyPipelineLayout(dev, p->layout, NULL);
    for (int i = 0; i < 3; ++i) vkDestroyShaderModule(dev, p->mods[i], NULL);
}

/* Traces count probes of s; returns the ticket (not waited). */
RT_FN sedx_ticket trace(sedx_context *ctx, const rt_pipe *p, const sedx_sbt *sbt, scene *s, uint32_t count)
{
    sedx_cmd cmd;
    assert_int_equal(sedx_cmd_begin(ctx, SEDX_QUEUE_GRAPHICS, &cmd), SEDX_SUCCESS);
    vkCmdBindPipeline(cmd.cmd, VK_PIPELINE_BIND_POINT_RAY_TRACING_KHR, p->pipeline);
    struct { uint64_t tlas, probes, results; uint32_t count, pad; } pc = {
        s->tlas.address, sedx_buffer_address(&s->probes), sedx_buffer_address(&s->results), count, 0};
    vkCmdPushConstants(cmd.cmd, p->layout, VK_SHADER_STAGE_RAYGEN_BIT_KHR, 0, sizeof pc, &pc);
    p->trace(cmd.cmd, &sbt->raygen, &sbt->miss, &sbt->hit, &sbt->callable, count, 1, 1);
    VkMemoryBarrier mb = {VK_STRUCTURE_TYPE_MEMORY_BARRIER, NULL, VK_ACCESS_SHADER_WRITE_BIT, VK_ACCESS_TRANSFER_READ_BIT};
    vkCmdPipelineBarrier(cmd.cmd, VK_PIPELINE_STAGE_RAY_TRACING_SHADER_BIT_KHR, VK_PIPELINE_STAGE_TRANSFER_BIT, 0, 1, &mb,
                         0, NULL, 0, NULL);
    sedx_ticket tk;
    assert_int_equal(sedx_cmd_submit(ctx, &cmd, NULL, &tk), SEDX_SUCCESS);
    return tk;
}


RT_FN void build_blas(sedx_context *ctx, scene *s, sedx_ticket *tk, VkBuildAccelerationStructureFlagsKHR extra_flags)
{
    sedx_as_triangles quad = {0};
    quad.vertices = &s->verts;
    quad.vertex_offset = 48;
    quad.vertex_stride = 24;
    quad.vertex_count = 4;
    quad.indices = &s->idx;
    quad.index_offset = 6;
    quad.index_count = 6;
    quad.index_size = 2;
    quad.flags = SEDX_AS_GEOMETRY_OPAQUE;
    sedx_as_triangles tri = {0};
    tri.vertices = &s->tri;
    tri.vertex_count = 3;
    tri.vertex_format = VK_FORMAT_R32G32B32_SFLOAT;
    tri.flags = SEDX_AS_GEOMETRY_OPAQUE;
    sedx_blas_info bi[2] = {{&quad, 1, extra_flags, "rt quad"},
                            {&tri, 1, VK_BUILD_ACCELERATION_STRUCTURE_PREFER_FAST_BUILD_BIT_KHR | extra_flags, "rt tri"}};
    sedx_as_sizes sz;
    assert_int_equal(sedx_blas_sizes(ctx, &bi[0], &sz), SEDX_SUCCESS);
    assert_true(sz.storage > 0 && sz.storage % 256 == 0 && sz.build_scratch > 0);
    assert_int_equal(sedx_blas_build(ctx, bi, 2, s->blas, tk), SEDX_SUCCESS);
    for (int i = 0; i < 2; ++i) {
        assert_true(s->blas[i].as != VK_NULL_HANDLE && s->blas[i].address != 0 && s->blas[i].handle != 0);
        assert_int_equal(s->blas[i].type, VK_ACCELERATION_STRUCTURE_TYPE_BOTTOM_LEVEL_KHR);
        assert_int_equal(s->blas[i].address % 256, 0);
    }
    assert_int_equal(s->blas[0].primitive_count, 2);
    assert_int_equal(s->blas[1].primitive_count, 1);
    assert_int_equal(s->blas[0].size, sz.storage);
}

/* Instances: quad at x = 0 (custom 7, hit group 0), quad at x = 2 (custom 9, hit group 1),
 * triangle at x = 4 (custom 5, hit group 0). */
RT_FN void build_tlas(sedx_context *ctx, scene *s, sedx_ticket *tk)
{
    VkAccelerationStructureInstanceKHR inst[3];
    const float t0[12] = {1, 0, 0, 0, 0, 1, 0, 0, 0, 0, 1, 0}, t1[12] = {1, 0, 0, 2, 0, 1, 0, 0, 0, 0, 1, 0},
                t2[12] = {1, 0, 0, 4, 0, 1, 0, 0, 0, 0, 1, 0};
    sedx_as_instance(&inst[0], t0, 7, 0xFF, 0, 0, &s->blas[0]);
    sedx_as_instance(&inst[1], t1, 9, 0xFF, 1, 0, &s->blas[0]);
    sedx_as_instance(&inst[2], t2, 5, 0x1FF /* cut to 0xFF */, 0, 0, &s->blas[1]);
    assert_int_equal(inst[2].mask, 0xFF);
    assert_int_equal(inst[1].instanceShaderBindingTableRecordOffset, 1);
    assert_int_equal(inst[0].accelerationStructureReference, s->blas[0].address);
    /* 16 bytes of padding before the instances: instance_offset 64 */
    uint8_t bytes[64 + sizeof inst];
    memset(bytes, 0xEE, 64);
    memcpy(bytes + 64, inst, sizeof inst);
    assert_int_equal(sedx_buffer_create_with_data(ctx, sizeof bytes, SEDX_BUFFER_USAGE_ACCELERATION_STRUCTURE_INPUT,
                                                  SEDX_MEMORY_GPU, "rt instances", bytes, &s->instances),
                     SEDX_SUCCESS);
    sedx_tlas_info ti = {&s->instances, 64, 3, 0, "rt tlas"};
    assert_int_equal(sedx_tlas_build(ctx, &ti, &s->tlas, tk), SEDX_SUCCESS);
    assert_int_equal(s->tlas.type, VK_ACCELERATION_STRUCTURE_TYPE_TOP_LEVEL_KHR);
    assert_int_equal(s->tlas.primitive_count, 3);
}

/* count random probes over the scene (none within 2e-3 of an edge) into s->probes, their
 * answers into want[], and s->results poisoned. */
RT_FN void probes_create(sedx_context *ctx, scene *s, uint64_t *rng, float (*xy)[2], uint32_t *want, uint32_t count)
{
    for (uint32_t i = 0; i < count; ++i) {
        bool amb = true;
        while (amb) {
            xy[i][0] = -0.5f + 6.0f * (float)(tu_rand(rng) % 100000u) / 100000.0f;
            xy[i][1] = -0.5f + 2.0f * (float)(tu_rand(rng) % 100000u) / 100000.0f;
            want[i] = expect(xy[i][0], xy[i][1], &amb);
        }
    }
    assert_int_equal(sedx_buffer_create_with_data(ctx, (uint64_t)count * sizeof xy[0], SEDX_BUFFER_USAGE_STORAGE,
                                                  SEDX_MEMORY_GPU, "rt probes", xy, &s->probes),
                     SEDX_SUCCESS);
    uint32_t *poison = malloc((size_t)count * sizeof *poison);
    memset(poison, 0xCD, (size_t)count * sizeof *poison);
    assert_int_equal(sedx_buffer_create_with_data(ctx, (uint64_t)count * sizeof *poison, SEDX_BUFFER_USAGE_STORAGE,
                                                  SEDX_MEMORY_GPU, "rt results", poison, &s->results),
                     SEDX_SUCCESS);
    free(poison);
}

/* Downloads the results and compares each with the CPU's answer; fails on any difference.
 * Returns how many probes expected a hit. */
RT_FN uint32_t probes_check(sedx_context *ctx, scene *s, const float (*xy)[2], const uint32_t *want, uint32_t count)
{
    uint32_t *got = malloc((size_t)count * sizeof *got);
    assert_int_equal(sedx_download(ctx, &s->results, 0, (uint64_t)count * sizeof *got, got), SEDX_SUCCESS);
    uint32_t hits = 0, bad = 0;
    for (uint32_t i = 0; i < count; ++i) {
        if (got[i] != want[i] && bad++ < 8)
            fprintf(stderr, "probe %u at (%.4f, %.4f): got %u, want %u\n", i, xy[i][0], xy[i][1], got[i], want[i]);
        hits += want[i] != MISS;
    }
    free(got);
    fprintf(stderr, "traced %u rays: %u hits expected, %u wrong\n", count, hits, bad);
    assert_int_equal(bad, 0);
    return hits;
}

/* The table of the probe pipeline: records of 4 bytes, the hit groups' tags 100 and 200. */
RT_FN sedx_sbt probe_sbt(sedx_context *ctx, const rt_pipe *p)
{
    static const uint32_t records[4] = {0, 0, 100, 200};
    sedx_sbt_info si = {p->pipeline, 1, 1, 2, 0, 4, records, "rt sbt"};
    sedx_sbt sbt;
    assert_int_equal(sedx_sbt_create(ctx, &si, &sbt), SEDX_SUCCESS);
    return sbt;
}

/* Releases every buffer of s (empty ones are no-ops). */
RT_FN void scene_release_buffers(scene *s)
{
    sedx_buffer *bufs[] = {&s->verts, &s->idx, &s->tri, &s->instances, &s->probes, &s->results};
    for (size_t i = 0; i < sizeof bufs / sizeof bufs[0]; ++i) sedx_buffer_release(bufs[i]);
}

#endif
