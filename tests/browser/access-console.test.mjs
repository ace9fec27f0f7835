// The console's access pages in Chromium: the health-code rule editor
// (reorder, colour, parameters kept to the server's ranges, a save that
// recomputes everyone with a progress bar), and venues (a policy
// refused beside its field, created, its code shown and its poster opened).
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { selectors } from 'playwright-core';
import { startServer, launch, openPage, assertClean, shot, CITY_CSV, writeTmp, residentId, smsCode } from './lib.mjs';
import { sqlRun } from '../api/lib.mjs';

selectors.setTestIdAttribute('data-test');

const PW = 'Passw0rd!access';
const COMMUNITY = '110101001001';
let ctx, browser, place, cc;
const SCANNED_ID = residentId('110101', '19870707', 72);

before(async () => {
  ctx = await startServer({
    // the lists' totals stop at 20 here (docs/api.md), so a page of records shows "20+"
    env: { FK_LIST_COUNT_CAP: '20' },
    setup: (c) => {
      c.must(['import', 'regions', writeTmp(c, 'city.csv', CITY_CSV)]);
      c.must(['user', 'add', '--username', 'ac_cc', '--password', PW, '--role', 'command_center', '--region', '110101000000', '--name', '指挥中心']);
      c.must(['user', 'add', '--username', 'ac_gate', '--password', PW, '--role', 'checkpoint_staff', '--region', '110101000000']);
    },
  });
  cc = ctx.client();
  await cc.login('ac_cc', PW);
  for (let i = 0; i < 3; i++) {
    const r = await cc.post('/api/v1/persons', { name: `居民${i}`, id_number: residentId('110101', '19900101', 40 + i * 2), region_code: COMMUNITY });
    assert.equal(r.status, 201, r.text);
  }
  const r = await cc.post('/api/v1/places', { name: '多福巷小区', kind: 'community', region_code: COMMUNITY });
  assert.equal(r.status, 201, r.text);
  place = r.body;
  browser = await launch();
});

// A resident registers, staff verify the document and a gate scans the
// resident's code at `venue`: one access record to read by name.
async function scannedAt(venue) {
  const res = ctx.client();
  const phone = '13900000077';
  await res.post('/api/v1/auth/sms/send', { phone });
  assert.equal((await res.post('/api/v1/auth/sms/login', { phone, code: smsCode(ctx, phone) })).status, 200);
  await res.post('/api/v1/me/consent', { version: 'v1' });
  const me = await res.post('/api/v1/me/person', { name: '司马相如', id_number: SCANNED_ID, region_code: COMMUNITY, address: '多福巷2号' });
  assert.equal(me.status, 201, me.text);
  assert.equal((await cc.post(`/api/v1/persons/${me.body.person.id}/verify`, { document_checked: true })).status, 200);
  const gate = ctx.client();
  await gate.login('ac_gate', PW);
  const token = (await res.get('/api/v1/me/code/token')).body.token;
  const r = await gate.post('/api/v1/scans', { venue_id: venue.id, token, direction: 'in' });
  assert.equal(r.status, 201, r.text);
}

after(async () => {
  await browser?.close();
  await ctx?.stop();
});

async function signIn(path) {
  const page = await openPage(browser);
  await page.goto(ctx.url + '/console/#/' + path);
  await page.getByTestId('login-username').fill('ac_cc');
  await page.getByTestId('login-password').fill(PW);
  await page.getByTestId('login-submit').click();
  await page.waitForURL(new RegExp(`#/${path}$`));
  return page;
}

test('the rule editor reorders, recolours and edits parameters, then saves and shows the recompute progress', async () => {
  const page = await signIn('code-rules');
  const texts = page.getByTestId('rule-text');
  await texts.first().waitFor();
  const before = await texts.allInnerTexts();
  assert.ok(before.length >= 10, 'the built-in rules');

  // the fever rule's window: the box keeps to the server's range (1-720 h)
  const hours = page.locator('[data-test=rule-fever-hours] input');
  await hours.fill('721');
  await hours.blur();
  assert.equal(await hours.inputValue(), '720');

  // move the second rule up and make the fever rule red
  await page.getByTestId('rule-up-1').click();
  assert.deepEqual((await texts.allInnerTexts()).slice(0, 2), [before[1], before[0]]);
  await page.getByTestId('rule-colour-fever').click();
  await page.getByRole('option', { name: '红码', exact: true }).filter({ visible: true }).click();
  await shot(page, 'console-code-rules-edited');

  // a dry run first says how many codes would change and asks; cancelled, nothing is saved
  await page.getByTestId('rule-save').click();
  const box = page.locator('.rule-dry-run');
  await box.waitFor();
  const said = await box.locator('.el-message-box__message').innerText();
  const dry = await page.evaluate(() => fetch('/api/v1/code-rules').then((r) => r.json()));
  assert.equal(dry.rules.find((r) => r.key === 'fever').colour, 'yellow', 'not saved before confirming');
  assert.match(said, /^(将有 \d+ 人的健康码发生变化（.+→.+ \d+ 人.*）。|没有人的健康码颜色会发生变化。)确认保存规则并重新赋码？$/);
  await shot(page, 'console-code-rules-dry-run');
  await box.getByRole('button', { name: '取消' }).click();
  await box.waitFor({ state: 'hidden' });
  assert.equal((await page.evaluate(() => fetch('/api/v1/code-rules').then((r) => r.json()))).rules.find((r) => r.key === 'fever').colour, 'yellow');
  await page.getByTestId('rule-save').click();
  await box.getByRole('button', { name: '确认' }).click();
  await page.getByTestId('job-progress').filter({ hasText: '重新赋码完成' }).waitFor();
  assert.match(await page.getByTestId('job-status').innerText(), /共 3 人/);
  await shot(page, 'console-code-rules-saved');

  const saved = (await page.evaluate(() => fetch('/api/v1/code-rules').then((r) => r.json()))).rules;
  assert.equal(saved.find((r) => r.key === 'fever').colour, 'red');
  assert.equal(saved.find((r) => r.key === 'fever').params.hours, 720);
  assert.equal(saved[0].key, 'isolation_status');
  assertClean(page);
});

test('a venue is created with its policy, its code shown and its poster opened to print', async () => {
  const page = await signIn('venues');
  await page.getByTestId('venue-new').click();
  // no name: the server's message beside the name
  await page.getByTestId('venue-kind').click();
  await page.getByRole('option', { name: '小区出入口', exact: true }).filter({ visible: true }).click();
  await page.getByTestId('venue-place').click();
  await page.getByRole('option', { name: place.name, exact: true }).filter({ visible: true }).click();
  await page.getByTestId('venue-save').click();
  await page.getByTestId('venue-form').locator('.el-form-item__error').first().waitFor();
  await shot(page, 'console-venue-error');

  await page.getByTestId('venue-name').fill('多福巷小区东门');
  await page.getByTestId('venue-colours').getByText('黄码').click();
  await page.getByTestId('venue-save').click();
  const row = page.getByTestId('venue-table').locator('tr', { hasText: '多福巷小区东门' });
  await row.waitFor();
  assert.match(await row.innerText(), /绿码\s*黄码/);
  await shot(page, 'console-venues');

  await row.getByTestId('venue-code').click();
  const img = page.getByTestId('venue-code-img');
  await img.waitFor();
  await page.waitForFunction(() => document.querySelector('[data-test=venue-code-img]')?.naturalWidth > 0);
  await page.getByTestId('venue-code-dialog').filter({ hasText: '第 1 版' }).waitFor();
  await shot(page, 'console-venue-code');

  // printed in green: the preview, the download and the poster follow the choice
  await page.getByTestId('venue-code-ink').getByText('绿色').click();
  await page.waitForFunction(() => {
    const i = document.querySelector('[data-test=venue-code-img]');
    return i?.src.includes('colour=green') && i.complete && i.naturalWidth > 0;
  });
  assert.match(await page.getByTestId('venue-code-download').getAttribute('href'), /colour=green/);
  const [poster] = await Promise.all([page.context().waitForEvent('page'), page.getByTestId('venue-poster').click()]);
  await poster.waitForLoadState();
  assert.match(await poster.content(), /多福巷小区东门/);
  assert.match(await poster.content(), /<path fill="#0b6e3a"/i, "the code itself in green ink");
  await poster.close();

  await page.getByTestId('venue-regenerate').click();
  await page.locator('.el-popconfirm').getByRole('button', { name: '确定' }).filter({ visible: true }).click();
  await page.getByTestId('venue-code-dialog').filter({ hasText: '第 2 版' }).waitFor();
  await shot(page, 'console-venue-regenerated');
  assertClean(page);
});

test('access records show the venue and the masked person by name, filtered by venue and by id number', async () => {
  const v = await cc.post('/api/v1/venues', { name: '多福巷小区西门', kind: 'community_gate', place_id: place.id });
  assert.equal(v.status, 201, v.text);
  const other = await cc.post('/api/v1/venues', { name: '多福巷小区南门', kind: 'community_gate', place_id: place.id });
  assert.equal(other.status, 201, other.text);
  await scannedAt(v.body);
  const page = await signIn('access-records');
  const table = page.getByTestId('record-table');
  await table.locator('tr', { hasText: '多福巷小区西门' }).waitFor();

  // the person picker finds by the whole identity number
  await page.getByTestId('record-person').click();
  await page.keyboard.type(SCANNED_ID);
  await page.getByRole('option', { name: /司\*\*如/ }).filter({ visible: true }).click();
  await page.getByTestId('record-search').click();
  const row = table.locator('tbody tr').first();
  await row.filter({ hasText: '司**如' }).waitFor();
  const text = await table.innerText();
  assert.match(text, /多福巷小区西门/);
  assert.ok(!text.includes('司马相如'), 'a list shows the name masked');
  assert.ok(!/\d{12,}/.test(text), `no raw id or region code: ${text}`);
  await shot(page, 'console-access-records-names');

  // the venue picker: another venue has no record of this person
  await page.getByTestId('record-venue').click();
  await page.getByRole('option', { name: '多福巷小区南门', exact: true }).filter({ visible: true }).click();
  await page.getByTestId('record-search').click();
  await table.locator('.el-table__empty-text').waitFor();
  assertClean(page);
});

test('over the lists\' cap the pager says "共 20+ 条" and pages on while the page is full', async () => {
  // 25 passages more than the cap's 20 (by SQL: the scans' own path is tested above)
  const now = Date.now();
  sqlRun(ctx, 'INSERT INTO access_records (id, venue_id, region_code, person_id, direction, at, colour, verdict, method, created_at) VALUES ' +
    Array.from({ length: 25 }, (_, i) => `(${9500000000001 + i}, 0, ${COMMUNITY.padEnd(18, '0')}, 0, 'in', ${now - 60000 - i * 1000}, 'green', 'pass', 'manual', ${now})`).join(', '));
  const page = await signIn('access-records');
  const table = page.getByTestId('record-table');
  const capped = page.getByTestId('pager-capped');
  await capped.waitFor();
  assert.equal((await capped.innerText()).trim(), '共 20+ 条');
  assert.equal(await table.locator('tbody tr').count(), 20);
  const next = page.locator('.list-pager .btn-next');
  assert.equal(await next.isDisabled(), false, 'a full page past the cap: the next page is there');
  await next.click();
  await page.waitForURL(/page=2/);
  await table.locator('tbody tr').nth(5).waitFor(); // the rest: 6 or 7 (the scan above)
  const rows = await table.locator('tbody tr').count();
  assert.ok(rows > 0 && rows < 20, `page 2 holds the rest: ${rows}`);
  assert.equal(await next.isDisabled(), true, 'a page not full is the last');
  await shot(page, 'console-access-records-capped');
  assertClean(page);

  // the task board's head line says the same of its capped total
  sqlRun(ctx, 'INSERT INTO tasks (id, kind, region_code, state, priority, deadline, title, created_at) VALUES ' +
    Array.from({ length: 25 }, (_, i) => `(${9600000000001 + i}, 'general', ${COMMUNITY.padEnd(18, '0')}, 'pending', 3, ${now + 86400000}, '封顶任务${i}', ${now - i * 1000})`).join(', '));
  const board = await signIn('tasks');
  await board.getByTestId('task-total').filter({ hasText: '+' }).waitFor();
  assert.equal((await board.getByTestId('task-total').innerText()).trim(), '共 20+ 项任务');
  assert.equal((await board.getByTestId('pager-capped').innerText()).trim(), '共 20+ 条');
  assertClean(board);
});
