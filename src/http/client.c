/*
 * The blocking outbound HTTP client (contract in http/client.h). Each call
 * makes its own event base and connection and frees them before returning:
 * calls are rare (batches, look-ups), so simplicity beats connection reuse,
 * and no state is shared between threads.
 */
#include "http/client.h"

#include <arpa/inet.h>
#include <event2/buffer.h>
#include <event2/bufferevent.h>
#include <event2/bufferevent_ssl.h>
#include <event2/event.h>
#include <event2/http.h>
#include <event2/keyvalq_struct.h>
#include <openssl/err.h>
#include <openssl/ssl.h>
#include <openssl/x509v3.h>
#include <stdbool.h>
#include <stdio.h>
#include <string.h>
#include <strings.h>

#include "base/log.h"

struct call {
    arena *a;
    struct event_base *base;
    struct http_client_response *rs;
    bool answered, too_large, nomem;
    enum evhttp_request_error error; /* when not answered */
    bool failed;                     /* the error callback ran */
};

static void on_error(enum evhttp_request_error error, void *arg)
{
    struct call *c = arg;
    c->failed = true;
    c->error = error;
    if (error == EVREQ_HTTP_DATA_TOO_LONG)
        c->too_large = true;
}

/* Copy the answer into the arena: the request is freed when this returns. */
static void on_done(struct evhttp_request *req, void *arg)
{
    struct call *c = arg;
    event_base_loopexit(c->base, NULL);
    if (!req || c->failed || evhttp_request_get_response_code(req) <= 0)
        return;
    struct http_client_response *rs = c->rs;
    rs->status = evhttp_request_get_response_code(req);
    struct evbuffer *in = evhttp_request_get_input_buffer(req);
    size_t n = evbuffer_get_length(in);
    rs->body = arena_alloc(c->a, n + 1);
    struct evkeyvalq *hs = evhttp_request_get_input_headers(req);
    size_t nh = 0;
    for (struct evkeyval *h = hs->tqh_first; h; h = h->next.tqe_next)
        nh++;
    rs->headers = arena_alloc(c->a, (nh ? nh : 1) * sizeof *rs->headers);
    if (!rs->body || !rs->headers) {
        c->nomem = true;
        return;
    }
    evbuffer_remove(in, rs->body, n);
    rs->body[n] = '\0';
    rs->len = n;
    for (struct evkeyval *h = hs->tqh_first; h; h = h->next.tqe_next) {
        struct http_header *o = &rs->headers[rs->nheaders];
        o->name = arena_strdup(c->a, h->key);
        o->value = arena_strdup(c->a, h->value);
        if (!o->name || !o->value) {
            c->nomem = true;
            return;
        }
        rs->nheaders++;
    }
    c->answered = true;
}

static enum evhttp_cmd_type method_of(const char *m)
{
    if (!strcmp(m, "POST"))
        return EVHTTP_REQ_POST;
    if (!strcmp(m, "PUT"))
        return EVHTTP_REQ_PUT;
    if (!strcmp(m, "PATCH"))
        return EVHTTP_REQ_PATCH;
    if (!strcmp(m, "DELETE"))
        return EVHTTP_REQ_DELETE;
    return EVHTTP_REQ_GET;
}

/* A TLS session that checks the chain (system store or ca_file) and that
 * the certificate names host (a DNS name or an IP address). */
static SSL *tls_new(const char *host, const char *ca_file, SSL_CTX **ctx_r)
{
    SSL_CTX *ctx = SSL_CTX_new(TLS_client_method());
    if (!ctx)
        return NULL;
    SSL_CTX_set_min_proto_version(ctx, TLS1_2_VERSION);
    SSL_CTX_set_verify(ctx, SSL_VERIFY_PEER, NULL);
    int ok = ca_file && *ca_file ? SSL_CTX_load_verify_locations(ctx, ca_file, NULL)
                                 : SSL_CTX_set_default_verify_paths(ctx);
    SSL *ssl = ok == 1 ? SSL_new(ctx) : NULL;
    if (!ssl) {
        SSL_CTX_free(ctx);
        return NULL;
    }
    unsigned char ip[16];
    bool is_ip = inet_pton(AF_INET, host, ip) == 1 || inet_pton(AF_INET6, host, ip) == 1;
    X509_VERIFY_PARAM *vp = SSL_get0_param(ssl);
    if (is_ip ? X509_VERIFY_PARAM_set1_ip_asc(vp, host) != 1
              : SSL_set1_host(ssl, host) != 1 || SSL_set_tlsext_host_name(ssl, host) != 1) {
        SSL_free(ssl);
        SSL_CTX_free(ctx);
        return NULL;
    }
    *ctx_r = ctx;
    return ssl;
}

err http_client_call(arena *a, const struct http_client_request *rq,
                     struct http_client_response *rs)
{
    memset(rs, 0, sizeof *rs);
    struct evhttp_uri *uri = rq->url ? evhttp_uri_parse(rq->url) : NULL;
    const char *scheme = uri ? evhttp_uri_get_scheme(uri) : NULL;
    const char *host = uri ? evhttp_uri_get_host(uri) : NULL;
    bool https = scheme && !strcasecmp(scheme, "https");
    if (!uri || !scheme || (!https && strcasecmp(scheme, "http")) || !host || !*host) {
        if (uri)
            evhttp_uri_free(uri);
        return err_set(E_INPUT, "invalid_url", NULL, "地址格式不正确（应为 http:// 或 https://）");
    }
    /* copied: the URI is freed before the TLS failure is logged */
    if (!(host = arena_strdup(a, host))) {
        evhttp_uri_free(uri);
        return err_set(E_NOMEM, "out_of_memory", NULL, "内存不足");
    }
    int port = evhttp_uri_get_port(uri);
    if (port < 0)
        port = https ? 443 : 80;
    const char *path = evhttp_uri_get_path(uri);
    const char *query = evhttp_uri_get_query(uri);
    char *target =
        arena_printf(a, "%s%s%s", path && *path ? path : "/", query ? "?" : "", query ? query : "");
    bool v6 = strchr(host, ':') != NULL;
    char *hosthdr = (https ? port == 443 : port == 80)
                        ? arena_printf(a, v6 ? "[%s]" : "%s", host)
                        : arena_printf(a, v6 ? "[%s]:%d" : "%s:%d", host, port);
    int timeout_s = rq->timeout_s > 0 ? rq->timeout_s : 10;
    struct call c = {.a = a, .rs = rs, .base = event_base_new()};
    SSL_CTX *ctx = NULL;
    SSL *ssl = NULL;
    struct bufferevent *bev = NULL;
    struct evhttp_connection *conn = NULL;
    struct evhttp_request *req = NULL;
    bool tls_setup_failed = false, sent = false;
    if (!target || !hosthdr || !c.base)
        goto done;
    if (https) {
        ssl = tls_new(host, rq->ca_file, &ctx);
        if (!ssl) {
            tls_setup_failed = true;
            goto done;
        }
        /* the bufferevent owns ssl from here (BEV_OPT_CLOSE_ON_FREE) */
        bev = bufferevent_openssl_socket_new(c.base, -1, ssl, BUFFEREVENT_SSL_CONNECTING,
                                             BEV_OPT_CLOSE_ON_FREE | BEV_OPT_DEFER_CALLBACKS);
        if (!bev) {
            SSL_free(ssl);
            goto done;
        }
        /* many servers close without close_notify after a complete answer */
        bufferevent_openssl_set_allow_dirty_shutdown(bev, 1);
    }
    conn = evhttp_connection_base_bufferevent_new(c.base, NULL, bev, host, (unsigned short)port);
    if (!conn) {
        if (bev)
            bufferevent_free(bev);
        goto done;
    }
    bev = evhttp_connection_get_bufferevent(conn);
    evhttp_connection_set_timeout(conn, timeout_s);
    evhttp_connection_set_retries(conn, 0);
    evhttp_connection_set_max_body_size(
        conn, (ev_ssize_t)(rq->max_body ? rq->max_body : HTTP_CLIENT_BODY_MAX_DEFAULT));
    req = evhttp_request_new(on_done, &c);
    if (!req)
        goto done;
    evhttp_request_set_error_cb(req, on_error);
    struct evkeyvalq *h = evhttp_request_get_output_headers(req);
    evhttp_add_header(h, "Host", hosthdr);
    evhttp_add_header(h, "Connection", "close");
    for (size_t i = 0; i < rq->nheaders; i++)
        evhttp_add_header(h, rq->headers[i].name, rq->headers[i].value);
    if (rq->body && rq->body_len)
        evbuffer_add(evhttp_request_get_output_buffer(req), rq->body, rq->body_len);
    /* evhttp_make_request owns req from here, even when it fails */
    sent = evhttp_make_request(conn, req, method_of(rq->method ? rq->method : "GET"), target) == 0;
    if (sent) {
        /* a backstop for a peer that trickles bytes below the idle timeout */
        struct timeval backstop = {timeout_s + 1, 0};
        event_base_loopexit(c.base, &backstop);
        event_base_dispatch(c.base);
    }
done:;
    unsigned long tls_err = 0;
    if (https && bev && !c.answered)
        tls_err = bufferevent_get_openssl_error(bev);
    if (conn)
        evhttp_connection_free(conn);
    if (ctx)
        SSL_CTX_free(ctx);
    if (c.base)
        event_base_free(c.base);
    evhttp_uri_free(uri);
    if (c.answered)
        return E_OK;
    if (c.nomem)
        return err_set(E_NOMEM, "out_of_memory", NULL, "内存不足");
    if (c.too_large)
        return err_set(E_TOO_LARGE, "http_answer_too_large", NULL, "对方应答过大（超过 %zu 字节）",
                       rq->max_body ? rq->max_body : (size_t)HTTP_CLIENT_BODY_MAX_DEFAULT);
    if (tls_setup_failed)
        return err_set(E_UNAVAILABLE, "http_tls_failed", NULL,
                       "无法建立加密连接（证书文件不可用）");
    if (tls_err) {
        char why[128];
        ERR_error_string_n(tls_err, why, sizeof why);
        log_event(LOG_WARN, "http_client_tls_failed", "host", host, "why", why, NULL);
        return err_set(E_UNAVAILABLE, "http_tls_failed", NULL, "加密连接失败（证书校验未通过）");
    }
    if (c.failed && c.error == EVREQ_HTTP_TIMEOUT)
        return err_set(E_UNAVAILABLE, "http_unreachable", NULL, "对方系统无应答（超过 %d 秒）",
                       timeout_s);
    if (!sent)
        return err_set(E_UNAVAILABLE, "http_unreachable", NULL, "无法发起连接");
    return err_set(E_UNAVAILABLE, "http_unreachable", NULL, "对方系统无法连接");
}

const char *http_client_header(const struct http_client_response *rs, const char *name)
{
    for (size_t i = 0; i < rs->nheaders; i++)
        if (!strcasecmp(rs->headers[i].name, name))
            return rs->headers[i].value;
    return NULL;
}

err http_client_post_json(const char *url, const char *json, int timeout_s, int *status_r)
{
    *status_r = 0;
    /* a private arena: the callers (the SMS driver) run outside any request */
    arena *a = arena_new(4096);
    if (!a)
        return err_set(E_NOMEM, "out_of_memory", NULL, "内存不足");
    static const struct http_header hs[] = {{"Content-Type", "application/json; charset=utf-8"}};
    struct http_client_request rq = {.method = "POST",
                                     .url = url,
                                     .headers = hs,
                                     .nheaders = 1,
                                     .body = json,
                                     .body_len = strlen(json),
                                     .timeout_s = timeout_s,
                                     .max_body = 64 * 1024};
    struct http_client_response rs;
    err e = http_client_call(a, &rq, &rs);
    if (!e)
        *status_r = rs.status;
    arena_free(&a);
    return e;
}
