// Peers and the outbox (docs/exchange.md "Peers and the outbox",
// src/exchange/peer.c, outbox.c): the registry of peers (exchange.admin,
// audited, bad input refused with its field and nothing changed), signed
// calls to a fake peer that verifies our signatures and signs its answers
// (测试连接), an answer with a bad signature taken as a failure, the
// peer's state on the list.
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { expectError, startCityWith, auditEntries } from './lib.mjs';
import { startFakePeer, sm2Pair } from './fake-peer.mjs';

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
      o_auditor: ['audit_admin', '110000000000'],
    },
    PW,
  );
  admin = ctx.as.o_admin;
  cc = ctx.as.o_cc;
  auditor = ctx.as.o_auditor;
  ours = sm2Pair(); // the key we sign with at the peer (uploaded)
  gov = await startFakePeer({
    caller: 'fk-dongcheng',
    callerKey: ours.publicPem,
    routes: { 'GET /exchange/v1/ping': (rq) => [200, { caller: rq.headers['x-fk-caller'], pong: true }] },
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

test('peers: delete, then 404', async () => {
  const p = await ok(admin.post('/api/v1/exchange/peers', peerBody({ name: '临时', datasets: [] })), 201);
  await ok(admin.del(`/api/v1/exchange/peers/${p.id}`), 204);
  expectError(await admin.get(`/api/v1/exchange/peers/${p.id}`), 404, 'peer_not_found');
  expectError(await admin.post(`/api/v1/exchange/peers/${p.id}/test`), 404, 'peer_not_found');
});
