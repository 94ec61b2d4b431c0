/* Review 3: the transfer layer's copy pool (src/transfer/pool.c) on its own, no GPU. Many short
 * job lists in a row (the batched upload's groups), more workers than cores, so that a worker
 * woken for one list often arrives after it is done and the next one is being set up: every job
 * of every list is copied, each list returns only once its bytes are there, none hangs. With the
 * claim sizes of claim_step (1 to dozens of jobs per claim), polling on and off (spin_ns, the
 * hot flag on and off between lists), prefetching and plain streaming copies, large copies in
 * SEDX_COPY_PIECES pieces, the side function, and the pool stopped and started again with other
 * thread counts and settings (sedx_transfer_configure). Meant for the TSan build too. */
#include "test_util.h"
#include "transfer/transfer_private.h"

#include <signal.h>
#include <stdlib.h>
#include <unistd.h>

#define ARENA (4u << 20)

static memcpy_pool *g_pool;

static void on_alarm(int sig)
{
    (void)sig;
    char m[200];
    uint64_t c = atomic_load(&g_pool->claim);
    int n = snprintf(m, sizeof m, "review3_pool_threads: a job list never finished (hang): finished %u of %u jobs, "
                     "next %u, step %u\n", atomic_load(&g_pool->finished), (unsigned)(c >> 32), (unsigned)c,
                     atomic_load(&g_pool->step));
    if (n > 0 && write(2, m, (size_t)n) < 0) _exit(3);
    _exit(3);
}

typedef struct side_arg {
    uint32_t calls;
} side_arg;

static void side(void *arg) { ((side_arg *)arg)->calls++; }

/* lists of count jobs of small pieces, checked; returns the lists run */
static uint32_t run_lists(memcpy_pool *p, uint8_t *src, uint8_t *dst, uint64_t *rng, uint32_t lists)
{
    static copy_job jobs[512];
    for (uint32_t l = 0; l < lists; ++l) {
        uint32_t count = 2 + (uint32_t)(tu_rand(rng) % (l % 7 == 0 ? 510 : 40));
        uint64_t off = 0;
        for (uint32_t i = 0; i < count; ++i) {
            size_t size = 1 + (size_t)(tu_rand(rng) % (l % 5 == 0 ? 8192 : 200));
            uint64_t s = tu_rand(rng) % (ARENA - size);
            jobs[i] = (copy_job){dst + off, src + s, size, (tu_rand(rng) & 1) != 0};
            off += size + (tu_rand(rng) % 32);
        }
        memset(dst, 0, off);
        /* the pool's path needs 1 MiB in all; the claim step follows the bytes per job */
        size_t total = (size_t)(1u << 20) + (size_t)(tu_rand(rng) % (64u << 20));
        side_arg sa = {0};
        if (l & 1) sedx__pool_run_with(p, jobs, count, total, side, &sa);
        else sedx__pool_run(p, jobs, count, total);
        if ((l & 1) && sa.calls != 1) fail_msg("list %u: side function ran %u times", l, sa.calls);
        for (uint32_t i = 0; i < count; ++i)
            if (memcmp(jobs[i].dst, jobs[i].src, jobs[i].size) != 0) fail_msg("list %u (%u jobs): job %u not copied", l, count, i);
        if (l % 64 == 63) sedx__pool_hot(p, (l / 64) & 1);
    }
    return lists;
}

/* large copies in pieces: SEDX_COPY_PIECES (p->pieces) and the default four per thread */
static void run_pieces(memcpy_pool *p, uint8_t *src, uint8_t *dst, uint64_t *rng)
{
    static const uint32_t k_pieces[] = {0, 1, 2, 3, 7, 64};
    for (uint32_t k = 0; k < sizeof k_pieces / sizeof k_pieces[0]; ++k) {
        p->pieces = k_pieces[k];
        size_t size = (2u << 20) + (size_t)(tu_rand(rng) % (ARENA - (2u << 20) - 64));
        size_t so = (size_t)(tu_rand(rng) % 64), d0 = (size_t)(tu_rand(rng) % 64);
        size = SEDX__MIN(size, ARENA - SEDX__MAX(so, d0));
        memset(dst, 0, ARENA);
        sedx__pool_copy(p, dst + d0, src + so, size, (k & 1) != 0);
        if (memcmp(dst + d0, src + so, size) != 0) fail_msg("pieces %u: a %zu-byte copy differs", k_pieces[k], size);
    }
    p->pieces = 0;
}

static void test_pool(void **state)
{
    (void)state;
    signal(SIGALRM, on_alarm);
    alarm(getenv("REVIEW3_ALARM") ? (unsigned)atoi(getenv("REVIEW3_ALARM")) : 100);
    uint64_t rng = tu_seed() + 303;
    uint8_t *src = malloc(ARENA), *dst = malloc(ARENA);
    tu_fill_random(src, ARENA, &rng);
    memcpy_pool p;
    memset(&p, 0, sizeof p);
    g_pool = &p;
    /* (threads, spin_ns, prefetch, hot) per round: the pool stopped and started between them */
    static const struct { uint32_t threads; uint64_t spin; bool prefetch, hot; } k_rounds[] = {
        {7, 200000, true, true}, {7, 0, false, false}, {1, 200000, true, true}, {15, 50000, true, false},
        {0, 200000, true, true}, {3, 0, true, true},   {16, 200000, false, true},
    };
    uint32_t lists = 0;
    for (uint32_t r = 0; r < sizeof k_rounds / sizeof k_rounds[0]; ++r) {
        p.spin_ns = k_rounds[r].spin;
        p.prefetch = k_rounds[r].prefetch;
        sedx__pool_start(&p, k_rounds[r].threads);
        assert_int_equal(p.count, k_rounds[r].threads);
        sedx__pool_hot(&p, k_rounds[r].hot);
        lists += run_lists(&p, src, dst, &rng, tu_long_mode() ? 40000 : 3000);
        run_pieces(&p, src, dst, &rng);
        sedx__pool_hot(&p, false);
        sedx__pool_stop(&p);
        p.count = 0;
    }
    print_message("%u lists\n", lists);
    alarm(0);
    free(src);
    free(dst);
}

int main(void)
{
    const struct CMUnitTest tests[] = {cmocka_unit_test(test_pool)};
    return cmocka_run_group_tests(tests, NULL, NULL);
}
