/*
 * Polygon geometry (base/geo.h): reading a checked GeoJSON geometry, the
 * simplicity test over every pair of edges, and point in polygon.
 */
#include "base/geo.h"

#include <math.h>
#include <stdlib.h>
#include <string.h>

static err bad(const char *field, const char *why)
{
    return err_set(E_INPUT, "invalid_boundary", field, "边界不是有效的 GeoJSON 多边形：%s", why);
}

/* One ring: an array of [x, y] or [x, y, z] positions in range, closed, at
 * least 4; `budget` positions may still be read. */
static err ring_read(json_t *v, const char *field, arena *a, size_t *budget, size_t cap,
                     struct geo_ring *r)
{
    if (!json_is_array(v))
        return bad(field, "环应为坐标数组");
    size_t n = json_array_size(v);
    if (n < 4)
        return bad(field, "每个环至少需要 4 个坐标点");
    if (n > *budget)
        return err_set(E_INPUT, "invalid_boundary", field, "边界的坐标点不能超过 %zu 个", cap);
    *budget -= n;
    double *x = arena_alloc(a, 2 * n * sizeof *x), *y = x + n;
    for (size_t i = 0; i < n; i++) {
        json_t *p = json_array_get(v, i);
        size_t dim = json_is_array(p) ? json_array_size(p) : 0;
        json_t *px = json_array_get(p, 0), *py = json_array_get(p, 1);
        /* a third number, an altitude, is allowed and dropped */
        if (dim < 2 || dim > 3 || !json_is_number(px) || !json_is_number(py) ||
            (dim == 3 && !json_is_number(json_array_get(p, 2))))
            return bad(field, "坐标点应为 [经度, 纬度] 数字数组");
        x[i] = json_number_value(px);
        y[i] = json_number_value(py);
        if (!isfinite(x[i]) || !isfinite(y[i]) || x[i] < -180 || x[i] > 180 || y[i] < -90 ||
            y[i] > 90)
            return bad(field, "经度应在 -180 到 180 之间，纬度应在 -90 到 90 之间");
    }
    if (x[0] != x[n - 1] || y[0] != y[n - 1])
        return bad(field, "环的首尾坐标点必须相同（闭合）");
    *r = (struct geo_ring){n, x, y};
    return E_OK;
}

static err polygon_read(json_t *v, const char *field, arena *a, size_t *budget, size_t cap,
                        struct geo_polygon *p)
{
    size_t n = json_is_array(v) ? json_array_size(v) : 0;
    if (!n)
        return bad(field, "多边形应至少包含一个环");
    struct geo_ring *rings = arena_alloc(a, n * sizeof *rings);
    for (size_t i = 0; i < n; i++) {
        err e = ring_read(json_array_get(v, i), field, a, budget, cap, &rings[i]);
        if (e)
            return e;
    }
    *p = (struct geo_polygon){n, rings};
    return E_OK;
}

err geo_parse(json_t *g, const char *field, size_t max_vertices, arena *a, struct geo_shape *s_r)
{
    if (!json_is_object(g))
        return bad(field, "应为 GeoJSON 几何对象");
    const char *type = json_string_value(json_object_get(g, "type"));
    json_t *c = json_object_get(g, "coordinates");
    bool multi = type && !strcmp(type, "MultiPolygon");
    if (!type || (!multi && strcmp(type, "Polygon")))
        return bad(field, "类型应为 Polygon 或 MultiPolygon");
    size_t np = multi ? (json_is_array(c) ? json_array_size(c) : 0) : 1;
    if (!np)
        return bad(field, "MultiPolygon 应至少包含一个多边形");
    struct geo_polygon *polys = arena_alloc(a, np * sizeof *polys);
    size_t budget = max_vertices;
    for (size_t i = 0; i < np; i++) {
        err e = polygon_read(multi ? json_array_get(c, i) : c, field, a, &budget, max_vertices,
                             &polys[i]);
        if (e)
            return e;
    }
    struct geo_shape s = {multi,    np,       polys,     max_vertices - budget,
                          INFINITY, INFINITY, -INFINITY, -INFINITY};
    for (size_t i = 0; i < np; i++)
        for (size_t k = 0; k < polys[i].rings[0].n; k++) {
            const struct geo_ring *r = &polys[i].rings[0];
            s.min_x = fmin(s.min_x, r->x[k]);
            s.max_x = fmax(s.max_x, r->x[k]);
            s.min_y = fmin(s.min_y, r->y[k]);
            s.max_y = fmax(s.max_y, r->y[k]);
        }
    *s_r = s;
    return E_OK;
}

const char *geo_text(const struct geo_shape *s, arena *a)
{
    json_t *polys = json_array();
    for (size_t p = 0; p < s->n_polygons; p++) {
        json_t *rings = json_array();
        for (size_t r = 0; r < s->polygons[p].n_rings; r++) {
            const struct geo_ring *g = &s->polygons[p].rings[r];
            json_t *ring = json_array();
            for (size_t i = 0; i < g->n; i++)
                json_array_append_new(ring, json_pack("[ff]", g->x[i], g->y[i]));
            json_array_append_new(rings, ring);
        }
        json_array_append_new(polys, rings);
    }
    json_t *o = json_pack("{s:s,s:o}", "type", s->multi ? "MultiPolygon" : "Polygon", "coordinates",
                          s->multi ? polys : json_incref(json_array_get(polys, 0)));
    if (!s->multi)
        json_decref(polys);
    char *text = json_dumps(o, JSON_COMPACT | JSON_REAL_PRECISION(15));
    json_decref(o);
    const char *out = arena_strdup(a, text ? text : "");
    free(text);
    return out;
}

/* ---- simplicity ---------------------------------------------------------------- */

/* The sign of the turn a -> b -> c: 1 left, -1 right, 0 collinear. */
static int turn(double ax, double ay, double bx, double by, double cx, double cy)
{
    double v = (bx - ax) * (cy - ay) - (by - ay) * (cx - ax);
    return (v > 0) - (v < 0);
}

/* Is c, collinear with a-b, within the box of a-b? */
static bool on_segment(double ax, double ay, double bx, double by, double cx, double cy)
{
    return fmin(ax, bx) <= cx && cx <= fmax(ax, bx) && fmin(ay, by) <= cy && cy <= fmax(ay, by);
}

/* Do the closed segments p1-p2 and q1-q2 share any point? */
static bool segments_meet(const double *p1, const double *p2, const double *q1, const double *q2)
{
    int d1 = turn(q1[0], q1[1], q2[0], q2[1], p1[0], p1[1]);
    int d2 = turn(q1[0], q1[1], q2[0], q2[1], p2[0], p2[1]);
    int d3 = turn(p1[0], p1[1], p2[0], p2[1], q1[0], q1[1]);
    int d4 = turn(p1[0], p1[1], p2[0], p2[1], q2[0], q2[1]);
    if (d1 * d2 < 0 && d3 * d4 < 0)
        return true;
    return (!d1 && on_segment(q1[0], q1[1], q2[0], q2[1], p1[0], p1[1])) ||
           (!d2 && on_segment(q1[0], q1[1], q2[0], q2[1], p2[0], p2[1])) ||
           (!d3 && on_segment(p1[0], p1[1], p2[0], p2[1], q1[0], q1[1])) ||
           (!d4 && on_segment(p1[0], p1[1], p2[0], p2[1], q2[0], q2[1]));
}

/* Every edge of the shape, flattened: (ring number, index in ring, ends). */
struct edge {
    size_t ring, i, n; /* n: edges of its ring */
    double a[2], b[2];
    double lo_x, hi_x;
};

static int by_lo_x(const void *p, const void *q)
{
    const struct edge *a = p, *b = q;
    return (a->lo_x > b->lo_x) - (a->lo_x < b->lo_x);
}

/* Consecutive edges of one ring (i and i+1, and the last with the first). */
static bool adjacent(const struct edge *e, const struct edge *f)
{
    if (e->ring != f->ring)
        return false;
    size_t d = e->i > f->i ? e->i - f->i : f->i - e->i;
    return d == 1 || d == e->n - 1;
}

/* Adjacent edges share one vertex; they fold back on each other when
 * collinear and pointing back (the far end of one lies on the other). */
static bool folds(const struct edge *e, const struct edge *f)
{
    const double *pe = e->a, *qe = e->b, *pf = f->a, *qf = f->b;
    const double *shared, *far_e, *far_f;
    if (qe[0] == pf[0] && qe[1] == pf[1]) {
        shared = qe, far_e = pe, far_f = qf;
    } else {
        shared = pe, far_e = qe, far_f = pf;
    }
    if (turn(shared[0], shared[1], far_e[0], far_e[1], far_f[0], far_f[1]))
        return false;
    /* collinear: a fold when both far ends lie on the same side of the vertex */
    return (far_e[0] - shared[0]) * (far_f[0] - shared[0]) +
               (far_e[1] - shared[1]) * (far_f[1] - shared[1]) >
           0;
}

/* Is (x, y) inside the ring (even-odd, a ray towards +x)? */
static bool ring_contains(const struct geo_ring *r, double x, double y)
{
    bool in = false;
    for (size_t i = 0, j = r->n - 2; i + 1 < r->n; j = i++) {
        if ((r->y[i] > y) != (r->y[j] > y) &&
            x < (r->x[j] - r->x[i]) * (y - r->y[i]) / (r->y[j] - r->y[i]) + r->x[i])
            in = !in;
    }
    return in;
}

err geo_check(const struct geo_shape *s, const char *field)
{
    if (s->n_vertices > GEO_VERTICES_MAX)
        return err_set(E_INPUT, "invalid_boundary", field, "绘制的区域坐标点不能超过 %d 个",
                       GEO_VERTICES_MAX);
    size_t n = 0, ring = 0;
    struct edge *edges = malloc(s->n_vertices * sizeof *edges);
    if (!edges)
        return err_set(E_NOMEM, NULL, NULL, NULL);
    for (size_t p = 0; p < s->n_polygons; p++)
        for (size_t r = 0; r < s->polygons[p].n_rings; r++, ring++) {
            const struct geo_ring *g = &s->polygons[p].rings[r];
            for (size_t i = 0; i + 1 < g->n; i++) {
                if (g->x[i] == g->x[i + 1] && g->y[i] == g->y[i + 1]) {
                    free(edges);
                    return bad(field, "相邻的两个坐标点相同");
                }
                edges[n++] = (struct edge){ring,
                                           i,
                                           g->n - 1,
                                           {g->x[i], g->y[i]},
                                           {g->x[i + 1], g->y[i + 1]},
                                           fmin(g->x[i], g->x[i + 1]),
                                           fmax(g->x[i], g->x[i + 1])};
            }
        }
    /* a sweep along x: only edges whose x ranges overlap can meet */
    qsort(edges, n, sizeof *edges, by_lo_x);
    for (size_t i = 0; i < n; i++)
        for (size_t j = i + 1; j < n && edges[j].lo_x <= edges[i].hi_x; j++) {
            const struct edge *e = &edges[i], *f = &edges[j];
            bool meet = adjacent(e, f) ? folds(e, f) : segments_meet(e->a, e->b, f->a, f->b);
            if (meet) {
                bool same = e->ring == f->ring;
                free(edges);
                return bad(field, same ? "边界自相交" : "多边形的环之间相交或相接");
            }
        }
    free(edges);
    /* with no edges meeting, a hole is inside its outer ring when one of
     * its vertices is */
    for (size_t p = 0; p < s->n_polygons; p++)
        for (size_t r = 1; r < s->polygons[p].n_rings; r++) {
            const struct geo_ring *h = &s->polygons[p].rings[r];
            if (!ring_contains(&s->polygons[p].rings[0], h->x[0], h->y[0]))
                return bad(field, "内环（洞）必须位于外环之内");
        }
    return E_OK;
}

bool geo_contains(const struct geo_shape *s, double x, double y)
{
    if (x < s->min_x || x > s->max_x || y < s->min_y || y > s->max_y)
        return false;
    for (size_t p = 0; p < s->n_polygons; p++) {
        const struct geo_polygon *g = &s->polygons[p];
        if (!ring_contains(&g->rings[0], x, y))
            continue;
        bool in_hole = false;
        for (size_t r = 1; r < g->n_rings && !in_hole; r++)
            in_hole = ring_contains(&g->rings[r], x, y);
        if (!in_hole)
            return true;
    }
    return false;
}
