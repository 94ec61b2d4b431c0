/*
 * sedx modules: the seed's Module (OnAttach / OnDetach / OnUpdate / OnUIRender, GetName) and
 * its JSON configuration (BufferConfig::ToJSON / FromJSON), in C.
 *
 *   static sedx_result mesh_attach(sedx_module *m) { ... sedx_module_context(m) ... }
 *   sedx_module_stack *stack;
 *   sedx_module_stack_create(ctx, &stack);
 *   sedx_module_desc desc = {.name = "MeshModule", .user = &mesh, .on_attach = mesh_attach};
 *   sedx_module_push(stack, &desc, NULL);          // OnAttach
 *   sedx_module_stack_update(stack, 1.0 / 60.0);   // OnUpdate of every enabled module
 *   sedx_module_stack_destroy(stack);              // OnDetach, in reverse order
 *
 * Thread safety: a module stack belongs to one thread (the main loop). A sedx_config may be
 * read from several threads at once (get_*, has, save, format) but not written while read.
 */
#ifndef SEDX_MODULE_H
#define SEDX_MODULE_H

#include <sedx/core.h>
#include <sedx/context.h>

#ifdef __cplusplus
extern "C" {
#endif

/* ------------------------------------------------------------------------------------------
 * Modules
 * ---------------------------------------------------------------------------------------- */
typedef struct sedx_module sedx_module;             /* owned by its stack */
typedef struct sedx_module_stack sedx_module_stack; /* the seed's module/layer stack */

/* A module's callbacks. Zero-initialised is valid: every NULL callback is a no-op. */
typedef struct sedx_module_desc {
    const char *name; /* GetName(); copied; NULL = "Module" */
    void *user;       /* the module's own state (the seed's member variables) */
    /* OnAttach: create resources. A negative result fails the push: the module is removed
     * again, its on_detach is NOT called (release what you created before returning). */
    sedx_result (*on_attach)(sedx_module *m);
    /* OnDetach: release resources. Called once for every module whose attach succeeded. */
    void (*on_detach)(sedx_module *m);
    /* OnUpdate: once per sedx_module_stack_update while the module is enabled. dt in seconds. */
    void (*on_update)(sedx_module *m, double dt);
    /* OnUIRender, as text instead of ImGui: write a NUL-terminated string into text[0..cap)
     * (cap >= 1, text[0] == '\0' on entry); sedx_text_append does the bookkeeping. Called for
     * every attached module, enabled or not (a disabled module can still show its state). */
    void (*on_ui)(sedx_module *m, char *text, size_t cap);
} sedx_module_desc;

/* ctx may be NULL for modules that need no GPU. *out is written only on success. */
SEDX_API sedx_result sedx_module_stack_create(sedx_context *ctx, sedx_module_stack **out);
/* Detaches every module in reverse push order, then frees the stack. NULL is a no-op.
 * Inside a module callback: refused (logged), nothing happens. */
SEDX_API void sedx_module_stack_destroy(sedx_module_stack *stack);

/* Adds a module on top of the stack and attaches it (on_attach). On success *out (may be NULL)
 * receives the module, valid until it is detached. If on_attach returns a negative result,
 * the error is logged with the module's name (tag "MODULE") and returned, and the module is
 * not on the stack. Inside a module callback: SEDX_ERROR_BUSY. */
SEDX_API sedx_result sedx_module_push(sedx_module_stack *stack, const sedx_module_desc *desc, sedx_module **out);
/* Detaches the top module (on_detach) and removes it. Empty stack: SEDX_ERROR_INVALID_ARGUMENT;
 * inside a module callback: SEDX_ERROR_BUSY. */
SEDX_API sedx_result sedx_module_pop(sedx_module_stack *stack);
/* Detaches and removes module m from anywhere in the stack. A module that is not on this stack
 * (never dereferenced): SEDX_ERROR_INVALID_HANDLE. Inside a callback: SEDX_ERROR_BUSY. */
SEDX_API sedx_result sedx_module_remove(sedx_module_stack *stack, sedx_module *m);

/* Calls on_update(m, dt) of every enabled module, bottom (first pushed) to top. */
SEDX_API void sedx_module_stack_update(sedx_module_stack *stack, double dt);
/* The seed's OnUIRender for the whole stack: for each module, a line "== <name> ==" (with
 * " (disabled)" when it is) then its on_ui text, into out (always NUL-terminated when cap > 0).
 * Returns the length written; a module's text is cut where out is full. */
SEDX_API size_t sedx_module_stack_ui(sedx_module_stack *stack, char *out, size_t cap);

SEDX_API uint32_t sedx_module_stack_count(const sedx_module_stack *stack);
/* Module at index (0 = bottom), or NULL. */
SEDX_API sedx_module *sedx_module_stack_get(const sedx_module_stack *stack, uint32_t index);
/* First module with this name, or NULL. */
SEDX_API sedx_module *sedx_module_find(const sedx_module_stack *stack, const char *name);
SEDX_API sedx_context *sedx_module_stack_context(const sedx_module_stack *stack);

/* For use inside the callbacks (and with a pointer from push/get/find). NULL m: NULL/false. */
SEDX_API const char *sedx_module_name(const sedx_module *m);  /* GetName() */
SEDX_API void *sedx_module_user(const sedx_module *m);
SEDX_API sedx_context *sedx_module_context(const sedx_module *m);
SEDX_API sedx_module_stack *sedx_module_get_stack(const sedx_module *m);
/* Disabled modules are skipped by sedx_module_stack_update (the seed's m_IsEnabled).
 * Modules start enabled. */
SEDX_API void sedx_module_set_enabled(sedx_module *m, bool enabled);
SEDX_API bool sedx_module_enabled(const sedx_module *m);

/* printf into text at strlen(text), cut at cap - 1 and always NUL-terminated: the helper for
 * on_ui (the seed's ImGui::Text). Returns the length the whole text would need. */
SEDX_API size_t sedx_text_append(char *text, size_t cap, const char *fmt, ...)
#if defined(__GNUC__)
    __attribute__((format(printf, 3, 4)))
#endif
    ;

/* ------------------------------------------------------------------------------------------
 * Configuration: a flat JSON object of typed values (the seed's BufferConfig ToJSON/FromJSON
 * with nlohmann::json). Keys keep their file order; values are booleans, numbers (unsigned and
 * signed 64-bit integers, doubles), strings; nested objects, arrays and null are kept verbatim
 * so a round trip loses nothing, but have no getter.
 *
 * - Keys: non-empty C strings. A key found twice in a file: the last value wins, at the place
 *   of the first. has/get/set and the keys of a load cost O(1) each on average (a hash index
 *   beside the ordered list); remove costs O(count).
 * - Integers: a number written without fraction or exponent is exact over the whole uint64_t
 *   and int64_t ranges, both ways (set_u64(UINT64_MAX) saves and loads back as UINT64_MAX).
 *   A longer integer is kept as written (get_f64 reads it; get_u64/get_i64 give the default
 *   with a warning). A number with a fraction or an exponent is a double and is written back
 *   as one (1.0 stays 1.0). Inside nested values numbers are kept as written.
 * - NUL: a text ends at its first NUL byte, and only NUL bytes may follow it (so a size that
 *   counts the terminator, or a zero-padded buffer, is fine). A key or a string value with
 *   \u0000 is SEDX_ERROR_PARSE, as a C string cannot hold it; inside nested values it is kept.
 * ---------------------------------------------------------------------------------------- */
typedef struct sedx_config sedx_config; /* opaque */

/* An empty configuration. */
SEDX_API sedx_result sedx_config_create(sedx_config **out);
/* Reads a JSON file. A file that does not exist is not an error: *out is an empty
 * configuration, so every get_* returns its default (the seed's "if exists"). Other I/O
 * failures (not readable, a directory, larger than 64 MiB, ...) SEDX_ERROR_IO; malformed JSON,
 * text after the object, a top level that is not an object, nesting deeper than 1000 levels,
 * a number out of double range, an empty key, \u0000 in a key or a string value:
 * SEDX_ERROR_PARSE (logged as "path:line:column: what"). An empty path:
 * SEDX_ERROR_INVALID_ARGUMENT. Tag "CONFIG". *out is written only on success. */
SEDX_API sedx_result sedx_config_load(const char *path, sedx_config **out);
/* The same from memory: json[0..size), which need not be NUL-terminated (see NUL above).
 * name is used in log lines (NULL = "<memory>"). */
SEDX_API sedx_result sedx_config_parse(const char *json, size_t size, const char *name, sedx_config **out);
/* Writes the configuration as pretty-printed JSON to <file>.tmp, flushed to disk, then renamed
 * over <file>, so a failed save never leaves a half-written file. Only a regular file is
 * replaced (keeping its permission bits) or a missing one created; a symbolic link is followed
 * to the regular file it points to, which is replaced (the link stays). A directory, device,
 * FIFO or socket, or a link that cannot be followed or points to one: SEDX_ERROR_IO, nothing
 * written. <file>.tmp may be missing or a regular file (a failed save's leftover, overwritten);
 * anything else there, a link included: SEDX_ERROR_IO. A missing directory: SEDX_ERROR_IO. */
SEDX_API sedx_result sedx_config_save(const sedx_config *cfg, const char *path);
/* The JSON text into out (NUL-terminated when cap > 0); returns the length it needs, 0 on
 * failure (logged). */
SEDX_API size_t sedx_config_format(const sedx_config *cfg, char *out, size_t cap);
/* NULL is a no-op. */
SEDX_API void sedx_config_destroy(sedx_config *cfg);

SEDX_API bool sedx_config_has(const sedx_config *cfg, const char *key);
SEDX_API uint32_t sedx_config_count(const sedx_config *cfg);
/* Key at index (file/insertion order), or NULL. */
SEDX_API const char *sedx_config_key(const sedx_config *cfg, uint32_t index);
/* A missing key is a no-op. The keys after it move up one index. */
SEDX_API sedx_result sedx_config_remove(sedx_config *cfg, const char *key);

/* The seed's j.value(key, default). A missing key or null gives def silently; a value of the
 * wrong type (a string for a number, a negative or fractional number for an unsigned one,
 * out of range, ...) gives def and logs a warning naming the key and the file.
 * get_u64/get_i64 also take a double with an integral value in range (1.0, 1e3); get_f64
 * takes any number. A NULL cfg or key: def, logged. */
SEDX_API uint64_t sedx_config_get_u64(const sedx_config *cfg, const char *key, uint64_t def);
SEDX_API int64_t sedx_config_get_i64(const sedx_config *cfg, const char *key, int64_t def);
SEDX_API double sedx_config_get_f64(const sedx_config *cfg, const char *key, double def);
SEDX_API bool sedx_config_get_bool(const sedx_config *cfg, const char *key, bool def);
/* The returned string lives until the key is set or removed, or cfg is destroyed. */
SEDX_API const char *sedx_config_get_string(const sedx_config *cfg, const char *key, const char *def);

/* The seed's j[key] = value: adds the key (at the end) or replaces its value (of any type, in
 * its place). A NULL cfg, key or string, an empty key (a file cannot hold one either), NaN or
 * an infinity (JSON cannot hold them): SEDX_ERROR_INVALID_ARGUMENT, logged, nothing changed. */
SEDX_API sedx_result sedx_config_set_u64(sedx_config *cfg, const char *key, uint64_t value);
SEDX_API sedx_result sedx_config_set_i64(sedx_config *cfg, const char *key, int64_t value);
SEDX_API sedx_result sedx_config_set_f64(sedx_config *cfg, const char *key, double value);
SEDX_API sedx_result sedx_config_set_bool(sedx_config *cfg, const char *key, bool value);
SEDX_API sedx_result sedx_config_set_string(sedx_config *cfg, const char *key, const char *value);

#ifdef __cplusplus
}
#endif
#endif /* SEDX_MODULE_H */
