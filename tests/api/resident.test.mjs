// Residents' self-service through the API: the purpose statement and
// consent (version, time, withdrawal), real-name binding to a record staff
// entered (only with the same name and phone, one answer for every
// mismatch), self-registration with the staff entry's validation, one's own
// record masked and revealed, the fields a resident may change, the region
// tree for choosing a community, and audit. Every refused request changes
// nothing, and no request of a resident reaches another person's record.
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { startServer, CITY_CSV, writeTmp, residentId, smsCode, totpSecretFrom, waitForAudit, errOf, startCityWith, signedIn } from './lib.mjs';

const PW = 'Passw0rd!resident';
const COMMUNITY = '110101001001'; // 东城区 多福巷社区
const GRID = '110101001001001';
const WEST = '110102001001'; // 西城区 府右街社区
const CONSENT = '/api/v1/me/consent';
const ME_PERSON = '/api/v1/me/person';
let ctx;
let cc, gw, gwWest, ent, auditor;

let seq = 0;
function rid(prefix = '110101', birth = '19850612', male = true) {
  seq += 1;
  return residentId(prefix, birth, 500 + seq * 2, male);
}

let phoneSeq = 0;
const newPhone = () => '1391000' + String(1000 + ++phoneSeq).padStart(4, '0');

// A resident signed in by SMS code (created at the first sign-in).
async function resident(phone = newPhone()) {
  const c = ctx.client();
  let r = await c.post('/api/v1/auth/sms/send', { phone });
  assert.equal(r.status, 200, r.text);
  r = await c.post('/api/v1/auth/sms/login', { phone, code: smsCode(ctx, phone) });
  assert.equal(r.status, 200, r.text);
  c.phone = phone;
  c.userId = r.body.id;
  return c;
}

async function consent(c) {
  const r = await c.post(CONSENT, { version: 'v1' });
  assert.equal(r.status, 200, r.text);
  return r.body;
}

function reg(over = {}) {
  return { name: '王小明', id_number: rid(), region_code: COMMUNITY, address: '多福巷3号院2单元101', ...over };
}

const signIn = (username) => signedIn(ctx, username, PW);

// The command centre's full view of the people with this id number.
async function findById(idNumber) {
  const r = await cc.get(`/api/v1/persons?id_number=${idNumber}&reveal=1`);
  assert.equal(r.status, 200, r.text);
  return r.body.items;
}

const auditWhere = (query, pred) => waitForAudit(auditor, query, pred);

before(async () => {
  ctx = await startCityWith(
    {
      r_cc: ['command_center', '110100000000'],
      r_gw: ['grid_worker', COMMUNITY],
      r_gw_west: ['grid_worker', WEST],
      r_ent: ['enterprise', COMMUNITY],
      r_gate: ['checkpoint_staff', COMMUNITY],
      r_auditor: ['audit_admin', '110100000000'],
    },
    PW,
  );
  ({ r_cc: cc, r_gw: gw, r_gw_west: gwWest, r_ent: ent, r_auditor: auditor } = ctx.as);
});
after(async () => ctx?.stop());

test('the purpose statement: epidemic prevention only, what, how long, how to withdraw', async () => {
  const c = await resident();
  const r = await c.get(CONSENT);
  assert.equal(r.status, 200, r.text);
  assert.deepEqual(
    { ...r.body, purpose: undefined },
    { purpose: undefined, state: 'none', given: false, version: null, given_at: null, withdrawn_at: null },
  );
  const { version, title, text } = r.body.purpose;
  assert.equal(version, 'v1');
  assert.match(title, /个人信息/);
  assert.match(text, /仅用于疫情防控/);
  for (const what of ['姓名', '证件', '手机号码', '住址', '紧急联系人']) assert.ok(text.includes(what), what);
  assert.match(text, /保存期限/);
  assert.match(text, /撤回/);
  assert.match(text, /不因撤回同意而删除/);
  // staff have no self-service of their own, even with the self permission
  let s = await gw.get(CONSENT);
  assert.equal(s.status, 403);
  for (const [m, p, b] of [['GET', CONSENT], ['POST', CONSENT, { version: 'v1' }], ['DELETE', CONSENT], ['GET', ME_PERSON], ['POST', ME_PERSON, reg()], ['PATCH', ME_PERSON, { address: 'x' }]]) {
    s = await ent.req(m, p, b);
    assert.deepEqual([s.status, errOf(s).code], [403, 'residents_only'], `${m} ${p}`);
  }
});

test('no consent: registration and changes are refused and nothing is stored', async () => {
  const c = await resident();
  const body = reg();
  let r = await c.post(ME_PERSON, body);
  assert.deepEqual([r.status, errOf(r).code], [403, 'consent_required']);
  assert.match(errOf(r).message, /同意/);
  r = await c.patch(ME_PERSON, { address: '别处' });
  assert.deepEqual([r.status, errOf(r).code], [403, 'consent_required']);
  r = await c.get(ME_PERSON);
  assert.deepEqual([r.status, errOf(r).code], [404, 'person_not_registered']);
  assert.deepEqual(await findById(body.id_number), []);
});

test('consent: only the current version, recorded with its time; bad bodies are 400', async () => {
  const c = await resident();
  let r = await c.post(CONSENT, { version: 'v0' });
  assert.deepEqual([r.status, errOf(r).code, errOf(r).field], [409, 'consent_version_mismatch', 'version']);
  for (const [body, code, field] of [
    [{}, 'required', 'version'],
    [{ version: 1 }, 'invalid_type', 'version'],
    [{ version: 'v1', agree: true }, 'unknown_field', 'agree'],
    [{ version: '' }, 'required', 'version'],
    [{ version: null }, 'invalid_type', 'version'],
  ]) {
    r = await c.post(CONSENT, body);
    assert.deepEqual([r.status, errOf(r).code, errOf(r).field], [400, code, field], JSON.stringify(body));
  }
  r = await c.post(CONSENT, '{"version": "v1"', { 'content-type': 'application/json' });
  assert.deepEqual([r.status, errOf(r).code], [400, 'invalid_json']);
  r = await c.post(CONSENT, 'version=v1', { 'content-type': 'application/x-www-form-urlencoded' });
  assert.equal(r.status, 415);
  assert.equal((await c.get(CONSENT)).body.state, 'none', 'a refused consent recorded nothing');

  const t0 = Date.now();
  const given = await consent(c);
  assert.equal(given.state, 'given');
  assert.equal(given.given, true);
  assert.equal(given.version, 'v1');
  assert.ok(given.given_at >= t0 - 1000 && given.given_at <= Date.now() + 1000);
  // consenting again changes nothing, not even the time
  const again = await consent(c);
  assert.equal(again.given_at, given.given_at);
  assert.deepEqual((await c.get(CONSENT)).body, given);
});

test('registration: every bad field is a 4xx on that field and stores nothing', async () => {
  const c = await resident();
  await consent(c);
  const good = reg();
  const cases = [
    [{ ...good, phone: '13912345678' }, 400, 'unknown_field', 'phone'],
    [{ ...good, status: 'confirmed' }, 400, 'unknown_field', 'status'],
    [{ ...good, source: 'staff' }, 400, 'unknown_field', 'source'],
    [{ ...good, consent_at: 1 }, 400, 'unknown_field', 'consent_at'],
    [{ ...good, id: '1' }, 400, 'unknown_field', 'id'],
    [{ ...good, name: 123 }, 400, 'invalid_type', 'name'],
    [{ ...good, employed: 'yes' }, 400, 'invalid_type', 'employed'],
    [{ ...good, vulnerable: 'child' }, 400, 'invalid_type', 'vulnerable'],
    [{ ...good, id_number: good.id_number.slice(0, 17) + (good.id_number[17] === '1' ? '2' : '1') }, 400, 'invalid_id_number', 'id_number'],
    [{ ...good, id_number: '11010119850612' }, 400, 'invalid_id_number', 'id_number'],
    [{ ...good, id_type: 'driving_licence' }, 400, 'invalid_value', 'id_type'],
    [{ ...good, region_code: '110101001999' }, 400, 'invalid_region', 'region_code'], // not in the tree
    [{ ...good, region_code: '110101001000' }, 400, 'invalid_region', 'region_code'], // a street
    [{ ...good, region_code: '120101001001' }, 400, 'invalid_region', 'region_code'],
    [{ ...good, region_code: 'abc' }, 400, 'invalid_region', 'region_code'],
    [{ ...good, address: undefined }, 400, 'required', 'address'],
    [{ ...good, name: undefined }, 400, 'required', 'name'],
    [{ ...good, name: '   ' }, 400, 'required', 'name'],
    [{ ...good, birth_date: '1990-01-01' }, 400, 'birth_date_mismatch', 'birth_date'],
    [{ ...good, gender: 'female' }, 400, 'gender_mismatch', 'gender'],
    [{ ...good, emergency_contact_phone: '12345' }, 400, 'invalid_phone', 'emergency_contact_phone'],
    [{ ...good, vulnerable: ['elderly'] }, 400, 'invalid_value', 'vulnerable'],
    [{ ...good, category: 'tourist' }, 400, 'invalid_value', 'category'],
    [{ ...good, address: 'x'.repeat(201) }, 400, 'too_long', 'address'],
  ];
  for (const [body, status, code, field] of cases) {
    const r = await c.post(ME_PERSON, body);
    assert.deepEqual([r.status, errOf(r).code, errOf(r).field], [status, code, field], JSON.stringify(body));
    assert.match(errOf(r).message, /[\u4e00-\u9fff]/);
  }
  let r = await c.post(ME_PERSON, '{"name": "王小明",', { 'content-type': 'application/json' });
  assert.deepEqual([r.status, errOf(r).code], [400, 'invalid_json']);
  r = await c.post(ME_PERSON, '[]', { 'content-type': 'application/json' });
  assert.equal(r.status, 400);
  assert.deepEqual(await findById(good.id_number), []);
  r = await c.get(ME_PERSON);
  assert.equal(r.status, 404);
  assert.equal((await c.get('/api/v1/me')).body.person_id, null);
});

test('self-registration: a new record with the signed-in phone, masked back, seen by its community', async () => {
  const c = await resident();
  const given = await consent(c);
  const body = reg({
    name: '赵晓燕',
    id_number: rid('110101', '19920315', false),
    region_code: GRID,
    native_place: '河北省保定市',
    category: 'returnee',
    emergency_contact_name: '赵大山',
    emergency_contact_phone: '13911112222',
    employer: '东城区某公司',
    work_address: '东城区某路1号',
    current_location: '北京市东城区',
    vulnerable: ['pregnant'],
  });
  let r = await c.post(ME_PERSON, body);
  assert.equal(r.status, 201, r.text);
  assert.equal(r.body.result, 'created');
  const p = r.body.person;
  assert.equal(p.name, '赵*燕');
  assert.equal(p.id_number, body.id_number.slice(0, 2) + '*'.repeat(15) + body.id_number.slice(17));
  assert.equal(p.phone, c.phone.slice(0, 3) + '****' + c.phone.slice(7));
  assert.equal(p.gender, 'female');
  assert.equal(p.birth_date, '****-**-**');
  assert.equal(p.source, 'self');
  assert.equal(p.status, 'normal');
  assert.equal(p.region_code, GRID);
  assert.equal(p.consent_at, given.given_at);
  assert.deepEqual(p.vulnerable, ['pregnant']);
  assert.equal(p.masked, true);
  assert.ok(!r.text.includes(c.phone) && !r.text.includes(body.id_number) && !r.text.includes('赵晓燕'));
  assert.equal((await c.get('/api/v1/me')).body.person_id, p.id);

  // the community's grid worker finds it; the command centre sees it in full
  r = await gw.get(`/api/v1/persons?id_number=${body.id_number}`);
  assert.equal(r.body.total, 1);
  assert.equal(r.body.items[0].id, p.id);
  const [full] = await findById(body.id_number);
  assert.equal(full.name, '赵晓燕');
  assert.equal(full.phone, c.phone);
  assert.equal(full.emergency_contact_phone, '13911112222');
  assert.equal(full.created_by, c.userId);
  // another district does not
  r = await gwWest.get(`/api/v1/persons?id_number=${body.id_number}`);
  assert.equal(r.body.total, 0);

  // once is enough
  r = await c.post(ME_PERSON, reg());
  assert.deepEqual([r.status, errOf(r).code], [409, 'already_registered']);

  // one's own record: masked, in full on request (audited below)
  r = await c.get(ME_PERSON);
  assert.equal(r.status, 200);
  assert.deepEqual(r.body, p);
  r = await c.get(`${ME_PERSON}?reveal=1`);
  assert.equal(r.status, 200);
  assert.equal(r.body.name, '赵晓燕');
  assert.equal(r.body.phone, c.phone);
  assert.equal(r.body.masked, false);
  r = await c.get(`${ME_PERSON}?reveal=yes`);
  assert.deepEqual([r.status, errOf(r).field], [400, 'reveal']);

  const items = await auditWhere(`action=person.reveal&object_id=${p.id}`, (x) => x.detail === 'view=self');
  assert.ok(items.some((x) => x.user_id === c.userId && x.detail === 'view=self'));
  const reads = await auditWhere(`action=person.read&object_id=${p.id}`, (x) => x.user_id === c.userId);
  assert.ok(reads.some((x) => x.user_id === c.userId && x.detail === 'view=self'));
  const regs = await auditWhere(`action=person.self_register&object_id=${p.id}`, (x) => x.result === 'ok');
  const e = regs.find((x) => x.result === 'ok');
  assert.ok(e && e.detail.startsWith('created fields='), JSON.stringify(regs));
  assert.ok(!JSON.stringify(regs).includes('赵晓燕'));
});

test('changes: only where one lives and works and whom to call; each change in the history', async () => {
  const c = await resident();
  await consent(c);
  const body = reg({ name: '钱多多', id_number: rid() });
  let r = await c.post(ME_PERSON, body);
  assert.equal(r.status, 201, r.text);
  const p = r.body.person;

  for (const [patch, code, field] of [
    [{ name: '钱少少' }, 'unknown_field', 'name'],
    [{ id_number: rid() }, 'unknown_field', 'id_number'],
    [{ region_code: WEST }, 'unknown_field', 'region_code'],
    [{ phone: '13700000000' }, 'unknown_field', 'phone'],
    [{ status: 'normal' }, 'unknown_field', 'status'],
    [{ vulnerable: [] }, 'unknown_field', 'vulnerable'],
    [{ address: 5 }, 'invalid_type', 'address'],
    [{ address: '' }, 'too_short', 'address'],
    [{ emergency_contact_phone: '123' }, 'invalid_phone', 'emergency_contact_phone'],
    [{ emergency_contact_name: '\t' }, 'invalid_value', 'emergency_contact_name'],
    [{ employer: 'x'.repeat(101) }, 'too_long', 'employer'],
  ]) {
    r = await c.patch(ME_PERSON, patch);
    assert.deepEqual([r.status, errOf(r).code, errOf(r).field], [400, code, field], JSON.stringify(patch));
  }
  r = await c.patch(ME_PERSON, '{"address":', { 'content-type': 'application/json' });
  assert.deepEqual([r.status, errOf(r).code], [400, 'invalid_json']);
  let [full] = await findById(body.id_number);
  assert.equal(full.version, 1, 'nothing changed');

  r = await c.patch(ME_PERSON, {
    address: '多福巷5号', emergency_contact_name: '钱老大', emergency_contact_phone: '13922223333',
    employed: true, employer: '某单位', work_address: '某路2号', current_location: '北京', version: 1,
  });
  assert.equal(r.status, 200, r.text);
  assert.equal(r.body.version, 2);
  assert.equal(r.body.address, '多福****');
  assert.equal(r.body.masked, true);
  [full] = await findById(body.id_number);
  assert.equal(full.address, '多福巷5号');
  assert.equal(full.emergency_contact_phone, '13922223333');
  assert.equal(full.employer, '某单位');
  assert.equal(full.name, '钱多多');
  assert.equal(full.updated_by, c.userId);
  // a stale version: someone changed it meanwhile
  r = await c.patch(ME_PERSON, { address: '多福巷6号', version: 1 });
  assert.deepEqual([r.status, errOf(r).code], [409, 'version_conflict']);
  // nulls clear
  r = await c.patch(ME_PERSON, { employer: null });
  assert.equal(r.status, 200);
  assert.equal(r.body.employer, null);

  const h = await cc.get(`/api/v1/persons/${p.id}/history?reveal=1`);
  assert.equal(h.status, 200);
  const upd = h.body.items.find((x) => x.changes.address);
  assert.deepEqual(upd.changes.address, ['多福巷3号院2单元101', '多福巷5号']);
  assert.equal(upd.user_id, c.userId);
  const items = await auditWhere(`action=person.self_update&object_id=${p.id}`, (x) => x.result === 'version_conflict');
  assert.ok(items.some((x) => x.result === 'ok' && x.detail.includes('address')));
  assert.ok(items.some((x) => x.result === 'version_conflict'));
});

test('withdrawal stops self-service, keeps the record, and is recorded; consent again resumes', async () => {
  const c = await resident();
  const given = await consent(c);
  const body = reg({ name: '孙悟空', id_number: rid() });
  let r = await c.post(ME_PERSON, body);
  assert.equal(r.status, 201, r.text);
  const id = r.body.person.id;

  const t0 = Date.now();
  r = await c.del(CONSENT);
  assert.equal(r.status, 200, r.text);
  const withdrawn = r.body;
  assert.equal(withdrawn.state, 'withdrawn');
  assert.equal(withdrawn.given, false);
  assert.equal(withdrawn.version, 'v1');
  assert.equal(withdrawn.given_at, given.given_at);
  assert.ok(withdrawn.withdrawn_at >= t0 - 1000);
  assert.deepEqual((await c.get(CONSENT)).body, withdrawn);

  r = await c.patch(ME_PERSON, { address: '花果山' });
  assert.deepEqual([r.status, errOf(r).code], [403, 'consent_required']);
  r = await c.post(ME_PERSON, reg());
  assert.deepEqual([r.status, errOf(r).code], [403, 'consent_required']);
  // the record stays, readable by its owner and by staff, without consent_at
  r = await c.get(ME_PERSON);
  assert.equal(r.status, 200);
  assert.equal(r.body.consent_at, null);
  let [full] = await findById(body.id_number);
  assert.equal(full.id, id);
  assert.equal(full.address, body.address);
  assert.equal(full.consent_at, null);
  // nothing to withdraw twice
  r = await c.del(CONSENT);
  assert.deepEqual([r.status, errOf(r).code], [409, 'consent_not_given']);

  const again = await consent(c);
  assert.equal(again.state, 'given');
  assert.equal(again.withdrawn_at, null);
  assert.ok(again.given_at >= withdrawn.withdrawn_at);
  [full] = await findById(body.id_number);
  assert.equal(full.consent_at, again.given_at);
  r = await c.patch(ME_PERSON, { address: '花果山水帘洞' });
  assert.equal(r.status, 200, r.text);

  const h = await cc.get(`/api/v1/persons/${id}/history`);
  assert.ok(h.body.items.filter((x) => x.changes.consent_at).length >= 2, 'consent changes are in the history');
  const items = await auditWhere(`action=consent.withdraw&user_id=${c.userId}`, (x) => x.result === 'consent_not_given');
  assert.ok(items.some((x) => x.result === 'ok' && x.detail === 'version=v1' && x.object_id === c.userId));
  const gives = await auditWhere(`action=consent.give&user_id=${c.userId}`, (x) => x.result === 'ok');
  assert.equal(gives.filter((x) => x.result === 'ok').length, 2);
});

test('binding to a record staff entered: same name and phone only, one answer for every mismatch', async () => {
  // staff entered two people: one with a phone, one without
  const withPhone = await resident();
  const idA = rid();
  let r = await gw.post('/api/v1/persons', { name: '周杰', id_number: idA, region_code: COMMUNITY, address: '社区登记地址1', phone: withPhone.phone });
  assert.equal(r.status, 201, r.text);
  const staffA = r.body;
  const idB = rid('110102');
  r = await gwWest.post('/api/v1/persons', { name: '吴敏', id_number: idB, region_code: WEST, address: '西城登记地址' });
  assert.equal(r.status, 201, r.text);
  const staffB = r.body;

  const mismatches = [];
  // someone else's phone, right name
  const other = await resident();
  await consent(other);
  r = await other.post(ME_PERSON, reg({ name: '周杰', id_number: idA }));
  mismatches.push(r);
  // the right phone, the wrong name
  await consent(withPhone);
  r = await withPhone.post(ME_PERSON, reg({ name: '周洁', id_number: idA }));
  mismatches.push(r);
  // no phone on record, wrong name
  const third = await resident();
  await consent(third);
  r = await third.post(ME_PERSON, reg({ name: '吴明', id_number: idB }));
  mismatches.push(r);
  for (const m of mismatches) {
    assert.deepEqual([m.status, errOf(m).code], [409, 'identity_mismatch'], m.text);
    // nothing of the record: the same body whatever the cause
    assert.deepEqual(m.body, mismatches[0].body);
    assert.ok(!m.text.includes(staffA.id) && !m.text.includes(staffB.id));
    assert.ok(!('existing_id' in m.body.error));
  }
  assert.equal((await findById(idA))[0].version, 1, 'a refused binding changed nothing');
  assert.equal((await findById(idB))[0].version, 1);
  assert.equal((await other.get('/api/v1/me')).body.person_id, null);

  // the right name and phone: bound to the staff record, which keeps its fields
  r = await withPhone.post(ME_PERSON, reg({ name: ' 周杰 ', id_number: idA.toLowerCase(), region_code: WEST, address: '别的地址' }));
  assert.equal(r.status, 201, r.text);
  assert.equal(r.body.result, 'bound');
  assert.equal(r.body.person.id, staffA.id);
  assert.equal(r.body.person.region_code, COMMUNITY);
  assert.equal(r.body.person.source, 'staff');
  let [full] = await findById(idA);
  assert.equal(full.address, '社区登记地址1');
  assert.ok(full.consent_at > 0);
  assert.equal((await withPhone.get('/api/v1/me')).body.person_id, staffA.id);
  assert.equal((await withPhone.get(ME_PERSON)).body.id, staffA.id);

  // no phone on record and the right name: bound, and the phone filled in
  r = await third.post(ME_PERSON, reg({ name: '吴敏', id_number: idB }));
  assert.equal(r.status, 201, r.text);
  assert.equal(r.body.result, 'bound');
  assert.equal(r.body.person.region_code, WEST);
  [full] = await findById(idB);
  assert.equal(full.phone, third.phone);
  // ... so a second account with the same name can no longer claim it
  const fourth = await resident();
  await consent(fourth);
  r = await fourth.post(ME_PERSON, reg({ name: '吴敏', id_number: idB }));
  assert.deepEqual(r.body, mismatches[0].body);
  // the bound resident edits the record wherever it is
  r = await third.patch(ME_PERSON, { current_location: '外地出差' });
  assert.equal(r.status, 200, r.text);
  [full] = await findById(idB);
  assert.equal(full.current_location, '外地出差');

  const items = await auditWhere('action=person.self_register', (x) => x.result === 'identity_mismatch');
  assert.ok(items.filter((x) => x.result === 'identity_mismatch').length >= 3);
  assert.ok(items.some((x) => x.result === 'ok' && x.detail === 'bound' && x.object_id === staffA.id));
});

test('a resident reaches no one else: no person, user or region-writing route', async () => {
  const c = await resident();
  await consent(c);
  const r0 = await c.post(ME_PERSON, reg());
  assert.equal(r0.status, 201);
  const mine = r0.body.person.id;
  const someone = await gw.post('/api/v1/persons', { name: '郑某', id_number: rid(), region_code: COMMUNITY });
  assert.equal(someone.status, 201);
  for (const [m, p, b] of [
    ['GET', '/api/v1/persons'],
    ['GET', `/api/v1/persons/${someone.body.id}`],
    ['GET', `/api/v1/persons/${mine}`],
    ['PATCH', `/api/v1/persons/${someone.body.id}`, { address: 'x' }],
    ['DELETE', `/api/v1/persons/${mine}`],
    ['GET', `/api/v1/persons/${someone.body.id}/history`],
    ['POST', '/api/v1/persons', { name: '某', id_number: rid(), region_code: COMMUNITY }],
    ['GET', '/api/v1/users'],
    ['GET', '/api/v1/audit'],
    ['POST', '/api/v1/regions', { code: '110101001002', name: '新社区', level: 'community', parent_code: '110101001000' }],
  ]) {
    const r = await c.req(m, p, b);
    assert.equal(r.status, 403, `${m} ${p}: ${r.text}`);
  }
  assert.equal((await cc.get(`/api/v1/persons/${someone.body.id}`)).body.version, 1);
});

test('residents read the region tree to choose their community', async () => {
  const c = await resident();
  const me = (await c.get('/api/v1/me')).body;
  assert.deepEqual(me.permissions, ['region.read', 'self']);
  let r = await c.get('/api/v1/regions/tree?depth=5');
  assert.equal(r.status, 200, r.text);
  const names = JSON.stringify(r.body);
  for (const n of ['东城区', '多福巷社区', '隆福寺社区', '西城区', '府右街社区']) assert.ok(names.includes(n), n);
  r = await c.get('/api/v1/regions/110101001000/children');
  assert.equal(r.status, 200);
  assert.deepEqual(r.body.items.map((x) => [x.code, x.name, x.level]), [['110101001001', '多福巷社区', 'community']]);
  r = await c.get(`/api/v1/regions/${COMMUNITY}/children`);
  assert.deepEqual(r.body.items.map((x) => x.level), ['grid']);
});

test('the new routes are in the OpenAPI document with their permission and schemas', async () => {
  const r = await fetch(ctx.url + '/api/v1/openapi.json');
  const doc = await r.json();
  const consentOps = doc.paths['/api/v1/me/consent'];
  assert.deepEqual(Object.keys(consentOps).sort(), ['delete', 'get', 'post']);
  assert.equal(consentOps.post['x-permission'], 'self');
  assert.deepEqual(consentOps.post.requestBody.content['application/json'].schema.required, ['version']);
  const personOps = doc.paths['/api/v1/me/person'];
  assert.deepEqual(Object.keys(personOps).sort(), ['get', 'patch', 'post']);
  const props = personOps.post.requestBody.content['application/json'].schema.properties;
  assert.ok(props.name && props.id_number && props.region_code && props.address);
  assert.ok(!props.phone && !props.status && !props.source && !props.consent_at);
  const patchProps = Object.keys(personOps.patch.requestBody.content['application/json'].schema.properties).sort();
  assert.deepEqual(patchProps, [
    'address', 'current_location', 'emergency_contact_name', 'emergency_contact_phone', 'employed', 'employer', 'version', 'work_address',
  ]);
});

test('the audit log holds consent and self-service without personal data', async () => {
  const items = await auditWhere('action=consent.give', (x) => x.result === 'consent_version_mismatch');
  assert.ok(items.some((x) => x.result === 'ok' && x.detail === 'version=v1' && x.object_type === 'user'));
  assert.ok(items.some((x) => x.result === 'ok' && x.detail === 'version=v1 unchanged'));
  const all = await auditor.get('/api/v1/audit?page_size=200');
  const text = JSON.stringify(all.body.items);
  for (const secret of ['王小明', '赵晓燕', '钱多多', '周杰', '13911112222']) assert.ok(!text.includes(secret), secret);
  assert.ok(!/1391000\d{4}/.test(text), 'a resident phone in the audit log');
});

// ---- issue 8, security item 5: self-asserted identities ------------------------------

const H = 3600000;
const visitorBody = () => ({
  name: '赵六', id_type: 'resident_id', id_number: residentId('110102', '19920315', 7), phone: '13912345678',
  purpose: '探亲', valid_from: Date.now() - H, valid_to: Date.now() + 4 * H,
});
let plateSeq = 0;
const plate = () => '京A7K' + String(100 + ++plateSeq);

// What the resident can do with their identity now: pass, vehicle, visitor.
async function abilities(c) {
  const code = await c.get('/api/v1/me/code');
  assert.equal(code.status, 200, code.text);
  const veh = await c.post('/api/v1/me/vehicles', { plate: plate(), kind: 'car' });
  const vis = await c.post('/api/v1/me/visitors', visitorBody());
  return { code: code.body, veh, vis };
}

test('a self-registration is unverified: the code shows, but no pass, vehicle or visitor until staff verify', async () => {
  const c = await resident();
  await consent(c);
  let r = await c.post(ME_PERSON, reg({ name: '钱核验' }));
  assert.equal(r.status, 201, r.text);
  const p = r.body.person;
  assert.equal(p.verified, false);
  assert.equal((await c.get(ME_PERSON)).body.verified, false);

  // the community gate shows the pass as invalid, with the reason
  const gate = await signIn('r_gate');
  const place = await cc.post('/api/v1/places', { name: '多福巷小区', kind: 'community', region_code: COMMUNITY });
  assert.equal(place.status, 201, place.text);
  const venue = await cc.post('/api/v1/venues', { name: '多福巷小区东门', kind: 'community_gate', place_id: place.body.id });
  assert.equal(venue.status, 201, venue.text);
  const gateScan = async () => {
    const t = await c.get('/api/v1/me/code/token');
    assert.equal(t.status, 200, t.text);
    const s = await gate.post('/api/v1/scans', { venue_id: venue.body.id, token: t.body.token, direction: 'in' });
    assert.equal(s.status, 201, s.text);
    return s.body.pass;
  };
  let gp = await gateScan();
  assert.equal(gp.valid, false);
  assert.match(gp.reason, /核验/);

  let a = await abilities(c);
  assert.ok(a.code.colour, 'the health code is still shown');
  assert.equal(a.code.pass.valid, false);
  assert.match(a.code.pass.reason, /核验/);
  for (const x of [a.veh, a.vis]) {
    assert.equal(x.status, 403, x.text);
    assert.equal(errOf(x).code, 'identity_unverified');
    assert.match(errOf(x).message, /社区/);
  }
  assert.equal((await c.get('/api/v1/me/vehicles')).body.total, 0);
  assert.equal((await c.get('/api/v1/me/visitors')).body.total, 0);

  // staff outside the community cannot, staff inside can, once, after seeing the document
  assert.equal((await gwWest.post(`/api/v1/persons/${p.id}/verify`, { document_checked: true })).status, 404);
  r = await gw.post(`/api/v1/persons/${p.id}/verify`, { document_checked: false });
  assert.equal(r.status, 400, r.text);
  assert.equal((await c.get(ME_PERSON)).body.verified, false);
  r = await gw.post(`/api/v1/persons/${p.id}/verify`, { document_checked: true });
  assert.equal(r.status, 200, r.text);
  assert.equal(r.body.verified, true);
  assert.equal(r.body.version, p.version + 1);
  const hist = await gw.get(`/api/v1/persons/${p.id}/history`);
  assert.deepEqual(hist.body.items[0].changes, { verified: [false, true] });
  // the verification, and the refusal of staff outside the community (404
  // audited: one policy, security/audit.h)
  const aud = await auditWhere(`action=person.verify&object_id=${p.id}`, (x) => x.result === 'not_found');
  assert.deepEqual(aud.map((x) => x.result).sort(), ['not_found', 'ok']);
  assert.equal(aud.find((x) => x.result === 'ok').detail, 'document_checked=1');

  a = await abilities(c);
  assert.equal(a.code.pass.valid, true, JSON.stringify(a.code.pass));
  gp = await gateScan();
  assert.deepEqual(gp, { valid: true, community: COMMUNITY, community_name: '东华门街道 · 多福巷社区', reason: '' });
  assert.equal(a.veh.status, 201, a.veh.text);
  assert.equal(a.vis.status, 201, a.vis.text);
  assert.equal((await c.get(ME_PERSON)).body.verified, true);
});

test('binding to a staff record without a phone is unverified; with the same phone it stays verified', async () => {
  const idn0 = rid();
  const noPhone = await cc.post('/api/v1/persons', { name: '孙无号', id_number: idn0, region_code: COMMUNITY });
  assert.equal(noPhone.status, 201, noPhone.text);
  assert.equal(noPhone.body.verified, true);
  const c1 = await resident();
  await consent(c1);
  let r = await c1.post(ME_PERSON, reg({ name: '孙无号', id_number: idn0 }));
  assert.equal(r.status, 201, r.text);
  assert.equal(r.body.person.id, noPhone.body.id);
  assert.equal(r.body.result, 'bound');
  assert.equal(r.body.person.verified, false);
  assert.equal((await abilities(c1)).code.pass.valid, false);

  const c2 = await resident();
  await consent(c2);
  const idn = rid();
  const withPhone = await cc.post('/api/v1/persons', { name: '孙有号', id_number: idn, region_code: COMMUNITY, phone: c2.phone });
  assert.equal(withPhone.status, 201, withPhone.text);
  r = await c2.post(ME_PERSON, reg({ name: '孙有号', id_number: idn }));
  assert.equal(r.status, 201, r.text);
  assert.equal(r.body.result, 'bound');
  assert.equal(r.body.person.verified, true);
  const a = await abilities(c2);
  assert.equal(a.code.pass.valid, true);
  assert.equal(a.veh.status, 201, a.veh.text);
});

test('a self-registration cannot block the staff record: staff take it over, audited', async () => {
  // someone registers a document that is not theirs (or theirs, unverified)
  const squatter = await resident();
  await consent(squatter);
  const idn = rid();
  let r = await squatter.post(ME_PERSON, reg({ name: '李冒名', id_number: idn }));
  assert.equal(r.status, 201, r.text);
  const claimed = r.body.person;
  // the community enters the real record, elsewhere, with another phone: taken over
  r = await gwWest.post('/api/v1/persons', { name: '李真名', id_number: idn, region_code: WEST, phone: '13600001111' });
  assert.equal(r.status, 200, r.text);
  assert.equal(r.body.taken_over, true);
  assert.equal(r.body.id, claimed.id);
  assert.equal(r.body.verified, true);
  assert.equal(r.body.source, 'staff');
  assert.equal(r.body.region_code, WEST);
  assert.equal(r.body.name, '李*名');
  const full = (await findById(idn))[0];
  assert.equal(full.name, '李真名');
  assert.equal(full.phone, '13600001111');
  assert.equal(full.address, null); // the claim's fields do not survive
  // the claimant's account lost it: nothing of the real person reaches them
  r = await squatter.get(ME_PERSON);
  assert.equal(r.status, 404, r.text);
  assert.equal(errOf(r).code, 'person_not_registered');
  const aud = await auditWhere(`action=person.takeover&object_id=${claimed.id}`, () => true);
  assert.equal(aud.length, 1);
  assert.match(aud[0].detail, /^fields=/);
  // now it is a staff record: a second entry is the usual duplicate
  r = await gw.post('/api/v1/persons', { name: '李真名', id_number: idn, region_code: COMMUNITY });
  assert.equal(r.status, 409, r.text);
  assert.equal(errOf(r).code, 'duplicate_person');

  // the genuine resident, registered first: staff recording the same phone keep them bound
  const genuine = await resident();
  await consent(genuine);
  const idn2 = rid();
  r = await genuine.post(ME_PERSON, reg({ name: '周本人', id_number: idn2 }));
  assert.equal(r.status, 201, r.text);
  r = await gw.post('/api/v1/persons', { name: '周本人', id_number: idn2, region_code: COMMUNITY, phone: genuine.phone });
  assert.equal(r.status, 200, r.text);
  assert.equal(r.body.taken_over, true);
  r = await genuine.get(ME_PERSON);
  assert.equal(r.status, 200, r.text);
  assert.equal(r.body.verified, true);
  assert.equal((await abilities(genuine)).code.pass.valid, true);
});
