/*
 * The registry of sealed columns (keyrot/keyrot.h): every BYTEA column of
 * the migrated schema named *_enc or *_bidx (and the name-token index) is
 * listed, and nothing listed is missing from the schema, so the next sealed
 * column added without an entry fails here rather than being left under an
 * old key by a rotation. Labels follow the rule and the exceptions.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>

#include <cmocka.h>

#include "fixture.h"
#include "keyrot/keyrot.h"
#include "person/person.h"
#include "security/crypto.h"
#include "vehicle/vehicle.h"

static struct fixture_db fx;
static db *d;

static int setup(void **state)
{
    (void)state;
    if (fixture_sqlite_open(&fx, "keyrot", &d) || db_migrate(d) != E_OK)
        return -1;
    keys_set_master((const uint8_t *)"0123456789abcdef0123456789abcdef");
    return 0;
}

static int teardown(void **state)
{
    (void)state;
    fixture_sqlite_close(&fx, &d);
    return 0;
}

static bool sealed_name(const char *col)
{
    size_t n = strlen(col);
    return (n > 4 && !strcmp(col + n - 4, "_enc")) || (n > 5 && !strcmp(col + n - 5, "_bidx"));
}

/* Columns of the schema that look sealed and are not in the registry
 * (their names into out), and registry entries the schema lacks. */
static int unlisted(char out[][96], int cap, int *stale_r)
{
    int n = 0, seen = 0;
    db_stmt *t;
    assert_int_equal(db_prepare(d,
                                "SELECT name FROM sqlite_master WHERE type = 'table' ORDER BY "
                                "name",
                                &t),
                     E_OK);
    char tables[400][64];
    int nt = 0;
    bool has;
    while (db_row(t, &has) == E_OK && has && nt < 400)
        snprintf(tables[nt++], 64, "%s", db_col_text(t, 0));
    db_done(t);
    for (int i = 0; i < nt; i++) {
        char sql[160];
        snprintf(sql, sizeof sql, "SELECT name, type FROM pragma_table_info('%.63s')", tables[i]);
        db_stmt *s;
        assert_int_equal(db_prepare(d, sql, &s), E_OK);
        while (db_row(s, &has) == E_OK && has) {
            const char *col = db_col_text(s, 0), *type = db_col_text(s, 1);
            bool blob = !strcasecmp(type, "BYTEA") || !strcasecmp(type, "BLOB");
            bool token = !strcmp(tables[i], "person_name_tokens") && !strcmp(col, "token");
            if (!blob || !(sealed_name(col) || token))
                continue;
            char name[160];
            snprintf(name, sizeof name, "%.63s.%.63s", tables[i], col);
            if (keyrot_column_find(name))
                seen++;
            else if (n < cap)
                snprintf(out[n++], 96, "%.95s", name);
        }
        db_done(s);
    }
    size_t total;
    keyrot_columns(&total);
    *stale_r = (int)total - seen;
    return n;
}

static void registry_covers_schema(void **state)
{
    (void)state;
    char missing[16][96];
    int stale = 0;
    int n = unlisted(missing, 16, &stale);
    for (int i = 0; i < n; i++)
        print_error("sealed column not in src/keyrot/registry.c: %s\n", missing[i]);
    assert_int_equal(n, 0);
    assert_int_equal(stale, 0); /* every entry names a real column */

    /* positive control: a new sealed column, not listed, is found */
    assert_int_equal(db_exec(d, "ALTER TABLE persons ADD COLUMN nickname_enc BYTEA"), E_OK);
    assert_int_equal(db_exec(d, "CREATE TABLE pets (id BIGINT PRIMARY KEY, chip_bidx BYTEA)"),
                     E_OK);
    n = unlisted(missing, 16, &stale);
    assert_int_equal(n, 2);
    assert_string_equal(missing[0], "persons.nickname_enc");
    assert_string_equal(missing[1], "pets.chip_bidx");
}

static void registry_entries(void **state)
{
    (void)state;
    size_t n;
    const struct keyrot_column *c = keyrot_columns(&n);
    size_t sealed = 0;
    for (size_t i = 0; i < n; i++) {
        assert_non_null(c[i].table_zh);
        assert_non_null(c[i].column_zh);
        if (c[i].kind == KEYROT_SEALED) {
            sealed++;
            assert_non_null(c[i].key1); /* every sealed column can be walked */
            size_t l = strlen(c[i].column);
            assert_true(l > 4 && !strcmp(c[i].column + l - 4, "_enc"));
        }
        for (size_t j = 0; j < i; j++) /* each once */
            assert_false(!strcmp(c[i].table, c[j].table) && !strcmp(c[i].column, c[j].column));
    }
    assert_true(sealed >= 80);
    assert_null(keyrot_column_find("persons"));
    assert_null(keyrot_column_find("persons.nothing_enc"));

    char label[KEYROT_LABEL_MAX];
    keyrot_label(keyrot_column_find("persons.name_enc"), 7, label);
    assert_string_equal(label, "persons.name");
    keyrot_label(keyrot_column_find("incidents.close_reason_enc"), 7, label);
    assert_string_equal(label, "incident.close_reason");
    keyrot_label(keyrot_column_find("attachments.data_enc"), 42, label);
    assert_string_equal(label, "attachments.data_enc#42");
    keyrot_label(keyrot_column_find("hotline_tickets.caller_phone_enc"), 1, label);
    assert_string_equal(label, "hotline.caller_phone");
    assert_int_equal(keyrot_column_find("persons.name_bidx")->kind, KEYROT_BLIND);
    assert_true(keyrot_column_find("parking_cars.plate_enc")->key2_blob);

    /* every blind index can be walked and re-computed: a key, a label and
     * a sealed source column the registry knows (short-lived rows aside) */
    size_t blind = 0;
    for (size_t i = 0; i < n; i++) {
        if (c[i].kind != KEYROT_BLIND || c[i].derive == KEYROT_EXPIRE)
            continue;
        blind++;
        assert_non_null(c[i].key1);
        assert_non_null(c[i].blind_label);
        char src[96];
        if (strchr(c[i].source, '.'))
            snprintf(src, sizeof src, "%s", c[i].source);
        else
            snprintf(src, sizeof src, "%s.%s", c[i].table, c[i].source);
        const struct keyrot_column *sc = keyrot_column_find(src);
        assert_non_null(sc);
        assert_int_equal(sc->kind, KEYROT_SEALED);
    }
    assert_int_equal(blind, 20);
}

/* The walk's re-computation gives what the modules compute (their own
 * functions), under the current version and under a named one. */
static void blind_derivation(void **state)
{
    (void)state;
    uint8_t want[BLIND_LEN], got[PERSON_TOKENS_MAX][BLIND_LEN];
    size_t n = 0;
    const struct keyrot_column *c = keyrot_column_find("persons.phone_last4_bidx");
    assert_true(person_phone_last4_index("13800001234", want));
    assert_true(keyrot_blind(c, keys_current_version(), "13800001234", got, 4, &n));
    assert_int_equal(n, 1);
    assert_memory_equal(got[0], want, BLIND_LEN);
    assert_false(keyrot_blind(c, keys_current_version(), "12a4", got, 4, &n)); /* no index */
    assert_false(keyrot_blind(c, 9, "13800001234", got, 4, &n)); /* version not held */

    c = keyrot_column_find("vehicles.plate_bidx");
    plate_blind("京A12345", want);
    assert_true(keyrot_blind(c, keys_current_version(), "京A12345", got, 4, &n));
    assert_memory_equal(got[0], want, BLIND_LEN);
    c = keyrot_column_find("parcels.phone_bidx");
    blind_index("users.phone", "13800001234", want);
    assert_true(keyrot_blind(c, keys_current_version(), "13800001234", got, 4, &n));
    assert_memory_equal(got[0], want, BLIND_LEN);

    /* the name tokens: as person_name_query_keys finds them */
    c = keyrot_column_find("person_name_tokens.token");
    assert_true(keyrot_blind(c, keys_current_version(), "张三丰", got, PERSON_TOKENS_MAX, &n));
    struct person_name_keys k;
    bool confirm;
    assert_int_equal(person_name_query_keys("三丰", &k, &confirm), 1);
    assert_int_equal(k.nd, 1); /* no rotation: one digest a token */
    bool found = false;
    for (size_t i = 0; i < n; i++)
        found |= !memcmp(got[i], k.k[0], BLIND_LEN);
    assert_true(found);
    /* positive control: another name's tokens do not hold it */
    assert_true(keyrot_blind(c, keys_current_version(), "李四", got, PERSON_TOKENS_MAX, &n));
    found = false;
    for (size_t i = 0; i < n; i++)
        found |= !memcmp(got[i], k.k[0], BLIND_LEN);
    assert_false(found);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(registry_entries),
        cmocka_unit_test(blind_derivation),
        cmocka_unit_test(registry_covers_schema),
    };
    return cmocka_run_group_tests(tests, setup, teardown);
}
