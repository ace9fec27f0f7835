// Daily goods (issue 14, docs/community-life.md): community staff create a
// shop and its account, the shop lists goods with stock, a resident of the
// community orders (stock reserved; above the stock 409, nothing written;
// two orders for the last item: exactly one wins), the shop confirms and
// delivers, the resident confirms; cancelling returns the stock; group
// orders for a sealed building by staff; scope, other shops and other
// residents refused; bad input on every endpoint.
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { startCity, resident, expectError, PW, COMMUNITY, OTHER_COMMUNITY } from './devlib.mjs';
import { sqlRun } from './lib.mjs';

const BUILDING = '110101001001001001';
// a 4xx naming the field, whatever the slug (the shared checks choose it)
function expectField(r, status, field) {
  assert.equal(r.status, status, r.text);
  assert.equal(r.body.error.field, field, r.text);
}

// a workbench entry's count (undefined when the entry is not shown)
async function wb(client, key) {
  const r = await client.get('/api/v1/workbench');
  assert.equal(r.status, 200, r.text);
  return r.body.entries.find((e) => e.key === key)?.count;
}

let ctx, cs, csOther, shopA, shopB, shopAId, shopBId, rice, oil, res, resOther;

before(async () => {
  ctx = await startCity({
    setup: async (c) => {
      c.must(['user', 'add', '--username', 'cstaff', '--password', PW, '--role', 'community_staff', '--region', COMMUNITY]);
      c.must(['user', 'add', '--username', 'cs_other', '--password', PW, '--role', 'community_staff', '--region', OTHER_COMMUNITY]);
    },
  });
  cs = ctx.client();
  await cs.login('cstaff', PW);
  csOther = ctx.client();
  await csOther.login('cs_other', PW);
  res = await resident(ctx);
  resOther = await resident(ctx, OTHER_COMMUNITY, '李四');
});
after(async () => {
  await ctx?.stop();
});

const shopBody = (over = {}) => ({
  name: '多福巷便民超市', region_code: COMMUNITY, address: '多福巷3号', phone: '010-65123456',
  username: 'shop_a', password: PW, ...over,
});

test('staff create shops with accounts in their scope; bad input refused', async () => {
  let r = await cs.post('/api/v1/shops', shopBody());
  assert.equal(r.status, 201, r.text);
  assert.equal(r.body.region_name, '多福巷社区');
  assert.equal(r.body.username, 'shop_a');
  shopAId = r.body.id;
  expectError(await cs.post('/api/v1/shops', shopBody()), 409, 'duplicate_username');
  expectError(await cs.post('/api/v1/shops', shopBody({ username: 'shop_x', region_code: OTHER_COMMUNITY })), 400, 'invalid_region', 'region_code');
  expectError(await cs.post('/api/v1/shops', shopBody({ username: 'shop_x', region_code: 'abc' })), 400, 'invalid_region', 'region_code');
  expectField(await cs.post('/api/v1/shops', shopBody({ username: 'shop_x', name: '' })), 400, 'name');
  expectField(await cs.post('/api/v1/shops', shopBody({ username: 'shop_x', password: '123' })), 400, 'password');
  expectError(await cs.post('/api/v1/shops', { ...shopBody({ username: 'shop_x' }), extra: 1 }), 400, 'unknown_field', 'extra');
  // a resident, a shop and a grid worker cannot create shops
  expectError(await res.post('/api/v1/shops', shopBody({ username: 'shop_x' })), 403, 'forbidden');
  r = await csOther.post('/api/v1/shops', shopBody({ name: '隆福寺菜店', region_code: OTHER_COMMUNITY, username: 'shop_b' }));
  assert.equal(r.status, 201, r.text);
  shopBId = r.body.id;
  // nothing half-written: the refused usernames have no account
  assert.equal(sqlRun(ctx, "SELECT COUNT(*) FROM users WHERE username = 'shop_x'").trim(), '0');
  r = await cs.get('/api/v1/shops');
  assert.deepEqual(r.body.items.map((s) => s.name), ['多福巷便民超市'], 'scope: the other community\'s shop is not listed');
  r = await cs.get('/api/v1/shops?format=csv');
  assert.equal(r.status, 200);
  assert.match(r.text, /多福巷便民超市/);
  expectError(await cs.get('/api/v1/shops?format=pdf'), 400, 'invalid_parameter', 'format');
  expectError(await csOther.patch(`/api/v1/shops/${shopAId}`, { enabled: false }), 404, 'shop_not_found');
  expectField(await cs.patch(`/api/v1/shops/${shopAId}`, { enabled: 'no' }), 400, 'enabled');
  shopA = ctx.client();
  await shopA.login('shop_a', PW);
  shopB = ctx.client();
  await shopB.login('shop_b', PW);
  assert.equal((await shopA.get('/api/v1/shop/me')).body.id, shopAId);
});

test('the shop keeps its goods; another shop cannot touch them', async () => {
  let r = await shopA.post('/api/v1/shop/goods', { name: '东北大米', unit: '袋', price: 5990, stock: 10 });
  assert.equal(r.status, 201, r.text);
  rice = r.body;
  r = await shopA.post('/api/v1/shop/goods', { name: '花生油', unit: '桶', price: 6900, stock: 1 });
  oil = r.body;
  expectField(await shopA.post('/api/v1/shop/goods', { name: '鸡蛋', price: -1, stock: 1 }), 400, 'price');
  expectField(await shopA.post('/api/v1/shop/goods', { name: '鸡蛋', price: 100, stock: 1.5 }), 400, 'stock');
  expectField(await shopA.post('/api/v1/shop/goods', { name: '鸡\n蛋', price: 100, stock: 1 }), 400, 'name');
  expectError(await shopA.post('/api/v1/shop/goods', { price: 100, stock: 1 }), 400, 'required', 'name');
  expectError(await shopA.patch(`/api/v1/shop/goods/${rice.id}`, {}), 400, 'required');
  expectError(await shopB.patch(`/api/v1/shop/goods/${rice.id}`, { stock: 0 }), 404, 'goods_not_found');
  expectError(await cs.post('/api/v1/shop/goods', { name: '鸡蛋', price: 100, stock: 1 }), 403, 'forbidden');
  r = await shopA.patch(`/api/v1/shop/goods/${rice.id}`, { price: 5800 });
  assert.equal(r.body.price, 5800);
  assert.equal(r.body.stock, 10, 'an edit of the price leaves the stock');
  assert.equal((await shopB.get('/api/v1/shop/goods')).body.items.length, 0);
  assert.equal((await cs.get(`/api/v1/shops/${shopAId}/goods`)).body.items.length, 2);
  expectError(await csOther.get(`/api/v1/shops/${shopAId}/goods`), 404, 'shop_not_found');
});

test('a resident sees the shops of their community and orders; above the stock 409, nothing written', async () => {
  let r = await res.get('/api/v1/me/shops');
  assert.deepEqual(r.body.items.map((s) => s.id), [shopAId]);
  assert.equal(r.body.items[0].username, undefined, 'the account name is not shown to residents');
  assert.deepEqual((await resOther.get('/api/v1/me/shops')).body.items.map((s) => s.id), [shopBId]);
  expectError(await resOther.get(`/api/v1/me/shops/${shopAId}/goods`), 404, 'shop_not_found');
  expectError(await cs.get('/api/v1/me/shops'), 403, 'forbidden');
  const before = sqlRun(ctx, 'SELECT COUNT(*) FROM shop_orders').trim();
  expectError(await res.post('/api/v1/me/orders', { shop_id: shopAId, delivery: 'door', items: [{ goods_id: rice.id, qty: 2 }, { goods_id: oil.id, qty: 2 }] }), 409, 'insufficient_stock', 'items[1].qty');
  assert.equal(sqlRun(ctx, 'SELECT COUNT(*) FROM shop_orders').trim(), before, 'no order');
  assert.equal((await shopA.get('/api/v1/shop/goods')).body.items.find((g) => g.id === rice.id).stock, 10, 'the first line\'s reservation rolled back');
  // bad input
  const ok = { shop_id: shopAId, delivery: 'door', items: [{ goods_id: rice.id, qty: 1 }] };
  expectError(await res.post('/api/v1/me/orders', { ...ok, delivery: 'drone' }), 400, 'invalid_value', 'delivery');
  expectError(await res.post('/api/v1/me/orders', { ...ok, items: [] }), 400, 'out_of_range', 'items');
  expectError(await res.post('/api/v1/me/orders', { ...ok, items: [{ goods_id: rice.id, qty: 0 }] }), 400, 'out_of_range', 'items[0].qty');
  expectError(await res.post('/api/v1/me/orders', { ...ok, items: [{ goods_id: 'x', qty: 1 }] }), 400, 'invalid_value', 'items[0].goods_id');
  expectError(await res.post('/api/v1/me/orders', { ...ok, items: [{ goods_id: '123', qty: 1 }] }), 400, 'goods_not_found', 'items[0].goods_id');
  expectError(await res.post('/api/v1/me/orders', { ...ok, items: [{ goods_id: rice.id, qty: 1 }, { goods_id: rice.id, qty: 1 }] }), 400, 'duplicate_goods', 'items[1].goods_id');
  expectError(await res.post('/api/v1/me/orders', { ...ok, shop_id: shopBId }), 404, 'shop_not_found');
  expectField(await res.post('/api/v1/me/orders', { ...ok, note: '<script>' + 'x'.repeat(300) }), 400, 'note');
  expectError(await cs.post('/api/v1/me/orders', ok), 403, 'forbidden');
  r = await res.post('/api/v1/me/orders', { ...ok, items: [{ goods_id: rice.id, qty: 3 }], note: '放门口' });
  assert.equal(r.status, 201, r.text);
  assert.equal(r.body.total, 3 * 5800);
  assert.equal(r.body.status, 'pending');
  // the shop's workbench counts it, the other shop's not
  assert.equal(await wb(shopA, 'shop_orders_pending'), 1);
  assert.equal(await wb(shopB, 'shop_orders_pending'), 0);
  assert.equal((await shopA.get('/api/v1/shop/goods')).body.items.find((g) => g.id === rice.id).stock, 7);
  // the address is sealed at rest
  const raw = sqlRun(ctx, `SELECT COUNT(*) FROM shop_orders WHERE address_enc IS NOT NULL AND id = ${r.body.id}`).trim();
  assert.equal(raw, '1');
});

test('two orders for the last item at once: exactly one succeeds, the stock never negative', async () => {
  const body = { shop_id: shopAId, delivery: 'pickup', items: [{ goods_id: oil.id, qty: 1 }] };
  const res2 = await resident(ctx, COMMUNITY, '赵六');
  const [a, b] = await Promise.all([res.post('/api/v1/me/orders', body), res2.post('/api/v1/me/orders', body)]);
  assert.deepEqual([a.status, b.status].sort(), [201, 409], a.text + b.text);
  expectError(a.status === 409 ? a : b, 409, 'insufficient_stock');
  assert.equal((await shopA.get('/api/v1/shop/goods')).body.items.find((g) => g.id === oil.id).stock, 0);
});

test('the shop confirms and delivers, the resident confirms; states enforced; others refused', async () => {
  const mine = (await res.get('/api/v1/me/orders')).body.items;
  const o = mine.find((x) => x.items === undefined && x.total === 3 * 5800);
  assert.ok(o, 'my order is listed');
  // another resident and another shop see nothing
  expectError(await resOther.get(`/api/v1/me/orders/${o.id}`), 404, 'order_not_found');
  expectError(await resOther.post(`/api/v1/me/orders/${o.id}/cancel`, {}), 404, 'order_not_found');
  expectError(await shopB.get(`/api/v1/shop/orders/${o.id}`), 404, 'order_not_found');
  expectError(await shopB.post(`/api/v1/shop/orders/${o.id}/confirm`, {}), 404, 'order_not_found');
  assert.equal((await shopB.get('/api/v1/shop/orders')).body.total, 0);
  // the shop sees the address in full, staff masked, the other community nothing
  let r = await shopA.get(`/api/v1/shop/orders/${o.id}`);
  assert.equal(r.body.address, '多福巷1号');
  assert.equal(r.body.recipient, '王五');
  assert.equal(r.body.items[0].qty, 3);
  r = await cs.get(`/api/v1/shop-orders/${o.id}`);
  assert.equal(r.status, 200, r.text);
  assert.notEqual(r.body.address, '多福巷1号');
  assert.equal(r.body.recipient, '王*');
  expectError(await csOther.get(`/api/v1/shop-orders/${o.id}`), 404, 'order_not_found');
  expectError(await res.post(`/api/v1/me/orders/${o.id}/receive`, {}), 409, 'order_state');
  expectError(await shopA.post(`/api/v1/shop/orders/${o.id}/deliver`, {}), 409, 'order_state');
  r = await shopA.post(`/api/v1/shop/orders/${o.id}/confirm`, {});
  assert.equal(r.body.status, 'confirmed');
  expectError(await res.post(`/api/v1/me/orders/${o.id}/cancel`, {}), 409, 'order_state');
  r = await shopA.post(`/api/v1/shop/orders/${o.id}/deliver`, {});
  assert.equal(r.body.status, 'delivered');
  assert.equal(r.body.paid, true);
  r = await res.post(`/api/v1/me/orders/${o.id}/receive`, {});
  assert.equal(r.body.status, 'received');
  assert.ok(r.body.received_at > 0);
  expectError(await shopA.post('/api/v1/shop/orders/abc/confirm', {}), 404, 'not_found');
  expectError(await shopA.get('/api/v1/shop/orders?status=bogus'), 400, 'invalid_parameter', 'status');
  assert.equal((await shopA.get('/api/v1/shop/orders?status=received')).body.total, 1);
});

test('cancel before confirmation returns the stock', async () => {
  let r = await res.post('/api/v1/me/orders', { shop_id: shopAId, delivery: 'door', items: [{ goods_id: rice.id, qty: 2 }] });
  assert.equal(r.status, 201, r.text);
  assert.equal((await shopA.get('/api/v1/shop/goods')).body.items.find((g) => g.id === rice.id).stock, 5);
  r = await res.post(`/api/v1/me/orders/${r.body.id}/cancel`, {});
  assert.equal(r.body.status, 'cancelled');
  assert.equal((await shopA.get('/api/v1/shop/goods')).body.items.find((g) => g.id === rice.id).stock, 7);
  expectError(await res.post(`/api/v1/me/orders/${r.body.id}/cancel`, {}), 409, 'order_state');
});

test('group orders for a sealed building: per household, delivered to the building, received by staff', async () => {
  const body = { shop_id: shopAId, region_code: BUILDING, households: 3, items: [{ goods_id: rice.id, qty: 2 }] };
  expectField(await cs.post('/api/v1/shop-orders', { ...body, households: 0 }), 400, 'households');
  expectError(await cs.post('/api/v1/shop-orders', { ...body, region_code: COMMUNITY }), 400, 'invalid_region', 'region_code');
  expectError(await cs.post('/api/v1/shop-orders', { ...body, households: 4 }), 409, 'insufficient_stock', 'items[0].qty');
  expectError(await csOther.post('/api/v1/shop-orders', body), 404, 'region_not_found');
  let r = await cs.post('/api/v1/shop-orders', body);
  assert.equal(r.status, 201, r.text);
  const g = r.body;
  assert.equal(g.group, true);
  assert.equal(g.items[0].qty, 6);
  assert.equal(g.delivery, 'building');
  assert.match(g.address, /1号楼/);
  assert.equal((await shopA.get('/api/v1/shop/goods')).body.items.find((x) => x.id === rice.id).stock, 1);
  // the shop delivers it like any order; staff, not a resident, receive it
  await shopA.post(`/api/v1/shop/orders/${g.id}/confirm`, {});
  await shopA.post(`/api/v1/shop/orders/${g.id}/deliver`, {});
  expectError(await res.post(`/api/v1/me/orders/${g.id}/receive`, {}), 404, 'order_not_found');
  // the workbench: staff have one group order to distribute, the other community none
  assert.equal(await wb(cs, 'shop_group_delivered'), 1);
  assert.equal(await wb(csOther, 'shop_group_delivered'), 0);
  r = await cs.post(`/api/v1/shop-orders/${g.id}/receive`, {});
  assert.equal(r.status, 200, r.text);
  assert.equal(r.body.status, 'received');
  // a resident's order is not the staff's to receive
  const mine = (await res.get('/api/v1/me/orders?status=received')).body.items[0];
  expectError(await cs.post(`/api/v1/shop-orders/${mine.id}/receive`, {}), 409, 'not_group_order');
  // lists: filters, paging, export, scope
  r = await cs.get('/api/v1/shop-orders?group=1');
  assert.deepEqual(r.body.items.map((x) => x.id), [g.id]);
  r = await cs.get('/api/v1/shop-orders?page_size=1');
  assert.equal(r.body.items.length, 1);
  assert.ok(r.body.total >= 4);
  assert.equal((await csOther.get('/api/v1/shop-orders')).body.total, 0);
  expectError(await cs.get('/api/v1/shop-orders?group=2'), 400, 'invalid_parameter', 'group');
  expectError(await cs.get('/api/v1/shop-orders?shop_id=x'), 400, 'invalid_parameter', 'shop_id');
  r = await cs.get('/api/v1/shop-orders?format=csv');
  assert.equal(r.status, 200);
  assert.match(r.text, /团购/);
  assert.doesNotMatch(r.text, /王五/, 'names masked in the export');
  assert.match(r.text, /王\*/, 'positive control: the masked name is there');
});

test('a disabled shop takes no order and leaves the residents\' list', async () => {
  let r = await cs.patch(`/api/v1/shops/${shopAId}`, { enabled: false });
  assert.equal(r.body.enabled, false);
  assert.equal((await res.get('/api/v1/me/shops')).body.items.length, 0);
  expectError(await res.post('/api/v1/me/orders', { shop_id: shopAId, delivery: 'door', items: [{ goods_id: rice.id, qty: 1 }] }), 404, 'shop_not_found');
  await cs.patch(`/api/v1/shops/${shopAId}`, { enabled: true });
});
