/*
 * Fixed-size registration tables refuse what does not fit instead of
 * silently dropping it: the route table (http/router.c, HTTP_ROUTES_MAX,
 * also the size of the per-route metrics), the stop hooks
 * (HTTP_STOP_HOOKS_MAX), and the one-subscriber hooks between capabilities
 * (person_on_change, code_on_pass, vehicle_on_visitor_plate,
 * health_on_device_check, auth_on_change). The application's own
 * registration (app_routes) fits, so the server starts.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>

#include <cmocka.h>

#include "app.h"
#include "code/code.h"
#include "health/health.h"
#include "http/http.h"
#include "person/person.h"
#include "security/auth.h"
#include "vehicle/vehicle.h"

static err handler(struct req *r)
{
    (void)r;
    return E_OK;
}

static struct route many[HTTP_ROUTES_MAX + 1];

/* A pattern with more {params} than a request can hold is refused at
 * registration (matching would silently lose the extra one), and so is a
 * route without a handler; nothing of the table is added. */
static void malformed_routes_refused(void **state)
{
    (void)state;
    const struct route five[] = {
        {.method = M_GET, .pattern = "/api/v1/a/{a}", .fn = handler},
        {.method = M_GET, .pattern = "/api/v1/{a}/{b}/{c}/{d}/{e}", .fn = handler},
    };
    assert_int_equal(router_add(five, 2), E_INTERNAL);
    assert_non_null(strstr(err_last()->message, "{e}"));
    const struct route none[] = {{.method = M_GET, .pattern = "/api/v1/x"}};
    assert_int_equal(router_add(none, 1), E_INTERNAL);
    size_t n;
    router_all(&n);
    assert_int_equal(n, 0);
    const struct route four[] = {{.method = M_GET, .pattern = "/{a}/{b}/{c}/{d}", .fn = handler}};
    assert_int_equal(router_add(four, 1), E_OK);
}

/* Runs second: the route table is process-wide and only grows. */
static void routes_past_the_cap_refused(void **state)
{
    (void)state;
    for (size_t i = 0; i < HTTP_ROUTES_MAX + 1; i++)
        many[i] = (struct route){.method = M_GET, .pattern = "/api/v1/probe", .fn = handler};
    size_t n;
    router_all(&n);
    assert_int_equal(n, 1); /* malformed_routes_refused's last */
    /* a table that does not fit is refused whole, not cut short */
    assert_int_equal(router_add(many, HTTP_ROUTES_MAX), E_INTERNAL);
    assert_non_null(strstr(err_last()->message, "HTTP_ROUTES_MAX"));
    router_all(&n);
    assert_int_equal(n, 1);
    /* exactly full is fine; one more is not */
    assert_int_equal(router_add(many, HTTP_ROUTES_MAX - 2), E_OK);
    assert_int_equal(router_add(many, 1), E_OK);
    router_all(&n);
    assert_int_equal(n, HTTP_ROUTES_MAX);
    assert_int_equal(router_add(many, 1), E_INTERNAL);
    router_all(&n);
    assert_int_equal(n, HTTP_ROUTES_MAX);
}

static void stop_hook(void)
{
}

static void stop_hooks_past_the_cap_refused(void **state)
{
    (void)state;
    for (int i = 0; i < HTTP_STOP_HOOKS_MAX; i++)
        assert_int_equal(http_on_stop(stop_hook), E_OK);
    assert_int_equal(http_on_stop(stop_hook), E_INTERNAL);
}

static err change_a(db *d, arena *a, int64_t person_id, int64_t user_id)
{
    (void)d, (void)a, (void)person_id, (void)user_id;
    return E_OK;
}

static err change_b(db *d, arena *a, int64_t person_id, int64_t user_id)
{
    (void)d, (void)a, (void)person_id, (void)user_id;
    return E_OK;
}

static err pass_a(db *d, int64_t person_id, int64_t person_region, int person_status, bool *valid_r,
                  int64_t *community_r, const char **reason_r)
{
    (void)d, (void)person_id, (void)person_region, (void)person_status;
    (void)valid_r, (void)community_r, (void)reason_r;
    return E_OK;
}

static err pass_b(db *d, int64_t person_id, int64_t person_region, int person_status, bool *valid_r,
                  int64_t *community_r, const char **reason_r)
{
    return pass_a(d, person_id, person_region, person_status, valid_r, community_r, reason_r);
}

static err plate_a(db *d, const uint8_t plate_bidx[BLIND_LEN], int64_t region, int64_t at,
                   int64_t *visitor_id_r)
{
    (void)d, (void)plate_bidx, (void)region, (void)at, (void)visitor_id_r;
    return E_OK;
}

static err plate_b(db *d, const uint8_t plate_bidx[BLIND_LEN], int64_t region, int64_t at,
                   int64_t *visitor_id_r)
{
    return plate_a(d, plate_bidx, region, at, visitor_id_r);
}

static err device_a(db *d, arena *a, const struct scope *sc, int64_t device_id)
{
    (void)d, (void)a, (void)sc, (void)device_id;
    return E_OK;
}

static err device_b(db *d, arena *a, const struct scope *sc, int64_t device_id)
{
    return device_a(d, a, sc, device_id);
}

static void auth_a(void)
{
}

static void auth_b(void)
{
}

/* Each hook has one slot: a second subscriber is refused, the same one
 * again is a no-op, and clearing frees the slot. */
static void hooks_take_one_subscriber(void **state)
{
    (void)state;
    assert_int_equal(person_on_change(change_a), E_OK);
    assert_int_equal(person_on_change(change_a), E_OK);
    assert_int_equal(person_on_change(change_b), E_INTERNAL);
    assert_non_null(strstr(err_last()->message, "person_on_change"));
    assert_int_equal(person_on_change(NULL), E_OK);
    assert_int_equal(person_on_change(change_b), E_OK);
    assert_int_equal(person_on_change(NULL), E_OK);

    assert_int_equal(code_on_pass(pass_a), E_OK);
    assert_int_equal(code_on_pass(pass_b), E_INTERNAL);
    assert_int_equal(code_on_pass(NULL), E_OK);

    assert_int_equal(vehicle_on_visitor_plate(plate_a), E_OK);
    assert_int_equal(vehicle_on_visitor_plate(plate_b), E_INTERNAL);
    assert_int_equal(vehicle_on_visitor_plate(NULL), E_OK);

    assert_int_equal(health_on_device_check(device_a), E_OK);
    assert_int_equal(health_on_device_check(device_b), E_INTERNAL);
    assert_int_equal(health_on_device_check(NULL), E_OK);

    assert_int_equal(auth_on_change(auth_a), E_OK);
    assert_int_equal(auth_on_change(auth_a), E_OK);
    assert_int_equal(auth_on_change(auth_b), E_INTERNAL);
    assert_int_equal(auth_on_change(NULL), E_OK);
}

/* With the table already full (the first test), the application's
 * registration fails rather than starting with routes missing. */
static void app_routes_refused_when_full(void **state)
{
    (void)state;
    assert_int_equal(app_routes(), E_INTERNAL);
    assert_non_null(strstr(err_last()->message, "HTTP_ROUTES_MAX"));
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(malformed_routes_refused),
        cmocka_unit_test(routes_past_the_cap_refused),
        cmocka_unit_test(stop_hooks_past_the_cap_refused),
        cmocka_unit_test(hooks_take_one_subscriber),
        cmocka_unit_test(app_routes_refused_when_full),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
