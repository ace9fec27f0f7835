// The workbench on the demo city: the console's home shows the community
// staff's to-do cards with the counts the API gives, a card opens its list
// already filtered (pending visitors, open alerts); the mobile staff home
// shows the same to-dos with their counts and leads to the mobile page.
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { startServer, launch, openPage, adoptSession, assertClean, shot, sleep } from './lib.mjs';

const PW = 'Demo-Browser-2024!';
let ctx, browser, api, counts;

before(async () => {
  ctx = await startServer({
    setup: (c) => {
      const r = c.fk(['demo', '--persons', '300', '--seed', '5', '--password', PW]);
      if (r.status !== 0) throw new Error(r.stderr);
    },
  });
  api = ctx.client();
  await api.login('community', PW);
  // the demo's silent gate (5 s heartbeat) goes silent shortly after the
  // build: wait for it so that the counts hold still during the test
  for (let i = 0; i < 40; i++) {
    const r = await api.get('/api/v1/workbench');
    assert.equal(r.status, 200, r.text);
    counts = Object.fromEntries(r.body.entries.map((e) => [e.key, e.count]));
    if (counts.devices_silent >= 1) break;
    await sleep(250);
  }
  browser = await launch();
});
after(async () => {
  await browser?.close();
  await ctx?.stop();
});

const card = (page, key) => page.locator(`[data-test=wb-${key}]`);

// The API's counts now: the demo's devices keep going silent (each raises an
// alert), so a page is compared with the counts read after it rendered
async function countsNow() {
  const r = await api.get('/api/v1/workbench');
  assert.equal(r.status, 200, r.text);
  return Object.fromEntries(r.body.entries.map((e) => [e.key, e.count]));
}

test('the console home is the workbench: cards with counts that open the filtered list', async () => {
  const page = await openPage(browser);
  await adoptSession(page, api);
  await page.goto(ctx.url + '/console/#/home');
  await card(page, 'visitors_pending').waitFor();
  counts = await countsNow();
  assert.ok(counts.visitors_pending >= 1 && counts.alerts_open >= 1, JSON.stringify(counts));
  for (const key of ['visitors_pending', 'alerts_open', 'undeclared_today', 'devices_silent', 'codes_red', 'codes_yellow']) {
    const text = await card(page, key).locator('[data-test=wb-count]').innerText();
    assert.equal(text.replace(/[^\d]/g, ''), String(counts[key]), `${key}: ${text}`);
  }
  assert.match(await card(page, 'visitors_pending').innerText(), /待审核访客/);
  // no entry of a permission the role lacks (community staff have no audit.read)
  assert.equal(await card(page, 'audit_refused_today').count(), 0);
  await shot(page, 'console-workbench');

  await card(page, 'visitors_pending').click();
  // the list may drop its default filter (pending) from the address once loaded
  await page.waitForURL(/#\/visitors(\?status=pending)?$/);
  await page.locator('[data-test=visitor-table] .el-table__row').first().waitFor();
  const statuses = await page.locator('[data-test=visitor-status]').allInnerTexts();
  assert.equal(statuses.length, counts.visitors_pending, statuses.join());

  await page.goto(ctx.url + '/console/#/home');
  await card(page, 'alerts_open').click();
  await page.waitForURL(/#\/alerts\?acked=0$/);
  await page.locator('[data-test=alert-table] .el-table__row').first().waitFor();
  const acks = await page.locator('[data-test=alert-ack]').count();
  assert.equal(acks, (await countsNow()).alerts_open, 'only open alerts, each with its ack button');
  assertClean(page);
});

test('the mobile staff home shows the to-dos with counts', async () => {
  const page = await openPage(browser, { mobile: true });
  await adoptSession(page, api);
  await page.goto(ctx.url + '/mobile/#/staff');
  await page.locator('[data-test=staff-todos]').waitFor();
  await page.locator('[data-test=todo-alerts_open] [data-test=todo-count]').waitFor();
  counts = await countsNow();
  const count = async (key) => (await page.locator(`[data-test=todo-${key}] [data-test=todo-count]`).innerText()).replace(/[^\d]/g, '');
  assert.equal(await count('visitors_pending'), String(counts.visitors_pending));
  assert.equal(await count('alerts_open'), String(counts.alerts_open));
  assert.equal(await count('undeclared_today'), String(counts.undeclared_today));
  // today's refusals are counted for them but the scan page is the
  // checkpoint's: no link
  assert.equal(await page.locator('[data-test=todo-refusals_today] .van-cell__right-icon').count(), 0);
  assert.equal(await page.locator('[data-test=todo-visitors_pending] .van-cell__right-icon').count(), 1);
  await shot(page, 'mobile-workbench');
  await page.locator('[data-test=todo-visitors_pending]').click();
  await page.waitForURL(/#\/staff\/visitors$/);
  await page.locator('[data-test=visitor-item]').first().waitFor();
  assertClean(page);
});
