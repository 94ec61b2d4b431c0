/*
 * Bindless (src/bindless, IDs in src/buffer): resource IDs are compact and not reused before
 * the GPU is past the buffer; the device-address table and the descriptor array are filled for
 * buffers created before and after the tables start, emptied when a buffer is destroyed, and
 * read by compute shaders that sum random data, compared with the sums computed here.
 * Validation on; the descriptor-array test is skipped (reported as such) on devices without
 * descriptor indexing, such as lavapipe 22.3.
 */
#include "test_util.h"

#include "bindless_array_spv.h"
#include "bindless_table_spv.h"

#include <stdlib.h>
#include <string.h>

#define NBUF 37u
#define MIX 2654435761u
#define POISON 0xDEADBEEFu

typedef struct pipe {
    VkPipelineLayout layout;
    VkPipeline pipeline;
} pipe;

static pipe make_pipe(sedx_context *ctx, const uint32_t *code, size_t code_size, uint32_t push_size,
                      VkDescriptorSetLayout set_layout)
{
    VkDevice dev = sedx_context_device(ctx);
    pipe p = {VK_NULL_HANDLE, VK_NULL_HANDLE};
    VkPushConstantRange pcr = {VK_SHADER_STAGE_COMPUTE_BIT, 0, push_size};
    VkPipelineLayoutCreateInfo li = {VK_STRUCTURE_TYPE_PIPELINE_LAYOUT_CREATE_INFO};
    li.setLayoutCount = set_layout ? 1u : 0u;
    li.pSetLayouts = &set_layout;
    li.pushConstantRangeCount = 1;
    li.pPushConstantRanges = &pcr;
    assert_int_equal(vkCreatePipelineLayout(dev, &li, NULL, &p.layout), VK_SUCCESS);
    VkShaderModuleCreateInfo mi = {VK_STRUCTURE_TYPE_SHADER_MODULE_CREATE_INFO};
    mi.codeSize = code_size;
    mi.pCode = code;
    VkShaderModule mod;
    assert_int_equal(vkCreateShaderModule(dev, &mi, NULL, &mod), VK_SUCCESS);
    VkComputePipelineCreateInfo ci = {VK_STRUCTURE_TYPE_COMPUTE_PIPELINE_CREATE_INFO};
    ci.stage = (VkPipelineShaderStageCreateInfo){VK_STRUCTURE_TYPE_PIPELINE_SHADER_STAGE_CREATE_INFO};
    ci.stage.stage = VK_SHADER_STAGE_COMPUTE_BIT;
    ci.stage.module = mod;
    ci.stage.pName = "main";
    ci.layout = p.layout;
    assert_int_equal(vkCreateComputePipelines(dev, VK_NULL_HANDLE, 1, &ci, NULL, &p.pipeline), VK_SUCCESS);
    vkDestroyShaderModule(dev, mod, NULL);
    return p;
}

static void destroy_pipe(sedx_context *ctx, pipe *p)
{
    vkDestroyPipeline(sedx_context_device(ctx), p->pipeline, NULL);
    vkDestroyPipelineLayout(sedx_context_device(ctx), p->layout, NULL);
}

/* NBUF storage buffers of random sizes (multiples of 4, 4 B .. 64 KiB) holding random words,
 * half of them created before the tables start (start == true: sedx_bindless_get in between). */
typedef struct set_of_buffers {
    sedx_buffer b[NBUF];
    uint32_t size[NBUF];
    uint32_t expect[NBUF];
} set_of_buffers;

static void make_buffers(sedx_context *ctx, uint64_t *seed, set_of_buffers *s, bool start)
{
    static uint32_t words[16384];
    for (uint32_t i = 0; i < NBUF; ++i) {
        if (start && i == NBUF / 2) {
            sedx_bindless_layout l;
            assert_int_equal(sedx_bindless_get(ctx, &l), SEDX_SUCCESS);
        }
        uint32_t n = 1u + (uint32_t)(tu_rand(seed) % 16384u);
        tu_fill_random(words, n * 4u, seed);
        uint32_t sum = 0;
        for (uint32_t k = 0; k < n; ++k) sum += words[k];
        s->size[i] = n * 4u;
        s->expect[i] = sum ^ (n * MIX);
        sedx_buffer_create_info ci = {0};
        ci.size = n * 4u;
        ci.usage = SEDX_BUFFER_USAGE_STORAGE;
        ci.memory = (i % 3u) ? SEDX_MEMORY_GPU : SEDX_MEMORY_CPU;
        ci.name = "bindless test data";
        ci.initial_data = words;
        assert_int_equal(sedx_buffer_create_ex(ctx, &ci, &s->b[i]), SEDX_SUCCESS);
    }
}

static void release_buffers(set_of_buffers *s)
{
    for (uint32_t i = 0; i < NBUF; ++i) sedx_buffer_release(&s->b[i]);
}

/* A CPU buffer for the shader's inputs and outputs (device address usage). */
static sedx_buffer host_buffer(sedx_context *ctx, uint64_t size, const char *name)
{
    sedx_buffer b;
    assert_int_equal(sedx_buffer_create(ctx, size, SEDX_BUFFER_USAGE_STORAGE | SEDX_BUFFER_USAGE_ADDRESS,
                                        SEDX_MEMORY_CPU, name, &b),
                     SEDX_SUCCESS);
    return b;
}

/* IDs in a shuffled order (some twice), the buffer index of each in *which. */
static uint32_t shuffled_ids(uint64_t *seed, const set_of_buffers *s, uint32_t *ids, uint32_t *which)
{
    uint32_t n = NBUF + 11u;
    for (uint32_t i = 0; i < n; ++i) {
        which[i] = (uint32_t)(tu_rand(seed) % NBUF);
        ids[i] = sedx_buffer_id(&s->b[which[i]]);
    }
    return n;
}

static void run_and_check(sedx_context *ctx, const pipe *p, VkDescriptorSet set, const void *push, uint32_t push_size,
                          const sedx_buffer *result, const set_of_buffers *s, const uint32_t *which, uint32_t n)
{
    uint32_t *out = result->data;
    for (uint32_t i = 0; i < n; ++i) out[i] = POISON;
    sedx_cmd cmd;
    assert_int_equal(sedx_cmd_begin(ctx, SEDX_QUEUE_GRAPHICS, &cmd), SEDX_SUCCESS);
    vkCmdBindPipeline(cmd.cmd, VK_PIPELINE_BIND_POINT_COMPUTE, p->pipeline);
    if (set) vkCmdBindDescriptorSets(cmd.cmd, VK_PIPELINE_BIND_POINT_COMPUTE, p->layout, 0, 1, &set, 0, NULL);
    vkCmdPushConstants(cmd.cmd, p->layout, VK_SHADER_STAGE_COMPUTE_BIT, 0, push_size, push);
    vkCmdDispatch(cmd.cmd, (n + 63u) / 64u, 1, 1);
    VkMemoryBarrier mb = {VK_STRUCTURE_TYPE_MEMORY_BARRIER, NULL, VK_ACCESS_SHADER_WRITE_BIT, VK_ACCESS_HOST_READ_BIT};
    vkCmdPipelineBarrier(cmd.cmd, VK_PIPELINE_STAGE_COMPUTE_SHADER_BIT, VK_PIPELINE_STAGE_HOST_BIT, 0, 1, &mb, 0,
                         NULL, 0, NULL);
    sedx_ticket t;
    assert_int_equal(sedx_cmd_submit(ctx, &cmd, NULL, &t), SEDX_SUCCESS);
    for (uint32_t i = 0; i < NBUF; ++i) assert_int_equal(sedx_buffer_mark_used(&s->b[i], t), SEDX_SUCCESS);
    assert_int_equal(sedx_ticket_wait(ctx, t, UINT64_MAX), SEDX_SUCCESS);
    for (uint32_t i = 0; i < n; ++i)
        if (out[i] != s->expect[which[i]])
            fail_msg("invocation %u (buffer %u, ID %u): 0x%08x, expected 0x%08x", i, which[i],
                     sedx_buffer_id(&s->b[which[i]]), out[i], s->expect[which[i]]);
}

/* ---- IDs ----------------------------------------------------------------------------------- */
static void test_ids(void **state)
{
    (void)state;
    sedx_context *ctx = tu_context(false);
    enum { N = 50 };
    sedx_buffer b[N];
    uint32_t max_id = 0;
    for (uint32_t i = 0; i < N; ++i) {
        assert_int_equal(sedx_buffer_create(ctx, 256, SEDX_BUFFER_USAGE_STORAGE, SEDX_MEMORY_GPU, "id", &b[i]),
                         SEDX_SUCCESS);
        uint32_t id = sedx_buffer_id(&b[i]);
        assert_int_not_equal(id, SEDX_INVALID_ID);
        for (uint32_t j = 0; j < i; ++j) assert_int_not_equal(sedx_buffer_id(&b[j]), id);
        if (id > max_id) max_id = id;
    }
    assert_true(max_id < N + 8u); /* compact: sedx's own buffers take a few */

    /* Released with no GPU use: destroyed at once, the ID is the next one handed out. */
    uint32_t id5 = sedx_buffer_id(&b[5]);
    sedx_buffer_release(&b[5]);
    assert_int_equal(sedx_buffer_id(&b[5]), SEDX_INVALID_ID);
    assert_int_equal(sedx_buffer_create(ctx, 256, SEDX_BUFFER_USAGE_STORAGE, SEDX_MEMORY_GPU, "id", &b[5]),
                     SEDX_SUCCESS);
    assert_int_equal(sedx_buffer_id(&b[5]), id5);

    /* Released while submitted work may use it: the ID stays taken (and its table entry stays)
     * until the GPU is past that work. */
    sedx_bindless_layout l;
    bool table = sedx_bindless_get(ctx, &l) == SEDX_SUCCESS && l.table;
    sedx_ticket t;
    VkSemaphore gate = tu_gate(ctx, SEDX_QUEUE_GRAPHICS, &t);
    uint32_t id7 = sedx_buffer_id(&b[7]);
    VkDeviceAddress addr7 = sedx_buffer_address(&b[7]);
    assert_int_equal(sedx_buffer_mark_used(&b[7], t), SEDX_SUCCESS);
    sedx_buffer_release(&b[7]);
    sedx_buffer extra;
    assert_int_equal(sedx_buffer_create(ctx, 256, SEDX_BUFFER_USAGE_STORAGE, SEDX_MEMORY_GPU, "id", &extra),
                     SEDX_SUCCESS);
    assert_int_not_equal(sedx_buffer_id(&extra), id7);
    sedx_bindless_entry e;
    if (table) {
        assert_int_equal(sedx_bindless_entry_get(ctx, id7, &e), SEDX_SUCCESS);
        assert_true(e.address == addr7 && e.size == 256);
    }
    tu_open_gate(ctx, gate);
    assert_int_equal(sedx_ticket_wait(ctx, t, UINT64_MAX), SEDX_SUCCESS);
    sedx_context_collect_garbage(ctx);
    if (table) {
        assert_int_equal(sedx_bindless_entry_get(ctx, id7, &e), SEDX_SUCCESS);
        assert_true(e.address == 0 && e.size == 0); /* emptied with the buffer */
    }
    assert_int_equal(sedx_buffer_create(ctx, 256, SEDX_BUFFER_USAGE_STORAGE, SEDX_MEMORY_GPU, "id", &b[7]),
                     SEDX_SUCCESS);
    assert_int_equal(sedx_buffer_id(&b[7]), id7);
    vkDestroySemaphore(sedx_context_device(ctx), gate, NULL);

    for (uint32_t i = 0; i < N; ++i) sedx_buffer_release(&b[i]);
    sedx_buffer_release(&extra);
    tu_context_destroy(ctx);
}

/* ---- bad input ------------------------------------------------------------------------------ */
static void test_bad_input(void **state)
{
    (void)state;
    tu_log_capture();
    sedx_context *ctx = tu_context(false);
    sedx_bindless_layout l;
    sedx_bindless_entry e;
    assert_int_equal(sedx_bindless_get(NULL, &l), SEDX_ERROR_INVALID_ARGUMENT);
    assert_int_equal(sedx_bindless_get(ctx, NULL), SEDX_ERROR_INVALID_ARGUMENT);
    assert_int_equal(sedx_bindless_entry_get(ctx, 0, &e), SEDX_ERROR_INVALID_ARGUMENT); /* not started */
    if (sedx_bindless_get(ctx, &l) == SEDX_SUCCESS && l.table) {
        assert_int_equal(sedx_bindless_entry_get(ctx, l.capacity, &e), SEDX_ERROR_OUT_OF_BOUNDS);
        assert_int_equal(sedx_bindless_entry_get(ctx, 0, NULL), SEDX_ERROR_INVALID_ARGUMENT);
        /* an ID nobody has: an empty entry */
        assert_int_equal(sedx_bindless_entry_get(ctx, l.capacity - 1u, &e), SEDX_SUCCESS);
        assert_true(e.address == 0 && e.size == 0);
    }
    tu_log_reset();
    tu_context_destroy(ctx);
}

/* ---- the device-address table, read by a shader ------------------------------------------- */
static void test_table_shader(void **state)
{
    (void)state;
    sedx_context *ctx = tu_context(false);
    if (!(sedx_context_features(ctx) & SEDX_FEATURE_BUFFER_DEVICE_ADDRESS)) {
        tu_context_destroy(ctx);
        print_message("the device has no buffer device address: no table to test\n");
        skip();
    }
    uint64_t seed = tu_seed();
    set_of_buffers s;
    make_buffers(ctx, &seed, &s, true);
    sedx_bindless_layout l;
    assert_int_equal(sedx_bindless_get(ctx, &l), SEDX_SUCCESS);
    assert_true(l.table != VK_NULL_HANDLE && l.table_address != 0 && l.capacity > 0);
    for (uint32_t i = 0; i < NBUF; ++i) {
        sedx_bindless_entry e;
        assert_int_equal(sedx_bindless_entry_get(ctx, sedx_buffer_id(&s.b[i]), &e), SEDX_SUCCESS);
        assert_int_equal(e.address, sedx_buffer_address(&s.b[i]));
        assert_int_equal(e.size, s.size[i]);
    }
    uint32_t ids[NBUF + 11u], which[NBUF + 11u];
    uint32_t n = shuffled_ids(&seed, &s, ids, which);
    sedx_buffer idbuf = host_buffer(ctx, sizeof ids, "ids");
    sedx_buffer result = host_buffer(ctx, sizeof ids, "result");
    memcpy(idbuf.data, ids, n * sizeof ids[0]);
    struct {
        uint64_t table, ids, result;
        uint32_t count, pad;
    } push = {l.table_address, sedx_buffer_address(&idbuf), sedx_buffer_address(&result), n, 0};
    pipe p = make_pipe(ctx, sedx__spv_bindless_table, sizeof sedx__spv_bindless_table, 28, VK_NULL_HANDLE);
    run_and_check(ctx, &p, VK_NULL_HANDLE, &push, 28, &result, &s, which, n);
    destroy_pipe(ctx, &p);
    sedx_buffer_release(&idbuf);
    sedx_buffer_release(&result);
    release_buffers(&s);
    tu_context_destroy(ctx);
}

/* ---- the descriptor array, read by a shader ------------------------------------------------- */
static void test_array_shader(void **state)
{
    (void)state;
    sedx_context *ctx = tu_context(false);
    uint32_t need = SEDX_FEATURE_DESCRIPTOR_INDEXING | SEDX_FEATURE_BUFFER_DEVICE_ADDRESS;
    if ((sedx_context_features(ctx) & need) != need) {
        tu_context_destroy(ctx);
        print_message("the device has no descriptor indexing: the descriptor array is not tested here\n");
        skip();
    }
    uint64_t seed = tu_seed() ^ 0xA5A5u;
    set_of_buffers s;
    make_buffers(ctx, &seed, &s, true);
    sedx_bindless_layout l;
    assert_int_equal(sedx_bindless_get(ctx, &l), SEDX_SUCCESS);
    assert_true(l.set != VK_NULL_HANDLE && l.set_layout != VK_NULL_HANDLE && l.storage_binding == 0);
    uint32_t ids[NBUF + 11u], which[NBUF + 11u], sizes[NBUF + 11u];
    uint32_t n = shuffled_ids(&seed, &s, ids, which);
    for (uint32_t i = 0; i < n; ++i) sizes[i] = s.size[which[i]];
    sedx_buffer idbuf = host_buffer(ctx, sizeof ids, "ids");
    sedx_buffer sizebuf = host_buffer(ctx, sizeof sizes, "sizes");
    sedx_buffer result = host_buffer(ctx, sizeof ids, "result");
    memcpy(idbuf.data, ids, n * sizeof ids[0]);
    memcpy(sizebuf.data, sizes, n * sizeof sizes[0]);
    struct {
        uint64_t ids, sizes, result;
        uint32_t count, pad;
    } push = {sedx_buffer_address(&idbuf), sedx_buffer_address(&sizebuf), sedx_buffer_address(&result), n, 0};
    pipe p = make_pipe(ctx, sedx__spv_bindless_array, sizeof sedx__spv_bindless_array, 28, l.set_layout);
    run_and_check(ctx, &p, l.set, &push, 28, &result, &s, which, n);

    /* New buffers with new data take the IDs back (the old ones are destroyed once the GPU is
     * past the first run): their descriptors are rewritten in a set bound by earlier work. */
    release_buffers(&s);
    sedx_context_collect_garbage(ctx);
    make_buffers(ctx, &seed, &s, false);
    n = shuffled_ids(&seed, &s, ids, which);
    for (uint32_t i = 0; i < n; ++i) sizes[i] = s.size[which[i]];
    memcpy(idbuf.data, ids, n * sizeof ids[0]);
    memcpy(sizebuf.data, sizes, n * sizeof sizes[0]);
    push.count = n;
    run_and_check(ctx, &p, l.set, &push, 28, &result, &s, which, n);

    destroy_pipe(ctx, &p);
    sedx_buffer_release(&idbuf);
    sedx_buffer_release(&sizebuf);
    sedx_buffer_release(&result);
    release_buffers(&s);
    tu_context_destroy(ctx);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_ids),
        cmocka_unit_test(test_bad_input),
        cmocka_unit_test(test_table_shader),
        cmocka_unit_test(test_array_shader),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
