// 密接追踪 in the console and the verification tasks it sends to the grid
// (web/console/views/trace/Traces.vue, TraceRun.vue; docs/tracing.md
// "Contact tracing"): a confirmed case visited a supermarket; two people of
// the first grid were there at the same time and a third hours earlier.
// The command centre starts a trace of the case from 发起追踪, sees the
// graph (the case and the two contacts, not the third) and the map (the
// grid with two), selects both in the table and turns them into
// verification tasks; the grid worker finds the two tasks in 我的任务 on
// the phone. The automatic trace of the confirmation raises an alert that
// opens its run; the case's page links to its traces with the start dialog
// ready for the case, where a window over 60 days is refused under its
// field; the rules dialog saves. A leader (trace.read only) reads it all
// without the actions.
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { selectors } from 'playwright-core';
import { launch, openPage, consolePage, adoptSession, assertClean, shot, residentId, sharedConsolePage } from './lib.mjs';
import { startCityWith, writeTmp } from '../api/lib.mjs';

selectors.setTestIdAttribute('data-test');

const PW = 'Trace-contacts-2026!';
const GRID = '110101001001001'; // 第一网格 of 多福巷社区
const CASE_HOME = '110101002001'; // 隆福寺社区
const MIN = 60000;
let ctx, browser, cc, grid, caseId, caseIdNumber;

before(async () => {
  ctx = await startCityWith({ cc_dc: ['command_center', '110101000000'], grid_g1: ['grid_worker', GRID], leader_dc: ['leader', '110101000000'] }, PW);
  ({ cc_dc: cc, grid_g1: grid } = ctx.as);
  const person = async (name, idNumber, region) => {
    const r = await cc.post('/api/v1/persons', { name, id_number: idNumber, region_code: region });
    assert.equal(r.status, 201, r.text);
    return r.body.id;
  };
  caseIdNumber = residentId('110101', '19820312', 51);
  caseId = await person('孙病例', caseIdNumber, CASE_HOME);
  const a = await person('周密接', residentId('110101', '19850101', 53), GRID);
  const b = await person('吴密接', residentId('110101', '19860202', 55), GRID);
  const early = await person('郑早到', residentId('110101', '19870303', 57), GRID);
  // the grid's centre, for the map
  let r = await cc.patch(`/api/v1/regions/${GRID}`, { name: '第一网格', center: [116.4102, 39.9163] });
  assert.equal(r.status, 200, r.text);
  r = await cc.post('/api/v1/places', { name: '多福巷商业街', kind: 'community', region_code: '110101001001' });
  assert.equal(r.status, 201, r.text);
  r = await cc.post('/api/v1/venues', { name: '多福巷便民超市', kind: 'community_gate', place_id: r.body.id });
  assert.equal(r.status, 201, r.text);
  const venue = r.body.id;

  // the case at the supermarket for an hour, three hours ago; the two
  // contacts overlapping it by 40 and 20 minutes; the third left four
  // hours before the case came
  const t = Date.now() - 180 * MIN;
  const rows = [
    [caseId, 'in', t], [caseId, 'out', t + 60 * MIN],
    [a, 'in', t + 10 * MIN], [a, 'out', t + 50 * MIN],
    [b, 'in', t + 40 * MIN], [b, 'out', t + 70 * MIN],
    [early, 'in', t - 300 * MIN], [early, 'out', t - 240 * MIN],
  ];
  // past passages go in through the command line (the scan API stamps "now")
  ctx.must(['trace', 'load-access', writeTmp(ctx, 'passages.csv', `venue_id,person_id,direction,at\n${rows.map((r) => [venue, ...r].join(',')).join('\n')}\n`)]);

  // the case is put under observation after the visit (the window's end)
  // and confirmed
  r = await cc.post('/api/v1/observations', { person_id: caseId, kind: 'home_isolation', source: 'cdc' });
  assert.equal(r.status, 201, r.text);
  r = await cc.post(`/api/v1/persons/${caseId}/status`, { to: 'confirmed', reason: '核酸检测阳性', severity: 'mild', infection_route: 'local' });
  assert.equal(r.status, 200, r.text);
  browser = await launch();
});
after(async () => {
  await browser?.close();
  await ctx?.stop();
});

const tid = (page, name) => page.getByTestId(name);

test('a trace of the case finds the two contacts, and 转为核查任务 sends them to the grid worker', async () => {
  const page = await sharedConsolePage(browser, ctx, '/trace/contacts', cc);
  await tid(page, 'trace-table').waitFor();

  // 发起追踪: the case found by the full id number, the default window, degree 2
  await tid(page, 'trace-start').click();
  await tid(page, 'trace-start-dialog').waitFor();
  await tid(page, 'trace-start-person').click();
  await page.keyboard.type(caseIdNumber);
  await tid(page, 'trace-start-person-option').filter({ hasText: '孙*例' }).first().click();
  await tid(page, 'trace-start-submit').click();
  await page.waitForURL(/#\/trace\/contacts\/\d+$/);

  // the run: the case masked, two close contacts, the graph drawn by ECharts
  // with the case and the two contacts (the early visitor is not one)
  await tid(page, 'trace-run-case').waitFor();
  assert.equal(await tid(page, 'trace-run-case').innerText(), '孙*例');
  const graph = tid(page, 'trace-graph');
  await graph.locator('canvas').first().waitFor();
  await page.waitForFunction(() => Number(document.querySelector('[data-test=trace-graph]')?.dataset.nodes) > 0);
  assert.equal(await graph.getAttribute('data-nodes'), '3', 'the case and its two contacts');
  assert.equal(await tid(page, 'trace-run-count-close').innerText(), '2');
  await shot(page, 'console-trace-graph');

  // 导出 Excel: the run's workbook, masked; the full one offered to person.reveal
  const file = await cc.get(await tid(page, 'trace-export').getAttribute('href'));
  assert.equal(file.status, 200);
  assert.match(file.headers.get('content-type'), /spreadsheetml/);
  assert.match(await tid(page, 'trace-export-reveal').getAttribute('href'), /\/export\?reveal=1$/);

  // 列表: both contacts, masked, with the supermarket as the reason
  await page.getByRole('tab', { name: '列表' }).click();
  const names = tid(page, 'trace-contact-name');
  await names.nth(1).waitFor();
  assert.deepEqual((await names.allInnerTexts()).sort(), ['吴*接', '周*接']);
  const reasons = await tid(page, 'trace-contact-reason').allInnerTexts();
  assert.equal(reasons.length, 2);
  for (const r of reasons) assert.match(r, /^多福巷便民超市 .* 重叠(40|20)分钟 同场出入\d+人次$/);
  assert.ok(!(await tid(page, 'trace-contact-table').innerText()).includes('郑'), 'the early visitor is no contact');

  // select both, 转为核查任务, confirm: two reports, the rows marked 已转交
  const table = tid(page, 'trace-contact-table');
  const boxes = table.locator('.el-table__body .el-checkbox');
  for (let i = 0; i < 2; i++) await boxes.nth(i).click();
  await tid(page, 'trace-commit').click();
  await page.getByRole('button', { name: '确定转交' }).click();
  await tid(page, 'trace-commit-result').waitFor();
  assert.match(await tid(page, 'trace-commit-result').innerText(), /已转交 2 人，生成上报 2 条/);
  await page.waitForFunction(() => document.querySelectorAll('[data-test=trace-contact-committed]').length === 2);
  assert.equal(await table.locator('.el-table__body .el-checkbox.is-disabled').count(), 2, 'committed rows cannot be selected again');
  await shot(page, 'console-trace-committed');

  // 分布图: the grid at its centre on the chart and in the table with its two contacts
  await page.getByRole('tab', { name: '分布图' }).click();
  await tid(page, 'trace-map-grid').first().waitFor();
  assert.deepEqual(await tid(page, 'trace-map-grid').allInnerTexts(), ['第一网格']);
  assert.deepEqual(await tid(page, 'trace-map-total').allInnerTexts(), ['2']);
  await page.waitForFunction(() => document.querySelector('[data-test=trace-map]')?.dataset.points === '1');
  await tid(page, 'trace-map').locator('canvas').first().waitFor();
  assertClean(page);

  // the grid worker's 我的任务: the two verification tasks
  const phone = await openPage(browser, { mobile: true });
  await adoptSession(phone, grid);
  await phone.goto(ctx.url + '/mobile/#/staff');
  await tid(phone, 'entry-tasks').click();
  await phone.waitForURL(/#\/staff\/tasks$/);
  await tid(phone, 'task-item').nth(1).waitFor();
  const titles = await tid(phone, 'task-item').locator('.van-cell__title > span').allInnerTexts();
  assert.deepEqual(titles, ['入户核实：密切接触', '入户核实：密切接触']);
  await shot(phone, 'mobile-trace-tasks');
  assertClean(phone);
});

test('the automatic trace\'s alert opens its run; the case\'s page opens the start dialog; a bad window and the rules', async () => {
  // the automatic warning's pass (the server's trace worker runs the same)
  ctx.must(['trace', 'sweep']);
  const page = await sharedConsolePage(browser, ctx, '/alerts', cc);
  const link = tid(page, 'alert-trace-run');
  await link.first().waitFor();
  await link.first().click();
  await page.waitForURL(/#\/trace\/contacts\/\d+$/);
  await tid(page, 'trace-run-case').waitFor();
  assert.equal(await tid(page, 'trace-run-case').innerText(), '孙*例');
  assert.match(await tid(page, 'trace-run-summary').innerText(), /确诊时自动追踪/);
  await tid(page, 'trace-graph').locator('canvas').first().waitFor();
  assert.equal(await tid(page, 'trace-run-count-close').innerText(), '2');

  // the person's page, 疫情处置: 密接追踪 opens the case's runs and the dialog with the case
  await page.goto(`${ctx.url}/console/#/people/${caseId}`);
  await page.getByRole('tab', { name: '疫情处置' }).click();
  await tid(page, 'case-trace').click();
  await page.waitForURL(/#\/trace\/contacts\?/);
  await tid(page, 'trace-start-dialog').waitFor();
  await shot(page, 'console-trace-start-from-person');
  await tid(page, 'trace-start-person').filter({ hasText: '孙*例' }).waitFor();
  const runs = await tid(page, 'trace-open').count();
  assert.ok(runs >= 2, 'the manual and the automatic run');
  assert.deepEqual([...new Set(await tid(page, 'trace-open').allInnerTexts())], ['孙*例']);

  // a window over 60 days is refused under the window's field, and no run is made
  const ends = tid(page, 'trace-start-window').locator('input');
  await ends.nth(0).fill('2026-01-01 00:00:00');
  await ends.nth(1).fill('2026-11-01 00:00:00');
  await ends.nth(1).press('Enter');
  await tid(page, 'trace-start-submit').click();
  await tid(page, 'trace-start-dialog').locator('.el-form-item__error', { hasText: '追踪时间范围不能超过60天' }).waitFor();
  await page.keyboard.press('Escape');
  assert.equal((await cc.get(`/api/v1/traces?person_id=${caseId}`)).body.total, runs);

  // 追踪规则: the close overlap changed to 30 minutes and stored
  await tid(page, 'trace-rules').click();
  const minutes = tid(page, 'trace-rule-close_overlap_minutes').locator('input');
  await minutes.waitFor();
  assert.equal(await minutes.inputValue(), '15');
  await minutes.fill('30');
  await minutes.blur();
  // and the crowd rule: 200 passages by default, 500 now
  const crowd = tid(page, 'trace-rule-close_crowd_max').locator('input');
  assert.equal(await crowd.inputValue(), '200');
  await crowd.fill('500');
  await crowd.blur();
  await tid(page, 'trace-rules-save').click();
  await tid(page, 'trace-rules-dialog').waitFor({ state: 'hidden' });
  const rules = (await cc.get('/api/v1/trace/rules')).body;
  assert.equal(rules.close_overlap_minutes, 30);
  assert.equal(rules.close_crowd_max, 500);
  assertClean(page);
});

test('a leader reads the runs, the graph and the list, without the actions of trace.write, case.report, person.reveal, trace.rules', async () => {
  const runs = (await cc.get(`/api/v1/traces?person_id=${caseId}`)).body.items;
  assert.ok(runs.length >= 1);
  const page = await consolePage(browser, ctx, '/trace/contacts', ctx.as.leader_dc);
  await tid(page, 'trace-open').first().waitFor();
  assert.equal(await tid(page, 'trace-start').count(), 0, 'no 发起追踪');
  await tid(page, 'trace-rules').click();
  await tid(page, 'trace-rule-close_overlap_minutes').waitFor();
  assert.ok(await tid(page, 'trace-rule-close_overlap_minutes').locator('input').isDisabled(), 'the rules read only');
  assert.equal(await tid(page, 'trace-rules-save').count(), 0);
  await page.keyboard.press('Escape');

  await page.goto(`${ctx.url}/console/#/trace/contacts/${runs[runs.length - 1].id}`);
  await tid(page, 'trace-graph').locator('canvas').first().waitFor();
  await page.getByRole('tab', { name: '列表' }).click();
  await tid(page, 'trace-contact-name').nth(1).waitFor();
  assert.equal(await tid(page, 'trace-commit').count(), 0, 'no 转为核查任务');
  assert.equal(await tid(page, 'trace-contact-table').locator('.el-checkbox').count(), 0, 'no selection');
  assert.equal(await tid(page, 'trace-export').count(), 1);
  assert.equal(await tid(page, 'trace-export-reveal').count(), 0, 'no full export');
  assertClean(page);
});
