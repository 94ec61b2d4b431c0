/*
 * Review 10: the module stack's edges not in tests/unit/module.c: a module removing itself from
 * its own update and from its own detach, a module's detach (during destroy) removing another,
 * the same desc pushed twice, the name copied, a failed attach between good ones, a callback of
 * one stack changing a second stack (allowed) which reaches back into the first (refused), and
 * stack_ui from inside on_ui. Exact event order, exact codes, one ERROR line per refusal.
 */
#include "test_util.h"

#include <sedx/module.h>

#include <string.h>

static char g_ev[1024];
static sedx_result g_nested[8];
static int g_nn;
static sedx_module_stack *g_other;

static void ev(const char *what, sedx_module *m) { sedx_text_append(g_ev, sizeof g_ev, "%s:%s ", what, sedx_module_name(m)); }

static sedx_result plain_attach(sedx_module *m) { ev("attach", m); return SEDX_SUCCESS; }
static void plain_detach(sedx_module *m) { ev("detach", m); }
static void plain_update(sedx_module *m, double dt) { (void)dt; ev("update", m); }

/* removes itself in update and in detach; records what the stack said */
static void self_remove_update(sedx_module *m, double dt)
{
    (void)dt;
    ev("update", m);
    g_nested[g_nn++] = sedx_module_remove(sedx_module_get_stack(m), m);
}
static void self_remove_detach(sedx_module *m)
{
    ev("detach", m);
    sedx_module_stack *s = sedx_module_get_stack(m);
    /* still on the stack while it detaches */
    assert_ptr_equal(sedx_module_find(s, sedx_module_name(m)), m);
    g_nested[g_nn++] = sedx_module_remove(s, m);
    g_nested[g_nn++] = sedx_module_remove(s, sedx_module_stack_get(s, 0)); /* another one */
    g_nested[g_nn++] = sedx_module_pop(s);
}

static void test_remove_from_callbacks(void **state)
{
    (void)state;
    int64_t live = sedx_host_allocation_count();
    tu_log_capture();
    g_ev[0] = '\0';
    g_nn = 0;
    sedx_module_stack *s = NULL;
    assert_int_equal(sedx_module_stack_create(NULL, &s), SEDX_SUCCESS);
    sedx_module_desc a = {.name = "A", .on_attach = plain_attach, .on_detach = plain_detach, .on_update = plain_update};
    sedx_module_desc b = {.name = "B", .on_attach = plain_attach, .on_detach = self_remove_detach,
                          .on_update = self_remove_update};
    sedx_module *ma = NULL, *mb = NULL;
    assert_int_equal(sedx_module_push(s, &a, &ma), SEDX_SUCCESS);
    assert_int_equal(sedx_module_push(s, &b, &mb), SEDX_SUCCESS);
    sedx_module_stack_update(s, 0.1);
    assert_int_equal(g_nn, 1);
    assert_int_equal(g_nested[0], SEDX_ERROR_BUSY);
    assert_int_equal(sedx_module_stack_count(s), 2);
    assert_int_equal(tu_log_count(SEDX_LOG_ERROR), 1);
    assert_true(tu_log_contains("[MODULE] sedx_module_remove inside a module callback is not allowed"));
    /* destroy: B's detach tries three changes, all refused; A is still detached after it */
    sedx_module_stack_destroy(s);
    assert_int_equal(g_nn, 4);
    assert_int_equal(g_nested[1], SEDX_ERROR_BUSY);
    assert_int_equal(g_nested[2], SEDX_ERROR_BUSY);
    assert_int_equal(g_nested[3], SEDX_ERROR_BUSY);
    assert_int_equal(tu_log_count(SEDX_LOG_ERROR), 4);
    assert_true(tu_log_contains("[MODULE] sedx_module_pop inside a module callback is not allowed"));
    assert_string_equal(g_ev, "attach:A attach:B update:A update:B detach:B detach:A ");
    sedx_set_logger(NULL, NULL);
    sedx_set_log_level(SEDX_LOG_WARN);
    assert_int_equal(sedx_host_allocation_count(), live);
}

static sedx_result fail_attach(sedx_module *m)
{
    ev("attach", m);
    return SEDX_ERROR_INVALID_SIZE;
}

static void test_same_desc_twice_and_failed_middle(void **state)
{
    (void)state;
    int64_t live = sedx_host_allocation_count();
    tu_log_capture();
    g_ev[0] = '\0';
    sedx_module_stack *s = NULL;
    assert_int_equal(sedx_module_stack_create(NULL, &s), SEDX_SUCCESS);
    char name[8] = "Twin";
    sedx_module_desc d = {.name = name, .on_attach = plain_attach, .on_detach = plain_detach, .on_update = plain_update};
    sedx_module_desc bad = {.name = "Bad", .on_attach = fail_attach, .on_detach = plain_detach};
    sedx_module *m1 = NULL, *m2 = NULL, *keep = (sedx_module *)&d;
    assert_int_equal(sedx_module_push(s, &d, &m1), SEDX_SUCCESS);
    assert_int_equal(sedx_module_push(s, &bad, &keep), SEDX_ERROR_INVALID_SIZE);
    assert_ptr_equal(keep, (sedx_module *)&d);
    assert_int_equal(sedx_module_push(s, &d, &m2), SEDX_SUCCESS);
    strcpy(name, "Other"); /* the names were copied */
    assert_true(m1 != m2);
    assert_int_equal(sedx_module_stack_count(s), 2);
    assert_ptr_equal(sedx_module_find(s, "Twin"), m1);
    assert_null(sedx_module_find(s, "Other"));
    assert_null(sedx_module_find(s, "Bad"));
    assert_int_equal(tu_log_count(SEDX_LOG_ERROR), 1);
    assert_true(tu_log_contains("[MODULE] 'Bad' failed to attach: SEDX_ERROR_INVALID_SIZE"));
    /* remove the bottom twin: the top one stays, is now index 0 */
    assert_int_equal(sedx_module_remove(s, m1), SEDX_SUCCESS);
    assert_ptr_equal(sedx_module_stack_get(s, 0), m2);
    assert_ptr_equal(sedx_module_find(s, "Twin"), m2);
    sedx_module_stack_update(s, 0.0);
    sedx_module_stack_destroy(s);
    assert_string_equal(g_ev, "attach:Twin attach:Bad attach:Twin detach:Twin update:Twin detach:Twin ");
    sedx_set_logger(NULL, NULL);
    sedx_set_log_level(SEDX_LOG_WARN);
    assert_int_equal(sedx_host_allocation_count(), live);
}

/* S1's update pushes a module onto S2 (allowed: S2 is idle); that module's attach tries to pop
 * S1, which is inside its callback (refused). */
static sedx_result reach_back_attach(sedx_module *m)
{
    ev("attach", m);
    sedx_result r = sedx_module_pop((sedx_module_stack *)sedx_module_user(m));
    g_nested[g_nn++] = r;
    return SEDX_SUCCESS;
}
static void cross_update(sedx_module *m, double dt)
{
    (void)dt;
    ev("update", m);
    sedx_module_desc d = {.name = "Guest", .user = sedx_module_get_stack(m), .on_attach = reach_back_attach,
                          .on_detach = plain_detach};
    sedx_result r = sedx_module_push(g_other, &d, NULL); /* the attach records first */
    g_nested[g_nn++] = r;
}
static void nested_ui(sedx_module *m, char *text, size_t cap)
{
    char inner[32];
    size_t n = sedx_module_stack_ui(sedx_module_get_stack(m), inner, sizeof inner);
    sedx_text_append(text, cap, "inner %zu '%s'", n, inner);
}

static void test_cross_stack(void **state)
{
    (void)state;
    int64_t live = sedx_host_allocation_count();
    tu_log_capture();
    g_ev[0] = '\0';
    g_nn = 0;
    sedx_module_stack *s1 = NULL;
    assert_int_equal(sedx_module_stack_create(NULL, &s1), SEDX_SUCCESS);
    assert_int_equal(sedx_module_stack_create(NULL, &g_other), SEDX_SUCCESS);
    sedx_module_desc host = {.name = "Host", .on_detach = plain_detach, .on_update = cross_update, .on_ui = nested_ui};
    assert_int_equal(sedx_module_push(s1, &host, NULL), SEDX_SUCCESS);
    sedx_module_stack_update(s1, 0.0);
    assert_int_equal(g_nn, 2);
    assert_int_equal(g_nested[0], SEDX_ERROR_BUSY);    /* Guest's pop of S1 */
    assert_int_equal(g_nested[1], SEDX_SUCCESS);       /* Host's push onto S2 */
    assert_int_equal(sedx_module_stack_count(g_other), 1);
    assert_int_equal(sedx_module_stack_count(s1), 1);
    assert_int_equal(tu_log_count(SEDX_LOG_ERROR), 1);
    /* stack_ui of its own stack from on_ui: refused, 0, empty text */
    char ui[128];
    size_t n = sedx_module_stack_ui(s1, ui, sizeof ui);
    assert_string_equal(ui, "== Host ==\ninner 0 ''\n");
    assert_int_equal(n, strlen(ui));
    assert_int_equal(tu_log_count(SEDX_LOG_ERROR), 2);
    assert_true(tu_log_contains("[MODULE] sedx_module_stack_ui inside a module callback is not allowed"));
    /* both stacks still work */
    sedx_module_stack_destroy(g_other);
    sedx_module_stack_destroy(s1);
    assert_string_equal(g_ev, "update:Host attach:Guest detach:Guest detach:Host ");
    g_other = NULL;
    sedx_set_logger(NULL, NULL);
    sedx_set_log_level(SEDX_LOG_WARN);
    assert_int_equal(sedx_host_allocation_count(), live);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_remove_from_callbacks),
        cmocka_unit_test(test_same_desc_twice_and_failed_middle),
        cmocka_unit_test(test_cross_stack),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
