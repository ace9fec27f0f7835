// Parking guidance (docs/parking.md): garages with spaces and gates, plate
// reads in and out at the gates moving the free count, the public display
// and the resident's page showing it, the cars inside masked, a recount by
// staff; bad input on every endpoint; scope. One server, tests building on
// each other's data.
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { startCity, resident, expectError, COMMUNITY, OTHER_COMMUNITY } from './devlib.mjs';
import { sqlRun } from './lib.mjs';

let ctx, garage, exitVenue, owner;

before(async () => {
  ctx = await startCity();
  // a second gate of the same community: the garage's exit
  const r = await ctx.cc.post('/api/v1/venues', { name: '多福巷车库出口', kind: 'community_gate', place_id: ctx.venue.place_id });
  assert.equal(r.status, 201, r.text);
  exitVenue = r.body;
});

after(async () => {
  await ctx?.stop();
});

const body = (over = {}) => ({
  name: '多福巷地下车库', region_code: COMMUNITY, total: 10, reserved: 2,
  gates: [{ venue_id: ctx.venue.id, direction: 'in' }, { venue_id: exitVenue.id, direction: 'out' }], ...over,
});
const read = (venue, plate, direction) => ctx.camera.post('/api/v1/vehicle-reads', { venue_id: venue.id, plate, direction });
const free = async () => (await ctx.grid.get(`/api/v1/parking/garages/${garage.id}`)).body.free;

test('a garage is refused for bad spaces, gates or region, and changes nothing', async () => {
  expectError(await ctx.cc.post('/api/v1/parking/garages', body({ total: -5 })), 400, 'out_of_range', 'total');
  expectError(await ctx.cc.post('/api/v1/parking/garages', body({ reserved: -1 })), 400, 'out_of_range', 'reserved');
  expectError(await ctx.cc.post('/api/v1/parking/garages', body({ reserved: 11 })), 400, 'reserved_over_total', 'reserved');
  expectError(await ctx.cc.post('/api/v1/parking/garages', body({ gates: [] })), 400, 'invalid_gates', 'gates');
  expectError(await ctx.cc.post('/api/v1/parking/garages', body({ gates: [{ venue_id: ctx.venue.id, direction: 'up' }] })), 400, 'invalid_gates', 'gates[0]');
  expectError(await ctx.cc.post('/api/v1/parking/garages', body({ gates: [{ venue_id: ctx.venueOther.id, direction: 'in' }] })), 400, 'unknown_venue', 'gates[0]');
  expectError(await ctx.cc.post('/api/v1/parking/garages', body({ region_code: '110101000000' })), 400, 'invalid_region', 'region_code');
  expectError(await ctx.cc.post('/api/v1/parking/garages', body({ region_code: '11010100100x' })), 400, 'invalid_region', 'region_code');
  expectError(await ctx.ccWest.post('/api/v1/parking/garages', body()), 400, 'invalid_region', 'region_code');
  expectError(await ctx.cc.post('/api/v1/parking/garages', body({ name: '库'.repeat(61) })), 400, 'too_long', 'name');
  assert.equal((await ctx.grid.post('/api/v1/parking/garages', body())).status, 403, 'grid workers read, not write');
  assert.equal((await ctx.cc.get('/api/v1/parking/garages')).body.total, 0, 'nothing was written');

  const r = await ctx.cc.post('/api/v1/parking/garages', body());
  assert.equal(r.status, 201, r.text);
  garage = r.body;
  assert.equal(garage.free, 8);
  assert.equal(garage.region_name, '多福巷社区');
  assert.match(garage.token, /^[0-9a-f]{32}$/);
  assert.deepEqual(garage.gates.map((g) => g.direction).sort(), ['in', 'out']);
  expectError(await ctx.cc.post('/api/v1/parking/garages', body({ name: '另一车库' })), 409, 'gate_taken', 'gates[0]');
});

test('plate reads in and out at the gates move the free count; a car counts once', async () => {
  owner = await resident(ctx, COMMUNITY, '钱进');
  const plate = '京A' + String(10000 + Math.floor(Math.random() * 89999));
  assert.equal((await owner.post('/api/v1/me/vehicles', { plate, kind: 'car' })).status, 201);
  let r = await read(ctx.venue, plate, 'in');
  assert.equal(r.status, 200, r.text);
  assert.equal(r.body.verdict, 'allow');
  assert.equal(await free(), 7);
  assert.equal((await read(ctx.venue, plate, 'in')).status, 200);
  assert.equal(await free(), 7, 'the same car inside is counted once');
  r = await read(ctx.venue, '京B99999', 'in');
  assert.equal(r.body.verdict, 'deny');
  assert.equal(await free(), 7, 'a car let in is counted, a refused one is not');

  // the cars inside, masked; today's occupancy
  const d = (await ctx.grid.get(`/api/v1/parking/garages/${garage.id}`)).body;
  assert.equal(d.cars.length, 1);
  assert.equal(d.cars[0].plate, plate.slice(0, 2) + '***' + plate.slice(-2));
  assert.ok(d.hours.some((h) => h.occupied === 1));

  // against the gate's direction: refused, nothing recorded or moved
  const before = (await ctx.cc.get(`/api/v1/vehicle-passages?venue_id=${ctx.venue.id}`)).body.total;
  expectError(await read(ctx.venue, plate, 'out'), 400, 'wrong_direction', 'direction');
  assert.equal((await ctx.cc.get(`/api/v1/vehicle-passages?venue_id=${ctx.venue.id}`)).body.total, before);
  // a read at a gate that does not exist
  expectError(await ctx.camera.post('/api/v1/vehicle-reads', { venue_id: '999999999', plate, direction: 'in' }), 404, 'unknown_venue', 'venue_id');
  assert.equal(await free(), 7);

  assert.equal((await read(exitVenue, plate, 'out')).status, 200);
  assert.equal(await free(), 8);
  assert.equal((await ctx.grid.get(`/api/v1/parking/garages/${garage.id}`)).body.cars.length, 0);
});

test('the public display and the resident page show the free spaces, nothing else', async () => {
  let r = await fetch(`${ctx.url}/api/v1/public/parking/${garage.token}`);
  assert.equal(r.status, 200);
  const j = await r.json();
  assert.deepEqual(Object.keys(j).sort(), ['free', 'name', 'total', 'updated_at']);
  assert.equal(j.free, 8);
  r = await fetch(`${ctx.url}/public/parking/${garage.token}`);
  assert.equal(r.status, 200);
  const html = await r.text();
  assert.match(html, /data-test="free">8</);
  assert.match(html, /多福巷地下车库/);
  assert.equal((await fetch(`${ctx.url}/public/parking/${'0'.repeat(32)}`)).status, 404);
  assert.equal((await fetch(`${ctx.url}/api/v1/public/parking/not-a-token`)).status, 404);

  r = await owner.get('/api/v1/me/parking');
  assert.equal(r.status, 200, r.text);
  assert.equal(r.body.items.length, 1);
  assert.equal(r.body.items[0].free, 8);
  assert.equal(r.body.items[0].token, undefined, 'no token, no gates for residents');
  const far = await resident(ctx, OTHER_COMMUNITY, '周游');
  assert.equal((await far.get('/api/v1/me/parking')).body.items.length, 0);
  assert.equal((await ctx.grid.get('/api/v1/me/parking')).status, 403);
});

test('staff recount and change the spaces; bad values refused', async () => {
  expectError(await ctx.cc.post(`/api/v1/parking/garages/${garage.id}/recount`, { occupied: -1 }), 400, 'out_of_range', 'occupied');
  expectError(await ctx.cc.post(`/api/v1/parking/garages/${garage.id}/recount`, { occupied: 11 }), 400, 'out_of_range', 'occupied');
  expectError(await ctx.cc.post(`/api/v1/parking/garages/${garage.id}/recount`, {}), 400, 'required', 'occupied');
  let r = await ctx.cc.post(`/api/v1/parking/garages/${garage.id}/recount`, { occupied: 5 });
  assert.equal(r.status, 200, r.text);
  assert.equal(r.body.free, 3);
  expectError(await ctx.cc.patch(`/api/v1/parking/garages/${garage.id}`, { total: -1 }), 400, 'out_of_range', 'total');
  expectError(await ctx.cc.patch(`/api/v1/parking/garages/${garage.id}`, { reserved: 20 }), 400, 'reserved_over_total', 'reserved');
  expectError(await ctx.cc.patch(`/api/v1/parking/garages/${garage.id}`, {}), 400, 'empty_update');
  r = await ctx.cc.patch(`/api/v1/parking/garages/${garage.id}`, { reserved: 0 });
  assert.equal(r.status, 200, r.text);
  assert.equal(r.body.free, 5);
});

test('scope: staff of another community see no garage', async () => {
  expectError(await ctx.gridOther.get(`/api/v1/parking/garages/${garage.id}`), 404, 'not_found');
  assert.equal((await ctx.gridOther.get('/api/v1/parking/garages')).body.total, 0);
  expectError(await ctx.ccWest.post(`/api/v1/parking/garages/${garage.id}/recount`, { occupied: 1 }), 404, 'not_found');
  assert.equal((await owner.get('/api/v1/parking/garages')).status, 403);
  assert.equal(await free(), 5, 'unchanged');
});

test("a garage's gates are edited after creation; bad gates change nothing", async () => {
  const url = `/api/v1/parking/garages/${garage.id}/gates`;
  const gates = async () => (await ctx.cc.get(`/api/v1/parking/garages/${garage.id}`)).body.gates.map((g) => `${g.venue_id}:${g.direction}`).sort();
  const before = await gates();
  // a third venue of the community, and one that is another garage's gate
  let r = await ctx.cc.post('/api/v1/venues', { name: '多福巷车库侧门', kind: 'community_gate', place_id: ctx.venue.place_id });
  assert.equal(r.status, 201, r.text);
  const side = r.body;
  r = await ctx.cc.post('/api/v1/venues', { name: '多福巷地面停车场入口', kind: 'community_gate', place_id: ctx.venue.place_id });
  const lotGate = r.body;
  r = await ctx.cc.post('/api/v1/parking/garages', body({ name: '多福巷地面停车场', gates: [{ venue_id: lotGate.id, direction: 'both' }] }));
  assert.equal(r.status, 201, r.text);
  const lot = r.body;

  expectError(await ctx.cc.put(url, { gates: [] }), 400, 'invalid_gates', 'gates');
  expectError(await ctx.cc.put(url, {}), 400, 'required', 'gates');
  expectError(await ctx.cc.put(url, { gates: [{ venue_id: side.id, direction: 'sideways' }] }), 400, 'invalid_gates', 'gates[0]');
  expectError(await ctx.cc.put(url, { gates: [{ venue_id: side.id, direction: 'in' }, { venue_id: side.id, direction: 'out' }] }), 400, 'invalid_gates', 'gates[1]');
  expectError(await ctx.cc.put(url, { gates: [{ venue_id: ctx.venueOther.id, direction: 'in' }] }), 400, 'unknown_venue', 'gates[0]');
  expectError(await ctx.cc.put(url, { gates: [{ venue_id: side.id, direction: 'in' }, { venue_id: lotGate.id, direction: 'out' }] }), 409, 'gate_taken', 'gates[1]');
  expectError(await ctx.cc.put(url, { gates: Array.from({ length: 9 }, () => ({ venue_id: side.id, direction: 'in' })) }), 400, 'invalid_gates', 'gates');
  expectError(await ctx.ccWest.put(url, { gates: [{ venue_id: side.id, direction: 'in' }] }), 404, 'not_found');
  assert.equal((await ctx.grid.put(url, { gates: [{ venue_id: side.id, direction: 'in' }] })).status, 403);
  assert.deepEqual(await gates(), before, 'nothing changed');

  // the entrance stays (now both ways), the exit goes, the side door comes
  r = await ctx.cc.put(url, { gates: [{ venue_id: ctx.venue.id, direction: 'both' }, { venue_id: side.id, direction: 'in' }] });
  assert.equal(r.status, 200, r.text);
  assert.deepEqual(r.body.gates.map((g) => `${g.venue_name}:${g.direction}`).sort(), ['多福巷小区东门:both', '多福巷车库侧门:in']);
  const plate = '京C' + String(10000 + Math.floor(Math.random() * 89999));
  assert.equal((await owner.post('/api/v1/me/vehicles', { plate, kind: 'car' })).status, 201);
  const f0 = await free();
  // the old exit moves nothing now; the side door counts
  assert.equal((await read(exitVenue, plate, 'out')).status, 200);
  assert.equal(await free(), f0, 'a former gate moves nothing');
  assert.equal((await read(side, plate, 'in')).status, 200);
  assert.equal(await free(), f0 - 1, 'the side door counts the car');
  expectError(await read(side, plate, 'out'), 400, 'wrong_direction', 'direction');
  // the former exit is free for another garage
  r = await ctx.cc.put(`/api/v1/parking/garages/${lot.id}/gates`, { gates: [{ venue_id: lotGate.id, direction: 'in' }, { venue_id: exitVenue.id, direction: 'out' }] });
  assert.equal(r.status, 200, r.text);
  assert.equal(r.body.gates.length, 2);
  garage.lot = lot;
});

test('deleting a garage detaches its gates and drops its cars and display', async () => {
  const lot = garage.lot;
  expectError(await ctx.ccWest.del(`/api/v1/parking/garages/${lot.id}`), 404, 'not_found');
  assert.equal((await ctx.grid.del(`/api/v1/parking/garages/${lot.id}`)).status, 403);
  assert.equal((await ctx.cc.del('/api/v1/parking/garages/abc')).status, 404, 'not an id');
  assert.equal((await fetch(`${ctx.url}/api/v1/public/parking/${lot.token}`)).status, 200, 'a positive control');
  // a car inside the lot
  const plate = '京B' + String(10000 + Math.floor(Math.random() * 89999));
  assert.equal((await owner.post('/api/v1/me/vehicles', { plate, kind: 'car' })).status, 201);
  assert.equal((await read({ id: (await ctx.cc.get(`/api/v1/parking/garages/${lot.id}`)).body.gates.find((g) => g.direction === 'in').venue_id }, plate, 'in')).status, 200);
  assert.equal((await ctx.cc.get(`/api/v1/parking/garages/${lot.id}`)).body.cars.length, 1);

  const r = await ctx.cc.del(`/api/v1/parking/garages/${lot.id}`);
  assert.equal(r.status, 204, r.text);
  expectError(await ctx.cc.get(`/api/v1/parking/garages/${lot.id}`), 404, 'not_found');
  expectError(await ctx.cc.del(`/api/v1/parking/garages/${lot.id}`), 404, 'not_found');
  assert.equal((await fetch(`${ctx.url}/api/v1/public/parking/${lot.token}`)).status, 404);
  assert.ok(!(await ctx.cc.get('/api/v1/parking/garages')).body.items.some((g) => g.id === lot.id));
  assert.equal(sqlRun(ctx, `SELECT COUNT(*) FROM parking_cars WHERE garage_id = ${lot.id}`).trim(), '0', 'the sealed plates are gone');
  assert.equal(sqlRun(ctx, `SELECT COUNT(*) FROM parking_gates WHERE garage_id = ${lot.id}`).trim(), '0');
  // its gates are free again: a read there moves nothing, the venue can be a gate anew
  assert.equal((await read(exitVenue, plate, 'out')).status, 200, 'no wrong_direction: no garage there');
  const again = await ctx.cc.put(`/api/v1/parking/garages/${garage.id}/gates`, { gates: [{ venue_id: ctx.venue.id, direction: 'both' }, { venue_id: exitVenue.id, direction: 'out' }] });
  assert.equal(again.status, 200, again.text);
  const audit = await ctx.auditor.get('/api/v1/audit?action=parking.delete');
  assert.ok(audit.body.items.some((x) => x.object_id === lot.id));
});
