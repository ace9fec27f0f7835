/*
 * Cameras: vocabularies, checks, SQL, watched objects (camera_objects),
 * the near look-up, public toilets, and the home of an isolated person as
 * the video check sees it (read from observations and regions: the case
 * workflow's records, by their region, in the caller's scope) (video.h).
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
#include "case/case.h"
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
const struct field camera_input_rows[CAMERA_INPUT_COUNT] = {
    CAMERA_FIELDS(CAMERA_INPUT_ROW) CAMERA_BINDING_FIELDS(CAMERA_INPUT_ROW)};
#undef CAMERA_ROW
#undef CAMERA_INPUT_ROW
_Static_assert(CAMERA_FIELD_COUNT == 7 && CAMERA_INPUT_COUNT == 10 && CF_OBJECT_NAME == 1 << 9,
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
           k == CAMERA_OBJ_ZONE || k == CAMERA_OBJ_TOILET;
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

/* A binding as it will be stored: an id only for the kinds bound by id,
 * and an id or a name whenever a kind is given (no kind, no id, no name:
 * nothing to bind, E_OK). */
static err object_check(enum camera_object kind, int64_t id, const char *name)
{
    bool named = name && *name;
    if (!kind) {
        if (id || named)
            return err_set(E_INPUT, "required", "object_kind", "请选择监控对象类型");
        return E_OK;
    }
    if (!vocab_name(&camera_object_vocab, (size_t)kind)[0])
        return err_set(E_INPUT, "invalid_value", "object_kind", "监控对象类型的取值不正确");
    if (id && !object_by_id(kind))
        return err_set(E_INPUT, "invalid_value", "object_id",
                       "其他监控对象请填写名称，不能填写编号");
    if (!id && !named)
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
    [CAMERA_OBJ_TOILET] = "SELECT name, lng, lat FROM places WHERE id = ? AND kind = 'toilet' "
                          "AND deleted_at = 0 AND region_code >= ? AND region_code < ?",
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

/* Cameras whose objects one statement reads (bindings of ATTACH_CHUNK
 * cameras: well inside QUERY_BINDS_MAX). */
#define ATTACH_CHUNK 40

/* The objects of each of the n cameras v (a page, an export, a look-up),
 * ATTACH_CHUNK cameras a statement: the rows of a chunk are read into one
 * buffer (at most CAMERA_OBJECTS_MAX a camera), then each camera's run,
 * contiguous in camera order, is copied to an array of its own size. */
static err bindings_attach(db *d, arena *a, struct camera *v, size_t n)
{
    if (!n)
        return E_OK;
    struct query *q = arena_alloc(a, sizeof *q);
    const size_t cap = ATTACH_CHUNK * CAMERA_OBJECTS_MAX;
    struct camera_binding *rows = arena_alloc(a, cap * sizeof *rows);
    int64_t *owner = arena_alloc(a, cap * sizeof *owner);
    for (size_t at = 0; at < n; at += ATTACH_CHUNK) {
        size_t k = n - at < ATTACH_CHUNK ? n - at : ATTACH_CHUNK, m = 0;
        *q = (struct query)QUERY_INIT;
        query_sql(q, "SELECT camera_id, id, object_kind, object_id, object_name FROM "
                     "camera_objects WHERE camera_id IN (?");
        query_int(q, v[at].id);
        for (size_t i = 1; i < k; i++) {
            query_sql(q, ", ?");
            query_int(q, v[at + i].id);
        }
        query_sql(q, ") ORDER BY camera_id, object_kind, object_name, id");
        db_stmt *s;
        err e = query_prepare(d, q, &s);
        if (e)
            return e;
        bool row;
        while (m < cap && !(e = db_row(s, &row)) && row) {
            int kind = vocab_parse(&camera_object_vocab, db_col_text(s, 2));
            owner[m] = db_col_int64(s, 0);
            rows[m++] = (struct camera_binding){
                .id = db_col_int64(s, 1),
                .kind = kind > 0 ? (enum camera_object)kind : CAMERA_OBJ_OTHER,
                .object_id = db_col_int64(s, 3),
                .name = arena_strdup(a, db_col_text(s, 4)),
            };
        }
        db_done(s);
        if (e)
            return e;
        for (size_t i = at; i < at + k; i++) {
            size_t first = 0, count = 0;
            while (first < m && owner[first] != v[i].id)
                first++;
            while (first + count < m && owner[first + count] == v[i].id)
                count++;
            struct camera_binding *mine = count ? arena_alloc(a, count * sizeof *mine) : NULL;
            if (count)
                memcpy(mine, rows + first, count * sizeof *mine);
            v[i].objects = mine;
            v[i].n_objects = count;
        }
    }
    return E_OK;
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
        e = bindings_attach(d, a, &c, 1);
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
    if (f->object_kind && f->object_id) {
        query_sql(w, " AND EXISTS (SELECT 1 FROM camera_objects o WHERE o.camera_id = c.id AND "
                     "o.object_kind = ? AND o.object_id = ?)");
        query_text(w, vocab_name(&camera_object_vocab, (size_t)f->object_kind));
        query_int(w, f->object_id);
    } else if (f->object_kind) {
        query_sql(w, " AND EXISTS (SELECT 1 FROM camera_objects o WHERE o.camera_id = c.id AND "
                     "o.object_kind = ?)");
        query_text(w, vocab_name(&camera_object_vocab, (size_t)f->object_kind));
    } else if (f->object_id) {
        query_sql(w, " AND EXISTS (SELECT 1 FROM camera_objects o WHERE o.camera_id = c.id AND "
                     "o.object_id = ?)");
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
        e = bindings_attach(d, a, items, *n_r);
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
    k = k < CAMERA_NEAR_MAX ? k : CAMERA_NEAR_MAX;
    if ((e = bindings_attach(d, a, v, k)))
        return e;
    *items_r = v;
    *n_r = k;
    return E_OK;
}

err camera_proposals(db *d, arena *a, const struct scope *scope, enum camera_object kind,
                     int64_t id, double radius_m, struct camera_target *t_r,
                     struct camera **items_r, size_t *n_r)
{
    struct camera_target t = {0};
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

/* One row of camera_objects; *id_r (may be NULL) gets its id. A second
 * binding of the same object is refused by the unique index too
 * (camera_bind looks first, for the message). */
static err binding_insert(db *d, int64_t camera_id, enum camera_object kind, int64_t object_id,
                          const char *name, int64_t *id_r)
{
    db_stmt *s;
    err e = db_prepare(d,
                       "INSERT INTO camera_objects (id, camera_id, object_kind, object_id, "
                       "object_name, created_at) VALUES (?, ?, ?, ?, ?, ?)",
                       &s);
    if (e)
        return e;
    int64_t id = id_new();
    db_bind_int64(s, 1, id);
    db_bind_int64(s, 2, camera_id);
    db_bind_text(s, 3, vocab_name(&camera_object_vocab, (size_t)kind));
    db_bind_int64(s, 4, object_id);
    db_bind_text(s, 5, name);
    db_bind_int64(s, 6, now_ms());
    if ((e = db_run(s, NULL)))
        return e;
    if (id_r)
        *id_r = id;
    return E_OK;
}

err camera_bind(db *d, arena *a, const struct scope *scope, int64_t camera_id,
                enum camera_object kind, int64_t object_id, const char *name, int64_t *binding_id_r)
{
    struct camera c;
    err e = camera_find(d, a, scope, camera_id, &c);
    if (e)
        return e;
    if (!kind)
        return err_set(E_INPUT, "required", "object_kind", "请选择监控对象类型");
    if (name && *name && (e = check_text(name, "object_name", "监控对象名称", 100, TEXT_ONE_LINE)))
        return e;
    if ((e = object_check(kind, object_id, name)))
        return e;
    struct camera_target t = {0};
    if (object_id && (e = camera_object_find(d, a, scope, kind, object_id, &t)))
        return e;
    const char *stored = name && *name ? name : t.name;
    for (size_t i = 0; i < c.n_objects; i++) {
        const struct camera_binding *b = &c.objects[i];
        if (b->kind == kind &&
            (object_id ? b->object_id == object_id : !b->object_id && !strcmp(b->name, stored)))
            return err_set(E_CONFLICT, "already_bound", "object_id", "该摄像头已绑定这个监控对象");
    }
    if (c.n_objects >= CAMERA_OBJECTS_MAX)
        return err_set(E_CONFLICT, "too_many_objects", "object_id",
                       "一个摄像头最多绑定%d个监控对象", CAMERA_OBJECTS_MAX);
    return binding_insert(d, camera_id, kind, object_id, stored, binding_id_r);
}

err camera_unbind(db *d, const struct scope *scope, int64_t camera_id, int64_t binding_id)
{
    db_stmt *s;
    err e = db_prepare(d,
                       "DELETE FROM camera_objects WHERE id = ? AND camera_id = ? AND camera_id IN "
                       "(SELECT id FROM cameras WHERE id = ? AND deleted_at = 0 AND "
                       "region_code >= ? AND region_code < ?)",
                       &s);
    if (e)
        return e;
    db_bind_int64(s, 1, binding_id);
    db_bind_int64(s, 2, camera_id);
    db_bind_int64(s, 3, camera_id);
    db_bind_int64(s, 4, scope->lo);
    db_bind_int64(s, 5, scope->hi);
    int64_t changed;
    if ((e = db_run(s, &changed)))
        return e;
    return changed ? E_OK : err_set(E_NOT_FOUND, NULL, NULL, NULL);
}

err camera_create(db *d, arena *a, const struct scope *scope, const struct camera_input *in,
                  int64_t *id_r)
{
    err e = camera_input_check(in, true);
    struct camera c = {0};
    fields_copy(camera_rows, &c, camera_input_rows, in, CAMERA_FIELD_COUNT, in->set);
    const char *object_name = in->set & CF_OBJECT_NAME ? in->object_name : NULL;
    int64_t object_id = in->set & CF_OBJECT_ID ? in->object_id : 0;
    enum camera_object object_kind = in->set & CF_OBJECT_KIND ? in->object_kind : 0;
    struct camera_target t = {0};
    if (!e)
        e = object_check(object_kind, object_id, object_name);
    if (!e)
        e = region_check(d, scope, in->region_code);
    if (!e && object_id)
        e = camera_object_find(d, a, scope, object_kind, object_id, &t);
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
    if (object_kind &&
        (e = binding_insert(d, id, object_kind, object_id,
                            object_name && *object_name ? object_name : t.name, NULL)))
        return e;
    *id_r = id;
    return E_OK;
}

err camera_update(db *d, arena *a, const struct scope *scope, int64_t id,
                  const struct camera_input *in)
{
    if (!in->set)
        return err_set(E_INPUT, "empty_update", NULL, "请至少修改一个字段");
    if (in->set & (CF_OBJECT_KIND | CF_OBJECT_ID | CF_OBJECT_NAME))
        return err_set(E_INPUT, "invalid_value", "object_kind",
                       "监控对象请在摄像头的“监控对象”中添加或移除");
    err e = camera_input_check(in, false);
    struct camera cur;
    if (!e)
        e = camera_find(d, a, scope, id, &cur);
    if (e)
        return e;
    fields_copy(camera_rows, &cur, camera_input_rows, in, CAMERA_FIELD_COUNT, in->set);
    if (in->set & CF_REGION && (e = region_check(d, scope, cur.region_code)))
        return e;
    storage_init();
    return fields_update_versioned(d, a, st.update, "cameras", camera_rows, CAMERA_FIELD_COUNT,
                                   &cur, NULL, now_ms(), id, cur.version, scope->lo, scope->hi);
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

/* ---- public toilets ------------------------------------------------------------------- */

static err toilet_read(db_stmt *s, arena *a, void *item, void *ctx)
{
    (void)ctx;
    struct camera_toilet *t = item;
    bool pos = !db_col_null(s, 5) && !db_col_null(s, 6);
    *t = (struct camera_toilet){
        .id = db_col_int64(s, 0),
        .name = arena_strdup(a, db_col_text(s, 1)),
        .address = arena_strdup(a, db_col_text(s, 2)),
        .region_code = db_col_int64(s, 3),
        .region_name = arena_strdup(a, db_col_text(s, 4)),
        .has_position = pos,
        .lng = pos ? db_col_double(s, 5) : NAN,
        .lat = pos ? db_col_double(s, 6) : NAN,
    };
    return E_OK;
}

/* Ids are unique across tables, so a camera bound to the toilet's id
 * watches it, whether bound as a toilet or as a place. */
err camera_toilets(db *d, arena *a, const struct scope *scope, int64_t page, int64_t page_size,
                   struct camera_toilet **items_r, size_t *n_r, int64_t *total_r)
{
    struct query *w = arena_alloc(a, sizeof *w);
    *w = (struct query)QUERY_INIT;
    query_sql(w, " WHERE p.kind = 'toilet' AND p.deleted_at = 0 AND p.region_code >= ? AND "
                 "p.region_code < ?");
    query_int(w, scope->lo);
    query_int(w, scope->hi);
    void *items;
    size_t n;
    int64_t total;
    err e = query_page(
        d, a, w,
        &(struct query_page){.count = "SELECT COUNT(*) FROM places p",
                             .select = "SELECT p.id, p.name, p.address, p.region_code, r.name, "
                                       "p.lng, p.lat FROM places p LEFT JOIN regions r ON "
                                       "r.code = p.region_code",
                             .order = " ORDER BY p.name, p.id",
                             .page = page,
                             .page_size = page_size,
                             .max = CAMERA_EXPORT_MAX,
                             .size = sizeof(struct camera_toilet),
                             .read = toilet_read},
        &items, &n, &total);
    struct camera_toilet *v = items;
    for (size_t i = 0; !e && i < n; i++) {
        struct camera_filter f = {.any_state = true, .object_id = v[i].id, .sort = "name"};
        int64_t cams;
        e = camera_list(d, a, scope, &f, &v[i].cameras, &v[i].n_cameras, &cams);
    }
    if (e)
        return e;
    *items_r = v;
    *n_r = n;
    *total_r = total;
    return E_OK;
}

/* ---- home isolation checks ------------------------------------------------------------- */

err camera_isolation_find(db *d, arena *a, const struct scope *scope, int64_t observation_id,
                          struct camera_isolation *iso_r)
{
    db_stmt *s;
    err e = db_prepare(d,
                       "SELECT person_id, kind, state, region_code FROM observations WHERE id = ? "
                       "AND region_code >= ? AND region_code < ?",
                       &s);
    if (e)
        return e;
    db_bind_int64(s, 1, observation_id);
    db_bind_int64(s, 2, scope->lo);
    db_bind_int64(s, 3, scope->hi);
    bool row;
    struct camera_isolation iso = {.observation_id = observation_id};
    int kind = 0;
    bool active = false;
    if (!(e = db_row(s, &row)) && row) {
        iso.person_id = db_col_int64(s, 0);
        kind = vocab_parse(&observe_kind_vocab, db_col_text(s, 1));
        active = !strcmp(db_col_text(s, 2), "active");
        iso.region_code = db_col_int64(s, 3);
    } else if (!e) {
        e = err_set(E_NOT_FOUND, NULL, NULL, NULL);
    }
    db_done(s);
    if (e)
        return e;
    if (!active || (kind != OBSERVE_HOME_ISOLATION && kind != OBSERVE_HOME_OBSERVATION))
        return err_set(E_CONFLICT, "not_home_isolation", NULL,
                       "只能核查正在居家隔离或居家医学观察的人员");
    /* the building's centre, else the deepest region above it with one */
    struct query *q = arena_alloc(a, sizeof *q);
    *q = (struct query)QUERY_INIT;
    query_sql(q, "SELECT code, name, level, center_lng, center_lat FROM regions WHERE "
                 "center_lng IS NOT NULL AND center_lat IS NOT NULL AND code IN (?");
    query_int(q, iso.region_code);
    for (int64_t c = regcode_parent(iso.region_code); c > 0; c = regcode_parent(c)) {
        query_sql(q, ", ?");
        query_int(q, c);
    }
    query_sql(q, ") ORDER BY level DESC LIMIT 1");
    if ((e = query_prepare(d, q, &s)))
        return e;
    if (!(e = db_row(s, &row)) && row) {
        iso.region_code = db_col_int64(s, 0);
        iso.region_name = arena_strdup(a, db_col_text(s, 1));
        iso.region_level = (int)db_col_int64(s, 2);
        iso.lng = db_col_double(s, 3);
        iso.lat = db_col_double(s, 4);
    } else if (!e) {
        e = err_set(E_INPUT, "no_position", NULL,
                    "该人员所在楼栋及上级区划均未登记中心位置，无法查找附近的摄像头");
    }
    db_done(s);
    if (!e)
        *iso_r = iso;
    return e;
}

err camera_isolation_near(db *d, arena *a, const struct scope *scope, int64_t observation_id,
                          double radius_m, struct camera_isolation *iso_r, struct camera **items_r,
                          size_t *n_r)
{
    if (!(isfinite(radius_m) && radius_m >= 1 && radius_m <= CAMERA_ISOLATION_RADIUS_MAX))
        return err_set(E_INPUT, "out_of_range", "radius_m", "查询半径应在1到%d米之间",
                       CAMERA_ISOLATION_RADIUS_MAX);
    struct camera_isolation iso;
    err e = camera_isolation_find(d, a, scope, observation_id, &iso);
    if (!e)
        e = camera_near(d, a, scope, iso.lng, iso.lat, radius_m, items_r, n_r);
    if (!e)
        *iso_r = iso;
    return e;
}

err camera_isolation_camera(db *d, arena *a, const struct scope *scope, int64_t observation_id,
                            int64_t camera_id, struct camera_isolation *iso_r, struct camera *c_r)
{
    struct camera_isolation iso;
    struct camera c;
    err e = camera_isolation_find(d, a, scope, observation_id, &iso);
    if (!e)
        e = camera_find(d, a, scope, camera_id, &c);
    if (e)
        return e;
    c.distance_m = nat_distance_m(iso.lng, iso.lat, c.lng, c.lat);
    if (c.distance_m > CAMERA_ISOLATION_RADIUS_MAX)
        return err_set(E_FORBIDDEN, "camera_not_near", "camera_id",
                       "该摄像头距离隔离人员住址超过%d米，不能用于居家隔离核查",
                       CAMERA_ISOLATION_RADIUS_MAX);
    *iso_r = iso;
    *c_r = c;
    return E_OK;
}
