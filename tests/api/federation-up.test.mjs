// Federation, three instances (docs/exchange.md "Federation"): a district
// parent and two street children on loopback, each with its own FK_NODE;
// under scripts/with-postgres.sh the second street runs on PostgreSQL and
// the others on SQLite (a mixed deployment tree), otherwise all on SQLite.
// Upward: people registered and changed through each street's staff API
// reach the district through the street's outbox and the district's signed
// batch write (persons upsert by identity document): once, updated in
// place, a record re-sent in the change cursor's shape maps onto the same
// person, a street cannot write outside its region; the district stopped
// for a while and restarted on the same data loses and duplicates nothing,
// and its persons figure of each street equals the streets' own.
// Downward: a zone the district draws changes the codes in both streets; a
// district-wide zone (anchored above both streets) reaches both and its
// lift lifts it; street B follows the district's code rules (FK_FED_RULES=1):
// a rule the district turns on recolours B's people after a pull, A (not
// following) keeps its own, and an edit at B is refused.
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { startCityWith, residentId, sleep, onPostgres, sqlRun, expectError } from './lib.mjs';
import { ExchangeClient } from '../../clients/exchange-client.mjs';

const PW = 'Passw0rd!fedup';
const DISTRICT = '110101000000';
const STREET_A = '110101001000'; // 东华门街道
const COMM_A = '110101001001'; // 多福巷社区
const STREET_B = '110101002000'; // 景山街道
const COMM_B = '110101002001'; // 隆福寺社区
const PARENT = '东城区防控平台';
let parent, pAdmin, pcc;
const streets = {}; // A, B: { ctx, admin, cc, caller, peerId }
let seq = 900;
const nextId = () => residentId('110101', '19750505', (seq += 2));

async function ok(r, status = 200) {
  assert.equal(r.status, status, r.text);
  return r.body;
}

// Poll an async predicate until it holds (or ms pass); its last value.
async function eventually(fn, ms = 20000) {
  let v;
  for (let t = 0; t < ms; t += 200) {
    if ((v = await fn())) return v;
    await sleep(200);
  }
  return fn();
}

// The persons of that exact name at the district (its staff list, names
// revealed: the command centre holds person.reveal).
const atParent = async (name) =>
  (await ok(await pcc.get('/api/v1/persons?page_size=100&reveal=1'))).items.filter((p) => p.name === name);
let ik = 0;
const key = () => `fed-up-${process.pid}-${++ik}`;

// persons.registered per street of the district, as an instance's statistics answer it.
async function perStreet(cc) {
  const st = await ok(await cc.get(`/api/v1/stats/regions?region=${DISTRICT}&measures=person.registered`));
  return Object.fromEntries(st.items.map((i) => [i.region_code, i.figures[0].value]));
}

async function startStreet(key, node, region, sqlite, extraEnv = {}) {
  const caller = await ok(
    await pAdmin.post('/api/v1/exchange/callers', {
      name: `${key === 'A' ? '东华门' : '景山'}街道防控平台`, organisation: '街道办事处', contact_name: '王工', contact_phone: '13800138009',
      regions: [region], read: ['zones', 'risk_areas', 'code_rules'], write: ['persons', 'returns', 'results'], rate_per_min: 6000,
    }),
    201,
  );
  const serverKey = JSON.parse(await (await fetch(parent.url + '/exchange/v1/server-key')).text()).public_key_pem;
  const ctx = await startCityWith(
    {
      [`${key}_admin`]: ['security_admin', '110000000000'],
      [`${key}_cc`]: ['command_center', DISTRICT],
      [`${key}_site`]: ['site_staff', DISTRICT],
    },
    PW,
    { sqlite, env: { FK_NODE: node, FK_FED_PARENT: PARENT, FK_FED_PULL: '0', FK_OUTBOX_EVERY: '1', FK_OUTBOX_BACKOFF_MAX_S: '2', ...extraEnv } },
  );
  const admin = ctx.as[`${key}_admin`];
  const peer = await ok(
    await admin.post('/api/v1/exchange/peers', {
      name: PARENT, kind: 'fangkong', base_url: parent.url, caller: caller.id, key: caller.private_key_pem,
      peer_key: serverKey, timeout_s: 3, datasets: ['persons', 'returns', 'results'], region,
    }),
    201,
  );
  const client = new ExchangeClient({ base: parent.url, caller: caller.id, privateKeyPem: caller.private_key_pem, serverKeyPem: serverKey });
  streets[key] = { ctx, admin, cc: ctx.as[`${key}_cc`], site: ctx.as[`${key}_site`], caller, peerId: peer.id, client, people: {} };
}

// A person registered at a street through its staff API.
async function register(key, name, region) {
  const s = streets[key];
  const idn = nextId();
  const p = await ok(await s.cc.post('/api/v1/persons', { name, id_number: idn, region_code: region, phone: '13800138000' }), 201);
  s.people[name] = { id: p.id, id_number: idn };
  return p;
}

before(async () => {
  parent = await startCityWith(
    { p_admin: ['security_admin', '110000000000'], p_cc: ['command_center', DISTRICT] },
    PW,
    { sqlite: true, env: { FK_NODE: '31', FK_OUTBOX_EVERY: '0' } },
  );
  ({ p_admin: pAdmin, p_cc: pcc } = parent.as);
  await startStreet('A', '32', STREET_A, true);
  await startStreet('B', '33', STREET_B, false, { FK_FED_RULES: '1' }); // on PostgreSQL under with-postgres; follows the district's rules
});

after(async () => {
  for (const s of Object.values(streets)) await s.ctx?.stop();
  await parent?.stop();
});

test('people registered at both streets reach the district once; a later update and a re-sent record map onto the same person', async () => {
  assert.equal(!!streets.B.ctx.dbUrl, onPostgres, 'the second street is on PostgreSQL exactly under with-postgres');
  assert.equal(streets.A.ctx.dbUrl, undefined);
  assert.equal((await atParent('上行甲')).length, 0, 'positive control: not there before');
  await register('A', '上行甲', COMM_A);
  await register('A', '上行乙', COMM_A);
  await register('A', '上行丙', COMM_A);
  await register('B', '景山甲', COMM_B);
  await register('B', '景山乙', COMM_B);
  const all = ['上行甲', '上行乙', '上行丙', '景山甲', '景山乙'];
  const arrived = await eventually(async () => (await Promise.all(all.map(atParent))).every((l) => l.length === 1));
  const st = await ok(await streets.A.admin.get(`/api/v1/exchange/peers/${streets.A.peerId}`));
  assert.ok(arrived, `every person once at the district: ${JSON.stringify(st)}`);
  const jia = (await atParent('上行甲'))[0];
  assert.equal(jia.region_code, COMM_A);
  assert.notEqual(jia.id, streets.A.people['上行甲'].id, 'the district keeps its own id');

  // updated later at the street: the same person at the district
  await ok(await streets.A.cc.patch(`/api/v1/persons/${streets.A.people['上行甲'].id}`, { name: '上行甲改' }));
  assert.ok(await eventually(async () => (await atParent('上行甲改')).length === 1 && (await atParent('上行甲')).length === 0));
  assert.equal((await atParent('上行甲改'))[0].id, jia.id, 'updated in place');

  // the same person sent again, in the shape the change cursors and the
  // outbox send (ids, version, timestamps of the sender): one person still
  const yi = (await atParent('上行乙'))[0];
  const r = await streets.A.client.post('/exchange/v1/persons', {
    records: [{
      id: streets.A.people['上行乙'].id, version: 7, age: 51, created_at: Date.now(), updated_at: Date.now(), created_by: '1', updated_by: '1',
      verified: true, masked: false, consent_at: null, source: 'self',
      name: '上行乙', id_number: streets.A.people['上行乙'].id_number, region_code: COMM_A, address: '多福巷2号',
    }],
  }, { idempotencyKey: key() });
  assert.equal(r.status, 200, r.text);
  assert.ok(r.verified);
  assert.equal(r.body.accepted, 1, r.text);
  assert.equal(r.body.results[0].id, yi.id, 'maps onto the same person');
  assert.equal((await atParent('上行乙')).length, 1);
});

test("a street's test results reach the district's person (the street's person id mapped); sent again, written once", async () => {
  const parentId = (await atParent('上行丙'))[0].id;
  const results = async () => (await ok(await pcc.get(`/api/v1/persons/${parentId}/test-results`))).items;
  assert.equal((await results()).length, 0, 'positive control: none before');
  const sampled = Date.now() - 3600e3;
  const made = await ok(
    await streets.A.site.post(`/api/v1/persons/${streets.A.people['上行丙'].id}/test-results`, { result: 'negative', sampled_at: sampled, reported_at: sampled + 600e3, institution: '东城区疾控中心' }),
    201,
  );
  assert.ok(await eventually(async () => (await results()).length === 1), 'the result arrives');
  const got = (await results())[0];
  assert.equal(got.result, 'negative');
  assert.equal(got.sampled_at, sampled);
  // the same result sent again in the outbox's shape: the one already written
  const again = await streets.A.client.post(
    '/exchange/v1/results',
    { records: [{ id: made.id, person_id: streets.A.people['上行丙'].id, region_code: COMM_A, result: 'negative', sampled_at: sampled, reported_at: sampled + 600e3, institution: '东城区疾控中心', created_at: Date.now() }] },
    { idempotencyKey: key() },
  );
  assert.equal(again.status, 200, again.text);
  assert.equal(again.body.results[0].ok, true, again.text);
  assert.equal(again.body.results[0].id, got.id);
  assert.equal((await results()).length, 1, 'written once');
  // street B cannot name street A's person by street A's id
  const other = await streets.B.client.post(
    '/exchange/v1/results',
    { records: [{ person_id: streets.A.people['上行丙'].id, result: 'positive', sampled_at: sampled, reported_at: sampled + 600e3 }] },
    { idempotencyKey: key() },
  );
  assert.equal(other.body.results[0].ok, false, other.text);
  assert.equal(other.body.results[0].error.code, 'not_found');
  assert.equal((await results()).length, 1);
});

test("a street's trip (返程信息) reaches the district's person once; changed later, the same trip changes", async () => {
  const parentId = (await atParent('景山乙'))[0].id;
  const trips = async () => (await ok(await pcc.get(`/api/v1/trips?person_id=${parentId}&page_size=50`))).items;
  assert.equal((await trips()).length, 0, 'positive control: none before');
  const t = await ok(
    await streets.B.cc.post('/api/v1/trips', {
      person_id: streets.B.people['景山乙'].id, departed_on: '2026-11-20', origin: '北京', destination: '上海市',
      out: { mode: 'train', number: 'G1' }, waypoints: [{ kind: 'other', place: '南京南站' }],
    }),
    201,
  );
  assert.ok(await eventually(async () => (await trips()).length === 1), 'the trip arrives');
  const first = (await trips())[0];
  assert.equal(first.destination, '上海市');
  await ok(await streets.B.cc.patch(`/api/v1/trips/${t.id}`, { version: t.version, returned_on: '2026-11-25' }));
  assert.ok(await eventually(async () => (await trips())[0]?.returned_on === '2026-11-25'), JSON.stringify(await trips()));
  const now = await trips();
  assert.equal(now.length, 1, 'updated, not duplicated');
  assert.equal(now[0].id, first.id);
});

test("a street cannot write outside its region at the district; bad records are refused alone", async () => {
  const idn = nextId();
  const r = await streets.A.client.post('/exchange/v1/persons', {
    records: [
      { name: '越界人员', id_number: idn, region_code: COMM_B },
      { name: '本街人员', id_number: nextId(), region_code: COMM_A, unknown_member: 1 },
      { name: '合规人员', id_number: nextId(), region_code: COMM_A },
      // without the sender's id it is a plain caller's record: "self" is the resident's to say
      { name: '自称本人', id_number: nextId(), region_code: COMM_A, source: 'self' },
    ],
  }, { idempotencyKey: key() });
  assert.equal(r.body.results[3].ok, false, r.text);
  assert.equal(r.body.results[3].error.code, 'not_allowed');
  assert.equal(r.status, 200, r.text);
  assert.equal(r.body.results[0].ok, false);
  assert.equal(r.body.results[0].error.code, 'region_not_granted');
  assert.equal(r.body.results[1].ok, false, 'a member the record shape does not have is still refused');
  assert.equal(r.body.results[2].ok, true, 'positive control');
  assert.equal((await atParent('越界人员')).length, 0);
  assert.equal((await atParent('合规人员')).length, 1);
  // the same person by the street that holds that region is accepted
  const b = await streets.B.client.post('/exchange/v1/persons', { records: [{ name: '越界人员', id_number: idn, region_code: COMM_B }] }, { idempotencyKey: key() });
  assert.equal(b.body.accepted, 1, b.text);
  // and street A cannot then change them (held outside its grant)
  const again = await streets.A.client.post('/exchange/v1/persons', { records: [{ name: '越界人员改', id_number: idn, region_code: COMM_A }] }, { idempotencyKey: key() });
  assert.equal(again.body.results[0].ok, false, again.text);
  assert.equal(again.body.results[0].error.code, 'duplicate_person');
  assert.equal((await atParent('越界人员')).length, 1);
});

test('the district down for a while: nothing lost, nothing duplicated; its figure of each street equals the streets\' own', async () => {
  await parent.stop();
  await ok(await streets.A.cc.patch(`/api/v1/persons/${streets.A.people['上行乙'].id}`, { name: '上行乙改' }));
  await register('A', '上行丁', COMM_A);
  await register('B', '景山丙', COMM_B);
  await ok(await streets.B.cc.patch(`/api/v1/persons/${streets.B.people['景山甲'].id}`, { name: '景山甲改' }));
  await sleep(3000); // several rounds fail, with back-off
  const down = await ok(await streets.A.admin.get(`/api/v1/exchange/peers/${streets.A.peerId}`));
  assert.ok(JSON.stringify(down).includes('peer_unreachable') || JSON.stringify(down).match(/"last_error":"[^"]/), `the failure is recorded: ${JSON.stringify(down)}`);
  await parent.restart();
  const want = ['上行甲改', '上行乙改', '上行丙', '上行丁', '景山甲改', '景山乙', '景山丙'];
  const ok1 = await eventually(async () => (await Promise.all(want.map(atParent))).every((l) => l.length === 1));
  assert.ok(ok1, JSON.stringify(await Promise.all(want.map(atParent))));
  for (const gone of ['上行甲', '上行乙', '景山甲']) assert.equal((await atParent(gone)).length, 0, gone);

  // the district's persons figure of each street = the streets' own (the
  // direct writes of the previous test are counted at the district only)
  const direct = { [STREET_A]: 1, [STREET_B]: 1 }; // 合规人员, 越界人员
  const [p, a, b] = await Promise.all([perStreet(pcc), perStreet(streets.A.cc), perStreet(streets.B.cc)]);
  for (const s of [STREET_A, STREET_B]) assert.equal(p[s], (a[s] || 0) + (b[s] || 0) + direct[s], `${s}: ${JSON.stringify({ p, a, b })}`);
  assert.equal(a[STREET_A], 4);
  assert.equal(b[STREET_B], 3);
});

test('a zone the district draws changes the codes in both streets', async () => {
  const colour = async (key, name) => (await ok(await streets[key].cc.get(`/api/v1/persons/${streets[key].people[name].id}/code`))).colour;
  assert.equal(await colour('A', '上行丙'), 'green');
  assert.equal(await colour('B', '景山乙'), 'green');
  await ok(await pcc.post('/api/v1/zones', { kind: 'sealed', name: '多福巷封控区', region_code: COMM_A }), 201);
  await ok(await pcc.post('/api/v1/zones', { kind: 'sealed', name: '隆福寺封控区', region_code: COMM_B }), 201);
  for (const key of ['A', 'B']) {
    const r = await ok(await streets[key].admin.post('/api/v1/exchange/federation/pull'));
    assert.ok(r.applied >= 1, JSON.stringify(r));
  }
  assert.equal(await colour('A', '上行丙'), 'red');
  assert.equal(await colour('B', '景山乙'), 'red');
  // each street got its own zone only (its grant at the district)
  const names = async (key) => (await ok(await streets[key].cc.get('/api/v1/zones?page_size=100'))).items.map((z) => z.name);
  assert.deepEqual(await names('A'), ['多福巷封控区']);
  assert.deepEqual(await names('B'), ['隆福寺封控区']);
});

const colourOf = async (key, id) => (await ok(await streets[key].cc.get(`/api/v1/persons/${id}/code`))).colour;
const pullAt = async (key) => ok(await streets[key].admin.post('/api/v1/exchange/federation/pull'));

test('a district-wide zone reaches both streets (anchored at each street) and its lift lifts it in both', async () => {
  // living at the street itself: outside the communities sealed above
  const a = await register('A', '全域甲', STREET_A);
  const b = await register('B', '全域乙', STREET_B);
  assert.equal(await colourOf('A', a.id), 'green', 'positive control');
  assert.equal(await colourOf('B', b.id), 'green', 'positive control');
  const zone = await ok(await pcc.post('/api/v1/zones', { kind: 'controlled', name: '东城区全域管控区', region_code: DISTRICT }), 201);
  for (const key of ['A', 'B']) assert.ok((await pullAt(key)).applied >= 1);
  assert.equal(await colourOf('A', a.id), 'yellow');
  assert.equal(await colourOf('B', b.id), 'yellow');
  // the copies keep the district's name and kind, anchored at the street each holds
  for (const [key, street] of [['A', STREET_A], ['B', STREET_B]]) {
    const copy = (await ok(await streets[key].cc.get('/api/v1/zones?page_size=100'))).items.find((z) => z.name === '东城区全域管控区');
    assert.equal(copy.kind, 'controlled');
    assert.equal(copy.region_code, street);
  }
  // the lift at the district lifts both copies
  await ok(await pcc.post(`/api/v1/zones/${zone.id}/lift`, { reason: '全域解除' }));
  for (const key of ['A', 'B']) assert.equal((await pullAt(key)).applied, 1);
  assert.equal(await colourOf('A', a.id), 'green');
  assert.equal(await colourOf('B', b.id), 'green');
});

test("street B follows the district's code rules: a rule turned on at the district recolours B after a pull; A keeps its own; an edit at B is refused", async () => {
  const a = await register('A', '规则甲', STREET_A);
  const b = await register('B', '规则乙', STREET_B);
  // the district publishes its rules with a version (its defaults: 0)
  const pub = await streets.A.client.get('/exchange/v1/code_rules');
  assert.equal(pub.status, 200, pub.text);
  assert.ok(pub.verified);
  assert.equal(pub.body.version, 0);
  const rules = (await ok(await pcc.get('/api/v1/code-rules'))).rules;
  assert.deepEqual(pub.body.rules, rules);
  // the first pull at B takes them (even the defaults); A does not follow
  assert.equal((await ok(await streets.B.cc.get('/api/v1/code-rules'))).followed, true);
  assert.equal((await ok(await streets.A.cc.get('/api/v1/code-rules'))).followed, false);
  await pullAt('B');
  let st = await ok(await streets.B.admin.get('/api/v1/exchange/federation'));
  let cur = st.cursors.find((c) => c.dataset === 'code_rules');
  assert.deepEqual([cur.seq, cur.applied, cur.last_error], [0, 1, ''], JSON.stringify(st));
  assert.equal((await ok(await streets.A.admin.get('/api/v1/exchange/federation'))).cursors.find((c) => c.dataset === 'code_rules'), undefined);
  // an edit at B is refused, whatever the body; A may edit its own
  const on = rules.map((r) => (r.key === 'no_negative_test' ? { ...r, enabled: true } : r));
  assert.ok(on.some((r) => r.key === 'no_negative_test'));
  expectError(await streets.B.cc.put('/api/v1/code-rules', { rules: on }), 409, 'rules_follow_parent', 'rules');
  assert.equal((await ok(await streets.B.cc.get('/api/v1/code-rules'))).rules.find((r) => r.key === 'no_negative_test').enabled, false, 'nothing changed');
  assert.equal(await colourOf('B', b.id), 'green');
  // the district turns the rule on (no negative test within 72 hours: yellow)
  await ok(await pcc.put('/api/v1/code-rules', { rules: on }), 202);
  const version = (await streets.A.client.get('/exchange/v1/code_rules')).body.version;
  assert.ok(version > 0);
  await pullAt('A');
  await pullAt('B');
  const yellow = await eventually(async () => (await colourOf('B', b.id)) === 'yellow');
  assert.ok(yellow, 'B recoloured by the recompute the pull queued');
  assert.equal(await colourOf('A', a.id), 'green', 'A keeps its own rules');
  st = await ok(await streets.B.admin.get('/api/v1/exchange/federation'));
  cur = st.cursors.find((c) => c.dataset === 'code_rules');
  assert.deepEqual([cur.seq, cur.applied], [version, 2]);
  // pulled again: the same version is not saved twice
  await pullAt('B');
  cur = (await ok(await streets.B.admin.get('/api/v1/exchange/federation'))).cursors.find((c) => c.dataset === 'code_rules');
  assert.equal(cur.applied, 2);
  const audited = await eventually(async () => Number(sqlRun(streets.B.ctx, "SELECT COUNT(*) FROM audit_log WHERE action = 'exchange.fed.code_rules' AND result = 'ok'").trim()) === 2);
  assert.ok(audited, 'each rules change taken is audited');
  assert.ok(Number(sqlRun(streets.B.ctx, "SELECT COUNT(*) FROM audit_log WHERE action = 'code.rules' AND result = 'rules_follow_parent'").trim()) >= 1, 'the refused edit is audited');
  // back to the defaults at the district: B green again after a pull
  await ok(await pcc.put('/api/v1/code-rules', { rules }), 202);
  await pullAt('B');
  assert.ok(await eventually(async () => (await colourOf('B', b.id)) === 'green'));
});
