// Staff open a scanned resident's record to verify or complete it (seed 002
// 二(一)1, docs/web.md "核验/补录"): POST /api/v1/scans/person turns a health
// code into the person inside the caller's scope (no access record), and
// POST /api/v1/persons/{id}/confirm records 核验无误 against the version the
// staff member saw. Every refusal changes nothing and is audited.
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { startCityWith, residentId, smsCode, waitForAudit, expectError, sqlRun } from './lib.mjs';

const PW = 'Record-test-2026!';
const COMMUNITY = '110101001001';
let ctx, cc, staff, staffOther, street, gate, auditor, res;

before(async () => {
  ctx = await startCityWith(
    {
      cc_dc: ['command_center', '110101000000'],
      cs_dfx: ['community_staff', COMMUNITY],
      cs_lfs: ['community_staff', '110101002001'],
      st_dhm: ['street_staff', '110101001000'],
      gate_dc: ['checkpoint_staff', '110101000000'],
      auditor: ['audit_admin', '110000000000'],
    },
    PW,
  );
  ({ cc_dc: cc, cs_dfx: staff, cs_lfs: staffOther, st_dhm: street, gate_dc: gate, auditor } = ctx.as);
  // a resident of 多福巷社区 with a code
  res = ctx.client();
  const phone = '13811110001';
  await res.post('/api/v1/auth/sms/send', { phone });
  assert.equal((await res.post('/api/v1/auth/sms/login', { phone, code: smsCode(ctx, phone) })).status, 200);
  assert.equal((await res.post('/api/v1/me/consent', { version: 'v1' })).status, 200);
  const r = await res.post('/api/v1/me/person', { name: '张三', id_number: residentId('110101', '19900101', 41), region_code: COMMUNITY, address: '多福巷1号' });
  assert.equal(r.status, 201, r.text);
  res.personId = r.body.person.id;
});

after(async () => {
  await ctx?.stop();
});

const token = async () => (await res.get('/api/v1/me/code/token')).body.token;
const history = async (id) => (await cc.get(`/api/v1/persons/${id}/history?page_size=200`)).body.items;
const accessCount = () => Number(sqlRun(ctx, 'SELECT COUNT(*) FROM access_records').trim());

test('community staff scan a resident\'s code and get whose record it is, masked, with no access record', async () => {
  const before = accessCount();
  const t = await token();
  // typed as the text under the QR: lower case, in groups
  const r = await staff.post('/api/v1/scans/person', { token: t.toLowerCase().replace(/(.{5})/g, '$1 ') });
  assert.equal(r.status, 200, r.text);
  assert.deepEqual(r.body, { person_id: res.personId, name: '张*', region_name: '东华门街道 · 多福巷社区' });
  assert.equal(accessCount(), before, 'a home visit is not a passage');
  const aud = await waitForAudit(auditor, `action=person.scan&object_id=${res.personId}`, (x) => x.result === 'ok');
  assert.ok(aud.some((x) => x.result === 'ok' && x.user_id === staff.id), JSON.stringify(aud));
  // street staff read the registry too
  assert.equal((await street.post('/api/v1/scans/person', { token: t })).status, 200);
});

test('a code of someone outside the scope answers 404 and is audited as refused', async () => {
  const r = await staffOther.post('/api/v1/scans/person', { token: await token() });
  expectError(r, 404, 'unknown_person', 'token');
  assert.match(r.body.error.message, /不在您的管辖范围/);
  assert.ok(!r.text.includes(res.personId), 'no id of a person out of scope');
  const aud = await waitForAudit(auditor, 'action=person.scan', (x) => x.result === 'unknown_person' && x.user_id === staffOther.id);
  assert.ok(aud.some((x) => x.result === 'unknown_person' && x.user_id === staffOther.id), JSON.stringify(aud));
});

test('bad input: no token, a number, a forged token, text that is no code, a role without person.read', async () => {
  expectError(await staff.post('/api/v1/scans/person', {}), 400, 'required', 'token');
  expectError(await staff.post('/api/v1/scans/person', { token: 7 }), 400, 'invalid_type', 'token');
  const t = await token();
  const forged = t.slice(0, -2) + (t.endsWith('AA') ? 'BB' : 'AA');
  const f = await staff.post('/api/v1/scans/person', { token: forged });
  assert.equal(f.status, 400, f.text);
  assert.equal(f.body.error.field, 'token');
  assert.equal((await staff.post('/api/v1/scans/person', { token: 'hello' })).status, 400);
  // checkpoint staff check codes at a gate (POST /scans), not the registry
  expectError(await gate.post('/api/v1/scans/person', { token: t }), 403, 'forbidden');
});

test('核验无误 records who confirmed which version; a stale version or another community changes nothing', async () => {
  const p = (await staff.get(`/api/v1/persons/${res.personId}`)).body;
  const n0 = (await history(p.id)).length;
  // the version is required: a confirmation says what was seen
  expectError(await staff.post(`/api/v1/persons/${p.id}/confirm`, {}), 400, 'required', 'version');
  expectError(await staff.post(`/api/v1/persons/${p.id}/confirm`, { version: 'x' }), 400, 'invalid_type', 'version');
  // another community: 404, nothing written
  expectError(await staffOther.post(`/api/v1/persons/${p.id}/confirm`, { version: p.version }), 404, 'not_found');
  // street staff read but do not write
  expectError(await street.post(`/api/v1/persons/${p.id}/confirm`, { version: p.version }), 403, 'forbidden');
  assert.equal((await history(p.id)).length, n0);

  // the record changes under the staff member's eyes: their confirmation is refused
  const marked = await staff.patch(`/api/v1/persons/${p.id}`, { version: p.version, vulnerable: ['pregnant'], current_location: '多福巷1号' });
  assert.equal(marked.status, 200, marked.text);
  assert.deepEqual(marked.body.vulnerable, ['pregnant']);
  const n1 = (await history(p.id)).length;
  assert.equal(n1, n0 + 1);
  expectError(await staff.post(`/api/v1/persons/${p.id}/confirm`, { version: p.version }), 409, 'version_conflict', 'version');
  assert.equal((await history(p.id)).length, n1);

  const r = await staff.post(`/api/v1/persons/${p.id}/confirm`, { version: marked.body.version });
  assert.equal(r.status, 200, r.text);
  assert.equal(r.body.id, p.id);
  assert.equal(r.body.version, marked.body.version, 'nothing changed');
  assert.equal(r.body.name, '张*', 'masked');
  assert.ok(Math.abs(r.body.confirmed_at - Date.now()) < 60000);
  const h = await history(p.id);
  assert.equal(h.length, n1 + 1);
  assert.equal(h[0].action, 'confirm');
  assert.deepEqual(h[0].changes, {});
  assert.equal(h[0].user_id, staff.id);
  assert.equal(h[0].at, r.body.confirmed_at);
  const aud = await waitForAudit(auditor, `action=person.confirm&object_id=${p.id}`, (x) => x.result === 'ok');
  assert.ok(aud.some((x) => x.result === 'ok' && x.user_id === staff.id));
  assert.ok(aud.some((x) => x.result === 'version_conflict'), 'the stale attempt is on record');
  assert.ok(aud.some((x) => x.result === 'not_found' && x.user_id === staffOther.id), 'so is the other community\'s');
});
