// Testing sites and clock-ins (/api/v1/nat/sites, /api/v1/nat/clockins,
// issue 10): CRUD with bad input on every field, scope (another street's
// site answers 404), the live push, search, paging and export, queue
// reports, clock-in and clock-out with the distance warning, the
// unattended flag with its alert and sweep, soft delete, audit.
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { startCityWith, CITY_STAFF, expectError, auditEntries, sqlRun, sleep, openStream, until } from './lib.mjs';

const PW = 'Nat-sites-2024!';
const DC = '110101000000'; // 东城区
const S1 = '110101001000'; // 东华门街道
const S1_C1 = '110101001001'; // 多福巷社区
const S2 = '110101002000'; // 景山街道
const XC_C1 = '110102001001'; // 西城区 府右街社区
// 多福巷: a position and one about 1.1 km north of it
const POS = { lng: 116.4, lat: 39.91 };
const FAR = { lng: 116.4, lat: 39.92 };
let ctx, cc, ccXc, street1, street2, staff1, staff1b, staff2, leader, auditor, anon;

before(async () => {
  ctx = await startCityWith(
    {
      ...CITY_STAFF,
      street1: ['street_staff', S1],
      street2: ['street_staff', S2],
      staff1: ['site_staff', S1],
      staff1b: ['site_staff', S1],
      staff2: ['site_staff', S2],
      leader: ['leader', DC],
    },
    PW,
    // the sweep every second: the unattended flag comes back within the test
    { env: { FK_NAT_SWEEP: '1' } },
  );
  ({ cc_dc: cc, cc_xc: ccXc, street1, street2, staff1, staff1b, staff2, leader, auditor } = ctx.as);
  anon = ctx.client();
});

after(async () => {
  await ctx?.stop();
});

const base = () => ({ name: '多福巷核酸点', kind: 'fixed', region_code: S1_C1 });

async function create(body = {}, client = cc) {
  const r = await client.post('/api/v1/nat/sites', { ...base(), ...body });
  assert.equal(r.status, 201, r.text);
  return r.body;
}

async function total(client = cc, query = '') {
  const r = await client.get('/api/v1/nat/sites' + query);
  assert.equal(r.status, 200, r.text);
  return r.body.total;
}

test('create a site: defaults, region name, audit', async () => {
  const s = await create({ address: '多福巷1号', ...POS, hours: '00:00-24:00', capacity: 300 });
  assert.match(s.id, /^\d+$/);
  assert.equal(s.name, '多福巷核酸点');
  assert.equal(s.kind, 'fixed');
  assert.equal(s.kind_label, '固定');
  assert.equal(s.region_code, S1_C1);
  assert.equal(s.region_name, '多福巷社区');
  assert.equal(s.address, '多福巷1号');
  assert.equal(s.lng, 116.4);
  assert.equal(s.lat, 39.91);
  assert.equal(s.hours, '00:00-24:00');
  assert.equal(s.state, 'open');
  assert.equal(s.state_label, '开放');
  assert.equal(s.capacity, 300);
  assert.equal(s.queue_length, 0);
  assert.equal(s.queue_at, null);
  assert.equal(s.on_duty, 0);
  assert.equal(s.version, 1);
  const r = await street1.get(`/api/v1/nat/sites/${s.id}`);
  assert.equal(r.status, 200);
  assert.equal(r.body.name, s.name);
  const audit = await auditEntries(auditor, 'nat.site.create', s.id);
  assert.equal(audit.length, 1);
  assert.match(audit[0].detail, /fields=.*name/);
  // defaults: no position, all day
  const d = await create({ name: '临时点', kind: 'temporary' });
  assert.equal(d.lng, null);
  assert.equal(d.lat, null);
  assert.equal(d.hours, '');
  assert.equal(d.address, '');
  assert.equal(d.capacity, 0);
});

test('bad input on every field is refused with its field and changes nothing', async () => {
  const before = await total();
  const cases = [
    [{ name: undefined }, 400, 'required', 'name'],
    [{ name: '' }, 400, undefined, 'name'],
    [{ name: 'x'.repeat(101) }, 400, 'too_long', 'name'],
    [{ name: 7 }, 400, 'invalid_type', 'name'],
    [{ kind: undefined }, 400, 'required', 'kind'],
    [{ kind: 'tent' }, 400, 'invalid_value', 'kind'],
    [{ region_code: undefined }, 400, 'required', 'region_code'],
    [{ region_code: '12' }, 400, undefined, 'region_code'],
    [{ region_code: XC_C1 }, 400, 'invalid_region', 'region_code'],
    [{ region_code: '110101009000' }, 400, 'invalid_region', 'region_code'],
    [{ address: 'x'.repeat(201) }, 400, 'too_long', 'address'],
    [{ lng: 116.4 }, 400, 'required', 'lat'],
    [{ lat: 39.9 }, 400, 'required', 'lng'],
    [{ lng: 200, lat: 39.9 }, 400, 'out_of_range', 'lng'],
    [{ lng: 116.4, lat: 80 }, 400, 'out_of_range', 'lat'],
    [{ lng: '116.4', lat: 39.9 }, 400, 'invalid_type', 'lng'],
    [{ lng: null, lat: 39.9 }, 400, 'required', 'lng'],
    [{ hours: '8-12' }, 400, 'invalid_hours', 'hours'],
    [{ hours: '12:00-08:00' }, 400, 'invalid_hours', 'hours'],
    [{ hours: '08:00-12:00,11:00-18:00' }, 400, 'invalid_hours', 'hours'],
    [{ hours: '14:00-18:00,08:00-12:00' }, 400, 'invalid_hours', 'hours'],
    [{ hours: '08:00-12:60' }, 400, 'invalid_hours', 'hours'],
    [{ hours: '08:00-25:00' }, 400, 'invalid_hours', 'hours'],
    [{ hours: '08:00-12:00;14:00-18:00' }, 400, 'invalid_hours', 'hours'],
    [{ hours: '08:00-12:00,' }, 400, 'invalid_hours', 'hours'],
    [{ hours: Array.from({ length: 7 }, (_, i) => `0${i}:00-0${i}:30`).join(',') }, 400, 'invalid_hours', 'hours'],
    [{ state: 'busy' }, 400, 'invalid_value', 'state'],
    [{ capacity: -1 }, 400, 'out_of_range', 'capacity'],
    [{ capacity: 100001 }, 400, 'out_of_range', 'capacity'],
    [{ capacity: 1.5 }, 400, 'invalid_type', 'capacity'],
    [{ colour: 'red' }, 400, 'unknown_field', 'colour'],
  ];
  for (const [patch, status, code, field] of cases) {
    const body = { ...base(), ...patch };
    for (const k of Object.keys(body)) if (body[k] === undefined) delete body[k];
    const r = await cc.post('/api/v1/nat/sites', body);
    assert.equal(r.status, status, `${JSON.stringify(patch)}: ${r.text}`);
    if (code) assert.equal(r.body.error.code, code, `${JSON.stringify(patch)}: ${r.text}`);
    assert.equal(r.body.error.field, field, `${JSON.stringify(patch)}: ${r.text}`);
    assert.match(r.body.error.message, /[\u4e00-\u9fff]/);
  }
  assert.equal(await total(), before);
  // good hours in their forms
  const s = await create({ name: '两段', hours: '08:00-12:00, 14:00-24:00' });
  assert.equal(s.hours, '08:00-12:00, 14:00-24:00');
  const t = await create({ name: '中文逗号', hours: '08:00-12:00，14:00-18:00' });
  assert.equal(t.state, 'open');
});

test('permissions: site staff and leaders read, only nat.site writes; anonymous refused', async () => {
  const r = await staff1.post('/api/v1/nat/sites', base());
  assert.equal(r.status, 403);
  assert.equal((await leader.post('/api/v1/nat/sites', base())).status, 403);
  assert.equal((await leader.get('/api/v1/nat/sites')).status, 200);
  assert.equal((await staff1.get('/api/v1/nat/sites')).status, 200);
  assert.equal((await anon.get('/api/v1/nat/sites')).status, 401);
  // a street creates in its own street, not in another
  const own = await create({ name: '街道自建点' }, street1);
  assert.equal(own.region_code, S1_C1);
  expectError(await street1.post('/api/v1/nat/sites', { ...base(), region_code: '110101002001' }), 400, 'invalid_region', 'region_code');
});

test("scope: another district's and another street's site answers 404 on every path", async () => {
  const s = await create({ name: '景山点', region_code: '110101002001' });
  for (const c of [ccXc, street1, staff1]) {
    assert.equal((await c.get(`/api/v1/nat/sites/${s.id}`)).status, 404);
    assert.equal((await c.post(`/api/v1/nat/sites/${s.id}/queue`, { queue_length: 3 })).status, c === street1 ? 403 : 404);
  }
  expectError(await ccXc.patch(`/api/v1/nat/sites/${s.id}`, { name: '改' }), 404, 'not_found');
  expectError(await ccXc.del(`/api/v1/nat/sites/${s.id}`), 404, 'not_found');
  expectError(await street1.patch(`/api/v1/nat/sites/${s.id}`, { name: '改' }), 404, 'not_found');
  expectError(await staff1.post(`/api/v1/nat/sites/${s.id}/clock-in`, POS), 404, 'not_found');
  const west = await ccXc.get('/api/v1/nat/sites?page_size=100');
  assert.ok(!west.body.items.some((x) => x.id === s.id));
  const st1 = await street1.get('/api/v1/nat/sites?page_size=100');
  assert.ok(!st1.body.items.some((x) => x.id === s.id));
  assert.ok(st1.body.items.every((x) => x.region_code.startsWith('110101001')));
  const st2 = await street2.get('/api/v1/nat/sites?page_size=100');
  assert.ok(st2.body.items.some((x) => x.id === s.id));
  // a region filter outside scope
  expectError(await street1.get(`/api/v1/nat/sites?region_code=${S2}`), 400, 'invalid_region', 'region_code');
  // unchanged by the refusals
  assert.equal((await cc.get(`/api/v1/nat/sites/${s.id}`)).body.name, '景山点');
});

test('update: fields, version, empty update, position cleared, audit', async () => {
  const s = await create({ name: '待修改点', ...POS });
  let r = await cc.patch(`/api/v1/nat/sites/${s.id}`, { name: '已修改点', state: 'paused', capacity: 120, version: 1 });
  assert.equal(r.status, 200, r.text);
  assert.equal(r.body.name, '已修改点');
  assert.equal(r.body.state, 'paused');
  assert.equal(r.body.capacity, 120);
  assert.equal(r.body.version, 2);
  assert.equal(r.body.lng, 116.4);
  expectError(await cc.patch(`/api/v1/nat/sites/${s.id}`, { name: '旧版本', version: 1 }), 409, 'version_conflict');
  expectError(await cc.patch(`/api/v1/nat/sites/${s.id}`, {}), 400, 'empty_update');
  expectError(await cc.patch(`/api/v1/nat/sites/${s.id}`, { hours: '9:00-10:00' }), 400, 'invalid_hours', 'hours');
  expectError(await cc.patch(`/api/v1/nat/sites/${s.id}`, { region_code: XC_C1 }), 400, 'invalid_region', 'region_code');
  expectError(await cc.patch(`/api/v1/nat/sites/${s.id}`, { lng: 116.5 }), 400, 'required', 'lat');
  r = await cc.patch(`/api/v1/nat/sites/${s.id}`, { lng: null, lat: null });
  assert.equal(r.status, 200, r.text);
  assert.equal(r.body.lng, null);
  assert.equal(r.body.name, '已修改点');
  const audit = await auditEntries(auditor, 'nat.site.update', s.id);
  assert.ok(audit.some((x) => x.result === 'ok' && /name/.test(x.detail)));
  assert.ok(audit.some((x) => x.result === 'version_conflict'));
});

test('list: search, filters, sort, paging, names not codes; CSV and xlsx export', async () => {
  await create({ name: '东四核酸甲', kind: 'mobile', address: '东四北大街' });
  await create({ name: '东四核酸乙', kind: 'mobile', state: 'paused' });
  let r = await cc.get('/api/v1/nat/sites?q=东四&page_size=1&sort=name');
  assert.equal(r.status, 200, r.text);
  assert.equal(r.body.total, 2);
  assert.equal(r.body.items.length, 1);
  assert.equal(r.body.items[0].name, '东四核酸乙'); // 乙 sorts before 甲 by code point
  r = await cc.get('/api/v1/nat/sites?q=东四北');
  assert.equal(r.body.total, 1, 'the address is searched too');
  r = await cc.get('/api/v1/nat/sites?kind=mobile&state=paused');
  assert.equal(r.body.total, 1);
  assert.equal(r.body.items[0].region_name, '多福巷社区');
  expectError(await cc.get('/api/v1/nat/sites?kind=tent'), 400, 'invalid_parameter', 'kind');
  expectError(await cc.get('/api/v1/nat/sites?state=x'), 400, 'invalid_parameter', 'state');
  expectError(await cc.get('/api/v1/nat/sites?sort=secret'), 400, 'invalid_parameter', 'sort');
  expectError(await cc.get('/api/v1/nat/sites?unattended=yes'), 400, 'invalid_parameter', 'unattended');
  expectError(await cc.get('/api/v1/nat/sites?format=pdf'), 400, 'invalid_parameter', 'format');
  expectError(await cc.get('/api/v1/nat/sites?region_code=abc'), 400, 'invalid_region', 'region_code');
  const csv = await cc.get('/api/v1/nat/sites?format=csv&q=东四');
  assert.equal(csv.status, 200);
  assert.match(csv.headers.get('content-type'), /text\/csv/);
  assert.match(csv.text, /点位名称/);
  assert.match(csv.text, /东四核酸甲/);
  assert.match(csv.text, /多福巷社区/);
  assert.ok(!csv.text.includes(S1_C1), 'names, not codes');
  const x = await fetch(ctx.url + '/api/v1/nat/sites?format=xlsx', { headers: { cookie: cc.cookie } });
  assert.equal(x.status, 200);
  const bytes = Buffer.from(await x.arrayBuffer());
  assert.equal(bytes.subarray(0, 2).toString(), 'PK');
});

test('the live push: every change is an event "nat.site" on the alert stream of the scope', async () => {
  const s1 = await openStream(ctx.url, street1);
  const sx = await openStream(ctx.url, ccXc);
  assert.equal(s1.status, 200);
  try {
    const s = await create({ name: '推送点' });
    await cc.patch(`/api/v1/nat/sites/${s.id}`, { capacity: 50 });
    await cc.del(`/api/v1/nat/sites/${s.id}`);
    const got = () => s1.events.filter((e) => e.event === 'nat.site' && e.data.id === s.id).map((e) => e.data.change);
    assert.ok(await until(() => got().includes('delete'), 3000), s1.raw);
    assert.deepEqual(got().filter((c) => c !== 'unattended'), ['create', 'update', 'delete']);
    const upd = s1.events.find((e) => e.event === 'nat.site' && e.data.change === 'update');
    assert.equal(upd.data.capacity, 50);
    assert.equal(upd.data.region_name, '多福巷社区');
    await sleep(200);
    assert.ok(!sx.events.some((e) => e.event === 'nat.site' && e.data.id === s.id), 'not to another district');
  } finally {
    s1.close();
    sx.close();
  }
});

test('queue reports: site staff report, who and when kept; bad values; a closed site refuses', async () => {
  const s = await create({ name: '排队点' });
  let r = await staff1.post(`/api/v1/nat/sites/${s.id}/queue`, { queue_length: 42 });
  assert.equal(r.status, 200, r.text);
  assert.equal(r.body.queue_length, 42);
  assert.equal(r.body.queue_by_name, 'staff1');
  assert.ok(r.body.queue_at > Date.now() - 60000);
  for (const v of [-1, 100001, 'x', 1.5, null])
    assert.equal((await staff1.post(`/api/v1/nat/sites/${s.id}/queue`, { queue_length: v })).status, 400, String(v));
  expectError(await staff1.post(`/api/v1/nat/sites/${s.id}/queue`, {}), 400, 'required', 'queue_length');
  assert.equal((await cc.get(`/api/v1/nat/sites/${s.id}`)).body.queue_length, 42);
  assert.equal((await street1.post(`/api/v1/nat/sites/${s.id}/queue`, { queue_length: 1 })).status, 403);
  await cc.patch(`/api/v1/nat/sites/${s.id}`, { state: 'closed' });
  expectError(await staff1.post(`/api/v1/nat/sites/${s.id}/queue`, { queue_length: 5 }), 409, 'site_closed');
  const audit = await auditEntries(auditor, 'nat.site.queue', s.id);
  assert.ok(audit.some((x) => x.detail === 'queue_length=42'));
});

test('clock-in and out: near and far positions, one shift at a time, lists per site and street', async () => {
  const s = await create({ name: '打卡点', ...POS, hours: '00:00-24:00' });
  let r = await staff1.post(`/api/v1/nat/sites/${s.id}/clock-in`, { lng: 116.4001, lat: 39.9101 });
  assert.equal(r.status, 201, r.text);
  const c = r.body;
  assert.equal(c.site_id, s.id);
  assert.equal(c.site_name, '打卡点');
  assert.equal(c.user_name, 'staff1');
  assert.equal(c.region_name, '多福巷社区');
  assert.ok(c.in_distance >= 0 && c.in_distance < 50, String(c.in_distance));
  assert.equal(c.in_far, false);
  assert.equal(c.on_duty, true);
  assert.equal(c.radius, 500);
  expectError(await staff1.post(`/api/v1/nat/sites/${s.id}/clock-in`, POS), 409, 'already_clocked_in');
  r = await staff1.get('/api/v1/nat/clockins/mine');
  assert.equal(r.body.clockin.id, c.id);
  assert.equal((await cc.get(`/api/v1/nat/sites/${s.id}`)).body.on_duty, 1);
  // far: recorded as a warning, not refused
  r = await staff1b.post(`/api/v1/nat/sites/${s.id}/clock-in`, FAR);
  assert.equal(r.status, 201, r.text);
  assert.equal(r.body.in_far, true);
  assert.ok(r.body.in_distance > 1000 && r.body.in_distance < 1200, String(r.body.in_distance));
  assert.equal((await cc.get(`/api/v1/nat/sites/${s.id}`)).body.on_duty, 2);
  // bad positions
  expectError(await staff2.post(`/api/v1/nat/sites/${s.id}/clock-in`, POS), 404, 'not_found');
  const s2 = await create({ name: '景山打卡点', region_code: '110101002001' });
  expectError(await staff2.post(`/api/v1/nat/sites/${s2.id}/clock-in`, { lng: 116.4 }), 400, 'required', 'lat');
  expectError(await staff2.post(`/api/v1/nat/sites/${s2.id}/clock-in`, { lng: 500, lat: 39 }), 400, 'out_of_range', 'lng');
  expectError(await staff2.post(`/api/v1/nat/sites/${s2.id}/clock-in`, { lng: 116, lat: 91 }), 400, 'out_of_range', 'lat');
  expectError(await staff2.post(`/api/v1/nat/sites/${s2.id}/clock-in`, { lng: '116', lat: 39 }), 400, 'invalid_type', 'lng');
  // without a position: distance unknown, not far
  r = await staff2.post(`/api/v1/nat/sites/${s2.id}/clock-in`, {});
  assert.equal(r.status, 201, r.text);
  assert.equal(r.body.in_distance, null);
  assert.equal(r.body.in_far, false);
  // lists: per site, per street, far only, on duty only
  r = await cc.get(`/api/v1/nat/clockins?site_id=${s.id}`);
  assert.equal(r.body.total, 2);
  r = await street1.get('/api/v1/nat/clockins?page_size=100');
  assert.equal(r.status, 200);
  assert.ok(r.body.items.every((x) => x.region_code.startsWith('110101001')));
  assert.ok(!r.body.items.some((x) => x.site_id === s2.id), "another street's clock-ins are not listed");
  r = await cc.get(`/api/v1/nat/clockins?region_code=${S2}`);
  assert.ok(r.body.items.every((x) => x.site_id === s2.id));
  r = await cc.get(`/api/v1/nat/clockins?site_id=${s.id}&far=1`);
  assert.equal(r.body.total, 1);
  expectError(await cc.get('/api/v1/nat/clockins?open=2'), 400, 'invalid_parameter', 'open');
  expectError(await cc.get('/api/v1/nat/clockins?site_id=x'), 400, 'invalid_parameter', 'site_id');
  // details: scope
  assert.equal((await street1.get(`/api/v1/nat/clockins/${c.id}`)).status, 200);
  expectError(await street2.get(`/api/v1/nat/clockins/${c.id}`), 404, 'not_found');
  expectError(await ccXc.get(`/api/v1/nat/clockins/${c.id}`), 404, 'not_found');
  // out, far from the site
  r = await staff1.post('/api/v1/nat/clock-out', FAR);
  assert.equal(r.status, 200, r.text);
  assert.equal(r.body.id, c.id);
  assert.equal(r.body.on_duty, false);
  assert.equal(r.body.out_far, true);
  assert.equal(r.body.far, true);
  expectError(await staff1.post('/api/v1/nat/clock-out', POS), 409, 'not_clocked_in');
  assert.equal((await staff1.get('/api/v1/nat/clockins/mine')).body.clockin, null);
  assert.equal((await cc.get(`/api/v1/nat/sites/${s.id}`)).body.on_duty, 1);
  const csv = await cc.get(`/api/v1/nat/clockins?format=csv&site_id=${s.id}`);
  assert.match(csv.text, /打卡点/);
  assert.match(csv.text, /staff1b/);
  assert.ok((await auditEntries(auditor, 'nat.clock_in', s.id)).length >= 2);
  assert.ok((await auditEntries(auditor, 'nat.clock_out', s.id)).length >= 1);
  // a closed site refuses clock-ins
  await staff1b.post('/api/v1/nat/clock-out', POS);
  await staff2.post('/api/v1/nat/clock-out', {});
  await cc.patch(`/api/v1/nat/sites/${s.id}`, { state: 'closed' });
  expectError(await staff1.post(`/api/v1/nat/sites/${s.id}/clock-in`, POS), 409, 'site_closed');
  // clocking in and out needs nat.write
  assert.equal((await street1.post(`/api/v1/nat/sites/${s2.id}/clock-in`, POS)).status, 403);
});

test('unattended: open in hours with nobody on duty is flagged with an alert; a clock-in clears it; the sweep flags it again', async () => {
  const s = await create({ name: '值守点', hours: '00:00-24:00' });
  assert.equal(s.unattended, true);
  assert.ok(s.unattended_since > 0);
  const outOfHours = await create({ name: '夜间关闭点', hours: nowMinute() < 60 ? '23:00-24:00' : '00:00-00:30' });
  assert.equal(outOfHours.unattended, false);
  const paused = await create({ name: '暂停点', state: 'paused' });
  assert.equal(paused.unattended, false);
  let r = await cc.get('/api/v1/nat/sites?unattended=1&page_size=100');
  assert.ok(r.body.items.some((x) => x.id === s.id));
  assert.ok(!r.body.items.some((x) => x.id === outOfHours.id || x.id === paused.id));
  const alerts = async () => (await cc.get('/api/v1/alerts?kind=nat_unattended&page_size=100')).body.items.filter((a) => a.message.includes('值守点'));
  assert.equal((await alerts()).length, 1);
  r = await staff1.post(`/api/v1/nat/sites/${s.id}/clock-in`, {});
  assert.equal(r.status, 201, r.text);
  assert.equal((await cc.get(`/api/v1/nat/sites/${s.id}`)).body.unattended, false);
  r = await cc.get('/api/v1/nat/sites?unattended=0&page_size=100');
  assert.ok(r.body.items.some((x) => x.id === s.id));
  // the last one leaves: flagged again at once, a second alert
  await staff1.post('/api/v1/nat/clock-out', {});
  assert.equal((await cc.get(`/api/v1/nat/sites/${s.id}`)).body.unattended, true);
  assert.equal((await alerts()).length, 2);
  // the sweep: clear the flag behind the server's back; it comes back
  sqlRun(ctx, `UPDATE nat_sites SET unattended_since = 0 WHERE id = ${s.id}`);
  let back = false;
  for (let i = 0; i < 60 && !back; i++) {
    await sleep(100);
    back = (await cc.get(`/api/v1/nat/sites/${s.id}`)).body.unattended;
  }
  assert.ok(back, 'the sweep flagged it');
  assert.equal((await alerts()).length, 3);
  // the sweep clears a flag that no longer holds (paused behind its back)
  sqlRun(ctx, `UPDATE nat_sites SET state = 'paused' WHERE id = ${s.id}`);
  let cleared = false;
  for (let i = 0; i < 60 && !cleared; i++) {
    await sleep(100);
    cleared = !(await cc.get(`/api/v1/nat/sites/${s.id}`)).body.unattended;
  }
  assert.ok(cleared, 'the sweep cleared it');
});

function nowMinute() {
  const d = new Date(Date.now() + 8 * 3600000);
  return d.getUTCHours() * 60 + d.getUTCMinutes();
}

test('delete: refused while staff are on duty; then a soft delete (closed, clock-ins keep the site)', async () => {
  const s = await create({ name: '删除点' });
  let r = await staff1.post(`/api/v1/nat/sites/${s.id}/clock-in`, {});
  assert.equal(r.status, 201, r.text);
  const clock = r.body.id;
  expectError(await cc.del(`/api/v1/nat/sites/${s.id}`), 409, 'site_on_duty');
  assert.equal((await cc.get(`/api/v1/nat/sites/${s.id}`)).status, 200);
  await staff1.post('/api/v1/nat/clock-out', {});
  r = await cc.del(`/api/v1/nat/sites/${s.id}`);
  assert.equal(r.status, 204, r.text);
  expectError(await cc.get(`/api/v1/nat/sites/${s.id}`), 404, 'not_found');
  expectError(await cc.del(`/api/v1/nat/sites/${s.id}`), 404, 'not_found');
  expectError(await staff1.post(`/api/v1/nat/sites/${s.id}/clock-in`, {}), 404, 'not_found');
  const row = sqlRun(ctx, `SELECT state, deleted_at > 0 FROM nat_sites WHERE id = ${s.id}`).trim();
  assert.match(row, /^closed\|(1|t)$/);
  r = await cc.get(`/api/v1/nat/clockins/${clock}`);
  assert.equal(r.status, 200);
  assert.equal(r.body.site_name, '删除点');
  const audit = await auditEntries(auditor, 'nat.site.delete', s.id);
  assert.ok(audit.some((x) => x.result === 'ok'));
  assert.ok(audit.some((x) => x.result === 'site_on_duty'));
});

test('workbench: unattended sites and staff on duty in scope, for site staff and streets', async () => {
  const count = async (c, key) => (await c.get('/api/v1/workbench')).body.entries.find((e) => e.key === key);
  const s = await create({ name: '工作台点', hours: '00:00-24:00' });
  const before1 = (await count(street1, 'nat_unattended')).count;
  const before2 = (await count(street2, 'nat_unattended')).count;
  const u = await count(staff1, 'nat_unattended');
  assert.equal(u.title, '无人值守核酸点位');
  assert.equal(u.todo, true);
  assert.equal(u.console, '/nat/sites?unattended=1');
  assert.equal(u.mobile, '/staff/nat');
  const duty = (await count(staff1, 'nat_on_duty')).count;
  const r = await staff1.post(`/api/v1/nat/sites/${s.id}/clock-in`, {});
  assert.equal(r.status, 201, r.text);
  assert.equal((await count(street1, 'nat_unattended')).count, before1 - 1);
  assert.equal((await count(street2, 'nat_unattended')).count, before2, "another street's count does not move");
  assert.equal((await count(staff1, 'nat_on_duty')).count, duty + 1);
  await staff1.post('/api/v1/nat/clock-out', {});
  assert.equal((await count(street1, 'nat_unattended')).count, before1);
});

test('the live push reaches a stream resumed with Last-Event-ID, whatever the age of the site', async () => {
  const old = await create({ name: '老点位' });
  const s1 = await openStream(ctx.url, street1);
  let lastId;
  try {
    await create({ name: '新点位' });
    assert.ok(await until(() => s1.events.some((e) => e.event === 'nat.site' && e.data.name === '新点位'), 3000), s1.raw);
    lastId = s1.events[s1.events.length - 1].id;
  } finally {
    s1.close();
  }
  const s2 = await openStream(ctx.url, street1, { 'Last-Event-ID': lastId });
  try {
    assert.equal(s2.status, 200);
    await cc.patch(`/api/v1/nat/sites/${old.id}`, { capacity: 77 });
    assert.ok(await until(() => s2.events.some((e) => e.event === 'nat.site' && e.data.id === old.id && e.data.capacity === 77), 3000), s2.raw);
  } finally {
    s2.close();
  }
});

test('racing clock-ins of one person: one shift opens, the others are refused', async () => {
  const s = await create({ name: '并发打卡点', region_code: '110101002001' });
  const rs = await Promise.all(Array.from({ length: 6 }, () => staff2.post(`/api/v1/nat/sites/${s.id}/clock-in`, {})));
  assert.equal(rs.filter((r) => r.status === 201).length, 1, rs.map((r) => r.text).join('\n'));
  for (const r of rs.filter((x) => x.status !== 201)) expectError(r, 409, 'already_clocked_in');
  assert.equal((await cc.get(`/api/v1/nat/sites/${s.id}`)).body.on_duty, 1);
  assert.equal((await staff2.post('/api/v1/nat/clock-out', {})).status, 200);
  assert.equal((await cc.get(`/api/v1/nat/sites/${s.id}`)).body.on_duty, 0);
});

test('a community moved to another street takes its sites and clock-ins along', async () => {
  const OLD = '110101002009';
  const NEW = '110101001009';
  let r = await cc.post('/api/v1/regions', { code: OLD, name: '迁移社区', level: 'community', parent_code: S2 });
  assert.equal(r.status, 201, r.text);
  const s = await create({ name: '迁移社区核酸点', region_code: OLD });
  r = await staff2.post(`/api/v1/nat/sites/${s.id}/clock-in`, {});
  assert.equal(r.status, 201, r.text);
  const clock = r.body.id;
  await staff2.post('/api/v1/nat/clock-out', {});
  r = await cc.post(`/api/v1/regions/${OLD}/move`, { code: NEW });
  assert.equal(r.status, 200, r.text);
  r = await street1.get(`/api/v1/nat/sites/${s.id}`);
  assert.equal(r.status, 200, 'the new street sees it');
  assert.equal(r.body.region_code, NEW);
  assert.equal((await street2.get(`/api/v1/nat/sites/${s.id}`)).status, 404, 'the old street no longer');
  assert.equal((await street1.get(`/api/v1/nat/clockins/${clock}`)).body.region_code, NEW);
});
