/*
 * The stream check (线上线下一致性, video.h camera_check_submit): on the
 * import worker's thread, a private libevent base fetches the playlist of
 * every http camera in the caller's scope, at most CHECK_PARALLEL at a
 * time, each within CHECK_TIMEOUT_S seconds and CHECK_BODY_MAX bytes. A
 * 200 reply whose body starts with #EXTM3U is a playlist: online; any other
 * reply, a timeout, a refused connection or (https) a certificate that
 * does not verify for the host: offline. rtsp streams are marked unchecked
 * (the server opens no RTSP session). Redirects are not followed.
 */
#include <event2/event.h>
#include <event2/http.h>
#include <event2/buffer.h>
#include <event2/bufferevent_ssl.h>
#include <event2/dns.h>
#include <openssl/ssl.h>
#include <openssl/x509v3.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <unistd.h>

#include "base/id.h"
#include "base/json.h"
#include "base/log.h"
#include "job/import.h"
#include "job/job.h"
#include "security/audit.h"
#include "video/video.h"

#define CHECK_PARALLEL  32
#define CHECK_TIMEOUT_S 3
#define CHECK_BODY_MAX  (1 << 20)

struct probe {
    struct check *ck;
    const struct camera *c;
    struct evhttp_connection *conn;
    enum camera_state state;
};

/* Certificates https streams are verified against besides the system's
 * (camera_check_set_ca_file); "" none. Set once before serving. */
static char ca_file[512];

err camera_check_set_ca_file(const char *path)
{
    ca_file[0] = '\0';
    if (!path || !*path)
        return E_OK;
    if (strlen(path) >= sizeof ca_file || access(path, R_OK))
        return err_set(E_INPUT, "invalid_value", "FK_VIDEO_CA_FILE",
                       "FK_VIDEO_CA_FILE 应为可读取的 PEM 证书文件");
    snprintf(ca_file, sizeof ca_file, "%s", path);
    return E_OK;
}

struct check {
    struct event_base *base;
    struct evdns_base *dns; /* names resolved without blocking the loop */
    SSL_CTX *tls;           /* https: peer and host name verified */
    struct probe *p;
    size_t n, next, running;
};

static void start_next(struct check *ck);

/* Whether the reply's body starts with the playlist tag (after a BOM). */
static bool playlist(struct evbuffer *b)
{
    unsigned char head[10];
    ev_ssize_t k = evbuffer_copyout(b, head, sizeof head);
    size_t skip = k >= 3 && head[0] == 0xef && head[1] == 0xbb && head[2] == 0xbf ? 3 : 0;
    return k >= (ev_ssize_t)(skip + 7) && !memcmp(head + skip, "#EXTM3U", 7);
}

static void on_reply(struct evhttp_request *req, void *arg)
{
    struct probe *p = arg;
    p->state = req && evhttp_request_get_response_code(req) == 200 &&
                       playlist(evhttp_request_get_input_buffer(req))
                   ? CAMERA_ONLINE
                   : CAMERA_OFFLINE;
    p->ck->running--;
    start_next(p->ck);
}

/* Start one request; false (state offline) when it cannot start. */
static bool probe_start(struct probe *p)
{
    struct evhttp_uri *u = evhttp_uri_parse(p->c->stream_url);
    const char *host = u ? evhttp_uri_get_host(u) : NULL;
    bool ok = false;
    if (host && *host) {
        int port = evhttp_uri_get_port(u);
        const char *path = evhttp_uri_get_path(u), *query = evhttp_uri_get_query(u);
        char target[CAMERA_URL_MAX + 2];
        snprintf(target, sizeof target, "%s%s%s", path && *path ? path : "/", query ? "?" : "",
                 query ? query : "");
        bool tls = !strcasecmp(evhttp_uri_get_scheme(u), "https");
        if (tls) {
            SSL *ssl = p->ck->tls ? SSL_new(p->ck->tls) : NULL;
            struct bufferevent *bev = NULL;
            if (ssl && SSL_set_tlsext_host_name(ssl, host) == 1 && SSL_set1_host(ssl, host) == 1)
                bev =
                    bufferevent_openssl_socket_new(p->ck->base, -1, ssl, BUFFEREVENT_SSL_CONNECTING,
                                                   BEV_OPT_CLOSE_ON_FREE | BEV_OPT_DEFER_CALLBACKS);
            else if (ssl)
                SSL_free(ssl);
            /* the bufferevent owns ssl, the connection the bufferevent */
            p->conn = bev ? evhttp_connection_base_bufferevent_new(p->ck->base, p->ck->dns, bev,
                                                                   host, port < 0 ? 443 : port)
                          : NULL;
        } else {
            p->conn =
                evhttp_connection_base_new(p->ck->base, p->ck->dns, host, port < 0 ? 80 : port);
        }
        struct evhttp_request *req = p->conn ? evhttp_request_new(on_reply, p) : NULL;
        if (req) {
            evhttp_connection_set_timeout(p->conn, CHECK_TIMEOUT_S);
            evhttp_connection_set_retries(p->conn, 0);
            evhttp_connection_set_max_body_size(p->conn, CHECK_BODY_MAX);
            evhttp_add_header(evhttp_request_get_output_headers(req), "Host", host);
            evhttp_add_header(evhttp_request_get_output_headers(req), "User-Agent",
                              "fangkong-camera-check");
            ok = evhttp_make_request(p->conn, req, EVHTTP_REQ_GET, target) == 0;
        }
    }
    if (u)
        evhttp_uri_free(u);
    return ok;
}

static void start_next(struct check *ck)
{
    while (ck->running < CHECK_PARALLEL && ck->next < ck->n) {
        struct probe *p = &ck->p[ck->next++];
        if (p->state != CAMERA_UNKNOWN)
            continue; /* decided without a request */
        if (probe_start(p))
            ck->running++;
        else
            p->state = CAMERA_OFFLINE;
    }
    /* the name server's events would keep the loop running */
    if (!ck->running)
        event_base_loopbreak(ck->base);
}

/* The state each camera's stream is in, into states[0..n). */
static err probe_all(const struct camera *v, size_t n, enum camera_state *states)
{
    struct check ck = {.base = event_base_new(),
                       .tls = SSL_CTX_new(TLS_client_method()),
                       .p = calloc(n ? n : 1, sizeof *ck.p),
                       .n = n};
    err e = ck.base && ck.p && ck.tls ? E_OK : E_NOMEM;
    /* resolv.conf and /etc/hosts; a name server that does not answer
     * costs one 2 s attempt, within the request's own timeout */
    if (!e && !(ck.dns = evdns_base_new(ck.base, EVDNS_BASE_INITIALIZE_NAMESERVERS)))
        e = E_NOMEM;
    if (!e) {
        err_ignore(evdns_base_set_option(ck.dns, "timeout:", "2") ? E_INTERNAL : E_OK);
        err_ignore(evdns_base_set_option(ck.dns, "attempts:", "1") ? E_INTERNAL : E_OK);
        SSL_CTX_set_verify(ck.tls, SSL_VERIFY_PEER, NULL);
        SSL_CTX_set_min_proto_version(ck.tls, TLS1_2_VERSION);
        if (SSL_CTX_set_default_verify_paths(ck.tls) != 1 ||
            (*ca_file && SSL_CTX_load_verify_locations(ck.tls, ca_file, NULL) != 1))
            log_event(LOG_WARN, "camera_check_ca", "file", ca_file, NULL);
    }
    for (size_t i = 0; !e && i < n; i++) {
        ck.p[i] = (struct probe){.ck = &ck, .c = &v[i]};
        if (!strncasecmp(v[i].stream_url, "rtsp://", 7))
            ck.p[i].state = CAMERA_UNCHECKED;
    }
    if (!e) {
        start_next(&ck);
        if (ck.running)
            event_base_dispatch(ck.base);
        for (size_t i = 0; i < n; i++) {
            states[i] = ck.p[i].state == CAMERA_UNKNOWN ? CAMERA_OFFLINE : ck.p[i].state;
            if (ck.p[i].conn)
                evhttp_connection_free(ck.p[i].conn);
        }
    }
    free(ck.p);
    if (ck.dns)
        evdns_base_free(ck.dns, 1);
    if (ck.tls)
        SSL_CTX_free(ck.tls);
    if (ck.base)
        event_base_free(ck.base);
    return e;
}

static err store(db *d, const struct scope *scope, const struct camera *v,
                 const enum camera_state *states, size_t n, int64_t now)
{
    err e = E_OK;
    for (size_t i = 0; !e && i < n; i++) {
        db_stmt *s; /* prepared once, from the cache after */
        if ((e = db_prepare(d,
                            "UPDATE cameras SET state = ?, checked_at = ? WHERE id = ? AND "
                            "deleted_at = 0 AND region_code >= ? AND region_code < ?",
                            &s)))
            break;
        db_bind_text(s, 1, vocab_name(&camera_state_vocab, (size_t)states[i]));
        db_bind_int64(s, 2, now);
        db_bind_int64(s, 3, v[i].id);
        db_bind_int64(s, 4, scope->lo);
        db_bind_int64(s, 5, scope->hi);
        e = db_run(s, NULL);
    }
    return e;
}

static void run_check(db *d, const struct import_upload *j)
{
    arena *a = arena_new(1 << 16); /* the worker thread has no caller's arena to take */
    err e = a ? E_OK : E_NOMEM;
    struct camera *v = NULL;
    size_t n = 0;
    int64_t total;
    struct camera_filter f = {.any_state = true, .sort = "created_at", .page_size = 0};
    if (!e && j->ref) { /* one camera */
        if ((v = arena_alloc(a, sizeof *v)) == NULL)
            e = E_NOMEM;
        else if (!(e = camera_find(d, a, &j->who.scope, j->ref, v)))
            n = 1;
    } else if (!e) {
        e = camera_list(d, a, &j->who.scope, &f, &v, &n, &total);
    }
    enum camera_state *states = NULL;
    if (!e && !(states = arena_alloc(a, (n ? n : 1) * sizeof *states)))
        e = E_NOMEM;
    err_ignore(job_update(d, j->job_id, "running", 0, (int64_t)n, NULL)); /* display only */
    if (!e)
        e = probe_all(v, n, states);
    size_t count[CAMERA_STATE__COUNT] = {0};
    for (size_t i = 0; !e && i < n; i++)
        count[states[i]]++;
    if (!e && !(e = db_begin(d))) {
        e = store(d, &j->who.scope, v, states, n, now_ms());
        char detail[160];
        snprintf(detail, sizeof detail, "total=%zu online=%zu offline=%zu unchecked=%zu", n,
                 count[CAMERA_ONLINE], count[CAMERA_OFFLINE], count[CAMERA_UNCHECKED]);
        if (!e && !(e = import_job_audit(d, j, "camera.check", detail)))
            e = db_commit(d);
        if (e)
            db_rollback(d);
    }
    if (e) {
        import_job_fail(d, j->job_id, "video.camera_check", e);
    } else {
        import_job_done(d, j->job_id, (int64_t)n,
                        json_pack("{s:I,s:I,s:I,s:I}", "total", (json_int_t)n, "online",
                                  (json_int_t)count[CAMERA_ONLINE], "offline",
                                  (json_int_t)count[CAMERA_OFFLINE], "unchecked",
                                  (json_int_t)count[CAMERA_UNCHECKED]));
    }
    arena_free(&a);
}

err camera_check_submit(db *d, int64_t job_id, const struct principal *who, int64_t camera_id)
{
    struct import_upload u = {.job_id = job_id, .who = *who, .ref = camera_id};
    return import_upload_submit(d, &u, run_check);
}
