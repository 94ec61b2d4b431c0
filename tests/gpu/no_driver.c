/* No Vulkan driver at all, and a validation layer that is not installed: distinct error codes,
 * a clear log line, no crash, no leak. Runs as its own process: the environment is set before
 * the first Vulkan call. */
#include "test_util.h"

#include <stdlib.h>

static void test_no_driver(void **state)
{
    (void)state;
    tu_log_capture();
    sedx_context_info info = {0};
    sedx_context *ctx = (sedx_context *)0x1;
    int64_t live = sedx_host_allocation_count();
    assert_int_equal(sedx_context_create(&info, &ctx), SEDX_ERROR_NO_VULKAN);
    assert_null(ctx);
    assert_true(tu_log_contains("driver") || tu_log_contains("device"));
    assert_int_equal(sedx_host_allocation_count(), live);
    uint32_t count = 99;
    sedx_result r = sedx_enumerate_devices(NULL, 0, &count);
    assert_true(r == SEDX_ERROR_NO_VULKAN || (r == SEDX_SUCCESS && count == 0));
    sedx_set_logger(NULL, NULL);
}

int main(void)
{
    /* the loader honours both names (VK_DRIVER_FILES is the newer one) */
    setenv("VK_ICD_FILENAMES", "/nonexistent/sedx_no_icd.json", 1);
    setenv("VK_DRIVER_FILES", "/nonexistent/sedx_no_icd.json", 1);
    const struct CMUnitTest tests[] = {cmocka_unit_test(test_no_driver)};
    return cmocka_run_group_tests(tests, NULL, NULL);
}
