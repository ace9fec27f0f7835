/*
 * HTTP handlers of the observation list's Excel import (docs/cases.md
 * "Import and export"):
 *
 *   GET  /api/v1/observations/template.xlsx   the import template
 *   POST /api/v1/observations/import          an upload: 202 {job_id}
 *        ?dry_run=1                           check only, nothing written
 *        &duplicates=update|report            an open observation: update it or report the row
 * (The rows that failed: GET /api/v1/jobs/{id}/errors.xlsx, job/api.c.)
 * (The list's exports, GET /api/v1/observations?format=csv|xlsx, are in
 * observe_api.c.)
 */
#include <fcntl.h>
#include <stdio.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "app.h"
#include "base/id.h"
#include "base/time.h"
#include "base/xlsx.h"
#include "case/import.h"
#include "case/internal.h"
#include "person/person.h"
#include "security/mask.h"
#include "job/import.h"
#include "job/job.h"
#include "security/audit.h"

#define UPLOAD_MAX (20u * 1024 * 1024)

static err get_template(struct req *r)
{
    int fd;
    int64_t size;
    err e = case_import_template(&fd, &size);
    if (e)
        return e;
    r->disposition = "attachment; filename=\"observation-template.xlsx\"";
    return reply_file(r, 200, XLSX_CONTENT_TYPE, fd, size);
}

static err flag_param(struct req *r, const char *name, const char *a, const char *b, bool *is_a_r)
{
    const char *v = req_query(r, name);
    if (!v)
        return E_OK;
    if (!strcmp(v, a))
        *is_a_r = true;
    else if (!strcmp(v, b))
        *is_a_r = false;
    else
        return err_set(E_INPUT, "invalid_parameter", name, "参数 %s 应为 %s 或 %s", name, a, b);
    return E_OK;
}

static err post_import(struct req *r)
{
    static const struct import_accept acc = {"observation.import", "observation.import_upload",
                                             "case.import", NULL, 0};
    bool dry_run = false, update = false;
    err e = flag_param(r, "dry_run", "1", "0", &dry_run);
    if (!e)
        e = flag_param(r, "duplicates", "update", "report", &update);
    size_t n;
    const char *body = req_raw_body(r, &n);
    long rows = 0;
    int64_t job;
    if (!e && !n)
        e = err_set(E_INPUT, "empty", NULL, "文件为空：请上传按模板填写的 Excel 文件");
    if (!e)
        e = case_import_check(body, n, &rows);
    const char *more =
        arena_printf(r->a, "%s%s", dry_run ? " dry_run" : "", update ? " duplicates=update" : "");
    if ((e = import_accept(r, e, &acc, n, rows, more, &job)) ||
        (e = case_import_submit(r->db, job, r->who, body, n, rows, dry_run, update)))
        return e;
    return import_accepted(r, job, rows, json_pack("{s:b}", "dry_run", dry_run));
}

const struct route case_import_routes[] = {
    {M_GET, "/api/v1/observations/template.xlsx", get_template, PERM_CASE_IMPORT, 0, NULL,
     "隔离观察名单导入模板（Excel）", "case", 0},
    {M_POST, "/api/v1/observations/import", post_import, PERM_CASE_IMPORT, ROUTE_RAW_BODY, NULL,
     "导入隔离观察名单（Excel；dry_run=1 只校验，duplicates=update|report）", "case", UPLOAD_MAX},
};
const size_t case_import_routes_n = sizeof case_import_routes / sizeof case_import_routes[0];
