// The connectors of the data exchange (docs/exchange.md "Connectors";
// src/exchange/connect_*.c): police identity verification (the staff's
// 公安核验 and the resident's real-name binding), the telecom visited-place
// query, the national/provincial situation feed. Each runs against a fake
// peer (fake-peer.mjs) that verifies fangkong's SM2 signature and
// signs its answers; unconfigured, unreachable, mis-signing and refusing
// peers, and bad input.
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { startServer, CITY_CSV, writeTmp, residentId, smsCode, totpSecretFrom, sleep, expectError, waitForAudit } from './lib.mjs';
import { startFakePeer, sm2Pair } from './fake-peer.mjs';

const PW = 'Conn-test-2024!';
const COMMUNITY = '110101001001';
let ctx, cc, ccWest, sec, auditor;
const ours = sm2Pair(); // the key fangkong signs with at the peers
const peers = [];
let idSeq = 300;
let phoneSeq = 0;

async function staff(u, secret) {
  const c = ctx.client();
  await c.login(u, PW, secret);
  return c;
}

before(async () => {
  const secrets = {};
  ctx = await startServer({
    env: { FK_TELECOM_INTERVAL: '3600', FK_SITUATION_EVERY: '0', FK_URBAN_POLL: '1' },
    setup: async (c) => {
      c.must(['import', 'regions', writeTmp(c, 'city.csv', CITY_CSV)]);
      const add = (u, role, region) => c.must(['user', 'add', '--username', u, '--password', PW, '--role', role, '--region', region]);
      add('cc_dc', 'command_center', '110101000000');
      add('cc_west', 'command_center', '110102000000');
      secrets.sec = totpSecretFrom(add('sec', 'security_admin', '110000000000'));
      secrets.aud = totpSecretFrom(add('auditor', 'audit_admin', '110000000000'));
    },
  });
  cc = await staff('cc_dc');
  ccWest = await staff('cc_west');
  sec = await staff('sec', secrets.sec);
  auditor = await staff('auditor', secrets.aud);
});

after(async () => {
  for (const p of peers) await p.close();
  await ctx?.stop();
});

// A fake peer of `kind` and its configuration in fangkong (数据交换 > 对接系统).
// routes: {'POST /police/v1/identity': (rq) => [status, body]} (fake-peer.mjs).
async function configure(kind, routes) {
  const peer = await startFakePeer({ callerKey: ours.publicPem, caller: `fk-${kind}`, routes });
  peers.push(peer);
  const r = await sec.post('/api/v1/exchange/peers', {
    name: `${kind} 测试对接 ${peers.length}`, kind, base_url: peer.url, caller: `fk-${kind}`,
    key: ours.privatePem, peer_key: peer.keys.publicPem, timeout_s: 3,
  });
  assert.equal(r.status, 201, r.text);
  peer.id = r.body.id;
  return peer;
}

// A resident signed in by SMS with consent given; .phone is theirs.
async function residentAccount() {
  const phone = '137' + String(20000000 + ++phoneSeq * 7919 + Math.floor(Math.random() * 1000)).slice(-8);
  const c = ctx.client();
  let r = await c.post('/api/v1/auth/sms/send', { phone });
  assert.equal(r.status, 200, r.text);
  r = await c.post('/api/v1/auth/sms/login', { phone, code: smsCode(ctx, phone) });
  assert.equal(r.status, 200, r.text);
  assert.equal((await c.post('/api/v1/me/consent', { version: 'v1' })).status, 200);
  c.phone = phone;
  return c;
}

const newId = () => residentId('110101', '19880202', (idSeq += 2));
const bind = (c, name, id_number) =>
  c.post('/api/v1/me/person', { name, id_number, region_code: COMMUNITY, address: '多福巷2号' });

// ---- without any peer ------------------------------------------------------------

test('unconfigured connectors say so in Chinese, and binding stays as it was', async () => {
  let r = await cc.get('/api/v1/exchange/connectors');
  assert.equal(r.status, 200, r.text);
  assert.deepEqual(r.body.items.map((i) => [i.kind, i.configured]), [['police', false], ['telecom', false], ['situation', false], ['urban', false], ['platform', false]]);
  const res = await residentAccount();
  r = await bind(res, '赵一', newId());
  assert.equal(r.status, 201, r.text);
  assert.equal(r.body.person.verified, false, 'unverified: the community checks');
  assert.equal(r.body.identity_check, undefined, 'no check was made');
  expectError(await cc.post('/api/v1/exchange/police-checks', { person_id: r.body.person.id }), 503, 'connector_not_configured');
  expectError(await res.post('/api/v1/me/telecom', { consent: true, version: '2026-12' }), 503, 'connector_not_configured');
  expectError(await sec.post('/api/v1/exchange/situation/import'), 503, 'connector_not_configured');
  expectError(await sec.post('/api/v1/exchange/platforms/sync'), 503, 'connector_not_configured');
  r = await res.get('/api/v1/me/telecom');
  assert.equal(r.status, 200, r.text);
  assert.equal(r.body.configured, false);
  assert.match(r.body.consent.text, /运营商/);
});

// ---- police ------------------------------------------------------------------------

test('police identity verification: staff button, binding, failures', async () => {
  // the residents registered before the police peer exists are unverified
  const early = await residentAccount();
  const earlyId = newId();
  let r = await bind(early, '钱二', earlyId);
  assert.equal(r.status, 201, r.text);
  const earlyPerson = r.body.person.id;
  const wrong = await residentAccount();
  r = await bind(wrong, '孙三', newId());
  const wrongPerson = r.body.person.id;

  const knownB = newId();
  const known = new Map([[earlyId, '钱二'], [knownB, '李四']]);
  const police = await configure('police', {
    'POST /police/v1/identity': ({ body }) => [200, { match: known.get(body?.id_number) === body?.name }],
    'POST /police/v1/face': ({ body }) => {
      const photo = Buffer.from(body?.photo || '', 'base64');
      const ok = known.get(body?.id_number) === body?.name && photo[3] === 0xe0;
      return [200, { match: ok, score: ok ? 93.5 : 12 }];
    },
  });
  r = await cc.get('/api/v1/exchange/connectors');
  assert.equal(r.body.items.find((i) => i.kind === 'police').configured, true);

  // bad input, changing nothing
  expectError(await cc.post('/api/v1/exchange/police-checks', {}), 400, 'required', 'person_id');
  expectError(await cc.post('/api/v1/exchange/police-checks', { person_id: 'x' }), 400, 'invalid_id', 'person_id');
  expectError(await cc.post('/api/v1/exchange/police-checks', { person_id: earlyPerson, photo: Buffer.from('GIF89a-not-a-face').toString('base64') }), 400, 'invalid_photo', 'photo');
  expectError(await cc.post('/api/v1/exchange/police-checks', { person_id: earlyPerson, photo: '!!!' }), 400, 'invalid_photo', 'photo');
  // outside the scope: not found, and the police were not asked
  const before = police.calls.length;
  assert.equal((await ccWest.post('/api/v1/exchange/police-checks', { person_id: earlyPerson })).status, 404);
  assert.equal(police.calls.length, before, 'nothing sent for a refused request');

  // a mismatch: recorded, the person stays unverified
  r = await cc.post('/api/v1/exchange/police-checks', { person_id: wrongPerson });
  assert.equal(r.status, 200, r.text);
  assert.equal(r.body.match, false);
  assert.equal(r.body.verified, false);
  assert.equal(r.body.verified_now, false);

  // a match with a face photo: the person is verified (the 核验身份 function)
  const jpeg = Buffer.from([0xff, 0xd8, 0xff, 0xe0, 0, 0x10, 0x4a, 0x46, 0x49, 0x46]).toString('base64');
  r = await cc.post('/api/v1/exchange/police-checks', { person_id: earlyPerson, photo: jpeg });
  assert.equal(r.status, 200, r.text);
  assert.equal(r.body.match, true);
  assert.equal(r.body.identity.result, 'match');
  assert.equal(r.body.face.score, 93.5);
  assert.equal(r.body.verified_now, true);
  const sent = police.calls.filter((x) => x.verified && x.path === '/police/v1/identity');
  assert.ok(sent.some((x) => x.body.id_number === earlyId && x.body.name === '钱二'), 'the real name and number went, signed');
  assert.ok(police.calls.every((x) => x.verified), 'every call carried our valid signature');
  r = await cc.get(`/api/v1/persons/${earlyPerson}`);
  assert.equal(r.body.verified, true);
  r = await cc.get(`/api/v1/persons/${earlyPerson}/police-checks`);
  assert.equal(r.status, 200, r.text);
  assert.deepEqual(r.body.items.map((i) => [i.kind, i.result]).sort(), [['face', 'match'], ['identity', 'match']]);
  expectError(await ccWest.get(`/api/v1/persons/${earlyPerson}/police-checks`), 404, 'not_found');
  let items = await waitForAudit(auditor, `action=person.police_check&object_id=${earlyPerson}`, () => true);
  assert.match(items[0].detail, /identity=match face=match/);
  items = await waitForAudit(auditor, `action=person.verify&object_id=${earlyPerson}`, () => true);
  assert.equal(items[0].detail, 'police_check=match');
  // already verified: a second match verifies nothing again
  r = await cc.post('/api/v1/exchange/police-checks', { person_id: earlyPerson });
  assert.equal(r.body.match, true);
  assert.equal(r.body.verified_now, false);

  // the binding asks the police: a match is verified at once
  const good = await residentAccount();
  r = await bind(good, '李四', knownB);
  assert.equal(r.status, 201, r.text);
  assert.equal(r.body.identity_check.result, 'match');
  assert.equal(r.body.person.verified, true);
  // no match: refused, nothing registered
  const liar = await residentAccount();
  r = await bind(liar, '周五', knownB);
  expectError(r, 400, 'police_identity_mismatch', 'id_number');
  assert.equal((await liar.get('/api/v1/me/person')).status, 404, 'nothing was created');

  // the answer signed by another key: not used
  police.mode = 'bad_signature';
  expectError(await cc.post('/api/v1/exchange/police-checks', { person_id: wrongPerson }), 503, 'peer_signature_invalid');
  police.mode = 'ok';
  // the service refusing (non-2xx)
  police.routes['POST /police/v1/identity'] = () => [500, { error: { code: 'down', message: '内部错误' } }];
  expectError(await cc.post('/api/v1/exchange/police-checks', { person_id: wrongPerson }), 503, 'peer_refused');
  // an answer without a boolean "match"
  police.routes['POST /police/v1/identity'] = () => [200, { match: 'yes' }];
  expectError(await cc.post('/api/v1/exchange/police-checks', { person_id: wrongPerson }), 503, 'peer_refused');
  r = await cc.get(`/api/v1/persons/${wrongPerson}/police-checks`);
  assert.equal(r.body.items.length, 1, 'failed checks are not recorded as results');

  // unreachable: the binding goes on unverified and says why
  police.mode = 'down';
  const later = await residentAccount();
  r = await bind(later, '吴六', newId());
  assert.equal(r.status, 201, r.text);
  assert.equal(r.body.identity_check.result, 'unavailable');
  assert.equal(r.body.person.verified, false);
  assert.match(r.body.identity_check.message, /社区核验/);
  expectError(await cc.post('/api/v1/exchange/police-checks', { person_id: wrongPerson }), 503, 'peer_unreachable');
});

// ---- telecom ------------------------------------------------------------------------

test('telecom visited places: consent, own phone, itinerary evidence, rate limit', async () => {
  const res = await residentAccount();
  let r = await bind(res, '郑七', newId());
  assert.equal(r.status, 201, r.text);
  const day = (d) => new Date(Date.now() + 8 * 3600e3 - d * 86400e3).toISOString().slice(0, 10);
  let answer = { places: 'not a list' };
  const telecom = await configure('telecom', { 'POST /telecom/v1/visited': () => [200, answer] });

  r = await res.get('/api/v1/me/telecom');
  assert.equal(r.body.configured, true);
  assert.equal(r.body.latest, null);
  const version = r.body.consent.version;
  expectError(await res.post('/api/v1/me/telecom', { consent: false, version }), 400, 'telecom_consent_required', 'consent');
  expectError(await res.post('/api/v1/me/telecom', { consent: true, version: 'old' }), 400, 'consent_outdated', 'version');
  expectError(await res.post('/api/v1/me/telecom', { version }), 400, 'required', 'consent');
  expectError(await cc.post('/api/v1/me/telecom', { consent: true, version }), 403, 'forbidden');
  assert.equal(telecom.calls.length, 0, 'nothing asked for refused requests');

  // a malformed answer: not used, and it does not count against the limit
  expectError(await res.post('/api/v1/me/telecom', { consent: true, version }), 503, 'peer_refused');
  answer = { places: [{ name: '上海市', from: day(5), to: day(3) }, { name: '杭州市', from: day(2), to: day(2) }] };
  r = await res.post('/api/v1/me/telecom', { consent: true, version });
  assert.equal(r.status, 201, r.text);
  assert.deepEqual(r.body.places.map((p) => p.name), ['上海市', '杭州市']);
  const last = telecom.calls.at(-1);
  assert.equal(last.verified, true);
  assert.equal(last.body.phone, res.phone, 'only the resident\'s own phone is asked about');
  assert.equal(last.body.days, 14);

  // the evidence shows on the itinerary card
  r = await res.get('/api/v1/me/itinerary');
  assert.equal(r.status, 200, r.text);
  const names = JSON.stringify(r.body);
  assert.match(names, /上海市/);
  assert.match(names, /杭州市/);
  r = await res.get('/api/v1/me/telecom');
  assert.equal(r.body.latest.places.length, 2);
  assert.ok(r.body.next_at > Date.now());

  // one query per interval
  expectError(await res.post('/api/v1/me/telecom', { consent: true, version }), 429, 'telecom_rate_limited');
  const items = await waitForAudit(auditor, 'action=telecom.query', () => true);
  assert.ok(items.some((e) => /places=2/.test(e.detail) && !/上海/.test(e.detail)), 'audited, counting places, naming none');

  // an answer for days never asked about is refused
  const other = await residentAccount();
  assert.equal((await bind(other, '冯八', newId())).status, 201);
  answer = { places: [{ name: '广州市', from: '2019-01-01', to: '2019-01-02' }] };
  expectError(await other.post('/api/v1/me/telecom', { consent: true, version }), 503, 'peer_refused');
});

// ---- situation --------------------------------------------------------------------------

test('national and provincial situation: import idempotent per area and day', async () => {
  const d1 = '2026-12-01', d2 = '2026-12-02';
  let rows = [
    { area: '000000', area_name: '全国', day: d1, confirmed: 100, suspected: 5, cured: 80, deaths: 1, asymptomatic: 7, new_confirmed: 3 },
    { area: '000000', area_name: '全国', day: d2, confirmed: 104, suspected: 4, cured: 82, deaths: 1, asymptomatic: 8, new_confirmed: 4 },
    { area: '110000', area_name: '北京市', day: d2, confirmed: 10, suspected: 0, cured: 9, deaths: 0, asymptomatic: 1, new_confirmed: 1 },
    { area: '110101', area_name: '东城区', day: d2, confirmed: 1, suspected: 0, cured: 0, deaths: 0, asymptomatic: 0, new_confirmed: 0 },
    { area: '310000', area_name: '上海市', day: '2026-13-01', confirmed: 1, suspected: 0, cured: 0, deaths: 0, asymptomatic: 0, new_confirmed: 0 },
    { area: '310000', area_name: '上海市', day: d2, confirmed: -1, suspected: 0, cured: 0, deaths: 0, asymptomatic: 0, new_confirmed: 0 },
  ];
  const src = await configure('situation', { 'GET /situation/v1/daily': ({ query }) => [200, { source: '测试数据源', since: query, items: rows }] });
  expectError(await cc.post('/api/v1/exchange/situation/import'), 403, 'forbidden');
  let r = await sec.post('/api/v1/exchange/situation/import');
  assert.equal(r.status, 200, r.text);
  assert.deepEqual(r.body, { stored: 3, skipped: 3 });
  assert.match(src.calls.at(-1).query, /^since=\d{4}-\d{2}-\d{2}$/);
  r = await cc.get(`/api/v1/stats/situation?from=${d1}&to=${d2}`);
  assert.equal(r.status, 200, r.text);
  assert.equal(r.body.items.length, 3);
  // again, with a correction: the same rows, new figures
  rows = rows.slice(0, 3);
  rows[1] = { ...rows[1], confirmed: 105 };
  r = await sec.post('/api/v1/exchange/situation/import');
  assert.deepEqual(r.body, { stored: 3, skipped: 0 });
  r = await cc.get(`/api/v1/stats/situation?area=000000&from=${d1}&to=${d2}`);
  assert.deepEqual(r.body.items.map((i) => [i.day, i.confirmed]), [[d1, 100], [d2, 105]]);
  assert.equal(r.body.items[0].area_name, '全国');
  assert.equal(r.body.items[0].source, '测试数据源');
  expectError(await cc.get('/api/v1/stats/situation?area=12'), 400, 'invalid_parameter', 'area');
  expectError(await cc.get('/api/v1/stats/situation?from=2026-1-1'), 400, 'invalid_parameter', 'from');
  expectError(await cc.get(`/api/v1/stats/situation?from=${d2}&to=${d1}`), 400, 'invalid_range', 'from');
  const items = await waitForAudit(auditor, 'action=situation.import', () => true);
  assert.ok(items.some((e) => e.detail === 'stored=3 skipped=3'));
  // a source that signs with another key: nothing imported, nothing changed
  src.mode = 'bad_signature';
  rows = [{ ...rows[0], confirmed: 999 }];
  expectError(await sec.post('/api/v1/exchange/situation/import'), 503, 'peer_signature_invalid');
  r = await cc.get(`/api/v1/stats/situation?area=000000&from=${d1}&to=${d1}`);
  assert.equal(r.body.items[0].confirmed, 100);
  void sleep;
});

// ---- digital urban management ---------------------------------------------------------

test('digital urban management: an incident pushed as a case, its state polled back', async () => {
  const res = await residentAccount();
  let r = await bind(res, '陈九', newId());
  assert.equal(r.status, 201, r.text);
  r = await cc.post('/api/v1/reports', { source: 'grid_patrol', category: 'contact', person_id: r.body.person.id });
  assert.equal(r.status, 201, r.text);
  const inc = r.body.id;
  expectError(await cc.post(`/api/v1/incidents/${inc}/urban`, { note: '楼道垃圾清运' }), 503, 'connector_not_configured');
  r = await cc.get(`/api/v1/incidents/${inc}/urban`);
  assert.deepEqual(r.body, { case: null, configured: false });

  const cases = new Map();
  let seq = 0;
  const urban = await configure('urban', {
    'POST /urban/v1/cases': ({ body }) => {
      const no = `CG2026${String(++seq).padStart(4, '0')}`;
      cases.set(no, { state: 'accepted', label: '已受理', body });
      return [201, { case_no: no, state: 'accepted', state_label: '已受理' }];
    },
  });
  // the poll asks GET /urban/v1/cases/{case_no}: the fake answers 'GET *'
  urban.routes['GET *'] = ({ path }) => {
    const no = path.split('/').pop();
    const c = cases.get(no);
    return c ? [200, { case_no: no, state: c.state, state_label: c.label }] : [404, { error: { code: 'not_found', message: '无此案件' } }];
  };

  expectError(await cc.post(`/api/v1/incidents/${inc}/urban`, {}), 400, 'required', 'note');
  expectError(await cc.post(`/api/v1/incidents/${inc}/urban`, { note: 'x'.repeat(501) }), 400, 'too_long', 'note');
  assert.equal((await ccWest.post(`/api/v1/incidents/${inc}/urban`, { note: '越权' })).status, 404);
  assert.equal(urban.calls.length, 0, 'nothing sent for refused requests');

  r = await cc.post(`/api/v1/incidents/${inc}/urban`, { note: '楼道垃圾清运' });
  assert.equal(r.status, 201, r.text);
  assert.equal(r.body.case_no, 'CG20260001');
  const sent = urban.calls.at(-1);
  assert.equal(sent.verified, true);
  assert.equal(sent.body.description, '楼道垃圾清运');
  assert.equal(sent.body.region_name, '多福巷社区');
  assert.equal(sent.body.category, 'contact');
  assert.doesNotMatch(JSON.stringify(sent.body), /陈九|137\d{8}/, 'no name or phone leaves');
  expectError(await cc.post(`/api/v1/incidents/${inc}/urban`, { note: '再推一次' }), 409, 'urban_already_pushed');

  // the city handles it: the poll brings the state onto the timeline
  cases.get('CG20260001').state = 'closed';
  cases.get('CG20260001').label = '已办结';
  let tl = [];
  for (let i = 0; i < 60; i++) {
    tl = (await cc.get(`/api/v1/incidents/${inc}`)).body.timeline;
    if (tl.some((t) => t.action === 'urban_state')) break;
    await sleep(100);
  }
  const step = tl.find((t) => t.action === 'urban_state');
  assert.ok(step, JSON.stringify(tl));
  assert.equal(step.action_label, '数字城管处置进展');
  assert.equal(step.detail.label, '已办结');
  assert.ok(tl.some((t) => t.action === 'urban_pushed' && t.detail.case_no === 'CG20260001'));
  r = await cc.get(`/api/v1/incidents/${inc}/urban`);
  assert.equal(r.body.case.state, 'closed');
  assert.equal(r.body.case.done, true);
  // a final state ends the asking
  const asked = urban.calls.length;
  await sleep(1500);
  assert.equal(urban.calls.length, asked, 'a closed case is not polled again');
  assert.equal(tl.filter((t) => t.action === 'urban_state').length, 1);
  // the city's grid division into the region tree: preview, then import
  const square = (x) => ({ type: 'Polygon', coordinates: [[[116.40 + x, 39.91], [116.41 + x, 39.91], [116.41 + x, 39.92], [116.40 + x, 39.92], [116.40 + x, 39.91]]] });
  urban.routes['GET /urban/v1/grids'] = () => [200, { type: 'FeatureCollection', features: [
    { type: 'Feature', properties: { code: '110101001001002', name: '城管第二网格', community_code: '110101001001' }, geometry: square(0) },
    { type: 'Feature', properties: { code: '110101001001003', name: '城管第三网格', community_code: '110101001001' }, geometry: square(0.01) },
    { type: 'Feature', properties: { code: '110102001001002', name: '西城网格', community_code: '110102001001' }, geometry: null },
  ] }];
  expectError(await res.post('/api/v1/exchange/urban/grids', {}), 403, 'forbidden');
  r = await cc.post('/api/v1/exchange/urban/grids', {});
  assert.equal(r.status, 200, r.text);
  assert.equal(r.body.applied, false);
  assert.equal(r.body.imported, 2);
  assert.equal(r.body.error_count, 1, 'the grid outside the scope is refused');
  assert.equal(r.body.errors[0].row, 3);
  assert.equal((await cc.get('/api/v1/regions/110101001001002')).status, 404, 'a preview keeps nothing');
  r = await cc.post('/api/v1/exchange/urban/grids', { apply: true });
  assert.equal(r.status, 200, r.text);
  assert.equal(r.body.imported, 2);
  r = await cc.get('/api/v1/regions/110101001001002');
  assert.equal(r.status, 200, r.text);
  assert.equal(r.body.name, '城管第二网格');
  assert.equal(r.body.level, 'grid');
  r = await cc.post('/api/v1/exchange/urban/grids', { apply: true });
  assert.deepEqual([r.body.imported, r.body.updated], [0, 2], 'again: updated, not added');
  const gi = await waitForAudit(auditor, 'action=region.import_urban', () => true);
  assert.ok(gi.some((e) => e.detail === 'imported=2,updated=0,errors=1'));
  const items = await waitForAudit(auditor, `action=incident.urban_push&object_id=${inc}`, (e) => e.result === 'ok');
  assert.deepEqual(items.filter((e) => e.result === 'ok').map((e) => e.detail), ['case_no=CG20260001']);
});

// ---- other epidemic platforms ----------------------------------------------------------

test('other epidemic platforms: ours shared (key persons masked), theirs fetched', async () => {
  // a key person: on home isolation now
  const res = await residentAccount();
  let r = await bind(res, '欧阳十', newId());
  assert.equal(r.status, 201, r.text);
  const pid = r.body.person.id;
  r = await cc.post('/api/v1/observations', { person_id: pid, kind: 'home_isolation', source: 'grid_patrol' });
  assert.equal(r.status, 201, r.text);

  let theirs = { platform: '邻市疫情防控平台', region_name: '邻市', date: '2026-12-04', figures: [{ label: '确诊', value: 12 }], trend: [{ label: '新增确诊', points: [{ date: '2026-12-03', value: 1 }, { date: '2026-12-04', value: 2 }] }] };
  const a = await configure('platform', {
    'POST /platform/v1/situation': () => [200, { accepted: true }],
    'GET /platform/v1/situation': () => [200, theirs],
  });
  const b = await configure('platform', {
    'POST /platform/v1/situation': () => [200, { accepted: true }],
    'GET /platform/v1/situation': () => [200, { platform: '', figures: 'bad' }],
  });
  expectError(await cc.post('/api/v1/exchange/platforms/sync'), 403, 'forbidden');
  r = await sec.post('/api/v1/exchange/platforms/sync');
  assert.equal(r.status, 200, r.text);
  assert.deepEqual(r.body, { synced: 1, failed: 1 }, 'one malformed platform does not stop the other');
  const shared = a.calls.find((c) => c.method === 'POST').body;
  assert.ok(a.calls.every((c) => c.verified));
  assert.ok(shared.figures.some((f) => f.label && Number.isInteger(f.value)), 'the figures go');
  assert.ok(shared.trend.every((t) => t.points.length === 14), 'fourteen days of trend');
  const kp = shared.key_persons.find((k) => k.kind === 'home_isolation');
  assert.ok(kp, JSON.stringify(shared.key_persons));
  assert.equal(kp.region_name, '多福巷社区');
  assert.notEqual(kp.name, '欧阳十');
  assert.match(kp.name, /^欧/, 'masked, not withheld');
  const text = JSON.stringify(shared);
  assert.doesNotMatch(text, /欧阳十/);
  assert.doesNotMatch(text, new RegExp(res.phone));
  assert.match(text, /多福巷社区/, 'positive control: the scan sees what is sent');

  r = await cc.get('/api/v1/stats/platforms');
  assert.equal(r.status, 200, r.text);
  assert.equal(r.body.items.length, 1);
  assert.equal(r.body.items[0].platform, '邻市疫情防控平台');
  assert.equal(r.body.items[0].figures[0].value, 12);
  // the same day again: replaced, not added
  theirs = { ...theirs, figures: [{ label: '确诊', value: 13 }] };
  r = await sec.post('/api/v1/exchange/platforms/sync');
  r = await cc.get('/api/v1/stats/platforms');
  assert.equal(r.body.items.length, 1);
  assert.equal(r.body.items[0].figures[0].value, 13);
  b.mode = 'down';
  r = await sec.post('/api/v1/exchange/platforms/sync');
  assert.deepEqual(r.body, { synced: 1, failed: 1 });
  const items = await waitForAudit(auditor, 'action=platform.sync', () => true);
  assert.ok(items.some((e) => e.detail === 'synced=1 failed=1'));
  const shares = await waitForAudit(auditor, `action=platform.share&object_id=${a.id}`, () => true);
  assert.match(shares[0].detail, /key_persons=[1-9]\d* masked=1/);
});
