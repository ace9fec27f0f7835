// Health codes through the API: every default rule end to end on records
// set through the API (case status, isolation, contacts of degree 1 and 2,
// fever, stays in medium and high risk areas, sealed and controlled zones,
// the negative-test rule turned on by a rule edit), the worst colour and
// every reason, the history of changes, the resident's own code, the rule
// editor (validation, permission) and its background recompute job with
// progress, scope (another region is a 404) and audit.
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { startServer, CITY_CSV, writeTmp, residentId, smsCode, totpSecretFrom, sleep, waitForAudit, errOf, startCityWith } from './lib.mjs';

const PW = 'Passw0rd!codes';
const COMMUNITY = '110101001001';
const ZONED = '110101002001'; // 隆福寺社区: only the zone test lives here
const WEST = '110102001001';
const H = 3600e3;
const DAY = 24 * H;
let ctx, cc, gw, gwWest, site, leader, auditor;

let seq = 0;
const rid = () => residentId('110101', '19791111', 200 + ++seq * 2);

async function person(region = COMMUNITY, over = {}) {
  const r = await cc.post('/api/v1/persons', { name: '赵六', id_number: rid(), region_code: region, ...over });
  assert.equal(r.status, 201, r.text);
  return r.body.id;
}

async function code(id, c = cc) {
  const r = await c.get(`/api/v1/persons/${id}/code`);
  assert.equal(r.status, 200, r.text);
  return r.body;
}

async function expectCode(id, colour, rules) {
  const b = await code(id);
  assert.equal(b.colour, colour, JSON.stringify(b));
  assert.deepEqual(b.reasons.map((x) => x.rule), rules);
  for (const x of b.reasons) assert.ok(x.text && x.colour, JSON.stringify(x));
  return b;
}

async function post(c, url, body, status = 201) {
  const r = await c.post(url, body);
  assert.equal(r.status, status, `${url} ${JSON.stringify(body)}: ${r.text}`);
  return r.body;
}

async function waitJob(id, c = cc) {
  for (let i = 0; i < 200; i++) {
    const r = await c.get(`/api/v1/jobs/${id}`);
    assert.equal(r.status, 200, r.text);
    if (r.body.status === 'done' || r.body.status === 'failed') return r.body;
    await sleep(25);
  }
  throw new Error('job did not finish');
}

const auditWhere = (query, pred) => waitForAudit(auditor, query, pred);

before(async () => {
  ctx = await startCityWith(
    {
      k_cc: ['command_center', '110100000000'],
      k_gw: ['grid_worker', COMMUNITY],
      k_gw_west: ['grid_worker', WEST],
      k_site: ['site_staff', '110101000000'],
      k_leader: ['leader', '110100000000'],
      k_auditor: ['audit_admin', '110100000000'],
    },
    PW,
  );
  ({ k_cc: cc, k_gw: gw, k_gw_west: gwWest, k_site: site, k_leader: leader, k_auditor: auditor } = ctx.as);
});
after(async () => ctx?.stop());

test('a new person is green; case status turns red and back; the history keeps every change', async () => {
  const id = await person();
  const g = await expectCode(id, 'green', []);
  assert.equal(g.label, '绿码');
  assert.ok(g.updated_at > 0);
  // statuses change through the state machine (POST …/status, docs/cases.md)
  const setStatus = async (to, extra = {}) => {
    const r = await cc.post(`/api/v1/persons/${id}/status`, { to, reason: '测试', ...extra });
    assert.equal(r.status, 200, r.text);
  };
  await setStatus('home_isolation');
  await expectCode(id, 'red', ['isolation_status']);
  for (const [s, extra] of [['suspected', {}], ['asymptomatic', { infection_route: 'local' }], ['confirmed', { severity: 'mild' }]]) {
    await setStatus(s, extra);
    const b = await expectCode(id, 'red', ['case']);
    assert.match(b.reasons[0].text, /确诊/);
  }
  await setStatus('cured');
  await expectCode(id, 'green', []);
  // a person registered as confirmed is red from the start
  await expectCode(await person(COMMUNITY, { status: 'confirmed' }), 'red', ['case']);

  const r = await gw.get(`/api/v1/persons/${id}/code/history`);
  assert.equal(r.status, 200, r.text);
  // red (isolation), red (suspected), red (asymptomatic, confirmed: same reasons, no row), green
  assert.deepEqual(r.body.items.map((x) => x.colour), ['green', 'red', 'red']);
  assert.deepEqual(r.body.items.map((x) => x.cause), ['status', 'status', 'status']);
  assert.deepEqual(r.body.items[1].reasons.map((x) => x.rule), ['case']);
  assert.deepEqual(r.body.items[2].reasons.map((x) => x.rule), ['isolation_status']);
  assert.equal(r.body.total, 3);
});

test('isolation: red while open, green once ended; the observation list writes it', async () => {
  // the case workflow owns isolations (docs/cases.md): an observation
  // opens one, its end closes it; the old direct POST is gone
  const id = await person();
  const now = Date.now();
  const o = await post(cc, '/api/v1/observations', { person_id: id, kind: 'home_isolation', source: 'grid_patrol', start_at: now - H });
  let r = await gw.get(`/api/v1/persons/${id}/isolations`);
  assert.equal(r.body.total, 1);
  assert.equal(r.body.items[0].kind, 'home');
  assert.equal(r.body.items[0].start_at, now - H);
  assert.equal(r.body.items[0].end_at, 0);
  await expectCode(id, 'red', ['isolation_status', 'isolation']);
  await post(cc, `/api/v1/observations/${o.id}/end`, { reason: '隔离期满' }, 200);
  await expectCode(id, 'green', []);
  r = await gw.get(`/api/v1/persons/${id}/isolations`);
  assert.ok(r.body.items[0].end_at >= now);
  r = await cc.post(`/api/v1/persons/${id}/isolations`, { kind: 'home', start_at: now });
  assert.ok(r.status === 404 || r.status === 405, r.text);
  assert.equal((await gw.get(`/api/v1/persons/${id}/isolations`)).body.total, 1);
});

test('contacts: degree 1 red, degree 2 yellow, an old or released contact nothing', async () => {
  const now = Date.now();
  const caseId = await person(COMMUNITY, { status: 'confirmed' });
  const a = await person();
  const c1 = await post(gw, `/api/v1/persons/${a}/contacts`, { degree: 1, case_person_id: caseId, at: now - DAY });
  assert.equal(c1.case_person_id, caseId);
  await expectCode(a, 'red', ['contact_1']);
  const b = await person();
  await post(gw, `/api/v1/persons/${b}/contacts`, { degree: 2, at: now - DAY });
  await expectCode(b, 'yellow', ['contact_2']);
  const c = await person();
  await post(gw, `/api/v1/persons/${c}/contacts`, { degree: 1, at: now - 15 * DAY });
  await post(gw, `/api/v1/persons/${c}/contacts`, { degree: 1, at: now - 2 * DAY, end_at: now - DAY });
  await expectCode(c, 'green', []);
  // both: worst colour wins, both reasons listed in rule order
  await post(gw, `/api/v1/persons/${b}/contacts`, { degree: 1, at: now - H });
  await expectCode(b, 'red', ['contact_1', 'contact_2']);
  for (const [body, code_, field] of [
    [{ degree: 3, at: now }, 'out_of_range', 'degree'],
    [{ degree: 1, at: now, case_person_id: 'abc' }, 'invalid_value', 'case_person_id'],
    [{ degree: '1', at: now }, 'invalid_type', 'degree'],
  ]) {
    const r = await gw.post(`/api/v1/persons/${c}/contacts`, body);
    assert.deepEqual([r.status, errOf(r).code, errOf(r).field], [400, code_, field]);
  }
  // the case must be a person the caller may see: another district's, or none, is a 404
  const westCase = await person(WEST, { status: 'confirmed' });
  const before = (await gw.get(`/api/v1/persons/${c}/contacts`)).body.total;
  for (const id of [westCase, '12345']) {
    const r = await gw.post(`/api/v1/persons/${c}/contacts`, { degree: 1, case_person_id: id, at: now });
    assert.deepEqual([r.status, errOf(r).code, errOf(r).field], [404, 'unknown_case_person', 'case_person_id'], r.text);
  }
  assert.equal((await gw.get(`/api/v1/persons/${c}/contacts`)).body.total, before);
  await expectCode(c, 'green', []);
});

test('fever in the last 24 hours without a later normal reading is yellow', async () => {
  const id = await person();
  await post(gw, `/api/v1/persons/${id}/temperatures`, { value: 37.3, source: 'manual' });
  await expectCode(id, 'yellow', ['fever']);
  await post(gw, `/api/v1/persons/${id}/temperatures`, { value: 36.4, source: 'manual' });
  await expectCode(id, 'green', []);
  const old = await person();
  await post(gw, `/api/v1/persons/${old}/temperatures`, { value: 39, source: 'manual', at: Date.now() - 25 * H });
  await expectCode(old, 'green', []);
});

test('stays in risk areas: high red, medium yellow, only within 14 days and while the area was risky', async () => {
  const now = Date.now();
  const high = await post(cc, '/api/v1/risk-areas', { name: '某市某区某街道', level: 'high', valid_from: now - 30 * DAY });
  const medium = await post(cc, '/api/v1/risk-areas', { name: '某县某镇', level: 'medium', valid_from: now - 30 * DAY, region_code: '110105000000' });
  const later = await post(cc, '/api/v1/risk-areas', { name: '新增高风险', level: 'high', valid_from: now - DAY });
  const r = await gw.get('/api/v1/risk-areas');
  assert.equal(r.status, 200);
  assert.ok(r.body.items.some((x) => x.id === high.id && x.level === 'high'));

  const a = await person();
  await post(gw, `/api/v1/persons/${a}/stays`, { area_id: high.id, arrived_at: now - 3 * DAY, left_at: now - 2 * DAY });
  await expectCode(a, 'red', ['risk_area_high', 'risk_area_medium']);
  const b = await person();
  await post(gw, `/api/v1/persons/${b}/stays`, { area_id: medium.id, arrived_at: now - 3 * DAY });
  await expectCode(b, 'yellow', ['risk_area_medium']);
  const c = await person();
  await post(gw, `/api/v1/persons/${c}/stays`, { area_id: high.id, arrived_at: now - 20 * DAY, left_at: now - 15 * DAY });
  await post(gw, `/api/v1/persons/${c}/stays`, { area_id: later.id, arrived_at: now - 5 * DAY, left_at: now - 4 * DAY });
  await expectCode(c, 'green', []);

  for (const [body, code_, field] of [
    [{ area_id: high.id, arrived_at: now, left_at: now - DAY }, 'invalid_time', 'left_at'],
  ]) {
    const x = await gw.post(`/api/v1/persons/${c}/stays`, body);
    assert.deepEqual([x.status, errOf(x).code, errOf(x).field], [400, code_, field]);
  }
  // a risk area that does not exist is a 404 like every other reference
  const x = await gw.post(`/api/v1/persons/${c}/stays`, { area_id: '12345', arrived_at: now });
  assert.deepEqual([x.status, errOf(x).code, errOf(x).field], [404, 'unknown_area', 'area_id']);
  for (const [body, code_, field] of [
    [{ name: 'x', level: 'low', valid_from: now }, 'invalid_value', 'level'],
    [{ name: 'x', level: 'high' }, 'required', 'valid_from'],
    [{ name: 'x', level: 'high', valid_from: now, valid_to: now - 1 }, 'invalid_time', 'valid_to'],
  ]) {
    const x = await cc.post('/api/v1/risk-areas', body);
    assert.deepEqual([x.status, errOf(x).code, errOf(x).field], [400, code_, field]);
  }
  // grid workers record stays but do not publish risk areas
  assert.equal((await gw.post('/api/v1/risk-areas', { name: 'x', level: 'high', valid_from: now })).status, 403);
});

test('zones: everyone living in a sealed zone turns red at once, controlled yellow, and back when lifted', async () => {
  const a = await person(ZONED);
  const b = await person(ZONED);
  const outside = await person();
  const z = await post(cc, '/api/v1/zones', { region_code: ZONED, kind: 'sealed', name: '隆福寺封控区' });
  await expectCode(a, 'red', ['sealed_zone']);
  await expectCode(b, 'red', ['sealed_zone']);
  await expectCode(outside, 'green', []);
  const c = await person(ZONED); // registered afterwards: red from the start
  await expectCode(c, 'red', ['sealed_zone']);
  let r = await cc.patch(`/api/v1/zones/${z.id}`, { valid_to: 0 });
  assert.equal(r.status, 204, r.text);
  await expectCode(a, 'green', []);
  await expectCode(c, 'green', []);
  await post(cc, '/api/v1/zones', { region_code: ZONED, kind: 'controlled' });
  await expectCode(b, 'yellow', ['controlled_zone']);
  // moving out of the zone recomputes too
  assert.equal((await cc.patch(`/api/v1/persons/${b}`, { region_code: COMMUNITY })).status, 200);
  await expectCode(b, 'green', []);
  r = await cc.get('/api/v1/zones');
  assert.equal(r.status, 200);
  assert.equal(r.body.total, 2);
  // no permission, a bad kind, a region not in the tree, an unknown zone
  r = await gwWest.post('/api/v1/zones', { region_code: ZONED, kind: 'sealed' });
  assert.equal(r.status, 403);
  r = await cc.post('/api/v1/zones', { region_code: '110102001001', kind: 'lockdown' });
  assert.deepEqual([r.status, errOf(r).field], [400, 'kind']);
  r = await cc.post('/api/v1/zones', { region_code: '999999999999', kind: 'sealed' });
  assert.deepEqual([r.status, errOf(r).code], [400, 'invalid_region']);
  r = await cc.patch('/api/v1/zones/123', { valid_to: 0 });
  assert.equal(r.status, 404);
});

test('the rules: read, refused edits change nothing, an edit recomputes everyone as a job with progress', async () => {
  let r = await gw.get('/api/v1/code-rules');
  assert.equal(r.status, 200, r.text);
  const rules = r.body.rules;
  assert.deepEqual(rules.map((x) => x.key), [
    'case', 'isolation_status', 'isolation', 'contact_1', 'contact_2', 'fever',
    'risk_area_high', 'risk_area_medium', 'no_negative_test', 'sealed_zone', 'controlled_zone',
    'positive_test', 'pool_positive',
  ]);
  const nt = rules.find((x) => x.key === 'no_negative_test');
  assert.deepEqual([nt.kind, nt.enabled, nt.params.hours, nt.colour], ['no_negative_test_within_hours', false, 72, 'yellow']);
  assert.equal(rules.find((x) => x.key === 'fever').params.threshold, 37.3);

  // refused: no permission, empty, bad definitions, duplicates
  assert.equal((await gw.put('/api/v1/code-rules', { rules })).status, 403);
  for (const [body, c, field] of [
    [{ rules: [] }, 'out_of_range', 'rules'],
    [{ rules: 'all' }, 'invalid_type', 'rules'],
    [{ rules, extra: 1 }, 'unknown_field', 'extra'],
    [{ rules: [...rules, { ...rules[0] }] }, 'duplicate_rule', 'rules[13].key'],
    [{ rules: [{ key: 'x', kind: 'horoscope', colour: 'red' }] }, 'invalid_value', 'rules[0].kind'],
    [{ rules: [{ key: 'x', kind: 'fever_within_hours', colour: 'yellow', params: { hours: 0, threshold: 37.3 } }] }, 'out_of_range', 'rules[0].params.hours'],
    [{ rules: [{ key: 'x', kind: 'fever_within_hours', colour: 'yellow', params: { hours: 24, threshold: 36 } }] }, 'out_of_range', 'rules[0].params.threshold'],
    [{ rules: [{ key: 'x', kind: 'in_isolation', colour: 'green' }] }, 'invalid_value', 'rules[0].colour'],
    [{ rules: ['x'] }, 'invalid_type', 'rules[0].key'],
  ]) {
    r = await cc.put('/api/v1/code-rules', body);
    assert.deepEqual([r.status, errOf(r).code, errOf(r).field], [400, c, field], JSON.stringify(body).slice(0, 200));
  }
  r = await cc.get('/api/v1/code-rules');
  assert.deepEqual(r.body.rules, rules);

  // turn the testing rule on (48 h) and the fever threshold up: a job recomputes everyone
  const tested = await person();
  await post(site, `/api/v1/persons/${tested}/test-results`, { result: 'negative', sampled_at: Date.now() - 10 * H, reported_at: Date.now() - 5 * H });
  const untested = await person();
  const warm = await person();
  await post(gw, `/api/v1/persons/${warm}/temperatures`, { value: 37.5, source: 'manual' });
  await expectCode(warm, 'yellow', ['fever']);
  const edited = rules.map((x) => {
    if (x.key === 'no_negative_test') return { ...x, enabled: true, params: { hours: 48 } };
    if (x.key === 'fever') return { ...x, params: { hours: 24, threshold: 38.0 }, label: '发热（≥38℃）' };
    return x;
  });
  r = await cc.put('/api/v1/code-rules', { rules: edited });
  assert.equal(r.status, 202, r.text);
  assert.equal(typeof r.body.job_id, 'string');
  const job = await waitJob(r.body.job_id);
  assert.equal(job.status, 'done');
  assert.equal(job.kind, 'code.recompute');
  const total = (await cc.get('/api/v1/persons?page_size=1')).body.total;
  assert.deepEqual([job.done, job.total], [total, total]);
  assert.ok(job.result.changed >= 2, JSON.stringify(job));
  await expectCode(untested, 'yellow', ['no_negative_test']);
  await expectCode(tested, 'green', []);
  await expectCode(warm, 'yellow', ['no_negative_test']); // 37.5 is no fever at 38.0
  const hist = await cc.get(`/api/v1/persons/${untested}/code/history`);
  assert.equal(hist.body.items[0].cause, 'rules');
  // the label is the reason's text
  await post(gw, `/api/v1/persons/${warm}/temperatures`, { value: 38.1, source: 'manual' });
  const w = await expectCode(warm, 'yellow', ['fever', 'no_negative_test']);
  assert.equal(w.reasons[0].text, '发热（≥38℃）');
  // a negative test clears the new rule at once
  await post(site, `/api/v1/persons/${untested}/test-results`, { result: 'negative', sampled_at: Date.now() - H, reported_at: Date.now() });
  await expectCode(untested, 'green', []);
  // a job is seen by its owner and within scope only, with the permission of its kind
  assert.equal((await gwWest.get(`/api/v1/jobs/${r.body.job_id}`)).status, 404);
  assert.equal((await cc.get('/api/v1/jobs/1')).status, 404);
  const denied = await leader.get(`/api/v1/jobs/${r.body.job_id}`);
  assert.deepEqual([denied.status, errOf(denied).code], [403, 'forbidden'], denied.text);
  assert.ok(!denied.text.includes('changed'));
  for (const [who, result] of [[leader, 'forbidden'], [gwWest, 'not_found']]) {
    const items = await auditWhere(`action=job.read&object_id=${r.body.job_id}`, (x) => x.user_id === who.id);
    assert.ok(items.some((x) => x.user_id === who.id && x.result === result), result);
  }

  // back to the defaults
  r = await cc.put('/api/v1/code-rules', { rules });
  assert.equal(r.status, 202, r.text);
  assert.equal((await waitJob(r.body.job_id)).status, 'done');
  await expectCode(untested, 'green', []);
  await expectCode(warm, 'yellow', ['fever']);
});

test('a dry run says how many codes a rule change would change, by colour, and writes nothing', async () => {
  const rules = (await cc.get('/api/v1/code-rules')).body.rules;
  const untested = await person();
  await expectCode(untested, 'green', []);
  const edited = rules.map((x) => (x.key === 'no_negative_test' ? { ...x, enabled: true, params: { hours: 48 } } : x));
  // refused like the write: no permission, bad rules (400 with the field)
  assert.equal((await gw.post('/api/v1/code-rules/dry-run', { rules: edited })).status, 403);
  let r = await cc.post('/api/v1/code-rules/dry-run', { rules: [] });
  assert.deepEqual([r.status, errOf(r).code, errOf(r).field], [400, 'out_of_range', 'rules']);
  r = await cc.post('/api/v1/code-rules/dry-run', { rules: [{ key: 'x', kind: 'horoscope', colour: 'red' }] });
  assert.deepEqual([r.status, errOf(r).code, errOf(r).field], [400, 'invalid_value', 'rules[0].kind']);
  // the rules in force change nothing
  r = await cc.post('/api/v1/code-rules/dry-run', { rules });
  assert.equal(r.status, 200, r.text);
  assert.equal(r.body.changed, 0);
  const total = (await cc.get('/api/v1/persons?page_size=1')).body.total;
  assert.equal(r.body.total, total);
  // testing on: everyone without a negative test would turn yellow
  r = await cc.post('/api/v1/code-rules/dry-run', { rules: edited });
  assert.equal(r.status, 200, r.text);
  const dry = r.body;
  const gy = dry.transitions.find((t) => t.from === 'green' && t.to === 'yellow');
  assert.ok(gy.count >= 1, r.text);
  assert.equal(dry.transitions.length, 6);
  assert.equal(dry.transitions.reduce((a, t) => a + t.count, 0), dry.changed);
  // nothing written: the rules and the codes are as they were
  assert.deepEqual((await cc.get('/api/v1/code-rules')).body.rules, rules);
  await expectCode(untested, 'green', []);
  // saving does what the dry run said
  r = await cc.put('/api/v1/code-rules', { rules: edited });
  assert.equal(r.status, 202, r.text);
  const job = await waitJob(r.body.job_id);
  assert.equal(job.result.changed, dry.changed + dry.reasons_only, JSON.stringify({ job, dry }));
  await expectCode(untested, 'yellow', ['no_negative_test']);
  r = await cc.put('/api/v1/code-rules', { rules });
  assert.equal((await waitJob(r.body.job_id)).status, 'done');
  await expectCode(untested, 'green', []);
});

test('a resident sees their own code with the masked name and the latest test', async () => {
  const phone = '13930001234';
  const c = ctx.client();
  await c.post('/api/v1/auth/sms/send', { phone });
  let r = await c.post('/api/v1/auth/sms/login', { phone, code: smsCode(ctx, phone) });
  assert.equal(r.status, 200, r.text);
  r = await c.get('/api/v1/me/code');
  assert.deepEqual([r.status, errOf(r).code], [404, 'person_not_registered']);
  await c.post('/api/v1/me/consent', { version: 'v1' });
  r = await c.post('/api/v1/me/person', { name: '孙七', id_number: rid(), region_code: COMMUNITY, address: '多福巷9号' });
  assert.equal(r.status, 201, r.text);
  const id = r.body.person.id;
  const sampled = Date.now() - 2 * H;
  await post(site, `/api/v1/persons/${id}/test-results`, { result: 'negative', sampled_at: sampled, reported_at: sampled + H });
  r = await c.get('/api/v1/me/code');
  assert.equal(r.status, 200, r.text);
  assert.equal(r.body.colour, 'green');
  assert.equal(r.body.name, '孙*');
  assert.deepEqual(r.body.latest_test, { result: 'negative', sampled_at: sampled, reported_at: sampled + H });
  assert.equal((await c.get(`/api/v1/persons/${id}/code`)).status, 403);
  assert.equal((await gw.get('/api/v1/me/code')).status, 403);
  for (const [body, code_, field] of [
    [{ result: 'unclear', sampled_at: sampled, reported_at: sampled }, 'invalid_value', 'result'],
    [{ result: 'negative', sampled_at: sampled, reported_at: sampled - 1 }, 'invalid_time', 'reported_at'],
  ]) {
    const x = await site.post(`/api/v1/persons/${id}/test-results`, body);
    assert.deepEqual([x.status, errOf(x).code, errOf(x).field], [400, code_, field]);
  }
  // the testing institution is optional, kept and listed; over 100 characters is refused
  r = await site.post(`/api/v1/persons/${id}/test-results`, { result: 'negative', sampled_at: sampled + 1, reported_at: sampled + H, institution: '西城区疾控中心实验室' });
  assert.equal(r.status, 201, r.text);
  const long = await site.post(`/api/v1/persons/${id}/test-results`, { result: 'negative', sampled_at: sampled, reported_at: sampled, institution: '检'.repeat(101) });
  assert.deepEqual([long.status, errOf(long).code, errOf(long).field], [400, 'too_long', 'institution']);
  const listed = (await cc.get(`/api/v1/persons/${id}/test-results`)).body.items;
  assert.deepEqual(listed.map((x) => x.institution), ['西城区疾控中心实验室', '']);
});

test('scope: another region sees nothing and writes nothing', async () => {
  const id = await person();
  for (const p of ['code', 'code/history', 'isolations', 'contacts', 'stays', 'test-results']) {
    const r = await gwWest.get(`/api/v1/persons/${id}/${p}`);
    assert.equal(r.status, 404, p);
  }
  let r = await gwWest.post(`/api/v1/persons/${id}/contacts`, { degree: 1, at: Date.now() });
  assert.equal(r.status, 404);
  await expectCode(id, 'green', []);
  assert.equal((await cc.get(`/api/v1/persons/${id}/isolations`)).body.total, 0);
});

test('reads and writes of codes and their inputs are audited', async () => {
  const id = await person();
  await gw.get(`/api/v1/persons/${id}/code`);
  await gw.get(`/api/v1/persons/${id}/code/history`);
  for (const action of ['code.read', 'code.history']) {
    const items = await auditWhere(`action=${action}&object_id=${id}`, (x) => x.user_id === gw.id);
    assert.ok(items.some((x) => x.user_id === gw.id && x.result === 'ok'), action);
  }
  const items = await auditWhere('action=code.rules', (x) => x.user_id === cc.id);
  assert.ok(items.some((x) => x.user_id === cc.id), 'code.rules');
});

test('a checkpoint scan is audited against its access record and found by the person', async () => {
  let r = await cc.post('/api/v1/places', { name: '审计小区', kind: 'community', region_code: COMMUNITY });
  assert.equal(r.status, 201, r.text);
  r = await cc.post('/api/v1/venues', { name: '审计小区东门', kind: 'community_gate', place_id: r.body.id });
  assert.equal(r.status, 201, r.text);
  const token = ctx.must(['code', 'tokens', '--sample', '1']).trim();
  r = await gw.post('/api/v1/scans', { venue_id: r.body.id, token, direction: 'in' });
  assert.equal(r.status, 201, r.text);
  const { person_id: pid, record_id: rec } = r.body;
  const items = await auditWhere(`action=access.scan&object_id=${pid}`, (x) => x.object_id === rec);
  const entry = items.find((x) => x.object_id === rec);
  assert.ok(entry, 'a search by the person finds the scan');
  assert.deepEqual([entry.object_type, entry.user_id, entry.result], ['access_record', gw.id, 'ok']);
  assert.ok((await auditWhere(`object_id=${rec}`, (x) => x.object_id === rec)).some((x) => x.object_id === rec), 'and by the record');
  const other = await person();
  const none = await auditor.get(`/api/v1/audit?page_size=200&object_id=${other}`);
  assert.equal(none.status, 200, none.text);
  assert.ok(!none.body.items.some((x) => x.object_id === rec), "not by another person's search");
});

test('codes follow time with no event: the sweep turns a day-old fever green', async () => {
  // a server of its own that sweeps every second
  const s = await startServer({
    env: { FK_CODE_SWEEP: '1' },
    setup: (c) => {
      c.must(['import', 'regions', writeTmp(c, 'city.csv', CITY_CSV)]);
      c.must(['user', 'add', '--username', 'sw_cc', '--password', PW, '--role', 'command_center', '--region', '110100000000']);
    },
  });
  try {
    const c = s.client();
    await c.login('sw_cc', PW);
    const p = await c.post('/api/v1/persons', { name: '钱七', id_number: rid(), region_code: COMMUNITY });
    assert.equal(p.status, 201, p.text);
    // a fever that leaves the 24-hour window three seconds from now
    const t = await c.post(`/api/v1/persons/${p.body.id}/temperatures`, { value: 38.6, source: 'manual', at: Date.now() - DAY + 3000 });
    assert.equal(t.status, 201, t.text);
    assert.equal((await c.get(`/api/v1/persons/${p.body.id}/code`)).body.colour, 'yellow');
    let colour;
    for (let i = 0; i < 100 && colour !== 'green'; i++) {
      await sleep(100);
      colour = (await c.get(`/api/v1/persons/${p.body.id}/code`)).body.colour;
    }
    assert.equal(colour, 'green', 'the sweep recomputed the code once the window ran out');
    const h = await c.get(`/api/v1/persons/${p.body.id}/code/history`);
    assert.deepEqual(h.body.items.map((x) => x.colour), ['green', 'yellow']);
  } finally {
    await s.stop();
  }
});
