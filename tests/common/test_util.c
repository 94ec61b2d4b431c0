#include "test_util.h"

#include <errno.h> /* program_invocation_short_name */
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static pthread_mutex_t g_lock = PTHREAD_MUTEX_INITIALIZER;
static uint32_t g_counts[SEDX_LOG_OFF + 1];
static char g_messages[64][512];
static uint32_t g_message_count;

static void capture_logger(sedx_log_level level, const char *tag, const char *message, const char *file,
                           int line, void *user)
{
    (void)user;
    pthread_mutex_lock(&g_lock);
    if ((unsigned)level <= SEDX_LOG_OFF) g_counts[level]++;
    snprintf(g_messages[g_message_count % 64], sizeof g_messages[0], "[%s] %s", tag ? tag : "", message);
    g_message_count++;
    pthread_mutex_unlock(&g_lock);
    if (level >= SEDX_LOG_WARN)
        fprintf(stderr, "  log %s [%s] %s (%s:%d)\n", sedx_log_level_name(level), tag ? tag : "", message,
                file ? file : "?", line);
}

void tu_log_capture(void)
{
    tu_log_reset();
    sedx_set_logger(capture_logger, NULL);
    sedx_set_log_level(SEDX_LOG_DEBUG);
}

void tu_log_reset(void)
{
    pthread_mutex_lock(&g_lock);
    memset(g_counts, 0, sizeof g_counts);
    g_message_count = 0;
    pthread_mutex_unlock(&g_lock);
}

uint32_t tu_log_count(sedx_log_level level)
{
    pthread_mutex_lock(&g_lock);
    uint32_t n = (unsigned)level <= SEDX_LOG_OFF ? g_counts[level] : 0;
    pthread_mutex_unlock(&g_lock);
    return n;
}

bool tu_log_contains(const char *needle)
{
    bool found = false;
    pthread_mutex_lock(&g_lock);
    uint32_t n = g_message_count < 64 ? g_message_count : 64;
    for (uint32_t i = 0; i < n && !found; ++i) found = strstr(g_messages[i], needle) != NULL;
    pthread_mutex_unlock(&g_lock);
    return found;
}

sedx_context *tu_context_flags(uint32_t flags, const sedx_allocator_info *alloc)
{
    sedx_context_info info = {0};
    info.flags = flags | SEDX_CONTEXT_VALIDATION;
    info.allocator = alloc;
    info.app_name = "sedx-test";
    sedx_context *ctx = NULL;
    sedx_result r = sedx_context_create(&info, &ctx);
    if (r != SEDX_SUCCESS) fprintf(stderr, "sedx_context_create: %s\n", sedx_result_name(r));
    assert_int_equal(r, SEDX_SUCCESS);
    assert_non_null(ctx);
    const char *req = getenv("SEDX_REQUIRE_DEVICE");
    if (req && *req) {
        const char *name = sedx_context_properties(ctx)->deviceName;
        if (!strstr(name, req)) fprintf(stderr, "device '%s' is not the required '%s'\n", name, req);
        assert_non_null(strstr(name, req));
    }
    return ctx;
}

sedx_context *tu_context(bool sync)
{
    return tu_context_flags(sync ? SEDX_CONTEXT_SYNC_VALIDATION : 0, NULL);
}

void tu_context_destroy(sedx_context *ctx)
{
    if (!ctx) return;
    uint32_t errors = sedx_context_validation_error_count(ctx);
    uint32_t warnings = sedx_context_validation_warning_count(ctx);
    sedx_context_destroy(ctx);
    if (errors || warnings) fprintf(stderr, "validation: %u errors, %u warnings\n", errors, warnings);
    assert_int_equal(errors, 0);
    assert_int_equal(warnings, 0);
}

VkSemaphore tu_gate(sedx_context *ctx, sedx_queue queue, sedx_ticket *out_ticket)
{
    VkSemaphoreTypeCreateInfo type = {VK_STRUCTURE_TYPE_SEMAPHORE_TYPE_CREATE_INFO};
    type.semaphoreType = VK_SEMAPHORE_TYPE_TIMELINE;
    VkSemaphoreCreateInfo sci = {VK_STRUCTURE_TYPE_SEMAPHORE_CREATE_INFO};
    sci.pNext = &type;
    VkSemaphore gate = VK_NULL_HANDLE;
    assert_int_equal(vkCreateSemaphore(sedx_context_device(ctx), &sci, NULL, &gate), VK_SUCCESS);
    sedx_cmd cmd;
    assert_int_equal(sedx_cmd_begin(ctx, queue, &cmd), SEDX_SUCCESS);
    uint64_t one = 1;
    VkPipelineStageFlags stage = VK_PIPELINE_STAGE_ALL_COMMANDS_BIT;
    sedx_submit_info si = {1, &gate, &one, &stage};
    assert_int_equal(sedx_cmd_submit(ctx, &cmd, &si, out_ticket), SEDX_SUCCESS);
    return gate;
}

void tu_open_gate(sedx_context *ctx, VkSemaphore gate)
{
    VkSemaphoreSignalInfo sig = {VK_STRUCTURE_TYPE_SEMAPHORE_SIGNAL_INFO};
    sig.semaphore = gate;
    sig.value = 1;
    assert_int_equal(vkSignalSemaphore(sedx_context_device(ctx), &sig), VK_SUCCESS);
}

uint64_t tu_seed(void)
{
    const char *e = getenv("SEDX_TEST_SEED");
    uint64_t s = e ? strtoull(e, NULL, 0) : 0x5EED5EED12345678ull;
    return s ? s : 1;
}

uint64_t tu_rand(uint64_t *state)
{
    uint64_t x = *state;
    x ^= x >> 12;
    x ^= x << 25;
    x ^= x >> 27;
    *state = x;
    return x * 0x2545F4914F6CDD1Dull;
}

void tu_fill_random(void *dst, size_t size, uint64_t *state)
{
    unsigned char *p = dst;
    while (size >= 8) {
        uint64_t v = tu_rand(state);
        memcpy(p, &v, 8);
        p += 8;
        size -= 8;
    }
    if (size) {
        uint64_t v = tu_rand(state);
        memcpy(p, &v, size);
    }
}

bool tu_long_mode(void)
{
    const char *e = getenv("SEDX_TEST_LONG");
    return e && *e && *e != '0';
}

static char g_temp_dir[96];

int tu_temp_dir_setup(void **state)
{
    (void)state;
    snprintf(g_temp_dir, sizeof g_temp_dir, "/tmp/sedx-%.40s-XXXXXX", program_invocation_short_name);
    return mkdtemp(g_temp_dir) ? 0 : -1;
}

int tu_temp_dir_teardown(void **state)
{
    (void)state;
    char cmd[160];
    snprintf(cmd, sizeof cmd, "rm -rf '%s'", g_temp_dir);
    return system(cmd) == 0 ? 0 : -1;
}

const char *tu_temp_dir(void) { return g_temp_dir; }

void tu_cmd_fill(const sedx_cmd *cmd, const sedx_buffer *buf, uint32_t word)
{
    VkMemoryBarrier mb = {VK_STRUCTURE_TYPE_MEMORY_BARRIER};
    mb.srcAccessMask = VK_ACCESS_MEMORY_READ_BIT | VK_ACCESS_MEMORY_WRITE_BIT;
    mb.dstAccessMask = VK_ACCESS_TRANSFER_WRITE_BIT;
    vkCmdPipelineBarrier(cmd->cmd, VK_PIPELINE_STAGE_ALL_COMMANDS_BIT, VK_PIPELINE_STAGE_TRANSFER_BIT, 0, 1, &mb, 0,
                         NULL, 0, NULL);
    vkCmdFillBuffer(cmd->cmd, sedx_buffer_vk(buf), 0, buf->size, word);
    mb.srcAccessMask = VK_ACCESS_TRANSFER_WRITE_BIT;
    mb.dstAccessMask = VK_ACCESS_TRANSFER_READ_BIT | VK_ACCESS_TRANSFER_WRITE_BIT;
    vkCmdPipelineBarrier(cmd->cmd, VK_PIPELINE_STAGE_TRANSFER_BIT, VK_PIPELINE_STAGE_TRANSFER_BIT, 0, 1, &mb, 0, NULL, 0,
                         NULL);
}
