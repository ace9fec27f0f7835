// The staff phone's look-ups (docs/web.md "Staff look-ups on the phone"): a
// grid worker of 多福巷社区 finds a resident of their community (not one of
// another community), opens the record, registers a person met at the door
// (a server field error first, then a duplicate naming the record), finds a
// place and an enterprise of the community and opens them. One server, one
// browser; the data comes from the command centre over the API.
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { launch, openPage, assertClean, shot, residentId } from './lib.mjs';
import { startCityWith, creditCode } from '../api/lib.mjs';

const PW = 'Lookup-pass-2026!';
const COMMUNITY = '110101001001';
const BUILDING = '110101001001001001';
const ZHANG_ID = residentId('110101', '19800303', 11, true);
const NEW_ID = residentId('110101', '19950505', 21, false);
let ctx, browser, zhangId, placeId, entId;

before(async () => {
  ctx = await startCityWith(
    {
      cc_dc: ['command_center', '110101000000'],
      grid: ['grid_worker', COMMUNITY],
      street: ['street_staff', '110101001000'],
    },
    PW,
  );
  const cc = ctx.as.cc_dc;
  const mk = async (path, body) => {
    const r = await cc.post(path, body);
    assert.equal(r.status, 201, `${path}: ${r.text}`);
    return r.body.id;
  };
  zhangId = await mk('/api/v1/persons', {
    name: '张大山', id_type: 'resident_id', id_number: ZHANG_ID, phone: '13900001111', region_code: BUILDING,
    category: 'resident', vulnerable: ['chronic_disease'],
  });
  // another community's resident: never in the grid worker's results
  await mk('/api/v1/persons', { name: '张小川', id_type: 'resident_id', id_number: residentId('110101', '19810404', 13, true), region_code: '110101002001' });
  placeId = await mk('/api/v1/places', {
    name: '多福巷小区', kind: 'community', region_code: COMMUNITY, address: '多福巷8号', contact_name: '赵物业', contact_phone: '13700002222',
  });
  entId = await mk('/api/v1/enterprises', {
    name: '多福餐饮有限公司', credit_code: creditCode('91110101MA0000001'), region_code: COMMUNITY, industry: '餐饮', employees: 12,
    contact_name: '钱经理', contact_phone: '13600003333',
  });
  browser = await launch();
});

after(async () => {
  await browser?.close();
  await ctx?.stop();
});

async function signIn(p, username) {
  await p.goto(ctx.url + '/mobile/');
  await field(p, 'tab-staff').click();
  await input(p, 'staff-username').fill(username);
  await input(p, 'staff-password').fill(PW);
  await field(p, 'staff-login').click();
  await p.waitForURL(/#\/staff$/);
}

const field = (page, name) => page.locator(`[data-test=${name}]`);
const input = (page, name) => page.locator(`[data-test=${name}] input`);
const fieldError = (page, name) => page.locator(`[data-test=${name}] .van-field__error-message`);

let page;
test('a grid worker finds a resident of their community and opens the record', async () => {
  page = await openPage(browser, { mobile: true });
  await signIn(page, 'grid');

  await field(page, 'entry-person-search').click();
  await page.waitForURL(/#\/staff\/persons$/);
  // the first page of the community: only its resident, masked, with building and code
  await field(page, 'ps-total').filter({ hasText: '共 1 人' }).waitFor();
  const card = field(page, 'ps-item');
  assert.equal(await card.count(), 1);
  assert.match(await card.locator('.van-cell__title').innerText(), /^张\*山\n居民身份证 11\*+1$/);
  assert.doesNotMatch(await card.innerText(), /大山|13900001111/);
  assert.ok(!(await card.innerText()).includes(ZHANG_ID));
  assert.equal(await card.locator('[data-test=ps-region]').innerText(), '1号楼');
  assert.equal(await card.locator('[data-test=ps-code]').innerText(), '绿码');

  // a name nobody has: the empty state; a malformed phone: the server's words
  await input(page, 'ps-text').fill('李');
  await field(page, 'ps-go').click();
  await field(page, 'ps-empty').waitFor();
  await field(page, 'ps-by').locator('.van-tab').filter({ hasText: '手机号码' }).click();
  await input(page, 'ps-text').fill('123');
  await field(page, 'ps-go').click();
  await field(page, 'ps-error').filter({ hasText: '手机' }).waitFor();
  // the exact search by the full id number finds them
  await field(page, 'ps-by').locator('.van-tab').filter({ hasText: '证件号码' }).click();
  await input(page, 'ps-text').fill(ZHANG_ID);
  await field(page, 'ps-go').click();
  await field(page, 'ps-total').filter({ hasText: '共 1 人' }).waitFor();
  await shot(page, 'mobile-staff-person-search');
  await field(page, 'ps-open').click();
  await page.waitForURL(new RegExp(`#/staff/persons/${zhangId}$`));
  await field(page, 'p-name').filter({ hasText: '张*' }).waitFor();
  assertClean(page);
});

test('a grid worker registers a person: a field error first, then the record; a second time names it', async () => {
  await page.goto(ctx.url + '/mobile/#/staff');
  await field(page, 'entry-person-register').click();
  await page.waitForURL(/#\/staff\/persons\/new$/);
  await input(page, 'pn-name').fill('刘晓');
  await input(page, 'pn-id_number').fill('11010119950505');
  await input(page, 'pn-phone').fill('13500004444');
  await field(page, 'region-field').click();
  await field(page, 'region-popup').locator('[data-test=region-option]').first().waitFor();
  // drill down to the building of the community
  // the picker starts at the worker's own scope, so the levels above it are not offered;
  // each level's options are counted only once its children have loaded (the trail names
  // the level just entered and the spinner is gone), or a level still loading is skipped
  const popup = field(page, 'region-popup');
  for (const name of ['东城区', '东华门街道', '多福巷社区', '第一网格', '1号楼']) {
    await popup.locator('.van-loading').waitFor({ state: 'hidden' });
    const opt = popup.locator('[data-test=region-option]').filter({ hasText: name });
    if (!(await opt.count())) continue;
    await opt.first().click();
    await popup.locator('.crumb').last().filter({ hasText: name }).waitFor();
  }
  await popup.locator('.van-loading').waitFor({ state: 'hidden' });
  await field(page, 'region-confirm').filter({ hasText: '1号楼' }).click();
  await input(page, 'pn-address').fill('3单元502室');
  await field(page, 'pn-vulnerable-pregnant').click();
  await field(page, 'pn-submit').click();
  // the server's refusal lands under its field; nothing is registered
  await fieldError(page, 'pn-id_number').waitFor();
  assert.match(await fieldError(page, 'pn-id_number').innerText(), /证件号码|身份证/);
  assert.match(page.url(), /#\/staff\/persons\/new$/);
  await shot(page, 'mobile-staff-person-register-error');

  await input(page, 'pn-id_number').fill(NEW_ID);
  await field(page, 'pn-submit').click();
  await page.waitForURL(/#\/staff\/persons\/\d+$/);
  const newId = page.url().match(/persons\/(\d+)$/)[1];
  await field(page, 'p-name').filter({ hasText: '刘*' }).waitFor();
  assert.match(await field(page, 'p-region').innerText(), /1号楼/);
  const saved = await ctx.as.cc_dc.get(`/api/v1/persons/${newId}`);
  assert.equal(saved.status, 200);
  assert.deepEqual(saved.body.vulnerable, ['pregnant']);

  // the same document again: the server's message and a link to the record
  await page.goto(ctx.url + '/mobile/#/staff/persons/new');
  await input(page, 'pn-name').fill('刘晓');
  await input(page, 'pn-id_number').fill(NEW_ID);
  await field(page, 'region-field').click();
  await field(page, 'region-popup').locator('[data-test=region-option]').first().waitFor();
  for (const name of ['东城区', '东华门街道', '多福巷社区']) {
    const opt = field(page, 'region-popup').locator('[data-test=region-option]').filter({ hasText: name });
    if (await opt.count()) await opt.first().click();
  }
  await field(page, 'region-confirm').filter({ hasText: '多福巷社区' }).click();
  await field(page, 'pn-submit').click();
  await fieldError(page, 'pn-id_number').filter({ hasText: '已登记' }).waitFor();
  await field(page, 'pn-existing').click();
  await page.waitForURL(new RegExp(`#/staff/persons/${newId}$`));
  assertClean(page);
});

test('a grid worker finds a place and an enterprise of the community and opens them', async () => {
  await page.goto(ctx.url + '/mobile/#/staff');
  await field(page, 'entry-places').click();
  await page.waitForURL(/#\/staff\/places$/);
  await field(page, 'pl-total').filter({ hasText: '共 1 个场所' }).waitFor();
  assert.equal(await field(page, 'pl-kind-label').innerText(), '小区');
  assert.equal(await field(page, 'pl-region').innerText(), '多福巷社区');
  await input(page, 'pl-text').fill('不存在的场所');
  await field(page, 'pl-go').click();
  await field(page, 'pl-empty').waitFor();
  await input(page, 'pl-text').fill('多福');
  await field(page, 'pl-go').click();
  await field(page, 'pl-open').click();
  await page.waitForURL(new RegExp(`#/staff/places/${placeId}$`));
  await field(page, 'place-facts').waitFor();
  assert.match(await field(page, 'place-region').innerText(), /东华门街道 · 多福巷社区/);
  const contact = await field(page, 'place-contact').innerText();
  assert.match(contact, /赵\*/);
  assert.doesNotMatch(contact, /13700002222/);
  await field(page, 'place-venues-empty').waitFor(); // grid workers hold venue.read
  await shot(page, 'mobile-staff-place');

  await page.goto(ctx.url + '/mobile/#/staff');
  await field(page, 'entry-enterprises').click();
  await page.waitForURL(/#\/staff\/enterprises$/);
  await field(page, 'en-total').filter({ hasText: '共 1 家企业' }).waitFor();
  assert.match(await field(page, 'en-item').innerText(), /餐饮/);
  // the industry narrows on the server: another industry finds none
  await input(page, 'en-industry').fill('制造');
  await input(page, 'en-industry').press('Enter');
  await field(page, 'en-empty').waitFor();
  await input(page, 'en-industry').fill('餐饮');
  await input(page, 'en-industry').press('Enter');
  await field(page, 'en-open').click();
  await page.waitForURL(new RegExp(`#/staff/enterprises/${entId}$`));
  await field(page, 'ent-facts').waitFor();
  assert.equal(await field(page, 'ent-industry').locator('.van-cell__value').innerText(), '餐饮');
  assert.equal(await field(page, 'ent-employees').locator('.van-cell__value').innerText(), '12 人');
  assert.match(await field(page, 'ent-region').innerText(), /多福巷社区/);
  assert.match(await field(page, 'ent-contact').innerText(), /钱\*/);
  // no resume-work figures without employee.read
  assert.equal(await field(page, 'ent-resume').count(), 0);
  await shot(page, 'mobile-staff-enterprise');
  assertClean(page);
});

test('street staff (employee.read) see the resume-work status and today\'s clock-ins', async () => {
  const p = await openPage(browser, { mobile: true });
  await signIn(p, 'street');
  await field(p, 'entry-enterprises').click();
  await p.waitForURL(/#\/staff\/enterprises$/);
  await field(p, 'en-status').filter({ hasText: '未申请' }).waitFor();
  await field(p, 'en-open').click();
  await p.waitForURL(new RegExp(`#/staff/enterprises/${entId}$`));
  await field(p, 'ent-status').filter({ hasText: '未申请' }).waitFor();
  assert.match(await field(p, 'ent-clockin').innerText(), /暂无在职员工/);
  assertClean(p);
  await p.context().close();
});
