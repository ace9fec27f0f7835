// Peers and the outbox (docs/exchange.md "Peers and the outbox",
// src/exchange/peer.c, outbox.c): the registry of peers (exchange.admin,
// audited, bad input refused with its field and nothing changed), signed
// calls to a fake peer that verifies our signatures and signs its answers
// (测试连接), an answer with a bad signature taken as a failure, the
// peer's state on the list; the outbox: changes made through the staff API
// arrive in order and only inside the peer's region, a peer down for a
// while then up loses nothing and receives nothing twice (a lost answer is
// resent under the same Idempotency-Key and the peer replays it), a
// record the peer refuses for good is recorded and passed, a bad answer
// signature holds the cursor, and the failing and outbox-age alerts are
// raised once per episode.
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { expectError, startCityWith, startPeer, auditEntries, residentId, sleep } from './lib.mjs';
import { startFakePeer, sm2Pair } from './fake-peer.mjs';
import { execFileSync } from 'node:child_process';
import fs from 'node:fs';
import path from 'node:path';

const PW = 'Passw0rd!outbox';
let ctx, admin, cc, auditor, gov, ours;

async function ok(p, status = 200) {
  const r = await p;
  assert.equal(r.status, status, r.text);
  return r.body;
}

before(async () => {
  ctx = await startCityWith(
    {
      o_admin: ['security_admin', '110000000000'],
      o_cc: ['command_center', '110101000000'],
      o_cc_xc: ['command_center', '110102000000'],
      o_auditor: ['audit_admin', '110000000000'],
    },
    PW,
    { env: { FK_OUTBOX_EVERY: '1', FK_OUTBOX_BACKOFF_MAX_S: '1' } },
  );
  admin = ctx.as.o_admin;
  cc = ctx.as.o_cc;
  auditor = ctx.as.o_auditor;
  ours = sm2Pair(); // the key we sign with at the peer (uploaded)
  gov = await startFakePeer({
    caller: 'fk-dongcheng',
    callerKey: ours.publicPem,
    routes: {
      'GET /exchange/v1/ping': (rq) => [200, { caller: rq.headers['x-fk-caller'], pong: true }],
      // the government platform's batch write: each record accepted, but one named 拒收 refused
      'POST /exchange/v1/persons': (rq) => {
        const results = rq.body.records.map((r, index) =>
          r.name === '拒收' ? { index, ok: false, error: { code: 'invalid_value', message: '姓名不合规', field: 'name' } } : { index, ok: true, id: r.id },
        );
        return [200, { results, accepted: results.filter((x) => x.ok).length, rejected: results.filter((x) => !x.ok).length }];
      },
    },
  });
});

after(async () => {
  await gov?.close();
  await ctx?.stop();
});

const peerBody = (over = {}) => ({
  name: '市政务服务平台',
  kind: 'gov',
  base_url: gov.url,
  caller: 'fk-dongcheng',
  key: ours.privatePem,
  peer_key: gov.keys.publicPem,
  timeout_s: 3,
  datasets: ['persons', 'returns'],
  region: '110101000000',
  ...over,
});

test('peers: only exchange.admin, bad input refused with its field and nothing stored', async () => {
  expectError(await cc.get('/api/v1/exchange/peers'), 403, 'forbidden');
  const cases = [
    [{ kind: 'nope' }, 'invalid_value', 'kind'],
    [{ base_url: 'ftp://x' }, 'invalid_url', 'base_url'],
    [{ base_url: 'http://x/' }, 'invalid_url', 'base_url'],
    [{ key: 'not a key' }, 'invalid_key', 'key'],
    [{ key: gov.keys.publicPem }, 'invalid_key', 'key'], // a public key where the private one goes
    [{ peer_key: ours.privatePem.replace('PRIVATE', 'PUBLIC') }, 'invalid_key', 'peer_key'],
    [{ datasets: ['persons', 'nope'] }, 'invalid_dataset', 'datasets'],
    [{ region: '999999000000' }, 'invalid_region', 'region'],
    [{ timeout_s: 0 }, 'out_of_range', 'timeout_s'],
    [{ ca_file: 'relative.pem' }, 'invalid_ca_file', 'ca_file'],
    [{ name: '' }, 'too_short', 'name'],
  ];
  for (const [over, code, field] of cases) {
    const r = await admin.post('/api/v1/exchange/peers', peerBody(over));
    assert.equal(r.status, 400, `${JSON.stringify(over)}: ${r.text}`);
    assert.equal(r.body.error.field, field, `${JSON.stringify(over)}: ${r.text}`);
    if (code !== 'too_short') assert.equal(r.body.error.code, code, r.text);
  }
  const missing = await admin.post('/api/v1/exchange/peers', { name: 'x', kind: 'gov' });
  expectError(missing, 400, 'required');
  assert.deepEqual((await ok(admin.get('/api/v1/exchange/peers'))).items, []);
});

let govId;
test('peers: create, read without the private key, update, name taken, audited', async () => {
  const p = await ok(admin.post('/api/v1/exchange/peers', peerBody()), 201);
  govId = p.id;
  assert.equal(p.name, '市政务服务平台');
  assert.equal(p.kind_label, '政务服务平台');
  assert.equal(p.key, 'uploaded');
  assert.equal(p.region_name, '东城区');
  assert.deepEqual(p.datasets, ['persons', 'returns']);
  assert.equal(p.last_ok_at, null);
  assert.ok(!JSON.stringify(p).includes('PRIVATE'), 'the private key never comes back');
  expectError(await admin.post('/api/v1/exchange/peers', peerBody()), 409, 'peer_name_taken');
  const u = await ok(admin.patch(`/api/v1/exchange/peers/${govId}`, { timeout_s: 5 }));
  assert.equal(u.timeout_s, 5);
  assert.equal(u.key, 'uploaded', 'a PATCH without key keeps it');
  expectError(await admin.patch(`/api/v1/exchange/peers/${govId}`, { base_url: 'nope' }), 400, 'invalid_url', 'base_url');
  assert.equal((await ok(admin.get(`/api/v1/exchange/peers/${govId}`))).base_url, gov.url, 'a refused PATCH changes nothing');
  assert.equal((await auditEntries(auditor, 'exchange.peer.create', govId)).length, 1);
  assert.ok((await auditEntries(auditor, 'exchange.peer.update', govId)).length >= 1);
});

test('test connection: a signed ping verified by the peer, its signed answer verified by us', async () => {
  const n0 = gov.calls.length;
  const r = await ok(admin.post(`/api/v1/exchange/peers/${govId}/test`));
  assert.equal(r.ok, true, JSON.stringify(r));
  assert.equal(r.verified, true);
  assert.deepEqual(r.answer, { caller: 'fk-dongcheng', pong: true });
  const call = gov.calls[n0];
  assert.equal(call.verified, true, 'the peer verified our signature');
  assert.equal(call.path, '/exchange/v1/ping');
  assert.match(call.headers['x-fk-nonce'], /^[0-9a-f]{32}$/);
  const p = await ok(admin.get(`/api/v1/exchange/peers/${govId}`));
  assert.ok(p.last_ok_at, 'the success is on the list');
  assert.equal(p.failing, false);
});

test('test connection: a bad answer signature, an unsigned answer, a refusal and a dead peer are failures with their reason', async () => {
  try {
    gov.mode = 'bad_signature';
    let r = await ok(admin.post(`/api/v1/exchange/peers/${govId}/test`));
    assert.equal(r.ok, false);
    assert.equal(r.verified, false);
    assert.equal(r.code, 'peer_signature_invalid');
    let p = await ok(admin.get(`/api/v1/exchange/peers/${govId}`));
    assert.equal(p.failing, true);
    assert.match(p.last_error, /签名无效/);

    gov.mode = 'unsigned';
    r = await ok(admin.post(`/api/v1/exchange/peers/${govId}/test`));
    assert.equal(r.code, 'peer_signature_invalid');

    gov.mode = 'error503';
    r = await ok(admin.post(`/api/v1/exchange/peers/${govId}/test`));
    assert.equal(r.ok, false);
    assert.equal(r.status, 503);
    assert.equal(r.verified, true);
    assert.equal(r.code, 'maintenance');
    p = await ok(admin.get(`/api/v1/exchange/peers/${govId}`));
    assert.match(p.last_error, /HTTP 503/);

    gov.mode = 'down';
    r = await ok(admin.post(`/api/v1/exchange/peers/${govId}/test`));
    assert.equal(r.ok, false);
    assert.equal(r.status, 0);
    assert.equal(r.code, 'peer_unreachable');
    p = await ok(admin.get(`/api/v1/exchange/peers/${govId}`));
    assert.match(p.last_error, /无法连接|无应答/);
  } finally {
    gov.mode = 'ok';
  }
  // our key replaced by one the peer does not know: the peer refuses (401), a failure
  const other = sm2Pair();
  await ok(admin.patch(`/api/v1/exchange/peers/${govId}`, { key: other.privatePem }));
  let r = await ok(admin.post(`/api/v1/exchange/peers/${govId}/test`));
  assert.equal(r.ok, false);
  assert.equal(r.status, 401);
  assert.equal(r.code, 'signature_invalid');
  await ok(admin.patch(`/api/v1/exchange/peers/${govId}`, { key: ours.privatePem }));
  r = await ok(admin.post(`/api/v1/exchange/peers/${govId}/test`));
  assert.equal(r.ok, true, 'back to healthy');
  const p = await ok(admin.get(`/api/v1/exchange/peers/${govId}`));
  assert.equal(p.failing, false);
});

test('the government-affairs connector: a gov peer is subscribed to its five datasets unless told otherwise', async () => {
  const body = peerBody({ name: '区政务数据共享平台' });
  delete body.datasets;
  const p = await ok(admin.post('/api/v1/exchange/peers', body), 201);
  assert.deepEqual(p.datasets, ['persons', 'returns', 'contacts', 'itineraries', 'isolations']);
  const q = await ok(admin.post('/api/v1/exchange/peers', peerBody({ name: '区公安', kind: 'police', datasets: undefined })), 201);
  assert.deepEqual(q.datasets, [], 'other kinds subscribe to nothing by default');
  await ok(admin.del(`/api/v1/exchange/peers/${p.id}`), 204);
  await ok(admin.del(`/api/v1/exchange/peers/${q.id}`), 204);
});

test('a peer without an uploaded key: calls signed with the server key', async () => {
  const sk = await fetch(`${ctx.url}/exchange/v1/server-key`).then((r) => r.json());
  const parent = await startFakePeer({
    caller: 'child-dongcheng',
    callerKey: sk.public_key_pem,
    routes: { 'GET /exchange/v1/ping': () => [200, { pong: true }] },
  });
  try {
    const p = await ok(admin.post('/api/v1/exchange/peers', peerBody({ name: '上级防控平台', kind: 'fangkong', base_url: parent.url, caller: 'child-dongcheng', key: null, peer_key: parent.keys.publicPem, datasets: [] })), 201);
    assert.equal(p.key, 'server');
    const r = await ok(admin.post(`/api/v1/exchange/peers/${p.id}/test`));
    assert.equal(r.ok, true, JSON.stringify(r));
    assert.equal(parent.calls.at(-1).verified, true);
    await ok(admin.del(`/api/v1/exchange/peers/${p.id}`), 204);
  } finally {
    await parent.close();
  }
});

test('https: the peer certificate checked against the CA file given, refused against the system store', async () => {
  const dir = fs.mkdtempSync(path.join(ctx.dir, 'tls-'));
  const key = path.join(dir, 'key.pem');
  const cert = path.join(dir, 'cert.pem');
  execFileSync('openssl', ['req', '-x509', '-newkey', 'ec', '-pkeyopt', 'ec_paramgen_curve:prime256v1', '-nodes', '-keyout', key, '-out', cert, '-days', '1', '-subj', '/CN=127.0.0.1', '-addext', 'subjectAltName=IP:127.0.0.1'], { stdio: 'ignore' });
  const tlsPeer = await startFakePeer({
    caller: 'fk-dongcheng',
    callerKey: ours.publicPem,
    tls: { key: fs.readFileSync(key), cert: fs.readFileSync(cert) },
    routes: { 'GET /exchange/v1/ping': () => [200, { pong: 'tls' }] },
  });
  try {
    const p = await ok(admin.post('/api/v1/exchange/peers', peerBody({ name: '加密对接', base_url: tlsPeer.url, peer_key: tlsPeer.keys.publicPem, datasets: [] })), 201);
    let r = await ok(admin.post(`/api/v1/exchange/peers/${p.id}/test`));
    assert.equal(r.ok, false, 'a self-signed certificate is not in the system store');
    assert.equal(r.code, 'peer_unreachable');
    assert.match(r.message, /证书/);
    assert.equal(tlsPeer.calls.length, 0, 'nothing was sent over the unverified connection');
    await ok(admin.patch(`/api/v1/exchange/peers/${p.id}`, { ca_file: cert }));
    r = await ok(admin.post(`/api/v1/exchange/peers/${p.id}/test`));
    assert.equal(r.ok, true, JSON.stringify(r));
    assert.deepEqual(r.answer, { pong: 'tls' });
    await ok(admin.del(`/api/v1/exchange/peers/${p.id}`), 204);
  } finally {
    await tlsPeer.close();
  }
});

test('peers: delete, then 404', async () => {
  const p = await ok(admin.post('/api/v1/exchange/peers', peerBody({ name: '临时', datasets: [] })), 201);
  await ok(admin.del(`/api/v1/exchange/peers/${p.id}`), 204);
  expectError(await admin.get(`/api/v1/exchange/peers/${p.id}`), 404, 'peer_not_found');
  expectError(await admin.post(`/api/v1/exchange/peers/${p.id}/test`), 404, 'peer_not_found');
});

// ---- the outbox ----

let seqNo = 0;
const rid = () => residentId('110101', '19800303', 300 + ++seqNo * 2);
const person = async (name, region = '110101001001') =>
  (await ok((region.startsWith('110102') ? ctx.as.o_cc_xc : cc).post('/api/v1/persons', { name, id_number: rid(), region_code: region }), 201)).id;

// The person records the peer accepted, in the order it received them
// (first answers only: a replayed key is not a second delivery).
const delivered = () =>
  [...gov.byKey.values()].filter((b) => b.rq.path === '/exchange/v1/persons').flatMap((b) => b.rq.body.records);

async function poll(fn, ms = 15000) {
  for (let t = 0; t < ms; t += 100) {
    if (await fn()) return true;
    await sleep(100);
  }
  return fn();
}

const alertsOf = async (kind) => (await ok(cc.get(`/api/v1/alerts?kind=${kind}&page_size=200`))).items;

test('outbox: changes made through the staff API arrive in order, signed, only inside the region', async () => {
  const ids = [];
  for (let i = 0; i < 5; i++) ids.push(await person(`外送${i}`));
  const outside = await person('西城人', '110102001001');
  assert.ok(await poll(() => ids.every((id) => delivered().some((r) => r.id === id))), 'all five arrive');
  assert.ok(await poll(async () => (await ok(admin.get(`/api/v1/exchange/peers/${govId}`))).backlog === 0), 'the cursor moves past them');
  const got = delivered().map((r) => r.id);
  assert.deepEqual(got.filter((id) => ids.includes(id)), ids, 'in the order they were made');
  assert.ok(!got.includes(outside), 'a change outside the peer region is not sent');
  const rec = delivered().find((r) => r.id === ids[0]);
  assert.equal(rec.name, '外送0', 'the record in full for the entitled peer');
  const posts = gov.calls.filter((c) => c.path === '/exchange/v1/persons');
  assert.ok(posts.every((c) => c.verified && c.headers['idempotency-key']?.startsWith('ob:')));
  const p = await ok(admin.get(`/api/v1/exchange/peers/${govId}`));
  const row = p.outbox.find((o) => o.dataset === 'persons');
  assert.equal(row.backlog, 0);
  assert.equal(p.backlog, 0);
  // the records left audited
  assert.ok((await auditEntries(auditor, 'exchange.outbox.send', govId)).length >= 1);
});

test('outbox: a record refused for good is recorded and passed; the next ones follow', async () => {
  const bad = await person('拒收');
  const next = await person('随后');
  assert.ok(await poll(() => delivered().some((r) => r.id === next)));
  assert.ok(await poll(async () => (await ok(admin.get(`/api/v1/exchange/peers/${govId}`))).backlog === 0));
  const p = await ok(admin.get(`/api/v1/exchange/peers/${govId}`));
  const rj = p.rejects.find((x) => x.object_id === bad);
  assert.ok(rj, JSON.stringify(p.rejects));
  assert.equal(rj.code, 'invalid_value');
  assert.equal(rj.message, '姓名不合规');
  assert.equal(p.backlog, 0);
});

test('outbox: the peer down for a while then up, an answer lost on the way: nothing lost, nothing twice', async () => {
  gov.mode = 'down';
  const during = [];
  for (let i = 0; i < 4; i++) during.push(await person(`断线${i}`));
  assert.ok(
    await poll(async () => {
      const p = await ok(admin.get(`/api/v1/exchange/peers/${govId}`));
      return p.failing && p.outbox.find((o) => o.dataset === 'persons').attempts >= 2;
    }),
    'retried with back-off while down',
  );
  let p = await ok(admin.get(`/api/v1/exchange/peers/${govId}`));
  assert.equal(p.backlog, 4);
  // the workbench counts the failing peer, for the administrator only
  const wb = async (c) => (await ok(c.get('/api/v1/workbench'))).entries.find((e) => e.key === 'exchange_peers_failing');
  const entry = await wb(admin);
  assert.equal(entry.count, 1);
  assert.equal(entry.console, '/exchange/peers');
  assert.equal(await wb(cc), undefined);
  assert.match(p.last_error, /无法连接|无应答/);
  assert.ok(!during.some((id) => delivered().some((r) => r.id === id)));
  // back, but the answer to the first batch is cut after the peer stored it
  gov.loseAnswers = 1;
  gov.mode = 'ok';
  const dup0 = gov.duplicates;
  assert.ok(await poll(() => during.every((id) => delivered().some((r) => r.id === id))));
  assert.ok(await poll(async () => (await ok(admin.get(`/api/v1/exchange/peers/${govId}`))).backlog === 0));
  assert.ok(gov.duplicates > dup0, 'the batch whose answer was lost came again, under the same key');
  const all = delivered().map((r) => r.id);
  assert.equal(new Set(all).size, all.length, 'no record stored twice');
  assert.deepEqual(all.filter((id) => during.includes(id)), during, 'still in order');
  p = await ok(admin.get(`/api/v1/exchange/peers/${govId}`));
  assert.equal(p.failing, false);
  assert.equal((await wb(admin)).count, 0);
});

test('outbox: an answer with a bad signature holds the cursor and is a failure', async () => {
  gov.mode = 'bad_signature';
  const id = await person('验签');
  assert.ok(
    await poll(async () => {
      const p = await ok(admin.get(`/api/v1/exchange/peers/${govId}`));
      return p.failing && /签名无效/.test(p.last_error);
    }),
  );
  let p = await ok(admin.get(`/api/v1/exchange/peers/${govId}`));
  assert.equal(p.backlog, 1, 'not counted as delivered although the peer stored it');
  gov.mode = 'ok';
  // the peer replays its stored answer (now signed right) for the same key
  const r = await ok(admin.post(`/api/v1/exchange/peers/${govId}/flush`));
  assert.equal(typeof r.sent, 'number');
  assert.ok(await poll(async () => (await ok(admin.get(`/api/v1/exchange/peers/${govId}`))).backlog === 0));
  assert.equal(delivered().filter((x) => x.id === id).length, 1);
  p = await ok(admin.get(`/api/v1/exchange/peers/${govId}`));
  assert.equal(p.failing, false);
});

test('alerts: a peer failing past its threshold, and an outbox older than its threshold, each once per episode', async () => {
  await ok(admin.patch(`/api/v1/exchange/peers/${govId}`, { fail_after_s: 1, stale_after_s: 2 }));
  const failing0 = (await alertsOf('exchange_peer_failing')).length;
  const stale0 = (await alertsOf('exchange_outbox_stale')).length;
  gov.mode = 'down';
  await person('告警');
  assert.ok(await poll(async () => (await alertsOf('exchange_peer_failing')).length === failing0 + 1), 'failing alert');
  assert.ok(await poll(async () => (await alertsOf('exchange_outbox_stale')).length === stale0 + 1), 'stale alert');
  const a = (await alertsOf('exchange_peer_failing'))[0];
  assert.match(a.message, /市政务服务平台/);
  assert.equal(a.region_code, '110101000000000000');
  await sleep(2500); // more rounds while still failing: no second alert
  assert.equal((await alertsOf('exchange_peer_failing')).length, failing0 + 1);
  assert.equal((await alertsOf('exchange_outbox_stale')).length, stale0 + 1);
  // the episode ends when the peer is back; a new failure is a new episode
  gov.mode = 'ok';
  assert.ok(await poll(async () => (await ok(admin.get(`/api/v1/exchange/peers/${govId}`))).backlog === 0));
  assert.equal((await ok(admin.get(`/api/v1/exchange/peers/${govId}`))).failing, false);
  gov.mode = 'down';
  await person('告警二'); // the outbox calls only when it has something to send
  assert.ok(await poll(async () => (await alertsOf('exchange_peer_failing')).length === failing0 + 2), 'a second episode');
  gov.mode = 'ok';
  await ok(admin.patch(`/api/v1/exchange/peers/${govId}`, { fail_after_s: 600, stale_after_s: 1800 }));
});

test('two servers on one database: each batch sent once, in order (the lease)', async () => {
  const second = await startPeer(ctx, { FK_OUTBOX_EVERY: '1' });
  try {
    const dup0 = gov.duplicates;
    const posts0 = gov.calls.filter((c) => c.path === '/exchange/v1/persons').length;
    const ids = [];
    for (let i = 0; i < 12; i++) {
      ids.push(await person(`双机${i}`));
      if (i % 3 === 2) await sleep(400); // changes spread over several rounds of both servers
    }
    assert.ok(await poll(() => ids.every((id) => delivered().some((r) => r.id === id))));
    assert.ok(await poll(async () => (await ok(admin.get(`/api/v1/exchange/peers/${govId}`))).backlog === 0));
    assert.equal(gov.duplicates, dup0, 'no batch was sent twice');
    const posts = gov.calls.filter((c) => c.path === '/exchange/v1/persons').slice(posts0);
    const keys = posts.map((c) => c.headers['idempotency-key']);
    assert.equal(new Set(keys).size, keys.length, 'every batch under its own key, once');
    const all = delivered().map((r) => r.id);
    assert.equal(new Set(all).size, all.length);
    assert.deepEqual(all.filter((id) => ids.includes(id)), ids, 'in order across both servers');
  } finally {
    await second.stop();
  }
});
