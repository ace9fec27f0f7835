/*
 * The SOAP front's XML (contract in soap.h): the WSDL, the hardened
 * envelope parser and the answer and Fault writers, over libxml2. No
 * database and no sockets here: soap_api.c does the HTTP side.
 *
 * Why a SAX hook rather than a parser option: libxml2 2.9 has no option
 * that refuses a DOCTYPE, and "no entity substitution" alone still lets a
 * document declare entities (billion laughs expands them through
 * attribute defaults and the tree's entity nodes) or name an external
 * subset. So the parser context's internalSubset callback stops the parse
 * the moment a DOCTYPE is read, before its internal subset is looked at;
 * nothing of a DTD ever exists. The element callbacks count the depth and
 * stop a document nested too deep while it is being read, before the
 * tree grows.
 */
#include "exchange/soap.h"

#include <jansson.h>
#include <pthread.h>
#include <libxml/SAX2.h>
#include <libxml/parser.h>
#include <libxml/parserInternals.h>
#include <libxml/tree.h>
#include <libxml/xmlwriter.h>
#include <stdio.h>
#include <string.h>
#include <strings.h>

/* ---- set-up ---------------------------------------------------------------------- */

/* Whatever a document names (a DTD, an external entity: file://, http://),
 * nothing is loaded. With DOCTYPE refused nothing should ask; this is the
 * second wall. */
static xmlParserInputPtr load_nothing(const char *url, const char *id, xmlParserCtxtPtr ctxt)
{
    (void)url;
    (void)id;
    (void)ctxt;
    return NULL;
}

static void init_once(void)
{
    xmlInitParser();
    xmlSetExternalEntityLoader(load_nothing);
}

void soap_init(void)
{
    static pthread_once_t once = PTHREAD_ONCE_INIT;
    pthread_once(&once, init_once);
}

/* ---- names ------------------------------------------------------------------------- */

static bool is_alnum(char c)
{
    return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9');
}

err soap_op_name(const char *op_name, char *out, size_t cap)
{
    size_t n = 0;
    bool word_start = true;
    for (const char *p = op_name ? op_name : ""; *p; p++) {
        if (!is_alnum(*p)) {
            word_start = true;
            continue;
        }
        if (n + 1 >= cap)
            return err_set(E_INTERNAL, "soap_name_invalid", NULL, "内部错误");
        char c = *p;
        if (word_start && c >= 'a' && c <= 'z')
            c = (char)(c - 'a' + 'A');
        out[n++] = c;
        word_start = false;
    }
    if (n == 0 || (out[0] >= '0' && out[0] <= '9'))
        return err_set(E_INTERNAL, "soap_name_invalid", NULL, "内部错误");
    out[n] = '\0';
    return E_OK;
}

/* ---- writing ------------------------------------------------------------------------ */

/* A libxml2 text writer into a memory buffer. Each call checks the one
 * before it: after the first failure the rest do nothing, and finish()
 * reports it, so the writing code reads as the document it writes. */
struct xw {
    xmlBufferPtr buf;
    xmlTextWriterPtr w;
    bool bad;
};

static bool xw_open(struct xw *x, bool indent)
{
    soap_init();
    x->bad = false;
    x->w = NULL;
    x->buf = xmlBufferCreate();
    if (x->buf)
        x->w = xmlNewTextWriterMemory(x->buf, 0);
    if (!x->w) {
        if (x->buf)
            xmlBufferFree(x->buf);
        return false;
    }
    if (indent && (xmlTextWriterSetIndent(x->w, 1) < 0 ||
                   xmlTextWriterSetIndentString(x->w, BAD_CAST "  ") < 0))
        x->bad = true;
    if (!x->bad && xmlTextWriterStartDocument(x->w, NULL, "UTF-8", NULL) < 0)
        x->bad = true;
    return true;
}

static void xw_start(struct xw *x, const char *name)
{
    if (!x->bad && xmlTextWriterStartElement(x->w, BAD_CAST name) < 0)
        x->bad = true;
}

static void xw_attr(struct xw *x, const char *name, const char *value)
{
    if (!x->bad && xmlTextWriterWriteAttribute(x->w, BAD_CAST name, BAD_CAST value) < 0)
        x->bad = true;
}

static void xw_end(struct xw *x)
{
    if (!x->bad && xmlTextWriterEndElement(x->w) < 0)
        x->bad = true;
}

/* <name>text</name>, the text escaped by the writer. */
static void xw_text(struct xw *x, const char *name, const char *text)
{
    xw_start(x, name);
    if (!x->bad && xmlTextWriterWriteString(x->w, BAD_CAST(text ? text : "")) < 0)
        x->bad = true;
    xw_end(x);
}

/* An empty element with up to two attributes (NULL name: none). */
static void xw_empty(struct xw *x, const char *name, const char *a1, const char *v1, const char *a2,
                     const char *v2)
{
    xw_start(x, name);
    if (a1)
        xw_attr(x, a1, v1);
    if (a2)
        xw_attr(x, a2, v2);
    xw_end(x);
}

/* End the document, copy it into a and free the writer. */
static err xw_finish(struct xw *x, arena *a, char **xml_r, size_t *len_r)
{
    if (!x->bad && xmlTextWriterEndDocument(x->w) < 0)
        x->bad = true;
    xmlFreeTextWriter(x->w); /* flushes into buf */
    err e = E_OK;
    char *out = NULL;
    size_t n = 0;
    if (x->bad) {
        e = err_set(E_INTERNAL, "soap_write_failed", NULL, "内部错误");
    } else {
        n = (size_t)xmlBufferLength(x->buf);
        out = arena_alloc(a, n + 1);
        if (!out) {
            e = err_set(E_NOMEM, "out_of_memory", NULL, "内存不足");
        } else {
            memcpy(out, xmlBufferContent(x->buf), n);
            out[n] = '\0';
        }
    }
    xmlBufferFree(x->buf);
    if (!e) {
        *xml_r = out;
        *len_r = n;
    }
    return e;
}

/* ---- the WSDL -------------------------------------------------------------------------- */

/* xs:element name=… type=… */
static void xs_el(struct xw *x, const char *name, const char *type)
{
    xw_empty(x, "xs:element", "name", name, "type", type);
}

static void xs_el_opt(struct xw *x, const char *name, const char *type)
{
    xw_start(x, "xs:element");
    xw_attr(x, "name", name);
    xw_attr(x, "type", type);
    xw_attr(x, "minOccurs", "0");
    xw_end(x);
}

/* The sequence of a complex type: fields[i] of types[i], optional[i]
 * ones with minOccurs="0". */
static void xs_sequence(struct xw *x, const char *const *fields, const char *const *types,
                        const bool *optional, size_t n)
{
    xw_start(x, "xs:sequence");
    for (size_t i = 0; i < n; i++) {
        if (optional[i])
            xs_el_opt(x, fields[i], types[i]);
        else
            xs_el(x, fields[i], types[i]);
    }
    xw_end(x);
}

static void wsdl_types(struct xw *x, arena *a, const char *const *names, size_t n)
{
    xw_start(x, "wsdl:types");
    xw_start(x, "xs:schema");
    xw_attr(x, "targetNamespace", SOAP_NS);
    xw_attr(x, "elementFormDefault", "qualified");

    /* what every operation takes and answers */
    static const char *const call_f[] = {"query", "body"};
    static const char *const call_t[] = {"xs:string", "xs:string"};
    static const bool call_o[] = {true, true};
    xw_start(x, "xs:complexType");
    xw_attr(x, "name", "Call");
    xs_sequence(x, call_f, call_t, call_o, 2);
    xw_end(x);

    static const char *const ans_f[] = {"status", "body"};
    static const char *const ans_t[] = {"xs:int", "xs:string"};
    static const bool ans_o[] = {false, false};
    xw_start(x, "xs:complexType");
    xw_attr(x, "name", "Answer");
    xs_sequence(x, ans_f, ans_t, ans_o, 2);
    xw_end(x);

    /* the caller's signature fields: the X-Fk-* headers of the HTTP form */
    static const char *const auth_f[] = {"Caller", "Timestamp", "Nonce", "Signature",
                                         "IdempotencyKey"};
    static const char *const auth_t[] = {"xs:string", "xs:string", "xs:string", "xs:string",
                                         "xs:string"};
    static const bool auth_o[] = {false, false, false, false, true};
    xw_start(x, "xs:element");
    xw_attr(x, "name", "Auth");
    xw_start(x, "xs:complexType");
    xs_sequence(x, auth_f, auth_t, auth_o, 5);
    xw_end(x);
    xw_end(x);

    /* the server's signature of its answer, and whether the answer is an
     * idempotent write's first one replayed (HTTP: Idempotency-Replayed) */
    static const char *const srv_f[] = {"Timestamp", "Signature", "Replayed"};
    static const char *const srv_t[] = {"xs:string", "xs:string", "xs:boolean"};
    static const bool srv_o[] = {false, false, true};
    xw_start(x, "xs:element");
    xw_attr(x, "name", "ServerAuth");
    xw_start(x, "xs:complexType");
    xs_sequence(x, srv_f, srv_t, srv_o, 3);
    xw_end(x);
    xw_end(x);

    /* a Fault's detail: the JSON front's error, its status and signed body */
    static const char *const flt_f[] = {"code", "message", "field", "status", "body"};
    static const char *const flt_t[] = {"xs:string", "xs:string", "xs:string", "xs:int",
                                        "xs:string"};
    static const bool flt_o[] = {false, false, true, false, true};
    xw_start(x, "xs:element");
    xw_attr(x, "name", "Fault");
    xw_start(x, "xs:complexType");
    xs_sequence(x, flt_f, flt_t, flt_o, 5);
    xw_end(x);
    xw_end(x);

    for (size_t i = 0; i < n; i++) {
        xs_el(x, names[i], "fk:Call");
        xs_el(x, arena_printf(a, "%sResponse", names[i]), "fk:Answer");
    }
    xw_end(x); /* xs:schema */
    xw_end(x); /* wsdl:types */
}

static void wsdl_message(struct xw *x, const char *name, const char *part, const char *element)
{
    xw_start(x, "wsdl:message");
    xw_attr(x, "name", name);
    xw_empty(x, "wsdl:part", "name", part, "element", element);
    xw_end(x);
}

/* One binding: `p` is the prefix of its SOAP version's WSDL namespace. */
static void wsdl_binding(struct xw *x, arena *a, const char *p, const char *name,
                         const char *const *names, size_t n)
{
    xw_start(x, "wsdl:binding");
    xw_attr(x, "name", name);
    xw_attr(x, "type", "fk:ExchangePortType");
    xw_empty(x, arena_printf(a, "%s:binding", p), "style", "document", "transport",
             "http://schemas.xmlsoap.org/soap/http");
    const char *header = arena_printf(a, "%s:header", p);
    const char *body = arena_printf(a, "%s:body", p);
    for (size_t i = 0; i < n; i++) {
        xw_start(x, "wsdl:operation");
        xw_attr(x, "name", names[i]);
        xw_empty(x, arena_printf(a, "%s:operation", p), "soapAction",
                 arena_printf(a, "%s#%s", SOAP_NS, names[i]), "style", "document");
        xw_start(x, "wsdl:input");
        xw_start(x, header);
        xw_attr(x, "message", "fk:AuthHeader");
        xw_attr(x, "part", "Auth");
        xw_attr(x, "use", "literal");
        xw_end(x);
        xw_empty(x, body, "use", "literal", NULL, NULL);
        xw_end(x);
        xw_start(x, "wsdl:output");
        xw_start(x, header);
        xw_attr(x, "message", "fk:ServerAuthHeader");
        xw_attr(x, "part", "ServerAuth");
        xw_attr(x, "use", "literal");
        xw_end(x);
        xw_empty(x, body, "use", "literal", NULL, NULL);
        xw_end(x);
        xw_start(x, "wsdl:fault");
        xw_attr(x, "name", "ExchangeFault");
        xw_empty(x, arena_printf(a, "%s:fault", p), "name", "ExchangeFault", "use", "literal");
        xw_end(x);
        xw_end(x); /* wsdl:operation */
    }
    xw_end(x);
}

err soap_wsdl(arena *a, const struct exchange_op *const *ops, size_t n, const char *address,
              char **xml_r, size_t *len_r)
{
    /* the operations' names first: a table whose names collide cannot be
     * described, and is a bug of the table */
    const char **names = arena_alloc(a, (n ? n : 1) * sizeof *names);
    if (!names)
        return err_set(E_NOMEM, "out_of_memory", NULL, "内存不足");
    for (size_t i = 0; i < n; i++) {
        char buf[SOAP_NAME_MAX];
        err e = soap_op_name(ops[i]->name, buf, sizeof buf);
        if (e)
            return e;
        names[i] = arena_strdup(a, buf);
        for (size_t j = 0; j < i; j++)
            if (!strcmp(names[j], names[i]))
                return err_set(E_INTERNAL, "soap_name_collision", NULL, "内部错误");
    }

    struct xw x;
    if (!xw_open(&x, true))
        return err_set(E_NOMEM, "out_of_memory", NULL, "内存不足");
    xw_start(&x, "wsdl:definitions");
    xw_attr(&x, "name", "FangkongExchange");
    xw_attr(&x, "targetNamespace", SOAP_NS);
    xw_attr(&x, "xmlns:wsdl", "http://schemas.xmlsoap.org/wsdl/");
    xw_attr(&x, "xmlns:soap", "http://schemas.xmlsoap.org/wsdl/soap/");
    xw_attr(&x, "xmlns:soap12", "http://schemas.xmlsoap.org/wsdl/soap12/");
    xw_attr(&x, "xmlns:xs", "http://www.w3.org/2001/XMLSchema");
    xw_attr(&x, "xmlns:fk", SOAP_NS);
    xw_text(&x, "wsdl:documentation",
            "防疫平台数据共享交换接口（SOAP）。每个操作与 HTTP/JSON 接口的同名操作相同："
            "query 为 HTTP 形式的查询串，body 为 HTTP 形式的 JSON 请求体；"
            "签名字段放在 fk:Auth 头中，签名方式与 HTTP 形式完全相同。");

    wsdl_types(&x, a, names, n);

    wsdl_message(&x, "AuthHeader", "Auth", "fk:Auth");
    wsdl_message(&x, "ServerAuthHeader", "ServerAuth", "fk:ServerAuth");
    wsdl_message(&x, "ExchangeFault", "detail", "fk:Fault");
    for (size_t i = 0; i < n; i++) {
        wsdl_message(&x, arena_printf(a, "%sRequest", names[i]), "parameters",
                     arena_printf(a, "fk:%s", names[i]));
        wsdl_message(&x, arena_printf(a, "%sResponse", names[i]), "parameters",
                     arena_printf(a, "fk:%sResponse", names[i]));
    }

    xw_start(&x, "wsdl:portType");
    xw_attr(&x, "name", "ExchangePortType");
    for (size_t i = 0; i < n; i++) {
        xw_start(&x, "wsdl:operation");
        xw_attr(&x, "name", names[i]);
        xw_text(&x, "wsdl:documentation",
                arena_printf(a, "%s（HTTP 形式：%s %s）", ops[i]->summary ? ops[i]->summary : "",
                             ops[i]->method, ops[i]->path));
        xw_empty(&x, "wsdl:input", "message", arena_printf(a, "fk:%sRequest", names[i]), NULL,
                 NULL);
        xw_empty(&x, "wsdl:output", "message", arena_printf(a, "fk:%sResponse", names[i]), NULL,
                 NULL);
        xw_empty(&x, "wsdl:fault", "name", "ExchangeFault", "message", "fk:ExchangeFault");
        xw_end(&x);
    }
    xw_end(&x);

    wsdl_binding(&x, a, "soap", "ExchangeSoap11", names, n);
    wsdl_binding(&x, a, "soap12", "ExchangeSoap12", names, n);

    xw_start(&x, "wsdl:service");
    xw_attr(&x, "name", "FangkongExchange");
    xw_start(&x, "wsdl:port");
    xw_attr(&x, "name", "ExchangeSoap11");
    xw_attr(&x, "binding", "fk:ExchangeSoap11");
    xw_empty(&x, "soap:address", "location", address, NULL, NULL);
    xw_end(&x);
    xw_start(&x, "wsdl:port");
    xw_attr(&x, "name", "ExchangeSoap12");
    xw_attr(&x, "binding", "fk:ExchangeSoap12");
    xw_empty(&x, "soap12:address", "location", address, NULL, NULL);
    xw_end(&x);
    xw_end(&x);

    xw_end(&x); /* wsdl:definitions */
    return xw_finish(&x, a, xml_r, len_r);
}

/* ---- parsing ------------------------------------------------------------------------------ */

struct pstate {
    int depth;
    bool doctype;
    bool too_deep;
};

static void on_internal_subset(void *ctx, const xmlChar *name, const xmlChar *external_id,
                               const xmlChar *system_id)
{
    (void)name;
    (void)external_id;
    (void)system_id;
    xmlParserCtxtPtr c = ctx;
    ((struct pstate *)c->_private)->doctype = true;
    xmlStopParser(c);
}

static void on_start(void *ctx, const xmlChar *localname, const xmlChar *prefix, const xmlChar *uri,
                     int nb_namespaces, const xmlChar **namespaces, int nb_attributes,
                     int nb_defaulted, const xmlChar **attributes)
{
    xmlParserCtxtPtr c = ctx;
    struct pstate *st = c->_private;
    if (++st->depth > SOAP_MAX_DEPTH) {
        st->too_deep = true;
        xmlStopParser(c);
        return;
    }
    xmlSAX2StartElementNs(ctx, localname, prefix, uri, nb_namespaces, namespaces, nb_attributes,
                          nb_defaulted, attributes);
}

static void on_end(void *ctx, const xmlChar *localname, const xmlChar *prefix, const xmlChar *uri)
{
    xmlParserCtxtPtr c = ctx;
    ((struct pstate *)c->_private)->depth--;
    xmlSAX2EndElementNs(ctx, localname, prefix, uri);
}

static bool media_is(const char *ct, const char *type)
{
    size_t n = strlen(type);
    while (ct && (*ct == ' ' || *ct == '\t'))
        ct++;
    if (!ct || strncasecmp(ct, type, n))
        return false;
    return ct[n] == '\0' || ct[n] == ';' || ct[n] == ' ' || ct[n] == '\t';
}

static bool is_el(const xmlNode *n, const char *ns, const char *name)
{
    return n->type == XML_ELEMENT_NODE && n->ns && n->ns->href &&
           !strcmp((const char *)n->ns->href, ns) && !strcmp((const char *)n->name, name);
}

static err invalid(const char *field, const char *msg)
{
    return err_set(E_INPUT, "soap_envelope_invalid", field, "%s", msg);
}

/*
 * The element children of n, in order, into out (at most max). Text
 * between them must be white space; comments are skipped; anything else
 * (processing instructions, text) makes the envelope invalid.
 */
static err children(const xmlNode *n, const char *field, const xmlNode **out, size_t max,
                    size_t *n_r)
{
    size_t k = 0;
    for (const xmlNode *c = n->children; c; c = c->next) {
        if (c->type == XML_COMMENT_NODE)
            continue;
        if (c->type == XML_TEXT_NODE) {
            for (const xmlChar *p = c->content; p && *p; p++)
                if (*p != ' ' && *p != '\t' && *p != '\r' && *p != '\n')
                    return invalid(field, "SOAP 信封的结构不正确：此处不应有文本");
            continue;
        }
        if (c->type != XML_ELEMENT_NODE)
            return invalid(field, "SOAP 信封的结构不正确");
        if (k == max)
            return invalid(field, "SOAP 信封的结构不正确：元素过多");
        out[k++] = c;
    }
    *n_r = k;
    return E_OK;
}

/* The text of a field element (no element inside), in a. */
static err field_text(arena *a, const xmlNode *n, const char *field, const char **text_r)
{
    for (const xmlNode *c = n->children; c; c = c->next)
        if (c->type != XML_TEXT_NODE && c->type != XML_CDATA_SECTION_NODE &&
            c->type != XML_COMMENT_NODE)
            return invalid(field, "字段只能包含文本");
    xmlChar *t = xmlNodeGetContent(n);
    const char *s = arena_strdup(a, t ? (const char *)t : "");
    xmlFree(t);
    if (!s)
        return err_set(E_NOMEM, "out_of_memory", NULL, "内存不足");
    *text_r = s;
    return E_OK;
}

/* Set *slot from n's text; a second occurrence is refused. */
static err take(arena *a, const xmlNode *n, const char *field, const char **slot)
{
    if (*slot)
        return invalid(field, "字段重复");
    return field_text(a, n, field, slot);
}

static err parse_auth(arena *a, const xmlNode *auth, struct soap_call *c)
{
    static const char *const names[] = {"Caller", "Timestamp", "Nonce", "Signature",
                                        "IdempotencyKey"};
    const char **slots[] = {&c->caller, &c->timestamp, &c->nonce, &c->signature,
                            &c->idempotency_key};
    const xmlNode *kids[8];
    size_t k;
    err e = children(auth, "Auth", kids, 8, &k);
    for (size_t i = 0; !e && i < k; i++) {
        size_t j = 0;
        while (j < 5 && !is_el(kids[i], SOAP_NS, names[j]))
            j++;
        e = j < 5 ? take(a, kids[i], names[j], slots[j]) : invalid("Auth", "签名头中有未知字段");
    }
    return e;
}

/* A header block marked mustUnderstand ("1", or "true" in 1.2). */
static bool must_understand(const xmlNode *n, const char *env_ns)
{
    xmlChar *v = xmlGetNsProp(n, BAD_CAST "mustUnderstand", BAD_CAST env_ns);
    bool yes = v && (!strcmp((const char *)v, "1") || !strcmp((const char *)v, "true"));
    xmlFree(v);
    return yes;
}

static err parse_header(arena *a, const xmlNode *h, const char *env_ns, struct soap_call *c,
                        bool *auth_r)
{
    const xmlNode *kids[16];
    size_t k;
    err e = children(h, "Header", kids, 16, &k);
    for (size_t i = 0; !e && i < k; i++) {
        if (is_el(kids[i], SOAP_NS, "Auth")) {
            if (*auth_r)
                return invalid("Auth", "签名头重复");
            *auth_r = true;
            e = parse_auth(a, kids[i], c);
        } else if (must_understand(kids[i], env_ns)) {
            return err_set(E_INPUT, "soap_must_understand", "Header",
                           "SOAP 头中有必须理解但本平台不支持的元素");
        }
    }
    return e;
}

/* The operation whose NCName is `name`. */
static const struct exchange_op *op_by_ncname(const struct exchange_op *const *ops, size_t nops,
                                              const char *name)
{
    for (size_t i = 0; i < nops; i++) {
        char buf[SOAP_NAME_MAX];
        if (soap_op_name(ops[i]->name, buf, sizeof buf) == E_OK && !strcmp(buf, name))
            return ops[i];
    }
    err_clear(); /* a name that does not fit is a table bug the WSDL reports */
    return NULL;
}

/* The SOAP 1.2 action: the Content-Type's `action` parameter (quotes kept,
 * action_matches removes them), in a; NULL when there is none. */
static const char *ct_action(arena *a, const char *ct)
{
    for (const char *p = ct ? strchr(ct, ';') : NULL; p; p = strchr(p + 1, ';')) {
        const char *q = p + 1;
        while (*q == ' ' || *q == '\t')
            q++;
        if (strncasecmp(q, "action=", 7))
            continue;
        q += 7;
        size_t n = *q == '"' ? strcspn(q + 1, "\"") + 2 : strcspn(q, "; \t");
        return arena_strndup(a, q, n);
    }
    return NULL;
}

/* The action (a 1.1 SOAPAction, a 1.2 action parameter), quotes removed,
 * names this operation (or is empty). */
static bool action_matches(const char *action, const char *name)
{
    if (!action)
        return true;
    size_t n = strlen(action);
    if (n >= 2 && action[0] == '"' && action[n - 1] == '"')
        action++, n -= 2;
    if (n == 0)
        return true;
    size_t ns = strlen(SOAP_NS), nn = strlen(name);
    return n == ns + 1 + nn && !memcmp(action, SOAP_NS, ns) && action[ns] == '#' &&
           !memcmp(action + ns + 1, name, nn);
}

static err parse_body(arena *a, const xmlNode *body, const char *action, enum soap_version v,
                      const struct exchange_op *const *ops, size_t nops, struct soap_call *c)
{
    const xmlNode *kids[2];
    size_t k;
    err e = children(body, "Body", kids, 1, &k);
    if (e)
        return e;
    if (k == 0)
        return invalid("Body", "SOAP 正文中没有操作");
    const xmlNode *opn = kids[0];
    const char *name = (const char *)opn->name;
    c->op = opn->ns && opn->ns->href && !strcmp((const char *)opn->ns->href, SOAP_NS)
                ? op_by_ncname(ops, nops, name)
                : NULL;
    if (!c->op)
        return err_set(E_NOT_FOUND, "soap_operation_unknown", "Body", "请求的操作不存在");
    if (!action_matches(action, name))
        return err_set(E_INPUT, "soap_action_mismatch", v == SOAP_11 ? "SOAPAction" : "action",
                       "SOAPAction 与正文中的操作不一致");
    const xmlNode *fields[3];
    if ((e = children(opn, name, fields, 2, &k)))
        return e;
    for (size_t i = 0; !e && i < k; i++) {
        if (is_el(fields[i], SOAP_NS, "query"))
            e = take(a, fields[i], "query", &c->query);
        else if (is_el(fields[i], SOAP_NS, "body"))
            e = take(a, fields[i], "body", &c->body);
        else
            e = invalid(name, "操作中只能有 query 和 body 两个字段");
    }
    c->body_len = c->body ? strlen(c->body) : 0;
    return e;
}

static err parse_envelope(arena *a, const xmlDoc *doc, const char *action, enum soap_version v,
                          const struct exchange_op *const *ops, size_t nops, struct soap_call *c)
{
    const char *env_ns = v == SOAP_11 ? SOAP11_ENV_NS : SOAP12_ENV_NS;
    const xmlNode *root = xmlDocGetRootElement(doc);
    if (!root || strcmp((const char *)root->name, "Envelope"))
        return invalid("Envelope", "不是 SOAP 信封");
    if (!is_el(root, env_ns, "Envelope"))
        return err_set(E_INPUT, "soap_version_mismatch", "Envelope",
                       v == SOAP_11 ? "SOAP 1.1（text/xml）请求的信封命名空间不正确"
                                    : "SOAP 1.2（application/soap+xml）请求的信封命名空间不正确");
    const xmlNode *kids[3];
    size_t k;
    err e = children(root, "Envelope", kids, 2, &k);
    if (e)
        return e;
    const xmlNode *header = NULL, *body = NULL;
    if (k == 2 && is_el(kids[0], env_ns, "Header") && is_el(kids[1], env_ns, "Body"))
        header = kids[0], body = kids[1];
    else if (k == 1 && is_el(kids[0], env_ns, "Body"))
        body = kids[0];
    if (!body)
        return invalid("Body", "SOAP 信封中没有正文（Body）");
    bool auth = false;
    if (header && (e = parse_header(a, header, env_ns, c, &auth)))
        return e;
    if ((e = parse_body(a, body, action, v, ops, nops, c)))
        return e;
    if (!auth)
        return err_set(E_AUTH, "soap_auth_missing", "Auth", "缺少签名头 fk:Auth");
    return E_OK;
}

err soap_parse(arena *a, const char *content_type, const char *soap_action, const void *xml,
               size_t n, const struct exchange_op *const *ops, size_t nops,
               enum soap_version *version_r, struct soap_call *call_r)
{
    enum soap_version v = SOAP_11;
    if (media_is(content_type, "application/soap+xml"))
        v = SOAP_12;
    *version_r = v;
    if (v == SOAP_11 && !media_is(content_type, "text/xml"))
        return err_set(E_UNSUPPORTED, "soap_content_type", NULL,
                       "SOAP 请求的内容类型须为 text/xml（SOAP 1.1）或 application/soap+xml（SOAP "
                       "1.2）");
    soap_init();
    if (n > SOAP_MAX_ENVELOPE)
        return err_set(E_TOO_LARGE, "xml_too_large", NULL, "SOAP 请求超过 %u KB 的上限",
                       SOAP_MAX_ENVELOPE / 1024);

    xmlParserCtxtPtr ctxt = xmlNewParserCtxt();
    if (!ctxt)
        return err_set(E_NOMEM, "out_of_memory", NULL, "内存不足");
    struct pstate st = {0};
    ctxt->_private = &st;
    ctxt->sax->internalSubset = on_internal_subset;
    ctxt->sax->startElementNs = on_start;
    ctxt->sax->endElementNs = on_end;
    /* no XML_PARSE_NOENT (entities stay unexpanded), no DTDLOAD/DTDATTR/
     * DTDVALID, no HUGE; NONET as the third wall; CDATA merged into text */
    int opts = XML_PARSE_NONET | XML_PARSE_NOCDATA | XML_PARSE_NOERROR | XML_PARSE_NOWARNING;
    xmlDocPtr doc = xmlCtxtReadMemory(ctxt, xml, (int)n, NULL, NULL, opts);
    err e = E_OK;
    if (st.doctype)
        e = err_set(E_INPUT, "xml_doctype_forbidden", NULL,
                    "SOAP 请求中不允许出现文档类型声明（DOCTYPE）");
    else if (st.too_deep)
        e = err_set(E_INPUT, "xml_too_deep", NULL, "SOAP 请求的元素嵌套超过 %d 层", SOAP_MAX_DEPTH);
    else if (!doc || !ctxt->wellFormed)
        e = err_set(E_INPUT, "xml_malformed", NULL, "SOAP 请求不是格式正确的 XML");
    struct soap_call c = {0};
    if (!e)
        e = parse_envelope(a, doc, v == SOAP_11 ? soap_action : ct_action(a, content_type), v, ops,
                           nops, &c);
    xmlFreeDoc(doc);
    xmlFreeParserCtxt(ctxt);
    if (!e)
        *call_r = c;
    return e;
}

/* ---- answers and faults --------------------------------------------------------------------- */

const char *soap_content_type(enum soap_version v)
{
    return v == SOAP_12 ? "application/soap+xml; charset=utf-8" : "text/xml; charset=utf-8";
}

static const char *env_prefix(enum soap_version v)
{
    return v == SOAP_12 ? "env" : "soap";
}

/* <env:Envelope …><env:Header>fk:ServerAuth</env:Header>? <env:Body> */
static void open_envelope(struct xw *x, arena *a, enum soap_version v, const char *timestamp,
                          const char *signature, bool replayed)
{
    const char *p = env_prefix(v);
    xw_start(x, arena_printf(a, "%s:Envelope", p));
    xw_attr(x, arena_printf(a, "xmlns:%s", p), v == SOAP_12 ? SOAP12_ENV_NS : SOAP11_ENV_NS);
    xw_attr(x, "xmlns:fk", SOAP_NS);
    if (signature && *signature) {
        xw_start(x, arena_printf(a, "%s:Header", p));
        xw_start(x, "fk:ServerAuth");
        xw_text(x, "fk:Timestamp", timestamp);
        xw_text(x, "fk:Signature", signature);
        if (replayed)
            xw_text(x, "fk:Replayed", "true");
        xw_end(x);
        xw_end(x);
    }
    xw_start(x, arena_printf(a, "%s:Body", p));
}

static bool slug_is_ncname(const char *s)
{
    if (!s || !(*s >= 'a' && *s <= 'z'))
        return false;
    for (; *s; s++)
        if (!((*s >= 'a' && *s <= 'z') || (*s >= '0' && *s <= '9') || *s == '_'))
            return false;
    return true;
}

/* The Fault element, inside an open Body. */
static void write_fault(struct xw *x, arena *a, enum soap_version v, int status, const char *code,
                        const char *message, const char *field, const char *body)
{
    bool sender = status < 500;
    const char *p = env_prefix(v);
    /* the two SOAP faults the envelope itself can earn, as SOAP names them */
    bool version = code && !strcmp(code, "soap_version_mismatch");
    bool understand = code && !strcmp(code, "soap_must_understand");
    xw_start(x, arena_printf(a, "%s:Fault", p));
    if (v == SOAP_11) {
        xw_text(x, "faultcode",
                arena_printf(a, "soap:%s",
                             version      ? "VersionMismatch"
                             : understand ? "MustUnderstand"
                             : sender     ? "Client"
                                          : "Server"));
        xw_start(x, "faultstring");
        xw_attr(x, "xml:lang", "zh-CN");
        if (!x->bad && xmlTextWriterWriteString(x->w, BAD_CAST message) < 0)
            x->bad = true;
        xw_end(x);
        xw_start(x, "detail");
    } else {
        xw_start(x, "env:Code");
        xw_text(x, "env:Value",
                version      ? "env:VersionMismatch"
                : understand ? "env:MustUnderstand"
                : sender     ? "env:Sender"
                             : "env:Receiver");
        if (slug_is_ncname(code)) {
            xw_start(x, "env:Subcode");
            xw_text(x, "env:Value", arena_printf(a, "fk:%s", code));
            xw_end(x);
        }
        xw_end(x);
        xw_start(x, "env:Reason");
        xw_start(x, "env:Text");
        xw_attr(x, "xml:lang", "zh-CN");
        if (!x->bad && xmlTextWriterWriteString(x->w, BAD_CAST message) < 0)
            x->bad = true;
        xw_end(x);
        xw_end(x);
        xw_start(x, "env:Detail");
    }
    xw_start(x, "fk:Fault");
    xw_text(x, "fk:code", code);
    xw_text(x, "fk:message", message);
    if (field && *field)
        xw_text(x, "fk:field", field);
    xw_text(x, "fk:status", arena_printf(a, "%d", status));
    if (body)
        xw_text(x, "fk:body", body);
    xw_end(x); /* fk:Fault */
    xw_end(x); /* detail */
    xw_end(x); /* Fault */
}

static int fault_http_status(enum soap_version v, int status)
{
    return v == SOAP_12 && status < 500 ? 400 : 500;
}

err soap_fault(arena *a, enum soap_version v, int status, const char *code, const char *message,
               const char *field, char **xml_r, size_t *len_r, int *http_status_r)
{
    struct xw x;
    if (!xw_open(&x, false))
        return err_set(E_NOMEM, "out_of_memory", NULL, "内存不足");
    open_envelope(&x, a, v, NULL, NULL, false);
    write_fault(&x, a, v, status, code ? code : "error", message ? message : "", field, NULL);
    xw_end(&x); /* Body */
    xw_end(&x); /* Envelope */
    err e = xw_finish(&x, a, xml_r, len_r);
    if (!e)
        *http_status_r = fault_http_status(v, status);
    return e;
}

err soap_answer(arena *a, enum soap_version v, const struct exchange_op *op,
                const struct exchange_response *rs, char **xml_r, size_t *len_r, int *http_status_r)
{
    char name[SOAP_NAME_MAX];
    err e = soap_op_name(op->name, name, sizeof name);
    if (e)
        return e;
    const char *body = rs->body ? rs->body : "";
    bool ok = rs->status >= 200 && rs->status < 300;
    /* a refusal's code, message and field, read back from its JSON body */
    const char *code = "error", *message = "请求失败", *field = NULL;
    json_t *parsed = NULL;
    if (!ok) {
        parsed = json_loadb(body, rs->body_len, 0, NULL);
        json_t *er = json_object_get(parsed, "error");
        const char *s;
        if ((s = json_string_value(json_object_get(er, "code"))))
            code = s;
        if ((s = json_string_value(json_object_get(er, "message"))))
            message = s;
        field = json_string_value(json_object_get(er, "field"));
    }
    struct xw x;
    if (!xw_open(&x, false)) {
        json_decref(parsed);
        return err_set(E_NOMEM, "out_of_memory", NULL, "内存不足");
    }
    open_envelope(&x, a, v, rs->timestamp, rs->signature, rs->replayed);
    if (ok) {
        xw_start(&x, arena_printf(a, "fk:%sResponse", name));
        xw_text(&x, "fk:status", arena_printf(a, "%d", rs->status));
        xw_text(&x, "fk:body", body);
        xw_end(&x);
    } else {
        write_fault(&x, a, v, rs->status, code, message, field, body);
    }
    xw_end(&x); /* Body */
    xw_end(&x); /* Envelope */
    e = xw_finish(&x, a, xml_r, len_r);
    json_decref(parsed);
    if (!e)
        *http_status_r = ok ? 200 : fault_http_status(v, rs->status);
    return e;
}
