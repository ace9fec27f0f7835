// 点位打卡 (issue 10, docs/nat.md): a site worker opens 点位打卡 from the
// staff home on the phone, clocks in at a site with the phone's position
// (far from the site: recorded and shown as a warning), reports the queue;
// the console's 核酸点位 shows the site attended with its queue and the
// 打卡记录 the worker on duty; after clocking out the site is unattended
// again.
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { launch, openPage, assertClean, shot, adoptSession, consolePage } from './lib.mjs';
import { startCityWith } from '../api/lib.mjs';

const PW = 'Nat-pages-2026!';
let ctx, browser, cc, staff, site;

before(async () => {
  ctx = await startCityWith({ cc_dc: ['command_center', '110101000000'], staff_dc: ['site_staff', '110101001000'] }, PW);
  ({ cc_dc: cc, staff_dc: staff } = ctx.as);
  const r = await cc.post('/api/v1/nat/sites', {
    name: '多福巷核酸采样点', kind: 'fixed', region_code: '110101001001', address: '多福巷3号', lng: 116.4, lat: 39.91, hours: '00:00-24:00',
  });
  assert.equal(r.status, 201, r.text);
  site = r.body;
  assert.equal(site.unattended, true);
  browser = await launch();
});
after(async () => {
  await browser?.close();
  await ctx?.stop();
});

const field = (page, name) => page.locator(`[data-test=${name}]`);

test('a site worker clocks in on the phone, far from the site, and reports the queue', async () => {
  const page = await openPage(browser, { mobile: true });
  // about 1.1 km north of the site
  await page.context().grantPermissions(['geolocation'], { origin: ctx.url });
  await page.context().setGeolocation({ latitude: 39.92, longitude: 116.4 });
  await adoptSession(page, staff);
  await page.goto(ctx.url + '/mobile/#/staff');
  await field(page, 'entry-nat-clockin').click();
  await page.waitForURL(/#\/staff\/nat$/);
  const item = field(page, 'nat-site-item').filter({ hasText: '多福巷核酸采样点' });
  await item.waitFor();
  assert.match(await item.innerText(), /无人值守/);
  await shot(page, 'mobile-nat-sites');
  await item.locator('[data-test=nat-clock-in]').click();
  await field(page, 'nat-on-duty').waitFor();
  assert.equal(await field(page, 'nat-current-site').locator('.van-cell__value').innerText(), '多福巷核酸采样点');
  await field(page, 'nat-far-warning').waitFor();
  assert.match(await field(page, 'nat-far-warning').innerText(), /超过 500 米/);
  await page.locator('[data-test=nat-queue-input] input').fill('12');
  await field(page, 'nat-queue-report').click();
  await page.locator('.van-toast').filter({ hasText: '已上报' }).waitFor();
  await shot(page, 'mobile-nat-on-duty');
  assertClean(page);
});

test('the console sees the site attended with its queue, and the clock-in with its warning', async () => {
  const page = await consolePage(browser, ctx, '/nat/sites', cc);
  const row = field(page, 'nat-site-table').locator('tr').filter({ hasText: '多福巷核酸采样点' });
  await row.waitFor();
  assert.equal(await row.locator('[data-test=nat-site-on-duty]').innerText(), '1');
  assert.equal(await row.locator('[data-test=nat-site-queue]').innerText(), '12 人');
  assert.equal(await row.locator('[data-test=nat-site-unattended]').count(), 0);
  await shot(page, 'console-nat-sites');
  await page.goto(`${ctx.url}/console/#/nat/clockins`);
  const c = field(page, 'nat-clockin-table').locator('tr').filter({ hasText: '多福巷核酸采样点' });
  await c.waitFor();
  assert.equal(await c.locator('[data-test=nat-clockin-user]').innerText(), 'staff_dc');
  await c.locator('[data-test=nat-clockin-on-duty]').waitFor();
  assert.match(await c.innerText(), /异常/);
  await shot(page, 'console-nat-clockins');
  assertClean(page);
});

test('clocking out on the phone leaves the site unattended in the console', async () => {
  const phone = await openPage(browser, { mobile: true });
  await adoptSession(phone, staff);
  await phone.goto(ctx.url + '/mobile/#/staff/nat');
  await field(phone, 'nat-clock-out').click();
  await field(phone, 'nat-site-item').first().waitFor();
  assertClean(phone);
  const page = await consolePage(browser, ctx, '/nat/sites?unattended=1', cc);
  const row = field(page, 'nat-site-table').locator('tr').filter({ hasText: '多福巷核酸采样点' });
  await row.locator('[data-test=nat-site-unattended]').waitFor();
  assert.equal(await row.locator('[data-test=nat-site-on-duty]').innerText(), '0');
  assertClean(page);
});

test('a site and a clock-in an outside system sent show their source (来源 接口接入)', async () => {
  let r = await cc.post('/api/v1/nat/sites/batch', {
    records: [{ id: 'b-1', op: 'upsert', key: 'EXT-77', site: { name: '外部接入采样点', kind: 'temporary', region_code: '110101001001' } }],
  });
  assert.equal(r.body.applied, 1, r.text);
  r = await cc.post('/api/v1/nat/clockins/batch', {
    records: [{ id: 'b-2', op: 'in', site: 'EXT-77', staff: 'staff_dc', at: Date.now() - 60000 }],
  });
  assert.equal(r.body.applied, 1, r.text);
  const page = await consolePage(browser, ctx, '/nat/sites', cc);
  const table = field(page, 'nat-site-table');
  const ext = table.locator('tr').filter({ hasText: '外部接入采样点' });
  await ext.waitFor();
  assert.equal(await ext.locator('[data-test=nat-site-source]').innerText(), '接口接入（EXT-77）');
  assert.equal(await table.locator('tr').filter({ hasText: '多福巷核酸采样点' }).locator('[data-test=nat-site-source]').innerText(), '控制台');
  await page.goto(`${ctx.url}/console/#/nat/clockins`);
  const rows = field(page, 'nat-clockin-table');
  const c = rows.locator('tr').filter({ hasText: '外部接入采样点' });
  await c.waitFor();
  assert.equal(await c.locator('[data-test=nat-clockin-source]').innerText(), '接口接入');
  assert.equal(await rows.locator('tr').filter({ hasText: '多福巷核酸采样点' }).locator('[data-test=nat-clockin-source]').innerText(), '手机打卡');
  await shot(page, 'console-nat-clockins-ingest');
  assertClean(page);
});
