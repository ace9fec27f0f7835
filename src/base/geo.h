/*
 * Plane geometry of polygons in longitude/latitude: the shapes of zones
 * drawn on a map. No epidemic knowledge and no database.
 *
 * A shape is a GeoJSON Polygon or MultiPolygon already checked for its
 * structure (closed rings of at least 4 positions, coordinates in range:
 * region_boundary_check in region/region.h, whose compact text geo_parse
 * reads). On top of that, geo_check says whether the shape is simple:
 *   - no edge of zero length (two equal consecutive positions);
 *   - no two edges of any rings of the shape meet, except consecutive
 *     edges of one ring at their shared vertex (and there only at it: a
 *     spike that folds back on itself is refused);
 *   - every hole lies inside its polygon's outer ring.
 * The test is over all pairs of edges (O(n^2)), so a shape may have at most
 * GEO_VERTICES_MAX positions: 2,000 positions are 2,000,000 pair tests, a
 * few milliseconds.
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
    size_t n_polygons;
    const struct geo_polygon *polygons;
    size_t n_vertices;
    double min_x, min_y, max_x, max_y; /* the bounding box */
};

/*
 * Read a checked Polygon or MultiPolygon geometry (`g`, borrowed) into *s_r,
 * its arrays in `a`. Anything not of that shape, or more than
 * GEO_VERTICES_MAX positions, is E_INPUT "invalid_boundary" on `field`.
 */
err geo_parse(json_t *g, const char *field, arena *a, struct geo_shape *s_r) MUST_USE;

/* Is the shape simple (see above)? E_INPUT "invalid_boundary" on `field`
 * with a Chinese message naming what is wrong. */
err geo_check(const struct geo_shape *s, const char *field) MUST_USE;

/* Is (x, y) inside the shape: inside an outer ring and outside its holes?
 * A point exactly on an edge may fall either way. */
bool geo_contains(const struct geo_shape *s, double x, double y);

#endif
