#include "core/core.h"

#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <strings.h>

static pthread_mutex_t g_log_lock = PTHREAD_MUTEX_INITIALIZER;
static sedx_log_fn g_log_fn;       /* NULL = default */
static void *g_log_user;
static _Atomic int g_log_level = -1; /* -1 = not read from the environment yet */

static const char *const k_level_names[] = {"TRACE", "DEBUG", "INFO", "WARN", "ERROR", "OFF"};

const char *sedx_log_level_name(sedx_log_level level)
{
    return (unsigned)level < SEDX__COUNTOF(k_level_names) ? k_level_names[level] : "?";
}

static int level_from_env(void)
{
    const char *e = getenv("SEDX_LOG_LEVEL");
    if (e) {
        for (int i = 0; i < (int)SEDX__COUNTOF(k_level_names); ++i)
            if (strcasecmp(e, k_level_names[i]) == 0) return i;
        if (strcasecmp(e, "warning") == 0) return SEDX_LOG_WARN;
    }
    return SEDX_LOG_INFO;
}

sedx_log_level sedx_get_log_level(void)
{
    int l = atomic_load(&g_log_level);
    if (l < 0) {
        l = level_from_env();
        atomic_store(&g_log_level, l);
    }
    return (sedx_log_level)l;
}

void sedx_set_log_level(sedx_log_level min_level)
{
    if ((int)min_level < (int)SEDX_LOG_TRACE || (int)min_level > (int)SEDX_LOG_OFF) {
        sedx_log(SEDX_LOG_ERROR, "CORE", __FILE__, __LINE__, "sedx_set_log_level: level %d is not a sedx_log_level; "
                 "unchanged", (int)min_level);
        return;
    }
    atomic_store(&g_log_level, (int)min_level);
}

void sedx_set_logger(sedx_log_fn fn, void *user_data)
{
    pthread_mutex_lock(&g_log_lock);
    g_log_fn = fn;
    g_log_user = user_data;
    pthread_mutex_unlock(&g_log_lock);
}

static void default_logger(sedx_log_level level, const char *tag, const char *message,
                           const char *file, int line, void *user_data)
{
    (void)user_data;
    const char *base = file ? strrchr(file, '/') : NULL;
    base = base ? base + 1 : (file ? file : "?");
    if (tag)
        fprintf(stderr, "[sedx] %-5s [%s] %s (%s:%d)\n", sedx_log_level_name(level), tag, message, base, line);
    else
        fprintf(stderr, "[sedx] %-5s %s (%s:%d)\n", sedx_log_level_name(level), message, base, line);
}

void sedx_log(sedx_log_level level, const char *tag, const char *file, int line, const char *fmt, ...)
{
    if ((int)level < (int)sedx_get_log_level() || level >= SEDX_LOG_OFF) return;
    char stack_buf[512];
    const char *msg = stack_buf;
    char *big = NULL;
    va_list ap;
    va_start(ap, fmt);
    int n = vsnprintf(stack_buf, sizeof stack_buf, fmt, ap);
    va_end(ap);
    if (n < 0) {
        msg = "(log formatting failed)";
    } else if ((size_t)n >= sizeof stack_buf) {
        /* Long message: plain malloc, so logging an out-of-memory never recurses into the
         * user's allocator; truncated if even that fails. */
        big = malloc((size_t)n + 1);
        if (big) {
            va_start(ap, fmt);
            vsnprintf(big, (size_t)n + 1, fmt, ap);
            va_end(ap);
            msg = big;
        }
    }
    pthread_mutex_lock(&g_log_lock);
    sedx_log_fn fn = g_log_fn ? g_log_fn : default_logger;
    void *user = g_log_user;
    pthread_mutex_unlock(&g_log_lock);
    fn(level, tag, msg, file, line, user);
    free(big);
}
