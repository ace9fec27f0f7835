/*
 * HTTP handlers of custom reports (report.h, docs/reports.md):
 *
 *   GET    /api/v1/custom-reports/datasets     the datasets and their whitelists (for the editor)
 *   POST   /api/v1/custom-reports              define a report (201)
 *   GET    /api/v1/custom-reports              the defined reports
 *   GET    /api/v1/custom-reports/{id}         one definition
 *   PATCH  /api/v1/custom-reports/{id}         change it (the whole checked again)
 *   DELETE /api/v1/custom-reports/{id}         delete it
 *   POST   /api/v1/custom-reports/{id}/copy    a copy named "<name> 副本" (201)
 *   GET    /api/v1/custom-reports/{id}/run     its rows in the caller's scope, paged
 *   GET    /api/v1/custom-reports/{id}/export  ?format=xlsx|csv: the same rows, a title row first
 *
 * (POST /api/v1/reports is the staff's filing of an incident, case/, so
 * the definitions live under custom-reports.)
 *
 * Definitions are report.define's; runs and exports report.run's. Runs and
 * exports are audited (a listing of a dataset of people is person-level).
 */
#include <string.h>

#include "app.h"
#include "http/export.h"
#include "report/report.h"
#include "security/audit.h"

static const char *const kind_names[] = {
    [FD_TEXT] = "text",     [FD_ENUM] = "category", [FD_BOOL] = "bool", [FD_TIME] = "time",
    [FD_REGION] = "region", [FD_DATE] = "date",     [FD_BITS] = "bits", [FD_INT] = "number",
    [FD_REAL] = "number",   [FD_ID] = "id",
};

static json_t *definition_json(const struct report_def *d)
{
    json_t *o = json_deep_copy(d->json);
    json_set_id(o, "id", d->id);
    json_object_set_new(o, "dataset_label", d->ds ? json_string(d->ds->label) : json_null());
    json_object_set_new(o, "broken", json_boolean(d->broken));
    json_object_set_new(o, "version", json_integer(d->version));
    json_object_set_new(o, "created_at", json_integer(d->created_at));
    json_object_set_new(o, "updated_at", json_integer(d->updated_at));
    json_t *cols = json_array();
    for (size_t i = 0; i < d->ncols; i++)
        json_array_append_new(cols, json_string(d->cols[i].title));
    json_object_set_new(o, "columns", cols);
    return o;
}

static const struct jfield report_fields[] = {
    {"name", J_STRING, JF_REQUIRED, 1, REPORT_NAME_MAX, "报表名称", NULL},
    {"dataset", J_STRING, JF_REQUIRED, 1, 32, "数据集", NULL},
    {"fields", J_ARRAY, JF_NULLABLE, 0, 0, "显示字段", NULL},
    {"filters", J_ARRAY, JF_NULLABLE, 0, 0, "筛选条件", NULL},
    {"group_by", J_ARRAY, JF_NULLABLE, 0, 0, "分组", NULL},
    {"measures", J_ARRAY, JF_NULLABLE, 0, 0, "统计项", NULL},
    {NULL, 0, 0, 0, 0, NULL, NULL},
};

static err get_datasets(struct req *r)
{
    json_t *arr = json_array();
    for (size_t i = 0; i < report_datasets_n; i++) {
        const struct report_dataset *ds = &report_datasets[i];
        json_t *o = json_object(), *fs = json_array();
        json_object_set_new(o, "name", json_string(ds->name));
        json_object_set_new(o, "label", json_string(ds->label));
        for (size_t j = 0; j < ds->n; j++) {
            const struct field *f = &ds->fields[j];
            json_t *fo = json_object();
            json_object_set_new(fo, "name", json_string(f->name));
            json_object_set_new(fo, "label", json_string(f->label));
            json_object_set_new(fo, "type", json_string(kind_names[f->kind]));
            if (f->vocab)
                json_object_set_new(fo, "vocabulary", json_string(f->vocab->key));
            json_array_append_new(fs, fo);
        }
        json_object_set_new(o, "fields", fs);
        json_array_append_new(arr, o);
    }
    return reply_page(r, arr, (int64_t)report_datasets_n, 1, (int64_t)report_datasets_n);
}

/* A write's end: audited with it, its reply the definition. */
static err written(struct req *r, const char *action, int64_t id, err e, const struct report_def *d,
                   int status)
{
    if (e) {
        err_ignore(db_release(r->db, false));
        return audit_refusal(r->db, r->who, r->ip, action, "report", id, e, NULL);
    }
    req_audit(r, action, "report", d ? d->id : id, "ok", "");
    if ((e = db_release(r->db, true)))
        return e;
    return d ? reply_json(r, status, definition_json(d)) : reply_empty(r);
}

static err post_report(struct req *r)
{
    struct report_def d;
    db_hold(r->db); /* the entry commits with the write (security/audit.h) */
    err e = report_create(r->db, r->a, r->body, r->who->user_id, &d);
    return written(r, "report.create", 0, e, &d, 201);
}

static err get_reports(struct req *r)
{
    int64_t page, size, total;
    struct report_def *items;
    size_t n;
    err e = req_paging(r, &page, &size);
    if (e || (e = report_list(r->db, r->a, page, size, &items, &n, &total)))
        return e;
    json_t *arr = json_array();
    for (size_t i = 0; i < n; i++)
        json_array_append_new(arr, definition_json(&items[i]));
    return reply_page(r, arr, total, page, size);
}

static err get_report(struct req *r)
{
    int64_t id;
    struct report_def d;
    err e = req_param_id(r, 0, &id);
    if (e || (e = report_find(r->db, r->a, id, &d)))
        return e;
    return reply_json(r, 200, definition_json(&d));
}

static err patch_report(struct req *r)
{
    int64_t id;
    struct report_def d;
    err e = req_param_id(r, 0, &id);
    if (e)
        return e;
    db_hold(r->db);
    e = report_update(r->db, r->a, id, r->body, r->who->user_id, &d);
    return written(r, "report.update", id, e, &d, 200);
}

static err delete_report(struct req *r)
{
    int64_t id;
    err e = req_param_id(r, 0, &id);
    if (e)
        return e;
    db_hold(r->db);
    e = report_delete(r->db, id);
    return written(r, "report.delete", id, e, NULL, 204);
}

static err post_copy(struct req *r)
{
    int64_t id;
    struct report_def old, d;
    err e = req_param_id(r, 0, &id);
    if (e || (e = report_find(r->db, r->a, id, &old)))
        return e;
    json_t *body = json_deep_copy(old.json);
    /* the name keeps its limit: the copy's suffix replaces its tail when needed */
    char name[REPORT_NAME_MAX * 4 + 1];
    const char *suffix = " 副本";
    size_t keep = utf8_len(old.name) + 3 <= REPORT_NAME_MAX ? strlen(old.name) : 0;
    if (!keep) { /* cut at a character boundary, REPORT_NAME_MAX - 3 characters */
        size_t chars = 0;
        for (const unsigned char *p = (const unsigned char *)old.name; *p; p++)
            if ((*p & 0xC0) != 0x80 && chars++ == REPORT_NAME_MAX - 3) {
                keep = (size_t)((const char *)p - old.name);
                break;
            }
    }
    memcpy(name, old.name, keep);
    memcpy(name + keep, suffix, strlen(suffix) + 1);
    json_object_set_new(body, "name", json_string(name));
    db_hold(r->db);
    e = report_create(r->db, r->a, body, r->who->user_id, &d);
    json_decref(body);
    return written(r, "report.copy", id, e, &d, 201);
}

static err collect_row(void *ctx, json_t *cells)
{
    json_array_append(ctx, cells);
    return E_OK;
}

static void audit_run(struct req *r, const char *action, const struct report_def *d, int64_t n)
{
    req_audit(r, action, "report", d->id, "ok",
              arena_printf(r->a, "dataset=%s,count=%lld", d->ds->name, (long long)n));
}

static err get_run(struct req *r)
{
    int64_t id, page, size, total = 0;
    struct report_def d;
    err e = req_param_id(r, 0, &id);
    if (e || (e = req_paging(r, &page, &size)) || (e = report_find(r->db, r->a, id, &d)))
        return audit_refusal(r->db, r->who, r->ip, "report.run", "report", id, e, NULL);
    json_t *rows = json_array();
    if ((e = report_run(r->db, r->a, &r->who->scope, &d, page, size, 0, collect_row, rows,
                        &total))) {
        json_decref(rows);
        return e;
    }
    audit_run(r, "report.run", &d, (int64_t)json_array_size(rows));
    json_t *o = json_object();
    json_object_set_new(o, "report", definition_json(&d));
    json_object_set_new(o, "items", rows);
    json_object_set_new(o, "total", json_integer(total));
    json_object_set_new(o, "page", json_integer(page));
    json_object_set_new(o, "page_size", json_integer(size));
    return reply_json(r, 200, o);
}

/* An export's row: cells as the run renders them, numbers as numbers; a
 * grouped report with two or more groups gets a header row whenever its
 * first group changes. */
struct export_ctx {
    struct export_out *x;
    const struct report_def *d;
    char *last; /* the first group's last value */
    arena *a;
    const int64_t *total; /* the run's row count, known before its first row */
};

static err export_row(void *ctx, json_t *cells)
{
    struct export_ctx *c = ctx;
    c->x->total = *c->total; /* a job's progress */
    err e = export_room(c->x);
    if (e)
        return e;
    if (c->d->grouped && c->d->ngroups > 1) {
        json_t *g = json_array_get(cells, 0);
        const char *v = json_is_string(g) ? json_string_value(g) : "";
        if (!c->last || strcmp(c->last, v)) {
            export_text(c->x, arena_printf(c->a, "%s：%s", c->d->cols[0].title, v));
            export_row_end(c->x);
            c->last = arena_strdup(c->a, v);
        }
    }
    size_t i;
    json_t *v;
    json_array_foreach(cells, i, v)
    {
        if (json_is_integer(v))
            export_int(c->x, json_integer_value(v));
        else if (json_is_real(v))
            export_decimal(c->x, json_real_value(v),
                           c->d->cols[i].decimals < 0 ? 2 : c->d->cols[i].decimals);
        else if (json_is_string(v))
            export_text(c->x, json_string_value(v));
        else
            export_empty(c->x);
    }
    export_row_end(c->x);
    return E_OK;
}

/* The columns' header after the title row (the title is the export's
 * own header row), then every row of the run in scope, up to max. */
static err export_rows(db *d, arena *a, const struct scope *sc, const struct report_def *def,
                       int64_t max, struct export_out *x, int64_t *total_r)
{
    for (size_t i = 0; i < def->ncols; i++)
        export_text(x, def->cols[i].title);
    export_row_end(x);
    struct export_ctx c = {.x = x, .d = def, .a = a, .total = total_r};
    return report_run(d, a, sc, def, 1, 0, max, export_row, &c, total_r);
}

static err get_export(struct req *r)
{
    int64_t id, total = 0;
    enum export_format fmt;
    struct report_def d;
    err e = req_param_id(r, 0, &id);
    if (e || (e = req_export_format(r, &fmt)) || (e = report_find(r->db, r->a, id, &d)))
        return audit_refusal(r->db, r->who, r->ip, "report.export", "report", id, e, NULL);
    if (fmt == EXPORT_NONE)
        return err_set(E_INPUT, "invalid_parameter", "format", "请指定导出格式 xlsx 或 csv");
    struct export_out x;
    const char *head[] = {d.name};
    if ((e = export_begin(r, &x, fmt, "报表", head, 1)))
        return e;
    x.max = 0; /* report_run caps the data rows; the header and group rows come on top */
    e = export_rows(r->db, r->a, &r->who->scope, &d, export_sync_max(), &x, &total);
    if (e == E_TOO_LARGE)
        e = export_too_large(); /* the message that points to the export job */
    if (!e)
        audit_run(r, "report.export", &d, total);
    return export_send(&x, e, "report");
}

/* ---- the export job's source (http/export.h, POST /api/v1/exports with
 * list "custom_reports" and filters {"id": …}): no row cap ---- */

static err source_parse(struct req *r, void **filter_r)
{
    const char *v = req_query(r, "id");
    int64_t id = v ? id_parse(v) : 0;
    if (id <= 0)
        return err_set(E_INPUT, v ? "invalid_parameter" : "required", "id", "请指定要导出的报表");
    struct report_def *d = arena_alloc(r->a, sizeof *d);
    *filter_r = d;
    err e = d ? report_find(r->db, r->a, id, d) : E_NOMEM;
    if (!e && d->broken)
        e = err_set(E_CONFLICT, "report_broken", "id", "报表定义已不再有效，请重新编辑后再运行");
    return e;
}

static void source_header(const void *filter, const char *const **head_r, size_t *ncols_r)
{
    const struct report_def *d = filter;
    *head_r = &d->name;
    *ncols_r = 1;
}

static err source_each(db *d, arena *a, const struct principal *who, const void *filter,
                       bool reveal, struct export_out *x)
{
    (void)reveal; /* no dataset holds a sealed column */
    int64_t total;
    return export_rows(d, a, &who->scope, filter, 0, x, &total);
}

const struct export_source report_export = {
    .list = "custom_reports",
    .kind = "export.custom_reports",
    .audit = "report",
    .perm = PERM_REPORT_RUN,
    .sheet = "报表",
    .header = source_header,
    .parse = source_parse,
    .each = source_each,
};

const struct route report_routes[] = {
    {M_GET, "/api/v1/custom-reports/datasets", get_datasets, PERM_REPORT_RUN, 0, NULL,
     "报表数据集和字段", "report", 0},
    {M_POST, "/api/v1/custom-reports", post_report, PERM_REPORT_DEFINE, 0, report_fields,
     "新增报表", "report", 0},
    {M_GET, "/api/v1/custom-reports", get_reports, PERM_REPORT_RUN, 0, NULL, "报表列表", "report",
     0},
    {M_GET, "/api/v1/custom-reports/{id}", get_report, PERM_REPORT_RUN, 0, NULL, "报表定义",
     "report", 0},
    {M_PATCH, "/api/v1/custom-reports/{id}", patch_report, PERM_REPORT_DEFINE, 0, report_fields,
     "修改报表", "report", 0},
    {M_DELETE, "/api/v1/custom-reports/{id}", delete_report, PERM_REPORT_DEFINE, 0, NULL,
     "删除报表", "report", 0},
    {M_POST, "/api/v1/custom-reports/{id}/copy", post_copy, PERM_REPORT_DEFINE, 0, NULL, "复制报表",
     "report", 0},
    {M_GET, "/api/v1/custom-reports/{id}/run", get_run, PERM_REPORT_RUN, 0, NULL, "运行报表",
     "report", 0},
    {M_GET, "/api/v1/custom-reports/{id}/export", get_export, PERM_REPORT_RUN, 0, NULL,
     "导出报表（xlsx 或 CSV）", "report", 0},
};
const size_t report_routes_n = sizeof report_routes / sizeof report_routes[0];
