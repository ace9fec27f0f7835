// Checks (issue 9, docs/cases.md "Checks"): a doctor's normal and abnormal
// checks (alert, urgent task, timeline), self-checks by an observed
// resident and the refusal of one who is not, the sweep (a due check task,
// one missed-check alert per period, one alert per unanswered message),
// three abnormal checks -> a transfer task whose decision ends the
// observation and starts a hospital one, the follow-up after discharge,
// messages, the check rules, bad input (nothing written), scope (404) and
// the audit entries.
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { residentId, expectError, auditEntries, startCityWith, sqlRun, smsCode, waitForAudit } from './lib.mjs';

const PW = 'Passw0rd!checks';
const COMMUNITY = '110101001001'; // 多福巷社区
const OTHER_STREET = '110101002001'; // 隆福寺社区, 景山街道
const H = 3600e3;
let ctx, cc, cs, doc, docOther, auditor;

let seq = 0;
const rid = () => residentId('110101', '19800303', 600 + ++seq * 2);

async function ok(p, status = 200) {
  const r = await p;
  assert.equal(r.status, status, r.text);
  return r.body;
}

async function person(region = COMMUNITY) {
  return (await ok(cc.post('/api/v1/persons', { name: '孙悟空', id_number: rid(), region_code: region }), 201)).id;
}

async function observe(personId, over = {}) {
  return ok(cs.post('/api/v1/observations', { person_id: personId, kind: 'home_isolation', source: 'grid_patrol', ...over }), 201);
}

const count = (sql) => Number(sqlRun(ctx, sql).trim());
const sweep = () => ctx.must(['check', 'sweep']);
const alertsOf = async (kind, obsId) => {
  const r = await cc.get(`/api/v1/alerts?kind=${kind}&page_size=200`);
  assert.equal(r.status, 200, r.text);
  return r.body.items.filter((a) => a.detail.observation_id === obsId);
};
const tasksOf = async (kind, obsId) => {
  const r = await cc.get(`/api/v1/tasks?kind=${kind}&page_size=100`);
  assert.equal(r.status, 200, r.text);
  return r.body.items.filter((t) => t.subject_id === obsId);
};

let phoneSeq = 0;
async function resident(register = true) {
  const phone = '1365000' + String(1000 + ++phoneSeq).padStart(4, '0');
  const c = ctx.client();
  await ok(c.post('/api/v1/auth/sms/send', { phone }));
  await ok(c.post('/api/v1/auth/sms/login', { phone, code: smsCode(ctx, phone) }));
  if (register) {
    await ok(c.post('/api/v1/me/consent', { version: 'v1' }));
    c.personId = (await ok(c.post('/api/v1/me/person', { name: '猪八戒', id_number: rid(), region_code: COMMUNITY, address: '多福巷5号' }), 201)).person.id;
  }
  return c;
}

before(async () => {
  ctx = await startCityWith(
    {
      k_cc: ['command_center', '110101000000'],
      k_cs: ['community_staff', COMMUNITY],
      k_doc: ['doctor', COMMUNITY],
      k_doc_other: ['doctor', OTHER_STREET],
      k_auditor: ['audit_admin', '110000000000'],
    },
    PW,
    // the sweep runs when a test says so (the CLI), not on the server's clock
    { env: { FK_CHECK_SWEEP: '0', FK_MESSAGE_ESCALATE: '1' } },
  );
  ({ k_cc: cc, k_cs: cs, k_doc: doc, k_doc_other: docOther, k_auditor: auditor } = ctx.as);
});
after(async () => { if (process.env.FK_DEBUG_LOG) console.log(ctx?.stderr?.slice(-3000)); await ctx?.stop(); });

test('a normal doctor check: recorded, masked, listed with region names, audited; no alert', async () => {
  const o = await observe(await person());
  const c = await ok(doc.post(`/api/v1/observations/${o.id}/checks`, { symptoms: [], temperature: 36.6, description: '精神良好，居家隔离措施落实到位', lat: 39.91, lng: 116.4 }), 201);
  assert.equal(c.abnormal, false);
  assert.equal(c.by, 'doctor');
  assert.equal(c.temperature, 36.6);
  assert.equal(c.person_name, '孙*空');
  assert.equal(c.region_name, '多福巷社区');
  assert.notEqual(c.description, '精神良好，居家隔离措施落实到位', 'texts leave masked');
  const raw = sqlRun(ctx, `SELECT description_enc FROM checks WHERE id = ${c.id}`);
  assert.ok(!raw.includes('精神良好'), 'sealed at rest');
  const list = await ok(cs.get(`/api/v1/observations/${o.id}/checks`));
  assert.equal(list.total, 1);
  assert.equal(list.items[0].id, c.id);
  assert.deepEqual(await alertsOf('check_abnormal', o.id), []);
  const csv = await cs.get('/api/v1/checks?format=csv');
  assert.equal(csv.status, 200);
  const a = await waitForAudit(auditor, `action=check.create&object_id=${o.id}`, () => true);
  assert.equal(a[0].result, 'ok');
});

test('an abnormal check raises a check_abnormal alert and one urgent check task for the doctors', async () => {
  const o = await observe(await person());
  const c = await ok(doc.post(`/api/v1/observations/${o.id}/checks`, { symptoms: ['cough'], temperature: 37.8 }), 201);
  assert.equal(c.abnormal, true);
  assert.deepEqual(c.symptom_labels, ['咳嗽']);
  const al = await alertsOf('check_abnormal', o.id);
  assert.equal(al.length, 1);
  assert.equal(al[0].kind_label, '体征异常');
  assert.equal(al[0].level, 'critical');
  assert.match(al[0].message, /孙\*空.*37\.8/);
  assert.ok(al[0].region_code.startsWith('110101001'), al[0].region_code);
  const t = await tasksOf('check', o.id);
  assert.equal(t.length, 1);
  assert.equal(t[0].priority, 'urgent');
  assert.equal(t[0].assignee_role, 'doctor');
  const mine = await ok(doc.get('/api/v1/me/tasks?page_size=100'));
  assert.ok(mine.items.some((x) => x.id === t[0].id), 'the community doctor sees it');
  // a second abnormal check: another alert, but never a second open task
  await ok(doc.post(`/api/v1/observations/${o.id}/checks`, { symptoms: ['fatigue'], temperature: 36.9 }), 201);
  assert.equal((await alertsOf('check_abnormal', o.id)).length, 2);
  assert.equal((await tasksOf('check', o.id)).length, 1);
  // the doctor completes the task with the same check form
  await ok(doc.post(`/api/v1/tasks/${t[0].id}/accept`));
  expectError(await doc.post(`/api/v1/tasks/${t[0].id}/complete`, { result: { temperature: 99 } }), 400, 'out_of_range', 'temperature');
  const done = await ok(doc.post(`/api/v1/tasks/${t[0].id}/complete`, { result: { symptoms: [], temperature: 36.5, description: '复查正常' } }));
  assert.equal(done.state, 'done');
  const checks = await ok(cs.get(`/api/v1/observations/${o.id}/checks`));
  assert.equal(checks.total, 3);
  assert.equal(checks.items[0].task_id, t[0].id);
  const tl = await ok(cs.get(`/api/v1/persons/${o.person_id}/timeline?page_size=100`));
  assert.ok(tl.items.filter((e) => e.action === 'check').length >= 3, 'timeline steps');
  // a new abnormal check opens a task again; a confirmed case ends the observation and its task
  await ok(doc.post(`/api/v1/observations/${o.id}/checks`, { symptoms: ['cough'], temperature: 38.1 }), 201);
  const again = (await tasksOf('check', o.id)).filter((x) => x.state === 'pending');
  assert.equal(again.length, 1);
  await ok(cs.post(`/api/v1/persons/${o.person_id}/status`, { to: 'suspected', reason: '核酸阳性' }));
  await ok(cs.post(`/api/v1/persons/${o.person_id}/status`, { to: 'confirmed', reason: '核酸阳性', severity: 'mild', infection_route: 'cluster' }));
  const after = await tasksOf('check', o.id);
  assert.equal(after.find((x) => x.id === again[0].id).state, 'cancelled', JSON.stringify(after));
  assert.ok(!(await ok(doc.get('/api/v1/me/tasks?page_size=100'))).items.some((x) => x.id === again[0].id), 'gone from the doctor\'s list');
});

test('three abnormal checks propose a transfer; the decision ends the observation and starts a hospital one', async () => {
  const o = await observe(await person());
  for (const t of [37.5, 37.6, 37.7]) await ok(doc.post(`/api/v1/observations/${o.id}/checks`, { symptoms: [], temperature: t }), 201);
  const tr = await tasksOf('transfer', o.id);
  assert.equal(tr.length, 1, 'one transfer proposal');
  assert.equal(tr[0].kind_label, '转送定点医院建议');
  assert.equal(tr[0].assignee_role, 'community_staff');
  assert.equal(tr[0].detail.reason, 'abnormal_limit');
  await ok(cs.post(`/api/v1/tasks/${tr[0].id}/accept`));
  expectError(await cs.post(`/api/v1/tasks/${tr[0].id}/complete`, { result: { decision: 'transfer', reason: '持续发热' } }), 400, 'required', 'hospital');
  expectError(await cs.post(`/api/v1/tasks/${tr[0].id}/complete`, { result: { decision: 'maybe', reason: 'x' } }), 400, 'invalid_value', 'decision');
  assert.equal((await ok(cs.get(`/api/v1/observations/${o.id}`))).state, 'active', 'refusals changed nothing');
  await ok(cs.post(`/api/v1/tasks/${tr[0].id}/complete`, { result: { decision: 'transfer', hospital: '地坛医院', handover: '张医生', reason: '持续发热，转定点医院' } }));
  assert.equal((await ok(cs.get(`/api/v1/observations/${o.id}`))).state, 'transferred');
  const now = await ok(cs.get(`/api/v1/observations?state=active&page_size=100`));
  const h = now.items.find((x) => x.person_id === o.person_id);
  assert.ok(h, 'a new observation');
  assert.equal(h.kind, 'hospital');
  assert.equal(h.hospital, '地坛医院');
  const tl = await ok(cs.get(`/api/v1/persons/${o.person_id}/timeline?page_size=100`));
  assert.ok(tl.items.some((e) => e.action === 'transfer_proposed'));
  assert.ok(tl.items.some((e) => e.action === 'transfer_decided'));
  // the hospital stay ends: follow-up tasks at 7 and 14 days
  await ok(cs.post(`/api/v1/observations/${h.id}/end`, { how: 'released', reason: '治愈出院' }));
  const fu = await tasksOf('follow_up', h.id);
  assert.equal(fu.length, 2);
  const days = fu.map((t) => t.detail.day).sort((a, b) => a - b);
  assert.deepEqual(days, [7, 14]);
  // a follow-up is completed with the check form although the stay has ended
  await ok(doc.post(`/api/v1/tasks/${fu[0].id}/accept`));
  await ok(doc.post(`/api/v1/tasks/${fu[0].id}/complete`, { result: { symptoms: [], temperature: 36.4 } }));
});

test('a fever of threshold + 1 °C proposes a transfer at once', async () => {
  const o = await observe(await person());
  await ok(doc.post(`/api/v1/observations/${o.id}/checks`, { temperature: 38.5 }), 201);
  const tr = await tasksOf('transfer', o.id);
  assert.equal(tr.length, 1);
  assert.equal(tr[0].detail.reason, 'high_fever');
  await ok(cs.post(`/api/v1/tasks/${tr[0].id}/accept`));
  await ok(cs.post(`/api/v1/tasks/${tr[0].id}/complete`, { result: { decision: 'keep', reason: '退热，继续居家观察' } }));
  assert.equal((await ok(cs.get(`/api/v1/observations/${o.id}`))).state, 'active');
});

test('a cured patient gets the follow-up tasks once', async () => {
  const id = await person();
  const o = await observe(id);
  await ok(cs.post(`/api/v1/persons/${id}/status`, { to: 'confirmed', severity: 'mild', infection_route: 'local', reason: '核酸检测阳性' }));
  await ok(cs.post(`/api/v1/persons/${id}/status`, { to: 'cured', reason: '治愈出院' }));
  const fu = await tasksOf('follow_up', o.id);
  assert.equal(fu.length, 2, 'days 7 and 14 of the hospital rule');
  assert.ok(fu.every((t) => t.assignee_role === 'doctor' && t.kind_label === '出院随访'));
  const d7 = fu.find((t) => t.detail.day === 7);
  assert.ok(Math.abs(d7.deadline - (Date.now() + 7 * 24 * H)) < 60e3, 'due 7 days after discharge');
});

test('self-checks: an observed resident checks and reads them; one not on the list is refused', async () => {
  const me = await resident();
  const o = await observe(me.personId);
  const page = await ok(me.get('/api/v1/me/observation'));
  assert.equal(page.observed, true);
  assert.equal(page.kind_label, '居家隔离');
  assert.equal(page.every_hours, 12);
  assert.ok(page.next_check_due > Date.now());
  assert.equal(page.days_left, 14);
  const c = await ok(me.post('/api/v1/me/self-checks', { symptoms: [], temperature: 36.5, lat: 39.9, lng: 116.4, door_no: '5号院3单元201', description: '无不适' }), 201);
  assert.equal(c.by, 'self');
  assert.equal(c.door_no, '5号院3单元201', 'the resident reads their own plainly');
  const mine = await ok(me.get('/api/v1/me/self-checks'));
  assert.equal(mine.total, 1);
  const staff = await ok(cs.get(`/api/v1/checks?by=self&page_size=100`));
  const row = staff.items.find((x) => x.id === c.id);
  assert.ok(row && row.door_no !== '5号院3单元201', 'staff see it masked');
  // not on the list
  const other = await resident();
  const before = count('SELECT COUNT(*) FROM checks');
  expectError(await other.post('/api/v1/me/self-checks', { symptoms: [], temperature: 36.5 }), 409, 'not_observed');
  assert.equal((await ok(other.get('/api/v1/me/observation'))).observed, false);
  assert.equal(count('SELECT COUNT(*) FROM checks'), before);
  // staff are no residents
  expectError(await cs.post('/api/v1/me/self-checks', { symptoms: [], temperature: 36.5 }), 403, 'forbidden');
  await waitForAudit(auditor, `action=self_check.create&object_id=${o.id}`, () => true);
});

test('the sweep: a due check task once, one missed-check alert per missed period', async () => {
  const o = await observe(await person(), { start_at: Date.now() - 15 * H });
  sweep();
  sweep();
  assert.equal((await tasksOf('check', o.id)).length, 1, 'one open check task');
  const missed = await alertsOf('check_missed', o.id);
  assert.equal(missed.length, 1, 'exactly one alert for the missed period');
  assert.equal(missed[0].kind_label, '未按时核查');
  // the clock moves on 13 hours without a check: the next period is missed, one more alert
  sqlRun(ctx, `UPDATE observations SET start_at = start_at - ${13 * H} WHERE id = ${o.id}`);
  sweep();
  sweep();
  assert.equal((await alertsOf('check_missed', o.id)).length, 2);
  // a check resets the clock: nothing more is missed
  await ok(doc.post(`/api/v1/observations/${o.id}/checks`, { symptoms: [], temperature: 36.5 }), 201);
  sweep();
  assert.equal((await alertsOf('check_missed', o.id)).length, 2);
});

test('messages: the resident writes, the sweep escalates once, the doctor answers', async () => {
  const me = await resident();
  const o = await observe(me.personId);
  const m = await ok(me.post('/api/v1/me/messages', { text: '医生您好，我今天有点头痛' }), 201);
  assert.equal(m.items.length, 1);
  assert.equal(m.items[0].from, 'person');
  const raw = sqlRun(ctx, `SELECT text_enc FROM check_messages WHERE observation_id = ${o.id}`);
  assert.ok(!raw.includes('头痛'), 'sealed at rest');
  sweep();
  assert.equal((await alertsOf('message_unanswered', o.id)).length, 0, 'not yet late');
  sqlRun(ctx, `UPDATE check_messages SET at = at - 120000 WHERE observation_id = ${o.id}`);
  sweep();
  sweep();
  const al = await alertsOf('message_unanswered', o.id);
  assert.equal(al.length, 1, 'one alert');
  assert.equal(al[0].kind_label, '隔离人员留言未回复');
  const seen = await ok(doc.get(`/api/v1/observations/${o.id}/messages`));
  assert.equal(seen.items[0].text, '医生您好，我今天有点头痛');
  const ans = await ok(doc.post(`/api/v1/observations/${o.id}/messages`, { text: '请测量体温后再告诉我' }), 201);
  assert.equal(ans.items.length, 2);
  assert.ok(ans.items[0].answered_at, 'the earlier message is answered');
  assert.equal((await ok(me.get('/api/v1/me/messages'))).items[1].from, 'staff');
  expectError(await me.post('/api/v1/me/messages', { text: '' }), 400, 'required', 'text');
  expectError(await docOther.get(`/api/v1/observations/${o.id}/messages`), 404, 'not_found');
  expectError(await cs.post(`/api/v1/observations/${o.id}/messages`, { text: 'x' }), 403, 'forbidden');
});

test('bad input and scope: nothing is written', async () => {
  const o = await observe(await person());
  const url = `/api/v1/observations/${o.id}/checks`;
  const before = count('SELECT COUNT(*) FROM checks');
  expectError(await doc.post(url, { symptoms: [], temperature: 45 }), 400, 'out_of_range', 'temperature');
  expectError(await doc.post(url, { symptoms: [], temperature: 33.9 }), 400, 'out_of_range', 'temperature');
  expectError(await doc.post(url, { symptoms: ['sneeze'], temperature: 36.5 }), 400, 'invalid_value', 'symptoms[0]');
  expectError(await doc.post(url, { symptoms: [], temperature: 36.5, description: '长'.repeat(501) }), 400, 'too_long', 'description');
  expectError(await doc.post(url, { symptoms: [], temperature: 36.5, lat: 39.9 }), 400, 'invalid_position', 'lng');
  expectError(await doc.post(url, { symptoms: [] }), 400, 'required', 'temperature');
  // someone else's upload
  const me = await resident(false);
  const JPEG = Buffer.from([0xff, 0xd8, 0xff, 0xe0, 0, 16, 0x4a, 0x46, 0x49, 0x46, 0, 1, ...Buffer.alloc(64, 0x5a)]);
  const up = await ok(me.post('/api/v1/attachments', JPEG, { 'content-type': 'image/jpeg' }), 201);
  expectError(await doc.post(url, { symptoms: [], temperature: 36.5, attachments: [up.id] }), 400, 'invalid_attachment', 'attachments[0]');
  // another street's doctor: 404
  expectError(await docOther.post(url, { symptoms: [], temperature: 36.5 }), 404, 'not_found');
  expectError(await docOther.get(url), 404, 'not_found');
  // a person not on the list (the observation has ended)
  await ok(cs.post(`/api/v1/observations/${o.id}/end`, { how: 'released', reason: '期满解除' }));
  expectError(await doc.post(url, { symptoms: [], temperature: 36.5 }), 409, 'observation_closed');
  assert.equal(count('SELECT COUNT(*) FROM checks'), before, 'nothing written');
  const refused = await waitForAudit(auditor, `action=check.create&object_id=${o.id}`, (x) => x.result === 'observation_closed');
  assert.ok(refused.some((x) => x.result === 'not_found'), 'the scope refusal is audited (input errors are not: audit_refusal)');
  expectError(await cs.get('/api/v1/checks?abnormal=maybe'), 400, 'invalid_parameter', 'abnormal');
  expectError(await cs.get('/api/v1/checks?by=robot'), 400, 'invalid_parameter', 'by');
});

test('a doctor check with the doctor\'s own photo: claimed by the check and listed', async () => {
  const o = await observe(await person());
  const JPEG = Buffer.from([0xff, 0xd8, 0xff, 0xe0, 0, 16, 0x4a, 0x46, 0x49, 0x46, 0, 1, ...Buffer.alloc(64, 0x5a)]);
  const up = await ok(doc.post('/api/v1/attachments', JPEG, { 'content-type': 'image/jpeg' }), 201);
  const c = await ok(doc.post(`/api/v1/observations/${o.id}/checks`, { symptoms: [], temperature: 36.5, attachments: [up.id] }), 201);
  assert.equal(c.attachments.length, 1);
  assert.equal(c.attachments[0].id, up.id);
});

test('check rules: read, changed by the rules holder (audited), refused to others and for bad values', async () => {
  const r = await ok(cs.get('/api/v1/check-rules'));
  const home = r.rules.find((x) => x.kind === 'home_isolation');
  assert.equal(home.every_hours, 12);
  assert.equal(home.fever_threshold, 37.3);
  assert.equal(home.abnormal_limit, 3);
  assert.equal(r.rules.find((x) => x.kind === 'hospital').every_hours, 0);
  expectError(await cs.put('/api/v1/check-rules', { rules: [{ kind: 'central', every_hours: 8 }] }), 403, 'forbidden');
  expectError(await cc.put('/api/v1/check-rules', { rules: [{ kind: 'central', every_hours: 8, symptoms: ['sneeze'] }] }), 400, 'invalid_value', 'symptoms');
  expectError(await cc.put('/api/v1/check-rules', { rules: [{ kind: 'central', every_hours: 200 }] }), 400, 'out_of_range', 'every_hours');
  expectError(await cc.put('/api/v1/check-rules', { rules: [{ kind: 'central', every_hours: 8, fever_threshold: 42 }] }), 400, 'out_of_range', 'fever_threshold');
  assert.equal((await ok(cs.get('/api/v1/check-rules'))).rules.find((x) => x.kind === 'central').every_hours, 12, 'unchanged');
  const saved = await ok(cc.put('/api/v1/check-rules', { rules: [{ kind: 'central', every_hours: 8, abnormal_limit: 2, follow_up_days: [3] }] }));
  const central = saved.rules.find((x) => x.kind === 'central');
  assert.equal(central.every_hours, 8);
  assert.equal(central.abnormal_limit, 2);
  assert.deepEqual(central.follow_up_days, [3]);
  const a = await waitForAudit(auditor, 'action=check_rule.update', (x) => x.result === 'ok');
  assert.ok(a.length >= 1);
});

test('counters: checks, abnormal checks and missed periods agree with a recount', async () => {
  const n = (m) => Number(sqlRun(ctx, `SELECT COALESCE(SUM(n), 0) FROM counters WHERE measure = '${m}' AND day = 0`).trim());
  assert.equal(n('check.new'), count('SELECT COUNT(*) FROM checks'));
  assert.equal(n('check.abnormal.new'), count('SELECT COUNT(*) FROM checks WHERE abnormal = 1'));
  assert.ok(n('check.abnormal.new') > 0);
  assert.equal(n('check.missed.new'), count('SELECT COUNT(*) FROM check_missed'));
  assert.ok(n('check.missed.new') >= 2);
  const r = ctx.fk(['stats', 'verify']);
  assert.equal(r.status, 0, r.stdout + r.stderr);
});

test("the server's own sweep thread (FK_CHECK_SWEEP) raises the missed-check alert once", async () => {
  const s = await startCityWith(
    { t_cc: ['command_center', '110101000000'], t_cs: ['community_staff', COMMUNITY] },
    PW,
    { env: { FK_CHECK_SWEEP: '1' } },
  );
  try {
    const { t_cc: c2, t_cs: cs2 } = s.as;
    const p = (await ok(c2.post('/api/v1/persons', { name: '沙和尚', id_number: rid(), region_code: COMMUNITY }), 201)).id;
    const o = await ok(cs2.post('/api/v1/observations', { person_id: p, kind: 'home_observation', source: 'grid_patrol', start_at: Date.now() - 15 * H }), 201);
    const missed = async () => (await ok(c2.get('/api/v1/alerts?kind=check_missed&page_size=200'))).items.filter((a) => a.detail.observation_id === o.id);
    for (let i = 0; i < 50 && (await missed()).length === 0; i++) await new Promise((r) => setTimeout(r, 100));
    await new Promise((r) => setTimeout(r, 2500)); // two more sweeps
    assert.equal((await missed()).length, 1);
  } finally {
    await s.stop();
  }
});
