// The first pages of the observation, care and hotline lists (issue 15
// "first page at 10,000,000 people"; docs/benchmarks.md "At 10,000,000
// people"): their totals and counts now come from the counters and a
// wide range is read by walking a time index (observations, hotline) or
// by merging two indexed halves (care: the people flagged elderly_alone and
// the people staff added). Every page, total, count and statistic must be
// what the plain statements the lists ran before give over the same rows,
// as the district, a street and a community see them, with enrolled people
// from both sources, removed, deleted and checked-in ones among them.
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { startCityWith, residentId, sqlRun } from './lib.mjs';

const PW = 'Passw0rd!firstpages';
const DISTRICT = '110101000000';
const STREET = '110101001000'; // 东华门街道
const COMMUNITY = '110101001001'; // 多福巷社区, in 东华门街道
const OTHER = '110101002001'; // 隆福寺社区, in 景山街道
const DAY = 86400e3;
let ctx, cc, st, cs, csOther, gw, gwOther;
let seq = 0;

const padded = (code) => BigInt(code.padEnd(18, '0'));
const span = { [DISTRICT]: 6, [STREET]: 9, [COMMUNITY]: 12 };
const range = (code) => [padded(code), padded(code) + 10n ** BigInt(18 - span[code])];
const ids = (text) => text.split('\n').filter(Boolean);

async function ok(p, status = 200) {
  const r = await p;
  assert.equal(r.status, status, r.text);
  return r.body;
}

async function person(region, body = {}) {
  seq += 1;
  return (await ok(cc.post('/api/v1/persons', { name: `首页${seq}`, id_number: residentId('110101', '19400101', 500 + seq * 2, seq % 2 === 0), region_code: region, ...body }), 201)).id;
}

// Every page of path (page_size 2) through the end: the items' key, the totals seen.
async function allPages(client, path, key) {
  const got = [];
  const totals = new Set();
  for (let page = 1; page <= 30; page++) {
    const b = await ok(client.get(`${path}${path.includes('?') ? '&' : '?'}page_size=2&page=${page}`));
    totals.add(b.total);
    if (b.items.length === 0) break;
    got.push(...b.items.map((x) => String(x[key])));
  }
  return { got, totals: [...totals] };
}

const users = () => [
  ['district', cc, DISTRICT],
  ['street', st, STREET],
  ['community', cs, COMMUNITY],
];

before(async () => {
  ctx = await startCityWith(
    {
      fp_cc: ['command_center', DISTRICT],
      fp_st: ['street_staff', STREET],
      fp_cs: ['community_staff', COMMUNITY],
      fp_cs_other: ['community_staff', OTHER],
      fp_gw: ['grid_worker', COMMUNITY],
      fp_gw_other: ['grid_worker', OTHER],
    },
    PW,
  );
  ({ fp_cc: cc, fp_st: st, fp_cs: cs, fp_cs_other: csOther, fp_gw: gw, fp_gw_other: gwOther } = ctx.as);
});
after(async () => ctx?.stop());

test('care: the list, its totals and the statistics are those of the one OR over both sources', async () => {
  const flagged = { vulnerable: ['elderly_alone'] };
  const a = [], b = [];
  for (let i = 0; i < 5; i++) a.push(await person(COMMUNITY, i < 3 ? flagged : {}));
  for (let i = 0; i < 4; i++) b.push(await person(OTHER, i < 2 ? flagged : {}));
  // staff add unflagged people of both communities, remove a flagged one
  // (and add back a removed one: active again), and one flagged is deleted
  await ok(cs.post('/api/v1/service/care/enrolments', { person_id: String(a[3]) }));
  await ok(csOther.post('/api/v1/service/care/enrolments', { person_id: String(b[2]) }));
  await ok(cs.del(`/api/v1/service/care/enrolments/${a[1]}`));
  await ok(csOther.del(`/api/v1/service/care/enrolments/${b[1]}`));
  await ok(csOther.post('/api/v1/service/care/enrolments', { person_id: String(b[1]) }));
  assert.equal((await cc.del(`/api/v1/persons/${a[2]}`)).status, 204);
  // check-ins today: a flagged one and a staff-added one
  await ok(gw.post('/api/v1/service/care/checkins', { person_id: String(a[0]) }), 201);
  await ok(gwOther.post('/api/v1/service/care/checkins', { person_id: String(b[2]) }), 201);
  const day = sqlRun(ctx, 'SELECT MAX(day) FROM care_checkins').trim();
  const ENROLLED = '(((p.vulnerable & 2) <> 0 AND COALESCE(e.active, 1) = 1) OR e.active = 1)';
  const FROM = `FROM persons p LEFT JOIN care_enrolments e ON e.person_id = p.id LEFT JOIN care_checkins k ON k.person_id = p.id AND k.day = ${day}`;
  const states = { '': '', '?state=missing': ' AND k.id IS NULL', '?state=checked': ' AND k.id IS NOT NULL' };
  for (const [who, client, code] of users()) {
    const [lo, hi] = range(code);
    const where = `WHERE p.region_code >= ${lo} AND p.region_code < ${hi} AND p.deleted_at = 0 AND ${ENROLLED}`;
    for (const [q, cond] of Object.entries(states)) {
      const want = ids(sqlRun(ctx, `SELECT p.id ${FROM} ${where}${cond} ORDER BY p.region_code, p.id`));
      const { got, totals } = await allPages(client, `/api/v1/service/care/people${q}`, 'person_id');
      assert.deepEqual(got, want, `${who} ${q}`);
      assert.deepEqual(totals, [want.length], `${who} ${q} total`);
    }
    const stats = sqlRun(
      ctx,
      `SELECT (p.region_code / 1000000) * 1000000, COUNT(*), SUM(CASE WHEN k.id IS NULL THEN 0 ELSE 1 END) ${FROM} ${where} GROUP BY (p.region_code / 1000000) * 1000000 ORDER BY 1`,
    );
    const want = ids(stats).map((l) => {
      const [c, n, k] = l.split('|').map(Number);
      return [String(c).slice(0, 12), n, k, n - k];
    });
    const got = (await ok(client.get('/api/v1/service/care/stats'))).items.map((x) => [x.region_code, x.enrolled, x.checked, x.missing]);
    assert.deepEqual(got, want, `${who} stats`);
  }
  // both sources and both communities are on the district's list
  const all = (await ok(cc.get('/api/v1/service/care/people?page_size=50'))).items;
  assert.deepEqual(
    all.map((x) => [x.person_id, x.enrolled_by]),
    [
      [String(a[0]), 'flag'],
      [String(a[3]), 'staff'],
      [String(b[0]), 'flag'],
      [String(b[1]), 'staff'],
      [String(b[2]), 'staff'],
    ],
  );
  assert.deepEqual(
    (await ok(cc.get('/api/v1/service/care/stats'))).items.map((x) => [x.region_code, x.enrolled, x.checked]),
    [
      [COMMUNITY, 2, 1],
      [OTHER, 3, 1],
    ],
  );
});

test('observations: pages, totals and the counts by state are those of the statements over the table', async () => {
  const made = [];
  for (let i = 0; i < 9; i++) {
    const region = i % 3 === 2 ? OTHER : COMMUNITY;
    const id = await person(region);
    const by = region === OTHER ? csOther : cs;
    // start times out of creation order, two of them equal (the id breaks the tie)
    const start = Date.now() - (i % 4) * DAY - 3600e3;
    const kind = ['home_isolation', 'home_observation'][i % 2];
    made.push((await ok(by.post('/api/v1/observations', { person_id: id, kind, source: 'cdc', start_at: start }), 201)).id);
    if (i % 4 === 1) await ok(by.post(`/api/v1/observations/${made[i]}/end`, { reason: '隔离期满', release_status: 'free' }));
    if (i % 4 === 3) await ok(by.post(`/api/v1/observations/${made[i]}/end`, { how: 'transferred', reason: '转送', release_status: 'treatment' }));
  }
  for (const [who, client, code] of users()) {
    const [lo, hi] = range(code);
    const where = `WHERE region_code >= ${lo} AND region_code < ${hi}`;
    const counts = { active: 0, released: 0, transferred: 0, ended: 0 };
    for (const l of ids(sqlRun(ctx, `SELECT state, COUNT(*) FROM observations ${where} GROUP BY state`))) {
      const [s, n] = l.split('|');
      counts[s] = Number(n);
    }
    for (const state of ['', 'active', 'released', 'transferred']) {
      const want = ids(sqlRun(ctx, `SELECT id FROM observations ${where}${state ? ` AND state = '${state}'` : ''} ORDER BY start_at DESC, id DESC`));
      const q = state ? `?state=${state}` : '';
      const { got, totals } = await allPages(client, `/api/v1/observations${q}`, 'id');
      assert.deepEqual(got, want, `${who} ${state}`);
      assert.deepEqual(totals, [want.length], `${who} ${state} total`);
      assert.deepEqual((await ok(client.get(`/api/v1/observations${q}`))).counts, counts, `${who} ${state} counts`);
    }
    // a filter keeps the statements it had: the same rows
    const want = ids(sqlRun(ctx, `SELECT id FROM observations ${where} AND kind = 'home_isolation' ORDER BY start_at DESC, id DESC`));
    assert.deepEqual((await allPages(client, '/api/v1/observations?kind=home_isolation', 'id')).got, want, `${who} kind`);
  }
});

test('hotline tickets: pages and totals are those of the statement over the table', async () => {
  const day = (n) => new Date(Date.now() + 8 * 3600e3 - n * DAY).toISOString().slice(0, 10);
  const HEAD = ['工单编号*', '受理时间*', '来电人', '来电号码', '诉求地址', '所属区划*', '问题分类*', '诉求内容*', '办理状态'];
  const rows = [];
  for (let i = 0; i < 7; i++) rows.push(`FP${i},${day(i % 3)} 0${i}:00,,,,${i % 3 === 2 ? OTHER : COMMUNITY},疫情防控,咨询${i},`);
  const up = await cc.post('/api/v1/hotline/import?format=csv', `${HEAD.join(',')}\n${rows.join('\n')}\n`, { 'content-type': 'text/csv' });
  assert.equal(up.status, 202, up.text);
  let j;
  for (let t = 0; t < 400; t++) {
    j = (await cc.get(`/api/v1/jobs/${up.body.job_id}`)).body;
    if (j.status === 'done' || j.status === 'failed') break;
    await new Promise((r) => setTimeout(r, 50));
  }
  assert.equal(j.status, 'done', JSON.stringify(j));
  assert.equal(j.result.written, 7, JSON.stringify(j));
  for (const [who, client, code] of users().slice(0, 2)) {
    const [lo, hi] = range(code);
    const want = ids(sqlRun(ctx, `SELECT ticket_no FROM hotline_tickets WHERE region_code >= ${lo} AND region_code < ${hi} ORDER BY received_at DESC, id DESC`));
    assert.ok(want.length > 0, who);
    const { got, totals } = await allPages(client, '/api/v1/hotline/tickets', 'ticket_no');
    assert.deepEqual(got, want, who);
    assert.deepEqual(totals, [want.length], `${who} total`);
  }
});
