// Failover on PostgreSQL (docs/ha.md): a primary and a synchronous streaming
// standby (pg_basebackup -R) on loopback, one fangkong on the multi-host URL
// with target_session_attrs=read-write, and a load of person registrations.
// Mid-load the primary is stopped (immediate: a crash) and the standby
// promoted. The server is never restarted: it must reconnect on its own,
// answer 503 database_down (and nothing else) in between, accept writes
// again within RECOVERY_BOUND_MS of the promotion, and every registration it
// acknowledged must be on the new primary with its audit entry (written in
// the same transaction: nothing half-written). PostgreSQL only (the
// PostgreSQL pass runs it under scripts/with-postgres.sh, which it does not
// use: it makes its own two clusters).
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { spawn, execFileSync } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { BIN, Client, CITY_CSV, onPostgres, residentId, sleep } from './lib.mjs';
import { Cluster, cleanup, freePort, pgRun, pgTempDir } from './pgcluster.mjs';

const PW = 'Failover-test-2024!';
const COMMUNITY = '110101001001';
// The standby is promoted; writes must be accepted again within this long
// (the promotion itself, then at most one reconnection back-off of 1 s).
const RECOVERY_BOUND_MS = 10_000;

const steps = [];
let setupMs = 0, env, dir, fkDir, primary, standby, server, serverErr = '';

function fk(env, args) {
  return execFileSync(BIN, args, { env, encoding: 'utf8', stdio: ['ignore', 'pipe', 'pipe'] });
}

before(async () => {
  if (!onPostgres) return;
  const t0 = Date.now();
  dir = pgTempDir('fk-ha-');
  primary = new Cluster(dir, 'primary', await freePort());
  standby = new Cluster(dir, 'standby', await freePort());
  // fsync off: the test crashes processes, not the machine, and what a
  // process crash loses does not depend on it (the WAL a commit waited for
  // is in the standby's files either way); the shared CI machine is spared
  primary.init(['synchronous_commit = on', 'wal_level = replica', 'fsync = off', 'full_page_writes = off']);
  primary.start();
  pgRun(dir, 'createdb', ['-h', '127.0.0.1', '-p', String(primary.port), '-U', 'fangkong', 'fangkong']);
  fkDir = fs.mkdtempSync(path.join(os.tmpdir(), 'fk-ha-data-'));
  const port = await freePort();
  env = {
    ...process.env,
    FK_DATA_DIR: fkDir,
    FK_PORT: String(port),
    FK_THREADS: '2',
    FK_PASSWORD_MEMORY_KIB: '64',
    FK_PASSWORD_PASSES: '1',
    FK_WRITE_WAIT_MS: '10000',
    FK_DB: `postgresql://fangkong@127.0.0.1:${primary.port},127.0.0.1:${standby.port}/fangkong?target_session_attrs=read-write`,
  };
  // the schema is made before the standby exists (it arrives with the base
  // backup): the migrations do not wait for a synchronous standby
  steps.push(['primary', Date.now() - t0]);
  fk(env, ['init']);
  steps.push(['init', Date.now() - t0]);
  const csv = path.join(fkDir, 'city.csv');
  fs.writeFileSync(csv, CITY_CSV);
  fk(env, ['import', 'regions', csv]);
  fk(env, ['user', 'add', '--username', 'cc_dc', '--password', PW, '--role', 'command_center', '--region', '110101000000']);
  pgRun(dir, 'pg_basebackup', ['-h', '127.0.0.1', '-p', String(primary.port), '-U', 'fangkong', '-D', standby.data, '-R', '-X', 'stream', '-c', 'fast', '--no-sync']);
  // -R wrote primary_conninfo; the standby names itself for synchronous_standby_names
  standby.conf([`primary_conninfo = 'host=127.0.0.1 port=${primary.port} user=fangkong application_name=standby1'`], true);
  standby.start();
  // synchronous replication: a commit is acknowledged once the standby
  // named standby1 has flushed it (docs/ha.md); set once the standby runs,
  // or createdb and the base backup would wait for it
  primary.query("ALTER SYSTEM SET synchronous_standby_names = 'standby1'", 'postgres');
  primary.query('SELECT pg_reload_conf()', 'postgres');
  const syncState = () => primary.query("SELECT sync_state FROM pg_stat_replication WHERE application_name = 'standby1'", 'postgres');
  steps.push(['standby', Date.now() - t0]);
  for (let i = 0; i < 50 && syncState() !== 'sync'; i++) await sleep(200);
  assert.equal(syncState(), 'sync', `the standby is not synchronous:\n${standby.log().slice(-2000)}`);

  server = spawn(BIN, ['serve'], { env, stdio: ['ignore', 'ignore', 'pipe'] });
  server.stderr.on('data', (d) => { serverErr += d; });
  server.url = `http://127.0.0.1:${port}`;
  for (let i = 0; i < 200; i++) {
    if (server.exitCode !== null) throw new Error('server exited: ' + serverErr);
    try {
      if ((await fetch(server.url + '/healthz')).ok) {
        setupMs = Date.now() - t0;
        return;
      }
    } catch {}
    await sleep(50);
  }
  throw new Error('server did not start: ' + serverErr);
});

after(async () => {
  try {
    if (server && server.exitCode === null) {
      const done = new Promise((r) => server.on('exit', (code, sig) => r(code ?? sig)));
      server.kill('SIGTERM');
      const status = await done;
      assert.equal(status, 0, `fangkong serve exited ${status}:\n${serverErr.slice(-3000)}`);
      assert.doesNotMatch(serverErr, /(AddressSanitizer|LeakSanitizer|runtime error:)/);
    }
  } finally {
    cleanup(dir, [primary, standby]);
    if (fkDir) fs.rmSync(fkDir, { recursive: true, force: true });
  }
});

test('the standby is promoted mid-load: the server reconnects, no acknowledged write is lost', { timeout: 60_000 }, async (t) => {
  if (!onPostgres) return t.skip('PostgreSQL only: needs two PostgreSQL clusters (run under scripts/with-postgres.sh)');
  const cc = new Client(server.url);
  await cc.login('cc_dc', PW);

  const acked = new Map(); // person id -> id number
  const refused = []; // [status, code] of every other answer
  let seq = 0, stop = false, promotedAt = 0, firstAfter = 0;
  const senders = Array.from({ length: 4 }, async () => {
    while (!stop) {
      const idNumber = residentId('110101', '19850101', 1000 + 2 * ++seq);
      const r = await cc.post('/api/v1/persons', { name: '故障转移', id_number: idNumber, region_code: COMMUNITY });
      if (r.status === 201) {
        acked.set(String(r.body.id), idNumber);
        if (promotedAt && !firstAfter) firstAfter = Date.now();
      } else {
        refused.push([r.status, r.body?.error?.code]);
        await sleep(20); // as a client would before retrying
      }
    }
  });
  const until = async (pred, ms, what) => {
    const end = Date.now() + ms;
    while (!pred()) {
      if (Date.now() > end) throw new Error(`timed out: ${what}`);
      await sleep(10);
    }
  };
  try {
    await until(() => acked.size >= 20, 20_000, 'writes before the failover');
    const before = acked.size;
    primary.stop('immediate');
    // the load goes on against no primary for a moment: only 503s
    await until(() => refused.length >= 4, 10_000, 'refusals while there is no primary');
    assert.ok(acked.size - before <= 4, 'at most the writes in flight were acknowledged after the stop');
    standby.promote();
    promotedAt = Date.now();
    await until(() => firstAfter, RECOVERY_BOUND_MS, `a write accepted within ${RECOVERY_BOUND_MS} ms of the promotion`);
    const n = acked.size;
    await until(() => acked.size >= n + 20, 20_000, 'writes after the failover');
  } finally {
    stop = true;
    await Promise.all(senders);
  }
  t.diagnostic(`set-up ${setupMs} ms (${steps.map(([k, v]) => `${k} ${v}`).join(', ')}); acknowledged ${acked.size}, refused ${refused.length}, writes again ${firstAfter - promotedAt} ms after the promotion`);

  // while there was no primary: 503 database_down, nothing else (no 500)
  assert.ok(refused.length > 0, 'the outage was seen');
  for (const [status, code] of refused) assert.deepEqual([status, code], [503, 'database_down']);

  // every acknowledged registration is on the new primary, with its audit entry
  const ids = [...acked.keys()];
  const rows = standby.query(`SELECT COUNT(*) FROM persons WHERE id IN (${ids.join(',')})`);
  assert.equal(Number(rows), ids.length, 'every acknowledged person is on the new primary');
  const audited = standby.query(`SELECT COUNT(DISTINCT object_id) FROM audit_log WHERE action = 'person.create' AND object_id IN (${ids.join(',')})`);
  assert.equal(Number(audited), ids.length, 'every acknowledged person has its person.create entry');
  // nothing half-written: no person without its audit entry, acknowledged or not
  const orphans = standby.query(`SELECT COUNT(*) FROM persons p WHERE NOT EXISTS (SELECT 1 FROM audit_log a WHERE a.action = 'person.create' AND a.object_id = p.id)`);
  assert.equal(Number(orphans), 0);

  // the same server, never restarted, reads them back through the API
  assert.equal(server.exitCode, null, 'the server kept running');
  const some = ids[ids.length - 1];
  const r = await cc.get(`/api/v1/persons/${some}`);
  assert.equal(r.status, 200, r.text);
  assert.equal((await fetch(server.url + '/healthz')).status, 200);
  // positive control: the old primary is gone, the new one takes writes
  assert.equal(standby.query('SELECT pg_is_in_recovery()'), 'f');
});
