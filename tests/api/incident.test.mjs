// Reports (疫情上报), routing and home verification (issue 9; docs/cases.md
// "Reports and routing"): every source's route, a resident's report of a
// neighbour through the grid worker's verification to the observation list,
// false reports, hospital transfers, the checkpoint one-tap, the inbox and
// my reports, routing rules, bad input and scope.
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { startCityWith, CITY_STAFF, residentId, smsCode, expectError, errOf, auditEntries, sqlRun } from './lib.mjs';

const PW = 'Incident-test-2024!';
const COMMUNITY = '110101001001';
const GRID = '110101001001001';
const BUILDING = '110101001001001001';
const XC_C1 = '110102001001';
const PNG = Buffer.from(
  'iVBORw0KGgoAAAANSUhEUgAAAAEAAAABCAYAAAAfFcSJAAAADUlEQVR42mNk+M9QDwADhgGAWjR9awAAAABJRU5ErkJggg==',
  'base64',
);
let ctx, cc, ccWest, grid, gridOther, gate, gateWest, doctor, ent, auditor;
let gateVenue, westVenue;
let seq = 0;
const rid = () => residentId('110101', '19800808', 400 + ++seq * 2);
let phoneSeq = 0;
const newPhone = () => '1392000' + String(1000 + ++phoneSeq).padStart(4, '0');

async function resident({ register = false, region = COMMUNITY, verifier = null } = {}) {
  const c = ctx.client();
  const phone = newPhone();
  await c.post('/api/v1/auth/sms/send', { phone });
  let r = await c.post('/api/v1/auth/sms/login', { phone, code: smsCode(ctx, phone) });
  assert.equal(r.status, 200, r.text);
  c.id = r.body.id;
  r = await c.post('/api/v1/me/consent', { version: 'v1' });
  assert.equal(r.status, 200, r.text);
  if (register) {
    r = await c.post('/api/v1/me/person', { name: '上报人', id_number: rid(), region_code: region, address: '多福巷9号' });
    assert.equal(r.status, 201, r.text);
    c.personId = r.body.person.id;
    r = await (verifier || cc).post(`/api/v1/persons/${c.personId}/verify`, { document_checked: true });
    assert.equal(r.status, 200, r.text);
  }
  return c;
}

async function person(name = '王五', region = COMMUNITY) {
  const r = await cc.post('/api/v1/persons', { name, id_number: rid(), region_code: region, phone: newPhone() });
  assert.equal(r.status, 201, r.text);
  return r.body;
}

async function upload(c) {
  const r = await c.post('/api/v1/attachments', PNG, { 'content-type': 'image/png' });
  assert.equal(r.status, 201, r.text);
  return r.body.id;
}

const detail = async (id, as = cc) => {
  const r = await as.get(`/api/v1/incidents/${id}`);
  assert.equal(r.status, 200, r.text);
  return r.body;
};
const count = (table) => Number(sqlRun(ctx, `SELECT COUNT(*) FROM ${table}`).trim());
const colour = async (pid) => (await cc.get(`/api/v1/persons/${pid}/code`)).body.colour;

async function acceptedTask(incidentId, worker = grid) {
  const d = await detail(incidentId);
  assert.ok(d.task_id, JSON.stringify(d));
  const mine = await worker.get('/api/v1/me/tasks');
  assert.equal(mine.status, 200, mine.text);
  assert.ok(mine.body.items.some((t) => t.id === d.task_id && t.kind === 'verify'), mine.text);
  const r = await worker.post(`/api/v1/tasks/${d.task_id}/accept`);
  assert.equal(r.status, 200, r.text);
  return d.task_id;
}

// A 400 (or other refusal) naming the field, whatever its code.
function refused(r, status, code, field) {
  if (code) return expectError(r, status, code, field);
  assert.equal(r.status, status, r.text);
  assert.equal(errOf(r).field, field, r.text);
  assert.match(errOf(r).message, /[\u4e00-\u9fff]/);
}

const complete = (taskId, result, worker = grid) => worker.post(`/api/v1/tasks/${taskId}/complete`, { result });

before(async () => {
  ctx = await startCityWith(
    {
      ...CITY_STAFF,
      grid_other: ['grid_worker', '110101002001'],
      gate_xc: ['checkpoint_staff', '110102000000'],
      ent: ['enterprise', COMMUNITY],
    },
    PW,
    { env: { FK_REPORTS_PER_HOUR: '6' } },
  );
  ({ cc_dc: cc, cc_xc: ccWest, grid_dc: grid, grid_other: gridOther, gate_dc: gate, gate_xc: gateWest, doctor_dc: doctor, ent, auditor } = ctx.as);
  let r = await cc.post('/api/v1/places', { name: '多福巷小区', kind: 'community', region_code: COMMUNITY });
  assert.equal(r.status, 201, r.text);
  r = await cc.post('/api/v1/venues', { name: '多福巷小区东门', kind: 'community_gate', place_id: r.body.id });
  assert.equal(r.status, 201, r.text);
  gateVenue = r.body;
  r = await ccWest.post('/api/v1/places', { name: '府右街小区', kind: 'community', region_code: XC_C1 });
  r = await ccWest.post('/api/v1/venues', { name: '府右街小区北门', kind: 'community_gate', place_id: r.body.id });
  assert.equal(r.status, 201, r.text);
  westVenue = r.body;
});

after(async () => {
  await ctx?.stop();
});

test('a resident reports a neighbour with a photo; the grid worker verifies; confirmed puts them on the observation list', async () => {
  const res = await resident();
  const att = await upload(res);
  const neighbourId = rid();
  let r = await res.post('/api/v1/me/reports', {
    about: 'other', category: 'symptoms', name: '李邻居', phone: '13912345678', region_code: BUILDING,
    address: '多福巷1号楼301室', symptoms: ['cough', 'fatigue'], temperature: 37.1,
    description: '连续咳嗽三天', lat: 39.915, lng: 116.404, attachments: [att],
  });
  assert.equal(r.status, 201, r.text);
  assert.equal(r.body.state, 'verifying');
  const id = r.body.id;

  // the inbox: masked, region names, labels, position, attachment count
  r = await cc.get('/api/v1/incidents?source=resident&state=verifying');
  assert.equal(r.status, 200, r.text);
  const item = r.body.items.find((x) => x.id === id);
  assert.ok(item, r.text);
  assert.equal(item.name, '李*居');
  assert.equal(item.phone, '139****5678');
  assert.equal(item.region_code, BUILDING);
  assert.equal(item.region_name, '1号楼');
  assert.equal(item.source_label, '市民上报');
  assert.equal(item.category_label, '疑似症状');
  assert.equal(item.state_label, '核实中');
  assert.equal(item.attachment_count, 1);
  assert.equal(item.lat, 39.915);
  assert.deepEqual(item.symptoms, ['cough', 'fatigue']);
  assert.ok(!r.text.includes('李邻居') && !r.text.includes('13912345678'));
  // the exact name finds it (blind index); another name does not
  r = await cc.get(`/api/v1/incidents?q=${encodeURIComponent('李邻居')}`);
  assert.deepEqual(r.body.items.map((x) => x.id), [id]);
  r = await cc.get(`/api/v1/incidents?q=${encodeURIComponent('李邻')}`);
  assert.equal(r.body.total, 0);

  // the detail: the task for the grid's workers, the attachment, the timeline
  let d = await detail(id);
  assert.equal(d.task.state, 'pending');
  assert.equal(d.task.priority, 'high');
  assert.equal(d.attachments.length, 1);
  assert.equal(d.attachments[0].id, att);
  assert.deepEqual(d.timeline.map((x) => x.action), ['reported', 'routed', 'task_created']);
  assert.equal(d.timeline.find((x) => x.action === 'task_created').detail.grid, GRID);
  assert.equal(d.timeline.find((x) => x.action === 'task_created').actor, '系统规则');
  assert.equal(d.timeline[0].action_label, '事件上报');
  const reveal = await cc.get(`/api/v1/incidents/${id}?reveal=1`);
  assert.equal(reveal.body.name, '李邻居');
  assert.equal(reveal.body.description, '连续咳嗽三天');
  await auditEntries(auditor, 'incident.reveal', id);
  assert.equal((await grid.get(`/api/v1/incidents/${id}?reveal=1`)).status, 403);

  // a worker of another grid neither sees nor completes it
  const other = await gridOther.get('/api/v1/me/tasks');
  assert.ok(!other.body.items.some((t) => t.id === d.task_id), other.text);
  const taskId = await acceptedTask(id);
  expectError(await complete(taskId, { outcome: 'confirmed', name: '李邻居', id_number: neighbourId }, gridOther), 404, 'not_found');

  // bad results: 400 with the field, nothing written, the task stays accepted
  const persons = count('persons');
  expectError(await complete(taskId, { reason: '看过了' }), 400, 'required', 'outcome');
  expectError(await complete(taskId, { outcome: 'maybe' }), 400, 'invalid_value', 'outcome');
  // the name came with the report; the id number must come from the visit
  expectError(await complete(taskId, { outcome: 'confirmed' }), 400, 'required', 'id_number');
  refused(await complete(taskId, { outcome: 'confirmed', name: '李邻居', id_number: '110101198008080001' }), 400, null, 'id_number');
  expectError(await complete(taskId, { outcome: 'confirmed', name: '李邻居', id_number: neighbourId, color: 'red' }), 400, 'unknown_field', 'color');
  assert.equal(count('persons'), persons);
  d = await detail(id);
  assert.equal(d.state, 'verifying');
  assert.equal(d.task.state, 'accepted');

  // confirmed: registered, observed, the code follows
  r = await complete(taskId, { outcome: 'confirmed', name: '李邻居', id_type: 'resident_id', id_number: neighbourId, gender: 'male', kind: 'home_isolation' });
  assert.equal(r.status, 200, r.text);
  d = await detail(id);
  assert.equal(d.state, 'observed');
  assert.equal(d.outcome, 'confirmed');
  assert.ok(d.person_id && d.observation_id, JSON.stringify(d));
  assert.equal(d.task.state, 'done');
  assert.deepEqual(d.timeline.map((x) => x.action).filter((a) => ['verified', 'registered', 'observed'].includes(a)), ['verified', 'registered', 'observed']);
  const verified = d.timeline.find((x) => x.action === 'verified');
  assert.equal(verified.actor, (await grid.get('/api/v1/me')).body.display_name || verified.actor);
  assert.notEqual(verified.actor, '系统规则');
  assert.equal(d.timeline.find((x) => x.action === 'registered').action_label, '登记人员');
  const found = await cc.get(`/api/v1/persons?id_number=${neighbourId}`);
  assert.equal(found.body.items[0].id, d.person_id);
  assert.notEqual(await colour(d.person_id), 'green');
  // the person's own timeline tells the report and the visit, written before they were known
  const tl = await cc.get(`/api/v1/persons/${d.person_id}/timeline?page_size=100`);
  assert.equal(tl.status, 200, tl.text);
  assert.deepEqual(tl.body.items.map((x) => x.action).reverse().filter((a) => ['reported', 'verified', 'registered', 'observed'].includes(a)),
    ['reported', 'verified', 'registered', 'observed'], tl.text);

  // the reporter follows it, and sees nothing they did not enter
  r = await res.get('/api/v1/me/reports');
  assert.equal(r.status, 200, r.text);
  assert.equal(r.body.items.length, 1);
  assert.equal(r.body.items[0].state, 'observed');
  assert.equal(r.body.items[0].outcome_label, '属实');
  assert.ok(!('person_id' in r.body.items[0]) && !('id_number' in r.body.items[0]), r.text);
  r = await res.get(`/api/v1/me/reports/${id}`);
  assert.equal(r.status, 200, r.text);
  assert.equal(r.body.attachments.length, 1);
});

test('a resident about themself with a fever: an urgent verification for their grid', async () => {
  const res = await resident({ register: true });
  const r = await res.post('/api/v1/me/reports', { about: 'self', category: 'fever', symptoms: ['fever'], temperature: 38.5 });
  assert.equal(r.status, 201, r.text);
  const d = await detail(r.body.id);
  assert.equal(d.person_id, res.personId);
  assert.equal(d.region_code, COMMUNITY);
  assert.equal(d.about_self, true);
  assert.equal(d.task.priority, 'urgent');
  // unbound residents cannot report about themself
  const fresh = await resident();
  expectError(await fresh.post('/api/v1/me/reports', { about: 'self', category: 'fever' }), 400, 'not_bound', 'about');
});

test('a false report closes with its reason', async () => {
  const res = await resident();
  let r = await res.post('/api/v1/me/reports', { about: 'other', category: 'risk_area', name: '赵某', region_code: COMMUNITY });
  assert.equal(r.status, 201, r.text);
  const id = r.body.id;
  const taskId = await acceptedTask(id);
  expectError(await complete(taskId, { outcome: 'false_report' }), 400, 'required', 'reason');
  r = await complete(taskId, { outcome: 'false_report', reason: '查无此人' });
  assert.equal(r.status, 200, r.text);
  const d = await detail(id);
  assert.equal(d.state, 'closed');
  assert.equal(d.outcome, 'false_report');
  assert.equal(d.close_reason, '查无此人');
  assert.equal(d.person_id, null);
});

test('abnormal symptoms at the door: transferred to the designated hospital', async () => {
  const p = await person('钱六');
  let r = await doctor.post('/api/v1/reports', { source: 'doctor', category: 'symptoms', person_id: p.id, symptoms: ['shortness_of_breath'] });
  assert.equal(r.status, 201, r.text);
  assert.equal(r.body.state, 'verifying');
  const id = r.body.id;
  const taskId = await acceptedTask(id);
  expectError(await complete(taskId, { outcome: 'abnormal' }), 400, 'required', 'hospital');
  r = await complete(taskId, { outcome: 'abnormal', hospital: '地坛医院', handover: '急救中心张医生' });
  assert.equal(r.status, 200, r.text);
  const d = await detail(id);
  assert.equal(d.state, 'transferred');
  assert.equal(d.outcome, 'abnormal');
  assert.ok(d.observation_id, JSON.stringify(d));
});

test('every staff source routes by its rule: patrol observes, the others verify', async () => {
  const want = { grid_patrol: 'observed', canvass: 'verifying', doctor: 'verifying', cdc: 'verifying', enterprise: 'verifying', contact: 'verifying' };
  for (const [source, state] of Object.entries(want)) {
    const p = await person(`来源${source.length}`);
    const r = await cc.post('/api/v1/reports', { source, category: 'contact', person_id: p.id });
    assert.equal(r.status, 201, `${source}: ${r.text}`);
    assert.equal(r.body.state, state, source);
    const d = await detail(r.body.id);
    assert.equal(d.source, source);
    if (state === 'observed') {
      assert.ok(d.observation_id, JSON.stringify(d));
      assert.equal(d.task, null);
      assert.notEqual(await colour(p.id), 'green');
    } else {
      assert.equal(d.task.state, 'pending');
    }
  }
  // a patrol report of someone not registered yet registers them first
  const idn = rid();
  const before = count('persons');
  expectError(await grid.post('/api/v1/reports', { source: 'grid_patrol', category: 'risk_area', name: '孙七', region_code: COMMUNITY }), 400, 'subject_required', 'id_type');
  assert.equal(count('persons'), before);
  const r = await grid.post('/api/v1/reports', { source: 'grid_patrol', category: 'risk_area', name: '孙七', id_type: 'resident_id', id_number: idn, phone: newPhone(), region_code: COMMUNITY, address: '多福巷7号' });
  assert.equal(r.status, 201, r.text);
  assert.equal(r.body.state, 'observed');
  const found = await cc.get(`/api/v1/persons?id_number=${idn}`);
  assert.equal(found.body.items.length, 1);
  // the same person again: already on the list
  expectError(await grid.post('/api/v1/reports', { source: 'grid_patrol', category: 'risk_area', person_id: found.body.items[0].id }), 409, 'already_observed');
});

test('checkpoint one-tap from a refused scan; passed scans and other regions are refused', async () => {
  const res = await resident({ register: true });
  const token = async () => (await res.get('/api/v1/me/code/token')).body.token;
  let s = await gate.post('/api/v1/scans', { venue_id: gateVenue.id, token: await token(), direction: 'in', temperature: 36.5 });
  assert.equal(s.status, 201, s.text);
  assert.equal(s.body.verdict, 'pass');
  expectError(await gate.post('/api/v1/reports', { source: 'checkpoint', category: 'fever', access_id: s.body.record_id }), 400, 'access_not_reportable', 'access_id');
  s = await gate.post('/api/v1/scans', { venue_id: gateVenue.id, token: await token(), direction: 'in', temperature: 38.4 });
  assert.equal(s.body.verdict, 'deny', s.text);
  expectError(await gate.post('/api/v1/reports', { source: 'checkpoint', category: 'fever' }), 400, 'required', 'access_id');
  // another district's checkpoint cannot report this gate's record
  expectError(await gateWest.post('/api/v1/reports', { source: 'checkpoint', category: 'fever', access_id: s.body.record_id }), 404, 'unknown_access', 'access_id');
  let r = await gate.post('/api/v1/reports', { source: 'checkpoint', category: 'fever', access_id: s.body.record_id });
  assert.equal(r.status, 201, r.text);
  assert.equal(r.body.state, 'observed');
  const d = await detail(r.body.id);
  assert.equal(d.person_id, res.personId);
  assert.equal(d.venue_id, gateVenue.id);
  assert.equal(d.access_id, s.body.record_id);
  assert.equal(d.temperature, 38.4);
  assert.ok(d.symptoms.includes('fever'));
  expectError(await gate.post('/api/v1/reports', { source: 'checkpoint', category: 'fever', access_id: s.body.record_id }), 409, 'already_reported');
});

test('checkpoint one-tap of a visitor from another district: filed and observed at their residence', async () => {
  const visitor = await resident({ register: true, region: XC_C1, verifier: ccWest });
  const token = (await visitor.get('/api/v1/me/code/token')).body.token;
  const s = await gate.post('/api/v1/scans', { venue_id: gateVenue.id, token, direction: 'in', temperature: 38.9 });
  assert.equal(s.body.verdict, 'deny', s.text);
  const r = await gate.post('/api/v1/reports', { source: 'checkpoint', category: 'fever', access_id: s.body.record_id });
  assert.equal(r.status, 201, r.text);
  assert.equal(r.body.state, 'observed');
  // the reporter's district does not hold it; the residence's does
  assert.equal((await gate.get(`/api/v1/incidents/${r.body.id}`)).status, 403); // no case.read
  expectError(await cc.get(`/api/v1/incidents/${r.body.id}`), 404, 'not_found');
  const d = await detail(r.body.id, ccWest);
  assert.equal(d.region_code, XC_C1);
  assert.equal(d.person_id, visitor.personId);
  assert.equal(d.venue_id, gateVenue.id);
  assert.ok(d.observation_id, JSON.stringify(d));
});

test('bad input is refused with the field and changes nothing', async () => {
  const res = await resident();
  const stranger = await resident();
  const foreign = await upload(stranger);
  const base = { about: 'other', category: 'symptoms', name: '周八', region_code: COMMUNITY };
  const before = count('incidents');
  const cases = [
    [{ ...base, temperature: 43.5 }, 'out_of_range', 'temperature'],
    [{ ...base, temperature: 33.9 }, 'out_of_range', 'temperature'],
    [{ ...base, category: 'gossip' }, undefined, 'category'],
    [{ ...base, symptoms: ['sneezing'] }, 'invalid_value', 'symptoms'],
    [{ ...base, phone: '12345' }, undefined, 'phone'],
    [{ ...base, description: '长'.repeat(501) }, undefined, 'description'],
    [{ ...base, lat: 39.9 }, 'required', 'lng'],
    [{ ...base, attachments: [foreign] }, 'invalid_attachment', 'attachments[0]'],
    [{ ...base, region_code: '990000000000' }, 'invalid_region', 'region_code'],
    [{ ...base, mood: 'bad' }, undefined, 'mood'],
    [{ about: 'other', category: 'symptoms', region_code: COMMUNITY }, 'required', 'name'],
  ];
  for (const [body, code, field] of cases) {
    const r = await res.post('/api/v1/me/reports', body);
    assert.equal(r.status, 400, `${JSON.stringify(body).slice(0, 80)}: ${r.text}`);
    if (code) assert.equal(errOf(r).code, code, r.text);
    assert.equal(errOf(r).field, field, r.text);
  }
  const staff = [
    [{ source: 'rumour', category: 'other', person_id: '1' }, 400, 'source'],
    [{ source: 'import', category: 'other', person_id: '1' }, 400, 'source'],
    [{ source: 'cdc', category: 'other', person_id: '123456' }, 404, 'person_id'],
    [{ source: 'enterprise', category: 'other', name: '吴九', region_code: COMMUNITY, id_number: '110101198008080001' }, 400, 'id_number'],
    [{ source: 'cdc', category: 'other', name: '吴九', region_code: COMMUNITY, access_id: '5' }, 400, 'access_id'],
  ];
  for (const [body, status, field] of staff) {
    const r = await cc.post('/api/v1/reports', body);
    assert.equal(r.status, status, `${JSON.stringify(body)}: ${r.text}`);
    assert.equal(errOf(r).field, field, r.text);
  }
  // no body at all, or not an object
  assert.equal((await res.post('/api/v1/me/reports')).status, 400);
  assert.equal((await res.post('/api/v1/me/reports', [])).status, 400);
  assert.equal((await cc.post('/api/v1/reports')).status, 400);
  // a person of another district is not found
  const west = await ccWest.post('/api/v1/persons', { name: '西城人', id_number: rid(), region_code: XC_C1 });
  assert.equal(west.status, 201, west.text);
  expectError(await cc.post('/api/v1/reports', { source: 'cdc', category: 'other', person_id: west.body.id }), 404, 'unknown_person', 'person_id');
  assert.equal(count('incidents'), before);
  // the refused upload is still the stranger's and unclaimed
  const meta = await stranger.get(`/api/v1/attachments/${foreign}/meta`);
  assert.equal(meta.body.claimed, false, meta.text);
  // residents may not use the staff route, staff without case.report may not either
  assert.equal((await res.post('/api/v1/reports', { source: 'cdc', category: 'other', name: '某', region_code: COMMUNITY })).status, 403);
});

test('scope: another district neither lists nor reads an incident', async () => {
  const p = await person('郑十');
  const r = await cc.post('/api/v1/reports', { source: 'cdc', category: 'contact', person_id: p.id });
  assert.equal(r.status, 201, r.text);
  expectError(await ccWest.get(`/api/v1/incidents/${r.body.id}`), 404, 'not_found');
  const list = await ccWest.get('/api/v1/incidents');
  assert.ok(!list.body.items.some((x) => x.id === r.body.id));
  expectError(await ccWest.post(`/api/v1/incidents/${r.body.id}/close`, { reason: '重复' }), 404, 'not_found');
});

test('my reports show only mine; someone else\'s report is 404', async () => {
  const a = await resident();
  const b = await resident();
  const ra = await a.post('/api/v1/me/reports', { about: 'other', category: 'other', name: '甲邻', region_code: COMMUNITY });
  const rb = await b.post('/api/v1/me/reports', { about: 'other', category: 'other', name: '乙邻', region_code: COMMUNITY });
  assert.equal(ra.status, 201, ra.text);
  assert.equal(rb.status, 201, rb.text);
  const la = await a.get('/api/v1/me/reports');
  assert.deepEqual(la.body.items.map((x) => x.id), [ra.body.id]);
  expectError(await a.get(`/api/v1/me/reports/${rb.body.id}`), 404, 'not_found');
  assert.equal((await a.get('/api/v1/incidents')).status, 403);
});

test('a resident\'s reports are rate-limited', async () => {
  const res = await resident();
  for (let i = 0; i < 6; i++) {
    const r = await res.post('/api/v1/me/reports', { about: 'other', category: 'other', name: '频繁', region_code: COMMUNITY });
    assert.equal(r.status, 201, r.text);
  }
  expectError(await res.post('/api/v1/me/reports', { about: 'other', category: 'other', name: '频繁', region_code: COMMUNITY }), 429, 'too_many_reports');
});

test('routing rules: read, edit (audited), and the edit changes the route', async () => {
  let r = await grid.get('/api/v1/routing-rules');
  assert.equal(r.status, 200, r.text);
  const byKey = Object.fromEntries(r.body.items.map((x) => [x.source, x]));
  assert.equal(byKey.checkpoint.action, 'observe');
  assert.equal(byKey.grid_patrol.action, 'observe');
  for (const s of ['resident', 'self_check', 'contact', 'enterprise', 'canvass', 'doctor', 'cdc']) assert.equal(byKey[s].action, 'verify', s);
  assert.equal((await grid.put('/api/v1/routing-rules', { source: 'contact', action: 'observe', priority: 'high', deadline_hours: 12 })).status, 403);
  refused(await cc.put('/api/v1/routing-rules', { source: 'contact', action: 'jump', priority: 'high', deadline_hours: 12 }), 400, null, 'action');
  refused(await cc.put('/api/v1/routing-rules', { source: 'contact', action: 'observe', priority: 'high', deadline_hours: 0 }), 400, null, 'deadline_hours');
  refused(await cc.put('/api/v1/routing-rules', { source: 'import', action: 'observe', priority: 'high', deadline_hours: 2 }), 400, null, 'source');
  r = await cc.put('/api/v1/routing-rules', { source: 'contact', action: 'observe', priority: 'high', deadline_hours: 12 });
  assert.equal(r.status, 200, r.text);
  assert.equal(r.body.items.find((x) => x.source === 'contact').action, 'observe');
  await auditEntries(auditor, 'routing_rule.update');
  const p = await person('冯十一');
  r = await cc.post('/api/v1/reports', { source: 'contact', category: 'contact', person_id: p.id });
  assert.equal(r.body.state, 'observed', r.text);
  // disabled: the report waits in the inbox
  r = await cc.put('/api/v1/routing-rules', { source: 'contact', action: 'verify', priority: 'urgent', deadline_hours: 6, enabled: false });
  assert.equal(r.status, 200, r.text);
  const q = await person('陈十二');
  r = await cc.post('/api/v1/reports', { source: 'contact', category: 'contact', person_id: q.id });
  assert.equal(r.body.state, 'reported', r.text);
  // the command centre routes it by hand
  const waiting = r.body.id;
  assert.equal((await grid.post(`/api/v1/incidents/${waiting}/route`, { action: 'verify' })).status, 403);
  refused(await cc.post(`/api/v1/incidents/${waiting}/route`, { action: 'later' }), 400, null, 'action');
  r = await cc.post(`/api/v1/incidents/${waiting}/route`, { action: 'verify' });
  assert.equal(r.status, 200, r.text);
  assert.equal(r.body.state, 'verifying');
  assert.equal((await detail(waiting)).task.priority, 'urgent');
  expectError(await cc.post(`/api/v1/incidents/${waiting}/route`, { action: 'observe' }), 409, 'incident_routed');
  r = await cc.put('/api/v1/routing-rules', { source: 'contact', action: 'verify', priority: 'urgent', deadline_hours: 6 });
  assert.equal(r.status, 200, r.text);
});

test('close a duplicate without a visit: its task is cancelled', async () => {
  const res = await resident();
  let r = await res.post('/api/v1/me/reports', { about: 'other', category: 'other', name: '褚十三', region_code: COMMUNITY });
  const id = r.body.id;
  expectError(await cc.post(`/api/v1/incidents/${id}/close`, {}), 400, 'required', 'reason');
  assert.equal((await grid.post(`/api/v1/incidents/${id}/close`, { reason: '重复上报' })).status, 403);
  r = await cc.post(`/api/v1/incidents/${id}/close`, { reason: '重复上报' });
  assert.equal(r.status, 200, r.text);
  assert.equal(r.body.state, 'closed');
  const d = await detail(id);
  assert.equal(d.close_reason, '重复上报');
  assert.equal(d.task.state, 'cancelled');
  expectError(await cc.post(`/api/v1/incidents/${id}/close`, { reason: '再次' }), 409, 'incident_closed');
});

test('an enterprise declaration (seed 001 §4.1.5): the form is kept sealed and verified', async () => {
  const form = {
    category: 'risk_area', name: '蒋十四', gender: 'female', id_number: residentId('110101', '20010203', 22, false),
    phone: newPhone(), travel: true, native_place: '湖北武汉', unit: '多福巷小学', department: '三年级二班',
    return_date: '2026-02-10', return_transport: '高铁', region_code: COMMUNITY, address: '多福巷2号',
  };
  const { department, ...missing } = form;
  let m = await ent.post('/api/v1/me/reports', missing);
  expectError(m, 400, 'required', 'department');
  assert.match(errOf(m).message, /年级班级或部门/);
  expectError(await ent.post('/api/v1/me/reports', { ...form, return_date: '2026-02-30' }), 400, 'invalid_date', 'return_date');
  const r = await ent.post('/api/v1/me/reports', form);
  assert.equal(r.status, 201, r.text);
  assert.equal(r.body.state, 'verifying');
  const d = await detail(r.body.id);
  assert.equal(d.source, 'enterprise');
  assert.equal(d.declaration.unit, '多福巷小学');
  assert.equal(d.declaration.travel, true);
  assert.equal(d.declaration.department, undefined);
  assert.equal((await cc.get(`/api/v1/incidents/${r.body.id}?reveal=1`)).body.declaration.department, department);
  // sealed in the database: the form's answers are not there in plain text
  const raw = sqlRun(ctx, `SELECT COUNT(*) FROM incidents WHERE id = ${r.body.id} AND detail_enc IS NOT NULL`).trim();
  assert.equal(raw, '1');
  assert.ok(!sqlRun(ctx, 'SELECT * FROM incidents').includes('多福巷小学'));
  assert.ok(sqlRun(ctx, 'SELECT * FROM incidents').includes('enterprise'), 'positive control: plain columns are found');
  // the visit confirms it: the person is registered from the declaration itself
  const taskId = await acceptedTask(r.body.id);
  const ok = await complete(taskId, { outcome: 'confirmed' });
  assert.equal(ok.status, 200, ok.text);
  const found = await cc.get(`/api/v1/persons?id_number=${form.id_number}&reveal=1`);
  assert.equal(found.body.items.length, 1, found.text);
  assert.equal(found.body.items[0].name, '蒋十四');
  assert.equal(found.body.items[0].phone, form.phone);
  assert.equal((await detail(r.body.id)).state, 'observed');
  // a student living in another district: filed there, followed under my reports
  const away = await ent.post('/api/v1/me/reports', { ...form, name: '沈十六', id_number: residentId('110102', '20020304', 24, false), region_code: XC_C1 });
  assert.equal(away.status, 201, away.text);
  assert.equal(away.body.state, 'verifying');
  expectError(await cc.get(`/api/v1/incidents/${away.body.id}`), 404, 'not_found');
  const there = await detail(away.body.id, ccWest);
  assert.equal(there.region_code, XC_C1);
  assert.equal(there.task.state, 'pending');
  const mine = await ent.get('/api/v1/me/reports');
  assert.deepEqual(mine.body.items.map((x) => x.id), [away.body.id, r.body.id]);
});

test('the inbox exports CSV, filters by time and audits the read', async () => {
  let r = await cc.get('/api/v1/incidents?format=csv');
  assert.equal(r.status, 200, r.text);
  assert.match(r.headers.get('content-type'), /text\/csv/);
  const lines = r.text.replace(/^\uFEFF/, '').trim().split('\n');
  assert.match(lines[0], /^编号,来源,类别,状态/);
  assert.ok(lines.length > 5);
  assert.ok(!r.text.includes('李邻居'));
  // a region narrows the inbox to its subtree; outside the scope is 404
  r = await cc.get(`/api/v1/incidents?region_code=${BUILDING}`);
  assert.ok(r.body.total >= 1 && r.body.items.every((x) => x.region_code === BUILDING), r.text);
  r = await cc.get('/api/v1/incidents?region_code=110101002001');
  assert.ok(r.body.items.every((x) => x.region_code.startsWith('110101002001')), r.text);
  expectError(await cc.get(`/api/v1/incidents?region_code=${XC_C1}`), 404, 'unknown_region', 'region_code');
  r = await cc.get(`/api/v1/incidents?from=${Date.now() + 60000}`);
  assert.equal(r.body.total, 0);
  expectError(await cc.get('/api/v1/incidents?state=lost'), 400, 'invalid_parameter', 'state');
  // the pages read the labels from the vocabularies
  const voc = (await cc.get('/api/v1/vocabularies')).body;
  assert.deepEqual(voc.incident_categories.items.map((x) => x.value), ['symptoms', 'risk_area', 'contact', 'fever', 'other'], JSON.stringify(voc.incident_categories));
  assert.equal(voc.incident_states.items.find((x) => x.value === 'transferred').label, '已转送医院');
  assert.ok(voc.verify_outcomes && voc.routing_actions);
  await auditEntries(auditor, 'incident.export');
  await auditEntries(auditor, 'incident.list');
});

test('every report counts in case.incident.new at its region and day, and the recount agrees', async () => {
  const before = Number(sqlRun(ctx, "SELECT COALESCE(SUM(n), 0) FROM counters WHERE measure = 'case.incident.new' AND day <> 0").trim());
  const res = await resident();
  const r = await res.post('/api/v1/me/reports', { about: 'other', category: 'other', name: '计数', region_code: GRID });
  assert.equal(r.status, 201, r.text);
  // a flow: the day's row, and its all-days total at day 0 (STATS_NOW)
  const after = Number(sqlRun(ctx, "SELECT COALESCE(SUM(n), 0) FROM counters WHERE measure = 'case.incident.new' AND day <> 0").trim());
  const total = Number(sqlRun(ctx, "SELECT COALESCE(SUM(n), 0) FROM counters WHERE measure = 'case.incident.new' AND day = 0").trim());
  assert.equal(total, after);
  assert.equal(after, before + 1);
  assert.equal(after, count('incidents'));
  const at = sqlRun(ctx, `SELECT COUNT(*) FROM counters WHERE measure = 'case.incident.new' AND region_code = ${GRID}000 AND day <> 0 AND n > 0`).trim();
  assert.equal(at, '1');
  // the recount of this measure agrees (other measures are their owners' to check)
  const v = ctx.fk(['stats', 'verify']);
  assert.ok(!/case\.incident\.new/.test(v.stdout + v.stderr), v.stdout + v.stderr);
  assert.ok(v.status === 0 || (v.stdout + v.stderr).trim().length > 0, 'verify ran');
});

test('a cancelled verification leaves the report for the command centre, who routes it again', async () => {
  const res = await resident();
  let r = await res.post('/api/v1/me/reports', { about: 'other', category: 'other', name: '卫十五', region_code: COMMUNITY });
  const id = r.body.id;
  const first = (await detail(id)).task_id;
  r = await cc.post(`/api/v1/tasks/${first}/cancel`, { reason: '派错网格' });
  assert.equal(r.status, 200, r.text);
  let d = await detail(id);
  assert.equal(d.state, 'reported');
  assert.ok(d.timeline.some((x) => x.action === 'task_cancelled'), JSON.stringify(d.timeline));
  // observe needs the person identified: refused, nothing changes
  expectError(await cc.post(`/api/v1/incidents/${id}/route`, { action: 'observe' }), 400, 'subject_required');
  assert.equal((await detail(id)).state, 'reported');
  r = await cc.post(`/api/v1/incidents/${id}/route`, { action: 'verify' });
  assert.equal(r.status, 200, r.text);
  d = await detail(id);
  assert.equal(d.state, 'verifying');
  assert.notEqual(d.task_id, first);
  assert.equal(d.task.state, 'pending');
});

// last: it renumbers a community
test('a region move carries its reports along', async () => {
  const res = await resident();
  let r = await res.post('/api/v1/me/reports', { about: 'other', category: 'other', name: '搬迁', region_code: '110101002001' });
  assert.equal(r.status, 201, r.text);
  const id = r.body.id;
  r = await cc.post('/api/v1/regions/110101002001/move', { code: '110101002005' });
  assert.equal(r.status, 200, r.text);
  const d = await detail(id);
  assert.equal(d.region_code, '110101002005');
  assert.equal(d.region_name, '隆福寺社区');
  const v = ctx.fk(['stats', 'verify']);
  assert.ok(!/case\.incident\.new/.test(v.stdout + v.stderr), v.stdout + v.stderr);
});

test('the inbox and the detail name the reporter: staff by display name, a resident by their masked name, never an id', async () => {
  const reg = await resident({ register: true });
  const anon = await resident();
  const a = await reg.post('/api/v1/me/reports', { about: 'other', category: 'other', name: '报告对象甲', region_code: COMMUNITY });
  assert.equal(a.status, 201, a.text);
  const b = await anon.post('/api/v1/me/reports', { about: 'other', category: 'other', name: '报告对象乙', region_code: COMMUNITY });
  assert.equal(b.status, 201, b.text);
  const c = await cc.post('/api/v1/reports', { source: 'cdc', category: 'other', name: '报告对象丙', region_code: COMMUNITY });
  assert.equal(c.status, 201, c.text);
  const inbox = (await cc.get('/api/v1/incidents?category=other&page_size=200')).body.items;
  const of = (id) => inbox.find((x) => x.id === id);
  assert.equal(of(a.body.id).reporter_name, '上*人', 'a registered resident: the masked name');
  assert.equal(of(b.body.id).reporter_name, '居民', 'a resident without a record');
  assert.ok(of(c.body.id).reporter_name && !/^\d+$/.test(of(c.body.id).reporter_name), of(c.body.id).reporter_name);
  for (const x of [a, b, c]) {
    const d = (await cc.get(`/api/v1/incidents/${x.body.id}`)).body;
    assert.equal(d.reporter_name, of(x.body.id).reporter_name);
    assert.ok(!('reporter_user_id' in d), 'no raw user id');
    for (const s of d.timeline || []) assert.ok(s.action_label && s.action_label !== s.action, JSON.stringify(s));
  }
});
