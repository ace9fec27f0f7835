// Health declarations and temperatures through the API: a resident declares
// for themselves (consent and a bound record first), staff declare on
// someone's behalf, checkpoints record measured temperatures; every value
// is checked (range, one decimal, symptom names, types, unknown fields) and
// a refused request stores nothing; another region's person is a 404; the
// code turns yellow on a fever the moment it is recorded and green again on
// a later normal reading; reads and writes are audited.
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { startServer, CITY_CSV, writeTmp, residentId, smsCode, totpSecretFrom, waitForAudit, errOf, startCityWith } from './lib.mjs';

const PW = 'Passw0rd!health';
const COMMUNITY = '110101001001';
const WEST = '110102001001';
let ctx, cc, gw, gwWest, cp, leader, auditor;

let seq = 0;
const rid = () => residentId('110101', '19880203', 300 + ++seq * 2);
let phoneSeq = 0;
const newPhone = () => '1392000' + String(1000 + ++phoneSeq).padStart(4, '0');

async function person(region = COMMUNITY, over = {}) {
  const r = await cc.post('/api/v1/persons', { name: '李四', id_number: rid(), region_code: region, ...over });
  assert.equal(r.status, 201, r.text);
  return r.body.id;
}

async function resident() {
  const phone = newPhone();
  const c = ctx.client();
  let r = await c.post('/api/v1/auth/sms/send', { phone });
  assert.equal(r.status, 200, r.text);
  r = await c.post('/api/v1/auth/sms/login', { phone, code: smsCode(ctx, phone) });
  assert.equal(r.status, 200, r.text);
  c.id = r.body.id;
  return c;
}

const good = (over = {}) => ({ temperature: 36.5, symptoms: [], contact: false, ...over });

async function codeOf(id) {
  const r = await cc.get(`/api/v1/persons/${id}/code`);
  assert.equal(r.status, 200, r.text);
  return r.body;
}

async function count(id, what = 'declarations') {
  const r = await cc.get(`/api/v1/persons/${id}/${what}?page_size=1`);
  assert.equal(r.status, 200, r.text);
  return r.body.total;
}

const auditWhere = (query, pred) => waitForAudit(auditor, query, pred);

before(async () => {
  ctx = await startCityWith(
    {
      h_cc: ['command_center', '110100000000'],
      h_gw: ['grid_worker', COMMUNITY],
      h_gw_west: ['grid_worker', WEST],
      h_cp: ['checkpoint_staff', COMMUNITY],
      h_leader: ['leader', '110100000000'],
      h_auditor: ['audit_admin', '110100000000'],
    },
    PW,
  );
  ({ h_cc: cc, h_gw: gw, h_gw_west: gwWest, h_cp: cp, h_leader: leader, h_auditor: auditor } = ctx.as);
});
after(async () => ctx?.stop());

test('a resident declares daily: consent and a bound record first, then history and code', async () => {
  const c = await resident();
  let r = await c.post('/api/v1/me/declarations', good());
  assert.deepEqual([r.status, errOf(r).code], [403, 'consent_required']);
  assert.equal((await c.post('/api/v1/me/consent', { version: 'v1' })).status, 200);
  r = await c.post('/api/v1/me/declarations', good());
  assert.deepEqual([r.status, errOf(r).code], [404, 'person_not_registered']);
  r = await c.post('/api/v1/me/person', { name: '王五', id_number: rid(), region_code: COMMUNITY, address: '多福巷1号' });
  assert.equal(r.status, 201, r.text);
  const pid = r.body.person.id;

  r = await c.post('/api/v1/me/declarations', good({
    symptoms: ['cough', 'other'], symptom_other: '嗓子痛', travel: '去过朝阳区', travel_regions: ['110105000000'],
    contact: true, contact_text: '同事确诊',
  }));
  assert.equal(r.status, 201, r.text);
  const d = r.body;
  assert.equal(d.person_id, pid);
  assert.equal(d.temperature, 36.5);
  assert.equal(d.fever, false);
  assert.deepEqual(d.symptoms, ['cough', 'other']);
  assert.equal(d.symptom_other, '嗓子痛');
  assert.deepEqual(d.travel_regions, ['110105000000']);
  assert.equal(d.contact, true);
  assert.equal(d.contact_text, '同事确诊');
  assert.equal(d.source, 'self');
  assert.equal(typeof d.id, 'string');

  r = await c.get('/api/v1/me/code');
  assert.equal(r.status, 200, r.text);
  assert.equal(r.body.colour, 'green');
  assert.equal(r.body.name, '王*');
  assert.equal(r.body.latest_test, null);

  // a fever: yellow at once, with the reason
  r = await c.post('/api/v1/me/declarations', good({ temperature: 38.2, symptoms: ['fever'] }));
  assert.equal(r.status, 201, r.text);
  assert.equal(r.body.fever, true);
  r = await c.get('/api/v1/me/code');
  assert.equal(r.body.colour, 'yellow');
  assert.deepEqual(r.body.reasons.map((x) => x.rule), ['fever']);
  assert.match(r.body.reasons[0].text, /24小时内体温达到37.3℃/);

  r = await c.get('/api/v1/me/declarations');
  assert.equal(r.status, 200, r.text);
  assert.equal(r.body.total, 2);
  assert.equal(r.body.items[0].temperature, 38.2); // newest first
  // the resident reaches only their own record: staff routes are refused
  r = await c.get(`/api/v1/persons/${pid}/declarations`);
  assert.equal(r.status, 403);
  // staff in scope see the same history
  r = await gw.get(`/api/v1/persons/${pid}/declarations`);
  assert.equal(r.status, 200, r.text);
  assert.equal(r.body.total, 2);
  // staff have no /me declarations
  r = await gw.post('/api/v1/me/declarations', good());
  assert.equal(r.status, 403);
});

test('staff declare on behalf of a person in scope; another region is a 404', async () => {
  const pid = await person();
  let r = await gw.post(`/api/v1/persons/${pid}/declarations`, good({ temperature: 37.0 }));
  assert.equal(r.status, 201, r.text);
  assert.equal(r.body.source, 'staff');
  assert.equal(r.body.user_id, gw.id);
  r = await gwWest.post(`/api/v1/persons/${pid}/declarations`, good());
  assert.deepEqual([r.status, errOf(r).code], [404, 'not_found']);
  r = await gwWest.get(`/api/v1/persons/${pid}/declarations`);
  assert.equal(r.status, 404);
  r = await gwWest.get(`/api/v1/persons/${pid}/temperatures`);
  assert.equal(r.status, 404);
  r = await gw.post('/api/v1/persons/999999999/declarations', good());
  assert.equal(r.status, 404);
  // a leader reads but does not write
  r = await leader.get(`/api/v1/persons/${pid}/declarations`);
  assert.equal(r.status, 200);
  r = await leader.post(`/api/v1/persons/${pid}/declarations`, good());
  assert.equal(r.status, 403);
  assert.equal(await count(pid), 1);
});

test('bad declarations are refused with the field and change nothing', async () => {
  const pid = await person();
  const url = `/api/v1/persons/${pid}/declarations`;
  const cases = [
    ['{"temperature": 36.5,', 'invalid_json', undefined],
    [good({ mood: 'ok' }), 'unknown_field', 'mood'],
    [good({ temperature: 'hot' }), 'invalid_type', 'temperature'],
    [good({ temperature: null }), 'invalid_type', 'temperature'],
    [{ symptoms: [], contact: false }, 'required', 'temperature'],
    [good({ temperature: 34.9 }), 'out_of_range', 'temperature'],
    [good({ temperature: 42.1 }), 'out_of_range', 'temperature'],
    [good({ temperature: 37.25 }), 'out_of_range', 'temperature'],
    [good({ symptoms: ['sneezing'] }), 'invalid_value', 'symptoms'],
    [good({ symptoms: [1] }), 'invalid_value', 'symptoms'],
    [good({ symptoms: 'cough' }), 'invalid_type', 'symptoms'],
    [good({ symptoms: ['other'] }), 'required', 'symptom_other'],
    [good({ symptom_other: '头晕' }), 'invalid_value', 'symptom_other'],
    [good({ travel_regions: ['abc'] }), 'invalid_region', 'travel_regions'],
    [good({ contact: 'no' }), 'invalid_type', 'contact'],
    [good({ contact_text: '无' }), 'invalid_value', 'contact_text'],
    [good({ travel: 'x'.repeat(201) }), 'too_long', 'travel'],
  ];
  for (const [body, code, field] of cases) {
    const r = await gw.post(url, body);
    assert.equal(r.status, 400, `${JSON.stringify(body)}: ${r.text}`);
    assert.equal(errOf(r).code, code, JSON.stringify(body));
    if (field) assert.equal(errOf(r).field, field, JSON.stringify(body));
    assert.ok(errOf(r).message, 'a message');
  }
  // the bounds themselves are accepted
  for (const t of [35.0, 42.0, 36]) assert.equal((await gw.post(url, good({ temperature: t }))).status, 201, `${t}`);
  assert.equal(await count(pid), 3);
});

// A venue and a thermometer in the community, and the same in another
// district; a gate device that measures nothing.
async function devices() {
  const out = {};
  for (const [key, region, client] of [['', COMMUNITY, cc], ['west', WEST, cc]]) {
    let r = await client.post('/api/v1/places', { name: `测温小区${key}`, kind: 'community', region_code: region });
    assert.equal(r.status, 201, r.text);
    r = await client.post('/api/v1/venues', { name: `测温小区${key}东门`, kind: 'community_gate', place_id: r.body.id });
    assert.equal(r.status, 201, r.text);
    const venue = r.body.id;
    r = await client.post('/api/v1/devices', { name: '测温仪', kind: 'thermometer', venue_id: venue });
    assert.equal(r.status, 201, r.text);
    out[key ? 'westVenue' : 'venue'] = venue;
    out[key ? 'westThermometer' : 'thermometer'] = r.body.id;
    if (!key) {
      r = await client.post('/api/v1/devices', { name: '道闸', kind: 'gate', venue_id: venue });
      assert.equal(r.status, 201, r.text);
      out.gateDevice = r.body.id;
    }
  }
  return out;
}

test('temperatures: range, source, time; a fever turns the code yellow and a later normal reading green', async () => {
  const pid = await person();
  const url = `/api/v1/persons/${pid}/temperatures`;
  const { venue, thermometer, westVenue, westThermometer, gateDevice } = await devices();
  let r = await cp.post(url, { value: 38.5, source: 'checkpoint', venue_id: venue });
  assert.equal(r.status, 201, r.text);
  assert.equal(r.body.fever, true);
  assert.equal(r.body.venue_id, venue);
  assert.equal(r.body.source, 'checkpoint');
  let code = await codeOf(pid);
  assert.equal(code.colour, 'yellow');
  assert.deepEqual(code.reasons.map((x) => x.rule), ['fever']);

  r = await cp.post(url, { value: 36.6, source: 'manual' });
  assert.equal(r.status, 201, r.text);
  assert.equal(r.body.fever, false);
  code = await codeOf(pid);
  assert.equal(code.colour, 'green');
  assert.deepEqual(code.reasons, []);

  // an older fever recorded late does not undo the later normal reading
  r = await cp.post(url, { value: 39.0, source: 'device', device_id: thermometer, at: Date.now() - 3600e3 });
  assert.equal(r.status, 201, r.text);
  assert.equal((await codeOf(pid)).colour, 'green');

  const before = await count(pid, 'temperatures');
  const cases = [
    [{ value: 29.9, source: 'manual' }, 'out_of_range', 'value'],
    [{ value: 45.1, source: 'manual' }, 'out_of_range', 'value'],
    [{ value: '37', source: 'manual' }, 'invalid_type', 'value'],
    [{ value: 37, source: 'thermometer' }, 'invalid_value', 'source'],
    [{ value: 37 }, 'required', 'source'],
    [{ value: 37, source: 'manual', at: Date.now() + 3600e3 }, 'invalid_time', 'at'],
    [{ value: 37, source: 'manual', at: 'now' }, 'invalid_type', 'at'],
    [{ value: 37, source: 'manual', device_id: 'x' }, 'invalid_value', 'device_id'],
    [{ value: 37, source: 'manual', extra: 1 }, 'unknown_field', 'extra'],
  ];
  for (const [body, c, field] of cases) {
    r = await cp.post(url, body);
    assert.equal(r.status, 400, `${JSON.stringify(body)}: ${r.text}`);
    assert.deepEqual([errOf(r).code, errOf(r).field], [c, field], JSON.stringify(body));
  }
  r = await cp.req('POST', url, 'not json', { 'content-type': 'application/json' });
  assert.equal(r.status, 400);
  // a venue or device must exist inside the caller's scope (and a device be a thermometer)
  for (const [body, c, field] of [
    [{ venue_id: '12345' }, 'unknown_venue', 'venue_id'],
    [{ venue_id: westVenue }, 'unknown_venue', 'venue_id'],
    [{ device_id: '77' }, 'unknown_device', 'device_id'],
    [{ device_id: westThermometer }, 'unknown_device', 'device_id'],
    [{ device_id: gateDevice }, 'unknown_device', 'device_id'],
  ]) {
    r = await cp.post(url, { value: 37, source: 'manual', ...body });
    assert.equal(r.status, 404, `${JSON.stringify(body)}: ${r.text}`);
    assert.deepEqual([errOf(r).code, errOf(r).field], [c, field], JSON.stringify(body));
  }
  const refused = await auditWhere(`action=temperature.create&object_id=${pid}`, (x) => x.result === 'unknown_device');
  assert.ok(refused.some((x) => x.result === 'unknown_device' && x.user_id === cp.id), 'refusal audited');
  assert.equal(await count(pid, 'temperatures'), before);

  // out of scope and without permission
  r = await gwWest.post(url, { value: 36.5, source: 'manual' });
  assert.equal(r.status, 404);
  r = await leader.post(url, { value: 36.5, source: 'manual' });
  assert.equal(r.status, 403);
  r = await gw.get(url);
  assert.equal(r.status, 200);
  assert.equal(r.body.total, before);
  assert.deepEqual(r.body.items.map((x) => x.value), [36.6, 38.5, 39.0]);
  assert.equal(await count(pid, 'temperatures'), before);
  // checkpoint staff record but do not read histories
  r = await cp.get(url);
  assert.equal(r.status, 403);
});

test('every read and write of declarations and temperatures is audited', async () => {
  const pid = await person();
  await gw.post(`/api/v1/persons/${pid}/declarations`, good());
  await gw.get(`/api/v1/persons/${pid}/declarations`);
  await cp.post(`/api/v1/persons/${pid}/temperatures`, { value: 36.8, source: 'checkpoint' });
  await gw.get(`/api/v1/persons/${pid}/temperatures`);
  for (const [action, user] of [['declaration.create', gw], ['declaration.list', gw], ['temperature.create', cp], ['temperature.list', gw]]) {
    const items = await auditWhere(`action=${action}&object_id=${pid}`, (x) => x.user_id === user.id);
    assert.ok(items.some((x) => x.user_id === user.id && x.result === 'ok'), action);
  }
});
