// 物资调度 in Chromium (docs/supplies.md): a community's staff files a request
// in the dialog; the district's command centre opens it, dispatches it from a
// warehouse (a short warehouse's refusal shown in the dialog first), ships
// it and marks it arrived; the community signs for it with a shortfall; the
// chain in the drawer shows every step, and the warehouse's stock fell.
// Medical resources (docs/supplies.md "Medical resources"): the command
// centre reports a hospital's beds on 医疗资源 (a bad figure refused under its
// field first), the one-map's medical layer counts the institutions per
// free-bed level, and the 纳入隔离观察 dialog proposes the hospitals with a
// free bed, a click filling in the name. On the phone, hospital staff see
// their institutions with today's state and report one (a bad figure
// refused under its field first).
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { selectors } from 'playwright-core';
import { startServer, launch, consolePage, openPage, adoptSession, assertClean, shot, CITY_CSV, writeTmp, visit } from './lib.mjs';

selectors.setTestIdAttribute('data-test');

const PW = 'Passw0rd!supplypage';
let ctx, browser, cc, cs;
let main, small; // warehouses: 1000 masks, 10 masks
let hospital, clinic; // medical institutions (places)

const ok = async (p, status = 200) => {
  const r = await p;
  assert.equal(r.status, status, r.text);
  return r.body;
};

before(async () => {
  ctx = await startServer({
    setup: (c) => {
      c.must(['import', 'regions', writeTmp(c, 'city.csv', CITY_CSV)]);
      c.must(['user', 'add', '--username', 'sp_cc', '--password', PW, '--role', 'command_center', '--region', '110101000000']);
      c.must(['user', 'add', '--username', 'sp_cs', '--password', PW, '--role', 'community_staff', '--region', '110101001001']);
      c.must(['user', 'add', '--username', 'sp_hs', '--password', PW, '--role', 'hospital_staff', '--region', '110101002000']);
    },
  });
  cc = ctx.client();
  await cc.login('sp_cc', PW);
  cs = ctx.client();
  await cs.login('sp_cs', PW);
  main = (await ok(cc.post('/api/v1/supply/warehouses', { region_code: '110101000000', name: '东城区应急物资储备库' }), 201)).id;
  small = (await ok(cc.post('/api/v1/supply/warehouses', { region_code: '110101001000', name: '东华门街道物资仓' }), 201)).id;
  await ok(cc.post('/api/v1/supply/reports', { kind: 'stock', warehouse_id: main, product_id: '1', quantity: 1000, threshold: 100 }), 201);
  await ok(cc.post('/api/v1/supply/reports', { kind: 'stock', warehouse_id: small, product_id: '1', quantity: 10 }), 201);
  // two institutions with positions (the map places them), one reported
  const place = async (name, kind, region, lng, lat) => (await ok(cc.post('/api/v1/places', { name, kind, region_code: region, lng, lat }), 201)).id;
  hospital = await place('东城定点医院', 'designated_hospital', '110101001000', 116.41, 39.91);
  clinic = await place('景山发热门诊', 'fever_clinic', '110101002000', 116.39, 39.92);
  await ok(cc.post('/api/v1/medical/institutions', { place_id: hospital, kind: 'designated_hospital' }), 201);
  await ok(cc.post('/api/v1/medical/institutions', { place_id: clinic, kind: 'fever_clinic' }), 201);
  await ok(cc.post(`/api/v1/medical/institutions/${clinic}/reports`, { beds_total: 20, beds_occupied: 20, icu_total: 0, icu_free: 0, testing_per_day: 800 }), 201);
  browser = await launch();
});

after(async () => {
  await browser?.close();
  await ctx?.stop();
});

// an option of the select under testId whose label starts with `label`
async function pick(page, testId, label) {
  await page.getByTestId(testId).click();
  await page.getByRole('option', { name: label }).filter({ visible: true }).first().click();
}

test('a community files a request, the district dispatches it, the community signs for it; the chain shows every step', async () => {
  // ---- the community files the request ----
  const community = await consolePage(browser, ctx, '/supply', cs);
  await community.getByTestId('supply-new-request').click();
  const dlg = community.getByTestId('request-dialog');
  await dlg.waitFor();
  await pick(community, 'request-product-0', '医用外科口罩');
  await dlg.getByTestId('request-quantity-0').locator('input').fill('200');
  // without a needed-by time the server refuses, shown under the field
  await dlg.getByTestId('request-save').click();
  await dlg.getByText('需求时间').first().waitFor();
  const input = dlg.locator('.el-date-editor input');
  await input.fill('2030-01-02 18:00');
  await input.press('Enter');
  await dlg.getByTestId('request-save').click();
  await dlg.waitFor({ state: 'hidden' });
  const drawer = community.getByTestId('request-drawer');
  await drawer.getByTestId('drawer-state').getByText('待调度').waitFor();
  assert.equal((await community.getByTestId('request-dispatch').count()), 0, 'a community does not dispatch');
  const [req] = (await ok(cs.get('/api/v1/supply/requests'))).items;
  assert.equal(req.quantity, 200);
  assert.equal(req.region_name, '多福巷社区');
  await shot(community, 'supply-request-filed');

  // ---- the district dispatches ----
  const district = await consolePage(browser, ctx, '/supply', cc);
  const row = district.getByTestId('supply-requests').locator('tr', { hasText: '多福巷社区' });
  await row.getByTestId('request-state').getByText('待调度').waitFor();
  await row.getByTestId('request-open').click();
  const dd = district.getByTestId('request-drawer');
  await dd.getByTestId('request-dispatch').click();
  const disp = district.getByTestId('dispatch-dialog');
  await disp.waitFor();
  // the street's warehouse holds 10: refused, nothing dispatched
  await pick(district, 'dispatch-source-0', '东华门街道物资仓');
  await disp.getByTestId('dispatch-save').click();
  await disp.getByTestId('dispatch-error').getByText('库存不足').waitFor();
  assert.equal((await ok(cc.get(`/api/v1/supply/requests/${req.id}`))).state, 'open');
  await pick(district, 'dispatch-source-0', '东城区应急物资储备库');
  await disp.getByTestId('dispatch-carrier').fill('顺丰速运');
  await disp.getByTestId('dispatch-save').click();
  await disp.waitFor({ state: 'hidden' });
  await dd.getByTestId('drawer-state').getByText('已调度').waitFor();
  const delivery = dd.getByTestId('delivery');
  await delivery.getByTestId('delivery-state').getByText('待发货').waitFor();
  await delivery.getByTestId('delivery-ship').click();
  await delivery.getByTestId('delivery-state').getByText('运输中').waitFor();
  await delivery.getByTestId('delivery-arrive').click();
  await delivery.getByTestId('delivery-state').getByText('已送达').waitFor();
  await shot(district, 'supply-dispatched');
  assertClean(district);

  // ---- the community signs for it: 195 of 200 ----
  await community.reload();
  await community.getByTestId('supply-requests').locator('tr', { hasText: '多福巷社区' }).getByTestId('request-open').click();
  const cd = community.getByTestId('request-drawer');
  await cd.getByTestId('delivery-receipt').click();
  const rec = community.getByTestId('receipt-dialog');
  await rec.getByTestId('receipt-received').locator('input').fill('195');
  await rec.getByTestId('receipt-save').click();
  await rec.waitFor({ state: 'hidden' });
  await cd.getByTestId('drawer-state').getByText('已签收').waitFor();
  await cd.getByTestId('delivery').getByText('短缺 5 件').waitFor();
  const steps = await cd.getByTestId('chain-step').allTextContents();
  assert.deepEqual(steps, ['提交需求', '仓库调拨', '发货', '送达', '签收']);
  await shot(community, 'supply-chain');
  assertClean(community);

  // the stock fell by what was dispatched; the balance tab says so
  const w = (await ok(cc.get('/api/v1/supply/warehouses'))).items.find((x) => x.id === main);
  assert.equal(w.stock[0].quantity, 800);
  await district.keyboard.press('Escape');
  await dd.waitFor({ state: 'hidden' });
  await district.getByRole('tab', { name: '供需平衡' }).click();
  await district.getByTestId('supply-balance').locator('tr', { hasText: '防护用品' }).getByText('810').waitFor();
});

test('medical resources: a report on the page, the map layer by free-bed level, the transfer dialog proposes', async () => {
  // ---- the report: a bad figure refused under its field, then saved ----
  const page = await consolePage(browser, ctx, '/medical', cc);
  const table = page.getByTestId('medical-institutions');
  await table.locator('tr', { hasText: '景山发热门诊' }).getByTestId('medical-level').getByText('床位已满').waitFor();
  const row = table.locator('tr', { hasText: '东城定点医院' });
  assert.match(await row.getByTestId('medical-level').innerText(), /未填报/);
  await row.getByTestId('medical-report').click();
  const dlg = page.getByTestId('medical-report-dialog');
  await dlg.getByTestId('medical-beds-total').locator('input').fill('100');
  await dlg.getByTestId('medical-beds-occupied').locator('input').fill('120');
  await dlg.getByTestId('medical-icu-total').locator('input').fill('10');
  await dlg.getByTestId('medical-icu-free').locator('input').fill('3');
  await dlg.getByTestId('medical-testing').locator('input').fill('2000');
  await dlg.getByTestId('medical-report-save').click();
  await dlg.getByText('在用床位不能多于总床位').waitFor();
  assert.equal((await ok(cc.get(`/api/v1/medical/institutions/${hospital}/reports`))).items.length, 0);
  await dlg.getByTestId('medical-beds-occupied').locator('input').fill('55');
  await dlg.getByTestId('medical-report-save').click();
  await dlg.waitFor({ state: 'hidden' });
  await row.getByTestId('medical-beds').getByText('45 / 100').waitFor();
  assert.match(await row.getByTestId('medical-level').innerText(), /床位充足 45%/);
  await row.getByTestId('medical-history').click();
  await page.getByTestId('medical-history-drawer').getByText('sp_cc').waitFor();
  await shot(page, 'medical-institutions');
  assertClean(page);

  // ---- the one-map: the medical layer counted per level ----
  // (the same page through the router: a page load costs seconds of CPU)
  await visit(page, '/screen');
  const screen = page;
  await screen.locator('[data-test=layer-medical]').click();
  await screen.getByTestId('medical-level-ample').getByText('床位充足 1').waitFor();
  await screen.getByTestId('medical-level-full').getByText('床位已满 1').waitFor();
  assert.match(await screen.getByTestId('medical-level-tight').innerText(), /床位紧张 0/);
  assertClean(screen);

  // ---- the transfer: the dialog proposes the hospital with a free bed ----
  await visit(page, '/observations');
  const obs = page;
  await obs.getByTestId('obs-add').click();
  const od = obs.getByTestId('observe-dialog');
  await od.waitFor();
  await obs.getByTestId('observe-kind').click();
  await obs.getByRole('option', { name: '定点医院' }).filter({ visible: true }).first().click();
  const proposals = od.getByTestId('observe-proposal');
  await proposals.first().waitFor();
  assert.deepEqual(await proposals.allInnerTexts(), ['东城定点医院（空床 45）']); // the full clinic is not proposed
  await proposals.first().click();
  assert.equal(await od.getByTestId('observe-hospital').inputValue(), '东城定点医院');
  assertClean(obs);
});

test("hospital staff on the phone: today's state per institution, a bad figure under its field, then reported", async () => {
  // 景山街道 has the reported clinic and a fangcang hospital not reported today
  const fc = (await ok(cc.post('/api/v1/places', { name: '景山方舱医院', kind: 'hospital', region_code: '110101002000', lng: 116.39, lat: 39.93 }), 201)).id;
  await ok(cc.post('/api/v1/medical/institutions', { place_id: fc, kind: 'fangcang' }), 201);
  const hs = ctx.client();
  await hs.login('sp_hs', PW);
  const page = await openPage(browser, { mobile: true });
  await adoptSession(page, hs);
  await page.goto(`${ctx.url}/mobile/#/staff`);
  await page.getByTestId('todo-medical_unreported').getByTestId('todo-count').getByText('1').waitFor();
  await page.getByTestId('entry-medical-report').click();
  const clinicCard = page.getByTestId(`md-inst-${clinic}`);
  await clinicCard.getByTestId('md-today').getByText('今日已填报').waitFor();
  assert.match(await clinicCard.getByTestId('md-level').innerText(), /床位已满/);
  const card = page.getByTestId(`md-inst-${fc}`);
  assert.equal(await card.getByTestId('md-today').innerText(), '今日未填报');
  await card.getByTestId('md-inst').click();
  const form = page.getByTestId('md-form');
  await form.getByTestId('md-beds-total').locator('input').fill('200');
  await form.getByTestId('md-beds-occupied').locator('input').fill('250');
  await form.getByTestId('md-icu-total').locator('input').fill('0');
  await form.getByTestId('md-icu-free').locator('input').fill('0');
  await form.getByTestId('md-testing-input').locator('input').fill('5000');
  await page.getByTestId('md-save').click();
  await form.getByTestId('md-beds-occupied').getByText('在用床位不能多于总床位').waitFor();
  assert.equal((await ok(hs.get(`/api/v1/medical/institutions/${fc}/reports`))).items.length, 0);
  await form.getByTestId('md-beds-occupied').locator('input').fill('150');
  await page.getByTestId('md-save').click();
  await card.getByTestId('md-today').getByText('今日已填报').waitFor();
  assert.equal(await card.getByTestId('md-beds').locator('.van-cell__value').innerText(), '150 / 200');
  assert.match(await card.getByTestId('md-level').innerText(), /床位紧张/);
  await shot(page, 'medical-phone');
  assertClean(page);
});
