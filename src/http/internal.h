/*
 * Private to http/: the server's half of a request, routing and metrics.
 */
#ifndef FK_HTTP_INTERNAL_H
#define FK_HTTP_INTERNAL_H

#include "http/http.h"

struct evhttp_request;
struct evkeyvalq;
struct loop;
struct stream;

struct req_ev {
    struct evhttp_request *req;
    struct loop *loop;
    struct evkeyvalq *query;
    const char *body;
    size_t body_len;
    char token_buf[TOKEN_HEX_LEN + 1];
    int route_ix;
    uint64_t t0;
    bool deferred;         /* req_defer took the request: no reply now */
    struct stream *stream; /* req_stream_open made it a stream */
};

/*
 * Find the route for r->method and r->path, filling r->params. Returns the
 * route's index (for metrics) and sets *rt_r, or returns -1 with *rt_r NULL;
 * *method_mismatch_r tells whether the path exists with another method.
 */
int router_match(struct req *r, const struct route **rt_r, bool *method_mismatch_r);

/*
 * May r->who (NULL on a public route without a session) call route rt? A
 * principal with a pending step (auth_pending) reaches only ROUTE_PENDING_OK
 * and public routes: E_FORBIDDEN "password_change_required" or
 * "totp_enrolment_required". Then the route's permission: E_FORBIDDEN.
 * Runs before the body is read, so a refused request changes nothing.
 */
err router_admit(const struct req *r, const struct route *rt);

/* Count a finished request: route index (-1 unmatched), status, durations. */
void metrics_observe(int route_ix, int status, uint64_t total_us, uint64_t db_us);

/* The Prometheus text exposition of everything observed. */
char *metrics_render(arena *a);

/* The OpenAPI 3 document of every registered route. */
json_t *openapi_document(void);

#endif
