/*
 * The permission set (security/rbac.h): a bitset that holds bits past 64,
 * so the permission enum can grow; the set operations the role rules use;
 * the built-in roles' grants as sets.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>

#include <cmocka.h>

#include "security/rbac.h"

/* A bit past the first word is held, and only that bit. */
static void holds_bit_70(void **state)
{
    (void)state;
    assert_true(PERM_SET_BITS > 70);
    perm_set s = {{0}};
    assert_true(perm_set_empty(s));
    perm_set_add(&s, (enum perm)70);
    assert_true(perm_set_has(s, (enum perm)70));
    assert_false(perm_set_has(s, (enum perm)(70 - 64))); /* not folded into the first word */
    assert_false(perm_set_has(s, (enum perm)71));
    assert_false(perm_set_empty(s));
    perm_set_add(&s, (enum perm)(PERM_SET_BITS - 1)); /* the last bit */
    assert_true(perm_set_has(s, (enum perm)(PERM_SET_BITS - 1)));
    perm_set t = {{0}};
    perm_set_add(&t, (enum perm)70);
    assert_false(perm_set_equal(s, t));
    assert_true(perm_set_equal(perm_set_inter(s, t), t));
    assert_true(perm_set_empty(perm_set_minus(t, s)));
    assert_true(perm_set_equal(perm_set_union(t, s), s));
}

static void operations(void **state)
{
    (void)state;
    perm_set a = PERMS(PERM_PERSON_READ, PERM_PERSON_WRITE);
    perm_set b = PERMS(PERM_PERSON_WRITE, PERM_AUDIT_READ);
    assert_true(perm_set_has(a, PERM_PERSON_READ));
    assert_false(perm_set_has(a, PERM_AUDIT_READ));
    assert_true(perm_set_equal(perm_set_inter(a, b), PERMS(PERM_PERSON_WRITE)));
    assert_true(perm_set_equal(perm_set_minus(a, b), PERMS(PERM_PERSON_READ)));
    assert_true(perm_set_equal(perm_set_union(a, b),
                               PERMS(PERM_PERSON_READ, PERM_PERSON_WRITE, PERM_AUDIT_READ)));
    /* every permission fits, the last one included */
    perm_set all = {{0}};
    for (int p = 1; p < PERM__COUNT; p++)
        perm_set_add(&all, (enum perm)p);
    for (int p = 1; p < PERM__COUNT; p++)
        assert_true(perm_set_has(all, (enum perm)p));
    assert_false(perm_set_has(all, PERM_NONE));
}

static void builtin_grants(void **state)
{
    (void)state;
    perm_set audit = builtin_role_perms(builtin_role_find("audit_admin"));
    assert_true(perm_set_equal(audit, PERMS(PERM_AUDIT_READ)));
    perm_set citizen = builtin_role_perms(builtin_role_find("citizen"));
    assert_true(perm_set_equal(citizen, PERMS(PERM_SELF, PERM_REGION_READ)));
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(holds_bit_70),
        cmocka_unit_test(operations),
        cmocka_unit_test(builtin_grants),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
