// Read-only region grants (docs/exchange.md "Federation", src/exchange/caller.c,
// datasets.c, handle.c): a caller reads in its regions and its read-only
// regions and writes in its regions alone; the zones cursor also sends the
// zones anchored above a region read (a district-wide zone reaches a street),
// never a sibling's. Registered by the API (bad input refused with its field)
// and by the CLI (--read-region).
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import fs from 'node:fs';
import path from 'node:path';
import { startCityWith, expectError, residentId } from './lib.mjs';
import { ExchangeClient } from '../../clients/exchange-client.mjs';

const PW = 'Exchange-2024!ro';
const S1 = '110101001000'; // 东华门街道
const S1_C1 = '110101001001'; // 多福巷社区
const S2 = '110101002000'; // 景山街道 (a sibling of S1)
const S2_C1 = '110101002001'; // 隆福寺社区
const XC = '110102000000'; // 西城区
const XC_C1 = '110102001001'; // 府右街社区
let ctx, staff, sec;
let n = 300;
const nextId = () => residentId('110101', '19900101', (n += 2));
const person = (name, region) => ({ name, id_number: nextId(), region_code: region, phone: '13800138000', address: '测试路1号' });

function cliCaller(name, args) {
  const keyFile = path.join(ctx.dir, `${name}.pem`);
  const r = ctx.fk(['exchange', 'caller', 'add', '--name', name, '--org', '测试单位', ...args, '--key-out', keyFile]);
  return { ...r, client: r.status === 0 ? new ExchangeClient({ base: ctx.url, caller: r.stdout.trim(), privateKeyPem: fs.readFileSync(keyFile, 'utf8') }) : null };
}

async function changes(c, dataset, since, region) {
  const query = `since=${since}&limit=1000` + (region ? `&region=${region}` : '');
  const r = await c.get(`/exchange/v1/${dataset}/changes`, { query });
  assert.equal(r.status, 200, r.text);
  assert.ok(r.verified);
  return r.body;
}

before(async () => {
  ctx = await startCityWith({ center: ['command_center', '110000000000'], sec: ['security_admin', '110101000000'] }, PW);
  ({ center: staff, sec } = ctx.as);
});

after(async () => {
  await ctx?.stop();
});

test('a read-only region is read (cursor, region parameter) but never written; without it the same reads are refused', async () => {
  const { client: c } = cliCaller('街道下行', ['--region', S1, '--read-region', XC, '--read', 'persons,zones,cases', '--write', 'persons']);
  const { client: plain } = cliCaller('街道普通', ['--region', S1, '--read', 'persons,zones,cases', '--write', 'persons']);
  const start = (await changes(c, 'persons', 0)).next;
  const west = await staff.post('/api/v1/persons', person('西城居民', XC_C1));
  assert.equal(west.status, 201, west.text);
  const east = await staff.post('/api/v1/persons', person('东华门居民', S1_C1));
  assert.equal(east.status, 201, east.text);
  const jing = await staff.post('/api/v1/persons', person('景山居民', S2_C1));
  assert.equal(jing.status, 201, jing.text);
  // the cursor: its own street and the read-only district, not the sibling street
  let page = await changes(c, 'persons', start);
  assert.deepEqual(new Set(page.items.map((x) => x.id)), new Set([west.body.id, east.body.id]));
  // positive control: the same caller without the read-only grant sees its street only
  page = await changes(plain, 'persons', start);
  assert.deepEqual(page.items.map((x) => x.id), [east.body.id]);
  // the region parameter may name the read-only region on a read
  page = await changes(c, 'persons', start, XC);
  assert.deepEqual(page.items.map((x) => x.id), [west.body.id]);
  expectError(await plain.get('/exchange/v1/persons/changes', { query: `region=${XC}` }), 403, 'region_not_granted', 'region');
  expectError(await c.get('/exchange/v1/persons/changes', { query: `region=${S2}` }), 403, 'region_not_granted', 'region');
  // writing there is refused, per record and by the region parameter
  let w = await c.post('/exchange/v1/persons', { records: [person('写入西城', XC_C1), person('写入东华门', S1_C1)] }, { idempotencyKey: 'ro-write-1' });
  assert.equal(w.status, 200, w.text);
  assert.deepEqual(w.body.results.map((x) => x.ok), [false, true]);
  assert.equal(w.body.results[0].error.code, 'region_not_granted');
  w = await c.post('/exchange/v1/persons', { region: XC, records: [person('写入西城', XC_C1)] }, { idempotencyKey: 'ro-write-2' });
  expectError(w, 403, 'region_not_granted', 'region');
  // a case read (a read path) reaches a person of the read-only region
  const cases = await c.get('/exchange/v1/cases', { query: `person_id=${west.body.id}` });
  assert.equal(cases.status, 200, cases.text);
  expectError(await plain.get('/exchange/v1/cases', { query: `person_id=${west.body.id}` }), 404, 'not_found', 'person_id');
});

test('zones: a zone anchored above a region read is sent (district-wide reaches the street), a sibling street\'s is not', async () => {
  const { client: c } = cliCaller('街道封控订阅', ['--region', S1, '--read', 'zones']);
  const start = (await changes(c, 'zones', 0)).next;
  const district = await staff.post('/api/v1/zones', { kind: 'controlled', name: '东城区全域管控', region_code: '110101000000' });
  assert.equal(district.status, 201, district.text);
  const sibling = await staff.post('/api/v1/zones', { kind: 'sealed', name: '景山封控', region_code: S2_C1 });
  assert.equal(sibling.status, 201, sibling.text);
  const own = await staff.post('/api/v1/zones', { kind: 'sealed', name: '多福巷封控', region_code: S1_C1 });
  assert.equal(own.status, 201, own.text);
  const west = await staff.post('/api/v1/zones', { kind: 'sealed', name: '西城封控', region_code: XC_C1 });
  assert.equal(west.status, 201, west.text);
  const page = await changes(c, 'zones', start);
  assert.deepEqual(page.items.map((x) => x.id), [district.body.id, own.body.id]);
  assert.equal(page.items[0].region, '110101000000');
  // the region parameter: the anchors above it too
  const byParam = await changes(c, 'zones', start, S1_C1);
  assert.deepEqual(byParam.items.map((x) => x.id), [district.body.id, own.body.id]);
});

test('the API: read_regions registered, shown by name, changed and cleared; bad input refused with its field', async () => {
  const good = { name: '区下行平台', organisation: '东城区', contact_name: '李工', contact_phone: '13800138001', regions: [S1], read_regions: ['110101000000'], read: ['zones'], write: ['persons'] };
  expectError(await sec.post('/api/v1/exchange/callers', { ...good, read_regions: ['12'] }), 400, 'invalid_region', 'read_regions');
  expectError(await sec.post('/api/v1/exchange/callers', { ...good, read_regions: [S2, S2] }), 400, 'invalid_region', 'read_regions');
  expectError(await sec.post('/api/v1/exchange/callers', { ...good, read_regions: 'x' }), 400, 'invalid_type', 'read_regions');
  expectError(await sec.post('/api/v1/exchange/callers', { ...good, read_regions: Array(9).fill(S1) }), 400, 'out_of_range', 'read_regions');
  // outside the administrator's scope (东城区): 西城区 cannot be granted, not even for reading
  expectError(await sec.post('/api/v1/exchange/callers', { ...good, read_regions: [XC] }), 400, 'invalid_region', 'read_regions');
  let r = await sec.post('/api/v1/exchange/callers', good);
  assert.equal(r.status, 201, r.text);
  const id = r.body.id;
  assert.deepEqual(r.body.read_regions, ['东城区'], 'names, never codes');
  let got = await sec.get(`/api/v1/exchange/callers/${id}`);
  assert.equal(got.status, 200, got.text);
  assert.deepEqual(got.body.read_region_codes, ['110101000000']);
  assert.deepEqual(got.body.regions, ['东华门街道']);
  const list = await sec.get('/api/v1/exchange/callers?q=区下行');
  assert.deepEqual(list.body.items[0].read_regions, ['东城区']);
  // an update of something else keeps them; an empty list clears them
  r = await sec.patch(`/api/v1/exchange/callers/${id}`, { rate_per_min: 100 });
  assert.equal(r.status, 200, r.text);
  got = await sec.get(`/api/v1/exchange/callers/${id}`);
  assert.deepEqual(got.body.read_region_codes, ['110101000000']);
  expectError(await sec.patch(`/api/v1/exchange/callers/${id}`, { read_regions: ['990000000000'] }), 400, 'invalid_region', 'read_regions');
  r = await sec.patch(`/api/v1/exchange/callers/${id}`, { read_regions: [] });
  assert.equal(r.status, 200, r.text);
  got = await sec.get(`/api/v1/exchange/callers/${id}`);
  assert.deepEqual(got.body.read_region_codes, []);
  assert.deepEqual(got.body.read_regions, []);
  // a caller created without them has none
  r = await sec.post('/api/v1/exchange/callers', { ...good, name: '无只读', read_regions: undefined });
  assert.equal(r.status, 201, r.text);
  assert.deepEqual(r.body.read_regions, []);
});

test('the CLI: --read-region checked like the API', async () => {
  const bad = cliCaller('坏只读', ['--region', S1, '--read-region', '990000000000', '--read', 'zones']);
  assert.equal(bad.status, 1);
  assert.match(bad.stderr, /read_regions/);
  const malformed = cliCaller('坏只读2', ['--region', S1, '--read-region', 'abc', '--read', 'zones']);
  assert.equal(malformed.status, 1);
  assert.match(malformed.stderr, /区划代码格式不正确/);
});
