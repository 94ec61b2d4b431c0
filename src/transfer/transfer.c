/*
 * Transfers: the seed's CopyBuffer / CopyBufferToImage, the staging ring, upload batches,
 * direct writes, the compute scatter for small uploads, readback and device copies.
 *
 * Ring: one host-visible buffer used as a FIFO of byte ranges. `head` and `tail` count bytes
 * ever allocated / reclaimed (monotonic, never wrap in practice); an allocation that would
 * straddle the end skips to the start. Every submission that consumed ring space records
 * {head at submit, ticket}; reclaiming pops those whose ticket passed, in order.
 */
#include "buffer/buffer.h"
#include "core/format.h"
#include <sedx/transfer.h>

#include <stdlib.h>
#include <sched.h>
#include <unistd.h>

#include "copy_spv.h"
#include "scatter_spv.h"

#define TAG "TRANSFER"
#define FIFO_CAP 1024u
#define RING_ALIGN 16u /* ring allocations start 16-byte aligned (uvec4 scatter) */

typedef struct region {
    sedx_buffer_resource *dst;
    uint64_t src_offset; /* in the ring */
    uint64_t dst_offset;
    uint64_t size;
} region;

typedef struct ring {
    sedx_buffer buffer;
    uint8_t *ptr;
    uint64_t size, head, tail;
    uint64_t committed; /* head at the last commit: [committed, head) is the open batch's */
    VkDeviceAddress address;
    struct { uint64_t end; sedx_ticket ticket; } fifo[FIFO_CAP];
    uint32_t fifo_first, fifo_count;
} ring;

/* One copy of a parallel job list. */
typedef struct copy_job {
    uint8_t *dst;
    const uint8_t *src;
    size_t size;
    bool stream; /* non-temporal stores (destination is write-combined staging) */
} copy_job;

/* A pool of threads for copies (the caller works too): a job list whose entries workers take
 * one at a time. Workers sleep on a condition variable between lists: spinning was measured
 * slower on the H100 host (16 cores), because spinners starve the driver's own threads. */
typedef struct memcpy_pool {
    pthread_t threads[16];
    uint32_t count;
    pthread_mutex_t lock;
    pthread_cond_t wake, done;
    _Atomic uint64_t generation;
    _Atomic bool quit;
    const copy_job *_Atomic jobs;
    _Atomic uint32_t job_count;
    _Atomic uint32_t next, finished;
    _Atomic uint32_t active; /* threads inside pool_work: a list ends only when this is 0 */
} memcpy_pool;

struct sedx__transfer {
    pthread_mutex_t lock;
    sedx_transfer_info info;
    ring up, down;
    region *regions;
    uint32_t region_count, region_cap;
    sedx_buffer_resource **held; /* one reference per destination buffer of the open batch */
    uint32_t held_count, held_cap;
    uint64_t batch_id;
    uint64_t batch_bytes;
    sedx_ticket last_ticket;
    uint64_t last_value[SEDX_QUEUE_COUNT]; /* last value of sedx transfer submits per queue */
    bool use_transfer_queue, nvidia;
    uint32_t copy_groups; /* most workgroups of one compute copy (grid-stride beyond) */
    bool scatter;         /* small uploads by compute dispatch (discrete GPUs; see docs/transfer.md) */
    bool small_copy_libc; /* SEDX_SMALL_COPY=libc: glibc memcpy for small copies into the ring (A/B knob) */
    /* compute */
    VkPipelineLayout layout;
    VkPipeline copy_pipe, scatter_pipe;
    memcpy_pool pool;
    bool pool_started;
    sedx_transfer_stats stats;
};

static pthread_mutex_t g_init_lock = PTHREAD_MUTEX_INITIALIZER;

/* ------------------------------------------------------------------------------------------
 * Parallel memcpy
 * ---------------------------------------------------------------------------------------- */
#if defined(__SSE2__)
#include <emmintrin.h>
/* Copy with non-temporal stores: large copies into staging (write-combined) memory or out of
 * it into user memory do not pull the destination into the cache first. */
static void stream_copy(uint8_t *dst, const uint8_t *src, size_t n)
{
    size_t head = (16 - ((uintptr_t)dst & 15)) & 15;
    if (head > n) head = n;
    memcpy(dst, src, head);
    dst += head;
    src += head;
    n -= head;
    for (; n >= 64; n -= 64, dst += 64, src += 64) {
        __m128i a = _mm_loadu_si128((const __m128i *)src), b = _mm_loadu_si128((const __m128i *)(src + 16));
        __m128i c = _mm_loadu_si128((const __m128i *)(src + 32)), d = _mm_loadu_si128((const __m128i *)(src + 48));
        _mm_stream_si128((__m128i *)dst, a);
        _mm_stream_si128((__m128i *)(dst + 16), b);
        _mm_stream_si128((__m128i *)(dst + 32), c);
        _mm_stream_si128((__m128i *)(dst + 48), d);
    }
    memcpy(dst, src, n);
    _mm_sfence();
}
#else
static void stream_copy(uint8_t *dst, const uint8_t *src, size_t n) { memcpy(dst, src, n); }
#endif

static void pool_work(memcpy_pool *p)
{
    /* While any thread is in here, run_jobs does not return, so no thread can hold an index
     * of one list while the next list is being set up. */
    atomic_fetch_add(&p->active, 1);
    for (;;) {
        uint32_t i = atomic_fetch_add(&p->next, 1);
        uint32_t n = atomic_load(&p->job_count);
        if (i >= n) break;
        const copy_job *j = &atomic_load(&p->jobs)[i];
        if (j->stream) stream_copy(j->dst, j->src, j->size);
        else memcpy(j->dst, j->src, j->size);
        if (atomic_fetch_add(&p->finished, 1) + 1 == n) {
            pthread_mutex_lock(&p->lock);
            pthread_cond_signal(&p->done);
            pthread_mutex_unlock(&p->lock);
        }
    }
    atomic_fetch_sub(&p->active, 1);
}

static void *pool_thread(void *arg)
{
    memcpy_pool *p = arg;
    uint64_t seen = 0;
    for (;;) {
        if (atomic_load(&p->generation) == seen) {
            pthread_mutex_lock(&p->lock);
            while (!atomic_load(&p->quit) && atomic_load(&p->generation) == seen) pthread_cond_wait(&p->wake, &p->lock);
            pthread_mutex_unlock(&p->lock);
        }
        if (atomic_load(&p->quit)) break;
        seen = atomic_load(&p->generation);
        pool_work(p);
    }
    return NULL;
}

static void pool_start(memcpy_pool *p, uint32_t threads)
{
    pthread_mutex_init(&p->lock, NULL);
    pthread_cond_init(&p->wake, NULL);
    pthread_cond_init(&p->done, NULL);
    p->count = 0;
    for (uint32_t i = 0; i < threads && i < SEDX__COUNTOF(p->threads); ++i) {
        if (pthread_create(&p->threads[i], NULL, pool_thread, p) != 0) break;
        p->count++;
    }
}

static void pool_stop(memcpy_pool *p)
{
    pthread_mutex_lock(&p->lock);
    atomic_store(&p->quit, true);
    pthread_cond_broadcast(&p->wake);
    pthread_mutex_unlock(&p->lock);
    for (uint32_t i = 0; i < p->count; ++i) pthread_join(p->threads[i], NULL);
    pthread_mutex_destroy(&p->lock);
    pthread_cond_destroy(&p->wake);
    pthread_cond_destroy(&p->done);
}

/* Runs every job, over the pool's threads when there is enough work. One list at a time
 * (callers hold the transfer lock). */
static void run_jobs(memcpy_pool *p, const copy_job *jobs, uint32_t count, size_t total_bytes)
{
    if (p->count == 0 || count < 2 || total_bytes < (1u << 20)) {
        for (uint32_t i = 0; i < count; ++i) {
            if (jobs[i].stream) stream_copy(jobs[i].dst, jobs[i].src, jobs[i].size);
            else memcpy(jobs[i].dst, jobs[i].src, jobs[i].size);
        }
        return;
    }
    /* A worker still waking up from the previous list may fetch `next` at any moment: park the
     * counter out of range while the list changes, then open it. */
    atomic_store(&p->next, UINT32_MAX / 2);
    atomic_store(&p->jobs, jobs);
    atomic_store(&p->finished, 0);
    atomic_store(&p->job_count, count);
    atomic_store(&p->next, 0);
    pthread_mutex_lock(&p->lock);
    atomic_fetch_add(&p->generation, 1);
    pthread_cond_broadcast(&p->wake);
    pthread_mutex_unlock(&p->lock);
    pool_work(p);
    pthread_mutex_lock(&p->lock);
    while (atomic_load(&p->finished) != count) pthread_cond_wait(&p->done, &p->lock);
    pthread_mutex_unlock(&p->lock);
    while (atomic_load(&p->active) != 0) sched_yield(); /* stragglers leave at once: nothing left */
}

/* memcpy, split into 4 page-aligned pieces per thread for large sizes. */
static void fast_memcpy(memcpy_pool *p, void *dst, const void *src, size_t size)
{
    if (p->count == 0 || size < (2u << 20)) {
        memcpy(dst, src, size);
        return;
    }
    copy_job jobs[64];
    uint32_t n = SEDX__MIN((p->count + 1) * 4, (uint32_t)SEDX__COUNTOF(jobs));
    size_t piece = (size / n + 4095) & ~(size_t)4095;
    uint32_t k = 0;
    for (size_t off = 0; off < size; off += piece, ++k)
        jobs[k] = (copy_job){(uint8_t *)dst + off, (const uint8_t *)src + off, SEDX__MIN(piece, size - off), false};
    run_jobs(p, jobs, k, size);
}

/* ------------------------------------------------------------------------------------------
 * Set-up
 * ---------------------------------------------------------------------------------------- */
static sedx_result create_pipeline(sedx_context *ctx, struct sedx__transfer *t, const uint32_t *code, size_t bytes,
                                   VkPipeline *out)
{
    VkShaderModuleCreateInfo mi = {VK_STRUCTURE_TYPE_SHADER_MODULE_CREATE_INFO};
    mi.codeSize = bytes;
    mi.pCode = code;
    VkShaderModule module;
    VkResult vr = vkCreateShaderModule(ctx->device, &mi, NULL, &module);
    if (vr != VK_SUCCESS) return SEDX__VK(vr, "vkCreateShaderModule");
    VkComputePipelineCreateInfo pci = {VK_STRUCTURE_TYPE_COMPUTE_PIPELINE_CREATE_INFO};
    pci.stage.sType = VK_STRUCTURE_TYPE_PIPELINE_SHADER_STAGE_CREATE_INFO;
    pci.stage.stage = VK_SHADER_STAGE_COMPUTE_BIT;
    pci.stage.module = module;
    pci.stage.pName = "main";
    pci.layout = t->layout;
    vr = vkCreateComputePipelines(ctx->device, VK_NULL_HANDLE, 1, &pci, NULL, out);
    vkDestroyShaderModule(ctx->device, module, NULL);
    if (vr != VK_SUCCESS) return SEDX__VK(vr, "vkCreateComputePipelines");
    return SEDX_SUCCESS;
}

static sedx_result ring_init(sedx_context *ctx, ring *r, uint64_t size, bool upload)
{
    sedx_buffer_create_info ci = {0};
    ci.size = size;
    ci.memory = SEDX_MEMORY_CPU;
    ci.usage = upload ? SEDX_BUFFER_USAGE_TRANSFER_SRC : SEDX_BUFFER_USAGE_TRANSFER_DST;
    ci.host_access = upload ? SEDX_HOST_ACCESS_SEQUENTIAL_WRITE : SEDX_HOST_ACCESS_READBACK;
    ci.name = upload ? "sedx staging ring" : "sedx readback ring";
    ci.alignment = 256;
    sedx_result res = sedx__buffer_create(ctx, &ci, SEDX__BUFFER_INTERNAL | (upload ? SEDX__BUFFER_STAGING : 0),
                                          &r->buffer);
    if (res != SEDX_SUCCESS) return res;
    r->ptr = r->buffer.data;
    r->size = size;
    r->address = r->buffer.resource->address;
    return SEDX_SUCCESS;
}

#define RING_MIN (64u << 10) /* the smallest ring: staging_size / readback_size below it are refused */

/* Rings are created on first need, not with the transfer layer: a context whose uploads all
 * go straight into host-visible memory never allocates one, and a heap at its budget does not
 * stop those uploads. When the configured size does not fit (budget, device memory), smaller
 * rings are tried down to RING_MIN: a smaller ring only means more, smaller pieces. Lock held. */
static sedx_result ring_ensure(sedx_context *ctx, struct sedx__transfer *t, ring *r)
{
    if (r->ptr) return SEDX_SUCCESS;
    bool upload = r == &t->up;
    uint64_t size = r->size;
    sedx_result res;
    while ((res = ring_init(ctx, r, size, upload)) != SEDX_SUCCESS) {
        bool no_room = res == SEDX_ERROR_OVER_BUDGET || res == SEDX_ERROR_OUT_OF_DEVICE_MEMORY;
        if (!no_room || size <= RING_MIN) return res;
        uint64_t tried = size;
        size = SEDX__MAX(sedx__align_up(size / 2, 256), RING_MIN);
        SEDX_LOG_WARN_TAG(TAG, "%s ring: %llu KiB do not fit (%s); trying %llu KiB", upload ? "staging" : "readback",
                          (unsigned long long)(tried >> 10), sedx_result_name(res), (unsigned long long)(size >> 10));
    }
    if (upload) t->stats.staging_size = r->size;
    else t->stats.readback_size = r->size;
    return SEDX_SUCCESS;
}

static sedx_result check_range(const sedx_buffer_resource *res, uint64_t offset, uint64_t size, const char *what)
{
    if (offset > res->size || size > res->size - offset)
        return SEDX__ERR(SEDX_ERROR_OUT_OF_BOUNDS, TAG, "%s: buffer '%s': [%llu, +%llu) is outside its %llu bytes",
                         what, res->name, (unsigned long long)offset, (unsigned long long)size,
                         (unsigned long long)res->size);
    return SEDX_SUCCESS;
}

static void transfer_free(sedx_context *ctx, struct sedx__transfer *t)
{
    if (t->pool_started) pool_stop(&t->pool);
    sedx_buffer_release(&t->up.buffer);
    sedx_buffer_release(&t->down.buffer);
    if (t->copy_pipe) vkDestroyPipeline(ctx->device, t->copy_pipe, NULL);
    if (t->scatter_pipe) vkDestroyPipeline(ctx->device, t->scatter_pipe, NULL);
    if (t->layout) vkDestroyPipelineLayout(ctx->device, t->layout, NULL);
    sedx__free(t->regions);
    sedx__free(t->held);
    pthread_mutex_destroy(&t->lock);
    sedx__free(t);
}

void sedx__transfer_destroy(sedx_context *ctx);
static sedx_result wait_all(sedx_context *ctx, struct sedx__transfer *t);
static sedx_result batch_submit(sedx_context *ctx, struct sedx__transfer *t, sedx_ticket *out);

void sedx__transfer_destroy(sedx_context *ctx)
{
    struct sedx__transfer *t = ctx->transfer;
    if (!t) return;
    /* uploads still in the open batch are the application's data: submit them and wait (their
     * buffers' references are dropped by the submit) rather than drop them */
    pthread_mutex_lock(&t->lock);
    if (t->region_count && batch_submit(ctx, t, NULL) == SEDX_SUCCESS) wait_all(ctx, t);
    pthread_mutex_unlock(&t->lock);
    ctx->transfer = NULL;
    transfer_free(ctx, t);
}

static sedx_result transfer_create(sedx_context *ctx, const sedx_transfer_info *info, struct sedx__transfer **out)
{
    struct sedx__transfer *t = sedx__calloc(1, sizeof *t);
    if (!t) return SEDX__ERR(SEDX_ERROR_OUT_OF_HOST_MEMORY, TAG, "out of host memory");
    pthread_mutex_init(&t->lock, NULL);
    if (info) t->info = *info;
    const char *small = getenv("SEDX_SMALL_COPY");
    t->small_copy_libc = small && strcmp(small, "libc") == 0;
    const char *env_ring = getenv("SEDX_STAGING_MB"); /* benchmark knob: staging ring size */
    if (env_ring && atoi(env_ring) > 0) t->info.staging_size = (uint64_t)atoi(env_ring) << 20;
    const char *env_flags = getenv("SEDX_TRANSFER_FLAGS"); /* benchmark knob: extra sedx_transfer_flag_bits */
    if (env_flags) t->info.flags |= (uint32_t)strtoul(env_flags, NULL, 0);
    bool cpu_device = ctx->props.deviceType == VK_PHYSICAL_DEVICE_TYPE_CPU;
    if (!t->info.staging_size) t->info.staging_size = cpu_device ? (16u << 20) : (64u << 20);
    if (!t->info.readback_size) t->info.readback_size = cpu_device ? (8u << 20) : (64u << 20);
    t->info.staging_size = sedx__align_up(SEDX__MAX(t->info.staging_size, RING_MIN), 256);
    if (!t->info.staging_max) t->info.staging_max = t->info.staging_size * 4;
    t->info.staging_max = SEDX__MAX(t->info.staging_max, t->info.staging_size);
    t->info.readback_size = sedx__align_up(SEDX__MAX(t->info.readback_size, RING_MIN), 256);
    if (!t->info.memcpy_threads) {
        long n = sysconf(_SC_NPROCESSORS_ONLN);
        t->info.memcpy_threads = (uint32_t)SEDX__MAX(1, SEDX__MIN(n - 1, 15) + 1);
    }
    t->nvidia = ctx->props.vendorID == 0x10DE;
    /* measured: H100 one dispatch 4.2x one vkCmdCopyBuffer with 16,384 regions; lavapipe runs
     * the shader on the CPU and is 10x slower than its copy command */
    t->scatter = !(t->info.flags & SEDX_TRANSFER_NO_SCATTER) &&
                 (ctx->props.deviceType == VK_PHYSICAL_DEVICE_TYPE_DISCRETE_GPU ||
                  (t->info.flags & SEDX_TRANSFER_FORCE_SCATTER));
    const char *groups = getenv("SEDX_COPY_GROUPS"); /* tuning knob for benchmarks */
    t->copy_groups = groups && atoi(groups) > 0 ? (uint32_t)atoi(groups) : 65535u;
    t->use_transfer_queue = ctx->queues[SEDX_QUEUE_TRANSFER].present && !(t->info.flags & SEDX_TRANSFER_NO_TRANSFER_QUEUE);
    t->up.size = t->info.staging_size; /* the rings themselves: ring_ensure */
    t->down.size = t->info.readback_size;
    sedx_result r = SEDX_SUCCESS;
    if (ctx->features & SEDX_FEATURE_BUFFER_DEVICE_ADDRESS) {
        VkPushConstantRange pcr = {VK_SHADER_STAGE_COMPUTE_BIT, 0, 24};
        VkPipelineLayoutCreateInfo li = {VK_STRUCTURE_TYPE_PIPELINE_LAYOUT_CREATE_INFO};
        li.pushConstantRangeCount = 1;
        li.pPushConstantRanges = &pcr;
        VkResult vr = vkCreatePipelineLayout(ctx->device, &li, NULL, &t->layout);
        if (vr != VK_SUCCESS) r = SEDX__VK(vr, "vkCreatePipelineLayout");
        if (r == SEDX_SUCCESS) r = create_pipeline(ctx, t, sedx__spv_copy, sizeof sedx__spv_copy, &t->copy_pipe);
        if (r == SEDX_SUCCESS)
            r = create_pipeline(ctx, t, sedx__spv_scatter, sizeof sedx__spv_scatter, &t->scatter_pipe);
    }
    if (r != SEDX_SUCCESS) {
        transfer_free(ctx, t);
        return r;
    }
    if (t->info.memcpy_threads > 1) {
        pool_start(&t->pool, t->info.memcpy_threads - 1);
        t->pool_started = true;
    }
    t->stats.staging_size = t->info.staging_size;
    t->stats.readback_size = t->info.readback_size;
    t->stats.memcpy_threads = t->pool.count + 1;
    t->stats.transfer_queue = t->use_transfer_queue;
    *out = t;
    SEDX_LOG_DEBUG_TAG(TAG, "staging ring %llu KiB, readback ring %llu KiB, %u memcpy threads, uploads on the %s queue",
                       (unsigned long long)(t->info.staging_size >> 10), (unsigned long long)(t->info.readback_size >> 10),
                       t->pool.count + 1, t->use_transfer_queue ? "transfer" : "main");
    return SEDX_SUCCESS;
}

static struct sedx__transfer *get_transfer(sedx_context *ctx, sedx_result *r)
{
    struct sedx__transfer *t = atomic_load((_Atomic(struct sedx__transfer *) *)&ctx->transfer);
    if (t) {
        *r = SEDX_SUCCESS;
        return t;
    }
    pthread_mutex_lock(&g_init_lock);
    t = ctx->transfer;
    *r = SEDX_SUCCESS;
    if (!t) {
        *r = transfer_create(ctx, NULL, &t);
        if (*r == SEDX_SUCCESS) atomic_store((_Atomic(struct sedx__transfer *) *)&ctx->transfer, t);
    }
    pthread_mutex_unlock(&g_init_lock);
    return *r == SEDX_SUCCESS ? t : NULL;
}

static sedx_result check_transfer_info(const sedx_transfer_info *info)
{
    const char *fn = "sedx_transfer_configure";
    if (info->flags & ~(uint32_t)SEDX_TRANSFER_FLAGS_ALL)
        return SEDX__ERR(SEDX_ERROR_INVALID_ARGUMENT, TAG, "%s: unknown flags 0x%x", fn,
                         info->flags & ~(uint32_t)SEDX_TRANSFER_FLAGS_ALL);
    uint32_t both = SEDX_TRANSFER_FORCE_COMPUTE_COPY | SEDX_TRANSFER_FORCE_COPY_COMMAND;
    if ((info->flags & both) == both)
        return SEDX__ERR(SEDX_ERROR_INVALID_ARGUMENT, TAG, "%s: FORCE_COMPUTE_COPY and FORCE_COPY_COMMAND together", fn);
    if ((info->staging_size && info->staging_size < RING_MIN) || (info->readback_size && info->readback_size < RING_MIN))
        return SEDX__ERR(SEDX_ERROR_INVALID_SIZE, TAG, "%s: staging_size %llu / readback_size %llu: at least %u bytes "
                         "(0 = default)", fn, (unsigned long long)info->staging_size,
                         (unsigned long long)info->readback_size, RING_MIN);
    if (info->staging_size > UINT64_MAX / 8 || info->readback_size > UINT64_MAX / 8)
        return SEDX__ERR(SEDX_ERROR_INVALID_SIZE, TAG, "%s: ring size overflows", fn);
    if (info->staging_max && info->staging_max < SEDX__MAX(info->staging_size, RING_MIN))
        return SEDX__ERR(SEDX_ERROR_INVALID_ARGUMENT, TAG, "%s: staging_max %llu is below staging_size", fn,
                         (unsigned long long)info->staging_max);
    if (info->memcpy_threads > 16)
        return SEDX__ERR(SEDX_ERROR_INVALID_ARGUMENT, TAG, "%s: memcpy_threads %u (at most 16)", fn,
                         info->memcpy_threads);
    return SEDX_SUCCESS;
}

sedx_result sedx_transfer_configure(sedx_context *ctx, const sedx_transfer_info *info)
{
    if (!ctx || !info) return SEDX__ERR(SEDX_ERROR_INVALID_ARGUMENT, TAG, "sedx_transfer_configure: NULL argument");
    sedx_result cr = check_transfer_info(info);
    if (cr != SEDX_SUCCESS) return cr;
    pthread_mutex_lock(&g_init_lock);
    sedx_result r = SEDX_SUCCESS;
    if (ctx->transfer) {
        r = SEDX__ERR(SEDX_ERROR_BUSY, TAG, "sedx_transfer_configure: transfers already started on this context");
    } else {
        struct sedx__transfer *t = NULL;
        r = transfer_create(ctx, info, &t);
        if (r == SEDX_SUCCESS) ctx->transfer = t;
    }
    pthread_mutex_unlock(&g_init_lock);
    return r;
}

/* ------------------------------------------------------------------------------------------
 * Submissions: every transfer submit waits for sedx's previous transfer submits on the other
 * queue, so uploads, copies and downloads run in the order they were called.
 * ---------------------------------------------------------------------------------------- */
static sedx_result submit_ordered(sedx_context *ctx, struct sedx__transfer *t, sedx_cmd *cmd, sedx_ticket *out)
{
    sedx_queue q = (sedx_queue)cmd->queue;
    sedx__queue *mine = sedx__ctx_queue(ctx, q);
    VkSemaphore waits[1];
    uint64_t values[1];
    VkPipelineStageFlags stages[1] = {VK_PIPELINE_STAGE_ALL_COMMANDS_BIT};
    sedx_submit_info si = {0, waits, values, stages};
    for (int other = 0; other < SEDX_QUEUE_COUNT; ++other) {
        sedx__queue *oq = sedx__ctx_queue(ctx, (sedx_queue)other);
        if (oq == mine || !t->last_value[other]) continue;
        if (atomic_load(&oq->completed) >= t->last_value[other]) continue;
        waits[0] = oq->timeline;
        values[0] = t->last_value[other];
        si.wait_count = 1;
    }
    sedx_ticket ticket;
    sedx_result r = sedx_cmd_submit(ctx, cmd, &si, &ticket);
    if (r != SEDX_SUCCESS) return r;
    t->last_value[ticket.queue] = ticket.value;
    t->last_ticket = ticket;
    if (out) *out = ticket;
    return SEDX_SUCCESS;
}

static void barrier(VkCommandBuffer cb, VkPipelineStageFlags src_stage, VkAccessFlags src_access,
                    VkPipelineStageFlags dst_stage, VkAccessFlags dst_access)
{
    VkMemoryBarrier mb = {VK_STRUCTURE_TYPE_MEMORY_BARRIER};
    mb.srcAccessMask = src_access;
    mb.dstAccessMask = dst_access;
    vkCmdPipelineBarrier(cb, src_stage, dst_stage, 0, 1, &mb, 0, NULL, 0, NULL);
}

/* Barriers around transfer work on queue q: before, earlier writes/reads of any command are
 * done (WAW/WAR); after, the writes are visible to every later command. */
static VkPipelineStageFlags work_stages(bool compute)
{
    return VK_PIPELINE_STAGE_TRANSFER_BIT | (compute ? VK_PIPELINE_STAGE_COMPUTE_SHADER_BIT : 0);
}
static void barrier_before(VkCommandBuffer cb, bool compute)
{
    barrier(cb, VK_PIPELINE_STAGE_ALL_COMMANDS_BIT, VK_ACCESS_MEMORY_WRITE_BIT, work_stages(compute),
            VK_ACCESS_TRANSFER_WRITE_BIT | VK_ACCESS_TRANSFER_READ_BIT |
                (compute ? VK_ACCESS_SHADER_WRITE_BIT | VK_ACCESS_SHADER_READ_BIT : 0));
}
static void barrier_after(VkCommandBuffer cb, bool compute)
{
    barrier(cb, work_stages(compute), VK_ACCESS_TRANSFER_WRITE_BIT | (compute ? VK_ACCESS_SHADER_WRITE_BIT : 0),
            VK_PIPELINE_STAGE_ALL_COMMANDS_BIT, VK_ACCESS_MEMORY_READ_BIT | VK_ACCESS_MEMORY_WRITE_BIT);
}

/* ------------------------------------------------------------------------------------------
 * Ring
 * ---------------------------------------------------------------------------------------- */
static void ring_reclaim(sedx_context *ctx, ring *r)
{
    while (r->fifo_count) {
        sedx_ticket tk = r->fifo[r->fifo_first].ticket;
        if (sedx_ticket_poll(ctx, tk) != SEDX_SUCCESS) break;
        r->tail = r->fifo[r->fifo_first].end;
        r->fifo_first = (r->fifo_first + 1) % FIFO_CAP;
        r->fifo_count--;
    }
    if (!r->fifo_count) r->tail = r->committed; /* nothing in flight; the open batch still owns the rest */
}

/* Marks everything allocated so far as in use until ticket passes. */
static void ring_commit(ring *r, sedx_ticket ticket)
{
    r->committed = r->head;
    if (r->fifo_count && r->fifo[(r->fifo_first + r->fifo_count - 1) % FIFO_CAP].end == r->head) {
        r->fifo[(r->fifo_first + r->fifo_count - 1) % FIFO_CAP].ticket = ticket; /* same range: newer ticket */
        return;
    }
    uint32_t i = (r->fifo_first + r->fifo_count) % FIFO_CAP;
    r->fifo[i].end = r->head;
    r->fifo[i].ticket = ticket;
    r->fifo_count++;
}

static sedx_result batch_submit(sedx_context *ctx, struct sedx__transfer *t, sedx_ticket *out);

/* Would size bytes (16-byte aligned) fit now? *pad receives the bytes skipped at the end. */
static bool ring_fits(const ring *r, uint64_t size, uint64_t *pad)
{
    uint64_t pos = r->head % r->size;
    *pad = (pos + size > r->size) ? r->size - pos : 0;
    return r->fifo_count < FIFO_CAP && (r->head - r->tail) + *pad + size <= r->size;
}

/* Replaces the upload ring by a larger one (twice the size, at most staging_max) when nothing of
 * the open batch lives in it. The old ring's buffer is released behind its in-flight batches
 * (its last uses are their tickets), so the GPU still reads what it was given. Lock held. */
static bool ring_grow(sedx_context *ctx, struct sedx__transfer *t)
{
    ring *r = &t->up;
    uint64_t size = r->size * 2;
    if (t->region_count || r->head != r->committed || size > t->info.staging_max) return false;
    ring *fresh = sedx__calloc(1, sizeof *fresh);
    if (!fresh) return false;
    if (ring_init(ctx, fresh, size, true) != SEDX_SUCCESS) {
        sedx__free(fresh);
        return false; /* logged; the caller waits for the GPU instead */
    }
    for (uint32_t i = 0; i < r->fifo_count; ++i) {
        sedx_ticket tk = r->fifo[(r->fifo_first + i) % FIFO_CAP].ticket;
        sedx__buffer_mark_use(r->buffer.resource, (sedx_queue)tk.queue, tk.value);
    }
    sedx_buffer_release(&r->buffer);
    *r = *fresh;
    sedx__free(fresh);
    t->stats.ring_grows++;
    t->stats.staging_size = size;
    SEDX_LOG_DEBUG_TAG(TAG, "staging ring grown to %llu KiB", (unsigned long long)(size >> 10));
    return true;
}

/* Space for size bytes (<= ring size / 2) at a 16-byte aligned offset. May submit the open
 * batch (allow_submit) and wait for the GPU (unless no_wait). Lock held. */
static sedx_result ring_alloc(sedx_context *ctx, struct sedx__transfer *t, ring *r, uint64_t size, bool allow_submit,
                              bool no_wait, uint64_t *out_offset)
{
    size = sedx__align_up(size, RING_ALIGN);
    for (int pass = 0;; ++pass) {
        if (pass) ring_reclaim(ctx, r); /* first try with what is known free: no driver call */
        uint64_t pad;
        if (ring_fits(r, size, &pad)) {
            r->head += pad;
            *out_offset = r->head % r->size;
            if (*out_offset == 0 && r->head) t->stats.ring_wraps++; /* back at the start */
            r->head += size;
            return SEDX_SUCCESS;
        }
        if (pass == 0) continue; /* reclaim, then try again */
        if (allow_submit && r == &t->up && t->region_count) {
            sedx_result sr = batch_submit(ctx, t, NULL); /* the GPU starts on what we have */
            if (sr != SEDX_SUCCESS) return sr;
            continue;
        }
        if (allow_submit && r == &t->up && ring_grow(ctx, t)) continue; /* within staging_max */
        if (!r->fifo_count) return SEDX__ERR(SEDX_ERROR_OUT_OF_STAGING, TAG, "%llu bytes do not fit the ring",
                                             (unsigned long long)size);
        if (no_wait) {
            t->stats.ring_full_errors++;
            return SEDX_ERROR_OUT_OF_STAGING;
        }
        t->stats.ring_waits++;
        sedx_result wr = sedx_ticket_wait(ctx, r->fifo[r->fifo_first].ticket, UINT64_MAX);
        if (wr != SEDX_SUCCESS) return wr;
    }
}

/* ------------------------------------------------------------------------------------------
 * Upload batch
 * ---------------------------------------------------------------------------------------- */
/* Room for `regions` more regions and `buffers` more held references, so that an upload, once
 * it has started writing, cannot fail for host memory halfway. Lock held. */
static sedx_result batch_reserve(struct sedx__transfer *t, uint64_t regions, uint64_t buffers)
{
    if (regions > UINT32_MAX - t->region_count || buffers > UINT32_MAX - t->held_count)
        return SEDX__ERR(SEDX_ERROR_OUT_OF_HOST_MEMORY, TAG, "too many upload regions in one batch");
    uint32_t need = t->region_count + (uint32_t)regions;
    if (need > t->region_cap) {
        uint32_t cap = SEDX__MAX(need, t->region_cap ? t->region_cap * 2 : 256u);
        region *n = sedx__realloc(t->regions, (size_t)cap * sizeof *n);
        if (!n) return SEDX__ERR(SEDX_ERROR_OUT_OF_HOST_MEMORY, TAG, "out of host memory for upload regions");
        t->regions = n;
        t->region_cap = cap;
    }
    need = t->held_count + (uint32_t)buffers;
    if (need > t->held_cap) {
        uint32_t cap = SEDX__MAX(need, t->held_cap ? t->held_cap * 2 : 64u);
        sedx_buffer_resource **n = sedx__realloc(t->held, (size_t)cap * sizeof *n);
        if (!n) return SEDX__ERR(SEDX_ERROR_OUT_OF_HOST_MEMORY, TAG, "out of host memory for upload regions");
        t->held = n;
        t->held_cap = cap;
    }
    return SEDX_SUCCESS;
}

/* Adds a region; room was reserved (batch_reserve). The batch holds a reference to each
 * destination until it is submitted, so a buffer released meanwhile waits for its uploads. */
static void batch_add(struct sedx__transfer *t, sedx_buffer_resource *dst, uint64_t src_offset, uint64_t dst_offset,
                      uint64_t size)
{
    if (dst->batch_id != t->batch_id + 1) { /* first region for this buffer in the open batch */
        dst->batch_id = t->batch_id + 1;
        sedx__buffer_ref(dst);
        t->held[t->held_count++] = dst;
    }
    t->regions[t->region_count++] = (region){dst, src_offset, dst_offset, size};
    t->batch_bytes += size;
}

static bool scatter_ok(const struct sedx__transfer *t, const region *g)
{
    return t->scatter_pipe && t->scatter && g->size <= (64u << 10) &&
           (g->dst_offset & 3) == 0 && (g->size & 3) == 0 && g->dst->address;
}

static int cmp_region(const void *a, const void *b)
{
    const region *x = *(const region *const *)a, *y = *(const region *const *)b;
    if (x->dst != y->dst) return (uintptr_t)x->dst < (uintptr_t)y->dst ? -1 : 1;
    return (x->dst_offset > y->dst_offset) - (x->dst_offset < y->dst_offset);
}

/* Do two regions of the open batch write the same bytes? Then their order matters, and a
 * single dispatch or copy command would not keep it. O(n log n). */
static bool batch_has_overlap(struct sedx__transfer *t)
{
    if (t->region_count < 2) return false;
    region **sorted = sedx__malloc((size_t)t->region_count * sizeof *sorted);
    if (!sorted) return true; /* cannot tell: take the ordered path */
    for (uint32_t i = 0; i < t->region_count; ++i) sorted[i] = &t->regions[i];
    qsort(sorted, t->region_count, sizeof *sorted, cmp_region);
    bool overlap = false;
    for (uint32_t i = 1; i < t->region_count && !overlap; ++i)
        overlap = sorted[i]->dst == sorted[i - 1]->dst &&
                  sorted[i - 1]->dst_offset + sorted[i - 1]->size > sorted[i]->dst_offset;
    sedx__free(sorted);
    return overlap;
}

/* Submits the open batch. Lock held. */
static sedx_result batch_submit(sedx_context *ctx, struct sedx__transfer *t, sedx_ticket *out)
{
    if (!t->region_count) {
        if (out) *out = t->last_ticket;
        return SEDX_SUCCESS;
    }
    SEDX_PROFILE_SCOPE("sedx_upload_submit");
    /* many small regions: one compute dispatch on the main queue instead of thousands of
     * copy regions (docs/transfer.md has the measurements behind the threshold) */
    bool ordered = batch_has_overlap(t);
    uint32_t n_scatter = 0;
    for (uint32_t i = 0; i < t->region_count && !ordered; ++i) n_scatter += scatter_ok(t, &t->regions[i]);
    bool scatter = n_scatter >= 64;
    uint64_t table_offset = 0;
    if (scatter) {
        /* the region table goes into the ring too (no batch submit from here) */
        if (ring_alloc(ctx, t, &t->up, (uint64_t)n_scatter * 16, false, false, &table_offset) != SEDX_SUCCESS)
            scatter = false;
    }
    sedx_queue q = (!scatter && t->use_transfer_queue) ? SEDX_QUEUE_TRANSFER : SEDX_QUEUE_GRAPHICS;
    sedx_cmd cmd;
    sedx_result r = sedx_cmd_begin(ctx, q, &cmd);
    if (r != SEDX_SUCCESS) return r;
    VkCommandBuffer cb = cmd.cmd;
    barrier_before(cb, scatter);
    VkBuffer ring_buf = t->up.buffer.resource->buffer;
    if (scatter) {
        uint8_t *table = t->up.ptr + table_offset;
        uint32_t k = 0;
        for (uint32_t i = 0; i < t->region_count; ++i) {
            region *g = &t->regions[i];
            if (!scatter_ok(t, g)) continue;
            uint64_t dst_addr = g->dst->address + g->dst_offset;
            uint32_t words = (uint32_t)(g->size / 4);
            bool aligned16 = ((dst_addr | g->src_offset | g->size) & 15) == 0;
            uint32_t src_word = (uint32_t)(g->src_offset / 4);
            uint32_t w = words | (aligned16 ? 0x80000000u : 0);
            memcpy(table + (size_t)k * 16, &dst_addr, 8);
            memcpy(table + (size_t)k * 16 + 8, &src_word, 4);
            memcpy(table + (size_t)k * 16 + 12, &w, 4);
            k++;
        }
        sedx_memory_flush(ctx, t->up.buffer.resource->allocation, table_offset, (uint64_t)n_scatter * 16);
        vkCmdBindPipeline(cb, VK_PIPELINE_BIND_POINT_COMPUTE, t->scatter_pipe);
        for (uint32_t first = 0; first < n_scatter; first += 65535u) {
            struct { uint64_t src, table; uint32_t count, first; } pc = {t->up.address, t->up.address + table_offset,
                                                                         n_scatter, first};
            vkCmdPushConstants(cb, t->layout, VK_SHADER_STAGE_COMPUTE_BIT, 0, sizeof pc, &pc);
            vkCmdDispatch(cb, SEDX__MIN(n_scatter - first, 65535u), 1, 1);
            t->stats.scatter_dispatches++;
        }
    }
    if (ordered) {
        /* overlapping uploads: in call order, one copy each, a barrier between them */
        for (uint32_t i = 0; i < t->region_count; ++i) {
            region *g = &t->regions[i];
            if (i) barrier(cb, VK_PIPELINE_STAGE_TRANSFER_BIT, VK_ACCESS_TRANSFER_WRITE_BIT,
                           VK_PIPELINE_STAGE_TRANSFER_BIT, VK_ACCESS_TRANSFER_WRITE_BIT);
            VkBufferCopy c = {g->src_offset, g->dst_offset, g->size};
            vkCmdCopyBuffer(cb, ring_buf, g->dst->buffer, 1, &c);
        }
        t->stats.copy_regions += t->region_count;
    }
    /* the rest: one vkCmdCopyBuffer per run of regions with the same destination */
    VkBufferCopy copies[256];
    uint32_t nc = 0;
    VkBuffer cur = VK_NULL_HANDLE;
    for (uint32_t i = 0; !ordered && i <= t->region_count; ++i) {
        region *g = i < t->region_count ? &t->regions[i] : NULL;
        bool skip = g && scatter && scatter_ok(t, g);
        if (skip) continue;
        VkBuffer dst = g ? g->dst->buffer : VK_NULL_HANDLE;
        if (nc && (dst != cur || nc == SEDX__COUNTOF(copies) || !g)) {
            vkCmdCopyBuffer(cb, ring_buf, cur, nc, copies);
            t->stats.copy_regions += nc;
            nc = 0;
        }
        if (!g) break;
        cur = dst;
        copies[nc++] = (VkBufferCopy){g->src_offset, g->dst_offset, g->size};
    }
    barrier_after(cb, scatter);
    sedx_ticket ticket;
    r = submit_ordered(ctx, t, &cmd, &ticket);
    /* the batch's references: record the use, then drop them (destruction waits for it). Each
     * buffer is touched once, before its own reference goes: a dropped reference may be the
     * last one, and the buffer may be destroyed at once if the GPU is already done. */
    for (uint32_t i = 0; i < t->held_count; ++i) {
        sedx_buffer_resource *d = t->held[i];
        d->batch_id = 0;
        if (r == SEDX_SUCCESS) sedx__buffer_mark_use(d, (sedx_queue)ticket.queue, ticket.value);
        sedx__buffer_unref(d);
    }
    t->held_count = 0;
    t->region_count = 0;
    t->batch_bytes = 0;
    t->batch_id++;
    if (r != SEDX_SUCCESS) {
        t->up.committed = t->up.head; /* nothing will read the failed batch's bytes */
        return r;
    }
    t->stats.batches++;
    ring_commit(&t->up, ticket);
    if (out) *out = ticket;
    return SEDX_SUCCESS;
}

static sedx_buffer_resource *check_buffer(sedx_context *ctx, const sedx_buffer *buf, uint64_t offset, uint64_t size,
                                          const char *what, sedx_result *r)
{
    sedx_buffer_resource *res = sedx__buffer_get(buf, what);
    if (!res) {
        *r = SEDX_ERROR_INVALID_HANDLE;
        return NULL;
    }
    if (res->ctx != ctx) {
        *r = SEDX__ERR(SEDX_ERROR_WRONG_CONTEXT, TAG, "%s: buffer '%s' belongs to another context", what, res->name);
        return NULL;
    }
    if ((*r = check_range(res, offset, size, what)) != SEDX_SUCCESS) return NULL;
    return res;
}

/* Does host memory [p, p + size) overlap bytes [offset, offset + size) of res's mapping? */
static bool host_overlap(const sedx_buffer_resource *res, uint64_t offset, uint64_t size, const void *p)
{
    if (!res->host_ptr || !size || !p) return false;
    uintptr_t a = (uintptr_t)res->host_ptr + (uintptr_t)offset, b = (uintptr_t)p;
    return a < b + size && b < a + size;
}

static bool gpu_idle_for(sedx_context *ctx, sedx_buffer_resource *res)
{
    for (int q = 0; q < SEDX_QUEUE_COUNT; ++q) {
        uint64_t v = atomic_load(&res->last_use[q]);
        if (!v || atomic_load(&sedx__ctx_queue(ctx, (sedx_queue)q)->completed) >= v) continue; /* cached */
        if (sedx_context_completed_value(ctx, (sedx_queue)q) < v) return false;
    }
    return true;
}

/* Validation shared by the single and the batched upload. */
static sedx_buffer_resource *check_upload(sedx_context *ctx, const sedx_buffer *dst, uint64_t dst_offset,
                                          const void *data, uint64_t size, sedx_result *r)
{
    sedx_buffer_resource *res = check_buffer(ctx, dst, dst_offset, size, "sedx_upload", r);
    if (!res) return NULL;
    if (size && !data) {
        *r = SEDX__ERR(SEDX_ERROR_INVALID_ARGUMENT, TAG, "sedx_upload: data is NULL for %llu bytes",
                       (unsigned long long)size);
        return NULL;
    }
    if (host_overlap(res, dst_offset, size, data)) {
        /* the direct path would copy in pieces, in parallel: refused rather than half-moved */
        *r = SEDX__ERR(SEDX_ERROR_INVALID_ARGUMENT, TAG,
                       "sedx_upload: buffer '%s': the source bytes overlap the destination range in its own "
                       "mapping (use sedx_buffer_write, which moves, or sedx_copy)", res->name);
        return NULL;
    }
    return res;
}

static bool direct_ok(sedx_context *ctx, struct sedx__transfer *t, sedx_buffer_resource *res)
{
    return res->host_ptr && !(t->info.flags & SEDX_TRANSFER_NO_DIRECT) && res->batch_id != t->batch_id + 1 &&
           gpu_idle_for(ctx, res);
}

/* The direct path: a host-visible destination the GPU is not using, no copy into it pending. */
static sedx_result upload_direct(sedx_context *ctx, struct sedx__transfer *t, sedx_buffer_resource *res,
                                 uint64_t dst_offset, const uint8_t *src, uint64_t size)
{
    fast_memcpy(&t->pool, (uint8_t *)res->host_ptr + dst_offset, src, (size_t)size);
    t->stats.direct_uploads++;
    t->stats.direct_bytes += size;
    return res->coherent ? SEDX_SUCCESS : sedx_memory_flush(ctx, res->allocation, dst_offset, size);
}

/* With NO_WAIT: whether the whole upload fits the ring now (growing it if allowed), so that
 * nothing is written unless all of it can be. Lock held. */
static bool fits_without_waiting(sedx_context *ctx, struct sedx__transfer *t, uint64_t size)
{
    ring_reclaim(ctx, &t->up);
    uint64_t pad, aligned = sedx__align_up(size, RING_ALIGN);
    /* no room now: the ring may grow (after submitting what is pending: nothing of this upload
     * has been written yet) */
    while (size <= t->up.size / 4 && !ring_fits(&t->up, aligned, &pad) && t->up.size * 2 <= t->info.staging_max) {
        if (t->region_count && batch_submit(ctx, t, NULL) != SEDX_SUCCESS) break;
        if (!ring_grow(ctx, t)) break;
    }
    return size <= t->up.size / 4 && ring_fits(&t->up, aligned, &pad);
}

/* Copies n bytes into the (write-combined) ring at off: non-temporal stores for small copies
 * (glibc's memcpy switches to `rep movsb` above 2 KiB, which is slow into WC memory), the
 * thread pool for large ones. */
static void copy_to_ring(struct sedx__transfer *t, uint64_t off, const uint8_t *src, uint64_t n)
{
    if (n < (2u << 20) && !t->small_copy_libc) stream_copy(t->up.ptr + off, src, (size_t)n);
    else if (n < (2u << 20)) memcpy(t->up.ptr + off, src, (size_t)n);
    else fast_memcpy(&t->pool, t->up.ptr + off, src, (size_t)n);
}

/* The staged path: chunks of at most a quarter of the ring, submitted as they fill it. The
 * ring exists (ring_ensure). Lock held. */
static sedx_result upload_staged(sedx_context *ctx, struct sedx__transfer *t, sedx_buffer_resource *res,
                                 uint64_t dst_offset, const uint8_t *src, uint64_t size, bool no_wait)
{
    uint64_t chunk = t->up.size / 4, done = 0;
    sedx_result r = batch_reserve(t, size / chunk + 1, 1);
    if (r != SEDX_SUCCESS) return r;
    if (no_wait && !fits_without_waiting(ctx, t, size)) {
        t->stats.ring_full_errors++;
        return SEDX_ERROR_OUT_OF_STAGING;
    }
    while (done < size) {
        uint64_t n = SEDX__MIN(chunk, size - done), off;
        if ((r = ring_alloc(ctx, t, &t->up, n, true, no_wait, &off)) != SEDX_SUCCESS) break;
        copy_to_ring(t, off, src + done, n);
        batch_add(t, res, off, dst_offset + done, n);
        t->stats.staged_bytes += n;
        done += n;
        if (t->batch_bytes >= t->up.size / 4 && (r = batch_submit(ctx, t, NULL)) != SEDX_SUCCESS) break;
    }
    return r;
}

/* One validated upload. Lock held. */
static sedx_result upload_locked(sedx_context *ctx, struct sedx__transfer *t, sedx_buffer_resource *res,
                                 uint64_t dst_offset, const uint8_t *src, uint64_t size, uint32_t flags)
{
    t->stats.uploads++;
    t->stats.upload_bytes += size;
    if (direct_ok(ctx, t, res)) return upload_direct(ctx, t, res, dst_offset, src, size);
    sedx_result r = ring_ensure(ctx, t, &t->up);
    if (r != SEDX_SUCCESS) return r;
    return upload_staged(ctx, t, res, dst_offset, src, size, (flags & SEDX_UPLOAD_NO_WAIT) != 0);
}

sedx_result sedx_upload_ex(sedx_context *ctx, const sedx_buffer *dst, uint64_t dst_offset, const void *data,
                           uint64_t size, uint32_t flags)
{
    if (!ctx) return SEDX__ERR(SEDX_ERROR_INVALID_ARGUMENT, TAG, "sedx_upload: ctx is NULL");
    if (flags & ~(uint32_t)SEDX_UPLOAD_FLAGS_ALL)
        return SEDX__ERR(SEDX_ERROR_INVALID_ARGUMENT, TAG, "sedx_upload_ex: unknown flags 0x%x",
                         flags & ~(uint32_t)SEDX_UPLOAD_FLAGS_ALL);
    sedx_result r;
    sedx_buffer_resource *res = check_upload(ctx, dst, dst_offset, data, size, &r);
    if (!res) return r;
    if (size == 0) return SEDX_SUCCESS;
    struct sedx__transfer *t = get_transfer(ctx, &r);
    if (!t) return r;
    SEDX_PROFILE_SCOPE("sedx_upload");
    pthread_mutex_lock(&t->lock);
    r = upload_locked(ctx, t, res, dst_offset, data, size, flags);
    pthread_mutex_unlock(&t->lock);
    return r;
}

/* Small staged regions of a batch share one ring allocation (a group of at most a quarter of
 * the ring) and are copied in parallel; the rest goes through upload_locked in order. */
#define GROUP_REGION_MAX (256u << 10)

static sedx_result flush_group(sedx_context *ctx, struct sedx__transfer *t, const sedx_upload_region *regions,
                               uint32_t first, uint32_t end, uint64_t bytes, copy_job *jobs)
{
    if (first == end) return SEDX_SUCCESS;
    uint64_t base;
    sedx_result r = ring_alloc(ctx, t, &t->up, bytes, true, false, &base);
    if (r != SEDX_SUCCESS) return r;
    uint64_t off = base;
    for (uint32_t i = first; i < end; ++i) {
        jobs[i - first] = (copy_job){t->up.ptr + off, regions[i].data, (size_t)regions[i].size, true};
        off += sedx__align_up(regions[i].size, RING_ALIGN);
    }
    run_jobs(&t->pool, jobs, end - first, (size_t)bytes);
    off = base;
    for (uint32_t i = first; i < end; ++i) {
        batch_add(t, regions[i].dst->resource, off, regions[i].dst_offset, regions[i].size);
        off += sedx__align_up(regions[i].size, RING_ALIGN);
        t->stats.uploads++;
        t->stats.upload_bytes += regions[i].size;
        t->stats.staged_bytes += regions[i].size;
    }
    if (t->batch_bytes >= t->up.size / 4) r = batch_submit(ctx, t, NULL);
    return r;
}

/* Everything that could fail for lack of a resource, done before the first byte moves: the
 * ring (if any region will be staged) and room for every region and reference. Lock held. */
static sedx_result batch_prepare(sedx_context *ctx, struct sedx__transfer *t, const sedx_upload_region *regions,
                                 uint32_t count)
{
    bool staged = false;
    for (uint32_t i = 0; i < count && !staged; ++i)
        staged = regions[i].size && !direct_ok(ctx, t, regions[i].dst->resource);
    if (!staged) return SEDX_SUCCESS;
    sedx_result r = ring_ensure(ctx, t, &t->up);
    if (r != SEDX_SUCCESS) return r;
    uint64_t chunk = t->up.size / 4, pieces = 0;
    for (uint32_t i = 0; i < count; ++i) pieces += regions[i].size / chunk + 1;
    return batch_reserve(t, pieces, count);
}

static sedx_result upload_batch_locked(sedx_context *ctx, struct sedx__transfer *t, const sedx_upload_region *regions,
                                       uint32_t count, copy_job *jobs)
{
    sedx_result r = batch_prepare(ctx, t, regions, count);
    if (r != SEDX_SUCCESS) return r;
    uint64_t group_limit = t->up.size / 4, group_bytes = 0;
    uint32_t first = 0;
    for (uint32_t i = 0; i < count; ++i) {
        const sedx_upload_region *g = &regions[i];
        sedx_buffer_resource *res = g->dst->resource;
        uint64_t n = sedx__align_up(g->size, RING_ALIGN);
        bool small = g->size && g->size <= GROUP_REGION_MAX && n <= group_limit && !direct_ok(ctx, t, res);
        if (small && group_bytes + n <= group_limit) {
            group_bytes += n;
            continue;
        }
        if ((r = flush_group(ctx, t, regions, first, i, group_bytes, jobs)) != SEDX_SUCCESS) return r;
        first = i;
        group_bytes = 0;
        if (small) {
            group_bytes = n;
            continue;
        }
        first = i + 1;
        if (g->size && (r = upload_locked(ctx, t, res, g->dst_offset, g->data, g->size, 0)) != SEDX_SUCCESS) return r;
    }
    return flush_group(ctx, t, regions, first, count, group_bytes, jobs);
}

sedx_result sedx_upload_batch(sedx_context *ctx, const sedx_upload_region *regions, uint32_t count)
{
    if (!ctx || (count && !regions))
        return SEDX__ERR(SEDX_ERROR_INVALID_ARGUMENT, TAG, "sedx_upload_batch: NULL argument");
    sedx_result r;
    /* all or nothing: every region is checked before a byte moves */
    for (uint32_t i = 0; i < count; ++i)
        if (!check_upload(ctx, regions[i].dst, regions[i].dst_offset, regions[i].data, regions[i].size, &r)) return r;
    struct sedx__transfer *t = get_transfer(ctx, &r);
    if (!t) return r;
    SEDX_PROFILE_SCOPE("sedx_upload_batch");
    copy_job *jobs = sedx__malloc(sizeof *jobs * (count ? count : 1));
    if (!jobs) return SEDX__ERR(SEDX_ERROR_OUT_OF_HOST_MEMORY, TAG, "sedx_upload_batch: out of host memory");
    pthread_mutex_lock(&t->lock);
    r = upload_batch_locked(ctx, t, regions, count, jobs);
    pthread_mutex_unlock(&t->lock);
    sedx__free(jobs);
    return r;
}

sedx_result sedx_upload(sedx_context *ctx, const sedx_buffer *dst, uint64_t dst_offset, const void *data, uint64_t size)
{
    return sedx_upload_ex(ctx, dst, dst_offset, data, size, 0);
}

sedx_result sedx_upload_submit(sedx_context *ctx, sedx_ticket *out_ticket)
{
    if (!ctx) return SEDX__ERR(SEDX_ERROR_INVALID_ARGUMENT, TAG, "sedx_upload_submit: ctx is NULL");
    sedx_result r;
    struct sedx__transfer *t = get_transfer(ctx, &r);
    if (!t) return r;
    pthread_mutex_lock(&t->lock);
    r = batch_submit(ctx, t, out_ticket);
    pthread_mutex_unlock(&t->lock);
    return r;
}

/* Waits for every transfer submit so far (both queues). */
static sedx_result wait_all(sedx_context *ctx, struct sedx__transfer *t)
{
    for (int q = 0; q < SEDX_QUEUE_COUNT; ++q) {
        if (!t->last_value[q]) continue;
        sedx_ticket tk = {t->last_value[q], (uint32_t)q, ctx->id};
        sedx_result r = sedx_ticket_wait(ctx, tk, UINT64_MAX);
        if (r != SEDX_SUCCESS) return r;
    }
    return SEDX_SUCCESS;
}

sedx_result sedx_upload_flush(sedx_context *ctx)
{
    sedx_ticket tk;
    sedx_result r = sedx_upload_submit(ctx, &tk);
    if (r != SEDX_SUCCESS) return r;
    pthread_mutex_lock(&ctx->transfer->lock);
    r = wait_all(ctx, ctx->transfer);
    pthread_mutex_unlock(&ctx->transfer->lock);
    return r;
}

sedx_result sedx__transfer_upload_blocking(sedx_context *ctx, const sedx_buffer *dst, uint64_t offset, const void *data,
                                           uint64_t size);
sedx_result sedx__transfer_upload_blocking(sedx_context *ctx, const sedx_buffer *dst, uint64_t offset, const void *data,
                                           uint64_t size)
{
    sedx_result r = sedx_upload(ctx, dst, offset, data, size);
    return r == SEDX_SUCCESS ? sedx_upload_flush(ctx) : r;
}

sedx_result sedx_buffer_create_with_data(sedx_context *ctx, uint64_t size, sedx_buffer_usage_flags usage,
                                         sedx_memory_flags memory, const char *name, const void *data, sedx_buffer *out)
{
    if (!data) return SEDX__ERR(SEDX_ERROR_INVALID_ARGUMENT, TAG, "sedx_buffer_create_with_data: data is NULL");
    sedx_buffer_create_info ci = {0};
    ci.size = size;
    ci.usage = usage;
    ci.memory = memory;
    ci.name = name;
    ci.initial_data = data;
    return sedx_buffer_create_ex(ctx, &ci, out);
}

/* ------------------------------------------------------------------------------------------
 * Readback
 * ---------------------------------------------------------------------------------------- */
static sedx_result download_one(sedx_context *ctx, struct sedx__transfer *t, sedx_buffer_resource *res, uint64_t offset,
                                uint64_t size, uint8_t *dst)
{
    /* the GPU must be done with the buffer (sedx's own submissions and marked uses) */
    for (int q = 0; q < SEDX_QUEUE_COUNT; ++q) {
        uint64_t v = atomic_load(&res->last_use[q]);
        if (!v) continue;
        sedx_ticket tk = {v, (uint32_t)q, ctx->id};
        sedx_result r = sedx_ticket_wait(ctx, tk, UINT64_MAX);
        if (r != SEDX_SUCCESS) return r;
    }
    t->stats.downloads++;
    t->stats.download_bytes += size;
    if (res->host_ptr && res->host_cached && !(t->info.flags & SEDX_TRANSFER_NO_DIRECT)) {
        sedx_result r = res->coherent ? SEDX_SUCCESS : sedx_memory_invalidate(ctx, res->allocation, offset, size);
        if (r != SEDX_SUCCESS) return r;
        fast_memcpy(&t->pool, dst, (const uint8_t *)res->host_ptr + offset, (size_t)size);
        t->stats.direct_download_bytes += size;
        return SEDX_SUCCESS;
    }
    /* through the readback ring in DL_SLOTS chunks: the GPU fills later chunks while the CPU
     * drains the oldest */
    enum { DL_SLOTS = 4 };
    ring *r = &t->down;
    sedx_result er = ring_ensure(ctx, t, r);
    if (er != SEDX_SUCCESS) return er;
    uint64_t chunk = r->size / DL_SLOTS;
    sedx_queue q = t->use_transfer_queue ? SEDX_QUEUE_TRANSFER : SEDX_QUEUE_GRAPHICS;
    struct { uint64_t dst_off, n; sedx_ticket tk; } pend[DL_SLOTS];
    uint64_t issued = 0;
    uint32_t head = 0, tail = 0, live = 0;
    sedx_result rr = SEDX_SUCCESS;
    while (issued < size || live) {
        if (issued < size && live < DL_SLOTS) {
            uint64_t n = SEDX__MIN(chunk, size - issued);
            sedx_cmd cmd;
            rr = sedx_cmd_begin(ctx, q, &cmd);
            if (rr != SEDX_SUCCESS) break;
            barrier_before(cmd.cmd, false);
            VkBufferCopy c = {offset + issued, (uint64_t)head * chunk, n};
            vkCmdCopyBuffer(cmd.cmd, res->buffer, r->buffer.resource->buffer, 1, &c);
            barrier(cmd.cmd, VK_PIPELINE_STAGE_TRANSFER_BIT, VK_ACCESS_TRANSFER_WRITE_BIT, VK_PIPELINE_STAGE_HOST_BIT,
                    VK_ACCESS_HOST_READ_BIT);
            rr = submit_ordered(ctx, t, &cmd, &pend[head].tk);
            if (rr != SEDX_SUCCESS) break;
            sedx__buffer_mark_use(res, (sedx_queue)pend[head].tk.queue, pend[head].tk.value);
            pend[head].dst_off = issued;
            pend[head].n = n;
            issued += n;
            head = (head + 1) % DL_SLOTS;
            live++;
            continue;
        }
        rr = sedx_ticket_wait(ctx, pend[tail].tk, UINT64_MAX);
        if (rr != SEDX_SUCCESS) break;
        rr = sedx_memory_invalidate(ctx, r->buffer.resource->allocation, (uint64_t)tail * chunk, pend[tail].n);
        if (rr != SEDX_SUCCESS) break;
        fast_memcpy(&t->pool, dst + pend[tail].dst_off, r->ptr + (uint64_t)tail * chunk, (size_t)pend[tail].n);
        tail = (tail + 1) % DL_SLOTS;
        live--;
    }
    for (; live; live--, tail = (tail + 1) % DL_SLOTS) sedx_ticket_wait(ctx, pend[tail].tk, UINT64_MAX);
    return rr;
}

sedx_result sedx_download_batch(sedx_context *ctx, const sedx_download_region *regions, uint32_t count)
{
    if (!ctx || (count && !regions))
        return SEDX__ERR(SEDX_ERROR_INVALID_ARGUMENT, TAG, "sedx_download_batch: NULL argument");
    sedx_result r;
    /* validate everything first: all or nothing */
    for (uint32_t i = 0; i < count; ++i) {
        const sedx_download_region *g = &regions[i];
        sedx_buffer_resource *res = check_buffer(ctx, g->src, g->offset, g->size, "sedx_download", &r);
        if (!res) return r;
        if (g->size && !g->dst) return SEDX__ERR(SEDX_ERROR_INVALID_ARGUMENT, TAG, "sedx_download: dst is NULL");
        if (host_overlap(res, g->offset, g->size, g->dst))
            return SEDX__ERR(SEDX_ERROR_INVALID_ARGUMENT, TAG, "sedx_download: buffer '%s': dst overlaps the source "
                             "range in the buffer's own mapping", res->name);
    }
    struct sedx__transfer *t = get_transfer(ctx, &r);
    if (!t) return r;
    SEDX_PROFILE_SCOPE("sedx_download");
    pthread_mutex_lock(&t->lock);
    r = batch_submit(ctx, t, NULL); /* earlier uploads first */
    for (uint32_t i = 0; r == SEDX_SUCCESS && i < count; ++i) {
        if (!regions[i].size) continue;
        r = download_one(ctx, t, regions[i].src->resource, regions[i].offset, regions[i].size, regions[i].dst);
    }
    pthread_mutex_unlock(&t->lock);
    return r;
}

sedx_result sedx_download(sedx_context *ctx, const sedx_buffer *src, uint64_t offset, uint64_t size, void *dst)
{
    sedx_download_region reg = {src, offset, size, dst};
    return sedx_download_batch(ctx, &reg, 1);
}

/* ------------------------------------------------------------------------------------------
 * Device copies
 * ---------------------------------------------------------------------------------------- */
static bool use_compute_copy(const struct sedx__transfer *t, uint64_t src_addr, uint64_t dst_addr, uint64_t size,
                             bool host_side)
{
    if (!t->copy_pipe || !src_addr || !dst_addr) return false;
    if (host_side) return false; /* host memory over PCIe: the DMA engine's job */
    if (((src_addr | dst_addr) & 15) != 0 || size < 16) return false;
    if (t->info.flags & SEDX_TRANSFER_FORCE_COPY_COMMAND) return false;
    if (t->info.flags & SEDX_TRANSFER_FORCE_COMPUTE_COPY) return true;
    /* measured: NVIDIA H100 compute copy 1.41 TB/s vs vkCmdCopyBuffer 0.43 TB/s; lavapipe the
     * other way round (4.9 vs 16.7 GB/s). Other vendors: the copy command until measured. */
    return t->nvidia && size >= (1u << 20);
}

static void record_copy(sedx_context *ctx, struct sedx__transfer *t, VkCommandBuffer cb, sedx_buffer_resource *s,
                        uint64_t so, sedx_buffer_resource *d, uint64_t dof, uint64_t size, bool *used_compute)
{
    uint64_t sa = s->address ? s->address + so : 0, da = d->address ? d->address + dof : 0;
    /* a CPU-memory side on a discrete GPU means PCIe: leave that to the copy engine */
    bool host_side = ctx->props.deviceType == VK_PHYSICAL_DEVICE_TYPE_DISCRETE_GPU &&
                     (s->memory_kind == SEDX_MEMORY_CPU || d->memory_kind == SEDX_MEMORY_CPU);
    if (use_compute_copy(t, sa, da, size, host_side)) {
        uint64_t body = size & ~(uint64_t)15;
        vkCmdBindPipeline(cb, VK_PIPELINE_BIND_POINT_COMPUTE, t->copy_pipe);
        for (uint64_t done = 0; done < body;) {
            uint64_t n = SEDX__MIN(body - done, (uint64_t)0xFFFFFFF0u * 16u);
            struct { uint64_t src, dst; uint32_t count, pad; } pc = {sa + done, da + done, (uint32_t)(n / 16), 0};
            vkCmdPushConstants(cb, t->layout, VK_SHADER_STAGE_COMPUTE_BIT, 0, sizeof pc, &pc);
            uint64_t groups = SEDX__MIN((n / 16 + 255) / 256, (uint64_t)ctx->props.limits.maxComputeWorkGroupCount[0]);
            groups = SEDX__MIN(groups, (uint64_t)t->copy_groups);
            vkCmdDispatch(cb, (uint32_t)SEDX__MAX(groups, 1u), 1, 1);
            done += n;
        }
        if (size > body) {
            VkBufferCopy c = {so + body, dof + body, size - body};
            vkCmdCopyBuffer(cb, s->buffer, d->buffer, 1, &c);
        }
        *used_compute = true;
        t->stats.compute_copies++;
    } else {
        VkBufferCopy c = {so, dof, size};
        vkCmdCopyBuffer(cb, s->buffer, d->buffer, 1, &c);
        t->stats.command_copies++;
    }
}

/* Records and submits one device copy between two checked resources. Lock not held. */
static sedx_result copy_resources(sedx_context *ctx, struct sedx__transfer *t, sedx_buffer_resource *s, uint64_t so,
                                  sedx_buffer_resource *d, uint64_t dof, uint64_t size, sedx_ticket *out)
{
    SEDX_PROFILE_SCOPE("sedx_copy");
    pthread_mutex_lock(&t->lock);
    sedx_result r = batch_submit(ctx, t, NULL); /* earlier uploads first */
    sedx_cmd cmd;
    if (r == SEDX_SUCCESS) r = sedx_cmd_begin(ctx, SEDX_QUEUE_GRAPHICS, &cmd);
    sedx_ticket tk = {0};
    if (r == SEDX_SUCCESS) {
        bool compute = false;
        barrier_before(cmd.cmd, true);
        record_copy(ctx, t, cmd.cmd, s, so, d, dof, size, &compute);
        barrier_after(cmd.cmd, true);
        r = submit_ordered(ctx, t, &cmd, &tk);
    }
    if (r == SEDX_SUCCESS) {
        sedx__buffer_mark_use(s, (sedx_queue)tk.queue, tk.value);
        sedx__buffer_mark_use(d, (sedx_queue)tk.queue, tk.value);
        *out = tk;
    }
    pthread_mutex_unlock(&t->lock);
    return r;
}

static sedx_result check_copy(sedx_buffer_resource *s, uint64_t so, sedx_buffer_resource *d, uint64_t dof,
                              uint64_t size, const char *what)
{
    sedx_result r = check_range(s, so, size, what);
    if (r == SEDX_SUCCESS) r = check_range(d, dof, size, what);
    if (r == SEDX_SUCCESS && s == d && so < dof + size && dof < so + size)
        r = SEDX__ERR(SEDX_ERROR_INVALID_ARGUMENT, TAG, "%s: buffer '%s': source [%llu, +%llu) and destination "
                      "[%llu, +%llu) overlap", what, s->name, (unsigned long long)so, (unsigned long long)size,
                      (unsigned long long)dof, (unsigned long long)size);
    return r;
}

sedx_result sedx_copy(sedx_context *ctx, const sedx_buffer *src, uint64_t src_offset, const sedx_buffer *dst,
                      uint64_t dst_offset, uint64_t size, sedx_ticket *out_ticket)
{
    if (!ctx) return SEDX__ERR(SEDX_ERROR_INVALID_ARGUMENT, TAG, "sedx_copy: ctx is NULL");
    sedx_result r;
    sedx_buffer_resource *s = check_buffer(ctx, src, src_offset, size, "sedx_copy(src)", &r);
    if (!s) return r;
    sedx_buffer_resource *d = check_buffer(ctx, dst, dst_offset, size, "sedx_copy(dst)", &r);
    if (!d) return r;
    if ((r = check_copy(s, src_offset, d, dst_offset, size, "sedx_copy")) != SEDX_SUCCESS) return r;
    struct sedx__transfer *t = get_transfer(ctx, &r);
    if (!t) return r;
    sedx_ticket tk = {0, 0, ctx->id};
    if (size && (r = copy_resources(ctx, t, s, src_offset, d, dst_offset, size, &tk)) != SEDX_SUCCESS) return r;
    if (out_ticket) {
        *out_ticket = tk;
        return SEDX_SUCCESS;
    }
    return tk.value ? sedx_ticket_wait(ctx, tk, UINT64_MAX) : SEDX_SUCCESS;
}

/* ------------------------------------------------------------------------------------------
 * The seed's CopyBuffer and CopyBufferToImage (raw Vulkan handles, looked up in the context's
 * registry: the same checks as sedx's own calls)
 * ---------------------------------------------------------------------------------------- */
static sedx_buffer_resource *lookup_vk(sedx_context *ctx, VkBuffer buffer, const char *what, sedx_result *r)
{
    sedx_buffer_resource *res = sedx__buffer_lookup_vk(ctx, buffer);
    if (!res)
        *r = SEDX__ERR(SEDX_ERROR_INVALID_HANDLE, TAG, "%s: VkBuffer 0x%llx is not a live buffer of this sedx "
                       "context (released, another context's, or not created by sedx)", what,
                       (unsigned long long)(uintptr_t)buffer);
    return res;
}

sedx_result sedx_copy_buffer_offsets(sedx_context *ctx, VkBuffer src, VkDeviceSize src_offset, VkBuffer dst,
                                     VkDeviceSize dst_offset, VkDeviceSize size)
{
    const char *what = "sedx_copy_buffer";
    if (!ctx || !src || !dst) return SEDX__ERR(SEDX_ERROR_INVALID_ARGUMENT, TAG, "%s: NULL context or buffer", what);
    if (size == 0) return SEDX__ERR(SEDX_ERROR_INVALID_SIZE, TAG, "%s: size 0", what);
    sedx_result r;
    struct sedx__transfer *t = get_transfer(ctx, &r);
    if (!t) return r;
    sedx_buffer_resource *s = lookup_vk(ctx, src, what, &r);
    if (!s) return r;
    sedx_buffer_resource *d = lookup_vk(ctx, dst, what, &r);
    sedx_ticket tk = {0};
    if (d) r = check_copy(s, src_offset, d, dst_offset, size, what);
    if (d && r == SEDX_SUCCESS) r = copy_resources(ctx, t, s, src_offset, d, dst_offset, size, &tk);
    if (r == SEDX_SUCCESS) r = sedx_ticket_wait(ctx, tk, UINT64_MAX);
    sedx__buffer_unref(s); /* after the wait: the references kept the buffers alive meanwhile */
    if (d) sedx__buffer_unref(d);
    return r;
}

sedx_result sedx_copy_buffer(sedx_context *ctx, VkBuffer src, VkBuffer dst, VkDeviceSize size)
{
    return sedx_copy_buffer_offsets(ctx, src, 0, dst, 0, size);
}

static void image_barrier(VkCommandBuffer cb, VkImage image, const VkImageSubresourceRange *range, VkImageLayout from,
                          VkImageLayout to, VkPipelineStageFlags src_stage, VkAccessFlags src_access,
                          VkPipelineStageFlags dst_stage, VkAccessFlags dst_access)
{
    VkImageMemoryBarrier b = {VK_STRUCTURE_TYPE_IMAGE_MEMORY_BARRIER};
    b.srcAccessMask = src_access;
    b.dstAccessMask = dst_access;
    b.oldLayout = from;
    b.newLayout = to;
    b.srcQueueFamilyIndex = VK_QUEUE_FAMILY_IGNORED;
    b.dstQueueFamilyIndex = VK_QUEUE_FAMILY_IGNORED;
    b.image = image;
    b.subresourceRange = *range;
    vkCmdPipelineBarrier(cb, src_stage, dst_stage, 0, 0, NULL, 0, NULL, 1, &b);
}

/* A region with every default applied. */
typedef struct image_region {
    VkExtent3D e, m;          /* region, whole mip level */
    VkImageAspectFlags aspect;
    uint32_t layers;          /* layer_count */
    sedx__block block;
} image_region;

static uint64_t div_up(uint64_t a, uint64_t b) { return (a + b - 1) / b; }

/* The subresource and the region inside the mip level, as described. */
static sedx_result check_image_subresource(const sedx_buffer_image_copy *rg, const image_region *g, const char *what)
{
    const VkExtent3D e = g->e, m = g->m;
    uint32_t levels = rg->mip_levels ? rg->mip_levels : 1, layers = rg->array_layers ? rg->array_layers : 1;
    if (rg->mip_level >= levels || rg->base_array_layer >= layers || g->layers > layers - rg->base_array_layer)
        return SEDX__ERR(SEDX_ERROR_OUT_OF_BOUNDS, TAG, "%s: mip %u, layers %u+%u of an image with %u mips and %u "
                         "layers", what, rg->mip_level, rg->base_array_layer, g->layers, levels, layers);
    if (rg->image_offset.x < 0 || rg->image_offset.y < 0 || rg->image_offset.z < 0 ||
        (uint64_t)rg->image_offset.x + e.width > m.width || (uint64_t)rg->image_offset.y + e.height > m.height ||
        (uint64_t)rg->image_offset.z + e.depth > m.depth)
        return SEDX__ERR(SEDX_ERROR_OUT_OF_BOUNDS, TAG, "%s: region (%d,%d,%d)+(%u,%u,%u) is outside the %ux%ux%u mip "
                         "level", what, rg->image_offset.x, rg->image_offset.y, rg->image_offset.z, e.width, e.height,
                         e.depth, m.width, m.height, m.depth);
    if (e.depth > 1 && g->layers > 1)
        return SEDX__ERR(SEDX_ERROR_INVALID_ARGUMENT, TAG, "%s: depth %u with %u layers (3D images have one layer)",
                         what, e.depth, g->layers);
    bool whole = !rg->image_offset.x && !rg->image_offset.y && !rg->image_offset.z && e.width == m.width &&
                 e.height == m.height && e.depth == m.depth;
    if (rg->current_layout == VK_IMAGE_LAYOUT_UNDEFINED && !whole && !(rg->flags & SEDX_IMAGE_COPY_DISCARD))
        return SEDX__ERR(SEDX_ERROR_INVALID_ARGUMENT, TAG, "%s: current_layout UNDEFINED would discard the rest of "
                         "the mip level around this region: pass its current layout, or SEDX_IMAGE_COPY_DISCARD",
                         what);
    return SEDX_SUCCESS;
}

/* Block alignment of compressed regions (VUIDs of VkBufferImageCopy). */
static sedx_result check_image_blocks(const sedx_buffer_image_copy *rg, const image_region *g, const char *what)
{
    uint32_t bw = g->block.width, bh = g->block.height;
    bool x_ok = rg->image_offset.x % bw == 0 && (g->e.width % bw == 0 || rg->image_offset.x + g->e.width == g->m.width);
    bool y_ok = rg->image_offset.y % bh == 0 &&
                (g->e.height % bh == 0 || rg->image_offset.y + g->e.height == g->m.height);
    if (!x_ok || !y_ok || rg->buffer_row_length % bw || rg->buffer_image_height % bh)
        return SEDX__ERR(SEDX_ERROR_INVALID_ARGUMENT, TAG, "%s: region, row length or image height not on %ux%u "
                         "block boundaries", what, bw, bh);
    uint64_t align = g->aspect == VK_IMAGE_ASPECT_COLOR_BIT ? g->block.bytes : 4;
    if (rg->buffer_offset % align)
        return SEDX__ERR(SEDX_ERROR_INVALID_ALIGNMENT, TAG, "%s: buffer_offset %llu is not a multiple of %llu", what,
                         (unsigned long long)rg->buffer_offset, (unsigned long long)align);
    return SEDX_SUCCESS;
}

/* The bytes the copy reads: the last block's end, as the specification addresses them. */
static sedx_result check_image_bytes(const sedx_buffer_resource *buf, const sedx_buffer_image_copy *rg,
                                     const image_region *g, const char *what)
{
    uint64_t row = div_up(rg->buffer_row_length ? rg->buffer_row_length : g->e.width, g->block.width);
    uint64_t height = div_up(rg->buffer_image_height ? rg->buffer_image_height : g->e.height, g->block.height);
    uint64_t wb = div_up(g->e.width, g->block.width), hb = div_up(g->e.height, g->block.height);
    uint64_t slices = (uint64_t)g->e.depth * g->layers, last, bytes, end; /* u32 products: no overflow */
    bool overflow = __builtin_mul_overflow(slices - 1, height, &last) || __builtin_add_overflow(last, hb - 1, &last) ||
                    __builtin_mul_overflow(last, row, &last) || __builtin_add_overflow(last, wb, &last) ||
                    __builtin_mul_overflow(last, (uint64_t)g->block.bytes, &bytes) ||
                    __builtin_add_overflow(bytes, rg->buffer_offset, &end);
    if (overflow)
        return SEDX__ERR(SEDX_ERROR_OUT_OF_BOUNDS, TAG, "%s: the region's bytes from offset %llu end past 2^64 "
                         "(buffer '%s', %llu bytes)", what, (unsigned long long)rg->buffer_offset, buf->name,
                         (unsigned long long)buf->size);
    if (end > buf->size)
        return SEDX__ERR(SEDX_ERROR_OUT_OF_BOUNDS, TAG, "%s: the region reads bytes [%llu, %llu) of buffer '%s', which "
                         "has %llu", what, (unsigned long long)rg->buffer_offset, (unsigned long long)end, buf->name,
                         (unsigned long long)buf->size);
    return SEDX_SUCCESS;
}

static sedx_result check_image_copy(const sedx_buffer_resource *buf, const sedx_buffer_image_copy *rg,
                                    image_region *g)
{
    const char *what = "sedx_copy_buffer_to_image";
    if (rg->flags & ~(uint32_t)SEDX_IMAGE_COPY_FLAGS_ALL)
        return SEDX__ERR(SEDX_ERROR_INVALID_ARGUMENT, TAG, "%s: unknown flags 0x%x", what, rg->flags);
    g->e = rg->image_extent;
    g->m = rg->mip_extent;
    if (!g->e.depth) g->e.depth = 1;
    if (!g->m.depth) g->m.depth = 1;
    g->layers = rg->layer_count ? rg->layer_count : 1;
    g->aspect = rg->aspect ? rg->aspect : VK_IMAGE_ASPECT_COLOR_BIT;
    VkFormat format = rg->format ? rg->format : VK_FORMAT_R8G8B8A8_UNORM;
    if (!g->e.width || !g->e.height) return SEDX__ERR(SEDX_ERROR_INVALID_ARGUMENT, TAG, "%s: zero extent", what);
    if ((rg->buffer_row_length && rg->buffer_row_length < g->e.width) ||
        (rg->buffer_image_height && rg->buffer_image_height < g->e.height))
        return SEDX__ERR(SEDX_ERROR_INVALID_ARGUMENT, TAG, "%s: row length/height below extent", what);
    if (!sedx__format_block(format, g->aspect, &g->block))
        return SEDX__ERR(SEDX_ERROR_INVALID_ARGUMENT, TAG, "%s: format %d with aspect 0x%x: no texel block size known "
                         "to sedx", what, (int)format, g->aspect);
    sedx_result r = check_image_subresource(rg, g, what);
    if (r == SEDX_SUCCESS) r = check_image_blocks(rg, g, what);
    if (r == SEDX_SUCCESS) r = check_image_bytes(buf, rg, g, what);
    return r;
}

static void record_image_copy(VkCommandBuffer cb, VkBuffer buffer, VkImage image, const sedx_buffer_image_copy *rg,
                              const image_region *g)
{
    VkImageLayout final_layout = rg->final_layout ? rg->final_layout : VK_IMAGE_LAYOUT_SHADER_READ_ONLY_OPTIMAL;
    VkImageSubresourceRange range = {g->aspect, rg->mip_level, 1, rg->base_array_layer, g->layers};
    /* current -> TRANSFER_DST_OPTIMAL (the seed leaves this out) */
    image_barrier(cb, image, &range, rg->current_layout, VK_IMAGE_LAYOUT_TRANSFER_DST_OPTIMAL,
                  VK_PIPELINE_STAGE_ALL_COMMANDS_BIT, VK_ACCESS_MEMORY_WRITE_BIT, VK_PIPELINE_STAGE_TRANSFER_BIT,
                  VK_ACCESS_TRANSFER_WRITE_BIT);
    barrier(cb, VK_PIPELINE_STAGE_ALL_COMMANDS_BIT, VK_ACCESS_MEMORY_WRITE_BIT, VK_PIPELINE_STAGE_TRANSFER_BIT,
            VK_ACCESS_TRANSFER_READ_BIT);
    VkBufferImageCopy c = {0};
    c.bufferOffset = rg->buffer_offset;
    c.bufferRowLength = rg->buffer_row_length;
    c.bufferImageHeight = rg->buffer_image_height;
    c.imageSubresource = (VkImageSubresourceLayers){g->aspect, rg->mip_level, rg->base_array_layer, g->layers};
    c.imageOffset = rg->image_offset;
    c.imageExtent = g->e;
    vkCmdCopyBufferToImage(cb, buffer, image, VK_IMAGE_LAYOUT_TRANSFER_DST_OPTIMAL, 1, &c);
    if (final_layout != VK_IMAGE_LAYOUT_TRANSFER_DST_OPTIMAL)
        image_barrier(cb, image, &range, VK_IMAGE_LAYOUT_TRANSFER_DST_OPTIMAL, final_layout,
                      VK_PIPELINE_STAGE_TRANSFER_BIT, VK_ACCESS_TRANSFER_WRITE_BIT, VK_PIPELINE_STAGE_ALL_COMMANDS_BIT,
                      VK_ACCESS_MEMORY_READ_BIT | VK_ACCESS_MEMORY_WRITE_BIT);
    else
        barrier_after(cb, false);
}

sedx_result sedx_copy_buffer_to_image_ex(sedx_context *ctx, VkBuffer buffer, VkImage image,
                                         const sedx_buffer_image_copy *rg)
{
    if (!ctx || !buffer || !image || !rg)
        return SEDX__ERR(SEDX_ERROR_INVALID_ARGUMENT, TAG, "sedx_copy_buffer_to_image: NULL argument");
    sedx_result r;
    struct sedx__transfer *t = get_transfer(ctx, &r);
    if (!t) return r;
    sedx_buffer_resource *src = lookup_vk(ctx, buffer, "sedx_copy_buffer_to_image", &r);
    if (!src) return r;
    image_region g;
    sedx_ticket tk = {0};
    if ((r = check_image_copy(src, rg, &g)) == SEDX_SUCCESS) {
        SEDX_PROFILE_SCOPE("sedx_copy_buffer_to_image");
        pthread_mutex_lock(&t->lock);
        r = batch_submit(ctx, t, NULL);
        sedx_cmd cmd;
        if (r == SEDX_SUCCESS) r = sedx_cmd_begin(ctx, SEDX_QUEUE_GRAPHICS, &cmd);
        if (r == SEDX_SUCCESS) {
            record_image_copy(cmd.cmd, buffer, image, rg, &g);
            r = submit_ordered(ctx, t, &cmd, &tk);
        }
        if (r == SEDX_SUCCESS) sedx__buffer_mark_use(src, (sedx_queue)tk.queue, tk.value);
        pthread_mutex_unlock(&t->lock);
    }
    if (r == SEDX_SUCCESS) r = sedx_ticket_wait(ctx, tk, UINT64_MAX);
    sedx__buffer_unref(src);
    return r;
}

sedx_result sedx_copy_buffer_to_image(sedx_context *ctx, VkBuffer buffer, VkImage image, uint32_t width, uint32_t height)
{
    sedx_buffer_image_copy c = {0};
    c.image_extent = (VkExtent3D){width, height, 1};
    c.mip_extent = c.image_extent;
    c.current_layout = VK_IMAGE_LAYOUT_UNDEFINED;
    c.final_layout = VK_IMAGE_LAYOUT_SHADER_READ_ONLY_OPTIMAL;
    c.format = VK_FORMAT_R8G8B8A8_UNORM;
    return sedx_copy_buffer_to_image_ex(ctx, buffer, image, &c);
}

sedx_result sedx_transfer_get_stats(sedx_context *ctx, sedx_transfer_stats *out)
{
    if (!ctx || !out) return SEDX__ERR(SEDX_ERROR_INVALID_ARGUMENT, TAG, "sedx_transfer_get_stats: NULL argument");
    sedx_result r;
    struct sedx__transfer *t = get_transfer(ctx, &r);
    if (!t) return r;
    pthread_mutex_lock(&t->lock);
    *out = t->stats;
    pthread_mutex_unlock(&t->lock);
    return SEDX_SUCCESS;
}
