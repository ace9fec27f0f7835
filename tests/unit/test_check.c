/*
 * Unit tests of the check form (case/check.c, check_parse): the one place
 * that validates a doctor's check, a self-check and a check task's result.
 * Pure: no database.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <string.h>

#include "case/case.h"
#include "health/health.h"

/* Parse `text` as the body; the error's slug and field, "" for none. */
static err parse(const char *text, struct check_in *in, const char **slug, const char **field)
{
    json_error_t je;
    json_t *body = json_loads(text, 0, &je);
    assert_non_null(body);
    err_clear();
    err e = check_parse(body, in);
    *slug = e ? err_last()->slug : "";
    *field = e ? err_last()->field : "";
    /* the parsed strings and the attachments point into the body: the
     * tests only look at numbers and bits after this */
    json_decref(body);
    return e;
}

static void a_full_body(void **state)
{
    (void)state;
    struct check_in in;
    const char *slug, *field;
    assert_int_equal(
        parse("{\"symptoms\":[\"fever\",\"cough\",\"fatigue\",\"shortness_of_breath\"],"
              "\"temperature\":38.2,\"description\":\"x\",\"door_no\":\"3-201\","
              "\"lat\":39.9,\"lng\":116.4,\"attachments\":[]}",
              &in, &slug, &field),
        E_OK);
    assert_int_equal(in.symptoms, SYM_FEVER | SYM_COUGH | SYM_FATIGUE | SYM_SHORTNESS_OF_BREATH);
    assert_true(in.temperature > 38.19 && in.temperature < 38.21);
    assert_true(in.has_position);
}

static void temperature_bounds(void **state)
{
    (void)state;
    struct check_in in;
    const char *slug, *field;
    assert_int_equal(parse("{\"temperature\":34}", &in, &slug, &field), E_OK);
    assert_int_equal(parse("{\"temperature\":43}", &in, &slug, &field), E_OK);
    assert_false(in.has_position);
    assert_int_equal(in.symptoms, 0);
    const char *bad[] = {"{\"temperature\":33.9}", "{\"temperature\":43.1}",
                         "{\"temperature\":-1}"};
    for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) {
        assert_int_equal(parse(bad[i], &in, &slug, &field), E_INPUT);
        assert_string_equal(slug, "out_of_range");
        assert_string_equal(field, "temperature");
    }
    assert_int_equal(parse("{\"symptoms\":[]}", &in, &slug, &field), E_INPUT);
    assert_string_equal(slug, "required");
    assert_string_equal(field, "temperature");
    assert_int_equal(parse("{\"temperature\":\"37\"}", &in, &slug, &field), E_INPUT);
    assert_string_equal(field, "temperature");
}

static void unknown_symptom_names_its_index(void **state)
{
    (void)state;
    struct check_in in;
    const char *slug, *field;
    assert_int_equal(
        parse("{\"symptoms\":[\"cough\",\"sneeze\"],\"temperature\":36.5}", &in, &slug, &field),
        E_INPUT);
    assert_string_equal(slug, "invalid_value");
    assert_string_equal(field, "symptoms[1]");
    assert_int_equal(parse("{\"symptoms\":[3],\"temperature\":36.5}", &in, &slug, &field), E_INPUT);
    assert_string_equal(field, "symptoms[0]");
}

static void position_together(void **state)
{
    (void)state;
    struct check_in in;
    const char *slug, *field;
    assert_int_equal(parse("{\"temperature\":36.5,\"lat\":39.9}", &in, &slug, &field), E_INPUT);
    assert_string_equal(slug, "invalid_position");
    assert_string_equal(field, "lng");
    assert_int_equal(parse("{\"temperature\":36.5,\"lng\":116}", &in, &slug, &field), E_INPUT);
    assert_string_equal(field, "lat");
    assert_int_equal(parse("{\"temperature\":36.5,\"lat\":91,\"lng\":116}", &in, &slug, &field),
                     E_INPUT);
    assert_string_equal(slug, "invalid_position");
}

static void texts_and_shape(void **state)
{
    (void)state;
    struct check_in in;
    const char *slug, *field;
    char big[1700] = "{\"temperature\":36.5,\"description\":\"";
    for (int i = 0; i < 501; i++)
        strcat(big, "a");
    strcat(big, "\"}");
    assert_int_equal(parse(big, &in, &slug, &field), E_INPUT);
    assert_string_equal(slug, "too_long");
    assert_string_equal(field, "description");
    assert_int_equal(parse("{\"temperature\":36.5,\"extra\":1}", &in, &slug, &field), E_INPUT);
    assert_string_equal(slug, "unknown_field");
    assert_int_equal(parse("[]", &in, &slug, &field), E_INPUT);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(a_full_body),
        cmocka_unit_test(temperature_bounds),
        cmocka_unit_test(unknown_symptom_names_its_index),
        cmocka_unit_test(position_together),
        cmocka_unit_test(texts_and_shape),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
