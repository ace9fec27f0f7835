/*
 * HTTP handlers of the SOAP front (soap.h; docs/exchange.md "SOAP"):
 *
 *   GET  /exchange/soap?wsdl   the WSDL of every registered operation, its
 *                              service address from the request's Host
 *   POST /exchange/soap        one call in a SOAP 1.1 (text/xml) or 1.2
 *                              (application/soap+xml) envelope
 *
 * Both are public routes: a SOAP call proves who sends it by its
 * signature, exactly as the HTTP/JSON front, because the envelope becomes
 * the equivalent HTTP call's exchange_request and exchange_handle() judges
 * it. An envelope refused before that (not XML, a DOCTYPE, no Auth, ...)
 * changes nothing, is answered with its Fault and is counted like any
 * other call (exchange_record_call). Writes run on the exchange's writer
 * thread (api.c), as the JSON front's do, so a batch of a thousand records
 * never holds an event loop.
 */
#include <string.h>
#include <strings.h>

#include "app.h"
#include "base/id.h"
#include "exchange/exchange.h"
#include "exchange/internal.h"
#include "exchange/soap.h"

/* A Host value we are willing to write into the WSDL: a name or address
 * and a port, nothing that could end the URL or the attribute. */
static bool host_ok(const char *h)
{
    size_t n = h ? strlen(h) : 0;
    if (n == 0 || n > 255)
        return false;
    for (const char *p = h; *p; p++)
        if (!((*p >= 'a' && *p <= 'z') || (*p >= 'A' && *p <= 'Z') || (*p >= '0' && *p <= '9') ||
              *p == '.' || *p == '-' || *p == ':' || *p == '[' || *p == ']'))
            return false;
    return true;
}

static err get_wsdl(struct req *r)
{
    const char *path, *q;
    req_raw_uri(r, &path, &q);
    if (!q || strcasecmp(q, "wsdl"))
        return err_set(E_NOT_FOUND, "not_found", NULL, "SOAP 接口的描述请访问 /exchange/soap?wsdl");
    const char *host = req_header(r, "Host");
    if (!host_ok(host))
        return err_set(E_INPUT, "invalid_host", "Host", "请求头 Host 不正确");
    /* behind a TLS-terminating proxy the address callers use is https */
    const char *proto = req_header(r, "X-Forwarded-Proto");
    const char *scheme = proto && !strcasecmp(proto, "https") ? "https" : "http";
    size_t n;
    const struct exchange_op *const *ops = exchange_ops_all(&n);
    char *xml;
    size_t len;
    err e = soap_wsdl(r->a, ops, n, arena_printf(r->a, "%s://%s/exchange/soap", scheme, host), &xml,
                      &len);
    return e ? e : reply_bytes(r, 200, "text/xml; charset=utf-8", xml, len);
}

/* Answer an envelope refused before any operation ran with its Fault, and
 * count it. A server-side failure does not describe itself (http/status.c). */
static err refuse(struct req *r, enum soap_version v, err e, uint64_t t0)
{
    const struct err_detail *d = err_last();
    int status = http_status(e);
    bool detailed = d->code == e && d->slug[0] && (status < 500 || e == E_UNAVAILABLE);
    const char *code = arena_strdup(r->a, detailed ? d->slug : err_slug(e));
    const char *message = arena_strdup(r->a, detailed ? d->message : err_message(e));
    const char *field = detailed ? arena_strdup(r->a, d->field) : NULL;
    struct exchange_call_record rec = {.front = "soap",
                                       .op = "",
                                       .dataset = -1,
                                       .status = status,
                                       .result = code,
                                       .latency_us = (int64_t)(mono_us() - t0)};
    exchange_record_call(&rec);
    char *xml;
    size_t len;
    int hs;
    err we = soap_fault(r->a, v, status, code, message, field, &xml, &len, &hs);
    return we ? we : reply_bytes(r, hs, soap_content_type(v), xml, len);
}

static err post_call(struct req *r)
{
    uint64_t t0 = mono_us();
    size_t n, nops;
    const char *xml = req_raw_body(r, &n);
    const struct exchange_op *const *ops = exchange_ops_all(&nops);
    enum soap_version v = SOAP_11;
    struct soap_call c;
    err e = soap_parse(r->a, req_header(r, "Content-Type"), req_header(r, "SOAPAction"), xml, n,
                       ops, nops, &v, &c);
    if (e)
        return refuse(r, v, e, t0);
    /* the equivalent HTTP call: what the caller signed */
    struct exchange_request rq = {.front = "soap",
                                  .method = c.op->method,
                                  .path = c.op->path,
                                  .query = c.query,
                                  .body = c.body,
                                  .body_len = c.body_len,
                                  .caller = c.caller,
                                  .timestamp = c.timestamp,
                                  .nonce = c.nonce,
                                  .signature = c.signature,
                                  .idempotency_key = c.idempotency_key,
                                  .ip = r->ip};
    if ((c.op->write || c.op->offload) && exchange_writer_submit(r, &rq, v, c.op) == E_OK)
        return E_OK; /* answered by the writer, as the JSON front's writes */
    struct exchange_response rs = {0};
    exchange_handle(r->db, r->a, &rq, &rs);
    char *out;
    size_t len;
    int hs;
    if ((e = soap_answer(r->a, v, c.op, &rs, &out, &len, &hs)))
        return e;
    return reply_bytes(r, hs, soap_content_type(v), out, len);
}

const struct route exchange_soap_routes[] = {
    {M_GET, "/exchange/soap", get_wsdl, PERM_NONE, ROUTE_PUBLIC, NULL,
     "数据交换 SOAP 接口的 WSDL（?wsdl）", "exchange", 0},
    {M_POST, "/exchange/soap", post_call, PERM_NONE, ROUTE_PUBLIC | ROUTE_RAW_BODY, NULL,
     "数据交换 SOAP 1.1/1.2 调用（签名字段在 fk:Auth 头中）", "exchange", SOAP_ROUTE_MAX_BODY},
};
const size_t exchange_soap_routes_n = sizeof exchange_soap_routes / sizeof *exchange_soap_routes;
