// The HTTP server itself: liveness, security headers, the JSON error shape
// for every limit, the OpenAPI document kept true against the router,
// Prometheus metrics, idle connections and graceful shutdown on SIGTERM.
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import net from 'node:net';
import { startServer, sleep } from './lib.mjs';

let ctx;
before(async () => {
  ctx = await startServer({ env: { FK_IDLE_TIMEOUT: '1' } });
});
after(async () => {
  await ctx?.stop();
});

// Send raw bytes on a fresh connection and collect what comes back until
// the server closes it or `ms` pass.
function raw(bytes, ms = 3000) {
  return new Promise((resolve, reject) => {
    const s = net.connect(ctx.port, '127.0.0.1');
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
