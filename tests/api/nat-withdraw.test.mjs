// Issue 10's loose ends of laboratory results (docs/nat.md "Laboratory"):
// a visitor in a positive pool gets a retest routed to the site's community
// (masked, phone revealed with audit), and a wrongly entered result is
// withdrawn (撤回) in one transaction: the tube back to received, the
// persons' test results taken back, codes recomputed, the pool's retest
// tasks cancelled, a single positive's report kept with a note, the
// figures and counters moved back; then the refusals.
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { startCityWith, CITY_STAFF, expectError, auditEntries, sqlRun, residentId, smsCode } from './lib.mjs';

const PW = 'Nat-withdraw-2024!';
const S1 = '110101001000'; // 东华门街道
const S1_C1 = '110101001001'; // 多福巷社区
const H = 3600000;
let ctx, cc, lab, labXc, staff1, admin, auditor;
let site, plan;
let seq = 0;
const rid = () => residentId('110101', '19850101', 300 + ++seq * 2);
const one = (sql) => sqlRun(ctx, sql).trim();

before(async () => {
  ctx = await startCityWith(
    {
      ...CITY_STAFF,
      admin: ['system_admin', '110100000000'],
      lab: ['lab', '110101000000'],
      lab_xc: ['lab', '110102000000'],
      staff1: ['site_staff', S1],
      cs1: ['community_staff', S1_C1],
    },
    PW,
  );
  ({ cc_dc: cc, lab, lab_xc: labXc, staff1, admin, auditor } = ctx.as);
  let r = await admin.post('/api/v1/departments', { name: '东城区疾控中心实验室', region_code: '110101000000' });
  assert.equal(r.status, 201, r.text);
  const users = (await admin.get('/api/v1/users?page_size=100')).body.items;
  r = await admin.patch(`/api/v1/users/${users.find((u) => u.username === 'lab').id}`, { department_id: r.body.id });
  assert.equal(r.status, 200, r.text);
  r = await cc.post('/api/v1/nat/sites', { name: '多福巷核酸点', kind: 'fixed', region_code: S1_C1 });
  assert.equal(r.status, 201, r.text);
  site = r.body;
  assert.equal((await staff1.post(`/api/v1/nat/sites/${site.id}/clock-in`, {})).status, 201);
  const now = Date.now();
  r = await cc.post('/api/v1/nat/plans', { number: 'WD-2024-1', name: '撤回测试轮', starts_at: now - H, ends_at: now + 10 * H });
  assert.equal(r.status, 201, r.text);
  plan = r.body;
  r = await cc.put(`/api/v1/nat/plans/${plan.id}/targets`, { targets: [{ region_code: S1, planned: 30 }] });
  assert.equal(r.status, 200, r.text);
});

after(async () => {
  await ctx?.stop();
});

async function person(name) {
  const id_number = rid();
  const r = await cc.post('/api/v1/persons', { name, id_number, region_code: S1_C1 });
  assert.equal(r.status, 201, r.text);
  return { id: r.body.id, id_number, name };
}
const sample = async (body) => {
  const r = await staff1.post('/api/v1/nat/samples', { plan_id: plan.id, ...body });
  assert.equal(r.status, 201, r.text);
  return r.body;
};
const closeTube = async (barcode) => {
  const r = await staff1.post(`/api/v1/nat/tubes/${barcode}/close`, {});
  assert.equal(r.status, 200, r.text);
};
const result = async (barcode, res) => {
  const r = await lab.post('/api/v1/nat/results', { barcode, result: res });
  assert.equal(r.status, 200, r.text);
  return r.body;
};
const withdraw = (barcode, body, client = lab) => client.post(`/api/v1/nat/tubes/${barcode}/result/withdraw`, body);
const codeOf = async (id) => (await cc.get(`/api/v1/persons/${id}/code`)).body;
async function figures() {
  const r = await cc.get(`/api/v1/nat/plans/${plan.id}/figures`);
  assert.equal(r.status, 200, r.text);
  const x = r.body.items.find((i) => !i.industry_id && i.region_code === S1);
  return [x.actual, x.negative, x.positive, x.retest, x.invalid, x.pending];
}
const counter = (m) => Number(one(`SELECT COALESCE(SUM(n), 0) FROM counters WHERE measure = '${m}' AND day = 0`));
const verify = () => {
  const v = ctx.fk(['stats', 'verify']);
  assert.equal(v.status, 0, v.stdout + v.stderr);
};

let visitorPool; // a pool whose visitor's retest was answered: its result is final

test('a visitor in a positive pool: a retest to the site\'s community, 访客, masked, phone revealed with audit; the visitor\'s single tube closes it', async () => {
  const host = ctx.client();
  const phone = '13900004321';
  await host.post('/api/v1/auth/sms/send', { phone });
  assert.equal((await host.post('/api/v1/auth/sms/login', { phone, code: smsCode(ctx, phone) })).status, 200);
  await host.post('/api/v1/me/consent', { version: 'v1' });
  let r = await host.post('/api/v1/me/person', { name: '接待居民', id_number: rid(), region_code: S1_C1, address: '多福巷3号' });
  assert.equal(r.status, 201, r.text);
  assert.equal((await cc.post(`/api/v1/persons/${r.body.person.id}/verify`, { document_checked: true })).status, 200);
  r = await host.post('/api/v1/me/visitors', {
    name: '钱访客', id_type: 'resident_id', id_number: residentId('110102', '19920316', 9), phone: '13912340001',
    purpose: '探亲', valid_from: Date.now() - H, valid_to: Date.now() + 4 * H,
  });
  assert.equal(r.status, 201, r.text);
  const v = r.body;
  assert.equal((await cc.post(`/api/v1/visitors/${v.id}/confirm`, {})).status, 200);
  const { token } = (await host.get(`/api/v1/visitors/${v.id}/code`)).body;

  const a = await person('池塘甲');
  const b = await person('池塘乙');
  visitorPool = 'WVIS-0001';
  await sample({ code: token, barcode: visitorPool, tube_kind: 'pool5' });
  await sample({ id_number: a.id_number, barcode: visitorPool });
  await sample({ id_number: b.id_number, barcode: visitorPool });
  await closeTube(visitorPool);
  const t = await result(visitorPool, 'positive');
  assert.equal(t.outcome.retests, 3); // the two persons and the visitor

  r = await cc.get(`/api/v1/nat/retests?plan_id=${plan.id}&state=open&page_size=50`);
  assert.equal(r.status, 200, r.text);
  const vis = r.body.items.filter((x) => x.visitor);
  assert.equal(vis.length, 1, JSON.stringify(r.body.items));
  const x = vis[0];
  assert.deepEqual([x.kind, x.state, x.barcode, x.region_code, x.region_name, x.person_id, x.visitor_id, x.name, x.phone],
    ['retest', 'open', visitorPool, S1_C1, '多福巷社区', null, v.id, '钱*客', '139****0001']);
  assert.ok(r.body.items.filter((y) => !y.visitor).every((y) => y.phone === null && y.person_id));
  const task = await cc.get(`/api/v1/tasks/${x.task_id}`);
  assert.equal(task.status, 200, task.text);
  assert.deepEqual([task.body.kind, task.body.priority, task.body.region_code, task.body.assignee_role, task.body.person_id],
    ['nat_retest', 'urgent', S1_C1, 'community_staff', null]);
  assert.match(task.body.note ?? task.body.description ?? JSON.stringify(task.body), /访客/);
  // the community's staff see it in their scope
  r = await ctx.as.cs1.get(`/api/v1/nat/retests?state=open&page_size=50`);
  assert.equal(r.status, 200, r.text);
  assert.ok(r.body.items.some((y) => y.visitor && y.id === x.id));
  // revealed: the full name and phone, audited as a reveal
  r = await cc.get(`/api/v1/nat/retests?plan_id=${plan.id}&state=open&page_size=50&reveal=1`);
  assert.equal(r.status, 200, r.text);
  const shown = r.body.items.find((y) => y.id === x.id);
  assert.deepEqual([shown.name, shown.phone], ['钱访客', '13912340001']);
  assert.ok((await auditEntries(auditor, 'person.reveal')).some((e) => e.object_type === 'nat_retest'));

  // the visitor comes back for a single tube: its negative closes the retest and its task
  await sample({ code: token, barcode: 'WVIS-R001' });
  const single = await result('WVIS-R001', 'negative');
  assert.equal(single.outcome.closed, 1);
  r = await cc.get(`/api/v1/nat/retests?plan_id=${plan.id}&page_size=50`);
  const closed = r.body.items.find((y) => y.id === x.id);
  assert.deepEqual([closed.state, closed.result_barcode, closed.task_state], ['negative', 'WVIS-R001', 'done']);
});

test('withdraw a negative single tube: back to received, the test result taken back, figures back; re-entered', async () => {
  const p = await person('撤回甲');
  await sample({ id_number: p.id_number, barcode: 'WD-N0001' });
  const f0 = await figures();
  const n0 = counter('nat.outcome.negative');
  await result('WD-N0001', 'negative');
  assert.equal(one(`SELECT COUNT(*) FROM test_results WHERE person_id = ${p.id}`), '1');
  let f = await figures();
  assert.deepEqual([f[1] - f0[1], f[5] - f0[5]], [1, -1]);

  let r = await withdraw('WD-N0001', { reason: '录入错误：条码扫错' });
  assert.equal(r.status, 200, r.text);
  assert.deepEqual([r.body.state, r.body.result, r.body.withdrawal.result, r.body.withdrawal.samples, r.body.withdrawal.tests], ['received', null, 'negative', 1, 1]);
  assert.equal(one(`SELECT COUNT(*) FROM test_results WHERE person_id = ${p.id}`), '0');
  // kept, not lost: the withdrawn row and the withdrawal with its reason
  assert.equal(one(`SELECT result || '|' || institution FROM test_results_withdrawn WHERE person_id = ${p.id}`), 'negative|东城区疾控中心实验室');
  assert.equal(one(`SELECT reason || '|' || result FROM nat_withdrawals WHERE id = ${r.body.withdrawal.id}`), '录入错误：条码扫错|negative');
  r = await cc.get('/api/v1/nat/tubes/WD-N0001');
  assert.ok(r.body.samples.every((x) => x.result === null || x.result === ''), JSON.stringify(r.body.samples));
  assert.deepEqual(await figures(), f0);
  assert.equal(counter('nat.outcome.negative'), n0);
  verify();
  const audit = await auditEntries(auditor, 'nat.result.withdraw');
  assert.ok(audit.some((e) => e.result === 'ok' && /result=negative samples=1 tests=1/.test(e.detail)), JSON.stringify(audit));

  // the right result entered again
  const t = await result('WD-N0001', 'negative');
  assert.equal(t.state, 'resulted');
  assert.equal(one(`SELECT COUNT(*) FROM test_results WHERE person_id = ${p.id}`), '1');
  f = await figures();
  assert.deepEqual([f[1] - f0[1], f[5] - f0[5]], [1, -1]);
  verify();
});

test('withdraw a positive pool: codes back to green, retests withdrawn and their tasks cancelled, counters back', async () => {
  const ps = [];
  for (let i = 0; i < 5; i++) ps.push(await person(`混管${i}号`));
  for (const [i, p] of ps.entries()) await sample({ id_number: p.id_number, barcode: 'WD-P5001', ...(i ? {} : { tube_kind: 'pool5' }) });
  const f0 = await figures();
  const tasks0 = one(`SELECT COUNT(*) FROM tasks WHERE state = 'cancelled'`);
  const t = await result('WD-P5001', 'positive');
  assert.equal(t.outcome.retests, 5);
  for (const p of ps) assert.equal((await codeOf(p.id)).colour, 'yellow');
  let f = await figures();
  assert.equal(f[3] - f0[3], 5);

  const r = await withdraw('WD-P5001', { reason: '实验室误判，复核原始数据为阴性' });
  assert.equal(r.status, 200, r.text);
  assert.deepEqual([r.body.state, r.body.withdrawal.result, r.body.withdrawal.samples, r.body.withdrawal.tests, r.body.withdrawal.retests],
    ['received', 'positive', 5, 5, 5]);
  for (const p of ps) {
    const c = await codeOf(p.id);
    assert.equal(c.colour, 'green', JSON.stringify(c));
  }
  const rt = (await cc.get(`/api/v1/nat/retests?plan_id=${plan.id}&state=withdrawn&page_size=50`)).body.items.filter((x) => x.barcode === 'WD-P5001');
  assert.equal(rt.length, 5);
  assert.ok(rt.every((x) => x.state_label === '结果已撤回' && x.task_state === 'cancelled'), JSON.stringify(rt));
  assert.equal(Number(one(`SELECT COUNT(*) FROM tasks WHERE state = 'cancelled'`)) - Number(tasks0), 5);
  assert.deepEqual(await figures(), f0);
  verify();
  // a new result opens new retests: nothing is left that holds them back
  const again = await result('WD-P5001', 'positive');
  assert.equal(again.outcome.retests, 5);
});

test('withdraw a positive single tube: the code recomputed, the case report kept with a note on its timeline', async () => {
  const p = await person('单管阳');
  await sample({ id_number: p.id_number, barcode: 'WD-S0001' });
  const t = await result('WD-S0001', 'positive');
  assert.equal(t.outcome.reports, 1);
  assert.equal((await codeOf(p.id)).colour, 'red');
  const incident = one(`SELECT incident_id FROM nat_tubes WHERE barcode = 'WD-S0001'`);
  assert.notEqual(incident, '0');
  const r = await withdraw('WD-S0001', { reason: '样本串号' });
  assert.equal(r.status, 200, r.text);
  assert.equal(r.body.withdrawal.reports, 1);
  assert.equal((await codeOf(p.id)).colour, 'green');
  const inc = await cc.get(`/api/v1/incidents/${incident}`);
  assert.equal(inc.status, 200, inc.text);
  assert.ok(inc.body.timeline.some((e) => e.action === 'note'), JSON.stringify(inc.body.timeline));
});

test('withdraw: bad input, unknown tube, no result, final result, scope and permission change nothing', async () => {
  const p = await person('拒绝甲');
  await sample({ id_number: p.id_number, barcode: 'WD-X0001' });
  await result('WD-X0001', 'negative');
  const state = () => one(`SELECT (SELECT COUNT(*) FROM test_results), (SELECT COUNT(*) FROM nat_withdrawals), (SELECT COUNT(*) FROM nat_tubes WHERE state = 'resulted')`);
  const s0 = state();
  expectError(await withdraw('WD-X0001', {}), 400, 'required', 'reason');
  const empty = await withdraw('WD-X0001', { reason: '' });
  assert.deepEqual([empty.status, empty.body.error.field], [400, 'reason'], empty.text);
  expectError(await withdraw('WD-X0001', { reason: '长'.repeat(201) }), 400, 'too_long', 'reason');
  expectError(await withdraw('WD-X0001', { reason: '错', extra: 1 }), 400, 'unknown_field', 'extra');
  expectError(await withdraw('NOPE-0001', { reason: '错' }), 404, 'unknown_tube');
  expectError(await withdraw('WD-X0001', { reason: '错' }, labXc), 404, 'unknown_tube');
  assert.equal((await withdraw('WD-X0001', { reason: '错' }, staff1)).status, 403);
  // a tube without a result
  await sample({ id_number: (await person('拒绝乙')).id_number, barcode: 'WD-X0002' });
  expectError(await withdraw('WD-X0002', { reason: '错' }), 409, 'no_result');
  // the pool whose visitor's retest was answered: final
  expectError(await withdraw(visitorPool, { reason: '错' }), 409, 'result_final');
  // and the single tube that answered it
  expectError(await withdraw('WVIS-R001', { reason: '错' }), 409, 'result_final');
  assert.equal(state(), s0);
  const refused = await auditEntries(auditor, 'nat.result.withdraw');
  assert.ok(refused.some((e) => e.result !== 'ok'), JSON.stringify(refused));
  // 200 characters are enough
  assert.equal((await withdraw('WD-X0001', { reason: '长'.repeat(200) })).status, 200);
});

test('withdraw an invalid tube: its resamples withdrawn and their tasks cancelled, the invalid counts back', async () => {
  const ps = [await person('无效甲'), await person('无效乙')];
  await sample({ id_number: ps[0].id_number, barcode: 'WD-I5001', tube_kind: 'pool5' });
  await sample({ id_number: ps[1].id_number, barcode: 'WD-I5001' });
  await closeTube('WD-I5001');
  const f0 = await figures();
  const inv0 = counter('nat.outcome.invalid');
  const t = await result('WD-I5001', 'invalid');
  assert.equal(t.outcome.retests, 2);
  assert.equal(counter('nat.outcome.invalid') - inv0, 2);
  const r = await withdraw('WD-I5001', { reason: '仪器故障，结果作废重测' });
  assert.equal(r.status, 200, r.text);
  assert.deepEqual([r.body.withdrawal.result, r.body.withdrawal.tests, r.body.withdrawal.retests], ['invalid', 0, 2]);
  const rs = (await cc.get(`/api/v1/nat/retests?kind=resample&state=withdrawn&page_size=50`)).body.items.filter((x) => x.barcode === 'WD-I5001');
  assert.equal(rs.length, 2);
  assert.ok(rs.every((x) => x.task_state === 'cancelled'));
  assert.equal(counter('nat.outcome.invalid'), inv0);
  assert.deepEqual(await figures(), f0);
  verify();
});

test('two withdrawals of one tube at once: one applies, the other answers no_result; the counts stay right', async () => {
  const p = await person('并发甲');
  await sample({ id_number: p.id_number, barcode: 'WD-C0001' });
  const f0 = await figures();
  await result('WD-C0001', 'negative');
  const rs = await Promise.all([withdraw('WD-C0001', { reason: '并发一' }), withdraw('WD-C0001', { reason: '并发二' })]);
  assert.deepEqual(rs.map((r) => r.status).sort(), [200, 409], rs.map((r) => r.text).join('\n'));
  assert.equal(rs.find((r) => r.status === 409).body.error.code, 'no_result');
  assert.equal(one(`SELECT COUNT(*) FROM nat_withdrawals w JOIN nat_tubes t ON t.id = w.tube_id WHERE t.barcode = 'WD-C0001'`), '1');
  assert.deepEqual(await figures(), f0);
  verify();
});
