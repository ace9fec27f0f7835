// What keeping finished export files in the database costs (docs/cluster.md
// "Export files"): a list of BENCH_EXPORT_ROWS observations (default
// 100,000) exported by a job as CSV and as xlsx; for each, the job's time,
// the part of it spent sealing and storing the file (the server's
// export_stored event), a download of this server's own copy, and a download
// through a server without it (the copy removed: fetched from the database,
// unsealed, written, then served). During each download a client pings
// /healthz in a loop: the server has one event loop (FK_THREADS=1), so the
// slowest ping says how long the download held that loop (ping_fetch_max:
// before the fetch moved to the fetch worker it was the whole fetch; now a
// few ms). On the suite's driver: under scripts/with-postgres.sh on
// PostgreSQL, else SQLite. Ratios are of the same run; the load average is
// printed beside them (a shared machine).
//
//   FK_BIN=build/fangkong node bench/export-store.mjs
//   FK_BIN=build/fangkong scripts/with-postgres.sh node bench/export-store.mjs
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { startCityWith, CITY_STAFF, residentId, sqlRun, sleep } from '../tests/api/lib.mjs';

const ROWS = Number(process.env.BENCH_EXPORT_ROWS || 100000);
const PW = 'Passw0rd!benchexport';

const ctx = await startCityWith({ bx_cc: CITY_STAFF.cc_dc }, PW, { env: { FK_EXPORT_KEEP: '3600', FK_THREADS: '1' } });
try {
  const cc = ctx.as.bx_cc;
  let r = await cc.post('/api/v1/persons', { name: '钱多多', id_number: residentId('110101', '19850505', 411), region_code: '110101001001' });
  if (r.status !== 201) throw new Error(r.text);
  r = await cc.post('/api/v1/observations', {
    person_id: r.body.id, kind: 'home_isolation', source: 'grid_patrol', start_at: Date.now() - 3600e3, place: '北京市东城区多福巷12号院',
  });
  if (r.status !== 201) throw new Error(r.text);
  // ROWS - 1 ended copies of it, straight in the database
  const cols = (ctx.dbUrl
    ? sqlRun(ctx, "SELECT column_name FROM information_schema.columns WHERE table_name = 'observations' ORDER BY ordinal_position")
    : sqlRun(ctx, "SELECT name FROM pragma_table_info('observations')")).trim().split('\n');
  const sel = cols.map((c) => (c === 'id' ? `7000000000000000000 + n.i` : c === 'state' ? "'ended'" : `o.${c}`)).join(', ');
  sqlRun(ctx, `WITH RECURSIVE n(i) AS (SELECT 1 UNION ALL SELECT i + 1 FROM n WHERE i < ${ROWS - 1})
    INSERT INTO observations (${cols.join(', ')}) SELECT ${sel} FROM observations o, n WHERE o.id = ${r.body.id}`);

  // a download, and the slowest of the pings sent one after another while it ran
  const download = async (id) => {
    let done = false, ping_max = 0, pings = 0;
    const pinger = (async () => {
      while (!done) {
        const t = performance.now();
        const h = await fetch(`${ctx.url}/healthz`);
        await h.arrayBuffer();
        if (!done) {
          ping_max = Math.max(ping_max, performance.now() - t);
          pings++;
        }
      }
    })();
    const t0 = performance.now();
    const res = await fetch(`${ctx.url}/api/v1/jobs/${id}/file`, { headers: { cookie: cc.cookie } });
    const n = (await res.arrayBuffer()).byteLength;
    const ms = performance.now() - t0;
    done = true;
    await pinger;
    if (res.status !== 200) throw new Error(`download ${res.status}`);
    return { ms, bytes: n, ping_max, pings };
  };
  const out = {};
  for (const format of ['csv', 'xlsx']) {
    const t0 = performance.now();
    r = await cc.post('/api/v1/exports', { list: 'observations', format });
    if (r.status !== 202) throw new Error(r.text);
    const id = r.body.job_id;
    let j;
    for (;;) {
      j = (await cc.get(`/api/v1/jobs/${id}`)).body;
      if (j.status === 'done' || j.status === 'failed') break;
      await sleep(20);
    }
    if (j.status !== 'done' || j.result.rows !== ROWS) throw new Error(JSON.stringify(j));
    const job_ms = performance.now() - t0;
    const ev = ctx.stderr.split('\n').filter((l) => l.includes('"export_stored"') && l.includes(`"${id}"`)).map((l) => JSON.parse(l))[0];
    const local = await download(id);
    fs.unlinkSync(path.join(ctx.dir, 'exports', `${id}.${format}`));
    const fetched = await download(id);
    const again = await download(id); // the fetched copy, now this server's own
    out[format] = {
      bytes: local.bytes, job_ms, store_ms: Number(ev.ms), local_ms: local.ms, fetch_ms: fetched.ms, again_ms: again.ms,
      ping_local_max: local.ping_max, ping_fetch_max: fetched.ping_max, pings_fetch: fetched.pings,
    };
  }
  const f = (x) => x.toFixed(0);
  const parts = [`driver=${ctx.dbUrl ? 'postgresql' : 'sqlite'}`, `rows=${ROWS}`, `load=${os.loadavg()[0].toFixed(1)}`];
  for (const [k, v] of Object.entries(out))
    parts.push(`${k}_bytes=${v.bytes}`, `${k}_job_ms=${f(v.job_ms)}`, `${k}_store_ms=${v.store_ms}`,
      `${k}_store_share=${(v.store_ms / v.job_ms).toFixed(3)}`, `${k}_local_ms=${f(v.local_ms)}`,
      `${k}_fetch_ms=${f(v.fetch_ms)}`, `${k}_again_ms=${f(v.again_ms)}`,
      `${k}_ping_local_max_ms=${f(v.ping_local_max)}`, `${k}_ping_fetch_max_ms=${f(v.ping_fetch_max)}`,
      `${k}_pings_fetch=${v.pings_fetch}`, `${k}_ping_fetch_share=${(v.ping_fetch_max / v.fetch_ms).toFixed(3)}`);
  console.log('export_store ' + parts.join(' '));
} finally {
  await ctx.stop();
}
