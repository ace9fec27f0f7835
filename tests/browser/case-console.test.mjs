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
// The lists' exports: the links (CSV, Excel) and, for 健康监测记录, the
// background export job (导出任务) with its progress and download.
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import fs from 'node:fs';
import path from 'node:path';
import { execFileSync } from 'node:child_process';
import { selectors } from 'playwright-core';
import { launch, assertClean, shot, residentId, consolePage, choose, sharedConsolePage } from './lib.mjs';
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

// one page per user, shown the next view through the router (lib.mjs)
const console_ = (path, as = cc) => sharedConsolePage(browser, ctx, path, as);

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
  // the reporter by name, as the server names them, never a user id
  const inc = await cc.get(`/api/v1/incidents/${r.body.id}`);
  assert.ok(inc.body.reporter_name && !/^\d+$/.test(inc.body.reporter_name), inc.text);
  assert.equal(await row.getByTestId('cell-reporter').textContent(), inc.body.reporter_name);
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

// The options of an open Element Plus select, as shown.
const shownOptions = (page) => page.getByRole('option').filter({ visible: true }).allTextContents();

test('疫情处置 tab: the targets are the server\'s, suspected -> confirmed, and a forbidden change shows the 409 message', async () => {
  const p = await person('张疑似', 'suspected');
  const page = await console_(`/people/${p.id}`);
  await page.getByRole('tab', { name: '疫情处置' }).click();
  assert.equal(await page.getByTestId('case-status').textContent(), '疑似');
  await page.getByTestId('case-status-change').click();
  // the dialog offers what the state machine allows (GET …/status-targets),
  // in the server's words, not a copy kept by the page
  let r = await cc.get(`/api/v1/persons/${p.id}/status-targets`);
  assert.equal(r.status, 200, r.text);
  assert.equal(r.body.status, 'suspected');
  await page.getByTestId('case-status-to').click();
  await page.getByRole('option', { name: '确诊', exact: true }).filter({ visible: true }).waitFor();
  assert.deepEqual(await shownOptions(page), r.body.targets.map((t) => t.name));
  await page.getByRole('option', { name: '确诊', exact: true }).filter({ visible: true }).click();
  await page.getByTestId('case-severity-mild').click();
  await choose(page, 'case-status-route', '本地感染');
  await page.getByTestId('case-status-reason').fill('核酸检测阳性');
  await page.getByTestId('case-status-submit').click();
  await page.getByTestId('case-status').getByText('确诊').waitFor();
  await page.getByTestId('case-status-changes').getByTestId('case-change').getByText('疑似 → 确诊').waitFor();
  await page.getByTestId('case-timeline').getByText('状态变更').first().waitFor();
  r = await cc.get(`/api/v1/persons/${p.id}`);
  assert.equal(r.body.status, 'confirmed');
  await shot(page, 'case-status-changed');

  // a dialog left open on a suspected person who is confirmed meanwhile:
  // 排除 (to normal) is no longer allowed, and the server's message is shown
  const q = await person('孙待排', 'suspected');
  await page.goto(`${ctx.url}/console/#/people/${q.id}`);
  await page.getByRole('tab', { name: '疫情处置' }).click();
  await page.getByTestId('case-status').getByText('疑似').waitFor();
  await page.getByTestId('case-status-change').click();
  await page.getByTestId('case-status-to').click();
  await page.getByRole('option', { name: '正常', exact: true }).filter({ visible: true }).waitFor();
  r = await cc.post(`/api/v1/persons/${q.id}/status`, { to: 'confirmed', reason: '另一处确诊', severity: 'mild', infection_route: 'local' });
  assert.equal(r.status, 200, r.text);
  await page.getByRole('option', { name: '正常', exact: true }).filter({ visible: true }).click();
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
  await page.keyboard.press('Escape');

  // a page left open while the status changed: opening the dialog asks the
  // server again, so it offers the confirmed person's targets (no 正常) and
  // the page catches up with the status
  const s = await person('钱过时', 'suspected');
  await page.goto(`${ctx.url}/console/#/people/${s.id}`);
  await page.getByRole('tab', { name: '疫情处置' }).click();
  await page.getByTestId('case-status').getByText('疑似').waitFor();
  r = await cc.post(`/api/v1/persons/${s.id}/status`, { to: 'confirmed', reason: '另一处确诊', severity: 'mild', infection_route: 'local' });
  assert.equal(r.status, 200, r.text);
  await page.getByTestId('case-status-change').click();
  await page.getByTestId('case-status').getByText('确诊').waitFor();
  r = await cc.get(`/api/v1/persons/${s.id}/status-targets`);
  assert.ok(!r.body.targets.some((t) => t.status === 'normal'), r.text);
  await page.getByTestId('case-status-to').click();
  await page.getByRole('option', { name: r.body.targets[r.body.targets.length - 1].name }).filter({ visible: true }).first().waitFor();
  const offered = await shownOptions(page);
  assert.ok(!offered.includes('正常'), `no 正常 for a confirmed person: ${offered}`);
  assert.equal(offered.length, r.body.targets.length);
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

// ---- the lists' exports (composables/useList.js, components/ListExport.vue) ----

// The rows of an .xlsx's first sheet, read by openpyxl (not by the program
// that wrote it), as arrays of cell texts.
function xlsxRows(file) {
  const py = path.join(ctx.dir, 'read-xlsx.py');
  fs.writeFileSync(py, `import json, sys, openpyxl
wb = openpyxl.load_workbook(sys.argv[1], read_only=True)
ws = wb.worksheets[0]
print(json.dumps([['' if v is None else str(v) for v in r] for r in ws.iter_rows(values_only=True)], ensure_ascii=False))
`);
  return JSON.parse(execFileSync(process.env.FK_PYTHON || '/usr/bin/python3', [py, file]).toString());
}

// A CSV's rows as arrays of fields (quoted fields, doubled quotes; the
// exports write no line breaks inside the fields these tests fill).
function csvRows(text) {
  return text.replace(/^\uFEFF/, '').split(/\r?\n/).filter((l) => l.trim()).map((line) => {
    const out = [];
    for (const m of line.matchAll(/(?:^|,)(?:"((?:[^"]|"")*)"|([^,]*))/g)) out.push(m[1] !== undefined ? m[1].replace(/""/g, '"') : m[2]);
    return out;
  });
}

// Click an export button and read what arrives: { name, rows } (rows
// without the header line).
async function download(page, testId) {
  const [dl] = await Promise.all([page.waitForEvent('download'), page.getByTestId(testId).click()]);
  // a refused export (4xx) is a cancelled download
  assert.equal(await dl.failure(), null, `${testId}: ${await page.getByTestId(testId).getAttribute('href')}`);
  const name = dl.suggestedFilename();
  // openpyxl reads a workbook by its file name's extension
  const file = path.join(ctx.dir, `dl-${Date.now()}-${name}`);
  await dl.saveAs(file);
  const bytes = fs.readFileSync(file);
  if (testId.endsWith('-xlsx')) {
    assert.equal(bytes.subarray(0, 2).toString(), 'PK', `${name} is a zip (xlsx)`);
    return { name, rows: xlsxRows(file).filter((r) => r.some((c) => c !== '')).slice(1) };
  }
  assert.notEqual(bytes.subarray(0, 2).toString(), 'PK', `${name} is text`);
  return { name, rows: csvRows(bytes.toString('utf8')).slice(1) };
}

// Both files of a list hold the rows it shows (`shown`: a text per row
// found in one cell of it) and not `hidden`, which the filters leave out.
async function exportsHold(page, prefix, shown, hidden) {
  for (const [id, ext] of [[prefix, '.csv'], [`${prefix}-xlsx`, '.xlsx']]) {
    const { name, rows } = await download(page, id);
    assert.ok(name.endsWith(ext), `${id}: ${name}`);
    assert.equal(rows.length, shown.length, `${name}: one row per row shown: ${JSON.stringify(rows)}`);
    for (const t of shown) assert.equal(rows.filter((r) => r.includes(t)).length, 1, `${name} holds ${t}: ${JSON.stringify(rows)}`);
    for (const t of hidden) assert.ok(!rows.some((r) => r.join('|').includes(t)), `${name} leaves out ${t}`);
  }
}

// The texts of a column of a list's rows.
const column = (page, table, cell) => page.getByTestId(table).locator('tbody tr').getByTestId(cell).allTextContents();

test('隔离观察名单: filters live in the URL, and both exports hold the rows shown', async () => {
  const a = await person('甲居隔');
  const b = await person('乙医观');
  let r = await cc.post('/api/v1/observations', { person_id: a.id, kind: 'home_isolation', source: 'grid_patrol' });
  assert.equal(r.status, 201, r.text);
  r = await cc.post('/api/v1/observations', { person_id: b.id, kind: 'home_observation', source: 'grid_patrol' });
  assert.equal(r.status, 201, r.text);

  // a link with a filter opens the list filtered, the select showing it
  const page = await console_('/observations?kind=home_isolation');
  await page.getByTestId('obs-table').locator('tbody tr', { hasText: '甲*隔' }).waitFor();
  assert.match(await page.getByTestId('obs-filter-kind').textContent(), /居家隔离/);
  const names = await column(page, 'obs-table', 'obs-cell-name');
  assert.ok(!names.includes('乙*观'), 'the other kind is left out');
  assert.deepEqual(new Set(await column(page, 'obs-table', 'obs-cell-kind')), new Set(['居家隔离']));
  await exportsHold(page, 'obs-export', names, ['乙*观']);

  // a filter chosen on the page goes into the URL: a reload keeps it
  await page.getByTestId('obs-count-active').click();
  await page.waitForFunction(() => /[?&]state=active/.test(location.hash));
  assert.match(page.url(), /kind=home_isolation/);
  await page.reload();
  await page.getByTestId('obs-table').locator('tbody tr', { hasText: '甲*隔' }).waitFor();
  assert.match(await page.getByTestId('obs-filter-state').textContent(), /观察中/);
  assert.match(await page.getByTestId('obs-filter-kind').textContent(), /居家隔离/);
  // reset clears them from the URL too
  await page.getByRole('button', { name: '重置' }).click();
  await page.getByTestId('obs-table').locator('tbody tr', { hasText: '乙*观' }).waitFor();
  assert.ok(!/kind=|state=/.test(new URL(page.url()).hash), page.url());
  await shot(page, 'case-observations-export');
  assertClean(page);

  // the person's page finds the observation by the list's person filter
  const pp = await console_(`/people/${a.id}`);
  await pp.getByRole('tab', { name: '疫情处置' }).click();
  await pp.getByTestId('case-observation').getByText('居家隔离').waitFor();
  assert.equal(await pp.getByTestId('case-observation-state').textContent(), '观察中');
  await pp.getByTestId('case-observation-link').click();
  await pp.getByTestId('obs-title').getByText('甲*隔').waitFor();
  assertClean(pp);
});

test('任务看板 and 事件受理: the exports hold the filtered rows', async () => {
  const deadline = Date.now() + 86400e3;
  for (const title of ['导出核查任务甲', '导出核查任务乙', '别的任务丙']) {
    const r = await cc.post('/api/v1/tasks', { kind: 'general', title, region_code: BUILDING, assignee_role: 'grid_worker', deadline });
    assert.equal(r.status, 201, r.text);
  }
  let page = await console_(`/tasks?q=${encodeURIComponent('导出核查')}`);
  await page.getByTestId('task-table').getByText('导出核查任务乙').waitFor();
  const titles = (await page.getByTestId('task-table').locator('tbody tr td:first-child').allTextContents()).map((t) => t.trim());
  assert.deepEqual(titles.sort(), ['导出核查任务乙', '导出核查任务甲']);
  await exportsHold(page, 'task-export', titles, ['别的任务丙']);
  // the kinds and states to filter by are the server's vocabularies
  // (task_kinds, task_states), not a copy in the page
  await choose(page, 'task-filter-kind', '一般任务');
  await choose(page, 'task-filter-state', '待接收');
  await page.getByTestId('task-submit').click();
  await page.waitForFunction(() => /[?&]kind=general/.test(location.hash) && /[?&]state=pending/.test(location.hash));
  await page.getByTestId('task-table').getByText('导出核查任务乙').waitFor();
  await choose(page, 'task-filter-state', '已完成');
  await page.getByTestId('task-submit').click();
  await page.getByTestId('task-table').getByText('导出核查任务乙').waitFor({ state: 'detached' });
  assertClean(page);

  for (const [name, phone] of [['孙导一', '13900007171'], ['周导二', '13900007272']]) {
    const r = await grid.post('/api/v1/reports', { source: 'doctor', category: 'symptoms', name, phone, region_code: BUILDING, address: '多福巷2号楼', symptoms: ['fever'] });
    assert.equal(r.status, 201, r.text);
  }
  page = await console_('/incidents?q=13900007171');
  await page.getByTestId('incident-table').locator('tbody tr').getByText('孙*一').waitFor();
  assert.equal(await page.getByTestId('filter-q').inputValue(), '13900007171');
  // a phone number is read from the link but not left in the address bar
  await page.waitForFunction(() => !location.hash.includes('13900007171'));
  const shown = await column(page, 'incident-table', 'cell-name');
  assert.deepEqual(shown, ['孙*一']);
  await exportsHold(page, 'incident-export', shown, ['周*二']);
  assertClean(page);
});

test('健康监测记录: the checks of the scope by name, abnormal only, exported', async () => {
  const hot = await person('吴发热');
  const ok = await person('郑正常');
  const obs = {};
  for (const p of [hot, ok]) {
    const r = await cc.post('/api/v1/observations', { person_id: p.id, kind: 'home_observation', source: 'doctor' });
    assert.equal(r.status, 201, r.text);
    obs[p.id] = r.body.id;
  }
  let r = await cc.post(`/api/v1/observations/${obs[hot.id]}/checks`, { temperature: 38.6, symptoms: ['fever', 'cough'], door_no: '3单元201' });
  assert.equal(r.status, 201, r.text);
  r = await cc.post(`/api/v1/observations/${obs[ok.id]}/checks`, { temperature: 36.5, symptoms: [] });
  assert.equal(r.status, 201, r.text);

  const page = await console_('/checks');
  const table = page.getByTestId('check-table');
  await table.locator('tbody tr', { hasText: '郑*常' }).waitFor();
  const row = table.locator('tbody tr', { hasText: '吴*热' });
  assert.equal(await row.getByTestId('check-cell-region').textContent(), '1号楼', 'the region by name');
  assert.equal(await row.getByTestId('check-cell-result').textContent(), '异常');
  assert.equal(await row.getByTestId('check-cell-temperature').textContent(), '38.6 ℃');
  assert.ok(!(await table.textContent()).includes(BUILDING), 'no region code shown');
  assert.ok(!(await table.textContent()).includes(hot.id_number), 'no id number');

  // 只看异常: the normal check leaves the list, the URL and the exports
  await page.getByTestId('check-filter-abnormal').click();
  await page.getByTestId('check-submit').click();
  await page.waitForFunction(() => /[?&]abnormal=1/.test(location.hash));
  await table.locator('tbody tr', { hasText: '郑*常' }).waitFor({ state: 'detached' });
  const names = await column(page, 'check-table', 'check-cell-name');
  assert.ok(names.includes('吴*热'));
  assert.deepEqual(new Set(await column(page, 'check-table', 'check-cell-result')), new Set(['异常']));
  await exportsHold(page, 'check-export', names, ['郑*常']);
  // 核查方式: the server's check_methods; a doctor's check stays, self-checks only leave it
  await choose(page, 'check-filter-by', '医生核查');
  await page.getByTestId('check-submit').click();
  await page.waitForFunction(() => /[?&]by=doctor/.test(location.hash));
  assert.deepEqual(new Set(await column(page, 'check-table', 'check-cell-by')), new Set(['医生核查']));
  await choose(page, 'check-filter-by', '本人自查');
  await page.getByTestId('check-submit').click();
  await table.locator('tbody tr', { hasText: '吴*热' }).waitFor({ state: 'detached' });
  await choose(page, 'check-filter-by', '医生核查');
  await page.getByTestId('check-submit').click();
  await row.waitFor();
  await shot(page, 'case-checks');

  // 导出任务: the same rows through a background export job (POST
  // /api/v1/exports with the page's filters), its progress shown, the file
  // downloaded when done and opened by another program
  await page.getByTestId('check-export-job').click();
  const [dl] = await Promise.all([page.waitForEvent('download', { timeout: 30000 }), page.getByTestId('check-export-job-start').click()]);
  assert.equal(await dl.failure(), null);
  assert.match(dl.suggestedFilename(), /^checks-\d+\.xlsx$/);
  const jobFile = path.join(ctx.dir, `job-${dl.suggestedFilename()}`);
  await dl.saveAs(jobFile);
  const jobRows = xlsxRows(jobFile).filter((r) => r.some((c) => c !== '')).slice(1);
  assert.equal(jobRows.length, names.length, JSON.stringify(jobRows));
  for (const t of names) assert.equal(jobRows.filter((r) => r.includes(t)).length, 1, `the job's file holds ${t}`);
  assert.ok(!jobRows.some((r) => r.join('|').includes('郑*常')), 'the filter holds in the job');
  assert.ok(!jobRows.some((r) => r.join('|').includes('吴发热')), 'masked');
  await page.getByTestId('job-status').getByText(`共 ${names.length} 条`).waitFor();
  assert.match(await page.getByTestId('job-progress').textContent(), /导出完成/);
  await page.getByTestId('check-export-job-download').waitFor();
  await shot(page, 'case-checks-export-job');
  await page.keyboard.press('Escape');
  await page.getByTestId('check-export-job-start').waitFor({ state: 'hidden' });

  // the name opens the observation
  await row.getByTestId('check-cell-name').click();
  await page.getByTestId('obs-title').getByText('吴*热').waitFor();
  assertClean(page);

  // a link whose range ends before it starts: the server's message above
  // the list, no rows
  const day = 86400e3;
  const bad = await console_(`/checks?days=${Date.now()}&days=${Date.now() - 3 * day}`);
  await bad.getByTestId('check-error').getByText('结束时间不能早于开始时间').waitFor();
  assert.equal(await bad.getByTestId('check-table').locator('tbody tr').count(), 0);
  assertClean(bad);

  // 西城区's command centre sees none of them
  const west = await console_('/checks', ctx.as.cc_xc);
  await west.getByTestId('check-total').getByText('共 0 条记录').waitFor();
  assertClean(west);
});
