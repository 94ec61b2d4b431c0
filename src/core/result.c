#include <sedx/core.h>

const char *sedx_result_name(sedx_result r)
{
    switch (r) {
#define SEDX__RESULT_NAME(name, value, text) case name: return #name;
        SEDX_RESULT_LIST(SEDX__RESULT_NAME)
#undef SEDX__RESULT_NAME
    default: return "SEDX_UNKNOWN_RESULT";
    }
}

const char *sedx_result_string(sedx_result r)
{
    switch (r) {
#define SEDX__RESULT_TEXT(name, value, text) case name: return text;
        SEDX_RESULT_LIST(SEDX__RESULT_TEXT)
#undef SEDX__RESULT_TEXT
    default: return "unknown result code";
    }
}

#define SEDX__STR2(x) #x
#define SEDX__STR(x) SEDX__STR2(x)

uint32_t sedx_version(void) { return SEDX_VERSION; }

const char *sedx_version_string(void)
{
    return SEDX__STR(SEDX_VERSION_MAJOR) "." SEDX__STR(SEDX_VERSION_MINOR) "." SEDX__STR(SEDX_VERSION_PATCH);
}
