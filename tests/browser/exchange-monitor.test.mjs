// 数据交换 > 交换监控 in Chromium (docs/exchange.md "Monitoring"): the command
// centre opens the page from the menu; while a test caller makes signed
// calls (a forged one among them) the page's figures and the caller's row
// move on their own (the page polls; the server flushes every second),
// showing the caller by name, and the chart is drawn.
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import fs from 'node:fs';
import path from 'node:path';
import { selectors } from 'playwright-core';
import { startServer, launch, consolePage, assertClean, shot, CITY_CSV, writeTmp, sleep } from './lib.mjs';
import { ExchangeClient, H } from '../../clients/exchange-client.mjs';

selectors.setTestIdAttribute('data-test');

const PW = 'Passw0rd!xmonpage';
let ctx, browser, cc, client;

before(async () => {
  let id, keyFile;
  ctx = await startServer({
    env: { FK_EXCHANGE_FLUSH: '1', FK_EXCHANGE_ANOMALY_EVERY: '0' },
    setup: (c) => {
      c.must(['import', 'regions', writeTmp(c, 'city.csv', CITY_CSV)]);
      c.must(['user', 'add', '--username', 'xm_cc', '--password', PW, '--role', 'command_center', '--region', '110101000000']);
      keyFile = path.join(c.dir, 'caller.pem');
      id = c.must(['exchange', 'caller', 'add', '--name', '页面测试系统', '--org', '测试单位', '--region', '110101001000', '--read', '', '--write', 'nat', '--key-out', keyFile]).trim();
    },
  });
  client = new ExchangeClient({ base: ctx.url, caller: id, privateKeyPem: fs.readFileSync(keyFile, 'utf8') });
  cc = ctx.client();
  await cc.login('xm_cc', PW);
  browser = await launch();
});

after(async () => {
  await browser?.close();
  await ctx?.stop();
});

test('the page follows a caller live: calls, rejected signatures, its row by name', async () => {
  const page = await consolePage(browser, ctx, '/home', cc);
  // from the menu: 数据交换 > 交换监控
  const menu = page.getByRole('menubar');
  await menu.getByText('数据交换', { exact: true }).click();
  await menu.getByText('交换监控', { exact: true }).click();
  await page.getByTestId('xm-updated').filter({ hasText: '更新于' }).waitFor();
  const calls = page.getByTestId('xm-calls');
  assert.match(await calls.textContent(), /调用次数\s*0/); // nothing yet (the control)
  // the caller runs while the page is open
  let done = false;
  const runner = (async () => {
    for (let i = 0; i < 12 && !done; i++) {
      const r = await client.get('/exchange/v1/ping');
      assert.equal(r.status, 200, r.text);
      await sleep(150);
    }
    const forged = client.headers({ method: 'GET', path: '/exchange/v1/elsewhere' })[H.signature];
    assert.equal((await client.get('/exchange/v1/ping', { headers: { [H.signature]: forged } })).status, 401);
  })();
  await runner;
  done = true;
  // no reload: the poll brings the flushed figures
  const row = page.getByTestId('xm-callers').locator('tr', { hasText: '页面测试系统' });
  await row.waitFor({ timeout: 15000 });
  await page.waitForFunction(() => /调用次数\s*13/.test(document.querySelector('[data-test="xm-calls"]')?.textContent || ''), null, { timeout: 15000 });
  assert.match(await page.getByTestId('xm-rejected').textContent(), /1/);
  assert.equal(await row.getByTestId('xm-caller-calls').textContent(), '13');
  assert.ok(await page.getByTestId('xm-chart').locator('canvas').count() > 0, 'the chart is drawn');
  await shot(page, 'exchange-monitor');
  assertClean(page);
});
