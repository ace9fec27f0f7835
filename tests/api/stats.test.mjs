// The leaders' statistics (GET /api/v1/stats/...): figures read from the
// maintained counters, which person writes keep (people per status, people
// registered per day); each caller sees its own scope (a street user only
// its street, ?within= narrows), drill-down by child region with names,
// daily and cumulative trends, bad input refused with its field, and
// `fangkong stats verify` finding and repairing a planted difference.
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { startCityWith, CITY_STAFF, residentId, expectError, sqlRun } from './lib.mjs';

const PW = 'Passw0rd!stats';
const BUILDING = '110101001001001001'; // 东华门街道 多福巷社区 第一网格 1号楼
const COMMUNITY = '110101001001'; // 多福巷社区
const OTHER_COMMUNITY = '110101002001'; // 景山街道 隆福寺社区
const STREET = '110101001000'; // 东华门街道
const OTHER_STREET = '110101002000'; // 景山街道
const DISTRICT = '110101000000'; // 东城区
const WEST = '110102001001'; // 西城区 府右街社区
const DAY = 86400000;

let ctx, cc, ccWest, street, leader, grid;
let seq = 0;

// China dates as the server counts them.
const chinaDate = (ms) => new Date(ms + 8 * 3600000).toISOString().slice(0, 10);
const chinaDay = (ms) => Math.floor((ms + 8 * 3600000) / DAY);
const TODAY = () => chinaDate(Date.now());
// The padded code of a written one, as stored in region_code columns.
const padded = (c) => c.padEnd(18, '0');
// Plant n into a counter as stats_add keeps it: the leaf row and its street's
// rollup row (the first 9 digits; sql/047).
function plant(measure, region, day, n) {
  const street = padded(region.slice(0, 9));
  for (const [table, code] of [['counters', padded(region)], ['street_counters', street]])
    sqlRun(ctx, `INSERT INTO ${table} (measure, region_code, day, n) VALUES ('${measure}', ${code}, ${day}, ${n})
      ON CONFLICT (measure, region_code, day) DO UPDATE SET n = ${table}.n + ${n}`);
}

before(async () => {
  ctx = await startCityWith(
    {
      cc_dc: CITY_STAFF.cc_dc,
      cc_xc: CITY_STAFF.cc_xc,
      grid_dc: CITY_STAFF.grid_dc,
      street: ['street_staff', STREET],
      leader: ['leader', DISTRICT],
    },
    PW,
  );
  ({ cc_dc: cc, cc_xc: ccWest, street, leader, grid_dc: grid } = ctx.as);
});
after(async () => {
  await ctx?.stop();
});

async function person(c, region, status) {
  seq += 1;
  const r = await c.post('/api/v1/persons', {
    name: '王统计',
    id_number: residentId('110101', '19850101', 300 + seq * 2, true),
    region_code: region,
    status,
  });
  assert.equal(r.status, 201, r.text);
  return r.body;
}

async function summary(c, measures, extra = '') {
  const r = await c.get(`/api/v1/stats/summary?measures=${measures.join(',')}${extra}`);
  assert.equal(r.status, 200, r.text);
  return Object.fromEntries(r.body.items.map((f) => [f.measure, f]));
}

async function value(c, measure, extra = '') {
  return (await summary(c, [measure], extra))[measure].value;
}

test('the registered measures, for stats.read only', async () => {
  const r = await leader.get('/api/v1/stats/measures');
  assert.equal(r.status, 200, r.text);
  const byName = Object.fromEntries(r.body.items.map((m) => [m.name, m]));
  assert.deepEqual(byName['person.status.confirmed'], { name: 'person.status.confirmed', label: '确诊', kind: 'level', list: true });
  assert.equal(byName['person.status.dead'].label, '死亡');
  assert.deepEqual(byName['person.registered'], { name: 'person.registered', label: '登记人员', kind: 'flow', list: true });
  // a grid worker has no stats.read; nobody signed in gets 401
  assert.equal((await grid.get('/api/v1/stats/measures')).status, 403);
  assert.equal((await grid.get('/api/v1/stats/summary?measures=person.registered')).status, 403);
  assert.equal((await ctx.client().get('/api/v1/stats/summary?measures=person.registered')).status, 401);
});

test('summary: counters move with every person write, inside each caller\'s scope', async () => {
  const M = ['person.status.confirmed', 'person.status.suspected', 'person.status.cured', 'person.registered'];
  const a = await person(cc, BUILDING, 'confirmed');
  const b = await person(cc, OTHER_COMMUNITY, 'confirmed');
  await person(cc, COMMUNITY, 'suspected');
  await person(ccWest, WEST, 'confirmed');
  let s = await summary(cc, M);
  assert.equal(s['person.status.confirmed'].value, 2);
  assert.equal(s['person.status.suspected'].value, 1);
  assert.equal(s['person.status.cured'].value, 0);
  assert.deepEqual(s['person.registered'], { measure: 'person.registered', label: '登记人员', kind: 'flow', value: 3, today: 3 });
  assert.equal(s['person.status.confirmed'].label, '确诊');
  // the street sees its street only, the west district its own person
  s = await summary(street, M);
  assert.equal(s['person.status.confirmed'].value, 1);
  assert.equal(s['person.status.suspected'].value, 1);
  assert.equal(s['person.registered'].value, 2);
  assert.equal(await value(ccWest, 'person.status.confirmed'), 1);
  // the reply names the scope's region and today's China date
  const r = await street.get('/api/v1/stats/summary?measures=person.registered');
  assert.equal(r.body.region_code, STREET);
  assert.equal(r.body.region_name, '东华门街道');
  assert.equal(r.body.date, TODAY());
  // ?within= narrows the scope to a region inside it
  assert.equal(await value(leader, 'person.status.confirmed', `&within=${OTHER_STREET}`), 1);
  assert.equal(await value(leader, 'person.status.confirmed', `&within=${COMMUNITY}`), 1);
  assert.equal(await value(leader, 'person.status.confirmed', `&within=${BUILDING}`), 1);

  // a status change moves one person from confirmed to cured
  // (statuses change through the case workflow's state machine, docs/cases.md)
  let p = await cc.post(`/api/v1/persons/${a.id}/status`, { to: 'cured', reason: '治愈出院' });
  assert.equal(p.status, 200, p.text);
  s = await summary(street, M);
  assert.equal(s['person.status.confirmed'].value, 0);
  assert.equal(s['person.status.cured'].value, 1);
  assert.equal(s['person.registered'].value, 2);
  // a move to the other street takes the person's counters along
  p = await cc.patch(`/api/v1/persons/${a.id}`, { region_code: OTHER_COMMUNITY });
  assert.equal(p.status, 200, p.text);
  s = await summary(street, M);
  assert.equal(s['person.status.cured'].value, 0);
  assert.equal(s['person.registered'].value, 1);
  assert.equal(await value(leader, 'person.status.cured', `&within=${OTHER_STREET}`), 1);
  assert.equal(await value(leader, 'person.registered', `&within=${OTHER_STREET}`), 2);
  // a deletion takes them away; the district totals follow
  assert.equal((await cc.del(`/api/v1/persons/${b.id}`)).status, 204);
  s = await summary(cc, M);
  assert.equal(s['person.status.confirmed'].value, 0);
  assert.equal(s['person.status.cured'].value, 1);
  assert.equal(s['person.registered'].value, 2);
  // a refused write changes no counter: a street user cannot write persons
  assert.equal((await street.patch(`/api/v1/persons/${a.id}`, { status: 'dead' })).status, 403);
  assert.equal(await value(cc, 'person.status.dead'), 0);
});

test('regions: each child region with its name, what sits at the region itself, scope', async () => {
  const M = 'person.status.cured,person.status.suspected,person.registered';
  let r = await cc.get(`/api/v1/stats/regions?measures=${M}&region=${DISTRICT}`);
  assert.equal(r.status, 200, r.text);
  assert.equal(r.body.region_code, DISTRICT);
  assert.equal(r.body.region_name, '东城区');
  assert.equal(r.body.level, 'district');
  const fig = (figs, m) => figs.find((f) => f.measure === m);
  assert.equal(fig(r.body.figures, 'person.registered').value, 2);
  const rows = Object.fromEntries(r.body.items.map((i) => [i.region_code, i]));
  assert.deepEqual(Object.keys(rows).sort(), [STREET, OTHER_STREET]);
  assert.equal(rows[STREET].region_name, '东华门街道');
  assert.equal(rows[STREET].level, 'street');
  assert.equal(rows[STREET].has_children, true);
  assert.equal(fig(rows[STREET].figures, 'person.status.suspected').value, 1);
  assert.equal(fig(rows[STREET].figures, 'person.status.cured').value, 0);
  assert.equal(fig(rows[OTHER_STREET].figures, 'person.status.cured').value, 1);
  assert.equal(fig(rows[OTHER_STREET].figures, 'person.registered').today, 1);
  assert.equal(fig(r.body.direct, 'person.registered').value, 0);

  // a person registered at the street itself, in none of its communities
  await person(cc, STREET, 'suspected');
  r = await street.get(`/api/v1/stats/regions?measures=${M}`); // default: the scope's root
  assert.equal(r.status, 200, r.text);
  assert.equal(r.body.region_code, STREET);
  assert.deepEqual(r.body.items.map((i) => [i.region_code, i.region_name]), [[COMMUNITY, '多福巷社区']]);
  assert.equal(fig(r.body.items[0].figures, 'person.status.suspected').value, 1);
  assert.equal(fig(r.body.figures, 'person.status.suspected').value, 2);
  assert.equal(fig(r.body.direct, 'person.status.suspected').value, 1);
  // down to the grid and the building
  r = await street.get(`/api/v1/stats/regions?measures=${M}&region=${COMMUNITY}`);
  assert.equal(r.status, 200, r.text);
  assert.equal(r.body.items[0].region_name, '第一网格');

  // above or beside the scope: 404, as for a region that does not exist
  expectError(await street.get(`/api/v1/stats/regions?measures=${M}&region=${DISTRICT}`), 404, 'not_found', 'region');
  expectError(await street.get(`/api/v1/stats/regions?measures=${M}&region=${OTHER_STREET}`), 404, 'not_found', 'region');
  expectError(await ccWest.get(`/api/v1/stats/regions?measures=${M}&region=${COMMUNITY}`), 404, 'not_found', 'region');
  expectError(await cc.get(`/api/v1/stats/regions?measures=${M}&region=110101009000`), 404, 'not_found', 'region');
  expectError(await cc.get(`/api/v1/stats/regions?measures=${M}&region=12345`), 400, 'invalid_region', 'region');
  // within= outside the scope is refused before the handler
  assert.equal((await street.get(`/api/v1/stats/summary?measures=${M}&within=${DISTRICT}`)).status, 404);
});

test('series: daily and cumulative trend over China days, in scope', async () => {
  const now = Date.now();
  const today = chinaDay(now);
  // earlier registrations, as counters (the registry cannot backdate):
  // 4 in the building three days ago, 6 in the west district two days
  // ago, each with the flow's total over all days (day 0) as stats_add
  // keeps it
  plant('person.registered', BUILDING, today - 3, 4);
  plant('person.registered', BUILDING, 0, 4);
  plant('person.registered', WEST, today - 2, 6);
  plant('person.registered', WEST, 0, 6);
  const from = chinaDate(now - 4 * DAY), to = TODAY();
  let r = await cc.get(`/api/v1/stats/series?measure=person.registered&from=${from}&to=${to}`);
  assert.equal(r.status, 200, r.text);
  assert.equal(r.body.label, '登记人员');
  assert.equal(r.body.from, from);
  assert.equal(r.body.to, to);
  assert.equal(r.body.cumulative, false);
  assert.deepEqual(r.body.points.map((p) => p.date), [4, 3, 2, 1, 0].map((k) => chinaDate(now - k * DAY)));
  // today: 4 registered in 东城区 by the tests above, one deleted
  assert.deepEqual(r.body.points.map((p) => p.value), [0, 4, 0, 0, 3]);
  r = await cc.get(`/api/v1/stats/series?measure=person.registered&from=${from}&to=${to}&cumulative=1`);
  assert.equal(r.body.cumulative, true);
  assert.deepEqual(r.body.points.map((p) => p.value), [0, 4, 4, 4, 7]);
  // a cumulative trend counts what came before `from`
  r = await cc.get(`/api/v1/stats/series?measure=person.registered&from=${chinaDate(now - DAY)}&to=${to}&cumulative=1`);
  assert.deepEqual(r.body.points.map((p) => p.value), [4, 7]);
  // the west sees its own six
  r = await ccWest.get(`/api/v1/stats/series?measure=person.registered&from=${from}&to=${to}&cumulative=1`);
  assert.deepEqual(r.body.points.map((p) => p.value), [0, 0, 6, 6, 7]);
  // the street: the building's four, and its two of today
  r = await street.get(`/api/v1/stats/series?measure=person.registered&from=${from}&to=${to}`);
  assert.deepEqual(r.body.points.map((p) => p.value), [0, 4, 0, 0, 2]);
  // one day, and 366 days at most; 30 days by default
  r = await cc.get(`/api/v1/stats/series?measure=person.registered&from=${to}&to=${to}`);
  assert.deepEqual(r.body.points, [{ date: to, value: 3 }]);
  r = await cc.get(`/api/v1/stats/series?measure=person.registered&from=${chinaDate(now - 365 * DAY)}&to=${to}`);
  assert.equal(r.status, 200, r.text);
  assert.equal(r.body.points.length, 366);
  r = await cc.get('/api/v1/stats/series?measure=person.registered');
  assert.equal(r.body.points.length, 30);
  assert.equal(r.body.to, to);
});

test('bad input is refused with its field and changes nothing', async () => {
  const to = TODAY();
  expectError(await cc.get('/api/v1/stats/summary?measures=person.status.confirmed,nope.nothing'), 400, 'unknown_measure', 'measures');
  expectError(await cc.get('/api/v1/stats/summary'), 400, 'required', 'measures');
  expectError(await cc.get('/api/v1/stats/summary?measures=,'), 400, 'required', 'measures');
  expectError(await cc.get(`/api/v1/stats/summary?measures=${'x'.repeat(300)}`), 400, 'unknown_measure', 'measures');
  const many = Array.from({ length: 21 }, () => 'person.registered').join(',');
  expectError(await cc.get(`/api/v1/stats/summary?measures=${many}`), 400, 'invalid_parameter', 'measures');
  expectError(await cc.get('/api/v1/stats/regions?measures=bogus'), 400, 'unknown_measure', 'measures');
  expectError(await cc.get('/api/v1/stats/series?measure=bogus'), 400, 'unknown_measure', 'measure');
  expectError(await cc.get('/api/v1/stats/series'), 400, 'required', 'measure');
  // a level has no daily trend
  expectError(await cc.get('/api/v1/stats/series?measure=person.status.confirmed'), 400, 'invalid_value', 'measure');
  const S = '/api/v1/stats/series?measure=person.registered';
  for (const bad of ['2026-02-30', '2026-13-01', '26-01-01', '2026-1-1', '2026-01-01x', 'today', ''])
    expectError(await cc.get(`${S}&from=${bad}&to=${to}`), 400, 'invalid_parameter', 'from');
  expectError(await cc.get(`${S}&from=${to}&to=2026/01/01`), 400, 'invalid_parameter', 'to');
  // from after to; more than 366 days
  expectError(await cc.get(`${S}&from=2026-03-02&to=2026-03-01`), 400, 'invalid_parameter', 'from');
  expectError(await cc.get(`${S}&from=2025-01-01&to=2026-01-02`), 400, 'invalid_parameter', 'to');
  assert.equal((await cc.get(`${S}&from=2025-01-01&to=2026-01-01`)).status, 200); // 366 days
  expectError(await cc.get(`${S}&cumulative=yes`), 400, 'invalid_parameter', 'cumulative');
});

test('a region move takes its counters along', async () => {
  const OLD = '110101002009', NEW = '110101001009';
  const r = await cc.post('/api/v1/regions', { code: OLD, name: '迁移社区', level: 'community', parent_code: OTHER_STREET });
  assert.equal(r.status, 201, r.text);
  const before = await value(street, 'person.status.asymptomatic');
  await person(cc, OLD, 'asymptomatic');
  assert.equal(await value(leader, 'person.status.asymptomatic', `&within=${OLD}`), 1);
  // a zero counter left at the new code (people once counted at a region
  // since deleted) does not stand in the way
  sqlRun(ctx, `INSERT INTO counters (measure, region_code, day, n) VALUES ('person.status.asymptomatic', ${padded(NEW)}, 0, 0)`);
  const m = await cc.post(`/api/v1/regions/${OLD}/move`, { code: NEW });
  assert.equal(m.status, 200, m.text);
  assert.equal(await value(street, 'person.status.asymptomatic'), before + 1);
  assert.equal(await value(leader, 'person.status.asymptomatic', `&within=${NEW}`), 1);
  assert.equal(await value(leader, 'person.status.asymptomatic', `&within=${OTHER_STREET}`), 0);
});

test('stats verify: a planted difference is reported (exit 1), --fix repairs it (then exit 0)', async () => {
  // the counters planted by the series test have no registrations behind
  // them, and one more: a confirmed count nobody has
  plant('person.status.confirmed', COMMUNITY, 0, 2);
  let v = ctx.fk(['stats', 'verify']);
  assert.equal(v.status, 1, v.stderr);
  const lines = v.stdout.trim().split('\n');
  assert.ok(lines.some((l) => l === `person.status.confirmed\t${COMMUNITY}\tnow\tcounter 2\trecount 0`), v.stdout);
  const day3 = chinaDate(Date.now() - 3 * DAY);
  assert.ok(lines.some((l) => l === `person.registered\t${BUILDING}\t${day3}\tcounter 4\trecount 0`), v.stdout);
  assert.ok(lines.some((l) => l === `person.registered\t${BUILDING}\tnow\tcounter 4\trecount 0`), v.stdout);
  // and each one's street rollup
  assert.ok(lines.some((l) => l === `person.status.confirmed@street\t${STREET}\tnow\tcounter 2\trecount 0`), v.stdout);
  assert.match(v.stdout, /10 counter\(s\) differ/);
  // without --fix nothing changed
  assert.equal(await value(cc, 'person.status.confirmed'), 2);
  v = ctx.fk(['stats', 'verify', '--fix']);
  assert.equal(v.status, 1, v.stderr);
  assert.match(v.stdout, /rewritten from the recount/);
  v = ctx.fk(['stats', 'verify']);
  assert.equal(v.status, 0, v.stdout + v.stderr);
  assert.match(v.stdout, /every counter agrees/);
  assert.equal(await value(cc, 'person.status.confirmed'), 0);
  assert.equal(await value(ccWest, 'person.registered'), 1);
  // bad usage
  assert.equal(ctx.fk(['stats', 'verify', '--fixx']).status, 2);
});
