// Environment clues through the API (docs/community-services.md
// "Environment clues"): a resident reports with a position and a photo (bad
// input refused, nothing written); the clue is a task "env_clue" for the
// community staff; completing the task records the result the resident
// reads; another community's staff and another resident see nothing.
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { startCityWith, residentId, smsCode, expectError } from './lib.mjs';

const PW = 'Passw0rd!serviceclue';
const COMMUNITY = '110101001001';
const BUILDING = '110101001001001001';
const OTHER = '110101002001';
const JPEG = Buffer.from([0xff, 0xd8, 0xff, 0xe0, 0, 16, 0x4a, 0x46, 0x49, 0x46, 0, 1, ...Buffer.alloc(64, 0x5a)]);
let ctx, cs, csOther, alice, bob;

let seq = 0;
async function resident(name) {
  seq += 1;
  const phone = '1392200' + String(1000 + seq).padStart(4, '0');
  const c = ctx.client();
  assert.equal((await c.post('/api/v1/auth/sms/send', { phone })).status, 200);
  assert.equal((await c.post('/api/v1/auth/sms/login', { phone, code: smsCode(ctx, phone) })).status, 200);
  assert.equal((await c.post('/api/v1/me/consent', { version: 'v1' })).status, 200);
  const r = await c.post('/api/v1/me/person', { name, id_number: residentId('110101', '19800101', 500 + seq * 2, false), region_code: BUILDING, address: '多福巷5号' });
  assert.equal(r.status, 201, r.text);
  return c;
}

before(async () => {
  ctx = await startCityWith({ c_cs: ['community_staff', COMMUNITY], c_cs_other: ['community_staff', OTHER] }, PW);
  ({ c_cs: cs, c_cs_other: csOther } = ctx.as);
  alice = await resident('赵美兰');
  bob = await resident('钱大伟');
});
after(async () => ctx?.stop());

test('a clue becomes a task for the community staff; its completion is the result the resident reads', async () => {
  const good = { category: 'road', text: '路口垃圾堆放三天无人清理', lat: 39.93, lng: 116.41 };
  const cases = [
    [{ ...good, category: 'river' }, 'invalid_value', 'category'],
    [{ text: good.text }, 'required', 'category'],
    [{ category: 'road' }, 'required', 'text'],
    [{ ...good, text: '脏'.repeat(501) }, 'too_long', 'text'],
    [{ ...good, lat: 91 }, 'invalid_position', 'lat'],
    [{ ...good, lng: undefined }, 'invalid_position', 'lng'],
    [{ ...good, lat: 'north' }, 'invalid_type', 'lat'],
    [{ ...good, attachments: ['999'] }, 'invalid_attachment', 'attachments[0]'],
  ];
  for (const [body, code, field] of cases) expectError(await alice.post('/api/v1/me/clues', body), 400, code, field);
  assert.equal((await alice.get('/api/v1/me/clues')).body.total, 0, 'nothing written by the refusals');
  assert.equal((await cs.get('/api/v1/tasks?kind=env_clue')).body.total, 0, 'and no task');
  assert.equal((await cs.post('/api/v1/me/clues', good)).status, 403, 'staff are not residents');

  const up = await alice.post('/api/v1/attachments', JPEG, { 'content-type': 'image/jpeg' });
  let r = await alice.post('/api/v1/me/clues', { ...good, attachments: [up.body.id] });
  assert.equal(r.status, 201, r.text);
  const clue = r.body;
  assert.equal(clue.state, 'open');
  assert.equal(clue.category_label, '公共道路');
  assert.equal(clue.attachments.length, 1);
  assert.equal(clue.lat, 39.93);
  expectError(await bob.get(`/api/v1/me/clues/${clue.id}`), 404, 'not_found');
  assert.equal((await bob.get('/api/v1/me/clues')).body.total, 0);

  // the staff's list and the task
  r = await cs.get('/api/v1/service/clues');
  assert.equal(r.status, 200, r.text);
  assert.equal(r.body.total, 1);
  const row = r.body.items[0];
  assert.equal(row.person_name, '赵*兰');
  assert.equal(row.text, good.text);
  assert.equal(row.task_state, 'pending');
  assert.equal((await csOther.get('/api/v1/service/clues')).body.total, 0, 'another community sees nothing');
  expectError(await cs.get('/api/v1/service/clues?state=x'), 400, 'invalid_parameter', 'state');
  expectError(await cs.get('/api/v1/service/clues?category=x'), 400, 'invalid_parameter', 'category');
  assert.equal((await cs.get('/api/v1/service/clues?category=market')).body.total, 0);
  r = await cs.get(`/api/v1/tasks/${row.task_id}`);
  assert.equal(r.status, 200, r.text);
  assert.equal(r.body.kind, 'env_clue');
  assert.equal(r.body.title, '环境线索：公共道路');
  assert.ok(!JSON.stringify(r.body).includes('赵美兰'), 'no full name on the task');
  assert.equal((await csOther.get(`/api/v1/tasks/${row.task_id}`)).status, 404);

  // completing the task needs a result; with one, the resident reads it
  assert.equal((await cs.post(`/api/v1/tasks/${row.task_id}/accept`)).status, 200);
  r = await cs.post(`/api/v1/tasks/${row.task_id}/complete`, { result: {} });
  assert.equal(r.status, 400, r.text);
  assert.equal(r.body.error.field, 'result.text');
  assert.equal((await alice.get(`/api/v1/me/clues/${clue.id}`)).body.state, 'open', 'a refused completion changes nothing');
  r = await cs.post(`/api/v1/tasks/${row.task_id}/complete`, { result: { text: '已通知环卫清运' } });
  assert.equal(r.status, 200, r.text);
  r = await alice.get(`/api/v1/me/clues/${clue.id}`);
  assert.equal(r.body.state, 'done');
  assert.equal(r.body.state_label, '已处理');
  assert.equal(r.body.result, '已通知环卫清运');
  assert.ok(r.body.result_at > 0);
  assert.equal((await cs.get('/api/v1/service/clues?state=done')).body.items[0].result_by_name, 'c_cs');
});
