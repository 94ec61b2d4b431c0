// sedx against AMD's Vulkan Memory Allocator, side by side in one process: Workloads A, A at
// 50 % and B of docs/benchmarks.md and the mixed-alignment workload M (below), each run
// alternating between the two libraries with the same loop code (a template over the two),
// median of 5 runs each.
//
//   side_by_side [runs] [--only=a60,a50,b,m]   the workloads (all by default)
//   side_by_side 1 --only=b-sedx | b-vma      one run of Workload B with one library only
//                                             (for callgrind: the other library's code stays cold)
//
// Not part of the build: VMA is not packaged in Debian 12. bench/vma/run.sh takes the copy of
// vk_mem_alloc.h that Debian's chromium source package carries (third_party/
// vulkan_memory_allocator), builds this file against it and libsedx.a, and runs it. Nothing of
// VMA is committed.
#define VMA_IMPLEMENTATION
#define VMA_STATIC_VULKAN_FUNCTIONS 0
#define VMA_DYNAMIC_VULKAN_FUNCTIONS 1
#include "vk_mem_alloc.h"

extern "C" {
#include <sedx/sedx.h>
}

#ifndef VMA_LABEL
#define VMA_LABEL "vk_mem_alloc.h"
#endif

#include <algorithm>
#include <chrono>
#include <cmath>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <vector>

// ---- the workloads' PRNG and size distribution (docs/benchmarks.md) --------------------------
struct Rng {
    uint64_t s = 0x9E3779B97F4A7C15ull;
    uint64_t next()
    {
        uint64_t x = s;
        x ^= x >> 12;
        x ^= x << 25;
        x ^= x >> 27;
        s = x;
        return x * 0x2545F4914F6CDD1Dull;
    }
    double u01() { return (double)(next() >> 11) * (1.0 / 9007199254740992.0); }
    uint64_t draw_size()
    {
        double u = u01();
        uint64_t v = (uint64_t)(16.0 * exp2(16.0 * u));
        if (v < 16) v = 16;
        if (v > 1048576) v = 1048576;
        return v;
    }
};

static double now_s()
{
    return std::chrono::duration<double>(std::chrono::steady_clock::now().time_since_epoch()).count();
}

static double median(std::vector<double> v)
{
    std::sort(v.begin(), v.end());
    return v[v.size() / 2];
}

// ---- Workload A over a virtual block ----------------------------------------------------------
struct SedxBlock {
    static const char *name() { return "sedx"; }
    sedx_virtual_block *b = nullptr;
    SedxBlock()
    {
        sedx_virtual_block_info info = {1ull << 30, 0};
        if (sedx_virtual_block_create(&info, &b) != SEDX_SUCCESS) abort();
    }
    ~SedxBlock() { sedx_virtual_block_destroy(b); }
    bool alloc(uint64_t size, uint64_t *h) { return sedx_virtual_allocate(b, size, 256, nullptr, h, nullptr) == SEDX_SUCCESS; }
    void release(uint64_t h) { sedx_virtual_free(b, h); }
    void frag(double *f, uint64_t *live_bytes)
    {
        sedx_virtual_block_stats st;
        sedx_virtual_block_get_stats(b, &st);
        *f = st.free_bytes ? 1.0 - (double)st.largest_free_range / (double)st.free_bytes : 0.0;
        *live_bytes = st.allocation_bytes;
    }
};

struct VmaBlock {
    static const char *name() { return "VMA"; }
    VmaVirtualBlock b = VK_NULL_HANDLE;
    VmaBlock()
    {
        VmaVirtualBlockCreateInfo ci = {};
        ci.size = 1ull << 30;
        if (vmaCreateVirtualBlock(&ci, &b) != VK_SUCCESS) abort();
    }
    ~VmaBlock()
    {
        vmaClearVirtualBlock(b);
        vmaDestroyVirtualBlock(b);
    }
    bool alloc(uint64_t size, uint64_t *h)
    {
        VmaVirtualAllocationCreateInfo ci = {};
        ci.size = size;
        ci.alignment = 256;
        VmaVirtualAllocation a;
        if (vmaVirtualAllocate(b, &ci, &a, nullptr) != VK_SUCCESS) return false;
        *h = (uint64_t)(uintptr_t)a;
        return true;
    }
    void release(uint64_t h) { vmaVirtualFree(b, (VmaVirtualAllocation)(uintptr_t)h); }
    void frag(double *f, uint64_t *live_bytes)
    {
        VmaDetailedStatistics st;
        vmaCalculateVirtualBlockStatistics(b, &st);
        uint64_t free_bytes = st.statistics.blockBytes - st.statistics.allocationBytes;
        *f = free_bytes ? 1.0 - (double)st.unusedRangeSizeMax / (double)free_bytes : 0.0;
        *live_bytes = st.statistics.allocationBytes;
    }
};

// The loop alone: every allocation "succeeds" at once (Workload A at 50 % never fails, so the
// PRNG stream and the live array are exactly those of a real run): what the loop costs by itself.
struct NullBlock {
    static const char *name() { return "loop only"; }
    uint64_t next = 1;
    bool alloc(uint64_t, uint64_t *h)
    {
        *h = next++;
        return true;
    }
    void release(uint64_t h) { asm volatile("" ::"r"(h)); }
    void frag(double *f, uint64_t *live_bytes) { *f = 0, *live_bytes = 0; }
};

struct ARun {
    double seconds, frag;
    uint32_t peak, failed;
};

template <class Block> static ARun run_a(uint32_t percent, std::vector<uint64_t> &live)
{
    Block blk;
    Rng r;
    uint32_t n = 0;
    ARun out = {0, 0, 0, 0};
    double t0 = now_s();
    for (uint32_t i = 0; i < 1000000u; ++i) {
        uint64_t x = r.next();
        if (n == 0 || x % 100u < percent) {
            uint64_t size = r.draw_size(), h;
            if (blk.alloc(size, &h)) {
                live[n++] = h;
                if (n > out.peak) out.peak = n;
            } else {
                out.failed++;
            }
        } else {
            uint64_t idx = r.next() % n;
            blk.release(live[idx]);
            live[idx] = live[--n];
        }
    }
    out.seconds = now_s() - t0;
    uint64_t bytes;
    blk.frag(&out.frag, &bytes);
    for (uint32_t i = 0; i < n; ++i) blk.release(live[i]);
    return out;
}

static void workload_a(uint32_t percent, int runs)
{
    std::vector<uint64_t> live(1000000);
    std::vector<double> s, v;
    ARun ls = {}, lv = {};
    for (int i = 0; i < runs; ++i) { // alternating: drift on a shared machine hits both alike
        ls = run_a<SedxBlock>(percent, live);
        lv = run_a<VmaBlock>(percent, live);
        s.push_back(1e6 / ls.seconds);
        v.push_back(1e6 / lv.seconds);
        printf("  run %d: sedx %10.0f ops/s   VMA %10.0f ops/s   (%.2fx)\n", i + 1, s.back(), v.back(), s.back() / v.back());
    }
    printf("  median: sedx %.0f ops/s, VMA %.0f ops/s: sedx/VMA = %.2fx\n", median(s), median(v), median(s) / median(v));
    printf("  peak live: sedx %u, VMA %u; failed allocations: sedx %u, VMA %u; end fragmentation: sedx %.4f, VMA %.4f\n",
           ls.peak, lv.peak, ls.failed, lv.failed, ls.frag, lv.frag);
    if (percent == 50) {
        std::vector<double> z;
        for (int i = 0; i < runs; ++i) z.push_back(run_a<NullBlock>(percent, live).seconds);
        double loop_ns = median(z) * 1e3; // per op: 1e6 ops
        double s_ns = 1e9 / median(s), v_ns = 1e9 / median(v);
        printf("  per op: sedx %.1f ns, VMA %.1f ns, the loop alone (PRNG, exp2, live array; no allocator) %.1f ns:\n"
               "  allocator only: sedx %.1f ns, VMA %.1f ns (%.2fx); with this loop sedx/VMA cannot exceed %.2fx\n",
               s_ns, v_ns, loop_ns, s_ns - loop_ns, v_ns - loop_ns, (v_ns - loop_ns) / (s_ns - loop_ns), v_ns / loop_ns);
    }
}

// ---- Workload M: mixed alignments and sizes at a fixed fill of a fixed budget ----------------
// Not in docs/benchmarks.md (defined here, the same for both libraries): one virtual block of
// M_BUDGET bytes; sizes log-uniform on [1 B, 16 MiB] (floor(2^(24 u)), clamped), alignments
// 16 B .. 4 KiB (16 << (next() % 9), each power of two equally likely). Each op: while the live
// bytes are below the fill target, allocate (one size, one alignment drawn, in that order);
// else free a random live allocation (next() % n, swap-remove). A failed allocation counts and
// adds nothing, so the next op allocates again. Seed as in Workload A, M_OPS ops per fill.
// Runs of the two libraries are the same trace up to the first failure, then a closed loop.
static const uint64_t M_BUDGET = 1ull << 30;
static const uint32_t M_OPS = 1000000u;

static uint64_t m_draw_size(Rng &r)
{
    uint64_t v = (uint64_t)exp2(24.0 * r.u01());
    if (v < 1) v = 1;
    if (v > (16u << 20)) v = 16u << 20;
    return v;
}

struct MRun {
    double seconds;
    uint64_t attempts, failed, failed_bytes, first_failed_op, live_bytes_at_failures;
    uint32_t peak;
};

template <class Block> struct MBlock; // the block of budget M_BUDGET with a per-request alignment

template <> struct MBlock<SedxBlock> {
    sedx_virtual_block *b = nullptr;
    MBlock()
    {
        sedx_virtual_block_info info = {M_BUDGET, 0};
        if (sedx_virtual_block_create(&info, &b) != SEDX_SUCCESS) abort();
    }
    ~MBlock() { sedx_virtual_block_destroy(b); }
    bool alloc(uint64_t size, uint64_t align, uint64_t *h)
    {
        return sedx_virtual_allocate(b, size, align, nullptr, h, nullptr) == SEDX_SUCCESS;
    }
    void release(uint64_t h) { sedx_virtual_free(b, h); }
};

template <> struct MBlock<VmaBlock> {
    VmaVirtualBlock b = VK_NULL_HANDLE;
    MBlock()
    {
        VmaVirtualBlockCreateInfo ci = {};
        ci.size = M_BUDGET;
        if (vmaCreateVirtualBlock(&ci, &b) != VK_SUCCESS) abort();
    }
    ~MBlock()
    {
        vmaClearVirtualBlock(b);
        vmaDestroyVirtualBlock(b);
    }
    bool alloc(uint64_t size, uint64_t align, uint64_t *h)
    {
        VmaVirtualAllocationCreateInfo ci = {};
        ci.size = size;
        ci.alignment = align;
        VmaVirtualAllocation a;
        if (vmaVirtualAllocate(b, &ci, &a, nullptr) != VK_SUCCESS) return false;
        *h = (uint64_t)(uintptr_t)a;
        return true;
    }
    void release(uint64_t h) { vmaVirtualFree(b, (VmaVirtualAllocation)(uintptr_t)h); }
};

template <class Block>
static MRun run_m(uint32_t fill_percent, uint64_t seed, std::vector<uint64_t> &live, std::vector<uint64_t> &sizes)
{
    MBlock<Block> blk;
    Rng r;
    r.s = seed;
    const uint64_t target = M_BUDGET / 100u * fill_percent;
    uint64_t live_bytes = 0;
    uint32_t n = 0;
    MRun out = {0, 0, 0, 0, UINT64_MAX, 0, 0};
    double t0 = now_s();
    for (uint32_t i = 0; i < M_OPS; ++i) {
        if (live_bytes < target || n == 0) {
            uint64_t size = m_draw_size(r), align = 16ull << (r.next() % 9u), h;
            out.attempts++;
            if (blk.alloc(size, align, &h)) {
                live[n] = h;
                sizes[n++] = size;
                live_bytes += size;
                if (n > out.peak) out.peak = n;
            } else {
                if (out.failed == 0) out.first_failed_op = i;
                out.failed++;
                out.failed_bytes += size;
                out.live_bytes_at_failures += live_bytes;
            }
        } else {
            uint32_t idx = (uint32_t)(r.next() % n);
            blk.release(live[idx]);
            live_bytes -= sizes[idx];
            live[idx] = live[--n];
            sizes[idx] = sizes[n];
        }
    }
    out.seconds = now_s() - t0;
    for (uint32_t i = 0; i < n; ++i) blk.release(live[i]);
    return out;
}

// The failure counts of a closed loop move with its trace: besides the workload's seed, M_SEEDS
// more seeds (one run each, not timed) show whether a difference is systematic.
static const int M_SEEDS = 8;

static void workload_m(int runs)
{
    std::vector<uint64_t> live(M_OPS), sizes(M_OPS);
    for (uint32_t fill : {50u, 75u, 90u}) {
        std::vector<double> s, v;
        MRun ms = {}, mv = {};
        for (int i = 0; i < runs; ++i) {
            ms = run_m<SedxBlock>(fill, 0x9E3779B97F4A7C15ull, live, sizes);
            mv = run_m<VmaBlock>(fill, 0x9E3779B97F4A7C15ull, live, sizes);
            s.push_back(M_OPS / ms.seconds);
            v.push_back(M_OPS / mv.seconds);
        }
        printf("  fill %u %%: attempts sedx %llu, VMA %llu; failed sedx %llu, VMA %llu", fill,
               (unsigned long long)ms.attempts, (unsigned long long)mv.attempts, (unsigned long long)ms.failed,
               (unsigned long long)mv.failed);
        if (ms.failed || mv.failed)
            printf(" (first at op %lld / %lld; mean live at a failure %.1f %% / %.1f %% of the budget; "
                   "mean failed request %.2f / %.2f MiB)",
                   ms.failed ? (long long)ms.first_failed_op : -1LL, mv.failed ? (long long)mv.first_failed_op : -1LL,
                   ms.failed ? 100.0 * ms.live_bytes_at_failures / ms.failed / M_BUDGET : 0.0,
                   mv.failed ? 100.0 * mv.live_bytes_at_failures / mv.failed / M_BUDGET : 0.0,
                   ms.failed ? ms.failed_bytes / (double)ms.failed / 1048576.0 : 0.0,
                   mv.failed ? mv.failed_bytes / (double)mv.failed / 1048576.0 : 0.0);
        printf("\n    peak live sedx %u, VMA %u; ops/s median sedx %.0f, VMA %.0f (%.2fx)\n", ms.peak, mv.peak,
               median(s), median(v), median(s) / median(v));
        uint64_t fs = ms.failed, fv = mv.failed, as = ms.attempts, av = mv.attempts;
        int fewer = 0, more = 0;
        printf("    other seeds, failed sedx / VMA:");
        for (int k = 1; k <= M_SEEDS; ++k) {
            uint64_t seed = 0x9E3779B97F4A7C15ull * (uint64_t)(2 * k + 1);
            MRun a = run_m<SedxBlock>(fill, seed, live, sizes), b = run_m<VmaBlock>(fill, seed, live, sizes);
            printf(" %llu/%llu", (unsigned long long)a.failed, (unsigned long long)b.failed);
            fs += a.failed, fv += b.failed, as += a.attempts, av += b.attempts;
            fewer += a.failed < b.failed, more += a.failed > b.failed;
        }
        printf("\n    all %d seeds: failed sedx %llu of %llu attempts (%.3f %%), VMA %llu of %llu (%.3f %%); sedx fewer "
               "in %d, more in %d\n",
               M_SEEDS + 1, (unsigned long long)fs, (unsigned long long)as, as ? 100.0 * fs / as : 0.0,
               (unsigned long long)fv, (unsigned long long)av, av ? 100.0 * fv / av : 0.0,
               fewer + (ms.failed < mv.failed), more + (ms.failed > mv.failed));
    }
}

// ---- Workload B: buffers on lavapipe ----------------------------------------------------------
struct Env {
    VkInstance instance = VK_NULL_HANDLE;
    VkPhysicalDevice physical = VK_NULL_HANDLE;
    VkDevice device = VK_NULL_HANDLE;
    VkQueue queue = VK_NULL_HANDLE;
    char name[256] = "";
};

static bool env_create(Env *e)
{
    VkApplicationInfo app = {VK_STRUCTURE_TYPE_APPLICATION_INFO, nullptr, "side_by_side", 1, "sedx", 1, VK_API_VERSION_1_3};
    VkInstanceCreateInfo ici = {VK_STRUCTURE_TYPE_INSTANCE_CREATE_INFO, nullptr, 0, &app, 0, nullptr, 0, nullptr};
    if (vkCreateInstance(&ici, nullptr, &e->instance) != VK_SUCCESS) return false;
    uint32_t n = 16;
    VkPhysicalDevice pds[16];
    vkEnumeratePhysicalDevices(e->instance, &n, pds);
    /* lavapipe unless SEDX_SBS_DEVICE names (part of) another device's name, e.g. "NVIDIA" */
    const char *want_name = getenv("SEDX_SBS_DEVICE");
    if (!want_name || !*want_name) want_name = "llvmpipe";
    for (uint32_t i = 0; i < n && !e->physical; ++i) {
        VkPhysicalDeviceProperties p;
        vkGetPhysicalDeviceProperties(pds[i], &p);
        if (strstr(p.deviceName, want_name)) {
            e->physical = pds[i];
            snprintf(e->name, sizeof e->name, "%s", p.deviceName);
        }
    }
    if (!e->physical) return false;
    float prio = 1.0f;
    VkDeviceQueueCreateInfo qci = {VK_STRUCTURE_TYPE_DEVICE_QUEUE_CREATE_INFO, nullptr, 0, 0, 1, &prio};
    VkDeviceCreateInfo dci = {VK_STRUCTURE_TYPE_DEVICE_CREATE_INFO, nullptr, 0, 1, &qci, 0, nullptr, 0, nullptr, nullptr};
    if (vkCreateDevice(e->physical, &dci, nullptr, &e->device) != VK_SUCCESS) return false;
    vkGetDeviceQueue(e->device, 0, 0, &e->queue);
    return true;
}

static const VkBufferCreateInfo k_buffer = {VK_STRUCTURE_TYPE_BUFFER_CREATE_INFO, nullptr, 0, 65536,
                                            VK_BUFFER_USAGE_STORAGE_BUFFER_BIT | VK_BUFFER_USAGE_TRANSFER_DST_BIT,
                                            VK_SHARING_MODE_EXCLUSIVE, 0, nullptr};

static uint64_t g_vma_device_allocs;
static void VKAPI_PTR count_alloc(VmaAllocator, uint32_t, VkDeviceMemory, VkDeviceSize, void *) { g_vma_device_allocs++; }

struct BRun {
    double seconds;
    uint64_t vk_allocs;
};

// One buffer of each library, out of line: callgrind's --toggle-collect can name them
// (bench/results: instructions per buffer; VMA's calls are otherwise inlined into the loop).
__attribute__((noinline)) static VkResult vma_create_one(VmaAllocator a, const VmaAllocationCreateInfo *ci, VkBuffer *b,
                                                         VmaAllocation *al)
{
    return vmaCreateBuffer(a, &k_buffer, ci, b, al, nullptr);
}
__attribute__((noinline)) static void vma_destroy_one(VmaAllocator a, VkBuffer b, VmaAllocation al)
{
    vmaDestroyBuffer(a, b, al);
}

static BRun run_b_vma(const Env &e)
{
    VmaVulkanFunctions fns = {};
    fns.vkGetInstanceProcAddr = vkGetInstanceProcAddr;
    fns.vkGetDeviceProcAddr = vkGetDeviceProcAddr;
    VmaDeviceMemoryCallbacks cb = {count_alloc, nullptr, nullptr};
    VmaAllocatorCreateInfo ai = {};
    ai.instance = e.instance;
    ai.physicalDevice = e.physical;
    ai.device = e.device;
    ai.pVulkanFunctions = &fns; // needed to load the functions; no other setting
    ai.pDeviceMemoryCallbacks = &cb;
    VmaAllocator a;
    if (vmaCreateAllocator(&ai, &a) != VK_SUCCESS) abort();
    g_vma_device_allocs = 0;
    std::vector<VkBuffer> bufs(1000);
    std::vector<VmaAllocation> allocs(1000);
    VmaAllocationCreateInfo ci = {};
    ci.usage = VMA_MEMORY_USAGE_AUTO_PREFER_DEVICE;
    double total = 0;
    for (int batch = 0; batch < 100; ++batch) {
        double t0 = now_s();
        for (int i = 0; i < 1000; ++i)
            if (vma_create_one(a, &ci, &bufs[i], &allocs[i]) != VK_SUCCESS) abort();
        for (int i = 0; i < 1000; ++i) vma_destroy_one(a, bufs[i], allocs[i]);
        total += now_s() - t0;
    }
    vmaDestroyAllocator(a);
    return {total, g_vma_device_allocs};
}

static BRun run_b_sedx(const Env &e)
{
    sedx_vulkan_objects o = {};
    o.instance = e.instance;
    o.physical_device = e.physical;
    o.device = e.device;
    o.api_version = VK_API_VERSION_1_3;
    o.graphics_queue = e.queue;
    o.graphics_queue_family = 0;
    sedx_context *ctx = nullptr;
    if (sedx_context_create_from_vulkan(&o, nullptr, &ctx) != SEDX_SUCCESS) abort();
    std::vector<VkBuffer> bufs(1000);
    std::vector<sedx_allocation> allocs(1000);
    sedx_allocation_info ai = {};
    double total = 0;
    for (int batch = 0; batch < 100; ++batch) {
        double t0 = now_s();
        for (int i = 0; i < 1000; ++i)
            if (sedx_memory_create_buffer(ctx, &k_buffer, &ai, &bufs[i], &allocs[i]) != SEDX_SUCCESS) abort();
        for (int i = 0; i < 1000; ++i) sedx_memory_destroy_buffer(ctx, bufs[i], allocs[i]);
        total += now_s() - t0;
    }
    sedx_memory_stats st;
    sedx_memory_get_stats(ctx, &st);
    sedx_context_destroy(ctx);
    return {total, st.vk_allocate_count};
}

// The driver's share, no allocator: the same loop with vkCreateBuffer, vkBindBufferMemory at
// offset i * 64 KiB of one 64 MiB VkDeviceMemory allocated beforehand, vkDestroyBuffer. No
// allocator can make a run faster than this; VMA's time over it bounds sedx / VMA.
static double run_b_floor(const Env &e)
{
    auto create = (PFN_vkCreateBuffer)vkGetDeviceProcAddr(e.device, "vkCreateBuffer");
    auto bind = (PFN_vkBindBufferMemory)vkGetDeviceProcAddr(e.device, "vkBindBufferMemory");
    auto destroy = (PFN_vkDestroyBuffer)vkGetDeviceProcAddr(e.device, "vkDestroyBuffer");
    VkMemoryAllocateInfo mi = {VK_STRUCTURE_TYPE_MEMORY_ALLOCATE_INFO, nullptr, 1000ull * 65536ull, 0};
    VkDeviceMemory mem;
    if (vkAllocateMemory(e.device, &mi, nullptr, &mem) != VK_SUCCESS) abort();
    std::vector<VkBuffer> bufs(1000);
    double total = 0;
    for (int batch = 0; batch < 100; ++batch) {
        double t0 = now_s();
        for (int i = 0; i < 1000; ++i) {
            if (create(e.device, &k_buffer, nullptr, &bufs[i]) != VK_SUCCESS) abort();
            if (bind(e.device, bufs[i], mem, (VkDeviceSize)i * 65536u) != VK_SUCCESS) abort();
        }
        for (int i = 0; i < 1000; ++i) destroy(e.device, bufs[i], nullptr);
        total += now_s() - t0;
    }
    vkFreeMemory(e.device, mem, nullptr);
    return total;
}

static void workload_b(int runs)
{
    Env e;
    if (!env_create(&e)) {
        printf("  no device named like SEDX_SBS_DEVICE (default llvmpipe): Workload B skipped\n");
        return;
    }
    printf("  device: %s\n", e.name);
    std::vector<double> s, v, f;
    uint64_t sc = 0, vc = 0;
    for (int i = 0; i < runs; ++i) {
        BRun rs = run_b_sedx(e), rv = run_b_vma(e);
        f.push_back(1e5 / run_b_floor(e));
        s.push_back(1e5 / rs.seconds);
        v.push_back(1e5 / rv.seconds);
        sc = rs.vk_allocs;
        vc = rv.vk_allocs;
        printf("  run %d: sedx %.3f M buffers/s   VMA %.3f M buffers/s   (%.2fx)\n", i + 1, s.back() * 1e-6,
               v.back() * 1e-6, s.back() / v.back());
    }
    printf("  median: sedx %.3f M/s, VMA %.3f M/s: sedx/VMA = %.2fx; vkAllocateMemory per run: sedx %llu, VMA %llu\n",
           median(s) * 1e-6, median(v) * 1e-6, median(s) / median(v), (unsigned long long)sc, (unsigned long long)vc);
    double fns = 1e9 / median(f), sns = 1e9 / median(s), vns = 1e9 / median(v);
    printf("  the driver alone (create, bind into one VkDeviceMemory, destroy; no allocator): %.3f M/s, %.1f ns per buffer;\n"
           "  over it: sedx %.1f ns, VMA %.1f ns per buffer; with this driver sedx/VMA cannot exceed %.2fx\n",
           median(f) * 1e-6, fns, sns - fns, vns - fns, vns / fns);
    vkDestroyDevice(e.device, nullptr);
    vkDestroyInstance(e.instance, nullptr);
}

static bool want(const char *only, const char *w)
{
    if (!only) return true;
    size_t n = strlen(w);
    for (const char *p = only; (p = strstr(p, w)) != nullptr; p += n)
        if ((p == only || p[-1] == ',') && (p[n] == '\0' || p[n] == ',')) return true;
    return false;
}

int main(int argc, char **argv)
{
    int runs = 5;
    const char *only = nullptr;
    for (int i = 1; i < argc; ++i) {
        if (strncmp(argv[i], "--only=", 7) == 0)
            only = argv[i] + 7;
        else
            runs = atoi(argv[i]);
    }
    if (runs < 1 || runs > 50) runs = 5;
    setvbuf(stdout, nullptr, _IOLBF, 0);
    sedx_set_log_level(SEDX_LOG_WARN);
    if (only && (strcmp(only, "b-sedx") == 0 || strcmp(only, "b-vma") == 0)) {
        Env e;
        if (!env_create(&e)) return 1;
        BRun r = strcmp(only, "b-sedx") == 0 ? run_b_sedx(e) : run_b_vma(e);
        printf("%s: %.3f M buffers/s, %llu vkAllocateMemory\n", only, 1e-1 / r.seconds, (unsigned long long)r.vk_allocs);
        vkDestroyDevice(e.device, nullptr);
        vkDestroyInstance(e.instance, nullptr);
        return 0;
    }
    printf("sedx vs VMA (%s), side by side, %d runs each, alternating\n", VMA_LABEL, runs);
    if (want(only, "a60")) {
        printf("\nWorkload A (60 %%): 1,000,000 ops, 1 GiB virtual block, alignment 256 (one run: VMA needs minutes)\n");
        workload_a(60, 1);
    }
    if (want(only, "a50")) {
        printf("\nWorkload A at 50 %%\n");
        workload_a(50, runs);
    }
    if (want(only, "b")) {
        printf("\nWorkload B: 100 x 1,000 buffers of 64 KiB (STORAGE|TRANSFER_DST), create+destroy\n");
        workload_b(runs);
    }
    if (want(only, "m")) {
        printf("\nWorkload M: 1 GiB virtual block, sizes 1 B .. 16 MiB log-uniform, alignments 16 B .. 4 KiB, "
               "allocate while below the fill, else free; 1,000,000 ops per fill\n");
        workload_m(runs);
    }
    return 0;
}
