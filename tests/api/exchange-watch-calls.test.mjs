// Exchange monitoring of real signed calls (docs/exchange.md "Monitoring"):
// calls made with the Node client move the counters of /metrics at once and
// the per-minute aggregates after the next flush — the caller by name,
// refused calls too (a forged signature counted under its caller, an
// unknown caller under no one) — and, on PostgreSQL, two servers on one
// database flush into the same rows, so the summary read from either shows
// the sum of both; and a caller whose every call is refused raises one
// anomaly alert, end to end, at its region.
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import fs from 'node:fs';
import path from 'node:path';
import { onPostgres, sleep, startCityWith, startPeer } from './lib.mjs';
import { ExchangeClient, H } from '../../clients/exchange-client.mjs';

const PW = 'Passw0rd!xcalls';
let ctx, cc;

function cliCaller(c, name, region = '110101001000') {
  const keyFile = path.join(c.dir, `${name}.pem`);
  const id = c.must(['exchange', 'caller', 'add', '--name', name, '--org', '测试单位', '--region', region, '--read', '', '--write', 'nat', '--key-out', keyFile]).trim();
  return { id, privateKeyPem: fs.readFileSync(keyFile, 'utf8') };
}

let caller, failing;
before(async () => {
  ctx = await startCityWith({ cc_dc: ['command_center', '110101000000'], cc_xc: ['command_center', '110102000000'] }, PW, {
    // the sweep every second with a low minimum (4 calls, 2 errors), for the end-to-end anomaly
    env: { FK_EXCHANGE_FLUSH: '1', FK_EXCHANGE_ANOMALY_EVERY: '1', FK_EXCHANGE_ANOMALY_MIN_CALLS: '4' },
    setup: (c) => {
      caller = cliCaller(c, '监控测试系统');
      failing = cliCaller(c, '越权读取系统', '110101002000'); // 景山街道
    },
  });
  cc = ctx.as.cc_dc;
});

after(async () => {
  await ctx?.stop();
});

const summary = async (client = cc) => {
  const r = await client.get('/api/v1/exchange/monitor?minutes=15');
  assert.equal(r.status, 200, r.text);
  return r.body;
};
const mine = (s) => s.callers.find((c) => c.name === '监控测试系统');

async function metric(url, line) {
  const text = await (await fetch(url + '/metrics')).text();
  const at = text.indexOf(line + ' ');
  return at < 0 ? 0 : Number(text.slice(at + line.length + 1).split('\n')[0]);
}

test('signed calls, refused ones too, move /metrics at once and the summary after a flush', async () => {
  const client = new ExchangeClient({ base: ctx.url, caller: caller.id, privateKeyPem: caller.privateKeyPem });
  const okLine = 'fangkong_exchange_call_seconds_count{direction="in",party="监控测试系统",dataset="",result="ok"}';
  const badLine = 'fangkong_exchange_call_seconds_count{direction="in",party="监控测试系统",dataset="",result="signature_invalid"}';
  const before0 = await metric(ctx.url, okLine);
  assert.equal(mine(await summary()), undefined); // nothing yet (the control)
  for (let i = 0; i < 5; i++) assert.equal((await client.get('/exchange/v1/ping')).status, 200);
  const forged = client.headers({ method: 'GET', path: '/exchange/v1/other' })[H.signature];
  const r = await client.get('/exchange/v1/ping', { headers: { [H.signature]: forged } });
  assert.equal(r.status, 401, r.text);
  assert.equal(r.body.error.code, 'signature_invalid');
  const u = await client.get('/exchange/v1/ping', { headers: { [H.caller]: '999999' } });
  assert.equal(u.status, 401);
  assert.equal(await metric(ctx.url, okLine), before0 + 5);
  assert.equal(await metric(ctx.url, badLine), 1);
  let s;
  for (let t = 0; t < 5000; t += 200) {
    s = await summary();
    if (mine(s)?.calls === 6) break;
    await sleep(200);
  }
  const c = mine(s);
  assert.deepEqual([c.calls, c.errors, c.rejected], [6, 1, 1]);
  assert.ok(c.last_at && c.p99_ms > 0);
  // the unknown caller: the deployment's row, unnamed
  assert.ok(s.callers.some((x) => x.name === '（未识别的调用方）' && x.rejected === 1));
  assert.ok(s.errors.some((e) => e.code === 'signature_invalid' && e.calls === 1));
  // the caller's region is 东华门街道: another district's command centre does not see it
  assert.equal(mine(await summary(ctx.as.cc_xc)), undefined);
});

test('two servers on one PostgreSQL database add up in the same rows', { skip: !onPostgres && 'several servers share a PostgreSQL database only' }, async () => {
  const peer = await startPeer(ctx, { FK_EXCHANGE_FLUSH: '1' });
  try {
    const start = mine(await summary())?.calls ?? 0;
    const a = new ExchangeClient({ base: ctx.url, caller: caller.id, privateKeyPem: caller.privateKeyPem });
    const b = new ExchangeClient({ base: peer.url, caller: caller.id, privateKeyPem: caller.privateKeyPem });
    for (let i = 0; i < 4; i++) assert.equal((await a.get('/exchange/v1/ping')).status, 200);
    for (let i = 0; i < 7; i++) assert.equal((await b.get('/exchange/v1/ping')).status, 200);
    let calls = 0;
    for (let t = 0; t < 6000 && calls !== start + 11; t += 200) {
      calls = mine(await summary())?.calls ?? 0;
      if (calls !== start + 11) await sleep(200);
    }
    assert.equal(calls, start + 11); // 4 counted by one server, 7 by the other
  } finally {
    await peer.stop();
  }
});

test('a caller refused on every call raises one anomaly alert at its region, end to end', async () => {
  const client = new ExchangeClient({ base: ctx.url, caller: failing.id, privateKeyPem: failing.privateKeyPem });
  const anomalies = async (c) => (await c.get('/api/v1/alerts?kind=exchange_anomaly&page_size=50')).body.items.filter((a) => a.message.includes('越权读取系统'));
  assert.equal((await anomalies(cc)).length, 0); // the control
  // reads of a dataset it was not granted: 403 dataset_not_granted, six times
  for (let i = 0; i < 6; i++) {
    const r = await client.get('/exchange/v1/persons/changes', { query: 'after=0' });
    assert.equal(r.status, 403, r.text);
    assert.equal(r.body.error.code, 'dataset_not_granted');
  }
  let items = [];
  for (let t = 0; t < 10000 && !items.length; t += 250) {
    items = await anomalies(cc);
    if (!items.length) await sleep(250);
  }
  assert.equal(items.length, 1);
  assert.equal(items[0].region_code, '110101002000000000'); // 景山街道, the caller's region
  // the sweep may judge after four or after all six were flushed: every one failed either way
  assert.match(items[0].message, /越权读取系统」近10分钟调用[4-6]次，失败[4-6]次（失败率100.0%）/);
  await sleep(2500); // more sweeps, the same hour: still one
  assert.equal((await anomalies(cc)).length, 1);
  assert.equal((await anomalies(ctx.as.cc_xc)).length, 0); // another district's staff: none
});
