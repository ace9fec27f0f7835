/*
 * Elderly health monitoring (service.h "elderly health monitoring"): who is
 * enrolled, daily check-ins, the per-community statistics, and the sweep
 * that turns a missed day into a task for the grid workers.
 */
#include <math.h>
#include <stdio.h>
#include <string.h>

#include "base/id.h"
#include "base/json.h"
#include "base/log.h"
#include "base/paging.h"
#include "base/regcode.h"
#include "base/time.h"
#include "db/periodic.h"
#include "db/query.h"
#include "person/person.h"
#include "security/mask.h"
#include "stats/stats.h"
#include "service/service.h"
#include "task/task.h"

static const struct vocab_word feelings[] = {
    {NULL, NULL},
    {"good", "良好"},
    {"fair", "一般"},
    {"unwell", "不适"},
};
const struct vocab care_feeling_vocab = VOCAB("care_feelings", "身体状况", feelings);

#define DAY_MS 86400000LL

/* Enrolled: flagged elderly_alone and not removed, or added by staff
 * (p persons, e care_enrolments LEFT JOINed). */
#define ENROLLED   "(((p.vulnerable & 2) <> 0 AND COALESCE(e.active, 1) = 1) OR e.active = 1)"
#define ENROL_JOIN " LEFT JOIN care_enrolments e ON e.person_id = p.id"

/* The epoch ms at which China day number `day` began (base/time.h has the
 * offset; China keeps no daylight saving, so days are DAY_MS apart). */
static int64_t day_start(int64_t day)
{
    int64_t now = now_ms();
    return china_day_start(now) - (china_day(now) - day) * DAY_MS;
}

void service_day_text(int64_t day, char out[CHINA_TIME_LEN])
{
    china_time(day_start(day), out);
    out[10] = '\0';
}

static json_t *checkin_json(db_stmt *s, int col)
{
    /* columns: id, day, at, by_staff, temperature (NULL), feeling */
    json_t *o = json_object();
    char date[CHINA_TIME_LEN];
    service_day_text(db_col_int64(s, col + 1), date);
    json_set_id(o, "id", db_col_int64(s, col));
    json_object_set_new(o, "date", json_string(date));
    json_object_set_new(o, "at", json_integer(db_col_int64(s, col + 2)));
    json_object_set_new(o, "by_staff", json_boolean(db_col_int64(s, col + 3) != 0));
    json_object_set_new(o, "temperature",
                        db_col_null(s, col + 4) ? json_null()
                                                : json_real(db_col_double(s, col + 4)));
    const char *f = db_col_text(s, col + 5);
    json_object_set_new(o, "feeling", json_string(f));
    const char *l = vocab_label_of(&care_feeling_vocab, f);
    json_object_set_new(o, "feeling_label", json_string(l ? l : ""));
    return o;
}

#define CHECKIN_COLS "k.id, k.day, k.at, k.by_staff, k.temperature, k.feeling"

/* Is person_id (live) enrolled? its region into *region_r */
static err enrolled(db *d, int64_t person_id, bool *yes_r, int64_t *region_r)
{
    db_stmt *s;
    err e = db_prepare(d,
                       "SELECT p.region_code, CASE WHEN " ENROLLED " THEN 1 ELSE 0 END FROM "
                       "persons p" ENROL_JOIN " WHERE p.id = ? AND p.deleted_at = 0",
                       &s);
    if (e)
        return e;
    db_bind_int64(s, 1, person_id);
    bool row;
    *yes_r = false;
    if (!(e = db_row(s, &row)) && row) {
        *region_r = db_col_int64(s, 0);
        *yes_r = db_col_int64(s, 1) != 0;
    }
    db_done(s);
    return e;
}

static err checkin_of(db *d, int64_t person_id, int64_t day, json_t **item_r)
{
    db_stmt *s;
    err e = db_prepare(d,
                       "SELECT " CHECKIN_COLS " FROM care_checkins k WHERE k.person_id = ? AND "
                       "k.day = ?",
                       &s);
    if (e)
        return e;
    db_bind_int64(s, 1, person_id);
    db_bind_int64(s, 2, day);
    bool row;
    *item_r = NULL;
    if (!(e = db_row(s, &row)) && row)
        *item_r = checkin_json(s, 0);
    db_done(s);
    return e;
}

err service_care_checkin(db *d, arena *a, const struct scope *sc, const struct principal *who,
                         const struct care_checkin_new *n, int64_t now, json_t **item_r,
                         bool *created_r)
{
    (void)a;
    if (n->temperature != 0 &&
        (!isfinite(n->temperature) || n->temperature < 35 || n->temperature > 42))
        return err_set(E_INPUT, "invalid_temperature", "temperature", "体温应在35-42℃之间");
    int64_t person = sc ? n->person_id : who->person_id;
    if (!sc && !person)
        return err_set(E_NOT_FOUND, "person_not_registered", NULL, "请先完成实名登记");
    int64_t region = 0;
    err e;
    if (sc && (e = person_region(d, sc, person, &region)))
        return e == E_NOT_FOUND ? err_set(E_NOT_FOUND, "not_found", "person_id", "人员不存在") : e;
    int64_t day = china_day(now);
    if ((e = db_begin(d)))
        return e;
    bool yes = false;
    json_t *item = NULL;
    if ((e = enrolled(d, person, &yes, &region)))
        goto out;
    if (!yes) {
        e = err_set(E_CONFLICT, "not_enrolled", sc ? "person_id" : NULL,
                    "未纳入健康监测，请联系社区工作人员");
        goto out;
    }
    if ((e = checkin_of(d, person, day, &item)))
        goto out;
    if (item) { /* once a day: the first stands */
        *created_r = false;
        goto out;
    }
    db_stmt *s;
    if ((e = db_prepare(d,
                        "INSERT INTO care_checkins (id, person_id, region_code, day, at, by_user, "
                        "by_staff, temperature, feeling) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?)",
                        &s)))
        goto out;
    db_bind_int64(s, 1, id_new());
    db_bind_int64(s, 2, person);
    db_bind_int64(s, 3, region);
    db_bind_int64(s, 4, day);
    db_bind_int64(s, 5, now);
    db_bind_int64(s, 6, n->by_user);
    db_bind_int64(s, 7, n->by_staff ? 1 : 0);
    if (n->temperature != 0)
        db_bind_double(s, 8, n->temperature);
    else
        db_bind_null(s, 8);
    db_bind_text(s, 9,
                 vocab_name(&care_feeling_vocab, (size_t)(n->feeling ? n->feeling : CARE_GOOD)));
    if ((e = db_run(s, NULL)) || (e = checkin_of(d, person, day, &item)))
        goto out;
    *created_r = true;
out:
    if (e) {
        json_decref(item);
        db_rollback(d);
        return e;
    }
    if ((e = db_commit(d))) {
        json_decref(item);
        return e;
    }
    *item_r = item;
    return E_OK;
}

err service_care_mine(db *d, const struct principal *who, int64_t now, json_t **o_r)
{
    json_t *o = json_object();
    bool yes = false;
    int64_t region = 0;
    json_t *today = NULL, *recent = json_array();
    err e = E_OK;
    if (who->person_id && !(e = enrolled(d, who->person_id, &yes, &region)) &&
        !(e = checkin_of(d, who->person_id, china_day(now), &today))) {
        db_stmt *s;
        if (!(e = db_prepare(d,
                             "SELECT " CHECKIN_COLS " FROM care_checkins k WHERE k.person_id "
                             "= ? ORDER BY k.day DESC LIMIT 7",
                             &s))) {
            db_bind_int64(s, 1, who->person_id);
            bool row;
            while (!(e = db_row(s, &row)) && row)
                json_array_append_new(recent, checkin_json(s, 0));
            db_done(s);
        }
    }
    json_object_set_new(o, "enrolled", json_boolean(yes));
    json_object_set_new(o, "today", today ? today : json_null());
    json_object_set_new(o, "recent", recent);
    if (e) {
        json_decref(o);
        return e;
    }
    *o_r = o;
    return E_OK;
}

/* ---- the enrolled of a region range ------------------------------------------------------ */

/* The people flagged elderly_alone: the person registry's counter
 * (src/person/measures.c), at each person's residence. */
#define ELDERLY_ALONE "person.vulnerable.elderly_alone"

/* A person's community: the padded code, the last six digits zeroed. */
#define COMMUNITY_OF "(p.region_code / 1000000) * 1000000"

/*
 * ENROLLED as one OR over persons and care_enrolments is served by no
 * index: a district's list read every person of it (docs/benchmarks.md "At
 * 10,000,000 people"). The same people are two halves, each read through
 * an index: the flagged whom staff did not remove (persons_elderly_region,
 * sql/103, in region order) and the people staff added who are not flagged
 * (care_enrolments, read whole: staff enrolments are few; their region_code
 * is where the person lived when enrolled, so the scope is checked on the
 * person, written so that no index of persons drives that half). Appended
 * to q: "SELECT id, region_code ... UNION ALL SELECT id, region_code ...",
 * each half with f's check-in state on f->day.
 */
static void enrolled_halves(struct query *q, const struct scope *sc, const struct care_filter *f)
{
    static const char *const halves[2] = {
        "SELECT p.id, p.region_code FROM persons p WHERE (p.vulnerable & 2) <> 0 AND p.deleted_at "
        "= 0 AND p.region_code >= ? AND p.region_code < ? AND NOT EXISTS (SELECT 1 FROM "
        "care_enrolments e WHERE e.person_id = p.id AND e.active = 0)",
        " UNION ALL SELECT p.id, p.region_code FROM care_enrolments e CROSS JOIN persons p WHERE "
        "e.active = 1 AND p.id = e.person_id AND p.deleted_at = 0 AND (p.vulnerable & 2) = 0 AND "
        "p.region_code + 0 >= ? AND p.region_code + 0 < ?"};
    static const char *const state[2] = {
        " AND NOT EXISTS (SELECT 1 FROM care_checkins k WHERE k.person_id = p.id AND k.day = ?)",
        " AND EXISTS (SELECT 1 FROM care_checkins k WHERE k.person_id = p.id AND k.day = ?)"};
    for (int i = 0; i < 2; i++) {
        query_sql(q, halves[i]);
        query_int(q, sc->lo);
        query_int(q, sc->hi);
        if (f->state >= 0) {
            query_sql(q, state[f->state != 0]);
            query_int(q, f->day);
        }
    }
}

/* The enrolled and the checked-in on a day of one community. */
struct care_community {
    int64_t code, enrolled, checked;
};

struct care_communities {
    arena *a;
    struct care_community *v;
    size_t n, cap;
};

/* The community holding region_code, added (zeroed) when missing; kept in
 * code order. */
static struct care_community *community_of(struct care_communities *c, int64_t region_code)
{
    int64_t code = region_code / 1000000 * 1000000;
    size_t lo = 0, hi = c->n;
    while (lo < hi) {
        size_t mid = lo + (hi - lo) / 2;
        if (c->v[mid].code < code)
            lo = mid + 1;
        else
            hi = mid;
    }
    if (lo < c->n && c->v[lo].code == code)
        return &c->v[lo];
    if (c->n == c->cap) {
        size_t cap = c->cap ? 2 * c->cap : 64;
        struct care_community *more = arena_alloc(c->a, cap * sizeof *more);
        if (c->n)
            memcpy(more, c->v, c->n * sizeof *more);
        c->v = more;
        c->cap = cap;
    }
    memmove(&c->v[lo + 1], &c->v[lo], (c->n - lo) * sizeof *c->v);
    c->n++;
    c->v[lo] = (struct care_community){code, 0, 0};
    return &c->v[lo];
}

static void flagged_leaf(int64_t region_code, int64_t n, void *ctx)
{
    community_of(ctx, region_code)->enrolled += n;
}

/* Adds the rows (community code, n) of s to each community's figure at
 * offset `checked` (false: enrolled). */
static err communities_add(struct care_communities *c, db_stmt *s, bool checked)
{
    bool row;
    err e;
    while (!(e = db_row(s, &row)) && row) {
        struct care_community *k = community_of(c, db_col_int64(s, 0));
        *(checked ? &k->checked : &k->enrolled) += db_col_int64(s, 1);
    }
    db_done(s);
    return e;
}

/*
 * The enrolled of each community inside sc and those checked in on `day`,
 * without reading every enrolled person: the flagged from the counter's
 * leaves, corrected by staff's changes (those removed while flagged, those
 * added unflagged: care_enrolments, few rows), and the checked-in from the
 * day's check-ins (care_checkins_of_day, sql/103) of people enrolled now.
 * Communities with no one enrolled are left out, as a GROUP BY over the
 * enrolled would.
 */
static err care_communities(db *d, arena *a, const struct scope *sc, int64_t day,
                            struct care_communities *c_r)
{
    struct care_communities c = {.a = a};
    err e = stats_leaves(d, ELDERLY_ALONE, sc->lo, sc->hi, STATS_NOW, flagged_leaf, &c);
    db_stmt *s;
    if (!e &&
        !(e = db_prepare(d,
                         "SELECT " COMMUNITY_OF ", SUM(CASE WHEN e.active = 1 THEN 1 ELSE -1 "
                         "END) FROM care_enrolments e CROSS JOIN persons p WHERE p.id = "
                         "e.person_id AND p.deleted_at = 0 AND p.region_code + 0 >= ? AND "
                         "p.region_code + 0 < ? AND ((e.active = 1 AND (p.vulnerable & 2) = "
                         "0) OR (e.active = 0 AND (p.vulnerable & 2) <> 0)) GROUP BY " COMMUNITY_OF,
                         &s))) {
        db_bind_int64(s, 1, sc->lo);
        db_bind_int64(s, 2, sc->hi);
        e = communities_add(&c, s, false);
    }
    if (!e && !(e = db_prepare(d,
                               "SELECT " COMMUNITY_OF ", COUNT(*) FROM care_checkins k CROSS JOIN "
                               "persons p" ENROL_JOIN " WHERE k.day = ? AND p.id = k.person_id AND "
                               "p.deleted_at = 0 AND p.region_code + 0 >= ? AND p.region_code + 0 "
                               "< ? AND " ENROLLED " GROUP BY " COMMUNITY_OF,
                               &s))) {
        db_bind_int64(s, 1, day);
        db_bind_int64(s, 2, sc->lo);
        db_bind_int64(s, 3, sc->hi);
        e = communities_add(&c, s, true);
    }
    if (e)
        return e;
    size_t kept = 0;
    for (size_t i = 0; i < c.n; i++)
        if (c.v[i].enrolled > 0)
            c.v[kept++] = c.v[i];
    c.n = kept;
    *c_r = c;
    return E_OK;
}

/* How many of f's enrolled inside sc: care_communities' figures summed. */
static err care_total(db *d, arena *a, const struct scope *sc, const struct care_filter *f,
                      int64_t *total_r)
{
    struct care_communities c;
    err e = care_communities(d, a, sc, f->day, &c);
    if (e)
        return e;
    int64_t enrolled = 0, checked = 0;
    for (size_t i = 0; i < c.n; i++) {
        enrolled += c.v[i].enrolled;
        checked += c.v[i].checked;
    }
    *total_r = f->state < 0 ? enrolled : f->state ? checked : enrolled - checked;
    return E_OK;
}

err service_care_people(db *d, arena *a, const struct scope *sc, const struct care_filter *f,
                        json_t **items_r, int64_t *total_r)
{
    int64_t total = 0;
    err e = care_total(d, a, sc, f, &total);
    if (e)
        return e;
    /* the page's people from the two halves merged in region order (each
     * half in its index's order; the engine stops after the page), then
     * their columns for those rows only */
    struct query q = QUERY_INIT;
    query_sql(&q, "SELECT p.id, p.region_code, (SELECT name FROM regions g WHERE g.code = "
                  "p.region_code), p.name_enc, p.address_enc, COALESCE(e.active, -1), (SELECT "
                  "COUNT(*) FROM care_missed m WHERE m.person_id = p.id), " CHECKIN_COLS " FROM (");
    enrolled_halves(&q, sc, f);
    query_sql(
        &q, " ORDER BY region_code, id LIMIT ? OFFSET ?) c JOIN persons p ON p.id = c.id" ENROL_JOIN
            " LEFT JOIN care_checkins k ON k.person_id = p.id AND k.day = ? ORDER BY "
            "p.region_code, p.id");
    query_int(&q, f->page_size);
    query_int(&q, paging_offset(f->page, f->page_size));
    query_int(&q, f->day);
    db_stmt *s;
    if ((e = query_prepare(d, &q, &s)))
        return e;
    json_t *items = json_array();
    bool row;
    while (!(e = db_row(s, &row)) && row) {
        const char *name = "", *address = "";
        if ((e = person_name_masked_col(a, s, 3, &name)) ||
            (e = person_address_masked_col(a, s, 4, &address)))
            break;
        json_t *o = json_object();
        char code[19];
        regcode_format(db_col_int64(s, 1), code);
        json_set_id(o, "person_id", db_col_int64(s, 0));
        json_object_set_new(o, "name", json_string(name));
        json_object_set_new(o, "region_code", json_string(code));
        json_object_set_new(o, "region_name", json_string(db_col_text(s, 2)));
        json_object_set_new(o, "address", json_string(address));
        /* staff added them, or the elderly_alone flag did */
        json_object_set_new(o, "enrolled_by",
                            json_string(db_col_int64(s, 5) == 1 ? "staff" : "flag"));
        json_object_set_new(o, "missed_days", json_integer(db_col_int64(s, 6)));
        json_object_set_new(o, "checkin", db_col_null(s, 7) ? json_null() : checkin_json(s, 7));
        json_array_append_new(items, o);
    }
    db_done(s);
    if (e) {
        json_decref(items);
        return e;
    }
    *items_r = items;
    if (total_r)
        *total_r = total;
    return E_OK;
}

err service_care_enrol(db *d, const struct scope *sc, int64_t person_id, bool active,
                       int64_t user_id)
{
    int64_t region = 0;
    err e = db_begin(d);
    if (e)
        return e;
    db_stmt *s;
    if ((e = person_lock(d, sc, person_id, &region))) {
        if (e == E_NOT_FOUND)
            e = err_set(E_NOT_FOUND, "not_found", "person_id", "人员不存在");
        goto out;
    }
    /* delete and insert: the one upsert both databases run alike */
    if ((e = db_prepare(d, "DELETE FROM care_enrolments WHERE person_id = ?", &s)))
        goto out;
    db_bind_int64(s, 1, person_id);
    if ((e = db_run(s, NULL)))
        goto out;
    if ((e = db_prepare(d,
                        "INSERT INTO care_enrolments (person_id, region_code, active, updated_by, "
                        "updated_at) VALUES (?, ?, ?, ?, ?)",
                        &s)))
        goto out;
    db_bind_int64(s, 1, person_id);
    db_bind_int64(s, 2, region);
    db_bind_int64(s, 3, active ? 1 : 0);
    db_bind_int64(s, 4, user_id);
    db_bind_int64(s, 5, now_ms());
    e = db_run(s, NULL);
out:
    if (e) {
        db_rollback(d);
        return e;
    }
    return db_commit(d);
}

err service_care_stats(db *d, arena *a, const struct scope *sc, int64_t day, json_t **items_r)
{
    struct care_communities c;
    err e = care_communities(d, a, sc, day, &c);
    if (e)
        return e;
    json_t *items = json_array();
    for (size_t i = 0; !e && i < c.n; i++) {
        db_stmt *s;
        if ((e = db_prepare(d, "SELECT name FROM regions WHERE code = ?", &s)))
            break;
        db_bind_int64(s, 1, c.v[i].code);
        bool row;
        const char *name = "";
        if (!(e = db_row(s, &row)) && row)
            name = arena_strdup(a, db_col_text(s, 0));
        db_done(s);
        char code[19];
        regcode_format(c.v[i].code, code);
        const struct care_community *k = &c.v[i];
        json_array_append_new(
            items, json_pack("{s:s,s:s,s:I,s:I,s:I}", "region_code", code, "region_name", name,
                             "enrolled", (json_int_t)k->enrolled, "checked", (json_int_t)k->checked,
                             "missing", (json_int_t)(k->enrolled - k->checked)));
    }
    if (e) {
        json_decref(items);
        return e;
    }
    *items_r = items;
    return E_OK;
}

/* ---- the missed-day sweep ---------------------------------------------------- */

#define SWEEP_MAX 500 /* people per run; the next run takes the rest */

err service_care_sweep(db *d, int64_t day, int64_t now, int64_t *n_r)
{
    if (day > china_day(now))
        return err_set(E_INPUT, "invalid_day", "day", "不能检查今天之后的日期");
    int64_t end = day_start(day + 1); /* the day's end, epoch ms */
    arena *a = arena_new(8192);       /* the sweep's thread has no request arena */
    if (!a)
        return err_set(E_NOMEM, "no_memory", NULL, "内存不足");
    int64_t made = 0;
    err e = db_begin(d);
    if (e) {
        arena_free(&a);
        return e;
    }
    db_stmt *s;
    int64_t ids[SWEEP_MAX];
    size_t n = 0;
    /* enrolled before the day ended (a staff enrolment by its time, a flag
     * by the record's), no check-in that day, no task for it yet. Two
     * halves, each served by an index (the flagged persons by the partial
     * index of sql/080, staff enrolments by their own table): ENROLLED as
     * one OR read every person each hour. */
    if (!(e = db_prepare(
              d,
              "SELECT id FROM (SELECT p.id FROM persons p" ENROL_JOIN
              " WHERE p.deleted_at = 0 AND (p.vulnerable & 2) <> 0 AND COALESCE(e.active, 1) = 1 "
              "AND COALESCE(e.updated_at, p.created_at) < ? UNION SELECT e.person_id FROM "
              "care_enrolments e WHERE e.active = 1 AND e.updated_at < ? AND EXISTS (SELECT 1 "
              "FROM persons p WHERE p.id = e.person_id AND p.deleted_at = 0)) c WHERE NOT EXISTS "
              "(SELECT 1 FROM "
              "care_checkins k WHERE k.person_id = c.id AND k.day = ?) AND NOT EXISTS (SELECT 1 "
              "FROM care_missed m WHERE m.person_id = c.id AND m.day = ?) ORDER BY id LIMIT ?",
              &s))) {
        db_bind_int64(s, 1, end);
        db_bind_int64(s, 2, end);
        db_bind_int64(s, 3, day);
        db_bind_int64(s, 4, day);
        db_bind_int64(s, 5, SWEEP_MAX);
        bool row;
        while (!(e = db_row(s, &row)) && row)
            ids[n++] = db_col_int64(s, 0);
        db_done(s);
    }
    char date[CHINA_TIME_LEN];
    service_day_text(day, date);
    const struct scope all = {0, REGCODE_SPACE}; /* the system's sweep: every region */
    for (size_t i = 0; !e && i < n; i++) {
        struct person p;
        if ((e = person_find(d, a, &all, ids[i], &p)))
            break;
        int64_t task_id = 0;
        struct task_new t = {
            .kind = SERVICE_TASK_CARE_MISSED,
            .region_code = p.region_code,
            .assignee_role = "grid_worker",
            .priority = TASK_HIGH,
            .deadline = now + DAY_MS,
            .title = arena_printf(a, "健康监测未打卡：%s（%s）", mask_name(a, p.name ? p.name : ""),
                                  date),
            .person_id = p.id,
            .subject_id = p.id,
            .address = p.address,
            .phone = p.phone,
            .note = "独居老人当日未报平安，请电话或上门确认情况",
        };
        if ((e = task_create(d, &t, &task_id)))
            break;
        if ((e = db_prepare(d, "INSERT INTO care_missed (person_id, day, task_id) VALUES (?, ?, ?)",
                            &s)))
            break;
        db_bind_int64(s, 1, p.id);
        db_bind_int64(s, 2, day);
        db_bind_int64(s, 3, task_id);
        if ((e = db_run(s, NULL)))
            break;
        made++;
    }
    arena_free(&a);
    if (e) {
        db_rollback(d);
        return e;
    }
    if ((e = db_commit(d)))
        return e;
    if (n_r)
        *n_r = made;
    return E_OK;
}

static const struct task_kind care_missed_kind = {
    .name = SERVICE_TASK_CARE_MISSED,
    .label = "健康监测未打卡",
    .complete = NULL,
    .cancelled = NULL,
    .dispatchable = false,
};

err service_task_kinds_register(void)
{
    err e = task_kind_register(&care_missed_kind);
    if (!e)
        e = service_clue_task_kind_register();
    return e ? e : service_inspect_task_kind_register();
}

static err sweep_run(db *d, int64_t now, void *ctx, int64_t *n_r)
{
    (void)ctx;
    return service_care_sweep(d, china_day(now) - 1, now, n_r);
}

static struct periodic sweeper = PERIODIC_INIT("care_sweep", sweep_run, NULL);

err service_worker_start(const char *db_url, int every_s)
{
    /* the overdue disinfection/inspection sweep shares the period */
    err e = periodic_start(&sweeper, db_url, every_s);
    return e ? e : service_inspect_worker_start(db_url, every_s);
}

void service_worker_stop(void)
{
    service_inspect_worker_stop();
    periodic_stop(&sweeper);
}
