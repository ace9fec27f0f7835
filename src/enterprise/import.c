/*
 * The import of an enterprise's employees from a spreadsheet (enterprise.h;
 * docs/enterprise.md "Employee import"), on the shared import worker
 * (job/import.h), the way trips and observations are imported: a template,
 * the upload checked in the request, the rows in a job, the failed rows in
 * the job's error report.
 *
 * Each row is what POST /api/v1/employees takes and goes through the same
 * code (employee_input_check, employee_add): the person is found in the
 * registry by the resident id (the name must match) or created in the
 * enterprise's region. A row is refused, without stopping the rest, for a
 * bad field, a duplicate (already an employee, or twice in the file) or a
 * person who is already another enterprise's employee. Every row runs in a
 * savepoint of the job's one transaction, so a refused row leaves nothing
 * behind; the written rows and the audit entry commit together.
 */
#include <stdio.h>
#include <string.h>

#include "base/log.h"
#include "base/validate.h"
#include "base/xlsx.h"
#include "db/fields.h"
#include "enterprise/enterprise.h"
#include "job/import.h"
#include "job/job.h"
#include "person/person.h"

/* ---- the template ----------------------------------------------------------------------- */

enum col { C_NAME, C_ID_TYPE, C_ID_NUMBER, C_PHONE, C_DEPARTMENT, C_POST, C_SHIFT, C__COUNT };

static const char *const heads[C__COUNT] = {
    "姓名*", "证件类型", "证件号码*", "手机号码", "部门", "岗位", "班次",
};

static const char *const hints[C__COUNT] = {
    "必填：与身份证一致",
    "选填：居民身份证（员工以居民身份证登记）",
    "必填：18位居民身份证号码",
    "选填：11位手机号码",
    "选填，50字以内",
    "选填，50字以内",
    "选填，如 早班",
};

static const double widths[C__COUNT] = {14, 16, 24, 16, 16, 16, 12};

err employee_import_template(int *fd_r, int64_t *size_r)
{
    return import_template(EMPLOYEE_IMPORT_SHEET, heads, hints, widths, C__COUNT, fd_r, size_r);
}

/* ---- rows -------------------------------------------------------------------------------- */

static const char *cell_text(arena *a, const struct xlsx_cell *cells, size_t n, int c)
{
    if ((size_t)c >= n || cells[c].type == XLSX_EMPTY)
        return NULL;
    const char *s = field_trim(a, cells[c].text);
    return *s ? s : NULL;
}

/* The column an error's field names (the report marks it). */
static int column_of(const char *field)
{
    static const struct {
        const char *field;
        int col;
    } map[] = {{"name", C_NAME}, {"id_number", C_ID_NUMBER},   {"phone", C_PHONE},
               {"post", C_POST}, {"department", C_DEPARTMENT}, {"shift", C_SHIFT}};
    for (size_t i = 0; field && i < sizeof map / sizeof map[0]; i++)
        if (!strcmp(field, map[i].field))
            return map[i].col;
    return -1;
}

/* A person already working at another enterprise: an import does not take
 * them over (one enterprise's list must not pull in another's staff). */
static err other_employer(struct import_run *st, arena *a, const char *id_number, bool *other_r)
{
    int64_t person_id = 0, region = 0;
    *other_r = false;
    char *idn = person_id_normalise(arena_strdup(a, id_number));
    err e = person_document_holder(st->d, a, ID_RESIDENT, idn, &person_id, &region);
    if (e || !person_id)
        return e;
    struct employee x;
    e = employee_of_person(st->d, a, person_id, 0, &x);
    if (e == E_NOT_FOUND)
        return E_OK;
    if (!e && x.enterprise_id != ((const struct enterprise *)st->ctx)->id)
        *other_r = true;
    return e;
}

/* One data row: E_OK written or kept as failed; another error is fatal. */
static err import_row(struct import_run *st, long row, const struct xlsx_cell *cells, size_t n)
{
    arena *a = st->ra;
    arena_reset(a);
    struct import_mark mark = {-1, NULL};
    for (size_t c = 0; c < n && c < C__COUNT; c++)
        if (cells[c].formula)
            mark = (struct import_mark){(int)c, "单元格含有公式，请复制后“粘贴为数值”再导入"};
    const char *type = cell_text(a, cells, n, C_ID_TYPE);
    if (!mark.msg && type && strcmp(type, "居民身份证") && strcmp(type, "resident_id"))
        mark = (struct import_mark){C_ID_TYPE, "员工须以居民身份证登记"};
    const char *name = cell_text(a, cells, n, C_NAME);
    struct employee_input in = {
        .name = name ? name : "",
        .id_number = cell_text(a, cells, n, C_ID_NUMBER),
        .phone = cell_text(a, cells, n, C_PHONE),
        .department = cell_text(a, cells, n, C_DEPARTMENT),
        .post = cell_text(a, cells, n, C_POST),
        .shift = cell_text(a, cells, n, C_SHIFT),
    };
    err e = E_OK;
    if (!mark.msg && (e = employee_input_check(&in, true)) == E_INPUT) {
        const struct err_detail *dt = err_last();
        mark = (struct import_mark){column_of(dt->field), arena_strdup(a, dt->message)};
        e = E_OK;
    }
    bool other = false;
    if (!e && !mark.msg && !(e = other_employer(st, a, in.id_number, &other)) && other)
        mark = (struct import_mark){C_ID_NUMBER, "该人员已是其他企业的在职员工"};
    if (!e && !mark.msg && !(e = db_begin(st->d))) { /* a savepoint: the row alone */
        int64_t id;
        e = employee_add(st->d, a, st->who, ((const struct enterprise *)st->ctx), &in, &id);
        if (e == E_INPUT || e == E_CONFLICT) {
            const struct err_detail *dt = err_last();
            mark = (struct import_mark){e == E_CONFLICT ? C_ID_NUMBER : column_of(dt->field),
                                        e == E_CONFLICT ? "该人员已是本企业员工（重复）"
                                                        : arena_strdup(a, dt->message)};
            db_rollback(st->d);
            e = E_OK;
        } else if (e) {
            db_rollback(st->d);
        } else if (!(e = db_commit(st->d))) {
            st->written++;
        }
    }
    if (!e && mark.msg)
        e = import_failures_keep(&st->fail, row, cells, n, &mark, 1);
    err_clear();
    return e;
}

static const struct import_kind kind = {
    .sheet = EMPLOYEE_IMPORT_SHEET,
    .title = "员工",
    .rows_name = "员工",
    .heads = heads,
    .hints = hints,
    .ncols = C__COUNT,
    .min_cols = C_ID_NUMBER + 1,
    .key1 = C_NAME,
    .key2 = C_ID_NUMBER,
    .max_rows = EMPLOYEE_IMPORT_MAX_ROWS,
    .skip_blank = false,
    .progress_every = 500,
    .action = "employee.import",
    .fail_kind = "employee.import",
    .row = import_row,
};

err employee_import_check(const void *data, size_t n, bool csv, long *rows_r)
{
    return import_kind_check(&kind, data, n, csv, rows_r);
}

/* ---- the job -------------------------------------------------------------------------------- */

static void run_import(db *d, const struct import_upload *j)
{
    arena *ea = arena_new(0); /* the enterprise */
    struct enterprise ent;
    struct scope all = scope_all(); /* reached by the request (ent_reach) */
    err e = ea ? enterprise_find(d, ea, &all, j->ref, &ent) : E_NOMEM;
    if (e) {
        import_job_fail(d, j->job_id, kind.fail_kind, e);
    } else {
        char prefix[48];
        snprintf(prefix, sizeof prefix, "enterprise=%lld ", (long long)j->ref);
        import_kind_run(d, j, &kind, &ent, prefix);
    }
    arena_free(&ea);
}

err employee_import_submit(db *d, int64_t job_id, const struct principal *who,
                           int64_t enterprise_id, const void *data, size_t n, bool csv, long rows)
{
    struct import_upload u = {.job_id = job_id,
                              .who = *who,
                              .data = data,
                              .n = n,
                              .csv = csv,
                              .rows = rows,
                              .ref = enterprise_id};
    return import_upload_submit(d, &u, run_import);
}
