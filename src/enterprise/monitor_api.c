/*
 * HTTP handler of resume-work monitoring (复工复产监测, enterprise.h
 * resume_monitor; docs/enterprise.md "Resume-work monitoring"):
 *
 *   GET /api/v1/resume-monitor   by=street|industry|enterprise, street=<code>,
 *                                industry=<name>, format=csv|xlsx
 *
 * Without a filter the rows are the scope's streets (or industries with
 * by=industry); naming a street or an industry drills down to its
 * enterprises. Every row carries the same figures and the rates derived
 * from them; the totals cover every row. Figures only, nothing personal:
 * enterprise names are public records.
 */
#include <string.h>

#include "app.h"
#include "base/id.h"
#include "base/json.h"
#include "base/regcode.h"
#include "base/time.h"
#include "base/validate.h"
#include "db/fields.h"
#include "enterprise/enterprise.h"
#include "http/export.h"
#include "security/audit.h"

/* A rate in percent with one decimal; -1 when there is nothing to divide. */
static double rate(int64_t part, int64_t whole)
{
    return whole > 0 ? (double)(part * 1000 / whole) / 10.0 : -1;
}

static void figures_json(json_t *o, const struct resume_figures *f)
{
    json_object_set_new(o, "enterprises", json_integer(f->enterprises));
    json_object_set_new(o, "resumed", json_integer(f->resumed));
    json_object_set_new(o, "staff", json_integer(f->staff));
    json_object_set_new(o, "returned", json_integer(f->returned));
    json_object_set_new(o, "clocked_in", json_integer(f->clocked_in));
    json_object_set_new(o, "abnormal", json_integer(f->abnormal));
    double rr = rate(f->resumed, f->enterprises), cr = rate(f->clocked_in, f->staff);
    json_object_set_new(o, "resume_rate", rr < 0 ? json_null() : json_real(rr));
    json_object_set_new(o, "clockin_rate", cr < 0 ? json_null() : json_real(cr));
}

static void figures_cells(struct export_out *x, const struct resume_figures *f)
{
    export_int(x, f->enterprises);
    export_int(x, f->resumed);
    export_int(x, f->staff);
    export_int(x, f->returned);
    export_int(x, f->clocked_in);
    double cr = rate(f->clocked_in, f->staff);
    if (cr < 0)
        export_empty(x);
    else
        export_decimal(x, cr, 1);
    export_int(x, f->abnormal);
    export_row_end(x);
}

#define FIGURE_HEAD "企业数", "已复工", "员工数", "已返岗", "今日打卡", "打卡率（%）", "今日异常"
static const char *const head_street[] = {"街道", FIGURE_HEAD};
static const char *const head_industry[] = {"行业", FIGURE_HEAD};
static const char *const head_enterprise[] = {"企业", "街道", "行业", "复工状态", FIGURE_HEAD};

static const char *industry_label(const char *s)
{
    return s && *s ? s : "未填写行业";
}

static err export_rows(struct req *r, enum export_format fmt, const struct resume_monitor_query *q,
                       const struct resume_monitor_row *rows, size_t n,
                       const struct resume_figures *total)
{
    struct export_out x;
    err e = q->by == MONITOR_BY_ENTERPRISE
                ? export_begin(r, &x, fmt, "复工复产监测", head_enterprise, 11)
            : q->by == MONITOR_BY_INDUSTRY
                ? export_begin(r, &x, fmt, "复工复产监测", head_industry, 8)
                : export_begin(r, &x, fmt, "复工复产监测", head_street, 8);
    if (e)
        return e;
    for (size_t i = 0; i < n && !(e = export_room(&x)); i++) {
        if (q->by == MONITOR_BY_ENTERPRISE) {
            export_text(&x, rows[i].label);
            export_text(&x, rows[i].street_name);
            export_text(&x, industry_label(rows[i].industry));
            export_text(&x, vocab_label(&resume_status_vocab, rows[i].status));
        } else
            export_text(&x, q->by == MONITOR_BY_INDUSTRY ? industry_label(rows[i].label)
                                                         : rows[i].label);
        figures_cells(&x, &rows[i].f);
    }
    if (!e) {
        export_text(&x, "合计");
        if (q->by == MONITOR_BY_ENTERPRISE)
            for (int k = 0; k < 3; k++)
                export_empty(&x);
        figures_cells(&x, total);
    }
    return export_send(&x, e, "resume-monitor");
}

static err get_monitor(struct req *r)
{
    enum export_format fmt;
    err e = req_export_format(r, &fmt);
    if (e)
        return e;
    struct resume_monitor_query q = {0};
    const char *by = req_query(r, "by"), *street = req_query(r, "street");
    const char *industry = req_query(r, "industry");
    if (street && *street) {
        enum region_level lv;
        q.street_code = regcode_parse(street, &lv);
        if (q.street_code <= 0 || lv != LEVEL_STREET)
            return err_set(E_INPUT, "invalid_parameter", "street", "街道代码不正确");
    }
    if (industry) {
        q.industry = field_trim(r->a, industry);
        if (utf8_len(q.industry) > 50)
            return err_set(E_INPUT, "invalid_parameter", "industry", "行业不能超过50个字符");
    }
    if (!by || !*by)
        q.by = q.street_code || q.industry ? MONITOR_BY_ENTERPRISE : MONITOR_BY_STREET;
    else if (!strcmp(by, "street"))
        q.by = MONITOR_BY_STREET;
    else if (!strcmp(by, "industry"))
        q.by = MONITOR_BY_INDUSTRY;
    else if (!strcmp(by, "enterprise"))
        q.by = MONITOR_BY_ENTERPRISE;
    else
        return err_set(E_INPUT, "invalid_parameter", "by",
                       "参数 by 应为 street、industry 或 enterprise");
    int64_t now = now_ms();
    q.day = china_day(now);
    q.today = china_date(now);
    struct resume_monitor_row *rows;
    size_t n;
    struct resume_figures total;
    if ((e = resume_monitor(r->db, r->a, &r->who->scope, &q, &rows, &n, &total)))
        return e;
    req_audit(r, "resume.monitor", "enterprise", 0, "ok",
              arena_printf(r->a, "rows=%zu%s", n, fmt ? " export" : ""));
    if (fmt)
        return export_rows(r, fmt, &q, rows, n, &total);
    static const char *const bys[] = {"", "street", "industry", "enterprise"};
    json_t *arr = json_array();
    for (size_t i = 0; i < n; i++) {
        json_t *o = json_object();
        if (q.by == MONITOR_BY_STREET) {
            json_set_region(o, rows[i].code, rows[i].label);
        } else if (q.by == MONITOR_BY_INDUSTRY) {
            json_object_set_new(o, "industry", json_string(rows[i].label));
            json_object_set_new(o, "industry_label", json_string(industry_label(rows[i].label)));
        } else {
            json_set_id(o, "id", rows[i].code);
            json_object_set_new(o, "name", json_string(rows[i].label));
            json_set_region(o, rows[i].street_code, rows[i].street_name);
            json_object_set_new(o, "industry", json_string(rows[i].industry));
            json_object_set_new(o, "industry_label", json_string(industry_label(rows[i].industry)));
            json_object_set_new(o, "status",
                                json_string(vocab_name(&resume_status_vocab, rows[i].status)));
            json_object_set_new(o, "status_label",
                                json_string(vocab_label(&resume_status_vocab, rows[i].status)));
        }
        figures_json(o, &rows[i].f);
        json_array_append_new(arr, o);
    }
    char date[CHINA_TIME_LEN];
    china_time(now, date);
    date[10] = '\0';
    json_t *o = json_object(), *t = json_object();
    figures_json(t, &total);
    json_object_set_new(o, "date", json_string(date));
    json_object_set_new(o, "by", json_string(bys[q.by]));
    json_object_set_new(o, "items", arr);
    json_object_set_new(o, "total", t);
    return reply_json(r, 200, o);
}

const struct route enterprise_monitor_routes[] = {
    {M_GET, "/api/v1/resume-monitor", get_monitor, PERM_ENTERPRISE_MONITOR, 0, NULL,
     "复工复产监测（by=street|industry|enterprise，street、industry 下钻，format=csv|xlsx 导出）",
     "enterprise_work", 0},
};
const size_t enterprise_monitor_routes_n =
    sizeof enterprise_monitor_routes / sizeof enterprise_monitor_routes[0];
