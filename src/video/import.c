/*
 * The import of an offline camera survey (video.h; docs/video.md
 * "Import"), on the shared import worker (job/import.h): one row per
 * camera. Each row becomes the JSON body POST /api/v1/cameras takes and is
 * checked by the same code (the field table, camera_create), so an import
 * accepts exactly what the API accepts; an error's field names the column
 * it marks in the report. camera_create checks everything before it
 * writes, so a refused row leaves nothing behind; the valid rows and the
 * audit entry commit in one transaction.
 */
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "base/json.h"
#include "base/log.h"
#include "base/xlsx.h"
#include "db/fields.h"
#include "job/import.h"
#include "job/job.h"
#include "security/audit.h"
#include "video/internal.h"
#include "video/video.h"

/* ---- the template ----------------------------------------------------------------------- */

enum col {
    C_NAME,
    C_CODE,
    C_KIND,
    C_REGION,
    C_LNG,
    C_LAT,
    C_URL,
    C_OBJECT_KIND,
    C_OBJECT_NAME,
    C__COUNT
};

static const char *const heads[C__COUNT] = {
    "摄像头名称*", "视频网编号",  "摄像头类型*",  "区划代码*",    "经度*",
    "纬度*",       "视频流地址*", "监控对象类型", "监控对象名称",
};

static const char *const hints[C__COUNT] = {
    "必填，100字以内",
    "选填：视频专网中的设备编号",
    "必填：枪机、球机、半球或其他",
    "必填：12位区划代码（社区），须在您的管辖范围内",
    "必填：-180到180，如 116.397428",
    "必填：-90到90，如 39.90923",
    "必填：http://、https:// 或 rtsp:// 开头",
    "选填：核酸采样点、场所码点位、场所、封控管控区域、公共厕所或其他",
    "填写了监控对象类型时必填",
};

static const double widths[C__COUNT] = {24, 22, 12, 16, 14, 14, 44, 16, 24};

err camera_import_template(int *fd_r, int64_t *size_r)
{
    return import_template(CAMERA_IMPORT_SHEET, heads, hints, widths, C__COUNT, fd_r, size_r);
}

/* ---- rows -------------------------------------------------------------------------------- */

static const char *cell_text(arena *a, const struct xlsx_cell *cells, int c)
{
    if (cells[c].type == XLSX_EMPTY)
        return NULL;
    const char *s = field_trim(a, cells[c].text);
    return *s ? s : NULL;
}

/* A vocabulary cell: its label (枪机) or name (bullet); the text itself
 * when neither, for the field table's check to refuse. */
static const char *word_of(const struct vocab *v, const char *s)
{
    for (size_t i = 1; i < v->n; i++)
        if (!strcmp(s, vocab_label(v, i)) || !strcmp(s, vocab_name(v, i)))
            return vocab_name(v, i);
    return s;
}

/* The column an error's field names (the report marks it). */
static int column_of(const char *field)
{
    static const struct {
        const char *field;
        int col;
    } map[] = {
        {"name", C_NAME},
        {"code", C_CODE},
        {"kind", C_KIND},
        {"region_code", C_REGION},
        {"lng", C_LNG},
        {"lat", C_LAT},
        {"stream_url", C_URL},
        {"object_kind", C_OBJECT_KIND},
        {"object_name", C_OBJECT_NAME},
    };
    for (size_t i = 0; field && i < sizeof map / sizeof map[0]; i++)
        if (!strcmp(field, map[i].field))
            return map[i].col;
    return -1;
}

/* The row as the API's body; a mark instead when a cell cannot be one. */
static json_t *row_body(arena *a, const struct xlsx_cell *c, struct import_mark *mark)
{
    json_t *b = json_object();
    static const struct {
        int col;
        const char *key;
        const struct vocab *v;
    } texts[] = {
        {C_NAME, "name", NULL},
        {C_CODE, "code", NULL},
        {C_KIND, "kind", &camera_kind_vocab},
        {C_REGION, "region_code", NULL},
        {C_URL, "stream_url", NULL},
        {C_OBJECT_KIND, "object_kind", &camera_object_vocab},
        {C_OBJECT_NAME, "object_name", NULL},
    };
    for (size_t i = 0; i < sizeof texts / sizeof texts[0]; i++) {
        const char *s = cell_text(a, c, texts[i].col);
        if (s)
            json_object_set_new(b, texts[i].key,
                                json_string(texts[i].v ? word_of(texts[i].v, s) : s));
    }
    static const struct {
        int col;
        const char *key, *msg;
    } numbers[] = {{C_LNG, "lng", "经度应为数字，如 116.397428"},
                   {C_LAT, "lat", "纬度应为数字，如 39.90923"}};
    for (size_t i = 0; i < sizeof numbers / sizeof numbers[0]; i++) {
        const char *s = cell_text(a, c, numbers[i].col);
        char *end = NULL;
        double v = s ? strtod(s, &end) : NAN;
        if (s && (*end || !isfinite(v)) && !mark->msg)
            *mark = (struct import_mark){numbers[i].col, numbers[i].msg};
        else if (s)
            json_object_set_new(b, numbers[i].key, json_real(v));
    }
    return b;
}

/* One data row: E_OK written or kept as failed; another error is fatal. */
static err import_row(struct import_run *st, long row, const struct xlsx_cell *cells, size_t n)
{
    arena *a = st->ra;
    arena_reset(a);
    struct xlsx_cell c[C__COUNT];
    import_cells(cells, n, c, C__COUNT);
    struct import_mark mark = {-1, NULL};
    for (int i = 0; i < C__COUNT; i++)
        if (c[i].formula)
            mark = (struct import_mark){i, "单元格含有公式，请复制后“粘贴为数值”再导入"};
    err e = E_OK;
    if (!mark.msg) {
        json_t *b = row_body(a, c, &mark);
        struct camera_input in = {0};
        int64_t id;
        if (!mark.msg) {
            e = fields_from_json(camera_input_rows, CAMERA_INPUT_COUNT, b, a, &in, &in.set);
            if (!e)
                e = camera_create(st->d, a, &st->who->scope, &in, &id);
        }
        json_decref(b);
        if (e == E_INPUT || e == E_NOT_FOUND) {
            const struct err_detail *dt = err_last();
            mark = (struct import_mark){column_of(dt->field), arena_strdup(a, dt->message)};
            e = E_OK;
        } else if (!e && !mark.msg) {
            st->written++;
        }
    }
    if (!e && mark.msg)
        e = import_failures_keep(&st->fail, row, cells, n, &mark, 1);
    err_clear();
    return e;
}

static const struct import_kind kind = {
    .sheet = CAMERA_IMPORT_SHEET,
    .title = "摄像头台账",
    .rows_name = "摄像头记录",
    .heads = heads,
    .hints = hints,
    .ncols = C__COUNT,
    .min_cols = C_URL + 1,
    .key1 = C_NAME,
    .key2 = C_URL,
    .max_rows = CAMERA_IMPORT_MAX_ROWS,
    .skip_blank = true,
    .progress_every = 1000,
    .action = "camera.import",
    .fail_kind = "video.camera_import",
    .row = import_row,
};

err camera_import_check(const void *data, size_t n, bool csv, long *rows_r)
{
    return import_kind_check(&kind, data, n, csv, rows_r);
}

/* ---- the job -------------------------------------------------------------------------------- */

static void run_import(db *d, const struct import_upload *j)
{
    import_kind_run(d, j, &kind, NULL, NULL);
}

err camera_import_submit(db *d, int64_t job_id, const struct principal *who, const void *data,
                         size_t n, bool csv, long rows)
{
    struct import_upload u = {
        .job_id = job_id, .who = *who, .data = data, .n = n, .csv = csv, .rows = rows};
    return import_upload_submit(d, &u, run_import);
}
