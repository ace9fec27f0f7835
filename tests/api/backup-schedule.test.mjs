// Scheduled SQLite backups (docs/ha.md): a server with FK_BACKUP_EVERY=1 and
// FK_BACKUP_KEEP=2 makes an online backup each second, restores each into a
// temporary folder and checks it (integrity, migrations, audit chain) before
// marking it verified; keeps the newest two; shows the age of the newest
// verified one on /metrics; `fangkong backup --list` lists them; each is
// audited. A verified backup restores into a fresh data folder with the
// person written before it. Bad settings are refused at start, and on
// PostgreSQL the schedule is refused (base backups and WAL archiving there).
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { BIN, startServer, CITY_CSV, writeTmp, residentId, onPostgres, until, sqlRun } from './lib.mjs';

const PW = 'Backup-sched-2024!';
let ctx;

// `fangkong serve` with extra settings; its exit status and stderr (it is
// expected to refuse at once, before listening).
function serveRefused(env) {
  try {
    execFileSync(BIN, ['serve'], { env: { ...ctx.env, FK_PORT: '1', ...env }, encoding: 'utf8', stdio: ['ignore', 'pipe', 'pipe'], timeout: 20_000 });
    return { status: 0, stderr: '' };
  } catch (e) {
    return { status: e.status, stderr: e.stderr || '' };
  }
}

before(async () => {
  ctx = await startServer({
    // on PostgreSQL the schedule is off: the server starts without it, and
    // the refusal is tested below
    env: onPostgres ? {} : { FK_BACKUP_EVERY: '1', FK_BACKUP_KEEP: '2' },
    setup: (c) => {
      c.must(['import', 'regions', writeTmp(c, 'city.csv', CITY_CSV)]);
      c.must(['user', 'add', '--username', 'cc_dc', '--password', PW, '--role', 'command_center', '--region', '110101000000']);
    },
  });
});

after(async () => {
  await ctx?.stop();
});

const verifiedCount = () => (ctx.stderr.match(/"event":"backup_verified"/g) || []).length;

test('backups are made each period, verified by a restore, kept to the newest two, listed and on /metrics', { timeout: 45_000 }, async (t) => {
  if (onPostgres) return t.skip('SQLite only: PostgreSQL uses base backups and WAL archiving (backup-pitr.test.mjs)');
  const cc = ctx.client();
  await cc.login('cc_dc', PW);
  const r = await cc.post('/api/v1/persons', { name: '备份前', id_number: residentId('110101', '19750101', 21), region_code: '110101001001' });
  assert.equal(r.status, 201, r.text);
  const since = verifiedCount();
  // a stray file of ours that never was verified: listed as such, pruned as the oldest
  const dir = path.join(ctx.dir, 'backups');
  assert.ok(await until(() => fs.existsSync(dir), 10_000), 'the backup folder is made at start');
  fs.writeFileSync(path.join(dir, 'fangkong-20000101T000000000Z.fkb'), 'not a backup');
  let list = ctx.must(['backup', '--list']);
  assert.match(list, /fangkong-20000101T000000000Z\.fkb\t\d+ 字节\t未校验/);

  // three more verified backups (the person is in each: made after it)
  assert.ok(await until(() => verifiedCount() >= since + 3, 30_000), `backups verified: ${verifiedCount() - since}\n${ctx.stderr.slice(-2000)}`);
  list = ctx.must(['backup', '--list']);
  const lines = list.trim().split('\n');
  assert.equal(lines.filter((l) => /\t已校验$/.test(l)).length, 2, list);
  assert.doesNotMatch(list, /20000101/, 'the oldest beyond the two kept is removed');
  assert.match(lines.at(-1), /2 份定时备份/);
  assert.deepEqual(fs.readdirSync(dir).filter((f) => f.startsWith('.verify-')), [], 'no restore folder left behind');
  const sidecar = fs.readFileSync(path.join(dir, lines[0].split('\t')[0] + '.ok'), 'utf8');
  assert.match(sidecar, /^integrity=ok migrations=\d+ audit_checked=\d+ audit_chain=(intact|tail_cut)\n$/);

  // /metrics: the newest verified backup is seconds old
  const m = await (await fetch(ctx.url + '/metrics')).text();
  const age = Number(/^fangkong_backup_verified_age_seconds (\S+)$/m.exec(m)?.[1]);
  assert.ok(age >= 0 && age < 20, `age ${age}`);

  // audited as user "system"
  const audited = sqlRun(ctx, "SELECT username, result FROM audit_log WHERE action = 'backup.create'").trim().split('\n');
  assert.ok(audited.filter((l) => l === 'system|ok').length >= 3, audited.join('\n'));

  // a verified backup restores into a fresh data folder, with the person
  const fresh = fs.mkdtempSync(path.join(os.tmpdir(), 'fk-restore-'));
  try {
    const out = execFileSync(BIN, ['restore', path.join(dir, lines[0].split('\t')[0])], {
      env: { ...ctx.env, FK_DATA_DIR: fresh, FK_KEY_FILE: path.join(ctx.dir, 'keys', 'master.key') },
      encoding: 'utf8',
    });
    assert.match(out, /人员 1 条/);
    assert.match(out, /密钥校验通过/);
  } finally {
    fs.rmSync(fresh, { recursive: true, force: true });
  }
});

test('bad schedule settings are refused at start, and the schedule on PostgreSQL', () => {
  for (const [k, v] of [['FK_BACKUP_EVERY', '-1'], ['FK_BACKUP_EVERY', 'hourly'], ['FK_BACKUP_KEEP', '0']]) {
    const r = serveRefused({ FK_BACKUP_EVERY: '60', [k]: v });
    assert.equal(r.status, 2, `${k}=${v}: ${r.stderr}`);
    assert.match(r.stderr, new RegExp(`${k} must be a number`));
  }
  if (onPostgres) {
    const r = serveRefused({ FK_BACKUP_EVERY: '60' });
    assert.notEqual(r.status, 0);
    assert.match(r.stderr, /定时备份仅用于 SQLite/);
  }
  // the list of a folder that does not exist fails, saying which
  const r = ctx.fk(['backup', '--list'], {});
  if (onPostgres) {
    assert.equal(r.status, 1);
    assert.match(r.stderr, /无法读取备份目录/);
  } else {
    assert.equal(r.status, 0); // the control: the scheduled folder exists
  }
});
