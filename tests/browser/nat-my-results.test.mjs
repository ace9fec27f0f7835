// 我的核酸结果 on the mobile pages (web/mobile/views/MyNatResults.vue,
// docs/nat.md "Result look-up"): a registered resident with two results (an
// old negative of one laboratory, a newer positive of another) signs in by
// SMS on the mobile page, opens the page from the home's entry (我的 →
// 我的核酸结果) and sees both, newest first, with the institution, the
// sampling and reporting times in China time and the results in Chinese.
// The page has no export. A resident without a record is sent to register.
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { launch, openPage, assertClean, shot, residentId, smsCode, sleep } from './lib.mjs';
import { startCityWith, CITY_STAFF } from '../api/lib.mjs';

const PW = 'Nat-my-results-2024!';
const COMMUNITY = '110101001001'; // 多福巷社区
const DAY = 86400000;
let ctx, browser, staff;

before(async () => {
  ctx = await startCityWith({ ...CITY_STAFF, site_s1: ['site_staff', '110101001000'], lab: ['lab', '110101000000'] }, PW);
  staff = ctx.as.site_s1;
  browser = await launch();
});
after(async () => {
  await browser?.close();
  await ctx?.stop();
});

const field = (page, name) => page.locator(`[data-test=${name}]`);
const input = (page, name) => page.locator(`[data-test=${name}] input`);

// 2026年12月3日 14:05 in China time, as the page writes it
const china = (ms) => {
  const d = new Date(ms + 8 * 3600000);
  const two = (n) => String(n).padStart(2, '0');
  return `${d.getUTCFullYear()}年${d.getUTCMonth() + 1}月${d.getUTCDate()}日 ${two(d.getUTCHours())}:${two(d.getUTCMinutes())}`;
};

async function waitCode(phone, not) {
  for (let i = 0; i < 100; i++) {
    const c = smsCode(ctx, phone);
    if (c && c !== not) return c;
    await sleep(50);
  }
  throw new Error(`no SMS code for ${phone}`);
}

// sign in on the mobile page by SMS (a new resident goes to the purpose
// statement first); an API client with the page's session, to prepare the
// record as a resident who registered before would have
async function signIn(page, phone) {
  await page.goto(ctx.url + '/mobile/');
  await input(page, 'sms-phone').fill(phone);
  await field(page, 'sms-send').click();
  await input(page, 'sms-code').fill(await waitCode(phone));
  await field(page, 'sms-login').click();
  await page.waitForURL(/#\/consent$/);
  const c = ctx.client();
  const cookie = (await page.context().cookies()).find((k) => k.httpOnly) ?? (await page.context().cookies())[0];
  c.cookie = `${cookie.name}=${cookie.value}`;
  assert.equal((await c.post('/api/v1/me/consent', { version: 'v1' })).status, 200);
  return c;
}

test('a resident opens 我的核酸结果 from the home and sees both results, newest first, in Chinese', async () => {
  const page = await openPage(browser, { mobile: true });
  const c = await signIn(page, '13955501234');
  let r = await c.post('/api/v1/me/person', { name: '结果查询人', id_number: residentId('110101', '19880808', 71), region_code: COMMUNITY, address: '多福巷5号' });
  assert.equal(r.status, 201, r.text);
  const person = r.body.person.id;
  // two results from two laboratories: one a week old, one yesterday
  const now = Date.now();
  const old = { result: 'negative', sampled_at: now - 7 * DAY, reported_at: now - 7 * DAY + 6 * 3600000, institution: '东城区疾控中心实验室' };
  const newer = { result: 'positive', sampled_at: now - DAY, reported_at: now - DAY + 5 * 3600000, institution: '北京检验中心' };
  for (const t of [old, newer]) {
    r = await staff.post(`/api/v1/persons/${person}/test-results`, t);
    assert.equal(r.status, 201, r.text);
  }
  // the mobile home (我的) and its entry
  await page.goto(ctx.url + '/mobile/');
  await page.waitForURL(/#\/me$/);
  await field(page, 'my-nat-results').click();
  await page.waitForURL(/#\/me\/nat-results$/);
  const items = field(page, 'nat-item');
  await items.nth(1).waitFor();
  assert.equal(await items.count(), 2);
  const texts = await items.allInnerTexts();
  // newest first: the positive of yesterday, then the negative of last week
  assert.match(texts[0], new RegExp(`${china(newer.sampled_at)} 采样`));
  assert.match(texts[0], new RegExp(`北京检验中心 · ${china(newer.reported_at)} 出报告`));
  assert.match(texts[0], /阳性/);
  assert.doesNotMatch(texts[0], /阴性/);
  assert.match(texts[1], new RegExp(`${china(old.sampled_at)} 采样`));
  assert.match(texts[1], new RegExp(`东城区疾控中心实验室 · ${china(old.reported_at)} 出报告`));
  assert.match(texts[1], /阴性/);
  assert.deepEqual(await field(page, 'nat-result').allInnerTexts(), ['阳性', '阴性']);
  // the positive stands out in red, the negative in green
  assert.match(await field(page, 'nat-result').nth(0).getAttribute('class'), /van-tag--danger/);
  assert.match(await field(page, 'nat-result').nth(1).getAttribute('class'), /van-tag--success/);
  // the page offers no export or download
  assert.equal(await page.locator('a[download], [data-test*=export], [data-test*=download]').count(), 0);
  await shot(page, 'mobile-nat-my-results');
  // back to 我的
  await page.locator('.van-nav-bar__left').click();
  await page.waitForURL(/#\/me$/);
  assertClean(page);
});

test('a resident without a record is sent to the real-name registration, not to the results', async () => {
  const page = await openPage(browser, { mobile: true });
  await signIn(page, '13955505678');
  await page.goto(ctx.url + '/mobile/');
  await page.waitForURL(/#\/register$/);
  await page.evaluate(() => (location.hash = '#/me/nat-results'));
  await page.waitForURL(/#\/register$/);
  await field(page, 'f-name').waitFor();
  assert.equal(await field(page, 'nat-item').count(), 0);
});

test('a positive pool awaiting the retest shows as 混管阳性待复核, not as a negative', async () => {
  const page = await openPage(browser, { mobile: true });
  const c = await signIn(page, '13955509012');
  const idNumber = residentId('110101', '19880808', 73);
  let r = await c.post('/api/v1/me/person', { name: '混管待复核人', id_number: idNumber, region_code: COMMUNITY, address: '多福巷7号' });
  assert.equal(r.status, 201, r.text);
  // sampled into a pool of five at a site; the laboratory finds the pool positive
  r = await ctx.as.cc_dc.post('/api/v1/nat/sites', { name: '多福巷核酸点', kind: 'fixed', region_code: COMMUNITY });
  assert.equal(r.status, 201, r.text);
  assert.equal((await staff.post(`/api/v1/nat/sites/${r.body.id}/clock-in`, {})).status, 201);
  r = await staff.post('/api/v1/nat/samples', { id_number: idNumber, barcode: 'MYRES-0001', tube_kind: 'pool5' });
  assert.equal(r.status, 201, r.text);
  assert.equal((await staff.post('/api/v1/nat/tubes/MYRES-0001/close', {})).status, 200);
  r = await ctx.as.lab.post('/api/v1/nat/results', { barcode: 'MYRES-0001', result: 'positive' });
  assert.equal(r.status, 200, r.text);

  await page.goto(ctx.url + '/mobile/');
  await page.waitForURL(/#\/me$/);
  await field(page, 'my-nat-results').click();
  const tag = field(page, 'nat-result');
  await tag.first().waitFor();
  assert.deepEqual(await tag.allInnerTexts(), ['混管阳性待复核']);
  // not the green of a negative: it waits for the single-tube retest
  assert.match(await tag.first().getAttribute('class'), /van-tag--warning/);
});
