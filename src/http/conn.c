/*
 * Connections before they become requests: what a client may hold without
 * having proved anything.
 *
 * libevent 2.1 buffers a whole body before the request callback runs and
 * offers no per-request header callback on the server side, so this file
 * watches each connection from accept on, through its own bufferevent
 * (evhttp_set_bevcb) and a callback on its input buffer that sees every
 * byte before evhttp parses it:
 *
 * - per address: FK_MAX_CONN_PER_IP open connections (256; 0: no cap). The
 *   connections beyond are answered 429 `too_many_connections` at their
 *   first request and closed; beyond twice the cap they are closed at once.
 * - deadlines: the request line and headers must arrive within
 *   FK_HEADER_TIMEOUT seconds (10) of accept, or of the first byte after
 *   the previous reply; then the body within FK_BODY_TIMEOUT seconds (60).
 *   A connection past its deadline is answered 408 and closed, however
 *   slowly it keeps sending (the idle timeout alone would let one byte a
 *   minute hold it forever).
 * - declared bodies: at the end of the headers the declared Content-Length
 *   is compared with the route's limit (the route's max_body or the
 *   default; the default for a route that needs a session when the request
 *   carries no credential). Over it, the header is renamed in place to
 *   CONN_TOO_LARGE_HEADER, so evhttp reads no body and the request path
 *   answers 413 and closes. The connection's libevent limit is set to the
 *   same value, which refuses chunked bodies while they are read.
 *
 * Everything here runs on the connection's loop thread, except the
 * per-address table, which all loops share under a mutex.
 */
#include "http/internal.h"

#include <arpa/inet.h>
#include <errno.h>
#include <fcntl.h>
#include <event2/buffer.h>
#include <event2/bufferevent.h>
#include <event2/event.h>
#include <event2/http.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/socket.h>
#include <unistd.h>

#include "base/id.h"

#define CONN_BUCKETS 1024
#define IP_BUCKETS   4096
#define SCAN_MAX     (64u << 10) /* evhttp refuses longer header blocks itself */

enum conn_state {
    C_HEADERS,  /* reading a request line and headers */
    C_BODY,     /* headers done, the body (if any) on its way */
    C_HANDLING, /* the request is with its handler, a deferred reply or a stream */
    C_IDLE,     /* between requests: the idle timeout applies */
};

struct conn {
    struct conn *hnext; /* in the loop's table */
    struct loop *lp;
    struct bufferevent *bev;
    struct evhttp_connection *evcon; /* set when adopted */
    struct evbuffer_cb_entry *watch;
    struct event *deadline;
    struct stream *stream;
    uint32_t ip; /* IPv4, network order; counted in ips[] when `counted` */
    bool counted, refused;
    bool linger; /* answered before its body was read: drain it before closing */
    enum conn_state state;
    /* the request being scanned; offsets are into the input buffer and
     * move back as evhttp drains the lines it parsed */
    size_t line_at, seen;
    long cl_at; /* the Content-Length line, -1: none or already parsed */
    bool got_first_line, credentials;
    enum http_method method;
    long long declared; /* -1: no Content-Length */
    char path[256];
};

struct drain;

struct conn_table {
    struct conn *b[CONN_BUCKETS];
    struct drain *drains; /* lingering closes under way */
};

static int max_per_ip = 256;
static struct timeval header_tv = {10, 0}, body_tv = {60, 0}, refused_tv = {1, 0};
static size_t default_body;

/* ---- connections per address (shared by the loops) ---------------------------- */

struct ip_count {
    struct ip_count *next;
    uint32_t ip;
    int n;
};

static struct ip_count *ips[IP_BUCKETS];
static pthread_mutex_t ips_mu = PTHREAD_MUTEX_INITIALIZER;

static size_t ip_bucket(uint32_t ip)
{
    return ((uint64_t)ip * 0x9E3779B97F4A7C15u) >> (64 - 12);
}

/* Count one more connection of ip; its new count (0: out of memory, not counted). */
static int ip_inc(uint32_t ip)
{
    pthread_mutex_lock(&ips_mu);
    struct ip_count **pp = &ips[ip_bucket(ip)], *e = *pp;
    while (e && e->ip != ip)
        e = e->next;
    if (!e && (e = calloc(1, sizeof *e))) {
        e->ip = ip;
        e->next = *pp;
        *pp = e;
    }
    int n = e ? ++e->n : 0;
    pthread_mutex_unlock(&ips_mu);
    return n;
}

static void ip_dec(uint32_t ip)
{
    pthread_mutex_lock(&ips_mu);
    for (struct ip_count **pp = &ips[ip_bucket(ip)]; *pp; pp = &(*pp)->next) {
        if ((*pp)->ip != ip)
            continue;
        struct ip_count *e = *pp;
        if (--e->n <= 0) {
            *pp = e->next;
            free(e);
        }
        break;
    }
    pthread_mutex_unlock(&ips_mu);
}

/* ---- the loop's table, by libevent connection ---------------------------------- */

static size_t conn_bucket(const struct evhttp_connection *evcon)
{
    return ((uintptr_t)evcon >> 4) % CONN_BUCKETS;
}

struct conn *conn_of(struct loop *lp, struct evhttp_request *req)
{
    struct evhttp_connection *evcon = req ? evhttp_request_get_connection(req) : NULL;
    if (!evcon || !lp->conns)
        return NULL;
    struct conn *c = lp->conns->b[conn_bucket(evcon)];
    while (c && c->evcon != evcon)
        c = c->hnext;
    return c;
}

/* Release what c holds; libevent's connection is gone or going. */
static void conn_forget(struct conn *c)
{
    if (c->evcon) {
        struct conn **pp = &c->lp->conns->b[conn_bucket(c->evcon)];
        while (*pp && *pp != c)
            pp = &(*pp)->hnext;
        if (*pp)
            *pp = c->hnext;
    }
    if (c->watch)
        evbuffer_remove_cb_entry(bufferevent_get_input(c->bev), c->watch);
    if (c->counted)
        ip_dec(c->ip);
    if (c->deadline)
        event_free(c->deadline);
    free(c);
}

/*
 * Lingering close (as nginx does): a client told 413 while it still
 * uploads would see its connection reset, and lose the reply, if the
 * socket were closed with its bytes unread. So the socket outlives the
 * libevent connection on a duplicate descriptor: its writing side is shut
 * (the reply is complete), and what still arrives is read and thrown away
 * for LINGER_S seconds or LINGER_MAX bytes at most.
 */
#define LINGER_S   5
#define LINGER_MAX (64u << 20)

struct drain {
    struct drain *next, *prev;
    struct conn_table *t;
    struct event *ev;
    int fd;
    size_t read;
    uint64_t until_us;
};

static void drain_end(struct drain *l)
{
    if (l->prev)
        l->prev->next = l->next;
    else
        l->t->drains = l->next;
    if (l->next)
        l->next->prev = l->prev;
    event_free(l->ev);
    close(l->fd);
    free(l);
}

static void drain_cb(evutil_socket_t fd, short what, void *arg)
{
    struct drain *l = arg;
    bool done = (what & EV_TIMEOUT) || mono_us() > l->until_us;
    char buf[16384];
    ssize_t n = 0;
    while (!done && (n = recv(fd, buf, sizeof buf, MSG_DONTWAIT)) > 0)
        done = (l->read += (size_t)n) > LINGER_MAX;
    if (!done && n < 0 && errno != EAGAIN && errno != EWOULDBLOCK)
        done = true;
    if (done || n == 0)
        drain_end(l);
}

static void linger_start(struct conn *c)
{
    int fd = bufferevent_getfd(c->bev);
    struct drain *l = fd >= 0 ? calloc(1, sizeof *l) : NULL;
    if (!l)
        return;
    l->fd = fcntl(fd, F_DUPFD_CLOEXEC, 0);
    l->until_us = mono_us() + LINGER_S * 1000000u;
    struct timeval tv = {1, 0};
    if (l->fd < 0 || !(l->ev = event_new(c->lp->base, l->fd, EV_READ | EV_PERSIST, drain_cb, l)) ||
        event_add(l->ev, &tv) != 0) {
        if (l->ev)
            event_free(l->ev);
        if (l->fd >= 0)
            close(l->fd);
        free(l);
        return;
    }
    shutdown(l->fd, SHUT_WR);
    l->t = c->lp->conns;
    l->next = l->t->drains;
    if (l->next)
        l->next->prev = l;
    l->t->drains = l;
}

static void conn_closed(struct evhttp_connection *evcon, void *arg)
{
    (void)evcon;
    struct conn *c = arg;
    if (c->stream)
        stream_closed(c->stream);
    if (c->linger && !http_stopping())
        linger_start(c);
    conn_forget(c);
}

/* Close c now (a deadline, the cap), whatever it was doing. */
static void conn_kill(struct conn *c)
{
    struct evhttp_connection *evcon = c->evcon;
    struct stream *st = c->stream;
    evhttp_connection_set_closecb(evcon, NULL, NULL);
    conn_forget(c);
    if (st)
        stream_closed(st);
    evhttp_connection_free(evcon);
}

/* Write a whole JSON error reply straight to the socket, for a client that
 * is about to be closed and has no request evhttp could answer. Best
 * effort: a full socket buffer drops it. */
static void conn_raw_error(struct conn *c, err code)
{
    json_t *b = http_error_body(code);
    char *body = b ? json_dumps(b, JSON_COMPACT) : NULL;
    json_decref(b);
    if (!body)
        return;
    int status = http_status(code);
    char head[512];
    int n = snprintf(head, sizeof head,
                     "HTTP/1.1 %d %s\r\nContent-Type: application/json; charset=utf-8\r\n"
                     "Content-Length: %zu\r\nConnection: close\r\nCache-Control: no-store\r\n"
                     "X-Content-Type-Options: nosniff\r\n\r\n",
                     status, http_reason(status), strlen(body));
    int fd = bufferevent_getfd(c->bev);
    if (fd >= 0 && n > 0 && (size_t)n < sizeof head &&
        send(fd, head, (size_t)n, MSG_NOSIGNAL | MSG_DONTWAIT) == n)
        (void)send(fd, body, strlen(body), MSG_NOSIGNAL | MSG_DONTWAIT);
    free(body);
}

static void deadline_cb(evutil_socket_t fd, short what, void *arg)
{
    (void)fd;
    (void)what;
    struct conn *c = arg;
    if (c->state != C_HEADERS && c->state != C_BODY)
        return;
    if (!c->refused) {
        err_clear();
        conn_raw_error(
            c, err_set(E_TIMEOUT, "request_timeout", NULL,
                       c->state == C_HEADERS ? "请求头未在时限内收到" : "请求内容未在时限内收到"));
    }
    conn_kill(c);
}

static void arm(struct conn *c, const struct timeval *tv)
{
    event_add(c->deadline, c->refused ? &refused_tv : tv);
}

/* A new request starts at the front of the input buffer. */
static void request_begin(struct conn *c)
{
    c->state = C_HEADERS;
    c->line_at = c->seen = 0;
    c->cl_at = -1;
    c->got_first_line = c->credentials = false;
    c->method = 0;
    c->declared = -1;
    c->path[0] = '\0';
    arm(c, &header_tv);
}

static bool starts_with_ci(const char *s, size_t n, const char *prefix)
{
    size_t k = strlen(prefix);
    return n >= k && !strncasecmp(s, prefix, k);
}

static enum http_method method_named(const char *s, size_t n)
{
    static const struct {
        const char *name;
        enum http_method m;
    } ms[] = {{"GET", M_GET},     {"HEAD", M_GET}, {"POST", M_POST},
              {"PATCH", M_PATCH}, {"PUT", M_PUT},  {"DELETE", M_DELETE}};
    for (size_t i = 0; i < sizeof ms / sizeof ms[0]; i++)
        if (strlen(ms[i].name) == n && !memcmp(ms[i].name, s, n))
            return ms[i].m;
    return 0;
}

static void first_line(struct conn *c, const char *s, size_t n)
{
    size_t m = 0;
    while (m < n && s[m] != ' ')
        m++;
    c->method = method_named(s, m);
    const char *p = s + m + (m < n);
    size_t plen = 0;
    while (p + plen < s + n && p[plen] != ' ' && p[plen] != '?')
        plen++;
    if (plen < sizeof c->path) {
        memcpy(c->path, p, plen);
        c->path[plen] = '\0';
    }
    c->got_first_line = true;
}

static void header_line(struct conn *c, const char *s, size_t n, size_t at)
{
    if (starts_with_ci(s, n, "content-length:")) {
        long long v = 0;
        size_t i = strlen("content-length:");
        while (i < n && (s[i] == ' ' || s[i] == '\t'))
            i++;
        for (; i < n && s[i] >= '0' && s[i] <= '9' && v < (1LL << 50); i++)
            v = v * 10 + (s[i] - '0');
        c->declared = v;
        c->cl_at = (long)at;
    } else if (starts_with_ci(s, n, "authorization:")) {
        c->credentials = true;
    } else if (starts_with_ci(s, n, "cookie:")) {
        c->credentials = c->credentials || memmem(s, n, "fk_session=", 11) != NULL;
    }
}

/* The headers are complete: the body limit of this request. */
static void headers_end(struct conn *c, unsigned char *buf)
{
    const struct route *rt = c->method ? router_find(c->method, c->path) : NULL;
    size_t limit = rt && rt->max_body ? rt->max_body : default_body;
    /* a route that needs a session takes its large limit only from a
     * client that presents a credential at all */
    if (rt && !(rt->flags & ROUTE_PUBLIC) && !c->credentials && limit > default_body)
        limit = default_body;
    if (c->evcon)
        evhttp_connection_set_max_body_size(c->evcon, (ev_ssize_t)limit);
    if (c->declared > (long long)limit && c->cl_at >= 0)
        memcpy(buf + c->cl_at, CONN_TOO_LARGE_HEADER, strlen(CONN_TOO_LARGE_HEADER));
    c->state = C_BODY;
    arm(c, &body_tv);
}

/* Look at the complete lines of the input evhttp has not parsed yet. */
static void scan(struct conn *c, struct evbuffer *in)
{
    size_t len = evbuffer_get_length(in);
    if (len > SCAN_MAX)
        len = SCAN_MAX;
    if (c->seen >= len)
        return;
    unsigned char *p = evbuffer_pullup(in, (ev_ssize_t)len);
    if (!p)
        return;
    while (c->seen < len) {
        unsigned char *nl = memchr(p + c->seen, '\n', len - c->seen);
        if (!nl) {
            c->seen = len;
            return;
        }
        size_t end = (size_t)(nl - p), n = end - c->line_at;
        const char *s = (const char *)p + c->line_at;
        if (n && s[n - 1] == '\r')
            n--;
        size_t at = c->line_at;
        c->line_at = c->seen = end + 1;
        if (!c->got_first_line) {
            if (n) /* evhttp skips blank lines before a request too */
                first_line(c, s, n);
        } else if (n == 0) {
            headers_end(c, p);
            return;
        } else {
            header_line(c, s, n, at);
        }
    }
}

static void input_cb(struct evbuffer *in, const struct evbuffer_cb_info *info, void *arg)
{
    struct conn *c = arg;
    if (info->n_deleted) {
        size_t d = info->n_deleted;
        c->line_at = c->line_at > d ? c->line_at - d : 0;
        c->seen = c->seen > d ? c->seen - d : 0;
        c->cl_at = c->cl_at >= (long)d ? c->cl_at - (long)d : -1;
    }
    if (!info->n_added)
        return;
    if (c->state == C_IDLE)
        request_begin(c);
    if (c->state == C_HEADERS)
        scan(c, in);
}

/* Run once evhttp has set up the connection of c->bev (same pass of the
 * loop as the accept, before any byte is read). */
static void adopt(evutil_socket_t fd, short what, void *arg)
{
    (void)fd;
    (void)what;
    struct conn *c = arg;
    void *cbarg = NULL;
    bufferevent_getcb(c->bev, NULL, NULL, NULL, &cbarg);
    c->evcon = cbarg;
    if (!c->evcon) { /* evhttp could not make the connection: it freed the bufferevent */
        free(c);
        return;
    }
    struct conn **head = &c->lp->conns->b[conn_bucket(c->evcon)];
    c->hnext = *head;
    *head = c;
    evhttp_connection_set_closecb(c->evcon, conn_closed, c);
    if (!(c->deadline = event_new(c->lp->base, -1, 0, deadline_cb, c))) {
        conn_kill(c);
        return;
    }
    struct sockaddr_in sa;
    socklen_t sl = sizeof sa;
    int sfd = bufferevent_getfd(c->bev);
    /* a reply leaves in more than one write (headers, then the body):
     * with Nagle the last segment waits for the client's delayed ACK
     * (40 ms on Linux) on a kept-alive connection */
    int one = 1;
    if (sfd >= 0)
        (void)setsockopt(sfd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof one);
    if (sfd >= 0 && getpeername(sfd, (struct sockaddr *)&sa, &sl) == 0 &&
        sa.sin_family == AF_INET && !http_proxy_trusted_v4(sa.sin_addr.s_addr)) {
        c->ip = sa.sin_addr.s_addr;
        int n = ip_inc(c->ip);
        c->counted = n > 0;
        if (max_per_ip > 0 && n > 2 * max_per_ip) {
            conn_kill(c);
            return;
        }
        c->refused = max_per_ip > 0 && n > max_per_ip;
    }
    request_begin(c);
}

static struct bufferevent *new_bev(struct event_base *base, void *arg)
{
    struct loop *lp = arg;
    struct bufferevent *bev = bufferevent_socket_new(base, -1, BEV_OPT_CLOSE_ON_FREE);
    struct conn *c = bev ? calloc(1, sizeof *c) : NULL;
    if (!c)
        return bev; /* untracked, as before this file existed */
    c->lp = lp;
    c->bev = bev;
    c->state = C_IDLE;
    c->cl_at = -1;
    c->watch = evbuffer_add_cb(bufferevent_get_input(bev), input_cb, c);
    if (!c->watch || event_base_once(base, -1, EV_TIMEOUT, adopt, c, NULL) != 0) {
        if (c->watch)
            evbuffer_remove_cb_entry(bufferevent_get_input(bev), c->watch);
        free(c);
    }
    return bev;
}

void conn_request_started(struct conn *c)
{
    c->state = C_HANDLING;
    event_del(c->deadline);
}

void conn_linger(struct conn *c)
{
    c->linger = true;
}

bool conn_refused(const struct conn *c)
{
    return c->refused;
}

void conn_request_done(struct conn *c)
{
    if (c->state != C_HANDLING)
        return;
    c->state = C_IDLE;
    /* a pipelined request already waiting: evhttp parses it once the
     * reply is written, so look at it now */
    struct evbuffer *in = bufferevent_get_input(c->bev);
    if (evbuffer_get_length(in)) {
        request_begin(c);
        scan(c, in);
    }
}

void conn_set_stream(struct conn *c, struct stream *st)
{
    c->stream = st;
}

static void seconds_env(const char *name, struct timeval *tv)
{
    const char *v = getenv(name);
    if (!v || !*v)
        return;
    char *end;
    double d = strtod(v, &end);
    if (*end || d < 0.1 || d > 86400)
        return;
    tv->tv_sec = (time_t)d;
    tv->tv_usec = (suseconds_t)((d - (double)tv->tv_sec) * 1e6);
}

void conn_configure(const struct server_config *cfg)
{
    default_body = cfg->max_body;
    const char *v = getenv("FK_MAX_CONN_PER_IP");
    if (v && *v) {
        char *end;
        long n = strtol(v, &end, 10);
        if (!*end && n >= 0 && n <= 1000000)
            max_per_ip = (int)n;
    }
    seconds_env("FK_HEADER_TIMEOUT", &header_tv);
    seconds_env("FK_BODY_TIMEOUT", &body_tv);
    if (timercmp(&header_tv, &refused_tv, <))
        refused_tv = header_tv;
}

err conn_loop_init(struct loop *lp)
{
    if (!(lp->conns = calloc(1, sizeof *lp->conns)))
        return err_set(E_NOMEM, NULL, NULL, NULL);
    evhttp_set_bevcb(lp->http, new_bev, lp);
    return E_OK;
}

bool conn_loop_busy(struct loop *lp)
{
    if (!lp->conns)
        return false;
    for (size_t i = 0; i < CONN_BUCKETS; i++)
        for (const struct conn *c = lp->conns->b[i]; c; c = c->hnext)
            if (c->state == C_BODY || c->state == C_HANDLING ||
                (c->state == C_HEADERS && c->seen) ||
                evbuffer_get_length(bufferevent_get_output(c->bev)))
                return true;
    return false;
}

void conn_loop_free(struct loop *lp)
{
    while (lp->conns && lp->conns->drains)
        drain_end(lp->conns->drains);
    free(lp->conns);
    lp->conns = NULL;
}
