/*
 * Custom reports (report.h): the datasets' whitelists, the check of a
 * definition against them, its storage and its run.
 */
#include "report/report.h"

#include <math.h>
#include <stdio.h>
#include <string.h>

#include "db/catchup.h"
#include "base/id.h"
#include "base/json.h"
#include "base/paging.h"
#include "base/regcode.h"
#include "base/time.h"
#include "base/validate.h"
#include "case/case.h"
#include "db/query.h"
#include "code/code.h"
#include "nat/nat.h"
#include "person/person.h"
#include "task/task.h"

/* A whitelist row: the JSON name, 中文, kind, vocabulary, flags, column. */
#define RF(nm, lab, k, voc, fl, col)                                                               \
    {                                                                                              \
        nm, lab, k, J_STRING, 0, 0, fl, voc, MK_NONE, col, NULL, 0, 0                              \
    }

static const struct field ds_person_fields[] = {
    RF("region_code", "居住地", FD_REGION, NULL, 0, "x.region_code"),
    RF("gender", "性别", FD_ENUM, &person_gender_vocab, 0, "x.gender"),
    RF("birth_date", "出生日期", FD_DATE, NULL, 0, "x.birth_date"),
    RF("category", "人员类别", FD_ENUM, &person_category_vocab, FL_BY_NAME, "x.category"),
    RF("status", "人员状态", FD_ENUM, &person_status_vocab, FL_BY_NAME, "x.status"),
    RF("source", "登记来源", FD_ENUM, &person_source_vocab, FL_BY_NAME, "x.source"),
    RF("inbound", "外来人员", FD_BOOL, NULL, 0, "x.inbound"),
    RF("created_at", "登记时间", FD_TIME, NULL, 0, "x.created_at"),
};

static const struct field ds_incident_fields[] = {
    RF("region_code", "所在区划", FD_REGION, NULL, 0, "x.region_code"),
    RF("source", "上报来源", FD_ENUM, &case_source_vocab, FL_BY_NAME, "x.source"),
    RF("category", "事件类别", FD_ENUM, &incident_category_vocab, FL_BY_NAME, "x.category"),
    RF("state", "处置状态", FD_ENUM, &incident_state_vocab, FL_BY_NAME, "x.state"),
    RF("outcome", "核实结果", FD_ENUM, &incident_outcome_vocab, FL_BY_NAME, "x.outcome"),
    RF("temperature", "体温", FD_REAL, NULL, 0, "x.temperature"),
    RF("created_at", "上报时间", FD_TIME, NULL, 0, "x.created_at"),
};

static const struct field ds_observation_fields[] = {
    RF("region_code", "所在区划", FD_REGION, NULL, 0, "x.region_code"),
    RF("kind", "管控方式", FD_ENUM, &observe_kind_vocab, FL_BY_NAME, "x.kind"),
    RF("source", "来源", FD_ENUM, &case_source_vocab, FL_BY_NAME, "x.source"),
    RF("state", "观察状态", FD_ENUM, &observe_state_vocab, FL_BY_NAME, "x.state"),
    RF("start_at", "开始时间", FD_TIME, NULL, 0, "x.start_at"),
    RF("planned_end_at", "计划解除时间", FD_TIME, NULL, 0, "x.planned_end_at"),
    RF("ended_at", "结束时间", FD_TIME, NULL, 0, "x.ended_at"),
};

static const struct field ds_task_fields[] = {
    RF("region_code", "所在区划", FD_REGION, NULL, 0, "x.region_code"),
    RF("state", "任务状态", FD_ENUM, &task_state_vocab, FL_BY_NAME, "x.state"),
    RF("priority", "紧急程度", FD_ENUM, &task_priority_vocab, 0, "x.priority"),
    RF("created_at", "派发时间", FD_TIME, NULL, 0, "x.created_at"),
    RF("deadline", "截止时间", FD_TIME, NULL, 0, "x.deadline"),
    RF("done_at", "完成时间", FD_TIME, NULL, 0, "x.done_at"),
};

static const struct field ds_check_fields[] = {
    RF("region_code", "所在区划", FD_REGION, NULL, 0, "x.region_code"),
    RF("by_whom", "核查方式", FD_ENUM, &check_by_vocab, FL_BY_NAME, "x.by_whom"),
    RF("at", "核查时间", FD_TIME, NULL, 0, "x.at"),
    RF("temperature", "体温", FD_REAL, NULL, 0, "x.temperature"),
    RF("abnormal", "异常", FD_BOOL, NULL, 0, "x.abnormal"),
};

static const struct field ds_access_fields[] = {
    RF("region_code", "点位区划", FD_REGION, NULL, 0, "x.region_code"),
    RF("colour", "健康码", FD_ENUM, &code_colour_vocab, FL_BY_NAME, "x.colour"),
    RF("at", "通行时间", FD_TIME, NULL, 0, "x.at"),
    RF("temperature", "体温", FD_REAL, NULL, 0, "x.temperature"),
};

static const struct field ds_sample_fields[] = {
    RF("region_code", "采样点区划", FD_REGION, NULL, 0, "x.region_code"),
    RF("at", "采样时间", FD_TIME, NULL, 0, "x.at"),
    RF("duplicate", "重复采样", FD_BOOL, NULL, 0, "x.duplicate"),
};

static const struct field ds_result_fields[] = {
    RF("region_code", "居住地", FD_REGION, NULL, 0, "x.region_code"),
    RF("result", "检测结果", FD_ENUM, &nat_result_vocab, FL_BY_NAME, "x.result"),
    RF("sampled_at", "采样时间", FD_TIME, NULL, 0, "x.sampled_at"),
    RF("reported_at", "报告时间", FD_TIME, NULL, 0, "x.reported_at"),
};

#define N(t) (sizeof t / sizeof t[0])
const struct report_dataset report_datasets[] = {
    {"persons", "人员", " FROM persons x",
     " WHERE x.region_code >= ? AND x.region_code < ? AND x.deleted_at = 0", ds_person_fields,
     N(ds_person_fields)},
    {"incidents", "疫情事件", " FROM incidents x",
     " WHERE x.region_code >= ? AND x.region_code < ?", ds_incident_fields, N(ds_incident_fields)},
    {"observations", "隔离观察", " FROM observations x",
     " WHERE x.region_code >= ? AND x.region_code < ?", ds_observation_fields,
     N(ds_observation_fields)},
    {"tasks", "任务", " FROM tasks x", " WHERE x.region_code >= ? AND x.region_code < ?",
     ds_task_fields, N(ds_task_fields)},
    {"checks", "体征核查", " FROM checks x", " WHERE x.region_code >= ? AND x.region_code < ?",
     ds_check_fields, N(ds_check_fields)},
    {"access_records", "通行记录", " FROM access_records x",
     " WHERE x.region_code >= ? AND x.region_code < ?", ds_access_fields, N(ds_access_fields)},
    {"samples", "核酸采样", " FROM nat_samples x",
     " WHERE x.region_code >= ? AND x.region_code < ?", ds_sample_fields, N(ds_sample_fields)},
    {"test_results", "核酸检测结果", " FROM test_results x",
     " WHERE x.region_code >= ? AND x.region_code < ?", ds_result_fields, N(ds_result_fields)},
};
const size_t report_datasets_n = N(report_datasets);

const struct report_dataset *report_dataset_find(const char *name)
{
    for (size_t i = 0; name && i < report_datasets_n; i++)
        if (!strcmp(report_datasets[i].name, name))
            return &report_datasets[i];
    return NULL;
}

static const struct field *field_of(const struct report_dataset *ds, const char *name)
{
    for (size_t i = 0; name && i < ds->n; i++)
        if (!strcmp(ds->fields[i].name, name))
            return &ds->fields[i];
    return NULL;
}

static const char *const ops[] = {"eq", "ne", "lt", "le", "gt", "ge", "within", NULL};
static const char *const op_sql[] = {" = ?", " <> ?", " < ?", " <= ?", " > ?", " >= ?", NULL};
static const char *const bys[] = {"value", "district", "street", "community", "grid",
                                  "day",   "week",     "month",  NULL};
static const char *const fns[] = {"count", "sum", "avg", NULL};

static int word_of(const char *const *words, const char *s)
{
    for (int i = 0; s && words[i]; i++)
        if (!strcmp(words[i], s))
            return i;
    return -1;
}

static bool numeric(const struct field *f)
{
    return f->kind == FD_INT || f->kind == FD_REAL;
}

/* The path of member `m` of item i of array `list`, from the arena. */
static const char *path(arena *a, const char *list, size_t i, const char *m)
{
    return arena_printf(a, "%s[%zu].%s", list, i, m);
}

static err bad(arena *a, const char *slug, const char *list, size_t i, const char *m,
               const char *msg)
{
    return err_set(E_INPUT, slug, path(a, list, i, m), "%s", msg);
}

/* An optional title (one line, ≤ 64) of item o into *title_r (the field's
 * label when absent). */
static err title_of(json_t *o, arena *a, const char *list, size_t i, const char *dflt,
                    const char **title_r)
{
    const char *t = json_str(o, "title");
    if (json_has(o, "title") && !t)
        return bad(a, "invalid_value", list, i, "title", "标题必须是文字");
    err e = check_text(t, path(a, list, i, "title"), "标题", REPORT_NAME_MAX, TEXT_ONE_LINE);
    if (e)
        return e;
    *title_r = t && *t ? arena_strdup(a, t) : dflt;
    return E_OK;
}

static err check_fields(json_t *arr, arena *a, struct report_def *d)
{
    size_t i;
    json_t *o;
    json_array_foreach(arr, i, o)
    {
        if (d->ncols == REPORT_COLUMNS_MAX)
            return err_set(E_INPUT, "too_many_columns", "fields", "报表最多 %d 列",
                           REPORT_COLUMNS_MAX);
        struct report_col *c = &d->cols[d->ncols];
        if (!json_is_object(o))
            return bad(a, "invalid_value", "fields", i, "name", "字段格式不正确");
        if (!(c->f = field_of(d->ds, json_str(o, "name"))))
            return bad(a, "unknown_field", "fields", i, "name", "数据集中没有这个字段");
        err e = title_of(o, a, "fields", i, c->f->label, &c->title);
        if (e)
            return e;
        c->decimals = -1;
        if (json_has(o, "decimals")) {
            json_t *v = json_object_get(o, "decimals");
            if (!numeric(c->f) || !json_is_integer(v) || json_integer_value(v) < 0 ||
                json_integer_value(v) > 6)
                return bad(a, "invalid_value", "fields", i, "decimals",
                           "小数位数只适用于数值字段，取 0 到 6");
            c->decimals = (int)json_integer_value(v);
        }
        const char *df = json_str(o, "date_format");
        if (json_has(o, "date_format")) {
            int w = c->f->kind == FD_TIME
                        ? word_of((const char *const[]){"date", "datetime", NULL}, df)
                        : -1;
            if (w < 0)
                return bad(a, "invalid_value", "fields", i, "date_format",
                           "日期格式只适用于时间字段，取 date 或 datetime");
            c->with_time = w == 1;
        }
        d->ncols++;
    }
    return E_OK;
}

static err check_groups(json_t *arr, arena *a, struct report_def *d)
{
    size_t i;
    json_t *o;
    json_array_foreach(arr, i, o)
    {
        if (d->ncols == REPORT_COLUMNS_MAX)
            return err_set(E_INPUT, "too_many_columns", "group_by", "报表最多 %d 列",
                           REPORT_COLUMNS_MAX);
        struct report_col *c = &d->cols[d->ncols];
        if (!json_is_object(o))
            return bad(a, "invalid_value", "group_by", i, "field", "分组格式不正确");
        if (!(c->f = field_of(d->ds, json_str(o, "field"))))
            return bad(a, "unknown_field", "group_by", i, "field", "数据集中没有这个字段");
        int by = json_has(o, "by") ? word_of(bys, json_str(o, "by")) : BY_VALUE;
        enum field_kind k = c->f->kind;
        bool fits = by == BY_VALUE  ? k == FD_ENUM || k == FD_BOOL
                    : by <= BY_GRID ? k == FD_REGION
                                    : by > BY_GRID && k == FD_TIME;
        if (by < 0 || !fits)
            return bad(a, "not_groupable", "group_by", i, json_has(o, "by") ? "by" : "field",
                       "该字段不能按此方式分组：区划按 district/street/community/grid，时间按 "
                       "day/week/month，类别按 value");
        c->by = (enum report_by)by;
        c->decimals = -1;
        err e = title_of(o, a, "group_by", i, c->f->label, &c->title);
        if (e)
            return e;
        d->ncols++;
        d->ngroups++;
    }
    return E_OK;
}

static err check_measures(json_t *arr, arena *a, struct report_def *d)
{
    size_t i;
    json_t *o;
    json_array_foreach(arr, i, o)
    {
        if (d->ncols == REPORT_COLUMNS_MAX)
            return err_set(E_INPUT, "too_many_columns", "measures", "报表最多 %d 列",
                           REPORT_COLUMNS_MAX);
        struct report_col *c = &d->cols[d->ncols];
        if (!json_is_object(o))
            return bad(a, "invalid_value", "measures", i, "fn", "统计项格式不正确");
        int fn = word_of(fns, json_str(o, "fn"));
        if (fn < 0)
            return bad(a, "invalid_value", "measures", i, "fn", "统计方式取 count、sum 或 avg");
        c->fn = (enum report_fn)fn;
        c->measure = true;
        c->decimals = fn == FN_AVG ? 2 : -1;
        if (fn != FN_COUNT) {
            if (!(c->f = field_of(d->ds, json_str(o, "field"))))
                return bad(a, "unknown_field", "measures", i, "field", "数据集中没有这个字段");
            if (!numeric(c->f))
                return bad(a, "not_numeric", "measures", i, "field", "只能对数值字段求和或平均");
        }
        const char *dflt =
            fn == FN_COUNT ? "数量"
                           : arena_printf(a, "%s%s", c->f->label, fn == FN_SUM ? "合计" : "平均");
        err e = title_of(o, a, "measures", i, dflt, &c->title);
        if (e)
            return e;
        if (json_has(o, "decimals")) {
            json_t *v = json_object_get(o, "decimals");
            if (!json_is_integer(v) || json_integer_value(v) < 0 || json_integer_value(v) > 6)
                return bad(a, "invalid_value", "measures", i, "decimals", "小数位数取 0 到 6");
            c->decimals = (int)json_integer_value(v);
        }
        d->ncols++;
    }
    return E_OK;
}

/* The value of filter i (member "value") for field f and op into *fl. */
static err filter_value(json_t *o, arena *a, size_t i, struct report_filter *fl)
{
    json_t *v = json_object_get(o, "value");
    const struct field *f = fl->f;
    const char *s = json_is_string(v) ? json_string_value(v) : NULL;
    bool ok = false;
    if (fl->op == OP_WITHIN || f->kind == FD_REGION) {
        enum region_level lv;
        int64_t code = s ? regcode_parse(s, &lv) : 0;
        ok = f->kind == FD_REGION && (fl->op == OP_WITHIN || fl->op == OP_EQ) && code > 0;
        if (ok) {
            fl->op = OP_WITHIN; /* a region means its subtree */
            fl->i = code;
            fl->hi = regcode_end(code);
        }
    } else if (f->kind == FD_ENUM) {
        int w = s ? vocab_parse(f->vocab, s) : -1;
        ok = w >= 0 && (fl->op == OP_EQ || fl->op == OP_NE);
        fl->i = w;
        fl->text = s ? arena_strdup(a, s) : NULL;
    } else if (f->kind == FD_BOOL) {
        ok = json_is_boolean(v) && (fl->op == OP_EQ || fl->op == OP_NE);
        fl->i = json_is_true(v);
    } else if (f->kind == FD_TIME) {
        ok = s ? china_time_parse(s, &fl->i)
               : json_is_integer(v) && (fl->i = json_integer_value(v)) >= 0;
    } else if (f->kind == FD_DATE) {
        ok = s && (fl->i = field_date_parse(s)) > 0;
    } else if (numeric(f)) {
        ok = json_is_number(v) && isfinite(fl->d = json_number_value(v));
    }
    return ok ? E_OK : bad(a, "invalid_value", "filters", i, "value", "筛选值与字段或条件不符");
}

static err check_filters(json_t *arr, arena *a, struct report_def *d)
{
    size_t i;
    json_t *o;
    json_array_foreach(arr, i, o)
    {
        if (d->nfilters == REPORT_FILTERS_MAX)
            return err_set(E_INPUT, "too_many_columns", "filters", "筛选条件最多 %d 个",
                           REPORT_FILTERS_MAX);
        struct report_filter *fl = &d->filters[d->nfilters];
        if (!json_is_object(o))
            return bad(a, "invalid_value", "filters", i, "field", "筛选条件格式不正确");
        if (!(fl->f = field_of(d->ds, json_str(o, "field"))))
            return bad(a, "unknown_field", "filters", i, "field", "数据集中没有这个字段");
        int op = word_of(ops, json_str(o, "op"));
        if (op < 0)
            return bad(a, "invalid_operator", "filters", i, "op",
                       "条件取 eq、ne、lt、le、gt、ge 或 within");
        fl->op = (enum report_op)op;
        err e = filter_value(o, a, i, fl);
        if (e)
            return e;
        d->nfilters++;
    }
    return E_OK;
}

/* A copy of the items of `arr` (checked objects) with only the members in
 * `keys`: what is stored holds nothing the check did not read. */
static json_t *accepted(json_t *arr, const char *const *keys)
{
    json_t *out = json_array(), *o;
    size_t i;
    json_array_foreach(arr, i, o)
    {
        json_t *c = json_object();
        for (int k = 0; keys[k]; k++)
            if (json_object_get(o, keys[k]))
                json_object_set(c, keys[k], json_object_get(o, keys[k]));
        json_array_append_new(out, c);
    }
    return out;
}

static void json_release(void *p)
{
    json_decref(p);
}

static err list_of(json_t *body, const char *key, json_t **arr_r)
{
    json_t *v = json_object_get(body, key);
    if (v && !json_is_array(v) && !json_is_null(v))
        return err_set(E_INPUT, "invalid_value", key, "%s 必须是数组", key);
    *arr_r = json_is_array(v) ? v : NULL;
    return E_OK;
}

err report_check(json_t *body, arena *a, struct report_def *d)
{
    memset(d, 0, sizeof *d);
    const char *name = json_str(body, "name");
    err e = check_text(name, "name", "报表名称", REPORT_NAME_MAX, TEXT_REQUIRED | TEXT_ONE_LINE);
    if (e)
        return e;
    d->name = arena_strdup(a, name);
    if (!(d->ds = report_dataset_find(json_str(body, "dataset"))))
        return err_set(E_INPUT, "unknown_dataset", "dataset", "没有这个数据集");
    json_t *fields, *filters, *groups, *measures;
    if ((e = list_of(body, "fields", &fields)) || (e = list_of(body, "filters", &filters)) ||
        (e = list_of(body, "group_by", &groups)) || (e = list_of(body, "measures", &measures)))
        return e;
    d->grouped = json_array_size(groups) || json_array_size(measures);
    if (!d->grouped && !json_array_size(fields))
        return err_set(E_INPUT, "invalid_value", "fields", "请选择要显示的字段或统计项");
    if (d->grouped && json_array_size(fields))
        return err_set(E_INPUT, "invalid_value", "fields",
                       "分组统计的报表由分组和统计项组成，不能再选明细字段");
    if ((e = check_fields(fields, a, d)) || (e = check_groups(groups, a, d)) ||
        (e = check_measures(measures, a, d)) || (e = check_filters(filters, a, d)))
        return e;
    if (d->grouped && d->ncols == d->ngroups) { /* groups alone: count them */
        if (d->ncols == REPORT_COLUMNS_MAX)
            return err_set(E_INPUT, "too_many_columns", "group_by", "报表最多 %d 列",
                           REPORT_COLUMNS_MAX);
        d->cols[d->ncols++] = (struct report_col){.title = "数量", .measure = true, .decimals = -1};
    }
    /* what is stored: the accepted members only */
    json_t *o = json_object();
    json_object_set_new(o, "name", json_string(d->name));
    json_object_set_new(o, "dataset", json_string(d->ds->name));
    static const char *const field_keys[] = {"name", "title", "decimals", "date_format", NULL};
    static const char *const filter_keys[] = {"field", "op", "value", NULL};
    static const char *const group_keys[] = {"field", "by", "title", NULL};
    static const char *const measure_keys[] = {"fn", "field", "title", "decimals", NULL};
    json_object_set_new(o, "fields", accepted(fields, field_keys));
    json_object_set_new(o, "filters", accepted(filters, filter_keys));
    json_object_set_new(o, "group_by", accepted(groups, group_keys));
    json_object_set_new(o, "measures", accepted(measures, measure_keys));
    arena_on_free(a, json_release, o);
    d->json = o;
    return E_OK;
}

/* ---- storage ---------------------------------------------------------------------------- */

#define REPORT_COLS "id, definition, version, created_by, created_at, updated_at, name"

/* A stored row into *r, its definition checked again. One that no longer
 * checks (a field since removed from its dataset's whitelist) is read as
 * `broken`, its stored JSON kept: it is listed and shown for editing, and a
 * run refuses it. */
static err report_read(db_stmt *s, arena *a, void *item, void *ctx)
{
    (void)ctx;
    struct report_def *r = item;
    json_t *j = json_loads(db_col_text(s, 1), 0, NULL);
    if (!j)
        return E_DB;
    if (report_check(j, a, r)) {
        memset(r, 0, sizeof *r);
        r->broken = true;
        r->name = arena_strdup(a, db_col_text(s, 6));
        r->ds = report_dataset_find(json_str(j, "dataset"));
        arena_on_free(a, json_release, json_incref(j));
        r->json = j;
    }
    json_decref(j);
    r->id = db_col_int64(s, 0);
    r->version = db_col_int64(s, 2);
    r->created_by = db_col_int64(s, 3);
    r->created_at = db_col_int64(s, 4);
    r->updated_at = db_col_int64(s, 5);
    return E_OK;
}

static err store(db *d, int64_t id, const struct report_def *r, int64_t user_id, int64_t now,
                 bool insert)
{
    char *text = json_dumps(r->json, JSON_COMPACT | JSON_SORT_KEYS);
    if (!text)
        return E_NOMEM;
    db_stmt *s;
    err e = db_prepare(d,
                       insert ? "INSERT INTO reports (id, name, dataset, definition, created_by, "
                                "updated_by, version, created_at, updated_at, deleted_at) VALUES "
                                "(?, ?, ?, ?, ?, ?, 1, ?, ?, 0)"
                              : "UPDATE reports SET name = ?, dataset = ?, definition = ?, "
                                "updated_by = ?, version = version + 1, updated_at = ? WHERE id "
                                "= ? AND deleted_at = 0",
                       &s);
    if (!e) {
        int i = 1;
        if (insert)
            db_bind_int64(s, i++, id);
        db_bind_text(s, i++, r->name);
        db_bind_text(s, i++, r->ds->name);
        db_bind_text(s, i++, text);
        if (insert)
            db_bind_int64(s, i++, user_id);
        db_bind_int64(s, i++, user_id);
        db_bind_int64(s, i++, now);
        if (insert)
            db_bind_int64(s, i++, now);
        else
            db_bind_int64(s, i++, id);
        int64_t n = 0;
        e = db_run(s, &n);
        db_done(s);
        if (!e && n != 1)
            e = err_set(E_NOT_FOUND, "unknown_report", NULL, "报表不存在");
    }
    free(text);
    return e;
}

err report_create(db *d, arena *a, json_t *body, int64_t user_id, struct report_def *r)
{
    err e = report_check(body, a, r);
    if (e)
        return e;
    int64_t id = id_new();
    if ((e = store(d, id, r, user_id, now_ms(), true)))
        return e;
    return report_find(d, a, id, r);
}

err report_find(db *d, arena *a, int64_t id, struct report_def *r)
{
    db_stmt *s;
    err e =
        db_prepare(d, "SELECT " REPORT_COLS " FROM reports WHERE id = ? AND deleted_at = 0", &s);
    if (e)
        return e;
    db_bind_int64(s, 1, id);
    bool row;
    if (!(e = db_row(s, &row)))
        e = row ? report_read(s, a, r, NULL)
                : err_set(E_NOT_FOUND, "unknown_report", NULL, "报表不存在");
    db_done(s);
    return e;
}

err report_update(db *d, arena *a, int64_t id, json_t *patch, int64_t user_id, struct report_def *r)
{
    struct report_def old;
    err e = report_find(d, a, id, &old);
    if (e)
        return e;
    json_t *body = json_deep_copy(old.json);
    static const char *const keys[] = {"name",     "dataset",  "fields", "filters",
                                       "group_by", "measures", NULL};
    for (int i = 0; keys[i]; i++)
        if (json_has(patch, keys[i]))
            json_object_set(body, keys[i], json_object_get(patch, keys[i]));
    e = report_check(body, a, r);
    json_decref(body);
    if (e || (e = store(d, id, r, user_id, now_ms(), false)))
        return e;
    return report_find(d, a, id, r);
}

err report_delete(db *d, int64_t id)
{
    db_stmt *s;
    err e = db_prepare(d, "UPDATE reports SET deleted_at = ? WHERE id = ? AND deleted_at = 0", &s);
    if (e)
        return e;
    db_bind_int64(s, 1, now_ms());
    db_bind_int64(s, 2, id);
    int64_t n = 0;
    e = db_run(s, &n);
    db_done(s);
    if (!e && n != 1)
        e = err_set(E_NOT_FOUND, "unknown_report", NULL, "报表不存在");
    return e;
}

err report_list(db *d, arena *a, int64_t page, int64_t size, struct report_def **items_r,
                size_t *n_r, int64_t *total_r)
{
    struct query w = QUERY_INIT;
    query_sql(&w, " FROM reports WHERE deleted_at = 0");
    void *items;
    err e = query_page(d, a, &w,
                       &(struct query_page){.count = "SELECT COUNT(*)",
                                            .select = "SELECT " REPORT_COLS,
                                            .order = " ORDER BY id DESC",
                                            .page = page,
                                            .page_size = size,
                                            .max = 1000,
                                            .size = sizeof(struct report_def),
                                            .read = report_read},
                       &items, n_r, total_r);
    if (!e)
        *items_r = items;
    return e;
}

/* ---- run -------------------------------------------------------------------------------- */

/* The divisor of a region level: a code's ancestor at that level is
 * (code / div) * div. */
static const char *const level_sql[] = {
    [BY_DISTRICT] = " / 1000000000000) * 1000000000000",
    [BY_STREET] = " / 1000000000) * 1000000000",
    [BY_COMMUNITY] = " / 1000000) * 1000000",
    [BY_GRID] = " / 1000) * 1000",
};

/* The SQL of column c: fixed fragments around the whitelisted column. */
static void col_sql(struct query *q, enum db_kind k, const struct report_col *c, bool grouped)
{
    if (c->measure) {
        if (!c->f) {
            query_sql(q, "COUNT(*)");
            return;
        }
        query_sql(q, c->fn == FN_SUM ? "SUM(CAST(" : "AVG(CAST(");
        query_sql(q, c->f->column);
        query_sql(q, " AS DOUBLE PRECISION))");
        return;
    }
    if (!grouped || c->by == BY_VALUE) {
        query_sql(q, c->f->column);
        return;
    }
    if (c->by <= BY_GRID) {
        query_sql(q, "(");
        query_sql(q, c->f->column);
        query_sql(q, level_sql[c->by]);
        return;
    }
    if (c->by == BY_MONTH) { /* yyyymm of the China day's midnight, read as UTC */
        query_sql(q, k == DB_POSTGRES ? "CAST(to_char(to_timestamp(" CHINA_DAY_SQL_OPEN
                                      : "CAST(strftime('%Y%m', " CHINA_DAY_SQL_OPEN);
        query_sql(q, c->f->column);
        query_sql(q, k == DB_POSTGRES ? CHINA_DAY_SQL_CLOSE
                         " * 86400) AT TIME ZONE 'UTC', 'YYYYMM') AS INTEGER)"
                                      : CHINA_DAY_SQL_CLOSE " * 86400, 'unixepoch') AS INTEGER)");
        return;
    }
    /* the week: Monday-based, day 0 (1970-01-01) a Thursday */
    query_sql(q, c->by == BY_DAY ? CHINA_DAY_SQL_OPEN : "((" CHINA_DAY_SQL_OPEN);
    query_sql(q, c->f->column);
    query_sql(q, c->by == BY_DAY ? CHINA_DAY_SQL_CLOSE : CHINA_DAY_SQL_CLOSE " + 3) / 7)");
}

/* FROM, WHERE with the scope and the filters, and GROUP BY. */
static void from_where(struct query *w, enum db_kind k, const struct scope *sc,
                       const struct report_def *r)
{
    query_sql(w, r->ds->from);
    query_sql(w, r->ds->where);
    query_int(w, sc->lo);
    query_int(w, sc->hi);
    for (size_t i = 0; i < r->nfilters; i++) {
        const struct report_filter *f = &r->filters[i];
        query_sql(w, " AND ");
        query_sql(w, f->f->column);
        if (f->op == OP_WITHIN) {
            query_sql(w, " >= ? AND ");
            query_sql(w, f->f->column);
            query_sql(w, " < ?");
            query_int(w, f->i);
            query_int(w, f->hi);
            continue;
        }
        query_sql(w, op_sql[f->op]);
        if (f->f->kind == FD_ENUM && (f->f->flags & FL_BY_NAME))
            query_text(w, f->text);
        else if (numeric(f->f))
            query_double(w, f->d);
        else
            query_int(w, f->i);
    }
    if (r->grouped && r->ngroups) {
        query_sql(w, " GROUP BY ");
        for (size_t i = 0; i < r->ngroups; i++) {
            if (i)
                query_sql(w, ", ");
            col_sql(w, k, &r->cols[i], true);
        }
    }
}

/* Region names a run has looked up, direct-mapped by code: a listing
 * names the same few communities row after row, and an export of a
 * million people spread over the city's buildings keeps a fixed size. */
#define NAMES_SLOTS_EXPORT 16384 /* 2 MiB: a city's buildings */
#define NAMES_SLOTS_PAGE   256
#define NAMES_NAME_MAX     128
struct names {
    size_t slots;
    int64_t *code; /* 0: empty (no region has code 0) */
    char (*name)[NAMES_NAME_MAX];
};

static json_t *region_cell(db *d, struct names *nm, int64_t code)
{
    size_t h = (size_t)(((uint64_t)code * 0x9E3779B97F4A7C15u) >> 40) % nm->slots;
    if (code && nm->code[h] == code)
        return json_string(nm->name[h]);
    db_stmt *s;
    json_t *cell = NULL;
    if (!db_prepare(d, "SELECT name FROM regions WHERE code = ?", &s)) {
        db_bind_int64(s, 1, code);
        bool row;
        if (!db_row(s, &row) && row) {
            const char *name = db_col_text(s, 0);
            cell = json_string(name);
            if (strlen(name) < NAMES_NAME_MAX) {
                nm->code[h] = code;
                memcpy(nm->name[h], name, strlen(name) + 1);
            }
        }
        db_done(s);
    }
    if (!cell) { /* a code without its region: its written form */
        char out[19];
        regcode_format(code, out);
        cell = json_string(out);
    }
    return cell;
}

static json_t *day_cell(int64_t day)
{
    char t[CHINA_TIME_LEN];
    china_time(day * DAY_MS, t); /* 08:00 of China day `day`: its date */
    t[10] = 0;
    return json_string(t);
}

static json_t *number_cell(double v, int decimals)
{
    if (decimals < 0)
        return v == floor(v) && fabs(v) < 9e15 ? json_integer((json_int_t)v) : json_real(v);
    double p = pow(10, decimals);
    return json_real(round(v * p) / p);
}

/* Column i of the row as people read it. */
static json_t *cell(db *d, struct names *nm, db_stmt *s, int i, const struct report_col *c,
                    bool grouped)
{
    if (db_col_null(s, i))
        return json_null();
    if (c->measure)
        return c->f ? number_cell(db_col_double(s, i), c->decimals)
                    : json_integer(db_col_int64(s, i));
    const struct field *f = c->f;
    if (grouped && c->by == BY_MONTH) {
        int64_t ym = db_col_int64(s, i);
        return json_sprintf("%04lld-%02lld", (long long)(ym / 100), (long long)(ym % 100));
    }
    if (grouped && c->by >= BY_DAY)
        return day_cell(c->by == BY_DAY ? db_col_int64(s, i) : db_col_int64(s, i) * 7 - 3);
    switch (f->kind) {
    case FD_REGION:
        return region_cell(d, nm, db_col_int64(s, i));
    case FD_ENUM: {
        if (f->flags & FL_BY_NAME) {
            const char *l = vocab_label_of(f->vocab, db_col_text(s, i));
            return json_string(l ? l : db_col_text(s, i));
        }
        int64_t n = db_col_int64(s, i);
        const char *l = n >= 0 ? vocab_label(f->vocab, (size_t)n) : NULL;
        return json_string(l ? l : "");
    }
    case FD_BOOL:
        return json_string(db_col_int64(s, i) ? "是" : "否");
    case FD_TIME: {
        char t[CHINA_TIME_LEN];
        china_time(db_col_int64(s, i), t);
        if (!c->with_time)
            t[10] = 0;
        return json_string(t);
    }
    case FD_DATE: {
        char t[11];
        field_date_format((int32_t)db_col_int64(s, i), t);
        return json_string(t);
    }
    case FD_INT:
    case FD_REAL:
        return number_cell(db_col_double(s, i), c->decimals);
    default:
        return json_string(db_col_text(s, i));
    }
}

/* Rows of an export read per statement. */
#define RUN_PAGE 5000

err report_run(db *d, arena *a, const struct scope *sc, const struct report_def *r, int64_t page,
               int64_t page_size, int64_t max, report_row_fn row, void *ctx, int64_t *total_r)
{
    if (r->broken)
        return err_set(E_CONFLICT, "report_broken", NULL, "报表定义已不再有效，请重新编辑后再运行");
    if (!strcmp(r->ds->name, "access_records"))
        db_catch_up(); /* every acknowledged scan (db/catchup.h) */
    struct query *w = arena_zalloc(a, sizeof *w), *q = arena_zalloc(a, sizeof *q);
    struct names *nm = arena_zalloc(a, sizeof *nm);
    if (nm) {
        nm->slots = page_size <= 0 ? NAMES_SLOTS_EXPORT : NAMES_SLOTS_PAGE;
        nm->code = arena_zalloc(a, nm->slots * sizeof *nm->code);
        nm->name = arena_alloc(a, nm->slots * sizeof *nm->name);
    }
    if (!w || !q || !nm || !nm->code || !nm->name)
        return E_NOMEM;
    from_where(w, db_kind(d), sc, r);
    /* the number of rows: of groups, or of matches */
    if (r->grouped && r->ngroups) {
        query_sql(q, "SELECT COUNT(*) FROM (SELECT 1 AS one");
        query_append(q, w);
        query_sql(q, ") g");
    } else {
        query_sql(q, "SELECT COUNT(*)");
        query_append(q, w);
    }
    int64_t total = 0, limit, offset, want;
    err e = query_count(d, q, &total);
    if (!e && r->grouped && !r->ngroups)
        total = 1; /* measures alone: one row, even over no match */
    if (e ||
        (e = paging_window(total, page, page_size, max > 0 ? max : total, &limit, &offset, &want)))
        return e;
    *total_r = total;
    if (!want)
        return E_OK;
    /* An export of a listing (no page) walks x.id in pages of
     * RUN_PAGE: one statement over a million rows would hold its whole
     * result in memory on PostgreSQL, and OFFSET would re-read what came
     * before each page. Groups are few: one statement. */
    bool walk = page_size <= 0 && !r->grouped;
    int64_t after = 0;
    for (;;) {
        memset(q, 0, sizeof *q);
        query_sql(q, "SELECT ");
        for (size_t i = 0; i < r->ncols; i++) {
            if (i)
                query_sql(q, ", ");
            col_sql(q, db_kind(d), &r->cols[i], r->grouped);
        }
        if (!r->grouped)
            query_sql(q, ", x.id");
        query_append(q, w);
        if (walk) {
            query_sql(q, " AND x.id > ?");
            query_int(q, after);
        }
        if (r->grouped && r->ngroups) {
            query_sql(q, " ORDER BY ");
            for (size_t i = 0; i < r->ngroups; i++)
                query_sql(q, i ? ", " : ""), col_sql(q, db_kind(d), &r->cols[i], true);
        } else if (!r->grouped) {
            query_sql(q, " ORDER BY x.id"); /* the walk's key */
        }
        query_sql(q, " LIMIT ? OFFSET ?");
        query_int(q, walk ? (want < RUN_PAGE ? want : RUN_PAGE) : limit);
        query_int(q, walk ? 0 : offset);
        db_stmt *s;
        if ((e = query_prepare(d, q, &s)))
            return e;
        bool has;
        int64_t n = 0;
        while (!(e = db_row(s, &has)) && has) {
            json_t *cells = json_array();
            for (size_t i = 0; i < r->ncols; i++)
                json_array_append_new(cells, cell(d, nm, s, (int)i, &r->cols[i], r->grouped));
            if (!r->grouped)
                after = db_col_int64(s, (int)r->ncols);
            e = row(ctx, cells);
            json_decref(cells);
            n++;
            if (e)
                break;
        }
        db_done(s);
        want -= n;
        if (e || !walk || n < RUN_PAGE || want <= 0)
            return e;
    }
}
