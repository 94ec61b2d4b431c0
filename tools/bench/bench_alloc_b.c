/*
 * Workload B of docs/benchmarks.md: 100 batches x 1,000 buffers of 64 KiB (STORAGE | TRANSFER_DST),
 * created with bound memory and destroyed FIFO, timed per phase; 5 runs, median. The same run
 * measures the raw-Vulkan reference (one vkAllocateMemory per buffer) and sedx
 * (sedx_memory_create_buffer: vkCreateBuffer + sub-allocation + vkBindBufferMemory, on a context
 * adopted with sedx_context_create_from_vulkan, allocator defaults).
 *
 * The device is created here exactly as specified: Vulkan 1.3, no layers, no instance or device
 * extensions, no features, one queue of family 0; the one whose name contains "llvmpipe"
 * (`--device NAME` picks another, e.g. for the H100 figures).
 */
#include "bench.h"
#include "workloads.h"

#include <cjson/cJSON.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#define B_BATCHES 100u
#define B_PER_BATCH 1000u
#define B_BUFFER_SIZE 65536u
#define B_MAX_RUNS 64

/* VMA 3.4.0-development reference figures from docs/benchmarks.md (lavapipe, 2-core machine). */
#define VMA_REF_BUFFERS_PER_S 3.9e6
#define VMA_REF_RAW_BUFFERS_PER_S 0.33e6
#define VMA_REF_VK_ALLOCATE_CALLS 101
#define SEDX_TARGET_BUFFERS_PER_S 4.7e6

typedef struct b_env {
    VkInstance instance;
    VkPhysicalDevice physical;
    VkDevice device;
    VkQueue queue;
    VkPhysicalDeviceProperties props;
    VkPhysicalDeviceMemoryProperties mem;
    /* device-level entry points (both contenders call the driver without the loader trampoline) */
    PFN_vkCreateBuffer CreateBuffer;
    PFN_vkDestroyBuffer DestroyBuffer;
    PFN_vkGetBufferMemoryRequirements GetBufferMemoryRequirements;
    PFN_vkAllocateMemory AllocateMemory;
    PFN_vkFreeMemory FreeMemory;
    PFN_vkBindBufferMemory BindBufferMemory;
} b_env;

typedef struct b_run {
    double create_s, destroy_s;
    uint64_t vk_allocate_calls;
} b_run;

static const VkBufferCreateInfo k_buffer_info = {
    VK_STRUCTURE_TYPE_BUFFER_CREATE_INFO, NULL, 0, B_BUFFER_SIZE,
    VK_BUFFER_USAGE_STORAGE_BUFFER_BIT | VK_BUFFER_USAGE_TRANSFER_DST_BIT, VK_SHARING_MODE_EXCLUSIVE, 0, NULL};

static void env_destroy(b_env *e)
{
    if (e->device) vkDestroyDevice(e->device, NULL);
    if (e->instance) vkDestroyInstance(e->instance, NULL);
    memset(e, 0, sizeof *e);
}

/* `want` = the --device substring, or NULL: llvmpipe as the workload specifies, else (a machine
 * without lavapipe, e.g. the H100 runs) the first discrete GPU, else the first device. */
static int env_create(b_env *e, const char *want, FILE *log)
{
    memset(e, 0, sizeof *e);
    VkApplicationInfo app = {VK_STRUCTURE_TYPE_APPLICATION_INFO, NULL, "sedx-bench", 1, "sedx", 1, VK_API_VERSION_1_3};
    VkInstanceCreateInfo ici = {VK_STRUCTURE_TYPE_INSTANCE_CREATE_INFO, NULL, 0, &app, 0, NULL, 0, NULL};
    VkResult vr = vkCreateInstance(&ici, NULL, &e->instance);
    if (vr != VK_SUCCESS) {
        fprintf(stderr, "Workload B: vkCreateInstance failed (%d)\n", (int)vr);
        return 1;
    }
    uint32_t n = 0;
    vkEnumeratePhysicalDevices(e->instance, &n, NULL);
    VkPhysicalDevice pds[16];
    if (n > 16) n = 16;
    vkEnumeratePhysicalDevices(e->instance, &n, pds);
    const char *pick = want ? want : "llvmpipe";
    for (int pass = 0; pass < (want ? 1 : 3) && !e->physical; ++pass) {
        for (uint32_t i = 0; i < n && !e->physical; ++i) {
            VkPhysicalDeviceProperties p;
            vkGetPhysicalDeviceProperties(pds[i], &p);
            if (p.apiVersion < VK_API_VERSION_1_3) continue;
            bool ok = pass == 0 ? strcasestr(p.deviceName, pick) != NULL
                      : pass == 1 ? p.deviceType == VK_PHYSICAL_DEVICE_TYPE_DISCRETE_GPU
                                  : true;
            if (ok) {
                e->physical = pds[i];
                e->props = p;
            }
        }
    }
    if (!e->physical) {
        fprintf(stderr, "Workload B: no Vulkan 1.3 device%s%s%s (%u devices)\n", want ? " whose name contains '" : "",
                want ? want : "", want ? "'" : "", n);
        env_destroy(e);
        return 1;
    }
    if (!want && !strcasestr(e->props.deviceName, "llvmpipe"))
        fprintf(log, "  note: no lavapipe device here; Workload B runs on '%s' instead (VMA's reference figures are "
                     "lavapipe's: compare the ratios to raw, not the rates)\n",
                e->props.deviceName);
    vkGetPhysicalDeviceMemoryProperties(e->physical, &e->mem);
    float prio = 1.0f;
    VkDeviceQueueCreateInfo qci = {VK_STRUCTURE_TYPE_DEVICE_QUEUE_CREATE_INFO, NULL, 0, 0, 1, &prio};
    VkDeviceCreateInfo dci = {VK_STRUCTURE_TYPE_DEVICE_CREATE_INFO, NULL, 0, 1, &qci, 0, NULL, 0, NULL, NULL};
    vr = vkCreateDevice(e->physical, &dci, NULL, &e->device);
    if (vr != VK_SUCCESS) {
        fprintf(stderr, "Workload B: vkCreateDevice failed (%d)\n", (int)vr);
        env_destroy(e);
        return 1;
    }
    vkGetDeviceQueue(e->device, 0, 0, &e->queue);
#define LOAD(fn) e->fn = (PFN_vk##fn)vkGetDeviceProcAddr(e->device, "vk" #fn)
    LOAD(CreateBuffer);
    LOAD(DestroyBuffer);
    LOAD(GetBufferMemoryRequirements);
    LOAD(AllocateMemory);
    LOAD(FreeMemory);
    LOAD(BindBufferMemory);
#undef LOAD
    fprintf(log, "  device: %s (Vulkan %u.%u, driver 0x%x)\n", e->props.deviceName,
            VK_API_VERSION_MAJOR(e->props.apiVersion), VK_API_VERSION_MINOR(e->props.apiVersion),
            e->props.driverVersion);
    return 0;
}

/* Raw-Vulkan reference: one vkAllocateMemory per buffer. */
static int run_raw(const b_env *e, VkBuffer *bufs, VkDeviceMemory *mems, b_run *out)
{
    memset(out, 0, sizeof *out);
    uint32_t type = UINT32_MAX;
    for (uint32_t b = 0; b < B_BATCHES; ++b) {
        uint64_t t0 = sedx_time_ns();
        for (uint32_t i = 0; i < B_PER_BATCH; ++i) {
            if (e->CreateBuffer(e->device, &k_buffer_info, NULL, &bufs[i]) != VK_SUCCESS) return 1;
            VkMemoryRequirements req;
            e->GetBufferMemoryRequirements(e->device, bufs[i], &req);
            /* first type in memoryTypeBits that is DEVICE_LOCAL, else the first allowed (per buffer,
             * as the reference specifies) */
            type = UINT32_MAX;
            for (uint32_t t = 0; t < e->mem.memoryTypeCount && type == UINT32_MAX; ++t)
                if ((req.memoryTypeBits & (1u << t)) &&
                    (e->mem.memoryTypes[t].propertyFlags & VK_MEMORY_PROPERTY_DEVICE_LOCAL_BIT))
                    type = t;
            for (uint32_t t = 0; t < e->mem.memoryTypeCount && type == UINT32_MAX; ++t)
                if (req.memoryTypeBits & (1u << t)) type = t;
            VkMemoryAllocateInfo ai = {VK_STRUCTURE_TYPE_MEMORY_ALLOCATE_INFO, NULL, req.size, type};
            if (e->AllocateMemory(e->device, &ai, NULL, &mems[i]) != VK_SUCCESS) return 1;
            if (e->BindBufferMemory(e->device, bufs[i], mems[i], 0) != VK_SUCCESS) return 1;
        }
        uint64_t t1 = sedx_time_ns();
        for (uint32_t i = 0; i < B_PER_BATCH; ++i) {
            e->DestroyBuffer(e->device, bufs[i], NULL);
            e->FreeMemory(e->device, mems[i], NULL);
        }
        uint64_t t2 = sedx_time_ns();
        out->create_s += (double)(t1 - t0) * 1e-9;
        out->destroy_s += (double)(t2 - t1) * 1e-9;
    }
    out->vk_allocate_calls = (uint64_t)B_BATCHES * B_PER_BATCH;
    return 0;
}

/* sedx: the allocator is created with the adopted context (defaults) before the first batch and
 * destroyed with it after the last one, both outside the timed regions. */
static int run_sedx(const b_env *e, VkBuffer *bufs, sedx_allocation *allocs, b_run *out, sedx_memory_stats *stats)
{
    memset(out, 0, sizeof *out);
    sedx_vulkan_objects o = {0};
    o.instance = e->instance;
    o.physical_device = e->physical;
    o.device = e->device;
    o.api_version = VK_API_VERSION_1_3;
    o.graphics_queue = e->queue;
    o.graphics_queue_family = 0;
    o.enabled_features = 0; /* none enabled, as the workload specifies */
    sedx_context *ctx = NULL;
    sedx_result r = sedx_context_create_from_vulkan(&o, NULL, &ctx);
    if (r != SEDX_SUCCESS) {
        fprintf(stderr, "Workload B: sedx_context_create_from_vulkan: %s\n", sedx_result_name(r));
        return 1;
    }
    /* "auto, prefer device-local", no allocation flags */
    sedx_allocation_info ai = {0};
    ai.usage = SEDX_MEMORY_USAGE_GPU_ONLY;
    int rc = 0;
    for (uint32_t b = 0; b < B_BATCHES && rc == 0; ++b) {
        uint64_t t0 = sedx_time_ns();
        for (uint32_t i = 0; i < B_PER_BATCH; ++i) {
            if (sedx_memory_create_buffer(ctx, &k_buffer_info, &ai, &bufs[i], &allocs[i]) != SEDX_SUCCESS) {
                rc = 1;
                for (uint32_t k = 0; k < i; ++k) sedx_memory_destroy_buffer(ctx, bufs[k], allocs[k]);
                break;
            }
        }
        if (rc) break;
        uint64_t t1 = sedx_time_ns();
        for (uint32_t i = 0; i < B_PER_BATCH; ++i)
            if (sedx_memory_destroy_buffer(ctx, bufs[i], allocs[i]) != SEDX_SUCCESS) rc = 1;
        uint64_t t2 = sedx_time_ns();
        out->create_s += (double)(t1 - t0) * 1e-9;
        out->destroy_s += (double)(t2 - t1) * 1e-9;
    }
    sedx_memory_get_stats(ctx, stats);
    out->vk_allocate_calls = stats->vk_allocate_count;
    sedx_context_destroy(ctx);
    if (rc) fprintf(stderr, "Workload B: a sedx buffer create/destroy failed\n");
    return rc;
}

static double rate(double n, double s) { return s > 0.0 ? n / s : 0.0; }

typedef struct b_summary {
    double total[B_MAX_RUNS], create[B_MAX_RUNS], destroy[B_MAX_RUNS];
    uint64_t calls_max;
} b_summary;

static void add_run(b_summary *s, int i, const b_run *r)
{
    const double n = (double)B_BATCHES * B_PER_BATCH;
    s->total[i] = rate(n, r->create_s + r->destroy_s);
    s->create[i] = rate(n, r->create_s);
    s->destroy[i] = rate(n, r->destroy_s);
    if (r->vk_allocate_calls > s->calls_max) s->calls_max = r->vk_allocate_calls;
}

static cJSON *summary_json(const b_summary *s, int runs, double med, double med_c, double med_d)
{
    cJSON *o = cJSON_CreateObject();
    cJSON_AddItemToObject(o, "buffers_per_s_runs", cJSON_CreateDoubleArray(s->total, runs));
    cJSON_AddNumberToObject(o, "buffers_per_s", med);
    cJSON_AddNumberToObject(o, "create_per_s", med_c);
    cJSON_AddNumberToObject(o, "destroy_per_s", med_d);
    cJSON_AddNumberToObject(o, "vk_allocate_calls_per_run", (double)s->calls_max);
    return o;
}

int bench_alloc_b(const bench_args *args, cJSON *out_json)
{
    FILE *log = args->json ? stderr : stdout;
    int runs = args->runs > 0 ? args->runs : 5;
    if (runs > B_MAX_RUNS) runs = B_MAX_RUNS;
    const char *want = bench_flag_value(args, "--device"); /* NULL: llvmpipe, see env_create */
    fprintf(log, "\nWorkload B: %u batches x %u buffers of %u bytes (STORAGE|TRANSFER_DST), create+destroy FIFO, "
                 "median of %d runs\n",
            B_BATCHES, B_PER_BATCH, B_BUFFER_SIZE, runs);
    b_env e;
    if (env_create(&e, want, log) != 0) return 1;

    VkBuffer *bufs = malloc(B_PER_BATCH * sizeof *bufs);
    VkDeviceMemory *mems = malloc(B_PER_BATCH * sizeof *mems);
    sedx_allocation *allocs = malloc(B_PER_BATCH * sizeof *allocs);
    b_summary raw, sx;
    memset(&raw, 0, sizeof raw);
    memset(&sx, 0, sizeof sx);
    sedx_memory_stats stats;
    memset(&stats, 0, sizeof stats);
    int rc = (!bufs || !mems || !allocs) ? 1 : 0;
    /* Interleaved (raw, sedx) per run, so drift on a shared machine hits both alike. */
    for (int i = 0; i < runs && rc == 0; ++i) {
        b_run r1, r2;
        rc = run_raw(&e, bufs, mems, &r1);
        if (rc) {
            fprintf(stderr, "Workload B: the raw-Vulkan reference failed\n");
            break;
        }
        rc = run_sedx(&e, bufs, allocs, &r2, &stats);
        if (rc) break;
        add_run(&raw, i, &r1);
        add_run(&sx, i, &r2);
        fprintf(log, "  run %d: sedx %.3f M buffers/s (%llu vkAllocateMemory), raw %.3f M buffers/s\n", i + 1,
                sx.total[i] * 1e-6, (unsigned long long)r2.vk_allocate_calls, raw.total[i] * 1e-6);
    }
    free(bufs);
    free(mems);
    free(allocs);
    if (rc) {
        env_destroy(&e);
        return rc;
    }
    b_summary sorted_raw = raw, sorted_sx = sx;
    double raw_med = bench_median(sorted_raw.total, runs), raw_c = bench_median(sorted_raw.create, runs),
           raw_d = bench_median(sorted_raw.destroy, runs);
    double sx_med = bench_median(sorted_sx.total, runs), sx_c = bench_median(sorted_sx.create, runs),
           sx_d = bench_median(sorted_sx.destroy, runs);
    double ratio_raw = raw_med > 0.0 ? sx_med / raw_med : 0.0;
    double vma_ratio_raw = VMA_REF_BUFFERS_PER_S / VMA_REF_RAW_BUFFERS_PER_S;
    bool calls_ok = sx.calls_max <= 2;
    fprintf(log, "  sedx : %.3f M buffers/s median (create %.3f M/s, destroy %.3f M/s), %llu vkAllocateMemory calls per run\n",
            sx_med * 1e-6, sx_c * 1e-6, sx_d * 1e-6, (unsigned long long)sx.calls_max);
    fprintf(log, "  raw  : %.3f M buffers/s median (create %.3f M/s, destroy %.3f M/s), %u vkAllocateMemory calls per run\n",
            raw_med * 1e-6, raw_c * 1e-6, raw_d * 1e-6, B_BATCHES * B_PER_BATCH);
    fprintf(log, "  sedx / raw = %.1fx (this run)\n", ratio_raw);
    fprintf(log, "  VMA reference (docs/benchmarks.md, not measured here): %.2f M buffers/s, raw %.2f M buffers/s "
                 "(VMA / raw = %.1fx), %d vkAllocateMemory calls per run\n",
            VMA_REF_BUFFERS_PER_S * 1e-6, VMA_REF_RAW_BUFFERS_PER_S * 1e-6, vma_ratio_raw, VMA_REF_VK_ALLOCATE_CALLS);
    fprintf(log, "  sedx / VMA reference = %.2fx absolute; normalised by each raw figure = %.2fx; target >= %.1f M/s "
                 "(1.2x VMA) and <= 2 vkAllocateMemory calls: %s\n",
            sx_med / VMA_REF_BUFFERS_PER_S, ratio_raw / vma_ratio_raw, SEDX_TARGET_BUFFERS_PER_S * 1e-6,
            (sx_med >= SEDX_TARGET_BUFFERS_PER_S && calls_ok) ? "met" : "NOT met");
    if (out_json) {
        cJSON *b = cJSON_AddObjectToObject(out_json, "B");
        cJSON_AddStringToObject(b, "device", e.props.deviceName);
        cJSON_AddBoolToObject(b, "lavapipe", strcasestr(e.props.deviceName, "llvmpipe") != NULL);
        cJSON_AddNumberToObject(b, "runs", runs);
        cJSON_AddNumberToObject(b, "batches", B_BATCHES);
        cJSON_AddNumberToObject(b, "buffers_per_batch", B_PER_BATCH);
        cJSON_AddNumberToObject(b, "buffer_size", B_BUFFER_SIZE);
        cJSON_AddItemToObject(b, "sedx", summary_json(&sx, runs, sx_med, sx_c, sx_d));
        cJSON_AddItemToObject(b, "raw", summary_json(&raw, runs, raw_med, raw_c, raw_d));
        cJSON_AddNumberToObject(b, "sedx_over_raw", ratio_raw);
        cJSON *v = cJSON_AddObjectToObject(b, "vma_reference");
        cJSON_AddStringToObject(v, "source", "docs/benchmarks.md (VMA 3.4.0-development, lavapipe, 2-core machine)");
        cJSON_AddNumberToObject(v, "buffers_per_s", VMA_REF_BUFFERS_PER_S);
        cJSON_AddNumberToObject(v, "raw_buffers_per_s", VMA_REF_RAW_BUFFERS_PER_S);
        cJSON_AddNumberToObject(v, "vk_allocate_calls_per_run", VMA_REF_VK_ALLOCATE_CALLS);
        cJSON_AddNumberToObject(b, "sedx_over_vma_reference", sx_med / VMA_REF_BUFFERS_PER_S);
        cJSON_AddNumberToObject(b, "target_buffers_per_s", SEDX_TARGET_BUFFERS_PER_S);
        cJSON_AddBoolToObject(b, "target_met", sx_med >= SEDX_TARGET_BUFFERS_PER_S && calls_ok);
        cJSON *st = cJSON_AddObjectToObject(b, "sedx_last_run_stats");
        cJSON_AddNumberToObject(st, "vk_allocate_count", (double)stats.vk_allocate_count);
        cJSON_AddNumberToObject(st, "vk_free_count", (double)stats.vk_free_count);
    }
    env_destroy(&e);
    return 0;
}
