// The scan path (POST /api/v1/scans, POST /api/v1/me/scans), the resident's
// dynamic code (token, PNG decoded by zbarimg, SVG), the electronic pass,
// venue policies (colours, fever, per-person limit), access records and
// their CSV, every refusal with its /metrics counter.
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import fs from 'node:fs';
import path from 'node:path';
import { startServer, CITY_CSV, writeTmp, residentId, smsCode, totpSecretFrom, waitForAudit, signedIn, errOf, startCityWith, CITY_STAFF } from './lib.mjs';

const PW = 'Access-test-2024!';
const DC = '110101000000';
const COMMUNITY = '110101001001';
const OTHER_COMMUNITY = '110101002001';
const XC_C1 = '110102001001';
let ctx, cc, ccWest, gate, gateWest, doctor, auditor;
let place, placeWest, gateVenue, marketVenue, westVenue;
let seq = 0;
const rid = () => residentId('110101', '19850505', 300 + ++seq * 2);

// Audit entries are written asynchronously: wait until `pred` holds.
const auditWhere = (query, pred) => waitForAudit(auditor, query, pred);

async function resident(phone, name, region = COMMUNITY) {
  const c = ctx.client();
  await c.post('/api/v1/auth/sms/send', { phone });
  const r0 = await c.post('/api/v1/auth/sms/login', { phone, code: smsCode(ctx, phone) });
  assert.equal(r0.status, 200, r0.text);
  await c.post('/api/v1/me/consent', { version: 'v1' });
  const r = await c.post('/api/v1/me/person', { name, id_number: rid(), region_code: region, address: '多福巷1号' });
  assert.equal(r.status, 201, r.text);
  c.personId = r.body.person.id;
  // a self-registration has no pass until staff saw the document (issue 8 item 5)
  const v = await cc.post(`/api/v1/persons/${c.personId}/verify`, { document_checked: true });
  assert.equal(v.status, 200, v.text);
  return c;
}

async function venue(client, body) {
  const r = await client.post('/api/v1/venues', body);
  assert.equal(r.status, 201, r.text);
  return r.body;
}

async function metric(reason) {
  const t = await (await fetch(ctx.url + '/metrics')).text();
  const m = new RegExp(`fangkong_scan_refused_total\\{reason="${reason}"\\} (\\d+)`).exec(t);
  return m ? Number(m[1]) : 0;
}

const scan = (c, body) => c.post('/api/v1/scans', body);
before(async () => {
  ctx = await startCityWith(
    { ...CITY_STAFF, gate_xc: ['checkpoint_staff', '110102000000'] },
    PW,
  );
  ({ cc_dc: cc, cc_xc: ccWest, gate_dc: gate, gate_xc: gateWest, doctor_dc: doctor, auditor } = ctx.as);
  let r = await cc.post('/api/v1/places', { name: '多福巷小区', kind: 'community', region_code: COMMUNITY });
  assert.equal(r.status, 201, r.text);
  place = r.body;
  r = await ccWest.post('/api/v1/places', { name: '府右街小区', kind: 'community', region_code: XC_C1 });
  placeWest = r.body;
  gateVenue = await venue(cc, { name: '多福巷小区东门', kind: 'community_gate', place_id: place.id, limit_count: 2, limit_hours: 24 });
  marketVenue = await venue(cc, { name: '隆福市场', kind: 'market', place_id: place.id, allowed_colors: ['green', 'yellow'] });
  westVenue = await venue(ccWest, { name: '府右街小区北门', kind: 'community_gate', place_id: placeWest.id });
});

after(async () => {
  await ctx?.stop();
});

test('a resident gets a short-lived dynamic token with the colour and a pass', async () => {
  const res = await resident('13800000001', '周一');
  let r = await res.get('/api/v1/me/code/token');
  assert.equal(r.status, 200, r.text);
  assert.match(r.body.token, /^FK1\.[A-Z2-7]+\.[A-Z2-7]+$/);
  assert.equal(r.body.colour, 'green');
  assert.ok(r.body.expires_at - Date.now() <= 181000 && r.body.expires_at - Date.now() > 100000);
  assert.ok(r.body.refresh_after > 0 && r.body.refresh_after < 180000);
  r = await res.get('/api/v1/me/code');
  // where the pass holds and where the resident lives, in names a person reads
  assert.deepEqual(r.body.pass, { valid: true, community: COMMUNITY, community_name: '东华门街道 · 多福巷社区', reason: '' });
  assert.equal(r.body.residence, '东华门街道 · 多福巷社区');
  assert.ok(!JSON.stringify(r.body).includes('token'), 'the code page carries no token');
  // staff have no code of their own
  assert.equal((await gate.get('/api/v1/me/code/token')).status, 403);
  assert.equal((await ctx.client().get('/api/v1/me/code/token')).status, 401);
});

test('a resident without consent or record gets no token', async () => {
  const c = ctx.client();
  const phone = '13800000009';
  await c.post('/api/v1/auth/sms/send', { phone });
  await c.post('/api/v1/auth/sms/login', { phone, code: smsCode(ctx, phone) });
  const r = await c.get('/api/v1/me/code/token');
  assert.equal(r.status, 403);
  assert.equal(errOf(r).code, 'consent_required');
});

test('the PNG decodes (zbarimg) to a token the scan endpoint accepts; SVG is coloured', async () => {
  const res = await resident('13800000002', '吴二');
  const png = await fetch(ctx.url + '/api/v1/me/code.png', { headers: { cookie: res.cookie } });
  assert.equal(png.status, 200);
  assert.equal(png.headers.get('content-type'), 'image/png');
  const file = path.join(ctx.dir, 'me.png');
  fs.writeFileSync(file, Buffer.from(await png.arrayBuffer()));
  const token = execFileSync('zbarimg', ['--raw', '-q', file], { encoding: 'utf8' }).trim();
  assert.match(token, /^FK1\./);
  const r = await scan(gate, { venue_id: gateVenue.id, token, direction: 'in' });
  assert.equal(r.status, 201, r.text);
  assert.equal(r.body.verdict, 'pass');
  assert.equal(r.body.colour, 'green');
  assert.equal(r.body.name, '吴*');
  assert.equal(r.body.person_id, res.personId);
  assert.deepEqual(r.body.pass, { valid: true, community: COMMUNITY, community_name: '东华门街道 · 多福巷社区', reason: '' });
  assert.deepEqual(r.body.alerts, []);
  assert.ok(r.body.record_id && r.body.at);
  const svg = await res.get('/api/v1/me/code.svg');
  assert.equal(svg.status, 200);
  assert.match(svg.text, /#11804a/i);
});

test('typed tokens are accepted in lower case with spaces', async () => {
  const res = await resident('13800000003', '郑三', OTHER_COMMUNITY);
  const { token } = (await res.get('/api/v1/me/code/token')).body;
  const typed = token.toLowerCase().replace(/(.{5})/g, '$1 ');
  const r = await scan(gate, { venue_id: gateVenue.id, token: typed, direction: 'out' });
  assert.equal(r.status, 201, r.text);
  assert.equal(r.body.pass, null); // not a gate of their community: no pass shown
});

test('fever at the gate: denied, reading recorded, code turns yellow, fever alert', async () => {
  const res = await resident('13800000004', '王四');
  const { token } = (await res.get('/api/v1/me/code/token')).body;
  const r = await scan(gate, { venue_id: gateVenue.id, token, direction: 'in', temperature: 38.2 });
  assert.equal(r.status, 201, r.text);
  assert.equal(r.body.verdict, 'deny');
  assert.equal(r.body.colour, 'yellow');
  assert.equal(r.body.temperature, 38.2);
  assert.deepEqual(r.body.deny_reasons.map((x) => x.code), ['colour_not_allowed', 'fever']);
  assert.deepEqual(r.body.alerts.map((a) => a.kind).sort(), ['code_colour', 'fever']);
  const code = await cc.get(`/api/v1/persons/${res.personId}/code`);
  assert.equal(code.body.colour, 'yellow');
  // the pass holds only with a green code: the scan that turned it yellow says so, and so does the resident's page
  assert.equal(r.body.pass.valid, false, JSON.stringify(r.body.pass));
  assert.match(r.body.pass.reason, /黄码期间通行证无效/);
  const mine = await res.get('/api/v1/me/code');
  assert.equal(mine.body.colour, 'yellow');
  assert.equal(mine.body.pass.valid, false);
  assert.match(mine.body.pass.reason, /黄码/);
  const readings = await cc.get(`/api/v1/persons/${res.personId}/temperatures`);
  assert.equal(readings.status, 200, readings.text);
  assert.ok(readings.body.items.some((x) => (x.value ?? x.celsius ?? x.temperature) === 38.2), readings.text);
  // yellow is let through at the market, with a code_colour alert
  const { token: t2 } = (await res.get('/api/v1/me/code/token')).body;
  const m = await scan(gate, { venue_id: marketVenue.id, token: t2, direction: 'in' });
  assert.equal(m.body.verdict, 'pass');
  assert.deepEqual(m.body.alerts.map((a) => a.kind), ['code_colour']);
});

test('the per-person limit denies and alerts once exceeded', async () => {
  const res = await resident('13800000005', '冯五');
  const go = async () => scan(gate, { venue_id: gateVenue.id, token: (await res.get('/api/v1/me/code/token')).body.token, direction: 'in' });
  assert.equal((await go()).body.verdict, 'pass');
  assert.equal((await go()).body.verdict, 'pass');
  const r = await go();
  assert.equal(r.body.verdict, 'deny');
  assert.deepEqual(r.body.deny_reasons.map((x) => x.code), ['entry_limit']);
  assert.deepEqual(r.body.alerts.map((a) => a.kind), ['entry_limit']);
  // leaving is counted separately
  const out = await scan(gate, { venue_id: gateVenue.id, token: (await res.get('/api/v1/me/code/token')).body.token, direction: 'out' });
  assert.equal(out.body.verdict, 'pass');
});

test('isolation suspends the pass', async () => {
  const res = await resident('13800000006', '陈六');
  const r = await cc.post('/api/v1/observations', { person_id: res.personId, kind: 'home_isolation', source: 'grid_patrol', start_at: Date.now() - 1000 });
  assert.equal(r.status, 201, r.text);
  const me = await res.get('/api/v1/me/code');
  assert.equal(me.body.pass.valid, false);
  assert.equal(me.body.colour, 'red');
  const s = await scan(gate, { venue_id: gateVenue.id, token: (await res.get('/api/v1/me/code/token')).body.token, direction: 'out' });
  assert.equal(s.body.verdict, 'deny');
  assert.equal(s.body.pass.valid, false);
  assert.equal(s.body.pass.reason, '隔离期间通行证暂停');
});

test('every refusal is a clear 4xx, changes nothing and is counted', async () => {
  const res = await resident('13800000007', '褚七');
  const { token } = (await res.get('/api/v1/me/code/token')).body;
  const before = (await cc.get(`/api/v1/access-records?person_id=${res.personId}`)).body.total;
  const forged = token.slice(0, -2) + (token.endsWith('AA') ? 'BB' : 'AA');
  const cases = [
    [{ venue_id: gateVenue.id, token: forged, direction: 'in' }, 400, 'token_forged', 'token'],
    [{ venue_id: gateVenue.id, token: 'FK1.ABC.DEF', direction: 'in' }, 400, 'token_malformed', 'token'],
    [{ venue_id: gateVenue.id, token: 'hello', direction: 'in' }, 400, 'token_malformed', 'token'],
    [{ venue_id: '123456789', token, direction: 'in' }, 404, 'unknown_venue', 'venue_id'],
    [{ venue_id: westVenue.id, token, direction: 'in' }, 404, 'unknown_venue', 'venue_id'],
    [{ venue_id: 'abc', token, direction: 'in' }, 400, 'invalid_value', 'venue_id'],
    [{ venue_id: gateVenue.id, token, direction: 'in', temperature: 12 }, 400, 'out_of_range', 'temperature'],
    [{ venue_id: gateVenue.id, token, direction: 'in', temperature: '36.5' }, 400, 'invalid_type', 'temperature'],
    [{ venue_id: gateVenue.id, token, direction: 'up' }, 400, 'invalid_value', 'direction'],
    [{ venue_id: gateVenue.id, token, direction: 'in', extra: 1 }, 400, 'unknown_field', 'extra'],
    [{ venue_id: gateVenue.id, direction: 'in' }, 400, 'required', 'token'],
  ];
  for (const [body, status, code, field] of cases) {
    const n0 = await metric(code);
    const r = await scan(gate, body);
    assert.equal(r.status, status, `${JSON.stringify(body)}: ${r.text}`);
    assert.equal(errOf(r).code, code);
    assert.equal(errOf(r).field, field);
    assert.ok(errOf(r).message);
    assert.equal(await metric(code), n0 + 1, code);
  }
  const bad = await gate.req('POST', '/api/v1/scans', '{"venue_id":', { 'content-type': 'application/json' });
  assert.equal(bad.status, 400);
  assert.equal(errOf(bad).code, 'invalid_json');
  // the west checkpoint cannot scan at an east venue
  const w = await scan(gateWest, { venue_id: gateVenue.id, token, direction: 'in' });
  assert.equal(w.status, 404);
  // a venue code is no health code
  const vcode = (await cc.get(`/api/v1/venues/${gateVenue.id}/code`)).body.token;
  const wk = await scan(gate, { venue_id: gateVenue.id, token: vcode, direction: 'in' });
  assert.equal(errOf(wk).code, 'token_wrong_kind');
  // the doctor has no access.scan
  assert.equal((await scan(doctor, { venue_id: gateVenue.id, token, direction: 'in' })).status, 403);
  const after_ = (await cc.get(`/api/v1/access-records?person_id=${res.personId}`)).body.total;
  assert.equal(after_, before);
});

test('a resident scans a venue code and gets the screen; bad codes refused', async () => {
  const res = await resident('13800000008', '卫八');
  const vtoken = (await cc.get(`/api/v1/venues/${marketVenue.id}/code`)).body.token;
  const r = await res.post('/api/v1/me/scans', { venue_token: vtoken, direction: 'in' });
  assert.equal(r.status, 201, r.text);
  assert.equal(r.body.verdict, 'pass');
  assert.equal(r.body.colour, 'green');
  assert.equal(r.body.venue_name, '隆福市场');
  assert.equal(r.body.place, '多福巷小区');
  assert.equal(r.body.name, '卫*');
  assert.ok(r.body.at > 0);
  const tampered = vtoken.slice(0, -1) + (vtoken.endsWith('A') ? 'B' : 'A');
  let x = await res.post('/api/v1/me/scans', { venue_token: tampered, direction: 'in' });
  assert.equal(x.status, 400);
  x = await res.post('/api/v1/me/scans', { venue_token: (await res.get('/api/v1/me/code/token')).body.token, direction: 'in' });
  assert.equal(errOf(x).code, 'token_wrong_kind');
  assert.equal((await gate.post('/api/v1/me/scans', { venue_token: vtoken, direction: 'in' })).status, 403);
  const list = await cc.get(`/api/v1/access-records?person_id=${res.personId}&method=self_scan`);
  assert.equal(list.body.total, 1);
  assert.equal(list.body.items[0].method, 'self_scan');
  assert.equal(list.body.items[0].venue_id, marketVenue.id);
});

test('access records: scoped, filtered, paged, CSV', async () => {
  let r = await cc.get(`/api/v1/access-records?venue_id=${gateVenue.id}&page_size=2`);
  assert.equal(r.status, 200, r.text);
  assert.equal(r.body.items.length, 2);
  assert.ok(r.body.total > 2);
  r = await cc.get('/api/v1/access-records?verdict=deny');
  assert.ok(r.body.items.length > 0 && r.body.items.every((x) => x.verdict === 'deny'), r.text);
  assert.ok(r.body.total < (await cc.get('/api/v1/access-records')).body.total);
  r = await cc.get('/api/v1/access-records?colour=yellow');
  assert.ok(r.body.items.length > 0 && r.body.items.every((x) => x.colour === 'yellow'));
  assert.equal((await cc.get('/api/v1/access-records?colour=blue')).status, 400);
  assert.equal((await cc.get('/api/v1/access-records?venue_id=x')).status, 400);
  assert.equal((await ccWest.get('/api/v1/access-records')).body.total, 0);
  assert.equal((await gate.get('/api/v1/access-records')).status, 403);
  const csv = await cc.get('/api/v1/access-records?format=csv');
  assert.equal(csv.status, 200);
  assert.match(csv.headers.get('content-type'), /text\/csv/);
  assert.ok(csv.text.includes('健康码'));
  // ids (19 digits) and region codes (12) are text behind a tab: a
  // spreadsheet keeps every digit instead of showing 1.10101E+11
  const row = csv.text.replace(/^\uFEFF/, '').split('\r\n')[1].split(',');
  assert.match(row[0], /^"\t\d{18,19}"$/, row[0]);
  assert.equal(row[3], `"\t${COMMUNITY}"`);
  assert.ok(!/(^|,)\d{12,}(,|$)/m.test(csv.text), 'no long number left bare');
});

test('access records carry the venue name and the masked person name, in the list and the CSV', async () => {
  const res = await resident('13800000041', '欧阳明远');
  const vtoken = (await cc.get(`/api/v1/venues/${marketVenue.id}/code`)).body.token;
  const s = await res.post('/api/v1/me/scans', { venue_token: vtoken, direction: 'in' });
  assert.equal(s.status, 201, s.text);
  const r = await cc.get(`/api/v1/access-records?person_id=${res.personId}&venue_id=${marketVenue.id}`);
  assert.equal(r.status, 200, r.text);
  assert.equal(r.body.total, 1);
  const item = r.body.items[0];
  assert.equal(item.venue_name, '隆福市场');
  // a list shows names masked, whoever reads it: the full name goes through a person's reveal
  assert.equal(item.person_name, '欧**远');
  assert.ok(!r.text.includes('欧阳明远'), r.text);
  // both filters narrow: the same person at another venue has nothing
  const other = await cc.get(`/api/v1/access-records?person_id=${res.personId}&venue_id=${gateVenue.id}`);
  assert.equal(other.body.total, 0);
  assert.equal((await cc.get('/api/v1/access-records?person_id=abc')).status, 400);
  const csv = await cc.get(`/api/v1/access-records?format=csv&person_id=${res.personId}`);
  assert.equal(csv.status, 200);
  const [head, row] = csv.text.replace(/^\uFEFF/, '').split('\r\n');
  assert.ok(head.includes('点位') && head.includes('姓名'), head);
  assert.ok(row.includes('隆福市场') && row.includes('欧**远'), row);
  assert.ok(!csv.text.includes('欧阳明远'));
});

test('every read of access records and every self-scan is audited; refusals as refused', async () => {
  assert.equal((await cc.get(`/api/v1/access-records?venue_id=${marketVenue.id}`)).status, 200);
  assert.equal((await cc.get('/api/v1/access-records?format=csv')).status, 200);
  const res = await resident('13800000031', '审计员');
  const vtoken = (await cc.get(`/api/v1/venues/${marketVenue.id}/code`)).body.token;
  const r = await res.post('/api/v1/me/scans', { venue_token: vtoken, direction: 'in' });
  assert.equal(r.status, 201, r.text);
  const rec = (await cc.get(`/api/v1/access-records?person_id=${res.personId}`)).body.items[0];
  // another district's gate: the same 404 as a missing one, audited as refused
  const token = (await res.get('/api/v1/me/code/token')).body.token;
  const x = await scan(gateWest, { venue_id: gateVenue.id, token, direction: 'in' });
  assert.equal(x.status, 404);
  // a staff account on the resident's scan: 403 by the route's permission, audited as refused
  assert.equal((await gate.post('/api/v1/me/scans', { venue_token: vtoken, direction: 'in' })).status, 403);
  // a role without access.read: 403, audited
  assert.equal((await gate.get('/api/v1/access-records')).status, 403);
  const has = async (query, pred, what) => assert.ok((await auditWhere(query, pred)).some(pred), what);
  await has(`action=access.list&object_id=${marketVenue.id}`, (x) => x.user_id === cc.id && x.object_type === 'venue' && /^count=\d+$/.test(x.detail), 'list');
  await has('action=access.export', (x) => x.user_id === cc.id && x.detail.endsWith('format=csv'), 'CSV');
  await has(`action=access.self_scan&object_id=${rec.id}`, (x) => x.result === 'ok' && x.detail === 'view=self', 'self-scan');
  await has('action=access.scan', (x) => x.user_id === gateWest.id && x.result === 'unknown_venue', 'refused scan');
  await has('action=route.refused', (x) => x.user_id === gate.id && x.result === 'forbidden' && x.detail === '/api/v1/me/scans', 'refused self-scan');
  await has('action=route.refused', (x) => x.user_id === gate.id && x.result === 'forbidden' && x.detail === '/api/v1/access-records', 'refused list');
});
