// Durability of the scan path: scans are sent in a loop while the server is
// killed with SIGKILL at random moments and restarted; every scan that got a
// 2xx reply must be in the database afterwards (checked through the API).
// Likewise for writes and their audit entries: every person created and
// acknowledged before a kill -9 has its person.create entry, committed in
// the same transaction as the record (not queued behind it).
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import path from 'node:path';
import { startServer, CITY_CSV, writeTmp, residentId, smsCode, sleep, sqlRun } from './lib.mjs';

const PW = 'Durable-test-2024!';
const COMMUNITY = '110101001001';
let ctx;

before(async () => {
  ctx = await startServer({
    setup: (c) => {
      c.must(['import', 'regions', writeTmp(c, 'city.csv', CITY_CSV)]);
      c.must(['user', 'add', '--username', 'cc_dc', '--password', PW, '--role', 'command_center', '--region', '110101000000']);
    },
  });
});

after(async () => {
  await ctx?.stop();
});

// Wait until count() has grown by n (at most 60 s: a server that acknowledges nothing fails the
// test's own count check afterwards).
async function progress(count, n) {
  const from = count(), until = Date.now() + 60_000;
  while (count() - from < n && Date.now() < until) await sleep(10);
}

test('every acknowledged scan survives kill -9', async () => {
  // sessions live in the database, so the same clients work after each restart
  const cc = ctx.client();
  await cc.login('cc_dc', PW);
  let r = await cc.post('/api/v1/places', { name: '多福巷小区', kind: 'community', region_code: COMMUNITY });
  r = await cc.post('/api/v1/venues', { name: '东门', kind: 'community_gate', place_id: r.body.id, allowed_colors: ['green', 'yellow', 'red'] });
  const venue = r.body;
  const res = ctx.client();
  const phone = '13700000001';
  await res.post('/api/v1/auth/sms/send', { phone });
  await res.post('/api/v1/auth/sms/login', { phone, code: smsCode(ctx, phone) });
  await res.post('/api/v1/me/consent', { version: 'v1' });
  r = await res.post('/api/v1/me/person', { name: '杨十', id_number: residentId('110101', '19800101', 501), region_code: COMMUNITY, address: '1号' });
  assert.equal(r.status, 201, r.text);
  const person = r.body.person.id;

  const acked = new Set();
  let sent = 0;
  for (let round = 0; round < 4; round++) {
    const token = (await res.get('/api/v1/me/code/token')).body.token;
    let stop = false;
    // 8 concurrent senders so batches hold several scans when the kill lands
    const senders = Array.from({ length: 8 }, async () => {
      while (!stop) {
        sent++;
        try {
          const x = await cc.post('/api/v1/scans', { venue_id: venue.id, token, direction: 'in' });
          if (x.status === 201) acked.add(x.body.record_id);
        } catch {
          await sleep(5);
        }
      }
    });
    // the kill lands while scans are in flight, once this round has some acknowledged (a
    // loaded machine is slow to start), at a random moment after that
    await progress(() => acked.size, 8);
    await sleep(Math.random() * 300);
    await ctx.stop('SIGKILL');
    stop = true;
    await Promise.all(senders);
    ctx.proc = null; // killed: nothing to stop
    await ctx.restart();
  }
  assert.ok(acked.size > 20, `only ${acked.size} scans acknowledged of ${sent}`);
  const stored = new Set();
  for (let page = 1; ; page++) {
    r = await cc.get(`/api/v1/access-records?person_id=${person}&page_size=200&page=${page}`);
    assert.equal(r.status, 200, r.text);
    for (const x of r.body.items) stored.add(x.id);
    if (r.body.items.length < 200) break;
  }
  const lost = [...acked].filter((id) => !stored.has(id));
  assert.deepEqual(lost, [], `${lost.length} acknowledged scans lost of ${acked.size}`);
});

function auditedObjects(action) {
  const sql = `SELECT object_id FROM audit_log WHERE action = '${action}' AND result = 'ok'`;
  const out = sqlRun(ctx, sql);
  return new Set(out.trim().split('\n').filter(Boolean));
}

test('every acknowledged write keeps its audit entry through kill -9', async () => {
  const cc = ctx.client();
  await cc.login('cc_dc', PW);
  const acked = [];
  let n = 0;
  for (let round = 0; round < 3; round++) {
    let stop = false;
    const senders = Array.from({ length: 4 }, async () => {
      while (!stop) {
        const seq = 600 + n++;
        try {
          const r = await cc.post('/api/v1/persons', { name: '审计' + seq, id_number: residentId('110101', '19750101', seq), region_code: COMMUNITY });
          if (r.status === 201) acked.push(r.body.id);
        } catch {
          await sleep(5);
        }
      }
    });
    await progress(() => acked.length, 4);
    await sleep(Math.random() * 300);
    await ctx.stop('SIGKILL');
    stop = true;
    await Promise.all(senders);
    ctx.proc = null; // killed: nothing to stop
    await ctx.restart();
  }
  assert.ok(acked.length > 10, `only ${acked.length} persons acknowledged`);
  const audited = auditedObjects('person.create');
  const missing = acked.filter((id) => !audited.has(String(id)));
  assert.deepEqual(missing, [], `${missing.length} acknowledged creates without their audit entry of ${acked.length}`);
  const v = ctx.fk(['audit', 'verify']);
  assert.equal(v.status, 0, v.stdout + v.stderr);
});
