// Signing in and one's own account: password + TOTP sign-in, lockout,
// the per-address limit, SMS sign-in for residents, sessions (idle expiry,
// sign-out, sign-out everywhere), /me, password change and the pending
// password change gate, TOTP enrolment. Every group that spends sign-in
// attempts runs on its own server: the address limit (30 a minute from
// 127.0.0.1) is per database.
import { test, before, after, describe } from 'node:test';
import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import fs from 'node:fs';
import http from 'node:http';
import os from 'node:os';
import path from 'node:path';
import { startServer, Client, totp, smsCode, totpSecretFrom, writeTmp, residentId, CITY_CSV, sleep, BIN, errOf, sqlRun } from './lib.mjs';

const PW = 'Passw0rd!auth';
const LOGIN = '/api/v1/auth/login';
// every reply body seen, to check that none ever carries a secret
const seen = [];

function track(c) {
  const orig = c.req.bind(c);
  c.req = async (...a) => {
    const r = await orig(...a);
    seen.push(r.text);
    return r;
  };
  return c;
}

function city(c) {
  c.must(['import', 'regions', writeTmp(c, 'city.csv', CITY_CSV)]);
}

function addUser(c, username, role, region = '110101001001', extra = []) {
  const out = c.must(['user', 'add', '--username', username, '--password', PW, '--role', role, '--region', region, ...extra]);
  const m = /created \(id (\d+)\)/.exec(out);
  return { id: m && m[1], secret: totpSecretFrom(out), out };
}

// The sign-in slow-down (a wait after the second failure in a row) is off
// unless a group turns it on: most groups spend failures on purpose.
async function server(users, opts = {}) {
  const made = {};
  const ctx = await startServer({
    ...opts,
    env: { FK_LOGIN_BACKOFF_MS: '0', ...(opts.env || {}) },
    setup: (c) => {
      city(c);
      for (const [name, role, region] of users) made[name] = addUser(c, name, role, region);
    },
  });
  ctx.users = made;
  ctx.c = () => track(ctx.client());
  return ctx;
}

// A request from another source address (127.0.0.0/8 is all loopback on
// Linux): the sign-in limits are per address. Returns {status, body, headers}.
function postFrom(ctx, from, p, body) {
  return new Promise((resolve, reject) => {
    const data = JSON.stringify(body);
    const req = http.request(ctx.url + p, {
      method: 'POST', localAddress: from,
      headers: { 'content-type': 'application/json', 'content-length': Buffer.byteLength(data), origin: ctx.url },
    }, (res) => {
      let text = '';
      res.setEncoding('utf8');
      res.on('data', (d) => { text += d; });
      res.on('end', () => {
        let json;
        try { json = text ? JSON.parse(text) : undefined; } catch { json = undefined; }
        seen.push(text);
        resolve({ status: res.statusCode, body: json, text, headers: res.headers });
      });
    });
    req.on('error', reject);
    req.end(data);
  });
}

// A wrong code for a secret: ten steps ahead is outside the accepted window.
const wrongTotp = (secret) => totp(secret, Date.now() + 10 * 30000);

// The enrolment QR code: a self-contained SVG whose one path draws the
// dark modules (its exact matrix is checked against libqrencode's in
// tests/unit/test_qr.c).
function assertQrSvg(svg) {
  assert.match(svg, /^<svg xmlns="http:\/\/www\.w3\.org\/2000\/svg" viewBox="0 0 (\d+) \1" [^>]*>/);
  assert.ok(svg.endsWith('</svg>'));
  assert.equal(svg.match(/<path /g).length, 1);
  assert.match(svg, /<path fill="#000" d="(M\d+ \d+h\d+v1h-\d+z)+"\/>/);
  assert.ok(!/href|<script|url\(|<!|&/.test(svg), 'nothing external or executable');
  const size = Number(/viewBox="0 0 (\d+)/.exec(svg)[1]);
  assert.ok(size >= 21 + 8 && (size - 8 - 17) % 4 === 0, 'a QR symbol (4k+17 modules) with a 4-module quiet zone');
}

function which(cmd) {
  for (const d of (process.env.PATH || '').split(':')) {
    const p = d && path.join(d, cmd);
    if (p && fs.existsSync(p)) return p;
  }
  return undefined;
}

// What a phone's camera would read from the SVG: rendered by Chromium and
// decoded by zbarimg. Both are test dependencies (scripts/deps.sh): a
// missing one fails the test rather than skipping the check in silence.
function decodeQr(svg) {
  const chromium = which('chromium') || which('chromium-browser');
  const zbar = which('zbarimg');
  if (!chromium || !zbar) throw new Error('decoding the QR code needs chromium and zbarimg (zbar-tools): run scripts/deps.sh');
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'fk-qr-'));
  try {
    fs.writeFileSync(path.join(dir, 'qr.svg'), svg);
    const png = path.join(dir, 'qr.png');
    execFileSync(chromium, ['--headless', '--no-sandbox', '--disable-gpu', `--user-data-dir=${dir}/profile`,
      `--screenshot=${png}`, '--window-size=400,400', 'file://' + path.join(dir, 'qr.svg')],
    { stdio: 'ignore', timeout: 60000 });
    return execFileSync(zbar, ['-q', '--raw', png], { encoding: 'utf8', stdio: ['ignore', 'pipe', 'ignore'] }).trim();
  } finally {
    fs.rmSync(dir, { recursive: true, force: true });
  }
}

describe('password sign-in, /me, sign-out and TOTP', () => {
  let ctx;
  before(async () => {
    ctx = await server([
      ['worker', 'grid_worker', '110101001001'],
      ['other', 'grid_worker', '110101001001'],
      ['admin', 'system_admin', '110000000000'],
      ['auditor', 'audit_admin', '110000000000'],
      ['enrol', 'doctor', '110101000000'],
    ]);
  });
  after(async () => ctx?.stop());

  test('user add prints the id, and a TOTP secret only for roles that need one', () => {
    assert.match(ctx.users.worker.out, /^user worker created \(id \d+\)$/m);
    assert.equal(ctx.users.worker.secret, undefined);
    assert.match(ctx.users.admin.secret, /^[A-Z2-7]{16,}$/);
    assert.match(ctx.users.admin.out, /otpauth:\/\/totp\/fangkong:admin\?secret=/);
  });

  test('the right password signs in, sets the cookie and answers /me', async () => {
    const c = ctx.c();
    const r = await c.post(LOGIN, { username: 'worker', password: PW });
    assert.equal(r.status, 200, r.text);
    assert.match(r.headers.get('set-cookie'), /^fk_session=[0-9a-f]{64}; Path=\/; HttpOnly; SameSite=Strict; Secure$/);
    const me = r.body;
    assert.equal(me.id, ctx.users.worker.id);
    assert.equal(me.username, 'worker');
    assert.equal(me.display_name, 'worker');
    assert.equal(me.kind, 'staff');
    assert.deepEqual(me.roles, [{ key: 'grid_worker', name: '网格员' }]);
    assert.deepEqual([...me.permissions].sort(), ['access.read', 'access.scan', 'alert.ack', 'alert.read',
      'assist.work', 'case.read', 'case.report', 'case.status', 'cert.verify', 'code.read',
      'device.read', 'device.write',
      'enterprise.read', 'face.manage', 'health.read', 'health.write', 'isolation.write', 'itinerary.verify', 'medical.read', 'parking.read', 'person.read', 'person.write', 'place.read', 'region.read',
      'service.read', 'task.work', 'trace.read', 'trace.write',
      'vehicle.read', 'vehicle.write',
      'venue.read', 'venue.write',
      'visitor.confirm',
    ]);
    assert.deepEqual(me.region, { code: '110101001001', name: '多福巷社区', level: 'community' });
    assert.equal(me.scope_code, '110101001001');
    assert.equal(me.must_change_password, false);
    assert.equal(me.totp_enabled, false);
    assert.equal(me.totp_required, false);
    assert.equal(me.person_id, null);
    const again = await c.get('/api/v1/me');
    assert.equal(again.status, 200);
    assert.deepEqual(again.body, me);
  });

  test('wrong password and unknown user get the same 401', async () => {
    const c = ctx.c();
    const wrong = await c.post(LOGIN, { username: 'worker', password: PW + 'x' });
    const unknown = await c.post(LOGIN, { username: 'nobody', password: PW });
    assert.equal(wrong.status, 401);
    assert.equal(unknown.status, 401);
    assert.equal(errOf(wrong).code, 'bad_credentials');
    assert.deepEqual(wrong.body, unknown.body);
    assert.equal(wrong.headers.get('set-cookie'), null);
    const sql = await c.post(LOGIN, { username: "worker' OR '1'='1", password: "' OR 1=1 --" });
    assert.equal(sql.status, 401);
    assert.deepEqual(sql.body, wrong.body);
    assert.equal((await c.get('/api/v1/me')).status, 401);
  });

  test('malformed sign-in requests are 4xx with the field', async () => {
    const c = ctx.c();
    let r = await c.post(LOGIN, '{"username":"worker",');
    assert.equal(r.status, 400);
    assert.equal(errOf(r).code, 'invalid_json');
    r = await c.post(LOGIN, { username: 5, password: PW });
    assert.equal(r.status, 400);
    assert.deepEqual([errOf(r).code, errOf(r).field], ['invalid_type', 'username']);
    r = await c.post(LOGIN, { username: 'worker', password: PW, admin: true });
    assert.deepEqual([r.status, errOf(r).code, errOf(r).field], [400, 'unknown_field', 'admin']);
    r = await c.post(LOGIN, { username: 'worker' });
    assert.deepEqual([r.status, errOf(r).code, errOf(r).field], [400, 'required', 'password']);
    r = await c.post(LOGIN, { username: 'worker', password: PW, totp: 123456 });
    assert.deepEqual([r.status, errOf(r).field], [400, 'totp']);
    r = await c.post(LOGIN, ['worker', PW]);
    assert.deepEqual([r.status, errOf(r).code], [400, 'invalid_json']);
    r = await c.post(LOGIN, JSON.stringify({ username: 'worker', password: PW }), { 'content-type': 'text/plain' });
    assert.equal(r.status, 415);
    assert.equal(r.headers.get('set-cookie'), null);
  });

  test('no session, a forged token and a garbage cookie are all 401', async () => {
    const c = ctx.c();
    let r = await c.get('/api/v1/me');
    assert.deepEqual([r.status, errOf(r).code], [401, 'unauthenticated']);
    c.cookie = 'fk_session=' + 'ab'.repeat(32);
    r = await c.get('/api/v1/me');
    assert.deepEqual([r.status, errOf(r).code], [401, 'session_expired']);
    r = await c.get('/api/v1/me', { authorization: 'Bearer ' + 'cd'.repeat(32) });
    assert.equal(r.status, 401);
    c.cookie = "fk_session=' OR 1=1 --";
    r = await c.get('/api/v1/me');
    assert.equal(r.status, 401);
  });

  test('system_admin needs the TOTP code; a used code is refused', async () => {
    const { secret } = ctx.users.admin;
    const c = ctx.c();
    let r = await c.post(LOGIN, { username: 'admin', password: PW });
    assert.equal(r.status, 401);
    assert.deepEqual([errOf(r).code, errOf(r).field], ['totp_required', 'totp']);
    r = await c.post(LOGIN, { username: 'admin', password: PW, totp: wrongTotp(secret) });
    assert.deepEqual([r.status, errOf(r).code], [401, 'bad_totp']);
    r = await c.post(LOGIN, { username: 'admin', password: PW + 'x', totp: totp(secret) });
    assert.deepEqual([r.status, errOf(r).code], [401, 'bad_credentials']);
    const code = totp(secret);
    r = await c.post(LOGIN, { username: 'admin', password: PW, totp: code });
    assert.equal(r.status, 200, r.text);
    assert.equal(r.body.totp_enabled, true);
    assert.equal(r.body.totp_required, true);
    assert.deepEqual(r.body.roles, [{ key: 'system_admin', name: '系统管理员' }]);
    assert.ok(r.body.permissions.includes('user.write'));
    assert.ok(!r.body.permissions.includes('audit.read'));
    assert.deepEqual(r.body.region, { code: '110000000000', name: '北京市', level: 'province' });
    // the same code a second time (seen over a shoulder): refused
    const replay = await ctx.c().post(LOGIN, { username: 'admin', password: PW, totp: code });
    assert.deepEqual([replay.status, errOf(replay).code], [401, 'bad_totp']);
    // a role that demands TOTP cannot switch it off
    const off = await c.req('DELETE', '/api/v1/me/totp', { password: PW });
    assert.deepEqual([off.status, errOf(off).code], [409, 'totp_required_by_role']);
    assert.equal((await c.get('/api/v1/me')).body.totp_enabled, true);
  });

  test('logout ends the session and clears the cookie', async () => {
    const c = ctx.c();
    await c.login('worker', PW);
    const token = c.cookie;
    const r = await c.post('/api/v1/auth/logout');
    assert.equal(r.status, 204);
    assert.equal(r.headers.get('set-cookie'), 'fk_session=; Path=/; Max-Age=0; HttpOnly; SameSite=Strict; Secure');
    const stale = ctx.c();
    stale.cookie = token;
    const me = await stale.get('/api/v1/me');
    assert.deepEqual([me.status, errOf(me).code], [401, 'session_expired']);
    assert.equal((await ctx.c().post('/api/v1/auth/logout')).status, 401);
  });

  test('logout-all ends every session of the caller, and only theirs', async () => {
    const a = ctx.c();
    const b = ctx.c();
    const o = ctx.c();
    await a.login('other', PW);
    await b.login('other', PW);
    await o.login('worker', PW);
    assert.equal((await b.get('/api/v1/me')).status, 200);
    const r = await a.post('/api/v1/auth/logout-all');
    assert.equal(r.status, 204);
    assert.match(r.headers.get('set-cookie'), /^fk_session=; Path=\/; Max-Age=0/);
    const dead = await b.get('/api/v1/me');
    assert.deepEqual([dead.status, errOf(dead).code], [401, 'session_expired']);
    assert.equal((await o.get('/api/v1/me')).status, 200);
  });

  test('TOTP enrolment: begin, confirm, sign in with it, switch it off with the password', async () => {
    const c = ctx.c();
    await c.login('enrol', PW);
    let r = await c.post('/api/v1/me/totp');
    assert.equal(r.status, 200, r.text);
    assert.match(r.body.secret, /^[A-Z2-7]{32}$/);
    assert.ok(r.body.uri.startsWith('otpauth://totp/fangkong:enrol?secret=' + r.body.secret));
    assertQrSvg(r.body.qr_svg);
    assert.equal(decodeQr(r.body.qr_svg), r.body.uri);
    // begin again before confirming: a new secret replaces the first
    r = await c.post('/api/v1/me/totp');
    assert.equal(r.status, 200);
    const secret = r.body.secret;
    r = await c.post('/api/v1/me/totp/confirm', { code: wrongTotp(secret) });
    assert.deepEqual([r.status, errOf(r).code, errOf(r).field], [400, 'bad_totp', 'code']);
    r = await c.post('/api/v1/me/totp/confirm', { code: 123456 });
    assert.deepEqual([r.status, errOf(r).field], [400, 'code']);
    r = await c.post('/api/v1/me/totp/confirm', {});
    assert.deepEqual([r.status, errOf(r).code], [400, 'required']);
    assert.equal((await c.get('/api/v1/me')).body.totp_enabled, false);
    r = await c.post('/api/v1/me/totp/confirm', { code: totp(secret) });
    assert.equal(r.status, 204, r.text);
    assert.equal((await c.get('/api/v1/me')).body.totp_enabled, true);
    r = await c.post('/api/v1/me/totp');
    assert.deepEqual([r.status, errOf(r).code], [409, 'totp_already_enabled']);

    const d = ctx.c();
    r = await d.post(LOGIN, { username: 'enrol', password: PW });
    assert.deepEqual([r.status, errOf(r).code], [401, 'totp_required']);
    // the confirming code's step is spent; the next step's code is accepted
    r = await d.post(LOGIN, { username: 'enrol', password: PW, totp: totp(secret, Date.now() + 30000) });
    assert.equal(r.status, 200, r.text);

    r = await d.req('DELETE', '/api/v1/me/totp', { password: PW + 'x' });
    assert.deepEqual([r.status, errOf(r).code, errOf(r).field], [400, 'bad_password', 'password']);
    r = await d.req('DELETE', '/api/v1/me/totp', {});
    assert.deepEqual([r.status, errOf(r).code, errOf(r).field], [400, 'required', 'password']);
    assert.equal((await d.get('/api/v1/me')).body.totp_enabled, true);
    r = await d.req('DELETE', '/api/v1/me/totp', { password: PW });
    assert.equal(r.status, 204);
    assert.equal((await d.get('/api/v1/me')).body.totp_enabled, false);
    r = await ctx.c().post(LOGIN, { username: 'enrol', password: PW });
    assert.equal(r.status, 200);
  });

  test('sign-ins are audited with the account and result, never the password', async () => {
    const a = ctx.c();
    await a.login('auditor', PW, ctx.users.auditor.secret);
    let items = [];
    for (let i = 0; i < 40; i++) {
      const r = await a.get('/api/v1/audit?action=auth.login&page_size=200');
      assert.equal(r.status, 200, r.text);
      items = r.body.items;
      if (items.some((x) => x.username === 'auditor' && x.result === 'ok')) break;
      await sleep(100);
    }
    const worker = ctx.users.worker.id;
    assert.ok(items.some((x) => x.user_id === worker && x.result === 'ok' && x.username === 'worker'));
    assert.ok(items.some((x) => x.user_id === worker && x.result === 'bad_credentials'));
    assert.ok(items.some((x) => x.result === 'bad_credentials' && x.user_id === null && x.username === ''));
    assert.ok(items.some((x) => x.username === 'admin' && x.result === 'totp_required'));
    const all = JSON.stringify(items);
    assert.ok(!all.includes(PW), 'a password reached the audit log');
    assert.ok(!all.includes('nobody'), 'an unknown user name reached the audit log');
    const out = await a.get('/api/v1/audit?action=auth.logout_all');
    assert.ok(out.body.items.length >= 1);
    const tot = await a.get('/api/v1/audit?action=auth.totp_enable');
    assert.ok(tot.body.items.some((x) => x.username === 'enrol' && x.result === 'ok'));
  });
});

describe('lockout, unlock, password change and the pending change', () => {
  let ctx;
  let admin; // one sign-in: a second within 30 s would reuse a spent TOTP step
  before(async () => {
    ctx = await server([
      ['locky', 'grid_worker', '110101001001'],
      ['pwuser', 'grid_worker', '110101001001'],
      ['admin', 'system_admin', '110000000000'],
    ]);
  });
  after(async () => ctx?.stop());

  test('five failures lock the account (423 with locked_until); the right password is refused until unlocked', async () => {
    const c = ctx.c();
    for (let i = 0; i < 4; i++) {
      const r = await c.post(LOGIN, { username: 'locky', password: 'wrong' + i });
      assert.deepEqual([r.status, errOf(r).code], [401, 'bad_credentials'], `attempt ${i + 1}`);
    }
    const before5 = Date.now();
    let r = await c.post(LOGIN, { username: 'locky', password: 'wrong5' });
    assert.equal(r.status, 423);
    assert.equal(errOf(r).code, 'account_locked');
    assert.ok(errOf(r).locked_until > before5 + 29 * 60 * 1000, 'locked for about 30 minutes');
    assert.match(errOf(r).message, /[\u4e00-\u9fff]/);
    r = await c.post(LOGIN, { username: 'locky', password: PW });
    assert.deepEqual([r.status, errOf(r).code], [423, 'account_locked']);
    assert.equal(r.headers.get('set-cookie'), null);

    admin = ctx.c();
    await admin.login('admin', PW, ctx.users.admin.secret);
    const u = await admin.get(`/api/v1/users/${ctx.users.locky.id}`);
    assert.equal(u.body.locked, true);
    r = await admin.post(`/api/v1/users/${ctx.users.locky.id}/unlock`);
    assert.equal(r.status, 204);
    r = await c.post(LOGIN, { username: 'locky', password: PW });
    assert.equal(r.status, 200, r.text);
  });

  test('password change: errors name the field; success keeps this session and ends the others', async () => {
    const c = ctx.c();
    const other = ctx.c();
    await c.login('pwuser', PW);
    await other.login('pwuser', PW);
    const P = '/api/v1/me/password';
    const NEW = 'N3w-Passw0rd!';
    let r = await c.post(P, { old_password: 'wrong', new_password: NEW });
    assert.deepEqual([r.status, errOf(r).code, errOf(r).field], [400, 'bad_password', 'old_password']);
    r = await c.post(P, { old_password: PW, new_password: 'short' });
    assert.deepEqual([r.status, errOf(r).code, errOf(r).field], [400, 'weak_password', 'new_password']);
    r = await c.post(P, { old_password: PW, new_password: 'alllowercaseletters' });
    assert.deepEqual([r.status, errOf(r).code], [400, 'weak_password']);
    r = await c.post(P, { old_password: PW, new_password: PW });
    assert.deepEqual([r.status, errOf(r).code, errOf(r).field], [400, 'same_password', 'new_password']);
    r = await c.post(P, { old_password: PW });
    assert.deepEqual([r.status, errOf(r).code, errOf(r).field], [400, 'required', 'new_password']);
    r = await c.post(P, { old_password: PW, new_password: 12345678 });
    assert.deepEqual([r.status, errOf(r).code], [400, 'invalid_type']);
    // nothing changed so far: the other session is alive
    assert.equal((await other.get('/api/v1/me')).status, 200);
    r = await c.post(P, { old_password: PW, new_password: NEW });
    assert.equal(r.status, 204, r.text);
    assert.equal((await c.get('/api/v1/me')).status, 200);
    assert.equal((await other.get('/api/v1/me')).status, 401);
    r = await ctx.c().post(LOGIN, { username: 'pwuser', password: PW });
    assert.equal(r.status, 401);
    r = await ctx.c().post(LOGIN, { username: 'pwuser', password: NEW });
    assert.equal(r.status, 200);
  });

  test('a pending password change blocks everything but /me, sign-out and the change', async () => {
    const made = await admin.post('/api/v1/users', {
      username: 'newbie', display_name: '新人', password: PW, region_code: '110101000000', roles: ['command_center'],
    });
    assert.equal(made.status, 201, made.text);
    assert.equal(made.body.must_change_password, true);
    const c = ctx.c();
    const r = await c.post(LOGIN, { username: 'newbie', password: PW });
    assert.equal(r.status, 200);
    assert.equal(r.body.must_change_password, true);
    assert.equal(r.body.pending, 'password_change');
    let x = await c.get('/api/v1/users');
    assert.deepEqual([x.status, errOf(x).code], [403, 'password_change_required']);
    x = await c.req('DELETE', '/api/v1/me/totp', { password: PW });
    assert.deepEqual([x.status, errOf(x).code], [403, 'password_change_required']);
    assert.equal((await c.get('/api/v1/me')).status, 200);
    x = await c.post('/api/v1/me/password', { old_password: PW, new_password: 'Fresh-Passw0rd' });
    assert.equal(x.status, 204);
    const me = await c.get('/api/v1/me');
    assert.equal(me.body.must_change_password, false);
    assert.equal(me.body.pending, null);
    x = await c.get('/api/v1/users');
    assert.equal(x.status, 200);
  });
});

describe('the pending-step gate: a password change, then the second factor a role demands', () => {
  let ctx;
  let admin, sec;
  before(async () => {
    ctx = await server([
      ['admin', 'system_admin', '110000000000'],
      ['sec', 'security_admin', '110000000000'],
    ]);
    admin = ctx.c();
    await admin.login('admin', PW, ctx.users.admin.secret);
    sec = ctx.c();
    await sec.login('sec', PW, ctx.users.sec.secret);
    // a role for sensitive work that demands TOTP, held by accounts the
    // system administrator creates (so nobody has enrolled yet)
    const role = await sec.post('/api/v1/roles', {
      key: 'secure_viewer', name: '加强认证查看员', permissions: ['person.read', 'person.write', 'region.read'], require_totp: true,
    });
    assert.equal(role.status, 201, role.text);
  });
  after(async () => ctx?.stop());

  async function newUser(username, mustChange) {
    const r = await admin.post('/api/v1/users', {
      username, display_name: '测试', password: PW, region_code: '110101000000', roles: ['secure_viewer'], must_change_password: mustChange,
    });
    assert.equal(r.status, 201, r.text);
    return r.body.id;
  }

  // Every route but the account's own and signing out answers 403 `code`.
  async function assertGated(c, code) {
    for (const [m, p, b] of [
      ['GET', '/api/v1/persons'],
      ['GET', '/api/v1/regions/tree'],
      ['POST', '/api/v1/persons', { name: '某人', id_number: residentId('110101', '19900101', 901), region_code: '110101001001' }],
      ['POST', '/api/v1/persons', '{"name": '], // the gate answers before the body is read
      ['DELETE', '/api/v1/me/totp', { password: PW }],
      ['GET', '/api/v1/me/consent'],
      ['GET', '/api/v1/users'],
      ['GET', '/api/v1/audit'],
    ]) {
      const x = await c.req(m, p, b, typeof b === 'string' ? { 'content-type': 'application/json' } : {});
      assert.deepEqual([x.status, errOf(x).code], [403, code], `${m} ${p}: ${x.text}`);
      assert.match(errOf(x).message, /[\u4e00-\u9fff]/);
    }
    assert.equal((await c.get('/api/v1/me')).status, 200);
    // the public routes stay public
    assert.equal((await c.get('/api/v1/openapi.json')).status, 200);
  }

  test('a role demanding TOTP: nothing but enrolment until it is done, and again after a reset', async () => {
    const id = await newUser('sv1', false);
    const c = ctx.c();
    let r = await c.post(LOGIN, { username: 'sv1', password: PW });
    assert.equal(r.status, 200, r.text);
    assert.deepEqual([r.body.pending, r.body.totp_required, r.body.totp_enabled, r.body.must_change_password],
      ['totp_enrolment', true, false, false]);
    await assertGated(c, 'totp_enrolment_required');
    assert.match(errOf(await c.get('/api/v1/persons')).message, /动态验证码/);

    r = await c.post('/api/v1/me/totp');
    assert.equal(r.status, 200, r.text);
    assertQrSvg(r.body.qr_svg);
    const secret = r.body.secret;
    r = await c.post('/api/v1/me/totp/confirm', { code: wrongTotp(secret) });
    assert.deepEqual([r.status, errOf(r).code], [400, 'bad_totp']);
    assert.equal((await c.get('/api/v1/persons')).status, 403);
    r = await c.post('/api/v1/me/totp/confirm', { code: totp(secret) });
    assert.equal(r.status, 204, r.text);
    const me = await c.get('/api/v1/me');
    assert.deepEqual([me.body.pending, me.body.totp_enabled], [null, true]);
    // enrolled: the role's rights; the refused create above stored nothing
    r = await c.get('/api/v1/persons');
    assert.equal(r.status, 200, r.text);
    assert.equal(r.body.total, 0);

    // an administrator resets the second factor: the open session is held
    // at enrolment again at its next request
    r = await admin.post(`/api/v1/users/${id}/totp/reset`);
    assert.equal(r.status, 204, r.text);
    assert.equal((await c.get('/api/v1/me')).body.pending, 'totp_enrolment');
    r = await c.get('/api/v1/persons');
    assert.deepEqual([r.status, errOf(r).code], [403, 'totp_enrolment_required']);
  });

  test('both pending: the password first, then enrolment; signing out always works', async () => {
    await newUser('sv2', true);
    const c = ctx.c();
    let r = await c.post(LOGIN, { username: 'sv2', password: PW });
    assert.equal(r.status, 200, r.text);
    assert.equal(r.body.pending, 'password_change');
    await assertGated(c, 'password_change_required');
    const NEW = 'N3w-Passw0rd!gate';
    r = await c.post('/api/v1/me/password', { old_password: PW, new_password: NEW });
    assert.equal(r.status, 204, r.text);
    assert.equal((await c.get('/api/v1/me')).body.pending, 'totp_enrolment');
    await assertGated(c, 'totp_enrolment_required');

    const other = ctx.c();
    r = await other.post(LOGIN, { username: 'sv2', password: NEW });
    assert.equal(r.body.pending, 'totp_enrolment');
    r = await other.post('/api/v1/auth/logout-all');
    assert.equal(r.status, 204);
    assert.equal((await c.get('/api/v1/me')).status, 401);
    const third = ctx.c();
    await third.login('sv2', NEW);
    r = await third.post('/api/v1/auth/logout');
    assert.equal(r.status, 204);
    assert.equal((await third.get('/api/v1/me')).status, 401);
  });

  test('GET /me tells nothing is pending for an account in order', async () => {
    assert.equal((await admin.get('/api/v1/me')).body.pending, null);
  });
});

describe('SMS sign-in for residents', () => {
  let ctx;
  before(async () => {
    ctx = await server([['worker', 'grid_worker', '110101001001']]);
  });
  after(async () => ctx?.stop());
  const SEND = '/api/v1/auth/sms/send';
  const SMS = '/api/v1/auth/sms/login';

  test('send a code, refuse a wrong one, sign in with the right one', async () => {
    const phone = '13800138000';
    const c = ctx.c();
    let r = await c.post(SEND, { phone });
    assert.equal(r.status, 200, r.text);
    assert.deepEqual(r.body, { sent: true, expires_in: 300 });
    const code = smsCode(ctx, phone);
    assert.match(code, /^\d{6}$/);
    const wrong = code === '000000' ? '111111' : '000000';
    r = await c.post(SMS, { phone, code: wrong });
    assert.deepEqual([r.status, errOf(r).code, errOf(r).field], [401, 'bad_sms_code', 'code']);
    r = await c.post(SMS, { phone, code });
    assert.equal(r.status, 200, r.text);
    assert.match(r.headers.get('set-cookie'), /^fk_session=[0-9a-f]{64}; Path=\/; HttpOnly; SameSite=Strict; Secure$/);
    assert.equal(r.body.kind, 'resident');
    assert.equal(r.body.username, null);
    assert.equal(r.body.display_name, '138****8000');
    assert.deepEqual(r.body.roles, [{ key: 'citizen', name: '市民' }]);
    // region.read: residents choose their community from the region tree
    assert.deepEqual(r.body.permissions, ['region.read', 'self']);
    assert.equal(r.body.pending, null);
    assert.equal(r.body.must_change_password, false);
    assert.ok(!r.text.includes(phone), 'the full phone number was sent back');
    const me = await c.get('/api/v1/me');
    assert.deepEqual(me.body, r.body);
    // a used code is gone
    r = await ctx.c().post(SMS, { phone, code });
    assert.deepEqual([r.status, errOf(r).code], [401, 'bad_sms_code']);
    // residents have no password to change
    r = await c.post('/api/v1/me/password', { old_password: PW, new_password: 'N3w-Passw0rd!' });
    assert.equal(r.status, 403);
  });

  test('five wrong codes kill the code; a second code within a minute is refused', async () => {
    const phone = '13900139000';
    const c = ctx.c();
    assert.equal((await c.post(SEND, { phone })).status, 200);
    const code = smsCode(ctx, phone);
    const wrong = code === '000000' ? '111111' : '000000';
    for (let i = 0; i < 5; i++) {
      const r = await c.post(SMS, { phone, code: wrong });
      assert.equal(r.status, 401, `try ${i + 1}`);
    }
    const r = await c.post(SMS, { phone, code });
    assert.deepEqual([r.status, errOf(r).code], [401, 'bad_sms_code']);
    const again = await c.post(SEND, { phone });
    assert.deepEqual([again.status, errOf(again).code], [429, 'rate_limited']);
  });

  test('bad SMS input is 400 with the field', async () => {
    const c = ctx.c();
    let r = await c.post(SEND, { phone: '12345' });
    assert.deepEqual([r.status, errOf(r).code, errOf(r).field], [400, 'invalid_phone', 'phone']);
    r = await c.post(SEND, { phone: "1380013800' OR 1=1" });
    assert.deepEqual([r.status, errOf(r).field], [400, 'phone']);
    r = await c.post(SEND, {});
    assert.deepEqual([r.status, errOf(r).code, errOf(r).field], [400, 'required', 'phone']);
    r = await c.post(SEND, { phone: 13800138000 });
    assert.deepEqual([r.status, errOf(r).code], [400, 'invalid_type']);
    r = await c.post(SMS, { phone: '13700137000', code: '123456', extra: 1 });
    assert.deepEqual([r.status, errOf(r).code], [400, 'unknown_field']);
    r = await c.post(SMS, { phone: '13700137000', code: '123456' });
    assert.deepEqual([r.status, errOf(r).code], [401, 'bad_sms_code']);
    r = await c.post(SMS, { phone: 'abc', code: '123456' });
    assert.deepEqual([r.status, errOf(r).field], [400, 'phone']);
  });
});

describe('the absolute session lifetime and the cookie', () => {
  let ctx;
  before(async () => {
    ctx = await server([['worker', 'grid_worker', '110101001001']], { env: { FK_SESSION_IDLE: '2', FK_SESSION_MAX: '4' } });
  });
  after(async () => ctx?.stop());

  test('a session in constant use still ends FK_SESSION_MAX after sign-in', async () => {
    const c = ctx.c();
    await c.login('worker', PW);
    const t0 = Date.now();
    while (Date.now() - t0 < 3300) {
      assert.equal((await c.get('/api/v1/me')).status, 200, `at ${Date.now() - t0} ms`);
      await sleep(500);
    }
    await sleep(Math.max(0, 4300 - (Date.now() - t0)));
    const r = await c.get('/api/v1/me');
    assert.deepEqual([r.status, errOf(r).code], [401, 'session_expired']);
    // and a new sign-in gets a new lifetime
    await c.login('worker', PW);
    assert.equal((await c.get('/api/v1/me')).status, 200);
  });

  test('FK_COOKIE_SECURE=0 drops Secure for plain-HTTP set-ups other than localhost', async () => {
    const plain = await server([['worker', 'grid_worker', '110101001001']], { env: { FK_COOKIE_SECURE: '0' } });
    try {
      const c = plain.c();
      let r = await c.post(LOGIN, { username: 'worker', password: PW });
      assert.equal(r.status, 200, r.text);
      assert.match(r.headers.get('set-cookie'), /^fk_session=[0-9a-f]{64}; Path=\/; HttpOnly; SameSite=Strict$/);
      r = await c.post('/api/v1/auth/logout');
      assert.equal(r.headers.get('set-cookie'), 'fk_session=; Path=/; Max-Age=0; HttpOnly; SameSite=Strict');
    } finally {
      await plain.stop();
    }
    // any other value is refused at start-up, naming the variable
    assert.throws(() => execFileSync(BIN, ['init'], { env: { ...ctx.env, FK_COOKIE_SECURE: 'yes' }, stdio: 'pipe' }),
      (e) => e.status !== 0 && /FK_COOKIE_SECURE/.test(String(e.stderr)));
  });
});

describe('SMS codes: tries survive a resend; daily caps per phone and per address', () => {
  let ctx;
  before(async () => {
    ctx = await server([], { env: { FK_SMS_RESEND: '1', FK_SMS_PHONE_DAY: '3', FK_SMS_IP_DAY: '5' } });
  });
  after(async () => ctx?.stop());
  const SEND = '/api/v1/auth/sms/send';
  const SMS = '/api/v1/auth/sms/login';
  const wrongFor = (code) => (code === '000000' ? '111111' : '000000');

  test('a resend keeps the wrong tries of the window: five in all, whatever the number of codes', async () => {
    const from = '127.0.0.9';
    // positive control: three wrong, a resend, and the new code still works
    let phone = '13600136001';
    assert.equal((await postFrom(ctx, from, SEND, { phone })).status, 200);
    for (let i = 0; i < 3; i++) assert.equal((await postFrom(ctx, from, SMS, { phone, code: wrongFor(smsCode(ctx, phone)) })).status, 401);
    await sleep(1100);
    assert.equal((await postFrom(ctx, from, SEND, { phone })).status, 200);
    let r = await postFrom(ctx, from, SMS, { phone, code: smsCode(ctx, phone) });
    assert.equal(r.status, 200, r.text);
    // three wrong, a resend, two wrong: the tries are spent and the new code is refused
    phone = '13600136002';
    assert.equal((await postFrom(ctx, from, SEND, { phone })).status, 200);
    for (let i = 0; i < 3; i++) assert.equal((await postFrom(ctx, from, SMS, { phone, code: wrongFor(smsCode(ctx, phone)) })).status, 401);
    await sleep(1100);
    assert.equal((await postFrom(ctx, from, SEND, { phone })).status, 200);
    const code = smsCode(ctx, phone);
    for (let i = 0; i < 2; i++) assert.equal((await postFrom(ctx, from, SMS, { phone, code: wrongFor(code) })).status, 401);
    r = await postFrom(ctx, from, SMS, { phone, code });
    assert.deepEqual([r.status, errOf(r).code], [401, 'bad_sms_code']);
    // another resend does not revive it either
    await sleep(1100);
    assert.equal((await postFrom(ctx, from, SEND, { phone })).status, 200);
    r = await postFrom(ctx, from, SMS, { phone, code: smsCode(ctx, phone) });
    assert.deepEqual([r.status, errOf(r).code], [401, 'bad_sms_code']);
  });

  test('FK_SMS_PHONE_DAY codes a day for one phone, then 429 on the phone', async () => {
    const phone = '13600136003';
    for (let i = 0; i < 3; i++) {
      if (i) await sleep(1100);
      const r = await postFrom(ctx, `127.0.2.${i + 1}`, SEND, { phone });
      assert.equal(r.status, 200, `code ${i + 1}: ${r.text}`);
    }
    await sleep(1100);
    const r = await postFrom(ctx, '127.0.2.9', SEND, { phone });
    assert.deepEqual([r.status, errOf(r).code, errOf(r).field], [429, 'sms_daily_limit', 'phone']);
    assert.match(errOf(r).message, /今日/);
  });

  test('FK_SMS_IP_DAY codes a day from one address, then 429 for any phone', async () => {
    for (let i = 0; i < 5; i++) {
      const r = await postFrom(ctx, '127.0.0.10', SEND, { phone: `1350013500${i}` });
      assert.equal(r.status, 200, `code ${i + 1}: ${r.text}`);
    }
    let r = await postFrom(ctx, '127.0.0.10', SEND, { phone: '13500135009' });
    assert.deepEqual([r.status, errOf(r).code], [429, 'sms_daily_limit']);
    await sleep(1100); // the refused request still counted as this phone's code of the second
    r = await postFrom(ctx, '127.0.0.11', SEND, { phone: '13500135009' });
    assert.equal(r.status, 200, 'another address is not affected');
  });
});

describe('idle sessions expire; the address limit', () => {
  let ctx;
  before(async () => {
    ctx = await server([['worker', 'grid_worker', '110101001001']], { env: { FK_SESSION_IDLE: '2' } });
  });
  after(async () => ctx?.stop());

  test('a session in use stays alive; idle past FK_SESSION_IDLE it is gone', async () => {
    const c = ctx.c();
    await c.login('worker', PW);
    for (let i = 0; i < 4; i++) {
      await sleep(700);
      assert.equal((await c.get('/api/v1/me')).status, 200, `request ${i + 1}`);
    }
    await sleep(3000);
    const r = await c.get('/api/v1/me');
    assert.deepEqual([r.status, errOf(r).code], [401, 'session_expired']);
  });

  test('31 sign-in attempts a minute from one address: 429, even for the right password', async () => {
    const c = ctx.c();
    // one attempt was spent by the previous test
    const statuses = [];
    for (let i = 0; i < 30; i++) {
      const r = await c.post(LOGIN, { username: `ghost${i}`, password: 'nope' });
      statuses.push(r.status);
    }
    assert.deepEqual(statuses.slice(0, 29), Array(29).fill(401));
    assert.equal(statuses[29], 429);
    const r = await c.post(LOGIN, { username: 'worker', password: PW });
    assert.deepEqual([r.status, errOf(r).code], [429, 'rate_limited']);
    assert.equal(r.headers.get('set-cookie'), null);
  });
});

describe('the password hash cost (FK_PASSWORD_MEMORY_KIB, FK_PASSWORD_PASSES)', () => {
  test('new hashes take the configured cost; a sign-in re-hashes one of another cost', async () => {
    const ctx = await server([['plain', 'grid_worker', '110101001001']]); // the suite's test cost
    try {
      const cost = () => /\$m=(\d+),t=(\d+),p=1\$/.exec(sqlRun(ctx, "SELECT password_hash FROM users WHERE username = 'plain'")).slice(1).join(',');
      assert.equal(cost(), '64,1');
      assert.match(ctx.stderr, /weak_password_hash/, 'a cost below the default is logged at start');
      Object.assign(ctx.env, { FK_PASSWORD_MEMORY_KIB: '19456', FK_PASSWORD_PASSES: '2' });
      await ctx.restart();
      assert.doesNotMatch(ctx.stderr, /weak_password_hash/);
      let r = await postFrom(ctx, '127.0.2.1', LOGIN, { username: 'plain', password: 'Wrong-passw0rd' });
      assert.equal(r.status, 401);
      assert.equal(cost(), '64,1', 'a wrong password changes nothing');
      r = await postFrom(ctx, '127.0.2.1', LOGIN, { username: 'plain', password: PW });
      assert.equal(r.status, 200, r.text);
      assert.equal(cost(), '19456,2', 'the right password was re-hashed at the configured cost');
      r = await postFrom(ctx, '127.0.2.2', LOGIN, { username: 'plain', password: PW });
      assert.equal(r.status, 200, 'the new hash verifies');
      assert.throws(() => execFileSync(BIN, ['init'], { env: { ...ctx.env, FK_PASSWORD_MEMORY_KIB: '4' }, stdio: 'pipe' }),
        (e) => /FK_PASSWORD_MEMORY_KIB must be a number from 8/.test(e.stderr), 'a cost below argon2\'s minimum is refused');
    } finally {
      await ctx.stop();
    }
  });
});

describe('failed sign-ins: slow-down and lock per (name, address), the same for unknown names', () => {
  let ctx;
  before(async () => {
    ctx = await server([
      ['victim', 'system_admin', '110000000000'],
      ['boss', 'security_admin', '110000000000'],
      ['plain', 'grid_worker', '110101001001'],
      ['camera', 'exchange_client', '110101001001'],
    ], {
      // the default argon2id cost: the dummy-hash timing below means nothing at the test cost
      env: { FK_LOGIN_BACKOFF_MS: '300', FK_LOGIN_IP_FAILURES: '12', FK_PASSWORD_MEMORY_KIB: '19456', FK_PASSWORD_PASSES: '2' },
    });
  });
  after(async () => ctx?.stop());

  // Five failures of one name from one address, waiting out each slow-down:
  // what each attempt answered, and the answer to one more right away.
  async function fiveFailures(from, username) {
    const seenAnswers = [];
    let r;
    for (let i = 0; i < 5; i++) {
      if (i >= 2) {
        // from the second failure in a row, an immediate retry is refused
        // without looking at the password
        r = await postFrom(ctx, from, LOGIN, { username, password: PW });
        assert.deepEqual([r.status, errOf(r).code], [429, 'login_throttled'], `${username} retry ${i}`);
        assert.match(errOf(r).message, /请 \d+ 秒后再试/);
        await sleep(300 * 2 ** (i - 2) + 100);
      }
      r = await postFrom(ctx, from, LOGIN, { username, password: 'Wrong-passw0rd' + i });
      seenAnswers.push([r.status, errOf(r).code]);
    }
    return { answers: seenAnswers, last: r };
  }

  test('a stranger locks only their own address: the owner signs in from elsewhere; unknown names answer the same', async () => {
    const known = await fiveFailures('127.0.0.1', 'victim');
    const unknown = await fiveFailures('127.0.0.1', 'no-such-admin');
    const expected = [[401, 'bad_credentials'], [401, 'bad_credentials'], [401, 'bad_credentials'], [401, 'bad_credentials'], [423, 'account_locked']];
    assert.deepEqual(known.answers, expected);
    assert.deepEqual(unknown.answers, expected, 'an unknown name is counted and answered like a real one');
    const strip = (r) => ({ ...errOf(r), message: errOf(r).message.replace(/\d\d:\d\d/, 'HH:MM'), locked_until: typeof errOf(r).locked_until });
    assert.deepEqual(strip(known.last), strip(unknown.last));
    assert.match(errOf(known.last).message, /登录失败次数过多/);
    assert.ok(errOf(known.last).locked_until > Date.now() + 29 * 60 * 1000, 'locked for about 30 minutes');
    // locked: even the right password is refused from there, like any other
    for (const username of ['victim', 'no-such-admin']) {
      const r = await postFrom(ctx, '127.0.0.1', LOGIN, { username, password: PW, totp: totp(ctx.users.victim.secret) });
      assert.deepEqual([r.status, errOf(r).code], [423, 'account_locked'], username);
      assert.equal(r.headers['set-cookie'], undefined);
    }
    // the owner, elsewhere, is not locked out
    const r = await postFrom(ctx, '127.0.0.2', LOGIN, { username: 'victim', password: PW, totp: totp(ctx.users.victim.secret) });
    assert.equal(r.status, 200, r.text);
  });

  test('the administrator sees the lock and unlocks it; a success forgets the failures', async () => {
    const locked = await fiveFailures('127.0.0.5', 'plain');
    assert.deepEqual(locked.last.status, 423);
    // the system administrator, signed in from elsewhere
    const r0 = await postFrom(ctx, '127.0.0.2', LOGIN, { username: 'victim', password: PW, totp: totp(ctx.users.victim.secret, Date.now() + 30000) });
    assert.equal(r0.status, 200, r0.text);
    const admin = ctx.c();
    admin.cookie = /fk_session=[0-9a-f]+/.exec(r0.headers['set-cookie'])[0];
    let u = await admin.get(`/api/v1/users/${ctx.users.plain.id}`);
    assert.equal(u.body.locked, true);
    let list = await admin.get('/api/v1/users?locked=true');
    assert.ok(list.body.items.some((x) => x.username === 'plain'), 'the locked filter finds it');
    let r = await admin.post(`/api/v1/users/${ctx.users.plain.id}/unlock`);
    assert.equal(r.status, 204, r.text);
    u = await admin.get(`/api/v1/users/${ctx.users.plain.id}`);
    assert.equal(u.body.locked, false);
    r = await postFrom(ctx, '127.0.0.5', LOGIN, { username: 'plain', password: PW });
    assert.equal(r.status, 200, r.text);
    // one failure, then the right password: the count starts again
    r = await postFrom(ctx, '127.0.0.6', LOGIN, { username: 'plain', password: 'Wrong-passw0rd' });
    assert.equal(r.status, 401);
    r = await postFrom(ctx, '127.0.0.6', LOGIN, { username: 'plain', password: PW });
    assert.equal(r.status, 200, r.text);
    await postFrom(ctx, '127.0.0.6', LOGIN, { username: 'plain', password: 'Wrong-passw0rd' });
    r = await postFrom(ctx, '127.0.0.6', LOGIN, { username: 'plain', password: 'Wrong-passw0rd' });
    assert.deepEqual([r.status, errOf(r).code], [401, 'bad_credentials'], 'two failures after a success: no wait yet');
  });

  test('an unknown name costs as long as a wrong password (argon2 on a dummy hash)', async () => {
    const time = async (username, from) => {
      const t = process.hrtime.bigint();
      const r = await postFrom(ctx, from, LOGIN, { username, password: 'Wrong-passw0rd' });
      assert.equal(r.status, 401);
      return Number(process.hrtime.bigint() - t) / 1e6;
    };
    const known = [], unknown = [];
    for (let i = 0; i < 3; i++) {
      known.push(await time('plain', `127.0.1.${i + 1}`));
      unknown.push(await time(`ghost${i}`, `127.0.1.${i + 1}`));
    }
    const med = (a) => a.sort((x, y) => x - y)[1];
    assert.ok(med(unknown) > med(known) / 3, `unknown ${med(unknown)} ms vs known ${med(known)} ms`);
  });

  test('one address cannot spray many names: FK_LOGIN_IP_FAILURES failures an hour, then 429', async () => {
    const statuses = [];
    for (let i = 0; i < 12; i++) statuses.push((await postFrom(ctx, '127.0.0.3', LOGIN, { username: `spray${i}`, password: 'Wrong-passw0rd' })).status);
    assert.deepEqual(statuses, Array(12).fill(401));
    let r = await postFrom(ctx, '127.0.0.3', LOGIN, { username: 'plain', password: PW });
    assert.deepEqual([r.status, errOf(r).code], [429, 'rate_limited']);
    r = await postFrom(ctx, '127.0.0.4', LOGIN, { username: 'plain', password: PW });
    assert.equal(r.status, 200, 'another address is not affected');
  });

  test('a data-exchange account cannot sign in to the console (403), with the right password only', async () => {
    let r = await postFrom(ctx, '127.0.0.7', LOGIN, { username: 'camera', password: PW });
    assert.deepEqual([r.status, errOf(r).code], [403, 'console_login_forbidden']);
    assert.match(errOf(r).message, /数据交换/);
    assert.equal(r.headers['set-cookie'], undefined);
    r = await postFrom(ctx, '127.0.0.7', LOGIN, { username: 'camera', password: 'Wrong-passw0rd' });
    assert.deepEqual([r.status, errOf(r).code], [401, 'bad_credentials'], 'a wrong password says nothing about the role');
  });

  test('a common password is refused at a change, even when it passes the classes rule', async () => {
    const c = ctx.c();
    await c.login('plain', PW);
    for (const pw of ['Password123!', 'P@ssw0rd2024', 'Woaini1314!', 'Qwerty123!', 'Admin@123']) {
      const r = await c.post('/api/v1/me/password', { old_password: PW, new_password: pw });
      assert.deepEqual([r.status, errOf(r).code, errOf(r).field], [400, 'password_too_common', 'new_password'], pw);
      assert.match(errOf(r).message, /常见/);
    }
    // still the old password
    assert.equal((await ctx.c().post(LOGIN, { username: 'plain', password: PW })).status, 200);
    const r = await c.post('/api/v1/me/password', { old_password: PW, new_password: 'Tide-Lantern-47' });
    assert.equal(r.status, 204, r.text);
  });
});

describe('a database failure during the session look-up is 503, not a sign-out', () => {
  let ctx;
  before(async () => {
    ctx = await server([['worker', 'grid_worker', '110101001001']]);
  });
  after(async () => ctx?.stop());

  const sql = (statement) => sqlRun(ctx, statement);

  test('sessions unreadable: 503; readable again: the same session works', async () => {
    const c = ctx.c();
    await c.login('worker', PW);
    assert.equal((await c.get('/api/v1/me')).status, 200);
    sql('ALTER TABLE sessions RENAME TO sessions_away');
    try {
      await sleep(1200); // past the per-thread session cache
      for (let i = 0; i < 3; i++) {
        const r = await c.get('/api/v1/me');
        assert.equal(r.status, 503, r.text);
        assert.equal(r.headers.get('set-cookie'), null, 'the cookie is kept');
      }
    } finally {
      sql('ALTER TABLE sessions_away RENAME TO sessions');
    }
    await sleep(200);
    const r = await c.get('/api/v1/me');
    assert.equal(r.status, 200, 'the session survived the outage');
  });
});

test('no reply ever carried a password hash or a TOTP secret column', () => {
  assert.ok(seen.length > 50);
  for (const t of seen) {
    assert.ok(!t.includes('$argon2'), 'argon2 hash in a reply');
    assert.ok(!/password_hash|totp_secret/.test(t), 'secret column in a reply');
  }
});
