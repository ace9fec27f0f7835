// Visitors of enterprises (docs/enterprise.md "Visitors"): a resident
// registers a visitor with an enterprise as the host, the enterprise's
// account confirms or refuses it, its gate checks the visitor code, the
// enterprise lists a day's visitors (expected, arrived, left; masked; CSV),
// the street sees them in scope, another enterprise is 404 and audited.
// And the employee import from xlsx/CSV (docs/enterprise.md "Employee
// import"): the template, the job, the per-row errors report.
// One server; the tests build on each other's data.
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import fs from 'node:fs';
import path from 'node:path';
import { execFileSync } from 'node:child_process';
import { startCityWith, CITY_STAFF, creditCode, residentId, expectError, auditEntries, sqlRun } from './lib.mjs';
import { resident } from './devlib.mjs';

const PW = 'Enterprise-visit-2024!';
const H = 3600000;
const S1_C1 = '110101001001'; // 东华门街道
const S2_C1 = '110101002001'; // 景山街道
let ctx, cc, entA, entB, street1, street2, gate, grid, auditor, host;
let A, B;

before(async () => {
  ctx = await startCityWith(
    {
      ...CITY_STAFF,
      ent_a: ['enterprise', S1_C1],
      ent_b: ['enterprise', S2_C1],
      street_1: ['street_staff', '110101001000'],
      street_2: ['street_staff', '110101002000'],
    },
    PW,
  );
  ({ cc_dc: cc, ent_a: entA, ent_b: entB, street_1: street1, street_2: street2, gate_dc: gate, grid_dc: grid, auditor } = ctx.as);
  ctx.cc = cc; // resident() verifies the person with it
  ctx.ccWest = ctx.as.cc_xc;
  const mk = async (name, region, n) => {
    const r = await cc.post('/api/v1/enterprises', { name, credit_code: creditCode('91110101MA000000' + n), region_code: region, address: '东华门大街1号' });
    assert.equal(r.status, 201, r.text);
    return r.body;
  };
  A = await mk('东华门精密机械有限公司', S1_C1, '1');
  B = await mk('景山食品有限公司', S2_C1, '2');
  for (const [u, e] of [[entA, A], [entB, B]])
    assert.equal((await cc.post('/api/v1/enterprise-accounts', { user_id: u.id, enterprise_id: e.id })).status, 200);
  host = await resident(ctx);
});

after(async () => {
  await ctx?.stop();
});

const visitor = (over = {}) => ({
  name: '赵六', id_type: 'resident_id', id_number: residentId('110102', '19920315', 7), phone: '13912345678',
  purpose: '商务洽谈', valid_from: Date.now() - H, valid_to: Date.now() + 4 * H, enterprise_id: A.id, ...over,
});

let v1, v2, token;

test('a resident finds the enterprise and registers a visitor with it as the host', async () => {
  let r = await host.get('/api/v1/me/visit-enterprises?q=' + encodeURIComponent('精密'));
  assert.equal(r.status, 200, r.text);
  assert.deepEqual(r.body.items.map((x) => x.name), ['东华门精密机械有限公司']);
  assert.equal(r.body.items[0].address, '东华门大街1号');
  assert.equal(Object.keys(r.body.items[0]).includes('credit_code'), false, 'names only');
  expectError(await host.get('/api/v1/me/visit-enterprises'), 400, 'invalid_parameter', 'q');
  r = await host.get(`/api/v1/me/visit-enterprises/${A.id}`);
  assert.equal(r.status, 200, r.text);
  assert.equal(r.body.name, A.name);
  assert.equal((await host.get('/api/v1/me/visit-enterprises/99999')).status, 404);
  assert.equal((await grid.get(`/api/v1/me/visit-enterprises/${A.id}`)).status, 403, 'residents only');

  // bad input: nothing stored
  const before = (await host.get('/api/v1/me/visitors')).body.total;
  expectError(await host.post('/api/v1/me/visitors', visitor({ enterprise_id: '99999' })), 400, 'invalid_enterprise', 'enterprise_id');
  expectError(await host.post('/api/v1/me/visitors', visitor({ enterprise_id: 'abc' })), 400, 'invalid_enterprise', 'enterprise_id');
  expectError(await host.post('/api/v1/me/visitors', visitor({ enterprise_id: 12 })), 400, 'invalid_type', 'enterprise_id');
  expectError(await host.post('/api/v1/me/visitors', visitor({ phone: '123' })), 400, 'invalid_phone', 'phone');
  assert.equal((await host.get('/api/v1/me/visitors')).body.total, before);

  r = await host.post('/api/v1/me/visitors', visitor());
  assert.equal(r.status, 201, r.text);
  v1 = r.body;
  assert.equal(v1.host_kind, 'enterprise');
  assert.equal(v1.enterprise_id, A.id);
  assert.equal(v1.enterprise_name, A.name);
  assert.equal(v1.region_code, S1_C1, "the enterprise's region");
  assert.equal(v1.name, '赵*');
  r = await host.post('/api/v1/me/visitors', visitor({ name: '钱七', id_number: residentId('110102', '19900101', 9) }));
  assert.equal(r.status, 201, r.text);
  v2 = r.body;
  // a community visitor stays one
  r = await host.post('/api/v1/me/visitors', visitor({ enterprise_id: null }));
  assert.equal(r.status, 201, r.text);
  assert.equal(r.body.host_kind, 'resident');
  assert.equal(r.body.enterprise_id, null);
});

test('the enterprise decides its visitors; another enterprise and community staff get 404', async () => {
  // community staff's queue of pending visitors holds the community's only
  const queue = (await cc.get('/api/v1/visitors?status=pending')).body.items;
  assert.ok(queue.length >= 1, 'the community visitor is there');
  assert.ok(!queue.some((x) => x.host_kind === 'enterprise'), 'an enterprise decides its own');
  expectError(await entB.post(`/api/v1/enterprise-visitors/${v1.id}/confirm`, {}), 404, 'not_found');
  expectError(await cc.post(`/api/v1/visitors/${v1.id}/confirm`, {}), 404, 'not_found');
  const refusals = await auditEntries(auditor, 'visitor.confirm', v1.id);
  assert.ok(refusals.some((x) => x.result !== 'ok'), 'the refusal is audited');
  expectError(await entA.post(`/api/v1/enterprise-visitors/${v2.id}/refuse`, {}), 400, 'required', 'reason');
  expectError(await entA.post(`/api/v1/enterprise-visitors/${v2.id}/refuse`, { reason: 'x'.repeat(201) }), 400, 'too_long', 'reason');
  expectError(await entA.post('/api/v1/enterprise-visitors/abc/confirm', {}), 404, 'not_found');
  expectError(await host.get(`/api/v1/visitors/${v1.id}/code`), 409, 'visitor_not_confirmed');

  let r = await entA.post(`/api/v1/enterprise-visitors/${v1.id}/confirm`, {});
  assert.equal(r.status, 200, r.text);
  assert.equal(r.body.status, 'confirmed');
  assert.equal(r.body.enterprise_name, A.name);
  expectError(await entA.post(`/api/v1/enterprise-visitors/${v1.id}/refuse`, { reason: '晚了' }), 409, 'visitor_not_pending');
  r = await entA.post(`/api/v1/enterprise-visitors/${v2.id}/refuse`, { reason: '当日不接待' });
  assert.equal(r.status, 200, r.text);
  assert.equal(r.body.status, 'refused');
  r = await host.get(`/api/v1/visitors/${v1.id}/code`);
  assert.equal(r.status, 200, r.text);
  token = r.body.token;
});

async function day(client = entA, query = '') {
  const r = await client.get('/api/v1/enterprise-visitors' + query);
  assert.equal(r.status, 200, r.text);
  return r.body;
}

test("the gate checks the code: its own enterprise's only; arrived, then left", async () => {
  let d = await day();
  assert.equal(d.total, 2);
  assert.equal(d.enterprise_name, A.name);
  const row = (id) => d.items.find((x) => x.id === id);
  assert.equal(row(v1.id).presence, 'expected');
  assert.equal(row(v1.id).presence_label, '待到访');
  assert.equal(row(v2.id).presence, 'undecided');
  assert.equal(row(v1.id).name, '赵*');
  assert.ok(!JSON.stringify(d).includes('13912345678'), 'masked');

  // another enterprise's gate, a forged code, bad input: refused, nothing logged
  expectError(await entB.post('/api/v1/enterprise-visitors/scan', { token, direction: 'in' }), 409, 'visitor_wrong_area', 'token');
  assert.equal((await entA.post('/api/v1/enterprise-visitors/scan', { token: token.slice(0, -4) + 'AAAA', direction: 'in' })).status, 400);
  expectError(await entA.post('/api/v1/enterprise-visitors/scan', { token, direction: 'up' }), 400, 'invalid_value', 'direction');
  expectError(await entA.post('/api/v1/enterprise-visitors/scan', { token, direction: 'in', temperature: 50 }), 400, 'out_of_range', 'temperature');
  expectError(await entA.post('/api/v1/enterprise-visitors/scan', { direction: 'in' }), 400, 'required', 'token');
  assert.equal((await host.post('/api/v1/enterprise-visitors/scan', { token, direction: 'in' })).status, 403);
  assert.equal((await day()).items.find((x) => x.id === v1.id).presence, 'expected');

  // a fever is refused at the gate and raises an alert
  let r = await entA.post('/api/v1/enterprise-visitors/scan', { token, direction: 'in', temperature: 38.2 });
  assert.equal(r.status, 200, r.text);
  assert.equal(r.body.verdict, 'deny');
  assert.equal((await day()).items.find((x) => x.id === v1.id).presence, 'expected', 'a denied entry is no arrival');

  r = await entA.post('/api/v1/enterprise-visitors/scan', { token, direction: 'in', temperature: 36.5 });
  assert.equal(r.status, 200, r.text);
  assert.equal(r.body.verdict, 'allow');
  assert.equal(r.body.visitor.name, '赵*');
  d = await day();
  assert.equal(d.items.find((x) => x.id === v1.id).presence, 'arrived');
  assert.equal(d.arrived, 1);
  assert.equal(typeof d.items.find((x) => x.id === v1.id).arrived_at, 'number');

  // checkpoint staff holding employee.pass_verify check it for the enterprise of their scope
  r = await gate.post('/api/v1/enterprise-visitors/scan', { token, direction: 'out' });
  assert.equal(r.status, 200, r.text);
  d = await day();
  assert.equal(d.items.find((x) => x.id === v1.id).presence, 'left');
  assert.equal(d.left, 1);
  assert.ok((await auditEntries(auditor, 'visitor.gate', v1.id)).length >= 3);
});

test("a day's list: date picker, export, another enterprise 404, the street in scope", async () => {
  const tomorrow = new Date(Date.now() + 8 * H + 48 * H).toISOString().slice(0, 10);
  assert.equal((await day(entA, '?date=' + tomorrow)).total, 0, 'the window ends today');
  for (const q of ['?date=2024-13-01', '?date=today', '?format=pdf', '?enterprise_id=abc'])
    assert.equal((await entA.get('/api/v1/enterprise-visitors' + q)).status, 400, q);
  expectError(await entB.get(`/api/v1/enterprise-visitors?enterprise_id=${A.id}`), 404, 'not_found');
  assert.ok((await auditEntries(auditor, 'visitor.enterprise_list')).some((x) => x.result !== 'ok'), 'refusal audited');
  // the street sees its enterprise, not another street's
  assert.equal((await day(street1, `?enterprise_id=${A.id}`)).total, 2);
  expectError(await street2.get(`/api/v1/enterprise-visitors?enterprise_id=${A.id}`), 404, 'not_found');
  expectError(await street1.get('/api/v1/enterprise-visitors'), 400, 'required', 'enterprise_id');
  assert.equal((await host.get('/api/v1/enterprise-visitors')).status, 403);
  // community staff see it among the visitors of their scope, named
  const all = await cc.get('/api/v1/visitors');
  const x = all.body.items.find((i) => i.id === v1.id);
  assert.equal(x.enterprise_name, A.name);

  const csv = await entA.get('/api/v1/enterprise-visitors?format=csv');
  assert.equal(csv.status, 200);
  assert.match(csv.text, /访客姓名/);
  assert.match(csv.text, /赵\*/);
  assert.match(csv.text, /已离开/);
  assert.ok(!csv.text.includes('13912345678'), 'masked in the file too');
  assert.equal((await auditEntries(auditor, 'visitor.enterprise_export', A.id)).length, 1);
});

test('an enterprise visitor is not admitted at community venues or by community staff', async () => {
  const place = await cc.post('/api/v1/places', { name: '多福巷小区', kind: 'community', region_code: S1_C1, address: '多福巷1号' });
  assert.equal(place.status, 201, place.text);
  const venue = await cc.post('/api/v1/venues', { name: '多福巷小区东门', kind: 'community_gate', place_id: place.body.id });
  assert.equal(venue.status, 201, venue.text);
  expectError(await gate.post('/api/v1/visitors/scan', { venue_id: venue.body.id, token, direction: 'in' }), 409, 'visitor_wrong_area', 'venue_id');
});

// ---- the employee import -------------------------------------------------------------------

const XLSX = 'application/vnd.openxmlformats-officedocument.spreadsheetml.sheet';
const HEAD = ['姓名*', '证件类型', '证件号码*', '手机号码', '部门', '岗位', '班次'];
const PY_READ = `
import json, sys, openpyxl
wb = openpyxl.load_workbook(sys.argv[1])
ws = wb[wb.sheetnames[0]]
out = {'title': ws.title, 'rows': [], 'marks': []}
for row in ws.iter_rows():
    out['rows'].append([None if c.value is None else str(c.value) for c in row])
    for c in row:
        if c.comment:
            out['marks'].append(c.coordinate)
print(json.dumps(out, ensure_ascii=False))
`;
async function download(client, p) {
  const r = await fetch(ctx.url + p, { headers: { cookie: client.cookie } });
  return { status: r.status, type: r.headers.get('content-type'), buf: Buffer.from(await r.arrayBuffer()) };
}
function readXlsx(buf, name) {
  const f = path.join(ctx.dir, name), py = path.join(ctx.dir, 'read.py');
  fs.writeFileSync(f, buf);
  fs.writeFileSync(py, PY_READ);
  return JSON.parse(execFileSync(process.env.FK_PYTHON || '/usr/bin/python3', [py, f], { encoding: 'utf8' }));
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
const csvOf = (rows) => rows.map((r) => r.join(',')).join('\n') + '\n';

test('employee import: the template; good rows linked or created; bad, duplicate and other-enterprise rows reported', async () => {
  const tpl = await download(entA, '/api/v1/employees/template.xlsx');
  assert.equal(tpl.status, 200);
  assert.equal(tpl.type, XLSX);
  const t = readXlsx(tpl.buf, 'tpl.xlsx');
  assert.equal(t.title, '员工');
  assert.deepEqual(t.rows[0], HEAD);

  // B employs one person; A's file names them (another enterprise's employee)
  const idB = residentId('110101', '19800101', 31);
  assert.equal((await entB.post('/api/v1/employees', { id_number: idB, name: '周八' })).status, 201);
  const before = (await entA.get('/api/v1/employees')).body.total;
  const id1 = residentId('110101', '19880808', 41), id2 = residentId('110101', '19900909', 42, false);
  const file = csvOf([
    HEAD,
    ['吴一', '居民身份证', id1, '13800002222', '生产部', '车工', '早班'], // 2: new person
    ['郑二', '', id2, '', '行政部', '', ''], // 3: new person
    ['王九', '', '110101198808081234', '', '', '', ''], // 4: bad id number
    ['吴一', '', id1, '', '', '', ''], // 5: a duplicate of row 2
    ['周八', '', idB, '', '', '', ''], // 6: B's employee
    ['冯十', '护照', 'E12345678', '', '', '', ''], // 7: not a resident id
    ['陈十一', '', residentId('110101', '19870101', 43), '12345', '', '', ''], // 8: bad phone
  ]);
  const up = await entA.post('/api/v1/employees/import?format=csv', file, { 'content-type': 'text/csv' });
  assert.equal(up.status, 202, up.text);
  assert.equal(up.body.rows, 7);
  assert.deepEqual(await jobDone(entA, up.body.job_id), { total: 7, written: 2, failed: 5, report: true });
  const list = (await entA.get('/api/v1/employees')).body;
  assert.equal(list.total, before + 2);
  const wu = list.items.find((x) => x.name === '吴*');
  assert.equal(wu.department, '生产部');
  assert.equal(wu.shift, '早班');
  assert.equal(wu.phone, '138****2222');
  // the person is in the registry, in the enterprise's region
  assert.equal((await cc.get(`/api/v1/persons/${wu.person_id}`)).body.region_code, S1_C1);

  // the report: the failed rows, the cell at fault marked
  const rep = await download(entA, `/api/v1/jobs/${up.body.job_id}/errors.xlsx`);
  assert.equal(rep.status, 200);
  const r = readXlsx(rep.buf, 'report.xlsx');
  assert.deepEqual(r.rows[0], ['行号', ...HEAD, '错误说明']);
  assert.deepEqual(r.rows.slice(1).map((x) => x[0]), ['4', '5', '6', '7', '8']);
  assert.match(r.rows[2].at(-1), /重复/);
  assert.match(r.rows[3].at(-1), /其他企业/);
  assert.match(r.rows[4].at(-1), /居民身份证/);
  assert.deepEqual(r.marks.sort(), ['C5', 'D2', 'D3', 'D4', 'E6'], '证件号码 of rows 4-6, 证件类型 of 7, 手机号码 of 8');
  // another enterprise cannot read the job or its report
  assert.equal((await download(entB, `/api/v1/jobs/${up.body.job_id}/errors.xlsx`)).status, 404);
  assert.equal((await entB.get(`/api/v1/jobs/${up.body.job_id}`)).status, 404);
  assert.equal((await auditEntries(auditor, 'employee.import', up.body.job_id)).length, 1);
});

test('employee import: whole-file faults are 400 with no job; another enterprise 404; readers cannot import', async () => {
  const imp = (client, body, q = '?format=csv') => client.post('/api/v1/employees/import' + q, body, { 'content-type': 'text/csv' });
  expectError(await imp(entA, 'a,b\n1,2\n'), 400, 'invalid_csv');
  expectError(await imp(entA, csvOf([HEAD])), 400, 'empty');
  expectError(await imp(entA, ''), 400, 'empty');
  expectError(await imp(entA, csvOf([HEAD]), '?format=pdf'), 400, 'invalid_parameter', 'format');
  expectError(await imp(entA, csvOf([HEAD, ['甲', '', residentId('110101', '19700101', 51), '', '', '', '']]), `?format=csv&enterprise_id=${B.id}`), 404, 'not_found');
  // the street's staff review, they do not import (employee.write is the enterprise's)
  assert.equal((await imp(street1, csvOf([HEAD]), `?format=csv&enterprise_id=${A.id}`)).status, 403);
  assert.equal((await imp(host, csvOf([HEAD]))).status, 403);
  // nothing was queued by any of these
  const jobs = Number(sqlRun(ctx, "SELECT COUNT(*) FROM jobs WHERE kind = 'employee.import'").trim());
  assert.equal(jobs, 1);
});
