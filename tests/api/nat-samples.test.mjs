// Sampling (/api/v1/nat/samples, /api/v1/nat/tubes, /api/v1/nat/scans, issue
// 10 part 2): single and pooled tubes, the tube that fills and closes
// itself, the early close, every refusal changing nothing, the plan's actual
// figure by street and industry and the hourly scan count exactly right
// after N samples, the duplicate warning (重复采样), scope (another street's
// site's samples answer 404), masked names and audited reveals, export.
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { startCityWith, CITY_STAFF, expectError, auditEntries, sqlRun, residentId, creditCode, smsCode } from './lib.mjs';

const PW = 'Nat-samples-2024!';
const S1 = '110101001000'; // 东华门街道
const S1_C1 = '110101001001'; // 多福巷社区
const S2 = '110101002000'; // 景山街道
const S2_C1 = '110101002001';
const H = 3600000;
let ctx, cc, ccXc, street1, street2, staff1, staff1b, staff2, auditor;
let siteA, siteB, plan, edu;
let seq = 0;
const rid = () => residentId('110101', '19880808', 500 + ++seq * 2);

before(async () => {
  ctx = await startCityWith(
    {
      ...CITY_STAFF,
      street1: ['street_staff', S1],
      street2: ['street_staff', S2],
      staff1: ['site_staff', S1],
      staff1b: ['site_staff', S1],
      staff2: ['site_staff', S2],
    },
    PW,
  );
  ({ cc_dc: cc, cc_xc: ccXc, street1, street2, staff1, staff1b, staff2, auditor } = ctx.as);
  let r = await cc.post('/api/v1/nat/sites', { name: '多福巷核酸点', kind: 'fixed', region_code: S1_C1 });
  assert.equal(r.status, 201, r.text);
  siteA = r.body;
  r = await cc.post('/api/v1/nat/sites', { name: '景山核酸点', kind: 'temporary', region_code: S2_C1 });
  assert.equal(r.status, 201, r.text);
  siteB = r.body;
  assert.equal((await staff1.post(`/api/v1/nat/sites/${siteA.id}/clock-in`, {})).status, 201);
  assert.equal((await staff2.post(`/api/v1/nat/sites/${siteB.id}/clock-in`, {})).status, 201);
  const now = Date.now();
  r = await cc.post('/api/v1/nat/plans', { number: 'S-2024-1', name: '第一轮全员核酸', starts_at: now - H, ends_at: now + 10 * H });
  assert.equal(r.status, 201, r.text);
  plan = r.body;
  edu = (await cc.get('/api/v1/nat/industries')).body.items.find((i) => i.name === '教育').id;
  r = await cc.post('/api/v1/enterprises', { name: '东华门小学', credit_code: creditCode('91110101MA0000021'), region_code: S1_C1, industry: '教育', employees: 80 });
  assert.equal(r.status, 201, r.text);
});

after(async () => {
  await ctx?.stop();
});

async function person(name, region = S1_C1, extra = {}) {
  const id_number = rid();
  const r = await cc.post('/api/v1/persons', { name, id_number, region_code: region, ...extra });
  assert.equal(r.status, 201, r.text);
  return { id: r.body.id, id_number, name };
}

const sample = (client, body) => client.post('/api/v1/nat/samples', body);
const one = (sql) => sqlRun(ctx, sql).trim();
const counts = () => one('SELECT (SELECT COUNT(*) FROM nat_samples), (SELECT COUNT(*) FROM nat_tubes), (SELECT COALESCE(SUM(filled), 0) FROM nat_tubes), (SELECT COALESCE(SUM(actual), 0) FROM nat_plan_figures), (SELECT COALESCE(SUM(n), 0) FROM nat_site_hours), (SELECT SUM(scans) FROM nat_sites)');

async function figures() {
  const r = await cc.get(`/api/v1/nat/plans/${plan.id}/figures`);
  assert.equal(r.status, 200, r.text);
  return Object.fromEntries(r.body.items.map((x) => [`${x.region_name}/${x.industry_name}`, x.actual]));
}

test('a single tube: one sample fills and closes it; the next is refused as full and changes nothing', async () => {
  const p = await person('张三丰');
  let r = await sample(staff1, { id_number: p.id_number, barcode: 'SG-000001' });
  assert.equal(r.status, 201, r.text);
  assert.equal(r.body.person_id, p.id);
  assert.equal(r.body.name, '张*丰');
  assert.equal(r.body.filled, 1);
  assert.equal(r.body.size, 1);
  assert.equal(r.body.tube_opened, true);
  assert.equal(r.body.tube_closed, true);
  assert.equal(r.body.duplicate, false);
  assert.deepEqual(r.body.warnings.map((w) => w.code), ['tube_full']);
  assert.equal(r.body.site_id, siteA.id);
  const before = counts();
  const q = await person('李四');
  expectError(await sample(staff1, { id_number: q.id_number, barcode: 'SG-000001' }), 409, 'tube_full', 'barcode');
  assert.equal(counts(), before);
  r = await cc.get('/api/v1/nat/tubes/SG-000001');
  assert.equal(r.status, 200, r.text);
  assert.equal(r.body.kind, 'single');
  assert.equal(r.body.kind_label, '单管');
  assert.equal(r.body.state, 'closed');
  assert.equal(r.body.closed_early, false);
  assert.equal(r.body.site_name, '多福巷核酸点');
  assert.equal(r.body.region_name, '多福巷社区');
  assert.equal(r.body.samples.length, 1);
  assert.equal(r.body.samples[0].name, '张*丰');
  const audit = await auditEntries(auditor, 'nat.sample');
  assert.ok(audit.some((a) => a.detail.includes('tube=SG-000001')), JSON.stringify(audit));
});

test('a pooled tube of 10 fills to 3/10 … 10/10 and closes; plan figures by street and industry and the hourly scans exactly right', async () => {
  const f0 = await figures();
  const scans0 = Number(one(`SELECT COALESCE(SUM(n), 0) FROM nat_site_hours WHERE site_id = ${siteA.id}`));
  const people = [];
  for (let i = 0; i < 10; i++) people.push(await person(`混采${i}号`, S1_C1, i < 3 ? { employer: '东华门小学' } : {}));
  let last;
  for (let i = 0; i < 10; i++) {
    const r = await sample(staff1, { id_number: people[i].id_number, barcode: 'PL10-0001', tube_kind: 'pool10', plan_id: plan.id });
    assert.equal(r.status, 201, r.text);
    assert.equal(r.body.filled, i + 1);
    assert.equal(r.body.size, 10);
    assert.equal(r.body.tube_opened, i === 0);
    assert.equal(r.body.tube_closed, i === 9);
    assert.deepEqual(r.body.warnings.map((w) => w.code), i === 9 ? ['tube_full'] : []);
    last = r.body;
  }
  let r = await cc.get('/api/v1/nat/tubes/PL10-0001');
  assert.equal(r.body.state, 'closed');
  assert.equal(r.body.filled, 10);
  assert.equal(r.body.kind_label, '10:1混采');
  assert.equal(r.body.plan_name, '第一轮全员核酸');
  assert.equal(r.body.samples.length, 10);
  // the eleventh: over its size, nothing written
  const before = counts();
  const extra = await person('第十一人');
  expectError(await sample(staff1, { id_number: extra.id_number, barcode: 'PL10-0001', tube_kind: 'pool10', plan_id: plan.id }), 409, 'tube_full', 'barcode');
  assert.equal(counts(), before);
  // the plan's actual figure: 10 residents of 东华门, 3 of them in education
  const f = await figures();
  assert.equal((f['东华门街道/居民'] ?? 0) - (f0['东华门街道/居民'] ?? 0), 10);
  assert.equal((f['东华门街道/教育'] ?? 0) - (f0['东华门街道/教育'] ?? 0), 3);
  const p = (await cc.get(`/api/v1/nat/plans/${plan.id}`)).body;
  assert.equal(p.actual, f['东华门街道/居民'] + (f['景山街道/居民'] ?? 0));
  // the scans: ten more at site A, the hour's row as the reply said
  r = await cc.get(`/api/v1/nat/scans?site_id=${siteA.id}&page_size=100`);
  assert.equal(r.status, 200, r.text);
  assert.equal(r.body.items.reduce((s, x) => s + x.n, 0) - scans0, 10);
  const hour = r.body.items.find((x) => x.hour === Math.floor(Date.now() / H) * H) ?? r.body.items[0];
  assert.equal(hour.site_name, '多福巷核酸点');
  assert.equal(hour.region_name, '多福巷社区');
  assert.ok(hour.n >= 1 && hour.n <= last.scans_this_hour + 1);
  const total = Number(one(`SELECT COUNT(*) FROM nat_samples WHERE site_id = ${siteA.id}`));
  assert.equal(Number(one(`SELECT scans FROM nat_sites WHERE id = ${siteA.id}`)), total);
  assert.equal((await cc.get(`/api/v1/nat/sites/${siteA.id}`)).body.scans, total);
  const byHour = one(`SELECT hour, COUNT(*) FROM (SELECT at - at % ${H} AS hour FROM nat_samples WHERE site_id = ${siteA.id}) x GROUP BY hour ORDER BY hour`);
  const kept = one(`SELECT hour, n FROM nat_site_hours WHERE site_id = ${siteA.id} ORDER BY hour`);
  assert.equal(kept, byHour, 'the hourly counters equal a recount');
});

test('a person sampled twice in a plan: accepted with the 重复采样 warning, counted once; without a plan, twice a day', async () => {
  const p = await person('王重复');
  let r = await sample(staff1, { id_number: p.id_number, barcode: 'DUP-0001', plan_id: plan.id });
  assert.equal(r.status, 201, r.text);
  assert.equal(r.body.duplicate, false);
  const f1 = await figures();
  r = await sample(staff1, { id_number: p.id_number, barcode: 'DUP-0002', plan_id: plan.id });
  assert.equal(r.status, 201, r.text);
  assert.equal(r.body.duplicate, true);
  const w = r.body.warnings.find((x) => x.code === 'duplicate_sample');
  assert.match(w.message, /重复采样/);
  assert.deepEqual(await figures(), f1, 'a duplicate is not counted again');
  // without a plan: the same China day
  r = await sample(staff1, { id_number: p.id_number, barcode: 'DUP-0003' });
  assert.equal(r.body.duplicate, false, 'the first without a plan today');
  r = await sample(staff1, { id_number: p.id_number, barcode: 'DUP-0004' });
  assert.equal(r.body.duplicate, true);
  r = await cc.get('/api/v1/nat/samples?duplicate=1');
  assert.equal(r.status, 200);
  assert.equal(r.body.items.filter((x) => x.person_id === p.id).length, 2);
});

test('the early close of a pooled tube; a closed tube is refused as used', async () => {
  const a = await person('早封甲');
  const b = await person('早封乙');
  const c = await person('早封丙');
  assert.equal((await sample(staff1, { id_number: a.id_number, barcode: 'P5-EARLY', tube_kind: 'pool5' })).status, 201);
  const r0 = await sample(staff1, { id_number: b.id_number, barcode: 'P5-EARLY', tube_kind: 'pool5' });
  assert.equal(r0.body.filled, 2);
  assert.equal(r0.body.size, 5);
  expectError(await staff2.post('/api/v1/nat/tubes/P5-EARLY/close'), 404, 'not_found');
  let r = await staff1.post('/api/v1/nat/tubes/P5-EARLY/close');
  assert.equal(r.status, 200, r.text);
  assert.equal(r.body.state, 'closed');
  assert.equal(r.body.filled, 2);
  assert.equal(r.body.closed_early, true);
  const before = counts();
  expectError(await sample(staff1, { id_number: c.id_number, barcode: 'P5-EARLY', tube_kind: 'pool5' }), 409, 'tube_used', 'barcode');
  expectError(await staff1.post('/api/v1/nat/tubes/P5-EARLY/close'), 409, 'tube_closed');
  assert.equal(counts(), before);
  expectError(await staff1.post('/api/v1/nat/tubes/NO-SUCH-TUBE/close'), 404, 'not_found');
  const audit = await auditEntries(auditor, 'nat.tube.close');
  assert.ok(audit.some((x) => x.detail === 'filled=2/5'), JSON.stringify(audit));
});

test('three phones race for the last place of a pooled tube: exactly one wins, the others are told it is full', async () => {
  const people = [];
  for (let i = 0; i < 7; i++) people.push(await person(`抢位${i}号`));
  for (let i = 0; i < 4; i++) assert.equal((await sample(staff1, { id_number: people[i].id_number, barcode: 'RACE-P5', tube_kind: 'pool5' })).status, 201);
  const before = counts().split('|').map(Number);
  const rs = await Promise.all(people.slice(4).map((p) => sample(staff1, { id_number: p.id_number, barcode: 'RACE-P5', tube_kind: 'pool5' })));
  assert.deepEqual(rs.map((r) => r.status).sort(), [201, 409, 409], rs.map((r) => r.text).join('\n'));
  for (const r of rs.filter((x) => x.status === 409)) expectError(r, 409, 'tube_full', 'barcode');
  const won = rs.find((r) => r.status === 201).body;
  assert.equal(won.filled, 5);
  assert.equal(won.tube_closed, true);
  const after = counts().split('|').map(Number);
  assert.deepEqual(after, [before[0] + 1, before[1], before[2] + 1, before[3], before[4] + 1, before[5] + 1], 'one sample written');
  assert.equal(one("SELECT filled || '/' || size || ' ' || state FROM nat_tubes WHERE barcode = 'RACE-P5'"), '5/5 closed');
});

test('three phones sample one person at once in a plan: one first sample, two duplicates, counted once', async () => {
  const p = await person('同时采样');
  const f0 = await figures();
  const rs = await Promise.all(['RACE-S1', 'RACE-S2', 'RACE-S3'].map((barcode) => sample(staff1, { id_number: p.id_number, barcode, plan_id: plan.id })));
  assert.deepEqual(rs.map((r) => r.status), [201, 201, 201], rs.map((r) => r.text).join('\n'));
  assert.deepEqual(rs.map((r) => r.body.duplicate).sort(), [false, true, true]);
  const f = await figures();
  assert.equal(f['东华门街道/居民'] - (f0['东华门街道/居民'] ?? 0), 1);
  assert.equal(one(`SELECT COUNT(*), SUM(duplicate) FROM nat_samples WHERE person_id = ${p.id}`), '3|2');
});

test('every refusal changes nothing: not clocked in, bad barcode, another site\'s tube, unknown person, bad code, plan', async () => {
  const p = await person('拒绝测试');
  const q = await person('景山居民', S2_C1);
  assert.equal((await sample(staff2, { id_number: q.id_number, barcode: 'JS-P10-01', tube_kind: 'pool10' })).status, 201);
  const before = counts();
  expectError(await sample(staff1b, { id_number: p.id_number, barcode: 'NEW-00001' }), 409, 'not_clocked_in');
  for (const barcode of ['ABC12', 'x'.repeat(33), 'ABC 123', '条码123456', 'AB_1234'])
    expectError(await sample(staff1, { id_number: p.id_number, barcode }), 400, 'invalid_barcode', 'barcode');
  expectError(await sample(staff1, { id_number: p.id_number }), 400, 'required', 'barcode');
  expectError(await sample(staff1, { id_number: p.id_number, barcode: 'JS-P10-01', tube_kind: 'pool10' }), 409, 'tube_used', 'barcode');
  expectError(await sample(staff1, { id_number: residentId('110101', '19700101', 998), barcode: 'NEW-00001' }), 404, 'unknown_person', 'id_number');
  const bad = await sample(staff1, { id_number: '12345', barcode: 'NEW-00001' });
  assert.equal(bad.status, 400, bad.text);
  assert.equal(bad.body.error.field, 'id_number');
  expectError(await sample(staff1, { code: 'FK1.NOTATOKEN', barcode: 'NEW-00001' }), 404, 'unknown_person', 'code');
  expectError(await sample(staff1, { barcode: 'NEW-00001' }), 400, 'required', 'code');
  expectError(await sample(staff1, { code: 'FK1.X', id_number: p.id_number, barcode: 'NEW-00001' }), 400, 'required');
  expectError(await sample(staff1, { id_number: p.id_number, barcode: 'NEW-00001', tube_kind: 'pool7' }), 400, 'invalid_value', 'tube_kind');
  // the body's types and sizes, checked before anything is read
  for (const [body, f] of [
    [{ id_number: p.id_number, barcode: 12345678 }, 'barcode'],
    [{ id_number: p.id_number, barcode: 'X'.repeat(65) }, 'barcode'],
    [{ id_number: p.id_number, barcode: 'NEW-00001', id_type: 'alien' }, 'id_type'],
    [{ code: 'F'.repeat(201), barcode: 'NEW-00001' }, 'code'],
    [{ id_number: 110101, barcode: 'NEW-00001' }, 'id_number'],
    [{ id_number: p.id_number, barcode: 'NEW-00001', plan_id: 7 }, 'plan_id'],
  ]) {
    const r = await sample(staff1, body);
    assert.equal(r.status, 400, `${JSON.stringify(body)}: ${r.text}`);
    assert.equal(r.body.error.field, f, r.text);
  }
  const raw = await staff1.req('POST', '/api/v1/nat/samples', '{"barcode":', { 'content-type': 'application/json' });
  assert.equal(raw.status, 400, raw.text);
  // the lists' parameters
  expectError(await cc.get('/api/v1/nat/samples?site_id=abc'), 400, 'invalid_parameter', 'site_id');
  expectError(await cc.get('/api/v1/nat/samples?duplicate=2'), 400, 'invalid_parameter', 'duplicate');
  expectError(await cc.get('/api/v1/nat/tubes?state=lost'), 400, 'invalid_parameter', 'state');
  assert.equal((await cc.get('/api/v1/nat/scans?from=abc')).status, 400);
  expectError(await cc.get('/api/v1/nat/samples?barcode=NO-SUCH-TUBE'), 404, 'unknown_tube', 'barcode');
  expectError(await cc.get('/api/v1/nat/tubes/NO-SUCH-TUBE'), 404, 'not_found');
  expectError(await sample(staff1, { id_number: p.id_number, barcode: 'NEW-00001', plan_id: '99999' }), 404, 'unknown_plan', 'plan_id');
  expectError(await sample(staff1, { id_number: p.id_number, barcode: 'NEW-00001', plan_id: 'abc' }), 400, 'invalid_value', 'plan_id');
  // a tube opened for no plan takes no plan's sample
  expectError(await sample(staff1, { id_number: p.id_number, barcode: 'SG-000001', plan_id: plan.id }), 409, 'tube_full', 'barcode');
  const open = await sample(staff1, { id_number: p.id_number, barcode: 'P20-NOPLAN', tube_kind: 'pool20' });
  assert.equal(open.status, 201);
  const mid = counts();
  expectError(await sample(staff1, { id_number: q.id_number, barcode: 'P20-NOPLAN', tube_kind: 'pool20', plan_id: plan.id }), 409, 'tube_plan_mismatch', 'plan_id');
  assert.equal(counts(), mid);
  // a plan not running
  const now = Date.now();
  const later = (await cc.post('/api/v1/nat/plans', { number: 'S-2024-9', name: '下一轮', starts_at: now + 5 * H, ends_at: now + 9 * H })).body;
  expectError(await sample(staff1, { id_number: p.id_number, barcode: 'NEW-00002', plan_id: later.id }), 409, 'plan_not_running', 'plan_id');
  // a Xicheng plan does not cover a Dongcheng site
  const west = (await ccXc.post('/api/v1/nat/plans', { number: 'XC-2024-1', name: '西城全员', starts_at: now - H, ends_at: now + H })).body;
  expectError(await sample(staff1, { id_number: p.id_number, barcode: 'NEW-00002', plan_id: west.id }), 404, 'unknown_plan', 'plan_id');
  // permissions: a street worker reads, never samples
  assert.equal((await street1.post('/api/v1/nat/samples', { id_number: p.id_number, barcode: 'NEW-00003' })).status, 403);
  const after = counts().split('|').map(Number);
  const b = before.split('|').map(Number);
  assert.deepEqual(after, [b[0] + 1, b[1] + 1, b[2] + 1, b[3], b[4] + 1, b[5] + 1], 'only the one accepted sample');
  const refusals = await auditEntries(auditor, 'nat.sample');
  assert.ok(refusals.some((x) => x.result !== 'ok'), 'refusals are audited');
});

test('a health code scanned (the checkpoint\'s token) names the resident', async () => {
  const c = ctx.client();
  const phone = '13900001234';
  await c.post('/api/v1/auth/sms/send', { phone });
  assert.equal((await c.post('/api/v1/auth/sms/login', { phone, code: smsCode(ctx, phone) })).status, 200);
  await c.post('/api/v1/me/consent', { version: 'v1' });
  let r = await c.post('/api/v1/me/person', { name: '扫码居民', id_number: rid(), region_code: S2_C1, address: '景山1号' });
  assert.equal(r.status, 201, r.text);
  const pid = r.body.person.id;
  const { token } = (await c.get('/api/v1/me/code/token')).body;
  const f0 = await figures();
  r = await sample(staff1, { code: token, barcode: 'CODE-0001', plan_id: plan.id });
  assert.equal(r.status, 201, r.text);
  assert.equal(r.body.person_id, pid);
  assert.equal(r.body.name, '扫**民');
  // counted in the person's street (景山), though sampled at a 东华门 site
  const f = await figures();
  assert.equal((f['景山街道/居民'] ?? 0) - (f0['景山街道/居民'] ?? 0), 1);
  r = await cc.get(`/api/v1/nat/samples?person_id=${pid}`);
  assert.equal(r.body.items[0].method, 'code');
});

test('a visitor code names the visitor: masked, counted in the site\'s street, warned the second time; a cancelled booking\'s code refused', async () => {
  const host = ctx.client();
  const phone = '13900005678';
  await host.post('/api/v1/auth/sms/send', { phone });
  assert.equal((await host.post('/api/v1/auth/sms/login', { phone, code: smsCode(ctx, phone) })).status, 200);
  await host.post('/api/v1/me/consent', { version: 'v1' });
  let r = await host.post('/api/v1/me/person', { name: '接待居民', id_number: rid(), region_code: S1_C1, address: '多福巷2号' });
  assert.equal(r.status, 201, r.text);
  // the community saw the document (a self-registration hosts nobody before)
  assert.equal((await cc.post(`/api/v1/persons/${r.body.person.id}/verify`, { document_checked: true })).status, 200);
  r = await host.post('/api/v1/me/visitors', {
    name: '赵访客', id_type: 'resident_id', id_number: residentId('110102', '19920315', 7), phone: '13912345678',
    purpose: '探亲', valid_from: Date.now() - H, valid_to: Date.now() + 4 * H,
  });
  assert.equal(r.status, 201, r.text);
  const v = r.body;
  assert.equal((await cc.post(`/api/v1/visitors/${v.id}/confirm`, {})).status, 200);
  const { token } = (await host.get(`/api/v1/visitors/${v.id}/code`)).body;
  const f0 = await figures();
  r = await sample(staff2, { code: token, barcode: 'VIS-00001', tube_kind: 'pool5', plan_id: plan.id });
  assert.equal(r.status, 201, r.text);
  assert.equal(r.body.visitor, true);
  assert.equal(r.body.person_id, null);
  assert.equal(r.body.name, '赵*客');
  assert.equal(r.body.duplicate, false);
  // a visitor has no registry street: the site's (景山), residents' row only
  let f = await figures();
  assert.equal((f['景山街道/居民'] ?? 0) - (f0['景山街道/居民'] ?? 0), 1);
  r = await sample(staff2, { code: token, barcode: 'VIS-00001', tube_kind: 'pool5', plan_id: plan.id });
  assert.equal(r.status, 201, r.text);
  assert.equal(r.body.duplicate, true);
  assert.deepEqual(await figures(), f, 'counted once');
  r = await street2.get('/api/v1/nat/samples?barcode=VIS-00001');
  assert.equal(r.body.total, 2);
  assert.ok(r.body.items.every((x) => x.visitor && x.name === '赵*客' && x.method === 'visitor'), JSON.stringify(r.body.items));
  // the booking cancelled: its code is void, refused, nothing written
  assert.equal((await host.del(`/api/v1/me/visitors/${v.id}`)).status, 204);
  const before = counts();
  expectError(await sample(staff2, { code: token, barcode: 'VIS-00001', plan_id: plan.id }), 400, 'visitor_code_revoked', 'code');
  assert.equal(counts(), before);
});

test('scope: another street\'s site\'s samples and tubes answer 404 or are not listed', async () => {
  let r = await street2.get('/api/v1/nat/tubes/PL10-0001');
  expectError(r, 404, 'not_found');
  expectError(await ccXc.get('/api/v1/nat/tubes/PL10-0001'), 404, 'not_found');
  r = await street2.get('/api/v1/nat/samples?page_size=100');
  assert.equal(r.status, 200, r.text);
  assert.ok(r.body.items.length > 0);
  assert.ok(r.body.items.every((x) => x.site_name === '景山核酸点'), JSON.stringify(r.body.items));
  r = await street2.get('/api/v1/nat/tubes?page_size=100');
  assert.ok(r.body.items.every((x) => x.site_name === '景山核酸点'));
  r = await street2.get('/api/v1/nat/scans');
  assert.ok(r.body.items.every((x) => x.site_name === '景山核酸点'));
  expectError(await street2.get(`/api/v1/nat/samples?region_code=${S1}`), 400, 'invalid_region', 'region_code');
  expectError(await street2.get('/api/v1/nat/samples?barcode=PL10-0001'), 404, 'unknown_tube', 'barcode');
  r = await street1.get('/api/v1/nat/samples?barcode=PL10-0001');
  assert.equal(r.body.total, 10);
  assert.equal((await ccXc.get('/api/v1/nat/samples')).body.total, 0);
});

test('names masked; a reveal needs person.reveal and is audited; export', async () => {
  let r = await street1.get('/api/v1/nat/samples?barcode=SG-000001');
  assert.equal(r.body.items[0].name, '张*丰');
  expectError(await street1.get('/api/v1/nat/samples?reveal=1'), 403, 'reveal_forbidden', 'reveal');
  r = await cc.get('/api/v1/nat/samples?barcode=SG-000001&reveal=1');
  assert.equal(r.status, 200, r.text);
  assert.equal(r.body.items[0].name, '张三丰');
  const audit = await auditEntries(auditor, 'person.reveal');
  assert.ok(audit.some((a) => a.object_type === 'nat_sample' && a.detail === 'view=nat_samples count=1'), JSON.stringify(audit));
  r = await cc.get('/api/v1/nat/tubes/SG-000001?reveal=1');
  assert.equal(r.body.samples[0].name, '张三丰');
  r = await cc.get('/api/v1/nat/samples?format=csv&barcode=PL10-0001');
  assert.equal(r.status, 200, r.text);
  assert.match(r.text, /姓名,试管条码/);
  assert.match(r.text, /混\*/);
  assert.doesNotMatch(r.text, /混采0号/);
  r = await cc.get('/api/v1/nat/tubes?format=csv');
  assert.match(r.text, /PL10-0001,10:1混采,10\/10/);
  r = await cc.get('/api/v1/nat/scans?format=csv');
  assert.match(r.text, /多福巷核酸点/);
});

test('a site closed while staff are on duty refuses sampling', async () => {
  const p = await person('关闭点位');
  let r = await cc.patch(`/api/v1/nat/sites/${siteB.id}`, { state: 'closed' });
  assert.equal(r.status, 200, r.text);
  const before = counts();
  expectError(await sample(staff2, { id_number: p.id_number, barcode: 'CLOSED-01' }), 409, 'site_closed');
  assert.equal(counts(), before);
});

test('the workbench counts today\'s samples in scope (今日采样人次); tube states are a vocabulary', async () => {
  const today = async (c) => (await c.get('/api/v1/workbench')).body.entries.find((e) => e.key === 'nat_samples_today');
  const start = Date.now() - (((Date.now() + 8 * H) % (24 * H)));
  const inS1 = Number(one(`SELECT COUNT(*) FROM nat_samples WHERE region_code >= ${S1}000000 AND region_code < 110101002000000000 AND at >= ${start}`));
  assert.ok(inS1 > 10);
  const w = await today(street1);
  assert.equal(w.count, inS1);
  assert.equal(w.console, '/nat/samples');
  assert.equal((await today(street2)).count, Number(one(`SELECT COUNT(*) FROM nat_samples WHERE region_code >= ${S2}000000 AND region_code < 110101003000000000 AND at >= ${start}`)));
  const v = (await cc.get('/api/v1/vocabularies')).body;
  assert.deepEqual(v.nat_tube_kinds.items.map((k) => k.value), ['single', 'pool5', 'pool10', 'pool20']);
  assert.deepEqual(v.nat_tube_states.items.map((k) => k.label), ['采样中', '已封管', '已装箱', '转运中', '已签收', '已出结果']);
});
