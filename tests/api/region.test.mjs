// Regions (/api/v1/regions): the multi-level grid, its tree, CSV/GeoJSON
// import with a row-level report, and the scope every user lives in.
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { startServer, CITY_CSV, writeTmp, totpSecretFrom, sleep, residentId, waitForAudit, expectError, auditEntries, signedIn, sqlRun } from './lib.mjs';

const PW = 'Region-test-2024!';
let ctx, cc, ccDc, grid, leader, auditor, anon;

const PROV = '110000000000';
const CITY = '110100000000';
const DC = '110101000000'; // 东城区
const DC_S1 = '110101001000'; // 东华门街道 (the grid worker's street)
const DC_S1_C1 = '110101001001'; // 多福巷社区
const DC_S1_C1_G1 = '110101001001001'; // 第一网格
const DC_S1_C1_G1_B1 = '110101001001001001'; // 1号楼
const DC_S2 = '110101002000'; // 景山街道
const DC_S2_C1 = '110101002001'; // 隆福寺社区 (a leaf a user lives in)
const XC = '110102000000'; // 西城区
const XC_S1 = '110102001000';

// A closed square ring around (lng, lat) with half-side h.
function square(lng, lat, h = 0.01) {
  return {
    type: 'Polygon',
    coordinates: [[[lng - h, lat - h], [lng + h, lat - h], [lng + h, lat + h], [lng - h, lat + h], [lng - h, lat - h]]],
  };
}

// Pad to the 18-digit form the audit log keys regions by.
const padded = (code) => code.padEnd(18, '0');

const staff = (username, secret) => signedIn(ctx, username, PW, secret);

before(async () => {
  ctx = await startServer({
    setup: (c) => {
      c.must(['import', 'regions', writeTmp(c, 'city.csv', CITY_CSV)]);
      const add = (u, role, region) =>
        c.must(['user', 'add', '--username', u, '--password', PW, '--role', role, '--region', region]);
      add('cc_prov', 'command_center', PROV);
      add('cc_dc', 'command_center', DC);
      add('gw_s1', 'grid_worker', DC_S1);
      add('leader', 'leader', DC);
      add('doc2', 'doctor', DC_S2_C1);
      c.auditSecret = totpSecretFrom(add('auditor', 'audit_admin', PROV));
    },
  });
  cc = await staff('cc_prov');
  ccDc = await staff('cc_dc');
  grid = await staff('gw_s1');
  leader = await staff('leader');
  auditor = await staff('auditor', ctx.auditSecret);
  anon = ctx.client();
});

after(async () => {
  await ctx?.stop();
});

async function total(client = cc, query = '') {
  const r = await client.get('/api/v1/regions' + query);
  assert.equal(r.status, 200, r.text);
  return r.body.total;
}

// ---- reading ---------------------------------------------------------------

test('GET one: the record with its level, parent, centre, children flag and boundary', async () => {
  const r = await cc.get(`/api/v1/regions/${DC_S1_C1}`);
  assert.equal(r.status, 200, r.text);
  assert.deepEqual(r.body, {
    code: DC_S1_C1,
    name: '多福巷社区',
    level: 'community',
    level_label: '社区',
    parent_code: DC_S1,
    center: null,
    has_children: true,
    boundary: null,
    path: '东华门街道 · 多福巷社区',
  });
  const p = await cc.get(`/api/v1/regions/${PROV}`);
  assert.equal(p.body.path, ''); // above the street: no path
  assert.equal(p.body.parent_code, null);
  assert.equal(p.body.level_label, '省');
  const b = await cc.get(`/api/v1/regions/${DC_S1_C1_G1_B1}`);
  assert.equal(b.status, 200);
  assert.equal(b.body.code, DC_S1_C1_G1_B1);
  assert.equal(b.body.level, 'building');
  assert.equal(b.body.parent_code, DC_S1_C1_G1);
  assert.equal(b.body.has_children, false);
});

test('GET one: unknown or malformed codes answer 404', async () => {
  for (const code of ['110101009000', 'abc', '110000001000', '11010100100', '110101001001000', "1' OR '1'='1"]) {
    const r = await cc.get(`/api/v1/regions/${encodeURIComponent(code)}`);
    expectError(r, 404, 'not_found');
  }
});

test('list: paging, filters, sorting; no boundary unless asked', async () => {
  let r = await cc.get('/api/v1/regions?page_size=5');
  assert.equal(r.status, 200, r.text);
  assert.equal(r.body.page, 1);
  assert.equal(r.body.page_size, 5);
  assert.ok(r.body.total >= 12);
  assert.equal(r.body.items.length, 5);
  assert.deepEqual(r.body.items.slice(0, 3).map((x) => x.code), [PROV, CITY, DC]);
  assert.ok(!('boundary' in r.body.items[0]));
  const all = r.body.total;
  r = await cc.get(`/api/v1/regions?page_size=5&page=${Math.ceil(all / 5)}`);
  assert.equal(r.body.items.length, all % 5 || 5);

  r = await cc.get(`/api/v1/regions?parent_code=${DC}`);
  assert.deepEqual(r.body.items.map((x) => x.code).filter((c) => c <= DC_S2), [DC_S1, DC_S2]);
  r = await cc.get('/api/v1/regions?level=community&page_size=200');
  assert.ok(r.body.items.every((x) => x.level === 'community'));
  assert.ok(r.body.items.some((x) => x.code === DC_S1_C1));
  const streets = await total(cc, '?level=street');
  assert.equal(await total(cc, '?level=' + encodeURIComponent('街道')), streets);
  r = await cc.get('/api/v1/regions?q=' + encodeURIComponent('社区'));
  assert.ok(r.body.items.length >= 3);
  assert.ok(r.body.items.every((x) => x.name.includes('社区')));
  r = await cc.get('/api/v1/regions?sort=-code&page_size=1');
  assert.ok(r.body.items[0].code > PROV);
  // name order is the database's collation: check it is a stable order, reversed by '-'
  r = await cc.get('/api/v1/regions?sort=name&page_size=200');
  const byName = r.body.items.map((x) => x.code);
  assert.equal(byName.length, all);
  assert.notDeepEqual(byName, [...byName].sort());
  r = await cc.get('/api/v1/regions?sort=-name&page_size=200');
  assert.deepEqual(r.body.items.map((x) => x.code), [...byName].reverse());
  r = await cc.get('/api/v1/regions?sort=level&page_size=200');
  const levels = r.body.items.map((x) => x.code.length);
  assert.deepEqual(levels, [...levels].sort((a, b) => a - b));
  r = await cc.get(`/api/v1/regions?parent_code=${DC_S1}&with_boundary=1`);
  assert.ok('boundary' in r.body.items[0]);
});

test('list: LIKE wildcards in q are matched literally', async () => {
  const made = await cc.post('/api/v1/regions', { code: '110101009000', name: '百分_号%街道', level: 'street' });
  assert.equal(made.status, 201, made.text);
  let r = await cc.get('/api/v1/regions?q=' + encodeURIComponent('_号%'));
  assert.deepEqual(r.body.items.map((x) => x.code), ['110101009000']);
  r = await cc.get('/api/v1/regions?q=' + encodeURIComponent('%'));
  assert.deepEqual(r.body.items.map((x) => x.code), ['110101009000']);
  r = await cc.get('/api/v1/regions?q=' + encodeURIComponent('\\'));
  assert.equal(r.body.total, 0);
  assert.equal((await cc.del('/api/v1/regions/110101009000')).status, 204);
});

test('list: bad parameters are 400 naming the parameter', async () => {
  for (const [q, field] of [
    ['parent_code=abc', 'parent_code'],
    ['parent_code=110000001000', 'parent_code'],
    ['level=county', 'level'],
    ['sort=password', 'sort'],
    ['sort=-', 'sort'],
    ['page=0', 'page'],
    ['page_size=500', 'page_size'],
    ['with_boundary=yes', 'with_boundary'],
    ['q=' + 'x'.repeat(65), 'q'],
  ]) {
    const r = await cc.get('/api/v1/regions?' + q);
    expectError(r, 400, 'invalid_parameter', field);
  }
});

test('children: direct children only, paged; unknown parent 404', async () => {
  let r = await cc.get(`/api/v1/regions/${DC_S1_C1}/children`);
  assert.equal(r.status, 200, r.text);
  assert.deepEqual(r.body.items.map((x) => x.code), [DC_S1_C1_G1]);
  assert.equal(r.body.items[0].has_children, true);
  assert.equal(r.body.total, 1);
  r = await cc.get(`/api/v1/regions/${DC_S1_C1_G1_B1}/children`);
  assert.deepEqual(r.body, { items: [], total: 0, page: 1, page_size: 20 });
  expectError(await cc.get('/api/v1/regions/110101099000/children'), 404, 'not_found');
  expectError(await cc.get('/api/v1/regions/bad/children'), 404, 'not_found');
  expectError(await cc.get(`/api/v1/regions/${DC}/children?page_size=0`), 400, 'invalid_parameter', 'page_size');
});

test('tree: nested from the caller\'s region by default, depth-limited', async () => {
  let r = await grid.get('/api/v1/regions/tree');
  assert.equal(r.status, 200, r.text);
  assert.equal(r.body.code, DC_S1);
  assert.equal(r.body.children.length, 1);
  const community = r.body.children[0];
  assert.equal(community.code, DC_S1_C1);
  assert.equal(community.children[0].code, DC_S1_C1_G1);
  assert.equal(community.children[0].children[0].code, DC_S1_C1_G1_B1);
  assert.deepEqual(community.children[0].children[0].children, []);

  r = await grid.get('/api/v1/regions/tree?depth=1');
  assert.equal(r.body.children[0].code, DC_S1_C1);
  assert.equal(r.body.children[0].has_children, true);
  assert.ok(!('children' in r.body.children[0]), 'nodes at the depth limit are not expanded');
  r = await grid.get('/api/v1/regions/tree?depth=0');
  assert.ok(!('children' in r.body));

  // default depth 4 from the province reaches communities, not grids
  r = await cc.get(`/api/v1/regions/tree?root=${PROV}`);
  const dc = r.body.children[0].children.find((x) => x.code === DC);
  const s1 = dc.children.find((x) => x.code === DC_S1);
  assert.equal(s1.children[0].code, DC_S1_C1);
  assert.ok(!('children' in s1.children[0]));
  r = await cc.get(`/api/v1/regions/tree?root=${PROV}&depth=7&with_boundary=1`);
  const flat = [];
  (function walk(n) { flat.push(n.code); assert.ok('boundary' in n); (n.children || []).forEach(walk); })(r.body);
  assert.ok(flat.includes(DC_S1_C1_G1_B1));
  assert.deepEqual(flat, [...flat].sort(), 'depth-first in code order');

  expectError(await cc.get('/api/v1/regions/tree?root=abc'), 400, 'invalid_parameter', 'root');
  expectError(await cc.get('/api/v1/regions/tree?depth=8'), 400, 'invalid_parameter', 'depth');
  expectError(await cc.get('/api/v1/regions/tree?depth=-1'), 400, 'invalid_parameter', 'depth');
  expectError(await cc.get('/api/v1/regions/tree?root=110101099000'), 404, 'not_found');
});

// ---- creating ----------------------------------------------------------------

test('create: 201 with the record; the centre is the boundary\'s centroid', async () => {
  let r = await cc.post('/api/v1/regions', { code: '110101003000', name: '新建街道', level: 'street' });
  assert.equal(r.status, 201, r.text);
  assert.deepEqual(r.body, {
    code: '110101003000', name: '新建街道', level: 'street', level_label: '街道',
    parent_code: DC, center: null, has_children: false,
  });
  r = await cc.post('/api/v1/regions?with_boundary=1', {
    code: '110101003001', name: '新建社区', level: 'community', parent_code: '110101003000',
    boundary: { type: 'Polygon', coordinates: [[[116, 39], [116.2, 39], [116.2, 39.2], [116, 39.2], [116, 39]]] },
  });
  assert.equal(r.status, 201, r.text);
  assert.ok(Math.abs(r.body.center[0] - 116.1) < 1e-6 && Math.abs(r.body.center[1] - 39.1) < 1e-6, r.text);
  assert.equal(r.body.boundary.type, 'Polygon');
  // a given centre is kept; an L-shaped polygon's centroid is not its box centre
  r = await cc.post('/api/v1/regions', {
    code: '110101003002', name: 'L形社区', level: 'community',
    boundary: { type: 'Polygon', coordinates: [[[0, 0], [2, 0], [2, 1], [1, 1], [1, 2], [0, 2], [0, 0]]] },
  });
  assert.equal(r.status, 201, r.text);
  assert.ok(Math.abs(r.body.center[0] - 5 / 6) < 1e-6 && Math.abs(r.body.center[1] - 5 / 6) < 1e-6, r.text);
  r = await cc.post('/api/v1/regions', {
    code: '110101003003', name: '有中心社区', level: 'community', center: [116.5, 39.5],
    boundary: { type: 'MultiPolygon', coordinates: [square(116, 39).coordinates, square(117, 40).coordinates] },
  });
  assert.equal(r.status, 201, r.text);
  assert.deepEqual(r.body.center, [116.5, 39.5]);
  const got = await cc.get('/api/v1/regions/110101003003');
  assert.equal(got.body.boundary.type, 'MultiPolygon');
  // where it is, in names: street down
  assert.equal(got.body.path, `${(await cc.get('/api/v1/regions/110101003000')).body.name} · 有中心社区`);
  assert.equal(got.body.boundary.coordinates.length, 2);
  // the parent now has children
  assert.equal((await cc.get('/api/v1/regions/110101003000')).body.has_children, true);
  // grids and buildings
  r = await cc.post('/api/v1/regions', { code: '110101003001007', name: '第七网格', level: 'grid' });
  assert.equal(r.status, 201, r.text);
  assert.equal(r.body.parent_code, '110101003001');
  r = await cc.post('/api/v1/regions', { code: '110101003001007012', name: '12号楼', level: 'building' });
  assert.equal(r.status, 201, r.text);
  const audit = await auditEntries(auditor, 'region.create', padded('110101003001007012'));
  assert.equal(audit.length, 1);
  assert.equal(audit[0].username, 'cc_prov');
  assert.equal(audit[0].result, 'ok');
});

test('create: SQL metacharacters in a name are stored verbatim', async () => {
  const name = "x'); DROP TABLE regions;--";
  const r = await cc.post('/api/v1/regions', { code: '110101003004', name, level: 'community' });
  assert.equal(r.status, 201, r.text);
  assert.equal((await cc.get('/api/v1/regions/110101003004')).body.name, name);
  assert.ok((await total()) > 12);
});

test('create: duplicate code is 409 with the existing code', async () => {
  const r = await cc.post('/api/v1/regions', { code: DC_S1, name: '重复', level: 'street' });
  expectError(r, 409, 'duplicate_region');
  assert.equal(r.body.error.existing_id, DC_S1);
});

test('create: bad input is 400 naming the field, and changes nothing', async () => {
  const before = await total();
  const ok = { code: '110101008000', name: '好街道', level: 'street' };
  const cases = [
    [{ ...ok, code: 110101008000 }, 'invalid_type', 'code'],
    [{ ...ok, name: 42 }, 'invalid_type', 'name'],
    [{ ...ok, extra: 1 }, 'unknown_field', 'extra'],
    [{ code: ok.code, level: 'street' }, 'required', 'name'],
    [{ name: 'x', level: 'street' }, 'required', 'code'],
    [{ code: ok.code, name: 'x' }, 'required', 'level'],
    [{ ...ok, name: '' }, 'required', 'name'],
    [{ ...ok, name: '   ' }, 'required', 'name'],
    [{ ...ok, name: '名'.repeat(65) }, 'too_long', 'name'],
    [{ ...ok, level: 'county' }, 'invalid_value', 'level'],
    [{ ...ok, level: 'community' }, 'level_mismatch', 'level'],
    [{ ...ok, code: 'abc' }, 'invalid_region_code', 'code'],
    [{ ...ok, code: '110000001000' }, 'invalid_region_code', 'code'],
    [{ ...ok, code: '1101010080001' }, 'invalid_region_code', 'code'],
    [{ ...ok, parent_code: '110102000000' }, 'parent_mismatch', 'parent_code'],
    [{ ...ok, parent_code: 'zzz' }, 'parent_mismatch', 'parent_code'],
    [{ code: '110101088001', name: '孤儿社区', level: 'community' }, 'parent_not_found', 'parent_code'],
    [{ ...ok, boundary: 'POLYGON((0 0))' }, 'invalid_type', 'boundary'],
    [{ ...ok, boundary: { type: 'Point', coordinates: [116, 39] } }, 'invalid_boundary', 'boundary'],
    [{ ...ok, boundary: { type: 'Polygon', coordinates: [[[116, 39], [117, 39], [117, 40], [116, 40]]] } }, 'invalid_boundary', 'boundary'],
    [{ ...ok, boundary: { type: 'Polygon', coordinates: [[[116, 39], [117, 39], [116, 39]]] } }, 'invalid_boundary', 'boundary'],
    [{ ...ok, boundary: { type: 'Polygon', coordinates: [[[116, 39], [117, 99], [117, 40], [116, 39]]] } }, 'invalid_boundary', 'boundary'],
    [{ ...ok, boundary: { type: 'Polygon', coordinates: [[[116, 39], ['117', 39], [117, 40], [116, 39]]] } }, 'invalid_boundary', 'boundary'],
    [{ ...ok, boundary: { type: 'Polygon', coordinates: [] } }, 'invalid_boundary', 'boundary'],
    [{ ...ok, boundary: { type: 'MultiPolygon', coordinates: [[[[1, 1], [2, 2]]]] } }, 'invalid_boundary', 'boundary'],
    [{ ...ok, boundary: { type: 'Polygon' } }, 'invalid_boundary', 'boundary'],
    [{ ...ok, center: [200, 39] }, 'invalid_center', 'center'],
    [{ ...ok, center: [116] }, 'invalid_center', 'center'],
    [{ ...ok, center: ['116', '39'] }, 'invalid_center', 'center'],
    [{ ...ok, center: 'here' }, 'invalid_type', 'center'],
  ];
  for (const [body, code, field] of cases) {
    const r = await cc.post('/api/v1/regions', body);
    expectError(r, 400, code, field);
  }
  // too many positions
  const ring = [];
  for (let i = 0; i < 10000; i++) ring.push([116 + Math.cos(i) * 0.01, 39 + Math.sin(i) * 0.01]);
  ring.push(ring[0]);
  expectError(await cc.post('/api/v1/regions', { ...ok, boundary: { type: 'Polygon', coordinates: [ring] } }),
    400, 'invalid_boundary', 'boundary');
  // malformed JSON, wrong content type
  expectError(await cc.post('/api/v1/regions', '{"code":'), 400, 'invalid_json');
  expectError(await cc.post('/api/v1/regions', '[1,2]'), 400, 'invalid_json');
  const r = await cc.post('/api/v1/regions', 'code=1', { 'content-type': 'text/plain' });
  assert.equal(r.status, 415);
  assert.equal(await total(), before);
  expectError(await cc.get('/api/v1/regions/110101008000'), 404, 'not_found');
});

// ---- updating and deleting ---------------------------------------------------

test('update: name, boundary (centre follows), centre; 200 with the record', async () => {
  const code = '110101003000';
  let r = await cc.patch(`/api/v1/regions/${code}`, { name: '改名街道' });
  assert.equal(r.status, 200, r.text);
  assert.equal(r.body.name, '改名街道');
  assert.equal(r.body.has_children, true);
  assert.equal(r.body.center, null);
  r = await cc.patch(`/api/v1/regions/${code}?with_boundary=1`, { boundary: square(116.3, 39.9) });
  assert.equal(r.status, 200, r.text);
  assert.ok(Math.abs(r.body.center[0] - 116.3) < 1e-6 && Math.abs(r.body.center[1] - 39.9) < 1e-6, r.text);
  assert.equal(r.body.boundary.type, 'Polygon');
  r = await cc.patch(`/api/v1/regions/${code}`, { center: [116.31, 39.91] });
  assert.deepEqual(r.body.center, [116.31, 39.91]);
  r = await cc.patch(`/api/v1/regions/${code}`, { boundary: null });
  assert.deepEqual(r.body.center, [116.31, 39.91], 'clearing the boundary keeps the centre');
  assert.equal((await cc.get(`/api/v1/regions/${code}`)).body.boundary, null);
  r = await cc.patch(`/api/v1/regions/${code}`, { center: null, name: "名'; --" });
  assert.equal(r.body.center, null);
  assert.equal(r.body.name, "名'; --");
  const audit = await auditEntries(auditor, 'region.update', padded(code));
  assert.ok(audit.length >= 4);
  assert.ok(audit.some((a) => a.detail === 'fields=name,center'), JSON.stringify(audit));
});

test('update: bad input 400, unknown 404, and nothing changes', async () => {
  const code = '110101003001';
  const before = (await cc.get(`/api/v1/regions/${code}`)).body;
  for (const [body, slug, field] of [
    [{}, 'empty_update', undefined],
    [{ code: '110101003009' }, 'unknown_field', 'code'],
    [{ level: 'street' }, 'unknown_field', 'level'],
    [{ name: '' }, 'required', 'name'],
    [{ name: null }, 'invalid_type', 'name'],
    [{ name: 7 }, 'invalid_type', 'name'],
    [{ name: '名'.repeat(65) }, 'too_long', 'name'],
    [{ boundary: { type: 'Polygon', coordinates: [[[0, 0], [1, 0], [1, 1], [0, 0.5]]] } }, 'invalid_boundary', 'boundary'],
    [{ name: '好名字', center: [0, 91] }, 'invalid_center', 'center'],
  ]) {
    expectError(await cc.patch(`/api/v1/regions/${code}`, body), 400, slug, field);
  }
  expectError(await cc.patch(`/api/v1/regions/${code}`, '{"name":'), 400, 'invalid_json');
  assert.deepEqual((await cc.get(`/api/v1/regions/${code}`)).body, before);
  expectError(await cc.patch('/api/v1/regions/110101077000', { name: 'x' }), 404, 'not_found');
  expectError(await cc.patch('/api/v1/regions/nope', { name: 'x' }), 404, 'not_found');
});

test('delete: 204, then gone; refused while it has children or records', async () => {
  const code = '110101003004';
  assert.equal((await cc.del(`/api/v1/regions/${code}`)).status, 204);
  expectError(await cc.get(`/api/v1/regions/${code}`), 404, 'not_found');
  expectError(await cc.del(`/api/v1/regions/${code}`), 404, 'not_found');
  // the delete, and the refused second one (404: one policy, security/audit.h)
  const del = await waitForAudit(auditor, `action=region.delete&object_id=${padded(code)}`, (x) => x.result === 'not_found');
  assert.deepEqual(del.map((x) => x.result).sort(), ['not_found', 'ok']);

  let r = await cc.del(`/api/v1/regions/${DC_S1_C1}`);
  expectError(r, 409, 'region_in_use');
  assert.match(r.body.error.message, /下级/);
  // a leaf that a user belongs to
  r = await cc.del(`/api/v1/regions/${DC_S2_C1}`);
  expectError(r, 409, 'region_in_use');
  assert.match(r.body.error.message, /用户/);
  assert.equal((await cc.get(`/api/v1/regions/${DC_S2_C1}`)).status, 200);
  expectError(await cc.del('/api/v1/regions/bad'), 404, 'not_found');
});

// ---- scope -------------------------------------------------------------------

test('scope: a street-level user sees its street and below, nothing else', async () => {
  assert.equal((await grid.get(`/api/v1/regions/${DC_S1}`)).status, 200);
  assert.equal((await grid.get(`/api/v1/regions/${DC_S1_C1_G1_B1}`)).status, 200);
  const missing = await grid.get('/api/v1/regions/110101099000');
  for (const code of [DC_S2, XC, DC, CITY, PROV, DC_S2_C1]) {
    const r = await grid.get(`/api/v1/regions/${code}`);
    expectError(r, 404, 'not_found');
    assert.equal(r.text, missing.text, 'out of scope answers exactly as not found');
    expectError(await grid.get(`/api/v1/regions/${code}/children`), 404, 'not_found');
    expectError(await grid.get(`/api/v1/regions/tree?root=${code}`), 404, 'not_found');
  }
  const r = await grid.get('/api/v1/regions?page_size=200');
  assert.equal(r.status, 200);
  assert.deepEqual(r.body.items.map((x) => x.code), [DC_S1, DC_S1_C1, DC_S1_C1_G1, DC_S1_C1_G1_B1]);
  assert.equal(r.body.total, 4);
  // asking for an ancestor's children yields only what is in scope
  const kids = await grid.get(`/api/v1/regions?parent_code=${DC}`);
  assert.deepEqual(kids.body.items.map((x) => x.code), [DC_S1]);
  assert.equal((await grid.get('/api/v1/regions?q=' + encodeURIComponent('景山'))).body.total, 0);
  const tree = await grid.get('/api/v1/regions/tree?depth=7');
  assert.ok(!JSON.stringify(tree.body).includes(DC_S2));
  assert.ok(!JSON.stringify(tree.body).includes(XC));
});

test('scope: writes need a region strictly inside the caller\'s scope', async () => {
  // another district: not found for updates and deletes, refused for creates
  expectError(await ccDc.patch(`/api/v1/regions/${XC_S1}`, { name: 'x' }), 404, 'not_found');
  expectError(await ccDc.del(`/api/v1/regions/${XC_S1}`), 404, 'not_found');
  expectError(await ccDc.post('/api/v1/regions', { code: '110102009000', name: 'x', level: 'street' }),
    400, 'invalid_region', 'code');
  // an existing region outside the scope is not revealed as a duplicate
  expectError(await ccDc.post('/api/v1/regions', { code: XC_S1, name: 'x', level: 'street' }),
    400, 'invalid_region', 'code');
  // ancestors
  expectError(await ccDc.patch(`/api/v1/regions/${CITY}`, { name: 'x' }), 404, 'not_found');
  // its own region: readable, not writable
  assert.equal((await ccDc.get(`/api/v1/regions/${DC}`)).status, 200);
  expectError(await ccDc.patch(`/api/v1/regions/${DC}`, { name: 'x' }), 403, 'scope_root');
  expectError(await ccDc.del(`/api/v1/regions/${DC}`), 403, 'scope_root');
  assert.equal((await cc.get(`/api/v1/regions/${DC}`)).body.name, '东城区');
  // inside: fine
  const r = await ccDc.patch(`/api/v1/regions/${DC_S2}`, { name: '景山街道' });
  assert.equal(r.status, 200, r.text);
});

test('permissions: 401 without a session, 403 without the permission', async () => {
  const routes = [
    ['GET', '/api/v1/regions'],
    ['GET', `/api/v1/regions/${DC}`],
    ['GET', `/api/v1/regions/${DC}/children`],
    ['GET', '/api/v1/regions/tree'],
    ['POST', '/api/v1/regions', { code: '110101066000', name: 'x', level: 'street' }],
    ['PATCH', `/api/v1/regions/${DC_S2}`, { name: 'x' }],
    ['DELETE', `/api/v1/regions/${DC_S2}`],
    ['POST', '/api/v1/regions/import', 'code,name,level\n110101066000,x,street\n', { 'content-type': 'text/csv' }],
  ];
  for (const [m, p, b, h] of routes) {
    const r = await anon.req(m, p, b, h);
    assert.equal(r.status, 401, `${m} ${p}: ${r.text}`);
    assert.equal(r.body.error.code, 'unauthenticated');
  }
  // the auditor has no region permission at all; a leader and a grid worker only read
  for (const [m, p, b, h] of routes) {
    const r = await auditor.req(m, p, b, h);
    assert.equal(r.status, 403, `${m} ${p}: ${r.text}`);
  }
  for (const c of [leader, grid]) {
    for (const [m, p, b, h] of routes.slice(4)) {
      const r = await c.req(m, p, b, h);
      expectError(r, 403, 'forbidden');
    }
  }
  assert.equal((await leader.get(`/api/v1/regions/${DC_S2}`)).status, 200);
  assert.equal((await cc.get('/api/v1/regions/110101066000')).status, 404);
  assert.equal((await cc.get(`/api/v1/regions/${DC_S2}`)).body.name, '景山街道');
});

// ---- import ------------------------------------------------------------------

const q = (s) => '"' + s.replaceAll('"', '""') + '"';

test('import CSV: valid rows land in level order, bad rows are reported', async () => {
  const good = JSON.stringify(square(116.45, 39.93, 0.02));
  const bad = JSON.stringify({ type: 'Polygon', coordinates: [[[116, 39], [117, 39], [117, 40]]] });
  const csv = '\ufeff' + [
    '区划代码,名称,层级,上级代码,经度,纬度,边界',
    '110105001001,朝外社区,社区,110105001000,116.44,39.92,', // 2: before its parent
    '110105000000,朝阳区,区县,110100000000,,,', // 3
    '110105001000,朝外街道,街道,,,,', // 4
    '110105002000,坏层级,county,,,,', // 5
    '11010500300,坏代码,street,,,,', // 6
    '110105009001,无上级社区,community,,,,', // 7
    '110105001000,重复街道,street,,,,', // 8
    `110105004000,${q('带,逗号"引号"的街道')},street,110105000000,,,`, // 9
    `110105005000,坏边界,street,,,,${q(bad)}`, // 10
    `110105006000,好边界,street,,,,${q(good)}`, // 11
    '110105007000,错上级,street,110106000000,,,', // 12
    '110105008000,经纬度错,street,,500,39,', // 13
    '110105010000,,street,,,,', // 14
    '110105011000,"未闭合引号,street', // 15: the rest of the file is one bad field
  ].join('\r\n') + '\r\n';
  const r = await cc.post('/api/v1/regions/import', csv, { 'content-type': 'text/csv; charset=utf-8' });
  assert.equal(r.status, 200, r.text);
  assert.equal(r.body.imported, 5, r.text);
  assert.equal(r.body.updated, 0);
  assert.deepEqual(r.body.errors.map((e) => [e.row, e.field, e.code]), [
    [5, 'level', 'invalid_level'],
    [6, 'code', 'invalid_region_code'],
    [7, 'parent_code', 'parent_not_found'],
    [8, 'code', 'duplicate_in_file'],
    [10, 'boundary', 'invalid_boundary'],
    [12, 'parent_code', 'parent_mismatch'],
    [13, 'center_lng', 'invalid_center'],
    [14, 'name', 'required'],
    [15, '', 'invalid_row'],
  ]);
  for (const e of r.body.errors) assert.match(e.message, /[\u4e00-\u9fff]/);
  assert.equal(r.body.error_count, 9);

  let g = await cc.get('/api/v1/regions/110105001001');
  assert.equal(g.status, 200);
  assert.deepEqual(g.body.center, [116.44, 39.92]);
  assert.equal(g.body.parent_code, '110105001000');
  assert.equal((await cc.get('/api/v1/regions/110105004000')).body.name, '带,逗号"引号"的街道');
  g = await cc.get('/api/v1/regions/110105006000');
  assert.ok(Math.abs(g.body.center[0] - 116.45) < 1e-6 && Math.abs(g.body.center[1] - 39.93) < 1e-6);
  assert.equal(g.body.boundary.type, 'Polygon');
  for (const code of ['110105002000', '110105009001', '110105005000', '110105007000', '110105008000', '110105010000', '110105011000']) {
    assert.equal((await cc.get(`/api/v1/regions/${code}`)).status, 404, code);
  }
  assert.equal((await cc.get('/api/v1/regions/110105001000')).body.name, '朝外街道');

  // again: every good row is an update; boundary and centre kept when the row has none
  const again = 'code,name,level\n110105006000,好边界二,street\n110105000000,朝阳区,district\n';
  const r2 = await cc.post('/api/v1/regions/import', again, { 'content-type': 'text/csv' });
  assert.equal(r2.status, 200, r2.text);
  assert.deepEqual([r2.body.imported, r2.body.updated, r2.body.errors.length], [0, 2, 0]);
  g = await cc.get('/api/v1/regions/110105006000');
  assert.equal(g.body.name, '好边界二');
  assert.equal(g.body.boundary.type, 'Polygon');
  assert.ok(g.body.center);

  const audit = await auditEntries(auditor, 'region.import');
  assert.ok(audit.some((a) => a.username === 'cc_prov' && /imported=5,updated=0,errors=9/.test(a.detail)), JSON.stringify(audit));
});

test('import GeoJSON: features with geometry as boundary', async () => {
  const doc = {
    type: 'FeatureCollection',
    features: [
      { type: 'Feature', properties: { code: '110106001000', name: '丰台街道', level: 'street' }, geometry: square(116.28, 39.85) },
      { type: 'Feature', properties: { code: 110106001001, name: '丰台社区', level: 'community', center: [116.281, 39.851], extra: 'ignored' }, geometry: null },
      { type: 'Feature', properties: { code: '110106000000', name: '丰台区', level: '区县' }, geometry: null },
      { type: 'Feature', geometry: null },
      { type: 'Feature', properties: { code: '110106002000', name: '层级不符', level: 'grid' }, geometry: null },
      { type: 'Feature', properties: { code: '110106003000', name: '坏几何', level: 'street' }, geometry: { type: 'LineString', coordinates: [[0, 0], [1, 1]] } },
      { type: 'Point' },
    ],
  };
  const r = await cc.post('/api/v1/regions/import', JSON.stringify(doc), { 'content-type': 'application/geo+json' });
  assert.equal(r.status, 200, r.text);
  assert.equal(r.body.imported, 3);
  assert.deepEqual(r.body.errors.map((e) => [e.row, e.field, e.code]), [
    [4, 'properties', 'invalid_row'],
    [5, 'level', 'level_mismatch'],
    [6, 'boundary', 'invalid_boundary'],
    [7, 'type', 'invalid_row'],
  ]);
  const s = await cc.get('/api/v1/regions/110106001000');
  assert.ok(Math.abs(s.body.center[0] - 116.28) < 1e-6);
  assert.equal(s.body.boundary.coordinates[0].length, 5);
  const c = await cc.get('/api/v1/regions/110106001001');
  assert.deepEqual(c.body.center, [116.281, 39.851]);
  assert.equal(c.body.boundary, null);
  // application/json is accepted too
  const r2 = await cc.post('/api/v1/regions/import', JSON.stringify({ type: 'FeatureCollection', features: [] }));
  assert.deepEqual(r2.body, { imported: 0, updated: 0, errors: [], error_count: 0 });
});

test('import: whole-document errors are 400/413/415 and import nothing', async () => {
  const before = await total();
  const csv = { 'content-type': 'text/csv' };
  expectError(await cc.post('/api/v1/regions/import', '', csv), 400, 'invalid_csv');
  expectError(await cc.post('/api/v1/regions/import', 'code,name\n110105012000,x\n', csv), 400, 'invalid_csv');
  expectError(await cc.post('/api/v1/regions/import', 'code,name,level,password\n', csv), 400, 'invalid_csv');
  expectError(await cc.post('/api/v1/regions/import', 'code,name,level,code\n', csv), 400, 'invalid_csv');
  expectError(await cc.post('/api/v1/regions/import', Buffer.from([0x63, 0x6f, 0x64, 0x65, 0x2c, 0xb4, 0xfa, 0xc2, 0xeb, 0x0a]), csv),
    400, 'invalid_encoding');
  const gj = { 'content-type': 'application/geo+json' };
  expectError(await cc.post('/api/v1/regions/import', '{"type":', gj), 400, 'invalid_geojson');
  expectError(await cc.post('/api/v1/regions/import', '{"type":"Feature","features":[]}', gj), 400, 'invalid_geojson');
  expectError(await cc.post('/api/v1/regions/import', '[]', gj), 400, 'invalid_geojson');
  let r = await cc.post('/api/v1/regions/import', 'code,name,level\n', { 'content-type': 'application/vnd.ms-excel' });
  assert.equal(r.status, 415, r.text);
  assert.match(r.body.error.message, /text\/csv/);
  r = await cc.post('/api/v1/regions/import', 'code,name,level\n' + 'x'.repeat(16 * 1024 * 1024), csv);
  assert.equal(r.status, 413, r.text);
  assert.equal(await total(), before);
});

test('import: rows outside the scope or at its root are reported', async () => {
  const csv = 'code,name,level\n110101004000,东城新街道,street\n110102004000,西城街道,street\n110101000000,东城区改,district\n';
  const r = await ccDc.post('/api/v1/regions/import', csv, { 'content-type': 'text/csv' });
  assert.equal(r.status, 200, r.text);
  assert.equal(r.body.imported, 1);
  assert.deepEqual(r.body.errors.map((e) => [e.row, e.code]), [[3, 'invalid_region'], [4, 'scope_root']]);
  assert.equal((await cc.get('/api/v1/regions/110102004000')).status, 404);
  assert.equal((await cc.get(`/api/v1/regions/${DC}`)).body.name, '东城区');
});

// ---- the command line ----------------------------------------------------------

test('CLI import: report, exit status, format detection, audit as "cli"', async () => {
  let r = ctx.fk(['import', 'regions', writeTmp(ctx, 'ok.csv', 'code,name,level\n110107000000,石景山区,district\n')]);
  assert.equal(r.status, 0, r.stderr);
  assert.match(r.stdout, /^imported 1, updated 0, errors 0$/m);

  r = ctx.fk(['import', 'regions', writeTmp(ctx, 'bad.csv', 'code,name,level,parent_code\n110107001000,八角街道,street,\n110107002000,坏,town,\n11010700,坏码,street,\n')]);
  assert.equal(r.status, 1);
  assert.match(r.stdout, /^imported 1, updated 0, errors 2$/m);
  assert.match(r.stdout, /^row 3: level: 层级不正确/m);
  assert.match(r.stdout, /^row 4: code: 区划代码格式不正确/m);
  assert.equal((await cc.get('/api/v1/regions/110107001000')).status, 200);

  // GeoJSON recognised by content whatever the extension
  const gj = { type: 'FeatureCollection', features: [{ type: 'Feature', properties: { code: '110107003000', name: '古城街道', level: 'street' }, geometry: square(116.19, 39.91) }] };
  r = ctx.fk(['import', 'regions', writeTmp(ctx, 'regions.txt', '\n  ' + JSON.stringify(gj))]);
  assert.equal(r.status, 0, r.stdout + r.stderr);
  assert.match(r.stdout, /imported 1, updated 0, errors 0/);
  assert.ok((await cc.get('/api/v1/regions/110107003000')).body.center);

  r = ctx.fk(['import', 'regions', ctx.dir + '/no-such-file.csv']);
  assert.equal(r.status, 1);
  assert.match(r.stderr, /cannot open/);
  r = ctx.fk(['import', 'regions', writeTmp(ctx, 'empty.csv', '')]);
  assert.equal(r.status, 1);
  assert.match(r.stderr, /表头/);
  r = ctx.fk(['import', 'regions']);
  assert.equal(r.status, 2);

  const audit = await auditEntries(auditor, 'region.import');
  assert.ok(audit.some((a) => a.username === 'cli' && /imported=1,updated=0,errors=2/.test(a.detail)), JSON.stringify(audit));
});

test('import: large levels are written in batches, each row landing once', async () => {
  const lines = ['code,name,level'];
  const grids = [];
  for (let g = 1; g <= 70; g++) grids.push(`110101002001${String(g).padStart(3, '0')}`);
  const buildings = [];
  for (let b = 1; b <= 45; b++) buildings.push(`${grids[69]}${String(b).padStart(3, '0')}`);
  // buildings first: the import orders by level
  for (const c of buildings.reverse()) lines.push(`${c},楼${c.slice(-3)},building`);
  for (const c of grids) lines.push(`${c},网格${c.slice(-3)},grid`);
  const r = await cc.post('/api/v1/regions/import', lines.join('\n'), { 'content-type': 'text/csv' });
  assert.equal(r.status, 200, r.text);
  assert.deepEqual([r.body.imported, r.body.updated, r.body.errors.length], [115, 0, 0]);
  let kids = await cc.get(`/api/v1/regions/${DC_S2_C1}/children?page_size=200`);
  assert.deepEqual(kids.body.items.map((x) => x.code), grids);
  kids = await cc.get(`/api/v1/regions/${grids[69]}/children?page_size=200`);
  assert.equal(kids.body.total, 45);
  assert.equal(kids.body.items[44].name, '楼045');
  // again, with one changed name: all updates
  lines[1] = lines[1].replace(/,楼045,/, ',四十五号楼,');
  const r2 = await cc.post('/api/v1/regions/import', lines.join('\n'), { 'content-type': 'text/csv' });
  assert.equal(r2.status, 200, r2.text);
  assert.deepEqual([r2.body.imported, r2.body.updated, r2.body.errors.length], [0, 115, 0]);
  assert.equal((await cc.get(`/api/v1/regions/${grids[69]}045`)).body.name, '四十五号楼');
});

test('CLI import: the top of a deployment may lack its parent only as the first region, or as a city', async () => {
  const other = await startServer({
    setup: (c) => {
      const districts = 'code,name,level\n110101000000,东城区,district\n110101001000,东华门街道,street\n110102000000,西城区,district\n';
      const r = c.fk(['import', 'regions', writeTmp(c, 'd.csv', districts)]);
      c.first = r;
      c.second = c.fk(['import', 'regions', writeTmp(c, 'c.csv', 'code,name,level\n110100000000,市辖区,city\n110102000000,西城区,district\n110105001000,无上级街道,street\n')]);
      c.must(['user', 'add', '--username', 'cc_city', '--password', PW, '--role', 'command_center', '--region', '110100000000']);
    },
  });
  try {
    assert.equal(other.first.status, 1);
    assert.match(other.first.stdout, /^imported 2, updated 0, errors 1$/m);
    assert.match(other.first.stdout, /^row 4: parent_code: 上级区划 110100000000 不存在/m);
    assert.equal(other.second.status, 1);
    assert.match(other.second.stdout, /^imported 2, updated 0, errors 1$/m);
    assert.match(other.second.stdout, /^row 4: parent_code: /m);
    const c = other.client();
    await c.login('cc_city', PW);
    const t = await c.get('/api/v1/regions/tree?depth=2');
    assert.equal(t.status, 200, t.text);
    assert.deepEqual(t.body.children.map((x) => x.code), ['110101000000', '110102000000']);
    assert.deepEqual(t.body.children[0].children.map((x) => x.code), ['110101001000']);
    assert.equal(t.body.parent_code, '110000000000');
    expectError(await c.get('/api/v1/regions/110000000000'), 404, 'not_found');
  } finally {
    await other.stop();
  }
});

test('move: a community changes street with its grids, people, places and users; bad moves change nothing', async () => {
  const OLD = '110101002009';
  const NEW = '110101001009';
  let r = await ccDc.post('/api/v1/regions', { code: OLD, name: '迁移社区', level: 'community', parent_code: DC_S2 });
  assert.equal(r.status, 201, r.text);
  r = await ccDc.post('/api/v1/regions', { code: OLD + '001', name: '迁移网格', level: 'grid', parent_code: OLD });
  assert.equal(r.status, 201, r.text);
  const person = await ccDc.post('/api/v1/persons', {
    name: '迁居民', id_type: 'resident_id', id_number: residentId('110101', '19800101', 77), region_code: OLD + '001',
  });
  assert.equal(person.status, 201, person.text);
  const place = await ccDc.post('/api/v1/places', { name: '迁移小区', kind: 'community', region_code: OLD });
  assert.equal(place.status, 201, place.text);
  ctx.must(['user', 'add', '--username', 'gw_moved', '--password', PW, '--role', 'grid_worker', '--region', OLD + '001']);
  const moved = await staff('gw_moved');

  const unchanged = async () => {
    assert.equal((await ccDc.get(`/api/v1/regions/${OLD}`)).status, 200);
    assert.equal((await ccDc.get(`/api/v1/regions/${NEW}`)).status, 404);
  };
  // bad moves: each a clear error that changes nothing
  expectError(await ccDc.post(`/api/v1/regions/${OLD}/move`, { code: '110101001009001' }), 400, 'invalid_region_code', 'code');
  expectError(await ccDc.post(`/api/v1/regions/${OLD}/move`, { code: DC_S1_C1 }), 409, 'region_exists', 'code');
  expectError(await ccDc.post(`/api/v1/regions/${OLD}/move`, { code: '110101009001' }), 400, 'parent_not_found', 'code');
  expectError(await ccDc.post(`/api/v1/regions/${OLD}/move`, { code: '110102001009' }), 400, 'invalid_region_code', 'code');
  expectError(await ccDc.post(`/api/v1/regions/${OLD}/move`, { code: OLD }), 400, 'invalid_region_code', 'code');
  expectError(await ccDc.post(`/api/v1/regions/${OLD}/move`, { code: 'abc' }), 400, 'invalid_region_code', 'code');
  expectError(await ccDc.post(`/api/v1/regions/${OLD}/move`, { code: NEW, extra: 1 }), 400, 'unknown_field', 'extra');
  expectError(await ccDc.post(`/api/v1/regions/${OLD}/move`, {}), 400, 'required', 'code');
  expectError(await ccDc.post(`/api/v1/regions/${DC}/move`, { code: '110102000000' }), 403, 'scope_root');
  assert.equal((await ccDc.post('/api/v1/regions/110101002099/move', { code: NEW })).status, 404);
  assert.equal((await grid.post(`/api/v1/regions/${OLD}/move`, { code: NEW })).status, 403);
  await unchanged();

  r = await ccDc.post(`/api/v1/regions/${OLD}/move`, { code: NEW });
  assert.equal(r.status, 200, r.text);
  assert.equal(r.body.code, NEW);
  assert.equal(r.body.parent_code, DC_S1);
  assert.equal(r.body.records_moved, 3); // the person, the place and the user
  assert.equal((await ccDc.get(`/api/v1/regions/${OLD}`)).status, 404);
  assert.equal((await ccDc.get(`/api/v1/regions/${OLD}001`)).status, 404);
  const g = await ccDc.get(`/api/v1/regions/${NEW}001`);
  assert.equal(g.status, 200);
  assert.equal(g.body.parent_code, NEW);
  assert.equal(g.body.name, '迁移网格');
  assert.equal((await ccDc.get(`/api/v1/persons/${person.body.id}`)).body.region_code, NEW + '001');
  assert.equal((await ccDc.get(`/api/v1/places/${place.body.id}`)).body.region_code, NEW);
  // the user's scope followed at once
  const me = await moved.get('/api/v1/me');
  assert.equal(me.body.region.code, NEW + '001');
  assert.equal((await moved.get(`/api/v1/persons/${person.body.id}`)).status, 200);

  const a = await auditor.get(`/api/v1/audit?action=region.move&result=ok`);
  assert.ok(a.body.items.some((x) => x.detail === `from=${OLD} to=${NEW} records=3` && x.object_id === padded(NEW)), JSON.stringify(a.body.items));
});

test('move: a nucleic-acid plan of the moved region counts once in records_moved', async () => {
  const OLD = '110101002008';
  const NEW = '110101001008';
  let r = await ccDc.post('/api/v1/regions', { code: OLD, name: '计划社区', level: 'community', parent_code: DC_S2 });
  assert.equal(r.status, 201, r.text);
  ctx.must(['user', 'add', '--username', 'cc_plan', '--password', PW, '--role', 'command_center', '--region', OLD]);
  const ccPlan = await staff('cc_plan');
  const now = Date.now();
  r = await ccPlan.post('/api/v1/nat/plans', { number: 'MOVE-2024-1', name: '迁移社区核酸', starts_at: now - 3600000, ends_at: now + 3600000 });
  assert.equal(r.status, 201, r.text);
  const plan = r.body.id;
  // a retest, a withdrawn result and the test result it took back, kept by
  // the region (their scope) as the laboratory wrote them
  const at = padded(OLD);
  sqlRun(ctx, `INSERT INTO nat_retests (id, kind, person_id, region_code, sample_id, tube_id, created_at) VALUES (990001, 'retest', 1, ${at}, 1, 1, 1)`);
  sqlRun(ctx, `INSERT INTO nat_withdrawals (id, tube_id, region_code, result, resulted_at, resulted_by, institution, reason, user_id, created_at) VALUES (990002, 1, ${at}, 'negative', 1, 1, '', '错', 1, 1)`);
  sqlRun(ctx, `INSERT INTO test_results_withdrawn (id, withdrawal_id, person_id, region_code, result, sampled_at, reported_at, user_id, created_at, institution) VALUES (990003, 990002, 1, ${at}, 'negative', 1, 1, 1, 1, '')`);

  r = await ccDc.post(`/api/v1/regions/${OLD}/move`, { code: NEW });
  assert.equal(r.status, 200, r.text);
  // the user, the plan (its code and end, one record), the retest, the withdrawal and its test result
  assert.equal(r.body.records_moved, 5);
  const to = padded(NEW);
  assert.equal(sqlRun(ctx, `SELECT (SELECT region_code FROM nat_retests WHERE id = 990001) || ' ' || (SELECT region_code FROM nat_withdrawals WHERE id = 990002) || ' ' || (SELECT region_code FROM test_results_withdrawn WHERE id = 990003)`).trim(), `${to} ${to} ${to}`);
  // the plan followed, whole: its owner still sees it
  r = await ccPlan.get(`/api/v1/nat/plans/${plan}`);
  assert.equal(r.status, 200, r.text);
  assert.equal(r.body.region_code, NEW);
});

test('move: a key person\'s trip and a risk area inside the moved region follow it', async () => {
  const OLD = '110101002019';
  const NEW = '110101001019';
  let r = await ccDc.post('/api/v1/regions', { code: OLD, name: '行程社区', level: 'community', parent_code: DC_S2 });
  assert.equal(r.status, 201, r.text);
  const at = padded(OLD);
  sqlRun(ctx, `INSERT INTO trips (id, person_id, region_code, departed_on, destination, out_mode, source, created_by, created_at, updated_at) VALUES (990011, 1, ${at}, 20261201, '上海市', 'train', 'staff', 1, 1, 1)`);
  sqlRun(ctx, `INSERT INTO risk_areas (id, region_code, name, level, valid_from, user_id, created_at) VALUES (990012, ${at}, '行程社区', 2, 1, 1, 1)`);
  r = await ccDc.post(`/api/v1/regions/${OLD}/move`, { code: NEW });
  assert.equal(r.status, 200, r.text);
  assert.equal(r.body.records_moved, 2, JSON.stringify(r.body));
  const to = padded(NEW);
  assert.equal(sqlRun(ctx, `SELECT (SELECT region_code FROM trips WHERE id = 990011) || ' ' || (SELECT region_code FROM risk_areas WHERE id = 990012)`).trim(), `${to} ${to}`);
});
