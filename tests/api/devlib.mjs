// Fixtures shared by the visitor, vehicle, device and MQTT suites: a small
// city, staff accounts, a community place with a gate venue, and residents
// registered through the mobile self-service path.
import assert from 'node:assert/strict';
import { startServer, CITY_CSV, writeTmp, residentId, smsCode, totpSecretFrom, sleep } from './lib.mjs';
export { expectError } from './lib.mjs';

export const PW = 'Gate-test-2024!';
export const COMMUNITY = '110101001001'; // 多福巷社区
export const OTHER_COMMUNITY = '110101002001'; // 隆福寺社区
export const WEST = '110102001001'; // 府右街社区 (another district)

let phoneSeq = 0;
let idSeq = 100;

export async function startCity(opts = {}) {
  let auditSecret;
  const ctx = await startServer({
    ...opts,
    setup: async (c) => {
      c.must(['import', 'regions', writeTmp(c, 'city.csv', CITY_CSV)]);
      const add = (u, role, region) =>
        c.must(['user', 'add', '--username', u, '--password', PW, '--role', role, '--region', region]);
      add('cc_dc', 'command_center', '110101000000');
      add('cc_west', 'command_center', '110102000000');
      add('grid', 'grid_worker', COMMUNITY);
      add('grid_other', 'grid_worker', OTHER_COMMUNITY);
      add('gate', 'checkpoint_staff', COMMUNITY);
      // a staff account holding vehicle.gate posts plate reads: data-exchange
      // accounts (exchange_client) cannot sign in to the console (issue 8)
      add('camera', 'command_center', COMMUNITY);
      add('doctor', 'doctor', '110101000000');
      auditSecret = totpSecretFrom(add('auditor', 'audit_admin', '110100000000'));
      if (opts.setup) await opts.setup(c);
    },
  });
  const staff = async (u, secret) => {
    const cl = ctx.client();
    await cl.login(u, PW, secret);
    cl.id = (await cl.get('/api/v1/me')).body.id;
    return cl;
  };
  ctx.auditor = await staff('auditor', auditSecret);
  ctx.cc = await staff('cc_dc');
  ctx.ccWest = await staff('cc_west');
  ctx.grid = await staff('grid');
  ctx.gridOther = await staff('grid_other');
  ctx.gate = await staff('gate');
  ctx.camera = await staff('camera');
  ctx.doctor = await staff('doctor');
  ctx.venue = await venueIn(ctx, ctx.cc, COMMUNITY, '多福巷小区');
  ctx.venueOther = await venueIn(ctx, ctx.cc, OTHER_COMMUNITY, '隆福寺小区');
  ctx.venueWest = await venueIn(ctx, ctx.ccWest, WEST, '府右街小区');
  return ctx;
}

async function venueIn(ctx, client, region, name) {
  let r = await client.post('/api/v1/places', { name, kind: 'community', region_code: region, address: '多福巷1号' });
  assert.equal(r.status, 201, r.text);
  r = await client.post('/api/v1/venues', { name: name + '东门', kind: 'community_gate', place_id: r.body.id });
  assert.equal(r.status, 201, r.text);
  return r.body;
}

// A signed-in resident with consent and a bound person in `region`.
export async function resident(ctx, region = COMMUNITY, name = '王五') {
  const phone = '139' + String(10000000 + ++phoneSeq + Math.floor(Math.random() * 1000) * 1000).slice(-8);
  const c = ctx.client();
  let r = await c.post('/api/v1/auth/sms/send', { phone });
  assert.equal(r.status, 200, r.text);
  r = await c.post('/api/v1/auth/sms/login', { phone, code: smsCode(ctx, phone) });
  assert.equal(r.status, 200, r.text);
  assert.equal((await c.post('/api/v1/me/consent', { version: 'v1' })).status, 200);
  r = await c.post('/api/v1/me/person', { name, id_number: residentId('110101', '19850101', (idSeq += 2)) /* odd: male, distinct */, region_code: region, address: '多福巷1号' });
  assert.equal(r.status, 201, r.text);
  // community staff saw the document: a self-registration is unverified
  // (no pass, vehicle or visitor) until then (issue 8, security item 5)
  const staff = region.startsWith('110102') ? ctx.ccWest : ctx.cc;
  r = await staff.post(`/api/v1/persons/${r.body.person.id}/verify`, { document_checked: true });
  assert.equal(r.status, 200, r.text);
  c.person = r.body;
  c.phoneNumber = phone; // the account's phone (parcels are sent to it)
  return c;
}

export async function alerts(client, query = '') {
  const r = await client.get('/api/v1/alerts' + query);
  assert.equal(r.status, 200, r.text);
  return r.body.items;
}

export async function metric(ctx, line) {
  const r = await fetch(ctx.url + '/metrics');
  const text = await r.text();
  const m = text.split('\n').find((l) => l.startsWith(line + ' '));
  return m ? Number(m.split(' ').pop()) : 0;
}

// Audit entries are written asynchronously: the entries matching `query`
// once one satisfies `pred` (or the last answer after 3 s).
export async function auditWhere(ctx, query, pred) {
  let items = [];
  for (let i = 0; i < 60; i++) {
    const r = await ctx.auditor.get(`/api/v1/audit?page_size=200&${query}`);
    assert.equal(r.status, 200, r.text);
    items = r.body.items;
    if (items.some(pred)) return items;
    await sleep(50);
  }
  return items;
}
