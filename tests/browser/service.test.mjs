// 居民服务 in Chromium (docs/community-services.md): an elderly resident
// presses 紧急呼叫 on the phone (with the confirm step); the call appears on
// the community staff's console page live, without a reload, with the
// address and the emergency contact masked and the staff on duty named; the
// staff record the outcome; the resident's phone then shows who handled it
// and what they did. The duty roster is kept on the same page.
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { selectors } from 'playwright-core';
import { startServer, launch, consolePage, openPage, adoptSession, assertClean, shot, CITY_CSV, writeTmp, residentId, smsCode } from './lib.mjs';

selectors.setTestIdAttribute('data-test');

const PW = 'Passw0rd!servicepage';
const COMMUNITY = '110101001001'; // 多福巷社区
const BUILDING = '110101001001001001'; // 1号楼
let ctx, browser, staff, resident;

before(async () => {
  ctx = await startServer({
    setup: (c) => {
      c.must(['import', 'regions', writeTmp(c, 'city.csv', CITY_CSV)]);
      c.must(['user', 'add', '--username', 'sv_staff', '--password', PW, '--role', 'community_staff', '--region', COMMUNITY]);
    },
  });
  staff = ctx.client();
  await staff.login('sv_staff', PW);
  staff.id = (await staff.get('/api/v1/me')).body.id;
  resident = ctx.client();
  const phone = '13930001234';
  assert.equal((await resident.post('/api/v1/auth/sms/send', { phone })).status, 200);
  assert.equal((await resident.post('/api/v1/auth/sms/login', { phone, code: smsCode(ctx, phone) })).status, 200);
  assert.equal((await resident.post('/api/v1/me/consent', { version: 'v1' })).status, 200);
  const r = await resident.post('/api/v1/me/person', {
    name: '王秀英', id_number: residentId('110101', '19420315', 91, false), region_code: BUILDING, vulnerable: ['elderly_alone'],
    address: '多福巷3号院2单元101', emergency_contact_name: '王建国', emergency_contact_phone: '13811112222',
  });
  assert.equal(r.status, 201, r.text);
  // the staff member is on duty now
  const now = Date.now();
  const d = await staff.post('/api/v1/service/duty', { region_code: COMMUNITY, user_id: staff.id, from: now - 3600_000, to: now + 8 * 3600_000 });
  assert.equal(d.status, 201, d.text);
  browser = await launch();
});

after(async () => {
  await browser?.close();
  await ctx?.stop();
});

test('an emergency call from the phone appears live on the console; the outcome goes back to the phone', async () => {
  const desk = await consolePage(browser, ctx, '/service', staff);
  await desk.getByTestId('emergency-live').getByText('暂无待处置的紧急呼叫').waitFor();
  // the duty roster names the staff member on duty
  await desk.getByRole('tab', { name: '值班表' }).click();
  await desk.getByTestId('duty-list').getByText('当班').waitFor();
  await desk.getByRole('tab', { name: '紧急呼叫' }).click();

  const phone = await openPage(browser, { mobile: true });
  await adoptSession(phone, resident);
  await phone.goto(ctx.url + '/mobile/#/me');
  await phone.getByTestId('emergency-button').click();
  // the confirm step: cancelling calls nobody
  await phone.getByRole('button', { name: '取消' }).click();
  assert.equal((await resident.get('/api/v1/me/emergency')).body.call, null, 'a cancelled press calls nobody');
  await phone.getByTestId('emergency-button').click();
  await phone.getByRole('button', { name: '立即呼叫' }).click();
  await phone.getByTestId('emergency-open').getByText('已通知社区，工作人员正在处理').waitFor();
  await shot(phone, 'emergency-phone-open');

  // on the console, without a reload
  const card = desk.getByTestId('emergency-open');
  await card.waitFor();
  const text = await card.textContent();
  assert.match(text, /王\*英/);
  assert.match(text, /多福巷社区 · 第一网格 · 1号楼/);
  assert.match(text, /多福巷3号院\*\*\*\*/);
  assert.match(text, /138\*\*\*\*2222/);
  assert.doesNotMatch(text, /13811112222/, 'the contact phone masked');
  assert.match(text, /值班人员：sv_staff|值班人员：\S+/);
  assert.equal(await desk.getByTestId('emergency-open-count').textContent(), '1');
  await shot(desk, 'emergency-console-live');

  // the staff record the outcome; an empty one is refused
  await card.getByTestId('emergency-handle').click();
  await desk.getByTestId('emergency-handle-save').click();
  await desk.getByText('请填写处置结果').waitFor();
  await desk.locator('textarea[data-test=emergency-note-input], [data-test=emergency-note-input] textarea').fill('已电话联系家属并上门查看，老人平安');
  await desk.getByTestId('emergency-handle-save').click();
  await desk.getByTestId('emergency-live').getByText('暂无待处置的紧急呼叫').waitFor();
  await desk.getByTestId('emergency-all').getByText('已电话联系家属并上门查看，老人平安').waitFor();

  // the phone follows: who handled it and what they did
  await phone.getByTestId('emergency-note').getByText('已电话联系家属并上门查看，老人平安').waitFor();
  assert.equal(await phone.getByTestId('emergency-state-tag').textContent(), '已处理');
  assert.ok((await phone.getByTestId('emergency-handler').textContent()).length > 3);
  await shot(phone, 'emergency-phone-handled');
  assertClean(desk);
  assertClean(phone);
});

test('an elderly resident reports 今日平安 on the phone; 健康监测 on the console shows it', async () => {
  const phone = await openPage(browser, { mobile: true });
  await adoptSession(phone, resident);
  await phone.goto(ctx.url + '/mobile/#/me');
  const care = phone.getByTestId('care');
  await care.waitFor();
  // a temperature out of range is refused under the field
  await care.getByTestId('care-temperature').locator('input').fill('45');
  await care.getByTestId('care-checkin').click();
  await care.getByText('体温应在35-42℃之间').waitFor();
  await care.getByTestId('care-temperature').locator('input').fill('36.5');
  await care.getByText('一般').click();
  await care.getByTestId('care-checkin').click();
  await care.getByTestId('care-done').waitFor();
  assert.match(await care.getByTestId('care-done').textContent(), /一般，36.5℃/);
  await shot(phone, 'care-phone');

  const desk = await consolePage(browser, ctx, '/service', staff);
  await desk.getByRole('tab', { name: '健康监测' }).click();
  const row = desk.getByTestId('care-list').locator('tr', { hasText: '王*英' });
  await row.getByText('已报平安').waitFor();
  assert.match(await row.textContent(), /一般\s*36.5℃/);
  assert.match(await desk.getByTestId('care-stats').textContent(), /监测 1 人，已报平安 1，未报 0/);
  await shot(desk, 'care-console');
  assertClean(phone);
  assertClean(desk);
});

test('a help request from the phone to the console and back', async () => {
  const phone = await openPage(browser, { mobile: true });
  await adoptSession(phone, resident);
  await phone.goto(ctx.url + '/mobile/#/me');
  await phone.getByTestId('my-help').click();
  const form = phone.getByTestId('help-form');
  await form.waitFor();
  // nothing chosen: the server's message under the field, nothing sent
  await phone.getByTestId('help-submit').click();
  await phone.getByText('请选择求助类型').or(phone.getByText('请填写求助类型')).first().waitFor();
  assert.equal((await resident.get('/api/v1/me/help')).body.total, 0, 'a refused form writes nothing');
  await form.getByText('药品').click();
  await phone.getByTestId('help-text').locator('textarea').fill('降压药吃完了，行动不便，请帮忙代购');
  const JPEG = Buffer.from([0xff, 0xd8, 0xff, 0xe0, 0, 16, 0x4a, 0x46, 0x49, 0x46, 0, 1, ...Buffer.alloc(64, 0x5a)]);
  await phone.getByTestId('help-photos').locator('input[type=file]').setInputFiles({ name: 'med.jpg', mimeType: 'image/jpeg', buffer: JPEG });
  await phone.getByTestId('help-photos').locator('.van-uploader__preview').waitFor();
  await phone.getByTestId('help-submit').click();
  const item = phone.getByTestId('help-item').first();
  await item.getByText('降压药吃完了').waitFor();
  assert.equal(await item.getByTestId('help-item-state').textContent(), '待受理');
  await shot(phone, 'help-phone-submitted');

  // the console: the request in the 求助 tab, masked, with its photo
  const desk = await consolePage(browser, ctx, '/service?tab=help', staff);
  const row = desk.getByTestId('help-list').locator('tr', { hasText: '降压药吃完了' });
  await row.waitFor();
  assert.match(await row.textContent(), /王\*英/);
  assert.match(await row.textContent(), /待受理/);
  await row.getByTestId('help-flag-vulnerable').waitFor(); // 独居老人: the 重点关注 column
  await row.getByTestId('help-open').click();
  const drawer = desk.getByTestId('help-detail');
  await drawer.getByTestId('help-text').getByText('降压药吃完了').waitFor();
  await drawer.getByTestId('help-photos').locator('img').waitFor();
  // assign to the staff member themselves, then finish; an empty outcome is refused
  await drawer.getByTestId('help-assignee').click();
  await desk.locator('.el-select-dropdown__item', { hasText: 'sv_staff' }).first().click();
  await drawer.getByTestId('help-assign').click();
  await drawer.getByTestId('help-detail-state').getByText('已指派').waitFor();
  await drawer.getByTestId('help-done').click();
  await drawer.getByText('请填写处理结果').waitFor();
  await drawer.locator('textarea[data-test=help-note], [data-test=help-note] textarea').fill('已送药上门，老人签收');
  await drawer.getByTestId('help-done').click();
  await drawer.getByTestId('help-detail-state').getByText('已完成').waitFor();
  await row.getByText('已完成').waitFor();
  await shot(desk, 'help-console-done');

  // back on the phone, without a reload: the handler and the outcome
  await item.getByTestId('help-item-note').getByText('已送药上门，老人签收').waitFor({ timeout: 15000 });
  assert.equal(await item.getByTestId('help-item-state').textContent(), '已完成');
  assert.match(await item.getByTestId('help-item-handler').textContent(), /处理人：sv_staff/);
  await shot(phone, 'help-phone-done');
  assertClean(desk);
  assertClean(phone);
});

test('an environment clue from the phone appears on the console with its task; the result goes back', async () => {
  const phone = await openPage(browser, { mobile: true });
  await adoptSession(phone, resident);
  await phone.goto(ctx.url + '/mobile/#/me');
  await phone.getByTestId('my-clues').click();
  const form = phone.getByTestId('clue-form');
  await form.getByText('集贸市场').click();
  await phone.getByTestId('clue-text').locator('textarea').fill('菜市场东门污水外溢');
  await phone.getByTestId('clue-submit').click();
  const item = phone.getByTestId('clue-item').first();
  await item.getByText('菜市场东门污水外溢').waitFor();
  assert.equal(await item.getByTestId('clue-item-state').textContent(), '处理中');

  const desk = await consolePage(browser, ctx, '/service?tab=clues', staff);
  const row = desk.getByTestId('clue-list').locator('tr', { hasText: '菜市场东门污水外溢' });
  await row.waitFor();
  assert.match(await row.textContent(), /王\*英.*集贸市场.*待接收.*处理中/s);
  // the staff complete the task (as 我的任务 on the phone does); the console and the phone show the result
  const clue = (await staff.get('/api/v1/service/clues')).body.items[0];
  assert.equal((await staff.post(`/api/v1/tasks/${clue.task_id}/accept`)).status, 200);
  assert.equal((await staff.post(`/api/v1/tasks/${clue.task_id}/complete`, { result: { text: '已通知市场管理方清理' } })).status, 200);
  await desk.reload();
  await desk.getByTestId('clue-list').getByText('已通知市场管理方清理').waitFor();
  await phone.reload();
  await phone.getByTestId('clue-item-result').first().getByText('处理结果：已通知市场管理方清理').waitFor();
  assert.equal(await phone.getByTestId('clue-item-state').first().textContent(), '已处理');
  await shot(phone, 'clue-phone-done');
  await shot(desk, 'clue-console-done');
  assertClean(desk);
  assertClean(phone);
});
