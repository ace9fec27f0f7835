// Epidemiological investigation records (流调记录) through the API (issue 11,
// docs/tracing.md "Investigations"): create/read/update/delete with places
// and named contacts, venue suggestions (exact and normalised), contacts
// matched to registered persons by id number or phone, sealed at rest,
// masked, the reveal audited, the list's filters and export, every bad input
// answered 4xx with nothing written, scope (another street: 404) and
// permissions (403), and the inputs the contact-tracing engine takes.
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { residentId, expectError, auditEntries, startCityWith, sqlRun, writeTmp } from './lib.mjs';

const PW = 'Passw0rd!invest';
const COMMUNITY = '110101001001'; // 多福巷社区, 东华门街道
const OTHER_STREET = '110101002001'; // 隆福寺社区, 景山街道
let ctx, cc, cs, csOther, grid, checkpoint, auditor, gate, shop;

let seq = 0;
const rid = () => residentId('110101', '19750505', 600 + ++seq * 2);
const H = 3600 * 1000;
const T0 = Date.UTC(2026, 10, 20, 2); // 2026-11-20 10:00 China time

async function ok(p, status = 200) {
  const r = await p;
  assert.equal(r.status, status, r.text);
  return r.body;
}

async function person(over = {}) {
  const body = { name: '钱流调', id_number: rid(), region_code: COMMUNITY, status: 'confirmed', ...over };
  return (await ok(cc.post('/api/v1/persons', body), 201)).id;
}

const count = (t = 'investigations') => Number(sqlRun(ctx, `SELECT COUNT(*) FROM ${t}`).trim());

const record = (personId, over = {}) => ({
  person_id: personId,
  onset_on: '2026-11-18',
  symptoms: ['fever', 'cough'],
  investigated_at: T0 + 48 * H,
  institution: '东城区疾控中心',
  summary: '自述11月17日起乏力，曾到超市购物',
  places: [
    { place: '多福巷小区东门', venue_id: gate, from_at: T0, to_at: T0 + H, note: '取快递' },
    { place: '多福巷 便利店', from_at: T0 + 2 * H },
  ],
  contacts: [],
  ...over,
});

before(async () => {
  ctx = await startCityWith(
    {
      i_cc: ['command_center', '110101000000'],
      i_cs: ['community_staff', COMMUNITY],
      i_cs_other: ['community_staff', OTHER_STREET],
      i_gate: ['checkpoint_staff', '110101000000'],
      i_grid: ['grid_worker', COMMUNITY],
      i_auditor: ['audit_admin', '110000000000'],
    },
    PW,
  );
  ({ i_cc: cc, i_cs: cs, i_cs_other: csOther, i_gate: checkpoint, i_grid: grid, i_auditor: auditor } = ctx.as);
  const place = await ok(cc.post('/api/v1/places', { name: '多福巷小区', kind: 'community', region_code: COMMUNITY }), 201);
  gate = (await ok(cc.post('/api/v1/venues', { name: '多福巷小区东门', kind: 'community_gate', place_id: place.id }), 201)).id;
  shop = (await ok(cc.post('/api/v1/venues', { name: '多福巷便利店', kind: 'shop', place_id: place.id }), 201)).id;
});
after(async () => ctx?.stop());

test('a record with places and named contacts: matched, sealed, masked, revealed with audit, changed, deleted', async () => {
  const idNumber = rid();
  const p = await person({ name: '钱流调', id_number: idNumber });
  const knownId = rid();
  const known = await person({ name: '李密接', id_number: knownId, status: 'normal' });
  const byPhone = await person({ name: '赵电话', phone: '13700001111', status: 'normal' });
  const contacts = [
    { name: '李密接', id_number: knownId, relation: '同事', last_contact_at: T0 + 3 * H },
    { name: '赵电话', phone: '13700001111', relation: '邻居' },
    { name: '王陌生', phone: '13700002222', id_number: rid(), relation: '朋友' },
  ];
  const v = await ok(cc.post('/api/v1/investigations', record(p, { contacts })), 201);
  assert.equal(v.person_name, '钱*调');
  assert.ok(v.id_number.includes('*') && v.id_number !== idNumber);
  assert.equal(v.person_status, 'confirmed');
  assert.equal(v.region_name, '多福巷社区');
  assert.equal(v.onset_on, '2026-11-18');
  assert.deepEqual(v.symptoms, ['fever', 'cough']);
  assert.deepEqual(v.symptom_labels, ['发热', '咳嗽']);
  assert.ok(v.investigator_id);
  assert.equal(v.place_count, 2);
  assert.equal(v.places[0].venue_name, '多福巷小区东门');
  assert.deepEqual(v.places[0].suggestions, [], 'a place with a venue gets no suggestions');
  // the second place has no venue: the normalised name is offered, not stored
  assert.equal(v.places[1].venue_id, null);
  assert.deepEqual(v.places[1].suggestions.map((x) => [x.id, x.exact]), [[shop, false]]);
  // contacts: by id number, by phone, and nobody
  assert.deepEqual(v.contacts.map((c) => c.person_id), [known, byPhone, null]);
  assert.equal(v.contacts[0].name, '李*接');
  assert.ok(v.contacts[1].phone.includes('*'));
  assert.ok(v.contacts[2].id_number.includes('*'));

  // at rest: the summary, the places and the contacts are sealed
  for (const [t, col] of [['investigations', 'summary_enc'], ['investigation_places', 'place_enc'], ['investigation_contacts', 'name_enc']]) {
    const raw = sqlRun(ctx, `SELECT ${col} FROM ${t}`);
    assert.ok(!/便利店|乏力|李密接/.test(raw), `${t}.${col} sealed`);
  }
  // positive control: the institution is plain text and IS found
  assert.ok(sqlRun(ctx, 'SELECT institution FROM investigations').includes('东城区疾控中心'));

  // the reveal needs person.reveal and is audited
  expectError(await cs.get(`/api/v1/investigations/${v.id}?reveal=1`), 403, 'reveal_forbidden', 'reveal');
  const full = await ok(cc.get(`/api/v1/investigations/${v.id}?reveal=1`));
  assert.equal(full.person_name, '钱流调');
  assert.equal(full.contacts[1].phone, '13700001111');
  assert.ok((await auditEntries(auditor, 'person.reveal', p)).length >= 1);
  assert.ok((await auditEntries(auditor, 'person.reveal', known)).some((e) => /investigation_contact/.test(e.detail)), 'a named contact revealed');
  assert.equal((await auditEntries(auditor, 'trace.investigation.create', v.id)).length, 1);
  assert.ok((await auditEntries(auditor, 'trace.investigation.read', v.id)).length >= 1);

  // PATCH: the suggestion accepted, a contact dropped; the version checked
  const places = v.places.map(({ place, from_at, to_at, note }, i) => ({ place, from_at, to_at, note, venue_id: i ? shop : gate }));
  const u = await ok(cc.patch(`/api/v1/investigations/${v.id}`, { version: v.version, places, contacts: contacts.slice(0, 1) }));
  assert.equal(u.places[1].venue_name, '多福巷便利店');
  assert.equal(u.contact_count, 1);
  assert.equal(u.onset_on, '2026-11-18', 'untouched members stay');
  expectError(await cc.patch(`/api/v1/investigations/${v.id}`, { version: v.version, institution: 'x' }), 409, 'version_conflict');
  expectError(await cc.patch(`/api/v1/investigations/${v.id}`, { person_id: known }), 400, 'unknown_field', 'person_id');

  // the person's page lists it
  assert.deepEqual((await ok(cc.get(`/api/v1/persons/${p}/investigations`))).items.map((x) => x.id), [v.id]);

  await ok(cc.del(`/api/v1/investigations/${v.id}`), 204);
  expectError(await cc.get(`/api/v1/investigations/${v.id}`), 404, 'not_found');
  assert.equal((await auditEntries(auditor, 'trace.investigation.delete', v.id)).length, 1);
});

test('venue matches: exact first, then normalised names, in the caller\'s scope only', async () => {
  const m = await ok(cc.get(`/api/v1/investigations/venue-matches?place=${encodeURIComponent('多福巷便利店')}`));
  assert.deepEqual(m.items.map((x) => [x.id, x.exact]), [[shop, true]]);
  const n = await ok(cc.get(`/api/v1/investigations/venue-matches?place=${encodeURIComponent('多福巷小区东门（北侧）')}`));
  assert.deepEqual(n.items.map((x) => [x.id, x.exact]), [[gate, false]], 'a name held in the text is a candidate');
  const w = await ok(cc.get(`/api/v1/investigations/venue-matches?place=${encodeURIComponent('多福巷，小区 东门')}`));
  assert.deepEqual(w.items.map((x) => [x.id, x.exact]), [[gate, false]], 'spaces and punctuation do not count');
  const f = await ok(cc.get(`/api/v1/investigations/venue-matches?place=${encodeURIComponent(' 多福巷小区东门 ')}`));
  assert.equal(f.items[0].id, gate);
  assert.deepEqual((await ok(cc.get('/api/v1/investigations/venue-matches?place=' + encodeURIComponent('天安门广场')))).items, []);
  // the other street's staff do not see the community's venues
  assert.deepEqual((await ok(csOther.get('/api/v1/investigations/venue-matches?place=' + encodeURIComponent('多福巷便利店')))).items, []);
  expectError(await cc.get('/api/v1/investigations/venue-matches'), 400, 'required', 'place');
});

test('bad input is refused with the field and writes nothing', async () => {
  const p = await person();
  const other = await person({ region_code: OTHER_STREET });
  const normal = await person({ status: 'normal' });
  const before = [count(), count('investigation_places'), count('investigation_contacts')];
  const bad = async (body, status, code, field, who = cc) => expectError(await who.post('/api/v1/investigations', body), status, code, field);
  await bad(record(p, { onset_on: '2026-11-23' }), 400, 'invalid_range', 'onset_on');
  await bad(record(p, { places: [{ place: '超市', from_at: T0, to_at: T0 - 1 }] }), 400, 'invalid_range', 'places[0].to_at');
  await bad(record(p, { places: [{ place: '超市', from_at: T0, venue_id: '12345' }] }), 400, 'unknown_venue', 'places[0].venue_id');
  await bad(record(p, { places: [{ place: '超市' }] }), 400, 'required', 'places[0].from_at');
  await bad(record(p, { contacts: [{ name: '某人', id_number: '110101197505050000' }] }), 400, 'invalid_id_number', 'contacts[0].id_number');
  await bad(record(p, { contacts: [{ name: '某人', phone: '12345' }] }), 400, 'invalid_phone', 'contacts[0].phone');
  await bad(record(p, { contacts: [{ phone: '13700003333' }] }), 400, 'required', 'contacts[0].name');
  await bad(record(p, { symptoms: ['sneezing'] }), 400, 'invalid_value', 'symptoms');
  await bad(record(p, { onset_on: '2026-02-30' }), 400, 'invalid_date', 'onset_on');
  await bad(record(normal), 400, 'not_a_case', 'person_id');
  await bad(record(other), 404, 'not_found', undefined, grid);
  await bad(record(p, { places: Array.from({ length: 101 }, () => ({ place: 'x', from_at: T0 })) }), 400, 'too_many_places', 'places');
  await bad(record(p), 403, 'forbidden', undefined, checkpoint);
  const { investigated_at, ...noTime } = record(p);
  assert.ok(investigated_at);
  await bad(noTime, 400, 'required', 'investigated_at');
  assert.deepEqual([count(), count('investigation_places'), count('investigation_contacts')], before, 'nothing written');

  // a PATCH refused changes nothing; another street's record is 404
  const v = await ok(cc.post('/api/v1/investigations', record(p)), 201);
  const w = await ok(cc.post('/api/v1/investigations', record(other)), 201);
  expectError(await cc.patch(`/api/v1/investigations/${v.id}`, { places: [{ place: 'x', from_at: T0, to_at: 1 }] }), 400, 'invalid_range', 'places[0].to_at');
  expectError(await grid.patch(`/api/v1/investigations/${w.id}`, { institution: '改' }), 404, 'not_found');
  expectError(await grid.del(`/api/v1/investigations/${w.id}`), 404, 'not_found');
  expectError(await cs.get(`/api/v1/investigations/${w.id}`), 404, 'not_found');
  expectError(await cs.get(`/api/v1/persons/${other}/investigations`), 404, 'not_found');
  const again = await ok(cc.get(`/api/v1/investigations/${v.id}`));
  assert.equal(again.version, v.version);
  assert.equal(again.place_count, 2);
  assert.equal((await ok(cc.get(`/api/v1/investigations/${w.id}`))).institution, '东城区疾控中心');
});

test('the list: person, region, dates, paging, scope and the export', async () => {
  const a = await person({ name: '孙甲' });
  const b = await person({ name: '周乙', region_code: OTHER_STREET });
  const day = (d) => Date.UTC(2026, 9, d, 4); // October, noon China time
  const va = await ok(cc.post('/api/v1/investigations', record(a, { investigated_at: day(3), onset_on: '2026-10-01' })), 201);
  const vb = await ok(cc.post('/api/v1/investigations', record(b, { investigated_at: day(5), onset_on: null })), 201);
  assert.equal(vb.onset_on, null);
  const ids = async (q, who = cc) => (await ok(who.get(`/api/v1/investigations?${q}`))).items.map((x) => x.id);
  assert.deepEqual(await ids('from=2026-10-01&to=2026-10-31'), [vb.id, va.id], 'newest first');
  assert.deepEqual(await ids('from=2026-10-04&to=2026-10-31'), [vb.id]);
  assert.deepEqual(await ids('from=2026-10-01&to=2026-10-03'), [va.id], 'to is inclusive');
  assert.deepEqual(await ids(`person_id=${a}`), [va.id]);
  const idA = (await ok(cc.get(`/api/v1/persons/${a}?reveal=1`))).id_number;
  assert.deepEqual(await ids(`id_number=${idA}`), [va.id], 'the exact id number');
  assert.deepEqual(await ids(`id_number=${rid()}`), [], 'an id number of nobody: nothing');
  assert.deepEqual(await ids(`id_number=${idA}`, csOther), [], 'nor somebody outside the scope');
  assert.deepEqual(await ids(`region_code=${OTHER_STREET}&from=2026-10-01&to=2026-10-31`), [vb.id]);
  assert.deepEqual(await ids('from=2026-10-01&to=2026-10-31', cs), [va.id], 'the community sees its own');
  assert.deepEqual(await ids('from=2026-10-01&to=2026-10-31', csOther), [vb.id]);
  expectError(await cs.get(`/api/v1/investigations?region_code=${OTHER_STREET}`), 400, 'invalid_region', 'region_code');
  expectError(await cc.get('/api/v1/investigations?from=2026-10-31&to=2026-10-01'), 400, 'invalid_range', 'to');
  const page = await ok(cc.get('/api/v1/investigations?from=2026-10-01&to=2026-10-31&page=2&page_size=1'));
  assert.equal(page.total, 2);
  assert.deepEqual(page.items.map((x) => x.id), [va.id]);
  assert.equal(page.items[0].places, undefined, 'the list does not read places');
  const csv = await cc.get('/api/v1/investigations?from=2026-10-01&to=2026-10-31&format=csv');
  assert.equal(csv.status, 200);
  assert.match(csv.text, /孙\*/);
  assert.ok(!csv.text.includes('孙甲'), 'masked in the export');
  const x = await fetch(`${ctx.url}/api/v1/investigations?from=2026-10-01&format=xlsx`, { headers: { cookie: cc.cookie } });
  assert.equal(x.status, 200);
  assert.match(x.headers.get('content-type'), /spreadsheetml/);
  assert.ok((await auditEntries(auditor, 'trace.investigation.list')).some((e) => /csv/.test(e.detail)));
});

test('the tracing engine\'s inputs come from the records (GET …/graph nodes show the onset)', async () => {
  const p = await person();
  await ok(cc.post('/api/v1/investigations', record(p, { investigated_at: T0 + 10 * H, onset_on: '2026-11-19' })), 201);
  await ok(cc.post('/api/v1/investigations', record(p, { investigated_at: T0 + 2 * H, onset_on: '2026-11-17' })), 201);
  // the newest record's onset is the case's onset in the graphs
  const s = await ok(cc.post('/api/v1/persons', { name: '源头', id_number: rid(), region_code: COMMUNITY, status: 'confirmed' }), 201);
  await ok(cc.post('/api/v1/case-links', { person_id: p, source_id: s.id, kind: 'certain' }), 201);
  const g = await ok(cc.get(`/api/v1/case-links/graph?region=${COMMUNITY}`));
  const node = g.nodes.find((n) => n.id === p);
  assert.equal(node.onset_on, '2026-11-19');
});

test('contact tracing takes the record: the onset opens the window, a named place finds a co-visitor, a named contact is close', async () => {
  const MIN = 60000;
  const T = Math.floor((Date.now() - 2 * 86400000) / MIN) * MIN; // two days ago
  const chinaDay = (ms) => new Date(ms + 8 * H).toISOString().slice(0, 10);
  const x = await person({ name: '冯病例' });
  const coVisitor = await person({ name: '褚同场', status: 'normal' });
  const farVisitor = await person({ name: '卫错时', status: 'normal' });
  const namedId = rid();
  const named = await person({ name: '蒋自述', id_number: namedId, status: 'normal' });
  // x has no passage of its own: only the record says x was at the gate [T, T+60]
  const csv = 'venue_id,person_id,direction,at\n' + [
    [coVisitor, 'in', T + 10 * MIN], [coVisitor, 'out', T + 40 * MIN], // 30 minutes together
    [farVisitor, 'in', T + 200 * MIN], // long after
  ].map(([p, d, t]) => `${gate},${p},${d},${t}`).join('\n') + '\n';
  ctx.must(['trace', 'load-access', writeTmp(ctx, 'inv-passages.csv', csv)]);
  const onset = chinaDay(T - 86400000);
  await ok(cc.post('/api/v1/investigations', record(x, {
    onset_on: onset,
    investigated_at: T + 2 * H,
    places: [{ place: '多福巷小区东门', venue_id: gate, from_at: T, to_at: T + 60 * MIN }],
    contacts: [{ name: '蒋自述', id_number: namedId, relation: '同事' }, { name: '无登记', phone: '13700009999' }],
  })), 201);
  const run = await ok(cc.post('/api/v1/traces', { person_id: x, degree: 1 }), 201);
  // the default window opens lookback_days (4) before the onset's China midnight
  assert.equal(run.run.from, Date.parse(`${onset}T00:00:00+08:00`) - 4 * 86400000);
  const list = await ok(cc.get(`/api/v1/traces/${run.run.id}?page_size=100`));
  const by = Object.fromEntries(list.items.map((c) => [c.person.id, c]));
  assert.deepEqual(Object.keys(by).sort(), [coVisitor, named].sort(), 'the co-visitor and the named contact, nobody else');
  assert.equal(by[coVisitor].class, 'close');
  assert.equal(by[coVisitor].reasons[0].kind, 'venue');
  assert.equal(by[coVisitor].reasons[0].overlap_minutes, 30);
  assert.equal(by[named].class, 'close');
  assert.deepEqual(by[named].reasons.map((r) => r.kind), ['named']);
  assert.equal(by[named].reasons[0].kind_label, '病例自述');
  // positive control: without the record's place, the gate finds nobody
  const y = await person({ name: '沈无记录' });
  const bare = await ok(cc.post('/api/v1/traces', { person_id: y, degree: 1, from: T - H, to: T + 2 * H }), 201);
  assert.equal((await ok(cc.get(`/api/v1/traces/${bare.run.id}`))).items.length, 0);
});
