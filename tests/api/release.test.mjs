// Release (解除隔离) and the release certificate (解除隔离通知书), issue 9,
// docs/cases.md "Release and certificates": the sweep makes one release task
// when the period is over (none before, none while one is open); completing
// it ends the observation (the code back to green), issues a certificate
// whose PDF text and QR read back; verify answers valid, then
// certificate_revoked after a revoke; forged and health-code tokens are
// refused with their codes; another street's certificate is 404; the
// resident sees their own only; bad input changes nothing; audit entries.
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import fs from 'node:fs';
import path from 'node:path';
import { execFileSync } from 'node:child_process';
import { residentId, expectError, auditEntries, startCityWith, sqlRun, smsCode } from './lib.mjs';

const PW = 'Passw0rd!release';
const COMMUNITY = '110101001001'; // 多福巷社区, 东华门街道
const OTHER_STREET = '110101002001'; // 隆福寺社区, 景山街道
const DAY = 24 * 3600e3;
let ctx, cc, cs, csOther, gate, auditor;

let seq = 0;
const rid = () => residentId('110101', '19800808', 500 + ++seq * 2);

async function ok(p, status = 200) {
  const r = await p;
  assert.equal(r.status, status, r.text);
  return r.body;
}

async function person(region = COMMUNITY, name = '赵解除') {
  return (await ok(cc.post('/api/v1/persons', { name, id_number: rid(), region_code: region, address: '北京市东城区多福巷8号' }), 201)).id;
}

// An observation started `daysAgo` days ago (its planned end is 14 days after).
async function observe(id, daysAgo, client = cs) {
  return (await ok(client.post('/api/v1/observations', {
    person_id: id, kind: 'home_isolation', source: 'grid_patrol', start_at: Date.now() - daysAgo * DAY,
  }), 201)).id;
}

const sweep = () => {
  const out = ctx.must(['case', 'sweep']);
  return Number(/created (\d+)/.exec(out)[1]);
};
const releaseTasks = async (obs) =>
  (await ok(cc.get('/api/v1/tasks?kind=release&page_size=200'))).items.filter((t) => t.subject_id === obs);
// A binary reply (PDF, SVG) with the client's session.
async function raw(client, p) {
  const r = await fetch(ctx.url + p, { headers: client.cookie ? { cookie: client.cookie } : {} });
  return { status: r.status, headers: r.headers, bytes: Buffer.from(await r.arrayBuffer()) };
}
const count = (table) => Number(sqlRun(ctx, `SELECT COUNT(*) FROM ${table}`).trim());

before(async () => {
  ctx = await startCityWith(
    {
      r_cc: ['command_center', '110101000000'],
      r_cs: ['community_staff', COMMUNITY],
      r_cs_other: ['community_staff', OTHER_STREET],
      r_gate: ['checkpoint_staff', '110101000000'],
      r_auditor: ['audit_admin', '110000000000'],
    },
    PW,
    { env: { FK_RELEASE_CHECK: '0' } },
  );
  ({ r_cc: cc, r_cs: cs, r_cs_other: csOther, r_gate: gate, r_auditor: auditor } = ctx.as);
});
after(async () => ctx?.stop());

test('the sweep: no task before the end, one after, none more while it is open', async () => {
  const early = await person();
  const earlyObs = await observe(early, 3);
  const due = await person();
  const dueObs = await observe(due, 15);
  sweep();
  assert.equal((await releaseTasks(earlyObs)).length, 0, 'none before the planned end');
  const tasks = await releaseTasks(dueObs);
  assert.equal(tasks.length, 1, 'one release task once the period is over');
  const t = tasks[0];
  assert.equal(t.kind, 'release');
  assert.equal(t.assignee_role, 'community_staff');
  assert.equal(t.region_code, COMMUNITY);
  assert.ok(t.deadline > Date.now() + 23 * 3600e3);
  assert.match(t.title, /^解除隔离：赵\*/);
  sweep();
  assert.equal((await releaseTasks(dueObs)).length, 1, 'no second task while one is open');
  // an abnormal check in the period: no release task (a decision, not a rule)
  const sick = await person();
  const sickObs = await observe(sick, 15);
  sqlRun(ctx, `INSERT INTO checks (id, observation_id, person_id, region_code, at, by_whom, user_id, temperature, abnormal) VALUES (${Date.now()}${seq}, ${sickObs}, ${sick}, ${COMMUNITY}000000, ${Date.now() - DAY}, 'doctor', 0, 38.5, 1)`);
  const normal = await person();
  const normalObs = await observe(normal, 15);
  sqlRun(ctx, `INSERT INTO checks (id, observation_id, person_id, region_code, at, by_whom, user_id, temperature, abnormal) VALUES (${Date.now()}${seq}, ${normalObs}, ${normal}, ${COMMUNITY}000000, ${Date.now() - DAY}, 'doctor', 0, 36.5, 0)`);
  sweep();
  assert.equal((await releaseTasks(sickObs)).length, 0, 'none after an abnormal check');
  assert.equal((await releaseTasks(normalObs)).length, 1, 'normal checks do not hold it back');
  // the community staff see it under my tasks
  const mine = await ok(cs.get('/api/v1/me/tasks'));
  assert.ok(mine.items.some((x) => x.id === t.id));
});

test('completing the release task ends the observation, greens the code and issues a certificate; PDF and QR read back; verify, revoke', async () => {
  const id = await person(COMMUNITY, '钱解除');
  const obs = await observe(id, 16);
  assert.notEqual((await ok(cc.get(`/api/v1/persons/${id}/code`))).colour, 'green', 'isolated: not green');
  sweep();
  const [t] = await releaseTasks(obs);
  await ok(cs.post(`/api/v1/tasks/${t.id}/accept`));
  // bad results: each 400 with its field, nothing changed
  const certsBefore = count('certificates');
  expectError(await cs.post(`/api/v1/tasks/${t.id}/complete`, { result: {} }), 400, 'required', 'release_status');
  expectError(await cs.post(`/api/v1/tasks/${t.id}/complete`, { result: { release_status: 'gone' } }), 400, 'invalid_value', 'release_status');
  expectError(await cs.post(`/api/v1/tasks/${t.id}/complete`, { result: { release_status: 'free', note: 'x'.repeat(201) } }), 400, 'too_long', 'note');
  assert.equal(count('certificates'), certsBefore);
  assert.equal((await ok(cs.get(`/api/v1/observations/${obs}`))).state, 'active');

  await ok(cs.post(`/api/v1/tasks/${t.id}/complete`, { result: { release_status: 'free', note: '隔离期满，体温正常' } }));
  const o = await ok(cs.get(`/api/v1/observations/${obs}`));
  assert.equal(o.state, 'released');
  assert.equal(o.release_status, 'free');
  assert.equal(o.release_notice_issued, true, 'row 41 set');
  assert.equal((await ok(cc.get(`/api/v1/persons/${id}/code`))).colour, 'green');
  assert.equal((await ok(cs.get(`/api/v1/tasks/${t.id}`))).state, 'done');

  const certs = (await ok(cs.get(`/api/v1/persons/${id}/certificates`))).items;
  assert.equal(certs.length, 1);
  const c = await ok(cs.get(`/api/v1/certificates/${certs[0].id}`));
  assert.match(c.number, /^JC\d{8}\d{6}$/);
  assert.notEqual(c.person_name, '钱解除', 'staff read the name masked');
  assert.match(c.id_number, /\*/);
  assert.equal(c.kind_label, '居家隔离');
  assert.equal(c.release_status_label, '自由');
  assert.equal(c.issuing_unit, '多福巷社区');
  assert.equal(c.revoked, false);
  assert.match(c.token, /^FK1\./);

  // the PDF: its text and its QR read back
  const res = await raw(cs, `/api/v1/certificates/${c.id}/pdf`);
  assert.equal(res.status, 200);
  assert.equal(res.headers.get('content-type'), 'application/pdf');
  assert.match(res.headers.get('content-disposition'), new RegExp(`^inline; filename="${c.number}\\.pdf"$`));
  const file = path.join(ctx.dir, 'cert.pdf');
  fs.writeFileSync(file, res.bytes);
  const text = execFileSync('pdftotext', ['-layout', file, '-'], { encoding: 'utf8' });
  for (const s of ['解除隔离通知书', c.number, '多福巷社区', '居家隔离', '自由', '核验'])
    assert.ok(text.includes(s), `the PDF says ${s}:\n${text}`);
  execFileSync('pdftoppm', ['-r', '150', '-png', '-singlefile', file, path.join(ctx.dir, 'cert')]);
  const qr = execFileSync('zbarimg', ['--raw', '-q', path.join(ctx.dir, 'cert.png')], { encoding: 'utf8' }).trim();
  assert.equal(qr, c.token, 'the QR carries the token');

  // the QR as SVG
  const svg = await raw(cs, `/api/v1/certificates/${c.id}/qr.svg`);
  assert.equal(svg.status, 200);
  assert.match(svg.headers.get('content-type'), /^image\/svg\+xml/);

  // verify: a checkpoint (cert.verify) reads it valid
  const v = await ok(gate.post('/api/v1/certificates/verify', { token: qr }));
  assert.equal(v.valid, true);
  assert.equal(v.number, c.number);
  assert.equal(v.issuing_unit, '多福巷社区');
  assert.notEqual(v.person_name, '钱解除');
  assert.match(v.release_date, /^\d{4}年\d{1,2}月\d{1,2}日$/);

  // revoke: bad input first, nothing changed
  expectError(await cs.post(`/api/v1/certificates/${c.id}/revoke`, {}), 400, 'required', 'reason');
  expectError(await csOther.post(`/api/v1/certificates/${c.id}/revoke`, { reason: '信息有误' }), 404, 'not_found');
  assert.equal((await ok(gate.post('/api/v1/certificates/verify', { token: qr }))).valid, true);
  const rv = await ok(cs.post(`/api/v1/certificates/${c.id}/revoke`, { reason: '信息有误，重新核发' }));
  assert.equal(rv.revoked, true);
  assert.equal(rv.token, null);
  assert.equal(c.revoke_reason, null, 'no reason before a revoke');
  assert.ok(rv.revoke_reason && rv.revoke_reason.startsWith('信息') && rv.revoke_reason !== '信息有误，重新核发', `masked for staff: ${rv.revoke_reason}`);
  expectError(await gate.post('/api/v1/certificates/verify', { token: qr }), 400, 'certificate_revoked', 'token');
  assert.ok(!sqlRun(ctx, `SELECT revoke_reason_enc FROM certificates WHERE id = ${c.id}`).includes('重新核发'), 'the reason is sealed');
  expectError(await cs.post(`/api/v1/certificates/${c.id}/revoke`, { reason: '再次' }), 409, 'already_revoked');

  // audit: the release (task completion), reads, verifications, the revoke
  assert.ok((await auditEntries(auditor, 'certificate.read', c.id)).length >= 2);
  const ver = await auditEntries(auditor, 'certificate.verify', c.id);
  assert.ok(ver.some((e) => e.result === 'ok'));
  assert.ok(ver.some((e) => e.result === 'certificate_revoked'));
  assert.equal((await auditEntries(auditor, 'certificate.revoke', c.id)).filter((e) => e.result === 'ok').length, 1);
});

test('direct release: reason required, bad input changes nothing, the open task is cancelled; scope 404', async () => {
  const id = await person(COMMUNITY, '孙直接');
  const obs = await observe(id, 20);
  sweep();
  const [t] = await releaseTasks(obs);
  const before = count('certificates');
  expectError(await cs.post(`/api/v1/observations/${obs}/release`, { release_status: 'free' }), 400, 'required', 'reason');
  expectError(await cs.post(`/api/v1/observations/${obs}/release`, { reason: '提前解除' }), 400, 'required', 'release_status');
  expectError(await cs.post(`/api/v1/observations/${obs}/release`, { release_status: 'maybe', reason: '提前解除' }), 400, 'invalid_value', 'release_status');
  expectError(await cs.post(`/api/v1/observations/${obs}/release`, { release_status: 'free', reason: '提前解除', extra: 1 }), 400, 'unknown_field');
  expectError(await csOther.post(`/api/v1/observations/${obs}/release`, { release_status: 'free', reason: '提前解除' }), 404, 'not_found');
  expectError(await cs.post('/api/v1/observations/abc/release', { release_status: 'free', reason: '提前解除' }), 404, 'not_found');
  assert.equal(count('certificates'), before);
  assert.equal((await ok(cs.get(`/api/v1/observations/${obs}`))).state, 'active');

  const c = await ok(cs.post(`/api/v1/observations/${obs}/release`, { release_status: 'treatment', reason: '经评估提前解除，转集中治疗' }), 201);
  assert.equal(c.release_status_label, '集中治疗');
  assert.equal((await ok(cs.get(`/api/v1/tasks/${t.id}`))).state, 'cancelled', 'the open release task is cancelled');
  expectError(await cs.post(`/api/v1/observations/${obs}/release`, { release_status: 'free', reason: '再次' }), 409, 'observation_closed');
  assert.equal(count('certificates'), before + 1);
  // another street's staff: 404 on every certificate route
  expectError(await csOther.get(`/api/v1/certificates/${c.id}`), 404, 'not_found');
  expectError(await csOther.get(`/api/v1/certificates/${c.id}/pdf`), 404, 'not_found');
  expectError(await csOther.get(`/api/v1/certificates/${c.id}/qr.svg`), 404, 'not_found');
  expectError(await csOther.get(`/api/v1/persons/${id}/certificates`), 404, 'not_found');
  const rel = await auditEntries(auditor, 'observation.release', obs);
  assert.ok(rel.some((e) => e.result === 'ok'));
  assert.ok(rel.some((e) => e.result !== 'ok'), 'refusals audited');
});

test('verify refuses forged, malformed, wrong-kind and unknown tokens with their codes', async () => {
  const id = await person(COMMUNITY, '李核验');
  const obs = await observe(id, 15);
  const c = await ok(cs.post(`/api/v1/observations/${obs}/release`, { release_status: 'free', reason: '期满' }), 201);
  const tok = c.token;
  // flip one character of the tag
  const last = tok.at(-1) === 'A' ? 'B' : 'A';
  expectError(await gate.post('/api/v1/certificates/verify', { token: tok.slice(0, -1) + last }), 400, 'token_forged', 'token');
  expectError(await gate.post('/api/v1/certificates/verify', { token: 'hello' }), 400, 'token_malformed', 'token');
  expectError(await gate.post('/api/v1/certificates/verify', {}), 400, 'required', 'token');
  // a health code token (a resident's)
  const phone = '13930005678';
  const res = ctx.client();
  await res.post('/api/v1/auth/sms/send', { phone });
  await ok(res.post('/api/v1/auth/sms/login', { phone, code: smsCode(ctx, phone) }));
  await ok(res.post('/api/v1/me/consent', { version: 'v1' }));
  await ok(res.post('/api/v1/me/person', { name: '周码', id_number: rid(), region_code: COMMUNITY, address: '多福巷1号' }), 201);
  const health = (await ok(res.get('/api/v1/me/code/token'))).token;
  assert.match(health, /^FK1\./);
  expectError(await gate.post('/api/v1/certificates/verify', { token: health }), 400, 'token_wrong_kind', 'token');
  // a well-signed token of a certificate that does not exist: delete the row
  sqlRun(ctx, `DELETE FROM certificates WHERE id = ${c.id}`);
  expectError(await gate.post('/api/v1/certificates/verify', { token: tok }), 400, 'unknown_certificate', 'token');
  // a resident has no cert.verify
  expectError(await res.post('/api/v1/certificates/verify', { token: tok }), 403, 'forbidden');
});

test('the resident sees their own certificates (full name) and not another\'s', async () => {
  const phone = '13930009876';
  const res = ctx.client();
  await res.post('/api/v1/auth/sms/send', { phone });
  await ok(res.post('/api/v1/auth/sms/login', { phone, code: smsCode(ctx, phone) }));
  await ok(res.post('/api/v1/me/consent', { version: 'v1' }));
  const me = (await ok(res.post('/api/v1/me/person', { name: '吴本人', id_number: rid(), region_code: COMMUNITY, address: '多福巷2号' }), 201)).person.id;
  assert.deepEqual((await ok(res.get('/api/v1/me/certificates'))).items, []);
  const obs = await observe(me, 15);
  const mine = await ok(cs.post(`/api/v1/observations/${obs}/release`, { release_status: 'free', reason: '期满' }), 201);
  const other = await person(COMMUNITY, '郑别人');
  const otherCert = await ok(cs.post(`/api/v1/observations/${await observe(other, 15)}/release`, { release_status: 'free', reason: '期满' }), 201);

  const list = (await ok(res.get('/api/v1/me/certificates'))).items;
  assert.deepEqual(list.map((x) => x.id), [mine.id]);
  const one = await ok(res.get(`/api/v1/me/certificates/${mine.id}`));
  assert.equal(one.person_name, '吴本人', 'the person reads their full name');
  assert.equal(one.token, mine.token);
  const pdf = await raw(res, `/api/v1/me/certificates/${mine.id}/pdf`);
  assert.equal(pdf.status, 200);
  const svg = await raw(res, `/api/v1/me/certificates/${mine.id}/qr.svg`);
  assert.equal(svg.status, 200);
  expectError(await res.get(`/api/v1/me/certificates/${otherCert.id}`), 404, 'not_found');
  expectError(await res.get(`/api/v1/me/certificates/${otherCert.id}/pdf`), 404, 'not_found');
  // staff routes are not the resident's
  expectError(await res.get(`/api/v1/certificates/${mine.id}`), 403, 'forbidden');
});

test('follow-up notes after a release: sealed, listed, bad input refused, scope 404', async () => {
  const id = await person(COMMUNITY, '王随访');
  const obs = await observe(id, 15);
  await ok(cs.post(`/api/v1/observations/${obs}/release`, { release_status: 'free', reason: '期满' }), 201);
  expectError(await cs.post(`/api/v1/observations/${obs}/notes`, {}), 400, 'required', 'text');
  expectError(await cs.post(`/api/v1/observations/${obs}/notes`, { text: 'x'.repeat(501) }), 400, 'too_long', 'text');
  expectError(await csOther.post(`/api/v1/observations/${obs}/notes`, { text: '回访' }), 404, 'not_found');
  assert.equal(count('observation_notes'), 0);
  const n = await ok(cs.post(`/api/v1/observations/${obs}/notes`, { text: '解除后第3天回访，体温正常，已返岗' }), 201);
  assert.ok(n.id);
  const items = (await ok(cs.get(`/api/v1/observations/${obs}/notes`))).items;
  assert.equal(items.length, 1);
  assert.equal(items[0].text, '解除后第3天回访，体温正常，已返岗');
  expectError(await csOther.get(`/api/v1/observations/${obs}/notes`), 404, 'not_found');
  // stored sealed, never in plain text
  const raw = sqlRun(ctx, 'SELECT text_enc FROM observation_notes');
  assert.ok(!raw.includes('回访'));
  const tl = (await ok(cs.get(`/api/v1/persons/${id}/timeline`))).items.map((x) => x.action);
  assert.ok(tl.includes('note') && tl.includes('certificate') && tl.includes('released'), tl.join(','));
});

test('a region move carries the certificates and notes with it, and the tasks and checks', async () => {
  const OLD = '110101002008';
  const NEW = '110101001008';
  await ok(cc.post('/api/v1/regions', { code: OLD, name: '搬迁社区', level: 'community', parent_code: '110101002000' }), 201);
  const id = await person(OLD, '冯搬迁');
  const obs = await observe(id, 15, cc);
  await ok(cc.post(`/api/v1/observations/${obs}/checks`, { temperature: 36.5, symptoms: [] }), 201);
  const task = await ok(cc.post('/api/v1/tasks', {
    kind: 'general', region_code: OLD, assignee_role: 'community_staff', deadline: Date.now() + DAY, title: '回访搬迁社区',
  }), 201);
  const c = await ok(cc.post(`/api/v1/observations/${obs}/release`, { release_status: 'free', reason: '期满' }), 201);
  await ok(cc.post(`/api/v1/observations/${obs}/notes`, { text: '回访正常' }), 201);
  assert.equal(c.issuing_unit, '搬迁社区');
  await ok(cc.post(`/api/v1/regions/${OLD}/move`, { code: NEW }));
  const after = await ok(cc.get(`/api/v1/certificates/${c.id}`));
  assert.equal(after.issuing_unit, '搬迁社区', 'the issuing community followed the move');
  const under = (col, table, idCol, idv) =>
    sqlRun(ctx, `SELECT COUNT(*) FROM ${table} WHERE ${idCol} = ${idv} AND ${col} >= ${NEW}000000 AND ${col} <= ${NEW}999999`).trim();
  assert.equal(under('region_code', 'certificates', 'id', c.id), '1');
  assert.equal(under('unit_code', 'certificates', 'id', c.id), '1');
  assert.equal(under('region_code', 'observation_notes', 'observation_id', obs), '1');
  assert.equal(under('region_code', 'tasks', 'id', task.id), '1');
  assert.equal(under('region_code', 'checks', 'observation_id', obs), '1');
  assert.equal((await ok(cc.get(`/api/v1/observations/${obs}/notes`))).items.length, 1);
  assert.equal((await ok(gate.post('/api/v1/certificates/verify', { token: c.token }))).issuing_unit, '搬迁社区');
});

test('releases at the same moment get distinct numbers in sequence', async () => {
  const obs = [];
  for (let i = 0; i < 6; i++) obs.push(await observe(await person(COMMUNITY, '并发' + '甲乙丙丁戊己'[i]), 15));
  const rs = await Promise.all(obs.map((o) => cs.post(`/api/v1/observations/${o}/release`, { release_status: 'free', reason: '期满' })));
  for (const r of rs) assert.equal(r.status, 201, r.text);
  const numbers = rs.map((r) => r.body.number).sort();
  assert.equal(new Set(numbers).size, 6, 'six distinct numbers');
  // one day's numbers run on without gaps (unless China midnight fell between)
  if (numbers[0].slice(0, 10) === numbers[5].slice(0, 10))
    assert.equal(Number(numbers[5].slice(10)) - Number(numbers[0].slice(10)), 5, numbers.join(','));
});
