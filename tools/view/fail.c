/* sedx-view: the one way its parts report a failure (view.h). */
#include "view.h"

#include <stdarg.h>

int view_fail(char *err, size_t errlen, int code, const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(err, errlen, fmt, ap);
    va_end(ap);
    return code;
}
