// Enterprise staff on their phones and resume-work monitoring
// (docs/enterprise.md): the employee's own employment and today's clock-in,
// a clock-in with a non-green health code (flagged and alerted at the
// enterprise's street only), and the monitoring per street, per industry
// and drilled down to enterprises, with its CSV/xlsx export and scope. One
// server; the tests build on each other's data.
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { startCityWith, CITY_STAFF, creditCode, residentId, expectError, smsCode, sleep, waitForAudit } from './lib.mjs';

const PW = 'Enterprise-staff-2024!';
let ctx, cc, entA, entB, street1, street2, lead, gate, auditor;
let A, B, C; // the enterprises
const S1 = '110101001000'; // 东华门街道
const S1_C1 = '110101001001'; // 多福巷社区
const S2_C1 = '110101002001'; // 隆福寺社区, 景山街道
const ID1 = residentId('110101', '19870412', 41, false);
const ID2 = residentId('110101', '19790101', 42);
// today's China date: the day the clock-ins and planned returns count for
const TODAY = new Date(Date.now() + 8 * 3600e3).toISOString().slice(0, 10);

before(async () => {
  ctx = await startCityWith(
    {
      ...CITY_STAFF,
      ent_a: ['enterprise', S1_C1],
      ent_b: ['enterprise', S2_C1],
      street_1: ['street_staff', S1],
      street_2: ['street_staff', '110101002000'],
      lead: ['leader', '110101000000'],
    },
    PW,
    { env: { FK_SMS_RESEND: '1' } },
  );
  ({ cc_dc: cc, ent_a: entA, ent_b: entB, street_1: street1, street_2: street2, lead, gate_dc: gate, auditor } = ctx.as);
  const mk = async (name, region, n, industry) => {
    const r = await cc.post('/api/v1/enterprises', { name, credit_code: creditCode('91110101MA000010' + n), region_code: region, industry });
    assert.equal(r.status, 201, r.text);
    return r.body;
  };
  A = await mk('东华门精密机械有限公司', S1_C1, '1', '制造业');
  B = await mk('景山食品有限公司', S2_C1, '2', '食品加工');
  C = await mk('多福巷便民物流站', S1_C1, '3', '');
  for (const [u, e] of [[entA, A], [entB, B]]) {
    const r = await cc.post('/api/v1/enterprise-accounts', { user_id: u.id, enterprise_id: e.id });
    assert.equal(r.status, 200, r.text);
  }
});

after(async () => {
  if (process.env.FK_DEBUG) console.error(ctx?.stderr?.slice(-3000));
  await ctx?.stop();
});

// A resident signed in by SMS, consented and registered.
async function resident(phone, name, idNumber) {
  const c = ctx.client();
  assert.equal((await c.post('/api/v1/auth/sms/send', { phone })).status, 200);
  const r = await c.post('/api/v1/auth/sms/login', { phone, code: smsCode(ctx, phone) });
  assert.equal(r.status, 200, r.text);
  assert.equal((await c.post('/api/v1/me/consent', { version: 'v1' })).status, 200);
  const p = await c.post('/api/v1/me/person', { name, id_number: idNumber, region_code: S1_C1, address: '多福巷8号' });
  assert.equal(p.status, 201, p.text);
  c.personId = p.body.person.id;
  return c;
}

let emp;

test('my employment, and a clock-in with a red code: flagged, alerted in the right street', async () => {
  emp = await resident('13600001111', '李红', ID1);
  expectError(await emp.get('/api/v1/me/employment'), 404, 'not_employee');
  expectError(await entA.get('/api/v1/me/employment'), 403, 'forbidden');
  let r = await entA.post('/api/v1/employees', { id_number: ID1, name: '李红', department: '装配车间', post: '质检' });
  assert.equal(r.status, 201, r.text);
  r = await entA.post('/api/v1/employees', { id_number: ID2, name: '王强', phone: '13600002222', department: '装配车间' });
  assert.equal(r.status, 201, r.text);

  r = await emp.get('/api/v1/me/employment');
  assert.equal(r.status, 200, r.text);
  assert.equal(r.body.enterprise_name, A.name);
  assert.equal(r.body.name, '李*');
  assert.equal(r.body.department, '装配车间');
  assert.deepEqual([r.body.clocked_in, r.body.clockin], [false, null]);
  assert.equal(r.body.code_colour, 'green');

  // a home isolation turns her code red
  r = await cc.post(`/api/v1/persons/${emp.personId}/status`, { to: 'home_isolation', reason: '密接' });
  assert.equal(r.status, 200, r.text);
  assert.equal((await emp.get('/api/v1/me/code')).body.colour, 'red');

  // a normal temperature: abnormal all the same, the colour recorded
  r = await emp.post('/api/v1/staff-clockins', { temperature: 36.4, symptoms: [] });
  assert.equal(r.status, 201, r.text);
  assert.deepEqual([r.body.abnormal, r.body.code_colour], [true, 'red']);
  const alerts = (await street1.get('/api/v1/alerts?kind=clockin_abnormal')).body.items;
  assert.equal(alerts.length, 1);
  assert.match(alerts[0].message, /东华门精密机械有限公司员工李\*健康打卡异常：健康码非绿码$/);
  assert.doesNotMatch(alerts[0].message, /体温/);
  assert.equal((await street2.get('/api/v1/alerts?kind=clockin_abnormal')).body.items.length, 0);

  r = await emp.get('/api/v1/me/employment');
  assert.equal(r.body.clocked_in, true);
  assert.deepEqual([r.body.clockin.code_colour, r.body.clockin.abnormal, r.body.clockin.temperature], ['red', true, 36.4]);
  const day = (await entA.get('/api/v1/staff-clockins/today')).body;
  assert.deepEqual([day.employees, day.clocked_in, day.missing, day.abnormal], [2, 1, 1, 1]);
  expectError(await emp.post('/api/v1/staff-clockins', { temperature: 36.4 }), 409, 'already_clocked_in');
});

test('resume-work monitoring: per street, per industry, drilled down, exported, in scope', async () => {
  // 王强 declares (by the enterprise on his behalf) a return today; A resumes
  const phone = '13600002222';
  assert.equal((await entA.post('/api/v1/auth/sms/send', { phone })).status, 200);
  for (let i = 0; i < 100 && !smsCode(ctx, phone); i++) await sleep(20);
  const wang = (await entA.get('/api/v1/employees')).body.items.find((x) => x.name === '王*');
  let r = await entA.post('/api/v1/return-declarations', { employee_id: wang.id, phone, sms_code: smsCode(ctx, phone), return_date: TODAY, transport_kind: 'car' });
  assert.equal(r.status, 201, r.text);
  r = await entA.post('/api/v1/resume-applications', { plan: '分批到岗，每日打卡。', staff_count: 2, resume_date: TODAY });
  assert.equal(r.status, 201, r.text);
  assert.equal((await street1.post(`/api/v1/resume-applications/${r.body.id}/review`, { decision: 'approve' })).status, 200);

  // bad input, and who may look
  const bad = [
    ['by=town', 'by'], ['street=110101001001', 'street'], ['street=abc', 'street'],
    ['format=pdf', 'format'], [`industry=${'行'.repeat(51)}`, 'industry'],
  ];
  for (const [q, field] of bad) expectError(await cc.get(`/api/v1/resume-monitor?${encodeURI(q)}`), 400, 'invalid_parameter', field);
  assert.equal((await entA.get('/api/v1/resume-monitor')).status, 403);
  assert.equal((await emp.get('/api/v1/resume-monitor')).status, 403);

  // the street's own figures
  r = await street1.get('/api/v1/resume-monitor');
  assert.equal(r.status, 200, r.text);
  assert.equal(r.body.by, 'street');
  assert.equal(r.body.date, TODAY);
  assert.deepEqual(r.body.items.map((x) => [x.region_code, x.region_name]), [[S1, '东华门街道']]);
  const s1 = r.body.items[0];
  assert.deepEqual([s1.enterprises, s1.resumed, s1.staff, s1.returned, s1.clocked_in, s1.abnormal], [2, 1, 2, 1, 1, 1]);
  assert.deepEqual([s1.resume_rate, s1.clockin_rate], [50, 50]);

  // the district: both streets, totals over them; a street without staff has no rate
  r = await cc.get('/api/v1/resume-monitor');
  assert.deepEqual(r.body.items.map((x) => x.region_name), ['东华门街道', '景山街道']);
  const s2 = r.body.items[1];
  assert.deepEqual([s2.enterprises, s2.resumed, s2.staff, s2.clockin_rate], [1, 0, 0, null]);
  assert.deepEqual([r.body.total.enterprises, r.body.total.staff, r.body.total.abnormal], [3, 2, 1]);
  assert.equal((await lead.get('/api/v1/resume-monitor')).body.total.enterprises, 3);
  // the workbench: today's abnormal clock-ins of the scope (李红), none in the other street
  const wb = async (c) => (await c.get('/api/v1/workbench')).body.entries.find((x) => x.key === 'clockin_abnormal_today');
  assert.deepEqual([(await wb(street1)).count, (await wb(street2)).count], [1, 0]);
  assert.equal(await wb(entA), undefined);

  // per industry, the missing one named
  r = await cc.get('/api/v1/resume-monitor?by=industry');
  assert.deepEqual(r.body.items.map((x) => [x.industry_label, x.enterprises]), [['未填写行业', 1], ['制造业', 1], ['食品加工', 1]]);

  // drill-down: a street's enterprises, an industry's
  r = await cc.get(`/api/v1/resume-monitor?street=${S1}`);
  assert.equal(r.body.by, 'enterprise');
  assert.deepEqual(r.body.items.map((x) => [x.name, x.status_label, x.staff, x.region_name]).sort(), [
    ['东华门精密机械有限公司', '已复工', 2, '东华门街道'], ['多福巷便民物流站', '未申请', 0, '东华门街道'],
  ].sort());
  r = await cc.get(`/api/v1/resume-monitor?industry=${encodeURIComponent('制造业')}`);
  assert.deepEqual(r.body.items.map((x) => x.id), [A.id]);
  // scope: another street's drill-down is empty, not theirs
  r = await street2.get(`/api/v1/resume-monitor?street=${S1}`);
  assert.deepEqual([r.status, r.body.items.length, r.body.total.enterprises], [200, 0, 0]);
  r = await street2.get('/api/v1/resume-monitor?by=enterprise');
  assert.deepEqual(r.body.items.map((x) => x.id), [B.id]);

  // exports: CSV with a totals row, xlsx a workbook
  r = await cc.get('/api/v1/resume-monitor?format=csv');
  assert.equal(r.status, 200);
  const lines = r.text.replace(/^\uFEFF/, '').trim().split(/\r?\n/);
  assert.equal(lines[0], '街道,企业数,已复工,员工数,已返岗,今日打卡,打卡率（%）,今日异常');
  assert.equal(lines[1], '东华门街道,2,1,2,1,1,50.0,1');
  assert.equal(lines[2], '景山街道,1,0,0,0,0,,0');
  assert.equal(lines[3], '合计,3,1,2,1,1,50.0,1');
  r = await cc.get(`/api/v1/resume-monitor?street=${S1}&format=xlsx`);
  assert.equal(r.status, 200);
  assert.match(r.headers.get('content-type'), /spreadsheetml/);
  assert.equal(r.text.slice(0, 2), 'PK');
  assert.ok(C.id);
});

// "HH:MM" of China time now plus `min` minutes, wrapped to the day.
const hhmm = (min) => {
  const t = new Date(Date.now() + 8 * 3600e3);
  const m = (((t.getUTCHours() * 60 + t.getUTCMinutes() + min) % 1440) + 1440) % 1440;
  return `${String(Math.floor(m / 60)).padStart(2, '0')}:${String(m % 60).padStart(2, '0')}`;
};
const nowMin = () => { const t = new Date(Date.now() + 8 * 3600e3); return t.getUTCHours() * 60 + t.getUTCMinutes(); };

test('shifts, rosters and the pass: on shift and green that day, verified at the gate', async () => {
  // shifts: bad input first, nothing written
  const bad = [
    [{ start: '08:00', end: '17:00' }, 400, 'required', 'name'],
    [{ name: '早班', start: '8:00', end: '17:00' }, 400, 'invalid_value', 'start'],
    [{ name: '早班', start: '08:00', end: '24:00' }, 400, 'invalid_value', 'end'],
    [{ name: '早班', start: '08:00', end: '08:00' }, 400, 'invalid_value', 'end'],
    [{ name: '班'.repeat(21), start: '08:00', end: '17:00' }, 400, 'too_long', 'name'],
  ];
  for (const [body, st, code, field] of bad) expectError(await entA.post('/api/v1/enterprise-shifts', body), st, code, field);
  assert.deepEqual((await entA.get('/api/v1/enterprise-shifts')).body.items, []);
  // the shift running now (from 30 min ago, or midnight, for two hours) and one later on
  const start = nowMin() >= 30 ? hhmm(-30) : '00:00';
  let r = await entA.post('/api/v1/enterprise-shifts', { name: '当前班', start, end: hhmm(120) });
  assert.equal(r.status, 201, r.text);
  const cur = r.body;
  r = await entA.post('/api/v1/enterprise-shifts', { name: '晚些班', start: hhmm(240), end: hhmm(300) });
  assert.equal(r.status, 201, r.text);
  const later = r.body;
  expectError(await entA.post('/api/v1/enterprise-shifts', { name: '当前班', start: '08:00', end: '09:00' }), 409, 'duplicate_shift', 'name');
  assert.equal((await entA.get('/api/v1/enterprise-shifts')).body.items.length, 2);
  // another enterprise's shifts: refused like unknown, audited
  assert.equal((await entB.get(`/api/v1/enterprise-shifts?enterprise_id=${A.id}`)).status, 404);
  const refusals = await waitForAudit(auditor, `action=shift.list&object_id=${A.id}`, (x) => x.result === 'not_found');
  assert.ok(refusals.some((x) => x.result === 'not_found'), JSON.stringify(refusals));

  // a third employee, with an account: 周明
  const zhou = await resident('13600003333', '周明', residentId('110101', '19950505', 43));
  r = await entA.post('/api/v1/employees', { id_number: residentId('110101', '19950505', 43), name: '周明', department: '仓储' });
  assert.equal(r.status, 201, r.text);
  const zhouEmp = r.body.id;
  const li = (await entA.get('/api/v1/employees')).body.items.find((x) => x.name === '李*');
  const other = (await entB.post('/api/v1/employees', { id_number: residentId('110101', '19991111', 44), name: '赵六' })).body;

  // rosters: bad input
  const badRoster = [
    [{ date: 'x', shift_id: cur.id, employee_ids: [zhouEmp] }, 400, 'invalid_date', 'date'],
    [{ date: TODAY, shift_id: cur.id, employee_ids: [] }, 400, 'required', 'employee_ids'],
    [{ date: TODAY, shift_id: cur.id, employee_ids: ['x'] }, 400, 'invalid_value', 'employee_ids[0]'],
    [{ date: TODAY, shift_id: cur.id, employee_ids: [zhouEmp, other.id] }, 400, 'not_employee', 'employee_ids[1]'],
    [{ date: TODAY, shift_id: '123', employee_ids: [zhouEmp] }, 404, 'shift_not_found', 'shift_id'],
  ];
  for (const [body, st, code, field] of badRoster) expectError(await entA.post('/api/v1/enterprise-rosters', body), st, code, field);
  assert.ok((await entA.get('/api/v1/enterprise-rosters')).body.items.every((x) => x.roster === null), 'nothing written');

  // no shift today, then a shift later on, then the one running now without a clock-in
  expectError(await zhou.get('/api/v1/me/staff-pass'), 409, 'not_on_shift');
  assert.equal((await entA.post('/api/v1/enterprise-rosters', { date: TODAY, shift_id: later.id, employee_ids: [zhouEmp] })).status, 200);
  expectError(await zhou.get('/api/v1/me/staff-pass'), 409, 'off_shift_hours');
  r = await entA.post('/api/v1/enterprise-rosters', { date: TODAY, shift_id: cur.id, employee_ids: [zhouEmp, li.id] });
  assert.deepEqual([r.status, r.body.assigned], [200, 2]);
  expectError(await zhou.get('/api/v1/me/staff-pass'), 409, 'pass_not_clocked_in');
  const roster = (await entA.get(`/api/v1/enterprise-rosters?date=${TODAY}`)).body.items;
  assert.equal(roster.find((x) => x.id === zhouEmp).roster.name, '当前班');
  // 李红: her clock-in today was abnormal (a red code)
  expectError(await emp.get('/api/v1/me/staff-pass'), 409, 'clockin_abnormal');

  // 周明 clocks in green: his pass
  assert.equal((await zhou.post('/api/v1/staff-clockins', { temperature: 36.5 })).status, 201);
  r = await zhou.get('/api/v1/me/staff-pass');
  assert.equal(r.status, 200, r.text);
  assert.match(r.body.token, /^FK1\./);
  assert.deepEqual([r.body.shift.name, r.body.enterprise_name, r.body.name], ['当前班', A.name, '周*']);
  assert.ok(r.body.expires_at > Date.now());
  const token = r.body.token;

  // the gate: the enterprise and the district's checkpoint accept it; another enterprise cannot see it
  for (const g of [entA, gate]) {
    r = await g.post('/api/v1/staff-passes/verify', { token });
    assert.equal(r.status, 200, r.text);
    assert.deepEqual([r.body.valid, r.body.reason, r.body.shift.name, r.body.name], [true, null, '当前班', '周*']);
  }
  assert.equal((await entB.post('/api/v1/staff-passes/verify', { token })).status, 404);
  assert.equal((await street1.post('/api/v1/staff-passes/verify', { token })).status, 403);
  // forged, of another kind, malformed: the token's own codes
  const forged = token.slice(0, -2) + (token.endsWith('AA') ? 'BB' : 'AA');
  expectError(await entA.post('/api/v1/staff-passes/verify', { token: forged }), 400, 'token_forged', 'token');
  const health = (await zhou.get('/api/v1/me/code/token')).body.token;
  expectError(await entA.post('/api/v1/staff-passes/verify', { token: health }), 400, 'token_wrong_kind', 'token');
  expectError(await entA.post('/api/v1/staff-passes/verify', { token: 'abc' }), 400, 'token_malformed', 'token');
  expectError(await entA.post('/api/v1/staff-passes/verify', {}), 400, 'required', 'token');

  // his code turns red: the same pass is refused at the gate, no new one
  r = await cc.post(`/api/v1/persons/${zhou.personId}/status`, { to: 'home_isolation', reason: '密接' });
  assert.equal(r.status, 200, r.text);
  r = await entA.post('/api/v1/staff-passes/verify', { token });
  assert.deepEqual([r.status, r.body.valid, r.body.reason, r.body.reason_label], [200, false, 'code_not_green', '健康码非绿码']);
  expectError(await zhou.get('/api/v1/me/staff-pass'), 409, 'code_not_green');

  // retiring the later shift; taking 李红 off today's
  assert.equal((await entA.del(`/api/v1/enterprise-shifts/${later.id}`)).status, 204);
  assert.equal((await entA.del(`/api/v1/enterprise-shifts/${later.id}`)).status, 404);
  assert.deepEqual((await entA.get('/api/v1/enterprise-shifts')).body.items.map((x) => x.name), ['当前班']);
  assert.equal((await entA.post('/api/v1/enterprise-rosters', { date: TODAY, shift_id: null, employee_ids: [li.id] })).status, 200);
  expectError(await emp.get('/api/v1/me/staff-pass'), 409, 'not_on_shift');
});
