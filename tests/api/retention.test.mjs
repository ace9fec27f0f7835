// `fangkong retention` (docs/retention.md), the operator's run of the
// server's daily retention pass, on the driver the suite runs: --dry-run
// lists what would go and changes nothing; a run removes the access records
// and samples past their days (PostgreSQL: their months dropped whole;
// SQLite: the rows deleted), keeps the rest, audits each removal, and
// `fangkong audit verify` still passes. Settings below a dataset's minimum
// stop both the command and `fangkong serve` with a message naming the
// variable. One server; old rows are put in beside it with sqlRun (as an
// older database holds them): the API only writes at the present time.
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { startServer, sqlRun, onPostgres, BIN } from './lib.mjs';

const DAY = 86400000;
let ctx;
const now = Date.now();
const old = now - 200 * DAY; // past the 90 days of access records, the 180 of samples
const chinaDay = (ms) => Math.floor((ms + 8 * 3600000) / DAY);

// The China month of ms as YYYYMM, as the partitions are named.
function month(ms) {
  const d = new Date(ms + 8 * 3600000);
  return `${d.getUTCFullYear()}${String(d.getUTCMonth() + 1).padStart(2, '0')}`;
}

const count = (sql) => Number(sqlRun(ctx, sql).trim());

before(async () => {
  ctx = await startServer();
  // two passages and two samples: one of each old, one of each recent
  for (const [id, at] of [[910001, old], [910002, now - DAY]]) {
    sqlRun(ctx, `INSERT INTO access_records (id, venue_id, region_code, person_id, direction, at, verdict, method, created_at) VALUES (${id}, 1, 110101001001, 7, 'in', ${at}, 'pass', 'manual', ${at})`);
    sqlRun(ctx, `INSERT INTO nat_samples (id, person_id, tube_id, site_id, region_code, street_code, staff_id, method, at, day, round_day) VALUES (${id}, 7, 1, 1, 110101001001, 110101001, 1, 'code', ${at}, ${chinaDay(at)}, ${chinaDay(at)})`);
  }
  if (onPostgres) {
    // the old month's tables, as a database partitioned since then has them:
    // the rows move out of the default partition into them
    sqlRun(ctx, `SELECT fk_partitions('access_records', ${old}, ${old}), fk_partitions('nat_samples', ${old}, ${old})`);
    assert.equal(sqlRun(ctx, 'SELECT tableoid::regclass FROM access_records WHERE id = 910001').trim(), `access_records_${month(old)}`);
  }
});

after(async () => {
  await ctx?.stop();
});

test('settings below a minimum stop the command and the server', () => {
  const r = ctx.fk(['retention', '--dry-run'], {});
  assert.equal(r.status, 0, r.stderr);
  const bad = { ...ctx.env, FK_RETAIN_AUDIT_DAYS: '179' };
  const cmd = spawnSync(BIN, ['retention', '--dry-run'], { env: bad, encoding: 'utf8', timeout: 20000 });
  assert.equal(cmd.status, 2);
  assert.match(cmd.stderr, /FK_RETAIN_AUDIT_DAYS.*180/);
  const serve = spawnSync(BIN, ['serve'], { env: { ...bad, FK_PORT: '1' }, encoding: 'utf8', timeout: 20000 });
  assert.equal(serve.status, 2, serve.stderr);
  assert.match(serve.stderr, /FK_RETAIN_AUDIT_DAYS/);
  const access = spawnSync(BIN, ['retention'], { env: { ...ctx.env, FK_RETAIN_ACCESS_DAYS: 'ninety' }, encoding: 'utf8', timeout: 20000 });
  assert.equal(access.status, 2);
  assert.match(access.stderr, /FK_RETAIN_ACCESS_DAYS/);
  const usage = ctx.fk(['retention', '--now']);
  assert.equal(usage.status, 2);
  // nothing was removed by any of them
  assert.equal(count('SELECT COUNT(*) FROM access_records WHERE id IN (910001, 910002)'), 2);
});

test('--dry-run lists what would go, a run removes it and keeps the rest; audited; the chain verifies', () => {
  const dry = ctx.must(['retention', '--dry-run']);
  assert.match(dry, /access_records \(场所通行记录\): keep 90 days, before \d{4}-\d\d-\d\d: would remove 1 rows/);
  assert.match(dry, /nat_samples \(核酸采样记录\): keep 180 days, before [\d-]+: would remove 1 rows/);
  assert.match(dry, /audit_log \(审计日志\): keep 180 days, before [\d-]+: would remove 0 rows/);
  if (onPostgres) assert.match(dry, new RegExp(`months [0-9,]*${month(old)}[0-9,]* would be dropped`));
  assert.equal(count('SELECT COUNT(*) FROM access_records WHERE id IN (910001, 910002)'), 2);
  assert.equal(count('SELECT COUNT(*) FROM nat_samples WHERE id IN (910001, 910002)'), 2);

  const run = ctx.must(['retention']);
  assert.match(run, /access_records .*: removed 1 rows/);
  assert.match(run, /nat_samples .*: removed 1 rows/);
  assert.equal(count('SELECT COUNT(*) FROM access_records WHERE id = 910001'), 0);
  assert.equal(count('SELECT COUNT(*) FROM access_records WHERE id = 910002'), 1);
  assert.equal(count('SELECT COUNT(*) FROM nat_samples WHERE id = 910001'), 0);
  assert.equal(count('SELECT COUNT(*) FROM nat_samples WHERE id = 910002'), 1);
  if (onPostgres) {
    assert.match(run, new RegExp(`months [0-9,]*${month(old)}[0-9,]* dropped`));
    assert.equal(sqlRun(ctx, `SELECT to_regclass('access_records_${month(old)}') IS NULL, to_regclass('nat_samples_${month(old)}') IS NULL`).trim(), 't|t');
  } else {
    assert.match(run, /by row/);
  }
  const audited = sqlRun(ctx, "SELECT detail FROM audit_log WHERE action = 'retention.run' ORDER BY id");
  assert.match(audited, /dataset=access_records cutoff=\d+ rows=1 months=/);
  assert.match(audited, /dataset=nat_samples cutoff=\d+ rows=1 /);
  assert.match(audited, onPostgres ? new RegExp(`months=[0-9,]*${month(old)}.* by=partitions`) : /months=- by=delete/);
  const verify = ctx.fk(['audit', 'verify']);
  assert.equal(verify.status, 0, verify.stdout + verify.stderr);
  assert.match(verify.stdout, /audit chain intact/);

  // again: nothing more goes, nothing more is audited
  const again = ctx.must(['retention']);
  assert.match(again, /access_records .*: removed 0 rows/);
  assert.equal(count("SELECT COUNT(*) FROM audit_log WHERE action = 'retention.run'"), 2);
});
