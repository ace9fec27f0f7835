/*
 * The demo city's geography (issue 12 "One-map big screen"): an irregular
 * outline of the district, split into streets, communities and grids by
 * Voronoi cells of random sites clipped to the parent (a few Lloyd steps so
 * the cells look like administrative areas, not slivers), so the children
 * of a region tile it exactly and every cell is convex; and points inside
 * a region for what stands in it (buildings, places, sites, cameras).
 *
 * The polygons built are remembered by code until demo_geo_reset, so the
 * demo's later steps can place things inside their region without reading
 * the boundaries back. Everything follows from the seed: the same seed
 * gives the same map. Single-threaded, like the rest of `fangkong demo`.
 */
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "base/grow.h"
#include "demo/demo.h"

/* Nanshan district, an outline after the real one (the Shekou peninsula
 * to the south, the hills to the north), counter-clockwise. */
static const double district_outline[][2] = {
    {113.905, 22.478}, {113.935, 22.472}, {113.958, 22.486}, {113.985, 22.505},
    {113.996, 22.540}, {113.993, 22.585}, {113.965, 22.603}, {113.925, 22.606},
    {113.893, 22.590}, {113.880, 22.555}, {113.884, 22.515},
};

/* Lloyd steps per split: enough to even out the cells, few enough to keep
 * them irregular. */
#define LLOYD 2

struct geo_entry {
    int64_t code;
    struct demo_poly poly;
};

static struct geo_entry *entries;
static size_t n_entries, cap_entries;

void demo_geo_reset(void)
{
    free(entries);
    entries = NULL;
    n_entries = cap_entries = 0;
}

void demo_geo_district(struct demo_poly *p)
{
    p->n = (int)(sizeof district_outline / sizeof district_outline[0]);
    for (int i = 0; i < p->n; i++) {
        p->x[i] = district_outline[i][0];
        p->y[i] = district_outline[i][1];
    }
}

/* Keep the part of p where a*x + b*y <= c (Sutherland-Hodgman on one
 * edge; a convex polygon stays convex). */
static void clip(struct demo_poly *p, double a, double b, double c)
{
    struct demo_poly out = {0};
    for (int i = 0; i < p->n; i++) {
        int j = (i + 1) % p->n;
        double fi = a * p->x[i] + b * p->y[i] - c, fj = a * p->x[j] + b * p->y[j] - c;
        if (fi <= 0 && out.n < DEMO_POLY_MAX) {
            out.x[out.n] = p->x[i];
            out.y[out.n++] = p->y[i];
        }
        if (((fi < 0 && fj > 0) || (fi > 0 && fj < 0)) && out.n < DEMO_POLY_MAX) {
            double t = fi / (fi - fj);
            out.x[out.n] = p->x[i] + t * (p->x[j] - p->x[i]);
            out.y[out.n++] = p->y[i] + t * (p->y[j] - p->y[i]);
        }
    }
    *p = out;
}

static double area_centroid(const struct demo_poly *p, double *cx, double *cy)
{
    double a = 0, x = 0, y = 0;
    for (int i = 0; i < p->n; i++) {
        int j = (i + 1) % p->n;
        /* relative to the first vertex: small numbers, no cancellation */
        double xi = p->x[i] - p->x[0], yi = p->y[i] - p->y[0];
        double xj = p->x[j] - p->x[0], yj = p->y[j] - p->y[0];
        double k = xi * yj - xj * yi;
        a += k;
        x += (xi + xj) * k;
        y += (yi + yj) * k;
    }
    if (fabs(a) < 1e-18) {
        *cx = p->x[0];
        *cy = p->y[0];
        return 0;
    }
    *cx = p->x[0] + x / (3 * a);
    *cy = p->y[0] + y / (3 * a);
    return a / 2;
}

bool demo_poly_contains(const struct demo_poly *p, double x, double y)
{
    if (p->n < 3)
        return false;
    for (int i = 0; i < p->n; i++) {
        int j = (i + 1) % p->n;
        /* counter-clockwise: the inside is on the left of every edge */
        if ((p->x[j] - p->x[i]) * (y - p->y[i]) - (p->y[j] - p->y[i]) * (x - p->x[i]) <= 0)
            return false;
    }
    return true;
}

void demo_poly_point(const struct demo_poly *p, struct rng *r, double margin, double *x_r,
                     double *y_r)
{
    double x0 = p->x[0], x1 = p->x[0], y0 = p->y[0], y1 = p->y[0];
    for (int i = 1; i < p->n; i++) {
        x0 = fmin(x0, p->x[i]);
        x1 = fmax(x1, p->x[i]);
        y0 = fmin(y0, p->y[i]);
        y1 = fmax(y1, p->y[i]);
    }
    for (int tries = 0; tries < 1000; tries++) {
        double x = x0 + (x1 - x0) * (double)rng_below(r, 1000000) / 1e6;
        double y = y0 + (y1 - y0) * (double)rng_below(r, 1000000) / 1e6;
        /* the point and a square of half-side `margin` around it inside */
        if (demo_poly_contains(p, x, y) && demo_poly_contains(p, x - margin, y - margin) &&
            demo_poly_contains(p, x + margin, y - margin) &&
            demo_poly_contains(p, x + margin, y + margin) &&
            demo_poly_contains(p, x - margin, y + margin)) {
            *x_r = x;
            *y_r = y;
            return;
        }
    }
    /* a cell too thin for the margin: its centroid, inside a convex cell */
    area_centroid(p, x_r, y_r);
}

/* The Voronoi cell of site k among sites, inside parent. */
static void cell(const struct demo_poly *parent, const double *sx, const double *sy, int n, int k,
                 struct demo_poly *out)
{
    *out = *parent;
    for (int j = 0; j < n && out->n; j++) {
        if (j == k)
            continue;
        /* nearer to k than to j: (sj - sk) . p <= (|sj|^2 - |sk|^2) / 2,
         * written around sk so the numbers stay small */
        double a = sx[j] - sx[k], b = sy[j] - sy[k];
        double c = (a * a + b * b) / 2 + a * sx[k] + b * sy[k];
        clip(out, a, b, c);
    }
}

void demo_poly_split(const struct demo_poly *parent, int n, struct rng *r, struct demo_poly *out)
{
    double *sx = malloc(sizeof(double) * (size_t)n), *sy = malloc(sizeof(double) * (size_t)n);
    if (!sx || !sy)
        abort();
    for (int k = 0; k < n; k++)
        demo_poly_point(parent, r, 0, &sx[k], &sy[k]);
    for (int step = 0; step <= LLOYD; step++) {
        for (int k = 0; k < n; k++)
            cell(parent, sx, sy, n, k, &out[k]);
        if (step == LLOYD)
            break;
        /* move each site to its cell's centroid: rounder, more even cells */
        for (int k = 0; k < n; k++)
            if (out[k].n >= 3)
                area_centroid(&out[k], &sx[k], &sy[k]);
    }
    /* order the cells west to east, then south to north, so that the codes
     * read across the map rather than at random */
    for (int i = 1; i < n; i++) {
        struct demo_poly t = out[i];
        double tx = sx[i], ty = sy[i];
        int j = i;
        while (j > 0 &&
               (sy[j - 1] > ty + 0.004 || (fabs(sy[j - 1] - ty) <= 0.004 && sx[j - 1] > tx))) {
            out[j] = out[j - 1];
            sx[j] = sx[j - 1];
            sy[j] = sy[j - 1];
            j--;
        }
        out[j] = t;
        sx[j] = tx;
        sy[j] = ty;
    }
    free(sx);
    free(sy);
}

void demo_geo_put(int64_t code, const struct demo_poly *p)
{
    if (!GROW(&entries, &cap_entries, n_entries, 1, 256))
        abort();
    entries[n_entries].code = code;
    entries[n_entries++].poly = *p;
}

const struct demo_poly *demo_geo_find(int64_t code)
{
    /* put in code order by the builder (parents before children, in code
     * order), so a binary search finds it */
    size_t lo = 0, hi = n_entries;
    while (lo < hi) {
        size_t mid = (lo + hi) / 2;
        if (entries[mid].code < code)
            lo = mid + 1;
        else
            hi = mid;
    }
    return lo < n_entries && entries[lo].code == code ? &entries[lo].poly : NULL;
}

bool demo_geo_point(int64_t code, struct rng *r, double *lng_r, double *lat_r)
{
    const struct demo_poly *p = demo_geo_find(code);
    /* a building has no cell of its own here: its grid's */
    if (!p)
        p = demo_geo_find(code - code % 1000);
    if (!p)
        return false;
    demo_poly_point(p, r, 0.0002, lng_r, lat_r);
    return true;
}
