// The big lists' first pages (issue 15, docs/api.md "Lists"; the person
// list's are in list-pages.test.mjs): the access
// records and the task board count at most FK_LIST_COUNT_CAP matches (the
// reply says total_capped), keep paging past the cap, and give the same
// rows in the same order whether the page came from the region index and a
// sort (under the cap) or from walking the time index (over it: sql/101,
// src/db/query.c query_page's walk).
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { startCityWith, CITY_STAFF, sqlRun, BIN } from './lib.mjs';

const PW = 'List-pages-2024!';
const A = '110101001001'; // 多福巷社区
const B = '110101002001';
const WEST = '110102001001'; // another district: never in 东城区's pages
const padded = (code) => code.padEnd(18, '0');
let ctx, cc;

// 9 records of 东城区 (6 in A, 3 in B; two at the same millisecond, so the
// id decides) and one of 西城区; 2 of them refused.
const base = Date.now() - 3600000;
const records = [
  [9300000000001n, A, base + 1000, 'pass'],
  [9300000000002n, B, base + 2000, 'pass'],
  [9300000000003n, A, base + 3000, 'deny'],
  [9300000000004n, A, base + 3000, 'pass'],
  [9300000000005n, B, base + 4000, 'pass'],
  [9300000000006n, A, base + 5000, 'pass'],
  [9300000000007n, WEST, base + 5500, 'pass'],
  [9300000000008n, A, base + 6000, 'deny'],
  [9300000000009n, B, base + 7000, 'pass'],
  [9300000000010n, A, base + 8000, 'pass'],
];
// newest first, the id after the time, as the list promises
const newest = (rows) => [...rows].sort((x, y) => (y[2] - x[2]) || (y[0] > x[0] ? 1 : -1)).map((r) => String(r[0]));
const ours = records.filter((r) => r[1] !== WEST);

// 7 tasks of 东城区 (two created at the same millisecond), one of 西城区
const tasks = [
  [9400000000001n, A, base + 100, base + 90000],
  [9400000000002n, B, base + 200, base + 10000],
  [9400000000003n, A, base + 300, base + 50000],
  [9400000000004n, A, base + 300, base + 30000],
  [9400000000005n, WEST, base + 350, base + 1000],
  [9400000000006n, B, base + 400, base + 70000],
  [9400000000007n, A, base + 500, base + 20000],
  [9400000000008n, B, base + 600, base + 60000],
];
const ourTasks = tasks.filter((t) => t[1] !== WEST);
const byCreated = (rows, desc) => [...rows].sort((x, y) => (desc ? -1 : 1) * ((x[2] - y[2]) || (x[0] > y[0] ? 1 : -1))).map((t) => String(t[0]));
const byDeadline = (rows) => [...rows].sort((x, y) => (y[3] - x[3]) || (y[0] > x[0] ? 1 : -1)).map((t) => String(t[0]));

before(async () => {
  ctx = await startCityWith(CITY_STAFF, PW);
  ({ cc_dc: cc } = ctx.as);
  sqlRun(ctx, 'INSERT INTO access_records (id, venue_id, region_code, person_id, direction, at, colour, verdict, method, created_at) VALUES ' +
    records.map(([id, r, at, v]) => `(${id}, 0, ${padded(r)}, 0, 'in', ${at}, 'green', '${v}', 'staff_scan', ${at})`).join(', '));
  sqlRun(ctx, 'INSERT INTO tasks (id, kind, region_code, state, priority, deadline, title, created_at) VALUES ' +
    tasks.map(([id, r, at, due]) => `(${id}, 'general', ${padded(r)}, 'pending', 3, ${due}, '列表分页 ${id}', ${at})`).join(', '));
});

after(async () => {
  await ctx?.stop();
});

// Every page of `path` (page_size `size`) until one is not full: the ids,
// and each reply's total and total_capped.
async function pages(path, size) {
  const ids = [];
  const replies = [];
  for (let page = 1; page < 20; page++) {
    const r = await cc.get(`${path}${path.includes('?') ? '&' : '?'}page=${page}&page_size=${size}`);
    assert.equal(r.status, 200, r.text);
    replies.push({ total: r.body.total, capped: r.body.total_capped, n: r.body.items.length });
    ids.push(...r.body.items.map((x) => x.id));
    if (r.body.items.length < size) break;
  }
  return { ids, replies };
}

async function restartWithCap(cap) {
  if (cap === undefined) delete ctx.env.FK_LIST_COUNT_CAP;
  else ctx.env.FK_LIST_COUNT_CAP = String(cap);
  await ctx.restart(); // sessions live in the database: cc stays signed in
}

test('under the cap: exact totals, the pages newest first (the region index and a sort)', async () => {
  let r = await cc.get('/api/v1/access-records');
  assert.equal(r.status, 200, r.text);
  assert.equal(r.body.total, 9);
  assert.equal(r.body.total_capped, false);
  assert.deepEqual(r.body.items.map((x) => x.id), newest(ours));
  const p = await pages('/api/v1/access-records', 4);
  assert.deepEqual(p.ids, newest(ours));
  assert.deepEqual(p.replies.map((x) => x.capped), [false, false, false]);

  r = await cc.get('/api/v1/tasks');
  assert.equal(r.status, 200, r.text);
  assert.equal(r.body.total, 7);
  assert.equal(r.body.total_capped, false);
  assert.deepEqual(r.body.items.map((x) => x.id), byCreated(ourTasks, true));
  // the resident's "my tasks" and other lists keep the plain page
  assert.equal((await cc.get('/api/v1/alerts')).body.total_capped, undefined);
});

test('over the cap: "5+", the pages go on past it, the same rows as under it', async () => {
  await restartWithCap(5);
  try {
    // the district (9 records): capped, and the walk of the time index
    // gives what the sort gave, ties on the time included
    const p = await pages('/api/v1/access-records', 4);
    assert.deepEqual(p.ids, newest(ours));
    assert.deepEqual(p.replies, [
      { total: 5, capped: true, n: 4 },
      { total: 5, capped: true, n: 4 },
      { total: 5, capped: true, n: 1 },
    ]);
    let r = await cc.get('/api/v1/access-records?page=4&page_size=4');
    assert.deepEqual([r.body.items.length, r.body.total, r.body.total_capped], [0, 5, true]);
    // a community over the cap (6) walks; one under it (3) counts exactly
    r = await cc.get(`/api/v1/access-records?within=${A}`);
    assert.deepEqual([r.body.total, r.body.total_capped], [5, true]);
    assert.deepEqual(r.body.items.map((x) => x.id), newest(ours.filter((x) => x[1] === A)));
    r = await cc.get(`/api/v1/access-records?within=${B}`);
    assert.deepEqual([r.body.total, r.body.total_capped], [3, false]);
    assert.deepEqual(r.body.items.map((x) => x.id), newest(ours.filter((x) => x[1] === B)));
    // a filter still filters, on either path
    r = await cc.get('/api/v1/access-records?verdict=deny');
    assert.deepEqual([r.body.total, r.body.total_capped], [2, false]);
    assert.deepEqual(r.body.items.map((x) => x.id), newest(ours.filter((x) => x[3] === 'deny')));
    r = await cc.get(`/api/v1/access-records?verdict=pass&within=${A}&page_size=2`);
    assert.deepEqual(r.body.items.map((x) => x.id), newest(ours.filter((x) => x[3] === 'pass' && x[1] === A)).slice(0, 2));
    // another district's records are in no page
    assert.equal((await ctx.as.cc_xc.get('/api/v1/access-records')).body.total, 1);
    // the file is not capped: every record
    const csv = await cc.get('/api/v1/access-records?format=csv');
    assert.equal(csv.status, 200);
    assert.equal(csv.text.trim().split('\n').length, 1 + ours.length);

    // the board: newest first and oldest first walk tasks_created; another
    // sort reads the region index; every one of them the same rows as sorting
    let t = await pages('/api/v1/tasks', 3);
    assert.deepEqual(t.ids, byCreated(ourTasks, true));
    assert.deepEqual(t.replies.map((x) => [x.total, x.capped]), [[5, true], [5, true], [5, true]]);
    t = await pages('/api/v1/tasks?sort=created_at', 3);
    assert.deepEqual(t.ids, byCreated(ourTasks, false));
    t = await pages('/api/v1/tasks?sort=-deadline', 3);
    assert.deepEqual(t.ids, byDeadline(ourTasks));
    assert.equal(t.replies[0].capped, true);
    r = await cc.get(`/api/v1/tasks?within=${B}`);
    assert.deepEqual([r.body.total, r.body.total_capped], [3, false]);
    assert.deepEqual(r.body.items.map((x) => x.id), byCreated(ourTasks.filter((x) => x[1] === B), true));
    // an export counts exactly (and would refuse above its own maximum)
    const x = await cc.get('/api/v1/tasks?format=csv');
    assert.equal(x.status, 200);
    assert.equal(x.text.trim().split('\n').length, 1 + ourTasks.length);
  } finally {
    await restartWithCap(undefined);
  }
});

test('the OpenAPI document describes the capped total of both lists', async () => {
  const r = await cc.get('/api/v1/openapi.json');
  assert.equal(r.status, 200);
  for (const p of ['/api/v1/access-records', '/api/v1/tasks'])
    assert.equal(r.body.paths[p].get.responses['200'].content['application/json'].schema.$ref, '#/components/schemas/CappedPage', p);
  assert.equal(r.body.paths['/api/v1/alerts'].get.responses['200'].content, undefined);
  const s = r.body.components.schemas.CappedPage;
  assert.equal(s.properties.total_capped.type, 'boolean');
  assert.ok(s.required.includes('total_capped'));
});

test('a cap that is not a positive number stops the server at its start', () => {
  // checked before the port is taken (the test's server holds it)
  const r = spawnSync(BIN, ['serve'], { env: { ...ctx.env, FK_LIST_COUNT_CAP: '0' }, encoding: 'utf8', timeout: 20000 });
  assert.equal(r.status, 2, r.stderr);
  assert.match(r.stderr, /FK_LIST_COUNT_CAP must be a number from 1/);
});
