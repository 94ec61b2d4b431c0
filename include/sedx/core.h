/*
 * sedx core: result codes, logging with tags, host-allocation callbacks,
 * profiling scopes. No Vulkan here.
 */
#ifndef SEDX_CORE_H
#define SEDX_CORE_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#ifdef __cplusplus
extern "C" {
#endif

#if defined(_WIN32) && defined(SEDX_SHARED)
#  ifdef SEDX_BUILDING
#    define SEDX_API __declspec(dllexport)
#  else
#    define SEDX_API __declspec(dllimport)
#  endif
#elif defined(__GNUC__)
#  define SEDX_API __attribute__((visibility("default")))
#else
#  define SEDX_API
#endif

/* The version of these headers; sedx_version() is the version of the library linked. Before
 * 1.0 a minor version may change the API (CHANGELOG.md lists every change). */
#define SEDX_VERSION_MAJOR 0
#define SEDX_VERSION_MINOR 3
#define SEDX_VERSION_PATCH 0
#define SEDX_MAKE_VERSION(major, minor, patch) (((uint32_t)(major) << 22) | ((uint32_t)(minor) << 12) | (uint32_t)(patch))
#define SEDX_VERSION SEDX_MAKE_VERSION(SEDX_VERSION_MAJOR, SEDX_VERSION_MINOR, SEDX_VERSION_PATCH)
#define SEDX_VERSION_MAJOR_OF(v) ((uint32_t)(v) >> 22)
#define SEDX_VERSION_MINOR_OF(v) (((uint32_t)(v) >> 12) & 0x3FFu)
#define SEDX_VERSION_PATCH_OF(v) ((uint32_t)(v) & 0xFFFu)

/* ------------------------------------------------------------------------------------------
 * Results. One list generates the enum, sedx_result_name() and sedx_result_string().
 * 0 is success, positive values are non-error statuses, negative values are errors.
 * ---------------------------------------------------------------------------------------- */
#define SEDX_RESULT_LIST(X)                                                                     \
    X(SEDX_SUCCESS,                      0, "success")                                         \
    X(SEDX_NOT_READY,                    1, "not ready yet (poll again)")                      \
    X(SEDX_TIMEOUT,                      2, "timed out")                                       \
    X(SEDX_ERROR_INVALID_ARGUMENT,      -1, "invalid argument (NULL pointer or bad value)")    \
    X(SEDX_ERROR_OUT_OF_HOST_MEMORY,    -2, "out of host memory")                              \
    X(SEDX_ERROR_OUT_OF_DEVICE_MEMORY,  -3, "out of device memory")                            \
    X(SEDX_ERROR_INVALID_HANDLE,        -4, "invalid, released or foreign handle")             \
    X(SEDX_ERROR_NO_VULKAN,             -5, "no Vulkan loader or driver")                      \
    X(SEDX_ERROR_NO_DEVICE,             -6, "no suitable Vulkan device")                       \
    X(SEDX_ERROR_UNSUPPORTED_VERSION,   -7, "Vulkan API version not supported")                \
    X(SEDX_ERROR_LAYER_NOT_PRESENT,     -8, "validation layer requested but not installed")    \
    X(SEDX_ERROR_VULKAN,                -9, "a Vulkan call failed")                            \
    X(SEDX_ERROR_DEVICE_LOST,          -10, "Vulkan device lost")                              \
    X(SEDX_ERROR_NOT_HOST_VISIBLE,     -11, "memory is not host-visible (GPU-only)")           \
    X(SEDX_ERROR_OUT_OF_BOUNDS,        -12, "offset/size outside the buffer")                  \
    X(SEDX_ERROR_INVALID_SIZE,         -13, "size is zero or overflows")                       \
    X(SEDX_ERROR_INVALID_ALIGNMENT,    -14, "alignment is not a power of two")                 \
    X(SEDX_ERROR_OUT_OF_SPACE,         -15, "no free range large enough in the block")         \
    X(SEDX_ERROR_OVER_BUDGET,          -16, "allocation would exceed the memory budget")       \
    X(SEDX_ERROR_TOO_MANY_ALLOCATIONS, -17, "maxMemoryAllocationCount reached")                \
    X(SEDX_ERROR_NO_MEMORY_TYPE,       -18, "no memory type satisfies the request")            \
    X(SEDX_ERROR_DOUBLE_FREE,          -19, "already freed or released")                       \
    X(SEDX_ERROR_CORRUPTION,           -20, "debug margin overwritten (memory corruption)")    \
    X(SEDX_ERROR_NOT_MAPPED,           -21, "unmap without a matching map")                    \
    X(SEDX_ERROR_INVALID_USAGE,        -22, "unknown usage bits or a usage the call needs is missing") \
    X(SEDX_ERROR_FEATURE_NOT_PRESENT,  -23, "the device lacks a feature this call needs")     \
    X(SEDX_ERROR_OUT_OF_STAGING,       -24, "staging ring full and the caller asked not to wait") \
    X(SEDX_ERROR_WRONG_CONTEXT,        -25, "object belongs to another context")               \
    X(SEDX_ERROR_IO,                   -26, "file could not be read or written")               \
    X(SEDX_ERROR_PARSE,                -27, "malformed input (JSON)")                          \
    X(SEDX_ERROR_BUSY,                 -28, "object is still in use")

typedef enum sedx_result {
#define SEDX__RESULT_ENUM(name, value, text) name = value,
    SEDX_RESULT_LIST(SEDX__RESULT_ENUM)
#undef SEDX__RESULT_ENUM
    SEDX__RESULT_FORCE_32 = 0x7fffffff
} sedx_result;

/* "SEDX_ERROR_OUT_OF_BOUNDS" etc.; "SEDX_UNKNOWN_RESULT" for values not in the list. */
SEDX_API const char *sedx_result_name(sedx_result r);
/* Human text: "offset/size outside the buffer". */
SEDX_API const char *sedx_result_string(sedx_result r);

/* SEDX_VERSION of the library actually linked (compare with SEDX_VERSION of the headers), and
 * the same as "0.3.0". Thread-safe. */
SEDX_API uint32_t sedx_version(void);
SEDX_API const char *sedx_version_string(void);

/* ------------------------------------------------------------------------------------------
 * Logging. The library never prints by itself: every message goes to the log callback.
 * The default callback prints "[sedx] LEVEL [TAG] message (file:line)" to stderr for
 * levels >= the minimum level (SEDX_LOG_INFO by default; SEDX_LOG_LEVEL=debug|info|warn|error|off).
 * ---------------------------------------------------------------------------------------- */
typedef enum sedx_log_level {
    SEDX_LOG_TRACE = 0,
    SEDX_LOG_DEBUG = 1,
    SEDX_LOG_INFO = 2,
    SEDX_LOG_WARN = 3,
    SEDX_LOG_ERROR = 4,
    SEDX_LOG_OFF = 5
} sedx_log_level;

typedef void (*sedx_log_fn)(sedx_log_level level, const char *tag, const char *message,
                            const char *file, int line, void *user_data);

/* Installs a log callback (NULL restores the default stderr logger). Thread-safe. */
SEDX_API void sedx_set_logger(sedx_log_fn fn, void *user_data);
/* Messages below this level are dropped before formatting. A value outside sedx_log_level is
 * logged (at ERROR) and leaves the level unchanged. */
SEDX_API void sedx_set_log_level(sedx_log_level min_level);
SEDX_API sedx_log_level sedx_get_log_level(void);
SEDX_API const char *sedx_log_level_name(sedx_log_level level);
/* printf-style; used by the macros below. tag may be NULL. */
SEDX_API void sedx_log(sedx_log_level level, const char *tag, const char *file, int line,
                       const char *fmt, ...)
#if defined(__GNUC__)
    __attribute__((format(printf, 5, 6)))
#endif
    ;

/* The seed's SEDX_CORE_INFO_TAG("BUFFER", "...") family, printf-style. */
#define SEDX_LOG_TRACE_TAG(tag, ...) sedx_log(SEDX_LOG_TRACE, tag, __FILE__, __LINE__, __VA_ARGS__)
#define SEDX_LOG_DEBUG_TAG(tag, ...) sedx_log(SEDX_LOG_DEBUG, tag, __FILE__, __LINE__, __VA_ARGS__)
#define SEDX_LOG_INFO_TAG(tag, ...)  sedx_log(SEDX_LOG_INFO, tag, __FILE__, __LINE__, __VA_ARGS__)
#define SEDX_LOG_WARN_TAG(tag, ...)  sedx_log(SEDX_LOG_WARN, tag, __FILE__, __LINE__, __VA_ARGS__)
#define SEDX_LOG_ERROR_TAG(tag, ...) sedx_log(SEDX_LOG_ERROR, tag, __FILE__, __LINE__, __VA_ARGS__)
#define SEDX_LOG_INFO(...)  sedx_log(SEDX_LOG_INFO, NULL, __FILE__, __LINE__, __VA_ARGS__)
#define SEDX_LOG_WARN(...)  sedx_log(SEDX_LOG_WARN, NULL, __FILE__, __LINE__, __VA_ARGS__)
#define SEDX_LOG_ERROR(...) sedx_log(SEDX_LOG_ERROR, NULL, __FILE__, __LINE__, __VA_ARGS__)

/* ------------------------------------------------------------------------------------------
 * Host allocation. Every host allocation sedx makes goes through these callbacks.
 * Install before creating any sedx object; NULL restores malloc/realloc/free.
 * alloc and realloc must return memory aligned for any C type (max_align_t).
 * ---------------------------------------------------------------------------------------- */
typedef struct sedx_host_allocator {
    void *(*alloc)(size_t size, void *user_data);
    void *(*realloc)(void *ptr, size_t size, void *user_data);
    void (*free)(void *ptr, void *user_data);
    void *user_data;
} sedx_host_allocator;

SEDX_API void sedx_set_host_allocator(const sedx_host_allocator *allocator);
/* Number of host allocations currently live (made through the callbacks, not yet freed). */
SEDX_API int64_t sedx_host_allocation_count(void);

/* ------------------------------------------------------------------------------------------
 * Profiling scopes. Disabled (near-zero cost) until sedx_profile_enable(true).
 * SEDX_PROFILE_SCOPE("name") records the duration of the enclosing block (GCC/Clang cleanup
 * attribute); SEDX_PROFILE_BEGIN/END are the portable pair. Events go to a bounded buffer
 * (oldest dropped past the capacity) and can be written as Chrome / Perfetto trace JSON.
 * name must be a string with static storage duration (a literal).
 * ---------------------------------------------------------------------------------------- */
typedef struct sedx_profile_zone {
    const char *name;
    uint64_t start_ns;
} sedx_profile_zone;

typedef struct sedx_profile_event {
    const char *name;
    uint64_t start_ns;
    uint64_t duration_ns;
    uint32_t thread_id;
} sedx_profile_event;

SEDX_API void sedx_profile_enable(bool enabled);
SEDX_API bool sedx_profile_enabled(void);
SEDX_API sedx_profile_zone sedx_profile_begin(const char *name);
SEDX_API void sedx_profile_end(const sedx_profile_zone *zone);
/* Copies up to max events (oldest first) into out; returns the number recorded in total. */
SEDX_API size_t sedx_profile_events(sedx_profile_event *out, size_t max);
SEDX_API void sedx_profile_clear(void);
/* Writes {"traceEvents":[...]} for chrome://tracing and ui.perfetto.dev. */
SEDX_API sedx_result sedx_profile_write_trace(const char *path);
SEDX_API uint64_t sedx_time_ns(void); /* monotonic clock */

#define SEDX__CAT2(a, b) a##b
#define SEDX__CAT(a, b) SEDX__CAT2(a, b)
#define SEDX_PROFILE_BEGIN(var, name) sedx_profile_zone var = sedx_profile_begin(name)
#define SEDX_PROFILE_END(var) sedx_profile_end(&(var))
#if defined(__GNUC__) || defined(__clang__)
#  define SEDX_PROFILE_SCOPE(name)                                                            \
      __attribute__((cleanup(sedx_profile_end), unused)) sedx_profile_zone SEDX__CAT(sedx__zone_, __LINE__) = \
          sedx_profile_begin(name)
#else
#  define SEDX_PROFILE_SCOPE(name) ((void)0)
#endif

#ifdef __cplusplus
}
#endif
#endif /* SEDX_CORE_H */
