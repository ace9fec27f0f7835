/*
 * HTTP handlers of the venue capability: /api/v1/venues (CRUD, list, CSV),
 * their venue codes as a token, PNG, SVG and a printable A4 poster, and
 * /api/v1/venue-codes/verify for scanners.
 *
 * Venues hold no personal data, so reads are not audited; every write is
 * (field names only in the detail), and so is regenerating a code.
 */
#include <math.h>
#include <stdio.h>
#include <string.h>
#include <strings.h>
#include <time.h>

#include "app.h"
#include "http/write.h"
#include "base/time.h"
#include "base/csv.h"
#include "base/qr.h"
#include "base/regcode.h"
#include "security/audit.h"
#include "code/code.h"
#include "venue/internal.h"
#include "venue/venue.h"

/* ---- input ---------------------------------------------------------------------------- */

static const struct jfield venue_fields[] = {
    VENUE_FIELDS(FIELD_JFIELD){NULL, 0, 0, 0, 0, NULL, NULL},
};

/* The colour list's own rule: known names, none twice, with the message
 * the form shows (the table's conversion then takes the bits). */
static err colors_check(json_t *arr)
{
    unsigned bits = 0;
    size_t i;
    json_t *v;
    json_array_foreach(arr, i, v)
    {
        /* bit c = enum code_colour c (VENUE_GREEN …), by the code capability's table */
        int c = json_is_string(v) ? code_colour_parse(json_string_value(v)) : -1;
        unsigned bit = c < 0 ? 0 : 1u << c;
        if (!bit || bits & bit)
            return err_set(E_INPUT, "invalid_value", "allowed_colors",
                           "可通行颜色应为 green、yellow、red 中不重复的值");
        bits |= bit;
    }
    return E_OK;
}

/* The body as a venue_input (venue/internal.h): members present set their
 * row's bit. A region code that is null or "" is no region (the place's
 * then); a limit names both rows, the one missing taken from `cur`. */
static err input_from(struct req *r, struct venue_input *in, const struct venue *cur)
{
    json_t *b = r->body;
    memset(in, 0, sizeof *in);
    json_t *colors = json_object_get(b, "allowed_colors");
    err e;
    if (colors && (e = colors_check(colors)))
        return e;
    json_t *body = b;
    const char *rc = json_str(b, "region_code");
    if (json_has(b, "region_code") && !(rc && *rc)) {
        body = json_copy(b); /* the request's body stays as sent (audit detail) */
        json_object_del(body, "region_code");
    }
    e = fields_from_json(venue_input_rows, VENUE_FIELD_COUNT, body, r->a, in, &in->set);
    if (body != b)
        json_decref(body);
    if (e)
        return e;
    if (in->set & VF_LIMIT) {
        bool has_count = json_has(b, "limit_count"), has_hours = json_has(b, "limit_hours");
        if (!has_count)
            in->limit_count = cur ? cur->limit_count : 0;
        if (!has_hours)
            in->limit_hours = cur ? cur->limit_hours : 0;
        if (has_count && !in->limit_count && !has_hours)
            in->limit_hours = 0; /* "no limit" clears the period with it */
        in->set |= VF_LIMIT;
    }
    return E_OK;
}

/* ---- output --------------------------------------------------------------------------- */

/* One decimal, as people write temperatures (37.3, not 37.299999). */
static json_t *temperature_json(double t)
{
    return json_real(round(t * 10) / 10);
}

/* A venue as the API replies: the table's fields (no personal data among
 * them), the kind's label, the place, its organisation and the region. */
static json_t *venue_json(const struct venue *v)
{
    json_t *o = json_object();
    json_set_id(o, "id", v->id);
    fields_json(venue_rows, VENUE_FIELD_COUNT, v, o);
    json_object_set_new(o, "kind_label", json_string(venue_kind_label(v->kind)));
    json_set_id(o, "place_id", v->place_id);
    json_object_set_new(o, "place_name", json_string(v->place_name));
    json_object_set_new(o, "credit_code",
                        v->credit_code ? json_string(v->credit_code) : json_null());
    json_set_region(o, v->region_code, v->region_name);
    json_object_set_new(o, "fever_threshold", temperature_json(v->fever_threshold));
    json_object_set_new(o, "code_version", json_integer(v->code_version));
    json_object_set_new(o, "code_issued_at", json_integer(v->code_issued_at));
    json_object_set_new(o, "needs_reprint", json_boolean(venue_code_needs_reprint(v)));
    json_object_set_new(o, "version", json_integer(v->version));
    json_object_set_new(o, "created_at", json_integer(v->created_at));
    json_object_set_new(o, "updated_at", json_integer(v->updated_at));
    return o;
}

static const char *const csv_cols[] = {
    "编号",     "点位名称", "点位类型",   "所属场所",   "统一社会信用代码", "区划代码",
    "所属区划", "地址",     "通行方向",   "可通行颜色", "次数上限",         "周期（小时）",
    "发热阈值", "启用",     "场所码版本", "创建时间",   "更新时间",         NULL,
};

static err venues_csv(struct req *r, const struct venue *items, size_t n)
{
    struct csv_out c;
    reply_csv_begin(r, &c);
    for (size_t i = 0; csv_cols[i]; i++)
        csv_text(&c, csv_cols[i]);
    csv_row_end(&c);
    for (size_t i = 0; i < n; i++) {
        const struct venue *v = &items[i];
        char code[19], t[32], num[32];
        const char *colors = "";
        for (int k = CODE_GREEN; k <= CODE_RED; k++)
            if (v->allowed_colors & 1u << k)
                colors = arena_printf(r->a, "%s%s%s", colors, *colors ? "、" : "",
                                      code_colour_label((enum code_colour)k));
        regcode_format(v->region_code, code);
        csv_int(&c, v->id);
        csv_text(&c, v->name);
        csv_text(&c, venue_kind_label(v->kind));
        csv_text(&c, v->place_name);
        csv_text(&c, v->credit_code ? v->credit_code : "");
        csv_text(&c, code);
        csv_text(&c, v->region_name);
        csv_text(&c, v->address);
        csv_text(&c, venue_direction_label(v->direction));
        csv_text(&c, colors);
        csv_int(&c, v->limit_count);
        csv_int(&c, v->limit_hours);
        snprintf(num, sizeof num, "%.1f", v->fever_threshold);
        csv_num(&c, num);
        csv_text(&c, v->enabled ? "是" : "否");
        csv_int(&c, v->code_version);
        china_time(v->created_at, t);
        csv_text(&c, t);
        china_time(v->updated_at, t);
        csv_text(&c, t);
        csv_row_end(&c);
    }
    return reply_csv(r, &c, "venues.csv");
}

/* ---- CRUD ------------------------------------------------------------------------------ */

static err reply_venue(struct req *r, int status, int64_t id)
{
    struct venue v;
    err e = venue_find(r->db, r->a, &r->who->scope, id, &v);
    return e ? e : reply_json(r, status, venue_json(&v));
}

static err post_venue(struct req *r)
{
    struct venue_input in;
    int64_t id = 0;
    err e = input_from(r, &in, NULL);
    db_hold(r->db); /* the entry commits with the write (security/audit.h) */
    if (!e)
        e = venue_create(r->db, r->a, &r->who->scope, &in, &id);
    if (e) {
        err_ignore(db_release(r->db, false));
        return audit_refusal(r->db, r->who, r->ip, "venue.create", "venue", 0, e,
                             req_body_fields(r));
    }
    req_audit(r, "venue.create", "venue", id, "ok", req_body_fields(r));
    if ((e = db_release(r->db, true)))
        return e;
    return reply_venue(r, 201, id);
}

static err get_venue(struct req *r)
{
    int64_t id;
    err e = req_param_id(r, 0, &id);
    return e ? e : reply_venue(r, 200, id);
}

static err patch_venue(struct req *r)
{
    int64_t id;
    struct venue cur;
    struct venue_input in;
    err e = req_param_id(r, 0, &id);
    if (!e)
        e = venue_find(r->db, r->a, &r->who->scope, id, &cur);
    if (!e)
        e = input_from(r, &in, &cur);
    db_hold(r->db); /* the entry commits with the write (security/audit.h) */
    if (!e)
        e = venue_update(r->db, r->a, &r->who->scope, id, &in);
    if (e) {
        err_ignore(db_release(r->db, false));
        return audit_refusal(r->db, r->who, r->ip, "venue.update", "venue", id, e,
                             req_body_fields(r));
    }
    req_audit(r, "venue.update", "venue", id, "ok", req_body_fields(r));
    if ((e = db_release(r->db, true)))
        return e;
    return reply_venue(r, 200, id);
}

static err delete_venue(struct req *r)
{
    int64_t id;
    err e = req_param_id(r, 0, &id);
    db_hold(r->db); /* the entry commits with the write (security/audit.h) */
    if (!e)
        e = venue_delete(r->db, &r->who->scope, id);
    if (e) {
        err_ignore(db_release(r->db, false));
        return audit_refusal(r->db, r->who, r->ip, "venue.delete", "venue", id, e, NULL);
    }
    req_audit(r, "venue.delete", "venue", id, "ok", "");
    if ((e = db_release(r->db, true)))
        return e;
    return reply_empty(r);
}

static err get_venues(struct req *r)
{
    struct venue_filter f = {.enabled = -1};
    err e = req_paging(r, &f.page, &f.page_size);
    if (e)
        return e;
    const char *s;
    if ((s = req_query(r, "region_code"))) {
        enum region_level lv;
        if ((f.region_code = regcode_parse(s, &lv)) <= 0)
            return err_set(E_INPUT, "invalid_region", "region_code",
                           "所属区划不存在或不在您的管辖范围内");
    }
    if ((s = req_query(r, "kind")) && !(f.kind = venue_kind_parse(s)))
        return err_set(E_INPUT, "invalid_parameter", "kind", "点位类型的取值不正确");
    if ((s = req_query(r, "place_id")) && (f.place_id = id_parse(s)) <= 0)
        return err_set(E_INPUT, "invalid_parameter", "place_id", "参数 place_id 不正确");
    if ((s = req_query(r, "enabled"))) {
        if (strcmp(s, "0") && strcmp(s, "1"))
            return err_set(E_INPUT, "invalid_parameter", "enabled", "参数 enabled 应为 1 或 0");
        f.enabled = s[0] == '1';
    }
    if ((s = req_query(r, "needs_reprint"))) {
        if (strcmp(s, "0") && strcmp(s, "1"))
            return err_set(E_INPUT, "invalid_parameter", "needs_reprint",
                           "参数 needs_reprint 应为 1 或 0");
        f.needs_reprint = s[0] == '1';
    }
    f.q = req_query(r, "q");
    if (f.q && (!utf8_valid_text(f.q) || utf8_len(f.q) > 50))
        return err_set(E_INPUT, "invalid_parameter", "q", "搜索关键词不能超过50个字符");
    f.sort = req_query(r, "sort");
    const char *fmt = req_query(r, "format");
    if (fmt && strcmp(fmt, "json") && strcmp(fmt, "csv"))
        return err_set(E_INPUT, "invalid_parameter", "format", "参数 format 应为 json 或 csv");
    bool csv = fmt && !strcmp(fmt, "csv");
    int64_t page_size = f.page_size;
    if (csv)
        f.page_size = 0;
    struct venue *items;
    size_t n;
    int64_t total;
    if ((e = venue_list(r->db, r->a, &r->who->scope, &f, &items, &n, &total)))
        return e;
    if (csv)
        return venues_csv(r, items, n);
    json_t *arr = json_array();
    for (size_t i = 0; i < n; i++)
        json_array_append_new(arr, venue_json(&items[i]));
    return reply_page(r, arr, total, f.page, page_size);
}

/* ---- codes ---------------------------------------------------------------------------- */

/* The origin venue codes point at: the first of FK_PUBLIC_ORIGIN (which
 * also lists, comma-separated, the origins the Origin check accepts,
 * http/server.c); "" when unset: the request's Host then. Set once before
 * serving. */
static char public_origin[256];

static const char authority_chars[] = "abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ"
                                      "0123456789.-:[]";

err venue_set_public_origin(const char *origins)
{
    public_origin[0] = '\0';
    if (!origins)
        return E_OK;
    const char *p = origins + strspn(origins, " ");
    size_t n = strcspn(p, ",");
    while (n > 0 && (p[n - 1] == ' ' || p[n - 1] == '/'))
        n--;
    if (n == 0)
        return E_OK;
    /* an entry without a scheme ("fk.example.gov.cn:8443") is served over TLS */
    const char *scheme = "https://";
    size_t skip = 0;
    if (n > 8 && !strncasecmp(p, "https://", 8)) {
        skip = 8;
    } else if (n > 7 && !strncasecmp(p, "http://", 7)) {
        scheme = "http://";
        skip = 7;
    } else if (memmem(p, n, "://", 3)) {
        n = 0; /* another scheme */
    }
    p += skip;
    n -= n ? skip : 0;
    bool clean = n > 0 && n < sizeof public_origin - 8;
    for (size_t i = 0; clean && i < n; i++)
        clean = strchr(authority_chars, p[i]) != NULL;
    if (!clean)
        return err_set(E_INPUT, "invalid_public_origin", "FK_PUBLIC_ORIGIN",
                       "FK_PUBLIC_ORIGIN 的第一项应为 https://主机[:端口] 形式的地址");
    snprintf(public_origin, sizeof public_origin, "%s%.*s", scheme, (int)n, p);
    return E_OK;
}

/* What a venue code encodes: the address of the mobile scan page carrying
 * the token, so any phone camera opens it (the page reads v= and verifies
 * the token as when scanned in the app). Without FK_PUBLIC_ORIGIN the origin
 * is the request's Host (scheme from X-Forwarded-Proto behind a proxy); a
 * missing or odd Host gives the bare token, which the app still reads. */
static const char *code_text(struct req *r, const char *token)
{
    if (*public_origin)
        return arena_printf(r->a, "%s/mobile/#/scan?v=%s", public_origin, token);
    const char *host = req_header(r, "Host");
    size_t n = host ? strlen(host) : 0;
    if (n == 0 || n > 255 ||
        strspn(host, "abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ"
                     "0123456789.-:[]") != n)
        return token;
    const char *proto = req_header(r, "X-Forwarded-Proto");
    return arena_printf(r->a, "%s://%s/mobile/#/scan?v=%s",
                        proto && !strcmp(proto, "https") ? "https" : "http", host, token);
}

/* The venue of path parameter 0 and its code, given out now: a code issued
 * before the token key rotated is re-issued under the current version
 * (venue_code_reissue), audited as its reprint. */
static err venue_and_code(struct req *r, struct venue *v, char token[TOKEN_MAX])
{
    int64_t id;
    bool reissued = false;
    err e = req_param_id(r, 0, &id);
    if (!e)
        e = venue_find(r->db, r->a, &r->who->scope, id, v);
    if (!e)
        e = venue_code_reissue(r->db, v, &reissued);
    if (!e && reissued)
        req_audit(r, "venue.code_reissue", "venue", id, "ok",
                  arena_printf(r->a, "code_version=%lld", (long long)v->code_version));
    if (!e)
        e = venue_code(v, token);
    return e;
}

static err reply_code(struct req *r, const struct venue *v, const char *token)
{
    json_t *o = json_object();
    json_set_id(o, "venue_id", v->id);
    json_object_set_new(o, "token", json_string(token));
    json_object_set_new(o, "url", json_string(code_text(r, token)));
    json_object_set_new(o, "code_version", json_integer(v->code_version));
    json_object_set_new(o, "credit_code",
                        v->credit_code ? json_string(v->credit_code) : json_null());
    json_object_set_new(o, "issued_at", json_integer(v->code_issued_at));
    return reply_json(r, 200, o);
}

static err get_code(struct req *r)
{
    struct venue v;
    char token[TOKEN_MAX];
    err e = venue_and_code(r, &v, token);
    return e ? e : reply_code(r, &v, token);
}

static err post_regenerate(struct req *r)
{
    int64_t id;
    struct venue v;
    char token[TOKEN_MAX];
    err e = req_param_id(r, 0, &id);
    db_hold(r->db); /* the entry commits with the write (security/audit.h) */
    if (!e)
        e = venue_code_regenerate(r->db, r->a, &r->who->scope, id, &v);
    if (!e)
        e = venue_code(&v, token);
    if (e) {
        err_ignore(db_release(r->db, false));
        return audit_refusal(r->db, r->who, r->ip, "venue.code_regenerate", "venue", id, e, NULL);
    }
    req_audit(r, "venue.code_regenerate", "venue", id, "ok",
              arena_printf(r->a, "code_version=%lld", (long long)v.code_version));
    if ((e = db_release(r->db, true)))
        return e;
    return reply_code(r, &v, token);
}

/* ?colour= of a venue image: dark inks a phone reads as well as black, so
 * a poster can match the place's print (green as the poster's band). */
static err image_colour(struct req *r, uint32_t *fg_r)
{
    static const struct {
        const char *name;
        uint32_t fg;
    } inks[] = {{"black", QR_BLACK}, {"green", QR_VENUE_GREEN}, {"blue", QR_VENUE_BLUE}};
    const char *c = req_query(r, "colour");
    *fg_r = QR_BLACK;
    if (!c)
        return E_OK;
    for (size_t i = 0; i < sizeof inks / sizeof inks[0]; i++)
        if (!strcmp(c, inks[i].name)) {
            *fg_r = inks[i].fg;
            return E_OK;
        }
    return err_set(E_INPUT, "invalid_parameter", "colour", "参数 colour 应为 black、green 或 blue");
}

static err get_code_png(struct req *r)
{
    struct venue v;
    char token[TOKEN_MAX];
    int64_t scale = QR_SCALE_DEFAULT;
    uint32_t fg;
    err e = req_query_int64(r, "scale", 1, QR_SCALE_MAX, &scale);
    if (!e)
        e = image_colour(r, &fg);
    if (!e)
        e = venue_and_code(r, &v, token);
    uint8_t *png;
    size_t n;
    if (!e)
        e = qr_png(r->a, code_text(r, token), (int)scale, fg, &png, &n);
    if (e)
        return e;
    r->disposition = arena_printf(r->a, "inline; filename=\"venue-%lld.png\"", (long long)v.id);
    return reply_bytes(r, 200, "image/png", png, n);
}

static err get_code_svg(struct req *r)
{
    struct venue v;
    char token[TOKEN_MAX], *svg;
    size_t n;
    uint32_t fg;
    err e = image_colour(r, &fg);
    if (!e)
        e = venue_and_code(r, &v, token);
    if (!e)
        e = qr_svg_color(r->a, code_text(r, token), fg, &svg, &n);
    if (e)
        return e;
    return reply_bytes(r, 200, "image/svg+xml", svg, n);
}

/* Text for HTML element content and attribute values. */
static const char *html(arena *a, const char *s)
{
    size_t n = 0;
    for (const char *p = s; *p; p++)
        n += *p == '&' ? 5 : *p == '<' || *p == '>' ? 4 : *p == '"' || *p == '\'' ? 6 : 1;
    char *out = arena_alloc(a, n + 1), *o = out;
    for (const char *p = s; *p; p++) {
        const char *rep = *p == '&'    ? "&amp;"
                          : *p == '<'  ? "&lt;"
                          : *p == '>'  ? "&gt;"
                          : *p == '"'  ? "&quot;"
                          : *p == '\'' ? "&#39;"
                                       : NULL;
        if (rep) {
            size_t k = strlen(rep);
            memcpy(o, rep, k);
            o += k;
        } else {
            *o++ = *p;
        }
    }
    *o = '\0';
    return out;
}

/* The poster's style: A4 portrait, one sheet; inline <style> is allowed
 * by the server's CSP (style-src 'unsafe-inline'); no script. */
static const char poster_css[] =
    "@page{size:A4 portrait;margin:0}"
    "*{box-sizing:border-box}"
    "html,body{margin:0;padding:0}"
    "body{font-family:'Noto Sans CJK SC','Source Han Sans SC','PingFang SC','Microsoft YaHei',"
    "sans-serif;color:#111;-webkit-print-color-adjust:exact;print-color-adjust:exact}"
    ".sheet{width:210mm;height:297mm;padding:16mm 18mm;display:flex;flex-direction:column;"
    "align-items:center;text-align:center;overflow:hidden}"
    ".band{width:100%;background:#0b6e3a;color:#fff;font-size:20pt;font-weight:700;"
    "letter-spacing:.3em;padding:5mm 0;border-radius:3mm}"
    "h1{font-size:30pt;margin:9mm 0 2mm;line-height:1.25}"
    ".place{font-size:15pt;color:#333;margin:0}"
    ".qr{width:130mm;height:130mm;margin:8mm 0 4mm;border:1.5mm solid #0b6e3a;padding:3mm;"
    "border-radius:4mm}"
    ".qr svg{display:block;width:100%;height:100%}"
    ".token{font:9pt/1.3 monospace;color:#555;word-break:break-all;margin:0 0 5mm}"
    ".hint{font-size:26pt;font-weight:700;color:#0b6e3a;margin:2mm 0}"
    ".steps{font-size:13pt;color:#333;margin:2mm 0 0}"
    ".meta{margin-top:auto;font-size:10pt;color:#666}"
    "@media screen{body{background:#e8e8e8}.sheet{background:#fff;margin:8mm auto;"
    "box-shadow:0 1mm 4mm rgba(0,0,0,.25)}}";

static err get_poster(struct req *r)
{
    struct venue v;
    char token[TOKEN_MAX], *svg, issued[32];
    uint32_t fg;
    err e = image_colour(r, &fg);
    if (!e)
        e = venue_and_code(r, &v, token);
    if (!e)
        e = qr_svg_color(r->a, code_text(r, token), fg, &svg, NULL);
    if (e)
        return e;
    china_time(v.code_issued_at, issued);
    issued[10] = '\0'; /* the date */
    const char *org = v.credit_code
                          ? arena_printf(r->a, "统一社会信用代码 %s ｜ ", html(r->a, v.credit_code))
                          : "";
    const char *place = *v.region_name ? arena_printf(r->a, "%s ｜ %s", html(r->a, v.place_name),
                                                      html(r->a, v.region_name))
                                       : html(r->a, v.place_name);
    const char *page = arena_printf(
        r->a,
        "<!doctype html><html lang=\"zh-CN\"><head><meta charset=\"utf-8\">"
        "<meta name=\"viewport\" content=\"width=device-width,initial-scale=1\">"
        "<title>场所码 · %s</title><style>%s</style></head><body>"
        "<main class=\"sheet\"><div class=\"band\">疫情防控 场所码</div>"
        "<h1>%s</h1><p class=\"place\">%s</p>"
        "<div class=\"qr\">%s</div><p class=\"token\">%s</p>"
        "<p class=\"hint\">请使用手机扫码登记</p>"
        "<p class=\"steps\">进出请主动扫码，向工作人员出示扫码结果和健康码，并配合测温。</p>"
        "<p class=\"meta\">%s点位编号 %lld ｜ %s ｜ 第%lld版 ｜ %s生成</p>"
        "</main></body></html>",
        html(r->a, v.name), poster_css, html(r->a, v.name), place, svg, token, org, (long long)v.id,
        venue_kind_label(v.kind), (long long)v.code_version, issued);
    return reply_bytes(r, 200, "text/html; charset=utf-8", page, strlen(page));
}

static const struct jfield verify_fields[] = {
    {"token", J_STRING, JF_REQUIRED, 0, 200, "场所码", NULL},
    {NULL, 0, 0, 0, 0, NULL, NULL},
};

static err post_verify(struct req *r)
{
    struct venue v;
    struct token t;
    err e = venue_code_verify(r->db, r->a, json_str(r->body, "token"), &v, &t);
    if (e)
        return e;
    json_t *o = json_object();
    json_set_id(o, "venue_id", v.id);
    json_object_set_new(o, "name", json_string(v.name));
    json_object_set_new(o, "kind", json_string(venue_kind_name(v.kind)));
    json_object_set_new(o, "kind_label", json_string(venue_kind_label(v.kind)));
    json_set_id(o, "place_id", v.place_id);
    json_object_set_new(o, "place_name", json_string(v.place_name));
    json_set_region(o, v.region_code, v.region_name);
    json_object_set_new(o, "address", json_string(v.address));
    json_object_set_new(o, "direction", json_string(venue_direction_name(v.direction)));
    json_object_set_new(o, "credit_code",
                        t.credit_code[0] ? json_string(t.credit_code) : json_null());
    json_object_set_new(o, "code_version", json_integer(v.code_version));
    return reply_json(r, 200, o);
}

/* ---- routes ------------------------------------------------------------------------------ */

const struct route venue_routes[] = {
    {M_POST, "/api/v1/venues", post_venue, PERM_VENUE_WRITE, 0, venue_fields, "登记场所码点位",
     "venue", 0},
    {M_GET, "/api/v1/venues", get_venues, PERM_VENUE_READ, 0, NULL,
     "场所码点位列表（region_code、kind、place_id、enabled、needs_reprint、q 筛选，format=csv "
     "导出）",
     "venue", 0},
    {M_GET, "/api/v1/venues/{id}", get_venue, PERM_VENUE_READ, 0, NULL, "点位详情", "venue", 0},
    {M_PATCH, "/api/v1/venues/{id}", patch_venue, PERM_VENUE_WRITE, 0, venue_fields, "修改点位",
     "venue", 0},
    {M_DELETE, "/api/v1/venues/{id}", delete_venue, PERM_VENUE_WRITE, 0, NULL, "删除点位", "venue",
     0},
    {M_GET, "/api/v1/venues/{id}/code", get_code, PERM_VENUE_READ, 0, NULL,
     "点位的场所码（签名令牌）", "venue", 0},
    {M_POST, "/api/v1/venues/{id}/code/regenerate", post_regenerate, PERM_VENUE_WRITE, 0, NULL,
     "重新生成场所码（旧码作废）", "venue", 0},
    {M_GET, "/api/v1/venues/{id}/code.png", get_code_png, PERM_VENUE_READ, 0, NULL,
     "场所码图片 PNG（scale 像素倍数）", "venue", 0},
    {M_GET, "/api/v1/venues/{id}/code.svg", get_code_svg, PERM_VENUE_READ, 0, NULL,
     "场所码图片 SVG", "venue", 0},
    {M_GET, "/api/v1/venues/{id}/poster", get_poster, PERM_VENUE_READ, 0, NULL,
     "可打印的 A4 场所码海报", "venue", 0},
    {M_POST, "/api/v1/venue-codes/verify", post_verify, PERM_NONE, 0, verify_fields, "核验场所码",
     "venue", 0},
};
const size_t venue_routes_n = sizeof venue_routes / sizeof venue_routes[0];
