// Elderly health monitoring through the API (docs/community-services.md):
// enrolment (elderly living alone by default, staff add and remove), the
// daily 今日平安 check-in by the resident or by staff on their behalf (once a
// day, bad input refused), the list and statistics per community in scope,
// and the sweep that turns a missed day into one task for the grid workers.
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { startCityWith, residentId, smsCode, expectError } from './lib.mjs';

const PW = 'Passw0rd!checkin';
const COMMUNITY = '110101001001'; // 多福巷社区
const BUILDING = '110101001001001001';
const OTHER = '110101002001'; // 隆福寺社区
let ctx, cs, csOther, gw, old, young, alone2, plain;
let seq = 0;
const rid = (birth = '19400101') => residentId('110101', birth, 300 + ++seq * 2, seq % 2 === 0);

async function resident(body) {
  const phone = '1393000' + String(1000 + ++seq).padStart(4, '0');
  const c = ctx.client();
  assert.equal((await c.post('/api/v1/auth/sms/send', { phone })).status, 200);
  assert.equal((await c.post('/api/v1/auth/sms/login', { phone, code: smsCode(ctx, phone) })).status, 200);
  assert.equal((await c.post('/api/v1/me/consent', { version: 'v1' })).status, 200);
  const r = await c.post('/api/v1/me/person', { id_number: rid(), region_code: BUILDING, address: '多福巷5号', ...body });
  assert.equal(r.status, 201, r.text);
  c.personId = r.body.person.id;
  return c;
}

before(async () => {
  ctx = await startCityWith(
    {
      k_cs: ['community_staff', COMMUNITY],
      k_cs_other: ['community_staff', OTHER],
      k_gw: ['grid_worker', COMMUNITY],
    },
    PW,
  );
  ({ k_cs: cs, k_cs_other: csOther, k_gw: gw } = ctx.as);
  old = await resident({ name: '张奶奶', vulnerable: ['elderly_alone'] });
  young = await resident({ name: '李青年' });
  let r = await cs.post('/api/v1/persons', { name: '刘爷爷', id_number: rid('19380202'), region_code: BUILDING, address: '多福巷7号', vulnerable: ['elderly_alone'] });
  assert.equal(r.status, 201, r.text);
  alone2 = r.body.id;
  r = await cs.post('/api/v1/persons', { name: '陈伯伯', id_number: rid('19450303'), region_code: BUILDING });
  assert.equal(r.status, 201, r.text);
  plain = r.body.id;
});
after(async () => ctx?.stop());

test('the resident checks in once a day; bad input and the unenrolled are refused', async () => {
  let r = await old.get('/api/v1/me/care');
  assert.equal(r.status, 200, r.text);
  assert.equal(r.body.enrolled, true);
  assert.equal(r.body.today, null);
  expectError(await old.post('/api/v1/me/care/checkin', { temperature: 50 }), 400, 'invalid_temperature', 'temperature');
  expectError(await old.post('/api/v1/me/care/checkin', { temperature: 'hot' }), 400, 'invalid_type', 'temperature');
  expectError(await old.post('/api/v1/me/care/checkin', { feeling: 'happy' }), 400, 'invalid_value', 'feeling');
  expectError(await old.post('/api/v1/me/care/checkin', { person_id: String(alone2) }), 400, 'unknown_field', 'person_id');
  assert.equal((await old.get('/api/v1/me/care')).body.today, null, 'refusals wrote nothing');
  r = await old.post('/api/v1/me/care/checkin', { temperature: 36.6, feeling: 'fair' });
  assert.equal(r.status, 201, r.text);
  assert.equal(r.body.feeling_label, '一般');
  assert.equal(r.body.temperature, 36.6);
  r = await old.post('/api/v1/me/care/checkin', {});
  assert.equal(r.status, 200, r.text);
  assert.equal(r.body.created, false);
  assert.equal(r.body.feeling, 'fair', 'the first check-in of the day stands');
  r = await old.get('/api/v1/me/care');
  assert.equal(r.body.today.feeling, 'fair');
  assert.equal(r.body.recent.length, 1);
  // not enrolled: told so, nothing written
  assert.equal((await young.get('/api/v1/me/care')).body.enrolled, false);
  expectError(await young.post('/api/v1/me/care/checkin', {}), 409, 'not_enrolled');
  // staff cannot use the resident's door
  assert.equal((await cs.post('/api/v1/me/care/checkin', {})).status, 403);
});

test('staff: enrolment, check-in on behalf, list and statistics in scope', async () => {
  let r = await cs.get('/api/v1/service/care/people');
  assert.equal(r.status, 200, r.text);
  assert.equal(r.body.total, 2, r.text); // the two flagged elderly_alone
  const names = r.body.items.map((x) => x.name).sort();
  assert.deepEqual(names, ['刘*爷', '张*奶']);
  assert.ok(r.body.items.every((x) => x.enrolled_by === 'flag'));
  r = await cs.get('/api/v1/service/care/people?state=missing');
  assert.deepEqual(r.body.items.map((x) => x.person_id), [String(alone2)]);
  expectError(await cs.get('/api/v1/service/care/people?state=late'), 400, 'invalid_value', 'state');
  expectError(await cs.get('/api/v1/service/care/people?date=2026/1/1'), 400, 'invalid_date', 'date');
  // another community sees none of them, and cannot act on them
  assert.equal((await csOther.get('/api/v1/service/care/people')).body.total, 0);
  expectError(await csOther.post('/api/v1/service/care/checkins', { person_id: String(alone2) }), 404, 'not_found', 'person_id');
  expectError(await csOther.post('/api/v1/service/care/enrolments', { person_id: String(plain) }), 404, 'not_found', 'person_id');
  // bad input
  expectError(await gw.post('/api/v1/service/care/checkins', {}), 400, 'required', 'person_id');
  expectError(await gw.post('/api/v1/service/care/checkins', { person_id: String(alone2), temperature: 30 }), 400, 'invalid_temperature', 'temperature');
  expectError(await gw.post('/api/v1/service/care/checkins', { person_id: String(plain) }), 409, 'not_enrolled', 'person_id');
  // the grid worker records for 刘爷爷
  r = await gw.post('/api/v1/service/care/checkins', { person_id: String(alone2), feeling: 'unwell', temperature: 37.1 });
  assert.equal(r.status, 201, r.text);
  assert.equal(r.body.by_staff, true);
  // a grid worker does not keep the enrolment
  assert.equal((await gw.post('/api/v1/service/care/enrolments', { person_id: String(plain) })).status, 403);
  // staff add 陈伯伯 and remove 张奶奶
  r = await cs.post('/api/v1/service/care/enrolments', { person_id: String(plain) });
  assert.equal(r.status, 200, r.text);
  r = await cs.del(`/api/v1/service/care/enrolments/${old.personId}`);
  assert.equal(r.status, 200, r.text);
  expectError(await cs.del('/api/v1/service/care/enrolments/x'), 404, 'not_found');
  assert.equal((await old.get('/api/v1/me/care')).body.enrolled, false);
  r = await cs.get('/api/v1/service/care/people');
  assert.deepEqual(r.body.items.map((x) => x.name).sort(), ['刘*爷', '陈*伯']);
  assert.equal(r.body.items.find((x) => x.name === '陈*伯').enrolled_by, 'staff');
  r = await cs.get('/api/v1/service/care/stats');
  assert.equal(r.status, 200, r.text);
  assert.deepEqual(r.body.items, [{ region_code: COMMUNITY, region_name: '多福巷社区', enrolled: 2, checked: 1, missing: 1 }]);
  // 张奶奶 back in
  assert.equal((await cs.post('/api/v1/service/care/enrolments', { person_id: String(old.personId) })).status, 200);
});

test('the sweep makes one task per missed day for the grid workers', async () => {
  const today = new Date(Date.now() + 8 * 3600_000).toISOString().slice(0, 10);
  expectError(await cs.post('/api/v1/service/care/sweep', { date: 'x' }), 400, 'too_short', 'date');
  expectError(await cs.post('/api/v1/service/care/sweep', { date: '2026-13-01' }), 400, 'invalid_date', 'date');
  expectError(await cs.post('/api/v1/service/care/sweep', { date: '2999-01-01' }), 400, 'invalid_day', 'day');
  assert.equal((await gw.post('/api/v1/service/care/sweep', { date: today })).status, 403);
  // today: 张奶奶 and 刘爷爷 checked in, 陈伯伯 did not
  let r = await cs.post('/api/v1/service/care/sweep', { date: today });
  assert.equal(r.status, 200, r.text);
  assert.equal(r.body.tasks, 1);
  r = await cs.post('/api/v1/service/care/sweep', { date: today });
  assert.equal(r.body.tasks, 0, 'once per person and day');
  r = await gw.get('/api/v1/me/tasks');
  assert.equal(r.status, 200, r.text);
  const t = r.body.items.find((x) => x.kind === 'care_missed');
  assert.ok(t, r.text);
  assert.match(t.title, /健康监测未打卡：陈\*伯/);
  r = await cs.get('/api/v1/service/care/people?state=missing');
  assert.equal(r.body.items[0].missed_days, 1);
  // the other community's grid worker got nothing
  assert.equal((await csOther.get('/api/v1/tasks?kind=care_missed')).body.total ?? 0, 0);
});
