// Daily goods in Chromium (issue 14, docs/community-life.md): a resident
// orders on the phone (the cart's stepper, contactless delivery), the shop's
// account confirms and delivers on its phone page, the resident confirms
// receipt; community staff see the order's state on the console's order
// page and the shop on the shops page. A parcel recorded by the courier on
// the phone appears on the resident's home and is picked up. One browser,
// one server.
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { selectors } from 'playwright-core';
import { startServer, launch, openPage, adoptSession, assertClean, shot, smsCode, residentId, CITY_CSV, writeTmp, consolePage } from './lib.mjs';

selectors.setTestIdAttribute('data-test');

const PW = 'Passw0rd!life';
const COMMUNITY = '110101001001';
let ctx, browser, staff, shop, resident, courier, rice;

before(async () => {
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
  browser = await launch();
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

test('a resident orders on the phone, the shop confirms and delivers, the resident confirms receipt', async () => {
  // the resident: home -> 生活物资 -> the shop -> two bags -> submit
  const rp = await phone(resident, '/me');
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
  const sp = await phone(shop, '/staff');
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

  // the resident confirms receipt
  await rp.reload();
  const again = rp.locator('[data-order]').first();
  await again.getByTestId('order-receive').click();
  await assert.doesNotReject(again.getByTestId('order-status').filter({ hasText: '已收货' }).waitFor());
  assert.match(await again.textContent(), /已付款/);
  assertClean(rp);
});

test('community staff see the shop and the received order in the console, recipient masked', async () => {
  const page = await consolePage(browser, ctx, '/life/orders', staff);
  const table = page.getByTestId('order-table');
  await assert.doesNotReject(table.getByText('已收货').waitFor());
  const row = await table.locator('.el-table__row').first().textContent();
  assert.match(row, /多福巷便民超市/);
  assert.match(row, /张\*/);
  assert.doesNotMatch(row, /张三/);
  await page.goto(`${ctx.url}/console/#/life/shops`);
  await assert.doesNotReject(page.getByTestId('shop-table').getByText('life_shop').waitFor());
  await page.getByTestId('shop-goods').first().click();
  await assert.doesNotReject(page.getByTestId('shop-goods-table').getByText('东北大米').waitFor());
  await shot(page, 'life-console-shops');
  assertClean(page);
});

test('a parcel recorded by the courier on the phone appears on the resident\'s home and is picked up', async () => {
  const cp = await phone(courier, '/staff');
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

  const rp = await phone(resident, '/me');
  const card = rp.getByTestId('my-parcels');
  await assert.doesNotReject(card.waitFor());
  await assert.doesNotReject(rp.getByText('您有快递待取').waitFor());
  assert.match(await card.textContent(), /B-07/);
  assert.match(await card.textContent(), /552031/);
  await shot(rp, 'life-parcel-home');
  // staff: the building's uncollected count on the console before the pick-up
  const page = await consolePage(browser, ctx, '/life/parcels', staff);
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
