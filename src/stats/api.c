/*
 * HTTP handlers of the leaders' statistics (统计, issue 9; docs/stats.md),
 * permission stats.read, every figure inside the caller's scope (narrowed
 * by ?within=):
 *
 *   GET /api/v1/stats/measures   the registered measures
 *                                {items: [{name, label, kind: "level"|"flow"}]}
 *   GET /api/v1/stats/summary?measures=a,b
 *                                {region_code, region_name, day,
 *                                 items: [figure]}: a figure is {measure,
 *                                 label, kind, value} with, for a flow,
 *                                 value the cumulative total and today the
 *                                 China day's count
 *   GET /api/v1/stats/series?measure=x&from=yyyy-mm-dd&to=yyyy-mm-dd&cumulative=1
 *                                {measure, label, from, to, cumulative,
 *                                 points: [{date, value}]}, China days, at
 *                                 most STATS_SERIES_DAYS_MAX; a cumulative
 *                                 value includes everything before `from`
 *   GET /api/v1/stats/regions?measures=a,b&region=<code>
 *                                {region_code, region_name, level, figures,
 *                                 direct: figures of records at the region
 *                                 itself rather than in a child,
 *                                 items: [{region_code, region_name, level,
 *                                 has_children, figures}]} per child region
 *
 * Counters are aggregates, not personal data: these reads are not audited.
 */
#include <stdio.h>
#include <string.h>

#include "app.h"
#include "base/id.h"
#include "base/regcode.h"
#include "base/time.h"
#include "base/validate.h"
#include "region/region.h"
#include "stats/stats.h"

/* Measures one request may ask for. */
#define STATS_QUERY_MAX 20
/* Days in one series: a year, leap or not. */
#define STATS_SERIES_DAYS_MAX 366

static const char *kind_of(const struct stats_measure *m)
{
    return m->level ? "level" : "flow";
}

static err get_measures(struct req *r)
{
    const struct stats_measure *ms[STATS_MEASURES_MAX];
    size_t n = stats_measures(ms, STATS_MEASURES_MAX);
    json_t *items = json_array();
    for (size_t i = 0; i < n; i++)
        json_array_append_new(items, json_pack("{s:s,s:s,s:s}", "name", ms[i]->name, "label",
                                               ms[i]->label, "kind", kind_of(ms[i])));
    return reply_json(r, 200, json_pack("{s:o}", "items", items));
}

/* ?measures=a,b,c: registered measures, at least one, at most
 * STATS_QUERY_MAX, into ms (*n_r of them). */
static err measures_param(struct req *r, const struct stats_measure **ms, size_t *n_r)
{
    const char *v = req_query(r, "measures");
    if (!v || !*v)
        return err_set(E_INPUT, "required", "measures", "请选择统计指标");
    size_t n = 0;
    const char *p = v;
    for (;;) {
        const char *comma = strchr(p, ',');
        size_t len = comma ? (size_t)(comma - p) : strlen(p);
        char name[72];
        if (len) {
            if (n == STATS_QUERY_MAX)
                return err_set(E_INPUT, "invalid_parameter", "measures",
                               "一次最多查询 %d 个统计指标", STATS_QUERY_MAX);
            const struct stats_measure *m = NULL;
            if (len < sizeof name) {
                memcpy(name, p, len);
                name[len] = 0;
                m = stats_measure_find(name);
            }
            if (!m)
                return err_set(E_INPUT, "unknown_measure", "measures", "未知的统计指标：%.*s",
                               (int)(len < 64 ? len : 64), p);
            ms[n++] = m;
        }
        if (!comma)
            break;
        p = comma + 1;
    }
    if (!n)
        return err_set(E_INPUT, "required", "measures", "请选择统计指标");
    *n_r = n;
    return E_OK;
}

/* One figure of m over [lo, hi): a level's value now, or a flow's total
 * up to today and today's count. */
static err figure(struct req *r, const struct stats_measure *m, int64_t lo, int64_t hi,
                  int64_t today, json_t **out_r)
{
    int64_t value = 0, day = 0;
    err e;
    /* a level's value and a flow's total are both kept at STATS_NOW */
    if (!(e = stats_sum(r->db, m->name, lo, hi, STATS_NOW, STATS_NOW, &value)) && !m->level)
        e = stats_sum(r->db, m->name, lo, hi, today, today, &day);
    if (e)
        return e;
    json_t *o = json_pack("{s:s,s:s,s:s,s:I}", "measure", m->name, "label", m->label, "kind",
                          kind_of(m), "value", (json_int_t)value);
    if (!m->level)
        json_object_set_new(o, "today", json_integer(day));
    *out_r = o;
    return E_OK;
}

static err figures(struct req *r, const struct stats_measure **ms, size_t n, int64_t lo, int64_t hi,
                   int64_t today, json_t **arr_r)
{
    json_t *arr = json_array();
    for (size_t i = 0; i < n; i++) {
        json_t *o;
        err e = figure(r, ms[i], lo, hi, today, &o);
        if (e) {
            json_decref(arr);
            return e;
        }
        json_array_append_new(arr, o);
    }
    *arr_r = arr;
    return E_OK;
}

/* The scope's root region with its name (the name omitted when the root
 * is not in the region table). */
static void set_root(struct req *r, json_t *o)
{
    struct region g;
    int64_t root = r->who->scope.lo;
    bool named = region_find(r->db, &r->who->scope, root, false, r->a, &g) == E_OK;
    json_set_region(o, root, named ? g.name : NULL);
}

#define DATE_TEXT_LEN 16

static void date_text(int64_t day, char out[DATE_TEXT_LEN])
{
    /* UTC midnight of day number `day` is 08:00 of that China date */
    unsigned ymd = (unsigned)china_date(day * DAY_MS);
    snprintf(out, DATE_TEXT_LEN, "%04u-%02u-%02u", ymd / 10000 % 10000, ymd / 100 % 100, ymd % 100);
}

static err get_summary(struct req *r)
{
    const struct stats_measure *ms[STATS_QUERY_MAX];
    size_t n;
    err e = measures_param(r, ms, &n);
    if (e)
        return e;
    int64_t today = china_day(now_ms());
    json_t *items;
    if ((e = figures(r, ms, n, r->who->scope.lo, r->who->scope.hi, today, &items)))
        return e;
    json_t *o = json_object();
    set_root(r, o);
    char date[DATE_TEXT_LEN];
    date_text(today, date);
    json_object_set_new(o, "date", json_string(date));
    json_object_set_new(o, "items", items);
    return reply_json(r, 200, o);
}

/* ?name=yyyy-mm-dd (2000 to 2100) as a China day number; *day_r keeps
 * its default when absent. E_INPUT "invalid_parameter" on `name`. */
static err date_param(struct req *r, const char *name, int64_t *day_r)
{
    const char *v = req_query(r, name);
    if (!v)
        return E_OK;
    int64_t day, lo, hi;
    if (!china_date_day(v, &day) || !china_date_day("2000-01-01", &lo) ||
        !china_date_day("2100-12-31", &hi) || day < lo || day > hi)
        return err_set(E_INPUT, "invalid_parameter", name, "日期应为 yyyy-mm-dd 格式的有效日期");
    *day_r = day;
    return E_OK;
}

static err get_series(struct req *r)
{
    const char *name = req_query(r, "measure");
    if (!name || !*name)
        return err_set(E_INPUT, "required", "measure", "请选择统计指标");
    const struct stats_measure *m = stats_measure_find(name);
    if (!m)
        return err_set(E_INPUT, "unknown_measure", "measure", "未知的统计指标：%.64s", name);
    if (m->level)
        return err_set(E_INPUT, "invalid_value", "measure",
                       "“%s”是当前数量，没有逐日趋势，请查看汇总", m->label);
    int64_t to = china_day(now_ms()), from, cumulative = 0;
    err e = date_param(r, "to", &to);
    from = to - 29; /* a month by default */
    if (e || (e = date_param(r, "from", &from)) ||
        (e = req_query_int64(r, "cumulative", 0, 1, &cumulative)))
        return e;
    if (from > to)
        return err_set(E_INPUT, "invalid_parameter", "from", "开始日期不能晚于结束日期");
    if (to - from + 1 > STATS_SERIES_DAYS_MAX)
        return err_set(E_INPUT, "invalid_parameter", "to", "一次最多查询 %d 天",
                       STATS_SERIES_DAYS_MAX);
    int64_t days[STATS_SERIES_DAYS_MAX], run = 0;
    const struct scope *sc = &r->who->scope;
    /* what came before `from`: the total less every day from `from` on
     * (a recent window reads few days, whatever the history) */
    int64_t since = 0;
    if ((e = stats_series(r->db, m->name, sc->lo, sc->hi, from, to, days)) ||
        (cumulative &&
         ((e = stats_sum(r->db, m->name, sc->lo, sc->hi, STATS_NOW, STATS_NOW, &run)) ||
          (e = stats_sum(r->db, m->name, sc->lo, sc->hi, from, INT64_MAX, &since)))))
        return e;
    run -= since;
    json_t *points = json_array();
    for (int64_t d = from; d <= to; d++) {
        char date[DATE_TEXT_LEN];
        date_text(d, date);
        run += days[d - from];
        json_array_append_new(points, json_pack("{s:s,s:I}", "date", date, "value",
                                                (json_int_t)(cumulative ? run : days[d - from])));
    }
    char f[DATE_TEXT_LEN], t[DATE_TEXT_LEN];
    date_text(from, f);
    date_text(to, t);
    json_t *o = json_pack("{s:s,s:s,s:s,s:s,s:b,s:o}", "measure", m->name, "label", m->label,
                          "from", f, "to", t, "cumulative", (int)cumulative, "points", points);
    set_root(r, o);
    return reply_json(r, 200, o);
}

static err get_regions(struct req *r)
{
    const struct stats_measure *ms[STATS_QUERY_MAX];
    size_t n;
    err e = measures_param(r, ms, &n);
    if (e)
        return e;
    const struct scope *sc = &r->who->scope;
    int64_t code = sc->lo;
    const char *v = req_query(r, "region");
    if (v) {
        enum region_level lv;
        code = regcode_parse(v, &lv);
        if (code <= 0)
            return err_set(E_INPUT, "invalid_region", "region", "区划代码格式不正确");
    }
    struct region *rs;
    size_t rn;
    /* the region and its children, inside the scope: 404 for a region
     * above or beside it, as for one that does not exist */
    if ((e = region_tree(r->db, sc, code, 1, false, r->a, &rs, &rn))) {
        if (e == E_NOT_FOUND)
            return err_set(E_NOT_FOUND, "not_found", "region", "区划不存在");
        return e;
    }
    int64_t today = china_day(now_ms());
    json_t *mine = NULL, *items = json_array();
    if ((e = figures(r, ms, n, code, regcode_end(code), today, &mine)))
        goto fail;
    /* what lies in no child (records at the region itself) is the total
     * minus the children's sums, figure by figure */
    int64_t direct[STATS_QUERY_MAX][2];
    for (size_t k = 0; k < n; k++) {
        json_t *f = json_array_get(mine, k);
        direct[k][0] = json_integer_value(json_object_get(f, "value"));
        direct[k][1] = json_integer_value(json_object_get(f, "today"));
    }
    for (size_t i = 1; i < rn; i++) {
        json_t *fs;
        if ((e = figures(r, ms, n, rs[i].code, regcode_end(rs[i].code), today, &fs)))
            goto fail;
        for (size_t k = 0; k < n; k++) {
            json_t *f = json_array_get(fs, k);
            direct[k][0] -= json_integer_value(json_object_get(f, "value"));
            direct[k][1] -= json_integer_value(json_object_get(f, "today"));
        }
        json_t *it = json_object();
        json_set_region(it, rs[i].code, rs[i].name);
        json_object_set_new(it, "level", json_string(region_level_name(rs[i].level)));
        json_object_set_new(it, "has_children", json_boolean(rs[i].has_children));
        json_object_set_new(it, "figures", fs);
        json_array_append_new(items, it);
    }
    json_t *dir = json_array();
    for (size_t k = 0; k < n; k++) {
        json_t *f = json_pack("{s:s,s:s,s:s,s:I}", "measure", ms[k]->name, "label", ms[k]->label,
                              "kind", kind_of(ms[k]), "value", (json_int_t)direct[k][0]);
        if (!ms[k]->level)
            json_object_set_new(f, "today", json_integer(direct[k][1]));
        json_array_append_new(dir, f);
    }
    json_t *o = json_object();
    json_set_region(o, code, rs[0].name);
    json_object_set_new(o, "level", json_string(region_level_name(rs[0].level)));
    json_object_set_new(o, "figures", mine);
    json_object_set_new(o, "direct", dir);
    json_object_set_new(o, "items", items);
    return reply_json(r, 200, o);
fail:
    json_decref(mine);
    json_decref(items);
    return e;
}

const struct route stats_routes[] = {
    {M_GET, "/api/v1/stats/measures", get_measures, PERM_STATS_READ, 0, NULL, "统计指标列表",
     "stats", 0},
    {M_GET, "/api/v1/stats/summary", get_summary, PERM_STATS_READ, 0, NULL,
     "辖区统计汇总（当前数量、今日新增和累计）", "stats", 0},
    {M_GET, "/api/v1/stats/series", get_series, PERM_STATS_READ, 0, NULL,
     "辖区疫情趋势（逐日或累计）", "stats", 0},
    {M_GET, "/api/v1/stats/regions", get_regions, PERM_STATS_READ, 0, NULL,
     "区划统计（下级区划逐个统计）", "stats", 0},
};
const size_t stats_routes_n = sizeof stats_routes / sizeof stats_routes[0];
