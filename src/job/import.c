/*
 * The shared machinery of import jobs (job/import.h): reading xlsx or CSV
 * through one row callback, the failed rows, the error report and the
 * import worker thread.
 */
#include "job/import.h"

#include <dirent.h>
#include <jansson.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include "base/csv.h"
#include "base/grow.h"
#include "base/json.h"
#include "base/log.h"
#include "job/job.h"
#include "job/worker.h"
#include "security/audit.h"

/* ---- reading ------------------------------------------------------------------------ */

#define CSV_COLS_MAX 256

err import_read(const void *data, size_t n, bool csv, const char *sheet,
                const struct xlsx_limits *lim, xlsx_row_fn fn, void *ctx)
{
    if (!csv)
        return xlsx_read_buffer(data, n, sheet, lim, fn, ctx);
    /* a job's thread, or a request's check that must not keep a file's
     * worth of records in the request's arena: the reader's buffers die here */
    arena *a = arena_new(1 << 16);
    if (!a)
        return E_NOMEM;
    struct csv_limits cl = {.max_fields = CSV_COLS_MAX};
    csv_reader *rd = csv_open_mem(a, data, n, &cl);
    struct xlsx_cell *cells = arena_alloc(a, CSV_COLS_MAX * sizeof *cells);
    long max_rows = lim && lim->max_rows ? lim->max_rows : 100000, rows = 0;
    err e = rd && cells ? E_OK : E_NOMEM;
    char **f;
    size_t nf;
    int res;
    while (!e && (res = csv_next(rd, &f, &nf)) != CSV_END) {
        long line = csv_line(rd);
        if (res < 0) {
            e = err_set(E_INPUT, "invalid_csv", NULL, "CSV 文件第 %ld 行格式不正确：%s", line,
                        csv_strerror(res));
            break;
        }
        if (++rows > max_rows) {
            e = err_set(E_INPUT, "too_many_rows", NULL, "文件超过 %ld 行：请分成多个文件导入",
                        max_rows);
            break;
        }
        size_t last = 0; /* one past the last field with a value, as the xlsx reader gives */
        for (size_t i = 0; i < nf; i++) {
            if (!utf8_valid_text(f[i])) {
                e = err_set(E_INPUT, "invalid_csv", NULL,
                            "CSV 文件第 %ld 行不是 UTF-8 文本：请另存为“CSV UTF-8”", line);
                break;
            }
            cells[i] = (struct xlsx_cell){.col = (int)i,
                                          .type = f[i][0] ? XLSX_STRING : XLSX_EMPTY,
                                          .text = f[i],
                                          .len = strlen(f[i])};
            if (f[i][0])
                last = i + 1;
        }
        if (!e && last)
            e = fn(ctx, line, cells, last);
    }
    arena_free(&a);
    return e;
}

/* ---- failed rows -------------------------------------------------------------------- */

err import_failures_keep(struct import_failures *f, long row, const struct xlsx_cell *cells,
                         size_t n, const struct import_mark *marks, int nmarks)
{
    if (!GROW(&f->v, &f->cap, f->n, 1, 64))
        return E_NOMEM;
    struct import_failed *r = &f->v[f->n];
    r->row = row;
    r->n = n;
    r->cells = arena_alloc(f->a, (n ? n : 1) * sizeof *r->cells);
    if (!r->cells)
        return E_NOMEM;
    for (size_t i = 0; i < n; i++) {
        r->cells[i] = cells[i];
        r->cells[i].text = arena_strndup(f->a, cells[i].text, cells[i].len);
    }
    r->nmarks = nmarks < IMPORT_MARKS_MAX ? nmarks : IMPORT_MARKS_MAX;
    for (int m = 0; m < r->nmarks; m++) {
        r->marks[m].col = marks[m].col;
        r->marks[m].msg = arena_strdup(f->a, marks[m].msg);
    }
    f->n++;
    return E_OK;
}

static int by_row(const void *x, const void *y)
{
    long a = ((const struct import_failed *)x)->row, b = ((const struct import_failed *)y)->row;
    return (a > b) - (a < b);
}

void import_failures_sort(struct import_failures *f)
{
    if (f->n > 1) /* none failed: no array (qsort must not see NULL) */
        qsort(f->v, f->n, sizeof *f->v, by_row);
}

void import_failures_free(struct import_failures *f)
{
    free(f->v);
    f->v = NULL;
    f->n = f->cap = 0;
}

/* ---- the report ------------------------------------------------------------------------- */

static const char *report_dir(void)
{
    static char dir[512];
    if (!dir[0]) {
        const char *t = getenv("TMPDIR");
        snprintf(dir, sizeof dir, "%s/fangkong-import", t && *t ? t : "/tmp");
    }
    return dir;
}

void import_report_path(int64_t job_id, char out[600])
{
    snprintf(out, 600, "%s/%lld.xlsx", report_dir(), (long long)job_id);
}

void import_reports_prune(void)
{
    DIR *dir = opendir(report_dir());
    if (!dir)
        return;
    struct dirent *de;
    time_t old = time(NULL) - 86400;
    while ((de = readdir(dir))) {
        char path[800];
        struct stat sb;
        if (de->d_name[0] == '.')
            continue;
        snprintf(path, sizeof path, "%s/%s", report_dir(), de->d_name);
        if (!stat(path, &sb) && sb.st_mtime < old)
            unlink(path);
    }
    closedir(dir);
}

#define REPORT_COLS_MAX 64

err import_report_write(int64_t job_id, const char *sheet, const char *const *heads, int ncols,
                        const struct import_failures *f)
{
    if (ncols <= 0 || ncols > REPORT_COLS_MAX)
        return err_set(E_INTERNAL, NULL, NULL, "导入模板的列数不正确");
    mkdir(report_dir(), 0700);
    char path[600];
    import_report_path(job_id, path);
    struct xlsx_write_opts opt = {.constant_memory = true};
    xlsx_writer *w;
    err e = xlsx_writer_open(path, &opt, &w);
    if (e)
        return e;
    e = xlsx_sheet_add(w, sheet);
    const char *head[REPORT_COLS_MAX + 2];
    head[0] = "行号";
    for (int c = 0; c < ncols; c++)
        head[c + 1] = heads[c];
    head[ncols + 1] = "错误说明";
    xlsx_row_header(w, head, (size_t)ncols + 2);
    xlsx_col_width(w, ncols + 1, 60);
    for (size_t i = 0; i < f->n && !e; i++) {
        const struct import_failed *r = &f->v[i];
        xlsx_cell_int(w, r->row);
        for (int c = 0; c < ncols; c++) {
            if ((size_t)c < r->n)
                xlsx_cell_from(w, &r->cells[c]);
            else
                xlsx_cell_empty(w);
        }
        char why[1024] = "";
        size_t len = 0;
        for (int m = 0; m < r->nmarks; m++) {
            int c = r->marks[m].col;
            bool named = c >= 0 && c < ncols;
            if (named && !e)
                e = xlsx_mark(w, c + 1, r->marks[m].msg);
            len += (size_t)snprintf(why + len, len < sizeof why ? sizeof why - len : 0, "%s%s%s%s",
                                    m ? "；" : "", named ? heads[c] : "", named ? "：" : "",
                                    r->marks[m].msg);
            if (len >= sizeof why)
                break;
        }
        xlsx_cell_text(w, why);
        xlsx_row_end(w);
    }
    err e2 = xlsx_close(&w);
    return e ? e : e2;
}

/* ---- the job ---------------------------------------------------------------------------- */

void import_job_fail(db *d, int64_t job_id, const char *kind, err e)
{
    const struct err_detail *x = err_last();
    json_t *o = json_pack("{s:s,s:s}", "error", x->code == e && x->slug[0] ? x->slug : err_slug(e),
                          "message", x->code == e && x->message[0] ? x->message : err_message(e));
    char *s = json_dumps(o, JSON_COMPACT);
    json_decref(o);
    err_ignore(job_update(d, job_id, "failed", 0, 0, s)); /* the log line below says it too */
    free(s);
    log_event(LOG_ERROR, "job_failed", "kind", kind, "slug", err_slug(e), NULL);
}

err import_job_audit(db *d, const struct import_upload *j, const char *action, const char *detail)
{
    struct audit_entry ae = {.user_id = j->who.user_id,
                             .username = j->who.username,
                             .role = j->who.roles,
                             .ip = "",
                             .action = action,
                             .object_type = "job",
                             .object_id = j->job_id,
                             .result = "ok",
                             .detail = detail};
    return audit_log(d, &ae);
}

bool import_report_done(int64_t job_id, const char *sheet, const char *const *heads, int ncols,
                        struct import_failures *f)
{
    if (!f->n)
        return false;
    import_failures_sort(f);
    err e = import_report_write(job_id, sheet, heads, ncols, f);
    if (e)
        log_event(LOG_WARN, "import_report_failed", "slug", err_slug(e), NULL);
    return !e;
}

void import_job_done(db *d, int64_t job_id, int64_t total, json_t *result)
{
    char *s = result ? json_dumps(result, JSON_COMPACT) : NULL;
    json_decref(result);
    err_ignore(job_update(d, job_id, "done", total, total, s)); /* display only */
    free(s);
}

/* ---- the worker ---------------------------------------------------------------------------- */

static struct job_worker *worker;

err import_worker_start(const char *db_url)
{
    static const struct job_worker_opts o = {
        .name = "fk-import", .queue_max = 16, .each = import_reports_prune};
    return job_worker_start(&o, db_url, &worker);
}

void import_worker_stop(void)
{
    job_worker_stop(&worker);
}

err import_template(const char *sheet, const char *const *heads, const char *const *hints,
                    const double *widths, size_t n, int *fd_r, int64_t *size_r)
{
    xlsx_writer *w;
    err e = xlsx_writer_open_temp(NULL, &w);
    if (e)
        return e;
    if ((e = xlsx_sheet_add(w, sheet))) {
        err_ignore(xlsx_close(&w)); /* the first error is the one to report */
        return e;
    }
    for (size_t i = 0; i < n; i++)
        xlsx_col_width(w, (int)i, widths ? widths[i] : 24);
    xlsx_row_header(w, heads, n);
    if (hints)
        xlsx_row_hints(w, hints, n);
    return xlsx_close_fd(&w, fd_r, size_r);
}

bool import_cells(const struct xlsx_cell *cells, size_t have, struct xlsx_cell *out, size_t n)
{
    const struct xlsx_cell empty = {.type = XLSX_EMPTY, .text = ""};
    bool blank = true;
    for (size_t i = 0; i < n; i++) {
        out[i] = i < have ? cells[i] : empty;
        out[i].col = (int)i;
        blank = blank && !*out[i].text;
    }
    return blank;
}

struct upload_task {
    struct import_upload u;
    void (*run)(db *d, const struct import_upload *u);
};

static void upload_run(db *d, void *arg)
{
    struct upload_task *t = arg;
    t->run(d, &t->u);
}

static void upload_free(void *arg)
{
    struct upload_task *t = arg;
    free((void *)t->u.data);
    free(t);
}

err import_upload_submit(db *d, const struct import_upload *u,
                         void (*run)(db *d, const struct import_upload *u))
{
    struct upload_task *t = calloc(1, sizeof *t);
    void *copy = u->n ? malloc(u->n) : NULL;
    if (!t || (u->n && !copy)) {
        free(t);
        free(copy);
        return err_set(E_NOMEM, NULL, NULL, NULL);
    }
    if (u->n)
        memcpy(copy, u->data, u->n);
    t->u = *u;
    t->u.data = copy;
    t->run = run;
    if (job_worker_submit(worker, d, upload_run, upload_free, t) == E_UNAVAILABLE) {
        upload_run(d, t); /* a full queue: here, as with no worker */
        upload_free(t);
    }
    return E_OK;
}

/* ---- a template's rows ----------------------------------------------------------------------- */

err import_header(const struct import_kind *k, struct import_header *h, bool csv, long row,
                  const struct xlsx_cell *cells, size_t n, bool *data_r)
{
    *data_r = false;
    if (!h->ok) {
        /* the first row with a value is the template's header */
        if (n < (size_t)k->min_cols || (size_t)k->key1 >= n || (size_t)k->key2 >= n ||
            strcmp(cells[k->key1].text, k->heads[k->key1]) ||
            strcmp(cells[k->key2].text, k->heads[k->key2]))
            return err_set(E_INPUT, csv ? "invalid_csv" : "invalid_xlsx", NULL,
                           "第 %ld 行不是导入模板的表头：请下载“%s”导入模板，按模板填写", row,
                           k->title);
        h->ok = true;
        h->row = row;
        return E_OK;
    }
    if (row == h->row + 1 && n && !strcmp(cells[0].text, k->hints[0])) {
        h->hints = true;
        return E_OK;
    }
    *data_r = true;
    return E_OK;
}

static err kind_row(void *ctx, long row, const struct xlsx_cell *cells, size_t n)
{
    struct import_run *st = ctx;
    const struct import_kind *k = st->k;
    bool data;
    err e = import_header(k, &st->h, st->csv, row, cells, n, &data);
    if (e || !data)
        return e;
    if (k->skip_blank) {
        struct xlsx_cell c[64];
        if ((size_t)k->ncols <= sizeof c / sizeof *c && import_cells(cells, n, c, (size_t)k->ncols))
            return E_OK; /* a blank row */
    }
    st->data_rows++;
    if (st->check_only)
        return E_OK;
    if ((e = k->row(st, row, cells, n)))
        return st->fatal = e;
    if (k->progress_every && st->data_rows % k->progress_every == 0)
        err_ignore(job_update(st->d, st->job_id, "running", st->data_rows, 0, NULL));
    return E_OK;
}

err import_kind_check(const struct import_kind *k, const void *data, size_t n, bool csv,
                      long *rows_r)
{
    struct import_run st = {.k = k, .csv = csv, .check_only = true};
    const struct xlsx_limits lim = {.max_rows = k->max_rows + 2}; /* the header and hints */
    err e = import_read(data, n, csv, csv ? NULL : k->sheet, &lim, kind_row, &st);
    if (e)
        return e;
    if (!st.data_rows)
        return err_set(E_INPUT, "empty", NULL, "文件中没有%s：请按模板填写后再导入", k->rows_name);
    *rows_r = st.data_rows;
    return E_OK;
}

void import_kind_run(db *d, const struct import_upload *j, const struct import_kind *k, void *ctx,
                     const char *detail_prefix)
{
    /* the job runs on the import worker's thread: no caller's arena to take */
    arena *kept = arena_new(1 << 16);    /* the failed rows, until the report is written */
    arena *per_row = arena_new(1 << 16); /* one row's parse and write, reset between rows */
    struct import_run st = {.k = k,
                            .csv = j->csv,
                            .fail = {.a = kept},
                            .ra = per_row,
                            .d = d,
                            .job_id = j->job_id,
                            .who = &j->who,
                            .ctx = ctx};
    const struct xlsx_limits lim = {.max_rows = k->max_rows + 2};
    err_ignore(job_update(d, j->job_id, "running", 0, j->rows, NULL)); /* display only */
    err e = kept && per_row ? E_OK : E_NOMEM;
    if (!e && !(e = db_begin(d))) {
        e = import_read(j->data, j->n, j->csv, j->csv ? NULL : k->sheet, &lim, kind_row, &st);
        if (!e && st.fatal)
            e = st.fatal;
        char detail[200];
        snprintf(detail, sizeof detail, "%stotal=%ld written=%zu failed=%zu",
                 detail_prefix ? detail_prefix : "", st.data_rows, st.written, st.fail.n);
        if (!e && !(e = import_job_audit(d, j, k->action, detail)))
            e = db_commit(d);
        if (e)
            db_rollback(d);
    }
    if (e) {
        import_job_fail(d, j->job_id, k->fail_kind, e);
    } else {
        bool report = import_report_done(j->job_id, k->sheet, k->heads, k->ncols, &st.fail);
        import_job_done(d, j->job_id, st.data_rows,
                        json_pack("{s:I,s:I,s:I,s:b}", "total", (json_int_t)st.data_rows, "written",
                                  (json_int_t)st.written, "failed", (json_int_t)st.fail.n, "report",
                                  report));
    }
    import_failures_free(&st.fail);
    arena_free(&st.fail.a);
    arena_free(&st.ra);
}
