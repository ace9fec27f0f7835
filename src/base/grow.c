/*
 * The growing array of base/grow.h, its slow path: capacity arithmetic
 * checked against overflow, one realloc, the caller's pointer replaced only
 * on success.
 */
#include "base/grow.h"

#include <assert.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

bool grow_realloc(void *pp, size_t *cap_r, size_t n, size_t more, size_t size, size_t first)
{
    assert(n <= *cap_r && size > 0);
    if (more <= *cap_r - n)
        return true;
    if (more > SIZE_MAX - n)
        return false;
    size_t need = n + more;
    size_t cap = *cap_r ? *cap_r : first ? first : 1;
    while (cap < need) {
        if (cap > SIZE_MAX / 2)
            return false;
        cap *= 2;
    }
    if (cap > SIZE_MAX / size)
        return false;
    /* the caller's pointer is a `T *`, not a `void *`: read and write it as
     * bytes (every object pointer has the same representation here) */
    void *p;
    memcpy(&p, pp, sizeof p);
    void *q = realloc(p, cap * size);
    if (!q)
        return false;
    memcpy(pp, &q, sizeof q);
    *cap_r = cap;
    return true;
}
