// The leaders' statistics in Chromium: the console's 统计分析 page shows the
// figures of the leader's district, a 30-day trend and the table by street,
// drilling down to a street's communities; the mobile 防控概览 page shows the
// same figures on a phone and goes down a level when a street is tapped.
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { selectors } from 'playwright-core';
import { startServer, launch, openPage, adoptSession, assertClean, shot, CITY_CSV, writeTmp, residentId, totpSecretFrom } from './lib.mjs';

selectors.setTestIdAttribute('data-test');

const PW = 'Passw0rd!statspages';
const DC = '110101000000'; // 东城区
const BUILDING = '110101001001001001'; // 东华门街道 多福巷社区 1号楼
const COMMUNITY = '110101001001'; // 多福巷社区
const OTHER_COMMUNITY = '110101002001'; // 景山街道 隆福寺社区
let ctx, browser, cc, leader;

before(async () => {
  let secret;
  ctx = await startServer({
    setup: (c) => {
      c.must(['import', 'regions', writeTmp(c, 'city.csv', CITY_CSV)]);
      c.must(['user', 'add', '--username', 'st_cc', '--password', PW, '--role', 'command_center', '--region', DC]);
      secret = totpSecretFrom(c.must(['user', 'add', '--username', 'st_leader', '--password', PW, '--role', 'leader', '--region', DC, '--name', '东城领导']));
    },
  });
  cc = ctx.client();
  await cc.login('st_cc', PW);
  leader = ctx.client();
  await leader.login('st_leader', PW, secret);
  let seq = 0;
  for (const [region, status] of [[BUILDING, 'confirmed'], [OTHER_COMMUNITY, 'confirmed'], [COMMUNITY, 'suspected']]) {
    seq += 1;
    const r = await cc.post('/api/v1/persons', { name: '统计页', id_number: residentId('110101', '19800101', 500 + seq * 2), region_code: region, status });
    assert.equal(r.status, 201, r.text);
  }
  // a quarantine site with three rooms, one closed (防控资源)
  const site = await cc.post('/api/v1/places', { name: '东华门隔离酒店', kind: 'quarantine_site', region_code: COMMUNITY });
  assert.equal(site.status, 201, site.text);
  assert.equal((await cc.post(`/api/v1/quarantine-sites/${site.body.id}/rooms`, { rooms: ['101', '102', '103'] })).status, 201);
  assert.equal((await cc.patch(`/api/v1/quarantine-sites/${site.body.id}/rooms/103`, { closed: true })).status, 204);
  browser = await launch();
});

after(async () => {
  await browser?.close();
  await ctx?.stop();
});

test('console: figures, trend and the table by region with drill-down', async () => {
  const page = await openPage(browser);
  await adoptSession(page, leader);
  await page.goto(`${ctx.url}/console/#/stats`);
  const fig = (m) => page.getByTestId(`fig-${m}`).getByTestId('fig-value');
  await assert.doesNotReject(fig('person.status.confirmed').waitFor());
  assert.equal(await fig('person.status.confirmed').textContent(), '2');
  assert.equal(await fig('person.status.suspected').textContent(), '1');
  assert.equal(await fig('person.registered').textContent(), '3');
  assert.match(await page.getByTestId('stats-scope').textContent(), /东城区/);
  // the trend opens on 新增确诊 (the status machine's flow: none here, the
  // people were registered as cases); 30 days of 登记人员 has today's three
  // registrations in the last bar
  await page.getByTestId('trend-measure').click();
  await page.locator('.el-select-dropdown__item:visible', { hasText: '登记人员' }).click();
  const bars = page.getByTestId('trend-bar');
  await page.locator('[data-test=trend-bar][data-value="3"]').waitFor({ state: 'attached' });
  await bars.nth(29).waitFor({ state: 'attached' }); // a day without any is a bar of height 0
  assert.equal(await bars.count(), 30);
  assert.equal(await bars.last().getAttribute('data-value'), '3');
  // the table by street, with names; then down into 东华门街道
  const table = page.getByTestId('stats-region-table');
  await table.getByText('景山街道').waitFor();
  const rowOf = (name) => table.locator('tr', { hasText: name });
  assert.equal(await rowOf('东华门街道').getByTestId('cell-person.status.confirmed').textContent(), '1');
  assert.equal(await rowOf('景山街道').getByTestId('cell-person.status.confirmed').textContent(), '1');
  assert.equal(await rowOf('合计').getByTestId('cell-person.status.confirmed').textContent(), '2');
  await shot(page, 'stats-console');
  await table.getByText('东华门街道').click();
  await table.getByText('多福巷社区').waitFor();
  assert.equal(await rowOf('多福巷社区').getByTestId('cell-person.status.suspected').textContent(), '1');
  assert.match(await page.getByTestId('stats-path').textContent(), /东城区.*东华门街道/);
  // back up by the breadcrumb
  await page.getByTestId('stats-path').getByText('东城区').click();
  await table.getByText('景山街道').waitFor();
  assertClean(page);
});

test('console: the records behind a number (masked, names not codes), resources and quarantine sites', async () => {
  const page = await openPage(browser);
  await adoptSession(page, leader);
  await page.goto(`${ctx.url}/console/#/stats`);
  const res = (m) => page.getByTestId(`res-${m}`).getByTestId('res-value');
  await res('place.kind.quarantine_site').waitFor();
  assert.equal(await res('place.kind.quarantine_site').textContent(), '1');
  assert.equal(await res('case.rooms.free').textContent(), '2');
  assert.equal(await res('case.rooms.closed').textContent(), '1');
  const sites = page.getByTestId('stats-site-table');
  await sites.getByText('东华门隔离酒店').waitFor();
  assert.match(await sites.textContent(), /多福巷社区/);
  // a card opens the people it counts: masked names, region names
  await page.getByTestId('fig-person.status.confirmed').click();
  const list = page.getByTestId('stats-list-table');
  await list.getByTestId('stats-list-name').first().waitFor();
  assert.deepEqual((await list.getByTestId('stats-list-name').allTextContents()).sort(), ['统*页', '统*页']);
  assert.deepEqual((await list.getByTestId('stats-list-region').allTextContents()).sort(), ['1号楼', '隆福寺社区']); // where each lives
  const text = await page.getByTestId('stats-list').textContent();
  assert.ok(!/\d{12}/.test(text), `no region code or id in the list: ${text}`);
  await shot(page, 'stats-list');
  await page.keyboard.press('Escape');
  await page.getByTestId('stats-list').waitFor({ state: 'hidden' });
  // a cell of the table opens that street's records only
  const table = page.getByTestId('stats-region-table');
  await table.locator('tr', { hasText: '景山街道' }).getByTestId('cell-person.status.confirmed').click();
  await page.getByTestId('stats-list-total').filter({ hasText: '共 1 条' }).waitFor();
  assert.deepEqual(await list.getByTestId('stats-list-region').allTextContents(), ['隆福寺社区']);
  // a place kind lists places by name
  await page.keyboard.press('Escape');
  await page.getByTestId('stats-list').waitFor({ state: 'hidden' });
  await page.getByTestId('res-place.kind.quarantine_site').click();
  await list.getByText('东华门隔离酒店').waitFor();
  assertClean(page);
});

test('console: two periods compared and the trends of a category', async () => {
  const page = await openPage(browser);
  await adoptSession(page, leader);
  await page.goto(`${ctx.url}/console/#/stats`);
  await page.getByTestId('stats-compare-link').click();
  await page.getByTestId('compare-tabs').getByText('时段对比').click();
  await page.getByTestId('compare-flow').click();
  await page.locator('.el-select-dropdown__item:visible', { hasText: '登记人员' }).click();
  await page.getByTestId('compare-periods-go').click();
  await page.getByTestId('period-second').waitFor();
  // the second window (the last 30 days) holds today's three registrations
  assert.equal(await page.getByTestId('period-second').textContent(), '3');
  assert.equal(await page.getByTestId('period-first').textContent(), '0');
  assert.equal(await page.getByTestId('period-change').textContent(), '+3');
  await page.getByTestId('compare-tabs').getByText('分类趋势').click();
  await page.getByTestId('trends-go').click();
  await page.getByTestId('trend-series').first().waitFor();
  assert.ok((await page.getByTestId('trend-series').count()) >= 5); // 感染途径
  await shot(page, 'stats-compare');
  assertClean(page);
});

test('mobile: the leader\'s 防控概览 with the same figures, down a level by tapping', async () => {
  const page = await openPage(browser, { mobile: true });
  await adoptSession(page, leader);
  await page.goto(`${ctx.url}/mobile/#/staff`);
  await page.getByTestId('entry-overview').click();
  const fig = (m) => page.getByTestId(`fig-${m}`).getByTestId('fig-value');
  await fig('person.status.confirmed').waitFor();
  assert.equal(await fig('person.status.confirmed').textContent(), '2');
  assert.equal(await fig('person.registered').textContent(), '3');
  await page.getByTestId('trend-bar').nth(29).waitFor({ state: 'attached' });
  assert.equal(await page.getByTestId('trend-bar').count(), 30);
  await shot(page, 'stats-mobile');
  await page.getByTestId('overview-region').filter({ hasText: '东华门街道' }).click();
  await page.getByTestId('overview-scope').filter({ hasText: '东华门街道' }).waitFor();
  assert.equal(await fig('person.status.confirmed').textContent(), '1');
  assert.equal(await fig('person.status.suspected').textContent(), '1');
  assertClean(page);
});
