// Departments (seed 001 §4.2.2 部门设置): a tree tied to the region tree,
// seen and changed only within the caller's scope.
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { startServer, CITY_CSV, writeTmp, totpSecretFrom, errOf } from './lib.mjs';

const PW = 'Passw0rd!dept';
let ctx;
let city; // system_admin for the whole city (110100000000)
let street; // system_admin of 东华门街道 (110101001000)
let viewer; // command_center of 东城区: user.read only
let grid; // grid_worker: no user permissions
const secrets = {};

function addUser(c, username, role, region) {
  const out = c.must(['user', 'add', '--username', username, '--password', PW, '--role', role, '--region', region]);
  return totpSecretFrom(out);
}

async function signIn(username, secret) {
  const c = ctx.client();
  await c.login(username, PW, secret);
  return c;
}

before(async () => {
  ctx = await startServer({
    setup: (c) => {
      c.must(['import', 'regions', writeTmp(c, 'city.csv', CITY_CSV)]);
      secrets.city = addUser(c, 'cityadmin', 'system_admin', '110100000000');
      secrets.street = addUser(c, 'streetadmin', 'system_admin', '110101001000');
      addUser(c, 'viewer', 'command_center', '110101000000');
      addUser(c, 'grid1', 'grid_worker', '110101001001');
    },
  });
  city = await signIn('cityadmin', secrets.city);
  street = await signIn('streetadmin', secrets.street);
  viewer = await signIn('viewer');
  grid = await signIn('grid1');
});

after(async () => {
  await ctx?.stop();
});

// The city's tree, built once by the first test and used by the others.
const d = {};

test('create a department tree that follows the regions', async () => {
  const root = await city.post('/api/v1/departments', { name: '市防控指挥部', region_code: '110100000000' });
  assert.equal(root.status, 201, root.text);
  assert.match(root.body.id, /^\d+$/);
  assert.equal(root.body.name, '市防控指挥部');
  assert.equal(root.body.region_code, '110100000000');
  assert.equal(root.body.region_name, '市辖区');
  assert.equal(root.body.parent_id, null);
  assert.equal(root.body.child_count, 0);
  assert.equal(root.body.user_count, 0);
  assert.ok(root.body.created_at > Date.now() - 60000);
  d.root = root.body;

  const dc = await city.post('/api/v1/departments', { name: '东城区防控办', region_code: '110101000000', parent_id: d.root.id });
  assert.equal(dc.status, 201, dc.text);
  assert.equal(dc.body.parent_id, d.root.id);
  d.dongcheng = dc.body;
  const xc = await city.post('/api/v1/departments', { name: '西城区防控办', region_code: '110102000000', parent_id: d.root.id });
  assert.equal(xc.status, 201);
  d.xicheng = xc.body;
  const st = await city.post('/api/v1/departments', { name: '东华门街道防控组', region_code: '110101001000', parent_id: d.dongcheng.id });
  assert.equal(st.status, 201);
  d.street = st.body;
  const cm = await city.post('/api/v1/departments', { name: '多福巷社区工作站', region_code: '110101001001', parent_id: d.street.id });
  assert.equal(cm.status, 201);
  d.community = cm.body;

  const g = await city.get(`/api/v1/departments/${d.root.id}`);
  assert.equal(g.status, 200);
  assert.equal(g.body.child_count, 2);
});

test('a parent must contain the child region and be in scope', async () => {
  // 西城 is not inside 东城
  const r = await city.post('/api/v1/departments', { name: '错位', region_code: '110102001000', parent_id: d.dongcheng.id });
  assert.equal(r.status, 400);
  assert.equal(errOf(r).code, 'invalid_parent');
  assert.equal(errOf(r).field, 'parent_id');
  // a parent below the child
  const up = await city.post('/api/v1/departments', { name: '倒挂', region_code: '110101000000', parent_id: d.street.id });
  assert.equal(up.status, 400);
  assert.equal(errOf(up).field, 'parent_id');
  // unknown parent
  const u = await city.post('/api/v1/departments', { name: '无上级', region_code: '110101000000', parent_id: '12345' });
  assert.equal(u.status, 400);
  assert.equal(errOf(u).code, 'invalid_parent');
  // the street admin cannot hang a department under the city's
  const s = await street.post('/api/v1/departments', { name: '越级', region_code: '110101001000', parent_id: d.dongcheng.id });
  assert.equal(s.status, 400);
  assert.equal(errOf(s).code, 'invalid_parent');
  assert.equal(errOf(s).message, errOf(u).message);
  // nor use a region outside its scope
  const o = await street.post('/api/v1/departments', { name: '越界', region_code: '110102001000' });
  assert.equal(o.status, 400);
  assert.equal(errOf(o).code, 'invalid_region');
  assert.equal(errOf(o).field, 'region_code');
  assert.equal(errOf(o).message, '所属区划不存在或不在您的管辖范围内');
  // but may hang one under a department inside its scope
  const ok = await street.post('/api/v1/departments', { name: '东华门街道志愿队', region_code: '110101001001', parent_id: d.street.id });
  assert.equal(ok.status, 201, ok.text);
  d.volunteers = ok.body;
});

test('bad input is refused with the field named, and changes nothing', async () => {
  const before = await city.get('/api/v1/departments?page_size=200');
  const cases = [
    ['{"name":', 400, 'invalid_json', undefined],
    [[], 400, 'invalid_json', undefined],
    [{ name: '甲', region_code: '110101000000', color: 'red' }, 400, 'unknown_field', 'color'],
    [{ region_code: '110101000000' }, 400, 'required', 'name'],
    [{ name: '甲' }, 400, 'required', 'region_code'],
    [{ name: '', region_code: '110101000000' }, 400, 'required', 'name'],
    [{ name: '   ', region_code: '110101000000' }, 400, 'invalid_name', 'name'],
    [{ name: 7, region_code: '110101000000' }, 400, 'invalid_type', 'name'],
    [{ name: '甲', region_code: 110101000000 }, 400, 'invalid_type', 'region_code'],
    [{ name: '甲', region_code: '110101000000', parent_id: 5 }, 400, 'invalid_type', 'parent_id'],
    [{ name: '甲', region_code: '110101000000', parent_id: 'abc' }, 400, 'invalid_parent', 'parent_id'],
    [{ name: '甲', region_code: '11010' }, 400, 'invalid_region', 'region_code'],
    [{ name: '甲', region_code: '110000001000' }, 400, 'invalid_region', 'region_code'],
    [{ name: '甲', region_code: '990101000000' }, 400, 'invalid_region', 'region_code'],
    [{ name: '甲'.repeat(65), region_code: '110101000000' }, 400, 'too_long', 'name'],
  ];
  for (const [body, status, code, field] of cases) {
    const r = await city.post('/api/v1/departments', body);
    assert.equal(r.status, status, `${JSON.stringify(body)} -> ${r.text}`);
    assert.equal(errOf(r).code, code, JSON.stringify(body));
    if (field) assert.equal(errOf(r).field, field);
    assert.match(errOf(r).message, /[\u4e00-\u9fff]/);
  }
  const after = await city.get('/api/v1/departments?page_size=200');
  assert.deepEqual(after.body, before.body);
});

test('SQL metacharacters in names are stored verbatim; siblings have distinct names', async () => {
  const name = "部门'); DELETE FROM departments;-- %_";
  const r = await city.post('/api/v1/departments', { name, region_code: '110102001000', parent_id: d.xicheng.id });
  assert.equal(r.status, 201, r.text);
  assert.equal((await city.get(`/api/v1/departments/${r.body.id}`)).body.name, name);
  // q is a literal substring, not a pattern
  const q = await city.get(`/api/v1/departments?q=${encodeURIComponent('%_')}`);
  assert.deepEqual(q.body.items.map((x) => x.id), [r.body.id]);
  const dup = await city.post('/api/v1/departments', { name, region_code: '110102001000', parent_id: d.xicheng.id });
  assert.equal(dup.status, 409);
  assert.equal(errOf(dup).code, 'duplicate_department');
  assert.equal(errOf(dup).existing_id, r.body.id);
  // the same name elsewhere is fine
  const other = await city.post('/api/v1/departments', { name, region_code: '110101002000', parent_id: d.dongcheng.id });
  assert.equal(other.status, 201);
  assert.equal((await city.del(`/api/v1/departments/${other.body.id}`)).status, 204);
  assert.equal((await city.del(`/api/v1/departments/${r.body.id}`)).status, 204);
});

test('lists filter by region, parent and name, page and sort', async () => {
  const all = await city.get('/api/v1/departments?page_size=200');
  assert.equal(all.status, 200);
  assert.equal(all.body.total, 6);
  assert.equal(all.body.page, 1);
  // default order: region code
  const codes = all.body.items.map((x) => x.region_code);
  assert.deepEqual(codes, [...codes].sort());

  const dc = await city.get('/api/v1/departments?region_code=110101000000');
  assert.deepEqual(dc.body.items.map((x) => x.name).sort(), ['东华门街道志愿队', '东华门街道防控组', '东城区防控办', '多福巷社区工作站'].sort());

  const kids = await city.get(`/api/v1/departments?parent_id=${d.root.id}`);
  assert.deepEqual(kids.body.items.map((x) => x.id).sort(), [d.dongcheng.id, d.xicheng.id].sort());
  const roots = await city.get('/api/v1/departments?parent_id=0');
  assert.deepEqual(roots.body.items.map((x) => x.id), [d.root.id]);

  const q = await city.get(`/api/v1/departments?q=${encodeURIComponent('防控')}`);
  assert.equal(q.body.total, 4);

  const p = await city.get('/api/v1/departments?page=2&page_size=2&sort=name');
  assert.equal(p.body.items.length, 2);
  assert.equal(p.body.total, 6);
  const byName = await city.get('/api/v1/departments?sort=-created_at');
  assert.equal(byName.body.items[0].id, d.volunteers.id);

  for (const bad of ['sort=colour', 'page_size=0', 'page_size=201', 'page=0', 'parent_id=abc', 'region_code=12', 'format=xml']) {
    const r = await city.get(`/api/v1/departments?${bad}`);
    assert.equal(r.status, 400, bad);
    assert.match(errOf(r).message, /[\u4e00-\u9fff]/);
  }
});

test('scope: another region\'s department does not exist', async () => {
  const mine = await street.get('/api/v1/departments?page_size=200');
  assert.equal(mine.status, 200);
  assert.deepEqual(mine.body.items.map((x) => x.id).sort(), [d.street.id, d.community.id, d.volunteers.id].sort());
  const nf = await street.get(`/api/v1/departments/${d.dongcheng.id}`);
  const unknown = await street.get('/api/v1/departments/424242424242');
  assert.equal(nf.status, 404);
  assert.deepEqual(nf.body, unknown.body);
  assert.equal((await street.patch(`/api/v1/departments/${d.xicheng.id}`, { name: '改' })).status, 404);
  assert.equal((await street.del(`/api/v1/departments/${d.xicheng.id}`)).status, 404);
  assert.equal((await city.get(`/api/v1/departments/${d.xicheng.id}`)).body.name, '西城区防控办');
  // a region filter outside the scope finds nothing
  const outside = await street.get('/api/v1/departments?region_code=110102000000');
  assert.equal(outside.body.total, 0);
});

test('the tree nests children within the caller\'s scope', async () => {
  const t = await city.get('/api/v1/departments/tree');
  assert.equal(t.status, 200);
  assert.equal(t.body.items.length, 1);
  const root = t.body.items[0];
  assert.equal(root.id, d.root.id);
  assert.deepEqual(root.children.map((x) => x.name).sort(), ['东城区防控办', '西城区防控办'].sort());
  const dc = root.children.find((x) => x.id === d.dongcheng.id);
  assert.equal(dc.children.length, 1);
  assert.deepEqual(dc.children[0].children.map((x) => x.id).sort(), [d.community.id, d.volunteers.id].sort());
  // for the street admin the street department is a root: its parent is above them
  const s = await street.get('/api/v1/departments/tree');
  assert.equal(s.status, 200);
  assert.deepEqual(s.body.items.map((x) => x.id), [d.street.id]);
  assert.equal(s.body.items[0].children.length, 2);
  assert.equal(s.body.total, 3);
});

test('update: rename, move, refuse cycles and orphaned children', async () => {
  const r = await city.patch(`/api/v1/departments/${d.volunteers.id}`, { name: '志愿服务队' });
  assert.equal(r.status, 200, r.text);
  assert.equal(r.body.name, '志愿服务队');
  assert.equal(r.body.parent_id, d.street.id); // untouched
  assert.equal(r.body.region_code, '110101001001');

  // a department cannot be its own ancestor
  const self = await city.patch(`/api/v1/departments/${d.root.id}`, { parent_id: d.root.id });
  assert.equal(self.status, 400);
  assert.equal(errOf(self).code, 'parent_cycle');
  assert.equal(errOf(self).field, 'parent_id');
  const loop = await city.patch(`/api/v1/departments/${d.dongcheng.id}`, { parent_id: d.community.id });
  assert.equal(loop.status, 400);
  assert.equal(errOf(loop).code, 'parent_cycle');
  assert.equal(errOf(loop).field, 'parent_id');
  assert.equal((await city.get(`/api/v1/departments/${d.dongcheng.id}`)).body.parent_id, d.root.id);

  // moving a department's region away from its children is refused
  const orphan = await city.patch(`/api/v1/departments/${d.street.id}`, { region_code: '110101002000' });
  assert.equal(orphan.status, 400);
  assert.equal(errOf(orphan).field, 'region_code');
  // a region outside the parent's
  const out = await city.patch(`/api/v1/departments/${d.community.id}`, { region_code: '110102001001' });
  assert.equal(out.status, 400);
  assert.equal(errOf(out).field, 'parent_id');

  // move to another parent whose region contains it, then make it a root
  const mv = await city.patch(`/api/v1/departments/${d.volunteers.id}`, { parent_id: d.dongcheng.id });
  assert.equal(mv.status, 200);
  assert.equal(mv.body.parent_id, d.dongcheng.id);
  const top = await city.patch(`/api/v1/departments/${d.volunteers.id}`, { parent_id: null });
  assert.equal(top.status, 200);
  assert.equal(top.body.parent_id, null);
  // the street admin may rename inside its scope, though the parent is above it
  const sr = await street.patch(`/api/v1/departments/${d.street.id}`, { name: '东华门街道防控组（新）' });
  assert.equal(sr.status, 200, sr.text);
  assert.equal(sr.body.parent_id, d.dongcheng.id);

  for (const [body, code] of [
    [{ name: '' }, 'required'],
    [{ name: 3 }, 'invalid_type'],
    [{ bogus: 1 }, 'unknown_field'],
    [{ parent_id: 'x' }, 'invalid_parent'],
    [{ region_code: 'abc' }, 'invalid_region'],
  ]) {
    const b = await city.patch(`/api/v1/departments/${d.community.id}`, body);
    assert.equal(b.status, 400, JSON.stringify(body));
    assert.equal(errOf(b).code, code);
  }
  assert.equal((await city.patch('/api/v1/departments/1', { name: '甲' })).status, 404);
});

test('delete refuses departments with children or users', async () => {
  const withKids = await city.del(`/api/v1/departments/${d.root.id}`);
  assert.equal(withKids.status, 409);
  assert.equal(errOf(withKids).code, 'department_in_use');
  assert.match(errOf(withKids).message, /[\u4e00-\u9fff]/);

  ctx.must(['user', 'add', '--username', 'member1', '--password', PW, '--role', 'grid_worker', '--region', '110101001001', '--department', d.community.id]);
  const g = await city.get(`/api/v1/departments/${d.community.id}`);
  assert.equal(g.body.user_count, 1);
  const withUsers = await city.del(`/api/v1/departments/${d.community.id}`);
  assert.equal(withUsers.status, 409);
  assert.equal(errOf(withUsers).code, 'department_in_use');
  assert.equal((await city.get(`/api/v1/departments/${d.community.id}`)).status, 200);

  const leaf = await city.del(`/api/v1/departments/${d.volunteers.id}`);
  assert.equal(leaf.status, 204);
  assert.equal((await city.get(`/api/v1/departments/${d.volunteers.id}`)).status, 404);
  assert.equal((await city.del(`/api/v1/departments/${d.volunteers.id}`)).status, 404);
});

test('who may see and change departments', async () => {
  const anon = ctx.client();
  assert.equal((await anon.get('/api/v1/departments')).status, 401);
  assert.equal((await anon.post('/api/v1/departments', { name: '甲', region_code: '110101000000' })).status, 401);
  assert.equal((await grid.get('/api/v1/departments')).status, 403);
  assert.equal((await grid.get('/api/v1/departments/tree')).status, 403);
  assert.equal((await grid.get(`/api/v1/departments/${d.street.id}`)).status, 403);
  // the command center reads its district's departments but changes none
  const v = await viewer.get('/api/v1/departments');
  assert.equal(v.status, 200);
  const seen = v.body.items.map((x) => x.id);
  assert.ok(seen.includes(d.dongcheng.id) && seen.includes(d.community.id), v.text);
  assert.ok(!seen.includes(d.xicheng.id) && !seen.includes(d.root.id));
  assert.ok(v.body.items.every((x) => x.region_code.startsWith('110101')));
  assert.equal((await viewer.post('/api/v1/departments', { name: '甲', region_code: '110101000000' })).status, 403);
  assert.equal((await viewer.patch(`/api/v1/departments/${d.street.id}`, { name: '乙' })).status, 403);
  assert.equal((await viewer.del(`/api/v1/departments/${d.street.id}`)).status, 403);
});

test('CSV export', async () => {
  const r = await city.get('/api/v1/departments?format=csv');
  assert.equal(r.status, 200);
  assert.match(r.headers.get('content-type'), /^text\/csv/);
  assert.match(r.headers.get('content-disposition'), /^attachment/);
  assert.ok(r.text.startsWith('\ufeff') || r.text.startsWith('部门'), 'BOM');
  const lines = r.text.replace(/^\ufeff/, '').trim().split('\r\n');
  assert.equal(lines[0], '部门编号,部门名称,所属区划代码,所属区划,上级部门编号,下级部门数,用户数,创建时间');
  assert.ok(lines.some((l) => l.includes('市防控指挥部')));
  const filtered = await city.get('/api/v1/departments?format=csv&region_code=110102000000');
  assert.equal(filtered.text.trim().split('\r\n').length, 2);
});
