/*
 * Unit tests of base/grow: the first capacity, doubling, room for several
 * elements at once, nothing done when the room is there, the elements kept
 * across a move, and the refusals (n + more, the doubling or the byte count
 * past SIZE_MAX, realloc failing) that leave the array and its capacity as
 * they were.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <stdbool.h>
#include <stdlib.h>
#include <string.h>

#include "base/grow.h"

/* Under ASan, a refused allocation must come back as NULL, as it does from
 * glibc, instead of ending the program (the realloc failure test). */
const char *__asan_default_options(void);
const char *__asan_default_options(void)
{
    return "allocator_may_return_null=1";
}

static void first_capacity_then_doubling(void **state)
{
    (void)state;
    int *v = NULL;
    size_t n = 0, cap = 0;
    assert_true(GROW(&v, &cap, n, 1, 4));
    assert_non_null(v);
    assert_int_equal(cap, 4);
    for (int i = 0; i < 100; i++) {
        size_t before = cap;
        assert_true(GROW(&v, &cap, n, 1, 4));
        assert_int_equal(cap, n == before ? 2 * before : before);
        v[n++] = i;
    }
    assert_int_equal(cap, 128);
    for (int i = 0; i < 100; i++)
        assert_int_equal(v[i], i); /* kept across every move */
    free(v);

    double *d = NULL; /* a first capacity of 0 means 1 */
    size_t dcap = 0;
    assert_true(GROW(&d, &dcap, 0, 1, 0));
    assert_int_equal(dcap, 1);
    assert_true(GROW(&d, &dcap, 1, 1, 0));
    assert_int_equal(dcap, 2);
    free(d);
}

static void room_for_several(void **state)
{
    (void)state;
    char *p = NULL;
    size_t n = 0, cap = 0;
    assert_true(GROW(&p, &cap, n, 3, 8)); /* fits in the first capacity */
    assert_int_equal(cap, 8);
    memcpy(p, "abc", 3);
    n = 3;
    assert_true(GROW(&p, &cap, n, 5, 8)); /* exactly full: no growth */
    assert_int_equal(cap, 8);
    assert_true(GROW(&p, &cap, n, 40, 8)); /* 43: doubled until it fits */
    assert_int_equal(cap, 64);
    assert_memory_equal(p, "abc", 3);
    size_t cap0 = 0;
    char *q = NULL;
    assert_true(GROW(&q, &cap0, 0, 100, 8)); /* more than the first at once */
    assert_int_equal(cap0, 128);
    free(q);
    free(p);
}

static void no_change_when_it_fits(void **state)
{
    (void)state;
    long *v = NULL;
    size_t cap = 0;
    assert_true(GROW(&v, &cap, 0, 1, 16));
    long *was = v;
    for (size_t n = 0; n < 16; n++) {
        assert_true(GROW(&v, &cap, n, 1, 16));
        assert_ptr_equal(v, was);
        assert_int_equal(cap, 16);
    }
    assert_true(GROW(&v, &cap, 16, 0, 16)); /* nothing more */
    assert_int_equal(cap, 16);
    free(v);
}

static void untyped_elements(void **state)
{
    (void)state;
    void *p = NULL; /* elements of a size known only at run time */
    size_t cap = 0;
    assert_true(grow_room(&p, &cap, 0, 3, 24, 2));
    assert_int_equal(cap, 4);
    memset(p, 7, 3 * 24);
    assert_true(grow_room(&p, &cap, 4, 1, 24, 2));
    assert_int_equal(cap, 8);
    assert_int_equal(((unsigned char *)p)[3 * 24 - 1], 7);
    free(p);
}

/* Every refusal, for overflow or for want of memory, leaves the pointer, its
 * elements and the capacity alone. */
static void overflow_refused(void **state)
{
    (void)state;
    int *v = NULL;
    size_t n = 0, cap = 0;
    assert_true(GROW(&v, &cap, n, 4, 4));
    for (; n < 4; n++)
        v[n] = (int)n + 10;
    int *was = v;

    /* n + more wraps */
    assert_false(GROW(&v, &cap, n, SIZE_MAX - 1, 4));
    /* the doubling would pass SIZE_MAX (the elements are bytes here) */
    char *b = NULL;
    size_t bcap = 0;
    assert_true(GROW(&b, &bcap, 0, 1, 8));
    char *bwas = b;
    assert_false(GROW(&b, &bcap, 1, SIZE_MAX / 2 + 2, 8));
    assert_ptr_equal(b, bwas);
    assert_int_equal(bcap, 8);
    free(b);
    /* the capacity fits a size_t but its bytes do not: 8 * (SIZE_MAX / 4)
     * would wrap to a small number and realloc would "succeed" */
    assert_false(grow_room(&v, &cap, n, SIZE_MAX / 4, 8, 4));
    assert_false(GROW(&v, &cap, n, SIZE_MAX / sizeof *v, 4));
    /* a first capacity whose bytes wrap to 8: 8 * (2^61 + 1) = 2^64 + 8 */
    long *w = NULL;
    size_t wcap = 0;
    assert_false(GROW(&w, &wcap, 0, 1, (SIZE_MAX >> 3) + 2));
    assert_null(w);
    assert_int_equal(wcap, 0);

    /* memory that cannot be had: 2^62 bytes pass every check but realloc
     * fails, as it does when memory is gone */
    assert_false(GROW(&v, &cap, n, (size_t)PTRDIFF_MAX / 16, 4));

    assert_ptr_equal(v, was);
    assert_int_equal(cap, 4);
    for (size_t i = 0; i < 4; i++)
        assert_int_equal(v[i], (int)i + 10);
    assert_true(GROW(&v, &cap, n, 1, 4)); /* and it still grows */
    assert_int_equal(cap, 8);
    free(v);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(first_capacity_then_doubling),
        cmocka_unit_test(room_for_several),
        cmocka_unit_test(no_change_when_it_fits),
        cmocka_unit_test(untyped_elements),
        cmocka_unit_test(overflow_refused),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
