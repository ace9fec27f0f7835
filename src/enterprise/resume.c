/*
 * Resume-work applications (复工申请, enterprise.h): one row per submission,
 * so an enterprise's history is its rows in order and its status is the
 * newest row's. Applications hold no personal data (a plan, a count, a
 * date, the reviewer's reasons); they are scoped by the enterprise's region.
 */
#include "enterprise/enterprise.h"

#include <string.h>

#include "base/id.h"
#include "base/validate.h"
#include "db/query.h"

static const struct vocab_word statuses[] = {
    [RESUME_NONE] = {"none", "未申请"},
    [RESUME_PENDING] = {"pending", "审核中"},
    [RESUME_RETURNED] = {"returned", "已退回"},
    [RESUME_APPROVED] = {"approved", "已复工"},
};
const struct vocab resume_status_vocab = VOCAB("resume_statuses", "复工状态", statuses);

static enum resume_status status_parse(const char *s)
{
    int k = vocab_parse(&resume_status_vocab, s);
    return k > 0 ? (enum resume_status)k : RESUME_NONE;
}

err resume_status_of(db *d, int64_t enterprise_id, enum resume_status *st_r)
{
    db_stmt *s;
    err e = db_prepare(d,
                       "SELECT status FROM enterprise_applications WHERE enterprise_id = ? "
                       "ORDER BY id DESC LIMIT 1",
                       &s);
    if (e)
        return e;
    db_bind_int64(s, 1, enterprise_id);
    bool row;
    if ((e = db_row(s, &row)))
        return e;
    *st_r = row ? status_parse(db_col_text(s, 0)) : RESUME_NONE;
    db_done(s);
    return E_OK;
}

err app_submit(db *d, int64_t by, const struct enterprise *ent, const char *plan,
               int64_t staff_count, int32_t resume_date, int64_t *id_r)
{
    err e;
    if ((e = check_text(plan, "plan", "疫情防控方案", RESUME_PLAN_MAX, TEXT_REQUIRED)))
        return e;
    if (staff_count < 0 || staff_count > RESUME_STAFF_MAX)
        return err_set(E_INPUT, "out_of_range", "staff_count", "复工人数应在0到%d之间",
                       RESUME_STAFF_MAX);
    if (resume_date < 20000101 || resume_date > 21000101)
        return err_set(E_INPUT, "invalid_date", "resume_date", "请填写复工日期（年-月-日）");
    enum resume_status st;
    if ((e = resume_status_of(d, ent->id, &st)))
        return e;
    if (st == RESUME_PENDING)
        return err_set(E_CONFLICT, "already_pending", NULL, "复工申请正在审核中，请勿重复提交");
    if (st == RESUME_APPROVED)
        return err_set(E_CONFLICT, "already_approved", NULL, "企业已复工，无需再次申请");
    db_stmt *s;
    if ((e = db_prepare(d,
                        "INSERT INTO enterprise_applications (id, enterprise_id, region_code, "
                        "plan, staff_count, resume_date, status, submitted_by, submitted_at) "
                        "VALUES (?, ?, ?, ?, ?, ?, 'pending', ?, ?)",
                        &s)))
        return e;
    int64_t id = id_new();
    db_bind_int64(s, 1, id);
    db_bind_int64(s, 2, ent->id);
    db_bind_int64(s, 3, ent->region_code);
    db_bind_text(s, 4, plan);
    db_bind_int64(s, 5, staff_count);
    db_bind_int64(s, 6, resume_date);
    db_bind_int64(s, 7, by);
    db_bind_int64(s, 8, now_ms());
    if ((e = db_run(s, NULL)))
        return e;
    *id_r = id;
    return E_OK;
}

err app_review(db *d, const struct scope *scope, int64_t by, int64_t id, bool approve,
               const char *reasons, int64_t *enterprise_id_r)
{
    err e;
    if (!approve &&
        (e = check_text(reasons, "reasons", "退回理由", RESUME_REASONS_MAX, TEXT_REQUIRED)))
        return e;
    db_stmt *s;
    if ((e = db_prepare(d,
                        "SELECT enterprise_id, status FROM enterprise_applications WHERE id = ? "
                        "AND region_code >= ? AND region_code < ?",
                        &s)))
        return e;
    db_bind_int64(s, 1, id);
    db_bind_int64(s, 2, scope->lo);
    db_bind_int64(s, 3, scope->hi);
    bool row;
    if ((e = db_row(s, &row)))
        return e;
    if (!row)
        return err_set(E_NOT_FOUND, "not_found", NULL, "复工申请不存在");
    int64_t ent = db_col_int64(s, 0);
    bool pending = !strcmp(db_col_text(s, 1), "pending");
    db_done(s);
    if (!pending)
        return err_set(E_CONFLICT, "not_pending", NULL, "该申请已审核，不能再次审核");
    /* the status in the WHERE settles two reviewers racing: one wins */
    if ((e = db_prepare(d,
                        "UPDATE enterprise_applications SET status = ?, reasons = ?, "
                        "reviewed_by = ?, reviewed_at = ? WHERE id = ? AND status = 'pending'",
                        &s)))
        return e;
    db_bind_text(s, 1, approve ? "approved" : "returned");
    db_bind_text(s, 2, approve ? "" : reasons);
    db_bind_int64(s, 3, by);
    db_bind_int64(s, 4, now_ms());
    db_bind_int64(s, 5, id);
    int64_t n = 0;
    if ((e = db_run(s, &n)))
        return e;
    if (!n)
        return err_set(E_CONFLICT, "not_pending", NULL, "该申请已审核，不能再次审核");
    *enterprise_id_r = ent;
    return E_OK;
}

#define APP_SELECT                                                                                 \
    "SELECT ap.id, ap.enterprise_id, en.name, r.name, en.industry, ap.plan, ap.staff_count, "      \
    "ap.resume_date, ap.status, ap.reasons, ap.submitted_by, ap.submitted_at, ap.reviewed_by, "    \
    "ap.reviewed_at FROM enterprise_applications ap JOIN enterprises en ON en.id = "               \
    "ap.enterprise_id LEFT JOIN regions r ON r.code = ap.region_code "

static err app_read(db_stmt *s, arena *a, void *item, void *ctx)
{
    (void)ctx;
    struct application *x = item;
    x->id = db_col_int64(s, 0);
    x->enterprise_id = db_col_int64(s, 1);
    x->enterprise_name = arena_strdup(a, db_col_text(s, 2));
    x->region_name = arena_strdup(a, db_col_text(s, 3));
    x->industry = arena_strdup(a, db_col_text(s, 4));
    x->plan = arena_strdup(a, db_col_text(s, 5));
    x->staff_count = db_col_int64(s, 6);
    x->resume_date = (int32_t)db_col_int64(s, 7);
    x->status = status_parse(db_col_text(s, 8));
    x->reasons = arena_strdup(a, db_col_text(s, 9));
    x->submitted_by = db_col_int64(s, 10);
    x->submitted_at = db_col_int64(s, 11);
    x->reviewed_by = db_col_int64(s, 12);
    x->reviewed_at = db_col_int64(s, 13);
    return E_OK;
}

static err app_not_found(void)
{
    return err_set(E_NOT_FOUND, "not_found", NULL, "复工申请不存在");
}

err app_find(db *d, arena *a, const struct scope *scope, int64_t id, struct application *x)
{
    return query_one(
        d, a,
        &(struct query_one){.select = APP_SELECT
                            "WHERE ap.id = ? AND ap.region_code >= ? AND ap.region_code < ?",
                            .id = id,
                            .lo = scope->lo,
                            .hi = scope->hi,
                            .size = sizeof *x,
                            .read = app_read,
                            .not_found = app_not_found},
        x);
}

err app_list(db *d, arena *a, const struct scope *scope, const struct app_filter *f,
             struct application **items_r, size_t *n_r, int64_t *total_r)
{
    struct query *w = arena_alloc(a, sizeof *w);
    if (!w)
        return err_set(E_NOMEM, "no_memory", NULL, "内存不足");
    *w = (struct query)QUERY_INIT;
    query_sql(w, " WHERE ap.region_code >= ? AND ap.region_code < ?");
    query_int(w, scope->lo);
    query_int(w, scope->hi);
    if (f->enterprise_id) {
        query_sql(w, " AND ap.enterprise_id = ?");
        query_int(w, f->enterprise_id);
    }
    if (f->status) {
        query_sql(w, " AND ap.status = ?");
        query_text(w, vocab_name(&resume_status_vocab, (size_t)f->status));
    }
    void *items;
    err e =
        query_page(d, a, w,
                   &(struct query_page){.count = "SELECT COUNT(*) FROM enterprise_applications ap",
                                        .select = APP_SELECT,
                                        .order = " ORDER BY ap.id DESC",
                                        .page = f->page,
                                        .page_size = f->page_size,
                                        .max = 10000,
                                        .size = sizeof(struct application),
                                        .read = app_read},
                   &items, n_r, total_r);
    if (!e)
        *items_r = items;
    return e;
}
