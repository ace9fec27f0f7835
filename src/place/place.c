/*
 * Places (场所): their kinds, checks and SQL, and the helpers the place
 * capability shares between places and enterprises (internal.h).
 *
 * Every statement binds the caller's scope. Writes are single statements
 * after every check has passed, so a failing request writes nothing; an
 * update carries the version it read and is refused ("version_conflict") if
 * another one landed in between, instead of silently undoing it.
 */
#include "place/internal.h"

#include <math.h>
#include <pthread.h>
#include <stddef.h>
#include <string.h>

#include "base/id.h"
#include "base/json.h"
#include "base/regcode.h"
#include "base/validate.h"
#include "db/query.h"
#include "security/crypto.h"
#include "db/fields.h"

/* ---- the field table (internal.h) ---------------------------------------------- */

#define PLACE_ROW(...)       FIELD_ROW_OF(struct place, __VA_ARGS__)
#define PLACE_INPUT_ROW(...) FIELD_ROW_OF(struct place_input, __VA_ARGS__)
const struct field place_rows[PLACE_FIELD_COUNT] = {PLACE_FIELDS(PLACE_ROW)};
const struct field place_input_rows[PLACE_FIELD_COUNT] = {PLACE_FIELDS(PLACE_INPUT_ROW)};
#undef PLACE_ROW
#undef PLACE_INPUT_ROW
_Static_assert(PLACE_FIELD_COUNT == 12 && PL_ENTERPRISE == 1 << 11,
               "the PL_ bits are the rows of PLACE_FIELDS");
_Static_assert(sizeof(enum place_kind) == sizeof(int), "FD_ENUM members are read as int");

/* The INSERT, UPDATE and SELECT text, assembled once from the table's
 * fixed column names. */
static struct {
    pthread_once_t once;
    char insert[512], update[512], cols[512];
} st = {.once = PTHREAD_ONCE_INIT};

#define PLACE_FROM                                                                                 \
    "FROM places p LEFT JOIN regions r ON r.code = p.region_code "                                 \
    "LEFT JOIN enterprises e ON e.id = p.enterprise_id AND e.deleted_at = 0 "                      \
    "AND e.region_code >= ? AND e.region_code < ? "

static void storage_build(void)
{
    const size_t n = PLACE_FIELD_COUNT;
    fields_sql_versioned("places", place_rows, n, "", "", st.insert, sizeof st.insert, st.update,
                         sizeof st.update);
    /* the fields (the stored enterprise link among them), then the region's
     * name and the enterprise as the caller may see it */
    fields_sql_put(st.cols, sizeof st.cols, "SELECT p.id, ");
    fields_sql_cols(place_rows, n, "p.", st.cols, sizeof st.cols);
    fields_sql_put(st.cols, sizeof st.cols,
                   ", r.name, e.id, e.name, e.credit_code, p.version, p.created_at, p.updated_at ");
    fields_sql_put(st.cols, sizeof st.cols, PLACE_FROM);
}

static void storage_init(void)
{
    pthread_once(&st.once, storage_build);
}

/* The columns of st.cols after the fields'. */
enum {
    C_ID = 0,
    C_REGION_NAME = 1 + PLACE_FIELD_COUNT,
    C_E_ID,
    C_E_NAME,
    C_E_CODE,
    C_VERSION,
    C_CREATED_AT,
    C_UPDATED_AT
};

/* ---- shared helpers --------------------------------------------------------- */

err pl_region_check(db *d, const struct scope *scope, int64_t code)
{
    db_stmt *s;
    err e = db_prepare(d, "SELECT 1 FROM regions WHERE code = ? AND code >= ? AND code < ?", &s);
    if (e)
        return e;
    db_bind_int64(s, 1, code);
    db_bind_int64(s, 2, scope->lo);
    db_bind_int64(s, 3, scope->hi);
    bool row;
    e = db_row(s, &row);
    db_done(s);
    if (e)
        return e;
    if (!row)
        return err_set(E_INPUT, "invalid_region", "region_code",
                       "所属区划不存在或不在您的管辖范围内");
    return E_OK;
}

err pl_sort_sql(const struct pl_sort *keys, const char *sort, const char *dflt, const char **sql_r)
{
    const char *k = sort && *sort ? sort : dflt;
    bool desc = *k == '-';
    if (desc)
        k++;
    for (const struct pl_sort *p = keys; p->key; p++) {
        if (!strcmp(p->key, k)) {
            *sql_r = desc ? p->desc : p->asc;
            return E_OK;
        }
    }
    return err_set(E_INPUT, "invalid_parameter", "sort", "不支持的排序字段");
}

char *pl_upper(arena *a, const char *s)
{
    if (!s)
        return NULL;
    char *u = arena_strdup(a, s);
    for (char *p = u; *p; p++)
        if (*p >= 'a' && *p <= 'z')
            *p = (char)(*p - 'a' + 'A');
    return u;
}

/* ---- kinds ------------------------------------------------------------------- */

static const struct vocab_word kinds[] = {
    {NULL, NULL}, /* 0: no kind */
    {"community", "小区"},
    {"urban_village", "城中村"},
    {"park", "园区"},
    {"property_company", "物业公司"},
    {"factory", "工厂/厂房"},
    {"rental_housing", "出租屋"},
    {"apartment", "公寓楼"},
    {"dormitory", "集体宿舍"},
    {"market", "农贸市场"},
    {"quarantine_site", "隔离点"},
    {"office", "写字楼"},
    {"school", "学校"},
    {"hospital", "医院"},
    {"fever_clinic", "发热门诊"},
    {"designated_hospital", "定点医院"},
    {"cdc", "疾控机构"},
    {"toilet", "公共厕所"},
    {"other", "其他"},
};
const struct vocab place_kind_vocab = VOCAB("place_kinds", "场所类型", kinds);

_Static_assert(sizeof kinds / sizeof kinds[0] == PLACE_KIND__COUNT, "a word for every place kind");

enum place_kind place_kind_parse(const char *s)
{
    int k = vocab_parse(&place_kind_vocab, s);
    return k > 0 ? (enum place_kind)k : 0;
}

const char *place_kind_name(enum place_kind k)
{
    return vocab_name(&place_kind_vocab, (size_t)k);
}

const char *place_kind_label(enum place_kind k)
{
    return vocab_label(&place_kind_vocab, (size_t)k);
}

/* ---- checks -------------------------------------------------------------------- */

err place_input_check(const struct place_input *in, bool create)
{
    err e = E_OK, x;
    unsigned set = in->set;
    err_collect_begin(); /* every field at fault, at once */
    if (create) {
        if (!(set & PL_NAME))
            e = err_add(e, E_INPUT, "required", "name", "请填写场所名称");
        if (!(set & PL_KIND))
            e = err_add(e, E_INPUT, "required", "kind", "请选择场所类型");
        if (!(set & PL_REGION))
            e = err_add(e, E_INPUT, "required", "region_code", "请选择所属区划");
    }
    if (set & PL_NAME && (x = check_text(in->name, "name", "场所名称", 100, TEXT_REQUIRED)))
        e = e ? e : x;
    if (set & PL_KIND && !place_kind_name(in->kind)[0])
        e = err_add(e, E_INPUT, "invalid_value", "kind", "场所类型的取值不正确");
    if (set & PL_REGION && in->region_code <= 0)
        e = err_add(e, E_INPUT, "invalid_region", "region_code",
                    "所属区划不存在或不在您的管辖范围内");
    if (set & PL_ADDRESS && (x = check_text(in->address, "address", "地址", 200, 0)))
        e = e ? e : x;
    if (set & PL_AREA && !(isfinite(in->area) && in->area >= 0 && in->area <= PLACE_AREA_MAX))
        e = err_add(e, E_INPUT, "out_of_range", "area", "物业面积应在0到%.0f平方米之间",
                    PLACE_AREA_MAX);
    if (set & PL_HOUSEHOLDS && (in->households < 0 || in->households > PLACE_HOUSEHOLDS_MAX))
        e = err_add(e, E_INPUT, "out_of_range", "households", "户数应在0到%d之间",
                    PLACE_HOUSEHOLDS_MAX);
    if (set & PL_BUILDINGS && (in->buildings < 0 || in->buildings > PLACE_BUILDINGS_MAX))
        e = err_add(e, E_INPUT, "out_of_range", "buildings", "楼栋数应在0到%d之间",
                    PLACE_BUILDINGS_MAX);
    if (set & PL_CONTACT_NAME &&
        (x = check_text(in->contact_name, "contact_name", "联系人", 50, 0)))
        e = e ? e : x;
    if (set & PL_CONTACT_PHONE && in->contact_phone && *in->contact_phone &&
        (x = check_phone(in->contact_phone, "contact_phone")))
        e = e ? e : x;
    if (set & PL_POSITION && in->has_position) {
        if (!isfinite(in->lng) || in->lng < -180 || in->lng > 180)
            e = err_add(e, E_INPUT, "out_of_range", "lng", "经度应在-180到180之间");
        if (!isfinite(in->lat) || in->lat < -90 || in->lat > 90)
            e = err_add(e, E_INPUT, "out_of_range", "lat", "纬度应在-90到90之间");
    }
    if (set & PL_ENTERPRISE && in->enterprise_id < 0)
        e = err_add(e, E_INPUT, "invalid_enterprise", "enterprise_id",
                    "所属企业不存在或不在您的管辖范围内");
    err_collect_end();
    return e;
}

/* Is `id` a live enterprise inside scope? E_INPUT "invalid_enterprise". */
static err enterprise_check(db *d, const struct scope *scope, int64_t id)
{
    db_stmt *s;
    err e = db_prepare(d,
                       "SELECT 1 FROM enterprises WHERE id = ? AND deleted_at = 0 AND "
                       "region_code >= ? AND region_code < ?",
                       &s);
    if (e)
        return e;
    db_bind_int64(s, 1, id);
    db_bind_int64(s, 2, scope->lo);
    db_bind_int64(s, 3, scope->hi);
    bool row;
    e = db_row(s, &row);
    db_done(s);
    if (e)
        return e;
    if (!row)
        return err_set(E_INPUT, "invalid_enterprise", "enterprise_id",
                       "所属企业不存在或不在您的管辖范围内");
    return E_OK;
}

/* The checks that need the database, for the fields `in` sets. */
static err check_refs(db *d, const struct scope *scope, const struct place_input *in)
{
    err e;
    if (in->set & PL_REGION && (e = pl_region_check(d, scope, in->region_code)))
        return e;
    if (in->set & PL_ENTERPRISE && in->enterprise_id &&
        (e = enterprise_check(d, scope, in->enterprise_id)))
        return e;
    return E_OK;
}

/* ---- reading ----------------------------------------------------------------------- */

/* One row of st.cols into *p; *raw_enterprise_r (if not NULL) gets the
 * stored link whether or not the caller may see it. */
static err read_row(db_stmt *s, arena *a, struct place *p, int64_t *raw_enterprise_r)
{
    memset(p, 0, sizeof *p);
    p->id = db_col_int64(s, C_ID);
    err e = fields_read(s, 1, a, "places", place_rows, PLACE_FIELD_COUNT, p, unseal_col);
    if (e)
        return e;
    p->region_name = arena_strdup(a, db_col_text(s, C_REGION_NAME));
    p->has_position = !isnan(p->lng) && !isnan(p->lat);
    if (raw_enterprise_r)
        *raw_enterprise_r = p->enterprise_id;
    p->enterprise_id = 0;
    if (!db_col_null(s, C_E_ID)) {
        p->enterprise_id = db_col_int64(s, C_E_ID);
        p->enterprise_name = arena_strdup(a, db_col_text(s, C_E_NAME));
        p->credit_code = arena_strdup(a, db_col_text(s, C_E_CODE));
    }
    p->version = db_col_int64(s, C_VERSION);
    p->created_at = db_col_int64(s, C_CREATED_AT);
    p->updated_at = db_col_int64(s, C_UPDATED_AT);
    return E_OK;
}

/* read_row as query_page reads a list's row. */
static err place_read(db_stmt *s, arena *a, void *item, void *ctx)
{
    (void)ctx;
    return read_row(s, a, item, NULL);
}

static err find(db *d, arena *a, const struct scope *scope, int64_t id, struct place *p,
                int64_t *raw_enterprise_r)
{
    db_stmt *s;
    storage_init();
    /* the text is st.cols and fixed words: no value is ever in it */
    char sql[1024] = "";
    fields_sql_put(sql, sizeof sql, st.cols);
    fields_sql_put(sql, sizeof sql,
                   "WHERE p.id = ? AND p.deleted_at = 0 AND p.region_code >= ? AND "
                   "p.region_code < ?");
    err e = db_prepare(d, sql, &s);
    if (e)
        return e;
    db_bind_int64(s, 1, scope->lo);
    db_bind_int64(s, 2, scope->hi);
    db_bind_int64(s, 3, id);
    db_bind_int64(s, 4, scope->lo);
    db_bind_int64(s, 5, scope->hi);
    bool row;
    if (!(e = db_row(s, &row)))
        e = row ? read_row(s, a, p, raw_enterprise_r) : err_set(E_NOT_FOUND, NULL, NULL, NULL);
    db_done(s);
    return e;
}

err place_find(db *d, arena *a, const struct scope *scope, int64_t id, struct place *p_r)
{
    struct place p;
    err e = find(d, a, scope, id, &p, NULL);
    if (!e)
        *p_r = p;
    return e;
}

/* The page orders, the id breaking ties so that paging is stable. */
#define PLACE_SORT(key, col)                                                                       \
    {                                                                                              \
        key, " ORDER BY " col " ASC, p.id ASC", " ORDER BY " col " DESC, p.id DESC"                \
    }

static const struct pl_sort place_sorts[] = {
    PLACE_SORT("name", "p.name"),
    PLACE_SORT("kind", "p.kind"),
    PLACE_SORT("region_code", "p.region_code"),
    PLACE_SORT("area", "p.area"),
    PLACE_SORT("households", "p.households"),
    PLACE_SORT("buildings", "p.buildings"),
    PLACE_SORT("created_at", "p.created_at"),
    PLACE_SORT("updated_at", "p.updated_at"),
    {NULL, NULL, NULL},
};

err place_list(db *d, arena *a, const struct scope *scope, const struct place_filter *f,
               struct place **items_r, size_t *n_r, int64_t *total_r)
{
    err e;
    /* the queries are large: arena, not stack */
    struct query *w = arena_alloc(a, sizeof *w), *q = arena_alloc(a, sizeof *q);
    *w = (struct query)QUERY_INIT;
    query_sql(w, "WHERE p.deleted_at = 0 AND p.region_code >= ? AND p.region_code < ?");
    query_int(w, scope->lo);
    query_int(w, scope->hi);
    if (f->region_code) {
        if ((e = pl_region_check(d, scope, f->region_code)))
            return e;
        query_sql(w, " AND p.region_code >= ? AND p.region_code < ?");
        query_int(w, f->region_code);
        query_int(w, regcode_end(f->region_code));
    }
    const char *order;
    if ((e = pl_sort_sql(place_sorts, f->sort, "-created_at", &order)))
        return e;
    if (*place_kind_name(f->kind)) { /* 0 (any) has no name */
        query_sql(w, " AND p.kind = ?");
        query_text(w, place_kind_name(f->kind));
    }
    if (f->q && *f->q) {
        query_sql(w, " AND lower(p.name) LIKE ? ESCAPE '\\'");
        query_text(w, query_like_contains(a, f->q, true));
    }
    if (f->enterprise_id) {
        query_sql(w, " AND p.enterprise_id = ?");
        query_int(w, f->enterprise_id);
    }

    /* the columns bind the scope (an enterprise out of it reads as none) */
    *q = (struct query)QUERY_INIT;
    storage_init();
    query_sql(q, st.cols);
    query_int(q, scope->lo);
    query_int(q, scope->hi);
    void *items;
    e = query_page(d, a, w,
                   &(struct query_page){.count = "SELECT COUNT(*) FROM places p ",
                                        .select_q = q,
                                        .order = order,
                                        .page = f->page,
                                        .page_size = f->page_size,
                                        .max = LIST_EXPORT_MAX,
                                        .size = sizeof(struct place),
                                        .read = place_read},
                   &items, n_r, total_r);
    if (!e)
        *items_r = items;
    return e;
}

/* ---- writing ---------------------------------------------------------------------- */

/* The input as it will be stored: no position is NAN in both coordinates. */
static void position_normalise(struct place_input *x)
{
    if (!x->has_position)
        x->lng = x->lat = NAN;
}

static err create_tx(db *d, arena *a, const struct scope *scope, const struct place_input *in,
                     int64_t *id_r)
{
    err e = place_input_check(in, true);
    if (!e)
        e = check_refs(d, scope, in);
    if (e)
        return e;
    /* the fields the input does not set take their defaults: empty, zero,
     * no position, no enterprise */
    struct place_input x = {.lng = NAN, .lat = NAN};
    fields_copy(place_input_rows, &x, place_input_rows, in, PLACE_FIELD_COUNT, in->set);
    x.has_position = in->set & PL_POSITION && in->has_position;
    position_normalise(&x);
    storage_init();
    db_stmt *s;
    if ((e = db_prepare(d, st.insert, &s)))
        return e;
    int64_t id = id_new(), now = now_ms();
    int i;
    db_bind_int64(s, 1, id);
    if ((e = fields_bind(s, 2, a, "places", place_input_rows, PLACE_FIELD_COUNT, &x, seal_bind,
                         &i))) {
        db_done(s);
        return e;
    }
    db_bind_int64(s, i++, now);
    db_bind_int64(s, i, now);
    if ((e = db_run(s, NULL)) || (e = pl_count(d, x.kind, x.region_code, 1)))
        return e;
    *id_r = id;
    return E_OK;
}

static err update_tx(db *d, arena *a, const struct scope *scope, int64_t id,
                     const struct place_input *in)
{
    if (!in->set)
        return err_set(E_INPUT, "empty_update", NULL, "请至少修改一个字段");
    err e = place_input_check(in, false);
    if (e)
        return e;
    struct place cur;
    int64_t enterprise_id;
    if ((e = find(d, a, scope, id, &cur, &enterprise_id)))
        return e;
    if ((e = check_refs(d, scope, in)))
        return e;

    /* the row as it will be: the stored values (the stored enterprise link,
     * not the visible one) overlaid with the input */
    cur.enterprise_id = enterprise_id;
    enum place_kind was_kind = cur.kind;
    int64_t was_region = cur.region_code;
    struct place_input x = *in;
    position_normalise(&x);
    fields_copy(place_rows, &cur, place_input_rows, &x, PLACE_FIELD_COUNT, in->set);

    storage_init();
    if ((e = fields_update_versioned(d, a, st.update, "places", place_rows, PLACE_FIELD_COUNT, &cur,
                                     seal_bind, now_ms(), id, cur.version, scope->lo, scope->hi)))
        return e;
    if (cur.kind != was_kind || cur.region_code != was_region)
        e = pl_count(d, was_kind, was_region, -1);
    if (!e && (cur.kind != was_kind || cur.region_code != was_region))
        e = pl_count(d, cur.kind, cur.region_code, 1);
    return e;
}

static place_delete_fn on_delete;

err place_on_delete(place_delete_fn fn)
{
    if (on_delete && fn != on_delete)
        return err_set(E_INTERNAL, NULL, NULL, "place_on_delete 已有订阅者：每个钩子只能注册一个");
    on_delete = fn;
    return E_OK;
}

static err delete_tx(db *d, arena *a, const struct scope *scope, int64_t id)
{
    /* the row as it was, for its counters: the version check below makes
     * sure no update landed in between */
    struct place cur;
    int64_t enterprise_id;
    err e = find(d, a, scope, id, &cur, &enterprise_id);
    if (e)
        return e;
    db_stmt *s;
    if ((e = db_prepare(d,
                        "UPDATE places SET deleted_at = ?, updated_at = ? WHERE id = ? AND "
                        "deleted_at = 0 AND version = ?",
                        &s)))
        return e;
    int64_t now = now_ms();
    db_bind_int64(s, 1, now);
    db_bind_int64(s, 2, now);
    db_bind_int64(s, 3, id);
    db_bind_int64(s, 4, cur.version);
    int64_t changed;
    if ((e = db_run(s, &changed)))
        return e;
    if (!changed)
        return err_set(E_CONFLICT, "version_conflict", NULL,
                       "该记录已被他人修改或删除，请刷新后重试");
    if ((e = pl_count(d, cur.kind, cur.region_code, -1)))
        return e;
    return on_delete ? on_delete(d, &cur) : E_OK;
}

err place_create(db *d, arena *a, const struct scope *scope, const struct place_input *in,
                 int64_t *id_r)
{
    /* one transaction (a savepoint of the caller's): the counter commits
     * with the row or not at all */
    err e = db_begin(d);
    if (!e && (e = create_tx(d, a, scope, in, id_r)))
        db_rollback(d);
    return e ? e : db_commit(d);
}

err place_update(db *d, arena *a, const struct scope *scope, int64_t id,
                 const struct place_input *in)
{
    err e = db_begin(d);
    if (!e && (e = update_tx(d, a, scope, id, in)))
        db_rollback(d);
    return e ? e : db_commit(d);
}

err place_delete(db *d, const struct scope *scope, int64_t id)
{
    arena *a = arena_new(4096); /* the one row read before the write */
    if (!a)
        return err_set(E_NOMEM, NULL, NULL, NULL);
    err e = db_begin(d);
    if (!e && (e = delete_tx(d, a, scope, id)))
        db_rollback(d);
    else if (!e)
        e = db_commit(d);
    arena_free(&a);
    return e;
}
