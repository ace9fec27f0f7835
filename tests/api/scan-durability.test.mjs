// The access journal (issue 15, docs/access.md "The access journal"): on SQLite a scan is
// answered once its record is in the journal's fdatasync and indexed into access_records
// behind it. Every scan that got a 201 must be readable at once (the list, the person's
// itinerary, the entry limit), survive SIGKILL, and a torn record written by hand at the
// journal's end must be dropped at start-up while the whole records before it are indexed,
// with their audit entries. On PostgreSQL the journal is off (its WAL is the journal) and the
// kill test runs against the group-commit path.
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import fs from 'node:fs';
import path from 'node:path';
import { startServer, CITY_CSV, writeTmp, residentId, smsCode, sleep, sqlRun } from './lib.mjs';

const PW = 'Durable-scan-2024!';
const COMMUNITY = '110101001001';
let ctx, cc, res, venue, person, token;

before(async () => {
  ctx = await startServer({
    setup: (c) => {
      c.must(['import', 'regions', writeTmp(c, 'city.csv', CITY_CSV)]);
      c.must(['user', 'add', '--username', 'cc_scan', '--password', PW, '--role', 'command_center', '--region', '110101000000']);
    },
  });
  cc = ctx.client();
  await cc.login('cc_scan', PW);
  let r = await cc.post('/api/v1/places', { name: '槐树小区', kind: 'community', region_code: COMMUNITY });
  r = await cc.post('/api/v1/venues', { name: '槐树小区北门', kind: 'community_gate', place_id: r.body.id, allowed_colors: ['green', 'yellow', 'red'] });
  assert.equal(r.status, 201, r.text);
  venue = r.body;
  res = ctx.client();
  const phone = '13700000021';
  await res.post('/api/v1/auth/sms/send', { phone });
  await res.post('/api/v1/auth/sms/login', { phone, code: smsCode(ctx, phone) });
  await res.post('/api/v1/me/consent', { version: 'v1' });
  r = await res.post('/api/v1/me/person', { name: '柳十二', id_number: residentId('110101', '19820202', 521), region_code: COMMUNITY, address: '2号' });
  assert.equal(r.status, 201, r.text);
  person = r.body.person.id;
  token = (await res.get('/api/v1/me/code/token')).body.token;
});

after(async () => {
  await ctx?.stop();
});

const journalDir = () => path.join(ctx.dir, 'access-journal');
const segments = () => (fs.existsSync(journalDir()) ? fs.readdirSync(journalDir()).filter((f) => f.endsWith('.log')).sort() : []);

async function records() {
  const ids = [];
  for (let page = 1; ; page++) {
    const r = await cc.get(`/api/v1/access-records?person_id=${person}&page_size=200&page=${page}`);
    assert.equal(r.status, 200, r.text);
    ids.push(...r.body.items.map((x) => x.id));
    if (r.body.items.length < 200) break;
  }
  return ids;
}

test('a scan is journalled on SQLite and readable at once: the list, the itinerary, the audit log', async (t) => {
  const r = await cc.post('/api/v1/scans', { venue_id: venue.id, token, direction: 'in' });
  assert.equal(r.status, 201, r.text);
  assert.equal(r.body.verdict, 'pass');
  // read straight after the 201: the reader waits for the indexer (access_journal_sync)
  assert.ok((await records()).includes(r.body.record_id), 'the acknowledged scan is listed at once');
  const it = await cc.get(`/api/v1/persons/${person}/itinerary?days=1`);
  assert.equal(it.status, 200, it.text);
  assert.ok(it.body.passages.length >= 1, it.text);
  const audit = sqlRun(ctx, `SELECT action FROM audit_log WHERE object_id = ${r.body.record_id}`);
  assert.match(audit, /access\.scan/, 'the scan keeps its audit entry');
  if (ctx.dbUrl) {
    assert.equal(segments().length, 0, 'PostgreSQL: no journal');
    return t.skip('the journal is SQLite only: PostgreSQL keeps the group commit');
  }
  assert.ok(segments().length >= 1, 'the journal has a segment');
});

test('every acknowledged scan survives SIGKILL: listed, counted by the entry limit', async () => {
  const acked = new Set();
  let sent = 0;
  for (let round = 0; round < 2; round++) {
    let stop = false;
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
    const from = acked.size, until = Date.now() + 30_000;
    while (acked.size - from < 16 && Date.now() < until) await sleep(5);
    await sleep(Math.random() * 200);
    await ctx.stop('SIGKILL');
    stop = true;
    await Promise.all(senders);
    ctx.proc = null; // killed: nothing to stop
    await ctx.restart();
  }
  assert.ok(acked.size > 20, `only ${acked.size} scans acknowledged of ${sent}`);
  const stored = new Set(await records());
  const lost = [...acked].filter((id) => !stored.has(id));
  assert.deepEqual(lost, [], `${lost.length} acknowledged scans lost of ${acked.size}`);

  // the entry limit counts them all: with the limit at the passes stored the next is denied,
  // one more and it passes (a positive control of the same count)
  const passes = stored.size; // every scan here passed (no limit yet, every colour allowed)
  let r = await cc.patch(`/api/v1/venues/${venue.id}`, { limit_count: passes, limit_hours: 24 });
  assert.equal(r.status, 200, r.text);
  r = await cc.post('/api/v1/scans', { venue_id: venue.id, token, direction: 'in' });
  assert.equal(r.status, 201, r.text);
  assert.equal(r.body.verdict, 'deny', r.text);
  assert.ok(r.body.deny_reasons.some((x) => x.code === 'entry_limit'), r.text);
  r = await cc.patch(`/api/v1/venues/${venue.id}`, { limit_count: passes + 1, limit_hours: 24 });
  assert.equal(r.status, 200, r.text);
  r = await cc.post('/api/v1/scans', { venue_id: venue.id, token, direction: 'in' });
  assert.equal(r.body.verdict, 'pass', r.text);
  // straight after: the limit is reached by the scan just answered (still in the journal's tail)
  r = await cc.post('/api/v1/scans', { venue_id: venue.id, token, direction: 'in' });
  assert.equal(r.body.verdict, 'deny', r.text);
  r = await cc.patch(`/api/v1/venues/${venue.id}`, { limit_count: 0 });
  assert.equal(r.status, 200, r.text);
});

// CRC-32 (IEEE), as the journal's frames carry it
const CRC = Array.from({ length: 256 }, (_, n) => {
  let c = n;
  for (let k = 0; k < 8; k++) c = c & 1 ? 0xedb88320 ^ (c >>> 1) : c >>> 1;
  return c >>> 0;
});
function crc32(buf) {
  let c = 0xffffffff;
  for (const b of buf) c = CRC[(c ^ b) & 0xff] ^ (c >>> 8);
  return (c ^ 0xffffffff) >>> 0;
}

// One journal frame (src/access/journal.c): [u32 length][u32 CRC-32][payload], little-endian.
function frame(rec) {
  const parts = [Buffer.from([1])];
  const ints = Buffer.alloc(64);
  [rec.id, rec.venue_id, rec.region_code, rec.person_id, rec.at, rec.operator, 0n, rec.at].forEach((v, i) => ints.writeBigInt64LE(BigInt(v), i * 8));
  parts.push(ints);
  const temp = Buffer.alloc(8);
  temp.writeDoubleLE(-1);
  parts.push(temp, Buffer.from([1, 0, 1, 0, 1, 1])); // in, green, pass, no reason, staff_scan, audited
  const a = Buffer.alloc(16);
  a.writeBigInt64LE(BigInt(rec.operator), 0);
  a.writeBigInt64LE(BigInt(rec.id), 8);
  parts.push(a);
  for (const s of ['cc_scan', 'command_center', '127.0.0.1', 'access.scan', 'access_record', 'ok', 'view=masked']) {
    const b = Buffer.from(s);
    const l = Buffer.alloc(2);
    l.writeUInt16LE(b.length);
    parts.push(l, b);
  }
  const payload = Buffer.concat(parts);
  const hdr = Buffer.alloc(8);
  hdr.writeUInt32LE(payload.length, 0);
  hdr.writeUInt32LE(crc32(payload), 4);
  return Buffer.concat([hdr, payload]);
}

test('a torn last record is dropped at start-up; the whole records before it are indexed with their audit entries', async (t) => {
  if (ctx.dbUrl) return t.skip('the journal is SQLite only: PostgreSQL keeps the group commit');
  const before = await records();
  const me = (await cc.get('/api/v1/me')).body;
  const operator = me.user?.id ?? me.id;
  assert.ok(operator, JSON.stringify(me));
  await ctx.stop(); // a clean stop: everything indexed, an empty segment left
  const base = BigInt(before[0]) + 1000n;
  const region = String(venue.region_code ?? COMMUNITY).padEnd(18, '0'); // stored padded (base/regcode.h)
  const whole = [base, base + 1n].map((id) => frame({ id, venue_id: venue.id, region_code: region, person_id: person, at: Date.now(), operator }));
  const torn = frame({ id: base + 2n, venue_id: venue.id, region_code: region, person_id: person, at: Date.now(), operator }).subarray(0, 40);
  // a frame whose checksum is wrong, after the torn one: never reached, never indexed
  const seg = path.join(journalDir(), 'ffffffffffff0000.log');
  fs.writeFileSync(seg, Buffer.concat([...whole, torn]));
  await ctx.restart();
  assert.match(ctx.stderr, /access_journal_torn/, 'the torn tail is logged');
  assert.match(ctx.stderr, /access_journal_recovered/, 'the whole records were indexed');
  const after = new Set(await records());
  assert.ok(after.has(String(base)) && after.has(String(base + 1n)), 'the whole records are indexed');
  assert.ok(!after.has(String(base + 2n)), 'the torn record is not');
  assert.equal(after.size, before.length + 2);
  const audited = sqlRun(ctx, `SELECT COUNT(*) FROM audit_log WHERE action = 'access.scan' AND object_id IN (${base}, ${base + 1n}, ${base + 2n})`);
  assert.equal(audited.trim(), '2', 'one audit entry per indexed record');
  assert.ok(!fs.existsSync(seg), 'the recovered segment is deleted');
  // a restart replays nothing twice
  await ctx.restart();
  assert.equal((await records()).length, before.length + 2);
  const v = ctx.fk(['audit', 'verify']);
  assert.equal(v.status, 0, v.stdout + v.stderr);
});
