/*
 * The declarative body checks (base/json.h): every field at fault is
 * reported at once, the first one as the error's field, the others in its
 * list (base/error.h err_add), each field once.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "base/error.h"
#include "base/json.h"

static const char *const kinds[] = {"community", "factory", NULL};
static const struct jfield fields[] = {
    {"name", J_STRING, JF_REQUIRED, 1, 4, "名称"},
    {"kind", J_STRING, JF_REQUIRED, 0, 0, "类型", kinds},
    {"count", J_INT, JF_NULLABLE, 0, 100, "数量"},
    {"flag", J_BOOL, 0, 0, 0, "标记"},
    {NULL},
};

static err check(const char *text, bool partial)
{
    json_t *j;
    assert_int_equal(json_parse_body(text, strlen(text), &j), E_OK);
    err e = json_check(j, fields, partial);
    json_decref(j);
    return e;
}

/* The fields reported, in order, as "field:code,…". */
static const char *reported(void)
{
    static char out[512];
    const struct err_detail *d = err_last();
    snprintf(out, sizeof out, "%s:%s", d->field, d->slug);
    for (int i = 0; i < d->nmore; i++) {
        size_t n = strlen(out);
        snprintf(out + n, sizeof out - n, ",%s:%s", d->more[i].field, d->more[i].slug);
    }
    return out;
}

static void test_every_field_at_once(void **state)
{
    (void)state;
    assert_int_equal(check("{\"name\":\"太长的名称了\",\"count\":500,\"flag\":1,\"x\":2}", false),
                     E_INPUT);
    assert_string_equal(reported(),
                        "name:too_long,count:out_of_range,flag:invalid_type,x:unknown_field,"
                        "kind:required");
    assert_string_equal(err_last()->message, "名称不能超过4个字符");
    assert_string_equal(err_last()->more[0].message, "数量应在0到100之间");
    /* a partial check (PATCH) does not ask for what is absent */
    assert_int_equal(check("{\"kind\":\"farm\",\"flag\":true}", true), E_INPUT);
    assert_string_equal(reported(), "kind:invalid_value");
    assert_int_equal(check("{\"name\":\"甲\",\"kind\":\"factory\",\"count\":null}", false), E_OK);
}

static void test_err_add(void **state)
{
    (void)state;
    err e = E_OK;
    e = err_add(e, E_INPUT, "too_long", "a", "甲");
    e = err_add(e, E_INPUT, "required", "b", "乙");
    e = err_add(e, E_INPUT, "invalid_value", "a", "再一次"); /* a field once */
    e = err_add(e, E_INPUT, "invalid_value", NULL, "无字段");
    assert_int_equal(e, E_INPUT);
    assert_string_equal(reported(), "a:too_long,b:required");
    /* a later err_set starts afresh */
    err_ignore(err_set(E_NOT_FOUND, "x", NULL, NULL)); /* only its detail matters */
    assert_int_equal(err_last()->nmore, 0);
    /* added errors are capped */
    e = err_set(E_INPUT, "required", "f0", "x");
    for (int i = 1; i < 40; i++) {
        char f[8];
        snprintf(f, sizeof f, "f%d", i);
        e = err_add(e, E_INPUT, "required", f, "x");
    }
    assert_int_equal(err_last()->nmore, ERR_MORE_MAX);
    /* an error of another class is not mixed into an input error's list */
    e = err_set(E_INPUT, "required", "a", "x");
    assert_int_equal(err_add(e, E_CONFLICT, "dup", "b", "y"), E_INPUT);
    assert_int_equal(err_last()->nmore, 0);
}

/* A record's region is written the same way in every reply. */
static void test_region(void **state)
{
    (void)state;
    json_t *o = json_object();
    json_set_region(o, 110101001001000000LL, "多福巷社区");
    char *text = json_dumps(o, JSON_SORT_KEYS);
    assert_string_equal(text,
                        "{\"region_code\": \"110101001001\", \"region_name\": \"多福巷社区\"}");
    free(text);
    json_decref(o);
    o = json_object();
    json_set_region(o, 110101001001001000LL, NULL); /* no name: the code only */
    text = json_dumps(o, JSON_SORT_KEYS);
    assert_string_equal(text, "{\"region_code\": \"110101001001001\"}");
    free(text);
    json_decref(o);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_every_field_at_once),
        cmocka_unit_test(test_err_add),
        cmocka_unit_test(test_region),
    };
    return cmocka_run_group_tests_name("base/json", tests, NULL, NULL);
}
