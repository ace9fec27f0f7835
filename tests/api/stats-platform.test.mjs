// Statistics across the platform (issue 12, docs/stats.md): prevention
// resources (quarantine sites and their rooms, testing sites, fever clinics,
// designated hospitals, CDC), checkpoints, people under observation by kind,
// close contacts and key persons, each a counter kept by the write that moves
// it; the quarantine-site level; the drill-down from a figure to the records
// behind it (people masked as the person list masks them, audited); two
// regions and two periods compared; trends by category; a street's dashboard
// never counting another street; and a random workload through the API after
// which `fangkong stats verify` finds every counter equal to its recount.
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { startCityWith, residentId, expectError, auditEntries, sqlRun } from './lib.mjs';

const PW = 'Passw0rd!statsplat';
const COMMUNITY = '110101001001'; // 东华门街道 多福巷社区
const GRID = '110101001001001'; // 多福巷社区 第一网格
const STREET = '110101001000'; // 东华门街道
const OTHER_COMMUNITY = '110101002001'; // 景山街道 隆福寺社区
const OTHER_STREET = '110101002000'; // 景山街道
const DISTRICT = '110101000000'; // 东城区
const WEST = '110102001001'; // 西城区 府右街社区
const DAY = 86400000;
const chinaDate = (ms) => new Date(ms + 8 * 3600000).toISOString().slice(0, 10);

let ctx, cc, ccWest, street, otherStreet, leader, auditor;
let seq = 0;

before(async () => {
  ctx = await startCityWith(
    {
      sp_cc: ['command_center', DISTRICT],
      sp_cc_west: ['command_center', '110102000000'],
      sp_street: ['street_staff', STREET],
      sp_street2: ['street_staff', OTHER_STREET],
      sp_leader: ['leader', DISTRICT],
      sp_auditor: ['audit_admin', '110000000000'],
    },
    PW,
  );
  ({ sp_cc: cc, sp_cc_west: ccWest, sp_street: street, sp_street2: otherStreet, sp_leader: leader, sp_auditor: auditor } = ctx.as);
});
after(async () => ctx?.stop());

async function ok(p, status = 200) {
  const r = await p;
  assert.equal(r.status, status, r.text);
  return r.body;
}

async function person(c, region, over = {}) {
  seq += 1;
  return ok(c.post('/api/v1/persons', { name: '赵统计', id_number: residentId('110101', '19800101', 500 + seq * 2, true), region_code: region, ...over }), 201);
}

async function values(c, measures, extra = '') {
  const r = await ok(c.get(`/api/v1/stats/summary?measures=${measures.join(',')}${extra}`));
  return Object.fromEntries(r.items.map((f) => [f.measure, f.value]));
}

test('resources, checkpoints, observations, contacts and key persons are counted by their writes', async () => {
  const M = ['place.kind.quarantine_site', 'place.kind.fever_clinic', 'place.kind.designated_hospital', 'place.kind.cdc',
    'venue.kind.checkpoint', 'nat.site.open', 'nat.site.paused', 'case.rooms.free', 'case.rooms.occupied', 'case.rooms.closed',
    'case.observing.central', 'case.observing.home_isolation', 'case.contacts', 'person.category.visitor', 'person.vulnerable.pregnant'];
  const measures = (await ok(leader.get('/api/v1/stats/measures'))).items.map((m) => m.name);
  for (const m of M) assert.ok(measures.includes(m), m);
  // the place kinds added for the resources are in the vocabulary
  const vocab = await ok(cc.get('/api/v1/vocabularies'));
  const kinds = JSON.stringify(vocab);
  for (const k of ['发热门诊', '定点医院', '疾控机构', '卡口']) assert.ok(kinds.includes(k), k);

  const site = await ok(cc.post('/api/v1/places', { name: '东华门隔离酒店', kind: 'quarantine_site', region_code: COMMUNITY }), 201);
  const site2 = await ok(cc.post('/api/v1/places', { name: '景山隔离点', kind: 'quarantine_site', region_code: OTHER_COMMUNITY }), 201);
  await ok(cc.post('/api/v1/places', { name: '东城发热门诊', kind: 'fever_clinic', region_code: COMMUNITY }), 201);
  const hosp = await ok(cc.post('/api/v1/places', { name: '东城定点医院', kind: 'hospital', region_code: OTHER_COMMUNITY }), 201);
  await ok(cc.post('/api/v1/places', { name: '东城疾控中心', kind: 'cdc', region_code: STREET }), 201);
  const gatePlace = await ok(cc.post('/api/v1/places', { name: '东华门卡口', kind: 'other', region_code: COMMUNITY }), 201);
  await ok(cc.post('/api/v1/venues', { name: '东华门检查站', kind: 'checkpoint', place_id: gatePlace.id }), 201);
  const nat = await ok(cc.post('/api/v1/nat/sites', { name: '多福巷核酸点', kind: 'fixed', region_code: COMMUNITY }), 201);
  await ok(cc.post(`/api/v1/quarantine-sites/${site.id}/rooms`, { rooms: ['101', '102', '103', '104'] }), 201);
  await ok(cc.post(`/api/v1/quarantine-sites/${site2.id}/rooms`, { rooms: ['1', '2'] }), 201);
  await ok(cc.patch(`/api/v1/quarantine-sites/${site.id}/rooms/104`, { closed: true }), 204);
  const a = await person(cc, GRID, { category: 'visitor', vulnerable: ['pregnant'] });
  const b = await person(cc, COMMUNITY);
  const c = await person(cc, OTHER_COMMUNITY, { category: 'visitor' });
  const oa = await ok(cc.post('/api/v1/observations', { person_id: a.id, kind: 'central', source: 'contact', site_id: site.id, room_no: '101' }), 201);
  await ok(cc.post('/api/v1/observations', { person_id: b.id, kind: 'home_isolation', source: 'grid_patrol' }), 201);
  await ok(cc.post('/api/v1/observations', { person_id: c.id, kind: 'central', source: 'contact', site_id: site2.id, room_no: '1' }), 201);

  let v = await values(cc, M);
  assert.deepEqual(v, {
    'place.kind.quarantine_site': 2, 'place.kind.fever_clinic': 1, 'place.kind.designated_hospital': 0, 'place.kind.cdc': 1,
    'venue.kind.checkpoint': 1, 'nat.site.open': 1, 'nat.site.paused': 0, 'case.rooms.free': 3, 'case.rooms.occupied': 2,
    'case.rooms.closed': 1, 'case.observing.central': 2, 'case.observing.home_isolation': 1, 'case.contacts': 2,
    'person.category.visitor': 2, 'person.vulnerable.pregnant': 1,
  });
  // a street's dashboard never counts another street
  v = await values(street, M);
  assert.equal(v['place.kind.quarantine_site'], 1);
  assert.equal(v['case.rooms.occupied'], 1);
  assert.equal(v['case.contacts'], 1);
  assert.equal(v['person.category.visitor'], 1);
  assert.equal(v['place.kind.cdc'], 1);
  v = await values(otherStreet, M);
  assert.equal(v['place.kind.quarantine_site'], 1);
  assert.equal(v['place.kind.cdc'], 0);
  assert.equal(v['case.observing.home_isolation'], 0);
  assert.equal(v['venue.kind.checkpoint'], 0);
  assert.equal((await values(ccWest, M))['case.rooms.free'], 0);

  // updates move them: a kind changed, a site paused, a room moved, the end
  await ok(cc.patch(`/api/v1/places/${hosp.id}`, { kind: 'designated_hospital' }));
  const natNow = await ok(cc.get(`/api/v1/nat/sites/${nat.id}`));
  await ok(cc.patch(`/api/v1/nat/sites/${nat.id}`, { state: 'paused', version: natNow.version }));
  await ok(cc.post(`/api/v1/observations/${oa.id}/move`, { site_id: site.id, room_no: '102' }));
  await ok(cc.patch(`/api/v1/persons/${a.id}`, { category: 'resident', vulnerable: [] }));
  v = await values(cc, M);
  assert.equal(v['place.kind.designated_hospital'], 1);
  assert.equal(v['nat.site.open'], 0);
  assert.equal(v['nat.site.paused'], 1);
  assert.equal(v['case.rooms.occupied'], 2);
  assert.equal(v['person.category.visitor'], 1);
  assert.equal(v['person.vulnerable.pregnant'], 0);
  await ok(cc.post(`/api/v1/observations/${oa.id}/end`, { how: 'released', reason: '期满解除' }));
  v = await values(cc, M);
  assert.equal(v['case.rooms.occupied'], 1);
  assert.equal(v['case.rooms.free'], 4);
  assert.equal(v['case.observing.central'], 1);
  assert.equal(v['case.contacts'], 1);

  // the quarantine-site level: each site in scope with its rooms
  let s = await ok(cc.get('/api/v1/stats/sites'));
  assert.equal(s.total, 2);
  const byName = Object.fromEntries(s.items.map((i) => [i.name, i]));
  assert.deepEqual(
    (({ rooms, capacity, occupied, free, closed, people }) => ({ rooms, capacity, occupied, free, closed, people }))(byName['东华门隔离酒店']),
    { rooms: 4, capacity: 3, occupied: 0, free: 3, closed: 1, people: 0 },
  );
  assert.equal(byName['景山隔离点'].occupied, 1);
  assert.equal(byName['景山隔离点'].occupancy, 50);
  assert.equal(byName['景山隔离点'].region_name, '隆福寺社区');
  s = await ok(street.get('/api/v1/stats/sites'));
  assert.deepEqual(s.items.map((i) => i.name), ['东华门隔离酒店']);
  s = await ok(cc.get(`/api/v1/stats/sites?region=${OTHER_STREET}`));
  assert.deepEqual(s.items.map((i) => i.name), ['景山隔离点']);
  expectError(await street.get(`/api/v1/stats/sites?region=${OTHER_STREET}`), 404, 'not_found', 'region');

  // a deleted quarantine site takes its rooms out of the figures
  await ok(cc.del(`/api/v1/places/${site2.id}`), 204);
  v = await values(cc, M);
  assert.equal(v['place.kind.quarantine_site'], 1);
  assert.equal(v['case.rooms.free'], 3);
  assert.equal(v['case.rooms.occupied'], 0);
  // the person stays under observation (at their residence)
  assert.equal(v['case.observing.central'], 1);
  const verify = ctx.fk(['stats', 'verify']);
  assert.equal(verify.status, 0, verify.stdout + verify.stderr);
});

test('drill-down: the list behind a figure, in scope, masked, audited, names not codes', async () => {
  const p = await person(cc, COMMUNITY, { name: '钱明细', status: 'confirmed' });
  await person(cc, OTHER_COMMUNITY, { name: '孙明细', status: 'confirmed' });
  let r = await ok(cc.get('/api/v1/stats/list?measure=person.status.confirmed'));
  assert.equal(r.total, 2);
  const names = r.items.map((i) => i.name).sort();
  assert.deepEqual(names, ['孙*细', '钱*细'].sort());
  const mine = r.items.find((i) => i.id === p.id);
  assert.equal(mine.region_name, '多福巷社区');
  // the same masking as the person list
  const list = await ok(cc.get(`/api/v1/persons?status=confirmed&page_size=50`));
  const fromList = list.items.find((i) => i.id === p.id);
  for (const f of ['name', 'id_number', 'phone']) assert.deepEqual(mine[f], fromList[f], f);
  // a street sees its own; a region narrows; paging
  r = await ok(street.get('/api/v1/stats/list?measure=person.status.confirmed'));
  assert.deepEqual(r.items.map((i) => i.id), [p.id]);
  r = await ok(cc.get(`/api/v1/stats/list?measure=person.status.confirmed&region=${OTHER_STREET}`));
  assert.equal(r.total, 1);
  r = await ok(cc.get('/api/v1/stats/list?measure=person.status.confirmed&page_size=1&page=2'));
  assert.equal(r.items.length, 1);
  assert.equal(r.total, 2);
  expectError(await street.get(`/api/v1/stats/list?measure=person.status.confirmed&region=${OTHER_STREET}`), 404, 'not_found', 'region');
  // audited as a read of personal data, with whom it showed
  const entries = await auditEntries(auditor, 'person.list');
  assert.ok(entries.some((e) => /view=stats measure=person\.status\.confirmed/.test(e.detail) && e.detail.includes(p.id)), JSON.stringify(entries.slice(0, 3)));
  // places and sites: names and kinds, no contact
  r = await ok(cc.get('/api/v1/stats/list?measure=place.kind.quarantine_site'));
  assert.deepEqual(r.items.map((i) => [i.name, i.kind_label, i.region_name]), [['东华门隔离酒店', '隔离点', '多福巷社区']]);
  assert.ok(!('contact_phone' in r.items[0]));
  r = await ok(cc.get('/api/v1/stats/list?measure=nat.site.paused'));
  assert.deepEqual(r.items.map((i) => i.name), ['多福巷核酸点']);
  r = await ok(cc.get('/api/v1/stats/list?measure=venue.kind.checkpoint'));
  assert.deepEqual(r.items.map((i) => [i.name, i.kind_label]), [['东华门检查站', '卡口']]);
  r = await ok(cc.get('/api/v1/stats/list?measure=case.observing.central'));
  assert.equal(r.total, 1);
  assert.match(r.items[0].person_name, /\*/);
  assert.equal(r.items[0].kind_label, '集中隔离');
  // a measure without a list, unknown ones, a day
  expectError(await cc.get('/api/v1/stats/list?measure=case.enter.confirmed'), 400, 'invalid_value', 'measure');
  expectError(await cc.get('/api/v1/stats/list?measure=nope'), 400, 'unknown_measure', 'measure');
  expectError(await cc.get('/api/v1/stats/list'), 400, 'required', 'measure');
  expectError(await cc.get('/api/v1/stats/list?measure=person.status.confirmed&day=2026-01-01'), 400, 'invalid_parameter', 'day');
  expectError(await cc.get('/api/v1/stats/list?measure=person.status.confirmed&region=12'), 400, 'invalid_region', 'region');
  assert.equal((await ctx.client().get('/api/v1/stats/list?measure=person.status.confirmed')).status, 401);
});

test('comparisons: two regions side by side, two periods with the change, trends by category', async () => {
  let r = await ok(cc.get(`/api/v1/stats/compare/regions?measures=person.status.confirmed,person.registered&regions=${STREET},${OTHER_STREET}`));
  assert.deepEqual(r.items.map((i) => i.region_name), ['东华门街道', '景山街道']);
  assert.equal(r.items[0].figures[0].value, 1);
  assert.equal(r.items[1].figures[0].value, 1);
  expectError(await street.get(`/api/v1/stats/compare/regions?measures=person.registered&regions=${STREET},${OTHER_STREET}`), 404, 'not_found', 'regions');
  expectError(await cc.get(`/api/v1/stats/compare/regions?measures=person.registered&regions=${STREET}`), 400, 'invalid_parameter', 'regions');
  expectError(await cc.get(`/api/v1/stats/compare/regions?measures=person.registered&regions=${STREET},x`), 400, 'invalid_region', 'regions');
  expectError(await cc.get('/api/v1/stats/compare/regions?measures=person.registered'), 400, 'required', 'regions');

  // periods: planted days (the registry cannot backdate), flows only
  const now = Date.now();
  const today = Math.floor((now + 8 * 3600000) / DAY);
  const pad = (c) => c.padEnd(18, '0');
  // leaf rows and their streets' rollups, as stats_add keeps them
  const plant = (region, day, n) => {
    for (const [table, code] of [['counters', pad(region)], ['street_counters', pad(region.slice(0, 9))]])
      sqlRun(ctx, `INSERT INTO ${table} (measure, region_code, day, n) VALUES ('case.observe.new', ${code}, ${day}, ${n})
        ON CONFLICT (measure, region_code, day) DO UPDATE SET n = ${table}.n + ${n}`);
  };
  plant(COMMUNITY, today - 10, 4);
  plant(COMMUNITY, today - 9, 2);
  plant(COMMUNITY, 0, 6);
  plant(OTHER_COMMUNITY, today - 9, 5);
  plant(OTHER_COMMUNITY, 0, 5);
  const q = `from=${chinaDate(now - 10 * DAY)}&to=${chinaDate(now - 9 * DAY)}&from2=${chinaDate(now - 8 * DAY)}&to2=${chinaDate(now - 7 * DAY)}`;
  r = await ok(cc.get(`/api/v1/stats/compare/periods?measure=case.observe.new&${q}`));
  assert.equal(r.first.value, 11);
  assert.equal(r.second.value, 0);
  assert.equal(r.change, -11);
  assert.equal(r.percent, -100);
  assert.deepEqual(r.first.points.map((p) => p.value), [4, 7]);
  r = await ok(street.get(`/api/v1/stats/compare/periods?measure=case.observe.new&${q}`));
  assert.equal(r.first.value, 6);
  assert.equal(r.region_name, '东华门街道');
  r = await ok(cc.get(`/api/v1/stats/compare/periods?measure=case.observe.new&from=${chinaDate(now - 8 * DAY)}&to=${chinaDate(now - 7 * DAY)}&from2=${chinaDate(now - 10 * DAY)}&to2=${chinaDate(now - 9 * DAY)}&region=${OTHER_STREET}`));
  assert.equal(r.second.value, 5);
  assert.equal(r.percent, null); // nothing in the first period
  expectError(await cc.get(`/api/v1/stats/compare/periods?measure=person.status.confirmed&${q}`), 400, 'invalid_value', 'measure');
  expectError(await cc.get(`/api/v1/stats/compare/periods?measure=case.observe.new&from=2026-01-02&to=2026-01-01`), 400, 'invalid_parameter', 'from');
  expectError(await cc.get(`/api/v1/stats/compare/periods?measure=case.observe.new&from2=2026-01-01`), 400, 'required', 'to2');

  // trends by category: a family prefix, or named flows
  r = await ok(cc.get(`/api/v1/stats/trends?prefix=case.confirmed_by&from=${chinaDate(now - 2 * DAY)}`));
  assert.ok(r.series.length >= 5);
  assert.ok(r.series.every((s) => s.measure.startsWith('case.confirmed_by.') && s.points.length === 3));
  assert.ok(r.series.some((s) => s.label === '新增确诊（境外输入）'));
  r = await ok(cc.get(`/api/v1/stats/trends?measures=case.observe.new,person.registered&from=${chinaDate(now - 10 * DAY)}&to=${chinaDate(now - 9 * DAY)}&cumulative=1`));
  assert.deepEqual(r.series[0].points.map((p) => p.value), [4, 11]);
  assert.equal(r.series[0].total, 11);
  expectError(await cc.get('/api/v1/stats/trends?prefix=nothing.here'), 400, 'unknown_measure', 'prefix');
  expectError(await cc.get('/api/v1/stats/trends?measures=person.status.dead'), 400, 'invalid_value', 'measures');
  // the planted days leave the recount: repair them for the next test
  assert.equal(ctx.fk(['stats', 'verify']).status, 1);
  assert.equal(ctx.fk(['stats', 'verify', '--fix']).status, 1);
});

// A small deterministic PRNG (the failing seed is printed).
function rng(seed) {
  let s = seed >>> 0;
  return () => {
    s = (s + 0x6d2b79f5) >>> 0;
    let t = s;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

test('a random workload through the API leaves every counter equal to its recount', async () => {
  const seed = Number(process.env.FK_STATS_SEED || Date.now() % 100000);
  const rand = rng(seed);
  const pick = (a) => a[Math.floor(rand() * a.length)];
  const REGIONS = [COMMUNITY, GRID, STREET, OTHER_COMMUNITY, OTHER_STREET, DISTRICT];
  const STATUSES = ['normal', 'suspected', 'confirmed', 'asymptomatic', 'cured', 'dead'];
  const CATS = ['resident', 'visitor', 'returnee', 'transit'];
  const GROUPS = ['pregnant', 'elderly_alone', 'chronic_disease', 'disabled', 'child'];
  const PLACE_KINDS = ['quarantine_site', 'fever_clinic', 'designated_hospital', 'cdc', 'community'];
  const people = [], sites = [], places = [], venues = [], nats = [], observations = [];
  const site = await ok(cc.post('/api/v1/places', { name: '随机隔离点', kind: 'quarantine_site', region_code: COMMUNITY }), 201);
  await ok(cc.post(`/api/v1/quarantine-sites/${site.id}/rooms`, { rooms: Array.from({ length: 12 }, (_, i) => `R${i}`) }), 201);
  sites.push(site.id);
  const counts = {};
  for (let i = 0; i < 160; i++) {
    const op = pick(['person', 'person', 'status', 'move', 'groups', 'delete', 'observe', 'end', 'place', 'place_edit',
      'place_delete', 'venue', 'venue_delete', 'nat', 'nat_edit', 'nat_delete', 'room', 'rooms']);
    counts[op] = (counts[op] || 0) + 1;
    let r;
    switch (op) {
      case 'person': {
        seq += 1;
        const vul = GROUPS.filter(() => rand() < 0.2);
        r = await cc.post('/api/v1/persons', { name: '随机人员', id_number: residentId('110101', '19700101', 2000 + seq * 2, rand() < 0.5),
          region_code: pick(REGIONS), status: pick(STATUSES), category: pick(CATS), vulnerable: vul });
        if (r.status === 201) people.push(r.body.id);
        break;
      }
      case 'status':
        if (people.length) r = await cc.post(`/api/v1/persons/${pick(people)}/status`, { to: pick(STATUSES), reason: '随机变更', infection_route: 'local' });
        break;
      case 'move':
        if (people.length) r = await cc.patch(`/api/v1/persons/${pick(people)}`, { region_code: pick(REGIONS) });
        break;
      case 'groups':
        if (people.length) r = await cc.patch(`/api/v1/persons/${pick(people)}`, { category: pick(CATS), vulnerable: GROUPS.filter(() => rand() < 0.3) });
        break;
      case 'delete':
        if (people.length) r = await cc.del(`/api/v1/persons/${people.splice(Math.floor(rand() * people.length), 1)[0]}`);
        break;
      case 'observe': {
        if (!people.length) break;
        const kind = pick(['central', 'home_isolation', 'home_observation']);
        const body = { person_id: pick(people), kind, source: pick(['contact', 'cdc', 'grid_patrol']) };
        if (kind === 'central') Object.assign(body, { site_id: pick(sites), room_no: `R${Math.floor(rand() * 12)}` });
        r = await cc.post('/api/v1/observations', body);
        if (r.status === 201) observations.push(r.body.id);
        break;
      }
      case 'end':
        if (observations.length) r = await cc.post(`/api/v1/observations/${pick(observations)}/end`, { how: pick(['released', 'transferred']), reason: '随机结束' });
        break;
      case 'place':
        r = await cc.post('/api/v1/places', { name: `随机场所${i}`, kind: pick(PLACE_KINDS), region_code: pick(REGIONS) });
        if (r.status === 201) {
          places.push(r.body.id);
          if (r.body.kind === 'quarantine_site') {
            sites.push(r.body.id);
            await cc.post(`/api/v1/quarantine-sites/${r.body.id}/rooms`, { rooms: ['A', 'B', 'C'] });
          }
        }
        break;
      case 'place_edit':
        if (places.length) r = await cc.patch(`/api/v1/places/${pick(places)}`, rand() < 0.5 ? { kind: pick(PLACE_KINDS) } : { region_code: pick(REGIONS) });
        break;
      case 'place_delete':
        if (places.length) r = await cc.del(`/api/v1/places/${places.splice(Math.floor(rand() * places.length), 1)[0]}`);
        break;
      case 'venue':
        if (places.length) {
          r = await cc.post('/api/v1/venues', { name: `随机点位${i}`, kind: pick(['checkpoint', 'market', 'building']), place_id: pick(places) });
          if (r.status === 201) venues.push(r.body.id);
        }
        break;
      case 'venue_delete':
        if (venues.length) r = await cc.del(`/api/v1/venues/${venues.splice(Math.floor(rand() * venues.length), 1)[0]}`);
        break;
      case 'nat':
        r = await cc.post('/api/v1/nat/sites', { name: `随机核酸点${i}`, kind: 'fixed', region_code: pick(REGIONS.slice(0, 4)), state: pick(['open', 'paused', 'closed']) });
        if (r.status === 201) nats.push(r.body.id);
        break;
      case 'nat_edit':
        if (nats.length) {
          const id = pick(nats);
          const cur = await cc.get(`/api/v1/nat/sites/${id}`);
          if (cur.status === 200) r = await cc.patch(`/api/v1/nat/sites/${id}`, { state: pick(['open', 'paused', 'closed']), version: cur.body.version, ...(rand() < 0.3 ? { region_code: pick(REGIONS.slice(0, 4)) } : {}) });
        }
        break;
      case 'nat_delete':
        if (nats.length) r = await cc.del(`/api/v1/nat/sites/${nats.splice(Math.floor(rand() * nats.length), 1)[0]}`);
        break;
      case 'room':
        r = await cc.patch(`/api/v1/quarantine-sites/${pick(sites)}/rooms/${pick(['R1', 'R2', 'R3', 'A', 'B'])}`, { closed: rand() < 0.5 });
        break;
      case 'rooms':
        r = await cc.post(`/api/v1/quarantine-sites/${pick(sites)}/rooms`, { rooms: [`X${i}`] });
        break;
    }
    // refusals are part of the workload (a taken room, a forbidden
    // transition, a deleted site): they must change no counter
    if (r) assert.ok(r.status < 500, `seed ${seed} op ${op}: ${r.status} ${r.text}`);
  }
  const v = ctx.fk(['stats', 'verify']);
  assert.equal(v.status, 0, `seed ${seed} ${JSON.stringify(counts)}\n${v.stdout}${v.stderr}`);
  assert.match(v.stdout, /every counter agrees/);
  // positive control: a planted difference in a new measure is found
  sqlRun(ctx, `UPDATE counters SET n = n + 1 WHERE measure = 'case.rooms.free' AND region_code = ${COMMUNITY.padEnd(18, '0')} AND day = 0`);
  const bad = ctx.fk(['stats', 'verify']);
  assert.equal(bad.status, 1, bad.stdout);
  assert.match(bad.stdout, /case\.rooms\.free/);
});
