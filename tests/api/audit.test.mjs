// The audit log API: only the audit administrator reads it (三员分立), the
// filters find what happened, reading is itself audited, and a database
// edited behind the server's back is caught by `fangkong audit verify` and
// by GET /api/v1/audit/verify — also by someone who can write the whole
// database but has not the master key: a cut tail (head moved too), oldest
// entries deleted without a retention marker, a wiped log, an entry
// rewritten with the chain recomputed, a middle deletion with renumbering,
// and one node's chain cut while another's is intact. An untouched log and
// a log pruned with `fangkong audit prune` verify.
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import crypto from 'node:crypto';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { BIN, startServer, startPeer, sleep, CITY_CSV, writeTmp, totpSecretFrom, errOf, sqlRun } from './lib.mjs';

const PW = 'Passw0rd!audit';
let ctx;
let auditor, sys, sec, grid;
const ids = {};

function addUser(c, username, role, region = '110101000000') {
  const out = c.must(['user', 'add', '--username', username, '--password', PW, '--role', role, '--region', region]);
  return totpSecretFrom(out);
}

async function signIn(username, secret) {
  const c = ctx.client();
  await c.login(username, PW, secret);
  ids[username] = (await c.get('/api/v1/me')).body.id;
  return c;
}

before(async () => {
  const secrets = {};
  ctx = await startServer({
    setup: (c) => {
      c.must(['import', 'regions', writeTmp(c, 'city.csv', CITY_CSV)]);
      secrets.auditor = addUser(c, 'auditor', 'audit_admin');
      secrets.sys = addUser(c, 'sysadmin', 'system_admin');
      secrets.sec = addUser(c, 'secadmin', 'security_admin');
      addUser(c, 'grid1', 'grid_worker', '110101001001');
    },
  });
  auditor = await signIn('auditor', secrets.auditor);
  sys = await signIn('sysadmin', secrets.sys);
  sec = await signIn('secadmin', secrets.sec);
  grid = await signIn('grid1');
});

after(async () => {
  await ctx?.stop();
});

test('only the audit administrator reads the audit log', async () => {
  for (const [who, c] of [['system_admin', sys], ['security_admin', sec], ['grid_worker', grid]]) {
    assert.equal((await c.get('/api/v1/audit')).status, 403, who);
    assert.equal((await c.get('/api/v1/audit/verify')).status, 403, who);
    assert.equal((await c.get('/api/v1/audit?format=csv')).status, 403, who);
  }
  const anon = ctx.client();
  assert.equal((await anon.get('/api/v1/audit')).status, 401);
  assert.equal((await anon.get('/api/v1/audit/verify')).status, 401);
  const r = await auditor.get('/api/v1/audit');
  assert.equal(r.status, 200);
  assert.equal(r.body.page, 1);
  assert.equal(r.body.page_size, 20);
  assert.ok(r.body.total > 0);
  // the log is read-only: no write routes
  assert.equal((await auditor.del('/api/v1/audit')).status, 405);
  assert.equal((await auditor.post('/api/v1/audit', {})).status, 405);
});

test('entries say who did what to which record, newest first', async () => {
  const role = await sec.post('/api/v1/roles', { key: 'audit_probe', name: '审计探针', permissions: ['region.read'] });
  assert.equal(role.status, 201);
  ids.role = role.body.id;
  // a refused write is recorded with its reason
  const builtin = (await sec.get('/api/v1/roles?page_size=200')).body.items.find((x) => x.key === 'grid_worker');
  assert.equal((await sec.patch(`/api/v1/roles/${builtin.id}`, { name: '改' })).status, 409);
  assert.equal((await sec.patch(`/api/v1/roles/${ids.role}`, { name: '审计探针二' })).status, 200);

  const r = await auditor.get('/api/v1/audit?action=role.create');
  assert.equal(r.status, 200);
  const e = r.body.items.find((x) => x.object_id === ids.role);
  assert.ok(e, 'role.create entry');
  assert.equal(e.action, 'role.create');
  assert.equal(e.object_type, 'role');
  assert.equal(e.username, 'secadmin');
  assert.equal(e.user_id, ids.secadmin);
  assert.equal(e.role, 'security_admin');
  assert.equal(e.result, 'ok');
  assert.equal(e.detail, 'key=audit_probe');
  assert.match(e.id, /^\d+$/);
  assert.ok(e.ip.length > 0);
  assert.ok(Math.abs(e.at - Date.now()) < 60000);
  ids.entry = e.id;

  const all = await auditor.get('/api/v1/audit?page_size=200');
  const ats = all.body.items.map((x) => x.at);
  assert.deepEqual(ats, [...ats].sort((a, b) => b - a));
});

test('filters: user, username, action prefix, object, result, time', async () => {
  const byUser = await auditor.get(`/api/v1/audit?user_id=${ids.secadmin}&page_size=200`);
  assert.ok(byUser.body.items.length >= 3);
  assert.ok(byUser.body.items.every((x) => x.user_id === ids.secadmin));

  const byName = await auditor.get('/api/v1/audit?username=secadmin&page_size=200');
  assert.equal(byName.body.total, byUser.body.total);

  const prefix = await auditor.get('/api/v1/audit?action=role.*&page_size=200');
  const actions = new Set(prefix.body.items.map((x) => x.action));
  assert.deepEqual([...actions].sort(), ['role.create', 'role.update']);
  const exact = await auditor.get('/api/v1/audit?action=role.');
  assert.equal(exact.body.total, 0);
  const any = await auditor.get('/api/v1/audit?action=*');
  assert.ok(any.body.total >= prefix.body.total);

  const obj = await auditor.get(`/api/v1/audit?object_type=role&object_id=${ids.role}`);
  assert.deepEqual(obj.body.items.map((x) => x.action).sort(), ['role.create', 'role.update']);

  const refused = await auditor.get('/api/v1/audit?result=builtin_role');
  assert.equal(refused.body.total, 1);
  assert.equal(refused.body.items[0].action, 'role.update');
  assert.equal(refused.body.items[0].username, 'secadmin');

  const combined = await auditor.get(`/api/v1/audit?username=secadmin&action=role.*&result=ok`);
  assert.equal(combined.body.total, 2);

  const future = await auditor.get(`/api/v1/audit?from=${Date.now() + 3600000}`);
  assert.equal(future.body.total, 0);
  const past = await auditor.get('/api/v1/audit?to=1000');
  assert.equal(past.body.total, 0);
  const now = Date.now();
  const window = await auditor.get(`/api/v1/audit?from=${now - 600000}&to=${now + 1000}&action=role.create`);
  assert.ok(window.body.items.some((x) => x.id === ids.entry));

  // paging
  const p1 = await auditor.get('/api/v1/audit?page=1&page_size=2');
  const p2 = await auditor.get('/api/v1/audit?page=2&page_size=2');
  assert.equal(p1.body.items.length, 2);
  assert.notEqual(p1.body.items[0].id, p2.body.items[0].id);

  // SQL metacharacters are values, not SQL
  const meta = await auditor.get(`/api/v1/audit?username=${encodeURIComponent("x' OR '1'='1")}`);
  assert.equal(meta.status, 200);
  assert.equal(meta.body.total, 0);
  const metaPrefix = await auditor.get(`/api/v1/audit?action=${encodeURIComponent('%*')}`);
  assert.equal(metaPrefix.body.total, 0);
});

test('bad filters are refused naming the parameter', async () => {
  const cases = [
    ['user_id=abc', 'user_id'],
    ['user_id=-1', 'user_id'],
    ['object_id=1.5', 'object_id'],
    ['from=yesterday', 'from'],
    ['to=-5', 'to'],
    [`from=2000&to=1000`, 'to'],
    ['page=0', 'page'],
    ['page_size=201', 'page_size'],
    ['format=xml', 'format'],
    [`action=${'a'.repeat(65)}`, 'action'],
    [`username=${encodeURIComponent('\u0001')}`, 'username'],
  ];
  for (const [q, field] of cases) {
    const r = await auditor.get(`/api/v1/audit?${q}`);
    assert.equal(r.status, 400, q);
    assert.equal(errOf(r).field, field, q);
    assert.match(errOf(r).message, /[\u4e00-\u9fff]/);
  }
});

test('reading the audit log is itself audited', async () => {
  await auditor.get('/api/v1/audit?action=role.create');
  const r = await auditor.get(`/api/v1/audit?action=audit.read&user_id=${ids.auditor}&page_size=200`);
  assert.ok(r.body.total >= 2);
  const e = r.body.items.find((x) => x.detail.includes('filters=action'));
  assert.ok(e, JSON.stringify(r.body.items.slice(0, 3)));
  assert.equal(e.username, 'auditor');
  assert.equal(e.role, 'audit_admin');
  assert.equal(e.object_type, 'audit');
  assert.match(e.detail, /^count=\d+ /);
});

test('CSV export', async () => {
  const r = await auditor.get('/api/v1/audit?format=csv&action=role.*');
  assert.equal(r.status, 200);
  assert.match(r.headers.get('content-type'), /^text\/csv/);
  assert.match(r.headers.get('content-disposition'), /^attachment; filename="audit.csv"/);
  const lines = r.text.replace(/^\ufeff/, '').trim().split('\r\n');
  assert.equal(lines[0], '编号,时间,用户编号,用户名,角色,来源地址,操作,对象类型,对象编号,结果,详情,节点,序号');
  assert.equal(lines.length, 4); // header, role.create, role.update ok and refused
  assert.ok(lines.some((l) => l.includes(',role.create,role,') && l.includes(ids.role)));
  // times are shown in China time
  assert.match(lines[1].split(',')[1], /^\d{4}-\d\d-\d\d \d\d:\d\d:\d\d\.\d{3}$/);
  // the export is audited like a read
  const a = await auditor.get('/api/v1/audit?action=audit.read&page_size=200');
  assert.ok(a.body.items.some((x) => x.detail.startsWith('format=csv')));
});

test('verify reports an intact chain', async () => {
  const r = await auditor.get('/api/v1/audit/verify');
  assert.equal(r.status, 200);
  assert.equal(r.body.ok, true);
  assert.ok(r.body.checked > 10, String(r.body.checked));
  assert.equal(r.body.broken_id, null);
  assert.equal(r.body.reason, null);
  const v = await auditor.get('/api/v1/audit?action=audit.verify');
  assert.equal(v.body.total, 1);
});

const tamper = (sql) => sqlRun(ctx, sql);

test('an entry edited in the database is found by the CLI and the API', async () => {
  await ctx.stop();
  const intact = ctx.fk(['audit', 'verify']);
  assert.equal(intact.status, 0, intact.stderr);
  assert.match(intact.stdout, /^audit chain intact: \d+ entries checked/);

  tamper(`UPDATE audit_log SET detail = 'x' WHERE id = ${ids.entry}`);
  const broken = ctx.fk(['audit', 'verify']);
  assert.equal(broken.status, 1);
  assert.match(broken.stdout, new RegExp(`audit chain BROKEN at entry ${ids.entry} \\(node 0\\): .*edited`));
  assert.equal(ctx.fk(['audit', 'verify', '--bogus']).status, 2);

  await ctx.restart();
  // sessions live in the database: the auditor is still signed in
  const r = await auditor.get('/api/v1/audit/verify');
  assert.equal(r.status, 200);
  assert.equal(r.body.ok, false);
  assert.equal(r.body.broken_id, ids.entry);
  assert.equal(r.body.node, 0);
  assert.match(r.body.reason, /篡改/);
  // the log stays readable, showing the edited value
  const e = await auditor.get(`/api/v1/audit?object_type=role&object_id=${ids.role}&action=role.create`);
  assert.equal(e.body.items[0].detail, 'x');
});

// ---- an attacker who can write the database, but has not the key ----------

// checkpoints every second; pruning allowed up to now
const TAMPER_ENV = { FK_AUDIT_CHECKPOINT: '1', FK_AUDIT_RETENTION_DAYS: '0' };
// the columns an entry's hash covers, in the order of the canonical text
const COLS = 'id, node, seq, at, user_id, username, role, ip, action, object_type, object_id, result, detail';

// A stopped server whose log holds entries of the tools and of the server,
// all anchored (the server writes a last checkpoint when it stops).
async function loggedServer() {
  const t = await startServer({
    env: TAMPER_ENV,
    setup: (c) => {
      c.must(['import', 'regions', writeTmp(c, 'city.csv', CITY_CSV)]);
      for (let i = 0; i < 5; i++) addUser(c, `clerk${i}`, 'grid_worker', '110101001001');
    },
  });
  // one failed sign-in per name: a second in a row from one address would be slowed down (429)
  try {
    for (let i = 0; i < 3; i++) {
      const r = await t.client().post('/api/v1/auth/login', { username: `clerk${i}`, password: 'wrong-password' });
      assert.equal(r.status, 401);
    }
  } finally {
    await t.stop(); // a failed check must not leave the server running (the file would never end)
  }
  return t;
}

// A copy of one loggedServer()'s data directory and database, for a test
// that edits the log and runs the CLI on it: the same log, the same keys and
// anchors, without a server's start, init, region import and five user adds
// per test (the copy is what startServer does from its template). The tests
// that start the server again (restart, a peer) take a loggedServer() of
// their own.
let logged;
async function loggedCopy() {
  logged ??= loggedServer();
  const src = await logged;
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'fk-api-'));
  fs.cpSync(src.dir, dir, { recursive: true });
  const env = { ...src.env, FK_DATA_DIR: dir };
  let dbUrl;
  if (src.dbUrl) {
    const name = 't_' + crypto.randomBytes(6).toString('hex');
    execFileSync('createdb', ['-S', 'FILE_COPY', '-T', new URL(src.dbUrl).pathname.slice(1), name], { stdio: 'inherit' });
    const u = new URL(src.dbUrl);
    u.pathname = '/' + name;
    env.FK_DB = dbUrl = u.href;
  }
  const fk = (args) => {
    try {
      return { status: 0, stdout: execFileSync(BIN, args, { env, encoding: 'utf8', stdio: ['pipe', 'pipe', 'pipe'] }), stderr: '' };
    } catch (e) {
      // as startServer's fk: a sanitizer's report fails the test (the SAN=1 pass)
      if (/(AddressSanitizer|LeakSanitizer|runtime error:)/.test(e.stderr || '')) throw new Error(`fangkong ${args.join(' ')}: sanitizer report:\n${e.stderr}`);
      return { status: e.status, stdout: e.stdout || '', stderr: e.stderr || '' };
    }
  };
  return { dir, env, dbUrl, fk };
}

const sqlOn = (t, sql) => sqlRun(t, sql, '\x1f');

function rowsOn(t, sql) {
  const out = sqlOn(t, sql).trim();
  return out ? out.split('\n').map((l) => l.split('\x1f')) : [];
}

const hexOf = (t, col) => (t.dbUrl ? `encode(${col}, 'hex')` : `lower(hex(${col}))`);
const blob = (t, hex) => (t.dbUrl ? `decode('${hex}', 'hex')` : `X'${hex}'`);

// Point the recorded head at the chain's last entry, as a careful attacker
// would after removing entries.
function moveHead(t, node = 0) {
  const [last] = rowsOn(t, `SELECT seq, ${hexOf(t, 'hash')} FROM audit_log WHERE node = ${node} ORDER BY seq DESC LIMIT 1`);
  const value = last ? `${last[0]}:${last[1]}` : '0:';
  sqlOn(t, `UPDATE settings SET value = '${value}' WHERE key = 'audit_head:${node}'`);
}

function verifyFails(t, code, words) {
  const v = t.fk(['audit', 'verify']);
  assert.equal(v.status, 1, v.stdout + v.stderr);
  assert.match(v.stdout, new RegExp(`^audit chain BROKEN .*\\[${code}\\]`), v.stdout);
  assert.match(v.stdout, words, v.stdout);
  return v.stdout;
}

function seqCount(t, node = 0) {
  return Number(rowsOn(t, `SELECT COUNT(*) FROM audit_log WHERE node = ${node}`)[0][0]);
}

test('an untouched log verifies against its signed checkpoints; the anchor file is 0600', async () => {
  const t = await loggedCopy();
  const v = t.fk(['audit', 'verify']);
  assert.equal(v.status, 0, v.stdout + v.stderr);
  const m = v.stdout.match(/^audit chain intact: (\d+) entries checked, (\d+) signed checkpoints matched/);
  assert.ok(m, v.stdout);
  assert.ok(Number(m[1]) >= 9, v.stdout);
  assert.ok(Number(m[2]) >= 2, v.stdout);
  const file = path.join(t.dir, 'keys', 'audit-anchors.log');
  // the mode the server gave it (the original's, not the copy's)
  assert.equal(fs.statSync(path.join((await logged).dir, 'keys', 'audit-anchors.log')).mode & 0o777, 0o600);
  const lines = fs.readFileSync(file, 'utf8').trim().split('\n');
  assert.ok(lines.every((l) => /^checkpoint node=0 seq=\d+ hash=[0-9a-f]{64} count=\d+ at=\d+ mac=[0-9a-f]{64}$/.test(l)), lines.join('\n'));
  // a forged checkpoint line (no key) is itself a finding
  fs.appendFileSync(file, lines.at(-1).replace(/seq=\d+/, 'seq=999999') + '\n');
  verifyFails(t, 'anchor_file', /anchor file edited/);
});

test('a cut tail is found even with the recorded head moved', async () => {
  const t = await loggedCopy();
  const before = seqCount(t);
  sqlOn(t, `DELETE FROM audit_log WHERE node = 0 AND seq > ${before - 3}`);
  moveHead(t);
  verifyFails(t, 'tail_cut', /newest entries removed/);
});

test('the oldest entries deleted without a retention marker are found', async () => {
  const t = await loggedCopy();
  sqlOn(t, 'DELETE FROM audit_log WHERE node = 0 AND seq <= 2');
  verifyFails(t, 'oldest_removed', /without a retention marker/);
});

test('a wiped log is found', async () => {
  const t = await loggedCopy();
  sqlOn(t, "DELETE FROM audit_log; DELETE FROM settings WHERE key LIKE 'audit_head:%'");
  verifyFails(t, 'wiped', /no entries but a signed checkpoint/);
});

// The attack the unkeyed SM3 chain allowed: rewrite an entry, then
// recompute every hash after it and the recorded head.
test('an entry rewritten with the chain recomputed is found', async () => {
  const t = await loggedCopy();
  const rows = rowsOn(t, `SELECT ${COLS}, ${hexOf(t, 'prev_hash')} FROM audit_log WHERE node = 0 ORDER BY seq`);
  assert.ok(rows.length >= 5);
  const target = 2; // the third entry
  rows[target][12] = 'forged';
  rehash(t, rows, target);
  moveHead(t);
  const out = verifyFails(t, 'edited', /does not match its keyed hash/);
  assert.match(out, new RegExp(`at entry ${rows[target][0]} `));
});

// Recompute the plain SM3 chain of node 0 from the entry at index `from`
// of `rows` (as the unkeyed chain allowed), writing the rows' fields back.
function rehash(t, rows, from) {
  let prev = Buffer.from(rows[from][13], 'hex');
  for (let i = from; i < rows.length; i++) {
    const text = rows[i].slice(0, 13).join('\x1f');
    const hash = crypto.createHash('sm3').update(Buffer.concat([prev, Buffer.from(text, 'utf8')])).digest();
    sqlOn(t, `UPDATE audit_log SET seq = ${rows[i][2]}, detail = '${rows[i][12]}', prev_hash = ${blob(t, prev.toString('hex'))}, hash = ${blob(t, hash.toString('hex'))} WHERE id = ${rows[i][0]}`);
    prev = hash;
    if (i + 1 < rows.length) rows[i + 1][13] = prev.toString('hex');
  }
}


test('a middle deletion with renumbering is found, with or without the hashes recomputed', async () => {
  for (const recompute of [false, true]) {
    const t = await loggedCopy();
    const rows = rowsOn(t, `SELECT ${COLS}, ${hexOf(t, 'prev_hash')} FROM audit_log WHERE node = 0 ORDER BY seq`).map((r) => [...r, rowsOn(t, `SELECT ${hexOf(t, 'hash')} FROM audit_log WHERE id = ${r[0]}`)[0][0]]);
    const victim = rows.splice(3, 1)[0]; // the fourth entry
    sqlOn(t, `DELETE FROM audit_log WHERE id = ${victim[0]}`);
    // two steps, so that no two entries share a number on the way
    sqlOn(t, 'UPDATE audit_log SET seq = -(seq - 1) WHERE node = 0 AND seq > 4');
    sqlOn(t, 'UPDATE audit_log SET seq = -seq WHERE node = 0 AND seq < 0');
    if (recompute) {
      for (let i = 3; i < rows.length; i++) rows[i][2] = String(i + 1);
      rows[3][13] = rows[2][14]; // linked to the entry before the hole
      rehash(t, rows, 3);
    }
    moveHead(t);
    const out = verifyFails(t, 'renumbered', /entries deleted in the middle and the rest renumbered/);
    assert.match(out, /1 entries shorter than its signed checkpoint/, out);
  }
});

test("each node's chain is anchored: a cut of node 7's tail names node 7", async () => {
  const t = await loggedServer();
  await t.restart();
  const peer = await startPeer(t, TAMPER_ENV);
  try {
    // one failed sign-in per name (a second in a row would be slowed down)
    for (let i = 0; i < 4; i++) {
      const r = await peer.client().post('/api/v1/auth/login', { username: `clerk${i + 1}`, password: 'wrong-password' });
      assert.equal(r.status, 401);
    }
  } finally {
    await peer.stop();
    await t.stop();
  }
  assert.ok(seqCount(t, 7) >= 4);
  const intact = t.fk(['audit', 'verify']);
  assert.equal(intact.status, 0, intact.stdout);
  const lines = fs.readFileSync(path.join(t.dir, 'keys', 'audit-anchors.log'), 'utf8');
  assert.match(lines, /^checkpoint node=7 /m);
  sqlOn(t, `DELETE FROM audit_log WHERE node = 7 AND seq = ${seqCount(t, 7)}`);
  moveHead(t, 7);
  const out = verifyFails(t, 'tail_cut', /newest entries removed/);
  assert.match(out, /\(node 7\)/);
});

// China time, as `audit prune --before` reads it
function chinaTime(ms) {
  return new Date(ms + 8 * 3600 * 1000).toISOString().slice(0, 19).replace('T', ' ');
}

test('a log pruned with audit prune verifies, and is told apart from deletion', async () => {
  const t = await loggedServer();
  const total = seqCount(t);
  await sleep(1100);
  const cutoff = chinaTime(Date.now());
  // bad input changes nothing
  assert.equal(t.fk(['audit', 'prune', '--before', '2026-02-30']).status, 2);
  assert.equal(t.fk(['audit', 'prune']).status, 2);
  const tooNew = t.fk(['audit', 'prune', '--before', '2999-01-01']);
  assert.equal(tooNew.status, 2);
  assert.match(tooNew.stderr, /至少保留/);
  assert.equal(seqCount(t), total);

  const p = t.fk(['audit', 'prune', '--before', cutoff]);
  assert.equal(p.status, 0, p.stderr);
  assert.match(p.stdout, new RegExp(`^pruned ${total} audit entries`));
  // what is left: the prune's own entry, after the marker
  const left = rowsOn(t, "SELECT seq, action, detail FROM audit_log WHERE node = 0");
  assert.deepEqual(left.map((r) => [r[0], r[1]]), [[String(total + 1), 'audit.prune']]);
  assert.equal(rowsOn(t, 'SELECT COUNT(*) FROM audit_marker')[0][0], '1');
  assert.match(fs.readFileSync(path.join(t.dir, 'keys', 'audit-anchors.log'), 'utf8'), new RegExp(`^marker node=0 seq=${total} `, 'm'));
  const v = t.fk(['audit', 'verify']);
  assert.equal(v.status, 0, v.stdout);
  assert.match(v.stdout, new RegExp(`, ${total} entries pruned under signed retention markers`));

  // the server goes on from the marker, and the API agrees
  await t.restart();
  for (let i = 0; i < 2; i++) await t.client().post('/api/v1/auth/login', { username: 'clerk0', password: 'wrong-password' });
  await t.stop();
  assert.equal(t.fk(['audit', 'verify']).status, 0);

  // a forged marker (no key) excuses nothing
  sqlOn(t, `UPDATE audit_marker SET seq = seq + 1`);
  verifyFails(t, 'marker', /forged marker/);
});

// ---- rotating the audit key after a suspected leak (docs/audit.md) --------

const refusal = (r, status) => {
  assert.equal(r.status, status, JSON.stringify(r.body));
  return r.body.error;
};

// A running server with a security and an audit administrator, pruning
// allowed up to now, checkpoints every second.
async function keyServer() {
  const secrets = {};
  const t = await startServer({
    env: TAMPER_ENV,
    setup: (c) => {
      c.must(['import', 'regions', writeTmp(c, 'city.csv', CITY_CSV)]);
      secrets.sec = addUser(c, 'secadmin', 'security_admin');
      secrets.aud = addUser(c, 'auditor', 'audit_admin');
      for (let i = 0; i < 6; i++) addUser(c, `clerk${i}`, 'grid_worker', '110101001001');
    },
  });
  t.sec = t.client();
  await t.sec.login('secadmin', PW, secrets.sec);
  t.aud = t.client();
  await t.aud.login('auditor', PW, secrets.aud);
  return t;
}

// one refused sign-in per name: entries in the chain (a second in a row would be slowed down)
async function someEntries(t, names) {
  for (const n of names) {
    const r = await t.client().post('/api/v1/auth/login', { username: n, password: 'wrong-password' });
    assert.equal(r.status, 401);
  }
}

function segmentsOf(stdout) {
  return [...stdout.matchAll(/^segment node (\d+) audit key (\d+): seq (\d+)-(\d+|end), (\d+) entries, (\d+) pruned: (\w+)$/gm)]
    .map((m) => ({ node: Number(m[1]), key: Number(m[2]), first: Number(m[3]), last: m[4], entries: Number(m[5]), purged: Number(m[6]), state: m[7] }));
}

test('a new audit key: every chain continues under it, each segment verifies under its key, and tampering in either is named', async () => {
  const t = await keyServer();
  let peer;
  try {
    peer = await startPeer(t, TAMPER_ENV);
    await someEntries(t, ['clerk0', 'clerk1']);
    await someEntries(peer, ['clerk2']);
    // bad input and the wrong role change nothing
    assert.equal(refusal(await t.sec.post('/api/v1/security/keys/audit-rotations', { confirm: false }), 400).code, 'confirm_required');
    assert.equal((await t.aud.post('/api/v1/security/keys/audit-rotations', { confirm: true })).status, 403);
    assert.equal((await t.sec.get('/api/v1/security/keys')).body.audit_current, 1);

    const r = await t.sec.post('/api/v1/security/keys/audit-rotations', { confirm: true });
    assert.equal(r.status, 201, JSON.stringify(r.body));
    assert.deepEqual(r.body, { from_version: 1, to_version: 2, chains: 2 });
    const keys = (await t.sec.get('/api/v1/security/keys')).body;
    assert.equal(keys.audit_current, 2);
    assert.deepEqual(keys.audit_versions.map((v) => [v.version, v.current, v.held, v.destroyed_at]), [[2, true, true, null], [1, false, true, null]]);
    assert.match(fs.readFileSync(path.join(t.dir, 'keys', 'master.key'), 'utf8'), /^audit-key 2 [0-9a-f]{64}$/m);

    // both servers go on writing, the peer under the key it re-reads from the shared file
    await someEntries(t, ['clerk3']);
    await someEntries(peer, ['clerk4']);
    const v = await t.aud.get('/api/v1/audit/verify');
    assert.equal(v.body.ok, true, JSON.stringify(v.body));
    const segs = v.body.segments.map((g) => [g.node, g.key_version, g.state]);
    assert.deepEqual(segs, [[0, 1, 'verified'], [0, 2, 'verified'], [7, 1, 'verified'], [7, 2, 'verified']]);
    for (const g of v.body.segments) assert.ok(g.entries > 0, JSON.stringify(g));
    // the switch entries, under both keys, and the administrator's own entry
    const sw = (await t.aud.get('/api/v1/audit?action=audit.key_switch')).body.items;
    assert.equal(sw.length, 2);
    for (const e of sw) assert.match(e.detail, /^from_version=1 to_version=2 head_seq=\d+ old_tag=[0-9a-f]{64}$/);
    assert.equal((await t.aud.get('/api/v1/audit?action=audit.key_rotate')).body.items[0].username, 'secadmin');
  } finally {
    await peer?.stop();
    await t.stop();
  }
  const ok = t.fk(['audit', 'verify']);
  assert.equal(ok.status, 0, ok.stdout + ok.stderr);
  const segs = segmentsOf(ok.stdout);
  assert.deepEqual(segs.map((g) => [g.node, g.key, g.state]), [[0, 1, 'verified'], [0, 2, 'verified'], [7, 1, 'verified'], [7, 2, 'verified']]);
  const switchSeq = segs[1].first;

  // an entry of the old segment edited, then one of the new segment
  for (const [where, cond] of [['old', `seq < ${switchSeq}`], ['new', `seq > ${switchSeq}`]]) {
    const [[id, detail]] = rowsOn(t, `SELECT id, detail FROM audit_log WHERE node = 0 AND ${cond} ORDER BY seq LIMIT 1`);
    sqlOn(t, `UPDATE audit_log SET detail = 'forged' WHERE id = ${id}`);
    const out = verifyFails(t, 'edited', /does not match its keyed hash/);
    assert.match(out, new RegExp(`at entry ${id} \\(node 0\\)`), out);
    const states = segmentsOf(out).filter((g) => g.node === 0).map((g) => g.state);
    assert.deepEqual(states, where === 'old' ? ['broken', 'unchecked'] : ['verified', 'broken'], `${where}: ${out}`);
    sqlOn(t, `UPDATE audit_log SET detail = '${detail}' WHERE id = ${id}`);
    assert.equal(t.fk(['audit', 'verify']).status, 0, where);
  }
  // the segment rows removed, to pass the new segment off as the old key's: its entries
  // do not verify under the old key
  sqlOn(t, `DELETE FROM audit_segments WHERE node = 0`);
  verifyFails(t, 'edited', /does not match its keyed hash/);
});

test('an old audit key is destroyed only once its segment passed retention; verification then reports it purged', async () => {
  const t = await keyServer();
  try {
    await someEntries(t, ['clerk0']);
    assert.equal((await t.sec.post('/api/v1/security/keys/audit-rotations', { confirm: true })).body.to_version, 2);
    await someEntries(t, ['clerk1']);
    await sleep(1500); // a checkpoint signed with version 2's anchor key
    assert.equal((await t.sec.post('/api/v1/security/keys/audit-rotations', { confirm: true })).body.to_version, 3);
    await someEntries(t, ['clerk2']);
    const destroy = (v, confirm = v) => t.sec.post(`/api/v1/security/keys/audit-versions/${v}/destroy`, { confirm_version: confirm });
    assert.equal(refusal(await destroy(2, 3), 400).code, 'confirm_mismatch');
    assert.equal(refusal(await destroy(3), 409).code, 'audit_key_current');
    assert.equal(refusal(await destroy(9), 404).code, 'audit_key_unknown');
    // version 1 comes from the master key: it goes with the master (docs/keys.md)
    assert.equal(refusal(await destroy(1), 409).code, 'audit_key_in_master');
    const early = refusal(await destroy(2), 409);
    assert.equal(early.code, 'audit_key_not_purged');
    assert.match(early.message, /保留期/);
    assert.match(fs.readFileSync(path.join(t.dir, 'keys', 'master.key'), 'utf8'), /^audit-key 2 /m);
    const refused = (await t.aud.get('/api/v1/audit?action=audit.key_destroy')).body.items;
    assert.ok(refused.some((e) => e.result === 'audit_key_not_purged'), JSON.stringify(refused));
  } finally {
    await t.stop();
  }
  // retention passes (FK_AUDIT_RETENTION_DAYS=0 here): everything before now is pruned
  await sleep(1100);
  const p = t.fk(['audit', 'prune', '--before', chinaTime(Date.now())]);
  assert.equal(p.status, 0, p.stderr);
  await t.restart();
  try {
    const r = await t.sec.post('/api/v1/security/keys/audit-versions/2/destroy', { confirm_version: 2 });
    assert.equal(r.status, 200, JSON.stringify(r.body));
    assert.doesNotMatch(fs.readFileSync(path.join(t.dir, 'keys', 'master.key'), 'utf8'), /^audit-key 2 /m);
    const again = refusal(await t.sec.post('/api/v1/security/keys/audit-versions/2/destroy', { confirm_version: 2 }), 409);
    assert.equal(again.code, 'audit_key_destroyed');
    const keys = (await t.sec.get('/api/v1/security/keys')).body.audit_versions;
    const v2 = keys.find((k) => k.version === 2);
    assert.equal(v2.held, false);
    assert.ok(v2.destroyed_at > 0);
    await someEntries(t, ['clerk3']);
    const v = await t.aud.get('/api/v1/audit/verify');
    assert.equal(v.body.ok, true, JSON.stringify(v.body));
    const seg2 = v.body.segments.find((g) => g.node === 0 && g.key_version === 2);
    assert.equal(seg2.state, 'purged');
    assert.equal(seg2.entries, 0);
    assert.ok(seg2.purged > 0);
    assert.ok(v.body.skipped_anchors > 0, 'checkpoints signed under version 2 are skipped, not a break');
  } finally {
    await t.stop();
  }
  const cli = t.fk(['audit', 'verify']);
  assert.equal(cli.status, 0, cli.stdout);
  assert.match(cli.stdout, /^segment node 0 audit key 2: seq \d+-\d+, 0 entries, \d+ pruned: purged$/m);
});
