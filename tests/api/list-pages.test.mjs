// The person list as it opens (the scope alone, newest first; issue 15
// "first page at 10,000,000 people", src/person/person.c opening_page): its
// total comes from the head-count counters instead of a COUNT(*), and a wide
// range is read by walking persons_created (sql/100) instead of sorting. The
// pages of either path must be the exact rows, in the exact order, that the
// plain query over the table gives, and the total the table's count, as
// people are added and deleted; a narrowed range or a search keeps the old
// path and must agree with it.
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { startCityWith, residentId, sqlRun, expectError } from './lib.mjs';

const PW = 'Passw0rd!pages';
const COMMUNITY = '110101001001'; // 多福巷社区 (the grid worker's scope)
const OTHER = '110101002001'; // 隆福寺社区 (the district's, not the grid worker's)
let ctx, cc, gw;
let seq = 0;

before(async () => {
  ctx = await startCityWith({ lp_cc: ['command_center', '110101000000'], lp_gw: ['grid_worker', COMMUNITY] }, PW);
  cc = ctx.as.lp_cc;
  gw = ctx.as.lp_gw;
  // 7 people in the grid worker's community, 5 in the other, alternating
  for (let i = 0; i < 12; i++) {
    seq += 1;
    const r = await cc.post('/api/v1/persons', {
      name: `列表${i}`,
      id_number: residentId('110101', '19800101', 200 + seq * 2, true),
      region_code: i % 2 && i < 10 ? OTHER : COMMUNITY,
    });
    assert.equal(r.status, 201, r.text);
  }
});

after(async () => {
  await ctx?.stop();
});

// The ids the plain statement gives, newest first, for a range of codes.
function expected(lo, hi) {
  return sqlRun(ctx, `SELECT id FROM persons WHERE deleted_at = 0 AND region_code >= ${lo} AND region_code < ${hi} ORDER BY created_at DESC, id DESC`)
    .split('\n')
    .filter(Boolean);
}
const padded = (code) => BigInt(code.padEnd(18, '0'));
const range = (code, digits) => [padded(code), padded(code) + 10n ** BigInt(18 - digits)];

// Every page of `path` (page_size 3) through the end: ids in order, the totals seen.
async function allPages(client, path) {
  const ids = [];
  const totals = new Set();
  for (let page = 1; page <= 10; page++) {
    const r = await client.get(`${path}${path.includes('?') ? '&' : '?'}page_size=3&page=${page}`);
    assert.equal(r.status, 200, r.text);
    totals.add(r.body.total);
    if (r.body.items.length === 0) break;
    ids.push(...r.body.items.map((p) => p.id));
  }
  return { ids, totals: [...totals] };
}

test('the district opens on the newest people: every page as the plain query, the total the count', async () => {
  const want = expected(...range('110101', 6));
  assert.equal(want.length, 12);
  const { ids, totals } = await allPages(cc, '/api/v1/persons');
  assert.deepEqual(ids, want);
  assert.deepEqual(totals, [12]);
  // the first page alone (the walk) and the last (the sort) agree with it
  const first = await cc.get('/api/v1/persons?page_size=3');
  assert.deepEqual(first.body.items.map((p) => p.id), want.slice(0, 3));
  assert.equal(first.body.items[0].name, '列**1'); // the newest: 列表11, masked
});

test('a community: the grid worker, and the district narrowed to it, see its people only', async () => {
  const want = expected(...range(COMMUNITY, 12));
  assert.equal(want.length, 7);
  const mine = await allPages(gw, '/api/v1/persons');
  assert.deepEqual(mine.ids, want);
  assert.deepEqual(mine.totals, [7]);
  const other = expected(...range(OTHER, 12));
  const narrowed = await allPages(cc, `/api/v1/persons?region_code=${OTHER}`);
  assert.deepEqual(narrowed.ids, other);
  assert.deepEqual(narrowed.totals, [5]);
});

test('a deletion leaves the pages and the total at once; a search keeps counting rows', async () => {
  const victim = expected(...range('110101', 6))[4];
  assert.equal((await cc.del(`/api/v1/persons/${victim}`)).status, 204);
  const want = expected(...range('110101', 6));
  assert.equal(want.length, 11);
  assert.ok(!want.includes(victim));
  const { ids, totals } = await allPages(cc, '/api/v1/persons');
  assert.deepEqual(ids, want);
  assert.deepEqual(totals, [11]);
  // the same people through a filter that takes the COUNT(*) path
  const normal = await allPages(cc, '/api/v1/persons?status=normal');
  assert.deepEqual(normal.ids, want);
  assert.deepEqual(normal.totals, [11]);
  // another sort is not the opening page: sorted as before, same total
  const oldest = await cc.get('/api/v1/persons?page_size=50&sort=created_at');
  assert.equal(oldest.status, 200);
  assert.deepEqual(oldest.body.items.map((p) => p.id), [...want].reverse());
  assert.equal(oldest.body.total, 11);
});

test('bad paging and sort parameters are refused and change nothing', async () => {
  expectError(await cc.get('/api/v1/persons?sort=nickname'), 400, 'invalid_parameter', 'sort');
  const within = await cc.get('/api/v1/persons?within=12345');
  assert.equal(within.status, 400, within.text);
  assert.equal(within.body.error.field, 'within');
  const r = await cc.get('/api/v1/persons?page=abc');
  assert.equal(r.status, 400, r.text);
  assert.equal(r.body.error.field, 'page');
  assert.equal((await cc.get('/api/v1/persons?page_size=1')).body.total, 11);
});
