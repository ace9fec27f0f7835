/*
 * Plane geometry of polygons in longitude/latitude: the shapes of zones
 * drawn on a map. No epidemic knowledge and no database.
 *
 * A shape is a GeoJSON Polygon or MultiPolygon read by geo_parse, the one
 * reader of polygons (region boundaries, zones): every ring closed (first
 * position equal to the last) with at least 4 positions, [lng, lat] (or
 * [lng, lat, altitude]) numbers in range, at most a given number of
 * positions in all. On top of that, geo_check says whether the shape is
 * simple:
 *   - no edge of zero length (two equal consecutive positions);
 *   - no two edges of any rings of the shape meet, except consecutive
 *     edges of one ring at their shared vertex (and there only at it: a
 *     spike that folds back on itself is refused);
 *   - every hole lies inside its polygon's outer ring.
 * The test is over the pairs of edges whose x ranges overlap (O(n^2) at
 * worst), so a shape checked may have at most GEO_VERTICES_MAX positions:
 * 2,000 positions are at most 2,000,000 pair tests, a few milliseconds.
 *
 * Longitude and latitude are treated as plane coordinates: over the few
 * kilometres of a zone the distortion does not move a building across an
 * edge drawn by hand.
 */
#ifndef FK_BASE_GEO_H
#define FK_BASE_GEO_H

#include <jansson.h>
#include <stdbool.h>
#include <stddef.h>

#include "base/arena.h"
#include "base/error.h"

/* Positions a shape may have in all (the pair test is quadratic). */
#define GEO_VERTICES_MAX 2000

struct geo_ring {
    size_t n; /* positions, the closing one included (first == last) */
    const double *x, *y;
};

struct geo_polygon {
    size_t n_rings; /* rings[0] the outer ring, the others holes */
    const struct geo_ring *rings;
};

struct geo_shape {
    bool multi; /* read from a MultiPolygon */
    size_t n_polygons;
    const struct geo_polygon *polygons;
    size_t n_vertices;
    double min_x, min_y, max_x, max_y; /* the bounding box */
};

/*
 * Read a Polygon or MultiPolygon geometry (`g`, borrowed; other members such
 * as bbox ignored) into *s_r, its arrays in `a`. Anything else, or more than
 * max_vertices positions, is E_INPUT "invalid_boundary" on `field` with a
 * Chinese message saying what is wrong.
 */
err geo_parse(json_t *g, const char *field, size_t max_vertices, arena *a,
              struct geo_shape *s_r) MUST_USE;

/* Is the shape simple (see above)? E_INPUT "invalid_boundary" on `field`
 * with a Chinese message naming what is wrong; more than GEO_VERTICES_MAX
 * positions is refused too. */
err geo_check(const struct geo_shape *s, const char *field) MUST_USE;

/* The shape as compact GeoJSON geometry text {"type","coordinates"} (2-D
 * positions, 15 significant digits), in `a`. */
const char *geo_text(const struct geo_shape *s, arena *a);

/* Is (x, y) inside the shape: inside an outer ring and outside its holes?
 * A point exactly on an edge may fall either way. */
bool geo_contains(const struct geo_shape *s, double x, double y);

#endif
