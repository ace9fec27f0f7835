// Vehicles: residents and staff register plates (mainland and new-energy
// formats), plate reads posted by a camera account or a camera device are
// let in when registered to the gate's community or brought by a confirmed
// visitor inside its window; every read is logged; bad input changes nothing.
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { residentId, sqlRun, failingAudit } from './lib.mjs';
import { startCity, resident, expectError, auditWhere, OTHER_COMMUNITY } from './devlib.mjs';

let ctx, owner;
const H = 3600000;

before(async () => {
  ctx = await startCity();
  owner = await resident(ctx);
});
after(async () => {
  await ctx?.stop();
});

const read = (body, client = ctx.camera) =>
  client.post('/api/v1/vehicle-reads', { venue_id: ctx.venue.id, direction: 'in', ...body });

async function passages() {
  const r = await ctx.grid.get('/api/v1/vehicle-passages?page_size=100');
  assert.equal(r.status, 200, r.text);
  return r.body;
}

test('residents register their own vehicles; plates are validated', async () => {
  let r = await owner.post('/api/v1/me/vehicles', { plate: '京a·12345', kind: 'car' });
  assert.equal(r.status, 201, r.text);
  assert.equal(r.body.plate, '京A12345');
  assert.equal(r.body.owner_person_id, owner.person.id);
  r = await owner.post('/api/v1/me/vehicles', { plate: '京AD12345', kind: 'new_energy' });
  assert.equal(r.status, 201, r.text);
  r = await owner.post('/api/v1/me/vehicles', { plate: '粤B12345F', kind: 'new_energy' });
  assert.equal(r.status, 201, r.text);
  expectError(await owner.post('/api/v1/me/vehicles', { plate: '京A12345', kind: 'car' }), 409, 'duplicate_plate', 'plate');
  for (const plate of ['京A1234', 'XA12345', '京A1234O', '京AD1234X', '京112345', '京A123456789', ''])
    expectError(await owner.post('/api/v1/me/vehicles', { plate, kind: 'car' }), 400, plate ? 'invalid_plate' : 'required', 'plate');
  expectError(await owner.post('/api/v1/me/vehicles', { plate: '京AD54321', kind: 'car' }), 400, 'invalid_kind', 'kind');
  expectError(await owner.post('/api/v1/me/vehicles', { plate: '京A54321', kind: 'new_energy' }), 400, 'invalid_kind', 'kind');
  expectError(await owner.post('/api/v1/me/vehicles', { plate: '京A54321', kind: 'car', owner_person_id: '1' }), 400, 'unknown_field', 'owner_person_id');
  const mine = await owner.get('/api/v1/me/vehicles');
  assert.equal(mine.body.total, 3);
});

test('staff register vehicles for persons in scope only', async () => {
  const other = await resident(ctx, OTHER_COMMUNITY, '钱八');
  let r = await ctx.grid.post('/api/v1/vehicles', { plate: '京B88888', kind: 'car', owner_person_id: owner.person.id });
  assert.equal(r.status, 201, r.text);
  expectError(await ctx.grid.post('/api/v1/vehicles', { plate: '京B88889', kind: 'car', owner_person_id: other.person.id }), 404, 'unknown_owner', 'owner_person_id');
  assert.equal((await ctx.gate.post('/api/v1/vehicles', { plate: '京B88887', kind: 'car', owner_person_id: owner.person.id })).status, 403);
  assert.ok((await ctx.grid.get('/api/v1/vehicles')).body.items.some((v) => v.plate === '京B88888'));
  assert.ok(!(await ctx.gridOther.get('/api/v1/vehicles')).body.items.some((v) => v.plate === '京B88888'));
});

test('the vehicle list names the owner, masked, and the region, for staff and for the owner', async () => {
  const named = await resident(ctx, undefined, '诸葛孔明');
  const r0 = await ctx.grid.post('/api/v1/vehicles', { plate: '京B66666', kind: 'car', owner_person_id: named.person.id });
  assert.equal(r0.status, 201, r0.text);
  const list = await ctx.grid.get(`/api/v1/vehicles?owner_person_id=${named.person.id}`);
  assert.equal(list.status, 200, list.text);
  assert.equal(list.body.items.length, 1);
  assert.equal(list.body.items[0].owner_name, '诸**明');
  assert.ok(!list.text.includes('诸葛孔明'), list.text);
  // a list shows names, never a bare region code (json_set_region)
  assert.equal(list.body.items[0].region_name, '多福巷社区', list.text);
  const mine = await named.get('/api/v1/me/vehicles');
  assert.equal(mine.body.items[0].owner_name, '诸**明');
  assert.equal(mine.body.items[0].region_name, '多福巷社区');
});

test('plate reads: registered in, unregistered out, visitor vehicles inside their window', async () => {
  let r = await read({ plate: '京A12345' });
  assert.equal(r.status, 200, r.text);
  assert.deepEqual([r.body.verdict, r.body.reason], ['allow', 'registered']);
  r = await read({ plate: '京C00001' });
  assert.deepEqual([r.body.verdict, r.body.reason], ['deny', 'unregistered']);
  assert.match(r.body.message, /未登记/);
  r = await read({ plate: '京C00001', direction: 'out' });
  assert.deepEqual([r.body.verdict, r.body.reason], ['allow', 'exit']);
  // registered in this community, not in another one
  const other = await ctx.cc.post('/api/v1/vehicle-reads', { venue_id: ctx.venueOther.id, plate: '京A12345', direction: 'in' });
  assert.equal(other.status, 200, other.text);
  assert.equal(other.body.verdict, 'deny');
  // a visitor's vehicle, submitted by the resident and confirmed by staff
  const v = await owner.post('/api/v1/me/visitors', {
    name: '周九', id_number: residentId('110101', '19800101', 31), phone: '13700001111', purpose: '送货',
    plate: '津A99999', valid_from: Date.now() - H, valid_to: Date.now() + H,
  });
  assert.equal(v.status, 201, v.text);
  assert.equal((await read({ plate: '津A99999' })).body.verdict, 'deny', 'not before confirmation');
  assert.equal((await ctx.grid.post(`/api/v1/visitors/${v.body.id}/confirm`, {})).status, 200);
  r = await read({ plate: '津A99999' });
  assert.deepEqual([r.body.verdict, r.body.reason], ['allow', 'visitor']);
  assert.equal(r.body.visitor_id, v.body.id);
  r = await read({ plate: '津A99999', at: Date.now() - 2 * H });
  assert.equal(r.body.verdict, 'deny', 'outside the window');
  const p = await passages();
  assert.ok(p.items.filter((x) => x.plate === '京C00001').length >= 2, 'every read is logged');
});

test('plate reads: authentication, scope and bad input change nothing', async () => {
  const before = (await passages()).total;
  const anon = ctx.client();
  expectError(await read({ plate: '京A12345' }, anon), 401, 'unauthenticated');
  assert.equal((await read({ plate: '京A12345' }, ctx.doctor)).status, 403);
  expectError(await read({ plate: '京A1234' }), 400, 'invalid_plate', 'plate');
  expectError(await read({ direction: 'up', plate: '京A12345' }), 400, 'invalid_value', 'direction');
  expectError(await read({ plate: '京A12345', at: Date.now() + 3600000 }), 400, 'invalid_time', 'at');
  expectError(await read({ plate: '京A12345', speed: 3 }), 400, 'unknown_field', 'speed');
  expectError(await read({ plate: '京A12345', venue_id: ctx.venueOther.id }), 404, 'unknown_venue', 'venue_id');
  expectError(await read({ plate: '京A12345', venue_id: ctx.venueWest.id }), 404, 'unknown_venue', 'venue_id');
  const bad = await fetch(ctx.url + '/api/v1/vehicle-reads', { method: 'POST', headers: { 'content-type': 'application/json', cookie: ctx.camera.cookie }, body: '{"plate":' });
  assert.equal(bad.status, 400);
  assert.equal((await passages()).total, before);
});

test('a camera device posts reads for its own venue with its credential', async () => {
  let r = await ctx.cc.post('/api/v1/devices', { name: '东门车牌识别', kind: 'camera', venue_id: ctx.venue.id });
  assert.equal(r.status, 201, r.text);
  const auth = { authorization: `Device ${r.body.credential}` };
  const anon = ctx.client();
  r = await anon.post('/api/v1/vehicle-reads', { venue_id: ctx.venue.id, plate: '京A12345', direction: 'in' }, auth);
  assert.equal(r.status, 200, r.text);
  assert.equal(r.body.verdict, 'allow');
  expectError(await anon.post('/api/v1/vehicle-reads', { venue_id: ctx.venueOther.id, plate: '京A12345', direction: 'in' }, auth), 403, 'wrong_venue', 'venue_id');
  expectError(await anon.post('/api/v1/vehicle-reads', { venue_id: ctx.venue.id, plate: '京A12345', direction: 'in' }, { authorization: 'Device 1:' + '0'.repeat(48) }), 401, 'device_auth_failed');
});

test('a plate read is audited in the passage\'s transaction, with the device or the account as the actor', async () => {
  let r = await ctx.cc.post('/api/v1/devices', { name: '北门道闸', kind: 'gate', venue_id: ctx.venue.id });
  assert.equal(r.status, 201, r.text);
  const dev = r.body.id;
  const auth = { authorization: `Device ${r.body.credential}` };
  const anon = ctx.client();
  const count = () => Number(sqlRun(ctx, 'SELECT COUNT(*) FROM vehicle_passages').trim());
  const body = { venue_id: ctx.venue.id, plate: '京A54321', direction: 'in' };
  r = await anon.post('/api/v1/vehicle-reads', body, auth);
  assert.equal(r.status, 200, r.text);
  const byDevice = r.body.passage_id;
  r = await read({ plate: '京A54321' });
  assert.equal(r.status, 200, r.text);
  const byAccount = r.body.passage_id;
  let items = await auditWhere(ctx, `action=vehicle_passage.create&object_id=${byDevice}`, (x) => x.object_id === byDevice);
  const e = items.find((x) => x.object_id === byDevice);
  assert.ok(e, 'the device read has an entry');
  assert.equal(e.user_id, null, JSON.stringify(e));
  assert.equal(e.username, `device:${dev}`);
  assert.equal(e.role, 'device');
  assert.equal(e.object_type, 'vehicle_passage');
  assert.equal(e.detail, 'direction=in verdict=deny reason=unregistered');
  assert.doesNotMatch(JSON.stringify(e), /54321/, 'no plate in the audit log');
  items = await auditWhere(ctx, `action=vehicle_passage.create&object_id=${byAccount}`, (x) => x.object_id === byAccount);
  assert.ok(items.some((x) => x.object_id === byAccount && x.user_id === ctx.camera.id && x.result === 'ok'), 'the account read has an entry');
  // the entry cannot be written: no passage either, for either actor
  const n = count();
  r = await failingAudit(ctx, 'vehicle_passage.create', () => anon.post('/api/v1/vehicle-reads', body, auth));
  assert.equal(r.status, 500, r.text);
  r = await failingAudit(ctx, 'vehicle_passage.create', () => read({ plate: '京A54321' }));
  assert.equal(r.status, 500, r.text);
  assert.equal(count(), n);
  assert.equal((await anon.post('/api/v1/vehicle-reads', body, auth)).status, 200);
  assert.equal(count(), n + 1);
});

test('vehicles are edited by staff and by their owner; the gate reads the new plate; bad edits change nothing', async () => {
  let r = await ctx.grid.post('/api/v1/vehicles', { plate: '京E11111', kind: 'car', owner_person_id: owner.person.id, note: '白色' });
  assert.equal(r.status, 201, r.text);
  const id = r.body.id;
  // staff correct the plate and the note; the household stays
  r = await ctx.grid.patch(`/api/v1/vehicles/${id}`, { plate: '京e·11112', note: '银色' });
  assert.equal(r.status, 200, r.text);
  assert.deepEqual([r.body.plate, r.body.note, r.body.kind], ['京E11112', '银色', 'car']);
  assert.deepEqual([(await read({ plate: '京E11112' })).body.verdict, (await read({ plate: '京E11111' })).body.verdict], ['allow', 'deny']);
  // plate and kind are checked together, whichever of them changes
  expectError(await ctx.grid.patch(`/api/v1/vehicles/${id}`, { kind: 'new_energy' }), 400, 'invalid_kind', 'kind');
  r = await ctx.grid.patch(`/api/v1/vehicles/${id}`, { plate: '京AF12345', kind: 'new_energy' });
  assert.equal(r.status, 200, r.text);
  // bad edits: each refused with its field, nothing changed
  expectError(await ctx.grid.patch(`/api/v1/vehicles/${id}`, {}), 400, 'empty_update');
  expectError(await ctx.grid.patch(`/api/v1/vehicles/${id}`, { plate: '京A1234' }), 400, 'invalid_plate', 'plate');
  expectError(await ctx.grid.patch(`/api/v1/vehicles/${id}`, { kind: 'tank' }), 400, 'invalid_value', 'kind');
  expectError(await ctx.grid.patch(`/api/v1/vehicles/${id}`, { plate: '京AD12345' }), 409, 'duplicate_plate', 'plate');
  expectError(await ctx.grid.patch(`/api/v1/vehicles/${id}`, { note: 'a\tb' }), 400, 'invalid_value', 'note');
  expectError(await ctx.grid.patch(`/api/v1/vehicles/${id}`, { colour: 'red' }), 400, 'unknown_field', 'colour');
  const other = await resident(ctx, OTHER_COMMUNITY, '孙十');
  expectError(await ctx.grid.patch(`/api/v1/vehicles/${id}`, { owner_person_id: other.person.id }), 404, 'unknown_owner', 'owner_person_id');
  expectError(await ctx.gridOther.patch(`/api/v1/vehicles/${id}`, { note: '越权' }), 404, 'not_found');
  assert.equal((await ctx.gate.patch(`/api/v1/vehicles/${id}`, { note: '无权' })).status, 403);
  const now = (await ctx.grid.get(`/api/v1/vehicles?owner_person_id=${owner.person.id}`)).body.items.find((v) => v.id === id);
  assert.deepEqual([now.plate, now.kind, now.note], ['京AF12345', 'new_energy', '银色']);
  // the owner corrects their own vehicle, but not the owner or the household, and not another's
  r = await owner.patch(`/api/v1/me/vehicles/${id}`, { note: '车主改的' });
  assert.equal(r.status, 200, r.text);
  assert.equal(r.body.note, '车主改的');
  expectError(await owner.patch(`/api/v1/me/vehicles/${id}`, { owner_person_id: other.person.id }), 400, 'unknown_field', 'owner_person_id');
  const theirs = await other.post('/api/v1/me/vehicles', { plate: '京F22222', kind: 'car' });
  assert.equal(theirs.status, 201, theirs.text);
  expectError(await owner.patch(`/api/v1/me/vehicles/${theirs.body.id}`, { note: '不是我的' }), 404, 'not_found');
});

test('only camera and gate devices post plate reads, not thermometers', async () => {
  let r = await ctx.cc.post('/api/v1/devices', { name: '东门测温仪', kind: 'thermometer', venue_id: ctx.venue.id });
  assert.equal(r.status, 201, r.text);
  const before = (await passages()).total;
  const anon = ctx.client();
  const body = { venue_id: ctx.venue.id, plate: '京A12345', direction: 'in' };
  expectError(await anon.post('/api/v1/vehicle-reads', body, { authorization: `Device ${r.body.credential}` }), 403, 'wrong_device_kind');
  assert.equal((await passages()).total, before);
  r = await ctx.cc.post('/api/v1/devices', { name: '东门道闸', kind: 'gate', venue_id: ctx.venue.id });
  assert.equal(r.status, 201, r.text);
  r = await anon.post('/api/v1/vehicle-reads', body, { authorization: `Device ${r.body.credential}` });
  assert.equal(r.status, 200, r.text);
});

test('every read of vehicles and passages is audited, and so is a refused read', async () => {
  const r = await ctx.grid.post('/api/v1/vehicles', { plate: '京G33333', kind: 'car', owner_person_id: owner.person.id });
  assert.equal(r.status, 201, r.text);
  const id = r.body.id;
  const one = await ctx.grid.get(`/api/v1/vehicles/${id}`);
  assert.equal(one.status, 200, one.text);
  assert.equal(one.body.plate, '京G33333');
  assert.equal((await ctx.grid.get('/api/v1/vehicles')).status, 200);
  assert.equal((await ctx.grid.get('/api/v1/vehicle-passages')).status, 200);
  assert.equal((await owner.get('/api/v1/me/vehicles')).status, 200);
  // out of scope: the same 404 as a missing vehicle, audited as refused
  expectError(await ctx.gridOther.get(`/api/v1/vehicles/${id}`), 404, 'not_found');
  // another resident's vehicle: 404, audited
  const other = await resident(ctx, OTHER_COMMUNITY, '吴十一');
  expectError(await other.del(`/api/v1/me/vehicles/${id}`), 404, 'not_found');
  const has = async (query, pred, what) => assert.ok((await auditWhere(ctx, query, pred)).some(pred), what);
  await has(`action=vehicle.read&object_id=${id}`, (x) => x.user_id === ctx.grid.id && x.result === 'ok', 'read');
  await has('action=vehicle.list', (x) => x.user_id === ctx.grid.id && /^count=\d+$/.test(x.detail), 'list');
  await has('action=vehicle.list', (x) => x.object_id === owner.person.id && x.detail.endsWith('view=self'), 'own list');
  await has('action=vehicle_passage.list', (x) => x.user_id === ctx.grid.id && x.result === 'ok', 'passages');
  await has(`action=vehicle.read&object_id=${id}`, (x) => x.user_id === ctx.gridOther.id && x.result === 'not_found', 'refused read');
  await has(`action=vehicle.delete&object_id=${id}`, (x) => x.result === 'not_found', 'refused delete');
});

test('staff search vehicles by exact plate, normalised, within scope', async () => {
  const r = await ctx.grid.post('/api/v1/vehicles', { plate: '京H24680', kind: 'car', owner_person_id: owner.person.id, note: '搜索' });
  assert.equal(r.status, 201, r.text);
  for (const q of ['京H24680', '京h·24680', ' 京H 246-80 ']) {
    const x = await ctx.grid.get('/api/v1/vehicles?plate=' + encodeURIComponent(q));
    assert.equal(x.status, 200, x.text);
    assert.deepEqual(x.body.items.map((v) => v.id), [r.body.id], q);
    assert.equal(x.body.total, 1);
  }
  // exact only: a part of a plate finds nothing (and is no valid plate)
  expectError(await ctx.grid.get('/api/v1/vehicles?plate=' + encodeURIComponent('京H2468')), 400, 'invalid_plate', 'plate');
  assert.equal((await ctx.grid.get('/api/v1/vehicles?plate=' + encodeURIComponent('京H24681'))).body.total, 0);
  // another community's staff do not find it
  assert.equal((await ctx.gridOther.get('/api/v1/vehicles?plate=' + encodeURIComponent('京H24680'))).body.total, 0);
  const items = await auditWhere(ctx, 'action=vehicle.list', (x) => x.detail.includes('search=plate'));
  assert.ok(items.some((x) => x.user_id === ctx.grid.id && x.detail.includes('search=plate')));
});
