// 卫健数据 in the console (docs/commission.md): investigations received by
// batch are listed masked, an unlinked one marked 未关联; 显示完整信息 shows
// the names and the sealed texts; the person's page has a 流调信息 tab with
// their investigation; the doctors tab lists the doctors.
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { launch, assertClean, shot, consolePage, sharedConsolePage } from './lib.mjs';
import { startCityWith, residentId } from '../api/lib.mjs';

const PW = 'Commission-ui-2026!';
const S1 = '110101001000';
let ctx, browser, cc, person;
const idA = residentId('110101', '19800101', 13);

before(async () => {
  ctx = await startCityWith({ cc_dc: ['command_center', '110101000000'] }, PW);
  ({ cc_dc: cc } = ctx.as);
  let r = await cc.post('/api/v1/persons', { name: '张伟明', id_number: idA, region_code: '110101001001' });
  assert.equal(r.status, 201, r.text);
  person = r.body.id;
  const base = { region_code: S1, investigated_at: Date.UTC(2022, 4, 1, 2), institution: '东城区疾控中心', investigator: '王流调', close_contacts: 2 };
  r = await cc.post('/api/v1/commission/investigations/batch', {
    records: [
      { ...base, record_id: 'i-1', name: '张伟明', id_number: idA, classification: 'confirmed', exposure: '到访某超市' },
      { ...base, record_id: 'i-2', name: '刘未登', id_number: residentId('110101', '19900303', 33), classification: 'close_contact' },
    ],
  });
  assert.equal(r.status, 200, r.text);
  assert.equal(r.body.linked, 1);
  r = await cc.post('/api/v1/commission/doctors/batch', { records: [{ record_id: 'd-1', name: '李医生', id_number: residentId('110101', '19700404', 43), institution: '东华门社区卫生服务中心', title: '主治医师', region_code: S1 }] });
  assert.equal(r.status, 200, r.text);
  browser = await launch();
});
after(async () => {
  await browser?.close();
  await ctx?.stop();
});

const field = (page, name) => page.locator(`[data-test=${name}]`);

test('investigations masked, the unlinked marked, revealed on request; doctors listed', async () => {
  const page = await sharedConsolePage(browser, ctx, '/commission', cc);
  const table = field(page, 'commission-inv-table');
  await table.locator('tr').filter({ hasText: '密切接触者' }).locator('[data-test=commission-unlinked]').waitFor();
  const text = await table.innerText();
  assert.ok(!text.includes('张伟明') && !text.includes('到访某超市'), 'masked');
  assert.match(text, /张\*明/);
  await field(page, 'commission-reveal').click();
  await table.getByText('张伟明').waitFor();
  await table.getByText('到访某超市').waitFor();
  await page.getByRole('tab', { name: '医生信息' }).click();
  await field(page, 'commission-doc-table').getByText('东华门社区卫生服务中心').waitFor();
  await shot(page, 'console-commission');
  assertClean(page);
});

test("the person's page shows their investigation", async () => {
  const page = await sharedConsolePage(browser, ctx, `/people/${person}`, cc);
  await page.getByRole('tab', { name: '流调信息' }).click();
  const records = field(page, 'records-investigations');
  await records.getByText('确诊病例').waitFor();
  assert.match(await records.innerText(), /东城区疾控中心/);
  assertClean(page);
});
