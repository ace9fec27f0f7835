/*
 * HTTP handlers of historical rounds (历史轮次; nat.h "historical rounds",
 * docs/nat.md "Historical rounds"):
 *
 *   GET  /api/v1/nat/rounds                    rounds (kind, from, to; paging)
 *   POST /api/v1/nat/rounds                    create a round
 *   GET  /api/v1/nat/rounds/template.xlsx      the import template
 *   GET  /api/v1/nat/rounds/compare            two rounds per street (a, b; format=csv|xlsx)
 *   GET  /api/v1/nat/rounds/{id}               a round and its figures in scope, by=street|school,
 *                                              with their totals (format=csv|xlsx)
 *   PUT  /api/v1/nat/rounds/{id}/figures       enter or correct units' figures (all or none)
 *   POST /api/v1/nat/rounds/{id}/import        an xlsx (format=csv for CSV): 202 {job_id, rows};
 *                                              row errors in the job's result and its
 *                                              errors.xlsx
 *
 * Figures are aggregates: the writes are audited (counts only), the reads
 * are not.
 */
#include <string.h>

#include "app.h"
#include "base/id.h"
#include "base/regcode.h"
#include "base/time.h"
#include "base/xlsx.h"
#include "http/export.h"
#include "http/write.h"
#include "job/import.h"
#include "job/job.h"
#include "nat/nat.h"
#include "security/audit.h"

#define UPLOAD_MAX  (20u * 1024 * 1024)
#define FIGURES_MAX 2000 /* units in one PUT */

static const struct jfield round_fields[] = {
    {"name", J_STRING, JF_REQUIRED, 1, 100, "轮次名称", NULL, NULL},
    {"kind", J_STRING, JF_REQUIRED, 0, 0, "轮次类型", NULL, &nat_round_kind_vocab},
    {"first_day", J_STRING, JF_REQUIRED, 10, 10, "开始日期", NULL, NULL},
    {"last_day", J_STRING, 0, 10, 10, "结束日期", NULL, NULL},
    {"source", J_STRING, 0, 0, 200, "数据来源", NULL, NULL},
    {NULL, 0, 0, 0, 0, NULL, NULL, NULL},
};

static const struct jfield figures_fields[] = {
    {"figures", J_ARRAY, JF_REQUIRED, 1, FIGURES_MAX, "各单位数据", NULL, NULL},
    {NULL, 0, 0, 0, 0, NULL, NULL, NULL},
};

static const struct jfield figure_fields[] = {
    {"region_code", J_STRING, JF_REQUIRED, 1, 20, "街道", NULL, NULL},
    {"school", J_STRING, 0, 0, 100, "学校", NULL, NULL},
    {"planned", J_INT, JF_REQUIRED, 0, 1000000000, "应检人数", NULL, NULL},
    {"tested", J_INT, JF_REQUIRED, 0, 1000000000, "已检人数", NULL, NULL},
    {"positive", J_INT, JF_REQUIRED, 0, 1000000000, "阳性人数", NULL, NULL},
    {"untested", J_INT, JF_NULLABLE, 0, 1000000000, "未检人数", NULL, NULL},
    {NULL, 0, 0, 0, 0, NULL, NULL, NULL},
};

/* "YYYY-MM-DD" of China day `day`. */
static json_t *day_json(int64_t day)
{
    char t[CHINA_TIME_LEN];
    china_time(china_day_start(day * 86400000LL), t);
    t[10] = '\0';
    return json_string(t);
}

static json_t *round_json(const struct nat_round *r)
{
    json_t *o = json_pack("{s:s,s:s,s:s,s:o,s:o,s:s,s:I,s:I,s:I}", "name", r->name, "kind",
                          vocab_name(&nat_round_kind_vocab, (size_t)r->kind), "kind_label",
                          vocab_label(&nat_round_kind_vocab, (size_t)r->kind), "first_day",
                          day_json(r->first_day), "last_day", day_json(r->last_day), "source",
                          r->source, "units", (json_int_t)r->units, "created_at",
                          (json_int_t)r->created_at, "updated_at", (json_int_t)r->updated_at);
    json_set_id(o, "id", r->id);
    return o;
}

static json_t *count_json(int64_t v)
{
    return v < 0 ? json_null() : json_integer((json_int_t)v);
}

/* The tested share of planned in per mille (-1: nothing planned). */
static int64_t rate_permille(const struct nat_round_figure *f)
{
    return f->planned > 0 ? f->tested * 1000 / f->planned : -1;
}

static json_t *figure_json(const struct nat_round_figure *f)
{
    char code[19];
    regcode_format(f->street_code, code);
    json_t *o =
        json_pack("{s:s,s:s,s:s,s:o,s:I,s:I,s:o}", "region_code", code, "street_name",
                  f->street_name ? f->street_name : "", "school", f->school ? f->school : "",
                  "planned", count_json(f->planned), "tested", (json_int_t)f->tested, "positive",
                  (json_int_t)f->positive, "untested", count_json(f->untested));
    json_object_set_new(o, "rate_permille", count_json(rate_permille(f)));
    return o;
}

static json_t *total_json(const struct nat_round_figure *t)
{
    json_t *o = json_pack("{s:I,s:I,s:I,s:o}", "planned", (json_int_t)t->planned, "tested",
                          (json_int_t)t->tested, "positive", (json_int_t)t->positive, "untested",
                          count_json(t->untested));
    json_object_set_new(o, "rate_permille", count_json(rate_permille(t)));
    return o;
}

static err round_of(struct req *r, int64_t *id_r, struct nat_round *round)
{
    err e = req_param_id(r, 0, id_r);
    return e ? e : nat_round_find(r->db, r->a, &r->who->scope, *id_r, round);
}

/* ---- rounds -------------------------------------------------------------------------------- */

static err get_rounds(struct req *r)
{
    struct nat_round_filter f = {0};
    err e = req_paging(r, &f.page, &f.page_size);
    if (e)
        return e;
    const char *s = req_query(r, "kind");
    int k;
    if (s && (k = vocab_parse(&nat_round_kind_vocab, s)) <= 0)
        return err_set(E_INPUT, "invalid_parameter", "kind", "轮次类型只能是 school 或 street");
    if (s)
        f.kind = (enum nat_round_kind)vocab_parse(&nat_round_kind_vocab, s);
    if ((s = req_query(r, "from")) && !china_date_day(s, &f.from))
        return err_set(E_INPUT, "invalid_date", "from", "开始日期应为 YYYY-MM-DD");
    if ((s = req_query(r, "to")) && !china_date_day(s, &f.to))
        return err_set(E_INPUT, "invalid_date", "to", "结束日期应为 YYYY-MM-DD");
    struct nat_round *items;
    size_t n;
    int64_t total;
    if ((e = nat_round_list(r->db, r->a, &r->who->scope, &f, &items, &n, &total)))
        return e;
    json_t *arr = json_array();
    for (size_t i = 0; i < n; i++)
        json_array_append_new(arr, round_json(&items[i]));
    return reply_page(r, arr, total, f.page, f.page_size);
}

static err post_round(struct req *r)
{
    const char *first = json_str(r->body, "first_day"), *last = json_str(r->body, "last_day");
    struct nat_round_input in = {
        .name = json_str(r->body, "name"),
        .kind = (enum nat_round_kind)vocab_parse(&nat_round_kind_vocab, json_str(r->body, "kind")),
        .source = json_str(r->body, "source"),
    };
    err e = E_OK;
    if (!china_date_day(first, &in.first_day))
        e = err_set(E_INPUT, "invalid_date", "first_day", "开始日期应为 YYYY-MM-DD");
    else if (!last)
        in.last_day = in.first_day;
    else if (!china_date_day(last, &in.last_day))
        e = err_set(E_INPUT, "invalid_date", "last_day", "结束日期应为 YYYY-MM-DD");
    else if (in.last_day < in.first_day)
        e = err_set(E_INPUT, "out_of_range", "last_day", "结束日期不能早于开始日期");
    int64_t id = 0;
    struct nat_round round;
    if (e)
        return audit_refusal(r->db, r->who, r->ip, "nat.round.create", "nat_round", 0, e, NULL);
    db_hold(r->db);
    if ((e = nat_round_create(r->db, r->who, &in, &id))) {
        err_ignore(db_release(r->db, false));
        return e;
    }
    req_audit(r, "nat.round.create", "nat_round", id, "ok",
              arena_printf(r->a, "kind=%s", vocab_name(&nat_round_kind_vocab, (size_t)in.kind)));
    if ((e = db_release(r->db, true)) ||
        (e = nat_round_find(r->db, r->a, &r->who->scope, id, &round)))
        return e;
    return reply_json(r, 201, round_json(&round));
}

/* ---- figures ------------------------------------------------------------------------------- */

static const char *const figure_head[] = {"街道",     "学校",     "应检人数",   "已检人数",
                                          "阳性人数", "未检人数", "受检率（‰）"};

static void figure_row(struct export_out *x, const struct nat_round_figure *f, const char *street)
{
    export_text(x, street);
    export_text(x, f->school);
    export_int(x, f->planned);
    export_int(x, f->tested);
    export_int(x, f->positive);
    if (f->untested >= 0)
        export_int(x, f->untested);
    else
        export_empty(x);
    if (rate_permille(f) >= 0)
        export_int(x, rate_permille(f));
    else
        export_empty(x);
    export_row_end(x);
}

static err get_round(struct req *r)
{
    int64_t id;
    struct nat_round round;
    enum export_format fmt;
    err e = req_export_format(r, &fmt);
    if (e || (e = round_of(r, &id, &round)))
        return e;
    const char *by = req_query(r, "by");
    if (by && strcmp(by, "street") && strcmp(by, "school"))
        return err_set(E_INPUT, "invalid_parameter", "by", "参数 by 应为 street 或 school");
    /* a street round has nothing but streets; a school round lists schools
     * unless asked for its streets */
    bool by_street = round.kind == NAT_ROUND_STREET || (by && !strcmp(by, "street"));
    struct nat_round_figure *v, t;
    size_t n;
    if ((e = nat_round_figures(r->db, r->a, &r->who->scope, id, by_street, &v, &n, &t)))
        return e;
    if (fmt) {
        struct export_out x;
        if ((e = export_begin(r, &x, fmt, NAT_ROUND_SHEET, figure_head, 7)))
            return e;
        for (size_t i = 0; i < n; i++)
            figure_row(&x, &v[i], v[i].street_name);
        t.school = "";
        figure_row(&x, &t, "合计");
        return export_send(&x, E_OK, "nat-round");
    }
    json_t *o = round_json(&round), *arr = json_array();
    for (size_t i = 0; i < n; i++)
        json_array_append_new(arr, figure_json(&v[i]));
    json_object_set_new(o, "by", json_string(by_street ? "street" : "school"));
    json_object_set_new(o, "figures", arr);
    json_object_set_new(o, "total", total_json(&t));
    return reply_json(r, 200, o);
}

/* The body's unit i as figures: E_INPUT on "figures[i].field". */
static err figure_take(struct req *r, json_t *v, size_t i, struct nat_round_figure *f)
{
    err e = json_check(v, figure_fields, false);
    if (!e) {
        const char *u = json_str(v, "region_code");
        enum region_level lv;
        *f = (struct nat_round_figure){
            .street_code = regcode_parse(u, &lv),
            .school = json_str(v, "school") ? json_str(v, "school") : "",
            .planned = json_int(v, "planned", 0),
            .tested = json_int(v, "tested", 0),
            .positive = json_int(v, "positive", 0),
            .untested = json_int(v, "untested", -1),
        };
        if (f->street_code <= 0)
            e = err_set(E_INPUT, "unknown_region", "region_code", "街道区划代码不正确");
    }
    if (e == E_INPUT) {
        struct err_detail x = *err_last();
        err_clear();
        e = err_set(E_INPUT, x.slug, arena_printf(r->a, "figures[%zu].%s", i, x.field),
                    "第%zu项：%s", i + 1, x.message);
    }
    return e;
}

static err put_figures(struct req *r)
{
    int64_t id;
    struct nat_round round;
    err e = round_of(r, &id, &round);
    if (e)
        return e;
    json_t *arr = json_object_get(r->body, "figures");
    size_t n = json_array_size(arr);
    int64_t created = 0, replaced = 0;
    db_hold(r->db); /* every unit or none, with its entry */
    for (size_t i = 0; i < n && !e; i++) {
        struct nat_round_figure f;
        bool c = false;
        if (!(e = figure_take(r, json_array_get(arr, i), i, &f)) &&
            !(e = nat_round_figure_put(r->db, r->who, &round, &f, &c)))
            *(c ? &created : &replaced) += 1;
        else if (e == E_INPUT && strncmp(err_last()->field, "figures[", 8)) {
            struct err_detail x = *err_last();
            err_clear();
            e = err_set(E_INPUT, x.slug, arena_printf(r->a, "figures[%zu].%s", i, x.field),
                        "第%zu项：%s", i + 1, x.message);
        }
    }
    if (!e)
        e = nat_round_touch(r->db, id);
    const char *detail = arena_printf(r->a, "units=%zu created=%lld replaced=%lld", n,
                                      (long long)created, (long long)replaced);
    if (e) {
        err_ignore(db_release(r->db, false));
        return audit_refusal(r->db, r->who, r->ip, "nat.round.figures", "nat_round", id, e, detail);
    }
    req_audit(r, "nat.round.figures", "nat_round", id, "ok", detail);
    if ((e = db_release(r->db, true)))
        return e;
    return reply_json(
        r, 200,
        json_pack("{s:I,s:I}", "created", (json_int_t)created, "replaced", (json_int_t)replaced));
}

/* The upload is checked here (whole-file faults answer 400) and applied
 * on the import worker: 202 {job_id, rows}. */
static err post_import(struct req *r)
{
    int64_t id, job;
    struct nat_round round;
    err e = round_of(r, &id, &round);
    if (e)
        return e;
    const struct import_accept acc = {"nat.round.import", "nat.round.import_upload",
                                      "nat.round_import", "nat_round", id};
    bool csv = false;
    size_t n;
    const char *body = req_raw_body(r, &n);
    long rows = 0;
    e = import_format(r, false, &csv);
    if (!e)
        e = nat_round_import_check(body, n, csv, &rows);
    const char *more = arena_printf(r->a, " round=%lld%s", (long long)id, csv ? " csv" : "");
    if ((e = import_accept(r, e, &acc, n, rows, more, &job)) ||
        (e = nat_round_import_submit(r->db, job, r->who, &round, body, n, csv, rows)))
        return e;
    return import_accepted(r, job, rows, NULL);
}

static err get_template(struct req *r)
{
    int fd;
    int64_t size;
    err e = nat_round_template(&fd, &size);
    if (e)
        return e;
    r->disposition = "attachment; filename=\"nat-rounds-template.xlsx\"";
    return reply_file(r, 200, XLSX_CONTENT_TYPE, fd, size);
}

/* ---- comparison ---------------------------------------------------------------------------- */

static const char *const compare_head[] = {"街道",     "甲轮应检", "甲轮已检", "甲轮阳性",
                                           "乙轮应检", "乙轮已检", "乙轮阳性"};

static void pair_cells(struct export_out *x, const struct nat_round_figure *f)
{
    if (f->planned < 0) {
        export_empty(x);
        export_empty(x);
        export_empty(x);
        return;
    }
    export_int(x, f->planned);
    export_int(x, f->tested);
    export_int(x, f->positive);
}

static json_t *side_json(const struct nat_round_figure *f)
{
    if (f->planned < 0)
        return json_null();
    json_t *o = total_json(f);
    return o;
}

static err get_compare(struct req *r)
{
    enum export_format fmt;
    int64_t a = 0, b = 0;
    const char *s;
    err e = req_export_format(r, &fmt);
    if (e)
        return e;
    if (!(s = req_query(r, "a")) || (a = id_parse(s)) <= 0)
        return err_set(E_INPUT, "required", "a", "请选择要比较的第一个轮次");
    if (!(s = req_query(r, "b")) || (b = id_parse(s)) <= 0)
        return err_set(E_INPUT, "required", "b", "请选择要比较的第二个轮次");
    struct nat_round ra, rb;
    if ((e = nat_round_find(r->db, r->a, &r->who->scope, a, &ra)) ||
        (e = nat_round_find(r->db, r->a, &r->who->scope, b, &rb)))
        return e;
    struct nat_round_pair *v;
    size_t n;
    if ((e = nat_round_compare(r->db, r->a, &r->who->scope, a, b, &v, &n)))
        return e;
    if (fmt) {
        struct export_out x;
        if ((e = export_begin(r, &x, fmt, "轮次对比", compare_head, 7)))
            return e;
        for (size_t i = 0; i < n; i++) {
            export_text(&x, v[i].street_name);
            pair_cells(&x, &v[i].a);
            pair_cells(&x, &v[i].b);
            export_row_end(&x);
        }
        return export_send(&x, E_OK, "nat-round-compare");
    }
    json_t *arr = json_array();
    for (size_t i = 0; i < n; i++) {
        char code[19];
        regcode_format(v[i].street_code, code);
        json_array_append_new(arr, json_pack("{s:s,s:s,s:o,s:o}", "region_code", code,
                                             "street_name", v[i].street_name, "a",
                                             side_json(&v[i].a), "b", side_json(&v[i].b)));
    }
    return reply_json(
        r, 200,
        json_pack("{s:o,s:o,s:o}", "a", round_json(&ra), "b", round_json(&rb), "streets", arr));
}

const struct route nat_history_routes[] = {
    {M_GET, "/api/v1/nat/rounds", get_rounds, PERM_NAT_READ, 0, NULL,
     "历史轮次列表（kind、from、to 筛选，分页）", "nat", 0},
    {M_POST, "/api/v1/nat/rounds", post_round, PERM_NAT_PLAN, 0, round_fields,
     "新建历史轮次（中小学或街道轮次）", "nat", 0},
    {M_GET, "/api/v1/nat/rounds/template.xlsx", get_template, PERM_NAT_PLAN, 0, NULL,
     "历史轮次导入模板（Excel）", "nat", 0},
    {M_GET, "/api/v1/nat/rounds/compare", get_compare, PERM_NAT_READ, 0, NULL,
     "两个历史轮次按街道对比（a、b，format=csv|xlsx 导出）", "nat", 0},
    {M_GET, "/api/v1/nat/rounds/{id}", get_round, PERM_NAT_READ, 0, NULL,
     "历史轮次及其分街道或分学校数据与合计（by=street|school，format=csv|xlsx 导出）", "nat", 0},
    {M_PUT, "/api/v1/nat/rounds/{id}/figures", put_figures, PERM_NAT_PLAN, 0, figures_fields,
     "录入或修改历史轮次的各单位数据（全部成功或全部不变）", "nat", 0},
    {M_POST, "/api/v1/nat/rounds/{id}/import", post_import, PERM_NAT_PLAN, ROUTE_RAW_BODY, NULL,
     "导入历史轮次数据（Excel，format=csv 为 CSV；逐行报错，其余照常写入）", "nat", UPLOAD_MAX},
};
const size_t nat_history_routes_n = sizeof nat_history_routes / sizeof nat_history_routes[0];
