// Exchange monitoring (docs/exchange.md "Monitoring", src/exchange/watch.c):
// the summary API over the per-minute aggregates (its scope: a district's
// command centre sees its own callers and the deployment's rows, never
// another district's; bad windows refused with their field; no permission,
// 403), and an anomaly induced in the aggregates raising ALERT_EXCHANGE_
// ANOMALY once — at the caller's region, the figures in the message — by the
// background sweep, however many sweeps run in the hour. The counting of
// real signed calls is in exchange-watch-calls.test.mjs (it needs the
// signed front).
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { CITY_STAFF, expectError, sleep, sqlRun, startCityWith } from './lib.mjs';

const PW = 'Passw0rd!xwatch';
const DC = '110101000000000000'; // 东城区, padded as stored
const XC = '110102000000000000'; // 西城区
let ctx, dc, xc, grid;

const minuteNow = () => Math.floor(Date.now() / 60000);

// rows of exchange_minutes: [minute, caller_id, party, region, result, calls]
function seed(rows) {
  const values = rows
    .map(([m, id, party, region, result, calls]) => `(${m}, 'in', ${id}, '${party}', 'persons', '${result}', ${region}, ${calls}, ${calls * 1000}, ${calls}, ${m * 60000})`)
    .join(', ');
  sqlRun(ctx, `INSERT INTO exchange_minutes (minute, direction, caller_id, party, dataset, result, region_code, calls, records, b3, last_at) VALUES ${values}`);
}

before(async () => {
  // the outbox sender off: it would deliver to the peer a test registers by
  // hand (and write its cursor row) between that test's inserts
  ctx = await startCityWith(CITY_STAFF, PW, { env: { FK_EXCHANGE_FLUSH: '1', FK_EXCHANGE_ANOMALY_EVERY: '1', FK_OUTBOX_EVERY: '0' } });
  dc = ctx.as.cc_dc;
  xc = ctx.as.cc_xc;
  grid = ctx.as.grid_dc;
});

after(async () => {
  await ctx?.stop();
});

test('the summary shows the callers in scope by name, per minute, with their p99', async () => {
  const m = minuteNow();
  seed([
    [m - 2, 501, '东城区卫健委', DC, 'ok', 8],
    [m - 1, 501, '东城区卫健委', DC, 'dataset_not_granted', 2],
    [m - 1, 501, '东城区卫健委', DC, 'signature_invalid', 1],
    [m - 1, 502, '西城区公安分局', XC, 'ok', 5],
    [m - 120, 501, '东城区卫健委', DC, 'ok', 100], // outside a 60-minute window
  ]);
  sqlRun(ctx, `INSERT INTO exchange_minutes (minute, direction, caller_id, party, dataset, result, region_code, calls, b6, last_at) VALUES (${m - 1}, 'out', 0, '省政务平台', 'cases', 'ok', 0, 3, 3, ${(m - 1) * 60000})`);
  const r = await dc.get('/api/v1/exchange/monitor?minutes=60');
  assert.equal(r.status, 200, r.text);
  assert.equal(r.body.minutes, 60);
  assert.equal(r.body.series.length, 60);
  assert.deepEqual(r.body.totals, { calls: 11, errors: 3, rejected: 1, records: 11000, p99_ms: 5 });
  assert.deepEqual(r.body.callers.map((c) => [c.name, c.calls, c.errors, c.rejected]), [['东城区卫健委', 11, 3, 1]]);
  assert.ok(r.body.callers[0].last_at.startsWith(new Date().getFullYear().toString()));
  // the systems we call are the deployment's: every district sees them
  assert.deepEqual(r.body.peers.map((p) => [p.name, p.calls, p.p99_ms, p.registered]), [['省政务平台', 3, 50, false]]);
  assert.ok(r.body.peers[0].last_ok_at);
  assert.deepEqual(r.body.errors, [{ code: 'dataset_not_granted', calls: 2 }, { code: 'signature_invalid', calls: 1 }]);
  const last = r.body.series.at(-2); // the minute before this one
  assert.deepEqual([last.calls, last.errors, last.rejected], [6, 3, 1]); // with the outbound 3
  // the other district: its own caller only
  const x = await xc.get('/api/v1/exchange/monitor?minutes=60');
  assert.deepEqual(x.body.callers.map((c) => c.name), ['西城区公安分局']);
  assert.equal(x.body.totals.calls, 5);
  // a window of a day reaches the older minute
  const day = await dc.get('/api/v1/exchange/monitor?minutes=1440');
  assert.equal(day.body.totals.calls, 111);
  // narrowed to a region outside the district by ?within=: refused like any list
  expectError(await dc.get('/api/v1/exchange/monitor?within=110102000000'), 404, 'not_found', 'within');
});

test('a registered peer shows its state and the outbox backlog', async () => {
  const now = Date.now();
  const m = minuteNow();
  // the registry's row (helper peer's table), subscribed to persons and cases (bits 0 and 5)
  sqlRun(ctx, `INSERT INTO exchange_peers (id, name, kind, base_url, caller, peer_key, datasets, last_ok_at, last_fail_at, last_error, failing_since, created_at, updated_at)
               VALUES (9101, '市政务服务平台', 'gov', 'https://gov.example', 'fk', 'x', 33, ${now - 60000}, ${now - 5000}, '对方无应答', ${now - 5000}, ${now}, ${now})`);
  // five changes of persons, three of them past the cursor; two of cases, none delivered yet
  for (let i = 1; i <= 5; i++) sqlRun(ctx, `INSERT INTO exchange_changes (dataset, seq, object_id, region_code, op, at) VALUES ('persons', ${i}, ${i}, ${DC}, 'upsert', ${now - 100000 + i})`);
  for (let i = 1; i <= 2; i++) sqlRun(ctx, `INSERT INTO exchange_changes (dataset, seq, object_id, region_code, op, at) VALUES ('cases', ${i}, ${i}, ${DC}, 'upsert', ${now - 200000 + i})`);
  sqlRun(ctx, `INSERT INTO exchange_outbox (peer_id, dataset, sent_seq) VALUES (9101, 'persons', 2)`);
  sqlRun(ctx, `INSERT INTO exchange_minutes (minute, direction, caller_id, party, dataset, result, region_code, calls, b4, last_at) VALUES (${m}, 'out', 0, '市政务服务平台', 'persons', 'peer_unreachable', 0, 4, 4, ${now})`);
  const r = await xc.get('/api/v1/exchange/monitor?minutes=15');
  assert.equal(r.status, 200, r.text);
  const p = r.body.peers.find((x) => x.name === '市政务服务平台');
  assert.ok(p, JSON.stringify(r.body.peers));
  assert.equal(p.registered, true);
  assert.equal(p.backlog, 5); // 3 persons + 2 cases
  assert.equal(p.calls, 4);
  assert.equal(p.errors, 4);
  assert.equal(p.last_error, '对方无应答');
  assert.ok(p.failing_since && p.last_ok_at && p.oldest_pending_at);
  assert.ok(p.oldest_pending_at < p.last_ok_at); // the cases' changes, older
});

test('bad windows are refused with their field, and the page needs exchange.read', async () => {
  expectError(await dc.get('/api/v1/exchange/monitor?minutes=0'), 400, 'out_of_range', 'minutes');
  expectError(await dc.get('/api/v1/exchange/monitor?minutes=1441'), 400, 'out_of_range', 'minutes');
  expectError(await dc.get('/api/v1/exchange/monitor?minutes=abc'), 400, 'invalid_parameter', 'minutes');
  expectError(await dc.get('/api/v1/exchange/monitor?minutes='), 400, 'invalid_parameter', 'minutes');
  expectError(await dc.get('/api/v1/exchange/monitor?minutes=10x'), 400, 'invalid_parameter', 'minutes');
  const g = await grid.get('/api/v1/exchange/monitor');
  assert.equal(g.status, 403, g.text);
});

test('an induced anomaly raises one alert at the caller region, with the figures', async () => {
  const m = minuteNow();
  // in one transaction (the sweep runs every second and must not see half of it):
  // a day of 3 calls a minute, all fine, then 30 failures in the current minute;
  // and a quiet caller failing every call, too few to judge (no alert)
  const cols = 'minute, direction, caller_id, party, dataset, result, region_code, calls, b3, last_at';
  sqlRun(
    ctx,
    `BEGIN;
     WITH RECURSIVE k(n) AS (SELECT CAST(10 AS BIGINT) UNION ALL SELECT n + 1 FROM k WHERE n < 1449)
       INSERT INTO exchange_minutes (${cols}) SELECT ${m} - n, 'in', 601, '东城区疾控中心', 'persons', 'ok', ${DC}, 3, 3, (${m} - n) * 60000 FROM k;
     INSERT INTO exchange_minutes (${cols}) VALUES (${m}, 'in', 601, '东城区疾控中心', 'persons', 'dataset_not_granted', ${DC}, 30, 30, ${m * 60000});
     INSERT INTO exchange_minutes (${cols}) VALUES (${m}, 'in', 602, '西城区街道办', 'persons', 'dataset_not_granted', ${XC}, 5, 5, ${m * 60000});
     COMMIT;`,
  );
  const anomalies = async (client) => (await client.get('/api/v1/alerts?kind=exchange_anomaly&page_size=50')).body.items;
  let items = [];
  for (let t = 0; t < 10000 && !items.length; t += 200) {
    items = await anomalies(dc);
    if (!items.length) await sleep(200);
  }
  assert.equal(items.length, 1);
  assert.equal(items[0].region_code, DC);
  assert.match(items[0].message, /东城区疾控中心.*失败30次/);
  // sweeps go on every second: still one alert this hour
  await sleep(2500);
  assert.equal((await anomalies(dc)).length, 1);
  assert.equal(sqlRun(ctx, 'SELECT COUNT(*) FROM exchange_anomalies').trim(), '1');
  // the other district sees none of it
  assert.equal((await anomalies(xc)).length, 0);
});
