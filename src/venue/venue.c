/*
 * Venues: kinds, checks, SQL and venue codes (venue.h).
 *
 * As for places, every statement binds the caller's scope, writes are
 * single statements after every check has passed, and an update carries the
 * version it read ("version_conflict" otherwise). The list's filters are fixed
 * SQL and its sort keys an allow-list of complete fragments; the column
 * lists come from the field table (internal.h), assembled once from its
 * fixed column names, never from a value.
 */
#include "venue/venue.h"

#include <math.h>
#include <pthread.h>
#include <stdatomic.h>
#include <string.h>

#include "base/id.h"
#include "base/json.h"
#include "base/regcode.h"
#include "base/validate.h"
#include "db/query.h"
#include "place/place.h"
#include "security/crypto.h"
#include "stats/stats.h"
#include "venue/internal.h"

/* ---- the field table (internal.h) ---------------------------------------------- */

#define VENUE_ROW(...)       FIELD_ROW_OF(struct venue, __VA_ARGS__)
#define VENUE_INPUT_ROW(...) FIELD_ROW_OF(struct venue_input, __VA_ARGS__)
const struct field venue_rows[VENUE_FIELD_COUNT] = {VENUE_FIELDS(VENUE_ROW)};
const struct field venue_input_rows[VENUE_FIELD_COUNT] = {VENUE_FIELDS(VENUE_INPUT_ROW)};
#undef VENUE_ROW
#undef VENUE_INPUT_ROW
_Static_assert(VENUE_FIELD_COUNT == 11 && VF_ENABLED == 1 << 10,
               "the VF_ bits are the rows of VENUE_FIELDS");
_Static_assert(sizeof(enum venue_kind) == sizeof(int) &&
                   sizeof(enum venue_direction) == sizeof(int),
               "FD_ENUM members are read as int");

/* ---- enumerations -------------------------------------------------------------- */

static const struct vocab_word kinds[] = {
    {NULL, NULL}, /* 0: no kind */
    {"community_gate", "小区出入口"},
    {"building", "楼栋"},
    {"market", "市场/商超"},
    {"shop", "商铺"},
    {"office", "办公场所"},
    {"testing_site", "核酸采样点"},
    {"transport", "交通场站"},
    {"school", "学校"},
    {"hospital", "医疗机构"},
    {"restaurant", "餐饮场所"},
    {"public", "公共场所"},
    {"checkpoint", "卡口"},
    {"other", "其他"},
};
const struct vocab venue_kind_vocab = VOCAB("venue_kinds", "点位类型", kinds);

_Static_assert(sizeof kinds / sizeof kinds[0] == VENUE_KIND__COUNT, "a word for every venue kind");

enum venue_kind venue_kind_parse(const char *s)
{
    int k = vocab_parse(&venue_kind_vocab, s);
    return k > 0 ? (enum venue_kind)k : 0;
}

const char *venue_kind_name(enum venue_kind k)
{
    return vocab_name(&venue_kind_vocab, (size_t)k);
}

const char *venue_kind_label(enum venue_kind k)
{
    return vocab_label(&venue_kind_vocab, (size_t)k);
}

static const struct vocab_word directions[] = {
    [VENUE_IN] = {"in", "进"},
    [VENUE_OUT] = {"out", "出"},
    [VENUE_BOTH] = {"both", "进出"},
};
const struct vocab venue_direction_vocab = VOCAB("venue_directions", "通行方向", directions);

enum venue_direction venue_direction_parse(const char *s)
{
    int k = vocab_parse(&venue_direction_vocab, s);
    return k > 0 ? (enum venue_direction)k : 0;
}

const char *venue_direction_name(enum venue_direction d)
{
    return vocab_name(&venue_direction_vocab, (size_t)d);
}

const char *venue_direction_label(enum venue_direction d)
{
    return vocab_label(&venue_direction_vocab, (size_t)d);
}

/* ---- checks ------------------------------------------------------------------------ */

err venue_input_check(const struct venue_input *in, bool create)
{
    err e = E_OK, x;
    unsigned set = in->set;
    err_collect_begin(); /* every field at fault, at once */
    if (create) {
        if (!(set & VF_NAME))
            e = err_add(e, E_INPUT, "required", "name", "请填写场所码点位名称");
        if (!(set & VF_KIND))
            e = err_add(e, E_INPUT, "required", "kind", "请选择点位类型");
        if (!(set & VF_PLACE))
            e = err_add(e, E_INPUT, "required", "place_id", "请选择所属场所");
    }
    if (set & VF_NAME && (x = check_text(in->name, "name", "点位名称", 100, TEXT_REQUIRED)))
        e = e ? e : x;
    if (set & VF_KIND && !venue_kind_name(in->kind)[0])
        e = err_add(e, E_INPUT, "invalid_value", "kind", "点位类型的取值不正确");
    if (set & VF_PLACE && in->place_id <= 0)
        e = err_add(e, E_INPUT, "invalid_place", "place_id", "所属场所不存在或不在您的管辖范围内");
    if (set & VF_REGION && in->region_code <= 0)
        e = err_add(e, E_INPUT, "invalid_region", "region_code",
                    "所属区划不存在或不在您的管辖范围内");
    if (set & VF_ADDRESS && (x = check_text(in->address, "address", "地址", 200, 0)))
        e = e ? e : x;
    if (set & VF_DIRECTION && !venue_direction_name(in->direction)[0])
        e = err_add(e, E_INPUT, "invalid_value", "direction", "通行方向应为 in、out 或 both");
    if (set & VF_COLORS && (in->allowed_colors == 0 || in->allowed_colors & ~VENUE_COLORS_ALL))
        e = err_add(e, E_INPUT, "invalid_value", "allowed_colors",
                    "请至少选择一种可通行的健康码颜色");
    if (set & VF_LIMIT) {
        if (in->limit_count < 0 || in->limit_count > VENUE_LIMIT_COUNT_MAX)
            e = err_add(e, E_INPUT, "out_of_range", "limit_count", "通行次数上限应在0到%d之间",
                        VENUE_LIMIT_COUNT_MAX);
        else if (in->limit_count &&
                 (in->limit_hours < 1 || in->limit_hours > VENUE_LIMIT_HOURS_MAX))
            e = err_add(e, E_INPUT, "out_of_range", "limit_hours", "限制周期应在1到%d小时之间",
                        VENUE_LIMIT_HOURS_MAX);
        else if (!in->limit_count && in->limit_hours)
            e = err_add(e, E_INPUT, "invalid_value", "limit_hours",
                        "未设置通行次数上限时不能设置限制周期");
    }
    if (set & VF_FEVER &&
        !(isfinite(in->fever_threshold) && in->fever_threshold >= VENUE_FEVER_MIN &&
          in->fever_threshold <= VENUE_FEVER_MAX))
        e = err_add(e, E_INPUT, "out_of_range", "fever_threshold", "发热阈值应在%.1f到%.1f℃之间",
                    VENUE_FEVER_MIN, VENUE_FEVER_MAX);
    err_collect_end();
    return e;
}

/*
 * The place (live, inside scope) and the region (existing, inside scope and
 * inside the place's subtree) a write names; *region_r gets the region to
 * store (the place's when `region` is 0).
 */
static err check_refs(db *d, arena *a, const struct scope *scope, int64_t place_id, int64_t region,
                      int64_t *region_r)
{
    struct place p;
    err e = place_find(d, a, scope, place_id, &p);
    if (e == E_NOT_FOUND)
        return err_set(E_INPUT, "invalid_place", "place_id", "所属场所不存在或不在您的管辖范围内");
    if (e)
        return e;
    if (!region) {
        *region_r = p.region_code;
        return E_OK;
    }
    if (region < p.region_code || region >= regcode_end(p.region_code))
        return err_set(E_INPUT, "invalid_region", "region_code",
                       "点位的区划应在所属场所的区划之内");
    db_stmt *s;
    if ((e = db_prepare(d, "SELECT 1 FROM regions WHERE code = ? AND code >= ? AND code < ?", &s)))
        return e;
    db_bind_int64(s, 1, region);
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
    *region_r = region;
    return E_OK;
}

/* ---- reading ------------------------------------------------------------------------- */

/* The organisation is the place's whatever the caller's scope: its credit
 * code is printed on the venue's poster, it is no personal data. */
#define VENUE_FROM                                                                                 \
    "FROM venues v LEFT JOIN regions r ON r.code = v.region_code "                                 \
    "LEFT JOIN places p ON p.id = v.place_id "                                                     \
    "LEFT JOIN enterprises e ON e.id = p.enterprise_id AND e.deleted_at = 0 "

/* The INSERT, UPDATE and SELECT text, assembled once from the table. */
static struct {
    pthread_once_t once;
    char insert[512], update[512], cols[768];
} st = {.once = PTHREAD_ONCE_INIT};

static void storage_build(void)
{
    const size_t n = VENUE_FIELD_COUNT;
    fields_sql_versioned("venues", venue_rows, n, ", code_version, code_issued_at", ", 1, ?",
                         st.insert, sizeof st.insert, st.update, sizeof st.update);
    fields_sql_put(st.cols, sizeof st.cols, "SELECT v.id, ");
    fields_sql_cols(venue_rows, n, "v.", st.cols, sizeof st.cols);
    fields_sql_put(st.cols, sizeof st.cols,
                   ", r.name, p.name, e.credit_code, v.code_version, v.code_issued_at, v.version, "
                   "v.created_at, v.updated_at " VENUE_FROM);
}

static void storage_init(void)
{
    pthread_once(&st.once, storage_build);
}

/* The columns of st.cols after the fields'. */
enum {
    C_ID = 0,
    C_REGION_NAME = 1 + VENUE_FIELD_COUNT,
    C_PLACE_NAME,
    C_CREDIT_CODE,
    C_CODE_VERSION,
    C_CODE_ISSUED_AT,
    C_VERSION,
    C_CREATED_AT,
    C_UPDATED_AT
};

static err read_row(db_stmt *s, arena *a, struct venue *v)
{
    memset(v, 0, sizeof *v);
    v->id = db_col_int64(s, C_ID);
    /* no sealed field: nothing to unseal */
    err e = fields_read(s, 1, a, "venues", venue_rows, VENUE_FIELD_COUNT, v, NULL);
    if (e)
        return e;
    v->region_name =
        arena_strdup(a, db_col_null(s, C_REGION_NAME) ? "" : db_col_text(s, C_REGION_NAME));
    v->place_name =
        arena_strdup(a, db_col_null(s, C_PLACE_NAME) ? "" : db_col_text(s, C_PLACE_NAME));
    v->credit_code =
        db_col_null(s, C_CREDIT_CODE) ? NULL : arena_strdup(a, db_col_text(s, C_CREDIT_CODE));
    v->code_version = db_col_int64(s, C_CODE_VERSION);
    v->code_issued_at = db_col_int64(s, C_CODE_ISSUED_AT);
    v->version = db_col_int64(s, C_VERSION);
    v->created_at = db_col_int64(s, C_CREATED_AT);
    v->updated_at = db_col_int64(s, C_UPDATED_AT);
    return E_OK;
}

/* read_row as query_page reads a list's row. */
static err venue_read(db_stmt *s, arena *a, void *item, void *ctx)
{
    (void)ctx;
    return read_row(s, a, item);
}

static err find_in(db *d, arena *a, int64_t lo, int64_t hi, int64_t id, struct venue *v_r)
{
    db_stmt *s;
    storage_init();
    char sql[1024] = "";
    fields_sql_put(sql, sizeof sql, st.cols);
    fields_sql_put(sql, sizeof sql,
                   "WHERE v.id = ? AND v.deleted_at = 0 AND v.region_code >= ? AND "
                   "v.region_code < ?");
    err e = db_prepare(d, sql, &s);
    if (e)
        return e;
    db_bind_int64(s, 1, id);
    db_bind_int64(s, 2, lo);
    db_bind_int64(s, 3, hi);
    bool row;
    struct venue v;
    if (!(e = db_row(s, &row)))
        e = row ? read_row(s, a, &v) : err_set(E_NOT_FOUND, NULL, NULL, NULL);
    db_done(s);
    if (!e)
        *v_r = v;
    return e;
}

err venue_find(db *d, arena *a, const struct scope *scope, int64_t id, struct venue *v_r)
{
    return find_in(d, a, scope->lo, scope->hi, id, v_r);
}

err venue_find_gate(db *d, arena *a, const struct scope *scope, int64_t id, struct venue *v_r)
{
    db_stmt *s;
    err e = db_prepare(d,
                       "SELECT id, region_code, name, direction, allowed_colors, limit_count, "
                       "limit_hours, fever_threshold, enabled, code_version FROM venues "
                       "WHERE id = ? AND deleted_at = 0 AND region_code >= ? AND region_code < ?",
                       &s);
    if (e)
        return e;
    db_bind_int64(s, 1, id);
    db_bind_int64(s, 2, scope->lo);
    db_bind_int64(s, 3, scope->hi);
    bool row;
    if (!(e = db_row(s, &row)) && row) {
        *v_r = (struct venue){
            .id = db_col_int64(s, 0),
            .region_code = db_col_int64(s, 1),
            .name = arena_strdup(a, db_col_text(s, 2)),
            .direction = venue_direction_parse(db_col_text(s, 3)),
            .allowed_colors = (unsigned)db_col_int64(s, 4),
            .limit_count = db_col_int64(s, 5),
            .limit_hours = db_col_int64(s, 6),
            .fever_threshold = db_col_double(s, 7),
            .enabled = db_col_int64(s, 8) != 0,
            .code_version = db_col_int64(s, 9),
        };
        v_r->region_name = v_r->place_name = v_r->address = "";
    } else if (!e) {
        e = err_set(E_NOT_FOUND, NULL, NULL, NULL);
    }
    db_done(s);
    return e;
}

/* The page orders, the id breaking ties so that paging is stable. */
#define VENUE_SORT(key, col)                                                                       \
    {                                                                                              \
        key, " ORDER BY " col " ASC, v.id ASC", " ORDER BY " col " DESC, v.id DESC"                \
    }

static const struct {
    const char *key, *asc, *desc;
} sorts[] = {
    VENUE_SORT("name", "v.name"),
    VENUE_SORT("kind", "v.kind"),
    VENUE_SORT("region_code", "v.region_code"),
    VENUE_SORT("created_at", "v.created_at"),
    VENUE_SORT("updated_at", "v.updated_at"),
};

/* Names containing `q` literally: LIKE wildcards and the escape escaped,
 * ASCII folded to lower case as SQL lower() does on both databases. */
err venue_list(db *d, arena *a, const struct scope *scope, const struct venue_filter *f,
               struct venue **items_r, size_t *n_r, int64_t *total_r)
{
    /* the query is large: arena, not stack */
    struct query *w = arena_alloc(a, sizeof *w);
    *w = (struct query)QUERY_INIT;
    query_sql(w, " WHERE v.deleted_at = 0 AND v.region_code >= ? AND v.region_code < ?");
    query_int(w, scope->lo);
    query_int(w, scope->hi);
    if (f->region_code) {
        if (!scope_has(scope, f->region_code))
            return err_set(E_INPUT, "invalid_region", "region_code",
                           "所属区划不存在或不在您的管辖范围内");
        query_sql(w, " AND v.region_code >= ? AND v.region_code < ?");
        query_int(w, f->region_code);
        query_int(w, regcode_end(f->region_code));
    }
    const char *key = f->sort && *f->sort ? f->sort : "-created_at", *order = NULL;
    bool desc = *key == '-';
    for (size_t i = 0; i < sizeof sorts / sizeof sorts[0]; i++)
        if (!strcmp(sorts[i].key, key + desc))
            order = desc ? sorts[i].desc : sorts[i].asc;
    if (!order)
        return err_set(E_INPUT, "invalid_parameter", "sort", "不支持的排序字段");
    if (*venue_kind_name(f->kind)) { /* 0 (any) has no name */
        query_sql(w, " AND v.kind = ?");
        query_text(w, venue_kind_name(f->kind));
    }
    if (f->q && *f->q) {
        query_sql(w, " AND lower(v.name) LIKE ? ESCAPE '\\'");
        query_text(w, query_like_contains(a, f->q, true));
    }
    if (f->place_id) {
        query_sql(w, " AND v.place_id = ?");
        query_int(w, f->place_id);
    }
    if (f->enabled >= 0) {
        query_sql(w, " AND v.enabled = ?");
        query_int(w, f->enabled);
    }
    if (f->needs_reprint) {
        query_sql(w, " AND v.code_issued_at < ?");
        query_int(w, keys_current_since());
    }

    storage_init();
    void *items;
    err e = query_page(d, a, w,
                       &(struct query_page){.count = "SELECT COUNT(*) FROM venues v",
                                            .select = st.cols,
                                            .order = order,
                                            .page = f->page,
                                            .page_size = f->page_size,
                                            .max = VENUE_EXPORT_MAX,
                                            .size = sizeof(struct venue),
                                            .read = venue_read},
                       &items, n_r, total_r);
    if (!e)
        *items_r = items;
    return e;
}

/* ---- counters ---------------------------------------------------------------------- */

/* "venue.kind.<kind>": live venues of each kind now, at the venue's region
 * (a level, docs/stats.md; the checkpoints 卡口 among them), moved by the
 * writes below in their transaction; sql/047 filled them. */
#define KIND_MEASURE(e, k, label)                                                                  \
    [e] = {"venue.kind." k, label, true,                                                           \
           "SELECT region_code, 0, COUNT(*) FROM venues WHERE deleted_at = 0 AND kind = '" k       \
           "' GROUP BY region_code",                                                               \
           .list = venue_stats_list}

static err venue_stats_list(db *d, arena *a, const struct stats_list_query *q, json_t **items_r,
                            int64_t *total_r);

static const struct stats_measure kind_measures[] = {
    KIND_MEASURE(VENUE_COMMUNITY_GATE, "community_gate", "小区出入口"),
    KIND_MEASURE(VENUE_BUILDING, "building", "楼栋点位"),
    KIND_MEASURE(VENUE_MARKET, "market", "市场/商超"),
    KIND_MEASURE(VENUE_SHOP, "shop", "商铺"),
    KIND_MEASURE(VENUE_OFFICE, "office", "办公场所"),
    KIND_MEASURE(VENUE_TESTING_SITE, "testing_site", "核酸采样点（场所码）"),
    KIND_MEASURE(VENUE_TRANSPORT, "transport", "交通场站"),
    KIND_MEASURE(VENUE_SCHOOL, "school", "学校（场所码）"),
    KIND_MEASURE(VENUE_HOSPITAL, "hospital", "医疗机构（场所码）"),
    KIND_MEASURE(VENUE_RESTAURANT, "restaurant", "餐饮场所"),
    KIND_MEASURE(VENUE_PUBLIC, "public", "公共场所"),
    KIND_MEASURE(VENUE_CHECKPOINT, "checkpoint", "卡口"),
    KIND_MEASURE(VENUE_OTHER, "other", "其他点位"),
};
_Static_assert(sizeof kind_measures / sizeof kind_measures[0] == VENUE_KIND__COUNT,
               "a measure for every venue kind");

static atomic_bool measures_done;

err venue_measures_register(void)
{
    if (atomic_load(&measures_done))
        return E_OK;
    err e = E_OK;
    for (size_t k = VENUE_COMMUNITY_GATE; k < VENUE_KIND__COUNT && !e; k++)
        e = stats_measure_register(&kind_measures[k]);
    if (!e)
        atomic_store(&measures_done, true);
    return e;
}

/* The venues behind a figure: the venue list filtered by kind. */
static err venue_stats_list(db *d, arena *a, const struct stats_list_query *q, json_t **items_r,
                            int64_t *total_r)
{
    const char *dot = strrchr(q->measure->name, '.');
    struct venue_filter f = {.kind = venue_kind_parse(dot ? dot + 1 : ""),
                             .enabled = -1,
                             .page = q->page,
                             .page_size = q->page_size};
    struct scope sc = {q->lo, q->hi};
    struct venue *items;
    size_t n;
    err e = venue_list(d, a, &sc, &f, &items, &n, total_r);
    if (e)
        return e;
    json_t *arr = json_array();
    for (size_t i = 0; i < n; i++) {
        const struct venue *v = &items[i];
        json_t *o = json_object();
        json_set_id(o, "id", v->id);
        json_object_set_new(o, "name", json_string(v->name));
        json_object_set_new(o, "kind", json_string(venue_kind_name(v->kind)));
        json_object_set_new(o, "kind_label", json_string(venue_kind_label(v->kind)));
        json_object_set_new(o, "address", json_string(v->address ? v->address : ""));
        json_object_set_new(o, "enabled", json_boolean(v->enabled));
        json_set_region(o, v->region_code, NULL);
        json_array_append_new(arr, o);
    }
    *items_r = arr;
    return E_OK;
}

static err kind_count(db *d, enum venue_kind k, int64_t region, int64_t delta)
{
    /* the demo writes where start-up never ran */
    err e = venue_measures_register();
    if (!e && k >= VENUE_COMMUNITY_GATE && k < VENUE_KIND__COUNT)
        e = stats_add(d, kind_measures[k].name, region, STATS_NOW, delta);
    return e;
}

/* ---- writing ----------------------------------------------------------------------- */

static err create_tx(db *d, arena *a, const struct scope *scope, const struct venue_input *in,
                     int64_t *id_r)
{
    err e = venue_input_check(in, true);
    int64_t region;
    if (!e)
        e = check_refs(d, a, scope, in->place_id, in->set & VF_REGION ? in->region_code : 0,
                       &region);
    if (e)
        return e;
    /* the fields the input does not set take their defaults */
    struct venue_input x = {.direction = VENUE_BOTH,
                            .allowed_colors = VENUE_GREEN,
                            .fever_threshold = VENUE_FEVER_DEFAULT,
                            .enabled = true};
    fields_copy(venue_input_rows, &x, venue_input_rows, in, VENUE_FIELD_COUNT, in->set);
    x.region_code = region;
    storage_init();
    db_stmt *s;
    if ((e = db_prepare(d, st.insert, &s)))
        return e;
    int64_t id = id_new(), now = now_ms();
    int i;
    db_bind_int64(s, 1, id);
    if ((e = fields_bind(s, 2, a, "venues", venue_input_rows, VENUE_FIELD_COUNT, &x, NULL, &i))) {
        db_done(s);
        return e;
    }
    db_bind_int64(s, i++, now);
    db_bind_int64(s, i++, now);
    db_bind_int64(s, i, now);
    if ((e = db_run(s, NULL)) || (e = kind_count(d, x.kind, x.region_code, 1)))
        return e;
    *id_r = id;
    return E_OK;
}

static err update_tx(db *d, arena *a, const struct scope *scope, int64_t id,
                     const struct venue_input *in)
{
    if (!in->set)
        return err_set(E_INPUT, "empty_update", NULL, "请至少修改一个字段");
    err e = venue_input_check(in, false);
    struct venue cur;
    if (!e)
        e = venue_find(d, a, scope, id, &cur);
    if (e)
        return e;
    unsigned set = in->set;
    enum venue_kind was_kind = cur.kind;
    int64_t was_region = cur.region_code;
    if (set & (VF_PLACE | VF_REGION)) {
        /* a new place without a region moves the venue to the place's region */
        int64_t place = set & VF_PLACE ? in->place_id : cur.place_id;
        int64_t want = set & VF_REGION ? in->region_code : (set & VF_PLACE ? 0 : cur.region_code);
        if ((e = check_refs(d, a, scope, place, want, &cur.region_code)))
            return e;
        cur.place_id = place;
    }
    /* the row as it will be: the stored values overlaid with the input
     * (the place and region as check_refs settled them) */
    fields_copy(venue_rows, &cur, venue_input_rows, in, VENUE_FIELD_COUNT,
                set & ~(unsigned)(VF_PLACE | VF_REGION));

    storage_init();
    if ((e = fields_update_versioned(d, a, st.update, "venues", venue_rows, VENUE_FIELD_COUNT, &cur,
                                     NULL, now_ms(), id, cur.version, scope->lo, scope->hi)))
        return e;
    if ((cur.kind != was_kind || cur.region_code != was_region) &&
        ((e = kind_count(d, was_kind, was_region, -1)) ||
         (e = kind_count(d, cur.kind, cur.region_code, 1))))
        return e;
    return E_OK;
}

static err delete_tx(db *d, arena *a, const struct scope *scope, int64_t id)
{
    /* the row as it was, for its counter; the version check below makes
     * sure no update landed in between */
    struct venue cur;
    err e = venue_find(d, a, scope, id, &cur);
    if (e)
        return e;
    db_stmt *s;
    if ((e = db_prepare(d,
                        "UPDATE venues SET deleted_at = ?, updated_at = ? WHERE id = ? AND "
                        "deleted_at = 0 AND version = ?",
                        &s)))
        return e;
    int64_t now = now_ms(), changed;
    db_bind_int64(s, 1, now);
    db_bind_int64(s, 2, now);
    db_bind_int64(s, 3, id);
    db_bind_int64(s, 4, cur.version);
    if ((e = db_run(s, &changed)))
        return e;
    if (!changed)
        return err_set(E_CONFLICT, "version_conflict", NULL,
                       "该记录已被他人修改或删除，请刷新后重试");
    return kind_count(d, cur.kind, cur.region_code, -1);
}

/* Each write in one transaction (a savepoint of the caller's): the
 * counter commits with the row or not at all. */
err venue_create(db *d, arena *a, const struct scope *scope, const struct venue_input *in,
                 int64_t *id_r)
{
    err e = db_begin(d);
    if (!e && (e = create_tx(d, a, scope, in, id_r)))
        db_rollback(d);
    return e ? e : db_commit(d);
}

err venue_update(db *d, arena *a, const struct scope *scope, int64_t id,
                 const struct venue_input *in)
{
    err e = db_begin(d);
    if (!e && (e = update_tx(d, a, scope, id, in)))
        db_rollback(d);
    return e ? e : db_commit(d);
}

err venue_delete(db *d, const struct scope *scope, int64_t id)
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

/* ---- codes ----------------------------------------------------------------------------- */

err venue_code(const struct venue *v, char out[TOKEN_MAX])
{
    struct token t = {
        .kind = TOKEN_VENUE,
        .key_id = (uint32_t)v->code_version,
        .subject = v->id,
        .issued_at = v->code_issued_at,
    };
    if (v->credit_code && strlen(v->credit_code) == sizeof t.credit_code - 1)
        memcpy(t.credit_code, v->credit_code, sizeof t.credit_code);
    return token_issue(&t, out);
}

bool venue_code_needs_reprint(const struct venue *v)
{
    return v->code_issued_at < keys_current_since();
}

err venue_code_reissue(db *d, struct venue *v, bool *reissued_r)
{
    *reissued_r = false;
    int64_t since = keys_current_since();
    if (v->code_issued_at >= since)
        return E_OK;
    db_stmt *s;
    err e = db_prepare(
        d, "UPDATE venues SET code_issued_at = ? WHERE id = ? AND code_issued_at < ?", &s);
    if (e)
        return e;
    int64_t now = now_ms(), changed;
    db_bind_int64(s, 1, now);
    db_bind_int64(s, 2, v->id);
    db_bind_int64(s, 3, since);
    if ((e = db_run(s, &changed)))
        return e;
    /* a print at the same moment moved it first: both copies scan alike */
    v->code_issued_at = now;
    *reissued_r = changed > 0;
    return E_OK;
}

err venue_code_regenerate(db *d, arena *a, const struct scope *scope, int64_t id, struct venue *v_r)
{
    db_stmt *s;
    err e = db_prepare(d,
                       "UPDATE venues SET code_version = code_version + 1, code_issued_at = ?, "
                       "updated_at = ? WHERE id = ? AND deleted_at = 0 AND region_code >= ? AND "
                       "region_code < ?",
                       &s);
    if (e)
        return e;
    int64_t now = now_ms(), changed;
    db_bind_int64(s, 1, now);
    db_bind_int64(s, 2, now);
    db_bind_int64(s, 3, id);
    db_bind_int64(s, 4, scope->lo);
    db_bind_int64(s, 5, scope->hi);
    if ((e = db_run(s, &changed)))
        return e;
    if (!changed)
        return err_set(E_NOT_FOUND, NULL, NULL, NULL);
    return venue_find(d, a, scope, id, v_r);
}

err venue_code_verify(db *d, arena *a, const char *token, struct venue *v_r, struct token *t_r)
{
    struct token t;
    struct venue v;
    err e = token_verify(token, TOKEN_VENUE, now_ms(), &t);
    if (e)
        return e;
    struct scope all = scope_all();
    e = find_in(d, a, all.lo, all.hi, t.subject, &v);
    if (e == E_NOT_FOUND)
        return err_set(E_NOT_FOUND, "unknown_venue", NULL, "该场所码对应的点位不存在或已删除");
    if (e)
        return e;
    if ((int64_t)t.key_id != v.code_version)
        return err_set(E_INPUT, "venue_code_revoked", "token",
                       "该场所码已作废（已重新生成），请扫描现场张贴的最新场所码");
    if (!v.enabled)
        return err_set(E_CONFLICT, "venue_disabled", NULL, "该场所码点位已停用");
    *v_r = v;
    if (t_r)
        *t_r = t;
    return E_OK;
}
