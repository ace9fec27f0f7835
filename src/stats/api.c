/*
 * HTTP handlers of the leaders' statistics (统计, issue 9; docs/stats.md),
 * permission stats.read, every figure inside the caller's scope (narrowed
 * by ?within=):
 *
 *   GET /api/v1/stats/measures   the registered measures
 *                                {items: [{name, label, kind: "level"|"flow",
 *                                 list: whether /stats/list has its records}]}
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
 *   GET /api/v1/stats/list?measure=x&region=<code>&page=&page_size=
 *                                the records behind a level's figure (people
 *                                masked as the person list masks them, the
 *                                read audited as person.list)
 *   GET /api/v1/stats/compare/regions?measures=a,b&regions=c1,c2
 *                                {date, items: [{region_code, region_name,
 *                                 level, figures}]}, 2 to 6 regions
 *   GET /api/v1/stats/compare/periods?measure=x&from=&to=&from2=&to2=&region=
 *                                {measure, label, first, second: {from, to,
 *                                 value, points}, change, percent}
 *   GET /api/v1/stats/trends?measures=a,b|prefix=p&from=&to=&cumulative=&region=
 *                                {from, to, cumulative, series: [{measure,
 *                                 label, total, points}]}
 *
 * Counters are aggregates, not personal data: these reads are not audited
 * (the list of people is).
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
        json_array_append_new(items, json_pack("{s:s,s:s,s:s,s:b}", "name", ms[i]->name, "label",
                                               ms[i]->label, "kind", kind_of(ms[i]), "list",
                                               ms[i]->list != NULL));
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

/* The points of flow m over [lo, hi), days from..to (each a China day),
 * daily or cumulative (a cumulative value includes everything before
 * `from`), into *points_r; *window_r: the sum of the window's days. */
static err series_points(struct req *r, const struct stats_measure *m, int64_t lo, int64_t hi,
                         int64_t from, int64_t to, bool cumulative, json_t **points_r,
                         int64_t *window_r)
{
    int64_t days[STATS_SERIES_DAYS_MAX], run = 0;
    /* what came before `from`: the total less every day from `from` on
     * (a recent window reads few days, whatever the history) */
    int64_t since = 0;
    err e;
    if ((e = stats_series(r->db, m->name, lo, hi, from, to, days)) ||
        (cumulative && ((e = stats_sum(r->db, m->name, lo, hi, STATS_NOW, STATS_NOW, &run)) ||
                        (e = stats_sum(r->db, m->name, lo, hi, from, INT64_MAX, &since)))))
        return e;
    run -= since;
    int64_t window = 0;
    json_t *points = json_array();
    for (int64_t d = from; d <= to; d++) {
        char date[DATE_TEXT_LEN];
        date_text(d, date);
        run += days[d - from];
        window += days[d - from];
        json_array_append_new(points, json_pack("{s:s,s:I}", "date", date, "value",
                                                (json_int_t)(cumulative ? run : days[d - from])));
    }
    *points_r = points;
    if (window_r)
        *window_r = window;
    return E_OK;
}

/* ?<from_name>=…&<to_name>=… as a window of China days: `to` defaults to
 * today (or *to_r's default), `from` to 29 days before `to`; from <= to,
 * at most STATS_SERIES_DAYS_MAX days. */
static err window_param(struct req *r, const char *from_name, const char *to_name, int64_t *from_r,
                        int64_t *to_r)
{
    int64_t to = china_day(now_ms()), from;
    err e = date_param(r, to_name, &to);
    from = to - 29; /* a month by default */
    if (e || (e = date_param(r, from_name, &from)))
        return e;
    if (from > to)
        return err_set(E_INPUT, "invalid_parameter", from_name, "开始日期不能晚于结束日期");
    if (to - from + 1 > STATS_SERIES_DAYS_MAX)
        return err_set(E_INPUT, "invalid_parameter", to_name, "一次最多查询 %d 天",
                       STATS_SERIES_DAYS_MAX);
    *from_r = from;
    *to_r = to;
    return E_OK;
}

/* A flow: a level has no history (400 invalid_value on `field`). */
static err flow_only(const struct stats_measure *m, const char *field)
{
    if (m->level)
        return err_set(E_INPUT, "invalid_value", field, "“%s”是当前数量，没有逐日趋势，请查看汇总",
                       m->label);
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
    int64_t from = 0, to = 0, cumulative = 0;
    err e = flow_only(m, "measure");
    if (e || (e = window_param(r, "from", "to", &from, &to)) ||
        (e = req_query_int64(r, "cumulative", 0, 1, &cumulative)))
        return e;
    const struct scope *sc = &r->who->scope;
    json_t *points;
    if ((e = series_points(r, m, sc->lo, sc->hi, from, to, cumulative, &points, NULL)))
        return e;
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

/* ?<name>=<code>: a region inside the scope (default: the scope's root)
 * with its name into *g_r. 400 invalid_region for a malformed code, 404 for
 * one above or beside the scope or that does not exist. */
err stats_region_param(struct req *r, const char *name, struct region *g_r)
{
    const struct scope *sc = &r->who->scope;
    int64_t code = sc->lo;
    const char *v = req_query(r, name);
    if (v) {
        enum region_level lv;
        code = regcode_parse(v, &lv);
        if (code <= 0)
            return err_set(E_INPUT, "invalid_region", name, "区划代码格式不正确");
    }
    err e = region_find(r->db, sc, code, false, r->a, g_r);
    if (e == E_NOT_FOUND && code == sc->lo && !v) { /* a root not in the region table */
        *g_r = (struct region){.code = code, .name = ""};
        return E_OK;
    }
    if (e == E_NOT_FOUND)
        return err_set(E_NOT_FOUND, "not_found", name, "区划不存在");
    return e;
}

/* One measure by name: ?measure=x (a registered one, not a family). */
static err measure_param(struct req *r, const struct stats_measure **m_r)
{
    const char *name = req_query(r, "measure");
    if (!name || !*name)
        return err_set(E_INPUT, "required", "measure", "请选择统计指标");
    const struct stats_measure *m = stats_measure_find(name);
    if (!m)
        return err_set(E_INPUT, "unknown_measure", "measure", "未知的统计指标：%.64s", name);
    *m_r = m;
    return E_OK;
}

/* Each item's region_name from its region_code when the list left it out
 * (one look-up per distinct region of the page). */
static err add_region_names(struct req *r, json_t *items)
{
    enum { CACHE = 32 };
    int64_t codes[CACHE];
    const char *names[CACHE];
    size_t k = 0;
    size_t i;
    json_t *it;
    json_array_foreach(items, i, it)
    {
        if (json_object_get(it, "region_name"))
            continue;
        enum region_level lv;
        int64_t code = regcode_parse(json_string_value(json_object_get(it, "region_code")), &lv);
        const char *name = NULL;
        for (size_t j = 0; j < k && !name; j++)
            if (codes[j] == code)
                name = names[j];
        if (!name) {
            struct region g;
            err e =
                code > 0 ? region_find(r->db, &r->who->scope, code, false, r->a, &g) : E_NOT_FOUND;
            if (e && e != E_NOT_FOUND)
                return e;
            name = e ? "" : g.name;
            if (k < CACHE) {
                codes[k] = code;
                names[k++] = name;
            }
        }
        json_object_set_new(it, "region_name", json_string(name));
    }
    return E_OK;
}

static err get_list(struct req *r)
{
    const struct stats_measure *m = NULL;
    struct region g;
    int64_t page, size;
    err e = measure_param(r, &m);
    if (e)
        return e;
    if (!m->list)
        return err_set(E_INPUT, "invalid_value", "measure", "“%s”没有明细列表", m->label);
    if (req_query(r, "day"))
        return err_set(E_INPUT, "invalid_parameter", "day",
                       "明细列表是当前在册的记录，不能按日期查询");
    if ((e = stats_region_param(r, "region", &g)) || (e = req_paging(r, &page, &size)))
        return e;
    struct stats_list_query q = {
        .measure = m, .lo = g.code, .hi = regcode_end(g.code), .page = page, .page_size = size};
    json_t *items;
    int64_t total;
    if ((e = m->list(r->db, r->a, &q, &items, &total)))
        return e;
    if ((e = add_region_names(r, items))) {
        json_decref(items);
        return e;
    }
    if (m->personal) {
        /* people were shown: a read of personal data, by their ids */
        size_t i, n = json_array_size(items);
        json_t *it;
        const char *detail =
            arena_printf(r->a, "view=stats measure=%s count=%zu", m->name, json_array_size(items));
        json_array_foreach(items, i, it)
        {
            json_t *id = json_object_get(it, "person_id");
            if (!id)
                id = json_object_get(it, "id");
            detail =
                arena_printf(r->a, "%s%s%s", detail,
                             i ? "," : " ids=", json_string_value(id) ? json_string_value(id) : "");
        }
        int64_t one = 0;
        if (n == 1) {
            json_t *it0 = json_array_get(items, 0);
            json_t *id = json_object_get(it0, "person_id");
            one = id_parse(json_string_value(id ? id : json_object_get(it0, "id")));
        }
        req_audit(r, "person.list", "person", one, "ok", detail);
    }
    return reply_page(r, items, total, page, size);
}

/* Regions compared side by side at most. */
#define STATS_COMPARE_REGIONS_MAX 6

/* Two regions (or up to STATS_COMPARE_REGIONS_MAX), the same measures
 * side by side: ?measures=a,b&regions=c1,c2. */
static err get_compare_regions(struct req *r)
{
    const struct stats_measure *ms[STATS_QUERY_MAX];
    size_t n;
    err e = measures_param(r, ms, &n);
    if (e)
        return e;
    const char *v = req_query(r, "regions");
    if (!v || !*v)
        return err_set(E_INPUT, "required", "regions", "请选择要对比的区划");
    int64_t codes[STATS_COMPARE_REGIONS_MAX];
    size_t k = 0;
    for (const char *p = v; *p;) {
        const char *comma = strchr(p, ',');
        size_t len = comma ? (size_t)(comma - p) : strlen(p);
        char one[24];
        enum region_level lv;
        if (k == STATS_COMPARE_REGIONS_MAX)
            return err_set(E_INPUT, "invalid_parameter", "regions", "一次最多对比 %d 个区划",
                           STATS_COMPARE_REGIONS_MAX);
        if (len == 0 || len >= sizeof one)
            return err_set(E_INPUT, "invalid_region", "regions", "区划代码格式不正确");
        memcpy(one, p, len);
        one[len] = 0;
        if ((codes[k++] = regcode_parse(one, &lv)) <= 0)
            return err_set(E_INPUT, "invalid_region", "regions", "区划代码格式不正确");
        p = comma ? comma + 1 : p + len;
    }
    if (k < 2)
        return err_set(E_INPUT, "invalid_parameter", "regions", "请至少选择两个区划进行对比");
    int64_t today = china_day(now_ms());
    json_t *items = json_array();
    for (size_t i = 0; i < k; i++) {
        struct region g;
        json_t *fs;
        if ((e = region_find(r->db, &r->who->scope, codes[i], false, r->a, &g))) {
            if (e == E_NOT_FOUND)
                e = err_set(E_NOT_FOUND, "not_found", "regions", "区划不存在");
            json_decref(items);
            return e;
        }
        if ((e = figures(r, ms, n, g.code, regcode_end(g.code), today, &fs))) {
            json_decref(items);
            return e;
        }
        json_t *it = json_object();
        json_set_region(it, g.code, g.name);
        json_object_set_new(it, "level", json_string(region_level_name(g.level)));
        json_object_set_new(it, "figures", fs);
        json_array_append_new(items, it);
    }
    char date[DATE_TEXT_LEN];
    date_text(today, date);
    return reply_json(r, 200, json_pack("{s:s,s:o}", "date", date, "items", items));
}

/* One period of a comparison: its dates, total and points. */
static json_t *period_json(int64_t from, int64_t to, int64_t value, json_t *points)
{
    char f[DATE_TEXT_LEN], t[DATE_TEXT_LEN];
    date_text(from, f);
    date_text(to, t);
    return json_pack("{s:s,s:s,s:I,s:o}", "from", f, "to", t, "value", (json_int_t)value, "points",
                     points);
}

/* Two periods of one flow in one region: ?measure=x&from=&to= (the first)
 * &from2=&to2= (the second)&region=, each period's total and daily points,
 * the change from the first to the second and its percentage (null when
 * the first is 0). */
static err get_compare_periods(struct req *r)
{
    const struct stats_measure *m = NULL;
    struct region g;
    int64_t f1 = 0, t1 = 0, f2 = 0, t2 = 0;
    err e = measure_param(r, &m);
    if (e || (e = flow_only(m, "measure")) || (e = window_param(r, "from", "to", &f1, &t1)) ||
        (e = window_param(r, "from2", "to2", &f2, &t2)) ||
        (e = stats_region_param(r, "region", &g)))
        return e;
    if (!req_query(r, "from2") || !req_query(r, "to2"))
        return err_set(E_INPUT, "required", req_query(r, "from2") ? "to2" : "from2",
                       "请选择对比的时间段");
    int64_t lo = g.code, hi = regcode_end(g.code), v1 = 0, v2 = 0;
    json_t *p1, *p2;
    if ((e = series_points(r, m, lo, hi, f1, t1, false, &p1, &v1)))
        return e;
    if ((e = series_points(r, m, lo, hi, f2, t2, false, &p2, &v2))) {
        json_decref(p1);
        return e;
    }
    json_t *o = json_pack("{s:s,s:s,s:o,s:o,s:I}", "measure", m->name, "label", m->label, "first",
                          period_json(f1, t1, v1, p1), "second", period_json(f2, t2, v2, p2),
                          "change", (json_int_t)(v2 - v1));
    json_object_set_new(o, "percent",
                        v1 ? json_real((double)(v2 - v1) * 100.0 / (double)v1) : json_null());
    json_set_region(o, g.code, g.name);
    return reply_json(r, 200, o);
}

/* Trends by category: several flows as series over one window, named
 * (?measures=a,b) or by a family prefix (?prefix=case.confirmed_by: every
 * registered flow whose name begins with it and a dot, 感染途径). */
static err get_trends(struct req *r)
{
    const struct stats_measure *ms[STATS_QUERY_MAX];
    size_t n = 0;
    err e;
    const char *prefix = req_query(r, "prefix");
    if (prefix && *prefix) {
        const struct stats_measure *all[STATS_MEASURES_MAX];
        size_t na = stats_measures(all, STATS_MEASURES_MAX), len = strlen(prefix);
        for (size_t i = 0; i < na; i++)
            if (!all[i]->level && !strncmp(all[i]->name, prefix, len) && all[i]->name[len] == '.') {
                if (n == STATS_QUERY_MAX)
                    return err_set(E_INPUT, "invalid_parameter", "prefix",
                                   "一次最多查询 %d 个统计指标", STATS_QUERY_MAX);
                ms[n++] = all[i];
            }
        if (!n)
            return err_set(E_INPUT, "unknown_measure", "prefix", "没有以“%.64s”开头的趋势指标",
                           prefix);
    } else if ((e = measures_param(r, ms, &n))) {
        return e;
    }
    for (size_t i = 0; i < n; i++)
        if ((e = flow_only(ms[i], prefix && *prefix ? "prefix" : "measures")))
            return e;
    struct region g;
    int64_t from = 0, to = 0, cumulative = 0;
    if ((e = window_param(r, "from", "to", &from, &to)) ||
        (e = req_query_int64(r, "cumulative", 0, 1, &cumulative)) ||
        (e = stats_region_param(r, "region", &g)))
        return e;
    json_t *series = json_array();
    for (size_t i = 0; i < n; i++) {
        json_t *points;
        int64_t window = 0;
        if ((e = series_points(r, ms[i], g.code, regcode_end(g.code), from, to, cumulative, &points,
                               &window))) {
            json_decref(series);
            return e;
        }
        json_array_append_new(series, json_pack("{s:s,s:s,s:I,s:o}", "measure", ms[i]->name,
                                                "label", ms[i]->label, "total", (json_int_t)window,
                                                "points", points));
    }
    char f[DATE_TEXT_LEN], t[DATE_TEXT_LEN];
    date_text(from, f);
    date_text(to, t);
    json_t *o = json_pack("{s:s,s:s,s:b,s:o}", "from", f, "to", t, "cumulative", (int)cumulative,
                          "series", series);
    json_set_region(o, g.code, g.name);
    return reply_json(r, 200, o);
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
    {M_GET, "/api/v1/stats/list", get_list, PERM_STATS_READ, 0, NULL,
     "统计数字背后的明细列表（人员脱敏，记审计）", "stats", 0},
    {M_GET, "/api/v1/stats/compare/regions", get_compare_regions, PERM_STATS_READ, 0, NULL,
     "区划对比（同一组指标并列）", "stats", 0},
    {M_GET, "/api/v1/stats/compare/periods", get_compare_periods, PERM_STATS_READ, 0, NULL,
     "时段对比（两个时间段的同一指标、变化量和变化率）", "stats", 0},
    {M_GET, "/api/v1/stats/trends", get_trends, PERM_STATS_READ, 0, NULL,
     "分类趋势（多个指标或一类指标的逐日/累计趋势）", "stats", 0},
};
const size_t stats_routes_n = sizeof stats_routes / sizeof stats_routes[0];
