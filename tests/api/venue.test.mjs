// Venues (/api/v1/venues): CRUD with bad input on every path, scope,
// permissions and audit; venue codes as token, PNG (decoded by zbarimg),
// SVG and A4 poster; verification of scanned codes, tampering and
// revocation by regeneration.
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import fs from 'node:fs';
import path from 'node:path';
import { startServer, CITY_CSV, writeTmp, creditCode, totpSecretFrom, sleep, expectError, auditEntries, signedIn, startCityWith, CITY_STAFF } from './lib.mjs';

const PW = 'Venue-test-2024!';
const DC = '110101000000'; // 东城区
const DC_S1_C1 = '110101001001'; // grid worker's community
const DC_S2_C1 = '110101002001';
const XC_C1 = '110102001001'; // another district
const BUILDING = '110101001001001001'; // 1号楼, under the grid worker's community
let ctx, cc, ccWest, grid, checkpoint, doctor, anon, auditor;
let place, placeS2, placeWest, enterprise;

before(async () => {
  ctx = await startCityWith(
    CITY_STAFF,
    PW,
  );
  ({ cc_dc: cc, cc_xc: ccWest, grid_dc: grid, gate_dc: checkpoint, doctor_dc: doctor, auditor } = ctx.as);
  anon = ctx.client();

  let r = await cc.post('/api/v1/enterprises', {
    name: '多福巷居民委员会',
    credit_code: creditCode('51110101MJ0000001'),
    region_code: DC_S1_C1,
  });
  assert.equal(r.status, 201, r.text);
  enterprise = r.body;
  r = await cc.post('/api/v1/places', {
    name: '多福巷小区', kind: 'community', region_code: DC_S1_C1, enterprise_id: enterprise.id,
  });
  assert.equal(r.status, 201, r.text);
  place = r.body;
  r = await cc.post('/api/v1/places', { name: '隆福市场', kind: 'market', region_code: DC_S2_C1 });
  assert.equal(r.status, 201, r.text);
  placeS2 = r.body;
  r = await ccWest.post('/api/v1/places', { name: '府右街小区', kind: 'community', region_code: XC_C1 });
  assert.equal(r.status, 201, r.text);
  placeWest = r.body;
});

after(async () => {
  await ctx?.stop();
});

const base = () => ({ name: '多福巷小区东门', kind: 'community_gate', place_id: place.id });

async function create(body = {}, client = cc) {
  const r = await client.post('/api/v1/venues', { ...base(), ...body });
  assert.equal(r.status, 201, r.text);
  return r.body;
}

async function total(client = cc, query = '') {
  const r = await client.get('/api/v1/venues' + query);
  assert.equal(r.status, 200, r.text);
  return r.body.total;
}

// Binary GET with the client's session (the Client reads text).
async function getBytes(client, p) {
  const r = await fetch(ctx.url + p, { headers: { cookie: client.cookie } });
  return { status: r.status, headers: r.headers, bytes: Buffer.from(await r.arrayBuffer()) };
}

function zbar(bytes, name) {
  const file = path.join(ctx.dir, name);
  fs.writeFileSync(file, bytes);
  // stderr ignored: zbarimg's image loader complains about a missing D-Bus
  return execFileSync('zbarimg', ['--raw', '-q', file], { encoding: 'utf8', stdio: ['ignore', 'pipe', 'ignore'] })
    .replace(/\n$/, '');
}

test('create a venue: defaults, the place, its organisation and region', async () => {
  const v = await create({ address: '多福巷1号东侧' });
  assert.match(v.id, /^\d+$/);
  assert.equal(v.name, '多福巷小区东门');
  assert.equal(v.kind, 'community_gate');
  assert.equal(v.kind_label, '小区出入口');
  assert.equal(v.place_id, place.id);
  assert.equal(v.place_name, '多福巷小区');
  assert.equal(v.credit_code, enterprise.credit_code);
  assert.equal(v.region_code, DC_S1_C1);
  assert.ok(v.region_name);
  assert.equal(v.address, '多福巷1号东侧');
  assert.equal(v.direction, 'both');
  assert.deepEqual(v.allowed_colors, ['green']);
  assert.equal(v.limit_count, 0);
  assert.equal(v.limit_hours, 0);
  assert.equal(v.fever_threshold, 37.3);
  assert.equal(v.enabled, true);
  assert.equal(v.code_version, 1);
  assert.equal(v.version, 1);
  const r = await cc.get(`/api/v1/venues/${v.id}`);
  assert.equal(r.status, 200);
  assert.deepEqual(r.body, v);
  const audit = await auditEntries(auditor, 'venue.create', v.id);
  assert.equal(audit.length, 1);
  assert.match(audit[0].detail, /fields=.*name/);
});

test('create with every policy field; a region below the place', async () => {
  const v = await create({
    name: '3号楼单元门', kind: 'building', direction: 'in', allowed_colors: ['green', 'yellow'],
    limit_count: 4, limit_hours: 24, fever_threshold: 37.5, enabled: false,
    region_code: BUILDING,
  });
  assert.equal(v.direction, 'in');
  assert.deepEqual(v.allowed_colors, ['green', 'yellow']);
  assert.equal(v.limit_count, 4);
  assert.equal(v.limit_hours, 24);
  assert.equal(v.fever_threshold, 37.5);
  assert.equal(v.enabled, false);
  assert.equal(v.region_code, BUILDING);
  assert.equal(v.region_name, '1号楼');
});

test('bad input on create: each refused with its field, nothing written', async () => {
  const before = await total();
  const cases = [
    [{ name: undefined }, 'required', 'name'],
    [{ name: '   ' }, 'required', 'name'],
    [{ name: '长'.repeat(101) }, 'too_long', 'name'],
    [{ kind: undefined }, 'required', 'kind'],
    [{ kind: 'castle' }, 'invalid_value', 'kind'],
    [{ place_id: undefined }, 'required', 'place_id'],
    [{ place_id: 'abc' }, 'invalid_place', 'place_id'],
    [{ place_id: '123456789' }, 'invalid_place', 'place_id'],
    [{ place_id: placeWest.id }, 'invalid_place', 'place_id'],
    [{ region_code: DC_S2_C1 }, 'invalid_region', 'region_code'],
    [{ region_code: '110101001001001002' }, 'invalid_region', 'region_code'], // no such building
    [{ region_code: 'x1' }, 'invalid_region', 'region_code'],
    [{ direction: 'up' }, 'invalid_value', 'direction'],
    [{ allowed_colors: [] }, 'invalid_value', 'allowed_colors'],
    [{ allowed_colors: ['blue'] }, 'invalid_value', 'allowed_colors'],
    [{ allowed_colors: ['green', 'green'] }, 'invalid_value', 'allowed_colors'],
    [{ allowed_colors: [1] }, 'invalid_value', 'allowed_colors'],
    [{ allowed_colors: 'green' }, 'invalid_type', 'allowed_colors'],
    [{ limit_count: 3 }, 'out_of_range', 'limit_hours'],
    [{ limit_count: -1, limit_hours: 1 }, 'out_of_range', 'limit_count'],
    [{ limit_count: 1001, limit_hours: 1 }, 'out_of_range', 'limit_count'],
    [{ limit_count: 0, limit_hours: 5 }, 'invalid_value', 'limit_hours'],
    [{ limit_count: 2, limit_hours: 721 }, 'out_of_range', 'limit_hours'],
    [{ limit_count: 1.5, limit_hours: 1 }, 'invalid_type', 'limit_count'],
    [{ fever_threshold: 50 }, 'out_of_range', 'fever_threshold'],
    [{ fever_threshold: 30 }, 'out_of_range', 'fever_threshold'],
    [{ fever_threshold: '37.3' }, 'invalid_type', 'fever_threshold'],
    [{ enabled: 'yes' }, 'invalid_type', 'enabled'],
    [{ address: 'a'.repeat(201) }, 'too_long', 'address'],
    [{ color: 'green' }, 'unknown_field', 'color'],
  ];
  for (const [patch, code, field] of cases) {
    const body = { ...base(), ...patch };
    for (const k of Object.keys(patch)) if (patch[k] === undefined) delete body[k];
    const r = await cc.post('/api/v1/venues', body);
    expectError(r, 400, code, field);
  }
  let r = await cc.post('/api/v1/venues', '{"name":', { 'content-type': 'application/json' });
  assert.equal(r.status, 400);
  r = await cc.post('/api/v1/venues', '[]');
  assert.equal(r.status, 400);
  // several fields wrong at once: every one is named, the first as the error's field
  r = await cc.post('/api/v1/venues', { ...base(), name: '长'.repeat(101), direction: 'up', address: 'a'.repeat(201) });
  expectError(r, 400, 'too_long', 'name');
  assert.deepEqual(r.body.error.fields.map((f) => `${f.field}:${f.code}`).sort(),
    ['address:too_long', 'direction:invalid_value', 'name:too_long']);
  assert.ok(r.body.error.fields.every((f) => /[\u4e00-\u9fa5]/.test(f.message)));
  // and so are the rules checked after the types
  r = await cc.post('/api/v1/venues', { ...base(), fever_threshold: 50, limit_count: 0, limit_hours: 5 });
  assert.deepEqual(r.body.error.fields.map((f) => `${f.field}:${f.code}`),
    ['limit_hours:invalid_value', 'fever_threshold:out_of_range']);
  // JSON-level faults of several fields are named together too
  r = await cc.post('/api/v1/venues', { ...base(), enabled: 'yes', limit_count: 1.5, colour: 'x' });
  assert.deepEqual(r.body.error.fields.map((f) => f.field).sort(), ['colour', 'enabled', 'limit_count']);
  assert.equal(await total(), before);
});

test('permissions: doctor has none, checkpoint reads, anonymous is 401', async () => {
  const v = await create({ name: '权限测试门' });
  expectError(await doctor.get('/api/v1/venues'), 403, 'forbidden');
  expectError(await doctor.get(`/api/v1/venues/${v.id}/code`), 403, 'forbidden');
  assert.equal((await checkpoint.get(`/api/v1/venues/${v.id}`)).status, 200);
  assert.equal((await checkpoint.post('/api/v1/venues', base())).status, 403);
  assert.equal((await checkpoint.patch(`/api/v1/venues/${v.id}`, { name: 'x' })).status, 403);
  assert.equal((await checkpoint.post(`/api/v1/venues/${v.id}/code/regenerate`)).status, 403);
  assert.equal((await anon.get('/api/v1/venues')).status, 401);
  assert.equal((await anon.get(`/api/v1/venues/${v.id}/code.png`)).status, 401);
  assert.equal((await anon.post('/api/v1/venue-codes/verify', { token: 'FK1.A.B' })).status, 401);
});

test('scope: another district sees 404 everywhere; a grid worker only their community', async () => {
  const v = await create({ name: '范围测试门' });
  for (const p of ['', '/code', '/code.png', '/code.svg', '/poster'])
    assert.equal((await ccWest.get(`/api/v1/venues/${v.id}${p}`)).status, 404, p);
  expectError(await ccWest.patch(`/api/v1/venues/${v.id}`, { name: 'x' }), 404, 'not_found');
  assert.equal((await ccWest.del(`/api/v1/venues/${v.id}`)).status, 404);
  assert.equal((await ccWest.post(`/api/v1/venues/${v.id}/code/regenerate`)).status, 404);
  const west = await ccWest.get('/api/v1/venues?page_size=200');
  assert.ok(!west.body.items.some((x) => x.id === v.id));
  expectError(await ccWest.get(`/api/v1/venues?region_code=${DC}`), 400, 'invalid_region', 'region_code');

  // the grid worker creates at their community's place, not elsewhere
  const g = await create({ name: '网格员登记的门' }, grid);
  assert.equal(g.region_code, DC_S1_C1);
  expectError(await grid.post('/api/v1/venues', { ...base(), place_id: placeS2.id }), 400, 'invalid_place', 'place_id');
  const s2 = await create({ name: '市场北门', kind: 'market', place_id: placeS2.id });
  assert.equal((await grid.get(`/api/v1/venues/${s2.id}`)).status, 404);
  assert.equal((await cc.get(`/api/v1/venues/${s2.id}`)).status, 200);
});

test('update: fields, policy, conflicts and bad input; audited', async () => {
  const v = await create({ name: '修改测试门' });
  let r = await cc.patch(`/api/v1/venues/${v.id}`, {
    name: '修改后的门', direction: 'out', allowed_colors: ['green', 'yellow', 'red'], limit_count: 2,
    limit_hours: 12, fever_threshold: 37.0,
  });
  assert.equal(r.status, 200, r.text);
  assert.equal(r.body.name, '修改后的门');
  assert.equal(r.body.direction, 'out');
  assert.deepEqual(r.body.allowed_colors, ['green', 'yellow', 'red']);
  assert.equal(r.body.limit_count, 2);
  assert.equal(r.body.fever_threshold, 37);
  assert.equal(r.body.version, 2);
  // limit_count 0 alone clears the period too
  r = await cc.patch(`/api/v1/venues/${v.id}`, { limit_count: 0 });
  assert.equal(r.status, 200, r.text);
  assert.equal(r.body.limit_hours, 0);
  // moving to another place moves the region with it
  r = await cc.patch(`/api/v1/venues/${v.id}`, { place_id: placeS2.id });
  assert.equal(r.status, 200, r.text);
  assert.equal(r.body.region_code, DC_S2_C1);
  assert.equal(r.body.credit_code, null);
  expectError(await cc.patch(`/api/v1/venues/${v.id}`, {}), 400, 'empty_update');
  expectError(await cc.patch(`/api/v1/venues/${v.id}`, { kind: 'x' }), 400, 'invalid_value', 'kind');
  expectError(await cc.patch(`/api/v1/venues/${v.id}`, { place_id: placeWest.id }), 400, 'invalid_place', 'place_id');
  expectError(await cc.patch(`/api/v1/venues/${v.id}`, { region_code: DC_S1_C1 }), 400, 'invalid_region', 'region_code');
  expectError(await cc.patch(`/api/v1/venues/${v.id}`, { name: null }), 400, 'invalid_type', 'name');
  expectError(await cc.patch(`/api/v1/venues/${v.id}`, { limit_hours: 3 }), 400, 'invalid_value', 'limit_hours');
  assert.equal((await cc.patch('/api/v1/venues/999999999', { name: 'x' })).status, 404);
  assert.equal((await cc.patch('/api/v1/venues/abc', { name: 'x' })).status, 404);
  assert.equal((await cc.get(`/api/v1/venues/${v.id}`)).body.version, 4);
  const audit = await auditEntries(auditor, 'venue.update', v.id);
  assert.equal(audit.length, 3);
});

test('list: filters, sort, paging, CSV', async () => {
  await create({ name: 'LIST_甲门', kind: 'shop' });
  await create({ name: 'LIST_乙门', kind: 'office', enabled: false });
  let r = await cc.get('/api/v1/venues?q=LIST_&sort=name');
  assert.equal(r.status, 200, r.text);
  assert.deepEqual(r.body.items.map((x) => x.name), ['LIST_乙门', 'LIST_甲门'].sort());
  r = await cc.get('/api/v1/venues?q=LIST_&kind=shop');
  assert.deepEqual(r.body.items.map((x) => x.name), ['LIST_甲门']);
  r = await cc.get('/api/v1/venues?q=LIST_&enabled=0');
  assert.deepEqual(r.body.items.map((x) => x.name), ['LIST_乙门']);
  r = await cc.get(`/api/v1/venues?place_id=${placeS2.id}`);
  assert.ok(r.body.items.length > 0 && r.body.items.every((x) => x.place_id === placeS2.id), r.text);
  assert.ok(r.body.total < (await cc.get('/api/v1/venues')).body.total);
  r = await cc.get(`/api/v1/venues?region_code=${DC_S2_C1}`);
  assert.ok(r.body.items.length && r.body.items.every((x) => x.region_code === DC_S2_C1));
  r = await cc.get('/api/v1/venues?page=1&page_size=2');
  assert.equal(r.body.items.length, 2);
  assert.equal(r.body.page_size, 2);
  assert.ok(r.body.total > 2);
  r = await cc.get('/api/v1/venues?q=%25');
  assert.equal(r.body.total, 0);
  for (const [q, field] of [['kind=x', 'kind'], ['enabled=2', 'enabled'], ['sort=secret', 'sort'],
    ['format=xml', 'format'], ['page_size=0', 'page_size'], ['place_id=x', 'place_id'],
    ['region_code=99', 'region_code']]) {
    r = await cc.get('/api/v1/venues?' + q);
    assert.equal(r.status, 400, q);
    assert.equal(r.body.error.field, field, q);
  }
  r = await cc.get('/api/v1/venues?q=LIST_&format=csv&sort=name');
  assert.equal(r.status, 200);
  assert.match(r.headers.get('content-type'), /text\/csv/);
  const lines = r.text.replace(/^\ufeff/, '').trim().split('\r\n');
  assert.match(lines[0], /^编号,点位名称,点位类型/);
  assert.equal(lines.length, 3);
  assert.match(lines[1], /LIST_乙门,办公场所/);
});

test('venue code: token, PNG decoded by zbarimg, verified by the server', async () => {
  const v = await create({ name: '扫码测试门' });
  const c = await cc.get(`/api/v1/venues/${v.id}/code`);
  assert.equal(c.status, 200, c.text);
  assert.equal(c.body.venue_id, v.id);
  assert.equal(c.body.code_version, 1);
  assert.equal(c.body.credit_code, enterprise.credit_code);
  const token = c.body.token;
  assert.match(token, /^FK1\.[A-Z2-7]+\.[A-Z2-7]{16}$/);
  assert.ok(token.length < 80, token);
  // the same version gives the same token every time (printed copies match)
  assert.equal((await cc.get(`/api/v1/venues/${v.id}/code`)).body.token, token);

  const png = await getBytes(cc, `/api/v1/venues/${v.id}/code.png`);
  assert.equal(png.status, 200);
  assert.equal(png.headers.get('content-type'), 'image/png');
  assert.deepEqual([...png.bytes.subarray(0, 8)], [0x89, 0x50, 0x4e, 0x47, 0x0d, 0x0a, 0x1a, 0x0a]);
  // the code is the address of the mobile scan page carrying the token (any
  // phone camera opens it); without FK_PUBLIC_ORIGIN, from the request's Host
  const url = `${ctx.url}/mobile/#/scan?v=${token}`;
  assert.equal(c.body.url, url);
  const decoded = zbar(png.bytes, 'venue.png');
  assert.equal(decoded, url);
  // behind a TLS proxy the address is https
  const tls = await fetch(ctx.url + `/api/v1/venues/${v.id}/code.png`, { headers: { cookie: cc.cookie, 'x-forwarded-proto': 'https' } });
  assert.equal(zbar(Buffer.from(await tls.arrayBuffer()), 'venue-tls.png'), url.replace(/^http:/, 'https:'));
  const small = await getBytes(cc, `/api/v1/venues/${v.id}/code.png?scale=3`);
  assert.ok(small.bytes.length < png.bytes.length);
  assert.equal(zbar(small.bytes, 'small.png'), url);
  for (const s of ['0', '33', 'x'])
    assert.equal((await cc.get(`/api/v1/venues/${v.id}/code.png?scale=${s}`)).status, 400, s);
  // printed in green or blue ink: still read back to the same token
  for (const [colour, rgb] of [['green', [0x0b, 0x6e, 0x3a]], ['blue', [0x1f, 0x4e, 0x9c]]]) {
    const img = await getBytes(cc, `/api/v1/venues/${v.id}/code.png?colour=${colour}`);
    assert.equal(img.status, 200, colour);
    assert.equal(zbar(img.bytes, `venue-${colour}.png`), url, colour);
    // the palette (PLTE) holds white and the ink
    const plte = img.bytes.indexOf(Buffer.from('PLTE'));
    assert.deepEqual([...img.bytes.subarray(plte + 7, plte + 10)], rgb, colour);
    const vec = await cc.get(`/api/v1/venues/${v.id}/code.svg?colour=${colour}`);
    assert.match(vec.text, new RegExp(`#${rgb.map((x) => x.toString(16).padStart(2, '0')).join('')}`, 'i'), colour);
  }
  for (const p of ['code.png', 'code.svg', 'poster'])
    expectError(await cc.get(`/api/v1/venues/${v.id}/${p}?colour=pink`), 400, 'invalid_parameter', 'colour');

  // any signed-in user may verify (a resident scanning anywhere): the doctor
  const r = await doctor.post('/api/v1/venue-codes/verify', { token: new URL(decoded.replace('#/scan', 'scan')).searchParams.get('v') });
  assert.equal(r.status, 200, r.text);
  assert.equal(r.body.venue_id, v.id);
  assert.equal(r.body.name, '扫码测试门');
  assert.equal(r.body.place_id, place.id);
  assert.equal(r.body.place_name, '多福巷小区');
  assert.equal(r.body.region_code, DC_S1_C1);
  assert.equal(r.body.credit_code, enterprise.credit_code);
  // and from another district too: venue codes are public
  assert.equal((await ccWest.post('/api/v1/venue-codes/verify', { token })).status, 200);

  const svg = await cc.get(`/api/v1/venues/${v.id}/code.svg`);
  assert.equal(svg.status, 200);
  assert.equal(svg.headers.get('content-type'), 'image/svg+xml');
  assert.match(svg.text, /^<svg xmlns="http:\/\/www.w3.org\/2000\/svg"/);
  assert.ok(!svg.text.includes('<script'));
});

test('verify: malformed, forged, unknown, revoked and disabled codes are refused', async () => {
  const v = await create({ name: '核验测试门' });
  const token = (await cc.get(`/api/v1/venues/${v.id}/code`)).body.token;
  const verify = (t) => doctor.post('/api/v1/venue-codes/verify', { token: t });

  expectError(await verify('hello'), 400, 'token_malformed', 'token');
  expectError(await verify(''), 400, 'required', 'token');
  expectError(await verify(token.toLowerCase()), 400, 'token_malformed', 'token');
  expectError(await verify(token + 'A'), 400, 'token_malformed', 'token');
  expect400(await doctor.post('/api/v1/venue-codes/verify', { token: 5 }), 'invalid_type');
  expect400(await doctor.post('/api/v1/venue-codes/verify', {}), 'required');
  expect400(await doctor.post('/api/v1/venue-codes/verify', { token, extra: 1 }), 'unknown_field');
  // every character of the token changed: never accepted
  for (let i = 4; i < token.length; i++) {
    if (token[i] === '.') continue;
    const t = token.slice(0, i) + (token[i] === 'A' ? 'B' : 'A') + token.slice(i + 1);
    const r = await verify(t);
    assert.equal(r.status, 400, `position ${i}: ${r.text}`);
    assert.ok(['token_forged', 'token_malformed'].includes(r.body.error.code), r.text);
  }
  // a flipped tag character is forged, not malformed
  const last = token.length - 1;
  const forged = token.slice(0, last) + (token[last] === 'A' ? 'B' : 'A');
  expectError(await verify(forged), 400, 'token_forged', 'token');

  // regenerate: the old code is revoked, the new one works
  let r = await cc.post(`/api/v1/venues/${v.id}/code/regenerate`);
  assert.equal(r.status, 200, r.text);
  assert.equal(r.body.code_version, 2);
  assert.notEqual(r.body.token, token);
  const fresh = r.body.token;
  expectError(await verify(token), 400, 'venue_code_revoked', 'token');
  assert.equal((await verify(fresh)).status, 200);
  assert.equal((await cc.get(`/api/v1/venues/${v.id}`)).body.code_version, 2);
  const audit = await auditEntries(auditor, 'venue.code_regenerate', v.id);
  assert.equal(audit.length, 1);

  // disabled, then deleted
  assert.equal((await cc.patch(`/api/v1/venues/${v.id}`, { enabled: false })).status, 200);
  expectError(await verify(fresh), 409, 'venue_disabled');
  assert.equal((await cc.patch(`/api/v1/venues/${v.id}`, { enabled: true })).status, 200);
  assert.equal((await cc.del(`/api/v1/venues/${v.id}`)).status, 204);
  expectError(await verify(fresh), 404, 'unknown_venue');
  assert.equal((await cc.get(`/api/v1/venues/${v.id}`)).status, 404);
  assert.equal((await cc.get(`/api/v1/venues/${v.id}/code.png`)).status, 404);
  assert.equal((await cc.del(`/api/v1/venues/${v.id}`)).status, 404);
});

function expect400(r, code) {
  assert.equal(r.status, 400, r.text);
  assert.equal(r.body.error.code, code, r.text);
}

test('poster: a self-contained A4 page with the QR, names escaped, no script', async () => {
  const v = await create({ name: '<b>海报</b>测试门 & "引号"' });
  const token = (await cc.get(`/api/v1/venues/${v.id}/code`)).body.token;
  const r = await cc.get(`/api/v1/venues/${v.id}/poster`);
  assert.equal(r.status, 200);
  assert.match(r.headers.get('content-type'), /^text\/html; charset=utf-8/);
  const csp = r.headers.get('content-security-policy');
  assert.match(csp, /style-src 'self' 'unsafe-inline'/);
  assert.ok(!/script-src[^;]*unsafe-inline/.test(csp));
  const html = r.text;
  assert.match(html, /^<!doctype html>/);
  assert.ok(html.includes('请使用手机扫码登记'));
  assert.ok(html.includes('@page{size:A4'));
  assert.ok(html.includes('&lt;b&gt;海报&lt;/b&gt;测试门 &amp; &quot;引号&quot;'));
  assert.ok(!html.includes('<b>海报'));
  assert.ok(html.includes('多福巷小区'));
  assert.ok(html.includes(enterprise.credit_code));
  assert.ok(html.includes(token));
  assert.match(html, /<svg xmlns="http:\/\/www.w3.org\/2000\/svg"/);
  assert.ok(!/<script|src=|href=|url\(/i.test(html), 'nothing fetched or run');
});

test('delete: soft, audited, gone from lists', async () => {
  const v = await create({ name: '删除测试门' });
  assert.equal((await cc.del(`/api/v1/venues/${v.id}`)).status, 204);
  assert.equal((await cc.get(`/api/v1/venues/${v.id}`)).status, 404);
  const r = await cc.get('/api/v1/venues?q=删除测试门');
  assert.equal(r.body.total, 0);
  assert.equal((await auditEntries(auditor, 'venue.delete', v.id)).length, 1);
});

test('moving a region re-codes the venues under it', async () => {
  const v = await create({ name: '迁移测试门', kind: 'market', place_id: placeS2.id });
  assert.equal(v.region_code, DC_S2_C1);
  const moved = '110101001009';
  const r = await cc.post(`/api/v1/regions/${DC_S2_C1}/move`, { code: moved });
  assert.equal(r.status, 200, r.text);
  const after = await cc.get(`/api/v1/venues/${v.id}`);
  assert.equal(after.status, 200, after.text);
  assert.equal(after.body.region_code, moved);
  // the code still verifies: it names the venue, not its region
  const token = (await cc.get(`/api/v1/venues/${v.id}/code`)).body.token;
  assert.equal((await doctor.post('/api/v1/venue-codes/verify', { token })).body.region_code, moved);
});

test('FK_PUBLIC_ORIGIN: venue codes point at the public address; a bad value stops the server', async () => {
  const pub = await startServer({
    env: { FK_PUBLIC_ORIGIN: 'https://fk.example.gov.cn/, http://10.0.0.7:8080' },
    setup: (c) => {
      c.must(['import', 'regions', writeTmp(c, 'city.csv', CITY_CSV)]);
      c.must(['user', 'add', '--username', 'cc_pub', '--password', PW, '--role', 'command_center', '--region', DC]);
    },
  });
  try {
    const c = pub.client();
    await c.login('cc_pub', PW);
    let r = await c.post('/api/v1/places', { name: '公网小区', kind: 'community', region_code: DC_S1_C1 });
    assert.equal(r.status, 201, r.text);
    r = await c.post('/api/v1/venues', { name: '公网东门', kind: 'community_gate', place_id: r.body.id });
    assert.equal(r.status, 201, r.text);
    const id = r.body.id;
    const { token, url } = (await c.get(`/api/v1/venues/${id}/code`)).body;
    assert.equal(url, `https://fk.example.gov.cn/mobile/#/scan?v=${token}`);
    const png = await fetch(pub.url + `/api/v1/venues/${id}/code.png`, { headers: { cookie: c.cookie } });
    assert.equal(zbar(Buffer.from(await png.arrayBuffer()), 'venue-public.png'), url);
  } finally {
    await pub.stop();
  }
  for (const bad of ['ftp://fk.example.gov.cn', 'javascript:alert(1)', 'https://fk.example.gov.cn/"><script>']) {
    let out;
    try {
      execFileSync(process.env.FK_BIN, ['serve'], {
        env: { ...ctx.env, FK_PORT: '0', FK_PUBLIC_ORIGIN: bad }, encoding: 'utf8', stdio: ['ignore', 'pipe', 'pipe'], timeout: 15000,
      });
    } catch (e) {
      out = e;
    }
    assert.ok(out && out.status > 0, bad); // a usage error, not a timeout
    assert.match(out.stderr, /FK_PUBLIC_ORIGIN/, bad);
  }
});
