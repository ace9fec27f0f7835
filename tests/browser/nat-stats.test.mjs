// 核酸统计 in the console (issue 10, docs/nat.md "Statistics"): the district
// sees both streets with their sites, scans and the running plan's planned
// and actual figures (the corrected one beside the counted), the district
// row summed and the industries; the street sees its own row; the Excel
// export downloads and opens (openpyxl) with the figures shown.
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import fs from 'node:fs';
import path from 'node:path';
import { execFileSync } from 'node:child_process';
import { launch, assertClean, shot, consolePage } from './lib.mjs';
import { startCityWith, sqlRun } from '../api/lib.mjs';

const PW = 'Nat-stats-2026!';
const S1 = '110101001000';
const S2 = '110101002000';
let ctx, browser, cc, street, plan;

before(async () => {
  ctx = await startCityWith({ cc_dc: ['command_center', '110101000000'], street_dc: ['street_staff', S1] }, PW);
  ({ cc_dc: cc, street_dc: street } = ctx.as);
  const now = Date.now();
  let r = await cc.post('/api/v1/nat/sites', { name: '多福巷核酸点', kind: 'fixed', region_code: '110101001001' });
  assert.equal(r.status, 201, r.text);
  const site = r.body;
  r = await cc.post('/api/v1/nat/plans', { number: 'ST-R1', name: '东城区统计轮', starts_at: now - 3600000, ends_at: now + 36000000 });
  assert.equal(r.status, 201, r.text);
  plan = r.body;
  const edu = (await cc.get('/api/v1/nat/industries')).body.items.find((i) => i.name === '教育').id;
  r = await cc.put(`/api/v1/nat/plans/${plan.id}/targets`, {
    targets: [{ region_code: S1, planned: 100 }, { region_code: S2, planned: 80 }, { region_code: S1, industry_id: edu, planned: 20 }],
  });
  assert.equal(r.status, 200, r.text);
  // as the sampling part counts: the figures and this hour's scans at the site
  sqlRun(ctx, `UPDATE nat_plan_figures SET actual = 90 WHERE plan_id = ${plan.id} AND region_code = ${S1}000000 AND industry_id = 0`);
  sqlRun(ctx, `UPDATE nat_plan_figures SET actual = 12 WHERE plan_id = ${plan.id} AND industry_id = ${edu}`);
  sqlRun(ctx, `UPDATE nat_plan_figures SET actual = 40 WHERE plan_id = ${plan.id} AND region_code = ${S2}000000`);
  sqlRun(ctx, `INSERT INTO nat_site_hours (site_id, hour, region_code, n) VALUES (${site.id}, ${now - (now % 3600000)}, 110101001001000000, 37)`);
  r = await cc.post(`/api/v1/nat/plans/${plan.id}/corrections`, { region_code: S2, actual: 45, reason: '5人在外区检测' });
  assert.equal(r.status, 200, r.text);
  browser = await launch();
});
after(async () => {
  await browser?.close();
  await ctx?.stop();
});

const rowOf = (page, name) => page.locator('[data-test=nat-stats-table]').locator('tbody tr').filter({ hasText: name });
const cell = (row, id) => row.locator(`[data-test=${id}]`).innerText();

test('the district: streets with sites, scans, planned, counted and corrected; the district summed; the industries; the Excel export', async () => {
  const page = await consolePage(browser, ctx, '/nat/stats', cc);
  const s1 = rowOf(page, '东华门街道');
  await s1.locator('[data-test=nat-stats-planned]').filter({ hasText: '100' }).waitFor();
  assert.equal(await cell(s1, 'nat-stats-actual'), '90');
  assert.equal(await cell(s1, 'nat-stats-corrected'), '—');
  assert.equal(await cell(s1, 'nat-stats-sites'), '1');
  assert.equal(await cell(s1, 'nat-stats-scans'), '37');
  assert.equal(await cell(s1, 'nat-stats-unattended'), '1', 'open, all day, nobody on duty');
  const s2 = rowOf(page, '景山街道');
  assert.equal(await cell(s2, 'nat-stats-actual'), '40');
  assert.equal(await cell(s2, 'nat-stats-corrected'), '45');
  assert.match(await s2.locator('[data-test=nat-stats-progress]').innerText(), /56%/);
  const text = await page.locator('[data-test=nat-stats-table]').innerText();
  assert.ok(!text.includes(S1) && !text.includes(S2), 'names, never codes');
  await shot(page, 'console-nat-stats-streets');

  // the Excel export of what is shown, opened by another program
  const [dl] = await Promise.all([page.waitForEvent('download'), page.locator('[data-test=nat-stats-export]').click()]);
  assert.equal(await dl.failure(), null);
  const file = path.join(ctx.dir, `stats-${Date.now()}.xlsx`);
  await dl.saveAs(file);
  const rows = JSON.parse(execFileSync('/usr/bin/python3', ['-c', `
import json, sys, openpyxl
ws = openpyxl.load_workbook(sys.argv[1], read_only=True).worksheets[0]
print(json.dumps([[("" if v is None else str(v)) for v in r] for r in ws.iter_rows(values_only=True)], ensure_ascii=False))
`, file], { encoding: 'utf8' }));
  const jing = rows.find((r) => r[2] === '景山街道');
  assert.deepEqual([jing[0], jing[12], jing[13], jing[14], jing[16]], ['ST-R1', '80', '40', '45', '35']);

  await page.getByRole('tab', { name: '区级统计' }).click();
  const d = rowOf(page, '东城区');
  await d.locator('[data-test=nat-stats-planned]').filter({ hasText: '180' }).waitFor();
  assert.equal(await cell(d, 'nat-stats-actual'), '130');
  assert.equal(await cell(d, 'nat-stats-corrected'), '135', 'what the streets stand by: 90 + 45');
  assert.match(await d.innerText(), /2 个街道/);

  await page.getByRole('tab', { name: '行业统计' }).click();
  const e = rowOf(page, '教育');
  await e.locator('[data-test=nat-stats-planned]').filter({ hasText: '20' }).waitFor();
  assert.equal(await cell(e, 'nat-stats-actual'), '12');
  assert.match(await e.locator('[data-test=nat-stats-progress]').innerText(), /60%/);
  await shot(page, 'console-nat-stats-industries');
  assertClean(page);
});

test('a street sees its own row only', async () => {
  const page = await consolePage(browser, ctx, '/nat/stats', street);
  await rowOf(page, '东华门街道').locator('[data-test=nat-stats-planned]').filter({ hasText: '100' }).waitFor();
  assert.equal(await page.locator('[data-test=nat-stats-table]').locator('tbody tr').count(), 1);
  assertClean(page);
});
