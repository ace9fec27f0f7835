// 消杀巡查 in Chromium (docs/community-services.md "Disinfection and
// inspection"): an object past due shows as overdue on the console tab and
// on the staff's phone workbench; the staff member records a disinfection
// on the phone with a photo (an empty form refused, nothing written); the
// console then shows the record, its photo, and the overdue flag cleared.
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { selectors } from 'playwright-core';
import { startServer, launch, consolePage, openPage, adoptSession, assertClean, shot, choose, closed, CITY_CSV, writeTmp, sharedConsolePage } from './lib.mjs';

selectors.setTestIdAttribute('data-test');

const PW = 'Passw0rd!inspectpage';
const COMMUNITY = '110101001001'; // 多福巷社区
const JPEG = Buffer.from([0xff, 0xd8, 0xff, 0xe0, 0, 16, 0x4a, 0x46, 0x49, 0x46, 0, 1, ...Buffer.alloc(64, 0x5a)]);
let ctx, browser, staff, market;

before(async () => {
  ctx = await startServer({
    setup: (c) => {
      c.must(['import', 'regions', writeTmp(c, 'city.csv', CITY_CSV)]);
      c.must(['user', 'add', '--username', 'ins_staff', '--password', PW, '--role', 'community_staff', '--region', COMMUNITY]);
    },
  });
  staff = ctx.client();
  await staff.login('ins_staff', PW);
  // disinfected 30 hours ago, due every day: overdue, and the sweep gives it a task
  const r = await staff.post('/api/v1/service/inspect/objects', {
    region: COMMUNITY, name: '多福巷菜市场', kind: 'market', record_kind: 'disinfect', every_n: 1, every_unit: 'day', last_at: Date.now() - 30 * 3600_000,
  });
  assert.equal(r.status, 201, r.text);
  market = r.body;
  assert.equal((await staff.post('/api/v1/service/inspect/sweep')).body.tasks, 1);
  browser = await launch();
});

after(async () => {
  await browser?.close();
  await ctx?.stop();
});

test('staff record a disinfection on the phone; the console shows it and the overdue flag clears', async () => {
  const desk = await sharedConsolePage(browser, ctx, '/service?tab=inspect', staff);
  const row = desk.getByTestId('inspect-list').locator('tr', { hasText: '多福巷菜市场' });
  await row.waitFor();
  assert.match(await row.textContent(), /集贸市场.*多福巷社区.*每天消杀.*尚无记录.*逾期/s);
  assert.equal(await desk.getByTestId('inspect-stat-overdue').textContent(), '1');

  // the phone: the workbench's overdue entry leads to the page
  const phone = await openPage(browser, { mobile: true });
  await adoptSession(phone, staff);
  await phone.goto(ctx.url + '/mobile/#/staff');
  const todo = phone.getByTestId('todo-inspect_overdue');
  await todo.waitFor();
  assert.equal(await todo.getByTestId('todo-count').textContent(), '1');
  await todo.click();
  const obj = phone.getByTestId('inspect-object').filter({ hasText: '多福巷菜市场' });
  await obj.getByTestId('inspect-object-overdue').waitFor();
  await obj.click();
  await phone.getByTestId('inspect-form').waitFor();
  // no result chosen: the server's message under the field, nothing written
  await phone.getByTestId('inspect-submit').click();
  await phone.getByText('请选择结果').or(phone.getByText('请填写结果')).first().waitFor();
  assert.equal((await staff.get(`/api/v1/service/inspect/objects/${market.id}`)).body.records.length, 0, 'a refused form writes nothing');
  await phone.getByTestId('inspect-form-result').getByText('正常').click();
  await phone.getByTestId('inspect-form-notes').locator('textarea').fill('摊位及通道已全面喷洒消毒');
  await phone.getByTestId('inspect-form-photos').locator('input[type=file]').setInputFiles({ name: 'spray.jpg', mimeType: 'image/jpeg', buffer: JPEG });
  await phone.getByTestId('inspect-form-photos').locator('.van-uploader__preview').waitFor();
  await phone.getByTestId('inspect-submit').click();
  // back on the list, the flag gone
  await phone.getByTestId('inspect-objects').waitFor();
  await phone.getByTestId('inspect-object').filter({ hasText: '多福巷菜市场' }).getByText('上次').waitFor();
  assert.equal(await phone.getByTestId('inspect-object-overdue').count(), 0);
  await shot(phone, 'inspect-phone-recorded');

  // the console: the record, the flag cleared, the photo in the detail
  await desk.reload();
  await row.getByText('正常').first().waitFor();
  assert.match(await row.textContent(), /正常（ins_staff）/);
  assert.equal(await row.getByTestId('inspect-state').textContent(), '正常');
  assert.equal(await desk.getByTestId('inspect-stat-overdue').textContent(), '0');
  await row.click();
  const detail = desk.getByTestId('inspect-detail');
  await detail.getByText('摊位及通道已全面喷洒消毒').waitFor();
  assert.equal(await detail.getByTestId('inspect-photo').count(), 1);
  const tasks = (await staff.get('/api/v1/tasks?kind=inspect_overdue')).body.items;
  assert.equal(tasks[0].state, 'done', 'the record completed the overdue task');
  await shot(desk, 'inspect-console-recorded');
  assertClean(desk);
  assertClean(phone);
});

test('managers edit an object (a bad name refused in the form) and retire it; 已停用 lists it', async () => {
  const desk = await sharedConsolePage(browser, ctx, '/service?tab=inspect', staff);
  const row = desk.getByTestId('inspect-list').locator('tr', { hasText: '多福巷菜市场' });
  await row.waitFor();
  await row.getByTestId('inspect-edit').click();
  const dialog = desk.getByTestId('inspect-add-dialog');
  await dialog.getByText('编辑消杀巡查对象').waitFor();
  assert.equal(await dialog.getByTestId('inspect-name').inputValue(), '多福巷菜市场', 'the form holds the object');
  // an empty name: the server's message under the field, nothing changed
  await dialog.getByTestId('inspect-name').fill('');
  await dialog.getByTestId('inspect-save').click();
  await dialog.locator('.el-form-item__error').first().waitFor();
  assert.equal((await staff.get(`/api/v1/service/inspect/objects/${market.id}`)).body.name, '多福巷菜市场', 'a refused edit changes nothing');
  await dialog.getByTestId('inspect-name').fill('多福巷农贸市场');
  await dialog.locator('.el-input-number input').fill('2');
  await dialog.getByTestId('inspect-save').click();
  await closed(dialog, desk);
  const edited = desk.getByTestId('inspect-list').locator('tr', { hasText: '多福巷农贸市场' });
  await edited.getByText('每2天消杀').waitFor();
  const after = (await staff.get(`/api/v1/service/inspect/objects/${market.id}`)).body;
  assert.equal(after.every_n, 2);
  assert.equal(after.due_at, after.last_at + 2 * 86400_000, 'the next due time follows the new period');

  // 停用: asked first, then gone from the list in service, listed under 已停用
  await edited.getByTestId('inspect-retire').click();
  const box = desk.locator('.el-message-box');
  await box.getByText('已有记录保留').waitFor();
  await box.getByRole('button', { name: '停用' }).click();
  await edited.waitFor({ state: 'detached' });
  await desk.getByTestId('inspect-list').getByText('暂无消杀巡查对象').waitFor();
  await choose(desk, 'inspect-retired', '已停用');
  const retired = desk.getByTestId('inspect-list').locator('tr', { hasText: '多福巷农贸市场' });
  assert.equal(await retired.getByTestId('inspect-state').textContent(), '已停用');
  assert.equal(await retired.getByTestId('inspect-edit').count(), 0, 'a retired object is not edited');
  // its records stay readable in the detail
  await retired.click();
  await desk.getByTestId('inspect-detail').getByText('摊位及通道已全面喷洒消毒').waitFor();
  assert.equal((await staff.get(`/api/v1/service/inspect/objects/${market.id}`)).body.retired, true);
  await shot(desk, 'inspect-console-retired');
  assertClean(desk);
});
