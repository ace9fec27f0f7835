/*
 * Unit tests of the SOAP front's XML (exchange/soap.h): operation names,
 * the WSDL, the envelope parser fed good and hostile envelopes (each
 * refusal with its own code), and the answer and Fault writers read back
 * by libxml2 so what they escape comes back intact.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <libxml/parser.h>
#include <libxml/xpath.h>
#include <libxml/xpathInternals.h>
#include <stdlib.h>
#include <string.h>

#include "base/arena.h"
#include "exchange/soap.h"

static err run_nothing(struct exchange_ctx *x, json_t *in, json_t **out_r)
{
    (void)x;
    (void)in;
    (void)out_r;
    return E_INTERNAL;
}

static const struct exchange_op op_put = {"persons.put",     "POST", "/exchange/v1/persons",
                                          DS_PERSONS,        true,   run_nothing,
                                          "批量写入人员信息"};
static const struct exchange_op op_changes = {
    "risk_areas.changes",    "GET", "/exchange/v1/risk_areas/changes",
    DS_RISK_AREAS,           false, run_nothing,
    "按变更游标读取风险区域"};
static const struct exchange_op *const ops[] = {&op_put, &op_changes};
#define NOPS 2

#define ENV11 "http://schemas.xmlsoap.org/soap/envelope/"
#define ENV12 "http://www.w3.org/2003/05/soap-envelope"

#define AUTH                                                                                       \
    "<fk:Auth><fk:Caller>123</fk:Caller><fk:Timestamp>1700000000000</fk:Timestamp>"                \
    "<fk:Nonce>abcdefghijklmnop</fk:Nonce><fk:Signature>c2ln</fk:Signature>"                       \
    "<fk:IdempotencyKey>k-1</fk:IdempotencyKey></fk:Auth>"

static const char good11[] =
    "<?xml version=\"1.0\" encoding=\"UTF-8\"?>\n"
    "<soap:Envelope xmlns:soap=\"" ENV11 "\" xmlns:fk=\"urn:fangkong:exchange:1\">\n"
    "  <soap:Header>" AUTH "</soap:Header>\n"
    "  <soap:Body><fk:PersonsPut><fk:query>region=110101&amp;x=1</fk:query>"
    "<fk:body>{\"items\":[{\"name\":\"a&lt;b&amp;c\"}]}</fk:body></fk:PersonsPut></soap:Body>\n"
    "</soap:Envelope>";

static int setup(void **state)
{
    soap_init();
    *state = arena_new(4096);
    return 0;
}

static int teardown(void **state)
{
    arena *a = *state;
    arena_free(&a);
    return 0;
}

/* Parse xml (of the given content type and action); the error's slug or "ok". */
static const char *parse(arena *a, const char *ct, const char *action, const char *xml, size_t n,
                         struct soap_call *c, enum soap_version *v)
{
    err_clear();
    err e = soap_parse(a, ct, action, xml, n, ops, NOPS, v, c);
    return e ? err_last()->slug : "ok";
}

static const char *parse_s(arena *a, const char *xml)
{
    struct soap_call c;
    enum soap_version v;
    return parse(a, "text/xml; charset=utf-8", NULL, xml, strlen(xml), &c, &v);
}

static void test_names(void **state)
{
    (void)state;
    char buf[SOAP_NAME_MAX];
    assert_int_equal(soap_op_name("persons.put", buf, sizeof buf), E_OK);
    assert_string_equal(buf, "PersonsPut");
    assert_int_equal(soap_op_name("risk_areas.changes", buf, sizeof buf), E_OK);
    assert_string_equal(buf, "RiskAreasChanges");
    assert_int_equal(soap_op_name("nat.samples-Bulk.put", buf, sizeof buf), E_OK);
    assert_string_equal(buf, "NatSamplesBulkPut");
    assert_int_equal(soap_op_name("9lives.get", buf, sizeof buf), E_INTERNAL);
    assert_int_equal(soap_op_name("..", buf, sizeof buf), E_INTERNAL);
    assert_int_equal(soap_op_name("", buf, sizeof buf), E_INTERNAL);
    char small[5];
    assert_int_equal(soap_op_name("abcd", small, sizeof small), E_OK);
    assert_int_equal(soap_op_name("abcde", small, sizeof small), E_INTERNAL);
}

/* The number of nodes an XPath finds in doc (namespaces wsdl, xs, fk, soap,
 * soap12, env11, env12). */
static int count(xmlDocPtr doc, const char *xpath)
{
    xmlXPathContextPtr x = xmlXPathNewContext(doc);
    xmlXPathRegisterNs(x, BAD_CAST "wsdl", BAD_CAST "http://schemas.xmlsoap.org/wsdl/");
    xmlXPathRegisterNs(x, BAD_CAST "xs", BAD_CAST "http://www.w3.org/2001/XMLSchema");
    xmlXPathRegisterNs(x, BAD_CAST "fk", BAD_CAST SOAP_NS);
    xmlXPathRegisterNs(x, BAD_CAST "soap", BAD_CAST "http://schemas.xmlsoap.org/wsdl/soap/");
    xmlXPathRegisterNs(x, BAD_CAST "soap12", BAD_CAST "http://schemas.xmlsoap.org/wsdl/soap12/");
    xmlXPathRegisterNs(x, BAD_CAST "env11", BAD_CAST ENV11);
    xmlXPathRegisterNs(x, BAD_CAST "env12", BAD_CAST ENV12);
    xmlXPathObjectPtr r = xmlXPathEvalExpression(BAD_CAST xpath, x);
    int n = r && r->nodesetval ? r->nodesetval->nodeNr : -1;
    xmlXPathFreeObject(r);
    xmlXPathFreeContext(x);
    return n;
}

/* The string value of an XPath in doc, malloc'd. */
static char *value(xmlDocPtr doc, const char *xpath)
{
    xmlXPathContextPtr x = xmlXPathNewContext(doc);
    xmlXPathRegisterNs(x, BAD_CAST "fk", BAD_CAST SOAP_NS);
    xmlXPathRegisterNs(x, BAD_CAST "env11", BAD_CAST ENV11);
    xmlXPathRegisterNs(x, BAD_CAST "env12", BAD_CAST ENV12);
    xmlXPathRegisterNs(x, BAD_CAST "soap", BAD_CAST "http://schemas.xmlsoap.org/wsdl/soap/");
    xmlXPathObjectPtr r = xmlXPathEvalExpression(BAD_CAST xpath, x);
    xmlChar *s = xmlXPathCastToString(r);
    char *out = strdup((const char *)s);
    xmlFree(s);
    xmlXPathFreeObject(r);
    xmlXPathFreeContext(x);
    return out;
}

/* The string value of xpath in doc is want (a macro: a failure names its line). */
#define assert_xpath(doc, xpath, want)                                                             \
    do {                                                                                           \
        char *got_ = value(doc, xpath);                                                            \
        assert_string_equal(got_, want);                                                           \
        free(got_);                                                                                \
    } while (0)

static void test_wsdl(void **state)
{
    arena *a = *state;
    char *xml;
    size_t n;
    /* an address with characters the writer must escape */
    assert_int_equal(soap_wsdl(a, ops, NOPS, "http://h:1/exchange/soap?a=1&b=<2>", &xml, &n), E_OK);
    assert_int_equal(strlen(xml), n);
    xmlDocPtr doc = xmlReadMemory(xml, (int)n, NULL, NULL, XML_PARSE_NONET);
    assert_non_null(doc);
    assert_int_equal(count(doc, "/wsdl:definitions/wsdl:portType/wsdl:operation"), 2);
    assert_int_equal(count(doc, "//wsdl:portType/wsdl:operation[@name='PersonsPut']"), 1);
    assert_int_equal(count(doc, "//wsdl:portType/wsdl:operation[@name='RiskAreasChanges']"), 1);
    assert_int_equal(count(doc, "//xs:schema/xs:element[@name='PersonsPutResponse']"), 1);
    assert_int_equal(count(doc, "//xs:schema/xs:element[@name='Auth']//xs:element"), 5);
    assert_int_equal(count(doc, "//wsdl:binding"), 2);
    assert_int_equal(count(doc, "//wsdl:binding[@name='ExchangeSoap11']/wsdl:operation"), 2);
    assert_int_equal(count(doc, "//wsdl:binding[@name='ExchangeSoap12']/soap12:binding"), 1);
    assert_int_equal(
        count(doc, "//soap:operation[@soapAction='urn:fangkong:exchange:1#PersonsPut']"), 1);
    char *loc = value(doc, "string(//soap:address/@location)");
    assert_string_equal(loc, "http://h:1/exchange/soap?a=1&b=<2>");
    free(loc);
    xmlFreeDoc(doc);

    /* a table whose names collide cannot be described */
    static const struct exchange_op dup = {"persons_put", "POST",      "/x", DS_PERSONS,
                                           true,          run_nothing, ""};
    const struct exchange_op *const bad[] = {&op_put, &dup};
    assert_int_equal(soap_wsdl(a, bad, 2, "http://h/", &xml, &n), E_INTERNAL);
    assert_string_equal(err_last()->slug, "soap_name_collision");
    /* no operations still makes a document */
    assert_int_equal(soap_wsdl(a, ops, 0, "http://h/", &xml, &n), E_OK);
}

static void test_parse_good(void **state)
{
    arena *a = *state;
    struct soap_call c;
    enum soap_version v;
    assert_string_equal(parse(a, "text/xml; charset=utf-8",
                              "\"urn:fangkong:exchange:1#PersonsPut\"", good11, strlen(good11), &c,
                              &v),
                        "ok");
    assert_int_equal(v, SOAP_11);
    assert_ptr_equal(c.op, &op_put);
    assert_string_equal(c.query, "region=110101&x=1");
    assert_string_equal(c.body, "{\"items\":[{\"name\":\"a<b&c\"}]}");
    assert_int_equal(c.body_len, strlen(c.body));
    assert_string_equal(c.caller, "123");
    assert_string_equal(c.timestamp, "1700000000000");
    assert_string_equal(c.nonce, "abcdefghijklmnop");
    assert_string_equal(c.signature, "c2ln");
    assert_string_equal(c.idempotency_key, "k-1");

    /* SOAP 1.2, CDATA, a comment, no query, a header block we ignore */
    static const char good12[] =
        "<env:Envelope xmlns:env=\"" ENV12 "\" xmlns:fk=\"urn:fangkong:exchange:1\">"
        "<env:Header><x:Trace xmlns:x=\"urn:other\">1</x:Trace>" AUTH "</env:Header>"
        "<env:Body><!-- read --><fk:RiskAreasChanges><fk:body><![CDATA[{\"a\":\"<&>\"}]]></fk:body>"
        "</fk:RiskAreasChanges></env:Body></env:Envelope>";
    assert_string_equal(parse(a,
                              "application/soap+xml; charset=utf-8; "
                              "action=\"urn:fangkong:exchange:1#RiskAreasChanges\"",
                              NULL, good12, strlen(good12), &c, &v),
                        "ok");
    /* the 1.2 action parameter naming another operation, quoted or not */
    assert_string_equal(parse(a,
                              "application/soap+xml;action=\"urn:fangkong:exchange:1#PersonsPut\"",
                              NULL, good12, strlen(good12), &c, &v),
                        "soap_action_mismatch");
    assert_string_equal(err_last()->field, "action");
    assert_string_equal(parse(a, "application/soap+xml; action=urn:fangkong:exchange:1#PersonsPut",
                              NULL, good12, strlen(good12), &c, &v),
                        "soap_action_mismatch");
    assert_string_equal(
        parse(
            a,
            "application/soap+xml; action=urn:fangkong:exchange:1#RiskAreasChanges; charset=utf-8",
            NULL, good12, strlen(good12), &c, &v),
        "ok");
    assert_int_equal(v, SOAP_12);
    assert_ptr_equal(c.op, &op_changes);
    assert_null(c.query);
    assert_string_equal(c.body, "{\"a\":\"<&>\"}");

    /* an empty SOAPAction, and an Auth without IdempotencyKey */
    static const char no_key[] =
        "<s:Envelope xmlns:s=\"" ENV11 "\" xmlns:fk=\"urn:fangkong:exchange:1\"><s:Header><fk:Auth>"
        "<fk:Caller>1</fk:Caller></fk:Auth></s:Header><s:Body><fk:PersonsPut/></s:Body>"
        "</s:Envelope>";
    assert_string_equal(parse(a, "text/xml", "\"\"", no_key, strlen(no_key), &c, &v), "ok");
    assert_null(c.idempotency_key);
    assert_null(c.body);
    assert_int_equal(c.body_len, 0);
}

static void test_parse_refusals(void **state)
{
    arena *a = *state;
    struct soap_call c;
    enum soap_version v;
    /* content types */
    assert_string_equal(parse(a, "application/json", NULL, good11, strlen(good11), &c, &v),
                        "soap_content_type");
    assert_string_equal(parse(a, NULL, NULL, good11, strlen(good11), &c, &v), "soap_content_type");
    assert_string_equal(parse(a, "text/xmlx", NULL, good11, strlen(good11), &c, &v),
                        "soap_content_type");
    /* a 1.1 envelope sent as 1.2, and the other way round */
    assert_string_equal(parse(a, "application/soap+xml", NULL, good11, strlen(good11), &c, &v),
                        "soap_version_mismatch");
    assert_int_equal(v, SOAP_12);
    assert_string_equal(parse_s(a, "<e:Envelope xmlns:e=\"urn:wrong\"><e:Body/></e:Envelope>"),
                        "soap_version_mismatch");
    /* SOAPAction naming another operation */
    assert_string_equal(parse(a, "text/xml", "urn:fangkong:exchange:1#RiskAreasChanges", good11,
                              strlen(good11), &c, &v),
                        "soap_action_mismatch");
    assert_string_equal(
        parse(a, "text/xml", "urn:fangkong:exchange:1#PersonsPutX", good11, strlen(good11), &c, &v),
        "soap_action_mismatch");
    /* not XML, empty, truncated */
    assert_string_equal(parse_s(a, "{\"not\":\"xml\"}"), "xml_malformed");
    assert_string_equal(parse_s(a, ""), "xml_malformed");
    assert_string_equal(parse(a, "text/xml", NULL, good11, strlen(good11) - 5, &c, &v),
                        "xml_malformed");
    /* an entity that was never declared (no DTD may declare one) */
    assert_string_equal(parse_s(a, "<s:Envelope xmlns:s=\"" ENV11 "\"><s:Body>&xxe;</s:Body>"
                                   "</s:Envelope>"),
                        "xml_malformed");
    /* structure */
    assert_string_equal(parse_s(a, "<Envelope/>"), "soap_version_mismatch");
    assert_string_equal(parse_s(a, "<s:Letter xmlns:s=\"" ENV11 "\"/>"), "soap_envelope_invalid");
    assert_string_equal(parse_s(a, "<s:Envelope xmlns:s=\"" ENV11 "\"/>"), "soap_envelope_invalid");
    assert_string_equal(parse_s(a, "<s:Envelope xmlns:s=\"" ENV11 "\"><s:Header/></s:Envelope>"),
                        "soap_envelope_invalid");
    assert_string_equal(parse_s(a, "<s:Envelope xmlns:s=\"" ENV11 "\"><s:Body/><s:Header/>"
                                   "</s:Envelope>"),
                        "soap_envelope_invalid");
    assert_string_equal(parse_s(a, "<s:Envelope xmlns:s=\"" ENV11 "\">text<s:Body/></s:Envelope>"),
                        "soap_envelope_invalid");
    assert_string_equal(parse_s(a, "<s:Envelope xmlns:s=\"" ENV11 "\"><s:Body/></s:Envelope>"),
                        "soap_envelope_invalid");
#define ENV(header, body)                                                                          \
    "<s:Envelope xmlns:s=\"" ENV11 "\" xmlns:fk=\"urn:fangkong:exchange:1\"><s:Header>" header     \
    "</s:Header><s:Body>" body "</s:Body></s:Envelope>"
    assert_string_equal(parse_s(a, ENV(AUTH, "<fk:PersonsPut/><fk:PersonsPut/>")),
                        "soap_envelope_invalid");
    assert_string_equal(parse_s(a, ENV(AUTH, "<fk:NoSuchThing/>")), "soap_operation_unknown");
    assert_string_equal(parse_s(a, ENV(AUTH, "<x:PersonsPut xmlns:x=\"urn:x\"/>")),
                        "soap_operation_unknown");
    assert_string_equal(parse_s(a, ENV(AUTH, "<PersonsPut/>")), "soap_operation_unknown");
    assert_string_equal(parse_s(a, ENV("", "<fk:PersonsPut/>")), "soap_auth_missing");
    assert_int_equal(err_last()->code, E_AUTH);
    assert_string_equal(parse_s(a, ENV(AUTH AUTH, "<fk:PersonsPut/>")), "soap_envelope_invalid");
    assert_string_equal(
        parse_s(a, ENV("<fk:Auth><fk:Caller>1</fk:Caller><fk:Caller>2</fk:Caller></fk:Auth>",
                       "<fk:PersonsPut/>")),
        "soap_envelope_invalid");
    assert_string_equal(
        parse_s(a, ENV("<fk:Auth><fk:Role>admin</fk:Role></fk:Auth>", "<fk:PersonsPut/>")),
        "soap_envelope_invalid");
    assert_string_equal(
        parse_s(a, ENV(AUTH, "<fk:PersonsPut><fk:body>{}</fk:body><fk:body>{}</fk:body>"
                             "</fk:PersonsPut>")),
        "soap_envelope_invalid");
    assert_string_equal(
        parse_s(a, ENV(AUTH, "<fk:PersonsPut><fk:body><fk:x>1</fk:x></fk:body></fk:PersonsPut>")),
        "soap_envelope_invalid");
    assert_string_equal(
        parse_s(a, ENV(AUTH, "<fk:PersonsPut><fk:extra>1</fk:extra></fk:PersonsPut>")),
        "soap_envelope_invalid");
    assert_string_equal(parse_s(a, ENV(AUTH, "<?pi x?><fk:PersonsPut/>")), "soap_envelope_invalid");
    /* a header block we do not know, marked mustUnderstand; unmarked it is ignored */
    assert_string_equal(
        parse_s(a, ENV("<x:T xmlns:x=\"urn:x\" s:mustUnderstand=\"1\"/>" AUTH, "<fk:PersonsPut/>")),
        "soap_must_understand");
    assert_string_equal(
        parse_s(a, ENV("<x:T xmlns:x=\"urn:x\" s:mustUnderstand=\"0\"/>" AUTH, "<fk:PersonsPut/>")),
        "ok");
#undef ENV
}

/* The attacks: each refused with its own code before anything of it is used. */
static void test_parse_attacks(void **state)
{
    arena *a = *state;
    static const char laughs[] =
        "<?xml version=\"1.0\"?>\n<!DOCTYPE lolz [\n<!ENTITY lol \"lol\">\n"
        "<!ENTITY lol1 \"&lol;&lol;&lol;&lol;&lol;&lol;&lol;&lol;&lol;&lol;\">\n"
        "<!ENTITY lol2 \"&lol1;&lol1;&lol1;&lol1;&lol1;&lol1;&lol1;&lol1;&lol1;&lol1;\">\n"
        "<!ENTITY lol3 \"&lol2;&lol2;&lol2;&lol2;&lol2;&lol2;&lol2;&lol2;&lol2;&lol2;\">\n"
        "]>\n<s:Envelope xmlns:s=\"" ENV11 "\" xmlns:fk=\"urn:fangkong:exchange:1\"><s:Header>" AUTH
        "</s:Header><s:Body><fk:PersonsPut><fk:body>&lol3;</fk:body></fk:PersonsPut></s:Body>"
        "</s:Envelope>";
    assert_string_equal(parse_s(a, laughs), "xml_doctype_forbidden");
    assert_int_equal(err_last()->code, E_INPUT);
    static const char xxe_file[] =
        "<!DOCTYPE s:Envelope [<!ENTITY x SYSTEM \"file:///etc/passwd\">]>"
        "<s:Envelope xmlns:s=\"" ENV11 "\"><s:Body>&x;</s:Body></s:Envelope>";
    assert_string_equal(parse_s(a, xxe_file), "xml_doctype_forbidden");
    static const char xxe_http[] = "<!DOCTYPE s:Envelope SYSTEM \"http://127.0.0.1:9/evil.dtd\">"
                                   "<s:Envelope xmlns:s=\"" ENV11 "\"><s:Body/></s:Envelope>";
    assert_string_equal(parse_s(a, xxe_http), "xml_doctype_forbidden");
    /* a parameter entity, and a bare DOCTYPE with nothing in it */
    assert_string_equal(parse_s(a, "<!DOCTYPE x [<!ENTITY % p SYSTEM \"file:///etc/passwd\"> %p;]>"
                                   "<x/>"),
                        "xml_doctype_forbidden");
    assert_string_equal(parse_s(a, "<!DOCTYPE x><x/>"), "xml_doctype_forbidden");
    /* positive control: the same envelope without its DOCTYPE is a good one */
    const char *plain = strstr(laughs, "<s:Envelope");
    char *fixed = arena_strdup(a, plain);
    char *amp = strstr(fixed, "&lol3;");
    memcpy(amp, "{}    ", 6);
    assert_string_equal(parse_s(a, fixed), "ok");

    /* deep nesting: just over the limit, and far over it */
    size_t depth = SOAP_MAX_DEPTH + 1;
    char *deep = arena_alloc(a, depth * 7 + 1);
    size_t off = 0;
    for (size_t i = 0; i < depth; i++)
        off += (size_t)snprintf(deep + off, 8, "<a>");
    for (size_t i = 0; i < depth; i++)
        off += (size_t)snprintf(deep + off, 8, "</a>");
    assert_string_equal(parse_s(a, deep), "xml_too_deep");
    depth = 100000;
    deep = arena_alloc(a, depth * 3 + 1);
    for (size_t i = 0; i < depth; i++)
        memcpy(deep + 3 * i, "<a>", 3);
    deep[depth * 3] = '\0';
    assert_string_equal(parse_s(a, deep), "xml_too_deep");
    /* exactly at the limit is fine as XML (and then not an envelope) */
    depth = SOAP_MAX_DEPTH;
    deep = arena_alloc(a, depth * 7 + 1);
    off = 0;
    for (size_t i = 0; i < depth; i++)
        off += (size_t)snprintf(deep + off, 8, "<a>");
    for (size_t i = 0; i < depth; i++)
        off += (size_t)snprintf(deep + off, 8, "</a>");
    assert_string_equal(parse_s(a, deep), "soap_envelope_invalid");

    /* oversized: refused before parsing */
    size_t big = SOAP_MAX_ENVELOPE + 1;
    char *huge = malloc(big + 1);
    memset(huge, ' ', big);
    memcpy(huge, good11, strlen(good11));
    huge[big] = '\0';
    struct soap_call c;
    enum soap_version v;
    assert_string_equal(parse(a, "text/xml", NULL, huge, big, &c, &v), "xml_too_large");
    assert_int_equal(err_last()->code, E_TOO_LARGE);
    /* at the limit it is parsed (white space after the root is allowed) */
    assert_string_equal(parse(a, "text/xml", NULL, huge, big - 1, &c, &v), "ok");
    free(huge);
}

static xmlDocPtr read_back(const char *xml, size_t n)
{
    xmlDocPtr doc = xmlReadMemory(xml, (int)n, NULL, NULL, XML_PARSE_NONET);
    assert_non_null(doc);
    return doc;
}

static void test_answer(void **state)
{
    arena *a = *state;
    struct exchange_response rs = {.status = 200};
    rs.body = arena_strdup(a, "{\"items\":[{\"name\":\"<&>\\\"\"}]}");
    rs.body_len = strlen(rs.body);
    memcpy(rs.timestamp, "1700000000001", 14);
    memcpy(rs.signature, "c2lnbmF0dXJl", 13);
    char *xml;
    size_t n;
    int hs;
    assert_int_equal(soap_answer(a, SOAP_11, &op_put, &rs, &xml, &n, &hs), E_OK);
    assert_int_equal(hs, 200);
    xmlDocPtr doc = read_back(xml, n);
    char *s = value(doc, "string(/env11:Envelope/env11:Body/fk:PersonsPutResponse/fk:body)");
    assert_string_equal(s, rs.body);
    free(s);
    assert_xpath(doc, "string(//fk:PersonsPutResponse/fk:status)", "200");
    assert_xpath(doc, "string(/env11:Envelope/env11:Header/fk:ServerAuth/fk:Signature)",
                 "c2lnbmF0dXJl");
    assert_xpath(doc, "string(//fk:ServerAuth/fk:Timestamp)", "1700000000001");
    assert_int_equal(count(doc, "//fk:ServerAuth/fk:Replayed"), 0);
    xmlFreeDoc(doc);
    /* an idempotent write's first answer, replayed, says so */
    rs.replayed = true;
    assert_int_equal(soap_answer(a, SOAP_11, &op_put, &rs, &xml, &n, &hs), E_OK);
    doc = read_back(xml, n);
    assert_xpath(doc, "string(//fk:ServerAuth/fk:Replayed)", "true");
    xmlFreeDoc(doc);
    rs.replayed = false;

    /* a refusal: a Fault whose detail is the JSON error, signed */
    rs.status = 401;
    rs.body = arena_strdup(a, "{\"error\":{\"code\":\"signature_invalid\",\"message\":\"签名无效<"
                              "\",\"field\":\"X-Fk-Signature\"}}");
    rs.body_len = strlen(rs.body);
    assert_int_equal(soap_answer(a, SOAP_11, &op_put, &rs, &xml, &n, &hs), E_OK);
    assert_int_equal(hs, 500);
    doc = read_back(xml, n);
    assert_xpath(doc, "string(//env11:Fault/faultcode)", "soap:Client");
    assert_xpath(doc, "string(//env11:Fault/faultstring)", "签名无效<");
    assert_xpath(doc, "string(//env11:Fault/detail/fk:Fault/fk:code)", "signature_invalid");
    assert_xpath(doc, "string(//fk:Fault/fk:field)", "X-Fk-Signature");
    assert_xpath(doc, "string(//fk:Fault/fk:status)", "401");
    assert_xpath(doc, "string(//fk:Fault/fk:body)", rs.body);
    assert_xpath(doc, "string(//fk:ServerAuth/fk:Signature)", "c2lnbmF0dXJl");
    xmlFreeDoc(doc);

    /* 1.2: Sender with our code as the subcode, HTTP 400; a 503 is Receiver, 500 */
    assert_int_equal(soap_answer(a, SOAP_12, &op_put, &rs, &xml, &n, &hs), E_OK);
    assert_int_equal(hs, 400);
    doc = read_back(xml, n);
    assert_xpath(doc, "string(//env12:Fault/env12:Code/env12:Value)", "env:Sender");
    assert_xpath(doc, "string(//env12:Fault/env12:Code/env12:Subcode/env12:Value)",
                 "fk:signature_invalid");
    assert_xpath(doc, "string(//env12:Fault/env12:Reason/env12:Text)", "签名无效<");
    xmlFreeDoc(doc);
    rs.status = 503;
    rs.body = arena_strdup(a, "not json");
    rs.body_len = strlen(rs.body);
    assert_int_equal(soap_answer(a, SOAP_12, &op_put, &rs, &xml, &n, &hs), E_OK);
    assert_int_equal(hs, 500);
    doc = read_back(xml, n);
    assert_xpath(doc, "string(//env12:Fault/env12:Code/env12:Value)", "env:Receiver");
    assert_xpath(doc, "string(//fk:Fault/fk:code)", "error");
    xmlFreeDoc(doc);
}

static void test_fault(void **state)
{
    arena *a = *state;
    char *xml;
    size_t n;
    int hs;
    assert_int_equal(soap_fault(a, SOAP_11, 400, "xml_doctype_forbidden", "不允许 <!DOCTYPE>", NULL,
                                &xml, &n, &hs),
                     E_OK);
    assert_int_equal(hs, 500);
    xmlDocPtr doc = read_back(xml, n);
    assert_int_equal(count(doc, "/env11:Envelope/env11:Header"), 0);
    char *s = value(doc, "string(//fk:Fault/fk:code)");
    assert_string_equal(s, "xml_doctype_forbidden");
    free(s);
    assert_xpath(doc, "string(//faultstring)", "不允许 <!DOCTYPE>");
    assert_int_equal(count(doc, "//fk:Fault/fk:field"), 0);
    xmlFreeDoc(doc);

    assert_int_equal(
        soap_fault(a, SOAP_11, 400, "soap_version_mismatch", "版本", "Envelope", &xml, &n, &hs),
        E_OK);
    doc = read_back(xml, n);
    assert_xpath(doc, "string(//faultcode)", "soap:VersionMismatch");
    xmlFreeDoc(doc);
    assert_int_equal(
        soap_fault(a, SOAP_12, 400, "soap_must_understand", "头", "Header", &xml, &n, &hs), E_OK);
    assert_int_equal(hs, 400);
    doc = read_back(xml, n);
    assert_xpath(doc, "string(//env12:Code/env12:Value)", "env:MustUnderstand");
    assert_xpath(doc, "string(//fk:Fault/fk:field)", "Header");
    xmlFreeDoc(doc);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_names),
        cmocka_unit_test_setup_teardown(test_wsdl, setup, teardown),
        cmocka_unit_test_setup_teardown(test_parse_good, setup, teardown),
        cmocka_unit_test_setup_teardown(test_parse_refusals, setup, teardown),
        cmocka_unit_test_setup_teardown(test_parse_attacks, setup, teardown),
        cmocka_unit_test_setup_teardown(test_answer, setup, teardown),
        cmocka_unit_test_setup_teardown(test_fault, setup, teardown),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
