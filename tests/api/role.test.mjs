// Roles and permissions (seed 001 §4.2.2 岗位设置): the security
// administrator's role editor. Built-in roles are fixed (三员分立), custom
// roles respect the separation of duties, and editing a role changes what
// its users may do at their very next request.
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { startServer, CITY_CSV, writeTmp, totpSecretFrom, errOf } from './lib.mjs';

const PW = 'Passw0rd!role';
let ctx;
let sec; // security_admin: role.read + role.write
let sys; // system_admin: role.read, no role.write
let grid; // grid_worker: neither

function addUser(c, username, role, region = '110101000000') {
  const out = c.must(['user', 'add', '--username', username, '--password', PW, '--role', role, '--region', region]);
  return totpSecretFrom(out);
}

async function signIn(username, secret) {
  const c = ctx.client();
  await c.login(username, PW, secret);
  return c;
}

const secrets = {};

before(async () => {
  ctx = await startServer({
    setup: (c) => {
      c.must(['import', 'regions', writeTmp(c, 'city.csv', CITY_CSV)]);
      secrets.sec = addUser(c, 'secadmin', 'security_admin');
      secrets.sys = addUser(c, 'sysadmin', 'system_admin');
      addUser(c, 'grid1', 'grid_worker', '110101001001');
    },
  });
  sec = await signIn('secadmin', secrets.sec);
  sys = await signIn('sysadmin', secrets.sys);
  grid = await signIn('grid1');
});

after(async () => {
  await ctx?.stop();
});

test('the permission list names every permission with a Chinese label', async () => {
  const r = await sec.get('/api/v1/permissions');
  assert.equal(r.status, 200);
  const byName = Object.fromEntries(r.body.items.map((p) => [p.name, p.label]));
  assert.equal(byName['person.read'], '查看人员');
  assert.equal(byName['audit.read'], '查阅审计日志');
  assert.equal(byName['role.write'], '管理角色和权限');
  assert.equal(r.body.total, r.body.items.length);
  assert.ok(r.body.items.length >= 18);
  for (const p of r.body.items) assert.match(p.label, /[\u4e00-\u9fff]/);
  // every area is named in Chinese by the server: the editor shows no key
  for (const p of r.body.items) {
    assert.equal(p.area, p.name.split('.')[0]);
    assert.match(p.area_label, /^[\u4e00-\u9fff]+$/, p.name);
    assert.notEqual(p.area_label, '其他', `${p.name}: an area without a label`);
  }
  const area = Object.fromEntries(r.body.items.map((p) => [p.area, p.area_label]));
  assert.equal(area.person, '人员');
  assert.equal(area.visitor, '访客');
  assert.equal(area.alert, '预警');
});

test('roles list shows the built-in roles, their permissions and user counts', async () => {
  const r = await sec.get('/api/v1/roles?page_size=200');
  assert.equal(r.status, 200);
  assert.equal(r.body.page, 1);
  assert.equal(r.body.page_size, 200);
  const byKey = Object.fromEntries(r.body.items.map((x) => [x.key, x]));
  for (const k of ['system_admin', 'security_admin', 'audit_admin', 'grid_worker', 'citizen']) {
    assert.equal(byKey[k].builtin, true, k);
  }
  assert.deepEqual(byKey.audit_admin.permissions, ['audit.read']);
  assert.equal(byKey.audit_admin.require_totp, true);
  assert.equal(byKey.security_admin.user_count, 1);
  assert.equal(byKey.grid_worker.user_count, 1);
  assert.equal(byKey.audit_admin.user_count, 0);
  assert.equal(typeof byKey.grid_worker.id, 'string');
  assert.equal(r.body.total, r.body.items.length);
  // paging
  const p = await sec.get('/api/v1/roles?page=2&page_size=5');
  assert.equal(p.status, 200);
  assert.equal(p.body.items.length, 5);
  assert.equal(p.body.items[0].key, r.body.items[5].key);
  assert.equal((await sec.get('/api/v1/roles?page_size=0')).status, 400);
  assert.equal((await sec.get('/api/v1/roles?page=x')).status, 400);
});

test('create, read, update and delete a custom role', async () => {
  const c = await sec.post('/api/v1/roles', {
    key: 'epi_analyst',
    name: '流调分析员',
    description: '查看人员和区划',
    permissions: ['person.read', 'region.read'],
    require_totp: false,
  });
  assert.equal(c.status, 201, c.text);
  const role = c.body;
  assert.match(role.id, /^\d+$/);
  assert.equal(role.key, 'epi_analyst');
  assert.equal(role.name, '流调分析员');
  assert.equal(role.description, '查看人员和区划');
  assert.equal(role.builtin, false);
  assert.equal(role.require_totp, false);
  assert.deepEqual([...role.permissions].sort(), ['person.read', 'region.read']);
  assert.equal(role.user_count, 0);
  assert.ok(role.created_at > Date.now() - 60000);

  const g = await sec.get(`/api/v1/roles/${role.id}`);
  assert.equal(g.status, 200);
  assert.deepEqual(g.body, role);
  // the system admin may read roles but not write them
  assert.equal((await sys.get(`/api/v1/roles/${role.id}`)).status, 200);

  const u = await sec.patch(`/api/v1/roles/${role.id}`, {
    name: '流调员',
    permissions: ['person.read', 'place.read', 'region.read'],
    require_totp: true,
  });
  assert.equal(u.status, 200, u.text);
  assert.equal(u.body.name, '流调员');
  assert.equal(u.body.description, '查看人员和区划'); // left alone
  assert.equal(u.body.require_totp, true);
  assert.deepEqual(u.body.permissions.sort(), ['person.read', 'place.read', 'region.read']);
  assert.ok(u.body.updated_at >= role.updated_at);

  // an empty permission list is allowed (a role being prepared)
  const e = await sec.patch(`/api/v1/roles/${role.id}`, { permissions: [] });
  assert.equal(e.status, 200);
  assert.deepEqual(e.body.permissions, []);

  const d = await sec.del(`/api/v1/roles/${role.id}`);
  assert.equal(d.status, 204);
  assert.equal((await sec.get(`/api/v1/roles/${role.id}`)).status, 404);
  assert.equal((await sec.del(`/api/v1/roles/${role.id}`)).status, 404);
  assert.equal((await sec.patch(`/api/v1/roles/${role.id}`, { name: 'x' })).status, 404);
});

test('bad input is refused with the field named, and changes nothing', async () => {
  const before = await sec.get('/api/v1/roles?page_size=200');
  const cases = [
    ['{"key":', 'invalid_json', undefined],
    ['[]', 'invalid_json', undefined],
    [{ key: 'abc_x', name: '甲', extra: 1 }, 'unknown_field', 'extra'],
    [{ name: '甲' }, 'required', 'key'],
    [{ key: 'abc_x' }, 'required', 'name'],
    [{ key: 'abc_x', name: '' }, 'required', 'name'],
    [{ key: 5, name: '甲' }, 'invalid_type', 'key'],
    [{ key: 'abc_x', name: '甲', permissions: 'person.read' }, 'invalid_type', 'permissions'],
    [{ key: 'abc_x', name: '甲', permissions: [1] }, 'invalid_type', 'permissions'],
    [{ key: 'abc_x', name: '甲', require_totp: 'yes' }, 'invalid_type', 'require_totp'],
    [{ key: 'abc_x', name: '甲', permissions: ['person.read', 'person.fly'] }, 'invalid_permission', 'permissions'],
    [{ key: 'abc_x', name: '甲', permissions: [''] }, 'invalid_permission', 'permissions'],
    [{ key: 'Bad_Key', name: '甲' }, 'invalid_key', 'key'],
    [{ key: '1abc', name: '甲' }, 'invalid_key', 'key'],
    [{ key: 'ab', name: '甲' }, 'too_short', 'key'],
    [{ key: 'a-b-c', name: '甲' }, 'invalid_key', 'key'],
    [{ key: "x'; DROP TABLE roles;--", name: '甲' }, 'invalid_key', 'key'],
    [{ key: 'k'.repeat(33), name: '甲' }, 'too_long', 'key'],
    [{ key: 'abc_x', name: '甲'.repeat(33) }, 'too_long', 'name'],
    [{ key: 'abc_x', name: '甲', description: 'x'.repeat(201) }, 'too_long', 'description'],
  ];
  for (const [body, code, field] of cases) {
    const r = await sec.post('/api/v1/roles', body);
    assert.equal(r.status, 400, `${JSON.stringify(body)} -> ${r.text}`);
    assert.equal(errOf(r).code, code, JSON.stringify(body));
    if (field) assert.equal(errOf(r).field, field, JSON.stringify(body));
    assert.match(errOf(r).message, /[\u4e00-\u9fff]/);
  }
  // not JSON at all
  const t = await sec.post('/api/v1/roles', 'key=abc', { 'content-type': 'text/plain' });
  assert.equal(t.status, 415);
  const after = await sec.get('/api/v1/roles?page_size=200');
  assert.deepEqual(after.body, before.body);
});

test('SQL metacharacters are stored verbatim', async () => {
  const name = "角色'); DROP TABLE roles;--";
  const description = `"%_\\ OR 1=1`;
  const r = await sec.post('/api/v1/roles', { key: 'meta_chars', name, description });
  assert.equal(r.status, 201, r.text);
  const g = await sec.get(`/api/v1/roles/${r.body.id}`);
  assert.equal(g.body.name, name);
  assert.equal(g.body.description, description);
  assert.equal((await sec.del(`/api/v1/roles/${r.body.id}`)).status, 204);
});

test('a duplicate key is a conflict naming the existing role', async () => {
  const a = await sec.post('/api/v1/roles', { key: 'dup_role', name: '甲' });
  assert.equal(a.status, 201);
  const b = await sec.post('/api/v1/roles', { key: 'dup_role', name: '乙' });
  assert.equal(b.status, 409);
  assert.equal(errOf(b).code, 'duplicate_role');
  assert.equal(errOf(b).existing_id, a.body.id);
  // a built-in key is taken too
  const c = await sec.post('/api/v1/roles', { key: 'audit_admin', name: '假审计员', permissions: ['audit.read'] });
  assert.equal(c.status, 409);
  assert.equal(errOf(c).code, 'duplicate_role');
  assert.equal((await sec.get(`/api/v1/roles/${a.body.id}`)).body.name, '甲');
  await sec.del(`/api/v1/roles/${a.body.id}`);
});

test('the key is fixed once made', async () => {
  const a = await sec.post('/api/v1/roles', { key: 'fixed_key', name: '甲' });
  const r = await sec.patch(`/api/v1/roles/${a.body.id}`, { key: 'other_key' });
  assert.equal(r.status, 400);
  assert.equal(errOf(r).code, 'unknown_field');
  assert.equal(errOf(r).field, 'key');
  const n = await sec.patch(`/api/v1/roles/${a.body.id}`, { name: '' });
  assert.equal(n.status, 400);
  assert.equal(errOf(n).field, 'name');
  const m = await sec.patch(`/api/v1/roles/${a.body.id}`, '{"name":');
  assert.equal(m.status, 400);
  const g = await sec.get(`/api/v1/roles/${a.body.id}`);
  assert.equal(g.body.key, 'fixed_key', `${a.text} ${g.text}`);
  await sec.del(`/api/v1/roles/${a.body.id}`);
});

test('built-in roles cannot be edited or deleted', async () => {
  const list = await sec.get('/api/v1/roles?page_size=200');
  const byKey = Object.fromEntries(list.body.items.map((x) => [x.key, x]));
  for (const key of ['audit_admin', 'security_admin', 'system_admin', 'grid_worker']) {
    const id = byKey[key].id;
    const p = await sec.patch(`/api/v1/roles/${id}`, { permissions: ['audit.read', 'user.write'] });
    assert.equal(p.status, 409, key);
    assert.equal(errOf(p).code, 'builtin_role');
    assert.match(errOf(p).message, /内置角色/);
    const n = await sec.patch(`/api/v1/roles/${id}`, { name: '改名' });
    assert.equal(n.status, 409);
    const d = await sec.del(`/api/v1/roles/${id}`);
    assert.equal(d.status, 409, key);
    assert.equal(errOf(d).code, 'builtin_role');
    const g = await sec.get(`/api/v1/roles/${id}`);
    assert.deepEqual(g.body, byKey[key]);
  }
});

test('separation of duties: audit.read stands alone, granting never meets user.write', async () => {
  const bad = [
    ['audit.read', 'region.read'],
    ['audit.read', 'person.read', 'person.reveal'],
    ['audit.read', 'role.read'],
    ['role.write', 'user.write'],
    ['key.admin', 'user.write'],
    ['role.write', 'key.admin', 'user.write', 'user.read'],
  ];
  for (const permissions of bad) {
    const r = await sec.post('/api/v1/roles', { key: 'sod_probe', name: '越权', permissions });
    assert.equal(r.status, 400, permissions.join(','));
    assert.equal(errOf(r).code, 'separation_of_duties');
    assert.equal(errOf(r).field, 'permissions');
    assert.match(errOf(r).message, /三员分立/);
  }
  const list = await sec.get('/api/v1/roles?page_size=200');
  assert.ok(!list.body.items.some((x) => x.key === 'sod_probe'));

  // allowed combinations
  const audit = await sec.post('/api/v1/roles', { key: 'deputy_auditor', name: '副审计员', permissions: ['audit.read'] });
  assert.equal(audit.status, 201);
  const keys = await sec.post('/api/v1/roles', {
    key: 'key_keeper',
    name: '密钥员',
    permissions: ['key.admin', 'role.write', 'role.read', 'user.read'],
  });
  assert.equal(keys.status, 201);
  const users = await sec.post('/api/v1/roles', { key: 'hr_clerk', name: '人事', permissions: ['user.write', 'user.read'] });
  assert.equal(users.status, 201);

  // and an update may not break the rule either; the role stays as it was
  const p = await sec.patch(`/api/v1/roles/${users.body.id}`, { name: '改名', permissions: ['user.write', 'role.write'] });
  assert.equal(p.status, 400);
  assert.equal(errOf(p).code, 'separation_of_duties');
  const g = await sec.get(`/api/v1/roles/${users.body.id}`);
  assert.equal(g.body.name, '人事');
  assert.deepEqual(g.body.permissions.sort(), ['user.read', 'user.write']);
  const q = await sec.patch(`/api/v1/roles/${audit.body.id}`, { permissions: ['audit.read', 'user.read'] });
  assert.equal(q.status, 400);
  for (const r of [audit, keys, users]) assert.equal((await sec.del(`/api/v1/roles/${r.body.id}`)).status, 204);
});

test('a role in use cannot be deleted', async () => {
  const r = await sec.post('/api/v1/roles', { key: 'in_use_role', name: '在用', permissions: ['region.read'] });
  assert.equal(r.status, 201);
  ctx.must(['user', 'add', '--username', 'holder1', '--password', PW, '--role', 'in_use_role', '--region', '110101001001']);
  const g = await sec.get(`/api/v1/roles/${r.body.id}`);
  assert.equal(g.body.user_count, 1);
  const d = await sec.del(`/api/v1/roles/${r.body.id}`);
  assert.equal(d.status, 409);
  assert.equal(errOf(d).code, 'role_in_use');
  assert.match(errOf(d).message, /[\u4e00-\u9fff]/);
  assert.equal((await sec.get(`/api/v1/roles/${r.body.id}`)).status, 200);
});

test('who may use the role editor', async () => {
  const anon = ctx.client();
  assert.equal((await anon.get('/api/v1/roles')).status, 401);
  assert.equal((await anon.get('/api/v1/permissions')).status, 401);
  assert.equal((await anon.post('/api/v1/roles', { key: 'anon_role', name: '甲' })).status, 401);
  assert.equal((await grid.get('/api/v1/roles')).status, 403);
  assert.equal((await grid.get('/api/v1/permissions')).status, 403);
  const list = await sys.get('/api/v1/roles');
  assert.equal(list.status, 200);
  const id = list.body.items[0].id;
  assert.equal((await grid.get(`/api/v1/roles/${id}`)).status, 403);
  // the system administrator reads roles but cannot change them
  const p = await sys.post('/api/v1/roles', { key: 'sys_made', name: '甲', permissions: ['user.write', 'role.write'] });
  assert.equal(p.status, 403);
  const made = await sec.post('/api/v1/roles', { key: 'sec_made', name: '甲' });
  assert.equal((await sys.patch(`/api/v1/roles/${made.body.id}`, { name: '乙' })).status, 403);
  assert.equal((await sys.del(`/api/v1/roles/${made.body.id}`)).status, 403);
  assert.equal((await grid.del(`/api/v1/roles/${made.body.id}`)).status, 403);
  assert.equal((await sec.get(`/api/v1/roles/${made.body.id}`)).body.name, '甲');
  assert.equal((await sec.get('/api/v1/roles/abc')).status, 404);
  assert.equal((await sec.get('/api/v1/roles/0')).status, 404);
  assert.equal((await sec.get('/api/v1/roles/99999999999')).status, 404);
  await sec.del(`/api/v1/roles/${made.body.id}`);
});

// Pick a guarded list route that exists now: persons are being built by
// another engineer; regions and users are fall-backs.
function probeRoute() {
  const routes = ctx.fk(['routes']).stdout;
  const candidates = [
    { path: '/api/v1/persons', perm: 'person.read' },
    { path: '/api/v1/regions', perm: 'region.read' },
    { path: '/api/v1/users', perm: 'user.read' },
  ];
  return candidates.find((c) => routes.includes(`GET ${c.path}\n`));
}

test("editing a role changes its users' rights at their next request", async () => {
  const probe = probeRoute();
  assert.ok(probe, 'a guarded list route exists');
  const r = await sec.post('/api/v1/roles', {
    key: 'live_viewer',
    name: '实时查看员',
    permissions: [probe.perm, 'self'],
  });
  assert.equal(r.status, 201);
  ctx.must(['user', 'add', '--username', 'viewer1', '--password', PW, '--role', 'live_viewer', '--region', '110101000000']);
  const viewer = await signIn('viewer1');
  const me = await viewer.get('/api/v1/me');
  assert.equal(me.status, 200);

  assert.equal((await viewer.get(probe.path)).status, 200, probe.path);

  // take the permission away: the same session is refused at once
  const p = await sec.patch(`/api/v1/roles/${r.body.id}`, { permissions: ['self'] });
  assert.equal(p.status, 200);
  const refused = await viewer.get(probe.path);
  assert.equal(refused.status, 403);

  // and give it back
  assert.equal((await sec.patch(`/api/v1/roles/${r.body.id}`, { permissions: [probe.perm] })).status, 200);
  assert.equal((await viewer.get(probe.path)).status, 200);

  // the role now lists its user
  assert.equal((await sec.get(`/api/v1/roles/${r.body.id}`)).body.user_count, 1);
});

test('administrative rights reach people only through an assignment: no widening of a role in use, no mixing over roles', async () => {
  // a custom role the system administrator hands to a field user
  const field = await sec.post('/api/v1/roles', { key: 'field_plus', name: '巡查员', permissions: ['person.read'] });
  assert.equal(field.status, 201);
  const u = await sys.post('/api/v1/users', {
    username: 'field.one', display_name: '巡查', password: PW, region_code: '110101001001', roles: ['field_plus'],
  });
  assert.equal(u.status, 201, u.text);
  // the security administrator may not then slip an administrative right into it
  const w = await sec.patch(`/api/v1/roles/${field.body.id}`, { permissions: ['person.read', 'user.write'] });
  assert.equal(w.status, 409, w.text);
  assert.deepEqual([errOf(w).code, errOf(w).field], ['role_in_use', 'permissions']);
  assert.match(errOf(w).message, /1名用户/);
  assert.deepEqual((await sec.get(`/api/v1/roles/${field.body.id}`)).body.permissions, ['person.read']);
  // ordinary rights may still be added to it
  const ok = await sec.patch(`/api/v1/roles/${field.body.id}`, { permissions: ['person.read', 'place.read'] });
  assert.equal(ok.status, 200, ok.text);

  // two roles each within the rule may not together break it; only the
  // command line may grant administrative roles, so it is checked there
  const deputy = await sec.post('/api/v1/roles', { key: 'deputy_audit2', name: '副审计员', permissions: ['audit.read'] });
  assert.equal(deputy.status, 201);
  const mix = ctx.fk(['user', 'add', '--username', 'mixed.one', '--password', PW, '--role', 'deputy_audit2,grid_worker', '--region', '110101001001']);
  assert.notEqual(mix.status, 0);
  assert.match(mix.stderr, /三员分立/);
  const single = ctx.fk(['user', 'add', '--username', 'mixed.two', '--password', PW, '--role', 'deputy_audit2', '--region', '110101001001']);
  assert.equal(single.status, 0, single.stderr);
  const names = (await sys.get('/api/v1/users?page_size=200')).body.items.map((x) => x.username);
  assert.ok(!names.includes('mixed.one'));
  assert.ok(names.includes('mixed.two'));
});

test('each role says whether the caller may grant it, and saving a user agrees', async () => {
  const r = await sys.get('/api/v1/roles?page_size=200');
  assert.equal(r.status, 200, r.text);
  const g = Object.fromEntries(r.body.items.map((x) => [x.key, x.grantable]));
  // the system administrator hands out ordinary staff roles …
  assert.equal(g.grid_worker, true);
  assert.equal(g.command_center, true);
  // … never the citizen's, nor the three administrators' (三员分立)
  assert.equal(g.citizen, false);
  assert.equal(g.system_admin, false);
  assert.equal(g.security_admin, false);
  assert.equal(g.audit_admin, false);
  // whoever cannot create accounts grants nothing
  const gs = (await sec.get('/api/v1/roles?page_size=200')).body.items;
  assert.ok(gs.every((x) => x.grantable === false), JSON.stringify(gs.filter((x) => x.grantable)));
  assert.equal((await sec.get(`/api/v1/roles/${r.body.items.find((x) => x.key === 'doctor').id}`)).body.grantable, false);
  // the flag is the rule the save enforces: one grantable, one not
  let n = 0;
  for (const key of ['grid_worker', 'security_admin', 'citizen']) {
    const made = await sys.post('/api/v1/users', {
      username: `grant_${++n}`, display_name: '授权测试', password: PW + n, region_code: '110101000000', roles: [key],
    });
    if (g[key]) assert.equal(made.status, 201, `${key}: ${made.text}`);
    else assert.ok([400, 403].includes(made.status), `${key}: ${made.text}`);
  }
});
