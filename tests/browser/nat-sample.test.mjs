// 核酸采样 (issue 10 part 2, docs/nat.md), end to end in Chromium: a site
// worker clocks in on the phone, opens 核酸采样 from the staff home, scans a
// resident's health code with the camera — Chromium's fake capture device
// playing a Y4M video of the code's PNG, decoded by jsQR in the page — types
// a new tube's barcode and chooses 10:1 混采, and sees the tube's fill (1/10);
// the camera reads the same code again and the second sample is warned as
// 重复采样 (2/10); the worker closes the tube (封管). The console lists the
// sample with the name masked, the tube closed early with its fill, and the
// site's scans for the hour.
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import path from 'node:path';
import { launch, openPage, assertClean, shot, adoptSession, consolePage, y4mOf, residentId, smsCode, sleep } from './lib.mjs';
import { startCityWith } from '../api/lib.mjs';

const PW = 'Nat-sample-2026!';
const H = 3600000;
let ctx, browser, camera, cc, staff, resident, site;

before(async () => {
  // the hourly counts asserted below: never straddle an hour's end
  const left = H - (Date.now() % H);
  if (left < 90000) await sleep(left + 1000);
  ctx = await startCityWith({ cc_dc: ['command_center', '110101000000'], staff_dc: ['site_staff', '110101001000'] }, PW);
  ({ cc_dc: cc, staff_dc: staff } = ctx.as);
  let r = await cc.post('/api/v1/nat/sites', {
    name: '多福巷核酸采样点', kind: 'fixed', region_code: '110101001001', address: '多福巷3号', lng: 116.4, lat: 39.91,
  });
  assert.equal(r.status, 201, r.text);
  site = r.body;
  const now = Date.now();
  r = await cc.post('/api/v1/nat/plans', { number: 'DC-2026-12', name: '东城区第十二轮核酸', starts_at: now - H, ends_at: now + 8 * H });
  assert.equal(r.status, 201, r.text);
  // a resident who signed up on the phone (the sign-up pages have their own test)
  resident = ctx.client();
  const phone = '13822223333';
  assert.equal((await resident.post('/api/v1/auth/sms/send', { phone })).status, 200);
  assert.equal((await resident.post('/api/v1/auth/sms/login', { phone, code: smsCode(ctx, phone) })).status, 200);
  assert.equal((await resident.post('/api/v1/me/consent', { version: 'v1' })).status, 200);
  r = await resident.post('/api/v1/me/person', { name: '采样居民', id_number: residentId('110101', '19900101', 55), region_code: '110101001001', address: '多福巷1号' });
  assert.equal(r.status, 201, r.text);
  browser = await launch();
  // the phone's camera shows the resident's health code
  const png = new Uint8Array(await (await fetch(ctx.url + '/api/v1/me/code.png?scale=8', { headers: { cookie: resident.cookie } })).arrayBuffer());
  const page = await openPage(browser);
  await page.goto(ctx.url + '/mobile/');
  const video = path.join(ctx.dir, 'code.y4m');
  await y4mOf(page, png, video);
  await page.context().close();
  camera = await launch({ args: ['--use-fake-ui-for-media-stream', '--use-fake-device-for-media-stream', `--use-file-for-fake-video-capture=${video}`] });
});
after(async () => {
  await camera?.close();
  await browser?.close();
  await ctx?.stop();
});

const field = (page, name) => page.locator(`[data-test=${name}]`);
const value = (page, name) => field(page, name).locator('.van-cell__value').innerText();

test('a site worker clocks in, samples a scanned code into a pooled tube, is warned of a second sample, and closes the tube', async () => {
  const phone = await openPage(camera, { mobile: true });
  await phone.context().grantPermissions(['geolocation'], { origin: ctx.url });
  await phone.context().setGeolocation({ latitude: 39.91, longitude: 116.4 });
  await adoptSession(phone, staff);
  // not on duty: the page sends the worker to clock in first
  await phone.goto(ctx.url + '/mobile/#/staff');
  await field(phone, 'entry-sampling').click();
  await phone.waitForURL(/#\/staff\/nat\/sample$/);
  await field(phone, 'sample-not-clocked-in').waitFor();
  await field(phone, 'sample-not-clocked-in').getByText('去打卡').click();
  await phone.waitForURL(/#\/staff\/nat$/);
  await field(phone, 'nat-site-item').filter({ hasText: '多福巷核酸采样点' }).locator('[data-test=nat-clock-in]').click();
  await field(phone, 'nat-on-duty').waitFor();
  await phone.goto(ctx.url + '/mobile/#/staff/nat/sample');
  assert.equal(await value(phone, 'sample-site'), '多福巷核酸采样点');
  assert.equal(await value(phone, 'sample-hour-scans'), '0');
  // the only plan running is chosen for them
  assert.equal(await field(phone, 'sample-plan').locator('input').inputValue(), '东城区第十二轮核酸');
  assert.equal(await field(phone, 'sample-tube').count(), 0, 'no open tube yet');

  // the camera reads the code: on to the tube
  await field(phone, 'sample-who').waitFor({ timeout: 20000 });
  assert.equal(await value(phone, 'sample-who'), '已扫码');
  // a malformed barcode is refused under its field, nothing written
  await field(phone, 'sample-barcode').locator('input').fill('AB 1');
  await field(phone, 'sample-kind-pool10').click();
  await field(phone, 'sample-submit').click();
  await field(phone, 'sample-barcode').locator('.van-field__error-message').filter({ hasText: '试管条码应为6到32位' }).waitFor();
  await shot(phone, 'mobile-nat-sample-bad-barcode');
  await field(phone, 'sample-barcode').locator('input').fill('DC10-000001');
  await field(phone, 'sample-submit').click();
  await field(phone, 'sample-last').waitFor();
  assert.equal(await value(phone, 'sample-last-name'), '采**民');
  assert.equal(await value(phone, 'sample-last-fill'), 'DC10-000001（1/10）');
  assert.equal(await value(phone, 'sample-tube-barcode'), 'DC10-000001');
  assert.equal(await value(phone, 'sample-tube-fill'), '1/10');
  assert.equal(await value(phone, 'sample-hour-scans'), '1');
  assert.equal(await field(phone, 'sample-warning-duplicate_sample').count(), 0);
  await shot(phone, 'mobile-nat-sample-first');

  // the camera reads the same code again: the open tube is offered, the
  // second sample accepted and warned
  await field(phone, 'sample-who').waitFor({ timeout: 20000 });
  assert.equal(await field(phone, 'sample-barcode').locator('input').inputValue(), 'DC10-000001');
  assert.equal(await field(phone, 'sample-kind').count(), 0, 'an open tube needs no kind');
  await field(phone, 'sample-submit').click();
  await field(phone, 'sample-warning-duplicate_sample').filter({ hasText: '重复采样' }).waitFor();
  assert.equal(await value(phone, 'sample-tube-fill'), '2/10');
  assert.equal(await value(phone, 'sample-hour-scans'), '2');
  await shot(phone, 'mobile-nat-sample-duplicate');

  // 封管 before it is full
  await field(phone, 'sample-tube-close').click();
  await phone.locator('.van-dialog').filter({ hasText: '2/10' }).locator('.van-dialog__confirm').click();
  await phone.locator('.van-toast').filter({ hasText: '已封管' }).waitFor();
  await field(phone, 'sample-tube').waitFor({ state: 'detached' });
  assertClean(phone);
});

test('the console lists the samples masked, the tube closed early, and the site\'s scans this hour', async () => {
  const page = await consolePage(browser, ctx, '/nat/samples', cc);
  const rows = field(page, 'nat-sample-table').locator('tbody tr');
  await rows.first().waitFor();
  assert.equal(await rows.count(), 2);
  assert.deepEqual(await field(page, 'nat-sample-name').allInnerTexts(), ['采**民', '采**民']);
  assert.equal(await field(page, 'nat-sample-duplicate').count(), 1);
  assert.match(await rows.first().innerText(), /东城区第十二轮核酸/);
  assert.match(await rows.first().innerText(), /多福巷社区/);
  assert.doesNotMatch(await page.locator('body').innerText(), /采样居民/, 'the full name is never shown');
  // positive control: the same text search does find what is shown
  assert.match(await page.locator('body').innerText(), /多福巷核酸采样点/);
  await shot(page, 'console-nat-samples');

  await page.goto(`${ctx.url}/console/#/nat/tubes`);
  const tube = field(page, 'nat-tube-table').locator('tbody tr').filter({ hasText: 'DC10-000001' });
  await tube.waitFor();
  assert.equal(await tube.locator('[data-test=nat-tube-fill]').innerText(), '2/10');
  assert.equal(await tube.locator('[data-test=nat-tube-state]').innerText(), '已封管');
  assert.match(await tube.innerText(), /未满封管/);
  assert.match(await tube.innerText(), /staff_dc/);
  await shot(page, 'console-nat-tubes');
  await tube.locator('[data-test=nat-tube-samples]').click();
  await page.waitForURL(/#\/nat\/samples\?barcode=DC10-000001/);
  await field(page, 'nat-sample-total').filter({ hasText: '共 2 人次' }).waitFor();

  await page.goto(`${ctx.url}/console/#/nat/sites`);
  const s = field(page, 'nat-site-table').locator('tr').filter({ hasText: '多福巷核酸采样点' });
  await s.waitFor();
  assert.equal(await s.locator('[data-test=nat-site-scans]').innerText(), '2');
  await s.locator('[data-test=nat-site-scans]').click();
  await page.waitForURL(new RegExp(`#/nat/scans\\?site_id=${site.id}`));
  const hour = field(page, 'nat-scan-table').locator('tbody tr');
  await hour.first().waitFor();
  assert.equal(await hour.count(), 1);
  assert.equal(await hour.locator('[data-test=nat-scan-n]').innerText(), '2');
  assert.equal(await hour.locator('[data-test=nat-scan-site]').innerText(), '多福巷核酸采样点');
  await shot(page, 'console-nat-scans');
  assertClean(page);
});
