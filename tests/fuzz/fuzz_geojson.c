/* Region boundaries (API bodies and GeoJSON imports): the polygon checker
 * that normalises the geometry and computes its centroid. */
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "base/arena.h"
#include "base/error.h"
#include "region/region.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t n);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t n)
{
    char *s = malloc(n + 1);
    memcpy(s, data, n);
    s[n] = '\0';
    arena *a = arena_new(4096);
    const char *norm;
    double lng, lat;
    if (region_boundary_check(s, "boundary", a, &norm, &lng, &lat) == E_OK) {
        /* the normal form is itself a valid boundary with the same centre */
        const char *again;
        double lng2, lat2;
        if (region_boundary_check(norm, "boundary", a, &again, &lng2, &lat2) != E_OK ||
            strcmp(norm, again) != 0)
            abort();
        (void)region_center_check(lng, lat, "center");
    }
    arena_free(&a);
    free(s);
    err_clear();
    return 0;
}
