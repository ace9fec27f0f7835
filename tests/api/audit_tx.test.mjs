// A write and its audit entry commit in one transaction (security item 6):
// when the entry cannot be appended, the write does not survive either.
// The append is made to fail for one action at a time by a trigger on
// audit_log (installed behind the server's back, as a broken disk or a
// full table would make it fail); before, these writes were committed first
// and their entries queued, so the write stayed without its entry.
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { startCityWith, residentId, sqlRun, failingAudit } from './lib.mjs';

const PW = 'Passw0rd!audit-tx';
const COMMUNITY = '110101001001';
let ctx, cc;

const count = (text) => Number(sqlRun(ctx, text).trim());
const failing = (action, fn) => failingAudit(ctx, action, fn);

before(async () => {
  const staff = ['command_center', '110101000000'];
  ctx = await startCityWith({ tx_cc: staff, tx_pw: staff, tx_in: staff }, PW);
  cc = ctx.as.tx_cc;
});

after(async () => {
  await ctx?.stop();
});

test('a vehicle is not registered without its vehicle.create entry', async () => {
  const p = await cc.post('/api/v1/persons', { name: '车主甲', id_number: residentId('110101', '19800202', 11), region_code: COMMUNITY });
  assert.equal(p.status, 201, p.text);
  const car = { plate: '京A12345', kind: 'car', owner_person_id: p.body.id };
  const r = await failing('vehicle.create', () => cc.post('/api/v1/vehicles', car));
  assert.equal(r.status, 500, r.text);
  assert.equal((await cc.get('/api/v1/vehicles?plate=' + encodeURIComponent(car.plate))).body.total, 0);
  // positive control: the same request goes through once the log accepts entries
  assert.equal((await cc.post('/api/v1/vehicles', car)).status, 201);
  assert.equal((await cc.get('/api/v1/vehicles?plate=' + encodeURIComponent(car.plate))).body.total, 1);
});

test('imported regions are not kept without their region.import entry', async () => {
  const csv = 'code,name,level,parent_code\n110101001077,新建社区,community,110101001000\n';
  const send = () => cc.post('/api/v1/regions/import', csv, { 'content-type': 'text/csv' });
  const r = await failing('region.import', send);
  assert.equal(r.status, 500, r.text);
  assert.equal((await cc.get('/api/v1/regions/110101001077')).status, 404);
  assert.equal((await send()).status, 200);
  assert.equal((await cc.get('/api/v1/regions/110101001077')).status, 200);
});

test('a password is not changed, nor a session opened or ended, without its auth.* entry', async () => {
  const c = ctx.client();
  await c.login('tx_pw', PW);
  const change = { old_password: PW, new_password: 'N3w!Passw0rd-tx' };
  const r = await failing('auth.password_change', () => c.post('/api/v1/me/password', change));
  assert.equal(r.status, 500, r.text);
  await ctx.client().login('tx_pw', PW); // the old password still opens

  const sessions = () => count("SELECT COUNT(*) FROM sessions WHERE user_id = (SELECT id FROM users WHERE username = 'tx_in')");
  const before = sessions();
  const x = ctx.client();
  const login = await failing('auth.login', () => x.post('/api/v1/auth/login', { username: 'tx_in', password: PW }));
  assert.equal(login.status, 500, login.text);
  assert.equal(sessions(), before);
  await x.login('tx_in', PW);
  assert.equal(sessions(), before + 1);

  const out = await failing('auth.logout', () => x.post('/api/v1/auth/logout'));
  assert.equal(out.status, 500, out.text);
  assert.equal(sessions(), before + 1);
  assert.equal((await x.get('/api/v1/me')).status, 200, 'still signed in');
});
