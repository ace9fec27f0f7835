/*
 * The import of trips from a spreadsheet (trace.h; docs/tracing.md
 * "Import"), on the shared import worker (job/import.h): one row per trip,
 * the person named by the full resident id number (found in the importer's
 * scope through the blind index), the legs and waypoints in text.
 *
 * Each row is turned into the same JSON body POST /api/v1/trips takes and
 * checked by the same code (trip_apply_json, trip_create), so an import
 * accepts exactly what the API accepts; an error's field names the column
 * it marks in the report. trip_create checks everything before it writes,
 * so a refused row leaves nothing behind; the valid rows and the audit
 * entry commit in one transaction (a failure of the database rolls all of
 * them back and fails the job).
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "base/json.h"
#include "base/log.h"
#include "base/validate.h"
#include "base/xlsx.h"
#include "db/fields.h"
#include "job/import.h"
#include "job/job.h"
#include "person/person.h"
#include "security/audit.h"
#include "trace/trace.h"

/* ---- the template ----------------------------------------------------------------------- */

enum col {
    C_ID_NUMBER,
    C_DEPARTED,
    C_RETURNED,
    C_ORIGIN,
    C_DESTINATION,
    C_OUT_MODE,
    C_OUT_NUMBER,
    C_BACK_MODE,
    C_BACK_NUMBER,
    C_WAYPOINTS,
    C_NOTE,
    C__COUNT
};

static const char *const heads[C__COUNT] = {
    "证件号码*",     "出行日期*", "返回日期",      "出发地", "目的地*", "去程交通*",
    "去程班次/车牌", "返程交通",  "返程班次/车牌", "途径点", "备注",
};

static const char *const hints[C__COUNT] = {
    "必填：18位居民身份证号码，人员须已登记且在您的管辖范围内",
    "必填：日期单元格，或文字 yyyy-mm-dd",
    "选填：不早于出行日期",
    "选填：城市或地区",
    "必填：城市或地区",
    "必填：飞机、火车、长途汽车、自驾/汽车、轮船或其他",
    "飞机填航班号（如 CA1234），火车填车次（如 G123），自驾填车牌（如 京A12345）",
    "选填：同去程交通",
    "选填：同去程班次/车牌",
    "选填：类型/地点/停留分钟，多个用分号隔开，如 商场/万达广场/60；公园/人民公园/30",
    "选填，200字以内",
};

static const double widths[C__COUNT] = {22, 14, 14, 12, 12, 12, 18, 12, 18, 50, 20};

err trip_import_template(int *fd_r, int64_t *size_r)
{
    return import_template(TRIP_IMPORT_SHEET, heads, hints, widths, C__COUNT, fd_r, size_r);
}

/* ---- rows -------------------------------------------------------------------------------- */

struct run {
    bool csv, check_only, header_ok;
    long header_row, data_rows;
    struct import_failures fail;
    arena *ra; /* one row's, reset between rows */
    db *d;
    int64_t job_id;
    const struct principal *who;
    size_t written;
    err fatal;
};

static const char *cell_text(arena *a, const struct xlsx_cell *cells, size_t n, int c)
{
    if ((size_t)c >= n || cells[c].type == XLSX_EMPTY)
        return NULL;
    const char *s = field_trim(a, cells[c].text);
    return *s ? s : NULL;
}

/* A mode cell: the vocabulary's label (飞机) or name (flight); the text
 * itself when neither, for the API's check to refuse. */
static const char *mode_name(const char *s)
{
    for (int m = 1; m < TRIP_MODE__COUNT; m++)
        if (!strcmp(s, vocab_label(&trip_mode_vocab, (size_t)m)) ||
            !strcmp(s, vocab_name(&trip_mode_vocab, (size_t)m)))
            return vocab_name(&trip_mode_vocab, (size_t)m);
    if (!strcmp(s, "汽车") || !strcmp(s, "自驾"))
        return "car";
    return s;
}

static json_t *leg_json(arena *a, const struct xlsx_cell *cells, size_t n, int mode_col,
                        int number_col)
{
    const char *mode = cell_text(a, cells, n, mode_col),
               *number = cell_text(a, cells, n, number_col);
    if (!mode && !number)
        return NULL;
    json_t *o = json_object();
    if (mode)
        json_object_set_new(o, "mode", json_string(mode_name(mode)));
    if (number)
        json_object_set_new(o, mode && !strcmp(mode_name(mode), "car") ? "plate" : "number",
                            json_string(number));
    return o;
}

/* "类型/地点/分钟；…" as the waypoints array; a malformed entry is a kind
 * the check refuses, so its message names the waypoint. */
static json_t *waypoints_json(arena *a, const char *s)
{
    json_t *arr = json_array();
    char *copy = arena_strdup(a, s), *save = NULL;
    /* both semicolons: the full-width one is three bytes, turned into ';' */
    for (char *p = copy; (p = strstr(p, "；"));) {
        p[0] = ';';
        memmove(p + 1, p + 3, strlen(p + 3) + 1);
    }
    for (char *tok = strtok_r(copy, ";", &save); tok; tok = strtok_r(NULL, ";", &save)) {
        tok = (char *)field_trim(a, tok);
        if (!*tok)
            continue;
        char *kind = tok, *place = strchr(tok, '/'), *stay = NULL;
        if (place) {
            *place++ = 0;
            if ((stay = strchr(place, '/')))
                *stay++ = 0;
        }
        const char *k = field_trim(a, kind);
        for (int i = 1; i < TRIP_WP__COUNT; i++)
            if (!strcmp(k, vocab_label(&trip_waypoint_kind_vocab, (size_t)i)))
                k = vocab_name(&trip_waypoint_kind_vocab, (size_t)i);
        json_t *w = json_pack("{s:s}", "kind", k);
        if (place)
            json_object_set_new(w, "place", json_string(field_trim(a, place)));
        if (stay) {
            char *end;
            long v = strtol(field_trim(a, stay), &end, 10);
            json_object_set_new(w, "stay_minutes", *end ? json_string(stay) : json_integer(v));
        }
        json_array_append_new(arr, w);
    }
    return arr;
}

/* The column an error's field names (the report marks it). */
static int column_of(const char *field)
{
    static const struct {
        const char *prefix;
        int col;
    } map[] = {
        {"person_id", C_ID_NUMBER},  {"id_number", C_ID_NUMBER}, {"departed_on", C_DEPARTED},
        {"returned_on", C_RETURNED}, {"origin", C_ORIGIN},       {"destination", C_DESTINATION},
        {"out.mode", C_OUT_MODE},    {"out.", C_OUT_NUMBER},     {"back.mode", C_BACK_MODE},
        {"back.", C_BACK_NUMBER},    {"waypoints", C_WAYPOINTS}, {"note", C_NOTE},
    };
    for (size_t i = 0; field && i < sizeof map / sizeof map[0]; i++)
        if (!strncmp(field, map[i].prefix, strlen(map[i].prefix)))
            return map[i].col;
    return -1;
}

/* One data row: E_OK written or kept as failed; another error is fatal. */
static err import_row(struct run *st, long row, const struct xlsx_cell *cells, size_t n)
{
    arena *a = st->ra;
    arena_reset(a);
    struct import_mark mark = {-1, NULL};
    for (size_t c = 0; c < n && c < C__COUNT; c++)
        if (cells[c].formula)
            mark = (struct import_mark){(int)c, "单元格含有公式，请复制后“粘贴为数值”再导入"};
    const char *idno = cell_text(a, cells, n, C_ID_NUMBER);
    struct person p;
    err e = E_OK;
    if (!mark.msg && !idno)
        mark = (struct import_mark){C_ID_NUMBER, "请填写证件号码"};
    else if (!mark.msg) {
        e = person_find_by_id_number(st->d, a, &st->who->scope, ID_RESIDENT, idno, &p);
        if (e == E_NOT_FOUND || e == E_INPUT) {
            mark = (struct import_mark){C_ID_NUMBER,
                                        "证件号码不正确，或该人员未登记、不在您的管辖范围内"};
            e = E_OK;
        }
    }
    if (e)
        return e;
    if (!mark.msg) {
        json_t *b = json_object();
        json_object_set_new(b, "person_id", json_string(arena_printf(a, "%lld", (long long)p.id)));
        static const struct {
            int col;
            const char *key;
        } texts[] = {{C_DEPARTED, "departed_on"},
                     {C_RETURNED, "returned_on"},
                     {C_ORIGIN, "origin"},
                     {C_DESTINATION, "destination"},
                     {C_NOTE, "note"}};
        for (size_t i = 0; i < sizeof texts / sizeof texts[0]; i++) {
            const char *s = cell_text(a, cells, n, texts[i].col);
            /* a date cell's text is "YYYY-MM-DD" or with a time: the day */
            if (s && cells[texts[i].col].type == XLSX_DATE)
                s = arena_strndup(a, s, 10);
            if (s)
                json_object_set_new(b, texts[i].key, json_string(s));
        }
        json_t *out = leg_json(a, cells, n, C_OUT_MODE, C_OUT_NUMBER),
               *back = leg_json(a, cells, n, C_BACK_MODE, C_BACK_NUMBER);
        json_object_set_new(b, "out", out ? out : json_object());
        if (back)
            json_object_set_new(b, "back", back);
        const char *wps = cell_text(a, cells, n, C_WAYPOINTS);
        if (wps)
            json_object_set_new(b, "waypoints", waypoints_json(a, wps));
        struct trip t = {0};
        int64_t id;
        e = trip_apply_json(a, b, &t);
        if (!e)
            e = trip_create(st->d, a, &st->who->scope, &t, TRIP_IMPORT, st->who->user_id, &id);
        json_decref(b);
        if (e == E_INPUT || e == E_NOT_FOUND) {
            const struct err_detail *dt = err_last();
            mark = (struct import_mark){column_of(dt->field), arena_strdup(a, dt->message)};
            e = E_OK;
        } else if (!e)
            st->written++;
    }
    if (!e && mark.msg)
        e = import_failures_keep(&st->fail, row, cells, n, &mark, 1);
    err_clear();
    return e;
}

static err on_row(void *ctx, long row, const struct xlsx_cell *cells, size_t n)
{
    struct run *st = ctx;
    if (!st->header_ok) {
        /* the first row with a value is the template's header */
        if (n < C_DESTINATION + 1 || strcmp(cells[C_ID_NUMBER].text, heads[C_ID_NUMBER]) ||
            strcmp(cells[C_DESTINATION].text, heads[C_DESTINATION]))
            return err_set(E_INPUT, st->csv ? "invalid_csv" : "invalid_xlsx", NULL,
                           "第 %ld 行不是导入模板的表头：请下载“出行记录”导入模板，按模板填写",
                           row);
        st->header_ok = true;
        st->header_row = row;
        return E_OK;
    }
    if (row == st->header_row + 1 && n && !strcmp(cells[0].text, hints[C_ID_NUMBER]))
        return E_OK; /* the hints row */
    st->data_rows++;
    if (st->check_only)
        return E_OK;
    err e = import_row(st, row, cells, n);
    if (e)
        return st->fatal = e;
    if (st->data_rows % 1000 == 0)
        err_ignore(job_update(st->d, st->job_id, "running", st->data_rows, 0, NULL));
    return E_OK;
}

static const struct xlsx_limits limits = {.max_rows = TRIP_IMPORT_MAX_ROWS + 2};

err trip_import_check(const void *data, size_t n, bool csv, long *rows_r)
{
    struct run st = {.csv = csv, .check_only = true};
    err e = import_read(data, n, csv, csv ? NULL : TRIP_IMPORT_SHEET, &limits, on_row, &st);
    if (e)
        return e;
    if (!st.data_rows)
        return err_set(E_INPUT, "empty", NULL, "文件中没有出行记录：请按模板填写后再导入");
    *rows_r = st.data_rows;
    return E_OK;
}

/* ---- the job -------------------------------------------------------------------------------- */

static void run_import(db *d, const struct import_upload *j)
{
    /* the job runs on the import worker's thread: no caller's arena to take */
    arena *kept = arena_new(1 << 16);    /* the failed rows, until the report is written */
    arena *per_row = arena_new(1 << 16); /* one row's parse and write, reset between rows */
    struct run st = {.csv = j->csv,
                     .fail = {.a = kept},
                     .ra = per_row,
                     .d = d,
                     .job_id = j->job_id,
                     .who = &j->who};
    err_ignore(job_update(d, j->job_id, "running", 0, j->rows, NULL)); /* display only */
    err e = kept && st.ra ? E_OK : E_NOMEM;
    if (!e && !(e = db_begin(d))) {
        e = import_read(j->data, j->n, j->csv, j->csv ? NULL : TRIP_IMPORT_SHEET, &limits, on_row,
                        &st);
        if (!e && st.fatal)
            e = st.fatal;
        char detail[160];
        snprintf(detail, sizeof detail, "total=%ld written=%zu failed=%zu", st.data_rows,
                 st.written, st.fail.n);
        if (!e && !(e = import_job_audit(d, j, "trace.trip.import", detail)))
            e = db_commit(d);
        if (e)
            db_rollback(d);
    }
    if (e) {
        import_job_fail(d, j->job_id, "trace.trip_import", e);
        goto out;
    }
    bool report = import_report_done(j->job_id, TRIP_IMPORT_SHEET, heads, C__COUNT, &st.fail);
    import_job_done(d, j->job_id, st.data_rows,
                    json_pack("{s:I,s:I,s:I,s:b}", "total", (json_int_t)st.data_rows, "written",
                              (json_int_t)st.written, "failed", (json_int_t)st.fail.n, "report",
                              report));
out:
    import_failures_free(&st.fail);
    arena_free(&st.fail.a);
    arena_free(&st.ra);
}

err trip_import_submit(db *d, int64_t job_id, const struct principal *who, const void *data,
                       size_t n, bool csv, long rows)
{
    struct import_upload u = {
        .job_id = job_id, .who = *who, .data = data, .n = n, .csv = csv, .rows = rows};
    return import_upload_submit(d, &u, run_import);
}
