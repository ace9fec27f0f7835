/*
 * Replies sent later: a handler hands its request to another thread (a
 * group-commit writer) with req_defer; that thread answers through
 * http_deferred_reply or http_deferred_call, and the loop that owns the
 * request writes the reply. Each loop has an inbox: one wake-up per batch,
 * not per reply.
 */
#include "http/internal.h"

#include <assert.h>
#include <event2/buffer.h>
#include <event2/event.h>
#include <event2/http.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "base/id.h"
#include "base/log.h"

struct http_deferred {
    struct http_deferred *next; /* in the loop's inbox */
    struct loop *lp;
    struct evhttp_request *req;
    struct conn *conn;
    int route_ix;
    uint64_t t0;
    int status;
    const char *ctype;
    char *body;
    size_t len;
    int fd; /* http_deferred_reply_file's (taken), or -1 */
    int64_t file_len;
    char *hname[DEFERRED_HEADERS_MAX], *hvalue[DEFERRED_HEADERS_MAX]; /* http_deferred_header */
    int nheaders;
    void (*call)(struct http_deferred *d, void *ctx); /* http_deferred_call */
    void *ctx;
    bool on_loop; /* inside call: reply at once */
};

struct http_deferred *req_defer(struct req *r)
{
    struct req_ev *x = r->ev;
    if (r->audit_failed) /* not served unaudited: the server answers the failure */
        return NULL;
    struct http_deferred *d = calloc(1, sizeof *d);
    if (!d)
        return NULL;
    d->lp = x->loop;
    d->req = x->req;
    d->conn = x->conn;
    d->route_ix = x->route_ix;
    d->t0 = x->t0;
    d->fd = -1;
    x->deferred = true;
    return d;
}

void req_undefer(struct req *r, struct http_deferred *d)
{
    struct req_ev *x = r->ev;
    assert(x->deferred && d->req == x->req && !d->call && !d->body);
    x->deferred = false;
    free(d);
}

static void deferred_send(struct http_deferred *d)
{
    struct evkeyvalq *h = evhttp_request_get_output_headers(d->req);
    http_security_headers(h, true);
    if (d->ctype)
        evhttp_add_header(h, "Content-Type", d->ctype);
    for (int i = 0; i < d->nheaders; i++)
        evhttp_add_header(h, d->hname[i], d->hvalue[i]);
    if (http_stopping())
        evhttp_add_header(h, "Connection", "close");
    struct evbuffer *out = evbuffer_new();
    if (d->fd >= 0) { /* the buffer owns fd once added, and closes it when sent */
        if (!out || evbuffer_add_file(out, d->fd, 0, d->file_len)) {
            close(d->fd);
            d->status = 500;
        }
        d->fd = -1;
    } else if (d->len) {
        evbuffer_add(out, d->body, d->len);
    }
    /* the connection is still ours: conn.c's close callback would have
     * forgotten the request otherwise (a client gone meanwhile: libevent
     * detached the request and frees it here) */
    struct conn *c = conn_of(d->lp, d->req);
    evhttp_send_reply(d->req, d->status, http_reason(d->status), out);
    evbuffer_free(out);
    if (c)
        conn_request_done(c);
    metrics_observe(d->route_ix, d->status, mono_us() - d->t0, 0);
    for (int i = 0; i < d->nheaders; i++) {
        free(d->hname[i]);
        free(d->hvalue[i]);
    }
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
            deferred_send(d);
        }
        d = next;
    }
}

bool http_deferred_header(struct http_deferred *d, const char *name, const char *value)
{
    if (d->nheaders == DEFERRED_HEADERS_MAX)
        return false;
    char *n = strdup(name), *v = strdup(value);
    if (!n || !v) {
        free(n);
        free(v);
        return false;
    }
    d->hname[d->nheaders] = n;
    d->hvalue[d->nheaders++] = v;
    return true;
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
        deferred_send(d);
    else
        post(d);
}

void http_deferred_reply_file(struct http_deferred *d, int status, const char *ctype, int fd,
                              int64_t size)
{
    d->fd = fd;
    d->file_len = size;
    http_deferred_reply(d, status, ctype, NULL, 0);
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

err deferred_loop_init(struct loop *lp)
{
    pthread_mutex_init(&lp->inbox_mu, NULL);
    lp->inbox_tail = &lp->inbox;
    if (!(lp->inbox_ev = event_new(lp->base, -1, 0, inbox_cb, lp)))
        return err_set(E_IO, NULL, NULL, "无法创建事件循环");
    return E_OK;
}

void deferred_loop_free(struct loop *lp)
{
    if (lp->inbox_ev) {
        event_free(lp->inbox_ev);
        pthread_mutex_destroy(&lp->inbox_mu);
    }
}
