/*
 * Tubes and samples (采样, nat.h part 2): a staff phone at the site its
 * owner is clocked in at puts a person into a tube; pooled tubes (混采)
 * take 5, 10 or 20 people and close themselves when full.
 *
 * Everything a sample moves is kept in its transaction: the tube's fill
 * and state, the plan's actual figure (nat_plan_count), the site's scans
 * and its hour's count, so the statistics read counters, never samples.
 * The tube row is claimed by a conditional UPDATE (filled < size, state
 * open), so two phones filling the last place of one tube cannot both win;
 * the first sample of a person's round is the one the partial unique index
 * nat_samples_first admits, so two phones sampling one person at once
 * count them once.
 */
#include <stdlib.h>
#include <string.h>

#include "base/grow.h"
#include "base/id.h"
#include "base/json.h"
#include "base/regcode.h"
#include "base/time.h"
#include "db/query.h"
#include "nat/internal.h"
#include "person/person.h"
#include "security/mask.h"
#include "visitor/visitor.h"

static const struct vocab_word tube_kinds[] = {
    [NAT_TUBE_SINGLE] = {"single", "单管"},
    [NAT_TUBE_POOL5] = {"pool5", "5:1混采"},
    [NAT_TUBE_POOL10] = {"pool10", "10:1混采"},
    [NAT_TUBE_POOL20] = {"pool20", "20:1混采"},
};
const struct vocab nat_tube_kind_vocab = VOCAB("nat_tube_kinds", "试管类型", tube_kinds);
_Static_assert(sizeof tube_kinds / sizeof tube_kinds[0] == NAT_TUBE_KIND__COUNT, "every kind");

static const struct vocab_word tube_states[] = {
    [NAT_TUBE_OPEN] = {"open", "采样中"},         [NAT_TUBE_CLOSED] = {"closed", "已封管"},
    [NAT_TUBE_PACKED] = {"packed", "已装箱"},     [NAT_TUBE_IN_TRANSIT] = {"in_transit", "转运中"},
    [NAT_TUBE_RECEIVED] = {"received", "已签收"}, [NAT_TUBE_RESULTED] = {"resulted", "已出结果"},
};
const struct vocab nat_tube_state_vocab = VOCAB("nat_tube_states", "试管状态", tube_states);
_Static_assert(sizeof tube_states / sizeof tube_states[0] == NAT_TUBE_STATE__COUNT, "every state");

static const char *const methods[] = {"", "code", "id_number", "visitor"};

int nat_tube_size(enum nat_tube_kind k)
{
    switch (k) {
    case NAT_TUBE_POOL5:
        return 5;
    case NAT_TUBE_POOL10:
        return 10;
    case NAT_TUBE_POOL20:
        return 20;
    default:
        return 1;
    }
}

bool nat_barcode_valid(const char *s)
{
    size_t n = 0;
    for (; s && s[n]; n++) {
        char c = s[n];
        if (!((c >= '0' && c <= '9') || (c >= 'A' && c <= 'Z') || (c >= 'a' && c <= 'z') ||
              c == '-'))
            return false;
    }
    return s && n >= NAT_BARCODE_MIN && n <= NAT_BARCODE_MAX;
}

#define HOUR_MS 3600000LL

/* ---- taking a sample ------------------------------------------------------------------ */

enum { DEFER_FIGURE, DEFER_HOUR }; /* a batch's counts (below) */
static err defer_add(struct nat_sample_defer *df, int kind, int64_t k1, int64_t k2, int64_t k3);

/* The site of the staff's open clock-in, with its state and region. */
static err staff_site(db *d, int64_t staff, int64_t *site_r, int64_t *region_r)
{
    db_stmt *s;
    err e = db_prepare(d,
                       "SELECT s.id, s.region_code, s.state, s.deleted_at FROM nat_clockins c "
                       "JOIN nat_sites s ON s.id = c.site_id WHERE c.user_id = ? AND c.out_at = 0",
                       &s);
    if (e)
        return e;
    db_bind_int64(s, 1, staff);
    bool row;
    if ((e = db_row(s, &row)) || !row) {
        db_done(s);
        return e ? e
                 : err_set(E_CONFLICT, "not_clocked_in", NULL,
                           "您当前没有在点位打卡上岗，不能采样");
    }
    *site_r = db_col_int64(s, 0);
    *region_r = db_col_int64(s, 1);
    bool closed = !strcmp(db_col_text(s, 2), "closed") || db_col_int64(s, 3) != 0;
    db_done(s);
    if (closed)
        return err_set(E_CONFLICT, "site_closed", NULL, "该点位已关闭，不能采样");
    return E_OK;
}

/* The region of live site `site` that takes samples (an outside system's
 * sample names its site; the caller checked its scope). */
static err site_open(db *d, int64_t site, int64_t *region_r)
{
    db_stmt *s;
    err e = db_prepare(d, "SELECT region_code, state, deleted_at FROM nat_sites WHERE id = ?", &s);
    if (e)
        return e;
    db_bind_int64(s, 1, site);
    bool row, closed = false;
    if (!(e = db_row(s, &row)) && row) {
        *region_r = db_col_int64(s, 0);
        closed = !strcmp(db_col_text(s, 1), "closed") || db_col_int64(s, 2) != 0;
    }
    db_done(s);
    if (e)
        return e;
    if (!row || closed)
        return err_set(E_CONFLICT, "site_closed", "site", "该点位已关闭，不能采样");
    return E_OK;
}

static err check_plan(db *d, arena *a, int64_t plan_id, int64_t site_region, int64_t now)
{
    struct nat_plan p;
    struct scope sc = scope_of(site_region); /* the plan must cover the site */
    err e = nat_plan_find(d, a, &sc, plan_id, &p);
    if (e == E_NOT_FOUND)
        return err_set(E_NOT_FOUND, "unknown_plan", "plan_id", "检测计划不存在或不覆盖本点位");
    if (e)
        return e;
    if (now < p.starts_at || now >= p.ends_at)
        return err_set(E_CONFLICT, "plan_not_running", "plan_id", "该检测计划不在执行时间内");
    return E_OK;
}

err nat_tube_admit(const struct nat_tube *t, int64_t site_id, int64_t plan_id)
{
    if (t->site_id != site_id)
        return err_set(E_CONFLICT, "tube_used", "barcode", "该试管条码已在其他点位使用");
    if (t->filled >= t->size)
        return err_set(E_CONFLICT, "tube_full", "barcode", "该试管已满（%lld/%lld），请换新试管",
                       (long long)t->filled, (long long)t->size);
    if (t->state != NAT_TUBE_OPEN)
        return err_set(E_CONFLICT, "tube_used", "barcode", "该试管已封管，请换新试管");
    if (t->plan_id != plan_id)
        return err_set(E_CONFLICT, "tube_plan_mismatch", "plan_id",
                       "该试管属于另一检测计划，请换新试管");
    return E_OK;
}

int64_t nat_sample_round_day(int64_t plan_id, int64_t at)
{
    /* a plan's round: the day its id was made, constant per plan (so the
     * plan alone still decides) and a real day, which nat_samples is
     * partitioned by on PostgreSQL (sql/093, sql/094, docs/retention.md) */
    return china_day(plan_id ? id_time_ms(plan_id) : at);
}

/* The tube of `barcode` as the sample needs it (no names); *found_r says. */
static err tube_read(db *d, const char *barcode, struct nat_tube *t, bool *found_r)
{
    db_stmt *s;
    err e = db_prepare(d,
                       "SELECT id, site_id, plan_id, size, filled, state FROM nat_tubes WHERE "
                       "barcode = ?",
                       &s);
    if (e)
        return e;
    db_bind_text(s, 1, barcode);
    bool row;
    if (!(e = db_row(s, &row)) && row)
        *t = (struct nat_tube){
            .id = db_col_int64(s, 0),
            .site_id = db_col_int64(s, 1),
            .plan_id = db_col_int64(s, 2),
            .size = db_col_int64(s, 3),
            .filled = db_col_int64(s, 4),
            .state = (enum nat_tube_state)vocab_parse(&nat_tube_state_vocab, db_col_text(s, 5)),
        };
    db_done(s);
    if (!e)
        *found_r = row;
    return e;
}

/* The person's street and their employer's industry (0 when the registry
 * links none: the employer text names no live enterprise, or its industry
 * text names no live industry). */
static err person_counting(db *d, int64_t person, int64_t *street_r, int64_t *industry_r)
{
    db_stmt *s;
    err e = db_prepare(d,
                       "SELECT p.region_code, (SELECT MIN(i.id) FROM enterprises e JOIN "
                       "nat_industries i ON i.name = e.industry AND i.deleted_at = 0 WHERE "
                       "e.name = p.employer AND p.employer <> '' AND e.deleted_at = 0) FROM "
                       "persons p WHERE p.id = ?",
                       &s);
    if (e)
        return e;
    db_bind_int64(s, 1, person);
    bool row;
    if (!(e = db_row(s, &row)) && row) {
        *street_r = regcode_at_most(db_col_int64(s, 0), LEVEL_STREET);
        *industry_r = db_col_null(s, 1) ? 0 : db_col_int64(s, 1);
    }
    db_done(s);
    if (!e && !row)
        e = err_set(E_NOT_FOUND, "unknown_person", NULL, "人员不存在");
    return e;
}

err nat_run_ints(db *d, const char *sql, const int64_t *args, int n, int64_t *changed_r)
{
    db_stmt *s;
    err e = db_prepare(d, sql, &s);
    if (e)
        return e;
    for (int i = 0; i < n; i++)
        db_bind_int64(s, i + 1, args[i]);
    return db_run(s, changed_r);
}

/* A sample row as nat_sample_take writes it. */
struct sample_row {
    const struct nat_sample_input *in;
    int64_t id, tube_id, site, region, street, industry, at;
};

/* Insert x (a new id into x->id) as a duplicate or as the first of its
 * round (nat_sample_round_day); a first that the partial unique index
 * nat_samples_first already holds is not written: *changed_r (may be NULL)
 * says 0. */
static err sample_insert(db *d, struct sample_row *x, bool duplicate, int64_t *changed_r)
{
    db_stmt *s;
    err e = db_prepare(
        d,
        duplicate ? "INSERT INTO nat_samples (id, person_id, visitor_id, tube_id, "
                    "site_id, region_code, plan_id, street_code, industry_id, "
                    "staff_id, method, at, day, round_day, source, duplicate) VALUES "
                    "(?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, 1)"
                  : "INSERT INTO nat_samples (id, person_id, visitor_id, tube_id, "
                    "site_id, region_code, plan_id, street_code, industry_id, "
                    "staff_id, method, at, day, round_day, source, duplicate) VALUES "
                    "(?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, 0) ON CONFLICT (person_id, "
                    "visitor_id, plan_id, round_day) WHERE duplicate = 0 DO NOTHING",
        &s);
    if (e)
        return e;
    x->id = id_new();
    db_bind_int64(s, 1, x->id);
    db_bind_int64(s, 2, x->in->person_id);
    db_bind_int64(s, 3, x->in->visitor_id);
    db_bind_int64(s, 4, x->tube_id);
    db_bind_int64(s, 5, x->site);
    db_bind_int64(s, 6, x->region);
    db_bind_int64(s, 7, x->in->plan_id);
    db_bind_int64(s, 8, x->street);
    db_bind_int64(s, 9, x->industry);
    db_bind_int64(s, 10, x->in->staff_id);
    db_bind_text(s, 11, methods[x->in->method]);
    db_bind_int64(s, 12, x->at);
    db_bind_int64(s, 13, china_day(x->at));
    db_bind_int64(s, 14, nat_sample_round_day(x->in->plan_id, x->at));
    db_bind_text(s, 15, x->in->ingest ? "ingest" : "scan");
    return db_run(s, changed_r);
}

err nat_sample_take(db *d, arena *a, const struct nat_sample_input *in, struct nat_sample_result *r)
{
    memset(r, 0, sizeof *r);
    if (!nat_barcode_valid(in->barcode))
        return err_set(E_INPUT, "invalid_barcode", "barcode",
                       "试管条码应为6到32位数字、字母或连字符");
    enum nat_tube_kind kind = in->kind ? in->kind : NAT_TUBE_SINGLE;
    int64_t site = in->site_id, region = 0, now = in->at ? in->at : now_ms();
    err e = site ? site_open(d, site, &region) : staff_site(d, in->staff_id, &site, &region);
    if (!e && in->plan_id)
        e = check_plan(d, a, in->plan_id, region, now);
    if (e)
        return e;
    struct nat_tube t;
    bool found;
    if ((e = tube_read(d, in->barcode, &t, &found)))
        return e;
    if (found && (e = nat_tube_admit(&t, site, in->plan_id)))
        return e;
    if (!found) {
        db_stmt *s;
        t = (struct nat_tube){.id = id_new(),
                              .site_id = site,
                              .plan_id = in->plan_id,
                              .size = nat_tube_size(kind),
                              .state = NAT_TUBE_OPEN};
        if ((e = db_prepare(d,
                            "INSERT INTO nat_tubes (id, barcode, kind, size, site_id, region_code, "
                            "plan_id, opened_by, opened_at) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?)",
                            &s)))
            return e;
        db_bind_int64(s, 1, t.id);
        db_bind_text(s, 2, in->barcode);
        db_bind_text(s, 3, vocab_name(&nat_tube_kind_vocab, (size_t)kind));
        db_bind_int64(s, 4, t.size);
        db_bind_int64(s, 5, site);
        db_bind_int64(s, 6, region);
        db_bind_int64(s, 7, in->plan_id);
        db_bind_int64(s, 8, in->staff_id);
        db_bind_int64(s, 9, now);
        if ((e = db_run(s, NULL)) == E_CONFLICT) /* a racing phone opened it first */
            return err_set(E_CONFLICT, "tube_used", "barcode", "该试管条码已被使用，请重试");
        if (e)
            return e;
        r->opened = true;
    }
    /* claim a place: the row's own condition decides a race for the last one */
    int64_t changed;
    if ((e = nat_run_ints(
             d,
             "UPDATE nat_tubes SET filled = filled + 1, state = CASE WHEN filled + 1 >= size "
             "THEN 'closed' ELSE state END, closed_at = CASE WHEN filled + 1 >= size THEN ? "
             "ELSE closed_at END WHERE id = ? AND state = 'open' AND filled < size",
             (int64_t[]){now, t.id}, 2, &changed)))
        return e;
    if (!changed) { /* another phone took the last place (or closed it) in between */
        t.filled = t.size;
        return nat_tube_admit(&t, site, in->plan_id);
    }
    r->filled = t.filled + 1;
    r->size = t.size;
    r->closed = r->filled >= t.size;
    int64_t street = regcode_at_most(region, LEVEL_STREET), industry = 0;
    if (in->person_id && (e = person_counting(d, in->person_id, &street, &industry)))
        return e;
    /* The first sample of the round is the one the unique index admits as
     * not a duplicate: a phone racing another for the same person waits
     * for it and finds the place taken, so the person is counted once. */
    struct sample_row x = {.in = in,
                           .tube_id = t.id,
                           .site = site,
                           .region = region,
                           .street = street,
                           .industry = industry,
                           .at = now};
    int64_t first;
    if ((e = sample_insert(d, &x, false, &first)))
        return e;
    r->duplicate = first == 0;
    if (r->duplicate && (e = sample_insert(d, &x, true, NULL)))
        return e;
    r->id = x.id;
    r->tube_id = t.id;
    r->site_id = site;
    /* China hours start on UTC hours (+8 h exactly), so the hour is a floor */
    int64_t hour = now - now % HOUR_MS;
    if (in->defer) { /* a batch's: the same counts, written once by nat_sample_flush */
        if ((in->plan_id && !r->duplicate &&
             ((e = defer_add(in->defer, DEFER_FIGURE, in->plan_id, street, 0)) ||
              (industry &&
               (e = defer_add(in->defer, DEFER_FIGURE, in->plan_id, street, industry))))))
            return e;
        return defer_add(in->defer, DEFER_HOUR, site, hour, region);
    }
    if (in->plan_id && !r->duplicate) {
        if ((e = nat_plan_count(d, in->plan_id, street, 0, 1)))
            return e;
        if (industry && (e = nat_plan_count(d, in->plan_id, street, industry, 1)))
            return e;
    }
    db_stmt *s;
    if ((e = nat_run_ints(
             d,
             "INSERT INTO nat_site_hours (site_id, hour, region_code, n) VALUES (?, ?, "
             "?, 1) ON CONFLICT (site_id, hour) DO UPDATE SET n = nat_site_hours.n + 1",
             (int64_t[]){site, hour, region}, 3, NULL)) ||
        (e = nat_run_ints(d, "UPDATE nat_sites SET scans = scans + 1 WHERE id = ?", &site, 1,
                          NULL)))
        return e;
    if ((e = db_prepare(d, "SELECT n FROM nat_site_hours WHERE site_id = ? AND hour = ?", &s)))
        return e;
    db_bind_int64(s, 1, site);
    db_bind_int64(s, 2, hour);
    bool row;
    if (!(e = db_row(s, &row)) && row)
        r->scans = db_col_int64(s, 0);
    db_done(s);
    if (e)
        return e;
    return nat_site_push(d, a, site, "sample");
}

/* ---- a batch's counts, written once ------------------------------------------------------- */

struct nat_defer_item {
    int kind;
    int64_t k1, k2, k3; /* figure: plan, street, industry; hour: site, hour, region */
    int64_t n;
};

static err defer_add(struct nat_sample_defer *df, int kind, int64_t k1, int64_t k2, int64_t k3)
{
    /* from the end: a batch's samples mostly repeat the last keys */
    for (size_t i = df->n; i-- > 0;) {
        struct nat_defer_item *x = &df->v[i];
        if (x->kind == kind && x->k1 == k1 && x->k2 == k2 && x->k3 == k3) {
            x->n++;
            return E_OK;
        }
    }
    if (!GROW(&df->v, &df->cap, df->n, 1, 32))
        return err_set(E_NOMEM, NULL, NULL, NULL);
    df->v[df->n++] = (struct nat_defer_item){kind, k1, k2, k3, 1};
    return E_OK;
}

err nat_sample_flush(db *d, arena *a, struct nat_sample_defer *df)
{
    err e = E_OK;
    for (size_t i = 0; i < df->n && !e; i++) {
        const struct nat_defer_item *x = &df->v[i];
        if (x->kind == DEFER_FIGURE) {
            e = nat_plan_count(d, x->k1, x->k2, x->k3, x->n);
            continue;
        }
        if (!(e = nat_run_ints(d,
                               "INSERT INTO nat_site_hours (site_id, hour, region_code, n) VALUES "
                               "(?, ?, ?, ?) ON CONFLICT (site_id, hour) DO UPDATE SET n = "
                               "nat_site_hours.n + excluded.n",
                               (int64_t[]){x->k1, x->k2, x->k3, x->n}, 4, NULL)))
            e = nat_run_ints(d, "UPDATE nat_sites SET scans = scans + ? WHERE id = ?",
                             (int64_t[]){x->n, x->k1}, 2, NULL);
    }
    /* each site pushed once, as it stands after the batch */
    for (size_t i = 0; i < df->n && !e; i++) {
        const struct nat_defer_item *x = &df->v[i];
        bool first = x->kind == DEFER_HOUR;
        for (size_t j = 0; j < i && first; j++)
            first = !(df->v[j].kind == DEFER_HOUR && df->v[j].k1 == x->k1);
        if (first)
            e = nat_site_push(d, a, x->k1, "sample");
    }
    df->n = 0;
    return e;
}

void nat_sample_defer_free(struct nat_sample_defer *df)
{
    free(df->v);
    *df = (struct nat_sample_defer){0};
}

/* ---- deleting a sample (an outside system's 取样数据删除) ---------------------------------- */

/* Move the site's scans and the hour of `at` by -1 (an hour left at 0 goes). */
static err scans_less(db *d, int64_t site, int64_t at)
{
    int64_t hour = at - at % HOUR_MS;
    err e = nat_run_ints(d, "UPDATE nat_site_hours SET n = n - 1 WHERE site_id = ? AND hour = ?",
                         (int64_t[]){site, hour}, 2, NULL);
    if (!e)
        e = nat_run_ints(d, "DELETE FROM nat_site_hours WHERE site_id = ? AND hour = ? AND n <= 0",
                         (int64_t[]){site, hour}, 2, NULL);
    if (!e)
        e = nat_run_ints(d, "UPDATE nat_sites SET scans = scans - 1 WHERE id = ? AND scans > 0",
                         &site, 1, NULL);
    return e;
}

/* The first sample of the round deleted: the next one of the same round
 * (by time) becomes the first, counted as nat_sample_take counts a first. */
static err promote_next(db *d, int64_t person, int64_t visitor, int64_t plan, int64_t round_day)
{
    db_stmt *s;
    err e = db_prepare(d,
                       "SELECT id, street_code, industry_id FROM nat_samples WHERE person_id = ? "
                       "AND visitor_id = ? AND plan_id = ? AND round_day = ? AND duplicate = 1 "
                       "ORDER BY at, id LIMIT 1",
                       &s);
    if (e)
        return e;
    db_bind_int64(s, 1, person);
    db_bind_int64(s, 2, visitor);
    db_bind_int64(s, 3, plan);
    db_bind_int64(s, 4, round_day);
    bool row;
    int64_t next = 0, street = 0, industry = 0;
    if (!(e = db_row(s, &row)) && row) {
        next = db_col_int64(s, 0);
        street = db_col_int64(s, 1);
        industry = db_col_int64(s, 2);
    }
    db_done(s);
    if (e || !next)
        return e;
    if ((e = nat_run_ints(d, "UPDATE nat_samples SET duplicate = 0 WHERE id = ?", &next, 1, NULL)))
        return e;
    if (plan && ((e = nat_plan_count(d, plan, street, 0, 1)) ||
                 (industry && (e = nat_plan_count(d, plan, street, industry, 1)))))
        return e;
    return nat_sample_outcome_count(d, next, 1);
}

err nat_sample_delete(db *d, arena *a, const struct scope *scope, int64_t id, int64_t *site_r)
{
    db_stmt *s;
    err e = db_prepare(
        d,
        "SELECT x.person_id, x.visitor_id, x.tube_id, x.site_id, x.plan_id, "
        "x.street_code, x.industry_id, x.at, x.round_day, x.duplicate, t.state, "
        "x.result FROM nat_samples x JOIN nat_tubes t ON t.id = x.tube_id WHERE x.id = ? "
        "AND x.region_code >= ? AND x.region_code < ?",
        &s);
    if (e)
        return e;
    db_bind_int64(s, 1, id);
    db_bind_int64(s, 2, scope->lo);
    db_bind_int64(s, 3, scope->hi);
    bool row;
    if ((e = db_row(s, &row)) || !row) {
        db_done(s);
        return e ? e : err_set(E_NOT_FOUND, "unknown_sample", "sample", "采样记录不存在");
    }
    int64_t person = db_col_int64(s, 0), visitor = db_col_int64(s, 1), tube = db_col_int64(s, 2),
            site = db_col_int64(s, 3), plan = db_col_int64(s, 4), street = db_col_int64(s, 5),
            industry = db_col_int64(s, 6), at = db_col_int64(s, 7), round_day = db_col_int64(s, 8);
    bool duplicate = db_col_int64(s, 9) != 0;
    enum nat_tube_state ts =
        (enum nat_tube_state)vocab_parse(&nat_tube_state_vocab, db_col_text(s, 10));
    bool resulted = *db_col_text(s, 11) != '\0';
    db_done(s);
    if ((ts != NAT_TUBE_OPEN && ts != NAT_TUBE_CLOSED) || resulted)
        return err_set(E_CONFLICT, "tube_packed", "sample", "该采样记录的试管%s，不能删除",
                       resulted ? "已出结果" : vocab_label(&nat_tube_state_vocab, ts));
    /* the tube's place: claimed by its state, so a box packing it meanwhile wins */
    int64_t changed;
    if ((e = nat_run_ints(d,
                          "UPDATE nat_tubes SET filled = filled - 1 WHERE id = ? AND state IN "
                          "('open', 'closed') AND filled > 0",
                          &tube, 1, &changed)))
        return e;
    if (!changed)
        return err_set(E_CONFLICT, "tube_packed", "sample", "该采样记录的试管已装箱，不能删除");
    if ((e = nat_run_ints(d, "DELETE FROM nat_tubes WHERE id = ? AND filled = 0", &tube, 1,
                          NULL)) ||
        (e = nat_run_ints(d, "DELETE FROM nat_samples WHERE id = ?", &id, 1, NULL)) ||
        (e = scans_less(d, site, at)))
        return e;
    if (!duplicate) {
        if (plan && ((e = nat_plan_count(d, plan, street, 0, -1)) ||
                     (industry && (e = nat_plan_count(d, plan, street, industry, -1)))))
            return e;
        if ((e = promote_next(d, person, visitor, plan, round_day)))
            return e;
    }
    if (site_r)
        *site_r = site;
    return nat_site_push(d, a, site, "sample");
}

/* ---- tubes ------------------------------------------------------------------------------ */

#define TUBE_COLS                                                                                  \
    "SELECT t.id, t.barcode, t.kind, t.size, t.filled, t.site_id, s.name, t.region_code, r.name, " \
    "t.plan_id, p.name, t.opened_by, u.display_name, t.state, t.opened_at, t.closed_at, "          \
    "t.closed_by, t.result, t.resulted_at, t.institution FROM nat_tubes t JOIN nat_sites s ON "    \
    "s.id "                                                                                        \
    "= t.site_id LEFT JOIN regions r ON "                                                          \
    "r.code = t.region_code LEFT JOIN nat_plans p ON p.id = t.plan_id LEFT JOIN users u ON u.id "  \
    "= t.opened_by"

static void tube_row_read(db_stmt *s, arena *a, struct nat_tube *t)
{
    *t = (struct nat_tube){
        .id = db_col_int64(s, 0),
        .barcode = arena_strdup(a, db_col_text(s, 1)),
        .kind = (enum nat_tube_kind)vocab_parse(&nat_tube_kind_vocab, db_col_text(s, 2)),
        .size = db_col_int64(s, 3),
        .filled = db_col_int64(s, 4),
        .site_id = db_col_int64(s, 5),
        .site_name = arena_strdup(a, db_col_text(s, 6)),
        .region_code = db_col_int64(s, 7),
        .region_name = arena_strdup(a, db_col_text(s, 8)),
        .plan_id = db_col_int64(s, 9),
        .plan_name = arena_strdup(a, db_col_text(s, 10)),
        .opened_by = db_col_int64(s, 11),
        .opened_by_name = arena_strdup(a, db_col_text(s, 12)),
        .state = (enum nat_tube_state)vocab_parse(&nat_tube_state_vocab, db_col_text(s, 13)),
        .opened_at = db_col_int64(s, 14),
        .closed_at = db_col_int64(s, 15),
        .closed_by = db_col_int64(s, 16),
        .result = vocab_parse(&nat_result_vocab, db_col_text(s, 17)),
        .resulted_at = db_col_int64(s, 18),
        .institution = arena_strdup(a, db_col_text(s, 19)),
    };
    if (t->result < 0)
        t->result = 0;
}

err nat_tube_find(db *d, arena *a, const struct scope *scope, const char *barcode,
                  struct nat_tube *t_r)
{
    if (!nat_barcode_valid(barcode))
        return err_set(E_NOT_FOUND, NULL, NULL, NULL);
    db_stmt *s;
    err e = db_prepare(
        d, TUBE_COLS " WHERE t.barcode = ? AND t.region_code >= ? AND t.region_code < ?", &s);
    if (e)
        return e;
    db_bind_text(s, 1, barcode);
    db_bind_int64(s, 2, scope->lo);
    db_bind_int64(s, 3, scope->hi);
    bool row;
    if (!(e = db_row(s, &row)) && row)
        tube_row_read(s, a, t_r);
    db_done(s);
    if (!e && !row)
        e = err_set(E_NOT_FOUND, NULL, NULL, NULL);
    return e;
}

err nat_tube_close(db *d, arena *a, const struct scope *scope, const char *barcode, int64_t user_id,
                   struct nat_tube *t_r)
{
    struct nat_tube t;
    err e = nat_tube_find(d, a, scope, barcode, &t);
    if (e)
        return e;
    if (t.state != NAT_TUBE_OPEN)
        return err_set(E_CONFLICT, "tube_closed", "barcode", "该试管已封管");
    /* never empty: a tube is opened by its first sample, in its transaction */
    db_stmt *s;
    if ((e = db_prepare(d,
                        "UPDATE nat_tubes SET state = 'closed', closed_at = ?, closed_by = ? "
                        "WHERE id = ? AND state = 'open'",
                        &s)))
        return e;
    db_bind_int64(s, 1, now_ms());
    db_bind_int64(s, 2, user_id);
    db_bind_int64(s, 3, t.id);
    int64_t changed;
    if ((e = db_run(s, &changed)))
        return e;
    if (!changed) /* filled or closed by another phone in between */
        return err_set(E_CONFLICT, "tube_closed", "barcode", "该试管已封管");
    if (t_r)
        *t_r = t;
    return E_OK;
}

static err scope_filter(struct query *w, const struct scope *scope, int64_t region_code,
                        const char *col)
{
    query_sql(w, " WHERE ");
    query_sql(w, col);
    query_sql(w, " >= ? AND ");
    query_sql(w, col);
    query_sql(w, " < ?");
    query_int(w, scope->lo);
    query_int(w, scope->hi);
    if (region_code) {
        if (!scope_has(scope, region_code))
            return err_set(E_INPUT, "invalid_region", "region_code",
                           "所属区划不存在或不在您的管辖范围内");
        query_sql(w, " AND ");
        query_sql(w, col);
        query_sql(w, " >= ? AND ");
        query_sql(w, col);
        query_sql(w, " < ?");
        query_int(w, region_code);
        query_int(w, regcode_end(region_code));
    }
    return E_OK;
}

static void eq_filter(struct query *w, const char *cond, int64_t v)
{
    if (v) {
        query_sql(w, cond);
        query_int(w, v);
    }
}

static err tube_read_any(db_stmt *s, arena *a, void *item, void *ctx)
{
    (void)ctx;
    tube_row_read(s, a, item);
    return E_OK;
}

err nat_tube_list(db *d, arena *a, const struct scope *scope, const struct nat_tube_filter *f,
                  struct nat_tube **items_r, size_t *n_r, int64_t *total_r)
{
    struct query *w = arena_alloc(a, sizeof *w);
    *w = (struct query)QUERY_INIT;
    err e = scope_filter(w, scope, f->region_code, "t.region_code");
    if (e)
        return e;
    eq_filter(w, " AND t.site_id = ?", f->site_id);
    eq_filter(w, " AND t.plan_id = ?", f->plan_id);
    eq_filter(w, " AND t.box_id = ?", f->box_id);
    eq_filter(w, " AND t.opened_at >= ?", f->from);
    eq_filter(w, " AND t.opened_at < ?", f->to);
    eq_filter(w, " AND t.resulted_at >= ?", f->resulted_from);
    if (f->state) {
        query_sql(w, " AND t.state = ?");
        query_text(w, vocab_name(&nat_tube_state_vocab, (size_t)f->state));
    }
    if (f->awaiting)
        query_sql(w, " AND t.state <> 'open' AND t.state <> 'resulted'");
    void *items;
    e = query_page(d, a, w,
                   &(struct query_page){.count = "SELECT COUNT(*) FROM nat_tubes t",
                                        .select = TUBE_COLS,
                                        .order = " ORDER BY t.opened_at DESC, t.id DESC",
                                        .page = f->page,
                                        .page_size = f->page_size,
                                        .max = NAT_EXPORT_MAX,
                                        .size = sizeof(struct nat_tube),
                                        .read = tube_read_any},
                   &items, n_r, total_r);
    if (!e)
        *items_r = items;
    return e;
}

json_t *nat_tube_json(const struct nat_tube *t)
{
    json_t *o = json_object();
    json_set_id(o, "id", t->id);
    json_object_set_new(o, "barcode", json_string(t->barcode));
    json_object_set_new(o, "kind", json_string(vocab_name(&nat_tube_kind_vocab, (size_t)t->kind)));
    json_object_set_new(o, "kind_label",
                        json_string(vocab_label(&nat_tube_kind_vocab, (size_t)t->kind)));
    json_object_set_new(o, "size", json_integer(t->size));
    json_object_set_new(o, "filled", json_integer(t->filled));
    json_set_id(o, "site_id", t->site_id);
    json_object_set_new(o, "site_name", json_string(t->site_name));
    json_set_region(o, t->region_code, t->region_name);
    if (t->plan_id)
        json_set_id(o, "plan_id", t->plan_id);
    else
        json_object_set_new(o, "plan_id", json_null());
    json_object_set_new(o, "plan_name", t->plan_id ? json_string(t->plan_name) : json_null());
    json_object_set_new(o, "opened_by_name", json_string(t->opened_by_name));
    json_object_set_new(o, "state",
                        json_string(vocab_name(&nat_tube_state_vocab, (size_t)t->state)));
    json_object_set_new(o, "state_label",
                        json_string(vocab_label(&nat_tube_state_vocab, (size_t)t->state)));
    json_object_set_new(o, "opened_at", json_integer(t->opened_at));
    json_object_set_new(o, "closed_at", t->closed_at ? json_integer(t->closed_at) : json_null());
    json_object_set_new(o, "closed_early", json_boolean(t->closed_by != 0));
    json_object_set_new(o, "result",
                        t->result ? json_string(vocab_name(&nat_result_vocab, (size_t)t->result))
                                  : json_null());
    json_object_set_new(
        o, "result_label",
        json_string(t->result ? vocab_label(&nat_result_vocab, (size_t)t->result) : "待检测"));
    json_object_set_new(o, "resulted_at",
                        t->resulted_at ? json_integer(t->resulted_at) : json_null());
    json_object_set_new(o, "institution", json_string(t->institution));
    return o;
}

/* ---- samples ------------------------------------------------------------------------------ */

#define SAMPLE_COLS                                                                                \
    "SELECT x.id, x.person_id, x.visitor_id, x.tube_id, t.barcode, t.kind, x.site_id, s.name, "    \
    "x.region_code, r.name, x.plan_id, p.name, x.staff_id, u.display_name, x.method, x.at, "       \
    "x.duplicate, x.result, x.outcome, x.source FROM nat_samples x JOIN nat_tubes t ON t.id = "    \
    "x.tube_id "                                                                                   \
    "JOIN nat_sites s ON "                                                                         \
    "s.id "                                                                                        \
    "= x.site_id LEFT JOIN regions r ON r.code = x.region_code LEFT JOIN nat_plans p ON p.id = "   \
    "x.plan_id LEFT JOIN users u ON u.id = x.staff_id"

static err sample_read(db_stmt *s, arena *a, void *item, void *ctx)
{
    (void)ctx;
    struct nat_sample *x = item;
    const char *m = db_col_text(s, 14);
    *x = (struct nat_sample){
        .id = db_col_int64(s, 0),
        .person_id = db_col_int64(s, 1),
        .visitor_id = db_col_int64(s, 2),
        .tube_id = db_col_int64(s, 3),
        .barcode = arena_strdup(a, db_col_text(s, 4)),
        .tube_kind = (enum nat_tube_kind)vocab_parse(&nat_tube_kind_vocab, db_col_text(s, 5)),
        .name = "",
        .site_id = db_col_int64(s, 6),
        .site_name = arena_strdup(a, db_col_text(s, 7)),
        .region_code = db_col_int64(s, 8),
        .region_name = arena_strdup(a, db_col_text(s, 9)),
        .plan_id = db_col_int64(s, 10),
        .plan_name = arena_strdup(a, db_col_text(s, 11)),
        .staff_id = db_col_int64(s, 12),
        .staff_name = arena_strdup(a, db_col_text(s, 13)),
        .method = !strcmp(m, "visitor")     ? NAT_BY_VISITOR
                  : !strcmp(m, "id_number") ? NAT_BY_ID_NUMBER
                                            : NAT_BY_CODE,
        .at = db_col_int64(s, 15),
        .duplicate = db_col_int64(s, 16) != 0,
        .result = vocab_parse(&nat_result_vocab, db_col_text(s, 17)),
        .outcome = vocab_parse(&nat_outcome_vocab, db_col_text(s, 18)),
        .ingest = !strcmp(db_col_text(s, 19), "ingest"),
    };
    if (x->result < 0)
        x->result = 0;
    if (x->outcome < 0)
        x->outcome = 0;
    return E_OK;
}

err nat_sample_list(db *d, arena *a, const struct scope *scope, const struct nat_sample_filter *f,
                    struct nat_sample **items_r, size_t *n_r, int64_t *total_r)
{
    struct query *w = arena_alloc(a, sizeof *w);
    *w = (struct query)QUERY_INIT;
    err e = scope_filter(w, scope, f->region_code, "x.region_code");
    if (e)
        return e;
    eq_filter(w, " AND x.site_id = ?", f->site_id);
    eq_filter(w, " AND x.plan_id = ?", f->plan_id);
    eq_filter(w, " AND x.tube_id = ?", f->tube_id);
    eq_filter(w, " AND x.person_id = ?", f->person_id);
    eq_filter(w, " AND x.at >= ?", f->from);
    eq_filter(w, " AND x.at < ?", f->to);
    if (f->duplicate >= 0)
        query_sql(w, f->duplicate ? " AND x.duplicate = 1" : " AND x.duplicate = 0");
    void *items;
    if ((e = query_page(d, a, w,
                        &(struct query_page){.count = "SELECT COUNT(*) FROM nat_samples x",
                                             .select = SAMPLE_COLS,
                                             .order = " ORDER BY x.at DESC, x.id DESC",
                                             .page = f->page,
                                             .page_size = f->page_size,
                                             .max = NAT_EXPORT_MAX,
                                             .size = sizeof(struct nat_sample),
                                             .read = sample_read},
                        &items, n_r, total_r)))
        return e;
    struct nat_sample *xs = items;
    /* the names are sealed: one brief read per row (a page, or an export
     * capped at NAT_EXPORT_MAX) */
    struct scope all = scope_all(); /* the sample is in scope by its site */
    for (size_t i = 0; i < *n_r; i++) {
        if (xs[i].person_id) {
            struct person p;
            if (!(e = person_find_brief(d, a, &all, xs[i].person_id, &p)))
                xs[i].name = p.name;
        } else if (xs[i].visitor_id) {
            struct visitor v;
            if (!(e = visitor_find(d, a, &all, 0, xs[i].visitor_id, &v)))
                xs[i].name = v.name;
        }
        if (e == E_NOT_FOUND) /* a record deleted since: the sample stays, nameless */
            e = E_OK;
        if (e)
            return e;
    }
    *items_r = xs;
    return E_OK;
}

json_t *nat_sample_json(arena *a, const struct nat_sample *x, bool reveal)
{
    json_t *o = json_object();
    json_set_id(o, "id", x->id);
    if (x->person_id)
        json_set_id(o, "person_id", x->person_id);
    else
        json_object_set_new(o, "person_id", json_null());
    json_object_set_new(o, "visitor", json_boolean(x->visitor_id != 0));
    json_object_set_new(o, "name", json_string(reveal ? x->name : mask_name(a, x->name)));
    json_object_set_new(o, "barcode", json_string(x->barcode));
    json_object_set_new(o, "tube_kind",
                        json_string(vocab_name(&nat_tube_kind_vocab, (size_t)x->tube_kind)));
    json_object_set_new(o, "tube_kind_label",
                        json_string(vocab_label(&nat_tube_kind_vocab, (size_t)x->tube_kind)));
    json_set_id(o, "site_id", x->site_id);
    json_object_set_new(o, "site_name", json_string(x->site_name));
    json_set_region(o, x->region_code, x->region_name);
    if (x->plan_id)
        json_set_id(o, "plan_id", x->plan_id);
    else
        json_object_set_new(o, "plan_id", json_null());
    json_object_set_new(o, "plan_name", x->plan_id ? json_string(x->plan_name) : json_null());
    json_object_set_new(o, "staff_name", json_string(x->staff_name));
    json_object_set_new(o, "method", json_string(methods[x->method]));
    json_object_set_new(o, "at", json_integer(x->at));
    json_object_set_new(o, "duplicate", json_boolean(x->duplicate));
    json_object_set_new(o, "source", json_string(x->ingest ? "ingest" : "scan"));
    json_object_set_new(o, "result",
                        x->result ? json_string(vocab_name(&nat_result_vocab, (size_t)x->result))
                                  : json_null());
    json_object_set_new(o, "outcome",
                        x->outcome ? json_string(vocab_name(&nat_outcome_vocab, (size_t)x->outcome))
                                   : json_null());
    json_object_set_new(
        o, "outcome_label",
        json_string(x->outcome ? vocab_label(&nat_outcome_vocab, (size_t)x->outcome) : "待检测"));
    return o;
}

/* ---- scans per hour ---------------------------------------------------------------------- */

#define HOUR_COLS                                                                                  \
    "SELECT h.site_id, s.name, h.region_code, r.name, h.hour, h.n FROM nat_site_hours h JOIN "     \
    "nat_sites s ON s.id = h.site_id LEFT JOIN regions r ON r.code = h.region_code"

static err hour_read(db_stmt *s, arena *a, void *item, void *ctx)
{
    (void)ctx;
    struct nat_site_hour *h = item;
    *h = (struct nat_site_hour){
        .site_id = db_col_int64(s, 0),
        .site_name = arena_strdup(a, db_col_text(s, 1)),
        .region_code = db_col_int64(s, 2),
        .region_name = arena_strdup(a, db_col_text(s, 3)),
        .hour = db_col_int64(s, 4),
        .n = db_col_int64(s, 5),
    };
    return E_OK;
}

err nat_site_hours(db *d, arena *a, const struct scope *scope, int64_t region_code, int64_t site_id,
                   int64_t from, int64_t to, int64_t page, int64_t page_size,
                   struct nat_site_hour **items_r, size_t *n_r, int64_t *total_r)
{
    struct query *w = arena_alloc(a, sizeof *w);
    *w = (struct query)QUERY_INIT;
    err e = scope_filter(w, scope, region_code, "h.region_code");
    if (e)
        return e;
    eq_filter(w, " AND h.site_id = ?", site_id);
    eq_filter(w, " AND h.hour >= ?", from);
    eq_filter(w, " AND h.hour < ?", to);
    void *items;
    e = query_page(d, a, w,
                   &(struct query_page){.count = "SELECT COUNT(*) FROM nat_site_hours h",
                                        .select = HOUR_COLS,
                                        .order = " ORDER BY h.hour DESC, h.site_id",
                                        .page = page,
                                        .page_size = page_size,
                                        .max = NAT_EXPORT_MAX,
                                        .size = sizeof(struct nat_site_hour),
                                        .read = hour_read},
                   &items, n_r, total_r);
    if (!e)
        *items_r = items;
    return e;
}
