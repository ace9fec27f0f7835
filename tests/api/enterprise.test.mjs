// Enterprises (/api/v1/enterprises): registration by unified social credit
// code (GB 32100), one live enterprise per code, sealed and masked personal
// fields, scope, audit, CSV, and the places an enterprise runs.
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import fs from 'node:fs';
import path from 'node:path';
import { startServer, CITY_CSV, writeTmp, creditCode, totpSecretFrom, sleep, onPostgres, waitForAudit, expectError, auditEntries, signedIn, startCityWith, CITY_STAFF } from './lib.mjs';

const PW = 'Enterprise-test-2024!';
let ctx, cc, ccWest, grid, doctor, anon, auditor;

const DC = '110101000000';
const DC_S1_C1 = '110101001001';
const DC_S2_C1 = '110101002001';
const XC_C1 = '110102001001';

let seq = 0;
// A fresh valid code: 17 digits with a running number, plus the check character.
const nextCode = () => creditCode('9111010' + String(++seq).padStart(10, '0'));

const base = () => ({
  name: '北京东华门贸易有限公司',
  credit_code: nextCode(),
  region_code: DC_S1_C1,
  contact_name: '李四',
  contact_phone: '13912345678',
  legal_rep: '王五六',
  legal_rep_phone: '13698765432',
  employees: 120,
  address: '东城区东华门大街8号',
  industry: '批发和零售业',
});

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
  const r = await client.post('/api/v1/enterprises', { ...base(), ...body });
  assert.equal(r.status, 201, r.text);
  return r.body;
}

async function total(client = cc, query = '') {
  const r = await client.get('/api/v1/enterprises' + query);
  assert.equal(r.status, 200, r.text);
  return r.body.total;
}

// Replace character i of s.
const setChar = (s, i, c) => s.slice(0, i) + c + s.slice(i + 1);

test('register an enterprise: 201, personal fields masked, code upper-cased', async () => {
  const code = creditCode('91110101ma0000a0k'.toUpperCase());
  const r = await cc.post('/api/v1/enterprises', { ...base(), credit_code: code.toLowerCase() });
  assert.equal(r.status, 201, r.text);
  const e = r.body;
  assert.match(e.id, /^\d+$/);
  assert.equal(e.credit_code, code);
  assert.equal(e.name, '北京东华门贸易有限公司');
  assert.equal(e.region_code, DC_S1_C1);
  assert.equal(e.region_name, '多福巷社区');
  assert.equal(e.contact_name, '李*');
  assert.equal(e.contact_phone, '139****5678');
  assert.equal(e.legal_rep, '王*六');
  assert.equal(e.legal_rep_phone, '136****5432');
  assert.equal(e.employees, 120);
  assert.equal(e.address, '东城区东华门大街8号');
  assert.equal(e.industry, '批发和零售业');
  assert.equal(e.version, 1);
  assert.equal(typeof e.created_at, 'number');

  const minimal = await cc.post('/api/v1/enterprises', { name: '最简企业', credit_code: nextCode(), region_code: DC });
  assert.equal(minimal.status, 201, minimal.text);
  assert.equal(minimal.body.contact_name, null);
  assert.equal(minimal.body.legal_rep_phone, null);
  assert.equal(minimal.body.employees, 0);

  const audit = await auditEntries(auditor, 'enterprise.create', e.id);
  assert.equal(audit.length, 1);
  assert.ok(!JSON.stringify(audit).includes('13912345678'));
});

test('invalid credit codes are refused: check character, I/O/Z/S/V, length', async () => {
  const before = await total();
  const good = nextCode();
  const a = '0123456789ABCDEFGHJKLMNPQRTUWXY';
  const wrongCheck = setChar(good, 17, a[(a.indexOf(good[17]) + 1) % a.length]);
  const cases = [wrongCheck, good.slice(0, 17), good + '0', good.slice(0, 10), 'ABCDEFGHJKLMNPQRTU', '91110101MA00000-0X'];
  for (const letter of ['I', 'O', 'Z', 'S', 'V']) cases.push(setChar(good, 10, letter));
  for (const letter of ['I', 'O', 'Z', 'S', 'V']) cases.push(setChar(good, 17, letter));
  cases.push('中华人民共和国统一社会信用代'); // 14 characters, 42 bytes
  cases.push('9'.repeat(40), good + ' ' + good);
  cases.push('９１１１０１０１ＭＡ００００００Ｘ'); // full-width
  for (const credit_code of cases) {
    const r = await cc.post('/api/v1/enterprises', { ...base(), credit_code });
    expectError(r, 400, 'invalid_credit_code', 'credit_code');
  }
  expectError(await cc.post('/api/v1/enterprises', { ...base(), credit_code: '' }), 400, 'required', 'credit_code');
  expectError(await cc.post('/api/v1/enterprises', { ...base(), credit_code: 91110101 }), 400, 'invalid_type', 'credit_code');
  assert.equal(await total(), before);
});

test('bad input is refused with the field and changes nothing', async () => {
  const before = await total();
  const b = base();
  const cases = [
    [{ ...b, employees: '12' }, 'invalid_type', 'employees'],
    [{ ...b, employees: -1 }, 'out_of_range', 'employees'],
    [{ ...b, employees: 2.5 }, 'invalid_type', 'employees'],
    [{ ...b, name: ['x'] }, 'invalid_type', 'name'],
    [{ ...b, name: undefined }, 'required', 'name'],
    [{ ...b, name: ' ' }, 'required', 'name'],
    [{ ...b, region_code: undefined }, 'required', 'region_code'],
    [{ ...b, credit_code: undefined }, 'required', 'credit_code'],
    [{ ...b, boss: '赵六' }, 'unknown_field', 'boss'],
    [{ ...b, contact_phone: '1391234567' }, 'invalid_phone', 'contact_phone'],
    [{ ...b, legal_rep_phone: '02012345678' }, 'invalid_phone', 'legal_rep_phone'],
    [{ ...b, legal_rep_phone: '+8613912345678' }, 'invalid_phone', 'legal_rep_phone'],
    [{ ...b, legal_rep: 'x'.repeat(51) }, 'too_long', 'legal_rep'],
    [{ ...b, region_code: XC_C1 }, 'invalid_region', 'region_code'],
    [{ ...b, region_code: '999999999999' }, 'invalid_region', 'region_code'],
    [{ ...b, region_code: 'dongcheng' }, 'invalid_region', 'region_code'],
  ];
  for (const [body, code, field] of cases) expectError(await cc.post('/api/v1/enterprises', body), 400, code, field);
  expectError(await cc.post('/api/v1/enterprises', '{"name":"x"'), 400, 'invalid_json');
  expectError(await cc.post('/api/v1/enterprises', '"just a string"'), 400, 'invalid_json');
  assert.equal(await total(), before);
});

test('one enterprise per credit code: 409 with existing_id inside scope only', async () => {
  const e = await create({ name: '重复测试企业' });
  const dup = await cc.post('/api/v1/enterprises', { ...base(), credit_code: e.credit_code });
  expectError(dup, 409, 'duplicate_enterprise');
  assert.equal(dup.body.error.existing_id, e.id);
  const lower = await cc.post('/api/v1/enterprises', { ...base(), credit_code: e.credit_code.toLowerCase() });
  expectError(lower, 409, 'duplicate_enterprise');
  assert.equal(lower.body.error.existing_id, e.id);
  // another district learns that the code is taken, not which record holds it
  const west = await ccWest.post('/api/v1/enterprises', { ...base(), credit_code: e.credit_code, region_code: XC_C1 });
  expectError(west, 409, 'duplicate_enterprise');
  assert.equal(west.body.error.existing_id, undefined);
  assert.equal(await total(ccWest), 0);
  // PATCH onto a taken code
  const other = await create({ name: '另一企业' });
  const p = await cc.patch(`/api/v1/enterprises/${other.id}`, { credit_code: e.credit_code });
  expectError(p, 409, 'duplicate_enterprise');
  assert.equal(p.body.error.existing_id, e.id);
  assert.equal((await cc.get(`/api/v1/enterprises/${other.id}`)).body.credit_code, other.credit_code);
  // re-saving one's own code is no conflict
  const same = await cc.patch(`/api/v1/enterprises/${e.id}`, { credit_code: e.credit_code.toLowerCase() });
  assert.equal(same.status, 200, same.text);
  // after deletion the code is free again
  assert.equal((await cc.del(`/api/v1/enterprises/${e.id}`)).status, 204);
  const again = await cc.post('/api/v1/enterprises', { ...base(), credit_code: e.credit_code });
  assert.equal(again.status, 201, again.text);
  assert.notEqual(again.body.id, e.id);

  const audit = await auditEntries(auditor, 'enterprise.create');
  assert.ok(audit.some((x) => x.result === 'duplicate_enterprise'));
});

test('GET one: masked, reveal=1 for person.reveal only, audited', async () => {
  const e = await create({ name: '揭示企业' });
  const g = await cc.get(`/api/v1/enterprises/${e.id}`);
  assert.equal(g.status, 200);
  assert.equal(g.body.legal_rep, '王*六');
  const full = await cc.get(`/api/v1/enterprises/${e.id}?reveal=1`);
  assert.equal(full.status, 200);
  assert.equal(full.body.contact_name, '李四');
  assert.equal(full.body.contact_phone, '13912345678');
  assert.equal(full.body.legal_rep, '王五六');
  assert.equal(full.body.legal_rep_phone, '13698765432');
  const inGrid = await create({ name: '网格企业', region_code: DC_S1_C1 });
  expectError(await grid.get(`/api/v1/enterprises/${inGrid.id}?reveal=1`), 403, 'reveal_forbidden', 'reveal');
  assert.equal((await grid.get(`/api/v1/enterprises/${inGrid.id}`)).body.contact_phone, '139****5678');
  assert.equal((await cc.get('/api/v1/enterprises/0')).status, 404);
  assert.equal((await cc.get('/api/v1/enterprises/99999')).status, 404);

  assert.equal((await auditEntries(auditor, 'enterprise.read', e.id)).length, 2);
  const rev = await auditEntries(auditor, 'enterprise.reveal', e.id);
  assert.equal(rev.length, 1);
  assert.ok(!rev[0].detail.includes('139'));
});

test('PATCH: partial update, null clears, failures change nothing', async () => {
  const e = await create({ name: '修改企业' });
  const r = await cc.patch(`/api/v1/enterprises/${e.id}`, { employees: 0, legal_rep_phone: null, industry: '制造业' });
  assert.equal(r.status, 200, r.text);
  assert.equal(r.body.employees, 0);
  assert.equal(r.body.legal_rep_phone, null);
  assert.equal(r.body.industry, '制造业');
  assert.equal(r.body.legal_rep, '王*六');
  assert.equal(r.body.version, 2);

  const before = (await cc.get(`/api/v1/enterprises/${e.id}?reveal=1`)).body;
  const bad = [
    [{ credit_code: setChar(e.credit_code, 17, e.credit_code[17] === '0' ? '1' : '0') }, 'invalid_credit_code', 'credit_code'],
    [{ credit_code: setChar(e.credit_code, 3, 'O') }, 'invalid_credit_code', 'credit_code'],
    [{ employees: -5 }, 'out_of_range', 'employees'],
    [{ contact_phone: '110' }, 'invalid_phone', 'contact_phone'],
    [{ name: '' }, 'required', 'name'],
    [{ region_code: XC_C1 }, 'invalid_region', 'region_code'],
    [{ name: '新', employees: 'many' }, 'invalid_type', 'employees'],
    [{ credit: 'x' }, 'unknown_field', 'credit'],
    [{}, 'empty_update', undefined],
  ];
  for (const [body, code, field] of bad) expectError(await cc.patch(`/api/v1/enterprises/${e.id}`, body), 400, code, field);
  const after = (await cc.get(`/api/v1/enterprises/${e.id}?reveal=1`)).body;
  assert.deepEqual(after, before);
  assert.equal((await auditEntries(auditor, 'enterprise.update', e.id)).length, 1);
});

test('SQL metacharacters are stored verbatim', async () => {
  const names = ["Robert'); DROP TABLE enterprises;--", '50%_off\\trading', '"quoted", name'];
  for (const name of names) {
    const e = await create({ name, address: name, industry: name.slice(0, 50) });
    assert.equal(e.name, name);
    assert.equal((await cc.get(`/api/v1/enterprises/${e.id}`)).body.address, name);
  }
  const r = await cc.get('/api/v1/enterprises?q=' + encodeURIComponent('%_'));
  assert.deepEqual(r.body.items.map((x) => x.name), ['50%_off\\trading']);
  const t = await cc.get('/api/v1/enterprises?q=' + encodeURIComponent('DROP TABLE'));
  assert.deepEqual(t.body.items.map((x) => x.name), ["Robert'); DROP TABLE enterprises;--"]);
  const csv = await cc.get('/api/v1/enterprises?format=csv&q=' + encodeURIComponent('quoted'));
  assert.ok(csv.text.includes('"""quoted"", name"'), csv.text);
});

test('lists: filters, paging, sorting, CSV', async () => {
  const codes = [];
  for (let i = 1; i <= 4; i++) {
    const e = await create({ name: `排序企业${i}`, employees: i * 10, region_code: DC_S2_C1 });
    codes.push(e.credit_code);
  }
  const all = await cc.get(`/api/v1/enterprises?region_code=${DC_S2_C1}&sort=-employees`);
  assert.equal(all.status, 200);
  assert.deepEqual(all.body.items.map((x) => x.employees), [40, 30, 20, 10]);
  const page = await cc.get(`/api/v1/enterprises?region_code=${DC_S2_C1}&sort=name&page=2&page_size=3`);
  assert.equal(page.body.total, 4);
  assert.deepEqual(page.body.items.map((x) => x.name), ['排序企业4']);
  const byCode = await cc.get(`/api/v1/enterprises?credit_code=${codes[2].toLowerCase()}`);
  assert.equal(byCode.body.total, 1);
  assert.equal(byCode.body.items[0].name, '排序企业3');
  const q = await cc.get('/api/v1/enterprises?q=' + encodeURIComponent('排序企业'));
  assert.equal(q.body.total, 4);
  assert.equal(q.body.items[0].name, '排序企业4', 'newest first');
  assert.equal((await cc.get('/api/v1/enterprises?region_code=110101001000&q=排序')).body.total, 0);

  expectError(await cc.get('/api/v1/enterprises?credit_code=ABC'), 400, 'invalid_credit_code', 'credit_code');
  expectError(await cc.get('/api/v1/enterprises?sort=-password'), 400, 'invalid_parameter', 'sort');
  expectError(await cc.get(`/api/v1/enterprises?region_code=${XC_C1}`), 400, 'invalid_region', 'region_code');
  expectError(await cc.get('/api/v1/enterprises?page_size=0'), 400, 'invalid_parameter', 'page_size');

  const csv = await cc.get(`/api/v1/enterprises?format=csv&region_code=${DC_S2_C1}&sort=name`);
  assert.equal(csv.status, 200);
  assert.match(csv.headers.get('content-type'), /^text\/csv/);
  assert.match(csv.headers.get('content-disposition'), /^attachment; filename="enterprises\.csv"/);
  const lines = csv.text.replace(/^\uFEFF/, '').trim().split('\r\n');
  assert.equal(lines[0], '编号,企业名称,统一社会信用代码,所属区划代码,所属区划,联系人,联系人手机,法定代表人,法定代表人手机,员工人数,办公地址,所属行业,创建时间,更新时间');
  assert.equal(lines.length, 5);
  assert.ok(lines[1].includes('排序企业1') && lines[1].includes(codes[0]));
  assert.ok(lines[1].includes('139****5678') && lines[1].includes('王*六'));
  assert.ok(!csv.text.includes('13912345678'));
  assert.match(lines[1], /,\d{4}-\d\d-\d\d \d\d:\d\d:\d\d,\d{4}-\d\d-\d\d \d\d:\d\d:\d\d$/);

  const audit = await auditEntries(auditor, 'enterprise.list');
  assert.ok(audit.some((x) => x.detail === 'format=csv count=4 total=4'));
  assert.ok(audit.some((x) => x.detail === 'count=1 total=4'));
});

// the staff phone's 企业查询 and 场所查询 (docs/web.md "Staff look-ups on the phone")
test('look-ups for the phone: industry contains, on both lists; region_path on a single record', async () => {
  const food = await create({ name: '行业筛选餐饮店', industry: '餐饮服务Food', region_code: DC_S2_C1 });
  await create({ name: '行业筛选制造厂', industry: '制造业', region_code: DC_S2_C1 });
  const inRegion = `region_code=${DC_S2_C1}&q=${encodeURIComponent('行业筛选')}`;
  assert.equal((await cc.get(`/api/v1/enterprises?${inRegion}`)).body.total, 2, 'the positive control: both without the filter');
  for (const path of ['/api/v1/enterprises', '/api/v1/resume-enterprises']) {
    const only = await cc.get(`${path}?${inRegion}&industry=${encodeURIComponent('餐饮')}`);
    assert.equal(only.status, 200, only.text);
    assert.deepEqual(only.body.items.map((x) => x.name), ['行业筛选餐饮店'], path);
    // contains, case-insensitively, and literally (a % is no wildcard)
    assert.equal((await cc.get(`${path}?${inRegion}&industry=food`)).body.total, 1, path);
    assert.equal((await cc.get(`${path}?${inRegion}&industry=%25`)).body.total, 0, path);
    assert.equal((await cc.get(`${path}?${inRegion}&industry=${encodeURIComponent('  ')}`)).body.total, 2, `${path}: blank is no filter`);
    expectError(await cc.get(`${path}?industry=${encodeURIComponent('业'.repeat(51))}`), 400, 'invalid_parameter', 'industry');
  }
  // the grid worker of 多福巷社区 sees neither (隆福寺社区 is another community)
  assert.equal((await grid.get(`/api/v1/enterprises?q=${encodeURIComponent('行业筛选')}&industry=${encodeURIComponent('餐饮')}`)).body.total, 0);

  const one = await cc.get(`/api/v1/enterprises/${food.id}`);
  assert.equal(one.body.region_path, '景山街道 · 隆福寺社区');
  assert.equal(one.body.region_name, '隆福寺社区');
  const place = await cc.post('/api/v1/places', { name: '路径小区', kind: 'community', region_code: DC_S2_C1 });
  assert.equal(place.status, 201, place.text);
  const got = await cc.get(`/api/v1/places/${place.body.id}`);
  assert.equal(got.body.region_path, '景山街道 · 隆福寺社区');
});

test('the places of an enterprise', async () => {
  const e = await create({ name: '物业服务公司' });
  const mk = (name, region_code, extra = {}) =>
    cc.post('/api/v1/places', { name, kind: 'community', region_code, enterprise_id: e.id, ...extra });
  assert.equal((await mk('物业小区一', DC_S1_C1)).status, 201);
  assert.equal((await mk('物业小区二', DC_S2_C1, { kind: 'apartment' })).status, 201);
  assert.equal((await cc.post('/api/v1/places', { name: '无关小区', kind: 'community', region_code: DC_S1_C1 })).status, 201);
  const r = await cc.get(`/api/v1/enterprises/${e.id}/places?sort=name`);
  assert.equal(r.status, 200, r.text);
  assert.equal(r.body.total, 2);
  assert.deepEqual(r.body.items.map((p) => p.name), ['物业小区一', '物业小区二']);
  assert.ok(r.body.items.every((p) => p.credit_code === e.credit_code && p.enterprise_id === e.id));
  assert.equal((await cc.get(`/api/v1/enterprises/${e.id}/places?kind=apartment`)).body.total, 1);
  // the grid worker sees the enterprise but only the places of their community
  const g = await grid.get(`/api/v1/enterprises/${e.id}/places`);
  assert.equal(g.status, 200);
  assert.deepEqual(g.body.items.map((p) => p.name), ['物业小区一']);
  // another district: 404, as for an unknown enterprise
  expectError(await ccWest.get(`/api/v1/enterprises/${e.id}/places`), 404, 'not_found');
  expectError(await cc.get('/api/v1/enterprises/42/places'), 404, 'not_found');
  assert.equal((await doctor.get(`/api/v1/enterprises/${e.id}/places`)).status, 403);
  assert.equal((await anon.get(`/api/v1/enterprises/${e.id}/places`)).status, 401);
  // a deleted enterprise no longer shows on its places
  const placeId = r.body.items[0].id;
  assert.equal((await cc.del(`/api/v1/enterprises/${e.id}`)).status, 204);
  const p = await cc.get(`/api/v1/places/${placeId}`);
  assert.equal(p.body.enterprise_id, null);
  assert.equal(p.body.credit_code, null);
  assert.equal((await cc.get(`/api/v1/enterprises/${e.id}/places`)).status, 404);
});

test('DELETE is soft: 204, then 404, not listed; audited', async () => {
  const e = await create({ name: '待注销企业' });
  assert.equal((await cc.del(`/api/v1/enterprises/${e.id}`)).status, 204);
  assert.equal((await cc.get(`/api/v1/enterprises/${e.id}`)).status, 404);
  assert.equal((await cc.patch(`/api/v1/enterprises/${e.id}`, { name: 'x' })).status, 404);
  assert.equal((await cc.del(`/api/v1/enterprises/${e.id}`)).status, 404);
  assert.equal((await cc.get(`/api/v1/enterprises?credit_code=${e.credit_code}`)).body.total, 0);
  // the delete, and the refused second one (404: one policy, security/audit.h)
  const del = await waitForAudit(auditor, `action=enterprise.delete&object_id=${e.id}`, (x) => x.result === 'not_found');
  assert.deepEqual(del.map((x) => x.result).sort(), ['not_found', 'ok']);
});

test('scope: another district gets 404 and empty lists, and changes nothing', async () => {
  const e = await create({ name: '东城企业', region_code: DC_S2_C1 });
  for (const r of [
    await ccWest.get(`/api/v1/enterprises/${e.id}`),
    await ccWest.patch(`/api/v1/enterprises/${e.id}`, { name: '改名' }),
    await ccWest.del(`/api/v1/enterprises/${e.id}`),
  ]) expectError(r, 404, 'not_found');
  assert.deepEqual((await ccWest.get(`/api/v1/enterprises/${e.id}`)).body, (await ccWest.get('/api/v1/enterprises/777')).body);
  const l = await ccWest.get('/api/v1/enterprises');
  assert.equal(l.body.total, 0);
  assert.deepEqual(l.body.items, []);
  assert.equal((await ccWest.get(`/api/v1/enterprises?credit_code=${e.credit_code}`)).body.total, 0);
  // the grid worker's community does not contain 隆福寺社区
  assert.equal((await grid.get(`/api/v1/enterprises/${e.id}`)).status, 404);
  const g = await cc.get(`/api/v1/enterprises/${e.id}`);
  assert.equal(g.body.name, '东城企业');
  assert.equal(g.body.version, 1);
});

test('401 without a session, 403 without the permission', async () => {
  const e = await create({ name: '权限企业' });
  const before = await total();
  for (const r of [
    await anon.get('/api/v1/enterprises'),
    await anon.get(`/api/v1/enterprises/${e.id}`),
    await anon.post('/api/v1/enterprises', base()),
    await anon.patch(`/api/v1/enterprises/${e.id}`, { name: 'x' }),
    await anon.del(`/api/v1/enterprises/${e.id}`),
  ]) expectError(r, 401, 'unauthenticated');
  for (const r of [
    await grid.post('/api/v1/enterprises', base()),
    await grid.patch(`/api/v1/enterprises/${e.id}`, { name: 'x' }),
    await grid.del(`/api/v1/enterprises/${e.id}`),
    await doctor.get('/api/v1/enterprises'),
    await doctor.get(`/api/v1/enterprises/${e.id}`),
    await auditor.get('/api/v1/enterprises'),
  ]) assert.equal(r.status, 403, r.text);
  assert.equal(await total(), before);
  assert.equal((await cc.get(`/api/v1/enterprises/${e.id}`)).body.name, '权限企业');
});

test('personal data is sealed at rest (SQLite file and WAL hold no plain contact)', { skip: onPostgres && 'the SQLite files; tests/api/plaintext.test.mjs scans PostgreSQL' }, () => {
  const files = fs.readdirSync(ctx.dir).filter((f) => f.startsWith('fangkong.db')).map((f) => path.join(ctx.dir, f));
  assert.ok(files.length >= 1, 'the database file exists');
  const data = Buffer.concat(files.map((f) => fs.readFileSync(f)));
  for (const v of ['13912345678', '13698765432', '李四', '王五六']) assert.equal(data.indexOf(Buffer.from(v)), -1, `${v} found in plain text`);
  // the non-personal fields are plain, so the scan would have seen them
  assert.notEqual(data.indexOf(Buffer.from('东城区')), -1);
});
