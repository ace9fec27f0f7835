// The 14-day itinerary (行程卡, issue 11, docs/tracing.md "The 14-day
// itinerary"): a hand-built person with access records in two districts
// (one visit of 5 h, one of 1 h), a trip to another city and risk areas
// covering two of the stays gives exactly the expected stays, passages and
// cities; the stay rule's setting changes the answer; the resident's own
// card carries a signed token that staff verify; an exchange caller asks by
// id number; every bad input is a 4xx naming its field; another region's
// person is 404; a resident cannot verify.
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { residentId, expectError, auditEntries, waitForAudit, startCityWith, sqlRun, smsCode, CITY_STAFF } from './lib.mjs';

const PW = 'Passw0rd!itinerary';
const COMMUNITY = '110101001001'; // 多福巷社区, 东华门街道, 东城区
const XC_COMMUNITY = '110102001001'; // 府右街社区, 西长安街街道, 西城区
const H = 3600 * 1000, DAY = 24 * H;
let ctx, cc, ccXc, grid, gate, auditor;
let v1, v2;

let seq = 0;
const rid = () => residentId('110101', '19790707', 700 + ++seq * 2);

async function ok(p, status = 200) {
  const r = await p;
  assert.equal(r.status, status, r.text);
  return r.body;
}

// The China day that began before yesterday's: times inside it are in
// every 14-day window, whatever the hour the suite runs.
const chinaMidnight = (ms) => Math.floor((ms + 8 * H) / DAY) * DAY - 8 * H;
const chinaDate = (ms) => new Date(ms + 8 * H).toISOString().slice(0, 10);

let recId = 9100000000000;
function access(personId, venueId, region, direction, at) {
  sqlRun(ctx, `INSERT INTO access_records (id, venue_id, region_code, person_id, direction, at, colour, verdict, method, created_at)
               VALUES (${++recId}, ${venueId}, ${region}, ${personId}, '${direction}', ${at}, 'green', 'pass', 'staff_scan', ${at})`);
}
// padded codes as the database keeps them
const padded = (written) => written.padEnd(18, '0');

before(async () => {
  ctx = await startCityWith(
    {
      ...CITY_STAFF,
      street_dc: ['street_staff', '110101001000'],
    },
    PW,
  );
  ({ cc_dc: cc, cc_xc: ccXc, grid_dc: grid, gate_dc: gate, auditor } = ctx.as);
  const p1 = await ok(cc.post('/api/v1/places', { name: '多福巷小区', kind: 'community', region_code: COMMUNITY }), 201);
  v1 = (await ok(cc.post('/api/v1/venues', { name: '多福巷超市', kind: 'community_gate', place_id: p1.id }), 201)).id;
  const p2 = await ok(ccXc.post('/api/v1/places', { name: '府右街商场', kind: 'community', region_code: XC_COMMUNITY }), 201);
  v2 = (await ok(ccXc.post('/api/v1/venues', { name: '府右街商场北门', kind: 'community_gate', place_id: p2.id }), 201)).id;
});
after(async () => ctx?.stop());

// The scenario: yesterday (China time) 09:00-14:00 in 多福巷 (东城区, 5 h),
// 15:00-16:00 in 府右街 (西城区, 1 h); a trip to 上海市 from five days ago
// to three days ago; a high-risk area over 东华门街道 from yesterday and a
// medium one named "上海市浦东新区" over the trip.
async function scenario(personId) {
  const y = chinaMidnight(Date.now()) - DAY;
  access(personId, v1, padded(COMMUNITY), 'in', y + 9 * H);
  access(personId, v1, padded(COMMUNITY), 'out', y + 14 * H);
  access(personId, v2, padded(XC_COMMUNITY), 'in', y + 15 * H);
  access(personId, v2, padded(XC_COMMUNITY), 'out', y + 16 * H);
  await ok(cc.post('/api/v1/trips', {
    person_id: personId,
    departed_on: chinaDate(y - 4 * DAY),
    returned_on: chinaDate(y - 2 * DAY),
    origin: '北京',
    destination: '上海市',
    out: { mode: 'train', number: 'G1' },
  }), 201);
  return y;
}

let areasMade = false;
async function areas(y) {
  if (areasMade) return;
  areasMade = true;
  await ok(cc.post('/api/v1/risk-areas', { name: '东华门街道', level: 'high', region_code: '110101001000', valid_from: y }), 201);
  await ok(cc.post('/api/v1/risk-areas', { name: '上海市浦东新区', level: 'medium', valid_from: y - 10 * DAY }), 201);
  // an area of the same street whose window ended before the stay marks nothing
  await ok(cc.post('/api/v1/risk-areas', { name: '东华门街道（旧）', level: 'medium', region_code: '110101001000', valid_from: y - 20 * DAY, valid_to: y - 10 * DAY }), 201);
}

const brief = (p) => [p.level, p.name, p.risk ? `${p.risk.level}:${p.risk.name}` : null];

test('a person with two districts, a trip and risk areas: exactly the expected stays, passages and cities', async () => {
  const id = (await ok(cc.post('/api/v1/persons', { name: '周行程', id_number: rid(), region_code: COMMUNITY }), 201)).id;
  const y = await scenario(id);
  await areas(y);

  const it = await ok(cc.get(`/api/v1/persons/${id}/itinerary`));
  assert.equal(it.days, 14);
  assert.equal(it.stay_hours, 4);
  assert.equal(it.person.name, '周*程', 'the name masked');
  assert.deepEqual(it.stays.map(brief), [
    ['city', '上海市', 'medium:上海市浦东新区'],
    ['city', '市辖区', 'high:东华门街道'],
    ['district', '东城区', 'high:东华门街道'],
    ['street', '东华门街道', 'high:东华门街道'],
  ]);
  // the hour in 西城区 is a passage (途经), listed apart, with no mark
  assert.deepEqual(it.passages.map(brief), [
    ['district', '西城区', null],
    ['street', '西长安街街道', null],
  ]);
  const dc = it.stays.find((p) => p.name === '东城区');
  assert.equal(dc.region_code, '110101000000');
  assert.equal(dc.longest_minutes, 300);
  assert.equal(dc.first_at, y + 9 * H);
  assert.equal(dc.last_at, y + 14 * H);
  assert.deepEqual(dc.sources, ['access']);
  const city = it.stays.find((p) => p.name === '市辖区');
  assert.equal(city.longest_minutes, 360, 'both districts count in the city');
  const sh = it.stays.find((p) => p.name === '上海市');
  assert.equal(sh.region_code, null);
  assert.deepEqual(sh.sources, ['trip']);
  assert.equal(sh.days, 3);
  assert.deepEqual(it.cities, [
    { name: '上海市', risk: true, risk_level: 'medium', risk_area: '上海市浦东新区' },
    { name: '市辖区', risk: true, risk_level: 'high', risk_area: '东华门街道' },
  ]);
  assert.equal(it.risk, true);
  await auditEntries(auditor, 'trace.itinerary.read', id);

  // three days only: the trip (ended three days before today's start) is out
  const short = await ok(cc.get(`/api/v1/persons/${id}/itinerary?days=2`));
  assert.deepEqual(short.cities.map((c) => c.name), ['市辖区']);
});

test('the stay rule is a setting: 6 h makes the 5 h district a passage; bounds and permission', async () => {
  const id = (await ok(cc.post('/api/v1/persons', { name: '吴规则', id_number: rid(), region_code: COMMUNITY }), 201)).id;
  await scenario(id);
  assert.equal((await ok(grid.get('/api/v1/itinerary/settings'))).stay_hours, 4);
  expectError(await grid.put('/api/v1/itinerary/settings', { stay_hours: 6 }), 403, 'forbidden');
  for (const [v, code] of [[0, 'out_of_range'], [25, 'out_of_range'], ['6', 'invalid_type']]) {
    expectError(await cc.put('/api/v1/itinerary/settings', { stay_hours: v }), 400, code, 'stay_hours');
  }
  expectError(await cc.put('/api/v1/itinerary/settings', {}), 400, 'required', 'stay_hours');
  assert.equal((await ok(cc.get('/api/v1/itinerary/settings'))).stay_hours, 4, 'nothing changed');
  try {
    assert.equal((await ok(cc.put('/api/v1/itinerary/settings', { stay_hours: 6 }))).stay_hours, 6);
    await auditEntries(auditor, 'trace.itinerary.settings');
    const it = await ok(cc.get(`/api/v1/persons/${id}/itinerary`));
    assert.equal(it.stay_hours, 6);
    const names = (xs) => xs.map((p) => p.name);
    // the city holds 6 h that day: still a stay; the district's 5 h is not
    assert.deepEqual(names(it.stays), ['上海市', '市辖区']);
    assert.deepEqual(names(it.passages), ['东城区', '西城区', '东华门街道', '西长安街街道']);
  } finally {
    await ok(cc.put('/api/v1/itinerary/settings', { stay_hours: 4 }));
  }
});

test('bad input: days out of range, unknown person, another region\'s person (404), no permission', async () => {
  const id = (await ok(cc.post('/api/v1/persons', { name: '郑范围', id_number: rid(), region_code: COMMUNITY }), 201)).id;
  for (const d of ['0', '31', 'x', '-1']) expectError(await cc.get(`/api/v1/persons/${id}/itinerary?days=${d}`), 400, 'invalid_parameter', 'days');
  assert.equal((await ok(cc.get(`/api/v1/persons/${id}/itinerary?days=30`))).days, 30);
  expectError(await cc.get('/api/v1/persons/123456789/itinerary'), 404, 'not_found');
  expectError(await ccXc.get(`/api/v1/persons/${id}/itinerary`), 404, 'not_found');
  await auditEntries(auditor, 'trace.itinerary.read');
  expectError(await gate.get(`/api/v1/persons/${id}/itinerary`), 403, 'forbidden');
});

test('the resident\'s card: cities with the mark, a token valid to midnight that staff verify; a resident cannot verify', async () => {
  const phone = '13930002288';
  const res = ctx.client();
  await res.post('/api/v1/auth/sms/send', { phone });
  await ok(res.post('/api/v1/auth/sms/login', { phone, code: smsCode(ctx, phone) }));
  expectError(await res.get('/api/v1/me/itinerary'), 403, 'consent_required');
  await ok(res.post('/api/v1/me/consent', { version: 'v1' }));
  const idNumber = rid();
  const me = (await ok(res.post('/api/v1/me/person', { name: '王本人', id_number: idNumber, region_code: COMMUNITY, address: '多福巷5号' }), 201)).person.id;
  const y = await scenario(me);
  await areas(y);

  const card = await ok(res.get('/api/v1/me/itinerary'));
  assert.equal(card.person_name, '王*人');
  assert.equal(card.days, 14);
  assert.deepEqual(card.cities.map((c) => [c.name, c.risk]), [['上海市', true], ['市辖区', true]]);
  assert.equal(card.colour, 'orange');
  assert.ok(Math.abs(card.issued_at - Date.now()) < 60000);
  assert.equal(card.valid_until, chinaMidnight(Date.now()) + DAY, 'valid until the end of the China day');
  assert.match(card.token, /^FK1\.[A-Z2-7]+\.[A-Z2-7]+$/);
  assert.equal(card.id_number, undefined);
  const svg = await fetch(ctx.url + '/api/v1/me/itinerary/qr.svg', { headers: { cookie: res.cookie } });
  assert.equal(svg.status, 200);
  assert.match(svg.headers.get('content-type'), /image\/svg\+xml/);
  assert.match(await svg.text(), /<svg/);

  // staff verify the token: the same cities, masked name, when issued
  const v = await ok(grid.post('/api/v1/itinerary/verify', { token: card.token }));
  assert.equal(v.valid, true);
  assert.equal(v.person_name, '王*人');
  assert.deepEqual(v.cities, card.cities);
  assert.equal(v.issued_at, Math.floor(card.issued_at / 1000) * 1000);
  assert.equal(v.valid_until, card.valid_until);
  assert.equal(v.risk, true);
  await auditEntries(auditor, 'trace.itinerary.verify', me);
  // a checkpoint of the district verifies too (itinerary.verify)
  assert.equal((await ok(gate.post('/api/v1/itinerary/verify', { token: card.token }))).valid, true);

  // forged, malformed, of another kind, missing: 400 with the code, audited
  const last = card.token.at(-1) === 'A' ? 'B' : 'A';
  expectError(await grid.post('/api/v1/itinerary/verify', { token: card.token.slice(0, -1) + last }), 400, 'token_forged', 'token');
  expectError(await grid.post('/api/v1/itinerary/verify', { token: 'FK1.NOTATOKEN' }), 400, 'token_malformed', 'token');
  expectError(await grid.post('/api/v1/itinerary/verify', { token: 'hello' }), 400, 'token_malformed', 'token');
  expectError(await grid.post('/api/v1/itinerary/verify', {}), 400, 'required', 'token');
  expectError(await grid.post('/api/v1/itinerary/verify', { token: 7 }), 400, 'invalid_type', 'token');
  const health = await ok(res.get('/api/v1/me/code/token'));
  expectError(await grid.post('/api/v1/itinerary/verify', { token: health.token }), 400, 'token_wrong_kind', 'token');
  const entries = await waitForAudit(auditor, 'action=trace.itinerary.verify', (e) => e.result === 'token_forged');
  assert.ok(entries.some((e) => e.result === 'token_forged'), JSON.stringify(entries.map((e) => e.result)));

  // a resident verifies nothing; staff have no card of their own
  expectError(await res.post('/api/v1/itinerary/verify', { token: card.token }), 403, 'forbidden');
  expectError(await grid.get('/api/v1/me/itinerary'), 403, 'forbidden');
  // the resident reads no one's staff itinerary, not even their own
  expectError(await res.get(`/api/v1/persons/${me}/itinerary`), 403, 'forbidden');
});

test('exchange: the card by id number (masked, no token), audited; unknown 404; bad input 400', async () => {
  const idNumber = rid();
  const id = (await ok(cc.post('/api/v1/persons', { name: '钱交换', id_number: idNumber, region_code: COMMUNITY }), 201)).id;
  await scenario(id);
  const c = await ok(cc.post('/api/v1/exchange/itinerary', { id_number: idNumber }));
  assert.equal(c.person_name, '钱*换');
  assert.notEqual(c.id_number, idNumber);
  assert.ok(c.id_number.includes('*'));
  assert.equal(c.token, undefined);
  assert.deepEqual(c.cities.map((x) => x.name), ['上海市', '市辖区']);
  assert.equal((await ok(cc.post('/api/v1/exchange/itinerary', { id_type: 'resident_id', id_number: idNumber }))).person_name, '钱*换');
  await auditEntries(auditor, 'trace.itinerary.exchange', id);

  expectError(await cc.post('/api/v1/exchange/itinerary', { id_number: rid() }), 404, 'not_found');
  // another district's command centre does not reach this person
  expectError(await ccXc.post('/api/v1/exchange/itinerary', { id_number: idNumber }), 404, 'not_found');
  expectError(await cc.post('/api/v1/exchange/itinerary', { id_number: '110101197907070000' }), 400, 'invalid_id_number', 'id_number');
  expectError(await cc.post('/api/v1/exchange/itinerary', { id_type: 'spaceship', id_number: idNumber }), 400, 'invalid_value', 'id_type');
  expectError(await cc.post('/api/v1/exchange/itinerary', {}), 400, 'required', 'id_number');
  expectError(await cc.post('/api/v1/exchange/itinerary', { id_number: idNumber, extra: 1 }), 400, 'unknown_field', 'extra');
  // a doctor holds no itinerary.verify
  expectError(await ctx.as.doctor_dc.post('/api/v1/exchange/itinerary', { id_number: idNumber }), 403, 'forbidden');
});

test('exchange: each ask by id number counts against the hourly exact-search limit (429, audited)', async () => {
  const c2 = await startCityWith({ x_cc: ['command_center', '110101000000'], x_aud: ['audit_admin', '110000000000'] }, PW, { env: { FK_EXACT_SEARCH_LIMIT: '2' } });
  try {
    const x = c2.as.x_cc;
    for (let i = 0; i < 2; i++) expectError(await x.post('/api/v1/exchange/itinerary', { id_number: rid() }), 404, 'not_found');
    expectError(await x.post('/api/v1/exchange/itinerary', { id_number: rid() }), 429, 'search_rate_limited');
    const refused = await waitForAudit(c2.as.x_aud, 'action=trace.itinerary.exchange', (e) => e.result === 'search_rate_limited');
    assert.ok(refused.some((e) => e.result === 'search_rate_limited'));
    // bad input is answered before the limit counts
    expectError(await x.post('/api/v1/exchange/itinerary', { id_number: '123' }), 400, 'invalid_id_number', 'id_number');
  } finally {
    await c2.stop();
  }
});

test('a declared region passed through and a nucleic-acid sample are passages, marked when in a risk area', async () => {
  const id = (await ok(cc.post('/api/v1/persons', { name: '冯途经', id_number: rid(), region_code: COMMUNITY }), 201)).id;
  await areas(chinaMidnight(Date.now()) - DAY);
  await ok(grid.post(`/api/v1/persons/${id}/declarations`, { temperature: 36.5, symptoms: [], contact: false, travel_regions: ['110102001000'] }), 201);
  const at = Date.now() - H;
  const day = Math.floor((at + 8 * H) / DAY);
  sqlRun(ctx, `INSERT INTO nat_samples (id, person_id, tube_id, site_id, region_code, street_code, staff_id, method, at, day, round_day)
               VALUES (${++recId}, ${id}, 1, 1, ${padded(COMMUNITY)}, ${padded('110101001000')}, 1, 'code', ${at}, ${day}, ${day})`);
  const it = await ok(cc.get(`/api/v1/persons/${id}/itinerary`));
  assert.deepEqual(it.stays, []);
  assert.deepEqual(it.cities, []);
  assert.equal(it.risk, false);
  assert.deepEqual(it.passages.map((p) => [...brief(p), p.sources.join(',')]), [
    ['city', '市辖区', 'high:东华门街道', 'declaration,nat'],
    ['district', '东城区', 'high:东华门街道', 'nat'],
    ['district', '西城区', null, 'declaration'],
    ['street', '东华门街道', 'high:东华门街道', 'nat'],
    ['street', '西长安街街道', null, 'declaration'],
  ]);
  assert.equal(it.passages[0].longest_minutes, 0);
});

test('the itinerary routes are in the OpenAPI document with their permissions and bodies', async () => {
  const doc = await (await fetch(ctx.url + '/api/v1/openapi.json')).json();
  const perm = (p, m) => doc.paths[p]?.[m]?.['x-permission'];
  assert.equal(perm('/api/v1/persons/{id}/itinerary', 'get'), 'trace.read');
  assert.equal(perm('/api/v1/me/itinerary', 'get'), 'self');
  assert.equal(perm('/api/v1/itinerary/verify', 'post'), 'itinerary.verify');
  assert.equal(perm('/api/v1/exchange/itinerary', 'post'), 'itinerary.verify');
  assert.equal(perm('/api/v1/itinerary/settings', 'put'), 'trace.rules');
  const ex = doc.paths['/api/v1/exchange/itinerary'].post.requestBody.content['application/json'].schema;
  assert.deepEqual(ex.required, ['id_number']);
  assert.deepEqual(Object.keys(ex.properties).sort(), ['id_number', 'id_type']);
});
