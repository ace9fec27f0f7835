// The data exchange (docs/exchange.md "Monitoring", docs/benchmarks.md "The
// data exchange"), each figure a ratio to a reference measured in the same
// run on the same server:
//
//   batch writes   BENCH_X_CALLERS (default 32) callers, each its own SM2 key,
//                  sending signed batches of BENCH_X_BATCH (default 1,000)
//                  new people to POST /exchange/v1/persons, BENCH_X_BATCHES
//                  (default 1) batches each, all at once: records a second
//                  and the p99 of a call; against the same number of people
//                  (other id numbers) created through the staff API
//                  (POST /api/v1/persons, one a request) by as many
//                  concurrent staff connections;
//   verification   signed GET /exchange/v1/ping (signature, nonce, caller
//                  and the signed answer) against the unsigned public
//                  GET /healthz, BENCH_X_PINGS (default 4,000) requests from
//                  BENCH_X_CONNS (default 32) connections each; the pings are
//                  signed before the clock starts so the client's SM2 does
//                  not share the measured time.
//
//   FK_BIN=build/fangkong node bench/exchange.mjs
//
// Prints the figures and one line "exchange k=v ..." for bench/run.sh.
import fs from 'node:fs';
import path from 'node:path';
import { startCityWith, CITY_STAFF, residentId } from '../tests/api/lib.mjs';
import { ExchangeClient } from '../clients/exchange-client.mjs';

const CALLERS = Number(process.env.BENCH_X_CALLERS || 32);
const BATCH = Number(process.env.BENCH_X_BATCH || 1000);
const BATCHES = Number(process.env.BENCH_X_BATCHES || 1);
const PINGS = Number(process.env.BENCH_X_PINGS || 4000);
const CONNS = Number(process.env.BENCH_X_CONNS || 32);
const PW = 'Passw0rd!benchx';
const REGION = '110101001001'; // 多福巷社区

const say = (s) => process.stderr.write(`bench exchange: ${s}\n`);
const p99 = (xs) => {
  const s = [...xs].sort((a, b) => a - b);
  return s[Math.min(s.length - 1, Math.ceil(s.length * 0.99) - 1)];
};

// person number i (distinct id numbers: a birth day per 400 of them)
function person(i, tag) {
  const d = new Date(Date.UTC(1950, 0, 1) + Math.floor(i / 400) * 86400000);
  const birth = d.toISOString().slice(0, 10).replaceAll('-', '');
  return { name: `${tag}${i}`, id_number: residentId('110101', birth, (i % 400) * 2 + 1), region_code: REGION };
}

// run n tasks with at most `width` at once; the latency of each (ms)
async function pool(n, width, task) {
  const lat = new Array(n);
  let next = 0;
  const worker = async () => {
    while (next < n) {
      const i = next++;
      const t = performance.now();
      await task(i);
      lat[i] = performance.now() - t;
    }
  };
  await Promise.all(Array.from({ length: Math.min(width, n) }, worker));
  return lat;
}

const callers = [];
const ctx = await startCityWith({ bx_cc: CITY_STAFF.cc_dc }, PW, {
  // writers queue for SQLite's one write lock: let them wait as a patient client would
  env: { FK_EXCHANGE_ANOMALY_EVERY: '0', FK_WRITE_WAIT_MS: '60000', FK_IDLE_TIMEOUT: '900' },
  setup: (c) => {
    for (let k = 0; k < CALLERS; k++) {
      const keyFile = path.join(c.dir, `caller${k}.pem`);
      const id = c.must(['exchange', 'caller', 'add', '--name', `压测调用方${k}`, '--org', '压测', '--region', '110101000000', '--write', 'persons', '--rate', '1000000', '--key-out', keyFile]).trim();
      callers.push({ id, privateKeyPem: fs.readFileSync(keyFile, 'utf8') });
    }
  },
});
try {
  const clients = callers.map((c) => new ExchangeClient({ base: ctx.url, caller: c.id, privateKeyPem: c.privateKeyPem }));
  await clients[0].serverKey();
  for (const c of clients) c.serverKeyPem = clients[0].serverKeyPem;
  const total = CALLERS * BATCH * BATCHES;

  // ---- batch writes over the exchange --------------------------------------------------
  say(`${CALLERS} callers x ${BATCHES} batches of ${BATCH} people...`);
  let accepted = 0, retries = 0;
  const t0 = performance.now();
  const xlat = await pool(CALLERS * BATCHES, CALLERS, async (i) => {
    const c = i % CALLERS, b = Math.floor(i / CALLERS);
    const base = (b * CALLERS + c) * BATCH;
    const records = Array.from({ length: BATCH }, (_, j) => person(base + j, '交换'));
    let r;
    // a 503 (the database busy past the wait) is retried with the same key, as a caller does
    for (;;) {
      r = await clients[c].post('/exchange/v1/persons', { records }, { idempotencyKey: `bench-${c}-${b}` });
      if (r.status !== 503) break;
      retries++;
    }
    if (r.status !== 200) throw new Error(`batch ${i}: ${r.status} ${r.text.slice(0, 300)}`);
    accepted += r.body.accepted;
  });
  const xs = (performance.now() - t0) / 1000;
  if (accepted !== total) throw new Error(`the exchange accepted ${accepted} of ${total}`);
  const xRate = total / xs;
  say(`exchange: ${total} people in ${xs.toFixed(1)} s = ${xRate.toFixed(0)}/s, p99 of a call ${p99(xlat).toFixed(0)} ms`);

  // ---- the same number through the staff API -----------------------------------------
  const cc = ctx.as.bx_cc;
  const offset = total + 1000;
  const t1 = performance.now();
  const slat = await pool(total, CALLERS, async (i) => {
    let r;
    for (;;) {
      r = await cc.post('/api/v1/persons', person(offset + i, '员工'));
      if (r.status !== 503) break;
      retries++;
    }
    if (r.status !== 201) throw new Error(`staff ${i}: ${r.status} ${r.text.slice(0, 300)}`);
  });
  const ss = (performance.now() - t1) / 1000;
  const sRate = total / ss;
  say(`staff API: ${total} people in ${ss.toFixed(1)} s = ${sRate.toFixed(0)}/s, p99 ${p99(slat).toFixed(1)} ms`);

  // ---- verification: signed ping against /healthz -------------------------------------
  const c0 = clients[0];
  const signed = Array.from({ length: PINGS + 200 }, () => c0.headers({ method: 'GET', path: '/exchange/v1/ping' }));
  const ping = async (h) => {
    const r = await fetch(ctx.url + '/exchange/v1/ping', { headers: h });
    const t = await r.text();
    if (r.status !== 200) throw new Error(`ping: ${r.status} ${t}`);
    return t.length;
  };
  const health = async () => {
    const r = await fetch(ctx.url + '/healthz');
    const t = await r.text();
    if (r.status !== 200) throw new Error(`healthz: ${r.status}`);
    return t.length;
  };
  const pingSize = await ping(signed[PINGS]);
  const healthSize = await health();
  await pool(199, CONNS, (i) => ping(signed[PINGS + 1 + i])); // warm
  await pool(200, CONNS, () => health());
  const t2 = performance.now();
  const plat = await pool(PINGS, CONNS, (i) => ping(signed[i]));
  const pingRate = PINGS / ((performance.now() - t2) / 1000);
  const t3 = performance.now();
  const hlat = await pool(PINGS, CONNS, () => health());
  const healthRate = PINGS / ((performance.now() - t3) / 1000);
  say(`ping ${pingRate.toFixed(0)} req/s (p99 ${p99(plat).toFixed(1)} ms, ${pingSize} B) vs /healthz ${healthRate.toFixed(0)} req/s (p99 ${p99(hlat).toFixed(1)} ms, ${healthSize} B)`);
  const perCallUs = (1e6 / pingRate - 1e6 / healthRate) * 2; // two cores serve: CPU µs per call, roughly
  console.log(
    `exchange callers=${CALLERS} batch=${BATCH} records=${total} x_rps=${xRate.toFixed(0)} x_p99_ms=${p99(xlat).toFixed(0)} ` +
      `staff_rps=${sRate.toFixed(0)} staff_p99_ms=${p99(slat).toFixed(1)} write_ratio=${(xRate / sRate).toFixed(2)} ` +
      `ping_rps=${pingRate.toFixed(0)} health_rps=${healthRate.toFixed(0)} verify_ratio=${(pingRate / healthRate).toFixed(3)} ` +
      `ping_bytes=${pingSize} health_bytes=${healthSize} verify_us=${perCallUs.toFixed(0)} retries=${retries}`,
  );
} finally {
  await ctx.stop();
}
