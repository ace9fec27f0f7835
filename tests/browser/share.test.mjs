// 共享互认 in Chromium (docs/exchange.md "Shared recognition"): three
// instances (tests/api/share-lib.mjs); street B's checkpoint types a street A
// resident's code on the mobile scan page and sees 放行 with the 互认 tag and
// A's street, while B's own resident shows no tag (the positive control);
// at the district, the console's peer form shows a street's node list and
// refuses a bad one under its field.
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { selectors } from 'playwright-core';
import { launch, openPage, adoptSession, consolePage, assertClean, shot } from './lib.mjs';
import { startShare, COMM_A, COMM_B } from '../api/share-lib.mjs';

selectors.setTestIdAttribute('data-test');

let fed, browser, jia, yi;

before(async () => {
  fed = await startShare();
  jia = await fed.resident('A', '张三丰', COMM_A);
  yi = await fed.resident('B', '李四光', COMM_B);
  browser = await launch();
});

after(async () => {
  await browser?.close();
  await fed?.stop();
});

async function scanPage() {
  const page = await openPage(browser, { mobile: true });
  await adoptSession(page, fed.st.B.gate);
  await page.goto(fed.st.B.ctx.url + '/mobile/#/staff/scan');
  await page.waitForFunction(() => document.querySelector('[data-test=scan-venue] input')?.value === '隆福寺小区南门');
  return page;
}

async function typeScan(page, token) {
  await page.getByTestId('scan-token').locator('textarea').fill(token);
  await page.getByTestId('scan-submit').click();
  await page.locator('[data-test=pass-screen]').waitFor();
}

test("a street A resident's code typed at street B's gate: 放行, 互认 and A's street", async () => {
  const gate = await scanPage();
  await typeScan(gate, await fed.tokenOf(yi));
  assert.match(await gate.getByTestId('pass-title').innerText(), /放行/);
  assert.equal(await gate.getByTestId('verdict-shared').count(), 0, "positive control: B's own resident has no 互认 tag");

  const gate2 = await scanPage();
  await typeScan(gate2, await fed.tokenOf(jia));
  assert.match(await gate2.getByTestId('pass-title').innerText(), /放行/);
  assert.equal(await gate2.getByTestId('verdict-name').locator('.van-cell__value').innerText(), '张*丰');
  const shared = gate2.getByTestId('verdict-shared');
  assert.match(await shared.innerText(), /互认/);
  assert.match(await shared.innerText(), /外区健康码：东华门街道/);
  assert.equal(await gate2.getByTestId('scan-open-record').count(), 0, 'no record of ours to open');
  await shot(gate2, 'share-staff-scan-remote');
  assertClean(gate);
  assertClean(gate2);
});

test("the district's peer form shows a street's nodes and refuses a bad list under its field", async () => {
  const page = await consolePage(browser, fed.parent, '/exchange/peers', fed.pAdmin);
  const row = page.getByTestId('peer-table').locator('.el-table__row', { hasText: 'A街道' }).first();
  await row.waitFor();
  await row.getByRole('button', { name: '编辑' }).click();
  const form = page.getByTestId('peer-form');
  await form.waitFor();
  const nodes = page.getByTestId('peer-nodes');
  assert.equal(await nodes.inputValue(), '32');
  await nodes.fill('40-32');
  await page.getByTestId('peer-save').click();
  await form.getByText('节点编号应为0到1023的整数或区间').waitFor();
  await nodes.fill('32, 40-47');
  await page.getByTestId('peer-save').click();
  await form.waitFor({ state: 'detached' });
  const peer = (await fed.pAdmin.get(`/api/v1/exchange/peers/${fed.st.A.peerAtParent.id}`)).body;
  assert.equal(peer.nodes, '32,40-47');
  assertClean(page);
});
