/* libFuzzer: arbitrary text as a JSON configuration: parse, read typed values, format, parse
 * again. Errors are fine; crashes, sanitizer reports and a round trip that changes are not. */
#include <sedx/module.h>

#include <stdint.h>
#include <stdlib.h>
#include <string.h>

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);
int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    sedx_set_log_level(SEDX_LOG_OFF);
    sedx_config *cfg = NULL;
    if (sedx_config_parse((const char *)data, size, "fuzz", &cfg) == SEDX_SUCCESS) {
        (void)sedx_config_get_u64(cfg, "maxVertexBufferSize", 7);
        (void)sedx_config_get_bool(cfg, "enableDebugNames", true);
        (void)sedx_config_get_string(cfg, "name", "x");
        size_t need = sedx_config_format(cfg, NULL, 0);
        char *out = need ? malloc(need + 1) : NULL;
        if (out && sedx_config_format(cfg, out, need + 1) == need) {
            sedx_config *again = NULL;
            if (sedx_config_parse(out, need, "fuzz round trip", &again) != SEDX_SUCCESS) abort(); /* what we write we read */
            if (sedx_config_count(again) != sedx_config_count(cfg)) abort();
            sedx_config_destroy(again);
        }
        free(out);
        sedx_config_destroy(cfg);
    }
    return 0;
}
