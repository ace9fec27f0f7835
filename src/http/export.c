/*
 * Exports of a list as CSV or xlsx (http/export.h): one writer for every
 * list, so the four case lists and later ones do not each keep a copy of
 * the CSV and workbook plumbing.
 */
#include "http/export.h"

#include <errno.h>
#include <event2/http.h>
#include <event2/keyvalq_struct.h>
#include <fcntl.h>
#include <stdio.h>
#include <string.h>
#include <sys/queue.h>
#include <unistd.h>

#include "base/time.h"
#include "base/xlsx.h"
#include "http/internal.h"
#include "security/rbac.h"

/* A file export's CSV goes to the file once this many bytes are built. */
#define CSV_FLUSH (256 * 1024)

static int64_t sync_max = EXPORT_SYNC_MAX_DEFAULT;

void export_sync_max_set(int64_t n)
{
    sync_max = n > 0 ? n : EXPORT_SYNC_MAX_DEFAULT;
}

int64_t export_sync_max(void)
{
    return sync_max;
}

err export_too_large(void)
{
    return err_set(E_TOO_LARGE, "export_too_large", "format",
                   "直接导出最多%lld条记录，请缩小筛选范围，或使用“导出任务”在后台导出全部记录",
                   (long long)sync_max);
}

err export_check_total(int64_t total)
{
    return total > sync_max ? export_too_large() : E_OK;
}

err export_room(const struct export_out *x)
{
    if (x->werr)
        return x->werr;
    if (x->max && x->rows >= x->max)
        return export_too_large();
    return E_OK;
}

err req_export_format(struct req *r, enum export_format *f_r)
{
    const char *v = req_query(r, "format");
    *f_r = EXPORT_NONE;
    if (!v || !strcmp(v, "json"))
        return E_OK;
    if (!strcmp(v, "csv"))
        *f_r = EXPORT_CSV;
    else if (!strcmp(v, "xlsx"))
        *f_r = EXPORT_XLSX;
    else
        return err_set(E_INPUT, "invalid_parameter", "format",
                       "参数 format 应为 json、csv 或 xlsx");
    return E_OK;
}

err req_reveal(struct req *r, bool *reveal_r)
{
    const char *v = req_query(r, "reveal");
    *reveal_r = false;
    if (!v || !strcmp(v, "0") || !strcmp(v, "false"))
        return E_OK;
    if (strcmp(v, "1") && strcmp(v, "true"))
        return err_set(E_INPUT, "invalid_parameter", "reveal", "参数 reveal 应为 1 或 0");
    if (!principal_can(r->who, PERM_PERSON_REVEAL))
        return err_set(E_FORBIDDEN, "reveal_forbidden", "reveal", "您没有查看完整个人信息的权限");
    *reveal_r = true;
    return E_OK;
}

const char *export_format_name(enum export_format f)
{
    return f == EXPORT_XLSX ? "format=xlsx" : "format=csv";
}

static void csv_head(struct export_out *x, const char *const *head, size_t n)
{
    for (size_t i = 0; i < n; i++)
        csv_text(&x->csv, head[i]);
    csv_row_end(&x->csv);
}

/* The workbook's sheet, header row and column widths. */
static err xlsx_head(struct export_out *x, const char *sheet, const char *const *head, size_t n)
{
    err e = xlsx_sheet_add(x->x, sheet);
    if (e)
        return e;
    xlsx_row_header(x->x, head, n);
    /* the id and the times are the wide columns of every list */
    for (size_t i = 0; i < n; i++)
        xlsx_col_width(x->x, (int)i, strstr(head[i], "时间") || i == 0 ? 20 : 14);
    return E_OK;
}

err export_begin(struct req *r, struct export_out *x, enum export_format format, const char *sheet,
                 const char *const *head, size_t n)
{
    memset(x, 0, sizeof *x);
    x->r = r;
    x->format = format;
    x->fd = -1;
    x->max = sync_max; /* the event loop waits for this reply: kept small */
    if (format != EXPORT_XLSX) {
        x->format = EXPORT_CSV;
        reply_csv_begin(r, &x->csv);
        csv_head(x, head, n);
        return E_OK;
    }
    /* rows flushed as they are written: flat memory for any length */
    struct xlsx_write_opts opt = {.constant_memory = true};
    err e = xlsx_writer_open_temp(&opt, &x->x);
    if (e)
        return e;
    if ((e = xlsx_head(x, sheet, head, n))) {
        int fd;
        int64_t size;
        if (!xlsx_close_fd(&x->x, &fd, &size))
            close(fd);
        return e;
    }
    return E_OK;
}

err export_begin_file(arena *a, struct export_out *x, enum export_format format, const char *sheet,
                      const char *const *head, size_t n, const char *path)
{
    memset(x, 0, sizeof *x);
    x->format = format == EXPORT_XLSX ? EXPORT_XLSX : EXPORT_CSV;
    x->fd = -1;
    if (x->format == EXPORT_CSV) {
        x->fd = open(path, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0600);
        if (x->fd < 0)
            return err_errno_disk_full(errno)
                       ? err_disk_full("export")
                       : err_set(E_IO, NULL, NULL, "cannot create %s: %s", path, strerror(errno));
        csv_out_init(&x->csv, a, true);
        csv_head(x, head, n);
        return E_OK;
    }
    struct xlsx_write_opts opt = {.constant_memory = true};
    err e = xlsx_writer_open(path, &opt, &x->x);
    if (e)
        return e;
    if ((e = xlsx_head(x, sheet, head, n))) {
        err_ignore(xlsx_close(&x->x)); /* the sheet's error is the one to report */
        unlink(path);
    }
    return e;
}

/* Write the CSV built so far to the file and start the buffer over. */
static err csv_flush(struct export_out *x)
{
    size_t off = 0;
    while (off < x->csv.n) {
        ssize_t w = write(x->fd, x->csv.p + off, x->csv.n - off);
        if (w < 0 && errno == EINTR)
            continue;
        if (w <= 0)
            return err_errno_disk_full(errno)
                       ? err_disk_full("export")
                       : err_set(E_IO, NULL, NULL, "export write: %s", strerror(errno));
        off += (size_t)w;
    }
    x->csv.n = 0;
    x->csv.row_start = 0;
    x->csv.p[0] = '\0';
    return E_OK;
}

err export_end_file(struct export_out *x, err e, const char *path)
{
    if (x->format == EXPORT_CSV) {
        if (!e && !x->werr)
            e = csv_flush(x);
        if (x->fd >= 0 && close(x->fd) && !e)
            e = err_errno_disk_full(errno)
                    ? err_disk_full("export")
                    : err_set(E_IO, NULL, NULL, "export close: %s", strerror(errno));
        x->fd = -1;
    } else {
        err e2 = xlsx_close(&x->x);
        if (!e)
            e = e2;
    }
    if (!e)
        e = x->werr;
    if (e)
        unlink(path);
    return e;
}

/* ---- the sources of export jobs ---------------------------------------------------------- */

#define SOURCES_MAX 8
static const struct export_source *sources[SOURCES_MAX];
static size_t nsources;

err export_source_add(const struct export_source *s)
{
    for (size_t i = 0; i < nsources; i++)
        if (sources[i] == s) /* app_routes run again (tools) */
            return E_OK;
    if (nsources == SOURCES_MAX)
        return err_set(E_INTERNAL, NULL, NULL, "export sources: the table is full");
    sources[nsources++] = s;
    return E_OK;
}

const struct export_source *export_source_find(const char *list)
{
    for (size_t i = 0; list && i < nsources; i++)
        if (!strcmp(sources[i]->list, list))
            return sources[i];
    return NULL;
}

const struct export_source *export_source_of_kind(const char *kind)
{
    for (size_t i = 0; kind && i < nsources; i++)
        if (!strcmp(sources[i]->kind, kind))
            return sources[i];
    return NULL;
}

static void free_query(void *p)
{
    evhttp_clear_headers(p);
}

err req_detached(arena *a, db *d, const struct principal *who, const json_t *params,
                 struct req **r_r)
{
    struct req *r = arena_zalloc(a, sizeof *r);
    struct req_ev *x = arena_zalloc(a, sizeof *x);
    x->query = arena_zalloc(a, sizeof *x->query);
    TAILQ_INIT(x->query);
    arena_on_free(a, free_query, x->query);
    *r = (struct req){.a = a, .db = d, .who = who, .ip = "", .ev = x, .file_fd = -1};
    const char *k;
    const json_t *v;
    json_object_foreach((json_t *)params, k, v)
    {
        const char *s;
        if (json_is_string(v))
            s = json_string_value(v);
        else if (json_is_integer(v))
            s = arena_printf(a, "%lld", (long long)json_integer_value(v));
        else if (json_is_boolean(v))
            s = json_is_true(v) ? "1" : "0";
        else if (json_is_null(v))
            continue;
        else
            s = NULL;
        if (!s || evhttp_add_header(x->query, k, s))
            return err_set(E_INPUT, "invalid_parameter", arena_printf(a, "filters.%s", k),
                           "筛选条件 %s 的取值不正确", k);
    }
    *r_r = r;
    return E_OK;
}

void export_text(struct export_out *x, const char *s)
{
    if (x->format == EXPORT_XLSX)
        xlsx_cell_text(x->x, s);
    else
        csv_text(&x->csv, s ? s : "");
}

void export_int(struct export_out *x, int64_t v)
{
    if (x->format == EXPORT_XLSX)
        xlsx_cell_int(x->x, v); /* an id of 18 digits is written as text */
    else
        csv_int(&x->csv, v);
}

void export_decimal(struct export_out *x, double v, int places)
{
    if (x->format == EXPORT_XLSX) {
        xlsx_cell_num(x->x, v);
        return;
    }
    char b[64];
    snprintf(b, sizeof b, "%.*f", places, v);
    csv_num(&x->csv, b);
}

static void time_cell(struct export_out *x, int64_t ms, bool with_time)
{
    if (!ms) {
        export_empty(x);
    } else if (x->format == EXPORT_XLSX) {
        if (with_time)
            xlsx_cell_datetime(x->x, ms);
        else
            xlsx_cell_date(x->x, ms);
    } else {
        char b[CHINA_TIME_LEN];
        china_time(ms, b);
        if (!with_time)
            b[10] = '\0'; /* "YYYY-MM-DD" */
        csv_text(&x->csv, b);
    }
}

void export_time(struct export_out *x, int64_t ms)
{
    time_cell(x, ms, true);
}

void export_date(struct export_out *x, int64_t ms)
{
    time_cell(x, ms, false);
}

void export_empty(struct export_out *x)
{
    if (x->format == EXPORT_XLSX)
        xlsx_cell_empty(x->x);
    else
        csv_text(&x->csv, "");
}

void export_row_end(struct export_out *x)
{
    if (x->format == EXPORT_XLSX)
        xlsx_row_end(x->x);
    else
        csv_row_end(&x->csv);
    x->rows++;
    if (x->fd >= 0 && x->csv.n >= CSV_FLUSH && !x->werr)
        x->werr = csv_flush(x);
    if (x->progress && x->rows % EXPORT_PROGRESS_ROWS == 0 && !x->werr)
        x->werr = x->progress(x->progress_ctx, x->rows, x->total);
}

err export_send(struct export_out *x, err e, const char *basename)
{
    struct req *r = x->r;
    if (x->format != EXPORT_XLSX)
        return e ? e : reply_csv(r, &x->csv, arena_printf(r->a, "%s.csv", basename));
    int fd = -1;
    int64_t size = 0;
    err e2 = xlsx_close_fd(&x->x, &fd, &size);
    if (e || e2) {
        if (!e2)
            close(fd);
        return e ? e : e2;
    }
    r->disposition = arena_printf(r->a, "attachment; filename=\"%s.xlsx\"", basename);
    return reply_file(r, 200, XLSX_CONTENT_TYPE, fd, size);
}
