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
