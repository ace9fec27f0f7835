// Two console actions of the case workflow (docs/web.md "The case workflow in
// the console"): 纳入隔离观察 from the observation list (a person searched in
// the registry, a central quarantine in a free room) and from the person
// page's 疫情处置 tab (the person fixed), with the server's field errors under
// their fields and nothing written; the person's code turns red (an open
// isolation, docs/health-code.md); then the existing release dialog issues
// the certificate, 作废 revokes it with a reason after a confirmation, the
// pages show 已作废 with it, and the certificate's QR no longer verifies. A
// role without case.manage (领导) gets neither button.
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { selectors } from 'playwright-core';
import { launch, assertClean, shot, residentId, consolePage, choose } from './lib.mjs';
import { startCityWith, CITY_STAFF } from '../api/lib.mjs';

selectors.setTestIdAttribute('data-test');

const PW = 'Case-actions-2024!';
const BUILDING = '110101001001001001'; // 东华门街道 多福巷社区 1号楼
let ctx, browser, cc;
let seq = 0;

async function person(name) {
  const r = await cc.post('/api/v1/persons', { name, id_number: residentId('110101', '19800606', 700 + ++seq * 2), region_code: BUILDING });
  assert.equal(r.status, 201, r.text);
  return r.body;
}

// the code once the engine has recomputed it (it follows the write shortly)
async function codeOf(id, colour) {
  let c;
  for (let i = 0; i < 50; i++) {
    c = await cc.get(`/api/v1/persons/${id}/code`);
    if (c.body?.colour === colour) break;
    await new Promise((r) => setTimeout(r, 100));
  }
  return c.body;
}

before(async () => {
  ctx = await startCityWith({ cc_dc: CITY_STAFF.cc_dc, leader_dc: ['leader', '110101000000'] }, PW);
  cc = ctx.as.cc_dc;
  browser = await launch();
});

after(async () => {
  await browser?.close();
  await ctx?.stop();
});

const console_ = (path, as = cc) => consolePage(browser, ctx, path, as);

// the error under a dialog's field, found by the field's label
const fieldError = (dialog, label) =>
  dialog.locator('.el-form-item', { has: dialog.page().locator('.el-form-item__label', { hasText: label }) }).locator('.el-form-item__error');

test('纳入隔离观察 from the list, a bad input refused on its field, then released and the certificate revoked', async () => {
  let r = await cc.post('/api/v1/places', { name: '东华门隔离酒店', kind: 'quarantine_site', region_code: '110101001001' });
  assert.equal(r.status, 201, r.text);
  const site = r.body.id;
  r = await cc.post(`/api/v1/quarantine-sites/${site}/rooms`, { rooms: ['A1', 'A2'] });
  assert.equal(r.status, 201, r.text);
  const p = await person('周新增');
  assert.equal((await codeOf(p.id, 'green')).colour, 'green', 'green before');

  const page = await console_('/observations');
  await page.getByTestId('obs-total').getByText('共 0 人').waitFor();
  await page.getByTestId('obs-add').click();
  const dialog = page.getByTestId('observe-dialog');
  await dialog.getByTestId('observe-person').click();
  await dialog.getByTestId('observe-person').locator('input').fill('周新增');
  await page.getByRole('option', { name: /周\*增/ }).filter({ visible: true }).click();
  await choose(page, 'observe-kind', '集中隔离');
  await choose(page, 'observe-source', '网格排查');
  await dialog.getByTestId('observe-note').fill('自外地返回');
  // a central quarantine without its site and room: the server's words
  // under those fields, and nothing written
  await page.getByTestId('observe-submit').click();
  await fieldError(dialog, '隔离点').getByText('集中隔离须选择隔离点').waitFor();
  await fieldError(dialog, '房间').getByText('请填写房间号').waitFor();
  r = await cc.get(`/api/v1/observations?person_id=${p.id}`);
  assert.equal(r.body.items.length, 0, 'nothing written');
  await shot(page, 'case-observe-field-error');

  await choose(page, 'observe-site', '东华门隔离酒店（空闲 2）');
  // the field's error clears when the field changes
  await fieldError(dialog, '隔离点').waitFor({ state: 'hidden' });
  await choose(page, 'observe-room', 'A1');
  await page.getByTestId('observe-submit').click();
  await dialog.waitFor({ state: 'hidden' });
  const row = page.getByTestId('obs-table').locator('tbody tr', { hasText: '周*增' });
  await row.waitFor();
  assert.equal(await row.getByTestId('obs-cell-kind').textContent(), '集中隔离');
  assert.equal(await row.getByTestId('obs-cell-state').textContent(), '观察中');
  assert.match(await row.textContent(), /东华门隔离酒店 A1 房间/);
  assert.match(await page.getByTestId('obs-count-active').textContent(), /观察中\s*1/);
  r = await cc.get(`/api/v1/observations?person_id=${p.id}`);
  assert.equal(r.body.items.length, 1, r.text);
  const obs = r.body.items[0];
  assert.equal(obs.source, 'grid_patrol');
  assert.equal(obs.room_no, 'A1');
  r = await cc.get(`/api/v1/observations/${obs.id}?reveal=1`);
  assert.equal(r.body.note, '自外地返回', 'the notes were sent');

  // an open isolation makes the code red (docs/health-code.md), shown on the person page
  const code = await codeOf(p.id, 'red');
  assert.equal(code.colour, 'red', JSON.stringify(code));
  const pp = await console_(`/people/${p.id}`);
  await pp.getByRole('tab', { name: '健康码' }).click();
  await pp.getByTestId('person-code-colour').getByText(code.label).waitFor();
  await pp.getByRole('tab', { name: '疫情处置' }).click();
  await pp.getByTestId('case-observation-state').getByText('观察中').waitFor();
  assert.equal(await pp.getByTestId('case-observe').count(), 0, 'no 纳入 while observed');
  await pp.close();

  // released with its certificate through the existing dialog
  await row.getByTestId('obs-cell-name').click();
  await page.getByTestId('obs-end').click();
  await choose(page, 'obs-end-release', '自由');
  await page.getByTestId('obs-end-reason').fill('观察期满无异常');
  await page.getByTestId('obs-end-submit').click();
  await page.getByTestId('obs-certificate').waitFor();
  r = await cc.get(`/api/v1/persons/${p.id}/certificates`);
  const cert = r.body.items[0];
  r = await cc.get(`/api/v1/certificates/${cert.id}`);
  const token = r.body.token;
  assert.ok(token, r.text);
  r = await cc.post('/api/v1/certificates/verify', { token });
  assert.equal(r.status, 200, 'valid before');

  // 作废: without a reason the server's message under the field, nothing revoked
  await page.getByTestId('cert-revoke').click();
  const rd = page.getByTestId('cert-revoke-dialog');
  await page.getByTestId('cert-revoke-submit').click();
  await fieldError(rd, '作废原因').waitFor();
  r = await cc.get(`/api/v1/certificates/${cert.id}`);
  assert.equal(r.body.revoked, false, 'nothing revoked');
  // a reason, then the confirmation: cancelled first (nothing), then confirmed
  await page.getByTestId('cert-revoke-reason').fill('解除依据有误');
  await page.getByTestId('cert-revoke-submit').click();
  await page.locator('.el-message-box').getByRole('button', { name: '取消' }).click();
  r = await cc.get(`/api/v1/certificates/${cert.id}`);
  assert.equal(r.body.revoked, false, 'cancelled: nothing revoked');
  await page.getByTestId('cert-revoke-submit').click();
  await page.locator('.el-message-box').getByRole('button', { name: '确定作废' }).click();
  await page.getByTestId('obs-certificate-revoked').getByText('已作废').waitFor();
  assert.match(await page.getByTestId('obs-certificate-revoked-detail').textContent(), /原因：解除依据有误/);
  assert.equal(await page.getByTestId('cert-revoke').count(), 0, 'no second revoke');
  r = await cc.get(`/api/v1/certificates/${cert.id}`);
  assert.equal(r.body.revoked, true, r.text);
  // the printed QR now fails verification
  r = await cc.post('/api/v1/certificates/verify', { token });
  assert.equal(r.status, 400, r.text);
  assert.equal(r.body.error.code, 'certificate_revoked');
  await shot(page, 'case-certificate-revoked');

  // read again, the page still says so, the reason masked as the reply gives it
  await page.reload();
  await page.getByTestId('obs-certificate-revoked').getByText('已作废').waitFor();
  assert.match(await page.getByTestId('obs-certificate-revoked-detail').textContent(), /原因：解除依\*{4}/);
  assertClean(page);
});

test('纳入隔离观察 from the person page, 作废 from its certificate list, and no buttons without case.manage', async () => {
  const p = await person('吴页面');
  const page = await console_(`/people/${p.id}`);
  await page.getByRole('tab', { name: '疫情处置' }).click();
  await page.getByTestId('case-observation').getByText('未纳入隔离观察').waitFor();
  await page.getByTestId('case-observe').click();
  const dialog = page.getByTestId('observe-dialog');
  assert.equal(await dialog.getByTestId('observe-person-fixed').textContent(), '吴*面', 'the person is fixed, masked');
  // no measure, no source: both refused under their fields at once
  await page.getByTestId('observe-submit').click();
  await fieldError(dialog, '观察方式').waitFor();
  await fieldError(dialog, '报送来源').waitFor();
  let r = await cc.get(`/api/v1/observations?person_id=${p.id}`);
  assert.equal(r.body.items.length, 0, 'nothing written');
  await choose(page, 'observe-kind', '居家医学观察');
  await choose(page, 'observe-source', '街道社区摸排');
  await page.getByTestId('observe-submit').click();
  await page.getByTestId('case-observation-state').getByText('观察中').waitFor();
  assert.equal(await page.getByTestId('case-observe').count(), 0);
  r = await cc.get(`/api/v1/observations?person_id=${p.id}`);
  assert.equal(r.body.items[0].kind, 'home_observation', r.text);
  const obsId = r.body.items[0].id;

  // released through the API; the tab's certificate list revokes it
  r = await cc.post(`/api/v1/observations/${obsId}/release`, { release_status: 'free', reason: '期满' });
  assert.equal(r.status, 201, r.text);
  const certId = r.body.id;
  await page.reload();
  await page.getByRole('tab', { name: '疫情处置' }).click();
  const certRow = page.getByTestId('case-certificate-row');
  await certRow.getByTestId('cert-revoke').click();
  await page.getByTestId('cert-revoke-reason').fill('人员信息有误');
  await page.getByTestId('cert-revoke-submit').click();
  await page.locator('.el-message-box').getByRole('button', { name: '确定作废' }).click();
  await certRow.getByTestId('case-certificate-revoked').getByText('已作废').waitFor();
  assert.match(await certRow.getByTestId('case-certificate-revoked-detail').textContent(), /原因：人员信息有误/);
  r = await cc.get(`/api/v1/certificates/${certId}`);
  assert.equal(r.body.revoked, true, r.text);
  // released: the person may be observed again
  await page.getByTestId('case-observe').waitFor();
  assertClean(page);

  // 领导 reads the case pages but manages nothing: no 新增, 纳入 or 作废
  const leader = ctx.as.leader_dc;
  const list = await console_('/observations', leader);
  await list.getByTestId('obs-table').locator('tbody tr', { hasText: '吴*面' }).waitFor();
  assert.equal(await list.getByTestId('obs-add').count(), 0);
  await list.goto(`${ctx.url}/console/#/people/${p.id}`);
  await list.getByRole('tab', { name: '疫情处置' }).click();
  await list.getByTestId('case-certificate-revoked').waitFor();
  assert.equal(await list.getByTestId('case-observe').count(), 0);
  await list.goto(`${ctx.url}/console/#/observations/${obsId}`);
  await list.getByTestId('obs-certificate-revoked').waitFor();
  assert.equal(await list.getByTestId('cert-revoke').count(), 0);
  assertClean(list);
});
