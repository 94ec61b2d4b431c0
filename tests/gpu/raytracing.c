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
#include "rt_util.h"

#define PROBES 256u

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
    sedx_acceleration_structure none = {0};
    assert_int_equal(sedx_as_compact(ctx, &none, 1, NULL), SEDX_ERROR_FEATURE_NOT_PRESENT);
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

/* The table: records of 4 bytes (the hit groups' tags 100 and 200), laid out by sedx; every
 * rule of the specification checked against the device's properties. */
static sedx_sbt make_sbt(sedx_context *ctx, const rt_pipe *p)
{
    sedx_raytracing_properties pr;
    assert_int_equal(sedx_raytracing_get_properties(ctx, &pr), SEDX_SUCCESS);
    assert_true(pr.pipeline && pr.shader_group_handle_size > 0 && pr.shader_group_base_alignment > 0);
    sedx_sbt sbt = probe_sbt(ctx, p);
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

static void test_build_and_trace(void **state)
{
    (void)state;
    sedx_context *ctx = rt_context();
    uint64_t rng = tu_seed();
    scene s = {0};
    make_inputs(ctx, &s, &rng);
    sedx_ticket tk;
    build_blas(ctx, &s, &tk, 0); /* not waited: the TLAS build follows on the same queue */
    build_tlas(ctx, &s, NULL);
    assert_int_equal(sedx_acceleration_structure_count(ctx), 3);
    float xy[PROBES][2];
    uint32_t want[PROBES];
    probes_create(ctx, &s, &rng, xy, want, PROBES);
    rt_pipe p;
    make_pipeline(ctx, &p);
    sedx_sbt sbt = make_sbt(ctx, &p);
    tk = trace(ctx, &p, &sbt, &s, PROBES);
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
    uint32_t hits = probes_check(ctx, &s, (const float(*)[2])xy, want, PROBES);
    assert_true(hits > PROBES / 8 && hits < PROBES); /* both kinds of answer were asked (about 21 % hit) */
    destroy_pipeline(ctx, &p);
    scene_release_buffers(&s);
    tu_context_destroy(ctx);
}

/* Compaction: smaller or equal structures under new handles, the old ones gone, the traced
 * answers unchanged through a TLAS over the compacted BLAS; its bad inputs. */
static void test_compaction(void **state)
{
    (void)state;
    sedx_context *ctx = rt_context();
    uint64_t rng = tu_seed() ^ 0xC0C0;
    scene s = {0};
    make_inputs(ctx, &s, &rng);
    build_blas(ctx, &s, NULL, VK_BUILD_ACCELERATION_STRUCTURE_ALLOW_COMPACTION_BIT_KHR);
    const sedx_acceleration_structure before[2] = {s.blas[0], s.blas[1]};
    assert_int_equal(sedx_as_compact(ctx, s.blas, 2, NULL), SEDX_SUCCESS);
    for (int i = 0; i < 2; ++i) {
        assert_int_not_equal(s.blas[i].handle, before[i].handle);
        assert_true(s.blas[i].as != VK_NULL_HANDLE && s.blas[i].address != 0);
        assert_true(s.blas[i].size <= before[i].size && s.blas[i].size % 256 == 0);
        assert_int_equal(s.blas[i].type, before[i].type);
        assert_int_equal(s.blas[i].primitive_count, before[i].primitive_count);
        fprintf(stderr, "BLAS %d: %llu -> %llu bytes\n", i, (unsigned long long)before[i].size,
                (unsigned long long)s.blas[i].size);
    }
    assert_int_equal(sedx_acceleration_structure_count(ctx), 2);
    /* bad input: the old handles, a structure built without the flag, one twice; nothing changes */
    tu_log_capture();
    sedx_acceleration_structure stale[2] = {before[0], before[1]};
    assert_int_equal(sedx_as_compact(ctx, stale, 2, NULL), SEDX_ERROR_INVALID_HANDLE);
    assert_true(tu_log_contains("invalid acceleration structure handle"));
    assert_memory_equal(stale, before, sizeof stale);
    sedx_as_triangles t = {0};
    t.vertices = &s.tri;
    t.vertex_count = 3;
    sedx_blas_info plain_info = {&t, 1, 0, "no compaction flag"};
    sedx_acceleration_structure plain[2];
    assert_int_equal(sedx_blas_build(ctx, &plain_info, 1, &plain[0], NULL), SEDX_SUCCESS);
    plain[1] = s.blas[0];
    tu_log_reset();
    assert_int_equal(sedx_as_compact(ctx, plain, 2, NULL), SEDX_ERROR_INVALID_ARGUMENT);
    assert_true(tu_log_contains("built without VK_BUILD_ACCELERATION_STRUCTURE_ALLOW_COMPACTION_BIT_KHR"));
    sedx_acceleration_structure twice[2] = {s.blas[1], s.blas[1]};
    tu_log_reset();
    assert_int_equal(sedx_as_compact(ctx, twice, 2, NULL), SEDX_ERROR_INVALID_ARGUMENT);
    assert_true(tu_log_contains("is also structure 0"));
    assert_int_equal(sedx_as_compact(ctx, twice, 0, NULL), SEDX_ERROR_INVALID_ARGUMENT);
    assert_int_equal(sedx_as_compact(NULL, twice, 1, NULL), SEDX_ERROR_INVALID_ARGUMENT);
    sedx_set_logger(NULL, NULL);
    assert_int_equal(s.blas[1].handle, twice[0].handle); /* untouched */
    assert_int_equal(sedx_acceleration_structure_count(ctx), 3);
    sedx_acceleration_structure_release(ctx, &plain[0]);
    /* the compacted BLAS answer as before */
    build_tlas(ctx, &s, NULL);
    float xy[PROBES][2];
    uint32_t want[PROBES];
    probes_create(ctx, &s, &rng, xy, want, PROBES);
    rt_pipe p;
    make_pipeline(ctx, &p);
    sedx_sbt sbt = probe_sbt(ctx, &p);
    sedx_ticket tk = trace(ctx, &p, &sbt, &s, PROBES);
    assert_int_equal(sedx_ticket_wait(ctx, tk, UINT64_MAX), SEDX_SUCCESS);
    probes_check(ctx, &s, (const float(*)[2])xy, want, PROBES);
    sedx_sbt_release(&sbt);
    destroy_pipeline(ctx, &p);
    sedx_acceleration_structure_release(ctx, &s.tlas);
    for (int i = 0; i < 2; ++i) sedx_acceleration_structure_release(ctx, &s.blas[i]);
    scene_release_buffers(&s);
    tu_context_destroy(ctx);
}

static void test_usage_rules(void **state)
{
    (void)state;
    sedx_context *ctx = rt_context();
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
    sedx_context *ctx = rt_context();
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
    /* the context still works: a good build after all of it, and an empty TLAS, both unnamed */
    tri = good;
    bi = (sedx_blas_info){&tri, 1, 0, NULL}; /* names may be NULL */
    sedx_acceleration_structure b;
    assert_int_equal(sedx_blas_build(ctx, &bi, 1, &b, NULL), SEDX_SUCCESS);
    sedx_tlas_info empty = {&s.idx, 0, 0, 0, NULL};
    sedx_acceleration_structure e;
    assert_int_equal(sedx_tlas_build(ctx, &empty, &e, NULL), SEDX_SUCCESS);
    assert_int_equal(sedx_acceleration_structure_count(ctx), 2);
    sedx_acceleration_structure_release(ctx, &b);
    sedx_acceleration_structure_release(ctx, &e);
    sedx_buffer_release(&foreign);
    tu_context_destroy(other);
    scene_release_buffers(&s);
    sedx_buffer_release(&storage_only);
    tu_context_destroy(ctx);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_enabled_where_present),
        cmocka_unit_test(test_usage_rules),
        cmocka_unit_test(test_build_and_trace),
        cmocka_unit_test(test_compaction),
        cmocka_unit_test(test_bad_input),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
