/*
 * HTTP handlers of the camera ledger: /api/v1/cameras (CRUD, list with
 * search, CSV export) and /api/v1/cameras/near (the map's look-up around a
 * point, nearest first).
 *
 * Cameras hold no personal data, so reads are not audited; every write is
 * (field names only in the detail), refusals included (req_write_done).
 */
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "app.h"
#include "base/csv.h"
#include "base/xlsx.h"
#include "base/regcode.h"
#include "base/time.h"
#include "http/write.h"
#include "job/job.h"
#include "security/audit.h"
#include "video/internal.h"
#include "video/video.h"

/* ---- input ---------------------------------------------------------------------------- */

static const struct jfield camera_fields[] = {
    CAMERA_FIELDS(FIELD_JFIELD){NULL, 0, 0, 0, 0, NULL, NULL},
};

static err input_from(struct req *r, struct camera_input *in)
{
    memset(in, 0, sizeof *in);
    return fields_from_json(camera_input_rows, CAMERA_FIELD_COUNT, r->body, r->a, in, &in->set);
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

static json_t *camera_json(const struct camera *c)
{
    json_t *o = json_object();
    json_set_id(o, "id", c->id);
    fields_json(camera_rows, CAMERA_FIELD_COUNT, c, o);
    json_object_set_new(o, "kind_label",
                        json_string(vocab_label(&camera_kind_vocab, (size_t)c->kind)));
    json_object_set_new(o, "object_label",
                        c->object_kind
                            ? json_string(vocab_label(&camera_object_vocab, (size_t)c->object_kind))
                            : json_null());
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
    "编号",     "摄像头名称", "视频网编号", "摄像头类型",   "区划代码",     "所属区划",
    "经度",     "纬度",       "视频流地址", "监控对象类型", "监控对象名称", "视频流状态",
    "检测时间", "创建时间",   "更新时间",   NULL,
};

static err cameras_csv(struct req *r, const struct camera *items, size_t n)
{
    struct csv_out c;
    reply_csv_begin(r, &c);
    for (size_t i = 0; csv_cols[i]; i++)
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
        csv_text(&c, v->stream_url);
        csv_text(&c,
                 v->object_kind ? vocab_label(&camera_object_vocab, (size_t)v->object_kind) : "");
        csv_text(&c, v->object_name);
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
    return e ? e : reply_json(r, status, camera_json(&c));
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
        json_array_append_new(arr, camera_json(&items[i]));
    return reply_page(r, arr, total, f.page, page_size);
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
    json_t *arr = json_array();
    for (size_t i = 0; i < n; i++) {
        json_t *o = camera_json(&items[i]);
        json_object_set_new(o, "distance_m", json_real(round(items[i].distance_m * 10) / 10));
        json_array_append_new(arr, o);
    }
    json_t *o = json_object();
    json_object_set_new(o, "items", arr);
    return reply_json(r, 200, o);
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
        json_t *o = camera_json(&items[i]);
        json_object_set_new(o, "distance_m", json_real(round(items[i].distance_m * 10) / 10));
        json_object_set_new(
            o, "bound", json_boolean(items[i].object_kind == t.kind && items[i].object_id == id));
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
    const char *fmt = req_query(r, "format");
    err e = E_OK;
    if (fmt && strcmp(fmt, "csv") && strcmp(fmt, "xlsx"))
        e = err_set(E_INPUT, "invalid_parameter", "format", "参数 format 应为 xlsx 或 csv");
    bool csv = fmt && !strcmp(fmt, "csv");
    size_t n;
    const char *body = req_raw_body(r, &n);
    long rows = 0;
    if (!e && !n)
        e = err_set(E_INPUT, "empty", NULL, "文件为空：请上传按模板填写的 Excel 或 CSV 文件");
    if (!e)
        e = camera_import_check(body, n, csv, &rows);
    if (e)
        return audit_refusal(r->db, r->who, r->ip, "camera.import", "job", 0, e,
                             arena_printf(r->a, "bytes=%zu", n));
    int64_t job;
    db_hold(r->db); /* the job and its entry commit together */
    if ((e = job_create(r->db, r->who, "video.camera_import", &job))) {
        err_ignore(db_release(r->db, false));
        return e;
    }
    req_audit(r, "camera.import_upload", "job", job, "ok",
              arena_printf(r->a, "bytes=%zu rows=%ld%s", n, rows, csv ? " csv" : ""));
    if ((e = db_release(r->db, true)))
        return e;
    if ((e = camera_import_submit(r->db, job, r->who, body, n, csv, rows)))
        return e;
    json_t *o = json_pack("{s:I}", "rows", (json_int_t)rows);
    json_set_id(o, "job_id", job);
    return reply_json(r, 202, o);
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
    {M_GET, "/api/v1/cameras/near", get_near, PERM_CAMERA_READ, 0, NULL,
     "附近的摄像头（lng、lat、radius_m ≤ 5000 米，由近及远）", "camera", 0},
    {M_GET, "/api/v1/cameras/{id}", get_camera, PERM_CAMERA_READ, 0, NULL, "摄像头详情", "camera",
     0},
    {M_PATCH, "/api/v1/cameras/{id}", patch_camera, PERM_CAMERA_WRITE, 0, camera_fields,
     "修改摄像头", "camera", 0},
    {M_DELETE, "/api/v1/cameras/{id}", delete_camera, PERM_CAMERA_WRITE, 0, NULL, "删除摄像头",
     "camera", 0},
};
const size_t video_routes_n = sizeof video_routes / sizeof video_routes[0];
