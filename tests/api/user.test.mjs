// Account administration (/api/v1/users): create with every check, list
// with filters, paging and CSV, read, change, delete (disable), the
// administrator's actions, the caller's scope (another district's accounts
// do not exist for a district administrator), and the separation of duties
// when granting roles (三员分立).
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { startServer, totp, totpSecretFrom, writeTmp, CITY_CSV, errOf } from './lib.mjs';

const PW = 'Passw0rd!user';
const U = '/api/v1/users';
const seen = [];

let ctx;
const users = {};
const cl = {}; // signed-in clients by user name

function track(c) {
  const orig = c.req.bind(c);
  c.req = async (...a) => {
    const r = await orig(...a);
    seen.push(r.text);
    return r;
  };
  return c;
}

function addUser(c, username, role, region) {
  const out = c.must(['user', 'add', '--username', username, '--password', PW, '--role', role, '--region', region, '--name', username.toUpperCase()]);
  users[username] = { id: /created \(id (\d+)\)/.exec(out)[1], secret: totpSecretFrom(out) };
}

async function signIn(username) {
  const c = track(ctx.client());
  await c.login(username, PW, users[username]?.secret);
  cl[username] = c;
  return c;
}

const body = (over = {}) => ({
  username: 'zhang.san',
  display_name: '张三',
  password: PW,
  region_code: '110101001001',
  roles: ['grid_worker'],
  ...over,
});

async function total(c, q = '') {
  const r = await c.get(`${U}?page_size=200${q}`);
  assert.equal(r.status, 200, r.text);
  return r.body.total;
}

before(async () => {
  ctx = await startServer({
    setup: (c) => {
      c.must(['import', 'regions', writeTmp(c, 'city.csv', CITY_CSV)]);
      addUser(c, 'root', 'system_admin', '110000000000');
      addUser(c, 'east', 'system_admin', '110101000000'); // 东城区 administrator
      addUser(c, 'sec', 'security_admin', '110000000000');
      addUser(c, 'reader', 'command_center', '110101000000');
      addUser(c, 'grid', 'grid_worker', '110101001001');
      addUser(c, 'west', 'grid_worker', '110102001001'); // 西城区
    },
  });
  for (const u of ['root', 'east', 'sec', 'reader', 'grid']) await signIn(u);
});

after(async () => {
  await ctx?.stop();
});

test('the CLI refuses bad input with exit 1 and a clear message', () => {
  const add = (...a) => ctx.fk(['user', 'add', ...a]);
  let r = add('--username', 'x1', '--password', PW, '--role', 'grid_worker', '--region', '110101001001');
  assert.equal(r.status, 1);
  assert.match(r.stderr, /用户名/);
  r = add('--username', 'cli1', '--password', PW, '--role', 'no_such_role', '--region', '110101001001');
  assert.equal(r.status, 1);
  assert.match(r.stderr, /角色不存在/);
  r = add('--username', 'cli1', '--password', PW, '--role', 'grid_worker', '--region', '990101001001');
  assert.equal(r.status, 1);
  assert.match(r.stderr, /区划/);
  r = add('--username', 'cli1', '--password', 'weak', '--role', 'grid_worker', '--region', '110101001001');
  assert.equal(r.status, 1);
  assert.match(r.stderr, /密码/);
  r = add('--username', 'ROOT', '--password', PW, '--role', 'grid_worker', '--region', '110101001001');
  assert.equal(r.status, 1);
  assert.match(r.stderr, /已被使用/);
  r = add('--username', 'cli1', '--password', PW);
  assert.equal(r.status, 2);
  r = add('--username', 'cli1', '--password', PW, '--role', 'grid_worker', '--region', 'abc');
  assert.equal(r.status, 1);
});

test('create: 201 with the account, never a hash; the new user must change the password', async () => {
  const r = await cl.root.post(U, body());
  assert.equal(r.status, 201, r.text);
  const u = r.body;
  assert.match(u.id, /^\d+$/);
  assert.equal(u.username, 'zhang.san');
  assert.equal(u.display_name, '张三');
  assert.equal(u.kind, 'staff');
  assert.equal(u.region_code, '110101001001');
  assert.equal(u.region_name, '多福巷社区');
  assert.deepEqual(u.roles, [{ key: 'grid_worker', name: '网格员' }]);
  assert.equal(u.department_id, null);
  assert.equal(u.phone, null);
  assert.equal(u.person_id, null);
  assert.equal(u.must_change_password, true);
  assert.equal(u.totp_enabled, false);
  assert.equal(u.totp_required, false);
  assert.equal(u.disabled, false);
  assert.equal(u.locked, false);
  assert.equal(typeof u.created_at, 'number');
  assert.ok(Math.abs(u.created_at - Date.now()) < 60000);
  assert.ok(!('password' in u) && !('password_hash' in u) && !('totp_secret' in u));
  users['zhang.san'] = { id: u.id };
  const me = await signIn('zhang.san');
  assert.equal((await me.get('/api/v1/me')).body.must_change_password, true);
  const g = await cl.root.get(`${U}/${u.id}`);
  assert.equal(g.status, 200);
  assert.deepEqual(g.body, { ...u, last_login_at: g.body.last_login_at });
  assert.ok(g.body.last_login_at > 0);
});

test('create: every bad input is a 400 naming the field, and nothing is created', async () => {
  const c = cl.root;
  const before = await total(c);
  const cases = [
    [body({ username: 'ab' }), 'invalid_username', 'username'],
    [body({ username: 'bad name' }), 'invalid_username', 'username'],
    [body({ username: "x'; DROP TABLE users; --" }), 'invalid_username', 'username'],
    [body({ username: 'a'.repeat(33) }), 'too_long', 'username'],
    [body({ username: 7 }), 'invalid_type', 'username'],
    [body({ display_name: '' }), 'required', 'display_name'],
    [body({ display_name: '   ' }), 'required', 'display_name'],
    [body({ display_name: '名'.repeat(21) }), 'too_long', 'display_name'],
    [body({ display_name: 'a\nb' }), 'invalid_value', 'display_name'],
    [body({ password: 'weak' }), 'weak_password', 'password'],
    [body({ password: 'alllowercase' }), 'weak_password', 'password'],
    [body({ region_code: '999999999999' }), 'invalid_region', 'region_code'],
    [body({ region_code: 'abc' }), 'invalid_region', 'region_code'],
    [body({ region_code: 110101001001 }), 'invalid_type', 'region_code'],
    [body({ department_id: '123456' }), 'invalid_department', 'department_id'],
    [body({ department_id: 'x' }), 'invalid_department', 'department_id'],
    [body({ roles: ['no_such_role'] }), 'invalid_role', 'roles'],
    [body({ roles: [] }), 'required', 'roles'],
    [body({ roles: [1] }), 'invalid_type', 'roles'],
    [body({ roles: 'grid_worker' }), 'invalid_type', 'roles'],
    [body({ must_change_password: 'yes' }), 'invalid_type', 'must_change_password'],
    [body({ admin: true }), 'unknown_field', 'admin'],
    [{ username: 'li.si', display_name: '李四', password: PW, region_code: '110101001001' }, 'required', 'roles'],
  ];
  for (const [b, code, field] of cases) {
    const r = await c.post(U, { ...b, username: b.username === 'zhang.san' ? 'li.si' : b.username });
    assert.equal(r.status, 400, `${JSON.stringify(b)} → ${r.text}`);
    assert.deepEqual([errOf(r).code, errOf(r).field], [code, field], JSON.stringify(b));
    assert.match(errOf(r).message, /[\u4e00-\u9fff]/);
  }
  let r = await c.post(U, '{"username": "li.si",');
  assert.deepEqual([r.status, errOf(r).code], [400, 'invalid_json']);
  r = await c.post(U, '[]');
  assert.deepEqual([r.status, errOf(r).code], [400, 'invalid_json']);
  r = await c.post(U, JSON.stringify(body({ username: 'li.si' })), { 'content-type': 'text/plain' });
  assert.equal(r.status, 415);
  // duplicates, also ignoring case: 409 with the existing id
  r = await c.post(U, body());
  assert.deepEqual([r.status, errOf(r).code, errOf(r).existing_id], [409, 'duplicate_username', users['zhang.san'].id]);
  r = await c.post(U, body({ username: 'ZHANG.SAN' }));
  assert.deepEqual([r.status, errOf(r).existing_id], [409, users['zhang.san'].id]);
  assert.equal(await total(c), before);
});

test('create: SQL metacharacters in the name are stored verbatim', async () => {
  const name = "O'Brien\";--%_";
  const r = await cl.root.post(U, body({ username: 'obrien', display_name: name }));
  assert.equal(r.status, 201, r.text);
  users.obrien = { id: r.body.id };
  const g = await cl.root.get(`${U}/${r.body.id}`);
  assert.equal(g.body.display_name, name);
  const l = await cl.root.get(`${U}?q=${encodeURIComponent("'Brien\";--%_")}`);
  assert.deepEqual(l.body.items.map((x) => x.username), ['obrien']);
});

test('no session is 401; a role without user.read or user.write is 403', async () => {
  const anon = ctx.client();
  assert.equal((await anon.get(U)).status, 401);
  assert.equal((await anon.post(U, body({ username: 'anon1' }))).status, 401);
  assert.equal((await anon.get(`${U}/${users.grid.id}`)).status, 401);
  let r = await cl.grid.get(U);
  assert.equal(r.status, 403);
  r = await cl.grid.get(`${U}/${users.grid.id}`);
  assert.equal(r.status, 403);
  // command_center reads users but may not change them
  r = await cl.reader.get(U);
  assert.equal(r.status, 200);
  r = await cl.reader.post(U, body({ username: 'by.reader' }));
  assert.equal(r.status, 403);
  r = await cl.reader.patch(`${U}/${users.grid.id}`, { display_name: 'x' });
  assert.equal(r.status, 403);
  r = await cl.reader.post(`${U}/${users.grid.id}/lock`);
  assert.equal(r.status, 403);
  r = await cl.reader.del(`${U}/${users.grid.id}`);
  assert.equal(r.status, 403);
  assert.equal((await cl.root.get(`${U}/${users.grid.id}`)).body.disabled, false);
});

test('list: filters, paging, sorting and bad parameters', async () => {
  const c = cl.root;
  let r = await c.get(U);
  assert.equal(r.status, 200);
  assert.equal(r.body.page, 1);
  assert.equal(r.body.page_size, 20);
  assert.equal(r.body.total, r.body.items.length);
  const names = r.body.items.map((x) => x.username);
  for (const n of ['root', 'east', 'sec', 'reader', 'grid', 'west', 'zhang.san']) assert.ok(names.includes(n), n);
  // q: username or display name, ASCII case ignored
  r = await c.get(`${U}?q=ZHANG`);
  assert.deepEqual(r.body.items.map((x) => x.username), ['zhang.san']);
  r = await c.get(`${U}?q=${encodeURIComponent('张')}`);
  assert.deepEqual(r.body.items.map((x) => x.username), ['zhang.san']);
  r = await c.get(`${U}?q=${encodeURIComponent('%')}`);
  assert.deepEqual(r.body.items.map((x) => x.username), ['obrien']);
  r = await c.get(`${U}?role=grid_worker&sort=username`);
  assert.deepEqual(r.body.items.map((x) => x.username), ['grid', 'obrien', 'west', 'zhang.san']);
  r = await c.get(`${U}?role=grid_worker&sort=-username`);
  assert.deepEqual(r.body.items.map((x) => x.username), ['zhang.san', 'west', 'obrien', 'grid']);
  r = await c.get(`${U}?region_code=110102000000`);
  assert.deepEqual(r.body.items.map((x) => x.username), ['west']);
  r = await c.get(`${U}?locked=true`);
  assert.equal(r.body.total, 0);
  r = await c.get(`${U}?disabled=false&kind=staff&page_size=2&page=2&sort=created_at`);
  assert.equal(r.body.items.length, 2);
  assert.equal(r.body.page, 2);
  assert.equal(r.body.page_size, 2);
  const all = await c.get(`${U}?sort=created_at&page_size=200`);
  assert.deepEqual(r.body.items.map((x) => x.id), all.body.items.slice(2, 4).map((x) => x.id));
  for (const q of ['sort=secret', 'page_size=500', 'page=0', 'locked=maybe', 'region_code=abc', 'kind=robot', 'department_id=x', 'format=xml', `q=${'x'.repeat(65)}`]) {
    r = await c.get(`${U}?${q}`);
    assert.equal(r.status, 400, q);
    assert.ok(errOf(r).field, q);
  }
});

test('list: format=csv exports what the list shows, masked, with a Chinese header', async () => {
  const r = await cl.root.get(`${U}?format=csv&role=grid_worker&sort=username`);
  assert.equal(r.status, 200);
  assert.match(r.headers.get('content-type'), /^text\/csv; charset=utf-8/);
  assert.match(r.headers.get('content-disposition'), /^attachment; filename="users\.csv"/);
  // fetch's text() drops the byte order mark: look at the bytes
  const raw = await fetch(`${ctx.url}${U}?format=csv&role=grid_worker`, { headers: { cookie: cl.root.cookie } });
  const bytes = Buffer.from(await raw.arrayBuffer());
  assert.deepEqual([...bytes.subarray(0, 3)], [0xef, 0xbb, 0xbf]);
  assert.ok(r.text.startsWith('用户名,姓名,类型,区划代码,所属区划,部门,角色,手机号,状态'));
  const lines = r.text.trim().split('\r\n');
  assert.equal(lines.length, 5);
  // a 12-digit region code is text behind a tab, so a spreadsheet keeps every digit
  assert.ok(lines[1].startsWith('grid,GRID,工作人员,"\t110101001001",多福巷社区,,网格员,,正常'), lines[1]);
  // quotes doubled, the cell quoted
  assert.ok(lines[2].startsWith('obrien,"O\'Brien"";--%_"'));
  assert.ok(!r.text.includes('$argon2'));
  // a name that looks like a formula is neutralised
  const f = await cl.root.post(U, body({ username: 'formula', display_name: '=1+2' }));
  assert.equal(f.status, 201);
  users.formula = { id: f.body.id };
  const x = await cl.root.get(`${U}?format=csv&q=formula`);
  assert.ok(x.text.includes(`formula,"'=1+2"`));
});

test('scope: a district administrator cannot see or touch another district', async () => {
  const e = cl.east;
  let r = await e.get(`${U}?page_size=200`);
  const names = r.body.items.map((x) => x.username);
  assert.ok(names.includes('grid') && names.includes('zhang.san'));
  assert.ok(!names.includes('west') && !names.includes('root') && !names.includes('sec'));
  const west = users.west.id;
  const missing = await e.get(`${U}/999999999`);
  assert.equal(missing.status, 404);
  r = await e.get(`${U}/${west}`);
  assert.equal(r.status, 404);
  assert.deepEqual(r.body, missing.body);
  const calls = [
    () => e.patch(`${U}/${west}`, { display_name: '改名' }),
    () => e.del(`${U}/${west}`),
    () => e.post(`${U}/${west}/password`, { password: 'An0ther-Passw0rd' }),
    () => e.post(`${U}/${west}/lock`),
    () => e.post(`${U}/${west}/unlock`),
    () => e.post(`${U}/${west}/logout-all`),
    () => e.post(`${U}/${west}/totp/reset`),
  ];
  for (const call of calls) {
    const x = await call();
    assert.equal(x.status, 404, x.text);
    assert.deepEqual(x.body, missing.body);
  }
  assert.equal((await e.get(`${U}?region_code=110102000000`)).body.total, 0);
  // nor create or move anyone there
  r = await e.post(U, body({ username: 'west2', region_code: '110102001001' }));
  assert.deepEqual([r.status, errOf(r).code, errOf(r).field], [400, 'invalid_region', 'region_code']);
  r = await e.patch(`${U}/${users.grid.id}`, { region_code: '110102001001' });
  assert.deepEqual([r.status, errOf(r).code], [400, 'invalid_region']);
  const w = await cl.root.get(`${U}/${west}`);
  assert.equal(w.body.display_name, 'WEST');
  assert.equal(w.body.disabled, false);
  assert.equal(w.body.locked, false);
  assert.equal((await cl.root.get(`${U}/${users.grid.id}`)).body.region_code, '110101001001');
  assert.equal((await e.get('/api/v1/me')).body.scope_code, '110101000000');
});

test('patch: changes what is given, refuses bad input without changing anything', async () => {
  const c = cl.root;
  const id = users['zhang.san'].id;
  const dept = await c.post('/api/v1/departments', { name: '东城疫情防控办', region_code: '110101000000' });
  assert.equal(dept.status, 201, dept.text);
  const westDept = await c.post('/api/v1/departments', { name: '西城疫情防控办', region_code: '110102000000' });
  assert.equal(westDept.status, 201, westDept.text);
  const before = (await c.get(`${U}/${id}`)).body;
  const bad = [
    [{ display_name: '' }, 'display_name'],
    [{ display_name: 5 }, 'display_name'],
    [{ region_code: '110199000000' }, 'region_code'],
    [{ roles: ['grid_worker', 'nope'] }, 'roles'],
    [{ roles: [] }, 'roles'],
    [{ disabled: 'yes' }, 'disabled'],
    [{ department_id: '1' }, 'department_id'],
    [{ username: 'renamed' }, 'username'],
    [{ password: PW }, 'password'],
  ];
  for (const [b, field] of bad) {
    const r = await c.patch(`${U}/${id}`, b);
    assert.equal(r.status, 400, JSON.stringify(b));
    assert.equal(errOf(r).field, field, JSON.stringify(b));
  }
  // a district administrator cannot use another district's department
  let r = await cl.east.patch(`${U}/${id}`, { department_id: westDept.body.id });
  assert.deepEqual([r.status, errOf(r).code], [400, 'invalid_department']);
  r = await c.patch(`${U}/${id}`, '{"display_name":');
  assert.equal(r.status, 400);
  assert.deepEqual((await c.get(`${U}/${id}`)).body, before);

  r = await c.patch(`${U}/${id}`, { display_name: '张三丰', roles: ['doctor', 'grid_worker'], department_id: dept.body.id });
  assert.equal(r.status, 200, r.text);
  assert.equal(r.body.display_name, '张三丰');
  assert.deepEqual(r.body.roles.map((x) => x.key), ['doctor', 'grid_worker']);
  assert.equal(r.body.department_id, dept.body.id);
  assert.equal(r.body.department_name, '东城疫情防控办');
  assert.equal(r.body.region_code, before.region_code);
  assert.ok(r.body.updated_at >= before.updated_at);
  // the new role is in force at the user's next request
  assert.ok((await cl['zhang.san'].get('/api/v1/me')).body.roles.some((x) => x.key === 'doctor'));
  r = await c.patch(`${U}/${id}`, { department_id: null, region_code: '110101002001' });
  assert.equal(r.status, 200);
  assert.equal(r.body.department_id, null);
  assert.equal(r.body.region_name, '隆福寺社区');
  r = await c.patch(`${U}/${id}`, {});
  assert.equal(r.status, 200);
  assert.equal(r.body.display_name, '张三丰');
  // department filter
  const p = await c.patch(`${U}/${users.grid.id}`, { department_id: dept.body.id });
  assert.equal(p.status, 200);
  const l = await c.get(`${U}?department_id=${dept.body.id}`);
  assert.deepEqual(l.body.items.map((x) => x.username), ['grid']);
});

test('nobody changes their own roles, region or status', async () => {
  const c = cl.root;
  const me = users.root.id;
  let r = await c.patch(`${U}/${me}`, { roles: ['system_admin', 'grid_worker'] });
  assert.deepEqual([r.status, errOf(r).code], [403, 'self_modification']);
  r = await c.patch(`${U}/${me}`, { region_code: '110101000000' });
  assert.deepEqual([r.status, errOf(r).code], [403, 'self_modification']);
  r = await c.patch(`${U}/${me}`, { disabled: true });
  assert.deepEqual([r.status, errOf(r).code], [403, 'self_modification']);
  for (const path of ['password', 'lock', 'totp/reset']) {
    r = await c.post(`${U}/${me}/${path}`, path === 'password' ? { password: 'An0ther-Passw0rd' } : undefined);
    assert.deepEqual([r.status, errOf(r).code], [403, 'self_modification'], path);
  }
  r = await c.del(`${U}/${me}`);
  assert.deepEqual([r.status, errOf(r).code], [403, 'self_modification']);
  // sending back unchanged values (a whole form) and one's own display name are fine
  r = await c.patch(`${U}/${me}`, { display_name: '超级管理员', roles: ['system_admin'], region_code: '110000000000' });
  assert.equal(r.status, 200, r.text);
  const mine = await c.get('/api/v1/me');
  assert.equal(mine.status, 200);
  assert.equal(mine.body.display_name, '超级管理员');
  assert.deepEqual(mine.body.roles.map((x) => x.key), ['system_admin']);
});

test('separation of duties: administrative roles are granted only with role.write or by the CLI', async () => {
  const c = cl.root;
  const before = await total(c);
  for (const role of ['audit_admin', 'security_admin', 'system_admin']) {
    const r = await c.post(U, body({ username: `grant.${role}`, roles: ['grid_worker', role] }));
    assert.deepEqual([r.status, errOf(r).code, errOf(r).field], [403, 'role_grant_forbidden', 'roles'], role);
  }
  assert.equal(await total(c), before);
  let r = await c.patch(`${U}/${users['zhang.san'].id}`, { roles: ['grid_worker', 'audit_admin'] });
  assert.deepEqual([r.status, errOf(r).code], [403, 'role_grant_forbidden']);
  assert.deepEqual((await c.get(`${U}/${users['zhang.san'].id}`)).body.roles.map((x) => x.key), ['doctor', 'grid_worker']);

  // a custom role carrying an administrative permission is guarded the same way
  const mgr = await cl.sec.post('/api/v1/roles', { key: 'user_mgr', name: '用户管理员', permissions: ['user.read', 'user.write'] });
  assert.equal(mgr.status, 201, mgr.text);
  const viewer = await cl.sec.post('/api/v1/roles', { key: 'viewer', name: '查看员', permissions: ['person.read'] });
  assert.equal(viewer.status, 201, viewer.text);
  r = await c.post(U, body({ username: 'mgr1', roles: ['user_mgr'] }));
  assert.deepEqual([r.status, errOf(r).code], [403, 'role_grant_forbidden']);
  r = await c.post(U, body({ username: 'viewer1', roles: ['viewer'] }));
  assert.equal(r.status, 201, r.text);

  // the security administrator defines roles but creates no accounts (no
  // one holds both rights: 三员分立), so administrators come from the CLI
  r = await cl.sec.post(U, body({ username: 'auditor2', roles: ['audit_admin'], region_code: '110000000000' }));
  assert.equal(r.status, 403, r.text);
  ctx.must(['user', 'add', '--username', 'auditor2', '--password', PW, '--role', 'audit_admin', '--region', '110000000000']);
  const listed = (await c.get(`${U}?page_size=200`)).body.items.find((x) => x.username === 'auditor2');
  assert.equal(listed.totp_required, true);
  const auditor = listed.id;
  // and the system administrator can no longer take that account over
  const takeovers = [
    () => c.post(`${U}/${auditor}/password`, { password: 'T4keover-Passw0rd' }),
    () => c.post(`${U}/${auditor}/totp/reset`),
    () => c.post(`${U}/${auditor}/lock`),
    () => c.del(`${U}/${auditor}`),
    () => c.patch(`${U}/${auditor}`, { roles: ['grid_worker'] }),
    () => c.patch(`${U}/${auditor}`, { disabled: true }),
  ];
  for (const t of takeovers) {
    const x = await t();
    assert.deepEqual([x.status, errOf(x).code], [403, 'protected_account'], x.text);
  }
  const a = await c.get(`${U}/${auditor}`);
  assert.deepEqual(a.body.roles.map((x) => x.key), ['audit_admin']);
  assert.equal(a.body.disabled, false);
  assert.equal(a.body.locked, false);
  // nor rename, sign out or unlock the auditor and the security
  // administrator (issue 8): each is interfering with their duty
  ctx.must(['user', 'add', '--username', 'sec2', '--password', PW, '--role', 'security_admin', '--region', '110000000000']);
  const sec2 = (await c.get(`${U}?page_size=200`)).body.items.find((x) => x.username === 'sec2').id;
  for (const target of [auditor, sec2]) {
    for (const t of [
      () => c.post(`${U}/${target}/unlock`),
      () => c.post(`${U}/${target}/logout-all`),
      () => c.patch(`${U}/${target}`, { display_name: '审计员' }),
    ]) {
      const x = await t();
      assert.deepEqual([x.status, errOf(x).code], [403, 'protected_account'], x.text);
      assert.match(errOf(x).message, /三员分立/);
    }
  }
  assert.equal((await c.get(`${U}/${auditor}`)).body.display_name, 'auditor2', 'the name is unchanged');
  // the same name again is no rename; other accounts are renamed as before
  assert.equal((await c.patch(`${U}/${auditor}`, { display_name: 'auditor2' })).status, 200);
  assert.equal((await c.patch(`${U}/${users.grid.id}`, { display_name: '网格员甲' })).status, 200);
  assert.equal((await c.post(`${U}/${users.grid.id}/logout-all`)).status, 204);
  await signIn('grid');
});

test('a staff account cannot have the citizen role, from the CLI or the API', async () => {
  const r0 = ctx.fk(['user', 'add', '--username', 'cit1', '--password', PW, '--role', 'citizen', '--region', '110101001001']);
  assert.equal(r0.status, 1);
  assert.match(r0.stderr, /市民/);
  const c = cl.root;
  const before = await total(c);
  let r = await c.post(U, body({ username: 'cit2', roles: ['grid_worker', 'citizen'] }));
  assert.deepEqual([r.status, errOf(r).code, errOf(r).field], [400, 'citizen_role_for_staff', 'roles']);
  assert.equal(await total(c), before, 'nothing created');
  r = await c.patch(`${U}/${users.grid.id}`, { roles: ['citizen'] });
  assert.deepEqual([r.status, errOf(r).code, errOf(r).field], [400, 'citizen_role_for_staff', 'roles']);
  assert.deepEqual((await c.get(`${U}/${users.grid.id}`)).body.roles.map((x) => x.key), ['grid_worker']);
});

test('common passwords are refused at create, reset and the CLI (400 password_too_common)', async () => {
  const c = cl.root;
  const before = await total(c);
  let r = await c.post(U, body({ username: 'common1', password: 'P@ssw0rd2024' }));
  assert.deepEqual([r.status, errOf(r).code, errOf(r).field], [400, 'password_too_common', 'password']);
  assert.equal(await total(c), before, 'nothing created');
  r = await c.post(`${U}/${users.grid.id}/password`, { password: 'Woaini1314!' });
  assert.deepEqual([r.status, errOf(r).code, errOf(r).field], [400, 'password_too_common', 'password']);
  assert.equal((await cl.grid.get('/api/v1/me')).status, 200, 'the refused reset ended no session');
  const r0 = ctx.fk(['user', 'add', '--username', 'common2', '--password', 'Admin@123', '--role', 'grid_worker', '--region', '110101001001']);
  assert.equal(r0.status, 1);
  assert.match(r0.stderr, /常见/);
});

test('admin actions: reset password, lock, unlock, logout-all, TOTP reset, delete', async () => {
  const c = cl.root;
  const id = users['zhang.san'].id;
  const z = cl['zhang.san'];
  // TOTP enrolled by the user, reset by the administrator
  let r = await z.post('/api/v1/me/password', { old_password: PW, new_password: 'Zh4ng-Passw0rd' });
  assert.equal(r.status, 204);
  r = await z.post('/api/v1/me/totp');
  assert.equal(r.status, 200);
  assert.equal((await z.post('/api/v1/me/totp/confirm', { code: totp(r.body.secret) })).status, 204);
  assert.equal((await c.get(`${U}/${id}`)).body.totp_enabled, true);
  assert.equal((await c.post(`${U}/${id}/totp/reset`)).status, 204);
  assert.equal((await c.get(`${U}/${id}`)).body.totp_enabled, false);

  // password reset: policy, then every session of the user ends
  r = await c.post(`${U}/${id}/password`, { password: 'weak' });
  assert.deepEqual([r.status, errOf(r).code, errOf(r).field], [400, 'weak_password', 'password']);
  r = await c.post(`${U}/${id}/password`, {});
  assert.deepEqual([r.status, errOf(r).code], [400, 'required']);
  r = await c.post(`${U}/${id}/password`, { password: 'R3set-Passw0rd', must_change: 'no' });
  assert.equal(r.status, 400);
  assert.equal((await z.get('/api/v1/me')).status, 200);
  r = await c.post(`${U}/${id}/password`, { password: 'R3set-Passw0rd' });
  assert.equal(r.status, 204);
  assert.equal((await z.get('/api/v1/me')).status, 401);
  await z.login('zhang.san', 'R3set-Passw0rd');
  assert.equal((await z.get('/api/v1/me')).body.must_change_password, true);
  r = await c.post(`${U}/${id}/password`, { password: 'R3set-Passw0rd2', must_change: false });
  assert.equal(r.status, 204);
  await z.login('zhang.san', 'R3set-Passw0rd2');
  assert.equal((await z.get('/api/v1/me')).body.must_change_password, false);

  // lock: sessions end, sign-in refused, shown as locked; unlock restores
  assert.equal((await c.post(`${U}/${id}/lock`)).status, 204);
  assert.equal((await z.get('/api/v1/me')).status, 401);
  r = await ctx.client().post('/api/v1/auth/login', { username: 'zhang.san', password: 'R3set-Passw0rd2' });
  assert.deepEqual([r.status, errOf(r).code], [423, 'account_locked']);
  const locked = await c.get(`${U}?locked=true`);
  assert.deepEqual(locked.body.items.map((x) => x.username), ['zhang.san']);
  assert.equal((await c.post(`${U}/${id}/unlock`)).status, 204);
  assert.equal((await c.get(`${U}/${id}`)).body.locked, false);
  await z.login('zhang.san', 'R3set-Passw0rd2');

  // logout-all
  assert.equal((await c.post(`${U}/${id}/logout-all`)).status, 204);
  assert.equal((await z.get('/api/v1/me')).status, 401);
  await z.login('zhang.san', 'R3set-Passw0rd2');

  // delete: disabled, signed out, cannot sign in; re-enable with PATCH
  assert.equal((await c.del(`${U}/${id}`)).status, 204);
  assert.equal((await z.get('/api/v1/me')).status, 401);
  r = await ctx.client().post('/api/v1/auth/login', { username: 'zhang.san', password: 'R3set-Passw0rd2' });
  assert.equal(r.status, 401);
  assert.equal((await c.get(`${U}/${id}`)).body.disabled, true);
  assert.deepEqual((await c.get(`${U}?disabled=true`)).body.items.map((x) => x.username), ['zhang.san']);
  r = await c.patch(`${U}/${id}`, { disabled: false });
  assert.equal(r.status, 200);
  assert.equal(r.body.disabled, false);
  await z.login('zhang.san', 'R3set-Passw0rd2');

  // unknown ids
  for (const p of ['999999999/lock', '999999999/unlock', 'abc/lock', '0/logout-all']) {
    assert.equal((await c.post(`${U}/${p}`)).status, 404, p);
  }
  assert.equal((await c.del(`${U}/abc`)).status, 404);
});

test('writes and reads are audited', async () => {
  const out = ctx.must(['user', 'add', '--username', 'aud', '--password', PW, '--role', 'audit_admin', '--region', '110000000000']);
  const a = track(ctx.client());
  await a.login('aud', PW, totpSecretFrom(out));
  const id = users['zhang.san'].id;
  let items = [];
  for (let i = 0; i < 40; i++) {
    const r = await a.get(`/api/v1/audit?object_type=user&object_id=${id}&page_size=200`);
    items = r.body.items;
    if (items.some((x) => x.action === 'user.update' && x.detail === 'fields=disabled')) break;
    await new Promise((res) => setTimeout(res, 100));
  }
  const acts = new Set(items.map((x) => `${x.action}:${x.result}`));
  for (const x of ['user.create:ok', 'user.read:ok', 'user.update:ok', 'user.password_reset:ok', 'user.lock:ok', 'user.unlock:ok', 'user.logout_all:ok', 'user.totp_reset:ok', 'user.delete:ok']) {
    assert.ok(acts.has(x), x);
  }
  const refused = await a.get('/api/v1/audit?action=user.create&result=role_grant_forbidden');
  assert.ok(refused.body.total >= 3);
  const list = await a.get('/api/v1/audit?action=user.list');
  assert.ok(list.body.items.some((x) => /^count=\d+,format=csv$/.test(x.detail)));
  assert.ok(!JSON.stringify(items).includes(PW));
});

test('no reply ever carried a password hash or a TOTP secret column', () => {
  assert.ok(seen.length > 50);
  for (const t of seen) {
    assert.ok(!t.includes('$argon2'), 'argon2 hash in a reply');
    assert.ok(!/password_hash|totp_secret/.test(t), 'secret column in a reply: ' + t);
  }
});
