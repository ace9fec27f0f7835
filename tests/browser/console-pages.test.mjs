// The console's everyday pages in Chromium: the header's region filter
// narrows lists other than people (places, here), a person's page shows
// each kind of record about them in a tab with names and Chinese dates, and
// the people table is usable on a 1366×768 screen; the vehicles list names
// regions.
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { selectors } from 'playwright-core';
import { startServer, launch, openPage, adoptSession, assertClean, shot, CITY_CSV, writeTmp, residentId, smsCode, pickRegion } from './lib.mjs';

selectors.setTestIdAttribute('data-test');

const PW = 'Passw0rd!pages';
const DC = '110101000000'; // 东城区
const S1 = '110101001000'; // 东华门街道
const S1_C1 = '110101001001'; // 多福巷社区
const S2_C1 = '110101002001'; // 隆福寺社区 (景山街道)
const H = 3600000;
let ctx, browser, cc;
let person; // the resident whose page is opened
let venue;

async function ok(r, status = 201) {
  assert.equal(r.status, status, r.text);
  return r.body;
}

before(async () => {
  ctx = await startServer({
    setup: (c) => {
      c.must(['import', 'regions', writeTmp(c, 'city.csv', CITY_CSV)]);
      c.must(['user', 'add', '--username', 'pg_cc', '--password', PW, '--role', 'command_center', '--region', DC, '--name', '东城指挥']);
    },
  });
  cc = ctx.client();
  await cc.login('pg_cc', PW);
  // two places in two streets, for the header's filter
  const east = await ok(await cc.post('/api/v1/places', { name: '多福巷小区', kind: 'community', region_code: S1_C1 }));
  await ok(await cc.post('/api/v1/places', { name: '隆福寺小区', kind: 'community', region_code: S2_C1 }));
  venue = await ok(await cc.post('/api/v1/venues', { name: '多福巷小区东门', kind: 'community_gate', place_id: east.id }));

  // a resident with something in every tab of their page
  const res = ctx.client();
  const phone = '13700001234';
  await res.post('/api/v1/auth/sms/send', { phone });
  await ok(await res.post('/api/v1/auth/sms/login', { phone, code: smsCode(ctx, phone) }), 200);
  await ok(await res.post('/api/v1/me/consent', { version: 'v1' }), 200);
  const me = await ok(await res.post('/api/v1/me/person', { name: '陈页面', id_number: residentId('110101', '19800808', 77), region_code: S1_C1, address: '多福巷3号' }));
  person = me.person;
  await ok(await cc.post(`/api/v1/persons/${person.id}/verify`, { document_checked: true }), 200);
  const now = Date.now();
  const pid = person.id;
  await ok(await cc.post(`/api/v1/persons/${pid}/declarations`, { temperature: 36.6, symptoms: ['cough'], contact: false }));
  await ok(await cc.post(`/api/v1/persons/${pid}/temperatures`, { value: 36.8, source: 'checkpoint', venue_id: venue.id }));
  // an isolation comes from the observation list (docs/cases.md), here opened and released
  const obs = await ok(await cc.post('/api/v1/observations', { person_id: pid, kind: 'home_isolation', source: 'grid_patrol', start_at: now - 48 * H }));
  await ok(await cc.post(`/api/v1/observations/${obs.id}/end`, { reason: '隔离期满' }), 200);
  await ok(await cc.post(`/api/v1/persons/${pid}/contacts`, { degree: 2, at: now - 72 * H, end_at: now - 60 * H }));
  const area = await ok(await cc.post('/api/v1/risk-areas', { name: '某市某区某街道', level: 'medium', valid_from: now - 30 * 24 * H }));
  await ok(await cc.post(`/api/v1/persons/${pid}/stays`, { area_id: area.id, arrived_at: now - 20 * 24 * H, left_at: now - 19 * 24 * H }));
  await ok(await cc.post(`/api/v1/persons/${pid}/test-results`, { result: 'negative', sampled_at: now - 10 * H, reported_at: now - 5 * H }));
  await ok(await cc.post('/api/v1/vehicles', { plate: '京A12345', kind: 'car', owner_person_id: pid }));
  await ok(await res.post('/api/v1/me/visitors', {
    name: '赵访客', id_type: 'resident_id', id_number: residentId('110102', '19920315', 9), phone: '13912345670',
    purpose: '探亲', valid_from: now - H, valid_to: now + 4 * H,
  }));
  const token = (await ok(await res.get('/api/v1/me/code/token'), 200)).token;
  await ok(await cc.post('/api/v1/scans', { venue_id: venue.id, token, direction: 'in' }));
  browser = await launch();
});

after(async () => {
  await browser?.close();
  await ctx?.stop();
});

async function consoleAt(hash, viewport) {
  const page = await openPage(browser, { viewport });
  await adoptSession(page, cc);
  await page.goto(`${ctx.url}/console/#${hash}`);
  return page;
}

const placeNames = (page) => page.locator('[data-test=place-table] .el-table__body .el-table__row td:first-child').allInnerTexts();

test('choosing a street in the header narrows the places list, and the venues list as well', async () => {
  const page = await consoleAt('/places');
  await page.locator('[data-test=place-table] .el-table__row').nth(1).waitFor();
  assert.deepEqual((await placeNames(page)).map((s) => s.trim()).sort(), ['多福巷小区', '隆福寺小区']);
  await Promise.all([
    page.waitForResponse((r) => r.url().includes('/api/v1/places?') && r.url().includes(`within=${S1}`)),
    pickRegion(page, 'header-region', [DC, S1]),
  ]);
  await page.locator('[data-test=place-table] .el-table__row').nth(1).waitFor({ state: 'detached' });
  assert.deepEqual((await placeNames(page)).map((s) => s.trim()), ['多福巷小区']);
  await shot(page, 'places-narrowed-by-header');
  // another list follows the same choice without being told
  await page.goto(`${ctx.url}/console/#/venues`);
  await page.getByText('多福巷小区东门').first().waitFor();
  assertClean(page);
});

test('a person\'s page opens from the list and shows each kind of record in its tab', async () => {
  const page = await consoleAt('/people');
  // the person's region comes with the person: no look-up of its own
  const ownLookups = [];
  page.on('request', (q) => {
    if (new URL(q.url()).pathname === `/api/v1/regions/${S1_C1}`) ownLookups.push(q.url());
  });
  await page.getByTestId('person-table').waitFor();
  await page.getByTestId('search-by').click();
  await page.getByRole('option', { name: '姓名', exact: true }).filter({ visible: true }).click();
  await page.getByTestId('search-text').fill('陈页面');
  await page.getByTestId('search-submit').click();
  await page.getByTestId('cell-name').filter({ hasText: '陈*面' }).click();
  await page.waitForURL(new RegExp(`#/people/${person.id}$`));
  await page.getByTestId('person-title').filter({ hasText: '陈*面' }).waitFor();
  assert.equal(await page.getByTestId('basic-region_code').innerText(), '东华门街道 · 多福巷社区');
  assert.deepEqual(ownLookups, []);
  assert.doesNotMatch(await page.getByTestId('person-basic').innerText(), /110101001001/);

  const open = async (label, name) => {
    await page.getByRole('tab', { name: label, exact: true }).click();
    const pane = page.getByTestId(`records-${name}`);
    await pane.locator('.el-table__body .el-table__row').first().waitFor();
    return (await pane.locator('.el-table__body').innerText()).replace(/\s+/g, ' ');
  };
  const date = /\d{4}年\d{1,2}月\d{1,2}日 \d{2}:\d{2}/;

  await page.getByRole('tab', { name: '健康码', exact: true }).click();
  assert.equal(await page.getByTestId('person-code-colour').innerText(), '绿码');
  await page.getByTestId('records-code-history').waitFor();
  let text = await open('健康申报', 'declarations');
  assert.match(text, /咳嗽/);
  assert.match(text, date);
  text = await open('体温', 'temperatures');
  assert.match(text, /36\.8℃/);
  assert.match(text, /多福巷小区东门/, 'the venue by name');
  text = await open('隔离', 'isolations');
  assert.match(text, /居家隔离/);
  text = await open('密接', 'contacts');
  assert.match(text, /次密切接触者/);
  text = await open('旅居', 'stays');
  assert.match(text, /某市某区某街道/, 'the risk area by name');
  text = await open('核酸检测', 'tests');
  assert.match(text, /阴性/);
  text = await open('通行记录', 'access');
  assert.match(text, /多福巷小区东门.*进入.*绿码.*通过/);
  text = await open('车辆', 'vehicles');
  assert.match(text, /京A12345.*小型汽车/);
  text = await open('访客', 'visitors');
  assert.match(text, /赵\*.*探亲.*待审核/);
  await shot(page, 'person-page-visitors');
  // no tab shows an id or an ISO date
  const all = await page.getByTestId('person-page').innerText();
  assert.ok(!all.includes(person.id) && !all.includes(venue.id), 'no ids');
  assert.doesNotMatch(all, /\d{4}-\d{2}-\d{2}T/);
  // the header's filter narrows lists, not a page about one person
  await pickRegion(page, 'header-region', [DC, '110101002000']);
  await page.goto(`${ctx.url}/console/#/home`);
  await page.goto(`${ctx.url}/console/#/people/${person.id}`);
  await page.getByTestId('person-title').filter({ hasText: '陈*面' }).waitFor();
  await page.getByRole('tab', { name: '通行记录', exact: true }).click();
  await page.getByTestId('records-access').locator('.el-table__body .el-table__row').first().waitFor();
  assertClean(page);
});

test('the vehicles list names each vehicle\'s region, never its code', async () => {
  const page = await openPage(browser);
  await adoptSession(page, cc);
  await page.goto(`${ctx.url}/console/#/vehicles`);
  const row = page.getByTestId('vehicle-table').locator('tbody tr', { hasText: '京A12345' });
  await row.getByTestId('vehicle-region').getByText('多福巷社区').waitFor();
  const text = await row.innerText();
  assert.ok(!/\d{12}/.test(text), `no region code or id in the row: ${text}`);
  assertClean(page);
});

test('the people table fits a 1366×768 screen: no page scroll sideways, key columns and actions visible', async () => {
  const page = await consoleAt('/people', { width: 1366, height: 768 });
  await page.getByTestId('person-table').locator('.el-table__body .el-table__row').first().waitFor();
  await shot(page, 'people-1366');
  const { scrollW, clientW } = await page.evaluate(() => ({ scrollW: document.documentElement.scrollWidth, clientW: document.documentElement.clientWidth }));
  assert.ok(scrollW <= clientW, `the page does not scroll sideways (${scrollW} > ${clientW})`);
  // in view: on screen, and left of the actions column fixed on the right
  // (which would cover what scrolls beneath it)
  const ops = await page.locator('[data-test=person-table] td.el-table-fixed-column--right').first().boundingBox();
  const inView = async (loc, right = ops.x) => {
    const b = await loc.boundingBox();
    return b && b.x >= 0 && b.x + b.width <= right;
  };
  for (const id of ['cell-name', 'cell-id-number', 'cell-phone', 'person-region', 'cell-status'])
    assert.ok(await inView(page.getByTestId(id).first()), `${id} is in view`);
  const code = page.locator('[data-test=person-table] th').filter({ hasText: '健康码' }).first();
  assert.ok(await inView(code), 'the code colour column is in view');
  for (const id of ['person-reveal', 'person-edit', 'person-history', 'person-delete'])
    assert.ok(await inView(page.getByTestId(id).first(), 1366), `${id} is reachable`);
  assertClean(page);
});
