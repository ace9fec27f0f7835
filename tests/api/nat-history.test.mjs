// Historical rounds (/api/v1/nat/rounds, issue 10 "Other data the seed
// names", seed 004 二2(2)): a street round and a school round created,
// their figures imported from CSV through the import worker (row errors
// with their row numbers: unknown street, negative count, tested over
// planned; the rest written; a repeated import replaces, never doubles),
// entered in the console (all or nothing), read by street and by school
// with totals and as CSV, compared per street; a street's staff see their
// own street only; refusals (empty file, 403 without nat.plan).
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import fs from 'node:fs';
import path from 'node:path';
import { execFileSync } from 'node:child_process';
import { startCityWith, CITY_STAFF, expectError, auditEntries } from './lib.mjs';

const PW = 'Nat-history-2024!';
const S1 = '110101001000'; // 东华门街道
const S2 = '110101002000'; // 景山街道
const XC1 = '110102001000'; // 西长安街街道 (another district)
let ctx, cc, street1, leader, auditor, site;
let streetRound, schoolRound;

before(async () => {
  ctx = await startCityWith(
    { ...CITY_STAFF, street1: ['street_staff', S1], leader: ['leader', '110101000000'], site: ['site_staff', S1] },
    PW,
  );
  ({ cc_dc: cc, street1, leader, auditor, site } = ctx.as);
});

after(async () => {
  await ctx?.stop();
});

const HEAD = '街道,学校,应检人数,已检人数,阳性人数,未检人数';
const PY = process.env.FK_PYTHON || '/usr/bin/python3';
const XLSX = 'application/vnd.openxmlformats-officedocument.spreadsheetml.sheet';
let fileSeq = 0;
// a workbook of `rows` (numbers as numbers) on sheet `sheet`
function xlsx(rows, sheet = '历史轮次') {
  const py = path.join(ctx.dir, 'write.py');
  fs.writeFileSync(
    py,
    `import json, sys, openpyxl\nspec = json.load(open(sys.argv[1], encoding='utf-8'))\nwb = openpyxl.Workbook()\nws = wb.active\nws.title = spec['sheet']\nfor row in spec['rows']:\n    ws.append(row)\nwb.save(spec['out'])\n`,
  );
  const out = path.join(ctx.dir, `round-${++fileSeq}.xlsx`);
  fs.writeFileSync(`${out}.json`, JSON.stringify({ rows, sheet, out }));
  execFileSync(PY, [py, `${out}.json`]);
  return fs.readFileSync(out);
}
const importCsv = (client, id, text) =>
  client.post(`/api/v1/nat/rounds/${id}/import?format=csv`, Buffer.from(text), { 'content-type': 'text/csv' });
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
async function importDone(client, id, text) {
  const r = await importCsv(client, id, text);
  assert.equal(r.status, 202, r.text);
  return jobDone(client, r.body.job_id);
}

test('rounds are created by nat.plan, listed by kind and day; bad input changes nothing', async () => {
  let r = await cc.post('/api/v1/nat/rounds', { name: '第三轮街道核酸', kind: 'street', first_day: '2022-05-01', last_day: '2022-05-02', source: '应急局报表' });
  assert.equal(r.status, 201, r.text);
  streetRound = r.body;
  assert.deepEqual([streetRound.kind, streetRound.first_day, streetRound.last_day, streetRound.units], ['street', '2022-05-01', '2022-05-02', 0]);
  r = await cc.post('/api/v1/nat/rounds', { name: '中小学核酸第一轮', kind: 'school', first_day: '2022-05-10' });
  assert.equal(r.status, 201, r.text);
  schoolRound = r.body;
  assert.equal(schoolRound.last_day, '2022-05-10');
  expectError(await cc.post('/api/v1/nat/rounds', { name: 'x', kind: 'other', first_day: '2022-05-10' }), 400, 'invalid_value', 'kind');
  expectError(await cc.post('/api/v1/nat/rounds', { name: 'x', kind: 'street', first_day: '2022-05-10', last_day: '2022-05-09' }), 400, 'out_of_range', 'last_day');
  expectError(await cc.post('/api/v1/nat/rounds', { name: 'x', kind: 'street', first_day: '2022-13-10' }), 400, 'invalid_date', 'first_day');
  expectError(await street1.post('/api/v1/nat/rounds', { name: 'x', kind: 'street', first_day: '2022-05-10' }), 403, 'forbidden');
  r = await cc.get('/api/v1/nat/rounds');
  assert.equal(r.status, 200, r.text);
  assert.deepEqual(r.body.items.map((x) => x.name), ['中小学核酸第一轮', '第三轮街道核酸']);
  r = await cc.get('/api/v1/nat/rounds?kind=street');
  assert.deepEqual(r.body.items.map((x) => x.id), [streetRound.id]);
  r = await cc.get('/api/v1/nat/rounds?from=2022-05-02&to=2022-05-05');
  assert.deepEqual(r.body.items.map((x) => x.id), [streetRound.id]);
  r = await cc.get('/api/v1/nat/rounds?from=2022-05-03&to=2022-05-09');
  assert.equal(r.body.total, 0);
  expectError(await cc.get('/api/v1/nat/rounds?from=05/03'), 400, 'invalid_date', 'from');
  assert.equal((await street1.get('/api/v1/nat/rounds')).status, 200);
});

test('a CSV import: rows refused with their row numbers, the rest written; again, nothing doubles', async () => {
  const text = [
    HEAD,
    `东华门街道,,1000,950,2,50`, // row 2: by name
    `${S2},,800,780,0,`, // row 3: by code, untested not given
    `不存在街道,,10,5,0,`, // row 4: unknown street
    `${XC1},,10,5,0,`, // row 5: another district: outside the scope
    `东华门街道,,-5,0,0,`, // row 6: negative
    `景山街道,,100,120,0,`, // row 7: tested over planned
  ].join('\n');
  let res = await importDone(cc, streetRound.id, text);
  assert.deepEqual([res.total, res.created, res.replaced, res.failed], [6, 2, 0, 4]);
  // rows 2 and 3 created their streets; row 6 (row 2's street) refused
  assert.deepEqual(
    res.errors.map((e) => [e.row, e.code, e.field]),
    [[4, 'unknown_region', 'region_code'], [5, 'unknown_region', 'region_code'], [6, 'invalid_value', 'planned'], [7, 'tested_over_planned', 'tested']],
  );
  assert.match(res.errors[0].message, /第4行/);
  assert.equal(res.report, true);
  let r = await cc.get(`/api/v1/nat/rounds/${streetRound.id}`);
  assert.equal(r.status, 200, r.text);
  assert.deepEqual(
    r.body.figures.map((f) => [f.street_name, f.planned, f.tested, f.positive, f.untested]),
    [['东华门街道', 1000, 950, 2, 50], ['景山街道', 800, 780, 0, null]],
  );
  assert.deepEqual([r.body.total.planned, r.body.total.tested, r.body.total.positive, r.body.total.untested, r.body.total.rate_permille], [1800, 1730, 2, 50, 961]);
  // the same file again: every unit replaced by itself, nothing doubled
  res = await importDone(cc, streetRound.id, text);
  assert.deepEqual([res.created, res.replaced, res.failed], [0, 2, 4]);
  r = await cc.get(`/api/v1/nat/rounds/${streetRound.id}`);
  assert.equal(r.body.total.planned, 1800);
  assert.equal(r.body.units, 2);
  const entries = await auditEntries(auditor, 'nat.round.import', streetRound.id);
  assert.ok(entries.some((e) => /created=2 replaced=0 failed=4/.test(e.detail)), JSON.stringify(entries));
});

test('an xlsx import: numbers as number cells, a bad row reported with its row; the error report downloadable', async () => {
  const r0 = await cc.post('/api/v1/nat/rounds', { name: '中小学核酸第二轮', kind: 'school', first_day: '2022-05-20' });
  assert.equal(r0.status, 201, r0.text);
  const buf = xlsx([
    ['街道', '学校', '应检人数', '已检人数', '阳性人数', '未检人数'],
    ['东华门街道', '东华门小学', 600, 598, 0, 2],
    ['景山街道', '', 10, 10, 0, null],
  ]);
  const up = await cc.post(`/api/v1/nat/rounds/${r0.body.id}/import`, new Uint8Array(buf), { 'content-type': XLSX });
  assert.equal(up.status, 202, up.text);
  assert.equal(up.body.rows, 2);
  const res = await jobDone(cc, up.body.job_id);
  assert.deepEqual([res.created, res.failed], [1, 1]);
  assert.deepEqual(res.errors.map((e) => [e.row, e.code, e.field]), [[3, 'required', 'school']]);
  const rep = await fetch(`${ctx.url}/api/v1/jobs/${up.body.job_id}/errors.xlsx`, { headers: { cookie: cc.cookie } });
  assert.equal(rep.status, 200);
  const r = await cc.get(`/api/v1/nat/rounds/${r0.body.id}`);
  assert.deepEqual(r.body.figures.map((f) => [f.school, f.planned, f.tested, f.untested]), [['东华门小学', 600, 598, 2]]);
});

test('whole-file refusals answer 400 and write nothing; importing needs nat.plan', async () => {
  expectError(await importCsv(cc, streetRound.id, ''), 400, 'empty');
  // the template as downloaded: its header and hints row, no data yet
  const t = await fetch(`${ctx.url}/api/v1/nat/rounds/template.xlsx`, { headers: { cookie: cc.cookie } });
  assert.equal(t.status, 200);
  const tpl = new Uint8Array(await t.arrayBuffer());
  expectError(await cc.post(`/api/v1/nat/rounds/${streetRound.id}/import`, tpl, { 'content-type': XLSX }), 400, 'empty');
  expectError(await importCsv(cc, streetRound.id, `${HEAD}\n`), 400, 'empty');
  expectError(await importCsv(cc, streetRound.id, '街区,人数\n东华门街道,1\n'), 400, 'invalid_xlsx');
  const many = [HEAD];
  for (let i = 0; i <= 10000; i++) many.push('东华门街道,,1,1,0,');
  expectError(await importCsv(cc, streetRound.id, many.join('\n')), 400, 'too_many_rows');
  expectError(await importCsv(street1, streetRound.id, `${HEAD}\n东华门街道,,1,1,0,\n`), 403, 'forbidden');
  expectError(await importCsv(cc, '999999999', `${HEAD}\n东华门街道,,1,1,0,\n`), 404, 'unknown_round');
  const r = await cc.get(`/api/v1/nat/rounds/${streetRound.id}`);
  assert.equal(r.body.total.planned, 1800);
});

test('a school round: schools entered in the console (all or none), by school and by street', async () => {
  let r = await cc.put(`/api/v1/nat/rounds/${schoolRound.id}/figures`, {
    figures: [
      { region_code: S1, school: '东华门小学', planned: 600, tested: 590, positive: 0 },
      { region_code: S1, school: '北池子中学', planned: 400, tested: 400, positive: 1, untested: 0 },
      { region_code: S2, school: '景山学校', planned: 900, tested: 880, positive: 0 },
    ],
  });
  assert.equal(r.status, 200, r.text);
  assert.deepEqual(r.body, { created: 3, replaced: 0 });
  // one bad unit: nothing of the body is written
  expectError(
    await cc.put(`/api/v1/nat/rounds/${schoolRound.id}/figures`, {
      figures: [
        { region_code: S1, school: '东华门小学', planned: 600, tested: 600, positive: 0 },
        { region_code: S2, school: '景山学校', planned: 900, tested: 880, positive: 881 },
      ],
    }),
    400,
    'positive_over_tested',
    'figures[1].positive',
  );
  expectError(await cc.put(`/api/v1/nat/rounds/${schoolRound.id}/figures`, { figures: [{ region_code: S1, planned: 1, tested: 1, positive: 0 }] }), 400, 'required', 'figures[0].school');
  expectError(await cc.put(`/api/v1/nat/rounds/${streetRound.id}/figures`, { figures: [{ region_code: S1, school: '某校', planned: 1, tested: 1, positive: 0 }] }), 400, 'invalid_value', 'figures[0].school');
  expectError(await cc.put(`/api/v1/nat/rounds/${schoolRound.id}/figures`, { figures: [{ region_code: '110101001001', school: '某校', planned: 1, tested: 1, positive: 0 }] }), 400, 'unknown_region', 'figures[0].region_code');
  r = await cc.get(`/api/v1/nat/rounds/${schoolRound.id}`);
  assert.equal(r.body.by, 'school');
  assert.deepEqual(r.body.figures.map((f) => [f.street_name, f.school, f.tested]), [['东华门街道', '东华门小学', 590], ['东华门街道', '北池子中学', 400], ['景山街道', '景山学校', 880]]);
  r = await cc.get(`/api/v1/nat/rounds/${schoolRound.id}?by=street`);
  assert.deepEqual(r.body.figures.map((f) => [f.street_name, f.planned, f.tested, f.positive, f.untested]), [['东华门街道', 1000, 990, 1, 0], ['景山街道', 900, 880, 0, null]]);
  assert.deepEqual([r.body.total.planned, r.body.total.tested], [1900, 1870]);
  // the export: the rows and a total
  r = await cc.get(`/api/v1/nat/rounds/${schoolRound.id}?by=street&format=csv`);
  assert.equal(r.status, 200);
  assert.match(r.text, /东华门街道,,1000,990,1,0,990/);
  assert.match(r.text, /合计,,1900,1870,1,0,984/);
  const entries = await auditEntries(auditor, 'nat.round.figures', schoolRound.id);
  assert.ok(entries.some((e) => e.result === 'ok' && /created=3/.test(e.detail)));
});

test('compare two rounds per street; a street sees its own rows only; 403 without nat.read', async () => {
  let r = await cc.get(`/api/v1/nat/rounds/compare?a=${streetRound.id}&b=${schoolRound.id}`);
  assert.equal(r.status, 200, r.text);
  assert.deepEqual(r.body.streets.map((s) => [s.street_name, s.a.tested, s.b.tested]), [['东华门街道', 950, 990], ['景山街道', 780, 880]]);
  r = await cc.get(`/api/v1/nat/rounds/compare?a=${streetRound.id}&b=${schoolRound.id}&format=csv`);
  assert.match(r.text, /景山街道,800,780,0,900,880,0/);
  expectError(await cc.get(`/api/v1/nat/rounds/compare?a=${streetRound.id}`), 400, 'required', 'b');
  // the street's staff: their street's rows and totals, the round itself visible
  r = await street1.get(`/api/v1/nat/rounds/${streetRound.id}`);
  assert.equal(r.status, 200, r.text);
  assert.deepEqual(r.body.figures.map((f) => f.region_code), [S1]);
  assert.equal(r.body.total.planned, 1000);
  assert.equal(r.body.units, 1);
  r = await street1.get(`/api/v1/nat/rounds/compare?a=${streetRound.id}&b=${schoolRound.id}`);
  assert.deepEqual(r.body.streets.map((s) => s.region_code), [S1]);
  // another district's command centre sees none of these streets
  r = await ctx.as.cc_xc.get(`/api/v1/nat/rounds/${streetRound.id}`);
  assert.deepEqual(r.body.figures, []);
  assert.equal((await leader.get('/api/v1/nat/rounds')).status, 200);
  expectError(await ctx.as.auditor.get('/api/v1/nat/rounds'), 403, 'forbidden');
  // site staff read rounds (nat.read) but cannot enter figures (nat.plan)
  assert.equal((await site.get(`/api/v1/nat/rounds/${streetRound.id}`)).status, 200);
  expectError(await site.put(`/api/v1/nat/rounds/${streetRound.id}/figures`, { figures: [{ region_code: S1, planned: 1, tested: 1, positive: 0 }] }), 403, 'forbidden');
});
