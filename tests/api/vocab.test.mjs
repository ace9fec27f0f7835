// GET /api/v1/vocabularies: every enumerated value the pages show, with its
// Chinese name, generated from the server's own tables: the values are
// exactly those the API's checks accept (compared with the OpenAPI enums
// the same tables produce, and with a real request), signed-in only.
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { startServer, CITY_CSV, writeTmp } from './lib.mjs';

const PW = 'Vocab-test-2024!';
let ctx, gw, anon, doc;

before(async () => {
  ctx = await startServer({
    setup: (c) => {
      c.must(['import', 'regions', writeTmp(c, 'city.csv', CITY_CSV)]);
      c.must(['user', 'add', '--username', 'v_gw', '--password', PW, '--role', 'grid_worker', '--region', '110101001001']);
    },
  });
  gw = ctx.client();
  await gw.login('v_gw', PW);
  anon = ctx.client();
});

after(async () => {
  await ctx?.stop();
});

const values = (key) => doc[key].items.map((x) => x.value);
const label = (key, v) => doc[key].items.find((x) => x.value === v)?.label;

test('signed-in users get every vocabulary with Chinese names; strangers get 401', async () => {
  const no = await anon.get('/api/v1/vocabularies');
  assert.equal(no.status, 401, no.text);
  const r = await gw.get('/api/v1/vocabularies');
  assert.equal(r.status, 200, r.text);
  doc = r.body;
  const keys = [
    'person_statuses', 'person_categories', 'genders', 'id_types', 'vulnerable_groups', 'person_sources',
    'code_colors', 'zone_kinds', 'place_kinds', 'venue_kinds', 'venue_directions', 'device_kinds',
    'visitor_statuses', 'vehicle_kinds', 'alert_kinds', 'alert_levels', 'permission_groups', 'permissions',
    'person_fields', 'task_kinds', 'task_states', 'task_priorities', 'check_methods', 'symptoms',
  ];
  for (const k of keys) {
    assert.ok(doc[k], `vocabulary ${k}`);
    assert.match(doc[k].label, /\p{Script=Han}/u, `${k} has a Chinese name`);
    assert.ok(doc[k].items.length > 0, `${k} has values`);
    for (const it of doc[k].items) {
      assert.match(it.value, /^[a-z_.]+$/, `${k}: ${it.value}`);
      assert.match(it.label, /\p{Script=Han}/u, `${k}.${it.value} has a Chinese name`);
    }
  }
  assert.equal(label('person_statuses', 'home_isolation'), '居家隔离');
  assert.equal(label('code_colors', 'red'), '红码');
  assert.equal(label('device_kinds', 'camera'), '车牌识别摄像机');
  assert.equal(label('vehicle_kinds', 'new_energy'), '新能源汽车');
  assert.equal(label('id_types', 'resident_id'), '居民身份证');
  assert.deepEqual(values('genders').sort(), ['female', 'male', 'unknown']);
  // the task board's and the checks' lists (the console keeps no copy)
  assert.deepEqual(values('task_states'), ['pending', 'accepted', 'done', 'returned', 'overdue', 'cancelled']);
  assert.equal(label('task_states', 'pending'), '待接收');
  assert.deepEqual(values('task_priorities'), ['urgent', 'high', 'normal']);
  assert.equal(label('task_priorities', 'high'), '较急');
  // every kind registered at start-up, the built-in one first
  assert.equal(values('task_kinds')[0], 'general');
  for (const k of ['verify', 'check', 'follow_up', 'transfer']) assert.ok(values('task_kinds').includes(k), k);
  assert.equal(label('task_kinds', 'verify'), '入户核实');
  assert.deepEqual(values('check_methods'), ['doctor', 'self']);
  assert.equal(label('check_methods', 'self'), '本人自查');
  // the symptoms of a declaration, a report and a check, in their bit order
  assert.deepEqual(values('symptoms'), ['fever', 'cough', 'fatigue', 'shortness_of_breath', 'vomiting', 'diarrhoea', 'rash', 'headache', 'other']);
  assert.equal(label('symptoms', 'shortness_of_breath'), '气促');
  // permissions carry their group, and every group has a name
  const perm = doc.permissions.items.find((x) => x.value === 'person.reveal');
  assert.equal(perm.label, '查看完整个人信息');
  assert.equal(perm.group, 'person');
  for (const p of doc.permissions.items) assert.ok(values('permission_groups').includes(p.group), p.value);
  // the person record's fields, with the masked ones marked
  const f = Object.fromEntries(doc.person_fields.items.map((x) => [x.value, x]));
  assert.equal(f.emergency_contact_phone.label, '紧急联系人电话');
  assert.equal(f.phone.masked, true);
  assert.equal(f.status.masked, false);
  // no personal data: nothing looks like a phone or an id number
  assert.ok(!/\d{11}/.test(r.text));
});

test('the values are exactly those the API accepts (one table for both)', async () => {
  doc ??= (await gw.get('/api/v1/vocabularies')).body;
  const api = (await anon.get('/api/v1/openapi.json')).body;
  const schema = (path, method) => api.paths[path][method].requestBody.content['application/json'].schema.properties;
  const person = schema('/api/v1/persons', 'post');
  assert.deepEqual(person.status.enum, values('person_statuses'));
  assert.deepEqual(person.category.enum, values('person_categories'));
  assert.deepEqual(person.id_type.enum, values('id_types'));
  assert.deepEqual(person.gender.enum.slice().sort(), values('genders').slice().sort());
  assert.deepEqual(person.source.enum, values('person_sources'));
  assert.deepEqual(person.vulnerable.items.enum, values('vulnerable_groups'));
  assert.deepEqual(schema('/api/v1/places', 'post').kind.enum, values('place_kinds'));
  assert.deepEqual(schema('/api/v1/venues', 'post').kind.enum, values('venue_kinds'));
  assert.deepEqual(schema('/api/v1/devices', 'post').kind.enum, values('device_kinds'));
  // and a value outside the vocabulary is refused with its field
  const bad = await gw.post('/api/v1/persons', { name: '词表', id_number: '110101199003070011', region_code: '110101001001', status: 'sleeping' });
  assert.equal(bad.status, 400, bad.text);
  assert.equal(bad.body.error.field, 'status');
  assert.equal(bad.body.error.code, 'invalid_value');
});
