// 监测预警 in Chromium (docs/monitor.md): the command centre edits a rule in
// the dialog (a blank name is refused under its field), runs the
// rules and sees the breach by name; a report filed through the API while a
// street's staff member has the page open shows up there once the background
// worker raises it (live, over the alerts stream), and never on the other
// street's page.
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { selectors } from 'playwright-core';
import { startServer, launch, consolePage, openPage, adoptSession, assertClean, shot, CITY_CSV, writeTmp, residentId } from './lib.mjs';

selectors.setTestIdAttribute('data-test');

const PW = 'Passw0rd!monitorpage';
const COMMUNITY = '110101001001'; // 多福巷社区, 东华门街道
let ctx, browser, cc, street, otherStreet;
let seq = 0;

async function report(region) {
  const p = await cc.post('/api/v1/persons', { name: '监测页', id_number: residentId('110101', '19850101', 700 + ++seq * 2), region_code: region });
  assert.equal(p.status, 201, p.text);
  const r = await cc.post('/api/v1/reports', { source: 'cdc', category: 'contact', person_id: p.body.id });
  assert.equal(r.status, 201, r.text);
}

before(async () => {
  ctx = await startServer({
    env: { FK_MONITOR_EVERY: '1' },
    setup: (c) => {
      c.must(['import', 'regions', writeTmp(c, 'city.csv', CITY_CSV)]);
      c.must(['user', 'add', '--username', 'mp_cc', '--password', PW, '--role', 'command_center', '--region', '110101000000']);
      c.must(['user', 'add', '--username', 'mp_street', '--password', PW, '--role', 'street_staff', '--region', '110101001000']);
      c.must(['user', 'add', '--username', 'mp_other', '--password', PW, '--role', 'street_staff', '--region', '110101002000']);
    },
  });
  cc = ctx.client();
  await cc.login('mp_cc', PW);
  street = ctx.client();
  await street.login('mp_street', PW);
  otherStreet = ctx.client();
  await otherStreet.login('mp_other', PW);
  browser = await launch();
});

after(async () => {
  await browser?.close();
  await ctx?.stop();
});

test('the command centre edits a rule in the dialog; a refusal shows under the field', async () => {
  const page = await consolePage(browser, ctx, '/monitor', cc);
  await page.getByRole('tab', { name: '预警规则' }).click();
  const rules = page.getByTestId('monitor-rules');
  const row = rules.locator('tr', { hasText: '社区新增上报超限' });
  await row.waitFor();
  assert.equal(await row.getByTestId('rule-condition').textContent(), '超过 5件');
  // the occupancy rule's dialog: a blank name is refused by the server, shown under 规则名称
  await rules.locator('tr', { hasText: '隔离点入住率超限' }).getByTestId('monitor-rule-edit').click();
  const dialog = page.getByTestId('monitor-rule-dialog');
  await dialog.waitFor();
  await dialog.getByTestId('rule-label').fill('   ');
  await dialog.getByTestId('rule-save').click();
  await dialog.getByText('请填写规则名称').waitFor();
  // a valid edit: the reports rule at 1
  await dialog.getByTestId('rule-label').fill('隔离点入住率超限');
  await dialog.getByText('取消').click();
  await row.getByTestId('monitor-rule-edit').click();
  await dialog.getByTestId('rule-threshold').locator('input').fill('1');
  await dialog.getByTestId('rule-save').click();
  await dialog.waitFor({ state: 'hidden' });
  await rules.locator('tr', { hasText: '社区新增上报超限' }).getByText('超过 1件').waitFor();
  await shot(page, 'monitor-rules');
  const stored = (await cc.get('/api/v1/monitor/rules')).body.items.find((x) => x.kind === 'reports');
  assert.equal(stored.threshold, 1);
  assertClean(page);
});

test('a breach appears on the staff page by name, live, and only in its street', async () => {
  const mine = await consolePage(browser, ctx, '/monitor', street);
  const theirs = await consolePage(browser, ctx, '/monitor', otherStreet);
  await mine.getByTestId('monitor-breaches').waitFor();
  await theirs.getByTestId('monitor-breaches').waitFor();
  await mine.getByText('今日暂无预警').waitFor();
  await report(COMMUNITY);
  await report(COMMUNITY); // two: more than 1
  // the worker evaluates every second; the alert it raises reaches the page over the stream
  const table = mine.getByTestId('monitor-breaches');
  await table.getByTestId('breach-object').filter({ hasText: '多福巷社区' }).waitFor({ timeout: 8000 });
  assert.equal(await table.locator('tr', { hasText: '多福巷社区' }).getByTestId('breach-figure').textContent(), '2件');
  await shot(mine, 'monitor-breaches');
  await theirs.reload();
  await theirs.getByText('今日暂无预警').waitFor();
  assert.equal(await theirs.getByTestId('breach-object').count(), 0, 'the other street sees nothing of it');
  assertClean(mine);
  assertClean(theirs);
});

test('run now from the page', async () => {
  const page = await consolePage(browser, ctx, '/monitor', cc);
  await page.getByTestId('monitor-run').click();
  await page.getByText(/检测完成/).waitFor();
  await page.getByTestId('breach-object').filter({ hasText: '多福巷社区' }).waitFor();
  assertClean(page);
});

test('mobile: the staff home links 监测预警, which lists the breach of the street', async () => {
  const page = await openPage(browser, { mobile: true });
  await adoptSession(page, street);
  await page.goto(`${ctx.url}/mobile/#/staff`);
  await page.getByText('监测预警').first().click();
  await page.waitForURL(/#\/staff\/monitor/);
  const item = page.getByTestId('monitor-breach').filter({ hasText: '多福巷社区' });
  await item.waitFor();
  assert.match(await item.getByTestId('monitor-figure').textContent(), /社区新增上报 2件，超过阈值 1件/);
  await shot(page, 'monitor-mobile');
  assertClean(page);
});
