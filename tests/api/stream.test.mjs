// Streams end when the right ends: an open alert stream closes, with a
// last `event: end` naming why, at logout, logout everywhere (own or by an
// administrator), account disabled, role change, region scope change and
// session expiry. The first server re-checks streams only every 10
// minutes, so what ends them there is the immediate hook on sign-out and
// account changes; the second server has a short idle limit and ends an
// expired session's stream by its timer.
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { startServer, startPeer, CITY_CSV, writeTmp, totpSecretFrom, sleep, openStream, until } from './lib.mjs';

const PW = 'Stream-test-2024!';
const DC = '110101000000';
let ctx, admin;
const ids = {};

function addUser(c, username, role, region) {
  const out = c.must(['user', 'add', '--username', username, '--password', PW, '--role', role, '--region', region]);
  ids[username] = { id: /created \(id (\d+)\)/.exec(out)[1], secret: totpSecretFrom(out) };
}

async function signIn(server, username) {
  const c = server.client();
  await c.login(username, PW, ids[username]?.secret);
  return c;
}

// Open a stream for `username`, run `action`, and expect the stream to end
// within `ms` with an end event whose reason matches.
async function endsOn(server, username, action, reason, ms = 3000) {
  const c = await signIn(server, username);
  const s = await openStream(server.url, c);
  assert.equal(s.status, 200);
  await sleep(200);
  assert.equal(s.ended, false, 'the stream is open before the change');
  await action(c);
  const ok = await until(() => s.ended, ms);
  s.close();
  assert.ok(ok, `the stream of ${username} ended`);
  const end = s.events.find((e) => e.event === 'end');
  assert.ok(end, 'a last event says why');
  assert.match(end.data.reason, reason);
  return c;
}

before(async () => {
  ctx = await startServer({
    env: { FK_STREAM_RECHECK: '600' },
    setup: (c) => {
      c.must(['import', 'regions', writeTmp(c, 'city.csv', CITY_CSV)]);
      addUser(c, 'root', 'system_admin', '110000000000');
      for (const u of ['s_logout', 's_all', 's_admin_all', 's_disabled', 's_role', 's_scope', 's_keep'])
        addUser(c, u, 'command_center', DC);
    },
  });
  admin = await signIn(ctx, 'root');
});

after(async () => {
  await ctx?.stop();
});

test('logout ends the stream of that session', async () => {
  const c = await endsOn(ctx, 's_logout', (c) => c.post('/api/v1/auth/logout'), /session_expired/);
  assert.equal((await c.get('/api/v1/me')).status, 401);
});

test('logout everywhere ends the stream', async () => {
  await endsOn(ctx, 's_all', (c) => c.post('/api/v1/auth/logout-all'), /session_expired/);
});

test('an administrator signing a user out everywhere ends the stream', async () => {
  await endsOn(ctx, 's_admin_all', () => admin.post(`/api/v1/users/${ids.s_admin_all.id}/logout-all`), /session_expired/);
});

test('disabling the account ends the stream', async () => {
  await endsOn(ctx, 's_disabled', async () => {
    const r = await admin.patch(`/api/v1/users/${ids.s_disabled.id}`, { disabled: true });
    assert.equal(r.status, 200, r.text);
  }, /account_disabled|session_expired/);
});

test('a role change ends the stream', async () => {
  await endsOn(ctx, 's_role', async () => {
    const r = await admin.patch(`/api/v1/users/${ids.s_role.id}`, { roles: ['leader'] });
    assert.equal(r.status, 200, r.text);
  }, /access_changed/);
});

test('a region scope change ends the stream', async () => {
  await endsOn(ctx, 's_scope', async () => {
    const r = await admin.patch(`/api/v1/users/${ids.s_scope.id}`, { region_code: '110101001000' });
    assert.equal(r.status, 200, r.text);
  }, /access_changed/);
});

test('a change that leaves the rights alone keeps the stream open', async () => {
  const c = await signIn(ctx, 's_keep');
  const s = await openStream(ctx.url, c);
  assert.equal(s.status, 200);
  // another user's sign-out fires the same re-check
  const other = await signIn(ctx, 's_logout');
  await other.post('/api/v1/auth/logout');
  await sleep(1000);
  assert.equal(s.ended, false, 'still open');
  s.close();
});

test('session expiry ends the stream (idle limit, timer re-check)', async () => {
  const srv = await startServer({
    env: { FK_SESSION_IDLE: '2', FK_STREAM_RECHECK: '0.5' },
    setup: (c) => {
      c.must(['import', 'regions', writeTmp(c, 'city.csv', CITY_CSV)]);
      addUser(c, 's_idle', 'command_center', DC);
    },
  });
  try {
    // an open stream is not activity: it does not keep the session alive
    await endsOn(srv, 's_idle', async () => {}, /session_expired/, 5000);
  } finally {
    await srv.stop();
  }
});

test('a logout on another server of the same database ends the stream (timer re-check)', async () => {
  const srv = await startServer({
    env: { FK_STREAM_RECHECK: '0.5' },
    setup: (c) => {
      c.must(['import', 'regions', writeTmp(c, 'city.csv', CITY_CSV)]);
      addUser(c, 's_peer', 'command_center', DC);
    },
  });
  const peer = await startPeer(srv);
  try {
    await endsOn(srv, 's_peer', async (c) => {
      // the same session, signed out through the other server
      const r = await fetch(peer.url + '/api/v1/auth/logout', { method: 'POST', headers: { cookie: c.cookie, 'content-type': 'application/json' } });
      assert.ok(r.status < 300, `logout on the peer: ${r.status}`);
    }, /session_expired/, 3000);
  } finally {
    await peer.stop();
    await srv.stop();
  }
});
