// The public page (docs/publish.md) against nginx serving the same bytes as a
// static file, same wrk settings, measured in the same run: /public/ with a
// publication of each template (20 people in the counters) and ten approved
// feed items, its API, and a revalidation answered 304 by its ETag.
//
//   FK_BIN=build/fangkong node bench/publish.mjs
//
// BENCH_DURATION (seconds, default 10) and BENCH_CONNS (default 16) set wrk.
import { execFileSync, spawn } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { startCityWith, CITY_STAFF, residentId, sleep } from '../tests/api/lib.mjs';

const DURATION = process.env.BENCH_DURATION || '10';
const CONNS = process.env.BENCH_CONNS || '16';
const PW = 'Passw0rd!benchpub';

// requests a second and the 99th percentile (ms) of a wrk run
function wrk(url, headers = []) {
  const args = ['-t2', `-c${CONNS}`, `-d${DURATION}s`, '--latency', ...headers.flatMap((h) => ['-H', h]), url];
  execFileSync('wrk', ['-t2', `-c${CONNS}`, '-d2s', ...headers.flatMap((h) => ['-H', h]), url]); // warm
  const out = execFileSync('wrk', args, { encoding: 'utf8' });
  const rps = Number(/Requests\/sec:\s+([\d.]+)/.exec(out)[1]);
  const p99 = /99%\s+([\d.]+)(us|ms|s)/.exec(out);
  const ms = Number(p99[1]) * { us: 0.001, ms: 1, s: 1000 }[p99[2]];
  if (/Non-2xx/.test(out) && !headers.length) throw new Error(`errors from ${url}:\n${out}`);
  return { rps, p99: ms };
}

const ctx = await startCityWith({ pb_cc: CITY_STAFF.cc_dc, pb_leader: ['leader', '110101000000'] }, PW, {
  env: { FK_PUBLIC_RATE: '1000000', FK_PUBLISH_RENDER: '0' },
});
const work = fs.mkdtempSync(path.join(os.tmpdir(), 'fk-bench-publish-'));
let nginx;
try {
  const { pb_cc: cc, pb_leader: leader } = ctx.as;
  for (let i = 0; i < 20; i++) {
    const r = await cc.post('/api/v1/persons', { name: '压测', id_number: residentId('110101', '19800101', 100 + i * 2), region_code: i % 2 ? '110101001001001001' : '110101002001', status: i % 3 ? 'confirmed' : 'suspected' });
    if (r.status !== 201) throw new Error(r.text);
  }
  for (const t of ['overview', 'local', 'map', 'trends', 'regions']) {
    const p = (await cc.post('/api/v1/publications', { template: t, title: `压测 ${t}` })).body;
    await cc.post(`/api/v1/publications/${p.id}/submit`);
    const r = await leader.post(`/api/v1/publications/${p.id}/approve`);
    if (r.status !== 200) throw new Error(r.text);
  }
  const items = Array.from({ length: 10 }, (_, i) => ({ kind: i % 2 ? 'opinion' : 'news', title: `压测动态 ${i}`, link: `https://example.gov.cn/b/${i}`, source: '压测' }));
  await cc.post('/api/v1/feed-items/batch', { items });
  for (const it of (await leader.get('/api/v1/feed-items?page_size=50')).body.items) await leader.post(`/api/v1/feed-items/${it.id}/approve`);

  const page = await fetch(`${ctx.url}/public/`);
  const body = Buffer.from(await page.arrayBuffer());
  const etag = page.headers.get('etag');

  // nginx serving the same bytes, on the same machine, in the same run
  fs.mkdirSync(path.join(work, 'www'));
  fs.writeFileSync(path.join(work, 'www', 'index.html'), body);
  const port = 20000 + Math.floor(Math.random() * 20000);
  fs.writeFileSync(path.join(work, 'nginx.conf'), `worker_processes 2;
pid ${work}/nginx.pid;
error_log ${work}/error.log;
daemon off;
events { worker_connections 1024; }
http {
    access_log off;
    client_body_temp_path ${work}; proxy_temp_path ${work};
    fastcgi_temp_path ${work}; uwsgi_temp_path ${work}; scgi_temp_path ${work};
    server { listen 127.0.0.1:${port}; root ${work}/www; default_type text/html; }
}
`);
  nginx = spawn('nginx', ['-c', path.join(work, 'nginx.conf'), '-p', work], { stdio: 'ignore' });
  // up when it answers (a loaded machine takes its time)
  for (let i = 0; ; i++) {
    const ok = await fetch(`http://127.0.0.1:${port}/index.html`).then((r) => r.ok, () => false);
    if (ok) break;
    if (i === 100) throw new Error(`nginx did not start: ${fs.readFileSync(path.join(work, 'error.log'), 'utf8')}`);
    await sleep(100);
  }

  const ng = wrk(`http://127.0.0.1:${port}/index.html`);
  const pub = wrk(`${ctx.url}/public/`);
  const api = wrk(`${ctx.url}/api/v1/public/publications`);
  const rev = wrk(`${ctx.url}/public/`, [`If-None-Match: ${etag}`]);
  const row = (name, m) => `${name.padEnd(36)} ${String(Math.round(m.rps)).padStart(8)} req/s  p99 ${m.p99.toFixed(1).padStart(6)} ms  ${(m.rps / ng.rps).toFixed(3)} of nginx`;
  console.log(`bench publish: page ${body.length} bytes, wrk -t2 -c${CONNS} -d${DURATION}s`);
  console.log(row('nginx, the same bytes', ng));
  console.log(row('GET /public/', pub));
  console.log(row('GET /api/v1/public/publications', api));
  console.log(row('GET /public/ If-None-Match (304)', rev));
  // one line for bench/run.sh
  console.log(`publish nginx_rps=${Math.round(ng.rps)} public_rps=${Math.round(pub.rps)} api_rps=${Math.round(api.rps)} revalidate_rps=${Math.round(rev.rps)} public_ratio=${(pub.rps / ng.rps).toFixed(3)}`);
} finally {
  nginx?.kill('SIGTERM');
  await ctx.stop();
  fs.rmSync(work, { recursive: true, force: true });
}
