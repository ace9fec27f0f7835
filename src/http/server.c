/*
 * The HTTP server's request path and its loops: one libevent loop per
 * thread, all accepting from one listening socket; request limits,
 * routing, the cross-site check, session and permission checks, the body;
 * replies with the security headers; graceful shutdown.
 *
 * Handlers run to completion inside the loop. Each thread owns one database
 * connection and one arena reused from request to request. What happens
 * before a request exists is conn.c's, replies sent later deferred.c's,
 * event streams stream.c's (internal.h).
 */
#include "http/http.h"
#include "http/static.h"
#include "http/internal.h"

#include <arpa/inet.h>
#include <assert.h>
#include <ctype.h>
#include <errno.h>
#include <event2/buffer.h>
#include <event2/event.h>
#include <event2/http.h>
#include <event2/keyvalq_struct.h>
#include <event2/thread.h>
#include <netinet/in.h>
#include <pthread.h>
#include <signal.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/queue.h>
#include <sys/socket.h>
#include <unistd.h>

#include "base/id.h"
#include "base/regcode.h"
#include "base/log.h"
#include "security/audit.h"

#define HARD_HEADER_LIMIT (64u << 10)
#define SESSION_COOKIE    "fk_session"

static volatile sig_atomic_t stopping;

bool http_stopping(void)
{
    return stopping;
}

static enum http_method method_of(enum evhttp_cmd_type t)
{
    switch (t) {
    case EVHTTP_REQ_GET:
    case EVHTTP_REQ_HEAD:
        return M_GET;
    case EVHTTP_REQ_POST:
        return M_POST;
    case EVHTTP_REQ_PATCH:
        return M_PATCH;
    case EVHTTP_REQ_PUT:
        return M_PUT;
    case EVHTTP_REQ_DELETE:
        return M_DELETE;
    default:
        return 0;
    }
}

static void free_keyvalq(void *p)
{
    evhttp_clear_headers(p);
}

static void free_json(void *p)
{
    json_decref(p);
}

const char *req_query(struct req *r, const char *name)
{
    struct req_ev *x = r->ev;
    if (!x->query) {
        x->query = arena_zalloc(r->a, sizeof *x->query);
        TAILQ_INIT(x->query);
        const char *q = evhttp_uri_get_query(evhttp_request_get_evhttp_uri(x->req));
        if (q && evhttp_parse_query_str(q, x->query) == 0)
            arena_on_free(r->a, free_keyvalq, x->query);
        else
            TAILQ_INIT(x->query);
    }
    return evhttp_find_header(x->query, name);
}

/*
 * `within=<region code>` on a signed-in GET narrows the request's scope to
 * the subtree of that region, so every list, count, export and stream that
 * filters by r->who->scope narrows at once (the console's header filter).
 * The region must lie inside the caller's own scope: a code outside it is
 * refused exactly like a record of another region (404, audited), so the
 * answer does not tell which codes exist elsewhere. A malformed code is 400
 * on field `within`. Only reads: a write's scope is never narrowed, so its
 * rules (strictly inside the scope) stay those of the account.
 */
static err narrow_within(struct req *r, struct principal *who)
{
    const char *v = req_query(r, "within");
    if (!v || !*v)
        return E_OK;
    enum region_level lv;
    int64_t code = regcode_parse(v, &lv);
    if (code <= 0)
        return err_set(E_INPUT, "invalid_region", "within", "区划代码格式不正确");
    if (!scope_has(&who->scope, code)) {
        err e = err_set(E_NOT_FOUND, "not_found", "within", "区划不存在");
        return audit_refusal(r->db, who, r->ip, "scope.within_refused", "region", 0, e, v);
    }
    struct scope narrowed = scope_of(code);
    /* never wider than the account's own scope (its root is inside it) */
    if (narrowed.hi > who->scope.hi)
        narrowed.hi = who->scope.hi;
    who->scope = narrowed;
    return E_OK;
}

const char *req_header(struct req *r, const char *name)
{
    struct req_ev *x = r->ev;
    return evhttp_find_header(evhttp_request_get_input_headers(x->req), name);
}

void req_raw_uri(struct req *r, const char **path_r, const char **query_r)
{
    struct req_ev *x = r->ev;
    const struct evhttp_uri *u = evhttp_request_get_evhttp_uri(x->req);
    *path_r = u ? evhttp_uri_get_path(u) : NULL;
    *query_r = u ? evhttp_uri_get_query(u) : NULL;
}

err req_reply_header(struct req *r, const char *name, const char *value)
{
    if (r->nextra == HTTP_EXTRA_HEADERS_MAX)
        return err_set(E_INTERNAL, "too_many_headers", NULL, NULL);
    r->extra[2 * r->nextra] = name;
    r->extra[2 * r->nextra + 1] = value;
    r->nextra++;
    return E_OK;
}

const char *req_raw_body(struct req *r, size_t *n_r)
{
    struct req_ev *x = r->ev;
    *n_r = x->body_len;
    return x->body;
}

err reply_json(struct req *r, int status, json_t *v)
{
    /* rendered once: the arena owns jansson's buffer until the reply is
     * sent, rather than holding a second copy of it */
    char *s = json_dumps(v, JSON_COMPACT);
    json_decref(v);
    if (!s)
        return err_set(E_NOMEM, NULL, NULL, NULL);
    arena_on_free(r->a, free, s);
    r->data = s;
    r->len = strlen(s);
    r->status = status;
    r->ctype = "application/json; charset=utf-8";
    return E_OK;
}

err reply_bytes(struct req *r, int status, const char *ctype, const void *data, size_t n)
{
    r->status = status;
    r->ctype = ctype;
    r->data = data;
    r->len = n;
    return E_OK;
}

/* r->data of a reply_file reply: a replacing reply overwrites it */
static const char file_reply_marker;

static void close_fd(void *p)
{
    close(*(int *)p);
}

err reply_file(struct req *r, int status, const char *ctype, int fd, int64_t size)
{
    int *held = arena_alloc(r->a, sizeof *held);
    *held = fd;
    arena_on_free(r->a, close_fd, held); /* sent or not, closed with the request */
    r->file_fd = fd;
    r->file_len = size;
    return reply_bytes(r, status, ctype, &file_reply_marker, 0);
}

err reply_page(struct req *r, json_t *items, int64_t total, int64_t page, int64_t size)
{
    return reply_json(r, 200,
                      json_pack("{s:o,s:I,s:I,s:I}", "items", items, "total", (json_int_t)total,
                                "page", (json_int_t)page, "page_size", (json_int_t)size));
}

err reply_page_capped(struct req *r, json_t *items, int64_t total, bool capped, int64_t page,
                      int64_t size)
{
    return reply_json(r, 200,
                      json_pack("{s:o,s:I,s:b,s:I,s:I}", "items", items, "total", (json_int_t)total,
                                "total_capped", capped, "page", (json_int_t)page, "page_size",
                                (json_int_t)size));
}

err reply_jsonw(struct req *r, int status, struct jsonw *w)
{
    size_t n;
    char *s = jsonw_finish(w, &n);
    if (!s)
        return err_set(E_NOMEM, NULL, NULL, NULL);
    arena_on_free(r->a, free, s);
    r->data = s;
    r->len = n;
    r->status = status;
    r->ctype = "application/json; charset=utf-8";
    return E_OK;
}

void reply_page_begin(struct jsonw *w)
{
    jsonw_object(w);
    jsonw_key(w, "items");
    jsonw_array(w);
}

err reply_page_end(struct req *r, struct jsonw *w, int64_t total, int64_t page, int64_t size)
{
    jsonw_array_end(w);
    jsonw_key(w, "total");
    jsonw_int(w, total);
    jsonw_key(w, "page");
    jsonw_int(w, page);
    jsonw_key(w, "page_size");
    jsonw_int(w, size);
    jsonw_object_end(w);
    return reply_jsonw(r, 200, w);
}

void reply_csv_begin(struct req *r, struct csv_out *c)
{
    csv_out_init(c, r->a, true);
}

err reply_csv(struct req *r, const struct csv_out *c, const char *filename)
{
    r->disposition = arena_printf(r->a, "attachment; filename=\"%s\"", filename);
    return reply_bytes(r, 200, CSV_CONTENT_TYPE, c->p, c->n);
}

err reply_csv_file(struct req *r, int fd, int64_t size, const char *filename)
{
    r->disposition = arena_printf(r->a, "attachment; filename=\"%s\"", filename);
    return reply_file(r, 200, CSV_CONTENT_TYPE, fd, size);
}

err reply_empty(struct req *r)
{
    r->status = 204;
    r->ctype = NULL;
    r->data = NULL;
    r->len = 0;
    return E_OK;
}

void req_audit(struct req *r, const char *action, const char *object_type, int64_t object_id,
               const char *result, const char *detail)
{
    const struct principal *p = r->who;
    struct audit_entry e = {
        .user_id = p ? p->user_id : 0,
        .username = p ? p->username : "",
        .role = p ? p->roles : "",
        .ip = r->ip,
        .action = action,
        .object_type = object_type,
        .object_id = object_id,
        .result = result ? result : "ok",
        .detail = detail,
    };
    if (!audit_log(r->db, &e) || r->audit_failed)
        return;
    struct err_detail *d = arena_alloc(r->a, sizeof *d);
    *d = *err_last();
    r->audit_failed = d;
}

err req_audit_failed(struct req *r)
{
    const struct err_detail *d = r->audit_failed;
    if (!d)
        return E_OK;
    return err_set(d->code, d->slug[0] ? d->slug : NULL, NULL, "%s", d->message);
}

/* The policy's fixed parts around the media origins (http_set_media_origins). */
#define CSP_HEAD                                                                                   \
    "default-src 'self'; img-src 'self' data: blob:; font-src 'self' data:; "                      \
    "style-src 'self' 'unsafe-inline'; object-src 'none'; base-uri 'self'; "                       \
    "frame-ancestors 'none'; form-action 'self'"
#define CSP_MEDIA_ORIGINS_MAX 1024

/* The Content-Security-Policy of every reply: written once before serving. */
static char csp[sizeof CSP_HEAD + 2 * CSP_MEDIA_ORIGINS_MAX + 64] = CSP_HEAD;

/* Whether s[0..n) is an origin the policy may name: http:// or https://,
 * a host name of letters, digits, '.' and '-' or a bracketed IPv6 address,
 * and an optional port of digits; nothing else (no path, no wildcard). */
static bool origin_ok(const char *s, size_t n)
{
    size_t i = n > 7 && !strncmp(s, "http://", 7) ? 7 : n > 8 && !strncmp(s, "https://", 8) ? 8 : 0;
    if (!i)
        return false;
    size_t host = i;
    if (s[i] == '[') {
        for (i++; i < n && (isxdigit((unsigned char)s[i]) || s[i] == ':' || s[i] == '.'); i++)
            ;
        if (i >= n || s[i++] != ']')
            return false;
    } else {
        for (; i < n && (isalnum((unsigned char)s[i]) || s[i] == '.' || s[i] == '-'); i++)
            ;
    }
    if (i == host)
        return false;
    if (i < n && s[i] == ':') {
        size_t port = ++i;
        for (; i < n && isdigit((unsigned char)s[i]); i++)
            ;
        if (i == port || i - port > 5)
            return false;
    }
    return i == n;
}

err http_set_media_origins(const char *list)
{
    char origins[CSP_MEDIA_ORIGINS_MAX] = "";
    size_t len = 0;
    for (const char *p = list ? list : ""; *p;) {
        size_t sep = strspn(p, " ,"), n;
        p += sep;
        if (!*p)
            break;
        n = strcspn(p, " ,");
        if (!origin_ok(p, n) || len + n + 2 > sizeof origins)
            return err_set(E_INPUT, "invalid_value", "FK_VIDEO_ORIGINS",
                           "FK_VIDEO_ORIGINS: each entry must be http(s)://host[:port]");
        origins[len++] = ' ';
        memcpy(origins + len, p, n);
        len += n;
        origins[len] = '\0';
        p += n;
    }
    snprintf(csp, sizeof csp, "%s; media-src 'self' blob:%s; connect-src 'self'%s", CSP_HEAD,
             origins, origins);
    return E_OK;
}

void http_security_headers(struct evkeyvalq *h, bool api)
{
    evhttp_add_header(h, "X-Content-Type-Options", "nosniff");
    evhttp_add_header(h, "X-Frame-Options", "DENY");
    evhttp_add_header(h, "Referrer-Policy", "no-referrer");
    evhttp_add_header(h, "Content-Security-Policy", csp);
    if (api)
        evhttp_add_header(h, "Cache-Control", "no-store");
}

const char *http_reason(int status)
{
    switch (status) {
    case 200:
        return "OK";
    case 201:
        return "Created";
    case 204:
        return "No Content";
    case 302:
        return "Found";
    case 304:
        return "Not Modified";
    case 400:
        return "Bad Request";
    case 401:
        return "Unauthorized";
    case 403:
        return "Forbidden";
    case 404:
        return "Not Found";
    case 405:
        return "Method Not Allowed";
    case 408:
        return "Request Timeout";
    case 409:
        return "Conflict";
    case 413:
        return "Payload Too Large";
    case 414:
        return "URI Too Long";
    case 415:
        return "Unsupported Media Type";
    case 423:
        return "Locked";
    case 429:
        return "Too Many Requests";
    case 431:
        return "Request Header Fields Too Large";
    case 503:
        return "Service Unavailable";
    default:
        return status >= 500 ? "Internal Server Error" : "Error";
    }
}

static void send_reply(struct req *r, struct req_ev *x)
{
    struct evkeyvalq *h = evhttp_request_get_output_headers(x->req);
    http_security_headers(h, !r->cache_control);
    if (r->cache_control)
        evhttp_add_header(h, "Cache-Control", r->cache_control);
    if (r->content_encoding)
        evhttp_add_header(h, "Content-Encoding", r->content_encoding);
    if (r->vary)
        evhttp_add_header(h, "Vary", r->vary);
    if (r->location)
        evhttp_add_header(h, "Location", r->location);
    if (r->etag)
        evhttp_add_header(h, "ETag", r->etag);
    for (int i = 0; i < r->nextra; i++)
        evhttp_add_header(h, r->extra[2 * i], r->extra[2 * i + 1]);
    if (r->ctype)
        evhttp_add_header(h, "Content-Type", r->ctype);
    if (r->set_cookie)
        evhttp_add_header(h, "Set-Cookie", r->set_cookie);
    if (r->disposition)
        evhttp_add_header(h, "Content-Disposition", r->disposition);
    /* a request whose body was refused unread: its bytes may follow, and
     * they are not a request */
    if (stopping || x->close)
        evhttp_add_header(h, "Connection", "close");
    if (x->close && x->conn)
        conn_linger(x->conn);
    struct evbuffer *out = evbuffer_new();
    if (r->data == &file_reply_marker) {
        int fd = dup(r->file_fd); /* the buffer closes its own copy when sent */
        if (fd < 0 || evbuffer_add_file(out, fd, 0, r->file_len)) {
            if (fd >= 0)
                close(fd);
            r->status = 500;
        }
    } else if (r->len) {
        evbuffer_add(out, r->data, r->len);
    }
    evhttp_send_reply(x->req, r->status, http_reason(r->status), out);
    evbuffer_free(out);
    if (x->conn)
        conn_request_done(x->conn);
}

static void reply_error(struct req *r, err e)
{
    /* already replying an error: a failure here has no one left to tell */
    err_ignore(reply_json(r, http_status(e), http_error_body(e)));
}

/* The session token from the cookie or an `Authorization: Bearer` header. */
static const char *session_token(struct req *r, char buf[TOKEN_HEX_LEN + 1])
{
    const char *auth = req_header(r, "Authorization");
    if (auth && !strncmp(auth, "Bearer ", 7) && strlen(auth + 7) == TOKEN_HEX_LEN)
        return auth + 7;
    const char *c = req_header(r, "Cookie");
    while (c && *c) {
        while (*c == ' ' || *c == ';')
            c++;
        size_t klen = strlen(SESSION_COOKIE);
        if (!strncmp(c, SESSION_COOKIE, klen) && c[klen] == '=') {
            const char *v = c + klen + 1;
            size_t n = strcspn(v, ";");
            if (n == TOKEN_HEX_LEN) {
                memcpy(buf, v, n);
                buf[n] = '\0';
                return buf;
            }
        }
        c = strchr(c, ';');
    }
    return NULL;
}

const char *req_session_token(struct req *r)
{
    struct req_ev *x = r->ev;
    return session_token(r, x->token_buf);
}

static err check_body(struct req *r, struct req_ev *x, const struct route *rt)
{
    struct evbuffer *in = evhttp_request_get_input_buffer(x->req);
    size_t n = evbuffer_get_length(in);
    size_t limit = rt->max_body ? rt->max_body : x->loop->cfg->max_body;
    if (n > limit)
        return err_set(E_TOO_LARGE, "body_too_large", NULL, "请求内容超过%zu KB 的上限",
                       limit / 1024);
    char *body = arena_alloc(r->a, n + 1);
    evbuffer_copyout(in, body, n);
    body[n] = '\0';
    x->body = body;
    x->body_len = n;
    if (rt->flags & ROUTE_RAW_BODY || !rt->body)
        return E_OK;
    const char *ct = req_header(r, "Content-Type");
    if (!ct || strncmp(ct, "application/json", 16))
        return err_set(E_UNSUPPORTED, NULL, NULL, NULL);
    json_t *v;
    err e = json_parse_body(body, n, &v);
    if (e)
        return e;
    arena_on_free(r->a, free_json, v);
    if (!(rt->flags & ROUTE_BODY_LATE) && (e = json_check(v, rt->body, r->method == M_PATCH)))
        return e;
    r->body = v;
    return E_OK;
}

static size_t headers_size(struct evhttp_request *req)
{
    size_t n = 0;
    struct evkeyval *kv;
    TAILQ_FOREACH(kv, evhttp_request_get_input_headers(req), next)
    n += strlen(kv->key) + strlen(kv->value) + 4;
    return n;
}

static bool accepts_gzip(struct evhttp_request *ev)
{
    const char *v = evhttp_find_header(evhttp_request_get_input_headers(ev), "Accept-Encoding");
    const char *g = v ? strstr(v, "gzip") : NULL;
    /* "gzip;q=0" refuses it; any other mention accepts */
    return g && strncmp(g + 4, ";q=0", 4) != 0;
}

/* ---- cross-site requests ------------------------------------------------------ */

/* FK_PUBLIC_ORIGIN: origins (comma-separated) a reverse proxy serves us
 * under, besides the Host the request names. Read once, before the loops. */
static char public_origins[1024];

/* The host[:port] of an origin or Host value: the scheme dropped, and the
 * default port of the scheme, so "https://a" and "a:443" are one. */
static void origin_authority(const char *v, size_t n, char *out, size_t outn)
{
    const char *p = v, *end = v + n;
    const char *dflt = "";
    const char *sep = memmem(p, n, "://", 3);
    if (sep) {
        if (sep - p == 5 && !strncasecmp(p, "https", 5))
            dflt = ":443";
        else if (sep - p == 4 && !strncasecmp(p, "http", 4))
            dflt = ":80";
        p = sep + 3;
    }
    while (end > p && (end[-1] == '/' || end[-1] == ' '))
        end--;
    size_t len = (size_t)(end - p);
    size_t dl = strlen(dflt);
    if (dl && len > dl && !strncmp(end - dl, dflt, dl))
        len -= dl;
    snprintf(out, outn, "%.*s", (int)len, p);
}

static bool same_authority(const char *a, size_t an, const char *b, size_t bn)
{
    char x[256], y[256];
    origin_authority(a, an, x, sizeof x);
    origin_authority(b, bn, y, sizeof y);
    return x[0] && !strcasecmp(x, y);
}

static bool origin_allowed(const char *origin, const char *host)
{
    if (host && same_authority(origin, strlen(origin), host, strlen(host)))
        return true;
    for (const char *p = public_origins; *p;) {
        size_t n = strcspn(p, ",");
        while (n && *p == ' ')
            p++, n--;
        if (n && same_authority(origin, strlen(origin), p, n))
            return true;
        p += n;
        if (*p == ',')
            p++;
    }
    return false;
}

/* The media type of a Content-Type value is `type` (parameters allowed). */
static bool media_type_is(const char *ct, const char *type)
{
    size_t n = strlen(type);
    if (!ct || strncasecmp(ct, type, n))
        return false;
    return ct[n] == '\0' || ct[n] == ';' || ct[n] == ' ' || ct[n] == '\t';
}

/*
 * A state-changing request must come from our own pages or from a program:
 * a browser on another site can send a form or a "simple" fetch with our
 * cookie, but only with the types a form produces (text/plain,
 * urlencoded, multipart) and always with its own Origin. So: JSON
 * routes require application/json, raw-body routes a declared type other
 * than those three (which a cross-site page cannot send without a CORS
 * preflight we never grant); and Sec-Fetch-Site, when the browser sends
 * it, must be same-origin or none; and Origin, when sent, must name this
 * server. Programs send neither header and pass.
 */
static err check_cross_site(struct req *r, const struct route *rt)
{
    const char *ct = req_header(r, "Content-Type");
    if (rt->flags & ROUTE_RAW_BODY) {
        if (!ct || !*ct || media_type_is(ct, "text/plain") ||
            media_type_is(ct, "application/x-www-form-urlencoded") ||
            media_type_is(ct, "multipart/form-data"))
            return err_set(E_UNSUPPORTED, "unsupported_media_type", NULL,
                           "请求内容类型不受支持，请声明具体的内容类型（如 text/csv）");
    } else if (!media_type_is(ct, "application/json")) {
        return err_set(E_UNSUPPORTED, "unsupported_media_type", NULL,
                       "请求内容类型必须为 application/json");
    }
    const char *site = req_header(r, "Sec-Fetch-Site");
    if (site && strcasecmp(site, "same-origin") && strcasecmp(site, "none"))
        return err_set(E_FORBIDDEN, "cross_site_request", NULL, "不接受来自其他网站的请求");
    const char *origin = req_header(r, "Origin");
    if (origin && !origin_allowed(origin, req_header(r, "Host")))
        return err_set(E_FORBIDDEN, "cross_site_request", NULL, "不接受来自其他网站的请求");
    return E_OK;
}

static void handle(struct evhttp_request *ev, void *arg)
{
    struct loop *lp = arg;
    uint64_t t0 = mono_us(), db0 = db_time_us();
    arena_reset(lp->a);
    err_clear();

    struct req_ev x = {.req = ev, .loop = lp, .conn = conn_of(lp, ev)};
    struct req r = {.a = lp->a, .db = lp->db, .ev = &x, .status = 200};
    const struct route *rt = NULL;
    int route_ix = -1;
    err e = E_OK;
    if (x.conn)
        conn_request_started(x.conn);

    char ipbuf[64] = "";
    char *peer = NULL;
    ev_uint16_t port;
    evhttp_connection_get_peer(evhttp_request_get_connection(ev), &peer, &port);
    /* behind a trusted proxy, the client it names (http_set_trusted_proxies) */
    http_client_addr(peer, req_header(&r, "X-Forwarded-For"), ipbuf, sizeof ipbuf);
    r.ip = ipbuf;

    const char *uri = evhttp_request_get_uri(ev);
    r.method = method_of(evhttp_request_get_command(ev));
    if (strlen(uri) > lp->cfg->max_url) {
        e = err_set(E_URI_TOO_LONG, NULL, NULL, NULL);
        goto done;
    }
    if (headers_size(ev) > lp->cfg->max_headers) {
        e = err_set(E_HEADERS_TOO_LARGE, NULL, NULL, NULL);
        goto done;
    }
    if (x.conn && conn_refused(x.conn)) {
        x.close = true;
        e = err_set(E_RATE, "too_many_connections", NULL, "来自此地址的连接过多，请稍后再试");
        goto done;
    }
    const char *declared = req_header(&r, CONN_TOO_LARGE_HEADER);
    if (declared) {
        /* conn.c refused the declared length before a byte of the body was
         * kept: answer, and close, as the body may still be on its way */
        x.close = true;
        e = err_set(E_TOO_LARGE, "body_too_large", NULL, "请求内容超过上限");
        goto done;
    }
    const struct evhttp_uri *u = evhttp_request_get_evhttp_uri(ev);
    const char *rawpath = u ? evhttp_uri_get_path(u) : NULL;
    char *decoded = rawpath ? evhttp_uridecode(rawpath, 0, NULL) : NULL;
    if (!decoded || !r.method) {
        free(decoded);
        e = err_set(r.method ? E_INPUT : E_METHOD, r.method ? "bad_request" : NULL, NULL,
                    r.method ? "请求地址格式错误" : NULL);
        goto done;
    }
    r.path = arena_strdup(r.a, decoded);
    free(decoded);

    bool method_mismatch = false;
    route_ix = router_match(&r, &rt, &method_mismatch);
    /* not an API route: the web front end, if the path names one of its files */
    if (!rt && r.method == M_GET && strncmp(r.path, "/api/", 5) != 0 &&
        static_serve(&r, accepts_gzip(ev)))
        goto done;
    if (!rt) {
        e = method_mismatch ? err_set(E_METHOD, NULL, NULL, NULL)
                            : err_set(E_NOT_FOUND, "no_such_path", NULL, "请求的地址不存在");
        goto done;
    }
    r.route = rt;
    /* before the session is even read: a refused request changes nothing */
    if (r.method != M_GET && (e = check_cross_site(&r, rt)))
        goto done;

    const char *tok = session_token(&r, x.token_buf);
    struct principal *who = NULL;
    if (tok) {
        who = arena_alloc(r.a, sizeof *who);
        e = auth_session_find(r.db, tok, who);
        if (e == E_AUTH) {
            who = NULL; /* no live session: signed out, expired, disabled */
        } else if (e) {
            /* the question could not be answered (the database failed):
             * 503, never "signed out", or an outage would sign everyone
             * out of their pages; database_down and database_busy keep
             * their code (docs/ha.md: what a client sees in a failover) */
            if (e != E_UNAVAILABLE)
                e = err_set(E_UNAVAILABLE, NULL, NULL, NULL);
            goto done;
        }
    }
    if (!who && !(rt->flags & ROUTE_PUBLIC)) {
        e = tok ? err_set(E_AUTH, "session_expired", NULL, "登录已过期，请重新登录")
                : err_set(E_AUTH, "unauthenticated", NULL, "请先登录");
        goto done;
    }
    r.who = who;
    if ((e = router_admit(&r, rt))) {
        /* a signed-in caller refused by the route's permission: the one
         * refusal no handler sees, audited here (security/audit.h) */
        /* e unchanged, or the failure to audit it (503) */
        e = audit_refusal(r.db, r.who, r.ip, "route.refused", "route", 0, e, rt->pattern);
        goto done;
    }
    if (r.method == M_GET && who && (e = narrow_within(&r, who)))
        goto done;
    if (r.method != M_GET && (e = check_body(&r, &x, rt)))
        goto done;
    x.route_ix = route_ix;
    x.t0 = t0;
    e = rt->fn(&r);
    if (r.audit_failed && !x.deferred && !x.stream) {
        /* an entry of this request could not be recorded: nothing it
         * would have served goes out (http.h, req_audit) */
        e = req_audit_failed(&r);
        r.set_cookie = r.disposition = r.location = r.cache_control = r.etag = NULL;
        r.content_encoding = r.vary = NULL;
        r.nextra = 0;
    }
    if (!e && (x.deferred || x.stream))
        return; /* replied later (deferred) or streaming (metrics counted there) */
    if (e && x.stream) {
        /* the stream's headers are out: end it rather than send an error */
        stream_end(x.stream, "error");
        return;
    }
    if (e && x.deferred)
        log_event(LOG_ERROR, "deferred_then_failed", "path", r.path, NULL);

done:
    if (e) {
        /* a full disk refuses every write: err_disk_full logs it once a
         * minute, a line per request would fill what space is left */
        if (http_status(e) >= 500 && strcmp(err_last()->slug, "disk_full"))
            log_event(LOG_ERROR, "request_failed", "path", r.path ? r.path : "", "slug",
                      err_last()->slug, NULL);
        reply_error(&r, e);
    }
    send_reply(&r, &x);
    metrics_observe(route_ix, r.status, mono_us() - t0, db_time_us() - db0);
}

/* ---- the loops ------------------------------------------------------------------ */

static pthread_rwlock_t loops_lock = PTHREAD_RWLOCK_INITIALIZER;
static struct loop *live_loops; /* NULL unless serving; guarded by loops_lock */
static int live_n;
static _Thread_local struct loop *this_loop;

static void (*stop_hooks[HTTP_STOP_HOOKS_MAX])(void);
static int n_stop_hooks;

err http_on_stop(void (*fn)(void))
{
    assert(fn);
    if (n_stop_hooks == HTTP_STOP_HOOKS_MAX)
        return err_set(E_INTERNAL, NULL, NULL, "停止钩子表已满（HTTP_STOP_HOOKS_MAX = %d）",
                       HTTP_STOP_HOOKS_MAX);
    stop_hooks[n_stop_hooks++] = fn;
    return E_OK;
}

struct loop *loop_current(void)
{
    return this_loop;
}

bool http_serving(void)
{
    pthread_rwlock_rdlock(&loops_lock);
    bool on = live_loops != NULL;
    pthread_rwlock_unlock(&loops_lock);
    return on;
}

void loops_each(void (*fn)(struct loop *lp, void *ctx), void *ctx)
{
    pthread_rwlock_rdlock(&loops_lock);
    for (int i = 0; live_loops && i < live_n; i++)
        fn(&live_loops[i], ctx);
    pthread_rwlock_unlock(&loops_lock);
}

static void *loop_main(void *arg)
{
    struct loop *lp = arg;
    this_loop = lp;
    event_base_dispatch(lp->base);
    return NULL;
}

static void stop_accepting(evutil_socket_t fd, short what, void *arg)
{
    (void)fd;
    (void)what;
    struct loop *lp = arg;
    if (lp->bound) {
        evhttp_del_accept_socket(lp->http, lp->bound);
        lp->bound = NULL;
    }
}

#define STOP_GRACE_US 1000000

/* Exit lp's loop once no request of it is in flight (conn_loop_busy), or
 * at lp->stop_by_us; until then look again every 5 ms. */
static void stop_when_quiet(evutil_socket_t fd, short what, void *arg)
{
    (void)fd;
    (void)what;
    struct loop *lp = arg;
    struct timeval tick = {0, 5000};
    if (!conn_loop_busy(lp) || mono_us() >= lp->stop_by_us ||
        event_base_once(lp->base, -1, EV_TIMEOUT, stop_when_quiet, lp, &tick) != 0)
        event_base_loopexit(lp->base, NULL);
}

static void stop_loop(evutil_socket_t fd, short what, void *arg)
{
    (void)fd;
    (void)what;
    struct loop *lp = arg;
    if (lp->bound) {
        evhttp_del_accept_socket(lp->http, lp->bound);
        lp->bound = NULL;
    }
    stream_loop_stop(lp);
    /* requests run to completion inside the loop, so what is in flight now
     * is requests still arriving, deferred replies and replies being
     * written: the loop runs until they are done, for STOP_GRACE_US at most
     * (a fixed 1 s wait made every stop a second long, idle or not) */
    lp->stop_by_us = mono_us() + STOP_GRACE_US;
    stop_when_quiet(-1, 0, lp);
}

static int listen_on(const char *addr, int port)
{
    struct sockaddr_in sa = {.sin_family = AF_INET, .sin_port = htons((uint16_t)port)};
    if (inet_pton(AF_INET, addr, &sa.sin_addr) != 1)
        return -1;
    int fd = socket(AF_INET, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
    if (fd < 0)
        return -1;
    int one = 1;
    setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof one);
    if (bind(fd, (struct sockaddr *)&sa, sizeof sa) < 0 || listen(fd, 1024) < 0) {
        close(fd);
        return -1;
    }
    return fd;
}

static err loop_init(struct loop *lp, const struct server_config *cfg, int listen_fd)
{
    lp->cfg = cfg;
    /* the loop's request arena, reset after each request (the one handlers pass down) */
    lp->a = arena_new(64 * 1024);
    err e = db_open(cfg->db_url, &lp->db);
    if (e || (e = db_cache_large(lp->db)))
        return e;
    /* a loop serves many connections: it waits for another writer only
     * briefly, then answers 503 database_busy instead of stalling them all */
    db_set_wait(lp->db, cfg->write_wait_ms > 0 ? cfg->write_wait_ms : DB_WAIT_DEFAULT_MS);
    lp->base = event_base_new();
    lp->http = lp->base ? evhttp_new(lp->base) : NULL;
    lp->fd = dup(listen_fd);
    if (!lp->http || lp->fd < 0)
        return err_set(E_IO, NULL, NULL, "无法创建事件循环");
    evhttp_set_allowed_methods(lp->http, EVHTTP_REQ_GET | EVHTTP_REQ_HEAD | EVHTTP_REQ_POST |
                                             EVHTTP_REQ_PATCH | EVHTTP_REQ_PUT | EVHTTP_REQ_DELETE |
                                             EVHTTP_REQ_OPTIONS);
    /* the backstop for bodies conn.c could not see declared (chunked): no
     * route takes more, and libevent refuses beyond it while reading */
    evhttp_set_max_body_size(lp->http, (ev_ssize_t)router_max_body(cfg->max_body));
    evhttp_set_max_headers_size(lp->http, HARD_HEADER_LIMIT);
    evhttp_set_timeout(lp->http, cfg->idle_timeout_s);
    evhttp_set_default_content_type(lp->http, "application/json; charset=utf-8");
    evhttp_set_gencb(lp->http, handle, lp);
    if ((e = conn_loop_init(lp)) || (e = stream_loop_init(lp)) || (e = deferred_loop_init(lp)))
        return e;
    lp->bound = evhttp_accept_socket_with_handle(lp->http, lp->fd);
    if (!lp->bound)
        return err_set(E_IO, NULL, NULL, "无法监听端口");
    return E_OK;
}

static void loop_free(struct loop *lp)
{
    stream_loop_free(lp);
    deferred_loop_free(lp);
    if (lp->http)
        evhttp_free(lp->http); /* closes the connections left: conn.c forgets them */
    conn_loop_free(lp);
    if (lp->base)
        event_base_free(lp->base);
    db_close(&lp->db);
    arena_free(&lp->a);
}

err http_serve(const struct server_config *cfg)
{
    evthread_use_pthreads();
    signal(SIGPIPE, SIG_IGN);
    const char *po = getenv("FK_PUBLIC_ORIGIN");
    snprintf(public_origins, sizeof public_origins, "%s", po ? po : "");
    conn_configure(cfg);
    int fd = listen_on(cfg->bind, cfg->port);
    if (fd < 0) {
        return err_set(E_IO, "listen_failed", NULL, "无法监听 %s:%d：%s", cfg->bind, cfg->port,
                       strerror(errno));
    }
    int n = cfg->threads > 0 ? cfg->threads : 2;
    struct loop *loops = calloc((size_t)n, sizeof *loops);
    err e = E_OK;
    for (int i = 0; i < n && !e; i++)
        e = loop_init(&loops[i], cfg, fd);
    if (e)
        goto out;

    /* signals go to this thread only: block them before the loops start */
    sigset_t set;
    sigemptyset(&set);
    sigaddset(&set, SIGTERM);
    sigaddset(&set, SIGINT);
    pthread_sigmask(SIG_BLOCK, &set, NULL);
    for (int i = 0; i < n; i++) {
        pthread_create(&loops[i].thread, NULL, loop_main, &loops[i]);
        char name[16];
        snprintf(name, sizeof name, "fk-loop%u", (unsigned)i & 0xffff);
        pthread_setname_np(loops[i].thread, name); /* top -H, perf */
    }
    pthread_rwlock_wrlock(&loops_lock);
    live_loops = loops;
    live_n = n;
    pthread_rwlock_unlock(&loops_lock);
    char portbuf[8];
    snprintf(portbuf, sizeof portbuf, "%d", cfg->port);
    log_event(LOG_INFO, "listening", "bind", cfg->bind, "port", portbuf, NULL);

    int sig;
    sigwait(&set, &sig);
    stopping = 1;
    log_event(LOG_INFO, "shutting_down", "signal", sig == SIGTERM ? "SIGTERM" : "SIGINT", NULL);
    for (int i = 0; i < n; i++)
        event_base_once(loops[i].base, -1, EV_TIMEOUT, stop_accepting, &loops[i], NULL);
    /* writers finish what they hold (their replies go out through the loops) */
    for (int i = 0; i < n_stop_hooks; i++)
        stop_hooks[i]();
    pthread_rwlock_wrlock(&loops_lock);
    live_loops = NULL;
    live_n = 0;
    pthread_rwlock_unlock(&loops_lock);
    for (int i = 0; i < n; i++)
        event_base_once(loops[i].base, -1, EV_TIMEOUT, stop_loop, &loops[i], NULL);
    for (int i = 0; i < n; i++)
        pthread_join(loops[i].thread, NULL);
    log_event(LOG_INFO, "stopped", NULL);
out:
    for (int i = 0; i < n; i++)
        loop_free(&loops[i]);
    free(loops);
    close(fd);
    return e;
}
