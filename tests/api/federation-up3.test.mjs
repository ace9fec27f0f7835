// Federation upward, the third part (docs/exchange.md "Upward, step by
// step"): close contacts. A district parent and two street children on
// loopback, each with its own FK_NODE; under scripts/with-postgres.sh the
// district and the second street run on PostgreSQL and the first street on
// SQLite, otherwise all on SQLite.
// - a tracing run filed at a street (its contacts: a household member)
//   arrives once at the district, the case and the contact made the
//   district's people; sent again it is the same run;
// - sent changed (the outbox's shape, a class and a venue reason changed),
//   it is updated in place, the street's venue kept by its name (its case
//   cannot change);
// - a contact the street never sent is refused alone with its code;
// - another street can neither name nor delete it; a deletion from its
//   street removes it with its map entry;
// - a plain caller writes a run with the documented fields; bad input per
//   field gets its code and changes nothing.
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { startCityWith, residentId, sleep, onPostgres } from './lib.mjs';
import { ExchangeClient } from '../../clients/exchange-client.mjs';

const PW = 'Passw0rd!fedup3';
const DISTRICT = '110101000000';
const STREET_A = '110101001000'; // 东华门街道
const COMM_A = '110101001001'; // 多福巷社区
const STREET_B = '110101002000'; // 景山街道
const COMM_B = '110101002001'; // 隆福寺社区
const PARENT = '东城区防控平台';
const UP = ['persons', 'contacts'];
const DAY = 86400000;
let parent, pAdmin, pcc;
const streets = {}; // A, B: { ctx, admin, cc, client, peerId, people }
let seq = 1600;
const nextId = () => residentId('110101', '19810909', (seq += 2));
let ik = 0;
const key = () => `fed-up3-${process.pid}-${++ik}`;

async function ok(r, status = 200) {
  assert.equal(r.status, status, r.text);
  return r.body;
}

async function eventually(fn, ms = 20000) {
  let v;
  for (let t = 0; t < ms; t += 200) {
    if ((v = await fn())) return v;
    await sleep(200);
  }
  return fn();
}

const atParent = async (name) =>
  (await ok(await pcc.get('/api/v1/persons?page_size=100&reveal=1'))).items.filter((p) => p.name === name);
const rejects = async (k) => (await ok(await streets[k].admin.get(`/api/v1/exchange/peers/${streets[k].peerId}`))).rejects;
// the district's runs of a (district) person, and one run's contacts by name
const runsOf = async (pid) => (await ok(await pcc.get(`/api/v1/traces?person_id=${pid}&page_size=50`))).items;
const contactsOf = async (id) => {
  const r = await ok(await pcc.get(`/api/v1/traces/${id}?page_size=100&reveal=1`));
  return Object.fromEntries(r.items.map((c) => [c.person.name, c]));
};

async function startStreet(k, node, region, sqlite) {
  const caller = await ok(
    await pAdmin.post('/api/v1/exchange/callers', {
      name: `${k === 'A' ? '东华门' : '景山'}街道防控平台`, organisation: '街道办事处', contact_name: '王工', contact_phone: '13800138009',
      regions: [region], read: ['zones'], write: UP, rate_per_min: 6000,
    }),
    201,
  );
  const serverKey = JSON.parse(await (await fetch(parent.url + '/exchange/v1/server-key')).text()).public_key_pem;
  const ctx = await startCityWith(
    { [`${k}_admin`]: ['security_admin', '110000000000'], [`${k}_cc`]: ['command_center', DISTRICT] },
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
  streets[k] = { ctx, admin, cc: ctx.as[`${k}_cc`], client, peerId: peer.id, people: {} };
}

// A person registered at a street and arrived at the district.
async function registered(k, name, region, over = {}) {
  const s = streets[k];
  const p = await ok(await s.cc.post('/api/v1/persons', { name, id_number: nextId(), region_code: region, ...over }), 201);
  s.people[name] = { id: p.id };
  assert.ok(await eventually(async () => (await atParent(name)).length === 1), `${name} arrives`);
  s.people[name].parentId = (await atParent(name))[0].id;
  return s.people[name];
}

before(async () => {
  parent = await startCityWith(
    { p_admin: ['security_admin', '110000000000'], p_cc: ['command_center', DISTRICT] },
    PW,
    { sqlite: !onPostgres, env: { FK_NODE: '51', FK_OUTBOX_EVERY: '0' } },
  );
  ({ p_admin: pAdmin, p_cc: pcc } = parent.as);
  await startStreet('A', '52', STREET_A, true);
  await startStreet('B', '53', STREET_B, false);
});

after(async () => {
  for (const s of Object.values(streets)) await s.ctx?.stop();
  await parent?.stop();
});

let run; // street A's run, as its outbox sends it
let parentRun; // its id at the district

test('a tracing run filed at a street arrives once at the district with its contacts', async () => {
  assert.equal(!!parent.dbUrl, onPostgres, 'the district is on PostgreSQL exactly under with-postgres');
  const A = streets.A;
  const x = await registered('A', '密接病例甲', COMM_A, { household: 'H-UP3' });
  const h = await registered('A', '同户密接乙', COMM_A, { household: 'H-UP3' });
  await ok(await A.cc.post(`/api/v1/persons/${x.id}/status`, { to: 'observation', reason: '密接排查' }));
  await ok(await A.cc.post(`/api/v1/persons/${x.id}/status`, { to: 'suspected', reason: '发热伴咳嗽' }));
  assert.equal((await runsOf(x.parentId)).length, 0, 'positive control: none before');
  const now = Date.now();
  const made = await ok(await A.cc.post('/api/v1/traces', { person_id: x.id, degree: 1, from: now - 2 * DAY, to: now }), 201);
  assert.ok(await eventually(async () => (await runsOf(x.parentId)).length === 1), JSON.stringify(await rejects('A')));
  const [r] = await runsOf(x.parentId);
  parentRun = r.id;
  assert.notEqual(parentRun, made.run.id, "the district's own id");
  assert.equal(r.degree, 1);
  assert.equal(r.from, now - 2 * DAY);
  assert.equal(r.counts.close, 1);
  const c = await contactsOf(parentRun);
  assert.deepEqual(Object.keys(c), ['同户密接乙']);
  assert.equal(c['同户密接乙'].person.id, h.parentId, "the district's person");
  assert.equal(c['同户密接乙'].class, 'close');
  assert.equal(c['同户密接乙'].reasons[0].kind, 'household');
  assert.deepEqual(await rejects('A'), [], 'nothing refused');
  // sent again in the outbox's shape: the same run, nothing added
  const mine = await ok(await A.cc.get(`/api/v1/traces/${made.run.id}?page_size=100&reveal=1`));
  run = { ...mine.run, contacts: mine.items };
  const again = await A.client.post('/exchange/v1/contacts', { records: [run] }, { idempotencyKey: key() });
  assert.equal(again.status, 200, again.text);
  assert.ok(again.verified);
  assert.equal(again.body.results[0].ok, true, again.text);
  assert.equal(again.body.results[0].id, parentRun);
  assert.equal((await runsOf(x.parentId)).length, 1, 'once');
  assert.equal(Object.keys(await contactsOf(parentRun)).length, 1);
});

test('changed at the street, the run is updated in place; the street venue is kept by its name; an unsent contact is refused alone', async () => {
  const A = streets.A;
  const x = A.people['密接病例甲'];
  const at = Date.now() - DAY;
  const changed = structuredClone(run);
  changed.contacts[0].class = 'general';
  changed.contacts[0].reasons.push({ kind: 'venue', venue_id: '990000000000031', venue_name: '多福巷小区东门', from: at, to: at + 1800e3, overlap_minutes: 30, crowd: 2, number: '', seat: '' });
  const unsent = structuredClone(run);
  unsent.id = '990000000000033';
  unsent.contacts[0].person = { id: '990000000000035', name: '未报送' };
  const otherCase = { ...structuredClone(changed), person: { id: A.people['同户密接乙'].id } };
  const r = await A.client.post('/exchange/v1/contacts', { records: [changed, unsent, otherCase] }, { idempotencyKey: key() });
  assert.equal(r.status, 200, r.text);
  assert.equal(r.body.results[0].ok, true, r.text);
  assert.equal(r.body.results[0].id, parentRun, 'in place');
  assert.equal(r.body.results[1].error.code, 'contact_not_received', r.text);
  assert.equal(r.body.results[1].error.field, 'contacts[0].person_id');
  assert.equal(r.body.results[2].error.code, 'person_changed', 'a run keeps its case');
  assert.equal((await runsOf(x.parentId)).length, 1, 'the refused one wrote nothing');
  const c = (await contactsOf(parentRun))['同户密接乙'];
  assert.equal(c.class, 'general');
  const venue = c.reasons.find((x) => x.kind === 'venue');
  assert.equal(venue.venue_name, '多福巷小区东门');
  assert.equal(venue.venue_id, undefined, "the street's venue id is not kept");
  assert.equal(venue.overlap_minutes, 30);
  const [listed] = await runsOf(x.parentId);
  assert.deepEqual([listed.counts.close, listed.counts.general], [0, 1]);
});

test('another street can neither name nor delete the run; a deletion from its street removes it', async () => {
  const A = streets.A;
  const B = streets.B;
  const x = A.people['密接病例甲'];
  const other = await B.client.post('/exchange/v1/contacts', {
    records: [
      { id: run.id, deleted: true },
      run,
      { ...run, id: undefined, person: undefined, person_id: x.parentId, contacts: [] },
    ],
  }, { idempotencyKey: key() });
  assert.equal(other.status, 200, other.text);
  assert.deepEqual(other.body.results.map((r) => r.error?.code), ['not_found', 'not_found', 'not_found'], other.text);
  assert.equal((await runsOf(x.parentId)).length, 1, 'untouched');
  const gone = await A.client.post('/exchange/v1/contacts', { records: [{ id: run.id, deleted: true }] }, { idempotencyKey: key() });
  assert.equal(gone.body.results[0].ok, true, gone.text);
  assert.equal(gone.body.results[0].id, parentRun);
  assert.equal((await runsOf(x.parentId)).length, 0, 'removed');
  const twice = await A.client.post('/exchange/v1/contacts', { records: [{ id: run.id, deleted: true }] }, { idempotencyKey: key() });
  assert.equal(twice.body.results[0].error.code, 'not_found', 'its map entry went with it');
});

test('a plain caller writes a run with the documented fields; bad input per field changes nothing', async () => {
  const B = streets.B;
  const made = await B.client.post('/exchange/v1/persons', {
    records: [
      { name: '直报病例丙', id_number: nextId(), region_code: COMM_B },
      { name: '直报密接丁', id_number: nextId(), region_code: COMM_B },
      { name: '直报密接戊', id_number: nextId(), region_code: COMM_B },
    ],
  }, { idempotencyKey: key() });
  assert.equal(made.body.accepted, 3, made.text);
  const [cid, k1, k2] = made.body.results.map((r) => r.id);
  const send = async (rec) => (await B.client.post('/exchange/v1/contacts', { records: [rec] }, { idempotencyKey: key() })).body.results[0];
  const now = Date.now();
  const reason = { kind: 'venue', place: '隆福寺商场', from: now - DAY, to: now - DAY + 1800e3, overlap_minutes: 30 };
  const contact = { person_id: k1, degree: 1, class: 'close', reasons: [reason] };
  const base = { person_id: cid, from: now - 3 * DAY, to: now, degree: 2, contacts: [contact] };
  const withContact = (over) => ({ ...base, contacts: [{ ...contact, ...over }] });
  const withReason = (over) => withContact({ reasons: [{ ...reason, ...over }] });
  const cases = [
    [{ ...base, person_id: undefined }, 'required', 'person_id'],
    [{ ...base, person_id: '123456789' }, 'not_found', 'person_id'],
    [{ ...base, person_id: streets.A.people['同户密接乙'].parentId }, 'not_found', 'person_id'],
    [{ ...base, from: undefined }, 'required', 'from'],
    [{ ...base, from: 'yesterday' }, 'out_of_range', 'from'],
    [{ ...base, to: now - 4 * DAY }, 'invalid_range', 'to'],
    [{ ...base, from: now - 61 * DAY }, 'invalid_window', 'to'],
    [{ ...base, degree: 3 }, 'out_of_range', 'degree'],
    [{ ...base, window_minutes: 0 }, 'out_of_range', 'window_minutes'],
    [{ ...base, rules: 'strict' }, 'invalid_type', 'rules'],
    [{ ...base, trigger: 'sometimes' }, 'invalid_value', 'trigger'],
    [{ ...base, truncated: 'no' }, 'invalid_type', 'truncated'],
    [{ ...base, contacts: undefined }, 'required', 'contacts'],
    [{ ...base, contacts: ['x'] }, 'invalid_type', 'contacts[0]'],
    [withContact({ person_id: undefined }), 'required', 'contacts[0].person_id'],
    [withContact({ person_id: cid }), 'invalid_value', 'contacts[0].person_id'],
    [withContact({ person_id: streets.A.people['同户密接乙'].parentId }), 'not_found', 'contacts[0].person_id'],
    [{ ...base, contacts: [contact, contact] }, 'duplicate_contact', 'contacts[1].person_id'],
    [withContact({ degree: 0 }), 'out_of_range', 'contacts[0].degree'],
    [withContact({ class: 'far' }), 'invalid_value', 'contacts[0].class'],
    [withContact({ via_person_id: '123456789' }), 'not_found', 'contacts[0].via_person_id'],
    [withContact({ reasons: 'x' }), 'invalid_type', 'contacts[0].reasons'],
    [withReason({ kind: 'magic' }), 'invalid_value', 'contacts[0].reasons[0].kind'],
    [withReason({ from: undefined }), 'required', 'contacts[0].reasons[0].from'],
    [withReason({ to: now - 2 * DAY }), 'out_of_range', 'contacts[0].reasons[0].to'],
    [withReason({ place: '商'.repeat(101) }), 'too_long', 'contacts[0].reasons[0].place'],
    [withReason({ number: 'G123456789' }), 'too_long', 'contacts[0].reasons[0].number'],
    [{ id: '990000000000037', deleted: true }, 'not_found', 'id'],
  ];
  for (const [rec, code, field] of cases) {
    const r = await send(rec);
    assert.equal(r.ok, false, JSON.stringify({ rec, r }));
    assert.equal(r.error.code, code, JSON.stringify({ rec, r }));
    assert.equal(r.error.field, field, JSON.stringify({ rec, r }));
  }
  assert.equal((await runsOf(cid)).length, 0, 'nothing written');
  const good = await send({ ...base, contacts: [contact, { person_id: k2, degree: 2, class: 'secondary', via_person_id: k1, reasons: [{ kind: 'household', from: now - DAY }] }] });
  assert.equal(good.ok, true, JSON.stringify(good));
  const runs = await runsOf(cid);
  assert.equal(runs.length, 1);
  assert.equal(runs[0].id, good.id);
  assert.deepEqual([runs[0].counts.close, runs[0].counts.secondary], [1, 1]);
  const c = await contactsOf(good.id);
  assert.equal(c['直报密接丁'].reasons[0].venue_name, '隆福寺商场');
  assert.equal(c['直报密接丁'].overlap_minutes, 30);
  assert.equal(c['直报密接戊'].via.person_id, k1);
  assert.equal(c['直报密接戊'].first_at, now - DAY, 'the earliest reason when not given');
});
