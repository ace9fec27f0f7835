// Key-person trips through the API (issue 11 part 1, docs/tracing.md):
// create/read/update/delete with waypoints, the list's filters, the
// resident's own, every bad input answered 4xx with nothing written, scope
// (another street's person or trip: 404), permissions (403), masking, and
// the reveal audited.
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import fs from 'node:fs';
import path from 'node:path';
import { execFileSync } from 'node:child_process';
import { residentId, expectError, auditEntries, startCityWith, sqlRun, smsCode } from './lib.mjs';

const PW = 'Passw0rd!trips';
const COMMUNITY = '110101001001'; // 多福巷社区, 东华门街道
const OTHER_STREET = '110101002001'; // 隆福寺社区, 景山街道
let ctx, cc, cs, csOther, grid, checkpoint, auditor, venue;

let seq = 0;
const rid = () => residentId('110101', '19800303', 500 + ++seq * 2);

async function ok(p, status = 200) {
  const r = await p;
  assert.equal(r.status, status, r.text);
  return r.body;
}

async function person(region = COMMUNITY, name = '孙出行', idNumber = rid()) {
  return (await ok(cc.post('/api/v1/persons', { name, id_number: idNumber, region_code: region }), 201)).id;
}

const PY = process.env.FK_PYTHON || '/usr/bin/python3';
const XLSX = 'application/vnd.openxmlformats-officedocument.spreadsheetml.sheet';
const HEAD = ['证件号码*', '出行日期*', '返回日期', '出发地', '目的地*', '去程交通*', '去程班次/车牌', '返程交通', '返程班次/车牌', '途径点', '备注'];
const PY_WRITE = `
import json, sys, openpyxl
spec = json.load(open(sys.argv[1], encoding='utf-8'))
wb = openpyxl.Workbook()
ws = wb.active
ws.title = '出行记录'
for row in spec['rows']:
    ws.append(row)
wb.save(spec['out'])
`;
const PY_READ = `
import json, sys, openpyxl
wb = openpyxl.load_workbook(sys.argv[1])
ws = wb[wb.sheetnames[0]]
out = {'rows': [], 'marks': []}
for row in ws.iter_rows():
    out['rows'].append([None if c.value is None else str(c.value) for c in row])
    for c in row:
        if c.comment:
            out['marks'].append(c.coordinate)
print(json.dumps(out, ensure_ascii=False))
`;
let pyN = 0;
function py(script, ...args) {
  const f = path.join(ctx.dir, `py-${++pyN}.py`);
  fs.writeFileSync(f, script);
  return execFileSync(PY, [f, ...args], { encoding: 'utf8' });
}
function xlsxOf(rows) {
  const out = path.join(ctx.dir, `trips-${++pyN}.xlsx`), spec = `${out}.json`;
  fs.writeFileSync(spec, JSON.stringify({ rows, out }));
  py(PY_WRITE, spec);
  return fs.readFileSync(out);
}
async function download(client, p) {
  const r = await fetch(ctx.url + p, { headers: { cookie: client.cookie } });
  return { status: r.status, type: r.headers.get('content-type'), buf: Buffer.from(await r.arrayBuffer()) };
}
async function jobDone(client, id) {
  let j;
  for (let t = 0; t < 400; t++) {
    j = (await client.get(`/api/v1/jobs/${id}`)).body;
    if (j.status === 'done' || j.status === 'failed') break;
    await new Promise((r) => setTimeout(r, 50));
  }
  assert.equal(j.status, 'done', JSON.stringify(j));
  return j.result;
}

const count = () => Number(sqlRun(ctx, 'SELECT COUNT(*) FROM trips').trim());
const wpCount = () => Number(sqlRun(ctx, 'SELECT COUNT(*) FROM trip_waypoints').trim());

const trip = (personId, over = {}) => ({
  person_id: personId,
  departed_on: '2026-11-20',
  returned_on: '2026-11-25',
  origin: '北京',
  destination: '上海',
  out: { mode: 'flight', number: 'ca1234', seat: '32A' },
  back: { mode: 'train', number: 'G2', seat: '05车12F' },
  waypoints: [
    { kind: 'mall', place: '南京路步行街', arrived_at: Date.UTC(2026, 10, 21, 2), stay_minutes: 120 },
    { kind: 'venue', venue_id: venue, arrived_at: Date.UTC(2026, 10, 22, 4), stay_minutes: 30 },
  ],
  note: '探亲',
  ...over,
});

before(async () => {
  ctx = await startCityWith(
    {
      t_cc: ['command_center', '110101000000'],
      t_cs: ['community_staff', COMMUNITY],
      t_cs_other: ['community_staff', OTHER_STREET],
      t_gate: ['checkpoint_staff', '110101000000'],
      t_grid: ['grid_worker', COMMUNITY],
      t_auditor: ['audit_admin', '110000000000'],
    },
    PW,
  );
  ({ t_cc: cc, t_cs: cs, t_cs_other: csOther, t_gate: checkpoint, t_grid: grid, t_auditor: auditor } = ctx.as);
  const place = await ok(cc.post('/api/v1/places', { name: '多福巷小区', kind: 'community', region_code: COMMUNITY }), 201);
  venue = (await ok(cc.post('/api/v1/venues', { name: '多福巷小区东门', kind: 'community_gate', place_id: place.id }), 201)).id;
});
after(async () => ctx?.stop());

test('a trip with two waypoints: created, read with its timeline, masked, changed, deleted', async () => {
  const idNumber = rid();
  const p = await person(COMMUNITY, '孙出行', idNumber);
  const t = await ok(cc.post('/api/v1/trips', trip(p)), 201);
  assert.equal(t.person_name, '孙*行');
  assert.notEqual(t.id_number, idNumber);
  assert.ok(t.id_number.includes('*'));
  assert.equal(t.region_name, '多福巷社区');
  assert.equal(t.departed_on, '2026-11-20');
  assert.equal(t.returned_on, '2026-11-25');
  assert.equal(t.out.number, 'CA1234', 'upper-cased');
  assert.equal(t.out.mode_label, '飞机');
  assert.equal(t.back.mode_label, '火车');
  assert.equal(t.source, 'staff');
  assert.equal(t.waypoint_count, 2);
  assert.equal(t.waypoints[0].kind_label, '商场');
  assert.equal(t.waypoints[0].place, '南京路步行街');
  assert.equal(t.waypoints[1].venue_name, '多福巷小区东门');
  assert.equal(t.waypoints[1].stay_minutes, 30);

  // the community's staff read it; the reveal needs person.reveal and is audited
  const seen = await ok(cs.get(`/api/v1/trips/${t.id}`));
  assert.equal(seen.person_name, '孙*行');
  expectError(await cs.get(`/api/v1/trips/${t.id}?reveal=1`), 403, 'reveal_forbidden', 'reveal');
  const full = await ok(cc.get(`/api/v1/trips/${t.id}?reveal=1`));
  assert.equal(full.person_name, '孙出行');
  assert.equal(full.id_number, idNumber);
  assert.ok((await auditEntries(auditor, 'person.reveal', p)).length >= 1);
  assert.ok((await auditEntries(auditor, 'trace.trip.read', t.id)).length >= 2);
  assert.equal((await auditEntries(auditor, 'trace.trip.create', t.id)).length, 1);

  // PATCH: one waypoint left, the return changed; the version is checked
  const u = await ok(cc.patch(`/api/v1/trips/${t.id}`, {
    version: t.version, returned_on: '2026-11-26', waypoints: [t.waypoints[0]].map(({ kind, place, stay_minutes }) => ({ kind, place, stay_minutes })),
  }));
  assert.equal(u.returned_on, '2026-11-26');
  assert.equal(u.waypoint_count, 1);
  assert.equal(u.waypoints.length, 1);
  assert.equal(u.out.number, 'CA1234', 'untouched legs stay');
  expectError(await cc.patch(`/api/v1/trips/${t.id}`, { version: t.version, note: 'x' }), 409, 'version_conflict');
  const updates = await auditEntries(auditor, 'trace.trip.update', t.id);
  assert.deepEqual(updates.map((x) => x.result).sort(), ['ok', 'version_conflict'], 'the refusal is audited too');

  // the person's page lists it
  const mine = await ok(cc.get(`/api/v1/persons/${p}/trips`));
  assert.deepEqual(mine.items.map((x) => x.id), [t.id]);

  await ok(cc.del(`/api/v1/trips/${t.id}`), 204);
  expectError(await cc.get(`/api/v1/trips/${t.id}`), 404, 'not_found');
  assert.equal((await auditEntries(auditor, 'trace.trip.delete', t.id)).length, 1);
});

test('the list: filters by id number, region, dates, mode and number; CSV export masked', async () => {
  const idA = rid();
  const a = await person(COMMUNITY, '周甲', idA);
  const b = await person(OTHER_STREET, '吴乙');
  const ta = await ok(cc.post('/api/v1/trips', trip(a, { departed_on: '2026-10-01', returned_on: null, back: null, out: { mode: 'train', number: 'D7' } })), 201);
  const tb = await ok(cc.post('/api/v1/trips', trip(b, { departed_on: '2026-10-05', out: { mode: 'car', plate: '京a12345' }, back: null, waypoints: [] })), 201);
  assert.equal(tb.out.plate, '京A12345', 'a plate is normalised as vehicles normalise it');
  assert.equal(ta.back, null);
  const raw = sqlRun(ctx, `SELECT out_plate_enc FROM trips WHERE id = ${tb.id}`);
  assert.ok(!raw.includes('12345'), 'the plate is sealed at rest');

  const ids = async (q, who = cc) => (await ok(who.get(`/api/v1/trips?${q}`))).items.map((x) => x.id);
  assert.deepEqual(await ids(`id_number=${idA}`), [ta.id]);
  assert.deepEqual(await ids(`id_number=${rid()}`), [], 'an id number of nobody: nothing');
  assert.deepEqual(await ids(`region_code=${OTHER_STREET}&from=2026-10-01&to=2026-10-31`), [tb.id]);
  assert.deepEqual(await ids('from=2026-10-01&to=2026-10-31'), [tb.id, ta.id], 'newest departure first');
  assert.deepEqual(await ids('from=2026-10-02&to=2026-10-31'), [tb.id], 'from is inclusive and bounds');
  assert.deepEqual(await ids('mode=car&from=2026-10-01'), [tb.id]);
  assert.deepEqual(await ids('number=d7'), [ta.id]);
  // scope: the other street's staff see theirs only
  assert.deepEqual(await ids('from=2026-10-01&to=2026-10-31', csOther), [tb.id]);
  assert.deepEqual(await ids('from=2026-10-01&to=2026-10-31', cs), [ta.id]);
  // paging
  const page = await ok(cc.get('/api/v1/trips?from=2026-10-01&to=2026-10-31&page=2&page_size=1'));
  assert.equal(page.total, 2);
  assert.deepEqual(page.items.map((x) => x.id), [ta.id]);
  // export
  const csv = await cc.get('/api/v1/trips?from=2026-10-01&to=2026-10-31&format=csv');
  assert.equal(csv.status, 200);
  assert.ok(csv.text.includes('周*') && !csv.text.includes('周甲'), csv.text);
  assert.ok(!csv.text.includes(idA));
  assert.ok(csv.text.includes('多福巷社区'));
  assert.ok((await auditEntries(auditor, 'trace.trip.list')).length >= 1);
  // the same list as a background export job (POST /api/v1/exports), masked
  const job = await ok(cc.post('/api/v1/exports', { list: 'trips', format: 'csv', filters: { from: '2026-10-01', to: '2026-10-31' } }), 202);
  let j;
  for (let i = 0; i < 400; i++) {
    j = await ok(cc.get(`/api/v1/jobs/${job.job_id}`));
    if (j.status === 'done' || j.status === 'failed') break;
    await new Promise((res) => setTimeout(res, 50));
  }
  assert.equal(j.status, 'done', JSON.stringify(j));
  const file = await fetch(`${ctx.url}/api/v1/jobs/${job.job_id}/file`, { headers: { cookie: cc.cookie } });
  assert.equal(file.status, 200);
  const text = await file.text();
  assert.equal(text.trim().split('\n').length, 3, text);
  assert.ok(text.includes('周*') && !text.includes('周甲') && !text.includes(idA), text);
  expectError(await cc.post('/api/v1/exports', { list: 'trips', format: 'csv', filters: { mode: 'rocket' } }), 400, 'invalid_parameter', 'filters.mode');
  // bad filters
  expectError(await cc.get('/api/v1/trips?mode=rocket'), 400, 'invalid_parameter', 'mode');
  expectError(await cc.get('/api/v1/trips?number=ABC'), 400, 'invalid_number', 'number');
  expectError(await cc.get('/api/v1/trips?from=2026-13-01'), 400, 'invalid_parameter', 'from');
  expectError(await cc.get('/api/v1/trips?from=2026-10-05&to=2026-10-01'), 400, 'invalid_range', 'to');
  expectError(await cs.get(`/api/v1/trips?region_code=${OTHER_STREET}`), 400, 'invalid_region', 'region_code');
});

test('bad input: 4xx with the field, nothing written', async () => {
  const p = await person();
  const other = await person(OTHER_STREET, '郑别处');
  const before = [count(), wpCount()];
  const bad = async (body, status, code, field, who = cc) => expectError(await who.post('/api/v1/trips', body), status, code, field);
  await bad(trip(p, { returned_on: '2026-11-19' }), 400, 'invalid_range', 'returned_on');
  await bad(trip(p, { out: { mode: 'flight', number: 'CA12345' } }), 400, 'invalid_number', 'out.number');
  await bad(trip(p, { back: { mode: 'train', number: 'X123' } }), 400, 'invalid_number', 'back.number');
  await bad(trip(p, { out: { mode: 'car', plate: '京12' } }), 400, 'invalid_plate', 'out.plate');
  await bad(trip(p, { out: { mode: 'flight', plate: '京A12345' } }), 400, 'invalid_value', 'out.plate');
  await bad(trip(p, { out: { mode: 'rocket' } }), 400, 'invalid_value', 'out.mode');
  await bad(trip(p, { out: undefined }), 400, 'required', 'out.mode');
  const many = Array.from({ length: 51 }, (_, i) => ({ kind: 'park', place: `公园${i}` }));
  await bad(trip(p, { waypoints: many }), 400, 'too_many_waypoints', 'waypoints');
  await bad(trip(p, { waypoints: [{ kind: 'park', place: '景山公园' }, { kind: 'venue', venue_id: '123456789' }] }), 400, 'unknown_venue', 'waypoints[1].venue_id');
  await bad(trip(p, { waypoints: [{ kind: 'park', place: '景山公园', stay_minutes: 1441 }] }), 400, 'out_of_range', 'waypoints[0].stay_minutes');
  await bad(trip(p, { waypoints: [{ kind: 'park' }] }), 400, 'required', 'waypoints[0].place');
  await bad(trip(p, { departed_on: '2026-02-30' }), 400, 'invalid_date', 'departed_on');
  await bad(trip(p, { destination: undefined }), 400, 'required', 'destination');
  await bad(trip(p, { origin: 'x'.repeat(101) }), 400, 'too_long', 'origin');
  await bad(trip(p, { out: 'flight' }), 400, 'invalid_type', 'out');
  await bad(trip(p, { waypoints: { kind: 'park' } }), 400, 'invalid_type', 'waypoints');
  await bad(trip(p, { waypoints: [{ kind: 'park', place: '景山公园', stay_minutes: '30' }] }), 400, 'invalid_type', 'waypoints[0].stay_minutes');
  await bad(trip(p, { person_id: 'abc' }), 400, 'invalid_value', 'person_id');
  expectError(await cc.post('/api/v1/trips', '{"person_id":', { 'content-type': 'application/json' }), 400, 'invalid_json');
  // another region's person, for the community's grid worker: 404; the
  // community's staff read trips but do not write them (no trace.write)
  await bad(trip(other), 404, 'not_found', 'person_id', grid);
  await bad(trip(p), 403, 'forbidden', undefined, cs);
  // no permission: a checkpoint has neither trace.read nor trace.write
  await bad(trip(p), 403, 'forbidden', undefined, checkpoint);
  expectError(await checkpoint.get('/api/v1/trips'), 403, 'forbidden');
  assert.deepEqual([count(), wpCount()], before, 'nothing written');

  // an update with bad input changes nothing either; another street's trip is 404
  const t = await ok(cc.post('/api/v1/trips', trip(p)), 201);
  const t2 = await ok(cc.post('/api/v1/trips', trip(other)), 201);
  expectError(await cc.patch(`/api/v1/trips/${t.id}`, { returned_on: '2026-01-01' }), 400, 'invalid_range', 'returned_on');
  expectError(await cc.patch(`/api/v1/trips/${t.id}`, { waypoints: many }), 400, 'too_many_waypoints', 'waypoints');
  const r = await cc.patch(`/api/v1/trips/${t.id}`, { person_id: other });
  assert.equal(r.status, 400, r.text);
  expectError(await grid.patch(`/api/v1/trips/${t2.id}`, { note: '改' }), 404, 'not_found');
  expectError(await grid.del(`/api/v1/trips/${t2.id}`), 404, 'not_found');
  assert.equal((await ok(cc.get(`/api/v1/trips/${t2.id}`))).note, '探亲', 'the other street\'s trip is untouched');
  expectError(await cs.get(`/api/v1/trips/${t2.id}`), 404, 'not_found');
  expectError(await cs.get(`/api/v1/persons/${other}/trips`), 404, 'not_found');
  const again = await ok(cc.get(`/api/v1/trips/${t.id}`));
  assert.equal(again.returned_on, '2026-11-25');
  assert.equal(again.waypoint_count, 2);
  assert.equal(again.version, t.version);
});

test('the resident records and reads their own trips only', async () => {
  const phone = '13930001177';
  const res = ctx.client();
  await res.post('/api/v1/auth/sms/send', { phone });
  await ok(res.post('/api/v1/auth/sms/login', { phone, code: smsCode(ctx, phone) }));
  assert.deepEqual((await ok(res.get('/api/v1/me/trips'))).items, [], 'no person yet: nothing');
  expectError(await res.post('/api/v1/me/trips', trip(undefined, { person_id: undefined })), 400, 'not_bound');
  await ok(res.post('/api/v1/me/consent', { version: 'v1' }));
  const me = (await ok(res.post('/api/v1/me/person', { name: '陈本人', id_number: rid(), region_code: COMMUNITY, address: '多福巷3号' }), 201)).person.id;
  const other = await person();
  await ok(cc.post('/api/v1/trips', trip(other)), 201);
  const body = trip(undefined, { person_id: undefined, waypoints: [{ kind: 'restaurant', place: '老北京炸酱面', stay_minutes: 45 }] });
  const mine = await ok(res.post('/api/v1/me/trips', body), 201);
  assert.equal(mine.person_id, me);
  assert.equal(mine.source, 'self');
  assert.equal(mine.source_label, '本人填报');
  const list = (await ok(res.get('/api/v1/me/trips'))).items;
  assert.deepEqual(list.map((x) => x.id), [mine.id]);
  // the staff see it in their list, and the resident has no staff route
  assert.ok((await ok(cs.get(`/api/v1/persons/${me}/trips`))).items.some((x) => x.id === mine.id));
  expectError(await res.get('/api/v1/trips'), 403, 'forbidden');
  expectError(await res.post('/api/v1/me/trips', { ...body, returned_on: '2026-01-01' }), 400, 'invalid_range', 'returned_on');
});

test('import: the valid rows written (source import), a bad row 3 reported with its cell marked', async () => {
  const idA = rid(), idB = rid(), idOther = rid();
  const a = await person(COMMUNITY, '冯导入', idA);
  const b = await person(COMMUNITY, '陈导入', idB);
  await person(OTHER_STREET, '褚别处', idOther);
  const tpl = await download(grid, '/api/v1/trips/template.xlsx');
  assert.equal(tpl.status, 200);
  assert.equal(tpl.type, XLSX);
  const before = count();
  // file row 1 the header; rows 2, 4 valid; row 3 a train number of no known format;
  // row 5 a person outside the grid worker's scope
  const file = xlsxOf([
    HEAD,
    [idA, '2026-09-01', '2026-09-03', '北京', '杭州', '火车', 'G31', '飞机', 'MU5101', '商场/西湖银泰/60；公园/西湖/120', ''],
    [idB, '2026-09-02', '', '北京', '天津', '火车', 'X31', '', '', '', ''],
    [idB, '2026-09-05', '', '北京', '保定', '自驾', '京a12345', '', '', '', '探亲'],
    [idOther, '2026-09-06', '', '北京', '廊坊', '火车', 'K1', '', '', '', ''],
  ]);
  const up = await grid.post('/api/v1/trips/import', new Uint8Array(file), { 'content-type': XLSX });
  assert.equal(up.status, 202, up.text);
  assert.equal(up.body.rows, 4);
  const res = await jobDone(grid, up.body.job_id);
  assert.deepEqual(res, { total: 4, written: 2, failed: 2, report: true });
  assert.equal(count(), before + 2);
  const mine = (await ok(cc.get(`/api/v1/trips?person_id=${a}`))).items;
  assert.equal(mine.length, 1);
  assert.equal(mine[0].source, 'import');
  assert.equal(mine[0].back.number, 'MU5101');
  const one = await ok(cc.get(`/api/v1/trips/${mine[0].id}`));
  assert.deepEqual(one.waypoints.map((w) => [w.kind, w.place, w.stay_minutes]), [['mall', '西湖银泰', 60], ['park', '西湖', 120]]);
  const car = (await ok(cc.get(`/api/v1/trips?person_id=${b}`))).items;
  assert.deepEqual(car.map((t) => t.out.plate), ['京A12345']);

  // the report: rows 3 and 5, the cells at fault marked
  const rep = await download(grid, `/api/v1/jobs/${up.body.job_id}/errors.xlsx`);
  assert.equal(rep.status, 200);
  const f = path.join(ctx.dir, 'trip-report.xlsx');
  fs.writeFileSync(f, rep.buf);
  const t = JSON.parse(py(PY_READ, f));
  assert.deepEqual(t.rows[0], ['行号', ...HEAD, '错误说明']);
  assert.deepEqual(t.rows.slice(1).map((r) => r[0]), ['3', '5']);
  assert.match(t.rows[1].at(-1), /车次格式不正确/);
  assert.match(t.rows[2].at(-1), /不在您的管辖范围内/);
  assert.deepEqual(t.marks.sort(), ['B3', 'H2'], 'column A is 行号: 去程班次 of row 3, 证件号码 of row 5');
  assert.equal((await auditEntries(auditor, 'trace.trip.import', up.body.job_id)).length, 1);

  // a file that is not the template, and a reader without trace.write: nothing queued
  expectError(await grid.post('/api/v1/trips/import?format=csv', 'a,b\n1,2\n', { 'content-type': 'text/csv' }), 400, 'invalid_csv');
  expectError(await cs.post('/api/v1/trips/import', new Uint8Array(file), { 'content-type': XLSX }), 403, 'forbidden');
  assert.equal(count(), before + 2);
});

test('a search by id number counts against the hourly exact-search limit', async () => {
  const c2 = await startCityWith({ x_cc: ['command_center', '110101000000'] }, PW, { env: { FK_EXACT_SEARCH_LIMIT: '2' } });
  try {
    const x = c2.as.x_cc;
    for (let i = 0; i < 2; i++) assert.equal((await x.get(`/api/v1/trips?id_number=${rid()}`)).status, 200);
    expectError(await x.get(`/api/v1/trips?id_number=${rid()}`), 429, 'search_rate_limited');
    // the list without an exact filter is not limited
    assert.equal((await x.get('/api/v1/trips')).status, 200);
  } finally {
    await c2.stop();
  }
});
