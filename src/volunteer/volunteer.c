/*
 * Volunteers and their service projects (volunteer.h has the contract).
 * A place is reserved by one conditional UPDATE of the project's `taken`,
 * as shop stock is: two sign-ups for the last place cannot both take it
 * (the row is locked by the first writer on PostgreSQL, the database by it
 * on SQLite); the CHECK (taken <= places) is the last guard.
 */
#include <string.h>

#include "base/id.h"
#include "base/regcode.h"
#include "db/query.h"
#include "region/region.h"
#include "security/crypto.h"
#include "volunteer/volunteer.h"

static const struct vocab_word status_words[] = {{"", ""},
                                                 {"pending", "待审核"},
                                                 {"approved", "已通过"},
                                                 {"rejected", "未通过"},
                                                 {"revoked", "已撤销"}};
const struct vocab volunteer_status_vocab =
    VOCAB("volunteer_status", "志愿者审核状态", status_words);

static err not_found(void)
{
    return err_set(E_NOT_FOUND, "volunteer_not_found", NULL, "志愿者申请不存在");
}

static err project_not_found(void)
{
    return err_set(E_NOT_FOUND, "project_not_found", NULL, "志愿服务项目不存在");
}

/* ---- applications ---------------------------------------------------------- */

err volunteer_apply(db *d, struct volunteer *v)
{
    db_stmt *s;
    err e = db_prepare(d, "SELECT id, status FROM volunteers WHERE user_id = ?", &s);
    if (e)
        return e;
    db_bind_int64(s, 1, v->user_id);
    bool row;
    int64_t id = 0;
    int st = 0;
    if (!(e = db_row(s, &row)) && row) {
        id = db_col_int64(s, 0);
        st = vocab_parse(&volunteer_status_vocab, db_col_text(s, 1));
    }
    db_done(s);
    if (e)
        return e;
    if (id && st != VOL_REJECTED && st != VOL_REVOKED)
        return err_set(E_CONFLICT, "volunteer_applied", NULL,
                       st == VOL_APPROVED ? "您已是志愿者" : "您的志愿者申请正在审核中");
    int64_t now = now_ms();
    if (id) /* a rejected or revoked one is reopened with the new details */
        e = db_prepare(d,
                       "UPDATE volunteers SET person_id = ?, region_code = ?, skills = ?, "
                       "availability = ?, status = 'pending', note = '', reviewed_by = 0, "
                       "reviewed_at = 0, created_at = ?, updated_at = ? WHERE id = ? AND "
                       "status IN ('rejected', 'revoked')",
                       &s);
    else
        e = db_prepare(d,
                       "INSERT INTO volunteers (person_id, region_code, skills, availability, "
                       "status, created_at, updated_at, id, user_id) VALUES (?, ?, ?, ?, "
                       "'pending', ?, ?, ?, ?)",
                       &s);
    if (e)
        return e;
    v->id = id ? id : id_new();
    v->created_at = now;
    v->status = VOL_PENDING;
    v->note = "";
    v->reviewed_at = 0;
    db_bind_int64(s, 1, v->person_id);
    db_bind_int64(s, 2, v->region_code);
    db_bind_text(s, 3, v->skills ? v->skills : "");
    db_bind_text(s, 4, v->availability ? v->availability : "");
    db_bind_int64(s, 5, now);
    db_bind_int64(s, 6, now);
    db_bind_int64(s, 7, v->id);
    if (!id)
        db_bind_int64(s, 8, v->user_id);
    int64_t n;
    if ((e = db_run(s, &n)))
        /* a second application of the same account at the same instant */
        return e == E_CONFLICT
                   ? err_set(E_CONFLICT, "volunteer_applied", NULL, "您的志愿者申请正在审核中")
                   : e;
    if (n == 0)
        return err_set(E_CONFLICT, "volunteer_applied", NULL, "您的志愿者申请正在审核中");
    return E_OK;
}

/* the person's name and phone, the sign-ups and their minutes */
#define VOL_COLS                                                                                   \
    "v.id, v.user_id, v.person_id, v.region_code, COALESCE(r.name, ''), p.name_enc, p.phone_enc, " \
    "v.skills, v.availability, v.status, v.note, v.reviewed_at, v.created_at, (SELECT COUNT(*) "   \
    "FROM volunteer_signups g WHERE g.volunteer_id = v.id AND g.cancelled_at = 0), (SELECT "       \
    "COALESCE(SUM(g.minutes), 0) "                                                                 \
    "FROM volunteer_signups g WHERE g.volunteer_id = v.id)"
#define VOL_FROM                                                                                   \
    " FROM volunteers v LEFT JOIN persons p ON p.id = v.person_id LEFT JOIN regions r ON r.code "  \
    "= v.region_code"

static err vol_read(db_stmt *s, arena *a, void *item, void *ctx)
{
    (void)ctx;
    struct volunteer *v = item;
    memset(v, 0, sizeof *v);
    v->id = db_col_int64(s, 0);
    v->user_id = db_col_int64(s, 1);
    v->person_id = db_col_int64(s, 2);
    v->region_code = db_col_int64(s, 3);
    v->region_name = arena_strdup(a, db_col_text(s, 4));
    err e = unseal_col(a, s, 5, "persons.name", &v->name);
    if (e || (e = unseal_col(a, s, 6, "persons.phone", &v->phone)))
        return e;
    if (!v->name)
        v->name = "";
    if (!v->phone)
        v->phone = "";
    v->skills = arena_strdup(a, db_col_text(s, 7));
    v->availability = arena_strdup(a, db_col_text(s, 8));
    int st = vocab_parse(&volunteer_status_vocab, db_col_text(s, 9));
    v->status = st > 0 ? (enum volunteer_status)st : VOL_PENDING;
    v->note = arena_strdup(a, db_col_text(s, 10));
    v->reviewed_at = db_col_int64(s, 11);
    v->created_at = db_col_int64(s, 12);
    v->signups = db_col_int64(s, 13);
    v->minutes = db_col_int64(s, 14);
    return E_OK;
}

/* One application by `where` (binding one id, and the scope when sc). */
static err vol_one(db *d, arena *a, const char *where, int64_t id, const struct scope *sc,
                   struct volunteer *v_r)
{
    struct query q = QUERY_INIT;
    query_sql(&q, "SELECT " VOL_COLS VOL_FROM);
    query_sql(&q, where);
    query_int(&q, id);
    if (sc) {
        query_sql(&q, " AND v.region_code >= ? AND v.region_code < ?");
        query_int(&q, sc->lo);
        query_int(&q, sc->hi);
    }
    return query_one(
        d, a,
        &(struct query_one){.q = &q, .size = sizeof *v_r, .read = vol_read, .not_found = not_found},
        v_r);
}

err volunteer_of_user(db *d, arena *a, int64_t user_id, struct volunteer *v_r)
{
    return vol_one(d, a, " WHERE v.user_id = ?", user_id, NULL, v_r);
}

err volunteer_find(db *d, arena *a, const struct scope *sc, int64_t id, struct volunteer *v_r)
{
    return vol_one(d, a, " WHERE v.id = ?", id, sc, v_r);
}

err volunteer_list(db *d, arena *a, const struct scope *sc, const struct volunteer_filter *f,
                   struct volunteer **items_r, size_t *n_r, int64_t *total_r)
{
    struct query *w = arena_zalloc(a, sizeof *w);
    if (!w)
        return E_NOMEM;
    query_sql(w, VOL_FROM " WHERE v.region_code >= ? AND v.region_code < ?");
    query_int(w, sc->lo);
    query_int(w, sc->hi);
    if (f->status) {
        query_sql(w, " AND v.status = ?");
        query_text(w, vocab_name(&volunteer_status_vocab, f->status));
    }
    void *items;
    err e = query_page(d, a, w,
                       &(struct query_page){.count = "SELECT COUNT(*)",
                                            .select = "SELECT " VOL_COLS,
                                            .order = " ORDER BY v.created_at DESC, v.id DESC",
                                            .page = f->page,
                                            .page_size = f->page_size,
                                            .max = VOLUNTEER_EXPORT_MAX,
                                            .size = sizeof(struct volunteer),
                                            .read = vol_read},
                       &items, n_r, total_r);
    if (!e)
        *items_r = items;
    return e;
}

/* Give user `user_id` the built-in role `volunteer` unless it holds it. */
err volunteer_region(db *d, const struct principal *p, int64_t *region_r)
{
    *region_r = 0;
    if (!p->resident)
        return E_OK;
    db_stmt *s;
    err e = db_prepare(d,
                       "SELECT region_code FROM volunteers WHERE user_id = ? AND "
                       "status = 'approved'",
                       &s);
    if (e)
        return e;
    db_bind_int64(s, 1, p->user_id);
    bool row;
    int64_t region = 0;
    if (!(e = db_row(s, &row)) && row)
        region = db_col_int64(s, 0);
    db_done(s);
    if (e)
        return e;
    if (region <= 0)
        return err_set(E_FORBIDDEN, "volunteer_not_approved", NULL,
                       "您还不是志愿者，请先申请并等待审核");
    *region_r = regcode_at_most(region, LEVEL_COMMUNITY);
    return E_OK;
}

static err grant_role(db *d, int64_t user_id)
{
    db_stmt *s;
    err e = db_prepare(d,
                       "SELECT r.id, (SELECT COUNT(*) FROM user_roles ur WHERE ur.user_id = ? AND "
                       "ur.role_id = r.id) FROM roles r WHERE r.key = ?",
                       &s);
    if (e)
        return e;
    db_bind_int64(s, 1, user_id);
    db_bind_text(s, 2, VOLUNTEER_ROLE);
    bool row;
    int64_t role = 0, held = 0;
    if (!(e = db_row(s, &row)) && row) {
        role = db_col_int64(s, 0);
        held = db_col_int64(s, 1);
    }
    db_done(s);
    if (e)
        return e;
    if (!role) /* rbac_seed writes every built-in role at start-up */
        return err_set(E_INTERNAL, NULL, NULL, NULL);
    if (held)
        return E_OK;
    if ((e = db_prepare(d, "INSERT INTO user_roles (user_id, role_id) VALUES (?, ?)", &s)))
        return e;
    db_bind_int64(s, 1, user_id);
    db_bind_int64(s, 2, role);
    if (!(e = db_run(s, NULL)))
        auth_changed_at_commit(d); /* cached principals reload with the new role */
    return e;
}

err volunteer_review(db *d, arena *a, const struct scope *sc, int64_t id, int64_t by, bool approve,
                     const char *note, struct volunteer *v_r)
{
    struct volunteer v;
    err e = volunteer_find(d, a, sc, id, &v);
    if (e)
        return e;
    db_stmt *s;
    if ((e = db_prepare(d,
                        "UPDATE volunteers SET status = ?, note = ?, reviewed_by = ?, "
                        "reviewed_at = ?, updated_at = ? WHERE id = ? AND status = 'pending'",
                        &s)))
        return e;
    int64_t now = now_ms();
    db_bind_text(s, 1, approve ? "approved" : "rejected");
    db_bind_text(s, 2, note ? note : "");
    db_bind_int64(s, 3, by);
    db_bind_int64(s, 4, now);
    db_bind_int64(s, 5, now);
    db_bind_int64(s, 6, id);
    int64_t n;
    if ((e = db_run(s, &n)))
        return e;
    if (n == 0) /* reviewed already, perhaps by someone else since the read */
        return err_set(E_CONFLICT, "volunteer_state", "status", "该申请已审核");
    if (approve && (e = grant_role(d, v.user_id)))
        return e;
    return volunteer_find(d, a, sc, id, v_r);
}

err volunteer_revoke(db *d, arena *a, const struct scope *sc, int64_t id, int64_t by,
                     const char *note, int64_t now, struct volunteer *v_r)
{
    struct volunteer v;
    err e = volunteer_find(d, a, sc, id, &v);
    if (e)
        return e;
    db_stmt *s;
    if ((e = db_prepare(d,
                        "UPDATE volunteers SET status = 'revoked', note = ?, reviewed_by = ?, "
                        "reviewed_at = ?, updated_at = ? WHERE id = ? AND status = 'approved'",
                        &s)))
        return e;
    db_bind_text(s, 1, note);
    db_bind_int64(s, 2, by);
    db_bind_int64(s, 3, now);
    db_bind_int64(s, 4, now);
    db_bind_int64(s, 5, id);
    int64_t n;
    if ((e = db_run(s, &n)))
        return e;
    if (n == 0)
        return err_set(E_CONFLICT, "volunteer_state", "status", "只能撤销已通过的志愿者");
    /* the role first: the next request of the account no longer holds it */
    if ((e = db_prepare(d,
                        "DELETE FROM user_roles WHERE user_id = ? AND role_id IN (SELECT id FROM "
                        "roles WHERE key = ?)",
                        &s)))
        return e;
    db_bind_int64(s, 1, v.user_id);
    db_bind_text(s, 2, VOLUNTEER_ROLE);
    if ((e = db_run(s, NULL)))
        return e;
    auth_changed_at_commit(d);
    /* sign-ups for projects not started (nor cancelled) are dropped and
     * their places returned; the rest is history */
    if ((e = db_prepare(d,
                        "UPDATE volunteer_projects SET taken = taken - 1, updated_at = ? WHERE "
                        "starts_at > ? AND cancelled_at = 0 AND taken > 0 AND id IN (SELECT "
                        "project_id FROM volunteer_signups WHERE volunteer_id = ?)",
                        &s)))
        return e;
    db_bind_int64(s, 1, now);
    db_bind_int64(s, 2, now);
    db_bind_int64(s, 3, id);
    if ((e = db_run(s, NULL)))
        return e;
    if ((e = db_prepare(d,
                        "DELETE FROM volunteer_signups WHERE volunteer_id = ? AND project_id IN "
                        "(SELECT id FROM volunteer_projects WHERE starts_at > ? AND cancelled_at "
                        "= 0)",
                        &s)))
        return e;
    db_bind_int64(s, 1, id);
    db_bind_int64(s, 2, now);
    if ((e = db_run(s, NULL)))
        return e;
    return volunteer_find(d, a, sc, id, v_r);
}

/* ---- projects -------------------------------------------------------------- */

/* The period and the places of a new or edited project. */
static err check_project(const struct volunteer_project *p, int64_t now)
{
    if (p->ends_at <= p->starts_at || p->ends_at <= now ||
        p->ends_at - p->starts_at > VOLUNTEER_SPAN_MAX_MS)
        return err_set(E_INPUT, "invalid_period", "ends_at",
                       "服务时间不正确：结束时间须晚于开始时间和当前时间，且不超过31天");
    if (p->places < 1 || p->places > VOLUNTEER_PLACES_MAX)
        return err_set(E_INPUT, "out_of_range", "places", "招募人数应为 1 到 %d",
                       VOLUNTEER_PLACES_MAX);
    return E_OK;
}

static err project_cancelled(void)
{
    return err_set(E_CONFLICT, "project_cancelled", NULL, "该志愿服务项目已取消");
}

err volunteer_project_create(db *d, arena *a, const struct scope *sc, int64_t by,
                             struct volunteer_project *p)
{
    struct region reg;
    if (p->region_code <= 0 || regcode_level(p->region_code) < LEVEL_COMMUNITY ||
        !scope_has(sc, p->region_code) || region_find(d, sc, p->region_code, false, a, &reg))
        return err_set(E_INPUT, "invalid_region", "region_code", "请选择辖区内的社区或楼栋");
    int64_t now = now_ms();
    err e = check_project(p, now);
    if (e)
        return e;
    db_stmt *s;
    e = db_prepare(d,
                   "INSERT INTO volunteer_projects (id, region_code, title, place, content, "
                   "starts_at, ends_at, places, taken, created_by, created_at, updated_at) "
                   "VALUES (?, ?, ?, ?, ?, ?, ?, ?, 0, ?, ?, ?)",
                   &s);
    if (e)
        return e;
    p->id = id_new();
    p->created_at = now;
    p->taken = 0;
    p->region_name = arena_strdup(a, reg.name);
    db_bind_int64(s, 1, p->id);
    db_bind_int64(s, 2, p->region_code);
    db_bind_text(s, 3, p->title);
    db_bind_text(s, 4, p->place ? p->place : "");
    db_bind_text(s, 5, p->content ? p->content : "");
    db_bind_int64(s, 6, p->starts_at);
    db_bind_int64(s, 7, p->ends_at);
    db_bind_int64(s, 8, p->places);
    db_bind_int64(s, 9, by);
    db_bind_int64(s, 10, now);
    db_bind_int64(s, 11, now);
    return db_run(s, NULL);
}

#define PROJ_COLS                                                                                  \
    "j.id, j.region_code, COALESCE(r.name, ''), j.title, j.place, j.content, j.starts_at, "        \
    "j.ends_at, j.places, j.taken, j.created_at, j.cancelled_at, j.cancel_note"

static err proj_read(db_stmt *s, arena *a, void *item, void *ctx)
{
    bool mine = ctx != NULL; /* two more columns: the viewer's sign-up */
    struct volunteer_project *p = item;
    memset(p, 0, sizeof *p);
    p->id = db_col_int64(s, 0);
    p->region_code = db_col_int64(s, 1);
    p->region_name = arena_strdup(a, db_col_text(s, 2));
    p->title = arena_strdup(a, db_col_text(s, 3));
    p->place = arena_strdup(a, db_col_text(s, 4));
    p->content = arena_strdup(a, db_col_text(s, 5));
    p->starts_at = db_col_int64(s, 6);
    p->ends_at = db_col_int64(s, 7);
    p->places = db_col_int64(s, 8);
    p->taken = db_col_int64(s, 9);
    p->created_at = db_col_int64(s, 10);
    p->cancelled_at = db_col_int64(s, 11);
    p->cancel_note = arena_strdup(a, db_col_text(s, 12));
    if (mine) {
        p->signup_id = db_col_null(s, 13) ? 0 : db_col_int64(s, 13);
        p->minutes = db_col_null(s, 14) ? 0 : db_col_int64(s, 14);
    }
    return E_OK;
}

err volunteer_project_list(db *d, arena *a, const struct volunteer_project_viewer *v, int64_t page,
                           int64_t page_size, struct volunteer_project **items_r, size_t *n_r,
                           int64_t *total_r)
{
    struct query *w = arena_zalloc(a, sizeof *w), *sel = arena_zalloc(a, sizeof *sel);
    if (!w || !sel)
        return E_NOMEM;
    query_sql(sel, "SELECT " PROJ_COLS);
    if (v->volunteer_id) {
        query_sql(sel, ", g.id, g.minutes");
        query_sql(w, " FROM volunteer_projects j LEFT JOIN regions r ON r.code = j.region_code "
                     "LEFT JOIN volunteer_signups g ON g.project_id = j.id AND g.volunteer_id = ? "
                     "WHERE j.region_code >= ? AND j.region_code < ? AND ((j.ends_at > ? AND "
                     "j.cancelled_at = 0) OR g.id IS NOT NULL)");
        query_int(w, v->volunteer_id);
        query_int(w, v->scope->lo);
        query_int(w, v->scope->hi);
        query_int(w, v->now);
    } else {
        query_sql(w, " FROM volunteer_projects j LEFT JOIN regions r ON r.code = j.region_code "
                     "WHERE j.region_code >= ? AND j.region_code < ?");
        query_int(w, v->scope->lo);
        query_int(w, v->scope->hi);
    }
    void *items;
    err e = query_page(d, a, w,
                       &(struct query_page){.count = "SELECT COUNT(*)",
                                            .select_q = sel,
                                            .order = " ORDER BY j.starts_at DESC, j.id DESC",
                                            .page = page,
                                            .page_size = page_size,
                                            .max = VOLUNTEER_EXPORT_MAX,
                                            .size = sizeof(struct volunteer_project),
                                            .read = proj_read,
                                            .ctx = v->volunteer_id ? (void *)v : NULL},
                       &items, n_r, total_r);
    if (!e)
        *items_r = items;
    return e;
}

err volunteer_project_find(db *d, arena *a, const struct scope *sc, int64_t id,
                           struct volunteer_project *p_r)
{
    return query_one(d, a,
                     &(struct query_one){.select = "SELECT " PROJ_COLS
                                                   " FROM volunteer_projects j LEFT JOIN regions r "
                                                   "ON r.code = j.region_code WHERE j.id = ? AND "
                                                   "j.region_code >= ? AND j.region_code < ?",
                                         .id = id,
                                         .lo = sc->lo,
                                         .hi = sc->hi,
                                         .size = sizeof *p_r,
                                         .read = proj_read,
                                         .not_found = project_not_found},
                     p_r);
}

/* A project staff may still change: not cancelled, not ended. */
static err project_open(db *d, arena *a, const struct scope *sc, int64_t id, int64_t now,
                        struct volunteer_project *p)
{
    err e = volunteer_project_find(d, a, sc, id, p);
    if (e)
        return e;
    if (p->cancelled_at)
        return project_cancelled();
    if (p->ends_at <= now)
        return err_set(E_CONFLICT, "project_ended", NULL, "该志愿服务项目已结束");
    return E_OK;
}

err volunteer_project_update(db *d, arena *a, const struct scope *sc, int64_t now,
                             struct volunteer_project *p)
{
    struct volunteer_project old;
    err e = project_open(d, a, sc, p->id, now, &old);
    if (e || (e = check_project(p, now)))
        return e;
    if (p->places < old.taken)
        return err_set(E_INPUT, "out_of_range", "places", "招募人数不能少于已报名的 %lld 人",
                       (long long)old.taken);
    db_stmt *s;
    if ((e = db_prepare(d,
                        "UPDATE volunteer_projects SET title = ?, place = ?, content = ?, "
                        "starts_at = ?, ends_at = ?, places = ?, updated_at = ? WHERE id = ? AND "
                        "cancelled_at = 0 AND taken <= ?",
                        &s)))
        return e;
    db_bind_text(s, 1, p->title);
    db_bind_text(s, 2, p->place ? p->place : "");
    db_bind_text(s, 3, p->content ? p->content : "");
    db_bind_int64(s, 4, p->starts_at);
    db_bind_int64(s, 5, p->ends_at);
    db_bind_int64(s, 6, p->places);
    db_bind_int64(s, 7, now);
    db_bind_int64(s, 8, p->id);
    db_bind_int64(s, 9, p->places);
    int64_t n;
    if ((e = db_run(s, &n)))
        return e;
    if (n == 0) /* a sign-up took the place since the read */
        return err_set(E_INPUT, "out_of_range", "places", "招募人数不能少于已报名人数");
    return volunteer_project_find(d, a, sc, p->id, p);
}

err volunteer_project_cancel(db *d, arena *a, const struct scope *sc, int64_t id, int64_t by,
                             const char *note, int64_t now, struct volunteer_project *p_r)
{
    struct volunteer_project p;
    err e = project_open(d, a, sc, id, now, &p);
    if (e)
        return e;
    db_stmt *s;
    if ((e = db_prepare(d,
                        "UPDATE volunteer_projects SET cancelled_at = ?, cancelled_by = ?, "
                        "cancel_note = ?, updated_at = ? WHERE id = ? AND cancelled_at = 0",
                        &s)))
        return e;
    db_bind_int64(s, 1, now);
    db_bind_int64(s, 2, by);
    db_bind_text(s, 3, note);
    db_bind_int64(s, 4, now);
    db_bind_int64(s, 5, id);
    int64_t n;
    if ((e = db_run(s, &n)))
        return e;
    if (n == 0) /* cancelled by someone else since the read */
        return project_cancelled();
    if ((e = db_prepare(d,
                        "UPDATE volunteer_signups SET cancelled_at = ? WHERE project_id = ? AND "
                        "cancelled_at = 0",
                        &s)))
        return e;
    db_bind_int64(s, 1, now);
    db_bind_int64(s, 2, id);
    if ((e = db_run(s, NULL)))
        return e;
    return volunteer_project_find(d, a, sc, id, p_r);
}

err volunteer_signup(db *d, arena *a, const struct scope *sc, int64_t volunteer_id, int64_t id,
                     int64_t now, struct volunteer_project *p_r)
{
    struct volunteer_project p;
    err e = volunteer_project_find(d, a, sc, id, &p);
    if (e)
        return e;
    if (p.cancelled_at)
        return project_cancelled();
    if (p.ends_at <= now)
        return err_set(E_CONFLICT, "project_ended", NULL, "该志愿服务项目已结束");
    db_stmt *s;
    if ((e = db_prepare(d,
                        "SELECT COUNT(*) FROM volunteer_signups WHERE project_id = ? AND "
                        "volunteer_id = ?",
                        &s)))
        return e;
    db_bind_int64(s, 1, id);
    db_bind_int64(s, 2, volunteer_id);
    bool row;
    int64_t had = 0;
    if (!(e = db_row(s, &row)) && row)
        had = db_col_int64(s, 0);
    db_done(s);
    if (e)
        return e;
    if (had)
        return err_set(E_CONFLICT, "already_signed_up", NULL, "您已报名该项目");
    /* the reservation of a place: see the file's comment */
    if ((e = db_prepare(d,
                        "UPDATE volunteer_projects SET taken = taken + 1, updated_at = ? WHERE "
                        "id = ? AND taken < places",
                        &s)))
        return e;
    db_bind_int64(s, 1, now);
    db_bind_int64(s, 2, id);
    int64_t n;
    if ((e = db_run(s, &n)))
        return e;
    if (n == 0)
        return err_set(E_CONFLICT, "project_full", NULL, "该项目报名人数已满");
    if ((e = db_prepare(d,
                        "INSERT INTO volunteer_signups (id, project_id, volunteer_id, created_at) "
                        "VALUES (?, ?, ?, ?)",
                        &s)))
        return e;
    int64_t sid = id_new();
    db_bind_int64(s, 1, sid);
    db_bind_int64(s, 2, id);
    db_bind_int64(s, 3, volunteer_id);
    db_bind_int64(s, 4, now);
    if ((e = db_run(s, NULL))) /* the same volunteer twice at once: the index */
        return e == E_CONFLICT ? err_set(E_CONFLICT, "already_signed_up", NULL, "您已报名该项目")
                               : e;
    if ((e = volunteer_project_find(d, a, sc, id, p_r)))
        return e;
    p_r->signup_id = sid;
    return E_OK;
}

/* The look-up of a sign-up's project, followed by the WHERE naming the
 * sign-up (by project and volunteer, or by id in scope). */
#define SIGNUP_TIMES                                                                               \
    "SELECT j.starts_at, j.ends_at, j.cancelled_at FROM volunteer_signups g JOIN "                 \
    "volunteer_projects j ON j.id = g.project_id WHERE "

/* When the project of the sign-up `q` (SIGNUP_TIMES and its WHERE) starts
 * and ends: refused when there is no such sign-up or its project was
 * cancelled, the two checks every change of a sign-up makes first. */
static err signup_times(db *d, const struct query *q, int64_t *starts_r, int64_t *ends_r)
{
    db_stmt *s;
    err e = query_prepare(d, q, &s);
    if (e)
        return e;
    bool row;
    int64_t starts = -1, ends = 0, cancelled = 0;
    if (!(e = db_row(s, &row)) && row) {
        starts = db_col_int64(s, 0);
        ends = db_col_int64(s, 1);
        cancelled = db_col_int64(s, 2);
    }
    db_done(s);
    if (e)
        return e;
    if (starts < 0)
        return err_set(E_NOT_FOUND, "signup_not_found", NULL, "报名记录不存在");
    if (cancelled)
        return project_cancelled();
    *starts_r = starts;
    *ends_r = ends;
    return E_OK;
}

err volunteer_signup_cancel(db *d, int64_t volunteer_id, int64_t project_id, int64_t now)
{
    struct query q = QUERY_INIT;
    query_sql(&q, SIGNUP_TIMES "g.project_id = ? AND g.volunteer_id = ?");
    query_int(&q, project_id);
    query_int(&q, volunteer_id);
    int64_t starts, ends;
    err e = signup_times(d, &q, &starts, &ends);
    if (e)
        return e;
    db_stmt *s;
    if (starts <= now)
        return err_set(E_CONFLICT, "project_started", NULL, "项目已开始，不能取消报名");
    if ((e = db_prepare(
             d, "DELETE FROM volunteer_signups WHERE project_id = ? AND volunteer_id = ?", &s)))
        return e;
    db_bind_int64(s, 1, project_id);
    db_bind_int64(s, 2, volunteer_id);
    int64_t n;
    if ((e = db_run(s, &n)))
        return e;
    if (n == 0) /* withdrawn twice at once */
        return err_set(E_NOT_FOUND, "signup_not_found", NULL, "报名记录不存在");
    if ((e = db_prepare(d,
                        "UPDATE volunteer_projects SET taken = taken - 1, updated_at = ? WHERE "
                        "id = ? AND taken > 0",
                        &s)))
        return e;
    db_bind_int64(s, 1, now);
    db_bind_int64(s, 2, project_id);
    return db_run(s, NULL);
}

#define SIGNUP_COLS                                                                                \
    "g.id, g.project_id, g.volunteer_id, p.name_enc, p.phone_enc, g.minutes, g.recorded_at, "      \
    "g.created_at, g.cancelled_at"
#define SIGNUP_FROM                                                                                \
    " FROM volunteer_signups g JOIN volunteer_projects j ON j.id = g.project_id JOIN volunteers "  \
    "v ON v.id = g.volunteer_id LEFT JOIN persons p ON p.id = v.person_id"

static err signup_read(db_stmt *s, arena *a, struct volunteer_signup *g)
{
    memset(g, 0, sizeof *g);
    g->id = db_col_int64(s, 0);
    g->project_id = db_col_int64(s, 1);
    g->volunteer_id = db_col_int64(s, 2);
    err e = unseal_col(a, s, 3, "persons.name", &g->name);
    if (e || (e = unseal_col(a, s, 4, "persons.phone", &g->phone)))
        return e;
    if (!g->name)
        g->name = "";
    if (!g->phone)
        g->phone = "";
    g->minutes = db_col_int64(s, 5);
    g->recorded_at = db_col_int64(s, 6);
    g->created_at = db_col_int64(s, 7);
    g->cancelled_at = db_col_int64(s, 8);
    return E_OK;
}

err volunteer_signup_list(db *d, arena *a, const struct scope *sc, int64_t id,
                          struct volunteer_signup **items_r, size_t *n_r)
{
    struct volunteer_project p;
    err e = volunteer_project_find(d, a, sc, id, &p);
    if (e)
        return e;
    db_stmt *s;
    if ((e = db_prepare(d,
                        "SELECT " SIGNUP_COLS SIGNUP_FROM " WHERE g.project_id = ? AND "
                        "j.region_code >= ? AND j.region_code < ? ORDER BY g.created_at, g.id",
                        &s)))
        return e;
    db_bind_int64(s, 1, id);
    db_bind_int64(s, 2, sc->lo);
    db_bind_int64(s, 3, sc->hi);
    /* a project holds at most `places` sign-ups */
    size_t cap = (size_t)(p.taken > 0 ? p.taken : 1);
    struct volunteer_signup *out = arena_zalloc(a, cap * sizeof *out);
    size_t n = 0;
    bool row;
    if (!out) {
        db_done(s);
        return E_NOMEM;
    }
    while (!(e = db_row(s, &row)) && row && n < cap)
        if ((e = signup_read(s, a, &out[n++])))
            break;
    db_done(s);
    if (!e) {
        *items_r = out;
        *n_r = n;
    }
    return e;
}

err volunteer_hours_record(db *d, arena *a, const struct scope *sc, int64_t signup_id,
                           int64_t minutes, int64_t by, int64_t now, struct volunteer_signup *s_r)
{
    struct query q = QUERY_INIT;
    query_sql(&q, SIGNUP_TIMES "g.id = ? AND j.region_code >= ? AND j.region_code < ?");
    query_int(&q, signup_id);
    query_int(&q, sc->lo);
    query_int(&q, sc->hi);
    int64_t starts, ends;
    err e = signup_times(d, &q, &starts, &ends);
    if (e)
        return e;
    db_stmt *s;
    if (starts > now)
        return err_set(E_CONFLICT, "project_not_started", NULL, "项目尚未开始，不能登记服务时长");
    int64_t span = (ends - starts + 59999) / 60000;
    int64_t max = span < VOLUNTEER_MINUTES_MAX ? span : VOLUNTEER_MINUTES_MAX;
    if (minutes < 1 || minutes > max)
        return err_set(E_INPUT, "out_of_range", "minutes", "服务时长应为 1 到 %lld 分钟",
                       (long long)max);
    if ((e = db_prepare(d,
                        "UPDATE volunteer_signups SET minutes = ?, recorded_by = ?, recorded_at = "
                        "? WHERE id = ?",
                        &s)))
        return e;
    db_bind_int64(s, 1, minutes);
    db_bind_int64(s, 2, by);
    db_bind_int64(s, 3, now);
    db_bind_int64(s, 4, signup_id);
    if ((e = db_run(s, NULL)))
        return e;
    if ((e = db_prepare(d, "SELECT " SIGNUP_COLS SIGNUP_FROM " WHERE g.id = ?", &s)))
        return e;
    db_bind_int64(s, 1, signup_id);
    bool row;
    if (!(e = db_row(s, &row)))
        e = row ? signup_read(s, a, s_r)
                : err_set(E_NOT_FOUND, "signup_not_found", NULL, "报名记录不存在");
    db_done(s);
    return e;
}

err volunteer_history(db *d, arena *a, int64_t volunteer_id, struct volunteer_project **items_r,
                      size_t *n_r, int64_t *minutes_r)
{
    db_stmt *s;
    err e = db_prepare(d,
                       "SELECT " PROJ_COLS ", g.id, g.minutes FROM volunteer_signups g JOIN "
                       "volunteer_projects j ON j.id = g.project_id LEFT JOIN regions r ON r.code "
                       "= j.region_code WHERE g.volunteer_id = ? ORDER BY j.starts_at DESC, j.id "
                       "DESC LIMIT 500",
                       &s);
    if (e)
        return e;
    db_bind_int64(s, 1, volunteer_id);
    struct volunteer_project *out = arena_zalloc(a, VOLUNTEER_HISTORY_MAX * sizeof *out);
    size_t n = 0;
    int64_t total = 0;
    bool row;
    if (!out) {
        db_done(s);
        return E_NOMEM;
    }
    while (!(e = db_row(s, &row)) && row && n < VOLUNTEER_HISTORY_MAX) {
        if ((e = proj_read(s, a, &out[n], (void *)out)))
            break;
        total += out[n++].minutes;
    }
    db_done(s);
    if (e)
        return e;
    /* the total over every sign-up, also beyond the listed ones */
    if ((e = db_prepare(d,
                        "SELECT COALESCE(SUM(minutes), 0) FROM volunteer_signups WHERE "
                        "volunteer_id = ?",
                        &s)))
        return e;
    db_bind_int64(s, 1, volunteer_id);
    if (!(e = db_row(s, &row)) && row)
        total = db_col_int64(s, 0);
    db_done(s);
    if (!e) {
        *items_r = out;
        *n_r = n;
        *minutes_r = total;
    }
    return e;
}
