// The console's case workflow in Chromium (疫情处置, docs/cases.md): the
// reports inbox lists a report filed through the API with its region's name,
// its photo count and its position, and the drawer shows the photo (loaded
// from the attachments API), the timeline and the verification task; the
// observation list shows a person put there through the API, with the count
// by state, and opens the observation's page, whose fields save with the
// version check and which releases with a certificate; on a person's page
// the 疫情处置 tab changes a status from suspected to confirmed, and a change
// the state machine forbids (the page is stale: someone confirmed the person
// meanwhile) shows the server's 409 message and changes nothing. Then the
// Excel import (预检, import), the rules, and the sites with their rooms.
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import fs from 'node:fs';
import path from 'node:path';
import { execFileSync } from 'node:child_process';
import { selectors } from 'playwright-core';
import { launch, openPage, adoptSession, assertClean, shot, residentId } from './lib.mjs';
import { startCityWith, CITY_STAFF } from '../api/lib.mjs';

selectors.setTestIdAttribute('data-test');

const PW = 'Case-console-2024!';
const BUILDING = '110101001001001001'; // 东华门街道 多福巷社区 1号楼
// a 1x1 PNG
const PNG = Buffer.from('iVBORw0KGgoAAAANSUhEUgAAAAEAAAABCAYAAAAfFcSJAAAADUlEQVR42mNk+M9QDwADhgGAWjR9awAAAABJRU5ErkJggg==', 'base64');
let ctx, browser, cc, grid;
let seq = 0;

async function person(name, status) {
  const r = await cc.post('/api/v1/persons', { name, id_number: residentId('110101', '19750505', 600 + ++seq * 2), region_code: BUILDING, ...(status ? { status } : {}) });
  assert.equal(r.status, 201, r.text);
  return r.body;
}

before(async () => {
  ctx = await startCityWith({ cc_dc: CITY_STAFF.cc_dc, cc_xc: CITY_STAFF.cc_xc, grid_dc: CITY_STAFF.grid_dc }, PW);
  cc = ctx.as.cc_dc;
  grid = ctx.as.grid_dc;
  browser = await launch();
});

after(async () => {
  await browser?.close();
  await ctx?.stop();
});

async function console_(path, as = cc) {
  const page = await openPage(browser);
  await adoptSession(page, as);
  await page.goto(`${ctx.url}/console/#${path}`);
  return page;
}

async function choose(page, testId, label) {
  await page.getByTestId(testId).click();
  await page.getByRole('option', { name: label, exact: true }).filter({ visible: true }).click();
}

test('事件受理: a report filed through the API, with its photo, timeline and task', async () => {
  let r = await grid.post('/api/v1/attachments', PNG, { 'content-type': 'image/png' });
  assert.equal(r.status, 201, r.text);
  r = await grid.post('/api/v1/reports', {
    source: 'doctor', category: 'symptoms', name: '赵六一', phone: '13900006161', region_code: BUILDING,
    address: '多福巷1号楼101', symptoms: ['cough'], lat: 39.913, lng: 116.404, attachments: [r.body.id],
  });
  assert.equal(r.status, 201, r.text);

  const page = await console_('/incidents');
  const row = page.getByTestId('incident-table').locator('tbody tr').first();
  await row.getByTestId('cell-name').waitFor();
  assert.equal(await row.getByTestId('cell-name').textContent(), '赵*一', 'the name masked');
  assert.equal(await row.getByTestId('cell-region').textContent(), '1号楼', 'the region by name, not its code');
  assert.equal(await row.getByTestId('cell-source').textContent(), '基层医生');
  assert.equal(await row.getByTestId('cell-attachments').textContent(), '1');
  assert.equal(await page.getByTestId('incident-dot').count(), 1, 'its position on the scatter');
  assert.ok(!(await page.getByTestId('incident-table').textContent()).includes(BUILDING), 'no region code shown');

  await row.getByTestId('incident-open').click();
  const drawer = page.getByTestId('incident-drawer');
  const img = drawer.getByTestId('incident-photo');
  await img.waitFor();
  // the photo was fetched and decoded, not a broken image
  await page.waitForFunction(() => document.querySelector('[data-test="incident-photo"]')?.naturalWidth === 1);
  assert.match(await drawer.getByTestId('incident-task-state').textContent(), /待接收/);
  const actions = await drawer.getByTestId('timeline-action').allTextContents();
  assert.deepEqual(actions, ['事件上报', '事件分派', '派发任务']);
  await shot(page, 'case-incident-drawer');

  // 结案 with a reason: the state and the timeline follow
  await drawer.getByTestId('incident-close').click();
  await page.getByTestId('incident-close-submit').click();
  // without a reason: the server's message beside the field, nothing closed
  await page.locator('.el-form-item__error').filter({ visible: true }).first().waitFor();
  await page.getByTestId('incident-close-reason').fill('重复上报');
  await page.getByTestId('incident-close-submit').click();
  await drawer.getByTestId('incident-state').getByText('已结案').waitFor();
  assertClean(page);
});

test('隔离观察名单: a person observed through the API, then the page saves with the version check', async () => {
  const p = await person('李观察');
  let r = await cc.post('/api/v1/observations', { person_id: p.id, kind: 'home_observation', source: 'grid_patrol' });
  assert.equal(r.status, 201, r.text);
  const obsId = r.body.id;

  const page = await console_('/observations');
  const row = page.getByTestId('obs-table').locator('tbody tr', { hasText: '李*察' });
  await row.waitFor();
  assert.equal(await row.getByTestId('obs-cell-kind').textContent(), '居家医学观察');
  assert.equal(await row.getByTestId('obs-cell-state').textContent(), '观察中');
  assert.match(await page.getByTestId('obs-count-active').textContent(), /观察中\s*1/);
  await shot(page, 'case-observations');

  await row.getByTestId('obs-cell-name').click();
  await page.getByTestId('obs-group-travel').waitFor();
  await page.getByTestId('obs-edit').click();
  await page.getByTestId('obs-input-transport_no').fill('G101');
  await page.getByTestId('obs-save').click();
  await page.getByTestId('obs-field-transport_no').getByText('G101').waitFor();
  r = await cc.get(`/api/v1/observations/${obsId}`);
  assert.equal(r.body.transport_no, 'G101');

  // someone else saves first: the stale page is refused with the server's message
  await page.getByTestId('obs-edit').click();
  r = await cc.patch(`/api/v1/observations/${obsId}`, { housing_type: '楼房', version: r.body.version });
  assert.equal(r.status, 200, r.text);
  await page.getByTestId('obs-input-transport_no').fill('G999');
  await page.getByTestId('obs-save').click();
  await page.getByTestId('obs-page-error').waitFor();
  r = await cc.get(`/api/v1/observations/${obsId}`);
  assert.equal(r.body.transport_no, 'G101', 'nothing written');
  await page.getByTestId('obs-reload').click();
  await page.getByTestId('obs-field-housing_type').getByText('楼房').waitFor();

  // 结束观察 as a release with its certificate
  await page.getByTestId('obs-end').click();
  await choose(page, 'obs-end-release', '自由');
  await page.getByTestId('obs-end-reason').fill('观察期满无异常');
  await page.getByTestId('obs-end-submit').click();
  await page.getByTestId('obs-certificate').waitFor();
  assert.match(await page.getByTestId('obs-certificate').textContent(), /^JC\d{14}/);
  assert.equal(await page.getByTestId('obs-state').textContent(), '已解除');
  r = await cc.get(`/api/v1/persons/${p.id}/certificates`);
  assert.equal(r.body.items.length, 1);
  assertClean(page);

  // 西城区's command centre: not in its list, and the page answers as for a missing one
  const west = await console_('/observations', ctx.as.cc_xc);
  await west.getByTestId('obs-total').getByText('共 0 人').waitFor();
  await west.goto(`${ctx.url}/console/#/observations/${obsId}`);
  assert.match(await west.getByTestId('obs-page-error').textContent(), /不存在或不在您的管辖范围内/);
  assertClean(west);
});

test('疫情处置 tab: suspected -> confirmed, and a forbidden change shows the 409 message', async () => {
  const p = await person('张疑似', 'suspected');
  const page = await console_(`/people/${p.id}`);
  await page.getByRole('tab', { name: '疫情处置' }).click();
  assert.equal(await page.getByTestId('case-status').textContent(), '疑似');
  await page.getByTestId('case-status-change').click();
  await choose(page, 'case-status-to', '确诊');
  await page.getByTestId('case-severity-mild').click();
  await choose(page, 'case-status-route', '本地感染');
  await page.getByTestId('case-status-reason').fill('核酸检测阳性');
  await page.getByTestId('case-status-submit').click();
  await page.getByTestId('case-status').getByText('确诊').waitFor();
  await page.getByTestId('case-status-changes').getByTestId('case-change').getByText('疑似 → 确诊').waitFor();
  await page.getByTestId('case-timeline').getByText('状态变更').first().waitFor();
  let r = await cc.get(`/api/v1/persons/${p.id}`);
  assert.equal(r.body.status, 'confirmed');
  await shot(page, 'case-status-changed');

  // a page left open on a suspected person who is confirmed meanwhile: 排除
  // (to normal) is no longer allowed, and the server's message is shown
  const q = await person('孙待排', 'suspected');
  await page.goto(`${ctx.url}/console/#/people/${q.id}`);
  await page.getByRole('tab', { name: '疫情处置' }).click();
  await page.getByTestId('case-status').getByText('疑似').waitFor();
  r = await cc.post(`/api/v1/persons/${q.id}/status`, { to: 'confirmed', reason: '另一处确诊', severity: 'mild', infection_route: 'local' });
  assert.equal(r.status, 200, r.text);
  await page.getByTestId('case-status-change').click();
  await choose(page, 'case-status-to', '正常');
  await page.getByTestId('case-status-reason').fill('排除');
  await page.getByTestId('case-status-submit').click();
  const err = page.getByTestId('case-status-error');
  await err.waitFor();
  assert.match(await err.textContent(), /不能从“确诊”变更为“正常”/);
  r = await cc.get(`/api/v1/persons/${q.id}`);
  assert.equal(r.body.status, 'confirmed', 'nothing changed');
  // the page reads the person again behind the dialog
  await page.getByTestId('case-status').getByText('确诊').waitFor();
  await shot(page, 'case-status-refused');
  assertClean(page);
});

// an .xlsx of these rows (the system python has openpyxl, as tests/api/import.test.mjs)
function xlsx(rows) {
  const out = path.join(ctx.dir, 'case-import.xlsx');
  const py = path.join(ctx.dir, 'case-import.py');
  fs.writeFileSync(py, `import json, sys, openpyxl
wb = openpyxl.Workbook()
ws = wb.active
ws.title = '观察对象'
for r in json.loads(sys.argv[1]): ws.append(r)
wb.save(sys.argv[2])
`);
  execFileSync(process.env.FK_PYTHON || '/usr/bin/python3', [py, JSON.stringify(rows), out]);
  return out;
}

test('导入导出: 预检 reports the bad row without writing, the import writes the good one', async () => {
  const HEAD = ['姓名*', '证件类型*', '证件号码*', '性别', '联系电话*', '现住址', '所属区划*', '管控措施*', '隔离开始日期*'];
  const day = new Date(Date.now() + 8 * 3600e3 - 86400e3).toISOString().slice(0, 10); // yesterday, China date
  const good = ['周导入', '居民身份证', residentId('110101', '19900909', 700), '', '13800138000', '多福巷1号', '110101001001', '居家隔离', day];
  const bad = ['吴错行', '居民身份证', '110101199009090000', '', '13800138001', '多福巷2号', '110101001001', '居家隔离', day];
  const file = xlsx([HEAD, good, bad]);

  const page = await console_('/case-import');
  await page.getByTestId('import-file').setInputFiles(file);
  await page.getByTestId('import-check').click();
  await page.getByTestId('job-status').getByText('预检，未写入').waitFor();
  assert.match(await page.getByTestId('job-status').textContent(), /共 2 行，有效 1 行，出错 1 行/);
  await page.getByTestId('import-errors').waitFor();
  let r = await cc.get('/api/v1/observations?q=' + encodeURIComponent('周导入'));
  assert.equal(r.body.total, 0, 'a dry run writes nothing');

  await page.getByTestId('import-run').click();
  await page.getByTestId('job-status').getByText('新增 1').waitFor();
  r = await cc.get('/api/v1/observations?q=' + encodeURIComponent('周导入'));
  assert.equal(r.body.total, 1, 'the good row imported');
  await shot(page, 'case-import');
  assertClean(page);
});

test('规则配置: a routing rule, a period and a check rule saved from the page', async () => {
  const page = await console_('/case-rules');
  const deadline = page.getByTestId('rule-deadline-doctor').locator('input');
  await deadline.waitFor();
  await deadline.fill('8');
  await page.getByTestId('rule-save-doctor').click();
  await page.getByText('已保存“基层医生”的分流规则').waitFor();
  await page.getByTestId('period-central').locator('input').fill('10');
  await page.getByTestId('periods-save').click();
  await page.getByText('已保存隔离观察期限').waitFor();
  await page.getByTestId('check-every-central').locator('input').fill('8');
  await page.getByTestId('check-save-central').click();
  await page.getByText('已保存“集中隔离”的核查规则').waitFor();

  let r = await cc.get('/api/v1/routing-rules');
  assert.equal(r.body.items.find((x) => x.source === 'doctor').deadline_hours, 8);
  r = await cc.get('/api/v1/observation-periods');
  assert.equal(r.body.periods.find((x) => x.kind === 'central').days, 10);
  r = await cc.get('/api/v1/check-rules');
  assert.equal(r.body.rules.find((x) => x.kind === 'central').every_hours, 8);
  await shot(page, 'case-rules');
  assertClean(page);
});

test('隔离点与房间: occupancy, rooms added in bulk, a room closed and reopened', async () => {
  let r = await cc.post('/api/v1/places', { name: '东华门隔离酒店', kind: 'quarantine_site', region_code: '110101001001' });
  assert.equal(r.status, 201, r.text);
  const site = r.body.id;
  r = await cc.post(`/api/v1/quarantine-sites/${site}/rooms`, { rooms: ['A1'] });
  assert.equal(r.status, 201, r.text);
  const p = await person('钱集中');
  r = await cc.post('/api/v1/observations', { person_id: p.id, kind: 'central', source: 'cdc', site_id: site, room_no: 'A1' });
  assert.equal(r.status, 201, r.text);

  const page = await console_('/quarantine-sites');
  const row = page.getByTestId('site-table').locator('tbody tr', { hasText: '东华门隔离酒店' });
  await row.waitFor();
  assert.equal(await row.getByTestId('site-occupied').textContent(), '1');
  assert.equal(await row.getByTestId('site-free').textContent(), '0');
  await row.getByTestId('site-rooms').click();
  const rooms = page.getByTestId('room-table');
  await rooms.locator('tr', { hasText: 'A1' }).getByText('钱*中').waitFor();

  await page.getByTestId('room-add').click();
  await page.getByTestId('room-from').locator('input').fill('201');
  await page.getByTestId('room-to').locator('input').fill('203');
  await page.getByTestId('room-add-submit').click();
  await page.getByText('已添加 3 间').waitFor();
  await row.getByTestId('site-free').getByText('3').waitFor();

  // the same range again: all or nothing, the server's message in the dialog
  await page.getByTestId('room-add').click();
  await page.getByTestId('room-add-submit').click();
  await page.getByTestId('room-add-error').waitFor();
  await page.keyboard.press('Escape');

  await rooms.locator('tr', { hasText: '202' }).getByTestId('room-close').click();
  await rooms.locator('tr', { hasText: '202' }).getByText('停用').first().waitFor();
  await row.getByTestId('site-free').getByText('2').waitFor();
  await rooms.locator('tr', { hasText: '202' }).getByTestId('room-reopen').click();
  await row.getByTestId('site-free').getByText('3').waitFor();
  r = await cc.get(`/api/v1/quarantine-sites/${site}/rooms`);
  assert.deepEqual(r.body.items.map((x) => `${x.room_no}:${x.state}`).sort(), ['201:free', '202:free', '203:free', 'A1:occupied']);
  await shot(page, 'case-sites');
  assertClean(page);
});
