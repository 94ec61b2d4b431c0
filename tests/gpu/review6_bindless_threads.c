/* Review 6: bindless IDs and table entries while threads create, share, use and release
 * buffers, and the GPU reads the table.
 *
 * Four workers (fixed seeds) loop: create a buffer (GPU or CPU memory, random size) and check
 * at once that its table entry is its own address and size and that its ID is not one whose
 * previous buffer the GPU may still use (a log of (ID, ticket) of every buffer released behind
 * a device copy: the ticket of the last such buffer with that ID must be complete). Then
 * either a device copy of it into the worker's poisoned CPU buffer, logged and released at once
 * (after the ticket the bytes are checked against the worker's shadow), or it goes into a
 * shared pool from which workers take each other's buffers: retain, check the entry, release
 * the retained and the pool's reference in either order (the last release runs on a thread
 * that did not create it). Meanwhile the main thread holds the queue behind a gate for 2 ms at a
 * time (so sources are released while their copies wait) and copies the whole table on the GPU (its
 * own command buffer, vkCmdCopyBuffer) into a CPU buffer, again and again, and checks that the
 * entries of the anchor buffers it holds throughout read the same on the GPU as on the host.
 * At the end every released ID is {0, 0}. Runs under ThreadSanitizer (name has 'thread'). */
#include "test_util.h"

#include <pthread.h>
#include <stdatomic.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

enum { THREADS = 4, POOL = 16, ANCHORS = 8, LOG_MAX = 8192, COPY_MAX = 4096 };

static sedx_context *g_ctx;
static sedx_bindless_layout g_layout;
static _Atomic int g_failures;
static _Atomic int g_running;

static pthread_mutex_t g_lock = PTHREAD_MUTEX_INITIALIZER; /* the pool and the log */
static sedx_buffer g_pool[POOL];
typedef struct log_rec { uint32_t id; sedx_ticket ticket; } log_rec;
static log_rec g_log[LOG_MAX];
static uint32_t g_log_n;

#define CHECK(cond, ...)                       \
    do {                                       \
        if (!(cond)) {                         \
            print_error(__VA_ARGS__);          \
            atomic_fetch_add(&g_failures, 1);  \
        }                                      \
    } while (0)

static void check_entry(const sedx_buffer *b, const char *what)
{
    sedx_bindless_entry e;
    uint32_t id = sedx_buffer_id(b);
    sedx_result r = sedx_bindless_entry_get(g_ctx, id, &e);
    CHECK(r == SEDX_SUCCESS && e.address == sedx_buffer_address(b) && e.size == b->size,
          "%s: ID %u: entry {%llx, %llu}, buffer {%llx, %llu}\n", what, id, (unsigned long long)e.address,
          (unsigned long long)e.size, (unsigned long long)sedx_buffer_address(b), (unsigned long long)b->size);
}

/* The ID of a new buffer: the last buffer released behind a copy with that ID is past the GPU. */
static void check_id_free(uint32_t id)
{
    pthread_mutex_lock(&g_lock);
    for (uint32_t i = g_log_n; i-- > 0;) {
        if (g_log[i].id != id) continue;
        CHECK(sedx_ticket_poll(g_ctx, g_log[i].ticket) == SEDX_SUCCESS,
              "ID %u handed out while its previous buffer's copy (ticket %llu) has not run\n", id,
              (unsigned long long)g_log[i].ticket.value);
        break;
    }
    pthread_mutex_unlock(&g_lock);
}

static void *worker(void *arg)
{
    uintptr_t w = (uintptr_t)arg;
    uint64_t rng = tu_seed() + w * 104729u;
    int iters = tu_long_mode() ? 1500 : 150;
    sedx_buffer dst;
    if (sedx_buffer_create(g_ctx, COPY_MAX, SEDX_BUFFER_USAGE_STORAGE, SEDX_MEMORY_CPU, "review6 thread dst", &dst) !=
        SEDX_SUCCESS) {
        atomic_fetch_add(&g_failures, 1);
        return NULL;
    }
    uint8_t *shadow = malloc(COPY_MAX);
    for (int i = 0; i < iters; ++i) {
        uint64_t size = 4 * (1 + tu_rand(&rng) % (COPY_MAX / 4));
        sedx_memory_flags mem = (tu_rand(&rng) & 1) ? SEDX_MEMORY_CPU : SEDX_MEMORY_GPU;
        sedx_buffer b;
        if (sedx_buffer_create(g_ctx, size, SEDX_BUFFER_USAGE_STORAGE, mem, "review6 thread", &b) != SEDX_SUCCESS) {
            atomic_fetch_add(&g_failures, 1);
            break;
        }
        check_id_free(sedx_buffer_id(&b));
        check_entry(&b, "new buffer");
        if (tu_rand(&rng) % 3 == 0) {
            /* a device copy, the source released at once */
            tu_fill_random(shadow, size, &rng);
            memset(dst.data, 0xCD, COPY_MAX);
            sedx_result r = mem == SEDX_MEMORY_CPU ? sedx_buffer_write(&b, shadow, size, 0)
                                                   : sedx_upload(g_ctx, &b, 0, size, shadow);
            sedx_ticket t = {0};
            if (r == SEDX_SUCCESS) r = sedx_gpu_copy(g_ctx, &b, 0, &dst, 0, size, &t);
            CHECK(r == SEDX_SUCCESS, "write/copy: %d\n", r);
            pthread_mutex_lock(&g_lock);
            if (g_log_n < LOG_MAX) g_log[g_log_n++] = (log_rec){sedx_buffer_id(&b), t};
            pthread_mutex_unlock(&g_lock);
            sedx_buffer_release(&b);
            if (r == SEDX_SUCCESS) {
                CHECK(sedx_ticket_wait(g_ctx, t, UINT64_MAX) == SEDX_SUCCESS, "ticket wait\n");
                CHECK(memcmp(dst.data, shadow, size) == 0, "worker %u: copy of a released source differs\n", (unsigned)w);
            }
        } else {
            /* shared: put it in the pool, take someone's buffer out */
            uint32_t k = (uint32_t)(tu_rand(&rng) % POOL);
            pthread_mutex_lock(&g_lock);
            sedx_buffer old = g_pool[k];
            g_pool[k] = b;
            pthread_mutex_unlock(&g_lock);
            if (old.resource) {
                check_entry(&old, "pooled buffer");
                sedx_buffer extra = sedx_buffer_retain(&old);
                CHECK(sedx_buffer_id(&extra) == sedx_buffer_id(&old), "retain changed the ID\n");
                if (tu_rand(&rng) & 1) {
                    sedx_buffer_release(&old);
                    check_entry(&extra, "retained buffer");
                    sedx_buffer_release(&extra);
                } else {
                    sedx_buffer_release(&extra);
                    sedx_buffer_release(&old);
                }
            }
        }
    }
    free(shadow);
    sedx_buffer_release(&dst);
    atomic_fetch_sub(&g_running, 1);
    return NULL;
}

/* The table as the GPU reads it, into out (capacity entries, CPU memory). */
static void gpu_table_copy(const sedx_buffer *out, uint32_t count)
{
    sedx_cmd cmd;
    assert_int_equal(sedx_cmd_begin(g_ctx, SEDX_QUEUE_GRAPHICS, &cmd), SEDX_SUCCESS);
    VkBufferCopy region = {0, 0, (VkDeviceSize)count * sizeof(sedx_bindless_entry)};
    vkCmdCopyBuffer(cmd.cmd, g_layout.table, sedx_buffer_vk(out), 1, &region);
    VkMemoryBarrier mb = {VK_STRUCTURE_TYPE_MEMORY_BARRIER};
    mb.srcAccessMask = VK_ACCESS_TRANSFER_WRITE_BIT;
    mb.dstAccessMask = VK_ACCESS_HOST_READ_BIT;
    vkCmdPipelineBarrier(cmd.cmd, VK_PIPELINE_STAGE_TRANSFER_BIT, VK_PIPELINE_STAGE_HOST_BIT, 0, 1, &mb, 0, NULL, 0, NULL);
    sedx_ticket t;
    assert_int_equal(sedx_cmd_submit(g_ctx, &cmd, NULL, &t), SEDX_SUCCESS);
    assert_int_equal(sedx_buffer_mark_used(out, t), SEDX_SUCCESS);
    assert_int_equal(sedx_ticket_wait(g_ctx, t, UINT64_MAX), SEDX_SUCCESS);
}

static void test_threads(void **state)
{
    (void)state;
    g_ctx = tu_context(false);
    assert_int_equal(sedx_bindless_get(g_ctx, &g_layout), SEDX_SUCCESS);
    assert_non_null(g_layout.table);
    sedx_buffer anchors[ANCHORS];
    uint32_t max_id = 0;
    for (int i = 0; i < ANCHORS; ++i) {
        assert_int_equal(sedx_buffer_create(g_ctx, 16 * (uint64_t)(i + 1), SEDX_BUFFER_USAGE_UNIFORM,
                                            (i & 1) ? SEDX_MEMORY_CPU : SEDX_MEMORY_GPU, "review6 anchor", &anchors[i]),
                         SEDX_SUCCESS);
        uint32_t id = sedx_buffer_id(&anchors[i]);
        max_id = id > max_id ? id : max_id;
    }
    const uint32_t count = max_id + 1;
    sedx_buffer view;
    assert_int_equal(sedx_buffer_create(g_ctx, count * sizeof(sedx_bindless_entry), SEDX_BUFFER_USAGE_STORAGE,
                                        SEDX_MEMORY_CPU, "review6 table view", &view),
                     SEDX_SUCCESS);
    pthread_t t[THREADS];
    atomic_store(&g_running, THREADS);
    for (uintptr_t i = 0; i < THREADS; ++i) pthread_create(&t[i], NULL, worker, (void *)i);
    uint32_t looks = 0;
    do {
        /* the workers' copies wait behind a gate for a moment: their sources are released in flight */
        sedx_ticket gated;
        VkSemaphore gate = tu_gate(g_ctx, SEDX_QUEUE_GRAPHICS, &gated);
        struct timespec pause = {0, 2 * 1000 * 1000};
        nanosleep(&pause, NULL);
        tu_open_gate(g_ctx, gate);
        memset(view.data, 0xCD, view.size);
        gpu_table_copy(&view, count);
        assert_int_equal(sedx_ticket_wait(g_ctx, gated, UINT64_MAX), SEDX_SUCCESS);
        vkDestroySemaphore(sedx_context_device(g_ctx), gate, NULL);
        const sedx_bindless_entry *e = view.data;
        for (int i = 0; i < ANCHORS; ++i) {
            uint32_t id = sedx_buffer_id(&anchors[i]);
            if (e[id].address != sedx_buffer_address(&anchors[i]) || e[id].size != anchors[i].size)
                fail_msg("look %u: the GPU reads anchor %d (ID %u) as {%llx, %llu}", looks, i, id,
                         (unsigned long long)e[id].address, (unsigned long long)e[id].size);
        }
        ++looks;
    } while (atomic_load(&g_running) > 0);
    for (int i = 0; i < THREADS; ++i) pthread_join(t[i], NULL);
    assert_int_equal(atomic_load(&g_failures), 0);
    print_message("review6_bindless_threads: %u table looks, %u copies of released sources\n", looks, g_log_n);
    assert_true(looks >= 2);
    assert_true(g_log_n > 0);

    /* the pool's buffers: their own entries; then everything released */
    for (int k = 0; k < POOL; ++k)
        if (g_pool[k].resource) check_entry(&g_pool[k], "pool at the end");
    assert_int_equal(atomic_load(&g_failures), 0);
    for (int k = 0; k < POOL; ++k) sedx_buffer_release(&g_pool[k]);
    assert_int_equal(sedx_context_wait_idle(g_ctx), SEDX_SUCCESS);
    assert_int_equal(sedx_context_pending_deletions(g_ctx), 0);
    uint32_t live = sedx_buffer_list(g_ctx, NULL, NULL);
    assert_int_equal(live, ANCHORS + 1);
    for (uint32_t i = 0; i < g_log_n; ++i) {
        sedx_bindless_entry e;
        uint32_t id = g_log[i].id;
        bool held = id == sedx_buffer_id(&view);
        for (int a = 0; a < ANCHORS; ++a) held = held || id == sedx_buffer_id(&anchors[a]);
        if (held) continue;
        assert_int_equal(sedx_bindless_entry_get(g_ctx, id, &e), SEDX_SUCCESS);
        if (e.address || e.size) fail_msg("released ID %u keeps the entry {%llx, %llu}", id,
                                          (unsigned long long)e.address, (unsigned long long)e.size);
    }
    for (int i = 0; i < ANCHORS; ++i) sedx_buffer_release(&anchors[i]);
    sedx_buffer_release(&view);
    tu_context_destroy(g_ctx);
}

int main(void)
{
    const struct CMUnitTest tests[] = {cmocka_unit_test(test_threads)};
    return cmocka_run_group_tests(tests, NULL, NULL);
}
