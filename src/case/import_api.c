/*
 * HTTP handlers of the observation list's Excel import (docs/cases.md
 * "Import and export"):
 *
 *   GET  /api/v1/observations/template.xlsx   the import template
 *   POST /api/v1/observations/import          an upload: 202 {job_id}
 *        ?dry_run=1                           check only, nothing written
 *        &duplicates=update|report            an open observation: update it or report the row
 *   GET  /api/v1/jobs/{id}/errors.xlsx        the rows that failed, marked
 *   GET  /api/v1/observations/export.xlsx     the list as a workbook (filters as the list;
 *                                             reveal=1 with person.reveal)
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
#include "job/job.h"
#include "security/audit.h"

#define UPLOAD_MAX (20u * 1024 * 1024)

static const char *const XLSX_TYPE =
    "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet";

static err get_template(struct req *r)
{
    int fd;
    int64_t size;
    err e = case_import_template(&fd, &size);
    if (e)
        return e;
    r->disposition = "attachment; filename=\"observation-template.xlsx\"";
    return reply_file(r, 200, XLSX_TYPE, fd, size);
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
    bool dry_run = false, update = false;
    err e = flag_param(r, "dry_run", "1", "0", &dry_run);
    if (!e)
        e = flag_param(r, "duplicates", "update", "report", &update);
    size_t n;
    const char *body = req_raw_body(r, &n);
    long rows = 0;
    if (!e && !n)
        e = err_set(E_INPUT, "empty", NULL, "文件为空：请上传按模板填写的 Excel 文件");
    if (!e)
        e = case_import_check(body, n, &rows);
    if (e)
        return audit_refusal(r->db, r->who, r->ip, "observation.import", "job", 0, e,
                             arena_printf(r->a, "bytes=%zu", n));
    int64_t job;
    db_hold(r->db); /* the job and its entry commit together */
    if ((e = job_create(r->db, r->who, "case.import", &job))) {
        err_ignore(db_release(r->db, false));
        return e;
    }
    req_audit(r, "observation.import_upload", "job", job, "ok",
              arena_printf(r->a, "bytes=%zu rows=%ld%s%s", n, rows, dry_run ? " dry_run" : "",
                           update ? " duplicates=update" : ""));
    if ((e = db_release(r->db, true)))
        return e;
    if ((e = case_import_submit(r->db, job, r->who, body, n, rows, dry_run, update)))
        return e;
    json_t *o = json_pack("{s:I,s:b}", "rows", (json_int_t)rows, "dry_run", dry_run);
    json_set_id(o, "job_id", job);
    return reply_json(r, 202, o);
}

static err get_errors(struct req *r)
{
    int64_t id;
    struct job j;
    err e = req_param_id(r, 0, &id);
    if (e || (e = job_find(r->db, r->a, r->who, id, &j)))
        return e;
    if (strcmp(j.kind, "case.import"))
        return E_NOT_FOUND;
    /* the uploader, or case.import in scope (job_find checked both) */
    char path[600];
    case_import_report_path(id, path);
    int fd = open(path, O_RDONLY | O_CLOEXEC);
    if (fd < 0)
        return err_set(E_NOT_FOUND, "not_found", NULL,
                       "没有错误报告：导入尚未完成、没有错误行，或报告已超过一天被删除");
    struct stat sb;
    if (fstat(fd, &sb)) {
        close(fd);
        return err_set(E_IO, NULL, NULL, NULL);
    }
    req_audit(r, "observation.import_errors", "job", id, "ok", "");
    r->disposition =
        arena_printf(r->a, "attachment; filename=\"import-errors-%lld.xlsx\"", (long long)id);
    return reply_file(r, 200, XLSX_TYPE, fd, (int64_t)sb.st_size);
}

/* ---- the export ----------------------------------------------------------------- */

#define EXPORT_PAGE 1000

static const char *const export_cols[] = {
    "编号",         "姓名",         "人员状态",  "所属区划",
    "隔离观察方式", "报送来源",     "观察状态",  "开始时间",
    "计划结束时间", "隔离点",       "房间号",    "定点医院",
    "何时来市",     "来市交通方式", "航班/车次", "中高风险地区旅居史",
    "同住人数",     "备注",
};
#define EXPORT_NCOLS (sizeof export_cols / sizeof export_cols[0])

static err export_word(struct req *r, const char *key, const struct vocab *v, int *k_r)
{
    const char *s = req_query(r, key);
    *k_r = 0;
    if (!s)
        return E_OK;
    if ((*k_r = vocab_parse(v, s)) <= 0)
        return err_set(E_INPUT, "invalid_parameter", key, "参数 %s 的取值不正确", key);
    return E_OK;
}

static void time_or_empty(xlsx_writer *w, int64_t ms, bool with_time)
{
    if (!ms)
        xlsx_cell_empty(w);
    else if (with_time)
        xlsx_cell_datetime(w, ms);
    else
        xlsx_cell_date(w, ms);
}

static void export_row(xlsx_writer *w, arena *a, const struct observation *o, bool reveal)
{
    xlsx_cell_int(w, o->id); /* text: Excel would round an 18-digit id */
    xlsx_cell_text(w, reveal ? o->person_name : mask_name(a, o->person_name));
    xlsx_cell_text(w, person_status_label(person_status_parse(o->person_status)));
    xlsx_cell_text(w, o->region_name);
    xlsx_cell_text(w, vocab_label(&observe_kind_vocab, o->kind));
    xlsx_cell_text(w, vocab_label(&case_source_vocab, o->source));
    xlsx_cell_text(w, vocab_label(&observe_state_vocab, o->state));
    time_or_empty(w, o->start_at, true);
    time_or_empty(w, o->planned_end_at, true);
    xlsx_cell_text(w, o->site_id ? o->site_name : "");
    xlsx_cell_text(w, o->room_no);
    xlsx_cell_text(w, o->hospital);
    time_or_empty(w, o->arrived_at, false);
    xlsx_cell_text(w, o->arrival_transport);
    xlsx_cell_text(w, o->transport_no);
    xlsx_cell_text(w, o->risk_area_stay ? "是" : "否");
    xlsx_cell_int(w, o->co_residents);
    /* a free text about people: masked as the API masks it */
    xlsx_cell_text(w, !o->note ? "" : reveal ? o->note : mask_address(a, o->note));
    xlsx_row_end(w);
}

/*
 * The list written page by page to a constant-memory workbook in a
 * temporary file, sent from the file: neither the rows nor the workbook
 * are ever whole in memory, so there is no row cap (docs/cases.md).
 */
static err get_export(struct req *r)
{
    struct case_observe_filter f = {0};
    int k;
    bool reveal = false;
    err e = export_word(r, "state", &observe_state_vocab, &k);
    f.state = k;
    if (!e && !(e = export_word(r, "kind", &observe_kind_vocab, &k)))
        f.kind = k;
    if (!e && !(e = export_word(r, "source", &case_source_vocab, &k)))
        f.source = k;
    const char *site = req_query(r, "site_id");
    if (!e && site && (f.site_id = id_parse(site)) <= 0)
        e = err_set(E_INPUT, "invalid_parameter", "site_id", "参数 site_id 的取值不正确");
    const char *rv = req_query(r, "reveal");
    if (!e && rv && strcmp(rv, "0")) {
        if (strcmp(rv, "1"))
            e = err_set(E_INPUT, "invalid_parameter", "reveal", "参数 reveal 应为 1 或 0");
        else if (!principal_can(r->who, PERM_PERSON_REVEAL))
            return audit_refusal(
                r->db, r->who, r->ip, "observation.export", "observation", 0,
                err_set(E_FORBIDDEN, "reveal_forbidden", "reveal", "您没有查看完整个人信息的权限"),
                "format=xlsx reveal");
        else
            reveal = true;
    }
    if (e)
        return e;
    xlsx_writer *w;
    struct xlsx_write_opts opt = {.constant_memory = true};
    if ((e = xlsx_writer_open_temp(&opt, &w)))
        return e;
    e = xlsx_sheet_add(w, "隔离观察名单");
    xlsx_row_header(w, export_cols, EXPORT_NCOLS);
    xlsx_col_width(w, 0, 20);
    xlsx_col_width(w, 3, 16);
    xlsx_col_width(w, 7, 20);
    xlsx_col_width(w, 8, 20);
    arena *pa = arena_new(1 << 16); /* one page's rows, reset between pages */
    int64_t rows = 0, after = 0;
    /* keyset pages by id (not the list's offsets, which would read the
     * rows before each page again: quadratic over a million rows); each
     * row then read as the list reads it, in scope */
    const char *sql = arena_printf(
        r->a,
        "SELECT id FROM observations WHERE region_code >= ? AND region_code < ?%s%s%s%s "
        "AND id > ? ORDER BY id LIMIT %d",
        f.state ? " AND state = ?" : "", f.kind ? " AND kind = ?" : "",
        f.source ? " AND source = ?" : "", f.site_id ? " AND site_id = ?" : "", EXPORT_PAGE);
    int64_t ids[EXPORT_PAGE];
    for (;;) {
        size_t n = 0;
        db_stmt *s;
        arena_reset(pa);
        if (e || (e = db_prepare(r->db, sql, &s)))
            break;
        int i = 1;
        db_bind_int64(s, i++, r->who->scope.lo);
        db_bind_int64(s, i++, r->who->scope.hi);
        if (f.state)
            db_bind_text(s, i++, vocab_name(&observe_state_vocab, f.state));
        if (f.kind)
            db_bind_text(s, i++, vocab_name(&observe_kind_vocab, f.kind));
        if (f.source)
            db_bind_text(s, i++, vocab_name(&case_source_vocab, f.source));
        if (f.site_id)
            db_bind_int64(s, i++, f.site_id);
        db_bind_int64(s, i++, after);
        bool row;
        while (!(e = db_row(s, &row)) && row)
            ids[n++] = db_col_int64(s, 0);
        db_done(s);
        for (size_t j = 0; j < n && !e; j++) {
            struct observation o;
            if ((e = case_observation_find(r->db, pa, &r->who->scope, ids[j], &o)))
                break;
            export_row(w, pa, &o, reveal);
        }
        rows += (int64_t)n;
        if (e || n < EXPORT_PAGE)
            break;
        after = ids[n - 1];
    }
    arena_free(&pa);
    int fd;
    int64_t size;
    err e2 = xlsx_close_fd(&w, &fd, &size);
    if (e || e2) {
        if (!e)
            return e2;
        if (!e2)
            close(fd);
        return e;
    }
    req_audit(
        r, reveal ? "observation.export_reveal" : "observation.export", "observation", 0, "ok",
        arena_printf(r->a, "format=xlsx count=%lld%s", (long long)rows, reveal ? " reveal" : ""));
    r->disposition = "attachment; filename=\"observations.xlsx\"";
    return reply_file(r, 200, XLSX_TYPE, fd, size);
}

const struct route case_import_routes[] = {
    {M_GET, "/api/v1/observations/template.xlsx", get_template, PERM_CASE_IMPORT, 0, NULL,
     "隔离观察名单导入模板（Excel）", "case", 0},
    {M_POST, "/api/v1/observations/import", post_import, PERM_CASE_IMPORT, ROUTE_RAW_BODY, NULL,
     "导入隔离观察名单（Excel；dry_run=1 只校验，duplicates=update|report）", "case", UPLOAD_MAX},
    {M_GET, "/api/v1/jobs/{id}/errors.xlsx", get_errors, PERM_CASE_IMPORT, 0, NULL,
     "导入错误报告（Excel，标出出错的单元格）", "case", 0},
    {M_GET, "/api/v1/observations/export.xlsx", get_export, PERM_CASE_READ, 0, NULL,
     "导出隔离观察名单（Excel；state、kind、source、site_id 筛选，reveal=1 查看完整信息）", "case",
     0},
};
const size_t case_import_routes_n = sizeof case_import_routes / sizeof case_import_routes[0];
