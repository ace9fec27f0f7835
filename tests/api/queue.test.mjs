// Every writer queue has a cap (issue 8, "every queue and table has a
// cap"): with a writer stalled behind another process's lock, a scan beyond
// FK_SCAN_QUEUE and a read of personal data whose audit entry is beyond
// FK_AUDIT_QUEUE answer 503 queue_full and leave nothing behind: no access
// record, no audit entry, no personal data in the reply. Once the lock is
// gone the same requests succeed.
import { test, after } from 'node:test';
import assert from 'node:assert/strict';
import { spawn, spawnSync } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { startServer, CITY_CSV, writeTmp, onPostgres, sleep, residentId, smsCode, totpSecretFrom, waitForAudit, sqlRun, BIN } from './lib.mjs';

const PW = 'Queue-test-2024!';
const COMMUNITY = '110101001001';
const servers = [];

after(async () => {
  for (const s of servers) await s.stop();
});

async function start(env) {
  let secret;
  const ctx = await startServer({
    env,
    setup: (c) => {
      c.must(['import', 'regions', writeTmp(c, 'city.csv', CITY_CSV)]);
      c.must(['user', 'add', '--username', 'ccq', '--password', PW, '--role', 'command_center', '--region', '110101000000']);
      secret = totpSecretFrom(c.must(['user', 'add', '--username', 'auditq', '--password', PW, '--role', 'audit_admin', '--region', '110100000000']));
    },
  });
  servers.push(ctx);
  const cc = ctx.client();
  await cc.login('ccq', PW);
  const auditor = ctx.client();
  await auditor.login('auditq', PW, secret);
  return { ctx, cc, auditor };
}

// Hold a lock that stalls the writer of `table` from another process,
// until release() is called. SQLite: the write lock itself; PostgreSQL:
// the table in EXCLUSIVE mode (reads go on, writes wait).
async function holdLock(ctx, table) {
  const proc = onPostgres
    ? spawn('psql', ['-X', '-q', '-v', 'ON_ERROR_STOP=1', ctx.dbUrl], { stdio: ['pipe', 'pipe', 'pipe'] })
    : spawn('sqlite3', [path.join(ctx.dir, 'fangkong.db')], { stdio: ['pipe', 'pipe', 'pipe'] });
  let out = '';
  proc.stdout.on('data', (d) => { out += d; });
  proc.stderr.on('data', (d) => { out += d; });
  proc.stdin.write(onPostgres
    ? `BEGIN; LOCK TABLE ${table} IN EXCLUSIVE MODE; SELECT 'held';\n`
    : "BEGIN IMMEDIATE; SELECT 'held';\n");
  for (let i = 0; i < 100 && !out.includes('held'); i++) await sleep(50);
  assert.ok(out.includes('held'), out);
  return async () => {
    const done = new Promise((r) => proc.on('exit', r));
    proc.stdin.end('ROLLBACK;\n');
    await done;
  };
}

test('a read whose audit entry finds the audit queue full answers 503 queue_full and is not served', async () => {
  const { cc, auditor } = await start({ FK_AUDIT_QUEUE: '1' });
  const p = await cc.post('/api/v1/persons', { name: '排队测试', id_number: residentId('110101', '19800101', 702), region_code: COMMUNITY });
  assert.equal(p.status, 201, p.text);
  await sleep(300); // the sign-in's entries are written: the queue is empty
  const release = await holdLock(servers.at(-1), 'audit_log');
  let first, second;
  try {
    first = await cc.get(`/api/v1/persons/${p.body.id}`); // its entry waits in the queue
    second = await cc.get(`/api/v1/persons/${p.body.id}`); // no room for its entry
  } finally {
    await release();
  }
  assert.equal(first.status, 200, first.text);
  assert.equal(second.status, 503, second.text);
  assert.equal(second.body.error.code, 'queue_full');
  assert.match(second.body.error.message, /繁忙/);
  assert.deepEqual(Object.keys(second.body), ['error']); // nothing of the person
  // room again once the writer has caught up
  let third;
  for (let i = 0; i < 40; i++) {
    third = await cc.get(`/api/v1/persons/${p.body.id}`);
    if (third.status === 200) break;
    await sleep(100);
  }
  assert.equal(third.status, 200, third.text);
  // exactly the served reads are in the log (a positive control: the entries do land)
  const reads = (x) => x.action === 'person.read' && x.object_id === p.body.id;
  const query = `action=person.read&object_id=${p.body.id}`;
  // polled for 3 s: long enough for every queued entry to land
  const all = await waitForAudit(auditor, query, () => false);
  assert.equal(all.filter(reads).length, 2, JSON.stringify(all));
});

async function resident(ctx, cc, phone) {
  const c = ctx.client();
  await c.post('/api/v1/auth/sms/send', { phone });
  const r0 = await c.post('/api/v1/auth/sms/login', { phone, code: smsCode(ctx, phone) });
  assert.equal(r0.status, 200, r0.text);
  await c.post('/api/v1/me/consent', { version: 'v1' });
  const r = await c.post('/api/v1/me/person', { name: '扫码排队', id_number: residentId('110101', '19850505', 704), region_code: COMMUNITY, address: '多福巷1号' });
  assert.equal(r.status, 201, r.text);
  const v = await cc.post(`/api/v1/persons/${r.body.person.id}/verify`, { document_checked: true });
  assert.equal(v.status, 200, v.text);
  return c;
}

test('a scan beyond the scan queue answers 503 queue_full and writes no record', async () => {
  // the database path (FK_ACCESS_JOURNAL=0): holding the table's write lock
  // stalls its writer; the journal's writer never waits on that lock
  const { ctx, cc } = await start({ FK_SCAN_QUEUE: '1', FK_ACCESS_JOURNAL: '0' });
  const place = await cc.post('/api/v1/places', { name: '排队小区', kind: 'community', region_code: COMMUNITY });
  assert.equal(place.status, 201, place.text);
  const venue = await cc.post('/api/v1/venues', { name: '排队市场', kind: 'market', place_id: place.body.id });
  assert.equal(venue.status, 201, venue.text);
  const vtoken = (await cc.get(`/api/v1/venues/${venue.body.id}/code`)).body.token;
  const res = await resident(ctx, cc, '13800000702');
  const records = async () => {
    const r = await cc.get(`/api/v1/access-records?venue_id=${venue.body.id}`);
    assert.equal(r.status, 200, r.text);
    return r.body.total;
  };
  await sleep(300);
  const release = await holdLock(ctx, 'access_records');
  let first, second;
  try {
    first = res.post('/api/v1/me/scans', { venue_token: vtoken, direction: 'in' }); // waits for the writer
    await sleep(300);
    second = await res.post('/api/v1/me/scans', { venue_token: vtoken, direction: 'in' });
  } finally {
    await release();
  }
  first = await first;
  assert.equal(first.status, 201, first.text);
  assert.equal(second.status, 503, second.text);
  assert.equal(second.body.error.code, 'queue_full');
  assert.match(second.body.error.message, /繁忙/);
  assert.equal(await records(), 1);
  const m = /fangkong_scan_refused_total\{reason="queue_full"\} (\d+)/.exec(await (await fetch(ctx.url + '/metrics')).text());
  assert.equal(m && Number(m[1]), 1);
  const third = await res.post('/api/v1/me/scans', { venue_token: vtoken, direction: 'in' });
  assert.equal(third.status, 201, third.text);
  assert.equal(await records(), 2);
});

test('on the access journal a scan beyond the scan queue answers 503 queue_full, half-writes nothing, and the bound holds again after', async (t) => {
  if (onPostgres) return t.skip('SQLite only: PostgreSQL has no access journal (the group-commit path is the test above)');
  // FK_TEST_JOURNAL_STALL (test suites only, journal.h): while the file exists
  // the journal's writer holds its batch, so the queue fills at a known count
  const stall = path.join(os.tmpdir(), `fk-journal-stall-${process.pid}-${Date.now()}`);
  const { ctx, cc } = await start({ FK_SCAN_QUEUE: '2', FK_TEST_JOURNAL_STALL: stall });
  const place = await cc.post('/api/v1/places', { name: '日志小区', kind: 'community', region_code: COMMUNITY });
  assert.equal(place.status, 201, place.text);
  const venue = await cc.post('/api/v1/venues', { name: '日志市场', kind: 'market', place_id: place.body.id });
  assert.equal(venue.status, 201, venue.text);
  const res = await resident(ctx, cc, '13800000703');
  const token = (await res.get('/api/v1/me/code/token')).body.token;
  const scan = () => cc.post('/api/v1/scans', { venue_id: venue.body.id, token, direction: 'in' });
  const metric = async (re) => {
    const m = re.exec(await (await fetch(ctx.url + '/metrics')).text());
    return m ? Number(m[1]) : 0;
  };
  const depth = () => metric(/fangkong_writer_queue_depth\{writer="access"\} (\d+)/);
  const ok = () => Number(sqlRun(ctx, "SELECT count(*) FROM audit_log WHERE action = 'access.scan' AND result = 'ok'"));
  const records = async () => {
    const r = await cc.get(`/api/v1/access-records?venue_id=${venue.body.id}`);
    assert.equal(r.status, 200, r.text);
    return r.body.total;
  };
  // a journalled scan at all: green code, no temperature, no alert
  const first = await scan();
  assert.equal(first.status, 201, first.text);
  assert.equal(first.body.verdict, 'pass');
  assert.ok(fs.readdirSync(path.join(ctx.dir, 'access-journal')).some((f) => f.endsWith('.log')));
  assert.equal(await records(), 1);
  const audited = ok();
  for (const round of [1, 2]) {
    fs.writeFileSync(stall, '');
    let held;
    try {
      held = [scan(), scan()]; // one in the writer's stalled batch, one queued
      let d = 0;
      for (let i = 0; i < 100 && (d = await depth()) < 2; i++) await sleep(30);
      assert.equal(d, 2, 'the two scans fill the queue');
      const third = await scan();
      assert.equal(third.status, 503, third.text);
      assert.equal(third.body.error.code, 'queue_full');
      assert.match(third.body.error.message, /繁忙/);
      assert.deepEqual(Object.keys(third.body), ['error']);
      assert.equal(await metric(/fangkong_scan_refused_total\{reason="queue_full"\} (\d+)/), round);
    } finally {
      fs.rmSync(stall, { force: true });
    }
    const done = await Promise.all(held);
    for (const r of done) assert.equal(r.status, 201, r.text);
    // the refused scan left nothing: exactly the acknowledged records, each with one audit entry
    assert.equal(await records(), 1 + 2 * round);
    assert.equal(ok(), audited + 2 * round);
    let d = -1;
    for (let i = 0; i < 100 && (d = await depth()) !== 0; i++) await sleep(30);
    assert.equal(d, 0, 'the queue is empty again: the bound counts only what waits');
  }
  // room again: a scan after the stall is acknowledged at once
  const last = await scan();
  assert.equal(last.status, 201, last.text);
  assert.equal(await records(), 6);
});

test('FK_TEST_JOURNAL_STALL is refused outside the test suites', () => {
  // the test above is the positive control: with the test suites' password
  // cost the same setting starts a server; without it serve stops at once
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'fk-stall-'));
  const env = { ...process.env, FK_DATA_DIR: dir, FK_PORT: '18999', FK_TEST_JOURNAL_STALL: path.join(dir, 'stall') };
  for (const k of ['FK_DB', 'FK_PASSWORD_MEMORY_KIB', 'FK_PASSWORD_PASSES']) delete env[k];
  try {
    const r = spawnSync(BIN, ['serve'], { env, encoding: 'utf8', timeout: 20000 });
    assert.equal(r.status, 2, r.stderr);
    assert.match(r.stderr, /FK_TEST_JOURNAL_STALL/);
  } finally {
    fs.rmSync(dir, { recursive: true, force: true });
  }
});
