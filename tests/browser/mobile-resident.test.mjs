// Residents on the mobile pages: SMS sign-in with the code the gateway
// wrote, the purpose statement and consent, real-name registration with
// the server's field errors, the masked record, a change, withdrawal.
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { startServer, launch, openPage, assertClean, shot, smsCode, residentId, CITY_CSV, writeTmp, sleep } from './lib.mjs';

let ctx, browser;
before(async () => {
  ctx = await startServer({ setup: (c) => c.must(['import', 'regions', writeTmp(c, 'city.csv', CITY_CSV)]) });
  browser = await launch();
});
after(async () => {
  await browser?.close();
  await ctx?.stop();
});

const field = (page, name) => page.locator(`[data-test=${name}]`);
const input = (page, name) => page.locator(`[data-test=${name}] input, [data-test=${name}] textarea`);
const fieldError = (page, name) => page.locator(`[data-test=${name}] .van-field__error-message`);
const cellValue = (page, name) => page.locator(`[data-test=${name}] .van-cell__value`);

// The code the SMS gateway (a file in the data dir) sent to `phone`.
async function waitCode(phone, not) {
  for (let i = 0; i < 100; i++) {
    const c = smsCode(ctx, phone);
    if (c && c !== not) return c;
    await sleep(50);
  }
  throw new Error(`no SMS code for ${phone}`);
}

// Vant's pop-ups animate in and out; a screenshot waits until they are still.
async function settled(page) {
  await page.waitForFunction(() => !document.querySelector('[class*="-enter-active"], [class*="-leave-active"]'));
}

async function requestCode(page, phone) {
  await page.goto(ctx.url + '/mobile/');
  await input(page, 'sms-phone').fill(phone);
  await field(page, 'sms-send').click();
}

test('a resident signs in by SMS, consents, registers, sees the masked record, edits it and withdraws consent', async () => {
  const page = await openPage(browser, { mobile: true });
  const phone = '13800138000';
  await requestCode(page, phone);
  await assert.doesNotReject(field(page, 'sms-send').filter({ hasText: /\d+ 秒后重新获取/ }).waitFor());
  const code = await waitCode(phone);
  await shot(page, 'mobile-resident-sign-in');

  // a wrong code: the server's message under the code field
  await input(page, 'sms-code').fill(code === '000000' ? '111111' : '000000');
  await field(page, 'sms-login').click();
  await fieldError(page, 'sms-code').filter({ hasText: '验证码错误或已过期' }).waitFor();
  await shot(page, 'mobile-resident-wrong-code');

  // the right one: the purpose statement comes first
  await input(page, 'sms-code').fill(code);
  await field(page, 'sms-login').click();
  await page.waitForURL(/#\/consent$/);
  const statement = await field(page, 'purpose').innerText();
  assert.match(statement, /仅用于疫情防控/);
  assert.match(statement, /撤回同意/);
  await shot(page, 'mobile-resident-consent');
  await field(page, 'consent-agree').click();
  await page.waitForURL(/#\/register$/);

  // registration with an invalid id number: the error under that field
  await input(page, 'f-name').fill('张三');
  await input(page, 'f-id_number').fill('110101199001011230');
  await field(page, 'region-field').click();
  for (const name of ['市辖区', '东城区', '东华门街道', '多福巷社区']) {
    await field(page, 'region-option').filter({ hasText: name }).click();
  }
  await settled(page);
  await shot(page, 'mobile-resident-region-picker');
  await field(page, 'region-confirm').filter({ hasText: '选择：多福巷社区' }).click();
  await field(page, 'region-popup').waitFor({ state: 'hidden' });
  assert.equal(await input(page, 'region-field').inputValue(), '市辖区 / 东城区 / 东华门街道 / 多福巷社区');
  await input(page, 'f-address').fill('多福巷1号楼2单元301');
  await field(page, 'register-submit').click();
  await fieldError(page, 'f-id_number').waitFor();
  assert.match(await fieldError(page, 'f-id_number').innerText(), /证件号码|身份证/);
  await shot(page, 'mobile-resident-invalid-id');

  // then a valid one: registered, and my information shows it masked
  const id = residentId('110101', '19900101', 123);
  await input(page, 'f-id_number').fill(id);
  await field(page, 'register-submit').click();
  await page.waitForURL(/#\/me$/);
  await cellValue(page, 'my-name').filter({ hasText: '张*' }).waitFor();
  assert.equal(await cellValue(page, 'my-id_number').innerText(), `11${'*'.repeat(15)}${id.slice(-1)}`);
  assert.equal(await cellValue(page, 'my-phone').innerText(), '138****8000');
  // a self-registration waits for the community to see the document
  assert.equal(await cellValue(page, 'my-verified').innerText(), '待核验');
  assert.match(await field(page, 'my-verified').innerText(), /携带身份证件原件到所在社区核验/);
  await cellValue(page, 'my-region').filter({ hasText: '东华门街道 · 多福巷社区' }).waitFor();
  assert.doesNotMatch(await cellValue(page, 'my-address').innerText(), /301/, 'the address is masked');
  assert.match(await cellValue(page, 'my-consent-at').innerText(), /^\d{4}年\d{1,2}月\d{1,2}日 \d{2}:\d{2}$/);
  await shot(page, 'mobile-resident-my-info');
  // one's own record in full, on request
  await field(page, 'my-reveal').click();
  await cellValue(page, 'my-id_number').filter({ hasText: id }).waitFor();
  assert.equal(await cellValue(page, 'my-name').innerText(), '张三');
  await field(page, 'my-reveal').click();
  await cellValue(page, 'my-name').filter({ hasText: '张*' }).waitFor();

  // change what a resident may change
  await field(page, 'my-edit').click();
  await page.waitForURL(/#\/me\/edit$/);
  await input(page, 'f-current_location').fill('上海市浦东新区出差');
  await input(page, 'f-emergency_contact_name').fill('李四');
  await input(page, 'f-emergency_contact_phone').fill('13900001111');
  await shot(page, 'mobile-resident-edit');
  await field(page, 'edit-submit').click();
  await page.waitForURL(/#\/me$/);
  await cellValue(page, 'my-current_location').filter({ hasText: '上海市浦东新区出差' }).waitFor();
  assert.equal(await cellValue(page, 'my-emergency').innerText(), '李* 139****1111');

  // withdraw consent: explained, confirmed, and back to the statement
  await field(page, 'consent-withdraw').click();
  await page.locator('.van-dialog').filter({ hasText: '不会因撤回而删除' }).waitFor();
  await settled(page);
  await shot(page, 'mobile-resident-withdraw-confirm');
  await page.locator('.van-dialog__confirm').click();
  await page.waitForURL(/#\/consent$/);
  await field(page, 'consent-withdrawn').filter({ hasText: '撤回同意' }).waitFor();
  await settled(page);
  await shot(page, 'mobile-resident-withdrawn');
  // the record itself stays (kept for epidemic prevention), self-service stops
  const c = await page.evaluate(() => fetch('/api/v1/me/consent').then((r) => r.json()));
  assert.equal(c.state, 'withdrawn');
  assertClean(page);
});

test('a resident who does not consent is signed out; a second code within a minute is refused', async () => {
  const page = await openPage(browser, { mobile: true });
  const phone = '13700137000';
  await requestCode(page, phone);
  const code = await waitCode(phone);
  // a fresh page forgets the countdown; the server still refuses
  await requestCode(page, phone);
  await field(page, 'form-error').filter({ hasText: '1分钟后再试' }).waitFor();
  await shot(page, 'mobile-resident-rate-limited');

  await input(page, 'sms-code').fill(code);
  await field(page, 'sms-login').click();
  await page.waitForURL(/#\/consent$/);
  await field(page, 'consent-decline').click();
  await page.locator('.van-dialog__confirm').click();
  await page.waitForURL(/#\/login$/);
  const me = await page.evaluate(() => fetch('/api/v1/me').then((r) => r.status));
  assert.equal(me, 401, 'signed out');
  await shot(page, 'mobile-resident-declined');
  assertClean(page);
});
