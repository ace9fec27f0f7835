/*
 * HTTP handlers of the camera ledger: /api/v1/cameras (CRUD, list with
 * search, CSV export, watched objects), /api/v1/cameras/near (the map's
 * look-up around a point, nearest first), public toilets and their cameras,
 * playback, and the home isolation checks on public video
 * (/api/v1/observations/{id}/cameras…).
 *
 * Cameras hold no personal data, so reads of the ledger are not audited;
 * every write is (field names only in the detail), refusals included
 * (req_write_done). A stream address reaches only those who keep the
 * ledger (camera.write) in replies; everyone else receives it from a play
 * call, each one audited with its purpose, refusals included. The
 * isolation look-up and its playback read where an isolated person lives:
 * audited with the person's id.
 */
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "app.h"
#include "base/csv.h"
#include "base/xlsx.h"
#include "base/regcode.h"
#include "base/time.h"
#include "http/write.h"
#include "job/import.h"
#include "job/job.h"
#include "security/audit.h"
#include "video/internal.h"
#include "video/video.h"

/* ---- input ---------------------------------------------------------------------------- */

/* A create may name a first watched object; an update changes columns. */
static const struct jfield camera_fields[] = {
    CAMERA_FIELDS(FIELD_JFIELD) CAMERA_BINDING_FIELDS(FIELD_JFIELD){NULL, 0, 0, 0, 0, NULL, NULL},
};
static const struct jfield camera_patch_fields[] = {
    CAMERA_FIELDS(FIELD_JFIELD){NULL, 0, 0, 0, 0, NULL, NULL},
};
static const struct jfield binding_fields[] = {
    CAMERA_BINDING_FIELDS(FIELD_JFIELD){NULL, 0, 0, 0, 0, NULL, NULL},
};

static err input_from(struct req *r, struct camera_input *in)
{
    memset(in, 0, sizeof *in);
    return fields_from_json(camera_input_rows, CAMERA_INPUT_COUNT, r->body, r->a, in, &in->set);
}

/* A query parameter that is a finite decimal number; E_INPUT naming it. */
static err query_number(struct req *r, const char *name, const char *label, double *v_r)
{
    const char *s = req_query(r, name);
    char *end = NULL;
    double v = s && *s ? strtod(s, &end) : NAN;
    if (!end || *end || !isfinite(v))
        return err_set(E_INPUT, "invalid_parameter", name, "请填写正确的%s", label);
    *v_r = v;
    return E_OK;
}

/* ---- output --------------------------------------------------------------------------- */

static json_t *binding_json(const struct camera_binding *b)
{
    json_t *o = json_object();
    json_set_id(o, "id", b->id);
    json_object_set_new(o, "kind", json_string(vocab_name(&camera_object_vocab, (size_t)b->kind)));
    json_object_set_new(o, "kind_label",
                        json_string(vocab_label(&camera_object_vocab, (size_t)b->kind)));
    json_set_id_or_null(o, "object_id", b->object_id);
    json_object_set_new(o, "name", json_string(b->name));
    return o;
}

/* Whether r's caller sees stream addresses in replies: those who keep the
 * ledger; every other caller plays a stream through an audited play call. */
static bool shows_url(const struct req *r)
{
    return principal_can(r->who, PERM_CAMERA_WRITE);
}

static json_t *camera_json(const struct camera *c, bool url)
{
    json_t *o = json_object();
    json_set_id(o, "id", c->id);
    fields_json(camera_rows, CAMERA_FIELD_COUNT, c, o);
    if (!url)
        json_object_del(o, "stream_url");
    json_object_set_new(o, "kind_label",
                        json_string(vocab_label(&camera_kind_vocab, (size_t)c->kind)));
    json_t *objs = json_array();
    for (size_t i = 0; i < c->n_objects; i++)
        json_array_append_new(objs, binding_json(&c->objects[i]));
    json_object_set_new(o, "objects", objs);
    json_set_region(o, c->region_code, c->region_name);
    json_object_set_new(o, "state", json_string(vocab_name(&camera_state_vocab, (size_t)c->state)));
    json_object_set_new(o, "state_label",
                        json_string(vocab_label(&camera_state_vocab, (size_t)c->state)));
    json_object_set_new(o, "checked_at", c->checked_at ? json_integer(c->checked_at) : json_null());
    json_object_set_new(o, "version", json_integer(c->version));
    json_object_set_new(o, "created_at", json_integer(c->created_at));
    json_object_set_new(o, "updated_at", json_integer(c->updated_at));
    return o;
}

static const char *const csv_cols[] = {
    "编号",       "摄像头名称", "视频网编号", "摄像头类型", "区划代码", "所属区划", "经度", "纬度",
    "视频流地址", "监控对象",   "视频流状态", "检测时间",   "创建时间", "更新时间", NULL,
};
enum { CSV_URL_COL = 8 };

/* A camera's objects in one cell: "核酸采样点：东华门核酸点；公共厕所：…". */
static const char *objects_text(arena *a, const struct camera *v)
{
    const char *s = "";
    for (size_t i = 0; i < v->n_objects; i++)
        s = arena_printf(a, "%s%s%s：%s", s, i ? "；" : "",
                         vocab_label(&camera_object_vocab, (size_t)v->objects[i].kind),
                         v->objects[i].name);
    return s;
}

static err cameras_csv(struct req *r, const struct camera *items, size_t n)
{
    struct csv_out c;
    bool url = shows_url(r);
    reply_csv_begin(r, &c);
    for (size_t i = 0; csv_cols[i]; i++)
        if (url || i != CSV_URL_COL)
            csv_text(&c, csv_cols[i]);
    csv_row_end(&c);
    for (size_t i = 0; i < n; i++) {
        const struct camera *v = &items[i];
        char code[19], t[32], num[32];
        regcode_format(v->region_code, code);
        csv_int(&c, v->id);
        csv_text(&c, v->name);
        csv_text(&c, v->code);
        csv_text(&c, vocab_label(&camera_kind_vocab, (size_t)v->kind));
        csv_text(&c, code);
        csv_text(&c, v->region_name);
        snprintf(num, sizeof num, "%.6f", v->lng);
        csv_num(&c, num);
        snprintf(num, sizeof num, "%.6f", v->lat);
        csv_num(&c, num);
        if (url)
            csv_text(&c, v->stream_url);
        csv_text(&c, objects_text(r->a, v));
        csv_text(&c, vocab_label(&camera_state_vocab, (size_t)v->state));
        if (v->checked_at) {
            china_time(v->checked_at, t);
            csv_text(&c, t);
        } else {
            csv_text(&c, "");
        }
        china_time(v->created_at, t);
        csv_text(&c, t);
        china_time(v->updated_at, t);
        csv_text(&c, t);
        csv_row_end(&c);
    }
    return reply_csv(r, &c, "cameras.csv");
}

/* ---- CRUD ------------------------------------------------------------------------------ */

static err reply_camera(struct req *r, int status, int64_t id)
{
    struct camera c;
    err e = camera_find(r->db, r->a, &r->who->scope, id, &c);
    return e ? e : reply_json(r, status, camera_json(&c, shows_url(r)));
}

static err post_camera(struct req *r)
{
    struct camera_input in;
    int64_t id = 0;
    err e = input_from(r, &in);
    db_hold(r->db); /* the entry commits with the write (security/audit.h) */
    if (!e)
        e = camera_create(r->db, r->a, &r->who->scope, &in, &id);
    if ((e = req_write_done(r, e, "camera.create", "camera", id, req_body_fields(r))))
        return e;
    return reply_camera(r, 201, id);
}

static err get_camera(struct req *r)
{
    int64_t id;
    err e = req_param_id(r, 0, &id);
    return e ? e : reply_camera(r, 200, id);
}

static err patch_camera(struct req *r)
{
    int64_t id;
    struct camera_input in;
    err e = req_param_id(r, 0, &id);
    if (!e)
        e = input_from(r, &in);
    db_hold(r->db); /* the entry commits with the write (security/audit.h) */
    if (!e)
        e = camera_update(r->db, r->a, &r->who->scope, id, &in);
    if ((e = req_write_done(r, e, "camera.update", "camera", id, req_body_fields(r))))
        return e;
    return reply_camera(r, 200, id);
}

static err delete_camera(struct req *r)
{
    int64_t id;
    err e = req_param_id(r, 0, &id);
    db_hold(r->db); /* the entry commits with the write (security/audit.h) */
    if (!e)
        e = camera_delete(r->db, &r->who->scope, id);
    if ((e = req_write_done(r, e, "camera.delete", "camera", id, "")))
        return e;
    return reply_empty(r);
}

/* A vocabulary word of query parameter `name` into *v_r (0 when absent). */
static err query_word(struct req *r, const char *name, const struct vocab *v, int *v_r)
{
    const char *s = req_query(r, name);
    *v_r = 0;
    if (!s)
        return E_OK;
    int k = vocab_parse(v, s);
    if (k < 0 || !vocab_name(v, (size_t)k)[0])
        return err_set(E_INPUT, "invalid_parameter", name, "参数 %s 的取值不正确", name);
    *v_r = k;
    return E_OK;
}

static err get_cameras(struct req *r)
{
    struct camera_filter f = {.any_state = true};
    err e = req_paging(r, &f.page, &f.page_size);
    if (e)
        return e;
    const char *s;
    if ((s = req_query(r, "region_code"))) {
        enum region_level lv;
        if ((f.region_code = regcode_parse(s, &lv)) <= 0)
            return err_set(E_INPUT, "invalid_region", "region_code",
                           "所属区划不存在或不在您的管辖范围内");
    }
    int k;
    if ((e = query_word(r, "kind", &camera_kind_vocab, &k)))
        return e;
    f.kind = (enum camera_kind)k;
    if ((e = query_word(r, "object_kind", &camera_object_vocab, &k)))
        return e;
    f.object_kind = (enum camera_object)k;
    if ((s = req_query(r, "state"))) {
        if ((k = vocab_parse(&camera_state_vocab, s)) < 0)
            return err_set(E_INPUT, "invalid_parameter", "state", "参数 state 的取值不正确");
        f.state = (enum camera_state)k;
        f.any_state = false;
    }
    if ((s = req_query(r, "object_id")) && (f.object_id = id_parse(s)) <= 0)
        return err_set(E_INPUT, "invalid_parameter", "object_id", "参数 object_id 不正确");
    f.q = req_query(r, "q");
    if (f.q && (!utf8_valid_text(f.q) || utf8_len(f.q) > 50))
        return err_set(E_INPUT, "invalid_parameter", "q", "搜索关键词不能超过50个字符");
    f.sort = req_query(r, "sort");
    const char *fmt = req_query(r, "format");
    if (fmt && strcmp(fmt, "json") && strcmp(fmt, "csv"))
        return err_set(E_INPUT, "invalid_parameter", "format", "参数 format 应为 json 或 csv");
    bool csv = fmt && !strcmp(fmt, "csv");
    int64_t page_size = f.page_size;
    if (csv)
        f.page_size = 0;
    struct camera *items;
    size_t n;
    int64_t total;
    if ((e = camera_list(r->db, r->a, &r->who->scope, &f, &items, &n, &total)))
        return e;
    if (csv)
        return cameras_csv(r, items, n);
    json_t *arr = json_array();
    for (size_t i = 0; i < n; i++)
        json_array_append_new(arr, camera_json(&items[i], shows_url(r)));
    return reply_page(r, arr, total, f.page, page_size);
}

/* Cameras of a look-up around a point, each with its distance; their
 * stream addresses when `url`. */
static json_t *near_json(const struct camera *items, size_t n, bool url)
{
    json_t *arr = json_array();
    for (size_t i = 0; i < n; i++) {
        json_t *o = camera_json(&items[i], url);
        json_object_set_new(o, "distance_m", json_real(round(items[i].distance_m * 10) / 10));
        json_array_append_new(arr, o);
    }
    return arr;
}

/* Whether camera c watches record `id` (under any kind: a toilet may be
 * bound as a place; ids are unique across tables). */
static bool watches(const struct camera *c, int64_t id)
{
    for (size_t i = 0; i < c->n_objects; i++)
        if (c->objects[i].object_id == id)
            return true;
    return false;
}

static err get_near(struct req *r)
{
    double lng = 0, lat = 0, radius = 0;
    err e = query_number(r, "lng", "经度", &lng);
    if (!e)
        e = query_number(r, "lat", "纬度", &lat);
    if (!e)
        e = query_number(r, "radius_m", "查询半径", &radius);
    struct camera *items;
    size_t n;
    if (!e)
        e = camera_near(r->db, r->a, &r->who->scope, lng, lat, radius, &items, &n);
    if (e)
        return e;
    return reply_json(r, 200, json_pack("{s:o}", "items", near_json(items, n, shows_url(r))));
}

static err get_proposals(struct req *r)
{
    int k;
    int64_t id = 0, radius = 300;
    err e = query_word(r, "object_kind", &camera_object_vocab, &k);
    const char *s = req_query(r, "object_id");
    if (!e && (!s || (id = id_parse(s)) <= 0))
        e = err_set(E_INPUT, "invalid_parameter", "object_id", "参数 object_id 不正确");
    if (!e)
        e = req_query_int64(r, "radius_m", 1, CAMERA_RADIUS_MAX, &radius);
    struct camera_target t;
    struct camera *items;
    size_t n;
    if (!e)
        e = camera_proposals(r->db, r->a, &r->who->scope, (enum camera_object)k, id, (double)radius,
                             &t, &items, &n);
    if (e)
        return e;
    json_t *arr = json_array();
    for (size_t i = 0; i < n; i++) {
        json_t *o = camera_json(&items[i], shows_url(r));
        json_object_set_new(o, "distance_m", json_real(round(items[i].distance_m * 10) / 10));
        json_object_set_new(o, "bound", json_boolean(watches(&items[i], id)));
        json_array_append_new(arr, o);
    }
    json_t *obj = json_object();
    json_object_set_new(obj, "kind", json_string(vocab_name(&camera_object_vocab, (size_t)t.kind)));
    json_set_id(obj, "id", t.id);
    json_object_set_new(obj, "name", json_string(t.name));
    json_object_set_new(obj, "lng", json_real(t.lng));
    json_object_set_new(obj, "lat", json_real(t.lat));
    json_t *o = json_object();
    json_object_set_new(o, "object", obj);
    json_object_set_new(o, "items", arr);
    return reply_json(r, 200, o);
}

/* ---- watched objects ---------------------------------------------------------------------- */

static err post_object(struct req *r)
{
    int64_t id = 0, binding = 0;
    struct camera_input in = {0};
    err e = req_param_id(r, 0, &id);
    if (!e)
        e = input_from(r, &in);
    db_hold(r->db); /* the entry commits with the write (security/audit.h) */
    if (!e)
        e = camera_bind(r->db, r->a, &r->who->scope, id,
                        in.set & CF_OBJECT_KIND ? in.object_kind : 0,
                        in.set & CF_OBJECT_ID ? in.object_id : 0,
                        in.set & CF_OBJECT_NAME ? in.object_name : NULL, &binding);
    if ((e = req_write_done(
             r, e, "camera.bind", "camera", id,
             arena_printf(r->a, "binding=%lld kind=%s object_id=%lld", (long long)binding,
                          in.set & CF_OBJECT_KIND
                              ? vocab_name(&camera_object_vocab, (size_t)in.object_kind)
                              : "",
                          in.set & CF_OBJECT_ID ? (long long)in.object_id : 0LL))))
        return e;
    return reply_camera(r, 201, id);
}

static err delete_object(struct req *r)
{
    int64_t id = 0, binding = 0;
    err e = req_param_id(r, 0, &id);
    if (!e)
        e = req_param_id(r, 1, &binding);
    db_hold(r->db); /* the entry commits with the write (security/audit.h) */
    if (!e)
        e = camera_unbind(r->db, &r->who->scope, id, binding);
    if ((e = req_write_done(r, e, "camera.unbind", "camera", id,
                            arena_printf(r->a, "binding=%lld", (long long)binding))))
        return e;
    return reply_camera(r, 200, id);
}

static err get_toilets(struct req *r)
{
    int64_t page, page_size, total;
    struct camera_toilet *items;
    size_t n;
    err e = req_paging(r, &page, &page_size);
    if (!e)
        e = camera_toilets(r->db, r->a, &r->who->scope, page, page_size, &items, &n, &total);
    if (e)
        return e;
    json_t *arr = json_array();
    for (size_t i = 0; i < n; i++) {
        const struct camera_toilet *t = &items[i];
        json_t *o = json_object();
        json_set_id(o, "id", t->id);
        json_object_set_new(o, "name", json_string(t->name));
        json_object_set_new(o, "address", json_string(t->address));
        json_set_region(o, t->region_code, t->region_name);
        json_object_set_new(o, "lng", t->has_position ? json_real(t->lng) : json_null());
        json_object_set_new(o, "lat", t->has_position ? json_real(t->lat) : json_null());
        json_t *cams = json_array();
        for (size_t k = 0; k < t->n_cameras; k++)
            json_array_append_new(cams, camera_json(&t->cameras[k], shows_url(r)));
        json_object_set_new(o, "cameras", cams);
        json_array_append_new(arr, o);
    }
    return reply_page(r, arr, total, page, page_size);
}

/* ---- playback ------------------------------------------------------------------------------ */

/* The stream of camera c for this view: its address, and whether a
 * browser plays it (HLS over http(s); rtsp needs the video network's own
 * client). */
static json_t *play_json(const struct camera *c)
{
    bool hls = strncasecmp(c->stream_url, "rtsp://", 7) != 0;
    json_t *o = json_object();
    json_set_id(o, "camera_id", c->id);
    json_object_set_new(o, "name", json_string(c->name));
    json_object_set_new(o, "url", json_string(c->stream_url));
    json_object_set_new(o, "hls", json_boolean(hls));
    json_object_set_new(o, "state", json_string(vocab_name(&camera_state_vocab, (size_t)c->state)));
    json_object_set_new(o, "state_label",
                        json_string(vocab_label(&camera_state_vocab, (size_t)c->state)));
    json_object_set_new(o, "checked_at", c->checked_at ? json_integer(c->checked_at) : json_null());
    return o;
}

static err post_play(struct req *r)
{
    int64_t id = 0;
    struct camera c;
    err e = req_param_id(r, 0, &id);
    if (!e)
        e = camera_find(r->db, r->a, &r->who->scope, id, &c);
    if (e)
        return audit_refusal(r->db, r->who, r->ip, "camera.play", "camera", id, e,
                             "purpose=ledger");
    req_audit(r, "camera.play", "camera", id, "ok", "purpose=ledger");
    return reply_json(r, 200, play_json(&c));
}

/* ---- home isolation checks on public video (居家隔离视频核查) ------------------------------- */

#define ISOLATION_PURPOSE "purpose=home_isolation_check"

static json_t *isolation_json(const struct camera_isolation *iso)
{
    json_t *o = json_object();
    json_set_id(o, "observation_id", iso->observation_id);
    json_set_region(o, iso->region_code, iso->region_name);
    json_object_set_new(o, "region_level",
                        json_string(region_level_name((enum region_level)iso->region_level)));
    json_object_set_new(o, "lng", json_real(iso->lng));
    json_object_set_new(o, "lat", json_real(iso->lat));
    return o;
}

static err get_isolation_cameras(struct req *r)
{
    int64_t id = 0, radius = 300;
    struct camera_isolation iso;
    struct camera *items;
    size_t n;
    err e = req_param_id(r, 0, &id);
    if (!e)
        e = req_query_int64(r, "radius_m", 1, CAMERA_ISOLATION_RADIUS_MAX, &radius);
    if (!e)
        e = camera_isolation_near(r->db, r->a, &r->who->scope, id, (double)radius, &iso, &items,
                                  &n);
    if (e)
        return audit_refusal(r->db, r->who, r->ip, "camera.isolation_lookup", "observation", id, e,
                             ISOLATION_PURPOSE);
    req_audit(r, "camera.isolation_lookup", "person", iso.person_id, "ok",
              arena_printf(r->a, "observation=%lld radius_m=%lld cameras=%zu " ISOLATION_PURPOSE,
                           (long long)id, (long long)radius, n));
    json_t *o = json_object();
    json_object_set_new(o, "home", isolation_json(&iso));
    /* the check plays through its own audited call, whoever looks */
    json_object_set_new(o, "items", near_json(items, n, false));
    return reply_json(r, 200, o);
}

static err post_isolation_play(struct req *r)
{
    int64_t id = 0, camera = 0;
    struct camera_isolation iso;
    struct camera c;
    err e = req_param_id(r, 0, &id);
    if (!e)
        e = req_param_id(r, 1, &camera);
    if (!e)
        e = camera_isolation_camera(r->db, r->a, &r->who->scope, id, camera, &iso, &c);
    if (e)
        return audit_refusal(
            r->db, r->who, r->ip, "camera.play_isolation", "observation", id, e,
            arena_printf(r->a, "camera=%lld " ISOLATION_PURPOSE, (long long)camera));
    req_audit(r, "camera.play_isolation", "person", iso.person_id, "ok",
              arena_printf(r->a, "camera=%lld observation=%lld distance_m=%.0f " ISOLATION_PURPOSE,
                           (long long)camera, (long long)id, c.distance_m));
    json_t *o = play_json(&c);
    json_object_set_new(o, "distance_m", json_real(round(c.distance_m * 10) / 10));
    return reply_json(r, 200, o);
}

/* ---- stream check ------------------------------------------------------------------------ */

static const struct jfield check_fields[] = {
    {"camera_id", J_STRING, JF_NULLABLE, 0, 20, "摄像头", NULL, NULL},
    {NULL, 0, 0, 0, 0, NULL, NULL, NULL},
};

static err post_check(struct req *r)
{
    int64_t id = 0;
    err e = E_OK;
    const char *s = r->body ? json_str(r->body, "camera_id") : NULL;
    struct camera c;
    if (s && (id = id_parse(s)) <= 0)
        e = err_set(E_INPUT, "invalid_value", "camera_id", "摄像头编号不正确");
    else if (s && (e = camera_find(r->db, r->a, &r->who->scope, id, &c)) == E_NOT_FOUND)
        e = err_set(E_INPUT, "invalid_value", "camera_id", "摄像头不存在或不在您的管辖范围内");
    int64_t job = 0;
    db_hold(r->db); /* the job and its entry commit together */
    if (!e)
        e = job_create(r->db, r->who, "video.camera_check", &job);
    if ((e = req_write_done(r, e, "camera.check_start", "job", job,
                            id ? arena_printf(r->a, "camera_id=%lld", (long long)id) : "")))
        return e;
    if ((e = camera_check_submit(r->db, job, r->who, id)))
        return e;
    json_t *o = json_object();
    json_set_id(o, "job_id", job);
    return reply_json(r, 202, o);
}

/* ---- import ------------------------------------------------------------------------------ */

#define UPLOAD_MAX (20u * 1024 * 1024)

static err get_template(struct req *r)
{
    int fd;
    int64_t size;
    err e = camera_import_template(&fd, &size);
    if (e)
        return e;
    r->disposition = "attachment; filename=\"cameras-template.xlsx\"";
    return reply_file(r, 200, XLSX_CONTENT_TYPE, fd, size);
}

static err post_import(struct req *r)
{
    static const struct import_accept acc = {"camera.import", "camera.import_upload",
                                             "video.camera_import", NULL, 0};
    bool csv = false;
    size_t n;
    const char *body = req_raw_body(r, &n);
    long rows = 0;
    int64_t job;
    err e = import_format(r, false, &csv);
    if (!e && !n)
        e = err_set(E_INPUT, "empty", NULL, "文件为空：请上传按模板填写的 Excel 或 CSV 文件");
    if (!e)
        e = camera_import_check(body, n, csv, &rows);
    if ((e = import_accept(r, e, &acc, n, rows, csv ? " csv" : "", &job)) ||
        (e = camera_import_submit(r->db, job, r->who, body, n, csv, rows)))
        return e;
    return import_accepted(r, job, rows, NULL);
}

/* ---- routes ------------------------------------------------------------------------------ */

const struct route video_routes[] = {
    {M_POST, "/api/v1/cameras", post_camera, PERM_CAMERA_WRITE, 0, camera_fields, "登记摄像头",
     "camera", 0},
    {M_GET, "/api/v1/cameras", get_cameras, PERM_CAMERA_READ, 0, NULL,
     "摄像头台账（region_code、kind、state、object_kind、object_id、q 筛选，format=csv 导出）",
     "camera", 0},
    /* before /cameras/{id}, which would take them */
    {M_GET, "/api/v1/cameras/template.xlsx", get_template, PERM_CAMERA_WRITE, 0, NULL,
     "摄像头台账导入模板（Excel）", "camera", 0},
    {M_POST, "/api/v1/cameras/import", post_import, PERM_CAMERA_WRITE, ROUTE_RAW_BODY, NULL,
     "导入线下摸排的摄像头台账（Excel，format=csv 为 CSV；错误行见任务的错误报告）", "camera",
     UPLOAD_MAX},
    {M_GET, "/api/v1/cameras/proposals", get_proposals, PERM_CAMERA_READ, 0, NULL,
     "按距离推荐监控对象的摄像头（object_kind、object_id、radius_m，默认300米）", "camera", 0},
    {M_POST, "/api/v1/cameras/check", post_check, PERM_CAMERA_WRITE, 0, check_fields,
     "检测视频流在线情况（线上线下一致性；camera_id 为空时检测管辖范围内全部摄像头）", "camera", 0},
    {M_GET, "/api/v1/cameras/toilets", get_toilets, PERM_CAMERA_READ, 0, NULL,
     "公共厕所及其摄像头（分页）", "camera", 0},
    {M_GET, "/api/v1/cameras/near", get_near, PERM_CAMERA_READ, 0, NULL,
     "附近的摄像头（lng、lat、radius_m ≤ 5000 米，由近及远）", "camera", 0},
    {M_GET, "/api/v1/cameras/{id}", get_camera, PERM_CAMERA_READ, 0, NULL, "摄像头详情", "camera",
     0},
    {M_PATCH, "/api/v1/cameras/{id}", patch_camera, PERM_CAMERA_WRITE, 0, camera_patch_fields,
     "修改摄像头", "camera", 0},
    {M_DELETE, "/api/v1/cameras/{id}", delete_camera, PERM_CAMERA_WRITE, 0, NULL, "删除摄像头",
     "camera", 0},
    {M_POST, "/api/v1/cameras/{id}/objects", post_object, PERM_CAMERA_WRITE, 0, binding_fields,
     "为摄像头添加监控对象（按编号或名称；可采纳按距离推荐的结果）", "camera", 0},
    {M_DELETE, "/api/v1/cameras/{id}/objects/{binding}", delete_object, PERM_CAMERA_WRITE, 0, NULL,
     "移除摄像头的一个监控对象", "camera", 0},
    {M_POST, "/api/v1/cameras/{id}/play", post_play, PERM_CAMERA_PLAY, 0, NULL,
     "播放摄像头视频流（返回本次播放的地址，每次播放均记入审计）", "camera", 0},
    {M_GET, "/api/v1/observations/{id}/cameras", get_isolation_cameras, PERM_CAMERA_PLAY_ISOLATION,
     0, NULL,
     "居家隔离视频核查：隔离人员住址附近的摄像头（radius_m ≤ 1000 米，默认300米；记入审计）",
     "camera", 0},
    {M_POST, "/api/v1/observations/{id}/cameras/{camera}/play", post_isolation_play,
     PERM_CAMERA_PLAY_ISOLATION, 0, NULL,
     "居家隔离视频核查：播放住址附近摄像头的视频流（每次播放均记入审计，注明人员和用途）", "camera",
     0},
};
const size_t video_routes_n = sizeof video_routes / sizeof video_routes[0];
