/*
 * The blocking outbound HTTP client (http/client.c): one request to another
 * system from a background thread (the outbox, the connectors, the SMS
 * gateway), on a private libevent base so it never touches the server's
 * event loops. http and https; https verifies the server's certificate and
 * host name against the system's trust store, or against a CA file given
 * per call (a peer with a private CA). The whole call is bounded by a
 * timeout and the answer's body by a size limit.
 *
 * Never call it from an event loop thread: it blocks for up to timeout_s.
 */
#ifndef FK_HTTP_CLIENT_H
#define FK_HTTP_CLIENT_H

#include <stddef.h>

#include "base/arena.h"
#include "base/error.h"

struct http_header {
    const char *name, *value;
};

#define HTTP_CLIENT_BODY_MAX_DEFAULT (4u << 20) /* bytes of an answer, when max_body is 0 */

struct http_client_request {
    const char *method; /* "GET", "POST", "PUT", "PATCH", "DELETE" */
    const char *url;    /* http://host[:port]/path?query or https://… */
    const struct http_header *headers;
    size_t nheaders;
    const void *body; /* NULL: none */
    size_t body_len;
    int timeout_s;       /* connect, send and receive together; <= 0 means 10 */
    size_t max_body;     /* the longest answer accepted; 0: HTTP_CLIENT_BODY_MAX_DEFAULT */
    const char *ca_file; /* https: trust only this PEM bundle; NULL or "": the system store */
};

struct http_client_response {
    int status;                  /* the HTTP status */
    char *body;                  /* NUL-terminated, in the arena */
    size_t len;                  /* bytes of body */
    struct http_header *headers; /* the answer's headers, in the arena */
    size_t nheaders;
};

/*
 * Send rq and wait for its answer. Any answer, whatever its status, is
 * E_OK with *rs filled (allocated in a). Failures:
 *   E_INPUT       "invalid_url"        not an http(s) URL with a host
 *   E_UNAVAILABLE "http_unreachable"   no connection, reset, or timed out
 *   E_UNAVAILABLE "http_tls_failed"    TLS handshake or certificate check failed
 *   E_TOO_LARGE   "http_answer_too_large"  the body exceeded max_body
 * The err's message (Chinese) says what happened, for the operator.
 */
err http_client_call(arena *a, const struct http_client_request *rq,
                     struct http_client_response *rs) MUST_USE;

/* POST a JSON text to url and give the answer's status (a gateway that
 * only needs to accept it: the SMS driver through auth_on_sms_http). The
 * client's errors as above; the answer's body is dropped. */
err http_client_post_json(const char *url, const char *json, int timeout_s, int *status_r) MUST_USE;

/* The first header of that name (case-insensitive), NULL when absent. */
const char *http_client_header(const struct http_client_response *rs, const char *name);

#endif
