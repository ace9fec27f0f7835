/*
 * HTTP handlers of background jobs:
 *
 *   GET /api/v1/jobs/{id}               {id, kind, status, done, total, result, created_at,
 * updated_at} GET /api/v1/jobs/{id}/errors.xlsx   an import job's failed rows, marked
 * (job/import.h)
 *
 * Refusals (another kind's job, out of scope) are audited.
 */
#include <fcntl.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "app.h"
#include "base/xlsx.h"
#include "job/import.h"
#include "job/job.h"
#include "security/audit.h"

static err get_job(struct req *r)
{
    int64_t id;
    struct job j;
    err e = req_param_id(r, 0, &id);
    if (e || (e = job_find(r->db, r->a, r->who, id, &j)))
        return audit_refusal(r->db, r->who, r->ip, "job.read", "job", id, e, NULL);
    json_t *o = json_object();
    json_set_id(o, "id", j.id);
    json_object_set_new(o, "kind", json_string(j.kind));
    json_object_set_new(o, "status", json_string(j.status));
    json_object_set_new(o, "done", json_integer(j.done));
    json_object_set_new(o, "total", json_integer(j.total));
    json_t *res = *j.result ? json_loads(j.result, 0, NULL) : NULL;
    json_object_set_new(o, "result", res ? res : json_null());
    json_set_id(o, "user_id", j.user_id);
    json_object_set_new(o, "created_at", json_integer(j.created_at));
    json_object_set_new(o, "updated_at", json_integer(j.updated_at));
    return reply_json(r, 200, o);
}

/* The import jobs with an error report, and the audit action of its download. */
static const struct {
    const char *kind, *action;
} reports[] = {
    {"case.import", "observation.import_errors"},
    {"hotline.import", "hotline.import_errors"},
    {"nat.result_upload", "nat.result.upload_errors"},
    {"nat.round_import", "nat.round.import_errors"},
    {"risk_area.import", "risk_area.import_errors"},
    {"trace.trip_import", "trace.trip.import_errors"},
    {"video.camera_import", "camera.import_errors"},
    {"employee.import", "employee.import_errors"},
};

static err get_errors(struct req *r)
{
    int64_t id;
    struct job j;
    err e = req_param_id(r, 0, &id);
    if (e || (e = job_find(r->db, r->a, r->who, id, &j)))
        return audit_refusal(r->db, r->who, r->ip, "job.read", "job", id, e, "errors");
    /* the uploader, or the permission of the job's kind in scope (job_find) */
    const char *action = NULL;
    for (size_t i = 0; i < sizeof reports / sizeof reports[0]; i++)
        if (!strcmp(reports[i].kind, j.kind))
            action = reports[i].action;
    if (!action)
        return E_NOT_FOUND;
    char path[600];
    import_report_path(id, path);
    int fd = open(path, O_RDONLY | O_CLOEXEC);
    if (fd < 0)
        return err_set(E_NOT_FOUND, "not_found", NULL,
                       "没有错误报告：导入尚未完成、没有错误行，或报告已超过一天被删除");
    struct stat sb;
    if (fstat(fd, &sb)) {
        close(fd);
        return err_set(E_IO, NULL, NULL, NULL);
    }
    req_audit(r, action, "job", id, "ok", "");
    r->disposition =
        arena_printf(r->a, "attachment; filename=\"import-errors-%lld.xlsx\"", (long long)id);
    return reply_file(r, 200, XLSX_CONTENT_TYPE, fd, (int64_t)sb.st_size);
}

/* ---- accepting an upload (job/import.h) ------------------------------------------------------ */

err import_format(struct req *r, bool sniff, bool *csv_r)
{
    const char *fmt = req_query(r, "format");
    if (fmt && strcmp(fmt, "csv") && strcmp(fmt, "xlsx"))
        return err_set(E_INPUT, "invalid_parameter", "format", "参数 format 应为 xlsx 或 csv");
    size_t n;
    const char *body = req_raw_body(r, &n);
    *csv_r = fmt ? !strcmp(fmt, "csv") : sniff && !(n >= 4 && !memcmp(body, "PK\3\4", 4));
    return E_OK;
}

err import_accept(struct req *r, err e, const struct import_accept *a, size_t n, long rows,
                  const char *more, int64_t *job_r)
{
    if (e)
        return audit_refusal(r->db, r->who, r->ip, a->action,
                             a->object_type ? a->object_type : "job", a->object_id, e,
                             arena_printf(r->a, "bytes=%zu", n));
    db_hold(r->db); /* the job and its entry commit together */
    if ((e = job_create(r->db, r->who, a->kind, job_r))) {
        err_ignore(db_release(r->db, false));
        return e;
    }
    req_audit(r, a->queued_action, "job", *job_r, "ok",
              arena_printf(r->a, "bytes=%zu rows=%ld%s", n, rows, more ? more : ""));
    return db_release(r->db, true);
}

err import_accepted(struct req *r, int64_t job, long rows, json_t *extra)
{
    json_t *o = json_pack("{s:I}", "rows", (json_int_t)rows);
    json_set_id(o, "job_id", job);
    if (extra)
        json_object_update(o, extra);
    json_decref(extra);
    return reply_json(r, 202, o);
}

const struct route job_routes[] = {
    {M_GET, "/api/v1/jobs/{id}", get_job, PERM_NONE, 0, NULL, "后台任务进度", "job", 0},
    {M_GET, "/api/v1/jobs/{id}/errors.xlsx", get_errors, PERM_NONE, 0, NULL,
     "导入错误报告（Excel，标出出错的单元格）", "job", 0},
};
const size_t job_routes_n = sizeof job_routes / sizeof job_routes[0];
