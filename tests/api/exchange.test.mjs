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
import { startCityWith, expectError, sqlRun, auditEntries, until } from './lib.mjs';
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
