// The camera ledger (/api/v1/cameras, docs/video.md): CRUD with audit, bad
// input (URL schemes, positions, objects), scope (a street sees only its
// cameras, another district none), permissions, search and CSV export, and
// the near look-up's order and radius, the import of an offline survey
// (xlsx, the rows at fault in the error report).
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import fs from 'node:fs';
import http from 'node:http';
import https from 'node:https';
import os from 'node:os';
import path from 'node:path';
import { execFileSync, spawnSync } from 'node:child_process';
import { startCityWith, CITY_STAFF, expectError, auditEntries, waitForAudit, residentId, BIN } from './lib.mjs';

const PW = 'Camera-test-2024!';
const DC_S1 = '110101001000'; // 东华门街道
const DC_S1_C1 = '110101001001'; // 多福巷社区
const DC_S2_C1 = '110101002001'; // under 景山街道
const XC_C1 = '110102001001'; // another district
// 东华门 (lng, lat); one degree of latitude is 111.2 km
const O = { lng: 116.4, lat: 39.9 };
const north = (m) => ({ lng: O.lng, lat: O.lat + m / 111195 });

const BUILDING = '110101001001001001'; // 1号楼 in 多福巷社区
let ctx, cc, ccWest, street, grid, auditor, comm, commOther;

// The video network's own CA (FK_VIDEO_CA_FILE) and a stream server's
// certificate for localhost signed by it; and a self-signed one, trusted by
// nobody.
const PKI = fs.mkdtempSync(path.join(os.tmpdir(), 'fk-cameras-'));
function pki() {
  const o = (...args) => execFileSync('openssl', args, { cwd: PKI, stdio: ['ignore', 'ignore', 'pipe'] });
  o('req', '-x509', '-newkey', 'rsa:2048', '-nodes', '-keyout', 'ca.key', '-out', 'ca.pem', '-days', '2', '-subj', '/CN=fangkong test video CA');
  o('req', '-newkey', 'rsa:2048', '-nodes', '-keyout', 'srv.key', '-out', 'srv.csr', '-subj', '/CN=localhost');
  fs.writeFileSync(path.join(PKI, 'san.ext'), 'subjectAltName=DNS:localhost\n');
  o('x509', '-req', '-in', 'srv.csr', '-CA', 'ca.pem', '-CAkey', 'ca.key', '-CAcreateserial', '-out', 'srv.pem', '-days', '2', '-extfile', 'san.ext');
  o('req', '-x509', '-newkey', 'rsa:2048', '-nodes', '-keyout', 'self.key', '-out', 'self.pem', '-days', '2', '-subj', '/CN=localhost', '-addext', 'subjectAltName=DNS:localhost');
}

before(async () => {
  pki();
  ctx = await startCityWith(
    { ...CITY_STAFF, street_s1: ['street_staff', DC_S1], comm_s1: ['community_staff', DC_S1_C1],
      comm_s2: ['community_staff', DC_S2_C1] },
    PW,
    { env: { FK_VIDEO_CA_FILE: path.join(PKI, 'ca.pem'), FK_VIDEO_ORIGINS: 'https://video.example.gov.cn, http://10.0.0.9:8080' } },
  );
  ({ cc_dc: cc, cc_xc: ccWest, grid_dc: grid, street_s1: street, auditor, comm_s1: comm, comm_s2: commOther } = ctx.as);
});

after(async () => {
  await ctx?.stop();
  fs.rmSync(PKI, { recursive: true, force: true });
});

const base = () => ({
  name: '多福巷东门枪机', code: '11010100001310000001', kind: 'bullet', region_code: DC_S1_C1,
  ...O, stream_url: 'https://video.example.gov.cn/live/1.m3u8',
});

async function create(body = {}, client = cc) {
  const r = await client.post('/api/v1/cameras', { ...base(), ...body });
  assert.equal(r.status, 201, r.text);
  return r.body;
}

test('create, read, update, delete, each write audited', async () => {
  const c = await create({ object_kind: 'toilet', object_name: '多福巷公厕' });
  assert.equal(c.name, '多福巷东门枪机');
  assert.equal(c.kind_label, '枪机');
  assert.equal(c.region_name, '多福巷社区');
  assert.deepEqual(c.objects.map(({ id: _, ...o }) => o),
    [{ kind: 'toilet', kind_label: '公共厕所', object_id: null, name: '多福巷公厕' }]);
  assert.equal(c.state, 'unknown');
  assert.equal(c.checked_at, null);
  assert.equal(c.lng, O.lng);
  let r = await cc.get(`/api/v1/cameras/${c.id}`);
  assert.equal(r.status, 200, r.text);
  assert.equal(r.body.stream_url, base().stream_url);
  let audit = await auditEntries(auditor, 'camera.create', c.id);
  assert.match(audit[0].detail, /fields=.*stream_url/);

  r = await cc.patch(`/api/v1/cameras/${c.id}`, { kind: 'dome', stream_url: 'rtsp://10.0.0.8:554/ch1' });
  assert.equal(r.status, 200, r.text);
  assert.equal(r.body.kind, 'dome');
  assert.equal(r.body.stream_url, 'rtsp://10.0.0.8:554/ch1');
  assert.equal(r.body.version, 2);
  audit = await auditEntries(auditor, 'camera.update', c.id);
  assert.match(audit[0].detail, /fields=.*kind/);

  r = await cc.del(`/api/v1/cameras/${c.id}`);
  assert.equal(r.status, 204, r.text);
  r = await cc.get(`/api/v1/cameras/${c.id}`);
  assert.equal(r.status, 404);
  await auditEntries(auditor, 'camera.delete', c.id);
});

test('bad input: 400 naming the field, nothing written', async () => {
  const before = (await cc.get('/api/v1/cameras')).body.total;
  for (const [body, code, field] of [
    [{ stream_url: 'ftp://video.example.gov.cn/1.m3u8' }, 'invalid_url', 'stream_url'],
    [{ stream_url: 'javascript:alert(1)' }, 'invalid_url', 'stream_url'],
    [{ stream_url: 'https:///no-host' }, 'invalid_url', 'stream_url'],
    [{ stream_url: 'https://a b/1.m3u8' }, 'invalid_url', 'stream_url'],
    [{ stream_url: 'https://x/' + 'a'.repeat(600) }, undefined, 'stream_url'],
    [{ lng: 180.5 }, 'out_of_range', 'lng'],
    [{ lat: -91 }, 'out_of_range', 'lat'],
    [{ lat: '39.9' }, undefined, 'lat'],
    [{ kind: 'fisheye' }, undefined, 'kind'],
    [{ name: '' }, undefined, 'name'],
    [{ region_code: XC_C1 }, 'invalid_region', 'region_code'],
    [{ object_kind: 'other', object_id: '123' }, 'invalid_value', 'object_id'],
    [{ object_kind: 'toilet', object_id: '123' }, 'invalid_object', 'object_id'],
    [{ object_kind: 'nat_site' }, 'required', 'object_name'],
    [{ object_name: '公厕' }, 'required', 'object_kind'],
    [{ object_kind: 'castle', object_name: 'x' }, undefined, 'object_kind'],
  ]) {
    const r = await cc.post('/api/v1/cameras', { ...base(), ...body });
    assert.equal(r.status, 400, JSON.stringify(body) + ' ' + r.text);
    if (code) expectError(r, 400, code, field);
    else assert.equal(r.body.error.field, field, JSON.stringify(body) + ' ' + r.text);
  }
  const { stream_url: _u, ...noUrl } = base();
  expectError(await cc.post('/api/v1/cameras', noUrl), 400, 'required', 'stream_url');
  // a positive control: the same body with a good URL is accepted
  const ok = await create({ name: 'BAD_对照' });
  const c = await create({ name: 'BAD_改' });
  let r = await cc.patch(`/api/v1/cameras/${c.id}`, { stream_url: 'javascript:alert(1)' });
  expectError(r, 400, 'invalid_url', 'stream_url');
  r = await cc.get(`/api/v1/cameras/${c.id}`);
  assert.equal(r.body.stream_url, base().stream_url);
  assert.equal(r.body.version, 1);
  expectError(await cc.patch(`/api/v1/cameras/${c.id}`, {}), 400, 'empty_update');
  assert.equal((await cc.get('/api/v1/cameras')).body.total, before + 2);
  await cc.del(`/api/v1/cameras/${ok.id}`);
  await cc.del(`/api/v1/cameras/${c.id}`);
});

test('scope and permissions: a street sees only its cameras', async () => {
  const mine = await create({ name: 'SCOPE_本街道', region_code: DC_S1_C1 });
  const other = await create({ name: 'SCOPE_景山', region_code: DC_S2_C1 });
  const west = await create({ name: 'SCOPE_西城', region_code: XC_C1 }, ccWest);
  let r = await street.get('/api/v1/cameras?q=SCOPE_');
  assert.equal(r.status, 200, r.text);
  assert.deepEqual(r.body.items.map((c) => c.name), ['SCOPE_本街道']);
  r = await cc.get('/api/v1/cameras?q=SCOPE_&sort=name');
  assert.deepEqual(r.body.items.map((c) => c.name).sort(), ['SCOPE_景山', 'SCOPE_本街道']);
  assert.equal((await street.get(`/api/v1/cameras/${other.id}`)).status, 404);
  assert.equal((await cc.get(`/api/v1/cameras/${west.id}`)).status, 404);
  assert.equal((await cc.patch(`/api/v1/cameras/${west.id}`, { name: 'x' })).status, 404);
  assert.equal((await cc.del(`/api/v1/cameras/${west.id}`)).status, 404);
  assert.equal((await ccWest.get(`/api/v1/cameras/${west.id}`)).body.name, 'SCOPE_西城');
  // street staff read, never write; a grid worker has no camera permission
  assert.equal((await street.post('/api/v1/cameras', base())).status, 403);
  assert.equal((await street.patch(`/api/v1/cameras/${mine.id}`, { name: 'x' })).status, 403);
  assert.equal((await grid.get('/api/v1/cameras')).status, 403);
  r = await street.get(`/api/v1/cameras?region_code=${DC_S2_C1}`);
  expectError(r, 400, 'invalid_region', 'region_code');
  for (const c of [mine, other]) await cc.del(`/api/v1/cameras/${c.id}`);
  await ccWest.del(`/api/v1/cameras/${west.id}`);
});

test('list: filters, search by name or code, paging, CSV export', async () => {
  await create({ name: 'LIST_甲', code: 'LISTCODE-1', kind: 'dome' });
  await create({ name: 'LIST_乙', code: 'X-2', kind: 'mini_dome', object_kind: 'place', object_name: '方舱医院' });
  let r = await cc.get('/api/v1/cameras?q=listcode');
  assert.deepEqual(r.body.items.map((c) => c.name), ['LIST_甲']);
  r = await cc.get('/api/v1/cameras?q=LIST_&kind=mini_dome');
  assert.deepEqual(r.body.items.map((c) => c.name), ['LIST_乙']);
  r = await cc.get('/api/v1/cameras?q=LIST_&object_kind=place&state=unknown');
  assert.deepEqual(r.body.items.map((c) => c.name), ['LIST_乙']);
  r = await cc.get('/api/v1/cameras?q=LIST_&sort=name&page_size=1&page=2');
  assert.equal(r.body.total, 2);
  assert.deepEqual(r.body.items.map((c) => c.name), ['LIST_甲']); // 乙 (U+4E59) sorts before 甲 (U+7532)
  for (const [q, field] of [['kind=fisheye', 'kind'], ['state=asleep', 'state'], ['sort=lng', 'sort'],
    ['format=xml', 'format'], ['object_id=x', 'object_id'], ['object_kind=castle', 'object_kind']]) {
    r = await cc.get('/api/v1/cameras?' + q);
    assert.equal(r.status, 400, q);
    assert.equal(r.body.error.field, field, q);
  }
  r = await cc.get('/api/v1/cameras?q=LIST_&format=csv&sort=name');
  assert.equal(r.status, 200);
  assert.match(r.headers.get('content-type'), /text\/csv/);
  const lines = r.text.replace(/^\ufeff/, '').trim().split('\r\n');
  assert.match(lines[0], /^编号,摄像头名称,视频网编号,摄像头类型/);
  assert.equal(lines.length, 3);
  assert.match(lines[1], /LIST_乙,X-2,半球,"\t110101001001",多福巷社区,116\.400000,39\.900000/);
  assert.match(lines[1], /,场所：方舱医院,未检测/);
});

test('near: inside the radius only, nearest first, in scope', async () => {
  const at = async (name, m, extra = {}) => create({ name, ...north(m), ...extra });
  const far = await at('NEAR_1200', 1200);
  const mid = await at('NEAR_300', 300);
  const near = await at('NEAR_50', 50);
  const south = await at('NEAR_南100', -100);
  const outside = await at('NEAR_6000', 6000);
  const west = await create({ name: 'NEAR_西城', region_code: XC_C1, ...north(10) }, ccWest);
  let r = await cc.get(`/api/v1/cameras/near?lng=${O.lng}&lat=${O.lat}&radius_m=1500`);
  assert.equal(r.status, 200, r.text);
  const got = r.body.items.filter((c) => c.name.startsWith('NEAR_'));
  assert.deepEqual(got.map((c) => c.name), ['NEAR_50', 'NEAR_南100', 'NEAR_300', 'NEAR_1200']);
  assert.ok(Math.abs(got[0].distance_m - 50) < 1, String(got[0].distance_m));
  assert.ok(Math.abs(got[3].distance_m - 1200) < 2, String(got[3].distance_m));
  r = await cc.get(`/api/v1/cameras/near?lng=${O.lng}&lat=${O.lat}&radius_m=200`);
  assert.deepEqual(r.body.items.filter((c) => c.name.startsWith('NEAR_')).map((c) => c.name),
    ['NEAR_50', 'NEAR_南100']);
  r = await ccWest.get(`/api/v1/cameras/near?lng=${O.lng}&lat=${O.lat}&radius_m=5000`);
  assert.deepEqual(r.body.items.map((c) => c.name), ['NEAR_西城']);
  for (const [q, code, field] of [
    ['lng=116.4&lat=39.9&radius_m=5001', 'out_of_range', 'radius_m'],
    ['lng=116.4&lat=39.9&radius_m=0', 'out_of_range', 'radius_m'],
    ['lng=181&lat=39.9&radius_m=100', 'out_of_range', 'lng'],
    ['lng=116.4&lat=91&radius_m=100', 'out_of_range', 'lat'],
    ['lng=116.4&radius_m=100', 'invalid_parameter', 'lat'],
    ['lng=abc&lat=39.9&radius_m=100', 'invalid_parameter', 'lng'],
    ['lng=116.4&lat=39.9&radius_m=1e400', 'invalid_parameter', 'radius_m'],
  ]) expectError(await cc.get('/api/v1/cameras/near?' + q), 400, code, field);
  for (const c of [far, mid, near, south, outside]) await cc.del(`/api/v1/cameras/${c.id}`);
  await ccWest.del(`/api/v1/cameras/${west.id}`);
});

test('objects: a bound id must be in scope and gives its name; cameras of an object; proposals by distance', async () => {
  let r = await cc.post('/api/v1/nat/sites', { name: '东华门核酸点', kind: 'fixed', region_code: DC_S1_C1, ...O });
  assert.equal(r.status, 201, r.text);
  const site = r.body;
  r = await cc.post('/api/v1/nat/sites', { name: '无位置核酸点', kind: 'fixed', region_code: DC_S1_C1 });
  assert.equal(r.status, 201, r.text);
  const noPos = r.body;
  r = await ccWest.post('/api/v1/nat/sites', { name: '西城核酸点', kind: 'fixed', region_code: XC_C1 });
  assert.equal(r.status, 201, r.text);
  const westSite = r.body;
  const bound = await create({ name: 'OBJ_已绑定', object_kind: 'nat_site', object_id: site.id, ...north(120) });
  assert.equal(bound.objects[0].name, '东华门核酸点', 'the record\'s name is stored with the camera');
  const free = await create({ name: 'OBJ_未绑定', ...north(40) });
  const far = await create({ name: 'OBJ_远处', ...north(900) });
  expectError(await cc.post('/api/v1/cameras', { ...base(), object_kind: 'nat_site', object_id: westSite.id }),
    400, 'invalid_object', 'object_id');
  expectError(await cc.post(`/api/v1/cameras/${free.id}/objects`, { object_kind: 'place', object_id: site.id }),
    400, 'invalid_object', 'object_id');
  // objects are bound through …/objects, never by a PATCH of the camera
  assert.equal((await cc.patch(`/api/v1/cameras/${free.id}`, { object_kind: 'nat_site', object_id: site.id })).status, 400);
  // the cameras of an object
  r = await cc.get(`/api/v1/cameras?object_kind=nat_site&object_id=${site.id}`);
  assert.deepEqual(r.body.items.map((c) => c.name), ['OBJ_已绑定']);
  // proposals: nearest first within the radius, the bound one marked
  r = await cc.get(`/api/v1/cameras/proposals?object_kind=nat_site&object_id=${site.id}&radius_m=500`);
  assert.equal(r.status, 200, r.text);
  assert.equal(r.body.object.name, '东华门核酸点');
  const got = r.body.items.filter((c) => c.name.startsWith('OBJ_'));
  assert.deepEqual(got.map((c) => [c.name, c.bound]), [['OBJ_未绑定', false], ['OBJ_已绑定', true]]);
  // accepting the proposal: the camera is bound, audited
  r = await cc.post(`/api/v1/cameras/${free.id}/objects`, { object_kind: 'nat_site', object_id: site.id });
  assert.equal(r.status, 201, r.text);
  assert.deepEqual(r.body.objects.map((o) => o.name), ['东华门核酸点']);
  assert.match((await auditEntries(auditor, 'camera.bind', free.id))[0].detail, /kind=nat_site/);
  r = await cc.get(`/api/v1/cameras?object_kind=nat_site&object_id=${site.id}&sort=name`);
  assert.equal(r.body.total, 2);
  r = await cc.get(`/api/v1/cameras/proposals?object_kind=nat_site&object_id=${site.id}&radius_m=500`);
  assert.ok(r.body.items.filter((c) => c.name.startsWith('OBJ_')).every((c) => c.bound));
  expectError(await cc.get(`/api/v1/cameras/proposals?object_kind=nat_site&object_id=${noPos.id}`), 400, 'no_position', 'object_id');
  expectError(await cc.get(`/api/v1/cameras/proposals?object_kind=nat_site&object_id=${westSite.id}`), 400, 'invalid_object', 'object_id');
  expectError(await cc.get(`/api/v1/cameras/proposals?object_kind=toilet&object_id=${site.id}`), 400, 'invalid_object', 'object_id');
  assert.equal((await cc.get(`/api/v1/cameras/proposals?object_kind=nat_site&object_id=${site.id}&radius_m=5001`)).status, 400);
  for (const c of [bound, free, far]) await cc.del(`/api/v1/cameras/${c.id}`);
});

test('vocabularies: the camera kinds are served for the forms', async () => {
  const r = await cc.get('/api/v1/vocabularies');
  assert.equal(r.status, 200, r.text);
  const kinds = r.body.camera_kinds;
  assert.ok(kinds, Object.keys(r.body).join(','));
  assert.deepEqual(kinds.items.map((w) => w.label), ['枪机', '球机', '半球', '其他']);
});

test('several objects per camera: by id and by name, no duplicate, unbound again; public toilets and their cameras', async () => {
  let r = await cc.post('/api/v1/nat/sites', { name: '多福巷核酸点', kind: 'fixed', region_code: DC_S1_C1, ...O });
  assert.equal(r.status, 201, r.text);
  const site = r.body;
  r = await cc.post('/api/v1/places', { name: '多福巷公厕', kind: 'toilet', region_code: DC_S1_C1, ...north(30) });
  assert.equal(r.status, 201, r.text);
  const toilet = r.body;
  assert.equal(toilet.kind_label, '公共厕所', 'the place vocabulary has public toilets');
  r = await cc.post('/api/v1/places', { name: '隆福寺公厕', kind: 'toilet', region_code: DC_S2_C1 });
  const toilet2 = r.body;
  r = await cc.post('/api/v1/places', { name: '多福巷小区', kind: 'community', region_code: DC_S1_C1 });
  const notToilet = r.body;
  const cam = await create({ name: 'MULTI_路口球机', kind: 'dome', object_kind: 'nat_site', object_id: site.id });
  const cam2 = await create({ name: 'MULTI_公厕枪机' });
  // a second and a third object: a toilet by id, a market by name
  r = await cc.post(`/api/v1/cameras/${cam.id}/objects`, { object_kind: 'toilet', object_id: toilet.id });
  assert.equal(r.status, 201, r.text);
  r = await cc.post(`/api/v1/cameras/${cam.id}/objects`, { object_kind: 'other', object_name: '朝阳门菜市场' });
  assert.equal(r.status, 201, r.text);
  assert.deepEqual(r.body.objects.map((o) => [o.kind, o.name]).sort(),
    [['nat_site', '多福巷核酸点'], ['other', '朝阳门菜市场'], ['toilet', '多福巷公厕']]);
  r = await cc.post(`/api/v1/cameras/${cam2.id}/objects`, { object_kind: 'toilet', object_id: toilet.id });
  assert.equal(r.status, 201, r.text);
  // bad bindings change nothing
  for (const [body, status, code, field] of [
    [{ object_kind: 'toilet', object_id: toilet.id }, 409, 'already_bound', 'object_id'],
    [{ object_kind: 'other', object_name: '朝阳门菜市场' }, 409, 'already_bound', 'object_id'],
    [{ object_kind: 'toilet', object_id: notToilet.id }, 400, 'invalid_object', 'object_id'],
    [{ object_kind: 'other', object_id: toilet.id }, 400, 'invalid_value', 'object_id'],
    [{ object_kind: 'toilet' }, 400, 'required', 'object_name'],
    [{ object_name: '无类型' }, 400, 'required', 'object_kind'],
    [{ object_kind: 'castle', object_name: 'x' }, 400, undefined, 'object_kind'],
    [{ object_kind: 'other', object_name: 'x'.repeat(101) }, 400, undefined, 'object_name'],
  ]) {
    r = await cc.post(`/api/v1/cameras/${cam.id}/objects`, body);
    if (code) expectError(r, status, code, field);
    else assert.equal(r.body?.error?.field, field, JSON.stringify(body) + ' ' + r.text);
  }
  assert.equal((await cc.get(`/api/v1/cameras/${cam.id}`)).body.objects.length, 3);
  assert.equal((await street.post(`/api/v1/cameras/${cam.id}/objects`, { object_kind: 'other', object_name: 'x' })).status, 403);
  assert.equal((await ccWest.post(`/api/v1/cameras/${cam.id}/objects`, { object_kind: 'other', object_name: 'x' })).status, 404);
  // the cameras of each object
  const namesOf = async (q) => (await cc.get(`/api/v1/cameras?sort=name&${q}`)).body.items.map((c) => c.name);
  assert.deepEqual(await namesOf(`object_kind=toilet&object_id=${toilet.id}`), ['MULTI_公厕枪机', 'MULTI_路口球机']);
  assert.deepEqual(await namesOf(`object_kind=nat_site&object_id=${site.id}`), ['MULTI_路口球机']);
  assert.deepEqual(await namesOf('q=MULTI_&object_kind=other'), ['MULTI_路口球机']);
  // public toilets and their cameras: a street sees its own toilets only
  r = await cc.get('/api/v1/cameras/toilets');
  assert.equal(r.status, 200, r.text);
  assert.deepEqual(r.body.items.map((t) => [t.name, t.region_name, t.cameras.map((c) => c.name)]),
    [['多福巷公厕', '多福巷社区', ['MULTI_公厕枪机', 'MULTI_路口球机']], ['隆福寺公厕', '隆福寺社区', []]]);
  r = await street.get('/api/v1/cameras/toilets');
  assert.deepEqual(r.body.items.map((t) => t.name), ['多福巷公厕']);
  // proposals around a toilet mark the cameras watching it, however bound
  const asPlace = await create({ name: 'MULTI_按场所绑定', object_kind: 'place', object_id: toilet.id });
  const unbound = await create({ name: 'MULTI_未绑定' });
  r = await cc.get(`/api/v1/cameras/proposals?object_kind=toilet&object_id=${toilet.id}&radius_m=200`);
  assert.equal(r.status, 200, r.text);
  assert.deepEqual(r.body.items.filter((c) => c.name.startsWith('MULTI_')).map((c) => [c.name, c.bound]).sort(),
    [['MULTI_公厕枪机', true], ['MULTI_按场所绑定', true], ['MULTI_未绑定', false], ['MULTI_路口球机', true]]);
  r = await cc.get('/api/v1/cameras/toilets');
  assert.deepEqual(r.body.items[0].cameras.map((c) => c.name), ['MULTI_公厕枪机', 'MULTI_按场所绑定', 'MULTI_路口球机']);
  for (const c of [asPlace, unbound]) await cc.del(`/api/v1/cameras/${c.id}`);
  assert.equal((await grid.get('/api/v1/cameras/toilets')).status, 403);
  // unbinding: audited, the camera no longer among the toilet's
  const b = (await cc.get(`/api/v1/cameras/${cam.id}`)).body.objects.find((o) => o.kind === 'toilet');
  assert.equal((await ccWest.del(`/api/v1/cameras/${cam.id}/objects/${b.id}`)).status, 404);
  assert.equal((await cc.del(`/api/v1/cameras/${cam2.id}/objects/${b.id}`)).status, 404, 'a binding of another camera');
  r = await cc.del(`/api/v1/cameras/${cam.id}/objects/${b.id}`);
  assert.equal(r.status, 200, r.text);
  assert.equal(r.body.objects.length, 2);
  assert.match((await auditEntries(auditor, 'camera.unbind', cam.id))[0].detail, new RegExp(`binding=${b.id}`));
  assert.deepEqual(await namesOf(`object_kind=toilet&object_id=${toilet.id}`), ['MULTI_公厕枪机']);
  for (const c of [cam, cam2]) await cc.del(`/api/v1/cameras/${c.id}`);
  for (const p of [toilet, toilet2, notToilet]) await cc.del(`/api/v1/places/${p.id}`);
});

test('playback: the stream address only through an audited play call, never in lists of roles without playback', async () => {
  const c = await create({ name: 'PLAY_东门', stream_url: 'https://video.example.gov.cn/live/play.m3u8' });
  const rtsp = await create({ name: 'PLAY_西门', stream_url: 'rtsp://10.0.0.9:554/ch1' });
  // the ledger's keepers see addresses; a street (camera.read, camera.play) does not, in any reply
  assert.equal((await cc.get(`/api/v1/cameras/${c.id}`)).body.stream_url, 'https://video.example.gov.cn/live/play.m3u8');
  let r = await street.get('/api/v1/cameras?q=PLAY_');
  assert.equal(r.body.items.length, 2);
  assert.ok(!r.text.includes('video.example.gov.cn') && !r.text.includes('10.0.0.9'), r.text);
  r = await street.get(`/api/v1/cameras/${c.id}`);
  assert.equal(r.status, 200);
  assert.equal(r.body.stream_url, undefined);
  assert.equal(r.body.name, 'PLAY_东门', 'a positive control: the reply is the camera');
  r = await street.get(`/api/v1/cameras/near?lng=${O.lng}&lat=${O.lat}&radius_m=100`);
  assert.ok(r.body.items.length >= 2 && !r.text.includes('video.example.gov.cn'));
  r = await street.get('/api/v1/cameras?q=PLAY_&format=csv');
  assert.ok(!r.text.includes('视频流地址') && !r.text.includes('video.example.gov.cn') && r.text.includes('PLAY_东门'), r.text);
  // play: the address, audited with its purpose
  r = await street.post(`/api/v1/cameras/${c.id}/play`);
  assert.equal(r.status, 200, r.text);
  assert.deepEqual([r.body.url, r.body.hls, r.body.name], ['https://video.example.gov.cn/live/play.m3u8', true, 'PLAY_东门']);
  let audit = await auditEntries(auditor, 'camera.play', c.id);
  assert.equal(audit.length, 1);
  assert.equal(audit[0].result, 'ok');
  assert.match(audit[0].detail, /purpose=ledger/);
  r = await street.post(`/api/v1/cameras/${rtsp.id}/play`);
  assert.equal(r.body.hls, false, 'rtsp is not played in a browser');
  // refused: no permission (a grid worker), or a camera outside scope; both audited
  expectError(await grid.post(`/api/v1/cameras/${c.id}/play`), 403, 'forbidden');
  assert.ok((await waitForAudit(auditor, 'action=route.refused', (x) => x.detail === '/api/v1/cameras/{id}/play'))
    .some((x) => x.detail === '/api/v1/cameras/{id}/play'));
  assert.equal((await ccWest.post(`/api/v1/cameras/${c.id}/play`)).status, 404);
  audit = await waitForAudit(auditor, `action=camera.play&object_id=${c.id}`, (x) => x.result !== 'ok');
  assert.deepEqual(audit.map((x) => x.result).sort(), ['not_found', 'ok']);
  for (const x of [c, rtsp]) await cc.del(`/api/v1/cameras/${x.id}`);
});

test('the video network\'s origins (FK_VIDEO_ORIGINS) join the media and connect sources of the page policy, nothing else', async () => {
  const r = await fetch(ctx.url + '/');
  const csp = r.headers.get('content-security-policy');
  assert.match(csp, /media-src 'self' blob: https:\/\/video\.example\.gov\.cn http:\/\/10\.0\.0\.9:8080;/);
  assert.match(csp, /connect-src 'self' https:\/\/video\.example\.gov\.cn http:\/\/10\.0\.0\.9:8080(;|$)/);
  assert.match(csp, /default-src 'self'/);
  // a value that would widen the policy stops the server at start
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'fk-origins-'));
  for (const bad of ['https://*.example.gov.cn', 'https://video.example.gov.cn/live', "https://a'; script-src *", 'ftp://video']) {
    const p = spawnSync(BIN, ['serve', '--port', '0', '--data-dir', dir], { env: { ...process.env, FK_VIDEO_ORIGINS: bad }, encoding: 'utf8', timeout: 10000 });
    assert.ok(p.status > 0, `${bad}: exit ${p.status}`); // refused at start (null: it served)
    assert.match(p.stderr, /FK_VIDEO_ORIGINS/, bad);
  }
  fs.rmSync(dir, { recursive: true, force: true });
});

test('home isolation checks: cameras near the building, playback for the roles allowed, every view audited with the person', async () => {
  // the building's centre is the home's position, away from the other tests' cameras
  const HOME = { lng: 116.45, lat: 39.95 };
  const homeNorth = (m) => ({ lng: HOME.lng, lat: HOME.lat + m / 111195 });
  let r = await cc.patch(`/api/v1/regions/${BUILDING}`, { center: [HOME.lng, HOME.lat] });
  assert.equal(r.status, 200, r.text);
  r = await cc.post('/api/v1/persons', { name: '居家甲', id_number: residentId(), region_code: BUILDING });
  assert.equal(r.status, 201, r.text);
  const person = r.body;
  r = await comm.post('/api/v1/observations', { person_id: person.id, kind: 'home_isolation', source: 'grid_patrol' });
  assert.equal(r.status, 201, r.text);
  const obs = r.body;
  const door = await create({ name: 'ISO_楼门', ...homeNorth(40) });
  const road = await create({ name: 'ISO_路口', ...homeNorth(250) });
  const far = await create({ name: 'ISO_远处', ...homeNorth(1500) });

  r = await comm.get(`/api/v1/observations/${obs.id}/cameras?radius_m=300`);
  assert.equal(r.status, 200, r.text);
  assert.deepEqual(r.body.items.map((c) => c.name), ['ISO_楼门', 'ISO_路口']);
  assert.equal(r.body.home.region_name, '1号楼');
  assert.equal(r.body.home.region_level, 'building');
  assert.ok(!r.text.includes('居家甲') && !r.text.includes('video.example.gov.cn'), 'no name, no address in the look-up');
  let audit = await auditEntries(auditor, 'camera.isolation_lookup', person.id);
  assert.match(audit[0].detail, new RegExp(`observation=${obs.id} radius_m=300 cameras=2 purpose=home_isolation_check`));
  r = await comm.get(`/api/v1/observations/${obs.id}/cameras?radius_m=1001`);
  expectError(r, 400, 'invalid_parameter', 'radius_m');

  // playback of a camera near the home: audited with the person, the camera and the purpose
  r = await comm.post(`/api/v1/observations/${obs.id}/cameras/${door.id}/play`);
  assert.equal(r.status, 200, r.text);
  assert.equal(r.body.url, base().stream_url);
  assert.ok(Math.abs(r.body.distance_m - 40) < 1);
  audit = await auditEntries(auditor, 'camera.play_isolation', person.id);
  assert.equal(audit.length, 1);
  assert.equal(audit[0].object_type, 'person');
  assert.match(audit[0].detail, new RegExp(`camera=${door.id} observation=${obs.id} distance_m=40 purpose=home_isolation_check`));
  r = await cc.get(`/api/v1/observations/${obs.id}/cameras`);
  assert.equal(r.status, 200, r.text);
  assert.ok(r.body.items.length === 2 && !r.text.includes('video.example.gov.cn'), 'no address in the look-up, even for the ledger\'s keepers');
  // the command centre may too; the permission is not a key to every camera
  assert.equal((await cc.post(`/api/v1/observations/${obs.id}/cameras/${road.id}/play`)).status, 200);
  expectError(await comm.post(`/api/v1/observations/${obs.id}/cameras/${far.id}/play`), 403, 'camera_not_near', 'camera_id');
  // refused: roles without the permission, another community, another district
  expectError(await street.get(`/api/v1/observations/${obs.id}/cameras`), 403, 'forbidden');
  expectError(await street.post(`/api/v1/observations/${obs.id}/cameras/${door.id}/play`), 403, 'forbidden');
  expectError(await grid.get(`/api/v1/observations/${obs.id}/cameras`), 403, 'forbidden');
  assert.equal((await commOther.get(`/api/v1/observations/${obs.id}/cameras`)).status, 404);
  assert.equal((await commOther.post(`/api/v1/observations/${obs.id}/cameras/${door.id}/play`)).status, 404);
  assert.equal((await ccWest.post(`/api/v1/observations/${obs.id}/cameras/${door.id}/play`)).status, 404);
  audit = await waitForAudit(auditor, `action=camera.play_isolation&object_id=${obs.id}`, (x) => x.result === 'not_found');
  const refused = audit.filter((x) => x.object_type === 'observation');
  assert.deepEqual(refused.map((x) => x.result).sort(), ['camera_not_near', 'not_found', 'not_found']);
  assert.ok(refused.every((x) => /purpose=home_isolation_check/.test(x.detail)));
  assert.ok((await waitForAudit(auditor, 'action=route.refused', (x) => x.detail === '/api/v1/observations/{id}/cameras'))
    .some((x) => x.detail === '/api/v1/observations/{id}/cameras'));

  // an ended observation is no longer checked
  r = await comm.post(`/api/v1/observations/${obs.id}/end`, { how: 'released', reason: '期满' });
  assert.equal(r.status, 200, r.text);
  expectError(await comm.get(`/api/v1/observations/${obs.id}/cameras`), 409, 'not_home_isolation');
  for (const c of [door, road, far]) await cc.del(`/api/v1/cameras/${c.id}`);
});

// ---- import ----------------------------------------------------------------

const PY = process.env.FK_PYTHON || '/usr/bin/python3';
const XLSX = 'application/vnd.openxmlformats-officedocument.spreadsheetml.sheet';
const HEAD = ['摄像头名称*', '视频网编号', '摄像头类型*', '区划代码*', '经度*', '纬度*', '视频流地址*', '监控对象类型', '监控对象名称'];
const PY_WRITE = `
import json, sys, openpyxl
spec = json.load(open(sys.argv[1], encoding='utf-8'))
wb = openpyxl.Workbook()
ws = wb.active
ws.title = '摄像头台账'
for row in spec['rows']:
    ws.append(row)
wb.save(spec['out'])
`;
const PY_READ = `
import json, sys, openpyxl
wb = openpyxl.load_workbook(sys.argv[1])
ws = wb[wb.sheetnames[0]]
out = {'rows': [], 'marks': []}
for row in ws.iter_rows():
    out['rows'].append([None if c.value is None else str(c.value) for c in row])
    for c in row:
        if c.comment:
            out['marks'].append(c.coordinate)
print(json.dumps(out, ensure_ascii=False))
`;
let pyN = 0;
function py(script, ...args) {
  const f = path.join(ctx.dir, `py-${++pyN}.py`);
  fs.writeFileSync(f, script);
  return execFileSync(PY, [f, ...args], { encoding: 'utf8' });
}
function xlsxOf(rows) {
  const out = path.join(ctx.dir, `cameras-${++pyN}.xlsx`), spec = `${out}.json`;
  fs.writeFileSync(spec, JSON.stringify({ rows, out }));
  py(PY_WRITE, spec);
  return fs.readFileSync(out);
}
async function download(client, p) {
  const r = await fetch(ctx.url + p, { headers: { cookie: client.cookie } });
  return { status: r.status, type: r.headers.get('content-type'), buf: Buffer.from(await r.arrayBuffer()) };
}
async function jobDone(client, id) {
  let j;
  for (let t = 0; t < 400; t++) {
    j = (await client.get(`/api/v1/jobs/${id}`)).body;
    if (j.status === 'done' || j.status === 'failed') break;
    await new Promise((r) => setTimeout(r, 50));
  }
  assert.equal(j.status, 'done', JSON.stringify(j));
  return j.result;
}

test('import: the valid rows written, the rows at fault reported with their cells marked', async () => {
  const tpl = await download(cc, '/api/v1/cameras/template.xlsx');
  assert.equal(tpl.status, 200);
  assert.equal(tpl.type, XLSX);
  const f0 = path.join(ctx.dir, 'camera-template.xlsx');
  fs.writeFileSync(f0, tpl.buf);
  assert.deepEqual(JSON.parse(py(PY_READ, f0)).rows[0], HEAD);
  const before = (await cc.get('/api/v1/cameras')).body.total;
  // file row 1 the header; rows 2, 5 valid; row 3 an ftp URL; row 4 a latitude past 90;
  // row 6 a region of another district
  const file = xlsxOf([
    HEAD,
    ['IMP_公厕东', 'V-001', '枪机', DC_S1_C1, 116.41, 39.91, 'https://video.example.gov.cn/a.m3u8', '公共厕所', '多福巷公厕'],
    ['IMP_坏地址', '', '球机', DC_S1_C1, 116.41, 39.91, 'ftp://video.example.gov.cn/a.m3u8', '', ''],
    ['IMP_坏纬度', '', 'dome', DC_S1_C1, 116.41, 95, 'rtsp://10.1.1.1/ch1', '', ''],
    ['IMP_方舱', 'V-004', '半球', DC_S2_C1, 116.42, 39.92, 'rtsp://10.1.1.2/ch1', '场所', '方舱医院'],
    ['IMP_西城', '', '其他', XC_C1, 116.36, 39.91, 'https://video.example.gov.cn/b.m3u8', '', ''],
  ]);
  const up = await cc.post('/api/v1/cameras/import', new Uint8Array(file), { 'content-type': XLSX });
  assert.equal(up.status, 202, up.text);
  assert.equal(up.body.rows, 5);
  assert.deepEqual(await jobDone(cc, up.body.job_id), { total: 5, written: 2, failed: 3, report: true });
  assert.equal((await cc.get('/api/v1/cameras')).body.total, before + 2);
  const got = (await cc.get('/api/v1/cameras?q=IMP_&sort=name')).body.items;
  assert.deepEqual(got.map((c) => [c.name, c.kind, c.objects.map((o) => [o.kind, o.name])]),
    [['IMP_公厕东', 'bullet', [['toilet', '多福巷公厕']]], ['IMP_方舱', 'mini_dome', [['place', '方舱医院']]]]);

  const rep = await download(cc, `/api/v1/jobs/${up.body.job_id}/errors.xlsx`);
  assert.equal(rep.status, 200);
  const f = path.join(ctx.dir, 'camera-report.xlsx');
  fs.writeFileSync(f, rep.buf);
  const t = JSON.parse(py(PY_READ, f));
  assert.deepEqual(t.rows[0], ['行号', ...HEAD, '错误说明']);
  assert.deepEqual(t.rows.slice(1).map((r) => r[0]), ['3', '4', '6']);
  assert.match(t.rows[1].at(-1), /视频流地址/);
  assert.match(t.rows[2].at(-1), /纬度/);
  assert.match(t.rows[3].at(-1), /管辖范围/);
  assert.deepEqual(t.marks.sort(), ['E4', 'G3', 'H2'], 'column A is 行号: URL of row 3, latitude of row 4, region of row 6');
  assert.equal((await auditEntries(auditor, 'camera.import', up.body.job_id)).length, 1);

  // a file that is not the template, and a reader without camera.write: nothing queued
  expectError(await cc.post('/api/v1/cameras/import?format=csv', 'a,b\n1,2\n', { 'content-type': 'text/csv' }), 400, 'invalid_csv');
  expectError(await street.post('/api/v1/cameras/import', new Uint8Array(file), { 'content-type': XLSX }), 403, 'forbidden');
});

// ---- stream check ----------------------------------------------------------

// A local video network: a small HLS playlist (and its segment), a page that
// is no playlist, a missing stream and a stream that never answers.
const PLAYLIST = '#EXTM3U\n#EXT-X-VERSION:3\n#EXT-X-TARGETDURATION:2\n#EXT-X-MEDIA-SEQUENCE:0\n#EXTINF:2.0,\nseg0.ts\n#EXT-X-ENDLIST\n';
function serve(req, res) {
  if (req.url === '/live/ok.m3u8') {
    res.writeHead(200, { 'content-type': 'application/vnd.apple.mpegurl' });
    res.end(PLAYLIST);
  } else if (req.url === '/live/html.m3u8') {
    res.writeHead(200, { 'content-type': 'text/html' });
    res.end('<html>维护中</html>');
  } else if (req.url === '/live/slow.m3u8') {
    // never answers: the check's timeout decides
  } else {
    res.writeHead(404);
    res.end();
  }
}
// listen on every address: "localhost" may resolve to ::1 or 127.0.0.1
async function listen(srv) {
  await new Promise((r) => srv.listen(0, r));
  return srv;
}
const videoNetwork = () => listen(http.createServer(serve));
const tlsNetwork = (name) => listen(https.createServer({
  key: fs.readFileSync(path.join(PKI, `${name}.key`)), cert: fs.readFileSync(path.join(PKI, `${name}.pem`)),
}, serve));

test('stream check: a playlist is online, anything else offline, rtsp unchecked', async () => {
  const srv = await videoNetwork();
  const tls = await tlsNetwork('srv');
  const self = await tlsNetwork('self');
  const base = `http://127.0.0.1:${srv.address().port}`;
  const closed = http.createServer();
  await new Promise((r) => closed.listen(0, '127.0.0.1', r));
  const closedPort = closed.address().port;
  await new Promise((r) => closed.close(r));
  try {
    const mk = (name, url, region = DC_S1_C1) => create({ name, stream_url: url, region_code: region }, region === XC_C1 ? ccWest : cc);
    const cams = {
      ok: await mk('CHK_在线', `${base}/live/ok.m3u8`),
      html: await mk('CHK_网页', `${base}/live/html.m3u8`),
      missing: await mk('CHK_不存在', `${base}/live/none.m3u8`),
      slow: await mk('CHK_超时', `${base}/live/slow.m3u8`),
      refused: await mk('CHK_拒绝', `http://127.0.0.1:${closedPort}/live/ok.m3u8`),
      rtsp: await mk('CHK_rtsp', 'rtsp://127.0.0.1:554/ch1'),
      https: await mk('CHK_https', `https://localhost:${tls.address().port}/live/ok.m3u8`),
      httpsSelf: await mk('CHK_自签名', `https://localhost:${self.address().port}/live/ok.m3u8`),
      httpsClosed: await mk('CHK_https拒绝', `https://localhost:${closedPort}/live/ok.m3u8`),
    };
    const west = await mk('CHK_西城', `${base}/live/ok.m3u8`, XC_C1);
    // one camera
    let r = await cc.post('/api/v1/cameras/check', { camera_id: cams.ok.id });
    assert.equal(r.status, 202, r.text);
    assert.deepEqual(await jobDone(cc, r.body.job_id), { total: 1, online: 1, offline: 0, unchecked: 0 });
    r = await cc.get(`/api/v1/cameras/${cams.html.id}`);
    assert.equal(r.body.state, 'unknown');
    // the whole scope (other suites' cameras are gone: deleted at their end)
    const t0 = Date.now();
    r = await cc.post('/api/v1/cameras/check', {});
    assert.equal(r.status, 202, r.text);
    const job = r.body.job_id;
    const res = await jobDone(cc, job);
    assert.ok(Date.now() - t0 < 15000, 'the timeouts run in parallel');
    const want = {
      ok: 'online', html: 'offline', missing: 'offline', slow: 'offline', refused: 'offline', rtsp: 'unchecked',
      https: 'online', httpsSelf: 'offline', httpsClosed: 'offline',
    };
    for (const [k, state] of Object.entries(want)) {
      const c = (await cc.get(`/api/v1/cameras/${cams[k].id}`)).body;
      assert.equal(c.state, state, k);
      assert.ok(c.checked_at >= t0 - 1000, k);
    }
    r = await cc.get('/api/v1/cameras?q=CHK_&state=offline');
    assert.equal(r.body.total, 6);
    // every camera of the scope counted once; the other tests' cameras left
    // behind stream from video.example.gov.cn (no such host: offline) or rtsp
    const all = (await cc.get('/api/v1/cameras?page_size=100')).body;
    assert.equal(res.total, all.total);
    assert.equal(res.online, 2);
    assert.equal(res.unchecked, all.items.filter((c) => c.stream_url.startsWith('rtsp:')).length);
    assert.equal(res.offline, res.total - res.online - res.unchecked);
    // another district's camera was not checked
    assert.equal((await ccWest.get(`/api/v1/cameras/${west.id}`)).body.state, 'unknown');
    const audit = await auditEntries(auditor, 'camera.check', job);
    assert.match(audit[0].detail, new RegExp(`online=2 offline=${res.offline} `));
    expectError(await cc.post('/api/v1/cameras/check', { camera_id: west.id }), 400, 'invalid_value', 'camera_id');
    expectError(await street.post('/api/v1/cameras/check', {}), 403, 'forbidden');
    for (const c of Object.values(cams)) await cc.del(`/api/v1/cameras/${c.id}`);
    await ccWest.del(`/api/v1/cameras/${west.id}`);
  } finally {
    for (const x of [srv, tls, self]) {
      x.closeAllConnections?.();
      await new Promise((r) => x.close(r));
    }
  }
});
