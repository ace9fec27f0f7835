// The status state machine through the API (issue 9, docs/cases.md): the
// full path normal -> observation -> suspected -> confirmed (mild) ->
// confirmed (severe) -> cured -> normal with the code following, refused
// transitions (409, nothing changed), bad input (400 with the field), what
// a change does to an open observation, PATCH of the status on the person
// API refused, scope (another street: 404), permission and audit.
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { residentId, expectError, auditEntries, startCityWith, sqlRun } from './lib.mjs';

const PW = 'Passw0rd!status';
const COMMUNITY = '110101001001';
const OTHER_STREET = '110101002001';
let ctx, cc, cs, csOther, leader, auditor;

let seq = 0;
const rid = () => residentId('110101', '19770707', 400 + ++seq * 2);

async function person(over = {}) {
  const r = await cc.post('/api/v1/persons', { name: '周芷若', id_number: rid(), region_code: COMMUNITY, ...over });
  assert.equal(r.status, 201, r.text);
  return r.body.id;
}

async function ok(p, status = 200) {
  const r = await p;
  assert.equal(r.status, status, r.text);
  return r.body;
}

const set = (c, id, body) => c.post(`/api/v1/persons/${id}/status`, { reason: '核查结果', ...body });
const statusOf = async (id) => (await ok(cc.get(`/api/v1/persons/${id}`))).status;
const colourOf = async (id) => (await ok(cc.get(`/api/v1/persons/${id}/code`))).colour;
const changes = async (id) => (await ok(cc.get(`/api/v1/persons/${id}/status-changes`))).items;

before(async () => {
  ctx = await startCityWith(
    {
      s_cc: ['command_center', '110101000000'],
      s_cs: ['community_staff', COMMUNITY],
      s_cs_other: ['community_staff', OTHER_STREET],
      s_leader: ['leader', '110100000000'],
      s_auditor: ['audit_admin', '110000000000'],
    },
    PW,
  );
  ({ s_cc: cc, s_cs: cs, s_cs_other: csOther, s_leader: leader, s_auditor: auditor } = ctx.as);
});
after(async () => ctx?.stop());

test('the full path: observation, suspected, confirmed mild then severe, cured, normal; the code follows', async () => {
  const id = await person();
  const steps = [
    [{ to: 'observation' }, 'red'],
    [{ to: 'suspected' }, 'red'],
    [{ to: 'confirmed', severity: 'mild', infection_route: 'cluster' }, 'red'],
    [{ to: 'confirmed', severity: 'severe' }, 'red'],
    [{ to: 'cured' }, 'green'],
    [{ to: 'normal' }, 'green'],
  ];
  let from = 'normal';
  for (const [body, colour] of steps) {
    const c = await ok(set(cs, id, body));
    assert.equal(c.from, from);
    assert.equal(c.to, body.to);
    assert.equal(c.user_name, 's_cs');
    assert.equal(c.reason, '核查结果');
    assert.equal(await statusOf(id), body.to);
    assert.equal(await colourOf(id), colour, JSON.stringify(body));
    from = body.to;
  }
  const h = await changes(id);
  assert.deepEqual(h.map((x) => `${x.from}>${x.to}`), [
    'cured>normal', 'confirmed>cured', 'confirmed>confirmed', 'suspected>confirmed', 'observation>suspected', 'normal>observation',
  ]);
  assert.equal(h[2].severity, 'severe');
  assert.equal(h[2].severity_label, '重症');
  assert.equal(h[2].infection_route, 'cluster'); // kept from the first confirmation
  assert.equal(h[3].severity, 'mild');
  assert.equal(h[3].infection_route_label, '聚集性');
  assert.equal(h[3].to_label, '确诊');
  // the reason: masked in the history unless revealed (person.reveal, audited)
  assert.equal(h[0].reason, '核查****');
  assert.equal((await ok(cc.get(`/api/v1/persons/${id}/status-changes?reveal=1`))).items[0].reason, '核查结果');
  expectError(await cs.get(`/api/v1/persons/${id}/status-changes?reveal=1`), 403, 'reveal_forbidden');
  assert.ok((await auditEntries(auditor, 'person.reveal', id)).some((x) => x.detail === 'fields=status_change_reason'));
  // the reason is sealed at rest
  assert.ok(!sqlRun(ctx, `SELECT reason_enc FROM status_changes WHERE person_id = ${id}`).includes('核查结果'));
  // the timeline has every change
  const tl = await ok(cs.get(`/api/v1/persons/${id}/timeline`));
  assert.equal(tl.items.filter((x) => x.action === 'status').length, 6);
  assert.equal(tl.items[0].detail.to, 'normal');
  // audited with the target status
  const a = await auditEntries(auditor, 'person.status', id);
  assert.ok(a.some((x) => x.result === 'ok' && x.detail === 'to=normal'), JSON.stringify(a));
});

test('refused transitions: 409 naming both states, nothing changed', async () => {
  const id = await person();
  let r = await set(cs, id, { to: 'cured' });
  expectError(r, 409, 'invalid_transition', 'to');
  assert.match(r.body.error.message, /正常.*治愈/);
  r = await set(cs, id, { to: 'confirmed', severity: 'mild', infection_route: 'local' });
  expectError(r, 409, 'invalid_transition');
  expectError(await set(cs, id, { to: 'normal' }), 409, 'invalid_transition');
  assert.equal(await statusOf(id), 'normal');
  assert.equal((await changes(id)).length, 0);

  // dead is final
  await ok(set(cs, id, { to: 'home_isolation' }));
  await ok(set(cs, id, { to: 'confirmed', severity: 'critical', infection_route: 'imported' }));
  expectError(await set(cs, id, { to: 'confirmed', severity: 'critical' }), 409, 'invalid_transition');
  await ok(set(cs, id, { to: 'dead' }));
  for (const to of ['normal', 'observation', 'home_isolation', 'central_quarantine', 'suspected', 'asymptomatic', 'cured', 'dead']) {
    r = await set(cs, id, { to });
    expectError(r, 409, 'invalid_transition');
    assert.match(r.body.error.message, /死亡/);
  }
  r = await set(cs, id, { to: 'confirmed', severity: 'mild' });
  expectError(r, 409, 'invalid_transition');
  // observing a dead person is refused too, and writes nothing
  expectError(await cs.post('/api/v1/observations', { person_id: id, kind: 'home_isolation', source: 'cdc' }), 409, 'invalid_transition');
  assert.equal(await statusOf(id), 'dead');
  assert.equal((await changes(id)).length, 3);
  assert.equal((await ok(cc.get(`/api/v1/observations?person_status=dead`))).total, 0);
  const a = await auditEntries(auditor, 'person.status', id);
  assert.ok(a.some((x) => x.result === 'invalid_transition'), JSON.stringify(a));
});

test('bad input: 400 with the field, nothing changed', async () => {
  const id = await person();
  expectError(await set(cs, id, { to: 'suspected' }), 409, 'invalid_transition'); // not from normal
  assert.equal(await statusOf(id), 'normal');
  await ok(set(cs, id, { to: 'observation' }));
  await ok(set(cs, id, { to: 'suspected' }));
  const bad = [
    [{ to: 'healthy', reason: 'x' }, 'invalid_value', 'to'],
    [{ to: 'confirmed', infection_route: 'local', reason: 'x' }, 'required', 'severity'],
    [{ to: 'confirmed', severity: 'mild', reason: 'x' }, 'required', 'infection_route'],
    [{ to: 'confirmed', severity: 'fatal', infection_route: 'local', reason: 'x' }, 'invalid_value', 'severity'],
    [{ to: 'confirmed', severity: 'mild', infection_route: 'mars', reason: 'x' }, 'invalid_value', 'infection_route'],
    [{ to: 'normal', severity: 'mild', reason: 'x' }, 'invalid_value', 'severity'],
    [{ to: 'normal', infection_route: 'local', reason: 'x' }, 'invalid_value', 'infection_route'],
    [{ to: 'normal' }, 'required', 'reason'],
    [{ to: 'normal', reason: '' }, 'required', 'reason'],
    [{ to: 'normal', reason: '因'.repeat(201) }, 'too_long', 'reason'],
  ];
  for (const [body, slug, field] of bad) {
    const r = await cs.post(`/api/v1/persons/${id}/status`, body);
    expectError(r, 400, slug, field);
  }
  assert.equal(await statusOf(id), 'suspected');
  assert.equal((await changes(id)).length, 2);
  assert.equal((await cs.post('/api/v1/persons/abc/status', { to: 'normal', reason: 'x' })).status, 404);
});

test('a change closes an open observation: normal releases it, confirmed ends it', async () => {
  const a = await person(), b = await person();
  const oa = await ok(cs.post('/api/v1/observations', { person_id: a, kind: 'home_observation', source: 'cdc' }), 201);
  const ob = await ok(cs.post('/api/v1/observations', { person_id: b, kind: 'home_isolation', source: 'cdc' }), 201);
  await ok(set(cs, a, { to: 'normal', reason: '排除' }));
  let o = await ok(cs.get(`/api/v1/observations/${oa.id}`));
  assert.equal(o.state, 'released');
  assert.ok((await ok(cs.get(`/api/v1/persons/${a}/isolations`))).items[0].end_at > 0);
  assert.equal(await colourOf(a), 'green');
  // suspected keeps the observation open; confirmed ends it (treated in hospital)
  await ok(set(cs, b, { to: 'suspected' }));
  assert.equal((await ok(cs.get(`/api/v1/observations/${ob.id}`))).state, 'active');
  await ok(set(cs, b, { to: 'confirmed', severity: 'mild', infection_route: 'local' }));
  o = await ok(cs.get(`/api/v1/observations/${ob.id}`));
  assert.equal(o.state, 'ended');
  assert.equal(await colourOf(b), 'red');
});

test('the person API no longer sets the status; scope and permission', async () => {
  const id = await person();
  const p = await ok(cc.get(`/api/v1/persons/${id}`));
  expectError(await cs.patch(`/api/v1/persons/${id}`, { status: 'confirmed', version: p.version }), 409, 'status_by_workflow', 'status');
  assert.equal(await statusOf(id), 'normal');
  assert.equal((await ok(cc.get(`/api/v1/persons/${id}`))).version, p.version);
  // another street: 404 on the change, its history and the timeline
  expectError(await set(csOther, id, { to: 'observation' }), 404, 'not_found');
  assert.equal((await csOther.get(`/api/v1/persons/${id}/status-changes`)).status, 404);
  assert.equal((await csOther.get(`/api/v1/persons/${id}/timeline`)).status, 404);
  assert.equal(await statusOf(id), 'normal');
  // the leader reads, does not change
  assert.equal((await set(leader, id, { to: 'observation' })).status, 403);
  assert.equal((await leader.get(`/api/v1/persons/${id}/status-changes`)).status, 200);
});

test('counters: status levels, entries, new cases by route, observations opened and released; stats verify agrees', async () => {
  const M = ['person.status.confirmed', 'person.status.observation', 'case.enter.confirmed', 'case.enter.observation',
    'case.confirmed_by.cluster', 'case.confirmed_by.local', 'case.observe.new', 'case.release.new'];
  const values = async () => {
    const r = await ok(cc.get(`/api/v1/stats/summary?measures=${M.join(',')}`));
    return Object.fromEntries(r.items.map((f) => [f.measure, f.value]));
  };
  const before = await values();
  const a = await person(), b = await person();
  await ok(cs.post('/api/v1/observations', { person_id: a, kind: 'home_observation', source: 'cdc' }), 201);
  await ok(set(cs, a, { to: 'suspected' }));
  await ok(set(cs, a, { to: 'confirmed', severity: 'mild', infection_route: 'cluster' }));
  await ok(set(cs, a, { to: 'confirmed', severity: 'critical' })); // severity: no new case
  const ob = await ok(cs.post('/api/v1/observations', { person_id: b, kind: 'home_observation', source: 'cdc' }), 201);
  await ok(cs.post(`/api/v1/observations/${ob.id}/end`, { reason: '期满' }));
  // refused changes move nothing
  expectError(await set(cs, b, { to: 'dead' }), 409, 'invalid_transition');
  const after = await values();
  const diff = Object.fromEntries(M.map((m) => [m, after[m] - before[m]]));
  assert.deepEqual(diff, {
    'person.status.confirmed': 1, 'person.status.observation': 0, 'case.enter.confirmed': 1, 'case.enter.observation': 2,
    'case.confirmed_by.cluster': 1, 'case.confirmed_by.local': 0, 'case.observe.new': 2, 'case.release.new': 1,
  });
  const v = ctx.fk(['stats', 'verify']);
  assert.equal(v.status, 0, v.stdout + v.stderr);
});

test('status-targets: the state machine\'s next statuses from the current one, each other one refused; scope', async () => {
  const id = await person();
  const voc = (await ok(cc.get('/api/v1/vocabularies'))).person_statuses.items;
  const label = Object.fromEntries(voc.map((x) => [x.value, x.label]));
  const targets = async (pid = id) => ok(cc.get(`/api/v1/persons/${pid}/status-targets`));
  const path = [
    ['normal', ['observation', 'home_isolation', 'central_quarantine'], { to: 'home_isolation' }],
    ['home_isolation', ['normal', 'observation', 'home_isolation', 'central_quarantine', 'suspected', 'confirmed', 'asymptomatic'].filter((s) => s !== 'home_isolation'), { to: 'suspected' }],
    ['suspected', ['normal', 'observation', 'home_isolation', 'central_quarantine', 'confirmed', 'asymptomatic'], { to: 'confirmed', severity: 'mild', infection_route: 'local' }],
    ['confirmed', ['confirmed', 'cured', 'dead'], { to: 'dead' }],
    ['dead', [], null],
  ];
  for (const [status, want, next] of path) {
    const t = await targets();
    assert.equal(t.status, status);
    assert.equal(t.status_name, label[status]);
    assert.deepEqual(Object.keys(t).sort(), ['status', 'status_name', 'targets']);
    assert.deepEqual(t.targets.map((x) => x.status).sort(), [...want].sort(), status);
    for (const x of t.targets) assert.equal(x.name, label[x.status]);
    // every status the reply leaves out is refused by the state machine
    for (const v of voc.map((x) => x.value).filter((s) => !want.includes(s)))
      expectError(await set(cc, id, { to: v, ...(v === 'confirmed' ? { severity: 'mild', infection_route: 'local' } : {}) }), 409, 'invalid_transition');
    assert.equal(await statusOf(id), status, 'nothing changed');
    if (next) await ok(set(cc, id, next));
  }
  // scope: another street's staff get 404, as for the person; a malformed id is 404
  expectError(await csOther.get(`/api/v1/persons/${id}/status-targets`), 404, 'not_found');
  assert.equal((await cc.get('/api/v1/persons/abc/status-targets')).status, 404);
  assert.equal((await cc.get('/api/v1/persons/999999999/status-targets')).status, 404);
  assert.equal((await leader.get(`/api/v1/persons/${id}/status-targets`)).status, 200);
  await auditEntries(auditor, 'person.status_targets', id);
});
