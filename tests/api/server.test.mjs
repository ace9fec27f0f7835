// The HTTP server itself: liveness, security headers, the JSON error shape
// for every limit, the OpenAPI document kept true against the router,
// Prometheus metrics and who may read them, idle connections and graceful
// shutdown on SIGTERM; what an unauthenticated client may hold (declared
// bodies refused unread, header and body deadlines, connections per
// address); and the cross-site rules for state-changing requests.
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import fs from 'node:fs';
import net from 'node:net';
import { startServer, sleep, writeTmp, CITY_CSV } from './lib.mjs';

const PW = 'Server-test-2024!';
const METRICS_TOKEN = 'prometheus-scrape-token-0123456789';
const PUBLIC_ORIGIN = 'https://fk.example.gov.cn';
let ctx, lim;
before(async () => {
  ctx = await startServer({
    env: { FK_IDLE_TIMEOUT: '1' },
    setup: (c) => {
      c.must(['import', 'regions', writeTmp(c, 'city.csv', CITY_CSV)]);
      c.must(['user', 'add', '--username', 'cc_dc', '--password', PW, '--role', 'command_center', '--region', '110101000000']);
    },
  });
  // short deadlines, a small per-address cap, metrics by token only and a
  // public origin behind a proxy
  lim = await startServer({
    env: {
      FK_HEADER_TIMEOUT: '1',
      FK_BODY_TIMEOUT: '1',
      FK_MAX_CONN_PER_IP: '4',
      FK_METRICS_LOOPBACK: '0',
      FK_METRICS_TOKEN: METRICS_TOKEN,
      FK_PUBLIC_ORIGIN: `https://other.example, ${PUBLIC_ORIGIN}`,
    },
  });
});
after(async () => {
  await ctx?.stop();
  await lim?.stop();
});

// Send raw bytes on a fresh connection and collect what comes back until
// the server closes it or `ms` pass. opts.from: the local address (any
// 127.x.y.z), so a test owns the per-address count of its connections.
function raw(bytes, ms = 3000, opts = {}) {
  return new Promise((resolve, reject) => {
    const s = net.connect({ port: (opts.srv || ctx).port, host: '127.0.0.1', localAddress: opts.from });
    let out = '';
    const timer = setTimeout(() => {
      s.destroy();
      resolve({ out, closed: false });
    }, ms);
    s.on('data', (d) => (out += d));
    s.on('close', () => {
      clearTimeout(timer);
      resolve({ out, closed: true });
    });
    s.on('error', reject);
    if (bytes) s.write(bytes);
  });
}

function parse(out) {
  const [head, ...rest] = out.split('\r\n\r\n');
  const lines = head.split('\r\n');
  const status = Number(lines[0].split(' ')[1]);
  const headers = {};
  for (const l of lines.slice(1)) {
    const i = l.indexOf(':');
    headers[l.slice(0, i).toLowerCase()] = l.slice(i + 1).trim();
  }
  return { status, headers, body: rest.join('\r\n') };
}

function assertError(r, status, code) {
  assert.equal(r.status, status);
  assert.match(r.headers['content-type'], /application\/json/);
  const j = JSON.parse(r.body);
  assert.equal(j.error.code, code);
  assert.ok(/[\u4e00-\u9fff]/.test(j.error.message), 'message in Chinese: ' + j.error.message);
}

test('healthz answers with security headers and no Server version', async () => {
  const r = await fetch(ctx.url + '/healthz');
  assert.equal(r.status, 200);
  assert.deepEqual(await r.json(), { status: 'ok' });
  assert.equal(r.headers.get('server'), null);
  assert.equal(r.headers.get('x-content-type-options'), 'nosniff');
  assert.equal(r.headers.get('x-frame-options'), 'DENY');
  const csp = r.headers.get('content-security-policy');
  assert.match(csp, /default-src 'self'/);
  assert.match(csp, /frame-ancestors 'none'/);
});

test('unknown paths and methods get the JSON error shape', async () => {
  let r = await fetch(ctx.url + '/api/v1/nothing-here');
  assert.equal(r.status, 404);
  assert.ok((await r.json()).error.code);
  r = await fetch(ctx.url + '/healthz', { method: 'DELETE' });
  assert.equal(r.status, 405);
  assert.ok((await r.json()).error.code);
});

test('a URL over the limit: 414 with a JSON error', async () => {
  const { out } = await raw(`GET /${'a'.repeat(5000)} HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n`);
  assertError(parse(out), 414, 'uri_too_long');
});

test('headers over the limit: 431 with a JSON error', async () => {
  const big = Array.from({ length: 40 }, (_, i) => `X-Filler-${i}: ${'b'.repeat(500)}`).join('\r\n');
  const { out } = await raw(`GET /healthz HTTP/1.1\r\nHost: x\r\n${big}\r\nConnection: close\r\n\r\n`);
  assertError(parse(out), 431, 'headers_too_large');
});

test('a body over the limit: 413 with a JSON error, nothing changed', async () => {
  const body = JSON.stringify({ username: 'x', password: 'y'.repeat(2 << 20) });
  const r = await fetch(ctx.url + '/api/v1/auth/login', {
    method: 'POST',
    headers: { 'content-type': 'application/json' },
    body,
  });
  assert.equal(r.status, 413);
  const j = await r.json();
  assert.equal(j.error.code, 'body_too_large');
});

test('malformed JSON and a wrong content type are 4xx with a code', async () => {
  let r = await fetch(ctx.url + '/api/v1/auth/login', {
    method: 'POST',
    headers: { 'content-type': 'application/json' },
    body: '{"username": ',
  });
  assert.equal(r.status, 400);
  assert.equal((await r.json()).error.code, 'invalid_json');
  r = await fetch(ctx.url + '/api/v1/auth/login', { method: 'POST', body: 'username=a' });
  assert.equal(r.status, 415);
  assert.equal((await r.json()).error.code, 'unsupported_media_type');
});

test('the OpenAPI document lists every route of the router', async () => {
  const doc = await (await fetch(ctx.url + '/api/v1/openapi.json')).json();
  assert.match(doc.openapi, /^3\./);
  const routes = ctx.must(['routes']).trim().split('\n');
  assert.ok(routes.length > 40, 'the router has the foundation routes');
  for (const line of routes) {
    const [method, p] = line.split(' ');
    const op = doc.paths[p]?.[method.toLowerCase()];
    assert.ok(op, `${method} ${p} is in openapi.json`);
    assert.ok(op.summary, `${method} ${p} has a summary`);
    assert.ok(op.responses, `${method} ${p} has responses`);
  }
  // and nothing in the document that the router does not serve
  const served = new Set(routes);
  for (const [p, ops] of Object.entries(doc.paths))
    for (const m of Object.keys(ops)) assert.ok(served.has(`${m.toUpperCase()} ${p}`), `${m} ${p} is served`);
  assert.ok(doc.components.schemas.Error);
});

test('metrics count requests by route and status, latency and database time', async () => {
  await fetch(ctx.url + '/api/v1/me'); // 401
  await fetch(ctx.url + '/healthz');
  const text = await (await fetch(ctx.url + '/metrics')).text();
  assert.match(text, /# TYPE fangkong_requests_total counter/);
  const m = text.match(/fangkong_requests_total\{method="GET",route="\/healthz",status="200"\} (\d+)/);
  assert.ok(m && Number(m[1]) >= 1, 'healthz counted');
  assert.match(text, /fangkong_requests_total\{method="GET",route="\/api\/v1\/me",status="401"\} [1-9]/);
  assert.match(text, /fangkong_request_duration_seconds_bucket\{le="\+Inf"\} [1-9]/);
  assert.match(text, /fangkong_request_duration_seconds_count [1-9]/);
  assert.match(text, /fangkong_db_seconds_total [0-9.]+/);
  // the count moves
  await fetch(ctx.url + '/healthz');
  const again = await (await fetch(ctx.url + '/metrics')).text();
  const n2 = again.match(/route="\/healthz",status="200"\} (\d+)/)[1];
  assert.ok(Number(n2) > Number(m[1]));
});

test('a silent connection is closed after the idle timeout', async () => {
  const t0 = Date.now();
  const { closed } = await raw('GET /healthz HTTP/1.1\r\nHost: x\r\n', 5000); // headers never finish
  assert.ok(closed, 'server closed the connection');
  assert.ok(Date.now() - t0 < 4500);
});

test('SIGTERM finishes the request in flight, then exits 0', async () => {
  const srv = await startServer();
  const body = JSON.stringify({ username: 'nobody', password: 'Wrong-pass1' });
  const s = net.connect(srv.port, '127.0.0.1');
  await new Promise((r) => s.on('connect', r));
  let out = '';
  s.on('data', (d) => (out += d));
  const closed = new Promise((r) => s.on('close', r));
  // the request is half sent when the signal arrives
  s.write(`POST /api/v1/auth/login HTTP/1.1\r\nHost: x\r\nContent-Type: application/json\r\n` +
    `Content-Length: ${Buffer.byteLength(body)}\r\nConnection: close\r\n\r\n${body.slice(0, 10)}`);
  await sleep(100);
  const exited = srv.stop('SIGTERM');
  await sleep(200);
  s.write(body.slice(10));
  await closed;
  const r = parse(out);
  assert.equal(r.status, 401);
  assert.equal(JSON.parse(r.body).error.code, 'bad_credentials');
  assert.equal(await exited, 0);
  // and it no longer accepts connections
  await assert.rejects(fetch(srv.url + '/healthz'));
});

// ---- no memory for the unauthenticated -----------------------------------------

const rssKb = (pid) => Number(/VmRSS:\s+(\d+)/.exec(fs.readFileSync(`/proc/${pid}/status`, 'utf8'))[1]);

// A client that declares a body of `declared` bytes and sends `send` of
// them as fast as the server takes them; resolves with what came back.
function bigBody(srv, declared, send) {
  return new Promise((resolve) => {
    const s = net.connect(srv.port, '127.0.0.1');
    let out = '';
    let first = 0;
    const t0 = Date.now();
    s.on('data', (d) => {
      if (!first) first = Date.now() - t0;
      out += d;
    });
    const done = () => resolve({ out, first });
    s.on('close', done);
    s.on('error', done);
    s.write(`POST /api/v1/auth/login HTTP/1.1\r\nHost: x\r\nContent-Type: application/json\r\nContent-Length: ${declared}\r\n\r\n`);
    const chunk = Buffer.alloc(1 << 20, 0x61);
    let sent = 0;
    const pump = () => {
      while (sent < send) {
        sent += chunk.length;
        if (!s.write(chunk)) return s.once('drain', pump);
      }
      s.end();
    };
    pump();
    setTimeout(() => s.destroy(), 15000);
  });
}

test('a declared 1 GB body is refused at once, unread: 413 JSON', async () => {
  const r = await bigBody(ctx, 1 << 30, 4 << 20);
  assertError(parse(r.out), 413, 'body_too_large');
  assert.ok(r.first < 1000, `answered in ${r.first} ms`);
  assert.equal(parse(r.out).headers.connection, 'close');
});

test('four clients sending 48 MB bodies to sign-in: refused, and the server holds none of it', async () => {
  const before = rssKb(ctx.proc.pid);
  const rs = await Promise.all([0, 1, 2, 3].map(() => bigBody(ctx, 48 << 20, 48 << 20)));
  const grown = rssKb(ctx.proc.pid) - before;
  for (const r of rs) assertError(parse(r.out), 413, 'body_too_large');
  assert.ok(grown < 24 * 1024, `RSS grew by ${grown} kB`);
  // and the server still answers
  assert.equal((await fetch(ctx.url + '/healthz')).status, 200);
});

test('a client trickling its headers is cut off at the header deadline: 408 JSON', async () => {
  const t0 = Date.now();
  const s = net.connect({ port: lim.port, host: '127.0.0.1', localAddress: '127.0.0.3' });
  let out = '';
  s.on('data', (d) => (out += d));
  const closed = new Promise((r) => s.on('close', r));
  s.on('error', () => {});
  s.write('GET /healthz HTTP/1.1\r\nHost: x\r\nX-Slow: ');
  // one byte every 100 ms: the idle timeout alone would never fire
  const drip = setInterval(() => s.writable && s.write('a'), 100);
  await Promise.race([closed, sleep(4000)]);
  clearInterval(drip);
  const took = Date.now() - t0;
  s.destroy();
  assert.ok(took < 3000, `closed after ${took} ms`);
  assert.ok(took >= 900, `not before the deadline (${took} ms)`);
  assertError(parse(out), 408, 'request_timeout');
});

test('a client trickling its body is cut off at the body deadline: 408 JSON', async () => {
  const t0 = Date.now();
  const s = net.connect({ port: lim.port, host: '127.0.0.1', localAddress: '127.0.0.4' });
  let out = '';
  s.on('data', (d) => (out += d));
  const closed = new Promise((r) => s.on('close', r));
  s.on('error', () => {});
  s.write('POST /api/v1/auth/login HTTP/1.1\r\nHost: x\r\nContent-Type: application/json\r\nContent-Length: 200\r\n\r\n{');
  const drip = setInterval(() => s.writable && s.write(' '), 100);
  await Promise.race([closed, sleep(4000)]);
  clearInterval(drip);
  const took = Date.now() - t0;
  s.destroy();
  assert.ok(took < 3000, `closed after ${took} ms`);
  assertError(parse(out), 408, 'request_timeout');
});

test('connections per address are capped: the one beyond gets 429 JSON; a freed slot is reused', async () => {
  const from = '127.0.0.5';
  // four keep-alive connections that each finished a request
  const socks = [];
  for (let i = 0; i < 4; i++) {
    const s = net.connect({ port: lim.port, host: '127.0.0.1', localAddress: from });
    s.on('error', () => {});
    let got = '';
    const answered = new Promise((r) => s.on('data', (d) => { got += d; if (got.includes('"ok"')) r(); }));
    s.write('GET /healthz HTTP/1.1\r\nHost: x\r\n\r\n');
    await answered;
    assert.match(got, /^HTTP\/1.1 200/);
    socks.push(s);
  }
  const { out, closed } = await raw('GET /healthz HTTP/1.1\r\nHost: x\r\n\r\n', 3000, { srv: lim, from });
  assertError(parse(out), 429, 'too_many_connections');
  assert.ok(closed, 'the refused connection is closed');
  // another address is not affected
  const other = await raw('GET /healthz HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n', 3000, { srv: lim, from: '127.0.0.6' });
  assert.equal(parse(other.out).status, 200);
  // a slot freed is a slot again
  socks.pop().destroy();
  await sleep(200);
  const again = await raw('GET /healthz HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n', 3000, { srv: lim, from });
  assert.equal(parse(again.out).status, 200);
  for (const s of socks) s.destroy();
});

// ---- metrics: loopback or a bearer token ------------------------------------------

test('metrics with loopback off: 401 without or with a wrong token, 200 with the token', async () => {
  let r = await fetch(lim.url + '/metrics');
  assert.equal(r.status, 401);
  assert.equal((await r.json()).error.code, 'metrics_token_required');
  r = await fetch(lim.url + '/metrics', { headers: { authorization: 'Bearer wrong-token' } });
  assert.equal(r.status, 401);
  r = await fetch(lim.url + '/metrics', { headers: { authorization: `Bearer ${METRICS_TOKEN}x` } });
  assert.equal(r.status, 401);
  r = await fetch(lim.url + '/metrics', { headers: { authorization: `Bearer ${METRICS_TOKEN}` } });
  assert.equal(r.status, 200);
  assert.match(await r.text(), /# TYPE fangkong_requests_total counter/);
});

test('metrics relayed by a proxy on the same host are not loopback: 404 without a token configured', async () => {
  const r = await fetch(ctx.url + '/metrics', { headers: { 'x-forwarded-for': '203.0.113.9' } });
  assert.equal(r.status, 404);
  assert.ok((await r.json()).error.code);
  assert.equal((await fetch(ctx.url + '/metrics')).status, 200, 'loopback itself still reads them');
});

// ---- cross-site requests ------------------------------------------------------------

async function signedIn() {
  const c = ctx.client();
  await c.login('cc_dc', PW);
  return c;
}

const post = (p, cookie, headers = {}, body) =>
  fetch(ctx.url + p, { method: 'POST', headers: { cookie, ...headers }, body, redirect: 'manual' });

test('a bodyless POST without a content type is 415, and changes nothing', async () => {
  const c = await signedIn();
  const r = await post('/api/v1/auth/logout', c.cookie);
  assert.equal(r.status, 415);
  assert.equal((await r.json()).error.code, 'unsupported_media_type');
  assert.equal((await c.get('/api/v1/me')).status, 200, 'still signed in');
});

test('text/plain, form-urlencoded and multipart bodies are 415, and change nothing', async () => {
  const c = await signedIn();
  for (const type of ['text/plain', 'text/plain;charset=UTF-8', 'application/x-www-form-urlencoded', 'multipart/form-data; boundary=x', 'application/jsonx']) {
    const r = await post('/api/v1/auth/logout', c.cookie, { 'content-type': type }, '{}');
    assert.equal(r.status, 415, type);
    assert.equal((await r.json()).error.code, 'unsupported_media_type');
  }
  // a raw-body import takes its own type, but never one a form can send
  let r = await post('/api/v1/regions/import', c.cookie, { 'content-type': 'text/plain' }, 'code,name,level,parent_code\n');
  assert.equal(r.status, 415);
  r = await post('/api/v1/regions/import', c.cookie, {}, 'code,name,level,parent_code\n');
  assert.equal(r.status, 415);
  assert.equal((await c.get('/api/v1/me')).status, 200, 'still signed in');
});

test('a foreign Origin or a cross-site Sec-Fetch-Site is 403, and changes nothing', async () => {
  const c = await signedIn();
  const json = { 'content-type': 'application/json' };
  const refused = [
    { origin: 'https://evil.example' },
    { origin: 'null' },
    { origin: 'http://127.0.0.1:1' }, // same host, another port
    { 'sec-fetch-site': 'cross-site' },
    { 'sec-fetch-site': 'same-site' },
    { origin: ctx.url, 'sec-fetch-site': 'cross-site' },
  ];
  for (const h of refused) {
    const r = await post('/api/v1/auth/logout', c.cookie, { ...json, ...h });
    assert.equal(r.status, 403, JSON.stringify(h));
    assert.equal((await r.json()).error.code, 'cross_site_request');
  }
  // sign-in from another site is refused too (login CSRF)
  const r = await fetch(ctx.url + '/api/v1/auth/login', { method: 'POST', headers: { ...json, origin: 'https://evil.example' }, body: JSON.stringify({ username: 'cc_dc', password: PW }) });
  assert.equal(r.status, 403);
  assert.equal(r.headers.get('set-cookie'), null);
  assert.equal((await c.get('/api/v1/me')).status, 200, 'still signed in');
});

test('same-origin requests, programs without Origin and the configured public origin pass', async () => {
  let c = await signedIn();
  let r = await post('/api/v1/auth/logout', c.cookie, { 'content-type': 'application/json; charset=utf-8', origin: ctx.url, 'sec-fetch-site': 'same-origin' });
  assert.ok(r.status < 300, `same-origin logout: ${r.status}`);
  assert.equal((await c.get('/api/v1/me')).status, 401, 'signed out');
  c = await signedIn(); // a program: no Origin, no Sec-Fetch-Site
  r = await post('/api/v1/auth/logout', c.cookie, { 'content-type': 'application/json' });
  assert.ok(r.status < 300);
  // behind a proxy: the public origin, whatever the Host
  r = await fetch(lim.url + '/api/v1/auth/login', { method: 'POST', headers: { 'content-type': 'application/json', origin: PUBLIC_ORIGIN, 'sec-fetch-site': 'same-origin' }, body: JSON.stringify({ username: 'nobody', password: 'x' }) });
  assert.equal(r.status, 401, 'reaches the sign-in (bad credentials), not refused as cross-site');
  r = await fetch(lim.url + '/api/v1/auth/login', { method: 'POST', headers: { 'content-type': 'application/json', origin: 'https://fk.example.gov.cn.evil.example' }, body: '{}' });
  assert.equal(r.status, 403);
});
