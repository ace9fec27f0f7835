// The health commission's data (/api/v1/commission, issue 10 "Other data
// the seed names", seed 004 二2(2)): doctors and epidemiological
// investigations received by batch (≤10,000, idempotent by record id per
// caller: a repeat changes nothing, a changed record updates; per-record
// errors), investigations linked to the registry's person by identity
// number within the record's region — an unknown person kept unlinked and
// linked when they register (or by the relink action) —, lists in scope, masked,
// reveal audited, and 403 without the permissions.
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { startCityWith, CITY_STAFF, expectError, auditEntries, residentId, sqlRun } from './lib.mjs';

const PW = 'Commission-2024!';
const S1 = '110101001000'; // 东华门街道
const S1_C1 = '110101001001';
const S2 = '110101002000'; // 景山街道
const XC1 = '110102001000';
// the ingest caller: a command centre account, as in nat-transport's batch
// (exchange_client holds commission.ingest as it holds nat.ingest, but a
// console session refuses it)
let ctx, cc, hub, street1, doctor, leader, auditor;
const idA = residentId('110101', '19800101', 11);
const idB = residentId('110101', '19850202', 21);
const idLater = residentId('110101', '19900303', 31);
const docId = residentId('110101', '19700404', 41);
let personA;
const AT = Date.UTC(2022, 4, 1, 2, 0, 0);

before(async () => {
  ctx = await startCityWith(
    { ...CITY_STAFF, hub: ['command_center', '110101000000'], street1: ['street_staff', S1], leader: ['leader', '110101000000'] },
    PW,
  );
  ({ cc_dc: cc, hub, street1, doctor_dc: doctor, leader, auditor } = ctx.as);
  const r = await cc.post('/api/v1/persons', { name: '张伟明', id_number: idA, region_code: S1_C1 });
  assert.equal(r.status, 201, r.text);
  personA = r.body.id;
});

after(async () => {
  await ctx?.stop();
});

const inv = (over) => ({
  record_id: 'inv-1',
  name: '张伟明',
  id_number: idA,
  region_code: S1,
  investigated_at: AT,
  investigator: '王流调',
  institution: '东城区疾控中心',
  onset_day: '2022-04-29',
  exposure: '4月27日到访某超市',
  places: '4月28日 10:00-11:00 某餐厅',
  close_contacts: 3,
  classification: 'confirmed',
  notes: '发热38.5',
  ...over,
});

test('doctors: a batch with per-record errors; a repeat changes nothing; a change updates; masked, reveal audited', async () => {
  const records = [
    { record_id: 'doc-1', name: '李医生', id_number: docId, phone: '13800138001', institution: '东华门社区卫生服务中心', department: '全科', title: '主治医师', licence_no: 'L110101001', region_code: S1 },
    { record_id: 'doc-2', name: '赵医生', id_number: '123', institution: '某医院', region_code: S1 },
    { record_id: 'doc-3', name: '钱医生', id_number: residentId('110101', '19710505', 51), institution: '某医院', region_code: XC1 },
    { record_id: '', name: '孙医生', id_number: residentId('110101', '19720606', 61), institution: '某医院', region_code: S1 },
  ];
  let r = await hub.post('/api/v1/commission/doctors/batch', { records });
  assert.equal(r.status, 200, r.text);
  assert.deepEqual([r.body.received, r.body.created, r.body.updated, r.body.repeated, r.body.rejected], [4, 1, 0, 0, 3]);
  assert.deepEqual(r.body.errors.map((e) => [e.index, e.code, e.field]), [[1, 'invalid_id_number', 'id_number'], [2, 'invalid_region', 'region_code'], [3, 'required', 'record_id']]);
  r = await hub.post('/api/v1/commission/doctors/batch', { records: [records[0]] });
  assert.deepEqual([r.body.created, r.body.updated, r.body.repeated], [0, 0, 1]);
  r = await hub.post('/api/v1/commission/doctors/batch', { records: [{ ...records[0], title: '副主任医师' }] });
  assert.deepEqual([r.body.created, r.body.updated, r.body.repeated], [0, 1, 0]);
  r = await cc.get('/api/v1/commission/doctors');
  assert.equal(r.status, 200, r.text);
  assert.equal(r.body.total, 1);
  const d = r.body.items[0];
  assert.equal(d.title, '副主任医师');
  assert.equal(d.region_name, '东华门街道');
  assert.notEqual(d.name, '李医生');
  assert.notEqual(d.id_number, docId);
  assert.notEqual(d.phone, '13800138001');
  r = await cc.get('/api/v1/commission/doctors?reveal=1');
  assert.deepEqual([r.body.items[0].name, r.body.items[0].id_number, r.body.items[0].phone], ['李医生', docId, '13800138001']);
  const reveals = await auditEntries(auditor, 'person.reveal');
  assert.ok(reveals.some((e) => e.object_type === 'commission' && /doctors=1/.test(e.detail)), JSON.stringify(reveals));
  const batches = await auditEntries(auditor, 'commission.doctor.batch');
  assert.ok(batches.some((e) => /created=1 updated=0 repeated=0 linked=0 rejected=3/.test(e.detail)));
  // nothing of the personal data in plain text in the database
  const raw = sqlRun(ctx, "SELECT * FROM commission_doctors");
  assert.ok(!raw.includes('李医生') && !raw.includes(docId) && !raw.includes('13800138001'));
  assert.ok(raw.includes('东华门社区卫生服务中心'), 'the scan sees plain columns');
  // a doctor of another district sees none of these
  assert.equal((await ctx.as.cc_xc.get('/api/v1/commission/doctors')).body.total, 0);
});

test('investigations: a registered person linked, an unknown one kept unlinked, linked when registered, relink for the rest', async () => {
  let r = await hub.post('/api/v1/commission/investigations/batch', {
    records: [
      inv(),
      inv({ record_id: 'inv-2', name: '刘未登', id_number: idLater, classification: 'close_contact', onset_day: null, region_code: S2 }),
      inv({ record_id: 'inv-3', classification: 'unknown' }),
      inv({ record_id: 'inv-4', investigated_at: 'yesterday' }),
      // the registry's person lives in S1: a record saying S2 does not link
      inv({ record_id: 'inv-5', region_code: S2 }),
    ],
  });
  assert.equal(r.status, 200, r.text);
  assert.deepEqual([r.body.created, r.body.linked, r.body.rejected], [3, 1, 2]);
  assert.deepEqual(r.body.errors.map((e) => [e.index, e.code, e.field]), [[2, 'invalid_value', 'classification'], [3, 'invalid_time', 'investigated_at']]);
  r = await cc.get('/api/v1/commission/investigations?linked=0');
  assert.deepEqual(r.body.items.map((x) => x.record_id).sort(), ['inv-2', 'inv-5']);
  assert.equal(r.body.items[0].person_id, null);
  r = await cc.get(`/api/v1/commission/investigations?person_id=${personA}`);
  assert.deepEqual(r.body.items.map((x) => x.record_id), ['inv-1']);
  const x = r.body.items[0];
  assert.deepEqual([x.linked, x.classification, x.classification_label, x.onset_day, x.close_contacts], [true, 'confirmed', '确诊病例', '2022-04-29', 3]);
  assert.equal(x.exposure, null, 'sensitive texts only when revealed');
  assert.notEqual(x.name, '张伟明');
  r = await cc.get(`/api/v1/commission/investigations?person_id=${personA}&reveal=1`);
  assert.deepEqual([r.body.items[0].name, r.body.items[0].exposure, r.body.items[0].notes], ['张伟明', '4月27日到访某超市', '发热38.5']);
  const reveals = await auditEntries(auditor, 'person.reveal', personA);
  assert.ok(reveals.some((e) => e.object_type === 'person' && /investigations=1/.test(e.detail)));
  // the person registers: the waiting record is linked in the same transaction
  r = await cc.post('/api/v1/persons', { name: '刘未登', id_number: idLater, region_code: '110101002001' });
  assert.equal(r.status, 201, r.text);
  const later = r.body.id;
  r = await cc.get('/api/v1/commission/investigations?linked=0');
  assert.deepEqual(r.body.items.map((i) => i.record_id), ['inv-5']);
  r = await cc.get(`/api/v1/commission/investigations?person_id=${later}`);
  assert.deepEqual(r.body.items.map((i) => i.record_id), ['inv-2']);
  // a record left unlinked (data from before the link on registration): relink links it
  sqlRun(ctx, "UPDATE commission_investigations SET person_id = NULL WHERE record_id = 'inv-2'");
  r = await hub.post('/api/v1/commission/investigations/relink', {});
  assert.equal(r.status, 200, r.text);
  assert.equal(r.body.linked, 1);
  r = await cc.get(`/api/v1/commission/investigations?person_id=${later}`);
  assert.deepEqual(r.body.items.map((i) => i.record_id), ['inv-2']);
  // the workbench counts the unlinked in scope as a to-do
  const wb = (await cc.get('/api/v1/workbench')).body.entries.find((e) => e.key === 'commission_unlinked');
  assert.deepEqual([wb.count, wb.todo, wb.console], [1, true, '/commission?linked=0']);
  // relinking again links nothing more
  assert.equal((await hub.post('/api/v1/commission/investigations/relink', {})).body.linked, 0);
  // nothing sensitive in plain text
  const raw = sqlRun(ctx, 'SELECT * FROM commission_investigations');
  assert.ok(!raw.includes('张伟明') && !raw.includes(idA) && !raw.includes('某超市') && !raw.includes('发热'));
  assert.ok(raw.includes('王流调'), 'the scan sees plain columns');
});

test('a repeated batch changes nothing; a changed record updates in place', async () => {
  const before = sqlRun(ctx, 'SELECT id, digest, updated_at FROM commission_investigations ORDER BY id');
  let r = await hub.post('/api/v1/commission/investigations/batch', { records: [inv()] });
  assert.deepEqual([r.body.created, r.body.updated, r.body.repeated], [0, 0, 1]);
  assert.equal(sqlRun(ctx, 'SELECT id, digest, updated_at FROM commission_investigations ORDER BY id'), before);
  r = await hub.post('/api/v1/commission/investigations/batch', { records: [inv({ close_contacts: 5 })] });
  assert.deepEqual([r.body.created, r.body.updated, r.body.repeated, r.body.linked], [0, 1, 0, 1]);
  r = await cc.get(`/api/v1/commission/investigations?person_id=${personA}`);
  assert.deepEqual(r.body.items.map((x) => [x.record_id, x.close_contacts]), [['inv-1', 5]]);
  // another caller's record of the same id is its own record
  r = await cc.post('/api/v1/commission/investigations/batch', { records: [inv()] });
  assert.deepEqual([r.body.created, r.body.repeated], [1, 0]);
  r = await cc.get(`/api/v1/commission/investigations?person_id=${personA}`);
  assert.equal(r.body.total, 2);
});

test('scope, batch bounds and permissions', async () => {
  // the street sees its street's records only
  let r = await street1.get('/api/v1/commission/investigations');
  assert.equal(r.status, 200, r.text);
  assert.ok(r.body.items.length > 0);
  assert.ok(r.body.items.every((x) => x.region_code === S1), JSON.stringify(r.body.items));
  assert.equal((await doctor.get('/api/v1/commission/doctors')).status, 200);
  expectError(await street1.get(`/api/v1/commission/investigations?region_code=${S2}`), 400, 'invalid_region', 'region_code');
  expectError(await street1.get('/api/v1/commission/investigations?reveal=1'), 403, 'reveal_forbidden', 'reveal');
  expectError(await hub.post('/api/v1/commission/investigations/batch', { records: [] }), 400, 'invalid_batch', 'records');
  const many = Array.from({ length: 10001 }, (_, i) => ({ record_id: `m-${i}` }));
  expectError(await hub.post('/api/v1/commission/investigations/batch', { records: many }), 400, 'invalid_batch', 'records');
  expectError(await street1.post('/api/v1/commission/investigations/batch', { records: [inv()] }), 403, 'forbidden');
  expectError(await leader.get('/api/v1/commission/investigations'), 403, 'forbidden');
  expectError(await street1.post('/api/v1/commission/investigations/relink', {}), 403, 'forbidden');
});
