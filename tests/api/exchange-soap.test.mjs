// The exchange's SOAP front (issue 13 "SOAP 1.1/1.2", docs/exchange.md "SOAP",
// src/exchange/soap.c): a real SOAP client (python3-zeep, loading the WSDL the
// server serves) calls operations with signatures made by the Node client's
// canonical form of the equivalent HTTP call; a hand-built SOAP 1.2 envelope
// does the same; the WSDL is well-formed and the envelope zeep sent validates
// against its schema; and the attacks (malformed envelopes, billion laughs,
// external entities over file:// and http://, an oversized envelope, deep
// nesting, a forged signature, a replayed nonce) are each answered with their
// Fault code and change nothing: no record written, no nonce spent — the same
// signed envelope sent clean afterwards still succeeds (the positive control).
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import fs from 'node:fs';
import http from 'node:http';
import path from 'node:path';
import { startCityWith, sqlRun } from './lib.mjs';
import { ExchangeClient, canonicalReply, verify, sign, canonical, H } from '../../clients/exchange-client.mjs';

const PW = 'Exchange-2024!pw';
const S1 = '110101001000'; // 东华门街道
const S1_C1 = '110101001001';
const NS = 'urn:fangkong:exchange:1';
const ENV11 = 'http://schemas.xmlsoap.org/soap/envelope/';
const ENV12 = 'http://www.w3.org/2003/05/soap-envelope';
const PY = '/usr/bin/python3'; // Debian's, where python3-zeep is installed
const SOAP_CLIENT = path.resolve('tests/api/soap_client.py');

let ctx, caller, serverKey;
const one = (sql) => sqlRun(ctx, sql).trim();
const siteCount = () => Number(one("SELECT COUNT(*) FROM nat_sites WHERE source_key LIKE 'S-%'"));
const site = (id, key) => ({ id, op: 'upsert', key, site: { name: `SOAP点位${key}`, kind: 'fixed', region_code: S1_C1 } });

// The fk:Auth fields of a call, signed over the equivalent HTTP call.
function auth(op, { query = '', body = '', idempotencyKey, nonce, privateKeyPem } = {}) {
  const h = caller.client.headers({ method: op.method, path: op.path, query, body, idempotencyKey, nonce, privateKeyPem });
  const a = { Caller: h[H.caller], Timestamp: h[H.timestamp], Nonce: h[H.nonce], Signature: h[H.signature] };
  if (idempotencyKey) a.IdempotencyKey = idempotencyKey;
  return a;
}

const PING = { name: 'Ping', method: 'GET', path: '/exchange/v1/ping' };
const SITES = { name: 'NatSites', method: 'POST', path: '/exchange/v1/nat/sites' };

// python3-zeep: one call through the served WSDL.
function zeep(req) {
  const out = execFileSync(PY, [SOAP_CLIENT], { input: JSON.stringify({ wsdl: ctx.url + '/exchange/soap?wsdl', ...req }), encoding: 'utf8' });
  return JSON.parse(out);
}

const esc = (s) => String(s).replace(/&/g, '&amp;').replace(/</g, '&lt;').replace(/>/g, '&gt;');
const unesc = (s) => s.replace(/&lt;/g, '<').replace(/&gt;/g, '>').replace(/&quot;/g, '"').replace(/&apos;/g, "'").replace(/&#13;/g, '\r').replace(/&amp;/g, '&');

// A hand-built envelope (version 11 or 12).
function envelope(v, opName, fields, { query, body, prolog = '', header = '', noAuth = false } = {}) {
  const a = noAuth ? '' : `<fk:Auth>${Object.entries(fields).map(([k, x]) => `<fk:${k}>${esc(x)}</fk:${k}>`).join('')}</fk:Auth>`;
  const q = query != null ? `<fk:query>${esc(query)}</fk:query>` : '';
  const b = body != null ? `<fk:body>${esc(body)}</fk:body>` : '';
  return `<?xml version="1.0" encoding="UTF-8"?>\n${prolog}<s:Envelope xmlns:s="${v === 12 ? ENV12 : ENV11}" xmlns:fk="${NS}">` +
    `<s:Header>${header}${a}</s:Header><s:Body><fk:${opName}>${q}${b}</fk:${opName}></s:Body></s:Envelope>`;
}

// The text of the first fk:<name> element of an answer, unescaped.
const field = (xml, name) => {
  const m = xml.match(new RegExp(`<fk:${name}>([\\s\\S]*?)</fk:${name}>`));
  return m ? unesc(m[1]) : undefined;
};

async function postSoap(xml, v = 11, headers = {}) {
  const r = await fetch(ctx.url + '/exchange/soap', {
    method: 'POST',
    headers: { 'content-type': v === 12 ? 'application/soap+xml; charset=utf-8' : 'text/xml; charset=utf-8', ...headers },
    body: xml,
  });
  const text = await r.text();
  return { status: r.status, ctype: r.headers.get('content-type'), text, code: field(text, 'code'), faultStatus: field(text, 'status') };
}

// A refusal: the Fault of its version with our code, nothing signed when the
// envelope never reached the operation layer.
function expectFault(r, v, code, status) {
  assert.equal(r.code, code, r.text);
  assert.equal(r.faultStatus, String(status), r.text);
  if (v === 11) {
    assert.equal(r.status, 500);
    assert.match(r.ctype, /^text\/xml/);
    const soapCode = { soap_version_mismatch: 'VersionMismatch', soap_must_understand: 'MustUnderstand' }[code] ?? (status >= 500 ? 'Server' : 'Client');
    assert.match(r.text, new RegExp(`<faultcode>soap:${soapCode}</faultcode>`));
  } else {
    assert.equal(r.status, status >= 500 ? 500 : 400);
    assert.match(r.ctype, /^application\/soap\+xml/);
    assert.match(r.text, new RegExp(`<env:Subcode><env:Value>fk:${code}</env:Value>`));
  }
}

before(async () => {
  // idle connections kept 10 minutes, not 60 s: zeep runs in execFileSync,
  // which blocks node's loop, and two runs on a loaded machine took 62-82 s;
  // the server then closed fetch's pooled connection unseen, and the next
  // fetch on it failed ("fetch failed", load average 26-35)
  ctx = await startCityWith({}, PW, { env: { FK_IDLE_TIMEOUT: '600' } });
  const keyFile = path.join(ctx.dir, 'soap-caller.pem');
  const id = ctx.must(['exchange', 'caller', 'add', '--name', 'SOAP接入系统', '--org', '测试单位', '--region', S1, '--read', '', '--write', 'nat', '--key-out', keyFile]).trim();
  assert.match(id, /^\d+$/);
  caller = { id, privateKeyPem: fs.readFileSync(keyFile, 'utf8') };
  caller.client = new ExchangeClient({ base: ctx.url, caller: id, privateKeyPem: caller.privateKeyPem });
  serverKey = await caller.client.serverKey();
});

after(async () => {
  await ctx?.stop();
});

test('the WSDL lists every operation, is well-formed, and names this server', async () => {
  const r = await fetch(ctx.url + '/exchange/soap?wsdl');
  assert.equal(r.status, 200);
  assert.match(r.headers.get('content-type'), /^text\/xml/);
  const wsdl = await r.text();
  const file = path.join(ctx.dir, 'exchange.wsdl');
  fs.writeFileSync(file, wsdl);
  execFileSync('xmllint', ['--noout', '--nonet', file]); // throws when not well-formed
  for (const op of ['Ping', 'NatSites', 'NatPlans', 'NatSamples', 'NatClockins', 'NatTransport'])
    assert.match(wsdl, new RegExp(`<wsdl:operation name="${op}">`), op);
  assert.match(wsdl, new RegExp(`<soap:address location="http://127\\.0\\.0\\.1:${ctx.port}/exchange/soap"/>`));
  assert.match(wsdl, new RegExp(`<soap12:address location="http://127\\.0\\.0\\.1:${ctx.port}/exchange/soap"/>`));
  // the address follows Host; a Host that could break out of it is refused
  // (node:http: fetch will not send another Host)
  const withHost = (host) => new Promise((ok, fail) => {
    http.get({ host: '127.0.0.1', port: ctx.port, path: '/exchange/soap?WSDL', headers: { host } }, (res) => {
      let t = '';
      res.setEncoding('utf8');
      res.on('data', (c) => (t += c));
      res.on('end', () => ok({ status: res.statusCode, text: t }));
    }).on('error', fail);
  });
  let h = await withHost('exchange.example.gov.cn:8443');
  assert.equal(h.status, 200);
  assert.match(h.text, /location="http:\/\/exchange\.example\.gov\.cn:8443\/exchange\/soap"/);
  h = await withHost('evil"/><x a="');
  assert.equal(h.status, 400);
  assert.equal(JSON.parse(h.text).error.code, 'invalid_host');
  // without ?wsdl there is nothing to GET
  assert.equal((await fetch(ctx.url + '/exchange/soap')).status, 404);
  assert.equal((await fetch(ctx.url + '/exchange/soap?wsdl=1')).status, 404);
});

test('zeep calls Ping through the served WSDL; the answer verifies and the envelope validates against the schema', async () => {
  const res = zeep({ operation: 'Ping', auth: auth(PING) });
  assert.equal(res.fault, undefined, JSON.stringify(res));
  assert.equal(res.status, 200);
  const body = JSON.parse(res.body);
  assert.equal(body.caller, 'SOAP接入系统');
  assert.equal(String(body.caller_id), caller.id);
  assert.deepEqual(body.write, ['nat']);
  // the server's signature in fk:ServerAuth, bound to our nonce
  const nonce = res.sent.match(/<ns0:Nonce>([^<]+)</)[1];
  const text = (b, st = 200) => canonicalReply({ status: st, body: b, nonce, timestamp: res.timestamp });
  assert.ok(verify(text(res.body), res.signature, serverKey), 'answer verifies');
  // positive control of the verification: a changed body or status does not
  assert.ok(!verify(text(res.body.replace('SOAP', 'HTTP')), res.signature, serverKey));
  assert.ok(!verify(text(res.body, 201), res.signature, serverKey));

  // the WSDL's SOAP 1.2 binding, through zeep too
  const r12 = zeep({ operation: 'Ping', binding: 'ExchangeSoap12', auth: auth(PING) });
  assert.equal(r12.status, 200, JSON.stringify(r12));
  assert.match(r12.sent, /http:\/\/www\.w3\.org\/2003\/05\/soap-envelope/);
  assert.equal(JSON.parse(r12.body).caller, 'SOAP接入系统');

  // the envelope zeep wrote, checked against the WSDL's schema by xmllint
  const dir = fs.mkdtempSync(path.join(ctx.dir, 'xsd-'));
  fs.writeFileSync(path.join(dir, 'exchange.wsdl'), await (await fetch(ctx.url + '/exchange/soap?wsdl')).text());
  fs.writeFileSync(path.join(dir, 'sent.xml'), res.sent);
  execFileSync(PY, [SOAP_CLIENT, 'schema', path.join(dir, 'exchange.wsdl'), path.join(dir, 'sent.xml'), dir]);
  const lint = (f) => execFileSync('xmllint', ['--noout', '--nonet', '--schema', path.join(dir, 'schema.xsd'), path.join(dir, f)], { stdio: 'pipe' });
  lint('auth.xml');
  lint('op.xml');
  // positive control: an element the schema does not know fails
  fs.writeFileSync(path.join(dir, 'bad.xml'), fs.readFileSync(path.join(dir, 'op.xml'), 'utf8').replace('<ns0:Ping', '<ns0:Ping><ns0:extra>1</ns0:extra').replace('/>', '></ns0:Ping>'));
  assert.throws(() => lint('bad.xml'));
});

test('zeep writes a batch of sites; the same idempotency key replays the first answer and writes nothing more', async () => {
  const before = siteCount();
  const body = JSON.stringify({ records: [site('z1', 'S-Z1'), site('z2', 'S-Z2')] });
  const res = zeep({ operation: 'NatSites', body, auth: auth(SITES, { body, idempotencyKey: 'soap-sites-1' }) });
  assert.equal(res.fault, undefined, JSON.stringify(res));
  assert.equal(res.status, 200);
  const out = JSON.parse(res.body);
  assert.deepEqual([out.received, out.applied, out.rejected], [2, 2, 0], res.body);
  assert.equal(siteCount(), before + 2);
  // the same write again (a new nonce, the same key): the first answer, nothing written
  const again = zeep({ operation: 'NatSites', body, auth: auth(SITES, { body, idempotencyKey: 'soap-sites-1' }) });
  assert.equal(again.status, 200);
  assert.equal(again.body, res.body);
  assert.equal(again.replayed, true, 'fk:ServerAuth says it is replayed');
  assert.equal(res.replayed, false, 'the first answer is not');
  assert.equal(siteCount(), before + 2);
});

test('a hand-built SOAP 1.2 envelope calls the same operation', async () => {
  const before = siteCount();
  const body = JSON.stringify({ records: [site('h1', 'S-H1')] });
  const r = await postSoap(envelope(12, 'NatSites', auth(SITES, { body, idempotencyKey: 'soap12-1' }), { body }), 12);
  assert.equal(r.status, 200, r.text);
  assert.match(r.ctype, /^application\/soap\+xml/);
  assert.match(r.text, /<env:Envelope xmlns:env="http:\/\/www\.w3\.org\/2003\/05\/soap-envelope"/);
  assert.equal(field(r.text, 'status'), '200');
  assert.equal(JSON.parse(field(r.text, 'body')).applied, 1);
  assert.equal(siteCount(), before + 1);
  // a read with a query string: signed over the sorted query like the HTTP form
  const q = 'b=2&a=1';
  const p = await postSoap(envelope(12, 'Ping', auth(PING, { query: q }), { query: q }), 12);
  assert.equal(p.status, 200, p.text);
  // the SOAP 1.1 form with its SOAPAction, and a SOAPAction naming another operation
  const ok = await postSoap(envelope(11, 'Ping', auth(PING)), 11, { soapaction: `"${NS}#Ping"` });
  assert.equal(ok.status, 200, ok.text);
  expectFault(await postSoap(envelope(11, 'Ping', auth(PING)), 11, { soapaction: `"${NS}#NatSites"` }), 11, 'soap_action_mismatch', 400);
});

test('malformed envelopes are refused with their own Faults', async () => {
  const a = auth(PING);
  expectFault(await postSoap('this is not XML'), 11, 'xml_malformed', 400);
  expectFault(await postSoap('<s:Envelope xmlns:s="' + ENV11 + '"><s:Body/></s:Envelope>', 12), 12, 'soap_version_mismatch', 400);
  expectFault(await postSoap(envelope(11, 'Ping', a).replace(ENV11, 'urn:not-soap')), 11, 'soap_version_mismatch', 400);
  expectFault(await postSoap(envelope(11, 'Ping', a), 12), 12, 'soap_version_mismatch', 400);
  expectFault(await postSoap(`<s:Envelope xmlns:s="${ENV11}"><s:Header/></s:Envelope>`), 11, 'soap_envelope_invalid', 400);
  expectFault(await postSoap(envelope(11, 'DropTables', a)), 11, 'soap_operation_unknown', 404);
  expectFault(await postSoap(envelope(12, 'Ping', a, { noAuth: true }), 12), 12, 'soap_auth_missing', 401);
  expectFault(await postSoap(envelope(11, 'Ping', a, { header: `<x:T xmlns:x="urn:x" s:mustUnderstand="1"/>` })), 11, 'soap_must_understand', 400);
  // a JSON body on the SOAP address is not SOAP
  const j = await postSoap('{}', 11, { 'content-type': 'application/json' });
  expectFault(j, 11, 'soap_content_type', 415);
  // an Auth without its signature reaches the operation layer: the HTTP front's code, signed
  const { Signature, ...unsigned } = a;
  const r = await postSoap(envelope(11, 'Ping', unsigned));
  assert.equal(r.code, 'signature_missing', r.text);
  assert.equal(r.faultStatus, '401');
  assert.match(r.text, /<fk:ServerAuth>/);
});

test('attacks: each refused with its code, nothing written, no nonce spent', async () => {
  // one signed write, embedded in every attack below, then sent clean at the end
  const body = JSON.stringify({ records: [site('x1', 'S-X1')] });
  const a = auth(SITES, { body, idempotencyKey: 'soap-attack-1' });
  const clean = envelope(11, 'NatSites', a, { body });
  const before = siteCount();

  // billion laughs
  const laughs = '<!DOCTYPE lolz [<!ENTITY lol "lol">' +
    [1, 2, 3, 4, 5, 6, 7, 8, 9].map((i) => `<!ENTITY lol${i} "${`&lol${i === 1 ? '' : i - 1};`.repeat(10)}">`).join('') + ']>';
  let r = await postSoap(envelope(11, 'NatSites', a, { prolog: laughs, body }).replace(esc(body), '&lol9;'));
  expectFault(r, 11, 'xml_doctype_forbidden', 400);
  r = await postSoap(envelope(12, 'NatSites', a, { prolog: laughs, body }), 12);
  expectFault(r, 12, 'xml_doctype_forbidden', 400);

  // external entities: a file, and a URL on a server of ours that counts hits
  r = await postSoap(envelope(11, 'NatSites', a, { prolog: '<!DOCTYPE s:Envelope [<!ENTITY xxe SYSTEM "file:///etc/passwd">]>' }).replace('</fk:NatSites>', '<fk:body>&xxe;</fk:body></fk:NatSites>'));
  expectFault(r, 11, 'xml_doctype_forbidden', 400);
  assert.doesNotMatch(r.text, /root:/);
  let hits = 0;
  const evil = http.createServer((q, s) => { hits++; s.end('<!ENTITY leak "pwned">'); });
  await new Promise((ok) => evil.listen(0, '127.0.0.1', ok));
  const url = `http://127.0.0.1:${evil.address().port}/evil.dtd`;
  try {
    r = await postSoap(envelope(11, 'NatSites', a, { prolog: `<!DOCTYPE s:Envelope [<!ENTITY xxe SYSTEM "${url}">]>` }).replace('</fk:NatSites>', '<fk:body>&xxe;</fk:body></fk:NatSites>'));
    expectFault(r, 11, 'xml_doctype_forbidden', 400);
    r = await postSoap(envelope(12, 'NatSites', a, { body, prolog: `<!DOCTYPE s:Envelope SYSTEM "${url}">` }), 12);
    expectFault(r, 12, 'xml_doctype_forbidden', 400);
    // positive control of the counter: it does count a fetch
    await fetch(url);
    assert.equal(hits, 1, 'the server never fetched the external entity');
  } finally {
    evil.close();
  }
  // an undeclared entity without any DOCTYPE is simply not XML
  r = await postSoap(clean.replace(esc(body), '&xxe;'));
  expectFault(r, 11, 'xml_malformed', 400);

  // oversized: over the envelope limit (4 MiB) but within the transport's
  r = await postSoap(clean + ' '.repeat(5 << 20));
  expectFault(r, 11, 'xml_too_large', 413);

  // deep nesting inside the operation
  r = await postSoap(clean.replace('</fk:NatSites>', '<a>'.repeat(5000) + '</a>'.repeat(5000) + '</fk:NatSites>'));
  expectFault(r, 11, 'xml_too_deep', 400);

  // forged signature (zeep): the HTTP front's code, in a signed Fault
  const forged = { ...a, Signature: sign(canonical({ method: 'POST', path: SITES.path, body: '{}', caller: caller.id, timestamp: a.Timestamp, nonce: a.Nonce }), caller.privateKeyPem) };
  const f = zeep({ operation: 'NatSites', body, auth: forged });
  assert.equal(f.fault?.code, 'signature_invalid', JSON.stringify(f));
  assert.equal(f.fault.status, 401);
  assert.ok(verify(canonicalReply({ status: 401, body: f.fault.body, nonce: a.Nonce, timestamp: f.timestamp }), f.signature, serverKey), 'the Fault is signed');

  assert.equal(siteCount(), before, 'no attack wrote anything');

  // the positive control: the very envelope, clean, still goes through (no nonce spent)
  r = await postSoap(clean);
  assert.equal(r.status, 200, r.text);
  assert.equal(JSON.parse(field(r.text, 'body')).applied, 1);
  assert.equal(siteCount(), before + 1);

  // replayed: the same envelope again (so the same nonce) is refused, over SOAP
  r = await postSoap(clean);
  assert.equal(r.code, 'nonce_replayed', r.text);
  assert.equal(r.faultStatus, '401');
  assert.equal(r.status, 500);
  // and over HTTP: one nonce store for both fronts
  const h = await fetch(ctx.url + SITES.path, {
    method: 'POST',
    headers: { 'content-type': 'application/json', [H.caller]: a.Caller, [H.timestamp]: a.Timestamp, [H.nonce]: a.Nonce, [H.signature]: a.Signature, [H.idempotency]: a.IdempotencyKey },
    body,
  });
  assert.equal(h.status, 401);
  assert.equal((await h.json()).error.code, 'nonce_replayed');
  assert.equal(siteCount(), before + 1);
});
