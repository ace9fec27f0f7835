// Three instances for 共享互认 (docs/exchange.md "Shared recognition"),
// shared by tests/api/share.test.mjs and bench/share.mjs: a district parent
// (node 31, SQLite) and streets A (node 32, SQLite) and B (node 33; on
// PostgreSQL under scripts/with-postgres.sh), each with its own master key,
// wired with the real APIs only: at the district a caller per street with
// the codes read grant and a child peer per street holding its node; at
// each street the district as its parent peer (FK_FED_PARENT) and a caller
// for the district with the codes read grant. Street B has a gate venue.
import assert from 'node:assert/strict';
import { startCityWith, residentId, smsCode } from './lib.mjs';

export const PW = 'Passw0rd!share';
export const DISTRICT = '110101000000';
export const STREET_A = '110101001000'; // 东华门街道
export const COMM_A = '110101001001';
export const STREET_B = '110101002000'; // 景山街道
export const COMM_B = '110101002001';
export const PARENT = '东城区防控平台';

export async function ok(r, status = 200) {
  assert.equal(r.status, status, r.text);
  return r.body;
}

export const serverKey = async (url) => JSON.parse(await (await fetch(url + '/exchange/v1/server-key')).text()).public_key_pem;

export async function caller(admin, name, regions, read) {
  return ok(await admin.post('/api/v1/exchange/callers', {
    name, organisation: '防控办', contact_name: '王工', contact_phone: '13800138009', regions, read, write: [], rate_per_min: 100000,
  }), 201);
}

async function startStreet(key, node, sqlite, env) {
  const ctx = await startCityWith(
    {
      [`${key}_admin`]: ['security_admin', '110000000000'],
      [`${key}_cc`]: ['command_center', DISTRICT],
      [`${key}_gate`]: ['checkpoint_staff', DISTRICT],
      [`${key}_site`]: ['site_staff', DISTRICT],
      [`${key}_audit`]: ['audit_admin', '110000000000'],
    },
    PW,
    { sqlite, env: { FK_NODE: node, FK_FED_PARENT: PARENT, FK_FED_PULL: '0', FK_OUTBOX_EVERY: '0', ...env } },
  );
  const as = (r) => ctx.as[`${key}_${r}`];
  return { ctx, admin: as('admin'), cc: as('cc'), gate: as('gate'), site: as('site'), audit: as('audit') };
}

// Wire street s (node, region) to the district both ways.
async function wire(parent, pAdmin, s, key, node, region) {
  const up = await caller(pAdmin, `${key}街道平台`, [DISTRICT], ['codes']);
  s.upCaller = up;
  s.parentPeer = await ok(await s.admin.post('/api/v1/exchange/peers', {
    name: PARENT, kind: 'fangkong', base_url: parent.url, caller: up.id, key: up.private_key_pem,
    peer_key: await serverKey(parent.url), timeout_s: 3, region, nodes: '31',
  }), 201);
  const down = await caller(s.admin, '东城区平台', [region], ['codes']);
  s.peerAtParent = await ok(await pAdmin.post('/api/v1/exchange/peers', {
    name: `${key}街道`, kind: 'fangkong', base_url: s.ctx.url, caller: down.id, key: down.private_key_pem,
    peer_key: await serverKey(s.ctx.url), timeout_s: 3, region: DISTRICT, nodes: ` ${node} `,
  }), 201);
  assert.equal(s.peerAtParent.nodes, node, 'the node list is kept normalised');
}

let seq = 700;

// Start the three instances; envA: street A's extra environment.
export async function startShare({ envA = {} } = {}) {
  const parent = await startCityWith({ p_admin: ['security_admin', '110000000000'] }, PW, { sqlite: true, env: { FK_NODE: '31', FK_OUTBOX_EVERY: '0' } });
  const pAdmin = parent.as.p_admin;
  const st = { A: await startStreet('A', '32', true, envA), B: await startStreet('B', '33', false, {}) };
  await wire(parent, pAdmin, st.A, 'A', '32', STREET_A);
  await wire(parent, pAdmin, st.B, 'B', '33', STREET_B);
  const place = await ok(await st.B.cc.post('/api/v1/places', { name: '隆福寺小区', kind: 'community', region_code: COMM_B }), 201);
  const venueB = await ok(await st.B.cc.post('/api/v1/venues', { name: '隆福寺小区南门', kind: 'community_gate', place_id: place.id }), 201);

  // A resident registered at street key (self-registration, verified by staff).
  const resident = async (key, name, region) => {
    const s = st[key];
    const c = s.ctx.client();
    const phone = `139${String(++seq).padStart(8, '0')}`;
    await c.post('/api/v1/auth/sms/send', { phone });
    await ok(await c.post('/api/v1/auth/sms/login', { phone, code: smsCode(s.ctx, phone) }));
    await c.post('/api/v1/me/consent', { version: 'v1' });
    const r = await ok(await c.post('/api/v1/me/person', { name, id_number: residentId('110101', '19800101', (seq += 2)), region_code: region, address: '1号' }), 201);
    c.personId = r.person.id;
    await ok(await s.cc.post(`/api/v1/persons/${c.personId}/verify`, { document_checked: true }));
    return c;
  };
  const tokenOf = async (c) => (await ok(await c.get('/api/v1/me/code/token'))).token;
  const scanB = (token, extra = {}) => st.B.gate.post('/api/v1/scans', { venue_id: venueB.id, token, direction: 'in', ...extra });
  const stop = async () => {
    for (const s of Object.values(st)) await s.ctx?.stop();
    await parent.stop();
  };
  return { parent, pAdmin, st, venueB, resident, tokenOf, scanB, stop };
}
