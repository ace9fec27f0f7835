// 数据交换 > 对接系统 in Chromium (docs/exchange.md "Peers and the outbox"):
// the security administrator registers a government-affairs peer in the
// dialog (a bad URL refused under its field; the five datasets of the
// government connector ticked by default), tests the connection against a
// fake peer that verifies our signature (success), then the peer goes down:
// 测试连接 says why, the list shows the peer 异常 with its last failure and
// reason and the outbox's backlog, and the failure past its threshold shows
// on the alerts page.
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { selectors } from 'playwright-core';
import { launch, consolePage, assertClean, shot, visit } from './lib.mjs';
import { startCityWith, residentId } from '../api/lib.mjs';
import { startFakePeer, sm2Pair } from '../api/fake-peer.mjs';

selectors.setTestIdAttribute('data-test');

const PW = 'Passw0rd!peerspage';
let ctx, browser, sec, cc, gov, ours;

before(async () => {
  ctx = await startCityWith(
    { psec: ['security_admin', '110000000000'], pcc: ['command_center', '110101000000'] },
    PW,
    { env: { FK_OUTBOX_EVERY: '1', FK_OUTBOX_BACKOFF_MAX_S: '1' } },
  );
  sec = ctx.as.psec;
  cc = ctx.as.pcc;
  ours = sm2Pair();
  gov = await startFakePeer({
    caller: 'fk-page',
    callerKey: ours.publicPem,
    routes: {
      'GET /exchange/v1/ping': () => [200, { pong: true }],
      'POST /exchange/v1/persons': (rq) => [200, { results: rq.body.records.map((r, index) => ({ index, ok: true, id: r.id })) }],
    },
  });
  browser = await launch();
});

after(async () => {
  await browser?.close();
  await gov?.close();
  await ctx?.stop();
});

test('register a government peer, test the connection, then a failing peer is listed with its reason and raises an alert', async () => {
  const page = await consolePage(browser, ctx, '/exchange/peers', sec);
  await page.getByTestId('peer-new').click();
  const form = page.getByTestId('peer-form');
  await form.waitFor();
  await page.getByTestId('peer-name').fill('市政务服务平台');
  await page.getByTestId('peer-url').fill('ftp://gov.example');
  await page.getByTestId('peer-caller').fill('fk-page');
  await page.getByTestId('peer-key').fill(ours.privatePem);
  await page.getByTestId('peer-peer-key').fill(gov.keys.publicPem);
  // the kind from the server's vocabulary, government affairs first
  assert.match(await page.getByTestId('peer-kind').innerText(), /政务服务平台/);
  // the government connector's datasets are ticked for a gov peer
  for (const label of ['人员信息', '返程信息', '接触信息', '行程信息', '隔离信息'])
    assert.ok(await page.getByTestId('peer-datasets').getByRole('checkbox', { name: label }).isChecked(), label);
  await page.getByTestId('peer-save').click();
  await form.getByText('接口地址应为 http:// 或 https:// 开头的地址').waitFor();
  await page.getByTestId('peer-url').fill(gov.url);
  await page.getByTestId('peer-save').click();
  await form.waitFor({ state: 'detached' });

  const row = () => page.getByTestId('peer-table').locator('.el-table__row', { hasText: '市政务服务平台' }).first();
  await row().waitFor();
  assert.match(await row().innerText(), /政务服务平台/);
  assert.match(await row().innerText(), /人员信息、返程信息、接触信息、行程信息、隔离信息/);
  await row().getByTestId('peer-test').click();
  await page.getByText(/连接正常，应答签名已验证/).waitFor();
  assert.equal(gov.calls.at(-1).verified, true, 'the peer verified the signature made with the uploaded key');

  // the threshold low for the test, through the API as an operator would in the form
  const peer = (await sec.get('/api/v1/exchange/peers')).body.items.find((p) => p.name === '市政务服务平台');
  assert.equal((await sec.patch(`/api/v1/exchange/peers/${peer.id}`, { fail_after_s: 1 })).status, 200);

  gov.mode = 'down';
  await row().getByTestId('peer-test').click();
  const box = page.locator('.el-message-box', { hasText: '连接失败' });
  await box.waitFor();
  assert.match(await box.innerText(), /无法连接|无应答/);
  await box.getByRole('button').last().click();
  // a change for the outbox to send, while the peer is down
  const r = await cc.post('/api/v1/persons', { name: '推送人', id_number: residentId('110101', '19850505', 41), region_code: '110101001001' });
  assert.equal(r.status, 201, r.text);
  for (let i = 0; i < 50; i++) {
    await page.getByRole('button', { name: '刷新' }).click();
    if ((await row().innerText()).includes('异常') && /\b1\b/.test(await row().locator('td').nth(9).innerText())) break;
    await page.waitForTimeout(300);
  }
  await row().getByTestId('peer-failing').waitFor();
  assert.match(await row().getByTestId('peer-last-error').innerText(), /无法连接|无应答/);
  assert.equal((await row().locator('td').nth(9).innerText()).trim(), '1', 'the backlog of the one change not sent');
  await shot(page, 'exchange-peers-failing');

  // the failure past its threshold is an alert (raised by the outbox's next round, every
  // second here): first through the API, so a failure says what the server held, then
  // on the alerts page
  const raised = async () =>
    (await sec.get('/api/v1/alerts?page_size=200')).body.items?.some((x) => /对接系统“市政务服务平台”已连续失败/.test(x.message));
  for (let i = 0; i < 100 && !(await raised()); i++) await page.waitForTimeout(300);
  if (!(await raised())) {
    const peers = (await sec.get('/api/v1/exchange/peers')).body.items.filter((p) => p.name === '市政务服务平台');
    const list = (await sec.get('/api/v1/alerts?page_size=200')).body;
    assert.fail(`no failing-peer alert after 30 s; the peer: ${JSON.stringify(peers)}; alerts: ${JSON.stringify(list).slice(0, 2000)}`);
  }
  // the same page through the router (a page load costs seconds of CPU)
  await visit(page, '/alerts');
  const alerts = page;
  await alerts.getByText(/对接系统“市政务服务平台”已连续失败/).first().waitFor({ timeout: 20000 });
  await shot(alerts, 'exchange-peer-alert');
  assertClean(page);
  assertClean(alerts);
  gov.mode = 'ok';
});
