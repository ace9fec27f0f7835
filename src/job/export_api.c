/*
 * HTTP handlers of export jobs (job/export.h, docs/cases.md "Exports"):
 *
 *   POST   /api/v1/exports          {list, format, filters, reveal} → 202 {job_id, list, format}
 *   GET    /api/v1/jobs/{id}        the progress (job/api.c): done/total, result when done
 *   GET    /api/v1/jobs/{id}/file   the file, once done (until it expires)
 *   DELETE /api/v1/jobs/{id}        an export job and its file (its owner; not while running)
 *
 * A job and its file are visible to its owner and to users whose scope
 * holds the owner's region and who hold the list's permission (job_find);
 * a revealed file further needs person.reveal. Audited: the start
 * (<list>.export_job[_reveal]), the end on the worker (<list>.export[_reveal],
 * with the row count), each download (<list>.export_download[_reveal]),
 * the deletion (export.delete), and every refusal.
 */
#include <stdio.h>
#include <string.h>
#include <unistd.h>

#include "app.h"
#include "base/id.h"
#include "base/regcode.h"
#include "base/xlsx.h"
#include "http/export.h"
#include "job/export.h"
#include "job/export_store.h"
#include "job/job.h"
#include "security/audit.h"

static const char *const lists[] = {"observations",    "tasks", "checks",         "incidents",
                                    "hotline_tickets", "trips", "custom_reports", NULL};
static const char *const formats[] = {"csv", "xlsx", NULL};

static const struct jfield export_body[] = {
    {"list", J_STRING, JF_REQUIRED, 0, 0, "导出的列表", lists, NULL},
    {"format", J_STRING, 0, 0, 0, "导出格式", formats, NULL},
    {"filters", J_OBJECT, 0, 0, 0, "筛选条件", NULL, NULL},
    {"reveal", J_BOOL, 0, 0, 0, "导出完整个人信息", NULL, NULL},
    {NULL, 0, 0, 0, 0, NULL, NULL, NULL},
};

/* Parameters of a list that are not filters: the job decides them. */
static const char *const not_filters[] = {"format", "reveal", "page", "page_size", NULL};

/* The filters' parse error with its field named as in the body
 * ("filters.state"), so the form marks the right input. */
static err filter_error(err e)
{
    const struct err_detail *d = err_last();
    if (d->code != e || !d->field[0] || !strncmp(d->field, "filters.", 8))
        return e;
    char slug[64], field[96], msg[256];
    snprintf(slug, sizeof slug, "%s", d->slug[0] ? d->slug : err_slug(e));
    snprintf(field, sizeof field, "filters.%s", d->field);
    snprintf(msg, sizeof msg, "%s", d->message);
    return err_set(e, slug, field, "%s", msg);
}

static err post_export(struct req *r)
{
    const struct export_source *src = export_source_find(json_str(r->body, "list"));
    const char *f = json_str(r->body, "format");
    enum export_format fmt = f && !strcmp(f, "csv") ? EXPORT_CSV : EXPORT_XLSX;
    bool reveal = json_bool(r->body, "reveal", false);
    json_t *filters = json_object_get(r->body, "filters");
    if (!src)
        return err_set(E_INPUT, "invalid_parameter", "list", "不支持导出该列表");
    const char *action = arena_printf(r->a, "%s.export_job%s", src->audit, reveal ? "_reveal" : "");
    if (!principal_can(r->who, src->perm))
        return audit_refusal(r->db, r->who, r->ip, action, "job", 0,
                             err_set(E_FORBIDDEN, "forbidden", "list", "您没有查看该列表的权限"),
                             src->list);
    if (reveal && !principal_can(r->who, PERM_PERSON_REVEAL))
        return audit_refusal(
            r->db, r->who, r->ip, action, "job", 0,
            err_set(E_FORBIDDEN, "reveal_forbidden", "reveal", "您没有查看完整个人信息的权限"),
            "reveal");
    const char *names = "";
    const char *k;
    json_t *v;
    json_object_foreach(filters, k, v)
    {
        for (size_t i = 0; not_filters[i]; i++)
            if (!strcmp(k, not_filters[i]))
                return err_set(E_INPUT, "invalid_parameter", arena_printf(r->a, "filters.%s", k),
                               "%s 不是筛选条件：导出任务导出全部符合条件的记录", k);
        names = arena_printf(r->a, "%s%s%s", names, *names ? "," : "", k);
    }
    /* filters.within narrows the scope as `within` narrows a GET (the
     * console's header region), so the file holds what the list showed */
    struct principal *who = arena_alloc(r->a, sizeof *who);
    *who = *r->who;
    const char *within = json_str(filters, "within");
    if (within && *within) {
        int64_t code = regcode_parse(within, NULL);
        if (code <= 0)
            return err_set(E_INPUT, "invalid_region", "filters.within", "区划代码格式不正确");
        if (!scope_has(&who->scope, code))
            return audit_refusal(r->db, r->who, r->ip, action, "job", 0,
                                 err_set(E_NOT_FOUND, "not_found", "filters.within", "区划不存在"),
                                 "within");
        struct scope sub = scope_of(code);
        if (sub.hi > who->scope.hi) /* never wider than the account's own */
            sub.hi = who->scope.hi;
        who->scope = sub;
    }
    /* the list's own parser, now: a bad filter is answered here, no job made */
    struct req *fr;
    void *parsed;
    err e = req_detached(r->a, r->db, who, filters, &fr);
    if (!e && (e = src->parse(fr, &parsed)))
        e = filter_error(e);
    if (e)
        return e == E_NOT_FOUND || e == E_FORBIDDEN
                   ? audit_refusal(r->db, r->who, r->ip, action, "job", 0, e, src->list)
                   : e;
    char *text = filters ? json_dumps(filters, JSON_COMPACT) : NULL;
    const char *ftext = arena_strdup(r->a, text ? text : "{}");
    free(text);
    int64_t job;
    db_hold(r->db); /* the job and its entry commit together */
    if ((e = job_create(r->db, r->who, src->kind, &job))) {
        err_ignore(db_release(r->db, false));
        return e;
    }
    /* filter names only: a name searched for is personal data */
    req_audit(r, action, "job", job, "ok",
              arena_printf(r->a, "list=%s %s filters=%s%s", src->list, export_format_name(fmt),
                           names, reveal ? " reveal" : ""));
    if ((e = db_release(r->db, true)))
        return e;
    if ((e = export_job_submit(r->db, job, who, r->ip, src, ftext, fmt, reveal))) {
        err_ignore(job_update(r->db, job, "failed", 0, 0,
                              "{\"error\":\"unavailable\",\"message\":\"导出任务排队已满\"}"));
        return e;
    }
    json_t *o =
        json_pack("{s:s,s:s}", "list", src->list, "format", fmt == EXPORT_XLSX ? "xlsx" : "csv");
    json_set_id(o, "job_id", job);
    return reply_json(r, 202, o);
}

/* An export job the caller may see (job_find), and its list's source. */
static err find_export(struct req *r, const char *action, int64_t *id_r, struct job *j_r,
                       const struct export_source **src_r)
{
    err e = req_param_id(r, 0, id_r);
    if (!e && !(e = job_find(r->db, r->a, r->who, *id_r, j_r)) &&
        !(*src_r = export_source_of_kind(j_r->kind)))
        e = err_set(E_NOT_FOUND, "not_found", NULL, "导出任务不存在");
    return e ? audit_refusal(r->db, r->who, r->ip, action, "job", *id_r, e, NULL) : E_OK;
}

static err get_file(struct req *r)
{
    int64_t id = 0;
    struct job j;
    const struct export_source *src;
    err e = find_export(r, "export.download", &id, &j, &src);
    if (e)
        return e;
    if (strcmp(j.status, "done"))
        return err_set(E_CONFLICT, "job_not_done", NULL,
                       !strcmp(j.status, "failed") ? "导出失败，没有文件" : "导出尚未完成，请稍候");
    json_t *res = json_loads(j.result, 0, NULL);
    bool reveal = json_bool(res, "reveal", false);
    const char *f = json_str(res, "format");
    enum export_format fmt = f && !strcmp(f, "csv") ? EXPORT_CSV : EXPORT_XLSX;
    const char *name = arena_strdup(r->a, json_str(res, "file") ? json_str(res, "file") : "export");
    int64_t rows = json_int(res, "rows", 0);
    int64_t expires_at = json_int(res, "expires_at", 0);
    json_decref(res);
    const char *action =
        arena_printf(r->a, "%s.export_download%s", src->audit, reveal ? "_reveal" : "");
    /* full names in the file: the reader must be allowed to see them too */
    if (reveal && !principal_can(r->who, PERM_PERSON_REVEAL))
        return audit_refusal(
            r->db, r->who, r->ip, action, "job", id,
            err_set(E_FORBIDDEN, "reveal_forbidden", NULL, "该文件含完整个人信息，您没有查看权限"),
            NULL);
    char path[600];
    export_job_path(id, fmt, path);
    /* every server answers by the same clock: past its expiry a file is
     * gone, whether or not this server's copy is purged yet */
    if (expires_at && expires_at <= now_ms()) {
        unlink(path);
        return err_set(E_NOT_FOUND, "export_expired", NULL, "导出文件已过期或已删除，请重新导出");
    }
    /* made on another server: fetched from the database once, on the fetch
     * worker, then this server's own copy (job/export_store.h) */
    const struct export_download dl = {
        .ctype = fmt == EXPORT_CSV ? CSV_CONTENT_TYPE : XLSX_CONTENT_TYPE,
        .disposition = arena_printf(r->a, "attachment; filename=\"%s\"", name),
        .missing_slug = "export_expired",
        .missing_message = "导出文件已过期或已删除，请重新导出",
        .action = action,
        .object_type = "job",
        .detail = arena_printf(r->a, "%s count=%lld%s", export_format_name(fmt), (long long)rows,
                               reveal ? " reveal" : ""),
        .expires_at = expires_at,
    };
    return export_store_serve(r, id, 0, path, &dl);
}

static err delete_job(struct req *r)
{
    int64_t id = 0;
    struct job j;
    const struct export_source *src;
    err e = find_export(r, "export.delete", &id, &j, &src);
    if (e)
        return e;
    if (j.user_id != r->who->user_id)
        return audit_refusal(r->db, r->who, r->ip, "export.delete", "job", id,
                             err_set(E_FORBIDDEN, "forbidden", NULL, "只能删除自己发起的导出任务"),
                             NULL);
    if (!strcmp(j.status, "queued") || !strcmp(j.status, "running"))
        return err_set(E_CONFLICT, "job_not_done", NULL, "导出进行中，完成后才能删除");
    db_stmt *s;
    db_hold(r->db); /* the row, its file's chunks and its entry together */
    if (!(e = db_prepare(r->db, "DELETE FROM jobs WHERE id = ?", &s))) {
        db_bind_int64(s, 1, id);
        if (!(e = db_run(s, NULL)))
            e = export_store_delete(r->db, id);
    }
    if (e) {
        err_ignore(db_release(r->db, false));
        return e;
    }
    req_audit(r, "export.delete", "job", id, "ok", arena_printf(r->a, "list=%s", src->list));
    if ((e = db_release(r->db, true)))
        return e;
    export_job_remove_files(id);
    return reply_empty(r);
}

const struct route export_job_routes[] = {
    {M_POST, "/api/v1/exports", post_export, PERM_NONE, 0, export_body,
     "导出任务：在后台导出列表（observations、tasks、checks、incidents；csv 或 xlsx）", "job", 0},
    {M_GET, "/api/v1/jobs/{id}/file", get_file, PERM_NONE, 0, NULL, "下载导出任务的文件", "job", 0},
    {M_DELETE, "/api/v1/jobs/{id}", delete_job, PERM_NONE, 0, NULL, "删除导出任务及其文件", "job",
     0},
};
const size_t export_job_routes_n = sizeof export_job_routes / sizeof export_job_routes[0];
