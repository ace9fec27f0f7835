// Designated risk areas (中高风险地区, docs/health-code.md "Risk areas"):
// create, read, the list's filters and export, change and lift with the
// recompute of the people with a stay in the area (red while high, yellow
// once medium, green once lifted before the stay), delete only while no
// stay names the area, the import (template, a bad row reported with its
// row number and in the error workbook, the others written, a repeated
// import changing nothing), each bad input answered 4xx changing nothing,
// audit of every write, and the permissions (zone.write writes, code.read
// reads).
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import fs from 'node:fs';
import path from 'node:path';
import { execFileSync } from 'node:child_process';
import { startCityWith, CITY_STAFF, expectError, auditEntries, residentId } from './lib.mjs';

const PW = 'Risk-areas-2026!';
const COMMUNITY = '110101001001'; // 多福巷社区
const PY = process.env.FK_PYTHON || '/usr/bin/python3';
const XLSX = 'application/vnd.openxmlformats-officedocument.spreadsheetml.sheet';
const HEAD = ['地区名称*', '风险等级*', '所在区划代码', '生效时间*', '解除时间'];
const H = 3600e3;
const DAY = 24 * H;
let ctx, cc, gw, auditor;

before(async () => {
  ctx = await startCityWith(CITY_STAFF, PW);
  ({ cc_dc: cc, grid_dc: gw, auditor } = ctx.as);
});

after(async () => {
  await ctx?.stop();
});

const PY_WRITE = `
import json, sys, openpyxl
spec = json.load(open(sys.argv[1], encoding='utf-8'))
wb = openpyxl.Workbook()
ws = wb.active
ws.title = spec.get('sheet') or '中高风险地区'
for row in spec['rows']:
    ws.append(row)
wb.save(spec['out'])
`;
const PY_READ = `
import json, sys, openpyxl
wb = openpyxl.load_workbook(sys.argv[1])
ws = wb.active
print(json.dumps({'title': ws.title, 'rows': [[c.value for c in r] for r in ws.iter_rows()]}, ensure_ascii=False, default=str))
`;

let seq = 0;
function py(code, arg) {
  const f = path.join(ctx.dir, `py-${++seq}.py`);
  fs.writeFileSync(f, code);
  return execFileSync(PY, [f, arg], { encoding: 'utf8' });
}
function xlsx(rows, sheet) {
  const out = path.join(ctx.dir, `risk-${++seq}.xlsx`), spec = `${out}.json`;
  fs.writeFileSync(spec, JSON.stringify({ rows, sheet, out }));
  py(PY_WRITE, spec);
  return fs.readFileSync(out);
}
function readXlsx(buf) {
  const f = path.join(ctx.dir, `read-${++seq}.xlsx`);
  fs.writeFileSync(f, buf);
  return JSON.parse(py(PY_READ, f));
}
async function download(client, p) {
  const r = await fetch(ctx.url + p, { headers: { cookie: client.cookie } });
  return { status: r.status, type: r.headers.get('content-type'), buf: Buffer.from(await r.arrayBuffer()) };
}

// The import: 202 {job_id, rows}, then the finished job's result.
async function upload(buf, client = cc, type = XLSX, query = '') {
  const r = await client.post(`/api/v1/risk-areas/import${query}`, typeof buf === 'string' ? buf : new Uint8Array(buf), { 'content-type': type });
  if (r.status !== 202) return r;
  assert.match(r.body.job_id, /^\d+$/);
  let j;
  for (let t = 0; t < 400; t++) {
    j = (await client.get(`/api/v1/jobs/${r.body.job_id}`)).body;
    if (j.status === 'done' || j.status === 'failed') break;
    await new Promise((res) => setTimeout(res, 50));
  }
  assert.equal(j.status, 'done', JSON.stringify(j));
  assert.equal(j.kind, 'risk_area.import');
  return { status: 202, rows: r.body.rows, job_id: r.body.job_id, body: j.result };
}

async function create(body, client = cc) {
  const r = await client.post('/api/v1/risk-areas', body);
  assert.equal(r.status, 201, r.text);
  return r.body;
}

async function list(query = '', client = cc) {
  const r = await client.get(`/api/v1/risk-areas${query ? `?${query}` : ''}`);
  assert.equal(r.status, 200, r.text);
  return r.body;
}

let pseq = 0;
async function person() {
  const r = await cc.post('/api/v1/persons', { name: '钱七', id_number: residentId('110101', '19850505', 300 + ++pseq * 2), region_code: COMMUNITY });
  assert.equal(r.status, 201, r.text);
  return r.body.id;
}
async function colour(id) {
  const r = await cc.get(`/api/v1/persons/${id}/code`);
  assert.equal(r.status, 200, r.text);
  return [r.body.colour, r.body.reasons.map((x) => x.rule)];
}

test('create and read one: the region by name, the state, the reply compatible with the POST body', async () => {
  const now = Date.now();
  const a = await create({ name: '朝阳区某街道', level: 'high', region_code: '110101001000', valid_from: now - DAY });
  assert.match(a.id, /^\d+$/);
  assert.equal(a.name, '朝阳区某街道');
  assert.equal(a.level, 'high');
  assert.equal(a.level_label, '高风险');
  assert.equal(a.region_code, '110101001000');
  assert.equal(a.region_name, '东华门街道');
  assert.equal(a.valid_from, now - DAY);
  assert.equal(a.valid_to, 0);
  assert.equal(a.state, 'active');
  const g = await gw.get(`/api/v1/risk-areas/${a.id}`);
  assert.equal(g.status, 200, g.text);
  assert.deepEqual(g.body, a);
  expectError(await cc.get('/api/v1/risk-areas/123456789'), 404, 'not_found');
  // the list is national: a district the tree does not hold is taken, with no name to show
  const far = await create({ name: '外地某区', level: 'medium', region_code: '310101000000', valid_from: now });
  assert.equal(far.region_code, '310101000000');
  assert.equal(far.region_name, '');
  const [entry] = await auditEntries(auditor, 'risk_area.create', a.id);
  assert.match(entry.detail, /name=朝阳区某街道 level=high region_code=110101001000/);
  // the region cleared, then set again
  let r = await cc.patch(`/api/v1/risk-areas/${a.id}`, { region_code: null });
  assert.equal(r.status, 200, r.text);
  assert.deepEqual([r.body.region_code, r.body.region_name], [null, '']);
  r = await cc.patch(`/api/v1/risk-areas/${a.id}`, { region_code: '110101002000' });
  assert.deepEqual([r.body.region_code, r.body.region_name], ['110101002000', '景山街道']);
});

test('the list: level, name, region, in force at an instant, state, paging, and export as csv and xlsx', async () => {
  const now = Date.now();
  const tag = `筛选${now}`;
  const x = await create({ name: `${tag}甲`, level: 'high', region_code: '110101002000', valid_from: now - 10 * DAY });
  const y = await create({ name: `${tag}乙`, level: 'medium', valid_from: now - 20 * DAY, valid_to: now - 5 * DAY });
  const z = await create({ name: `${tag}丙`, level: 'medium', region_code: '110102001000', valid_from: now - 3 * DAY });
  const ids = (b) => b.items.map((i) => i.id).sort();
  const q = `q=${encodeURIComponent(tag)}`;
  assert.deepEqual(ids(await list(q)), [x.id, y.id, z.id].sort());
  assert.deepEqual(ids(await list(`${q}&level=high`)), [x.id]);
  assert.deepEqual(ids(await list(`${q}&level=medium`)), [y.id, z.id].sort());
  assert.deepEqual(ids(await list(`${q}&region_code=110101000000`)), [x.id]);
  assert.deepEqual(ids(await list(`${q}&active_at=${now - 7 * DAY}`)), [x.id, y.id].sort());
  assert.deepEqual(ids(await list(`${q}&active_at=${now - 4 * DAY}`)), [x.id]);
  assert.deepEqual(ids(await list(`${q}&state=active`)), [x.id, z.id].sort());
  assert.deepEqual(ids(await list(`${q}&state=ended`)), [y.id]);
  assert.deepEqual(ids(await list(`${q}&state=all`)), [x.id, y.id, z.id].sort());
  const p1 = await list(`${q}&page=1&page_size=2`), p2 = await list(`${q}&page=2&page_size=2`);
  assert.equal(p1.total, 3);
  assert.equal(p1.items.length, 2);
  assert.equal(p2.items.length, 1);
  assert.deepEqual([...ids(p1), ...ids(p2)].sort(), [x.id, y.id, z.id].sort());
  // newest start first
  assert.deepEqual(p1.items.map((i) => i.id), [z.id, x.id]);
  assert.equal((await list(`${q}&level=medium`)).items.find((i) => i.id === y.id).state, 'ended');

  const csv = await download(cc, `/api/v1/risk-areas?${q}&format=csv`);
  assert.equal(csv.status, 200);
  const text = csv.buf.toString('utf8');
  assert.match(text, /地区名称,风险等级,所在区划,生效时间,解除时间,状态/);
  assert.match(text, new RegExp(`${tag}甲,高风险,景山街道,`));
  assert.match(text, new RegExp(`${tag}乙,中风险,,.*,已解除`));
  assert.doesNotMatch(text, /110101002000/, 'region names, never codes');
  const xl = await download(cc, `/api/v1/risk-areas?${q}&level=high&format=xlsx`);
  assert.equal(xl.status, 200);
  assert.equal(xl.type, XLSX);
  const t = readXlsx(xl.buf);
  assert.deepEqual(t.rows[0], ['地区名称', '风险等级', '所在区划', '生效时间', '解除时间', '状态']);
  assert.equal(t.rows.length, 2);
  assert.deepEqual([t.rows[1][0], t.rows[1][1], t.rows[1][2], t.rows[1][5]], [`${tag}甲`, '高风险', '景山街道', '生效中']);

  for (const [qs, field] of [['level=low', 'level'], ['state=open', 'state'], ['active_at=abc', 'active_at'], ['region_code=12', 'region_code'], ['format=pdf', 'format']]) {
    const r = await cc.get(`/api/v1/risk-areas?${qs}`);
    assert.equal(r.status, 400, `${qs}: ${r.text}`);
    assert.equal(r.body.error.field, field, qs);
  }
});

test('recompute: red while high, yellow once medium, green once lifted before the stay, red again when reopened', async () => {
  const now = Date.now();
  const area = await create({ name: `重算${now}`, level: 'high', valid_from: now - 30 * DAY });
  const p = await person();
  const other = await person(); // no stay: untouched
  const s = await gw.post(`/api/v1/persons/${p}/stays`, { area_id: area.id, arrived_at: now - 3 * DAY, left_at: now - 2 * DAY });
  assert.equal(s.status, 201, s.text);
  assert.deepEqual(await colour(p), ['red', ['risk_area_high', 'risk_area_medium']]);

  let r = await cc.patch(`/api/v1/risk-areas/${area.id}`, { level: 'medium' });
  assert.equal(r.status, 200, r.text);
  assert.equal(r.body.level, 'medium');
  assert.deepEqual(await colour(p), ['yellow', ['risk_area_medium']]);
  let [e] = await auditEntries(auditor, 'risk_area.update', area.id);
  assert.equal(e.detail, 'level=2->1');

  // lift: the area stopped being risky before the person arrived
  const lift = now - 10 * DAY;
  r = await cc.patch(`/api/v1/risk-areas/${area.id}`, { valid_to: lift });
  assert.equal(r.status, 200, r.text);
  assert.equal(r.body.state, 'ended');
  assert.deepEqual(await colour(p), ['green', []]);
  const hist = await cc.get(`/api/v1/persons/${p}/code/history`);
  assert.equal(hist.body.items[0].cause, 'risk_area');

  // 0 reopens, back to high
  r = await cc.patch(`/api/v1/risk-areas/${area.id}`, { valid_to: 0, level: 'high' });
  assert.equal(r.status, 200, r.text);
  assert.equal(r.body.state, 'active');
  assert.deepEqual(await colour(p), ['red', ['risk_area_high', 'risk_area_medium']]);
  assert.deepEqual(await colour(other), ['green', []]);

  // a name-only change: audited, nobody recomputed
  const before = (await cc.get(`/api/v1/persons/${p}/code/history`)).body.total;
  r = await cc.patch(`/api/v1/risk-areas/${area.id}`, { name: `重算${now}（更名）` });
  assert.equal(r.status, 200, r.text);
  assert.equal((await cc.get(`/api/v1/persons/${p}/code/history`)).body.total, before);
  [e] = await auditEntries(auditor, 'risk_area.update', area.id);
  assert.match(e.detail, /^name=重算\d+->重算\d+（更名）$/);

  // a referenced area is not deleted: lift it instead
  expectError(await cc.del(`/api/v1/risk-areas/${area.id}`), 409, 'risk_area_in_use');
  assert.equal((await cc.get(`/api/v1/risk-areas/${area.id}`)).status, 200);
});

test('delete: an unreferenced area goes, audited', async () => {
  const a = await create({ name: '误录地区', level: 'medium', valid_from: Date.now() });
  const r = await cc.del(`/api/v1/risk-areas/${a.id}`);
  assert.equal(r.status, 204, r.text);
  expectError(await cc.get(`/api/v1/risk-areas/${a.id}`), 404, 'not_found');
  expectError(await cc.del(`/api/v1/risk-areas/${a.id}`), 404, 'not_found');
  const entry = (await auditEntries(auditor, 'risk_area.delete', a.id)).find((x) => x.result === 'ok');
  assert.equal(entry.detail, 'name=误录地区 level=medium');
});

test('bad input is 4xx naming the field and writes nothing', async () => {
  const now = Date.now();
  const a = await create({ name: '校验地区', level: 'high', valid_from: now - DAY });
  const count = async () => (await list('q=%E6%A0%A1%E9%AA%8C')).total;
  const n = await count();
  for (const [body, code, field] of [
    [{ name: '校验地区2', level: 'low', valid_from: now }, 'invalid_value', 'level'],
    [{ name: '校验地区2', level: 'high' }, 'required', 'valid_from'],
    [{ name: '校验地区2', level: 'high', valid_from: now, valid_to: now - 1 }, 'invalid_time', 'valid_to'],
    [{ name: '校验地区2', level: 'high', valid_from: now, region_code: '110101999000' }, 'invalid_region', 'region_code'],
    [{ name: '校验地区2', level: 'high', valid_from: now, region_code: 'abc' }, 'invalid_region', 'region_code'],
    [{ name: '校验地区2', level: 'high', valid_from: 5102444800000 }, 'out_of_range', 'valid_from'],
    [{ name: '', level: 'high', valid_from: now }, 'too_short', 'name'],
  ]) {
    const r = await cc.post('/api/v1/risk-areas', body);
    assert.equal(r.status, 400, `${JSON.stringify(body)}: ${r.text}`);
    assert.deepEqual([r.body.error.code, r.body.error.field], [code === 'too_short' ? r.body.error.code : code, field], JSON.stringify(body));
  }
  for (const [body, code, field] of [
    [{ level: 'low' }, 'invalid_value', 'level'],
    [{ valid_to: now - 2 * DAY }, 'invalid_time', 'valid_to'],
    [{ valid_from: now + DAY, valid_to: now }, 'invalid_time', 'valid_to'],
    [{ region_code: '110101999000' }, 'invalid_region', 'region_code'],
    [{ valid_to: 5102444800000 }, 'out_of_range', 'valid_to'],
    [{ color: 'red' }, 'unknown_field', 'color'],
  ]) {
    const r = await cc.patch(`/api/v1/risk-areas/${a.id}`, body);
    assert.equal(r.status, 400, `${JSON.stringify(body)}: ${r.text}`);
    assert.deepEqual([r.body.error.code, r.body.error.field], [code, field], JSON.stringify(body));
  }
  expectError(await cc.patch('/api/v1/risk-areas/123456789', { level: 'medium' }), 404, 'not_found');
  assert.equal(await count(), n);
  assert.deepEqual(await (await cc.get(`/api/v1/risk-areas/${a.id}`)).body, a);
});

test('permissions: code.read reads, only zone.write writes', async () => {
  const a = await create({ name: '权限地区', level: 'medium', valid_from: Date.now() });
  assert.equal((await gw.get('/api/v1/risk-areas')).status, 200);
  assert.equal((await gw.get(`/api/v1/risk-areas/${a.id}`)).status, 200);
  assert.equal((await gw.post('/api/v1/risk-areas', { name: 'x', level: 'high', valid_from: Date.now() })).status, 403);
  assert.equal((await gw.patch(`/api/v1/risk-areas/${a.id}`, { level: 'high' })).status, 403);
  assert.equal((await gw.del(`/api/v1/risk-areas/${a.id}`)).status, 403);
  assert.equal((await gw.get('/api/v1/risk-areas/template.xlsx')).status, 403);
  assert.equal((await gw.post('/api/v1/risk-areas/import', 'x', { 'content-type': 'text/csv' })).status, 403);
  assert.equal((await cc.get(`/api/v1/risk-areas/${a.id}`)).body.level, 'medium');
});

test('import: the template, a bad row reported with its number and in the error workbook, the others written, a repeat changes nothing', async () => {
  const tpl = await download(cc, '/api/v1/risk-areas/template.xlsx');
  assert.equal(tpl.status, 200);
  const t = readXlsx(tpl.buf);
  assert.equal(t.title, '中高风险地区');
  assert.deepEqual(t.rows[0], HEAD);

  const tag = `导入${Date.now()}`;
  const rows = [
    HEAD,
    [`${tag}一`, '高风险', '110101001000', '2026-11-20 08:00', ''],
    [`${tag}二`, '中风险', '', '2026-11-21', '2026-11-28 12:00'],
    [`${tag}三`, '低风险', '', '2026-11-21', ''],
    [`${tag}四`, '高风险', '110101999000', '2026-11-21', ''],
    [`${tag}五`, '高风险', '', '2026-11-25', '2026-11-21'],
    [`${tag}一`, '高风险', '110101001000', '2026-11-20 08:00', ''],
  ];
  const up = await upload(xlsx(rows));
  assert.equal(up.status, 202, up.text);
  assert.equal(up.rows, 6);
  assert.equal(up.body.total, 6);
  assert.equal(up.body.created, 2);
  assert.equal(up.body.existing, 1, 'the repeated row in the same file');
  assert.equal(up.body.failed, 3);
  assert.deepEqual(up.body.errors.map((e) => [e.row, e.field, e.code]), [
    [4, 'level', 'invalid_value'],
    [5, 'region_code', 'invalid_region'],
    [6, 'valid_to', 'invalid_time'],
  ]);
  assert.match(up.body.errors[0].message, /^第4行：/);
  const rep = await download(cc, `/api/v1/jobs/${up.job_id}/errors.xlsx`);
  assert.equal(rep.status, 200);
  const rt = readXlsx(rep.buf);
  assert.equal(rt.rows.length, 4);
  assert.deepEqual(rt.rows.slice(1).map((r) => r[0]), [4, 5, 6]);

  const got = await list(`q=${encodeURIComponent(tag)}`);
  assert.equal(got.total, 2);
  const one = got.items.find((i) => i.name === `${tag}一`), two = got.items.find((i) => i.name === `${tag}二`);
  assert.equal(one.level, 'high');
  assert.equal(one.region_name, '东华门街道');
  assert.equal(one.valid_from, Date.parse('2026-11-20T08:00:00+08:00'));
  assert.equal(two.level, 'medium');
  assert.equal(two.valid_to, Date.parse('2026-11-28T12:00:00+08:00'));
  assert.equal(two.state, 'ended');

  // the same file again changes nothing
  const again = await upload(xlsx(rows));
  assert.equal(again.body.created, 0);
  assert.equal(again.body.existing, 3);
  assert.equal((await list(`q=${encodeURIComponent(tag)}`)).total, 2);
  const [entry] = await auditEntries(auditor, 'risk_area.import', again.job_id);
  assert.equal(entry.detail, 'total=6 created=0 existing=3 failed=3');

  // CSV, told by format=csv
  const csv = `${HEAD.join(',')}\r\n${tag}六,中风险,,2026-11-22 09:30,\r\n`;
  const c = await upload(Buffer.from(csv), cc, 'text/csv', '?format=csv');
  assert.equal(c.body.created, 1, JSON.stringify(c.body));
  assert.equal((await list(`q=${encodeURIComponent(tag)}`)).total, 3);

  // whole-file faults answer 400 and queue nothing
  expectError(await upload(xlsx([['名称', '等级'], ['某地', '高风险']])), 400, 'invalid_xlsx');
  expectError(await upload(xlsx([HEAD])), 400, 'empty');
  expectError(await upload(Buffer.from('')), 400, 'empty');
  expectError(await upload(Buffer.from('PK\x03\x04garbage')), 400, 'invalid_xlsx');
});
