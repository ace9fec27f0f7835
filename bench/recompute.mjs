// Part of `make bench`: a rule edit through the API (PUT /api/v1/code-rules)
// recomputes every person's health code as a background job; this turns the
// 72-hour negative-test rule on (every code changes), then back off (every
// code changes back), and prints how long each job took by the job's own
// clock. Usage: node bench/recompute.mjs URL COOKIE
const [url, cookie] = process.argv.slice(2);
const headers = { cookie, 'content-type': 'application/json' };
const call = async (method, path, body) => {
  const r = await fetch(url + path, { method, headers, body: body && JSON.stringify(body) });
  const j = await r.json();
  if (!r.ok) throw new Error(`${method} ${path}: ${r.status} ${JSON.stringify(j)}`);
  return j;
};

async function edit(rules) {
  const t0 = Date.now();
  const { job_id: id } = await call('PUT', '/api/v1/code-rules', { rules });
  for (;;) {
    const job = await call('GET', `/api/v1/jobs/${id}`);
    if (job.status === 'done') return { ...job.result, wall: Date.now() - t0, total: job.total };
    if (job.status === 'failed') throw new Error('job failed: ' + JSON.stringify(job));
    await new Promise((r) => setTimeout(r, 200));
  }
}

const { rules } = await call('GET', '/api/v1/code-rules');
const on = rules.map((x) => (x.key === 'no_negative_test' ? { ...x, enabled: true } : x));
const a = await edit(on);
const b = await edit(rules);
console.log(`${a.total} ${a.changed} ${(a.ms / 1000).toFixed(2)} ${b.changed} ${(b.ms / 1000).toFixed(2)}`);
