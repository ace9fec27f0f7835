// Contact tracing (issue 11, docs/tracing.md "Contact tracing"): a
// hand-built scenario whose contact list is exactly the expected set, both
// degrees, with passages at the window's edges (just inside and just outside
// ± w), a visit closed by its `out`, a lone `out`, a household, a train with
// seats near and far, a plate read; bad input answered 4xx and storing
// nothing; scope (another district's case 404, outside contacts as counts);
// the commit into the case workflow (reports, verification tasks, code
// inputs; idempotent); the rules; the automatic warning after a confirmation.
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import fs from 'node:fs';
import path from 'node:path';
import { execFileSync } from 'node:child_process';
import { startCity, COMMUNITY, OTHER_COMMUNITY, WEST, alerts, auditWhere } from './devlib.mjs';
import { residentId, expectError, writeTmp, sqlRun, sleep } from './lib.mjs';

const MIN = 60000;
const GRID = '110101001001001'; // 第一网格 of 多福巷社区
let ctx, cc, ccWest, grid;
// T: a minute two days ago; the scenario's passages are around it
const T = Math.floor((Date.now() - 2 * 86400000) / MIN) * MIN;
const chinaDay = (ms) => new Date(ms + 8 * 3600000).toISOString().slice(0, 10);
let seq = 0;
const P = {}; // name → person id

async function person(client, key, region, over = {}) {
  const r = await client.post('/api/v1/persons', {
    name: `张${key}`, id_number: residentId(region.slice(0, 6), '19800101', 600 + ++seq * 2), region_code: region, ...over,
  });
  assert.equal(r.status, 201, r.text);
  P[key] = r.body.id;
  return r.body.id;
}

async function ok(p, status = 200) {
  const r = await p;
  assert.equal(r.status, status, r.text);
  return r.body;
}

// normal → observation → suspected (the state machine's way to a case)
async function suspect(client, id) {
  await ok(client.post(`/api/v1/persons/${id}/status`, { to: 'observation', reason: '密接排查' }));
  await ok(client.post(`/api/v1/persons/${id}/status`, { to: 'suspected', reason: '发热伴咳嗽' }));
}

const runs = () => Number(sqlRun(ctx, 'SELECT COUNT(*) FROM trace_runs').trim());
const trace = (client, body) => client.post('/api/v1/traces', { person_id: P.X, from: T - 86400000, to: T + 86400000, ...body });
// the whole list of a run as {name → contact}, read as `client`
async function contactsOf(client, id, query = '') {
  const r = await ok(client.get(`/api/v1/traces/${id}?page_size=100${query}`));
  const byId = Object.fromEntries(Object.entries(P).map(([k, v]) => [v, k]));
  return { ...r, by: Object.fromEntries(r.items.map((c) => [byId[c.person.id], c])) };
}

before(async () => {
  ctx = await startCity({ env: { FK_TRACE_SWEEP: '1' } });
  ({ cc, ccWest, grid } = ctx);
  // the case X (suspected: no automatic run) and the people around it
  await person(cc, 'X', GRID, { household: 'H-X' });
  for (const k of ['A', 'B', 'C', 'D', 'E', 'G', 'J', 'K', 'L', 'M', 'N', 'Q', 'U1', 'U2', 'U3']) await person(cc, k, COMMUNITY);
  await person(cc, 'H', COMMUNITY, { household: 'H-X' }); // X's household
  await person(cc, 'S', OTHER_COMMUNITY, { household: 'H-X' }); // the same household number in another community: nobody's household
  await person(cc, 'R', COMMUNITY, { household: 'H-A' }); // A's household
  await ok(cc.patch(`/api/v1/persons/${P.A}`, { household: 'H-A' }));
  await person(cc, 'F', OTHER_COMMUNITY);
  await person(cc, 'O', OTHER_COMMUNITY);
  await person(ccWest, 'P', WEST);
  await person(ccWest, 'W', WEST); // a case of another district
  await suspect(cc, P.X);
  await suspect(ccWest, P.W);

  const V1 = ctx.venue.id, V2 = ctx.venueOther.id, VW = ctx.venueWest.id;
  const at = (m) => T + m * MIN;
  const rows = [
    // X's visit at V1: in T, out T+60 (w = 30: co-visitors in [T-30, T+90])
    [V1, 'X', 'in', at(0)], [V1, 'X', 'out', at(60)],
    [V1, 'A', 'in', at(10)], [V1, 'A', 'out', at(40)], // 30 min together: close
    [V1, 'B', 'in', at(-29)], // just inside: [T-29, T+1], 1 min: general
    [V1, 'C', 'in', at(-31)], // just outside
    [V1, 'D', 'in', at(89)], // just inside the far edge: 0 min: general
    [V1, 'E', 'in', at(91)], // just outside
    [V1, 'F', 'in', at(50)], // 10 min: general
    [V1, 'G', 'out', at(20)], // a lone out: [T-10, T+20], 20 min: close
    // A (close) later at the western venue: P 30 min with A (secondary), Q only 10
    [VW, 'A', 'in', at(300)], [VW, 'A', 'out', at(360)],
    [VW, 'P', 'in', at(310)], [VW, 'P', 'out', at(340)],
    [VW, 'Q', 'in', at(350)],
    // three more during A's visit there, 5 minutes each (nobody's contacts: the crowd rule's test)
    [VW, 'U1', 'in', at(355)], [VW, 'U2', 'in', at(355)], [VW, 'U3', 'in', at(355)],
    // by X's car at V2 (plate read at T+200): N within 5 min (close), O at +10 (not a passenger,
    // but 23 min with N: secondary)
    [V2, 'N', 'in', at(203)],
    [V2, 'O', 'in', at(210)],
  ];
  const csv = 'venue_id,person_id,direction,at\n' + rows.map(([v, k, d, t]) => `${v},${P[k]},${d},${t}`).join('\n') + '\n';
  ctx.must(['trace', 'load-access', writeTmp(ctx, 'passages.csv', csv)]);
  // the train G123 on T's day: J two rows away (close), K ten rows (general), L no seat
  // (general), M the day after (no contact)
  const trip = (k, seat, day = chinaDay(T)) =>
    ok(cc.post('/api/v1/trips', { person_id: P[k], departed_on: day, destination: '上海', out: { mode: 'train', number: 'g123', seat }, waypoints: [] }), 201);
  await trip('X', '05A');
  await trip('J', '07C');
  await trip('K', '15B');
  await trip('L', '');
  await trip('M', '05B', chinaDay(T + 86400000 * 3));
  // X's car and its plate read
  await ok(cc.post('/api/v1/vehicles', { plate: '京B12345', kind: 'car', owner_person_id: P.X }), 201);
  await ok(cc.post('/api/v1/vehicle-reads', { venue_id: V2, plate: '京B12345', direction: 'in', at: at(200) }));
});
after(async () => ctx?.stop());

const DEGREE1 = { A: ['close', 'venue'], B: ['general', 'venue'], D: ['general', 'venue'], F: ['general', 'venue'], G: ['close', 'venue'], H: ['close', 'household'], J: ['close', 'travel'], K: ['general', 'travel'], L: ['general', 'travel'], N: ['close', 'vehicle'] };
const DEGREE2 = { P: ['A', 'venue'], R: ['A', 'household'], O: ['N', 'venue'] };

test('degree 1 and 2: exactly the expected people, classes, reasons and vias', async () => {
  const run = await ok(trace(cc, { degree: 2 }), 201);
  assert.equal(run.run.status, 'done');
  assert.equal(run.run.trigger, 'manual');
  assert.equal(run.run.degree, 2);
  assert.equal(run.run.window_minutes, 30);
  const { by, items, outside_scope } = await contactsOf(cc, run.run.id);
  // cc (东城区) sees everyone but P (西城区), told as a count
  const expected = [...Object.keys(DEGREE1), ...Object.keys(DEGREE2).filter((k) => k !== 'P')].sort();
  assert.deepEqual(Object.keys(by).sort(), expected);
  assert.deepEqual(outside_scope, [{ name: '西城区', count: 1 }]);
  for (const [k, [cls, kind]] of Object.entries(DEGREE1)) {
    assert.equal(by[k].degree, 1, k);
    assert.equal(by[k].class, cls, k);
    assert.ok(by[k].reasons.some((r) => r.kind === kind), `${k}: ${JSON.stringify(by[k].reasons)}`);
    assert.equal(by[k].via, null);
  }
  assert.equal(by.A.reasons[0].overlap_minutes, 30);
  assert.equal(by.A.reasons[0].crowd, 4); // others' passages during X's visit: A in and out, G out, F in
  assert.equal(by.A.reasons[0].venue_name, '多福巷小区东门');
  assert.equal(by.A.reasons[0].kind_label, '同场所停留');
  assert.equal(by.A.class_label, '密接');
  assert.equal(by.B.reasons[0].overlap_minutes, 1);
  assert.equal(by.D.reasons[0].overlap_minutes, 0);
  assert.equal(by.G.reasons[0].overlap_minutes, 20);
  assert.equal(by.J.reasons[0].number, 'G123');
  assert.equal(by.J.reasons[0].seat, '07C');
  assert.equal(by.N.reasons[0].venue_name, '隆福寺小区东门');
  for (const [k, [via, kind]] of Object.entries(DEGREE2)) {
    if (k === 'P') continue;
    assert.equal(by[k].degree, 2, k);
    assert.equal(by[k].class, 'secondary', k);
    assert.equal(by[k].class_label, '次密接');
    assert.equal(by[k].via.person_id, P[via], k);
    assert.ok(by[k].reasons.some((r) => r.kind === kind), k);
  }
  // names masked, the grid named
  assert.equal(by.A.person.name, '张*');
  assert.match(by.A.person.id_number, /^\d{2}\*+\w$/);
  assert.equal(by.H.person.grid_name, '');
  // sorted: degree, class (close first), first exposure
  const order = items.map((c) => [c.degree, { close: 1, secondary: 2, general: 3 }[c.class], c.first_at]);
  assert.deepEqual(order, [...order].sort((a, b) => a[0] - b[0] || a[1] - b[1] || a[2] - b[2]));
  assert.deepEqual(run.run.counts, { close: 5, secondary: 3, general: 5 });
  // ccWest: the case is not theirs
  assert.equal((await ccWest.get(`/api/v1/traces/${run.run.id}`)).status, 404);
  // filters
  const closeOnes = await contactsOf(cc, run.run.id, '&class=close');
  assert.deepEqual(Object.keys(closeOnes.by).sort(), ['A', 'G', 'H', 'J', 'N']);
  const travel = await contactsOf(cc, run.run.id, '&kind=travel');
  assert.deepEqual(Object.keys(travel.by).sort(), ['J', 'K', 'L']);
  const second = await contactsOf(cc, run.run.id, '&degree=2');
  assert.deepEqual(Object.keys(second.by).sort(), ['O', 'R']);
  expectError(await cc.get(`/api/v1/traces/${run.run.id}?class=nearby`), 400, 'invalid_parameter', 'class');
});

test('degree 1 only: no secondary contacts', async () => {
  const run = await ok(trace(cc, { degree: 1 }), 201);
  const { by } = await contactsOf(cc, run.run.id);
  assert.deepEqual(Object.keys(by).sort(), Object.keys(DEGREE1).sort());
});

test('a community user sees contacts outside the community only as counts', async () => {
  const run = await ok(trace(cc, {}), 201);
  const { by, outside_scope } = await contactsOf(grid, run.run.id);
  assert.ok(!by.F && !by.O && !by.P);
  assert.ok(by.A && by.R);
  assert.deepEqual(outside_scope, [{ name: '东城区', count: 2 }, { name: '西城区', count: 1 }]);
  const g = await ok(grid.get(`/api/v1/traces/${run.run.id}/graph`));
  const names = g.nodes.map((n) => n.name);
  assert.ok(names.includes('东城区（区外 2 人）'), JSON.stringify(names));
  assert.ok(names.includes('西城区（区外 1 人）'));
  assert.ok(!g.nodes.some((n) => n.id === P.F || n.id === P.P));
  assert.ok(g.links.some((l) => l.source === P.X && l.target === P.A && l.kind === 'venue'));
  assert.ok(g.links.some((l) => l.source === P.A && l.target === P.R && l.kind === 'household'));
  assert.equal(g.truncated, false);
  const grids = await ok(grid.get(`/api/v1/traces/${run.run.id}/grid-counts`));
  const community = grids.find((x) => x.region_code === COMMUNITY);
  assert.equal(community.name, '多福巷社区');
  assert.equal(community.close + community.secondary + community.general, Object.keys(by).length);
  assert.ok(!grids.some((x) => x.region_code.startsWith('110102')));
  // the list of runs: the case's masked name and region, who ran it
  const list = await ok(grid.get(`/api/v1/traces?person_id=${P.X}`));
  assert.ok(list.total >= 1);
  assert.equal(list.items[0].person.name, '张*');
  assert.equal(list.items[0].region_name, '第一网格');
  assert.equal(list.items[0].created_by_name, 'cc_dc');
  // reveal needs person.reveal (a grid worker has not)
  assert.equal((await grid.get(`/api/v1/traces/${run.run.id}?reveal=1`)).status, 403);
  const revealed = await contactsOf(cc, run.run.id, '&reveal=1');
  assert.equal(revealed.by.A.person.name, '张A');
  // the export: both sheets; masked unless revealed (the revealed one is the positive control)
  const xlsxText = async (q) => {
    const r = await fetch(`${ctx.url}/api/v1/traces/${run.run.id}/export${q}`, { headers: { cookie: cc.cookie } });
    assert.equal(r.status, 200);
    assert.match(r.headers.get('content-type') || '', /spreadsheetml/);
    const f = path.join(ctx.dir, `trace-${q ? 'revealed' : 'masked'}.xlsx`);
    fs.writeFileSync(f, Buffer.from(await r.arrayBuffer()));
    return execFileSync('python3', ['-c', 'import sys, zipfile; z = zipfile.ZipFile(sys.argv[1]); print("\\n".join(z.read(n).decode() for n in z.namelist() if n.endswith(".xml")))', f], { encoding: 'utf8' });
  };
  const masked = await xlsxText('');
  assert.ok(masked.includes('密接人员') && masked.includes('传播关系'));
  assert.ok(masked.includes('多福巷小区东门'));
  assert.ok(!masked.includes('张A'));
  assert.ok((await xlsxText('?reveal=1')).includes('张A'));
  const audit = await auditWhere(ctx, 'action=trace.contacts.read', (e) => e.object_id === run.run.id);
  assert.ok(audit.some((e) => e.object_id === run.run.id));
});

test('bad input is refused and stores nothing', async () => {
  const before = runs();
  expectError(await trace(cc, { degree: 3 }), 400, 'invalid_degree', 'degree');
  expectError(await trace(cc, { from: T - 61 * 86400000, to: T }), 400, 'invalid_window', 'to');
  expectError(await trace(cc, { from: T, to: T - MIN }), 400, 'invalid_range', 'to');
  expectError(await trace(cc, { window_minutes: 241 }), 400, 'out_of_range', 'window_minutes');
  assert.equal((await trace(cc, { person_id: P.W })).status, 404); // another district's case
  expectError(await trace(cc, { person_id: P.A }), 409, 'not_a_case', 'person_id');
  expectError(await cc.post('/api/v1/traces', { from: T }), 400, 'required', 'person_id');
  assert.equal(runs(), before);
});

test('commit: reports, verification tasks and code inputs in one go, once', async () => {
  const run = await ok(trace(cc, {}), 201);
  const { by } = await contactsOf(cc, run.run.id);
  const ids = [by.A.id, by.R.id];
  expectError(await cc.post(`/api/v1/traces/${run.run.id}/commit`, { contact_ids: [] }), 400, 'required', 'contact_ids');
  const incidents0 = Number(sqlRun(ctx, 'SELECT COUNT(*) FROM incidents').trim());
  // an unknown id among them: nothing written
  expectError(await cc.post(`/api/v1/traces/${run.run.id}/commit`, { contact_ids: [...ids, '123'] }), 404, 'unknown_contact', 'contact_ids');
  assert.equal(Number(sqlRun(ctx, 'SELECT COUNT(*) FROM incidents').trim()), incidents0);
  // a contact outside the caller's scope is unknown to it
  const full = await contactsOf(cc, run.run.id);
  expectError(await grid.post(`/api/v1/traces/${run.run.id}/commit`, { contact_ids: [full.by.F.id] }), 404, 'unknown_contact');
  const c = await ok(cc.post(`/api/v1/traces/${run.run.id}/commit`, { contact_ids: ids }));
  assert.equal(c.committed, 2);
  assert.equal(c.incidents.length, 2);
  assert.deepEqual(c.skipped, []);
  const inc = await ok(cc.get(`/api/v1/incidents/${c.incidents[0]}?reveal=1`));
  assert.equal(inc.source, 'contact');
  assert.equal(inc.category, 'contact');
  assert.match(inc.description, /与疑似病例张\*于.*在多福巷小区东门同时停留30分钟/);
  // the verification task in the contact's grid, the code inputs, the colours
  for (const [i, k] of [[0, 'A'], [1, 'R']]) {
    const report = await ok(cc.get(`/api/v1/incidents/${c.incidents[i]}`));
    assert.equal(report.person_id, P[k]);
    assert.equal(report.state, 'verifying'); // the routing rule made its verification task
    const task = await ok(cc.get(`/api/v1/tasks/${report.task_id}`));
    assert.equal(task.kind, 'verify');
    assert.equal(task.region_code, COMMUNITY);
  }
  const contactsA = await ok(cc.get(`/api/v1/persons/${P.A}/contacts`));
  assert.equal(contactsA.items[0].degree, 1);
  assert.equal(contactsA.items[0].case_person_id, P.X);
  const contactsR = await ok(cc.get(`/api/v1/persons/${P.R}/contacts`));
  assert.equal(contactsR.items[0].degree, 2);
  assert.equal((await ok(cc.get(`/api/v1/persons/${P.A}/code`))).colour, 'red');
  assert.equal((await ok(cc.get(`/api/v1/persons/${P.R}/code`))).colour, 'yellow');
  const after1 = await contactsOf(cc, run.run.id);
  assert.equal(after1.by.A.incident_id, c.incidents[0]);
  // again: skipped, nothing new
  const again = await ok(cc.post(`/api/v1/traces/${run.run.id}/commit`, { contact_ids: ids }));
  assert.equal(again.committed, 0);
  assert.deepEqual(again.skipped.map((s) => s.reason), ['already_committed', 'already_committed']);
  assert.equal(Number(sqlRun(ctx, 'SELECT COUNT(*) FROM incidents').trim()), incidents0 + 2);
  // two commits of the same contacts at once: each contact reported once
  const both = await Promise.all([0, 1].map(() => cc.post(`/api/v1/traces/${run.run.id}/commit`, { contact_ids: [by.B.id, by.D.id] })));
  for (const r of both) assert.equal(r.status, 200, r.text);
  assert.equal(both[0].body.committed + both[1].body.committed, 2);
  assert.equal(Number(sqlRun(ctx, 'SELECT COUNT(*) FROM incidents').trim()), incidents0 + 4);
  const audit = await auditWhere(ctx, 'action=trace.commit', (e) => e.object_id === run.run.id && /count=2/.test(e.detail));
  assert.ok(audit.some((e) => /count=2/.test(e.detail)));
});

test('rules: read, changed with range checks, used by the next run', async () => {
  const r = await ok(cc.get('/api/v1/trace/rules'));
  assert.deepEqual(r, { lookback_days: 4, window_minutes: 30, close_overlap_minutes: 15, close_crowd_max: 200, seat_rows: 3, passenger_minutes: 5, building: false, auto: true });
  expectError(await cc.put('/api/v1/trace/rules', { seat_rows: 31 }), 400, 'out_of_range', 'seat_rows');
  expectError(await cc.put('/api/v1/trace/rules', { close_crowd_max: -1 }), 400, 'out_of_range', 'close_crowd_max');
  expectError(await cc.put('/api/v1/trace/rules', { close_crowd_max: '5' }), 400, 'invalid_type', 'close_crowd_max');
  expectError(await cc.put('/api/v1/trace/rules', { window_minutes: 0 }), 400, 'out_of_range', 'window_minutes');
  assert.equal((await grid.put('/api/v1/trace/rules', { seat_rows: 1 })).status, 403);
  assert.deepEqual(await ok(cc.get('/api/v1/trace/rules')), r);
  const changed = await ok(cc.put('/api/v1/trace/rules', { seat_rows: 1, close_overlap_minutes: 25 }));
  assert.equal(changed.seat_rows, 1);
  const run = await ok(trace(cc, { degree: 1 }), 201);
  const { by } = await contactsOf(cc, run.run.id);
  assert.equal(by.J.class, 'general'); // two rows away, one allowed
  assert.equal(by.G.class, 'general'); // 20 minutes < 25
  assert.equal(by.A.class, 'close');
  await ok(cc.put('/api/v1/trace/rules', r));
});

test('crowd rule: co-presence in a visit others passed more than close_crowd_max times is general, in both degrees', async () => {
  const r = await ok(cc.get('/api/v1/trace/rules'));
  try {
    // 3: others passed V1 4 times during X's visit, so A (30 min) and G (20) are general, and
    // nobody is secondary through A (P, R); O stays secondary through N (1 passage)
    await ok(cc.put('/api/v1/trace/rules', { close_crowd_max: 3 }));
    let run = await ok(trace(cc, { degree: 2 }), 201);
    let { by, outside_scope } = await contactsOf(cc, run.run.id);
    assert.equal(by.A.class, 'general');
    assert.equal(by.A.reasons[0].crowd, 4);
    assert.equal(by.A.reasons[0].overlap_minutes, 30);
    assert.equal(by.G.class, 'general');
    assert.equal(by.R, undefined);
    assert.equal(by.O.class, 'secondary');
    assert.deepEqual(outside_scope, []);
    // 4: A is close again (R, A's household, secondary), but others passed the western venue 6
    // times during A's visit there (P twice, Q, U1-3): P is not secondary
    await ok(cc.put('/api/v1/trace/rules', { close_crowd_max: 4 }));
    run = await ok(trace(cc, { degree: 2 }), 201);
    ({ by, outside_scope } = await contactsOf(cc, run.run.id));
    assert.equal(by.A.class, 'close');
    assert.equal(by.R.class, 'secondary');
    assert.deepEqual(outside_scope, []);
    // 0: no limit: P is secondary again (outside cc's scope: a count)
    await ok(cc.put('/api/v1/trace/rules', { close_crowd_max: 0 }));
    run = await ok(trace(cc, { degree: 2 }), 201);
    ({ outside_scope } = await contactsOf(cc, run.run.id));
    assert.deepEqual(outside_scope, [{ name: '西城区', count: 1 }]);
  } finally {
    await ok(cc.put('/api/v1/trace/rules', r));
  }
});

test('automatic warning: a confirmation is traced in the background and alerts the region', async () => {
  const y = await person(cc, 'Y', COMMUNITY);
  const z = await person(cc, 'Z', COMMUNITY);
  const now = Date.now();
  const csv = `venue_id,person_id,direction,at\n${ctx.venue.id},${y},in,${now - 3 * 3600000}\n${ctx.venue.id},${y},out,${now - 2 * 3600000}\n` +
    `${ctx.venue.id},${z},in,${now - 3 * 3600000 + 5 * MIN}\n${ctx.venue.id},${z},out,${now - 2 * 3600000 + 15 * MIN}\n`;
  // and a crowd passing by at the gate (general contacts: 51 stored, more than one batch of 16;
  // the gate's range, 54 passages, long enough for the engine's radix sort)
  let crowd = '';
  for (let i = 0; i < 50; i++) crowd += `${ctx.venue.id},${await person(cc, `crowd${i}`, COMMUNITY)},in,${now - 2 * 3600000 + 10 * MIN + i * 1000}\n`;
  ctx.must(['trace', 'load-access', writeTmp(ctx, 'y.csv', csv + crowd)]);
  await suspect(cc, y);
  await ok(cc.post(`/api/v1/persons/${y}/status`, { to: 'confirmed', severity: 'mild', infection_route: 'local', reason: '核酸阳性' }));
  let found;
  for (let i = 0; i < 100 && !found; i++) {
    found = (await alerts(cc, '?kind=trace_contacts')).find((a) => a.person_id === y);
    if (!found) await sleep(100);
  }
  assert.ok(found, 'an alert trace_contacts');
  assert.match(found.message, /^确诊 张\* 追踪到密接 1 人、次密接 0 人、一般接触 50 人：多福巷社区 51 人$/);
  const list = await ok(cc.get(`/api/v1/traces?person_id=${y}`));
  assert.equal(list.total, 1);
  assert.equal(list.items[0].trigger, 'auto');
  assert.equal(list.items[0].created_by_name, '系统自动');
  const run = await contactsOf(cc, list.items[0].id);
  assert.deepEqual(Object.keys(run.by), ['Z', ...Array.from({ length: 50 }, (_, i) => `crowd${i}`)]);
  assert.equal(run.by.Z.class, 'close');
  // 55: Z's in and out paired across Y's out and the crowd's passages (kept apart: 30 + 15)
  assert.equal(run.by.Z.reasons[0].overlap_minutes, 55);
  assert.equal(run.by.crowd49.class, 'general');
  assert.equal(run.by.crowd49.person.id, P.crowd49);
  // once per confirmation
  await sleep(1500);
  assert.equal((await ok(cc.get(`/api/v1/traces?person_id=${y}`))).total, 1);
});
