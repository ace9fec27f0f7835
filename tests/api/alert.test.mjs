// Alerts: raised by scans, listed by scope with filters, acknowledged (who
// and when), and pushed live over Server-Sent Events to the staff whose
// scope holds the venue, with keep-alive comments and Last-Event-ID resume.
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { startServer, startPeer, onPostgres, CITY_CSV, writeTmp, residentId, smsCode, sleep, totpSecretFrom, waitForAudit, openStream, until, signedIn, startCityWith, CITY_STAFF } from './lib.mjs';

const PW = 'Alert-test-2024!';
const DC = '110101000000';
const COMMUNITY = '110101001001';
let ctx, cc, ccWest, gate, leader, doctor, auditor, venue, res;

// Audit entries are written asynchronously: wait until `pred` holds.
const auditWhere = (query, pred) => waitForAudit(auditor, query, pred);

before(async () => {
  ctx = await startCityWith(
    { ...CITY_STAFF, leader_dc: ['leader', DC] },
    PW,
    { env: { FK_SSE_KEEPALIVE_MS: '300' } },
  );
  ({ cc_dc: cc, cc_xc: ccWest, gate_dc: gate, leader_dc: leader, doctor_dc: doctor, auditor } = ctx.as);
  let r = await cc.post('/api/v1/places', { name: '多福巷小区', kind: 'community', region_code: COMMUNITY });
  r = await cc.post('/api/v1/venues', { name: '多福巷小区东门', kind: 'community_gate', place_id: r.body.id });
  venue = r.body;
  res = ctx.client();
  const phone = '13900000001';
  await res.post('/api/v1/auth/sms/send', { phone });
  await res.post('/api/v1/auth/sms/login', { phone, code: smsCode(ctx, phone) });
  await res.post('/api/v1/me/consent', { version: 'v1' });
  r = await res.post('/api/v1/me/person', { name: '蒋九', id_number: residentId('110101', '19700101', 901), region_code: COMMUNITY, address: '多福巷2号' });
  assert.equal(r.status, 201, r.text);
  res.personId = r.body.person.id;
});

after(async () => {
  await ctx?.stop();
});

const fever = async (t = 38.5) =>
  gate.post('/api/v1/scans', { venue_id: venue.id, token: (await res.get('/api/v1/me/code/token')).body.token, direction: 'in', temperature: t });

test('a fever reaches the district stream live, not another district; keep-alives flow', async () => {
  const mine = await openStream(ctx.url, cc);
  const other = await openStream(ctx.url, ccWest);
  assert.equal(mine.status, 200);
  assert.match(mine.type, /^text\/event-stream/);
  const r = await fever();
  assert.equal(r.status, 201, r.text);
  const ids = r.body.alerts.map((a) => a.id);
  assert.ok(await until(() => mine.events.length >= 2), 'events arrive');
  const kinds = mine.events.map((e) => e.data.kind).sort();
  assert.deepEqual(kinds, ['code_colour', 'fever']);
  assert.deepEqual(mine.events.map((e) => e.id).sort(), [...ids].sort());
  const f = mine.events.find((e) => e.data.kind === 'fever').data;
  assert.equal(f.venue_id, venue.id);
  assert.equal(f.person_id, res.personId);
  assert.equal(f.level, 'critical');
  assert.equal(f.detail.temperature, 38.5);
  assert.match(f.message, /蒋\*.*38\.5℃/);
  assert.equal(f.acked, false);
  assert.ok(await until(() => mine.comments >= 2), 'keep-alive comments');
  await sleep(200);
  assert.equal(other.events.length, 0);
  mine.close();
  other.close();
});

// Two servers on one PostgreSQL database (SQLite is one server per file):
// an alert raised through one reaches a console connected to the other,
// live, once; and the other way round.
test('an alert raised on one server reaches the streams of another on the same database', { skip: !onPostgres && 'several servers share a PostgreSQL database only' }, async () => {
  const peer = await startPeer(ctx);
  try {
    const ccPeer = peer.client();
    await ccPeer.login('cc_dc', PW);
    const there = await openStream(peer.url, ccPeer);
    const here = await openStream(ctx.url, cc);
    const westThere = await openStream(peer.url, await (async () => { const c = peer.client(); await c.login('cc_xc', PW); return c; })());
    assert.equal(there.status, 200);
    const r = await fever(38.7);
    assert.equal(r.status, 201, r.text);
    const ids = r.body.alerts.map((a) => a.id).sort();
    assert.ok(await until(() => there.events.length >= 2), 'heard on the other server');
    assert.deepEqual(there.events.map((e) => e.id).sort(), ids);
    assert.equal(there.events.find((e) => e.data.kind === 'fever').data.detail.temperature, 38.7);
    assert.ok(await until(() => here.events.length >= 2));
    await sleep(300);
    assert.equal(here.events.length, 2, 'the raising server publishes its own once');
    assert.equal(there.events.length, 2, 'no duplicates');
    assert.equal(westThere.events.length, 0, 'scoped on the other server too');
    // the other way: a scan through the peer reaches this server's stream
    const gatePeer = peer.client();
    await gatePeer.login('gate_dc', PW);
    const r2 = await gatePeer.post('/api/v1/scans', { venue_id: venue.id, token: (await res.get('/api/v1/me/code/token')).body.token, direction: 'in', temperature: 38.9 });
    assert.equal(r2.status, 201, r2.text);
    assert.ok(await until(() => here.events.length >= 4), 'heard back here');
    for (const s of [there, here, westThere]) s.close();
  } finally {
    await peer.stop();
  }
});

test('Last-Event-ID replays the alerts after it, then goes live', async () => {
  const all = (await cc.get('/api/v1/alerts?page_size=200')).body.items;
  const oldest = all[all.length - 1];
  const s = await openStream(ctx.url, cc, { 'Last-Event-ID': oldest.id });
  assert.ok(await until(() => s.events.length >= all.length - 1));
  assert.ok(s.events.every((e) => BigInt(e.id) > BigInt(oldest.id)));
  await fever(39.0);
  assert.ok(await until(() => s.events.length >= all.length + 1));
  const ids = s.events.map((e) => e.id);
  assert.equal(new Set(ids).size, ids.length, 'no duplicates');
  s.close();
  const bad = await openStream(ctx.url, cc, { 'Last-Event-ID': 'xyz' });
  assert.equal(bad.status, 400);
});

test('list with filters and scope; ack records who and when, once', async () => {
  let r = await cc.get('/api/v1/alerts?kind=fever');
  assert.equal(r.status, 200);
  assert.ok(r.body.total >= 2);
  assert.ok(r.body.items.every((a) => a.kind === 'fever' && a.kind_label === '体温异常'));
  assert.equal((await cc.get(`/api/v1/alerts?venue_id=${venue.id}&acked=0`)).body.total, r.body.total + (await cc.get('/api/v1/alerts?kind=code_colour')).body.total);
  assert.equal((await ccWest.get('/api/v1/alerts')).body.total, 0);
  assert.equal((await cc.get('/api/v1/alerts?kind=nope')).status, 400);
  assert.equal((await cc.get('/api/v1/alerts?acked=2')).status, 400);
  const id = r.body.items[0].id;
  const note = { note: '已复测体温，安排就医' };
  assert.equal((await ccWest.post(`/api/v1/alerts/${id}/ack`, note)).status, 404);
  assert.equal((await leader.post(`/api/v1/alerts/${id}/ack`, note)).status, 403);
  assert.equal((await doctor.get('/api/v1/alerts')).status, 403);
  assert.equal((await leader.get('/api/v1/alerts')).status, 200);
  // the note is required, 1..200 characters, text: a clear 400 on "note" and nothing changed
  for (const bad of [{}, { note: '' }, { note: '   ' }, { note: 'x'.repeat(201) }, { note: 42 }]) {
    r = await gate.post(`/api/v1/alerts/${id}/ack`, bad);
    assert.equal(r.status, 400, JSON.stringify(bad));
    assert.equal(r.body.error.field, 'note', JSON.stringify(bad));
    assert.ok(r.body.error.message, JSON.stringify(bad));
  }
  let open = (await cc.get('/api/v1/alerts?acked=0&page_size=200')).body.items.find((a) => a.id === id);
  assert.ok(open, 'still open after the refused notes');
  assert.equal(open.handled_by_name, null);
  assert.equal(open.handled_at, null);
  assert.equal(open.note, null);
  const t0 = Date.now();
  r = await gate.post(`/api/v1/alerts/${id}/ack`, { note: '测'.repeat(200) });
  assert.equal(r.status, 200, r.text);
  assert.equal(r.body.acked, true);
  assert.ok(r.body.acked_at >= t0 - 1000);
  const me = await gate.get('/api/v1/me');
  assert.equal(r.body.acked_by, me.body.id ?? me.body.user_id ?? r.body.acked_by);
  // who handled it by name, never an id; when; what was done
  assert.ok(me.body.display_name);
  assert.equal(r.body.handled_by_name, me.body.display_name);
  assert.equal(r.body.handled_at, r.body.acked_at);
  assert.equal(r.body.note, '测'.repeat(200));
  r = await gate.post(`/api/v1/alerts/${id}/ack`, note);
  assert.equal(r.status, 409);
  const done = (await cc.get('/api/v1/alerts?acked=1')).body.items[0];
  assert.equal(done.id, id);
  assert.equal(done.handled_by_name, me.body.display_name);
  assert.equal(done.note, '测'.repeat(200));
  assert.ok(done.handled_at >= t0 - 1000);
  assert.equal((await cc.post('/api/v1/alerts/999999/ack', note)).status, 404);
});

test('stream needs alert.read; a closed client is dropped', async () => {
  assert.equal((await openStream(ctx.url, doctor)).status, 403);
  assert.equal((await openStream(ctx.url, ctx.client())).status, 401);
  const s = await openStream(ctx.url, gate);
  s.close();
  await sleep(500);
  // the server keeps serving and still pushes to others
  const t = await openStream(ctx.url, gate);
  await fever(38.0);
  assert.ok(await until(() => t.events.length >= 1));
  t.close();
});

test('listing alerts and opening the stream are audited; a refused acknowledgement too', async () => {
  assert.equal((await leader.get('/api/v1/alerts?page_size=5')).status, 200);
  const s = await openStream(ctx.url, leader);
  assert.equal(s.status, 200);
  s.close();
  const id = (await cc.get('/api/v1/alerts')).body.items[0].id;
  assert.equal((await ccWest.post(`/api/v1/alerts/${id}/ack`, { note: '已处理' })).status, 404);
  const has = async (query, pred, what) => assert.ok((await auditWhere(query, pred)).some(pred), what);
  await has('action=alert.list', (x) => x.user_id === leader.id && x.result === 'ok' && /^count=\d+$/.test(x.detail), 'list');
  await has('action=alert.stream', (x) => x.user_id === leader.id && x.result === 'ok', 'stream');
  await has(`action=alert.ack&object_id=${id}`, (x) => x.user_id === ccWest.id && x.result === 'unknown_alert', 'refused ack');
});
