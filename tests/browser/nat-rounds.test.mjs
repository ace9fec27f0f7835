// 历史轮次 in the console (issue 10, docs/nat.md "Historical rounds"): the
// district imports a street round's figures from a CSV file through the
// import dialog (one row refused, its error report offered), opens the
// figures with their total, and compares two rounds per street; a street's
// worker sees its own street's row only.
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import fs from 'node:fs';
import path from 'node:path';
import { launch, assertClean, shot, consolePage } from './lib.mjs';
import { startCityWith } from '../api/lib.mjs';

const PW = 'Nat-rounds-2026!';
const S1 = '110101001000';
const S2 = '110101002000';
let ctx, browser, cc, street, r1, r2;

before(async () => {
  ctx = await startCityWith({ cc_dc: ['command_center', '110101000000'], street_dc: ['street_staff', S1] }, PW);
  ({ cc_dc: cc, street_dc: street } = ctx.as);
  let r = await cc.post('/api/v1/nat/rounds', { name: '街道第一轮', kind: 'street', first_day: '2022-05-01' });
  assert.equal(r.status, 201, r.text);
  r1 = r.body;
  r = await cc.post('/api/v1/nat/rounds', { name: '街道第二轮', kind: 'street', first_day: '2022-05-08' });
  assert.equal(r.status, 201, r.text);
  r2 = r.body;
  r = await cc.put(`/api/v1/nat/rounds/${r1.id}/figures`, { figures: [{ region_code: S1, planned: 1000, tested: 900, positive: 1 }, { region_code: S2, planned: 500, tested: 450, positive: 0 }] });
  assert.equal(r.status, 200, r.text);
  browser = await launch();
});
after(async () => {
  await browser?.close();
  await ctx?.stop();
});

const field = (page, name) => page.locator(`[data-test=${name}]`);

test('the district imports a CSV, sees the figures with their total, and compares two rounds', async () => {
  const page = await consolePage(browser, ctx, '/nat/rounds', cc);
  const table = field(page, 'nat-round-table');
  await table.locator('tr').filter({ hasText: '街道第二轮' }).locator('[data-test=nat-round-import]').click();
  const file = path.join(ctx.dir, 'round2.csv');
  fs.writeFileSync(file, `街道,学校,应检人数,已检人数,阳性人数,未检人数\n东华门街道,,1000,980,0,20\n景山街道,,500,480,0,\n不存在街道,,1,1,0,\n`);
  await field(page, 'nat-round-import-file').setInputFiles(file);
  await field(page, 'nat-round-import-run').click();
  const dialog = field(page, 'nat-round-import-dialog');
  await dialog.getByText('出错 1').waitFor();
  await dialog.getByText('下载错误报告').waitFor();
  await dialog.locator('.el-dialog__footer').getByRole('button', { name: '关闭' }).click();
  await table.locator('tr').filter({ hasText: '街道第二轮' }).locator('[data-test=nat-round-open]').click();
  const figures = field(page, 'nat-round-figures');
  await figures.locator('tr').filter({ hasText: '景山街道' }).waitFor();
  assert.match(await figures.innerText(), /合计[\s\S]*1,500[\s\S]*1,460/);
  await page.keyboard.press('Escape');
  await table.locator('tr').filter({ hasText: '街道第一轮' }).locator('.el-checkbox').click();
  await table.locator('tr').filter({ hasText: '街道第二轮' }).locator('.el-checkbox').click();
  await field(page, 'nat-round-compare').click();
  const cmp = field(page, 'nat-round-compare-table');
  const row = cmp.locator('tr').filter({ hasText: '东华门街道' });
  await row.waitFor();
  assert.match(await row.innerText(), /900 \/ 1,000[\s\S]*980 \/ 1,000[\s\S]*\+8\.0%/);
  await shot(page, 'console-nat-rounds');
  assertClean(page);
});

test('a street sees its own street only', async () => {
  const page = await consolePage(browser, ctx, '/nat/rounds', street);
  await field(page, 'nat-round-table').locator('tr').filter({ hasText: '街道第一轮' }).locator('[data-test=nat-round-open]').click();
  const figures = field(page, 'nat-round-figures');
  await figures.locator('tr').filter({ hasText: '东华门街道' }).waitFor();
  assert.equal(await figures.locator('.el-table__body tbody tr').count(), 1);
  assert.equal(await field(page, 'nat-round-import').count(), 0, 'no import without nat.plan');
  assertClean(page);
});
