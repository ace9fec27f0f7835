// 封控管控 in the console (docs/zones.md): the command centre draws a polygon
// around two buildings on the map of the stored region polygons, previews
// (3 codes would turn red, nothing saved), saves (the people living there
// are red), reads the zone's buildings and its people masked, lifts it
// with a reason after the lift's preview (green again), and imports a
// GeoJSON file: one with a bad feature is refused naming it, a good one
// creates its zones.
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import fs from 'node:fs';
import path from 'node:path';
import { launch, assertClean, shot, consolePage, sharedConsolePage } from './lib.mjs';
import { startCityWith, residentId } from '../api/lib.mjs';

const PW = 'Zones-console-2026!';
const COMMUNITY = '110101001001';
const GRID = '110101001001001';
let ctx, browser, cc;
const people = {};

const field = (page, name) => page.locator(`[data-test=${name}]`);
const square = (x0, y0, x1, y1) => ({ type: 'Polygon', coordinates: [[[x0, y0], [x1, y0], [x1, y1], [x0, y1], [x0, y0]]] });

async function ok(r, status = 200) {
  assert.equal(r.status, status, r.text);
  return r.body;
}
let seq = 0;
async function person(region) {
  const id_number = residentId('110101', '19850505', 500 + ++seq * 2);
  return (await ok(await cc.post('/api/v1/persons', { name: '孙小美', id_number, region_code: region }), 201)).id;
}
const colours = async (ids) => Promise.all(ids.map(async (id) => (await ok(await cc.get(`/api/v1/persons/${id}/code`))).colour));

before(async () => {
  ctx = await startCityWith({ cc_dc: ['command_center', '110101000000'] }, PW);
  cc = ctx.as.cc_dc;
  // the community's outline and three buildings with their centres
  await ok(await cc.patch(`/api/v1/regions/${COMMUNITY}`, { name: '多福巷社区', boundary: square(116.396, 39.896, 116.414, 39.914) }));
  for (const [n, center] of [['2', [116.4, 39.9]], ['3', [116.402, 39.9]], ['4', [116.41, 39.91]]])
    await ok(await cc.post('/api/v1/regions', { code: `${GRID}00${n}`, name: `${n}号楼`, level: 'building', parent_code: GRID, center }), 201);
  people.inside = [await person(`${GRID}002`), await person(`${GRID}002`), await person(`${GRID}003`)];
  people.outside = [await person(`${GRID}004`)];
  browser = await launch();
});
after(async () => {
  await browser?.close();
  await ctx?.stop();
});

test('draw a sealed zone on the map, preview, save, read it, lift it with a reason', async () => {
  const page = await sharedConsolePage(browser, ctx, '/trace/zones', cc);
  await field(page, 'zone-table').waitFor();
  await field(page, 'zone-add').click();
  const dialog = field(page, 'zone-dialog');
  const map = field(page, 'zone-map');
  await map.locator('canvas').first().waitFor();
  // the buildings' pixel positions, as the map drew them
  let pts = [];
  for (let i = 0; i < 50 && pts.length < 3; i++) {
    pts = JSON.parse((await map.getAttribute('data-buildings')) || '[]');
    if (pts.length < 3) await page.waitForTimeout(100);
  }
  const at = Object.fromEntries(pts.map((p) => [p.name, p]));
  assert.ok(at['2号楼'] && at['3号楼'] && at['4号楼'], JSON.stringify(pts));
  // a box around 2号楼 and 3号楼 that leaves 4号楼 out
  const x0 = Math.min(at['2号楼'].x, at['3号楼'].x) - 20, x1 = Math.max(at['2号楼'].x, at['3号楼'].x) + 20;
  const y0 = Math.min(at['2号楼'].y, at['3号楼'].y) - 20, y1 = Math.max(at['2号楼'].y, at['3号楼'].y) + 20;
  assert.ok(at['4号楼'].x > x1 || at['4号楼'].y < y0, 'the third building lies outside the box');
  for (const [x, y] of [[x0, y0], [x1, y0], [x1, y1], [x0, y1]]) await map.click({ position: { x, y } });
  assert.equal(await map.getAttribute('data-vertices'), '4');
  await field(page, 'zone-map-hint').getByText('框内楼栋 2 栋').waitFor();
  await field(page, 'zone-form-name').fill('多福巷封控区');

  // the preview: what would change, nothing saved
  await field(page, 'zone-form-preview').click();
  const summary = field(page, 'zone-effect-summary');
  await summary.waitFor();
  assert.match(await summary.innerText(), /保存后将有 3 人的健康码发生变化（绿→红 3 人）/);
  assert.deepEqual(await field(page, 'zone-effect-building').allInnerTexts(), [
    '多福巷社区 · 第一网格 · 2号楼', '多福巷社区 · 第一网格 · 3号楼',
  ]);
  assert.equal((await ok(await cc.get('/api/v1/zones'))).total, 0);
  assert.deepEqual(await colours(people.inside), ['green', 'green', 'green']);
  await shot(page, 'console-zone-draw-preview');

  await field(page, 'zone-form-submit').click();
  await dialog.waitFor({ state: 'hidden' });
  const row = field(page, 'zone-table').locator('tr').filter({ hasText: '多福巷封控区' });
  await row.waitFor();
  assert.match(await row.innerText(), /封控区[\s\S]*地图绘制/);
  assert.equal(await row.locator('[data-test=zone-buildings]').innerText(), '2');
  assert.equal(await row.locator('[data-test=zone-people]').innerText(), '3');
  assert.equal(await row.locator('[data-test=zone-state]').innerText(), '生效中');
  assert.deepEqual(await colours(people.inside), ['red', 'red', 'red']);
  assert.deepEqual(await colours(people.outside), ['green']);

  // the zone's page: buildings by name, people masked
  await row.locator('[data-test=zone-name]').click();
  const detail = field(page, 'zone-detail');
  await detail.locator('[data-test=zone-detail-people] .el-table__row').first().waitFor();
  assert.match(await field(page, 'zone-detail-buildings').innerText(), /2号楼[\s\S]*3号楼/);
  // the drawn polygon on the zone's map: its four vertices
  await detail.locator('[data-test=zone-map][data-vertices="4"]').waitFor();
  assert.equal(await detail.locator('.el-drawer__title').innerText(), '多福巷封控区');
  await page.waitForTimeout(300); // the drawer's slide-in
  await shot(page, 'console-zone-detail');
  const names = await field(page, 'zone-detail-people').locator('.el-table__row td:first-child').allInnerTexts();
  assert.deepEqual(names, ['孙*美', '孙*美', '孙*美']);
  await page.keyboard.press('Escape');
  await detail.waitFor({ state: 'hidden' });

  // lift: the preview, a reason, green again
  await row.locator('[data-test=zone-lift]').click();
  const lift = field(page, 'zone-lift-dialog');
  await lift.locator('[data-test=zone-effect-summary]').waitFor();
  assert.match(await lift.locator('[data-test=zone-effect-summary]').innerText(), /解除后将有 3 人的健康码发生变化（红→绿 3 人）/);
  assert.equal(await field(page, 'zone-lift-submit').isDisabled(), true, 'no reason, no lift');
  await field(page, 'zone-lift-reason').fill('连续14天无新增病例');
  await field(page, 'zone-lift-submit').click();
  await lift.waitFor({ state: 'hidden' });
  await row.locator('[data-test=zone-state]').filter({ hasText: '已解除' }).waitFor();
  assert.deepEqual(await colours(people.inside), ['green', 'green', 'green']);
  assertClean(page);
});

test('import GeoJSON: a bad feature is named and nothing saved; a good file creates its zones', async () => {
  const page = await sharedConsolePage(browser, ctx, '/trace/zones', cc);
  await field(page, 'zone-table').waitFor();
  const before_ = (await ok(await cc.get('/api/v1/zones'))).total;
  const feature = (name, kind, geometry) => ({ type: 'Feature', properties: { name, kind }, geometry });
  const file = (name, features) => {
    const f = path.join(ctx.dir, name);
    fs.writeFileSync(f, JSON.stringify({ type: 'FeatureCollection', features }));
    return f;
  };
  const good = feature('二号楼管控区', 'controlled', square(116.3995, 39.8995, 116.4005, 39.9005));
  const open = { type: 'Polygon', coordinates: [[[116.4015, 39.8995], [116.4025, 39.8995], [116.4025, 39.9005], [116.4015, 39.9005]]] };

  await field(page, 'zone-import').click();
  const dialog = field(page, 'zone-import-dialog');
  await field(page, 'zone-import-file').setInputFiles(file('bad.geojson', [good, feature('三号楼', 'sealed', open)]));
  await field(page, 'zone-import-run').click();
  await field(page, 'zone-import-error').waitFor();
  assert.match(await field(page, 'zone-import-error').innerText(), /第 2 个区域：.*闭合[\s\S]*features\[1\]\.geometry/);
  assert.equal((await ok(await cc.get('/api/v1/zones'))).total, before_);

  await field(page, 'zone-import-file').setInputFiles(file('good.geojson', [good]));
  await field(page, 'zone-import-run').click();
  await field(page, 'zone-import-result').getByText('二号楼管控区').waitFor();
  await dialog.locator('.el-dialog__footer').getByRole('button', { name: '关闭' }).click();
  await dialog.waitFor({ state: 'hidden' });
  const row = field(page, 'zone-table').locator('tr').filter({ hasText: '二号楼管控区' });
  await row.waitFor();
  assert.match(await row.innerText(), /管控区[\s\S]*生效中/);
  assert.deepEqual(await colours(people.inside), ['yellow', 'yellow', 'green']);
  await shot(page, 'console-zones');
  assertClean(page);
});

test('中高风险地区: a change of level and a lift say whose codes they change before they are saved', async () => {
  const now = Date.now();
  const area = await ok(await cc.post('/api/v1/risk-areas', { name: '某市预览街道', level: 'high', valid_from: now - 86400e3 }), 201);
  const who = people.outside[0];
  await ok(await cc.post(`/api/v1/persons/${who}/stays`, { area_id: area.id, arrived_at: now - 3600e3 }), 201);
  assert.deepEqual(await colours([who]), ['red']);
  const page = await sharedConsolePage(browser, ctx, '/trace/risk-areas', cc);
  const row = field(page, 'risk-table').locator('tr').filter({ hasText: '某市预览街道' });
  const box = page.locator('.el-message-box');
  const edit = async () => {
    await row.locator('[data-test=risk-edit]').click();
    await field(page, 'risk-form-level-medium').click();
    await field(page, 'risk-form-submit').click();
    await box.waitFor();
  };
  await edit();
  assert.match(await box.innerText(), /保存后将有 1 人的健康码发生变化（红→黄 1 人）/);
  // cancelled: nothing saved
  await box.getByRole('button', { name: '取消' }).click();
  await box.waitFor({ state: 'hidden' });
  assert.equal((await ok(await cc.get(`/api/v1/risk-areas/${area.id}`))).level, 'high');
  assert.deepEqual(await colours([who]), ['red']);
  await field(page, 'risk-dialog').getByRole('button', { name: '取消' }).click();
  await edit();
  await box.getByRole('button', { name: '确认' }).click();
  await row.locator('[data-test=risk-level]').filter({ hasText: '中风险' }).waitFor();
  assert.deepEqual(await colours([who]), ['yellow']);
  // a lift now: who stayed there while it was listed keeps the reason for 14 days
  await row.locator('[data-test=risk-lift]').click();
  await box.waitFor();
  assert.match(await box.innerText(), /不会改变任何人的健康码颜色/);
  await box.getByRole('button', { name: '解除' }).click();
  await row.locator('[data-test=risk-state]').filter({ hasText: '已解除' }).waitFor();
  assert.deepEqual(await colours([who]), ['yellow']);
  assertClean(page);
});
