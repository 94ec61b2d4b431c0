/*
 * What a transfer could reach on this machine, measured with no sedx transfer path in between
 * (used by sedx-bench upload, bench_upload.c):
 *   - host memcpy split over 1..16 threads (pageable to pageable, both touched beforehand);
 *   - raw buffers: vkCreateBuffer + vkAllocateMemory + vkBindBufferMemory, nothing of sedx;
 *   - raw vkCmdCopyBuffer through sedx's one-time command buffers (the device layer: begin,
 *     submit, wait on the timeline), on the main or the transfer-only queue;
 *   - a plain compute-shader copy (tools/bench/shaders/bench_copy.comp) with its own pipeline.
 * All of them return seconds, or a negative value when something failed.
 */
#include "bench_limits.h"

#include "bench_copy_spv.h"

#include <pthread.h>
#include <stdatomic.h>
#include <stdbool.h>
#include <stdlib.h>
#include <string.h>

static double now_s(void) { return (double)sedx_time_ns() * 1e-9; }

/* ---------------------------------------------------------------- parallel memcpy */

typedef struct mc_job {
    uint8_t *dst;
    const uint8_t *src;
    size_t n;
    pthread_barrier_t *ready, *start, *end;
} mc_job;

/* ready: every thread is up; the caller reads the clock, then start lets them go (no worker can
 * begin before the clock is read, however the threads are scheduled); end: all done. */
static void *mc_worker(void *p)
{
    mc_job *j = p;
    pthread_barrier_wait(j->ready);
    pthread_barrier_wait(j->start);
    memcpy(j->dst, j->src, j->n);
    pthread_barrier_wait(j->end);
    return NULL;
}

double bench_parallel_memcpy(void *dst, const void *src, size_t n, int threads)
{
    if (threads < 1) threads = 1;
    if (threads > BENCH_MAX_MEMCPY_THREADS) threads = BENCH_MAX_MEMCPY_THREADS;
    if (threads == 1) {
        double t0 = now_s();
        memcpy(dst, src, n);
        return now_s() - t0;
    }
    /* slices of whole 4 KiB pages, the last one takes the rest */
    size_t slice = (n / (size_t)threads) & ~(size_t)4095;
    pthread_barrier_t ready, start, end;
    pthread_barrier_init(&ready, NULL, (unsigned)threads);
    pthread_barrier_init(&start, NULL, (unsigned)threads);
    pthread_barrier_init(&end, NULL, (unsigned)threads);
    pthread_t tid[BENCH_MAX_MEMCPY_THREADS];
    mc_job jobs[BENCH_MAX_MEMCPY_THREADS];
    int started = 0;
    for (int i = 1; i < threads; ++i) {
        size_t off = slice * (size_t)i;
        size_t len = i == threads - 1 ? n - off : slice;
        jobs[i] = (mc_job){(uint8_t *)dst + off, (const uint8_t *)src + off, len, &ready, &start, &end};
        if (pthread_create(&tid[i], NULL, mc_worker, &jobs[i]) != 0) break;
        started++;
    }
    double t = -1;
    if (started == threads - 1) {
        pthread_barrier_wait(&ready);
        double t0 = now_s();
        pthread_barrier_wait(&start);
        memcpy(dst, src, slice);
        pthread_barrier_wait(&end);
        t = now_s() - t0;
    } else {
        fprintf(stderr, "sedx-bench: pthread_create failed\n");
        exit(1); /* the started workers wait on a barrier that will never fill */
    }
    for (int i = 1; i < threads; ++i) pthread_join(tid[i], NULL);
    pthread_barrier_destroy(&ready);
    pthread_barrier_destroy(&start);
    pthread_barrier_destroy(&end);
    return t;
}

/* ---------------------------------------------------------------- the host and the DMA at once */

typedef struct ov_job {
    uint8_t *dst;
    const uint8_t *src;
    size_t n;
    atomic_bool *stop;
    _Atomic uint64_t *bytes;
    pthread_barrier_t *ready;
} ov_job;

/* Copies its slice again and again, 1 MiB at a time, counting bytes, until told to stop. */
static void *ov_worker(void *p)
{
    ov_job *j = p;
    const size_t piece = 1u << 20;
    pthread_barrier_wait(j->ready);
    for (size_t off = 0; !atomic_load_explicit(j->stop, memory_order_relaxed);) {
        size_t c = j->n - off < piece ? j->n - off : piece;
        memcpy(j->dst + off, j->src + off, c);
        atomic_fetch_add_explicit(j->bytes, c, memory_order_relaxed);
        off = off + c >= j->n ? 0 : off + c;
    }
    return NULL;
}

int bench_overlap(sedx_context *ctx, sedx_queue queue, VkBuffer dma_src, VkBuffer dma_dst, const VkBufferCopy *dma,
                  uint32_t dma_repeat, void *mc_dst, const void *mc_src, size_t mc_size, int threads,
                  double *dma_gbps, double *mc_gbps)
{
    if (threads < 1) threads = 1;
    if (threads > BENCH_MAX_MEMCPY_THREADS) threads = BENCH_MAX_MEMCPY_THREADS;
    size_t slice = (mc_size / (size_t)threads) & ~(size_t)4095;
    if (!slice) return 1;
    atomic_bool stop = false;
    _Atomic uint64_t bytes = 0;
    pthread_barrier_t ready;
    pthread_barrier_init(&ready, NULL, (unsigned)threads + 1);
    pthread_t tid[BENCH_MAX_MEMCPY_THREADS];
    ov_job jobs[BENCH_MAX_MEMCPY_THREADS];
    for (int i = 0; i < threads; ++i) {
        size_t off = slice * (size_t)i;
        jobs[i] = (ov_job){(uint8_t *)mc_dst + off, (const uint8_t *)mc_src + off, slice, &stop, &bytes, &ready};
        if (pthread_create(&tid[i], NULL, ov_worker, &jobs[i]) != 0) {
            fprintf(stderr, "sedx-bench: pthread_create failed\n");
            exit(1); /* the started workers wait on a barrier that will never fill */
        }
    }
    pthread_barrier_wait(&ready);
    double t0 = now_s();
    uint64_t b0 = atomic_load(&bytes);
    double t = bench_raw_copy(ctx, queue, dma_src, dma_dst, 0, dma_repeat, 1, dma);
    uint64_t b1 = atomic_load(&bytes);
    double t1 = now_s();
    atomic_store(&stop, true);
    for (int i = 0; i < threads; ++i) pthread_join(tid[i], NULL);
    pthread_barrier_destroy(&ready);
    if (t <= 0) return 1;
    *dma_gbps = (double)dma->size * dma_repeat / t / 1e9;
    *mc_gbps = (double)(b1 - b0) / (t1 - t0) / 1e9;
    return 0;
}

/* ---------------------------------------------------------------- raw buffers */

static int popcount32(uint32_t x)
{
    int c = 0;
    for (; x; x &= x - 1) c++;
    return c;
}

/* The allowed type with every `required` flag that misses the fewest `preferred` flags and has
 * the fewest `avoided` ones (the lowest index on a tie); -1 when none. */
static int pick_type(const VkPhysicalDeviceMemoryProperties *mp, uint32_t bits, VkMemoryPropertyFlags required,
                     VkMemoryPropertyFlags preferred, VkMemoryPropertyFlags avoided)
{
    int best = -1, best_cost = 1 << 20;
    for (uint32_t i = 0; i < mp->memoryTypeCount; ++i) {
        VkMemoryPropertyFlags f = mp->memoryTypes[i].propertyFlags;
        if (!(bits & (1u << i)) || (f & required) != required) continue;
        int cost = popcount32(preferred & ~f) + popcount32(avoided & f);
        if (cost < best_cost) {
            best = (int)i;
            best_cost = cost;
        }
    }
    return best;
}

int bench_raw_buffer_create(sedx_context *ctx, uint64_t size, VkBufferUsageFlags usage, bench_raw_kind kind,
                            bench_raw_buffer *out)
{
    memset(out, 0, sizeof *out);
    VkDevice dev = sedx_context_device(ctx);
    VkBufferCreateInfo bci = {VK_STRUCTURE_TYPE_BUFFER_CREATE_INFO};
    bci.size = size;
    bci.usage = usage;
    /* as sedx creates its buffers: shared by the main and the transfer-only queue when there is one */
    uint32_t families[2];
    sedx_context_queue(ctx, SEDX_QUEUE_GRAPHICS, &families[0]);
    sedx_context_queue(ctx, SEDX_QUEUE_TRANSFER, &families[1]);
    if (sedx_context_has_transfer_queue(ctx) && families[0] != families[1]) {
        bci.sharingMode = VK_SHARING_MODE_CONCURRENT;
        bci.queueFamilyIndexCount = 2;
        bci.pQueueFamilyIndices = families;
    }
    if (vkCreateBuffer(dev, &bci, NULL, &out->buffer) != VK_SUCCESS) return 1;
    VkMemoryRequirements mr;
    vkGetBufferMemoryRequirements(dev, out->buffer, &mr);
    const VkPhysicalDeviceMemoryProperties *mp = sedx_context_memory_properties(ctx);
    const VkMemoryPropertyFlags HV = VK_MEMORY_PROPERTY_HOST_VISIBLE_BIT, HC = VK_MEMORY_PROPERTY_HOST_COHERENT_BIT,
                                CA = VK_MEMORY_PROPERTY_HOST_CACHED_BIT, DL = VK_MEMORY_PROPERTY_DEVICE_LOCAL_BIT;
    int type = -1;
    switch (kind) {
    case BENCH_RAW_HOST_UPLOAD: /* system memory, write-combined where there is such a type (a staging buffer) */
        type = pick_type(mp, mr.memoryTypeBits, HV | HC, 0, DL | CA);
        break;
    case BENCH_RAW_HOST_READBACK: /* system memory, cached (a readback buffer) */
        type = pick_type(mp, mr.memoryTypeBits, HV, CA | HC, DL);
        break;
    case BENCH_RAW_DEVICE: /* device memory, not the host-visible (ReBAR) window when there is a choice */
        type = pick_type(mp, mr.memoryTypeBits, DL, 0, HV);
        if (type < 0) type = pick_type(mp, mr.memoryTypeBits, 0, 0, 0);
        break;
    }
    VkMemoryAllocateInfo ai = {VK_STRUCTURE_TYPE_MEMORY_ALLOCATE_INFO};
    ai.allocationSize = mr.size;
    ai.memoryTypeIndex = (uint32_t)type;
    if (type < 0 || vkAllocateMemory(dev, &ai, NULL, &out->memory) != VK_SUCCESS ||
        vkBindBufferMemory(dev, out->buffer, out->memory, 0) != VK_SUCCESS) {
        bench_raw_buffer_destroy(ctx, out);
        return 1;
    }
    out->size = size;
    out->memory_type = (uint32_t)type;
    out->flags = mp->memoryTypes[type].propertyFlags;
    if ((out->flags & HV) && vkMapMemory(dev, out->memory, 0, VK_WHOLE_SIZE, 0, &out->mapped) != VK_SUCCESS) {
        bench_raw_buffer_destroy(ctx, out);
        return 1;
    }
    return 0;
}

void bench_raw_buffer_destroy(sedx_context *ctx, bench_raw_buffer *b)
{
    VkDevice dev = sedx_context_device(ctx);
    if (b->buffer) vkDestroyBuffer(dev, b->buffer, NULL);
    if (b->memory) vkFreeMemory(dev, b->memory, NULL); /* unmaps */
    memset(b, 0, sizeof *b);
}

void bench_memory_flags_string(VkMemoryPropertyFlags f, char *s, size_t cap)
{
    snprintf(s, cap, "%s%s%s%s", (f & VK_MEMORY_PROPERTY_DEVICE_LOCAL_BIT) ? "DEVICE_LOCAL " : "",
             (f & VK_MEMORY_PROPERTY_HOST_VISIBLE_BIT) ? "HOST_VISIBLE " : "",
             (f & VK_MEMORY_PROPERTY_HOST_COHERENT_BIT) ? "HOST_COHERENT " : "",
             (f & VK_MEMORY_PROPERTY_HOST_CACHED_BIT) ? "HOST_CACHED " : "");
    size_t n = strlen(s);
    if (n) s[n - 1] = 0;
    else snprintf(s, cap, "none");
}

/* ---------------------------------------------------------------- raw copies */

static void full_barrier(VkCommandBuffer cb)
{
    VkMemoryBarrier mb = {VK_STRUCTURE_TYPE_MEMORY_BARRIER};
    mb.srcAccessMask = VK_ACCESS_MEMORY_WRITE_BIT;
    mb.dstAccessMask = VK_ACCESS_MEMORY_READ_BIT | VK_ACCESS_MEMORY_WRITE_BIT;
    vkCmdPipelineBarrier(cb, VK_PIPELINE_STAGE_ALL_COMMANDS_BIT, VK_PIPELINE_STAGE_ALL_COMMANDS_BIT, 0, 1, &mb, 0, NULL,
                         0, NULL);
}

double bench_raw_copy(sedx_context *ctx, sedx_queue queue, VkBuffer src, VkBuffer dst, uint64_t size, uint32_t repeat,
                      uint32_t regions, const VkBufferCopy *r)
{
    sedx_cmd cmd;
    if (sedx_cmd_begin(ctx, queue, &cmd) != SEDX_SUCCESS) return -1;
    VkBufferCopy whole = {0, 0, size};
    double t0 = now_s();
    full_barrier(cmd.cmd);
    for (uint32_t k = 0; k < (repeat ? repeat : 1); ++k) {
        if (k) full_barrier(cmd.cmd); /* the copies write the same bytes: one after the other */
        vkCmdCopyBuffer(cmd.cmd, src, dst, regions ? regions : 1, regions ? r : &whole);
    }
    sedx_ticket t;
    if (sedx_cmd_submit(ctx, &cmd, NULL, &t) != SEDX_SUCCESS) return -1;
    if (sedx_ticket_wait(ctx, t, UINT64_MAX) != SEDX_SUCCESS) return -1;
    return now_s() - t0;
}

/* ---------------------------------------------------------------- compute copy */

int bench_compute_copy_create(sedx_context *ctx, bench_compute_copy *out)
{
    memset(out, 0, sizeof *out);
    if (!(sedx_context_features(ctx) & SEDX_FEATURE_BUFFER_DEVICE_ADDRESS)) return 1;
    VkDevice dev = sedx_context_device(ctx);
    VkShaderModuleCreateInfo si = {VK_STRUCTURE_TYPE_SHADER_MODULE_CREATE_INFO};
    si.codeSize = sizeof sedx__spv_bench_copy;
    si.pCode = sedx__spv_bench_copy;
    VkShaderModule sm;
    if (vkCreateShaderModule(dev, &si, NULL, &sm) != VK_SUCCESS) return 1;
    VkPushConstantRange pcr = {VK_SHADER_STAGE_COMPUTE_BIT, 0, 24};
    VkPipelineLayoutCreateInfo li = {VK_STRUCTURE_TYPE_PIPELINE_LAYOUT_CREATE_INFO};
    li.pushConstantRangeCount = 1;
    li.pPushConstantRanges = &pcr;
    VkResult vr = vkCreatePipelineLayout(dev, &li, NULL, &out->layout);
    if (vr == VK_SUCCESS) {
        VkComputePipelineCreateInfo pi = {VK_STRUCTURE_TYPE_COMPUTE_PIPELINE_CREATE_INFO};
        pi.stage = (VkPipelineShaderStageCreateInfo){VK_STRUCTURE_TYPE_PIPELINE_SHADER_STAGE_CREATE_INFO};
        pi.stage.stage = VK_SHADER_STAGE_COMPUTE_BIT;
        pi.stage.module = sm;
        pi.stage.pName = "main";
        pi.layout = out->layout;
        vr = vkCreateComputePipelines(dev, VK_NULL_HANDLE, 1, &pi, NULL, &out->pipeline);
    }
    vkDestroyShaderModule(dev, sm, NULL);
    if (vr != VK_SUCCESS) {
        bench_compute_copy_destroy(ctx, out);
        return 1;
    }
    out->max_groups = sedx_context_properties(ctx)->limits.maxComputeWorkGroupCount[0];
    return 0;
}

void bench_compute_copy_destroy(sedx_context *ctx, bench_compute_copy *c)
{
    VkDevice dev = sedx_context_device(ctx);
    if (c->pipeline) vkDestroyPipeline(dev, c->pipeline, NULL);
    if (c->layout) vkDestroyPipelineLayout(dev, c->layout, NULL);
    memset(c, 0, sizeof *c);
}

uint32_t bench_compute_copy_full_groups(const bench_compute_copy *c, uint64_t size)
{
    uint64_t g = (size / 16 + 255) / 256;
    if (g > c->max_groups) g = c->max_groups;
    return (uint32_t)(g ? g : 1);
}

double bench_compute_copy_run(sedx_context *ctx, const bench_compute_copy *c, VkDeviceAddress src,
                              VkDeviceAddress dst, uint64_t size, uint32_t groups, uint32_t repeat)
{
    if (!c->pipeline || !src || !dst || ((src | dst | size) & 15) || size / 16 > UINT32_MAX) return -1;
    sedx_cmd cmd;
    if (sedx_cmd_begin(ctx, SEDX_QUEUE_GRAPHICS, &cmd) != SEDX_SUCCESS) return -1;
    struct {
        uint64_t src, dst;
        uint32_t count, pad;
    } pc = {src, dst, (uint32_t)(size / 16), 0};
    double t0 = now_s();
    full_barrier(cmd.cmd);
    vkCmdBindPipeline(cmd.cmd, VK_PIPELINE_BIND_POINT_COMPUTE, c->pipeline);
    vkCmdPushConstants(cmd.cmd, c->layout, VK_SHADER_STAGE_COMPUTE_BIT, 0, sizeof pc, &pc);
    for (uint32_t k = 0; k < (repeat ? repeat : 1); ++k) {
        if (k) {
            VkMemoryBarrier mb = {VK_STRUCTURE_TYPE_MEMORY_BARRIER};
            mb.srcAccessMask = VK_ACCESS_SHADER_WRITE_BIT;
            mb.dstAccessMask = VK_ACCESS_SHADER_READ_BIT | VK_ACCESS_SHADER_WRITE_BIT;
            vkCmdPipelineBarrier(cmd.cmd, VK_PIPELINE_STAGE_COMPUTE_SHADER_BIT, VK_PIPELINE_STAGE_COMPUTE_SHADER_BIT, 0,
                                 1, &mb, 0, NULL, 0, NULL);
        }
        vkCmdDispatch(cmd.cmd, groups, 1, 1);
    }
    full_barrier(cmd.cmd);
    sedx_ticket t;
    if (sedx_cmd_submit(ctx, &cmd, NULL, &t) != SEDX_SUCCESS) return -1;
    if (sedx_ticket_wait(ctx, t, UINT64_MAX) != SEDX_SUCCESS) return -1;
    return now_s() - t0;
}

double bench_compute_copy_run_each(sedx_context *ctx, const bench_compute_copy *c, VkDeviceAddress src,
                                   VkDeviceAddress dst, uint64_t size, uint32_t groups, uint32_t repeat)
{
    if (!c->pipeline || !src || !dst || ((src | dst | size) & 15) || size / 16 > UINT32_MAX) return -1;
    struct {
        uint64_t src, dst;
        uint32_t count, pad;
    } pc = {src, dst, (uint32_t)(size / 16), 0};
    sedx_ticket t = {0};
    bool ok = true;
    double t0 = now_s();
    for (uint32_t k = 0; ok && k < (repeat ? repeat : 1); ++k) {
        sedx_cmd cmd;
        ok = sedx_cmd_begin(ctx, SEDX_QUEUE_GRAPHICS, &cmd) == SEDX_SUCCESS;
        if (!ok) break;
        full_barrier(cmd.cmd);
        vkCmdBindPipeline(cmd.cmd, VK_PIPELINE_BIND_POINT_COMPUTE, c->pipeline);
        vkCmdPushConstants(cmd.cmd, c->layout, VK_SHADER_STAGE_COMPUTE_BIT, 0, sizeof pc, &pc);
        vkCmdDispatch(cmd.cmd, groups, 1, 1);
        full_barrier(cmd.cmd);
        sedx_ticket tk;
        ok = sedx_cmd_submit(ctx, &cmd, NULL, &tk) == SEDX_SUCCESS;
        if (ok) t = tk;
    }
    /* the last submission that went in, also after a failure: nothing is left running behind the caller */
    if (t.value && sedx_ticket_wait(ctx, t, UINT64_MAX) != SEDX_SUCCESS) ok = false;
    return ok ? now_s() - t0 : -1;
}
