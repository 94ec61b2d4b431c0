/*
 * sedx-bench upload: transfers against limits measured in the same run.
 *   1. N MiB (default 256) from pageable user memory to a device-local buffer (sedx_upload +
 *      flush), and from data already in a sedx staging buffer (sedx_copy); limits: memcpy of the
 *      same bytes, one raw vkCmdCopyBuffer from a host-visible buffer.
 *   2. 16,384 uploads of 4 KiB to scattered offsets; baselines: the seed's pattern (staging
 *      buffer + map + memcpy + unmap + blocking CopyBuffer per upload), one vkCmdCopyBuffer with
 *      16,384 regions, memcpy of the same bytes.
 *   3. N MiB device-to-device: sedx_copy vs one raw vkCmdCopyBuffer.
 *   4. N MiB readback: sedx_download vs memcpy.
 * Options: --size MiB, --count N (scatter uploads), --runs R, --json, --out FILE.
 */
#include "bench.h"

#include <cjson/cJSON.h>
#include <stdlib.h>
#include <string.h>

#define BMIN(a, b) ((a) < (b) ? (a) : (b))

typedef struct bctx {
    sedx_context *ctx;
    int runs;
    FILE *log;
    cJSON *json;
} bctx;

static double now_s(void) { return (double)sedx_time_ns() * 1e-9; }

static void fill(uint8_t *p, size_t n, uint64_t seed)
{
    uint64_t x = seed | 1;
    for (size_t i = 0; i + 8 <= n; i += 8) {
        x ^= x >> 12;
        x ^= x << 25;
        x ^= x >> 27;
        uint64_t v = x * 0x2545F4914F6CDD1Dull;
        memcpy(p + i, &v, 8);
    }
}

static int check(bool ok, const char *what)
{
    if (!ok) fprintf(stderr, "sedx-bench upload: CHECK FAILED: %s\n", what);
    return ok ? 0 : 1;
}

static void report(bctx *b, const char *name, double gbps, double limit_gbps, const char *limit_name)
{
    fprintf(b->log, "  %-44s %9.2f GB/s", name, gbps);
    if (limit_gbps > 0) fprintf(b->log, "   %6.2fx %s (%.2f GB/s)", gbps / limit_gbps, limit_name, limit_gbps);
    fprintf(b->log, "\n");
    cJSON *o = cJSON_AddObjectToObject(b->json, name);
    cJSON_AddNumberToObject(o, "GBps", gbps);
    if (limit_gbps > 0) {
        cJSON_AddNumberToObject(o, "limit_GBps", limit_gbps);
        cJSON_AddStringToObject(o, "limit", limit_name);
        cJSON_AddNumberToObject(o, "ratio", gbps / limit_gbps);
    }
}

/* Raw vkCmdCopyBuffer of size bytes, submitted and waited; returns seconds. */
static double raw_copy(bctx *b, VkBuffer src, VkBuffer dst, uint64_t size, uint32_t regions, const VkBufferCopy *r)
{
    sedx_cmd cmd;
    if (sedx_cmd_begin(b->ctx, SEDX_QUEUE_GRAPHICS, &cmd) != SEDX_SUCCESS) return -1;
    VkBufferCopy whole = {0, 0, size};
    double t0 = now_s();
    vkCmdCopyBuffer(cmd.cmd, src, dst, regions ? regions : 1, regions ? r : &whole);
    sedx_ticket t;
    if (sedx_cmd_submit(b->ctx, &cmd, NULL, &t) != SEDX_SUCCESS) return -1;
    sedx_ticket_wait(b->ctx, t, UINT64_MAX);
    return now_s() - t0;
}

int bench_upload(const bench_args *args)
{
    const char *sz = bench_flag_value(args, "--size");
    const char *cnt = bench_flag_value(args, "--count");
    uint64_t size = (uint64_t)(sz ? atoll(sz) : 256) << 20;
    uint32_t count = cnt ? (uint32_t)atoi(cnt) : 16384;
    bctx b = {0};
    b.runs = args->runs;
    b.log = args->json ? stderr : stdout;
    b.json = cJSON_CreateObject();
    sedx_context_info ci = {0};
    ci.flags = SEDX_CONTEXT_NO_ENV_VALIDATION;
    ci.app_name = "sedx-bench";
    if (sedx_context_create(&ci, &b.ctx) != SEDX_SUCCESS) {
        fprintf(stderr, "sedx-bench upload: no context\n");
        return 1;
    }
    const VkPhysicalDeviceProperties *p = sedx_context_properties(b.ctx);
    fprintf(b.log, "sedx-bench upload on %s (driver 0x%x), %llu MiB, %u scattered uploads, %d runs (median)\n",
            p->deviceName, p->driverVersion, (unsigned long long)(size >> 20), count, b.runs);
    cJSON_AddStringToObject(b.json, "device", p->deviceName);
    cJSON_AddNumberToObject(b.json, "driver_version", p->driverVersion);
    cJSON_AddNumberToObject(b.json, "size_bytes", (double)size);
    cJSON_AddNumberToObject(b.json, "runs", b.runs);
    int fails = 0;

    uint8_t *user = malloc(size), *back = malloc(size), *tmp = malloc(size);
    fill(user, size, 1);
    memset(back, 0, size);
    memset(tmp, 0, size);
    sedx_buffer dev, dev2, staging;
    sedx_result r = sedx_buffer_create(b.ctx, size, SEDX_BUFFER_USAGE_STORAGE | SEDX_BUFFER_USAGE_TRANSFER_DST,
                                       SEDX_MEMORY_GPU, "bench device", &dev);
    if (r == SEDX_SUCCESS)
        r = sedx_buffer_create(b.ctx, size, SEDX_BUFFER_USAGE_STORAGE | SEDX_BUFFER_USAGE_TRANSFER_DST, SEDX_MEMORY_GPU,
                               "bench device 2", &dev2);
    if (r == SEDX_SUCCESS) r = sedx_staging_buffer_create(b.ctx, size, "bench staging", &staging);
    if (r != SEDX_SUCCESS) {
        fprintf(stderr, "sedx-bench upload: buffers: %s\n", sedx_result_name(r));
        return 1;
    }
    memcpy(staging.data, user, size);
    double *v = calloc((size_t)b.runs * 8, sizeof *v);
    int R = b.runs;

    /* limits */
    for (int i = 0; i < R; ++i) {
        double t0 = now_s();
        memcpy(tmp, user, size);
        v[i] = (double)size / (now_s() - t0) / 1e9;
    }
    double memcpy_gbps = bench_median(v, R);
    for (int i = 0; i < R; ++i) v[i] = (double)size / raw_copy(&b, sedx_buffer_vk(&staging), sedx_buffer_vk(&dev), size, 0, NULL) / 1e9;
    double dma_gbps = bench_median(v, R);
    fprintf(b.log, "limits: memcpy %.2f GB/s, raw vkCmdCopyBuffer host->device %.2f GB/s\n", memcpy_gbps, dma_gbps);
    cJSON_AddNumberToObject(b.json, "memcpy_GBps", memcpy_gbps);
    cJSON_AddNumberToObject(b.json, "raw_copy_h2d_GBps", dma_gbps);

    /* 1. pageable -> device, and staging -> device */
    for (int i = 0; i < R; ++i) {
        double t0 = now_s();
        r = sedx_upload(b.ctx, &dev, 0, size, user);
        if (r == SEDX_SUCCESS) r = sedx_upload_flush(b.ctx);
        v[i] = (double)size / (now_s() - t0) / 1e9;
    }
    double up = bench_median(v, R);
    fails += check(r == SEDX_SUCCESS, "upload");
    fails += check(sedx_download(b.ctx, &dev, 0, size, back) == SEDX_SUCCESS && memcmp(back, user, size) == 0,
                   "uploaded bytes read back equal");
    report(&b, "1. upload from pageable memory", up, memcpy_gbps, "memcpy");
    for (int i = 0; i < R; ++i) {
        double t0 = now_s();
        r = sedx_gpu_copy(b.ctx, &staging, 0, &dev2, 0, size, NULL);
        v[i] = (double)size / (now_s() - t0) / 1e9;
    }
    report(&b, "1b. copy from sedx staging", bench_median(v, R), dma_gbps, "raw vkCmdCopyBuffer");

    /* 2. scattered small uploads */
    const uint64_t piece = 4096;
    uint64_t slots_n = BMIN((uint64_t)count * 2, size / piece);
    if (slots_n < count) count = (uint32_t)slots_n;
    uint32_t *slots = malloc(slots_n * sizeof *slots);
    for (uint32_t i = 0; i < slots_n; ++i) slots[i] = i;
    uint64_t x = 7;
    for (uint64_t i = slots_n - 1; i > 0; --i) {
        x = x * 6364136223846793005ull + 1442695040888963407ull;
        uint64_t j = (x >> 33) % (i + 1);
        uint32_t t = slots[i];
        slots[i] = slots[j];
        slots[j] = t;
    }
    uint64_t scatter_bytes = (uint64_t)count * piece;
    for (int i = 0; i < R; ++i) {
        double t0 = now_s();
        for (uint32_t k = 0; k < count; ++k) memcpy(tmp + (uint64_t)slots[k] * piece, user + (uint64_t)k * piece, piece);
        v[i] = (double)scatter_bytes / (now_s() - t0) / 1e9;
    }
    double scatter_memcpy = bench_median(v, R);
    double loop_s = 0;
    for (int i = 0; i < R; ++i) {
        double t0 = now_s();
        for (uint32_t k = 0; k < count && r == SEDX_SUCCESS; ++k)
            r = sedx_upload(b.ctx, &dev, (uint64_t)slots[k] * piece, piece, user + (uint64_t)k * piece);
        double t1 = now_s();
        if (r == SEDX_SUCCESS) r = sedx_upload_flush(b.ctx);
        v[i] = (double)scatter_bytes / (now_s() - t0) / 1e9;
        loop_s += t1 - t0;
        if (i == R - 1) {
            sedx_transfer_stats ts;
            sedx_transfer_get_stats(b.ctx, &ts);
            fprintf(b.log, "     (last run: %.2f ms in sedx_upload calls, %.2f ms submit+wait; ring waits so far %llu)\n",
                    (t1 - t0) * 1e3, (now_s() - t1) * 1e3, (unsigned long long)ts.ring_waits);
        }
    }
    (void)loop_s;
    double scatter_calls = bench_median(v, R);
    /* the batched form (the seed's pending-upload list): the same uploads, one call */
    sedx_upload_region *ups = malloc(count * sizeof *ups);
    for (uint32_t k = 0; k < count; ++k)
        ups[k] = (sedx_upload_region){&dev, (uint64_t)slots[k] * piece, piece, user + (uint64_t)k * piece};
    for (int i = 0; i < R; ++i) {
        double t0 = now_s();
        r = sedx_upload_batch(b.ctx, ups, count);
        if (r == SEDX_SUCCESS) r = sedx_upload_flush(b.ctx);
        v[i] = (double)scatter_bytes / (now_s() - t0) / 1e9;
    }
    double scatter = bench_median(v, R);
    fails += check(r == SEDX_SUCCESS, "batched scatter uploads");
    free(ups);
    fails += check(r == SEDX_SUCCESS, "scatter uploads");
    fails += check(sedx_download(b.ctx, &dev, 0, size, back) == SEDX_SUCCESS, "scatter readback");
    for (uint32_t k = 0; k < count; ++k)
        if (memcmp(back + (uint64_t)slots[k] * piece, user + (uint64_t)k * piece, piece) != 0) {
            fails += check(false, "scattered bytes read back equal");
            break;
        }
    /* baseline: one vkCmdCopyBuffer with `count` regions (memcpy into staging included) */
    VkBufferCopy *regions = malloc(count * sizeof *regions);
    for (uint32_t k = 0; k < count; ++k) regions[k] = (VkBufferCopy){(uint64_t)k * piece, (uint64_t)slots[k] * piece, piece};
    for (int i = 0; i < R; ++i) {
        double t0 = now_s();
        memcpy(staging.data, user, scatter_bytes);
        raw_copy(&b, sedx_buffer_vk(&staging), sedx_buffer_vk(&dev), 0, count, regions);
        v[i] = (double)scatter_bytes / (now_s() - t0) / 1e9;
    }
    double regions_gbps = bench_median(v, R);
    /* baseline: the seed's pattern, per upload (one run, at most 2,048 uploads: it is slow) */
    uint32_t seed_n = BMIN(count, 2048u);
    double t0 = now_s();
    for (uint32_t k = 0; k < seed_n; ++k) {
        sedx_buffer st;
        if (sedx_buffer_create(b.ctx, piece, SEDX_BUFFER_USAGE_TRANSFER_SRC, SEDX_MEMORY_CPU, "seed staging", &st))
            break;
        void *m;
        sedx_buffer_map(&st, &m);
        memcpy(m, user + (uint64_t)k * piece, piece);
        sedx_buffer_unmap(&st);
        sedx_copy_buffer_offsets(b.ctx, sedx_buffer_vk(&st), 0, sedx_buffer_vk(&dev), (uint64_t)slots[k] * piece, piece);
        sedx_buffer_release(&st);
    }
    double seed_gbps = (double)seed_n * (double)piece / (now_s() - t0) / 1e9;
    report(&b, "2. scattered 4 KiB uploads (sedx_upload_batch)", scatter, scatter_memcpy, "memcpy of the same bytes");
    report(&b, "2b. the same, one sedx_upload per region", scatter_calls, scatter_memcpy, "memcpy of the same bytes");
    fprintf(b.log, "     vs the seed's pattern %.3f GB/s: %.1fx; vs one vkCmdCopyBuffer with %u regions %.2f GB/s: %.2fx\n",
            seed_gbps, scatter / seed_gbps, count, regions_gbps, scatter / regions_gbps);
    cJSON_AddNumberToObject(b.json, "seed_pattern_GBps", seed_gbps);
    cJSON_AddNumberToObject(b.json, "copy_regions_GBps", regions_gbps);
    cJSON_AddNumberToObject(b.json, "scatter_vs_seed", scatter / seed_gbps);
    cJSON_AddNumberToObject(b.json, "scatter_vs_regions", scatter / regions_gbps);

    /* 3. device to device: K copies back to back, so the submit latency is amortised */
    enum { K = 8 };
    for (int i = 0; i < R; ++i) {
        sedx_cmd cmd;
        if (sedx_cmd_begin(b.ctx, SEDX_QUEUE_GRAPHICS, &cmd) != SEDX_SUCCESS) break;
        VkBufferCopy whole = {0, 0, size};
        double t1 = now_s();
        for (int k = 0; k < K; ++k) {
            if (k) {
                VkMemoryBarrier mb = {VK_STRUCTURE_TYPE_MEMORY_BARRIER};
                mb.srcAccessMask = VK_ACCESS_TRANSFER_WRITE_BIT;
                mb.dstAccessMask = VK_ACCESS_TRANSFER_WRITE_BIT;
                vkCmdPipelineBarrier(cmd.cmd, VK_PIPELINE_STAGE_TRANSFER_BIT, VK_PIPELINE_STAGE_TRANSFER_BIT, 0, 1, &mb,
                                     0, NULL, 0, NULL);
            }
            vkCmdCopyBuffer(cmd.cmd, sedx_buffer_vk(&dev), sedx_buffer_vk(&dev2), 1, &whole);
        }
        sedx_ticket tk;
        sedx_cmd_submit(b.ctx, &cmd, NULL, &tk);
        sedx_ticket_wait(b.ctx, tk, UINT64_MAX);
        v[i] = (double)size * K / (now_s() - t1) / 1e9;
    }
    double raw_d2d = bench_median(v, R);
    for (int i = 0; i < R; ++i) {
        double t1 = now_s();
        sedx_ticket tk = {0};
        for (int k = 0; k < K && r == SEDX_SUCCESS; ++k) r = sedx_gpu_copy(b.ctx, &dev, 0, &dev2, 0, size, &tk);
        sedx_ticket_wait(b.ctx, tk, UINT64_MAX);
        v[i] = (double)size * K / (now_s() - t1) / 1e9;
    }
    report(&b, "3. device-to-device sedx_gpu_copy", bench_median(v, R), raw_d2d, "raw vkCmdCopyBuffer");
    fails += check(r == SEDX_SUCCESS, "device copy");
    memset(tmp, 0, size);
    fails += check(sedx_download(b.ctx, &dev2, 0, size, tmp) == SEDX_SUCCESS && memcmp(tmp, back, size) == 0,
                   "device copy read back equal");

    /* 4. readback */
    for (int i = 0; i < R; ++i) {
        double t1 = now_s();
        r = sedx_download(b.ctx, &dev, 0, size, back);
        v[i] = (double)size / (now_s() - t1) / 1e9;
    }
    report(&b, "4. readback sedx_download", bench_median(v, R), memcpy_gbps, "memcpy");

    /* 5. what importing user memory (VK_EXT_external_memory_host) would cost: pin + DMA + unpin,
     * against sedx_upload of the same bytes (the decision in docs/transfer.md rests on this) */
    if (sedx_context_features(b.ctx) & SEDX_FEATURE_EXTERNAL_MEMORY_HOST) {
        VkDevice vd = sedx_context_device(b.ctx);
        PFN_vkGetMemoryHostPointerPropertiesEXT get_props =
            (PFN_vkGetMemoryHostPointerPropertiesEXT)vkGetDeviceProcAddr(vd, "vkGetMemoryHostPointerPropertiesEXT");
        VkPhysicalDeviceExternalMemoryHostPropertiesEXT hp = {
            VK_STRUCTURE_TYPE_PHYSICAL_DEVICE_EXTERNAL_MEMORY_HOST_PROPERTIES_EXT};
        VkPhysicalDeviceProperties2 p2 = {VK_STRUCTURE_TYPE_PHYSICAL_DEVICE_PROPERTIES_2, &hp};
        vkGetPhysicalDeviceProperties2(sedx_context_physical_device(b.ctx), &p2);
        size_t align = (size_t)BMIN(hp.minImportedHostPointerAlignment, 1u << 21);
        if (align < 4096) align = 4096;
        void *pinned_src = NULL;
        if (get_props && posix_memalign(&pinned_src, align, size) == 0) {
            memcpy(pinned_src, user, size); /* pages touched: what a user buffer would be */
            double pin = 0, dma = 0, unpin = 0;
            int ok_runs = 0;
            for (int i = 0; i < R; ++i) {
                double ta = now_s();
                VkMemoryHostPointerPropertiesEXT mp = {VK_STRUCTURE_TYPE_MEMORY_HOST_POINTER_PROPERTIES_EXT};
                if (get_props(vd, VK_EXTERNAL_MEMORY_HANDLE_TYPE_HOST_ALLOCATION_BIT_EXT, pinned_src, &mp) != VK_SUCCESS)
                    break;
                VkExternalMemoryBufferCreateInfo eb = {VK_STRUCTURE_TYPE_EXTERNAL_MEMORY_BUFFER_CREATE_INFO};
                eb.handleTypes = VK_EXTERNAL_MEMORY_HANDLE_TYPE_HOST_ALLOCATION_BIT_EXT;
                VkBufferCreateInfo bci = {VK_STRUCTURE_TYPE_BUFFER_CREATE_INFO, &eb};
                bci.size = size;
                bci.usage = VK_BUFFER_USAGE_TRANSFER_SRC_BIT;
                VkBuffer ib;
                if (vkCreateBuffer(vd, &bci, NULL, &ib) != VK_SUCCESS) break;
                VkMemoryRequirements mr;
                vkGetBufferMemoryRequirements(vd, ib, &mr);
                uint32_t bits = mp.memoryTypeBits & mr.memoryTypeBits, type = 0;
                while (bits && !(bits & (1u << type))) type++;
                VkImportMemoryHostPointerInfoEXT imp = {VK_STRUCTURE_TYPE_IMPORT_MEMORY_HOST_POINTER_INFO_EXT};
                imp.handleType = VK_EXTERNAL_MEMORY_HANDLE_TYPE_HOST_ALLOCATION_BIT_EXT;
                imp.pHostPointer = pinned_src;
                VkMemoryAllocateInfo ai = {VK_STRUCTURE_TYPE_MEMORY_ALLOCATE_INFO, &imp};
                ai.allocationSize = size;
                ai.memoryTypeIndex = type;
                VkDeviceMemory im;
                if (!bits || vkAllocateMemory(vd, &ai, NULL, &im) != VK_SUCCESS) {
                    vkDestroyBuffer(vd, ib, NULL);
                    break;
                }
                vkBindBufferMemory(vd, ib, im, 0);
                double t1 = now_s();
                raw_copy(&b, ib, sedx_buffer_vk(&dev), size, 0, NULL);
                double t2 = now_s();
                vkDestroyBuffer(vd, ib, NULL);
                vkFreeMemory(vd, im, NULL);
                double t3 = now_s();
                pin += t1 - ta;
                dma += t2 - t1;
                unpin += t3 - t2;
                ok_runs++;
            }
            if (ok_runs) {
                double total = (pin + dma + unpin) / ok_runs;
                fprintf(b.log, "  5. import (pin %.2f ms + DMA %.2f ms + unpin %.2f ms per %llu MiB) %9.2f GB/s   vs sedx_upload %.2f GB/s\n",
                        pin / ok_runs * 1e3, dma / ok_runs * 1e3, unpin / ok_runs * 1e3,
                        (unsigned long long)(size >> 20), (double)size / total / 1e9, up);
                cJSON *o = cJSON_AddObjectToObject(b.json, "5. import user memory");
                cJSON_AddNumberToObject(o, "pin_ms", pin / ok_runs * 1e3);
                cJSON_AddNumberToObject(o, "dma_ms", dma / ok_runs * 1e3);
                cJSON_AddNumberToObject(o, "unpin_ms", unpin / ok_runs * 1e3);
                cJSON_AddNumberToObject(o, "GBps", (double)size / total / 1e9);
            } else {
                fprintf(b.log, "  5. import: the driver refused to import this memory\n");
            }
            free(pinned_src);
        }
    }

    sedx_transfer_stats s;
    sedx_transfer_get_stats(b.ctx, &s);
    fprintf(b.log, "transfer: ring %llu MiB, %u memcpy threads, transfer queue %s, %llu batches, %llu scatter dispatches, "
                   "%llu compute copies, direct %llu MiB, staged %llu MiB\n",
            (unsigned long long)(s.staging_size >> 20), s.memcpy_threads, s.transfer_queue ? "yes" : "no",
            (unsigned long long)s.batches, (unsigned long long)s.scatter_dispatches,
            (unsigned long long)s.compute_copies, (unsigned long long)(s.direct_bytes >> 20),
            (unsigned long long)(s.staged_bytes >> 20));
    cJSON_AddNumberToObject(b.json, "checks_failed", fails);
    if ((args->json || args->out) && bench_emit_json(args, b.json)) fails++;
    cJSON_Delete(b.json);
    sedx_buffer_release(&dev);
    sedx_buffer_release(&dev2);
    sedx_buffer_release(&staging);
    sedx_context_destroy(b.ctx);
    free(user);
    free(back);
    free(tmp);
    free(v);
    free(slots);
    free(regions);
    return fails ? 1 : 0;
}
