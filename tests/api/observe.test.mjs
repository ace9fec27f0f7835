// The observation list through the API (issue 9, docs/cases.md): home,
// central (with a room) and hospital observations, the code they turn, the
// second observation and a taken room refused with nothing changed, rooms
// (bulk, range, close), moves, the end (released / transferred), periods,
// the list (filters, counts, masked names, CSV), PATCH with its version,
// bad input, scope (another street's staff: 404) and audit.
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import fs from 'node:fs';
import path from 'node:path';
import { residentId, expectError, auditEntries, startCityWith, sqlRun } from './lib.mjs';

const PW = 'Passw0rd!observe';
const COMMUNITY = '110101001001'; // 多福巷社区, 东华门街道
const OTHER_STREET = '110101002001'; // 隆福寺社区, 景山街道
const DAY = 24 * 3600e3;
let ctx, cc, cs, csOther, leader, auditor, site, otherSite, community;

let seq = 0;
const rid = () => residentId('110101', '19850505', 300 + ++seq * 2);

async function person(region = COMMUNITY, over = {}) {
  const r = await cc.post('/api/v1/persons', { name: '钱多多', id_number: rid(), region_code: region, ...over });
  assert.equal(r.status, 201, r.text);
  return r.body.id;
}

async function ok(p, status = 200) {
  const r = await p;
  assert.equal(r.status, status, r.text);
  return r.body;
}

const code = async (id) => (await ok(cc.get(`/api/v1/persons/${id}/code`))).colour;
const personStatus = async (id) => (await ok(cc.get(`/api/v1/persons/${id}`))).status;

before(async () => {
  ctx = await startCityWith(
    {
      o_cc: ['command_center', '110101000000'],
      o_cs: ['community_staff', COMMUNITY],
      o_cs_other: ['community_staff', OTHER_STREET],
      o_leader: ['leader', '110100000000'],
      o_auditor: ['audit_admin', '110000000000'],
    },
    PW,
  );
  ({ o_cc: cc, o_cs: cs, o_cs_other: csOther, o_leader: leader, o_auditor: auditor } = ctx.as);
  site = (await ok(cc.post('/api/v1/places', { name: '东华门隔离酒店', kind: 'quarantine_site', region_code: COMMUNITY }), 201)).id;
  otherSite = (await ok(cc.post('/api/v1/places', { name: '景山隔离点', kind: 'quarantine_site', region_code: OTHER_STREET }), 201)).id;
  community = (await ok(cc.post('/api/v1/places', { name: '多福巷小区', kind: 'community', region_code: COMMUNITY }), 201)).id;
});
after(async () => ctx?.stop());

test('home isolation: on the list, status and code follow, a second one is refused, release ends it', async () => {
  const id = await person();
  assert.equal(await code(id), 'green');
  const start = Date.now() - 2 * DAY;
  const o = await ok(cs.post('/api/v1/observations', {
    person_id: id, kind: 'home_isolation', source: 'grid_patrol', start_at: start,
    place: '北京市东城区多福巷12号院3单元', co_residents: 2, co_residents_info: '妻子王某某，儿子钱某',
    risk_area_stay: true, notice_signed: true, handover: '李建国', arrival_transport: '火车', transport_no: 'G101',
  }), 201);
  assert.equal(o.state, 'active');
  assert.equal(o.kind_label, '居家隔离');
  assert.equal(o.source_label, '网格排查');
  assert.equal(o.person_status, 'home_isolation');
  assert.equal(o.planned_end_at, start + 14 * DAY);
  assert.equal(o.days_left, 12);
  assert.equal(o.observed_days, 2);
  assert.equal(o.region_name, '多福巷社区');
  // texts about people are masked, and sealed at rest
  assert.equal(o.person_name, '钱*多');
  assert.equal(o.handover, '李*国');
  assert.equal(o.place, '北京市东城区****');
  assert.equal(o.co_residents, 2);
  assert.equal(o.risk_area_stay, true);
  assert.equal(o.transport_no, 'G101');
  const raw = sqlRun(ctx, `SELECT handover_enc, place_enc, co_residents_info_enc FROM observations WHERE id = ${o.id}`);
  assert.ok(!raw.includes('李建国') && !raw.includes('多福巷12号') && !raw.includes('王某某'), raw);
  assert.equal(await personStatus(id), 'home_isolation');
  assert.equal(await code(id), 'red');
  const iso = await ok(cc.get(`/api/v1/persons/${id}/isolations`));
  assert.equal(iso.total, 1);
  assert.equal(iso.items[0].kind, 'home');
  assert.equal(iso.items[0].end_at, 0);

  const again = await cs.post('/api/v1/observations', { person_id: id, kind: 'home_observation', source: 'cdc' });
  expectError(again, 409, 'already_observed');
  assert.equal((await ok(cc.get(`/api/v1/observations?state=active&person_status=home_isolation`))).items.filter((x) => x.person_id === id).length, 1);

  // revealed with person.reveal, audited
  const full = await ok(cc.get(`/api/v1/observations/${o.id}?reveal=1`));
  assert.equal(full.handover, '李建国');
  assert.equal(full.person_name, '钱多多');
  expectError(await cs.get(`/api/v1/observations/${o.id}?reveal=1`), 403, 'reveal_forbidden');

  // release: state, release status, person normal, isolation closed, code green
  expectError(await cs.post(`/api/v1/observations/${o.id}/end`, { reason: '' }), 400, 'required', 'reason');
  const ended = await ok(cs.post(`/api/v1/observations/${o.id}/end`, { reason: '隔离期满，无异常', release_status: 'free' }));
  assert.equal(ended.state, 'released');
  assert.equal(ended.release_status, 'free');
  assert.equal(ended.release_status_label, '自由');
  assert.equal(ended.days_left, null);
  assert.equal(await personStatus(id), 'normal');
  assert.equal(await code(id), 'green');
  assert.ok((await ok(cc.get(`/api/v1/persons/${id}/isolations`))).items[0].end_at > 0);
  expectError(await cs.post(`/api/v1/observations/${o.id}/end`, { reason: '再次' }), 409, 'observation_closed');

  // the timeline: newest first, with names
  const tl = await ok(cs.get(`/api/v1/persons/${id}/timeline`));
  assert.deepEqual(tl.items.map((x) => x.action), ['status', 'released', 'status', 'observed']);
  assert.equal(tl.items[3].action_label, '纳入隔离观察');
  assert.equal(tl.items[3].detail.kind, 'home_isolation');
  assert.ok(tl.items.every((x) => x.user_name === 'o_cs'), JSON.stringify(tl.items));

  // and a new observation is allowed once the first ended
  await ok(cs.post('/api/v1/observations', { person_id: id, kind: 'home_observation', source: 'cdc' }), 201);
  assert.equal(await personStatus(id), 'observation');
});


test('central quarantine: rooms in bulk and by range, a taken room is refused, moves and transfers free rooms', async () => {
  assert.deepEqual(await ok(cs.post(`/api/v1/quarantine-sites/${site}/rooms`, { rooms: ['101', '102', '103'] }), 201), { added: 3 });
  assert.deepEqual(await ok(cs.post(`/api/v1/quarantine-sites/${site}/rooms`, { from: 201, to: 205 }), 201), { added: 5 });
  expectError(await cs.post(`/api/v1/quarantine-sites/${site}/rooms`, { rooms: ['103', '104'] }), 409, 'duplicate_room');
  expectError(await cs.post(`/api/v1/quarantine-sites/${site}/rooms`, { rooms: ['301', '301'] }), 400, 'duplicate_room', 'rooms[1]');
  expectError(await cs.post(`/api/v1/quarantine-sites/${site}/rooms`, { from: 9, to: 1 }), 400, 'out_of_range', 'to');
  assert.equal((await ok(cs.get(`/api/v1/quarantine-sites/${site}/rooms`))).total, 8);

  const a = await person(), b = await person();
  const oa = await ok(cs.post('/api/v1/observations', { person_id: a, kind: 'central', source: 'contact', site_id: site, room_no: '101' }), 201);
  assert.equal(oa.site_name, '东华门隔离酒店');
  assert.equal(oa.room_no, '101');
  assert.equal(await personStatus(a), 'central_quarantine');
  assert.equal(await code(a), 'red');
  // the room is taken: 409 and nothing changed for b
  expectError(await cs.post('/api/v1/observations', { person_id: b, kind: 'central', source: 'contact', site_id: site, room_no: '101' }), 409, 'room_taken', 'room_no');
  assert.equal(await personStatus(b), 'normal');
  assert.equal(await code(b), 'green');
  assert.equal((await ok(cc.get(`/api/v1/persons/${b}/isolations`))).total, 0);
  assert.equal((await ok(cc.get(`/api/v1/persons/${b}/timeline`))).total, 0);
  expectError(await cs.post('/api/v1/observations', { person_id: b, kind: 'central', source: 'contact', site_id: site, room_no: '999' }), 400, 'invalid_room', 'room_no');

  let rooms = (await ok(cs.get(`/api/v1/quarantine-sites/${site}/rooms`))).items;
  const r101 = rooms.find((x) => x.room_no === '101');
  assert.equal(r101.state, 'occupied');
  assert.equal(r101.person_name, '钱*多');
  let sites = (await ok(cs.get('/api/v1/quarantine-sites'))).items;
  assert.deepEqual(sites.map((s) => s.name), ['东华门隔离酒店']); // the other street's site is out of scope
  assert.deepEqual([sites[0].rooms, sites[0].occupied, sites[0].free, sites[0].capacity], [8, 1, 7, 8]);

  // close a room: it counts out of the capacity and cannot be taken
  await ok(cs.patch(`/api/v1/quarantine-sites/${site}/rooms/205`, { closed: true }), 204);
  expectError(await cs.patch(`/api/v1/quarantine-sites/${site}/rooms/101`, { closed: true }), 409, 'room_occupied');
  expectError(await cs.post('/api/v1/observations', { person_id: b, kind: 'central', source: 'contact', site_id: site, room_no: '205' }), 409, 'room_closed');
  sites = (await ok(cs.get('/api/v1/quarantine-sites'))).items;
  assert.deepEqual([sites[0].capacity, sites[0].closed], [7, 1]);

  // move a to 102: 101 is free again, b may take it
  const moved = await ok(cs.post(`/api/v1/observations/${oa.id}/move`, { site_id: site, room_no: '102' }));
  assert.equal(moved.room_no, '102');
  rooms = (await ok(cs.get(`/api/v1/quarantine-sites/${site}/rooms`))).items;
  assert.equal(rooms.find((x) => x.room_no === '101').state, 'free');
  const ob = await ok(cs.post('/api/v1/observations', { person_id: b, kind: 'central', source: 'contact', site_id: site, room_no: '101' }), 201);
  expectError(await cs.post(`/api/v1/observations/${oa.id}/move`, { site_id: site, room_no: '101' }), 409, 'room_taken');

  // transferred: the room is freed, the status stays as it is
  const t = await ok(cs.post(`/api/v1/observations/${ob.id}/end`, { how: 'transferred', reason: '转送定点医院', release_status: 'treatment' }));
  assert.equal(t.state, 'transferred');
  assert.equal(await personStatus(b), 'central_quarantine');
  rooms = (await ok(cs.get(`/api/v1/quarantine-sites/${site}/rooms`))).items;
  assert.equal(rooms.find((x) => x.room_no === '101').state, 'free');
  assert.equal((await ok(cc.get(`/api/v1/persons/${b}/timeline`))).items[0].action, 'transferred');
});

test('hospital: the hand-over is required, no planned end; periods change the planned end', async () => {
  const id = await person();
  expectError(await cs.post('/api/v1/observations', { person_id: id, kind: 'hospital', source: 'doctor', hospital: '地坛医院' }), 400, 'required', 'handover');
  expectError(await cs.post('/api/v1/observations', { person_id: id, kind: 'hospital', source: 'doctor', handover: '张医生' }), 400, 'required', 'hospital');
  const o = await ok(cs.post('/api/v1/observations', { person_id: id, kind: 'hospital', source: 'doctor', hospital: '地坛医院', handover: '张医生' }), 201);
  assert.equal(o.hospital, '地坛医院');
  assert.equal(o.planned_end_at, null);
  assert.equal(o.days_left, null);
  assert.equal(o.person_status, 'observation');

  const p = await ok(cs.get('/api/v1/observation-periods'));
  assert.deepEqual(p.periods.map((x) => [x.kind, x.days]), [['home_isolation', 14], ['home_observation', 14], ['central', 14], ['hospital', 0]]);
  expectError(await cs.put('/api/v1/observation-periods', { periods: [{ kind: 'central', days: 7 }] }), 403, 'forbidden');
  expectError(await cc.put('/api/v1/observation-periods', { periods: [{ kind: 'central', days: 99 }] }), 400, 'out_of_range', 'periods[0]');
  expectError(await cc.put('/api/v1/observation-periods', { periods: [{ kind: 'boat', days: 7 }] }), 400, 'invalid_value', 'periods[0]');
  const saved = await ok(cc.put('/api/v1/observation-periods', { periods: [{ kind: 'home_observation', days: 7 }] }));
  assert.equal(saved.periods[1].days, 7);
  const id2 = await person();
  const start = Date.now() - DAY;
  const o2 = await ok(cs.post('/api/v1/observations', { person_id: id2, kind: 'home_observation', source: 'cdc', start_at: start }), 201);
  assert.equal(o2.planned_end_at, start + 7 * DAY);
  assert.equal((await auditEntries(auditor, 'observation_period.update')).length, 1);
});

test('bad input: 400 with the field, nothing written', async () => {
  const id = await person();
  const bad = [
    [{ person_id: id, kind: 'boat', source: 'cdc' }, 'invalid_value', 'kind'],
    [{ person_id: id, kind: 'home_isolation', source: 'rumour' }, 'invalid_value', 'source'],
    [{ person_id: id, kind: 'home_isolation' }, 'required', 'source'],
    [{ person_id: id, kind: 'central', source: 'cdc', room_no: '101' }, 'required', 'site_id'],
    [{ person_id: id, kind: 'central', source: 'cdc', site_id: site }, 'required', 'room_no'],
    [{ person_id: id, kind: 'central', source: 'cdc', site_id: community, room_no: '101' }, 'invalid_site', 'site_id'],
    [{ person_id: id, kind: 'central', source: 'cdc', site_id: otherSite, room_no: '101' }, 'invalid_site', 'site_id'],
    [{ person_id: id, kind: 'home_isolation', source: 'cdc', site_id: site }, 'invalid_value', 'site_id'],
    [{ person_id: id, kind: 'home_isolation', source: 'cdc', start_at: Date.now() + 5 * DAY }, 'out_of_range', 'start_at'],
    [{ person_id: id, kind: 'home_isolation', source: 'cdc', co_residents: 99 }, 'out_of_range', 'co_residents'],
    [{ person_id: id, kind: 'home_isolation', source: 'cdc', release_status: 'gone' }, 'invalid_value', 'release_status'],
    [{ person_id: id, kind: 'home_isolation', source: 'cdc', bogus: 1 }, 'unknown_field', 'bogus'],
    [{ person_id: 'x', kind: 'home_isolation', source: 'cdc' }, 'invalid_value', 'person_id'],
  ];
  for (const [body, slug, field] of bad) expectError(await cs.post('/api/v1/observations', body), 400, slug, field);
  assert.equal(await personStatus(id), 'normal');
  assert.equal((await ok(cc.get(`/api/v1/persons/${id}/timeline`))).total, 0);
  // rooms of another street's site: the site is not found
  assert.equal((await csOther.get(`/api/v1/quarantine-sites/${site}/rooms`)).status, 404);
  assert.equal((await csOther.post(`/api/v1/quarantine-sites/${site}/rooms`, { rooms: ['1'] })).status, 404);
  assert.equal((await cs.post(`/api/v1/quarantine-sites/${community}/rooms`, { rooms: ['1'] })).status, 404);
  expectError(await cs.post(`/api/v1/quarantine-sites/${site}/rooms`, {}), 400, 'required', 'rooms');
  // the leader reads but does not manage
  assert.equal((await leader.post('/api/v1/observations', { person_id: id, kind: 'home_isolation', source: 'cdc' })).status, 403);
});

test('the list: filters, counts by state, name search, CSV; PATCH with its version; scope; audit', async () => {
  const id = await person(COMMUNITY, { name: '孙悟空' });
  const o = await ok(cs.post('/api/v1/observations', { person_id: id, kind: 'home_observation', source: 'checkpoint' }), 201);
  // by name, as the person list searches (blind-indexed tokens): a
  // bigram, the surname, the full name (confirmed on the decrypted names)
  let l = await ok(cs.get('/api/v1/observations?q=悟空'));
  assert.equal(l.total, 1);
  assert.equal(l.items[0].person_name, '孙*空');
  assert.equal(l.counts.active, 1);
  assert.equal((await ok(cs.get('/api/v1/observations?q=孙悟空'))).total, 1);
  assert.ok((await ok(cs.get('/api/v1/observations?q=孙'))).items.some((x) => x.id === o.id));
  assert.equal((await ok(cs.get('/api/v1/observations?q=空悟'))).total, 0);
  assert.equal((await ok(cs.get('/api/v1/observations?q=孙悟空&state=released'))).total, 0);
  const other = await person(COMMUNITY, { name: '悟空孙悟' }); // both bigrams of 孙悟空, not the name
  await ok(cs.post('/api/v1/observations', { person_id: other, kind: 'home_observation', source: 'checkpoint' }), 201);
  assert.deepEqual((await ok(cs.get('/api/v1/observations?q=孙悟空'))).items.map((x) => x.person_id), [id]);
  assert.equal((await ok(cs.get('/api/v1/observations?q=悟空'))).total, 2);
  l = await ok(cs.get('/api/v1/observations?source=checkpoint&state=active'));
  assert.ok(l.items.some((x) => x.id === o.id));
  assert.ok(l.items.every((x) => x.source === 'checkpoint' && x.state === 'active'));
  assert.ok(l.counts.active >= 1 && 'released' in l.counts, JSON.stringify(l.counts));
  l = await ok(cs.get('/api/v1/observations?kind=central'));
  assert.ok(l.items.every((x) => x.kind === 'central'));
  l = await ok(cs.get(`/api/v1/observations?planned_end_before=${Date.now() + 2 * DAY}`));
  assert.ok(!l.items.some((x) => x.id === o.id));
  expectError(await cs.get('/api/v1/observations?kind=boat'), 400, 'invalid_parameter', 'kind');
  const csv = await cs.get('/api/v1/observations?format=csv&q=悟空');
  assert.equal(csv.status, 200);
  assert.match(csv.headers.get('content-type'), /text\/csv/);
  assert.ok(csv.text.includes('孙*空') && !csv.text.includes('孙悟空'), csv.text);

  // PATCH: the §5.1 fields, a stale version refused
  const p = await ok(cs.patch(`/api/v1/observations/${o.id}`, { version: o.version, note: '每日按时报体温', release_notice_issued: true }));
  assert.equal(p.version, o.version + 1);
  assert.equal(p.release_notice_issued, true);
  expectError(await cs.patch(`/api/v1/observations/${o.id}`, { version: o.version, note: '旧' }), 409, 'version_conflict');
  expectError(await cs.patch(`/api/v1/observations/${o.id}`, { kind: 'central' }), 400, 'unknown_field', 'kind');

  // another street's staff: 404 everywhere, absent from the list
  assert.equal((await csOther.get(`/api/v1/observations/${o.id}`)).status, 404);
  assert.equal((await csOther.patch(`/api/v1/observations/${o.id}`, { note: 'x' })).status, 404);
  assert.equal((await csOther.post(`/api/v1/observations/${o.id}/end`, { reason: 'x' })).status, 404);
  assert.equal((await csOther.get(`/api/v1/persons/${id}/timeline`)).status, 404);
  assert.equal((await csOther.post('/api/v1/observations', { person_id: id, kind: 'home_isolation', source: 'cdc' })).status, 404);
  assert.ok(!(await ok(csOther.get('/api/v1/observations'))).items.some((x) => x.id === o.id));

  // audit: the create, reads, list and update, and the refused ones
  for (const action of ['observation.create', 'observation.read', 'observation.list', 'observation.update', 'person.timeline', 'quarantine_room.create', 'observation.end'])
    assert.ok((await auditEntries(auditor, action)).length >= 1, action);
  const refused = await auditEntries(auditor, 'observation.update', o.id);
  assert.ok(refused.some((x) => x.result === 'version_conflict'), JSON.stringify(refused));
});

test('the vocabularies document carries the case workflow\'s, and the body schema uses them', async () => {
  const doc = await ok(cs.get('/api/v1/vocabularies'));
  const values = (k) => doc[k].items.map((x) => x.value);
  assert.deepEqual(values('observe_kinds'), ['home_isolation', 'home_observation', 'central', 'hospital']);
  assert.deepEqual(values('observe_states'), ['active', 'released', 'transferred', 'ended']);
  assert.deepEqual(values('release_statuses'), ['treatment', 'free']);
  assert.deepEqual(values('room_states'), ['free', 'occupied', 'closed']);
  assert.deepEqual(values('case_severities'), ['mild', 'severe', 'critical']);
  assert.deepEqual(values('infection_routes'), ['local', 'imported', 'domestic_import', 'cluster', 'unknown']);
  assert.equal(values('case_sources').length, 10);
  for (const k of ['observe_kinds', 'case_sources', 'infection_routes'])
    for (const it of doc[k].items) assert.match(it.label, /\p{Script=Han}/u, `${k}.${it.value}`);
  const api = await ok(cs.get('/api/v1/openapi.json'));
  const body = api.paths['/api/v1/observations'].post.requestBody.content['application/json'].schema;
  assert.deepEqual(body.properties.kind.enum, values('observe_kinds'));
  assert.deepEqual(body.properties.source.enum, values('case_sources'));
  assert.deepEqual(body.required.sort(), ['kind', 'person_id', 'source']);
});

test('a region move carries the observations, rooms, status changes and timeline along', async () => {
  const id = await person(OTHER_STREET);
  const room = '8' + String(Date.now() % 1000).padStart(3, '0');
  await ok(csOther.post(`/api/v1/quarantine-sites/${otherSite}/rooms`, { rooms: [room] }), 201);
  const o = await ok(csOther.post('/api/v1/observations', { person_id: id, kind: 'central', source: 'cdc', site_id: otherSite, room_no: room }), 201);
  const moved = '110101001002';
  await ok(cc.post(`/api/v1/regions/${OTHER_STREET}/move`, { code: moved }));
  // the community's own staff moved with it and still reaches everything
  const after = await ok(csOther.get(`/api/v1/observations/${o.id}`));
  assert.equal(after.region_code, moved);
  assert.equal((await ok(csOther.get(`/api/v1/persons/${id}/timeline`))).total, 2);
  assert.equal((await ok(csOther.get(`/api/v1/persons/${id}/status-changes`))).total, 1);
  const rooms = (await ok(csOther.get(`/api/v1/quarantine-sites/${otherSite}/rooms`))).items;
  assert.equal(rooms.find((x) => x.room_no === room).state, 'occupied');
  // and the old street's range holds nothing of it
  for (const t of ['observations', 'quarantine_rooms', 'status_changes', 'case_events'])
    assert.equal(sqlRun(ctx, `SELECT COUNT(*) FROM ${t} WHERE region_code >= 110101002001000000 AND region_code < 110101002002000000`).trim(), '0', t);
});

test('a change of residence moves the open observation, its checks and their photos, the status row and open verify tasks, with the counters', async () => {
  // the new residence: the community the region-move test above renumbered,
  // whose staff (csOther) moved with it; outside cs's community
  const NEW = '110101001002';
  const id = await person(COMMUNITY, { name: '唐三藏' });
  // a contact's report: a verify task at the person's residence
  const rep = await ok(cc.post('/api/v1/reports', { source: 'contact', category: 'contact', person_id: id }), 201);
  const task = (await ok(cc.get(`/api/v1/incidents/${rep.id}`))).task_id;
  assert.ok(task, 'a verify task');
  const o = await ok(cs.post('/api/v1/observations', { person_id: id, kind: 'home_isolation', source: 'cdc' }), 201);
  // a check and a doctor's message, each with a photo
  const JPEG = Buffer.from([0xff, 0xd8, 0xff, 0xe0, 0, 16, 0x4a, 0x46, 0x49, 0x46, 0, 1, ...Buffer.alloc(64, 0x5a)]);
  const photo = async () => (await ok(cc.post('/api/v1/attachments', JPEG, { 'content-type': 'image/jpeg' }), 201)).id;
  const chk = await ok(cc.post(`/api/v1/observations/${o.id}/checks`, { symptoms: ['cough'], temperature: 37.9, attachments: [await photo()] }), 201);
  const msg = await ok(cc.post(`/api/v1/observations/${o.id}/messages`, { text: '请拍照留存体温计读数', attachments: [await photo()] }), 201);
  const photos = [chk.attachments[0].id, msg.items.at(-1).attachments[0].id];
  // read under the check's region: the old street's staff, not the new one's
  for (const a of photos) {
    await ok(cs.get(`/api/v1/attachments/${a}/meta`));
    expectError(await csOther.get(`/api/v1/attachments/${a}/meta`), 404, 'not_found');
  }
  // a closed observation of earlier stays where it happened
  const byPerson = await ok(cs.get(`/api/v1/observations?person_id=${id}`));
  assert.deepEqual(byPerson.items.map((x) => x.id), [o.id]);
  assert.equal((await ok(csOther.get(`/api/v1/observations?person_id=${id}`))).total, 0, 'another street: an empty list');
  const measures = ['case.observe.new', 'case.enter.home_isolation', 'check.new', 'check.abnormal.new', 'person.status.home_isolation'];
  const at = (m, prefix) => Number(sqlRun(ctx, `SELECT COALESCE(SUM(n), 0) FROM counters WHERE measure = '${m}' AND day <> 0 AND region_code >= ${prefix}000000 AND region_code < ${prefix}999999`).trim());
  const level = (prefix) => Number(sqlRun(ctx, `SELECT COALESCE(SUM(n), 0) FROM counters WHERE measure = 'person.status.home_isolation' AND day = 0 AND region_code >= ${prefix}000000 AND region_code < ${prefix}999999`).trim());
  const snap = () => Object.fromEntries(measures.map((m) => [m, m.startsWith('person.') ? [level(COMMUNITY), level(NEW)] : [at(m, COMMUNITY), at(m, NEW)]]));
  const before = snap();
  const p = await ok(cc.get(`/api/v1/persons/${id}`));
  await ok(cc.patch(`/api/v1/persons/${id}`, { region_code: NEW, version: p.version }));
  // the old street's staff no longer see it; the new one's do
  expectError(await cs.get(`/api/v1/observations/${o.id}`), 404, 'not_found');
  assert.equal((await ok(cs.get(`/api/v1/observations?person_id=${id}`))).total, 0);
  const moved = await ok(csOther.get(`/api/v1/observations/${o.id}`));
  assert.equal(moved.region_code, NEW);
  assert.equal(moved.state, 'active');
  assert.deepEqual((await ok(csOther.get(`/api/v1/observations?person_id=${id}`))).items.map((x) => x.id), [o.id]);
  assert.deepEqual((await ok(csOther.get(`/api/v1/observations/${o.id}/checks`))).items.map((x) => x.id), [chk.id]);
  // the photos followed their check and message
  for (const a of photos) {
    assert.equal((await ok(csOther.get(`/api/v1/attachments/${a}/meta`))).id, a);
    expectError(await cs.get(`/api/v1/attachments/${a}/meta`), 404, 'not_found');
  }
  assert.equal(sqlRun(ctx, `SELECT COUNT(*) FROM attachments WHERE id IN (${photos.join(', ')}) AND region_code >= ${NEW}000000 AND region_code < ${NEW}999999`).trim(), '2', 'both photos at the new residence');
  assert.equal((await ok(csOther.get(`/api/v1/persons/${id}/status-changes`))).total, 1, 'the status row moved');
  assert.equal((await ok(cc.get(`/api/v1/tasks/${task}`))).region_code, NEW, 'the open verify task followed');
  const tl = await ok(csOther.get(`/api/v1/persons/${id}/timeline`));
  const step = tl.items.find((x) => x.action === 'residence_moved');
  assert.ok(step, JSON.stringify(tl.items));
  assert.equal(step.action_label, '迁居');
  // the counters moved from the old street to the new, nothing more
  const after = snap();
  for (const m of measures) {
    assert.equal(after[m][0], before[m][0] - 1, `${m} left the old street`);
    assert.equal(after[m][1], before[m][1] + 1, `${m} reached the new street`);
  }
  const v = ctx.fk(['stats', 'verify']);
  assert.equal(v.status, 0, v.stdout + v.stderr);
  const a = await auditEntries(auditor, 'case.residence_move', id);
  assert.match(a[0].detail, /observation=\d+ checks=1 status_changes=1 tasks=1 attachments=2/);
  // bad person_id
  expectError(await cs.get('/api/v1/observations?person_id=abc'), 400, 'invalid_parameter', 'person_id');
  expectError(await cs.get('/api/v1/observations?person_id=-1'), 400, 'invalid_parameter', 'person_id');
});

test('every timeline step kind the code writes has a Chinese label (case_actions), and the timelines show it', async () => {
  const voc = (await ok(cc.get('/api/v1/vocabularies'))).case_actions;
  assert.ok(voc, 'the case_actions vocabulary');
  const labels = Object.fromEntries(voc.items.map((x) => [x.value, x.label]));
  // the kinds written: every literal passed as the action of case_event_add
  // or of a file's own event() wrapper, and the words of a chosen action
  const dir = path.resolve('src/case');
  const kinds = new Set();
  for (const f of fs.readdirSync(dir).filter((x) => x.endsWith('.c'))) {
    const src = fs.readFileSync(path.join(dir, f), 'utf8');
    for (const m of src.matchAll(/\b(?:case_event_add|event)\(\s*d,[^;]*?"([a-z_]+)"/gs)) kinds.add(m[1]);
    for (const m of src.matchAll(/const char \*action\s*=([^;]*);/gs))
      for (const w of m[1].matchAll(/"([a-z_]+)"/g)) kinds.add(w[1]);
    for (const m of src.matchAll(/\b(?:case_event_add|event)\(\s*d,(?:\s*[^,";]+,)+\s*[^",;]*\? "([a-z_]+)"\s*: "([a-z_]+)"/gs)) { kinds.add(m[1]); kinds.add(m[2]); }
  }
  for (const k of ['observed', 'registered', 'matched', 'closed', 'task_cancelled', 'certificate', 'certificate_revoked', 'note', 'residence_moved', 'released', 'ended', 'message_answered'])
    assert.ok(kinds.has(k), `the source walk finds ${k}: ${[...kinds]}`);
  for (const k of kinds) {
    assert.ok(labels[k], `step kind ${k} has a label`);
    assert.match(labels[k], /\p{Script=Han}/u, k);
  }
  // and the timelines answer labels, never the raw kind
  const id = await person();
  const o = await ok(cs.post('/api/v1/observations', { person_id: id, kind: 'home_isolation', source: 'cdc' }), 201);
  await ok(cs.post(`/api/v1/observations/${o.id}/end`, { reason: '期满' }));
  const tl = await ok(cs.get(`/api/v1/persons/${id}/timeline`));
  assert.ok(tl.items.length >= 2);
  for (const x of tl.items) assert.equal(x.action_label, labels[x.action], x.action);
  const all = sqlRun(ctx, 'SELECT DISTINCT action FROM case_events').trim().split('\n').filter(Boolean);
  for (const k of all) assert.ok(labels[k], `stored step ${k} has a label`);
});
