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
static err import_row(struct import_run *st, long row, const struct xlsx_cell *cells, size_t n)
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

static const struct import_kind kind = {
    .sheet = TRIP_IMPORT_SHEET,
    .title = "出行记录",
    .rows_name = "出行记录",
    .heads = heads,
    .hints = hints,
    .ncols = C__COUNT,
    .min_cols = C_DESTINATION + 1,
    .key1 = C_ID_NUMBER,
    .key2 = C_DESTINATION,
    .max_rows = TRIP_IMPORT_MAX_ROWS,
    .skip_blank = false,
    .progress_every = 1000,
    .action = "trace.trip.import",
    .fail_kind = "trace.trip_import",
    .row = import_row,
};

err trip_import_check(const void *data, size_t n, bool csv, long *rows_r)
{
    return import_kind_check(&kind, data, n, csv, rows_r);
}

/* ---- the job -------------------------------------------------------------------------------- */

static void run_import(db *d, const struct import_upload *j)
{
    import_kind_run(d, j, &kind, NULL, NULL);
}

err trip_import_submit(db *d, int64_t job_id, const struct principal *who, const void *data,
                       size_t n, bool csv, long rows)
{
    struct import_upload u = {
        .job_id = job_id, .who = *who, .data = data, .n = n, .csv = csv, .rows = rows};
    return import_upload_submit(d, &u, run_import);
}
