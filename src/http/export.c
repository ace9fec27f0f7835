/*
 * Exports of a list as CSV or xlsx (http/export.h): one writer for every
 * list, so the four case lists and later ones do not each keep a copy of
 * the CSV and workbook plumbing.
 */
#include "http/export.h"

#include <stdio.h>
#include <string.h>
#include <unistd.h>

#include "base/time.h"
#include "security/rbac.h"

static const char *const XLSX_TYPE =
    "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet";

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

err export_begin(struct req *r, struct export_out *x, enum export_format format, const char *sheet,
                 const char *const *head, size_t n)
{
    memset(x, 0, sizeof *x);
    x->r = r;
    x->format = format;
    if (format != EXPORT_XLSX) {
        x->format = EXPORT_CSV;
        reply_csv_begin(r, &x->csv);
        for (size_t i = 0; i < n; i++)
            csv_text(&x->csv, head[i]);
        csv_row_end(&x->csv);
        return E_OK;
    }
    /* rows flushed as they are written: flat memory for any length */
    struct xlsx_write_opts opt = {.constant_memory = true};
    err e = xlsx_writer_open_temp(&opt, &x->x);
    if (e)
        return e;
    if ((e = xlsx_sheet_add(x->x, sheet))) {
        int fd;
        int64_t size;
        if (!xlsx_close_fd(&x->x, &fd, &size))
            close(fd);
        return e;
    }
    xlsx_row_header(x->x, head, n);
    /* the id and the times are the wide columns of every list */
    for (size_t i = 0; i < n; i++)
        xlsx_col_width(x->x, (int)i, strstr(head[i], "时间") || i == 0 ? 20 : 14);
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
    return reply_file(r, 200, XLSX_TYPE, fd, size);
}
