// 中高风险地区 in the console (issue 11, docs/health-code.md "Risk areas"):
// the command centre creates an area in the dialog, lifts it after the
// confirmation, and imports an xlsx written by openpyxl (one bad row shown
// with its row number, the others listed); a grid worker reads the list
// without the write actions.
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import fs from 'node:fs';
import path from 'node:path';
import { execFileSync } from 'node:child_process';
import { launch, assertClean, shot, consolePage } from './lib.mjs';
import { startCityWith } from '../api/lib.mjs';

const PW = 'Risk-areas-2026!';
const PY = process.env.FK_PYTHON || '/usr/bin/python3';
let ctx, browser, cc, gw;

before(async () => {
  ctx = await startCityWith({ cc_dc: ['command_center', '110101000000'], grid_dc: ['grid_worker', '110101001001'] }, PW);
  ({ cc_dc: cc, grid_dc: gw } = ctx.as);
  browser = await launch();
});
after(async () => {
  await browser?.close();
  await ctx?.stop();
});

const field = (page, name) => page.locator(`[data-test=${name}]`);

function xlsx(rows) {
  const out = path.join(ctx.dir, 'risk.xlsx');
  execFileSync(PY, ['-c', `
import json, sys, openpyxl
wb = openpyxl.Workbook()
ws = wb.active
ws.title = '中高风险地区'
for r in json.loads(sys.argv[2]):
    ws.append(r)
wb.save(sys.argv[1])
`, out, JSON.stringify(rows)]);
  return out;
}

test('the command centre creates an area, lifts it, and imports an xlsx', async () => {
  const page = await consolePage(browser, ctx, '/trace/risk-areas', cc);
  const table = field(page, 'risk-table');
  await field(page, 'risk-add').click();
  const dialog = field(page, 'risk-dialog');
  await field(page, 'risk-form-name').fill('某市某区幸福街道');
  await field(page, 'risk-form-level-high').click();
  await field(page, 'risk-form-submit').click();
  await dialog.waitFor({ state: 'hidden' });
  const row = table.locator('tr').filter({ hasText: '某市某区幸福街道' });
  await row.waitFor();
  assert.match(await row.innerText(), /高风险[\s\S]*生效中/);
  assert.equal(await row.locator('[data-test=risk-level]').evaluate((e) => e.classList.contains('el-tag--danger')), true, 'high in red');

  await row.locator('[data-test=risk-lift]').click();
  await page.locator('.el-message-box').getByRole('button', { name: '解除' }).click();
  await row.locator('[data-test=risk-state]').filter({ hasText: '已解除' }).waitFor();
  const api = (await cc.get('/api/v1/risk-areas?q=' + encodeURIComponent('幸福街道'))).body.items[0];
  assert.equal(api.state, 'ended');
  assert.ok(api.valid_to > 0);

  await field(page, 'risk-import').click();
  const file = xlsx([
    ['地区名称*', '风险等级*', '所在区划代码', '生效时间*', '解除时间'],
    ['某省某市东风镇', '中风险', '', '2026-11-20 08:00', ''],
    ['某省某市红旗镇', '高风险', '110101002000', '2026-11-21', ''],
    ['某省某市错误镇', '低风险', '', '2026-11-21', ''],
  ]);
  await field(page, 'risk-import-file').setInputFiles(file);
  await field(page, 'risk-import-run').click();
  const imp = field(page, 'risk-import-dialog');
  await imp.getByText('出错 1').waitFor();
  assert.match(await field(page, 'risk-import-errors').innerText(), /4[\s\S]*第4行：风险等级应为“中风险”或“高风险”/);
  await imp.getByText('下载错误报告').waitFor();
  await imp.locator('.el-dialog__footer').getByRole('button', { name: '关闭' }).click();
  const orange = table.locator('tr').filter({ hasText: '某省某市东风镇' });
  await orange.waitFor();
  assert.equal(await orange.locator('[data-test=risk-level]').evaluate((e) => e.classList.contains('el-tag--warning')), true, 'medium in orange');
  assert.match(await table.locator('tr').filter({ hasText: '某省某市红旗镇' }).innerText(), /高风险[\s\S]*景山街道/);
  assert.equal(await table.locator('tr').filter({ hasText: '错误镇' }).count(), 0);
  await shot(page, 'console-trace-risk-areas');
  assertClean(page);
});

test('a grid worker reads the list without the write actions', async () => {
  const page = await consolePage(browser, ctx, '/trace/risk-areas', gw);
  await field(page, 'risk-table').locator('tr').filter({ hasText: '某市某区幸福街道' }).waitFor();
  assert.equal(await field(page, 'risk-add').count(), 0);
  assert.equal(await field(page, 'risk-import').count(), 0);
  assert.equal(await field(page, 'risk-lift').count(), 0);
  assertClean(page);
});
