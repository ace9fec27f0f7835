// Federation, the code rules downward (docs/exchange.md "Federation", "The
// code rules"): a child following its parent's rules (FK_FED_RULES=1) pulls
// GET /exchange/v1/code_rules from a stand-in for the parent's signed front
// (fake-peer.mjs) and saves a new version once, recomputing its people; an
// answer of another shape, rules the child refuses, a forged answer and a
// dead parent change nothing of its rules; the rules editor is read-only and
// the API refuses edits while following.
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { startCityWith, residentId, expectError, waitForAudit, sleep } from './lib.mjs';
import { startFakePeer, sm2Pair } from './fake-peer.mjs';

const PW = 'Passw0rd!fedrules';
const BUILDING = '110101001001001001';
const PARENT = '东城区防控平台';
let child, front, cAdmin, ccc, cAuditor, defaults;
// what the parent's front answers for its rules
let published = { version: 0, rules: [] };

async function ok(r, status = 200) {
  assert.equal(r.status, status, r.text);
  return r.body;
}

const pull = () => cAdmin.post('/api/v1/exchange/federation/pull');
const cursor = async () => (await ok(await cAdmin.get('/api/v1/exchange/federation'))).cursors.find((c) => c.dataset === 'code_rules');
const childRules = async () => (await ok(await ccc.get('/api/v1/code-rules'))).rules;
const colour = async (id) => (await ok(await ccc.get(`/api/v1/persons/${id}/code`))).colour;
const empty = () => [200, { items: [], next: 0, more: false }];

async function eventually(fn, ms = 15000) {
  for (let t = 0; t < ms; t += 200) {
    if (await fn()) return true;
    await sleep(200);
  }
  return fn();
}

before(async () => {
  const ours = sm2Pair();
  front = await startFakePeer({
    caller: 'fk-street',
    callerKey: ours.publicPem,
    routes: {
      'GET /exchange/v1/zones/changes': empty,
      'GET /exchange/v1/risk_areas/changes': empty,
      'GET /exchange/v1/code_rules': () => [200, published],
    },
  });
  child = await startCityWith(
    { c_admin: ['security_admin', '110000000000'], c_cc: ['command_center', '110101000000'], c_auditor: ['audit_admin', '110000000000'] },
    PW,
    { env: { FK_NODE: '21', FK_FED_PARENT: PARENT, FK_FED_PULL: '0', FK_FED_RULES: '1' } },
  );
  ({ c_admin: cAdmin, c_cc: ccc, c_auditor: cAuditor } = child.as);
  await ok(
    await cAdmin.post('/api/v1/exchange/peers', {
      name: PARENT, kind: 'fangkong', base_url: front.url, caller: 'fk-street', key: ours.privatePem,
      peer_key: front.keys.publicPem, timeout_s: 3, region: '110101001000',
    }),
    201,
  );
  defaults = await childRules();
});

after(async () => {
  await front?.close();
  await child?.stop();
});

test("following: the editor's API is refused and says so; the state names the rules cursor", async () => {
  const r = await ok(await ccc.get('/api/v1/code-rules'));
  assert.equal(r.followed, true);
  expectError(await ccc.put('/api/v1/code-rules', { rules: defaults }), 409, 'rules_follow_parent', 'rules');
  const refusals = await waitForAudit(cAuditor, 'action=code.rules', (e) => e.result === 'rules_follow_parent');
  assert.ok(refusals.some((e) => e.result === 'rules_follow_parent'), 'the refused edit is audited');
  // a dry run changes nothing and stays allowed (a what-if)
  await ok(await ccc.post('/api/v1/code-rules/dry-run', { rules: defaults }));
  const st = await ok(await cAdmin.get('/api/v1/exchange/federation'));
  assert.equal(st.rules_followed, true);
});

test("a new version of the parent's rules is saved once and recolours the child's people", async () => {
  const pid = (await ok(await ccc.post('/api/v1/persons', { name: '规则居民', id_number: residentId('110101', '19900909', 515), region_code: BUILDING }), 201)).id;
  assert.equal(await colour(pid), 'green', 'positive control');
  const on = defaults.map((r) => (r.key === 'no_negative_test' ? { ...r, enabled: true } : r));
  published = { version: 1700000000000, rules: on };
  const r = await ok(await pull());
  assert.equal(r.applied, 1, JSON.stringify(r));
  assert.equal((await cursor()).seq, 1700000000000);
  assert.equal((await childRules()).find((x) => x.key === 'no_negative_test').enabled, true);
  assert.ok(await eventually(async () => (await colour(pid)) === 'yellow'), 'recomputed by the queued job');
  const taken = await waitForAudit(cAuditor, 'action=exchange.fed.code_rules', (e) => e.result === 'ok' && /version=1700000000000/.test(e.detail));
  assert.ok(taken.some((e) => e.result === 'ok' && /version=1700000000000/.test(e.detail)), JSON.stringify(taken));
  // the same version again: nothing saved
  assert.equal((await ok(await pull())).applied, 0);
  assert.equal((await cursor()).applied, 1);
});

test("rules the child refuses, an answer of another shape, a forged answer and a dead parent change nothing of the child's rules", async () => {
  const before_ = await childRules();
  const c0 = await cursor();
  // an answer that is not the rules' shape: the pull fails, the cursor stays
  for (const bad of [{ rules: before_ }, { version: -1, rules: before_ }, { version: 5, rules: 'x' }, []]) {
    published = bad;
    expectError(await pull(), 503, 'fed_bad_answer');
    const c = await cursor();
    assert.equal(c.seq, c0.seq);
    assert.match(c.last_error, /格式不正确/);
  }
  // rules this child will not take (an unknown kind, duplicate keys, none):
  // passed, counted and audited; the child's rules stay
  const bads = [
    before_.map((r, i) => (i === 0 ? { ...r, kind: 'astrology' } : r)),
    [...before_, before_[0]],
    [],
  ];
  let v = 1800000000000;
  for (const rules of bads) {
    published = { version: ++v, rules };
    assert.equal((await ok(await pull())).applied, 0);
    const c = await cursor();
    assert.equal(c.seq, v, 'the version is passed');
    assert.equal(c.last_error, '');
    assert.deepEqual(await childRules(), before_);
  }
  assert.equal((await cursor()).rejected, c0.rejected + bads.length);
  const refused = async () => (await ok(await cAuditor.get('/api/v1/audit?page_size=200&action=exchange.fed.code_rules'))).items.filter((e) => e.result !== 'ok');
  assert.ok(await eventually(async () => (await refused()).length >= bads.length), 'each refused version is audited');
  assert.deepEqual(new Set((await refused()).map((e) => e.result)), new Set(['invalid_value', 'duplicate_rule', 'out_of_range']));
  // a forged answer and a dead parent: nothing taken
  published = { version: ++v, rules: before_.map((r) => ({ ...r, enabled: false })) };
  for (const [mode, code] of [['bad_signature', 'fed_parent_unverified'], ['down', 'peer_unreachable']]) {
    front.mode = mode;
    const r = await pull();
    front.mode = 'ok';
    expectError(r, 503, code);
    assert.deepEqual(await childRules(), before_);
  }
  // back: the parent's good answer is taken
  assert.equal((await ok(await pull())).applied, 1);
  assert.equal((await childRules()).every((r) => !r.enabled), true);
});
