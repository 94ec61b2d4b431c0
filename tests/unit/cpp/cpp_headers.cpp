// The public headers compile as C++ (and link).
#include <sedx/sedx.h>
#include <cstdio>

int main()
{
    sedx_context_info info{};
    (void)info;
    std::printf("%s\n", sedx_result_name(SEDX_ERROR_OUT_OF_BOUNDS));
    return sedx_result_string(SEDX_SUCCESS) ? 0 : 1;
}
