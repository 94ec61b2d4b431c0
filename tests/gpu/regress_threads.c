/* Regression (issue "Correctness on the main path", defect 8): two threads releasing copies of
 * the same single reference at once. The user's error, but never fatal: before the fix both
 * releases dropped the reference, and the loser's atomic decrement raced the winner's free
 * (ThreadSanitizer: data race; ASan: use-after-free). Now exactly one release frees the
 * reference and the other is reported. */
#include "test_util.h"

#include <pthread.h>
#include <stdatomic.h>

typedef struct racer {
    pthread_barrier_t *start;
    sedx_buffer copy;
} racer;

static void *release_copy(void *arg)
{
    racer *r = arg;
    pthread_barrier_wait(r->start);
    sedx_buffer_release(&r->copy);
    return NULL;
}

static void test_racing_releases_of_one_reference(void **state)
{
    (void)state;
    sedx_context *ctx = tu_context(false);
    tu_log_capture();
    sedx_set_log_level(SEDX_LOG_ERROR); /* count errors only; stay quiet */
    enum { ROUNDS = 200 };
    for (int i = 0; i < ROUNDS; ++i) {
        sedx_buffer b;
        assert_int_equal(sedx_buffer_create(ctx, 256, SEDX_BUFFER_USAGE_VERTEX, SEDX_MEMORY_CPU, "raced", &b),
                         SEDX_SUCCESS);
        sedx_buffer other = sedx_buffer_retain(&b); /* an innocent owner of its own reference */
        pthread_barrier_t start;
        pthread_barrier_init(&start, NULL, 2);
        racer r[2] = {{&start, b}, {&start, b}};
        pthread_t th[2];
        for (int k = 0; k < 2; ++k) assert_int_equal(pthread_create(&th[k], NULL, release_copy, &r[k]), 0);
        for (int k = 0; k < 2; ++k) pthread_join(th[k], NULL);
        pthread_barrier_destroy(&start);
        /* one of the two released b's reference; the other is reported; `other` is untouched */
        assert_int_equal(tu_log_count(SEDX_LOG_ERROR), (uint32_t)i + 1);
        assert_true(sedx_buffer_is_valid(&other));
        assert_int_equal(sedx_buffer_ref_count(&other), 1);
        assert_int_equal(sedx_buffer_write(&other, "ok", 2, 0), SEDX_SUCCESS);
        sedx_buffer_release(&other);
    }
    sedx_set_logger(NULL, NULL);
    sedx_set_log_level(SEDX_LOG_WARN);
    assert_int_equal(sedx_buffer_list(ctx, NULL, NULL), 0);
    tu_context_destroy(ctx);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_racing_releases_of_one_reference),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
