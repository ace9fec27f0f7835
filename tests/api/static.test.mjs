// The web front end served by fangkong: types, gzip, cache lifetimes, the
// Content-Security-Policy, redirects, and nothing outside web/dist.
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import fs from 'node:fs';
import path from 'node:path';
import { startServer } from './lib.mjs';

let ctx;
const dist = path.resolve('web/dist');
before(async () => {
  assert.ok(fs.existsSync(path.join(dist, 'console/index.html')), 'the front end is built (make web)');
  ctx = await startServer();
});
after(async () => {
  await ctx?.stop();
});

const raw = (p, headers = {}) => fetch(ctx.url + p, { headers, redirect: 'manual' });

test('/ and /console redirect to the console; /mobile to the mobile pages', async () => {
  for (const [from, to] of [['/', '/console/'], ['/console', '/console/'], ['/mobile', '/mobile/']]) {
    const r = await raw(from);
    assert.equal(r.status, 302, from);
    assert.equal(r.headers.get('location'), to);
  }
});

test('pages are HTML, revalidated every visit, under a same-origin-only CSP', async () => {
  for (const p of ['/console/', '/mobile/', '/console/index.html']) {
    const r = await raw(p);
    assert.equal(r.status, 200, p);
    assert.match(r.headers.get('content-type'), /^text\/html; charset=utf-8/);
    assert.equal(r.headers.get('cache-control'), 'no-cache');
    const csp = r.headers.get('content-security-policy');
    assert.match(csp, /default-src 'self'/);
    assert.doesNotMatch(csp, /https?:|\*/, 'nothing from other origins');
    const html = await r.text();
    assert.match(html, /<div id="app">/);
    assert.doesNotMatch(html, /https?:\/\//, 'the page loads nothing from elsewhere');
  }
});

test('hashed assets are cached for a year and compressed when the client accepts gzip', async () => {
  const html = await (await raw('/console/')).text();
  const js = html.match(/src="(\/assets\/[^"]+\.js)"/)[1];
  const plain = await raw(js, { 'accept-encoding': 'identity' });
  assert.equal(plain.status, 200);
  assert.match(plain.headers.get('content-type'), /^text\/javascript/);
  assert.equal(plain.headers.get('cache-control'), 'public, max-age=31536000, immutable');
  assert.equal(plain.headers.get('content-encoding'), null);
  const body = Buffer.from(await plain.arrayBuffer());
  assert.deepEqual(body, fs.readFileSync(path.join(dist, js)));

  // fetch decompresses transparently: compare what arrived on the wire
  const gz = await raw(js, { 'accept-encoding': 'gzip' });
  assert.equal(gz.headers.get('content-encoding'), 'gzip');
  assert.equal(gz.headers.get('vary'), 'Accept-Encoding');
  assert.ok(Number(gz.headers.get('content-length')) < body.length / 2, 'compressed on the wire');
  assert.deepEqual(Buffer.from(await gz.arrayBuffer()), body);
  const refused = await raw(js, { 'accept-encoding': 'gzip;q=0' });
  assert.equal(refused.headers.get('content-encoding'), null);

  const css = html.match(/href="(\/assets\/[^"]+\.css)"/)[1];
  assert.match((await raw(css)).headers.get('content-type'), /^text\/css/);
});

test('only built files are served: unknown paths, traversal and the API namespace are 404 JSON', async () => {
  for (const p of ['/console/nope.js', '/assets/../../../etc/passwd', '/%2e%2e/%2e%2e/etc/passwd', '/console/index.html.gz', '/.built', '/api/v1/nothing']) {
    const r = await raw(p);
    assert.equal(r.status, 404, p);
    assert.match(r.headers.get('content-type'), /application\/json/);
    assert.ok((await r.json()).error.code);
  }
  const post = await fetch(ctx.url + '/console/', { method: 'POST', body: '{}', headers: { 'content-type': 'application/json' } });
  assert.equal(post.status, 404);
});

test('no stylesheet refers to another origin (fonts and icons are built in)', () => {
  const css = fs.readdirSync(path.join(dist, 'assets')).filter((f) => f.endsWith('.css'));
  assert.ok(css.length >= 2);
  for (const f of css) assert.doesNotMatch(fs.readFileSync(path.join(dist, 'assets', f), 'utf8'), /url\((?:https?:)?\/\//, f);
});

test('HEAD answers the headers without the body', async () => {
  const r = await fetch(ctx.url + '/console/', { method: 'HEAD' });
  assert.equal(r.status, 200);
  assert.equal((await r.text()).length, 0);
});
