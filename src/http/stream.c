/*
 * Server-Sent Events: streams of published events, each for the regions of
 * its principal's scope, and their end when the right to read them ends.
 *
 * A stream lives on the loop that accepted it and only that thread touches
 * it. It remembers the session token it was opened with and a copy of the
 * principal; every FK_STREAM_RECHECK seconds (5), and at once when this
 * process signs someone out or changes an account (auth_on_change), the
 * loop looks the session up again without refreshing it. A session gone
 * (logout, logout everywhere, idle or absolute expiry, account disabled)
 * or a principal changed in any way (roles, permissions, scope) ends the
 * stream with a last `event: end` whose data names the reason; a client
 * that still may read reconnects and gets a stream of its new rights.
 * Changes made by another server are seen by the timer.
 */
#include "http/internal.h"

#include <event2/buffer.h>
#include <event2/event.h>
#include <event2/http.h>
#include <stdatomic.h>
#include <stdlib.h>
#include <string.h>

#include "base/id.h"
#include "base/log.h"

struct stream {
    struct stream *next, *prev;
    struct loop *lp;
    struct evhttp_request *req;
    struct conn *conn;
    const char *channel;
    struct scope sc;
    int64_t skip_upto;
    char token[TOKEN_HEX_LEN + 1]; /* the session it was opened with */
    struct principal who;          /* as it was at the opening */
};

static _Atomic int64_t n_streams;

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

void stream_closed(struct stream *st)
{
    stream_unlink(st);
    evhttp_send_reply_end(st->req); /* frees a detached request */
    explicit_bzero(st->token, sizeof st->token);
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
    if (id)
        evbuffer_add_printf(b, "id: %lld\n", (long long)id);
    evbuffer_add_printf(b, "event: %s\n", event);
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

void stream_end(struct stream *st, const char *why)
{
    char data[96];
    snprintf(data, sizeof data, "{\"reason\":\"%s\"}", why);
    stream_event(st, 0, "end", data);
    struct conn *c = st->conn;
    if (c) {
        conn_set_stream(c, NULL);
        conn_request_done(c);
    }
    stream_unlink(st);
    evhttp_send_reply_end(st->req);
    explicit_bzero(st->token, sizeof st->token);
    free(st);
}

static void keepalive_cb(evutil_socket_t fd, short what, void *arg)
{
    (void)fd;
    (void)what;
    struct loop *lp = arg;
    for (struct stream *st = lp->streams; st; st = st->next)
        stream_write(st, ": keep-alive\n\n", strlen(": keep-alive\n\n"));
}

/* The same rights: what a stream's filter and the route's permission read. */
static bool same_rights(const struct principal *a, const struct principal *b)
{
    return a->user_id == b->user_id && a->region_code == b->region_code &&
           a->scope.lo == b->scope.lo && a->scope.hi == b->scope.hi &&
           perm_set_equal(a->perms, b->perms) && a->resident == b->resident &&
           a->must_change_password == b->must_change_password &&
           a->totp_enabled == b->totp_enabled && a->totp_required == b->totp_required &&
           !strcmp(a->roles, b->roles);
}

static void recheck_cb(evutil_socket_t fd, short what, void *arg)
{
    (void)fd;
    (void)what;
    struct loop *lp = arg;
    struct stream *st = lp->streams;
    while (st) {
        struct stream *next = st->next;
        struct principal now;
        err_clear();
        err e = auth_session_check(lp->db, st->token, &now);
        if (e == E_AUTH)
            stream_end(st, err_last()->slug[0] ? err_last()->slug : "session_expired");
        else if (!e && !same_rights(&st->who, &now))
            stream_end(st, "access_changed");
        else if (e) /* a database outage must not end every stream: next time */
            log_event(LOG_WARN, "stream_recheck_failed", "slug", err_last()->slug, NULL);
        st = next;
    }
}

static void recheck_now(struct loop *lp, void *ctx)
{
    (void)ctx;
    if (lp->recheck)
        event_active(lp->recheck, EV_TIMEOUT, 1);
}

/* auth_on_change: sessions or accounts changed in this process. */
static void on_auth_change(void)
{
    loops_each(recheck_now, NULL);
}

err req_stream_open(struct req *r, const char *channel, const struct scope *sc, int64_t skip_upto)
{
    struct req_ev *x = r->ev;
    const char *tok = req_session_token(r);
    if (!r->who || !tok) /* a stream ends with its session: it must have one */
        return err_set(E_AUTH, "unauthenticated", NULL, "请先登录");
    err e = req_audit_failed(r); /* not served unaudited (req_audit) */
    if (e)
        return e;
    struct stream *st = calloc(1, sizeof *st);
    if (!st)
        return err_set(E_NOMEM, NULL, NULL, NULL);
    *st = (struct stream){.lp = x->loop,
                          .req = x->req,
                          .conn = x->conn,
                          .channel = channel,
                          .sc = *sc,
                          .skip_upto = skip_upto,
                          .who = *r->who};
    snprintf(st->token, sizeof st->token, "%s", tok);
    struct evkeyvalq *h = evhttp_request_get_output_headers(x->req);
    http_security_headers(h, true);
    evhttp_add_header(h, "Content-Type", "text/event-stream; charset=utf-8");
    evhttp_add_header(h, "X-Accel-Buffering", "no"); /* nginx in front must not buffer */
    evhttp_send_reply_start(x->req, 200, "OK");
    st->next = x->loop->streams;
    if (st->next)
        st->next->prev = st;
    x->loop->streams = st;
    n_streams++;
    if (st->conn)
        conn_set_stream(st->conn, st);
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
    struct loop *lp = loop_current();
    for (struct stream *st = lp ? lp->streams : NULL; st; st = st->next)
        if (!strcmp(st->channel, p->channel) && scope_has(&st->sc, p->region_code) &&
            p->id > st->skip_upto)
            stream_event(st, p->id, p->event, p->data);
    publication_unref(p);
}

static void post_loop(struct loop *lp, void *ctx)
{
    struct publication *p = ctx;
    p->refs++;
    if (event_base_once(lp->base, -1, EV_TIMEOUT, deliver, p, NULL) != 0)
        publication_unref(p);
}

void http_stream_publish(const char *channel, int64_t region_code, int64_t id, const char *event,
                         const char *data)
{
    if (!loop_current() && !http_serving())
        return; /* tools and unit tests: nobody listens */
    struct publication *p = calloc(1, sizeof *p);
    if (!p)
        return;
    p->refs = 1; /* ours until every loop has its own */
    p->region_code = region_code;
    p->id = id;
    p->channel = strdup(channel);
    p->event = strdup(event);
    p->data = strdup(data);
    if (p->channel && p->event && p->data)
        loops_each(post_loop, p);
    publication_unref(p);
}

static long env_ms(const char *name, long dflt_ms, long min_ms, long max_ms, bool seconds)
{
    const char *v = getenv(name);
    if (!v || !*v)
        return dflt_ms;
    char *end;
    double d = strtod(v, &end);
    long ms = (long)(seconds ? d * 1000 : d);
    if (*end || ms < min_ms || ms > max_ms)
        return dflt_ms;
    return ms;
}

err stream_loop_init(struct loop *lp)
{
    long ka_ms = env_ms("FK_SSE_KEEPALIVE_MS", 15000, 100, 3600000, false);
    struct timeval kt = {ka_ms / 1000, (ka_ms % 1000) * 1000};
    lp->keepalive = event_new(lp->base, -1, EV_PERSIST, keepalive_cb, lp);
    if (!lp->keepalive || event_add(lp->keepalive, &kt) != 0)
        return err_set(E_IO, NULL, NULL, "无法创建事件循环");
    long rc_ms = env_ms("FK_STREAM_RECHECK", 5000, 100, 3600000, true);
    struct timeval rt = {rc_ms / 1000, (rc_ms % 1000) * 1000};
    lp->recheck = event_new(lp->base, -1, EV_PERSIST, recheck_cb, lp);
    if (!lp->recheck || event_add(lp->recheck, &rt) != 0)
        return err_set(E_IO, NULL, NULL, "无法创建事件循环");
    return auth_on_change(on_auth_change);
}

void stream_loop_stop(struct loop *lp)
{
    while (lp->streams)
        stream_end(lp->streams, "server_stopping");
    if (lp->keepalive)
        event_del(lp->keepalive);
    if (lp->recheck)
        event_del(lp->recheck);
}

void stream_loop_free(struct loop *lp)
{
    if (lp->keepalive)
        event_free(lp->keepalive);
    if (lp->recheck)
        event_free(lp->recheck);
}
