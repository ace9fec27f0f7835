/*
 * Unit tests of the demo's geography (src/demo/demo_geo.c): a split tiles
 * its parent (the cells' areas add up to the parent's, every cell is
 * convex and counter-clockwise, every point of the parent lies in exactly
 * one cell), the same seed draws the same cells, a point drawn inside a
 * region is inside it with its margin, and the polygons remembered by code
 * are found again (a building by its grid).
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <math.h>
#include <string.h>

#include "demo/demo.h"

static double area(const struct demo_poly *p)
{
    double a = 0;
    for (int i = 0; i < p->n; i++) {
        int j = (i + 1) % p->n;
        a += (p->x[i] - p->x[0]) * (p->y[j] - p->y[0]) - (p->x[j] - p->x[0]) * (p->y[i] - p->y[0]);
    }
    return a / 2;
}

/* Every turn is to the left (or straight): convex, counter-clockwise. */
static bool convex_ccw(const struct demo_poly *p)
{
    for (int i = 0; i < p->n; i++) {
        int j = (i + 1) % p->n, k = (i + 2) % p->n;
        double cross =
            (p->x[j] - p->x[i]) * (p->y[k] - p->y[j]) - (p->y[j] - p->y[i]) * (p->x[k] - p->x[j]);
        if (cross < -1e-15)
            return false;
    }
    return true;
}

static void split_tiles_the_parent(void **state)
{
    (void)state;
    struct demo_poly district, cells[40];
    demo_geo_district(&district);
    assert_true(convex_ccw(&district));
    for (int n = 1; n <= 40; n += 13) {
        struct rng r;
        rng_seed(&r, 42 + (uint64_t)n);
        demo_poly_split(&district, n, &r, cells);
        double sum = 0;
        for (int k = 0; k < n; k++) {
            assert_true(cells[k].n >= 3);
            assert_true(convex_ccw(&cells[k]));
            assert_true(area(&cells[k]) > 0);
            sum += area(&cells[k]);
        }
        assert_true(fabs(sum - area(&district)) < 1e-12);
        /* points of the parent: each inside one cell at most, and (away
         * from the edges) in one */
        struct rng pr;
        rng_seed(&pr, 7);
        for (int t = 0; t < 500; t++) {
            double x, y;
            demo_poly_point(&district, &pr, 0, &x, &y);
            int in = 0;
            for (int k = 0; k < n; k++)
                in += demo_poly_contains(&cells[k], x, y);
            assert_true(in <= 1);
            if (in == 0) { /* on an edge: within a hair of one */
                bool near = false;
                for (int k = 0; k < n && !near; k++)
                    for (double dx = -1e-9; dx <= 1e-9 && !near; dx += 1e-9)
                        for (double dy = -1e-9; dy <= 1e-9 && !near; dy += 1e-9)
                            near = demo_poly_contains(&cells[k], x + dx, y + dy);
                assert_true(near);
            }
        }
    }
}

static void same_seed_same_map(void **state)
{
    (void)state;
    struct demo_poly district, a[8], b[8], c[8];
    demo_geo_district(&district);
    struct rng r1, r2, r3;
    rng_seed(&r1, 5);
    rng_seed(&r2, 5);
    rng_seed(&r3, 6);
    demo_poly_split(&district, 8, &r1, a);
    demo_poly_split(&district, 8, &r2, b);
    demo_poly_split(&district, 8, &r3, c);
    assert_memory_equal(a, b, sizeof a);
    assert_memory_not_equal(a, c, sizeof a);
}

static void points_inside_and_found_by_code(void **state)
{
    (void)state;
    struct demo_poly district, streets[8];
    demo_geo_district(&district);
    struct rng r;
    rng_seed(&r, 9);
    demo_poly_split(&district, 8, &r, streets);
    const int64_t base = 440305000000000000LL;
    demo_geo_put(base, &district);
    /* a grid of the 3rd street, put in code order (the contract) */
    int64_t grid = base + 3 * 1000000000LL + 1000000LL + 1000LL;
    for (int k = 0; k < 8; k++) {
        demo_geo_put(base + (k + 1) * 1000000000LL, &streets[k]);
        if (k == 2)
            demo_geo_put(grid, &streets[2]);
    }
    assert_ptr_equal(demo_geo_find(base + 2 * 1000000000LL), demo_geo_find(base + 2000000000LL));
    assert_null(demo_geo_find(base + 9 * 1000000000LL));
    for (int t = 0; t < 200; t++) {
        double x, y;
        assert_true(demo_geo_point(base + 5 * 1000000000LL, &r, &x, &y));
        assert_true(demo_poly_contains(&streets[4], x, y));
        assert_true(demo_poly_contains(&streets[4], x + 0.0002, y + 0.0002));
        assert_true(demo_poly_contains(&streets[4], x - 0.0002, y - 0.0002));
        /* a building: inside its grid */
        assert_true(demo_geo_point(grid + 7, &r, &x, &y));
        assert_true(demo_poly_contains(&streets[2], x, y));
    }
    double x, y;
    assert_false(demo_geo_point(base + 9 * 1000000000LL, &r, &x, &y));
    demo_geo_reset();
    assert_null(demo_geo_find(base));
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(split_tiles_the_parent),
        cmocka_unit_test(same_seed_same_map),
        cmocka_unit_test(points_inside_and_found_by_code),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
