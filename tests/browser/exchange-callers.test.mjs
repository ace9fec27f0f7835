// 数据交换 > 调用方 in Chromium (docs/exchange.md): the security
// administrator registers a caller in the dialog (a bad phone refused under
// its field), sees its private key once and downloads it as
// 调用方-<名称>.pem; the file parses as a PEM private key and a ping signed
// with it passes (and with another key it does not: the control). Then a
// rotation shows the new key, the old one stays valid in its overlap and
// is revoked from the keys dialog; suspend and resume from the list.
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import crypto from 'node:crypto';
import fs from 'node:fs';
import path from 'node:path';
import { selectors } from 'playwright-core';
import { launch, consolePage, assertClean, shot, pickRegion } from './lib.mjs';
import { startCityWith } from '../api/lib.mjs';
import { ExchangeClient } from '../../clients/exchange-client.mjs';

selectors.setTestIdAttribute('data-test');

const PW = 'Passw0rd!exchangepage';
let ctx, browser, sec;

before(async () => {
  ctx = await startCityWith({ xsec: ['security_admin', '110000000000'] }, PW);
  sec = ctx.as.xsec;
  browser = await launch();
});

after(async () => {
  await browser?.close();
  await ctx?.stop();
});

async function downloadKey(page, name) {
  const dialog = page.locator('.el-dialog', { hasText: '调用方私钥' });
  await dialog.waitFor();
  assert.match(await dialog.textContent(), /仅显示这一次/);
  const [download] = await Promise.all([page.waitForEvent('download'), page.getByTestId('key-download').click()]);
  assert.equal(download.suggestedFilename(), `调用方-${name}.pem`);
  const file = path.join(ctx.dir, `dl-${crypto.randomUUID()}.pem`);
  await download.saveAs(file);
  const pem = fs.readFileSync(file, 'utf8');
  // a PEM private key of the SM2 curve
  const key = crypto.createPrivateKey(pem);
  assert.equal(key.type, 'private');
  assert.match(pem, /^-----BEGIN PRIVATE KEY-----/);
  const id = /调用方编号 (\d+)/.exec(await dialog.textContent())[1];
  await page.getByTestId('key-close').click();
  return { pem, id };
}

test('register a caller, download its key once, and a signed ping with it passes', async () => {
  const page = await consolePage(browser, ctx, '/exchange/callers', sec);
  await page.getByTestId('caller-new').click();
  const form = page.getByTestId('caller-form');
  await form.waitFor();
  await page.getByTestId('caller-name').fill('页面登记系统');
  await page.getByTestId('caller-org').fill('区大数据中心');
  await page.getByTestId('caller-contact').fill('李工');
  await page.getByTestId('caller-phone').fill('电话号码不知道');
  await pickRegion(page, 'caller-region-0', ['110000000000', '110100000000', '110101000000', '110101001000']);
  await page.getByTestId('write-nat').click();
  await page.getByTestId('read-persons').click();
  await page.getByTestId('caller-save').click();
  await form.getByText('联系电话格式不正确').waitFor();
  await page.getByTestId('caller-phone').fill('13900139000');
  await page.getByTestId('caller-save').click();
  await shot(page, 'exchange-caller-key');
  const { pem, id } = await downloadKey(page, '页面登记系统');

  const row = page.getByTestId('caller-table').locator('.el-table__row', { hasText: '页面登记系统' }).first();
  await row.waitFor();
  const text = await row.textContent();
  assert.match(text, /东华门街道/);
  assert.match(text, /核酸数据接入/);
  assert.match(text, /139\*\*\*\*9000/);
  assert.ok(!text.includes('110101001000'), 'names, never codes');

  const client = new ExchangeClient({ base: ctx.url, caller: id, privateKeyPem: pem });
  let r = await client.get('/exchange/v1/ping');
  assert.equal(r.status, 200, r.text);
  assert.ok(r.verified);
  assert.equal(r.body.caller, '页面登记系统');
  const { privateKey } = crypto.generateKeyPairSync('ec', { namedCurve: 'SM2' });
  const other = new ExchangeClient({ base: ctx.url, caller: id, privateKeyPem: privateKey.export({ type: 'pkcs8', format: 'pem' }) });
  r = await other.get('/exchange/v1/ping');
  assert.equal(r.status, 401, 'another key: the control');

  // rotate from the keys dialog: the new key shown once; the old one in its overlap, then revoked
  await row.getByTestId('caller-keys').click();
  const keys = page.locator('.el-dialog', { hasText: '密钥 — 页面登记系统' });
  await keys.getByTestId('key-table').locator('.el-table__row').first().waitFor();
  await page.getByTestId('key-rotate').click();
  const rotated = await downloadKey(page, '页面登记系统');
  const newClient = new ExchangeClient({ base: ctx.url, caller: id, privateKeyPem: rotated.pem });
  assert.equal((await newClient.get('/exchange/v1/ping')).status, 200);
  assert.equal((await client.get('/exchange/v1/ping')).status, 200, 'the old key in its overlap');
  await row.getByTestId('caller-keys').click();
  const overlapRow = keys.getByTestId('key-table').locator('.el-table__row', { hasText: '过渡期' });
  await overlapRow.waitFor();
  await overlapRow.getByTestId('key-revoke').click();
  await page.getByRole('button', { name: '确定' }).filter({ visible: true }).click();
  await keys.getByTestId('key-table').locator('.el-table__row', { hasText: '已吊销' }).waitFor();
  assert.equal((await client.get('/exchange/v1/ping')).status, 401, 'revoked at once');
  await keys.locator('.el-dialog__headerbtn').click();

  // suspend and resume from the list
  await row.getByTestId('caller-suspend').click();
  await page.getByRole('button', { name: '确定' }).filter({ visible: true }).click();
  await row.getByTestId('caller-state-tag').filter({ hasText: '已暂停' }).waitFor();
  assert.equal((await newClient.get('/exchange/v1/ping')).body.error.code, 'caller_suspended');
  await row.getByTestId('caller-resume').click();
  await row.getByTestId('caller-state-tag').filter({ hasText: '正常' }).waitFor();
  assert.equal((await newClient.get('/exchange/v1/ping')).status, 200);
  await shot(page, 'exchange-callers');
  assertClean(page);
});
