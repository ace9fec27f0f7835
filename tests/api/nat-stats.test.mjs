// Testing statistics (/api/v1/nat/stats/*, /api/v1/nat/bureau/*, issue 10
// "Statistics"): exact figures after a known set of samples over two
// streets and two industries with a street's correction; scope (a street
// sees its own row only, another district's plan is unknown); bad input
// answered 4xx with its field; CSV and xlsx exports read back (the xlsx by
// openpyxl); the emergency bureau's rows; and after a random workload the
// statistics equal a recount from nat_samples.
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import fs from 'node:fs';
import path from 'node:path';
import { execFileSync } from 'node:child_process';
import { startCityWith, CITY_STAFF, expectError, sqlRun, residentId, creditCode } from './lib.mjs';

const PW = 'Nat-stats-2024!';
const S1 = '110101001000'; // 东华门街道
const S1_C1 = '110101001001';
const S2 = '110101002000'; // 景山街道
const S2_C1 = '110101002001';
const H = 3600000;
let ctx, cc, ccXc, street1, street2, staff1, staff2;
let siteA, siteB, siteC, plan, edu, med;
let seq = 0;
const rid = () => residentId('110101', '19900303', 700 + ++seq * 2);
let barcode = 0;
const tube = () => `ST-${String(++barcode).padStart(6, '0')}`;

async function person(name, region, extra = {}) {
  const id_number = rid();
  const r = await cc.post('/api/v1/persons', { name, id_number, region_code: region, ...extra });
  assert.equal(r.status, 201, r.text);
  return { id: r.body.id, id_number };
}

async function sample(staff, p) {
  const r = await staff.post('/api/v1/nat/samples', { id_number: p.id_number, barcode: tube(), plan_id: plan.id });
  assert.equal(r.status, 201, r.text);
  return r.body;
}

async function raw(c, p) {
  const r = await fetch(`${ctx.url}${p}`, { headers: { cookie: c.cookie } });
  return { status: r.status, buf: Buffer.from(await r.arrayBuffer()), type: r.headers.get('content-type') };
}

function xlsxRows(buf) {
  const f = path.join(ctx.dir, `stats-${Date.now()}-${Math.random()}.xlsx`);
  fs.writeFileSync(f, buf);
  const out = execFileSync('/usr/bin/python3', ['-c', `
import json, sys, openpyxl
wb = openpyxl.load_workbook(sys.argv[1], read_only=True)
ws = wb.worksheets[0]
print(json.dumps([[("" if v is None else str(v)) for v in r] for r in ws.iter_rows(values_only=True)], ensure_ascii=False))
`, f], { encoding: 'utf8' });
  return JSON.parse(out);
}

before(async () => {
  ctx = await startCityWith(
    {
      ...CITY_STAFF,
      street1: ['street_staff', S1],
      street2: ['street_staff', S2],
      staff1: ['site_staff', S1],
      staff2: ['site_staff', S2],
    },
    PW,
  );
  ({ cc_dc: cc, cc_xc: ccXc, street1, street2, staff1, staff2 } = ctx.as);
  const site = async (body) => {
    const r = await cc.post('/api/v1/nat/sites', body);
    assert.equal(r.status, 201, r.text);
    return r.body;
  };
  siteA = await site({ name: '多福巷核酸点', kind: 'fixed', region_code: S1_C1 });
  await site({ name: '东华门暂停点', kind: 'mobile', region_code: S1_C1, state: 'paused' });
  siteB = await site({ name: '景山核酸点', kind: 'temporary', region_code: S2_C1 });
  siteC = await site({ name: '隆福寺无人点', kind: 'fixed', region_code: S2_C1 }); // open, nobody: unattended
  assert.equal((await staff1.post(`/api/v1/nat/sites/${siteA.id}/clock-in`, {})).status, 201);
  assert.equal((await staff2.post(`/api/v1/nat/sites/${siteB.id}/clock-in`, {})).status, 201);
  const now = Date.now();
  let r = await cc.post('/api/v1/nat/plans', { number: 'ST-2024-1', name: '统计测试轮', starts_at: now - H, ends_at: now + 10 * H });
  assert.equal(r.status, 201, r.text);
  plan = r.body;
  const inds = (await cc.get('/api/v1/nat/industries')).body.items;
  edu = inds.find((i) => i.name === '教育').id;
  med = inds.find((i) => i.name === '医疗').id;
  r = await cc.post('/api/v1/enterprises', { name: '东华门小学', credit_code: creditCode('91110101MA0000031'), region_code: S1_C1, industry: '教育', employees: 50 });
  assert.equal(r.status, 201, r.text);
  r = await cc.post('/api/v1/enterprises', { name: '隆福寺医院', credit_code: creditCode('91110101MA0000032'), region_code: S2_C1, industry: '医疗', employees: 30 });
  assert.equal(r.status, 201, r.text);
  r = await cc.put(`/api/v1/nat/plans/${plan.id}/targets`, {
    targets: [
      { region_code: S1, planned: 10 },
      { region_code: S1, industry_id: edu, planned: 5 },
      { region_code: S2, planned: 8 },
      { region_code: S2, industry_id: med, planned: 3 },
    ],
  });
  assert.equal(r.status, 200, r.text);
  // 东华门: four residents, two of them at the school, one sampled twice
  const s1 = [];
  for (let i = 0; i < 4; i++) s1.push(await person(`东华门${i}`, S1_C1, i < 2 ? { employer: '东华门小学' } : {}));
  for (const p of s1) await sample(staff1, p);
  assert.equal((await sample(staff1, s1[0])).duplicate, true);
  // 景山: three residents, one at the hospital
  for (let i = 0; i < 3; i++) await sample(staff2, await person(`景山${i}`, S2_C1, i === 0 ? { employer: '隆福寺医院' } : {}));
  // 景山 stands by 5 (two tested elsewhere)
  r = await street2.post(`/api/v1/nat/plans/${plan.id}/corrections`, { region_code: S2, actual: 5, reason: '2人在外区检测' });
  assert.equal(r.status, 200, r.text);
});

after(async () => {
  await ctx?.stop();
});

const byName = (items) => Object.fromEntries(items.map((x) => [x.region_name, x]));

test('streets: sites by state, unattended, on duty, the day\'s scans and clock-ins, the plan\'s figures with the correction', async () => {
  const r = await cc.get(`/api/v1/nat/stats/streets?plan_id=${plan.id}`);
  assert.equal(r.status, 200, r.text);
  assert.equal(r.body.plan.number, 'ST-2024-1');
  assert.match(r.body.day, /^\d{4}-\d{2}-\d{2}$/);
  const s = byName(r.body.items);
  assert.deepEqual(Object.keys(s).sort(), ['东华门街道', '景山街道']);
  const a = s['东华门街道'], b = s['景山街道'];
  assert.equal(a.district_name, '东城区');
  assert.deepEqual([a.sites, a.sites_open, a.sites_paused, a.sites_closed, a.unattended, a.on_duty, a.scans, a.clockins], [2, 1, 1, 0, 0, 1, 5, 1]);
  assert.deepEqual([b.sites, b.sites_open, b.sites_paused, b.sites_closed, b.unattended, b.on_duty, b.scans, b.clockins], [2, 2, 0, 0, 1, 1, 3, 1]);
  assert.deepEqual([a.figures.planned, a.figures.actual, a.figures.corrected, a.figures.effective, a.figures.difference], [10, 4, null, 4, 6]);
  assert.deepEqual([b.figures.planned, b.figures.actual, b.figures.corrected, b.figures.effective, b.figures.difference], [8, 3, 5, 5, 3]);
  assert.equal(b.figures.reason, '2人在外区检测');
  // without a plan: the sites and the day, no figures
  const n = await cc.get('/api/v1/nat/stats/streets');
  assert.equal(n.status, 200, n.text);
  assert.equal(n.body.plan, null);
  assert.equal(byName(n.body.items)['东华门街道'].figures, null);
  assert.equal(byName(n.body.items)['东华门街道'].scans, 5);
  // another day: no scans, no clock-ins, the sites as they are now
  const y = await cc.get(`/api/v1/nat/stats/streets?day=2020-01-01&plan_id=${plan.id}`);
  assert.equal(y.status, 200, y.text);
  assert.equal(y.body.day, '2020-01-01');
  assert.deepEqual(y.body.items.map((x) => [x.scans, x.clockins, x.sites]), [[0, 0, 2], [0, 0, 2]]);
});

test('districts and industries: the streets summed, what each street stands by', async () => {
  let r = await cc.get(`/api/v1/nat/stats/districts?plan_id=${plan.id}`);
  assert.equal(r.status, 200, r.text);
  assert.equal(r.body.items.length, 1);
  const d = r.body.items[0];
  assert.equal(d.region_name, '东城区');
  assert.deepEqual([d.streets, d.sites, d.unattended, d.on_duty, d.scans, d.clockins], [2, 4, 1, 2, 8, 2]);
  assert.deepEqual([d.figures.planned, d.figures.actual, d.figures.effective, d.figures.difference], [18, 7, 9, 9]);
  r = await cc.get(`/api/v1/nat/stats/industries?plan_id=${plan.id}`);
  assert.equal(r.status, 200, r.text);
  const ind = Object.fromEntries(r.body.items.map((x) => [x.industry_name, x]));
  assert.equal(r.body.items[0].industry_name, '教育', 'the list\'s order');
  assert.deepEqual([ind['教育'].planned, ind['教育'].actual, ind['教育'].effective, ind['教育'].difference], [5, 2, 2, 3]);
  assert.deepEqual([ind['医疗'].planned, ind['医疗'].actual, ind['医疗'].effective, ind['医疗'].difference], [3, 1, 1, 2]);
  assert.deepEqual([ind['商超'].planned, ind['商超'].actual], [0, 0], 'every live industry, zeros when none');
  // a street: its own industries only
  r = await street1.get(`/api/v1/nat/stats/industries?plan_id=${plan.id}`);
  const ind1 = Object.fromEntries(r.body.items.map((x) => [x.industry_name, x]));
  assert.equal(ind1['教育'].actual, 2);
  assert.equal(ind1['医疗'].actual, 0);
});

test('scans summed by street and by site over a range of days', async () => {
  let r = await cc.get('/api/v1/nat/stats/scans?by=street');
  assert.equal(r.status, 200, r.text);
  assert.equal(r.body.total, 8);
  assert.deepEqual(r.body.items.map((x) => [x.region_name, x.n]), [['东华门街道', 5], ['景山街道', 3]]);
  r = await cc.get('/api/v1/nat/stats/scans?by=site&from=2020-01-01');
  assert.equal(r.status, 200, r.text);
  assert.deepEqual(r.body.items.map((x) => [x.site_name, x.region_name, x.n]), [['多福巷核酸点', '多福巷社区', 5], ['景山核酸点', '隆福寺社区', 3]]);
  assert.equal(r.body.items[0].site_id, siteA.id);
  r = await cc.get('/api/v1/nat/stats/scans?by=site&from=2020-01-01&to=2020-01-31');
  assert.deepEqual(r.body.items, []);
  r = await street2.get('/api/v1/nat/stats/scans?by=site&from=2020-01-01');
  assert.deepEqual(r.body.items.map((x) => x.site_id), [siteB.id]);
});

test('scope: a street sees its own row, another district sees neither the plan nor the streets', async () => {
  let r = await street1.get(`/api/v1/nat/stats/streets?plan_id=${plan.id}`);
  assert.equal(r.status, 200, r.text);
  assert.deepEqual(r.body.items.map((x) => x.region_name), ['东华门街道']);
  assert.equal(r.body.items[0].scans, 5);
  r = await street2.get(`/api/v1/nat/stats/streets?plan_id=${plan.id}`);
  assert.deepEqual(r.body.items.map((x) => [x.region_name, x.figures.effective]), [['景山街道', 5]]);
  r = await street2.get(`/api/v1/nat/stats/districts?plan_id=${plan.id}`);
  assert.deepEqual(r.body.items.map((x) => [x.region_name, x.streets, x.scans]), [['东城区', 1, 3]]);
  expectError(await ccXc.get(`/api/v1/nat/stats/streets?plan_id=${plan.id}`), 404, 'unknown_plan', 'plan_id');
  expectError(await ccXc.get(`/api/v1/nat/bureau/streets?plan_id=${plan.id}`), 404, 'unknown_plan', 'plan_id');
  r = await ccXc.get('/api/v1/nat/stats/streets');
  assert.deepEqual(r.body.items.map((x) => [x.region_name, x.sites, x.scans]), [['西长安街街道', 0, 0]]);
  r = await ccXc.get('/api/v1/nat/bureau/streets');
  assert.deepEqual(r.body.items, []);
  // a site worker reads (nat.read) its street too; nothing beyond it
  r = await staff2.get('/api/v1/nat/stats/scans?by=street');
  assert.deepEqual(r.body.items.map((x) => [x.region_name, x.n]), [['景山街道', 3]]);
});

test('bad input: 4xx with the field, nothing answered', async () => {
  expectError(await cc.get('/api/v1/nat/stats/streets?plan_id=999999'), 404, 'unknown_plan', 'plan_id');
  expectError(await cc.get('/api/v1/nat/stats/streets?plan_id=abc'), 400, 'invalid_parameter', 'plan_id');
  expectError(await cc.get('/api/v1/nat/stats/streets?day=2026-13-01'), 400, 'invalid_date', 'day');
  expectError(await cc.get('/api/v1/nat/stats/districts?day=yesterday'), 400, 'invalid_date', 'day');
  expectError(await cc.get('/api/v1/nat/stats/industries'), 400, 'required', 'plan_id');
  expectError(await cc.get('/api/v1/nat/stats/industries?plan_id=999999'), 404, 'unknown_plan', 'plan_id');
  expectError(await cc.get('/api/v1/nat/stats/scans?by=hour'), 400, 'invalid_parameter', 'by');
  expectError(await cc.get('/api/v1/nat/stats/scans?from=2024-02-30'), 400, 'invalid_date', 'from');
  expectError(await cc.get('/api/v1/nat/stats/scans?from=2024-02-02&to=2024-02-01'), 400, 'invalid_time', 'to');
  expectError(await cc.get('/api/v1/nat/stats/streets?format=pdf'), 400, 'invalid_parameter', 'format');
  expectError(await cc.get('/api/v1/nat/bureau/industries?plan_id=999999'), 404, 'unknown_plan', 'plan_id');
});

test('exports: CSV and xlsx with names, never codes', async () => {
  let r = await cc.get(`/api/v1/nat/stats/streets?plan_id=${plan.id}&format=csv`);
  assert.equal(r.status, 200, r.text);
  assert.match(r.text, /街道修改后实检/);
  assert.match(r.text, /景山街道/);
  assert.ok(!r.text.includes(S1) && !r.text.includes(S2), 'names, not codes');
  let x = await raw(cc, `/api/v1/nat/stats/streets?plan_id=${plan.id}&format=xlsx`);
  assert.equal(x.status, 200);
  let rows = xlsxRows(x.buf);
  assert.equal(rows[0][2], '街道');
  const jing = rows.find((row) => row[2] === '景山街道');
  assert.deepEqual(jing.slice(0, 4), ['ST-2024-1', '统计测试轮', '景山街道', '东城区']);
  assert.deepEqual(jing.slice(4).map(Number), [2, 2, 0, 0, 1, 1, 3, 1, 8, 3, 5, 5, 3]);
  x = await raw(cc, `/api/v1/nat/stats/districts?plan_id=${plan.id}&format=xlsx`);
  rows = xlsxRows(x.buf);
  assert.deepEqual(rows[1].slice(2, 4), ['东城区', '2']);
  x = await raw(cc, `/api/v1/nat/stats/industries?plan_id=${plan.id}&format=xlsx`);
  rows = xlsxRows(x.buf);
  assert.deepEqual(rows[0], ['计划编号', '计划名称', '开始时间', '行业', '应检', '实检（统计）', '实检（采用）', '差值']);
  const eduRow = rows.find((row) => row[3] === '教育');
  assert.deepEqual(eduRow.slice(4).map(Number), [5, 2, 2, 3]);
  r = await cc.get('/api/v1/nat/stats/scans?by=site&format=csv');
  assert.equal(r.status, 200);
  assert.match(r.text, /多福巷核酸点,多福巷社区,5/);
});

test('the emergency bureau: running plans by street with their industries, by industry with their streets', async () => {
  let r = await cc.get('/api/v1/nat/bureau/streets');
  assert.equal(r.status, 200, r.text);
  assert.ok(r.body.updated_at > 0);
  assert.equal(r.body.plans, 1);
  const rows = Object.fromEntries(r.body.items.map((x) => [x.street_name, x]));
  const j = rows['景山街道'];
  assert.deepEqual([j.plan_number, j.plan_name, j.starts_at, j.planned, j.actual, j.counted, j.corrected, j.difference], ['ST-2024-1', '统计测试轮', plan.starts_at, 8, 5, 3, true, 3]);
  assert.deepEqual(j.industries.map((i) => [i.industry_name, i.planned, i.actual, i.difference]), [['医疗', 3, 1, 2]]);
  assert.deepEqual(rows['东华门街道'].industries.map((i) => [i.industry_name, i.actual]), [['教育', 2]]);
  r = await cc.get(`/api/v1/nat/bureau/industries?plan_id=${plan.id}`);
  assert.equal(r.status, 200, r.text);
  const ind = Object.fromEntries(r.body.items.map((x) => [x.industry_name, x]));
  assert.deepEqual([ind['教育'].planned, ind['教育'].actual, ind['教育'].difference], [5, 2, 3]);
  assert.deepEqual(ind['医疗'].streets.map((s) => [s.region_name, s.actual]), [['景山街道', 1]]);
  // a street's view: its own rows only
  r = await street1.get('/api/v1/nat/bureau/streets');
  assert.deepEqual(r.body.items.map((x) => x.street_name), ['东华门街道']);
});

test('after a random workload the statistics equal a recount from the samples', async () => {
  const people = [];
  for (let i = 0; i < 12; i++) people.push(await person(`随机${i}`, i % 2 ? S1_C1 : S2_C1, i % 3 === 0 ? { employer: i % 2 ? '东华门小学' : '隆福寺医院' } : {}));
  let rnd = 7;
  const next = (n) => Math.floor(((rnd = (rnd * 1103515245 + 12345) % 2147483648) / 2147483648) * n); // high bits
  for (let k = 0; k < 30; k++) {
    const p = people[next(people.length)];
    const staff = next(2) ? staff1 : staff2;
    await sample(staff, p);
  }
  const r = await cc.get(`/api/v1/nat/stats/streets?plan_id=${plan.id}`);
  const s = byName(r.body.items);
  const recount = (sql) => Object.fromEntries(sqlRun(ctx, sql).trim().split('\n').filter(Boolean).map((l) => l.split('|')));
  const pad = (code) => `${code}000000`; // stored padded to 18 digits
  const actual = recount(`SELECT street_code, COUNT(*) FROM nat_samples WHERE plan_id = ${plan.id} AND duplicate = 0 GROUP BY street_code`);
  assert.equal(String(s['东华门街道'].figures.actual), actual[pad(S1)]);
  assert.equal(String(s['景山街道'].figures.actual), actual[pad(S2)]);
  const scans = recount('SELECT site_id, COUNT(*) FROM nat_samples GROUP BY site_id');
  assert.equal(String(s['东华门街道'].scans), scans[siteA.id]);
  assert.equal(String(s['景山街道'].scans), scans[siteB.id]);
  const ind = await cc.get(`/api/v1/nat/stats/industries?plan_id=${plan.id}`);
  const byInd = recount(`SELECT industry_id, COUNT(*) FROM nat_samples WHERE plan_id = ${plan.id} AND duplicate = 0 AND industry_id > 0 GROUP BY industry_id`);
  for (const x of ind.body.items) assert.equal(String(x.actual), byInd[x.industry_id] ?? '0', x.industry_name);
  assert.ok(Number(actual[pad(S1)]) + Number(actual[pad(S2)]) > 7, 'the workload counted someone new');
});
