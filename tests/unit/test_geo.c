/*
 * Unit tests of base/geo: reading a geometry, the simplicity test (closed
 * rings, self-intersection, touching and folding edges, holes inside their
 * shell, the vertex cap) and point in polygon with holes, at the edges of
 * each rule.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "base/geo.h"

static arena *A;

/* Parse and check a geometry given as text; the error's slug on failure. */
static err shape(const char *text, struct geo_shape *s_r)
{
    json_t *g = json_loads(text, 0, NULL);
    assert_non_null(g);
    struct geo_shape s;
    err e = geo_parse(g, "boundary", GEO_VERTICES_MAX, A, &s);
    json_decref(g);
    if (!e)
        e = geo_check(&s, "boundary");
    if (!e && s_r)
        *s_r = s;
    return e;
}

static void expect_bad(const char *text, const char *why)
{
    err e = shape(text, NULL);
    assert_int_equal(e, E_INPUT);
    assert_string_equal(err_last()->slug, "invalid_boundary");
    assert_string_equal(err_last()->field, "boundary");
    if (why && !strstr(err_last()->message, why))
        fail_msg("\"%s\" does not say \"%s\"", err_last()->message, why);
}

#define SQUARE "[[0,0],[10,0],[10,10],[0,10],[0,0]]"

static void simple_polygons_pass(void **state)
{
    (void)state;
    struct geo_shape s;
    assert_int_equal(shape("{\"type\":\"Polygon\",\"coordinates\":[" SQUARE "]}", &s), E_OK);
    assert_int_equal(s.n_vertices, 5);
    assert_true(s.min_x == 0 && s.max_x == 10 && s.min_y == 0 && s.max_y == 10);
    /* the smallest ring: a triangle, either winding */
    assert_int_equal(
        shape("{\"type\":\"Polygon\",\"coordinates\":[[[0,0],[1,0],[0,1],[0,0]]]}", NULL), E_OK);
    assert_int_equal(
        shape("{\"type\":\"Polygon\",\"coordinates\":[[[0,0],[0,1],[1,0],[0,0]]]}", NULL), E_OK);
    /* a concave polygon whose edges come close but do not meet */
    assert_int_equal(shape("{\"type\":\"Polygon\",\"coordinates\":[[[0,0],[10,0],[10,10],[5,1],"
                           "[0,10],[0,0]]]}",
                           NULL),
                     E_OK);
    /* a hole strictly inside; two disjoint polygons */
    assert_int_equal(shape("{\"type\":\"Polygon\",\"coordinates\":[" SQUARE
                           ",[[2,2],[4,2],[4,4],[2,4],[2,2]]]}",
                           NULL),
                     E_OK);
    assert_int_equal(shape("{\"type\":\"MultiPolygon\",\"coordinates\":[[" SQUARE
                           "],[[[20,0],[30,0],[30,10],[20,0]]]]}",
                           NULL),
                     E_OK);
}

static void structure_refused(void **state)
{
    (void)state;
    expect_bad("{\"type\":\"Point\",\"coordinates\":[0,0]}", "类型");
    expect_bad("{\"type\":\"Polygon\",\"coordinates\":[]}", "至少包含一个环");
    expect_bad("{\"type\":\"MultiPolygon\",\"coordinates\":[]}", "至少包含一个多边形");
    /* three positions, and a ring that is not closed */
    expect_bad("{\"type\":\"Polygon\",\"coordinates\":[[[0,0],[1,0],[0,0]]]}", "至少需要 4");
    expect_bad("{\"type\":\"Polygon\",\"coordinates\":[[[0,0],[10,0],[10,10],[0,10],[0,1]]]}",
               "闭合");
    expect_bad("{\"type\":\"Polygon\",\"coordinates\":[[[0,0],[10,\"a\"],[10,10],[0,0]]]}", "数字");
}

static void self_intersection_refused(void **state)
{
    (void)state;
    /* the bow tie: edges 0 and 2 cross */
    expect_bad("{\"type\":\"Polygon\",\"coordinates\":[[[0,0],[10,10],[10,0],[0,10],[0,0]]]}",
               "自相交");
    /* a vertex touching a non-adjacent edge (a figure of eight pinched at (5,0)) */
    expect_bad("{\"type\":\"Polygon\",\"coordinates\":[[[0,0],[10,0],[10,10],[5,0],[0,10],[0,0]]]}",
               "自相交");
    /* a spike folding back along its own edge */
    expect_bad("{\"type\":\"Polygon\",\"coordinates\":[[[0,0],[10,0],[5,0],[5,5],[0,0]]]}",
               "自相交");
    /* a repeated position (a double click) */
    expect_bad("{\"type\":\"Polygon\",\"coordinates\":[[[0,0],[10,0],[10,0],[10,10],[0,0]]]}",
               "相同");
    /* collinear overlapping edges of one ring, far apart in the ring */
    expect_bad("{\"type\":\"Polygon\",\"coordinates\":[[[0,0],[4,0],[4,4],[2,4],[2,0],[1,0],"
               "[1,5],[0,5],[0,0]]]}",
               "自相交");
}

static void holes_and_rings(void **state)
{
    (void)state;
    /* a hole outside its shell, one crossing it, one touching it */
    expect_bad("{\"type\":\"Polygon\",\"coordinates\":[" SQUARE
               ",[[20,20],[22,20],[22,22],[20,20]]]}",
               "外环之内");
    expect_bad("{\"type\":\"Polygon\",\"coordinates\":[" SQUARE ",[[5,5],[15,5],[15,6],[5,5]]]}",
               "环之间");
    expect_bad("{\"type\":\"Polygon\",\"coordinates\":[" SQUARE ",[[0,5],[5,4],[5,6],[0,5]]]}",
               "环之间");
    /* two polygons of a MultiPolygon crossing */
    expect_bad("{\"type\":\"MultiPolygon\",\"coordinates\":[[" SQUARE
               "],[[[5,5],[15,5],[15,15],[5,5]]]]}",
               "环之间");
}

/* A regular polygon of n positions (n - 1 vertices and the closing one). */
static char *circle(size_t n)
{
    size_t cap = 64 + n * 48;
    char *t = malloc(cap);
    size_t len = (size_t)snprintf(t, cap, "{\"type\":\"Polygon\",\"coordinates\":[[");
    for (size_t i = 0; i < n; i++) {
        double a = 6.283185307179586 * (double)(i % (n - 1)) / (double)(n - 1);
        len += (size_t)snprintf(t + len, cap - len, "%s[%.9f,%.9f]", i ? "," : "",
                                116.4 + 0.01 * cos(a), 39.9 + 0.01 * sin(a));
    }
    snprintf(t + len, cap - len, "]]}");
    return t;
}

static void vertex_cap(void **state)
{
    (void)state;
    char *t = circle(GEO_VERTICES_MAX);
    struct geo_shape s;
    assert_int_equal(shape(t, &s), E_OK);
    assert_int_equal(s.n_vertices, GEO_VERTICES_MAX);
    assert_true(geo_contains(&s, 116.4, 39.9));
    assert_false(geo_contains(&s, 116.4 + 0.0101, 39.9));
    free(t);
    t = circle(GEO_VERTICES_MAX + 1);
    expect_bad(t, "不能超过 2000");
    free(t);
}

static void contains(void **state)
{
    (void)state;
    struct geo_shape s;
    assert_int_equal(shape("{\"type\":\"MultiPolygon\",\"coordinates\":[[" SQUARE
                           ",[[2,2],[4,2],[4,4],[2,4],[2,2]]],[[[20,0],[30,0],[30,10],[20,0]]]]}",
                           &s),
                     E_OK);
    assert_true(geo_contains(&s, 1, 1));
    assert_true(geo_contains(&s, 9.999, 9.999));
    assert_true(geo_contains(&s, 5, 5));  /* beside the hole */
    assert_false(geo_contains(&s, 3, 3)); /* in the hole */
    assert_false(geo_contains(&s, -0.001, 5));
    assert_false(geo_contains(&s, 15, 5)); /* between the polygons */
    assert_true(geo_contains(&s, 29, 1));  /* in the triangle */
    assert_false(geo_contains(&s, 21, 9)); /* in its box, outside it */
}

static int setup(void **state)
{
    (void)state;
    A = arena_new(0);
    return 0;
}

static int teardown(void **state)
{
    (void)state;
    arena_free(&A);
    return 0;
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(simple_polygons_pass),
        cmocka_unit_test(structure_refused),
        cmocka_unit_test(self_intersection_refused),
        cmocka_unit_test(holes_and_rings),
        cmocka_unit_test(vertex_cap),
        cmocka_unit_test(contains),
    };
    return cmocka_run_group_tests(tests, setup, teardown);
}
