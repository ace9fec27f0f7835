// Federation in Chromium (docs/exchange.md "Federation"): at the district,
// the security administrator registers a street's caller with a read-only
// region in the caller dialog (listed as 只读：东城区); at a street that
// follows the district's code rules (FK_FED_RULES=1), 数据交换 > 对接系统
// shows the parent and each downward dataset by name — 赋码规则 among them —
// and 立即同步 pulls; the rules editor is read-only under its notice, while
// the district's own editor (not following) can save (the control).
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { selectors } from 'playwright-core';
import { launch, consolePage, assertClean, shot, pickRegion } from './lib.mjs';
import { startCityWith } from '../api/lib.mjs';

selectors.setTestIdAttribute('data-test');

const PW = 'Passw0rd!fedpage';
const PARENT = '东城区防控平台';
let district, street, browser;

async function ok(r, status = 200) {
  assert.equal(r.status, status, r.text);
  return r.body;
}

before(async () => {
  district = await startCityWith({ dsec: ['security_admin', '110000000000'], dcc: ['command_center', '110101000000'] }, PW, { env: { FK_NODE: '41' } });
  const caller = await ok(
    await district.as.dsec.post('/api/v1/exchange/callers', {
      name: '东华门街道防控平台', organisation: '街道办事处', contact_name: '王工', contact_phone: '13800138009',
      regions: ['110101001000'], read: ['zones', 'risk_areas', 'code_rules'], write: ['persons'],
    }),
    201,
  );
  const serverKey = JSON.parse(await (await fetch(district.url + '/exchange/v1/server-key')).text()).public_key_pem;
  street = await startCityWith(
    { ssec: ['security_admin', '110000000000'], scc: ['command_center', '110101001000'] },
    PW,
    { env: { FK_NODE: '42', FK_FED_PARENT: PARENT, FK_FED_PULL: '0', FK_FED_RULES: '1' } },
  );
  await ok(
    await street.as.ssec.post('/api/v1/exchange/peers', {
      name: PARENT, kind: 'fangkong', base_url: district.url, caller: caller.id, key: caller.private_key_pem,
      peer_key: serverKey, timeout_s: 3, region: '110101001000',
    }),
    201,
  );
  browser = await launch();
});

after(async () => {
  await browser?.close();
  await street?.stop();
  await district?.stop();
});

test('the caller dialog grants a read-only region; the list shows it by name', async () => {
  const page = await consolePage(browser, district, '/exchange/callers', district.as.dsec);
  await page.getByTestId('caller-new').click();
  const form = page.getByTestId('caller-form');
  await form.waitFor();
  await page.getByTestId('caller-name').fill('景山街道防控平台');
  await page.getByTestId('caller-org').fill('街道办事处');
  await page.getByTestId('caller-contact').fill('赵工');
  await page.getByTestId('caller-phone').fill('13900139001');
  await pickRegion(page, 'caller-region-0', ['110000000000', '110100000000', '110101000000', '110101002000']);
  await page.getByTestId('caller-read-region-add').click();
  // the first picker's dropdown closes before the second one opens
  await page.locator('.el-popper').filter({ has: page.getByTestId('region-110101002000') }).first().waitFor({ state: 'hidden' });
  // the second tree is the visible one: pickRegion expands through it
  await pickRegion(page, 'caller-read-region-0', ['110000000000', '110100000000', '110101000000']);
  await page.getByTestId('read-zones').click();
  await page.getByTestId('caller-save').click();
  const keyDialog = page.locator('.el-dialog', { hasText: '调用方私钥' });
  await keyDialog.waitFor();
  await page.getByTestId('key-close').click();
  const row = page.getByTestId('caller-table').locator('.el-table__row', { hasText: '景山街道防控平台' }).first();
  await row.getByTestId('caller-read-regions').waitFor();
  assert.equal((await row.getByTestId('caller-read-regions').textContent()).trim(), '只读：东城区');
  await shot(page, 'exchange-caller-read-regions');
  // stored as the API reads it back
  const list = await ok(await district.as.dsec.get('/api/v1/exchange/callers?q=景山'));
  const got = await ok(await district.as.dsec.get(`/api/v1/exchange/callers/${list.items[0].id}`));
  assert.deepEqual(got.read_region_codes, ['110101000000']);
  assert.deepEqual(got.region_codes, ['110101002000']);
  assertClean(page);
});

test("a following street: the federation panel lists the rules cursor by name, 立即同步 pulls; the rules editor is read-only", async () => {
  const page = await consolePage(browser, street, '/exchange/peers', street.as.ssec);
  const panel = page.getByTestId('fed-panel');
  await panel.waitFor();
  assert.equal((await page.getByTestId('fed-parent').textContent()).trim(), PARENT);
  await page.getByTestId('fed-rules-followed').waitFor();
  await page.getByTestId('fed-pull').click();
  await page.locator('.el-message', { hasText: '同步完成' }).waitFor();
  const names = async () => (await page.getByTestId('fed-dataset').allTextContents()).map((t) => t.trim());
  await page.waitForFunction(() => document.querySelectorAll('[data-test="fed-dataset"]').length >= 3);
  assert.deepEqual(new Set(await names()), new Set(['封控区域', '风险地区', '赋码规则']));
  const rulesRow = page.getByTestId('fed-cursors').locator('.el-table__row', { hasText: '赋码规则' });
  assert.match(await rulesRow.textContent(), /上级默认规则/);
  await shot(page, 'exchange-federation-panel');
  assertClean(page);

  // the rules editor at the street: the notice, nothing editable, no save
  const rules = await consolePage(browser, street, '/code-rules', street.as.scc);
  await rules.getByTestId('rules-followed').waitFor();
  await rules.getByTestId('rule-table').waitFor();
  assert.equal(await rules.getByTestId('rule-save').count(), 0);
  assert.equal(await rules.getByTestId('rule-enabled-no_negative_test').locator('input').isDisabled(), true);
  await shot(rules, 'code-rules-followed');
  assertClean(rules);

  // the control: the district's editor (not following) shows no notice and can save
  const own = await consolePage(browser, district, '/code-rules', district.as.dcc);
  await own.getByTestId('rule-save').waitFor();
  assert.equal(await own.getByTestId('rules-followed').count(), 0);
  assertClean(own);
});
