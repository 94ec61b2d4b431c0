/* sedx__chunk_next: how a large upload or readback is cut into chunks, with and without the ramp
 * (SEDX_RAMP). Every cut covers the transfer exactly, never exceeds the chunk, never yields an
 * empty chunk, and stays within the regions upload_staged reserves for it (size / chunk + 1,
 * + 12 with the ramp). No GPU. */
#include "test_util.h"
#include "transfer/transfer_private.h"

static void cut(bool ramp, uint64_t chunk, uint64_t total, uint64_t *count, uint64_t *first, uint64_t *last)
{
    struct sedx__transfer t;
    memset(&t, 0, sizeof t);
    t.ramp = ramp;
    uint64_t done = 0, n = 0, c = 0;
    while (done < total) {
        c = sedx__chunk_next(&t, chunk, done, total);
        assert_true(c > 0);
        assert_true(c <= chunk);
        assert_true(c <= total - done);
        if (n == 0) *first = c;
        done += c;
        n++;
        assert_true(n <= total / chunk + 1 + (ramp ? 12 : 0));
    }
    assert_int_equal(done, total);
    *count = n;
    *last = c;
}

static void test_cuts(void **state)
{
    (void)state;
    uint64_t rng = tu_seed() + 3;
    static const uint64_t chunks[] = {64u << 10, 256u << 10, 1u << 20, (1u << 20) + 16, 16u << 20};
    for (size_t k = 0; k < sizeof chunks / sizeof chunks[0]; ++k) {
        for (int i = 0; i < 2000; ++i) {
            uint64_t chunk = chunks[k];
            uint64_t total = 1 + tu_rand(&rng) % (chunk * (1 + tu_rand(&rng) % 40));
            uint64_t n0, f0, l0, n1, f1, l1;
            cut(false, chunk, total, &n0, &f0, &l0);
            cut(true, chunk, total, &n1, &f1, &l1);
            assert_int_equal(n0, (total + chunk - 1) / chunk); /* without the ramp: whole chunks */
            if (total > 2 * chunk) {
                /* with it: small at both ends */
                uint64_t least = chunk / 16 > (64u << 10) ? chunk / 16 : (64u << 10);
                assert_true(f1 <= least);
                assert_true(l1 <= least);
            } else {
                assert_int_equal(n1, n0);
            }
        }
    }
    /* the case measured: 256 MiB in 16 MiB chunks */
    uint64_t n, f, l;
    cut(true, 16u << 20, 256u << 20, &n, &f, &l);
    assert_int_equal(f, 1u << 20);
    assert_int_equal(l, 1u << 20);
    assert_true(n <= 24);
}

int main(void)
{
    const struct CMUnitTest tests[] = {cmocka_unit_test(test_cuts)};
    return cmocka_run_group_tests(tests, NULL, NULL);
}
