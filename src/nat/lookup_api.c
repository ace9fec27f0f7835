/*
 * HTTP handlers of the result look-up (docs/nat.md "Result look-up"):
 *
 *   GET    /api/v1/nat/results?id_number=        a person's results (reveal=1)
 *   GET    /api/v1/nat/results.xlsx?id_number=   the same as a workbook
 *   GET    /api/v1/me/nat-results                a resident's own results
 *   POST   /api/v1/nat/batches?file_name=        upload ids (xlsx or CSV): 202
 *   GET    /api/v1/nat/batches                   the batch list of the scope
 *   GET    /api/v1/nat/batches/{id}              one, with its progress
 *   GET    /api/v1/nat/batches/{id}/{result|not-found|malformed}.xlsx
 *   POST   /api/v1/nat/batches/{id}/rerun        迭代: look the same ids up again
 *   DELETE /api/v1/nat/batches/{id}              the row and its files
 *
 * A personal look-up and each download are audited (personal data); a
 * batch run writes one entry with its counts (lookup.c).
 */
#include <stdio.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "app.h"
#include "base/regcode.h"
#include "http/export.h"
#include "job/export_store.h"
#include "nat/nat.h"
#include "security/audit.h"

static const char *const XLSX_TYPE =
    "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet";

/* ---- a person ------------------------------------------------------------------------------ */

static json_t *result_json(const struct nat_lookup_result *x)
{
    return json_pack("{s:s,s:s,s:I,s:I,s:s}", "result", x->result, "result_label",
                     nat_result_label(x->result), "sampled_at", (json_int_t)x->sampled_at,
                     "reported_at", (json_int_t)x->reported_at, "institution", x->institution);
}

static err person_or_reply(struct req *r, bool *reveal_r, struct nat_person_results *p)
{
    const char *idn = req_query(r, "id_number");
    err e = req_reveal(r, reveal_r);
    if (e == E_FORBIDDEN)
        return audit_refusal(r->db, r->who, r->ip, "nat.lookup.person", "person", 0, e, "reveal");
    if (!e && (!idn || !*idn))
        e = err_set(E_INPUT, "required", "id_number", "请填写身份证号码");
    if (!e)
        e = nat_lookup_person(r->db, r->a, &r->who->scope, idn, *reveal_r, p);
    return e;
}

static err get_results(struct req *r)
{
    bool reveal = false;
    struct nat_person_results p;
    err e = person_or_reply(r, &reveal, &p);
    if (e)
        return e;
    req_audit(r, reveal ? "nat.lookup.person_reveal" : "nat.lookup.person", "person", p.person_id,
              "ok", arena_printf(r->a, "results=%zu", p.n));
    json_t *items = json_array();
    for (size_t i = 0; i < p.n; i++)
        json_array_append_new(items, result_json(&p.items[i]));
    json_t *o =
        json_pack("{s:s,s:s,s:o}", "name", p.name, "id_number", p.id_number, "items", items);
    json_set_id(o, "person_id", p.person_id);
    return reply_json(r, 200, o);
}

static err get_results_xlsx(struct req *r)
{
    bool reveal = false;
    struct nat_person_results p;
    err e = person_or_reply(r, &reveal, &p);
    if (e)
        return e;
    int fd;
    int64_t size;
    if ((e = nat_lookup_person_xlsx(&p, &fd, &size)))
        return e;
    req_audit(r, reveal ? "nat.lookup.person_export_reveal" : "nat.lookup.person_export", "person",
              p.person_id, "ok", arena_printf(r->a, "results=%zu", p.n));
    r->disposition = "attachment; filename=\"nat-results.xlsx\"";
    return reply_file(r, 200, XLSX_TYPE, fd, size);
}

static err get_own(struct req *r)
{
    struct nat_lookup_result *items = NULL;
    size_t n = 0;
    json_t *arr = json_array();
    if (r->who->person_id) {
        err e = nat_lookup_own(r->db, r->a, r->who->person_id, &items, &n);
        if (e) {
            json_decref(arr);
            return e;
        }
        req_audit(r, "nat.lookup.own", "person", r->who->person_id, "ok",
                  arena_printf(r->a, "results=%zu", n));
    }
    for (size_t i = 0; i < n; i++)
        json_array_append_new(arr, result_json(&items[i]));
    return reply_json(r, 200,
                      json_pack("{s:o,s:b}", "items", arr, "registered", r->who->person_id != 0));
}

/* ---- batches ------------------------------------------------------------------------------- */

static json_t *batch_json(struct req *r, const struct nat_batch *b)
{
    char code[19];
    regcode_format(b->region_code, code);
    json_t *o = json_pack(
        "{s:s,s:s,s:s,s:s,s:s,s:b,s:s,s:I,s:I,s:I,s:I,s:I,s:I,s:I,s:s,s:I,s:I,s:b}", "region_code",
        code, "region_name", b->region_name, "user_name", b->user_name, "file_name", b->file_name,
        "format", b->format, "reveal", b->reveal, "state", b->state, "rows", (json_int_t)b->rows,
        "done", (json_int_t)b->done, "found", (json_int_t)b->found, "not_found",
        (json_int_t)b->not_found, "malformed", (json_int_t)b->malformed, "runs",
        (json_int_t)b->runs, "elapsed_ms", (json_int_t)b->elapsed_ms, "error", b->error,
        "created_at", (json_int_t)b->created_at, "updated_at", (json_int_t)b->updated_at, "mine",
        b->user_id == r->who->user_id);
    json_set_id(o, "id", b->id);
    return o;
}

/* The upload's format: xlsx by its zip signature or its name, CSV by name. */
static bool upload_is_xlsx(const char *name, const char *body, size_t n)
{
    size_t len = strlen(name);
    if (len >= 4 && !strcasecmp(name + len - 4, ".csv"))
        return false;
    if (len >= 5 && !strcasecmp(name + len - 5, ".xlsx"))
        return true;
    return n >= 4 && !memcmp(body, "PK\3\4", 4);
}

static err post_batch(struct req *r)
{
    size_t n;
    const char *body = req_raw_body(r, &n);
    const char *name = req_query(r, "file_name");
    bool reveal = false;
    err e = req_reveal(r, &reveal);
    if (!e && (!name || !*name))
        name = "批量查询.xlsx";
    if (!e && (!utf8_valid_text(name) || utf8_len(name) > 200))
        e = err_set(E_INPUT, "invalid_parameter", "file_name", "文件名不能超过200个字符");
    bool xlsx = !e && upload_is_xlsx(name, body, n);
    if (!e)
        e = nat_lookup_probe(body, n, xlsx);
    if (e)
        return audit_refusal(r->db, r->who, r->ip, "nat.lookup.batch_upload", "nat_batch", 0, e,
                             arena_printf(r->a, "bytes=%zu", n));
    int64_t id;
    db_hold(r->db); /* the batch and its entry commit together */
    if ((e = nat_batch_create(r->db, r->who, name, xlsx, reveal, body, n, &id))) {
        err_ignore(db_release(r->db, false));
        return e;
    }
    req_audit(r, "nat.lookup.batch_upload", "nat_batch", id, "ok",
              arena_printf(r->a, "bytes=%zu format=%s%s", n, xlsx ? "xlsx" : "csv",
                           reveal ? " reveal" : ""));
    if ((e = db_release(r->db, true)))
        return e;
    if ((e = nat_batch_submit(r->db, id, r->who, r->ip)))
        return e;
    struct nat_batch b;
    if ((e = nat_batch_find(r->db, r->a, &r->who->scope, id, &b)))
        return e;
    return reply_json(r, 202, batch_json(r, &b));
}

static err get_batches(struct req *r)
{
    int64_t page, size;
    err e = req_paging(r, &page, &size);
    if (e)
        return e;
    struct nat_batch *items;
    size_t n;
    int64_t total;
    if ((e = nat_batch_list(r->db, r->a, &r->who->scope, page, size, &items, &n, &total)))
        return e;
    json_t *arr = json_array();
    for (size_t i = 0; i < n; i++)
        json_array_append_new(arr, batch_json(r, &items[i]));
    return reply_page(r, arr, total, page, size);
}

static err get_batch(struct req *r)
{
    int64_t id;
    struct nat_batch b;
    err e = req_param_id(r, 0, &id);
    if (e || (e = nat_batch_find(r->db, r->a, &r->who->scope, id, &b)))
        return e;
    return reply_json(r, 200, batch_json(r, &b));
}

static err download(struct req *r, enum nat_batch_file f, const char *what)
{
    int64_t id;
    struct nat_batch b;
    err e = req_param_id(r, 0, &id);
    if (e || (e = nat_batch_find(r->db, r->a, &r->who->scope, id, &b)))
        return e;
    if (strcmp(b.state, "done"))
        return err_set(E_CONFLICT, "job_not_done", NULL, "批量查询尚未完成，暂无文件");
    char path[600];
    nat_batch_path(nat_lookup_dir(), id, f, path);
    /* a rerun (perhaps on another server) replaced the workbooks: a copy
     * older than the last run's start (1 s of clock skew allowed) is stale */
    struct stat sb;
    if (!stat(path, &sb) &&
        (int64_t)sb.st_mtim.tv_sec * 1000 + sb.st_mtim.tv_nsec / 1000000 + 1000 <
            b.updated_at - b.elapsed_ms)
        unlink(path);
    /* made on another server (or stale): fetched from the database once, on
     * the fetch worker, then this server's own copy (job/export_store.h) */
    const struct export_download dl = {
        .ctype = XLSX_TYPE,
        .disposition = arena_printf(r->a, "attachment; filename=\"nat-batch-%lld-%s.xlsx\"",
                                    (long long)id, what),
        .missing_slug = "not_found",
        .missing_message = "文件不存在，请重新查询",
        .action = f == NAT_FILE_RESULT && b.reveal ? "nat.lookup.batch_download_reveal"
                                                   : "nat.lookup.batch_download",
        .object_type = "nat_batch",
        .detail = arena_printf(r->a, "file=%s rows=%lld", what,
                               (long long)(f == NAT_FILE_RESULT      ? b.rows
                                           : f == NAT_FILE_NOT_FOUND ? b.not_found
                                                                     : b.malformed)),
    };
    return export_store_serve(r, id, (int)f, path, &dl);
}

static err get_result_file(struct req *r)
{
    return download(r, NAT_FILE_RESULT, "result");
}

static err get_not_found_file(struct req *r)
{
    return download(r, NAT_FILE_NOT_FOUND, "not-found");
}

static err get_malformed_file(struct req *r)
{
    return download(r, NAT_FILE_MALFORMED, "malformed");
}

static err post_rerun(struct req *r)
{
    int64_t id;
    err e = req_param_id(r, 0, &id);
    if (e)
        return e;
    db_hold(r->db);
    e = nat_batch_requeue(r->db, r->a, &r->who->scope, id);
    if (!e)
        req_audit(r, "nat.lookup.batch_rerun", "nat_batch", id, "ok", "");
    err e2 = db_release(r->db, !e);
    if (e || (e = e2))
        return e;
    if ((e = nat_batch_submit(r->db, id, r->who, r->ip)))
        return e;
    return get_batch(r);
}

static err delete_batch(struct req *r)
{
    int64_t id;
    err e = req_param_id(r, 0, &id);
    if (e)
        return e;
    db_hold(r->db);
    e = nat_batch_delete(r->db, r->a, &r->who->scope, id);
    if (!e)
        req_audit(r, "nat.lookup.batch_delete", "nat_batch", id, "ok", "");
    err e2 = db_release(r->db, !e);
    if (e || (e = e2))
        return e;
    return reply_json(r, 200, json_pack("{s:b}", "deleted", true));
}

const struct route nat_lookup_routes[] = {
    {M_GET, "/api/v1/nat/results", get_results, PERM_NAT_LOOKUP, 0, NULL,
     "按身份证号查询核酸检测结果（reveal=1 显示完整姓名和证件号）", "nat", 0},
    {M_GET, "/api/v1/nat/results.xlsx", get_results_xlsx, PERM_NAT_LOOKUP, 0, NULL,
     "导出个人核酸检测结果（Excel）", "nat", 0},
    {M_GET, "/api/v1/me/nat-results", get_own, PERM_SELF, 0, NULL, "我的核酸结果", "nat", 0},
    {M_POST, "/api/v1/nat/batches", post_batch, PERM_NAT_LOOKUP, ROUTE_RAW_BODY, NULL,
     "批量查询：上传身份证号码（Excel 或 CSV，第一列或“身份证号”列，最多 100 万行；file_name "
     "文件名，reveal=1 显示完整姓名）",
     "nat", NAT_LOOKUP_UPLOAD_MAX},
    {M_GET, "/api/v1/nat/batches", get_batches, PERM_NAT_LOOKUP, 0, NULL, "批量查询列表", "nat", 0},
    {M_GET, "/api/v1/nat/batches/{id}", get_batch, PERM_NAT_LOOKUP, 0, NULL, "批量查询详情和进度",
     "nat", 0},
    {M_GET, "/api/v1/nat/batches/{id}/result.xlsx", get_result_file, PERM_NAT_LOOKUP, 0, NULL,
     "批量查询结果导出（Excel）", "nat", 0},
    {M_GET, "/api/v1/nat/batches/{id}/not-found.xlsx", get_not_found_file, PERM_NAT_LOOKUP, 0, NULL,
     "未查询导出（Excel）", "nat", 0},
    {M_GET, "/api/v1/nat/batches/{id}/malformed.xlsx", get_malformed_file, PERM_NAT_LOOKUP, 0, NULL,
     "格式错误的行（Excel）", "nat", 0},
    {M_POST, "/api/v1/nat/batches/{id}/rerun", post_rerun, PERM_NAT_LOOKUP, 0, NULL,
     "重新查询（迭代）", "nat", 0},
    {M_DELETE, "/api/v1/nat/batches/{id}", delete_batch, PERM_NAT_LOOKUP, 0, NULL,
     "删除批量查询及其文件", "nat", 0},
};
const size_t nat_lookup_routes_n = sizeof nat_lookup_routes / sizeof nat_lookup_routes[0];
