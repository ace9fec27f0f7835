// A request never stalls an event loop behind another writer for long:
// while something else holds the database's write lock (another process on
// the SQLite file, a table lock on PostgreSQL), a write waits
// FK_WRITE_WAIT_MS and answers 503 database_busy, changing nothing; once
// the lock is gone the same write succeeds.
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import path from 'node:path';
import { startServer, CITY_CSV, writeTmp, onPostgres, sleep } from './lib.mjs';

const PW = 'Passw0rd!busy';
let ctx;
let admin;

before(async () => {
  ctx = await startServer({
    env: { FK_WRITE_WAIT_MS: '150' },
    setup: (c) => {
      c.must(['import', 'regions', writeTmp(c, 'city.csv', CITY_CSV)]);
      c.must(['user', 'add', '--username', 'ccbusy', '--password', PW, '--role', 'command_center', '--region', '110101000000']);
    },
  });
  admin = ctx.client();
  await admin.login('ccbusy', PW);
});

after(async () => {
  await ctx?.stop();
});

// Hold the write lock from another process until release() is called.
async function holdLock() {
  const proc = onPostgres
    ? spawn('psql', ['-X', '-q', '-v', 'ON_ERROR_STOP=1', ctx.dbUrl], { stdio: ['pipe', 'pipe', 'pipe'] })
    : spawn('sqlite3', [path.join(ctx.dir, 'fangkong.db')], { stdio: ['pipe', 'pipe', 'pipe'] });
  let out = '';
  proc.stdout.on('data', (d) => { out += d; });
  proc.stderr.on('data', (d) => { out += d; });
  proc.stdin.write(onPostgres
    ? 'BEGIN; LOCK TABLE venues IN ACCESS EXCLUSIVE MODE; SELECT \'held\';\n'
    : "BEGIN IMMEDIATE; SELECT 'held';\n");
  for (let i = 0; i < 100 && !out.includes('held'); i++) await sleep(50);
  assert.ok(out.includes('held'), out);
  return async () => {
    const done = new Promise((r) => proc.on('exit', r));
    proc.stdin.end('ROLLBACK;\n');
    await done;
  };
}

async function venueCount() {
  const r = await admin.get('/api/v1/venues?page_size=1');
  assert.equal(r.status, 200, r.text);
  return r.body.total;
}

test('a write behind another writer answers 503 database_busy within the wait, then succeeds', async () => {
  const place = await admin.post('/api/v1/places', { name: '忙碌测试小区', kind: 'community', region_code: '110101001001' });
  assert.equal(place.status, 201, place.text);
  const body = { name: '忙碌测试门', kind: 'community_gate', place_id: place.body.id };
  const before = await venueCount();
  const release = await holdLock();
  let r;
  const t0 = Date.now();
  try {
    r = await admin.post('/api/v1/venues', body);
  } finally {
    await release();
  }
  const took = Date.now() - t0;
  assert.equal(r.status, 503, r.text);
  assert.equal(r.body.error.code, 'database_busy');
  assert.match(r.body.error.message, /繁忙/);
  assert.ok(took < 5000, `waited ${took} ms`);
  assert.equal(await venueCount(), before);
  r = await admin.post('/api/v1/venues', body);
  assert.equal(r.status, 201, r.text);
  assert.equal(await venueCount(), before + 1);
});
