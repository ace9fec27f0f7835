// The city model of docs/scaling.md, computed from the last `make bench-scale`
// rows of docs/benchmarks.md ("Scale-out"): what one request costs each kind
// of process, times the city's peak rates, gives the cores, the WAL rate and
// the storage. Run: node bench/city_model.mjs [docs/benchmarks.md]
//
// The rates are the city (10,000,000 people, 100,000,000 access
// records a month, 25,000,000 samples in two days, 25,000 scans a second at
// peak) and assumptions said below; change them here, not in the doc.
import { readFileSync } from 'node:fs';

const CITY = {
  people: 10_000_000,
  scansPeak: 25_000, // per second
  recordsMonth: 100_000_000,
  samplesRound: 25_000_000, // in two days
  roundHours: 2 * 12, // sampling runs 12 hours a day
  lookupsPeak: 2_500, // staff look-ups per second at peak: a tenth of the scans (assumed)
  accessDays: 90, // FK_RETAIN_ACCESS_DAYS's default (docs/retention.md)
  auditDays: 180,
};
const UTIL = 0.6; // plan cores for 60% busy at peak
const CORES_PER_SERVER = 16;

const file = process.argv[2] || new URL('../docs/benchmarks.md', import.meta.url);
const text = readFileSync(file, 'utf8');
const table = text.slice(text.indexOf('## Scale-out'), text.indexOf('<!-- scale runs end -->'));
const rows = table
  .split('\n')
  .filter((l) => /^\| \d{4}-\d\d-\d\d \|/.test(l))
  .map((l) => l.split('|').slice(1, -1).map((c) => c.trim()));
if (!rows.length) {
  console.error('city_model: no scale-out rows in docs/benchmarks.md: run `make bench-scale` first');
  process.exit(1);
}
const nums = (c) => c.split('/').map((x) => Number(x.trim()));
const parse = (r) => {
  const [lrps] = nums(r[4]);
  const [lfk, lng, lpg] = nums(r[5]);
  const [srps] = nums(r[7]);
  const [sfk, sng, spg] = nums(r[8]);
  const [swal, sdb] = nums(r[9]);
  // rows before the sample's columns (2026-12-05) end with the load average in r[10]
  const sampled = r.length >= 14 && r[10] !== '—';
  const [tfk, tng, tpg] = sampled ? nums(r[11]) : [sfk, sng, spg];
  const [twal] = sampled ? nums(r[12]) : [swal];
  return { date: r[0], people: Number(r[1]), servers: Number(r[2]), lrps, lfk, lng, lpg, lwal: Number(r[6]), srps, sfk, sng, spg, swal, sdb, sampled, tfk, tng, tpg, twal };
};
const last = (n) => rows.map(parse).filter((r) => r.servers === n).at(-1);
const one = last(1);
const two = last(2);

// samples at twice their mean rate; a row without the sample's own columns prices a
// sample as a scan
const samplesPeak = Math.round((CITY.samplesRound / (CITY.roundHours * 3600)) * 2);
const cores = (fk, ng, pg) => ({
  fk: (CITY.scansPeak * one.sfk + samplesPeak * one.tfk + CITY.lookupsPeak * fk) / 1000 / UTIL,
  ng: (CITY.scansPeak * one.sng + samplesPeak * one.tng + CITY.lookupsPeak * ng) / 1000 / UTIL,
  pg: (CITY.scansPeak * one.spg + samplesPeak * one.tpg + CITY.lookupsPeak * pg) / 1000 / UTIL,
});
const c = cores(one.lfk, one.lng, one.lpg);
const walMBs = (CITY.scansPeak * one.swal + samplesPeak * one.twal + CITY.lookupsPeak * one.lwal) / 1e6;
const monthGB = (CITY.recordsMonth * one.sdb) / 1e9;
const keptGB = monthGB * (CITY.auditDays / 30); // access rows and their audit rows; audit kept longest
const servers = Math.ceil(c.fk / CORES_PER_SERVER) + 1; // N + 1: one may fail at peak

const f = (x, d = 1) => x.toFixed(d);
console.log(`inputs: docs/benchmarks.md Scale-out rows of ${one.date} (${one.people} people; ${two ? 'two servers gave ' + f(two.srps / one.srps, 2) + '× the scans of one' : 'no two-server row'})`);
console.log(`  scan   CPU ms: fangkong ${one.sfk}, nginx ${one.sng}, PostgreSQL ${one.spg}; WAL ${one.swal} B, database +${one.sdb} B`);
console.log(`  lookup CPU ms: fangkong ${one.lfk}, nginx ${one.lng}, PostgreSQL ${one.lpg}; WAL ${one.lwal} B`);
console.log(one.sampled ? `  sample CPU ms: fangkong ${one.tfk}, nginx ${one.tng}, PostgreSQL ${one.tpg}; WAL ${one.twal} B` : '  sample: no row of its own, priced as a scan');
console.log(`city: ${CITY.scansPeak} scans/s + ${samplesPeak} samples/s + ${CITY.lookupsPeak} look-ups/s at peak, planned at ${UTIL * 100}% busy`);
console.log(`  fangkong cores   ${f(c.fk)}  -> ${servers} servers of ${CORES_PER_SERVER} cores (N + 1)`);
console.log(`  nginx cores      ${f(c.ng)}`);
console.log(`  PostgreSQL cores ${f(c.pg)}  (one primary)`);
console.log(`  WAL              ${f(walMBs)} MB/s at peak (to the standby as well: synchronous)`);
console.log(`  storage          ${f(monthGB)} GB a month of access records with their audit; ${f(keptGB, 0)} GB kept (${CITY.auditDays} days)`);
