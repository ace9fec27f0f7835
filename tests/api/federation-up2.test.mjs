// Federation upward, the second part (docs/exchange.md "Upward, step by
// step"): status changes, deletions and the results id-map. A district
// parent and two street children on loopback, each with its own FK_NODE;
// under scripts/with-postgres.sh the district and the second street run on
// PostgreSQL and the first street on SQLite, otherwise all on SQLite.
// - a person confirmed at a street (its case workflow) arrives at the
//   district with that status, through the district's own workflow (cases
//   batch write), and the person's later changes still flow;
// - a status change sent again is the one written; another street cannot
//   name the person; a plain caller's bad status changes get their codes
//   and change nothing;
// - a person and a trip deleted at a street are deleted at the district;
//   an unmapped or another street's id is a per-record not_found; a
//   withdrawn result is deleted too;
// - a home isolation at a street arrives once, changes in place and ends
//   as the street ended it; a plain caller's bad observations get their
//   codes and change nothing;
// - a test result is never kept without its id-map entry (a forced
//   failure of the map write takes the result back).
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { startCityWith, residentId, sleep, onPostgres, sqlRun } from './lib.mjs';
import { ExchangeClient } from '../../clients/exchange-client.mjs';

const PW = 'Passw0rd!fedup2';
const DISTRICT = '110101000000';
const STREET_A = '110101001000'; // 东华门街道
const COMM_A = '110101001001'; // 多福巷社区
const STREET_B = '110101002000'; // 景山街道
const COMM_B = '110101002001'; // 隆福寺社区
const PARENT = '东城区防控平台';
const UP = ['persons', 'returns', 'isolations', 'cases', 'results'];
let parent, pAdmin, pcc;
const streets = {}; // A, B: { ctx, admin, cc, site, client, peerId, people }
let seq = 1200;
const nextId = () => residentId('110101', '19800808', (seq += 2));
let ik = 0;
const key = () => `fed-up2-${process.pid}-${++ik}`;

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

// The district's persons of that exact name (its staff list, revealed).
const atParent = async (name) =>
  (await ok(await pcc.get('/api/v1/persons?page_size=100&reveal=1'))).items.filter((p) => p.name === name);
const parentPerson = async (name) => (await atParent(name))[0];
const statusChanges = async (cc, id) => (await ok(await cc.get(`/api/v1/persons/${id}/status-changes?page_size=50&reveal=1`))).items;
const rejects = async (k) => (await ok(await streets[k].admin.get(`/api/v1/exchange/peers/${streets[k].peerId}`))).rejects;

async function startStreet(k, node, region, sqlite) {
  const caller = await ok(
    await pAdmin.post('/api/v1/exchange/callers', {
      name: `${k === 'A' ? '东华门' : '景山'}街道防控平台`, organisation: '街道办事处', contact_name: '王工', contact_phone: '13800138009',
      regions: [region], read: ['zones', 'risk_areas'], write: UP, rate_per_min: 6000,
    }),
    201,
  );
  const serverKey = JSON.parse(await (await fetch(parent.url + '/exchange/v1/server-key')).text()).public_key_pem;
  const ctx = await startCityWith(
    { [`${k}_admin`]: ['security_admin', '110000000000'], [`${k}_cc`]: ['command_center', DISTRICT], [`${k}_site`]: ['site_staff', DISTRICT] },
    PW,
    { sqlite, env: { FK_NODE: node, FK_FED_PARENT: PARENT, FK_FED_PULL: '0', FK_OUTBOX_EVERY: '1', FK_OUTBOX_BACKOFF_MAX_S: '2' } },
  );
  const admin = ctx.as[`${k}_admin`];
  const peer = await ok(
    await admin.post('/api/v1/exchange/peers', {
      name: PARENT, kind: 'fangkong', base_url: parent.url, caller: caller.id, key: caller.private_key_pem,
      peer_key: serverKey, timeout_s: 3, datasets: UP, region,
    }),
    201,
  );
  const client = new ExchangeClient({ base: parent.url, caller: caller.id, privateKeyPem: caller.private_key_pem, serverKeyPem: serverKey });
  streets[k] = { ctx, admin, cc: ctx.as[`${k}_cc`], site: ctx.as[`${k}_site`], client, peerId: peer.id, people: {} };
}

// A person registered at a street and arrived at the district.
async function registered(k, name, region) {
  const s = streets[k];
  const idn = nextId();
  const p = await ok(await s.cc.post('/api/v1/persons', { name, id_number: idn, region_code: region, phone: '13800138000' }), 201);
  s.people[name] = { id: p.id, id_number: idn };
  assert.ok(await eventually(async () => (await atParent(name)).length === 1), `${name} arrives`);
  s.people[name].parentId = (await parentPerson(name)).id;
  return s.people[name];
}

before(async () => {
  parent = await startCityWith(
    { p_admin: ['security_admin', '110000000000'], p_cc: ['command_center', DISTRICT] },
    PW,
    { sqlite: !onPostgres, env: { FK_NODE: '41', FK_OUTBOX_EVERY: '0' } },
  );
  ({ p_admin: pAdmin, p_cc: pcc } = parent.as);
  await startStreet('A', '42', STREET_A, true);
  await startStreet('B', '43', STREET_B, false);
});

after(async () => {
  for (const s of Object.values(streets)) await s.ctx?.stop();
  await parent?.stop();
});

test('a person confirmed at a street arrives at the district with that status; later changes still flow', async () => {
  assert.equal(!!parent.dbUrl, onPostgres, 'the district is on PostgreSQL exactly under with-postgres');
  const p = await registered('A', '状态甲', COMM_A);
  assert.equal((await parentPerson('状态甲')).status, 'normal', 'positive control: normal before');
  const A = streets.A;
  await ok(await A.cc.post(`/api/v1/persons/${p.id}/status`, { to: 'observation', reason: '密接排查纳入观察' }));
  await ok(await A.cc.post(`/api/v1/persons/${p.id}/status`, { to: 'confirmed', severity: 'mild', infection_route: 'local', reason: '核酸阳性确诊' }));
  assert.ok(await eventually(async () => (await parentPerson('状态甲')).status === 'confirmed'), JSON.stringify(await rejects('A')));
  const changes = await statusChanges(pcc, p.parentId);
  assert.deepEqual(changes.map((c) => c.to), ['confirmed', 'observation'], 'through the district\'s own workflow, one change each');
  assert.equal(changes[0].severity, 'mild');
  assert.equal(changes[0].infection_route, 'local');
  assert.equal(changes[0].reason, '核酸阳性确诊');
  // later changes of the person still flow (no status_by_workflow refusal)
  await ok(await A.cc.patch(`/api/v1/persons/${p.id}`, { name: '状态甲改' }));
  await ok(await A.cc.post(`/api/v1/persons/${p.id}/status`, { to: 'cured', reason: '治愈出院' }));
  assert.ok(await eventually(async () => (await parentPerson('状态甲改'))?.status === 'cured'), JSON.stringify(await rejects('A')));
  assert.equal((await atParent('状态甲')).length, 0);
  assert.equal((await statusChanges(pcc, p.parentId)).length, 3);
  assert.deepEqual(await rejects('A'), [], 'nothing refused along the way');
});

test('a status change sent again is the one written; another street cannot name the person; one already shown is accepted as applied', async () => {
  const A = streets.A;
  const p = A.people['状态甲'];
  const before = await statusChanges(pcc, p.parentId);
  const mine = (await statusChanges(A.cc, p.id))[0]; // the street's newest, in the outbox's shape
  assert.equal(mine.to, 'cured');
  const again = await A.client.post('/exchange/v1/cases', { records: [mine] }, { idempotencyKey: key() });
  assert.equal(again.status, 200, again.text);
  assert.ok(again.verified);
  assert.equal(again.body.results[0].ok, true, again.text);
  assert.equal(again.body.results[0].id, before[0].id, 'the change already written');
  // a change the person already shows (it arrived after it): accepted, nothing written
  const shown = await A.client.post('/exchange/v1/cases', { records: [{ ...mine, id: '990000000000001' }] }, { idempotencyKey: key() });
  assert.equal(shown.body.results[0].ok, true, shown.text);
  assert.equal(shown.body.results[0].id, p.parentId, 'answered with the person');
  // a change the district's state machine refuses from where the person is: refused
  const bad = await A.client.post('/exchange/v1/cases', { records: [{ ...mine, id: '990000000000003', from: 'normal', to: 'dead', severity: null }] }, { idempotencyKey: key() });
  assert.equal(bad.body.results[0].ok, false, bad.text);
  assert.equal(bad.body.results[0].error.code, 'invalid_transition');
  // street B cannot name street A's person, by either id
  for (const pid of [p.id, p.parentId]) {
    const other = await streets.B.client.post('/exchange/v1/cases', { records: [{ person_id: pid, to: 'observation', reason: '越权' }] }, { idempotencyKey: key() });
    assert.equal(other.body.results[0].ok, false, other.text);
    assert.equal(other.body.results[0].error.code, 'not_found');
  }
  assert.equal((await statusChanges(pcc, p.parentId)).length, before.length, 'nothing written');
  assert.equal((await parentPerson('状态甲改')).status, 'cured');
});

test('a plain caller writes status changes with the documented fields; bad input per field changes nothing', async () => {
  const B = streets.B;
  // a person written directly at the district by street B's caller (no sender id)
  const idn = nextId();
  const made = await B.client.post('/exchange/v1/persons', { records: [{ name: '直报病例', id_number: idn, region_code: COMM_B }] }, { idempotencyKey: key() });
  assert.equal(made.body.accepted, 1, made.text);
  const pid = made.body.results[0].id;
  const send = async (rec) => (await B.client.post('/exchange/v1/cases', { records: [rec] }, { idempotencyKey: key() })).body.results[0];
  const cases = [
    [{ to: 'observation', reason: '无人员' }, 'required', 'person_id'],
    [{ person_id: '123456789', to: 'observation', reason: '不存在' }, 'not_found', 'person_id'],
    [{ person_id: pid, reason: '缺目标状态' }, 'required', 'to'],
    [{ person_id: pid, to: 'flying', reason: '取值错误' }, 'invalid_value', 'to'],
    [{ person_id: pid, to: 'observation' }, 'required', 'reason'],
    [{ person_id: pid, to: 'observation', reason: '长'.repeat(201) }, 'too_long', 'reason'],
    [{ person_id: pid, to: 'observation', reason: '病情', severity: 'mild' }, 'invalid_value', 'severity'],
    [{ person_id: pid, to: 'observation', reason: '病情', severity: 'huge' }, 'invalid_value', 'severity'],
    [{ person_id: pid, to: 'observation', reason: '途径', infection_route: 'teleport' }, 'invalid_value', 'infection_route'],
    [{ person_id: pid, to: 'observation', reason: '多余', extra: 1 }, 'unknown_field', 'extra'],
    [{ person_id: pid, to: 'confirmed', severity: 'mild', infection_route: 'local', reason: '跳级' }, 'invalid_transition', 'to'],
    [{ person_id: pid, to: 'observation', reason: 7 }, 'invalid_type', 'reason'],
  ];
  for (const [rec, code, field] of cases) {
    const r = await send(rec);
    assert.equal(r.ok, false, JSON.stringify({ rec, r }));
    assert.equal(r.error.code, code, JSON.stringify({ rec, r }));
    assert.equal(r.error.field, field, JSON.stringify({ rec, r }));
  }
  const deletion = await send({ id: '990000000000005', deleted: true });
  assert.equal(deletion.error.code, 'not_allowed', 'status changes are never deleted');
  assert.equal((await statusChanges(pcc, pid)).length, 0, 'nothing written');
  const good = await send({ person_id: pid, to: 'home_isolation', reason: '居家隔离' });
  assert.equal(good.ok, true, JSON.stringify(good));
  const ch = await statusChanges(pcc, pid);
  assert.equal(ch.length, 1);
  assert.equal(ch[0].id, good.id);
  assert.equal((await parentPerson('直报病例')).status, 'home_isolation');
});

test('a person and a trip deleted at a street are deleted at the district; unmapped and foreign ids are not_found alone', async () => {
  const A = streets.A;
  const B = streets.B;
  const gone = await registered('A', '删除甲', COMM_A);
  const keep = await registered('B', '保留乙', COMM_B);
  // a trip of B's person, arrived, then deleted at B
  const trips = async () => (await ok(await pcc.get(`/api/v1/trips?person_id=${keep.parentId}&page_size=50`))).items;
  const t = await ok(
    await B.cc.post('/api/v1/trips', {
      person_id: keep.id, departed_on: '2026-11-20', origin: '北京', destination: '杭州市', out: { mode: 'train', number: 'G31' },
    }),
    201,
  );
  assert.ok(await eventually(async () => (await trips()).length === 1), 'the trip arrives');
  await ok(await B.cc.del(`/api/v1/trips/${t.id}`), 204);
  assert.ok(await eventually(async () => (await trips()).length === 0), 'the trip is deleted at the district');

  // a batch with deletions: A's unmapped id, B's person by B's id (A's map has no such entry), a bad shape, and a good record
  const r = await A.client.post('/exchange/v1/persons', {
    records: [
      { id: '990000000000007', deleted: true },
      { id: keep.id, deleted: true },
      { id: gone.id, deleted: true, name: 'x' },
      { id: gone.id, deleted: 'yes' },
      { deleted: true, name: 'y' },
      { name: '删除批次对照', id_number: nextId(), region_code: COMM_A },
    ],
  }, { idempotencyKey: key() });
  assert.equal(r.status, 200, r.text);
  const codes = r.body.results.map((x) => x.error?.code ?? 'ok');
  assert.deepEqual(codes, ['not_found', 'not_found', 'invalid_record', 'invalid_record', 'required', 'ok'], r.text);
  assert.equal((await atParent('保留乙')).length, 1, "B's person untouched");
  assert.equal((await atParent('删除甲')).length, 1, 'positive control: still there');

  // deleted at street A: deleted at the district, and its map entry with it
  await ok(await A.cc.del(`/api/v1/persons/${gone.id}`), 204);
  assert.ok(await eventually(async () => (await atParent('删除甲')).length === 0), JSON.stringify(await rejects('A')));
  const twice = await A.client.post('/exchange/v1/persons', { records: [{ id: gone.id, deleted: true }] }, { idempotencyKey: key() });
  assert.equal(twice.body.results[0].error.code, 'not_found', 'the map entry went with it');
  assert.deepEqual((await rejects('A')).filter((x) => x.dataset === 'persons'), [], 'the deletion was not refused');
});

test('a test result is never kept without its id-map entry: a failed map write takes the result back', async () => {
  const A = streets.A;
  const p = await registered('A', '结果甲', COMM_A);
  const results = async () => (await ok(await pcc.get(`/api/v1/persons/${p.parentId}/test-results`))).items;
  const sampled = Date.now() - 3600e3;
  const rec = { id: '990000000000009', person_id: p.id, region_code: COMM_A, result: 'negative', sampled_at: sampled, reported_at: sampled + 600e3, institution: '东城区疾控中心', created_at: Date.now() };
  // the map's insert of results fails (a trigger, as a broken table would)
  if (parent.dbUrl) {
    sqlRun(parent, `CREATE FUNCTION fk_test_map() RETURNS trigger LANGUAGE plpgsql AS $$ BEGIN
        IF NEW.dataset = 'in:results' THEN RAISE EXCEPTION 'forced' USING ERRCODE = 'unique_violation'; END IF; RETURN NEW; END $$;
      CREATE TRIGGER fk_test_map BEFORE INSERT ON exchange_fed_map FOR EACH ROW EXECUTE FUNCTION fk_test_map();`);
  } else {
    sqlRun(parent, `CREATE TRIGGER fk_test_map BEFORE INSERT ON exchange_fed_map WHEN NEW.dataset = 'in:results'
        BEGIN SELECT RAISE(ABORT, 'forced'); END;`);
  }
  let failed;
  try {
    failed = await A.client.post('/exchange/v1/results', { records: [rec] }, { idempotencyKey: key() });
  } finally {
    sqlRun(parent, parent.dbUrl ? 'DROP TRIGGER fk_test_map ON exchange_fed_map; DROP FUNCTION fk_test_map();' : 'DROP TRIGGER fk_test_map;');
  }
  assert.equal(failed.status, 200, failed.text);
  assert.equal(failed.body.results[0].ok, false, failed.text);
  assert.equal((await results()).length, 0, 'the result went back with its map entry');
  // sent again (the outbox keeps refused records; an operator re-sends): written once
  const first = await A.client.post('/exchange/v1/results', { records: [rec] }, { idempotencyKey: key() });
  assert.equal(first.body.results[0].ok, true, first.text);
  const second = await A.client.post('/exchange/v1/results', { records: [rec] }, { idempotencyKey: key() });
  assert.equal(second.body.results[0].id, first.body.results[0].id);
  assert.equal((await results()).length, 1, 'written once');
  // two batches with one new result at once (two servers of one street): written once, one id
  const rec2 = { ...rec, id: '990000000000013', result: 'positive', sampled_at: sampled + 1000 };
  const both = await Promise.all([0, 1, 2, 3].map(() => A.client.post('/exchange/v1/results', { records: [rec2] }, { idempotencyKey: key() })));
  for (const r of both) assert.equal(r.body.results[0].ok, true, r.text);
  assert.equal(new Set(both.map((r) => r.body.results[0].id)).size, 1, 'one id for all');
  assert.equal((await results()).length, 2, 'the new one written once');
  // withdrawn at the street (a laboratory's correction): deleted at the district, by A only
  const del = async (client) => (await client.post('/exchange/v1/results', { records: [{ id: rec.id, deleted: true }] }, { idempotencyKey: key() })).body.results[0];
  assert.equal((await del(streets.B.client)).error?.code, 'not_found', "another street's deletion");
  assert.equal((await results()).length, 2);
  const gone = await del(A.client);
  assert.equal(gone.ok, true, JSON.stringify(gone));
  assert.equal(gone.id, first.body.results[0].id);
  const left = await results();
  assert.deepEqual(left.map((x) => x.result), ['positive'], 'the withdrawn one is gone');
  assert.equal((await del(A.client)).error?.code, 'not_found', 'its map entry went with it');
});

test('a home isolation at a street arrives once at the district, changes in place and ends as the street ended it', async () => {
  const B = streets.B;
  const p = await registered('B', '隔离乙', COMM_B);
  const list = async () => (await ok(await pcc.get(`/api/v1/observations?person_id=${p.parentId}&page_size=50&reveal=1`))).items;
  assert.equal((await list()).length, 0, 'positive control: none before');
  const obs = await ok(await B.cc.post('/api/v1/observations', { person_id: p.id, kind: 'home_isolation', source: 'grid_patrol', co_residents: 2, place: '隆福寺街1号' }), 201);
  assert.ok(await eventually(async () => (await list()).length === 1), JSON.stringify(await rejects('B')));
  const first = (await list())[0];
  assert.equal(first.kind, 'home_isolation');
  assert.equal(first.state, 'active');
  assert.equal(first.co_residents, 2);
  assert.equal(first.place, '隆福寺街1号');
  assert.equal(first.start_at, obs.start_at, "the street's start");
  assert.ok(await eventually(async () => (await parentPerson('隔离乙')).status === 'home_isolation'));
  // changed at the street: the same observation changes
  await ok(await B.cc.patch(`/api/v1/observations/${obs.id}`, { version: obs.version, co_residents: 3 }));
  assert.ok(await eventually(async () => (await list())[0]?.co_residents === 3), JSON.stringify(await rejects('B')));
  assert.equal((await list()).length, 1);
  assert.equal((await list())[0].id, first.id, 'in place');
  // released at the street: released at the district, the person back to normal
  await ok(await B.cc.post(`/api/v1/observations/${obs.id}/end`, { how: 'released', reason: '观察期满解除', release_status: 'free' }));
  assert.ok(await eventually(async () => (await list())[0]?.state === 'released'), JSON.stringify(await rejects('B')));
  assert.ok(await eventually(async () => (await parentPerson('隔离乙')).status === 'normal'), JSON.stringify(await rejects('B')));
  assert.equal((await list())[0].end_reason, '观察期满解除');
  assert.deepEqual(await rejects('B'), [], 'nothing refused along the way');
  // sent again in the outbox's shape: the same observation
  const mine = await ok(await B.cc.get(`/api/v1/observations/${obs.id}?reveal=1`));
  const again = await B.client.post('/exchange/v1/isolations', { records: [mine] }, { idempotencyKey: key() });
  assert.equal(again.body.results[0].ok, true, again.text);
  assert.equal(again.body.results[0].id, first.id);
  assert.equal((await list()).length, 1);
  // street A cannot name street B's person, by either id
  for (const pid of [p.id, p.parentId]) {
    const other = await streets.A.client.post('/exchange/v1/isolations', { records: [{ person_id: pid, kind: 'home_isolation', source: 'grid_patrol' }] }, { idempotencyKey: key() });
    assert.equal(other.body.results[0].error.code, 'not_found', other.text);
  }
  assert.equal((await list()).length, 1);
});

test('a plain caller writes observations with the documented fields; bad input per field changes nothing', async () => {
  const A = streets.A;
  const made = await A.client.post('/exchange/v1/persons', { records: [{ name: '直报隔离', id_number: nextId(), region_code: COMM_A }] }, { idempotencyKey: key() });
  assert.equal(made.body.accepted, 1, made.text);
  const pid = made.body.results[0].id;
  const list = async () => (await ok(await pcc.get(`/api/v1/observations?person_id=${pid}&page_size=50`))).items;
  const send = async (rec) => (await A.client.post('/exchange/v1/isolations', { records: [rec] }, { idempotencyKey: key() })).body.results[0];
  const base = { person_id: pid, kind: 'home_observation', source: 'grid_patrol' };
  const cases = [
    [{ kind: 'home_isolation', source: 'grid_patrol' }, 'required', 'person_id'],
    [{ person_id: pid, source: 'grid_patrol' }, 'required', 'kind'],
    [{ ...base, kind: 'flying' }, 'invalid_value', 'kind'],
    [{ ...base, kind: 'central' }, 'not_allowed', 'kind'],
    [{ ...base, source: 'rumour' }, 'invalid_value', 'source'],
    [{ ...base, start_at: 'yesterday' }, 'invalid_type', 'start_at'],
    [{ ...base, co_residents: 99 }, 'out_of_range', 'co_residents'],
    [{ ...base, site_id: '1' }, 'unknown_field', 'site_id'],
    [{ ...base, state: 'bogus' }, 'invalid_value', 'state'],
    [{ ...base, state: 'released' }, 'required', 'end_reason'],
    [{ ...base, hospital: 'x'.repeat(101) }, 'too_long', 'hospital'],
  ];
  for (const [rec, code, field] of cases) {
    const r = await send(rec);
    assert.equal(r.ok, false, JSON.stringify({ rec, r }));
    assert.equal(r.error.code, code, JSON.stringify({ rec, r }));
    assert.equal(r.error.field, field, JSON.stringify({ rec, r }));
  }
  assert.equal((await send({ id: '990000000000011', deleted: true })).error.code, 'not_allowed');
  assert.equal((await list()).length, 0, 'nothing written');
  const good = await send({ ...base, co_residents: 1 });
  assert.equal(good.ok, true, JSON.stringify(good));
  const l = await list();
  assert.equal(l.length, 1);
  assert.equal(l[0].id, good.id);
  assert.equal((await parentPerson('直报隔离')).status, 'observation');
  const twice = await send(base);
  assert.equal(twice.error.code, 'already_observed', 'a plain caller cannot open a second one');
  assert.equal((await list()).length, 1);
});
