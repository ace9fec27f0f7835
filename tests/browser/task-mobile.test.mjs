// 我的任务 on the phone (docs/tasks.md): a grid worker sees the tasks the
// command centre dispatched to them, the urgent one first; reveals the
// phone (a call link), has a navigation link, accepts and completes a task
// with what was done, and finds it under 已完成. The console's board shows
// the same task done, with its timeline.
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { launch, openPage, assertClean, shot, adoptSession } from './lib.mjs';
import { startCityWith } from '../api/lib.mjs';

const PW = 'Task-pages-2026!';
const H = 3600000;
let ctx, browser, cc, grid;

before(async () => {
  ctx = await startCityWith({ cc_dc: ['command_center', '110101000000'], grid_dc: ['grid_worker', '110101001001'] }, PW);
  ({ cc_dc: cc, grid_dc: grid } = ctx.as);
  const task = (over) => ({
    kind: 'general', region_code: '110101001001', assignee_user_id: grid.id, priority: 'normal',
    deadline: Date.now() + 20 * H, title: '送药上门', address: '东城区多福巷12号院3单元501', phone: '13912345678',
    lat: 39.9163, lng: 116.4102, ...over,
  });
  for (const t of [task({}), task({ title: '紧急核实', priority: 'urgent', deadline: Date.now() + 30 * H })]) {
    const r = await cc.post('/api/v1/tasks', t);
    assert.equal(r.status, 201, r.text);
  }
  browser = await launch();
});
after(async () => {
  await browser?.close();
  await ctx?.stop();
});

const field = (page, name) => page.locator(`[data-test=${name}]`);

test('a grid worker works a task from 我的任务', async () => {
  const page = await openPage(browser, { mobile: true });
  await adoptSession(page, grid);
  await page.goto(ctx.url + '/mobile/#/staff');
  await field(page, 'entry-tasks').click();
  await page.waitForURL(/#\/staff\/tasks$/);
  await field(page, 'task-item').first().waitFor();
  const titles = await field(page, 'task-item').locator('.van-cell__title > span').allInnerTexts();
  assert.deepEqual(titles, ['紧急核实', '送药上门'], 'the urgent one first');
  await shot(page, 'mobile-tasks');

  const first = field(page, 'task-item').first();
  assert.match(await first.locator('[data-test=task-nav]').getAttribute('href'), /^geo:39\.9163,116\.4102/);
  assert.ok(!(await first.innerText()).includes('13912345678'), 'masked before reveal');
  await first.locator('[data-test=task-reveal]').click();
  await first.locator('[data-test=task-phone]').waitFor();
  assert.equal(await first.locator('[data-test=task-phone]').getAttribute('href'), 'tel:13912345678');

  await first.locator('[data-test=task-accept]').click();
  await first.locator('[data-test=task-complete]').waitFor();
  await first.locator('[data-test=task-complete]').click();
  await page.locator('[data-test=task-dialog-text] textarea').fill('已上门核实，情况正常');
  await page.locator('.van-dialog__confirm').click();
  await page.waitForFunction(() => document.querySelectorAll('[data-test=task-item]').length === 1);
  await page.locator('[data-test=tasks-tab] .van-tab').filter({ hasText: '已完成' }).click();
  await field(page, 'task-result').filter({ hasText: '已上门核实，情况正常' }).waitFor();
  await shot(page, 'mobile-tasks-done');
  assertClean(page);
});

test('the console board shows the task done with its timeline', async () => {
  const page = await openPage(browser);
  await adoptSession(page, cc);
  await page.goto(ctx.url + '/console/#/tasks');
  await field(page, 'task-table').locator('tr').filter({ hasText: '紧急核实' }).click();
  await field(page, 'task-timeline').filter({ hasText: '完成' }).waitFor();
  assert.match(await field(page, 'task-timeline').innerText(), /派发[\s\S]*接收[\s\S]*完成/);
  await shot(page, 'console-tasks');
  assertClean(page);
});
