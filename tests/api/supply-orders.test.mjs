// The supplier's own electronic orders and receipts signed on a phone
// (docs/supplies.md "The supplier's orders", "Receipts on the phone";
// src/supply/delivery.c): the enterprise account bound to a supplier lists
// the orders placed with it, accepts (接单) and ships them (待发货 → 运输中);
// another supplier's order is 404 and the refusal audited; an unbound
// account is refused. Community staff list the deliveries to their region
// and sign one with a shortfall. One server; the tests build on each other.
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { startCityWith, expectError, creditCode, auditEntries, openStream, until, sleep } from './lib.mjs';

const PW = 'Passw0rd!orders';
const DISTRICT = '110101000000'; // 东城区
const STREET = '110101001000'; // 东华门街道
const COMMUNITY = '110101001001'; // 多福巷社区
const OTHER = '110101002001'; // 隆福寺社区
let ctx, cc, cs, csOther, entA, entB, entLoose, auditor;
let A, B; // the two suppliers' ids
let req; // the request: masks from a warehouse, kits ordered from A and B
let dWarehouse, dA, dB; // its three deliveries

async function ok(p, status = 200) {
  const r = await p;
  assert.equal(r.status, status, r.text);
  return r.body;
}

before(async () => {
  ctx = await startCityWith(
    {
      o_cc: ['command_center', DISTRICT],
      o_cs: ['community_staff', COMMUNITY],
      o_cs_other: ['community_staff', OTHER],
      o_ent_a: ['enterprise', STREET],
      o_ent_b: ['enterprise', STREET],
      o_ent_loose: ['enterprise', STREET],
      o_auditor: ['audit_admin', '110000000000'],
    },
    PW,
  );
  ({ o_cc: cc, o_cs: cs, o_cs_other: csOther, o_ent_a: entA, o_ent_b: entB, o_ent_loose: entLoose, o_auditor: auditor } = ctx.as);
  const mk = async (name, n) => (await ok(cc.post('/api/v1/enterprises', {
    name, credit_code: creditCode('91110101MA000088' + n), region_code: STREET, industry: '制造业',
  }), 201)).id;
  A = await mk('北京康护医疗用品有限公司', '1');
  B = await mk('京华防护科技有限公司', '2');
  for (const [u, e] of [[entA, A], [entB, B]]) await ok(cc.post('/api/v1/enterprise-accounts', { user_id: u.id, enterprise_id: e }));

  // a warehouse with masks, a request for masks and test kits, dispatched:
  // masks from the warehouse, the kits ordered from both suppliers
  const w = (await ok(cc.post('/api/v1/supply/warehouses', { region_code: DISTRICT, name: '东城区应急物资储备库' }), 201)).id;
  await ok(cc.post('/api/v1/supply/reports', { kind: 'stock', warehouse_id: w, product_id: '1', quantity: 1000 }), 201);
  const filed = await ok(cs.post('/api/v1/supply/requests', {
    region_code: COMMUNITY, requester: 'community', site_name: '多福巷社区居委会', urgency: 'urgent', needed_by: '2030-01-02 18:00',
    lines: [{ product_id: '1', quantity: 200 }, { product_id: '31', quantity: 100 }],
  }), 201);
  req = await ok(cc.get(`/api/v1/supply/requests/${filed.id}`));
  const [masks, kits] = req.lines;
  const d = await ok(cc.post(`/api/v1/supply/requests/${req.id}/dispatch`, {
    allocations: [{ line_id: masks.id, warehouse_id: w, quantity: 200 }],
    orders: [{ line_id: kits.id, enterprise_id: A, quantity: 60 }, { line_id: kits.id, enterprise_id: B, quantity: 40 }],
  }));
  const by = Object.fromEntries(d.deliveries.map((v) => [v.source_name, v.id]));
  [dWarehouse, dA, dB] = [by['东城区应急物资储备库'], by['北京康护医疗用品有限公司'], by['京华防护科技有限公司']];
  assert.ok(dWarehouse && dA && dB, JSON.stringify(by));
});
after(async () => { await ctx?.stop(); });

test('a supplier lists only its own orders; an unbound account and other roles are refused', async () => {
  const mine = await ok(entA.get('/api/v1/supply/orders'));
  assert.deepEqual(mine.enterprise, { id: A, name: '北京康护医疗用品有限公司' });
  assert.deepEqual(mine.items.map((o) => o.id), [dA]);
  const o = mine.items[0];
  assert.equal(o.request_id, req.id);
  assert.equal(o.state, 'pending');
  assert.equal(o.state_label, '待发货');
  assert.equal(o.accepted, false);
  assert.equal(o.region_name, '多福巷社区');
  assert.equal(o.site_name, '多福巷社区居委会');
  assert.equal(o.urgency_label, '紧急');
  assert.deepEqual(o.lines.map((l) => [l.product_name, l.quantity, l.unit]), [['新型冠状病毒抗原检测试剂盒', 60, '盒']]);
  assert.deepEqual((await ok(entB.get('/api/v1/supply/orders'))).items.map((x) => x.id), [dB]);
  expectError(await entLoose.get('/api/v1/supply/orders'), 403, 'enterprise_unbound');
  expectError(await cs.get('/api/v1/supply/orders'), 403, 'forbidden');
  expectError(await cc.post(`/api/v1/supply/orders/${dA}/accept`), 403, 'forbidden');
});

test('accept then ship: the order moves 待发货 → 运输中 with both steps in the chain; another supplier\'s order is 404, audited', async () => {
  // shipping before accepting, and bad ids
  expectError(await entA.post(`/api/v1/supply/orders/${dA}/ship`, {}), 409, 'not_accepted');
  expectError(await entA.post('/api/v1/supply/orders/99999999/accept'), 404, 'not_found');
  // B's order and the warehouse's delivery are out of A's reach, like none
  expectError(await entA.post(`/api/v1/supply/orders/${dB}/accept`), 404, 'not_found');
  expectError(await entA.post(`/api/v1/supply/orders/${dWarehouse}/accept`), 404, 'not_found');
  expectError(await entA.post(`/api/v1/supply/orders/${dB}/ship`, {}), 404, 'not_found');
  const refused = await auditEntries(auditor, 'supply.order.accept', dB);
  assert.ok(refused.length >= 1 && refused.every((a) => a.result !== 'ok'), JSON.stringify(refused));
  expectError(await entLoose.post(`/api/v1/supply/orders/${dA}/accept`), 403, 'enterprise_unbound');
  assert.equal((await ok(cc.get(`/api/v1/supply/requests/${req.id}`))).chain.some((c) => c.action === 'accepted'), false);

  const acc = await ok(entA.post(`/api/v1/supply/orders/${dA}/accept`));
  assert.equal(acc.accepted, true);
  assert.ok(acc.accepted_at > 0);
  assert.equal(acc.state, 'pending');
  expectError(await entA.post(`/api/v1/supply/orders/${dA}/accept`), 409, 'invalid_transition');

  // bad shipping details change nothing
  expectError(await entA.post(`/api/v1/supply/orders/${dA}/ship`, { driver_phone: 'abc' }), 400, 'invalid_phone', 'driver_phone');
  expectError(await entA.post(`/api/v1/supply/orders/${dA}/ship`, { vehicle: 'x'.repeat(13) }), 400, 'too_long', 'vehicle');
  expectError(await entA.post(`/api/v1/supply/orders/${dA}/ship`, { weight: 3 }), 400, 'unknown_field', 'weight');
  assert.equal((await ok(entA.get('/api/v1/supply/orders'))).items[0].state, 'pending');

  const shipped = await ok(entA.post(`/api/v1/supply/orders/${dA}/ship`, { carrier: '康护自有车队', vehicle: '京C11223', driver_phone: '13700001111' }));
  assert.equal(shipped.state, 'shipping');
  assert.equal(shipped.state_label, '运输中');
  assert.equal(shipped.carrier, '康护自有车队');
  assert.ok(shipped.shipped_at >= shipped.accepted_at);
  expectError(await entA.post(`/api/v1/supply/orders/${dA}/ship`, {}), 409, 'invalid_transition');

  // the district sees both steps, by the supplier's account, and the masked phone
  const r = await ok(cc.get(`/api/v1/supply/requests/${req.id}`));
  const steps = r.chain.filter((c) => c.delivery_id === dA).map((c) => [c.action_label, c.user_name]);
  assert.deepEqual(steps.slice(-2), [['供应商接单', 'o_ent_a'], ['发货', 'o_ent_a']]);
  const v = r.deliveries.find((x) => x.id === dA);
  assert.equal(v.state, 'shipping');
  assert.equal(v.driver_phone, '137****1111');
  const audits = await auditEntries(auditor, 'supply.order.ship', dA);
  assert.equal(audits.filter((a) => a.result === 'ok').length, 1);

  // the district may still ship an order itself; the supplier can then no longer accept it
  await ok(cc.post(`/api/v1/supply/deliveries/${dB}/ship`, {}));
  expectError(await entB.post(`/api/v1/supply/orders/${dB}/accept`), 409, 'invalid_transition');
  expectError(await entB.post(`/api/v1/supply/orders/${dB}/ship`, {}), 409, 'invalid_transition');
});

test('community staff list the deliveries to their region and sign one with a shortfall on the phone', async () => {
  const list = (await ok(cs.get('/api/v1/supply/deliveries'))).items;
  assert.deepEqual(list.map((v) => v.id).sort(), [dWarehouse, dA, dB].sort());
  const a = list.find((v) => v.id === dA);
  assert.equal(a.source_label, '电子订货');
  assert.equal(a.source_name, '北京康护医疗用品有限公司');
  assert.equal(a.state_label, '运输中');
  assert.equal(a.region_name, '多福巷社区');
  assert.equal(a.lines[0].quantity, 60);
  assert.equal(list.find((v) => v.id === dWarehouse).state, 'pending');
  // another community sees none of them; the supplier's account signs nothing of theirs
  assert.deepEqual((await ok(csOther.get('/api/v1/supply/deliveries'))).items, []);
  // an enterprise reports its stock and output (supply.report) but neither
  // lists the region's deliveries nor signs them: supply.request is staff's
  expectError(await entA.get('/api/v1/supply/deliveries'), 403, 'forbidden');
  expectError(await entA.post(`/api/v1/supply/deliveries/${dA}/receipt`, {}), 403, 'forbidden');
  expectError(await entA.post('/api/v1/supply/requests', {}), 403, 'forbidden');
  expectError(await csOther.post(`/api/v1/supply/deliveries/${dA}/receipt`, {}), 404, 'not_found');

  // the phone form's bad input: refused with nothing written
  const line = a.lines[0].line_id;
  expectError(await cs.post(`/api/v1/supply/deliveries/${dA}/receipt`, { lines: [{ line_id: line, received: 61 }] }), 400, 'over_quantity', 'lines[0].received');
  expectError(await cs.post(`/api/v1/supply/deliveries/${dWarehouse}/receipt`, {}), 409, 'invalid_transition');
  assert.equal((await ok(cs.get('/api/v1/supply/deliveries'))).items.find((v) => v.id === dA).state, 'shipping');

  await ok(cs.post(`/api/v1/supply/deliveries/${dA}/receipt`, { lines: [{ line_id: line, received: 55 }] }));
  const signed = (await ok(cs.get('/api/v1/supply/deliveries'))).items.find((v) => v.id === dA);
  assert.equal(signed.state, 'signed');
  assert.equal(signed.shortfall, 5);
  assert.equal(signed.lines[0].received, 55);
  assert.ok(signed.signed_at >= signed.shipped_at);
  // the supplier sees its order signed with the shortfall
  const own = (await ok(entA.get('/api/v1/supply/orders'))).items[0];
  assert.deepEqual([own.state_label, own.shortfall], ['已签收', 5]);
});

// Telling the supplier (docs/supplies.md "Telling the supplier"): an order
// placed is an alert supply_order addressed to the supplier's enterprise:
// its bound accounts hear it live on their own stream and find it with
// their orders; another supplier hears and finds nothing; the region's
// staff see it among their alerts.
test('a supplier is told of an order placed with it, live; another supplier is not', async () => {
  // the dispatch of before(): one alert each, A's naming A only
  const a0 = (await ok(entA.get('/api/v1/supply/orders'))).alerts;
  assert.equal(a0.length, 1, JSON.stringify(a0));
  assert.deepEqual([a0[0].kind, a0[0].kind_label, a0[0].enterprise_id, a0[0].detail.delivery_id], ['supply_order', '新电子订货', A, dA]);
  assert.match(a0[0].message, /^向北京康护医疗用品有限公司下达电子订货：60 件/);
  assert.deepEqual((await ok(entB.get('/api/v1/supply/orders'))).alerts.map((x) => x.detail.delivery_id), [dB]);
  const staff = (await ok(cs.get('/api/v1/alerts?kind=supply_order'))).items;
  assert.equal(staff.length, 2, 'the community\'s staff see both orders placed');
  assert.equal((await ok(csOther.get('/api/v1/alerts?kind=supply_order'))).items.length, 0);
  // live: A's stream hears a new order placed with A; B's hears nothing
  const sA = await openStream(ctx.url, entA, {}, '/api/v1/supply/orders/stream');
  const sB = await openStream(ctx.url, entB, {}, '/api/v1/supply/orders/stream');
  try {
    assert.equal(sA.status, 200);
    assert.match(sA.type, /^text\/event-stream/);
    assert.equal((await openStream(ctx.url, entLoose, {}, '/api/v1/supply/orders/stream')).status, 403); // unbound
    assert.equal((await openStream(ctx.url, cs, {}, '/api/v1/supply/orders/stream')).status, 403); // not a supplier
    const filed = await ok(cs.post('/api/v1/supply/requests', {
      region_code: COMMUNITY, requester: 'community', urgency: 'normal', needed_by: '2030-01-03 18:00',
      lines: [{ product_id: '31', quantity: 30 }],
    }), 201);
    const r = await ok(cc.get(`/api/v1/supply/requests/${filed.id}`));
    await ok(cc.post(`/api/v1/supply/requests/${r.id}/dispatch`, { orders: [{ line_id: r.lines[0].id, enterprise_id: A, quantity: 30 }] }));
    assert.ok(await until(() => sA.events.length >= 1), 'A hears its order');
    assert.equal(sA.events[0].event, 'alert');
    assert.equal(sA.events[0].data.enterprise_id, A);
    assert.equal(sA.events[0].data.detail.request_id, r.id);
    // then one for B: B's stream, open all along, hears that one only
    const f2 = await ok(cs.post('/api/v1/supply/requests', {
      region_code: COMMUNITY, requester: 'community', urgency: 'normal', needed_by: '2030-01-03 18:00',
      lines: [{ product_id: '31', quantity: 20 }],
    }), 201);
    const r2 = await ok(cc.get(`/api/v1/supply/requests/${f2.id}`));
    await ok(cc.post(`/api/v1/supply/requests/${r2.id}/dispatch`, { orders: [{ line_id: r2.lines[0].id, enterprise_id: B, quantity: 20 }] }));
    assert.ok(await until(() => sB.events.length >= 1), 'B hears its order');
    assert.deepEqual(sB.events.map((e) => e.data.detail.request_id), [r2.id]);
    assert.deepEqual(sA.events.map((e) => e.data.detail.request_id), [r.id]);
    assert.equal((await ok(entA.get('/api/v1/supply/orders'))).alerts.length, 2);
    assert.equal((await ok(entB.get('/api/v1/supply/orders'))).alerts.length, 2);
    // a resumed stream (Last-Event-ID, e.g. after its server died) first gets
    // the orders after it, its enterprise's only, once; a bad id is refused
    const oldest = (await ok(entB.get('/api/v1/supply/orders'))).alerts.map((x) => x.id).sort()[0];
    const again = await openStream(ctx.url, entB, { 'Last-Event-ID': oldest }, '/api/v1/supply/orders/stream');
    try {
      assert.ok(await until(() => again.events.length >= 1), 'the missed order is replayed');
      await sleep(200);
      assert.deepEqual(again.events.map((e) => e.data.detail.request_id), [r2.id], 'only what came after, only B\'s');
    } finally {
      again.close();
    }
    const bad = await openStream(ctx.url, entB, { 'Last-Event-ID': 'x' }, '/api/v1/supply/orders/stream');
    assert.equal(bad.status, 400);
  } finally {
    sA.close();
    sB.close();
  }
});
