/* sedx-bench: bench_limits.c, what a transfer could reach, measured with no sedx transfer path in
 * between (sedx-bench upload). Each measuring call returns seconds, or a negative value on failure. */
#ifndef SEDX_BENCH_LIMITS_H
#define SEDX_BENCH_LIMITS_H
#include "bench.h"
#define BENCH_MAX_MEMCPY_THREADS 16
/* memcpy of n bytes split over `threads` threads (whole pages each), started together. */
double bench_parallel_memcpy(void *dst, const void *src, size_t n, int threads);
typedef enum bench_raw_kind {
    BENCH_RAW_HOST_UPLOAD,   /* HOST_VISIBLE | HOST_COHERENT, avoids DEVICE_LOCAL and HOST_CACHED */
    BENCH_RAW_HOST_READBACK, /* HOST_VISIBLE, prefers HOST_CACHED | HOST_COHERENT, avoids DEVICE_LOCAL */
    BENCH_RAW_DEVICE         /* DEVICE_LOCAL, avoids HOST_VISIBLE */
} bench_raw_kind;
typedef struct bench_raw_buffer {
    VkBuffer buffer;
    VkDeviceMemory memory;
    void *mapped; /* host-visible kinds: mapped whole */
    uint64_t size;
    uint32_t memory_type;
    VkMemoryPropertyFlags flags;
} bench_raw_buffer;
/* vkCreateBuffer + vkAllocateMemory (its own) + vkBindBufferMemory; 0 or 1 (failed, nothing left). */
int bench_raw_buffer_create(sedx_context *ctx, uint64_t size, VkBufferUsageFlags usage, bench_raw_kind kind,
                            bench_raw_buffer *out);
void bench_raw_buffer_destroy(sedx_context *ctx, bench_raw_buffer *b);
void bench_memory_flags_string(VkMemoryPropertyFlags f, char *s, size_t cap);
/* `repeat` vkCmdCopyBuffer of size bytes (or of `regions` regions r) in one command buffer on
 * queue, barriers between them, submitted and waited for. */
double bench_raw_copy(sedx_context *ctx, sedx_queue queue, VkBuffer src, VkBuffer dst, uint64_t size,
                      uint32_t repeat, uint32_t regions, const VkBufferCopy *r);
/* tools/bench/shaders/bench_copy.comp: uvec4 grid-stride copy by buffer device address. */
typedef struct bench_compute_copy {
    VkPipeline pipeline;
    VkPipelineLayout layout;
    uint32_t max_groups; /* maxComputeWorkGroupCount[0] */
} bench_compute_copy;
int bench_compute_copy_create(sedx_context *ctx, bench_compute_copy *out); /* 1: no BDA or failed */
void bench_compute_copy_destroy(sedx_context *ctx, bench_compute_copy *c);
/* One invocation per 16 bytes, within the device's limit. */
uint32_t bench_compute_copy_full_groups(const bench_compute_copy *c, uint64_t size);
/* `repeat` dispatches of `groups` workgroups copying size bytes (16-byte aligned), barriers between. */
double bench_compute_copy_run(sedx_context *ctx, const bench_compute_copy *c, VkDeviceAddress src,
                              VkDeviceAddress dst, uint64_t size, uint32_t groups, uint32_t repeat);
/* The same copies, one submission each (a full barrier before and after each, as sedx_gpu_copy
 * records them), waiting only for the last: what one submission per copy costs. */
double bench_compute_copy_run_each(sedx_context *ctx, const bench_compute_copy *c, VkDeviceAddress src,
                                   VkDeviceAddress dst, uint64_t size, uint32_t groups, uint32_t repeat);
/* The host and the copy engine at once, as a pipelined transfer runs them: `threads` threads
 * memcpy mc_src -> mc_dst (mc_size bytes, over and over) while dma_repeat copies `dma` run on
 * queue in one submission; each one's rate while the other runs. 0, or 1 on failure. */
int bench_overlap(sedx_context *ctx, sedx_queue queue, VkBuffer dma_src, VkBuffer dma_dst, const VkBufferCopy *dma,
                  uint32_t dma_repeat, void *mc_dst, const void *mc_src, size_t mc_size, int threads,
                  double *dma_gbps, double *mc_gbps);
#endif
