// Automatic monitoring (docs/monitor.md, src/monitor/): the rules (read by
// leaders and staff, edited by the command centre, bad input refused with
// nothing changed), each kind raised by a real workload through the API —
// new reports in a community, a quarantine site's occupancy, people on home
// isolation not checked today, fever readings at a venue — never below its
// threshold, once per rule, object and day whatever the runs, at the
// object's region (a street's staff never sees another street's), the
// breaches list by name, a breach that no longer holds leaving it, a
// disabled rule's breaches gone, the live push, and the background worker.
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { residentId, expectError, startCityWith, startPeer, openStream, until, auditEntries, waitForAudit } from './lib.mjs';

const PW = 'Passw0rd!monitor';
const COMMUNITY = '110101001001'; // 多福巷社区, 东华门街道
const GRID = '110101001001001'; // 第一网格
const BUILDING = '110101001001001001'; // 1号楼
const OTHER = '110101002001'; // 隆福寺社区, 景山街道
const padded = (code) => code.padEnd(18, '0'); // alerts carry the padded code
let ctx, cc, cs, street, otherStreet, leader, grid, doc, auditor;

let seq = 0;
const rid = () => residentId('110101', '19750505', 100 + ++seq * 2);

async function ok(p, status = 200) {
  const r = await p;
  assert.equal(r.status, status, r.text);
  return r.body;
}

const person = async (region) => (await ok(cc.post('/api/v1/persons', { name: '张监测', id_number: rid(), region_code: region }), 201)).id;
const report = async (region) => ok(cc.post('/api/v1/reports', { source: 'cdc', category: 'contact', person_id: await person(region) }), 201);
const run = () => ok(cc.post('/api/v1/monitor/run'));
const alertsOf = async (client, kind) => (await ok(client.get(`/api/v1/alerts?kind=${kind}&page_size=200`))).items;
const breachesOf = async (client, kind, query = '') =>
  (await ok(client.get(`/api/v1/monitor/breaches${query}`))).items.filter((b) => b.kind === kind);

let rules; // the stored rules by kind, after the test rules were set

async function setRules(over) {
  const cur = (await ok(cc.get('/api/v1/monitor/rules'))).items;
  const body = cur.map(({ id, kind, label, threshold, level, enabled, from_hour }) => ({ id, kind, label, threshold, level, enabled, from_hour, ...(over[kind] || {}) }));
  const r = await ok(cc.put('/api/v1/monitor/rules', { rules: body }));
  rules = Object.fromEntries(r.items.map((x) => [x.kind, x]));
  return r;
}

before(async () => {
  ctx = await startCityWith(
    {
      m_cc: ['command_center', '110101000000'],
      m_cs: ['community_staff', COMMUNITY],
      m_street: ['street_staff', '110101001000'],
      m_street_other: ['street_staff', '110101002000'],
      m_leader: ['leader', '110101000000'],
      m_grid: ['grid_worker', COMMUNITY],
      m_doc: ['doctor', '110101000000'],
      m_auditor: ['audit_admin', '110000000000'],
    },
    PW,
    // evaluations happen when a test asks (POST /monitor/run), not on the clock
    { env: { FK_MONITOR_EVERY: '0', FK_CHECK_SWEEP: '0' } },
  );
  ({ m_cc: cc, m_cs: cs, m_street: street, m_street_other: otherStreet, m_leader: leader, m_grid: grid, m_doc: doc, m_auditor: auditor } = ctx.as);
});
after(async () => { await ctx?.stop(); });

test('the four rules of the issue ship enabled; leaders and staff read them, only the command centre edits', async () => {
  const r = await ok(leader.get('/api/v1/monitor/rules'));
  assert.deepEqual(r.items.map((x) => [x.kind, x.threshold, x.enabled]), [
    ['reports', 5, true], ['occupancy', 90, true], ['unchecked', 1, true], ['fever', 3, true],
  ]);
  const occ = r.items.find((x) => x.kind === 'occupancy');
  assert.equal(occ.kind_label, '隔离点入住率');
  assert.equal(occ.unit, '%');
  assert.equal(occ.comparison, 'ge');
  assert.equal(r.items.find((x) => x.kind === 'reports').comparison, 'gt');
  assert.equal(r.items.find((x) => x.kind === 'unchecked').from_hour, 18);
  assert.equal(r.items.find((x) => x.kind === 'fever').level_label, '严重');
  assert.deepEqual(r.kinds.map((k) => k.kind), ['reports', 'occupancy', 'unchecked', 'fever']);
  await ok(street.get('/api/v1/monitor/rules'));
  await ok(cs.get('/api/v1/monitor/breaches'));
  assert.equal((await grid.get('/api/v1/monitor/rules')).status, 403);
  assert.equal((await street.put('/api/v1/monitor/rules', { rules: r.items })).status, 403);
  assert.equal((await leader.post('/api/v1/monitor/run')).status, 403);
  const vocab = await ok(cc.get('/api/v1/vocabularies'));
  assert.deepEqual(vocab.monitor_kinds.items.map((w) => w.value), ['reports', 'occupancy', 'unchecked', 'fever']);
  assert.equal(vocab.alert_kinds.items.find((w) => w.value === 'monitor_occupancy')?.label, '隔离点入住率预警');
});

test('bad rules: 400 with the code and the field, nothing changed', async () => {
  const before_ = await ok(cc.get('/api/v1/monitor/rules'));
  const base = before_.items.map(({ id, kind, label, threshold, level, enabled, from_hour }) => ({ id, kind, label, threshold, level, enabled, from_hour }));
  const put = (rs) => cc.put('/api/v1/monitor/rules', { rules: rs });
  const edit = (i, over) => base.map((x, j) => (j === i ? { ...x, ...over } : x));
  expectError(await put(edit(0, { threshold: -1 })), 400, 'out_of_range', 'rules[0].threshold');
  expectError(await put(edit(1, { threshold: 101 })), 400, 'out_of_range', 'rules[1].threshold');
  expectError(await put(edit(1, { threshold: 0 })), 400, 'out_of_range', 'rules[1].threshold');
  expectError(await put(edit(2, { kind: 'weather' })), 400, 'invalid_value', 'rules[2].kind');
  expectError(await put(edit(2, { level: 'panic' })), 400, 'invalid_value', 'rules[2].level');
  expectError(await put(edit(3, { threshold: '3' })), 400, 'invalid_type', 'rules[3].threshold');
  expectError(await put(edit(3, { from_hour: 24 })), 400, 'out_of_range', 'rules[3].from_hour');
  expectError(await put(edit(0, { label: '' })), 400, 'required', 'rules[0].label');
  expectError(await put(edit(0, { label: '长'.repeat(41) })), 400, 'too_long', 'rules[0].label');
  expectError(await put(edit(0, { label: '   ' })), 400, 'required', 'rules[0].label');
  expectError(await put(edit(0, { colour: 'red' })), 400, 'unknown_field', 'rules[0].colour');
  expectError(await put(edit(0, { id: '12345' })), 400, 'unknown_rule', 'rules[0].id');
  expectError(await put(edit(3, { kind: 'reports' })), 400, 'invalid_value', 'rules[3].kind'); // a rule keeps its kind
  expectError(await put([...base, base[0]]), 400, 'duplicate_rule', 'rules[4].id');
  expectError(await put([]), 400, 'out_of_range', 'rules');
  expectError(await cc.put('/api/v1/monitor/rules', {}), 400, 'required', 'rules');
  expectError(await cc.put('/api/v1/monitor/rules', { rules: ['x'] }), 400, 'invalid_type', 'rules[0]');
  assert.deepEqual(await ok(cc.get('/api/v1/monitor/rules')), before_, 'nothing changed');
});

test('rules are replaced as a list: edited in place, added, deleted; audited', async () => {
  const cur = (await ok(cc.get('/api/v1/monitor/rules'))).items;
  const body = cur.map(({ id, kind, label, threshold, level, enabled, from_hour }) => ({ id, kind, label, threshold, level, enabled, from_hour }));
  let r = await ok(cc.put('/api/v1/monitor/rules', { rules: [...body, { kind: 'occupancy', label: '隔离点即将满员', threshold: 100, level: 'critical', enabled: true }] }));
  assert.equal(r.items.length, 5);
  const added = r.items.find((x) => x.label === '隔离点即将满员');
  assert.equal(added.threshold, 100);
  assert.equal(added.from_hour, 0);
  r = await ok(cc.put('/api/v1/monitor/rules', { rules: body }));
  assert.deepEqual(r.items.map((x) => x.id), cur.map((x) => x.id), 'the added rule is gone, the others kept their ids');
  const entries = await auditEntries(auditor, 'monitor.rules');
  assert.ok(entries.length >= 2, 'each change is audited');
});

test('set the thresholds the workloads below cross', async () => {
  await setRules({
    reports: { threshold: 1 }, // more than 1 report today
    occupancy: { threshold: 60 }, // 3 of 5 rooms
    unchecked: { threshold: 1, from_hour: 0 },
    fever: { threshold: 2 },
  });
  assert.equal(rules.unchecked.from_hour, 0);
});

test('reports: a community over its threshold raises one alert at the community, named, once a day', async () => {
  await report(BUILDING); // counted at the building, summed at its community
  let res = await run();
  assert.equal((await alertsOf(cc, 'monitor_reports')).length, 0, 'one report is not more than 1');
  await report(COMMUNITY);
  res = await run();
  assert.ok(res.raised >= 1, JSON.stringify(res));
  let alerts = await alertsOf(cc, 'monitor_reports');
  assert.equal(alerts.length, 1);
  const a = alerts[0];
  assert.equal(a.region_code, padded(COMMUNITY));
  assert.equal(a.level, 'warning');
  assert.match(a.message, /多福巷社区今日新增疫情上报2件，超过阈值1件/);
  assert.equal(a.detail.rule_id, rules.reports.id);
  // again, and after a third report: the figure moves, no second alert
  await run();
  await report(BUILDING);
  await run();
  alerts = await alertsOf(cc, 'monitor_reports');
  assert.equal(alerts.length, 1, 'not raised twice the same day');
  const [b] = await breachesOf(cc, 'reports');
  assert.equal(b.object_name, '多福巷社区');
  assert.equal(b.object_label, '社区');
  assert.equal(b.lng, null, 'a region without a centre has no position');
  assert.equal(b.object_id, COMMUNITY);
  assert.equal(b.region_name, '多福巷社区');
  assert.equal(b.figure, 3);
  assert.equal(b.threshold, 1);
  assert.equal(b.alert_id, a.id);
  assert.equal(b.active, true);
  // the other street's community has one report: below its threshold
  await report(OTHER);
  await run();
  assert.equal((await breachesOf(cc, 'reports')).length, 1);
  // scope: the street of 多福巷 sees it, the other street does not
  assert.equal((await alertsOf(street, 'monitor_reports')).length, 1);
  assert.equal((await alertsOf(cs, 'monitor_reports')).length, 1);
  assert.equal((await alertsOf(otherStreet, 'monitor_reports')).length, 0);
  assert.equal((await breachesOf(otherStreet, 'reports')).length, 0);
  assert.equal((await breachesOf(street, 'reports')).length, 1);
});

test('occupancy: a quarantine site at its percentage raises one alert naming the site and its rooms', async () => {
  const site = (await ok(cc.post('/api/v1/places', { name: '东华门隔离酒店', kind: 'quarantine_site', region_code: COMMUNITY, lng: 116.41, lat: 39.92 }), 201)).id;
  await ok(cs.post(`/api/v1/quarantine-sites/${site}/rooms`, { rooms: ['101', '102', '103', '104', '105', '106'] }), 201);
  await ok(cs.patch(`/api/v1/quarantine-sites/${site}/rooms/106`, { closed: true }), 204); // 5 rooms count
  const central = async (room) =>
    ok(cs.post('/api/v1/observations', { person_id: await person(COMMUNITY), kind: 'central', source: 'grid_patrol', site_id: site, room_no: room }), 201);
  await central('101');
  await central('102');
  await run();
  assert.equal((await alertsOf(cc, 'monitor_occupancy')).length, 0, '2 of 5 rooms (40 %) is below 60 %');
  await central('103');
  await run();
  await run();
  const alerts = await alertsOf(cs, 'monitor_occupancy');
  assert.equal(alerts.length, 1, 'one alert, whatever the runs');
  assert.match(alerts[0].message, /隔离点“东华门隔离酒店”入住率60%（3\/5间），达到阈值60%/);
  assert.equal(alerts[0].region_code, padded(COMMUNITY));
  const [b] = await breachesOf(leader, 'occupancy');
  assert.equal(b.object_type, 'site');
  assert.equal(b.object_id, site);
  assert.equal(b.object_name, '东华门隔离酒店');
  assert.equal(b.object_label, '隔离点');
  assert.deepEqual([b.figure, b.base, b.percent, b.threshold, b.unit], [3, 5, 60, 60, '%']);
  assert.deepEqual([b.lng, b.lat], [116.41, 39.92], 'where the site is, for the map');
  assert.equal((await breachesOf(otherStreet, 'occupancy')).length, 0);
  assert.equal((await alertsOf(otherStreet, 'monitor_occupancy')).length, 0);
});

test('unchecked: a grid with people on home isolation not checked today; checked, it clears without a second alert', async () => {
  const o1 = await ok(cs.post('/api/v1/observations', { person_id: await person(BUILDING), kind: 'home_isolation', source: 'grid_patrol' }), 201);
  const o2 = await ok(cc.post('/api/v1/observations', { person_id: await person(OTHER), kind: 'home_observation', source: 'grid_patrol' }), 201);
  const stream = await openStream(ctx.url, street);
  assert.equal(stream.status, 200);
  try {
    await run();
    // the building's resident counts at its grid; the other is in a community without a grid
    const mine = await alertsOf(street, 'monitor_unchecked');
    assert.equal(mine.length, 1);
    assert.equal(mine[0].region_code, padded(GRID));
    assert.match(mine[0].message, /多福巷社区第一网格有1名居家隔离\/居家医学观察人员今日未核查，达到阈值1人/);
    const theirs = await alertsOf(otherStreet, 'monitor_unchecked');
    assert.equal(theirs.length, 1);
    assert.equal(theirs[0].region_code, padded(OTHER));
    assert.match(theirs[0].message, /隆福寺社区有1名/);
    // pushed live to the street whose grid it is, and only that one
    assert.ok(await until(() => stream.events.some((e) => e.data.kind === 'monitor_unchecked')), 'pushed');
    assert.ok(stream.events.filter((e) => e.data.kind === 'monitor_unchecked').every((e) => e.data.region_code === padded(GRID)));
  } finally {
    stream.close();
  }
  let [b] = await breachesOf(street, 'unchecked');
  assert.equal(b.object_name, '多福巷社区第一网格', 'a grid is named with its community');
  assert.equal(b.object_label, '网格');
  assert.equal(b.object_id, GRID);
  assert.equal(b.figure, 1);
  // the doctor checks the grid's resident: the breach clears at the next run
  await ok(doc.post(`/api/v1/observations/${o1.id}/checks`, { symptoms: [], temperature: 36.6 }), 201);
  await run();
  assert.equal((await breachesOf(street, 'unchecked')).length, 0, 'no longer a current breach');
  [b] = await breachesOf(street, 'unchecked', '?all=1');
  assert.equal(b.active, false, 'still listed with all=1, cleared');
  assert.equal((await breachesOf(otherStreet, 'unchecked')).length, 1, 'the other is still unchecked');
  assert.equal((await alertsOf(cc, 'monitor_unchecked')).length, 2);
  void o2;
});

test('fever: a venue reaching its fever readings of the day raises one critical alert', async () => {
  const place = (await ok(cc.post('/api/v1/places', { name: '多福巷小区', kind: 'community', region_code: COMMUNITY, address: '多福巷1号' }), 201)).id;
  const venue = await ok(cc.post('/api/v1/venues', { name: '多福巷小区东门', kind: 'community_gate', place_id: place }), 201);
  const dev = await ok(cc.post('/api/v1/devices', { name: '东门测温仪', kind: 'thermometer', venue_id: venue.id, heartbeat_s: 60 }), 201);
  const reading = async (temperature) => {
    const r = await fetch(ctx.url + '/api/v1/devices/readings', {
      method: 'POST',
      headers: { 'content-type': 'application/json', authorization: `Device ${dev.credential}` },
      body: JSON.stringify({ temperature }),
    });
    assert.equal(r.status, 201, await r.text());
  };
  await reading(38.4);
  await reading(36.5); // not a fever
  await run();
  assert.equal((await alertsOf(cc, 'monitor_fever')).length, 0, 'one fever alert is below 2');
  await reading(38.9);
  await run();
  await reading(39.0);
  await run();
  const alerts = await alertsOf(cs, 'monitor_fever');
  assert.equal(alerts.length, 1);
  assert.equal(alerts[0].level, 'critical');
  assert.equal(alerts[0].venue_id, venue.id);
  assert.match(alerts[0].message, /点位“多福巷小区东门”今日发热告警2次，达到阈值2次/);
  const [b] = await breachesOf(cs, 'fever');
  assert.equal(b.object_name, '多福巷小区东门');
  assert.equal(b.figure, 3, 'the figure follows the third fever');
  assert.equal((await alertsOf(otherStreet, 'monitor_fever')).length, 0);
});

test('breaches: region narrows within the scope; outside it 404, malformed 400; a disabled rule leaves the list', async () => {
  const all = (await ok(cc.get('/api/v1/monitor/breaches'))).items;
  assert.deepEqual(new Set(all.map((b) => b.kind)), new Set(['reports', 'occupancy', 'unchecked', 'fever']));
  assert.equal(all[0].level, 'critical', 'the most severe first');
  const other = (await ok(cc.get(`/api/v1/monitor/breaches?region=${OTHER}`))).items;
  assert.deepEqual(other.map((b) => [b.kind, b.object_name]), [['unchecked', '隆福寺社区']]);
  expectError(await otherStreet.get(`/api/v1/monitor/breaches?region=${COMMUNITY}`), 404, 'not_found', 'region');
  const refused = await waitForAudit(auditor, 'action=monitor.breaches', (e) => e.result === 'not_found');
  assert.ok(refused.some((e) => e.result === 'not_found'), 'the refusal is audited');
  // the workbench counts the current breaches of the scope
  const wb = async (c) => (await ok(c.get('/api/v1/workbench'))).entries.find((e) => e.key === 'monitor_breaches');
  const mine = await wb(street);
  assert.equal(mine.count, (await ok(street.get('/api/v1/monitor/breaches'))).total);
  assert.equal(mine.console, '/monitor');
  assert.equal((await wb(otherStreet)).count, 1);
  assert.equal(await wb(grid), undefined, 'not for a grid worker (no monitor.read)');
  expectError(await cc.get('/api/v1/monitor/breaches?region=12x'), 400, 'invalid_region', 'region');
  expectError(await cc.get('/api/v1/monitor/breaches?all=2'), 400, 'invalid_parameter', 'all');
  await setRules({ fever: { enabled: false } });
  const res = await run();
  assert.equal(res.rules, 3, 'the disabled rule is not evaluated');
  assert.equal((await breachesOf(cc, 'fever')).length, 0);
  await setRules({ fever: { enabled: true } });
  await run();
  assert.equal((await breachesOf(cc, 'fever')).length, 1, 'enabled again, the same breach, no new alert');
  assert.equal((await alertsOf(cc, 'monitor_fever')).length, 1);
});

test('a rule waits for its hour of the China day', async () => {
  const hour = new Date(Date.now() + 8 * 3600e3).getUTCHours();
  if (hour === 23) return; // no later hour today to wait for
  await setRules({ reports: { from_hour: hour + 1 } });
  const res = await run();
  assert.equal(res.rules, 3, 'the reports rule waits');
  await setRules({ reports: { from_hour: 0 } });
});

test('two servers evaluating at once raise one alert', async () => {
  const peer = await startPeer(ctx);
  try {
    const pc = peer.client();
    await pc.login('m_cc', PW);
    const before_ = (await alertsOf(cc, 'monitor_occupancy')).length;
    const site = (await ok(cc.post('/api/v1/places', { name: '景山隔离点', kind: 'quarantine_site', region_code: OTHER }), 201)).id;
    await ok(cc.post(`/api/v1/quarantine-sites/${site}/rooms`, { rooms: ['1', '2'] }), 201);
    await ok(cc.post('/api/v1/observations', { person_id: await person(OTHER), kind: 'central', source: 'grid_patrol', site_id: site, room_no: '1' }), 201);
    await ok(cc.post('/api/v1/observations', { person_id: await person(OTHER), kind: 'central', source: 'grid_patrol', site_id: site, room_no: '2' }), 201);
    const runs = await Promise.all([0, 1, 2, 3].map((i) => ok((i % 2 ? pc : cc).post('/api/v1/monitor/run'))));
    assert.equal(runs.reduce((n, r) => n + r.raised, 0), 1, 'one of the runs raised it');
    const alerts = await alertsOf(otherStreet, 'monitor_occupancy');
    assert.equal(alerts.length, 1);
    assert.match(alerts[0].message, /景山隔离点.*100%（2\/2间）/);
    assert.equal((await alertsOf(cc, 'monitor_occupancy')).length, before_ + 1);
  } finally {
    await peer.stop();
  }
});

test('the background worker evaluates on its own', async () => {
  ctx.env.FK_MONITOR_EVERY = '1';
  await ctx.restart();
  // sessions live in the database: the clients stay signed in
  await report(OTHER); // 隆福寺社区's second report: more than 1
  let seen = 0;
  for (let t = 0; t < 80 && !seen; t++) {
    seen = (await alertsOf(otherStreet, 'monitor_reports')).length;
    if (!seen) await new Promise((r) => setTimeout(r, 100));
  }
  assert.equal(seen, 1, 'raised by the worker');
  const [a] = await alertsOf(otherStreet, 'monitor_reports');
  assert.match(a.message, /隆福寺社区今日新增疫情上报2件/);
  await new Promise((r) => setTimeout(r, 2500)); // two more evaluations
  assert.equal((await alertsOf(otherStreet, 'monitor_reports')).length, 1, 'still one');
  assert.equal((await alertsOf(cc, 'monitor_reports')).length, 2, 'one per community');
});
