// 核验/补录 on the phone (seed 002 二(一)1): a community worker scans a
// resident's code (typed, as under the QR), opens the record — the server
// audits the read — corrects a field after a refusal shown on the field,
// marks the resident 孕产妇, meets a record changed meanwhile, reloads and
// confirms 核验无误; the API shows every change. A worker of another
// community gets the refusal, on the scan and on the record's page.
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { selectors } from 'playwright-core';
import { launch, openPage, assertClean, shot, smsCode, residentId } from './lib.mjs';
import { startCityWith, waitForAudit } from '../api/lib.mjs';

selectors.setTestIdAttribute('data-test');

const PW = 'Record-pass-2026!';
const COMMUNITY = '110101001001';
let ctx, browser, cc, auditor, cs1, resident, personId;

before(async () => {
  ctx = await startCityWith(
    {
      cc_dc: ['command_center', '110101000000'],
      cs_dfx: ['community_staff', COMMUNITY],
      cs_lfs: ['community_staff', '110101002001'],
      auditor: ['audit_admin', '110000000000'],
    },
    PW,
  );
  ({ cc_dc: cc, cs_dfx: cs1, auditor } = ctx.as);
  // a resident who registered themself on the phone
  resident = ctx.client();
  const phone = '13822223333';
  assert.equal((await resident.post('/api/v1/auth/sms/send', { phone })).status, 200);
  assert.equal((await resident.post('/api/v1/auth/sms/login', { phone, code: smsCode(ctx, phone) })).status, 200);
  assert.equal((await resident.post('/api/v1/me/consent', { version: 'v1' })).status, 200);
  const r = await resident.post('/api/v1/me/person', { name: '张三', id_number: residentId('110101', '19920202', 55, false), region_code: COMMUNITY, address: '多福巷1号' });
  assert.equal(r.status, 201, r.text);
  personId = r.body.person.id;
  browser = await launch();
});

after(async () => {
  await browser?.close();
  await ctx?.stop();
});

const field = (page, name) => page.getByTestId(name);
const input = (page, name) => page.locator(`[data-test=${name}] input`);
const fieldError = (page, name) => page.locator(`[data-test=${name}] .van-field__error-message`);
const codeToken = async () => (await resident.get('/api/v1/me/code/token')).body.token;

async function staffPage(username) {
  const page = await openPage(browser, { mobile: true });
  await page.goto(ctx.url + '/mobile/');
  await field(page, 'tab-staff').click();
  await input(page, 'staff-username').fill(username);
  await input(page, 'staff-password').fill(PW);
  await field(page, 'staff-login').click();
  await page.waitForURL(/#\/staff$/);
  return page;
}

async function scan(page, token) {
  await field(page, 'entry-record-scan').click();
  await page.waitForURL(/#\/staff\/verify$/);
  await page.locator('[data-test=scan-token] textarea').fill(token);
  await field(page, 'scan-submit').click();
}

test('a community worker scans a code, opens the record, corrects it, marks 孕产妇 and confirms', async () => {
  const page = await staffPage('cs_dfx');
  // typed as read off the phone: in groups, lower case
  await scan(page, (await codeToken()).toLowerCase().replace(/(.{4})/g, '$1 '));
  await field(page, 'scan-found').waitFor();
  assert.equal(await field(page, 'found-name').locator('.van-cell__value').innerText(), '张*');
  await shot(page, 'staff-record-scan-found');
  await field(page, 'scan-open-record').click();
  await page.waitForURL(new RegExp(`#/staff/persons/${personId}$`));
  await field(page, 'person-basic').waitFor();
  assert.equal(await field(page, 'p-name').locator('.van-cell__value').innerText(), '张*');
  assert.equal(await field(page, 'p-region').locator('.van-cell__value').innerText(), '东华门街道 · 多福巷社区');
  // a self-registration: identity still to be checked against the document
  assert.match(await field(page, 'p-verified').innerText(), /待核验/);
  await page.locator('[data-test=p-code] .van-tag').waitFor();
  // community staff see masked values and may not reveal them
  assert.equal(await field(page, 'p-reveal').count(), 0);
  // the open is on record as the worker's read of this person
  const reads = await waitForAudit(auditor, `action=person.read&object_id=${personId}`, (x) => x.user_id === cs1.id);
  assert.ok(reads.some((x) => x.user_id === cs1.id && x.result === 'ok'), JSON.stringify(reads));

  // a wrong phone is refused under its field, and nothing changes
  const before = (await cc.get(`/api/v1/persons/${personId}`)).body;
  await input(page, 'f-phone').fill('1234');
  await input(page, 'f-current_location').fill('多福巷1号院3单元501');
  await field(page, 'f-vulnerable-pregnant').click();
  await field(page, 'p-save').click();
  await fieldError(page, 'f-phone').waitFor();
  assert.match(await fieldError(page, 'f-phone').innerText(), /手机/);
  await shot(page, 'staff-record-field-error');
  assert.equal((await cc.get(`/api/v1/persons/${personId}`)).body.version, before.version);

  await input(page, 'f-phone').fill('13900001111');
  await field(page, 'p-save').click();
  await field(page, 'p-vulnerable-now').filter({ hasText: '孕产妇' }).waitFor();
  let now = (await cc.get(`/api/v1/persons/${personId}?reveal=1`)).body;
  assert.equal(now.phone, '13900001111');
  assert.equal(now.current_location, '多福巷1号院3单元501');
  assert.deepEqual(now.vulnerable, ['pregnant']);
  assert.equal(now.address, '多福巷1号', 'a masked field left empty stays as it was');
  assert.equal(now.version, before.version + 1);

  // the record changes at the desk meanwhile: 核验无误 is refused, not recorded
  assert.equal((await cc.patch(`/api/v1/persons/${personId}`, { household_relation: '户主' })).status, 200);
  await field(page, 'p-confirm').click();
  await page.locator('.van-dialog__confirm').click();
  await field(page, 'form-error').filter({ hasText: '已被他人修改' }).waitFor();
  await shot(page, 'staff-record-stale');
  await field(page, 'p-reload').click();
  await page.waitForFunction(() => document.querySelector('[data-test=f-household_relation] input')?.value === '户主');
  assert.match(await field(page, 'p-last-confirm').innerText(), /尚无记录/);
  await field(page, 'p-confirm').click();
  await page.locator('.van-dialog__confirm').click();
  await field(page, 'p-last-confirm').filter({ hasText: 'cs_dfx' }).waitFor();
  await shot(page, 'staff-record-confirmed');
  const h = (await cc.get(`/api/v1/persons/${personId}/history`)).body.items;
  assert.equal(h[0].action, 'confirm');
  assert.equal(h[0].user_id, cs1.id);
  assert.equal(h.filter((x) => x.action === 'confirm').length, 1, 'the stale attempt left nothing');
  now = (await cc.get(`/api/v1/persons/${personId}`)).body;
  assert.equal(now.version, before.version + 2, 'a confirmation changes no field');

  // health information taken down at the door: a bad temperature under its field, then the declaration
  await input(page, 'd-temperature').fill('45');
  await field(page, 'declare-submit').click();
  await fieldError(page, 'd-temperature').waitFor();
  await input(page, 'd-temperature').fill('36.6');
  await field(page, 'd-symptom-cough').click();
  await field(page, 'declare-submit').click();
  await field(page, 'p-declaration').filter({ hasText: '36.6 ℃' }).waitFor();
  assert.match(await field(page, 'p-declaration').innerText(), /咳嗽/);
  const decl = (await cc.get(`/api/v1/persons/${personId}/declarations`)).body.items;
  assert.equal(decl.length, 1);
  assert.equal(decl[0].temperature, 36.6);
  assert.deepEqual(decl[0].symptoms, ['cough']);
  assert.equal(decl[0].source, 'staff');
  assert.equal(decl[0].user_id, cs1.id);

  // the document is seen: 核验身份
  await field(page, 'p-verify-identity').click();
  await page.locator('.van-dialog__confirm').click();
  await field(page, 'p-verified').filter({ hasText: '已核验' }).waitFor();
  assert.equal(await field(page, 'p-verify-identity').count(), 0);
  assert.equal((await cc.get(`/api/v1/persons/${personId}`)).body.verified, true);
  // 返回 leads to the next scan
  await page.locator('.van-nav-bar__left').click();
  await page.waitForURL(/#\/staff\/verify$/);
  await field(page, 'scan-token').waitFor();
  assertClean(page);
});

test('a worker of another community is told the resident is not theirs', async () => {
  const page = await staffPage('cs_lfs');
  await scan(page, await codeToken());
  await fieldError(page, 'scan-token').filter({ hasText: '不在您的管辖范围' }).waitFor();
  assert.equal(await field(page, 'scan-found').count(), 0);
  await shot(page, 'staff-record-out-of-scope');
  // nor does the record's address open it
  await page.goto(`${ctx.url}/mobile/#/staff/persons/${personId}`);
  await field(page, 'person-failed').filter({ hasText: '该居民不在您的管辖范围' }).waitFor();
  assert.equal(await field(page, 'person-basic').count(), 0);
  assertClean(page);
});

test('at a gate the verdict opens the record for whoever reads the registry; full values on request, audited', async () => {
  let r = await cc.post('/api/v1/places', { name: '多福巷小区', kind: 'community', region_code: COMMUNITY });
  assert.equal(r.status, 201, r.text);
  r = await cc.post('/api/v1/venues', { name: '多福巷小区东门', kind: 'community_gate', place_id: r.body.id });
  assert.equal(r.status, 201, r.text);
  const page = await staffPage('cc_dc');
  await page.goto(ctx.url + '/mobile/#/staff/scan');
  await page.waitForFunction(() => document.querySelector('[data-test=scan-venue] input')?.value === '多福巷小区东门');
  await page.locator('[data-test=scan-token] textarea').fill(await codeToken());
  await field(page, 'scan-submit').click();
  await page.locator('[data-test=pass-screen]').waitFor();
  await field(page, 'scan-open-record').click();
  await page.waitForURL(new RegExp(`#/staff/persons/${personId}$`));
  assert.equal(await field(page, 'p-name').locator('.van-cell__value').innerText(), '张*');
  // who checked the record last, from its history
  await field(page, 'p-last-confirm').filter({ hasText: 'cs_dfx' }).waitFor(); // read after the page's history load
  await field(page, 'p-reveal').click();
  await field(page, 'p-name').filter({ hasText: '张三' }).waitFor();
  assert.equal(await field(page, 'p-phone').locator('.van-cell__value').innerText(), '13900001111');
  await shot(page, 'staff-record-revealed');
  const me = (await cc.get('/api/v1/me')).body.id;
  const seen = await waitForAudit(auditor, `action=person.reveal&object_id=${personId}`, (x) => x.user_id === me);
  assert.ok(seen.some((x) => x.user_id === me && x.result === 'ok'), JSON.stringify(seen));
  // 返回 leads back to the gate
  await page.locator('.van-nav-bar__left').click();
  await page.waitForURL(/#\/staff\/scan$/);
  assertClean(page);
});
