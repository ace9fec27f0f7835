// Daily goods in Chromium (issue 14, docs/community-life.md): a resident
// orders on the phone (the cart's stepper, contactless delivery), the shop's
// account confirms and delivers on its phone page, the resident confirms
// receipt; community staff see the order's state on the console's order
// page and the shop on the shops page. A parcel recorded by the courier on
// the phone appears on the resident's home and is picked up. A resident
// applies as a volunteer on the phone, staff approve on the console, the
// volunteer signs up for a project and staff record the service time the
// volunteer then sees; staff edit and cancel a project (the volunteer sees
// 已取消) and revoke the volunteer (the phone shows the reason); a volunteer
// starts and finishes a help request assigned to them. One browser,
// one server; the resident's phone and the staff's console are loaded once
// and navigated inside (visit), the other accounts' pages once each and
// closed after their step.
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { selectors } from 'playwright-core';
import { startServer, launch, openPage, adoptSession, assertClean, shot, smsCode, residentId, CITY_CSV, writeTmp, consolePage, visit } from './lib.mjs';

selectors.setTestIdAttribute('data-test');

const PW = 'Passw0rd!life';
const COMMUNITY = '110101001001';
let ctx, browser, staff, shop, resident, courier, rice;
let rp, desk; // the resident's phone, the community staff's console

before(async () => {
  const launching = launch(); // Chromium starts while the server and its data are set up
  ctx = await startServer({
    setup: (c) => {
      c.must(['import', 'regions', writeTmp(c, 'city.csv', CITY_CSV)]);
      c.must(['user', 'add', '--username', 'life_cs', '--password', PW, '--role', 'community_staff', '--region', COMMUNITY, '--name', '周社区']);
      c.must(['user', 'add', '--username', 'life_kd', '--password', PW, '--role', 'delivery', '--region', COMMUNITY, '--name', '吴快递']);
    },
  });
  staff = ctx.client();
  await staff.login('life_cs', PW);
  let r = await staff.post('/api/v1/shops', { name: '多福巷便民超市', region_code: COMMUNITY, address: '多福巷3号', phone: '010-65123456', username: 'life_shop', password: PW });
  assert.equal(r.status, 201, r.text);
  shop = ctx.client();
  await shop.login('life_shop', PW);
  r = await shop.post('/api/v1/shop/goods', { name: '东北大米', unit: '袋', price: 5990, stock: 5 });
  assert.equal(r.status, 201, r.text);
  rice = r.body;

  resident = ctx.client();
  const phone = '13811114444';
  assert.equal((await resident.post('/api/v1/auth/sms/send', { phone })).status, 200);
  assert.equal((await resident.post('/api/v1/auth/sms/login', { phone, code: smsCode(ctx, phone) })).status, 200);
  assert.equal((await resident.post('/api/v1/me/consent', { version: 'v1' })).status, 200);
  r = await resident.post('/api/v1/me/person', { name: '张三', id_number: residentId('110101', '19900101', 79), region_code: COMMUNITY, address: '多福巷1号' });
  assert.equal(r.status, 201, r.text);
  courier = ctx.client();
  await courier.login('life_kd', PW);
  browser = await launching;
});

after(async () => {
  await browser?.close();
  await ctx?.stop();
});

async function phone(client, hash) {
  const page = await openPage(browser, { mobile: true });
  await adoptSession(page, client);
  await page.goto(`${ctx.url}/mobile/#${hash}`);
  return page;
}

// the resident's phone at a route, loaded the first time only
async function residentAt(route) {
  if (!rp) rp = await phone(resident, route);
  else await visit(rp, route, route === '/me' ? '/my-orders' : '/me');
  return rp;
}

// the staff's console at a route, loaded once (started early by
// deskLoading while a phone works), the route's view mounted anew
let deskLoading, courierLoading;
async function deskAt(route) {
  desk ||= await (deskLoading ||= consolePage(browser, ctx, route, staff));
  await visit(desk, route, '/home');
  return desk;
}

test('a resident orders on the phone, the shop confirms and delivers, the resident confirms receipt', async () => {
  // the shop's phone and the staff's console load meanwhile (used below and next)
  const shopLoading = phone(shop, '/staff');
  deskLoading = consolePage(browser, ctx, '/life/orders', staff);
  // the resident: home -> 生活物资 -> the shop -> two bags -> submit
  await residentAt('/me');
  await rp.getByTestId('my-shop').click();
  await rp.getByTestId('shop-row').filter({ hasText: '多福巷便民超市' }).click();
  const line = rp.getByTestId(`goods-${rice.id}`);
  await assert.doesNotReject(line.waitFor());
  assert.match(await line.textContent(), /库存 5/);
  await line.locator('.van-stepper__plus').click();
  await line.locator('.van-stepper__plus').click();
  await rp.getByTestId('order-note').locator('input').fill('放门口');
  await rp.getByTestId('order-submit').locator('button').click();
  await rp.waitForURL(/#\/my-orders$/);
  const card = rp.locator('[data-order]').first();
  await assert.doesNotReject(card.getByTestId('order-status').filter({ hasText: '待确认' }).waitFor());
  assert.match(await card.textContent(), /¥119\.80/);
  await shot(rp, 'life-resident-ordered');

  // the shop: its phone page lists the order with the full address; confirm, then deliver
  const sp = await shopLoading;
  await sp.getByTestId('entry-shop').click();
  const order = sp.locator('[data-shop-order]').first();
  await assert.doesNotReject(order.waitFor());
  const text = await order.textContent();
  assert.match(text, /张三/);
  assert.match(text, /多福巷1号/);
  assert.match(text, /东北大米/);
  await order.getByTestId('shop-order-confirm').click();
  await assert.doesNotReject(sp.getByTestId('shop-order-empty').waitFor());
  await sp.locator('.status-tabs .van-tab').filter({ hasText: '待配送' }).click();
  await sp.locator('[data-shop-order]').first().getByTestId('shop-order-deliver').click();
  await sp.locator('.status-tabs .van-tab').filter({ hasText: '已送达' }).click();
  await assert.doesNotReject(sp.locator('[data-shop-order]').first().waitFor());
  // the stock went down by the two bags
  await sp.locator('[data-test=shop-tabs] .van-tab').filter({ hasText: '商品库存' }).first().click();
  assert.equal(await sp.getByTestId(`shop-goods-${rice.id}`).locator('input').inputValue(), '3');
  await shot(sp, 'life-shop-delivered');
  assertClean(sp);
  await sp.context().close();

  // the resident confirms receipt (the list read anew)
  await residentAt('/my-orders');
  const again = rp.locator('[data-order]').first();
  await again.getByTestId('order-receive').click();
  await assert.doesNotReject(again.getByTestId('order-status').filter({ hasText: '已收货' }).waitFor());
  assert.match(await again.textContent(), /已付款/);
  assertClean(rp);
});

test('community staff see the shop and the received order in the console, recipient masked', async () => {
  courierLoading = phone(courier, '/staff'); // for the next step
  const page = await deskAt('/life/orders');
  const table = page.getByTestId('order-table');
  await assert.doesNotReject(table.getByText('已收货').waitFor());
  const row = await table.locator('.el-table__row').first().textContent();
  assert.match(row, /多福巷便民超市/);
  assert.match(row, /张\*/);
  assert.doesNotMatch(row, /张三/);
  await deskAt('/life/shops');
  await assert.doesNotReject(page.getByTestId('shop-table').getByText('life_shop').waitFor());
  await page.getByTestId('shop-goods').first().click();
  await assert.doesNotReject(page.getByTestId('shop-goods-table').getByText('东北大米').waitFor());
  await shot(page, 'life-console-shops');
  assertClean(page);
});

test('a parcel recorded by the courier on the phone appears on the resident\'s home and is picked up', async () => {
  const cp = await (courierLoading || phone(courier, '/staff'));
  await cp.getByTestId('entry-parcel').click();
  await cp.getByTestId('pc-building-select').selectOption({ label: '1号楼' });
  await cp.getByTestId('pc-carrier').locator('input').fill('顺丰');
  await cp.getByTestId('pc-locker').locator('input').fill('B-07');
  await cp.getByTestId('pc-code').locator('input').fill('552031');
  // a bad phone is told under its field
  await cp.getByTestId('pc-phone').locator('input').fill('123');
  await cp.getByTestId('pc-save').click();
  await assert.doesNotReject(cp.getByTestId('pc-phone').locator('.van-field__error-message').waitFor());
  await cp.getByTestId('pc-phone').locator('input').fill('13811114444');
  await cp.getByTestId('pc-save').click();
  await assert.doesNotReject(cp.getByTestId('pc-row').filter({ hasText: 'B-07' }).waitFor());
  await shot(cp, 'life-parcel-recorded');
  assertClean(cp);
  await cp.context().close();

  await residentAt('/me');
  const card = rp.getByTestId('my-parcels');
  await assert.doesNotReject(card.waitFor());
  await assert.doesNotReject(rp.getByText('您有快递待取').waitFor());
  assert.match(await card.textContent(), /B-07/);
  assert.match(await card.textContent(), /552031/);
  await shot(rp, 'life-parcel-home');
  // staff: the building's uncollected count on the console before the pick-up
  const page = await deskAt('/life/parcels');
  const row = page.getByTestId('parcel-counts').locator('.el-table__row').filter({ hasText: '1号楼' });
  await assert.doesNotReject(row.waitFor());
  assert.match(await page.getByTestId('parcel-sum').textContent(), /待取 1 件/);
  await assert.doesNotReject(page.getByTestId('parcel-table').getByText('B-07').waitFor()); // positive control
  assert.doesNotMatch(await page.getByTestId('parcel-table').textContent(), /13811114444|552031/, 'phone masked, code hidden');
  assertClean(page);

  await rp.getByTestId('my-parcel-pickup').click();
  await assert.doesNotReject(card.waitFor({ state: 'detached' }));
  assertClean(rp);
});

test('a resident applies as a volunteer, staff approve, the volunteer signs up and sees the hours', async () => {
  // the resident applies on the phone; an empty field is told under it
  await residentAt('/me');
  await rp.getByTestId('my-volunteer').click();
  await rp.getByTestId('vol-availability').locator('input').fill('周末全天');
  await rp.getByTestId('vol-submit').click();
  await assert.doesNotReject(rp.getByTestId('vol-skills').locator('.van-field__error-message').waitFor());
  await rp.getByTestId('vol-skills').locator('textarea').fill('驾驶、搬运');
  await rp.getByTestId('vol-submit').click();
  await assert.doesNotReject(rp.getByTestId('vol-app-status').filter({ hasText: '待审核' }).waitFor());

  // staff approve on the console: the name masked
  const page = await deskAt('/life/volunteers');
  const row = page.getByTestId('vol-table').locator('.el-table__row').filter({ hasText: '驾驶、搬运' });
  await assert.doesNotReject(row.waitFor());
  assert.match(await row.textContent(), /张\*/);
  assert.doesNotMatch(await row.textContent(), /张三/);
  await row.getByTestId('vol-approve').click();
  await page.locator('.el-message-box').getByRole('button', { name: '确定' }).click();
  await assert.doesNotReject(row.getByText('已通过').waitFor());

  // a project running now (published over the API: the date picker is the console's own)
  const now = Date.now();
  const r = await staff.post('/api/v1/volunteer-projects', { region_code: COMMUNITY, title: '物资分发', place: '多福巷社区服务站', starts_at: now - 3600000, ends_at: now + 3600000, places: 1 });
  assert.equal(r.status, 201, r.text);

  // the volunteer signs up on the phone; the only place is then taken
  await residentAt('/me/volunteer');
  const proj = rp.getByTestId('vol-project').filter({ hasText: '物资分发' });
  await assert.doesNotReject(proj.waitFor());
  await proj.getByTestId('vol-signup').click();
  await assert.doesNotReject(proj.filter({ hasText: '已报名 1/1' }).waitFor());
  await assert.doesNotReject(rp.getByTestId('vol-history-row').filter({ hasText: '待登记' }).waitFor());

  // staff record 90 minutes in the project's sign-ups
  await page.locator('.el-tabs__item').filter({ hasText: '服务项目' }).click();
  const prow = page.getByTestId('vp-table').locator('.el-table__row').filter({ hasText: '物资分发' });
  await assert.doesNotReject(prow.getByText('1 / 1').waitFor());
  await prow.getByTestId('vp-signups').click();
  const srow = page.getByTestId('vp-signup-table').locator('.el-table__row').first();
  await assert.doesNotReject(srow.getByText('张*').waitFor());
  await srow.getByTestId('vs-minutes').locator('input').fill('90');
  await srow.getByTestId('vs-save').click();
  await assert.doesNotReject(page.getByText('服务时长已登记').waitFor());
  await shot(page, 'life-console-volunteers');
  assertClean(page);

  // the volunteer sees the time and the total
  await residentAt('/me/volunteer');
  await assert.doesNotReject(rp.getByTestId('vol-total').filter({ hasText: '1小时30分' }).waitFor());
  await assert.doesNotReject(rp.getByTestId('vol-history-row').filter({ hasText: '1小时30分' }).waitFor());
  await shot(rp, 'life-volunteer-hours');
  assertClean(rp);
});

test('staff edit and cancel a project (the volunteer sees 已取消), then revoke the volunteer', async () => {
  const now = Date.now();
  let r = await staff.post('/api/v1/volunteer-projects', { region_code: COMMUNITY, title: '防疫宣传', place: '多福巷口', starts_at: now + 86400000, ends_at: now + 90000000, places: 3 });
  assert.equal(r.status, 201, r.text);
  r = await resident.post(`/api/v1/me/volunteer/projects/${r.body.id}/signup`, {});
  assert.equal(r.status, 201, r.text);

  // edit the title in the dialog, then cancel with a reason
  const page = await deskAt('/life/volunteers');
  await page.locator('.el-tabs__item').filter({ hasText: '服务项目' }).click();
  let prow = page.getByTestId('vp-table').locator('.el-table__row').filter({ hasText: '防疫宣传' });
  await prow.getByTestId('vp-edit').click();
  const title = page.getByTestId('vpf-title');
  assert.equal(await title.inputValue(), '防疫宣传', 'the dialog holds the project');
  await title.fill('防疫知识宣传');
  await page.getByTestId('vpf-save').click();
  await assert.doesNotReject(page.getByText('项目已修改').waitFor());
  prow = page.getByTestId('vp-table').locator('.el-table__row').filter({ hasText: '防疫知识宣传' });
  await assert.doesNotReject(prow.waitFor());
  await prow.getByTestId('vp-cancel').click();
  await page.locator('.el-message-box input').fill('天气原因');
  await page.locator('.el-message-box').getByRole('button', { name: '确定' }).click();
  await assert.doesNotReject(prow.getByTestId('vp-cancelled').waitFor());
  assert.match(await prow.textContent(), /天气原因/);
  assert.equal(await prow.getByTestId('vp-edit').count(), 0, 'a cancelled project is not edited');

  // the volunteer's phone: 已取消 with the reason
  await residentAt('/me/volunteer');
  const proj = rp.getByTestId('vol-project').filter({ hasText: '防疫知识宣传' });
  await assert.doesNotReject(proj.getByTestId('vol-cancelled').waitFor());
  assert.match(await proj.textContent(), /天气原因/);

  // revoke the volunteer on the console
  await page.locator('.el-tabs__item').filter({ hasText: '志愿者' }).first().click();
  const row = page.getByTestId('vol-table').locator('.el-table__row').filter({ hasText: '驾驶、搬运' });
  await row.getByTestId('vol-revoke').click();
  await page.locator('.el-message-box input').fill('长期未参加服务');
  await page.locator('.el-message-box').getByRole('button', { name: '确定' }).click();
  await assert.doesNotReject(row.getByText('已撤销').waitFor());
  assert.equal(await row.getByTestId('vol-revoke').count(), 0);
  assertClean(page);

  // the resident sees the reason and may apply again
  await residentAt('/me/volunteer');
  await assert.doesNotReject(rp.getByTestId('vol-app-status').filter({ hasText: '已撤销' }).waitFor());
  assert.match(await rp.getByTestId('vol-app-note').textContent(), /长期未参加服务/);
  await assert.doesNotReject(rp.getByTestId('vol-apply').waitFor());
  await assert.doesNotReject(rp.getByTestId('vol-history-row').filter({ hasText: '1小时30分' }).waitFor(), 'the history is kept');
  assert.ok(!JSON.stringify((await resident.get('/api/v1/me')).body).includes('assist.work'));
  assertClean(rp);
});

test('community staff record a sign-up\'s service time on the phone, from the workbench to-do', async () => {
  // the resident volunteers again and signs up for a project running now
  let r = await resident.post('/api/v1/me/volunteer', { skills: '驾驶', availability: '周末' });
  assert.equal(r.status, 201, r.text);
  assert.equal((await staff.post(`/api/v1/volunteers/${r.body.id}/approve`, {})).status, 200);
  const now = Date.now();
  r = await staff.post('/api/v1/volunteer-projects', { region_code: COMMUNITY, title: '核酸引导', place: '多福巷社区广场', starts_at: now - 1800000, ends_at: now + 7200000, places: 2 });
  assert.equal(r.status, 201, r.text);
  const pid = r.body.id;
  assert.equal((await resident.post(`/api/v1/me/volunteer/projects/${pid}/signup`, {})).status, 201);

  const sp = await phone(staff, '/staff');
  const todo = sp.getByTestId('todo-volunteer_hours_due');
  await assert.doesNotReject(todo.getByTestId('todo-count').filter({ hasText: '1' }).waitFor());
  await todo.click();
  await sp.getByTestId('vh-project-select').selectOption(String(pid));
  const row = sp.getByTestId('vh-row').first();
  await assert.doesNotReject(row.filter({ hasText: '待登记' }).waitFor());
  assert.match(await row.textContent(), /张\*/);
  await row.getByTestId('vh-minutes').locator('input').fill('45');
  await row.getByTestId('vh-save').click();
  await assert.doesNotReject(row.filter({ hasText: '已登记 0小时45分' }).waitFor());
  await shot(sp, 'life-staff-volunteer-hours');
  assertClean(sp);
  await sp.context().close();
  const mine = (await resident.get('/api/v1/me/volunteer')).body.items.find((x) => x.id === pid);
  assert.equal(mine.minutes, 45, 'recorded through the same endpoint');
});

test('a volunteer works a help request assigned to them on the phone: 开始处理, then 办结 with the outcome', async () => {
  // the resident is an approved volunteer again (above); a neighbour asks for help
  const asker = ctx.client();
  const ph = '13811115555';
  assert.equal((await asker.post('/api/v1/auth/sms/send', { phone: ph })).status, 200);
  assert.equal((await asker.post('/api/v1/auth/sms/login', { phone: ph, code: smsCode(ctx, ph) })).status, 200);
  assert.equal((await asker.post('/api/v1/me/consent', { version: 'v1' })).status, 200);
  let r = await asker.post('/api/v1/me/person', { name: '王秀英', id_number: residentId('110101', '19450101', 82), region_code: COMMUNITY, address: '多福巷2号' });
  assert.equal(r.status, 201, r.text);
  r = await asker.post('/api/v1/me/help', { kind: 'medicine', text: '降压药吃完了，请帮忙代购' });
  assert.equal(r.status, 201, r.text);
  const hid = r.body.id;
  const vid = (await resident.get('/api/v1/me')).body.id;
  r = await staff.get(`/api/v1/service/help/assignees?region=${COMMUNITY}`);
  assert.equal(r.body.items.find((u) => u.id === vid)?.name, '志愿者 张*', r.text);
  assert.equal((await staff.post(`/api/v1/service/help/${hid}/assign`, { assignee_id: vid })).status, 200);

  await residentAt('/me/volunteer');
  const row = rp.getByTestId('vol-help-row').first();
  await assert.doesNotReject(row.filter({ hasText: '降压药吃完了' }).waitFor());
  const text = await row.textContent();
  assert.match(text, /药品 · 王\*英/);
  assert.ok(!text.includes('王秀英') && !text.includes('1381111'), 'masked, no phone');
  await row.getByTestId('vol-help-start').click();
  await assert.doesNotReject(row.getByTestId('vol-help-start').waitFor({ state: 'detached' }));
  assert.equal((await asker.get(`/api/v1/me/help/${hid}`)).body.state, 'in_progress');
  await row.getByTestId('vol-help-done').click();
  const dialog = rp.getByTestId('vol-help-dialog');
  await dialog.getByRole('button', { name: '办结' }).click();
  await assert.doesNotReject(dialog.filter({ hasText: '请填写处理结果' }).waitFor());
  await dialog.getByTestId('vol-help-note').locator('textarea').fill('药已送到，老人签收');
  await dialog.getByRole('button', { name: '办结' }).click();
  await assert.doesNotReject(row.getByTestId('vol-help-state').filter({ hasText: '已完成' }).waitFor());
  await assert.doesNotReject(dialog.waitFor({ state: 'hidden' }));
  await shot(rp, 'life-volunteer-help');
  assertClean(rp);
  r = await asker.get(`/api/v1/me/help/${hid}`);
  assert.equal(r.body.note, '药已送到，老人签收');
  assert.equal(r.body.assignee_name, '志愿者 张*');
});
