/* Misuse catalog, transfer.h and bindless.h: configuration, uploads (single and batched),
 * downloads, device copies, the seed's raw-handle copies, buffer-to-image copies, the staging
 * ring exhausted, buffers in flight, the bindless tables. The harness is
 * tests/gpu/misuse_util.h; docs/errors.md lists every case. */
#include "misuse_util.h"

#include <pthread.h>
#include <time.h>

/* The shared bad set (misuse_util.h), and a pattern in the stale copy's buffer that refused
 * calls through the stale copy must leave (keeper_intact). */
static void bad_set_init(sedx_context *ctx, mis_bad_set *s)
{
    mis_bad_set_init(ctx, s);
    static uint8_t pattern[4096];
    memset(pattern, 0x3C, sizeof pattern); /* what refused calls through the stale copy must leave */
    assert_int_equal(sedx_upload(ctx, &s->keeper, 0, sizeof pattern, pattern), SEDX_SUCCESS);
    assert_int_equal(sedx_upload_flush(ctx), SEDX_SUCCESS);
}

/* The live reference of the stale copy's buffer still has the pattern bad_set_init gave it. */
static bool keeper_intact(sedx_context *ctx, const mis_bad_set *s)
{
    static uint8_t pattern[4096];
    memset(pattern, 0x3C, sizeof pattern);
    uint8_t *got = malloc(sizeof pattern);
    bool ok = sedx_download(ctx, &s->keeper, 0, sizeof pattern, got) == SEDX_SUCCESS &&
              memcmp(got, pattern, sizeof pattern) == 0;
    free(got);
    return ok;
}

/* Downloads size bytes of b and compares them with expect. */
static bool bytes_are(sedx_context *ctx, const sedx_buffer *b, uint64_t offset, const void *expect, size_t size)
{
    uint8_t *got = malloc(size);
    memset(got, 0, size);
    bool ok = sedx_download(ctx, b, offset, size, got) == SEDX_SUCCESS && memcmp(got, expect, size) == 0;
    free(got);
    return ok;
}

/* ------------------------------------------------------------------------------------------
 * sedx_transfer_configure
 * ---------------------------------------------------------------------------------------- */
static void test_configure(void **state)
{
    (void)state;
    mis_begin();
    sedx_context *ctx = mis_context(0, NULL);
    sedx_transfer_info ti = {0};
    MIS_RC("sedx_transfer_configure", "NULL ctx", SEDX_ERROR_INVALID_ARGUMENT, "NULL argument",
           sedx_transfer_configure(NULL, &ti));
    MIS_RC("sedx_transfer_configure", "NULL info", SEDX_ERROR_INVALID_ARGUMENT, "NULL argument",
           sedx_transfer_configure(ctx, NULL));
    /* a refused configuration must leave the context unconfigured; after an unexpected success
     * the next case gets a fresh context */
#define CONFIGURE_BAD(input, expected, log)                                                              \
    do {                                                                                                 \
        if (MIS_RC("sedx_transfer_configure", input, expected, log, sedx_transfer_configure(ctx, &ti)) == \
            SEDX_SUCCESS) {                                                                              \
            mis_context_destroy(ctx);                                                                    \
            ctx = mis_context(0, NULL);                                                                  \
        }                                                                                                \
        memset(&ti, 0, sizeof ti);                                                                       \
    } while (0)
    ti.flags = 0x100;
    CONFIGURE_BAD("unknown flag bits (0x100)", SEDX_ERROR_INVALID_ARGUMENT, "unknown flags");
    ti.flags = 0x80000000u | SEDX_TRANSFER_NO_DIRECT;
    CONFIGURE_BAD("unknown flag bits (0x80000000)", SEDX_ERROR_INVALID_ARGUMENT, "unknown flags");
    ti.flags = SEDX_TRANSFER_FORCE_COMPUTE_COPY | SEDX_TRANSFER_FORCE_COPY_COMMAND;
    CONFIGURE_BAD("FORCE_COMPUTE_COPY with FORCE_COPY_COMMAND", SEDX_ERROR_INVALID_ARGUMENT, "together");
    ti.memcpy_threads = 17;
    CONFIGURE_BAD("memcpy_threads 17 (more than 16)", SEDX_ERROR_INVALID_ARGUMENT, "memcpy_threads");
    ti.memcpy_threads = UINT32_MAX;
    CONFIGURE_BAD("memcpy_threads UINT32_MAX", SEDX_ERROR_INVALID_ARGUMENT, "memcpy_threads");
    ti.staging_size = 4096;
    CONFIGURE_BAD("staging_size 4096 (below 65536)", SEDX_ERROR_INVALID_SIZE, "at least");
    ti.staging_size = 65535;
    CONFIGURE_BAD("staging_size 65535", SEDX_ERROR_INVALID_SIZE, "at least");
    ti.readback_size = 1;
    CONFIGURE_BAD("readback_size 1", SEDX_ERROR_INVALID_SIZE, "at least");
    ti.staging_size = UINT64_MAX;
    CONFIGURE_BAD("staging_size UINT64_MAX", SEDX_ERROR_INVALID_SIZE, "overflows");
    ti.readback_size = (UINT64_C(1) << 63) + 1;
    CONFIGURE_BAD("readback_size past 2^63", SEDX_ERROR_INVALID_SIZE, "overflows");
    ti.staging_size = 131072;
    ti.staging_max = 65536;
    CONFIGURE_BAD("staging_max below staging_size", SEDX_ERROR_INVALID_ARGUMENT, "staging_max");
    ti.staging_max = 1;
    CONFIGURE_BAD("staging_max 1 (below the default staging size)", SEDX_ERROR_INVALID_ARGUMENT, "staging_max");
#undef CONFIGURE_BAD
    /* still unconfigured: a valid configuration is taken; once a transfer went through the rings
     * (NO_DIRECT: every upload is staged) a second one is BUSY */
    ti.staging_size = 65536;
    ti.flags = SEDX_TRANSFER_NO_DIRECT;
    MIS_RC("sedx_transfer_configure", "(valid, after the refused ones)", SEDX_SUCCESS, LOG_NONE,
           sedx_transfer_configure(ctx, &ti));
    mis_roundtrip(ctx, "transfer_configure");
    sedx_transfer_stats st;
    assert_int_equal(sedx_transfer_get_stats(ctx, &st), SEDX_SUCCESS);
    MIS_TRUE("sedx_transfer_configure", "(valid, after the refused ones)", "the valid configuration is the one in use",
             st.staging_size == 65536 && st.staged_bytes > 0);
    ti.staging_size = 131072;
    MIS_RC("sedx_transfer_configure", "after the first staged transfer", SEDX_ERROR_BUSY, "already started",
           sedx_transfer_configure(ctx, &ti));
    assert_int_equal(sedx_transfer_get_stats(ctx, &st), SEDX_SUCCESS);
    MIS_TRUE("sedx_transfer_configure", "after the first staged transfer", "the configuration in use is unchanged",
             st.staging_size == 65536);
    sedx_context *c2 = mis_context(0, NULL);
    sedx_transfer_stats out;
    memset(&out, 0x5E, sizeof out);
    MIS_RC("sedx_transfer_get_stats", "NULL ctx", SEDX_ERROR_INVALID_ARGUMENT, "NULL argument",
           sedx_transfer_get_stats(NULL, &out));
    MIS_RC("sedx_transfer_get_stats", "NULL out", SEDX_ERROR_INVALID_ARGUMENT, "NULL argument",
           sedx_transfer_get_stats(c2, NULL));
    MIS_TRUE("sedx_transfer_get_stats", "every refused call", "*out not written", mis_all(&out, 0x5E, sizeof out));
    mis_context_destroy(c2);
    mis_context_destroy(ctx);
    mis_end("transfer.h (configure)");
}

/* ------------------------------------------------------------------------------------------
 * Uploads
 * ---------------------------------------------------------------------------------------- */
enum { N = 4096 };

static void test_upload(void **state)
{
    (void)state;
    mis_begin();
    sedx_context *ctx = mis_context(0, NULL);
    sedx_context *other = mis_context(0, NULL);
    mis_bad_set s;
    bad_set_init(ctx, &s);
    sedx_buffer gpu, cpu, foreign;
    assert_int_equal(sedx_buffer_create(ctx, N, SEDX_BUFFER_USAGE_STORAGE, SEDX_MEMORY_GPU, "misuse gpu", &gpu),
                     SEDX_SUCCESS);
    assert_int_equal(sedx_buffer_create(ctx, N, SEDX_BUFFER_USAGE_STORAGE, SEDX_MEMORY_CPU, "misuse cpu", &cpu),
                     SEDX_SUCCESS);
    assert_int_equal(sedx_buffer_create(other, N, SEDX_BUFFER_USAGE_STORAGE, SEDX_MEMORY_GPU, "misuse foreign", &foreign),
                     SEDX_SUCCESS);
    static uint8_t ref_gpu[N], ref_cpu[N], ref_foreign[N], data[N];
    tu_fill_random(ref_gpu, N, &g_mis.rng);
    tu_fill_random(ref_cpu, N, &g_mis.rng);
    tu_fill_random(ref_foreign, N, &g_mis.rng);
    memset(data, 0x77, N);
    assert_int_equal(sedx_upload(ctx, &gpu, 0, N, ref_gpu), SEDX_SUCCESS);
    assert_int_equal(sedx_upload(ctx, &cpu, 0, N, ref_cpu), SEDX_SUCCESS);
    assert_int_equal(sedx_upload(other, &foreign, 0, N, ref_foreign), SEDX_SUCCESS);
    assert_int_equal(sedx_upload_flush(ctx), SEDX_SUCCESS);
    assert_int_equal(sedx_upload_flush(other), SEDX_SUCCESS);

    MIS_RC("sedx_upload", "NULL ctx", SEDX_ERROR_INVALID_ARGUMENT, "ctx is NULL", sedx_upload(NULL, &gpu, 0, 16, data));
    for (int k = 0; k < MIS_BAD_COUNT; ++k)
        MIS_RC("sedx_upload", mis_bad_name[k], SEDX_ERROR_INVALID_HANDLE, mis_bad_log[k],
               sedx_upload(ctx, mis_bad_ptr(&s, k), 0, 16, data));
    MIS_RC("sedx_upload", "another context's buffer", SEDX_ERROR_WRONG_CONTEXT, "belongs to another context",
           sedx_upload(ctx, &foreign, 0, 16, data));
    MIS_RC("sedx_upload", "NULL data with size > 0", SEDX_ERROR_INVALID_ARGUMENT, "data is NULL",
           sedx_upload(ctx, &gpu, 0, 16, NULL));
    MIS_RC("sedx_upload", "past the end (4090 + 16 > 4096)", SEDX_ERROR_OUT_OF_BOUNDS, "is outside its 4096 bytes",
           sedx_upload(ctx, &gpu, 4090, 16, data));
    MIS_RC("sedx_upload", "offset + size wraps (offset UINT64_MAX - 7)", SEDX_ERROR_OUT_OF_BOUNDS,
           "is outside its 4096 bytes", sedx_upload(ctx, &gpu, UINT64_MAX - 7, 16, data));
    MIS_RC("sedx_upload", "size past 2^63", SEDX_ERROR_OUT_OF_BOUNDS, "is outside its 4096 bytes",
           sedx_upload(ctx, &cpu, 0, (UINT64_C(1) << 63) + 1, data));
    MIS_RC("sedx_upload", "size 0 past the end", SEDX_ERROR_OUT_OF_BOUNDS, "is outside its 4096 bytes",
           sedx_upload(ctx, &gpu, N + 1, 0, data));
    MIS_RC("sedx_upload", "size 0 with NULL data (no-op)", SEDX_SUCCESS, LOG_NONE, sedx_upload(ctx, &gpu, 16, 0, NULL));
    MIS_RC("sedx_upload_ex", "unknown flag bits (0x2)", SEDX_ERROR_INVALID_ARGUMENT, "unknown flags",
           sedx_upload_ex(ctx, &gpu, 0, 16, data, 0x2));
    MIS_RC("sedx_upload_ex", "unknown flag bits (0x80000000)", SEDX_ERROR_INVALID_ARGUMENT, "unknown flags",
           sedx_upload_ex(ctx, &cpu, 0, 16, data, SEDX_UPLOAD_NO_WAIT | 0x80000000u));
    MIS_RC("sedx_upload_ex", "NULL ctx", SEDX_ERROR_INVALID_ARGUMENT, "ctx is NULL",
           sedx_upload_ex(NULL, &gpu, 0, 16, data, 0));
    uint8_t *cpu_map = cpu.data;
    MIS_RC("sedx_upload", "data overlaps the destination range in its own mapping", SEDX_ERROR_INVALID_ARGUMENT,
           "overlap", sedx_upload(ctx, &cpu, 0, 64, cpu_map + 16));
    MIS_RC("sedx_upload", "data is the destination range itself", SEDX_ERROR_INVALID_ARGUMENT, "overlap",
           sedx_upload(ctx, &cpu, 64, 64, cpu_map + 64));
    MIS_TRUE("sedx_upload", "every refused upload", "no buffer's bytes changed",
             bytes_are(ctx, &gpu, 0, ref_gpu, N) && bytes_are(ctx, &cpu, 0, ref_cpu, N) &&
                 bytes_are(other, &foreign, 0, ref_foreign, N));
    MIS_TRUE("sedx_upload", mis_bad_name[MIS_BAD_STALE], "the live reference's buffer is intact", keeper_intact(ctx, &s));

    /* every sedx buffer is a transfer destination: no INVALID_USAGE */
    sedx_buffer uni;
    assert_int_equal(sedx_buffer_create(ctx, 256, SEDX_BUFFER_USAGE_UNIFORM, SEDX_MEMORY_GPU, "misuse uniform", &uni),
                     SEDX_SUCCESS);
    MIS_RC("sedx_upload", "(valid) GPU buffer created without TRANSFER_DST", SEDX_SUCCESS, LOG_NONE,
           sedx_upload(ctx, &uni, 0, 256, data));
    MIS_TRUE("sedx_upload", "(valid) GPU buffer created without TRANSFER_DST", "the bytes arrived",
             bytes_are(ctx, &uni, 0, data, 256));
    sedx_buffer_release(&uni);

    /* batches: all or nothing */
    uint8_t d2[64];
    memset(d2, 0x99, sizeof d2);
    sedx_upload_region rg[3] = {{&gpu, 0, 64, data}, {&cpu, 0, 64, d2}, {&gpu, 128, 64, data}};
    MIS_RC("sedx_upload_batch", "NULL ctx", SEDX_ERROR_INVALID_ARGUMENT, "NULL argument", sedx_upload_batch(NULL, rg, 3));
    MIS_RC("sedx_upload_batch", "NULL regions with count > 0", SEDX_ERROR_INVALID_ARGUMENT, "NULL argument",
           sedx_upload_batch(ctx, NULL, 3));
    MIS_RC("sedx_upload_batch", "count 0 (no-op)", SEDX_SUCCESS, LOG_NONE, sedx_upload_batch(ctx, NULL, 0));
#define BATCH_BAD(input, expected, log, third)                                                 \
    do {                                                                                       \
        rg[2] = third;                                                                         \
        MIS_RC("sedx_upload_batch", input, expected, log, sedx_upload_batch(ctx, rg, 3));      \
        MIS_TRUE("sedx_upload_batch", input, "the valid regions before it wrote nothing",      \
                 bytes_are(ctx, &gpu, 0, ref_gpu, N) && bytes_are(ctx, &cpu, 0, ref_cpu, N));  \
    } while (0)
    BATCH_BAD("third region past the end", SEDX_ERROR_OUT_OF_BOUNDS, "is outside its 4096 bytes",
              ((sedx_upload_region){&gpu, N - 8, 64, data}));
    BATCH_BAD("third region wraps (offset UINT64_MAX)", SEDX_ERROR_OUT_OF_BOUNDS, "is outside its 4096 bytes",
              ((sedx_upload_region){&gpu, UINT64_MAX, 2, data}));
    BATCH_BAD("third region's buffer released", SEDX_ERROR_INVALID_HANDLE, "invalid handle",
              ((sedx_upload_region){&s.released, 0, 64, data}));
    BATCH_BAD("third region's buffer a stale copy", SEDX_ERROR_INVALID_HANDLE, "invalid handle",
              ((sedx_upload_region){&s.stale, 0, 64, data}));
    BATCH_BAD("third region's dst NULL", SEDX_ERROR_INVALID_HANDLE, "buffer pointer is NULL",
              ((sedx_upload_region){NULL, 0, 64, data}));
    BATCH_BAD("third region's buffer of another context", SEDX_ERROR_WRONG_CONTEXT, "belongs to another context",
              ((sedx_upload_region){&foreign, 0, 64, data}));
    BATCH_BAD("third region's data NULL", SEDX_ERROR_INVALID_ARGUMENT, "data is NULL",
              ((sedx_upload_region){&gpu, 0, 64, NULL}));
    BATCH_BAD("third region overlaps its buffer's mapping", SEDX_ERROR_INVALID_ARGUMENT, "overlap",
              ((sedx_upload_region){&cpu, 256, 64, cpu_map + 300}));
#undef BATCH_BAD
    /* the batch skips the handle lookup for a region naming the same handle as the one before it:
     * a stale copy right after its live keeper (same resource, another handle) must still be refused */
    {
        uint8_t k64[64];
        memset(k64, 0x42, sizeof k64);
        sedx_upload_region kr[2] = {{&s.keeper, 0, 64, k64}, {&s.stale, 64, 64, k64}};
        MIS_RC("sedx_upload_batch", "second region a stale copy of the first region's live buffer",
               SEDX_ERROR_INVALID_HANDLE, "invalid handle", sedx_upload_batch(ctx, kr, 2));
        MIS_TRUE("sedx_upload_batch", "second region a stale copy of the first region's live buffer",
                 "the keeper's bytes are intact", keeper_intact(ctx, &s));
    }
    MIS_TRUE("sedx_upload_batch", "another context's buffer in a refused batch", "its bytes are intact",
             bytes_are(other, &foreign, 0, ref_foreign, N));

    sedx_ticket tk;
    memset(&tk, 0x5E, sizeof tk);
    MIS_RC("sedx_upload_submit", "NULL ctx", SEDX_ERROR_INVALID_ARGUMENT, "ctx is NULL", sedx_upload_submit(NULL, &tk));
    MIS_TRUE("sedx_upload_submit", "NULL ctx", "*out_ticket not written", mis_all(&tk, 0x5E, sizeof tk));
    MIS_RC("sedx_upload_flush", "NULL ctx", SEDX_ERROR_INVALID_ARGUMENT, "ctx is NULL", sedx_upload_flush(NULL));
    MIS_RC("sedx_upload_submit", "empty batch (not an error)", SEDX_SUCCESS, LOG_NONE, sedx_upload_submit(ctx, NULL));

    sedx_buffer out;
    memset(&out, 0x5E, sizeof out);
#define CWD_BAD(input, expected, log, call)                                                      \
    do {                                                                                         \
        MIS_RC("sedx_buffer_create_with_data", input, expected, log, call);                      \
        if (!MIS_TRUE("sedx_buffer_create_with_data", input, "*out not written",                 \
                      mis_all(&out, 0x5E, sizeof out))) {                                        \
            sedx_buffer_release(&out);                                                           \
            memset(&out, 0x5E, sizeof out);                                                      \
        }                                                                                        \
    } while (0)
    CWD_BAD("NULL data", SEDX_ERROR_INVALID_ARGUMENT, "data is NULL",
            sedx_buffer_create_with_data(ctx, 64, SEDX_BUFFER_USAGE_VERTEX, 0, "misuse cwd", NULL, &out));
    CWD_BAD("NULL ctx", SEDX_ERROR_INVALID_ARGUMENT, "ctx is NULL",
            sedx_buffer_create_with_data(NULL, 64, SEDX_BUFFER_USAGE_VERTEX, 0, "misuse cwd", data, &out));
    CWD_BAD("size 0", SEDX_ERROR_INVALID_SIZE, "size 0",
            sedx_buffer_create_with_data(ctx, 0, SEDX_BUFFER_USAGE_VERTEX, 0, "misuse cwd", data, &out));
    CWD_BAD("usage 0", SEDX_ERROR_INVALID_USAGE, "no bits",
            sedx_buffer_create_with_data(ctx, 64, 0, 0, "misuse cwd", data, &out));
    CWD_BAD("memory 0x10", SEDX_ERROR_INVALID_ARGUMENT, "is not GPU",
            sedx_buffer_create_with_data(ctx, 64, SEDX_BUFFER_USAGE_VERTEX, 0x10, "misuse cwd", data, &out));
#undef CWD_BAD

    sedx_buffer_release(&gpu);
    sedx_buffer_release(&cpu);
    sedx_buffer_release(&foreign);
    mis_bad_set_finish(&s);
    mis_roundtrip(ctx, "uploads");
    mis_roundtrip(other, "uploads (other context)");
    mis_context_destroy(other);
    mis_context_destroy(ctx);
    mis_end("transfer.h (uploads)");
}

/* Kept apart: the current tree crashes on it (a NULL out written through). */
static void test_create_with_data_null_out(void **state)
{
    (void)state;
    mis_begin();
    sedx_context *ctx = mis_context(0, NULL);
    uint8_t data[64] = {1};
    const uint32_t live = sedx_buffer_list(ctx, NULL, NULL);
    MIS_RC("sedx_buffer_create_with_data", "NULL out", SEDX_ERROR_INVALID_ARGUMENT, "out is NULL",
           sedx_buffer_create_with_data(ctx, 64, SEDX_BUFFER_USAGE_VERTEX, 0, "misuse cwd", data, NULL));
    MIS_TRUE("sedx_buffer_create_with_data", "NULL out", "no buffer left behind", sedx_buffer_list(ctx, NULL, NULL) == live);
    mis_roundtrip(ctx, "create_with_data NULL out");
    mis_context_destroy(ctx);
    mis_end("transfer.h (create_with_data NULL out)");
}

/* ------------------------------------------------------------------------------------------
 * Downloads and device copies
 * ---------------------------------------------------------------------------------------- */
static void test_download_and_copy(void **state)
{
    (void)state;
    mis_begin();
    sedx_context *ctx = mis_context(0, NULL);
    sedx_context *other = mis_context(0, NULL);
    mis_bad_set s;
    bad_set_init(ctx, &s);
    sedx_buffer gpu, cpu, foreign;
    assert_int_equal(sedx_buffer_create(ctx, N, SEDX_BUFFER_USAGE_STORAGE, SEDX_MEMORY_GPU, "misuse gpu", &gpu),
                     SEDX_SUCCESS);
    assert_int_equal(sedx_buffer_create(ctx, N, SEDX_BUFFER_USAGE_STORAGE, SEDX_MEMORY_CPU, "misuse cpu", &cpu),
                     SEDX_SUCCESS);
    assert_int_equal(sedx_buffer_create(other, N, SEDX_BUFFER_USAGE_STORAGE, SEDX_MEMORY_GPU, "misuse foreign", &foreign),
                     SEDX_SUCCESS);
    static uint8_t ref_gpu[N], ref_cpu[N], dst[N];
    tu_fill_random(ref_gpu, N, &g_mis.rng);
    tu_fill_random(ref_cpu, N, &g_mis.rng);
    assert_int_equal(sedx_upload(ctx, &gpu, 0, N, ref_gpu), SEDX_SUCCESS);
    assert_int_equal(sedx_upload(ctx, &cpu, 0, N, ref_cpu), SEDX_SUCCESS);
    assert_int_equal(sedx_upload_flush(ctx), SEDX_SUCCESS);

    memset(dst, 0x5E, N);
    MIS_RC("sedx_download", "NULL ctx", SEDX_ERROR_INVALID_ARGUMENT, "NULL argument", sedx_download(NULL, &gpu, 0, 16, dst));
    for (int k = 0; k < MIS_BAD_COUNT; ++k)
        MIS_RC("sedx_download", mis_bad_name[k], SEDX_ERROR_INVALID_HANDLE, mis_bad_log[k],
               sedx_download(ctx, mis_bad_ptr(&s, k), 0, 16, dst));
    MIS_RC("sedx_download", "another context's buffer", SEDX_ERROR_WRONG_CONTEXT, "belongs to another context",
           sedx_download(ctx, &foreign, 0, 16, dst));
    MIS_RC("sedx_download", "NULL dst with size > 0", SEDX_ERROR_INVALID_ARGUMENT, "dst is NULL",
           sedx_download(ctx, &gpu, 0, 16, NULL));
    MIS_RC("sedx_download", "past the end", SEDX_ERROR_OUT_OF_BOUNDS, "is outside its 4096 bytes",
           sedx_download(ctx, &gpu, N - 1, 2, dst));
    MIS_RC("sedx_download", "offset + size wraps", SEDX_ERROR_OUT_OF_BOUNDS, "is outside its 4096 bytes",
           sedx_download(ctx, &gpu, 8, UINT64_MAX - 4, dst));
    MIS_RC("sedx_download", "size 0 (no-op)", SEDX_SUCCESS, LOG_NONE, sedx_download(ctx, &gpu, 0, 0, NULL));
    MIS_TRUE("sedx_download", "every refused download", "dst not written", mis_all(dst, 0x5E, N));
    uint8_t *cpu_map = cpu.data;
    MIS_RC("sedx_download", "dst overlaps the source range in its own mapping", SEDX_ERROR_INVALID_ARGUMENT, "overlap",
           sedx_download(ctx, &cpu, 0, 64, cpu_map + 32));
    sedx_download_region dr[2] = {{&gpu, 0, 64, dst}, {&gpu, 0, 64, dst + 64}};
    MIS_RC("sedx_download_batch", "NULL ctx", SEDX_ERROR_INVALID_ARGUMENT, "NULL argument",
           sedx_download_batch(NULL, dr, 2));
    MIS_RC("sedx_download_batch", "NULL regions with count > 0", SEDX_ERROR_INVALID_ARGUMENT, "NULL argument",
           sedx_download_batch(ctx, NULL, 2));
    MIS_RC("sedx_download_batch", "count 0 (no-op)", SEDX_SUCCESS, LOG_NONE, sedx_download_batch(ctx, NULL, 0));
    dr[1] = (sedx_download_region){&gpu, N - 8, 64, dst + 64};
    MIS_RC("sedx_download_batch", "second region past the end", SEDX_ERROR_OUT_OF_BOUNDS, "is outside its 4096 bytes",
           sedx_download_batch(ctx, dr, 2));
    dr[1] = (sedx_download_region){&cpu, 128, 64, cpu_map + 100};
    MIS_RC("sedx_download_batch", "second region overlaps its buffer's mapping", SEDX_ERROR_INVALID_ARGUMENT, "overlap",
           sedx_download_batch(ctx, dr, 2));
    dr[1] = (sedx_download_region){&foreign, 0, 64, dst + 64};
    MIS_RC("sedx_download_batch", "second region's buffer of another context", SEDX_ERROR_WRONG_CONTEXT,
           "belongs to another context", sedx_download_batch(ctx, dr, 2));
    dr[1] = (sedx_download_region){&s.stale, 0, 64, dst + 64};
    MIS_RC("sedx_download_batch", "second region's buffer a stale copy", SEDX_ERROR_INVALID_HANDLE, "invalid handle",
           sedx_download_batch(ctx, dr, 2));
    MIS_TRUE("sedx_download_batch", "every refused batch", "no dst written (the first region's neither)",
             mis_all(dst, 0x5E, N));
    MIS_TRUE("sedx_download", "overlapping dst", "the buffer's bytes are intact", memcmp(cpu_map, ref_cpu, N) == 0);

    /* sedx_copy */
    sedx_ticket tk;
    memset(&tk, 0x5E, sizeof tk);
    MIS_RC("sedx_copy", "NULL ctx", SEDX_ERROR_INVALID_ARGUMENT, "ctx is NULL", sedx_gpu_copy(NULL, &gpu, 0, &cpu, 0, 16, &tk));
    static const char *const as_src[MIS_BAD_COUNT] = {"src: NULL buffer pointer", "src: zeroed (empty) buffer",
                                                  "src: released buffer", "src: stale copy", "src: garbage buffer"};
    static const char *const as_dst[MIS_BAD_COUNT] = {"dst: NULL buffer pointer", "dst: zeroed (empty) buffer",
                                                  "dst: released buffer", "dst: stale copy", "dst: garbage buffer"};
    for (int k = 0; k < MIS_BAD_COUNT; ++k) {
        MIS_RC("sedx_copy", as_src[k], SEDX_ERROR_INVALID_HANDLE, mis_bad_log[k],
               sedx_gpu_copy(ctx, mis_bad_ptr(&s, k), 0, &cpu, 0, 16, &tk));
        MIS_RC("sedx_copy", as_dst[k], SEDX_ERROR_INVALID_HANDLE, mis_bad_log[k],
               sedx_gpu_copy(ctx, &gpu, 0, mis_bad_ptr(&s, k), 0, 16, &tk));
    }
    MIS_RC("sedx_copy", "source of another context", SEDX_ERROR_WRONG_CONTEXT, "belongs to another context",
           sedx_gpu_copy(ctx, &foreign, 0, &cpu, 0, 16, &tk));
    MIS_RC("sedx_copy", "destination of another context", SEDX_ERROR_WRONG_CONTEXT, "belongs to another context",
           sedx_gpu_copy(ctx, &gpu, 0, &foreign, 0, 16, &tk));
    MIS_RC("sedx_copy", "source range past the end", SEDX_ERROR_OUT_OF_BOUNDS, "is outside its 4096 bytes",
           sedx_gpu_copy(ctx, &gpu, N - 8, &cpu, 0, 16, &tk));
    MIS_RC("sedx_copy", "destination range past the end", SEDX_ERROR_OUT_OF_BOUNDS, "is outside its 4096 bytes",
           sedx_gpu_copy(ctx, &gpu, 0, &cpu, N, 1, &tk));
    MIS_RC("sedx_copy", "offset + size wraps", SEDX_ERROR_OUT_OF_BOUNDS, "is outside its 4096 bytes",
           sedx_gpu_copy(ctx, &gpu, UINT64_MAX - 3, &cpu, 0, 8, &tk));
    MIS_RC("sedx_copy", "overlapping ranges in one buffer", SEDX_ERROR_INVALID_ARGUMENT, "overlap",
           sedx_gpu_copy(ctx, &gpu, 0, &gpu, 32, 64, &tk));
    MIS_TRUE("sedx_copy", "every refused copy", "*out_ticket not written", mis_all(&tk, 0x5E, sizeof tk));
    MIS_RC("sedx_copy", "size 0 (no-op)", SEDX_SUCCESS, LOG_NONE, sedx_gpu_copy(ctx, &gpu, 0, &cpu, 0, 0, &tk));
    MIS_TRUE("sedx_copy", "size 0 (no-op)", "a ticket with nothing to wait for", tk.value == 0);
    MIS_TRUE("sedx_copy", "every refused copy", "no buffer's bytes changed",
             bytes_are(ctx, &gpu, 0, ref_gpu, N) && bytes_are(ctx, &cpu, 0, ref_cpu, N) && keeper_intact(ctx, &s));

    /* sedx_gpu_copy_batch: a good first region, the bad one second (nothing of either may run) */
    memset(&tk, 0x5E, sizeof tk);
    sedx_copy_region cr[2] = {{&gpu, 0, &cpu, 0, 64}, {&gpu, 64, &cpu, 64, 64}};
    MIS_RC("sedx_gpu_copy_batch", "NULL ctx", SEDX_ERROR_INVALID_ARGUMENT, "ctx is NULL", sedx_gpu_copy_batch(NULL, cr, 2, &tk));
    MIS_RC("sedx_gpu_copy_batch", "regions NULL, count 2", SEDX_ERROR_INVALID_ARGUMENT, "regions is NULL",
           sedx_gpu_copy_batch(ctx, NULL, 2, &tk));
    for (int k = 0; k < MIS_BAD_COUNT; ++k) {
        cr[1] = (sedx_copy_region){mis_bad_ptr(&s, k), 0, &cpu, 64, 16};
        MIS_RC("sedx_gpu_copy_batch", as_src[k], SEDX_ERROR_INVALID_HANDLE, mis_bad_log[k], sedx_gpu_copy_batch(ctx, cr, 2, &tk));
        cr[1] = (sedx_copy_region){&gpu, 64, mis_bad_ptr(&s, k), 64, 16};
        MIS_RC("sedx_gpu_copy_batch", as_dst[k], SEDX_ERROR_INVALID_HANDLE, mis_bad_log[k], sedx_gpu_copy_batch(ctx, cr, 2, &tk));
    }
    cr[1] = (sedx_copy_region){&foreign, 0, &cpu, 64, 16};
    MIS_RC("sedx_gpu_copy_batch", "second region's source of another context", SEDX_ERROR_WRONG_CONTEXT,
           "belongs to another context", sedx_gpu_copy_batch(ctx, cr, 2, &tk));
    cr[1] = (sedx_copy_region){&gpu, 64, &foreign, 0, 16};
    MIS_RC("sedx_gpu_copy_batch", "second region's destination of another context", SEDX_ERROR_WRONG_CONTEXT,
           "belongs to another context", sedx_gpu_copy_batch(ctx, cr, 2, &tk));
    cr[1] = (sedx_copy_region){&gpu, N - 8, &cpu, 64, 16};
    MIS_RC("sedx_gpu_copy_batch", "second region's source range past the end", SEDX_ERROR_OUT_OF_BOUNDS,
           "is outside its 4096 bytes", sedx_gpu_copy_batch(ctx, cr, 2, &tk));
    cr[1] = (sedx_copy_region){&gpu, 64, &cpu, N, 1};
    MIS_RC("sedx_gpu_copy_batch", "second region's destination range past the end", SEDX_ERROR_OUT_OF_BOUNDS,
           "is outside its 4096 bytes", sedx_gpu_copy_batch(ctx, cr, 2, &tk));
    cr[1] = (sedx_copy_region){&gpu, UINT64_MAX - 3, &cpu, 64, 8};
    MIS_RC("sedx_gpu_copy_batch", "second region's offset + size wraps", SEDX_ERROR_OUT_OF_BOUNDS, "region 1 of 2 refused",
           sedx_gpu_copy_batch(ctx, cr, 2, &tk));
    cr[1] = (sedx_copy_region){&gpu, 64, &gpu, 96, 64};
    MIS_RC("sedx_gpu_copy_batch", "second region overlaps itself in one buffer", SEDX_ERROR_INVALID_ARGUMENT, "overlap",
           sedx_gpu_copy_batch(ctx, cr, 2, &tk));
    MIS_TRUE("sedx_gpu_copy_batch", "every refused batch", "*out_ticket not written", mis_all(&tk, 0x5E, sizeof tk));
    MIS_RC("sedx_gpu_copy_batch", "count 0 (no-op)", SEDX_SUCCESS, LOG_NONE, sedx_gpu_copy_batch(ctx, NULL, 0, &tk));
    MIS_TRUE("sedx_gpu_copy_batch", "count 0 (no-op)", "a ticket with nothing to wait for", tk.value == 0);
    cr[0].size = cr[1].size = 0;
    memset(&tk, 0x5E, sizeof tk);
    MIS_RC("sedx_gpu_copy_batch", "every region of size 0 (no-op)", SEDX_SUCCESS, LOG_NONE, sedx_gpu_copy_batch(ctx, cr, 2, &tk));
    MIS_TRUE("sedx_gpu_copy_batch", "every region of size 0 (no-op)", "a ticket with nothing to wait for", tk.value == 0);
    MIS_TRUE("sedx_gpu_copy_batch", "every refused batch", "no buffer's bytes changed (not the good first region's either)",
             bytes_are(ctx, &gpu, 0, ref_gpu, N) && bytes_are(ctx, &cpu, 0, ref_cpu, N) && keeper_intact(ctx, &s));

    sedx_buffer_release(&gpu);
    sedx_buffer_release(&cpu);
    sedx_buffer_release(&foreign);
    mis_bad_set_finish(&s);
    mis_roundtrip(ctx, "downloads and copies");
    mis_context_destroy(other);
    mis_context_destroy(ctx);
    mis_end("transfer.h (downloads, copies)");
}

/* ------------------------------------------------------------------------------------------
 * The seed's raw-handle copies
 * ---------------------------------------------------------------------------------------- */
static void test_raw_copies(void **state)
{
    (void)state;
    mis_begin();
    sedx_context *ctx = mis_context(0, NULL);
    sedx_context *other = mis_context(0, NULL);
    sedx_buffer a, b, dead, foreign;
    assert_int_equal(sedx_buffer_create(ctx, N, SEDX_BUFFER_USAGE_STORAGE, SEDX_MEMORY_GPU, "misuse raw a", &a), SEDX_SUCCESS);
    assert_int_equal(sedx_buffer_create(ctx, N / 2, SEDX_BUFFER_USAGE_STORAGE, SEDX_MEMORY_GPU, "misuse raw b", &b),
                     SEDX_SUCCESS);
    assert_int_equal(sedx_buffer_create(other, N, SEDX_BUFFER_USAGE_STORAGE, SEDX_MEMORY_GPU, "misuse raw foreign",
                                        &foreign), SEDX_SUCCESS);
    assert_int_equal(sedx_buffer_create(ctx, N, SEDX_BUFFER_USAGE_STORAGE, SEDX_MEMORY_GPU, "misuse raw dead", &dead),
                     SEDX_SUCCESS);
    static uint8_t ref_a[N], ref_b[N / 2];
    tu_fill_random(ref_a, N, &g_mis.rng);
    tu_fill_random(ref_b, N / 2, &g_mis.rng);
    assert_int_equal(sedx_upload(ctx, &a, 0, N, ref_a), SEDX_SUCCESS);
    assert_int_equal(sedx_upload(ctx, &b, 0, N / 2, ref_b), SEDX_SUCCESS);
    assert_int_equal(sedx_upload_flush(ctx), SEDX_SUCCESS);
    VkBuffer va = sedx_buffer_vk(&a), vb = sedx_buffer_vk(&b), vforeign = sedx_buffer_vk(&foreign);
    VkBuffer vdead = sedx_buffer_vk(&dead);
    sedx_buffer_release(&dead);
    VkBufferCreateInfo bci = {VK_STRUCTURE_TYPE_BUFFER_CREATE_INFO};
    bci.size = N;
    bci.usage = VK_BUFFER_USAGE_TRANSFER_SRC_BIT | VK_BUFFER_USAGE_TRANSFER_DST_BIT;
    VkBuffer vraw = VK_NULL_HANDLE;
    assert_int_equal(vkCreateBuffer(sedx_context_device(ctx), &bci, NULL, &vraw), VK_SUCCESS);
    VkBuffer vgarbage;
    memset(&vgarbage, 0xAB, sizeof vgarbage);

    MIS_RC("sedx_copy_buffer", "NULL ctx", SEDX_ERROR_INVALID_ARGUMENT, "NULL context or buffer",
           sedx_copy_buffer(NULL, va, vb, 16));
    MIS_RC("sedx_copy_buffer", "VK_NULL_HANDLE src", SEDX_ERROR_INVALID_ARGUMENT, "NULL context or buffer",
           sedx_copy_buffer(ctx, VK_NULL_HANDLE, vb, 16));
    MIS_RC("sedx_copy_buffer", "VK_NULL_HANDLE dst", SEDX_ERROR_INVALID_ARGUMENT, "NULL context or buffer",
           sedx_copy_buffer(ctx, va, VK_NULL_HANDLE, 16));
    MIS_RC("sedx_copy_buffer", "size 0", SEDX_ERROR_INVALID_SIZE, "size 0", sedx_copy_buffer(ctx, va, vb, 0));
    MIS_RC("sedx_copy_buffer", "size past the destination (4096 > 2048)", SEDX_ERROR_OUT_OF_BOUNDS, "outside",
           sedx_copy_buffer(ctx, va, vb, N));
    MIS_RC("sedx_copy_buffer", "size past the source (4097 > 4096)", SEDX_ERROR_OUT_OF_BOUNDS, "outside",
           sedx_copy_buffer(ctx, va, va, N + 1));
    MIS_RC("sedx_copy_buffer", "the same buffer (overlapping ranges)", SEDX_ERROR_INVALID_ARGUMENT, "overlap",
           sedx_copy_buffer(ctx, va, va, 64));
    MIS_RC("sedx_copy_buffer_offsets", "source range past the end", SEDX_ERROR_OUT_OF_BOUNDS, "outside",
           sedx_copy_buffer_offsets(ctx, va, N - 8, vb, 0, 16));
    MIS_RC("sedx_copy_buffer_offsets", "destination range past the end", SEDX_ERROR_OUT_OF_BOUNDS, "outside",
           sedx_copy_buffer_offsets(ctx, va, 0, vb, N / 2 - 8, 16));
    MIS_RC("sedx_copy_buffer_offsets", "src_offset + size wraps", SEDX_ERROR_OUT_OF_BOUNDS, "outside",
           sedx_copy_buffer_offsets(ctx, va, UINT64_MAX - 7, vb, 0, 16));
    MIS_RC("sedx_copy_buffer_offsets", "dst_offset + size wraps", SEDX_ERROR_OUT_OF_BOUNDS, "outside",
           sedx_copy_buffer_offsets(ctx, va, 0, vb, UINT64_MAX, 2));
    MIS_RC("sedx_copy_buffer_offsets", "size past 2^63", SEDX_ERROR_OUT_OF_BOUNDS, "outside",
           sedx_copy_buffer_offsets(ctx, va, 0, vb, 0, (UINT64_C(1) << 63) + 1));
    MIS_RC("sedx_copy_buffer_offsets", "overlapping ranges in one buffer", SEDX_ERROR_INVALID_ARGUMENT, "overlap",
           sedx_copy_buffer_offsets(ctx, va, 0, va, 100, 200));
    MIS_RC("sedx_copy_buffer", "released buffer's VkBuffer", SEDX_ERROR_INVALID_HANDLE, "is not a live buffer",
           sedx_copy_buffer(ctx, vdead, vb, 16));
    MIS_RC("sedx_copy_buffer", "another context's VkBuffer (src)", SEDX_ERROR_INVALID_HANDLE, "is not a live buffer",
           sedx_copy_buffer(ctx, vforeign, vb, 16));
    MIS_RC("sedx_copy_buffer", "another context's VkBuffer (dst)", SEDX_ERROR_INVALID_HANDLE, "is not a live buffer",
           sedx_copy_buffer(ctx, va, vforeign, 16));
    MIS_RC("sedx_copy_buffer", "a VkBuffer sedx did not create", SEDX_ERROR_INVALID_HANDLE, "is not a live buffer",
           sedx_copy_buffer(ctx, vraw, vb, 16));
    MIS_RC("sedx_copy_buffer", "garbage VkBuffer (0xAB..) as src", SEDX_ERROR_INVALID_HANDLE, "is not a live buffer",
           sedx_copy_buffer(ctx, vgarbage, vb, 16));
    MIS_RC("sedx_copy_buffer_offsets", "garbage VkBuffer (0xAB..) as dst", SEDX_ERROR_INVALID_HANDLE,
           "is not a live buffer", sedx_copy_buffer_offsets(ctx, va, 0, vgarbage, 0, 16));
    MIS_TRUE("sedx_copy_buffer*", "every refused copy", "no buffer's bytes changed",
             bytes_are(ctx, &a, 0, ref_a, N) && bytes_are(ctx, &b, 0, ref_b, N / 2));
    /* still works */
    MIS_RC("sedx_copy_buffer_offsets", "(valid, after the misuse)", SEDX_SUCCESS, LOG_NONE,
           sedx_copy_buffer_offsets(ctx, va, 64, vb, 0, 128));
    MIS_TRUE("sedx_copy_buffer_offsets", "(valid, after the misuse)", "the copied bytes arrived",
             bytes_are(ctx, &b, 0, ref_a + 64, 128));
    vkDestroyBuffer(sedx_context_device(ctx), vraw, NULL);
    sedx_buffer_release(&a);
    sedx_buffer_release(&b);
    sedx_buffer_release(&foreign);
    mis_roundtrip(ctx, "raw-handle copies");
    mis_context_destroy(other);
    mis_context_destroy(ctx);
    mis_end("transfer.h (raw-handle copies)");
}

/* ------------------------------------------------------------------------------------------
 * Buffer to image
 * ---------------------------------------------------------------------------------------- */
static void test_image_copies(void **state)
{
    (void)state;
    mis_begin();
    sedx_context *ctx = mis_context(0, NULL);
    sedx_context *other = mis_context(0, NULL);
    /* a 64x64 RGBA8 image with 2 mips and 2 layers */
    VkImageCreateInfo ici = {VK_STRUCTURE_TYPE_IMAGE_CREATE_INFO};
    ici.imageType = VK_IMAGE_TYPE_2D;
    ici.format = VK_FORMAT_R8G8B8A8_UNORM;
    ici.extent = (VkExtent3D){64, 64, 1};
    ici.mipLevels = 2;
    ici.arrayLayers = 2;
    ici.samples = VK_SAMPLE_COUNT_1_BIT;
    ici.tiling = VK_IMAGE_TILING_OPTIMAL;
    ici.usage = VK_IMAGE_USAGE_TRANSFER_DST_BIT | VK_IMAGE_USAGE_SAMPLED_BIT;
    VkImage image;
    sedx_allocation image_mem;
    assert_int_equal(sedx_memory_create_image(ctx, &ici, NULL, &image, &image_mem), SEDX_SUCCESS);
    const uint64_t level0 = 64 * 64 * 4;
    sedx_buffer big, small, foreign;
    assert_int_equal(sedx_staging_buffer_create(ctx, 2 * level0, "misuse texels", &big), SEDX_SUCCESS);
    assert_int_equal(sedx_staging_buffer_create(ctx, 1024, "misuse small", &small), SEDX_SUCCESS);
    assert_int_equal(sedx_staging_buffer_create(other, 2 * level0, "misuse foreign texels", &foreign), SEDX_SUCCESS);
    tu_fill_random(big.data, (size_t)(2 * level0), &g_mis.rng);
    VkBuffer vbig = sedx_buffer_vk(&big), vsmall = sedx_buffer_vk(&small), vforeign = sedx_buffer_vk(&foreign);
    VkBuffer vgarbage;
    memset(&vgarbage, 0xAB, sizeof vgarbage);

    /* the seed's form: whole 2D image, mip 0, layer 0, RGBA8 */
    MIS_RC("sedx_copy_buffer_to_image", "NULL ctx", SEDX_ERROR_INVALID_ARGUMENT, "NULL argument",
           sedx_copy_buffer_to_image(NULL, vbig, image, 64, 64));
    MIS_RC("sedx_copy_buffer_to_image", "VK_NULL_HANDLE buffer", SEDX_ERROR_INVALID_ARGUMENT, "NULL argument",
           sedx_copy_buffer_to_image(ctx, VK_NULL_HANDLE, image, 64, 64));
    MIS_RC("sedx_copy_buffer_to_image", "VK_NULL_HANDLE image", SEDX_ERROR_INVALID_ARGUMENT, "NULL argument",
           sedx_copy_buffer_to_image(ctx, vbig, VK_NULL_HANDLE, 64, 64));
    MIS_RC("sedx_copy_buffer_to_image", "width 0", SEDX_ERROR_INVALID_ARGUMENT, "zero extent",
           sedx_copy_buffer_to_image(ctx, vbig, image, 0, 64));
    MIS_RC("sedx_copy_buffer_to_image", "buffer smaller than width * height * 4", SEDX_ERROR_OUT_OF_BOUNDS,
           "misuse small", sedx_copy_buffer_to_image(ctx, vsmall, image, 64, 64));
    MIS_RC("sedx_copy_buffer_to_image", "another context's buffer", SEDX_ERROR_INVALID_HANDLE, "is not a live buffer",
           sedx_copy_buffer_to_image(ctx, vforeign, image, 64, 64));
    MIS_RC("sedx_copy_buffer_to_image", "garbage VkBuffer (0xAB..)", SEDX_ERROR_INVALID_HANDLE, "is not a live buffer",
           sedx_copy_buffer_to_image(ctx, vgarbage, image, 64, 64));

    sedx_buffer_image_copy base = {0};
    base.image_extent = (VkExtent3D){64, 64, 1};
    base.mip_extent = (VkExtent3D){64, 64, 1};
    base.mip_levels = 2;
    base.array_layers = 2;
    base.current_layout = VK_IMAGE_LAYOUT_UNDEFINED;
    sedx_buffer_image_copy rg;
#define IMG_BAD(input, expected, log, ...)                                                                \
    do {                                                                                                  \
        rg = base;                                                                                        \
        __VA_ARGS__;                                                                                      \
        MIS_RC("sedx_copy_buffer_to_image_ex", input, expected, log,                                      \
               sedx_copy_buffer_to_image_ex(ctx, vbig, image, &rg));                                      \
    } while (0)
    MIS_RC("sedx_copy_buffer_to_image_ex", "NULL region", SEDX_ERROR_INVALID_ARGUMENT, "NULL argument",
           sedx_copy_buffer_to_image_ex(ctx, vbig, image, NULL));
    sedx_buffer_image_copy zeroed = {0};
    MIS_RC("sedx_copy_buffer_to_image_ex", "zeroed region (zero extent)", SEDX_ERROR_INVALID_ARGUMENT, "zero extent",
           sedx_copy_buffer_to_image_ex(ctx, vbig, image, &zeroed));
    rg = base;
    MIS_RC("sedx_copy_buffer_to_image_ex", "another context's buffer", SEDX_ERROR_INVALID_HANDLE, "is not a live buffer",
           sedx_copy_buffer_to_image_ex(ctx, vforeign, image, &rg));
    IMG_BAD("height 0", SEDX_ERROR_INVALID_ARGUMENT, "zero extent", rg.image_extent.height = 0);
    IMG_BAD("region past the mip extent", SEDX_ERROR_OUT_OF_BOUNDS, "outside the 64x64x1 mip level",
            (rg.image_offset.x = 8, rg.current_layout = VK_IMAGE_LAYOUT_SHADER_READ_ONLY_OPTIMAL));
    IMG_BAD("negative image offset", SEDX_ERROR_OUT_OF_BOUNDS, "outside the",
            (rg.image_offset.y = -1, rg.image_extent.height = 8,
             rg.current_layout = VK_IMAGE_LAYOUT_SHADER_READ_ONLY_OPTIMAL));
    IMG_BAD("buffer_row_length below the width", SEDX_ERROR_INVALID_ARGUMENT, "below extent", rg.buffer_row_length = 32);
    IMG_BAD("buffer_image_height below the height", SEDX_ERROR_INVALID_ARGUMENT, "below extent",
            rg.buffer_image_height = 63);
    IMG_BAD("bytes past the buffer's end (row length 256)", SEDX_ERROR_OUT_OF_BOUNDS, "misuse texels",
            (rg.buffer_row_length = 256, rg.buffer_image_height = 128));
    IMG_BAD("buffer_offset near UINT64_MAX", SEDX_ERROR_OUT_OF_BOUNDS, "past 2^64", rg.buffer_offset = UINT64_MAX - 3);
    IMG_BAD("buffer_offset past the buffer's end", SEDX_ERROR_OUT_OF_BOUNDS, "misuse texels",
            rg.buffer_offset = 2 * level0);
    IMG_BAD("buffer_offset not a multiple of the texel size (2)", SEDX_ERROR_INVALID_ALIGNMENT, "not a multiple",
            rg.buffer_offset = 2);
    IMG_BAD("two layers: the bytes of both past the end", SEDX_ERROR_OUT_OF_BOUNDS, "misuse texels",
            (rg.layer_count = 2, rg.buffer_offset = 4));
    IMG_BAD("mip_level 2 of an image with 2 mips", SEDX_ERROR_OUT_OF_BOUNDS, "2 mips", rg.mip_level = 2);
    IMG_BAD("mip_level 1 with mip_levels 0 (= 1)", SEDX_ERROR_OUT_OF_BOUNDS, "1 mips",
            (rg.mip_level = 1, rg.mip_levels = 0, rg.mip_extent = rg.image_extent = (VkExtent3D){32, 32, 1}));
    IMG_BAD("layers 1 + 2 of an image with 2 layers", SEDX_ERROR_OUT_OF_BOUNDS, "2 layers",
            (rg.base_array_layer = 1, rg.layer_count = 2));
    IMG_BAD("base_array_layer UINT32_MAX", SEDX_ERROR_OUT_OF_BOUNDS, "2 layers", rg.base_array_layer = UINT32_MAX);
    IMG_BAD("layer_count UINT32_MAX", SEDX_ERROR_OUT_OF_BOUNDS, "2 layers", rg.layer_count = UINT32_MAX);
    IMG_BAD("UNDEFINED layout on part of the mip level", SEDX_ERROR_INVALID_ARGUMENT, "SEDX_IMAGE_COPY_DISCARD",
            rg.image_extent = (VkExtent3D){32, 32, 1});
    IMG_BAD("format sedx has no block size for (multi-planar)", SEDX_ERROR_INVALID_ARGUMENT, "no texel block size",
            rg.format = VK_FORMAT_G8_B8_R8_3PLANE_420_UNORM);
    IMG_BAD("format outside the enum (123456)", SEDX_ERROR_INVALID_ARGUMENT, "no texel block size",
            rg.format = (VkFormat)123456);
    IMG_BAD("depth aspect of a colour format", SEDX_ERROR_INVALID_ARGUMENT, "no texel block size",
            rg.aspect = VK_IMAGE_ASPECT_DEPTH_BIT);
    IMG_BAD("aspect DEPTH|STENCIL (two aspects)", SEDX_ERROR_INVALID_ARGUMENT, "no texel block size",
            (rg.format = VK_FORMAT_D24_UNORM_S8_UINT, rg.aspect = VK_IMAGE_ASPECT_DEPTH_BIT | VK_IMAGE_ASPECT_STENCIL_BIT));
    IMG_BAD("compressed region not on block boundaries", SEDX_ERROR_INVALID_ARGUMENT, "block boundaries",
            (rg.format = VK_FORMAT_BC1_RGB_UNORM_BLOCK, rg.image_extent = (VkExtent3D){6, 6, 1},
             rg.flags = SEDX_IMAGE_COPY_DISCARD));
    IMG_BAD("unknown flag bits (0x2)", SEDX_ERROR_INVALID_ARGUMENT, "unknown flags", rg.flags = 0x2);
    IMG_BAD("3D depth with two layers", SEDX_ERROR_INVALID_ARGUMENT, "3D images",
            (rg.image_extent.depth = 2, rg.mip_extent.depth = 2, rg.layer_count = 2));
#undef IMG_BAD
    /* still works, and the checks let every valid form through */
    rg = base;
    MIS_RC("sedx_copy_buffer_to_image_ex", "(valid) whole mip 0, layer 0, UNDEFINED", SEDX_SUCCESS, LOG_NONE,
           sedx_copy_buffer_to_image_ex(ctx, vbig, image, &rg));
    rg = base;
    rg.image_extent = (VkExtent3D){32, 32, 1};
    rg.current_layout = VK_IMAGE_LAYOUT_SHADER_READ_ONLY_OPTIMAL;
    MIS_RC("sedx_copy_buffer_to_image_ex", "(valid) part of mip 0 in its current layout", SEDX_SUCCESS, LOG_NONE,
           sedx_copy_buffer_to_image_ex(ctx, vbig, image, &rg));
    rg = base;
    rg.mip_level = 1;
    rg.base_array_layer = 1;
    rg.mip_extent = (VkExtent3D){32, 32, 1};
    rg.image_extent = (VkExtent3D){16, 16, 1};
    rg.flags = SEDX_IMAGE_COPY_DISCARD;
    MIS_RC("sedx_copy_buffer_to_image_ex", "(valid) part of mip 1, layer 1, UNDEFINED with DISCARD", SEDX_SUCCESS,
           LOG_NONE, sedx_copy_buffer_to_image_ex(ctx, vbig, image, &rg));
    rg = base;
    rg.layer_count = 2;
    MIS_RC("sedx_copy_buffer_to_image_ex", "(valid) both layers of mip 0", SEDX_SUCCESS, LOG_NONE,
           sedx_copy_buffer_to_image_ex(ctx, vbig, image, &rg));
    MIS_RC("sedx_copy_buffer_to_image", "(valid, after the misuse)", SEDX_SUCCESS, LOG_NONE,
           sedx_copy_buffer_to_image(ctx, vbig, image, 64, 64));
    assert_int_equal(sedx_context_wait_idle(ctx), SEDX_SUCCESS);
    sedx_memory_destroy_image(ctx, image, image_mem);
    sedx_buffer_release(&big);
    sedx_buffer_release(&small);
    sedx_buffer_release(&foreign);
    mis_roundtrip(ctx, "buffer-to-image copies");
    mis_context_destroy(other);
    mis_context_destroy(ctx);
    mis_end("transfer.h (buffer to image)");
}

/* ------------------------------------------------------------------------------------------
 * The staging ring exhausted (NO_WAIT) and buffers in flight
 * ---------------------------------------------------------------------------------------- */
typedef struct gate_opener {
    sedx_context *ctx;
    VkSemaphore gate;
} gate_opener;

static void *open_later(void *arg)
{
    gate_opener *g = arg;
    struct timespec ts = {0, 100 * 1000 * 1000};
    nanosleep(&ts, NULL);
    VkSemaphoreSignalInfo sig = {VK_STRUCTURE_TYPE_SEMAPHORE_SIGNAL_INFO};
    sig.semaphore = g->gate;
    sig.value = 1;
    vkSignalSemaphore(sedx_context_device(g->ctx), &sig);
    return NULL;
}

static void test_staging_and_flight(void **state)
{
    (void)state;
    mis_begin();
    sedx_context *ctx = mis_context(0, NULL);
    sedx_transfer_info ti = {0};
    ti.staging_size = 65536;
    ti.staging_max = 65536; /* never grows */
    ti.flags = SEDX_TRANSFER_NO_DIRECT;
    assert_int_equal(sedx_transfer_configure(ctx, &ti), SEDX_SUCCESS);
    const uint64_t size = 256u << 10, piece = 4096;
    sedx_buffer b;
    assert_int_equal(sedx_buffer_create(ctx, size, SEDX_BUFFER_USAGE_STORAGE, SEDX_MEMORY_GPU, "misuse ring", &b),
                     SEDX_SUCCESS);
    uint8_t *before = malloc(size), *data = malloc(size), *got = malloc(size);
    tu_fill_random(before, size, &g_mis.rng);
    tu_fill_random(data, size, &g_mis.rng);
    assert_int_equal(sedx_upload(ctx, &b, 0, size, before), SEDX_SUCCESS);
    assert_int_equal(sedx_upload_flush(ctx), SEDX_SUCCESS);
    sedx_ticket blocker;
    VkSemaphore gate = tu_gate(ctx, SEDX_QUEUE_TRANSFER, &blocker); /* nothing completes */
    uint64_t accepted = 0;
    sedx_result r = SEDX_SUCCESS;
    for (uint64_t k = 0; k < 32 && r == SEDX_SUCCESS; ++k) {
        r = sedx_upload_ex(ctx, &b, k * piece, piece, data + k * piece, SEDX_UPLOAD_NO_WAIT);
        if (r == SEDX_SUCCESS) {
            accepted++;
            assert_int_equal(sedx_upload_submit(ctx, NULL), SEDX_SUCCESS);
        }
    }
    sedx_transfer_stats s0, s1;
    assert_int_equal(sedx_transfer_get_stats(ctx, &s0), SEDX_SUCCESS);
    const uint64_t refused_at = size - piece;
    MIS_RC("sedx_upload_ex", "staging ring exhausted with NO_WAIT", SEDX_ERROR_OUT_OF_STAGING, LOG_WARN("ring"),
           sedx_upload_ex(ctx, &b, refused_at, piece, data + refused_at, SEDX_UPLOAD_NO_WAIT));
    assert_int_equal(sedx_transfer_get_stats(ctx, &s1), SEDX_SUCCESS);
    MIS_TRUE("sedx_upload_ex", "staging ring exhausted with NO_WAIT", "counted in ring_full_errors, nothing staged",
             s1.ring_full_errors > s0.ring_full_errors && s1.staged_bytes == s0.staged_bytes);
    tu_open_gate(ctx, gate);
    assert_int_equal(sedx_upload_flush(ctx), SEDX_SUCCESS);
    memset(got, 0, size);
    assert_int_equal(sedx_download(ctx, &b, 0, size, got), SEDX_SUCCESS);
    MIS_TRUE("sedx_upload_ex", "staging ring exhausted with NO_WAIT",
             "the accepted uploads arrived, the refused one wrote nothing",
             accepted > 0 && accepted < 32 && memcmp(got, data, accepted * piece) == 0 &&
                 memcmp(got + accepted * piece, before + accepted * piece, size - accepted * piece) == 0);
    vkDestroySemaphore(sedx_context_device(ctx), gate, NULL);
    sedx_buffer_release(&b);
    mis_roundtrip(ctx, "staging ring exhausted");
    mis_context_destroy(ctx);

    /* buffers in flight (default transfer settings: direct writes allowed): a copy behind a gate
     * uses them */
    ctx = mis_context(0, NULL);
    sedx_buffer src, cpu;
    assert_int_equal(sedx_buffer_create(ctx, piece, SEDX_BUFFER_USAGE_STORAGE, SEDX_MEMORY_GPU, "misuse fsrc", &src),
                     SEDX_SUCCESS);
    assert_int_equal(sedx_buffer_create(ctx, piece, SEDX_BUFFER_USAGE_STORAGE, SEDX_MEMORY_CPU, "misuse fcpu", &cpu),
                     SEDX_SUCCESS);
    assert_int_equal(sedx_upload(ctx, &src, 0, piece, data), SEDX_SUCCESS);
    assert_int_equal(sedx_upload_flush(ctx), SEDX_SUCCESS);
    gate = tu_gate(ctx, SEDX_QUEUE_GRAPHICS, &blocker);
    sedx_ticket copy;
    assert_int_equal(sedx_gpu_copy(ctx, &src, 0, &cpu, 0, piece, &copy), SEDX_SUCCESS);
    /* an upload into the copy's destination is staged behind the copy (not written directly) */
    MIS_RC("sedx_upload", "destination in flight (a copy into it behind a gate)", SEDX_SUCCESS, LOG_NONE,
           sedx_upload(ctx, &cpu, 0, piece, before));
    MIS_RC("sedx_upload_submit", "(valid) behind the gate", SEDX_SUCCESS, LOG_NONE, sedx_upload_submit(ctx, NULL));
    MIS_TRUE("sedx_upload", "destination in flight", "not written while the copy is pending",
             memcmp(cpu.data, before, piece) != 0);
    /* a download of a buffer in flight waits for the GPU (a thread opens the gate) */
    gate_opener go = {ctx, gate};
    pthread_t th;
    assert_int_equal(pthread_create(&th, NULL, open_later, &go), 0);
    memset(got, 0, piece);
    MIS_RC("sedx_download", "source in flight (waits for the gate)", SEDX_SUCCESS, LOG_NONE,
           sedx_download(ctx, &cpu, 0, piece, got));
    pthread_join(th, NULL);
    MIS_TRUE("sedx_download", "source in flight", "the bytes of the last write in submission order (the upload)",
             memcmp(got, before, piece) == 0);
    assert_int_equal(sedx_context_wait_idle(ctx), SEDX_SUCCESS);
    vkDestroySemaphore(sedx_context_device(ctx), gate, NULL);
    sedx_buffer_release(&src);
    sedx_buffer_release(&cpu);
    free(before);
    free(data);
    free(got);
    mis_roundtrip(ctx, "buffers in flight");
    mis_context_destroy(ctx);
    mis_end("transfer.h (staging ring, in flight)");
}

/* ------------------------------------------------------------------------------------------
 * bindless.h
 * ---------------------------------------------------------------------------------------- */
static void test_bindless(void **state)
{
    (void)state;
    mis_begin();
    sedx_context *ctx = mis_context(0, NULL);
    sedx_bindless_layout l;
    memset(&l, 0x5E, sizeof l);
    sedx_bindless_entry e;
    memset(&e, 0x5E, sizeof e);
    MIS_RC("sedx_bindless_entry_get", "tables not started yet", SEDX_ERROR_INVALID_ARGUMENT, "not started",
           sedx_bindless_entry_get(ctx, 0, &e));
    MIS_RC("sedx_bindless_get", "NULL ctx", SEDX_ERROR_INVALID_ARGUMENT, "ctx is NULL", sedx_bindless_get(NULL, &l));
    MIS_RC("sedx_bindless_get", "NULL out", SEDX_ERROR_INVALID_ARGUMENT, "out is NULL", sedx_bindless_get(ctx, NULL));
    MIS_TRUE("sedx_bindless_get", "every refused call", "*out not written", mis_all(&l, 0x5E, sizeof l));
    assert_int_equal(sedx_bindless_get(ctx, &l), SEDX_SUCCESS);
    if (l.table) {
        MIS_RC("sedx_bindless_entry_get", "NULL ctx", SEDX_ERROR_INVALID_ARGUMENT, "ctx is NULL",
               sedx_bindless_entry_get(NULL, 0, &e));
        MIS_RC("sedx_bindless_entry_get", "NULL out", SEDX_ERROR_INVALID_ARGUMENT, "out is NULL",
               sedx_bindless_entry_get(ctx, 0, NULL));
        MIS_RC("sedx_bindless_entry_get", "ID == capacity", SEDX_ERROR_OUT_OF_BOUNDS, ">= capacity",
               sedx_bindless_entry_get(ctx, l.capacity, &e));
        MIS_RC("sedx_bindless_entry_get", "ID SEDX_INVALID_ID (a released buffer's ID)", SEDX_ERROR_OUT_OF_BOUNDS,
               ">= capacity", sedx_bindless_entry_get(ctx, SEDX_INVALID_ID, &e));
        MIS_TRUE("sedx_bindless_entry_get", "every refused call", "*out not written", mis_all(&e, 0x5E, sizeof e));
    } else {
        MIS_SKIP("sedx_bindless_entry_get", "past capacity", "the device has no address table");
    }
    /* a device without buffer device address and descriptor indexing */
    sedx_context *minimal = mis_context(SEDX_CONTEXT_MINIMAL_FEATURES, NULL);
    uint32_t f = sedx_context_features(minimal);
    if (!(f & (SEDX_FEATURE_BUFFER_DEVICE_ADDRESS | SEDX_FEATURE_DESCRIPTOR_INDEXING))) {
        memset(&l, 0x5E, sizeof l);
        MIS_RC("sedx_bindless_get", "device without address table or descriptor indexing",
               SEDX_ERROR_FEATURE_NOT_PRESENT, "neither", sedx_bindless_get(minimal, &l));
        MIS_TRUE("sedx_bindless_get", "device without address table or descriptor indexing", "*out not written",
                 mis_all(&l, 0x5E, sizeof l));
    } else {
        MIS_SKIP("sedx_bindless_get", "device without the features", "MINIMAL_FEATURES kept them");
    }
    mis_roundtrip(minimal, "bindless (minimal features)");
    mis_context_destroy(minimal);
    mis_roundtrip(ctx, "bindless");
    mis_context_destroy(ctx);
    mis_end("bindless.h");
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_configure),
        cmocka_unit_test(test_upload),
        cmocka_unit_test(test_create_with_data_null_out),
        cmocka_unit_test(test_download_and_copy),
        cmocka_unit_test(test_raw_copies),
        cmocka_unit_test(test_image_copies),
        cmocka_unit_test(test_staging_and_flight),
        cmocka_unit_test(test_bindless),
    };
    return mis_main(tests, sizeof tests / sizeof tests[0]);
}
