// Devices (/api/v1/devices): registry with one-time secrets, scope and
// permissions; readings and heartbeats over HTTP with device credentials;
// fever alerts, temperatures recorded for known persons; refusals counted
// in /metrics; silence raises device_silent once and a heartbeat clears it.
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { sleep } from './lib.mjs';
import { startCity, resident, expectError, alerts, metric } from './devlib.mjs';

let ctx;

before(async () => {
  ctx = await startCity({ env: { FK_DEVICE_CHECK: '1' } });
});
after(async () => {
  await ctx?.stop();
});

async function newDevice(body = {}, client = ctx.cc) {
  const r = await client.post('/api/v1/devices', { name: '东门测温仪', kind: 'thermometer', venue_id: ctx.venue.id, heartbeat_s: 60, ...body });
  assert.equal(r.status, 201, r.text);
  return r.body;
}

const post = (path, body, auth) =>
  fetch(ctx.url + path, {
    method: 'POST',
    headers: { 'content-type': 'application/json', ...(auth ? { authorization: auth } : {}) },
    body: typeof body === 'string' ? body : JSON.stringify(body),
  }).then(async (r) => ({ status: r.status, body: await r.json().catch(() => undefined) }));

test('registering a device shows its secret once; bad input and scope are refused', async () => {
  const d = await newDevice();
  assert.match(d.secret, /^[0-9a-f]{48}$/);
  assert.equal(d.credential, `${d.id}:${d.secret}`);
  assert.equal(d.mqtt.username, d.id);
  assert.equal(d.mqtt.readings_topic, `fk/devices/${d.id}/readings`);
  assert.equal(d.status, 'online');
  const got = await ctx.cc.get(`/api/v1/devices/${d.id}`);
  assert.equal(got.status, 200);
  assert.equal(got.body.secret, undefined, 'the secret is never shown again');
  expectError(await ctx.cc.post('/api/v1/devices', { name: 'x', kind: 'toaster', venue_id: ctx.venue.id }), 400, 'invalid_value', 'kind');
  expectError(await ctx.cc.post('/api/v1/devices', { name: 'x', kind: 'gate', venue_id: ctx.venue.id, colour: 1 }), 400, 'unknown_field', 'colour');
  expectError(await ctx.cc.post('/api/v1/devices', { name: 'x', kind: 'gate', venue_id: ctx.venue.id, heartbeat_s: 1 }), 400, 'out_of_range', 'heartbeat_s');
  // a venue outside the caller's scope is a 404, as every reference in a body
  expectError(await ctx.cc.post('/api/v1/devices', { name: 'x', kind: 'gate', venue_id: ctx.venueWest.id }), 404, 'unknown_venue', 'venue_id');
  expectError(await ctx.gridOther.post('/api/v1/devices', { name: 'x', kind: 'gate', venue_id: ctx.venue.id }), 404, 'unknown_venue', 'venue_id');
  assert.equal((await ctx.gate.post('/api/v1/devices', { name: 'x', kind: 'gate', venue_id: ctx.venue.id })).status, 403);
  assert.equal((await ctx.ccWest.get(`/api/v1/devices/${d.id}`)).status, 404);
  const list = await ctx.grid.get('/api/v1/devices');
  assert.ok(list.body.items.some((x) => x.id === d.id));
  assert.ok(!(await ctx.gridOther.get('/api/v1/devices')).body.items.some((x) => x.id === d.id));
});

test('HTTP readings: credentials checked, fever raises an alert and records the temperature', async () => {
  const d = await newDevice();
  const res = await resident(ctx);
  const auth = `Device ${d.credential}`;
  // wrong secret, unknown device, no header, malformed credential
  const before = await metric(ctx, 'fangkong_device_refused_total{reason="bad_secret"}');
  expectError(await post('/api/v1/devices/readings', { temperature: 36.5 }, `Device ${d.id}:${'0'.repeat(48)}`), 401, 'device_auth_failed');
  assert.equal(await metric(ctx, 'fangkong_device_refused_total{reason="bad_secret"}'), before + 1);
  expectError(await post('/api/v1/devices/readings', { temperature: 36.5 }, `Device 123:${d.secret}`), 401, 'device_auth_failed');
  expectError(await post('/api/v1/devices/readings', { temperature: 36.5 }), 401, 'device_auth_failed');
  expectError(await post('/api/v1/devices/readings', { temperature: 36.5 }, 'Device nonsense'), 401, 'device_auth_failed');
  // malformed payloads change nothing and are counted
  const mal = await metric(ctx, 'fangkong_device_refused_total{reason="malformed"}');
  expectError(await post('/api/v1/devices/readings', '{"temperature": ', auth), 400, 'invalid_json');
  expectError(await post('/api/v1/devices/readings', { temperature: 'hot' }, auth), 400, 'invalid_type', 'temperature');
  expectError(await post('/api/v1/devices/readings', { temperature: 36.5, colour: 'red' }, auth), 400, 'unknown_field', 'colour');
  expectError(await post('/api/v1/devices/readings', { temperature: 60 }, auth), 400, 'out_of_range', 'temperature');
  assert.equal(await metric(ctx, 'fangkong_device_refused_total{reason="malformed"}'), mal + 4);
  expectError(await post('/api/v1/devices/readings', { temperature: 36.5, person_id: '999' }, auth), 404, 'unknown_person');
  expectError(await post('/api/v1/devices/readings', { temperature: 36.5, person_token: 'FK1.AAAA.BBBB' }, auth), 400, 'token_malformed', 'token');
  assert.equal((await ctx.cc.get(`/api/v1/devices/${d.id}`)).body.readings, 0, 'nothing was stored');
  // a normal reading without a person
  let r = await post('/api/v1/devices/readings', { temperature: 36.4 }, auth);
  assert.equal(r.status, 201);
  assert.equal(r.body.fever, false);
  assert.equal(r.body.threshold, 37.3);
  // a fever of a person known by their health-code token
  const code = await res.get('/api/v1/me/code/token');
  assert.equal(code.status, 200, code.text);
  r = await post('/api/v1/devices/readings', { temperature: 38.2, person_token: code.body.token }, auth);
  assert.equal(r.status, 201, JSON.stringify(r.body));
  assert.equal(r.body.fever, true);
  assert.equal(r.body.person_recorded, true);
  const items = await alerts(ctx.grid, '?kind=device_fever');
  const a = items.find((x) => x.device_id === d.id);
  assert.ok(a, 'a device_fever alert in the community');
  assert.match(a.message, /38\.2/);
  assert.equal(a.person_id, res.person.id);
  assert.ok(!(await alerts(ctx.gridOther, '?kind=device_fever')).some((x) => x.device_id === d.id), 'scoped');
  const temps = await ctx.cc.get(`/api/v1/persons/${res.person.id}/temperatures`);
  assert.equal(temps.status, 200, temps.text);
  assert.ok(temps.body.items.some((t) => t.source === 'device' && Math.abs(t.value - 38.2) < 0.01), temps.text);
  const pc = await ctx.cc.get(`/api/v1/persons/${res.person.id}/code`);
  assert.equal(pc.body.colour, 'yellow', 'a fever turns the code yellow');
});

test('disabled devices are refused; a secret reset revokes the old secret', async () => {
  const d = await newDevice();
  let r = await ctx.cc.post(`/api/v1/devices/${d.id}/secret`);
  assert.equal(r.status, 200);
  expectError(await post('/api/v1/devices/heartbeat', {}, `Device ${d.credential}`), 401, 'device_auth_failed');
  assert.equal((await post('/api/v1/devices/heartbeat', {}, `Device ${r.body.credential}`)).status, 200);
  assert.equal((await ctx.cc.patch(`/api/v1/devices/${d.id}`, { enabled: false })).status, 200);
  expectError(await post('/api/v1/devices/heartbeat', {}, `Device ${r.body.credential}`), 403, 'device_disabled');
  expectError(await post('/api/v1/devices/heartbeat', '[1]', `Device ${r.body.credential}`), 403, 'device_disabled');
});

test('a silent device raises device_silent once; a heartbeat clears it', async () => {
  const d = await newDevice({ name: '静默测温仪', heartbeat_s: 5 });
  const auth = `Device ${d.credential}`;
  expectError(await post('/api/v1/devices/heartbeat', '{"at": "x"}', auth), 400, 'invalid_type', 'at');
  assert.equal((await post('/api/v1/devices/heartbeat', '', auth)).status, 200);
  const silentOf = async () => (await alerts(ctx.grid, '?kind=device_silent')).filter((x) => x.device_id === d.id);
  for (let i = 0; i < 40 && (await silentOf()).length === 0; i++) await sleep(250);
  assert.equal((await silentOf()).length, 1, 'raised');
  assert.equal((await ctx.cc.get(`/api/v1/devices/${d.id}`)).body.status, 'silent');
  await sleep(2500);
  assert.equal((await silentOf()).length, 1, 'once per silence');
  assert.equal((await post('/api/v1/devices/heartbeat', {}, auth)).status, 200);
  assert.equal((await ctx.cc.get(`/api/v1/devices/${d.id}`)).body.status, 'online');
  for (let i = 0; i < 60 && (await silentOf()).length < 2; i++) await sleep(250);
  assert.equal((await silentOf()).length, 2, 'a new silence after the heartbeat raises again');
  assert.equal((await ctx.cc.del(`/api/v1/devices/${d.id}`)).status, 204);
});
