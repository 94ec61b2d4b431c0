/* Ray tracing on sedx buffers (<sedx/raytracing.h>, docs/raytracing.md), under the validation
 * layer.
 * Everywhere: a context whose device has the extensions (vkEnumerateDeviceExtensionProperties
 * says so) has them enabled, unless SEDX_CONTEXT_NO_RAY_TRACING; without them the three seed
 * usages and every call are refused with SEDX_ERROR_FEATURE_NOT_PRESENT and a log line, and
 * nothing else changes.
 * Where the device has them (the GPU machine; lavapipe does not): the usages' placement rules;
 * two BLAS in one call (an indexed quad from uint16 indices at an odd offset and vertices at a
 * 24-byte stride with garbage between them, a non-indexed triangle) and a TLAS of three
 * instances, two of one BLAS; 256 random rays traced through a pipeline whose table comes from
 * sedx_sbt_create, with shader records, each ray's hit (instance, triangle, record) checked
 * against the CPU's answer; structures released while the trace is in flight; every bad input
 * with its code, its log line and the outputs untouched, and the context working afterwards. */
#include "test_util.h"

#include "rt_probe_rchit_spv.h"
#include "rt_probe_rgen_spv.h"
#include "rt_probe_rmiss_spv.h"

#include <math.h>
#include <stdlib.h>
#include <string.h>

#define PROBES 256u
#define MISS 0xFFFFFFFFu

static bool device_has(sedx_context *ctx, const char *ext)
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
static bool has_rt(sedx_context *ctx)
{
    const uint32_t both = SEDX_FEATURE_ACCELERATION_STRUCTURE | SEDX_FEATURE_RAY_TRACING_PIPELINE;
    bool yes = (sedx_context_features(ctx) & both) == both;
    const char *req = getenv("SEDX_REQUIRE_RAY_TRACING");
    if (!yes && req && *req) fprintf(stderr, "SEDX_REQUIRE_RAY_TRACING is set, but '%s' has no ray tracing\n",
                                     sedx_context_properties(ctx)->deviceName);
    assert_false(!yes && req && *req);
    return yes;
}

/* Every entry point and usage refused with FEATURE_NOT_PRESENT and its log line. */
static void check_refused(sedx_context *ctx)
{
    assert_false(sedx_context_features(ctx) & (SEDX_FEATURE_ACCELERATION_STRUCTURE | SEDX_FEATURE_RAY_TRACING_PIPELINE));
    tu_log_capture();
    static const struct { sedx_buffer_usage_flags usage; const char *needle; } usages[] = {
        {SEDX_BUFFER_USAGE_ACCELERATION_STRUCTURE_INPUT, "acceleration-structure usages need"},
        {SEDX_BUFFER_USAGE_ACCELERATION_STRUCTURE, "acceleration-structure usages need"},
        {SEDX_BUFFER_USAGE_SHADER_BINDING_TABLE, "shader-binding-table usage needs"},
        {SEDX_BUFFER_USAGE_VERTEX | SEDX_BUFFER_USAGE_ACCELERATION_STRUCTURE_INPUT, "acceleration-structure usages need"},
    };
    for (size_t i = 0; i < sizeof usages / sizeof usages[0]; ++i) {
        for (int m = 0; m < 2; ++m) {
            sedx_buffer b;
            memset(&b, 0xAB, sizeof b);
            tu_log_reset();
            assert_int_equal(sedx_buffer_create(ctx, 4096, usages[i].usage, m ? SEDX_MEMORY_CPU : SEDX_MEMORY_GPU,
                                                "refused", &b),
                             SEDX_ERROR_FEATURE_NOT_PRESENT);
            assert_true(tu_log_contains(usages[i].needle));
            assert_true(tu_log_contains("'refused'"));
            uint8_t poison[sizeof b];
            memset(poison, 0xAB, sizeof poison);
            assert_memory_equal(&b, poison, sizeof b); /* *out untouched */
        }
    }
    sedx_raytracing_properties props;
    memset(&props, 0xAB, sizeof props);
    assert_int_equal(sedx_raytracing_get_properties(ctx, &props), SEDX_ERROR_FEATURE_NOT_PRESENT);
    assert_false(props.acceleration_structure);
    assert_int_equal(props.shader_group_handle_size, 0);
    sedx_buffer vb = {0};
    sedx_as_triangles tri = {0};
    tri.vertices = &vb;
    tri.vertex_count = 3;
    sedx_blas_info bi = {&tri, 1, 0, "refused"};
    sedx_acceleration_structure as;
    sedx_as_sizes sizes;
    tu_log_reset();
    assert_int_equal(sedx_blas_build(ctx, &bi, 1, &as, NULL), SEDX_ERROR_FEATURE_NOT_PRESENT);
    assert_true(tu_log_contains("sedx_blas_build: needs VK_KHR_acceleration_structure"));
    assert_int_equal(sedx_blas_sizes(ctx, &bi, &sizes), SEDX_ERROR_FEATURE_NOT_PRESENT);
    sedx_tlas_info ti = {&vb, 0, 1, 0, "refused"};
    assert_int_equal(sedx_tlas_build(ctx, &ti, &as, NULL), SEDX_ERROR_FEATURE_NOT_PRESENT);
    assert_int_equal(sedx_tlas_sizes(ctx, &ti, &sizes), SEDX_ERROR_FEATURE_NOT_PRESENT);
    assert_int_equal(sedx_as_scratch_create(ctx, 4096, "refused", &vb), SEDX_ERROR_FEATURE_NOT_PRESENT);
    assert_int_equal(sedx_as_storage_create(ctx, 4096, "refused", &vb), SEDX_ERROR_FEATURE_NOT_PRESENT);
    sedx_sbt_info si = {(VkPipeline)(uintptr_t)0x1234, 1, 1, 1, 0, 0, NULL, "refused"};
    sedx_sbt sbt;
    tu_log_reset();
    assert_int_equal(sedx_sbt_create(ctx, &si, &sbt), SEDX_ERROR_FEATURE_NOT_PRESENT);
    assert_true(tu_log_contains("VK_KHR_ray_tracing_pipeline"));
    /* NULL arguments come first, everywhere */
    assert_int_equal(sedx_blas_build(NULL, &bi, 1, &as, NULL), SEDX_ERROR_INVALID_ARGUMENT);
    assert_int_equal(sedx_blas_build(ctx, &bi, 0, &as, NULL), SEDX_ERROR_INVALID_ARGUMENT);
    assert_int_equal(sedx_tlas_build(ctx, NULL, &as, NULL), SEDX_ERROR_INVALID_ARGUMENT);
    assert_int_equal(sedx_raytracing_get_properties(NULL, &props), SEDX_ERROR_INVALID_ARGUMENT);
    assert_int_equal(sedx_sbt_create(ctx, NULL, &sbt), SEDX_ERROR_INVALID_ARGUMENT);
    sedx_acceleration_structure empty = {0};
    sedx_acceleration_structure_release(ctx, &empty); /* no-op */
    sedx_acceleration_structure_release(ctx, NULL);
    assert_int_equal(sedx_acceleration_structure_count(ctx), 0);
    /* nothing else changed: ordinary buffers still work */
    sedx_buffer ok;
    assert_int_equal(sedx_buffer_create(ctx, 256, SEDX_BUFFER_USAGE_VERTEX, SEDX_MEMORY_GPU, "fine", &ok), SEDX_SUCCESS);
    sedx_buffer_release(&ok);
    sedx_set_logger(NULL, NULL);
}

static void test_enabled_where_present(void **state)
{
    (void)state;
    sedx_context *ctx = tu_context(false);
    bool dev = device_has(ctx, VK_KHR_ACCELERATION_STRUCTURE_EXTENSION_NAME) &&
               device_has(ctx, VK_KHR_DEFERRED_HOST_OPERATIONS_EXTENSION_NAME);
    bool pipe = dev && device_has(ctx, VK_KHR_RAY_TRACING_PIPELINE_EXTENSION_NAME);
    uint32_t f = sedx_context_features(ctx);
    fprintf(stderr, "device '%s': acceleration structures %s, ray-tracing pipelines %s\n",
            sedx_context_properties(ctx)->deviceName, dev ? "yes" : "no", pipe ? "yes" : "no");
    /* sedx enables what the device has (both devices of this project support the features of
     * the extensions they list) and never claims what it lacks */
    assert_int_equal((f & SEDX_FEATURE_ACCELERATION_STRUCTURE) != 0, dev);
    assert_int_equal((f & SEDX_FEATURE_RAY_TRACING_PIPELINE) != 0, pipe);
    if (!dev) check_refused(ctx);
    tu_context_destroy(ctx);
    /* the opt-out: refused everywhere */
    ctx = tu_context_flags(SEDX_CONTEXT_NO_RAY_TRACING, NULL);
    check_refused(ctx);
    tu_context_destroy(ctx);
}

/* ---- the scene ------------------------------------------------------------------------- */
typedef struct scene {
    sedx_buffer verts, idx, tri, instances, probes, results;
    sedx_acceleration_structure blas[2], tlas;
} scene;

/* vertex i of the quad at a 24-byte stride after 48 bytes of garbage; the rest is garbage */
static void quad_vertices(uint8_t *v, uint64_t *rng)
{
    tu_fill_random(v, 48 + 4 * 24, rng);
    static const float pos[4][3] = {{0, 0, 0}, {1, 0, 0}, {1, 1, 0}, {0, 1, 0}};
    for (int i = 0; i < 4; ++i) memcpy(v + 48 + i * 24, pos[i], sizeof pos[i]);
}

static void make_inputs(sedx_context *ctx, scene *s, uint64_t *rng)
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
    const float tri[3][3] = {{0, 0, 0}, {1, 0, 0}, {0, 1, 0}};
    assert_int_equal(sedx_buffer_create_with_data(ctx, sizeof tri, in, SEDX_MEMORY_GPU, "rt triangle", tri, &s->tri),
                     SEDX_SUCCESS);
}

static void build_blas(sedx_context *ctx, scene *s, sedx_ticket *tk)
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
    sedx_blas_info bi[2] = {{&quad, 1, 0, "rt quad"}, {&tri, 1, VK_BUILD_ACCELERATION_STRUCTURE_PREFER_FAST_BUILD_BIT_KHR, "rt tri"}};
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
static void build_tlas(sedx_context *ctx, scene *s, sedx_ticket *tk)
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

static bool near_line(float d) { return fabsf(d) < 2e-3f; }

/* The CPU's answer for a ray down from (x, y): what rt_probe.rchit / .rmiss write. */
static uint32_t expect(float x, float y, bool *ambiguous)
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

static VkShaderModule module(VkDevice dev, const uint32_t *code, size_t size)
{
    VkShaderModuleCreateInfo ci = {VK_STRUCTURE_TYPE_SHADER_MODULE_CREATE_INFO};
    ci.codeSize = size;
    ci.pCode = code;
    VkShaderModule m = VK_NULL_HANDLE;
    assert_int_equal(vkCreateShaderModule(dev, &ci, NULL, &m), VK_SUCCESS);
    return m;
}

/* groups: 0 raygen, 1 miss, 2 and 3 hit groups (the same closest-hit shader, two records) */
static void make_pipeline(sedx_context *ctx, rt_pipe *p)
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

static void destroy_pipeline(sedx_context *ctx, rt_pipe *p)
{
    VkDevice dev = sedx_context_device(ctx);
    vkDestroyPipeline(dev, p->pipeline, NULL);
    vkDestroyPipelineLayout(dev, p->layout, NULL);
    for (int i = 0; i < 3; ++i) vkDestroyShaderModule(dev, p->mods[i], NULL);
}

/* The table: records of 4 bytes (the hit groups' tags 100 and 200), laid out by sedx; every
 * rule of the specification checked against the device's properties. */
static sedx_sbt make_sbt(sedx_context *ctx, const rt_pipe *p)
{
    sedx_raytracing_properties pr;
    assert_int_equal(sedx_raytracing_get_properties(ctx, &pr), SEDX_SUCCESS);
    assert_true(pr.pipeline && pr.shader_group_handle_size > 0 && pr.shader_group_base_alignment > 0);
    const uint32_t records[4] = {0, 0, 100, 200};
    sedx_sbt_info si = {p->pipeline, 1, 1, 2, 0, 4, records, "rt sbt"};
    sedx_sbt sbt;
    assert_int_equal(sedx_sbt_create(ctx, &si, &sbt), SEDX_SUCCESS);
    uint64_t stride = (pr.shader_group_handle_size + 4u + pr.shader_group_handle_alignment - 1u) /
                      pr.shader_group_handle_alignment * pr.shader_group_handle_alignment;
    const VkStridedDeviceAddressRegionKHR *r[3] = {&sbt.raygen, &sbt.miss, &sbt.hit};
    const uint64_t counts[3] = {1, 1, 2};
    for (int k = 0; k < 3; ++k) {
        assert_int_equal(r[k]->deviceAddress % pr.shader_group_base_alignment, 0);
        assert_int_equal(r[k]->stride, stride);
        assert_true(r[k]->stride <= pr.max_shader_group_stride);
        assert_int_equal(r[k]->size, counts[k] * stride);
        assert_true(r[k]->deviceAddress >= sedx_buffer_address(&sbt.buffer));
        assert_true(r[k]->deviceAddress + r[k]->size <= sedx_buffer_address(&sbt.buffer) + sbt.buffer.size);
        if (k) assert_true(r[k]->deviceAddress >= r[k - 1]->deviceAddress + r[k - 1]->size); /* no overlap */
    }
    assert_int_equal(sbt.raygen.size, sbt.raygen.stride); /* VUID-vkCmdTraceRaysKHR-size-04023 */
    assert_int_equal(sbt.callable.deviceAddress, 0);
    assert_true(sbt.buffer.usage & SEDX_BUFFER_USAGE_SHADER_BINDING_TABLE);
    assert_true(sbt.buffer.usage & SEDX_BUFFER_USAGE_ADDRESS);
    return sbt;
}

/* Traces the probes; returns the ticket (not waited). */
static sedx_ticket trace(sedx_context *ctx, const rt_pipe *p, const sedx_sbt *sbt, scene *s)
{
    sedx_cmd cmd;
    assert_int_equal(sedx_cmd_begin(ctx, SEDX_QUEUE_GRAPHICS, &cmd), SEDX_SUCCESS);
    vkCmdBindPipeline(cmd.cmd, VK_PIPELINE_BIND_POINT_RAY_TRACING_KHR, p->pipeline);
    struct { uint64_t tlas, probes, results; uint32_t count, pad; } pc = {
        s->tlas.address, sedx_buffer_address(&s->probes), sedx_buffer_address(&s->results), PROBES, 0};
    vkCmdPushConstants(cmd.cmd, p->layout, VK_SHADER_STAGE_RAYGEN_BIT_KHR, 0, sizeof pc, &pc);
    p->trace(cmd.cmd, &sbt->raygen, &sbt->miss, &sbt->hit, &sbt->callable, PROBES, 1, 1);
    VkMemoryBarrier mb = {VK_STRUCTURE_TYPE_MEMORY_BARRIER, NULL, VK_ACCESS_SHADER_WRITE_BIT, VK_ACCESS_TRANSFER_READ_BIT};
    vkCmdPipelineBarrier(cmd.cmd, VK_PIPELINE_STAGE_RAY_TRACING_SHADER_BIT_KHR, VK_PIPELINE_STAGE_TRANSFER_BIT, 0, 1, &mb,
                         0, NULL, 0, NULL);
    sedx_ticket tk;
    assert_int_equal(sedx_cmd_submit(ctx, &cmd, NULL, &tk), SEDX_SUCCESS);
    return tk;
}

static void test_build_and_trace(void **state)
{
    (void)state;
    sedx_context *ctx = tu_context(false);
    if (!has_rt(ctx)) {
        tu_context_destroy(ctx);
        skip(); /* reported as SKIPPED: the device has no ray tracing (refusals: test_enabled_where_present) */
    }
    uint64_t rng = tu_seed();
    scene s = {0};
    make_inputs(ctx, &s, &rng);
    sedx_ticket tk;
    build_blas(ctx, &s, &tk); /* not waited: the TLAS build follows on the same queue */
    build_tlas(ctx, &s, NULL);
    assert_int_equal(sedx_acceleration_structure_count(ctx), 3);
    float xy[PROBES][2];
    uint32_t want[PROBES];
    for (uint32_t i = 0; i < PROBES; ++i) {
        bool amb = true;
        while (amb) {
            xy[i][0] = -0.5f + 6.0f * (float)(tu_rand(&rng) % 100000u) / 100000.0f;
            xy[i][1] = -0.5f + 2.0f * (float)(tu_rand(&rng) % 100000u) / 100000.0f;
            want[i] = expect(xy[i][0], xy[i][1], &amb);
        }
    }
    assert_int_equal(sedx_buffer_create_with_data(ctx, sizeof xy, SEDX_BUFFER_USAGE_STORAGE, SEDX_MEMORY_GPU, "rt probes",
                                                  xy, &s.probes),
                     SEDX_SUCCESS);
    uint32_t poison[PROBES];
    memset(poison, 0xCD, sizeof poison);
    assert_int_equal(sedx_buffer_create_with_data(ctx, sizeof poison, SEDX_BUFFER_USAGE_STORAGE, SEDX_MEMORY_GPU,
                                                  "rt results", poison, &s.results),
                     SEDX_SUCCESS);
    rt_pipe p;
    make_pipeline(ctx, &p);
    sedx_sbt sbt = make_sbt(ctx, &p);
    tk = trace(ctx, &p, &sbt, &s);
    /* released while the trace is in flight: destroyed once the GPU is past it */
    sedx_acceleration_structure tlas_copy = s.tlas;
    sedx_acceleration_structure_release(ctx, &s.tlas);
    for (int i = 0; i < 2; ++i) sedx_acceleration_structure_release(ctx, &s.blas[i]);
    sedx_sbt_release(&sbt);
    assert_int_equal(sedx_acceleration_structure_count(ctx), 0);
    assert_int_equal(s.tlas.handle, 0);
    tu_log_capture();
    sedx_acceleration_structure_release(ctx, &tlas_copy); /* a stale copy: logged, ignored */
    assert_true(tu_log_contains("invalid acceleration structure handle"));
    sedx_set_logger(NULL, NULL);
    assert_int_equal(sedx_ticket_wait(ctx, tk, UINT64_MAX), SEDX_SUCCESS);
    uint32_t got[PROBES];
    assert_int_equal(sedx_download(ctx, &s.results, 0, sizeof got, got), SEDX_SUCCESS);
    uint32_t hits = 0, bad = 0;
    for (uint32_t i = 0; i < PROBES; ++i) {
        if (got[i] != want[i]) {
            if (bad++ < 8) fprintf(stderr, "probe %u at (%.4f, %.4f): got %u, want %u\n", i, xy[i][0], xy[i][1], got[i], want[i]);
        }
        hits += want[i] != MISS;
    }
    fprintf(stderr, "traced %u rays: %u hits expected, %u wrong\n", PROBES, hits, bad);
    assert_int_equal(bad, 0);
    assert_true(hits > PROBES / 8 && hits < PROBES); /* both kinds of answer were asked (about 21 % hit) */
    destroy_pipeline(ctx, &p);
    sedx_buffer *bufs[] = {&s.verts, &s.idx, &s.tri, &s.instances, &s.probes, &s.results};
    for (size_t i = 0; i < sizeof bufs / sizeof bufs[0]; ++i) sedx_buffer_release(bufs[i]);
    tu_context_destroy(ctx);
}

static void test_usage_rules(void **state)
{
    (void)state;
    sedx_context *ctx = tu_context(false);
    if (!has_rt(ctx)) {
        tu_context_destroy(ctx);
        skip();
    }
    sedx_raytracing_properties pr;
    assert_int_equal(sedx_raytracing_get_properties(ctx, &pr), SEDX_SUCCESS);
    assert_true(pr.min_scratch_offset_alignment > 0 && pr.max_instance_count > 0 && pr.max_primitive_count > 0);
    assert_int_equal(pr.shader_group_base_alignment % pr.shader_group_handle_alignment, 0);
    for (int i = 0; i < 8; ++i) { /* several, so that some land at non-zero offsets of a block */
        sedx_buffer as, in, sbt;
        assert_int_equal(sedx_buffer_create(ctx, 1000 + 8u * (uint32_t)i, SEDX_BUFFER_USAGE_ACCELERATION_STRUCTURE,
                                            SEDX_MEMORY_GPU, "as storage", &as),
                         SEDX_SUCCESS);
        assert_true(as.usage & SEDX_BUFFER_USAGE_ADDRESS);
        assert_int_equal(sedx_buffer_address(&as) % 256, 0);
        assert_int_equal(as.size, 1000 + 8u * (uint32_t)i); /* the size asked for */
        assert_int_equal(sedx_buffer_create(ctx, 100, SEDX_BUFFER_USAGE_ACCELERATION_STRUCTURE_INPUT | SEDX_BUFFER_USAGE_VERTEX,
                                            SEDX_MEMORY_CPU, "as input", &in),
                         SEDX_SUCCESS);
        assert_true(in.usage & SEDX_BUFFER_USAGE_ADDRESS);
        assert_non_null(in.data);
        assert_int_equal(sedx_buffer_create(ctx, 40, SEDX_BUFFER_USAGE_SHADER_BINDING_TABLE, SEDX_MEMORY_CPU, "sbt", &sbt),
                         SEDX_SUCCESS);
        assert_int_equal(sedx_buffer_address(&sbt) % pr.shader_group_base_alignment, 0);
        sedx_buffer scratch, storage;
        assert_int_equal(sedx_as_scratch_create(ctx, 777, "scratch", &scratch), SEDX_SUCCESS);
        assert_int_equal(sedx_buffer_address(&scratch) % pr.min_scratch_offset_alignment, 0);
        assert_true(scratch.usage & SEDX_BUFFER_USAGE_STORAGE);
        assert_int_equal(sedx_as_storage_create(ctx, 300, "storage", &storage), SEDX_SUCCESS);
        assert_int_equal(sedx_buffer_address(&storage) % 256, 0);
        assert_true(storage.usage & SEDX_BUFFER_USAGE_ACCELERATION_STRUCTURE);
        sedx_buffer_release(&scratch);
        sedx_buffer_release(&storage);
        sedx_buffer_release(&as);
        sedx_buffer_release(&in);
        sedx_buffer_release(&sbt);
    }
    tu_context_destroy(ctx);
}

/* ---- bad input ------------------------------------------------------------------------- */
#define BAD_BLAS(code, needle)                                                                      \
    do {                                                                                            \
        sedx_acceleration_structure out_[2];                                                        \
        memset(out_, 0xAB, sizeof out_);                                                            \
        uint8_t p_[sizeof out_];                                                                    \
        memset(p_, 0xAB, sizeof p_);                                                                \
        tu_log_reset();                                                                             \
        assert_int_equal(sedx_blas_build(ctx, &bi, 1, out_, NULL), code);                           \
        if (!tu_log_contains(needle)) fprintf(stderr, "log lacks '%s'\n", needle);                 \
        assert_true(tu_log_contains(needle));                                                       \
        assert_memory_equal(out_, p_, sizeof out_);                                                 \
        assert_int_equal(sedx_acceleration_structure_count(ctx), live);                             \
        tri = good;                                                                                 \
        bi = (sedx_blas_info){&tri, 1, 0, "bad"};                                                   \
    } while (0)

static void test_bad_input(void **state)
{
    (void)state;
    sedx_context *ctx = tu_context(false);
    if (!has_rt(ctx)) {
        tu_context_destroy(ctx);
        skip();
    }
    uint64_t rng = tu_seed() ^ 0x5151;
    scene s = {0};
    make_inputs(ctx, &s, &rng);
    sedx_buffer storage_only;
    assert_int_equal(sedx_buffer_create(ctx, 256, SEDX_BUFFER_USAGE_STORAGE, SEDX_MEMORY_GPU, "no input usage", &storage_only),
                     SEDX_SUCCESS);
    sedx_as_triangles good = {0};
    good.vertices = &s.verts;
    good.vertex_offset = 48;
    good.vertex_stride = 24;
    good.vertex_count = 4;
    good.indices = &s.idx;
    good.index_offset = 6;
    good.index_count = 6;
    good.index_size = 2;
    sedx_as_triangles tri = good;
    sedx_blas_info bi = {&tri, 1, 0, "bad"};
    uint32_t live = 0;
    tu_log_capture();
    tri.vertices = &storage_only;
    BAD_BLAS(SEDX_ERROR_INVALID_USAGE, "lacks the ACCELERATION_STRUCTURE_INPUT usage");
    tri.vertex_count = 1000;
    BAD_BLAS(SEDX_ERROR_OUT_OF_BOUNDS, "past the end of buffer 'rt quad vertices'");
    tri.index_count = 4;
    BAD_BLAS(SEDX_ERROR_INVALID_ARGUMENT, "index_count 4 is not whole triangles");
    tri.index_count = 9;
    BAD_BLAS(SEDX_ERROR_OUT_OF_BOUNDS, "index bytes");
    tri.index_offset = 3;
    BAD_BLAS(SEDX_ERROR_INVALID_ALIGNMENT, "index_offset 3 is not a multiple of 2");
    tri.vertex_stride = 10;
    BAD_BLAS(SEDX_ERROR_INVALID_ALIGNMENT, "stride 10");
    tri.vertex_stride = 8; /* below the 12-byte vertex */
    BAD_BLAS(SEDX_ERROR_INVALID_ALIGNMENT, "stride 8");
    tri.index_size = 3;
    BAD_BLAS(SEDX_ERROR_INVALID_ARGUMENT, "index_size 3");
    tri.indices = NULL; /* 4 vertices, not indexed: not whole triangles */
    BAD_BLAS(SEDX_ERROR_INVALID_ARGUMENT, "4 vertices without indices");
    tri.vertex_format = VK_FORMAT_R8G8B8A8_UNORM;
    BAD_BLAS(SEDX_ERROR_INVALID_ARGUMENT, "is not one sedx builds from");
    tri.flags = 0x10;
    BAD_BLAS(SEDX_ERROR_INVALID_ARGUMENT, "unknown geometry flags 0x10");
    tri.vertex_count = 0;
    BAD_BLAS(SEDX_ERROR_INVALID_ARGUMENT, "vertex_count 0");
    bi.build_flags = VK_BUILD_ACCELERATION_STRUCTURE_PREFER_FAST_TRACE_BIT_KHR |
                     VK_BUILD_ACCELERATION_STRUCTURE_PREFER_FAST_BUILD_BIT_KHR;
    BAD_BLAS(SEDX_ERROR_INVALID_ARGUMENT, "PREFER_FAST_TRACE and PREFER_FAST_BUILD together");
    bi.build_flags = 0x100;
    BAD_BLAS(SEDX_ERROR_INVALID_ARGUMENT, "unknown build flags 0x100");
    bi.geometry_count = 0;
    BAD_BLAS(SEDX_ERROR_INVALID_ARGUMENT, "geometry_count 0");
    sedx_buffer gone = sedx_buffer_retain(&s.tri), stale = gone;
    sedx_buffer_release(&gone); /* stale's handle is dead; the buffer lives on through s.tri */
    tri.vertices = &stale;
    tri.vertex_offset = 0;
    tri.vertex_stride = 12;
    tri.indices = NULL;
    tri.vertex_count = 3;
    BAD_BLAS(SEDX_ERROR_INVALID_HANDLE, "invalid handle");
    tri.vertices = &gone; /* emptied by its release */
    tri.vertex_offset = 0;
    tri.vertex_stride = 12;
    tri.indices = NULL;
    tri.vertex_count = 3;
    BAD_BLAS(SEDX_ERROR_INVALID_HANDLE, "empty buffer");
    /* another context's buffer */
    sedx_context *other = tu_context(false);
    sedx_buffer foreign;
    assert_int_equal(sedx_buffer_create(other, 256, SEDX_BUFFER_USAGE_ACCELERATION_STRUCTURE_INPUT, SEDX_MEMORY_GPU,
                                        "foreign", &foreign),
                     SEDX_SUCCESS);
    tri.vertices = &foreign;
    tri.vertex_offset = 0;
    tri.vertex_stride = 12;
    tri.indices = NULL;
    tri.vertex_count = 3;
    BAD_BLAS(SEDX_ERROR_WRONG_CONTEXT, "belongs to another context");
    /* the TLAS */
    sedx_acceleration_structure t;
    memset(&t, 0xAB, sizeof t);
    sedx_tlas_info ti = {&s.tri, 8, 1, 0, "bad tlas"};
    tu_log_reset();
    assert_int_equal(sedx_tlas_build(ctx, &ti, &t, NULL), SEDX_ERROR_INVALID_ALIGNMENT);
    assert_true(tu_log_contains("instance_offset 8 is not a multiple of 16"));
    ti.instance_offset = 0; /* 36 bytes cannot hold one 64-byte instance */
    assert_int_equal(sedx_tlas_build(ctx, &ti, &t, NULL), SEDX_ERROR_OUT_OF_BOUNDS);
    assert_true(tu_log_contains("instance bytes [0, +64) past the end"));
    ti.instances = &foreign;
    assert_int_equal(sedx_tlas_build(ctx, &ti, &t, NULL), SEDX_ERROR_WRONG_CONTEXT);
    ti.instances = &storage_only;
    ti.instance_count = 0;
    assert_int_equal(sedx_tlas_build(ctx, &ti, &t, NULL), SEDX_ERROR_INVALID_USAGE);
    uint8_t p_[sizeof t];
    memset(p_, 0xAB, sizeof p_);
    assert_memory_equal(&t, p_, sizeof t);
    /* the table */
    sedx_sbt sbt;
    sedx_sbt_info si = {VK_NULL_HANDLE, 1, 1, 1, 0, 0, NULL, "bad sbt"};
    tu_log_reset();
    assert_int_equal(sedx_sbt_create(ctx, &si, &sbt), SEDX_ERROR_INVALID_ARGUMENT);
    assert_true(tu_log_contains("pipeline is VK_NULL_HANDLE"));
    si.pipeline = (VkPipeline)(uintptr_t)0x1; /* never reaches Vulkan: refused first */
    si.raygen_count = 2;
    assert_int_equal(sedx_sbt_create(ctx, &si, &sbt), SEDX_ERROR_INVALID_ARGUMENT);
    assert_true(tu_log_contains("raygen_count 2"));
    si.raygen_count = 1;
    si.record_data = &si;
    assert_int_equal(sedx_sbt_create(ctx, &si, &sbt), SEDX_ERROR_INVALID_ARGUMENT);
    assert_true(tu_log_contains("record_data without record_size"));
    si.record_data = NULL;
    si.record_size = 1u << 20;
    assert_int_equal(sedx_sbt_create(ctx, &si, &sbt), SEDX_ERROR_INVALID_SIZE);
    assert_true(tu_log_contains("exceeds maxShaderGroupStride"));
    sedx_set_logger(NULL, NULL);
    /* the context still works: a good build after all of it, and an empty TLAS */
    tri = good;
    bi = (sedx_blas_info){&tri, 1, 0, "after the bad ones"};
    sedx_acceleration_structure b;
    assert_int_equal(sedx_blas_build(ctx, &bi, 1, &b, NULL), SEDX_SUCCESS);
    sedx_tlas_info empty = {&s.idx, 0, 0, 0, "empty tlas"};
    sedx_acceleration_structure e;
    assert_int_equal(sedx_tlas_build(ctx, &empty, &e, NULL), SEDX_SUCCESS);
    assert_int_equal(sedx_acceleration_structure_count(ctx), 2);
    sedx_acceleration_structure_release(ctx, &b);
    sedx_acceleration_structure_release(ctx, &e);
    sedx_buffer_release(&foreign);
    tu_context_destroy(other);
    sedx_buffer *bufs[] = {&s.verts, &s.idx, &s.tri, &storage_only};
    for (size_t i = 0; i < sizeof bufs / sizeof bufs[0]; ++i) sedx_buffer_release(bufs[i]);
    tu_context_destroy(ctx);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_enabled_where_present),
        cmocka_unit_test(test_usage_rules),
        cmocka_unit_test(test_build_and_trace),
        cmocka_unit_test(test_bad_input),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
