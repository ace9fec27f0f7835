// Point-in-time recovery on PostgreSQL, the procedure of docs/ha.md step by
// step: a cluster archiving its WAL (archive_command), a base backup
// (pg_basebackup), person A registered through fangkong, the time noted,
// person B registered; the base backup restored into a new cluster with
// restore_command and recovery_target_time = the noted time: A is there
// (with its audit entry), B is not. PostgreSQL only.
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { spawn, execFileSync } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { BIN, Client, CITY_CSV, onPostgres, residentId, sleep } from './lib.mjs';
import { Cluster, cleanup, freePort, pgMkdir, pgRun, pgTempDir } from './pgcluster.mjs';

const PW = 'Pitr-test-2024!';
const COMMUNITY = '110101001001';
let dir, fkDir, live, restored, server, serverErr = '';

before(async () => {
  if (!onPostgres) return;
  dir = pgTempDir('fk-pitr-');
  const archive = path.join(dir, 'wal-archive');
  pgMkdir(archive);
  live = new Cluster(dir, 'live', await freePort());
  // the archiving of docs/ha.md: every finished WAL segment copied (never
  // over an existing one); fsync off, as in every throwaway cluster here
  live.init(['wal_level = replica', 'archive_mode = on', `archive_command = 'test ! -f ${archive}/%f && cp %p ${archive}/%f'`, 'fsync = off']);
  live.start();
  pgRun(dir, 'createdb', ['-h', '127.0.0.1', '-p', String(live.port), '-U', 'fangkong', 'fangkong']);
  fkDir = fs.mkdtempSync(path.join(os.tmpdir(), 'fk-pitr-data-'));
  const port = await freePort();
  const env = {
    ...process.env,
    FK_DATA_DIR: fkDir,
    FK_PORT: String(port),
    FK_THREADS: '2',
    FK_PASSWORD_MEMORY_KIB: '64',
    FK_PASSWORD_PASSES: '1',
    FK_DB: live.url(),
  };
  const fk = (args) => execFileSync(BIN, args, { env, encoding: 'utf8', stdio: ['ignore', 'pipe', 'pipe'] });
  fk(['init']);
  const csv = path.join(fkDir, 'city.csv');
  fs.writeFileSync(csv, CITY_CSV);
  fk(['import', 'regions', csv]);
  fk(['user', 'add', '--username', 'cc_dc', '--password', PW, '--role', 'command_center', '--region', '110101000000']);
  server = spawn(BIN, ['serve'], { env, stdio: ['ignore', 'ignore', 'pipe'] });
  server.stderr.on('data', (d) => { serverErr += d; });
  server.url = `http://127.0.0.1:${port}`;
  for (let i = 0; i < 200; i++) {
    if (server.exitCode !== null) throw new Error('server exited: ' + serverErr);
    try {
      if ((await fetch(server.url + '/healthz')).ok) return;
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
      assert.equal(await done, 0, serverErr.slice(-3000));
    }
  } finally {
    cleanup(dir, [live, restored]);
    if (fkDir) fs.rmSync(fkDir, { recursive: true, force: true });
  }
});

test('a base backup and the WAL archive recover to a point in time: A is there, B is not', { timeout: 60_000 }, async (t) => {
  if (!onPostgres) return t.skip('PostgreSQL only: WAL archiving and point-in-time recovery (run under scripts/with-postgres.sh)');
  const archive = path.join(dir, 'wal-archive');
  const base = path.join(dir, 'base');
  // 1. the base backup, while the server runs
  pgRun(dir, 'pg_basebackup', ['-h', '127.0.0.1', '-p', String(live.port), '-U', 'fangkong', '-D', base, '-X', 'none', '-c', 'fast', '--no-sync']);

  const cc = new Client(server.url);
  await cc.login('cc_dc', PW);
  const register = async (name, seq) => {
    const r = await cc.post('/api/v1/persons', { name, id_number: residentId('110101', '19700101', seq), region_code: COMMUNITY });
    assert.equal(r.status, 201, r.text);
    return String(r.body.id);
  };
  // 2. A, then the time (the database's clock, as recovery compares it), then B
  const a = await register('甲某', 11);
  const at = live.query('SELECT clock_timestamp()');
  const b = await register('乙某', 13);
  // B's commit must be in the archive, or recovery would end before the target
  const segment = live.query('SELECT pg_walfile_name(pg_switch_wal())');
  for (let i = 0; i < 100 && !fs.existsSync(path.join(archive, segment)); i++) await sleep(100);
  assert.ok(fs.existsSync(path.join(archive, segment)), `segment ${segment} archived`);

  // 3. the recovery: the base backup, restore_command, the target, recovery.signal
  restored = new Cluster(dir, 'base', await freePort());
  restored.conf([`restore_command = 'cp ${archive}/%f %p'`, `recovery_target_time = '${at}'`, "recovery_target_action = 'promote'", 'archive_mode = off'], true);
  fs.writeFileSync(path.join(base, 'recovery.signal'), '');
  restored.start();
  for (let i = 0; i < 100 && restored.query('SELECT pg_is_in_recovery()') !== 'f'; i++) await sleep(100);
  assert.equal(restored.query('SELECT pg_is_in_recovery()'), 'f', restored.log().slice(-2000));

  // A is there with its audit entry, B is not; on the live cluster both are (the control)
  const has = (c, id) => c.query(`SELECT COUNT(*) FROM persons WHERE id = ${id}`);
  assert.equal(has(restored, a), '1', 'A recovered');
  assert.equal(restored.query(`SELECT COUNT(*) FROM audit_log WHERE action = 'person.create' AND object_id = ${a}`), '1');
  assert.equal(has(restored, b), '0', 'B (after the target time) not recovered');
  assert.equal(has(live, a), '1');
  assert.equal(has(live, b), '1');
  assert.match(restored.log(), /recovery stopping before commit of transaction/);
});
