// 流调记录 and 传播链 in the console (web/console/views/trace/Investigation*.vue,
// Clusters.vue; docs/tracing.md "Investigations", "Transmission chains"): a
// command centre records an investigation of a confirmed case with a place
// whose text matches a registered venue (the suggestion accepted) and a named
// contact, sees it in the list and the detail's timeline and on the person
// page's 流调记录 tab; then creates a cluster, adds two cases, links them
// (source → case) and sees the graph drawn with two nodes and one arrow.
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { launch, consolePage, assertClean, shot, residentId, sleep, choose, pickRegion, sharedConsolePage } from './lib.mjs';
import { startCityWith, CITY_STAFF } from '../api/lib.mjs';
import { selectors } from 'playwright-core';

selectors.setTestIdAttribute('data-test');

const PW = 'Trace-clusters-2026!';
const COMMUNITY = '110101001001'; // 多福巷社区
let ctx, browser, cc, idA, idB, caseA, caseB, venue;

async function ok(p, status = 200) {
  const r = await p;
  assert.equal(r.status, status, r.text);
  return r.body;
}

before(async () => {
  ctx = await startCityWith(CITY_STAFF, PW);
  cc = ctx.as.cc_dc;
  browser = await launch();
  idA = residentId('110101', '19850202', 51);
  idB = residentId('110101', '19860303', 53);
  caseA = (await ok(cc.post('/api/v1/persons', { name: '韩确诊', id_number: idA, region_code: COMMUNITY, status: 'confirmed' }), 201)).id;
  caseB = (await ok(cc.post('/api/v1/persons', { name: '杨续发', id_number: idB, region_code: COMMUNITY, status: 'confirmed' }), 201)).id;
  const place = await ok(cc.post('/api/v1/places', { name: '多福巷小区', kind: 'community', region_code: COMMUNITY }), 201);
  venue = (await ok(cc.post('/api/v1/venues', { name: '多福巷便利店', kind: 'shop', place_id: place.id }), 201)).id;
});
after(async () => {
  await browser?.close();
  await ctx?.stop();
});

const tid = (page, name) => page.getByTestId(name);
const settle = () => sleep(400);

test('record an investigation of a confirmed case: a place matched to a venue, a named contact', async () => {
  const page = await sharedConsolePage(browser, ctx, '/trace/investigations', cc);
  await tid(page, 'inv-table').waitFor();
  await tid(page, 'inv-add').click();
  const dlg = tid(page, 'inv-dialog');
  await dlg.waitFor();
  await tid(page, 'inv-form-person').click();
  await page.keyboard.type(idA);
  await tid(page, 'inv-form-person-option').first().click();
  await tid(page, 'inv-form-onset').locator('input').fill('2026-11-18');
  await page.keyboard.press('Enter');
  await tid(page, 'inv-form-institution').fill('东城区疾控中心');
  await page.locator('.el-checkbox', { hasText: '发热' }).click();
  // a place: its text matches the registered venue, offered as a suggestion
  await tid(page, 'inv-form-place-add').click();
  await tid(page, 'inv-form-place-text').fill('多福巷 便利店');
  await tid(page, 'inv-form-place-text').press('Tab');
  const suggestion = tid(page, 'inv-form-place-suggestion');
  await suggestion.first().waitFor();
  assert.match(await suggestion.first().innerText(), /多福巷便利店/);
  await suggestion.first().click();
  await tid(page, 'inv-form-place-venue').waitFor();
  await tid(page, 'inv-form-place-from').locator('input').fill('2026-11-17 10:00:00');
  await page.keyboard.press('Enter');
  // a contact the case names
  await tid(page, 'inv-form-contact-add').click();
  await tid(page, 'inv-form-contact-name').fill('周同事');
  await tid(page, 'inv-form-contact-phone').fill('13912340000');
  await settle();
  await shot(page, 'trace-investigation-form');
  await tid(page, 'inv-form-submit').click();
  await dlg.waitFor({ state: 'hidden' });

  // the list: masked name, onset, one place, one contact
  await tid(page, 'inv-name').first().waitFor();
  assert.equal(await tid(page, 'inv-name').first().innerText(), '韩*诊');
  assert.equal(await tid(page, 'inv-onset').first().innerText(), '2026-11-18');
  assert.equal(await tid(page, 'inv-places').first().innerText(), '1');
  assert.equal(await tid(page, 'inv-contacts').first().innerText(), '1');
  // the detail: the place with its venue in the timeline
  await tid(page, 'inv-detail').first().click();
  await tid(page, 'inv-timeline-venue').waitFor();
  assert.match(await tid(page, 'inv-timeline-item').first().innerText(), /多福巷 便利店[\s\S]*登记场所：多福巷便利店/);
  assert.match(await tid(page, 'inv-contact-table').innerText(), /周\*事/);
  await settle();
  await shot(page, 'trace-investigation-detail');
  // stored: the venue accepted
  const list = await ok(cc.get(`/api/v1/persons/${caseA}/investigations`));
  const rec = await ok(cc.get(`/api/v1/investigations/${list.items[0].id}`));
  assert.equal(rec.places[0].venue_id, venue);
  assert.deepEqual(rec.symptoms, ['fever']);

  // the person page's 流调记录 tab lists it
  await page.goto(`${ctx.url}/console/#/people/${caseA}`);
  await page.getByRole('tab', { name: '流调记录' }).click();
  await tid(page, 'person-investigations').waitFor();
  await tid(page, 'inv-onset').first().waitFor();
  assert.equal(await tid(page, 'inv-onset').first().innerText(), '2026-11-18');
  assertClean(page);
});

test('create a cluster with two linked cases and see the graph', async () => {
  const page = await sharedConsolePage(browser, ctx, '/trace/clusters', cc);
  await tid(page, 'cluster-table').waitFor();
  await tid(page, 'cluster-add').click();
  const dlg = tid(page, 'cluster-dialog');
  await dlg.waitFor();
  await settle(); // the dialog's opening animation
  await tid(page, 'cluster-form-name').fill('多福巷便利店聚集性疫情');
  await pickRegion(page, 'cluster-form-region', ['110101000000', '110101001000', '110101001001']);
  await tid(page, 'cluster-form-first').locator('input').fill('2026-11-17');
  await page.keyboard.press('Enter');
  await tid(page, 'cluster-form-submit').click();
  await dlg.waitFor({ state: 'hidden' });
  await tid(page, 'cluster-panel').waitFor();

  // two members, found by id number
  for (const [idn, name] of [[idA, '韩*诊'], [idB, '杨*发']]) {
    await tid(page, 'cluster-member-add').click();
    await tid(page, 'cluster-member-dialog').waitFor();
    await tid(page, 'cluster-member-person').click();
    await page.keyboard.type(idn);
    await tid(page, 'cluster-member-option').filter({ visible: true, hasText: name }).first().click();
    await sleep(400); // the dropdown's closing transition
    await tid(page, 'cluster-member-submit').click();
    await tid(page, 'cluster-member-dialog').waitFor({ state: 'hidden' });
    await sleep(300);
  }
  await page.waitForFunction(() => document.querySelector('[data-test="cluster-graph"]')?.dataset.nodes === '2');
  assert.equal(await tid(page, 'cluster-members').first().innerText(), '2');

  // the link: 韩确诊 is the source of 杨续发
  await tid(page, 'cluster-link-add').click();
  await tid(page, 'cluster-link-dialog').waitFor();
  await choose(page, 'cluster-link-source', '韩*诊（确诊）');
  await sleep(300);
  await choose(page, 'cluster-link-person', '杨*发（确诊）');
  await tid(page, 'cluster-link-submit').click();
  await tid(page, 'cluster-link-dialog').waitFor({ state: 'hidden' });
  await page.waitForFunction(() => document.querySelector('[data-test="cluster-graph"]')?.dataset.links === '1');
  // the graph is drawn (a canvas with content) and the tables say who infected whom
  const graph = tid(page, 'cluster-graph');
  assert.equal(await graph.locator('canvas').count(), 1);
  assert.match(await tid(page, 'cluster-link-table').innerText(), /韩\*诊[\s\S]*杨\*发[\s\S]*明确/);
  assert.match(await tid(page, 'cluster-member-table').innerText(), /杨\*发[\s\S]*韩\*诊（明确）/);
  await settle();
  await shot(page, 'trace-cluster-graph');
  // the server agrees
  const clusters = await ok(cc.get(`/api/v1/clusters?person_id=${caseB}`));
  assert.equal(clusters.items.length, 1);
  const g = await ok(cc.get(`/api/v1/clusters/${clusters.items[0].id}/graph`));
  assert.deepEqual(g.links.map((l) => [l.source, l.target]), [[caseA, caseB]]);
  assertClean(page);
});
