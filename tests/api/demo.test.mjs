// The demo city (`fangkong demo`): it writes demo-accounts.txt into the data
// dir itself, with columns that stay aligned whatever the password's
// length; every demo account signs in and finds at least one entry on its
// workbench; and every list the console shows has something in it — venues
// with codes, devices (one silent), visitors in each state, vehicles and
// passages, alerts handled and not, departments, risk areas, zones, access
// records, declarations and people of every code colour, the colours
// computed by the rules from the demo's inputs.
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import fs from 'node:fs';
import path from 'node:path';
import { startServer, totp, sleep } from './lib.mjs';

const PASSWORD = 'Demo-Long-Password-For-Columns-2024!';
let ctx, demo, accounts;

before(async () => {
  ctx = await startServer({
    setup: (c) => {
      demo = c.fk(['demo', '--persons', '300', '--seed', '3', '--password', PASSWORD]);
    },
  });
  assert.equal(demo.status, 0, demo.stderr);
  accounts = fs.readFileSync(path.join(ctx.dir, 'demo-accounts.txt'), 'utf8');
});
after(async () => {
  await ctx?.stop();
});

const rows = () => accounts.split('\n').filter((l) => l && !l.startsWith('#'));

test('demo-accounts.txt is written by the demo itself, private, the same as stdout, aligned', () => {
  assert.equal(accounts, demo.stdout);
  assert.equal(fs.statSync(path.join(ctx.dir, 'demo-accounts.txt')).mode & 0o777, 0o600);
  const header = accounts.split('\n')[0];
  const starts = ['username', 'password', 'region'].map((h) => header.indexOf(h));
  assert.ok(starts.every((s) => s > 0), header);
  for (const line of rows()) {
    // every column starts where its heading does, after at least two spaces
    for (const s of starts) {
      assert.notEqual(line[s], ' ', `${line}\n${header}`);
      assert.equal(line.slice(s - 2, s), '  ', `${line}\n${header}`);
    }
  }
  const cc = rows().find((l) => l.startsWith('command_center '));
  assert.deepEqual(cc.split(/\s+/).slice(0, 4), ['command_center', 'command', PASSWORD, '440305000000']);
  for (const role of ['community_staff', 'street_staff']) assert.ok(rows().some((l) => l.startsWith(role + ' ')), role);
});

// Sign in as every staff account of the table.
async function staffClients() {
  const out = {};
  for (const line of rows()) {
    const [role, username, password] = line.split(/\s+/);
    if (role === 'citizen') continue;
    const secret = /TOTP secret: (\S+)/.exec(line)?.[1];
    const c = ctx.client();
    if (role === 'exchange_client') {
      // the data-exchange account may be kept out of the console; it is a machine
      const r = await c.post('/api/v1/auth/login', { username, password });
      if (r.status !== 200) continue;
    } else {
      // the demo used the current step to enrol, and a replay is refused:
      // the next step is accepted too
      const body = { username, password, ...(secret ? { totp: totp(secret, Date.now() + 30000) } : {}) };
      const r = await c.post('/api/v1/auth/login', body);
      assert.equal(r.status, 200, `${username}: ${r.text}`);
    }
    out[role] = c;
  }
  return out;
}

test('every demo role has at least one workbench entry', async () => {
  const clients = await staffClients();
  assert.ok(Object.keys(clients).length >= 13, Object.keys(clients).join());
  for (const [role, c] of Object.entries(clients)) {
    const r = await c.get('/api/v1/workbench');
    assert.equal(r.status, 200, `${role}: ${r.text}`);
    assert.ok(r.body.entries.length >= 1, `${role} has no workbench entry`);
  }
  // the community's staff find something to do
  const wb = (await clients.community_staff.get('/api/v1/workbench')).body.entries;
  const n = (k) => wb.find((e) => e.key === k)?.count;
  assert.ok(n('visitors_pending') >= 1, JSON.stringify(wb));
  assert.ok(n('alerts_open') >= 1, JSON.stringify(wb));
  // the demo's gate with a 5-second heartbeat never calls in
  let silent = n('devices_silent');
  for (let i = 0; i < 30 && !silent; i++) {
    await sleep(250);
    silent = (await clients.community_staff.get('/api/v1/workbench')).body.entries.find((e) => e.key === 'devices_silent').count;
  }
  assert.ok(silent >= 1, 'a silent device');
});

async function list(c, url) {
  const r = await c.get(url);
  assert.equal(r.status, 200, `${url}: ${r.text}`);
  return r.body;
}

test('every page has something to show', async () => {
  const cc = ctx.client();
  await cc.login('command', PASSWORD);
  const nonEmpty = async (url) => {
    const b = await list(cc, url);
    assert.ok((b.items || b).length > 0, `${url} is empty`);
    return b.items || b;
  };
  const venues = await nonEmpty('/api/v1/venues?page_size=100');
  assert.ok(venues.some((v) => v.kind === 'community_gate') && venues.some((v) => v.kind === 'market'));
  const code = await cc.get(`/api/v1/venues/${venues[0].id}/code`);
  assert.equal(code.status, 200, code.text);
  const devices = await nonEmpty('/api/v1/devices?page_size=100');
  assert.ok(devices.some((d) => d.readings > 0), 'readings');
  const visitors = await nonEmpty('/api/v1/visitors?page_size=100');
  for (const s of ['pending', 'confirmed', 'refused']) assert.ok(visitors.some((v) => v.status === s), s);
  const vehicles = await nonEmpty('/api/v1/vehicles?page_size=100');
  assert.ok(vehicles.every((v) => /^粤[A-Z]/.test(v.plate)), 'plates');
  const passages = await nonEmpty('/api/v1/vehicle-passages?page_size=100');
  assert.ok(passages.some((p) => p.verdict === 'deny') && passages.some((p) => p.verdict === 'allow'));
  const al = await nonEmpty('/api/v1/alerts?page_size=100');
  assert.ok(al.some((a) => a.acked) && al.some((a) => !a.acked), 'handled and unhandled alerts');
  await nonEmpty('/api/v1/departments?page_size=100');
  await nonEmpty('/api/v1/risk-areas');
  const zones = await nonEmpty('/api/v1/zones');
  assert.deepEqual([...new Set(zones.map((z) => z.kind))].sort(), ['controlled', 'sealed']);
  const records = await nonEmpty('/api/v1/access-records?page_size=100');
  assert.ok(records.some((r) => r.verdict === 'deny') && records.some((r) => r.verdict === 'pass'));
  // the observation list: open, released and ended (a confirmed case)
  const obs = await nonEmpty('/api/v1/observations?page_size=100');
  for (const st of ['active', 'released', 'ended']) assert.ok(obs.some((o) => o.state === st), st);
  assert.ok(obs.some((o) => o.person_status === 'suspected'), 'a suspected case');
  // and the counters the demo's changes moved agree with a recount
  const v = ctx.fk(['stats', 'verify']);
  assert.equal(v.status, 0, v.stdout + v.stderr);
  await nonEmpty('/api/v1/places?page_size=10');
  await nonEmpty('/api/v1/enterprises?page_size=10');

  // people of every colour, each with the reasons the rules gave
  const wb = (await list(cc, '/api/v1/workbench')).entries;
  const n = (k) => wb.find((e) => e.key === k)?.count;
  assert.ok(n('codes_red') >= 1 && n('codes_yellow') >= 1, JSON.stringify(wb));
  const people = await list(cc, '/api/v1/persons?page_size=200');
  const colours = {};
  for (const p of people.items.slice(0, 200)) {
    const c = await list(cc, `/api/v1/persons/${p.id}/code`);
    (colours[c.colour] ||= []).push(c);
  }
  assert.ok(colours.green?.length, 'green');
  assert.ok(colours.yellow?.length, `yellow among ${JSON.stringify(Object.keys(colours))}`);
  assert.ok(colours.red?.length, 'red');
  for (const c of [...colours.yellow, ...colours.red]) assert.ok(c.reasons.length >= 1, JSON.stringify(c));
});
