// 城市点位匹配 (东软核酸数据匹配, docs/nat.md): the command centre imports the
// city's list from an xlsx made by openpyxl in the console's dialog, sees
// the import's summary and its row error, filters the uncertain matches,
// opens the review drawer with the candidates' scores and distances and
// confirms one; the list then shows it confirmed with its district site.
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import fs from 'node:fs';
import path from 'node:path';
import { execFileSync } from 'node:child_process';
import { launch, assertClean, shot, consolePage, choose } from './lib.mjs';
import { startCityWith } from '../api/lib.mjs';
import { selectors } from 'playwright-core';

selectors.setTestIdAttribute('data-test');

const PW = 'Nat-match-2026!';
const PY = process.env.FK_PYTHON || '/usr/bin/python3';
let ctx, browser, cc, jingshan;

before(async () => {
  ctx = await startCityWith({ cc_dc: ['command_center', '110101000000'] }, PW);
  ({ cc_dc: cc } = ctx.as);
  for (const body of [
    { name: '多福巷核酸检测点', region_code: '110101001001', lng: 116.4, lat: 39.91 },
    { name: '景山公园采样点', region_code: '110101002001', lng: 116.397, lat: 39.925 },
  ]) {
    const r = await cc.post('/api/v1/nat/sites', { kind: 'fixed', ...body });
    assert.equal(r.status, 201, r.text);
    if (body.name.startsWith('景山')) jingshan = r.body;
  }
  browser = await launch();
});
after(async () => {
  await browser?.close();
  await ctx?.stop();
});

function cityXlsx() {
  const out = path.join(ctx.dir, 'city-list.xlsx');
  execFileSync(PY, ['-c', `
import sys, openpyxl
wb = openpyxl.Workbook()
ws = wb.active
ws.title = '城市点位'
ws.append(['点位编码*', '点位名称*', '所属区/街道', '地址', '经度', '纬度'])
ws.append(['BJ-DC-001', '多福巷核酸采样点', '东城区东华门街道', '多福巷1号', 116.4003, 39.9102])
ws.append(['BJ-DC-002', '景山公园东门核酸点', '东城区景山街道', '景山东街', 116.397, 39.9385])
ws.append(['BJ-DC-003', '只有经度的点位', '东城区', '', 116.4, None])
wb.save(sys.argv[1])
`, out]);
  return out;
}

const field = (page, name) => page.getByTestId(name);

test('import the city list from an xlsx and confirm an uncertain match in the review drawer', async () => {
  const page = await consolePage(browser, ctx, '/nat/city-sites', cc);
  await field(page, 'nat-city-total').waitFor();
  assert.match(await field(page, 'nat-city-total').innerText(), /共 0 个城市点位/);

  await field(page, 'nat-city-import').click();
  await field(page, 'nat-city-file').setInputFiles(cityXlsx());
  await field(page, 'nat-city-upload').click();
  const status = field(page, 'job-status');
  await status.filter({ hasText: '自动匹配' }).waitFor();
  assert.match(await status.innerText(), /共 3 行：新增 2，更新 0，出错 1；自动匹配 1，待审核 1，未匹配 0/);
  const errs = field(page, 'nat-city-row-errors');
  await errs.waitFor();
  assert.match(await errs.innerText(), /4\s+纬度\s+经度和纬度应同时填写/);
  await shot(page, 'console-nat-city-import');
  await page.locator('[data-test=nat-city-import-dialog]').getByRole('button', { name: '关闭', exact: true }).click();

  const table = field(page, 'nat-city-table');
  await table.locator('tr').filter({ hasText: 'BJ-DC-001' }).filter({ hasText: '自动匹配' }).waitFor();
  await choose(page, 'nat-city-filter-state', '待审核');
  await page.getByTestId('nat-city-submit').click();
  const row = table.locator('tbody tr').filter({ hasText: 'BJ-DC-002' });
  await row.waitFor();
  await table.locator('tbody tr').filter({ hasText: 'BJ-DC-001' }).waitFor({ state: 'detached' });
  assert.equal(await row.getByTestId('nat-city-state').innerText(), '待审核');

  await row.getByTestId('nat-city-review').click();
  const drawer = field(page, 'nat-city-drawer');
  const cand = drawer.getByTestId('nat-city-candidates').locator('tbody tr').first();
  await cand.waitFor();
  assert.equal(await cand.getByTestId('nat-city-candidate-name').innerText(), '景山公园采样点');
  assert.match(await cand.getByTestId('nat-city-candidate-distance').innerText(), /^1,?5\d\d 米$/);
  const score = Number(await cand.getByTestId('nat-city-candidate-score').innerText());
  assert.ok(score > 0.5 && score < 0.85, `score ${score}`);
  await shot(page, 'console-nat-city-review');
  await cand.getByTestId('nat-city-confirm').click();
  await drawer.getByTestId('nat-city-drawer-state').filter({ hasText: '已确认' }).waitFor();
  await page.keyboard.press('Escape');

  await choose(page, 'nat-city-filter-state', '已确认');
  await page.getByTestId('nat-city-submit').click();
  const done = table.locator('tbody tr').filter({ hasText: 'BJ-DC-002' });
  await done.getByTestId('nat-city-site').filter({ hasText: '景山公园采样点' }).waitFor();
  assert.equal(await done.getByTestId('nat-city-state').innerText(), '已确认');

  const api = await cc.get('/api/v1/nat/city-sites/lookup?code=BJ-DC-002');
  assert.equal(api.body.city_site.state, 'confirmed');
  assert.equal(api.body.site.id, jingshan.id);
  assertClean(page);
});
