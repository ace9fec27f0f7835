// Places (/api/v1/places): registry of communities, factories, dormitories,
// quarantine sites … with sealed, masked contacts, scope, audit and CSV.
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import fs from 'node:fs';
import path from 'node:path';
import { startServer, CITY_CSV, writeTmp, creditCode, totpSecretFrom, sleep, onPostgres, waitForAudit, expectError, auditEntries, signedIn, startCityWith, CITY_STAFF } from './lib.mjs';

const PW = 'Place-test-2024!';
let ctx, cc, ccWest, grid, doctor, anon, auditor;

const DC = '110101000000'; // 东城区
const DC_S1_C1 = '110101001001'; // 多福巷社区 (grid worker's community)
const DC_S2_C1 = '110101002001'; // 隆福寺社区
const XC_C1 = '110102001001'; // 府右街社区 (another district)

const base = {
  name: '多福巷小区',
  kind: 'community',
  region_code: DC_S1_C1,
  address: '东城区多福巷1号',
  area: 12500.5,
  households: 320,
  buildings: 8,
  contact_name: '张三丰',
  contact_phone: '13812345678',
  lng: 116.4074,
  lat: 39.9042,
};

before(async () => {
  ctx = await startCityWith(
    CITY_STAFF,
    PW,
  );
  ({ cc_dc: cc, cc_xc: ccWest, grid_dc: grid, doctor_dc: doctor, auditor } = ctx.as);
  anon = ctx.client();
});

after(async () => {
  await ctx?.stop();
});

async function create(body = {}, client = cc) {
  const r = await client.post('/api/v1/places', { ...base, ...body });
  assert.equal(r.status, 201, r.text);
  return r.body;
}

async function total(client = cc, query = '') {
  const r = await client.get('/api/v1/places' + query);
  assert.equal(r.status, 200, r.text);
  return r.body.total;
}

test('create a place: 201 with the record, contacts masked', async () => {
  const p = await create();
  assert.match(p.id, /^\d+$/);
  assert.equal(p.name, base.name);
  assert.equal(p.kind, 'community');
  assert.equal(p.kind_label, '小区');
  assert.equal(p.region_code, DC_S1_C1);
  assert.equal(p.region_name, '多福巷社区');
  assert.equal(p.address, base.address);
  assert.equal(p.area, 12500.5);
  assert.equal(p.households, 320);
  assert.equal(p.buildings, 8);
  assert.equal(p.contact_name, '张*丰');
  assert.equal(p.contact_phone, '138****5678');
  assert.equal(p.lng, 116.4074);
  assert.equal(p.lat, 39.9042);
  assert.equal(p.enterprise_id, null);
  assert.equal(p.credit_code, null);
  assert.equal(p.version, 1);
  assert.equal(typeof p.created_at, 'number');
  assert.ok(Math.abs(p.created_at - Date.now()) < 60000);
  assert.equal(p.updated_at, p.created_at);
});

test('every kind has its Chinese label; optional fields default', async () => {
  const labels = {
    community: '小区', urban_village: '城中村', park: '园区', property_company: '物业公司',
    factory: '工厂/厂房', rental_housing: '出租屋', apartment: '公寓楼', dormitory: '集体宿舍',
    market: '农贸市场', quarantine_site: '隔离点', office: '写字楼', school: '学校',
    hospital: '医院', other: '其他',
  };
  for (const [kind, label] of Object.entries(labels)) {
    const r = await cc.post('/api/v1/places', { name: `场所-${kind}`, kind, region_code: DC_S2_C1 });
    assert.equal(r.status, 201, r.text);
    assert.equal(r.body.kind_label, label);
    assert.equal(r.body.area, 0);
    assert.equal(r.body.households, 0);
    assert.equal(r.body.address, '');
    assert.equal(r.body.contact_name, null);
    assert.equal(r.body.contact_phone, null);
    assert.equal(r.body.lng, null);
    assert.equal(r.body.lat, null);
  }
});

test('GET one place: masked by default, full with reveal=1 for person.reveal, audited', async () => {
  const p = await create({ name: '揭示测试小区' });
  const r = await cc.get(`/api/v1/places/${p.id}`);
  assert.equal(r.status, 200);
  assert.equal(r.body.contact_phone, '138****5678');
  const full = await cc.get(`/api/v1/places/${p.id}?reveal=1`);
  assert.equal(full.status, 200);
  assert.equal(full.body.contact_name, '张三丰');
  assert.equal(full.body.contact_phone, '13812345678');
  // a grid worker may read places but not reveal personal data
  const p2 = await create({ name: '网格内小区' });
  expectError(await grid.get(`/api/v1/places/${p2.id}?reveal=1`), 403, 'reveal_forbidden', 'reveal');
  const g = await grid.get(`/api/v1/places/${p2.id}`);
  assert.equal(g.status, 200);
  assert.equal(g.body.contact_phone, '138****5678');
  expectError(await cc.get(`/api/v1/places/${p.id}?reveal=yes`), 400, 'invalid_parameter', 'reveal');

  const reads = await auditEntries(auditor, 'place.read', p.id);
  assert.ok(reads.length >= 2);
  const reveals = await auditEntries(auditor, 'place.reveal', p.id);
  assert.equal(reveals.length, 1);
  assert.equal(reveals[0].username, 'cc_dc');
  assert.ok(!JSON.stringify(reveals).includes('13812345678'), 'no personal data in the audit log');
  const creates = await auditEntries(auditor, 'place.create', p.id);
  assert.equal(creates.length, 1);
  assert.match(creates[0].detail, /fields=.*contact_phone/);
  assert.ok(!creates[0].detail.includes('13812345678'));
});

test('unknown and malformed ids are 404', async () => {
  expectError(await cc.get('/api/v1/places/123456789'), 404, 'not_found');
  assert.equal((await cc.get('/api/v1/places/abc')).status, 404);
  assert.equal((await cc.get('/api/v1/places/-1')).status, 404);
  assert.equal((await cc.patch('/api/v1/places/99999999999999', { name: 'x' })).status, 404);
  assert.equal((await cc.del('/api/v1/places/99999999999999')).status, 404);
});

test('bad input is refused with the field and changes nothing', async () => {
  const before = await total();
  const cases = [
    [{ ...base, households: '12' }, 'invalid_type', 'households'],
    [{ ...base, area: '12' }, 'invalid_type', 'area'],
    [{ ...base, name: 42 }, 'invalid_type', 'name'],
    [{ ...base, lng: 'east' }, 'invalid_type', 'lng'],
    [{ ...base, households: 1.5 }, 'invalid_type', 'households'],
    [{ ...base, colour: 'red' }, 'unknown_field', 'colour'],
    [{ ...base, name: undefined }, 'required', 'name'],
    [{ ...base, name: '' }, 'required', 'name'],
    [{ ...base, name: '   ' }, 'required', 'name'],
    [{ ...base, kind: undefined }, 'required', 'kind'],
    [{ ...base, region_code: undefined }, 'required', 'region_code'],
    [{ ...base, kind: 'castle' }, 'invalid_value', 'kind'],
    [{ ...base, contact_phone: '1381234567' }, 'invalid_phone', 'contact_phone'],
    [{ ...base, contact_phone: '12812345678' }, 'invalid_phone', 'contact_phone'],
    [{ ...base, contact_phone: '1381234567a' }, 'invalid_phone', 'contact_phone'],
    [{ ...base, contact_phone: '1'.repeat(40) }, 'invalid_phone', 'contact_phone'],
    [{ ...base, area: -1 }, 'out_of_range', 'area'],
    [{ ...base, area: -0.01 }, 'out_of_range', 'area'],
    [{ ...base, households: -1 }, 'out_of_range', 'households'],
    [{ ...base, buildings: -3 }, 'out_of_range', 'buildings'],
    [{ ...base, lng: 180.5 }, 'out_of_range', 'lng'],
    [{ ...base, lng: -181 }, 'out_of_range', 'lng'],
    [{ ...base, lat: 90.01 }, 'out_of_range', 'lat'],
    [{ ...base, lat: -91 }, 'out_of_range', 'lat'],
    [{ ...base, lat: undefined }, 'invalid_position', 'lat'],
    [{ ...base, lng: null }, 'invalid_position', 'lng'],
    [{ ...base, name: 'x'.repeat(101) }, 'too_long', 'name'],
    [{ ...base, region_code: '1101010010' }, 'invalid_region', 'region_code'],
    [{ ...base, region_code: '110101009001' }, 'invalid_region', 'region_code'], // does not exist
    [{ ...base, region_code: XC_C1 }, 'invalid_region', 'region_code'], // another district
    [{ ...base, region_code: '110100000000' }, 'invalid_region', 'region_code'], // above scope
    [{ ...base, enterprise_id: 'abc' }, 'invalid_enterprise', 'enterprise_id'],
    [{ ...base, enterprise_id: '123456789' }, 'invalid_enterprise', 'enterprise_id'],
  ];
  for (const [body, code, field] of cases) {
    const r = await cc.post('/api/v1/places', body);
    expectError(r, 400, code, field);
  }
  expectError(await cc.post('/api/v1/places', '{"name": "x", '), 400, 'invalid_json');
  expectError(await cc.post('/api/v1/places', '[1,2]'), 400, 'invalid_json');
  expectError(await cc.post('/api/v1/places', '{"name":"a","name":"b"}'), 400, 'invalid_json');
  const ct = await cc.post('/api/v1/places', JSON.stringify(base), { 'content-type': 'text/plain' });
  assert.equal(ct.status, 415);
  assert.equal(await total(), before, 'nothing was created');
});

test('SQL metacharacters and quotes are stored verbatim', async () => {
  const nasty = [
    "O'Brien\"; DROP TABLE places; --",
    "100%_折扣\\市场",
    "<script>alert(1)</script>",
    "' OR '1'='1",
  ];
  for (const name of nasty) {
    const p = await create({ name, address: name, kind: 'market' });
    assert.equal(p.name, name);
    const g = await cc.get(`/api/v1/places/${p.id}`);
    assert.equal(g.body.name, name);
    assert.equal(g.body.address, name);
  }
  // q is a literal substring: % and _ match only themselves
  const pct = await cc.get('/api/v1/places?q=' + encodeURIComponent('%_'));
  assert.equal(pct.status, 200);
  assert.deepEqual(pct.body.items.map((p) => p.name), ['100%_折扣\\市场']);
  const bs = await cc.get('/api/v1/places?q=' + encodeURIComponent('\\'));
  assert.deepEqual(bs.body.items.map((p) => p.name), ['100%_折扣\\市场']);
  const quote = await cc.get('/api/v1/places?q=' + encodeURIComponent("'1'='1"));
  assert.deepEqual(quote.body.items.map((p) => p.name), ["' OR '1'='1"]);
  const none = await cc.get('/api/v1/places?q=' + encodeURIComponent("x' OR 1=1 --"));
  assert.equal(none.body.total, 0);
});

test('lists: paging, filters, sorting', async () => {
  // a street of its own for predictable counts
  for (let i = 1; i <= 5; i++)
    await create({ name: `列表工厂${i}`, kind: 'factory', region_code: DC_S2_C1, area: i * 100 });
  const f = await cc.get('/api/v1/places?kind=factory&page_size=2&sort=name');
  assert.equal(f.status, 200);
  assert.equal(f.body.total, 6); // five here and one from the kinds test
  assert.equal(f.body.page, 1);
  assert.equal(f.body.page_size, 2);
  assert.equal(f.body.items.length, 2);
  const page3 = await cc.get('/api/v1/places?kind=factory&page_size=2&page=3&sort=name');
  assert.equal(page3.body.items.length, 2);
  const beyond = await cc.get('/api/v1/places?kind=factory&page_size=2&page=9');
  assert.equal(beyond.body.items.length, 0);
  assert.equal(beyond.body.total, 6);

  const byArea = await cc.get('/api/v1/places?q=列表工厂&sort=-area');
  assert.deepEqual(byArea.body.items.map((p) => p.area), [500, 400, 300, 200, 100]);
  const byName = await cc.get('/api/v1/places?q=列表工厂&sort=name');
  assert.deepEqual(byName.body.items.map((p) => p.name), ['列表工厂1', '列表工厂2', '列表工厂3', '列表工厂4', '列表工厂5']);
  const newest = await cc.get('/api/v1/places?q=列表工厂');
  assert.equal(newest.body.items[0].name, '列表工厂5', 'newest first by default');

  // region filter: a subtree inside the scope
  const street2 = await cc.get('/api/v1/places?region_code=110101002000&kind=factory');
  assert.equal(street2.body.total, 6);
  const street1 = await cc.get('/api/v1/places?region_code=110101001000&kind=factory');
  assert.equal(street1.body.total, 0);
  const community = await cc.get(`/api/v1/places?region_code=${DC_S2_C1}&q=列表`);
  assert.equal(community.body.total, 5);
  assert.ok(community.body.items.every((p) => p.contact_phone === '138****5678'));

  expectError(await cc.get('/api/v1/places?sort=secret'), 400, 'invalid_parameter', 'sort');
  expectError(await cc.get('/api/v1/places?kind=castle'), 400, 'invalid_parameter', 'kind');
  expectError(await cc.get('/api/v1/places?page_size=201'), 400, 'invalid_parameter', 'page_size');
  expectError(await cc.get('/api/v1/places?page=0'), 400, 'invalid_parameter', 'page');
  expectError(await cc.get(`/api/v1/places?region_code=${XC_C1}`), 400, 'invalid_region', 'region_code');
  expectError(await cc.get('/api/v1/places?region_code=abc'), 400, 'invalid_region', 'region_code');
  expectError(await cc.get('/api/v1/places?q=' + 'x'.repeat(51)), 400, 'invalid_parameter', 'q');
  expectError(await cc.get('/api/v1/places?format=xml'), 400, 'invalid_parameter', 'format');

  const lists = await auditEntries(auditor, 'place.list');
  assert.ok(lists.some((e) => /count=2 total=6/.test(e.detail)));
});

test('CSV export: BOM, Chinese header, masked contacts, attachment, audited', async () => {
  await create({ name: '=HYPERLINK("http://x")', kind: 'dormitory', region_code: DC_S2_C1 });
  const r = await cc.get(`/api/v1/places?format=csv&region_code=${DC_S2_C1}&kind=dormitory`);
  assert.equal(r.status, 200);
  assert.match(r.headers.get('content-type'), /^text\/csv/);
  assert.match(r.headers.get('content-disposition'), /^attachment; filename="places\.csv"/);
  const buf = Buffer.from(await (await fetch(ctx.url + `/api/v1/places?format=csv&region_code=${DC_S2_C1}&kind=dormitory`, { headers: { cookie: cc.cookie } })).arrayBuffer());
  assert.deepEqual([...buf.subarray(0, 3)], [0xef, 0xbb, 0xbf]);
  const lines = r.text.replace(/^\uFEFF/, '').trim().split('\r\n');
  assert.match(lines[0], /^编号,场所名称,场所类型,所属区划代码,所属区划,地址/);
  assert.equal(lines.length, 3); // header, the kinds test's dormitory, this one
  const row = lines.find((l) => l.includes('HYPERLINK'));
  assert.ok(row.includes('"\'=HYPERLINK(""http://x"")"'), 'a formula is neutralised: ' + row);
  assert.ok(row.includes('138****5678'));
  assert.ok(!r.text.includes('13812345678'));
  assert.ok(row.includes('集体宿舍'));
  const exports = await auditEntries(auditor, 'place.list');
  assert.ok(exports.some((e) => /format=csv count=2/.test(e.detail)));
});

test('PATCH updates the given fields only, clears with null, bumps the version', async () => {
  const p = await create({ name: '待修改小区' });
  const r = await cc.patch(`/api/v1/places/${p.id}`, { name: '已修改小区', households: 400, contact_phone: '13900001111' });
  assert.equal(r.status, 200, r.text);
  assert.equal(r.body.name, '已修改小区');
  assert.equal(r.body.households, 400);
  assert.equal(r.body.contact_phone, '139****1111');
  assert.equal(r.body.contact_name, '张*丰', 'untouched');
  assert.equal(r.body.area, base.area);
  assert.equal(r.body.lng, base.lng);
  assert.equal(r.body.version, 2);
  assert.ok(r.body.updated_at >= p.updated_at);

  const cleared = await cc.patch(`/api/v1/places/${p.id}`, { lng: null, lat: null, contact_name: null, address: null });
  assert.equal(cleared.status, 200, cleared.text);
  assert.equal(cleared.body.lng, null);
  assert.equal(cleared.body.lat, null);
  assert.equal(cleared.body.contact_name, null);
  assert.equal(cleared.body.address, '');
  assert.equal(cleared.body.version, 3);

  const moved = await cc.patch(`/api/v1/places/${p.id}`, { region_code: DC_S2_C1, kind: 'apartment', lng: 116.1, lat: 39.1 });
  assert.equal(moved.status, 200);
  assert.equal(moved.body.region_code, DC_S2_C1);
  assert.equal(moved.body.kind_label, '公寓楼');
  assert.equal(moved.body.lat, 39.1);

  const upd = await auditEntries(auditor, 'place.update', p.id);
  assert.equal(upd.length, 3);
  assert.ok(upd.some((e) => e.detail.includes('households')));
});

test('a failed PATCH changes nothing', async () => {
  const p = await create({ name: '不变小区' });
  const before = (await cc.get(`/api/v1/places/${p.id}?reveal=1`)).body;
  const bad = [
    [{ name: '' }, 'required', 'name'],
    [{ name: null }, 'invalid_type', 'name'],
    [{ area: -5 }, 'out_of_range', 'area'],
    [{ contact_phone: '12345' }, 'invalid_phone', 'contact_phone'],
    [{ lng: 200, lat: 10 }, 'out_of_range', 'lng'],
    [{ lng: 100 }, 'invalid_position', 'lat'],
    [{ kind: 'palace' }, 'invalid_value', 'kind'],
    [{ region_code: XC_C1 }, 'invalid_region', 'region_code'],
    [{ id: '1' }, 'unknown_field', 'id'],
    [{ version: 7 }, 'unknown_field', 'version'],
    [{ name: '新名字', households: -1 }, 'out_of_range', 'households'],
    [{}, 'empty_update', undefined],
  ];
  for (const [body, code, field] of bad) expectError(await cc.patch(`/api/v1/places/${p.id}`, body), 400, code, field);
  expectError(await cc.patch(`/api/v1/places/${p.id}`, '{"name":'), 400, 'invalid_json');
  const after = (await cc.get(`/api/v1/places/${p.id}?reveal=1`)).body;
  assert.deepEqual(after, before);
});

test('DELETE is soft: 204, then 404 everywhere, and not listed', async () => {
  const p = await create({ name: '待删除小区', kind: 'quarantine_site' });
  const listed = () => cc.get('/api/v1/places?kind=quarantine_site&q=' + encodeURIComponent('待删除'));
  assert.equal((await listed()).body.total, 1);
  const r = await cc.del(`/api/v1/places/${p.id}`);
  assert.equal(r.status, 204);
  assert.equal(r.text, '');
  assert.equal((await cc.get(`/api/v1/places/${p.id}`)).status, 404);
  assert.equal((await cc.patch(`/api/v1/places/${p.id}`, { name: 'x' })).status, 404);
  assert.equal((await cc.del(`/api/v1/places/${p.id}`)).status, 404);
  assert.equal((await listed()).body.total, 0);
  // the delete, and the refused second one (404: one policy, security/audit.h)
  const del = await waitForAudit(auditor, `action=place.delete&object_id=${p.id}`, (x) => x.result === 'not_found');
  assert.deepEqual(del.map((x) => x.result).sort(), ['not_found', 'ok']);
});

test('scope: another district sees nothing and can change nothing', async () => {
  const p = await create({ name: '东城专属小区', kind: 'school', region_code: DC_S2_C1 });
  for (const r of [
    await ccWest.get(`/api/v1/places/${p.id}`),
    await ccWest.get(`/api/v1/places/${p.id}?reveal=1`),
    await ccWest.patch(`/api/v1/places/${p.id}`, { name: '西城改名' }),
    await ccWest.del(`/api/v1/places/${p.id}`),
  ]) {
    expectError(r, 404, 'not_found');
  }
  // exactly the reply an unknown id gets
  const unknown = await ccWest.get('/api/v1/places/123');
  const foreign = await ccWest.get(`/api/v1/places/${p.id}`);
  assert.deepEqual(foreign.body, unknown.body);
  const l = await ccWest.get('/api/v1/places');
  assert.equal(l.status, 200);
  assert.equal(l.body.total, 0);
  assert.deepEqual(l.body.items, []);
  assert.equal((await ccWest.get('/api/v1/places?q=东城专属')).body.total, 0);
  expectError(await ccWest.get(`/api/v1/places?region_code=${DC}`), 400, 'invalid_region');
  const csv = await ccWest.get('/api/v1/places?format=csv');
  assert.equal(csv.text.replace(/^\uFEFF/, '').trim().split('\r\n').length, 1, 'header only');
  // still there, unchanged
  const g = await cc.get(`/api/v1/places/${p.id}`);
  assert.equal(g.body.name, '东城专属小区');
  assert.equal(g.body.version, 1);

  // the grid worker's scope is their community
  const inside = await create({ name: '网格可见', region_code: DC_S1_C1 });
  assert.equal((await grid.get(`/api/v1/places/${inside.id}`)).status, 200);
  assert.equal((await grid.get(`/api/v1/places/${p.id}`)).status, 404);
  const gl = await grid.get('/api/v1/places?page_size=200');
  assert.ok(gl.body.items.length > 0);
  assert.ok(gl.body.items.every((x) => x.region_code.startsWith(DC_S1_C1)));

  // the West district registers its own
  const w = await ccWest.post('/api/v1/places', { name: '府右街小区', kind: 'community', region_code: XC_C1 });
  assert.equal(w.status, 201, w.text);
  assert.equal((await cc.get(`/api/v1/places/${w.body.id}`)).status, 404);
  assert.equal((await ccWest.get('/api/v1/places')).body.total, 1);
});

test('401 without a session, 403 without the permission', async () => {
  const p = await create({ name: '权限小区' });
  const before = await total();
  for (const r of [
    await anon.get('/api/v1/places'),
    await anon.get(`/api/v1/places/${p.id}`),
    await anon.post('/api/v1/places', base),
    await anon.patch(`/api/v1/places/${p.id}`, { name: 'x' }),
    await anon.del(`/api/v1/places/${p.id}`),
  ]) {
    expectError(r, 401, 'unauthenticated');
  }
  // grid workers read places but do not maintain them
  for (const r of [
    await grid.post('/api/v1/places', base),
    await grid.patch(`/api/v1/places/${p.id}`, { name: 'x' }),
    await grid.del(`/api/v1/places/${p.id}`),
  ]) {
    assert.equal(r.status, 403, r.text);
  }
  // doctors have no place.read at all
  assert.equal((await doctor.get('/api/v1/places')).status, 403);
  assert.equal((await doctor.get(`/api/v1/places/${p.id}`)).status, 403);
  // the audit admin reads the log, not the registry
  assert.equal((await auditor.get('/api/v1/places')).status, 403);
  assert.equal(await total(), before);
  assert.equal((await cc.get(`/api/v1/places/${p.id}`)).body.name, '权限小区');
});

test('a place links to an enterprise in scope and shows its credit code', async () => {
  const code = creditCode('91110101MA0123456');
  const e = await cc.post('/api/v1/enterprises', { name: '多福巷社区居民委员会', credit_code: code, region_code: DC_S1_C1 });
  assert.equal(e.status, 201, e.text);
  const p = await create({ name: '挂接小区', enterprise_id: e.body.id });
  assert.equal(p.enterprise_id, e.body.id);
  assert.equal(p.enterprise_name, '多福巷社区居民委员会');
  assert.equal(p.credit_code, code);
  // unlink with null
  const u = await cc.patch(`/api/v1/places/${p.id}`, { enterprise_id: null });
  assert.equal(u.body.enterprise_id, null);
  // an enterprise of another district cannot be linked
  const w = await ccWest.post('/api/v1/enterprises', {
    name: '西城企业', credit_code: creditCode('91110102MA0000001'), region_code: XC_C1,
  });
  assert.equal(w.status, 201, w.text);
  expectError(await cc.patch(`/api/v1/places/${p.id}`, { enterprise_id: w.body.id }), 400, 'invalid_enterprise', 'enterprise_id');
  expectError(await cc.post('/api/v1/places', { ...base, enterprise_id: w.body.id }), 400, 'invalid_enterprise', 'enterprise_id');
});

test('personal data is sealed at rest (SQLite file and WAL hold no plain contact)', { skip: onPostgres && 'the SQLite files; tests/api/plaintext.test.mjs scans PostgreSQL' }, () => {
  const files = fs.readdirSync(ctx.dir).filter((f) => f.startsWith('fangkong.db')).map((f) => path.join(ctx.dir, f));
  assert.ok(files.length >= 1, 'the database file exists');
  const data = Buffer.concat(files.map((f) => fs.readFileSync(f)));
  for (const v of ['13812345678', '13900001111', '张三丰']) assert.equal(data.indexOf(Buffer.from(v)), -1, `${v} found in plain text`);
  // the non-personal fields are plain, so the scan would have seen them
  assert.notEqual(data.indexOf(Buffer.from('东城区')), -1);
});
