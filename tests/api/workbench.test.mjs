// The workbench (GET /api/v1/workbench): each staff user gets the entries
// of their permissions with counts inside their scope, and the counts move
// with the work — a visitor submitted and reviewed, an alert raised and
// acknowledged, a declaration made, a device going silent. Another
// community's items are not counted; a role without the permission does
// not get the entry; the two new roles (community and street staff) exist
// with their permissions and without reveal or administration.
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { residentId, sleep, totpSecretFrom } from './lib.mjs';
import { startCity, resident, PW, COMMUNITY, OTHER_COMMUNITY } from './devlib.mjs';

const STREET = '110101001000'; // the street of COMMUNITY, not of OTHER_COMMUNITY
const H = 3600000;
let ctx, cs, csOther, street, site, sec, secSecret;

before(async () => {
  ctx = await startCity({
    setup: (c) => {
      const add = (u, role, region) => c.must(['user', 'add', '--username', u, '--password', PW, '--role', role, '--region', region]);
      add('csta', 'community_staff', COMMUNITY);
      add('cs_other', 'community_staff', OTHER_COMMUNITY);
      add('street', 'street_staff', STREET);
      add('site', 'site_staff', STREET);
      secSecret = totpSecretFrom(add('secadm', 'security_admin', '110000000000'));
    },
  });
  const staff = async (u) => {
    const cl = ctx.client();
    await cl.login(u, PW);
    return cl;
  };
  cs = await staff('csta');
  csOther = await staff('cs_other');
  street = await staff('street');
  site = await staff('site');
  sec = ctx.client();
  await sec.login('secadm', PW, secSecret);
});
after(async () => {
  await ctx?.stop();
});

async function bench(client) {
  const r = await client.get('/api/v1/workbench');
  assert.equal(r.status, 200, r.text);
  return r.body;
}

// The count of entry `key`, or undefined when the user does not get it.
async function count(client, key) {
  return (await bench(client)).entries.find((e) => e.key === key)?.count;
}

async function counts(key) {
  return { cs: await count(cs, key), other: await count(csOther, key), street: await count(street, key) };
}

test('community and street staff are built-in roles with their permissions, no reveal, no administration', async () => {
  const roles = await sec.get('/api/v1/roles?page_size=200');
  assert.equal(roles.status, 200, roles.text);
  const byKey = Object.fromEntries(roles.body.items.map((r) => [r.key, r]));
  for (const k of ['community_staff', 'street_staff']) {
    assert.equal(byKey[k]?.builtin, true, k);
    assert.equal(byKey[k].user_count, k === 'community_staff' ? 2 : 1, k);
  }
  assert.equal(byKey.community_staff.name, '社区工作人员');
  assert.equal(byKey.street_staff.name, '街道工作人员');
  // built in: their rights cannot be edited
  const edit = await sec.patch(`/api/v1/roles/${byKey.community_staff.id}`, { permissions: ['person.reveal'] });
  assert.equal(edit.status, 409, edit.text);
  const me = (await cs.get('/api/v1/me')).body;
  assert.deepEqual(me.roles.map((r) => r.name), ['社区工作人员']);
  for (const p of ['person.read', 'visitor.confirm', 'alert.ack', 'access.read', 'vehicle.read', 'device.read', 'health.read']) assert.ok(me.permissions.includes(p), p);
  const st = (await street.get('/api/v1/me')).body;
  assert.deepEqual(st.roles.map((r) => r.name), ['街道工作人员']);
  for (const p of ['person.read', 'visitor.confirm', 'alert.read', 'access.read']) assert.ok(st.permissions.includes(p), p);
  for (const who of [me, st])
    for (const p of ['person.reveal', 'user.write', 'role.write', 'audit.read', 'key.admin', 'config.write', 'code.rules', 'zone.write'])
      assert.ok(!who.permissions.includes(p), `${who.username} must not hold ${p}`);
  // reveal is refused in practice too
  const r = await cs.get('/api/v1/persons?reveal=1');
  assert.equal(r.status, 403, r.text);
});

test('entries follow permissions: each role gets its own, residents none, strangers 401', async () => {
  const keys = async (c) => (await bench(c)).entries.map((e) => e.key);
  const csKeys = await keys(cs);
  for (const k of ['visitors_pending', 'alerts_open', 'undeclared_today', 'devices_silent', 'codes_red']) assert.ok(csKeys.includes(k), k);
  // the doctor reads health but reviews no visitors and handles no alerts
  const doc = await keys(ctx.doctor);
  assert.ok(doc.includes('undeclared_today'));
  assert.ok(!doc.includes('visitors_pending') && !doc.includes('alerts_open'), doc.join());
  // the checkpoint sees its scans, not the registry's declarations
  const gate = await keys(ctx.gate);
  assert.ok(gate.includes('scans_today') && gate.includes('refusals_today'), gate.join());
  assert.ok(!gate.includes('undeclared_today') && !gate.includes('visitors_pending'), gate.join());
  // testing staff see the results recorded today and their sites' duty (issue 10)
  assert.deepEqual(await keys(site), ['tests_today', 'nat_unattended', 'nat_on_duty', 'nat_samples_today', 'nat_transit_overdue']);
  const b = await bench(cs);
  const v = b.entries.find((e) => e.key === 'visitors_pending');
  assert.equal(v.title, '待审核访客');
  assert.equal(v.console, '/visitors?status=pending');
  assert.equal(v.mobile, '/staff/visitors');
  assert.equal(v.todo, true);
  assert.ok(b.day_start <= b.at && b.at - b.day_start < 24 * H);
  // the day starts at midnight in China (UTC+8)
  assert.equal((b.day_start + 8 * H) % (24 * H), 0);
  const res = await resident(ctx);
  assert.deepEqual((await bench(res)).entries, []);
  assert.equal((await ctx.client().get('/api/v1/workbench')).status, 401);
});

test('pending visitors: submitted counts in the host community and its street only; review clears it', async () => {
  const host = await resident(ctx, COMMUNITY, '陈一');
  const before = await counts('visitors_pending');
  const sub = await host.post('/api/v1/me/visitors', {
    name: '赵六', id_type: 'resident_id', id_number: residentId('110102', '19920315', 9), phone: '13912345678',
    purpose: '探亲', valid_from: Date.now() - H, valid_to: Date.now() + 4 * H,
  });
  assert.equal(sub.status, 201, sub.text);
  const mid = await counts('visitors_pending');
  assert.deepEqual(mid, { cs: before.cs + 1, other: before.other, street: before.street + 1 });
  const r = await cs.post(`/api/v1/visitors/${sub.body.id}/confirm`, {});
  assert.equal(r.status, 200, r.text);
  assert.deepEqual(await counts('visitors_pending'), before);
});

test('unhandled alerts: a fever at the gate counts until acknowledged', async () => {
  const res = await resident(ctx, COMMUNITY, '周二');
  const before = await counts('alerts_open');
  const { token } = (await res.get('/api/v1/me/code/token')).body;
  const scan = await ctx.gate.post('/api/v1/scans', { venue_id: ctx.venue.id, token, direction: 'in', temperature: 38.4 });
  assert.equal(scan.status, 201, scan.text);
  const raised = scan.body.alerts;
  assert.ok(raised.length >= 1, scan.text);
  assert.deepEqual(await counts('alerts_open'), { cs: before.cs + raised.length, other: before.other, street: before.street + raised.length });
  // the checkpoint's own entries moved too: one scan, one refusal today
  for (const a of raised) assert.equal((await cs.post(`/api/v1/alerts/${a.id}/ack`, { note: '已处理' })).status, 200);
  assert.deepEqual(await counts('alerts_open'), before);
});

test("checkpoint staff: today's scans and refusals at their venues", async () => {
  const res = await resident(ctx, COMMUNITY, '吴三');
  const scans = await count(ctx.gate, 'scans_today');
  const refusals = await count(ctx.gate, 'refusals_today');
  const before = await counts('refusals_today');
  const { token } = (await res.get('/api/v1/me/code/token')).body;
  let r = await ctx.gate.post('/api/v1/scans', { venue_id: ctx.venue.id, token, direction: 'in', temperature: 36.5 });
  assert.equal(r.status, 201, r.text);
  assert.equal(r.body.verdict, 'pass');
  assert.equal(await count(ctx.gate, 'scans_today'), scans + 1);
  assert.equal(await count(ctx.gate, 'refusals_today'), refusals);
  r = await ctx.gate.post('/api/v1/scans', { venue_id: ctx.venue.id, token, direction: 'in', temperature: 38.6 });
  assert.equal(r.body.verdict, 'deny');
  assert.equal(await count(ctx.gate, 'scans_today'), scans + 2);
  assert.equal(await count(ctx.gate, 'refusals_today'), refusals + 1);
  // community staff read their gates' records; another community's see none of it
  assert.deepEqual(await counts('refusals_today'), { cs: before.cs + 1, other: before.other, street: before.street + 1 });
});

test('people not declared today: a declaration takes one off; another community is not counted', async () => {
  const res = await resident(ctx, COMMUNITY, '郑四');
  const before = await counts('undeclared_today');
  assert.ok(before.cs >= 1, JSON.stringify(before));
  const r = await res.post('/api/v1/me/declarations', { temperature: 36.5, symptoms: [], contact: false });
  assert.equal(r.status, 201, r.text);
  assert.deepEqual(await counts('undeclared_today'), { cs: before.cs - 1, other: before.other, street: before.street - 1 });
  // a person registered in the other community counts there only
  const p = await ctx.cc.post('/api/v1/persons', { name: '冯五', id_number: residentId('110101', '19700101', 501), region_code: OTHER_COMMUNITY });
  assert.equal(p.status, 201, p.text);
  assert.deepEqual(await counts('undeclared_today'), { cs: before.cs - 1, other: before.other + 1, street: before.street - 1 });
});

test('silent devices: past their heartbeat they count, a heartbeat clears them', async () => {
  const d = await ctx.cc.post('/api/v1/devices', { name: '北门测温仪', kind: 'thermometer', venue_id: ctx.venue.id, heartbeat_s: 5 });
  assert.equal(d.status, 201, d.text);
  const before = await counts('devices_silent');
  await sleep(5600);
  assert.deepEqual(await counts('devices_silent'), { cs: before.cs + 1, other: before.other, street: before.street + 1 });
  const hb = await fetch(ctx.url + '/api/v1/devices/heartbeat', {
    method: 'POST',
    headers: { 'content-type': 'application/json', authorization: `Device ${d.body.credential}` },
    body: '{}',
  });
  assert.equal(hb.status, 200);
  assert.deepEqual(await counts('devices_silent'), before);
});
