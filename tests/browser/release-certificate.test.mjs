// The release certificate on the phone (docs/cases.md "Release and
// certificates"): staff release a resident's observation; the resident opens
// 解除隔离通知书 from 我的信息, sees the A4 card with their full name, the
// issuing community and the QR (an image that loads), with 打印 and 下载PDF;
// community staff open 核验解除隔离证明, paste the token and read it valid;
// after a revoke the same token reads 已作废.
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { launch, openPage, assertClean, shot, adoptSession, residentId, smsCode } from './lib.mjs';
import { startCityWith } from '../api/lib.mjs';

const PW = 'Release-pages-2026!';
const COMMUNITY = '110101001001';
let ctx, browser, cs, res, cert;

before(async () => {
  ctx = await startCityWith({ cs_dc: ['community_staff', COMMUNITY] }, PW, { env: { FK_RELEASE_CHECK: '0' } });
  ({ cs_dc: cs } = ctx.as);
  res = ctx.client();
  const phone = '13930004321';
  await res.post('/api/v1/auth/sms/send', { phone });
  let r = await res.post('/api/v1/auth/sms/login', { phone, code: smsCode(ctx, phone) });
  assert.equal(r.status, 200, r.text);
  await res.post('/api/v1/me/consent', { version: 'v1' });
  r = await res.post('/api/v1/me/person', { name: '林解除', id_number: residentId('110101', '19880808', 77), region_code: COMMUNITY, address: '多福巷3号' });
  assert.equal(r.status, 201, r.text);
  const pid = r.body.person.id;
  r = await cs.post('/api/v1/observations', { person_id: pid, kind: 'home_isolation', source: 'grid_patrol', start_at: Date.now() - 15 * 24 * 3600e3 });
  assert.equal(r.status, 201, r.text);
  r = await cs.post(`/api/v1/observations/${r.body.id}/release`, { release_status: 'free', reason: '隔离期满' });
  assert.equal(r.status, 201, r.text);
  cert = r.body;
  browser = await launch();
});
after(async () => {
  await browser?.close();
  await ctx?.stop();
});

const field = (page, name) => page.locator(`[data-test=${name}]`);

test('the resident opens their certificate; staff verify it valid, then revoked', async () => {
  const page = await openPage(browser, { mobile: true });
  await adoptSession(page, res);
  await page.goto(ctx.url + '/mobile/#/me');
  await field(page, 'my-certificates').click();
  await page.waitForURL(/#\/me\/certificates$/);
  await field(page, 'cert-item').first().click();
  await page.waitForURL(/#\/me\/certificate\/\d+$/);
  await field(page, 'cert-sheet').waitFor();
  assert.equal(await field(page, 'cert-number').innerText(), `编号：${cert.number}`);
  assert.equal(await field(page, 'cert-name').innerText(), '林解除', 'the resident reads their full name');
  assert.equal(await field(page, 'cert-unit').innerText(), '发证单位：多福巷社区');
  const qr = field(page, 'cert-qr');
  await page.waitForFunction(() => document.querySelector('[data-test=cert-qr]')?.naturalWidth > 0);
  assert.match(await qr.getAttribute('src'), /\/qr\.svg$/);
  assert.match(await field(page, 'cert-pdf').getAttribute('href'), new RegExp(`/api/v1/me/certificates/${cert.id}/pdf$`));
  await field(page, 'cert-print').waitFor();
  await shot(page, 'mobile-release-certificate');
  assertClean(page);

  const staff = await openPage(browser, { mobile: true });
  await adoptSession(staff, cs);
  await staff.goto(ctx.url + '/mobile/#/staff');
  await field(staff, 'entry-cert-verify').click();
  await staff.waitForURL(/#\/staff\/certificates\/verify$/);
  await staff.locator('[data-test=cert-token] textarea').fill(cert.token);
  await field(staff, 'cert-submit').click();
  await field(staff, 'cert-verdict').filter({ hasText: '解除隔离通知书真实有效' }).waitFor();
  assert.equal(await field(staff, 'cert-verdict-unit').locator('.van-cell__value').innerText(), '多福巷社区');
  await shot(staff, 'mobile-release-verify-valid');

  const r = await cs.post(`/api/v1/certificates/${cert.id}/revoke`, { reason: '信息有误' });
  assert.equal(r.status, 200, r.text);
  await staff.locator('.van-nav-bar__left').click(); // 继续核验
  await staff.locator('[data-test=cert-token] textarea').fill(cert.token);
  await field(staff, 'cert-submit').click();
  await field(staff, 'cert-verdict').filter({ hasText: '已作废' }).waitFor();
  await shot(staff, 'mobile-release-verify-revoked');
});

test('community staff complete a release task on the phone with the status after release', async () => {
  let r = await cs.post('/api/v1/persons', { name: '韩任务', id_number: residentId('110101', '19880808', 79), region_code: COMMUNITY, address: '多福巷5号' });
  assert.equal(r.status, 201, r.text);
  r = await cs.post('/api/v1/observations', { person_id: r.body.id, kind: 'home_isolation', source: 'grid_patrol', start_at: Date.now() - 15 * 24 * 3600e3 });
  assert.equal(r.status, 201, r.text);
  const obs = r.body.id;
  ctx.must(['case', 'sweep']);
  const page = await openPage(browser, { mobile: true });
  await adoptSession(page, cs);
  await page.goto(ctx.url + '/mobile/#/staff/tasks');
  const item = field(page, 'task-item').filter({ hasText: '解除隔离：韩*' });
  await item.locator('[data-test=task-accept]').click();
  await item.locator('[data-test=task-complete]').click();
  await page.locator('[data-test=task-release-status] .van-radio').filter({ hasText: '集中治疗' }).click();
  await page.locator('[data-test=task-dialog-text] textarea').fill('隔离期满，转集中治疗观察');
  await shot(page, 'mobile-release-task-complete');
  await page.locator('.van-dialog__confirm').click();
  await page.waitForFunction(() => ![...document.querySelectorAll('[data-test=task-item]')].some((e) => e.innerText.includes('韩*')));
  r = await cs.get(`/api/v1/observations/${obs}`);
  assert.equal(r.body.state, 'released');
  assert.equal(r.body.release_status, 'treatment');
  assert.equal(r.body.release_notice_issued, true);
  assertClean(page);
});
