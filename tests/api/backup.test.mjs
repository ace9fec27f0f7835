// `fangkong backup FILE` / `fangkong restore FILE`: an online, consistent
// backup taken while the server is writing, that holds only ciphertexts of
// personal data, restores into a fresh deployment with the same key (and
// warns with another key), refuses while a server uses the database, refuses
// files that are not ours, and is audited. Runs on SQLite and, through
// scripts/with-postgres.sh (ctx.dbUrl set), on PostgreSQL with pg_dump.
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { spawn, execFileSync } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import fs from 'node:fs';
import path from 'node:path';
import { BIN, CITY_CSV, residentId, sleep, startServer, writeTmp } from './lib.mjs';

const CMD = { username: 'bk_command', password: 'Backup@2024pass' };
const COMMUNITY = '110101001001';

let A; // the live server the backups are taken from
let client;
let personApi = false;
let initial = []; // persons created before any backup: { id, name, id_number, phone }
let loopPersons = []; // persons the write loop created
let backupFile;
let snapshot; // { min, max }: how many persons a consistent snapshot may hold
const servers = [];

const isPg = (ctx) => Boolean(ctx.dbUrl);

// A person no other test uses: distinctive name, valid resident id (a
// different birth date for every i), phone.
function personData(i) {
  const surnames = ['欧阳', '司马', '上官', '诸葛', '东方'];
  const cjk = (k) => String.fromCharCode(0x4e00 + (k % 0x5000));
  const birth = new Date(Date.UTC(1950, 0, 1) + i * 86400000).toISOString().slice(0, 10).replaceAll('-', '');
  return {
    name: surnames[i % 5] + cjk(37 * i + 11) + cjk(101 * i + 5),
    id_type: 'resident_id',
    id_number: residentId('110101', birth, 100 + (i % 800), i % 2 === 0),
    phone: '139' + String(52000000 + i * 7919).padStart(8, '0'),
    region_code: COMMUNITY,
  };
}

async function createPerson(c, i) {
  const p = personData(i);
  const r = await c.post('/api/v1/persons', p);
  return { r, p };
}

// Run a fangkong command without blocking the event loop, so the write
// loop keeps going while it runs.
function fkAsync(env, args) {
  return new Promise((resolve) => {
    const proc = spawn(BIN, args, { env, stdio: ['ignore', 'pipe', 'pipe'] });
    let stdout = '';
    let stderr = '';
    proc.stdout.on('data', (d) => (stdout += d));
    proc.stderr.on('data', (d) => (stderr += d));
    proc.on('close', (status) => resolve({ status, stdout, stderr }));
  });
}

// Where a UTF-8 string (or its hex form, as PostgreSQL prints a BYTEA)
// occurs in a file's bytes.
function occurs(buf, s) {
  return buf.includes(Buffer.from(s, 'utf8')) || buf.includes(Buffer.from(Buffer.from(s, 'utf8').toString('hex')));
}

function pgTool(name) {
  for (const dir of (process.env.PATH || '').split(':')) {
    const p = path.join(dir, name);
    if (dir && fs.existsSync(p)) return p;
  }
  const base = '/usr/lib/postgresql';
  const versions = fs.existsSync(base) ? fs.readdirSync(base).sort((a, b) => Number(b) - Number(a)) : [];
  for (const v of versions) {
    const p = path.join(base, v, 'bin', name);
    if (fs.existsSync(p)) return p;
  }
  return name;
}

// The bytes to scan for plaintext: the file itself and, for a pg_dump
// archive (compressed), the SQL text pg_restore makes of it.
function scanTargets(ctx, file) {
  const out = [{ what: file, buf: fs.readFileSync(file) }];
  if (isPg(ctx)) {
    const sql = execFileSync(pgTool('pg_restore'), ['--file=-', file], { maxBuffer: 256 << 20 });
    out.push({ what: `${file} (pg_restore text)`, buf: sql });
  }
  return out;
}

// A fresh database URL on the same PostgreSQL server (createdb).
function freshPgUrl(ctx) {
  const name = 'r_' + randomBytes(6).toString('hex');
  execFileSync('createdb', [name], { stdio: 'inherit' });
  const u = new URL(ctx.dbUrl);
  u.pathname = '/' + name;
  return u.toString();
}

// Rows of an SQL query on a deployment's database, via the sqlite3 or psql
// client (the audit API is another capability's).
function sqlRows(ctx, sql) {
  const out = isPg(ctx)
    ? execFileSync('psql', ['-At', '-F', '|', '-d', ctx.env.FK_DB, '-c', sql], { encoding: 'utf8' })
    : execFileSync('sqlite3', ['-cmd', '.timeout 10000', path.join(ctx.dir, 'fangkong.db'), sql], { encoding: 'utf8' });
  return out.trim() ? out.trim().split('\n') : [];
}

function haveClient(ctx) {
  try {
    execFileSync(isPg(ctx) ? 'psql' : 'sqlite3', ['--version'], { stdio: 'ignore' });
    return true;
  } catch {
    return false;
  }
}

function copyKey(from, to) {
  const dst = path.join(to.dir, 'keys', 'master.key');
  fs.mkdirSync(path.dirname(dst), { recursive: true, mode: 0o700 });
  fs.copyFileSync(path.join(from.dir, 'keys', 'master.key'), dst);
  fs.chmodSync(dst, 0o600);
}

// Point a deployment at an empty database before `serve`: a new PostgreSQL
// database, or no SQLite file at all.
function emptyDatabase(ctx) {
  if (isPg(ctx)) {
    ctx.env.FK_DB = freshPgUrl(ctx);
  } else {
    for (const f of ['fangkong.db', 'fangkong.db-wal', 'fangkong.db-shm']) fs.rmSync(path.join(ctx.dir, f), { force: true });
  }
}

async function personTotal(c) {
  const r = await c.get('/api/v1/persons?page_size=1');
  assert.equal(r.status, 200, r.text);
  return r.body.total;
}

before(async () => {
  A = await startServer({
    setup: (ctx) => {
      ctx.must(['import', 'regions', writeTmp(ctx, 'city.csv', CITY_CSV)]);
      ctx.must(['user', 'add', '--username', CMD.username, '--password', CMD.password, '--role', 'command_center', '--region', '110101000000']);
    },
  });
  servers.push(A);
  client = A.client();
  await client.login(CMD.username, CMD.password);
  const first = await createPerson(client, 0);
  personApi = first.r.status === 201;
  if (!personApi) {
    // The person API is another capability; without it the backup still
    // carries the regions, the account and the audit log.
    console.log(`# person API not available (POST /api/v1/persons: ${first.r.status}); testing with regions and users only`);
    return;
  }
  initial.push({ id: first.r.body.id, ...first.p });
  for (let i = 1; i < 3; i++) {
    const { r, p } = await createPerson(client, i);
    assert.equal(r.status, 201, r.text);
    initial.push({ id: r.body.id, ...p });
  }
});

after(async () => {
  for (const s of servers) await s.stop();
  if (process.env.FK_KEEP) return; // keep the data dirs of a failed run for a reader
  for (const s of servers) fs.rmSync(s.dir, { recursive: true, force: true });
});

test('backup is taken online, while requests keep writing, into a private file', async () => {
  backupFile = path.join(A.dir, 'backup-online.fkb');
  let stop = false;
  let next = 1000;
  const done = []; // { started, finished, status }
  const writer = async () => {
    const c = A.client();
    await c.login(CMD.username, CMD.password);
    while (!stop) {
      const started = Date.now();
      let status;
      if (personApi) {
        const i = next++;
        const { r, p } = await createPerson(c, i);
        status = r.status;
        if (r.status === 201) loopPersons.push({ id: r.body.id, ...p });
      } else {
        status = (await c.get('/api/v1/me')).status; // a signed-in read still writes the session
      }
      done.push({ started, finished: Date.now(), status });
    }
  };
  const writers = [writer(), writer(), writer()];
  // the writers sign in first (slow by design under load): start the backup
  // once requests are flowing, not after a fixed pause
  while (done.length < 6) await sleep(50);
  const t0 = Date.now();
  const r = await fkAsync(A.env, ['backup', backupFile]);
  const t1 = Date.now();
  await sleep(300);
  stop = true;
  await Promise.all(writers);

  assert.equal(r.status, 0, r.stderr);
  assert.match(r.stdout, /备份完成/);
  assert.match(r.stdout, /不包含主密钥/, 'reminds that the key is backed up separately');
  assert.ok(fs.existsSync(backupFile));
  assert.equal(fs.statSync(backupFile).mode & 0o777, 0o600, 'backup file mode');
  assert.ok(!fs.existsSync(backupFile + '.tmp'), 'no temporary file left behind');
  const during = done.filter((d) => d.started <= t1 && d.finished >= t0);
  assert.ok(during.length > 0, 'requests were in flight while the backup ran');
  if (personApi) {
    assert.ok(done.length > 10, `the write loop wrote (${done.length})`);
    assert.deepEqual(done.filter((d) => d.status !== 201), [], 'every write succeeded during the backup');
    // the snapshot was taken while the backup process ran: it holds every
    // person committed before it started, none whose request began after it
    // ended
    snapshot = {
      min: initial.length + done.filter((d) => d.finished < t0).length,
      max: initial.length + done.filter((d) => d.started <= t1).length,
    };
  }
});

test('the backup holds ciphertexts only: no id number, phone or name in plain text', () => {
  assert.ok(backupFile, 'the backup test ran');
  const targets = scanTargets(A, backupFile);
  // the scan can find what is stored in clear: region names are not personal
  assert.ok(targets.some((t) => occurs(t.buf, '东华门街道')), 'a region name is found, so the scan works');
  const people = [...initial, ...loopPersons];
  for (const t of targets) {
    for (const p of people) {
      for (const v of [p.id_number, p.phone, p.name]) assert.ok(!occurs(t.buf, v), `${t.what} contains ${v} in plain text`);
    }
  }
});

test('restore into a fresh deployment with the same key: the people are readable again', async () => {
  assert.ok(backupFile, 'the backup test ran');
  let restored;
  const B = await startServer({
    setup: (ctx) => {
      copyKey(A, ctx);
      emptyDatabase(ctx);
      restored = ctx.fk(['restore', backupFile]);
    },
  });
  servers.push(B);
  assert.equal(restored.status, 0, restored.stderr);
  const m = /人员 (\d+) 条, 用户 (\d+) 个, 审计记录 (\d+) 条/.exec(restored.stdout);
  assert.ok(m, restored.stdout);
  assert.match(restored.stdout, /主密钥/);
  if (!isPg(B)) assert.equal(fs.statSync(path.join(B.dir, 'fangkong.db')).mode & 0o777, 0o600, 'restored database mode');
  assert.ok(Number(m[2]) >= 1, 'the account was restored');
  assert.ok(Number(m[3]) >= 1, 'the audit log was restored');

  const c = B.client();
  await c.login(CMD.username, CMD.password); // the account came back with the data
  if (!personApi) return;
  assert.match(restored.stdout, /密钥校验通过/);
  const n = Number(m[1]);
  // one snapshot: every person created before the backup started, none
  // that was only created after it ended, nothing half-written
  assert.ok(n >= snapshot.min && n <= snapshot.max, `restored ${n} persons, snapshot between ${snapshot.min} and ${snapshot.max}`);
  assert.equal(await personTotal(c), n);
  for (const p of initial) {
    const r = await c.get(`/api/v1/persons/${p.id}?reveal=1`);
    assert.equal(r.status, 200, r.text);
    assert.equal(r.body.name, p.name);
    assert.equal(r.body.id_number, p.id_number);
    assert.equal(r.body.phone, p.phone);
  }
  // the restored deployment keeps working: a new person can be added
  const { r } = await createPerson(c, 900);
  assert.equal(r.status, 201, r.text);

  if (haveClient(B)) {
    const rows = sqlRows(B, "SELECT username, result, detail FROM audit_log WHERE action = 'backup.restore'");
    assert.equal(rows.length, 1, rows.join('\n'));
    assert.match(rows[0], /^cli\|ok\|persons=\d+ users=\d+ audit=\d+ key=ok$/);
  }
});

test('restore with another master key restores but warns that the data cannot be opened', async (t) => {
  if (!personApi) return t.skip('needs a person in the backup (person API not available)');
  let restored;
  const C = await startServer({
    setup: (ctx) => {
      emptyDatabase(ctx); // keeps the new key `init` made
      restored = ctx.fk(['restore', backupFile]);
    },
  });
  servers.push(C);
  assert.equal(restored.status, 3, restored.stderr);
  assert.match(restored.stderr, /警告: 当前密钥 .* 解不开备份中的加密数据/);
  assert.match(restored.stdout, /人员 \d+ 条/);
  await C.stop();
});

test('restore refuses while a server is using the database, and changes nothing', async () => {
  const c = A.client();
  await c.login(CMD.username, CMD.password);
  const before0 = personApi ? await personTotal(c) : 0;
  const r = await fkAsync(A.env, ['restore', backupFile]);
  assert.equal(r.status, 1, r.stdout + r.stderr);
  assert.match(r.stderr, /请先停止/);
  assert.doesNotMatch(r.stdout, /已从/);
  if (personApi) assert.equal(await personTotal(c), before0);
  const me = await c.get('/api/v1/me');
  assert.equal(me.status, 200, 'the server kept running with its session');
});

test('restore refuses a file that is not a fangkong backup', async () => {
  const junk = writeTmp(A, 'not-a-backup.bin', 'SQLite format 3\0 but not really: ' + 'x'.repeat(4000));
  for (const file of [junk, path.join(A.dir, 'city.csv')]) {
    const r = A.fk(['restore', file]);
    assert.equal(r.status, 1, r.stdout + r.stderr);
    assert.match(r.stderr, /不是 fangkong 的/);
  }
  // a backup of the other driver is not ours either
  if (!isPg(A) && haveClient(A)) {
    const other = path.join(A.dir, 'foreign.db');
    execFileSync('sqlite3', [other, 'CREATE TABLE t (x INTEGER)']);
    const r = A.fk(['restore', other]);
    assert.equal(r.status, 1);
    assert.match(r.stderr, /schema_migrations/);
  }
  const missing = A.fk(['restore', path.join(A.dir, 'no-such-file')]);
  assert.equal(missing.status, 1);
  assert.match(missing.stderr, /无法读取/);
});

test('command-line mistakes are refused with a usage message', () => {
  for (const args of [['backup'], ['backup', 'a', 'b'], ['backup', '--bogus'], ['restore'], ['restore', '--bogus']]) {
    const r = A.fk(args);
    assert.equal(r.status, 2, `${args.join(' ')}: ${r.stderr}`);
    assert.match(r.stderr, /用法|未知选项/);
  }
  if (!isPg(A)) {
    const r = A.fk(['backup', path.join(A.dir, 'fangkong.db')]);
    assert.equal(r.status, 2);
    assert.match(r.stderr, /不能是数据库文件本身/);
    const back = A.fk(['restore', path.join(A.dir, 'fangkong.db')]);
    assert.equal(back.status, 2);
    assert.match(back.stderr, /就是数据库文件本身/);
  }
  const r = A.fk(['backup', path.join(A.dir, 'no', 'such', 'dir', 'b.fkb')]);
  assert.equal(r.status, 1);
  assert.match(r.stderr, /备份失败/);
});

test('an existing backup file is replaced only by a complete backup', () => {
  const file = path.join(A.dir, 'backup-twice.fkb');
  fs.writeFileSync(file, 'old');
  fs.chmodSync(file, 0o644);
  const r = A.fk(['backup', file]);
  assert.equal(r.status, 0, r.stderr);
  assert.equal(fs.statSync(file).mode & 0o777, 0o600);
  assert.ok(fs.statSync(file).size > 1000);
});

test('backups and restores are audited as user "cli"', (t) => {
  if (!haveClient(A)) return t.skip('no sqlite3/psql client to read the audit log');
  // tests above made two backups and one that failed (no such directory)
  const rows = sqlRows(A, "SELECT username, result, detail FROM audit_log WHERE action = 'backup.create' ORDER BY seq");
  const ok = new RegExp(`^cli\\|ok\\|driver=${isPg(A) ? 'postgres' : 'sqlite'} bytes=\\d+$`);
  assert.equal(rows.filter((r) => ok.test(r)).length, 2, rows.join('\n'));
  assert.deepEqual(rows.filter((r) => !ok.test(r)), ['cli|backup_io|']);
  const refused = sqlRows(A, "SELECT result FROM audit_log WHERE action = 'backup.restore'");
  assert.ok(refused.includes('database_in_use'), refused.join('\n'));
  assert.ok(refused.includes('not_a_backup'), refused.join('\n'));
  assert.ok(!refused.includes('ok'), 'the live database was never restored');
});

// The backup command writes its audit entry into the live database while the
// server's own audit writer is appending: neither may lose the other's
// entries. Several backups under a write loop, then every person created on
// the server must still have its person.create entry and the chain must hold.
test("online backups leave the server's own audit trail complete", async (t) => {
  if (!personApi) return t.skip('needs the person API for a write loop');
  if (!haveClient(A)) return t.skip('no sqlite3/psql client to read the audit log');
  const backupsBefore = Number(sqlRows(A, "SELECT COUNT(*) FROM audit_log WHERE action = 'backup.create' AND result = 'ok'")[0]);
  let stop = false;
  let next = 3000;
  const writer = async () => {
    const c = A.client();
    await c.login(CMD.username, CMD.password);
    while (!stop) {
      const { r } = await createPerson(c, next++);
      // a rare 500 was seen here once on PostgreSQL: name the server's error
      const errors = () => A.stderr.split('\n').filter((l) => l.includes('"level":"error"')).slice(-8).join('\n');
      assert.equal(r.status, 201, r.status === 201 ? '' : `${r.text}\n${errors()}`);
    }
  };
  const writers = [writer(), writer(), writer()];
  for (let k = 0; k < 5; k++) {
    const r = await fkAsync(A.env, ['backup', path.join(A.dir, `backup-${k}.fkb`)]);
    assert.equal(r.status, 0, r.stderr);
  }
  stop = true;
  await Promise.all(writers);
  await A.stop(); // flushes the server's audit queue
  const [persons] = sqlRows(A, 'SELECT COUNT(*) FROM persons');
  const [audited] = sqlRows(A, "SELECT COUNT(*) FROM audit_log WHERE action = 'person.create' AND result = 'ok'");
  assert.equal(audited, persons, 'every person created on the server has its audit entry');
  const [backups] = sqlRows(A, "SELECT COUNT(*) FROM audit_log WHERE action = 'backup.create' AND result = 'ok'");
  assert.equal(Number(backups), backupsBefore + 5, 'one entry per backup');
  const verify = A.fk(['audit', 'verify']);
  assert.equal(verify.status, 0, verify.stdout + verify.stderr);
});
