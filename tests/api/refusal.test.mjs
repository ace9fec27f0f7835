// One policy for auditing a refusal (security/audit.h: audit_refusal), the
// same in every capability: a request understood and then refused because
// of who asked or what they asked for (401, 403, 404 — no such record or
// outside the caller's scope —, 409, 423, 429, and a wrong credential) is
// audited with its slug as the result; a malformed request (400) changes
// and reveals nothing and is not. Each area below audited under a policy of
// its own before (roles and departments skipped 404s, venues and
// enterprises audited only conflicts, accounts audited every error).
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { startCityWith, waitForAudit } from './lib.mjs';

const PW = 'Passw0rd!refusal';
const NOBODY = '987654321';
let ctx, sec, sys, cc, grid, auditor;
const ids = {};

// Entries of `action` about object `id` once one has `result` (a 404's slug
// may name what was not found: role_not_found).
const audited = (action, id, result) =>
  waitForAudit(auditor, `action=${action}&object_id=${id}`, (x) => x.result.endsWith(result));

before(async () => {
  ctx = await startCityWith(
    {
      r_sec: ['security_admin', '110000000000'],
      r_sys: ['system_admin', '110000000000'],
      r_aud: ['audit_admin', '110000000000'],
      r_cc: ['command_center', '110101000000'],
      r_grid: ['grid_worker', '110101001001'],
    },
    PW,
  );
  ({ r_sec: sec, r_sys: sys, r_aud: auditor, r_cc: cc, r_grid: grid } = ctx.as);
  for (const [u, c] of Object.entries(ctx.as)) ids[u] = c.id;
});

after(async () => {
  await ctx?.stop();
});

test('roles: a change of no such role is audited as refused (404s were skipped)', async () => {
  assert.equal((await sec.patch(`/api/v1/roles/${NOBODY}`, { name: '无' })).status, 404);
  assert.equal((await sec.del(`/api/v1/roles/${NOBODY}`)).status, 404);
  const upd = await audited('role.update', NOBODY, 'not_found');
  assert.ok(upd.some((x) => x.user_id === ids.r_sec && x.result === 'role_not_found'), JSON.stringify(upd));
  const del = await audited('role.delete', NOBODY, 'not_found');
  assert.ok(del.some((x) => x.user_id === ids.r_sec), JSON.stringify(del));
});

test('departments: a change of no such department is audited as refused', async () => {
  assert.equal((await sys.patch(`/api/v1/departments/${NOBODY}`, { name: '无', region_code: '110101000000' })).status, 404);
  assert.equal((await sys.del(`/api/v1/departments/${NOBODY}`)).status, 404);
  const upd = await audited('department.update', NOBODY, 'not_found');
  assert.ok(upd.some((x) => x.user_id === ids.r_sys && x.result === 'department_not_found'), JSON.stringify(upd));
  const del = await audited('department.delete', NOBODY, 'not_found');
  assert.ok(del.some((x) => x.user_id === ids.r_sys), JSON.stringify(del));
});

test('accounts: a refusal is audited, a form error is not (every error was)', async () => {
  const weak = await sys.post('/api/v1/users', { username: 'r_weak', display_name: '弱密码', password: 'abc', region_code: '110101000000', roles: ['grid_worker'] });
  assert.equal(weak.status, 400, weak.text);
  assert.equal((await sys.patch(`/api/v1/users/${NOBODY}`, { display_name: '无' })).status, 404);
  await audited('user.update', NOBODY, 'not_found');
  // entries are appended in order: the 404's entry is there, so the 400's would be
  const creates = await waitForAudit(auditor, `action=user.create&user_id=${ids.r_sys}`, () => true);
  assert.deepEqual(creates.filter((x) => x.result === weak.body.error.code), []);
});

test('own account: a wrong current password is audited, a weak new one is not', async () => {
  const weak = await grid.post('/api/v1/me/password', { old_password: PW, new_password: 'abc' });
  assert.equal(weak.status, 400, weak.text);
  const wrong = await grid.post('/api/v1/me/password', { old_password: 'not-my-password', new_password: 'An0ther!secret-2026' });
  assert.deepEqual([wrong.status, wrong.body.error.code], [400, 'bad_password']);
  const items = await audited('auth.password_change', ids.r_grid, 'bad_password');
  assert.ok(items.some((x) => x.user_id === ids.r_grid && x.result === 'bad_password'), JSON.stringify(items));
  assert.deepEqual(items.filter((x) => x.result === weak.body.error.code), []);
});

test('venues and enterprises: deleting no such record is audited as refused (only conflicts were)', async () => {
  assert.equal((await cc.del(`/api/v1/venues/${NOBODY}`)).status, 404);
  assert.equal((await cc.del(`/api/v1/enterprises/${NOBODY}`)).status, 404);
  const v = await audited('venue.delete', NOBODY, 'not_found');
  assert.ok(v.some((x) => x.user_id === ids.r_cc), JSON.stringify(v));
  const e = await audited('enterprise.delete', NOBODY, 'not_found');
  assert.ok(e.some((x) => x.user_id === ids.r_cc), JSON.stringify(e));
});
