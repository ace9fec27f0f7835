/*
 * Database failures and allocation failures in the main modules, at every
 * point where they can happen (tests/unit/fault.h): each failure must come
 * back as the failure it is (E_DB or E_NOMEM, never "not found", "bad
 * input" or a default value), must leave nothing half-written, and must
 * leave the connection usable (no transaction left open). Run under ASan
 * too (make san), which also checks that the failure paths free what they
 * took.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>

#include <cmocka.h>

#include "fault.h"
#include "fixture.h"

#include "base/arena.h"
#include "base/regcode.h"
#include "code/code.h"
#include "person/person.h"
#include "place/place.h"
#include "region/region.h"
#include "security/crypto.h"
#include "user/user.h"
#include "venue/venue.h"

static db *D;
static arena *A;
static struct fixture_db F;
static int64_t PLACE, COMMUNITY;

static const char *const regions[] = {"110101000000", "110101001000", "110101001001"};
static const struct scope ALL = {0, REGCODE_SPACE};

static int64_t code(const char *s)
{
    enum region_level lv;
    return regcode_parse(s, &lv);
}

static int64_t rows(const char *table_count_sql)
{
    int64_t n = -1;
    assert_int_equal(db_query_int64(D, table_count_sql, &n), E_OK);
    return n;
}

/*
 * Walk every failure point of `op`: fail its 1st database operation, then
 * its 2nd, … until it runs without reaching the armed one. Each failed run
 * must return the injected class, change none of the counted rows and leave
 * no transaction open. Returns the number of failure points.
 */
static long walk(const char *what, err (*op)(int run), const char *count_sql, err kind)
{
    long points = 0;
    for (long n = 1; n < 1000; n++) {
        int64_t before = rows(count_sql);
        arena_reset(A);
        fault_arm(n, kind);
        err e = op((int)n);
        bool fired = fault_disarm();
        if (!fired) {
            if (e != E_OK)
                fail_msg("%s: fails (%d, %s) with no fault injected", what, e, err_last()->slug);
            break;
        }
        points++;
        if (e != kind && !(kind == E_NOMEM && e == E_DB))
            fail_msg("%s: fault %ld (%s) came back as err %d \"%s\"", what, n,
                     kind == E_DB ? "E_DB" : "E_NOMEM", e, err_last()->slug);
        assert_false(db_in_tx(D));
        if (rows(count_sql) != before)
            fail_msg("%s: fault %ld left a partial write", what, n);
    }
    assert_true(points > 0);
    print_message("%-22s %ld failure points\n", what, points);
    return points;
}

static err op_place_create(int run)
{
    char name[32];
    snprintf(name, sizeof name, "小区%d", run);
    struct place_input in = {.set = PL_NAME | PL_KIND | PL_REGION,
                             .name = name,
                             .kind = PLACE_COMMUNITY,
                             .region_code = COMMUNITY};
    int64_t id;
    return place_create(D, A, &ALL, &in, &id);
}

static err op_place_find(int run)
{
    (void)run;
    struct place p;
    return place_find(D, A, &ALL, PLACE, &p);
}

static err op_venue_create(int run)
{
    char name[32];
    snprintf(name, sizeof name, "东门%d", run);
    struct venue_input in = {.set = VF_NAME | VF_KIND | VF_PLACE,
                             .name = name,
                             .kind = VENUE_COMMUNITY_GATE,
                             .place_id = PLACE};
    int64_t id;
    return venue_create(D, A, &ALL, &in, &id);
}

static err op_region_create(int run)
{
    char name[32];
    snprintf(name, sizeof name, "网格%d", run);
    int64_t c = COMMUNITY + (int64_t)run * 1000; /* grid `run` of the community */
    struct region_input in = {
        .code = c, .level = LEVEL_GRID, .parent_code = COMMUNITY, .name = name};
    struct region r;
    return region_create(D, &ALL, &in, A, &r);
}

static err op_region_find(int run)
{
    (void)run;
    struct region r;
    return region_find(D, &ALL, COMMUNITY, true, A, &r);
}

/* perms set in main: a perm_set is built at run time */
static struct principal staff = {
    .user_id = 7,
    .region_code = 110101000000000000LL,
    .scope = {110101000000000000LL, 110102000000000000LL},
};

/* A valid resident id number for sequence `n` (born 1990-01-01 in 110101). */
static const char *id_number(int n)
{
    char first[24];
    snprintf(first, sizeof first, "11010119900101%03d", n % 1000);
    char *s = arena_printf(A, "%s?", first);
    static const int w[17] = {7, 9, 10, 5, 8, 4, 2, 1, 6, 3, 7, 9, 10, 5, 8, 4, 2};
    int sum = 0;
    for (int i = 0; i < 17; i++)
        sum += (s[i] - '0') * w[i];
    s[17] = "10X98765432"[sum % 11];
    return s;
}

static err op_person_create(int run)
{
    static int seq; /* each run a new person: runs that succeeded keep theirs */
    (void)run;
    struct person p = {.name = "张三",
                       .id_type = ID_RESIDENT,
                       .id_number = id_number(++seq),
                       .region_code = COMMUNITY,
                       .phone = "13812345678",
                       .address = "东城区某小区"};
    bool taken_over;
    return person_create(D, A, &staff, &p, 0, &taken_over);
}

static err op_user_id_by_username(int run)
{
    (void)run;
    int64_t id = -1;
    err e = user_id_by_username(D, "nobody", &id);
    if (!e && id != 0)
        fail_msg("user_id_by_username: no such account but id %lld", (long long)id);
    return e;
}

static err op_code_latest_test(int run)
{
    (void)run;
    json_t *t = NULL;
    err e = code_latest_test(D, 1, &t);
    if (!e && t)
        fail_msg("code_latest_test: a test result out of an empty table");
    return e;
}

/* The lists on the query builder (db/query.h): a failed count or page is
 * the failure, never an empty page. Filters are set so every fragment is
 * used; a page of data keeps the page's step in the walk. */
static err op_place_list(int run)
{
    (void)run;
    struct place_filter f = {.region_code = COMMUNITY,
                             .kind = PLACE_COMMUNITY,
                             .q = "小区",
                             .sort = "name",
                             .page = 1,
                             .page_size = 10};
    struct place *items;
    size_t n;
    int64_t total;
    err e = place_list(D, A, &ALL, &f, &items, &n, &total);
    if (!e && (n == 0 || total < (int64_t)n))
        fail_msg("place_list: %zu of %lld", n, (long long)total);
    return e;
}

static err op_venue_list(int run)
{
    (void)run;
    struct venue_filter f = {
        .place_id = PLACE, .enabled = -1, .q = "东门", .sort = "-name", .page = 1, .page_size = 5};
    struct venue *items;
    size_t n;
    int64_t total;
    err e = venue_list(D, A, &ALL, &f, &items, &n, &total);
    if (!e && n == 0)
        fail_msg("venue_list: an empty page");
    return e;
}

static err op_region_list(int run)
{
    (void)run;
    struct region_filter f = {
        .parent_code = code("110101001000"), .q = "1", .page = 1, .page_size = 5};
    struct region *items;
    size_t n;
    int64_t total;
    return region_list(D, &ALL, &f, A, &items, &n, &total);
}

static err op_user_list(int run)
{
    (void)run;
    struct user_filter f = {
        .q = "a", .locked = -1, .disabled = 0, .kind = "staff", .page = 1, .page_size = 5};
    struct user *items;
    size_t n;
    int64_t total;
    return user_list(D, A, NULL, &f, &items, &n, &total);
}

static void test_writes(void **state)
{
    (void)state;
    walk("place_create", op_place_create, "SELECT COUNT(*) FROM places", E_DB);
    walk("venue_create", op_venue_create, "SELECT COUNT(*) FROM venues", E_DB);
    walk("region_create", op_region_create, "SELECT COUNT(*) FROM regions", E_DB);
    walk("person_create", op_person_create,
         "SELECT (SELECT COUNT(*) FROM persons) * 1000000 + (SELECT COUNT(*) FROM "
         "person_name_tokens) * 1000 + (SELECT COUNT(*) FROM person_history)",
         E_DB);
}

static void test_reads(void **state)
{
    (void)state;
    walk("place_find", op_place_find, "SELECT 0", E_DB);
    walk("region_find", op_region_find, "SELECT 0", E_DB);
    /* look-ups whose failure once read as "none" */
    walk("user_id_by_username", op_user_id_by_username, "SELECT 0", E_DB);
    walk("code_latest_test", op_code_latest_test, "SELECT 0", E_DB);
    walk("place_list", op_place_list, "SELECT 0", E_DB);
    walk("venue_list", op_venue_list, "SELECT 0", E_DB);
    walk("region_list", op_region_list, "SELECT 0", E_DB);
    walk("user_list", op_user_list, "SELECT 0", E_DB);
}

static void test_out_of_memory(void **state)
{
    (void)state;
    walk("place_create (nomem)", op_place_create, "SELECT COUNT(*) FROM places", E_NOMEM);
    walk("person_create (nomem)", op_person_create, "SELECT COUNT(*) FROM persons", E_NOMEM);
}

static int setup(void **state)
{
    (void)state;
    uint8_t master[32];
    for (int i = 0; i < 32; i++)
        master[i] = (uint8_t)(i * 5 + 3);
    keys_set_master(master);
    if (fixture_sqlite_open(&F, "faults", &D) || db_migrate(D) != E_OK ||
        fixture_regions(D, regions, sizeof regions / sizeof *regions))
        return -1;
    A = arena_new(0);
    COMMUNITY = code("110101001001");
    struct place_input in = {.set = PL_NAME | PL_KIND | PL_REGION,
                             .name = "基准小区",
                             .kind = PLACE_COMMUNITY,
                             .region_code = COMMUNITY};
    if (place_create(D, A, &ALL, &in, &PLACE) != E_OK)
        return -1;
    fault_install(D);
    return 0;
}

static int teardown(void **state)
{
    (void)state;
    arena_free(&A);
    fixture_sqlite_close(&F, &D);
    return 0;
}

int main(void)
{
    staff.perms = PERMS(PERM_PERSON_READ, PERM_PERSON_WRITE);
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_writes),
        cmocka_unit_test(test_reads),
        cmocka_unit_test(test_out_of_memory),
    };
    return cmocka_run_group_tests_name("faults", tests, setup, teardown);
}
