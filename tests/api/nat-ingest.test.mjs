// The ingest interfaces of outside systems (数据接入, issue 10, seed 004
// 二2(1)): POST /api/v1/nat/{sites,plans,samples,clockins}/batch. For each:
// a good batch, the same batch repeated (all repeated, nothing changed), bad
// records reported with their index while the others apply, the whole-batch
// refusals (empty, 10,001 records, the permission) and another region's
// records refused one by one. Samples: the counters equal a recount after
// adds and deletes (a deleted first sample hands its place to the next).
// A 10,000-sample batch is timed, and the server's one event loop answers
// another request while it runs.
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { startCityWith, CITY_STAFF, expectError, auditEntries, sqlRun, residentId } from './lib.mjs';

const PW = 'Nat-ingest-2024!';
const S1 = '110101001000'; // 东华门街道
const S1_C1 = '110101001001';
const S2 = '110101002000'; // 景山街道
const S2_C1 = '110101002001';
const H = 3600000;
let ctx, cc, exch, exchStreet, staff1, auditor;
let plan;
const persons = [];

const one = (sql) => sqlRun(ctx, sql).trim();

before(async () => {
  ctx = await startCityWith(
    {
      ...CITY_STAFF,
      // nat.ingest: exchange_client (a machine: no console session, so not
      // here) and command_center; the district's and a street's
      exch: ['command_center', '110101000000'],
      exch_street: ['command_center', S1],
      staff1: ['site_staff', S1],
    },
    PW,
    // the 10,000-sample batch takes about 20 s on PostgreSQL here: a loaded
    // machine must not bring it to the default idle timeout (60 s)
    // one event loop: a request made while a batch runs is answered on the
    // loop the batch came in on (the batch runs on the offload worker)
    { env: { FK_IDLE_TIMEOUT: '600', FK_THREADS: '1' } },
  );
  ({ cc_dc: cc, exch, exch_street: exchStreet, staff1, auditor } = ctx.as);
  const now = Date.now();
  let r = await cc.post('/api/v1/nat/plans', { number: 'ING-1', name: '接入测试轮', starts_at: now - 10 * H, ends_at: now + 10 * H });
  assert.equal(r.status, 201, r.text);
  plan = r.body;
  for (let i = 0; i < 6; i++) {
    const id_number = residentId('110101', '19850505', 100 + i * 2);
    r = await cc.post('/api/v1/persons', { name: `接入${i}号`, id_number, region_code: i < 4 ? S1_C1 : S2_C1 });
    assert.equal(r.status, 201, r.text);
    persons.push(id_number);
  }
  // the sites the samples and clock-ins name, by the outside system's keys
  r = await exch.post('/api/v1/nat/sites/batch', {
    records: [
      { id: 'base-1', op: 'upsert', key: 'EXT-S1', site: { name: '外部东华门点', kind: 'fixed', region_code: S1_C1 } },
      { id: 'base-2', op: 'upsert', key: 'EXT-S2', site: { name: '外部景山点', kind: 'fixed', region_code: S2_C1 } },
    ],
  });
  assert.equal(r.status, 200, r.text);
  assert.equal(r.body.applied, 2, r.text);
});

after(async () => {
  await ctx?.stop();
});

// Whole-batch refusals, the same for the four.
async function refusals(path, good) {
  expectError(await exch.post(path, { records: [] }), 400, 'invalid_batch', 'records');
  const many = Array.from({ length: 10001 }, (_, i) => ({ ...good, id: `many-${i}` }));
  expectError(await exch.post(path, { records: many }), 400, 'invalid_batch', 'records');
  expectError(await exch.post(path, {}), 400, 'required', 'records');
  // the body's limit: 8 MiB
  const big = [{ ...good, id: 'big', pad: 'x'.repeat(9 << 20) }];
  expectError(await exch.post(path, { records: big }), 413, 'body_too_large');
  expectError(await staff1.post(path, { records: [good] }), 403, 'forbidden');
}

test('sites: add, change and delete by the outside key; repeated, nothing changes; another street refused per record', async () => {
  const records = [
    { id: 's1', op: 'upsert', key: 'EXT-A', site: { name: '外部点位A', kind: 'fixed', region_code: S1_C1 } },
    { id: 's2', op: 'upsert', key: 'EXT-B', site: { name: '外部点位B', kind: 'temporary', region_code: S2_C1, lng: 116.4, lat: 39.92 } },
    { id: 's3', op: 'upsert', key: 'EXT-A', site: { capacity: 120, hours: '08:00-18:00' } },
    { id: 's4', op: 'upsert', key: 'EXT-C', site: { name: '缺类型' } },
    { id: 's5', op: 'delete', key: 'EXT-NONE' },
    { id: 's6', op: 'frob', key: 'EXT-A' },
    { id: 's7', op: 'upsert', key: 'EXT-D', site: { name: '外部点位D', kind: 'mobile', region_code: S1_C1 } },
    { id: 's8', op: 'delete', key: 'EXT-D' },
    { id: 's9', op: 'upsert', key: 'EXT-E', site: { name: '外部点位E', kind: 'fixed', region_code: '110102001001' } },
  ];
  let r = await exch.post('/api/v1/nat/sites/batch', { records });
  assert.equal(r.status, 200, r.text);
  assert.deepEqual([r.body.received, r.body.applied, r.body.repeated, r.body.rejected], [9, 5, 0, 4], r.text);
  assert.deepEqual(
    r.body.errors.map((e) => [e.index, e.record_id, e.code, e.field]),
    [
      [3, 's4', 'required', 'kind'],
      [4, 's5', 'unknown_site', 'key'],
      [5, 's6', 'invalid_value', 'op'],
      [8, 's9', 'invalid_region', 'region_code'],
    ],
  );
  for (const e of r.body.errors) assert.match(e.message, /[\u4e00-\u9fff]/);
  const state = () =>
    one(
      "SELECT (SELECT COUNT(*) FROM nat_sites), (SELECT COUNT(*) FROM nat_sites WHERE deleted_at = 0), (SELECT capacity || ',' || hours FROM nat_sites WHERE source_key = 'EXT-A' AND deleted_at = 0), (SELECT COUNT(*) FROM nat_sites WHERE source_key = 'EXT-D' AND deleted_at <> 0), (SELECT COUNT(*) FROM nat_ingest_records WHERE kind = 'site')",
    );
  const before = state();
  assert.match(before, /\|120,08:00-18:00\|1\|/);
  // the console lists them with their key
  const list = await cc.get('/api/v1/nat/sites?q=' + encodeURIComponent('外部点位'));
  assert.equal(list.status, 200, list.text);
  const a = list.body.items.find((s) => s.name === '外部点位A');
  assert.equal(a.source_key, 'EXT-A');
  assert.equal(a.capacity, 120);
  assert.ok(!list.body.items.some((s) => s.name === '外部点位D'), 'deleted');

  // the same batch again: the applied are repeated, the refused refused again
  r = await exch.post('/api/v1/nat/sites/batch', { records });
  assert.deepEqual([r.body.applied, r.body.repeated, r.body.rejected], [0, 5, 4], r.text);
  assert.equal(state(), before);

  // a street's system: another street's site is not found, record by record
  r = await exchStreet.post('/api/v1/nat/sites/batch', {
    records: [
      { id: 'x1', op: 'upsert', key: 'EXT-B', site: { capacity: 5 } },
      { id: 'x2', op: 'delete', key: 'EXT-B' },
      { id: 'x3', op: 'upsert', key: 'EXT-A', site: { capacity: 7 } },
    ],
  });
  assert.equal(r.status, 200, r.text);
  assert.deepEqual(
    r.body.errors.map((e) => [e.index, e.code]),
    [
      [0, 'unknown_site'],
      [1, 'unknown_site'],
    ],
  );
  assert.equal(r.body.applied, 1);
  assert.equal(one("SELECT capacity FROM nat_sites WHERE source_key = 'EXT-B' AND deleted_at = 0"), '0');
  assert.equal(one("SELECT capacity FROM nat_sites WHERE source_key = 'EXT-A' AND deleted_at = 0"), '7');

  await refusals('/api/v1/nat/sites/batch', records[0]);
  assert.ok((await auditEntries(auditor, 'nat.ingest.sites')).some((e) => e.detail.includes('applied=5')));
});

// The counters of samples against a recount of the rows.
function recount() {
  const pairs = [
    // the plan's actual per street (residents' rows) vs the first samples
    [
      `SELECT COALESCE(SUM(actual), 0) FROM nat_plan_figures WHERE plan_id = ${plan.id} AND industry_id = 0`,
      `SELECT COUNT(*) FROM nat_samples WHERE plan_id = ${plan.id} AND duplicate = 0`,
    ],
    [
      `SELECT COALESCE(string_agg(region_code || ':' || actual, ',' ORDER BY region_code), '') FROM nat_plan_figures WHERE plan_id = ${plan.id} AND industry_id = 0 AND actual <> 0`,
      `SELECT COALESCE(string_agg(street_code || ':' || n, ',' ORDER BY street_code), '') FROM (SELECT street_code, COUNT(*) AS n FROM nat_samples WHERE plan_id = ${plan.id} AND duplicate = 0 GROUP BY street_code) x`,
    ],
    // the tubes' fill
    [
      'SELECT COALESCE(SUM(filled), 0) FROM nat_tubes',
      'SELECT COUNT(*) FROM nat_samples',
    ],
    [
      'SELECT COUNT(*) FROM nat_tubes t WHERE filled <> (SELECT COUNT(*) FROM nat_samples x WHERE x.tube_id = t.id)',
      'SELECT 0',
    ],
    // the sites' scans and their hours
    [
      'SELECT COALESCE(SUM(scans), 0) FROM nat_sites',
      'SELECT COUNT(*) FROM nat_samples',
    ],
    [
      'SELECT COALESCE(SUM(n), 0) FROM nat_site_hours',
      'SELECT COUNT(*) FROM nat_samples',
    ],
    // one first per round
    [
      'SELECT COUNT(*) FROM (SELECT person_id, visitor_id, plan_id, round_day FROM nat_samples GROUP BY person_id, visitor_id, plan_id, round_day HAVING SUM(CASE WHEN duplicate = 0 THEN 1 ELSE 0 END) <> 1) x',
      'SELECT 0',
    ],
  ];
  const pg = !!ctx.dbUrl;
  for (const [kept, counted] of pairs) {
    const fix = (s) => (pg ? s : s.replace(/string_agg\(([^,]+), ',' ORDER BY [^)]+\)/g, "group_concat($1, ',')"));
    assert.equal(one(fix(kept)), one(fix(counted)), kept);
  }
}

test('samples: added and deleted, every counter equal to a recount; a repeated batch changes nothing', async () => {
  const now = Date.now();
  const add = (id, person, barcode, extra = {}) => ({
    id,
    op: 'add',
    site: 'EXT-S1',
    id_number: persons[person],
    barcode,
    tube_kind: 'pool5',
    plan: 'ING-1',
    at: now - 30 * 60000,
    ...extra,
  });
  const records = [
    add('a1', 0, 'ING-T1'),
    add('a2', 1, 'ING-T1'),
    add('a3', 0, 'ING-T2', { tube_kind: 'single', at: now - 20 * 60000 }), // p0 again: a duplicate
    add('a4', 2, 'ING-T3', { plan: undefined }),
    add('a5', 3, 'ING-T1', { id_number: '110101198505059999' }), // a malformed id number
    add('a6', 3, 'ING-T1', { site: 'EXT-NOPE' }),
    add('a7', 3, 'ING-T1', { at: now - 9 * 24 * H }), // too old
    add('a8', 3, 'ING-T1', { plan: 'NO-SUCH-PLAN' }),
    add('a9', 3, 'bad code!'),
    add('a10', 4, 'ING-T4', { site: 'EXT-S2' }), // a resident of 景山 sampled at the 景山 site
  ];
  let r = await exch.post('/api/v1/nat/samples/batch', { records });
  assert.equal(r.status, 200, r.text);
  assert.deepEqual([r.body.applied, r.body.rejected], [5, 5], r.text);
  assert.deepEqual(
    r.body.errors.map((e) => [e.index, e.code, e.field]),
    [
      [4, 'invalid_id_number', 'id_number'],
      [5, 'unknown_site', 'site'],
      [6, 'invalid_time', 'at'],
      [7, 'unknown_plan', 'plan'],
      [8, 'invalid_barcode', 'barcode'],
    ],
  );
  assert.equal(one("SELECT COUNT(*) FROM nat_samples WHERE source = 'ingest'"), '5');
  assert.equal(one("SELECT duplicate FROM nat_samples x JOIN nat_tubes t ON t.id = x.tube_id WHERE t.barcode = 'ING-T2'"), '1');
  assert.equal(one(`SELECT at FROM nat_samples x JOIN nat_tubes t ON t.id = x.tube_id WHERE t.barcode = 'ING-T3'`), String(now - 30 * 60000));
  recount();
  // the sample list shows the source
  const list = await cc.get('/api/v1/nat/samples?page_size=50');
  assert.equal(list.status, 200, list.text);
  assert.ok(list.body.items.length >= 5 && list.body.items.every((s) => s.source === 'ingest'));

  // the same batch: all applied repeated, nothing changed
  const snapshot = () => one('SELECT (SELECT COUNT(*) FROM nat_samples), (SELECT SUM(filled) FROM nat_tubes), (SELECT SUM(scans) FROM nat_sites), (SELECT SUM(actual) FROM nat_plan_figures)');
  const before = snapshot();
  r = await exch.post('/api/v1/nat/samples/batch', { records });
  assert.deepEqual([r.body.applied, r.body.repeated, r.body.rejected], [0, 5, 5], r.text);
  assert.equal(snapshot(), before);

  // deletes: p0's first sample (a1) goes, its duplicate (a3) becomes the first
  // and is counted; a4's single tube is emptied and goes; unknown ones refused
  const street1Actual = () => one(`SELECT actual FROM nat_plan_figures WHERE plan_id = ${plan.id} AND region_code = ${S1}000000 AND industry_id = 0`);
  assert.equal(street1Actual(), '2');
  const a4 = one("SELECT x.id FROM nat_samples x JOIN nat_tubes t ON t.id = x.tube_id WHERE t.barcode = 'ING-T3'");
  r = await exch.post('/api/v1/nat/samples/batch', {
    records: [
      { id: 'd1', op: 'delete', record: 'a1' },
      { id: 'd2', op: 'delete', sample_id: a4 },
      { id: 'd3', op: 'delete', record: 'no-such-record' },
      { id: 'd4', op: 'delete' },
    ],
  });
  assert.equal(r.status, 200, r.text);
  assert.deepEqual(
    r.body.errors.map((e) => [e.index, e.code]),
    [
      [2, 'unknown_sample'],
      [3, 'required'],
    ],
  );
  assert.equal(r.body.applied, 2);
  assert.equal(street1Actual(), '2', 'p0 still counted, by the sample that was a duplicate');
  assert.equal(one("SELECT duplicate FROM nat_samples x JOIN nat_tubes t ON t.id = x.tube_id WHERE t.barcode = 'ING-T2'"), '0');
  assert.equal(one("SELECT COUNT(*) FROM nat_tubes WHERE barcode = 'ING-T3'"), '0', 'the emptied tube is gone');
  assert.equal(one("SELECT filled FROM nat_tubes WHERE barcode = 'ING-T1'"), '1');
  recount();

  // the last sample of p0 (a3) goes: p0 no longer counted
  r = await exch.post('/api/v1/nat/samples/batch', { records: [{ id: 'd5', op: 'delete', record: 'a3' }] });
  assert.equal(r.body.applied, 1, r.text);
  assert.equal(street1Actual(), '1');
  recount();

  // a packed tube's sample cannot be deleted; a street's system sees only its samples
  sqlRun(ctx, "UPDATE nat_tubes SET state = 'packed' WHERE barcode = 'ING-T4'");
  r = await exch.post('/api/v1/nat/samples/batch', { records: [{ id: 'd6', op: 'delete', record: 'a10' }] });
  assert.deepEqual(r.body.errors.map((e) => [e.code, e.field]), [['tube_packed', 'sample']], r.text);
  assert.equal(r.body.errors[0].message, '该采样记录的试管已装箱，不能删除');
  sqlRun(ctx, "UPDATE nat_tubes SET state = 'open' WHERE barcode = 'ING-T4'");
  const a10 = one("SELECT x.id FROM nat_samples x JOIN nat_tubes t ON t.id = x.tube_id WHERE t.barcode = 'ING-T4'");
  r = await exchStreet.post('/api/v1/nat/samples/batch', {
    records: [
      { id: 'z1', op: 'delete', sample_id: a10 },
      { id: 'z2', op: 'add', site: 'EXT-S2', id_number: persons[5], barcode: 'ING-T9', at: now - 60000 },
    ],
  });
  assert.deepEqual(
    r.body.errors.map((e) => [e.index, e.code]),
    [
      [0, 'unknown_sample'],
      [1, 'unknown_site'],
    ],
    r.text,
  );
  recount();

  // an add and its delete in one batch: the batch's counts are written once, after the adds
  // before a delete, so the delete takes out what the add put in
  r = await exch.post('/api/v1/nat/samples/batch', {
    records: [
      { id: 'm1', op: 'add', site: 'EXT-S2', id_number: persons[5], barcode: 'ING-T8', plan: 'ING-1', at: now - 60000 },
      { id: 'm2', op: 'add', site: 'EXT-S2', id_number: persons[4], barcode: 'ING-T8b', plan: 'ING-1', at: now - 60000 },
      { id: 'm3', op: 'delete', record: 'm1' },
      { id: 'm4', op: 'add', site: 'EXT-S2', id_number: persons[5], barcode: 'ING-T8c', at: now - 30000 },
    ],
  });
  assert.deepEqual([r.body.applied, r.body.rejected], [4, 0], r.text);
  assert.equal(one("SELECT COUNT(*) FROM nat_tubes WHERE barcode = 'ING-T8'"), '0');
  recount();

  await refusals('/api/v1/nat/samples/batch', records[0]);
  assert.ok((await auditEntries(auditor, 'nat.ingest.samples')).some((e) => e.detail.includes('applied=5')));
});

test('plans: planned and reported figures by plan number; the reported kept beside the counted', async () => {
  const now = Date.now();
  const records = [
    {
      id: 'p1',
      number: 'EXT-P1',
      name: '外部系统计划',
      starts_at: now - H,
      ends_at: now + 24 * H,
      rows: [
        { region_code: S1, planned: 100, reported: 40 },
        { region_code: S1, industry_id: '1', planned: 10 },
        { region_code: S2, planned: 80 },
      ],
    },
    { id: 'p2', number: 'EXT-P1', rows: [{ region_code: S2, planned: 90, reported: 33 }] },
    { id: 'p3', number: 'EXT-P2', name: '坏行', starts_at: now - H, ends_at: now + H, rows: [{ region_code: S1_C1, planned: 5 }] },
    { id: 'p4', number: 'EXT-P3', name: '时间颠倒', starts_at: now + H, ends_at: now - H },
    { id: 'p5', number: 'ING-1', rows: [{ region_code: S1, planned: 500, reported: 3 }] }, // the console's plan
  ];
  let r = await exch.post('/api/v1/nat/plans/batch', { records });
  assert.equal(r.status, 200, r.text);
  assert.deepEqual(
    r.body.errors.map((e) => [e.index, e.code, e.field]),
    [
      [2, 'invalid_region', 'targets[0].region_code'],
      [3, 'invalid_value', 'ends_at'],
    ],
    r.text,
  );
  assert.equal(r.body.applied, 3);
  const id = one("SELECT id FROM nat_plans WHERE number = 'EXT-P1'");
  const f = await cc.get(`/api/v1/nat/plans/${id}/figures?by=all`);
  assert.equal(f.status, 200, f.text);
  const row = (region, industry) => f.body.items.find((x) => x.region_code === region && (x.industry_id ?? null) === industry);
  assert.deepEqual([row(S1, null).planned, row(S1, null).reported, row(S1, null).actual], [100, 40, 0]);
  assert.deepEqual([row(S2, null).planned, row(S2, null).reported], [90, 33]);
  assert.equal(row(S1, '1').reported, null);
  // the console plan: the counted actual untouched by the reported one
  const g = await cc.get(`/api/v1/nat/plans/${plan.id}/figures?by=street`);
  const s1 = g.body.items.find((x) => x.region_code === S1);
  assert.deepEqual([s1.planned, s1.reported, s1.actual], [500, 3, 1]);
  // the export carries the reported figure in its own last column
  const csv = await cc.get(`/api/v1/nat/plans/${id}/figures?by=street&format=csv`);
  assert.equal(csv.status, 200);
  const lines = csv.text.replace(/^\ufeff/, '').trim().split(/\r?\n/);
  assert.match(lines[0], /实检（接口报送）$/);
  assert.ok(lines.slice(1).some((l) => l.endsWith(',40')), csv.text);

  const before = one("SELECT COUNT(*), SUM(planned), SUM(reported) FROM nat_plan_figures");
  r = await exch.post('/api/v1/nat/plans/batch', { records });
  assert.deepEqual([r.body.applied, r.body.repeated, r.body.rejected], [0, 3, 2]);
  assert.equal(one("SELECT COUNT(*), SUM(planned), SUM(reported) FROM nat_plan_figures"), before);

  // a street's system: the district's plan is not its to change
  r = await exchStreet.post('/api/v1/nat/plans/batch', { records: [{ id: 'q1', number: 'EXT-P1', rows: [{ region_code: S1, planned: 1 }] }] });
  assert.deepEqual(r.body.errors.map((e) => [e.code, e.field]), [['unknown_plan', 'number']], r.text);

  await refusals('/api/v1/nat/plans/batch', records[0]);
});

test('clock-ins: in and out by site key and staff login name, source ingest; the site on duty follows', async () => {
  const now = Date.now();
  const records = [
    { id: 'c1', op: 'in', site: 'EXT-S1', staff: 'staff1', at: now - 2 * H, lng: 116.4, lat: 39.91 },
    { id: 'c2', op: 'out', site: 'EXT-S1', staff: 'staff1', at: now - H },
    { id: 'c3', op: 'in', site: 'EXT-S1', staff: 'staff1', at: now - 10 * 60000 },
    { id: 'c4', op: 'in', site: 'EXT-S1', staff: 'nobody', at: now },
    { id: 'c5', op: 'out', site: 'EXT-S2', staff: 'staff1', at: now },
    { id: 'c6', op: 'in', site: 'EXT-S1', staff: 'staff1', at: now + 3 * H },
  ];
  let r = await exch.post('/api/v1/nat/clockins/batch', { records });
  assert.equal(r.status, 200, r.text);
  assert.deepEqual(
    r.body.errors.map((e) => [e.index, e.code, e.field]),
    [
      [3, 'unknown_user', 'staff'],
      [4, 'not_clocked_in', 'staff'],
      [5, 'invalid_time', 'at'],
    ],
    r.text,
  );
  assert.equal(r.body.applied, 3);
  const site = one("SELECT id FROM nat_sites WHERE source_key = 'EXT-S1' AND deleted_at = 0");
  const state = () => one(`SELECT (SELECT on_duty FROM nat_sites WHERE id = ${site}), (SELECT COUNT(*) FROM nat_clockins WHERE source = 'ingest'), (SELECT COUNT(*) FROM nat_clockins WHERE out_at = 0)`);
  assert.equal(state(), '1|2|1');
  assert.equal(one(`SELECT in_at || ',' || out_at FROM nat_clockins WHERE site_id = ${site} AND out_at <> 0`), `${now - 2 * H},${now - H}`);
  const list = await cc.get(`/api/v1/nat/clockins?site_id=${site}`);
  assert.equal(list.status, 200, list.text);
  assert.ok(list.body.items.every((c) => c.source === 'ingest' && c.user_name));

  const before = state();
  r = await exch.post('/api/v1/nat/clockins/batch', { records });
  assert.deepEqual([r.body.applied, r.body.repeated, r.body.rejected], [0, 3, 3]);
  assert.equal(state(), before);

  // a street's system: another street's site is not found
  r = await exchStreet.post('/api/v1/nat/clockins/batch', { records: [{ id: 'y1', op: 'in', site: 'EXT-S2', staff: 'staff1', at: now }] });
  assert.deepEqual(r.body.errors.map((e) => e.code), ['unknown_site'], r.text);

  await refusals('/api/v1/nat/clockins/batch', records[0]);
});

test('a batch of 10,000 samples: applied in one request, counters right; repeated, nothing changes', async () => {
  // 1,000 people, each sampled in ten plans: 10,000 first samples in 1,000 pooled tubes of ten
  const now = Date.now();
  const P = 1000, PLANS = 10;
  const ids = [];
  for (let i = 0; i < P; i += 20) {
    const batch = [];
    for (let k = i; k < i + 20; k++) {
      const id_number = residentId('110101', `199202${String(1 + (k % 28)).padStart(2, '0')}`, 100 + Math.floor(k / 28) * 2);
      ids.push(id_number);
      batch.push(cc.post('/api/v1/persons', { name: `批量${k}号`, id_number, region_code: S1_C1 }));
    }
    for (const r of await Promise.all(batch)) assert.equal(r.status, 201, r.text);
  }
  for (let p = 0; p < PLANS; p++) {
    const r = await cc.post('/api/v1/nat/plans', { number: `BULK-${p}`, name: `批量第${p}轮`, starts_at: now - 10 * H, ends_at: now + 10 * H });
    assert.equal(r.status, 201, r.text);
  }
  const records = [];
  for (let p = 0; p < PLANS; p++)
    for (let i = 0; i < P; i++)
      records.push({
        id: `bulk-${p}-${i}`,
        op: 'add',
        site: 'EXT-S1',
        id_number: ids[i],
        barcode: `BULK-${p}-${Math.floor(i / 10)}`,
        tube_kind: 'pool10',
        plan: `BULK-${p}`,
        at: now - 60 * 60000 + p * 1000,
      });
  let t0 = Date.now();
  let finished = 0;
  const pending = exch.post('/api/v1/nat/samples/batch', { records }).then((x) => {
    finished = Date.now();
    return x;
  });
  // requests on the same loop meanwhile: none waits for the batch (which,
  // run in its handler, held the loop until it ended)
  const waits = [];
  while (!finished) {
    const a = Date.now();
    const during = await cc.get('/api/v1/nat/plans?page_size=1');
    assert.equal(during.status, 200, during.text);
    if (!finished) waits.push(Date.now() - a);
  }
  let r = await pending;
  const first = finished - t0;
  assert.ok(waits.length >= 3 && Math.max(...waits) < first / 2, `requests during a ${first} ms batch waited ${waits.join(', ')} ms`);
  assert.equal(r.status, 200, r.text);
  assert.equal(r.body.applied, P * PLANS, JSON.stringify(r.body.errors.slice(0, 3)));
  assert.equal(one("SELECT COUNT(*) FROM nat_tubes WHERE barcode LIKE 'BULK-%' AND state = 'closed' AND filled = 10"), String(P));
  recount();
  assert.equal(one("SELECT SUM(actual) FROM nat_plan_figures f JOIN nat_plans p ON p.id = f.plan_id WHERE p.number LIKE 'BULK-%' AND f.industry_id = 0"), String(P * PLANS));
  t0 = Date.now();
  r = await exch.post('/api/v1/nat/samples/batch', { records });
  const second = Date.now() - t0;
  assert.deepEqual([r.body.applied, r.body.repeated], [0, P * PLANS]);
  console.log(`# samples batch of ${P * PLANS} (${ctx.dbUrl ? 'PostgreSQL' : 'SQLite'}): ${first} ms applied, ${second} ms repeated; ${waits.length} requests meanwhile, the longest ${Math.max(...waits)} ms`);
});
