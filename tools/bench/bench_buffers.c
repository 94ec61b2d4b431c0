/*
 * sedx-bench buffers: issue 4's benchmark.
 *
 *   sedx-bench buffers [--json] [--runs N] [--out FILE] [--size BYTES] [--batch N]
 *                      [--batches N] [--raw-batches N] [--updates N]
 *                      [--usage vertex|index|uniform|storage|staging] [--memory gpu|cpu]
 *
 * 1. Create+destroy rate per usage and memory kind: batches of --batch buffers (default 1000)
 *    of --size bytes (default 64 KiB) created with sedx_buffer_create (sedx_staging_buffer_create
 *    for staging), then released first-in first-out, then sedx_context_collect_garbage() so the
 *    deferred destruction really runs inside the timed region. --batches batches (default 20)
 *    per run, median of --runs runs. One untimed warm-up batch precedes the runs.
 * 2. The baseline in the same process, interleaved run by run: the raw Vulkan pattern with one
 *    vkAllocateMemory per buffer (vkCreateBuffer, vkGetBufferMemoryRequirements,
 *    vkAllocateMemory of the first allowed DEVICE_LOCAL type, or HOST_VISIBLE|HOST_COHERENT for
 *    CPU, vkBindBufferMemory; vkDestroyBuffer + vkFreeMemory), with the usage sedx reports in
 *    buffer.usage (the seed's rules applied; sedx's own VkBuffer may carry more internal bits).
 *    The raw CPU case does not map the memory (sedx's CPU buffers are mapped: the comparison
 *    favours the raw pattern there).
 * 3. The seed's per-frame uniform update of 256 B: map + memcpy + unmap, a persistently mapped
 *    buffer (memcpy into buffer.data), sedx_buffer_write, and a memcpy into malloc'd memory (the
 *    limit), in ns per update over --updates updates (default 1,000,000).
 *
 * Timings are measured and reported, never asserted. The exit code is 0 when every call
 * succeeded and every check held (no live buffer, no pending deletion and no sedx allocation
 * left after a run; the last value of every update pattern read back correctly).
 */
#include "bench.h"

#include <cjson/cJSON.h>
#include <sedx/memory.h>

#include <ctype.h>
#include <inttypes.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <unistd.h>

#define BB_UBO_SIZE 256u
#define BB_UBO_WORDS (BB_UBO_SIZE / sizeof(uint32_t))
#define BB_TARGET_SPEEDUP 100.0      /* issue 4: sedx >= 100x the raw pattern (H100, 64 KiB) */
#define BB_TARGET_PERSISTENT 2.0     /* issue 4: persistently mapped within 2x of memcpy */
#define BB_H100_RAW_NS 185000.0      /* issue 4: raw pair measured on the H100 */

/* Keeps the compiler from dropping or merging the stores to p (and the loads of what was
 * written before this point). */
static inline void bb_clobber(void *p) { __asm__ volatile("" : : "r"(p) : "memory"); }

/* Each update pattern is compiled on its own: not inlined, not merged with an identical one,
 * and, with GCC (noipa), no alignment or constants propagated from its callers. */
#if defined(__clang__)
#  define BB_ISOLATED __attribute__((noinline))
#else
#  define BB_ISOLATED __attribute__((noipa))
#endif

/* ------------------------------------------------------------------------------------------
 * Options
 * ---------------------------------------------------------------------------------------- */
typedef struct bb_opts {
    uint64_t size;
    uint32_t batch, batches, raw_batches;
    uint64_t updates;
    int runs;
    const char *only_usage;  /* NULL = all */
    const char *only_memory; /* NULL = both */
} bb_opts;

/* "65536", "64K", "64KiB", "1M", "1MiB", "1G". Returns false when malformed or 0. */
static bool parse_size(const char *s, uint64_t *out)
{
    if (!s || !isdigit((unsigned char)*s)) return false;
    char *end = NULL;
    unsigned long long v = strtoull(s, &end, 10);
    uint64_t mul = 1;
    if (*end) {
        switch (toupper((unsigned char)*end)) {
        case 'K': mul = 1024u; break;
        case 'M': mul = 1024u * 1024u; break;
        case 'G': mul = 1024u * 1024u * 1024u; break;
        default: return false;
        }
        ++end;
        if (strcasecmp(end, "") != 0 && strcasecmp(end, "iB") != 0 && strcasecmp(end, "B") != 0) return false;
    }
    if (v == 0 || v > UINT64_MAX / mul) return false;
    *out = (uint64_t)v * mul;
    return true;
}

static bool parse_u32(const bench_args *args, const char *flag, uint32_t *inout)
{
    const char *v = bench_flag_value(args, flag);
    if (!v) return true;
    uint64_t x;
    if (!parse_size(v, &x) || x > UINT32_MAX) {
        fprintf(stderr, "sedx-bench buffers: %s needs a positive number (got '%s')\n", flag, v);
        return false;
    }
    *inout = (uint32_t)x;
    return true;
}

/* ------------------------------------------------------------------------------------------
 * Machine and device
 * ---------------------------------------------------------------------------------------- */
static void add_machine(cJSON *root, FILE *log)
{
    char cpu[256];
    bench_add_machine(root, cpu, sizeof cpu);
    fprintf(log, "cpu: %s (%ld online)\n", cpu, sysconf(_SC_NPROCESSORS_ONLN));
}

/* The vendor's own encoding of driverVersion. */
static void driver_version_string(uint32_t vendor, uint32_t v, char *out, size_t cap)
{
    if (vendor == 0x10DE) /* NVIDIA: 10.8.8.6 bits */
        snprintf(out, cap, "%u.%u.%u.%u", (v >> 22) & 0x3FFu, (v >> 14) & 0xFFu, (v >> 6) & 0xFFu, v & 0x3Fu);
    else
        snprintf(out, cap, "%u.%u.%u", VK_API_VERSION_MAJOR(v), VK_API_VERSION_MINOR(v), VK_API_VERSION_PATCH(v));
}

static void add_device(sedx_context *ctx, cJSON *root, FILE *log)
{
    const VkPhysicalDeviceProperties *p = sedx_context_properties(ctx);
    VkPhysicalDeviceDriverProperties drv = {VK_STRUCTURE_TYPE_PHYSICAL_DEVICE_DRIVER_PROPERTIES};
    VkPhysicalDeviceProperties2 p2 = {VK_STRUCTURE_TYPE_PHYSICAL_DEVICE_PROPERTIES_2, &drv};
    vkGetPhysicalDeviceProperties2(sedx_context_physical_device(ctx), &p2);
    char ver[64], api[32];
    driver_version_string(p->vendorID, p->driverVersion, ver, sizeof ver);
    uint32_t a = sedx_context_api_version(ctx);
    snprintf(api, sizeof api, "%u.%u.%u", VK_API_VERSION_MAJOR(a), VK_API_VERSION_MINOR(a), VK_API_VERSION_PATCH(a));

    cJSON *d = cJSON_AddObjectToObject(root, "device");
    cJSON_AddStringToObject(d, "name", p->deviceName);
    cJSON_AddStringToObject(d, "type", sedx_device_type_name(p->deviceType));
    cJSON_AddNumberToObject(d, "vendor_id", p->vendorID);
    cJSON_AddNumberToObject(d, "device_id", p->deviceID);
    cJSON_AddNumberToObject(d, "driver_version_raw", p->driverVersion);
    cJSON_AddStringToObject(d, "driver_version", ver);
    cJSON_AddStringToObject(d, "driver_name", drv.driverName);
    cJSON_AddStringToObject(d, "driver_info", drv.driverInfo);
    cJSON_AddStringToObject(d, "api_version", api);
    cJSON_AddBoolToObject(d, "validation", sedx_context_validation_enabled(ctx));
    cJSON_AddBoolToObject(d, "transfer_queue", sedx_context_has_transfer_queue(ctx));
    cJSON_AddBoolToObject(d, "buffer_device_address",
                          (sedx_context_features(ctx) & SEDX_FEATURE_BUFFER_DEVICE_ADDRESS) != 0);

    fprintf(log, "device: %s (%s, vendor 0x%04x, device 0x%04x), driver %s %s [%s], Vulkan %s%s\n", p->deviceName,
            sedx_device_type_name(p->deviceType), p->vendorID, p->deviceID, drv.driverName, ver, drv.driverInfo, api,
            sedx_context_validation_enabled(ctx) ? ", VALIDATION ON (figures not meaningful)" : "");
}

/* ------------------------------------------------------------------------------------------
 * Create + destroy
 * ---------------------------------------------------------------------------------------- */
typedef struct bb_case {
    const char *usage_name;
    sedx_buffer_usage_flags usage;
    sedx_memory_flags memory;
    bool staging; /* sedx_staging_buffer_create */
} bb_case;

/* Staging is CPU memory by definition (the seed's CreateStagingBuffer): no GPU case. */
static const bb_case k_cases[] = {
    {"vertex", SEDX_BUFFER_USAGE_VERTEX, SEDX_MEMORY_GPU, false},
    {"vertex", SEDX_BUFFER_USAGE_VERTEX, SEDX_MEMORY_CPU, false},
    {"index", SEDX_BUFFER_USAGE_INDEX, SEDX_MEMORY_GPU, false},
    {"index", SEDX_BUFFER_USAGE_INDEX, SEDX_MEMORY_CPU, false},
    {"uniform", SEDX_BUFFER_USAGE_UNIFORM, SEDX_MEMORY_GPU, false},
    {"uniform", SEDX_BUFFER_USAGE_UNIFORM, SEDX_MEMORY_CPU, false},
    {"storage", SEDX_BUFFER_USAGE_STORAGE, SEDX_MEMORY_GPU, false},
    {"storage", SEDX_BUFFER_USAGE_STORAGE, SEDX_MEMORY_CPU, false},
    {"staging", SEDX_BUFFER_USAGE_TRANSFER_SRC, SEDX_MEMORY_CPU, true},
};

static const char *memory_name(sedx_memory_flags m) { return (m & SEDX_MEMORY_CPU) ? "cpu" : "gpu"; }

static sedx_result create_one(sedx_context *ctx, const bb_case *c, uint64_t size, sedx_buffer *out)
{
    if (c->staging) return sedx_staging_buffer_create(ctx, size, "bench staging", out);
    return sedx_buffer_create(ctx, size, c->usage, c->memory, "bench buffer", out);
}

/* One sedx run of `batches` batches. Returns 0, or -1 after a failed call (logged). */
static int sedx_run(sedx_context *ctx, const bb_case *c, const bb_opts *o, uint32_t batches, sedx_buffer *bufs,
                    double *out_ns_per_pair)
{
    uint64_t t0 = sedx_time_ns();
    for (uint32_t b = 0; b < batches; ++b) {
        for (uint32_t i = 0; i < o->batch; ++i) {
            sedx_result r = create_one(ctx, c, o->size, &bufs[i]);
            if (r != SEDX_SUCCESS) {
                fprintf(stderr, "sedx %s/%s: create #%u of batch %u: %s\n", c->usage_name, memory_name(c->memory), i,
                        b, sedx_result_name(r));
                for (uint32_t k = 0; k < i; ++k) sedx_buffer_release(&bufs[k]);
                sedx_context_collect_garbage(ctx);
                return -1;
            }
        }
        for (uint32_t i = 0; i < o->batch; ++i) sedx_buffer_release(&bufs[i]); /* FIFO */
        sedx_context_collect_garbage(ctx);
    }
    uint64_t t1 = sedx_time_ns();
    *out_ns_per_pair = (double)(t1 - t0) / ((double)batches * (double)o->batch);
    return 0;
}

typedef struct raw_pair {
    VkBuffer buffer;
    VkDeviceMemory memory;
} raw_pair;

typedef struct raw_setup {
    VkDevice device;
    const VkPhysicalDeviceMemoryProperties *mp;
    VkBufferUsageFlags usage;
    VkMemoryPropertyFlags want;
    bool device_address;
    uint32_t chosen_type; /* from the last allocation */
} raw_setup;

static void raw_destroy(const raw_setup *s, raw_pair *p, uint32_t n)
{
    for (uint32_t i = 0; i < n; ++i) { /* FIFO */
        vkDestroyBuffer(s->device, p[i].buffer, NULL);
        vkFreeMemory(s->device, p[i].memory, NULL);
    }
}

/* The raw pattern for one buffer. */
static VkResult raw_create(raw_setup *s, uint64_t size, raw_pair *out)
{
    VkBufferCreateInfo bci = {VK_STRUCTURE_TYPE_BUFFER_CREATE_INFO};
    bci.size = size;
    bci.usage = s->usage;
    bci.sharingMode = VK_SHARING_MODE_EXCLUSIVE;
    VkResult vr = vkCreateBuffer(s->device, &bci, NULL, &out->buffer);
    if (vr != VK_SUCCESS) return vr;
    VkMemoryRequirements req;
    vkGetBufferMemoryRequirements(s->device, out->buffer, &req);
    uint32_t type = UINT32_MAX;
    for (uint32_t t = 0; t < s->mp->memoryTypeCount; ++t) {
        if ((req.memoryTypeBits & (1u << t)) && (s->mp->memoryTypes[t].propertyFlags & s->want) == s->want) {
            type = t;
            break;
        }
    }
    if (type == UINT32_MAX) {
        vkDestroyBuffer(s->device, out->buffer, NULL);
        return VK_ERROR_FEATURE_NOT_PRESENT;
    }
    VkMemoryAllocateFlagsInfo flags = {VK_STRUCTURE_TYPE_MEMORY_ALLOCATE_FLAGS_INFO};
    flags.flags = VK_MEMORY_ALLOCATE_DEVICE_ADDRESS_BIT;
    VkMemoryAllocateInfo mai = {VK_STRUCTURE_TYPE_MEMORY_ALLOCATE_INFO};
    mai.pNext = s->device_address ? &flags : NULL;
    mai.allocationSize = req.size;
    mai.memoryTypeIndex = type;
    vr = vkAllocateMemory(s->device, &mai, NULL, &out->memory);
    if (vr != VK_SUCCESS) {
        vkDestroyBuffer(s->device, out->buffer, NULL);
        return vr;
    }
    vr = vkBindBufferMemory(s->device, out->buffer, out->memory, 0);
    if (vr != VK_SUCCESS) {
        raw_destroy(s, out, 1);
        return vr;
    }
    s->chosen_type = type;
    return VK_SUCCESS;
}

static int raw_run(raw_setup *s, const bb_case *c, const bb_opts *o, uint32_t batches, raw_pair *pairs,
                   double *out_ns_per_pair)
{
    uint64_t t0 = sedx_time_ns();
    for (uint32_t b = 0; b < batches; ++b) {
        for (uint32_t i = 0; i < o->batch; ++i) {
            VkResult vr = raw_create(s, o->size, &pairs[i]);
            if (vr != VK_SUCCESS) {
                fprintf(stderr, "raw %s/%s: create #%u of batch %u: VkResult %d\n", c->usage_name,
                        memory_name(c->memory), i, b, (int)vr);
                raw_destroy(s, pairs, i);
                return -1;
            }
        }
        raw_destroy(s, pairs, o->batch);
    }
    uint64_t t1 = sedx_time_ns();
    *out_ns_per_pair = (double)(t1 - t0) / ((double)batches * (double)o->batch);
    return 0;
}

typedef struct probe_info {
    uint32_t id;
    sedx_buffer_info info;
    bool found;
} probe_info;

static void probe_visit(const sedx_buffer_info *bi, void *user)
{
    probe_info *p = user;
    if (bi->id == p->id) {
        p->info = *bi;
        p->info.name = NULL;
        p->found = true;
    }
}

/* Everything a run must leave behind: nothing. Returns the number of failed checks. */
static int check_clean(sedx_context *ctx, const bb_case *c, uint32_t base_allocs)
{
    int bad = 0;
    uint32_t live = sedx_buffer_list(ctx, NULL, NULL);
    uint32_t pending = sedx_context_pending_deletions(ctx);
    sedx_memory_stats st;
    sedx_result r = sedx_memory_get_stats(ctx, &st);
    if (live) {
        fprintf(stderr, "check %s/%s: %u buffer(s) still live after the run\n", c->usage_name, memory_name(c->memory),
                live);
        ++bad;
    }
    if (pending) {
        fprintf(stderr, "check %s/%s: %u deletion(s) still pending after collect_garbage\n", c->usage_name,
                memory_name(c->memory), pending);
        ++bad;
    }
    if (r != SEDX_SUCCESS) {
        fprintf(stderr, "check %s/%s: sedx_memory_get_stats: %s\n", c->usage_name, memory_name(c->memory),
                sedx_result_name(r));
        ++bad;
    } else if (st.total.allocation_count != base_allocs) {
        fprintf(stderr, "check %s/%s: %u sedx allocation(s) live after the run, %u before\n", c->usage_name,
                memory_name(c->memory), st.total.allocation_count, base_allocs);
        ++bad;
    }
    return bad;
}

static const char *flags_string(VkMemoryPropertyFlags f, char *out, size_t cap)
{
    static const struct { VkMemoryPropertyFlags bit; const char *name; } names[] = {
        {VK_MEMORY_PROPERTY_DEVICE_LOCAL_BIT, "DEVICE_LOCAL"}, {VK_MEMORY_PROPERTY_HOST_VISIBLE_BIT, "HOST_VISIBLE"},
        {VK_MEMORY_PROPERTY_HOST_COHERENT_BIT, "HOST_COHERENT"}, {VK_MEMORY_PROPERTY_HOST_CACHED_BIT, "HOST_CACHED"},
        {VK_MEMORY_PROPERTY_LAZILY_ALLOCATED_BIT, "LAZY"}, {VK_MEMORY_PROPERTY_PROTECTED_BIT, "PROTECTED"}};
    size_t len = 0;
    out[0] = '\0';
    for (size_t i = 0; i < sizeof names / sizeof names[0]; ++i) {
        if (!(f & names[i].bit) || len >= cap) continue;
        int n = snprintf(out + len, cap - len, "%s%s", len ? "|" : "", names[i].name);
        if (n > 0) len += (size_t)n;
    }
    if (!len) snprintf(out, cap, "0");
    return out;
}

/* One case: probe, warm-up, runs interleaved sedx/raw. Returns the number of failures. */
static int bench_case(sedx_context *ctx, const bb_case *c, const bb_opts *o, sedx_buffer *bufs, raw_pair *pairs,
                      FILE *log, cJSON *arr, double *out_speedup)
{
    const VkPhysicalDeviceMemoryProperties *mp = sedx_context_memory_properties(ctx);
    *out_speedup = 0.0;

    /* probe: the usage sedx really gives the buffer and the memory type it picks */
    sedx_buffer probe;
    sedx_result r = create_one(ctx, c, o->size, &probe);
    if (r != SEDX_SUCCESS) {
        fprintf(stderr, "sedx %s/%s: probe create: %s\n", c->usage_name, memory_name(c->memory), sedx_result_name(r));
        return 1;
    }
    probe_info pi = {sedx_buffer_id(&probe), {0}, false};
    sedx_buffer_list(ctx, probe_visit, &pi);
    sedx_buffer_usage_flags sedx_usage = probe.usage;
    bool mapped = probe.data != NULL;
    sedx_buffer_release(&probe);
    sedx_context_collect_garbage(ctx);

    raw_setup rs = {sedx_context_device(ctx), mp, (VkBufferUsageFlags)sedx_usage,
                    (c->memory & SEDX_MEMORY_CPU)
                        ? (VkMemoryPropertyFlags)(VK_MEMORY_PROPERTY_HOST_VISIBLE_BIT | VK_MEMORY_PROPERTY_HOST_COHERENT_BIT)
                        : (VkMemoryPropertyFlags)VK_MEMORY_PROPERTY_DEVICE_LOCAL_BIT,
                    (sedx_usage & SEDX_BUFFER_USAGE_ADDRESS) != 0, UINT32_MAX};

    sedx_memory_stats st0;
    if ((r = sedx_memory_get_stats(ctx, &st0)) != SEDX_SUCCESS) {
        fprintf(stderr, "sedx_memory_get_stats: %s\n", sedx_result_name(r));
        return 1;
    }
    uint32_t base_allocs = st0.total.allocation_count;

    /* warm-up: one batch each, untimed */
    double dummy;
    if (sedx_run(ctx, c, o, 1, bufs, &dummy) != 0) return 1;
    if (raw_run(&rs, c, o, 1, pairs, &dummy) != 0) return 1;

    int runs = o->runs;
    double *sedx_ns = calloc((size_t)runs, sizeof *sedx_ns), *raw_ns = calloc((size_t)runs, sizeof *raw_ns);
    double *tmp = calloc((size_t)runs, sizeof *tmp);
    if (!sedx_ns || !raw_ns || !tmp) {
        free(sedx_ns);
        free(raw_ns);
        free(tmp);
        fprintf(stderr, "out of memory\n");
        return 1;
    }
    int bad = 0;
    sedx_memory_stats st1 = st0, st2 = st0;
    sedx_memory_get_stats(ctx, &st1);
    for (int k = 0; k < runs && !bad; ++k) {
        if (sedx_run(ctx, c, o, o->batches, bufs, &sedx_ns[k]) != 0) bad++;
        else bad += check_clean(ctx, c, base_allocs);
        if (!bad && raw_run(&rs, c, o, o->raw_batches, pairs, &raw_ns[k]) != 0) bad++;
    }
    sedx_memory_get_stats(ctx, &st2);
    if (bad) {
        free(sedx_ns);
        free(raw_ns);
        free(tmp);
        return bad;
    }
    memcpy(tmp, sedx_ns, (size_t)runs * sizeof *tmp);
    double med_sedx = bench_median(tmp, runs);
    memcpy(tmp, raw_ns, (size_t)runs * sizeof *tmp);
    double med_raw = bench_median(tmp, runs);
    double ratio = med_raw > 0 ? med_sedx / med_raw : 0.0;
    double speedup = med_sedx > 0 ? med_raw / med_sedx : 0.0;
    *out_speedup = speedup;
    double pairs_timed = (double)runs * (double)o->batches * (double)o->batch;
    double vk_allocs_per_1000 =
        pairs_timed > 0 ? (double)(st2.vk_allocate_count - st1.vk_allocate_count) * 1000.0 / pairs_timed : 0.0;

    char sflags[128], rflags[128], ustr[160];
    sedx_buffer_usage_string(sedx_usage, ustr, sizeof ustr);
    uint32_t stype = pi.found ? pi.info.memory_type : UINT32_MAX;
    flags_string(stype < mp->memoryTypeCount ? mp->memoryTypes[stype].propertyFlags : 0, sflags, sizeof sflags);
    flags_string(rs.chosen_type < mp->memoryTypeCount ? mp->memoryTypes[rs.chosen_type].propertyFlags : 0, rflags,
                 sizeof rflags);

    fprintf(log, "  %-8s %-3s %12.0f %12.0f %10.4f %9.1fx   %6.2f  type %u %s / raw type %u %s\n", c->usage_name,
            memory_name(c->memory), med_sedx, med_raw, ratio, speedup, vk_allocs_per_1000, stype, sflags,
            rs.chosen_type, rflags);

    cJSON *o_case = cJSON_CreateObject();
    cJSON_AddStringToObject(o_case, "usage", c->usage_name);
    cJSON_AddStringToObject(o_case, "memory", memory_name(c->memory));
    cJSON_AddStringToObject(o_case, "sedx_call", c->staging ? "sedx_staging_buffer_create" : "sedx_buffer_create");
    cJSON_AddStringToObject(o_case, "usage_flags", ustr);
    cJSON_AddNumberToObject(o_case, "usage_bits", sedx_usage);
    cJSON_AddBoolToObject(o_case, "sedx_mapped", mapped);
    cJSON_AddNumberToObject(o_case, "sedx_memory_type", stype);
    cJSON_AddStringToObject(o_case, "sedx_memory_flags", sflags);
    if (pi.found) cJSON_AddNumberToObject(o_case, "sedx_allocation_size", (double)pi.info.allocation_size);
    cJSON_AddNumberToObject(o_case, "raw_usage_bits", rs.usage);
    cJSON_AddNumberToObject(o_case, "raw_memory_type", rs.chosen_type);
    cJSON_AddStringToObject(o_case, "raw_memory_flags", rflags);
    cJSON_AddNumberToObject(o_case, "sedx_ns_per_pair", med_sedx);
    cJSON_AddNumberToObject(o_case, "raw_ns_per_pair", med_raw);
    cJSON_AddNumberToObject(o_case, "ratio_sedx_over_raw", ratio);
    cJSON_AddNumberToObject(o_case, "speedup_vs_raw", speedup);
    cJSON_AddNumberToObject(o_case, "sedx_pairs_per_s", med_sedx > 0 ? 1e9 / med_sedx : 0.0);
    cJSON_AddNumberToObject(o_case, "raw_pairs_per_s", med_raw > 0 ? 1e9 / med_raw : 0.0);
    cJSON_AddNumberToObject(o_case, "sedx_vk_allocate_per_1000_buffers", vk_allocs_per_1000);
    cJSON_AddItemToObject(o_case, "sedx_runs_ns_per_pair", cJSON_CreateDoubleArray(sedx_ns, runs));
    cJSON_AddItemToObject(o_case, "raw_runs_ns_per_pair", cJSON_CreateDoubleArray(raw_ns, runs));
    cJSON_AddItemToArray(arr, o_case);
    free(sedx_ns);
    free(raw_ns);
    free(tmp);
    return 0;
}

/* ------------------------------------------------------------------------------------------
 * Per-frame uniform update
 * ---------------------------------------------------------------------------------------- */
typedef struct ubo_src {
    _Alignas(64) uint32_t w[BB_UBO_WORDS];
} ubo_src;

static inline void ubo_vary(ubo_src *s, uint64_t i)
{
    s->w[0] = (uint32_t)i;
    s->w[BB_UBO_WORDS - 1] = (uint32_t)i ^ 0xA5A5A5A5u;
}

/* Each pattern: n updates, returns the elapsed ns, or 0 after an error. */
BB_ISOLATED static uint64_t upd_memcpy(void *dst, ubo_src *s, uint64_t n)
{
    uint64_t t0 = sedx_time_ns();
    for (uint64_t i = 0; i < n; ++i) {
        ubo_vary(s, i);
        memcpy(dst, s, BB_UBO_SIZE);
        bb_clobber(dst);
    }
    return sedx_time_ns() - t0;
}

BB_ISOLATED static uint64_t upd_persistent(const sedx_buffer *b, ubo_src *s, uint64_t n)
{
    void *dst = b->data;
    uint64_t t0 = sedx_time_ns();
    for (uint64_t i = 0; i < n; ++i) {
        ubo_vary(s, i);
        memcpy(dst, s, BB_UBO_SIZE);
        bb_clobber(dst);
    }
    return sedx_time_ns() - t0;
}

BB_ISOLATED static uint64_t upd_map(const sedx_buffer *b, ubo_src *s, uint64_t n)
{
    uint64_t t0 = sedx_time_ns();
    for (uint64_t i = 0; i < n; ++i) {
        void *p = NULL;
        ubo_vary(s, i);
        if (sedx_buffer_map(b, &p) != SEDX_SUCCESS) return 0;
        memcpy(p, s, BB_UBO_SIZE);
        bb_clobber(p);
        if (sedx_buffer_unmap(b) != SEDX_SUCCESS) return 0;
    }
    return sedx_time_ns() - t0;
}

BB_ISOLATED static uint64_t upd_write(const sedx_buffer *b, ubo_src *s, uint64_t n)
{
    uint64_t t0 = sedx_time_ns();
    for (uint64_t i = 0; i < n; ++i) {
        ubo_vary(s, i);
        bb_clobber(s);
        if (sedx_buffer_write(b, s, BB_UBO_SIZE, 0) != SEDX_SUCCESS) return 0;
    }
    return sedx_time_ns() - t0;
}

enum { UPD_MEMCPY, UPD_PERSISTENT, UPD_MAP, UPD_WRITE, UPD_COUNT };
static const char *const k_upd_names[UPD_COUNT] = {"memcpy_malloc", "persistent_mapped", "map_memcpy_unmap",
                                                   "sedx_buffer_write"};
static const char *const k_upd_text[UPD_COUNT] = {
    "plain memcpy into malloc'd memory (the limit)", "persistently mapped: memcpy into buffer.data",
    "the seed: sedx_buffer_map + memcpy + sedx_buffer_unmap", "sedx_buffer_write (bounds-checked)"};

/* The last update left i = n-1 in word 0 and (n-1) ^ 0xA5A5A5A5 in the last word. */
static bool upd_check(const void *dst, uint64_t n)
{
    uint32_t w0, wl;
    memcpy(&w0, dst, sizeof w0);
    memcpy(&wl, (const uint8_t *)dst + BB_UBO_SIZE - sizeof wl, sizeof wl);
    return w0 == (uint32_t)(n - 1) && wl == ((uint32_t)(n - 1) ^ 0xA5A5A5A5u);
}

static int bench_updates(sedx_context *ctx, const bb_opts *o, FILE *log, cJSON *root, sedx_host_access access,
                         const char *key)
{
    sedx_buffer ub;
    sedx_buffer_create_info uci = {0};
    uci.size = BB_UBO_SIZE;
    uci.usage = SEDX_BUFFER_USAGE_UNIFORM;
    uci.memory = SEDX_MEMORY_CPU;
    uci.name = "bench uniform";
    uci.host_access = access;
    sedx_result r = sedx_buffer_create_ex(ctx, &uci, &ub);
    if (r != SEDX_SUCCESS) {
        fprintf(stderr, "uniform buffer: %s\n", sedx_result_name(r));
        return 1;
    }
    probe_info pi = {sedx_buffer_id(&ub), {0}, false};
    sedx_buffer_list(ctx, probe_visit, &pi);
    void *host = aligned_alloc(64, BB_UBO_SIZE);
    ubo_src *src = aligned_alloc(64, sizeof *src);
    int runs = o->runs;
    double *ns[UPD_COUNT] = {0};
    double *tmp = calloc((size_t)runs, sizeof *tmp);
    bool ok = host && src && tmp;
    for (int p = 0; p < UPD_COUNT && ok; ++p) ok = (ns[p] = calloc((size_t)runs, sizeof *ns[p])) != NULL;
    if (!ok) fprintf(stderr, "out of memory\n");
    int bad = ok ? 0 : 1;
    if (ok) {
        memset(host, 0, BB_UBO_SIZE);
        memset(src, 0x3C, sizeof *src);
        /* warm-up: page in and settle the branch predictors */
        uint64_t warm = o->updates < 10000 ? o->updates : 10000;
        upd_memcpy(host, src, warm);
        upd_persistent(&ub, src, warm);
        if (!upd_map(&ub, src, warm) || !upd_write(&ub, src, warm)) bad++;
    }
    /* interleaved: every run measures the four patterns back to back */
    for (int k = 0; k < runs && !bad; ++k) {
        for (int p = 0; p < UPD_COUNT && !bad; ++p) {
            uint64_t t = 0;
            const void *dst = ub.data;
            switch (p) {
            case UPD_MEMCPY: t = upd_memcpy(host, src, o->updates); dst = host; break;
            case UPD_PERSISTENT: t = upd_persistent(&ub, src, o->updates); break;
            case UPD_MAP: t = upd_map(&ub, src, o->updates); break;
            case UPD_WRITE: t = upd_write(&ub, src, o->updates); break;
            default: break;
            }
            if (t == 0) {
                fprintf(stderr, "update pattern %s: a sedx call failed\n", k_upd_names[p]);
                bad++;
            } else if (!upd_check(dst, o->updates)) {
                fprintf(stderr, "update pattern %s: read-back of the last update differs\n", k_upd_names[p]);
                bad++;
            } else {
                ns[p][k] = (double)t / (double)o->updates;
            }
        }
    }
    /* every map was unmapped */
    probe_info after = {sedx_buffer_id(&ub), {0}, false};
    sedx_buffer_list(ctx, probe_visit, &after);
    if (!bad && (!after.found || after.info.map_count != 0)) {
        fprintf(stderr, "uniform buffer: map count %u after the run, expected 0\n", after.info.map_count);
        bad++;
    }

    if (!bad) {
        double med[UPD_COUNT];
        for (int p = 0; p < UPD_COUNT; ++p) {
            memcpy(tmp, ns[p], (size_t)runs * sizeof *tmp);
            med[p] = bench_median(tmp, runs);
        }
        const VkPhysicalDeviceMemoryProperties *mp = sedx_context_memory_properties(ctx);
        char fl[128];
        uint32_t type = pi.found ? pi.info.memory_type : UINT32_MAX;
        flags_string(type < mp->memoryTypeCount ? mp->memoryTypes[type].propertyFlags : 0, fl, sizeof fl);
        fprintf(log, "\nPer-frame uniform update (%s), %u B, %" PRIu64 " updates, median of %d runs (buffer in memory type %u %s)\n",
                key, BB_UBO_SIZE, o->updates, runs, type, fl);
        fprintf(log, "  %-20s %10s %10s   %s\n", "pattern", "ns/update", "x memcpy", "");
        cJSON *u = cJSON_AddObjectToObject(root, key);
        cJSON_AddNumberToObject(u, "bytes", BB_UBO_SIZE);
        cJSON_AddNumberToObject(u, "updates", (double)o->updates);
        cJSON_AddNumberToObject(u, "memory_type", type);
        cJSON_AddStringToObject(u, "memory_flags", fl);
        cJSON *pats = cJSON_AddObjectToObject(u, "patterns");
        for (int p = 0; p < UPD_COUNT; ++p) {
            double x = med[UPD_MEMCPY] > 0 ? med[p] / med[UPD_MEMCPY] : 0.0;
            fprintf(log, "  %-20s %10.2f %10.2f   %s\n", k_upd_names[p], med[p], x, k_upd_text[p]);
            cJSON *po = cJSON_AddObjectToObject(pats, k_upd_names[p]);
            cJSON_AddStringToObject(po, "what", k_upd_text[p]);
            cJSON_AddNumberToObject(po, "ns_per_update", med[p]);
            cJSON_AddNumberToObject(po, "ratio_vs_memcpy", x);
            cJSON_AddItemToObject(po, "runs_ns_per_update", cJSON_CreateDoubleArray(ns[p], runs));
        }
        double xp = med[UPD_MEMCPY] > 0 ? med[UPD_PERSISTENT] / med[UPD_MEMCPY] : 0.0;
        cJSON *t = cJSON_AddObjectToObject(u, "target");
        cJSON_AddStringToObject(t, "what", "persistently mapped 256 B update within 2x of a plain memcpy");
        cJSON_AddNumberToObject(t, "max_ratio", BB_TARGET_PERSISTENT);
        cJSON_AddNumberToObject(t, "measured_ratio", xp);
        cJSON_AddBoolToObject(t, "met", xp <= BB_TARGET_PERSISTENT);
        fprintf(log, "  target: persistently mapped within %.0fx of memcpy: %.2fx (%s)\n", BB_TARGET_PERSISTENT, xp,
                xp <= BB_TARGET_PERSISTENT ? "met" : "not met");
    }
    for (int p = 0; p < UPD_COUNT; ++p) free(ns[p]);
    free(tmp);
    free(host);
    free(src);
    sedx_buffer_release(&ub);
    sedx_context_collect_garbage(ctx);
    return bad;
}

/* ------------------------------------------------------------------------------------------
 * Entry
 * ---------------------------------------------------------------------------------------- */
int bench_buffers(const bench_args *args)
{
    bb_opts o = {65536, 1000, 20, 0, 1000000, args->runs > 0 ? args->runs : 5, NULL, NULL};
    const char *v;
    if ((v = bench_flag_value(args, "--size")) && !parse_size(v, &o.size)) {
        fprintf(stderr, "sedx-bench buffers: --size needs a positive size such as 65536 or 64K (got '%s')\n", v);
        return 2;
    }
    if (!parse_u32(args, "--batch", &o.batch) || !parse_u32(args, "--batches", &o.batches)) return 2;
    o.raw_batches = o.batches;
    if (!parse_u32(args, "--raw-batches", &o.raw_batches)) return 2;
    if ((v = bench_flag_value(args, "--updates")) && !parse_size(v, &o.updates)) {
        fprintf(stderr, "sedx-bench buffers: --updates needs a positive number (got '%s')\n", v);
        return 2;
    }
    o.only_usage = bench_flag_value(args, "--usage");
    o.only_memory = bench_flag_value(args, "--memory");
    FILE *log = args->json ? stderr : stdout;

    sedx_context_info info = {0};
    info.flags = SEDX_CONTEXT_NO_ENV_VALIDATION; /* never under the validation layer */
    sedx_context *ctx = NULL;
    sedx_result r = sedx_context_create(&info, &ctx);
    if (r != SEDX_SUCCESS) {
        fprintf(stderr, "sedx-bench buffers: sedx_context_create: %s (%s)\n", sedx_result_name(r),
                sedx_result_string(r));
        return 1;
    }

    cJSON *root = cJSON_CreateObject();
    if (!root) {
        sedx_context_destroy(ctx);
        return 1;
    }
    char lib[32];
    snprintf(lib, sizeof lib, "sedx %d.%d.%d", SEDX_VERSION_MAJOR, SEDX_VERSION_MINOR, SEDX_VERSION_PATCH);
    cJSON_AddStringToObject(root, "benchmark", "buffers");
    cJSON_AddStringToObject(root, "library", lib);
    fprintf(log, "sedx-bench buffers (%s)\n", lib);
    add_machine(root, log);
    add_device(ctx, root, log);

    cJSON *set = cJSON_AddObjectToObject(root, "settings");
    cJSON_AddNumberToObject(set, "buffer_size", (double)o.size);
    cJSON_AddNumberToObject(set, "batch", o.batch);
    cJSON_AddNumberToObject(set, "batches", o.batches);
    cJSON_AddNumberToObject(set, "raw_batches", o.raw_batches);
    cJSON_AddNumberToObject(set, "warmup_batches", 1);
    cJSON_AddNumberToObject(set, "runs", o.runs);
    cJSON_AddNumberToObject(set, "updates", (double)o.updates);
    cJSON_AddStringToObject(set, "release_order", "FIFO");
    cJSON_AddStringToObject(set, "timed",
                            "sedx: create batch, release batch, sedx_context_collect_garbage; raw: vkCreateBuffer, "
                            "vkGetBufferMemoryRequirements, vkAllocateMemory, vkBindBufferMemory; vkDestroyBuffer, "
                            "vkFreeMemory (no map)");

    int rc = 0;
    sedx_buffer *bufs = calloc(o.batch, sizeof *bufs);
    raw_pair *pairs = calloc(o.batch, sizeof *pairs);
    if (!bufs || !pairs) {
        fprintf(stderr, "out of memory\n");
        rc = 1;
    }

    double min_speedup = 0.0;
    bool have_case = false;
    if (!rc) {
        fprintf(log,
                "\nCreate+destroy, %" PRIu64 " B buffers, batches of %u released FIFO, %u batches (raw %u), median of "
                "%d runs\n",
                o.size, o.batch, o.batches, o.raw_batches, o.runs);
        fprintf(log, "  %-8s %-3s %12s %12s %10s %10s   %6s  %s\n", "usage", "mem", "sedx ns", "raw ns", "sedx/raw",
                "speedup", "vkA/1k", "memory types");
        cJSON *arr = cJSON_AddArrayToObject(root, "create_destroy");
        for (size_t i = 0; i < sizeof k_cases / sizeof k_cases[0] && !rc; ++i) {
            const bb_case *c = &k_cases[i];
            if (o.only_usage && strcasecmp(o.only_usage, c->usage_name) != 0) continue;
            if (o.only_memory && strcasecmp(o.only_memory, memory_name(c->memory)) != 0) continue;
            double speedup = 0.0;
            rc = bench_case(ctx, c, &o, bufs, pairs, log, arr, &speedup);
            if (!rc && (!have_case || speedup < min_speedup)) min_speedup = speedup;
            have_case = true;
        }
        if (!rc && have_case) {
            cJSON *t = cJSON_AddObjectToObject(root, "create_destroy_target");
            cJSON_AddStringToObject(t, "what",
                                    "create+destroy of a 64 KiB buffer >= 100x the raw pattern, on the H100 "
                                    "(raw measured ~185 us per pair there)");
            cJSON_AddNumberToObject(t, "min_speedup", BB_TARGET_SPEEDUP);
            cJSON_AddNumberToObject(t, "h100_raw_ns_reference", BB_H100_RAW_NS);
            cJSON_AddNumberToObject(t, "measured_min_speedup", min_speedup);
            bool h100 = strstr(sedx_context_properties(ctx)->deviceName, "H100") != NULL;
            bool applies = h100 && o.size == 65536;
            cJSON_AddBoolToObject(t, "applies", applies);
            cJSON_AddBoolToObject(t, "met", min_speedup >= BB_TARGET_SPEEDUP);
            fprintf(log, "  target (H100, 64 KiB): >= %.0fx the raw pattern; lowest speedup here %.1fx (%s)%s\n",
                    BB_TARGET_SPEEDUP, min_speedup, min_speedup >= BB_TARGET_SPEEDUP ? "met" : "not met",
                    applies ? "" : !h100 ? ", informational: not an H100" : ", informational: size is not 64 KiB");
        }
    }
    if (!rc) rc = bench_updates(ctx, &o, log, root, SEDX_HOST_ACCESS_DEFAULT, "uniform_update");
    if (!rc) rc = bench_updates(ctx, &o, log, root, SEDX_HOST_ACCESS_RANDOM, "uniform_update_host_cached");
    free(bufs);
    free(pairs);
    if (!rc) rc = bench_emit_json(args, root);
    cJSON_Delete(root);
    sedx_context_destroy(ctx);
    return rc;
}
