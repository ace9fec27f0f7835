/*
 * The HTTP contract between the server and the thin handlers in each
 * capability's api.c.
 *
 * A handler receives a request whose session, permission and JSON body have
 * already been checked by the router against its route (validate at the
 * edge), does its work through its capability's contract, and either sets a
 * reply (reply_json, reply_bytes) and returns E_OK, or returns an err whose
 * detail the router turns into the JSON error body. Everything a handler
 * allocates comes from r->a, freed when the reply has been sent.
 */
#ifndef FK_HTTP_HTTP_H
#define FK_HTTP_HTTP_H

#include <jansson.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "base/arena.h"
#include "base/csv.h"
#include "base/error.h"
#include "base/json.h"
#include "base/jsonw.h"
#include "db/db.h"
#include "security/auth.h"

enum http_method { M_GET = 1, M_POST = 2, M_PATCH = 4, M_PUT = 8, M_DELETE = 16 };

/* Headers a reply may add besides those struct req names (req_reply_header). */
#define HTTP_EXTRA_HEADERS_MAX 4

/* {name} segments a route pattern may have (router_add refuses more). */
#define HTTP_PARAMS_MAX 4

struct req {
    arena *a;
    db *db;
    enum http_method method;
    const char *path;                    /* decoded path, no query */
    const char *ip;                      /* peer address */
    const struct principal *who;         /* NULL on public routes without a session */
    const char *params[HTTP_PARAMS_MAX]; /* {name} segments of the route, in order */
    json_t *body;                        /* the checked JSON object, or NULL */
    const struct route *route;
    void *ev; /* the server's own request (http/ only) */

    /* the reply */
    int status;
    const char *ctype;
    const void *data;
    size_t len;
    const char *set_cookie;
    const char *disposition;
    const char *cache_control;    /* NULL: no-store (every API reply) */
    const char *content_encoding; /* "gzip" for a precompressed file */
    const char *vary;
    const char *location; /* redirects */
    const char *etag;     /* an ETag for a cacheable reply (the public page), or NULL */
    /* more headers of the reply (req_reply_header): name, value pairs */
    const char *extra[2 * HTTP_EXTRA_HEADERS_MAX];
    int nextra;
    int file_fd; /* reply_file: the file sent (http/ only) */
    int64_t file_len;

    /* the first req_audit entry that could not be recorded (its error
     * detail, in the arena), or NULL: see req_audit */
    const struct err_detail *audit_failed;
};

/* Route flags. */
enum {
    ROUTE_PUBLIC = 1,     /* no session needed (a session is still read if present) */
    ROUTE_RAW_BODY = 2,   /* body is not JSON (imports): read it with req_raw_body */
    ROUTE_PENDING_OK = 4, /* allowed while a password change or TOTP enrolment is pending */
    ROUTE_STREAM = 8,     /* a Server-Sent Events stream: the handler calls req_stream_open */
    /* the JSON body is parsed but its jfield check is left to the handler,
     * which runs it with its own rule checks so that every field at fault
     * is answered at once (json_check, err_collect_begin); `body` still
     * documents it */
    ROUTE_BODY_LATE = 16,
    /* a list answered by reply_page_capped: its total may stop at the
     * lists' cap (total_capped), said in the OpenAPI document */
    ROUTE_CAPPED_TOTAL = 32,
};

struct route {
    enum http_method method;
    const char *pattern; /* "/api/v1/persons/{id}" */
    err (*fn)(struct req *r);
    enum perm perm; /* PERM_NONE: any signed-in user */
    unsigned flags;
    const struct jfield *body; /* request schema, NULL-terminated; NULL: no body */
    const char *summary;       /* Chinese, for the OpenAPI document */
    const char *tag;
    size_t max_body; /* 0: the default limit */
};

/* The size of the route table, and of the per-route metrics (each route
 * costs 4.8 KB of counters). 768: issue 13's exchange adds a route per
 * signed operation, and 450 were taken before it. */
#define HTTP_ROUTES_MAX 768

/* Register a capability's routes (before http_serve). A table that does
 * not fit in HTTP_ROUTES_MAX is refused whole (E_INTERNAL: the server
 * refuses to start), never cut short. */
err router_add(const struct route *routes, size_t n) MUST_USE;

/* Every registered route, for the OpenAPI document and `fangkong routes`. */
const struct route *const *router_all(size_t *n_r);

/* Set the reply. `v` is stolen (its reference is released after sending). */
err reply_json(struct req *r, int status, json_t *v) MUST_USE;
err reply_bytes(struct req *r, int status, const char *ctype, const void *data, size_t n) MUST_USE;
/*
 * Send `size` bytes of the open file `fd` from offset 0 as the reply (an
 * export written to a temporary file: the kernel sends it, memory stays
 * flat). fd belongs to the request from now on and is closed after the
 * reply, or when another reply (an error) replaces this one.
 */
err reply_file(struct req *r, int status, const char *ctype, int fd, int64_t size) MUST_USE;
/* An empty 204. */
err reply_empty(struct req *r) MUST_USE;

/* One page of a list, the same shape for every list: 200 {"items": items
 * (stolen), "total", "page", "page_size"}. */
err reply_page(struct req *r, json_t *items, int64_t total, int64_t page, int64_t size) MUST_USE;
/* reply_page for a list whose total may stop at a cap (query_page's
 * count_cap): the reply also says "total_capped" (true: at least `total`
 * match, the pages go on while they are full; docs/api.md). Such a route
 * carries ROUTE_CAPPED_TOTAL, so the OpenAPI document describes it. */
err reply_page_capped(struct req *r, json_t *items, int64_t total, bool capped, int64_t page,
                      int64_t size) MUST_USE;

/*
 * The same replies written without a tree (base/jsonw.h), for the hot
 * paths: reply_jsonw takes the text of w, which holds one complete value
 * (w is empty afterwards; E_NOMEM when the writer failed, as when
 * json_dumps fails). A page: reply_page_begin opens {"items":[ in w, the
 * caller writes the items, reply_page_end closes the array with "total",
 * "page" and "page_size", exactly as reply_page, and sets the reply.
 */
err reply_jsonw(struct req *r, int status, struct jsonw *w) MUST_USE;
void reply_page_begin(struct jsonw *w);
err reply_page_end(struct req *r, struct jsonw *w, int64_t total, int64_t page,
                   int64_t size) MUST_USE;

/*
 * A CSV export, written once for every list: reply_csv_begin starts the
 * document in the request's arena with the UTF-8 byte order mark (without
 * it spreadsheets in Chinese locales read the file as GBK); reply_csv sends
 * it as 200 text/csv; charset=utf-8, an attachment named `filename` (ASCII,
 * a static string or one in the arena).
 */
void reply_csv_begin(struct req *r, struct csv_out *c);
err reply_csv(struct req *r, const struct csv_out *c, const char *filename) MUST_USE;
/* A CSV export already written to a file (an export job's), sent from fd
 * (taken, as reply_file) with the same type and disposition. */
err reply_csv_file(struct req *r, int fd, int64_t size, const char *filename) MUST_USE;
/* Their type, for such a file answered from another thread (http_deferred_reply_file). */
#define CSV_CONTENT_TYPE "text/csv; charset=utf-8"

/* A query parameter, percent-decoded, or NULL. */
const char *req_query(struct req *r, const char *name);
/* The request's path and query as sent, percent-encoding untouched (what
 * a signature covers); query NULL when there is none. */
void req_raw_uri(struct req *r, const char **path_r, const char **query_r);
/* Add a header to the reply (name and value static or in r->a): for a
 * reply that carries its own fields, like the exchange's signature. At
 * most HTTP_EXTRA_HEADERS_MAX; E_INTERNAL for one more. They are dropped
 * when the server replaces the reply with an error (an audit failure). */
err req_reply_header(struct req *r, const char *name, const char *value) MUST_USE;
/* A request header, or NULL. */
const char *req_header(struct req *r, const char *name);
/* The session token the request carries (cookie or Bearer), or NULL. */
const char *req_session_token(struct req *r);
/* The raw body (for ROUTE_RAW_BODY routes). */
const char *req_raw_body(struct req *r, size_t *n_r);

/*
 * Typed query parameters; an invalid value is an E_INPUT error naming the
 * parameter. `*v_r` keeps its default when the parameter is absent.
 */
err req_query_int64(struct req *r, const char *name, int64_t min, int64_t max,
                    int64_t *v_r) MUST_USE;
/* Paging: page (1..), page_size (1..max, default 20). */
err req_paging(struct req *r, int64_t *page_r, int64_t *size_r) MUST_USE;

/* Path parameter i parsed as a positive int64 id; E_NOT_FOUND when it is not one. */
err req_param_id(struct req *r, int i, int64_t *id_r) MUST_USE;

/*
 * Audit an action of this request's principal: action "person.read",
 * object type "person", the object's id, result "ok" or an error slug.
 * `detail` must not contain personal data (field names and counts only).
 *
 * An access that cannot be audited is not served. When the entry cannot
 * be recorded (the audit queue is full: 503 "queue_full"; or the append in
 * the request's transaction failed, which also poisons that transaction),
 * the request remembers it (r->audit_failed) and whatever the handler
 * then does, its reply is that error: the server replaces the reply,
 * req_defer and req_stream_open refuse, and a handler about to start
 * something irreversible asks req_audit_failed first. Void on purpose:
 * the hundred call sites need no error path of their own.
 */
void req_audit(struct req *r, const char *action, const char *object_type, int64_t object_id,
               const char *result, const char *detail);

/* E_OK, or the error of the first req_audit entry of r that could not be
 * recorded (with its detail set again on this thread). */
err req_audit_failed(struct req *r) MUST_USE;

/* ---- replies sent later, from another thread (group commit) ---------------- */

struct http_deferred;

/*
 * Keep r open after its handler returns E_OK: the reply is sent when some
 * thread calls http_deferred_reply (exactly once) with the result. Returns
 * NULL (E_NOMEM, or an entry of r could not be audited: req_audit) on
 * failure; the handler then answers as usual. The handle
 * holds no pointer into r->a.
 */
struct http_deferred *req_defer(struct req *r);

/* Give back d, from req_defer(r), before anything was sent or called on
 * it (the work it waited for could not even be queued): d is freed and
 * the handler answers as usual. */
void req_undefer(struct req *r, struct http_deferred *d);

/*
 * Send the reply of a deferred request from any thread: it is written by the
 * loop that owns the request (event_base_once). `body` is malloc'd and taken
 * (freed after sending); ctype is a static string. A client gone meanwhile
 * is fine (the reply is dropped).
 */
void http_deferred_reply(struct http_deferred *d, int status, const char *ctype, char *body,
                         size_t len);

/* As http_deferred_reply, with the first `size` bytes of the open file fd
 * as the body (a download fetched on a worker: the kernel sends it, as
 * reply_file). fd is taken: closed once sent, or when the client is gone. */
void http_deferred_reply_file(struct http_deferred *d, int status, const char *ctype, int fd,
                              int64_t size);

/*
 * Add a header to the deferred reply of d, before http_deferred_reply, from
 * the thread answering it (copied; at most DEFERRED_HEADERS_MAX, as
 * req_reply_header allows a handler). False when there is no room or no
 * memory: the caller answers an error instead.
 */
#define DEFERRED_HEADERS_MAX 4
bool http_deferred_header(struct http_deferred *d, const char *name, const char *value);

/*
 * From any thread: run fn(d, ctx) on the loop that owns d, where it must
 * call http_deferred_reply (which then sends at once). For work that
 * belongs on the loops rather than on the caller's thread: a group-commit
 * writer hands over its results and lets the loops render the replies.
 */
void http_deferred_call(struct http_deferred *d, void (*fn)(struct http_deferred *d, void *ctx),
                        void *ctx);

/* The JSON error body and status of `code` (the thread's detail), for a
 * deferred reply: malloc'd compact JSON. */
char *http_error_text(err code, int *status_r, size_t *len_r);

/* ---- Server-Sent Events ------------------------------------------------------- */

/*
 * Turn r (a ROUTE_STREAM route) into an event stream of `channel` (a static
 * string) for records whose region lies in `sc`: sends the 200 and the
 * text/event-stream headers now. Events with id <= skip_upto published
 * later are not sent (the handler has replayed them). The stream stays open
 * until the client leaves or the server stops; a comment line is sent every
 * keep-alive interval (15 s; FK_SSE_KEEPALIVE_MS). The handler then returns
 * E_OK without setting a reply.
 */
err req_stream_open(struct req *r, const char *channel, const struct scope *sc,
                    int64_t skip_upto) MUST_USE;

/* Send one event on the stream r just opened (a replay). */
void req_stream_send(struct req *r, int64_t id, const char *event, const char *data);

/*
 * Publish an event to every open stream of `channel` whose scope holds
 * region_code, on every loop of this process. Thread-safe; copies its
 * arguments; does nothing when no server runs (tools, unit tests).
 */
void http_stream_publish(const char *channel, int64_t region_code, int64_t id, const char *event,
                         const char *data);

/* Open streams in this process (metrics, tests). */
int64_t http_stream_count(void);

/*
 * Register fn to run when the server stops, after it stopped accepting and
 * before the loops exit, so deferred replies still reach their clients
 * (a writer draining its queue). Call before http_serve. At most
 * HTTP_STOP_HOOKS_MAX of them: one more is refused (E_INTERNAL).
 */
#define HTTP_STOP_HOOKS_MAX 8
err http_on_stop(void (*fn)(void)) MUST_USE;

/*
 * Origins besides the server's own whose media pages may load (the video
 * network's HLS streams the console plays: docs/video.md), as a list
 * separated by spaces or commas of "http://host[:port]" or
 * "https://host[:port]" (FK_VIDEO_ORIGINS); NULL or "": none. They join
 * media-src and connect-src of the Content-Security-Policy every reply
 * carries. E_INPUT for anything else (a path, a wildcard, a quote), so a
 * mistyped setting never widens the policy. Call before http_serve.
 */
err http_set_media_origins(const char *list) MUST_USE;

/*
 * The reverse proxies whose X-Forwarded-For is believed (FK_TRUSTED_PROXIES:
 * IPv4/IPv6 addresses or networks like 10.0.0.0/8, separated by commas or
 * spaces, at most 16); NULL or "": none, the header is ignored. A request
 * from a trusted proxy gets as its client address (rate limits, audit) the
 * right-most address of the header that is not itself a trusted proxy; a
 * malformed entry leaves the proxy's own address. E_INPUT for a bad list.
 * Call before http_serve.
 */
err http_set_trusted_proxies(const char *list) MUST_USE;

/* The client address of a request from `peer` carrying X-Forwarded-For
 * `xff` (NULL: none), by the rule above, into out (n bytes). */
void http_client_addr(const char *peer, const char *xff, char *out, size_t n);

/*
 * Count one event in a labelled counter family of /metrics:
 * `family{reason="…"} n` (family a static name like
 * "fangkong_scan_refused_total"; reason a slug). Thread-safe.
 */
void http_metric_inc(const char *family, const char *reason);

/*
 * A labelled metric family of /metrics for a capability that counts its own
 * events (the exchange: calls by caller, dataset, direction and result),
 * so http/ needs no special case per capability:
 *
 *     static const char *const labels[] = {"caller", "dataset", NULL};
 *     f = http_metric_family("fangkong_x_seconds", "…", HTTP_METRIC_HISTOGRAM, labels);
 *     http_metric_add(f, (const char *[]){"17", "persons"}, 0.012);
 *
 * A counter adds v to the series of those label values; a histogram
 * observes v seconds into the buckets of the request-latency histogram
 * (_bucket{…,le}, _sum, _count). Register before serving (names static, at
 * most HTTP_METRIC_FAMILIES_MAX families of at most HTTP_METRIC_LABELS_MAX
 * labels, NULL when full); http_metric_add is thread-safe and never waits
 * for more than a short lock. A family holds at most HTTP_METRIC_SERIES_MAX
 * series: values past that are counted under every label "_other" (label
 * values come from callers, so their number must stay bounded). Values are
 * escaped as Prometheus wants.
 */
#define HTTP_LATENCY_BOUNDS 12 /* the histograms' bucket bounds, milliseconds */
extern const double http_latency_bounds_ms[HTTP_LATENCY_BOUNDS];
#define HTTP_METRIC_FAMILIES_MAX 8
#define HTTP_METRIC_LABELS_MAX   6
#define HTTP_METRIC_SERIES_MAX   1024
enum http_metric_kind { HTTP_METRIC_COUNTER, HTTP_METRIC_HISTOGRAM };
struct http_metric_family;
struct http_metric_family *http_metric_family(const char *name, const char *help,
                                              enum http_metric_kind kind,
                                              const char *const *labels);
void http_metric_add(struct http_metric_family *f, const char *const *values, double v);

/*
 * A gauge of /metrics read when scraped: fn(d, ctx, &v) on the scraping
 * event loop's connection d, true with the value, false to leave the line
 * out (nothing to say: no replication on SQLite, no certificate configured).
 * `labels` is NULL or a fixed label set such as `writer="access"`; gauges
 * of one name share their HELP and TYPE lines. fn must be quick (an atomic
 * read, a statvfs, one small query): it runs on the request path. Register
 * before serving; at most HTTP_METRIC_GAUGES_MAX (E_INTERNAL past it).
 */
#define HTTP_METRIC_GAUGES_MAX 32
typedef bool (*http_gauge_fn)(db *d, void *ctx, double *v_r);
err http_metric_gauge(const char *name, const char *help, const char *labels, http_gauge_fn fn,
                      void *ctx) MUST_USE;

/* The HTTP status of an error code (the one table, http/status.c). */
int http_status(err code);

/* Build the {"error":{…}} body from the thread's error detail. */
json_t *http_error_body(err code);

struct server_config {
    const char *db_url;
    const char *bind;
    int port;
    int threads;
    int idle_timeout_s;
    int write_wait_ms; /* how long a loop's write waits for the database (db_set_wait) */
    size_t max_body;   /* default JSON body limit */
    size_t max_url;
    size_t max_headers;
};

/*
 * Run the server: open a database connection per loop, serve until SIGTERM
 * or SIGINT, then stop accepting, finish requests in flight and return.
 */
err http_serve(const struct server_config *cfg) MUST_USE;

#endif
