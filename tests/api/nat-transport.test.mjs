// Transport (/api/v1/nat/boxes, /api/v1/nat/transport/batch, issue 10 part
// 3): a box packed with closed tubes at its site, sealed, taken over by a
// courier and signed for by the laboratory, with its chain; every refusal
// with its code and field and nothing changed; scope (another street's box
// answers 404); the overdue alert raised once by the sweep; the live push
// (nat.box); the batch ingest, idempotent, with per-record errors.
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { startCityWith, CITY_STAFF, expectError, auditEntries, sqlRun, residentId, openStream, until, sleep } from './lib.mjs';

const PW = 'Nat-transport-2024!';
const S1 = '110101001000'; // 东华门街道
const S1_C1 = '110101001001'; // 多福巷社区
const S2 = '110101002000'; // 景山街道
const S2_C1 = '110101002001';
let ctx, cc, street1, staff1, staff2, courier1, courier2, lab, auditor;
let siteA, siteB;
let seq = 0;

before(async () => {
  ctx = await startCityWith(
    {
      ...CITY_STAFF,
      street1: ['street_staff', S1],
      staff1: ['site_staff', S1],
      staff2: ['site_staff', S2],
      courier1: ['courier', S1],
      courier2: ['courier', S2],
      lab: ['lab', '110101000000'],
    },
    PW,
    // the sweep every second, a transit limit of one minute
    { env: { FK_NAT_SWEEP: '1', FK_NAT_TRANSIT_LIMIT: '1' } },
  );
  ({ cc_dc: cc, street1, staff1, staff2, courier1, courier2, lab, auditor } = ctx.as);
  let r = await cc.post('/api/v1/nat/sites', { name: '多福巷核酸点', kind: 'fixed', region_code: S1_C1 });
  assert.equal(r.status, 201, r.text);
  siteA = r.body;
  r = await cc.post('/api/v1/nat/sites', { name: '景山核酸点', kind: 'temporary', region_code: S2_C1 });
  assert.equal(r.status, 201, r.text);
  siteB = r.body;
  assert.equal((await staff1.post(`/api/v1/nat/sites/${siteA.id}/clock-in`, {})).status, 201);
  assert.equal((await staff2.post(`/api/v1/nat/sites/${siteB.id}/clock-in`, {})).status, 201);
});

after(async () => {
  await ctx?.stop();
});

// A closed single tube of the staff's site (one sample fills it).
async function tube(staff, barcode, region = S1_C1) {
  const id_number = residentId('110101', '19900303', 300 + ++seq * 2);
  let r = await cc.post('/api/v1/persons', { name: `转运${seq}号`, id_number, region_code: region });
  assert.equal(r.status, 201, r.text);
  r = await staff.post('/api/v1/nat/samples', { id_number, barcode });
  assert.equal(r.status, 201, r.text);
  assert.equal(r.body.tube_closed, true);
  return barcode;
}

// An open pooled tube (one sample of five).
async function openTube(staff, barcode) {
  const id_number = residentId('110101', '19900404', 300 + ++seq * 2);
  let r = await cc.post('/api/v1/persons', { name: `开管${seq}号`, id_number, region_code: S1_C1 });
  assert.equal(r.status, 201, r.text);
  r = await staff.post('/api/v1/nat/samples', { id_number, barcode, tube_kind: 'pool5' });
  assert.equal(r.status, 201, r.text);
  return barcode;
}

const one = (sql) => sqlRun(ctx, sql).trim();
const state = () =>
  one(
    "SELECT (SELECT COUNT(*) FROM nat_boxes), (SELECT COALESCE(SUM(tubes), 0) FROM nat_boxes), (SELECT COUNT(*) FROM nat_handovers), (SELECT COUNT(*) FROM nat_transport_records), (SELECT COUNT(*) FROM nat_tubes WHERE state <> 'closed' AND state <> 'open'), (SELECT string_agg(state, ',') FROM (SELECT state FROM nat_boxes ORDER BY id) x)".replace(
      'string_agg(state, \',\')',
      ctx.dbUrl ? "string_agg(state, ',')" : "group_concat(state, ',')",
    ),
  );

// A sealed box of `tubes` at site A.
async function sealedBox(barcode, tubes) {
  let r = await staff1.post('/api/v1/nat/boxes', { barcode });
  assert.equal(r.status, 201, r.text);
  for (const t of tubes) {
    r = await staff1.post(`/api/v1/nat/boxes/${barcode}/tubes`, { tube: t });
    assert.equal(r.status, 200, r.text);
  }
  r = await staff1.post(`/api/v1/nat/boxes/${barcode}/seal`);
  assert.equal(r.status, 200, r.text);
  return r.body;
}

test('the whole chain: pack at the site, seal, courier takes it, lab signs; tubes follow; the chain names people in order', async () => {
  const stream = await openStream(ctx.url, street1);
  const t1 = await tube(staff1, 'TR-T0001');
  const t2 = await tube(staff1, 'TR-T0002');
  let r = await staff1.post('/api/v1/nat/boxes', { barcode: 'BOX-0001' });
  assert.equal(r.status, 201, r.text);
  assert.equal(r.body.site_name, '多福巷核酸点');
  assert.equal(r.body.region_name, '多福巷社区');
  assert.equal(r.body.state, 'packed');
  assert.equal(r.body.state_label, '已装箱');
  assert.equal(r.body.sealed, false);
  assert.equal(r.body.tubes, 0);
  for (const t of [t1, t2]) {
    r = await staff1.post('/api/v1/nat/boxes/BOX-0001/tubes', { tube: t });
    assert.equal(r.status, 200, r.text);
  }
  assert.equal(r.body.tubes, 2);
  assert.equal((await cc.get(`/api/v1/nat/tubes/${t1}`)).body.state, 'packed');
  r = await staff1.post('/api/v1/nat/boxes/BOX-0001/seal');
  assert.equal(r.status, 200, r.text);
  assert.equal(r.body.sealed, true);
  assert.equal(r.body.holder_name, 'staff1');
  r = await courier1.post('/api/v1/nat/boxes/BOX-0001/take', { lng: 116.4, lat: 39.91 });
  assert.equal(r.status, 200, r.text);
  assert.equal(r.body.state, 'in_transit');
  assert.equal(r.body.holder_name, 'courier1');
  assert.equal((await cc.get(`/api/v1/nat/tubes/${t2}`)).body.state, 'in_transit');
  r = await lab.post('/api/v1/nat/boxes/BOX-0001/receive', {});
  assert.equal(r.status, 200, r.text);
  assert.equal(r.body.state, 'received');
  assert.equal(r.body.state_label, '已签收');
  assert.ok(r.body.received_at >= r.body.transit_at);
  r = await cc.get('/api/v1/nat/boxes/BOX-0001');
  assert.equal(r.status, 200, r.text);
  assert.deepEqual(r.body.tube_list.map((t) => [t.barcode, t.state]).sort(), [[t1, 'received'], [t2, 'received']]);
  assert.deepEqual(
    r.body.chain.map((h) => [h.state, h.from_name, h.to_name, h.source]),
    [
      ['in_transit', 'staff1', 'courier1', 'scan'],
      ['received', 'courier1', 'lab', 'scan'],
    ],
  );
  assert.equal(r.body.chain[0].lng, 116.4);
  assert.equal(r.body.chain[1].lng, null);
  assert.ok(r.body.chain[0].at <= r.body.chain[1].at);
  // the live push: every change of the box, in order, to its street
  const got = () => stream.events.filter((e) => e.event === 'nat.box' && e.data.barcode === 'BOX-0001').map((e) => e.data.change);
  assert.ok(await until(() => got().includes('received'), 3000), stream.raw);
  assert.deepEqual(got(), ['create', 'pack', 'pack', 'seal', 'in_transit', 'received']);
  stream.close();
  // audited: every scan
  for (const a of ['nat.box.create', 'nat.box.pack', 'nat.box.seal', 'nat.box.take', 'nat.box.receive'])
    assert.ok((await auditEntries(auditor, a)).some((x) => x.detail.includes('box=BOX-0001')), a);
});

test('packing refusals: open tube, another site, packed twice, unknown tube, sealed box, bad barcodes; nothing changes', async () => {
  const open = await openTube(staff1, 'TR-OPEN1');
  const other = await tube(staff2, 'TR-OTHER1', S2_C1);
  const ok = await tube(staff1, 'TR-T0010');
  let r = await staff1.post('/api/v1/nat/boxes', { barcode: 'BOX-0010' });
  assert.equal(r.status, 201, r.text);
  assert.equal((await staff1.post('/api/v1/nat/boxes/BOX-0010/tubes', { tube: ok })).status, 200);
  const before = state();
  expectError(await staff1.post('/api/v1/nat/boxes/BOX-0010/tubes', { tube: open }), 409, 'tube_open', 'tube');
  expectError(await cc.post('/api/v1/nat/boxes/BOX-0010/tubes', { tube: other }), 409, 'tube_other_site', 'tube');
  expectError(await staff1.post('/api/v1/nat/boxes/BOX-0010/tubes', { tube: ok }), 409, 'tube_packed', 'tube');
  expectError(await staff1.post('/api/v1/nat/boxes/BOX-0010/tubes', { tube: 'NO-SUCH-TUBE' }), 404, 'unknown_tube', 'tube');
  expectError(await staff1.post('/api/v1/nat/boxes/BOX-0010/tubes', { tube: 'x' }), 404, 'unknown_tube', 'tube');
  expectError(await staff1.post('/api/v1/nat/boxes', { barcode: 'BOX-0010' }), 409, 'box_used', 'barcode');
  expectError(await staff1.post('/api/v1/nat/boxes', { barcode: 'bad box!' }), 400, 'invalid_barcode', 'barcode');
  expectError(await staff1.post('/api/v1/nat/boxes', { barcode: ok }), 409, 'tube_used', 'barcode');
  expectError(await staff1.post('/api/v1/nat/boxes', { barcode: 'BOX-0011', site_id: siteB.id }), 404, 'unknown_site', 'site_id');
  expectError(await courier1.post('/api/v1/nat/boxes', { barcode: 'BOX-0012' }), 403, 'forbidden');
  assert.equal((await staff1.post('/api/v1/nat/boxes', { barcode: 'BOX-0013', extra: 1 })).status, 400);
  assert.equal(state(), before);
  // a tube in another box: packed once for ever
  r = await staff1.post('/api/v1/nat/boxes/BOX-0010/seal');
  assert.equal(r.status, 200, r.text);
  const late = await tube(staff1, 'TR-T0011');
  const before2 = state();
  expectError(await staff1.post('/api/v1/nat/boxes/BOX-0010/tubes', { tube: late }), 409, 'box_sealed', 'tube');
  expectError(await staff1.post('/api/v1/nat/boxes/BOX-0010/seal'), 409, 'box_sealed', 'barcode');
  assert.equal((await staff1.post('/api/v1/nat/boxes', { barcode: 'BOX-0014' })).status, 201);
  expectError(await staff1.post('/api/v1/nat/boxes/BOX-0014/seal'), 409, 'box_empty', 'barcode');
  expectError(await staff1.post('/api/v1/nat/boxes/BOX-0014/tubes', { tube: ok }), 409, 'tube_packed', 'tube');
  assert.equal(state().split('|').slice(1, 5).join('|'), before2.split('|').slice(1, 5).join('|'));
  assert.equal((await cc.get(`/api/v1/nat/tubes/${late}`)).body.state, 'closed');
});

test('hand-over refusals: unsealed, double hand-over, receipt not in transit, received twice, wrong role; nothing half-written', async () => {
  const t = await tube(staff1, 'TR-T0020');
  assert.equal((await staff1.post('/api/v1/nat/boxes', { barcode: 'BOX-0020' })).status, 201);
  assert.equal((await staff1.post('/api/v1/nat/boxes/BOX-0020/tubes', { tube: t })).status, 200);
  let before = state();
  expectError(await courier1.post('/api/v1/nat/boxes/BOX-0020/take', {}), 409, 'box_not_sealed', 'barcode');
  expectError(await lab.post('/api/v1/nat/boxes/BOX-0020/receive', {}), 409, 'box_not_in_transit', 'barcode');
  assert.equal(state(), before);
  assert.equal((await staff1.post('/api/v1/nat/boxes/BOX-0020/seal')).status, 200);
  before = state();
  expectError(await lab.post('/api/v1/nat/boxes/BOX-0020/receive', {}), 409, 'box_not_in_transit', 'barcode');
  expectError(await courier1.post('/api/v1/nat/boxes/BOX-0020/take', { lng: 200, lat: 39 }), 400, 'invalid_position', 'lng');
  expectError(await courier1.post('/api/v1/nat/boxes/BOX-0020/take', { lng: 116.4 }), 400, 'invalid_position', 'lat');
  expectError(await staff1.post('/api/v1/nat/boxes/BOX-0020/take', {}), 403, 'forbidden');
  expectError(await courier1.post('/api/v1/nat/boxes/BOX-0020/receive', {}), 403, 'forbidden');
  assert.equal(state(), before);
  // two couriers at once: one wins, the other is told, one hand-over row
  const [a, b] = await Promise.all([courier1.post('/api/v1/nat/boxes/BOX-0020/take', {}), cc.post('/api/v1/nat/boxes/BOX-0020/take', {})]);
  assert.deepEqual([a.status, b.status].sort(), [200, 409], a.text + b.text);
  expectError(a.status === 409 ? a : b, 409, 'box_in_transit', 'barcode');
  expectError(await courier1.post('/api/v1/nat/boxes/BOX-0020/take', {}), 409, 'box_in_transit', 'barcode');
  assert.equal(one("SELECT COUNT(*) FROM nat_handovers h JOIN nat_boxes b ON b.id = h.box_id WHERE b.barcode = 'BOX-0020'"), '1');
  assert.equal((await lab.post('/api/v1/nat/boxes/BOX-0020/receive', {})).status, 200);
  before = state();
  expectError(await lab.post('/api/v1/nat/boxes/BOX-0020/receive', {}), 409, 'box_received', 'barcode');
  expectError(await courier1.post('/api/v1/nat/boxes/BOX-0020/take', {}), 409, 'box_received', 'barcode');
  assert.equal(state(), before);
  const refused = await auditEntries(auditor, 'nat.box.receive');
  assert.ok(refused.some((x) => x.result !== 'ok'), JSON.stringify(refused));
});

test('scope: a box of another street answers 404 to its staff and couriers, and is missing from their lists', async () => {
  const t = await tube(staff2, 'TR-T0030', S2_C1);
  assert.equal((await staff2.post('/api/v1/nat/boxes', { barcode: 'BOX-0030' })).status, 201);
  assert.equal((await staff2.post('/api/v1/nat/boxes/BOX-0030/tubes', { tube: t })).status, 200);
  assert.equal((await staff2.post('/api/v1/nat/boxes/BOX-0030/seal')).status, 200);
  const before = state();
  expectError(await courier1.post('/api/v1/nat/boxes/BOX-0030/take', {}), 404, 'unknown_box', 'barcode');
  expectError(await staff1.post('/api/v1/nat/boxes/BOX-0030/tubes', { tube: t }), 404, 'unknown_box', 'barcode');
  expectError(await street1.get('/api/v1/nat/boxes/BOX-0030'), 404, 'unknown_box');
  assert.equal(state(), before);
  const r = await street1.get('/api/v1/nat/boxes?page_size=100');
  assert.equal(r.status, 200, r.text);
  assert.ok(!r.body.items.some((b) => b.barcode === 'BOX-0030'));
  assert.ok(r.body.items.some((b) => b.barcode === 'BOX-0001'));
  // an empty body: no position
  const took = await courier2.post('/api/v1/nat/boxes/BOX-0030/take', {});
  assert.equal(took.status, 200, took.text);
  // the couriers' workbench: the boxes in transit of their own street
  const inTransit = async (c) => (await c.get('/api/v1/workbench')).body.entries.find((e) => e.key === 'nat_in_transit');
  const w2 = await inTransit(courier2);
  assert.equal(w2.count, 1, JSON.stringify(w2));
  assert.equal(w2.mobile, '/staff/nat/transport');
  assert.equal(await inTransit(street1), undefined, 'street staff neither take nor receive');
});

test('overdue: a box in transit past the limit raises one alert (the sweep, claimed once), is listed as overdue, pushed', async () => {
  const t = await tube(staff1, 'TR-T0040');
  await sealedBox('BOX-0040', [t]);
  assert.equal((await courier1.post('/api/v1/nat/boxes/BOX-0040/take', {})).status, 200);
  let r = await cc.get('/api/v1/nat/boxes?overdue=1&page_size=100');
  assert.ok(!r.body.items.some((b) => b.barcode === 'BOX-0040'));
  const stream = await openStream(ctx.url, cc);
  // two minutes ago: over the one-minute limit
  sqlRun(ctx, "UPDATE nat_boxes SET transit_at = transit_at - 120000 WHERE barcode = 'BOX-0040'");
  const alerts = async () => (await cc.get('/api/v1/alerts?kind=nat_transit_overdue&page_size=100')).body.items.filter((a) => a.message.includes('BOX-0040'));
  let list = [];
  for (let i = 0; i < 60 && list.length === 0; i++) {
    await sleep(100);
    list = await alerts();
  }
  assert.equal(list.length, 1);
  assert.match(list[0].message, /转运箱BOX-0040（多福巷核酸点）转运超过1分钟未签收/);
  await sleep(2500); // more sweeps: still one
  assert.equal((await alerts()).length, 1);
  r = await cc.get('/api/v1/nat/boxes?overdue=1&page_size=100');
  const box = r.body.items.find((b) => b.barcode === 'BOX-0040');
  assert.ok(box);
  assert.equal(box.overdue, true);
  assert.equal(box.overdue_alerted, true);
  assert.ok(await until(() => stream.events.some((e) => e.event === 'nat.box' && e.data.barcode === 'BOX-0040' && e.data.change === 'overdue'), 3000));
  stream.close();
  // signed for: no longer overdue
  assert.equal((await lab.post('/api/v1/nat/boxes/BOX-0040/receive', {})).status, 200);
  r = await cc.get('/api/v1/nat/boxes?overdue=1&page_size=100');
  assert.ok(!r.body.items.some((b) => b.barcode === 'BOX-0040'));
});

test('list filters, paging, export; bad parameters refused', async () => {
  let r = await cc.get(`/api/v1/nat/boxes?site_id=${siteA.id}&state=received&page_size=100`);
  assert.equal(r.status, 200, r.text);
  assert.ok(r.body.items.length >= 2);
  assert.ok(r.body.items.every((b) => b.state === 'received' && b.site_name === '多福巷核酸点'));
  r = await cc.get(`/api/v1/nat/boxes?region_code=${S2}&page_size=100`);
  assert.deepEqual(r.body.items.map((b) => b.barcode), ['BOX-0030']);
  r = await cc.get('/api/v1/nat/boxes?page_size=1&page=2');
  assert.equal(r.status, 200);
  assert.equal(r.body.items.length, 1);
  assert.ok(r.body.total >= 5);
  r = await cc.get(`/api/v1/nat/boxes?from=${Date.now() + 3600000}`);
  assert.equal(r.body.total, 0);
  r = await cc.get('/api/v1/nat/boxes?format=csv');
  assert.equal(r.status, 200, r.text);
  assert.match(r.text, /转运箱条码/);
  assert.match(r.text, /BOX-0001.*多福巷核酸点.*已签收/);
  expectError(await cc.get('/api/v1/nat/boxes?state=lost'), 400, 'invalid_parameter', 'state');
  expectError(await cc.get('/api/v1/nat/boxes?overdue=yes'), 400, 'invalid_parameter', 'overdue');
  expectError(await street1.get(`/api/v1/nat/boxes?region_code=${S2}`), 400, 'invalid_region', 'region_code');
});

test('batch ingest: valid records applied, per-record errors, a repeated batch changes nothing', async () => {
  const t1 = await tube(staff1, 'TR-T0050');
  const t2 = await tube(staff1, 'TR-T0051');
  await sealedBox('BOX-0050', [t1]);
  await sealedBox('BOX-0051', [t2]);
  const now = Date.now();
  const records = [
    { id: 'r-1', box: 'BOX-0050', state: 'in_transit', from: '点位张三', to: '外部转运王五', at: now + 1000, lng: 116.41, lat: 39.92 },
    { id: 'r-2', box: 'BOX-0050', state: 'received', from: '外部转运王五', to: '检测中心李四', at: now + 2000 },
    { id: 'r-3', box: 'BOX-0050', state: 'in_transit', from: '王五', to: '李四', at: now + 3000 }, // a hand-over of a box signed for already
    { id: 'r-4', box: 'NO-SUCH-BOX', state: 'in_transit', from: '甲', to: '乙', at: now },
    { id: 'r-5', box: 'BOX-0051', state: 'lost', from: '甲', to: '乙', at: now },
    { id: 'r-6', box: 'BOX-0051', state: 'in_transit', from: '', to: '乙', at: now },
    { box: 'BOX-0051', state: 'in_transit', from: '甲', to: '乙', at: now },
    { id: 'r-8', box: 'BOX-0030', state: 'received', from: '甲', to: '乙', at: now + 3600000 }, // future
    'not an object',
    { id: 'r-10', box: 'BOX-0051', state: 'in_transit', from: '甲', to: '乙', at: now },
  ];
  const r = await cc.post('/api/v1/nat/transport/batch', { records });
  assert.equal(r.status, 200, r.text);
  assert.equal(r.body.received, 10);
  assert.equal(r.body.applied, 3, JSON.stringify(r.body.errors));
  assert.equal(r.body.repeated, 0);
  assert.equal(r.body.rejected, 7);
  assert.deepEqual(
    r.body.errors.map((e) => [e.index, e.code, e.field]),
    [
      [2, 'box_received', 'box'],
      [3, 'unknown_box', 'box'],
      [4, 'invalid_value', 'state'],
      [5, 'required', 'from'],
      [6, 'invalid_value', 'id'],
      [7, 'invalid_time', 'at'],
      [8, 'invalid_record', 'records'],
    ],
  );
  assert.ok(r.body.errors.every((e) => /[\u4e00-\u9fff]/.test(e.message)));
  let box = (await cc.get('/api/v1/nat/boxes/BOX-0050')).body;
  assert.equal(box.state, 'received');
  assert.deepEqual(
    box.chain.map((h) => [h.state, h.from_name, h.to_name, h.source]),
    [
      ['in_transit', '点位张三', '外部转运王五', 'batch'],
      ['received', '外部转运王五', '检测中心李四', 'batch'],
    ],
  );
  assert.equal(box.tube_list[0].state, 'received');
  assert.equal((await cc.get('/api/v1/nat/boxes/BOX-0051')).body.state, 'in_transit');
  // the same batch again: everything applied is repeated, nothing changes
  const before = state();
  const again = await cc.post('/api/v1/nat/transport/batch', { records });
  assert.equal(again.status, 200, again.text);
  assert.equal(again.body.applied, 0);
  assert.equal(again.body.repeated, 3);
  assert.equal(again.body.rejected, 7);
  assert.equal(state(), before);
  // whole-batch refusals and the permission
  expectError(await cc.post('/api/v1/nat/transport/batch', { records: [] }), 400, 'invalid_batch', 'records');
  const many = Array.from({ length: 10001 }, (_, i) => ({ id: `m${i}`, box: 'BOX-0051', state: 'received', from: '甲', to: '乙', at: now }));
  expectError(await cc.post('/api/v1/nat/transport/batch', { records: many }), 400, 'invalid_batch', 'records');
  expectError(await courier1.post('/api/v1/nat/transport/batch', { records }), 403, 'forbidden');
  assert.equal(state(), before);
  assert.ok((await auditEntries(auditor, 'nat.transport.batch')).some((a) => a.detail.includes('applied=3')));
});

test('a batch of 10,000 records: applied in one request; repeated, nothing changes', async () => {
  // 5,000 boxes sealed by SQL (the packing scans are tested above), each taken then received
  const N = 5000;
  const base = Date.now() - 3600000;
  const region = one(`SELECT region_code FROM nat_sites WHERE id = ${siteA.id}`);
  sqlRun(
    ctx,
    `INSERT INTO nat_boxes (id, barcode, site_id, region_code, state, tubes, packed_by, packed_at, sealed_by, sealed_at, holder_id, holder_name)
     WITH RECURSIVE n(i) AS (SELECT 0 UNION ALL SELECT i + 1 FROM n WHERE i < ${N - 1})
     SELECT 9000000000 + i, 'BULK-' || (10000 + i), ${siteA.id}, ${region}, 'packed', 1, 1, ${base}, 1, ${base}, 0, 'x' FROM n`,
  );
  const records = [];
  for (let i = 0; i < N; i++) {
    const box = `BULK-${10000 + i}`;
    records.push({ id: `b${i}-t`, box, state: 'in_transit', from: '点位', to: '转运', at: base + 1000 });
    records.push({ id: `b${i}-r`, box, state: 'received', from: '转运', to: '检测', at: base + 2000 });
  }
  let t0 = Date.now();
  let r = await cc.post('/api/v1/nat/transport/batch', { records });
  const first = Date.now() - t0;
  assert.equal(r.status, 200, r.text);
  assert.equal(r.body.applied, 2 * N, JSON.stringify(r.body.errors.slice(0, 3)));
  assert.equal(one("SELECT COUNT(*) FROM nat_boxes WHERE barcode LIKE 'BULK-%' AND state = 'received'"), String(N));
  t0 = Date.now();
  r = await cc.post('/api/v1/nat/transport/batch', { records });
  const second = Date.now() - t0;
  assert.equal(r.body.repeated, 2 * N);
  assert.equal(r.body.applied, 0);
  console.log(`# batch of ${2 * N}: ${first} ms applied, ${second} ms repeated`);
});
