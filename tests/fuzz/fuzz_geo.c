/* Zone polygons (base/geo.h): any JSON read as a geometry, the simplicity
 * test over every pair of edges, and point in polygon at the box's corners
 * and centre. A shape that passes geo_check passes it again. */
#include <jansson.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>

#include "base/arena.h"
#include "base/error.h"
#include "base/geo.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t n);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t n)
{
    json_t *g = json_loadb((const char *)data, n, JSON_DECODE_ANY, NULL);
    if (!g)
        return 0;
    arena *a = arena_new(4096);
    struct geo_shape s;
    if (geo_parse(g, "boundary", GEO_VERTICES_MAX, a, &s) == E_OK) {
        err first = geo_check(&s, "boundary");
        if (geo_check(&s, "boundary") != first)
            abort();
        double xs[] = {s.min_x, (s.min_x + s.max_x) / 2, s.max_x};
        double ys[] = {s.min_y, (s.min_y + s.max_y) / 2, s.max_y};
        for (int i = 0; i < 3; i++)
            for (int k = 0; k < 3; k++)
                (void)geo_contains(&s, xs[i], ys[k]);
    }
    arena_free(&a);
    json_decref(g);
    err_clear();
    return 0;
}
