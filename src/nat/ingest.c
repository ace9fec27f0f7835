/*
 * The ingest interfaces of outside systems (数据接入, seed 004 二2(1); nat.h
 * "ingest"): sites with add/change/delete, plans with their planned and
 * reported figures, samples with add/delete, clock-ins.
 *
 * One loop for the four (the transport batch's, nat_transport_batch): a
 * record id already applied for this caller and kind is repeated and
 * changes nothing; any other record is applied in a savepoint through the
 * functions the console and the phone use, so the counters, the scope and
 * the live push move exactly as for a user, and a refused record leaves
 * nothing but its entry in the errors.
 */
#include <string.h>

#include "base/id.h"
#include "base/json.h"
#include "base/regcode.h"
#include "base/time.h"
#include "db/query.h"
#include "nat/internal.h"

#define MINUTE_MS 60000LL
#define DAY_MS    86400000LL

static const char *const kinds[] = {"", "site", "plan", "sample", "clockin"};

/* An outside record's time: within NAT_INGEST_PAST_DAYS back, five minutes ahead. */
static err check_at(int64_t at)
{
    int64_t now = now_ms();
    if (at < now - NAT_INGEST_PAST_DAYS * DAY_MS || at > now + 5 * MINUTE_MS)
        return err_set(E_INPUT, "invalid_time", "at", "时间应在%d天内且不晚于当前时间",
                       NAT_INGEST_PAST_DAYS);
    return E_OK;
}

/* The live site of outside key `key` inside scope (E_NOT_FOUND
 * "unknown_site" on `field` otherwise); *found_r (may be NULL: required)
 * says whether any live site has the key, inside scope or not. */
static err site_by_key(db *d, const struct scope *scope, const char *key, const char *field,
                       int64_t *id_r, bool *found_r)
{
    db_stmt *s;
    err e = db_prepare(d,
                       "SELECT id, region_code FROM nat_sites WHERE source_key = ? AND "
                       "deleted_at = 0",
                       &s);
    if (e)
        return e;
    db_bind_text(s, 1, key);
    bool row;
    int64_t id = 0, region = 0;
    if (!(e = db_row(s, &row)) && row) {
        id = db_col_int64(s, 0);
        region = db_col_int64(s, 1);
    }
    db_done(s);
    if (e)
        return e;
    if (found_r && !row) {
        *found_r = false;
        return E_OK;
    }
    if (!row || !scope_has(scope, region))
        return err_set(E_NOT_FOUND, "unknown_site", field, "点位编码“%s”不存在或不在管辖范围内",
                       key);
    if (found_r)
        *found_r = true;
    *id_r = id;
    return E_OK;
}

/* ---- sites ------------------------------------------------------------------------------- */

static err apply_site(db *d, arena *a, const struct principal *who, const struct nat_site_record *x,
                      int64_t *target_r)
{
    const struct scope *scope = &who->scope;
    int64_t id = 0;
    bool found;
    err e = site_by_key(d, scope, x->key, "key", &id, &found);
    if (e)
        return e;
    if (x->remove) {
        if (!found)
            return err_set(E_NOT_FOUND, "unknown_site", "key", "点位编码“%s”不存在或不在管辖范围内",
                           x->key);
        if ((e = nat_site_delete(d, scope, id)))
            return e;
        *target_r = id;
        return nat_site_push(d, a, id, "delete");
    }
    if (found) {
        if ((e = nat_site_update(d, a, scope, id, 0, &x->in)))
            return e;
        *target_r = id;
        return nat_site_push(d, a, id, "update");
    }
    if ((e = nat_site_create(d, a, scope, &x->in, &id)))
        return e;
    db_stmt *s;
    if ((e = db_prepare(d, "UPDATE nat_sites SET source_key = ? WHERE id = ?", &s)))
        return e;
    db_bind_text(s, 1, x->key);
    db_bind_int64(s, 2, id);
    if ((e = db_run(s, NULL)) == E_CONFLICT) /* a racing batch created the key first */
        return err_set(E_CONFLICT, "duplicate_site_key", "key", "点位编码“%s”已被使用", x->key);
    if (e)
        return e;
    *target_r = id;
    return nat_site_push(d, a, id, "create");
}

/* ---- plans ------------------------------------------------------------------------------- */

static err apply_plan(db *d, arena *a, const struct principal *who, const struct nat_plan_record *x,
                      int64_t *target_r)
{
    db_stmt *s;
    err e = db_prepare(d, "SELECT id FROM nat_plans WHERE number = ? AND deleted_at = 0", &s);
    if (e)
        return e;
    db_bind_text(s, 1, x->in.number);
    bool row;
    int64_t id = 0;
    if (!(e = db_row(s, &row)) && row)
        id = db_col_int64(s, 0);
    db_done(s);
    if (e)
        return e;
    if (!row) {
        if ((e = nat_plan_create(d, who->region_code, who->user_id, &x->in, &id)))
            return e;
    } else {
        struct nat_plan_input in = x->in;
        in.number = NULL; /* the key: unchanged */
        if (in.name || in.starts_at || in.ends_at)
            e = nat_plan_update(d, &who->scope, id, &in);
        else { /* only rows: the plan must still be the caller's to write */
            struct nat_plan p;
            e = nat_plan_find(d, a, &who->scope, id, &p);
        }
        if (e == E_NOT_FOUND)
            return err_set(E_NOT_FOUND, "unknown_plan", "number", "计划编号“%s”不在管辖范围内",
                           x->in.number);
        if (e)
            return e;
    }
    if (x->n) {
        struct nat_target *t = arena_alloc(a, x->n * sizeof *t);
        for (size_t i = 0; i < x->n; i++)
            t[i] = (struct nat_target){x->rows[i].region_code, x->rows[i].industry_id,
                                       x->rows[i].planned};
        e = nat_plan_set_targets(d, &who->scope, id, t, x->n, false);
        if (e == E_NOT_FOUND) /* visible to a street, but its district's to write */
            return err_set(E_NOT_FOUND, "unknown_plan", "number", "计划编号“%s”不在管辖范围内",
                           x->in.number);
        if (e)
            return e;
        for (size_t i = 0; i < x->n && !e; i++)
            if (x->rows[i].reported_set)
                e = nat_plan_report(d, id, x->rows[i].region_code, x->rows[i].industry_id,
                                    x->rows[i].reported);
    }
    *target_r = id;
    return e;
}

/* ---- samples ----------------------------------------------------------------------------- */

/* The live plan of `number`, or E_NOT_FOUND "unknown_plan" on "plan". */
static err plan_by_number(db *d, const char *number, int64_t *id_r)
{
    db_stmt *s;
    err e = db_prepare(d, "SELECT id FROM nat_plans WHERE number = ? AND deleted_at = 0", &s);
    if (e)
        return e;
    db_bind_text(s, 1, number);
    bool row;
    if (!(e = db_row(s, &row)) && row)
        *id_r = db_col_int64(s, 0);
    db_done(s);
    if (!e && !row)
        e = err_set(E_NOT_FOUND, "unknown_plan", "plan", "计划编号“%s”不存在", number);
    return e;
}

/* The sample an earlier add record of this client made, 0 when none. */
static err added_by(db *d, int64_t client, const char *record_id, int64_t *id_r)
{
    db_stmt *s;
    err e = db_prepare(d,
                       "SELECT target_id FROM nat_ingest_records WHERE client_id = ? AND kind = "
                       "'sample' AND record_id = ?",
                       &s);
    if (e)
        return e;
    db_bind_int64(s, 1, client);
    db_bind_text(s, 2, record_id);
    bool row;
    *id_r = 0;
    if (!(e = db_row(s, &row)) && row)
        *id_r = db_col_int64(s, 0);
    db_done(s);
    return e;
}

static err apply_sample(db *d, arena *a, const struct principal *who,
                        const struct nat_sample_record *x, struct nat_sample_defer *df,
                        int64_t *target_r)
{
    err e;
    if (x->remove) {
        /* the adds before it counted first: a delete takes out what they added */
        if ((e = nat_sample_flush(d, a, df)))
            return e;
        int64_t id = x->sample_id;
        if (x->of_record && (e = added_by(d, who->user_id, x->of_record, &id)))
            return e;
        if (!id)
            return err_set(E_NOT_FOUND, "unknown_sample", x->of_record ? "record" : "sample_id",
                           "采样记录不存在");
        e = nat_sample_delete(d, a, &who->scope, id, NULL);
        if (e == E_NOT_FOUND)
            return err_set(E_NOT_FOUND, "unknown_sample", x->of_record ? "record" : "sample_id",
                           "采样记录不存在或不在管辖范围内");
        *target_r = id;
        return e;
    }
    int64_t site = 0, plan = 0;
    struct nat_sampled w;
    if ((e = check_at(x->at)) ||
        (e = site_by_key(d, &who->scope, x->site_key, "site", &site, NULL)))
        return e;
    if (x->plan_number && (e = plan_by_number(d, x->plan_number, &plan)))
        return e;
    e = x->id_number ? nat_sampled_by_id_number(d, a, x->id_number, x->id_type, &w)
                     : nat_sampled_by_code(d, a, x->visitor_code, &w);
    if (e)
        return e;
    struct nat_sample_input in = {
        .person_id = w.person_id,
        .visitor_id = w.visitor_id,
        .method = w.method,
        .barcode = x->barcode,
        .kind = x->kind,
        .plan_id = plan,
        .staff_id = who->user_id,
        .site_id = site,
        .at = x->at,
        .ingest = true,
        .defer = df,
    };
    struct nat_sample_result res;
    if ((e = nat_sample_take(d, a, &in, &res)))
        return e;
    *target_r = res.id;
    return E_OK;
}

/* ---- clock-ins --------------------------------------------------------------------------- */

/* A live staff user of login name `name` whose region lies inside scope. */
static err staff_by_name(db *d, const struct scope *scope, const char *name, int64_t *id_r)
{
    db_stmt *s;
    err e = db_prepare(d,
                       "SELECT id, region_code FROM users WHERE username = ? AND kind = 'staff' "
                       "AND disabled = 0",
                       &s);
    if (e)
        return e;
    db_bind_text(s, 1, name);
    bool row;
    int64_t region = 0;
    if (!(e = db_row(s, &row)) && row) {
        *id_r = db_col_int64(s, 0);
        region = db_col_int64(s, 1);
    }
    db_done(s);
    if (!e && (!row || !scope_has(scope, region)))
        e = err_set(E_NOT_FOUND, "unknown_user", "staff", "工作人员“%s”不存在或不在管辖范围内",
                    name);
    return e;
}

static err apply_clockin(db *d, arena *a, const struct principal *who,
                         const struct nat_clockin_record *x, int64_t *target_r)
{
    int64_t site = 0, user = 0;
    err e = check_at(x->at);
    if (!e)
        e = site_by_key(d, &who->scope, x->site_key, "site", &site, NULL);
    if (!e)
        e = staff_by_name(d, &who->scope, x->staff, &user);
    if (e)
        return e;
    if (!x->out)
        e = nat_clock_in_from(d, &who->scope, site, user, x->lng, x->lat, x->at, true, target_r);
    else {
        struct nat_clockin c;
        bool found;
        if ((e = nat_clockin_current(d, a, user, &c, &found)))
            return e;
        if (!found || c.site_id != site)
            return err_set(E_CONFLICT, "not_clocked_in", "staff", "工作人员“%s”当前未在该点位在岗",
                           x->staff);
        e = nat_clock_out_from(d, user, x->lng, x->lat, x->at, target_r);
    }
    if (e == E_CONFLICT && !*err_last()->field) { /* the phone's codes name no field */
        const char *slug = arena_strdup(a, err_last()->slug);
        e = err_set(E_CONFLICT, slug, "staff", "%s", arena_strdup(a, err_last()->message));
    }
    if (e)
        return e;
    return nat_site_push(d, a, site, x->out ? "clock_out" : "clock_in");
}

/* ---- the batch --------------------------------------------------------------------------- */

static err apply(db *d, arena *a, const struct principal *who, enum nat_ingest_kind kind,
                 const void *rec, struct nat_sample_defer *df, int64_t *target_r)
{
    switch (kind) {
    case NAT_INGEST_SITE:
        return apply_site(d, a, who, rec, target_r);
    case NAT_INGEST_PLAN:
        return apply_plan(d, a, who, rec, target_r);
    case NAT_INGEST_SAMPLE:
        return apply_sample(d, a, who, rec, df, target_r);
    case NAT_INGEST_CLOCKIN:
        return apply_clockin(d, a, who, rec, target_r);
    }
    return err_set(E_INTERNAL, NULL, NULL, "unknown ingest kind");
}

static void record_error(struct nat_batch_result *r, err e, const struct nat_ingest_head *h)
{
    json_batch_error(r->errors, e, h->index, h->record_id, NULL);
}

err nat_ingest_batch(db *d, arena *a, const struct principal *who, enum nat_ingest_kind kind,
                     const void *recs, size_t size, size_t n, struct nat_batch_result *r)
{
    db_stmt *s;
    err e = E_OK;
    struct nat_sample_defer df = {0}; /* the samples' counts, written once at the end */
    for (size_t i = 0; i < n && !e; i++) {
        const void *rec = (const char *)recs + i * size;
        const struct nat_ingest_head *h = rec;
        bool seen;
        if ((e = db_prepare(d,
                            "SELECT 1 FROM nat_ingest_records WHERE client_id = ? AND kind = ? "
                            "AND record_id = ?",
                            &s)))
            break;
        db_bind_int64(s, 1, who->user_id);
        db_bind_text(s, 2, kinds[kind]);
        db_bind_text(s, 3, h->record_id);
        e = db_row(s, &seen);
        db_done(s);
        if (e)
            break;
        if (seen) { /* applied before: changes nothing */
            r->repeated++;
            continue;
        }
        int64_t target = 0;
        if ((e = db_begin(d))) /* a savepoint: a refused record leaves nothing */
            break;
        e = apply(d, a, who, kind, rec, &df, &target);
        if (!e && !(e = db_prepare(d,
                                   "INSERT INTO nat_ingest_records (client_id, kind, record_id, "
                                   "target_id, at) VALUES (?, ?, ?, ?, ?)",
                                   &s))) {
            db_bind_int64(s, 1, who->user_id);
            db_bind_text(s, 2, kinds[kind]);
            db_bind_text(s, 3, h->record_id);
            db_bind_int64(s, 4, target);
            db_bind_int64(s, 5, now_ms());
            e = db_run(s, NULL);
        }
        if (e == E_CONFLICT || e == E_NOT_FOUND || e == E_INPUT) {
            record_error(r, e, h);
            db_rollback(d);
            e = E_OK;
            continue;
        }
        if (e) {
            db_rollback(d);
            break;
        }
        if ((e = db_commit(d)))
            break;
        r->applied++;
    }
    if (!e)
        e = nat_sample_flush(d, a, &df);
    nat_sample_defer_free(&df);
    return e;
}
