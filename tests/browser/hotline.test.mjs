// 接诉即办 in the console (issue 10 "Other data", docs/hotline.md): a
// street's worker imports an xlsx written by openpyxl through the dialog
// (预检 first, then the import, one bad row reported), sees the matched
// tickets with their rules, the linked testing site and the masked caller,
// filters by rule, and reads the counts by street and rule; the command
// centre adds a rule in the rules editor and the tickets are matched again.
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import fs from 'node:fs';
import path from 'node:path';
import { execFileSync } from 'node:child_process';
import { selectors } from 'playwright-core';
import { launch, assertClean, shot, consolePage, choose, visit } from './lib.mjs';
import { startCityWith } from '../api/lib.mjs';

selectors.setTestIdAttribute('data-test');

const PW = 'Hotline-console-2026!';
const DUOFU = '110101001001';
let ctx, browser, cc, street;

before(async () => {
  ctx = await startCityWith({ cc_dc: ['command_center', '110101000000'], street_dc: ['street_staff', '110101001000'] }, PW);
  ({ cc_dc: cc, street_dc: street } = ctx.as);
  const r = await cc.post('/api/v1/nat/sites', { name: '多福巷核酸采样点', kind: 'fixed', region_code: DUOFU });
  assert.equal(r.status, 201, r.text);
  browser = await launch();
});
after(async () => {
  await browser?.close();
  await ctx?.stop();
});

const day = (n) => new Date(Date.now() + 8 * 3600e3 - n * 86400e3).toISOString().slice(0, 10);

// an .xlsx of these rows, as the hotline's export is opened and saved
function xlsx(rows) {
  const out = path.join(ctx.dir, 'hotline.xlsx');
  const py = path.join(ctx.dir, 'hotline.py');
  fs.writeFileSync(py, `import json, sys, openpyxl
wb = openpyxl.Workbook()
ws = wb.active
ws.title = '工单'
for r in json.loads(sys.argv[1]): ws.append(r)
wb.save(sys.argv[2])
`);
  execFileSync(process.env.FK_PYTHON || '/usr/bin/python3', [py, JSON.stringify(rows), out]);
  return out;
}

test('a street imports the hotline export: 预检, import, matched tickets, the site and the counts', async () => {
  const HEAD = ['工单编号*', '受理时间*', '来电人', '来电号码', '诉求地址', '所属区划*', '问题分类*', '诉求内容*', '办理状态'];
  const file = xlsx([
    HEAD,
    ['BJ12345-001', `${day(1)} 09:10`, '赵一', '13900139001', '多福巷3号', DUOFU, '疫情防控', '多福巷核酸采样点排队人太多', '已办结'],
    ['BJ12345-002', `${day(1)} 11:00`, '钱二', '13900139002', '多福巷5号', DUOFU, '卫生健康', '核酸结果三天了还查不到结果', '办理中'],
    ['BJ12345-003', `${day(2)} 15:20`, '孙三', '13900139003', '多福巷7号', DUOFU, '市容环境', '路灯坏了没人修', '已办结'],
    ['BJ12345-004', `${day(1)} 16:00`, '李四', '12345', '多福巷9号', DUOFU, '疫情防控', '排队', '已办结'],
  ]);
  const page = await consolePage(browser, ctx, '/nat/hotline', street);
  await page.getByTestId('hotline-total').waitFor();
  await page.getByTestId('hotline-import').click();
  await page.getByTestId('hotline-import-file').setInputFiles(file);
  await page.getByTestId('hotline-import-check').click();
  await page.getByTestId('job-status').getByText('预检，未写入').waitFor();
  assert.match(await page.getByTestId('job-status').textContent(), /共 4 行，有效 3 行，出错 1 行/);
  assert.equal((await street.get('/api/v1/hotline/tickets')).body.total, 0, 'a dry run writes nothing');
  await page.getByTestId('hotline-import-run').click();
  await page.getByTestId('job-status').getByText('新增 3').waitFor();
  await page.getByTestId('hotline-import-errors').waitFor();
  await shot(page, 'console-hotline-import');
  await page.keyboard.press('Escape');

  // the list reloaded: names, rules, the site, a masked caller
  const table = page.getByTestId('hotline-table');
  const queue = table.locator('tr').filter({ hasText: 'BJ12345-001' });
  await queue.waitFor();
  assert.equal(await table.locator('tbody tr').count(), 3);
  assert.match(await queue.getByTestId('hotline-rules').innerText(), /核酸排队/);
  assert.equal(await queue.getByTestId('hotline-site').innerText(), '多福巷核酸采样点');
  assert.equal(await queue.getByTestId('hotline-phone').innerText(), '139****9001');
  assert.match(await queue.innerText(), /东华门街道/);
  assert.ok(!(await table.innerText()).includes(DUOFU), 'names, never region codes');
  assert.match(await table.locator('tr').filter({ hasText: 'BJ12345-003' }).getByTestId('hotline-rules').innerText(), /未命中/);
  // the street worker may not see full personal data: no 查看 column
  assert.equal(await page.getByTestId('hotline-reveal').count(), 0);

  // filter by a rule
  await choose(page, 'hotline-filter-rule', '核酸结果查询');
  await page.getByTestId('hotline-submit').click();
  await page.getByTestId('hotline-total').getByText('共 1 件工单').waitFor();
  assert.match(await table.innerText(), /BJ12345-002/);
  await shot(page, 'console-hotline-list');
  assertClean(page);

  // the counts by street and rule (the same page through the router: a
  // page load costs seconds of CPU)
  await visit(page, '/nat/hotline-counts');
  const counts = page;
  const row = counts.getByTestId('hotline-counts-table').locator('tr').filter({ hasText: '东华门街道' });
  await row.waitFor();
  assert.equal(await row.getByTestId('hotline-counts-tickets').innerText(), '3');
  assert.equal(await row.getByTestId('hotline-counts-matched').innerText(), '2');
  const heads = await counts.getByTestId('hotline-counts-table').locator('thead th').allInnerTexts();
  const qi = heads.findIndex((h) => h.trim() === '核酸排队') - 3;
  assert.ok(qi >= 0, heads.join('|'));
  assert.equal(await row.getByTestId(`hotline-counts-rule-${qi}`).innerText(), '1');
  await shot(counts, 'console-hotline-counts');
  assertClean(counts);
});

test('the command centre adds a rule; the tickets are matched again', async () => {
  const page = await consolePage(browser, ctx, '/nat/hotline-rules', cc);
  await page.getByTestId('hotline-rule-table').locator('tr').filter({ hasText: '核酸排队' }).waitFor();
  await page.getByTestId('hotline-rule-add').click();
  const dialog = page.getByTestId('hotline-rule-dialog');
  await dialog.getByTestId('hotline-rule-form-name').fill('设施报修');
  // a tag typed into the select and taken with Enter (allow-create)
  await dialog.getByTestId('hotline-rule-form-keywords').click();
  await page.keyboard.type('路灯');
  await page.getByRole('option', { name: '路灯' }).filter({ visible: true }).waitFor();
  await page.keyboard.press('Enter');
  await dialog.getByTestId('hotline-rule-form-keywords').getByText('路灯').waitFor();
  await page.getByTestId('hotline-rule-save').click();
  await page.getByTestId('job-status').getByText('已重新匹配 3 件工单').waitFor();
  await page.getByTestId('hotline-rule-table').locator('tr').filter({ hasText: '设施报修' }).waitFor();
  await shot(page, 'console-hotline-rules');

  await visit(page, '/nat/hotline');
  const list = page;
  const lamp = list.getByTestId('hotline-table').locator('tr').filter({ hasText: 'BJ12345-003' });
  await lamp.getByTestId('hotline-rules').getByText('设施报修').waitFor();
  // the command centre holds person.reveal: 查看 shows the full phone
  await lamp.getByTestId('hotline-reveal').click();
  await list.getByTestId('hotline-detail-phone').getByText('13900139003').waitFor();
  assertClean(page);
  assertClean(list);
});
