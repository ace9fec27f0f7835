// Supplies and dispatch (docs/supplies.md, src/supply/): the catalogue's
// nine categories, warehouses per region with stock, reports (填报) with
// history, requests filed by a community, dispatch from warehouses and
// electronic orders — a dispatch from an empty warehouse is 409 with nothing
// written, two dispatches racing for the last units give exactly one — the
// deliveries' logistics states and the requester's receipt with a
// shortfall, the chain of every step, the balance per category, the
// supply_shortage alert at a threshold's crossing, and scope throughout.
// One server; the tests build on each other's data.
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { startCityWith, expectError, creditCode, auditEntries, waitForAudit } from './lib.mjs';

const PW = 'Passw0rd!supply';
const DISTRICT = '110101000000'; // 东城区
const STREET = '110101001000'; // 东华门街道
const COMMUNITY = '110101001001'; // 多福巷社区
const OTHER = '110101002001'; // 隆福寺社区
const WEST = '110102001001'; // 府右街社区, 西城区
let ctx, cc, ccWest, cs, csOther, leader, auditor;

async function ok(p, status = 200) {
  const r = await p;
  assert.equal(r.status, status, r.text);
  return r.body;
}

let W = {}; // warehouses by key: their ids
let enterprise; // a supplier
let req1; // the first request (filed by 多福巷社区)

const stockOf = async (client, wid, pid) => {
  const w = (await ok(client.get('/api/v1/supply/warehouses'))).items.find((x) => x.id === wid);
  return w.stock.find((l) => l.product_id === pid)?.quantity ?? 0;
};
const file = (client, lines, extra = {}) =>
  client.post('/api/v1/supply/requests', {
    region_code: COMMUNITY, requester: 'community', urgency: 'urgent', needed_by: '2030-01-02 18:00', lines, ...extra,
  });

before(async () => {
  ctx = await startCityWith(
    {
      s_cc: ['command_center', DISTRICT],
      s_cc_west: ['command_center', '110102000000'],
      s_cs: ['community_staff', COMMUNITY],
      s_cs_other: ['community_staff', OTHER],
      s_leader: ['leader', DISTRICT],
      s_auditor: ['audit_admin', '110000000000'],
    },
    PW,
  );
  ({ s_cc: cc, s_cc_west: ccWest, s_cs: cs, s_cs_other: csOther, s_leader: leader, s_auditor: auditor } = ctx.as);
});
after(async () => { await ctx?.stop(); });

test('the catalogue: nine categories with products; dispatchers add one, bad input and others refused', async () => {
  const cat = (await ok(leader.get('/api/v1/supply/catalogue'))).items;
  assert.deepEqual(cat.map((c) => c.name), ['防护用品', '消杀用品', '检测试剂', '医疗器械', '药品', '采样耗材', '隔离物资', '生活保障物资', '其他']);
  const masks = cat[0].products.find((p) => p.name === '医用外科口罩');
  assert.equal(masks.unit, '只');
  assert.equal(masks.id, '1');
  assert.ok(cat.every((c) => c.products.length > 0));
  const n = cat.reduce((s, c) => s + c.products.length, 0);
  assert.ok(n >= 40, `${n} products`);

  const r = await ok(cc.post('/api/v1/supply/products', { category: 'testing', name: '甲型流感抗原检测试剂', spec: '胶体金 25 人份', unit: '盒' }), 201);
  const after = (await ok(cs.get('/api/v1/supply/catalogue'))).items.find((c) => c.code === 'testing');
  assert.ok(after.products.some((p) => p.id === r.id && p.spec === '胶体金 25 人份'));
  expectError(await cc.post('/api/v1/supply/products', { category: 'testing', name: '甲型流感抗原检测试剂', spec: '胶体金 25 人份', unit: '盒' }), 409, 'duplicate');
  expectError(await cc.post('/api/v1/supply/products', { category: 'weapons', name: 'x', unit: '个' }), 400, 'invalid_value', 'category');
  expectError(await cc.post('/api/v1/supply/products', { category: 'other', name: '', unit: '个' }), 400, 'required', 'name');
  assert.equal((await cc.post('/api/v1/supply/products', { category: 'other', name: '坏\u0001名', unit: '个' })).body.error.field, 'name');
  expectError(await cc.post('/api/v1/supply/products', { category: 'other', name: '多余', unit: '个', price: 3 }), 400, 'unknown_field', 'price');
  expectError(await cs.post('/api/v1/supply/products', { category: 'other', name: '社区加的', unit: '个' }), 403, 'forbidden');
  assert.equal((await ok(cc.get('/api/v1/supply/catalogue'))).items.find((c) => c.code === 'other').products.some((p) => p.name === '多余'), false);
});

test('warehouses per region, optionally run by a supplier; scope and bad input', async () => {
  const ent = await ok(cc.post('/api/v1/enterprises', {
    name: '北京康护医疗用品有限公司', credit_code: creditCode('91110101MA0000777'), region_code: STREET,
    contact_name: '赵六', contact_phone: '13912345670', legal_rep: '钱七', legal_rep_phone: '13698765430',
    employees: 80, address: '东城区东华门大街18号', industry: '制造业',
  }), 201);
  enterprise = ent.id;
  W.district = (await ok(cc.post('/api/v1/supply/warehouses', { region_code: DISTRICT, name: '东城区应急物资储备库', address: '东城区和平里1号' }), 201)).id;
  W.street = (await ok(cc.post('/api/v1/supply/warehouses', { region_code: STREET, name: '东华门街道物资仓', enterprise_id: enterprise }), 201)).id;
  W.empty = (await ok(cc.post('/api/v1/supply/warehouses', { region_code: STREET, name: '东华门街道备用仓' }), 201)).id;
  W.community = (await ok(cc.post('/api/v1/supply/warehouses', { region_code: COMMUNITY, name: '多福巷社区物资点' }), 201)).id;

  expectError(await cc.post('/api/v1/supply/warehouses', { region_code: WEST, name: '越界仓' }), 400, 'invalid_region', 'region_code');
  expectError(await cc.post('/api/v1/supply/warehouses', { region_code: '110101009000', name: '不存在的街道仓' }), 400, 'invalid_region', 'region_code');
  assert.equal((await cc.post('/api/v1/supply/warehouses', { region_code: 'abc', name: '坏区划' })).status, 400);
  expectError(await cc.post('/api/v1/supply/warehouses', { region_code: STREET, name: '坏企业', enterprise_id: '12x' }), 400, 'invalid_id', 'enterprise_id');
  expectError(await cc.post('/api/v1/supply/warehouses', { region_code: STREET, name: '无企业', enterprise_id: '99999999' }), 400, 'invalid_enterprise', 'enterprise_id');
  expectError(await ccWest.post('/api/v1/supply/warehouses', { region_code: WEST, name: '西城仓', enterprise_id: enterprise }), 400, 'invalid_enterprise', 'enterprise_id');
  expectError(await cs.post('/api/v1/supply/warehouses', { region_code: COMMUNITY, name: '社区自建' }), 403, 'forbidden');

  const all = (await ok(cc.get('/api/v1/supply/warehouses'))).items;
  assert.equal(all.length, 4);
  const street = all.find((w) => w.id === W.street);
  assert.equal(street.region_name, '东华门街道');
  assert.equal(street.enterprise_name, '北京康护医疗用品有限公司');
  // a community sees its own warehouse only; another district sees none of these
  assert.deepEqual((await ok(cs.get('/api/v1/supply/warehouses'))).items.map((w) => w.name), ['多福巷社区物资点']);
  assert.equal((await ok(ccWest.get('/api/v1/supply/warehouses'))).total, 0);
});

test('reports (填报): stock sets the stock with history, production by a supplier, needs by a site; bad input', async () => {
  await ok(cc.post('/api/v1/supply/reports', { kind: 'stock', warehouse_id: W.district, product_id: '1', quantity: 1000, threshold: 200 }), 201);
  await ok(cc.post('/api/v1/supply/reports', { kind: 'stock', warehouse_id: W.street, product_id: '1', quantity: 300, threshold: 100 }), 201);
  await ok(cc.post('/api/v1/supply/reports', { kind: 'stock', warehouse_id: W.street, product_id: '31', quantity: 5, threshold: 0 }), 201);
  await ok(cc.post('/api/v1/supply/reports', { kind: 'stock', warehouse_id: W.community, product_id: '20', quantity: 40, note: '盘点' }), 201);
  // a second count replaces the stock and keeps the threshold; both stay in the history
  await ok(cc.post('/api/v1/supply/reports', { kind: 'stock', warehouse_id: W.district, product_id: '1', quantity: 900 }), 201);
  assert.equal(await stockOf(cc, W.district, '1'), 900);
  const line = (await ok(cc.get('/api/v1/supply/warehouses'))).items.find((w) => w.id === W.district).stock[0];
  assert.equal(line.threshold, 200);
  assert.equal(line.product_name, '医用外科口罩');
  assert.equal(line.category_name, '防护用品');

  await ok(cc.post('/api/v1/supply/reports', { kind: 'production', enterprise_id: enterprise, product_id: '4', capacity: 5000, output: 4200 }), 201);
  await ok(cs.post('/api/v1/supply/reports', { kind: 'need', region_code: COMMUNITY, product_id: '31', quantity: 300, note: '每日抗原' }), 201);

  const hist = (await ok(cc.get('/api/v1/supply/reports?kind=stock'))).items;
  assert.equal(hist.length, 5);
  assert.deepEqual(hist.filter((h) => h.warehouse_name === '东城区应急物资储备库').map((h) => h.quantity), [900, 1000]);
  const prod = (await ok(cc.get('/api/v1/supply/reports?kind=production'))).items[0];
  assert.equal(prod.enterprise_name, '北京康护医疗用品有限公司');
  assert.equal(prod.capacity, 5000);
  assert.equal(prod.output, 4200);
  assert.equal(prod.kind_label, '产能填报');
  // the community sees the reports of its region only
  const mine = (await ok(cs.get('/api/v1/supply/reports'))).items;
  assert.deepEqual(mine.map((h) => h.kind).sort(), ['need', 'stock']);
  assert.equal(mine.find((h) => h.kind === 'need').reported_by_name !== undefined, true);

  expectError(await cc.post('/api/v1/supply/reports', { kind: 'guess', product_id: '1', quantity: 1 }), 400, 'invalid_value', 'kind');
  expectError(await cc.post('/api/v1/supply/reports', { kind: 'stock', product_id: '1', quantity: 1 }), 400, 'required', 'warehouse_id');
  expectError(await cc.post('/api/v1/supply/reports', { kind: 'stock', warehouse_id: W.district, product_id: '1' }), 400, 'required', 'quantity');
  expectError(await cc.post('/api/v1/supply/reports', { kind: 'stock', warehouse_id: W.district, product_id: '1', quantity: -1 }), 400, 'out_of_range', 'quantity');
  expectError(await cc.post('/api/v1/supply/reports', { kind: 'stock', warehouse_id: W.district, product_id: '777', quantity: 1 }), 400, 'invalid_product', 'product_id');
  expectError(await cc.post('/api/v1/supply/reports', { kind: 'production', product_id: '4', capacity: 1 }), 400, 'required', 'enterprise_id');
  expectError(await cc.post('/api/v1/supply/reports', { kind: 'need', region_code: WEST, product_id: '4', quantity: 1 }), 400, 'invalid_region', 'region_code');
  // a warehouse outside the scope is one answer with "no such warehouse"
  expectError(await cs.post('/api/v1/supply/reports', { kind: 'stock', warehouse_id: W.district, product_id: '1', quantity: 0 }), 404, 'not_found');
  expectError(await cc.get('/api/v1/supply/reports?kind=x'), 400, 'invalid_parameter', 'kind');
  assert.equal(await stockOf(cc, W.district, '1'), 900, 'refused reports changed nothing');
  assert.equal((await ok(cc.get('/api/v1/supply/reports'))).items.length, 7);
});

test('requests: a community files one; bad input; scope (a community sees only its own)', async () => {
  req1 = await ok(file(cs, [{ product_id: '1', quantity: 500 }, { product_id: '31', quantity: 100 }], { note: '封控楼栋' }), 201);
  assert.equal(req1.state, 'open');
  assert.equal(req1.state_label, '待调度');
  assert.equal(req1.region_name, '多福巷社区');
  assert.equal(req1.urgency_label, '紧急');
  assert.deepEqual(req1.lines.map((l) => [l.product_name, l.quantity, l.remaining]), [['医用外科口罩', 500, 500], ['新型冠状病毒抗原检测试剂盒', 100, 100]]);
  assert.deepEqual(req1.chain.map((c) => c.action_label), ['提交需求']);

  const bad = [
    [{ lines: [] }, 'out_of_range', 'lines'],
    [{ lines: [{ product_id: '777', quantity: 1 }] }, 'invalid_product', 'lines[0].product_id'],
    [{ lines: [{ product_id: '1', quantity: 0 }] }, 'out_of_range', 'lines[0].quantity'],
    [{ lines: [{ product_id: '1', quantity: 1 }, { product_id: '1', quantity: 2 }] }, 'duplicate_product', 'lines[1].product_id'],
    [{ lines: ['x'] }, 'invalid_type', 'lines[0]'],
    [{ lines: [{ product_id: '1', quantity: 1 }], needed_by: '2030-13-40' }, 'invalid_time', 'needed_by'],
    [{ lines: [{ product_id: '1', quantity: 1 }], requester: 'quarantine' }, 'required', 'site_name'],
    [{ lines: [{ product_id: '1', quantity: 1 }], urgency: 'now' }, 'invalid_value', 'urgency'],
    [{ lines: [{ product_id: '1', quantity: 1 }], region_code: OTHER }, 'invalid_region', 'region_code'],
  ];
  for (const [over, code, field] of bad) {
    const { lines, ...extra } = over;
    expectError(await file(cs, lines, extra), 400, code, field);
  }
  // a quarantine site's request names the site
  const q = await ok(file(cs, [{ product_id: '4', quantity: 20 }], { requester: 'quarantine', site_name: '东华门集中隔离点' }), 201);
  assert.equal(q.requester_label, '隔离点');

  const mine = await ok(cs.get('/api/v1/supply/requests'));
  assert.equal(mine.total, 2);
  assert.equal((await ok(csOther.get('/api/v1/supply/requests'))).total, 0);
  expectError(await csOther.get(`/api/v1/supply/requests/${req1.id}`), 404, 'not_found');
  expectError(await cc.get('/api/v1/supply/requests?state=nope'), 400, 'invalid_parameter', 'state');
  assert.equal((await ok(cc.get('/api/v1/supply/requests?state=open'))).total, 2);
  // the refused read is audited, the read too
  assert.equal((await ok(cs.get(`/api/v1/supply/requests/${req1.id}`))).lines.length, 2);
  const refused = await waitForAudit(auditor, 'action=supply.request.read', (x) => x.result === 'not_found');
  assert.ok(refused.some((x) => x.result === 'not_found'));
  const read = await waitForAudit(auditor, 'action=supply.request.read', (x) => x.result === 'ok');
  assert.ok(read.some((x) => x.result === 'ok'));
});

test('a dispatch from an empty warehouse is 409 insufficient_stock: stock, request and chain unchanged', async () => {
  const [masks, kits] = req1.lines;
  // the street's empty warehouse has no masks at all; the district's lines come first and would pass
  const r = await cc.post(`/api/v1/supply/requests/${req1.id}/dispatch`, {
    allocations: [
      { line_id: masks.id, warehouse_id: W.district, quantity: 300 },
      { line_id: masks.id, warehouse_id: W.empty, quantity: 200 },
    ],
  });
  expectError(r, 409, 'insufficient_stock', 'allocations[1].quantity');
  // short (5 kits in the street's warehouse, 100 asked)
  expectError(await cc.post(`/api/v1/supply/requests/${req1.id}/dispatch`, {
    allocations: [{ line_id: kits.id, warehouse_id: W.street, quantity: 100 }],
  }), 409, 'insufficient_stock', 'allocations[0].quantity');
  assert.equal(await stockOf(cc, W.district, '1'), 900);
  assert.equal(await stockOf(cc, W.street, '31'), 5);
  const again = await ok(cc.get(`/api/v1/supply/requests/${req1.id}`));
  assert.equal(again.state, 'open');
  assert.deepEqual(again.lines.map((l) => [l.allocated, l.ordered]), [[0, 0], [0, 0]]);
  assert.equal(again.deliveries.length, 0);
  assert.deepEqual(again.chain.map((c) => c.action), ['filed']);
  const audits = await auditEntries(auditor, 'supply.request.dispatch', req1.id);
  assert.ok(audits.some((a) => a.result === 'insufficient_stock'), JSON.stringify(audits));
});

test('dispatch: bad input refused with nothing written; community staff may not dispatch', async () => {
  const [masks] = req1.lines;
  const url = `/api/v1/supply/requests/${req1.id}/dispatch`;
  expectError(await cc.post(url, {}), 400, 'required', 'allocations');
  expectError(await cc.post(url, { allocations: [{ line_id: masks.id, warehouse_id: W.district, quantity: 501 }] }), 400, 'over_quantity', 'allocations[0].quantity');
  expectError(await cc.post(url, { allocations: [{ line_id: '123', warehouse_id: W.district, quantity: 1 }] }), 400, 'invalid_line', 'allocations[0].line_id');
  expectError(await cc.post(url, { allocations: [{ line_id: masks.id, warehouse_id: '123', quantity: 1 }] }), 400, 'invalid_warehouse', 'allocations[0].warehouse_id');
  expectError(await cc.post(url, { allocations: [{ line_id: masks.id, warehouse_id: W.district, quantity: 0 }] }), 400, 'out_of_range', 'allocations[0].quantity');
  expectError(await cc.post(url, { allocations: [{ line_id: masks.id, warehouse_id: W.district }] }), 400, 'required', 'allocations[0].quantity');
  expectError(await cc.post(url, { orders: [{ line_id: masks.id, enterprise_id: '5', quantity: 1 }] }), 400, 'invalid_enterprise', 'orders[0].enterprise_id');
  expectError(await cc.post(url, { allocations: [{ line_id: masks.id, warehouse_id: W.district, quantity: 1 }], driver_phone: '12345' }), 400, 'invalid_phone', 'driver_phone');
  expectError(await cc.post(url, {
    allocations: [{ line_id: masks.id, warehouse_id: W.district, quantity: 1 }, { line_id: masks.id, warehouse_id: W.district, quantity: 1 }],
  }), 400, 'duplicate_line', 'allocations[1].line_id');
  expectError(await cs.post(url, { allocations: [{ line_id: masks.id, warehouse_id: W.community, quantity: 1 }] }), 403, 'forbidden');
  expectError(await ccWest.post(url, { allocations: [{ line_id: masks.id, warehouse_id: W.district, quantity: 1 }] }), 404, 'not_found');
  expectError(await cc.post('/api/v1/supply/requests/abc/dispatch', {}), 404, 'not_found');
  assert.equal(await stockOf(cc, W.district, '1'), 900);
  assert.equal((await ok(cc.get(`/api/v1/supply/requests/${req1.id}`))).deliveries.length, 0);
});

test('dispatch from two warehouses and an electronic order; a shortage alert at the threshold', async () => {
  const [masks, kits] = req1.lines;
  const d = await ok(cc.post(`/api/v1/supply/requests/${req1.id}/dispatch`, {
    allocations: [
      { line_id: masks.id, warehouse_id: W.district, quantity: 300 },
      { line_id: masks.id, warehouse_id: W.street, quantity: 200 }, // 300 → 100: at the threshold, not under
      { line_id: kits.id, warehouse_id: W.street, quantity: 5 },
    ],
    orders: [{ line_id: kits.id, enterprise_id: enterprise, quantity: 95 }],
    carrier: '顺丰速运', vehicle: '京A12345', driver_phone: '13800138000',
  }));
  assert.equal(d.state, 'dispatched');
  assert.deepEqual(d.lines.map((l) => [l.allocated, l.ordered, l.remaining]), [[500, 0, 0], [5, 95, 0]]);
  assert.equal(d.deliveries.length, 3);
  const bySource = Object.fromEntries(d.deliveries.map((v) => [v.source_name, v]));
  assert.deepEqual(bySource['东华门街道物资仓'].lines.map((l) => [l.product_name, l.quantity]), [['医用外科口罩', 200], ['新型冠状病毒抗原检测试剂盒', 5]]);
  assert.equal(bySource['北京康护医疗用品有限公司'].source_label, '电子订货');
  assert.equal(bySource['东城区应急物资储备库'].state_label, '待发货');
  assert.equal(bySource['东城区应急物资储备库'].driver_phone, '138****8000');
  assert.equal(await stockOf(cc, W.district, '1'), 600);
  assert.equal(await stockOf(cc, W.street, '1'), 100);
  assert.equal(await stockOf(cc, W.street, '31'), 0);
  assert.deepEqual(d.chain.map((c) => c.action), ['filed', 'allocated', 'allocated', 'ordered']);
  // a dispatched request is not dispatched again
  expectError(await cc.post(`/api/v1/supply/requests/${req1.id}/dispatch`, { allocations: [{ line_id: masks.id, warehouse_id: W.district, quantity: 1 }] }), 409, 'invalid_transition');

  // the street warehouse's masks sit at the threshold (100): one more unit crosses it, once
  const small = await ok(file(cs, [{ product_id: '1', quantity: 10 }]), 201);
  await ok(cc.post(`/api/v1/supply/requests/${small.id}/dispatch`, { allocations: [{ line_id: small.lines[0].id, warehouse_id: W.street, quantity: 5 }] }));
  const alerts = (await ok(cc.get('/api/v1/alerts?kind=supply_shortage'))).items;
  assert.equal(alerts.length, 1, JSON.stringify(alerts));
  assert.match(alerts[0].message, /东华门街道物资仓.*医用外科口罩.*95/);
  assert.equal(alerts[0].region_code, STREET.padEnd(18, '0'));
  // under it already: the next take raises nothing more; the district's stock (600 ≥ 200) none
  const still = await ok(cc.get(`/api/v1/supply/requests/${small.id}`));
  assert.equal(still.state, 'open', 'half covered stays open');
  await ok(cc.post(`/api/v1/supply/requests/${small.id}/dispatch`, { allocations: [{ line_id: small.lines[0].id, warehouse_id: W.street, quantity: 5 }] }));
  assert.equal((await ok(cc.get('/api/v1/alerts?kind=supply_shortage'))).items.length, 1);
  // the community sees no alert of the street
  assert.equal((await ok(cs.get('/api/v1/alerts?kind=supply_shortage'))).items.length, 0);
});

test('two dispatches racing for the last units: exactly one succeeds', async () => {
  // the community warehouse holds 40 bottles of disinfectant; two requests want 30 each
  const a = await ok(file(cs, [{ product_id: '20', quantity: 30 }]), 201);
  const b = await ok(file(cs, [{ product_id: '20', quantity: 30 }]), 201);
  const go = (q) => cc.post(`/api/v1/supply/requests/${q.id}/dispatch`, { allocations: [{ line_id: q.lines[0].id, warehouse_id: W.community, quantity: 30 }] });
  const rs = await Promise.all([go(a), go(b)]);
  assert.deepEqual(rs.map((r) => r.status).sort(), [200, 409], rs.map((r) => r.text).join('\n'));
  const lost = rs.find((r) => r.status === 409);
  expectError(lost, 409, 'insufficient_stock');
  assert.equal(await stockOf(cc, W.community, '20'), 10);
  const states = await Promise.all([a, b].map(async (q) => (await ok(cc.get(`/api/v1/supply/requests/${q.id}`))).state));
  assert.deepEqual(states.sort(), ['dispatched', 'open']);
});

test('deliveries: ship, arrive, receipt with a shortfall; the request received; the chain shows every step', async () => {
  let r = await ok(cc.get(`/api/v1/supply/requests/${req1.id}`));
  const [dDistrict, dStreet, dOrder] = r.deliveries;
  // steps out of order, bad input, a community dispatching
  expectError(await cc.post(`/api/v1/supply/deliveries/${dDistrict.id}/arrive`), 409, 'invalid_transition');
  expectError(await cs.post(`/api/v1/supply/deliveries/${dDistrict.id}/receipt`, {}), 409, 'invalid_transition');
  expectError(await cc.post(`/api/v1/supply/deliveries/${dDistrict.id}/ship`, { driver_phone: 'abc' }), 400, 'invalid_phone', 'driver_phone');
  expectError(await cs.post(`/api/v1/supply/deliveries/${dDistrict.id}/ship`, {}), 403, 'forbidden');
  expectError(await ccWest.post(`/api/v1/supply/deliveries/${dDistrict.id}/ship`, {}), 404, 'not_found');

  await ok(cc.post(`/api/v1/supply/deliveries/${dDistrict.id}/ship`, { carrier: '京东物流', vehicle: '京B54321', driver_phone: '13911112222' }));
  await ok(cc.post(`/api/v1/supply/deliveries/${dDistrict.id}/arrive`));
  expectError(await cc.post(`/api/v1/supply/deliveries/${dDistrict.id}/ship`, {}), 409, 'invalid_transition');
  // receipt: bad lines first
  const line = dDistrict.lines[0].line_id;
  expectError(await cs.post(`/api/v1/supply/deliveries/${dDistrict.id}/receipt`, { lines: [{ line_id: line, received: 301 }] }), 400, 'over_quantity', 'lines[0].received');
  expectError(await cs.post(`/api/v1/supply/deliveries/${dDistrict.id}/receipt`, { lines: [{ line_id: '42', received: 1 }] }), 400, 'invalid_line', 'lines[0].line_id');
  expectError(await cs.post(`/api/v1/supply/deliveries/${dDistrict.id}/receipt`, { lines: [{ line_id: line, received: -1 }] }), 400, 'out_of_range', 'lines[0].received');
  expectError(await csOther.post(`/api/v1/supply/deliveries/${dDistrict.id}/receipt`, {}), 404, 'not_found');
  r = await ok(cs.post(`/api/v1/supply/deliveries/${dDistrict.id}/receipt`, { lines: [{ line_id: line, received: 290 }] }));
  const signed = r.deliveries.find((v) => v.id === dDistrict.id);
  assert.equal(signed.state, 'signed');
  assert.equal(signed.shortfall, 10);
  assert.equal(signed.carrier, '京东物流');
  assert.equal(signed.driver_phone, '139****2222');
  assert.ok(signed.shipped_at <= signed.arrived_at && signed.arrived_at <= signed.signed_at);
  assert.equal(r.state, 'dispatched', 'two deliveries still on their way');
  expectError(await cs.post(`/api/v1/supply/deliveries/${dDistrict.id}/receipt`, {}), 409, 'invalid_transition');

  // the other two: received in full straight from shipping
  for (const v of [dStreet, dOrder]) {
    await ok(cc.post(`/api/v1/supply/deliveries/${v.id}/ship`, {}));
    r = await ok(cs.post(`/api/v1/supply/deliveries/${v.id}/receipt`, {}));
  }
  assert.equal(r.state, 'received');
  assert.equal(r.state_label, '已签收');
  assert.deepEqual(r.lines.map((l) => l.received), [490, 100]);
  assert.deepEqual(r.chain.map((c) => c.action_label), [
    '提交需求', '仓库调拨', '仓库调拨', '电子订货', '发货', '送达', '签收', '发货', '签收', '发货', '签收',
  ]);
  assert.match(r.chain[6].detail, /实收 290 件，短缺 10 件/);
  assert.ok(r.chain.every((c) => c.user_name), 'each step names its user');
  // the driver's phone is stored sealed: not in the database in clear
  const audits = await auditEntries(auditor, 'supply.delivery.receipt', dDistrict.id);
  assert.ok(audits.some((a) => a.result === 'ok'));
});

test('balance per category: stock, on order, open needs; region narrows it; outside the scope refused', async () => {
  // an open need the warehouses cannot cover
  await ok(file(cs, [{ product_id: '43', quantity: 4 }]), 201);
  const b = (await ok(leader.get('/api/v1/supply/balance'))).items;
  assert.equal(b.length, 9);
  const dev = b.find((x) => x.category === 'device');
  assert.equal(dev.category_name, '医疗器械');
  assert.deepEqual([dev.stock, dev.open_need, dev.gap, dev.short], [0, 4, 4, true]);
  const prot = b.find((x) => x.category === 'protective');
  // 600 + 90 masks in stock; the quarantine request's 20 suits are open
  assert.deepEqual([prot.stock, prot.open_need, prot.short], [690, 20, false]);
  // days of cover: the community needs 300 antigen kits a day (its need report), the
  // warehouses hold fewer than three days' worth; no need reported: null
  const kits = b.find((x) => x.category === 'testing');
  assert.equal(kits.daily_need, 300);
  assert.equal(kits.days_of_cover, Math.floor((kits.stock * 10) / 300) / 10);
  assert.ok(kits.stock < 900, `${kits.stock}`);
  assert.deepEqual([kits.cover_short, kits.short], [true, true]);
  assert.deepEqual([prot.daily_need, prot.days_of_cover, prot.cover_short], [0, null, false]);
  // a newer report replaces the site's figure: 1 a day is covered for days
  await ok(cs.post('/api/v1/supply/reports', { kind: 'need', region_code: COMMUNITY, product_id: '31', quantity: 1 }), 201);
  const kits2 = (await ok(leader.get('/api/v1/supply/balance'))).items.find((x) => x.category === 'testing');
  assert.equal(kits2.daily_need, 1);
  assert.equal(kits2.cover_short, kits2.stock < 3);
  const comm = (await ok(leader.get(`/api/v1/supply/balance?region=${COMMUNITY}`))).items;
  assert.equal(comm.find((x) => x.category === 'disinfection').stock, 10);
  assert.equal(comm.find((x) => x.category === 'protective').stock, 0);
  expectError(await leader.get('/api/v1/supply/balance?region=xyz'), 400, 'invalid_region', 'region');
  expectError(await leader.get(`/api/v1/supply/balance?region=${WEST}`), 404, 'not_found');
  expectError(await ccWest.get('/api/v1/supply/requests?page=0'), 400, 'invalid_parameter', 'page');
});

test('the workbench counts open requests and short stock lines in scope', async () => {
  const wb = async (c) => Object.fromEntries((await ok(c.get('/api/v1/workbench'))).entries.filter((e) => e.key.startsWith('supply_')).map((e) => [e.key, e.count]));
  // open: the quarantine site's, the race's loser, the ventilators; short: the street's masks (90 < 100)
  assert.deepEqual(await wb(cc), { supply_requests_open: 3, supply_short: 1 });
  assert.deepEqual(await wb(cs), { supply_requests_open: 3, supply_short: 0 });
  assert.deepEqual(await wb(csOther), { supply_requests_open: 0, supply_short: 0 });
  assert.deepEqual(await wb(ccWest), { supply_requests_open: 0, supply_short: 0 });
});

test('cancellation: an open request nothing was dispatched for, with its reason; others refused; a race with a dispatch gives one', async () => {
  const fresh = async (lines = [{ product_id: '1', quantity: 5 }]) => (await ok(file(cs, lines), 201));
  const cancel = (client, id, body = { reason: '已由街道直接配发' }) => client.post(`/api/v1/supply/requests/${id}/cancel`, body);
  const r = await fresh();
  expectError(await cancel(cs, r.id, {}), 400, 'required', 'reason');
  expectError(await cancel(cs, r.id, { reason: '' }), 400, 'required', 'reason');
  const twoLines = await cancel(cs, r.id, { reason: '第一行\n第二行' });
  assert.deepEqual([twoLines.status, twoLines.body.error.field], [400, 'reason']);
  expectError(await cancel(cs, r.id, { reason: 'x'.repeat(201) }), 400, 'too_long', 'reason');
  expectError(await cancel(csOther, r.id), 404, 'not_found');
  expectError(await cancel(ccWest, r.id), 404, 'not_found');
  expectError(await cancel(leader, r.id), 403, 'forbidden');
  assert.equal((await ok(cs.get(`/api/v1/supply/requests/${r.id}`))).state, 'open'); // the refusals changed nothing

  const done = await ok(cancel(cs, r.id));
  assert.equal(done.state, 'cancelled');
  assert.equal(done.state_label, '已取消');
  const last = done.chain[done.chain.length - 1];
  assert.deepEqual([last.action_label, last.detail], ['取消', '已由街道直接配发']);
  expectError(await cancel(cs, r.id), 409, 'invalid_transition', 'state');
  expectError(await cc.post(`/api/v1/supply/requests/${r.id}/dispatch`, { allocations: [{ line_id: done.lines[0].id, warehouse_id: W.district, quantity: 5 }] }), 409, 'invalid_transition');
  expectError(await cancel(cs, req1.id), 409, 'invalid_transition', 'state'); // received long ago

  // partly dispatched: deliveries are under way, so no cancellation
  const part = await fresh([{ product_id: '1', quantity: 10 }]);
  await ok(cc.post(`/api/v1/supply/requests/${part.id}/dispatch`, { allocations: [{ line_id: part.lines[0].id, warehouse_id: W.district, quantity: 4 }] }));
  expectError(await cancel(cs, part.id), 409, 'invalid_transition', 'state');
  assert.equal((await ok(cs.get(`/api/v1/supply/requests/${part.id}`))).state, 'open');

  // a cancel and a dispatch at once: exactly one wins, and the stock says which
  const before = await stockOf(cc, W.district, '1');
  const race = await fresh([{ product_id: '1', quantity: 3 }]);
  const [c, d] = await Promise.all([
    cancel(cs, race.id),
    cc.post(`/api/v1/supply/requests/${race.id}/dispatch`, { allocations: [{ line_id: race.lines[0].id, warehouse_id: W.district, quantity: 3 }] }),
  ]);
  assert.deepEqual([c.status, d.status].sort(), [200, 409], `${c.text} ${d.text}`);
  const after = await stockOf(cc, W.district, '1');
  const final = await ok(cc.get(`/api/v1/supply/requests/${race.id}`));
  if (c.status === 200) {
    assert.equal(final.state, 'cancelled');
    assert.equal(after, before);
    assert.equal(final.deliveries.length, 0);
  } else {
    assert.equal(final.state, 'dispatched');
    assert.equal(after, before - 3);
  }
  const audits = await auditEntries(auditor, 'supply.request.cancel', r.id);
  assert.ok(audits.some((a) => a.result === 'ok'));
});
