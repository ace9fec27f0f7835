/*
 * Cameras: vocabularies, checks, SQL and the near look-up (video.h).
 *
 * As for venues, every statement binds the caller's scope, writes are
 * single statements after every check has passed, and an update carries the
 * version it read ("version_conflict" otherwise). The list's filters are
 * fixed SQL and its sort keys an allow-list of complete fragments; the
 * column lists come from the field table (internal.h), assembled once.
 */
#include "video/video.h"

#include <math.h>
#include <pthread.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "base/id.h"
#include "base/json.h"
#include "base/regcode.h"
#include "base/validate.h"
#include "db/query.h"
#include "nat/nat.h"
#include "video/internal.h"

/* ---- the field table (internal.h) ---------------------------------------------- */

#define CAMERA_ROW(...)       FIELD_ROW_OF(struct camera, __VA_ARGS__)
#define CAMERA_INPUT_ROW(...) FIELD_ROW_OF(struct camera_input, __VA_ARGS__)
const struct field camera_rows[CAMERA_FIELD_COUNT] = {CAMERA_FIELDS(CAMERA_ROW)};
const struct field camera_input_rows[CAMERA_FIELD_COUNT] = {CAMERA_FIELDS(CAMERA_INPUT_ROW)};
#undef CAMERA_ROW
#undef CAMERA_INPUT_ROW
_Static_assert(CAMERA_FIELD_COUNT == 10 && CF_OBJECT_NAME == 1 << 9,
               "the CF_ bits are the rows of CAMERA_FIELDS");
_Static_assert(sizeof(enum camera_kind) == sizeof(int) && sizeof(enum camera_object) == sizeof(int),
               "FD_ENUM members are read as int");

/* ---- vocabularies ---------------------------------------------------------------- */

static const struct vocab_word kinds[] = {
    {NULL, NULL}, /* 0: no kind */
    {"bullet", "枪机"}, {"dome", "球机"}, {"mini_dome", "半球"}, {"other", "其他"},
};
const struct vocab camera_kind_vocab = VOCAB("camera_kinds", "摄像头类型", kinds);
_Static_assert(sizeof kinds / sizeof kinds[0] == CAMERA_KIND__COUNT, "a word for every kind");

static const struct vocab_word objects[] = {
    {NULL, NULL}, /* 0: nothing bound */
    {"nat_site", "核酸采样点"},
    {"venue", "场所码点位"},
    {"place", "场所"},
    {"zone", "封控管控区域"},
    {"toilet", "公共厕所"},
    {"other", "其他"},
};
const struct vocab camera_object_vocab = VOCAB("camera_objects", "监控对象类型", objects);
_Static_assert(sizeof objects / sizeof objects[0] == CAMERA_OBJ__COUNT, "a word for every object");

static const struct vocab_word states[] = {
    {"unknown", "未检测"},
    {"online", "在线"},
    {"offline", "离线"},
    {"unchecked", "无法检测"},
};
const struct vocab camera_state_vocab = VOCAB("camera_states", "视频流状态", states);
_Static_assert(sizeof states / sizeof states[0] == CAMERA_STATE__COUNT, "a word for every state");

/* ---- checks ------------------------------------------------------------------------ */

err camera_url_check(const char *url, const char *field)
{
    static const char *const schemes[] = {"http://", "https://", "rtsp://"};
    size_t n = url ? strlen(url) : 0, skip = 0;
    for (size_t i = 0; i < sizeof schemes / sizeof schemes[0] && !skip; i++)
        if (n > strlen(schemes[i]) && !strncasecmp(url, schemes[i], strlen(schemes[i])))
            skip = strlen(schemes[i]);
    bool ok =
        skip && n <= CAMERA_URL_MAX && url[skip] != '/' && url[skip] != '?' && url[skip] != '#';
    for (size_t i = 0; ok && i < n; i++)
        ok = (unsigned char)url[i] > 0x20 && url[i] != 0x7f;
    if (!ok)
        return err_set(E_INPUT, "invalid_url", field,
                       "视频流地址应为 http://、https:// 或 rtsp:// 开头的完整地址");
    return E_OK;
}

err camera_position_check(double lng, double lat)
{
    err e = E_OK;
    err_collect_begin();
    if (!(isfinite(lng) && lng >= -180 && lng <= 180))
        e = err_add(e, E_INPUT, "out_of_range", "lng", "经度应在-180到180之间");
    if (!(isfinite(lat) && lat >= -90 && lat <= 90))
        e = err_add(e, E_INPUT, "out_of_range", "lat", "纬度应在-90到90之间");
    err_collect_end();
    return e;
}

/* Objects a camera binds by id: records of the platform. */
static bool object_by_id(enum camera_object k)
{
    return k == CAMERA_OBJ_NAT_SITE || k == CAMERA_OBJ_VENUE || k == CAMERA_OBJ_PLACE ||
           k == CAMERA_OBJ_ZONE;
}

err camera_input_check(const struct camera_input *in, bool create)
{
    err e = E_OK, x;
    unsigned set = in->set;
    err_collect_begin(); /* every field at fault, at once */
    if (create) {
        static const struct {
            unsigned bit;
            const char *field, *msg;
        } req[] = {
            {CF_NAME, "name", "请填写摄像头名称"},
            {CF_KIND, "kind", "请选择摄像头类型"},
            {CF_REGION, "region_code", "请选择所属区划"},
            {CF_LNG, "lng", "请填写经度"},
            {CF_LAT, "lat", "请填写纬度"},
            {CF_URL, "stream_url", "请填写视频流地址"},
        };
        for (size_t i = 0; i < sizeof req / sizeof req[0]; i++)
            if (!(set & req[i].bit))
                e = err_add(e, E_INPUT, "required", req[i].field, "%s", req[i].msg);
    }
    if (set & CF_NAME && (x = check_text(in->name, "name", "摄像头名称", 100, TEXT_REQUIRED)))
        e = e ? e : x;
    if (set & CF_CODE && (x = check_text(in->code, "code", "视频网编号", 64, TEXT_ONE_LINE)))
        e = e ? e : x;
    if (set & CF_KIND && !vocab_name(&camera_kind_vocab, (size_t)in->kind)[0])
        e = err_add(e, E_INPUT, "invalid_value", "kind", "摄像头类型的取值不正确");
    if (set & CF_REGION && in->region_code <= 0)
        e = err_add(e, E_INPUT, "invalid_region", "region_code",
                    "所属区划不存在或不在您的管辖范围内");
    if (set & CF_LNG && !(isfinite(in->lng) && in->lng >= -180 && in->lng <= 180))
        e = err_add(e, E_INPUT, "out_of_range", "lng", "经度应在-180到180之间");
    if (set & CF_LAT && !(isfinite(in->lat) && in->lat >= -90 && in->lat <= 90))
        e = err_add(e, E_INPUT, "out_of_range", "lat", "纬度应在-90到90之间");
    if (set & CF_URL && (x = camera_url_check(in->stream_url, "stream_url")))
        e = e ? e : x;
    if (set & CF_OBJECT_NAME &&
        (x = check_text(in->object_name, "object_name", "监控对象名称", 100, TEXT_ONE_LINE)))
        e = e ? e : x;
    err_collect_end();
    return e;
}

/* The object as it will be stored: an id only for the kinds bound by id,
 * and an id or a name whenever a kind is given. */
static err object_check(const struct camera *c)
{
    bool named = c->object_name && *c->object_name;
    if (!c->object_kind) {
        if (c->object_id || named)
            return err_set(E_INPUT, "required", "object_kind", "请选择监控对象类型");
        return E_OK;
    }
    if (c->object_id && !object_by_id(c->object_kind))
        return err_set(E_INPUT, "invalid_value", "object_id",
                       "公共厕所和其他监控对象请填写名称，不能填写编号");
    if (!c->object_id && !named)
        return err_set(E_INPUT, "required", "object_name", "请填写监控对象或其名称");
    return E_OK;
}

/* The records a camera binds by id, read in the caller's scope: the name
 * and, where the record has one, the position (NULL columns: none). */
static const char *const object_sql[CAMERA_OBJ__COUNT] = {
    [CAMERA_OBJ_NAT_SITE] = "SELECT name, lng, lat FROM nat_sites WHERE id = ? AND deleted_at = 0 "
                            "AND region_code >= ? AND region_code < ?",
    [CAMERA_OBJ_VENUE] = "SELECT name, NULL, NULL FROM venues WHERE id = ? AND deleted_at = 0 "
                         "AND region_code >= ? AND region_code < ?",
    [CAMERA_OBJ_PLACE] = "SELECT name, lng, lat FROM places WHERE id = ? AND deleted_at = 0 "
                         "AND region_code >= ? AND region_code < ?",
    [CAMERA_OBJ_ZONE] = "SELECT name, NULL, NULL FROM zones WHERE id = ? "
                        "AND region_code >= ? AND region_code < ?",
};

err camera_object_find(db *d, arena *a, const struct scope *scope, enum camera_object kind,
                       int64_t id, struct camera_target *t_r)
{
    if (!object_by_id(kind) || id <= 0)
        return err_set(E_INPUT, "invalid_object", "object_id",
                       "监控对象不存在或不在您的管辖范围内");
    db_stmt *s;
    err e = db_prepare(d, object_sql[kind], &s);
    if (e)
        return e;
    db_bind_int64(s, 1, id);
    db_bind_int64(s, 2, scope->lo);
    db_bind_int64(s, 3, scope->hi);
    bool row;
    if (!(e = db_row(s, &row)) && row) {
        bool pos = !db_col_null(s, 1) && !db_col_null(s, 2);
        *t_r = (struct camera_target){.kind = kind,
                                      .id = id,
                                      .name = arena_strdup(a, db_col_text(s, 0)),
                                      .has_position = pos,
                                      .lng = pos ? db_col_double(s, 1) : NAN,
                                      .lat = pos ? db_col_double(s, 2) : NAN};
    } else if (!e) {
        e = err_set(E_INPUT, "invalid_object", "object_id", "监控对象不存在或不在您的管辖范围内");
    }
    db_done(s);
    return e;
}

/* A bound id names a record in scope; its name is stored with the camera
 * (lists show names), unless the input names the object itself. */
static err object_resolve(db *d, arena *a, const struct scope *scope, struct camera *c, bool named)
{
    if (!c->object_id)
        return E_OK;
    struct camera_target t;
    err e = camera_object_find(d, a, scope, c->object_kind, c->object_id, &t);
    if (!e && !named)
        c->object_name = t.name;
    return e;
}

/* The region exists and lies inside scope. */
static err region_check(db *d, const struct scope *scope, int64_t region)
{
    db_stmt *s;
    err e = db_prepare(d, "SELECT 1 FROM regions WHERE code = ? AND code >= ? AND code < ?", &s);
    if (e)
        return e;
    db_bind_int64(s, 1, region);
    db_bind_int64(s, 2, scope->lo);
    db_bind_int64(s, 3, scope->hi);
    bool row;
    e = db_row(s, &row);
    db_done(s);
    if (!e && !row)
        e = err_set(E_INPUT, "invalid_region", "region_code", "所属区划不存在或不在您的管辖范围内");
    return e;
}

/* ---- reading ------------------------------------------------------------------------- */

#define CAMERA_FROM "FROM cameras c LEFT JOIN regions r ON r.code = c.region_code "

static struct {
    pthread_once_t once;
    char insert[512], update[512], cols[768];
} st = {.once = PTHREAD_ONCE_INIT};

static void storage_build(void)
{
    const size_t n = CAMERA_FIELD_COUNT;
    fields_sql_versioned("cameras", camera_rows, n, "", "", st.insert, sizeof st.insert, st.update,
                         sizeof st.update);
    fields_sql_put(st.cols, sizeof st.cols, "SELECT c.id, ");
    fields_sql_cols(camera_rows, n, "c.", st.cols, sizeof st.cols);
    fields_sql_put(
        st.cols, sizeof st.cols,
        ", r.name, c.state, c.checked_at, c.version, c.created_at, c.updated_at " CAMERA_FROM);
}

static void storage_init(void)
{
    pthread_once(&st.once, storage_build);
}

enum {
    C_ID = 0,
    C_REGION_NAME = 1 + CAMERA_FIELD_COUNT,
    C_STATE,
    C_CHECKED_AT,
    C_VERSION,
    C_CREATED_AT,
    C_UPDATED_AT
};

static err read_row(db_stmt *s, arena *a, struct camera *c)
{
    memset(c, 0, sizeof *c);
    c->id = db_col_int64(s, C_ID);
    err e = fields_read(s, 1, a, "cameras", camera_rows, CAMERA_FIELD_COUNT, c, NULL);
    if (e)
        return e;
    c->region_name =
        arena_strdup(a, db_col_null(s, C_REGION_NAME) ? "" : db_col_text(s, C_REGION_NAME));
    int k = vocab_parse(&camera_state_vocab, db_col_text(s, C_STATE));
    c->state = k > 0 ? (enum camera_state)k : CAMERA_UNKNOWN;
    c->checked_at = db_col_int64(s, C_CHECKED_AT);
    c->version = db_col_int64(s, C_VERSION);
    c->created_at = db_col_int64(s, C_CREATED_AT);
    c->updated_at = db_col_int64(s, C_UPDATED_AT);
    return E_OK;
}

static err camera_read(db_stmt *s, arena *a, void *item, void *ctx)
{
    (void)ctx;
    return read_row(s, a, item);
}

err camera_find(db *d, arena *a, const struct scope *scope, int64_t id, struct camera *c_r)
{
    db_stmt *s;
    storage_init();
    char sql[1024] = "";
    fields_sql_put(sql, sizeof sql, st.cols);
    fields_sql_put(sql, sizeof sql,
                   "WHERE c.id = ? AND c.deleted_at = 0 AND c.region_code >= ? AND "
                   "c.region_code < ?");
    err e = db_prepare(d, sql, &s);
    if (e)
        return e;
    db_bind_int64(s, 1, id);
    db_bind_int64(s, 2, scope->lo);
    db_bind_int64(s, 3, scope->hi);
    bool row;
    struct camera c;
    if (!(e = db_row(s, &row)))
        e = row ? read_row(s, a, &c) : err_set(E_NOT_FOUND, NULL, NULL, NULL);
    db_done(s);
    if (!e)
        *c_r = c;
    return e;
}

#define CAMERA_SORT(key, col)                                                                      \
    {                                                                                              \
        key, " ORDER BY " col " ASC, c.id ASC", " ORDER BY " col " DESC, c.id DESC"                \
    }

static const struct {
    const char *key, *asc, *desc;
} sorts[] = {
    CAMERA_SORT("name", "c.name"),
    CAMERA_SORT("kind", "c.kind"),
    CAMERA_SORT("region_code", "c.region_code"),
    CAMERA_SORT("state", "c.state"),
    CAMERA_SORT("created_at", "c.created_at"),
    CAMERA_SORT("updated_at", "c.updated_at"),
};

err camera_list(db *d, arena *a, const struct scope *scope, const struct camera_filter *f,
                struct camera **items_r, size_t *n_r, int64_t *total_r)
{
    struct query *w = arena_alloc(a, sizeof *w); /* large: arena, not stack */
    *w = (struct query)QUERY_INIT;
    query_sql(w, " WHERE c.deleted_at = 0 AND c.region_code >= ? AND c.region_code < ?");
    query_int(w, scope->lo);
    query_int(w, scope->hi);
    if (f->region_code) {
        if (!scope_has(scope, f->region_code))
            return err_set(E_INPUT, "invalid_region", "region_code",
                           "所属区划不存在或不在您的管辖范围内");
        query_sql(w, " AND c.region_code >= ? AND c.region_code < ?");
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
    if (f->kind) {
        query_sql(w, " AND c.kind = ?");
        query_text(w, vocab_name(&camera_kind_vocab, (size_t)f->kind));
    }
    if (!f->any_state) {
        query_sql(w, " AND c.state = ?");
        query_text(w, vocab_name(&camera_state_vocab, (size_t)f->state));
    }
    if (f->object_kind) {
        query_sql(w, " AND c.object_kind = ?");
        query_text(w, vocab_name(&camera_object_vocab, (size_t)f->object_kind));
    }
    if (f->object_id) {
        query_sql(w, " AND c.object_id = ?");
        query_int(w, f->object_id);
    }
    if (f->q && *f->q) {
        const char *like = query_like_contains(a, f->q, true);
        query_sql(w, " AND (lower(c.name) LIKE ? ESCAPE '\\' OR lower(c.code) LIKE ? ESCAPE '\\')");
        query_text(w, like);
        query_text(w, like);
    }
    storage_init();
    void *items;
    err e = query_page(d, a, w,
                       &(struct query_page){.count = "SELECT COUNT(*) FROM cameras c",
                                            .select = st.cols,
                                            .order = order,
                                            .page = f->page,
                                            .page_size = f->page_size,
                                            .max = CAMERA_EXPORT_MAX,
                                            .size = sizeof(struct camera),
                                            .read = camera_read},
                       &items, n_r, total_r);
    if (!e)
        *items_r = items;
    return e;
}

/* ---- near ------------------------------------------------------------------------- */

/* For the box around a circle only; distances are nat_distance_m's. */
#define EARTH_RADIUS_M 6371008.8
#define DEG            (M_PI / 180.0)

static int by_distance(const void *x, const void *y)
{
    const struct camera *a = x, *b = y;
    if (a->distance_m != b->distance_m)
        return a->distance_m < b->distance_m ? -1 : 1;
    return a->id < b->id ? -1 : a->id > b->id;
}

/* The box around the circle is read (index cameras_position), then each
 * camera's exact distance decides. A radius of 5 km spans at most a few
 * thousand cameras in a city; the box is read up to CAMERA_EXPORT_MAX. */
err camera_near(db *d, arena *a, const struct scope *scope, double lng, double lat, double radius_m,
                struct camera **items_r, size_t *n_r)
{
    err e = camera_position_check(lng, lat);
    if (e)
        return e;
    if (!(isfinite(radius_m) && radius_m >= 1 && radius_m <= CAMERA_RADIUS_MAX))
        return err_set(E_INPUT, "out_of_range", "radius_m", "查询半径应在1到%d米之间",
                       CAMERA_RADIUS_MAX);
    double dlat = radius_m / EARTH_RADIUS_M / DEG;
    double coslat = cos(lat * DEG);
    double dlng = coslat > 1e-6 ? dlat / coslat : 360;
    struct query *w = arena_alloc(a, sizeof *w);
    *w = (struct query)QUERY_INIT;
    query_sql(w, " WHERE c.deleted_at = 0 AND c.region_code >= ? AND c.region_code < ?"
                 " AND c.lat >= ? AND c.lat <= ? AND c.lng >= ? AND c.lng <= ?");
    query_int(w, scope->lo);
    query_int(w, scope->hi);
    query_double(w, lat - dlat);
    query_double(w, lat + dlat);
    query_double(w, lng - dlng);
    query_double(w, lng + dlng);
    storage_init();
    void *items;
    size_t n;
    int64_t total;
    if ((e = query_page(d, a, w,
                        &(struct query_page){.count = "SELECT COUNT(*) FROM cameras c",
                                             .select = st.cols,
                                             .order = " ORDER BY c.id",
                                             .page = 1,
                                             .page_size = 0,
                                             .max = CAMERA_EXPORT_MAX,
                                             .size = sizeof(struct camera),
                                             .read = camera_read},
                        &items, &n, &total)))
        return e;
    struct camera *v = items;
    size_t k = 0;
    for (size_t i = 0; i < n; i++) {
        v[i].distance_m = nat_distance_m(lng, lat, v[i].lng, v[i].lat);
        if (v[i].distance_m <= radius_m)
            v[k++] = v[i];
    }
    qsort(v, k, sizeof *v, by_distance);
    *items_r = v;
    *n_r = k < CAMERA_NEAR_MAX ? k : CAMERA_NEAR_MAX;
    return E_OK;
}

err camera_proposals(db *d, arena *a, const struct scope *scope, enum camera_object kind,
                     int64_t id, double radius_m, struct camera_target *t_r,
                     struct camera **items_r, size_t *n_r)
{
    struct camera_target t;
    err e = camera_object_find(d, a, scope, kind, id, &t);
    if (e)
        return e;
    if (!t.has_position)
        return err_set(E_INPUT, "no_position", "object_id",
                       "该监控对象没有登记位置，无法按距离推荐摄像头");
    if ((e = camera_near(d, a, scope, t.lng, t.lat, radius_m, items_r, n_r)))
        return e;
    *t_r = t;
    return E_OK;
}

/* ---- writing ----------------------------------------------------------------------- */

err camera_create(db *d, arena *a, const struct scope *scope, const struct camera_input *in,
                  int64_t *id_r)
{
    err e = camera_input_check(in, true);
    struct camera c = {0};
    fields_copy(camera_rows, &c, camera_input_rows, in, CAMERA_FIELD_COUNT, in->set);
    if (!e)
        e = object_check(&c);
    if (!e)
        e = region_check(d, scope, in->region_code);
    if (!e)
        e = object_resolve(d, a, scope, &c,
                           in->set & CF_OBJECT_NAME && c.object_name && *c.object_name);
    if (e)
        return e;
    storage_init();
    db_stmt *s;
    if ((e = db_prepare(d, st.insert, &s)))
        return e;
    int64_t id = id_new(), now = now_ms();
    int i;
    db_bind_int64(s, 1, id);
    if ((e = fields_bind(s, 2, a, "cameras", camera_rows, CAMERA_FIELD_COUNT, &c, NULL, &i))) {
        db_done(s);
        return e;
    }
    db_bind_int64(s, i++, now);
    db_bind_int64(s, i, now);
    if ((e = db_run(s, NULL)))
        return e;
    *id_r = id;
    return E_OK;
}

err camera_update(db *d, arena *a, const struct scope *scope, int64_t id,
                  const struct camera_input *in)
{
    if (!in->set)
        return err_set(E_INPUT, "empty_update", NULL, "请至少修改一个字段");
    err e = camera_input_check(in, false);
    struct camera cur;
    if (!e)
        e = camera_find(d, a, scope, id, &cur);
    if (e)
        return e;
    fields_copy(camera_rows, &cur, camera_input_rows, in, CAMERA_FIELD_COUNT, in->set);
    if ((e = object_check(&cur)))
        return e;
    if (in->set & CF_REGION && (e = region_check(d, scope, cur.region_code)))
        return e;
    if (in->set & (CF_OBJECT_KIND | CF_OBJECT_ID) &&
        (e = object_resolve(d, a, scope, &cur,
                            in->set & CF_OBJECT_NAME && in->object_name && *in->object_name)))
        return e;
    storage_init();
    db_stmt *s;
    if ((e = db_prepare(d, st.update, &s)))
        return e;
    int i;
    if ((e = fields_bind(s, 1, a, "cameras", camera_rows, CAMERA_FIELD_COUNT, &cur, NULL, &i))) {
        db_done(s);
        return e;
    }
    db_bind_int64(s, i++, now_ms());
    db_bind_int64(s, i++, id);
    db_bind_int64(s, i++, cur.version);
    db_bind_int64(s, i++, scope->lo);
    db_bind_int64(s, i, scope->hi);
    int64_t changed;
    if ((e = db_run(s, &changed)))
        return e;
    if (!changed)
        return err_set(E_CONFLICT, "version_conflict", NULL,
                       "该记录已被他人修改或删除，请刷新后重试");
    return E_OK;
}

err camera_delete(db *d, const struct scope *scope, int64_t id)
{
    db_stmt *s;
    err e = db_prepare(d,
                       "UPDATE cameras SET deleted_at = ?, updated_at = ? WHERE id = ? AND "
                       "deleted_at = 0 AND region_code >= ? AND region_code < ?",
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
    return changed ? E_OK : err_set(E_NOT_FOUND, NULL, NULL, NULL);
}
