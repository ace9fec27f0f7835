/*
 * The router's admission of a signed-in principal (http/router.c): a
 * pending password change, then a pending TOTP enrolment, confine the
 * session to the routes flagged ROUTE_PENDING_OK (and public ones), before
 * the route's permission is even looked at; /me's "pending" comes from the
 * same auth_pending().
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <string.h>

#include "http/internal.h"

static err handler(struct req *r)
{
    (void)r;
    return E_OK;
}

static const struct route any = {M_GET, "/x", handler, PERM_NONE, 0, NULL, "", "t", 0};
static const struct route needs_read = {M_GET, "/p", handler, PERM_PERSON_READ, 0, NULL,
                                        "",    "t",  0};
static const struct route pending_ok = {M_GET, "/me", handler, PERM_NONE, ROUTE_PENDING_OK,
                                        NULL,  "",    "t",     0};
static const struct route public_route = {M_GET, "/pub", handler, PERM_NONE, ROUTE_PUBLIC,
                                          NULL,  "",     "t",     0};

static err admit(const struct principal *p, const struct route *rt)
{
    err_clear();
    struct req r = {.who = p};
    return router_admit(&r, rt);
}

static void expect(const struct principal *p, const struct route *rt, err code, const char *slug)
{
    assert_int_equal(admit(p, rt), code);
    if (slug)
        assert_string_equal(err_last()->slug, slug);
}

static void in_order(void **state)
{
    (void)state;
    struct principal p = {.user_id = 1, .perms = PERMS(PERM_PERSON_READ)};
    assert_int_equal(auth_pending(&p), AUTH_PENDING_NONE);
    expect(&p, &any, E_OK, NULL);
    expect(&p, &needs_read, E_OK, NULL);
    expect(&p, &pending_ok, E_OK, NULL);
    /* enrolled second factor the role asks for: nothing pending */
    p.totp_required = p.totp_enabled = true;
    expect(&p, &needs_read, E_OK, NULL);
    /* a permission the principal lacks */
    p.perms = (perm_set){{0}};
    expect(&p, &needs_read, E_FORBIDDEN, NULL);
}

static void password_change_first(void **state)
{
    (void)state;
    struct principal p = {.user_id = 1,
                          .perms = PERMS(PERM_PERSON_READ),
                          .must_change_password = true,
                          .totp_required = true};
    assert_int_equal(auth_pending(&p), AUTH_PENDING_PASSWORD);
    expect(&p, &any, E_FORBIDDEN, "password_change_required");
    expect(&p, &needs_read, E_FORBIDDEN, "password_change_required");
    assert_non_null(strstr(err_last()->message, "密码"));
    expect(&p, &pending_ok, E_OK, NULL);
    expect(&p, &public_route, E_OK, NULL);
    /* the gate speaks before the permission: the step is what to do next */
    p.perms = (perm_set){{0}};
    expect(&p, &needs_read, E_FORBIDDEN, "password_change_required");
}

static void totp_enrolment_next(void **state)
{
    (void)state;
    struct principal p = {.user_id = 1, .perms = PERMS(PERM_PERSON_READ), .totp_required = true};
    assert_int_equal(auth_pending(&p), AUTH_PENDING_TOTP);
    expect(&p, &any, E_FORBIDDEN, "totp_enrolment_required");
    expect(&p, &needs_read, E_FORBIDDEN, "totp_enrolment_required");
    assert_non_null(strstr(err_last()->message, "动态验证码"));
    expect(&p, &pending_ok, E_OK, NULL);
    expect(&p, &public_route, E_OK, NULL);
    p.totp_enabled = true;
    expect(&p, &needs_read, E_OK, NULL);
}

static void no_session(void **state)
{
    (void)state;
    /* the server answers 401 before admission for non-public routes; a
     * public route without a session is admitted, a permission never is */
    expect(NULL, &public_route, E_OK, NULL);
    expect(NULL, &needs_read, E_FORBIDDEN, NULL);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(in_order),
        cmocka_unit_test(password_change_first),
        cmocka_unit_test(totp_enrolment_next),
        cmocka_unit_test(no_session),
    };
    return cmocka_run_group_tests_name("gate", tests, NULL, NULL);
}
