// Laboratory results (/api/v1/nat/results, /api/v1/nat/retests, issue 10
// "Laboratory"): the full round of the Done means — a plan, two
// sites, 100 people sampled into pooled tubes of 10, a positive pool → 10
// retest tasks → one positive single tube → a report in the case workflow
// and a red code, the others back to green, and the plan's planned, actual
// and outcomes per street exactly right — then the refusals (unknown tube,
// open tube, a conflicting result, a malformed upload row reported with its
// row, nothing half-written) and scope (another district's lab gets 404).
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import fs from 'node:fs';
import path from 'node:path';
import { execFileSync } from 'node:child_process';
import { startCityWith, CITY_STAFF, expectError, auditEntries, sqlRun, residentId, onPostgres } from './lib.mjs';

const PW = 'Nat-lab-2024!';
const S1 = '110101001000'; // 东华门街道
const S1_C1 = '110101001001'; // 多福巷社区
const S2 = '110101002000'; // 景山街道
const S2_C1 = '110101002001'; // 隆福寺社区
const H = 3600000;
const PY = process.env.FK_PYTHON || '/usr/bin/python3';
const XLSX = 'application/vnd.openxmlformats-officedocument.spreadsheetml.sheet';
let ctx, cc, lab, labXc, staff1, staff2, street2, auditor, admin;
let siteA, siteB, plan;
const people = { [S1]: [], [S2]: [] };
let seq = 0;
const rid = () => residentId('110101', '19900101', 700 + ++seq * 2);
const one = (sql) => sqlRun(ctx, sql).trim();

before(async () => {
  ctx = await startCityWith(
    {
      ...CITY_STAFF,
      admin: ['system_admin', '110100000000'],
      lab: ['lab', '110101000000'],
      lab_xc: ['lab', '110102000000'],
      staff1: ['site_staff', S1],
      staff2: ['site_staff', S2],
      street2: ['street_staff', S2],
    },
    PW,
  );
  ({ cc_dc: cc, lab, lab_xc: labXc, staff1, staff2, street2, auditor, admin } = ctx.as);
  // the lab's institution is its user's department
  let r = await admin.post('/api/v1/departments', { name: '东城区疾控中心实验室', region_code: '110101000000' });
  assert.equal(r.status, 201, r.text);
  const dept = r.body.id;
  const users = (await admin.get('/api/v1/users?page_size=100')).body.items;
  r = await admin.patch(`/api/v1/users/${users.find((u) => u.username === 'lab').id}`, { department_id: dept });
  assert.equal(r.status, 200, r.text);
  r = await cc.post('/api/v1/nat/sites', { name: '多福巷核酸点', kind: 'fixed', region_code: S1_C1 });
  assert.equal(r.status, 201, r.text);
  siteA = r.body;
  r = await cc.post('/api/v1/nat/sites', { name: '隆福寺核酸点', kind: 'temporary', region_code: S2_C1 });
  assert.equal(r.status, 201, r.text);
  siteB = r.body;
  assert.equal((await staff1.post(`/api/v1/nat/sites/${siteA.id}/clock-in`, {})).status, 201);
  assert.equal((await staff2.post(`/api/v1/nat/sites/${siteB.id}/clock-in`, {})).status, 201);
  const now = Date.now();
  r = await cc.post('/api/v1/nat/plans', { number: 'LAB-2024-1', name: '全员核酸第一轮', starts_at: now - H, ends_at: now + 10 * H });
  assert.equal(r.status, 201, r.text);
  plan = r.body;
  r = await cc.put(`/api/v1/nat/plans/${plan.id}/targets`, { targets: [{ region_code: S1, planned: 62 }, { region_code: S2, planned: 40 }] });
  assert.equal(r.status, 200, r.text);
});

after(async () => {
  await ctx?.stop();
});

async function person(name, region) {
  const id_number = rid();
  const r = await cc.post('/api/v1/persons', { name, id_number, region_code: region });
  assert.equal(r.status, 201, r.text);
  return { id: r.body.id, id_number, name };
}

const sample = (client, body) => client.post('/api/v1/nat/samples', body);
const codeOf = async (id) => {
  const r = await cc.get(`/api/v1/persons/${id}/code`);
  assert.equal(r.status, 200, r.text);
  return r.body;
};

async function figures() {
  const r = await cc.get(`/api/v1/nat/plans/${plan.id}/figures`);
  assert.equal(r.status, 200, r.text);
  return Object.fromEntries(
    r.body.items.filter((x) => !x.industry_id).map((x) => [x.region_name, [x.planned, x.actual, x.negative, x.positive, x.retest, x.invalid, x.pending]]),
  );
}

// what a failed request must leave untouched
const state = () =>
  one(
    "SELECT (SELECT COUNT(*) FROM nat_tubes WHERE state = 'resulted'), (SELECT COUNT(*) FROM nat_samples WHERE result <> ''), (SELECT COUNT(*) FROM test_results), (SELECT COUNT(*) FROM nat_retests), (SELECT COUNT(*) FROM tasks), (SELECT COUNT(*) FROM incidents), (SELECT COALESCE(SUM(negative + positive + retest + invalid), 0) FROM nat_plan_figures), (SELECT COALESCE(SUM(n), 0) FROM counters WHERE measure LIKE 'nat.outcome.%')",
  );

let fileSeq = 0;
function xlsx(rows, sheet = '检测结果') {
  const py = path.join(ctx.dir, 'write.py');
  fs.writeFileSync(
    py,
    `import json, sys, openpyxl\nspec = json.load(open(sys.argv[1], encoding='utf-8'))\nwb = openpyxl.Workbook()\nws = wb.active\nws.title = spec['sheet']\nfor row in spec['rows']:\n    ws.append(row)\nwb.save(spec['out'])\n`,
  );
  const out = path.join(ctx.dir, `results-${++fileSeq}.xlsx`);
  fs.writeFileSync(`${out}.json`, JSON.stringify({ rows, sheet, out }));
  execFileSync(PY, [py, `${out}.json`]);
  return fs.readFileSync(out);
}
const upload = (buf, query = '', client = lab) => client.post(`/api/v1/nat/results/upload${query}`, new Uint8Array(buf), { 'content-type': XLSX });
// the upload is a job on the import worker: 202, then its result when done
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
async function uploadDone(buf, query = '', client = lab) {
  const r = await upload(buf, query, client);
  assert.equal(r.status, 202, r.text);
  assert.ok(r.body.job_id);
  return { job_id: r.body.job_id, rows: r.body.rows, body: await jobDone(client, r.body.job_id) };
}
function readXlsx(buf) {
  const file = path.join(ctx.dir, `report-${++fileSeq}.xlsx`);
  fs.writeFileSync(file, buf);
  const py = `import json, sys, openpyxl
wb = openpyxl.load_workbook(sys.argv[1])
ws = wb[wb.sheetnames[0]]
out = {'sheets': wb.sheetnames, 'rows': [], 'marks': []}
for row in ws.iter_rows():
    out['rows'].append([None if c.value is None else str(c.value) for c in row])
    for c in row:
        if c.comment:
            out['marks'].append({'cell': c.coordinate, 'comment': c.comment.text})
print(json.dumps(out, ensure_ascii=False))
`;
  return JSON.parse(execFileSync(PY, ['-c', py, file], { encoding: 'utf8' }));
}

test('the full round: 100 people in pools of 10 at two sites, a positive pool, 10 retests, one positive single tube → a report and a red code', async () => {
  // 60 people of 东华门 at site A (tubes A01..A06), 40 of 景山 at site B (B01..B04)
  for (const [street, community, staff, prefix, tubes] of [[S1, S1_C1, staff1, 'LAB-A0', 6], [S2, S2_C1, staff2, 'LAB-B0', 4]]) {
    for (let t = 1; t <= tubes; t++) {
      for (let i = 0; i < 10; i++) {
        const p = await person(`检测${prefix.slice(-2)}${t}${i}号`, community);
        people[street].push({ ...p, tube: `${prefix}${t}` });
        const r = await sample(staff, { id_number: p.id_number, barcode: `${prefix}${t}`, tube_kind: 'pool10', plan_id: plan.id });
        assert.equal(r.status, 201, r.text);
        assert.equal(r.body.tube_closed, i === 9);
      }
    }
  }
  assert.deepEqual(await figures(), { 东华门街道: [62, 60, 0, 0, 0, 0, 60], 景山街道: [40, 40, 0, 0, 0, 0, 40] });

  // the inbox: the ten closed tubes await results
  let r = await lab.get(`/api/v1/nat/tubes?awaiting=1&plan_id=${plan.id}&page_size=50`);
  assert.equal(r.status, 200, r.text);
  assert.equal(r.body.total, 10);
  assert.ok(r.body.items.every((t) => t.state === 'closed' && t.result === null && t.result_label === '待检测'));

  // the lab's system: a dry run changes nothing, then the batch (A06 positive)
  const records = [];
  for (let t = 1; t <= 6; t++) records.push({ barcode: `LAB-A0${t}`, result: t === 6 ? 'positive' : 'negative' });
  for (let t = 1; t <= 4; t++) records.push({ barcode: `LAB-B0${t}`, result: 'negative' });
  const before = state();
  r = await lab.post('/api/v1/nat/results/batch', { records, dry_run: true });
  assert.equal(r.status, 200, r.text);
  assert.deepEqual([r.body.total, r.body.applied, r.body.failed, r.body.retests, r.body.dry_run], [10, 10, 0, 10, true]);
  assert.equal(state(), before);
  r = await lab.post('/api/v1/nat/results/batch', { records });
  assert.equal(r.status, 200, r.text);
  assert.deepEqual([r.body.total, r.body.applied, r.body.repeated, r.body.failed, r.body.retests, r.body.reports], [10, 10, 0, 0, 10, 0]);
  // the same batch again changes nothing (idempotent)
  const after1 = state();
  r = await lab.post('/api/v1/nat/results/batch', { records });
  assert.deepEqual([r.body.applied, r.body.repeated, r.body.failed], [0, 10, 0]);
  assert.equal(state(), after1);

  r = await cc.get('/api/v1/nat/tubes/LAB-A06');
  assert.deepEqual([r.body.state, r.body.result, r.body.result_label, r.body.institution], ['resulted', 'positive', '阳性', '东城区疾控中心实验室']);
  assert.ok(r.body.samples.every((x) => x.result === 'positive' && x.outcome === 'retest' && x.outcome_label === '混管阳性待复核'));
  assert.equal((await cc.get('/api/v1/nat/tubes/LAB-B01')).body.samples[0].outcome, 'negative');
  assert.deepEqual(await figures(), { 东华门街道: [62, 60, 50, 0, 10, 0, 0], 景山街道: [40, 40, 40, 0, 0, 0, 0] });

  // the positive pool: ten retests, each an urgent task to the person's community; codes yellow
  const pool = people[S1].filter((p) => p.tube === 'LAB-A06');
  r = await cc.get(`/api/v1/nat/retests?plan_id=${plan.id}&state=open&page_size=50`);
  assert.equal(r.status, 200, r.text);
  assert.equal(r.body.total, 10);
  assert.deepEqual(new Set(r.body.items.map((x) => x.person_id)), new Set(pool.map((p) => p.id)));
  for (const x of r.body.items) {
    assert.deepEqual([x.kind, x.state, x.barcode, x.region_code, x.region_name, x.task_state], ['retest', 'open', 'LAB-A06', S1_C1, '多福巷社区', 'pending']);
    assert.match(x.name, /\*/); // masked
    const t = await cc.get(`/api/v1/tasks/${x.task_id}`);
    assert.equal(t.status, 200, t.text);
    assert.deepEqual([t.body.kind, t.body.priority, t.body.region_code, t.body.person_id], ['nat_retest', 'urgent', S1_C1, x.person_id]);
  }
  // the community's grid worker takes one; completing it by hand is refused: the result closes it
  const first = r.body.items[0];
  assert.equal((await ctx.as.grid_dc.post(`/api/v1/tasks/${first.task_id}/accept`)).status, 200);
  expectError(await ctx.as.grid_dc.post(`/api/v1/tasks/${first.task_id}/complete`, {}), 409, 'retest_pending');
  for (const p of pool) {
    const c = await codeOf(p.id);
    assert.equal(c.colour, 'yellow', JSON.stringify(c));
    assert.deepEqual(c.reasons.map((x) => x.rule), ['pool_positive']);
  }
  assert.equal((await codeOf(people[S1][0].id)).colour, 'green');
  assert.equal((await codeOf(people[S2][0].id)).colour, 'green');

  // the retests: single tubes (the person sampled again in the plan: a duplicate, not counted)
  for (let i = 0; i < 10; i++) {
    r = await sample(staff1, { id_number: pool[i].id_number, barcode: `LAB-R${String(i).padStart(3, '0')}`, plan_id: plan.id });
    assert.equal(r.status, 201, r.text);
    assert.equal(r.body.duplicate, true);
  }
  const single = [];
  for (let i = 0; i < 10; i++) single.push({ barcode: `LAB-R${String(i).padStart(3, '0')}`, result: i === 3 ? 'positive' : 'negative' });
  r = await lab.post('/api/v1/nat/results/batch', { records: single });
  assert.equal(r.status, 200, r.text);
  assert.deepEqual([r.body.applied, r.body.failed, r.body.retests, r.body.reports], [10, 0, 0, 1]);

  // nine negative: tasks done, codes green; one positive: a report (cdc) and a red code
  r = await cc.get(`/api/v1/nat/retests?plan_id=${plan.id}&page_size=50`);
  const byPerson = Object.fromEntries(r.body.items.map((x) => [x.person_id, x]));
  for (let i = 0; i < 10; i++) {
    const x = byPerson[pool[i].id];
    assert.equal(x.state, i === 3 ? 'positive' : 'negative');
    assert.equal(x.result_barcode, `LAB-R${String(i).padStart(3, '0')}`);
    assert.equal(x.task_state, 'done');
    const c = await codeOf(pool[i].id);
    if (i === 3) {
      assert.equal(c.colour, 'red', JSON.stringify(c));
      assert.deepEqual(c.reasons.map((y) => y.rule), ['positive_test']);
      const inc = await cc.get(`/api/v1/incidents/${x.incident_id}`);
      assert.equal(inc.status, 200, inc.text);
      assert.equal(inc.body.source, 'cdc');
      assert.equal(inc.body.person_id, pool[i].id);
    } else {
      assert.equal(c.colour, 'green', JSON.stringify(c));
      assert.equal(x.incident_id, null);
    }
  }
  assert.equal(one(`SELECT COUNT(*) FROM incidents WHERE source = 'cdc'`), '1');
  // planned / actual / outcomes per street exactly right: the pool's nine are negative, one positive
  assert.deepEqual(await figures(), { 东华门街道: [62, 60, 59, 1, 0, 0, 0], 景山街道: [40, 40, 40, 0, 0, 0, 0] });
  // every person has the result in their test results, with the institution
  assert.equal(one(`SELECT COUNT(*) FROM test_results WHERE institution = '东城区疾控中心实验室'`), '110');
  // the counters agree with a recount: 59 negative and 1 positive of 东华门 and 40 of 景山 in all
  const total = (m, street) => Number(one(`SELECT COALESCE(SUM(n), 0) FROM counters WHERE measure = '${m}' AND day = 0 AND region_code >= ${street}000000 AND region_code < ${Number(street) + 1000}000000`));
  assert.deepEqual([total('nat.outcome.negative', S1), total('nat.outcome.positive', S1), total('nat.outcome.retest', S1)], [59, 1, 0]);
  assert.equal(total('nat.outcome.negative', S2), 40);
  let v = ctx.fk(['stats', 'verify']);
  assert.equal(v.status, 0, v.stdout + v.stderr);
  // a positive control: a counter off by one is found
  sqlRun(ctx, "UPDATE counters SET n = n + 1 WHERE measure = 'nat.outcome.positive' AND day <> 0");
  v = ctx.fk(['stats', 'verify']);
  assert.notEqual(v.status, 0);
  assert.match(v.stdout + v.stderr, /nat\.outcome\.positive/);
  assert.match(ctx.fk(['stats', 'verify', '--fix']).stdout, /rewritten from the recount/);
  assert.equal(ctx.fk(['stats', 'verify']).status, 0);
  const audit = await auditEntries(auditor, 'nat.result.batch');
  assert.ok(audit.some((x) => x.detail.includes('applied=10') && x.detail.includes('reports=1')), JSON.stringify(audit));
});

test('one result in the console: unknown tube 404, open tube 409, a conflicting result 409, the same again idempotent; nothing half-written', async () => {
  const p = await person('单管甲', S1_C1);
  let r = await sample(staff1, { id_number: p.id_number, barcode: 'LAB-S0001' });
  assert.equal(r.status, 201, r.text);
  const q = await person('混管乙', S1_C1);
  r = await sample(staff1, { id_number: q.id_number, barcode: 'LAB-P0001', tube_kind: 'pool5' });
  assert.equal(r.status, 201, r.text);
  const before = state();
  expectError(await lab.post('/api/v1/nat/results', { barcode: 'LAB-NOPE01', result: 'negative' }), 404, 'unknown_tube', 'barcode');
  expectError(await lab.post('/api/v1/nat/results', { barcode: 'LAB-P0001', result: 'negative' }), 409, 'tube_open', 'barcode');
  expectError(await lab.post('/api/v1/nat/results', { barcode: 'LAB-S0001', result: 'maybe' }), 400, 'invalid_value', 'result');
  expectError(await lab.post('/api/v1/nat/results', { barcode: 'LAB-S0001', result: 'negative', at: Date.now() + 3600000 }), 400, 'invalid_time', 'at');
  // site staff sample but do not record results
  assert.equal((await staff1.post('/api/v1/nat/results', { barcode: 'LAB-S0001', result: 'negative' })).status, 403);
  // another district's lab does not see the tube
  expectError(await labXc.post('/api/v1/nat/results', { barcode: 'LAB-S0001', result: 'negative' }), 404, 'unknown_tube', 'barcode');
  assert.equal(state(), before);

  r = await lab.post('/api/v1/nat/results', { barcode: 'LAB-S0001', result: 'invalid' });
  assert.equal(r.status, 200, r.text);
  assert.deepEqual([r.body.state, r.body.result, r.body.outcome.retests], ['resulted', 'invalid', 1]);
  // invalid: a resample task, no test result
  r = await cc.get(`/api/v1/nat/retests?kind=resample&state=open`);
  const rs = r.body.items.find((x) => x.person_id === p.id);
  assert.ok(rs, r.text);
  assert.equal((await cc.get(`/api/v1/tasks/${rs.task_id}`)).body.kind, 'nat_resample');
  assert.equal(one(`SELECT COUNT(*) FROM test_results WHERE person_id = ${p.id}`), '0');
  const mid = state();
  r = await lab.post('/api/v1/nat/results', { barcode: 'LAB-S0001', result: 'invalid' });
  assert.equal(r.status, 200, r.text);
  assert.equal(r.body.outcome.repeated, true);
  assert.equal(state(), mid);
  expectError(await lab.post('/api/v1/nat/results', { barcode: 'LAB-S0001', result: 'negative' }), 409, 'result_conflict', 'result');
  assert.equal(state(), mid);
  // the resample answers: a new single tube, negative, closes it
  r = await sample(staff1, { id_number: p.id_number, barcode: 'LAB-S0002' });
  assert.equal(r.status, 201, r.text);
  r = await lab.post('/api/v1/nat/results', { barcode: 'LAB-S0002', result: 'negative' });
  assert.equal(r.status, 200, r.text);
  assert.equal(r.body.outcome.closed, 1);
  r = await cc.get(`/api/v1/nat/retests?kind=resample`);
  assert.equal(r.body.items.find((x) => x.person_id === p.id).state, 'negative');
  // the laboratory's day (the phone's 检测结果录入): tubes resulted since a time
  const midnight = Math.floor((Date.now() + 8 * H) / (24 * H)) * 24 * H - 8 * H;
  r = await lab.get(`/api/v1/nat/tubes?state=resulted&resulted_from=${midnight}&page_size=100`);
  assert.equal(r.status, 200, r.text);
  assert.deepEqual(['LAB-S0001', 'LAB-S0002'].filter((b) => r.body.items.some((t) => t.barcode === b)), ['LAB-S0001', 'LAB-S0002']);
  assert.ok(r.body.items.every((t) => t.resulted_at >= midnight));
  r = await lab.get(`/api/v1/nat/tubes?resulted_from=${Date.now() + H}`);
  assert.equal(r.body.total, 0, r.text);
  expectError(await lab.get('/api/v1/nat/tubes?resulted_from=yesterday'), 400, 'invalid_parameter', 'resulted_from');
  // the refusals were audited
  const refusals = await auditEntries(auditor, 'nat.result');
  assert.ok(refusals.some((x) => x.result === 'tube_open'), JSON.stringify(refusals));
});

test('an xlsx upload: a malformed row and an unknown tube reported with their rows, the rest applied; a dry run writes nothing', async () => {
  const ps = [];
  for (let i = 0; i < 3; i++) {
    const p = await person(`上传${i}号`, S2_C1);
    ps.push(p);
    const r = await sample(staff2, { id_number: p.id_number, barcode: `LAB-U000${i}` });
    assert.equal(r.status, 201, r.text);
  }
  // the lab's reporting time, China time to the minute (after the sampling just done)
  const at = new Date(Date.now() + 2 * 60000 + 8 * H).toISOString().slice(0, 16).replace('T', ' ');
  const atMs = Date.parse(`${at.replace(' ', 'T')}:00+08:00`);
  const rows = [
    ['试管条码', '检测结果', '报告时间'],
    ['LAB-U0000', '阴性', at],
    ['LAB-U0001', '也许', ''],
    ['LAB-NOTHERE', '阴性', ''],
    ['LAB-U0002', '阳性', ''],
    ['!!', '阴性', ''],
  ];
  const before = state();
  let r = await uploadDone(xlsx(rows), '?dry_run=1');
  assert.equal(r.rows, 5);
  assert.deepEqual([r.body.total, r.body.applied, r.body.failed, r.body.dry_run, r.body.report], [5, 2, 3, true, true]);
  assert.equal(state(), before);
  r = await uploadDone(xlsx(rows));
  assert.deepEqual([r.body.total, r.body.applied, r.body.failed, r.body.reports], [5, 2, 3, 1]);
  assert.deepEqual(r.body.errors.map((e) => [e.row, e.code, e.field]), [[3, 'invalid_value', 'result'], [4, 'unknown_tube', 'barcode'], [6, 'invalid_barcode', 'barcode']]);
  assert.match(r.body.errors[0].message, /第3行/);
  // the failed rows as a workbook, the cells at fault marked (行号 is column A)
  const rep = await fetch(`${ctx.url}/api/v1/jobs/${r.job_id}/errors.xlsx`, { headers: { cookie: lab.cookie } });
  assert.equal(rep.status, 200);
  const t = readXlsx(Buffer.from(await rep.arrayBuffer()));
  assert.deepEqual(t.rows[0], ['行号', '试管条码', '检测结果', '报告时间', '错误说明']);
  assert.deepEqual(t.rows.slice(1).map((x) => x.slice(0, 3)), [['3', 'LAB-U0001', '也许'], ['4', 'LAB-NOTHERE', '阴性'], ['6', '!!', '阴性']]);
  assert.match(t.rows[2][4], /试管条码不存在/);
  assert.deepEqual(t.marks.map((m) => m.cell).sort(), ['B3', 'B4', 'C2']);
  // the job and its report are the laboratory's: another district's lab cannot read them
  expectError(await labXc.get(`/api/v1/jobs/${r.job_id}`), 404, 'not_found');
  expectError(await labXc.get(`/api/v1/jobs/${r.job_id}/errors.xlsx`), 404, 'not_found');
  // the upload and its dry run are audited with their counts
  const ups = await auditEntries(auditor, 'nat.result.upload');
  assert.ok(ups.some((x) => /applied=2 .*dry_run=1/.test(x.detail)) && ups.some((x) => /applied=2 .*dry_run=0/.test(x.detail)), JSON.stringify(ups));
  r = await cc.get('/api/v1/nat/tubes/LAB-U0000');
  assert.deepEqual([r.body.result, r.body.resulted_at], ['negative', atMs]);
  assert.equal((await cc.get('/api/v1/nat/tubes/LAB-U0001')).body.state, 'closed');
  // the sample list shows the result column
  r = await cc.get(`/api/v1/nat/samples?person_id=${ps[2].id}`);
  assert.deepEqual([r.body.items[0].result, r.body.items[0].outcome], ['positive', 'positive']);
  // the exports carry the result (and the tube's institution)
  r = await cc.get('/api/v1/nat/tubes?format=csv');
  assert.equal(r.status, 200);
  assert.match(r.text, /检测结果,检测机构/);
  assert.match(r.text.split('\n').find((l) => l.includes('LAB-U0002')), /阳性,东城区疾控中心实验室/);
  assert.match(r.text.split('\n').find((l) => l.includes('LAB-U0001')), /待检测,$/m);
  r = await cc.get(`/api/v1/nat/samples?format=csv&person_id=${ps[0].id}`);
  assert.match(r.text, /检测结果[\s\S]*阴性/);
  // whole-file faults: nothing written
  const mid = state();
  expectError(await upload(Buffer.alloc(0)), 400, 'empty');
  expectError(await upload(xlsx([['条码', '结果'], ['LAB-U0001', '阴性']])), 400, 'invalid_xlsx');
  expectError(await upload(Buffer.from('not a workbook')), 400, 'invalid_xlsx');
  assert.equal(state(), mid);
  // the template opens as a workbook with the header
  r = await lab.get('/api/v1/nat/results/template.xlsx');
  assert.equal(r.status, 200);
});

test('a positive single tube of a person living in another district: the report is filed where they live', async () => {
  const id_number = rid();
  let r = await ctx.as.cc_xc.post('/api/v1/persons', { name: '西城居民', id_number, region_code: '110102001001' });
  assert.equal(r.status, 201, r.text);
  const pid = r.body.id;
  r = await sample(staff1, { id_number, barcode: 'LAB-W0001' });
  assert.equal(r.status, 201, r.text);
  r = await lab.post('/api/v1/nat/results', { barcode: 'LAB-W0001', result: 'positive' });
  assert.equal(r.status, 200, r.text);
  assert.equal(r.body.outcome.reports, 1);
  const inc = one(`SELECT id, region_code, source FROM incidents WHERE person_id = ${pid}`).split('|');
  assert.deepEqual(inc.slice(1), ['110102001001000000', 'cdc']); // padded, as stored
  assert.equal((await ctx.as.cc_xc.get(`/api/v1/incidents/${inc[0]}`)).status, 200);
  const c = await ctx.as.cc_xc.get(`/api/v1/persons/${pid}/code`);
  assert.equal(c.body.colour, 'red');
});

test('scope: a street sees the retests of its own people only; another district none; a batch over 10,000 refused', async () => {
  const p = await person('景山重采', S2_C1);
  assert.equal((await sample(staff2, { id_number: p.id_number, barcode: 'LAB-V0001' })).status, 201);
  assert.equal((await lab.post('/api/v1/nat/results', { barcode: 'LAB-V0001', result: 'invalid' })).status, 200);
  let r = await street2.get('/api/v1/nat/retests?page_size=100');
  assert.equal(r.status, 200, r.text);
  assert.deepEqual(r.body.items.map((x) => [x.person_id, x.kind]), [[p.id, 'resample']]);
  r = await cc.get('/api/v1/nat/retests?page_size=100');
  assert.ok(r.body.items.some((x) => x.region_code.startsWith('110101001')));
  r = await ctx.as.cc_xc.get('/api/v1/nat/retests');
  assert.equal(r.body.total, 0);
  expectError(await labXc.get('/api/v1/nat/tubes/LAB-A01'), 404, 'not_found');
  const records = Array.from({ length: 10001 }, (_, i) => ({ barcode: `LAB-X${i}`, result: 'negative' }));
  expectError(await lab.post('/api/v1/nat/results/batch', { records }), 400, 'too_many_rows');
  // on PostgreSQL the batch (run in the request) takes 1,000 at most; SQLite takes them
  const big = Array.from({ length: 1001 }, (_, i) => ({ barcode: `LAB-Y${i}`, result: 'negative' }));
  r = await lab.post('/api/v1/nat/results/batch', { records: big, dry_run: true });
  if (onPostgres) expectError(r, 400, 'too_many_rows', 'records');
  else assert.deepEqual([r.status, r.body.total, r.body.failed], [200, 1001, 1001]);
  // 600 malformed records and an unknown tube: all counted, the first 500 listed by row
  const bad = Array.from({ length: 600 }, (_, i) => ({ barcode: `LAB-X${i}`, result: 'perhaps' }));
  bad.push({ barcode: 'LAB-NONE01', result: 'negative' });
  r = await lab.post('/api/v1/nat/results/batch', { records: bad });
  assert.equal(r.status, 200, r.text);
  assert.deepEqual([r.body.total, r.body.applied, r.body.failed, r.body.errors.length], [601, 0, 601, 500]);
  assert.deepEqual([r.body.errors[0].row, r.body.errors[0].code, r.body.errors[499].row], [1, 'invalid_value', 500]);
});
