// The console's registry of people in Chromium: exact search by id number
// and phone with masked values, the audited reveal, registration with the
// server's field errors beside the field, editing, the change history,
// deletion, narrowing by region, export, and scope (a district user does
// not find another district's people).
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { selectors } from 'playwright-core';
import { startServer, launch, openPage, assertClean, shot, CITY_CSV, writeTmp, residentId, totpSecretFrom, sleep, smsCode, choose, pickRegion, visit } from './lib.mjs';

// the pages mark what tests touch with data-test attributes
selectors.setTestIdAttribute('data-test');

const PW = 'Passw0rd!people';
const EAST = '110101000000'; // 东城区
const EAST_COMMUNITY = '110101001001'; // 东城区 东华门街道 多福巷社区
const WEST_COMMUNITY = '110102001001'; // 西城区 府右街社区
let ctx, browser, cc, auditor;
const people = {};

const masked = (idn) => `${idn.slice(0, 2)}${'*'.repeat(15)}${idn.slice(-1)}`;

before(async () => {
  let auditSecret;
  ctx = await startServer({
    setup: (c) => {
      c.must(['import', 'regions', writeTmp(c, 'city.csv', CITY_CSV)]);
      const add = (u, role, region) =>
        c.must(['user', 'add', '--username', u, '--password', PW, '--role', role, '--region', region, '--name', `测试${u}`]);
      add('pp_cc', 'command_center', '110100000000');
      add('pp_east', 'command_center', EAST);
      add('pp_west', 'command_center', '110102000000');
      add('pp_doctor', 'doctor', EAST);
      auditSecret = totpSecretFrom(add('pp_auditor', 'audit_admin', '110100000000'));
    },
  });
  cc = ctx.client();
  await cc.login('pp_cc', PW);
  auditor = ctx.client();
  await auditor.login('pp_auditor', PW, auditSecret);
  const reg = async (key, body) => {
    const r = await cc.post('/api/v1/persons', body);
    assert.equal(r.status, 201, r.text);
    people[key] = { ...body, id: r.body.id };
  };
  await reg('east', { name: '王小明', id_number: residentId('110101', '19850312', 11), phone: '13812345678', region_code: EAST_COMMUNITY, address: '北京市东城区多福巷1号楼2单元301' });
  await reg('west', { name: '赵西城', id_number: residentId('110102', '19790101', 21), phone: '13698765432', region_code: WEST_COMMUNITY });
  await reg('doomed', { name: '钱将删', id_number: residentId('110101', '19600606', 31), region_code: EAST_COMMUNITY });
  browser = await launch();
});

after(async () => {
  await browser?.close();
  await ctx?.stop();
});

async function signIn(username) {
  const page = await openPage(browser);
  await page.goto(ctx.url + '/console/#/people');
  await page.getByTestId('login-username').fill(username);
  await page.getByTestId('login-password').fill(PW);
  await page.getByTestId('login-submit').click();
  await page.waitForURL(/#\/people$/);
  await page.getByTestId('person-table').waitFor();
  return page;
}

// The people list as `username`: signed in through the form once per user,
// then the same page shows the list anew through the router (by way of the
// home page, so the list mounts and reads its data again, its search reset).
// A page load with a sign-in costs Chromium seconds of CPU; the sign-in
// itself is console-signin.test.mjs's. The page's problems accumulate, so
// assertClean also covers the earlier tests on that page.
const signedIn = new Map();
async function peoplePage(username) {
  let page = signedIn.get(username);
  if (!page) {
    page = await signIn(username);
    signedIn.set(username, page);
    return page;
  }
  await Promise.all([page.waitForResponse((r) => r.url().includes('/api/v1/persons?')), visit(page, '/people', '/home')]);
  await page.getByTestId('person-table').waitFor();
  await page.waitForFunction(() => !document.querySelector('[data-test=person-table] .el-loading-mask'));
  return page;
}

// Search the list; `by` is id_number, phone, phone_last4 or name.
async function search(page, text, by = 'id_number') {
  const labels = { id_number: '证件号码', phone: '手机号码', phone_last4: '手机尾号', name: '姓名' };
  await page.getByTestId('search-by').click();
  await page.getByRole('option', { name: labels[by], exact: true }).filter({ visible: true }).click();
  await page.getByTestId('search-text').fill(text);
  await Promise.all([
    page.waitForResponse((r) => r.url().includes('/api/v1/persons?')),
    page.getByTestId('search-submit').click(),
  ]);
  await page.waitForFunction(() => !document.querySelector('[data-test=person-table] .el-loading-mask'));
}

// Dialogs and drawers animate in: wait before taking their picture (only
// when pictures are taken: FK_SHOTS).
const settle = () => (process.env.FK_SHOTS ? sleep(400) : null);

const total = async (page) => (await page.getByTestId('person-total').innerText()).replace(/\D/g, '');

// Choose an option of an Element Plus select by its label.
test('searching by id number or phone finds the person with masked values', async () => {
  const page = await peoplePage('pp_east');
  await search(page, people.east.id_number);
  assert.equal(await total(page), '1');
  assert.equal(await page.getByTestId('cell-id-number').innerText(), masked(people.east.id_number));
  assert.equal(await page.getByTestId('cell-name').innerText(), '王*明');
  assert.equal(await page.getByTestId('cell-phone').innerText(), '138****5678');
  // the region by name, its path on hover, never the bare code
  const region = page.getByTestId('person-region');
  assert.equal(await region.innerText(), '多福巷社区');
  assert.ok(!(await page.getByTestId('person-table').innerText()).includes(EAST_COMMUNITY));
  await region.hover();
  await page.locator('.el-popper', { hasText: '东华门街道 · 多福巷社区' }).filter({ visible: true }).waitFor();
  await shot(page, 'people-search-id');
  await search(page, '13812345678', 'phone');
  assert.equal(await total(page), '1');
  assert.equal(await page.getByTestId('cell-id-number').innerText(), masked(people.east.id_number));
  assertClean(page);
});

test('the choices and labels come from the server\'s vocabularies, loaded once per page load', async () => {
  const page = await signIn('pp_cc'); // a page load of its own: the count starts at it
  signedIn.set('pp_cc', page);
  const loads = () => page.evaluate(() => performance.getEntriesByType('resource').filter((e) => e.name.includes('/api/v1/vocabularies')).length);
  assert.equal(await loads(), 1);
  // a status the server names, with the server's Chinese label
  await page.getByTestId('filter-status').click();
  await page.getByRole('option', { name: '居家隔离', exact: true }).filter({ visible: true }).waitFor();
  await page.keyboard.press('Escape');
  assert.equal(await page.getByTestId('cell-status').first().innerText(), '正常');
  // another page reads the same document: no second request
  await page.goto(ctx.url + '/console/#/places');
  await page.waitForURL(/#\/places$/);
  await page.goto(ctx.url + '/console/#/people');
  await page.getByTestId('person-table').waitFor();
  assert.equal(await loads(), 1);
  assertClean(page);
});

test('a district user cannot find a person of another district', async () => {
  const page = await peoplePage('pp_west');
  await search(page, people.east.id_number);
  assert.equal(await total(page), '0');
  assert.equal(await page.getByTestId('cell-id-number').count(), 0);
  await shot(page, 'people-other-district');
  await search(page, people.west.id_number);
  assert.equal(await total(page), '1');
  assertClean(page);
});

test('the full values are shown on request, and the reveal is audited', async () => {
  const page = await peoplePage('pp_east');
  await search(page, people.east.id_number);
  await page.getByTestId('person-reveal').click();
  const dialog = page.getByTestId('reveal-dialog');
  await dialog.getByTestId('reveal-id_number').getByText(people.east.id_number).waitFor();
  assert.equal(await dialog.getByTestId('reveal-name').innerText(), '王小明');
  assert.equal(await dialog.getByTestId('reveal-phone').innerText(), '13812345678');
  await settle();
  await shot(page, 'people-reveal');
  let entries = [];
  for (let i = 0; i < 60 && !entries.length; i++) {
    const r = await auditor.get(`/api/v1/audit?action=person.reveal&object_id=${people.east.id}`);
    assert.equal(r.status, 200, r.text);
    entries = r.body.items.filter((e) => e.username === 'pp_east');
    if (!entries.length) await sleep(50);
  }
  assert.equal(entries.length, 1, 'one person.reveal entry by pp_east');
  assertClean(page);
});

test('a doctor (no reveal, no write) sees masked values only and no write actions', async () => {
  const page = await peoplePage('pp_doctor');
  await search(page, people.east.id_number);
  assert.equal(await page.getByTestId('cell-id-number').innerText(), masked(people.east.id_number));
  assert.equal(await page.getByTestId('person-reveal').count(), 0);
  assert.equal(await page.getByTestId('person-edit').count(), 0);
  assert.equal(await page.getByTestId('person-delete').count(), 0);
  assert.equal(await page.getByTestId('person-create').count(), 0);
  await shot(page, 'people-doctor');
  assertClean(page);
});

test('registering with an invalid id number shows the error beside the field, then a valid one registers', async () => {
  const page = await peoplePage('pp_east');
  await page.getByTestId('person-create').click();
  const dialog = page.getByTestId('person-dialog');
  await dialog.getByTestId('pf-name').fill('李登记');
  const good = residentId('110101', '19920229', 41, false);
  const bad = good.slice(0, 17) + (good[17] === '0' ? '1' : '0');
  await dialog.getByTestId('pf-id-number').fill(bad);
  await dialog.getByTestId('pf-phone').fill('13700001111');
  await pickRegion(page, 'pf-region', [EAST, '110101001000', EAST_COMMUNITY]);
  await dialog.getByTestId('pf-submit').click();
  const item = dialog.getByTestId('pf-id-number-item');
  // the server's message, beside the field
  await item.getByText('身份证号码校验位错误').waitFor();
  await shot(page, 'people-create-invalid-id');
  await dialog.getByTestId('pf-id-number').fill(good);
  await dialog.getByTestId('pf-submit').click();
  await dialog.waitFor({ state: 'hidden' });
  await search(page, good);
  assert.equal(await total(page), '1');
  assert.equal(await page.getByTestId('cell-name').innerText(), '李*记');
  await shot(page, 'people-create-valid');
  assertClean(page);
});

test('editing a person saves the change and the history shows when, who and what', async () => {
  const page = await peoplePage('pp_east');
  await search(page, people.east.id_number);
  await page.getByTestId('person-edit').click();
  const dialog = page.getByTestId('person-dialog');
  await dialog.getByTestId('pf-phone').fill('13900002222');
  // the status is the case workflow's (POST …/status): not editable here
  assert.equal(await dialog.getByTestId('pf-status').locator('input').isDisabled(), true);
  await settle();
  await shot(page, 'people-edit-form');
  await dialog.getByTestId('pf-submit').click();
  await dialog.waitFor({ state: 'hidden' });
  await page.getByTestId('cell-phone').getByText('139****2222').waitFor();
  assert.equal(await page.getByTestId('cell-status').innerText(), '正常');
  await page.getByTestId('person-history').click();
  const drawer = page.getByTestId('history-drawer');
  await drawer.getByTestId('history-item').nth(1).waitFor();
  const latest = drawer.getByTestId('history-item').first();
  const text = await latest.innerText();
  assert.match(text, /修改/);
  assert.match(text, /测试pp_east/);
  assert.match(text, /手机号码\s*138\*\*\*\*5678\s*→\s*139\*\*\*\*2222/);
  assert.match(text, /\d{4}年\d{1,2}月\d{1,2}日 \d\d:\d\d/);
  assert.match(await drawer.getByTestId('history-item').last().innerText(), /登记/);
  await settle();
  await shot(page, 'people-history');
  assertClean(page);
});

test('deleting a person asks first, then removes the person from the results', async () => {
  const page = await peoplePage('pp_east');
  await search(page, people.doomed.id_number);
  assert.equal(await total(page), '1');
  await page.getByTestId('person-delete').click();
  await page.getByRole('button', { name: '删除' }).filter({ visible: true }).last().click();
  await page.getByText('已删除').waitFor();
  await search(page, people.doomed.id_number);
  assert.equal(await total(page), '0');
  await shot(page, 'people-deleted');
  assertClean(page);
});

test('the header region tree narrows the list, and the export carries the same filters', async () => {
  const page = await peoplePage('pp_cc');
  const all = Number(await total(page));
  await Promise.all([
    page.waitForResponse((r) => r.url().includes('/api/v1/persons?') && r.url().includes('within=110102000000')),
    pickRegion(page, 'header-region', ['110100000000', '110102000000']),
  ]);
  await page.waitForFunction((n) => document.querySelector('[data-test=person-total]').innerText.replace(/\D/g, '') !== String(n), all);
  assert.equal(await total(page), '1');
  assert.match(await page.getByTestId('filter-region').innerText(), /西城区/);
  await shot(page, 'people-narrowed');
  assert.match(await page.getByTestId('person-export').getAttribute('href'), /format=csv.*within=110102000000|within=110102000000.*format=csv/);
  const [download] = await Promise.all([page.waitForEvent('download'), page.getByTestId('person-export').click()]);
  const csv = await (await download.createReadStream()).toArray();
  const text = Buffer.concat(csv).toString('utf8');
  assert.ok(text.includes(masked(people.west.id_number)), 'the export holds the masked id number');
  assert.ok(!text.includes(masked(people.east.id_number)), 'and nobody outside the region');
  assertClean(page);
});

test('searching by the last four digits of a phone finds people within scope', async () => {
  const page = await peoplePage('pp_east');
  const r = await cc.post('/api/v1/persons', { name: '周尾号', id_number: residentId('110101', '19770707', 51), phone: '13566667391', region_code: EAST_COMMUNITY });
  assert.equal(r.status, 201, r.text);
  await search(page, '7391', 'phone_last4');
  assert.equal(await total(page), '1');
  assert.equal(await page.getByTestId('cell-phone').innerText(), '135****7391');
  await shot(page, 'people-search-last4');
  await search(page, '5432', 'phone_last4'); // 西城区's person: outside the scope
  assert.equal(await total(page), '0');
  await search(page, '56', 'phone_last4');
  await page.getByTestId('person-error').waitFor();
  assert.match(await page.getByTestId('person-error').innerText(), /4位数字/);
  assertClean(page);
});

test('a self-registered person shows 待核验 until staff confirm the document with 核验身份', async () => {
  // a resident registers themself through the mobile API
  const phone = '13700001234';
  const res = ctx.client();
  assert.equal((await res.post('/api/v1/auth/sms/send', { phone })).status, 200);
  assert.equal((await res.post('/api/v1/auth/sms/login', { phone, code: smsCode(ctx, phone) })).status, 200);
  assert.equal((await res.post('/api/v1/me/consent', { version: 'v1' })).status, 200);
  const idn = residentId('110101', '19910909', 41);
  let r = await res.post('/api/v1/me/person', { name: '孙自登', id_number: idn, region_code: EAST_COMMUNITY, address: '多福巷5号' });
  assert.equal(r.status, 201, r.text);
  assert.equal(r.body.person.verified, false);

  const page = await peoplePage('pp_east');
  await search(page, idn);
  assert.equal(await page.getByTestId('cell-unverified').innerText(), '待核验');
  await page.getByTestId('person-verify').click();
  await page.getByRole('button', { name: '已查验证件，确认核验' }).click();
  await page.getByTestId('cell-unverified').waitFor({ state: 'detached' });
  assert.equal(await page.getByTestId('person-verify').count(), 0);
  await shot(page, 'people-verified');
  r = await res.get('/api/v1/me/person');
  assert.equal(r.body.verified, true);
  assertClean(page);
});
