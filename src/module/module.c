/* The seed's Module and its stack: attach, detach in reverse order, update, UI as text. */
#include "core/core.h"

#include <sedx/module.h>

#include <stdarg.h>
#include <stdio.h>

#define TAG "MODULE"

struct sedx_module {
    sedx_module_stack *stack;
    char *name;
    sedx_module_desc desc; /* desc.name points at name */
    bool enabled;
};

struct sedx_module_stack {
    sedx_context *ctx;
    sedx_module **modules; /* bottom (first pushed) first */
    uint32_t count, capacity;
    /* > 0 while a module callback runs: push/pop/remove/destroy/update/ui are refused, so a
     * callback never sees the array change under it. */
    uint32_t in_callback;
};

size_t sedx_text_append(char *text, size_t cap, const char *fmt, ...)
{
    size_t len = 0;
    if (text && cap) {
        text[cap - 1] = '\0';
        len = strlen(text);
    }
    va_list ap;
    va_start(ap, fmt);
    int n = (text && cap) ? vsnprintf(text + len, cap - len, fmt, ap) : vsnprintf(NULL, 0, fmt, ap);
    va_end(ap);
    return len + (n > 0 ? (size_t)n : 0);
}

sedx_result sedx_module_stack_create(sedx_context *ctx, sedx_module_stack **out)
{
    if (!out) return SEDX__ERR(SEDX_ERROR_INVALID_ARGUMENT, TAG, "sedx_module_stack_create: out is NULL");
    sedx_module_stack *s = sedx__calloc(1, sizeof *s);
    if (!s) return SEDX__ERR(SEDX_ERROR_OUT_OF_HOST_MEMORY, TAG, "module stack: out of host memory");
    s->ctx = ctx;
    *out = s;
    return SEDX_SUCCESS;
}

static bool refuse_busy(const sedx_module_stack *s, const char *what)
{
    if (s->in_callback == 0) return false;
    SEDX_LOG_ERROR_TAG(TAG, "%s inside a module callback is not allowed", what);
    return true;
}

static void free_module(sedx_module *m)
{
    sedx__free(m->name);
    sedx__free(m);
}

/* Detaches the module at index and closes the gap. */
static void detach_at(sedx_module_stack *s, uint32_t index)
{
    sedx_module *m = s->modules[index];
    if (m->desc.on_detach) {
        s->in_callback++;
        m->desc.on_detach(m);
        s->in_callback--;
    }
    SEDX_LOG_DEBUG_TAG(TAG, "detached '%s'", m->name);
    memmove(&s->modules[index], &s->modules[index + 1], (size_t)(s->count - index - 1) * sizeof s->modules[0]);
    s->count--;
    free_module(m);
}

void sedx_module_stack_destroy(sedx_module_stack *s)
{
    if (!s || refuse_busy(s, "sedx_module_stack_destroy")) return;
    while (s->count) detach_at(s, s->count - 1);
    sedx__free(s->modules);
    sedx__free(s);
}

sedx_result sedx_module_push(sedx_module_stack *s, const sedx_module_desc *desc, sedx_module **out)
{
    if (!s || !desc) return SEDX__ERR(SEDX_ERROR_INVALID_ARGUMENT, TAG, "sedx_module_push: stack or desc is NULL");
    const char *name = desc->name ? desc->name : "Module";
    if (refuse_busy(s, "sedx_module_push")) return SEDX_ERROR_BUSY;
    if (s->count == s->capacity) {
        uint32_t cap = s->capacity ? s->capacity * 2 : 8;
        sedx_module **grown = sedx__realloc(s->modules, (size_t)cap * sizeof *grown);
        if (!grown) return SEDX__ERR(SEDX_ERROR_OUT_OF_HOST_MEMORY, TAG, "'%s': out of host memory", name);
        s->modules = grown;
        s->capacity = cap;
    }
    sedx_module *m = sedx__calloc(1, sizeof *m);
    char *copy = sedx__strdup(name);
    if (!m || !copy) {
        sedx__free(m);
        sedx__free(copy);
        return SEDX__ERR(SEDX_ERROR_OUT_OF_HOST_MEMORY, TAG, "'%s': out of host memory", name);
    }
    m->stack = s;
    m->name = copy;
    m->desc = *desc;
    m->desc.name = copy;
    m->enabled = true;
    /* On the stack during its own attach, so find/get see it. */
    s->modules[s->count++] = m;
    if (m->desc.on_attach) {
        s->in_callback++;
        sedx_result r = m->desc.on_attach(m);
        s->in_callback--;
        if (r < 0) {
            s->count--;
            SEDX_LOG_ERROR_TAG(TAG, "'%s' failed to attach: %s (%s)", copy, sedx_result_name(r), sedx_result_string(r));
            free_module(m);
            return r;
        }
    }
    SEDX_LOG_DEBUG_TAG(TAG, "attached '%s' (%u on the stack)", copy, s->count);
    if (out) *out = m;
    return SEDX_SUCCESS;
}

sedx_result sedx_module_pop(sedx_module_stack *s)
{
    if (!s) return SEDX__ERR(SEDX_ERROR_INVALID_ARGUMENT, TAG, "sedx_module_pop: stack is NULL");
    if (refuse_busy(s, "sedx_module_pop")) return SEDX_ERROR_BUSY;
    if (s->count == 0) return SEDX__ERR(SEDX_ERROR_INVALID_ARGUMENT, TAG, "sedx_module_pop: the stack is empty");
    detach_at(s, s->count - 1);
    return SEDX_SUCCESS;
}

sedx_result sedx_module_remove(sedx_module_stack *s, sedx_module *m)
{
    if (!s || !m) return SEDX__ERR(SEDX_ERROR_INVALID_ARGUMENT, TAG, "sedx_module_remove: stack or module is NULL");
    if (refuse_busy(s, "sedx_module_remove")) return SEDX_ERROR_BUSY;
    for (uint32_t i = 0; i < s->count; ++i) {
        if (s->modules[i] == m) {
            detach_at(s, i);
            return SEDX_SUCCESS;
        }
    }
    /* Not dereferenced: m may be a stale pointer. */
    return SEDX__ERR(SEDX_ERROR_INVALID_HANDLE, TAG, "sedx_module_remove: module %p is not on this stack", (void *)m);
}

void sedx_module_stack_update(sedx_module_stack *s, double dt)
{
    if (!s || refuse_busy(s, "sedx_module_stack_update")) return;
    s->in_callback++;
    for (uint32_t i = 0; i < s->count; ++i) {
        sedx_module *m = s->modules[i];
        if (m->enabled && m->desc.on_update) m->desc.on_update(m, dt);
    }
    s->in_callback--;
}

size_t sedx_module_stack_ui(sedx_module_stack *s, char *out, size_t cap)
{
    if (out && cap) out[0] = '\0';
    if (!s || !out || cap == 0 || refuse_busy(s, "sedx_module_stack_ui")) return 0;
    size_t len = 0;
    s->in_callback++;
    for (uint32_t i = 0; i < s->count && len + 1 < cap; ++i) {
        sedx_module *m = s->modules[i];
        sedx_text_append(out, cap, "== %s ==%s\n", m->name, m->enabled ? "" : " (disabled)");
        len = strlen(out);
        if (m->desc.on_ui && len + 1 < cap) {
            char *text = out + len;
            text[0] = '\0';
            m->desc.on_ui(m, text, cap - len);
            out[cap - 1] = '\0'; /* whatever the module did */
            len = strlen(out);
            if (len > 0 && out[len - 1] != '\n') {
                sedx_text_append(out, cap, "\n");
                len = strlen(out);
            }
        }
    }
    s->in_callback--;
    return len;
}

uint32_t sedx_module_stack_count(const sedx_module_stack *s) { return s ? s->count : 0; }

sedx_module *sedx_module_stack_get(const sedx_module_stack *s, uint32_t index)
{
    return s && index < s->count ? s->modules[index] : NULL;
}

sedx_module *sedx_module_find(const sedx_module_stack *s, const char *name)
{
    if (!s || !name) return NULL;
    for (uint32_t i = 0; i < s->count; ++i)
        if (strcmp(s->modules[i]->name, name) == 0) return s->modules[i];
    return NULL;
}

sedx_context *sedx_module_stack_context(const sedx_module_stack *s) { return s ? s->ctx : NULL; }

const char *sedx_module_name(const sedx_module *m) { return m ? m->name : NULL; }
void *sedx_module_user(const sedx_module *m) { return m ? m->desc.user : NULL; }
sedx_context *sedx_module_context(const sedx_module *m) { return m ? m->stack->ctx : NULL; }
sedx_module_stack *sedx_module_get_stack(const sedx_module *m) { return m ? m->stack : NULL; }

void sedx_module_set_enabled(sedx_module *m, bool enabled)
{
    if (m) m->enabled = enabled;
}

bool sedx_module_enabled(const sedx_module *m) { return m ? m->enabled : false; }
