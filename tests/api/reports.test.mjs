// Custom reports (GET/POST/PATCH/DELETE /api/v1/custom-reports, copy, run,
// export): definitions checked against the datasets' whitelists (an unknown
// field or a SQL fragment is refused with its path and nothing is stored),
// grouped runs in the caller's scope (a street never counts another street),
// and the xlsx opened by openpyxl.
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import fs from 'node:fs';
import path from 'node:path';
import { execFileSync } from 'node:child_process';
import { startCityWith, CITY_STAFF, residentId, expectError, waitForAudit, sqlRun } from './lib.mjs';

const PW = 'Passw0rd!reports';
const COMMUNITY = '110101001001'; // 东华门街道 多福巷社区
const OTHER_COMMUNITY = '110101002001'; // 景山街道 隆福寺社区
const STREET = '110101001000'; // 东华门街道
const DISTRICT = '110101000000'; // 东城区

let ctx, cc, street, leader, grid, auditor;
let seq = 0;

before(async () => {
  ctx = await startCityWith(
    {
      cc_dc: CITY_STAFF.cc_dc,
      grid_dc: CITY_STAFF.grid_dc,
      auditor: CITY_STAFF.auditor,
      street: ['street_staff', STREET],
      leader: ['leader', DISTRICT],
    },
    PW,
  );
  ({ cc_dc: cc, street, leader, grid_dc: grid, auditor } = ctx.as);
  // three people in 东华门街道, two in 景山街道
  for (const [region, status] of [
    [COMMUNITY, 'normal'], [COMMUNITY, 'normal'], [COMMUNITY, 'home_isolation'],
    [OTHER_COMMUNITY, 'normal'], [OTHER_COMMUNITY, 'home_isolation'],
  ]) {
    seq += 1;
    const r = await cc.post('/api/v1/persons', {
      name: '李报表', id_number: residentId('110101', '19800101', 500 + seq * 2, true), region_code: region, status,
    });
    assert.equal(r.status, 201, r.text);
  }
});
after(async () => {
  await ctx?.stop();
});

const BY_STREET = {
  name: '各街道人员状态',
  dataset: 'persons',
  group_by: [{ field: 'region_code', by: 'street', title: '街道' }, { field: 'status' }],
  measures: [{ fn: 'count', title: '人数' }],
};

async function count(c) {
  const r = await c.get('/api/v1/custom-reports?page_size=100');
  assert.equal(r.status, 200, r.text);
  return r.body.total;
}

test('a definition is created, read, listed, changed, copied and deleted', async () => {
  const r = await cc.post('/api/v1/custom-reports', BY_STREET);
  assert.equal(r.status, 201, r.text);
  const id = r.body.id;
  assert.equal(r.body.name, '各街道人员状态');
  assert.deepEqual(r.body.columns, ['街道', '人员状态', '人数']);
  assert.equal((await cc.get(`/api/v1/custom-reports/${id}`)).body.dataset, 'persons');
  const p = await cc.patch(`/api/v1/custom-reports/${id}`, { name: '各街道人员状态（改）' });
  assert.equal(p.status, 200, p.text);
  assert.equal(p.body.name, '各街道人员状态（改）');
  assert.equal(p.body.version, 2);
  const c = await cc.post(`/api/v1/custom-reports/${id}/copy`);
  assert.equal(c.status, 201, c.text);
  assert.equal(c.body.name, '各街道人员状态（改） 副本');
  assert.notEqual(c.body.id, id);
  assert.deepEqual(c.body.group_by, p.body.group_by);
  const before = await count(cc);
  assert.equal((await cc.del(`/api/v1/custom-reports/${c.body.id}`)).status, 204);
  assert.equal(await count(cc), before - 1);
  expectError(await cc.get(`/api/v1/custom-reports/${c.body.id}`), 404, 'unknown_report');
  // leaders run but do not define; a grid worker has neither
  assert.equal((await leader.get('/api/v1/custom-reports')).status, 200);
  assert.equal((await leader.post('/api/v1/custom-reports', BY_STREET)).status, 403);
  assert.equal((await grid.get('/api/v1/custom-reports')).status, 403);
});

test('bad definitions are refused with their path and nothing is stored', async () => {
  const n = await count(cc);
  const bad = [
    [{ ...BY_STREET, dataset: 'users' }, 'unknown_dataset', 'dataset'],
    [{ name: '明细', dataset: 'persons', fields: [{ name: 'status' }, { name: 'gender' }, { name: 'name_enc' }] }, 'unknown_field', 'fields[2].name'],
    [{ name: '明细', dataset: 'persons', fields: [{ name: 'status' }, { name: 'status; DROP TABLE persons; --' }] }, 'unknown_field', 'fields[1].name'],
    [{ name: '明细', dataset: 'persons', fields: [{ name: 'status' }], filters: [{ field: 'status', op: 'like', value: 'normal' }] }, 'invalid_operator', 'filters[0].op'],
    [{ name: '明细', dataset: 'persons', fields: [{ name: 'status' }], filters: [{ field: 'status', op: 'eq', value: "normal' OR 1=1 --" }] }, 'invalid_value', 'filters[0].value'],
    [{ ...BY_STREET, group_by: [{ field: 'region_code', by: 'month' }] }, 'not_groupable', 'group_by[0].by'],
    [{ ...BY_STREET, group_by: [{ field: 'created_at', by: 'year' }] }, 'not_groupable', 'group_by[0].by'],
    [{ ...BY_STREET, group_by: [{ field: 'status' }, { field: 'created_at' }] }, 'not_groupable', 'group_by[1].field'],
    [{ ...BY_STREET, measures: [{ fn: 'sum', field: 'status' }] }, 'not_numeric', 'measures[0].field'],
    [{ ...BY_STREET, name: '报表\n换行' }, 'invalid_value', 'name'],
    [{ ...BY_STREET, name: 'x'.repeat(65) }, undefined, 'name'],
  ];
  for (const [body, code, field] of bad) {
    const r = await cc.post('/api/v1/custom-reports', body);
    assert.equal(r.status, 400, r.text);
    if (code) assert.equal(r.body.error.code, code, r.text);
    assert.equal(r.body.error.field, field, r.text);
  }
  // a name that reads like SQL is only text: stored as written, runs as any
  const s = await cc.post('/api/v1/custom-reports', {
    ...BY_STREET, name: "x'); DROP TABLE reports; --",
    measures: [{ fn: 'count', sql: 'COUNT(*) FROM users --' }],
  });
  assert.equal(s.status, 201, s.text);
  assert.deepEqual(s.body.measures, [{ fn: 'count' }], 'members the check does not read are not stored');
  assert.equal((await cc.get(`/api/v1/custom-reports/${s.body.id}`)).body.name, "x'); DROP TABLE reports; --");
  assert.equal(await count(cc), n + 1);
  // a PATCH with an unknown field changes nothing
  const p = await cc.patch(`/api/v1/custom-reports/${s.body.id}`, { group_by: [{ field: 'nope' }] });
  expectError(p, 400, 'unknown_field', 'group_by[0].field');
  assert.equal((await cc.get(`/api/v1/custom-reports/${s.body.id}`)).body.version, 1);
});

test('a run counts the caller\'s scope only, with names for regions and statuses', async () => {
  const r = await cc.post('/api/v1/custom-reports', { ...BY_STREET, name: '按街道' });
  assert.equal(r.status, 201, r.text);
  const all = await cc.get(`/api/v1/custom-reports/${r.body.id}/run`);
  assert.equal(all.status, 200, all.text);
  const rows = all.body.items.map((c) => c.join('|'));
  assert.ok(rows.includes('东华门街道|正常|2'), rows.join('\n'));
  assert.ok(rows.includes('景山街道|居家隔离|1') || rows.some((x) => x.startsWith('景山街道|')), rows.join('\n'));
  assert.ok(rows.some((x) => x.startsWith('景山街道|')), 'positive control: the district sees the other street');
  const mine = await street.get(`/api/v1/custom-reports/${r.body.id}/run`);
  assert.equal(mine.status, 200, mine.text);
  // every run is audited with its dataset and row count
  const runs = await waitForAudit(auditor, `action=report.run&object_id=${r.body.id}`, (a) => a.username === 'street');
  const entry = runs.find((a) => a.username === 'street');
  assert.ok(entry, JSON.stringify(runs));
  assert.equal(entry.detail, `dataset=persons,count=${mine.body.items.length}`);
  assert.ok(mine.body.items.length > 0);
  for (const c of mine.body.items) assert.equal(c[0], '东华门街道', JSON.stringify(mine.body.items));
  assert.equal(mine.body.items.reduce((s, c) => s + c[2], 0), 3);
  // the header's region (within) narrows a run like every read
  const narrowed = await cc.get(`/api/v1/custom-reports/${r.body.id}/run?within=${STREET}`);
  assert.equal(narrowed.status, 200, narrowed.text);
  assert.deepEqual([...new Set(narrowed.body.items.map((c) => c[0]))], ['东华门街道']);
  // a filter on a region and a listing of fields
  const l = await cc.post('/api/v1/custom-reports', {
    name: '密接明细', dataset: 'persons',
    fields: [{ name: 'region_code', title: '社区' }, { name: 'status' }, { name: 'created_at', date_format: 'date' }],
    filters: [{ field: 'status', op: 'eq', value: 'home_isolation' }, { field: 'region_code', op: 'within', value: STREET }],
  });
  assert.equal(l.status, 201, l.text);
  const lr = await cc.get(`/api/v1/custom-reports/${l.body.id}/run`);
  assert.equal(lr.status, 200, lr.text);
  assert.equal(lr.body.total, 1);
  assert.equal(lr.body.items[0][0], '多福巷社区');
  assert.match(lr.body.items[0][2], /^\d{4}-\d{2}-\d{2}$/);
});

test('the export: xlsx with its title and header, opened by openpyxl; CSV', async () => {
  const r = await cc.post('/api/v1/custom-reports', { ...BY_STREET, name: '导出测试' });
  const res = await fetch(`${ctx.url}/api/v1/custom-reports/${r.body.id}/export?format=xlsx`, { headers: { cookie: street.cookie } });
  assert.equal(res.status, 200);
  const buf = Buffer.from(await res.arrayBuffer());
  assert.equal(buf.subarray(0, 2).toString(), 'PK');
  const f = path.join(ctx.dir, 'report.xlsx');
  fs.writeFileSync(f, buf);
  const rows = JSON.parse(execFileSync('/usr/bin/python3', ['-c', `
import json, sys, zipfile, re
z = zipfile.ZipFile(sys.argv[1])
names = z.namelist()
assert 'xl/workbook.xml' in names, names
import openpyxl
ws = openpyxl.load_workbook(sys.argv[1], read_only=True).worksheets[0]
print(json.dumps([[("" if v is None else str(v)) for v in r] for r in ws.iter_rows(values_only=True)], ensure_ascii=False))
`, f], { encoding: 'utf8' }));
  assert.equal(rows[0][0], '导出测试');
  assert.deepEqual(rows[1].slice(0, 3), ['街道', '人员状态', '人数']);
  assert.equal(rows[2][0], '街道：东华门街道'); // the group's header row
  assert.ok(!JSON.stringify(rows).includes('景山街道'), 'a street exports its street only');
  const total = rows.filter((x) => x[0] === '东华门街道').reduce((s, x) => s + Number(x[2]), 0);
  assert.equal(total, 3);
  const csv = await fetch(`${ctx.url}/api/v1/custom-reports/${r.body.id}/export?format=csv`, { headers: { cookie: cc.cookie } });
  assert.equal(csv.status, 200);
  const text = await csv.text();
  assert.match(text, /导出测试/);
  assert.match(text, /景山街道/);
  expectError(await cc.get(`/api/v1/custom-reports/${r.body.id}/export?format=pdf`), 400, 'invalid_parameter', 'format');
});

test('every dataset: a listing of all its fields and grouped runs by each way run on this database', async () => {
  const ds = await cc.get('/api/v1/custom-reports/datasets');
  assert.equal(ds.status, 200, ds.text);
  assert.deepEqual(ds.body.items.map((d) => d.name), ['persons', 'incidents', 'observations', 'tasks', 'checks', 'access_records', 'samples', 'test_results']);
  const BY = { region: ['district', 'street', 'community', 'grid'], time: ['day', 'week', 'month'], category: ['value'], bool: ['value'] };
  for (const d of ds.body.items) {
    const list = await cc.post('/api/v1/custom-reports', { name: `${d.label}明细`, dataset: d.name, fields: d.fields.map((f) => ({ name: f.name })) });
    assert.equal(list.status, 201, list.text);
    const run = await cc.get(`/api/v1/custom-reports/${list.body.id}/run`);
    assert.equal(run.status, 200, run.text);
    if (d.name === 'persons') assert.equal(run.body.total, 5);
    const number = d.fields.find((f) => f.type === 'number');
    for (const f of d.fields) {
      for (const by of BY[f.type] || []) {
        const g = await cc.post('/api/v1/custom-reports', {
          name: `${d.label}按${f.label}`, dataset: d.name, group_by: [{ field: f.name, by }],
          measures: [{ fn: 'count' }, ...(number ? [{ fn: 'avg', field: number.name }, { fn: 'sum', field: number.name }] : [])],
        });
        assert.equal(g.status, 201, g.text);
        const gr = await cc.get(`/api/v1/custom-reports/${g.body.id}/run`);
        assert.equal(gr.status, 200, `${d.name} ${f.name} ${by}: ${gr.text}`);
        if (d.name === 'persons') assert.equal(gr.body.items.reduce((s, c) => s + c[1], 0), 5, `${f.name} ${by}`);
      }
    }
  }
  // a week is shown as its Monday
  const w = await cc.post('/api/v1/custom-reports', { name: '按周', dataset: 'persons', group_by: [{ field: 'created_at', by: 'week' }] });
  const wr = await cc.get(`/api/v1/custom-reports/${w.body.id}/run`);
  const monday = wr.body.items[0][0];
  assert.equal(new Date(`${monday}T00:00:00Z`).getUTCDay(), 1, monday);
  // a month is shown as yyyy-mm, this China month for people registered now
  const m = await cc.post('/api/v1/custom-reports', { name: '按月', dataset: 'persons', group_by: [{ field: 'created_at', by: 'month' }] });
  const mr = await cc.get(`/api/v1/custom-reports/${m.body.id}/run`);
  assert.deepEqual(mr.body.items, [[new Date(Date.now() + 8 * 3600000).toISOString().slice(0, 7), 5]]);
});

test('a stored definition that no longer checks is listed as broken, refused by a run, and mended by an edit', async () => {
  const r = await cc.post('/api/v1/custom-reports', { name: '将失效', dataset: 'persons', fields: [{ name: 'status' }] });
  assert.equal(r.status, 201, r.text);
  // as if a field had left the whitelist since the definition was stored
  sqlRun(ctx, `UPDATE reports SET definition = '{"dataset":"persons","fields":[{"name":"retired"}],"filters":[],"group_by":[],"measures":[],"name":"将失效"}' WHERE id = ${r.body.id}`);
  const list = await cc.get('/api/v1/custom-reports?page_size=100');
  assert.equal(list.status, 200, list.text);
  const item = list.body.items.find((x) => x.id === r.body.id);
  assert.equal(item.broken, true);
  assert.equal(item.name, '将失效');
  assert.equal(list.body.items.find((x) => x.id !== r.body.id).broken, false, 'positive control: the others are not');
  expectError(await cc.get(`/api/v1/custom-reports/${r.body.id}/run`), 409, 'report_broken');
  const p = await cc.patch(`/api/v1/custom-reports/${r.body.id}`, { fields: [{ name: 'gender' }] });
  assert.equal(p.status, 200, p.text);
  assert.equal(p.body.broken, false);
  assert.equal((await cc.get(`/api/v1/custom-reports/${r.body.id}/run`)).status, 200);
});
