// 重点人员行程 in the console and 我的行程 on the mobile page
// (web/console/views/trace/Trips.vue, web/mobile/views/MyTrips.vue;
// docs/tracing.md): a command centre records a trip with two waypoints
// (a mall in text, a registered venue) through the dialog, sees it in the
// list (masked name, route, transport, waypoint count) and in the detail's
// timeline; a resident adds a trip on the mobile page and sees it listed.
import { test, before, after } from 'node:test';
import fs from 'node:fs';
import path from 'node:path';
import assert from 'node:assert/strict';
import { launch, openPage, consolePage, assertClean, shot, residentId, smsCode, sleep, choose, sharedConsolePage } from './lib.mjs';
import { startCityWith, CITY_STAFF } from '../api/lib.mjs';
import { selectors } from 'playwright-core';

selectors.setTestIdAttribute('data-test');

const PW = 'Trace-trips-2026!';
const COMMUNITY = '110101001001'; // 多福巷社区
let ctx, browser, cc, idNumber;

before(async () => {
  ctx = await startCityWith(CITY_STAFF, PW);
  cc = ctx.as.cc_dc;
  browser = await launch();
  idNumber = residentId('110101', '19790909', 41);
  let r = await cc.post('/api/v1/persons', { name: '赵行程', id_number: idNumber, region_code: COMMUNITY });
  assert.equal(r.status, 201, r.text);
  r = await cc.post('/api/v1/places', { name: '多福巷小区', kind: 'community', region_code: COMMUNITY });
  assert.equal(r.status, 201, r.text);
  r = await cc.post('/api/v1/venues', { name: '多福巷便民超市', kind: 'community_gate', place_id: r.body.id });
  assert.equal(r.status, 201, r.text);
});
after(async () => {
  await browser?.close();
  await ctx?.stop();
});

const tid = (page, name) => page.getByTestId(name);

test('staff record a trip with two waypoints and see it in the list and the timeline', async () => {
  const page = await sharedConsolePage(browser, ctx, '/trace/trips', cc);
  await tid(page, 'trip-table').waitFor();
  await tid(page, 'trip-add').click();
  const dlg = tid(page, 'trip-dialog');
  await dlg.waitFor();
  // the person, found by the full id number
  await tid(page, 'trip-form-person').click();
  await page.keyboard.type(idNumber);
  await tid(page, 'trip-form-person-option').first().click();
  await tid(page, 'trip-form-departed').locator('input').fill('2026-11-20');
  await page.keyboard.press('Enter');
  await tid(page, 'trip-form-returned').locator('input').fill('2026-11-24');
  await page.keyboard.press('Enter');
  await tid(page, 'trip-form-origin').fill('北京');
  await tid(page, 'trip-form-destination').fill('上海');
  await choose(page, 'trip-form-out-mode', '飞机');
  await tid(page, 'trip-form-out-number').fill('mu5101');
  await sleep(300); // the first dropdown's closing transition
  await choose(page, 'trip-form-back-mode', '火车');
  await tid(page, 'trip-form-back-number').fill('G2');
  // two waypoints: a mall in text, then a registered venue
  await tid(page, 'trip-form-wp-add').click();
  await tid(page, 'trip-form-wp-add').click();
  const kinds = tid(page, 'trip-form-wp-kind');
  await kinds.nth(0).click();
  await page.getByRole('option', { name: '商场', exact: true }).filter({ visible: true }).click();
  await tid(page, 'trip-form-wp-place').first().fill('南京路步行街');
  await tid(page, 'trip-form-wp-stay').nth(0).locator('input').fill('90');
  await sleep(300);
  await kinds.nth(1).click();
  await page.getByRole('option', { name: '登记场所', exact: true }).filter({ visible: true }).click();
  await sleep(300);
  await tid(page, 'trip-form-wp-venue').click();
  await page.keyboard.type('便民超市');
  await page.getByRole('option', { name: '多福巷便民超市', exact: true }).filter({ visible: true }).click();
  await tid(page, 'trip-form-wp-stay').nth(1).locator('input').fill('20');
  await tid(page, 'trip-form-submit').click();
  await dlg.waitFor({ state: 'hidden' });

  // the list: the masked name, the route, the flight, two waypoints
  await tid(page, 'trip-name').first().waitFor();
  assert.equal(await tid(page, 'trip-name').first().innerText(), '赵*程');
  assert.equal(await tid(page, 'trip-route').first().innerText(), '北京 → 上海');
  assert.equal(await tid(page, 'trip-out').first().innerText(), '飞机 MU5101');
  assert.equal(await tid(page, 'trip-waypoints').first().innerText(), '2');
  assert.ok(!(await tid(page, 'trip-table').innerText()).includes(idNumber), 'no full id number in the list');

  // the detail: the waypoints as a timeline, in order, with their stays
  await tid(page, 'trip-detail').first().click();
  await tid(page, 'trip-timeline').waitFor();
  const items = await tid(page, 'trip-timeline-item').allInnerTexts();
  assert.deepEqual(items, ['商场 · 南京路步行街 · 停留 90 分钟', '登记场所 · 多福巷便民超市 · 停留 20 分钟']);
  await shot(page, 'console-trace-trip-detail');
  assertClean(page);
});

async function waitCode(phone) {
  for (let i = 0; i < 100; i++) {
    const c = smsCode(ctx, phone);
    if (c) return c;
    await sleep(50);
  }
  throw new Error(`no SMS code for ${phone}`);
}

test('a resident adds a trip on the mobile page and sees it', async () => {
  const page = await openPage(browser, { mobile: true });
  const phone = '13955507711';
  await page.goto(ctx.url + '/mobile/');
  await page.locator('[data-test=sms-phone] input').fill(phone);
  await tid(page, 'sms-send').click();
  await page.locator('[data-test=sms-code] input').fill(await waitCode(phone));
  await tid(page, 'sms-login').click();
  await page.waitForURL(/#\/consent$/);
  const c = ctx.client();
  const cookie = (await page.context().cookies()).find((k) => k.httpOnly) ?? (await page.context().cookies())[0];
  c.cookie = `${cookie.name}=${cookie.value}`;
  assert.equal((await c.post('/api/v1/me/consent', { version: 'v1' })).status, 200);
  const r = await c.post('/api/v1/me/person', { name: '钱本人', id_number: residentId('110101', '19900101', 43), region_code: COMMUNITY, address: '多福巷9号' });
  assert.equal(r.status, 201, r.text);

  await page.goto(ctx.url + '/mobile/');
  await page.waitForURL(/#\/me$/);
  await tid(page, 'my-trips').click();
  await page.waitForURL(/#\/me\/trips$/);
  await page.locator('[data-test=trip-departed] input').fill('2026-11-28');
  await page.locator('[data-test=trip-destination] input').fill('广州');
  await tid(page, 'trip-out-mode').selectOption('train');
  // a wrong train number is refused under its field, nothing recorded
  await page.locator('[data-test=trip-out-number] input').fill('X99');
  await tid(page, 'trip-submit').click();
  await page.getByText('车次格式不正确').waitFor();
  assert.equal(await tid(page, 'trip-row').count(), 0);
  await page.locator('[data-test=trip-out-number] input').fill('G79');
  await tid(page, 'trip-wp-add').click();
  await tid(page, 'trip-wp-kind').selectOption('park');
  await page.locator('[data-test=trip-wp-place] input').fill('越秀公园');
  await page.locator('[data-test=trip-wp-stay] input').fill('60');
  await tid(page, 'trip-submit').click();
  await tid(page, 'trip-row').first().waitFor();
  const text = await tid(page, 'trip-row').first().innerText();
  assert.match(text, /广州/);
  assert.match(text, /2026-11-28/);
  assert.match(text, /火车 G79/);
  assert.match(text, /途径点 1 个/);
  assert.match(text, /本人填报/);
  await shot(page, 'mobile-my-trips');
  assertClean(page);
});

test('staff import trips from a CSV: the valid row listed, the bad one offered as an error report', async () => {
  const page = await sharedConsolePage(browser, ctx, '/trace/trips', cc);
  await tid(page, 'trip-table').waitFor();
  const head = '证件号码*,出行日期*,返回日期,出发地,目的地*,去程交通*,去程班次/车牌,返程交通,返程班次/车牌,途径点,备注';
  const file = path.join(ctx.dir, 'trips.csv');
  fs.writeFileSync(file, `${head}\n${idNumber},2026-10-10,,北京,成都,飞机,CA4102,,,餐馆/宽窄巷子/45,\n${idNumber},2026-10-12,2026-10-11,成都,北京,火车,G90,,,,\n`);
  await tid(page, 'trip-import').click();
  await tid(page, 'trip-import-dialog').waitFor();
  await tid(page, 'trip-import-file').setInputFiles(file);
  await tid(page, 'trip-import-run').click();
  await tid(page, 'trip-import-errors').waitFor();
  assert.match(await tid(page, 'trip-import-dialog').innerText(), /共 2 行，导入 1 行，出错 1 行/);
  await page.keyboard.press('Escape');
  await tid(page, 'trip-route').filter({ hasText: '北京 → 成都' }).waitFor();
  assertClean(page);
});
