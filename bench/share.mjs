// 共享互认 at the gate (docs/exchange.md "Shared recognition", docs/benchmarks.md
// "Shared recognition"): three instances on loopback (tests/api/share-lib.mjs:
// a district and two streets), a checkpoint of street B scanning codes:
//
//   local    B's own resident's code (verified at B): the reference;
//   cold     a code of street A seen for the first time (a new token each
//            time: one a second, as A issues them): B asks the district,
//            the district asks A, every call signed and its answer verified;
//   cached   the same code of A scanned again within its valid_until.
//
// Each measured scan is one POST /api/v1/scans answered after its access
// record committed. p50 and p99 in ms, and the ratios to the local scan in
// the same run. BENCH_SHARE_COLD (default 40) cold scans (about a second
// apart), BENCH_SHARE_N (default 300) local and cached scans.
//
//   FK_BIN=build/fangkong node bench/share.mjs
//
// Prints the figures and one line "share k=v ..." for bench/run.sh.
import { startShare, ok, COMM_A, COMM_B } from '../tests/api/share-lib.mjs';

const COLD = Number(process.env.BENCH_SHARE_COLD || 40);
const N = Number(process.env.BENCH_SHARE_N || 300);
const say = (s) => process.stderr.write(`bench share: ${s}\n`);
const q = (xs, p) => {
  const s = [...xs].sort((a, b) => a - b);
  return s[Math.min(s.length - 1, Math.max(0, Math.ceil(s.length * p) - 1))];
};
const sleep = (ms) => new Promise((r) => setTimeout(r, ms));

const fed = await startShare({ envA: { FK_SHARE_CACHE_S: '600' } });
try {
  const jia = await fed.resident('A', '张三丰', COMM_A);
  const yi = await fed.resident('B', '李四光', COMM_B);
  const timed = async (token, shared) => {
    const t = performance.now();
    const r = await fed.scanB(token);
    const ms = performance.now() - t;
    const b = await ok(r, 201);
    if (b.verdict !== 'pass' || !!b.shared !== shared) throw new Error(`scan: ${JSON.stringify(b)}`);
    return ms;
  };
  const localToken = await fed.tokenOf(yi);
  for (let i = 0; i < 20; i++) await timed(localToken, false); // warm
  const local = [];
  for (let i = 0; i < N; i++) local.push(await timed(localToken, false));
  // cold: a token nobody has cached; A issues a new one each second
  const cold = [];
  let last = '';
  for (let i = 0; i < COLD; ) {
    const token = await fed.tokenOf(jia);
    if (token === last) {
      await sleep(100);
      continue;
    }
    last = token;
    cold.push(await timed(token, true));
    i++;
  }
  const cached = [];
  for (let i = 0; i < N; i++) cached.push(await timed(last, true));
  const f = (xs) => `p50 ${q(xs, 0.5).toFixed(1)} ms, p99 ${q(xs, 0.99).toFixed(1)} ms`;
  say(`local ${f(local)}; cold ${f(cold)} (${COLD}); cached ${f(cached)}`);
  const l50 = q(local, 0.5);
  console.log(
    `share cold=${COLD} n=${N} local_p50_ms=${l50.toFixed(1)} local_p99_ms=${q(local, 0.99).toFixed(1)} ` +
      `cold_p50_ms=${q(cold, 0.5).toFixed(1)} cold_p99_ms=${q(cold, 0.99).toFixed(1)} ` +
      `cached_p50_ms=${q(cached, 0.5).toFixed(1)} cached_p99_ms=${q(cached, 0.99).toFixed(1)} ` +
      `cold_ratio=${(q(cold, 0.5) / l50).toFixed(2)} cached_ratio=${(q(cached, 0.5) / l50).toFixed(2)}`,
  );
} finally {
  await fed.stop();
}
