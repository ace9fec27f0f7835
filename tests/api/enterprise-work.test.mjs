// Enterprises resuming work (docs/enterprise.md): enterprise accounts bound
// to an enterprise, employees linked to the registry (masked, sealed, an
// enterprise never sees another's), resume-work applications reviewed by
// the street (return needs reasons, resubmission, the status per
// enterprise). One server; the tests build on each other's data.
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import fs from 'node:fs';
import path from 'node:path';
import { startCityWith, CITY_STAFF, creditCode, residentId, expectError, auditEntries, smsCode, sleep } from './lib.mjs';

const PW = 'Enterprise-work-2024!';
let ctx, cc, entA, entB, street1, street2, grid, auditor;
let A, B; // the enterprises
const S1_C1 = '110101001001'; // 多福巷社区, 东华门街道
const S2_C1 = '110101002001'; // 隆福寺社区, 景山街道

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
    { env: { FK_SMS_RESEND: '1' } },
  );
  ({ cc_dc: cc, ent_a: entA, ent_b: entB, street_1: street1, street_2: street2, grid_dc: grid, auditor } = ctx.as);
  const mk = async (name, region, n) => {
    const r = await cc.post('/api/v1/enterprises', {
      name, credit_code: creditCode('91110101MA000000' + n), region_code: region, industry: '制造业',
    });
    assert.equal(r.status, 201, r.text);
    return r.body;
  };
  A = await mk('东华门精密机械有限公司', S1_C1, '1');
  B = await mk('景山食品有限公司', S2_C1, '2');
});

after(async () => {
  if (process.env.FK_DEBUG) console.error(ctx?.stderr?.slice(-3000));
  await ctx?.stop();
});

test('accounts: binding needs an enterprise account and an enterprise in scope', async () => {
  // before the binding an enterprise account acts for none
  expectError(await entA.get('/api/v1/employees'), 400, 'required', 'enterprise_id');
  expectError(await cc.post('/api/v1/enterprise-accounts', { user_id: grid.id, enterprise_id: A.id }), 400, 'invalid_user', 'user_id');
  expectError(await cc.post('/api/v1/enterprise-accounts', { user_id: 'x', enterprise_id: A.id }), 400, 'invalid_user', 'user_id');
  expectError(await cc.post('/api/v1/enterprise-accounts', { user_id: entA.id }), 400, 'required', 'enterprise_id');
  assert.equal((await cc.post('/api/v1/enterprise-accounts', { user_id: entA.id, enterprise_id: '999' })).status, 404);
  assert.equal((await entA.post('/api/v1/enterprise-accounts', { user_id: entA.id, enterprise_id: A.id })).status, 403);
  for (const [u, e] of [[entA, A], [entB, B]]) {
    const r = await cc.post('/api/v1/enterprise-accounts', { user_id: u.id, enterprise_id: e.id });
    assert.equal(r.status, 200, r.text);
  }
});

let empA1, empA2;
const ID1 = residentId('110101', '19850301', 11);
const ID2 = residentId('110101', '19920715', 12, false);

test('employees: added through the registry, masked, bad input refused', async () => {
  const bad = [
    [{ name: '张三' }, 'required', 'id_number'],
    [{ id_number: ID1 }, 'required', 'name'],
    [{ id_number: '110101198503011234', name: '张三' }, 'invalid_id_number', 'id_number'],
    [{ id_number: ID1, name: '张三', phone: '123' }, 'invalid_phone', 'phone'],
    [{ id_number: ID1, name: '张三', department: 'x'.repeat(51) }, 'too_long', 'department'],
    [{ id_number: ID1, name: '张三', salary: 1 }, 'unknown_field', 'salary'],
    [{ id_number: ID1, name: '张三', enterprise_id: 'abc' }, 'invalid_value', 'enterprise_id'],
  ];
  for (const [body, code, field] of bad) expectError(await entA.post('/api/v1/employees', body), 400, code, field);
  assert.equal((await entA.get('/api/v1/employees')).body.total, 0, 'nothing half-written');

  let r = await entA.post('/api/v1/employees', { id_number: ID1, name: '张三丰', phone: '13800001111', department: '生产部', post: '车工', shift: '早班' });
  assert.equal(r.status, 201, r.text);
  empA1 = r.body;
  assert.equal(empA1.name, '张*丰', 'masked name');
  assert.match(empA1.phone, /^138\*+1111$/);
  assert.ok(!empA1.id_number.includes('19850301'), 'masked id number');
  assert.equal(empA1.code_colour, 'green');
  // the person is in the registry, in the enterprise's community
  const p = await cc.get(`/api/v1/persons/${empA1.person_id}`);
  assert.equal(p.status, 200, p.text);
  assert.equal(p.body.region_code, S1_C1);

  // an existing person is linked, not duplicated; a wrong name is refused
  expectError(await entB.post('/api/v1/employees', { id_number: ID1, name: '李四' }), 400, 'name_mismatch', 'name');
  r = await entB.post('/api/v1/employees', { id_number: ID1, name: '张三丰' });
  assert.equal(r.status, 201, r.text);
  assert.equal(r.body.person_id, empA1.person_id);
  expectError(await entA.post('/api/v1/employees', { id_number: ID1, name: '张三丰' }), 409, 'duplicate_employee');

  r = await entA.post('/api/v1/employees', { id_number: ID2, name: '王小丽', department: '行政部' });
  assert.equal(r.status, 201, r.text);
  empA2 = r.body;
  r = await entA.get('/api/v1/employees?department=' + encodeURIComponent('生产部'));
  assert.equal(r.body.total, 1);
  assert.equal((await entA.get('/api/v1/employees')).body.total, 2);
  // the plaintext is sealed: the list reply never holds the full number
  assert.ok(!JSON.stringify((await entA.get('/api/v1/employees')).body).includes(ID1));
});

test('employees: another enterprise is refused (404) and the refusal audited', async () => {
  expectError(await entB.get(`/api/v1/employees/${empA2.id}`), 404, 'not_found');
  expectError(await entB.patch(`/api/v1/employees/${empA2.id}`, { post: '经理' }), 404, 'not_found');
  expectError(await entB.del(`/api/v1/employees/${empA2.id}`), 404, 'not_found');
  expectError(await entB.get(`/api/v1/employees?enterprise_id=${A.id}`), 404, 'not_found');
  expectError(await entB.post('/api/v1/employees', { enterprise_id: A.id, id_number: ID2, name: '王小丽' }), 404, 'not_found');
  const audit = await auditEntries(auditor, 'employee.read', empA2.id);
  assert.ok(audit.some((e) => e.result === 'not_found'), JSON.stringify(audit));
  const listAudit = await auditEntries(auditor, 'employee.list', A.id);
  assert.ok(listAudit.some((e) => e.result === 'not_found'));
  // positive control: the owner reads it
  assert.equal((await entA.get(`/api/v1/employees/${empA2.id}`)).status, 200);
});

test('employees: street scope, change and leave', async () => {
  // the street of A sees A's employees; the other street does not
  let r = await street1.get(`/api/v1/employees?enterprise_id=${A.id}`);
  assert.equal(r.status, 200, r.text);
  assert.equal(r.body.total, 2);
  expectError(await street2.get(`/api/v1/employees?enterprise_id=${A.id}`), 404, 'not_found');
  expectError(await street1.get('/api/v1/employees'), 400, 'required', 'enterprise_id');
  expectError(await street1.get('/api/v1/employees?enterprise_id=x'), 400, 'invalid_parameter', 'enterprise_id');
  // the street reads but never writes employees
  assert.equal((await street1.post('/api/v1/employees', { enterprise_id: A.id, id_number: ID2, name: '王小丽' })).status, 403);

  expectError(await entA.patch(`/api/v1/employees/${empA2.id}`, {}), 400, 'empty_update');
  expectError(await entA.patch(`/api/v1/employees/${empA2.id}`, { shift: 'x'.repeat(51) }), 400, 'too_long', 'shift');
  r = await entA.patch(`/api/v1/employees/${empA2.id}`, { shift: '晚班' });
  assert.equal(r.status, 200, r.text);
  assert.equal(r.body.shift, '晚班');
  assert.equal(r.body.department, '行政部', 'unchanged fields kept');
  assert.equal((await entA.del(`/api/v1/employees/${empA2.id}`)).status, 204);
  expectError(await entA.get(`/api/v1/employees/${empA2.id}`), 404, 'not_found');
  assert.equal((await entA.get('/api/v1/employees')).body.total, 1);
});

let app1;
test('resume work: submit, bad input, return without reasons refused, resubmit, approve', async () => {
  let r = await street1.get('/api/v1/resume-enterprises');
  assert.equal(r.status, 200, r.text);
  const st = (list, id) => list.items.find((x) => x.id === id)?.status;
  assert.equal(st(r.body, A.id), 'none');
  assert.equal(r.body.items.find((x) => x.id === A.id).status_label, '未申请');
  assert.equal(st(r.body, B.id), undefined, 'another street: not listed');

  const good = { plan: '每日测温、错峰上下班、食堂分餐。', staff_count: 80, resume_date: '2026-12-10' };
  const bad = [
    [{ ...good, plan: '' }, 'too_long', 'plan'],
    [{ ...good, staff_count: -1 }, 'out_of_range', 'staff_count'],
    [{ ...good, staff_count: '8' }, 'invalid_type', 'staff_count'],
    [{ ...good, resume_date: '2026-13-40' }, 'invalid_date', 'resume_date'],
    [{ ...good, attachments: ['123'] }, 'invalid_attachment', 'attachments[0]'],
  ];
  for (const [body, code, field] of bad) {
    const x = await entA.post('/api/v1/resume-applications', body);
    assert.equal(x.status, 400, x.text);
    if (code !== 'too_long') assert.equal(x.body.error.code, code, x.text);
    assert.equal(x.body.error.field, field, x.text);
  }
  assert.equal((await entA.get('/api/v1/resume-applications')).body.total, 0, 'nothing half-written');

  r = await entA.post('/api/v1/resume-applications', good);
  assert.equal(r.status, 201, r.text);
  app1 = r.body;
  assert.equal(app1.status, 'pending');
  assert.equal(app1.resume_date, '2026-12-10');
  expectError(await entA.post('/api/v1/resume-applications', good), 409, 'already_pending');
  // the workbench: the street has one to decide, the other street none; the enterprise its employees
  const wb = async (c, key) => (await c.get('/api/v1/workbench')).body.entries.find((x) => x.key === key)?.count;
  assert.equal(await wb(street1, 'resume_pending'), 1);
  assert.equal(await wb(street2, 'resume_pending'), 0);
  assert.equal(await wb(entA, 'resume_pending'), undefined, 'not the enterprise\'s entry');
  assert.equal(await wb(entA, 'own_employees'), 1);
  assert.equal(await wb(entB, 'own_employees'), 1);
  // the enterprise may not review; the other street does not see it
  assert.equal((await entA.post(`/api/v1/resume-applications/${app1.id}/review`, { decision: 'approve' })).status, 403);
  expectError(await street2.post(`/api/v1/resume-applications/${app1.id}/review`, { decision: 'approve' }), 404, 'not_found');
  expectError(await entB.get(`/api/v1/resume-applications/${app1.id}`), 404, 'not_found');

  expectError(await street1.post(`/api/v1/resume-applications/${app1.id}/review`, { decision: 'return' }), 400, 'required', 'reasons');
  expectError(await street1.post(`/api/v1/resume-applications/${app1.id}/review`, { decision: 'return', reasons: '   ' }), 400, 'required', 'reasons');
  expectError(await street1.post(`/api/v1/resume-applications/${app1.id}/review`, { decision: 'maybe' }), 400, 'invalid_value', 'decision');
  assert.equal((await entA.get(`/api/v1/resume-applications/${app1.id}`)).body.status, 'pending', 'unchanged');

  r = await street1.post(`/api/v1/resume-applications/${app1.id}/review`, { decision: 'return', reasons: '缺少员工健康监测台账' });
  assert.equal(r.status, 200, r.text);
  assert.equal(r.body.status, 'returned');
  assert.equal(r.body.status_label, '已退回');
  expectError(await street1.post(`/api/v1/resume-applications/${app1.id}/review`, { decision: 'approve' }), 409, 'not_pending');
  r = await street1.get('/api/v1/resume-enterprises');
  assert.equal(st(r.body, A.id), 'returned');

  r = await entA.post('/api/v1/resume-applications', { ...good, plan: good.plan + '附员工健康监测台账。' });
  assert.equal(r.status, 201, r.text);
  const app2 = r.body;
  r = await street1.post(`/api/v1/resume-applications/${app2.id}/review`, { decision: 'approve' });
  assert.equal(r.status, 200, r.text);
  assert.equal(r.body.status, 'approved');
  expectError(await entA.post('/api/v1/resume-applications', good), 409, 'already_approved');

  // the whole history, newest first, for the enterprise and the street
  r = await entA.get('/api/v1/resume-applications');
  assert.deepEqual(r.body.items.map((x) => x.status), ['approved', 'returned']);
  assert.equal(r.body.items[1].reasons, '缺少员工健康监测台账');
  r = await street1.get(`/api/v1/resume-applications?enterprise_id=${A.id}&status=approved`);
  assert.equal(r.body.total, 1);
  expectError(await street1.get('/api/v1/resume-applications?status=done'), 400, 'invalid_parameter', 'status');
  expectError(await entB.get(`/api/v1/resume-applications?enterprise_id=${A.id}`), 404, 'not_found');
  assert.equal((await entB.get('/api/v1/resume-applications')).body.total, 0);
  r = await street1.get('/api/v1/resume-enterprises');
  assert.equal(st(r.body, A.id), 'approved');
  assert.equal(r.body.items.find((x) => x.id === A.id).status_label, '已复工');
  const audit = await auditEntries(auditor, 'resume.return', app1.id);
  assert.ok(audit.some((e) => e.result === 'ok'));
});

// A fresh SMS code for a phone. The server sends one code per phone a
// second (FK_SMS_RESEND=1) and counts every attempt against the address's
// hourly budget, so the helper waits out the interval since its own last
// send instead of retrying, then waits for the file gateway's line.
const lastSent = {};
const smsLines = () => {
  const f = path.join(ctx.dir, 'sms.log');
  return fs.existsSync(f) ? fs.readFileSync(f, 'utf8').split('\n').length : 0;
};
async function freshCode(client, phone) {
  const wait = (lastSent[phone] || 0) + 1100 - Date.now();
  if (wait > 0) await sleep(wait);
  const before = smsLines();
  const r = await client.post('/api/v1/auth/sms/send', { phone });
  assert.equal(r.status, 200, r.text);
  lastSent[phone] = Date.now();
  for (let i = 0; i < 100 && smsLines() === before; i++) await sleep(20);
  return smsCode(ctx, phone);
}

test('returning-staff declarations: SMS-checked phone, flags, scope, bad input', async () => {
  // a resident who registered herself, then added by her enterprise
  const PHONE = '13700002222';
  const ID3 = residentId('110101', '19880808', 31, false);
  const me = ctx.client();
  assert.equal((await me.post('/api/v1/auth/sms/login', { phone: PHONE, code: await freshCode(me, PHONE) })).status, 200);
  await me.post('/api/v1/me/consent', { version: 'v1' });
  const reg = await me.post('/api/v1/me/person', { name: '钱多多', id_number: ID3, region_code: S1_C1, address: '多福巷2号' });
  assert.equal(reg.status, 201, reg.text);
  const notYet = await me.post('/api/v1/return-declarations', { phone: PHONE, sms_code: '123456', return_date: '2026-12-12', transport_kind: 'train' });
  expectError(notYet, 404, 'not_employee');
  let r = await entA.post('/api/v1/employees', { id_number: ID3, name: '钱多多', department: '质检部' });
  assert.equal(r.status, 201, r.text);
  const emp3 = r.body;

  const risk = await cc.post('/api/v1/risk-areas', { name: '某市某区某街道', level: 'high', valid_from: Date.now() - 86400000 });
  assert.equal(risk.status, 201, risk.text);

  const good = {
    phone: PHONE, travel: [{ place: '湖北省某市某区某街道', from: '2026-11-20', to: '2026-11-28' }],
    native_place: '湖北省武汉市', return_date: '2026-12-12', transport_kind: 'train', transport_no: 'G507',
  };
  const bad = [
    [{ ...good }, 'required', 'sms_code'],
    [{ ...good, sms_code: '1', travel: [{ place: '', from: '2026-11-20', to: '2026-11-28' }] }, 'too_long', 'travel[0].place'],
    [{ ...good, sms_code: '1', travel: [{ place: '上海', from: '2026-11-29', to: '2026-11-28' }] }, 'invalid_date', 'travel[0].to'],
    [{ ...good, sms_code: '1', travel: ['上海'] }, 'invalid_type', 'travel[0]'],
    [{ ...good, sms_code: '1', return_date: '12/12' }, 'invalid_date', 'return_date'],
    [{ ...good, sms_code: '1', transport_kind: 'rocket' }, 'invalid_value', 'transport_kind'],
    [{ ...good, sms_code: '1', grade: '三年级' }, 'required', 'school'],
    [{ ...good, sms_code: '1', phone: '12345' }, 'invalid_phone', 'phone'],
    [{ ...good, sms_code: '000000' }, 'bad_sms_code', 'sms_code'],
  ];
  for (const [body, code, field] of bad) {
    const x = await me.post('/api/v1/return-declarations', body);
    assert.equal(x.status, 400, x.text);
    if (code !== 'too_long') assert.equal(x.body.error.code, code, x.text);
    assert.equal(x.body.error.field, field, x.text);
  }
  assert.equal((await entA.get('/api/v1/return-declarations')).body.total, 0, 'nothing written');

  // the employee declares on the phone: the travel names a high-risk area, flagged
  r = await me.post('/api/v1/return-declarations', { ...good, sms_code: await freshCode(me, PHONE) });
  assert.equal(r.status, 201, r.text);
  assert.equal(r.body.flagged, true);
  assert.deepEqual(r.body.flag_labels, ['途经中高风险地区']);
  assert.equal(r.body.gender_label, '女');
  assert.equal(r.body.name, '钱*多');
  assert.equal(r.body.transport_label, '火车');
  // the code is spent: the same one again is refused
  expectError(await me.post('/api/v1/return-declarations', { ...good, sms_code: smsCode(ctx, PHONE) }), 400, 'bad_sms_code', 'sms_code');

  // the enterprise declares on behalf of another employee (school variant), not flagged
  const onBehalf = { phone: '13800001111', return_date: '2026-12-15', transport_kind: 'car', transport_no: '京A12345', school: '东城区第一中学', grade: '初二', class: '3班' };
  expectError(await entB.post('/api/v1/return-declarations', { ...onBehalf, employee_id: empA1.id, sms_code: '111111' }), 404, 'not_found');
  expectError(await entA.post('/api/v1/return-declarations', { ...onBehalf, employee_id: 'x', sms_code: '111111' }), 400, 'invalid_value', 'employee_id');
  assert.equal((await street1.post('/api/v1/return-declarations', { ...onBehalf, employee_id: empA1.id, sms_code: '111111' })).status, 403);
  r = await entA.post('/api/v1/return-declarations', { ...onBehalf, employee_id: empA1.id, sms_code: await freshCode(entA, '13800001111') });
  assert.equal(r.status, 201, r.text);
  assert.equal(r.body.flagged, false, 'positive control: green code, no travel');
  assert.equal(r.body.school, '东城区第一中学');
  assert.equal(r.body.class, '3班');

  // the enterprise and its street see them; the other street and enterprise do not
  r = await entA.get('/api/v1/return-declarations');
  assert.equal(r.body.total, 2);
  assert.equal((await entA.get('/api/v1/return-declarations?flagged=1')).body.items[0].employee_id, emp3.id);
  assert.ok(!JSON.stringify(r.body).includes(PHONE), 'phones masked');
  assert.equal((await street1.get('/api/v1/return-declarations?flagged=1')).body.total, 1);
  assert.equal((await street2.get('/api/v1/return-declarations')).body.total, 0);
  assert.equal((await entB.get('/api/v1/return-declarations')).body.total, 0);
  expectError(await entB.get(`/api/v1/return-declarations?enterprise_id=${A.id}`), 404, 'not_found');
  expectError(await street1.get('/api/v1/return-declarations?flagged=yes'), 400, 'invalid_parameter', 'flagged');
  const audit = await auditEntries(auditor, 'declaration.create');
  assert.ok(audit.some((e) => e.result === 'not_found'), 'the refused on-behalf declaration is audited');
});

test('staff clock-in: tied to the code, a fever flags and alerts, the daily view', async () => {
  // the employee of both enterprises (张三丰, phone 13800001111) binds his own account
  const zs = ctx.client();
  const zl = await zs.post('/api/v1/auth/sms/login', { phone: '13800001111', code: await freshCode(zs, '13800001111') });
  assert.equal(zl.status, 200, zl.text);
  await zs.post('/api/v1/me/consent', { version: 'v1' });
  const bound = await zs.post('/api/v1/me/person', { name: '张三丰', id_number: ID1, region_code: S1_C1, address: '多福巷3号' });
  assert.equal(bound.status, 201, bound.text);

  const me = ctx.client(); // 钱多多 of test 6, signed in again
  const ml = await me.post('/api/v1/auth/sms/login', { phone: '13700002222', code: await freshCode(me, '13700002222') });
  assert.equal(ml.status, 200, ml.text);

  const bad = [
    [{ temperature: '36.5' }, 'invalid_type', 'temperature'],
    [{}, 'required', 'temperature'],
    [{ temperature: 45 }, 'out_of_range', 'temperature'],
    [{ temperature: 36.5, symptoms: ['headache'] }, 'invalid_value', 'symptoms[0]'],
    [{ temperature: 36.5, enterprise_id: 'x' }, 'invalid_value', 'enterprise_id'],
  ];
  for (const [body, code, field] of bad) expectError(await me.post('/api/v1/staff-clockins', body), 400, code, field);
  expectError(await entA.post('/api/v1/staff-clockins', { temperature: 36.5 }), 403, 'forbidden');
  assert.equal((await street1.post('/api/v1/staff-clockins', { temperature: 36.5 })).status, 403);
  let day = await entA.get('/api/v1/staff-clockins/today');
  assert.equal(day.body.clocked_in, 0, 'nothing written');

  // a fever: abnormal, the code colour recorded, an alert for the street
  let r = await me.post('/api/v1/staff-clockins', { temperature: 38.2, symptoms: ['cough', 'cough'] });
  assert.equal(r.status, 201, r.text);
  assert.equal(r.body.abnormal, true);
  assert.equal(r.body.code_colour, 'green');
  assert.deepEqual(r.body.symptoms, ['干咳']);
  expectError(await me.post('/api/v1/staff-clockins', { temperature: 36.5 }), 409, 'already_clocked_in');
  const alerts = (await street1.get('/api/v1/alerts?kind=clockin_abnormal')).body.items;
  assert.equal(alerts.length, 1);
  assert.match(alerts[0].message, /东华门精密机械有限公司员工钱\*多健康打卡异常：体温38\.2℃/);
  assert.equal((await street2.get('/api/v1/alerts?kind=clockin_abnormal')).body.items.length, 0);

  // positive control: a normal clock-in is not abnormal and raises nothing
  r = await zs.post('/api/v1/staff-clockins', { temperature: 36.4, enterprise_id: A.id });
  assert.equal(r.status, 201, r.text);
  assert.equal(r.body.abnormal, false);
  assert.equal((await street1.get('/api/v1/alerts?kind=clockin_abnormal')).body.items.length, 1);

  // the enterprise's day: who clocked in, who did not, the abnormal ones
  day = await entA.get('/api/v1/staff-clockins/today');
  assert.equal(day.status, 200, day.text);
  assert.deepEqual([day.body.employees, day.body.clocked_in, day.body.missing, day.body.abnormal], [2, 2, 0, 1]);
  const mine = day.body.items.find((x) => x.name === '钱*多');
  assert.equal(mine.clockin.temperature, 38.2);
  day = await entB.get('/api/v1/staff-clockins/today');
  assert.deepEqual([day.body.employees, day.body.clocked_in, day.body.missing], [1, 0, 1], 'B: the same person, not clocked in there');
  expectError(await entB.get(`/api/v1/staff-clockins/today?enterprise_id=${A.id}`), 404, 'not_found');
  assert.equal((await street1.get(`/api/v1/staff-clockins/today?enterprise_id=${A.id}`)).body.abnormal, 1);
  expectError(await street2.get(`/api/v1/staff-clockins/today?enterprise_id=${A.id}`), 404, 'not_found');
});

// The console's views (docs/enterprise.md "Console"): declarations filtered
// flagged / not flagged, one declaration's detail, the filtered list as
// CSV/xlsx; the enterprise's clock-ins of a chosen day.
test('console views: declarations filtered, detail, export; clock-ins of a day', async () => {
  const all = (await street1.get('/api/v1/return-declarations')).body.items;
  assert.equal(all.length, 2);
  assert.ok(all.every((d) => d.enterprise_name === '东华门精密机械有限公司'), 'the enterprise named');
  const flagged = (await street1.get('/api/v1/return-declarations?flagged=1')).body.items;
  const clean = (await street1.get('/api/v1/return-declarations?flagged=0')).body.items;
  assert.deepEqual([flagged.length, clean.length], [1, 1]);
  assert.deepEqual([flagged[0].flagged, clean[0].flagged], [true, false]);
  assert.notEqual(flagged[0].id, clean[0].id);

  // the detail: in reach for the enterprise and its street, 404 (audited) elsewhere
  let r = await entA.get(`/api/v1/return-declarations/${flagged[0].id}`);
  assert.equal(r.status, 200, r.text);
  assert.deepEqual([r.body.name, r.body.flagged, r.body.travel.length > 0, r.body.enterprise_name], ['钱*多', true, true, '东华门精密机械有限公司']);
  assert.ok(!r.text.includes('13700002222'), 'phone masked');
  assert.equal((await street1.get(`/api/v1/return-declarations/${clean[0].id}`)).body.school, '东城区第一中学');
  expectError(await entB.get(`/api/v1/return-declarations/${flagged[0].id}`), 404, 'not_found');
  expectError(await street2.get(`/api/v1/return-declarations/${flagged[0].id}`), 404, 'not_found');
  expectError(await street1.get('/api/v1/return-declarations/abc'), 404, 'not_found');
  expectError(await street1.get('/api/v1/return-declarations/123'), 404, 'not_found');
  const refused = await auditEntries(auditor, 'declaration.read');
  assert.ok(refused.some((e) => e.result === 'not_found'), 'the refused read audited');

  // the export: the filtered list, masked
  r = await street1.get('/api/v1/return-declarations?format=csv&flagged=1');
  assert.equal(r.status, 200, r.text);
  const lines = r.text.replace(/^\uFEFF/, '').trim().split(/\r?\n/);
  assert.equal(lines.length, 2, r.text);
  assert.ok(lines[0].startsWith('企业,姓名,身份证号码,性别,手机号码,籍贯,计划返岗日期'), lines[0]);
  assert.ok(lines[1].startsWith('东华门精密机械有限公司,钱*多,'), lines[1]);
  assert.ok(lines[1].includes('途经中高风险地区') && !lines[1].includes('13700002222'), lines[1]);
  r = await entA.get('/api/v1/return-declarations?format=xlsx');
  assert.equal(r.status, 200);
  assert.equal(r.headers.get('content-type').includes('spreadsheetml'), true, r.headers.get('content-type'));
  expectError(await street1.get('/api/v1/return-declarations?format=pdf'), 400, 'invalid_parameter', 'format');
  assert.equal((await street2.get('/api/v1/return-declarations?format=csv')).text.replace(/^\uFEFF/, '').trim().split(/\r?\n/).length, 1, 'header only');

  // clock-ins of a day: today's as on the phone, yesterday's empty, bad dates refused
  const today = (await entA.get('/api/v1/staff-clockins/today')).body;
  r = await entA.get(`/api/v1/staff-clockins?date=${today.date}`);
  assert.equal(r.status, 200, r.text);
  assert.deepEqual([r.body.date, r.body.employees, r.body.clocked_in, r.body.abnormal], [today.date, 2, 2, 1]);
  const y = new Date(Date.parse(today.date + 'T00:00:00+08:00') - 86400000 + 8 * 3600000).toISOString().slice(0, 10);
  r = await entA.get(`/api/v1/staff-clockins?date=${y}`);
  assert.equal(r.status, 200, r.text);
  assert.deepEqual([r.body.date, r.body.employees, r.body.clocked_in, r.body.missing], [y, 0, 0, 0], 'hired today: none yesterday');
  const tomorrow = new Date(Date.parse(today.date + 'T00:00:00+08:00') + 86400000 + 8 * 3600000).toISOString().slice(0, 10);
  for (const d of [tomorrow, '2026-02-30', 'yesterday']) expectError(await entA.get(`/api/v1/staff-clockins?date=${d}`), 400, 'invalid_parameter', 'date');
  expectError(await entB.get(`/api/v1/staff-clockins?date=${today.date}&enterprise_id=${A.id}`), 404, 'not_found');
  assert.equal((await street1.get(`/api/v1/staff-clockins?date=${today.date}&enterprise_id=${A.id}`)).body.abnormal, 1);
});
