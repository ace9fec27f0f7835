/*
 * The SOAP front of the exchange (private to exchange/; docs/exchange.md
 * "SOAP"). The same operations as the HTTP/JSON front (exchange_ops_all),
 * carried in SOAP 1.1 or 1.2 envelopes, described by a WSDL 1.1
 * (document/literal) served at GET /exchange/soap?wsdl.
 *
 * An envelope is mapped onto the exchange_request of the equivalent HTTP
 * call: the operation's method and path, the text of <query> and <body>
 * as the query string and body, the fields of the fk:Auth header as the
 * X-Fk-* headers. So a caller signs exactly what it would sign over HTTP
 * (exchange_canonical), and exchange_handle() judges both fronts alike.
 *
 * The XML is parsed by libxml2 hardened against hostile input (see
 * soap_parse) and written by its text writer, never by pasting strings.
 * Everything here is pure (no database, no sockets), so the unit tests and
 * the fuzzer drive it with envelopes; soap_api.c wires it to the router
 * and to exchange_handle().
 */
#ifndef FK_EXCHANGE_SOAP_H
#define FK_EXCHANGE_SOAP_H

#include "exchange/exchange.h"

/* Our namespace: the WSDL's target namespace, and that of fk:Auth, the
 * operation elements and their children. */
#define SOAP_NS       "urn:fangkong:exchange:1"
#define SOAP11_ENV_NS "http://schemas.xmlsoap.org/soap/envelope/"
#define SOAP12_ENV_NS "http://www.w3.org/2003/05/soap-envelope"

/* The largest envelope parsed; the route takes up to twice this so that a
 * larger one is still answered with a Fault (xml_too_large) rather than cut
 * off by the transport. Sized for a batch of 1,000 records as JSON text. */
#define SOAP_MAX_ENVELOPE   (4u << 20)
#define SOAP_ROUTE_MAX_BODY (2 * SOAP_MAX_ENVELOPE)
/* The deepest element nesting accepted: Envelope/Body/Op/body is 4; the
 * margin is for a header block a client adds. */
#define SOAP_MAX_DEPTH 12
/* The longest operation NCName (PersonsPut). */
#define SOAP_NAME_MAX 64

enum soap_version { SOAP_11 = 1, SOAP_12 = 2 };

/* One call as an envelope carried it; strings in the arena, NULL when the
 * element was absent. */
struct soap_call {
    const struct exchange_op *op;
    const char *query;
    const char *body;
    size_t body_len;
    const char *caller, *timestamp, *nonce, *signature, *idempotency_key;
};

/* Set up libxml2 once (its global state, and an entity loader that loads
 * nothing, whatever a document asks for). Every function below calls it;
 * safe from any thread. */
void soap_init(void);

/*
 * The operation's NCName in the WSDL and the envelope: the name's parts
 * between non-alphanumeric characters, each with its first letter in upper
 * case ("persons.put" → "PersonsPut", "risk_areas.changes" →
 * "RiskAreasChanges"). E_INTERNAL when it does not fit in cap or would not
 * be an NCName (empty, or starting with a digit).
 */
err soap_op_name(const char *op_name, char *out, size_t cap) MUST_USE;

/*
 * The WSDL document of ops (n of them) with the service at `address`
 * ("http://host:port/exchange/soap"): types, messages, one port type,
 * bindings for SOAP 1.1 and 1.2, one service with a port for each. In a.
 */
err soap_wsdl(arena *a, const struct exchange_op *const *ops, size_t n, const char *address,
              char **xml_r, size_t *len_r) MUST_USE;

/*
 * Parse one request. The version comes from the Content-Type (text/xml:
 * 1.1, application/soap+xml: 1.2) and is set in *version_r first, so even a
 * refused envelope is answered in its version's Fault. The hardening:
 * a size limit (SOAP_MAX_ENVELOPE) checked before parsing; any DOCTYPE
 * refused the moment the parser meets it (so no entity is ever declared,
 * hence none expanded, and no DTD or external subset is loaded); no
 * network; a depth limit (SOAP_MAX_DEPTH) enforced while parsing; no
 * XML_PARSE_HUGE, so libxml2's own limits stay.
 *
 * Errors (the detail set, *call_r untouched), each with its slug:
 *   415 soap_content_type        neither SOAP media type
 *   413 xml_too_large            over SOAP_MAX_ENVELOPE
 *   400 xml_doctype_forbidden    a DOCTYPE, anywhere before the root
 *   400 xml_too_deep             nesting beyond SOAP_MAX_DEPTH
 *   400 xml_malformed            not well-formed XML
 *   400 soap_version_mismatch    the root is not the Envelope of the
 *                                Content-Type's version
 *   400 soap_envelope_invalid    no Body, other elements where only
 *                                Header and Body belong, a repeated or
 *                                nested field, an operation element with
 *                                anything but query and body
 *   400 soap_must_understand     a header block we do not know that is
 *                                marked mustUnderstand
 *   401 soap_auth_missing        no fk:Auth header block (field Auth)
 *   404 soap_operation_unknown   the Body's element names no operation
 *   400 soap_action_mismatch     an action naming another operation than
 *                                the Body's element (1.1: soap_action, the
 *                                SOAPAction header; 1.2: the Content-Type's
 *                                action parameter)
 */
err soap_parse(arena *a, const char *content_type, const char *soap_action, const void *xml,
               size_t n, const struct exchange_op *const *ops, size_t nops,
               enum soap_version *version_r, struct soap_call *call_r) MUST_USE;

/* The Content-Type of replies in version v. */
const char *soap_content_type(enum soap_version v);

/*
 * The envelope answering a call that reached exchange_handle() with
 * response rs: its header carries fk:ServerAuth (the server's Timestamp
 * and Signature over exchange_canonical_reply of rs->status and rs->body,
 * and Replayed true when rs->replayed, as HTTP's Idempotency-Replayed);
 * a 2xx is the operation's <NameResponse> with status and body; anything
 * else is a Fault whose detail (fk:Fault) holds the error's code, message
 * and field, the HTTP status and the signed body text. *http_status_r is
 * the HTTP status to send: 200; for a Fault 500 in 1.1, in 1.2 400 for a
 * Sender fault and 500 for a Receiver fault (SOAP 1.2 part 2 §7.5.1).
 */
err soap_answer(arena *a, enum soap_version v, const struct exchange_op *op,
                const struct exchange_response *rs, char **xml_r, size_t *len_r,
                int *http_status_r) MUST_USE;

/*
 * A Fault of the front itself (the envelope was refused before any
 * operation ran, so there is nothing signed): `status` is the HTTP status
 * the same refusal has over the JSON front, code/message/field the error's
 * detail (field may be "" or NULL). *http_status_r as in soap_answer.
 */
err soap_fault(arena *a, enum soap_version v, int status, const char *code, const char *message,
               const char *field, char **xml_r, size_t *len_r, int *http_status_r) MUST_USE;

#endif
