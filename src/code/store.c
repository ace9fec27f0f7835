/*
 * The health-code store: the rules in force, the loader of the engine's
 * inputs and the writer of health_codes / code_history.
 *
 * One loader serves a single person and a whole batch: people are taken in
 * id order, and every input table is read with one statement per batch
 * (person_id in [first, last], ordered by person_id), walked by a cursor
 * beside the people. Refreshing one person is a batch of one; recomputing
 * a million is twenty batches, each read in a few statements and written
 * (only the codes that changed) in one transaction.
 */
#include "code/code.h"

#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "base/paging.h"
#include "base/grow.h"
#include "base/id.h"
#include "base/log.h"
#include "base/regcode.h"
#include "person/person.h"

#define BATCH 10000

/* ---- rules ------------------------------------------------------------------ */

err code_rules_load(db *d, struct code_rule *rules_r, size_t *n_r)
{
    db_stmt *s;
    err e = db_prepare(d,
                       "SELECT key, kind, params, colour, enabled, label FROM code_rules "
                       "ORDER BY position",
                       &s);
    if (e)
        return e;
    size_t n = 0;
    bool row;
    while (n < CODE_RULES_MAX && !(e = db_row(s, &row)) && row) {
        json_t *params = json_loads(db_col_text(s, 2), 0, NULL);
        json_t *o = json_pack("{s:s,s:s,s:o*,s:s,s:b,s:s}", "key", db_col_text(s, 0), "kind",
                              db_col_text(s, 1), "params", params, "colour", db_col_text(s, 3),
                              "enabled", (int)db_col_int64(s, 4), "label", db_col_text(s, 5));
        e = o ? code_rule_from_json(o, n, &rules_r[n]) : E_NOMEM;
        json_decref(o);
        if (e) {
            log_event(LOG_ERROR, "code_rule_invalid", "key", db_col_text(s, 0), NULL);
            db_done(s);
            return err_set(E_INTERNAL, NULL, NULL, NULL);
        }
        n++;
    }
    db_done(s);
    if (e)
        return e;
    if (!n) {
        const struct code_rule *def = code_rules_default(&n);
        memcpy(rules_r, def, n * sizeof *def);
    }
    *n_r = n;
    return E_OK;
}

err code_rules_version(db *d, int64_t *version_r)
{
    db_stmt *s;
    err e = db_prepare(d, "SELECT COALESCE(MAX(updated_at), 0) FROM code_rules", &s);
    if (e)
        return e;
    bool row;
    if (!(e = db_row(s, &row)))
        *version_r = row ? db_col_int64(s, 0) : 0;
    db_done(s);
    return e;
}

/* Written once before serving, read by every thread after. */
static bool rules_followed;

void code_rules_set_followed(bool on)
{
    rules_followed = on;
}

bool code_rules_followed(void)
{
    return rules_followed;
}

err code_rules_save(db *d, const struct code_rule *rules, size_t n, int64_t user_id)
{
    for (size_t i = 0; i < n; i++)
        for (size_t j = 0; j < i; j++)
            if (!strcmp(rules[i].key, rules[j].key)) {
                char f[32];
                snprintf(f, sizeof f, "rules[%zu].key", i);
                return err_set(E_INPUT, "duplicate_rule", f, "规则标识“%s”重复", rules[i].key);
            }
    err e = db_begin(d);
    if (e)
        return e;
    db_stmt *s;
    if ((e = db_prepare(d, "DELETE FROM code_rules", &s)) || (e = db_run(s, NULL)))
        goto fail;
    int64_t now = now_ms();
    for (size_t i = 0; i < n; i++) {
        json_t *o = code_rule_json(&rules[i]);
        char *params = json_dumps(json_object_get(o, "params"), JSON_COMPACT);
        json_decref(o);
        if (!params) {
            e = E_NOMEM;
            goto fail;
        }
        if ((e = db_prepare(d,
                            "INSERT INTO code_rules (key, position, kind, params, colour, enabled, "
                            "label, updated_by, updated_at) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?)",
                            &s))) {
            free(params);
            goto fail;
        }
        db_bind_text(s, 1, rules[i].key);
        db_bind_int64(s, 2, (int64_t)i + 1);
        db_bind_text(s, 3, code_kind_name(rules[i].kind));
        db_bind_text(s, 4, params);
        db_bind_text(s, 5, code_colour_name(rules[i].colour));
        db_bind_int64(s, 6, rules[i].enabled);
        db_bind_text(s, 7, rules[i].label);
        db_bind_int64(s, 8, user_id);
        db_bind_int64(s, 9, now);
        free(params);
        if ((e = db_run(s, NULL)))
            goto fail;
    }
    return db_commit(d);
fail:
    db_rollback(d);
    return e;
}

/* ---- the loader ------------------------------------------------------------- */

struct who_row {
    int64_t id, region_code;
    int status;
};

/* One input table read for a range of person ids, ordered by person_id. */
struct cursor {
    db_stmt *s;
    bool row; /* a row is current */
    err e;    /* how the cursor failed (row is then false) */
    void (*fill)(db_stmt *s, struct code_input *in);
};

static void fill_isolation(db_stmt *s, struct code_input *in)
{
    if (in->n_isolations < CODE_INPUT_MAX)
        in->isolations[in->n_isolations++] =
            (struct code_span){db_col_int64(s, 1), db_col_int64(s, 2)};
}

static void fill_contact(db_stmt *s, struct code_input *in)
{
    if (in->n_contacts < CODE_INPUT_MAX)
        in->contacts[in->n_contacts++] =
            (struct code_contact){(int)db_col_int64(s, 1), db_col_int64(s, 2), db_col_int64(s, 3)};
}

static void fill_reading(db_stmt *s, struct code_input *in)
{
    if (in->n_readings < CODE_INPUT_MAX)
        in->readings[in->n_readings++] =
            (struct code_reading){db_col_int64(s, 1), db_col_double(s, 2)};
}

static void fill_stay(db_stmt *s, struct code_input *in)
{
    if (in->n_stays < CODE_INPUT_MAX)
        in->stays[in->n_stays++] =
            (struct code_stay){db_col_int64(s, 1), db_col_int64(s, 2), (int)db_col_int64(s, 3),
                               db_col_int64(s, 4), db_col_int64(s, 5)};
}

static void fill_test(db_stmt *s, struct code_input *in)
{
    if (in->n_tests < CODE_INPUT_MAX)
        in->tests[in->n_tests++] =
            (struct code_test){code_test_result_parse(db_col_text(s, 1)), db_col_int64(s, 2)};
}

/* Column 0 is person_id; newest first inside a person, so the newest
 * CODE_INPUT_MAX rows are kept. `since` bounds the time windows. */
static const struct {
    const char *sql;
    void (*fill)(db_stmt *s, struct code_input *in);
    bool since;
} tables[] = {
    {"SELECT person_id, start_at, end_at FROM isolations WHERE person_id >= ? AND person_id <= ? "
     "ORDER BY person_id, start_at DESC",
     fill_isolation, false},
    {"SELECT person_id, degree, at, end_at FROM contacts WHERE person_id >= ? AND person_id <= ? "
     "AND at >= ? ORDER BY person_id, at DESC",
     fill_contact, true},
    {"SELECT person_id, at, celsius FROM temperatures WHERE person_id >= ? AND person_id <= ? "
     "AND at >= ? ORDER BY person_id, at DESC",
     fill_reading, true},
    {"SELECT s.person_id, s.arrived_at, s.left_at, a.level, a.valid_from, a.valid_to FROM stays s "
     "JOIN risk_areas a ON a.id = s.area_id WHERE s.person_id >= ? AND s.person_id <= ? AND "
     "(s.left_at = 0 OR s.left_at >= ?) ORDER BY s.person_id, s.arrived_at DESC",
     fill_stay, true},
    {"SELECT person_id, result, sampled_at FROM test_results WHERE person_id >= ? AND "
     "person_id <= ? AND sampled_at >= ? ORDER BY person_id, sampled_at DESC",
     fill_test, true},
};
#define NTABLES (sizeof tables / sizeof tables[0])

static void cursor_next(struct cursor *c)
{
    c->e = db_row(c->s, &c->row);
}

static err cursors_open(db *d, struct cursor *cs, int64_t lo, int64_t hi, int64_t since)
{
    for (size_t t = 0; t < NTABLES; t++) {
        err e = db_prepare(d, tables[t].sql, &cs[t].s);
        if (e) {
            for (size_t k = 0; k < t; k++)
                db_done(cs[k].s);
            return e;
        }
        db_bind_int64(cs[t].s, 1, lo);
        db_bind_int64(cs[t].s, 2, hi);
        if (tables[t].since)
            db_bind_int64(cs[t].s, 3, since);
        cs[t].fill = tables[t].fill;
        cursor_next(&cs[t]);
    }
    return E_OK;
}

static err cursors_close(struct cursor *cs)
{
    err e = E_OK;
    for (size_t t = 0; t < NTABLES; t++) {
        if (cs[t].e && !e)
            e = cs[t].e;
        db_done(cs[t].s);
    }
    return e;
}

/*
 * The code ranges of every active zone: one per region zone, one per
 * covered building of a drawn zone (a city's zones may cover thousands of
 * buildings), sorted by their start. max_hi[i] is the largest end among
 * rows 0..i, so the rows holding a residence are found by a binary search
 * and a walk back that stops as soon as no earlier row reaches it.
 */
struct zone_row {
    int64_t lo, hi, zone_id;
    struct code_zone z;
};

struct zone_set {
    struct zone_row *rows;
    int64_t *max_hi;
    size_t n;
};

static int by_lo(const void *x, const void *y)
{
    const struct zone_row *a = x, *b = y;
    return (a->lo > b->lo) - (a->lo < b->lo);
}

/* Sort the rows and build max_hi (in a). */
static void zones_index(arena *a, struct zone_set *zs)
{
    qsort(zs->rows, zs->n, sizeof *zs->rows, by_lo);
    zs->max_hi = arena_alloc(a, (zs->n ? zs->n : 1) * sizeof *zs->max_hi);
    for (size_t i = 0; i < zs->n; i++)
        zs->max_hi[i] =
            i && zs->max_hi[i - 1] > zs->rows[i].hi ? zs->max_hi[i - 1] : zs->rows[i].hi;
}

/* The zones covering residence `code` into in->zones. */
static void zones_match(const struct zone_set *zs, int64_t code, struct code_input *in)
{
    size_t lo = 0, hi = zs->n; /* the first row starting after code */
    while (lo < hi) {
        size_t mid = lo + (hi - lo) / 2;
        if (zs->rows[mid].lo <= code)
            lo = mid + 1;
        else
            hi = mid;
    }
    for (size_t i = lo; i-- > 0 && zs->max_hi[i] > code && in->n_zones < CODE_INPUT_MAX;)
        if (code < zs->rows[i].hi)
            in->zones[in->n_zones++] = zs->rows[i].z;
}

/*
 * The zone rows in force at `now`: all of them, or, for one residence
 * (`residence` not 0), only those that can hold it. A range holding a code
 * starts at one of the code's ancestors (or the code itself), so that is
 * seven index look-ups, however many buildings the city's zones cover: a
 * single person's refresh (a temperature at a gate) reads a handful of rows.
 */
static err zones_load(db *d, arena *a, int64_t now, int64_t residence, struct zone_set *zs)
{
    db_stmt *s;
    err e = db_prepare(d,
                       residence
                           ? "SELECT r.region_code, r.region_code + r.span, z.kind, z.valid_from, "
                             "z.valid_to, z.id FROM zone_regions r JOIN zones z ON z.id = "
                             "r.zone_id WHERE r.region_code IN (?, ?, ?, ?, ?, ?, ?) AND "
                             "r.region_code + r.span > ? AND (z.valid_to = 0 OR z.valid_to > ?)"
                           : "SELECT r.region_code, r.region_code + r.span, z.kind, z.valid_from, "
                             "z.valid_to, z.id FROM zone_regions r JOIN zones z ON z.id = "
                             "r.zone_id WHERE z.valid_to = 0 OR z.valid_to > ?",
                       &s);
    if (e)
        return e;
    if (residence) {
        for (int lv = LEVEL_PROVINCE; lv <= LEVEL_BUILDING; lv++)
            db_bind_int64(s, lv, regcode_at_most(residence, (enum region_level)lv));
        db_bind_int64(s, 8, residence);
        db_bind_int64(s, 9, now);
    } else {
        db_bind_int64(s, 1, now);
    }
    size_t n = 0, cap = 16;
    struct zone_row *z = arena_alloc(a, cap * sizeof *z);
    bool row;
    while (!(e = db_row(s, &row)) && row) {
        if (n == cap) {
            struct zone_row *bigger = arena_alloc(a, 2 * cap * sizeof *z);
            memcpy(bigger, z, n * sizeof *z);
            z = bigger;
            cap *= 2;
        }
        z[n++] = (struct zone_row){
            db_col_int64(s, 0),
            db_col_int64(s, 1),
            db_col_int64(s, 5),
            {zone_kind_parse(db_col_text(s, 2)), db_col_int64(s, 3), db_col_int64(s, 4)}};
    }
    db_done(s);
    if (e)
        return e;
    *zs = (struct zone_set){z, NULL, n};
    zones_index(a, zs);
    return E_OK;
}

/* A code that must be written. */
struct change {
    int64_t person_id, region_code;
    enum code_colour colour;
    const char *reasons;
    int from;    /* the stored colour (green when none was stored) */
    bool stored; /* a health_codes row was read */
};

struct ctx {
    const struct code_rule *rules;
    size_t n_rules;
    int64_t now, since;
    struct zone_set zones;
};

/*
 * Compute people[0..n) (ascending ids) and append to ch_r those whose
 * colour or reasons differ from the stored code.
 */
static err compute(db *d, arena *a, const struct ctx *cx, const struct who_row *people, size_t n,
                   struct change *ch_r, size_t *n_ch_r)
{
    if (!n)
        return E_OK;
    int64_t lo = people[0].id, hi = people[n - 1].id;
    struct cursor cs[NTABLES];
    err e = cursors_open(d, cs, lo, hi, cx->since);
    if (e)
        return e;
    struct cursor cur = {0};
    if ((e = db_prepare(d,
                        "SELECT person_id, colour, reasons FROM health_codes WHERE person_id >= ? "
                        "AND person_id <= ? ORDER BY person_id",
                        &cur.s))) {
        cursors_close(cs);
        return e;
    }
    db_bind_int64(cur.s, 1, lo);
    db_bind_int64(cur.s, 2, hi);
    cursor_next(&cur);

    struct code_input in;
    /* neighbours mostly match the same rules: their reasons' text once */
    uint8_t last_match[CODE_RULES_MAX];
    size_t last_n = 0;
    const char *last_reasons = NULL;
    for (size_t i = 0; i < n; i++) {
        int64_t id = people[i].id;
        memset(&in, 0, offsetof(struct code_input, isolations));
        in.now = cx->now;
        in.status = people[i].status;
        for (size_t t = 0; t < NTABLES; t++) {
            while (cs[t].row && db_col_int64(cs[t].s, 0) < id)
                cursor_next(&cs[t]);
            while (cs[t].row && db_col_int64(cs[t].s, 0) == id) {
                cs[t].fill(cs[t].s, &in);
                cursor_next(&cs[t]);
            }
        }
        zones_match(&cx->zones, people[i].region_code, &in);

        uint8_t match[CODE_RULES_MAX];
        size_t n_match;
        enum code_colour c = code_eval(cx->rules, cx->n_rules, &in, match, &n_match);
        if (!last_reasons || n_match != last_n || memcmp(match, last_match, n_match)) {
            last_reasons = code_reasons_text(a, cx->rules, match, n_match);
            last_n = n_match;
            memcpy(last_match, match, n_match);
        }
        const char *reasons = last_reasons;

        while (cur.row && db_col_int64(cur.s, 0) < id)
            cursor_next(&cur);
        int old_c = CODE_GREEN;
        const char *old_r = "[]";
        bool stored = cur.row && db_col_int64(cur.s, 0) == id;
        if (stored) {
            old_c = code_colour_parse(db_col_text(cur.s, 1));
            old_r = db_col_text(cur.s, 2);
        }
        if (old_c != (int)c || strcmp(old_r, reasons))
            ch_r[(*n_ch_r)++] =
                (struct change){id, people[i].region_code, c, reasons, old_c, stored};
    }
    e = cur.e;
    db_done(cur.s);
    err e2 = cursors_close(cs);
    return e ? e : e2;
}

static err write_change(db *d, const struct change *c, int64_t now, const char *cause,
                        int64_t user_id)
{
    db_stmt *s;
    /* No row was read in this transaction: on SQLite, whose transaction
     * holds the only writer from its BEGIN IMMEDIATE, none can have appeared
     * since, and a plain INSERT spares the upsert's statement journal (a
     * page copy per statement: a fifth of a new person's code write). On
     * PostgreSQL another transaction may insert it meanwhile: the upsert. */
    err e = db_prepare(d,
                       !c->stored && db_kind(d) == DB_SQLITE && db_in_tx(d)
                           ? "INSERT INTO health_codes (person_id, region_code, colour, reasons, "
                             "updated_at) VALUES (?, ?, ?, ?, ?)"
                           : "INSERT INTO health_codes (person_id, region_code, colour, reasons, "
                             "updated_at) VALUES (?, ?, ?, ?, ?) ON CONFLICT (person_id) DO "
                             "UPDATE SET region_code = excluded.region_code, colour = "
                             "excluded.colour, reasons = excluded.reasons, updated_at = "
                             "excluded.updated_at",
                       &s);
    if (e)
        return e;
    db_bind_int64(s, 1, c->person_id);
    db_bind_int64(s, 2, c->region_code);
    db_bind_text(s, 3, code_colour_name(c->colour));
    db_bind_text(s, 4, c->reasons);
    db_bind_int64(s, 5, now);
    if ((e = db_run(s, NULL)))
        return e;
    if ((e = db_prepare(d,
                        "INSERT INTO code_history (id, person_id, region_code, at, colour, "
                        "reasons, cause, user_id) VALUES (?, ?, ?, ?, ?, ?, ?, ?)",
                        &s)))
        return e;
    db_bind_int64(s, 1, id_new());
    db_bind_int64(s, 2, c->person_id);
    db_bind_int64(s, 3, c->region_code);
    db_bind_int64(s, 4, now);
    db_bind_text(s, 5, code_colour_name(c->colour));
    db_bind_text(s, 6, c->reasons);
    db_bind_text(s, 7, cause);
    db_bind_int64(s, 8, user_id);
    return db_run(s, NULL);
}

/* Rows of a batched write (PostgreSQL): 64 a statement. */
#define WRITE_BATCH 64
#define CODE_ROW    "(?, ?, ?, ?, ?)"
#define CODE_ROW4   CODE_ROW ", " CODE_ROW ", " CODE_ROW ", " CODE_ROW
#define CODE_ROW16  CODE_ROW4 ", " CODE_ROW4 ", " CODE_ROW4 ", " CODE_ROW4
#define HIST_ROW    "(?, ?, ?, ?, ?, ?, ?, ?)"
#define HIST_ROW4   HIST_ROW ", " HIST_ROW ", " HIST_ROW ", " HIST_ROW
#define HIST_ROW16  HIST_ROW4 ", " HIST_ROW4 ", " HIST_ROW4 ", " HIST_ROW4

/*
 * Write changes c[0..n) (distinct people) as write_change does. On
 * PostgreSQL every statement is a round trip, so a full batch of
 * WRITE_BATCH goes as two statements of 64 rows (a zone over 100,000 people
 * is 200,000 statements otherwise); SQLite, in process, keeps one row a
 * statement and its plain INSERT for codes not stored yet.
 */
static err write_changes(db *d, const struct change *c, size_t n, int64_t now, const char *cause,
                         int64_t user_id)
{
    err e = E_OK;
    if (db_kind(d) != DB_POSTGRES || n != WRITE_BATCH) {
        for (size_t i = 0; i < n && !e; i++)
            e = write_change(d, &c[i], now, cause, user_id);
        return e;
    }
    db_stmt *s;
    if ((e = db_prepare(d,
                        "INSERT INTO health_codes (person_id, region_code, colour, reasons, "
                        "updated_at) VALUES " CODE_ROW16 ", " CODE_ROW16 ", " CODE_ROW16
                        ", " CODE_ROW16 " ON CONFLICT (person_id) DO UPDATE SET region_code = "
                        "excluded.region_code, colour = excluded.colour, reasons = "
                        "excluded.reasons, updated_at = excluded.updated_at",
                        &s)))
        return e;
    for (size_t i = 0; i < n; i++) {
        int at = (int)i * 5;
        db_bind_int64(s, at + 1, c[i].person_id);
        db_bind_int64(s, at + 2, c[i].region_code);
        db_bind_text(s, at + 3, code_colour_name(c[i].colour));
        db_bind_text(s, at + 4, c[i].reasons);
        db_bind_int64(s, at + 5, now);
    }
    if ((e = db_run(s, NULL)))
        return e;
    if ((e = db_prepare(d,
                        "INSERT INTO code_history (id, person_id, region_code, at, colour, "
                        "reasons, cause, user_id) VALUES " HIST_ROW16 ", " HIST_ROW16
                        ", " HIST_ROW16 ", " HIST_ROW16,
                        &s)))
        return e;
    for (size_t i = 0; i < n; i++) {
        int at = (int)i * 8;
        db_bind_int64(s, at + 1, id_new());
        db_bind_int64(s, at + 2, c[i].person_id);
        db_bind_int64(s, at + 3, c[i].region_code);
        db_bind_int64(s, at + 4, now);
        db_bind_text(s, at + 5, code_colour_name(c[i].colour));
        db_bind_text(s, at + 6, c[i].reasons);
        db_bind_text(s, at + 7, cause);
        db_bind_int64(s, at + 8, user_id);
    }
    return db_run(s, NULL);
}

/* The rules, the clock and the zones in force (for one residence when
 * `residence` is not 0, see zones_load). */
static err ctx_load_for(db *d, arena *a, struct code_rule *rules, int64_t residence, struct ctx *cx)
{
    size_t n;
    err e = code_rules_load(d, rules, &n);
    if (e)
        return e;
    cx->rules = rules;
    cx->n_rules = n;
    cx->now = now_ms();
    cx->since = cx->now - code_inputs_window_ms(rules, n);
    return zones_load(d, a, cx->now, residence, &cx->zones);
}

static err ctx_load(db *d, arena *a, struct code_rule *rules, struct ctx *cx)
{
    return ctx_load_for(d, a, rules, 0, cx);
}

/*
 * Live persons with ids in (after, …), at most max, ascending; residence in
 * [lo_code, hi_code), or anywhere when both are 0 (then the primary key is
 * walked: a region condition would make the planner sort the whole range
 * for every batch).
 */
static err people_after(db *d, int64_t after, int64_t lo_code, int64_t hi_code, struct who_row *p_r,
                        size_t max, size_t *n_r)
{
    db_stmt *s;
    bool all = !lo_code && !hi_code;
    err e = db_prepare(d,
                       all ? "SELECT id, region_code, status FROM persons WHERE id > ? AND "
                             "deleted_at = 0 ORDER BY id LIMIT ?"
                           : "SELECT id, region_code, status FROM persons WHERE id > ? AND "
                             "region_code >= ? AND region_code < ? AND deleted_at = 0 ORDER BY "
                             "id LIMIT ?",
                       &s);
    if (e)
        return e;
    db_bind_int64(s, 1, after);
    if (all) {
        db_bind_int64(s, 2, (int64_t)max);
    } else {
        db_bind_int64(s, 2, lo_code);
        db_bind_int64(s, 3, hi_code);
        db_bind_int64(s, 4, (int64_t)max);
    }
    size_t n = 0;
    bool row;
    while (!(e = db_row(s, &row)) && row)
        p_r[n++] = (struct who_row){db_col_int64(s, 0), db_col_int64(s, 1),
                                    person_status_parse(db_col_text(s, 2))};
    db_done(s);
    *n_r = n;
    return e;
}

/* ---- deferred refreshes ------------------------------------------------------ */

#define CAUSE_MAX 24

struct noted {
    int64_t person_id, user_id;
    size_t seq; /* the order of the notes: the last cause of a person wins */
    char cause[CAUSE_MAX];
};

/* The batch of this thread's bulk writer, for one connection. */
static _Thread_local struct defer {
    db *d;
    struct noted *items;
    size_t n, cap;
} deferred;

err code_defer_begin(db *d)
{
    deferred.d = d;
    deferred.n = 0;
    return E_OK;
}

void code_defer_end(db *d)
{
    if (deferred.d != d)
        return;
    free(deferred.items);
    deferred = (struct defer){0};
}

static err note(int64_t person_id, const char *cause, int64_t user_id)
{
    if (!GROW(&deferred.items, &deferred.cap, deferred.n, 1, 256))
        return err_set(E_NOMEM, NULL, NULL, NULL);
    struct noted *x = &deferred.items[deferred.n];
    *x = (struct noted){person_id, user_id, deferred.n, ""};
    snprintf(x->cause, sizeof x->cause, "%s", cause ? cause : "");
    deferred.n++;
    return E_OK;
}

static int by_person_then_seq(const void *x, const void *y)
{
    const struct noted *a = x, *b = y;
    if (a->person_id != b->person_id)
        return (a->person_id > b->person_id) - (a->person_id < b->person_id);
    return (a->seq > b->seq) - (a->seq < b->seq);
}

/* Ids further apart than this (4 ms of id_new) start a new run: a run's
 * inputs are read as one range, which must not sweep the people between
 * two far-apart ones (an import updating people registered long ago). */
#define RUN_GAP ((int64_t)4 << 22)

/* The live people among notes[0..n) (ascending, distinct ids, close
 * together) into p_r; *n_r how many. */
static err people_of(db *d, const struct noted *notes, size_t n, struct who_row *p_r, size_t *n_r)
{
    db_stmt *s;
    err e = db_prepare(d,
                       "SELECT id, region_code, status FROM persons WHERE id >= ? AND id <= ? AND "
                       "deleted_at = 0 ORDER BY id",
                       &s);
    if (e)
        return e;
    db_bind_int64(s, 1, notes[0].person_id);
    db_bind_int64(s, 2, notes[n - 1].person_id);
    size_t k = 0, i = 0;
    bool row;
    while (!(e = db_row(s, &row)) && row) {
        int64_t id = db_col_int64(s, 0);
        while (i < n && notes[i].person_id < id)
            i++;
        if (i < n && notes[i].person_id == id)
            p_r[k++] =
                (struct who_row){id, db_col_int64(s, 1), person_status_parse(db_col_text(s, 2))};
    }
    db_done(s);
    *n_r = k;
    return e;
}

err code_defer_flush(db *d, arena *a)
{
    if (deferred.d != d || !deferred.n)
        return E_OK;
    struct noted *v = deferred.items;
    size_t n = deferred.n;
    deferred.n = 0; /* taken, whatever happens below */
    qsort(v, n, sizeof *v, by_person_then_seq);
    size_t m = 0; /* distinct people, each with its last note */
    for (size_t i = 0; i < n; i++) {
        if (m && v[m - 1].person_id == v[i].person_id)
            v[m - 1] = v[i];
        else
            v[m++] = v[i];
    }
    struct code_rule rules[CODE_RULES_MAX];
    struct ctx cx;
    err e = ctx_load(d, a, rules, &cx);
    struct who_row *people = arena_alloc(a, m * sizeof *people);
    struct change *ch = arena_alloc(a, m * sizeof *ch);
    for (size_t lo = 0; lo < m && !e;) {
        size_t hi = lo + 1;
        while (hi < m && v[hi].person_id - v[hi - 1].person_id <= RUN_GAP)
            hi++;
        size_t np, n_ch = 0;
        if ((e = people_of(d, v + lo, hi - lo, people, &np)) ||
            (e = compute(d, a, &cx, people, np, ch, &n_ch)))
            break;
        /* each change with its person's note (both in id order) */
        for (size_t c = 0, j = lo; c < n_ch && !e; c++) {
            while (v[j].person_id < ch[c].person_id)
                j++;
            e = write_change(d, &ch[c], cx.now, v[j].cause, v[j].user_id);
        }
        lo = hi;
    }
    return e;
}

err code_refresh(db *d, arena *a, int64_t person_id, const char *cause, int64_t user_id)
{
    if (deferred.d == d && d)
        return note(person_id, cause, user_id);
    db_stmt *s;
    err e = db_prepare(
        d, "SELECT id, region_code, status FROM persons WHERE id = ? AND deleted_at = 0", &s);
    if (e)
        return e;
    db_bind_int64(s, 1, person_id);
    struct who_row p;
    bool row;
    e = db_row(s, &row);
    if (row)
        p = (struct who_row){db_col_int64(s, 0), db_col_int64(s, 1),
                             person_status_parse(db_col_text(s, 2))};
    db_done(s);
    if (e || !row)
        return e;
    struct code_rule rules[CODE_RULES_MAX];
    struct ctx cx;
    struct change ch;
    size_t n_ch = 0;
    if ((e = ctx_load_for(d, a, rules, p.region_code, &cx)) ||
        (e = compute(d, a, &cx, &p, 1, &ch, &n_ch)))
        return e;
    return n_ch ? write_change(d, &ch, cx.now, cause, user_id) : E_OK;
}

static int by_id(const void *x, const void *y)
{
    const struct who_row *a = x, *b = y;
    return (a->id > b->id) - (a->id < b->id);
}

/*
 * The live people living in any of ranges[0..n), once each, in id order,
 * into a malloc'd array (*p_r, the caller frees it; NULL when none). Each
 * range is read whole through the (region_code, id) index and sorted here:
 * asked for in id order with a limit, the planner walks the primary key
 * and filters the whole population once per range (a drawn zone has one
 * range per building).
 */
static err people_in_ranges(db *d, const struct code_range *ranges, size_t n_ranges,
                            struct who_row **p_r, size_t *n_r)
{
    size_t n = 0, cap = 0;
    struct who_row *p = NULL;
    err e = E_OK;
    for (size_t r = 0; r < n_ranges && !e; r++) {
        db_stmt *s;
        if ((e = db_prepare(d,
                            "SELECT id, region_code, status FROM persons WHERE region_code >= ? "
                            "AND region_code < ? AND deleted_at = 0",
                            &s)))
            break;
        db_bind_int64(s, 1, ranges[r].lo);
        db_bind_int64(s, 2, ranges[r].hi);
        bool row;
        while (!(e = db_row(s, &row)) && row) {
            if (!GROW(&p, &cap, n, 1, 4096)) {
                e = err_set(E_NOMEM, NULL, NULL, NULL);
                break;
            }
            p[n++] = (struct who_row){db_col_int64(s, 0), db_col_int64(s, 1),
                                      person_status_parse(db_col_text(s, 2))};
        }
        db_done(s);
    }
    if (e) {
        free(p);
        return e;
    }
    if (n > 1)
        qsort(p, n, sizeof *p, by_id);
    size_t m = 0; /* ranges may overlap (nested region zones) */
    for (size_t i = 0; i < n; i++)
        if (!m || p[m - 1].id != p[i].id)
            p[m++] = p[i];
    *p_r = p;
    *n_r = m;
    return E_OK;
}

/* Compute people[0..n) (id order) against cx in batches, calling
 * fn(ctx, person, change or NULL) for each person; change is NULL when the
 * stored code stays. */
static err compute_each(db *d, arena *a, const struct ctx *cx, const struct who_row *people,
                        size_t n, err (*fn)(void *, const struct who_row *, const struct change *),
                        void *fctx)
{
    struct change *ch = malloc(BATCH * sizeof *ch);
    if (!ch)
        return err_set(E_NOMEM, NULL, NULL, NULL);
    err e = E_OK;
    for (size_t lo = 0; lo < n && !e; lo += BATCH) {
        size_t k = n - lo < BATCH ? n - lo : BATCH, n_ch = 0;
        if ((e = compute(d, a, cx, people + lo, k, ch, &n_ch)))
            break;
        for (size_t i = 0, c = 0; i < k && !e; i++) {
            const struct change *x =
                c < n_ch && ch[c].person_id == people[lo + i].id ? &ch[c++] : NULL;
            e = fn(fctx, &people[lo + i], x);
        }
    }
    free(ch);
    return e;
}

/* The changes of a refresh, written WRITE_BATCH at a time. */
struct writing {
    db *d;
    int64_t now, user_id;
    const char *cause;
    size_t n;
    struct change buf[WRITE_BATCH];
};

static err write_one(void *ctx, const struct who_row *p, const struct change *c)
{
    (void)p;
    struct writing *w = ctx;
    if (!c)
        return E_OK;
    w->buf[w->n++] = *c;
    if (w->n < WRITE_BATCH)
        return E_OK;
    w->n = 0;
    return write_changes(w->d, w->buf, WRITE_BATCH, w->now, w->cause, w->user_id);
}

err code_refresh_ranges(db *d, arena *a, const struct code_range *ranges, size_t n,
                        const char *cause, int64_t user_id)
{
    struct code_rule rules[CODE_RULES_MAX];
    struct ctx cx;
    struct who_row *people = NULL;
    size_t np = 0;
    err e = ctx_load(d, a, rules, &cx);
    if (e || (e = people_in_ranges(d, ranges, n, &people, &np)))
        return e;
    struct writing *w = arena_alloc(a, sizeof *w);
    *w = (struct writing){d, cx.now, user_id, cause, 0, {{0}}};
    e = compute_each(d, a, &cx, people, np, write_one, w);
    free(people);
    return e ? e : write_changes(d, w->buf, w->n, w->now, cause, user_id);
}

/* ---- what a zone would do ------------------------------------------------------ */

struct tally {
    struct code_zone_effect *r;
    struct code_effect_region *regions; /* one per residence, grown in place */
    size_t n, cap;
};

static int by_region(const void *x, const void *y)
{
    const struct code_effect_region *a = x, *b = y;
    return (a->region_code > b->region_code) - (a->region_code < b->region_code);
}

/* Fold the entries of one residence together (sorting by residence);
 * returns how many remain. */
static size_t tally_fold(struct code_effect_region *v, size_t n)
{
    if (n > 1)
        qsort(v, n, sizeof *v, by_region);
    size_t m = 0;
    for (size_t i = 0; i < n; i++) {
        struct code_effect_region *x = &v[i];
        if (m && v[m - 1].region_code == x->region_code) {
            struct code_effect_region *y = &v[m - 1];
            y->people += x->people;
            y->changed += x->changed;
            for (int f = 0; f < 3; f++)
                for (int k = 0; k < 3; k++)
                    y->changes[f][k] += x->changes[f][k];
        } else {
            v[m++] = *x;
        }
    }
    return m;
}

static err tally_one(void *ctx, const struct who_row *p, const struct change *c)
{
    struct tally *t = ctx;
    /* people come in id order, not by residence: fold what was gathered
     * before growing, so memory follows the residences, not the people */
    bool grow = t->n == t->cap;
    if (grow && t->cap >= 65536) {
        t->n = tally_fold(t->regions, t->n);
        grow = t->n > t->cap / 2;
    }
    if (grow) {
        size_t cap = t->cap ? 2 * t->cap : 64;
        struct code_effect_region *more = realloc(t->regions, cap * sizeof *more);
        if (!more)
            return err_set(E_NOMEM, NULL, NULL, NULL);
        t->regions = more;
        t->cap = cap;
    }
    /* one entry per person, folded by residence when full and at the end */
    struct code_effect_region *x = &t->regions[t->n++];
    *x = (struct code_effect_region){.region_code = p->region_code, .people = 1};
    t->r->total++;
    if (!c)
        return E_OK;
    if (c->from == (int)c->colour) {
        t->r->reasons_only++;
    } else if (c->from >= CODE_GREEN && c->from <= CODE_RED) {
        t->r->changes[c->from][c->colour]++;
        t->r->changed++;
        x->changes[c->from][c->colour]++;
        x->changed++;
    }
    return E_OK;
}

/* Evaluate people[0..n) (id order) against cx and tally what would change
 * into r (its regions in the arena). */
static err effect_run(db *d, arena *a, const struct ctx *cx, const struct who_row *people, size_t n,
                      struct code_zone_effect *r)
{
    struct tally t = {r, NULL, 0, 0};
    err e = compute_each(d, a, cx, people, n, tally_one, &t);
    if (e) {
        free(t.regions);
        return e;
    }
    size_t m = tally_fold(t.regions, t.n);
    r->regions = m ? arena_memdup(a, t.regions, m * sizeof *t.regions) : NULL;
    r->n_regions = m;
    free(t.regions);
    return E_OK;
}

err code_zone_effect(db *d, arena *a, const struct code_range *ranges, size_t n_ranges,
                     const struct code_zone *draft, int64_t drop_zone, struct code_zone_effect *r)
{
    *r = (struct code_zone_effect){0};
    struct code_rule rules[CODE_RULES_MAX];
    struct ctx cx;
    struct who_row *people = NULL;
    size_t np = 0;
    err e = ctx_load(d, a, rules, &cx);
    if (e)
        return e;
    /* the zones in force with the lifted one left out and the new one added */
    struct zone_set *zs = &cx.zones;
    struct zone_row *rows = arena_alloc(a, (zs->n + n_ranges + 1) * sizeof *rows);
    size_t n = 0;
    for (size_t i = 0; i < zs->n; i++)
        if (!drop_zone || zs->rows[i].zone_id != drop_zone)
            rows[n++] = zs->rows[i];
    for (size_t i = 0; draft && i < n_ranges; i++)
        rows[n++] = (struct zone_row){ranges[i].lo, ranges[i].hi, 0, *draft};
    *zs = (struct zone_set){rows, NULL, n};
    zones_index(a, zs);
    if ((e = people_in_ranges(d, ranges, n_ranges, &people, &np)))
        return e;
    e = effect_run(d, a, &cx, people, np, r);
    free(people);
    return e;
}

err code_effect_of(db *d, arena *a, const char *people_sql, int64_t param,
                   struct code_zone_effect *r)
{
    *r = (struct code_zone_effect){0};
    struct code_rule rules[CODE_RULES_MAX];
    struct ctx cx;
    err e = ctx_load(d, a, rules, &cx);
    db_stmt *s;
    if (e || (e = db_prepare(d, people_sql, &s)))
        return e;
    db_bind_int64(s, 1, param);
    size_t n = 0, cap = 0;
    struct who_row *p = NULL;
    bool row;
    while (!(e = db_row(s, &row)) && row) {
        if (!GROW(&p, &cap, n, 1, 1024)) {
            e = err_set(E_NOMEM, NULL, NULL, NULL);
            break;
        }
        p[n++] = (struct who_row){db_col_int64(s, 0), db_col_int64(s, 1),
                                  person_status_parse(db_col_text(s, 2))};
    }
    db_done(s);
    if (!e) {
        if (n > 1)
            qsort(p, n, sizeof *p, by_id);
        size_t m = 0;
        for (size_t i = 0; i < n; i++)
            if (!m || p[m - 1].id != p[i].id)
                p[m++] = p[i];
        e = effect_run(d, a, &cx, p, m, r);
    }
    free(p);
    return e;
}

err code_person_changed(db *d, arena *a, int64_t person_id, int64_t user_id)
{
    return code_refresh(d, a, person_id, "person", user_id);
}

err code_recompute_all(db *d, int64_t user_id, void (*progress)(int64_t, int64_t, void *),
                       void *pctx, int64_t *changed_r)
{
    int64_t total = 0, done = 0, changed = 0;
    err e = db_query_int64(d, "SELECT COUNT(*) FROM persons WHERE deleted_at = 0", &total);
    if (e)
        return e;
    /* its own, reset per batch: a job thread's work over every person */
    arena *a = arena_new(1 << 20);
    struct who_row *people = malloc(BATCH * sizeof *people);
    struct change *ch = malloc(BATCH * sizeof *ch);
    if (!a || !people || !ch) {
        e = E_NOMEM;
        goto out;
    }
    struct code_rule rules[CODE_RULES_MAX];
    struct ctx cx;
    if ((e = ctx_load(d, a, rules, &cx)))
        goto out;
    int64_t after = 0;
    for (;;) {
        size_t n, n_ch = 0;
        arena_reset(a);
        /* zones live in the arena: reload them after the reset */
        if ((e = zones_load(d, a, cx.now, 0, &cx.zones)))
            break;
        /* read, compute and write a batch in one transaction, so an event
         * recorded meanwhile is either seen here or recomputes after */
        if ((e = db_begin(d)))
            break;
        if ((e = people_after(d, after, 0, 0, people, BATCH, &n)) || !n ||
            (e = compute(d, a, &cx, people, n, ch, &n_ch))) {
            db_rollback(d);
            break;
        }
        for (size_t i = 0; i < n_ch && !e; i += WRITE_BATCH)
            e = write_changes(d, &ch[i], n_ch - i < WRITE_BATCH ? n_ch - i : WRITE_BATCH, cx.now,
                              "rules", user_id);
        if (e || (e = db_commit(d))) {
            db_rollback(d);
            break;
        }
        changed += (int64_t)n_ch;
        done += (int64_t)n;
        if (done > total)
            total = done;
        if (progress)
            progress(done, total, pctx);
        if (n < BATCH)
            break;
        after = people[n - 1].id;
    }
out:
    free(people);
    free(ch);
    arena_free(&a);
    if (!e && changed_r)
        *changed_r = changed;
    return e;
}

err code_rules_dry_run(db *d, const struct code_rule *rules, size_t n_rules, struct code_dry_run *r)
{
    *r = (struct code_dry_run){0};
    /* its own, reset per batch, not the request's: a pass over every person
     * would otherwise hold the whole population's rows until the reply */
    arena *a = arena_new(1 << 20);
    struct who_row *people = malloc(BATCH * sizeof *people);
    struct change *ch = malloc(BATCH * sizeof *ch);
    err e = E_OK;
    if (!a || !people || !ch) {
        e = E_NOMEM;
        goto out;
    }
    /* the proposed rules in place of the stored ones; the same clock, window and zones as
     * the recomputation the save would start */
    struct ctx cx = {.rules = rules, .n_rules = n_rules, .now = now_ms()};
    cx.since = cx.now - code_inputs_window_ms(rules, n_rules);
    int64_t after = 0;
    for (;;) {
        size_t n, n_ch = 0;
        arena_reset(a);
        if ((e = zones_load(d, a, cx.now, 0, &cx.zones)) ||
            (e = people_after(d, after, 0, 0, people, BATCH, &n)) || !n ||
            (e = compute(d, a, &cx, people, n, ch, &n_ch)))
            break;
        for (size_t i = 0; i < n_ch; i++) {
            if (ch[i].from == (int)ch[i].colour) {
                r->reasons_only++;
            } else if (ch[i].from >= CODE_GREEN && ch[i].from <= CODE_RED) {
                r->changes[ch[i].from][ch[i].colour]++;
                r->changed++;
            }
        }
        r->total += (int64_t)n;
        if (n < BATCH)
            break;
        after = people[n - 1].id;
    }
out:
    free(people);
    free(ch);
    arena_free(&a);
    return e;
}

/* ---- reads ------------------------------------------------------------------ */

static err person_in_scope(db *d, const struct scope *sc, int64_t id, int64_t *created_r)
{
    db_stmt *s;
    err e = db_prepare(d,
                       "SELECT created_at FROM persons WHERE id = ? AND region_code >= ? AND "
                       "region_code < ? AND deleted_at = 0",
                       &s);
    if (e)
        return e;
    db_bind_int64(s, 1, id);
    db_bind_int64(s, 2, sc->lo);
    db_bind_int64(s, 3, sc->hi);
    bool row;
    if (!(e = db_row(s, &row)) && row && created_r)
        *created_r = db_col_int64(s, 0);
    if (!e && !row)
        e = E_NOT_FOUND;
    db_done(s);
    return e;
}

err code_find(db *d, arena *a, const struct scope *sc, int64_t person_id, struct code_current *c_r)
{
    int64_t created = 0;
    err e = person_in_scope(d, sc, person_id, &created);
    if (e)
        return e;
    db_stmt *s;
    /* the person's row is in scope (checked above in the same range): the
     * code row carries the same region_code, bound again for the rule */
    if ((e = db_prepare(d,
                        "SELECT colour, reasons, updated_at FROM health_codes WHERE person_id = ? "
                        "AND region_code >= ? AND region_code < ?",
                        &s)))
        return e;
    db_bind_int64(s, 1, person_id);
    db_bind_int64(s, 2, sc->lo);
    db_bind_int64(s, 3, sc->hi);
    struct code_current c = {CODE_GREEN, "[]", created};
    bool row;
    e = db_row(s, &row);
    if (row) {
        int k = code_colour_parse(db_col_text(s, 0));
        c.colour = k < 0 ? CODE_GREEN : (enum code_colour)k;
        c.reasons = arena_strdup(a, db_col_text(s, 1));
        c.updated_at = db_col_int64(s, 2);
    }
    db_done(s);
    if (!e)
        *c_r = c;
    return e;
}

err code_of(db *d, arena *a, int64_t person_id, struct code_current *c_r)
{
    db_stmt *s;
    err e = db_prepare(
        d, "SELECT colour, reasons, updated_at FROM health_codes WHERE person_id = ?", &s);
    if (e)
        return e;
    db_bind_int64(s, 1, person_id);
    struct code_current c = {CODE_GREEN, "[]", 0};
    bool row;
    e = db_row(s, &row);
    if (row) {
        int k = code_colour_parse(db_col_text(s, 0));
        c.colour = k < 0 ? CODE_GREEN : (enum code_colour)k;
        c.reasons = arena_strdup(a, db_col_text(s, 1));
        c.updated_at = db_col_int64(s, 2);
    }
    db_done(s);
    if (!e)
        *c_r = c;
    return e;
}

err code_history(db *d, arena *a, const struct scope *sc, int64_t person_id, int64_t page,
                 int64_t page_size, struct code_change **items_r, size_t *n_r, int64_t *total_r)
{
    err e = person_in_scope(d, sc, person_id, NULL);
    if (e)
        return e;
    db_stmt *s;
    if ((e = db_prepare(d,
                        "SELECT COUNT(*) FROM code_history WHERE person_id = ? AND region_code "
                        ">= ? AND region_code < ?",
                        &s)))
        return e;
    db_bind_int64(s, 1, person_id);
    db_bind_int64(s, 2, sc->lo);
    db_bind_int64(s, 3, sc->hi);
    bool found;
    e = db_row(s, &found);
    int64_t total = found ? db_col_int64(s, 0) : 0;
    db_done(s);
    if (e)
        return e;
    if ((e = db_prepare(d,
                        "SELECT id, at, user_id, colour, reasons, cause FROM code_history WHERE "
                        "person_id = ? AND region_code >= ? AND region_code < ? ORDER BY at DESC, "
                        "id DESC LIMIT ? OFFSET ?",
                        &s)))
        return e;
    db_bind_int64(s, 1, person_id);
    db_bind_int64(s, 2, sc->lo);
    db_bind_int64(s, 3, sc->hi);
    db_bind_int64(s, 4, page_size);
    db_bind_int64(s, 5, paging_offset(page, page_size));
    struct code_change *items = arena_alloc(a, (size_t)page_size * sizeof *items);
    size_t n = 0;
    bool row;
    while (!(e = db_row(s, &row)) && row) {
        int k = code_colour_parse(db_col_text(s, 3));
        items[n++] = (struct code_change){db_col_int64(s, 0),
                                          db_col_int64(s, 1),
                                          db_col_int64(s, 2),
                                          k < 0 ? CODE_GREEN : (enum code_colour)k,
                                          arena_strdup(a, db_col_text(s, 4)),
                                          arena_strdup(a, db_col_text(s, 5))};
    }
    db_done(s);
    if (e)
        return e;
    *items_r = items;
    *n_r = n;
    *total_r = total;
    return E_OK;
}
