// 核酸结果查询 in the console (docs/nat.md "Result look-up"): a street's
// worker uploads an xlsx of id numbers made by openpyxl (one malformed),
// watches the batch finish in the list, downloads the result workbook and
// opens it with openpyxl: the found person masked with the latest result and
// the 3-day count, the unknown id 未查到, the malformed row 格式错误; the
// personal look-up shows the masked name and the results.
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import fs from 'node:fs';
import path from 'node:path';
import { execFileSync } from 'node:child_process';
import { selectors } from 'playwright-core';
import { launch, assertClean, shot, consolePage, sharedConsolePage } from './lib.mjs';
import { startCityWith, residentId } from '../api/lib.mjs';

selectors.setTestIdAttribute('data-test');

const PW = 'Nat-lookup-2026!';
const S1 = '110101001000';
const PY = process.env.FK_PYTHON || '/usr/bin/python3';
let ctx, browser, cc, street;
const known = residentId('110101', '19850505', 401);
const unknown = residentId('110102', '19700101', 33);

before(async () => {
  ctx = await startCityWith({ cc_dc: ['command_center', '110101000000'], street_dc: ['street_staff', S1] }, PW);
  ({ cc_dc: cc, street_dc: street } = ctx.as);
  const r = await cc.post('/api/v1/persons', { name: '张三丰', id_number: known, region_code: '110101001001' });
  assert.equal(r.status, 201, r.text);
  const at = Date.now() - 3 * 3600e3;
  const t = await cc.post(`/api/v1/persons/${r.body.id}/test-results`, { result: 'negative', sampled_at: at, reported_at: at + 3600e3, institution: '第一检测所' });
  assert.ok(t.status < 300, t.text);
  browser = await launch();
});
after(async () => {
  await browser?.close();
  await ctx?.stop();
});

function py(script, ...args) {
  const f = path.join(ctx.dir, `py-${Date.now()}.py`);
  fs.writeFileSync(f, script);
  return execFileSync(PY, [f, ...args]).toString();
}

test('a street uploads an xlsx of ids, sees the batch done and opens the result with openpyxl', async () => {
  const upload = path.join(ctx.dir, '东华门名单.xlsx');
  py(`import json, sys, openpyxl
wb = openpyxl.Workbook(); ws = wb.active
for r in json.loads(sys.argv[1]): ws.append(r)
wb.save(sys.argv[2])`, JSON.stringify([['姓名', '身份证号'], ['甲', known], ['乙', unknown], ['丙', '12345']]), upload);

  const page = await sharedConsolePage(browser, ctx, '/nat/lookup', street);
  await page.getByTestId('nat-batch-file').setInputFiles(upload);
  await page.getByTestId('nat-batch-upload').click();
  const row = page.getByTestId('nat-batch-table').locator('tr').filter({ hasText: '东华门名单.xlsx' });
  await row.getByTestId('nat-batch-result').waitFor({ timeout: 15000 });
  assert.equal(await row.getByTestId('nat-batch-found').innerText(), '1');
  assert.equal(await row.getByTestId('nat-batch-not-found').innerText(), '1');
  assert.equal(await row.getByTestId('nat-batch-malformed').innerText(), '1');
  await shot(page, 'console-nat-lookup-batch');

  const [dl] = await Promise.all([page.waitForEvent('download'), row.getByTestId('nat-batch-result').click()]);
  assert.equal(await dl.failure(), null);
  const file = path.join(ctx.dir, 'result.xlsx');
  await dl.saveAs(file);
  const rows = JSON.parse(py(`import json, sys, openpyxl
wb = openpyxl.load_workbook(sys.argv[1], read_only=True)
ws = wb.worksheets[0]
print(json.dumps([['' if v is None else str(v) for v in r] for r in ws.iter_rows(values_only=True)], ensure_ascii=False))`, file));
  assert.deepEqual(rows[0], ['身份证号', '姓名', '检测结果', '采样时间', '报告时间', '检测机构', '近3天的核查次数']);
  assert.deepEqual([rows[1][0], rows[1][1], rows[1][2], rows[1][5], rows[1][6]], [known, '张*丰', '阴性', '第一检测所', '1']);
  assert.deepEqual([rows[2][0], rows[2][2]], [unknown, '未查到']);
  assert.deepEqual([rows[3][0], rows[3][2]], ['12345', '格式错误']);
  assertClean(page);
});

test('the personal look-up shows the masked name and the results', async () => {
  const page = await sharedConsolePage(browser, ctx, '/nat/lookup', street);
  await page.getByTestId('nat-lookup-id').fill(known);
  await page.getByTestId('nat-lookup-go').click();
  await page.getByTestId('nat-lookup-who').waitFor();
  assert.match(await page.getByTestId('nat-lookup-who').innerText(), /张\*丰/);
  assert.match(await page.getByTestId('nat-lookup-results').innerText(), /阴性[\s\S]*第一检测所/);
  await shot(page, 'console-nat-lookup-person');
  assertClean(page);
});
