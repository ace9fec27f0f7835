// Federation (docs/exchange.md "Federation", src/exchange/federation.c):
// the downward flow. A district instance (the parent, a real fangkong)
// publishes zones and risk areas; its change feed is served, signed, by a
// stand-in for the parent's exchange front (fake-peer.mjs: the records are
// the parent's own API output, the page the shape of
// /exchange/v1/<dataset>/changes). A street instance (the child) pulls it
// with a stored cursor and applies every change through code's contracts:
// the parent's sealed zone turns the child's resident red, a lift turns
// them green, a change sent twice or updated later maps onto the same copy,
// a bad record is passed and counted while the rest of the page applies, a
// bad page, a forged or unsigned answer and a dead parent change nothing
// and leave the reason; the periodic puller does it alone; a district-wide
// zone reaches the street child anchored at the child's root.
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { startCityWith, residentId, expectError, waitForAudit, sleep } from './lib.mjs';
import { startFakePeer, sm2Pair } from './fake-peer.mjs';

const PW = 'Passw0rd!fed';
const COMMUNITY = '110101001001'; // 多福巷社区
const BUILDING = '110101001001001001'; // 1号楼
const PARENT = '东城区防控平台';
let parent, child, front, ours, pAdmin, pcc, cAdmin, ccc, cAuditor, parentPeerId;
const feed = { zones: [], risk_areas: [] }; // the parent's change log as its front serves it
let seq = 0;

async function ok(r, status = 200) {
  assert.equal(r.status, status, r.text);
  return r.body;
}

// The parent's change of a record: its state read through the parent's own
// API (the same JSON exchange_record_json sends), appended to the feed.
async function publish(dataset, id, op = 'upsert') {
  const path = dataset === 'zones' ? `/api/v1/zones/${id}` : `/api/v1/risk-areas/${id}`;
  const record = op === 'delete' ? { id, deleted: true } : await ok(await pcc.get(path));
  feed[dataset].push({ seq: ++seq, op, id, region: record.region_code || '000000000000', record });
}

function changesRoute(dataset) {
  return (rq) => {
    const q = new URLSearchParams(rq.query);
    const since = Number(q.get('since') || 0);
    const limit = Number(q.get('limit') || 100);
    const after_ = feed[dataset].filter((c) => c.seq > since);
    const items = after_.slice(0, limit);
    return [200, { items, next: items.length ? items.at(-1).seq : since, more: after_.length > limit }];
  };
}

const pull = () => cAdmin.post('/api/v1/exchange/federation/pull');
const colour = async (id) => (await ok(await ccc.get(`/api/v1/persons/${id}/code`))).colour;
const childZones = async () => (await ok(await ccc.get('/api/v1/zones?page_size=100'))).items;
const childAreas = async () => (await ok(await ccc.get('/api/v1/risk-areas?page_size=100'))).items;
const cursor = async (ds) => (await ok(await cAdmin.get('/api/v1/exchange/federation'))).cursors.find((c) => c.dataset === ds);

before(async () => {
  ours = sm2Pair(); // the child's key at the parent (its caller key there)
  parent = await startCityWith(
    { p_admin: ['security_admin', '110000000000'], p_cc: ['command_center', '110101000000'] },
    PW,
    { env: { FK_NODE: '11' } },
  );
  ({ p_admin: pAdmin, p_cc: pcc } = parent.as);
  front = await startFakePeer({
    caller: 'fk-donghuamen',
    callerKey: ours.publicPem,
    routes: {
      'GET /exchange/v1/zones/changes': changesRoute('zones'),
      'GET /exchange/v1/risk_areas/changes': changesRoute('risk_areas'),
    },
  });
  child = await startCityWith(
    {
      c_admin: ['security_admin', '110000000000'],
      c_cc: ['command_center', '110101000000'],
      c_auditor: ['audit_admin', '110000000000'],
    },
    PW,
    { env: { FK_NODE: '12', FK_FED_PARENT: PARENT, FK_FED_PULL: '0' } },
  );
  ({ c_admin: cAdmin, c_cc: ccc, c_auditor: cAuditor } = child.as);
});

after(async () => {
  await front?.close();
  await child?.stop();
  await parent?.stop();
});

test('pull: exchange.admin only; a parent named but not registered is refused with its reason and nothing changes', async () => {
  expectError(await ccc.post('/api/v1/exchange/federation/pull'), 403, 'forbidden');
  expectError(await pull(), 404, 'peer_not_found');
  const st = await ok(await cAdmin.get('/api/v1/exchange/federation'));
  assert.equal(st.parent, null);
  assert.deepEqual(st.cursors, []);
  // a peer of another kind under the parent's name is not a parent
  const gov = await ok(
    await cAdmin.post('/api/v1/exchange/peers', {
      name: PARENT, kind: 'gov', base_url: front.url, caller: 'fk-donghuamen', key: ours.privatePem,
      peer_key: front.keys.publicPem, timeout_s: 3, region: '110101000000',
    }),
    201,
  );
  expectError(await pull(), 400, 'fed_parent_kind');
  assert.equal(front.calls.length, 0, 'nothing was asked of it');
  await ok(await cAdmin.patch(`/api/v1/exchange/peers/${gov.id}`, { kind: 'fangkong' }));
  parentPeerId = gov.id;
});

test('a sealed zone the parent publishes turns the child resident red; pulled again nothing is duplicated', async () => {
  const pid = (await ok(await ccc.post('/api/v1/persons', { name: '林小满', id_number: residentId('110101', '19850505', 611), region_code: BUILDING }), 201)).id;
  assert.equal(await colour(pid), 'green', 'positive control: green before');
  const zone = await ok(await pcc.post('/api/v1/zones', { kind: 'sealed', name: '多福巷封控区', region_code: COMMUNITY }), 201);
  await publish('zones', zone.id);
  const r = await ok(await pull());
  assert.equal(r.applied, 1, JSON.stringify(r));
  assert.equal(r.parent.name, PARENT);
  const call = front.calls.find((c) => c.path === '/exchange/v1/zones/changes');
  assert.equal(call.verified, true, 'the parent verified our signature');
  assert.match(call.query, /since=0/);
  const mine = (await childZones()).filter((z) => z.name === '多福巷封控区');
  assert.equal(mine.length, 1);
  assert.equal(mine[0].kind, 'sealed');
  assert.notEqual(mine[0].id, zone.id, 'the copy has an id of the child');
  assert.equal(await colour(pid), 'red', "the parent's zone moves the child's codes");
  // pulled again: nothing new; the same change sent again (a retry at the
  // parent) maps onto the same copy
  assert.equal((await ok(await pull())).applied, 0);
  assert.match(front.calls.at(-2).query, /since=1/);
  await publish('zones', zone.id);
  assert.equal((await ok(await pull())).applied, 1);
  assert.equal((await childZones()).filter((z) => z.name === '多福巷封控区').length, 1, 'no duplicate');
  assert.equal((await cursor('zones')).seq, 2);
  // the lift at the parent ends the copy and the resident is green again
  await ok(await pcc.post(`/api/v1/zones/${zone.id}/lift`, { reason: '连续14天无新增' }));
  await publish('zones', zone.id);
  assert.equal((await ok(await pull())).applied, 1);
  const lifted = (await childZones()).find((z) => z.name === '多福巷封控区');
  assert.equal(lifted.state, 'ended');
  assert.equal(await colour(pid), 'green');
  await waitForAudit(cAuditor, { action: 'exchange.fed.zones' }, (items) => items.length >= 3);
  await waitForAudit(cAuditor, { action: 'exchange.fed.pull' }, (items) => items.length >= 1);
});

test('risk areas: created, changed and deleted at the parent, the same at the child', async () => {
  const t = Date.now() - 60000;
  const area = await ok(await pcc.post('/api/v1/risk-areas', { name: '某市某区某街道', level: 'high', region_code: '110102001000', valid_from: t }), 201);
  await publish('risk_areas', area.id);
  assert.equal((await ok(await pull())).applied, 1);
  let mine = (await childAreas()).filter((x) => x.name === '某市某区某街道');
  assert.equal(mine.length, 1);
  assert.equal(mine[0].level, 'high');
  assert.equal(mine[0].region_code, '110102001000');
  await ok(await pcc.patch(`/api/v1/risk-areas/${area.id}`, { level: 'medium' }));
  await publish('risk_areas', area.id);
  assert.equal((await ok(await pull())).applied, 1);
  mine = (await childAreas()).filter((x) => x.name === '某市某区某街道');
  assert.equal(mine.length, 1, 'updated, not duplicated');
  assert.equal(mine[0].level, 'medium');
  await ok(await pcc.del(`/api/v1/risk-areas/${area.id}`), 204);
  await publish('risk_areas', area.id, 'delete');
  assert.equal((await ok(await pull())).applied, 1);
  assert.equal((await childAreas()).filter((x) => x.name === '某市某区某街道').length, 0);
  const c = await cursor('risk_areas');
  assert.equal(c.seq, seq);
  assert.equal(c.last_error, '');
});

test('a record the child refuses is passed and counted; the rest of its page applies', async () => {
  const r0 = (await cursor('zones')).rejected;
  const zone = await ok(await pcc.post('/api/v1/zones', { kind: 'controlled', name: '隆福寺管控区', region_code: '110101002001' }), 201);
  // a zone over a region the child does not know, and a kind it does not know
  feed.zones.push({ seq: ++seq, op: 'upsert', id: '9000000001', region: '110105000000', record: { id: '9000000001', kind: 'sealed', name: '外区', region_code: '110105000000', valid_from: Date.now() } });
  feed.zones.push({ seq: ++seq, op: 'upsert', id: '9000000002', region: COMMUNITY, record: { id: '9000000002', kind: 'lockdown', name: '怪类型', region_code: COMMUNITY, valid_from: Date.now() } });
  await publish('zones', zone.id);
  const r = await ok(await pull());
  assert.equal(r.applied, 1);
  const c = await cursor('zones');
  assert.equal(c.rejected, r0 + 2);
  assert.equal(c.seq, seq, 'the cursor moved past them');
  const names = (await childZones()).map((z) => z.name);
  assert.ok(names.includes('隆福寺管控区'));
  assert.ok(!names.includes('外区') && !names.includes('怪类型'));
});

test('a bad page, a forged or unsigned answer, a refusal and a dead parent change nothing and leave their reason', async () => {
  const before_ = await cursor('zones');
  const zonesBefore = (await childZones()).length;
  // seq going backwards: the page is refused whole
  feed.zones.push({ seq: seq + 2, op: 'upsert', id: '9000000003', region: COMMUNITY, record: { id: '9000000003', kind: 'sealed', name: '乱序一', region_code: COMMUNITY, valid_from: Date.now() } });
  feed.zones.push({ seq: seq + 1, op: 'upsert', id: '9000000004', region: COMMUNITY, record: { id: '9000000004', kind: 'sealed', name: '乱序二', region_code: COMMUNITY, valid_from: Date.now() } });
  expectError(await pull(), 503, 'fed_bad_answer');
  let c = await cursor('zones');
  assert.equal(c.seq, before_.seq, 'the cursor stays');
  assert.match(c.last_error, /格式不正确/);
  assert.equal((await childZones()).length, zonesBefore);
  feed.zones.splice(-2);
  for (const [mode, code] of [
    ['bad_signature', 'fed_parent_unverified'],
    ['unsigned', 'fed_parent_unverified'],
    ['down', 'peer_unreachable'],
  ]) {
    front.mode = mode;
    const r = await pull();
    front.mode = 'ok';
    expectError(r, 503, code);
    const now = await cursor('zones');
    assert.equal(now.seq, before_.seq);
    assert.notEqual(now.last_error, '', mode + JSON.stringify(now) + r.text);
  }
  // the parent refuses us (our caller unknown there)
  await ok(await cAdmin.patch(`/api/v1/exchange/peers/${parentPeerId}`, { caller: 'fk-nobody' }));
  expectError(await pull(), 503, 'fed_parent_refused');
  c = await cursor('zones');
  assert.match(c.last_error, /上级平台拒绝（401）/);
  await ok(await cAdmin.patch(`/api/v1/exchange/peers/${parentPeerId}`, { caller: 'fk-donghuamen' }));
  // back: the next pull clears the reason
  assert.equal((await ok(await pull())).applied, 0);
  assert.equal((await cursor('zones')).last_error, '');
  assert.equal((await childZones()).length, zonesBefore);
});

test('the periodic puller applies the parent changes without being asked', async () => {
  child.env.FK_FED_PULL = '1';
  await child.restart();
  try {
    // the sessions survive the restart (they are in the database)
    const zone = await ok(await pcc.post('/api/v1/zones', { kind: 'prevention', name: '景山防范区', region_code: '110101002000' }), 201);
    await publish('zones', zone.id);
    let found = false;
    for (let i = 0; i < 60 && !found; i++) {
      found = (await childZones()).some((z) => z.name === '景山防范区');
      if (!found) await sleep(100);
    }
    assert.ok(found, 'pulled by the thread');
    assert.equal((await cursor('zones')).seq, seq);
  } finally {
    // the later tests count what their own pull applied: a puller running
    // every second would race them
    child.env.FK_FED_PULL = '0';
    await child.restart();
  }
});

test("a street instance pulls from the real district instance's signed front: what its grant covers, once", async () => {
  // at the parent: the child registered as a caller whose region is its
  // street and who reads the downward datasets; its key downloaded once
  const caller = await ok(
    await pAdmin.post('/api/v1/exchange/callers', {
      name: '东华门街道防控平台', organisation: '东华门街道办事处', contact_name: '李工', contact_phone: '13800138001',
      regions: ['110101001000'], read: ['zones', 'risk_areas'], write: [], rate_per_min: 600,
    }),
    201,
  );
  const serverKey = JSON.parse(await (await fetch(parent.url + '/exchange/v1/server-key')).text()).public_key_pem;
  const street = await startCityWith(
    { s_admin: ['security_admin', '110000000000'], s_cc: ['command_center', '110101000000'] },
    PW,
    { env: { FK_NODE: '13', FK_FED_PARENT: '东城区平台', FK_FED_PULL: '0' } },
  );
  try {
    const { s_admin: sAdmin, s_cc: scc } = street.as;
    // at the child: the parent peer with that key and the parent's public key
    await ok(
      await sAdmin.post('/api/v1/exchange/peers', {
        name: '东城区平台', kind: 'fangkong', base_url: parent.url, caller: caller.id, key: caller.private_key_pem,
        peer_key: serverKey, timeout_s: 5, region: '110101001000',
      }),
      201,
    );
    const pid = (await ok(await scc.post('/api/v1/persons', { name: '周一诺', id_number: residentId('110101', '19900909', 715), region_code: BUILDING }), 201)).id;
    const col = async () => (await ok(await scc.get(`/api/v1/persons/${pid}/code`))).colour;
    assert.equal(await col(), 'green');
    const zone = await ok(await pcc.post('/api/v1/zones', { kind: 'sealed', name: '多福巷二次封控区', region_code: COMMUNITY }), 201);
    const area = await ok(await pcc.post('/api/v1/risk-areas', { name: '某省某市高风险区', level: 'high', valid_from: Date.now() - 1000 }), 201);
    const r = await ok(await sAdmin.post('/api/v1/exchange/federation/pull'));
    assert.ok(r.applied >= 2, JSON.stringify(r));
    const zones = (await ok(await scc.get('/api/v1/zones?page_size=100'))).items;
    assert.equal(zones.filter((z) => z.name === '多福巷二次封控区').length, 1);
    assert.ok(!zones.some((z) => z.name === '隆福寺管控区'), "outside the child's grant at the parent: not sent");
    assert.equal((await ok(await scc.get('/api/v1/risk-areas?page_size=100'))).items.filter((x) => x.name === '某省某市高风险区').length, 1);
    assert.equal(await col(), 'red');
    assert.equal((await ok(await sAdmin.post('/api/v1/exchange/federation/pull'))).applied, 0, 'once');
    await ok(await pcc.post(`/api/v1/zones/${zone.id}/lift`, { reason: '解封' }));
    await ok(await pcc.patch(`/api/v1/risk-areas/${area.id}`, { level: 'medium' }));
    assert.equal((await ok(await sAdmin.post('/api/v1/exchange/federation/pull'))).applied, 2);
    assert.equal(await col(), 'green');
    assert.equal((await ok(await scc.get('/api/v1/risk-areas?page_size=100'))).items.find((x) => x.name === '某省某市高风险区').level, 'medium');
  } finally {
    await street.stop();
  }
});

test('two servers of the child pulling at once apply each change once', async () => {
  const other = await (await import('./lib.mjs')).startPeer(child, { FK_NODE: '14', FK_FED_PULL: '0' });
  try {
    const before_ = await cursor('zones');
    const names = ['并发一', '并发二', '并发三', '并发四', '并发五'].map((n) => `${n}防范区`);
    for (const name of names) await publish('zones', (await ok(await pcc.post('/api/v1/zones', { kind: 'prevention', name, region_code: '110101002001' }), 201)).id);
    const otherAdmin = other.client();
    // the other server shares the database, so the same session works there
    otherAdmin.cookie = cAdmin.cookie;
    const rs = await Promise.all([pull(), otherAdmin.post('/api/v1/exchange/federation/pull'), pull()]);
    for (const r of rs) assert.equal(r.status, 200, r.text);
    const after_ = await cursor('zones');
    assert.equal(after_.seq, seq);
    assert.equal(after_.applied - before_.applied, names.length, 'each change applied once, whoever pulled');
    const zones = await childZones();
    for (const name of names) assert.equal(zones.filter((z) => z.name === name).length, 1, name);
  } finally {
    await other.stop();
  }
});

// The outbox sends exchange_record_json's person (with the street's id, version, created_at,
// ...); the district's persons.post drops those members and upserts by identity document
// (tests/api/federation-up.test.mjs runs the full three-instance version).
test('upward: persons registered at a street reach the district through the outbox; the district down for a while loses and duplicates nothing', async () => {
  const caller = await ok(
    await pAdmin.post('/api/v1/exchange/callers', {
      name: '景山街道防控平台', organisation: '景山街道办事处', contact_name: '赵工', contact_phone: '13800138002',
      regions: ['110101002000'], read: [], write: ['persons'], rate_per_min: 600,
    }),
    201,
  );
  const serverKey = JSON.parse(await (await fetch(parent.url + '/exchange/v1/server-key')).text()).public_key_pem;
  const street = await startCityWith(
    { u_admin: ['security_admin', '110000000000'], u_cc: ['command_center', '110101000000'] },
    PW,
    { env: { FK_NODE: '15', FK_FED_PULL: '0', FK_OUTBOX_EVERY: '0' } },
  );
  try {
    const { u_admin: uAdmin, u_cc: ucc } = street.as;
    const peer = await ok(
      await uAdmin.post('/api/v1/exchange/peers', {
        name: '东城区平台', kind: 'fangkong', base_url: parent.url, caller: caller.id, key: caller.private_key_pem,
        peer_key: serverKey, timeout_s: 3, datasets: ['persons'], region: '110101002000',
      }),
      201,
    );
    const flush = () => uAdmin.post(`/api/v1/exchange/peers/${peer.id}/flush`);
    const ids = [residentId('110101', '19700101', 801), residentId('110101', '19700101', 803), residentId('110101', '19700101', 805)];
    const mk = async (n, i) => (await ok(await ucc.post('/api/v1/persons', { name: n, id_number: ids[i], region_code: '110101002001' }), 201)).id;
    const a = await mk('上行甲', 0);
    await mk('上行乙', 1);
    const fl = await ok(await flush());
    const st = await ok(await uAdmin.get(`/api/v1/exchange/peers/${peer.id}`));
    // the list masks names: revealed (the command centre holds person.reveal)
    const atParent = async (name) => (await ok(await pcc.get('/api/v1/persons?page_size=100&reveal=1'))).items.filter((p) => p.name === name);
    assert.equal((await atParent('上行甲')).length, 1, JSON.stringify([fl, st.outbox, st.rejects, st.last_error]));
    assert.equal((await atParent('上行乙')).length, 1);
    // the district goes down; the street keeps working
    await parent.stop();
    await ok(await ucc.patch(`/api/v1/persons/${a}`, { name: '上行甲改' }));
    await mk('上行丙', 2);
    const down = await flush();
    assert.notEqual(down.status, 500, down.text);
    await parent.restart();
    await ok(await flush());
    assert.equal((await atParent('上行甲')).length, 0, 'updated, not duplicated');
    assert.equal((await atParent('上行甲改')).length, 1);
    assert.equal((await atParent('上行乙')).length, 1);
    assert.equal((await atParent('上行丙')).length, 1);
  } finally {
    await street.stop();
  }
});

test("a district-wide zone reaches the street child anchored at the child's root; lifted at the parent, lifted at the child", async () => {
  // the child is a street here: its root (the parent peer's region) is the street
  await ok(await cAdmin.patch(`/api/v1/exchange/peers/${parentPeerId}`, { region: '110101001000' }));
  try {
    const pid = (await ok(await ccc.post('/api/v1/persons', { name: '全域居民', id_number: residentId('110101', '19860606', 713), region_code: BUILDING }), 201)).id;
    assert.equal(await colour(pid), 'green', 'positive control: green before');
    const zone = await ok(await pcc.post('/api/v1/zones', { kind: 'sealed', name: '东城区全域封控', region_code: '110101000000' }), 201);
    await publish('zones', zone.id);
    assert.equal(feed.zones.at(-1).record.region_code, '110101000000', 'anchored at the district at the parent');
    assert.equal((await ok(await pull())).applied, 1);
    const copy = (await childZones()).find((z) => z.name === '东城区全域封控');
    assert.equal(copy.kind, 'sealed', "the parent's kind");
    assert.equal(copy.region_code, '110101001000', "anchored at the child's root");
    assert.equal(await colour(pid), 'red', 'the district-wide zone moves the codes in the street');
    await ok(await pcc.post(`/api/v1/zones/${zone.id}/lift`, { reason: '全域解除' }));
    await publish('zones', zone.id);
    assert.equal((await ok(await pull())).applied, 1);
    assert.equal((await childZones()).find((z) => z.name === '东城区全域封控').state, 'ended');
    assert.equal(await colour(pid), 'green');
    // a zone anchored inside the root keeps its anchor (not moved up or down)
    const inside = await ok(await pcc.post('/api/v1/zones', { kind: 'controlled', name: '多福巷管控', region_code: COMMUNITY }), 201);
    await publish('zones', inside.id);
    assert.equal((await ok(await pull())).applied, 1);
    assert.equal((await childZones()).find((z) => z.name === '多福巷管控').region_code, COMMUNITY);
    await ok(await pcc.post(`/api/v1/zones/${inside.id}/lift`, { reason: '解除' }));
    await publish('zones', inside.id);
    assert.equal((await ok(await pull())).applied, 1);
  } finally {
    await ok(await cAdmin.patch(`/api/v1/exchange/peers/${parentPeerId}`, { region: '110101000000' }));
  }
});
