// 应检计划 in the console (issue 10, docs/nat.md): the district's plan with
// planned and actual figures per street; a street's worker opens it, sees
// only its street, corrects the actual figure with a reason and sees both
// figures; the district sees the correction. 行业 lists the seeded
// industries.
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { launch, assertClean, shot, consolePage } from './lib.mjs';
import { startCityWith, sqlRun } from '../api/lib.mjs';

const PW = 'Nat-plans-2026!';
const S1 = '110101001000';
const S2 = '110101002000';
let ctx, browser, cc, street, plan;

before(async () => {
  ctx = await startCityWith({ cc_dc: ['command_center', '110101000000'], street_dc: ['street_staff', S1] }, PW);
  ({ cc_dc: cc, street_dc: street } = ctx.as);
  const now = Date.now();
  let r = await cc.post('/api/v1/nat/plans', { number: 'DC-R1', name: '东城区第一轮核酸', starts_at: now - 3600000, ends_at: now + 36000000 });
  assert.equal(r.status, 201, r.text);
  plan = r.body;
  r = await cc.put(`/api/v1/nat/plans/${plan.id}/targets`, { targets: [{ region_code: S1, planned: 100 }, { region_code: S2, planned: 80 }] });
  assert.equal(r.status, 200, r.text);
  // as the sampling part counts
  sqlRun(ctx, `UPDATE nat_plan_figures SET actual = 90 WHERE plan_id = ${plan.id} AND region_code = ${S1}000000`);
  sqlRun(ctx, `UPDATE nat_plan_figures SET actual = 40 WHERE plan_id = ${plan.id} AND region_code = ${S2}000000`);
  browser = await launch();
});
after(async () => {
  await browser?.close();
  await ctx?.stop();
});

const field = (page, name) => page.locator(`[data-test=${name}]`);

test('a street corrects its actual figure with a reason; both figures are shown', async () => {
  const page = await consolePage(browser, ctx, '/nat/plans', street);
  await field(page, 'nat-plan-table').locator('tr').filter({ hasText: 'DC-R1' }).click();
  const figures = field(page, 'nat-figure-table');
  await figures.locator('tr').filter({ hasText: '东华门街道' }).waitFor();
  assert.equal(await figures.locator('tbody tr').count(), 1, 'the street sees its own row only');
  await field(page, 'nat-figure-correct').click();
  const dialog = field(page, 'nat-correct-dialog');
  await dialog.locator('[data-test=nat-correct-actual] input').fill('95');
  await dialog.locator('[data-test=nat-correct-reason]').fill('5人在外区检测，已核实');
  await field(page, 'nat-correct-submit').click();
  const row = figures.locator('tr').filter({ hasText: '东华门街道' });
  await row.locator('[data-test=nat-figure-corrected]').filter({ hasText: '95' }).waitFor();
  assert.equal(await row.locator('[data-test=nat-figure-actual]').innerText(), '90');
  assert.match(await row.innerText(), /5人在外区检测/);
  await shot(page, 'console-nat-plan-street');
  assertClean(page);
});

test('the district sees both streets, the correction beside the count; 行业 lists the seeded industries', async () => {
  const page = await consolePage(browser, ctx, '/nat/plans', cc);
  await field(page, 'nat-plan-table').locator('tr').filter({ hasText: 'DC-R1' }).click();
  const figures = field(page, 'nat-figure-table');
  await figures.locator('tr').filter({ hasText: '景山街道' }).waitFor();
  const s1 = figures.locator('tr').filter({ hasText: '东华门街道' });
  assert.equal(await s1.locator('[data-test=nat-figure-corrected]').innerText(), '95');
  const s2 = figures.locator('tr').filter({ hasText: '景山街道' });
  assert.equal(await s2.locator('[data-test=nat-figure-corrected]').innerText(), '—');
  assert.equal(await s2.locator('[data-test=nat-figure-actual]').innerText(), '40');
  await shot(page, 'console-nat-plan-district');
  await page.goto(`${ctx.url}/console/#/nat/industries`);
  await field(page, 'nat-industry-name').first().waitFor();
  const names = await field(page, 'nat-industry-name').allInnerTexts();
  assert.deepEqual(names.slice(0, 3), ['教育', '医疗', '快递外卖']);
  assertClean(page);
});
