/*
 * The SOAP front's envelope parser (exchange/soap.h): any bytes, as SOAP
 * 1.1 or 1.2 (the first byte chooses), are refused with a slug or parsed
 * into a call whose texts are whole; the answer and Fault written for it
 * are well-formed XML that gives the body text back unchanged; nothing
 * crashes, leaks or reads a file.
 */
#include <libxml/parser.h>
#include <libxml/tree.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "base/arena.h"
#include "exchange/soap.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t n);

static err run_nothing(struct exchange_ctx *x, json_t *in, json_t **out_r)
{
    (void)x;
    (void)in;
    (void)out_r;
    return E_INTERNAL;
}

static const struct exchange_op op_put = {
    "persons.put", "POST", "/exchange/v1/persons", DS_PERSONS, true, run_nothing, ""};
static const struct exchange_op op_read = {
    "zones.changes", "GET", "/exchange/v1/zones/changes", DS_ZONES, false, run_nothing, ""};
static const struct exchange_op *const ops[] = {&op_put, &op_read};

/* The text of the first element named `name` under n, malloc'd, or NULL. */
static char *find_text(xmlNode *n, const char *name)
{
    for (; n; n = n->next) {
        if (n->type == XML_ELEMENT_NODE && !strcmp((const char *)n->name, name))
            return (char *)xmlNodeGetContent(n);
        char *t = find_text(n->children, name);
        if (t)
            return t;
    }
    return NULL;
}

static void check_written(const char *xml, size_t len, const char *body)
{
    xmlDocPtr doc = xmlReadMemory(xml, (int)len, NULL, NULL, XML_PARSE_NONET);
    if (!doc)
        abort();
    char *t = find_text(xmlDocGetRootElement(doc), "body");
    if (body && (!t || strcmp(t, body)))
        abort();
    xmlFree(t);
    xmlFreeDoc(doc);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t n)
{
    static int ready;
    if (!ready) {
        soap_init();
        ready = 1;
    }
    if (n == 0)
        return 0;
    static const char *const types[] = {"text/xml; charset=utf-8", "application/soap+xml",
                                        "text/plain"};
    const char *ct = types[data[0] % 3];
    const char *action = data[0] & 4 ? "urn:fangkong:exchange:1#PersonsPut" : NULL;
    /* a private arena: the harness has no request */
    arena *a = arena_new(4096);
    struct soap_call c;
    enum soap_version v;
    err e = soap_parse(a, ct, action, data + 1, n - 1, ops, 2, &v, &c);
    char *xml;
    size_t len;
    int hs;
    if (e) {
        const struct err_detail *d = err_last();
        if (!d->slug[0])
            abort();
        if (soap_fault(a, v, 400, d->slug, d->message, d->field, &xml, &len, &hs) == E_OK)
            check_written(xml, len, NULL);
    } else {
        if (!c.op || (c.body && strlen(c.body) != c.body_len))
            abort();
        /* the parsed body sent back as the answer's body */
        struct exchange_response rs = {.status = 200};
        rs.body = (char *)(c.body ? c.body : "");
        rs.body_len = strlen(rs.body);
        if (soap_answer(a, v, c.op, &rs, &xml, &len, &hs) == E_OK)
            check_written(xml, len, rs.body);
    }
    arena_free(&a);
    return 0;
}
