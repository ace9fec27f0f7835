/*
 * The public page (疫情信息发布, /public/) and its API, without sign-in
 * (publish.h, docs/publish.md):
 *
 *   GET /public/                        the page: every live publication and the approved
 *                                       feed items, server-rendered HTML with inline CSS
 *                                       and SVG, no script
 *   GET /public                         302 to /public/
 *   GET /api/v1/public/publications     {items: [{id, version, approved_at, snapshot}]}
 *   GET /api/v1/public/feed-items       {items: [{kind, kind_label, title, link, summary,
 *                                       source, published_at}]}
 *
 * They read only snapshots of approved versions and approved feed items,
 * which hold aggregates, region names and the texts approvers passed:
 * nothing here can reach a record of a person. Each reply is rendered once
 * per change of what it shows and kept in the process (serve, below);
 * replies are cacheable (Cache-Control public, a minute) with an ETag of
 * the body, answered 304 when the client has it; each address is limited to FK_PUBLIC_RATE
 * requests a minute (429 public_rate_limited), counted through the shared
 * rate-limit table so every server behind a balancer counts the same.
 */
#include <math.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "app.h"
#include "publish/internal.h"
#include "publish/publish.h"
#include "security/ratelimit.h"

#define PUBLIC_FEED_MAX 50 /* feed items on the page and in its API */

static int64_t rate_per_minute = 600;

void publish_public_configure(int per_minute)
{
    rate_per_minute = per_minute;
}

const char publish_css[] =
    ".fkp{font:15px/1.6 -apple-system,'PingFang SC','Microsoft YaHei','Noto Sans CJK SC',"
    "sans-serif;color:#1f2937;max-width:760px;margin:0 auto;padding:0 12px}"
    ".fkp h1{font-size:22px;margin:16px 0 4px;color:#b91c1c}"
    ".fkp h2{font-size:19px;margin:0 0 2px}.fkp h3{font-size:16px;margin:14px 0 6px}"
    ".fkp .meta{color:#6b7280;font-size:13px;margin:0 0 10px}"
    ".fkp article,.fkp section{background:#fff;border:1px solid #e5e7eb;border-radius:8px;"
    "padding:12px 14px;margin:12px 0}"
    ".fkp .figs{display:grid;grid-template-columns:repeat(auto-fill,minmax(104px,1fr));gap:8px}"
    ".fkp .fig{background:#fef2f2;border-radius:6px;padding:8px;text-align:center}"
    ".fkp .fig b{display:block;font-size:24px;color:#b91c1c;line-height:1.2}"
    ".fkp .fig span{font-size:13px}.fkp .fig small{display:block;color:#6b7280;font-size:12px}"
    ".fkp svg{width:100%;height:auto;display:block}"
    ".fkp .axis{display:flex;justify-content:space-between;color:#6b7280;font-size:12px}"
    ".fkp table{width:100%;border-collapse:collapse;font-size:14px}"
    ".fkp th,.fkp td{border-bottom:1px solid #e5e7eb;padding:4px 6px;text-align:right}"
    ".fkp th:first-child,.fkp td:first-child{text-align:left}"
    ".fkp ul.feed{list-style:none;padding:0;margin:0}.fkp ul.feed li{padding:6px 0;"
    "border-bottom:1px solid #f3f4f6}.fkp ul.feed small{color:#6b7280;display:block}"
    ".fkp a{color:#1d4ed8;text-decoration:none}.fkp .empty{color:#6b7280}";

/* ---- one publication as HTML ----------------------------------------------------------------- */

static void html_figures(struct sbuf *b, json_t *blk)
{
    sbuf_puts(b, "<div class=\"figs\">");
    size_t i;
    json_t *f;
    json_array_foreach(json_object_get(blk, "items"), i, f)
    {
        sbuf_printf(b, "<div class=\"fig\"><b>%lld</b><span>",
                    (long long)json_integer_value(json_object_get(f, "value")));
        sbuf_html(b, json_string_value(json_object_get(f, "label")));
        sbuf_puts(b, "</span>");
        json_t *today = json_object_get(f, "today");
        if (today)
            sbuf_printf(b, "<small>今日 +%lld</small>", (long long)json_integer_value(today));
        sbuf_puts(b, "</div>");
    }
    sbuf_puts(b, "</div>");
}

#define TREND_W 320
#define TREND_H 110

static void html_trend(struct sbuf *b, json_t *blk)
{
    json_t *pts = json_object_get(blk, "points");
    size_t n = json_array_size(pts), i;
    json_t *p;
    json_int_t max = 0;
    json_array_foreach(pts, i, p) if (json_integer_value(json_object_get(p, "value")) > max) max =
        json_integer_value(json_object_get(p, "value"));
    sbuf_puts(b, "<figure class=\"trend\" style=\"margin:8px 0\"><h3>");
    sbuf_html(b, json_string_value(json_object_get(blk, "label")));
    sbuf_printf(b, "（%s，近 %zu 天，最高 %lld）</h3>",
                json_is_true(json_object_get(blk, "cumulative")) ? "累计" : "逐日", n,
                (long long)max);
    sbuf_printf(b, "<svg viewBox=\"0 0 %d %d\" role=\"img\">", TREND_W, TREND_H);
    sbuf_printf(b, "<line x1=\"0\" y1=\"%d\" x2=\"%d\" y2=\"%d\" stroke=\"#d1d5db\"/>", TREND_H - 1,
                TREND_W, TREND_H - 1);
    double w = n ? (double)TREND_W / (double)n : TREND_W;
    json_array_foreach(pts, i, p)
    {
        json_int_t v = json_integer_value(json_object_get(p, "value"));
        double h = max ? (double)v / (double)max * (TREND_H - 12) : 0;
        sbuf_printf(b,
                    "<rect x=\"%.1f\" y=\"%.1f\" width=\"%.1f\" height=\"%.1f\" fill=\"#ef4444\">"
                    "<title>",
                    (double)i * w + w * 0.1, TREND_H - 1 - h, w * 0.8, h);
        sbuf_html(b, json_string_value(json_object_get(p, "date")));
        sbuf_printf(b, "：%lld</title></rect>", (long long)v);
    }
    sbuf_puts(b, "</svg><div class=\"axis\"><span>");
    if (n) {
        sbuf_html(b, json_string_value(json_object_get(json_array_get(pts, 0), "date")));
        sbuf_puts(b, "</span><span>");
        sbuf_html(b, json_string_value(json_object_get(json_array_get(pts, n - 1), "date")));
    }
    sbuf_puts(b, "</span></div></figure>");
}

static void html_regions(struct sbuf *b, json_t *blk)
{
    sbuf_puts(b, "<table><thead><tr><th>区域</th>");
    size_t i, k;
    json_t *c, *row, *v;
    json_array_foreach(json_object_get(blk, "columns"), i, c)
    {
        sbuf_puts(b, "<th>");
        sbuf_html(b, json_string_value(c));
        sbuf_puts(b, "</th>");
    }
    sbuf_puts(b, "</tr></thead><tbody>");
    json_array_foreach(json_object_get(blk, "rows"), i, row)
    {
        sbuf_puts(b, "<tr><td>");
        sbuf_html(b, json_string_value(json_object_get(row, "name")));
        sbuf_puts(b, "</td>");
        json_array_foreach(json_object_get(row, "values"), k, v)
            sbuf_printf(b, "<td>%lld</td>", (long long)json_integer_value(v));
        sbuf_puts(b, "</tr>");
    }
    sbuf_puts(b, "</tbody></table>");
}

/* Five shades of red by the share of the largest value; grey for none. */
static const char *shade(json_int_t v, json_int_t max)
{
    static const char *const reds[] = {"#fde2e2", "#fbb4b4", "#f78686", "#e85454", "#c62828"};
    if (v <= 0 || max <= 0)
        return "#f3f4f6";
    int k = (int)ceil((double)v / (double)max * 5) - 1;
    return reds[k < 0 ? 0 : k > 4 ? 4 : k];
}

static void html_map(struct sbuf *b, json_t *blk)
{
    json_t *items = json_object_get(blk, "items"), *box = json_object_get(blk, "box");
    size_t i;
    json_t *it;
    json_int_t max = 0;
    json_array_foreach(items, i, it) if (json_integer_value(json_object_get(it, "value")) > max)
        max = json_integer_value(json_object_get(it, "value"));
    sbuf_puts(b, "<h3>");
    sbuf_html(b, json_string_value(json_object_get(blk, "label")));
    sbuf_puts(b, "分布</h3>");
    if (box) {
        sbuf_printf(b, "<svg class=\"map\" viewBox=\"-2 -2 %.0f %.0f\" role=\"img\">",
                    json_number_value(json_array_get(box, 0)) + 4,
                    json_number_value(json_array_get(box, 1)) + 4);
        json_array_foreach(items, i, it)
        {
            const char *path = json_string_value(json_object_get(it, "path"));
            if (!path)
                continue;
            json_int_t v = json_integer_value(json_object_get(it, "value"));
            /* the path is the server's own numbers and letters (render_map) */
            sbuf_printf(b, "<path fill=\"%s\" stroke=\"#fff\" stroke-width=\"1\" d=\"",
                        shade(v, max));
            sbuf_html(b, path);
            sbuf_puts(b, "\"><title>");
            sbuf_html(b, json_string_value(json_object_get(it, "name")));
            sbuf_printf(b, "：%lld</title></path>", (long long)v);
        }
        sbuf_puts(b, "</svg>");
    }
    /* the figures as a table too: what a map without outlines shows, and
     * what a screen reader reads */
    sbuf_puts(b, "<table><thead><tr><th>区域</th><th>");
    sbuf_html(b, json_string_value(json_object_get(blk, "label")));
    sbuf_puts(b, "</th></tr></thead><tbody>");
    json_array_foreach(items, i, it)
    {
        json_int_t v = json_integer_value(json_object_get(it, "value"));
        sbuf_printf(b,
                    "<tr><td><span style=\"display:inline-block;width:10px;height:10px;"
                    "background:%s;margin-right:6px\"></span>",
                    shade(v, max));
        sbuf_html(b, json_string_value(json_object_get(it, "name")));
        sbuf_printf(b, "</td><td>%lld</td></tr>", (long long)v);
    }
    sbuf_puts(b, "</tbody></table>");
}

void publish_html_article(struct sbuf *b, json_t *snap)
{
    sbuf_puts(b, "<article class=\"pub\"><h2>");
    sbuf_html(b, json_string_value(json_object_get(snap, "title")));
    sbuf_puts(b, "</h2><p class=\"meta\">");
    sbuf_html(b, json_string_value(json_object_get(snap, "region_name")));
    sbuf_puts(b, " · 数据截至 <time>");
    sbuf_html(b, json_string_value(json_object_get(snap, "date")));
    sbuf_puts(b, "</time> · 更新于 ");
    sbuf_html(b, json_string_value(json_object_get(snap, "rendered_at")));
    sbuf_puts(b, "</p>");
    size_t i, k;
    json_t *blk, *para;
    json_array_foreach(json_object_get(snap, "blocks"), i, blk)
    {
        const char *kind = json_string_value(json_object_get(blk, "kind"));
        if (!kind)
            continue;
        if (!strcmp(kind, "title")) {
            /* the template's first title repeats the publication's */
            if (i == 0 && json_equal(json_object_get(blk, "text"), json_object_get(snap, "title")))
                continue;
            sbuf_puts(b, "<h3>");
            sbuf_html(b, json_string_value(json_object_get(blk, "text")));
            sbuf_puts(b, "</h3>");
        } else if (!strcmp(kind, "text")) {
            json_array_foreach(json_object_get(blk, "paragraphs"), k, para)
            {
                sbuf_puts(b, "<p>");
                sbuf_html(b, json_string_value(para));
                sbuf_puts(b, "</p>");
            }
        } else if (!strcmp(kind, "figures")) {
            html_figures(b, blk);
        } else if (!strcmp(kind, "trend")) {
            html_trend(b, blk);
        } else if (!strcmp(kind, "regions")) {
            html_regions(b, blk);
        } else if (!strcmp(kind, "map")) {
            html_map(b, blk);
        }
    }
    sbuf_puts(b, "</article>");
}

static void html_feed(struct sbuf *b, json_t *items, const char *kind, const char *heading)
{
    sbuf_printf(b, "<section class=\"feed-%s\"><h2>%s</h2><ul class=\"feed\">", kind, heading);
    size_t i, shown = 0;
    json_t *it;
    json_array_foreach(items, i, it)
    {
        if (strcmp(json_string_value(json_object_get(it, "kind")), kind))
            continue;
        shown++;
        const char *link = json_string_value(json_object_get(it, "link"));
        sbuf_puts(b, "<li>");
        if (link && *link) {
            sbuf_puts(b, "<a rel=\"noopener noreferrer\" href=\"");
            sbuf_html(b, link);
            sbuf_puts(b, "\">");
        }
        sbuf_html(b, json_string_value(json_object_get(it, "title")));
        if (link && *link)
            sbuf_puts(b, "</a>");
        sbuf_puts(b, "<small>");
        sbuf_html(b, json_string_value(json_object_get(it, "source")));
        const char *at = json_string_value(json_object_get(it, "published_at"));
        if (at) {
            sbuf_puts(b, " ");
            sbuf_add(b, at, strlen(at) > 16 ? 16 : strlen(at));
        }
        sbuf_puts(b, "</small>");
        const char *summary = json_string_value(json_object_get(it, "summary"));
        if (summary && *summary) {
            sbuf_puts(b, "<span>");
            sbuf_html(b, summary);
            sbuf_puts(b, "</span>");
        }
        sbuf_puts(b, "</li>");
    }
    if (!shown)
        sbuf_puts(b, "<li class=\"empty\">暂无</li>");
    sbuf_puts(b, "</ul></section>");
}

/* ---- the replies ------------------------------------------------------------------------------
 */

/* Count this address's hit: E_RATE past the limit of a minute. */
static err admit(struct req *r)
{
    int64_t count;
    bool first_over;
    err e = rate_limit_hit_often(r->db, arena_printf(r->a, "public:%s", r->ip), 60 * 1000,
                                 rate_per_minute, &count, &first_over);
    if (e)
        return e;
    if (count > rate_per_minute)
        return err_set(E_RATE, "public_rate_limited", NULL, "访问过于频繁，请稍后再试");
    return E_OK;
}

/*
 * The replies are rendered once per change of what they show and kept in
 * this process, keyed by a stamp of the tables they read: the versions
 * (how many, the newest render, the newest withdrawal) and the approved
 * feed items (how many, the newest decision). One small query tells
 * whether the kept reply is still the one to send, whichever server wrote
 * the change. The stamp is read before a render, so a reply kept under a
 * stamp is never older than it; a change during the render only costs the
 * next request a render of its own.
 */
enum cached_reply { CACHED_PAGE, CACHED_PUBLICATIONS, CACHED_FEED, CACHED__N };
#define STAMP_N 5

struct cached {
    int64_t stamp[STAMP_N];
    char *body; /* malloc'd, owned here */
    size_t n;
    char etag[24];
};

static pthread_mutex_t cache_mu = PTHREAD_MUTEX_INITIALIZER;
static struct cached cache[CACHED__N];

static err stamp_of(db *d, int64_t stamp[STAMP_N])
{
    db_stmt *s;
    err e = db_prepare(d,
                       "SELECT (SELECT COUNT(*) FROM publication_versions), "
                       "(SELECT MAX(rendered_at) FROM publication_versions), "
                       "(SELECT MAX(withdrawn_at) FROM publication_versions), "
                       "(SELECT COUNT(*) FROM feed_items WHERE state = ?), "
                       "(SELECT MAX(decided_at) FROM feed_items)",
                       &s);
    if (e)
        return e;
    db_bind_text(s, 1, vocab_name(&feed_state_vocab, FEED_APPROVED));
    bool row;
    if (!(e = db_row(s, &row)) && row)
        for (int i = 0; i < STAMP_N; i++)
            stamp[i] = db_col_null(s, i) ? 0 : db_col_int64(s, i);
    db_done(s);
    return e ? e : row ? E_OK : err_set(E_INTERNAL, NULL, NULL, "stamp query gave no row");
}

/* The kept reply `which` under `stamp`: its ETag (and its body, unless the
 * client holds it: `inm`) copied into the arena. False when none is kept. */
static bool cache_get(enum cached_reply which, const int64_t stamp[STAMP_N], const char *inm,
                      arena *a, const char **body_r, size_t *n_r, const char **etag_r)
{
    bool hit = false;
    pthread_mutex_lock(&cache_mu);
    struct cached *c = &cache[which];
    if (c->body && !memcmp(c->stamp, stamp, sizeof c->stamp)) {
        hit = true;
        *etag_r = arena_strdup(a, c->etag);
        bool held = inm && strstr(inm, c->etag);
        *n_r = held ? 0 : c->n;
        *body_r = held ? "" : arena_memdup(a, c->body, c->n);
    }
    pthread_mutex_unlock(&cache_mu);
    return hit;
}

static void cache_put(enum cached_reply which, const int64_t stamp[STAMP_N], const char *body,
                      size_t n, const char *etag)
{
    char *copy = malloc(n ? n : 1);
    if (!copy)
        return; /* nothing kept: the next request renders again */
    memcpy(copy, body, n);
    pthread_mutex_lock(&cache_mu);
    struct cached *c = &cache[which];
    free(c->body);
    memcpy(c->stamp, stamp, sizeof c->stamp);
    c->body = copy;
    c->n = n;
    snprintf(c->etag, sizeof c->etag, "%s", etag);
    pthread_mutex_unlock(&cache_mu);
}

/* A strong ETag of a body: FNV-1a 64, in quotes. */
static const char *etag_of(arena *a, const char *body, size_t n)
{
    uint64_t h = 1469598103934665603ULL;
    for (size_t i = 0; i < n; i++)
        h = (h ^ (unsigned char)body[i]) * 1099511628211ULL;
    return arena_printf(a, "\"%016llx\"", (unsigned long long)h);
}

static char *json_text(arena *a, json_t *v)
{
    char *text = json_dumps(v, JSON_COMPACT);
    json_decref(v);
    if (!text)
        return NULL;
    char *copy = arena_strdup(a, text);
    free(text);
    return copy;
}

static err render_page(struct req *r, const char **body_r, size_t *n_r)
{
    json_t *pubs = NULL, *feed = NULL;
    err e;
    if ((e = publish_public_list(r->db, r->a, &pubs)) ||
        (e = feed_public_list(r->db, r->a, PUBLIC_FEED_MAX, &feed))) {
        json_decref(pubs);
        return e;
    }
    struct sbuf b;
    sbuf_init(&b, r->a, PUBLISH_HTML_MAX);
    sbuf_puts(&b, "<!doctype html><html lang=\"zh-CN\"><head><meta charset=\"utf-8\">"
                  "<meta name=\"viewport\" content=\"width=device-width,initial-scale=1\">"
                  "<title>疫情信息发布</title><link rel=\"icon\" href=\"/favicon.svg\">"
                  "<style>body{margin:0;background:#f9fafb}");
    sbuf_puts(&b, publish_css);
    sbuf_puts(&b, "</style></head><body><main class=\"fkp\"><h1>疫情信息发布</h1>"
                  "<p class=\"meta\">本页信息经审核后发布，数据为汇总统计，不含个人信息。</p>");
    size_t i;
    json_t *it;
    if (!json_array_size(pubs))
        sbuf_puts(&b, "<section class=\"empty\">暂无发布内容</section>");
    json_array_foreach(pubs, i, it) publish_html_article(&b, json_object_get(it, "snapshot"));
    html_feed(&b, feed, "news", "最新动态");
    html_feed(&b, feed, "opinion", "舆情信息");
    sbuf_puts(&b, "</main></body></html>");
    json_decref(pubs);
    json_decref(feed);
    if (b.full)
        return err_set(E_INTERNAL, NULL, NULL, "public page larger than PUBLISH_HTML_MAX");
    *body_r = b.p;
    *n_r = b.n;
    return E_OK;
}

static err render_publications(struct req *r, const char **body_r, size_t *n_r)
{
    json_t *items;
    err e = publish_public_list(r->db, r->a, &items);
    if (e)
        return e;
    if (!(*body_r = json_text(r->a, json_pack("{s:o}", "items", items))))
        return err_set(E_NOMEM, NULL, NULL, NULL);
    *n_r = strlen(*body_r);
    return E_OK;
}

static err render_feed(struct req *r, const char **body_r, size_t *n_r)
{
    json_t *items;
    err e = feed_public_list(r->db, r->a, PUBLIC_FEED_MAX, &items);
    if (e)
        return e;
    if (!(*body_r = json_text(r->a, json_pack("{s:o}", "items", items))))
        return err_set(E_NOMEM, NULL, NULL, NULL);
    *n_r = strlen(*body_r);
    return E_OK;
}

/* Answer reply `which`: admitted by the rate limit, the kept one when the
 * stamp says it is current, else rendered (and kept); 304 when the client
 * holds its ETag. Cacheable by anyone for a minute. */
static err serve(struct req *r, enum cached_reply which, const char *ctype,
                 err (*render)(struct req *r, const char **body_r, size_t *n_r))
{
    int64_t stamp[STAMP_N];
    err e = admit(r);
    if (e || (e = stamp_of(r->db, stamp)))
        return e;
    const char *inm = req_header(r, "If-None-Match"), *body, *etag;
    size_t n;
    if (!cache_get(which, stamp, inm, r->a, &body, &n, &etag)) {
        if ((e = render(r, &body, &n)))
            return e;
        etag = etag_of(r->a, body, n);
        cache_put(which, stamp, body, n, etag);
    }
    r->etag = etag;
    r->cache_control = "public, max-age=60";
    if (inm && strstr(inm, etag))
        return reply_bytes(r, 304, NULL, "", 0);
    return reply_bytes(r, 200, ctype, body, n);
}

static err get_page(struct req *r)
{
    return serve(r, CACHED_PAGE, "text/html; charset=utf-8", render_page);
}

static err get_page_bare(struct req *r)
{
    r->location = "/public/";
    return reply_bytes(r, 302, "text/plain; charset=utf-8", "", 0);
}

static err get_publications(struct req *r)
{
    return serve(r, CACHED_PUBLICATIONS, "application/json; charset=utf-8", render_publications);
}

static err get_feed_items(struct req *r)
{
    return serve(r, CACHED_FEED, "application/json; charset=utf-8", render_feed);
}

const struct route publish_public_routes[] = {
    {M_GET, "/public/", get_page, PERM_NONE, ROUTE_PUBLIC, NULL, "疫情信息发布（公众页面）",
     "public", 0},
    {M_GET, "/public", get_page_bare, PERM_NONE, ROUTE_PUBLIC, NULL, "转到公众页面", "public", 0},
    {M_GET, "/api/v1/public/publications", get_publications, PERM_NONE, ROUTE_PUBLIC, NULL,
     "已发布的疫情信息（无需登录）", "public", 0},
    {M_GET, "/api/v1/public/feed-items", get_feed_items, PERM_NONE, ROUTE_PUBLIC, NULL,
     "已审核的最新动态和舆情（无需登录）", "public", 0},
};
const size_t publish_public_routes_n =
    sizeof publish_public_routes / sizeof publish_public_routes[0];
