/* Validation requested but the layer is not installed: SEDX_ERROR_LAYER_NOT_PRESENT. */
#include "test_util.h"

#include <stdlib.h>

static void test_no_layer(void **state)
{
    (void)state;
    tu_log_capture();
    sedx_context_info info = {0};
    info.flags = SEDX_CONTEXT_VALIDATION;
    sedx_context *ctx = (sedx_context *)0x1;
    int64_t live = sedx_host_allocation_count();
    assert_int_equal(sedx_context_create(&info, &ctx), SEDX_ERROR_LAYER_NOT_PRESENT);
    assert_null(ctx);
    assert_true(tu_log_contains("VK_LAYER_KHRONOS_validation"));
    assert_int_equal(sedx_host_allocation_count(), live);
    /* without validation the same machine works */
    info.flags = SEDX_CONTEXT_NO_ENV_VALIDATION;
    assert_int_equal(sedx_context_create(&info, &ctx), SEDX_SUCCESS);
    sedx_context_destroy(ctx);
    sedx_set_logger(NULL, NULL);
}

int main(void)
{
    /* VK_LAYER_PATH replaces the loader's explicit-layer search paths: point it nowhere */
    setenv("VK_LAYER_PATH", "/nonexistent/sedx-no-layers", 1);
    unsetenv("SEDX_VALIDATION");
    const struct CMUnitTest tests[] = {cmocka_unit_test(test_no_layer)};
    return cmocka_run_group_tests(tests, NULL, NULL);
}
