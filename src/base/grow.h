/*
 * A growing array: room for more elements in a malloc'd array that the caller
 * owns, with its element count and its capacity kept beside it.
 *
 * Why one helper: the same lines ("if full, double the capacity, realloc,
 * check") were written again in some thirty places, each free to forget that
 * `cap * size` can wrap or to lose the array when realloc fails. Here they are
 * written once: the capacity doubles, the byte count is checked before it is
 * computed, and a failure leaves the array as it was. What a failure means
 * (E_NOMEM, abort, a flag) stays with each caller. For memory whose lifetime
 * is a request, use the arena (base/arena.h) instead.
 */
#ifndef FK_BASE_GROW_H
#define FK_BASE_GROW_H

#include <assert.h>
#include <stdbool.h>
#include <stddef.h>

/* The growth itself, out of line: grow_room's slow path, not for callers. */
bool grow_realloc(void *pp, size_t *cap_r, size_t n, size_t more, size_t size, size_t first)
    __attribute__((warn_unused_result));

/*
 * Make room for `more` elements of `size` bytes after the first `n` of the
 * array at *pp (pp is the address of the caller's pointer, `T **`; the array
 * is NULL or from malloc), whose capacity is *cap_r elements, n <= *cap_r.
 *
 * When n + more already fit, nothing changes. Otherwise the capacity becomes
 * `first` when it was 0 (1 if `first` is 0) or twice what it was, doubled
 * again until n + more fit, and the array is realloc'd to it: the n elements
 * are kept, the pointer may move, the rest is uninitialized.
 *
 * True on success. False, with *pp and *cap_r untouched (the array and its
 * elements still belong to the caller, to use or free), when memory is gone
 * or when n + more, the doubled capacity or its size in bytes would not fit
 * in a size_t. Nothing is reported: the caller fails its own way.
 *
 * Inline, so that a push in a hot loop costs the one comparison it cost
 * when written by hand.
 */
__attribute__((warn_unused_result)) static inline bool
grow_room(void *pp, size_t *cap_r, size_t n, size_t more, size_t size, size_t first)
{
    assert(n <= *cap_r);
    return more <= *cap_r - n || grow_realloc(pp, cap_r, n, more, size, first);
}

/* grow_room for a typed array, the element size taken from the pointer:
 * `if (!GROW(&v, &cap, n, 1, 64)) return E_NOMEM; v[n++] = x;` */
#define GROW(pp, cap_r, n, more, first)                                                            \
    grow_room((pp), (cap_r), (n), (more), sizeof **(pp), (first))

#endif
