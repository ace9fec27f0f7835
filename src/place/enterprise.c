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

#include <pthread.h>
#include <string.h>

#include "base/id.h"
#include "base/regcode.h"
#include "base/validate.h"
#include "db/query.h"
#include "security/crypto.h"

/* ---- the field table (internal.h) ---------------------------------------------- */

#define ENT_ROW(...)       FIELD_ROW_OF(struct enterprise, __VA_ARGS__)
#define ENT_INPUT_ROW(...) FIELD_ROW_OF(struct enterprise_input, __VA_ARGS__)
const struct field enterprise_rows[ENTERPRISE_FIELD_COUNT] = {ENTERPRISE_FIELDS(ENT_ROW)};
const struct field enterprise_input_rows[ENTERPRISE_FIELD_COUNT] = {
    ENTERPRISE_FIELDS(ENT_INPUT_ROW)};
#undef ENT_ROW
#undef ENT_INPUT_ROW
_Static_assert(ENTERPRISE_FIELD_COUNT == 10 && EF_INDUSTRY == 1 << 9,
               "the EF_ bits are the rows of ENTERPRISE_FIELDS");

/* The INSERT, UPDATE and SELECT text, assembled once from the table's
 * fixed column names. */
static struct {
    pthread_once_t once;
    char insert[512], update[512], cols[512];
} st = {.once = PTHREAD_ONCE_INIT};

static void storage_build(void)
{
    const size_t n = ENTERPRISE_FIELD_COUNT;
    fields_sql_versioned("enterprises", enterprise_rows, n, "", "", st.insert, sizeof st.insert,
                         st.update, sizeof st.update);
    fields_sql_put(st.cols, sizeof st.cols, "SELECT e.id, ");
    fields_sql_cols(enterprise_rows, n, "e.", st.cols, sizeof st.cols);
    fields_sql_put(st.cols, sizeof st.cols,
                   ", r.name, e.version, e.created_at, e.updated_at "
                   "FROM enterprises e LEFT JOIN regions r ON r.code = e.region_code ");
}

static void storage_init(void)
{
    pthread_once(&st.once, storage_build);
}

/* The columns of st.cols after the fields'. */
enum {
    C_ID = 0,
    C_REGION_NAME = 1 + ENTERPRISE_FIELD_COUNT,
    C_VERSION,
    C_CREATED_AT,
    C_UPDATED_AT
};

/* st.cols followed by `where` (fixed text) into sql. */
static void select_sql(char *sql, size_t size, const char *where)
{
    storage_init();
    sql[0] = '\0';
    fields_sql_put(sql, size, st.cols);
    fields_sql_put(sql, size, where);
}

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

static err read_row(db_stmt *s, arena *a, struct enterprise *x)
{
    memset(x, 0, sizeof *x);
    x->id = db_col_int64(s, C_ID);
    err e =
        fields_read(s, 1, a, "enterprises", enterprise_rows, ENTERPRISE_FIELD_COUNT, x, unseal_col);
    if (e)
        return e;
    x->region_name = arena_strdup(a, db_col_text(s, C_REGION_NAME));
    x->version = db_col_int64(s, C_VERSION);
    x->created_at = db_col_int64(s, C_CREATED_AT);
    x->updated_at = db_col_int64(s, C_UPDATED_AT);
    return E_OK;
}

/* read_row as query_page reads a list's row. */
static err enterprise_read(db_stmt *s, arena *a, void *item, void *ctx)
{
    (void)ctx;
    return read_row(s, a, item);
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
    char sql[1024];
    select_sql(sql, sizeof sql,
               "WHERE e.id = ? AND e.deleted_at = 0 AND e.region_code >= ? AND "
               "e.region_code < ?");
    err e = db_prepare(d, sql, &s);
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
    char sql[1024];
    select_sql(sql, sizeof sql,
               "WHERE e.credit_code = ? AND e.deleted_at = 0 AND e.region_code >= ? AND "
               "e.region_code < ?");
    err e = db_prepare(d, sql, &s);
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
    /* the query is large: arena, not stack */
    struct query *w = arena_alloc(a, sizeof *w);
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
    if (f->industry && *f->industry) {
        query_sql(w, " AND lower(e.industry) LIKE ? ESCAPE '\\'");
        query_text(w, query_like_contains(a, f->industry, true));
    }
    if (f->q && *f->q) {
        query_sql(w, " AND lower(e.name) LIKE ? ESCAPE '\\'");
        query_text(w, query_like_contains(a, f->q, true));
    }
    const char *order;
    if ((e = pl_sort_sql(enterprise_sorts, f->sort, "-created_at", &order)))
        return e;

    storage_init();
    void *items;
    e = query_page(d, a, w,
                   &(struct query_page){.count = "SELECT COUNT(*) FROM enterprises e ",
                                        .select = st.cols,
                                        .order = order,
                                        .page = f->page,
                                        .page_size = f->page_size,
                                        .max = LIST_EXPORT_MAX,
                                        .size = sizeof(struct enterprise),
                                        .read = enterprise_read},
                   &items, n_r, total_r);
    if (!e)
        *items_r = items;
    return e;
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
    /* the fields the input does not set take their defaults: empty, zero */
    struct enterprise_input x = {0};
    fields_copy(enterprise_input_rows, &x, enterprise_input_rows, in, ENTERPRISE_FIELD_COUNT,
                in->set);
    x.credit_code = code;
    storage_init();
    db_stmt *s;
    if ((e = db_prepare(d, st.insert, &s)))
        return e;
    int64_t id = id_new(), now = now_ms();
    int i;
    db_bind_int64(s, 1, id);
    if ((e = fields_bind(s, 2, a, "enterprises", enterprise_input_rows, ENTERPRISE_FIELD_COUNT, &x,
                         seal_bind, &i))) {
        db_done(s);
        return e;
    }
    db_bind_int64(s, i++, now);
    db_bind_int64(s, i, now);
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
    /* the row as it will be: the stored values overlaid with the input */
    const char *code = cur.credit_code;
    fields_copy(enterprise_rows, &cur, enterprise_input_rows, in, ENTERPRISE_FIELD_COUNT, set);
    cur.credit_code = code;
    storage_init();
    e = fields_update_versioned(d, a, st.update, "enterprises", enterprise_rows,
                                ENTERPRISE_FIELD_COUNT, &cur, seal_bind, now_ms(), id, cur.version,
                                scope->lo, scope->hi);
    /* a conflict other than the version's: the credit code's unique index */
    if (e == E_CONFLICT && strcmp(err_last()->slug, "version_conflict"))
        return duplicate_after_race(d, scope, cur.credit_code, id);
    return e;
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
