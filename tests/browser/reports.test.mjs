// Custom reports in Chromium (统计分析 → 自定义报表): a report defined in the
// editor dialog, run (the table shows the street's names and counts),
// renamed, and downloaded as Excel, the workbook read by openpyxl.
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import fs from 'node:fs';
import path from 'node:path';
import { execFileSync } from 'node:child_process';
import { selectors } from 'playwright-core';
import { startServer, launch, consolePage, choose, assertClean, shot, CITY_CSV, writeTmp, residentId } from './lib.mjs';

selectors.setTestIdAttribute('data-test');

const PW = 'Passw0rd!reportpages';
const DC = '110101000000'; // 东城区
const COMMUNITY = '110101001001'; // 东华门街道 多福巷社区
const OTHER_COMMUNITY = '110101002001'; // 景山街道 隆福寺社区
let ctx, browser, cc;

before(async () => {
  ctx = await startServer({
    setup: (c) => {
      c.must(['import', 'regions', writeTmp(c, 'city.csv', CITY_CSV)]);
      c.must(['user', 'add', '--username', 'rp_cc', '--password', PW, '--role', 'command_center', '--region', DC]);
    },
  });
  cc = ctx.client();
  await cc.login('rp_cc', PW);
  let seq = 0;
  for (const region of [COMMUNITY, COMMUNITY, OTHER_COMMUNITY]) {
    seq += 1;
    const r = await cc.post('/api/v1/persons', { name: '报表页', id_number: residentId('110101', '19800101', 700 + seq * 2), region_code: region });
    assert.equal(r.status, 201, r.text);
  }
  browser = await launch();
});

after(async () => {
  await browser?.close();
  await ctx?.stop();
});

test('console: define a report, run it, rename it and download it as Excel', async () => {
  const page = await consolePage(browser, ctx, '/custom-reports', cc);
  await page.getByTestId('report-new').click();
  await page.getByTestId('report-name').fill('各街道登记人数');
  await page.getByTestId('report-kind').getByText('分组统计').click();
  await page.getByTestId('report-group-add').click();
  await choose(page, 'report-group-field', '居住地');
  await choose(page, 'report-group-by', '按街道');
  await page.getByTestId('report-measure-add').click();
  // a filter on a category chooses among the vocabulary's words
  await page.getByTestId('report-filter-add').click();
  await choose(page, 'report-filter-field', '人员状态');
  await choose(page, 'report-filter-word', '正常');
  await page.getByTestId('report-save').click();
  // saved: it runs at once
  const rows = page.getByTestId('report-rows');
  await rows.getByText('东华门街道').waitFor();
  const text = await rows.textContent();
  assert.match(text, /东华门街道\s*2/);
  assert.match(text, /景山街道\s*1/);
  const saved = (await (await fetch(`${ctx.url}/api/v1/custom-reports?page_size=1`, { headers: { cookie: cc.cookie } })).json()).items[0];
  assert.deepEqual(saved.filters, [{ field: 'status', op: 'eq', value: 'normal' }]);
  await shot(page, 'custom-report');
  // rename through the editor
  await page.getByTestId('report-edit').filter({ visible: true }).first().click();
  await page.getByTestId('report-name').fill('各街道登记人数（改）');
  await page.getByTestId('report-save').click();
  await page.getByTestId('report-list').getByText('各街道登记人数（改）').waitFor();
  // the Excel file
  const [dl] = await Promise.all([page.waitForEvent('download'), page.getByTestId('report-export-xlsx').click()]);
  assert.equal(await dl.failure(), null);
  const file = path.join(ctx.dir, 'custom-report.xlsx');
  await dl.saveAs(file);
  assert.equal(fs.readFileSync(file).subarray(0, 2).toString(), 'PK');
  const sheet = JSON.parse(execFileSync('/usr/bin/python3', ['-c', `
import json, sys, openpyxl
ws = openpyxl.load_workbook(sys.argv[1], read_only=True).worksheets[0]
print(json.dumps([[("" if v is None else str(v)) for v in r] for r in ws.iter_rows(values_only=True)], ensure_ascii=False))
`, file], { encoding: 'utf8' }));
  assert.equal(sheet[0][0], '各街道登记人数（改）');
  assert.deepEqual(sheet[1], ['居住地', '数量']);
  assert.deepEqual(sheet.slice(2).map((r) => r.join('|')).sort(), ['东华门街道|2', '景山街道|1']);
  // the same through an export job (no row cap): started, followed, downloaded
  await page.getByTestId('report-export-job').click();
  const [job] = await Promise.all([page.waitForEvent('download'), page.getByTestId('report-export-job-start').click()]);
  assert.equal(await job.failure(), null);
  const jobFile = path.join(ctx.dir, 'custom-report-job.xlsx');
  await job.saveAs(jobFile);
  const jobSheet = JSON.parse(execFileSync('/usr/bin/python3', ['-c', `
import json, sys, openpyxl
ws = openpyxl.load_workbook(sys.argv[1], read_only=True).worksheets[0]
print(json.dumps([[("" if v is None else str(v)) for v in r] for r in ws.iter_rows(values_only=True)], ensure_ascii=False))
`, jobFile], { encoding: 'utf8' }));
  assert.deepEqual(jobSheet, sheet);
  assertClean(page);
});
