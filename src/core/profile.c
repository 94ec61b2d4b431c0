#include "core/core.h"

#include <inttypes.h>
#include <stdio.h>
#include <time.h>
#include <unistd.h>
#include <sys/syscall.h>

#define PROFILE_CAPACITY 65536u

static _Atomic bool g_enabled;
static pthread_mutex_t g_lock = PTHREAD_MUTEX_INITIALIZER;
static sedx_profile_event *g_events; /* ring of PROFILE_CAPACITY */
static size_t g_total;               /* events recorded since the last clear */

uint64_t sedx_time_ns(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (uint64_t)ts.tv_sec * 1000000000ull + (uint64_t)ts.tv_nsec;
}

uint32_t sedx__thread_id(void)
{
    static _Thread_local uint32_t tid;
    if (!tid) tid = (uint32_t)syscall(SYS_gettid);
    return tid;
}

void sedx_profile_enable(bool enabled) { atomic_store(&g_enabled, enabled); }
bool sedx_profile_enabled(void) { return atomic_load(&g_enabled); }

sedx_profile_zone sedx_profile_begin(const char *name)
{
    sedx_profile_zone z = {name, 0};
    if (atomic_load_explicit(&g_enabled, memory_order_relaxed)) z.start_ns = sedx_time_ns();
    return z;
}

void sedx_profile_end(const sedx_profile_zone *zone)
{
    if (!zone || !zone->start_ns || !atomic_load_explicit(&g_enabled, memory_order_relaxed)) return;
    uint64_t end = sedx_time_ns();
    pthread_mutex_lock(&g_lock);
    if (!g_events) g_events = sedx__calloc(PROFILE_CAPACITY, sizeof *g_events);
    if (g_events) {
        g_events[g_total % PROFILE_CAPACITY] = (sedx_profile_event){
            zone->name, zone->start_ns, end - zone->start_ns, sedx__thread_id()};
        g_total++;
    }
    pthread_mutex_unlock(&g_lock);
}

size_t sedx_profile_events(sedx_profile_event *out, size_t max)
{
    pthread_mutex_lock(&g_lock);
    size_t total = g_total;
    size_t kept = SEDX__MIN(total, (size_t)PROFILE_CAPACITY);
    size_t first = total - kept;
    for (size_t i = 0; out && g_events && i < kept && i < max; ++i)
        out[i] = g_events[(first + i) % PROFILE_CAPACITY];
    pthread_mutex_unlock(&g_lock);
    return total;
}

void sedx_profile_clear(void)
{
    pthread_mutex_lock(&g_lock);
    sedx__free(g_events);
    g_events = NULL;
    g_total = 0;
    pthread_mutex_unlock(&g_lock);
}

static void file_sink(void *f, const char *bytes, size_t n) { fwrite(bytes, 1, n, f); }

sedx_result sedx_profile_write_trace(const char *path)
{
    if (!path) return SEDX__ERR(SEDX_ERROR_INVALID_ARGUMENT, "PROFILE", "trace path is NULL");
    FILE *f = fopen(path, "w");
    if (!f) return SEDX__ERR(SEDX_ERROR_IO, "PROFILE", "cannot open '%s' for writing", path);
    pthread_mutex_lock(&g_lock);
    size_t kept = SEDX__MIN(g_total, (size_t)PROFILE_CAPACITY), first = g_total - kept;
    fprintf(f, "{\"traceEvents\":[\n");
    for (size_t i = 0; g_events && i < kept; ++i) {
        const sedx_profile_event *e = &g_events[(first + i) % PROFILE_CAPACITY];
        fprintf(f, "%s{\"name\":", i ? ",\n" : "");
        sedx__json_string(e->name, file_sink, f);
        /* microseconds with three decimals, in integers: "%.3f" prints the application's
         * LC_NUMERIC decimal point, and a comma there is not JSON */
        fprintf(f,
                ",\"cat\":\"sedx\",\"ph\":\"X\",\"pid\":%d,\"tid\":%u,\"ts\":%" PRIu64 ".%03u,\"dur\":%" PRIu64
                ".%03u}",
                (int)getpid(), e->thread_id, e->start_ns / 1000u, (unsigned)(e->start_ns % 1000u),
                e->duration_ns / 1000u, (unsigned)(e->duration_ns % 1000u));
    }
    fprintf(f, "\n],\"displayTimeUnit\":\"ns\"}\n");
    pthread_mutex_unlock(&g_lock);
    if (fclose(f) != 0) return SEDX__ERR(SEDX_ERROR_IO, "PROFILE", "write to '%s' failed", path);
    return SEDX_SUCCESS;
}
