// `within=<region code>` on any signed-in GET narrows that request's scope to
// part of the caller's own (the console's header filter): every list narrows
// at once; a region outside the caller's scope is refused like another
// region's record (404, audited); a malformed code is 400 on `within`.
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { startServer, CITY_CSV, writeTmp, residentId, smsCode, totpSecretFrom, waitForAudit } from './lib.mjs';

const PW = 'Within-test-2024!';
const DC = '110101000000'; // 东城区
const S1 = '110101001000'; // 东华门街道
const S1_C1 = '110101001001'; // 多福巷社区
const S2_C1 = '110101002001'; // 隆福寺社区 (景山街道)
const XC = '110102000000'; // 西城区 (another district)
let ctx, cc, gate, auditor;
let placeEast, placeNorth, venueEast, venueNorth;

async function staff(u, secret) {
  const c = ctx.client();
  await c.login(u, PW, secret);
  return c;
}

async function resident(phone, name, region, seq) {
  const c = ctx.client();
  await c.post('/api/v1/auth/sms/send', { phone });
  const r0 = await c.post('/api/v1/auth/sms/login', { phone, code: smsCode(ctx, phone) });
  assert.equal(r0.status, 200, r0.text);
  await c.post('/api/v1/me/consent', { version: 'v1' });
  const r = await c.post('/api/v1/me/person', {
    name, id_number: residentId('110101', '19850505', seq), region_code: region, address: '1号',
  });
  assert.equal(r.status, 201, r.text);
  c.personId = r.body.person.id;
  const v = await cc.post(`/api/v1/persons/${c.personId}/verify`, { document_checked: true });
  assert.equal(v.status, 200, v.text);
  return c;
}

async function scanAt(res, venue) {
  const token = (await res.get('/api/v1/me/code/token')).body.token;
  const r = await gate.post('/api/v1/scans', { venue_id: venue.id, token, direction: 'in' });
  assert.equal(r.status, 201, r.text);
}

before(async () => {
  let secret;
  ctx = await startServer({
    setup: (c) => {
      c.must(['import', 'regions', writeTmp(c, 'city.csv', CITY_CSV)]);
      const add = (u, role, region) =>
        c.must(['user', 'add', '--username', u, '--password', PW, '--role', role, '--region', region]);
      add('within_cc', 'command_center', DC);
      add('within_gate', 'checkpoint_staff', DC);
      secret = totpSecretFrom(add('within_auditor', 'audit_admin', '110100000000'));
    },
  });
  cc = await staff('within_cc');
  gate = await staff('within_gate');
  auditor = await staff('within_auditor', secret);
  let r = await cc.post('/api/v1/places', { name: '多福巷小区', kind: 'community', region_code: S1_C1 });
  assert.equal(r.status, 201, r.text);
  placeEast = r.body;
  r = await cc.post('/api/v1/places', { name: '隆福寺小区', kind: 'community', region_code: S2_C1 });
  assert.equal(r.status, 201, r.text);
  placeNorth = r.body;
  r = await cc.post('/api/v1/venues', { name: '多福巷小区东门', kind: 'community_gate', place_id: placeEast.id });
  assert.equal(r.status, 201, r.text);
  venueEast = r.body;
  r = await cc.post('/api/v1/venues', { name: '隆福寺小区北门', kind: 'community_gate', place_id: placeNorth.id });
  assert.equal(r.status, 201, r.text);
  venueNorth = r.body;
  await scanAt(await resident('13800001001', '钱一', S1_C1, 11), venueEast);
  await scanAt(await resident('13800001002', '孙二', S2_C1, 13), venueNorth);
});

after(async () => {
  await ctx?.stop();
});

test('within narrows places and access records to the street chosen', async () => {
  // positive control: without it both streets are seen
  let r = await cc.get('/api/v1/places');
  assert.equal(r.status, 200, r.text);
  assert.deepEqual(r.body.items.map((p) => p.name).sort(), ['多福巷小区', '隆福寺小区']);
  r = await cc.get('/api/v1/access-records');
  assert.equal(r.status, 200, r.text);
  assert.equal(r.body.total, 2);

  r = await cc.get(`/api/v1/places?within=${S1}`);
  assert.equal(r.status, 200, r.text);
  assert.deepEqual(r.body.items.map((p) => p.name), ['多福巷小区']);
  r = await cc.get(`/api/v1/access-records?within=${S1}`);
  assert.equal(r.status, 200, r.text);
  assert.equal(r.body.total, 1);
  assert.equal(r.body.items[0].venue_id, venueEast.id);
  r = await cc.get(`/api/v1/access-records?within=${S2_C1}`);
  assert.equal(r.body.total, 1);
  assert.equal(r.body.items[0].venue_id, venueNorth.id);
  // a record of the other street is out of the narrowed scope
  r = await cc.get(`/api/v1/places/${placeNorth.id}?within=${S1}`);
  assert.equal(r.status, 404);
  // the account's own root is allowed and changes nothing
  r = await cc.get(`/api/v1/places?within=${DC}`);
  assert.equal(r.body.items.length, 2);
});

test('within outside the caller\'s scope is refused (404) and audited', async () => {
  const r = await cc.get(`/api/v1/places?within=${XC}`);
  assert.equal(r.status, 404, r.text);
  assert.equal(r.body.error.code, 'not_found');
  assert.equal(r.body.error.field, 'within');
  // the parent of the account's own region is outside it too
  assert.equal((await cc.get('/api/v1/access-records?within=110100000000')).status, 404);
  const items = await waitForAudit(auditor, 'action=scope.within_refused',
    (a) => a.detail === XC && a.username === 'within_cc');
  assert.ok(items.some((a) => a.detail === XC && a.username === 'within_cc'), JSON.stringify(items));
});

test('a malformed within is 400 on field within', async () => {
  for (const bad of ['abc', '1101010010', '110000001000', '1101010010011']) {
    const r = await cc.get(`/api/v1/places?within=${bad}`);
    assert.equal(r.status, 400, `${bad}: ${r.text}`);
    assert.equal(r.body.error.code, 'invalid_region');
    assert.equal(r.body.error.field, 'within');
  }
  // an empty one is no filter
  assert.equal((await cc.get('/api/v1/places?within=')).body.items.length, 2);
});

test('the OpenAPI document lists within on reads', async () => {
  const r = await cc.get('/api/v1/openapi.json');
  assert.equal(r.status, 200);
  assert.equal(r.body.components.parameters.within.in, 'query');
  const op = r.body.paths['/api/v1/places'].get;
  assert.ok(op.parameters.some((p) => p.$ref === '#/components/parameters/within'));
});
