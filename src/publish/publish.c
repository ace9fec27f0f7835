/*
 * Publications (publish.h): the blocks and their check, the templates, the
 * rendering of a snapshot from the counters, the workflow from draft to a
 * numbered, immutable version, withdrawal, and the schedule that renders
 * the live versions' figures again.
 */
#include <math.h>
#include <stdarg.h>
#include <stdio.h>
#include <string.h>

#include "base/id.h"
#include "base/json.h"
#include "base/log.h"
#include "base/paging.h"
#include "base/regcode.h"
#include "base/time.h"
#include "db/periodic.h"
#include "publish/internal.h"
#include "publish/publish.h"
#include "region/region.h"
#include "stats/stats.h"

static const struct vocab_word template_words[] = {
    {NULL, NULL},
    [PUBLISH_OVERVIEW] = {"overview", "疫情概况"},
    [PUBLISH_LOCAL] = {"local", "本地情况"},
    [PUBLISH_MAP] = {"map", "疫情地图"},
    [PUBLISH_TRENDS] = {"trends", "疫情趋势"},
    [PUBLISH_REGIONS] = {"regions", "分区数据"},
};
const struct vocab publish_template_vocab = VOCAB("publish_templates", "发布模板", template_words);

static const struct vocab_word state_words[] = {
    {NULL, NULL},
    [PUBLISH_DRAFT] = {"draft", "草稿"},
    [PUBLISH_PENDING] = {"pending", "待审核"},
    [PUBLISH_PUBLISHED] = {"published", "已发布"},
};
const struct vocab publish_state_vocab = VOCAB("publish_states", "发布状态", state_words);

/* ---- the text buffer (internal.h) ------------------------------------------------------- */

void sbuf_init(struct sbuf *b, arena *a, size_t max)
{
    *b = (struct sbuf){.a = a, .max = max};
}

void sbuf_add(struct sbuf *b, const char *s, size_t n)
{
    if (b->full)
        return;
    if (b->n + n + 1 > b->max) {
        b->full = true;
        return;
    }
    if (b->n + n + 1 > b->cap) {
        size_t cap = b->cap ? b->cap * 2 : 1024;
        while (cap < b->n + n + 1)
            cap *= 2;
        if (cap > b->max)
            cap = b->max;
        char *p = arena_alloc(b->a, cap);
        if (b->n)
            memcpy(p, b->p, b->n);
        b->p = p;
        b->cap = cap;
    }
    memcpy(b->p + b->n, s, n);
    b->n += n;
    b->p[b->n] = 0;
}

void sbuf_puts(struct sbuf *b, const char *s)
{
    sbuf_add(b, s, strlen(s));
}

void sbuf_printf(struct sbuf *b, const char *fmt, ...)
{
    char tmp[256];
    va_list ap;
    va_start(ap, fmt);
    int n = vsnprintf(tmp, sizeof tmp, fmt, ap);
    va_end(ap);
    if (n < 0 || (size_t)n >= sizeof tmp) {
        va_start(ap, fmt);
        char *big = arena_vprintf(b->a, fmt, ap);
        va_end(ap);
        sbuf_puts(b, big);
        return;
    }
    sbuf_add(b, tmp, (size_t)n);
}

void sbuf_html(struct sbuf *b, const char *s)
{
    const char *run = s;
    for (; *s; s++) {
        const char *ent = NULL;
        switch (*s) {
        case '&':
            ent = "&amp;";
            break;
        case '<':
            ent = "&lt;";
            break;
        case '>':
            ent = "&gt;";
            break;
        case '"':
            ent = "&quot;";
            break;
        case '\'':
            ent = "&#39;";
            break;
        default:
            continue;
        }
        sbuf_add(b, run, (size_t)(s - run));
        sbuf_puts(b, ent);
        run = s + 1;
    }
    sbuf_add(b, run, (size_t)(s - run));
}

/* ---- blocks ----------------------------------------------------------------------------- */

static const struct vocab_word block_words[] = {
    {NULL, NULL},
    [PUBLISH_BLOCK_TITLE] = {"title", "标题"},
    [PUBLISH_BLOCK_TEXT] = {"text", "文字"},
    [PUBLISH_BLOCK_FIGURES] = {"figures", "数据指标"},
    [PUBLISH_BLOCK_TREND] = {"trend", "趋势"},
    [PUBLISH_BLOCK_REGIONS] = {"regions", "分区数据"},
    [PUBLISH_BLOCK_MAP] = {"map", "疫情地图"},
};
const struct vocab publish_block_vocab = VOCAB("publish_blocks", "内容块", block_words);

/* The members each kind has besides "kind". */
static const char *const block_members[][4] = {
    [PUBLISH_BLOCK_TITLE] = {"text"},
    [PUBLISH_BLOCK_TEXT] = {"text"},
    [PUBLISH_BLOCK_FIGURES] = {"measures"},
    [PUBLISH_BLOCK_TREND] = {"measure", "days", "cumulative"},
    [PUBLISH_BLOCK_REGIONS] = {"measures"},
    [PUBLISH_BLOCK_MAP] = {"measure"},
};

static err block_err(const char *slug, size_t i, const char *member, const char *fmt, ...)
    __attribute__((format(printf, 4, 5)));

static err block_err(const char *slug, size_t i, const char *member, const char *fmt, ...)
{
    char field[64], msg[200];
    if (member)
        snprintf(field, sizeof field, "blocks[%zu].%s", i, member);
    else
        snprintf(field, sizeof field, "blocks[%zu]", i);
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(msg, sizeof msg, fmt, ap);
    va_end(ap);
    return err_set(E_INPUT, slug, field, "第 %zu 个内容块：%s", i + 1, msg);
}

/* A measure name of the registry; a flow when `flow`. */
static err check_measure(json_t *v, size_t i, const char *member, bool flow)
{
    if (!json_is_string(v))
        return block_err("invalid_block", i, member, "统计指标应为文本");
    const struct stats_measure *m = stats_measure_find(json_string_value(v));
    if (!m)
        return block_err("unknown_measure", i, member, "未知的统计指标：%.64s",
                         json_string_value(v));
    if (flow && m->level)
        return block_err("invalid_block", i, member, "“%s”是当前数量，没有逐日趋势", m->label);
    return E_OK;
}

static err check_measures(json_t *v, size_t i, size_t max)
{
    if (!json_is_array(v) || json_array_size(v) == 0 || json_array_size(v) > max)
        return block_err("invalid_block", i, "measures", "请选择 1 到 %zu 个统计指标", max);
    size_t k;
    json_t *m;
    json_array_foreach(v, k, m)
    {
        err e = check_measure(m, i, "measures", false);
        if (e)
            return e;
    }
    return E_OK;
}

static err check_block_text(json_t *v, size_t i, size_t max, bool one_line)
{
    const char *s = json_string_value(v);
    if (!s || !*s)
        return block_err("invalid_block", i, "text", "请填写文字");
    if (!utf8_valid_text(s) || (one_line && strpbrk(s, "\t\r\n")))
        return block_err("invalid_block", i, "text", "文字含有不允许的字符");
    if (utf8_len(s) > max)
        return block_err("invalid_block", i, "text", "文字不能超过 %zu 个字", max);
    return E_OK;
}

static err check_block(json_t *b, size_t i)
{
    if (!json_is_object(b))
        return block_err("invalid_block", i, NULL, "内容块应为对象");
    const char *kind = json_string_value(json_object_get(b, "kind"));
    int bk = vocab_parse(&publish_block_vocab, kind);
    if (bk <= 0)
        return block_err("unknown_block", i, "kind", "未知的内容块类型：%.32s", kind ? kind : "");
    const char *key;
    json_t *v;
    json_object_foreach(b, key, v)
    {
        bool known = !strcmp(key, "kind");
        for (size_t k = 0; !known && k < 4 && block_members[bk][k]; k++)
            known = !strcmp(key, block_members[bk][k]);
        if (!known)
            return block_err("invalid_block", i, NULL, "“%s”内容块没有“%.32s”项", kind, key);
    }
    if (!strcmp(kind, "title"))
        return check_block_text(json_object_get(b, "text"), i, PUBLISH_TITLE_MAX, true);
    if (!strcmp(kind, "text"))
        return check_block_text(json_object_get(b, "text"), i, PUBLISH_TEXT_MAX, false);
    if (!strcmp(kind, "figures"))
        return check_measures(json_object_get(b, "measures"), i, PUBLISH_FIGURES_MAX);
    if (!strcmp(kind, "regions"))
        return check_measures(json_object_get(b, "measures"), i, PUBLISH_REGION_COLUMNS);
    if (!strcmp(kind, "map"))
        return check_measure(json_object_get(b, "measure"), i, "measure", false);
    /* trend */
    err e = check_measure(json_object_get(b, "measure"), i, "measure", true);
    if (e)
        return e;
    json_t *days = json_object_get(b, "days");
    if (days && (!json_is_integer(days) || json_integer_value(days) < PUBLISH_TREND_MIN ||
                 json_integer_value(days) > PUBLISH_TREND_MAX))
        return block_err("invalid_block", i, "days", "趋势天数应为 %d 到 %d", PUBLISH_TREND_MIN,
                         PUBLISH_TREND_MAX);
    json_t *cum = json_object_get(b, "cumulative");
    if (cum && !json_is_boolean(cum))
        return block_err("invalid_block", i, "cumulative", "“累计”应为 true 或 false");
    return E_OK;
}

err publish_blocks_check(json_t *blocks)
{
    if (!json_is_array(blocks) || json_array_size(blocks) == 0 ||
        json_array_size(blocks) > PUBLISH_BLOCKS_MAX)
        return err_set(E_INPUT, "invalid_block", "blocks", "内容块应为 1 到 %d 个",
                       PUBLISH_BLOCKS_MAX);
    size_t i;
    json_t *b;
    json_array_foreach(blocks, i, b)
    {
        err e = check_block(b, i);
        if (e)
            return e;
    }
    return E_OK;
}

/* ---- templates --------------------------------------------------------------------------- */

/* The measures a template names, those registered: a new publication must
 * pass its own check whatever this process registered. */
static json_t *measures_of(const char *const *names, size_t max)
{
    json_t *arr = json_array();
    for (; *names && json_array_size(arr) < max; names++)
        if (stats_measure_find(*names))
            json_array_append_new(arr, json_string(*names));
    return arr;
}

static const char *const status_measures[] = {
    "person.status.confirmed", "person.status.asymptomatic", "person.status.suspected",
    "person.status.cured",     "person.status.dead",         NULL,
};
static const char *const isolation_measures[] = {"person.status.home_isolation",
                                                 "person.status.central_quarantine",
                                                 "person.status.observation", NULL};

/* The first registered flow of a list of candidates. */
static const char *trend_measure(void)
{
    static const char *const flows[] = {"case.enter.confirmed", "case.incident.new",
                                        "person.registered", NULL};
    for (const char *const *f = flows; *f; f++) {
        const struct stats_measure *m = stats_measure_find(*f);
        if (m && !m->level)
            return *f;
    }
    return NULL;
}

static void add_block(json_t *blocks, json_t *b)
{
    /* a block whose measures are not registered here is left out */
    json_t *ms = json_object_get(b, "measures");
    if (ms && !json_array_size(ms)) {
        json_decref(b);
        return;
    }
    json_array_append_new(blocks, b);
}

json_t *publish_template_blocks(enum publish_template t, const char *title)
{
    json_t *blocks = json_array();
    add_block(blocks, json_pack("{s:s,s:s}", "kind", "title", "text", title));
    const char *flow = trend_measure();
    switch (t) {
    case PUBLISH_OVERVIEW:
        add_block(blocks, json_pack("{s:s,s:o}", "kind", "figures", "measures",
                                    measures_of(status_measures, PUBLISH_FIGURES_MAX)));
        add_block(blocks,
                  json_pack("{s:s,s:s}", "kind", "text", "text", "请如实填写本辖区疫情概况说明。"));
        break;
    case PUBLISH_LOCAL:
        add_block(blocks, json_pack("{s:s,s:s}", "kind", "text", "text",
                                    "请填写本地疫情情况、防控措施和就医提示。"));
        add_block(blocks, json_pack("{s:s,s:o}", "kind", "figures", "measures",
                                    measures_of(isolation_measures, PUBLISH_FIGURES_MAX)));
        if (flow)
            add_block(blocks, json_pack("{s:s,s:s,s:i,s:b}", "kind", "trend", "measure", flow,
                                        "days", 14, "cumulative", 0));
        break;
    case PUBLISH_MAP:
        if (stats_measure_find(status_measures[0]))
            add_block(blocks, json_pack("{s:s,s:s}", "kind", "map", "measure", status_measures[0]));
        break;
    case PUBLISH_TRENDS:
        if (flow) {
            add_block(blocks, json_pack("{s:s,s:s,s:i,s:b}", "kind", "trend", "measure", flow,
                                        "days", 30, "cumulative", 0));
            add_block(blocks, json_pack("{s:s,s:s,s:i,s:b}", "kind", "trend", "measure", flow,
                                        "days", 30, "cumulative", 1));
        }
        break;
    case PUBLISH_REGIONS:
        add_block(blocks, json_pack("{s:s,s:o}", "kind", "regions", "measures",
                                    measures_of(status_measures, PUBLISH_REGION_COLUMNS)));
        break;
    }
    return blocks;
}

/* ---- rendering ---------------------------------------------------------------------------- */

static void date_of_day(int64_t day, char out[11])
{
    char t[CHINA_TIME_LEN];
    /* UTC midnight of day number `day` is 08:00 of that China date */
    china_time(day * DAY_MS, t);
    memcpy(out, t, 10);
    out[10] = 0;
}

struct render {
    db *d;
    arena *a;
    int64_t lo, hi, today;
    struct region *rs; /* the region and its children, loaded once */
    size_t rn;
};

static err figure_value(struct render *x, const struct stats_measure *m, int64_t lo, int64_t hi,
                        json_t **o_r)
{
    int64_t v = 0, today = 0;
    err e = stats_sum(x->d, m->name, lo, hi, STATS_NOW, STATS_NOW, &v);
    if (!e && !m->level)
        e = stats_sum(x->d, m->name, lo, hi, x->today, x->today, &today);
    if (e)
        return e;
    json_t *o = json_pack("{s:s,s:I}", "label", m->label, "value", (json_int_t)v);
    if (!m->level)
        json_object_set_new(o, "today", json_integer(today));
    *o_r = o;
    return E_OK;
}

static err render_figures(struct render *x, json_t *b, json_t **out_r)
{
    json_t *items = json_array();
    size_t i;
    json_t *name;
    json_array_foreach(json_object_get(b, "measures"), i, name)
    {
        json_t *f;
        err e = figure_value(x, stats_measure_find(json_string_value(name)), x->lo, x->hi, &f);
        if (e) {
            json_decref(items);
            return e;
        }
        json_array_append_new(items, f);
    }
    *out_r = json_pack("{s:s,s:o}", "kind", "figures", "items", items);
    return E_OK;
}

static err render_trend(struct render *x, json_t *b, json_t **out_r)
{
    const struct stats_measure *m =
        stats_measure_find(json_string_value(json_object_get(b, "measure")));
    int64_t days = json_int(b, "days", 30);
    bool cumulative = json_bool(b, "cumulative", false);
    int64_t v[PUBLISH_TREND_MAX], from = x->today - days + 1, run = 0, since = 0;
    err e = stats_series(x->d, m->name, x->lo, x->hi, from, x->today, v);
    /* a cumulative value includes everything before the window: the total
     * less every day from `from` on */
    if (!e && cumulative &&
        !(e = stats_sum(x->d, m->name, x->lo, x->hi, STATS_NOW, STATS_NOW, &run)))
        e = stats_sum(x->d, m->name, x->lo, x->hi, from, INT64_MAX, &since);
    if (e)
        return e;
    run -= since;
    json_t *points = json_array();
    for (int64_t k = 0; k < days; k++) {
        char date[11];
        date_of_day(from + k, date);
        run += v[k];
        json_array_append_new(points, json_pack("{s:s,s:I}", "date", date, "value",
                                                (json_int_t)(cumulative ? run : v[k])));
    }
    *out_r = json_pack("{s:s,s:s,s:b,s:o}", "kind", "trend", "label", m->label, "cumulative",
                       cumulative, "points", points);
    return E_OK;
}

static err render_regions(struct render *x, json_t *b, json_t **out_r)
{
    json_t *ms = json_object_get(b, "measures");
    json_t *columns = json_array(), *rows = json_array();
    size_t k;
    json_t *name;
    json_array_foreach(ms, k, name) json_array_append_new(
        columns, json_string(stats_measure_find(json_string_value(name))->label));
    for (size_t i = 1; i < x->rn; i++) {
        json_t *values = json_array();
        json_array_foreach(ms, k, name)
        {
            int64_t v = 0;
            err e = stats_sum(x->d, json_string_value(name), x->rs[i].code,
                              regcode_end(x->rs[i].code), STATS_NOW, STATS_NOW, &v);
            if (e) {
                json_decref(values);
                json_decref(columns);
                json_decref(rows);
                return e;
            }
            json_array_append_new(values, json_integer(v));
        }
        json_array_append_new(rows,
                              json_pack("{s:s,s:o}", "name", x->rs[i].name, "values", values));
    }
    *out_r = json_pack("{s:s,s:o,s:o}", "kind", "regions", "columns", columns, "rows", rows);
    return E_OK;
}

/* The rings of a stored boundary (compact GeoJSON Polygon or MultiPolygon,
 * checked when stored): fn(ring, ctx) for each. */
static void rings_each(json_t *geom, void (*fn)(json_t *ring, void *ctx), void *ctx)
{
    const char *type = json_string_value(json_object_get(geom, "type"));
    json_t *coords = json_object_get(geom, "coordinates");
    size_t i, j;
    json_t *poly, *ring;
    if (type && !strcmp(type, "Polygon")) {
        json_array_foreach(coords, i, ring) fn(ring, ctx);
    } else if (type && !strcmp(type, "MultiPolygon")) {
        json_array_foreach(coords, i, poly) json_array_foreach(poly, j, ring) fn(ring, ctx);
    }
}

struct bbox {
    double lng0, lat0, lng1, lat1;
    bool any;
};

static void bbox_ring(json_t *ring, void *ctx)
{
    struct bbox *bb = ctx;
    size_t i;
    json_t *pt;
    json_array_foreach(ring, i, pt)
    {
        double lng = json_number_value(json_array_get(pt, 0));
        double lat = json_number_value(json_array_get(pt, 1));
        if (!bb->any) {
            *bb = (struct bbox){lng, lat, lng, lat, true};
            continue;
        }
        bb->lng0 = fmin(bb->lng0, lng);
        bb->lng1 = fmax(bb->lng1, lng);
        bb->lat0 = fmin(bb->lat0, lat);
        bb->lat1 = fmax(bb->lat1, lat);
    }
}

struct projection {
    struct bbox bb;
    double kx, scale;
    struct sbuf *out;
};

static void path_ring(json_t *ring, void *ctx)
{
    struct projection *p = ctx;
    size_t i;
    json_t *pt;
    json_array_foreach(ring, i, pt)
    {
        double lng = json_number_value(json_array_get(pt, 0));
        double lat = json_number_value(json_array_get(pt, 1));
        sbuf_printf(p->out, "%s%.1f %.1f", i ? "L" : "M", (lng - p->bb.lng0) * p->kx * p->scale,
                    (p->bb.lat1 - lat) * p->scale);
    }
    sbuf_puts(p->out, "Z");
}

#define MAP_SIZE 320.0 /* the longer side of the map's box */

static err render_map(struct render *x, json_t *b, json_t **out_r)
{
    const struct stats_measure *m =
        stats_measure_find(json_string_value(json_object_get(b, "measure")));
    size_t n = x->rn > 1 ? x->rn - 1 : 0;
    json_t **geoms = arena_zalloc(x->a, (n + 1) * sizeof *geoms);
    struct projection p = {.bb = {0}};
    for (size_t i = 0; i < n; i++) {
        const char *text = x->rs[i + 1].boundary;
        if (text && *text && (geoms[i] = json_loads(text, 0, NULL)))
            rings_each(geoms[i], bbox_ring, &p.bb);
    }
    double w = 0, h = 0;
    if (p.bb.any) {
        p.kx = cos((p.bb.lat0 + p.bb.lat1) / 2 * M_PI / 180);
        w = (p.bb.lng1 - p.bb.lng0) * p.kx;
        h = p.bb.lat1 - p.bb.lat0;
        p.scale = (w > h ? w : h) > 0 ? MAP_SIZE / (w > h ? w : h) : 1;
    }
    json_t *items = json_array();
    err e = E_OK;
    for (size_t i = 0; i < n && !e; i++) {
        int64_t v = 0;
        if ((e = stats_sum(x->d, m->name, x->rs[i + 1].code, regcode_end(x->rs[i + 1].code),
                           STATS_NOW, STATS_NOW, &v)))
            break;
        json_t *it = json_pack("{s:s,s:I}", "name", x->rs[i + 1].name, "value", (json_int_t)v);
        if (geoms[i] && p.bb.any) {
            struct sbuf path;
            sbuf_init(&path, x->a, 1u << 20);
            p.out = &path;
            rings_each(geoms[i], path_ring, &p);
            if (!path.full && path.n)
                json_object_set_new(it, "path", json_string(path.p));
        }
        json_array_append_new(items, it);
    }
    for (size_t i = 0; i < n; i++)
        json_decref(geoms[i]);
    if (e) {
        json_decref(items);
        return e;
    }
    json_t *o = json_pack("{s:s,s:s,s:o}", "kind", "map", "label", m->label, "items", items);
    if (p.bb.any)
        json_object_set_new(o, "box", json_pack("[f,f]", ceil(w * p.scale), ceil(h * p.scale)));
    *out_r = o;
    return E_OK;
}

/* Text as paragraphs: split at blank lines, each trimmed of its line breaks. */
static json_t *paragraphs(const char *s)
{
    json_t *arr = json_array();
    while (*s) {
        const char *end = strstr(s, "\n\n");
        size_t len = end ? (size_t)(end - s) : strlen(s);
        while (len && (s[len - 1] == '\n' || s[len - 1] == '\r' || s[len - 1] == ' '))
            len--;
        while (len && (*s == '\n' || *s == '\r')) {
            s++;
            len--;
        }
        if (len)
            json_array_append_new(arr, json_stringn(s, len));
        if (!end)
            break;
        s = end + 2;
    }
    return arr;
}

err publish_render(db *d, arena *a, int64_t region_code, const char *title, json_t *blocks,
                   int64_t now, json_t **snapshot_r)
{
    struct render x = {
        .d = d, .a = a, .lo = region_code, .hi = regcode_end(region_code), .today = china_day(now)};
    bool map = false;
    size_t i;
    json_t *b;
    json_array_foreach(blocks, i, b) map |=
        !strcmp(json_string_value(json_object_get(b, "kind")), "map");
    struct scope sc = scope_of(region_code);
    err e = region_tree(d, &sc, region_code, 1, map, a, &x.rs, &x.rn);
    if (e)
        return e;
    json_t *out = json_array();
    json_array_foreach(blocks, i, b)
    {
        const char *kind = json_string_value(json_object_get(b, "kind"));
        json_t *o = NULL;
        if (!strcmp(kind, "title"))
            o = json_pack("{s:s,s:O}", "kind", "title", "text", json_object_get(b, "text"));
        else if (!strcmp(kind, "text"))
            o = json_pack("{s:s,s:o}", "kind", "text", "paragraphs",
                          paragraphs(json_string_value(json_object_get(b, "text"))));
        else if (!strcmp(kind, "figures"))
            e = render_figures(&x, b, &o);
        else if (!strcmp(kind, "trend"))
            e = render_trend(&x, b, &o);
        else if (!strcmp(kind, "regions"))
            e = render_regions(&x, b, &o);
        else
            e = render_map(&x, b, &o);
        if (e) {
            json_decref(out);
            return e;
        }
        json_array_append_new(out, o);
    }
    char date[11], at[CHINA_TIME_LEN];
    date_of_day(x.today, date);
    china_time(now, at);
    *snapshot_r = json_pack("{s:s,s:s,s:s,s:s,s:o}", "title", title, "region_name", x.rs[0].name,
                            "date", date, "rendered_at", at, "blocks", out);
    return *snapshot_r ? E_OK : err_set(E_NOMEM, NULL, NULL, NULL);
}

/* ---- publications ----------------------------------------------------------------------- */

static char *dump(json_t *v, arena *a)
{
    char *s = json_dumps(v, JSON_COMPACT);
    if (!s)
        return NULL;
    char *copy = arena_strdup(a, s);
    free(s);
    return copy;
}

err publish_create(db *d, arena *a, const struct principal *who, int64_t region_code,
                   enum publish_template t, const char *title, json_t *blocks, int64_t *id_r)
{
    struct region g;
    err e = region_find(d, &who->scope, region_code, false, a, &g);
    if (e == E_NOT_FOUND)
        return err_set(E_NOT_FOUND, "not_found", "region_code", "区划不存在或不在您的管辖范围内");
    if (e)
        return e;
    json_t *own = blocks ? json_incref(blocks) : publish_template_blocks(t, title);
    const char *text = dump(own, a);
    json_decref(own);
    if (!text)
        return err_set(E_NOMEM, NULL, NULL, NULL);
    db_stmt *s;
    if ((e = db_prepare(d,
                        "INSERT INTO publications (id, region_code, template, title, blocks, "
                        "state, created_by, created_at, updated_at) "
                        "VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?)",
                        &s)))
        return e;
    int64_t id = id_new(), now = now_ms();
    db_bind_int64(s, 1, id);
    db_bind_int64(s, 2, region_code);
    db_bind_text(s, 3, vocab_name(&publish_template_vocab, t));
    db_bind_text(s, 4, title);
    db_bind_text(s, 5, text);
    db_bind_text(s, 6, vocab_name(&publish_state_vocab, PUBLISH_DRAFT));
    db_bind_int64(s, 7, who->user_id);
    db_bind_int64(s, 8, now);
    db_bind_int64(s, 9, now);
    if ((e = db_run(s, NULL)))
        return e;
    *id_r = id;
    return E_OK;
}

#define PUB_COLUMNS                                                                                \
    "p.id, p.region_code, p.template, p.title, p.blocks, p.state, p.submitted_by, "                \
    "p.submitted_at, p.note, p.created_by, p.created_at, p.updated_at, "                           \
    "(SELECT MAX(v.version) FROM publication_versions v WHERE v.publication_id = p.id AND "        \
    "v.withdrawn_at = 0), "                                                                        \
    "(SELECT COUNT(*) FROM publication_versions v WHERE v.publication_id = p.id), "                \
    "(SELECT r.name FROM regions r WHERE r.code = p.region_code) "

static void read_pub(db_stmt *s, arena *a, struct publication *p)
{
    *p = (struct publication){
        .id = db_col_int64(s, 0),
        .region_code = db_col_int64(s, 1),
        .template_ = (enum publish_template)vocab_parse(&publish_template_vocab, db_col_text(s, 2)),
        .title = arena_strdup(a, db_col_text(s, 3)),
        .blocks = json_loads(db_col_text(s, 4), 0, NULL),
        .state = (enum publish_state)vocab_parse(&publish_state_vocab, db_col_text(s, 5)),
        .submitted_by = db_col_int64(s, 6),
        .submitted_at = db_col_int64(s, 7),
        .note = arena_strdup(a, db_col_text(s, 8)),
        .created_by = db_col_int64(s, 9),
        .created_at = db_col_int64(s, 10),
        .updated_at = db_col_int64(s, 11),
        .live_version = db_col_null(s, 12) ? 0 : db_col_int64(s, 12),
        .versions = db_col_int64(s, 13),
        .region_name = arena_strdup(a, db_col_text(s, 14)),
    };
}

err publish_find(db *d, arena *a, const struct scope *sc, int64_t id, struct publication *p_r)
{
    db_stmt *s;
    err e = db_prepare(d,
                       "SELECT " PUB_COLUMNS "FROM publications p WHERE p.id = ? AND "
                       "p.region_code >= ? AND p.region_code < ? AND p.deleted_at = 0",
                       &s);
    if (e)
        return e;
    db_bind_int64(s, 1, id);
    db_bind_int64(s, 2, sc->lo);
    db_bind_int64(s, 3, sc->hi);
    bool row;
    if (!(e = db_row(s, &row)) && row)
        read_pub(s, a, p_r);
    db_done(s);
    if (e)
        return e;
    return row ? E_OK : err_set(E_NOT_FOUND, "not_found", NULL, "发布内容不存在");
}

static void set_time(json_t *o, const char *key, int64_t ms)
{
    char t[CHINA_TIME_LEN];
    china_time(ms, t);
    json_object_set_new(o, key, ms > 0 ? json_string(t) : json_null());
}

json_t *publish_json(const struct publication *p)
{
    json_t *o = json_object();
    json_set_id(o, "id", p->id);
    json_set_region(o, p->region_code, p->region_name);
    json_object_set_new(o, "template",
                        json_string(vocab_name(&publish_template_vocab, p->template_)));
    json_object_set_new(o, "template_label",
                        json_string(vocab_label(&publish_template_vocab, p->template_)));
    json_object_set_new(o, "title", json_string(p->title));
    json_object_set_new(o, "blocks", p->blocks ? json_incref(p->blocks) : json_array());
    json_object_set_new(o, "state", json_string(vocab_name(&publish_state_vocab, p->state)));
    json_object_set_new(o, "state_label", json_string(vocab_label(&publish_state_vocab, p->state)));
    json_set_id_or_null(o, "submitted_by", p->submitted_by);
    set_time(o, "submitted_at", p->submitted_at);
    json_object_set_new(o, "note", json_string(p->note));
    json_set_id(o, "created_by", p->created_by);
    set_time(o, "created_at", p->created_at);
    set_time(o, "updated_at", p->updated_at);
    json_object_set_new(o, "live_version",
                        p->live_version ? json_integer(p->live_version) : json_null());
    json_object_set_new(o, "versions", json_integer(p->versions));
    return o;
}

err publish_list(db *d, arena *a, const struct scope *sc, enum publish_state state, int64_t page,
                 int64_t page_size, json_t **items_r, int64_t *total_r)
{
    const char *st = state ? vocab_name(&publish_state_vocab, state) : NULL;
    db_stmt *s;
    err e = db_prepare(
        d,
        "SELECT COUNT(*) FROM publications p WHERE p.region_code >= ? AND "
        "p.region_code < ? AND p.deleted_at = 0 AND (CAST(? AS TEXT) IS NULL OR p.state = ?)",
        &s);
    if (e)
        return e;
    db_bind_int64(s, 1, sc->lo);
    db_bind_int64(s, 2, sc->hi);
    db_bind_text(s, 3, st);
    db_bind_text(s, 4, st);
    bool row;
    int64_t total = 0;
    if (!(e = db_row(s, &row)) && row)
        total = db_col_int64(s, 0);
    db_done(s);
    if (e ||
        (e = db_prepare(d,
                        "SELECT " PUB_COLUMNS "FROM publications p WHERE p.region_code >= ? "
                        "AND p.region_code < ? AND p.deleted_at = 0 AND (CAST(? AS TEXT) IS NULL "
                        "OR p.state = ?) ORDER BY p.updated_at DESC, p.id DESC LIMIT ? OFFSET ?",
                        &s)))
        return e;
    db_bind_int64(s, 1, sc->lo);
    db_bind_int64(s, 2, sc->hi);
    db_bind_text(s, 3, st);
    db_bind_text(s, 4, st);
    db_bind_int64(s, 5, page_size);
    db_bind_int64(s, 6, paging_offset(page, page_size));
    json_t *items = json_array();
    while (!(e = db_row(s, &row)) && row) {
        struct publication p;
        read_pub(s, a, &p);
        json_t *o = publish_json(&p);
        json_decref(p.blocks);
        json_object_del(o, "blocks"); /* the list shows the state; the editor loads one */
        json_array_append_new(items, o);
    }
    db_done(s);
    if (e) {
        json_decref(items);
        return e;
    }
    *items_r = items;
    *total_r = total;
    return E_OK;
}

/* Move id (in who's scope, in state `from`) to `to`, setting the submitter
 * when `to` is pending and the note when given. E_CONFLICT
 * "invalid_transition" when it is not in `from`. */
static err transition(db *d, const struct principal *who, int64_t id, enum publish_state from,
                      enum publish_state to, const char *note)
{
    db_stmt *s;
    err e = db_prepare(
        d,
        "UPDATE publications SET state = ?, updated_at = ?, note = COALESCE(CAST(? AS TEXT), "
        "note), "
        "submitted_by = CASE WHEN ? = 1 THEN ? ELSE submitted_by END, "
        "submitted_at = CASE WHEN ? = 1 THEN ? ELSE submitted_at END "
        "WHERE id = ? AND region_code >= ? AND region_code < ? AND "
        "deleted_at = 0 AND state = ?",
        &s);
    if (e)
        return e;
    int64_t now = now_ms(), changed = 0;
    bool submit = to == PUBLISH_PENDING;
    db_bind_text(s, 1, vocab_name(&publish_state_vocab, to));
    db_bind_int64(s, 2, now);
    db_bind_text(s, 3, note);
    db_bind_int64(s, 4, submit);
    db_bind_int64(s, 5, who->user_id);
    db_bind_int64(s, 6, submit);
    db_bind_int64(s, 7, now);
    db_bind_int64(s, 8, id);
    db_bind_int64(s, 9, who->scope.lo);
    db_bind_int64(s, 10, who->scope.hi);
    db_bind_text(s, 11, vocab_name(&publish_state_vocab, from));
    if ((e = db_run(s, &changed)) || changed)
        return e;
    return E_CONFLICT;
}

/* The refusal of a transition that found nothing to change: 404 when the
 * publication is not there (for the caller), else 409 with its state. */
static err not_changed(db *d, arena *a, const struct principal *who, int64_t id, const char *what)
{
    struct publication p;
    err e = publish_find(d, a, &who->scope, id, &p);
    if (e)
        return e;
    json_decref(p.blocks);
    return err_set(E_CONFLICT, "invalid_transition", "state", "当前状态为“%s”，不能%s",
                   vocab_label(&publish_state_vocab, p.state), what);
}

err publish_update(db *d, const struct principal *who, int64_t id, const char *title,
                   json_t *blocks)
{
    char *text = blocks ? json_dumps(blocks, JSON_COMPACT) : NULL;
    if (blocks && !text)
        return err_set(E_NOMEM, NULL, NULL, NULL);
    db_stmt *s;
    err e = db_prepare(d,
                       "UPDATE publications SET title = COALESCE(?, title), blocks = COALESCE(?, "
                       "blocks), state = ?, updated_at = ? WHERE id = ? AND region_code >= ? "
                       "AND region_code < ? AND deleted_at = 0",
                       &s);
    int64_t changed = 0;
    if (!e) {
        db_bind_text(s, 1, title);
        db_bind_text(s, 2, text);
        db_bind_text(s, 3, vocab_name(&publish_state_vocab, PUBLISH_DRAFT));
        db_bind_int64(s, 4, now_ms());
        db_bind_int64(s, 5, id);
        db_bind_int64(s, 6, who->scope.lo);
        db_bind_int64(s, 7, who->scope.hi);
        e = db_run(s, &changed);
    }
    free(text);
    if (e)
        return e;
    return changed ? E_OK : err_set(E_NOT_FOUND, "not_found", NULL, "发布内容不存在");
}

err publish_submit(db *d, arena *a, const struct principal *who, int64_t id)
{
    err e = transition(d, who, id, PUBLISH_DRAFT, PUBLISH_PENDING, NULL);
    return e == E_CONFLICT ? not_changed(d, a, who, id, "提交审核") : e;
}

err publish_reject(db *d, arena *a, const struct principal *who, int64_t id, const char *note)
{
    err e = transition(d, who, id, PUBLISH_PENDING, PUBLISH_DRAFT, note ? note : "");
    return e == E_CONFLICT ? not_changed(d, a, who, id, "退回") : e;
}

err publish_approve(db *d, arena *a, const struct principal *who, int64_t id, int64_t *version_r)
{
    err e = db_begin(d);
    if (e)
        return e;
    struct publication p;
    json_t *snap = NULL;
    int64_t now = now_ms(), version = 0;
    if ((e = publish_find(d, a, &who->scope, id, &p))) {
        db_rollback(d);
        return e;
    }
    if (p.state != PUBLISH_PENDING) {
        e = err_set(E_CONFLICT, "invalid_transition", "state", "当前状态为“%s”，不能审核通过",
                    vocab_label(&publish_state_vocab, p.state));
        goto fail;
    }
    if (p.submitted_by == who->user_id) {
        e = err_set(E_FORBIDDEN, "self_approval", NULL,
                    "不能审核自己提交的发布内容，请由另一位审核人审核");
        goto fail;
    }
    if (!p.blocks) {
        e = err_set(E_INTERNAL, NULL, NULL, "stored blocks unreadable");
        goto fail;
    }
    if ((e = publish_render(d, a, p.region_code, p.title, p.blocks, now, &snap)))
        goto fail;
    version = p.versions + 1;
    db_stmt *s;
    const char *blocks = dump(p.blocks, a), *snapshot = dump(snap, a);
    if (!blocks || !snapshot) {
        e = err_set(E_NOMEM, NULL, NULL, NULL);
        goto fail;
    }
    if ((e = db_prepare(d,
                        "INSERT INTO publication_versions (id, publication_id, version, title, "
                        "blocks, snapshot, data_day, rendered_at, submitted_by, approved_by, "
                        "approved_at) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)",
                        &s)))
        goto fail;
    db_bind_int64(s, 1, id_new());
    db_bind_int64(s, 2, id);
    db_bind_int64(s, 3, version);
    db_bind_text(s, 4, p.title);
    db_bind_text(s, 5, blocks);
    db_bind_text(s, 6, snapshot);
    db_bind_int64(s, 7, china_day(now));
    db_bind_int64(s, 8, now);
    db_bind_int64(s, 9, p.submitted_by);
    db_bind_int64(s, 10, who->user_id);
    db_bind_int64(s, 11, now);
    if ((e = db_run(s, NULL)) ||
        (e = transition(d, who, id, PUBLISH_PENDING, PUBLISH_PUBLISHED, "")))
        goto fail;
    json_decref(p.blocks);
    json_decref(snap);
    if ((e = db_commit(d)))
        return e;
    *version_r = version;
    return E_OK;
fail:
    json_decref(p.blocks);
    json_decref(snap);
    db_rollback(d);
    return e;
}

err publish_withdraw(db *d, arena *a, const struct principal *who, int64_t id, int64_t *version_r)
{
    struct publication p;
    err e = db_begin(d);
    if (!e && !(e = publish_find(d, a, &who->scope, id, &p))) {
        json_decref(p.blocks);
        if (!p.live_version)
            e = err_set(E_CONFLICT, "invalid_transition", "state", "没有正在发布的版本可撤回");
    }
    db_stmt *s;
    if (!e && !(e = db_prepare(d,
                               "UPDATE publication_versions SET withdrawn_at = ?, withdrawn_by = ? "
                               "WHERE publication_id = ? AND version = ? AND withdrawn_at = 0",
                               &s))) {
        db_bind_int64(s, 1, now_ms());
        db_bind_int64(s, 2, who->user_id);
        db_bind_int64(s, 3, id);
        db_bind_int64(s, 4, p.live_version);
        e = db_run(s, NULL);
    }
    if (e) {
        db_rollback(d);
        return e;
    }
    if ((e = db_commit(d)))
        return e;
    *version_r = p.live_version;
    return E_OK;
}

err publish_delete(db *d, arena *a, const struct principal *who, int64_t id)
{
    struct publication p;
    err e = db_begin(d);
    if (!e && !(e = publish_find(d, a, &who->scope, id, &p))) {
        json_decref(p.blocks);
        if (p.live_version)
            e = err_set(E_CONFLICT, "invalid_transition", "state",
                        "第 %lld 版正在公众页面展示，请先撤回再删除", (long long)p.live_version);
    }
    db_stmt *s;
    if (!e && !(e = db_prepare(d, "UPDATE publications SET deleted_at = ? WHERE id = ?", &s))) {
        db_bind_int64(s, 1, now_ms());
        db_bind_int64(s, 2, id);
        e = db_run(s, NULL);
    }
    if (e) {
        db_rollback(d);
        return e;
    }
    return db_commit(d);
}

err publish_versions(db *d, arena *a, const struct scope *sc, int64_t id, json_t **items_r)
{
    struct publication p;
    err e = publish_find(d, a, sc, id, &p);
    if (e)
        return e;
    json_decref(p.blocks);
    db_stmt *s;
    if ((e = db_prepare(d,
                        "SELECT v.version, v.title, v.blocks, v.snapshot, v.data_day, "
                        "v.approved_by, v.approved_at, v.withdrawn_at, v.submitted_by, "
                        "(SELECT u.display_name FROM users u WHERE u.id = v.approved_by), "
                        "(SELECT u.display_name FROM users u WHERE u.id = v.submitted_by) "
                        "FROM publication_versions v WHERE v.publication_id = ? "
                        "ORDER BY v.version DESC",
                        &s)))
        return e;
    db_bind_int64(s, 1, id);
    json_t *items = json_array();
    bool row;
    while (!(e = db_row(s, &row)) && row) {
        int64_t version = db_col_int64(s, 0);
        char date[11];
        date_of_day(db_col_int64(s, 4), date);
        json_t *o =
            json_pack("{s:I,s:s,s:o,s:o,s:s,s:s,s:s,s:b}", "version", (json_int_t)version, "title",
                      db_col_text(s, 1), "blocks", json_loads(db_col_text(s, 2), 0, NULL),
                      "snapshot", json_loads(db_col_text(s, 3), 0, NULL), "date", date,
                      "approved_by_name", db_col_text(s, 9), "submitted_by_name",
                      db_col_text(s, 10), "live", version == p.live_version);
        if (!o)
            continue;
        json_set_id(o, "approved_by", db_col_int64(s, 5));
        json_set_id(o, "submitted_by", db_col_int64(s, 8));
        set_time(o, "approved_at", db_col_int64(s, 6));
        set_time(o, "withdrawn_at", db_col_int64(s, 7));
        json_array_append_new(items, o);
    }
    db_done(s);
    if (e) {
        json_decref(items);
        return e;
    }
    *items_r = items;
    return E_OK;
}

err publish_preview(db *d, arena *a, const struct scope *sc, int64_t id, json_t **snapshot_r)
{
    struct publication p;
    err e = publish_find(d, a, sc, id, &p);
    if (e)
        return e;
    if (!p.blocks)
        return err_set(E_INTERNAL, NULL, NULL, "stored blocks unreadable");
    e = publish_render(d, a, p.region_code, p.title, p.blocks, now_ms(), snapshot_r);
    json_decref(p.blocks);
    return e;
}

/* ---- the public and the schedule -------------------------------------------------------- */

/* The live version of each publication: the newest not withdrawn. */
#define LIVE_VERSIONS                                                                              \
    "FROM publication_versions v JOIN publications p ON p.id = v.publication_id "                  \
    "WHERE p.deleted_at = 0 AND v.withdrawn_at = 0 AND v.version = (SELECT MAX(w.version) FROM "   \
    "publication_versions w WHERE w.publication_id = v.publication_id AND w.withdrawn_at = 0) "

err publish_public_list(db *d, arena *a, json_t **items_r)
{
    (void)a;
    db_stmt *s;
    err e =
        db_prepare(d,
                   "SELECT v.publication_id, v.version, v.approved_at, v.snapshot " LIVE_VERSIONS
                   "ORDER BY v.approved_at DESC, v.publication_id DESC LIMIT 100",
                   &s);
    if (e)
        return e;
    json_t *items = json_array();
    bool row;
    while (!(e = db_row(s, &row)) && row) {
        json_t *snap = json_loads(db_col_text(s, 3), 0, NULL);
        if (!snap)
            continue;
        json_t *o = json_object();
        json_set_id(o, "id", db_col_int64(s, 0));
        json_object_set_new(o, "version", json_integer(db_col_int64(s, 1)));
        set_time(o, "approved_at", db_col_int64(s, 2));
        json_object_set_new(o, "snapshot", snap);
        json_array_append_new(items, o);
    }
    db_done(s);
    if (e) {
        json_decref(items);
        return e;
    }
    *items_r = items;
    return E_OK;
}

err publish_rerender(db *d, int64_t now, int64_t *n_r)
{
    db_stmt *s;
    err e = db_prepare(d, "SELECT v.id, p.region_code, v.title, v.blocks " LIVE_VERSIONS, &s);
    if (e)
        return e;
    struct live {
        int64_t id, region_code;
        char *title, *blocks;
    } *ls = NULL;
    size_t n = 0, cap = 0;
    arena *a = arena_new(0); /* the worker's and the command's: no request */
    bool row;
    while (a && !(e = db_row(s, &row)) && row) {
        if (n == cap) {
            cap = cap ? cap * 2 : 16;
            struct live *grown = arena_alloc(a, cap * sizeof *grown);
            if (n)
                memcpy(grown, ls, n * sizeof *ls);
            ls = grown;
        }
        ls[n++] =
            (struct live){db_col_int64(s, 0), db_col_int64(s, 1),
                          arena_strdup(a, db_col_text(s, 2)), arena_strdup(a, db_col_text(s, 3))};
    }
    db_done(s);
    /* one render's memory (outlines, texts), reset between versions: flat
     * however many are live */
    arena *w = a ? arena_new(0) : NULL;
    if (!w) {
        arena_free(&a);
        return E_NOMEM;
    }
    for (size_t i = 0; i < n && !e; i++) {
        arena_reset(w);
        json_t *blocks = json_loads(ls[i].blocks, 0, NULL), *snap = NULL;
        if (!blocks)
            continue;
        e = publish_render(d, w, ls[i].region_code, ls[i].title, blocks, now, &snap);
        json_decref(blocks);
        /* its region gone (deleted or moved): the version keeps its last
         * figures; the others are rendered all the same */
        if (e == E_NOT_FOUND) {
            e = E_OK;
            continue;
        }
        const char *text = e ? NULL : dump(snap, w);
        json_decref(snap);
        if (e || !text ||
            (e = db_prepare(d,
                            "UPDATE publication_versions SET snapshot = ?, "
                            "data_day = ?, rendered_at = ? WHERE id = ?",
                            &s)))
            continue;
        db_bind_text(s, 1, text);
        db_bind_int64(s, 2, china_day(now));
        db_bind_int64(s, 3, now);
        db_bind_int64(s, 4, ls[i].id);
        if (!(e = db_run(s, NULL)))
            ++*n_r;
    }
    arena_free(&w);
    arena_free(&a);
    return e;
}

static err rerender_run(db *d, int64_t now, void *ctx, int64_t *n_r)
{
    (void)ctx;
    return publish_rerender(d, now, n_r);
}

static struct periodic renderer = PERIODIC_INIT("publish_render", rerender_run, NULL);

err publish_worker_start(const char *db_url, int every_s)
{
    return periodic_start(&renderer, db_url, every_s);
}

void publish_worker_stop(void)
{
    periodic_stop(&renderer);
}
