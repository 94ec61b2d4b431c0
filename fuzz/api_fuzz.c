/* libFuzzer: random sequences over sedx's public buffer and transfer API, the input bytes choosing
 * the operations and their arguments, every readback compared byte by byte with a CPU shadow copy
 * (tests/common/shadow.c, the engine of tests/gpu/sequence*.c). A mismatch, a wrong result code,
 * a crash or a sanitizer report is a finding (abort()).
 *
 * Input: byte 0 picks the context (bit 0: the default transfer settings, or a 64 KiB staging
 * ring with SEDX_TRANSFER_NO_DIRECT: the staged path); the rest are the choices, as few bytes as
 * each needs; the run ends with the input. Both contexts are created once per process (Vulkan
 * validation off, for speed); every input's buffers are released at its end. Sizes stay small
 * (up to 160 KiB: still more than the 64 KiB ring) so an input runs in milliseconds.
 * Needs a Vulkan device (lavapipe is enough). Knobs as in the tests: SEDX_SEQ_TRACE=1 prints
 * each operation (run one input: build-fuzz/fuzz/fuzz_api crash-...), SEDX_SEQ_DISABLE,
 * SEDX_SEQ_IGNORE. */
#include "shadow.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define MAX_OPS 256u

static sedx_context *g_ctx[2];
static bool g_trace;
static uint64_t g_disabled;

/* LeakSanitizer: what the Vulkan driver, loader and layer keep (tests/lsan.supp). */
const char *__lsan_default_suppressions(void);
const char *__lsan_default_suppressions(void)
{
    return "leak:libvulkan_lvp.so\nleak:libLLVM\nleak:libVkLayer_khronos_validation.so\nleak:libvulkan.so\n"
           "leak:libstdc++.so\n";
}

static sedx_context *make_context(bool staged)
{
    sedx_context_info info = {0};
    info.flags = SEDX_CONTEXT_NO_ENV_VALIDATION;
    info.app_name = "sedx-api-fuzz";
    sedx_context *ctx = NULL;
    sedx_result r = sedx_context_create(&info, &ctx);
    if (r != SEDX_SUCCESS) {
        fprintf(stderr, "fuzz_api: sedx_context_create: %s (a Vulkan device is needed)\n", sedx_result_name(r));
        abort();
    }
    if (staged) {
        sedx_transfer_info ti = {0};
        ti.staging_size = 64u << 10;
        ti.staging_max = 64u << 10;
        ti.readback_size = 64u << 10;
        ti.flags = SEDX_TRANSFER_NO_DIRECT;
        if (sedx_transfer_configure(ctx, &ti) != SEDX_SUCCESS) abort();
    }
    return ctx;
}

int LLVMFuzzerInitialize(int *argc, char ***argv);
int LLVMFuzzerInitialize(int *argc, char ***argv)
{
    (void)argc;
    (void)argv;
    shadow_install_logger();
    sedx_set_log_level(SEDX_LOG_ERROR); /* the bad calls' errors are silenced by the logger */
    const char *e = getenv("SEDX_SEQ_TRACE");
    g_trace = e && *e && *e != '0';
    g_disabled = shadow_parse_disabled(getenv("SEDX_SEQ_DISABLE"));
    g_ctx[0] = make_context(false);
    g_ctx[1] = make_context(true);
    return 0;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);
int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    if (size < 2) return 0;
    unsigned which = data[0] & 1u;
    shadow_config cfg = {0};
    cfg.ctx = g_ctx[which];
    cfg.other_ctx = g_ctx[which ^ 1u];
    cfg.mode = which ? "fuzz (64 KiB ring, NO_DIRECT)" : "fuzz (default transfers)";
    cfg.bytes = data + 1;
    cfg.byte_count = size - 1;
    cfg.thread = -1;
    cfg.max_size = 160u << 10;
    cfg.max_live_bytes = 2u << 20;
    cfg.max_buffers = 12;
    cfg.ring_size = which ? 64u << 10 : 16u << 20;
    cfg.abort_on_failure = true;
    cfg.trace = g_trace;
    cfg.check_logs = true;
    cfg.gate = true;
    cfg.disabled_ops = g_disabled;
    cfg.ignore = getenv("SEDX_SEQ_IGNORE");
    shadow_seq *s = shadow_seq_create(&cfg);
    for (uint32_t i = 0; i < MAX_OPS && shadow_seq_step(s); ++i) {
    }
    shadow_seq_finish(s);
    shadow_seq_destroy(s);
    return 0;
}
