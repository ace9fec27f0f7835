// Three `fangkong serve` on one PostgreSQL behind nginx (deploy/nginx/fangkong.conf,
// TLS with a throwaway certificate), as docs/deploy.md describes: sessions and
// lock-outs valid on every server, a sign-out on one server ending streams on
// another at once, the client's address taken from nginx and never from the
// client, and a mixed workload through nginx while one server is SIGKILLed:
// every acknowledged write is in the database afterwards and an alert stream
// cut with its server resumes through nginx on another with everything after
// its last event; meanwhile the overdue-task sweep (FK_TASK_CHECK 1 s, a
// lease) runs once per period across the servers, before and after the kill:
// every overdue task gets exactly one alert and one event, and the servers'
// runs add up to at most one per period. PostgreSQL only (on SQLite one
// file has one server).
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { spawn, execFileSync } from 'node:child_process';
import fs from 'node:fs';
import net from 'node:net';
import os from 'node:os';
import path from 'node:path';
import { startPeer, startCityWith, onPostgres, CITY_STAFF, residentId, smsCode, openStream, until, errOf, Client, leases, sqlRun } from './lib.mjs';

// the throwaway certificate below is self-signed: this process only
process.env.NODE_TLS_REJECT_UNAUTHORIZED = '0';

const PW = 'Cluster-test-2024!';
const COMMUNITY = '110101001001';
let ctx, peers = [], servers = [], nginx, edge, tmp, cc, gate, res, venue;

async function freePort() {
  return new Promise((resolve) => {
    const s = net.createServer();
    s.listen(0, '127.0.0.1', () => {
      const { port } = s.address();
      s.close(() => resolve(port));
    });
  });
}

// The shipped configuration with this test's servers, ports and certificate,
// inside a minimal nginx.conf whose pid, logs and temporary files are in `dir`.
function nginxConf(dir, port, redirectPort, upstreams) {
  let conf = fs.readFileSync('deploy/nginx/fangkong.conf', 'utf8');
  const lines = upstreams.map((u) => `    server ${u} max_fails=1 fail_timeout=5s;`).join('\n');
  conf = conf.replace(/^ *server [0-9][^\n]*\n/gm, '').replace('upstream fangkong {\n', `upstream fangkong {\n${lines}\n`);
  assert.ok(!conf.includes(':8081'), 'the example servers are replaced');
  conf = conf.replace('listen 80;', `listen 127.0.0.1:${redirectPort};`);
  conf = conf.replace('listen 443 ssl http2;', `listen 127.0.0.1:${port} ssl;`);
  conf = conf.replace('/etc/fangkong/tls/fullchain.pem', path.join(dir, 'tls/fullchain.pem'));
  conf = conf.replace('/etc/fangkong/tls/privkey.pem', path.join(dir, 'tls/privkey.pem'));
  assert.ok(conf.includes(upstreams[0]) && conf.includes(`:${port} ssl`), 'the shipped file has the expected shape');
  fs.writeFileSync(path.join(dir, 'fangkong.conf'), conf);
  const t = (n) => path.join(dir, n);
  fs.writeFileSync(t('nginx.conf'), `${process.getuid() === 0 ? 'user root;\n' : ''}worker_processes 1;
pid ${t('nginx.pid')};
error_log ${t('error.log')} warn;
events { worker_connections 256; }
http {
  access_log ${t('access.log')};
  client_body_temp_path ${t('body')};
  proxy_temp_path ${t('proxy')};
  fastcgi_temp_path ${t('fastcgi')};
  uwsgi_temp_path ${t('uwsgi')};
  scgi_temp_path ${t('scgi')};
  include ${t('fangkong.conf')};
}
`);
}

before(async () => {
  if (!onPostgres) return;
  tmp = fs.mkdtempSync(path.join(os.tmpdir(), 'fk-nginx-'));
  execFileSync('deploy/nginx/make-test-cert.sh', [path.join(tmp, 'tls')], { stdio: 'pipe' });
  const env = { FK_TRUSTED_PROXIES: '127.0.0.1', FK_SSE_KEEPALIVE_MS: '500', FK_NODE: '1', FK_LOGIN_BACKOFF_MS: '0', FK_TASK_CHECK: '1' };
  ctx = await startCityWith(CITY_STAFF, PW, { env });
  // side by side; one that started is stopped by `after` even if the other failed
  const started = await Promise.allSettled([startPeer(ctx, { ...env, FK_NODE: '2' }), startPeer(ctx, { ...env, FK_NODE: '3' })]);
  peers = started.filter((x) => x.status === 'fulfilled').map((x) => x.value);
  const failed = started.find((x) => x.status === 'rejected');
  if (failed) throw failed.reason;
  servers = [ctx, ...peers];
  const port = await freePort();
  nginxConf(tmp, port, await freePort(), servers.map((s) => `127.0.0.1:${s.port}`));
  const nginxBin = fs.existsSync('/usr/sbin/nginx') ? '/usr/sbin/nginx' : 'nginx';
  nginx = spawn(nginxBin, ['-p', tmp, '-c', path.join(tmp, 'nginx.conf'), '-g', 'daemon off;'], { stdio: ['ignore', 'ignore', 'pipe'] });
  nginx.stderrText = '';
  nginx.stderr.on('data', (d) => (nginx.stderrText += d));
  edge = `https://127.0.0.1:${port}`;
  for (let i = 0; i < 100; i++) {
    if (nginx.exitCode !== null) throw new Error('nginx exited: ' + nginx.stderrText + fs.readFileSync(path.join(tmp, 'error.log'), 'utf8'));
    try {
      if ((await fetch(edge + '/healthz')).ok) break;
    } catch {}
    await new Promise((r) => setTimeout(r, 50));
  }
  cc = new Client(edge);
  await cc.login('cc_dc', PW);
  gate = new Client(edge);
  await gate.login('gate_dc', PW);
  let r = await cc.post('/api/v1/places', { name: '多福巷小区', kind: 'community', region_code: COMMUNITY });
  assert.equal(r.status, 201, r.text);
  r = await cc.post('/api/v1/venues', { name: '多福巷小区东门', kind: 'community_gate', place_id: r.body.id });
  assert.equal(r.status, 201, r.text);
  venue = r.body;
  res = new Client(edge);
  const phone = '13900000001';
  assert.equal((await res.post('/api/v1/auth/sms/send', { phone })).status, 200);
  // the code was sent through some server; the SMS file is the data folder's, shared
  r = await res.post('/api/v1/auth/sms/login', { phone, code: smsCode(ctx, phone) });
  assert.equal(r.status, 200, r.text);
  await res.post('/api/v1/me/consent', { version: 'v1' });
  r = await res.post('/api/v1/me/person', { name: '蒋九', id_number: residentId('110101', '19700101', 901), region_code: COMMUNITY, address: '多福巷2号' });
  assert.equal(r.status, 201, r.text);
});

after(async () => {
  if (nginx && nginx.exitCode === null) {
    const done = new Promise((r) => nginx.on('exit', r));
    nginx.kill('SIGTERM');
    await done;
  }
  for (const p of peers) if (p.proc.exitCode === null && p.proc.signalCode === null) await p.stop();
  await ctx?.stop();
  if (tmp && process.env.FK_TEST_VERBOSE) process.stderr.write(fs.readFileSync(path.join(tmp, 'error.log'), 'utf8'));
  if (tmp) fs.rmSync(tmp, { recursive: true, force: true });
});

// The overdue-task sweep's work: n tasks of 西城区 (outside every stream of
// this file) whose deadline passed a minute ago, never alerted.
let nextTask = 9200000000001n;
function overdueTasks(n) {
  const past = Date.now() - 60000;
  const ids = Array.from({ length: n }, () => String(nextTask++));
  sqlRun(ctx, `INSERT INTO tasks (id, kind, region_code, state, priority, deadline, title, created_at) VALUES ` +
    ids.map((id) => `(${id}, 'release', 110102000000, 'pending', 2, ${past}, '到期未办 ${id}', ${past})`).join(', '));
  return ids;
}

// Each task overdue with exactly one alert and one 'overdue' event (the
// sweep does the three in one transaction, so once all read overdue the
// counts are final).
async function actedOnceEach(ids, ms = 15000) {
  const q = `SELECT t.id, t.state,
      (SELECT COUNT(*) FROM alerts WHERE kind = 'task_overdue' AND detail LIKE '%"task_id":"' || t.id || '"%'),
      (SELECT COUNT(*) FROM task_events e WHERE e.task_id = t.id AND e.action = 'overdue')
      FROM tasks t WHERE t.id IN (${ids.join(',')}) ORDER BY t.id`;
  let got = '';
  const t0 = Date.now();
  while (Date.now() - t0 < ms) {
    got = sqlRun(ctx, q).trim();
    if (got.split('\n').every((l) => l.split('|')[1] === 'overdue')) break;
    await new Promise((r) => setTimeout(r, 200));
  }
  assert.equal(got, ids.map((id) => `${id}|overdue|1|1`).join('\n'));
}

// The sweep's runs on the live servers over a window (at least ms long):
// never more than one a period summed across them (each server ticks once
// a period; without the lease every one of them would run), and one server
// holds the lease, whose index in `live` is returned.
const runsOn = async (live) => (await Promise.all(live.map(leases))).reduce((n, m) => n + (m.runs.task_overdue ?? 0), 0);
async function windowOpen(live) {
  return { live, r0: await runsOn(live), t0: Date.now() };
}
async function onceAPeriod(w, ms) {
  const left = ms - (Date.now() - w.t0);
  if (left > 0) await new Promise((r) => setTimeout(r, left));
  const runs = (await runsOn(w.live)) - w.r0, periods = (Date.now() - w.t0) / 1000;
  assert.ok(runs >= 1 && runs <= Math.ceil(periods) + 1, `${runs} runs in ${periods.toFixed(1)} periods across ${w.live.length} servers`);
  const held = (await Promise.all(w.live.map(leases))).map((m) => m.held.task_overdue ?? 0);
  assert.equal(held.reduce((x, y) => x + y, 0), 1, `one holder: ${held}`);
  return held.indexOf(1);
}

// A client of one server directly, holding `c`'s session.
const direct = (server, c) => Object.assign(new Client(server.url), { cookie: c.cookie });

test('a session made through nginx works on every server; signed out on one, refused on all', async (t) => {
  if (!onPostgres) return t.skip('PostgreSQL only');
  const c = new Client(edge);
  await c.login('doctor_dc', PW);
  for (const s of servers) assert.equal((await direct(s, c).get('/api/v1/me')).status, 200, `server ${s.port}`);
  // nginx passes the client's Host: a page of the platform's own origin may
  // send writes (this one then refused by the doctor's rights), another site's may not
  let r = await c.post('/api/v1/places', { name: '' }, { Origin: edge });
  assert.equal(r.status, 403, r.text);
  assert.equal(errOf(r).code, 'forbidden');
  r = await c.post('/api/v1/places', { name: '' }, { Origin: 'https://evil.example' });
  assert.equal(r.status, 403, r.text);
  assert.equal(errOf(r).code, 'cross_site_request');
  // cached on server 2 (its last request), then signed out on server 1
  assert.equal((await direct(servers[1], c).get('/api/v1/me')).status, 200);
  const t0 = Date.now();
  assert.equal((await direct(servers[0], c).post('/api/v1/auth/logout')).status, 204);
  // the others hear it (fk_auth) within the notification's delivery, well
  // before their caches' own 1 s bound (AUTH_PRINCIPAL_TTL_MS)
  for (const s of servers) {
    let st = 0;
    while ((st = (await direct(s, c).get('/api/v1/me')).status) === 200 && Date.now() - t0 < 700);
    assert.equal(st, 401, `server ${s.port}`);
  }
  assert.equal((await c.get('/api/v1/me')).status, 401, 'through nginx');
});

test("a sign-out on one server ends that session's stream on another at once (not at the 5 s re-check)", async (t) => {
  if (!onPostgres) return t.skip('PostgreSQL only');
  const c = new Client(edge);
  await c.login('cc_xc', PW);
  const s = await openStream(servers[2].url, direct(servers[2], c));
  assert.equal(s.status, 200);
  const t0 = Date.now();
  assert.equal((await direct(servers[0], c).post('/api/v1/auth/logout')).status, 204);
  assert.ok(await until(() => s.events.some((e) => e.event === 'end'), 2500), 'ended by the notification');
  assert.ok(Date.now() - t0 < 2500);
  assert.equal(s.events.find((e) => e.event === 'end').data.reason, 'session_expired');
  s.close();
});

test('failed sign-ins are counted across servers: the fifth locks the account on all', async (t) => {
  if (!onPostgres) return t.skip('PostgreSQL only');
  // a client of its own (loopback is a trusted proxy here), apart from the
  // other tests' sign-ins that the per-address limit counts
  const XFF = { 'X-Forwarded-For': '198.51.100.3' };
  for (let i = 0; i < 5; i++) {
    const r = await new Client(servers[i % 3].url).post('/api/v1/auth/login', { username: 'grid_dc', password: 'wrong-' + i }, XFF);
    assert.ok([401, 423].includes(r.status), r.text);
  }
  for (const s of servers) {
    const r = await new Client(s.url).post('/api/v1/auth/login', { username: 'grid_dc', password: PW }, XFF);
    assert.equal(r.status, 423, `server ${s.port}: ${r.text}`);
    assert.equal(errOf(r).code, 'account_locked');
  }
  // the positive control: another account signs in on each
  for (const s of servers) assert.equal((await new Client(s.url).post('/api/v1/auth/login', { username: 'cc_dc', password: PW }, XFF)).status, 200);
});

test('the client address is the one nginx saw, never what the client claims', async (t) => {
  if (!onPostgres) return t.skip('PostgreSQL only');
  const auditor = ctx.as.auditor; // signed in with its TOTP, on server 1
  const claim = async (base, ip) => {
    const c = new Client(base);
    const r = await c.post('/api/v1/auth/login', { username: 'nobody_' + ip.replace(/\W/g, ''), password: 'x' }, { 'X-Forwarded-For': ip });
    assert.equal(r.status, 401, r.text);
  };
  await claim(edge, '203.0.113.7'); // forged through nginx: replaced by nginx
  await claim(servers[1].url, '203.0.113.9'); // from a trusted proxy (loopback): believed
  // audit entries are written asynchronously: read until the believed one is there
  let items = [];
  for (let i = 0; i < 100 && !items.some((x) => x.ip === '203.0.113.9'); i++) {
    const r = await auditor.get('/api/v1/audit?action=auth.login&page_size=100');
    items = r.body?.items ?? [];
    if (!items.some((x) => x.ip === '203.0.113.9')) await new Promise((w) => setTimeout(w, 50));
  }
  assert.ok(items.some((x) => x.ip === '203.0.113.9'), JSON.stringify(items.slice(0, 3)));
  assert.ok(!items.some((x) => x.ip === '203.0.113.7'), 'a forged address never reaches the audit');
  assert.ok(items.some((x) => x.ip === '127.0.0.1'), 'the address nginx saw');
});

test('a mixed workload through nginx survives a SIGKILLed server; the alert stream resumes on another', async (t) => {
  if (!onPostgres) return t.skip('PostgreSQL only');
  // three streams opened in turn land on the three servers (round robin)
  const streams = [];
  for (let i = 0; i < 3; i++) streams.push(await openStream(edge, cc));
  assert.ok(streams.every((s) => s.status === 200));
  const token = async () => (await res.get('/api/v1/me/code/token')).body.token;
  const acked = { persons: [], scans: [] };
  let seq = 101, killed = false;
  const one = async (k) => {
    const kind = k % 3;
    if (kind === 0) {
      const r = await cc.post('/api/v1/persons', { name: '甲' + k, id_number: residentId('110101', '19800101', (seq += 2)), region_code: COMMUNITY, address: '多福巷' + k + '号' });
      if (r.status === 201) acked.persons.push(r.body.id);
      else assert.ok([502, 503, 504].includes(r.status), r.text);
    } else if (kind === 1) {
      const r = await gate.post('/api/v1/scans', { venue_id: venue.id, token: await token(), direction: 'in', temperature: 38.6 });
      if (r.status === 201) acked.scans.push(r.body.record_id);
      else assert.ok([502, 503, 504].includes(r.status), r.text);
    } else if (k % 12 === 2) { // a few sign-ins: all come from one address, which has its limit
      const r = await new Client(edge).post('/api/v1/auth/login', { username: 'doctor_dc', password: PW });
      assert.ok([200, 502, 503, 504].includes(r.status), r.text);
    } else {
      const r = await cc.get('/api/v1/alerts?page_size=5');
      assert.ok([200, 502, 503, 504].includes(r.status), r.text);
    }
  };
  // background work due while the workload runs: once per period across the
  // three, over the workload's first part
  const before = overdueTasks(6);
  const w = await windowOpen(servers);
  const work = [];
  let after = [], victim;
  for (let k = 0; k < 48; k++) {
    work.push(one(k));
    if (work.length % 4 === 0) await Promise.all(work.splice(0));
    if (k === 20) {
      // the victim is the lease's holder, so the kill moves the sweep too
      victim = servers[await onceAPeriod(w, 1500)];
      victim.proc.kill('SIGKILL');
      killed = true;
      after = overdueTasks(6); // due while the sweep's holder is dead
    }
  }
  await Promise.all(work);
  assert.ok(killed);
  await actedOnceEach([...before, ...after]); // the `after` ones prove a survivor took over
  const survivors = servers.filter((x) => x !== victim);
  await onceAPeriod(await windowOpen(survivors), 1500);
  assert.ok(acked.persons.length >= 10 && acked.scans.length >= 10, JSON.stringify({ p: acked.persons.length, s: acked.scans.length }));
  // every acknowledged write is in the database
  const q = (sql) => execFileSync('psql', ['-X', '-tA', '-d', ctx.dbUrl, '-c', sql], { encoding: 'utf8' }).trim();
  assert.equal(Number(q(`SELECT COUNT(*) FROM persons WHERE id IN (${acked.persons.join(',')})`)), acked.persons.length);
  assert.equal(Number(q(`SELECT COUNT(*) FROM access_records WHERE id IN (${acked.scans.join(',')})`)), acked.scans.length);
  // the stream held by the killed server was cut; the others are still live
  const gone = (s) => s.ended || s.failed;
  assert.ok(await until(() => streams.some(gone), 5000), 'the stream on the killed server was cut');
  const cut = streams.find(gone);
  const live = streams.filter((s) => !gone(s));
  assert.equal(live.length, 2);
  // alerts raised while it was away, then it resumes through nginx with its last id
  const last = cut.events.filter((e) => e.id).at(-1);
  assert.ok(last, 'it had heard alerts before the kill');
  const r1 = await gate.post('/api/v1/scans', { venue_id: venue.id, token: await token(), direction: 'in', temperature: 39.1 });
  assert.equal(r1.status, 201, r1.text);
  const resumed = await openStream(edge, cc, { 'Last-Event-ID': last.id });
  assert.equal(resumed.status, 200, 'nginx sends it to a live server');
  const missed = (await cc.get(`/api/v1/alerts?page_size=200`)).body.items.filter((a) => BigInt(a.id) > BigInt(last.id)).map((a) => a.id).sort();
  assert.ok(missed.length >= r1.body.alerts.length);
  assert.ok(await until(() => resumed.events.filter((e) => e.event === 'alert').length >= missed.length, 5000));
  assert.deepEqual(resumed.events.filter((e) => e.event === 'alert').map((e) => e.id).sort(), missed, 'everything after its last event, once');
  // and live again: an alert raised now reaches it and the two streams that stayed
  const r2 = await gate.post('/api/v1/scans', { venue_id: venue.id, token: await token(), direction: 'in', temperature: 39.3 });
  assert.equal(r2.status, 201, r2.text);
  const fresh = r2.body.alerts.map((a) => a.id);
  for (const s of [resumed, ...live]) assert.ok(await until(() => fresh.every((id) => s.events.some((e) => e.id === id)), 5000), 'live on every server');
  for (const s of [resumed, ...streams]) s.close();
});
