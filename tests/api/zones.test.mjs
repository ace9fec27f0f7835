// Zones drawn as polygons (docs/zones.md): a polygon that is not closed,
// crosses itself or has a hole outside is refused and saves nothing; the
// preview counts whose codes would change and changes nothing; saving covers
// the buildings whose centre is inside (only in the caller's scope) and turns
// the people living there red; the zone's page lists buildings and places by
// name; the people list is masked and audited; a lift needs a reason, is
// previewed, audited, and restores the codes; a GeoJSON import with a bad
// feature names it and saves nothing, a good one creates every zone.
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { startCityWith, residentId, errOf, waitForAudit } from './lib.mjs';

const PW = 'Passw0rd!zones';
const GRID = '110101001001001'; // 多福巷社区 · 第一网格
const WEST_COMMUNITY = '110102001001';
let ctx, cc, ccWest, grid, auditor;

// Buildings: 2号楼 and 3号楼 inside the drawn square, 4号楼 outside it; the
// west district's building lies inside the square too but outside the
// east command centre's scope.
const B2 = `${GRID}002`, B3 = `${GRID}003`, B4 = `${GRID}004`, BW = `${WEST_COMMUNITY}001001`;
const square = (x0, y0, x1, y1) => ({
  type: 'Polygon',
  coordinates: [[[x0, y0], [x1, y0], [x1, y1], [x0, y1], [x0, y0]]],
});
const SQUARE = square(116.399, 39.899, 116.403, 39.901);
const people = {};

let seq = 0;
const rid = () => residentId('110101', '19800202', 300 + ++seq * 2);

async function ok(r, status = 200) {
  assert.equal(r.status, status, r.text);
  return r.body;
}

async function person(c, region) {
  return (await ok(await c.post('/api/v1/persons', { name: '钱多多', id_number: rid(), region_code: region }), 201)).id;
}

async function colour(id, c = cc) {
  return (await ok(await c.get(`/api/v1/persons/${id}/code`))).colour;
}

async function colours(ids, c = cc) {
  return Promise.all(ids.map((id) => colour(id, c)));
}

const zonesTotal = async (c = cc) => (await ok(await c.get('/api/v1/zones?page_size=100'))).total;

before(async () => {
  ctx = await startCityWith(
    {
      k_cc: ['command_center', '110101000000'],
      k_cc_west: ['command_center', '110102000000'],
      k_grid: ['grid_worker', '110101001001'],
      k_auditor: ['audit_admin', '110000000000'],
    },
    PW,
  );
  ({ k_cc: cc, k_cc_west: ccWest, k_grid: grid, k_auditor: auditor } = ctx.as);
  for (const [code, name, center] of [
    [B2, '2号楼', [116.4, 39.9]],
    [B3, '3号楼', [116.402, 39.9]],
    [B4, '4号楼', [116.41, 39.91]],
  ])
    await ok(await cc.post('/api/v1/regions', { code, name, level: 'building', parent_code: GRID, center }), 201);
  await ok(await ccWest.post('/api/v1/regions', { code: `${WEST_COMMUNITY}001`, name: '西一网格', level: 'grid', parent_code: WEST_COMMUNITY }), 201);
  await ok(await ccWest.post('/api/v1/regions', { code: BW, name: '西1号楼', level: 'building', parent_code: `${WEST_COMMUNITY}001`, center: [116.401, 39.9005] }), 201);
  people.b2 = [await person(cc, B2), await person(cc, B2)];
  people.b3 = [await person(cc, B3)];
  people.b4 = [await person(cc, B4)];
  people.west = [await person(ccWest, BW)];
  await ok(await cc.post('/api/v1/places', { name: '多福巷菜市场', kind: 'community', region_code: '110101001001', lng: 116.4005, lat: 39.9002 }), 201);
  await ok(await cc.post('/api/v1/places', { name: '远处小区', kind: 'community', region_code: '110101001001', lng: 116.42, lat: 39.92 }), 201);
});
after(async () => ctx?.stop());

test('a polygon that is not closed, crosses itself or has a hole outside is refused and saves nothing', async () => {
  const before_ = await zonesTotal();
  const open = { type: 'Polygon', coordinates: [[[116.399, 39.899], [116.403, 39.899], [116.403, 39.901], [116.399, 39.901]]] };
  const bowtie = { type: 'Polygon', coordinates: [[[116.399, 39.899], [116.403, 39.901], [116.403, 39.899], [116.399, 39.901], [116.399, 39.899]]] };
  const holeOutside = { type: 'Polygon', coordinates: [SQUARE.coordinates[0], [[117, 40], [117.1, 40], [117.1, 40.1], [117, 40]]] };
  const outOfRange = square(116.399, 39.899, 190, 39.901);
  for (const [boundary, says] of [[open, '闭合'], [bowtie, '自相交'], [holeOutside, '外环之内'], [outOfRange, '经度']]) {
    for (const url of ['/api/v1/zones', '/api/v1/zones/preview']) {
      const r = await cc.post(url, { kind: 'sealed', name: '坏区域', boundary });
      assert.deepEqual([r.status, errOf(r).code, errOf(r).field], [400, 'invalid_boundary', 'boundary'], r.text);
      assert.match(errOf(r).message, new RegExp(says));
    }
  }
  // neither a region nor a polygon; a polygon over open ground; a bad kind
  let r = await cc.post('/api/v1/zones', { kind: 'sealed' });
  assert.deepEqual([r.status, errOf(r).code, errOf(r).field], [400, 'required', 'region_code']);
  r = await cc.post('/api/v1/zones', { kind: 'sealed', boundary: square(100, 30, 100.01, 30.01) });
  assert.deepEqual([r.status, errOf(r).code, errOf(r).field], [400, 'zone_empty', 'boundary']);
  r = await cc.post('/api/v1/zones', { kind: 'lockdown', boundary: SQUARE });
  assert.deepEqual([r.status, errOf(r).field], [400, 'kind']);
  assert.equal(await zonesTotal(), before_);
  assert.deepEqual(await colours([...people.b2, ...people.b3]), ['green', 'green', 'green']);
});

let sealed;

test('the preview counts the codes a drawn zone would change, by building, and changes nothing', async () => {
  const before_ = await zonesTotal();
  const p = await ok(await cc.post('/api/v1/zones/preview', { kind: 'sealed', name: '多福巷封控区', boundary: SQUARE }));
  assert.equal(p.total, 3);
  assert.equal(p.changed, 3);
  assert.deepEqual(p.transitions, [{ from: 'green', to: 'red', count: 3 }]);
  assert.equal(p.buildings, 2);
  assert.equal(p.places, 1);
  assert.deepEqual(p.by_residence.map((x) => [x.region_name, x.people, x.changed]), [
    ['多福巷社区 · 第一网格 · 2号楼', 2, 2],
    ['多福巷社区 · 第一网格 · 3号楼', 1, 1],
  ]);
  assert.deepEqual(p.by_community.map((x) => [x.region_name, x.changed]), [['东华门街道 · 多福巷社区', 3]]);
  // nothing saved, nobody's code moved
  assert.equal(await zonesTotal(), before_);
  assert.deepEqual(await colours([...people.b2, ...people.b3]), ['green', 'green', 'green']);
  // a prevention zone has no rule by default: nobody would change
  const q = await ok(await cc.post('/api/v1/zones/preview', { kind: 'prevention', boundary: SQUARE }));
  assert.deepEqual([q.total, q.changed], [3, 0]);
});

test('a drawn sealed zone turns the people living inside red, only inside the caller\'s scope', async () => {
  const z = await ok(await cc.post('/api/v1/zones', { kind: 'sealed', name: '多福巷封控区', boundary: SQUARE }), 201);
  sealed = z.id;
  assert.equal(z.drawn, true);
  assert.equal(z.state, 'active');
  assert.deepEqual([z.buildings, z.places, z.people], [2, 1, 3]);
  // the lowest region holding what it covers: the market is registered at the community
  assert.equal(z.region_code, '110101001001');
  assert.deepEqual(await colours([...people.b2, ...people.b3]), ['red', 'red', 'red']);
  const reasons = (await ok(await cc.get(`/api/v1/persons/${people.b2[0]}/code`))).reasons.map((x) => x.rule);
  assert.deepEqual(reasons, ['sealed_zone']);
  assert.equal(await colour(people.b4[0]), 'green');
  // the west building's centre lies inside the square, but not in the east's scope
  assert.equal(await colour(people.west[0], ccWest), 'green');
  // someone registered afterwards in a covered building is red from the start
  const late = await person(cc, B3);
  assert.equal(await colour(late), 'red');
  people.b3.push(late);

  // the zone's page: buildings and places by name, people counted
  const g = await ok(await cc.get(`/api/v1/zones/${sealed}`));
  assert.deepEqual(g.building_list.map((b) => [b.region_name, b.people]), [
    ['多福巷社区 · 第一网格 · 2号楼', 2],
    ['多福巷社区 · 第一网格 · 3号楼', 2],
  ]);
  assert.deepEqual(g.place_list.map((p) => p.name), ['多福巷菜市场']);
  assert.equal(g.people, 4);
  assert.equal(g.boundary.type, 'Polygon');
  const listed = (await ok(await cc.get('/api/v1/zones?state=active'))).items.find((x) => x.id === sealed);
  assert.deepEqual([listed.kind_label, listed.drawn, listed.buildings, listed.people], ['封控区', true, 2, 4]);
  // the big screen's zones layer draws the polygon, not its anchor region's outline
  const layer = await ok(await cc.get('/api/v1/map/layers/zones'));
  const f = layer.features.find((x) => x.properties.id === sealed);
  assert.ok(f, JSON.stringify(layer.features.map((x) => x.properties)));
  assert.deepEqual(f.geometry, SQUARE);
});

test('the people inside: masked, in scope, audited; another district sees no zone of ours', async () => {
  const r = await ok(await cc.get(`/api/v1/zones/${sealed}/persons?page_size=10`));
  assert.equal(r.total, 4);
  for (const p of r.items) {
    assert.equal(p.name, '钱*多');
    assert.equal(p.colour, 'red');
    assert.match(p.region_name, /号楼$/);
  }
  // the raw text must not carry the full name anywhere
  assert.ok(!JSON.stringify(r).includes('钱多多'));
  const audit = await waitForAudit(auditor, 'action=zone.persons', (e) => e.object_id === sealed);
  assert.ok(audit.some((e) => e.object_id === sealed), JSON.stringify(audit));
  // the grid worker of the community reads it too (health.read in scope), but cannot lift
  assert.equal((await ok(await grid.get(`/api/v1/zones/${sealed}/persons`))).total, 4);
  assert.equal((await grid.post(`/api/v1/zones/${sealed}/lift`, { reason: '不行' })).status, 403);
  // the west district: the zone does not exist for it
  for (const r2 of [
    await ccWest.get(`/api/v1/zones/${sealed}`),
    await ccWest.get(`/api/v1/zones/${sealed}/persons`),
    await ccWest.get(`/api/v1/zones/${sealed}/lift-preview`),
    await ccWest.post(`/api/v1/zones/${sealed}/lift`, { reason: '越权解除' }),
  ])
    assert.equal(r2.status, 404, r2.text);
  assert.ok(!(await ok(await ccWest.get('/api/v1/zones'))).items.some((x) => x.id === sealed));
  // a west polygon over our buildings covers only its own building
  const w = await ok(await ccWest.post('/api/v1/zones/preview', { kind: 'sealed', boundary: SQUARE }));
  assert.deepEqual([w.total, w.buildings], [1, 1]);
});

test('lifting: needs a reason, is previewed without effect, audited, and restores the codes', async () => {
  let r = await cc.post(`/api/v1/zones/${sealed}/lift`, {});
  assert.deepEqual([r.status, errOf(r).field], [400, 'reason']);
  r = await cc.post(`/api/v1/zones/${sealed}/lift`, { reason: '   ' });
  assert.deepEqual([r.status, errOf(r).field], [400, 'reason']);
  const p = await ok(await cc.get(`/api/v1/zones/${sealed}/lift-preview`));
  assert.deepEqual([p.total, p.changed, p.transitions], [4, 4, [{ from: 'red', to: 'green', count: 4 }]]);
  assert.deepEqual(await colours(people.b3), ['red', 'red']);
  const z = await ok(await cc.post(`/api/v1/zones/${sealed}/lift`, { reason: '连续14天无新增病例' }));
  assert.equal(z.state, 'ended');
  assert.equal(z.lift_reason, '连续14天无新增病例');
  assert.deepEqual(await colours([...people.b2, ...people.b3]), ['green', 'green', 'green', 'green']);
  const audit = await waitForAudit(auditor, 'action=zone.lift', (e) => e.object_id === sealed);
  const entry = audit.find((e) => e.object_id === sealed);
  assert.ok(entry && entry.detail.includes('连续14天无新增病例'), JSON.stringify(audit));
  assert.ok((await ok(await cc.get('/api/v1/zones?state=ended'))).items.some((x) => x.id === sealed));
});

test('GeoJSON import: a bad feature is named and nothing is saved; a good collection creates every zone', async () => {
  const before_ = await zonesTotal();
  const feature = (name, kind, geometry, extra = {}) => ({ type: 'Feature', properties: { name, kind, ...extra }, geometry });
  const bowtie = { type: 'Polygon', coordinates: [[[116.399, 39.899], [116.403, 39.901], [116.403, 39.899], [116.399, 39.901], [116.399, 39.899]]] };
  let r = await cc.post('/api/v1/zones/import', JSON.stringify({
    type: 'FeatureCollection',
    features: [feature('二号楼管控区', 'controlled', square(116.3995, 39.8995, 116.4005, 39.9005)), feature('坏的', 'sealed', bowtie)],
  }));
  assert.deepEqual([r.status, errOf(r).code, errOf(r).field], [400, 'invalid_boundary', 'features[1].geometry'], r.text);
  assert.match(errOf(r).message, /第 2 个区域/);
  r = await cc.post('/api/v1/zones/import', JSON.stringify({
    type: 'FeatureCollection',
    features: [feature('二号楼管控区', 'controlled', square(116.3995, 39.8995, 116.4005, 39.9005)), feature('x', 'lockdown', SQUARE)],
  }));
  assert.deepEqual([r.status, errOf(r).field], [400, 'features[1].properties.kind'], r.text);
  r = await cc.post('/api/v1/zones/import', '{"type":"FeatureCollection","features":[');
  assert.deepEqual([r.status, errOf(r).code], [400, 'invalid_json']);
  assert.equal(await zonesTotal(), before_);
  assert.deepEqual(await colours(people.b2), ['green', 'green']);

  // a file as GIS tools write it: times as China time text, extra properties
  r = await cc.post('/api/v1/zones/import', JSON.stringify({
    type: 'FeatureCollection',
    features: [
      feature('二号楼管控区', 'controlled', square(116.3995, 39.8995, 116.4005, 39.9005), { valid_from: '2020-01-01 08:00', fid: 7 }),
      feature('三号楼防范区', 'prevention', square(116.4015, 39.8995, 116.4025, 39.9005)),
    ],
  }), { 'content-type': 'application/geo+json' });
  const b = await ok(r, 201);
  assert.equal(b.created, 2);
  assert.deepEqual(b.items.map((x) => [x.index, x.name, x.kind, x.buildings]), [
    [0, '二号楼管控区', 'controlled', 1],
    [1, '三号楼防范区', 'prevention', 1],
  ]);
  assert.equal(await zonesTotal(), before_ + 2);
  assert.deepEqual(await colours(people.b2), ['yellow', 'yellow']);
  assert.deepEqual(await colours(people.b3), ['green', 'green']);
  const z = await ok(await cc.get(`/api/v1/zones/${b.items[0].id}`));
  assert.equal(z.valid_from, Date.UTC(2020, 0, 1, 0, 0));
});

test('zones together: the worst wins, a lift previews and leaves the other zone in force; a region limits a polygon', async () => {
  // the import above left 二号楼管控区 (drawn, controlled) over 2号楼
  const region = await ok(await cc.post('/api/v1/zones', { kind: 'sealed', name: '第一网格封控', region_code: GRID }), 201);
  assert.equal(region.drawn, false);
  assert.equal(region.buildings, 4); // the city's 1号楼 (no centre: no polygon can take it) and 2-4号楼
  assert.deepEqual(await colours(people.b2), ['red', 'red']);
  const p = await ok(await cc.get(`/api/v1/zones/${region.id}/lift-preview`));
  // 2号楼 falls back to the controlled zone (yellow), the others to green
  assert.deepEqual(p.transitions, [{ from: 'red', to: 'green', count: 3 }, { from: 'red', to: 'yellow', count: 2 }]);
  assert.deepEqual(await colours(people.b2), ['red', 'red']);
  await ok(await cc.post(`/api/v1/zones/${region.id}/lift`, { reason: '调整为管控区' }));
  assert.deepEqual(await colours(people.b2), ['yellow', 'yellow']);
  assert.deepEqual(await colours([...people.b3, ...people.b4]), ['green', 'green', 'green']);
  // a polygon limited to a region: only what lies inside both
  const q = await ok(await cc.post('/api/v1/zones/preview', { kind: 'sealed', boundary: SQUARE, region_code: B3 }));
  assert.deepEqual([q.buildings, q.total, q.region_code], [1, 2, B3]);
  const r = await cc.post('/api/v1/zones/preview', { kind: 'sealed', boundary: SQUARE, region_code: B4 });
  assert.deepEqual([r.status, errOf(r).code], [400, 'zone_empty']);
  // the older PATCH still lifts, without a reason
  const z = await ok(await cc.post('/api/v1/zones', { kind: 'sealed', region_code: B4 }), 201);
  assert.equal(await colour(people.b4[0]), 'red');
  assert.equal((await cc.patch(`/api/v1/zones/${z.id}`, { valid_to: 0 })).status, 204);
  assert.equal(await colour(people.b4[0]), 'green');
});

test('risk areas: a change of level or a lift is previewed without effect, then saved', async () => {
  const now = Date.now();
  const area = await ok(await cc.post('/api/v1/risk-areas', { name: '某市某区预览街道', level: 'high', valid_from: now - 86400e3 }), 201);
  const who = [await person(cc, B4), await person(cc, B4)];
  for (const id of who)
    await ok(await cc.post(`/api/v1/persons/${id}/stays`, { area_id: area.id, arrived_at: now - 3600e3 }), 201);
  assert.deepEqual(await colours(who), ['red', 'red']);
  let p = await ok(await cc.post(`/api/v1/risk-areas/${area.id}/preview`, { level: 'medium' }));
  assert.deepEqual([p.total, p.changed, p.transitions], [2, 2, [{ from: 'red', to: 'yellow', count: 2 }]]);
  assert.deepEqual(p.by_residence.map((x) => x.region_name), ['多福巷社区 · 第一网格 · 4号楼']);
  p = await ok(await cc.post(`/api/v1/risk-areas/${area.id}/preview`, { valid_to: now - 7200e3 }));
  assert.deepEqual([p.changed, p.transitions], [2, [{ from: 'red', to: 'green', count: 2 }]]);
  // a name alone changes nobody's code; a bad window is refused like the PATCH
  p = await ok(await cc.post(`/api/v1/risk-areas/${area.id}/preview`, { name: '改名' }));
  assert.deepEqual([p.total, p.changed], [0, 0]);
  const bad = await cc.post(`/api/v1/risk-areas/${area.id}/preview`, { valid_to: now - 3 * 86400e3 });
  assert.deepEqual([bad.status, errOf(bad).field], [400, 'valid_to']);
  assert.equal((await grid.post(`/api/v1/risk-areas/${area.id}/preview`, { level: 'medium' })).status, 403);
  // nothing of it was saved
  const still = await ok(await cc.get(`/api/v1/risk-areas/${area.id}`));
  assert.deepEqual([still.level, still.valid_to, still.name], ['high', 0, '某市某区预览街道']);
  assert.deepEqual(await colours(who), ['red', 'red']);
  await ok(await cc.patch(`/api/v1/risk-areas/${area.id}`, { level: 'medium' }));
  assert.deepEqual(await colours(who), ['yellow', 'yellow']);
});

test('a zone over more people than one write batch (64 rows a statement on PostgreSQL): every code and its history', async () => {
  const B5 = `${GRID}005`;
  await ok(await cc.post('/api/v1/regions', { code: B5, name: '5号楼', level: 'building', parent_code: GRID, center: [116.43, 39.93] }), 201);
  const many = [];
  for (let i = 0; i < 150; i++) many.push(await person(cc, B5));
  const z = await ok(await cc.post('/api/v1/zones', { kind: 'controlled', boundary: square(116.429, 39.929, 116.431, 39.931) }), 201);
  assert.equal(z.people, 150);
  assert.deepEqual([...new Set(await colours(many))], ['yellow']);
  const first = (await ok(await cc.get(`/api/v1/persons/${many[0]}/code/history`))).items[0];
  const last = (await ok(await cc.get(`/api/v1/persons/${many[149]}/code/history`))).items[0];
  for (const h of [first, last]) assert.deepEqual([h.colour, h.cause], ['yellow', 'zone']);
  await ok(await cc.post(`/api/v1/zones/${z.id}/lift`, { reason: '批量测试' }));
  assert.deepEqual([...new Set(await colours(many))], ['green']);
  assert.equal((await ok(await cc.get(`/api/v1/persons/${many[77]}/code/history`))).total, 2);
});

test('a lift twice is refused; lifting a zone before its start cancels it', async () => {
  const z = await ok(await cc.post('/api/v1/zones', { kind: 'controlled', region_code: B4 }), 201);
  await ok(await cc.post(`/api/v1/zones/${z.id}/lift`, { reason: '第一次解除' }));
  const again = await cc.post(`/api/v1/zones/${z.id}/lift`, { reason: '第二次解除' });
  assert.deepEqual([again.status, errOf(again).code], [409, 'zone_ended']);
  assert.equal((await ok(await cc.get(`/api/v1/zones/${z.id}`))).lift_reason, '第一次解除');
  // a zone from tomorrow: pending, then cancelled (it ends where it starts) and listed as ended
  const from = Date.now() + 86400e3;
  const p = await ok(await cc.post('/api/v1/zones', { kind: 'sealed', region_code: B4, valid_from: from }), 201);
  assert.equal(p.state, 'pending');
  assert.ok((await ok(await cc.get('/api/v1/zones?state=pending'))).items.some((x) => x.id === p.id));
  const c = await ok(await cc.post(`/api/v1/zones/${p.id}/lift`, { reason: '取消' }));
  assert.deepEqual([c.state, c.valid_to], ['ended', from]);
  assert.ok((await ok(await cc.get('/api/v1/zones?state=ended'))).items.some((x) => x.id === p.id));
  assert.ok(!(await ok(await cc.get('/api/v1/zones?state=pending'))).items.some((x) => x.id === p.id));
  assert.equal((await cc.post(`/api/v1/zones/${p.id}/lift`, { reason: '再取消' })).status, 409);
  assert.equal((await cc.get('/api/v1/zones?state=soon')).status, 400);
});

test('a region moved elsewhere keeps its drawn zone: the covered buildings move with it', async () => {
  const G = '110101001001009', B = `${G}001`;
  await ok(await cc.post('/api/v1/regions', { code: G, name: '第九网格', level: 'grid', parent_code: '110101001001' }), 201);
  await ok(await cc.post('/api/v1/regions', { code: B, name: '9号楼', level: 'building', parent_code: G, center: [116.45, 39.95] }), 201);
  const who = await person(cc, B);
  const z = await ok(await cc.post('/api/v1/zones', { kind: 'sealed', name: '九号楼封控', boundary: square(116.449, 39.949, 116.451, 39.951) }), 201);
  assert.deepEqual([z.region_code, z.people], [B, 1]);
  assert.equal(await colour(who), 'red');
  // the grid moves to another community: codes shift, the zone follows
  await ok(await cc.post(`/api/v1/regions/${G}/move`, { code: '110101002001009' }));
  const moved = await ok(await cc.get(`/api/v1/zones/${z.id}`));
  assert.deepEqual([moved.region_code, moved.people], ['110101002001009001', 1]);
  assert.deepEqual(moved.building_list.map((b) => b.region_name), ['隆福寺社区 · 第九网格 · 9号楼']);
  assert.equal(await colour(who), 'red');
  await ok(await cc.post(`/api/v1/zones/${z.id}/lift`, { reason: '解除' }));
  assert.equal(await colour(who), 'green');
});

test('the header\'s region narrows the list (within): a zone of another community is not listed', async () => {
  const z = await ok(await cc.post('/api/v1/zones', { kind: 'prevention', name: '隆福寺防范区', region_code: '110101002001' }), 201);
  const ours = (await ok(await cc.get('/api/v1/zones?page_size=100&within=110101001001'))).items;
  assert.ok(ours.length > 0);
  assert.ok(!ours.some((x) => x.id === z.id));
  assert.ok(ours.every((x) => x.region_code.startsWith('110101001001')), JSON.stringify(ours.map((x) => x.region_code)));
  const theirs = (await ok(await cc.get('/api/v1/zones?page_size=100&within=110101002001'))).items;
  // with the zone the moved grid took along
  assert.deepEqual(theirs.map((x) => x.name).sort(), ['九号楼封控', '隆福寺防范区'].sort());
  assert.equal((await cc.get(`/api/v1/zones/${z.id}?within=110101001001`)).status, 404);
});

test('the list exports as CSV and Excel with names, never codes', async () => {
  const r = await cc.get('/api/v1/zones?format=csv&state=ended');
  assert.equal(r.status, 200, r.text);
  const lines = r.text.replace(/^\uFEFF/, '').trim().split(/\r?\n/);
  assert.equal(lines[0], '类型,名称,所属区划,划定方式,生效时间,解除时间,楼栋数,居住人数,状态,解除原因');
  const row = lines.find((l) => l.includes('多福巷封控区'));
  assert.ok(row, r.text);
  assert.match(row, /^封控区,多福巷封控区,东城区 · 东华门街道 · 多福巷社区,地图绘制,.*,2,4,已解除,连续14天无新增病例$/);
  assert.ok(!/1101010010/.test(r.text), 'no region codes in the file');
  const x = await cc.get('/api/v1/zones?format=xlsx');
  assert.equal(x.status, 200);
  assert.match(x.headers.get('content-type'), /spreadsheetml/);
});
