/* The GPU allocator from several threads at once (run it under ThreadSanitizer too): mixed
 * allocate / free / map / flush / stats with every allocation's contents checked before it is
 * freed (an overlap between threads' allocations corrupts them), then buffer create/destroy
 * churn through Vulkan with validation watching the external-synchronisation rules.
 * Consistent statistics at the end. */
#include "test_util.h"
#include "memory/memory.h"

#include <cjson/cJSON.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define THREADS 4
#define MAX_LIVE 96

typedef struct live_alloc {
    sedx_allocation a;
    uint64_t size;
    uint64_t seed;   /* contents = tu_fill_random(seed) */
    bool host;       /* host-visible: contents written and checked */
    bool persistent; /* created MAPPED */
} live_alloc;

typedef struct worker {
    sedx_context *ctx;
    int id;
    int ops;
    uint64_t rng;
    int failures;    /* assertion failures (cmocka asserts are not thread-safe) */
    char what[160];
    live_alloc live[MAX_LIVE];
    int n;
} worker;

#define CHECK(w, cond)                                                                             \
    do {                                                                                           \
        if (!(cond)) {                                                                             \
            if (!(w)->failures) snprintf((w)->what, sizeof (w)->what, "%s:%d: %s", __FILE__, __LINE__, #cond); \
            (w)->failures++;                                                                       \
        }                                                                                          \
    } while (0)

static uint64_t rnd(worker *w, uint64_t n) { return tu_rand(&w->rng) % n; }

static void fill(void *p, uint64_t size, uint64_t seed)
{
    uint64_t s = seed;
    tu_fill_random(p, (size_t)size, &s);
}

static bool same(const void *p, uint64_t size, uint64_t seed)
{
    unsigned char *tmp = malloc((size_t)size);
    if (!tmp) return false;
    fill(tmp, size, seed);
    bool ok = memcmp(p, tmp, (size_t)size) == 0;
    free(tmp);
    return ok;
}

static void verify(worker *w, live_alloc *l)
{
    if (!l->host) return;
    void *p = NULL;
    CHECK(w, sedx_memory_map(w->ctx, l->a, &p) == SEDX_SUCCESS);
    if (!p) return;
    CHECK(w, sedx_memory_invalidate(w->ctx, l->a, 0, VK_WHOLE_SIZE) == SEDX_SUCCESS);
    CHECK(w, same(p, l->size, l->seed));
    CHECK(w, sedx_memory_unmap(w->ctx, l->a) == SEDX_SUCCESS);
}

static void release(worker *w, int k)
{
    live_alloc *l = &w->live[k];
    verify(w, l);
    CHECK(w, sedx_memory_free(w->ctx, l->a) == SEDX_SUCCESS);
    w->live[k] = w->live[--w->n];
}

static void *mixed_worker(void *arg)
{
    worker *w = arg;
    static const sedx_memory_usage usages[] = {SEDX_MEMORY_USAGE_UPLOAD, SEDX_MEMORY_USAGE_STAGING,
                                               SEDX_MEMORY_USAGE_READBACK, SEDX_MEMORY_USAGE_GPU_ONLY};
    for (int op = 0; op < w->ops && !w->failures; ++op) {
        uint64_t r = rnd(w, 100);
        if (w->n == 0 || (w->n < MAX_LIVE && r < 45)) {
            live_alloc *l = &w->live[w->n];
            sedx_allocation_info ai = {0};
            ai.usage = usages[rnd(w, 4)];
            char name[32];
            snprintf(name, sizeof name, "t%d-op%d", w->id, op);
            ai.name = name;
            l->persistent = ai.usage != SEDX_MEMORY_USAGE_GPU_ONLY && rnd(w, 2);
            if (l->persistent) ai.flags |= SEDX_ALLOCATION_MAPPED;
            if (rnd(w, 50) == 0) ai.flags |= SEDX_ALLOCATION_DEDICATED;
            VkMemoryRequirements q = {16 + rnd(w, 48 * 1024), 1ull << rnd(w, 9), UINT32_MAX};
            CHECK(w, sedx_memory_allocate(w->ctx, &ai, &q, &l->a) == SEDX_SUCCESS);
            if (w->failures) break;
            sedx_allocation_details d;
            CHECK(w, sedx_memory_get_details(w->ctx, l->a, &d) == SEDX_SUCCESS);
            CHECK(w, strcmp(d.name, name) == 0);
            l->size = q.size;
            l->seed = tu_rand(&w->rng);
            l->host = (d.property_flags & VK_MEMORY_PROPERTY_HOST_VISIBLE_BIT) != 0;
            CHECK(w, !l->persistent || d.mapped != NULL);
            if (l->host) {
                void *p = NULL;
                CHECK(w, sedx_memory_map(w->ctx, l->a, &p) == SEDX_SUCCESS);
                if (p) {
                    fill(p, l->size, l->seed);
                    CHECK(w, sedx_memory_flush(w->ctx, l->a, 0, VK_WHOLE_SIZE) == SEDX_SUCCESS);
                    CHECK(w, sedx_memory_unmap(w->ctx, l->a) == SEDX_SUCCESS);
                }
            }
            w->n++;
        } else if (r < 80) {
            release(w, (int)rnd(w, (uint64_t)w->n));
        } else if (r < 97) {
            verify(w, &w->live[rnd(w, (uint64_t)w->n)]);
        } else if (r < 99) {
            sedx_memory_stats s;
            CHECK(w, sedx_memory_get_stats(w->ctx, &s) == SEDX_SUCCESS);
            CHECK(w, s.total.allocation_count >= (uint32_t)w->n);
        } else {
            char *json = NULL;
            CHECK(w, sedx_memory_dump_json(w->ctx, &json) == SEDX_SUCCESS);
            cJSON *root = cJSON_Parse(json);
            CHECK(w, root != NULL);
            cJSON_Delete(root);
            sedx_memory_free_string(json);
        }
    }
    while (w->n > 0) release(w, w->n - 1);
    return NULL;
}

static void check_quiescent(sedx_context *ctx)
{
    sedx_memory_stats s;
    assert_int_equal(sedx_memory_get_stats(ctx, &s), SEDX_SUCCESS);
    assert_int_equal(s.total.allocation_count, 0);
    assert_int_equal(s.total.allocation_bytes, 0);
    assert_int_equal(s.total.dedicated_count, 0);
    assert_int_equal(s.device_memory_count, s.total.block_count);
    assert_int_equal(s.vk_allocate_count - s.vk_allocate_failures - s.vk_free_count, s.device_memory_count);
    for (uint32_t t = 0; t < s.memory_type_count; ++t) {
        assert_true(s.memory_type[t].empty_block_count <= 1);
        assert_int_equal(s.memory_type[t].empty_block_count, s.memory_type[t].block_count);
    }
    sedx_memory_budget b[VK_MAX_MEMORY_HEAPS];
    uint32_t n;
    assert_int_equal(sedx_memory_get_budget(ctx, b, &n), SEDX_SUCCESS);
    for (uint32_t h = 0; h < n; ++h) {
        assert_int_equal(b[h].allocation_bytes, 0);
        assert_int_equal(b[h].block_bytes, s.memory_heap[h].block_bytes);
    }
}

static void run_mixed(const sedx_allocator_info *opt, int ops)
{
    sedx_context *ctx = tu_context_flags(0, opt);
    static worker w[THREADS];
    pthread_t th[THREADS];
    uint64_t seed = tu_seed();
    for (int i = 0; i < THREADS; ++i) {
        memset(&w[i], 0, sizeof w[i]);
        w[i].ctx = ctx;
        w[i].id = i;
        w[i].ops = ops;
        w[i].rng = seed + 0x9E3779B97F4A7C15ull * (uint64_t)(i + 1);
        assert_int_equal(pthread_create(&th[i], NULL, mixed_worker, &w[i]), 0);
    }
    int failures = 0;
    for (int i = 0; i < THREADS; ++i) {
        pthread_join(th[i], NULL);
        if (w[i].failures) fprintf(stderr, "thread %d: %d failures, first: %s\n", i, w[i].failures, w[i].what);
        failures += w[i].failures;
    }
    assert_int_equal(failures, 0);
    check_quiescent(ctx);
    tu_context_destroy(ctx);
}

static void test_mixed_default(void **state)
{
    (void)state;
    sedx_allocator_info opt = {0};
    opt.preferred_block_size = 2ull << 20; /* small blocks: blocks come and go under contention */
    run_mixed(&opt, tu_long_mode() ? 40000 : 2500);
}

static void test_mixed_debug(void **state)
{
    (void)state;
    sedx_allocator_info opt = {0};
    opt.preferred_block_size = 2ull << 20;
    opt.flags = SEDX_ALLOCATOR_DEBUG_MARGINS | SEDX_ALLOCATOR_DEBUG_FILL | SEDX_ALLOCATOR_DEBUG_NONCOHERENT;
    run_mixed(&opt, tu_long_mode() ? 20000 : 1500);
}

/* Buffers created and destroyed from every thread at once (validation checks that sedx never
 * maps or binds one VkDeviceMemory from two threads unsynchronised). */
typedef struct churn {
    sedx_context *ctx;
    int rounds;
    int failures;
} churn;

static void *churn_worker(void *arg)
{
    churn *c = arg;
    enum { N = 200 };
    VkBuffer b[N];
    sedx_allocation a[N];
    VkBufferCreateInfo bi = {VK_STRUCTURE_TYPE_BUFFER_CREATE_INFO, NULL, 0, 4096,
                             VK_BUFFER_USAGE_STORAGE_BUFFER_BIT | VK_BUFFER_USAGE_TRANSFER_DST_BIT,
                             VK_SHARING_MODE_EXCLUSIVE, 0, NULL};
    sedx_allocation_info ai = {0};
    ai.flags = SEDX_ALLOCATION_MAPPED;
    for (int r = 0; r < c->rounds; ++r) {
        for (int i = 0; i < N; ++i) {
            if (sedx_memory_create_buffer(c->ctx, &bi, &ai, &b[i], &a[i]) != SEDX_SUCCESS) {
                c->failures++;
                return NULL;
            }
            sedx_allocation_details d;
            if (sedx_memory_get_details(c->ctx, a[i], &d) != SEDX_SUCCESS || !d.mapped) c->failures++;
            else memset(d.mapped, i & 0xFF, 4096);
        }
        for (int i = 0; i < N; ++i) {
            sedx_allocation_details d;
            if (sedx_memory_get_details(c->ctx, a[i], &d) != SEDX_SUCCESS) c->failures++;
            else if (((unsigned char *)d.mapped)[4095] != (i & 0xFF) || ((unsigned char *)d.mapped)[0] != (i & 0xFF))
                c->failures++;
            if (sedx_memory_destroy_buffer(c->ctx, b[i], a[i]) != SEDX_SUCCESS) c->failures++;
        }
    }
    return NULL;
}

static void test_buffer_churn(void **state)
{
    (void)state;
    sedx_allocator_info opt = {0};
    opt.preferred_block_size = 1ull << 20;
    sedx_context *ctx = tu_context_flags(0, &opt);
    churn c[THREADS];
    pthread_t th[THREADS];
    for (int i = 0; i < THREADS; ++i) {
        c[i] = (churn){ctx, tu_long_mode() ? 200 : 15, 0};
        assert_int_equal(pthread_create(&th[i], NULL, churn_worker, &c[i]), 0);
    }
    int failures = 0;
    for (int i = 0; i < THREADS; ++i) {
        pthread_join(th[i], NULL);
        failures += c[i].failures;
    }
    assert_int_equal(failures, 0);
    check_quiescent(ctx);
    tu_context_destroy(ctx);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_mixed_default),
        cmocka_unit_test(test_mixed_debug),
        cmocka_unit_test(test_buffer_churn),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
