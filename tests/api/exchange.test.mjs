// The signed exchange interface (issue 13 "Callers and signatures",
// docs/exchange.md, src/exchange/): callers registered by the security
// administrator (and the command line), SM2 keys made by the server, calls
// signed by the Node client (clients/exchange-client.mjs) and by curl with
// the openssl command line, every refusal with its own code changing
// nothing (data, nonces, audit), idempotent writes, key rotation and
// revocation, the bad-signature suspension and its alert, region grants,
// and every answer signed by the server's key (a tampered one does not
// verify: the positive control of the verification itself).
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import crypto from 'node:crypto';
import fs from 'node:fs';
import path from 'node:path';
import { startCityWith, expectError, sqlRun, auditEntries, until, residentId } from './lib.mjs';
import { ExchangeClient, canonicalReply, verify, H } from '../../clients/exchange-client.mjs';

const PW = 'Exchange-2024!pw';
const DISTRICT = '110101000000'; // 东城区
const S1 = '110101001000'; // 东华门街道
const S1_C1 = '110101001001';
const S2_C1 = '110101002001'; // 景山街道's community
const XC = '110102001001'; // 西城区's community
let ctx, sec, auditor;
const one = (sql) => sqlRun(ctx, sql).trim();

// A caller registered through the CLI: its id and a client with its key.
function cliCaller(name, { region = S1, read = '', write = 'nat', rate, expires } = {}) {
  const keyFile = path.join(ctx.dir, `${name}.pem`);
  const args = ['exchange', 'caller', 'add', '--name', name, '--org', '测试单位', '--region', region, '--read', read, '--write', write, '--key-out', keyFile];
  if (rate) args.push('--rate', String(rate));
  if (expires) args.push('--expires', String(expires));
  const id = ctx.must(args).trim();
  assert.match(id, /^\d+$/);
  assert.equal(fs.statSync(keyFile).mode & 0o777, 0o600);
  const privateKeyPem = fs.readFileSync(keyFile, 'utf8');
  return { id, keyFile, client: new ExchangeClient({ base: ctx.url, caller: id, privateKeyPem }) };
}

const site = (id, key, region = S1_C1, name = `交换点位${key}`) => ({ id, op: 'upsert', key, site: { name, kind: 'fixed', region_code: region } });
const siteCount = () => Number(one("SELECT COUNT(*) FROM nat_sites WHERE source_key LIKE 'X-%'"));

before(async () => {
  ctx = await startCityWith({ sec: ['security_admin', '110000000000'], auditor: ['audit_admin', '110000000000'] }, PW);
  ({ sec, auditor } = ctx.as);
});

after(async () => {
  await ctx?.stop();
});

test('a CLI caller pings and writes nucleic-acid sites; the answers verify under the server key', async () => {
  const { id, client } = cliCaller('接入系统甲');
  // the server key is public and its answer signed
  const k = await fetch(ctx.url + '/exchange/v1/server-key');
  const kt = await k.text();
  const key = JSON.parse(kt).public_key_pem;
  assert.match(key, /BEGIN PUBLIC KEY/);
  assert.ok(verify(canonicalReply({ status: 200, body: kt, nonce: '', timestamp: k.headers.get(H.timestamp) }), k.headers.get(H.signature), key));

  let r = await client.get('/exchange/v1/ping');
  assert.equal(r.status, 200, r.text);
  assert.ok(r.verified, 'answer verifies');
  assert.equal(r.body.caller, '接入系统甲');
  assert.equal(r.body.caller_id, id);
  assert.deepEqual(r.body.regions, ['东华门街道']);
  assert.deepEqual(r.body.write, ['nat']);
  assert.deepEqual(r.body.read, []);

  // positive control: the same answer with one byte changed does not verify
  const ts = r.headers.get(H.timestamp);
  const sig = r.headers.get(H.signature);
  assert.ok(verify(canonicalReply({ status: 200, body: r.text, nonce: r.nonce, timestamp: ts }), sig, key));
  assert.ok(!verify(canonicalReply({ status: 200, body: r.text.replace('东华门', '景山门'), nonce: r.nonce, timestamp: ts }), sig, key));
  assert.ok(!verify(canonicalReply({ status: 201, body: r.text, nonce: r.nonce, timestamp: ts }), sig, key));
  // bound to the request's nonce: not an answer to another request
  assert.ok(!verify(canonicalReply({ status: 200, body: r.text, nonce: 'another-nonce-0000', timestamp: ts }), sig, key));

  const before = siteCount();
  r = await client.post('/exchange/v1/nat/sites', { records: [site('a1', 'X-A1'), site('a2', 'X-A2')] }, { idempotencyKey: 'sites-1' });
  assert.equal(r.status, 200, r.text);
  assert.ok(r.verified);
  assert.deepEqual([r.body.received, r.body.applied, r.body.rejected], [2, 2, 0], r.text);
  assert.equal(siteCount(), before + 2);
  // audited as the caller's account, counts only
  const entries = await auditEntries(auditor, 'exchange.nat.sites');
  assert.ok(entries.some((e) => /records=2 applied=2/.test(e.detail)), JSON.stringify(entries));
});

// What a refused call must leave as it was: the sites, the nonces
// remembered (a refusal after the signature verified keeps its nonce, so
// the same call cannot be replayed once the grant is given), the
// idempotent answers, and the successful writes in the audit log.
function snapshot(nonceKept) {
  const s = one("SELECT (SELECT COUNT(*) FROM nat_sites WHERE source_key LIKE 'X-%'), (SELECT COUNT(*) FROM exchange_nonces), (SELECT COUNT(*) FROM exchange_idempotency), (SELECT COUNT(*) FROM audit_log WHERE action LIKE 'exchange.nat.%' AND result = 'ok')");
  return nonceKept ? s.split('|').filter((_, i) => i !== 1).join('|') : s;
}

// Refusals after the signature verified (grants, rate, idempotency).
const AFTER_VERIFY = new Set(['dataset_not_granted', 'region_not_granted', 'invalid_region', 'batch_too_large', 'invalid_batch', 'idempotency_key_required', 'invalid_idempotency_key', 'invalid_body', 'idempotency_key_reused', 'rate_limited']);

async function refused(p, status, code, field) {
  const kept = AFTER_VERIFY.has(code);
  const before = snapshot(kept);
  const r = await p;
  expectError(r, status, code, field);
  assert.ok(r.verified, `the refusal ${code} is signed too`);
  assert.match(r.body.error.message, /[\u4e00-\u9fff]/);
  assert.equal(snapshot(kept), before, `${code} changed nothing`);
  return r;
}

test('each verification failure has its own 401 and changes nothing', async () => {
  const a = cliCaller('接入系统乙');
  const b = cliCaller('接入系统丙');
  const body = { records: [site('v1', 'X-V1')] };
  const post = (opts) => a.client.post('/exchange/v1/nat/sites', body, { idempotencyKey: 'v-' + crypto.randomUUID(), ...opts });
  // missing headers, each named
  for (const h of [H.caller, H.timestamp, H.nonce, H.signature]) await refused(post({ headers: { [h]: undefined } }), 401, 'signature_missing', h);
  await refused(post({ nonce: 'short' }), 401, 'signature_missing', H.nonce);
  // an unknown caller
  await refused(post({ headers: { [H.caller]: '999999' } }), 401, 'unknown_caller', H.caller);
  // the window (±300 s): both sides refused, well inside accepted (the control); the margins
  // (60 s) absorb a slow machine between signing and the check
  await refused(post({ timestamp: Date.now() - 360_000 }), 401, 'timestamp_out_of_window', H.timestamp);
  await refused(post({ timestamp: Date.now() + 360_000 }), 401, 'timestamp_out_of_window', H.timestamp);
  await refused(post({ headers: { [H.timestamp]: 'yesterday' } }), 401, 'timestamp_out_of_window', H.timestamp);
  let r = await a.client.get('/exchange/v1/ping', { timestamp: Date.now() - 240_000 });
  assert.equal(r.status, 200, r.text);
  r = await a.client.get('/exchange/v1/ping', { timestamp: Date.now() + 240_000 });
  assert.equal(r.status, 200, r.text);
  // a forged signature: valid DER, over another text
  const other = a.client.headers({ method: 'POST', path: '/exchange/v1/nat/sites', body: '{}' })[H.signature];
  await refused(post({ headers: { [H.signature]: other } }), 401, 'signature_invalid', H.signature);
  await refused(post({ headers: { [H.signature]: 'not base64!' } }), 401, 'signature_invalid', H.signature);
  // the body changed after signing
  const nonce = crypto.randomBytes(16).toString('hex');
  const signed = a.client.headers({ method: 'POST', path: '/exchange/v1/nat/sites', body: JSON.stringify(body), nonce, idempotencyKey: 'tamper' });
  await refused(a.client.post('/exchange/v1/nat/sites', { records: [site('v1', 'X-V9')] }, { headers: signed }), 401, 'signature_invalid', H.signature);
  // another caller's key
  await refused(post({ privateKeyPem: fs.readFileSync(b.keyFile, 'utf8') }), 401, 'signature_invalid', H.signature);
  // the refusals of the identified caller are audited as its account
  assert.ok(await until(() => Number(one("SELECT COUNT(*) FROM audit_log WHERE action = 'exchange.nat.sites' AND result = 'signature_invalid'")) >= 3));
  // a replayed nonce: the first call passes, the same one again is refused
  const n2 = crypto.randomBytes(16).toString('hex');
  r = await a.client.get('/exchange/v1/ping', { nonce: n2 });
  assert.equal(r.status, 200, r.text);
  await refused(a.client.get('/exchange/v1/ping', { nonce: n2 }), 401, 'nonce_replayed', H.nonce);
  // a refused write does not burn its nonce's check: a bad signature is not remembered
  const n3 = crypto.randomBytes(16).toString('hex');
  await refused(a.client.get('/exchange/v1/ping', { nonce: n3, headers: { [H.signature]: other } }), 401, 'signature_invalid');
  r = await a.client.get('/exchange/v1/ping', { nonce: n3 });
  assert.equal(r.status, 200, r.text);
});

test('suspended and expired callers are refused; resume lets the caller back', async () => {
  const a = cliCaller('接入系统丁');
  const r0 = await sec.post(`/api/v1/exchange/callers/${a.id}/suspend`, { reason: '测试' });
  assert.equal(r0.status, 200, r0.text);
  assert.equal(r0.body.state, 'suspended');
  await refused(a.client.get('/exchange/v1/ping'), 401, 'caller_suspended', H.caller);
  const r1 = await sec.post(`/api/v1/exchange/callers/${a.id}/resume`);
  assert.equal(r1.status, 200, r1.text);
  assert.equal((await a.client.get('/exchange/v1/ping')).status, 200);
  const e = cliCaller('接入系统戊', { expires: Date.now() - 1000 });
  await refused(e.client.get('/exchange/v1/ping'), 401, 'caller_expired', H.caller);
  const list = await sec.get('/api/v1/exchange/callers?state=expired');
  assert.ok(list.body.items.some((c) => c.name === '接入系统戊' && c.expired));
});

test('grants: dataset, region, batch size; a caller never writes outside its regions', async () => {
  const a = cliCaller('接入系统己', { write: 'nat' });
  const reader = cliCaller('接入系统庚', { write: '', read: 'persons' });
  await refused(reader.client.post('/exchange/v1/nat/sites', { records: [site('g1', 'X-G1')] }, { idempotencyKey: 'g1' }), 403, 'dataset_not_granted');
  await refused(a.client.post('/exchange/v1/nat/sites', { region: S2_C1, records: [site('g2', 'X-G2', S2_C1)] }, { idempotencyKey: 'g2' }), 403, 'region_not_granted', 'region');
  await refused(a.client.post('/exchange/v1/nat/sites', { region: 'abc', records: [site('g2', 'X-G2')] }, { idempotencyKey: 'g2b' }), 400, 'invalid_region', 'region');
  const many = Array.from({ length: 1001 }, (_, i) => site(`m${i}`, `X-M${i}`));
  await refused(a.client.post('/exchange/v1/nat/sites', { records: many }, { idempotencyKey: 'g3' }), 413, 'batch_too_large', 'records');
  await refused(a.client.post('/exchange/v1/nat/sites', { records: [] }, { idempotencyKey: 'g4' }), 400, 'invalid_batch', 'records');
  await refused(a.client.post('/exchange/v1/nat/sites', { records: [site('g5', 'X-G5')] }), 400, 'idempotency_key_required', H.idempotency);
  await refused(a.client.post('/exchange/v1/nat/sites', { records: [site('g5', 'X-G5')] }, { idempotencyKey: 'bad key!' }), 400, 'invalid_idempotency_key', H.idempotency);
  await refused(a.client.post('/exchange/v1/nat/sites', undefined, { raw: '[1,2]', idempotencyKey: 'g6' }), 400, 'invalid_body');
  // records of another street (or district) are refused one by one; the
  // caller's own region applies
  const before = siteCount();
  const r = await a.client.post('/exchange/v1/nat/sites', { records: [site('g7', 'X-G7', S2_C1), site('g8', 'X-G8', XC), site('g9', 'X-G9', S1_C1)] }, { idempotencyKey: 'g7' });
  assert.equal(r.status, 200, r.text);
  assert.deepEqual(r.body.errors.map((e) => [e.index, e.code]), [[0, 'invalid_region'], [1, 'invalid_region']]);
  assert.equal(r.body.applied, 1);
  assert.equal(siteCount(), before + 1);
  assert.equal(one("SELECT COUNT(*) FROM nat_sites WHERE source_key IN ('X-G7', 'X-G8')"), '0');
});

test('rate limit per caller: 429 beyond it', async () => {
  const a = cliCaller('接入系统辛', { rate: 3 });
  for (let i = 0; i < 3; i++) assert.equal((await a.client.get('/exchange/v1/ping')).status, 200);
  const r = await a.client.get('/exchange/v1/ping');
  expectError(r, 429, 'rate_limited');
  assert.ok(r.verified);
});

test('idempotency: a repeat replays the first answer, another request with the key is 409, concurrent duplicates run once', async () => {
  const a = cliCaller('接入系统壬');
  const body = { records: [site('i1', 'X-I1'), site('i2', 'X-I2')] };
  const first = await a.client.post('/exchange/v1/nat/sites', body, { idempotencyKey: 'idem-1' });
  assert.equal(first.status, 200, first.text);
  assert.equal(first.body.applied, 2);
  const n = siteCount();
  const again = await a.client.post('/exchange/v1/nat/sites', body, { idempotencyKey: 'idem-1' });
  assert.equal(again.status, 200);
  assert.equal(again.text, first.text);
  assert.equal(again.headers.get('idempotency-replayed'), 'true');
  assert.equal(first.headers.get('idempotency-replayed'), null);
  assert.ok(again.verified, 'a replay is signed for its own request');
  assert.equal(siteCount(), n);
  await refused(a.client.post('/exchange/v1/nat/sites', { records: [site('i3', 'X-I3')] }, { idempotencyKey: 'idem-1' }), 409, 'idempotency_key_reused', H.idempotency);
  // concurrent duplicates: one runs, the others replay its answer
  const dup = { records: [site('c1', 'X-C1'), site('c2', 'X-C2'), site('c3', 'X-C3')] };
  const rs = await Promise.all(Array.from({ length: 6 }, () => a.client.post('/exchange/v1/nat/sites', dup, { idempotencyKey: 'idem-concurrent' })));
  for (const r of rs) assert.equal(r.status, 200, r.text);
  assert.equal(rs.filter((r) => r.headers.get('idempotency-replayed') !== 'true').length, 1);
  assert.equal(new Set(rs.map((r) => r.text)).size, 1);
  assert.equal(rs[0].body.applied, 3);
  assert.equal(one("SELECT COUNT(*) FROM nat_sites WHERE source_key IN ('X-C1','X-C2','X-C3')"), '3');
  assert.equal(one("SELECT COUNT(*) FROM nat_ingest_records WHERE record_id IN ('c1','c2','c3')"), '3');
});

test('keys: rotation keeps the old key for its overlap; revocation is immediate; a zero overlap ends it at once', async () => {
  const a = cliCaller('接入系统癸');
  const oldPem = fs.readFileSync(a.keyFile, 'utf8');
  let r = await sec.post(`/api/v1/exchange/callers/${a.id}/rotate`, { overlap_days: 7 });
  assert.equal(r.status, 200, r.text);
  const newPem = r.body.private_key_pem;
  assert.match(newPem, /BEGIN PRIVATE KEY/);
  assert.deepEqual(r.body.keys.map((k) => k.state), ['valid', 'overlap']);
  // the private key is shown once: never in a later read, never stored
  const got = await sec.get(`/api/v1/exchange/callers/${a.id}`);
  assert.ok(!('private_key_pem' in got.body));
  assert.equal(one(`SELECT COUNT(*) FROM exchange_caller_keys WHERE public_pem LIKE '%PRIVATE%'`), '0');
  const withNew = new ExchangeClient({ base: ctx.url, caller: a.id, privateKeyPem: newPem });
  assert.equal((await withNew.get('/exchange/v1/ping')).status, 200);
  assert.equal((await a.client.get('/exchange/v1/ping')).status, 200, 'the old key within its overlap');
  const oldKey = r.body.keys[1].id;
  r = await sec.post(`/api/v1/exchange/callers/${a.id}/keys/${oldKey}/revoke`);
  assert.equal(r.status, 200, r.text);
  assert.deepEqual(r.body.keys.map((k) => k.state), ['valid', 'revoked']);
  await refused(a.client.get('/exchange/v1/ping'), 401, 'signature_invalid');
  assert.equal((await withNew.get('/exchange/v1/ping')).status, 200);
  expectError(await sec.post(`/api/v1/exchange/callers/${a.id}/keys/${oldKey}/revoke`), 404, 'key_not_found');
  // overlap 0: the previous key ends now
  r = await sec.post(`/api/v1/exchange/callers/${a.id}/rotate`, { overlap_days: 0 });
  assert.equal(r.status, 200, r.text);
  const third = new ExchangeClient({ base: ctx.url, caller: a.id, privateKeyPem: r.body.private_key_pem });
  await refused(withNew.get('/exchange/v1/ping'), 401, 'signature_invalid');
  assert.equal((await third.get('/exchange/v1/ping')).status, 200);
  expectError(await sec.post(`/api/v1/exchange/callers/${a.id}/rotate`, { overlap_days: 31 }), 400, 'out_of_range', 'overlap_days');
  assert.ok(oldPem !== newPem);
});

test('repeated bad signatures suspend the caller and raise the alert at its region', async () => {
  const a = cliCaller('接入系统子', { region: S1 });
  const other = a.client.headers({ method: 'GET', path: '/exchange/v1/other' })[H.signature];
  const max = 10;
  for (let i = 0; i < max - 1; i++) expectError(await a.client.get('/exchange/v1/ping', { headers: { [H.signature]: other } }), 401, 'signature_invalid');
  assert.equal((await a.client.get('/exchange/v1/ping')).status, 200, 'still active below the limit');
  expectError(await a.client.get('/exchange/v1/ping', { headers: { [H.signature]: other } }), 401, 'signature_invalid');
  await refused(a.client.get('/exchange/v1/ping'), 401, 'caller_suspended');
  const c = await sec.get(`/api/v1/exchange/callers/${a.id}`);
  assert.equal(c.body.state, 'suspended');
  assert.equal(c.body.state_reason, 'bad_signatures');
  const alerts = one(`SELECT kind || '|' || region_code || '|' || message FROM alerts WHERE kind = 'exchange_bad_signatures'`);
  assert.match(alerts, /接入系统子/);
  assert.ok(alerts.includes(S1.padEnd(18, '0')), alerts);
  // resumed by the administrator, the count starts afresh
  assert.equal((await sec.post(`/api/v1/exchange/callers/${a.id}/resume`)).status, 200);
  expectError(await a.client.get('/exchange/v1/ping', { headers: { [H.signature]: other } }), 401, 'signature_invalid');
  assert.equal((await a.client.get('/exchange/v1/ping')).status, 200);
});

test('scripts/exchange-curl.sh: one signed call with curl and the openssl command line, its answer verified', async () => {
  const a = cliCaller('接入系统丑');
  const run = (...args) => {
    try {
      return { status: 0, out: execFileSync('scripts/exchange-curl.sh', [ctx.url, ...args], { encoding: 'utf8', stdio: ['ignore', 'pipe', 'pipe'] }) };
    } catch (e) {
      return { status: e.status, out: e.stdout, err: e.stderr };
    }
  };
  let r = run(a.id, a.keyFile, 'GET', '/exchange/v1/ping?b=2&a=1');
  assert.equal(r.status, 0, r.err);
  assert.equal(JSON.parse(r.out).caller, '接入系统丑');
  const batch = path.join(ctx.dir, 'curl-batch.json');
  fs.writeFileSync(batch, JSON.stringify({ records: [site('k1', 'X-K1')] }));
  r = run(a.id, a.keyFile, 'POST', '/exchange/v1/nat/sites', batch, 'curl-1');
  assert.equal(r.status, 0, r.err);
  assert.equal(JSON.parse(r.out).applied, 1);
  assert.equal(one("SELECT COUNT(*) FROM nat_sites WHERE source_key = 'X-K1'"), '1');
  // positive control: another caller's key is refused, and the script says so
  const b = cliCaller('接入系统寅');
  r = run(a.id, b.keyFile, 'GET', '/exchange/v1/ping');
  assert.equal(r.status, 1);
  assert.equal(JSON.parse(r.out).error.code, 'signature_invalid');
  assert.match(r.err, /HTTP 401 signature ok/);
});

test('the registry: register through the API (key once), bad input refused with its fields, list with search, paging and CSV, update, delete; all audited', async () => {
  const good = { name: '区政务平台', organisation: '东城区政务服务局', contact_name: '王工', contact_phone: '13800138000', regions: [S1, S2_C1], read: ['persons', 'cases'], write: ['nat'], rate_per_min: 120 };
  const n0 = one('SELECT COUNT(*) FROM exchange_callers');
  const u0 = one('SELECT COUNT(*) FROM users');
  // bad input: every field at fault at once, nothing written
  let r = await sec.post('/api/v1/exchange/callers', { ...good, name: '', regions: ['12'], read: ['nope'], rate_per_min: 0 });
  expectError(r, 400, 'invalid_value', 'name');
  assert.deepEqual(new Set(r.body.error.fields.map((f) => f.field)), new Set(['name', 'regions', 'read', 'rate_per_min']));
  expectError(await sec.post('/api/v1/exchange/callers', { ...good, regions: [] }), 400, 'out_of_range', 'regions');
  expectError(await sec.post('/api/v1/exchange/callers', { ...good, regions: ['990000000000'] }), 400, 'invalid_region', 'regions');
  expectError(await sec.post('/api/v1/exchange/callers', { ...good, contact_phone: 'call me' }), 400, 'invalid_phone', 'contact_phone');
  expectError(await sec.post('/api/v1/exchange/callers', { ...good, extra: 1 }), 400, 'unknown_field', 'extra');
  expectError(await sec.post('/api/v1/exchange/callers', { ...good, expires_at: 'soon' }), 400, 'invalid_time', 'expires_at');
  assert.equal(one('SELECT COUNT(*) FROM exchange_callers'), n0);
  assert.equal(one('SELECT COUNT(*) FROM users'), u0);
  // others may not: the audit administrator lacks exchange.admin
  expectError(await auditor.post('/api/v1/exchange/callers', good), 403, 'forbidden');

  r = await sec.post('/api/v1/exchange/callers', good);
  assert.equal(r.status, 201, r.text);
  const c = r.body;
  assert.match(c.private_key_pem, /BEGIN PRIVATE KEY/);
  assert.deepEqual(c.regions, ['东华门街道', '隆福寺社区'], 'names, never codes');
  assert.equal(c.contact_phone, '138****8000');
  assert.deepEqual(c.read, ['persons', 'cases']);
  assert.equal(c.state, 'active');
  // the phone is sealed; the account exists with the caller's role and cannot sign in
  assert.equal(one(`SELECT COUNT(*) FROM exchange_callers WHERE id = ${c.id} AND contact_phone_enc IS NOT NULL`), '1');
  assert.equal(one(`SELECT COUNT(*) FROM users u JOIN user_roles ur ON ur.user_id = u.id JOIN roles ro ON ro.id = ur.role_id WHERE u.id = ${c.user_id} AND ro.key = 'exchange_client'`), '1');
  expectError(await sec.post('/api/v1/exchange/callers', good), 409, 'duplicate_name', 'name');
  // the downloaded key signs a ping that passes
  const client = new ExchangeClient({ base: ctx.url, caller: c.id, privateKeyPem: c.private_key_pem });
  let p = await client.get('/exchange/v1/ping');
  assert.equal(p.status, 200, p.text);
  assert.deepEqual(p.body.read, ['persons', 'cases']);
  // region grants of the ping: region= narrows within a grant, else refused
  p = await client.get('/exchange/v1/ping', { query: `region=${S2_C1}` });
  assert.equal(p.status, 200, p.text);
  expectError(await client.get('/exchange/v1/ping', { query: 'region=110101002000' }), 403, 'region_not_granted', 'region');

  // list: search, paging, CSV
  cliCaller('接入系统卯');
  cliCaller('接入系统辰');
  r = await sec.get('/api/v1/exchange/callers?q=' + encodeURIComponent('政务'));
  assert.equal(r.status, 200, r.text);
  assert.deepEqual(r.body.items.map((x) => x.name), ['区政务平台']);
  assert.ok(!('private_key_pem' in r.body.items[0]));
  r = await sec.get('/api/v1/exchange/callers?page=1&page_size=2');
  assert.equal(r.body.items.length, 2);
  assert.ok(r.body.total >= 3);
  expectError(await sec.get('/api/v1/exchange/callers?state=gone'), 400, 'invalid_parameter', 'state');
  r = await sec.get('/api/v1/exchange/callers?format=csv&q=' + encodeURIComponent('政务'));
  assert.equal(r.status, 200);
  assert.match(r.headers.get('content-type'), /text\/csv/);
  assert.match(r.text, /区政务平台.*东城区政务服务局.*王工.*138\*\*\*\*8000.*东华门街道、隆福寺社区/);
  assert.ok(!r.text.includes('13800138000'));

  // update: grants and name; bad input changes nothing
  expectError(await sec.patch(`/api/v1/exchange/callers/${c.id}`, { rate_per_min: -1 }), 400, 'out_of_range', 'rate_per_min');
  r = await sec.patch(`/api/v1/exchange/callers/${c.id}`, { read: [], write: ['nat'], name: '区政务平台二' });
  assert.equal(r.status, 200, r.text);
  assert.equal(r.body.name, '区政务平台二');
  assert.deepEqual(r.body.read, []);
  assert.equal(r.body.rate_per_min, 120, 'unchanged');
  expectError(await sec.get('/api/v1/exchange/callers/123'), 404, 'caller_not_found');

  // delete: disabled for good; its calls refused; the account disabled
  r = await sec.del(`/api/v1/exchange/callers/${c.id}`);
  assert.equal(r.status, 204, r.text);
  expectError(await client.get('/exchange/v1/ping'), 401, 'unknown_caller');
  assert.equal(one(`SELECT disabled FROM users WHERE id = ${c.user_id}`), '1');
  expectError(await sec.post(`/api/v1/exchange/callers/${c.id}/resume`), 409, 'caller_deleted');

  for (const action of ['exchange.caller.create', 'exchange.caller.update', 'exchange.caller.delete']) {
    const entries = await auditEntries(auditor, action, c.id);
    assert.ok(entries.length >= 1, action);
    for (const e of entries) assert.ok(!/13800138000/.test(JSON.stringify(e)), 'no phone in the audit');
  }
});

test('the commission ingest as a signed write: per-record errors, a repeat changes nothing, audited as the caller', async () => {
  const a = cliCaller('卫健接入', { region: '110101000000', write: 'nat' });
  const doc = { record_id: 'xdoc-1', name: '周医生', id_number: residentId('110101', '19800101', 17), phone: '13800138002', institution: '东城区医院', region_code: S1 };
  const bad = { record_id: 'xdoc-2', name: '吴医生', id_number: '123', institution: '某医院', region_code: S1 };
  const other = { record_id: 'xdoc-3', name: '郑医生', id_number: residentId('110101', '19800101', 33), institution: '某医院', region_code: '110102001000' };
  let r = await a.client.post('/exchange/v1/commission/doctors', { records: [doc, bad, other] }, { idempotencyKey: 'doc-1' });
  assert.equal(r.status, 200, r.text);
  assert.ok(r.verified);
  assert.deepEqual([r.body.received, r.body.created, r.body.rejected], [3, 1, 2]);
  assert.deepEqual(r.body.errors.map((e) => [e.index, e.code, e.field]), [[1, 'invalid_id_number', 'id_number'], [2, 'invalid_region', 'region_code']]);
  r = await a.client.post('/exchange/v1/commission/doctors', { records: [doc] }, { idempotencyKey: 'doc-2' });
  assert.deepEqual([r.body.created, r.body.repeated], [0, 1]);
  assert.equal(one('SELECT COUNT(*) FROM commission_doctors'), '1');
  const entries = await auditEntries(auditor, 'exchange.commission.doctors');
  assert.ok(entries.some((e) => /created=1 .*rejected=2/.test(e.detail)), JSON.stringify(entries));
  for (const e of entries) assert.ok(!/周医生|13800138002/.test(JSON.stringify(e)));
});
