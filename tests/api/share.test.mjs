// Shared recognition (共享互认; docs/exchange.md "Shared recognition"): a
// district parent and two street children on loopback, each with its own
// FK_NODE and master key; under scripts/with-postgres.sh street B runs on
// PostgreSQL. A resident registered at street A shows A's health code at a
// gate of street B: B cannot verify it (another key), asks the district,
// which asks A (the peer whose nodes hold the token's node); A answers the
// current colour. Set up with the real APIs only: callers with the codes
// read grant, peers both ways with their nodes.
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { sleep, onPostgres, waitForAudit } from './lib.mjs';
import { startShare, ok, caller, serverKey, COMM_A, COMM_B, DISTRICT } from './share-lib.mjs';
import { ExchangeClient } from '../../clients/exchange-client.mjs';

const CACHE_S = 2; // street A's FK_SHARE_CACHE_S: how stale a remote colour may be
let fed, parent, pAdmin, st, venueB, tokenOf, scanB, jia, yi;
const recordsB = async () => (await ok(await st.B.cc.get(`/api/v1/access-records?venue_id=${venueB.id}&page_size=100`))).items;

// A well-formed health token whose subject carries `node` (tag random): the
// shape of a code from an instance nobody here knows.
function tokenOfNode(node) {
  const B32 = 'ABCDEFGHIJKLMNOPQRSTUVWXYZ234567';
  const enc = (buf) => {
    let bits = 0, v = 0, out = '';
    for (const b of buf) {
      v = (v << 8) | b; bits += 8;
      while (bits >= 5) { out += B32[(v >>> (bits - 5)) & 31]; bits -= 5; }
      v &= (1 << bits) - 1;
    }
    return bits ? out + B32[(v << (5 - bits)) & 31] : out;
  };
  const now = Date.now();
  const subject = (BigInt(now - Date.UTC(2024, 0, 1)) << 22n) | (BigInt(node) << 12n) | 1n;
  const p = Buffer.alloc(21);
  p[0] = 1;
  p.writeUInt32BE(Math.floor((now + 8 * 3600e3) / 86400e3), 1);
  p.writeBigUInt64BE(subject, 5);
  p.writeUInt32BE(Math.floor(now / 1000), 13);
  p.writeUInt32BE(Math.floor(now / 1000) + 180, 17);
  return `FK1.${enc(p)}.${enc(Buffer.alloc(10, 7))}`;
}

before(async () => {
  fed = await startShare({ envA: { FK_SHARE_CACHE_S: String(CACHE_S) } });
  ({ parent, pAdmin, st, venueB, tokenOf, scanB } = fed);
  jia = await fed.resident('A', '张三丰', COMM_A);
  yi = await fed.resident('B', '李四光', COMM_B);
});

after(async () => {
  await fed?.stop();
});

test("a street A resident passes street B's gate with A's colour; the record at B names them masked with A's street", async () => {
  assert.equal(!!st.B.ctx.dbUrl, onPostgres, 'street B is on PostgreSQL exactly under with-postgres');
  // positive control: B's own resident, verified locally (no sharing)
  const local = await ok(await scanB(await tokenOf(yi)), 201);
  assert.equal(local.verdict, 'pass');
  assert.equal(local.shared, undefined);

  const before = (await recordsB()).length;
  const r = await ok(await scanB(await tokenOf(jia), { temperature: 36.5 }), 201);
  assert.equal(r.verdict, 'pass', JSON.stringify(r));
  assert.equal(r.colour, 'green');
  assert.equal(r.shared, true);
  assert.equal(r.issuer_region_name, '东华门街道');
  assert.equal(r.issuer, 32);
  assert.equal(r.name, '张*丰');
  assert.equal(r.person_id, jia.personId, "the record keeps the issuer's person id");
  const recs = await recordsB();
  assert.equal(recs.length, before + 1);
  const rec = recs.find((x) => x.id === r.record_id);
  assert.ok(rec, 'the access record is at B');
  assert.equal(rec.person_id, jia.personId);
  assert.equal(rec.person_name, '张*丰（外区：东华门街道）');
  assert.equal(rec.temperature, 36.5);
  // the CSV export names them the same way
  const csv = await st.B.cc.get(`/api/v1/access-records?venue_id=${venueB.id}&format=csv`);
  assert.equal(csv.status, 200);
  assert.ok(csv.text.includes('张*丰（外区：东华门街道）'), csv.text.slice(0, 400));
  // A audited the district's read of its resident's code
  const audit = await waitForAudit(st.A.audit, 'action=exchange.codes.verify', (e) => e.object_id === jia.personId);
  assert.ok(audit.some((e) => e.object_id === jia.personId), JSON.stringify(audit).slice(0, 400));
});

test('street A turns the resident red: within the cache bound street B refuses them and raises the colour alert', async () => {
  const token = await tokenOf(jia);
  assert.equal((await ok(await scanB(token), 201)).verdict, 'pass', 'positive control: green first');
  await ok(await st.A.site.post(`/api/v1/persons/${jia.personId}/test-results`, {
    result: 'positive', sampled_at: Date.now() - 3600e3, reported_at: Date.now() - 600e3, institution: '东城区疾控中心',
  }), 201);
  assert.equal((await ok(await st.A.cc.get(`/api/v1/persons/${jia.personId}/code`))).colour, 'red', 'red at A');
  await sleep(CACHE_S * 1000 + 500);
  const r = await ok(await scanB(token), 201);
  assert.equal(r.colour, 'red', JSON.stringify(r));
  assert.equal(r.verdict, 'deny');
  assert.ok(r.deny_reasons.some((d) => d.code === 'colour_not_allowed' || d.text.includes('颜色')), JSON.stringify(r.deny_reasons));
  assert.ok(r.alerts.some((a) => a.kind === 'code_colour'), 'a red remote code raises the same alert');
  const rec = (await recordsB()).find((x) => x.id === r.record_id);
  assert.equal(rec.colour, 'red');
  assert.equal(rec.verdict, 'deny');
});

test('a tampered token is refused as forged by its issuer, through the district', async () => {
  const token = await tokenOf(yi);
  const real = await tokenOf(jia);
  const [head, tag] = [real.slice(0, real.lastIndexOf('.') + 1), real.slice(real.lastIndexOf('.') + 1)];
  const tampered = head + (tag[0] === 'A' ? 'B' : 'A') + tag.slice(1);
  const before = (await recordsB()).length;
  const r = await scanB(tampered);
  assert.equal(r.status, 400, r.text);
  assert.equal(r.body.error.code, 'token_forged');
  assert.equal((await recordsB()).length, before, 'nothing recorded');
  assert.equal((await scanB(token)).status, 201, 'positive control');
});

test('a token of a node nobody serves: share_issuer_unknown', async () => {
  const before = (await recordsB()).length;
  const r = await scanB(tokenOfNode(99));
  assert.equal(r.status, 404, r.text);
  assert.equal(r.body.error.code, 'share_issuer_unknown');
  assert.equal((await recordsB()).length, before);
});

test('the verify operation: signed, bounded by hops, and checks its body', async () => {
  const c = new ExchangeClient({ base: parent.url, caller: st.B.upCaller.id, privateKeyPem: st.B.upCaller.private_key_pem, serverKeyPem: await serverKey(parent.url) });
  const token = await tokenOf(yi); // B's resident: the district asks B
  const good = await c.post('/exchange/v1/codes/verify', { token, hops: 3 });
  assert.equal(good.status, 200, good.text);
  assert.ok(good.verified, "the district's answer is signed");
  assert.equal(good.body.person_id, yi.personId);
  assert.equal(good.body.issuer, 33);
  assert.ok(good.body.valid_until > Date.now());
  const far = await c.post('/exchange/v1/codes/verify', { token: await tokenOf(jia), hops: 4 });
  assert.equal(far.status, 409, far.text);
  assert.equal(far.body.error.code, 'share_too_many_hops');
  // never back where it came from: via names A, so A's token is not sent there
  const back = await c.post('/exchange/v1/codes/verify', { token: await tokenOf(jia), via: [32] });
  assert.equal(back.status, 404, back.text);
  assert.equal(back.body.error.code, 'share_issuer_unknown');
  for (const [body, field] of [[{}, 'token'], [{ token: 5 }, 'token'], [{ token, hops: -1 }, 'hops'], [{ token, hops: 'x' }, 'hops'], [{ token, via: [2000] }, 'via'], [{ token, via: 'x' }, 'via']]) {
    const r = await c.post('/exchange/v1/codes/verify', body);
    assert.equal(r.status, 400, `${JSON.stringify(body)}: ${r.text}`);
    assert.equal(r.body.error.field, field);
  }
  const junk = await c.post('/exchange/v1/codes/verify', { token: 'FK1.NOTATOKEN' });
  assert.equal(junk.status, 400);
  assert.equal(junk.body.error.code, 'token_malformed');
  // a caller without the codes grant is refused
  const none = await caller(pAdmin, '无授权平台', [DISTRICT], ['zones']);
  const c2 = new ExchangeClient({ base: parent.url, caller: none.id, privateKeyPem: none.private_key_pem, serverKeyPem: await serverKey(parent.url) });
  const refused = await c2.post('/exchange/v1/codes/verify', { token });
  assert.equal(refused.status, 403, refused.text);
});

test('peer node lists are checked', async () => {
  const id = st.A.peerAtParent.id;
  for (const nodes of ['abc', '40-32', '1024', '3,,4', '-1']) {
    const r = await pAdmin.patch(`/api/v1/exchange/peers/${id}`, { nodes });
    assert.equal(r.status, 400, `${nodes}: ${r.text}`);
    assert.equal(r.body.error.code, 'invalid_nodes');
  }
  const r = await ok(await pAdmin.patch(`/api/v1/exchange/peers/${id}`, { nodes: '32, 40-47' }));
  const got = await ok(await pAdmin.get(`/api/v1/exchange/peers/${id}`));
  assert.equal(got.nodes, '32,40-47', JSON.stringify(r).slice(0, 200));
  await ok(await pAdmin.patch(`/api/v1/exchange/peers/${id}`, { nodes: '32' }));
});

test('the district down: a clear 503 at the gate and nothing recorded', async () => {
  const token = await tokenOf(jia); // a new token: nothing cached for it
  await parent.stop();
  try {
    const before = (await recordsB()).length;
    const r = await scanB(token);
    assert.equal(r.status, 503, r.text);
    assert.equal(r.body.error.code, 'share_unavailable');
    assert.match(r.body.error.message, /无法向上级平台核验该健康码/);
    assert.equal((await recordsB()).length, before, 'nothing recorded');
    assert.equal((await scanB(await tokenOf(yi))).status, 201, "positive control: B's own residents still pass");
  } finally {
    await parent.restart();
  }
  assert.equal((await scanB(await tokenOf(jia))).status, 201, 'back once the district is');
});
