/*
 * Testing sites (nat.h): kinds and states, opening hours, checks, SQL, the
 * live push and the unattended flag with its sweep.
 *
 * As for venues, every statement binds the caller's scope, writes are
 * single statements after every check has passed, and an update carries
 * the version it read ("version_conflict" otherwise). The list's filters
 * are fixed SQL and its sort keys an allow-list of complete fragments; the
 * column lists come from the field table (internal.h), assembled once.
 */
#include <math.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "alert/alert.h"
#include "base/grow.h"
#include "base/id.h"
#include "base/json.h"
#include "base/regcode.h"
#include "base/time.h"
#include "base/validate.h"
#include "db/periodic.h"
#include "db/query.h"
#include "http/http.h"
#include "nat/internal.h"
#include "stats/stats.h"

/* ---- the field table (internal.h) ---------------------------------------------- */

#define NS_ROW(...)       FIELD_ROW_OF(struct nat_site, __VA_ARGS__)
#define NS_INPUT_ROW(...) FIELD_ROW_OF(struct nat_site_input, __VA_ARGS__)
const struct field nat_site_rows[NAT_SITE_FIELD_COUNT] = {NAT_SITE_FIELDS(NS_ROW)};
const struct field nat_site_input_rows[NAT_SITE_FIELD_COUNT] = {NAT_SITE_FIELDS(NS_INPUT_ROW)};
#undef NS_ROW
#undef NS_INPUT_ROW
_Static_assert(NAT_SITE_FIELD_COUNT == 9 && NSF_CAPACITY == 1 << 8,
               "the NSF_ bits are the rows of NAT_SITE_FIELDS");
_Static_assert(sizeof(enum nat_site_kind) == sizeof(int) &&
                   sizeof(enum nat_site_state) == sizeof(int),
               "FD_ENUM members are read as int");

/* ---- enumerations -------------------------------------------------------------- */

static const struct vocab_word kinds[] = {
    [NAT_SITE_FIXED] = {"fixed", "固定"},
    [NAT_SITE_TEMPORARY] = {"temporary", "临时"},
    [NAT_SITE_MOBILE] = {"mobile", "流动"},
    [NAT_SITE_COMMUNITY] = {"community", "社区内"},
};
const struct vocab nat_site_kind_vocab = VOCAB("nat_site_kinds", "核酸点位类型", kinds);
_Static_assert(sizeof kinds / sizeof kinds[0] == NAT_SITE_KIND__COUNT, "a word for every kind");

static const struct vocab_word states[] = {
    [NAT_OPEN] = {"open", "开放"},
    [NAT_PAUSED] = {"paused", "暂停"},
    [NAT_CLOSED] = {"closed", "关闭"},
};
const struct vocab nat_site_state_vocab = VOCAB("nat_site_states", "核酸点位状态", states);
_Static_assert(sizeof states / sizeof states[0] == NAT_SITE_STATE__COUNT, "a word for every state");

/* ---- opening hours ------------------------------------------------------------- */

/* "HH:MM" at p (exactly five characters) as minutes; -1 when malformed. */
static int hhmm(const char *p)
{
    if (p[0] < '0' || p[0] > '9' || p[1] < '0' || p[1] > '9' || p[2] != ':' || p[3] < '0' ||
        p[3] > '9' || p[4] < '0' || p[4] > '9')
        return -1;
    int h = (p[0] - '0') * 10 + (p[1] - '0'), m = (p[3] - '0') * 10 + (p[4] - '0');
    if (m > 59 || h > 24 || (h == 24 && m))
        return -1;
    return h * 60 + m;
}

err nat_hours_parse(const char *s, int from_r[NAT_HOURS_RANGES_MAX], int to_r[NAT_HOURS_RANGES_MAX],
                    size_t *n_r)
{
    if (!s || !*s) {
        from_r[0] = 0;
        to_r[0] = 24 * 60;
        *n_r = 1;
        return E_OK;
    }
    size_t n = 0;
    const char *p = s;
    for (;;) {
        while (*p == ' ')
            p++;
        int from = -1, to = -1;
        if (strlen(p) >= 11 && p[5] == '-') {
            from = hhmm(p);
            to = hhmm(p + 6);
        }
        if (from < 0 || to < 0 || from >= to || from == 24 * 60)
            return err_set(E_INPUT, "invalid_hours", "hours",
                           "开放时间应为“08:00-12:00,14:00-18:00”的形式，每段开始早于结束");
        if (n == NAT_HOURS_RANGES_MAX)
            return err_set(E_INPUT, "invalid_hours", "hours", "开放时间最多%d段",
                           NAT_HOURS_RANGES_MAX);
        if (n && from < to_r[n - 1])
            return err_set(E_INPUT, "invalid_hours", "hours",
                           "开放时间各段应按时间先后排列且不重叠");
        from_r[n] = from;
        to_r[n] = to;
        n++;
        p += 11;
        while (*p == ' ')
            p++;
        if (!*p)
            break;
        if (*p != ',' && strncmp(p, "，", strlen("，")))
            return err_set(E_INPUT, "invalid_hours", "hours", "开放时间各段之间用逗号分隔");
        p += *p == ',' ? 1 : strlen("，");
    }
    *n_r = n;
    return E_OK;
}

bool nat_hours_open_at(const char *s, int64_t ms)
{
    int from[NAT_HOURS_RANGES_MAX], to[NAT_HOURS_RANGES_MAX];
    size_t n;
    if (nat_hours_parse(s, from, to, &n))
        return false;
    int minute = (int)((ms - china_day_start(ms)) / 60000);
    for (size_t i = 0; i < n; i++)
        if (minute >= from[i] && minute < to[i])
            return true;
    return false;
}

/* ---- checks ------------------------------------------------------------------------ */

static bool lng_ok(double v)
{
    return isfinite(v) && v >= 73.0 && v <= 136.0;
}

static bool lat_ok(double v)
{
    return isfinite(v) && v >= 3.0 && v <= 54.0;
}

err nat_site_input_check(const struct nat_site_input *in, bool create)
{
    err e = E_OK, x;
    unsigned set = in->set;
    err_collect_begin(); /* every field at fault, at once */
    if (create) {
        if (!(set & NSF_NAME))
            e = err_add(e, E_INPUT, "required", "name", "请填写核酸点位名称");
        if (!(set & NSF_KIND))
            e = err_add(e, E_INPUT, "required", "kind", "请选择点位类型");
        if (!(set & NSF_REGION))
            e = err_add(e, E_INPUT, "required", "region_code", "请选择所属区划");
    }
    if (set & NSF_NAME && (x = check_text(in->name, "name", "点位名称", 100, TEXT_REQUIRED)))
        e = e ? e : x;
    if (set & NSF_KIND && !vocab_name(&nat_site_kind_vocab, (size_t)in->kind)[0])
        e = err_add(e, E_INPUT, "invalid_value", "kind", "点位类型应为固定、临时、流动或社区内");
    if (set & NSF_REGION && in->region_code <= 0)
        e = err_add(e, E_INPUT, "invalid_region", "region_code",
                    "所属区划不存在或不在您的管辖范围内");
    if (set & NSF_ADDRESS && (x = check_text(in->address, "address", "地址", 200, 0)))
        e = e ? e : x;
    bool has_lng = set & NSF_LNG, has_lat = set & NSF_LAT;
    if (has_lng != has_lat)
        e = err_add(e, E_INPUT, "required", has_lng ? "lat" : "lng", "经度和纬度应同时填写");
    else if (has_lng && isnan(in->lng) != isnan(in->lat))
        e = err_add(e, E_INPUT, "required", isnan(in->lng) ? "lng" : "lat",
                    "经度和纬度应同时填写或同时清空");
    else if (has_lng && !isnan(in->lng)) {
        if (!lng_ok(in->lng))
            e = err_add(e, E_INPUT, "out_of_range", "lng", "经度应在73到136之间");
        if (!lat_ok(in->lat))
            e = err_add(e, E_INPUT, "out_of_range", "lat", "纬度应在3到54之间");
    }
    if (set & NSF_HOURS) {
        int from[NAT_HOURS_RANGES_MAX], to[NAT_HOURS_RANGES_MAX];
        size_t n;
        if ((x = nat_hours_parse(in->hours, from, to, &n)))
            e = e ? e : x;
    }
    if (set & NSF_STATE && !vocab_name(&nat_site_state_vocab, (size_t)in->state)[0])
        e = err_add(e, E_INPUT, "invalid_value", "state", "点位状态应为开放、暂停或关闭");
    if (set & NSF_CAPACITY && (in->capacity < 0 || in->capacity > NAT_SITE_CAPACITY_MAX))
        e = err_add(e, E_INPUT, "out_of_range", "capacity", "每小时采样能力应在0到%d之间",
                    NAT_SITE_CAPACITY_MAX);
    err_collect_end();
    return e;
}

/* The region a write names exists and lies inside scope. */
static err check_region(db *d, const struct scope *scope, int64_t region)
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

#define SITE_FROM                                                                                  \
    "FROM nat_sites s LEFT JOIN regions r ON r.code = s.region_code "                              \
    "LEFT JOIN users u ON u.id = s.queue_by "

static struct {
    pthread_once_t once;
    char insert[512], update[512], cols[1024];
} st = {.once = PTHREAD_ONCE_INIT};

static void storage_build(void)
{
    const size_t n = NAT_SITE_FIELD_COUNT;
    fields_sql_versioned("nat_sites", nat_site_input_rows, n, "", "", st.insert, sizeof st.insert,
                         st.update, sizeof st.update);
    fields_sql_put(st.cols, sizeof st.cols, "SELECT s.id, ");
    fields_sql_cols(nat_site_rows, n, "s.", st.cols, sizeof st.cols);
    fields_sql_put(
        st.cols, sizeof st.cols,
        ", r.name, s.queue_length, s.queue_at, s.queue_by, u.display_name, s.on_duty, "
        "s.unattended_since, s.version, s.created_at, s.updated_at, s.scans, s.source_key, "
        "(SELECT MIN(c.code) FROM nat_city_sites c WHERE c.site_id = s.id AND "
        "c.state IN ('auto', 'confirmed')) " SITE_FROM);
}

static void storage_init(void)
{
    pthread_once(&st.once, storage_build);
}

enum {
    C_ID = 0,
    C_REGION_NAME = 1 + NAT_SITE_FIELD_COUNT,
    C_QUEUE_LENGTH,
    C_QUEUE_AT,
    C_QUEUE_BY,
    C_QUEUE_BY_NAME,
    C_ON_DUTY,
    C_UNATTENDED,
    C_VERSION,
    C_CREATED_AT,
    C_UPDATED_AT,
    C_SCANS,
    C_SOURCE_KEY,
    C_CITY_CODE /* the city's code matched to it (match.c) */
};

static err read_row(db_stmt *s, arena *a, struct nat_site *v)
{
    memset(v, 0, sizeof *v);
    v->id = db_col_int64(s, C_ID);
    err e = fields_read(s, 1, a, "nat_sites", nat_site_rows, NAT_SITE_FIELD_COUNT, v, NULL);
    if (e)
        return e;
    v->region_name = arena_strdup(a, db_col_text(s, C_REGION_NAME));
    v->queue_length = db_col_int64(s, C_QUEUE_LENGTH);
    v->queue_at = db_col_int64(s, C_QUEUE_AT);
    v->queue_by = db_col_int64(s, C_QUEUE_BY);
    v->queue_by_name = arena_strdup(a, db_col_text(s, C_QUEUE_BY_NAME));
    v->on_duty = db_col_int64(s, C_ON_DUTY);
    v->unattended_since = db_col_int64(s, C_UNATTENDED);
    v->version = db_col_int64(s, C_VERSION);
    v->created_at = db_col_int64(s, C_CREATED_AT);
    v->updated_at = db_col_int64(s, C_UPDATED_AT);
    v->scans = db_col_int64(s, C_SCANS);
    v->source_key = arena_strdup(a, db_col_text(s, C_SOURCE_KEY));
    v->city_code = arena_strdup(a, db_col_text(s, C_CITY_CODE));
    return E_OK;
}

/* read_row as query_page reads a list's row. */
static err site_read(db_stmt *s, arena *a, void *item, void *ctx)
{
    (void)ctx;
    return read_row(s, a, item);
}

static err find_in(db *d, arena *a, int64_t lo, int64_t hi, int64_t id, struct nat_site *v_r)
{
    db_stmt *s;
    storage_init();
    char sql[1280] = "";
    fields_sql_put(sql, sizeof sql, st.cols);
    fields_sql_put(sql, sizeof sql,
                   "WHERE s.id = ? AND s.deleted_at = 0 AND s.region_code >= ? AND "
                   "s.region_code < ?");
    err e = db_prepare(d, sql, &s);
    if (e)
        return e;
    db_bind_int64(s, 1, id);
    db_bind_int64(s, 2, lo);
    db_bind_int64(s, 3, hi);
    bool row;
    struct nat_site v;
    if (!(e = db_row(s, &row)))
        e = row ? read_row(s, a, &v) : err_set(E_NOT_FOUND, NULL, NULL, NULL);
    db_done(s);
    if (!e)
        *v_r = v;
    return e;
}

err nat_site_find(db *d, arena *a, const struct scope *scope, int64_t id, struct nat_site *s_r)
{
    return find_in(d, a, scope->lo, scope->hi, id, s_r);
}

#define SITE_SORT(key, col)                                                                        \
    {                                                                                              \
        key, " ORDER BY " col " ASC, s.id ASC", " ORDER BY " col " DESC, s.id DESC"                \
    }

static const struct {
    const char *key, *asc, *desc;
} sorts[] = {
    SITE_SORT("name", "s.name"),
    SITE_SORT("kind", "s.kind"),
    SITE_SORT("state", "s.state"),
    SITE_SORT("region_code", "s.region_code"),
    SITE_SORT("queue_length", "s.queue_length"),
    SITE_SORT("created_at", "s.created_at"),
    SITE_SORT("updated_at", "s.updated_at"),
};

err nat_site_list(db *d, arena *a, const struct scope *scope, const struct nat_site_filter *f,
                  struct nat_site **items_r, size_t *n_r, int64_t *total_r)
{
    struct query *w = arena_alloc(a, sizeof *w);
    *w = (struct query)QUERY_INIT;
    query_sql(w, " WHERE s.deleted_at = 0 AND s.region_code >= ? AND s.region_code < ?");
    query_int(w, scope->lo);
    query_int(w, scope->hi);
    if (f->region_code) {
        if (!scope_has(scope, f->region_code))
            return err_set(E_INPUT, "invalid_region", "region_code",
                           "所属区划不存在或不在您的管辖范围内");
        query_sql(w, " AND s.region_code >= ? AND s.region_code < ?");
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
        query_sql(w, " AND s.kind = ?");
        query_text(w, vocab_name(&nat_site_kind_vocab, (size_t)f->kind));
    }
    if (f->state) {
        query_sql(w, " AND s.state = ?");
        query_text(w, vocab_name(&nat_site_state_vocab, (size_t)f->state));
    }
    if (f->unattended >= 0)
        query_sql(w, f->unattended ? " AND s.unattended_since > 0" : " AND s.unattended_since = 0");
    if (f->q && *f->q) {
        const char *like = query_like_contains(a, f->q, true);
        query_sql(w,
                  " AND (lower(s.name) LIKE ? ESCAPE '\\' OR lower(s.address) LIKE ? ESCAPE '\\')");
        query_text(w, like);
        query_text(w, like);
    }

    storage_init();
    void *items;
    err e = query_page(d, a, w,
                       &(struct query_page){.count = "SELECT COUNT(*) FROM nat_sites s",
                                            .select = st.cols,
                                            .order = order,
                                            .page = f->page,
                                            .page_size = f->page_size,
                                            .max = NAT_EXPORT_MAX,
                                            .size = sizeof(struct nat_site),
                                            .read = site_read},
                       &items, n_r, total_r);
    if (!e)
        *items_r = items;
    return e;
}

json_t *nat_site_json(const struct nat_site *v)
{
    json_t *o = json_object();
    json_set_id(o, "id", v->id);
    fields_json(nat_site_rows, NAT_SITE_FIELD_COUNT, v, o);
    json_object_set_new(o, "kind_label",
                        json_string(vocab_label(&nat_site_kind_vocab, (size_t)v->kind)));
    json_object_set_new(o, "state_label",
                        json_string(vocab_label(&nat_site_state_vocab, (size_t)v->state)));
    json_set_region(o, v->region_code, v->region_name);
    json_object_set_new(o, "queue_length", json_integer(v->queue_length));
    json_object_set_new(o, "queue_at", v->queue_at ? json_integer(v->queue_at) : json_null());
    json_object_set_new(o, "queue_by_name",
                        v->queue_at ? json_string(v->queue_by_name) : json_null());
    json_object_set_new(o, "on_duty", json_integer(v->on_duty));
    json_object_set_new(o, "scans", json_integer(v->scans));
    json_object_set_new(o, "unattended", json_boolean(v->unattended_since > 0));
    json_object_set_new(o, "unattended_since",
                        v->unattended_since ? json_integer(v->unattended_since) : json_null());
    json_object_set_new(o, "version", json_integer(v->version));
    json_object_set_new(o, "created_at", json_integer(v->created_at));
    json_object_set_new(o, "updated_at", json_integer(v->updated_at));
    json_object_set_new(o, "source_key",
                        v->source_key && *v->source_key ? json_string(v->source_key) : json_null());
    json_object_set_new(o, "city_code",
                        v->city_code && *v->city_code ? json_string(v->city_code) : json_null());
    return o;
}

/* ---- the live push ------------------------------------------------------------------ */

struct push {
    int64_t id, region;
    const char *event; /* static */
    char *text;
};

static void publish_after_commit(void *ctx, bool committed)
{
    struct push *p = ctx;
    if (committed)
        http_stream_publish("alerts", p->region, p->id, p->event, p->text);
    free(p->text);
    free(p);
}

err nat_publish(db *d, int64_t region, const char *event, json_t *o)
{
    struct push *p = malloc(sizeof *p);
    char *text = json_dumps(o, JSON_COMPACT);
    json_decref(o);
    if (!p || !text) {
        free(p);
        free(text);
        return err_set(E_NOMEM, NULL, NULL, NULL);
    }
    /* the event's id is a fresh one, not the record's: a stream resumed
     * with Last-Event-ID skips events with smaller ids, and a record
     * created long ago would have one (the data names the record) */
    *p = (struct push){.id = id_new(), .region = region, .event = event, .text = text};
    return db_after_commit(d, publish_after_commit, p);
}

err nat_site_push(db *d, arena *a, int64_t id, const char *change)
{
    /* read the row whatever its deletion: a deleted site is pushed too */
    db_stmt *s;
    storage_init();
    char sql[1280] = "";
    fields_sql_put(sql, sizeof sql, st.cols);
    fields_sql_put(sql, sizeof sql, "WHERE s.id = ?");
    err e = db_prepare(d, sql, &s);
    if (e)
        return e;
    db_bind_int64(s, 1, id);
    bool row;
    struct nat_site v;
    if (!(e = db_row(s, &row)) && row)
        e = read_row(s, a, &v);
    db_done(s);
    if (e || !row)
        return e;
    json_t *o = nat_site_json(&v);
    json_object_set_new(o, "change", json_string(change));
    return nat_publish(d, v.region_code, "nat.site", o);
}

/* ---- counters ---------------------------------------------------------------------- */

/* "nat.site.<state>": live testing sites in each state now, at the site's
 * region (a level, docs/stats.md), moved by the writes below in their
 * transaction; sql/047 filled them for the sites recorded before. */
#define SITE_RECOUNT(st)                                                                           \
    "SELECT region_code, 0, COUNT(*) FROM nat_sites WHERE deleted_at = 0 AND state = '" st         \
    "' GROUP BY region_code"

static err site_stats_list(db *d, arena *a, const struct stats_list_query *q, json_t **items_r,
                           int64_t *total_r);

static const struct stats_measure site_measures[NAT_SITE_STATE__COUNT] = {
    [NAT_OPEN] = {"nat.site.open", "核酸点位（开放）", true, SITE_RECOUNT("open"),
                  .list = site_stats_list},
    [NAT_PAUSED] = {"nat.site.paused", "核酸点位（暂停）", true, SITE_RECOUNT("paused"),
                    .list = site_stats_list},
    [NAT_CLOSED] = {"nat.site.closed", "核酸点位（关闭）", true, SITE_RECOUNT("closed"),
                    .list = site_stats_list},
};

/* The sites behind a figure: the site list filtered by state. */
static err site_stats_list(db *d, arena *a, const struct stats_list_query *q, json_t **items_r,
                           int64_t *total_r)
{
    const char *dot = strrchr(q->measure->name, '.');
    struct nat_site_filter f = {.state = vocab_parse(&nat_site_state_vocab, dot ? dot + 1 : ""),
                                .unattended = -1,
                                .page = q->page,
                                .page_size = q->page_size};
    struct scope sc = {q->lo, q->hi};
    struct nat_site *items;
    size_t n;
    err e = nat_site_list(d, a, &sc, &f, &items, &n, total_r);
    if (e)
        return e;
    json_t *arr = json_array();
    for (size_t i = 0; i < n; i++) {
        const struct nat_site *v = &items[i];
        json_t *o = json_object();
        json_set_id(o, "id", v->id);
        json_object_set_new(o, "name", json_string(v->name));
        json_object_set_new(o, "kind_label",
                            json_string(vocab_label(&nat_site_kind_vocab, (size_t)v->kind)));
        json_object_set_new(o, "state_label",
                            json_string(vocab_label(&nat_site_state_vocab, (size_t)v->state)));
        json_object_set_new(o, "address", json_string(v->address ? v->address : ""));
        json_object_set_new(o, "queue_length", json_integer(v->queue_length));
        json_set_region(o, v->region_code, v->region_name);
        json_array_append_new(arr, o);
    }
    *items_r = arr;
    return E_OK;
}

static atomic_bool site_measures_done;

err nat_site_measures_register(void)
{
    if (atomic_load(&site_measures_done))
        return E_OK;
    err e = E_OK;
    for (int k = NAT_OPEN; k < NAT_SITE_STATE__COUNT && !e; k++)
        e = stats_measure_register(&site_measures[k]);
    if (!e)
        atomic_store(&site_measures_done, true);
    return e;
}

static err site_count(db *d, enum nat_site_state k, int64_t region, int64_t delta)
{
    /* the demo and the import write where start-up never ran */
    err e = nat_site_measures_register();
    if (!e && k >= NAT_OPEN && k < NAT_SITE_STATE__COUNT)
        e = stats_add(d, site_measures[k].name, region, STATS_NOW, delta);
    return e;
}

/* ---- writing ----------------------------------------------------------------------- */

static err create_tx(db *d, arena *a, const struct scope *scope, const struct nat_site_input *in,
                     int64_t *id_r)
{
    err e = nat_site_input_check(in, true);
    if (!e)
        e = check_region(d, scope, in->region_code);
    if (e)
        return e;
    struct nat_site_input x = {
        .lng = NAN, .lat = NAN, .state = NAT_OPEN, .address = "", .hours = ""};
    fields_copy(nat_site_input_rows, &x, nat_site_input_rows, in, NAT_SITE_FIELD_COUNT, in->set);
    storage_init();
    db_stmt *s;
    if ((e = db_prepare(d, st.insert, &s)))
        return e;
    int64_t id = id_new(), now = now_ms();
    int i;
    db_bind_int64(s, 1, id);
    if ((e = fields_bind(s, 2, a, "nat_sites", nat_site_input_rows, NAT_SITE_FIELD_COUNT, &x, NULL,
                         &i))) {
        db_done(s);
        return e;
    }
    db_bind_int64(s, i++, now);
    db_bind_int64(s, i, now);
    if ((e = db_run(s, NULL)) || (e = site_count(d, x.state, x.region_code, 1)))
        return e;
    if ((e = nat_site_attend(d, id, now, NULL)))
        return e;
    *id_r = id;
    return E_OK;
}

static err update_tx(db *d, arena *a, const struct scope *scope, int64_t id, int64_t version,
                     const struct nat_site_input *in)
{
    if (!in->set)
        return err_set(E_INPUT, "empty_update", NULL, "请至少修改一个字段");
    err e = nat_site_input_check(in, false);
    struct nat_site cur;
    if (!e)
        e = nat_site_find(d, a, scope, id, &cur);
    if (!e && in->set & NSF_REGION)
        e = check_region(d, scope, in->region_code);
    if (e)
        return e;
    if (version > 0 && version != cur.version)
        return err_set(E_CONFLICT, "version_conflict", NULL,
                       "该记录已被他人修改或删除，请刷新后重试");
    enum nat_site_state was_state = cur.state;
    int64_t was_region = cur.region_code;
    fields_copy(nat_site_rows, &cur, nat_site_input_rows, in, NAT_SITE_FIELD_COUNT, in->set);
    storage_init();
    int64_t now = now_ms();
    if ((e = fields_update_versioned(d, a, st.update, "nat_sites", nat_site_rows,
                                     NAT_SITE_FIELD_COUNT, &cur, NULL, now, id, cur.version,
                                     scope->lo, scope->hi)))
        return e;
    if ((cur.state != was_state || cur.region_code != was_region) &&
        ((e = site_count(d, was_state, was_region, -1)) ||
         (e = site_count(d, cur.state, cur.region_code, 1))))
        return e;
    return nat_site_attend(d, id, now, NULL);
}

static err delete_tx(db *d, arena *a, const struct scope *scope, int64_t id)
{
    /* the row as it was, for its counter; the version check below makes
     * sure no update landed in between */
    struct nat_site cur;
    err e = nat_site_find(d, a, scope, id, &cur);
    if (e)
        return e;
    db_stmt *s;
    if ((e = db_prepare(d,
                        "UPDATE nat_sites SET deleted_at = ?, updated_at = ?, state = 'closed', "
                        "unattended_since = 0, version = version + 1 WHERE id = ? AND "
                        "deleted_at = 0 AND on_duty = 0 AND version = ?",
                        &s)))
        return e;
    int64_t now = now_ms(), changed;
    db_bind_int64(s, 1, now);
    db_bind_int64(s, 2, now);
    db_bind_int64(s, 3, id);
    db_bind_int64(s, 4, cur.version);
    if ((e = db_run(s, &changed)))
        return e;
    if (changed)
        return site_count(d, cur.state, cur.region_code, -1);
    /* not deleted: staff on duty there, or an update landed meanwhile */
    if (cur.on_duty > 0)
        return err_set(E_CONFLICT, "site_on_duty", NULL,
                       "该点位还有工作人员在岗（已打卡未签退），请先签退后再删除");
    return err_set(E_CONFLICT, "version_conflict", NULL, "该记录已被他人修改或删除，请刷新后重试");
}

/* Each write in one transaction (a savepoint of the caller's): the
 * counters commit with the row or not at all. */
err nat_site_create(db *d, arena *a, const struct scope *scope, const struct nat_site_input *in,
                    int64_t *id_r)
{
    err e = db_begin(d);
    if (!e && (e = create_tx(d, a, scope, in, id_r)))
        db_rollback(d);
    return e ? e : db_commit(d);
}

err nat_site_update(db *d, arena *a, const struct scope *scope, int64_t id, int64_t version,
                    const struct nat_site_input *in)
{
    err e = db_begin(d);
    if (!e && (e = update_tx(d, a, scope, id, version, in)))
        db_rollback(d);
    return e ? e : db_commit(d);
}

err nat_site_delete(db *d, const struct scope *scope, int64_t id)
{
    arena *a = arena_new(4096); /* a small private arena: this path reads one row */
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

err nat_site_queue(db *d, const struct scope *scope, int64_t id, int64_t length, int64_t user_id)
{
    if (length < 0 || length > NAT_QUEUE_MAX)
        return err_set(E_INPUT, "out_of_range", "queue_length", "排队人数应在0到%d之间",
                       NAT_QUEUE_MAX);
    db_stmt *s;
    err e = db_prepare(d,
                       "UPDATE nat_sites SET queue_length = ?, queue_at = ?, queue_by = ? "
                       "WHERE id = ? AND deleted_at = 0 AND state <> 'closed' AND region_code >= ? "
                       "AND region_code < ?",
                       &s);
    if (e)
        return e;
    int64_t changed;
    db_bind_int64(s, 1, length);
    db_bind_int64(s, 2, now_ms());
    db_bind_int64(s, 3, user_id);
    db_bind_int64(s, 4, id);
    db_bind_int64(s, 5, scope->lo);
    db_bind_int64(s, 6, scope->hi);
    if ((e = db_run(s, &changed)))
        return e;
    if (changed)
        return E_OK;
    arena *a = arena_new(4096); /* a small private arena: this path reads one row */
    if (!a)
        return err_set(E_NOMEM, NULL, NULL, NULL);
    struct nat_site cur;
    e = nat_site_find(d, a, scope, id, &cur);
    arena_free(&a);
    if (e)
        return e;
    return err_set(E_CONFLICT, "site_closed", NULL, "该点位已关闭");
}

/* ---- the unattended flag ------------------------------------------------------------ */

err nat_site_attend(db *d, int64_t id, int64_t now, bool *flagged_r)
{
    if (flagged_r)
        *flagged_r = false;
    db_stmt *s;
    err e = db_prepare(d,
                       "SELECT state, hours, on_duty, unattended_since, region_code, name, "
                       "deleted_at FROM nat_sites WHERE id = ?",
                       &s);
    if (e)
        return e;
    db_bind_int64(s, 1, id);
    bool row;
    if ((e = db_row(s, &row)) || !row) {
        db_done(s);
        return e;
    }
    bool want = !strcmp(db_col_text(s, 0), "open") && db_col_int64(s, 2) == 0 &&
                db_col_int64(s, 6) == 0 && nat_hours_open_at(db_col_text(s, 1), now);
    bool flagged = db_col_int64(s, 3) > 0;
    int64_t region = db_col_int64(s, 4);
    char name[512];
    snprintf(name, sizeof name, "%s", db_col_text(s, 5));
    db_done(s);
    if (want == flagged)
        return E_OK;
    /* the UPDATE claims the change: of two servers sweeping, one raises */
    if ((e = db_prepare(d,
                        want ? "UPDATE nat_sites SET unattended_since = ? WHERE id = ? AND "
                               "unattended_since = 0"
                             : "UPDATE nat_sites SET unattended_since = 0 WHERE id = ? AND "
                               "unattended_since > 0",
                        &s)))
        return e;
    if (want) {
        db_bind_int64(s, 1, now);
        db_bind_int64(s, 2, id);
    } else {
        db_bind_int64(s, 1, id);
    }
    int64_t changed;
    if ((e = db_run(s, &changed)) || !changed || !want)
        return e;
    char msg[600];
    snprintf(msg, sizeof msg, "核酸点位“%.60s”在开放时间内无人打卡在岗", name);
    struct alert_new al = {
        .kind = ALERT_NAT_UNATTENDED,
        .level = ALERT_WARNING,
        .region_code = region,
        .message = msg,
        .detail = NULL,
        .at = now,
    };
    char detail[64];
    snprintf(detail, sizeof detail, "{\"nat_site_id\":\"%lld\"}", (long long)id);
    al.detail = detail;
    if ((e = alert_raise(d, &al, NULL)))
        return e;
    if (flagged_r)
        *flagged_r = true;
    return E_OK;
}

err nat_sweep_unattended(db *d, int64_t now, int64_t *n_r)
{
    /* the candidates: open sites not flagged with nobody on duty, and the
     * flagged ones (which may have to be cleared); each then alone */
    db_stmt *s;
    err e = db_prepare(d,
                       "SELECT id FROM nat_sites WHERE deleted_at = 0 AND ((state = 'open' AND "
                       "on_duty = 0) OR unattended_since > 0) ORDER BY id",
                       &s);
    if (e)
        return e;
    size_t n = 0, cap = 0;
    int64_t *ids = NULL;
    bool row;
    while (!(e = db_row(s, &row)) && row) {
        if (!GROW(&ids, &cap, n, 1, 64)) {
            e = err_set(E_NOMEM, NULL, NULL, NULL);
            break;
        }
        ids[n++] = db_col_int64(s, 0);
    }
    db_done(s);
    int64_t flagged_n = 0;
    arena *a = NULL;
    if (!e && !(a = arena_new(8192))) /* the sweep's thread has no request arena */
        e = err_set(E_NOMEM, NULL, NULL, NULL);
    for (size_t i = 0; !e && i < n; i++) {
        bool flagged;
        if ((e = db_begin(d)))
            break;
        e = nat_site_attend(d, ids[i], now, &flagged);
        if (!e && flagged)
            e = nat_site_push(d, a, ids[i], "unattended");
        if (e) {
            db_rollback(d);
            break;
        }
        if ((e = db_commit(d)))
            break;
        flagged_n += flagged;
    }
    arena_free(&a);
    free(ids);
    if (n_r)
        *n_r = flagged_n;
    return e;
}

/* *n_r: the sites flagged and the boxes found overdue */
static err sweep_run(db *d, int64_t now, void *ctx, int64_t *n_r)
{
    (void)ctx;
    int64_t sites = 0, boxes = 0;
    err e = nat_sweep_unattended(d, now, &sites);
    if (!e)
        e = nat_sweep_transit(d, now, &boxes);
    *n_r = sites + boxes;
    return e;
}

static struct periodic sweeper = PERIODIC_INIT("nat_sweep", sweep_run, NULL);

err nat_worker_start(const char *db_url, int every_s)
{
    return periodic_start(&sweeper, db_url, every_s);
}

void nat_worker_stop(void)
{
    periodic_stop(&sweeper);
}
