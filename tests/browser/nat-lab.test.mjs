// 检测结果录入 (docs/nat.md "Laboratory"): the laboratory opens its inbox in
// the console, uploads an xlsx made by openpyxl (three negative single
// tubes, a positive pool of five and one malformed row), sees the summary
// and the malformed row reported with its row number, the inbox emptied,
// the tubes resulted on the tube list, and the pool's five people on the
// retest list.
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import path from 'node:path';
import { execFileSync } from 'node:child_process';
import { launch, assertClean, shot, consolePage, sharedConsolePage } from './lib.mjs';
import { startCityWith, residentId } from '../api/lib.mjs';
import { selectors } from 'playwright-core';

selectors.setTestIdAttribute('data-test');

const PW = 'Nat-lab-2026!';
const PY = process.env.FK_PYTHON || '/usr/bin/python3';
const C1 = '110101001001';
let ctx, browser, cc, lab;

before(async () => {
  ctx = await startCityWith(
    { cc_dc: ['command_center', '110101000000'], lab: ['lab', '110101000000'], staff: ['site_staff', '110101001000'] },
    PW,
  );
  ({ cc_dc: cc, lab } = ctx.as);
  let r = await cc.post('/api/v1/nat/sites', { name: '多福巷核酸点', kind: 'fixed', region_code: C1 });
  assert.equal(r.status, 201, r.text);
  assert.equal((await ctx.as.staff.post(`/api/v1/nat/sites/${r.body.id}/clock-in`, {})).status, 201);
  for (let i = 0; i < 8; i++) {
    const id_number = residentId('110101', '19850505', 900 + 2 * i);
    r = await cc.post('/api/v1/persons', { name: `浏览器${i}号`, id_number, region_code: C1 });
    assert.equal(r.status, 201, r.text);
    const body = i < 3 ? { id_number, barcode: `BR-S00${i}` } : { id_number, barcode: 'BR-P001', tube_kind: 'pool5' };
    r = await ctx.as.staff.post('/api/v1/nat/samples', body);
    assert.equal(r.status, 201, r.text);
  }
  browser = await launch();
});
after(async () => {
  await browser?.close();
  await ctx?.stop();
});

function resultsXlsx() {
  const out = path.join(ctx.dir, 'results.xlsx');
  execFileSync(PY, ['-c', `
import sys, openpyxl
wb = openpyxl.Workbook()
ws = wb.active
ws.title = '检测结果'
ws.append(['试管条码', '检测结果', '报告时间'])
for b in ['BR-S000', 'BR-S001', 'BR-S002']:
    ws.append([b, '阴性', None])
ws.append(['BR-P001', '阳性', None])
ws.append(['BR-S003', '不确定', None])
wb.save(sys.argv[1])
`, out]);
  return out;
}

const field = (page, name) => page.getByTestId(name);

test('the laboratory uploads an xlsx of results: summary, the malformed row, tubes resulted, the pool on the retest list', async () => {
  const page = await sharedConsolePage(browser, ctx, '/nat/lab', lab);
  const table = field(page, 'nat-lab-table');
  await table.locator('tbody tr').filter({ hasText: 'BR-P001' }).waitFor();
  assert.equal(await field(page, 'nat-lab-total').innerText(), '4');

  await field(page, 'nat-lab-upload-open').click();
  await field(page, 'nat-lab-file').setInputFiles(resultsXlsx());
  await field(page, 'nat-lab-upload').click();
  const summary = field(page, 'nat-lab-upload-summary');
  await summary.waitFor();
  assert.match(await summary.innerText(), /录入完成：共 5 条，已录入 4，重复 0，出错 1；需单管复核或重采 5 人，转疫情上报 0 人/);
  const errs = field(page, 'nat-lab-row-errors');
  await errs.waitFor();
  assert.match(await errs.innerText(), /6\s+第6行B列（检测结果）：检测结果只能是阴性、阳性或无效/);
  // the upload ran as a job: its progress finished, its failed rows downloadable
  assert.match(await field(page, 'job-progress').innerText(), /录入完成/);
  assert.match(await field(page, 'nat-lab-upload-errors').getAttribute('href'), /^\/api\/v1\/jobs\/\d+\/errors\.xlsx$/);
  await shot(page, 'console-nat-lab-upload');
  await page.locator('[data-test=nat-lab-upload-dialog]').getByRole('button', { name: '关闭', exact: true }).click();
  await table.locator('tbody tr').filter({ hasText: 'BR-P001' }).waitFor({ state: 'detached' });
  assert.equal(await field(page, 'nat-lab-total').innerText(), '0');

  // the tube list shows the results
  await page.goto(`${ctx.url}/console/#/nat/tubes`);
  const tubes = field(page, 'nat-tube-table');
  const pool = tubes.locator('tbody tr').filter({ hasText: 'BR-P001' });
  await pool.waitFor();
  assert.equal(await pool.getByTestId('nat-tube-result').innerText(), '阳性');
  assert.equal(await tubes.locator('tbody tr').filter({ hasText: 'BR-S001' }).getByTestId('nat-tube-result').innerText(), '阴性');

  // the pool's five people await their single-tube retests
  await page.goto(`${ctx.url}/console/#/nat/retests`);
  const retests = field(page, 'nat-retest-table');
  await retests.locator('tbody tr').first().waitFor();
  const states = await retests.getByTestId('nat-retest-state').allInnerTexts();
  assert.deepEqual(states, Array(5).fill('待复核'));
  const names = await retests.getByTestId('nat-retest-name').allInnerTexts();
  assert.ok(names.every((n) => n.includes('*')), names.join());
  await shot(page, 'console-nat-retests');
  assertClean(page);
});

test('the laboratory withdraws the pool\'s wrong result with a reason: the tube back in the inbox, its retests withdrawn', async () => {
  const page = await sharedConsolePage(browser, ctx, '/nat/lab', lab);
  await field(page, 'nat-lab-total').filter({ hasText: '0' }).waitFor();
  await field(page, 'nat-lab-withdraw-open').click();
  const dialog = field(page, 'nat-lab-withdraw-dialog');
  await field(page, 'nat-lab-withdraw-barcode').fill('BR-P001');
  // no reason: refused in the form, nothing sent
  await field(page, 'nat-lab-withdraw').click();
  await dialog.getByText('请填写撤回原因').waitFor();
  await field(page, 'nat-lab-withdraw-reason').fill('实验室复核原始数据，阳性为误录');
  await shot(page, 'console-nat-lab-withdraw');
  await field(page, 'nat-lab-withdraw').click();
  await page.locator('.el-message--success').filter({ hasText: '已撤回试管 BR-P001 的「阳性」结果：5 人的结果收回，撤销复核 5 人' }).waitFor();
  await dialog.waitFor({ state: 'hidden' });
  // back in the inbox, received, awaiting the right result
  const row = field(page, 'nat-lab-table').locator('tbody tr').filter({ hasText: 'BR-P001' });
  await row.waitFor();
  assert.match(await row.innerText(), /已接收|已签收|接收/);
  assert.equal(await field(page, 'nat-lab-total').innerText(), '1');
  // a second withdrawal of the same tube: the server's reason shown
  await field(page, 'nat-lab-withdraw-open').click();
  await field(page, 'nat-lab-withdraw-barcode').fill('BR-P001');
  await field(page, 'nat-lab-withdraw-reason').fill('重复操作');
  await field(page, 'nat-lab-withdraw').click();
  await page.locator('.el-message--error').filter({ hasText: '该试管还没有检测结果，无需撤回' }).waitFor();

  await page.goto(`${ctx.url}/console/#/nat/retests`);
  const retests = field(page, 'nat-retest-table');
  await retests.locator('tbody tr').first().waitFor();
  assert.deepEqual(await retests.getByTestId('nat-retest-state').allInnerTexts(), Array(5).fill('结果已撤回'));
  assertClean(page);
});
