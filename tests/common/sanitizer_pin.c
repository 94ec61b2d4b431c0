/* Linked into the tests always, and into the examples and tools in sanitizer builds. The Vulkan loader dlclose()s drivers and layers, so LeakSanitizer would see
 * their leftovers as "<unknown module>". Loading them once with RTLD_NODELETE keeps them mapped
 * until exit, so tests/lsan.supp can suppress them by module name. sedx's own code is never
 * suppressed. */
#ifndef _GNU_SOURCE
#define _GNU_SOURCE
#endif
#include <dlfcn.h>
#include <stddef.h>

__attribute__((constructor)) static void sedx_pin_vulkan_modules(void)
{
    static const char *const modules[] = {"libvulkan_lvp.so", "libvulkan_intel.so", "libvulkan_intel_hasvk.so",
                                          "libvulkan_radeon.so", "libVkLayer_khronos_validation.so"};
    for (size_t i = 0; i < sizeof modules / sizeof modules[0]; ++i)
        (void)dlopen(modules[i], RTLD_NOW | RTLD_LOCAL | RTLD_NODELETE);
}
