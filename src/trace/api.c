/*
 * HTTP handlers of key-person trips (trace.h; docs/tracing.md):
 *
 *   POST   /api/v1/trips                 record a trip (staff, trace.write)
 *   GET    /api/v1/trips                 list: person_id, id_number (exact),
 *                                        region_code, from, to, mode, number;
 *                                        paging; format=csv|xlsx; reveal=1
 *   GET    /api/v1/trips/{id}            one, with its waypoints
 *   PATCH  /api/v1/trips/{id}            change (waypoints replaced when given)
 *   DELETE /api/v1/trips/{id}
 *   GET    /api/v1/persons/{id}/trips    a person's trips
 *   GET    /api/v1/me/trips              the resident's own
 *   POST   /api/v1/me/trips              the resident records one (source self)
 *   GET    /api/v1/trips/template.xlsx   the import template
 *   POST   /api/v1/trips/import          an upload (xlsx; format=csv for CSV): 202 {job_id, rows}
 *                                        (its failed rows: GET /api/v1/jobs/{id}/errors.xlsx)
 *
 * Every read and write is audited (trace.trip.*), a reveal also as
 * person.reveal; names and id numbers leave masked unless revealed.
 * Writes commit with their audit entry (http/write.h).
 */
#include <string.h>

#include "app.h"
#include "base/regcode.h"
#include "base/time.h"
#include "db/fields.h"
#include "http/export.h"
#include "http/write.h"
#include "job/import.h"
#include "job/job.h"
#include "person/person.h"
#include "security/audit.h"
#include "security/mask.h"
#include "trace/trace.h"

/* ---- bodies --------------------------------------------------------------------------- */

#define TRIP_BODY_COMMON                                                                           \
    {"departed_on", J_STRING, 0, 10, 10, "出行日期", NULL, NULL},                                  \
        {"returned_on", J_STRING, JF_NULLABLE, 10, 10, "返回日期", NULL, NULL},                    \
        {"origin", J_STRING, JF_NULLABLE, 0, TRIP_TEXT_MAX, "出发地", NULL, NULL},                 \
        {"destination", J_STRING, 0, 1, TRIP_TEXT_MAX, "目的地", NULL, NULL},                      \
        {"out", J_OBJECT, 0, 0, 0, "去程交通", NULL, NULL},                                        \
        {"back", J_OBJECT, JF_NULLABLE, 0, 0, "返程交通", NULL, NULL},                             \
        {"waypoints", J_ARRAY, 0, 0, 0, "途径点", NULL, NULL},                                     \
        {"note", J_STRING, JF_NULLABLE, 0, TRIP_NOTE_MAX, "备注", NULL, NULL},

static const struct jfield trip_body[] = {
    {"person_id", J_STRING, JF_REQUIRED, 1, 20, "人员", NULL, NULL},
    TRIP_BODY_COMMON{NULL, 0, 0, 0, 0, NULL, NULL, NULL},
};

static const struct jfield trip_patch_body[] = {
    {"version", J_INT, 0, 1, INT32_MAX, "版本号", NULL, NULL},
    TRIP_BODY_COMMON{NULL, 0, 0, 0, 0, NULL, NULL, NULL},
};

static const struct jfield self_trip_body[] = {
    TRIP_BODY_COMMON{NULL, 0, 0, 0, 0, NULL, NULL, NULL},
};

/* ---- replies -------------------------------------------------------------------------- */

static err reply_trip(struct req *r, const struct scope *sc, int status, int64_t id)
{
    struct trip t;
    err e = trip_find(r->db, r->a, sc, id, &t);
    return e ? e : reply_json(r, status, trip_json(r->a, &t, false));
}

static err create(struct req *r, const struct scope *sc, int64_t person, enum trip_source src)
{
    struct trip t = {.person_id = person};
    int64_t id = 0;
    err e = trip_apply_json(r->a, r->body, &t);
    if (!e && person)
        t.person_id = person; /* a resident's own, whatever the body says */
    db_hold(r->db);
    if (!e && !(e = db_begin(r->db)))
        e = req_tx_end(r, trip_create(r->db, r->a, sc, &t, src, r->who->user_id, &id));
    if ((e = req_write_done(r, e, "trace.trip.create", "trip", id, req_body_fields(r))))
        return e;
    return reply_trip(r, sc, 201, id);
}

static err post_trip(struct req *r)
{
    return create(r, &r->who->scope, 0, TRIP_STAFF);
}

static err get_trip(struct req *r)
{
    int64_t id;
    bool reveal = false;
    struct trip t;
    err e = req_param_id(r, 0, &id);
    if (!e && (e = req_reveal(r, &reveal)) == E_FORBIDDEN)
        return audit_refusal(r->db, r->who, r->ip, "trace.trip.read", "trip", id, e, "reveal");
    if (!e)
        e = trip_find(r->db, r->a, &r->who->scope, id, &t);
    if (e)
        return e;
    req_audit(r, "trace.trip.read", "trip", id, "ok", "");
    if (reveal)
        req_audit(r, "person.reveal", "person", t.person_id, "ok", "fields=trip");
    return reply_json(r, 200, trip_json(r->a, &t, reveal));
}

static err patch_trip(struct req *r)
{
    int64_t id = 0;
    err e = req_param_id(r, 0, &id);
    json_t *body = NULL;
    if (!e) {
        body = json_copy(r->body); /* the request's body stays as sent (audit detail) */
        json_object_del(body, "version");
    }
    db_hold(r->db);
    if (!e && !(e = db_begin(r->db)))
        e = req_tx_end(
            r, trip_update(r->db, r->a, &r->who->scope, id, json_int(r->body, "version", 0), body));
    json_decref(body);
    if ((e = req_write_done(r, e, "trace.trip.update", "trip", id, req_body_fields(r))))
        return e;
    return reply_trip(r, &r->who->scope, 200, id);
}

static err delete_trip(struct req *r)
{
    int64_t id = 0;
    err e = req_param_id(r, 0, &id);
    db_hold(r->db);
    if (!e && !(e = db_begin(r->db)))
        e = req_tx_end(r, trip_delete(r->db, &r->who->scope, id));
    if ((e = req_write_done(r, e, "trace.trip.delete", "trip", id, "")))
        return e;
    return reply_empty(r);
}

/* ---- lists ---------------------------------------------------------------------------- */

static err day_query(struct req *r, const char *name, int32_t *day_r)
{
    const char *s = req_query(r, name);
    *day_r = 0;
    if (s && !(*day_r = field_date_parse(s)))
        return err_set(E_INPUT, "invalid_parameter", name, "参数 %s 应为“2026-01-31”形式的日期",
                       name);
    return E_OK;
}

/* The list's filters from the query (the person of /persons/{id}/trips
 * given). *found_r false: an id number that names nobody in scope. */
static err filter_from(struct req *r, struct trip_filter *f, bool *found_r)
{
    err e = req_paging(r, &f->page, &f->page_size);
    *found_r = true;
    const char *s;
    if (!e && (s = req_query(r, "region_code"))) {
        enum region_level lv;
        if ((f->region_code = regcode_parse(s, &lv)) <= 0)
            e = err_set(E_INPUT, "invalid_region", "region_code",
                        "所属区划不存在或不在您的管辖范围内");
    }
    if (!e && !f->person_id && (s = req_query(r, "person_id")) && (f->person_id = id_parse(s)) <= 0)
        e = err_set(E_INPUT, "invalid_parameter", "person_id", "参数 person_id 不正确");
    if (!e)
        e = day_query(r, "from", &f->from);
    if (!e)
        e = day_query(r, "to", &f->to);
    if (!e && f->from && f->to && f->to < f->from)
        e = err_set(E_INPUT, "invalid_range", "to", "结束日期不能早于开始日期");
    if (!e && (s = req_query(r, "mode"))) {
        int m = vocab_parse(&trip_mode_vocab, s);
        if (m <= 0)
            e = err_set(E_INPUT, "invalid_parameter", "mode", "交通方式的取值不正确");
        else
            f->mode = (enum trip_mode)m;
    }
    if (!e && (s = req_query(r, "number")) && *s) {
        char *buf = arena_alloc(r->a, TRIP_NUMBER_OUT);
        /* a flight or a train number, whichever format it has */
        if (trip_number_normalise(TRIP_FLIGHT, s, "number", buf) &&
            trip_number_normalise(TRIP_TRAIN, s, "number", buf))
            e = err_set(E_INPUT, "invalid_number", "number", "航班号或车次格式不正确");
        else
            f->number = buf;
    }
    if (!e && (s = req_query(r, "id_number")) && *s) {
        /* an exact search singles a person out: it counts against the
         * caller's hourly limit as the person list's does (person.h) */
        if ((e = person_search_hit(r->db, r->who, NULL)))
            return audit_refusal(r->db, r->who, r->ip, "trace.trip.list", "trip", 0, e,
                                 "field=id_number");
        struct person p;
        err x = person_find_by_id_number(r->db, r->a, &r->who->scope, ID_RESIDENT, s, &p);
        if (x == E_NOT_FOUND)
            *found_r = false;
        else if (x)
            e = x;
        else if (f->person_id && f->person_id != p.id)
            *found_r = false;
        else
            f->person_id = p.id;
    }
    return e;
}

#define TRIP_SHEET "重点人员行程"

static const char *const trip_head[] = {
    "姓名",     "证件号码", "所属区划", "出行日期", "返回日期", "出发地", "目的地",
    "去程交通", "去程班次", "返程交通", "返程班次", "途径点数", "来源",   "备注",
};

/* One trip as a row of the export (the synchronous one and the job's). */
static void trip_row_out(struct export_out *x, arena *a, const struct trip *t, bool reveal)
{
    char d1[11], d2[11];
    field_date_format(t->departed_on, d1);
    field_date_format(t->returned_on, d2);
    const char *name = t->person_name ? t->person_name : "",
               *idno = t->id_number ? t->id_number : "";
    export_text(x, reveal ? name : mask_name(a, name));
    export_text(x, reveal ? idno : mask_id_number(a, idno));
    export_text(x, t->region_name);
    export_text(x, d1);
    export_text(x, d2);
    export_text(x, t->origin);
    export_text(x, t->destination);
    export_text(x, vocab_label(&trip_mode_vocab, t->out.mode));
    export_text(x, t->out.number);
    export_text(x, vocab_label(&trip_mode_vocab, t->back.mode));
    export_text(x, t->back.number);
    export_int(x, (int64_t)t->n_waypoints);
    export_text(x, vocab_label(&trip_source_vocab, t->source));
    export_text(x, t->note);
    export_row_end(x);
}

static err trips_export(struct req *r, enum export_format fmt, const struct trip *items, size_t n,
                        bool reveal)
{
    struct export_out x;
    err e = export_begin(r, &x, fmt, TRIP_SHEET, trip_head, sizeof trip_head / sizeof *trip_head);
    if (e)
        return e;
    for (size_t i = 0; i < n; i++)
        trip_row_out(&x, r->a, &items[i], reveal);
    return export_send(&x, E_OK, "trips");
}

/* ---- the export job's source (POST /api/v1/exports, list "trips") ---- */

struct source_filter {
    struct trip_filter f;
    struct scope sc;
    bool found; /* false: an id number of nobody in scope, an empty file */
};

static err source_parse(struct req *r, void **filter_r)
{
    struct source_filter *sf = arena_zalloc(r->a, sizeof *sf);
    *filter_r = sf;
    sf->sc = r->who->scope; /* narrowed by filters.within already */
    return filter_from(r, &sf->f, &sf->found);
}

#define SOURCE_PAGE 1000

/* trip_list's pages in its order (newest departure first) */
static err source_each(db *d, arena *a, const struct principal *who, const void *filter,
                       bool reveal, struct export_out *x)
{
    (void)who; /* the filter's scope is already the caller's, narrowed */
    const struct source_filter *sf = filter;
    struct trip_filter f = sf->f;
    f.page_size = SOURCE_PAGE;
    err e = E_OK;
    for (f.page = 1; sf->found && !e; f.page++) {
        struct trip *items;
        size_t n;
        arena_reset(a);
        if ((e = trip_list(d, a, &sf->sc, &f, &items, &n, &x->total)))
            break;
        for (size_t i = 0; i < n && !(e = export_room(x)); i++)
            trip_row_out(x, a, &items[i], reveal);
        if (n < SOURCE_PAGE)
            break;
    }
    return e;
}

const struct export_source trip_export = {
    .list = "trips",
    .kind = "export.trips",
    .audit = "trace.trip",
    .perm = PERM_TRACE_READ,
    .sheet = TRIP_SHEET,
    .head = trip_head,
    .ncols = sizeof trip_head / sizeof *trip_head,
    .parse = source_parse,
    .each = source_each,
};

static err list(struct req *r, const struct scope *sc, struct trip_filter *f, const char *action,
                int64_t object)
{
    enum export_format fmt = EXPORT_NONE;
    bool reveal = false, found;
    err e = req_export_format(r, &fmt);
    if (!e && (e = req_reveal(r, &reveal)) == E_FORBIDDEN)
        return audit_refusal(r->db, r->who, r->ip, action, object ? "person" : "trip", object, e,
                             "reveal");
    if (!e)
        e = filter_from(r, f, &found);
    if (e)
        return e;
    int64_t page_size = f->page_size;
    if (fmt)
        f->page_size = 0;
    struct trip *items = NULL;
    size_t n = 0;
    int64_t total = 0;
    if (found && (e = trip_list(r->db, r->a, sc, f, &items, &n, &total)))
        return e;
    /* one person's trips name the person as the object */
    req_audit(r, action, object ? "person" : "trip", object, "ok",
              arena_printf(r->a, "count=%zu total=%lld%s%s%s", n, (long long)total, fmt ? " " : "",
                           fmt ? export_format_name(fmt) : "", reveal ? " reveal" : ""));
    if (reveal)
        req_audit(r, "person.reveal", "person", object, "ok", "fields=trip");
    if (fmt)
        return trips_export(r, fmt, items, n, reveal);
    json_t *arr = json_array();
    for (size_t i = 0; i < n; i++)
        json_array_append_new(arr, trip_json(r->a, &items[i], reveal));
    return reply_page(r, arr, total, f->page, page_size);
}

static err get_trips(struct req *r)
{
    struct trip_filter f = {0};
    return list(r, &r->who->scope, &f, "trace.trip.list", 0);
}

static err get_person_trips(struct req *r)
{
    struct trip_filter f = {0};
    int64_t region;
    err e = req_param_id(r, 0, &f.person_id);
    if (!e)
        e = person_region(r->db, &r->who->scope, f.person_id, &region);
    return e ? e : list(r, &r->who->scope, &f, "trace.trip.list", f.person_id);
}

/* ---- the resident's own ------------------------------------------------------------- */

static err own_person(struct req *r)
{
    if (!r->who->person_id)
        return err_set(E_INPUT, "not_bound", NULL, "请先完成实名登记，再填报本人行程");
    return E_OK;
}

static err get_my_trips(struct req *r)
{
    struct trip_filter f = {.person_id = r->who->person_id};
    struct scope all = scope_all(); /* one's own trips, wherever one lives */
    if (!r->who->person_id)         /* nothing recorded yet: no person, no trips */
        return reply_page(r, json_array(), 0, 1, 20);
    return list(r, &all, &f, "trace.trip.list", r->who->person_id);
}

static err post_my_trip(struct req *r)
{
    struct scope all = scope_all();
    err e = own_person(r);
    return e ? e : create(r, &all, r->who->person_id, TRIP_SELF);
}

/* ---- import ------------------------------------------------------------------------------ */

#define UPLOAD_MAX (20u * 1024 * 1024)

static err get_template(struct req *r)
{
    int fd;
    int64_t size;
    err e = trip_import_template(&fd, &size);
    if (e)
        return e;
    r->disposition = "attachment; filename=\"trips-template.xlsx\"";
    return reply_file(r, 200, XLSX_CONTENT_TYPE, fd, size);
}

static err post_import(struct req *r)
{
    static const struct import_accept acc = {"trace.trip.import", "trace.trip.import_upload",
                                             "trace.trip_import", NULL, 0};
    bool csv = false;
    size_t n;
    const char *body = req_raw_body(r, &n);
    long rows = 0;
    int64_t job;
    err e = import_format(r, false, &csv);
    if (!e && !n)
        e = err_set(E_INPUT, "empty", NULL, "文件为空：请上传按模板填写的 Excel 或 CSV 文件");
    if (!e)
        e = trip_import_check(body, n, csv, &rows);
    if ((e = import_accept(r, e, &acc, n, rows, csv ? " csv" : "", &job)) ||
        (e = trip_import_submit(r->db, job, r->who, body, n, csv, rows)))
        return e;
    return import_accepted(r, job, rows, NULL);
}

/* ---- routes ------------------------------------------------------------------------------ */

const struct route trace_routes[] = {
    /* before /trips/{id}, which would take them */
    {M_GET, "/api/v1/trips/template.xlsx", get_template, PERM_TRACE_WRITE, 0, NULL,
     "出行记录导入模板（Excel）", "trace", 0},
    {M_POST, "/api/v1/trips/import", post_import, PERM_TRACE_WRITE, ROUTE_RAW_BODY, NULL,
     "导入出行记录（Excel，format=csv 为 CSV；错误行见任务的错误报告）", "trace", UPLOAD_MAX},
    {M_POST, "/api/v1/trips", post_trip, PERM_TRACE_WRITE, 0, trip_body, "登记重点人员出行记录",
     "trace", 0},
    {M_GET, "/api/v1/trips", get_trips, PERM_TRACE_READ, 0, NULL,
     "重点人员出行记录（person_id、id_number、region_code、from、to、mode、number 筛选，"
     "format=csv/xlsx 导出，reveal=1 查看完整信息）",
     "trace", 0},
    {M_GET, "/api/v1/trips/{id}", get_trip, PERM_TRACE_READ, 0, NULL,
     "出行记录详情（含途径点；reveal=1 查看完整信息）", "trace", 0},
    {M_PATCH, "/api/v1/trips/{id}", patch_trip, PERM_TRACE_WRITE, 0, trip_patch_body,
     "修改出行记录（给出 waypoints 时整体替换）", "trace", 0},
    {M_DELETE, "/api/v1/trips/{id}", delete_trip, PERM_TRACE_WRITE, 0, NULL, "删除出行记录",
     "trace", 0},
    {M_GET, "/api/v1/persons/{id}/trips", get_person_trips, PERM_TRACE_READ, 0, NULL,
     "某人的出行记录", "trace", 0},
    {M_GET, "/api/v1/me/trips", get_my_trips, PERM_SELF, 0, NULL, "我的行程（居民）", "self", 0},
    {M_POST, "/api/v1/me/trips", post_my_trip, PERM_SELF, 0, self_trip_body,
     "填报本人出行记录（居民）", "self", 0},
};
const size_t trace_routes_n = sizeof trace_routes / sizeof trace_routes[0];
