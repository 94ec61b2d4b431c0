/* Transfers with synchronization validation on: every path verified byte for byte with random
 * data into poisoned destinations, at awkward sizes and offsets; ring behaviour; errors. */
#include "test_util.h"

#include <pthread.h>
#include <stdatomic.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#define POISON 0xCD

static uint64_t g_rng;

static sedx_context *make_ctx(uint32_t tflags, uint64_t ring)
{
    sedx_context *ctx = tu_context(true);
    sedx_transfer_info ti = {0};
    ti.flags = tflags;
    ti.staging_size = ring;
    ti.staging_max = ring; /* fixed size: the tests count its capacity (growth: test_ring_grows) */
    ti.readback_size = ring;
    ti.memcpy_threads = 2;
    assert_int_equal(sedx_transfer_configure(ctx, &ti), SEDX_SUCCESS);
    return ctx;
}

/* Downloads b's first size bytes into got (poisoned first) and compares them with expect. */
static void read_back_equal(sedx_context *ctx, const sedx_buffer *b, const uint8_t *expect, uint8_t *got, uint64_t size)
{
    memset(got, 0x11, size);
    assert_int_equal(sedx_download(ctx, b, 0, size, got), SEDX_SUCCESS);
    assert_memory_equal(expect, got, size);
}

/* A GPU buffer of size bytes holding POISON (uploaded and flushed), *expect a host copy of it,
 * *got a host array of the same size (the caller frees both). */
static sedx_buffer poisoned_buffer(sedx_context *ctx, uint64_t size, const char *name, uint8_t **expect, uint8_t **got)
{
    sedx_buffer b;
    assert_int_equal(sedx_buffer_create(ctx, size, SEDX_BUFFER_USAGE_STORAGE | SEDX_BUFFER_USAGE_TRANSFER_DST,
                                        SEDX_MEMORY_GPU, name, &b), SEDX_SUCCESS);
    *expect = malloc(size);
    *got = malloc(size);
    assert_non_null(*expect);
    assert_non_null(*got);
    memset(*expect, POISON, size);
    assert_int_equal(sedx_upload(ctx, &b, 0, size, *expect), SEDX_SUCCESS);
    assert_int_equal(sedx_upload_flush(ctx), SEDX_SUCCESS);
    return b;
}

/* Uploads random bytes at [off, off+n) of a poisoned GPU buffer, reads the whole buffer back
 * and checks the range and the poison around it. */
static void roundtrip(sedx_context *ctx, uint64_t buf_size, uint64_t off, uint64_t n)
{
    sedx_buffer b;
    assert_int_equal(sedx_buffer_create(ctx, buf_size, SEDX_BUFFER_USAGE_STORAGE | SEDX_BUFFER_USAGE_TRANSFER_DST,
                                        SEDX_MEMORY_GPU, "roundtrip", &b),
                     SEDX_SUCCESS);
    uint8_t *expect = malloc(buf_size), *got = malloc(buf_size);
    memset(expect, POISON, buf_size);
    assert_int_equal(sedx_upload(ctx, &b, 0, buf_size, expect), SEDX_SUCCESS); /* poison the buffer */
    tu_fill_random(expect + off, n, &g_rng);
    assert_int_equal(sedx_upload(ctx, &b, off, n, expect + off), SEDX_SUCCESS);
    sedx_ticket t;
    assert_int_equal(sedx_upload_submit(ctx, &t), SEDX_SUCCESS);
    memset(got, 0x11, buf_size);
    assert_int_equal(sedx_download(ctx, &b, 0, buf_size, got), SEDX_SUCCESS);
    if (memcmp(expect, got, buf_size) != 0) {
        for (uint64_t i = 0; i < buf_size; ++i)
            if (expect[i] != got[i]) {
                fprintf(stderr, "mismatch at %llu (upload [%llu,+%llu) into %llu): %02x != %02x\n",
                        (unsigned long long)i, (unsigned long long)off, (unsigned long long)n,
                        (unsigned long long)buf_size, got[i], expect[i]);
                break;
            }
        fail();
    }
    /* a partial download at an odd offset too */
    if (n > 3) {
        memset(got, 0x11, buf_size);
        assert_int_equal(sedx_download(ctx, &b, off + 1, n - 2, got), SEDX_SUCCESS);
        assert_memory_equal(got, expect + off + 1, n - 2);
    }
    sedx_buffer_release(&b);
    free(expect);
    free(got);
}

static void awkward_sizes(sedx_context *ctx, uint64_t ring)
{
    static const uint64_t sizes[] = {1, 3, 4095, 4097, 65535, 65537};
    for (size_t i = 0; i < sizeof sizes / sizeof sizes[0]; ++i) {
        roundtrip(ctx, sizes[i], 0, sizes[i]);
        roundtrip(ctx, sizes[i] + 7, 7, sizes[i]);     /* unaligned offset */
        roundtrip(ctx, sizes[i] + 4096, 4093, sizes[i]);
    }
    roundtrip(ctx, ring * 3 + 5, 3, ring * 3 + 1); /* larger than the ring */
}

static void test_direct_path(void **state)
{
    (void)state;
    g_rng = tu_seed();
    sedx_context *ctx = make_ctx(0, 65536);
    awkward_sizes(ctx, 65536);
    sedx_transfer_stats s;
    assert_int_equal(sedx_transfer_get_stats(ctx, &s), SEDX_SUCCESS);
    /* lavapipe's only memory type is host-visible: the direct path carries it */
    const VkPhysicalDeviceMemoryProperties *mp = sedx_context_memory_properties(ctx);
    bool all_host_visible = true;
    for (uint32_t i = 0; i < mp->memoryTypeCount; ++i)
        all_host_visible = all_host_visible && (mp->memoryTypes[i].propertyFlags & VK_MEMORY_PROPERTY_HOST_VISIBLE_BIT);
    if (all_host_visible) assert_true(s.direct_bytes > 0);
    tu_context_destroy(ctx);
}

static void test_ring_path(void **state)
{
    (void)state;
    g_rng = tu_seed() + 1;
    sedx_context *ctx = make_ctx(SEDX_TRANSFER_NO_DIRECT, 65536);
    awkward_sizes(ctx, 65536);
    sedx_transfer_stats s;
    assert_int_equal(sedx_transfer_get_stats(ctx, &s), SEDX_SUCCESS);
    assert_int_equal(s.direct_bytes, 0);
    assert_true(s.staged_bytes > 3 * 65536);
    assert_true(s.ring_wraps > 0);              /* wrap-around happened */
    assert_true(s.batches > 10);                /* large uploads were pipelined in chunks */
    assert_true(s.download_bytes > s.direct_download_bytes); /* readback ring used */
    tu_context_destroy(ctx);
}

/* Many small uploads to scattered offsets: the compute scatter (with BDA), byte-exact. */
static void test_small_scatter(void **state)
{
    (void)state;
    g_rng = tu_seed() + 2;
    sedx_context *ctx = make_ctx(SEDX_TRANSFER_NO_DIRECT | SEDX_TRANSFER_FORCE_SCATTER, 1u << 20);
    const uint64_t size = 1u << 20;
    sedx_buffer b;
    assert_int_equal(sedx_buffer_create(ctx, size, SEDX_BUFFER_USAGE_STORAGE | SEDX_BUFFER_USAGE_TRANSFER_DST,
                                        SEDX_MEMORY_GPU, "scatter target", &b),
                     SEDX_SUCCESS);
    uint8_t *expect = malloc(size), *got = malloc(size);
    memset(expect, POISON, size);
    assert_int_equal(sedx_upload(ctx, &b, 0, size, expect), SEDX_SUCCESS);
    /* 200 uploads of 4 KiB (some shifted by 4 bytes) into distinct, shuffled slots: scatter */
    uint32_t slots[256];
    for (uint32_t i = 0; i < 256; ++i) slots[i] = i;
    for (uint32_t i = 255; i > 0; --i) {
        uint32_t j = (uint32_t)(tu_rand(&g_rng) % (i + 1)), tmp = slots[i];
        slots[i] = slots[j];
        slots[j] = tmp;
    }
    for (int i = 0; i < 200; ++i) {
        uint64_t n = 4096 - 8, off = (uint64_t)slots[i] * 4096 + ((i & 1) ? 4 : 0);
        tu_fill_random(expect + off, n, &g_rng);
        assert_int_equal(sedx_upload(ctx, &b, off, n, expect + off), SEDX_SUCCESS);
    }
    assert_int_equal(sedx_upload_submit(ctx, NULL), SEDX_SUCCESS);
    read_back_equal(ctx, &b, expect, got, size);
    sedx_transfer_stats s;
    sedx_transfer_get_stats(ctx, &s);
    if (sedx_context_features(ctx) & SEDX_FEATURE_BUFFER_DEVICE_ADDRESS) assert_true(s.scatter_dispatches >= 1);
    /* overlapping uploads in one batch (odd sizes too): applied in call order */
    for (int i = 0; i < 300; ++i) {
        uint64_t n = (i % 10 == 9) ? 1 + tu_rand(&g_rng) % 300 : 4096;
        uint64_t off = tu_rand(&g_rng) % (size - n);
        if (n == 4096) off &= ~(uint64_t)3;
        tu_fill_random(expect + off, n, &g_rng);
        assert_int_equal(sedx_upload(ctx, &b, off, n, expect + off), SEDX_SUCCESS);
    }
    assert_int_equal(sedx_upload_submit(ctx, NULL), SEDX_SUCCESS);
    read_back_equal(ctx, &b, expect, got, size);
    sedx_buffer_release(&b);
    free(expect);
    free(got);
    tu_context_destroy(ctx);
}

/* Many batches through a small ring, scatter on: the open batch's bytes are never handed out
 * twice, also when nothing else is in flight (a bug the benchmark's check once caught). */
static void test_ring_many_batches(void **state)
{
    (void)state;
    g_rng = tu_seed() + 7;
    for (int scatter = 0; scatter < 2; ++scatter) {
        sedx_context *ctx = make_ctx(SEDX_TRANSFER_NO_DIRECT | (scatter ? SEDX_TRANSFER_FORCE_SCATTER : 0), 1u << 20);
        const uint64_t size = 16u << 20, piece = 4096;
        sedx_buffer b;
        assert_int_equal(sedx_buffer_create(ctx, size, SEDX_BUFFER_USAGE_STORAGE | SEDX_BUFFER_USAGE_TRANSFER_DST,
                                            SEDX_MEMORY_GPU, "many batches", &b), SEDX_SUCCESS);
        uint8_t *expect = malloc(size), *got = malloc(size);
        tu_fill_random(expect, size, &g_rng);
        for (uint64_t k = 0; k < size / piece; ++k) {
            uint64_t slot = (k * 389) % (size / piece); /* a permutation: 389 is prime to 4096 */
            assert_int_equal(sedx_upload(ctx, &b, slot * piece, piece, expect + slot * piece), SEDX_SUCCESS);
            if (k == 700) assert_int_equal(sedx_upload_flush(ctx), SEDX_SUCCESS); /* empty fifo, open batch */
        }
        memset(got, 0x11, size);
        assert_int_equal(sedx_download(ctx, &b, 0, size, got), SEDX_SUCCESS);
        assert_memory_equal(expect, got, size);
        sedx_transfer_stats s;
        sedx_transfer_get_stats(ctx, &s);
        assert_true(s.ring_wraps > 0);
        if (scatter && (sedx_context_features(ctx) & SEDX_FEATURE_BUFFER_DEVICE_ADDRESS))
            assert_true(s.scatter_dispatches > 0);
        sedx_buffer_release(&b);
        free(expect);
        free(got);
        tu_context_destroy(ctx);
    }
}

/* Batches are submitted at min(a quarter of the ring, 8 MiB) and large uploads go in chunks of
 * min(a quarter, 16 MiB), however large the ring (docs/transfer.md: with quarters, a ring grown
 * to 256 MiB collected 64 MiB before the copy engine saw any of it). A 128 MiB ring (quarter
 * 32 MiB): 24 MiB of 4 KiB uploads must reach the GPU in batches before the flush, one 48 MiB
 * upload in at least three; every byte checked in a poisoned buffer. */
static void test_batch_caps(void **state)
{
    (void)state;
    g_rng = tu_seed() + 11;
    sedx_context *ctx = make_ctx(SEDX_TRANSFER_NO_DIRECT, 128u << 20);
    const uint64_t size = 48u << 20, piece = 4096, small = 24u << 20;
    uint8_t *expect, *got;
    sedx_buffer b = poisoned_buffer(ctx, size, "batch caps", &expect, &got);
    tu_fill_random(expect, small, &g_rng);
    sedx_transfer_stats s0, s1, s2;
    sedx_transfer_get_stats(ctx, &s0);
    for (uint64_t k = 0; k < small / piece; ++k) {
        uint64_t slot = (k * 389) % (small / piece);
        assert_int_equal(sedx_upload(ctx, &b, slot * piece, piece, expect + slot * piece), SEDX_SUCCESS);
    }
    sedx_transfer_get_stats(ctx, &s1);
    assert_true(s1.batches - s0.batches >= 2); /* 8 MiB each: 3 submitted before any flush (quarters: 0) */
    assert_int_equal(sedx_upload_flush(ctx), SEDX_SUCCESS);
    read_back_equal(ctx, &b, expect, got, size);
    tu_fill_random(expect, size, &g_rng);
    sedx_transfer_get_stats(ctx, &s1);
    assert_int_equal(sedx_upload(ctx, &b, 0, size, expect), SEDX_SUCCESS);
    assert_int_equal(sedx_upload_flush(ctx), SEDX_SUCCESS);
    sedx_transfer_get_stats(ctx, &s2);
    assert_true(s2.batches - s1.batches >= 3); /* 16 MiB chunks (quarters: two of 32 MiB) */
    read_back_equal(ctx, &b, expect, got, size);
    sedx_buffer_release(&b);
    free(expect);
    free(got);
    tu_context_destroy(ctx);
}

/* The batched form: same result as one sedx_upload per region in order, all or nothing. */
static void test_upload_batch(void **state)
{
    (void)state;
    g_rng = tu_seed() + 9;
    for (int direct = 0; direct < 2; ++direct) {
        sedx_context *ctx = make_ctx((direct ? 0 : SEDX_TRANSFER_NO_DIRECT) | SEDX_TRANSFER_FORCE_SCATTER, 1u << 20);
        const uint64_t size = 2u << 20;
        sedx_buffer b;
        assert_int_equal(sedx_buffer_create(ctx, size, SEDX_BUFFER_USAGE_STORAGE | SEDX_BUFFER_USAGE_TRANSFER_DST,
                                            SEDX_MEMORY_GPU, "batch", &b), SEDX_SUCCESS);
        uint8_t *expect = malloc(size), *got = malloc(size), *src = malloc(size);
        memset(expect, POISON, size);
        assert_int_equal(sedx_upload(ctx, &b, 0, size, expect), SEDX_SUCCESS);
        enum { N = 700 };
        sedx_upload_region *regs = calloc(N, sizeof *regs);
        uint64_t src_off = 0;
        for (int i = 0; i < N; ++i) {
            /* mostly 4 KiB, some odd sizes, some large (> group limit), overlaps allowed */
            uint64_t n = (i % 50 == 49) ? 300000 : (i % 7 == 3) ? 1 + tu_rand(&g_rng) % 999 : 4096;
            uint64_t off = tu_rand(&g_rng) % (size - n);
            if (src_off + n > size) src_off = 0;
            tu_fill_random(src + src_off, n, &g_rng);
            memcpy(expect + off, src + src_off, n); /* in order: later regions win */
            regs[i] = (sedx_upload_region){&b, off, n, src + src_off};
            src_off += n;
            if (i % 100 == 99) {
                assert_int_equal(sedx_upload_batch(ctx, regs + i - 99, 100), SEDX_SUCCESS);
            }
        }
        assert_int_equal(sedx_upload_submit(ctx, NULL), SEDX_SUCCESS);
        memset(got, 0x11, size);
        assert_int_equal(sedx_download(ctx, &b, 0, size, got), SEDX_SUCCESS);
        assert_memory_equal(expect, got, size);
        /* one bad region: nothing of the batch is written */
        sedx_set_log_level(SEDX_LOG_OFF);
        regs[5].offset = size - 1;
        regs[5].size = 2;
        memset(src, 0x77, size);
        assert_int_equal(sedx_upload_batch(ctx, regs, 10), SEDX_ERROR_OUT_OF_BOUNDS);
        sedx_set_log_level(SEDX_LOG_WARN);
        assert_int_equal(sedx_download(ctx, &b, 0, size, got), SEDX_SUCCESS);
        assert_memory_equal(expect, got, size);
        sedx_buffer_release(&b);
        free(regs);
        free(expect);
        free(got);
        free(src);
        tu_context_destroy(ctx);
    }
}

typedef struct blocking_upload {
    sedx_context *ctx;
    const sedx_buffer *b;
    uint64_t off;
    const void *data;
    uint64_t n;
    sedx_result result;
    _Atomic bool done;
} blocking_upload;

static void *blocking_upload_fn(void *arg)
{
    blocking_upload *u = arg;
    u->result = sedx_upload(u->ctx, u->b, u->off, u->n, u->data);
    atomic_store(&u->done, true);
    return NULL;
}

/* Ring accounting when every submission has completed but the open batch holds bytes: those
 * bytes stay reserved (a bug once handed them out again). Deterministic: gates hold the GPU,
 * NO_WAIT uploads probe exactly how much room the ring claims to have (64 KiB ring, chunks and
 * auto-submit at 16 KiB). */
static void test_ring_accounting_open_batch(void **state)
{
    (void)state;
    g_rng = tu_seed() + 8;
    sedx_context *ctx = make_ctx(SEDX_TRANSFER_NO_DIRECT, 65536);
    const uint64_t K = 1024, size = 256 * K;
    uint8_t *expect, *got;
    sedx_buffer b = poisoned_buffer(ctx, size, "accounting", &expect, &got);
    tu_fill_random(expect, size, &g_rng);
    uint64_t off = 0;
#define UP(n) (off += (n), sedx_upload_ex(ctx, &b, off - (n), (n), expect + off - (n), SEDX_UPLOAD_NO_WAIT))
    sedx_ticket blocker, t;
    VkSemaphore gate1 = tu_gate(ctx, SEDX_QUEUE_TRANSFER, &blocker);
    for (int i = 0; i < 4; ++i) { /* 48 KiB in flight, held by gate 1 */
        assert_int_equal(UP(12 * K), SEDX_SUCCESS);
        assert_int_equal(sedx_upload_submit(ctx, &t), SEDX_SUCCESS);
    }
    assert_int_equal(UP(8 * K), SEDX_SUCCESS); /* B: 8 KiB in the open batch */
    tu_open_gate(ctx, gate1);
    assert_int_equal(sedx_ticket_wait(ctx, t, UINT64_MAX), SEDX_SUCCESS); /* everything in flight is done */
    VkSemaphore gate2 = tu_gate(ctx, SEDX_QUEUE_TRANSFER, &blocker);
    assert_int_equal(UP(16 * K), SEDX_SUCCESS); /* C: reclaims; B + C submitted, held by gate 2 */
    assert_int_equal(UP(16 * K), SEDX_SUCCESS); /* D */
    assert_int_equal(UP(16 * K), SEDX_SUCCESS); /* E: the ring is now exactly full (B..E = 64 KiB) */
    sedx_set_log_level(SEDX_LOG_OFF);
    uint64_t before = off;
    sedx_result g = sedx_upload_ex(ctx, &b, off, 4 * K, expect + off, SEDX_UPLOAD_NO_WAIT);
    sedx_set_log_level(SEDX_LOG_WARN);
    assert_int_equal(g, SEDX_ERROR_OUT_OF_STAGING); /* B's bytes are still owed to the GPU */
    assert_int_equal(off, before);
    /* a blocking upload now waits for the GPU (full-ring wait) and finishes once it moves on */
    blocking_upload bu = {ctx, &b, off, expect + off, 4 * K, SEDX_ERROR_VULKAN, false};
    pthread_t th;
    assert_int_equal(pthread_create(&th, NULL, blocking_upload_fn, &bu), 0);
    struct timespec ms50 = {0, 50 * 1000 * 1000};
    nanosleep(&ms50, NULL);
    assert_false(atomic_load(&bu.done)); /* still waiting: the gate holds the GPU */
    tu_open_gate(ctx, gate2);
    assert_int_equal(pthread_join(th, NULL), 0);
    assert_int_equal(bu.result, SEDX_SUCCESS);
    off += 4 * K;
    sedx_transfer_stats ws;
    sedx_transfer_get_stats(ctx, &ws);
    assert_true(ws.ring_waits >= 1);
    assert_int_equal(sedx_upload_flush(ctx), SEDX_SUCCESS);
    memset(got, 0x11, size);
    assert_int_equal(sedx_download(ctx, &b, 0, off, got), SEDX_SUCCESS);
    assert_memory_equal(expect, got, off);
#undef UP
    vkDestroySemaphore(sedx_context_device(ctx), gate1, NULL);
    vkDestroySemaphore(sedx_context_device(ctx), gate2, NULL);
    sedx_buffer_release(&b);
    free(expect);
    free(got);
    tu_context_destroy(ctx);
}

static void test_device_copy(void **state)
{
    (void)state;
    g_rng = tu_seed() + 3;
    static const uint32_t modes[] = {SEDX_TRANSFER_FORCE_COMPUTE_COPY, SEDX_TRANSFER_FORCE_COPY_COMMAND, 0};
    for (size_t m = 0; m < 3; ++m) {
        sedx_context *ctx = make_ctx(modes[m], 65536);
        const uint64_t size = (1u << 20) + 37;
        sedx_buffer a, b;
        assert_int_equal(sedx_buffer_create(ctx, size, SEDX_BUFFER_USAGE_STORAGE | SEDX_BUFFER_USAGE_TRANSFER_DST,
                                            SEDX_MEMORY_GPU, "copy src", &a), SEDX_SUCCESS);
        assert_int_equal(sedx_buffer_create(ctx, size, SEDX_BUFFER_USAGE_STORAGE | SEDX_BUFFER_USAGE_TRANSFER_DST,
                                            SEDX_MEMORY_GPU, "copy dst", &b), SEDX_SUCCESS);
        uint8_t *src = malloc(size), *got = malloc(size), *expect = malloc(size);
        tu_fill_random(src, size, &g_rng);
        memset(expect, POISON, size);
        assert_int_equal(sedx_upload(ctx, &a, 0, size, src), SEDX_SUCCESS);
        assert_int_equal(sedx_upload(ctx, &b, 0, size, expect), SEDX_SUCCESS);
        /* copy [16, size-16) to 32: aligned body + tail; then an unaligned one */
        assert_int_equal(sedx_gpu_copy(ctx, &a, 16, &b, 32, size - 48, NULL), SEDX_SUCCESS);
        memcpy(expect + 32, src + 16, size - 48);
        sedx_ticket t;
        assert_int_equal(sedx_gpu_copy(ctx, &a, 3, &b, 1, 5, &t), SEDX_SUCCESS);
        assert_int_equal(sedx_ticket_wait(ctx, t, UINT64_MAX), SEDX_SUCCESS);
        memcpy(expect + 1, src + 3, 5);
        assert_int_equal(sedx_download(ctx, &b, 0, size, got), SEDX_SUCCESS);
        assert_memory_equal(expect, got, size);
        /* the seed's CopyBuffer on raw handles */
        assert_int_equal(sedx_copy_buffer(ctx, sedx_buffer_vk(&a), sedx_buffer_vk(&b), size), SEDX_SUCCESS);
        assert_int_equal(sedx_download(ctx, &b, 0, size, got), SEDX_SUCCESS);
        assert_memory_equal(src, got, size);
        sedx_transfer_stats s;
        sedx_transfer_get_stats(ctx, &s);
        if (modes[m] == SEDX_TRANSFER_FORCE_COMPUTE_COPY && (sedx_context_features(ctx) & SEDX_FEATURE_BUFFER_DEVICE_ADDRESS))
            assert_true(s.compute_copies >= 1);
        if (modes[m] == SEDX_TRANSFER_FORCE_COPY_COMMAND) assert_int_equal(s.compute_copies, 0);
        sedx_buffer_release(&a);
        sedx_buffer_release(&b);
        free(src);
        free(got);
        free(expect);
        tu_context_destroy(ctx);
    }
}

static void test_buffer_to_image(void **state)
{
    (void)state;
    g_rng = tu_seed() + 4;
    sedx_context *ctx = make_ctx(0, 65536);
    VkDevice dev = sedx_context_device(ctx);
    const uint32_t w = 37, h = 19;
    VkImageCreateInfo ici = {VK_STRUCTURE_TYPE_IMAGE_CREATE_INFO};
    ici.imageType = VK_IMAGE_TYPE_2D;
    ici.format = VK_FORMAT_R8G8B8A8_UNORM;
    ici.extent = (VkExtent3D){w, h, 1};
    ici.mipLevels = 1;
    ici.arrayLayers = 1;
    ici.samples = VK_SAMPLE_COUNT_1_BIT;
    ici.tiling = VK_IMAGE_TILING_OPTIMAL;
    ici.usage = VK_IMAGE_USAGE_TRANSFER_DST_BIT | VK_IMAGE_USAGE_TRANSFER_SRC_BIT | VK_IMAGE_USAGE_SAMPLED_BIT;
    VkImage image;
    sedx_allocation ia;
    sedx_allocation_info ai = {0};
    ai.name = "test image";
    assert_int_equal(sedx_memory_create_image(ctx, &ici, &ai, &image, &ia), SEDX_SUCCESS);
    const uint64_t bytes = (uint64_t)w * h * 4;
    uint8_t *texels = malloc(bytes), *got = malloc(bytes);
    tu_fill_random(texels, bytes, &g_rng);
    sedx_buffer staging, back;
    assert_int_equal(sedx_staging_buffer_create(ctx, bytes, "texture staging", &staging), SEDX_SUCCESS);
    memcpy(staging.data, texels, bytes);
    /* the seed's call: whole image, ends in SHADER_READ_ONLY_OPTIMAL */
    assert_int_equal(sedx_copy_buffer_to_image(ctx, sedx_buffer_vk(&staging), image, w, h), SEDX_SUCCESS);
    /* the full form: from SHADER_READ_ONLY back into TRANSFER_SRC for the readback */
    sedx_buffer_image_copy c = {0};
    c.image_extent = (VkExtent3D){w, h, 1};
    c.mip_extent = c.image_extent;
    c.current_layout = VK_IMAGE_LAYOUT_SHADER_READ_ONLY_OPTIMAL;
    c.final_layout = VK_IMAGE_LAYOUT_TRANSFER_SRC_OPTIMAL;
    assert_int_equal(sedx_copy_buffer_to_image_ex(ctx, sedx_buffer_vk(&staging), image, &c), SEDX_SUCCESS);
    /* read the image back through a buffer */
    sedx_buffer_create_info bci = {0};
    bci.size = bytes;
    bci.usage = SEDX_BUFFER_USAGE_TRANSFER_DST;
    bci.memory = SEDX_MEMORY_CPU;
    bci.host_access = SEDX_HOST_ACCESS_READBACK;
    bci.name = "image readback";
    assert_int_equal(sedx_buffer_create_ex(ctx, &bci, &back), SEDX_SUCCESS);
    memset(back.data, POISON, bytes);
    sedx_cmd cmd;
    assert_int_equal(sedx_cmd_begin(ctx, SEDX_QUEUE_GRAPHICS, &cmd), SEDX_SUCCESS);
    VkBufferImageCopy r = {0};
    r.imageSubresource.aspectMask = VK_IMAGE_ASPECT_COLOR_BIT;
    r.imageSubresource.layerCount = 1;
    r.imageExtent = (VkExtent3D){w, h, 1};
    vkCmdCopyImageToBuffer(cmd.cmd, image, VK_IMAGE_LAYOUT_TRANSFER_SRC_OPTIMAL, sedx_buffer_vk(&back), 1, &r);
    VkMemoryBarrier mb = {VK_STRUCTURE_TYPE_MEMORY_BARRIER};
    mb.srcAccessMask = VK_ACCESS_TRANSFER_WRITE_BIT;
    mb.dstAccessMask = VK_ACCESS_HOST_READ_BIT;
    vkCmdPipelineBarrier(cmd.cmd, VK_PIPELINE_STAGE_TRANSFER_BIT, VK_PIPELINE_STAGE_HOST_BIT, 0, 1, &mb, 0, NULL, 0, NULL);
    sedx_ticket t;
    assert_int_equal(sedx_cmd_submit(ctx, &cmd, NULL, &t), SEDX_SUCCESS);
    assert_int_equal(sedx_ticket_wait(ctx, t, UINT64_MAX), SEDX_SUCCESS);
    assert_int_equal(sedx_buffer_read(&back, got, bytes, 0), SEDX_SUCCESS);
    assert_memory_equal(texels, got, bytes);
    /* region outside the extent, zero extent */
    sedx_set_log_level(SEDX_LOG_OFF);
    c.image_offset.x = 30;
    c.image_extent.width = 8;
    assert_int_equal(sedx_copy_buffer_to_image_ex(ctx, sedx_buffer_vk(&staging), image, &c), SEDX_ERROR_OUT_OF_BOUNDS);
    assert_int_equal(sedx_copy_buffer_to_image(ctx, sedx_buffer_vk(&staging), image, 0, 4), SEDX_ERROR_INVALID_ARGUMENT);
    sedx_set_log_level(SEDX_LOG_WARN);
    vkDeviceWaitIdle(dev);
    sedx_memory_destroy_image(ctx, image, ia);
    sedx_buffer_release(&staging);
    sedx_buffer_release(&back);
    free(texels);
    free(got);
    tu_context_destroy(ctx);
}

static void test_ring_full_and_errors(void **state)
{
    (void)state;
    g_rng = tu_seed() + 5;
    sedx_context *ctx = make_ctx(SEDX_TRANSFER_NO_DIRECT, 65536);
    sedx_context *other = make_ctx(0, 65536);
    tu_log_capture();
    sedx_buffer b, vb, foreign;
    const uint64_t size = 65536;
    assert_int_equal(sedx_buffer_create(ctx, size, SEDX_BUFFER_USAGE_STORAGE | SEDX_BUFFER_USAGE_TRANSFER_DST,
                                        SEDX_MEMORY_GPU, "errors", &b), SEDX_SUCCESS);
    assert_int_equal(sedx_buffer_create(ctx, 256, SEDX_BUFFER_USAGE_UNIFORM, SEDX_MEMORY_GPU, "no transfer dst", &vb),
                     SEDX_SUCCESS);
    assert_int_equal(sedx_buffer_create(other, 256, SEDX_BUFFER_USAGE_VERTEX, SEDX_MEMORY_GPU, "foreign", &foreign),
                     SEDX_SUCCESS);
    uint8_t *data = malloc(size), *got = malloc(size);
    tu_fill_random(data, size, &g_rng);
    /* errors: nothing recorded, batch usable afterwards */
    assert_int_equal(sedx_upload(ctx, &b, 1, size, data), SEDX_ERROR_OUT_OF_BOUNDS);
    assert_int_equal(sedx_upload(ctx, &b, UINT64_MAX - 2, 4, data), SEDX_ERROR_OUT_OF_BOUNDS);
    assert_int_equal(sedx_upload(ctx, &b, 4, UINT64_MAX - 1, data), SEDX_ERROR_OUT_OF_BOUNDS);
    assert_int_equal(sedx_upload(ctx, &b, 0, 4, NULL), SEDX_ERROR_INVALID_ARGUMENT);
    assert_int_equal(sedx_upload(ctx, &foreign, 0, 16, data), SEDX_ERROR_WRONG_CONTEXT);
    sedx_buffer dead;
    assert_int_equal(sedx_buffer_create(ctx, 64, SEDX_BUFFER_USAGE_VERTEX, 0, "dead", &dead), SEDX_SUCCESS);
    sedx_buffer stale = dead;
    sedx_buffer_release(&dead);
    assert_int_equal(sedx_upload(ctx, &stale, 0, 16, data), SEDX_ERROR_INVALID_HANDLE);
    assert_int_equal(sedx_download(ctx, &stale, 0, 16, got), SEDX_ERROR_INVALID_HANDLE);
    assert_int_equal(sedx_download(ctx, &b, 0, 16, NULL), SEDX_ERROR_INVALID_ARGUMENT);
    assert_int_equal(sedx_download(ctx, &b, size - 1, 2, got), SEDX_ERROR_OUT_OF_BOUNDS);
    sedx_transfer_stats s0;
    sedx_transfer_get_stats(ctx, &s0);
    assert_int_equal(s0.staged_bytes, 0);

    /* ring full with NO_WAIT: a gate keeps the GPU from finishing earlier batches */
    sedx_ticket blocker;
    VkSemaphore gate = tu_gate(ctx, SEDX_QUEUE_TRANSFER, &blocker);
    /* on a single queue every later batch waits behind the blocker */
    bool single_queue = !sedx_context_has_transfer_queue(ctx);
    int accepted = 0;
    sedx_result r = SEDX_SUCCESS;
    for (int i = 0; i < 24 && r == SEDX_SUCCESS; ++i) {
        uint64_t o = (uint64_t)(i % 16) * 4096;
        r = sedx_upload_ex(ctx, &b, o, 4096, data + o, SEDX_UPLOAD_NO_WAIT);
        if (r == SEDX_SUCCESS) {
            accepted++;
            assert_int_equal(sedx_upload_submit(ctx, NULL), SEDX_SUCCESS);
        }
    }
    /* the batches wait behind the blocker (the uploads' queue is the gated one): exactly the
     * ring's 64 KiB are accepted, then OUT_OF_STAGING */
    (void)single_queue;
    assert_int_equal(r, SEDX_ERROR_OUT_OF_STAGING);
    assert_int_equal(accepted, 16);
    tu_open_gate(ctx, gate);
    /* after the GPU catches up the rest goes through (waiting is allowed now) */
    for (int i = 0; i < 16; ++i) /* waiting is allowed now */
        assert_int_equal(sedx_upload(ctx, &b, (uint64_t)i * 4096, 4096, data + i * 4096), SEDX_SUCCESS);
    assert_int_equal(sedx_download(ctx, &b, 0, size, got), SEDX_SUCCESS);
    assert_memory_equal(data, got, size);
    sedx_transfer_stats s;
    sedx_transfer_get_stats(ctx, &s);
    assert_true(s.ring_full_errors >= 1);
    /* every buffer is a transfer destination (asked for or not): staged or direct, it works */
    assert_true(vb.usage & SEDX_BUFFER_USAGE_TRANSFER_DST);
    assert_int_equal(sedx_upload(ctx, &vb, 0, 16, data), SEDX_SUCCESS);
    assert_int_equal(sedx_download(ctx, &vb, 0, 16, got), SEDX_SUCCESS);
    assert_memory_equal(data, got, 16);
    vkDestroySemaphore(sedx_context_device(ctx), gate, NULL);
    sedx_set_logger(NULL, NULL);
    sedx_set_log_level(SEDX_LOG_WARN);
    sedx_buffer_release(&b);
    sedx_buffer_release(&vb);
    sedx_buffer_release(&foreign);
    free(data);
    free(got);
    tu_context_destroy(other);
    tu_context_destroy(ctx);
}

/* A full ring grows (doubling, up to staging_max) instead of waiting; the old ring lives until
 * the GPU is done with it; past the limit, NO_WAIT gets OUT_OF_STAGING. */
static void test_ring_grows(void **state)
{
    (void)state;
    g_rng = tu_seed() + 10;
    sedx_context *ctx = tu_context(true);
    sedx_transfer_info ti = {0};
    ti.flags = SEDX_TRANSFER_NO_DIRECT;
    ti.staging_size = 65536;
    ti.staging_max = 4 * 65536;
    assert_int_equal(sedx_transfer_configure(ctx, &ti), SEDX_SUCCESS);
    const uint64_t size = 512u << 10, piece = 4096;
    sedx_buffer b;
    assert_int_equal(sedx_buffer_create(ctx, size, SEDX_BUFFER_USAGE_STORAGE | SEDX_BUFFER_USAGE_TRANSFER_DST,
                                        SEDX_MEMORY_GPU, "growth", &b), SEDX_SUCCESS);
    uint8_t *expect = malloc(size), *got = malloc(size);
    tu_fill_random(expect, size, &g_rng);
    sedx_ticket blocker;
    VkSemaphore gate = tu_gate(ctx, SEDX_QUEUE_TRANSFER, &blocker); /* nothing completes */
    int accepted = 0;
    sedx_result r = SEDX_SUCCESS;
    for (uint64_t k = 0; k < size / piece && r == SEDX_SUCCESS; ++k) {
        /* batches submit themselves at a quarter of the ring: 28 submissions in all, fewer than
         * the 64 command buffers a queue has in flight (the gate holds every one of them) */
        r = sedx_upload_ex(ctx, &b, k * piece, piece, expect + k * piece, SEDX_UPLOAD_NO_WAIT);
        if (r == SEDX_SUCCESS) accepted++;
    }
    /* 64 KiB + 128 KiB + 256 KiB of rings, every one held by the gate: 16 + 32 + 64 pieces */
    assert_int_equal(r, SEDX_ERROR_OUT_OF_STAGING);
    assert_int_equal(accepted, 112);
    sedx_transfer_stats s;
    sedx_transfer_get_stats(ctx, &s);
    assert_int_equal(s.ring_grows, 2);
    assert_int_equal(s.staging_size, 4 * 65536);
    tu_open_gate(ctx, gate);
    for (uint64_t k = (uint64_t)accepted; k < size / piece; ++k)
        assert_int_equal(sedx_upload(ctx, &b, k * piece, piece, expect + k * piece), SEDX_SUCCESS);
    memset(got, 0x11, size);
    assert_int_equal(sedx_download(ctx, &b, 0, size, got), SEDX_SUCCESS);
    assert_memory_equal(expect, got, size); /* the retired rings' bytes all arrived */
    vkDestroySemaphore(sedx_context_device(ctx), gate, NULL);
    sedx_buffer_release(&b);
    free(expect);
    free(got);
    tu_context_destroy(ctx);
}

/* A context destroyed with uploads still in the open batch: they are submitted, the buffers'
 * batch references dropped, nothing reported as leaked. */
static void test_destroy_with_open_batch(void **state)
{
    (void)state;
    sedx_context *ctx = make_ctx(SEDX_TRANSFER_NO_DIRECT, 65536);
    sedx_buffer b;
    assert_int_equal(sedx_buffer_create(ctx, 4096, SEDX_BUFFER_USAGE_STORAGE | SEDX_BUFFER_USAGE_TRANSFER_DST,
                                        SEDX_MEMORY_GPU, "pending at destroy", &b), SEDX_SUCCESS);
    uint8_t data[4096];
    g_rng = tu_seed() + 11;
    tu_fill_random(data, sizeof data, &g_rng);
    assert_int_equal(sedx_upload(ctx, &b, 0, sizeof data, data), SEDX_SUCCESS);
    sedx_buffer_release(&b); /* the open batch still holds it */
    tu_log_capture();
    sedx_set_log_level(SEDX_LOG_WARN);
    tu_context_destroy(ctx);
    assert_int_equal(tu_log_count(SEDX_LOG_WARN) + tu_log_count(SEDX_LOG_ERROR), 0);
    sedx_set_logger(NULL, NULL);
}

static void test_create_with_data(void **state)
{
    (void)state;
    g_rng = tu_seed() + 6;
    sedx_context *ctx = make_ctx(SEDX_TRANSFER_NO_DIRECT, 65536);
    uint8_t data[1000], got[1000];
    tu_fill_random(data, sizeof data, &g_rng);
    sedx_buffer vb, ub;
    assert_int_equal(sedx_buffer_create_with_data(ctx, sizeof data, SEDX_BUFFER_USAGE_VERTEX, SEDX_MEMORY_GPU, "vb",
                                                  data, &vb), SEDX_SUCCESS);
    assert_int_equal(sedx_download(ctx, &vb, 0, sizeof got, got), SEDX_SUCCESS);
    assert_memory_equal(data, got, sizeof data);
    assert_int_equal(sedx_buffer_create_with_data(ctx, sizeof data, SEDX_BUFFER_USAGE_UNIFORM, SEDX_MEMORY_CPU, "ub",
                                                  data, &ub), SEDX_SUCCESS);
    assert_memory_equal(ub.data, data, sizeof data);
    assert_int_equal(sedx_buffer_list(ctx, NULL, NULL), 2); /* the staging/readback rings are not listed */
    sedx_buffer_release(&vb);
    sedx_buffer_release(&ub);
    tu_context_destroy(ctx);
}

/* Synchronization validation is really on in this file: a deliberate write-after-write hazard
 * is reported (so zero hazards elsewhere means something). */
static void test_sync_validation_is_on(void **state)
{
    (void)state;
    sedx_context *ctx = tu_context(true);
    sedx_set_log_level(SEDX_LOG_OFF);
    sedx_buffer b;
    assert_int_equal(sedx_buffer_create(ctx, 4096, SEDX_BUFFER_USAGE_STORAGE | SEDX_BUFFER_USAGE_TRANSFER_DST,
                                        SEDX_MEMORY_GPU, "hazard", &b), SEDX_SUCCESS);
    sedx_cmd cmd;
    assert_int_equal(sedx_cmd_begin(ctx, SEDX_QUEUE_GRAPHICS, &cmd), SEDX_SUCCESS);
    vkCmdFillBuffer(cmd.cmd, sedx_buffer_vk(&b), 0, 4096, 1u);
    vkCmdFillBuffer(cmd.cmd, sedx_buffer_vk(&b), 0, 4096, 2u); /* no barrier: WAW hazard */
    sedx_ticket t;
    assert_int_equal(sedx_cmd_submit(ctx, &cmd, NULL, &t), SEDX_SUCCESS);
    assert_int_equal(sedx_ticket_wait(ctx, t, UINT64_MAX), SEDX_SUCCESS);
    assert_true(sedx_context_validation_error_count(ctx) + sedx_context_validation_warning_count(ctx) >= 1);
    sedx_buffer_release(&b);
    sedx_context_destroy(ctx);
    sedx_set_log_level(SEDX_LOG_WARN);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_sync_validation_is_on),
        cmocka_unit_test(test_direct_path),       cmocka_unit_test(test_ring_path),
        cmocka_unit_test(test_small_scatter),     cmocka_unit_test(test_ring_many_batches),
        cmocka_unit_test(test_batch_caps),
        cmocka_unit_test(test_ring_accounting_open_batch), cmocka_unit_test(test_upload_batch),     cmocka_unit_test(test_device_copy),
        cmocka_unit_test(test_buffer_to_image),   cmocka_unit_test(test_ring_full_and_errors),
        cmocka_unit_test(test_create_with_data),  cmocka_unit_test(test_ring_grows),
        cmocka_unit_test(test_destroy_with_open_batch),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
