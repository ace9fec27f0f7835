/*
 * Unit tests of the outbound HTTP client (http/client.h) against a small
 * libevent server on a thread of this test: an answer's status, body and
 * headers (a 4xx is an answer, not an error), the request's method, body
 * and headers as sent, the body size limit, a server that never answers
 * (the timeout), nobody listening, and URLs that are not http(s).
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <arpa/inet.h>
#include <event2/buffer.h>
#include <event2/event.h>
#include <event2/http.h>
#include <netinet/in.h>
#include <pthread.h>
#include <string.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

#include "http/client.h"

struct server {
    struct event_base *base;
    struct evhttp *http;
    int port;
    /* what the last request carried */
    char method[8], path[128], body[256], token[64];
    size_t answer_len; /* bytes of the answer's body */
};

static void server_cb(struct evhttp_request *req, void *arg)
{
    struct server *s = arg;
    enum evhttp_cmd_type m = evhttp_request_get_command(req);
    snprintf(s->method, sizeof s->method, "%s",
             m == EVHTTP_REQ_POST  ? "POST"
             : m == EVHTTP_REQ_GET ? "GET"
                                   : "other");
    snprintf(s->path, sizeof s->path, "%s", evhttp_request_get_uri(req));
    struct evbuffer *in = evhttp_request_get_input_buffer(req);
    size_t n = evbuffer_get_length(in);
    if (n >= sizeof s->body)
        n = sizeof s->body - 1;
    evbuffer_remove(in, s->body, n);
    s->body[n] = '\0';
    const char *t = evhttp_find_header(evhttp_request_get_input_headers(req), "X-Token");
    snprintf(s->token, sizeof s->token, "%s", t ? t : "");
    struct evbuffer *out = evbuffer_new();
    for (size_t i = 0; i < s->answer_len; i++)
        evbuffer_add(out, "x", 1);
    evhttp_add_header(evhttp_request_get_output_headers(req), "X-Answer", "yes");
    evhttp_send_reply(req, strstr(s->path, "missing") ? 404 : 200, "X", out);
    evbuffer_free(out);
    struct timeval tv = {0, 100000};
    event_base_loopexit(s->base, &tv);
}

static void *server_run(void *arg)
{
    struct server *s = arg;
    event_base_dispatch(s->base);
    return NULL;
}

static void server_start(struct server *s, size_t answer_len, pthread_t *th)
{
    memset(s, 0, sizeof *s);
    s->answer_len = answer_len;
    s->base = event_base_new();
    s->http = evhttp_new(s->base);
    struct evhttp_bound_socket *bs = evhttp_bind_socket_with_handle(s->http, "127.0.0.1", 0);
    assert_non_null(bs);
    struct sockaddr_in sa;
    socklen_t len = sizeof sa;
    assert_int_equal(getsockname(evhttp_bound_socket_get_fd(bs), (struct sockaddr *)&sa, &len), 0);
    s->port = ntohs(sa.sin_port);
    evhttp_set_gencb(s->http, server_cb, s);
    assert_int_equal(pthread_create(th, NULL, server_run, s), 0);
}

static void server_stop(struct server *s, pthread_t th)
{
    pthread_join(th, NULL);
    evhttp_free(s->http);
    event_base_free(s->base);
}

static void expect_err(err got, err code, const char *slug)
{
    assert_int_equal(got, code);
    assert_string_equal(err_last()->slug, slug);
}

static void test_answer(void **state)
{
    (void)state;
    struct server s;
    pthread_t th;
    server_start(&s, 5, &th);
    arena *a = arena_new(4096);
    char url[128];
    snprintf(url, sizeof url, "http://127.0.0.1:%d/a/b?x=1&y=2", s.port);
    struct http_header hs[] = {{"X-Token", "t-1"}, {"Content-Type", "application/json"}};
    struct http_client_request rq = {.method = "POST",
                                     .url = url,
                                     .headers = hs,
                                     .nheaders = 2,
                                     .body = "{\"k\":1}",
                                     .body_len = 7,
                                     .timeout_s = 5};
    struct http_client_response rs;
    assert_int_equal(http_client_call(a, &rq, &rs), E_OK);
    server_stop(&s, th);
    assert_int_equal(rs.status, 200);
    assert_int_equal(rs.len, 5);
    assert_string_equal(rs.body, "xxxxx");
    assert_string_equal(http_client_header(&rs, "x-answer"), "yes"); /* any case */
    assert_null(http_client_header(&rs, "X-Absent"));
    assert_string_equal(s.method, "POST");
    assert_string_equal(s.path, "/a/b?x=1&y=2");
    assert_string_equal(s.body, "{\"k\":1}");
    assert_string_equal(s.token, "t-1");

    /* a refusal is an answer */
    server_start(&s, 0, &th);
    snprintf(url, sizeof url, "http://127.0.0.1:%d/missing", s.port);
    rq = (struct http_client_request){.method = "GET", .url = url, .timeout_s = 5};
    assert_int_equal(http_client_call(a, &rq, &rs), E_OK);
    server_stop(&s, th);
    assert_int_equal(rs.status, 404);
    assert_int_equal(rs.len, 0);
    assert_string_equal(rs.body, "");
    assert_string_equal(s.method, "GET");
    arena_free(&a);
}

static void test_body_limit(void **state)
{
    (void)state;
    struct server s;
    pthread_t th;
    server_start(&s, 2000, &th);
    arena *a = arena_new(4096);
    char url[128];
    snprintf(url, sizeof url, "http://127.0.0.1:%d/big", s.port);
    struct http_client_request rq = {.method = "GET", .url = url, .timeout_s = 5, .max_body = 1000};
    struct http_client_response rs;
    expect_err(http_client_call(a, &rq, &rs), E_TOO_LARGE, "http_answer_too_large");
    server_stop(&s, th);
    /* the same answer within the limit (positive control) */
    server_start(&s, 2000, &th);
    snprintf(url, sizeof url, "http://127.0.0.1:%d/big", s.port);
    rq.max_body = 2000;
    assert_int_equal(http_client_call(a, &rq, &rs), E_OK);
    server_stop(&s, th);
    assert_int_equal(rs.len, 2000);
    arena_free(&a);
}

static void test_unreachable(void **state)
{
    (void)state;
    arena *a = arena_new(4096);
    struct http_client_response rs;
    /* a socket that listens and never answers: the timeout ends the call */
    int fd = socket(AF_INET, SOCK_STREAM, 0);
    struct sockaddr_in sa = {.sin_family = AF_INET, .sin_addr.s_addr = htonl(INADDR_LOOPBACK)};
    assert_int_equal(bind(fd, (struct sockaddr *)&sa, sizeof sa), 0);
    assert_int_equal(listen(fd, 4), 0);
    socklen_t len = sizeof sa;
    assert_int_equal(getsockname(fd, (struct sockaddr *)&sa, &len), 0);
    char url[128];
    snprintf(url, sizeof url, "http://127.0.0.1:%d/", ntohs(sa.sin_port));
    struct http_client_request rq = {.method = "GET", .url = url, .timeout_s = 1};
    struct timespec t0, t1;
    clock_gettime(CLOCK_MONOTONIC, &t0);
    expect_err(http_client_call(a, &rq, &rs), E_UNAVAILABLE, "http_unreachable");
    clock_gettime(CLOCK_MONOTONIC, &t1);
    double took = (double)(t1.tv_sec - t0.tv_sec) + (double)(t1.tv_nsec - t0.tv_nsec) / 1e9;
    assert_true(took >= 0.9 && took < 4.0);
    assert_int_equal(rs.status, 0);
    close(fd); /* nobody listens now */
    expect_err(http_client_call(a, &rq, &rs), E_UNAVAILABLE, "http_unreachable");

    const char *bad[] = {"ftp://127.0.0.1/", "127.0.0.1:80/", "http:///x", "", NULL};
    for (int i = 0; bad[i]; i++) {
        rq.url = bad[i];
        expect_err(http_client_call(a, &rq, &rs), E_INPUT, "invalid_url");
    }
    rq.url = NULL;
    expect_err(http_client_call(a, &rq, &rs), E_INPUT, "invalid_url");
    arena_free(&a);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_answer),
        cmocka_unit_test(test_body_limit),
        cmocka_unit_test(test_unreachable),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
