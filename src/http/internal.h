/*
 * Private to http/: the pieces of the server that its files share.
 *
 *   server.c    the loops and the request path: limits, routing, session,
 *               cross-site check, body, handler, reply
 *   conn.c      connections before they become requests: the per-address
 *               cap, the header and body deadlines, and the declared body
 *               length refused before it is buffered
 *   deferred.c  replies sent later, from another thread
 *   stream.c    Server-Sent Events and their re-validation
 *   router.c    the route table and admission
 *   metrics.c   Prometheus counters
 *
 * A file includes only this header from http/, never another file's
 * internals.
 */
#ifndef FK_HTTP_INTERNAL_H
#define FK_HTTP_INTERNAL_H

#include <pthread.h>

#include "http/http.h"

struct evhttp_request;
struct evhttp_connection;
struct evkeyvalq;
struct event;
struct event_base;
struct evhttp;
struct evhttp_bound_socket;
struct stream;
struct conn_table;

/* One event loop: a thread, its libevent base and its database connection. */
struct loop {
    pthread_t thread;
    struct event_base *base;
    struct evhttp *http;
    struct evhttp_bound_socket *bound;
    db *db;
    arena *a;
    int fd;
    const struct server_config *cfg;
    struct conn_table *conns; /* conn.c: this loop's open connections */
    struct stream *streams;   /* open SSE streams of this loop (only this thread touches it) */
    struct event *keepalive;  /* stream.c: the comment line every keep-alive interval */
    struct event *recheck;    /* stream.c: re-validate every stream's session */
    /* deferred requests handed back by other threads: one wake-up per
     * batch, not per reply (a group commit answers dozens at once) */
    pthread_mutex_t inbox_mu;
    struct http_deferred *inbox, **inbox_tail;
    struct event *inbox_ev;
    uint64_t stop_by_us; /* server.c: the stop waits for in-flight replies until then */
};

struct conn;

struct req_ev {
    struct evhttp_request *req;
    struct loop *loop;
    struct conn *conn; /* NULL when the connection is not tracked */
    struct evkeyvalq *query;
    const char *body;
    size_t body_len;
    char token_buf[TOKEN_HEX_LEN + 1];
    int route_ix;
    uint64_t t0;
    bool deferred;         /* req_defer took the request: no reply now */
    bool close;            /* the reply closes the connection */
    struct stream *stream; /* req_stream_open made it a stream */
};

/* ---- server.c --------------------------------------------------------------- */

/* True once SIGTERM/SIGINT arrived: replies ask the client to close. */
bool http_stopping(void);
/* True while a server runs in this process. */
bool http_serving(void);
/* The loop of the calling thread, or NULL off the loops. */
struct loop *loop_current(void);
/* Run fn for every loop of a running server (any thread; nothing when none runs). */
void loops_each(void (*fn)(struct loop *lp, void *ctx), void *ctx);
/* The headers every reply carries; `api`: also Cache-Control: no-store. */
void http_security_headers(struct evkeyvalq *h, bool api);
/* The reason phrase of a status. */
const char *http_reason(int status);

/* ---- conn.c ------------------------------------------------------------------ */

/* Read FK_MAX_CONN_PER_IP, FK_HEADER_TIMEOUT, FK_BODY_TIMEOUT (once, before the loops). */
void conn_configure(const struct server_config *cfg);

/* proxy.c: whether an IPv4 peer (network order) is a trusted proxy, whose
 * connections the per-address cap does not count (they carry many clients). */
bool http_proxy_trusted_v4(uint32_t addr_be);
/* Track lp's connections from accept on (before it accepts). */
err conn_loop_init(struct loop *lp) MUST_USE;
/* After evhttp_free: release the table. */
void conn_loop_free(struct loop *lp);
/* A request of lp is under way: being received, with its handler (or a
 * deferred reply), or its reply not yet all written to the socket. */
bool conn_loop_busy(struct loop *lp);
/* The tracked connection of a request (NULL if untracked). */
struct conn *conn_of(struct loop *lp, struct evhttp_request *req);
/* The request reached its handler: its deadline no longer applies. */
void conn_request_started(struct conn *c);
/* Over the per-address cap: its request is answered 429 and it closes. */
bool conn_refused(const struct conn *c);
/* It is answered before its body was read: when it closes, read and drop
 * what the client still sends for a few seconds (lingering close). */
void conn_linger(struct conn *c);
/* Its reply was handed to libevent: the next request's deadline starts
 * with its first byte. */
void conn_request_done(struct conn *c);
/* The connection carries stream st from now on (NULL: no longer):
 * stream_closed(st) runs when the client leaves. */
void conn_set_stream(struct conn *c, struct stream *st);
/* The header the connection scanner puts in place of a Content-Length
 * over the route's limit (same length, so the bytes stay in place). */
#define CONN_TOO_LARGE_HEADER "X-Fk-Too-Large"

/* ---- deferred.c ------------------------------------------------------------- */

err deferred_loop_init(struct loop *lp) MUST_USE;
void deferred_loop_free(struct loop *lp);

/* ---- stream.c --------------------------------------------------------------- */

err stream_loop_init(struct loop *lp) MUST_USE;
/* End every stream of lp (the server stops). */
void stream_loop_stop(struct loop *lp);
void stream_loop_free(struct loop *lp);
/* The client of st left (conn.c's close callback); libevent owns nothing of it now. */
void stream_closed(struct stream *st);
/* End st: a final `event: end` naming why, then close the reply. */
void stream_end(struct stream *st, const char *why);

/* ---- router.c --------------------------------------------------------------- */

/*
 * Find the route for r->method and r->path, filling r->params. Returns the
 * route's index (for metrics) and sets *rt_r, or returns -1 with *rt_r NULL;
 * *method_mismatch_r tells whether the path exists with another method.
 */
int router_match(struct req *r, const struct route **rt_r, bool *method_mismatch_r);

/* The route of a method and raw path, or NULL (no captures; any thread). */
const struct route *router_find(enum http_method m, const char *path);

/* The largest body any route accepts (at least `dflt`). */
size_t router_max_body(size_t dflt);

/*
 * May r->who (NULL on a public route without a session) call route rt? A
 * principal with a pending step (auth_pending) reaches only ROUTE_PENDING_OK
 * and public routes: E_FORBIDDEN "password_change_required" or
 * "totp_enrolment_required". Then the route's permission: E_FORBIDDEN.
 * Runs before the body is read, so a refused request changes nothing.
 */
err router_admit(const struct req *r, const struct route *rt) MUST_USE;

/* ---- metrics.c -------------------------------------------------------------- */

/* Count a finished request: route index (-1 unmatched), status, durations. */
void metrics_observe(int route_ix, int status, uint64_t total_us, uint64_t db_us);

/* The Prometheus text exposition of everything observed; d (the scraping
 * loop's connection) is what the gauges read (http_metric_gauge). */
char *metrics_render(arena *a, db *d);

/* May r read /metrics? Loopback peers (unless FK_METRICS_LOOPBACK=0) or
 * `Authorization: Bearer $FK_METRICS_TOKEN`; else E_AUTH or E_NOT_FOUND. */
err metrics_admit(struct req *r) MUST_USE;

/* The error codes the server sends and what each means, ended by a NULL
 * slug (http/errors.c; checked against the source by scripts/lint.sh). */
struct http_error_code {
    const char *slug;
    const char *meaning;
};
extern const struct http_error_code http_error_codes[];

/* The OpenAPI 3 document of every registered route. */
json_t *openapi_document(void);

#endif
