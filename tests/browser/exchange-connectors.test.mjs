// The connectors' pages in Chromium (docs/exchange.md "Connectors"): the
// staff's 公安核验 on the people list (a match verifies the person; the
// police unreachable says so), the resident's 到访地查询 (consent ticked,
// the places listed and on the itinerary card, the second query refused
// until the interval passes), and 推送数字城管 on an incident. Each against a
// fake peer that checks fangkong's signatures and signs its answers.
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { selectors } from 'playwright-core';
import { startServer, launch, consolePage, openPage, adoptSession, assertClean, shot, CITY_CSV, writeTmp, residentId, smsCode, totpSecretFrom } from './lib.mjs';
import { startFakePeer, sm2Pair } from '../api/fake-peer.mjs';

selectors.setTestIdAttribute('data-test');

const PW = 'Passw0rd!connectors';
const COMMUNITY = '110101001001';
const ours = sm2Pair();
let ctx, browser, cc, sec;
const peers = [];

async function configure(kind, routes) {
  const peer = await startFakePeer({ callerKey: ours.publicPem, caller: `fk-${kind}`, routes });
  peers.push(peer);
  const r = await sec.post('/api/v1/exchange/peers', {
    name: `${kind} 页面测试`, kind, base_url: peer.url, caller: `fk-${kind}`, key: ours.privatePem, peer_key: peer.keys.publicPem, timeout_s: 3,
  });
  assert.equal(r.status, 201, r.text);
  peer.id = r.body.id;
  return peer;
}

before(async () => {
  let secret;
  ctx = await startServer({
    setup: (c) => {
      c.must(['import', 'regions', writeTmp(c, 'city.csv', CITY_CSV)]);
      c.must(['user', 'add', '--username', 'bc_cc', '--password', PW, '--role', 'command_center', '--region', '110101000000']);
      secret = totpSecretFrom(c.must(['user', 'add', '--username', 'bc_sec', '--password', PW, '--role', 'security_admin', '--region', '110000000000']));
    },
  });
  cc = ctx.client();
  await cc.login('bc_cc', PW);
  sec = ctx.client();
  await sec.login('bc_sec', PW, secret);
  browser = await launch();
});

after(async () => {
  await browser?.close();
  for (const p of peers) await p.close();
  await ctx?.stop();
});

// A resident signed in by SMS, consented and bound (unverified: no police peer yet).
async function resident(name, idn) {
  const phone = '136' + String(10000000 + Math.floor(Math.random() * 89999999)).slice(-8);
  const c = ctx.client();
  assert.equal((await c.post('/api/v1/auth/sms/send', { phone })).status, 200);
  assert.equal((await c.post('/api/v1/auth/sms/login', { phone, code: smsCode(ctx, phone) })).status, 200);
  assert.equal((await c.post('/api/v1/me/consent', { version: 'v1' })).status, 200);
  const r = await c.post('/api/v1/me/person', { name, id_number: idn, region_code: COMMUNITY, address: '多福巷3号' });
  assert.equal(r.status, 201, r.text);
  c.personId = r.body.person.id;
  return c;
}

test('公安核验 on the people list verifies a matching person; an unreachable service says so', async (t) => {
  const idn = residentId('110101', '19800303', 411);
  const res = await resident('孔明', idn);
  const police = await configure('police', { 'POST /police/v1/identity': ({ body }) => [200, { match: body.id_number === idn && body.name === '孔明' }] });
  // the later tests' residents bind without the police, whatever happens here
  t.after(async () => assert.equal((await sec.patch(`/api/v1/exchange/peers/${police.id}`, { enabled: false })).status, 200));
  const page = await consolePage(browser, ctx, '/people', cc);
  const row = page.locator('tr', { hasText: '孔*' }).first(); // names are masked in lists
  await row.getByTestId('person-verify').waitFor(); // unverified: 核验身份 shows
  await row.getByTestId('person-police').click();
  const dialog = page.getByTestId('police-dialog');
  await dialog.waitFor();
  await dialog.getByTestId('police-submit').click();
  await dialog.getByTestId('police-result').waitFor();
  assert.match(await dialog.getByTestId('police-result').textContent(), /公安核验一致.*已完成身份核验/);
  assert.match(await dialog.getByTestId('police-checks').textContent(), /身份比对.*一致/);
  await shot(page, 'police-check-match');
  assert.equal((await cc.get(`/api/v1/persons/${res.personId}`)).body.verified, true);
  // the list reloaded: 核验身份 is gone for the verified person
  await dialog.getByRole('button', { name: '关闭', exact: true }).click();
  await row.getByTestId('person-verify').waitFor({ state: 'detached' });
  // the service down: the dialog says so in Chinese
  police.mode = 'down';
  await row.getByTestId('person-police').click();
  await dialog.getByTestId('police-submit').click();
  await dialog.getByTestId('police-error').waitFor();
  assert.match(await dialog.getByTestId('police-error').textContent(), /公安核验服务暂时无法连接/);
  await shot(page, 'police-check-unreachable');
  police.mode = 'ok';
  page.problems.splice(0, page.problems.length, ...page.problems.filter((p) => !/server error 503/.test(p) && !/status of 503/.test(p)));
  assertClean(page);
});

test('到访地查询: consent, the places, the itinerary card, the interval', async () => {
  const res = await resident('周瑜', residentId('110101', '19810404', 513));
  const day = (d) => new Date(Date.now() + 8 * 3600e3 - d * 86400e3).toISOString().slice(0, 10);
  const telecom = await configure('telecom', { 'POST /telecom/v1/visited': () => [200, { places: [{ name: '南京市', from: day(4), to: day(3) }] }] });
  const page = await openPage(browser, { mobile: true });
  await adoptSession(page, res);
  await page.goto(ctx.url + '/mobile/#/me/visited');
  await page.getByTestId('visited-consent-text').waitFor();
  assert.match(await page.getByTestId('visited-consent-text').textContent(), /运营商/);
  assert.equal(await page.getByTestId('visited-submit').isDisabled(), true, 'nothing is asked before consent');
  await page.getByTestId('visited-agree').click();
  await page.getByTestId('visited-submit').click();
  await page.getByTestId('visited-result').waitFor();
  assert.match(await page.getByTestId('visited-result').textContent(), /南京市/);
  await page.getByTestId('visited-next').waitFor();
  await shot(page, 'telecom-visited');
  assert.equal(telecom.calls.length, 1);
  assert.ok(telecom.calls[0].verified);
  // the card shows the operator's city
  await page.getByTestId('visited-card').click();
  await page.getByTestId('itin-cities').waitFor();
  assert.match(await page.getByTestId('itin-cities').textContent(), /南京市/);
  // again within the interval: the button waits, showing when; the server refuses anyway
  await page.goto(ctx.url + '/mobile/#/me/visited');
  await page.getByTestId('visited-agree').click();
  await page.getByTestId('visited-next').waitFor();
  assert.equal(await page.getByTestId('visited-submit').isDisabled(), true);
  const again = await res.post('/api/v1/me/telecom', { consent: true, version: '2026-12' });
  assert.equal(again.status, 429, again.text);
  assert.match(again.body.error.message, /到访地查询过于频繁/);
  assert.equal(telecom.calls.length, 1);
  assertClean(page);
});

test('推送数字城管 on an incident: the case number and its state', async () => {
  const res = await resident('鲁肃', residentId('110101', '19820505', 615));
  let r = await cc.post('/api/v1/reports', { source: 'grid_patrol', category: 'contact', person_id: res.personId });
  assert.equal(r.status, 201, r.text);
  const urban = await configure('urban', { 'POST /urban/v1/cases': () => [201, { case_no: 'CG-88', state: 'accepted', state_label: '已受理' }] });
  const page = await consolePage(browser, ctx, '/incidents', cc);
  // the only incident of this server
  await page.getByTestId('incident-table').locator('tbody tr').first().getByTestId('incident-open').click();
  await page.getByTestId('incident-urban').click();
  const dialog = page.getByTestId('incident-urban-dialog');
  await dialog.getByTestId('incident-urban-submit').click();
  await dialog.getByText('请填写推送说明').waitFor(); // the note is required, under its field
  await dialog.getByTestId('incident-urban-note').fill('楼道堆放杂物，请清运');
  await dialog.getByTestId('incident-urban-submit').click();
  await page.getByTestId('incident-urban-case').waitFor();
  assert.match(await page.getByTestId('incident-urban-case').textContent(), /CG-88 · 已受理/);
  assert.match(await page.getByTestId('incident-timeline').textContent(), /推送数字城管/);
  assert.equal(urban.calls.at(-1).body.description, '楼道堆放杂物，请清运');
  await shot(page, 'urban-pushed');
  assertClean(page);
});

test('全国及外部平台疫情: the imported national figures drawn, the platforms listed', async () => {
  const today = new Date(Date.now() + 8 * 3600e3).toISOString().slice(0, 10);
  const yesterday = new Date(Date.now() + 8 * 3600e3 - 86400e3).toISOString().slice(0, 10);
  const row = (day, n) => ({ area: '000000', area_name: '全国', day, confirmed: 100 + n, suspected: 1, cured: 50, deaths: 0, asymptomatic: 2, new_confirmed: n });
  await configure('situation', { 'GET /situation/v1/daily': () => [200, { source: '测试源', items: [row(yesterday, 3), row(today, 7)] }] });
  await configure('platform', {
    'POST /platform/v1/situation': () => [200, {}],
    'GET /platform/v1/situation': () => [200, { platform: '邻市平台', region_name: '邻市', date: today, figures: [{ label: '确诊', value: 42 }], trend: [] }],
  });
  // the security administrator imports (exchange.admin); the command centre reads (stats.read)
  assert.deepEqual((await sec.post('/api/v1/exchange/situation/import')).body, { stored: 2, skipped: 0 });
  assert.deepEqual((await sec.post('/api/v1/exchange/platforms/sync')).body, { synced: 1, failed: 0 });
  const page = await consolePage(browser, ctx, '/stats/situation', cc);
  await page.getByTestId('situation-trend').waitFor();
  assert.equal(await page.getByTestId('situation-import').count(), 0, 'no import button without exchange.admin');
  const bars = page.getByTestId('situation-trend').getByTestId('trend-bar');
  assert.equal(await bars.count(), 2);
  assert.equal(await bars.last().getAttribute('data-value'), '7', 'the latest day\'s new confirmed cases');
  assert.match(await page.getByTestId('situation-table').textContent(), /全国.*107/);
  await page.getByTestId('platform-card').waitFor();
  assert.match(await page.getByTestId('platform-card').textContent(), /邻市平台[\s\S]*确诊[\s\S]*42/);
  await shot(page, 'situation-page');
  assertClean(page);
});
