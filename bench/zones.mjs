// Zones drawn as polygons (docs/zones.md "Performance"): on a demo city,
// the preview, the create and the lift of a polygon over a quarter of the
// buildings and over all of them, and, as the reference measured in the same
// run, a zone over the same people chosen as a region (the district). Prints
// one line per case and the ratio of the drawn zone to the region zone.
// Usage: node bench/zones.mjs URL COOKIE DISTRICT
const [url, cookie, district] = process.argv.slice(2);
const headers = { cookie, 'content-type': 'application/json' };
async function call(method, path, body) {
  const t0 = performance.now();
  const r = await fetch(url + path, { method, headers, body: body && JSON.stringify(body) });
  const j = await r.json();
  if (!r.ok) throw new Error(`${method} ${path}: ${r.status} ${JSON.stringify(j)}`);
  return [j, performance.now() - t0];
}

// every building's centre under the district, to draw around them
const [tree] = await call('GET', `/api/v1/regions/tree?root=${district}&depth=7`);
const centres = [];
(function walk(n) {
  if (n.level === 'building' && n.center) centres.push(n.center);
  for (const c of n.children || []) walk(c);
})(tree);
const xs = centres.map((c) => c[0]).sort((a, b) => a - b);
const ys = centres.map((c) => c[1]);
const [y0, y1] = [Math.min(...ys) - 1e-4, Math.max(...ys) + 1e-4];

async function run(label, body) {
  const [p, tp] = await call('POST', '/api/v1/zones/preview', body);
  const [z, tc] = await call('POST', '/api/v1/zones', { ...body, name: `bench ${label}` });
  const [, tlp] = await call('GET', `/api/v1/zones/${z.id}/lift-preview`);
  const [, tl] = await call('POST', `/api/v1/zones/${z.id}/lift`, { reason: 'bench' });
  const s = (ms) => (ms / 1000).toFixed(2);
  console.log(`zones ${label}: buildings=${p.buildings} people=${p.total} changed=${p.changed} ` +
    `preview=${s(tp)}s create=${s(tc)}s lift_preview=${s(tlp)}s lift=${s(tl)}s`);
  return tc + tl;
}

const box = (x1) => ({ type: 'Polygon', coordinates: [[[xs[0] - 1e-4, y0], [x1, y0], [x1, y1], [xs[0] - 1e-4, y1], [xs[0] - 1e-4, y0]]] });
// a quarter: the buildings west of the first quartile's edge
const q = xs[Math.floor(xs.length / 4)];
await run('drawn-quarter', { kind: 'sealed', boundary: box((q + xs[Math.floor(xs.length / 4) - 1]) / 2) });
const drawn = await run('drawn-all', { kind: 'sealed', boundary: box(xs[xs.length - 1] + 1e-4) });
const region = await run('region-district', { kind: 'sealed', region_code: district });
console.log(`zones ratio drawn/region (create+lift, same people): ${(drawn / region).toFixed(2)}`);
