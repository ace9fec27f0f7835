// Industries and mass-testing plans (/api/v1/nat/industries,
// /api/v1/nat/plans, issue 10): the seeded list and its upkeep (a rename
// follows into enterprises), plans with bad input on every field, planned
// figures entered or derived from the registry, the actual counter (as the
// sampling part will add to it), the streets' corrections kept beside it,
// figures by street and by industry with export, scope and audit.
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { startCityWith, CITY_STAFF, expectError, auditEntries, sqlRun, residentId, creditCode } from './lib.mjs';

const PW = 'Nat-plans-2024!';
const S1 = '110101001000'; // 东华门街道
const S1_C1 = '110101001001';
const S2 = '110101002000'; // 景山街道
const S2_C1 = '110101002001';
const XC_S1 = '110102001000';
const H = 3600000;
let ctx, cc, ccXc, street1, street2, staff1, leader, auditor;
let industries;

before(async () => {
  ctx = await startCityWith(
    {
      ...CITY_STAFF,
      street1: ['street_staff', S1],
      street2: ['street_staff', S2],
      staff1: ['site_staff', S1],
      leader: ['leader', '110101000000'],
    },
    PW,
  );
  ({ cc_dc: cc, cc_xc: ccXc, street1, street2, staff1, leader, auditor } = ctx.as);
  industries = (await cc.get('/api/v1/nat/industries')).body.items;
});

after(async () => {
  await ctx?.stop();
});

const byName = (n) => industries.find((i) => i.name === n).id;
let seq = 0;
async function plan(body = {}, client = cc) {
  seq++;
  const now = Date.now();
  const r = await client.post('/api/v1/nat/plans', { number: `P2024-${seq}`, name: `第${seq}轮全员核酸`, starts_at: now - H, ends_at: now + 10 * H, ...body });
  assert.equal(r.status, 201, r.text);
  return r.body;
}

test('industries: the seeded list; create, rename (enterprises follow), delete; bad input; permissions; audit', async () => {
  assert.deepEqual(industries.map((i) => i.name), ['教育', '医疗', '快递外卖', '商超', '建筑工地', '机关事业单位', '餐饮', '交通运输', '其他']);
  assert.equal((await leader.get('/api/v1/nat/industries')).status, 200);
  assert.equal((await street1.post('/api/v1/nat/industries', { name: '物流' })).status, 403);
  let r = await cc.post('/api/v1/nat/industries', { name: '物流仓储', sort: 20 });
  assert.equal(r.status, 201, r.text);
  const id = r.body.id;
  expectError(await cc.post('/api/v1/nat/industries', { name: '物流仓储' }), 409, 'duplicate_industry', 'name');
  expectError(await cc.post('/api/v1/nat/industries', {}), 400, 'required', 'name');
  expectError(await cc.post('/api/v1/nat/industries', { name: '' }), 400, 'required', 'name');
  expectError(await cc.post('/api/v1/nat/industries', { name: 'x'.repeat(31) }), 400, 'too_long', 'name');
  expectError(await cc.post('/api/v1/nat/industries', { name: '甲', sort: -1 }), 400, 'out_of_range', 'sort');
  expectError(await cc.patch(`/api/v1/nat/industries/${id}`, { name: '教育' }), 409, 'duplicate_industry', 'name');
  expectError(await cc.patch('/api/v1/nat/industries/99999', { name: '无' }), 404, 'not_found');
  // an enterprise of the industry follows a rename
  r = await cc.post('/api/v1/enterprises', { name: '顺丰仓', credit_code: creditCode('91110101MA0000011'), region_code: S1_C1, industry: '物流仓储', employees: 40 });
  assert.equal(r.status, 201, r.text);
  const ent = r.body;
  r = await cc.patch(`/api/v1/nat/industries/${id}`, { name: '仓储物流' });
  assert.equal(r.status, 200, r.text);
  assert.equal(r.body.name, '仓储物流');
  assert.equal(r.body.enterprises, 1);
  assert.equal((await cc.get(`/api/v1/enterprises/${ent.id}`)).body.industry, '仓储物流');
  r = await cc.del(`/api/v1/nat/industries/${id}`);
  assert.equal(r.status, 204);
  assert.ok(!(await cc.get('/api/v1/nat/industries')).body.items.some((i) => i.id === id));
  const audit = await auditEntries(auditor, 'nat.industry.update', id);
  assert.ok(audit.some((x) => x.result === 'ok'));
  assert.ok(audit.some((x) => x.result === 'duplicate_industry'));
});

test('plans: create with bad input on every field, unique number, update, list, scope, delete', async () => {
  const p = await plan({ number: 'DC-2024-05-01', name: '五一全员核酸' });
  assert.equal(p.number, 'DC-2024-05-01');
  assert.equal(p.region_name, '东城区');
  assert.equal(p.state, 'running');
  assert.equal(p.planned, 0);
  const now = Date.now();
  const good = { number: 'X-1', name: '计划', starts_at: now, ends_at: now + H };
  const cases = [
    [{ number: undefined }, 'required', 'number'],
    [{ number: '' }, undefined, 'number'],
    [{ number: '编号' }, 'invalid_value', 'number'],
    [{ number: 'a b' }, 'invalid_value', 'number'],
    [{ number: 'x'.repeat(41) }, 'too_long', 'number'],
    [{ name: undefined }, 'required', 'name'],
    [{ name: 'x'.repeat(101) }, 'too_long', 'name'],
    [{ starts_at: undefined }, 'required', 'starts_at'],
    [{ starts_at: 'today' }, 'invalid_type', 'starts_at'],
    [{ ends_at: undefined }, 'required', 'ends_at'],
    [{ ends_at: now - H }, 'invalid_value', 'ends_at'],
    [{ extra: 1 }, 'unknown_field', 'extra'],
  ];
  const before = (await cc.get('/api/v1/nat/plans')).body.total;
  for (const [patch, code, field] of cases) {
    const body = { ...good, ...patch };
    for (const k of Object.keys(body)) if (body[k] === undefined) delete body[k];
    const r = await cc.post('/api/v1/nat/plans', body);
    assert.equal(r.status, 400, `${JSON.stringify(patch)}: ${r.text}`);
    if (code) assert.equal(r.body.error.code, code, JSON.stringify(patch));
    assert.equal(r.body.error.field, field, JSON.stringify(patch));
  }
  assert.equal((await cc.get('/api/v1/nat/plans')).body.total, before);
  expectError(await cc.post('/api/v1/nat/plans', { ...good, number: 'DC-2024-05-01' }), 409, 'duplicate_plan_number');
  // numbers are unique across districts too
  expectError(await ccXc.post('/api/v1/nat/plans', { ...good, number: 'DC-2024-05-01' }), 409, 'duplicate_plan_number');
  // only nat.plan creates
  assert.equal((await street1.post('/api/v1/nat/plans', good)).status, 403);
  // update
  let r = await cc.patch(`/api/v1/nat/plans/${p.id}`, { name: '五一全员核酸（第二轮）' });
  assert.equal(r.status, 200, r.text);
  assert.equal(r.body.name, '五一全员核酸（第二轮）');
  assert.equal(r.body.version, 2);
  expectError(await cc.patch(`/api/v1/nat/plans/${p.id}`, { ends_at: p.starts_at - 1 }), 400, 'invalid_value', 'ends_at');
  expectError(await cc.patch(`/api/v1/nat/plans/${p.id}`, {}), 400, 'empty_update');
  // list and search; a street sees its district's plan; another district does not
  r = await street1.get('/api/v1/nat/plans?q=dc-2024');
  assert.equal(r.status, 200);
  assert.ok(r.body.items.some((x) => x.id === p.id));
  assert.equal((await street1.get(`/api/v1/nat/plans/${p.id}`)).status, 200);
  expectError(await ccXc.get(`/api/v1/nat/plans/${p.id}`), 404, 'not_found');
  assert.ok(!(await ccXc.get('/api/v1/nat/plans')).body.items.some((x) => x.id === p.id));
  expectError(await ccXc.patch(`/api/v1/nat/plans/${p.id}`, { name: '改' }), 404, 'not_found');
  expectError(await ccXc.del(`/api/v1/nat/plans/${p.id}`), 404, 'not_found');
  const audit = await auditEntries(auditor, 'nat.plan.create', p.id);
  assert.equal(audit.length, 1);
  // delete: an uncounted plan goes
  const q = await plan();
  assert.equal((await cc.del(`/api/v1/nat/plans/${q.id}`)).status, 204);
  expectError(await cc.get(`/api/v1/nat/plans/${q.id}`), 404, 'not_found');
});

test('targets: entered per street and industry; bad rows reported with their row; nothing half-written', async () => {
  const p = await plan();
  const edu = byName('教育');
  let r = await cc.put(`/api/v1/nat/plans/${p.id}/targets`, {
    targets: [
      { region_code: S1, planned: 1000 },
      { region_code: S2, planned: 800 },
      { region_code: S1, industry_id: edu, planned: 120 },
    ],
  });
  assert.equal(r.status, 200, r.text);
  assert.equal(r.body.planned, 1800);
  const bad = [
    [[{ region_code: S1_C1, planned: 1 }], 'invalid_region', 'targets[0].region_code'],
    [[{ region_code: S1, planned: 1 }, { region_code: XC_S1, planned: 1 }], 'invalid_region', 'targets[1].region_code'],
    [[{ region_code: '110101009000', planned: 1 }], 'invalid_region', 'targets[0].region_code'],
    [[{ region_code: 'abc', planned: 1 }], 'invalid_region', 'targets[0].region_code'],
    [[{ region_code: S1, industry_id: '424242', planned: 1 }], 'invalid_industry', 'targets[0].industry_id'],
    [[{ region_code: S1, industry_id: 'x', planned: 1 }], 'invalid_industry', 'targets[0].industry_id'],
    [[{ region_code: S1, planned: -1 }], 'out_of_range', 'targets[0].planned'],
    [[{ region_code: S1, planned: 'many' }], 'invalid_type', 'targets[0].planned'],
    [[{ region_code: S1 }], 'required', 'targets[0].planned'],
    [[{ region_code: S1, planned: 1, colour: 1 }], 'unknown_field', 'targets[0].colour'],
    [[{ region_code: S1, planned: 1 }, { region_code: S1, planned: 2 }], 'duplicate_target', 'targets[1].region_code'],
    [[], 'out_of_range', 'targets'],
    [['x'], 'invalid_type', 'targets[0]'],
  ];
  for (const [targets, code, field] of bad) expectError(await cc.put(`/api/v1/nat/plans/${p.id}/targets`, { targets }), 400, code, field);
  // a good row before a bad one is not written either
  expectError(await cc.put(`/api/v1/nat/plans/${p.id}/targets`, { targets: [{ region_code: S2, planned: 5 }, { region_code: S1, planned: -1 }] }), 400, 'out_of_range', 'targets[1].planned');
  expectError(await cc.put(`/api/v1/nat/plans/${p.id}/targets`, { targets: [{ region_code: S1, planned: 1 }], source: 'guess' }), 400, 'invalid_value', 'source');
  r = await cc.get(`/api/v1/nat/plans/${p.id}/figures?by=street`);
  assert.deepEqual(r.body.items.map((f) => [f.region_name, f.planned]), [['东华门街道', 1000], ['景山街道', 800]]);
  // streets cannot set targets; another district cannot
  assert.equal((await street1.put(`/api/v1/nat/plans/${p.id}/targets`, { targets: [{ region_code: S1, planned: 1 }] })).status, 403);
  expectError(await ccXc.put(`/api/v1/nat/plans/${p.id}/targets`, { targets: [{ region_code: XC_S1, planned: 1 }] }), 404, 'not_found');
  const audit = await auditEntries(auditor, 'nat.plan.targets', p.id);
  assert.ok(audit.some((x) => x.result === 'ok' && x.detail === 'rows=3 source=entered'));
});

test('targets derived from the registry: residents of a street, employees of its enterprises of an industry', async () => {
  for (let i = 0; i < 3; i++) {
    const r = await cc.post('/api/v1/persons', { name: `居民${i}`, id_number: residentId('110101', '19800101', 301 + 2 * i), region_code: S1_C1 });
    assert.equal(r.status, 201, r.text);
  }
  const r1 = await cc.post('/api/v1/persons', { name: '景山居民', id_number: residentId('110101', '19800101', 311), region_code: S2_C1 });
  assert.equal(r1.status, 201, r1.text);
  for (const [n, code, emp, ind] of [['一小', '91110101MA0000021', 60, '教育'], ['二中', '91110101MA0000022', 90, '教育'], ['超市', '91110101MA0000023', 25, '商超']]) {
    const r = await cc.post('/api/v1/enterprises', { name: n, credit_code: creditCode(code), region_code: S1_C1, industry: ind, employees: emp });
    assert.equal(r.status, 201, r.text);
  }
  const p = await plan();
  const edu = byName('教育');
  const shop = byName('商超');
  let r = await cc.put(`/api/v1/nat/plans/${p.id}/targets`, {
    source: 'registry',
    targets: [{ region_code: S1 }, { region_code: S2 }, { region_code: S1, industry_id: edu }, { region_code: S1, industry_id: shop }, { region_code: S2, industry_id: edu }],
  });
  assert.equal(r.status, 200, r.text);
  r = await cc.get(`/api/v1/nat/plans/${p.id}/figures`);
  const f = Object.fromEntries(r.body.items.map((x) => [`${x.region_name}/${x.industry_name}`, x]));
  assert.equal(f['东华门街道/居民'].planned, 3);
  assert.equal(f['东华门街道/居民'].planned_source, 'registry');
  assert.equal(f['景山街道/居民'].planned, 1);
  assert.equal(f['东华门街道/教育'].planned, 150);
  assert.equal(f['东华门街道/商超'].planned, 25);
  assert.equal(f['景山街道/教育'].planned, 0);
  expectError(await cc.put(`/api/v1/nat/plans/${p.id}/targets`, { source: 'registry', targets: [{ region_code: S1, planned: 9 }] }), 400, 'invalid_value', 'targets[0].planned');
});

test('actual counts, street corrections kept beside them, figures by street and by industry, export', async () => {
  const p = await plan();
  const edu = byName('教育');
  await cc.put(`/api/v1/nat/plans/${p.id}/targets`, {
    targets: [
      { region_code: S1, planned: 100 },
      { region_code: S2, planned: 50 },
      { region_code: S1, industry_id: edu, planned: 30 },
      { region_code: S2, industry_id: edu, planned: 10 },
    ],
  });
  // what the sampling part's nat_plan_count does in its transaction
  const count = (street, industry, n) =>
    sqlRun(ctx, `UPDATE nat_plan_figures SET actual = actual + ${n} WHERE plan_id = ${p.id} AND region_code = ${street}000000 AND industry_id = ${industry}`);
  count(S1, 0, 90);
  count(S2, 0, 45);
  count(S1, edu, 28);
  count(S2, edu, 9);
  let r = await cc.get(`/api/v1/nat/plans/${p.id}`);
  assert.equal(r.body.planned, 150);
  assert.equal(r.body.actual, 135);
  assert.equal(r.body.difference, 15);
  // a street corrects its own figure, with a reason
  const corr = { region_code: S1, actual: 95, reason: '5人在外区检测，已核实' };
  r = await street1.post(`/api/v1/nat/plans/${p.id}/corrections`, corr);
  assert.equal(r.status, 200, r.text);
  let row = r.body.items.find((x) => x.region_code === S1 && x.industry_id === null);
  assert.equal(row.actual, 90, 'the counted figure is kept');
  assert.equal(row.corrected, 95);
  assert.equal(row.effective, 95);
  assert.equal(row.difference, 5);
  assert.equal(row.correction_delta, 5);
  assert.equal(row.reason, corr.reason);
  assert.equal(row.corrected_by_name, 'street1');
  // bad corrections change nothing
  expectError(await street1.post(`/api/v1/nat/plans/${p.id}/corrections`, { ...corr, reason: '' }), 400, 'required', 'reason');
  expectError(await street1.post(`/api/v1/nat/plans/${p.id}/corrections`, { region_code: S1, actual: 1 }), 400, 'required', 'reason');
  expectError(await street1.post(`/api/v1/nat/plans/${p.id}/corrections`, { ...corr, actual: -1 }), 400, 'out_of_range', 'actual');
  expectError(await street1.post(`/api/v1/nat/plans/${p.id}/corrections`, { ...corr, actual: 'x' }), 400, 'invalid_type', 'actual');
  expectError(await street1.post(`/api/v1/nat/plans/${p.id}/corrections`, { ...corr, region_code: 'x' }), 400, 'invalid_region', 'region_code');
  expectError(await street1.post(`/api/v1/nat/plans/${p.id}/corrections`, { ...corr, industry_id: 'x' }), 400, 'invalid_industry', 'industry_id');
  expectError(await street1.post(`/api/v1/nat/plans/${p.id}/corrections`, { ...corr, reason: 'x'.repeat(201) }), 400, 'too_long', 'reason');
  // another street's figure: 404; a site worker: 403
  expectError(await street1.post(`/api/v1/nat/plans/${p.id}/corrections`, { ...corr, region_code: S2 }), 404, 'not_found');
  expectError(await ccXc.post(`/api/v1/nat/plans/${p.id}/corrections`, corr), 404, 'not_found');
  assert.equal((await staff1.post(`/api/v1/nat/plans/${p.id}/corrections`, corr)).status, 403);
  // a row that does not exist (an industry without figures)
  expectError(await street1.post(`/api/v1/nat/plans/${p.id}/corrections`, { ...corr, industry_id: byName('医疗') }), 404, 'not_found');
  r = await street1.post(`/api/v1/nat/plans/${p.id}/corrections`, { region_code: S1, industry_id: edu, actual: 30, reason: '学校补录' });
  assert.equal(r.status, 200, r.text);
  // the street sees its own rows only
  r = await street1.get(`/api/v1/nat/plans/${p.id}/figures`);
  assert.ok(r.body.items.every((x) => x.region_code === S1));
  assert.equal(r.body.plan.planned, 100);
  // the district: by street and by industry
  r = await cc.get(`/api/v1/nat/plans/${p.id}/figures?by=street`);
  assert.deepEqual(r.body.items.map((x) => [x.region_name, x.planned, x.actual, x.corrected, x.difference]), [
    ['东华门街道', 100, 90, 95, 5],
    ['景山街道', 50, 45, null, 5],
  ]);
  r = await cc.get(`/api/v1/nat/plans/${p.id}/figures?by=industry`);
  assert.equal(r.body.items.length, 1);
  assert.equal(r.body.items[0].industry_name, '教育');
  assert.equal(r.body.items[0].planned, 40);
  assert.equal(r.body.items[0].actual, 37);
  assert.equal(r.body.items[0].effective, 39, 'the streets stand by 30 (corrected) + 9 (counted)');
  r = await cc.get(`/api/v1/nat/plans/${p.id}`);
  assert.equal(r.body.effective, 140);
  assert.equal(r.body.actual, 135);
  expectError(await cc.get(`/api/v1/nat/plans/${p.id}/figures?by=month`), 400, 'invalid_parameter', 'by');
  const csv = await cc.get(`/api/v1/nat/plans/${p.id}/figures?by=street&format=csv`);
  assert.equal(csv.status, 200);
  assert.match(csv.text, /街道修改后实检/);
  assert.match(csv.text, /东华门街道/);
  assert.match(csv.text, /5人在外区检测/);
  assert.ok(!csv.text.includes(S1), 'names, not codes');
  // audit: both figures recoverable (the row keeps the count; the entry the correction)
  const audit = await auditEntries(auditor, 'nat.plan.correct', p.id);
  assert.ok(audit.some((x) => x.result === 'ok' && x.detail === `street=${S1} industry=0 counted=90 corrected=95`));
  assert.ok(audit.some((x) => x.result === 'not_found'));
  // a counted plan cannot be deleted; a counted industry neither
  expectError(await cc.del(`/api/v1/nat/plans/${p.id}`), 409, 'plan_counted');
  expectError(await cc.del(`/api/v1/nat/industries/${edu}`), 409, 'industry_in_use');
});
