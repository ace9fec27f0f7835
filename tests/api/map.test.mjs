// The one-map (GET /api/v1/map/..., docs/map.md): the region map is GeoJSON
// of the children with their stored boundaries (null without one) and each
// value equal to the statistics API's figure; the people layers are counts
// per grid, never a point per person; the other layers and the cards read
// what the capabilities keep (a site's queue, a camera's state, a grid's
// workers); a street never sees another street; bad input is refused with
// its field; the map stream says which community's counters moved.
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { startCityWith, startServer, CITY_STAFF, residentId, expectError, openStream, until, sleep, startPeer, onPostgres } from './lib.mjs';

const PW = 'Passw0rd!map';
const DISTRICT = '110101000000'; // 东城区
const STREET = '110101001000'; // 东华门街道
const OTHER_STREET = '110101002000'; // 景山街道
const COMMUNITY = '110101001001'; // 多福巷社区
const OTHER_COMMUNITY = '110101002001'; // 隆福寺社区
const GRID = '110101001001001'; // 第一网格
const BUILDING = '110101001001001001'; // 1号楼

// Squares around a point (lng, lat), half-side h degrees, closed.
const square = (x, y, h) => ({ type: 'Polygon', coordinates: [[[x - h, y - h], [x + h, y - h], [x + h, y + h], [x - h, y + h], [x - h, y - h]]] });

let ctx, cc, ccWest, street, otherStreet, grid, gridWorker, site;
let seq = 0;
const names = []; // every person created, for the no-person-in-layers check
const idNumbers = [];

before(async () => {
  ctx = await startCityWith(
    {
      cc_dc: CITY_STAFF.cc_dc,
      cc_xc: CITY_STAFF.cc_xc,
      grid_dc: CITY_STAFF.grid_dc,
      street: ['street_staff', STREET],
      street2: ['street_staff', OTHER_STREET],
      gridman: ['grid_worker', GRID],
      site: ['site_staff', STREET],
    },
    PW,
  );
  ({ cc_dc: cc, cc_xc: ccWest, street, street2: otherStreet, grid_dc: grid, gridman: gridWorker, site } = ctx.as);
  // the streets, the community and the grid get boundaries; the district,
  // the other community and the building keep none
  for (const [code, x, y, h] of [[STREET, 116.40, 39.91, 0.01], [OTHER_STREET, 116.42, 39.91, 0.01], [COMMUNITY, 116.40, 39.91, 0.004], [GRID, 116.401, 39.911, 0.001]]) {
    const r = await cc.patch(`/api/v1/regions/${code}`, { boundary: square(x, y, h) });
    assert.equal(r.status, 200, r.text);
  }
  for (const [region, status] of [[BUILDING, 'confirmed'], [BUILDING, 'home_isolation'], [BUILDING, 'home_isolation'], [GRID, 'observation'], [COMMUNITY, 'suspected'], [OTHER_COMMUNITY, 'confirmed'], [OTHER_COMMUNITY, 'central_quarantine']])
    await person(region, status);
});

after(async () => {
  await ctx?.stop();
});

async function person(region, status) {
  seq += 1;
  const name = `地图测试${'甲乙丙丁戊己庚辛壬癸'[seq % 10]}${seq}`;
  const id = residentId('110101', '19800101', 600 + seq * 2, true);
  const r = await cc.post('/api/v1/persons', { name, id_number: id, region_code: region, status });
  assert.equal(r.status, 201, r.text);
  names.push(name);
  idNumbers.push(id);
  return r.body;
}

async function ok(c, path) {
  const r = await c.get(path);
  assert.equal(r.status, 200, `${path}: ${r.text}`);
  return r.body;
}

test('the region map: GeoJSON of the children with boundaries, the region, its path', async () => {
  const fc = await ok(cc, `/api/v1/map/regions?measure=person.status.confirmed`);
  assert.equal(fc.type, 'FeatureCollection');
  assert.deepEqual(fc.features.map((f) => f.id), [STREET, OTHER_STREET]);
  const [s1, s2] = fc.features;
  assert.equal(s1.type, 'Feature');
  assert.deepEqual(s1.properties, { region_code: STREET, name: '东华门街道', level: 'street', level_label: '街道', has_children: true, value: 1 });
  assert.equal(s2.properties.value, 1);
  assert.equal(s1.geometry.type, 'Polygon');
  assert.equal(s1.geometry.coordinates[0].length, 5);
  // the district has no boundary: its outline is null, its value the sum
  assert.equal(fc.region.region_code, DISTRICT);
  assert.equal(fc.region.name, '东城区');
  assert.equal(fc.region.geometry, null);
  assert.equal(fc.region.value, 2);
  assert.deepEqual(fc.measure, { name: 'person.status.confirmed', label: '确诊', kind: 'level' });
  assert.equal(fc.max, 1);
  assert.deepEqual(fc.path, [{ region_code: DISTRICT, name: '东城区' }]);
  // drilled down twice: the community's grid, the path from the scope's root
  const c = await ok(cc, `/api/v1/map/regions?region=${COMMUNITY}`);
  assert.deepEqual(c.path.map((p) => p.name), ['东城区', '东华门街道', '多福巷社区']);
  assert.equal(c.region.geometry.type, 'Polygon');
  assert.deepEqual(c.features.map((f) => [f.id, f.properties.name, f.geometry?.type]), [[GRID, '第一网格', 'Polygon']]);
  assert.equal(c.measure.name, 'person.registered', 'the default measure');
  // a region without a boundary: its children are listed with null geometry
  const s = await ok(cc, `/api/v1/map/regions?region=${OTHER_STREET}`);
  assert.deepEqual(s.features.map((f) => [f.properties.name, f.geometry]), [['隆福寺社区', null]]);
});

test('every value equals the statistics API figure (levels and flows, at each level)', async () => {
  for (const region of [DISTRICT, STREET, COMMUNITY]) {
    for (const m of ['person.status.confirmed', 'person.status.home_isolation', 'person.registered']) {
      const fc = await ok(cc, `/api/v1/map/regions?region=${region}&measure=${m}`);
      const st = await ok(cc, `/api/v1/stats/regions?region=${region}&measures=${m}`);
      assert.equal(fc.region.value, st.figures[0].value, `${region} ${m}`);
      assert.deepEqual(
        fc.features.map((f) => [f.id, f.properties.value, f.properties.today]),
        st.items.map((i) => [i.region_code, i.figures[0].value, i.figures[0].today]),
        `${region} ${m}`,
      );
    }
  }
  // a positive control: the figures are not all zero
  assert.equal((await ok(cc, `/api/v1/map/regions?measure=person.registered`)).region.value, 7);
  assert.equal((await ok(cc, `/api/v1/map/regions?measure=person.registered`)).region.today, 7);
});

test('people layers: a count per grid at its centre, never a point per person', async () => {
  // the grid needs a centre to be drawn; until then it is counted as unplaced
  let iso = await ok(cc, '/api/v1/map/layers/isolated');
  const before = iso.features.length + iso.unplaced;
  assert.ok(before >= 1);
  const r = await cc.patch(`/api/v1/regions/${GRID}`, { center: [116.401, 39.911] });
  assert.equal(r.status, 200, r.text);
  iso = await ok(cc, '/api/v1/map/layers/isolated');
  assert.equal(iso.layer, 'isolated');
  assert.equal(iso.label, '隔离人员');
  const g = iso.features.find((f) => f.properties.region_code === GRID);
  assert.ok(g, JSON.stringify(iso));
  assert.deepEqual(g.geometry, { type: 'Point', coordinates: [116.401, 39.911] });
  // two at home in the building, counted at its grid
  assert.equal(g.properties.count, 2);
  assert.equal(g.properties.name, '多福巷社区 · 第一网格');
  assert.deepEqual(g.properties.by_status.map((s) => [s.status, s.count]), [['home_isolation', 2], ['central_quarantine', 0]]);
  assert.equal(g.properties.kind, 'region');
  assert.equal(g.properties.id, GRID);
  // the other street's central quarantine is at its community, which has no
  // centre: counted, not drawn
  assert.equal(iso.unplaced, 1);
  const ctl = await ok(cc, '/api/v1/map/layers/controlled');
  const cg = ctl.features.find((f) => f.properties.region_code === GRID);
  // confirmed in the building, observation at the grid itself
  assert.equal(cg.properties.count, 2);
  // the counts equal the counters'
  const sum = (fc) => fc.features.reduce((n, f) => n + f.properties.count, 0);
  const st = await ok(cc, '/api/v1/stats/summary?measures=person.status.home_isolation,person.status.central_quarantine');
  assert.equal(sum(iso), st.items[0].value + st.items[1].value - 1 /* the unplaced one */);
  // nothing of a person: no name, no id number, no person id, no point
  // finer than a grid
  for (const fc of [iso, ctl]) {
    const text = JSON.stringify(fc);
    for (const n of names) assert.ok(!text.includes(n), n);
    for (const i of idNumbers) assert.ok(!text.includes(i), i);
    assert.ok(!/person/.test(text), 'no person field');
    for (const f of fc.features) assert.ok(f.properties.region_code.length <= 15, f.properties.region_code);
  }
  // positive control: the same search finds what the reply does hold
  assert.ok(JSON.stringify(iso).includes('第一网格'));
});

test('site, place and camera layers, and their cards', async () => {
  let r = await cc.post('/api/v1/nat/sites', { name: '多福巷核酸点', kind: 'fixed', region_code: COMMUNITY, lng: 116.4012, lat: 39.9105, capacity: 120 });
  assert.equal(r.status, 201, r.text);
  const natSite = r.body;
  r = await site.post(`/api/v1/nat/sites/${natSite.id}/queue`, { queue_length: 17 });
  assert.equal(r.status, 200, r.text);
  r = await cc.post('/api/v1/places', { name: '东华门集中隔离点', kind: 'quarantine_site', region_code: STREET, lng: 116.399, lat: 39.909 });
  assert.equal(r.status, 201, r.text);
  const qs = r.body;
  r = await cc.post('/api/v1/places', { name: '东华门社区卫生服务中心', kind: 'hospital', region_code: COMMUNITY });
  assert.equal(r.status, 201, r.text);
  r = await cc.post('/api/v1/cameras', { name: '多福巷东门枪机', kind: 'bullet', region_code: COMMUNITY, lng: 116.4011, lat: 39.9101, stream_url: 'https://video.example.gov.cn/live/1.m3u8' });
  assert.equal(r.status, 201, r.text);
  const cam = r.body;

  const nat = await ok(cc, '/api/v1/map/layers/nat_sites');
  const p = nat.features.find((f) => f.properties.id === natSite.id);
  assert.deepEqual(p.geometry.coordinates, [116.4012, 39.9105]);
  assert.equal(p.properties.queue_length, 17);
  assert.equal(p.properties.state, 'open');
  assert.equal(p.properties.state_label, '开放');
  let card = await ok(cc, `/api/v1/map/card?kind=nat_site&id=${natSite.id}`);
  assert.equal(card.name, '多福巷核酸点');
  assert.equal(card.queue_length, 17);
  assert.deepEqual(card.rows.find((x) => x.label === '排队人数'), { label: '排队人数', value: 17 });
  assert.equal(card.rows.find((x) => x.label === '所属区划').value, '多福巷社区');

  const q = await ok(cc, '/api/v1/map/layers/quarantine_sites');
  const qp = q.features.find((f) => f.properties.id === qs.id);
  assert.equal(qp.properties.rooms, 0);
  assert.equal(qp.properties.occupancy, null);
  card = await ok(cc, `/api/v1/map/card?kind=quarantine_site&id=${qs.id}`);
  assert.equal(card.rooms, 0);

  // a place without a position stands at its region's centre (the
  // community's, computed from its boundary)
  const med = await ok(cc, '/api/v1/map/layers/medical');
  assert.equal(med.features.length, 1);
  assert.deepEqual(med.features[0].geometry.coordinates.map((v) => v.toFixed(4)), ['116.4000', '39.9100']);

  const cams = await ok(cc, '/api/v1/map/layers/cameras');
  const cp = cams.features.find((f) => f.properties.id === cam.id);
  assert.equal(cp.properties.state, 'unknown');
  assert.equal(cp.properties.state_label, '未检测');
  card = await ok(cc, `/api/v1/map/card?kind=camera&id=${cam.id}`);
  assert.equal(card.title, '多福巷东门枪机');
  assert.equal(card.rows.find((x) => x.label === '状态').value, '未检测');
  assert.ok(!JSON.stringify(card).includes('m3u8'), 'the card does not hand out the stream');

  for (const l of ['venues', 'zones']) {
    const fc = await ok(cc, `/api/v1/map/layers/${l}`);
    assert.equal(fc.type, 'FeatureCollection');
    assert.equal(fc.layer, l);
  }
});

test('a grid card: its figures and its grid workers', async () => {
  const card = await ok(cc, `/api/v1/map/card?kind=region&id=${GRID}`);
  assert.equal(card.kind, 'region');
  assert.equal(card.id, GRID);
  assert.equal(card.title, '东华门街道 · 多福巷社区 · 第一网格');
  assert.deepEqual(card.grid_workers, [{ name: 'gridman' }]);
  const fig = Object.fromEntries(card.figures.map((f) => [f.measure, f.value]));
  assert.equal(fig['person.status.home_isolation'], 2);
  assert.equal(fig['person.status.observation'], 1);
  // a street's card has figures and no grid workers
  const s = await ok(cc, `/api/v1/map/card?kind=region&id=${STREET}`);
  assert.equal(s.grid_workers, undefined);
  assert.equal(Object.fromEntries(s.figures.map((f) => [f.measure, f.value]))['person.status.confirmed'], 1);
});

test('scope: a street sees its own street only', async () => {
  const own = await ok(street, '/api/v1/map/regions?measure=person.status.confirmed');
  assert.equal(own.region.region_code, STREET);
  assert.equal(own.region.value, 1);
  assert.deepEqual(own.path, [{ region_code: STREET, name: '东华门街道' }]);
  for (const path of [`/api/v1/map/regions?region=${OTHER_STREET}`, `/api/v1/map/regions?region=${DISTRICT}`, `/api/v1/map/layers/isolated?region=${OTHER_COMMUNITY}`,
    `/api/v1/map/card?kind=region&id=${OTHER_COMMUNITY}`])
    assert.equal((await street.get(path)).status, 404, path);
  // the other street's isolated person is not in this street's layer
  const iso = await ok(street, '/api/v1/map/layers/isolated');
  assert.equal(iso.features.reduce((n, f) => n + f.properties.count, 0) + iso.unplaced, 2);
  const other = await ok(otherStreet, '/api/v1/map/layers/isolated');
  assert.equal(other.features.length + other.unplaced, 1);
  // sites of the other street: neither listed nor carded
  const nat = await ok(otherStreet, '/api/v1/map/layers/nat_sites');
  assert.equal(nat.features.length, 0);
  const mine = await ok(street, '/api/v1/map/layers/nat_sites');
  assert.equal(mine.features.length, 1, 'positive control: the street sees its own site');
  expectError(await otherStreet.get(`/api/v1/map/card?kind=nat_site&id=${mine.features[0].properties.id}`), 404, 'not_found', 'id');
  // another district's command centre sees none of it
  assert.equal((await ccWest.get(`/api/v1/map/regions?region=${DISTRICT}`)).status, 404);
  // ?within= narrows like every read
  const w = await ok(cc, `/api/v1/map/regions?within=${STREET}`);
  assert.equal(w.region.region_code, STREET);
});

test('bad input: unknown layer or measure, malformed region or id, no permission', async () => {
  expectError(await cc.get('/api/v1/map/layers/people'), 400, 'unknown_layer', 'layer');
  expectError(await cc.get('/api/v1/map/regions?measure=person.status.nope'), 400, 'unknown_measure', 'measure');
  expectError(await cc.get('/api/v1/map/regions?region=1101'), 400, 'invalid_region', 'region');
  expectError(await cc.get('/api/v1/map/layers/cameras?region=abc'), 400, 'invalid_region', 'region');
  expectError(await cc.get('/api/v1/map/regions?region=110109000000'), 404, 'not_found', 'region');
  expectError(await cc.get('/api/v1/map/card?kind=person&id=1'), 400, 'invalid_value', 'kind');
  expectError(await cc.get('/api/v1/map/card?id=1'), 400, 'required', 'kind');
  expectError(await cc.get('/api/v1/map/card?kind=camera'), 400, 'required', 'id');
  expectError(await cc.get('/api/v1/map/card?kind=camera&id=x1'), 400, 'invalid_value', 'id');
  expectError(await cc.get('/api/v1/map/card?kind=region&id=99'), 400, 'invalid_region', 'id');
  expectError(await cc.get('/api/v1/map/card?kind=camera&id=123456'), 404, 'not_found', 'id');
  // a grid worker reads no statistics; nobody signed in gets 401
  assert.equal((await gridWorker.get('/api/v1/map/regions')).status, 403);
  assert.equal((await grid.get('/api/v1/map/layers/cameras')).status, 403);
  assert.equal((await ctx.client().get('/api/v1/map/regions')).status, 401);
  assert.equal((await ctx.client().get('/api/v1/map/stream')).status, 401);
});

test('live: a change of counters is pushed once per community, to the scopes that hold it', async () => {
  // what the earlier tests changed is published within a second: not here
  await sleep(1500);
  const all = await openStream(ctx.url, cc, {}, '/api/v1/map/stream');
  const mine = await openStream(ctx.url, street, {}, '/api/v1/map/stream');
  const theirs = await openStream(ctx.url, otherStreet, {}, '/api/v1/map/stream');
  try {
    assert.equal(all.status, 200);
    assert.match(all.type, /text\/event-stream/);
    // three people in one community within a second: one event for it
    for (let i = 0; i < 3; i++) await person(BUILDING, 'observation');
    assert.ok(await until(() => all.events.length >= 1, 4000), 'the district hears it');
    assert.ok(await until(() => mine.events.length >= 1, 4000), 'the street hears it');
    await sleep(1500);
    const ev = all.events.filter((e) => e.data.region_code === COMMUNITY);
    assert.ok(ev.length >= 1 && ev.length <= 2, `coalesced: ${ev.length} events`);
    assert.equal(ev[0].event, 'changed');
    assert.deepEqual(theirs.events, [], 'the other street hears nothing of it');
    // and the map now shows it
    const fc = await ok(cc, `/api/v1/map/regions?region=${STREET}&measure=person.status.observation`);
    assert.equal(fc.region.value, 4);
    // the other street's own change reaches it (positive control)
    await person(OTHER_COMMUNITY, 'observation');
    assert.ok(await until(() => theirs.events.some((e) => e.data.region_code === OTHER_COMMUNITY), 4000));
  } finally {
    all.close();
    mine.close();
    theirs.close();
  }
});

// Several servers on one PostgreSQL database: a page connected to another
// server hears the change too (NOTIFY fk_map).
test('live across servers (PostgreSQL)', { skip: !onPostgres && 'one server per SQLite file' }, async () => {
  const peer = await startPeer(ctx);
  const onPeer = peer.client();
  await onPeer.login('cc_dc', PW);
  const s = await openStream(peer.url, onPeer, {}, '/api/v1/map/stream');
  try {
    assert.equal(s.status, 200);
    await sleep(300);
    await person(OTHER_COMMUNITY, 'suspected'); // written through the first server
    assert.ok(await until(() => s.events.some((e) => e.data.region_code === OTHER_COMMUNITY), 5000), JSON.stringify(s.events));
  } finally {
    s.close();
    await peer.stop();
  }
});

// The demo city's geography (docs/map.md "Demo geography"): every region
// from the district down to the grid has a polygon, the children of a
// region tile it (their areas add up to its area, each child's centre lies
// inside it), and what stands in a region is drawn inside its polygon.
test('the demo geography: children tile their parent, things stand inside their region', async () => {
  const demo = await startServer({
    setup: (c) => {
      const r = c.fk(['demo', '--persons', '300', '--seed', '3', '--password', PW]);
      if (r.status !== 0) throw new Error(r.stderr);
    },
  });
  try {
    const c = demo.client();
    await c.login('command', PW);
    const area = (ring) => ring.slice(0, -1).reduce((a, p, i) => a + (p[0] * ring[i + 1][1] - ring[i + 1][0] * p[1]), 0) / 2;
    const inside = (ring, [x, y]) => {
      let r = false;
      for (let i = 0, j = ring.length - 2; i < ring.length - 1; j = i++) {
        const [xi, yi] = ring[i];
        const [xj, yj] = ring[j];
        if (yi > y !== yj > y && x < ((xj - xi) * (y - yi)) / (yj - yi) + xi) r = !r;
      }
      return r;
    };
    const rings = {};
    // the district, a street, a community: each tiled by its children
    let code = '440305000000';
    for (let depth = 0; depth < 3; depth++) {
      const fc = await ok(c, `/api/v1/map/regions?region=${code}`);
      const parent = fc.region.geometry.coordinates[0];
      const kids = fc.features.map((f) => f.geometry.coordinates[0]);
      assert.ok(kids.length >= 2, `${code}: ${kids.length} children`);
      const sum = kids.reduce((a, k) => a + area(k), 0);
      assert.ok(Math.abs(sum - area(parent)) < 1e-4 * area(parent), `${code}: ${sum} vs ${area(parent)}`);
      for (const f of fc.features) {
        rings[f.id] = f.geometry.coordinates[0];
        const g = await ok(c, `/api/v1/regions/${f.id}`);
        assert.ok(inside(parent, g.center), `${f.id}'s centre inside ${code}`);
        assert.ok(inside(f.geometry.coordinates[0], g.center), `${f.id}'s centre inside itself`);
      }
      code = fc.features[0].id;
    }
    // positions inside their region: sites and cameras (the first street's
    // communities, whose rings were read above, and the streets)
    const within = async (items, what) => {
      let n = 0;
      for (const it of items) {
        const ring = rings[it.region_code] || (await ok(c, `/api/v1/regions/${it.region_code}?with_boundary=1`)).boundary?.coordinates[0];
        assert.ok(ring, `${what} ${it.name}: its region has a boundary`);
        assert.ok(inside(ring, [it.lng, it.lat]), `${what} ${it.name} at ${it.lng},${it.lat} inside ${it.region_code}`);
        n++;
      }
      assert.ok(n > 0, `some ${what}`);
    };
    await within((await ok(c, '/api/v1/nat/sites?page_size=100')).items, 'site');
    await within((await ok(c, '/api/v1/cameras?page_size=100')).items, 'camera');
    await within((await ok(c, '/api/v1/places?page_size=100&kind=quarantine_site')).items, 'quarantine site');
    await within((await ok(c, '/api/v1/places?page_size=100&kind=hospital')).items, 'health centre');
  } finally {
    await demo.stop();
  }
});
