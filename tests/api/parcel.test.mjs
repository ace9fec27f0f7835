// Parcels and take-away notices (issue 14, docs/community-life.md): the
// delivery account records arrivals at buildings of its scope; the resident
// signed in with the recipient's phone sees locker and code and picks up;
// another resident sees nothing; staff see per-building counts and the list
// masked; bad input on every endpoint; the phone and code sealed at rest.
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { startCity, resident, expectError, PW, COMMUNITY, OTHER_COMMUNITY } from './devlib.mjs';
import { sqlRun } from './lib.mjs';

const BUILDING = '110101001001001001';
let ctx, courier, cs, csOther, res, resOther, parcel;

before(async () => {
  ctx = await startCity({
    setup: async (c) => {
      c.must(['user', 'add', '--username', 'kuaidi', '--password', PW, '--role', 'delivery', '--region', COMMUNITY]);
      c.must(['user', 'add', '--username', 'cstaff', '--password', PW, '--role', 'community_staff', '--region', COMMUNITY]);
      c.must(['user', 'add', '--username', 'cs_other', '--password', PW, '--role', 'community_staff', '--region', OTHER_COMMUNITY]);
    },
  });
  courier = ctx.client();
  await courier.login('kuaidi', PW);
  cs = ctx.client();
  await cs.login('cstaff', PW);
  csOther = ctx.client();
  await csOther.login('cs_other', PW);
  res = await resident(ctx);
  resOther = await resident(ctx, COMMUNITY, '李四');
});
after(async () => {
  await ctx?.stop();
});

test('the courier records an arrival; bad input refused, nothing written', async () => {
  const body = { region_code: BUILDING, kind: 'parcel', carrier: '顺丰', locker: 'A-12', code: '361502', phone: res.phoneNumber };
  assert.ok(body.phone, 'the resident helper keeps the phone');
  expectError(await courier.post('/api/v1/parcels', { ...body, phone: '123' }), 400, 'invalid_phone', 'phone');
  expectError(await courier.post('/api/v1/parcels', { ...body, kind: 'letter' }), 400, 'invalid_value', 'kind');
  expectError(await courier.post('/api/v1/parcels', { ...body, locker: '' }), 400, 'required', 'locker');
  expectError(await courier.post('/api/v1/parcels', { ...body, region_code: OTHER_COMMUNITY }), 400, 'invalid_region', 'region_code');
  expectError(await courier.post('/api/v1/parcels', { ...body, region_code: 'x' }), 400, 'invalid_region', 'region_code');
  expectError(await courier.post('/api/v1/parcels', { ...body, code: 'a\nb' }), 400, 'invalid_value', 'code');
  expectError(await res.post('/api/v1/parcels', body), 403, 'forbidden');
  expectError(await cs.post('/api/v1/parcels', body), 403, 'forbidden');
  assert.equal(sqlRun(ctx, 'SELECT COUNT(*) FROM parcels').trim(), '0', 'nothing written');
  const r = await courier.post('/api/v1/parcels', body);
  assert.equal(r.status, 201, r.text);
  parcel = r.body;
  assert.equal(parcel.status, 'waiting');
  // sealed at rest: the code and the phone are not in the table in clear
  assert.equal(sqlRun(ctx, "SELECT COUNT(*) FROM parcels WHERE locker = 'A-12'").trim(), '1', 'positive control');
  assert.equal(sqlRun(ctx, `SELECT COUNT(*) FROM parcels WHERE CAST(code_enc AS TEXT) LIKE '%361502%' OR CAST(phone_enc AS TEXT) LIKE '%${body.phone}%'`).trim(), '0');
  const mine = await courier.get('/api/v1/parcels/recorded');
  assert.equal(mine.body.total, 1);
  assert.equal(mine.body.items[0].code, '******', 'the courier\'s list does not repeat the code');
});

test('the resident sees it with locker and code and picks it up; another resident cannot', async () => {
  let r = await res.get('/api/v1/me/parcels?status=waiting');
  assert.equal(r.status, 200, r.text);
  assert.equal(r.body.items.length, 1);
  assert.equal(r.body.items[0].locker, 'A-12');
  assert.equal(r.body.items[0].code, '361502');
  assert.equal(r.body.items[0].region_name, '1号楼');
  assert.equal((await resOther.get('/api/v1/me/parcels')).body.total, 0);
  expectError(await resOther.post(`/api/v1/me/parcels/${parcel.id}/pickup`, {}), 404, 'parcel_not_found');
  expectError(await cs.get('/api/v1/me/parcels'), 403, 'forbidden');
  expectError(await res.get('/api/v1/me/parcels?status=lost'), 400, 'invalid_parameter', 'status');
  expectError(await res.post('/api/v1/me/parcels/abc/pickup', {}), 404, 'not_found');
  // staff: per building counts before the pick-up, the list masked, another community nothing
  r = await cs.get('/api/v1/parcels/counts');
  assert.equal(r.status, 200, r.text);
  assert.deepEqual(r.body.items.map((x) => [x.region_name, x.waiting, x.overdue]), [['1号楼', 1, 0]]);
  assert.equal((await csOther.get('/api/v1/parcels/counts')).body.items.length, 0);
  expectError(await cs.get('/api/v1/parcels/counts?days=0'), 400, 'invalid_parameter', 'days');
  r = await cs.get('/api/v1/parcels');
  assert.equal(r.body.items[0].phone.includes('****'), true);
  assert.equal(r.body.items[0].code, '******');
  r = await cs.get('/api/v1/parcels?format=csv');
  assert.equal(r.status, 200);
  assert.match(r.text, /A-12/);
  assert.doesNotMatch(r.text, /361502/);
  assert.equal((await csOther.get('/api/v1/parcels')).body.total, 0);
  expectError(await courier.get('/api/v1/parcels'), 403, 'forbidden');
  r = await res.post(`/api/v1/me/parcels/${parcel.id}/pickup`, {});
  assert.equal(r.status, 200, r.text);
  assert.equal(r.body.status, 'picked');
  expectError(await res.post(`/api/v1/me/parcels/${parcel.id}/pickup`, {}), 409, 'parcel_picked');
  assert.equal((await cs.get('/api/v1/parcels/counts')).body.waiting, 0);
});

test('older than N days flagged: an arrival recorded four days ago is overdue at 3 days', async () => {
  const r = await courier.post('/api/v1/parcels', { region_code: BUILDING, kind: 'takeaway', carrier: '美团', locker: '门卫室', phone: res.phoneNumber });
  assert.equal(r.status, 201, r.text);
  const wb = async (cl) => (await cl.get('/api/v1/workbench')).body.entries.find((x) => x.key === 'parcels_overdue')?.count;
  assert.equal(await wb(cs), 0, 'not overdue yet');
  sqlRun(ctx, `UPDATE parcels SET created_at = created_at - ${4 * 86400000} WHERE id = ${r.body.id}`);
  assert.equal(await wb(cs), 1, 'the workbench entry counts it');
  assert.equal(await wb(csOther), 0, 'another community: none');
  assert.equal(await wb(courier), undefined, 'not the courier\'s entry');
  let c = await cs.get('/api/v1/parcels/counts');
  assert.equal(c.body.overdue, 1);
  c = await cs.get('/api/v1/parcels/counts?days=5');
  assert.equal(c.body.overdue, 0);
  const l = await cs.get('/api/v1/parcels?overdue_days=3');
  assert.deepEqual(l.body.items.map((x) => x.id), [r.body.id]);
  expectError(await cs.get('/api/v1/parcels?overdue_days=99'), 400, 'invalid_parameter', 'overdue_days');
});
