// 出入登记 by hand (POST /api/v1/scans/manual, docs/access.md "Manual
// entry"): a checkpoint records a passage of someone without a phone by
// name and id number, through the scan's rules (a red code and the entry
// limit refuse with the reason); the phone and note are sealed at rest and
// masked in the list, which filters by direction; bad input, another
// district's gate and a person not registered change nothing; the audit.
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { residentId, startCityWith, CITY_STAFF, sqlRun, waitForAudit, errOf } from './lib.mjs';

const PW = 'Access-manual-2026!';
const COMMUNITY = '110101001001';
const XC_C1 = '110102001001';
let ctx, cc, ccWest, gate, doctor, auditor, gateVenue, westVenue;
let seq = 0;
const rid = () => residentId('110101', '19600606', 500 + ++seq * 2);

async function ok(p, status = 200) {
  const r = await p;
  assert.equal(r.status, status, r.text);
  return r.body;
}

async function person(name) {
  const id_number = rid();
  const id = (await ok(cc.post('/api/v1/persons', { name, id_number, region_code: COMMUNITY, address: '多福巷2号' }), 201)).id;
  return { id, id_number, name };
}

const manual = (body) => gate.post('/api/v1/scans/manual', { venue_id: gateVenue.id, direction: 'in', ...body });
const today = async (q = '') => ok(gate.get(`/api/v1/scans/today?venue_id=${gateVenue.id}&page_size=50${q}`));

before(async () => {
  ctx = await startCityWith({ ...CITY_STAFF, cc_xc: CITY_STAFF.cc_xc }, PW);
  ({ cc_dc: cc, cc_xc: ccWest, gate_dc: gate, doctor_dc: doctor, auditor } = ctx.as);
  const place = await ok(cc.post('/api/v1/places', { name: '多福巷小区', kind: 'community', region_code: COMMUNITY }), 201);
  gateVenue = await ok(cc.post('/api/v1/venues', { name: '多福巷小区东门', kind: 'community_gate', place_id: place.id, limit_count: 1, limit_hours: 24 }), 201);
  const west = await ok(ccWest.post('/api/v1/places', { name: '府右街小区', kind: 'community', region_code: XC_C1 }), 201);
  westVenue = await ok(ccWest.post('/api/v1/venues', { name: '府右街小区北门', kind: 'community_gate', place_id: west.id }), 201);
});
after(async () => { await ctx?.stop(); });

let old;
test('a manual entry passes by the scan rules; phone and note sealed, masked in the list', async () => {
  old = await person('郑老伯');
  const r = await ok(manual({ name: ' 郑老伯 ', id_number: old.id_number, phone: '13912345678', temperature: 36.4, note: '买菜回家' }), 201);
  assert.equal(r.verdict, 'pass');
  assert.equal(r.colour, 'green');
  assert.equal(r.name, '郑*伯');
  assert.equal(r.method, 'manual');
  assert.equal(r.venue_name, '多福巷小区东门');
  assert.equal(r.temperature, 36.4);
  const raw = sqlRun(ctx, `SELECT phone_enc, note_enc FROM access_records WHERE id = ${r.record_id}`);
  assert.ok(raw.trim() && !raw.includes('13912345678') && !raw.includes('买菜'), 'sealed at rest');
  const list = await today();
  assert.equal(list.venue_name, '多福巷小区东门');
  assert.deepEqual(list.counts, { in: 1, in_denied: 0, out: 0, out_denied: 0 });
  const row = list.items.find((x) => x.id === r.record_id);
  assert.equal(row.method, 'manual');
  assert.equal(row.person_name, '郑*伯');
  assert.equal(row.direction, 'in');
  assert.ok(row.phone && row.phone !== '13912345678' && row.phone.startsWith('139'), row.phone);
  assert.ok(row.note && row.note !== '买菜回家', row.note);
  const a = await waitForAudit(auditor, `action=access.manual&object_id=${r.record_id}`, () => true);
  assert.equal(a[0].result, 'ok');
});

test('the entry limit and a red code refuse with the reason, recorded as refused', async () => {
  // the limit is one passage in 24 h: the second entry of the same person is refused
  const again = await ok(manual({ name: old.name, id_number: old.id_number }), 201);
  assert.equal(again.verdict, 'deny');
  assert.deepEqual(again.deny_reasons.map((x) => x.code), ['entry_limit']);
  assert.equal(again.deny_reasons[0].text, '超出周期内出入次数上限');
  const listed = (await today()).items.find((x) => x.id === again.record_id);
  assert.equal(listed.reason_label, "超出周期内出入次数上限");
  // isolation turns the code red
  const iso = await person('钱隔离');
  await ok(cc.post('/api/v1/observations', { person_id: iso.id, kind: 'home_isolation', source: 'grid_patrol', start_at: Date.now() - 1000 }), 201);
  const red = await ok(manual({ name: iso.name, id_number: iso.id_number, direction: 'out', note: '就医' }), 201);
  assert.equal(red.verdict, 'deny');
  assert.equal(red.colour, 'red');
  assert.deepEqual(red.deny_reasons.map((x) => x.code), ['colour_not_allowed']);
  // the gate's day: newest first, the counts, paged, filtered
  const all = await today();
  assert.deepEqual(all.items.map((x) => x.verdict), ['deny', 'deny', 'pass']);
  assert.deepEqual(all.counts, { in: 1, in_denied: 1, out: 0, out_denied: 1 });
  const page2 = await ok(gate.get(`/api/v1/scans/today?venue_id=${gateVenue.id}&page_size=2&page=2`));
  assert.deepEqual([page2.total, page2.items.length, page2.items[0].verdict], [3, 1, 'pass']);
  assert.equal((await today('&direction=out')).total, 1);
  assert.equal((await today('&verdict=pass')).total, 1);
  // the console's list filters by direction too
  assert.equal((await ok(cc.get(`/api/v1/access-records?venue_id=${gateVenue.id}&direction=in`))).total, 2);
  for (const [q, status, field] of [['?direction=up&venue_id=' + gateVenue.id, 400, 'direction'], ['', 400, 'venue_id'], ['?venue_id=' + westVenue.id, 404, 'venue_id']]) {
    const bad = await gate.get('/api/v1/scans/today' + q);
    assert.equal(bad.status, status, bad.text);
    assert.equal(errOf(bad).field, field);
  }
  const badc = await cc.get('/api/v1/access-records?direction=up');
  assert.equal(badc.status, 400, badc.text);
  // a doctor reads no gate's day
  assert.equal((await doctor.get(`/api/v1/scans/today?venue_id=${gateVenue.id}`)).status, 403);
});

test('bad input, another district\'s gate, an unregistered person, a wrong name: 4xx, nothing written', async () => {
  const p = await person('王不变');
  const count = () => Number(sqlRun(ctx, 'SELECT COUNT(*) FROM access_records').trim());
  const before = count();
  const cases = [
    [{ name: p.name }, 400, 'required', 'id_number'],
    [{ id_number: p.id_number }, 400, 'required', 'name'],
    [{ name: p.name, id_number: '110101199001011234' }, 400, undefined, 'id_number'],
    [{ name: p.name, id_number: p.id_number, phone: '12345' }, 400, 'invalid_phone', 'phone'],
    [{ name: p.name, id_number: p.id_number, temperature: 50 }, 400, 'out_of_range', 'temperature'],
    [{ name: p.name, id_number: p.id_number, direction: 'up' }, 400, undefined, 'direction'],
    [{ name: p.name, id_number: p.id_number, note: '长'.repeat(101) }, 400, undefined, 'note'],
    [{ name: p.name, id_number: p.id_number, venue_id: 'abc' }, 400, 'invalid_value', 'venue_id'],
    [{ name: p.name, id_number: p.id_number, venue_id: westVenue.id }, 404, 'unknown_venue', 'venue_id'],
    [{ name: p.name, id_number: rid() }, 404, 'unknown_person', 'id_number'],
    [{ name: '王变了', id_number: p.id_number }, 400, 'name_mismatch', 'name'],
  ];
  for (const [body, status, code, field] of cases) {
    const r = await manual(body);
    assert.equal(r.status, status, `${JSON.stringify(body)}: ${r.text}`);
    if (code) assert.equal(errOf(r).code, code, r.text);
    assert.equal(errOf(r).field, field, r.text);
  }
  assert.equal(count(), before, 'nothing written');
  // a doctor has no access.scan
  assert.equal((await doctor.post('/api/v1/scans/manual', { venue_id: gateVenue.id, direction: 'in', name: p.name, id_number: p.id_number })).status, 403);
  // refusals are on record
  const a = await waitForAudit(auditor, 'action=access.manual', (e) => e.result !== 'ok');
  assert.ok(a.some((e) => e.result !== 'ok'));
});

test('name and id number tried too often: the account\'s exact-search limit stops it (429), nothing written', async () => {
  const c = await startCityWith({ cc_dc: CITY_STAFF.cc_dc, gate_dc: CITY_STAFF.gate_dc }, PW, { env: { FK_EXACT_SEARCH_LIMIT: '2' } });
  try {
    const { cc_dc: cc2, gate_dc: gate2 } = c.as;
    const place = await ok(cc2.post('/api/v1/places', { name: '多福巷小区', kind: 'community', region_code: COMMUNITY }), 201);
    const venue = await ok(cc2.post('/api/v1/venues', { name: '多福巷小区西门', kind: 'community_gate', place_id: place.id }), 201);
    const id_number = rid();
    await ok(cc2.post('/api/v1/persons', { name: '钱大爷', id_number, region_code: COMMUNITY, address: '多福巷9号' }), 201);
    const try_ = (name) => gate2.post('/api/v1/scans/manual', { venue_id: venue.id, direction: 'in', name, id_number });
    // bad input does not count; a look-up does, matched or not
    assert.equal((await gate2.post('/api/v1/scans/manual', { venue_id: venue.id, direction: 'in', name: '钱大爷' })).status, 400);
    assert.equal((await try_('钱二爷')).status, 400);
    assert.equal((await try_('钱大爷')).status, 201);
    const count = () => Number(sqlRun(c, 'SELECT COUNT(*) FROM access_records').trim());
    const before = count();
    const r = await try_('钱大爷');
    assert.equal(r.status, 429, r.text);
    assert.equal(errOf(r).code, 'search_rate_limited');
    assert.equal(count(), before, 'nothing written');
  } finally {
    await c.stop();
  }
});
