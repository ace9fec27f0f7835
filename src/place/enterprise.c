/*
 * Enterprises (企业登记, seed 000 §6.2.3): organisations identified by
 * their unified social credit code (GB 32100), with sealed contact and
 * legal-representative details.
 *
 * One live enterprise per credit code, enforced by the partial unique index
 * enterprises_credit: the check before a write gives the friendly 409 with
 * the existing record, and the index settles a race between two writers.
 * Whether the existing record's id is disclosed depends on the caller's
 * scope: another district learns only that the code is taken.
 */
#include "place/internal.h"

#include <string.h>

#include "base/id.h"
#include "base/paging.h"
#include "base/regcode.h"
#include "base/validate.h"
#include "db/query.h"

#define LABEL_CONTACT_NAME    "enterprises.contact_name"
#define LABEL_CONTACT_PHONE   "enterprises.contact_phone"
#define LABEL_LEGAL_REP       "enterprises.legal_rep"
#define LABEL_LEGAL_REP_PHONE "enterprises.legal_rep_phone"

/* ---- checks -------------------------------------------------------------------- */

static err check_phone_opt(const char *s, const char *field)
{
    return s && *s ? check_phone(s, field) : E_OK;
}

err enterprise_input_check(const struct enterprise_input *in, bool create)
{
    err e;
    unsigned set = in->set;
    if (create) {
        if (!(set & EF_NAME))
            return err_set(E_INPUT, "required", "name", "请填写企业名称");
        if (!(set & EF_CREDIT_CODE))
            return err_set(E_INPUT, "required", "credit_code", "请填写统一社会信用代码");
        if (!(set & EF_REGION))
            return err_set(E_INPUT, "required", "region_code", "请选择所属区划");
    }
    if (set & EF_NAME && (e = check_text(in->name, "name", "企业名称", 100, TEXT_REQUIRED)))
        return e;
    if (set & EF_CREDIT_CODE) {
        /* GB 32100 codes are upper case; people type them either way */
        const char *c = in->credit_code;
        if (!c || strlen(c) != 18)
            return check_credit_code(c, "credit_code");
        char up[19];
        for (size_t i = 0; i <= 18; i++)
            up[i] = c[i] >= 'a' && c[i] <= 'z' ? (char)(c[i] - 'a' + 'A') : c[i];
        if ((e = check_credit_code(up, "credit_code")))
            return e;
    }
    if (set & EF_REGION && in->region_code <= 0)
        return err_set(E_INPUT, "invalid_region", "region_code",
                       "所属区划不存在或不在您的管辖范围内");
    if (set & EF_CONTACT_NAME &&
        (e = check_text(in->contact_name, "contact_name", "联系人", 50, 0)))
        return e;
    if (set & EF_CONTACT_PHONE && (e = check_phone_opt(in->contact_phone, "contact_phone")))
        return e;
    if (set & EF_LEGAL_REP && (e = check_text(in->legal_rep, "legal_rep", "法定代表人", 50, 0)))
        return e;
    if (set & EF_LEGAL_REP_PHONE && (e = check_phone_opt(in->legal_rep_phone, "legal_rep_phone")))
        return e;
    if (set & EF_EMPLOYEES && (in->employees < 0 || in->employees > ENTERPRISE_EMPLOYEES_MAX))
        return err_set(E_INPUT, "out_of_range", "employees", "员工人数应在0到%d之间",
                       ENTERPRISE_EMPLOYEES_MAX);
    if (set & EF_ADDRESS && (e = check_text(in->address, "address", "办公地址", 200, 0)))
        return e;
    if (set & EF_INDUSTRY && (e = check_text(in->industry, "industry", "所属行业", 50, 0)))
        return e;
    return E_OK;
}

/* ---- reading ----------------------------------------------------------------------- */

#define ENT_COLS                                                                                   \
    "e.id, e.region_code, r.name, e.name, e.credit_code, e.contact_name_enc, "                     \
    "e.contact_phone_enc, e.legal_rep_enc, e.legal_rep_phone_enc, e.employees, e.address, "        \
    "e.industry, e.version, e.created_at, e.updated_at "
#define ENT_FROM "FROM enterprises e LEFT JOIN regions r ON r.code = e.region_code "

static err read_row(db_stmt *s, arena *a, struct enterprise *x)
{
    memset(x, 0, sizeof *x);
    x->id = db_col_int64(s, 0);
    x->region_code = db_col_int64(s, 1);
    x->region_name = arena_strdup(a, db_col_text(s, 2));
    x->name = arena_strdup(a, db_col_text(s, 3));
    x->credit_code = arena_strdup(a, db_col_text(s, 4));
    err e = pl_col_unsealed(s, 5, a, LABEL_CONTACT_NAME, &x->contact_name);
    if (!e)
        e = pl_col_unsealed(s, 6, a, LABEL_CONTACT_PHONE, &x->contact_phone);
    if (!e)
        e = pl_col_unsealed(s, 7, a, LABEL_LEGAL_REP, &x->legal_rep);
    if (!e)
        e = pl_col_unsealed(s, 8, a, LABEL_LEGAL_REP_PHONE, &x->legal_rep_phone);
    if (e)
        return e;
    x->employees = db_col_int64(s, 9);
    x->address = arena_strdup(a, db_col_text(s, 10));
    x->industry = arena_strdup(a, db_col_text(s, 11));
    x->version = db_col_int64(s, 12);
    x->created_at = db_col_int64(s, 13);
    x->updated_at = db_col_int64(s, 14);
    return E_OK;
}

/* The single row of a prepared, bound statement: E_NOT_FOUND without one. */
static err one_row(db_stmt *s, arena *a, struct enterprise *e_r)
{
    bool row;
    err e = db_row(s, &row);
    if (!e)
        e = row ? read_row(s, a, e_r) : err_set(E_NOT_FOUND, NULL, NULL, NULL);
    db_done(s);
    return e;
}

err enterprise_find(db *d, arena *a, const struct scope *scope, int64_t id, struct enterprise *e_r)
{
    db_stmt *s;
    err e = db_prepare(d,
                       "SELECT " ENT_COLS ENT_FROM
                       "WHERE e.id = ? AND e.deleted_at = 0 AND e.region_code >= ? AND "
                       "e.region_code < ?",
                       &s);
    if (e)
        return e;
    db_bind_int64(s, 1, id);
    db_bind_int64(s, 2, scope->lo);
    db_bind_int64(s, 3, scope->hi);
    struct enterprise x;
    if ((e = one_row(s, a, &x)))
        return e;
    *e_r = x;
    return E_OK;
}

err enterprise_find_by_credit_code(db *d, arena *a, const struct scope *scope,
                                   const char *credit_code, struct enterprise *e_r)
{
    db_stmt *s;
    err e = db_prepare(d,
                       "SELECT " ENT_COLS ENT_FROM
                       "WHERE e.credit_code = ? AND e.deleted_at = 0 AND e.region_code >= ? AND "
                       "e.region_code < ?",
                       &s);
    if (e)
        return e;
    db_bind_text(s, 1, pl_upper(a, credit_code ? credit_code : ""));
    db_bind_int64(s, 2, scope->lo);
    db_bind_int64(s, 3, scope->hi);
    struct enterprise x;
    if ((e = one_row(s, a, &x)))
        return e;
    *e_r = x;
    return E_OK;
}

/*
 * The 409 for a credit code already held by a live enterprise other than
 * `self`, or E_OK when it is free. Looking across all regions is deliberate
 * (the code is unique nationally); what the caller learns is bounded by
 * scope: the existing id only when that record is theirs to see.
 */
static err check_duplicate(db *d, const struct scope *scope, const char *code, int64_t self)
{
    db_stmt *s;
    err e = db_prepare(d,
                       "SELECT id, CASE WHEN region_code >= ? AND region_code < ? THEN 1 ELSE 0 "
                       "END FROM enterprises WHERE credit_code = ? AND deleted_at = 0 AND id <> ?",
                       &s);
    if (e)
        return e;
    db_bind_int64(s, 1, scope->lo);
    db_bind_int64(s, 2, scope->hi);
    db_bind_text(s, 3, code);
    db_bind_int64(s, 4, self);
    bool row;
    int64_t id = 0;
    bool visible = false;
    if (!(e = db_row(s, &row)) && row) {
        id = db_col_int64(s, 0);
        visible = db_col_int64(s, 1) != 0;
    }
    db_done(s);
    if (e || !row)
        return e;
    return err_set_ref(E_CONFLICT, "duplicate_enterprise", visible ? id : 0,
                       visible ? "该统一社会信用代码的企业已登记"
                               : "该统一社会信用代码的企业已由其他辖区登记");
}

/* After the unique index refused a write: report it as check_duplicate
 * would (the competing writer has committed by now). */
static err duplicate_after_race(db *d, const struct scope *scope, const char *code, int64_t self)
{
    err e = check_duplicate(d, scope, code, self);
    return e ? e
             : err_set_ref(E_CONFLICT, "duplicate_enterprise", 0, "该统一社会信用代码的企业已登记");
}

/* The page orders, the id breaking ties so that paging is stable. */
#define ENT_SORT(key, col)                                                                         \
    {                                                                                              \
        key, " ORDER BY " col " ASC, e.id ASC", " ORDER BY " col " DESC, e.id DESC"                \
    }

static const struct pl_sort enterprise_sorts[] = {
    ENT_SORT("name", "e.name"),
    ENT_SORT("credit_code", "e.credit_code"),
    ENT_SORT("region_code", "e.region_code"),
    ENT_SORT("employees", "e.employees"),
    ENT_SORT("created_at", "e.created_at"),
    ENT_SORT("updated_at", "e.updated_at"),
    {NULL, NULL, NULL},
};

err enterprise_list(db *d, arena *a, const struct scope *scope, const struct enterprise_filter *f,
                    struct enterprise **items_r, size_t *n_r, int64_t *total_r)
{
    err e;
    /* the queries are large: arena, not stack */
    struct query *w = arena_alloc(a, sizeof *w), *q = arena_alloc(a, sizeof *q);
    *w = (struct query)QUERY_INIT;
    query_sql(w, "WHERE e.deleted_at = 0 AND e.region_code >= ? AND e.region_code < ?");
    query_int(w, scope->lo);
    query_int(w, scope->hi);
    if (f->region_code) {
        if ((e = pl_region_check(d, scope, f->region_code)))
            return e;
        query_sql(w, " AND e.region_code >= ? AND e.region_code < ?");
        query_int(w, f->region_code);
        query_int(w, regcode_end(f->region_code));
    }
    if (f->credit_code) {
        const char *code = pl_upper(a, f->credit_code);
        if ((e = check_credit_code(code, "credit_code")))
            return e;
        if (*code) {
            query_sql(w, " AND e.credit_code = ?");
            query_text(w, code);
        }
    }
    if (f->q && *f->q) {
        query_sql(w, " AND lower(e.name) LIKE ? ESCAPE '\\'");
        query_text(w, pl_like_contains(a, f->q));
    }
    const char *order;
    if ((e = pl_sort_sql(enterprise_sorts, f->sort, "-created_at", &order)))
        return e;

    *q = (struct query)QUERY_INIT;
    query_sql(q, "SELECT COUNT(*) FROM enterprises e ");
    query_append(q, w);
    int64_t total;
    if ((e = query_count(d, q, &total)))
        return e;

    int64_t limit, offset, want;
    if ((e = paging_window(total, f->page, f->page_size, LIST_EXPORT_MAX, &limit, &offset, &want)))
        return e;
    struct enterprise *items = NULL;
    size_t n = 0;
    if (want > 0) {
        items = arena_alloc(a, (size_t)want * sizeof *items);
        *q = (struct query)QUERY_INIT;
        query_sql(q, "SELECT " ENT_COLS ENT_FROM);
        query_append(q, w);
        query_sql(q, order);
        query_sql(q, " LIMIT ? OFFSET ?");
        query_int(q, limit);
        query_int(q, offset);
        db_stmt *s;
        if ((e = query_prepare(d, q, &s)))
            return e;
        bool row;
        while ((int64_t)n < want && !(e = db_row(s, &row)) && row &&
               !(e = read_row(s, a, &items[n])))
            n++;
        db_done(s);
        if (e)
            return e;
    }
    *items_r = items;
    *n_r = n;
    *total_r = total;
    return E_OK;
}

/* ---- writing ---------------------------------------------------------------------- */

err enterprise_create(db *d, arena *a, const struct scope *scope, const struct enterprise_input *in,
                      int64_t *id_r)
{
    err e = enterprise_input_check(in, true);
    if (e)
        return e;
    const char *code = pl_upper(a, in->credit_code);
    if ((e = pl_region_check(d, scope, in->region_code)) ||
        (e = check_duplicate(d, scope, code, 0)))
        return e;
    db_stmt *s;
    if ((e = db_prepare(d,
                        "INSERT INTO enterprises (id, region_code, name, credit_code, "
                        "contact_name_enc, contact_phone_enc, legal_rep_enc, legal_rep_phone_enc, "
                        "employees, address, industry, version, created_at, updated_at, "
                        "deleted_at) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, 1, ?, ?, 0)",
                        &s)))
        return e;
    unsigned set = in->set;
    int64_t id = id_new(), now = now_ms();
    db_bind_int64(s, 1, id);
    db_bind_int64(s, 2, in->region_code);
    db_bind_text(s, 3, in->name);
    db_bind_text(s, 4, code);
    e = pl_bind_sealed(s, 5, a, LABEL_CONTACT_NAME,
                       set & EF_CONTACT_NAME ? in->contact_name : NULL);
    if (!e)
        e = pl_bind_sealed(s, 6, a, LABEL_CONTACT_PHONE,
                           set & EF_CONTACT_PHONE ? in->contact_phone : NULL);
    if (!e)
        e = pl_bind_sealed(s, 7, a, LABEL_LEGAL_REP, set & EF_LEGAL_REP ? in->legal_rep : NULL);
    if (!e)
        e = pl_bind_sealed(s, 8, a, LABEL_LEGAL_REP_PHONE,
                           set & EF_LEGAL_REP_PHONE ? in->legal_rep_phone : NULL);
    if (e) {
        db_done(s);
        return e;
    }
    db_bind_int64(s, 9, set & EF_EMPLOYEES ? in->employees : 0);
    db_bind_text(s, 10, set & EF_ADDRESS && in->address ? in->address : "");
    db_bind_text(s, 11, set & EF_INDUSTRY && in->industry ? in->industry : "");
    db_bind_int64(s, 12, now);
    db_bind_int64(s, 13, now);
    e = db_run(s, NULL);
    if (e == E_CONFLICT)
        return duplicate_after_race(d, scope, code, 0);
    if (e)
        return e;
    *id_r = id;
    return E_OK;
}

err enterprise_update(db *d, arena *a, const struct scope *scope, int64_t id,
                      const struct enterprise_input *in)
{
    if (!in->set)
        return err_set(E_INPUT, "empty_update", NULL, "请至少修改一个字段");
    err e = enterprise_input_check(in, false);
    if (e)
        return e;
    struct enterprise cur;
    if ((e = enterprise_find(d, a, scope, id, &cur)))
        return e;
    unsigned set = in->set;
    if (set & EF_REGION && (e = pl_region_check(d, scope, in->region_code)))
        return e;
    if (set & EF_CREDIT_CODE) {
        cur.credit_code = pl_upper(a, in->credit_code);
        if ((e = check_duplicate(d, scope, cur.credit_code, id)))
            return e;
    }
    if (set & EF_NAME)
        cur.name = in->name;
    if (set & EF_REGION)
        cur.region_code = in->region_code;
    if (set & EF_CONTACT_NAME)
        cur.contact_name = in->contact_name;
    if (set & EF_CONTACT_PHONE)
        cur.contact_phone = in->contact_phone;
    if (set & EF_LEGAL_REP)
        cur.legal_rep = in->legal_rep;
    if (set & EF_LEGAL_REP_PHONE)
        cur.legal_rep_phone = in->legal_rep_phone;
    if (set & EF_EMPLOYEES)
        cur.employees = in->employees;
    if (set & EF_ADDRESS)
        cur.address = in->address ? in->address : "";
    if (set & EF_INDUSTRY)
        cur.industry = in->industry ? in->industry : "";

    db_stmt *s;
    if ((e = db_prepare(d,
                        "UPDATE enterprises SET region_code = ?, name = ?, credit_code = ?, "
                        "contact_name_enc = ?, contact_phone_enc = ?, legal_rep_enc = ?, "
                        "legal_rep_phone_enc = ?, employees = ?, address = ?, industry = ?, "
                        "version = version + 1, updated_at = ? WHERE id = ? AND version = ? AND "
                        "deleted_at = 0 AND region_code >= ? AND region_code < ?",
                        &s)))
        return e;
    db_bind_int64(s, 1, cur.region_code);
    db_bind_text(s, 2, cur.name);
    db_bind_text(s, 3, cur.credit_code);
    e = pl_bind_sealed(s, 4, a, LABEL_CONTACT_NAME, cur.contact_name);
    if (!e)
        e = pl_bind_sealed(s, 5, a, LABEL_CONTACT_PHONE, cur.contact_phone);
    if (!e)
        e = pl_bind_sealed(s, 6, a, LABEL_LEGAL_REP, cur.legal_rep);
    if (!e)
        e = pl_bind_sealed(s, 7, a, LABEL_LEGAL_REP_PHONE, cur.legal_rep_phone);
    if (e) {
        db_done(s);
        return e;
    }
    db_bind_int64(s, 8, cur.employees);
    db_bind_text(s, 9, cur.address);
    db_bind_text(s, 10, cur.industry);
    db_bind_int64(s, 11, now_ms());
    db_bind_int64(s, 12, id);
    db_bind_int64(s, 13, cur.version);
    db_bind_int64(s, 14, scope->lo);
    db_bind_int64(s, 15, scope->hi);
    int64_t changed;
    e = db_run(s, &changed);
    if (e == E_CONFLICT)
        return duplicate_after_race(d, scope, cur.credit_code, id);
    if (e)
        return e;
    if (changed == 0)
        return err_set(E_CONFLICT, "version_conflict", NULL,
                       "该记录已被他人修改或删除，请刷新后重试");
    return E_OK;
}

err enterprise_delete(db *d, const struct scope *scope, int64_t id)
{
    db_stmt *s;
    err e = db_prepare(d,
                       "UPDATE enterprises SET deleted_at = ?, updated_at = ? WHERE id = ? AND "
                       "deleted_at = 0 AND region_code >= ? AND region_code < ?",
                       &s);
    if (e)
        return e;
    int64_t now = now_ms();
    db_bind_int64(s, 1, now);
    db_bind_int64(s, 2, now);
    db_bind_int64(s, 3, id);
    db_bind_int64(s, 4, scope->lo);
    db_bind_int64(s, 5, scope->hi);
    int64_t changed;
    if ((e = db_run(s, &changed)))
        return e;
    return changed ? E_OK : err_set(E_NOT_FOUND, NULL, NULL, NULL);
}
