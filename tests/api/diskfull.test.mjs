// A full disk (issue 15, docs/operations.md "Disk full"): every write
// answers 503 disk_full with the Chinese message and changes nothing (the
// transaction rolled back), reads keep working, the operator gets one log
// line a minute (not one per request) and the fangkong_disk_full gauge, and
// the server recovers by itself when space is freed. The disk is "filled"
// with the test-only FK_TEST_DISK_FULL (src/db/sqlite_testfull.c: while its
// file exists, SQLite's writes fail as on ENOSPC), refused outside the
// temporary folder. SQLite only: PostgreSQL's disk full (SQLSTATE 53100)
// is the unit test tests/unit/test_disk_full.c, and the drill fills a real
// small disk (scripts/drill.sh).
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import fs from 'node:fs';
import path from 'node:path';
import { execFileSync } from 'node:child_process';
import { BIN, onPostgres, auditEntries, sleep, residentId, expectError, startCityWith, sqlRun, until } from './lib.mjs';

const PW = 'Passw0rd!diskfull';
const MESSAGE = '服务器存储空间不足，请稍后重试并联系运维';
let ctx, cc, flag;

const metric = async (name) => {
  const text = await (await fetch(ctx.url + '/metrics')).text();
  const m = new RegExp(`^${name} (\\S+)$`, 'm').exec(text);
  return m ? Number(m[1]) : undefined;
};
const logLines = () => ctx.stderr.split('\n').filter((l) => l.includes('disk_full'));
// read beside the server (the sqlite3 tool, not through the test VFS);
// names are sealed, so rows are counted and a row's sealed name compared
const persons = () => Number(sqlRun(ctx, 'SELECT COUNT(*) FROM persons').trim());
const sealedName = (id) => sqlRun(ctx, `SELECT hex(name_enc) FROM persons WHERE id = ${id}`).trim();
let personsBefore, nameBefore, firstId;

before(async () => {
  if (onPostgres) return;
  ctx = await startCityWith({ df_cc: ['command_center', '110101000000'], df_auditor: ['audit_admin', '110000000000'] }, PW, {
    sqlite: true,
    env: { FK_TEST_DISK_FULL: '' },
    setup: async (c) => {
      flag = path.join(c.dir, 'disk-full');
      c.env.FK_TEST_DISK_FULL = flag;
    },
  });
  cc = ctx.as.df_cc;
});

after(async () => {
  if (ctx) await ctx.stop();
  if (ctx) fs.rmSync(ctx.dir, { recursive: true, force: true });
});

test('a full disk: writes answer 503 disk_full and change nothing, reads go on, one log line', async (t) => {
  if (onPostgres) return t.skip('SQLite only (PostgreSQL: tests/unit/test_disk_full.c)');
  // positive control: with space, the same writes succeed
  const before = await cc.post('/api/v1/persons', { name: '空间足', id_number: residentId('110101', '19800101', 11), region_code: '110101001001' });
  assert.equal(before.status, 201, before.text);
  assert.equal(await metric('fangkong_disk_full'), 0);
  firstId = before.body.id;
  personsBefore = persons();
  nameBefore = sealedName(firstId);

  fs.writeFileSync(flag, '');
  const r = await cc.post('/api/v1/persons', { name: '空间满', id_number: residentId('110101', '19800101', 13), region_code: '110101001001' });
  expectError(r, 503, 'disk_full');
  assert.equal(r.body.error.message, MESSAGE);
  // a sign-in writes a session and an audit entry: refused the same way
  const other = ctx.client();
  const login = await other.post('/api/v1/auth/login', { username: 'df_cc', password: PW });
  expectError(login, 503, 'disk_full');
  assert.equal(other.cookie, '', 'no session cookie for a session never written');
  // an update of an existing record: refused, the record unchanged
  const upd = await cc.patch(`/api/v1/persons/${before.body.id}`, { name: '改名失败' });
  expectError(upd, 503, 'disk_full');

  // nothing half-written
  assert.equal(persons(), personsBefore);
  assert.equal(sealedName(firstId), nameBefore);

  // reads keep working while the disk is full
  assert.equal((await fetch(ctx.url + '/healthz')).status, 200);
  const me = await cc.get('/api/v1/me');
  assert.equal(me.status, 200, me.text);
  const regions = await cc.get('/api/v1/regions?parent=110101000000');
  assert.equal(regions.status, 200, regions.text);
  // a read of personal data is answered; its audit entry waits in the
  // queue for space (written after recovery: the next test)
  const refusedBefore = await metric('fangkong_disk_full_writes');
  const read = await cc.get(`/api/v1/persons/${firstId}`);
  assert.equal(read.status, 200, read.text);
  assert.equal(read.body.id, firstId);
  // the audit writer tries it more often than its retries of one append
  // (50): had it dropped the entry, the next test would not find it
  let refused = refusedBefore;
  for (let i = 0; i < 100 && refused < refusedBefore + 60; i++) {
    await sleep(50);
    refused = await metric('fangkong_disk_full_writes');
  }
  assert.ok(refused >= refusedBefore + 60, `writes refused: ${refusedBefore} then ${refused}`);

  // the operator: the gauge, and one log line for three refusals
  assert.equal(await metric('fangkong_disk_full'), 1);
  assert.ok(await until(() => logLines().length >= 1), ctx.stderr.slice(-2000));
  assert.equal(logLines().length, 1, ctx.stderr.slice(-3000));
  assert.match(logLines()[0], /"refused":"1"/);
});

test('space freed: the server writes again without a restart, nothing lost from before', async (t) => {
  if (onPostgres) return t.skip('SQLite only (PostgreSQL: tests/unit/test_disk_full.c)');
  fs.rmSync(flag, { force: true });
  const r = await cc.post('/api/v1/persons', { name: '空间满', id_number: residentId('110101', '19800101', 13), region_code: '110101001001' });
  assert.equal(r.status, 201, r.text);
  const again = ctx.client();
  await again.login('df_cc', PW);
  assert.equal((await again.get('/api/v1/me')).status, 200);
  assert.equal(persons(), personsBefore + 1);
  const got = await cc.get(`/api/v1/persons/${r.body.id}`);
  assert.equal(got.status, 200, got.text);
  // the read made while the disk was full is audited now
  const entries = await auditEntries(ctx.as.df_auditor, 'person.read', firstId);
  assert.ok(entries.length >= 1, 'the read of the full disk was audited after recovery');
  // the database is sound and the audit chain intact (the refused writes
  // left no entry half-chained)
  assert.equal(sqlRun(ctx, 'PRAGMA integrity_check').trim(), 'ok');
  const verify = ctx.fk(['audit', 'verify']);
  assert.equal(verify.status, 0, verify.stderr + verify.stdout);
});

test('FK_TEST_DISK_FULL is refused outside the temporary folder', (t) => {
  if (onPostgres) return t.skip('SQLite only');
  // the same data folder, but TMPDIR says the temporary folder is elsewhere:
  // a deployment's data folder is never in it
  let out;
  try {
    execFileSync(BIN, ['init'], { env: { ...ctx.env, TMPDIR: '/var/fk-not-tmp' }, stdio: 'pipe', encoding: 'utf8' });
    assert.fail('init accepted FK_TEST_DISK_FULL outside the temporary folder');
  } catch (e) {
    out = e.stderr || '';
    assert.notEqual(e.status, 0);
  }
  assert.match(out, /FK_TEST_DISK_FULL/);
  // positive control: the same command in the temporary folder works
  execFileSync(BIN, ['init'], { env: ctx.env, stdio: 'pipe' });
});
