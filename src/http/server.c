/*
 * The HTTP server: one libevent loop per thread, all accepting from one
 * listening socket; request limits; routing, session and permission checks;
 * replies with the security headers; graceful shutdown.
 *
 * Handlers run to completion inside the loop. Each thread owns one database
 * connection and one arena reused from request to request.
 */
#include "http/http.h"
#include "http/static.h"
#include "http/internal.h"

#include <arpa/inet.h>
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
#include "base/log.h"
#include "security/audit.h"

#define HARD_BODY_LIMIT   (64u << 20) /* beyond this libevent refuses on its own */
#define HARD_HEADER_LIMIT (64u << 10)
#define SESSION_COOKIE    "fk_session"

struct loop {
    pthread_t thread;
    struct event_base *base;
    struct evhttp *http;
    struct evhttp_bound_socket *bound;
    db *db;
    arena *a;
    int fd;
    const struct server_config *cfg;
    struct stream *streams; /* open SSE streams of this loop (only this thread touches it) */
    struct event *keepalive;
    /* deferred requests handed back by other threads: one wake-up per
     * batch, not per reply (a group commit answers dozens at once) */
    pthread_mutex_t inbox_mu;
    struct http_deferred *inbox, **inbox_tail;
    struct event *inbox_ev;
};

static volatile sig_atomic_t stopping;

static void stream_end(struct stream *st);

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

const char *req_header(struct req *r, const char *name)
{
    struct req_ev *x = r->ev;
    return evhttp_find_header(evhttp_request_get_input_headers(x->req), name);
}

const char *req_raw_body(struct req *r, size_t *n_r)
{
    struct req_ev *x = r->ev;
    *n_r = x->body_len;
    return x->body;
}

err reply_json(struct req *r, int status, json_t *v)
{
    char *s = json_dumps(v, JSON_COMPACT);
    json_decref(v);
    if (!s)
        return err_set(E_NOMEM, NULL, NULL, NULL);
    r->data = arena_strdup(r->a, s);
    r->len = strlen(s);
    free(s);
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
    audit_log(r->db, &e);
}

static void add_security_headers(struct evkeyvalq *h, bool api)
{
    evhttp_add_header(h, "X-Content-Type-Options", "nosniff");
    evhttp_add_header(h, "X-Frame-Options", "DENY");
    evhttp_add_header(h, "Referrer-Policy", "no-referrer");
    evhttp_add_header(h, "Content-Security-Policy",
                      "default-src 'self'; img-src 'self' data: blob:; font-src 'self' data:; "
                      "style-src 'self' 'unsafe-inline'; object-src 'none'; base-uri 'self'; "
                      "frame-ancestors 'none'; form-action 'self'");
    if (api)
        evhttp_add_header(h, "Cache-Control", "no-store");
}

static const char *reason(int status)
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
    add_security_headers(h, !r->cache_control);
    if (r->cache_control)
        evhttp_add_header(h, "Cache-Control", r->cache_control);
    if (r->content_encoding)
        evhttp_add_header(h, "Content-Encoding", r->content_encoding);
    if (r->vary)
        evhttp_add_header(h, "Vary", r->vary);
    if (r->location)
        evhttp_add_header(h, "Location", r->location);
    if (r->ctype)
        evhttp_add_header(h, "Content-Type", r->ctype);
    if (r->set_cookie)
        evhttp_add_header(h, "Set-Cookie", r->set_cookie);
    if (r->disposition)
        evhttp_add_header(h, "Content-Disposition", r->disposition);
    if (stopping)
        evhttp_add_header(h, "Connection", "close");
    struct evbuffer *out = evbuffer_new();
    if (r->len)
        evbuffer_add(out, r->data, r->len);
    evhttp_send_reply(x->req, r->status, reason(r->status), out);
    evbuffer_free(out);
}

static void reply_error(struct req *r, err e, int status_override)
{
    reply_json(r, status_override ? status_override : http_status(e), http_error_body(e));
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
    if ((e = json_check(v, rt->body, r->method == M_PATCH)))
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

static void handle(struct evhttp_request *ev, void *arg)
{
    struct loop *lp = arg;
    uint64_t t0 = mono_us(), db0 = db_time_us();
    arena_reset(lp->a);
    err_clear();

    struct req_ev x = {.req = ev, .loop = lp};
    struct req r = {.a = lp->a, .db = lp->db, .ev = &x, .status = 200};
    const struct route *rt = NULL;
    int route_ix = -1;
    int status_override = 0;
    err e = E_OK;

    char ipbuf[64] = "";
    char *peer = NULL;
    ev_uint16_t port;
    evhttp_connection_get_peer(evhttp_request_get_connection(ev), &peer, &port);
    if (peer)
        snprintf(ipbuf, sizeof ipbuf, "%s", peer);
    r.ip = ipbuf;

    const char *uri = evhttp_request_get_uri(ev);
    r.method = method_of(evhttp_request_get_command(ev));
    if (strlen(uri) > lp->cfg->max_url) {
        e = err_set(E_TOO_LARGE, "uri_too_long", NULL, "请求地址过长");
        status_override = 414;
        goto done;
    }
    if (headers_size(ev) > lp->cfg->max_headers) {
        e = err_set(E_TOO_LARGE, "headers_too_large", NULL, "请求头过大");
        status_override = 431;
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
             * out of their pages */
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
    if ((e = router_admit(&r, rt)))
        goto done;
    if (r.method != M_GET && (e = check_body(&r, &x, rt)))
        goto done;
    x.route_ix = route_ix;
    x.t0 = t0;
    e = rt->fn(&r);
    if (!e && (x.deferred || x.stream))
        return; /* replied later (deferred) or streaming (metrics counted there) */
    if (e && x.stream) {
        /* the stream's headers are out: end it rather than send an error */
        stream_end(x.stream);
        return;
    }
    if (e && x.deferred)
        log_event(LOG_ERROR, "deferred_then_failed", "path", r.path, NULL);

done:
    if (e) {
        if (http_status(e) >= 500)
            log_event(LOG_ERROR, "request_failed", "path", r.path ? r.path : "", "slug",
                      err_last()->slug, NULL);
        reply_error(&r, e, status_override);
    }
    send_reply(&r, &x);
    metrics_observe(route_ix, r.status, mono_us() - t0, db_time_us() - db0);
}

/* ---- deferred replies ------------------------------------------------------------ */

struct http_deferred {
    struct http_deferred *next; /* in the loop's inbox */
    struct loop *lp;
    struct evhttp_request *req;
    int route_ix;
    uint64_t t0;
    int status;
    const char *ctype;
    char *body;
    size_t len;
    void (*call)(struct http_deferred *d, void *ctx); /* http_deferred_call */
    void *ctx;
    bool on_loop; /* inside call: reply at once */
};

struct http_deferred *req_defer(struct req *r)
{
    struct req_ev *x = r->ev;
    struct http_deferred *d = calloc(1, sizeof *d);
    if (!d)
        return NULL;
    d->lp = x->loop;
    d->req = x->req;
    d->route_ix = x->route_ix;
    d->t0 = x->t0;
    x->deferred = true;
    return d;
}

static void deferred_send(evutil_socket_t fd, short what, void *arg)
{
    (void)fd;
    (void)what;
    struct http_deferred *d = arg;
    struct evkeyvalq *h = evhttp_request_get_output_headers(d->req);
    add_security_headers(h, true);
    if (d->ctype)
        evhttp_add_header(h, "Content-Type", d->ctype);
    if (stopping)
        evhttp_add_header(h, "Connection", "close");
    struct evbuffer *out = evbuffer_new();
    if (d->len)
        evbuffer_add(out, d->body, d->len);
    /* a client gone meanwhile: libevent detached the request and frees it here */
    evhttp_send_reply(d->req, d->status, reason(d->status), out);
    evbuffer_free(out);
    metrics_observe(d->route_ix, d->status, mono_us() - d->t0, 0);
    free(d->body);
    free(d);
}

/* Hand d to the loop that owns it (any thread). */
static void post(struct http_deferred *d)
{
    struct loop *lp = d->lp;
    pthread_mutex_lock(&lp->inbox_mu);
    bool wake = !lp->inbox;
    d->next = NULL;
    *lp->inbox_tail = d;
    lp->inbox_tail = &d->next;
    pthread_mutex_unlock(&lp->inbox_mu);
    if (wake)
        event_active(lp->inbox_ev, EV_READ, 1);
}

static void inbox_cb(evutil_socket_t fd, short what, void *arg)
{
    (void)fd;
    (void)what;
    struct loop *lp = arg;
    pthread_mutex_lock(&lp->inbox_mu);
    struct http_deferred *d = lp->inbox;
    lp->inbox = NULL;
    lp->inbox_tail = &lp->inbox;
    pthread_mutex_unlock(&lp->inbox_mu);
    while (d) {
        struct http_deferred *next = d->next;
        if (d->call) {
            d->on_loop = true;
            d->call(d, d->ctx);
        } else {
            deferred_send(-1, 0, d);
        }
        d = next;
    }
}

void http_deferred_reply(struct http_deferred *d, int status, const char *ctype, char *body,
                         size_t len)
{
    d->status = status;
    d->ctype = ctype;
    d->body = body;
    d->len = len;
    d->call = NULL;
    if (d->on_loop)
        deferred_send(-1, 0, d);
    else
        post(d);
}

void http_deferred_call(struct http_deferred *d, void (*fn)(struct http_deferred *d, void *ctx),
                        void *ctx)
{
    d->call = fn;
    d->ctx = ctx;
    post(d);
}

char *http_error_text(err code, int *status_r, size_t *len_r)
{
    json_t *b = http_error_body(code);
    char *s = json_dumps(b, JSON_COMPACT);
    json_decref(b);
    *status_r = http_status(code);
    *len_r = s ? strlen(s) : 0;
    return s;
}

/* ---- Server-Sent Events ---------------------------------------------------------- */

struct stream {
    struct stream *next, *prev;
    struct loop *lp;
    struct evhttp_request *req;
    struct evhttp_connection *conn;
    const char *channel;
    struct scope sc;
    int64_t skip_upto;
};

static pthread_rwlock_t loops_lock = PTHREAD_RWLOCK_INITIALIZER;
static struct loop *live_loops; /* NULL unless serving; guarded by loops_lock */
static int live_n;
static _Atomic int64_t n_streams;

static void (*stop_hooks[8])(void);
static int n_stop_hooks;

void http_on_stop(void (*fn)(void))
{
    if (n_stop_hooks < (int)(sizeof stop_hooks / sizeof stop_hooks[0]))
        stop_hooks[n_stop_hooks++] = fn;
}

int64_t http_stream_count(void)
{
    return n_streams;
}

static void stream_unlink(struct stream *st)
{
    if (st->prev)
        st->prev->next = st->next;
    else
        st->lp->streams = st->next;
    if (st->next)
        st->next->prev = st->prev;
    n_streams--;
}

/* The client left: libevent detached the request (it is ours now). */
static void stream_closed(struct evhttp_connection *conn, void *arg)
{
    (void)conn;
    struct stream *st = arg;
    stream_unlink(st);
    evhttp_send_reply_end(st->req); /* frees a detached request */
    free(st);
}

static void stream_end(struct stream *st)
{
    evhttp_connection_set_closecb(st->conn, NULL, NULL);
    stream_unlink(st);
    evhttp_send_reply_end(st->req);
    free(st);
}

static void stream_write(struct stream *st, const char *text, size_t n)
{
    struct evbuffer *b = evbuffer_new();
    evbuffer_add(b, text, n);
    evhttp_send_reply_chunk(st->req, b);
    evbuffer_free(b);
}

static void stream_event(struct stream *st, int64_t id, const char *event, const char *data)
{
    struct evbuffer *b = evbuffer_new();
    evbuffer_add_printf(b, "id: %lld\nevent: %s\n", (long long)id, event);
    /* data lines may not contain newlines; JSON from json_dumps(COMPACT) has none,
     * but split anyway so any text stays one event */
    const char *p = data;
    do {
        size_t n = strcspn(p, "\n");
        evbuffer_add(b, "data: ", 6);
        evbuffer_add(b, p, n);
        evbuffer_add(b, "\n", 1);
        p += n;
        if (*p)
            p++;
    } while (*p);
    evbuffer_add(b, "\n", 1);
    evhttp_send_reply_chunk(st->req, b);
    evbuffer_free(b);
}

static void keepalive_cb(evutil_socket_t fd, short what, void *arg)
{
    (void)fd;
    (void)what;
    struct loop *lp = arg;
    for (struct stream *st = lp->streams; st; st = st->next)
        stream_write(st, ": keep-alive\n\n", strlen(": keep-alive\n\n"));
}

err req_stream_open(struct req *r, const char *channel, const struct scope *sc, int64_t skip_upto)
{
    struct req_ev *x = r->ev;
    struct stream *st = calloc(1, sizeof *st);
    if (!st)
        return err_set(E_NOMEM, NULL, NULL, NULL);
    *st = (struct stream){
        .lp = x->loop, .req = x->req, .channel = channel, .sc = *sc, .skip_upto = skip_upto};
    st->conn = evhttp_request_get_connection(x->req);
    struct evkeyvalq *h = evhttp_request_get_output_headers(x->req);
    add_security_headers(h, true);
    evhttp_add_header(h, "Content-Type", "text/event-stream; charset=utf-8");
    evhttp_add_header(h, "X-Accel-Buffering", "no"); /* nginx in front must not buffer */
    evhttp_send_reply_start(x->req, 200, "OK");
    st->next = x->loop->streams;
    if (st->next)
        st->next->prev = st;
    x->loop->streams = st;
    n_streams++;
    evhttp_connection_set_closecb(st->conn, stream_closed, st);
    x->stream = st;
    /* the retry hint, and a first line so the client sees the stream open at once */
    stream_write(st, "retry: 3000\n: ok\n\n", strlen("retry: 3000\n: ok\n\n"));
    metrics_observe(x->route_ix, 200, mono_us() - x->t0, 0);
    return E_OK;
}

void req_stream_send(struct req *r, int64_t id, const char *event, const char *data)
{
    struct req_ev *x = r->ev;
    if (x->stream)
        stream_event(x->stream, id, event, data);
}

struct publication {
    _Atomic int refs;
    int64_t region_code, id;
    char *channel, *event, *data;
};

static void publication_unref(struct publication *p)
{
    if (--p->refs == 0) {
        free(p->channel);
        free(p->event);
        free(p->data);
        free(p);
    }
}

static void deliver(evutil_socket_t fd, short what, void *arg)
{
    (void)fd;
    (void)what;
    struct publication *p = arg;
    struct loop *lp = NULL;
    pthread_t self = pthread_self();
    pthread_rwlock_rdlock(&loops_lock);
    for (int i = 0; i < live_n; i++)
        if (pthread_equal(live_loops[i].thread, self))
            lp = &live_loops[i];
    pthread_rwlock_unlock(&loops_lock);
    for (struct stream *st = lp ? lp->streams : NULL; st; st = st->next)
        if (!strcmp(st->channel, p->channel) && scope_has(&st->sc, p->region_code) &&
            p->id > st->skip_upto)
            stream_event(st, p->id, p->event, p->data);
    publication_unref(p);
}

void http_stream_publish(const char *channel, int64_t region_code, int64_t id, const char *event,
                         const char *data)
{
    pthread_rwlock_rdlock(&loops_lock);
    if (live_loops && live_n > 0) {
        struct publication *p = calloc(1, sizeof *p);
        if (p) {
            p->refs = live_n;
            p->region_code = region_code;
            p->id = id;
            p->channel = strdup(channel);
            p->event = strdup(event);
            p->data = strdup(data);
            int n = live_n;
            for (int i = 0; i < n; i++)
                if (event_base_once(live_loops[i].base, -1, EV_TIMEOUT, deliver, p, NULL) != 0)
                    publication_unref(p);
        }
    }
    pthread_rwlock_unlock(&loops_lock);
}

static void *loop_main(void *arg)
{
    struct loop *lp = arg;
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

static void stop_loop(evutil_socket_t fd, short what, void *arg)
{
    (void)fd;
    (void)what;
    struct loop *lp = arg;
    if (lp->bound) {
        evhttp_del_accept_socket(lp->http, lp->bound);
        lp->bound = NULL;
    }
    while (lp->streams)
        stream_end(lp->streams);
    if (lp->keepalive)
        event_del(lp->keepalive);
    /* requests run to completion inside the loop, so what is in flight now
     * is replies being written; give them a moment, then stop */
    struct timeval grace = {1, 0};
    event_base_loopexit(lp->base, &grace);
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
    lp->a = arena_new(64 * 1024);
    err e = db_open(cfg->db_url, &lp->db);
    if (e)
        return e;
    lp->base = event_base_new();
    lp->http = lp->base ? evhttp_new(lp->base) : NULL;
    lp->fd = dup(listen_fd);
    if (!lp->http || lp->fd < 0)
        return err_set(E_IO, NULL, NULL, "无法创建事件循环");
    evhttp_set_allowed_methods(lp->http, EVHTTP_REQ_GET | EVHTTP_REQ_HEAD | EVHTTP_REQ_POST |
                                             EVHTTP_REQ_PATCH | EVHTTP_REQ_PUT | EVHTTP_REQ_DELETE |
                                             EVHTTP_REQ_OPTIONS);
    evhttp_set_max_body_size(lp->http, HARD_BODY_LIMIT);
    evhttp_set_max_headers_size(lp->http, HARD_HEADER_LIMIT);
    evhttp_set_timeout(lp->http, cfg->idle_timeout_s);
    evhttp_set_default_content_type(lp->http, "application/json; charset=utf-8");
    evhttp_set_gencb(lp->http, handle, lp);
    const char *ka = getenv("FK_SSE_KEEPALIVE_MS");
    long ka_ms = ka ? strtol(ka, NULL, 10) : 15000;
    if (ka_ms < 100 || ka_ms > 3600000)
        ka_ms = 15000;
    struct timeval kt = {ka_ms / 1000, (ka_ms % 1000) * 1000};
    lp->keepalive = event_new(lp->base, -1, EV_PERSIST, keepalive_cb, lp);
    if (!lp->keepalive || event_add(lp->keepalive, &kt) != 0)
        return err_set(E_IO, NULL, NULL, "无法创建事件循环");
    pthread_mutex_init(&lp->inbox_mu, NULL);
    lp->inbox_tail = &lp->inbox;
    if (!(lp->inbox_ev = event_new(lp->base, -1, 0, inbox_cb, lp)))
        return err_set(E_IO, NULL, NULL, "无法创建事件循环");
    lp->bound = evhttp_accept_socket_with_handle(lp->http, lp->fd);
    if (!lp->bound)
        return err_set(E_IO, NULL, NULL, "无法监听端口");
    return E_OK;
}

static void loop_free(struct loop *lp)
{
    if (lp->keepalive)
        event_free(lp->keepalive);
    if (lp->inbox_ev) {
        event_free(lp->inbox_ev);
        pthread_mutex_destroy(&lp->inbox_mu);
    }
    if (lp->http)
        evhttp_free(lp->http);
    if (lp->base)
        event_base_free(lp->base);
    db_close(&lp->db);
    arena_free(&lp->a);
}

err http_serve(const struct server_config *cfg)
{
    evthread_use_pthreads();
    signal(SIGPIPE, SIG_IGN);
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
