// Visitors of enterprises (docs/enterprise.md "Visitors"): a resident
// registers a visitor with an enterprise as the host, the enterprise's
// account confirms or refuses it, its gate checks the visitor code, the
// enterprise lists a day's visitors (expected, arrived, left; masked; CSV),
// the street sees them in scope, another enterprise is 404 and audited.
// One server; the tests build on each other's data.
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { startCityWith, CITY_STAFF, creditCode, residentId, expectError, auditEntries } from './lib.mjs';
import { resident } from './devlib.mjs';

const PW = 'Enterprise-visit-2024!';
const H = 3600000;
const S1_C1 = '110101001001'; // 东华门街道
const S2_C1 = '110101002001'; // 景山街道
let ctx, cc, entA, entB, street1, street2, gate, grid, auditor, host;
let A, B;

before(async () => {
  ctx = await startCityWith(
    {
      ...CITY_STAFF,
      ent_a: ['enterprise', S1_C1],
      ent_b: ['enterprise', S2_C1],
      street_1: ['street_staff', '110101001000'],
      street_2: ['street_staff', '110101002000'],
    },
    PW,
  );
  ({ cc_dc: cc, ent_a: entA, ent_b: entB, street_1: street1, street_2: street2, gate_dc: gate, grid_dc: grid, auditor } = ctx.as);
  ctx.cc = cc; // resident() verifies the person with it
  ctx.ccWest = ctx.as.cc_xc;
  const mk = async (name, region, n) => {
    const r = await cc.post('/api/v1/enterprises', { name, credit_code: creditCode('91110101MA000000' + n), region_code: region, address: '东华门大街1号' });
    assert.equal(r.status, 201, r.text);
    return r.body;
  };
  A = await mk('东华门精密机械有限公司', S1_C1, '1');
  B = await mk('景山食品有限公司', S2_C1, '2');
  for (const [u, e] of [[entA, A], [entB, B]])
    assert.equal((await cc.post('/api/v1/enterprise-accounts', { user_id: u.id, enterprise_id: e.id })).status, 200);
  host = await resident(ctx);
});

after(async () => {
  await ctx?.stop();
});

const visitor = (over = {}) => ({
  name: '赵六', id_type: 'resident_id', id_number: residentId('110102', '19920315', 7), phone: '13912345678',
  purpose: '商务洽谈', valid_from: Date.now() - H, valid_to: Date.now() + 4 * H, enterprise_id: A.id, ...over,
});

let v1, v2, token;

test('a resident finds the enterprise and registers a visitor with it as the host', async () => {
  let r = await host.get('/api/v1/me/visit-enterprises?q=' + encodeURIComponent('精密'));
  assert.equal(r.status, 200, r.text);
  assert.deepEqual(r.body.items.map((x) => x.name), ['东华门精密机械有限公司']);
  assert.equal(r.body.items[0].address, '东华门大街1号');
  assert.equal(Object.keys(r.body.items[0]).includes('credit_code'), false, 'names only');
  expectError(await host.get('/api/v1/me/visit-enterprises'), 400, 'invalid_parameter', 'q');
  r = await host.get(`/api/v1/me/visit-enterprises/${A.id}`);
  assert.equal(r.status, 200, r.text);
  assert.equal(r.body.name, A.name);
  assert.equal((await host.get('/api/v1/me/visit-enterprises/99999')).status, 404);
  assert.equal((await grid.get(`/api/v1/me/visit-enterprises/${A.id}`)).status, 403, 'residents only');

  // bad input: nothing stored
  const before = (await host.get('/api/v1/me/visitors')).body.total;
  expectError(await host.post('/api/v1/me/visitors', visitor({ enterprise_id: '99999' })), 400, 'invalid_enterprise', 'enterprise_id');
  expectError(await host.post('/api/v1/me/visitors', visitor({ enterprise_id: 'abc' })), 400, 'invalid_enterprise', 'enterprise_id');
  expectError(await host.post('/api/v1/me/visitors', visitor({ enterprise_id: 12 })), 400, 'invalid_type', 'enterprise_id');
  expectError(await host.post('/api/v1/me/visitors', visitor({ phone: '123' })), 400, 'invalid_phone', 'phone');
  assert.equal((await host.get('/api/v1/me/visitors')).body.total, before);

  r = await host.post('/api/v1/me/visitors', visitor());
  assert.equal(r.status, 201, r.text);
  v1 = r.body;
  assert.equal(v1.host_kind, 'enterprise');
  assert.equal(v1.enterprise_id, A.id);
  assert.equal(v1.enterprise_name, A.name);
  assert.equal(v1.region_code, S1_C1, "the enterprise's region");
  assert.equal(v1.name, '赵*');
  r = await host.post('/api/v1/me/visitors', visitor({ name: '钱七', id_number: residentId('110102', '19900101', 9) }));
  assert.equal(r.status, 201, r.text);
  v2 = r.body;
  // a community visitor stays one
  r = await host.post('/api/v1/me/visitors', visitor({ enterprise_id: null }));
  assert.equal(r.status, 201, r.text);
  assert.equal(r.body.host_kind, 'resident');
  assert.equal(r.body.enterprise_id, null);
});

test('the enterprise decides its visitors; another enterprise and community staff get 404', async () => {
  expectError(await entB.post(`/api/v1/enterprise-visitors/${v1.id}/confirm`, {}), 404, 'not_found');
  expectError(await cc.post(`/api/v1/visitors/${v1.id}/confirm`, {}), 404, 'not_found');
  const refusals = await auditEntries(auditor, 'visitor.confirm', v1.id);
  assert.ok(refusals.some((x) => x.result !== 'ok'), 'the refusal is audited');
  expectError(await entA.post(`/api/v1/enterprise-visitors/${v2.id}/refuse`, {}), 400, 'required', 'reason');
  expectError(await entA.post(`/api/v1/enterprise-visitors/${v2.id}/refuse`, { reason: 'x'.repeat(201) }), 400, 'too_long', 'reason');
  expectError(await entA.post('/api/v1/enterprise-visitors/abc/confirm', {}), 404, 'not_found');
  expectError(await host.get(`/api/v1/visitors/${v1.id}/code`), 409, 'visitor_not_confirmed');

  let r = await entA.post(`/api/v1/enterprise-visitors/${v1.id}/confirm`, {});
  assert.equal(r.status, 200, r.text);
  assert.equal(r.body.status, 'confirmed');
  assert.equal(r.body.enterprise_name, A.name);
  expectError(await entA.post(`/api/v1/enterprise-visitors/${v1.id}/refuse`, { reason: '晚了' }), 409, 'visitor_not_pending');
  r = await entA.post(`/api/v1/enterprise-visitors/${v2.id}/refuse`, { reason: '当日不接待' });
  assert.equal(r.status, 200, r.text);
  assert.equal(r.body.status, 'refused');
  r = await host.get(`/api/v1/visitors/${v1.id}/code`);
  assert.equal(r.status, 200, r.text);
  token = r.body.token;
});

async function day(client = entA, query = '') {
  const r = await client.get('/api/v1/enterprise-visitors' + query);
  assert.equal(r.status, 200, r.text);
  return r.body;
}

test("the gate checks the code: its own enterprise's only; arrived, then left", async () => {
  let d = await day();
  assert.equal(d.total, 2);
  assert.equal(d.enterprise_name, A.name);
  const row = (id) => d.items.find((x) => x.id === id);
  assert.equal(row(v1.id).presence, 'expected');
  assert.equal(row(v1.id).presence_label, '待到访');
  assert.equal(row(v2.id).presence, 'undecided');
  assert.equal(row(v1.id).name, '赵*');
  assert.ok(!JSON.stringify(d).includes('13912345678'), 'masked');

  // another enterprise's gate, a forged code, bad input: refused, nothing logged
  expectError(await entB.post('/api/v1/enterprise-visitors/scan', { token, direction: 'in' }), 409, 'visitor_wrong_area', 'token');
  assert.equal((await entA.post('/api/v1/enterprise-visitors/scan', { token: token.slice(0, -4) + 'AAAA', direction: 'in' })).status, 400);
  expectError(await entA.post('/api/v1/enterprise-visitors/scan', { token, direction: 'up' }), 400, 'invalid_value', 'direction');
  expectError(await entA.post('/api/v1/enterprise-visitors/scan', { token, direction: 'in', temperature: 50 }), 400, 'out_of_range', 'temperature');
  expectError(await entA.post('/api/v1/enterprise-visitors/scan', { direction: 'in' }), 400, 'required', 'token');
  assert.equal((await host.post('/api/v1/enterprise-visitors/scan', { token, direction: 'in' })).status, 403);
  assert.equal((await day()).items.find((x) => x.id === v1.id).presence, 'expected');

  // a fever is refused at the gate and raises an alert
  let r = await entA.post('/api/v1/enterprise-visitors/scan', { token, direction: 'in', temperature: 38.2 });
  assert.equal(r.status, 200, r.text);
  assert.equal(r.body.verdict, 'deny');
  assert.equal((await day()).items.find((x) => x.id === v1.id).presence, 'expected', 'a denied entry is no arrival');

  r = await entA.post('/api/v1/enterprise-visitors/scan', { token, direction: 'in', temperature: 36.5 });
  assert.equal(r.status, 200, r.text);
  assert.equal(r.body.verdict, 'allow');
  assert.equal(r.body.visitor.name, '赵*');
  d = await day();
  assert.equal(d.items.find((x) => x.id === v1.id).presence, 'arrived');
  assert.equal(d.arrived, 1);
  assert.equal(typeof d.items.find((x) => x.id === v1.id).arrived_at, 'number');

  // checkpoint staff holding employee.pass_verify check it for the enterprise of their scope
  r = await gate.post('/api/v1/enterprise-visitors/scan', { token, direction: 'out' });
  assert.equal(r.status, 200, r.text);
  d = await day();
  assert.equal(d.items.find((x) => x.id === v1.id).presence, 'left');
  assert.equal(d.left, 1);
  assert.ok((await auditEntries(auditor, 'visitor.gate', v1.id)).length >= 3);
});

test("a day's list: date picker, export, another enterprise 404, the street in scope", async () => {
  const tomorrow = new Date(Date.now() + 8 * H + 48 * H).toISOString().slice(0, 10);
  assert.equal((await day(entA, '?date=' + tomorrow)).total, 0, 'the window ends today');
  for (const q of ['?date=2024-13-01', '?date=today', '?format=pdf', '?enterprise_id=abc'])
    assert.equal((await entA.get('/api/v1/enterprise-visitors' + q)).status, 400, q);
  expectError(await entB.get(`/api/v1/enterprise-visitors?enterprise_id=${A.id}`), 404, 'not_found');
  assert.ok((await auditEntries(auditor, 'visitor.enterprise_list')).some((x) => x.result !== 'ok'), 'refusal audited');
  // the street sees its enterprise, not another street's
  assert.equal((await day(street1, `?enterprise_id=${A.id}`)).total, 2);
  expectError(await street2.get(`/api/v1/enterprise-visitors?enterprise_id=${A.id}`), 404, 'not_found');
  expectError(await street1.get('/api/v1/enterprise-visitors'), 400, 'required', 'enterprise_id');
  assert.equal((await host.get('/api/v1/enterprise-visitors')).status, 403);
  // community staff see it among the visitors of their scope, named
  const all = await cc.get('/api/v1/visitors');
  const x = all.body.items.find((i) => i.id === v1.id);
  assert.equal(x.enterprise_name, A.name);

  const csv = await entA.get('/api/v1/enterprise-visitors?format=csv');
  assert.equal(csv.status, 200);
  assert.match(csv.text, /访客姓名/);
  assert.match(csv.text, /赵\*/);
  assert.match(csv.text, /已离开/);
  assert.ok(!csv.text.includes('13912345678'), 'masked in the file too');
  assert.equal((await auditEntries(auditor, 'visitor.enterprise_export', A.id)).length, 1);
});

test('an enterprise visitor is not admitted at community venues or by community staff', async () => {
  const place = await cc.post('/api/v1/places', { name: '多福巷小区', kind: 'community', region_code: S1_C1, address: '多福巷1号' });
  assert.equal(place.status, 201, place.text);
  const venue = await cc.post('/api/v1/venues', { name: '多福巷小区东门', kind: 'community_gate', place_id: place.body.id });
  assert.equal(venue.status, 201, venue.text);
  expectError(await gate.post('/api/v1/visitors/scan', { venue_id: venue.body.id, token, direction: 'in' }), 409, 'visitor_wrong_area', 'venue_id');
});
