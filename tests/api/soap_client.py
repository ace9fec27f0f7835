#!/usr/bin/python3
"""A real SOAP client for the exchange's SOAP front (tests/api/exchange-soap.test.mjs).

python3-zeep (Debian) loads the WSDL the server serves, and calls one operation
with the fk:Auth header the Node test signed (the signature is made by
clients/exchange-client.mjs over the canonical text of the equivalent HTTP call,
exactly as an integrator's code would).

Input on stdin, one JSON object:
  {"wsdl": "http://127.0.0.1:PORT/exchange/soap?wsdl", "operation": "PersonsPut",
   "query": "..." or null, "body": "..." or null,
   "auth": {"Caller": ..., "Timestamp": ..., "Nonce": ..., "Signature": ...,
            "IdempotencyKey": ... or absent},
   "binding": "ExchangeSoap11" (default) or "ExchangeSoap12"}
Output on stdout, one JSON object:
  {"status", "body", "timestamp", "signature", "replayed", "sent"}  for an answer
  {"fault": {"code", "message", "field", "status", "body"}, "timestamp",
   "signature", "sent"}                                       for a Fault
where timestamp, signature and replayed (an idempotent write's first answer
replayed) are the server's fk:ServerAuth, and sent is the
request envelope zeep wrote (the test validates it against the WSDL's schema).

With arguments `schema WSDL ENVELOPE DIR` it instead writes the WSDL's
xs:schema to DIR/schema.xsd and the envelope's header block and operation
element to DIR/auth.xml and DIR/op.xml, for `xmllint --schema` (a SOAP
envelope is validated by its parts: the Envelope's own schema is SOAP's).
"""
import json
import sys

from lxml import etree
from zeep import Client, Settings
from zeep.exceptions import Fault
from zeep.plugins import HistoryPlugin

NS = "urn:fangkong:exchange:1"


def text(el, name):
    found = el.find("{%s}%s" % (NS, name)) if el is not None else None
    return found.text if found is not None else None


def extract(wsdl_path, envelope_path, out):
    parser = etree.XMLParser(resolve_entities=False, no_network=True)
    wsdl = etree.parse(wsdl_path, parser)
    schema = wsdl.find(".//{http://www.w3.org/2001/XMLSchema}schema")
    with open(out + "/schema.xsd", "wb") as f:
        f.write(etree.tostring(schema))
    env = etree.parse(envelope_path, parser).getroot()
    header = next(el for el in env if el.tag.endswith("}Header"))
    body = next(el for el in env if el.tag.endswith("}Body"))
    with open(out + "/auth.xml", "wb") as f:
        f.write(etree.tostring(header.find("{%s}Auth" % NS)))
    with open(out + "/op.xml", "wb") as f:
        f.write(etree.tostring(body[0]))


def main():
    if len(sys.argv) == 5 and sys.argv[1] == "schema":
        extract(sys.argv[2], sys.argv[3], sys.argv[4])
        return
    req = json.load(sys.stdin)
    history = HistoryPlugin()
    # strict parsing, and no DTDs or entities in what the server sends back either
    client = Client(req["wsdl"], plugins=[history], settings=Settings(strict=True, forbid_dtd=True, forbid_entities=True))
    binding = req.get("binding") or "ExchangeSoap11"
    service = client.bind("FangkongExchange", binding)
    auth = client.get_element("{%s}Auth" % NS)(**req["auth"])
    args = {}
    if req.get("query") is not None:
        args["query"] = req["query"]
    if req.get("body") is not None:
        args["body"] = req["body"]
    out = {}
    try:
        result = service[req["operation"]](_soapheaders=[auth], **args)
        out["status"] = result.body.status
        out["body"] = result.body.body
        server = result.header.ServerAuth if result.header is not None else None
        out["timestamp"] = server.Timestamp if server is not None else None
        out["signature"] = server.Signature if server is not None else None
        out["replayed"] = bool(server.Replayed) if server is not None else False
    except Fault as f:
        detail = f.detail.find("{%s}Fault" % NS) if f.detail is not None else None
        status = text(detail, "status")
        out["fault"] = {
            "code": text(detail, "code"),
            "message": f.message,
            "field": text(detail, "field"),
            "status": int(status) if status is not None else None,
            "body": text(detail, "body"),
        }
        received = history.last_received["envelope"]
        server = received.find(".//{%s}ServerAuth" % NS)
        out["timestamp"] = text(server, "Timestamp")
        out["signature"] = text(server, "Signature")
    out["sent"] = etree.tostring(history.last_sent["envelope"], encoding="unicode")
    json.dump(out, sys.stdout, ensure_ascii=False)


if __name__ == "__main__":
    main()
