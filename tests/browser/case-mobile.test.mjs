// The case workflow on the phone (issue 9, docs/cases.md): a resident
// reports a neighbour with a photo (疫情上报) and follows it under 我的上报;
// the grid worker, on another phone, finds the 入户核实 task, accepts it and
// verifies (情况属实), after a refused attempt whose message shows under the
// field; the person is then on the 隔离观察名单 with a timeline. Bad input
// on the report shows the server's message next to its field. A checkpoint's
// refused scan is reported with one tap. A grid worker's patrol report
// (巡查上报) puts a person straight on the list.
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { launch, openPage, assertClean, shot, adoptSession, residentId, smsCode } from './lib.mjs';
import { startCityWith, CITY_STAFF } from '../api/lib.mjs';

const PW = 'Case-pages-2026!';
const COMMUNITY = '110101001001';
const PNG = Buffer.from(
  'iVBORw0KGgoAAAANSUhEUgAAAAEAAAABCAYAAAAfFcSJAAAADUlEQVR42mNk+M9QDwADhgGAWjR9awAAAABJRU5ErkJggg==',
  'base64',
);
let ctx, browser, cc, grid, gate, venue;
let phoneSeq = 0;

// A resident signed in by SMS, consented and registered in the community.
async function resident(seq) {
  const c = ctx.client();
  const phone = '1393000' + String(1000 + ++phoneSeq);
  await c.post('/api/v1/auth/sms/send', { phone });
  let r = await c.post('/api/v1/auth/sms/login', { phone, code: smsCode(ctx, phone) });
  assert.equal(r.status, 200, r.text);
  r = await c.post('/api/v1/me/consent', { version: 'v1' });
  assert.equal(r.status, 200, r.text);
  r = await c.post('/api/v1/me/person', { name: '上报人', id_number: residentId('110101', '19850505', seq), region_code: COMMUNITY, address: '多福巷9号' });
  assert.equal(r.status, 201, r.text);
  c.personId = r.body.person.id;
  return c;
}

before(async () => {
  ctx = await startCityWith(CITY_STAFF, PW);
  ({ cc_dc: cc, grid_dc: grid, gate_dc: gate } = ctx.as);
  let r = await cc.post('/api/v1/places', { name: '多福巷小区', kind: 'community', region_code: COMMUNITY });
  assert.equal(r.status, 201, r.text);
  r = await cc.post('/api/v1/venues', { name: '多福巷小区东门', kind: 'community_gate', place_id: r.body.id });
  assert.equal(r.status, 201, r.text);
  venue = r.body;
  browser = await launch();
});
after(async () => {
  await browser?.close();
  await ctx?.stop();
});

const field = (page, name) => page.locator(`[data-test=${name}]`);
const input = (page, name) => page.locator(`[data-test=${name}] input, [data-test=${name}] textarea`);
const fieldError = (page, name) => page.locator(`[data-test=${name}] .van-field__error-message`);

// The region picker starts at the top of the user's scope: the city for a
// resident, their own community for its grid worker.
async function pickCommunity(page, path = ['市辖区', '东城区', '东华门街道', '多福巷社区']) {
  await field(page, 'region-field').click();
  for (const name of path) await field(page, 'region-option').filter({ hasText: name }).click();
  await field(page, 'region-confirm').filter({ hasText: '选择：多福巷社区' }).click();
  await field(page, 'region-popup').waitFor({ state: 'hidden' });
}

const NEIGHBOUR_ID = residentId('110101', '19700303', 71);

test('a resident reports a neighbour with a photo; the grid worker verifies; the person is on the observation list', async () => {
  const res = await resident(11);
  const page = await openPage(browser, { mobile: true });
  await adoptSession(page, res);
  await page.goto(ctx.url + '/mobile/#/me');
  await field(page, 'my-report-new').click();
  await page.waitForURL(/#\/report$/);

  await field(page, 'r-about-other').click();
  await input(page, 'r-name').fill('李邻居');
  await input(page, 'r-phone').fill('13912340001');
  await pickCommunity(page);
  await input(page, 'r-address').fill('多福巷12号院3单元501');
  await field(page, 'r-category-symptoms').click();
  await field(page, 'r-symptom-fever').click();
  await field(page, 'r-symptom-cough').click();
  await input(page, 'r-description').fill('连续两天咳嗽，夜间发热');
  await page.locator('[data-test=r-photos] input[type=file]').setInputFiles({ name: 'door.png', mimeType: 'image/png', buffer: PNG });
  await page.locator('[data-test=r-photos] .van-uploader__preview').waitFor();
  await page.waitForFunction(() => !document.querySelector('[data-test=r-photos] .van-uploader__mask'));

  // bad input: a temperature out of range; the server's message under the field, nothing filed
  await input(page, 'r-temperature').fill('50');
  await field(page, 'r-submit').click();
  await fieldError(page, 'r-temperature').waitFor();
  assert.match(await fieldError(page, 'r-temperature').innerText(), /体温/);
  assert.equal((await res.get('/api/v1/me/reports')).body.items.length, 0, 'nothing filed');
  await shot(page, 'case-mobile-report-error');

  await input(page, 'r-temperature').fill('38.2');
  await field(page, 'r-submit').click();
  await field(page, 'r-done').filter({ hasText: '核实中' }).waitFor();
  await shot(page, 'case-mobile-report-done');
  await page.locator('[data-test=r-done] .van-dialog__confirm').click();
  await page.waitForURL(/#\/my-reports\/\d+$/);
  await field(page, 'report-state').filter({ hasText: '核实中' }).waitFor();
  await field(page, 'report-photo').waitFor();
  assertClean(page);

  // the grid worker, on another phone
  const worker = await openPage(browser, { mobile: true });
  await adoptSession(worker, grid);
  await worker.goto(ctx.url + '/mobile/#/staff');
  await field(worker, 'entry-home-verification').click();
  await worker.waitForURL(/#\/staff\/tasks$/);
  const task = field(worker, 'task-item').filter({ hasText: '入户核实' });
  await task.first().waitFor();
  await task.first().locator('[data-test=task-accept]').click();
  await task.first().locator('[data-test=task-complete]').click();
  const form = field(worker, 'verify-popup');
  await form.locator('[data-test=v-outcome-confirmed]').click();
  // the report named nobody on record: without an id number the server refuses, under that field
  await form.locator('[data-test=v-submit]').click();
  await form.locator('[data-test=v-id_number] .van-field__error-message').waitFor();
  assert.match(await form.locator('[data-test=v-id_number] .van-field__error-message').innerText(), /[\u4e00-\u9fff]/);
  await shot(worker, 'case-mobile-verify-error');
  await form.locator('[data-test=v-name] input').fill('李邻居');
  await form.locator('[data-test=v-id_number] input').fill(NEIGHBOUR_ID);
  await form.locator('[data-test=v-kind-home_isolation]').click();
  await form.locator('[data-test=v-submit]').click();
  await form.waitFor({ state: 'hidden' });
  await worker.waitForFunction(() => ![...document.querySelectorAll('[data-test=task-item]')].some((e) => e.innerText.includes('入户核实')));

  // the reporter sees the outcome
  await page.reload();
  await field(page, 'report-state').filter({ hasText: '已纳入观察' }).waitFor();
  assert.match(await field(page, 'report-outcome').innerText(), /属实/);

  // the observation list, then the person's timeline
  await worker.goto(ctx.url + '/mobile/#/staff');
  await field(worker, 'entry-observation').click();
  await worker.waitForURL(/#\/staff\/observations$/);
  const item = field(worker, 'obs-item').filter({ hasText: '居家隔离' });
  await item.first().waitFor();
  const text = await item.first().innerText();
  assert.match(text, /李\*/, 'masked name');
  assert.ok(!text.includes('李邻居'), 'never the full name');
  assert.match(await item.first().locator('[data-test=obs-days]').innerText(), /剩余 1[34] 天/);
  await shot(worker, 'case-mobile-observations');
  await item.first().click();
  await worker.waitForURL(/#\/staff\/observations\/\d+$/);
  await field(worker, 'obs-timeline-item').first().waitFor();
  const steps = await field(worker, 'obs-timeline-item').allInnerTexts();
  assert.ok(steps.length >= 2, steps.join(','));
  await shot(worker, 'case-mobile-timeline');
  assertClean(worker);
});

test('a checkpoint reports a refused scan with one tap', async () => {
  const res = await resident(12);
  const { token } = (await res.get('/api/v1/me/code/token')).body;
  const page = await openPage(browser, { mobile: true });
  await adoptSession(page, gate);
  await page.goto(ctx.url + '/mobile/#/staff/scan');
  await page.waitForFunction((name) => document.querySelector('[data-test=scan-venue] input')?.value === name, venue.name);
  await input(page, 'scan-temperature').fill('38.6');
  await input(page, 'scan-token').fill(token);
  await field(page, 'scan-submit').click();
  await field(page, 'pass-screen').waitFor();
  await field(page, 'scan-report').click();
  await field(page, 'scan-reported').filter({ hasText: '已纳入观察' }).waitFor();
  await shot(page, 'case-mobile-checkpoint-report');
  const list = await cc.get('/api/v1/incidents?source=checkpoint');
  assert.equal(list.body.items.length, 1, list.text);
  assert.equal(list.body.items[0].state, 'observed');
  assertClean(page);
});

test('a grid worker files a patrol report; bad input shows under its field', async () => {
  const page = await openPage(browser, { mobile: true });
  await adoptSession(page, grid);
  await page.goto(ctx.url + '/mobile/#/staff');
  await field(page, 'entry-report').click();
  await page.waitForURL(/#\/staff\/report$/);
  await input(page, 'r-name').fill('周巡查');
  await input(page, 'r-id_number').fill('110101198001010000');
  await pickCommunity(page, []);
  await field(page, 'r-category-risk_area').click();
  await field(page, 'r-submit').click();
  await fieldError(page, 'r-id_number').waitFor();
  await shot(page, 'case-mobile-patrol-error');
  await input(page, 'r-id_number').fill(residentId('110101', '19800101', 73));
  await field(page, 'r-submit').click();
  await field(page, 'r-done').filter({ hasText: '已纳入观察' }).waitFor();
  const list = await cc.get('/api/v1/incidents?source=grid_patrol');
  assert.equal(list.body.items.length, 1, list.text);
  assertClean(page);
});

test('an observed resident self-checks; the doctor checks from the task and from the list', async () => {
  const res = await resident(14);
  const page = await openPage(browser, { mobile: true });
  await adoptSession(page, res);
  await page.goto(ctx.url + '/mobile/#/me');
  await field(page, 'my-report-new').waitFor();
  assert.equal(await field(page, 'my-self-check').count(), 0, 'no self-check before being observed');

  const r = await grid.post('/api/v1/reports', { source: 'grid_patrol', category: 'risk_area', person_id: res.personId });
  assert.equal(r.status, 201, r.text);
  await page.reload();
  await field(page, 'my-self-check').click();
  await page.waitForURL(/#\/self-check$/);
  await field(page, 'sc-days').waitFor();
  // out of range: the server's message under the temperature
  await input(page, 'c-temperature').fill('50');
  await field(page, 'c-submit').click();
  await fieldError(page, 'c-temperature').filter({ hasText: /体温/ }).waitFor();
  assert.equal((await res.get('/api/v1/me/self-checks')).body.items.length, 0, 'nothing recorded');
  await input(page, 'c-temperature').fill('38.0');
  await field(page, 'c-symptom-cough').click();
  await field(page, 'c-submit').click();
  await field(page, 'sc-history').filter({ hasText: '38' }).filter({ hasText: '异常' }).waitFor();
  await shot(page, 'case-mobile-self-check');
  assertClean(page);

  // the abnormal self-check gives the community's doctors an urgent check task
  const doctor = await openPage(browser, { mobile: true });
  await adoptSession(doctor, ctx.as.doctor_dc);
  await doctor.goto(ctx.url + '/mobile/#/staff/tasks');
  const task = field(doctor, 'task-item').filter({ hasText: '体征核查' });
  await task.first().waitFor();
  await task.first().locator('[data-test=task-accept]').click();
  await task.first().locator('[data-test=task-complete]').click();
  await doctor.waitForURL(/#\/staff\/check\?task=\d+$/);
  assert.equal(await doctor.locator('[data-test=c-photos] input[type=file]').getAttribute('capture'), 'camera');
  await input(doctor, 'c-temperature').fill('37.0');
  await doctor.locator('[data-test=c-photos] input[type=file]').setInputFiles({ name: 'thermo.png', mimeType: 'image/png', buffer: PNG });
  await doctor.waitForFunction(() => document.querySelector('[data-test=c-photos] .van-uploader__preview') && !document.querySelector('[data-test=c-photos] .van-uploader__mask'));
  await field(doctor, 'c-submit').click();
  await doctor.waitForURL(/#\/staff\/tasks$/);

  // and from the observation list
  await doctor.goto(ctx.url + '/mobile/#/staff/observations');
  await field(doctor, 'obs-item').first().waitFor();
  const obs = (await ctx.as.doctor_dc.get(`/api/v1/observations?state=active`)).body.items.find((o) => o.person_id === res.personId);
  await doctor.goto(ctx.url + `/mobile/#/staff/observations/${obs.id}`);
  await field(doctor, 'obs-check').click();
  await doctor.waitForURL(/#\/staff\/check\?observation=\d+$/);
  await input(doctor, 'c-temperature').fill('36.6');
  await field(doctor, 'c-submit').click();
  await doctor.waitForURL(new RegExp(`#/staff/observations/${obs.id}$`));
  const checks = (await ctx.as.doctor_dc.get(`/api/v1/observations/${obs.id}/checks`)).body.items;
  assert.deepEqual(checks.map((c) => [c.by, c.temperature]).sort(), [['doctor', 36.6], ['doctor', 37], ['self', 38]]);
  assert.equal(checks.find((c) => c.temperature === 37).attachments.length, 1, 'the photo went with the check');
  await shot(doctor, 'case-mobile-doctor-check');
  assertClean(doctor);
});
