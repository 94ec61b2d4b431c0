/* What every example shares: CHECK (counts failed checks instead of stopping, so one run
 * reports them all) and, unless EXAMPLE_OWN_LOGGER is defined first, a logger that prints
 * sedx's messages and counts its warnings and errors (a buffer never released is reported as
 * one when the context is destroyed). Not part of the library. */
#ifndef SEDX_EXAMPLE_H
#define SEDX_EXAMPLE_H

#include <sedx/sedx.h>
#include <stdio.h>

static unsigned g_failures;
#define CHECK(cond, ...)                                                                       \
    do {                                                                                       \
        if (!(cond)) {                                                                         \
            fprintf(stderr, "check failed (%s:%d): ", __FILE__, __LINE__);                    \
            fprintf(stderr, __VA_ARGS__);                                                      \
            fputc('\n', stderr);                                                               \
            g_failures++;                                                                      \
        }                                                                                      \
    } while (0)

#ifndef EXAMPLE_OWN_LOGGER
static unsigned g_sedx_problems;

/* sedx prints nothing itself; this logger prints and counts its warnings and errors (a buffer
 * never released is reported as one when the context is destroyed). */
static void logger(sedx_log_level level, const char *tag, const char *msg, const char *file, int line, void *user)
{
    (void)file, (void)line, (void)user;
    if (level >= SEDX_LOG_WARN) g_sedx_problems++;
    fprintf(stderr, "[sedx] %s [%s] %s\n", sedx_log_level_name(level), tag ? tag : "", msg);
}
#endif

#endif
