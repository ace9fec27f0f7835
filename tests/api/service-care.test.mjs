// Elderly care through the API (docs/community-services.md): the duty
// roster (bad input, scope), a resident's emergency call (one open call per
// person, the alert on the community live over SSE naming who is on duty,
// the address and contact masked, the street alerted when nobody is on
// duty), staff handling it (outcome visible to the resident, handled once),
// and scope: staff of another community see nothing, residents reach only
// their own call. Refusals change nothing.
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { startCityWith, residentId, smsCode, openStream, until, expectError } from './lib.mjs';

const PW = 'Passw0rd!service';
const COMMUNITY = '110101001001'; // 多福巷社区
const BUILDING = '110101001001001001'; // 1号楼
const OTHER = '110101002001'; // 隆福寺社区, the same district, another street
const STREET = '110101001000';
let ctx, cs, csOther, street, cc, gw;

let seq = 0;
let phoneSeq = 0;
async function resident(over = {}) {
  const phone = '1392000' + String(1000 + ++phoneSeq).padStart(4, '0');
  const c = ctx.client();
  let r = await c.post('/api/v1/auth/sms/send', { phone });
  assert.equal(r.status, 200, r.text);
  r = await c.post('/api/v1/auth/sms/login', { phone, code: smsCode(ctx, phone) });
  assert.equal(r.status, 200, r.text);
  r = await c.post('/api/v1/me/consent', { version: 'v1' });
  assert.equal(r.status, 200, r.text);
  seq += 1;
  r = await c.post('/api/v1/me/person', {
    name: '王秀英', id_number: residentId('110101', '19420315', 700 + seq * 2, false), region_code: BUILDING,
    address: '多福巷3号院2单元101', emergency_contact_name: '王建国', emergency_contact_phone: '13811112222', ...over,
  });
  assert.equal(r.status, 201, r.text);
  c.personId = r.body.person.id;
  return c;
}

before(async () => {
  ctx = await startCityWith(
    {
      s_cs: ['community_staff', COMMUNITY],
      s_cs_other: ['community_staff', OTHER],
      s_street: ['street_staff', STREET],
      s_cc: ['command_center', '110101000000'],
      s_gw: ['grid_worker', COMMUNITY],
    },
    PW,
  );
  ({ s_cs: cs, s_cs_other: csOther, s_street: street, s_cc: cc, s_gw: gw } = ctx.as);
});
after(async () => ctx?.stop());

const HOUR = 3600_000;

test('duty roster: bad input answered 4xx with the field, scope kept, nothing written', async () => {
  const now = Date.now();
  const good = { region_code: COMMUNITY, user_id: cs.id, from: now - HOUR, to: now + 8 * HOUR };
  const cases = [
    [{ ...good, region_code: 'abc' }, 'invalid_region', 'region_code'],
    [{ ...good, region_code: STREET }, 'invalid_region', 'region_code'], // a street, not a community
    [{ ...good, region_code: '110102001001' }, 'invalid_region', 'region_code'], // outside the scope
    [{ ...good, user_id: '12345' }, 'invalid_user', 'user_id'],
    [{ ...good, user_id: 'x' }, 'invalid_user', 'user_id'],
    [{ ...good, user_id: csOther.id }, 'invalid_user', 'user_id'], // another community's staff
    [{ ...good, to: good.from }, 'invalid_period', 'to'],
    [{ ...good, from: now - 3 * HOUR, to: now - HOUR }, 'invalid_period', 'to'],
    [{ ...good, to: now + 40 * 24 * HOUR }, 'invalid_period', 'to'],
    [{ ...good, from: 'soon' }, 'invalid_type', 'from'],
    [{ region_code: COMMUNITY, user_id: cs.id, from: now }, 'required', 'to'],
  ];
  for (const [body, code, field] of cases) expectError(await cs.post('/api/v1/service/duty', body), 400, code, field);
  // a grid worker reads the roster but does not keep it
  assert.equal((await gw.post('/api/v1/service/duty', good)).status, 403);
  // the other community's staff cannot put anyone on duty here
  expectError(await csOther.post('/api/v1/service/duty', { ...good, user_id: csOther.id }), 400, 'invalid_region', 'region_code');
  const r = await cs.get(`/api/v1/service/duty?all=1`);
  assert.equal(r.status, 200, r.text);
  assert.equal(r.body.items.length, 0, 'nothing written by the refusals');
  expectError(await cs.get('/api/v1/service/duty?region=1'), 400, 'invalid_region', 'region');
  expectError(await cs.get('/api/v1/service/duty?all=2'), 400, 'invalid_parameter', 'all');
});

test('nobody on duty: the call alerts the community and the street; one open call per person', async () => {
  const old = await resident();
  // staff of the community and of the street watch their alert streams
  const csStream = await openStream(ctx.url, cs);
  const stStream = await openStream(ctx.url, street);
  const otherStream = await openStream(ctx.url, csOther);
  try {
    let r = await old.get('/api/v1/me/emergency');
    assert.equal(r.status, 200, r.text);
    assert.equal(r.body.call, null);
    r = await old.post('/api/v1/me/emergency');
    assert.equal(r.status, 201, r.text);
    assert.equal(r.body.created, true);
    const call = r.body.call;
    assert.equal(call.state, 'open');
    assert.equal(call.on_duty, '');
    assert.equal(call.street_notified, true);
    // a second press while it is open: the same call, no new alert
    r = await old.post('/api/v1/me/emergency');
    assert.equal(r.status, 200, r.text);
    assert.equal(r.body.created, false);
    assert.equal(r.body.call.id, call.id);

    assert.ok(await until(() => csStream.events.some((e) => e.data.kind === 'emergency_call')), 'live on the community stream');
    assert.ok(await until(() => stStream.events.filter((e) => e.data.kind === 'emergency_call').length === 2), 'the street sees both');
    const live = csStream.events.find((e) => e.data.kind === 'emergency_call').data;
    assert.equal(live.level, 'critical');
    assert.match(live.message, /紧急呼叫：王\*英（多福巷社区 · 第一网格 · 1号楼）/);
    assert.match(live.message, /无人值班/);
    const det = live.detail;
    assert.equal(det.call_id, call.id);
    assert.equal(det.emergency_contact_phone, '138****2222');
    assert.equal(det.emergency_contact_name, '王*国');
    assert.ok(!JSON.stringify(live).includes('13811112222'), 'no full phone in the alert');
    assert.ok(!JSON.stringify(live).includes('2单元101'), 'no full address in the alert');
    assert.equal(csStream.events.filter((e) => e.data.kind === 'emergency_call').length, 1, 'one alert for two presses');
    assert.equal(otherStream.events.filter((e) => e.data.kind === 'emergency_call').length, 0, 'another community hears nothing');

    // the list: masked by default, in full with reveal for the command centre
    r = await cs.get('/api/v1/service/emergency?state=open');
    assert.equal(r.status, 200, r.text);
    const item = r.body.items.find((x) => x.id === call.id);
    assert.ok(item);
    assert.equal(item.person_name, '王*英');
    assert.equal(item.address, '多福巷3号院****');
    assert.equal(item.emergency_contact_phone, '138****2222');
    assert.equal(item.place, '多福巷社区 · 第一网格 · 1号楼');
    r = await cc.get(`/api/v1/service/emergency/${call.id}?reveal=1`);
    assert.equal(r.status, 200, r.text);
    assert.equal(r.body.emergency_contact_phone, '13811112222');
    assert.equal(r.body.address, '多福巷3号院2单元101');
    // community staff hold no person.reveal
    assert.equal((await cs.get(`/api/v1/service/emergency/${call.id}?reveal=1`)).status, 403);
    // scope: another community's staff see nothing, not even that it exists
    r = await csOther.get('/api/v1/service/emergency');
    assert.equal(r.body.total, 0);
    expectError(await csOther.get(`/api/v1/service/emergency/${call.id}`), 404, 'not_found');
    expectError(await csOther.post(`/api/v1/service/emergency/${call.id}/handle`, { note: '已上门' }), 404, 'not_found');

    // bad input on handling, nothing changes
    expectError(await cs.post(`/api/v1/service/emergency/${call.id}/handle`, {}), 400, 'required', 'note');
    expectError(await cs.post(`/api/v1/service/emergency/${call.id}/handle`, { note: '' }), 400, 'required', 'note');
    expectError(await cs.post(`/api/v1/service/emergency/${call.id}/handle`, { note: '长'.repeat(201) }), 400, 'too_long', 'note');
    expectError(await cs.post(`/api/v1/service/emergency/x/handle`, { note: '已处理' }), 404, 'not_found');
    assert.equal((await old.get('/api/v1/me/emergency')).body.call.state, 'open', 'refusals changed nothing');
    // a resident cannot handle calls, nor read the staff list
    assert.equal((await old.post(`/api/v1/service/emergency/${call.id}/handle`, { note: '好了' })).status, 403);
    assert.equal((await old.get('/api/v1/service/emergency')).status, 403);

    // the community's staff handle it: the resident sees who and what
    r = await cs.post(`/api/v1/service/emergency/${call.id}/handle`, { note: '已电话联系家属并上门查看，老人平安' });
    assert.equal(r.status, 200, r.text);
    assert.equal(r.body.state, 'handled');
    expectError(await cs.post(`/api/v1/service/emergency/${call.id}/handle`, { note: '再次' }), 409, 'already_handled');
    r = await old.get('/api/v1/me/emergency');
    assert.equal(r.body.call.state, 'handled');
    assert.equal(r.body.call.note, '已电话联系家属并上门查看，老人平安');
    assert.ok(r.body.call.handled_by_name, 'the handler named');
    // both alerts closed: the street has nothing left to do
    r = await street.get('/api/v1/alerts?kind=emergency_call&acked=0');
    assert.equal(r.body.total, 0, r.text);
    // a new press after it was handled is a new call
    r = await old.post('/api/v1/me/emergency');
    assert.equal(r.status, 201, r.text);
    assert.notEqual(r.body.call.id, call.id);
  } finally {
    csStream.close();
    stStream.close();
    otherStream.close();
  }
});

test('with staff on duty the alert names them and stays in the community; handled on the alert page', async () => {
  const now = Date.now();
  let r = await cs.post('/api/v1/service/duty', { region_code: COMMUNITY, user_id: gw.id, from: now - HOUR, to: now + 8 * HOUR });
  assert.equal(r.status, 201, r.text);
  const dutyId = r.body.id;
  r = await gw.get(`/api/v1/service/duty?region=${COMMUNITY}`);
  assert.equal(r.status, 200, r.text);
  const entry = r.body.items.find((x) => x.id === dutyId);
  assert.equal(entry.on_duty, true);
  assert.equal(entry.region_name, '多福巷社区');
  assert.ok(entry.user_name);
  // the other community's staff see no entry of this community
  assert.equal((await csOther.get('/api/v1/service/duty')).body.items.length, 0);
  expectError(await csOther.del(`/api/v1/service/duty/${dutyId}`), 404, 'not_found');

  const streetOpen = (await street.get('/api/v1/alerts?kind=emergency_call&acked=0')).body.total;
  const c = await resident({ name: '李桂兰' });
  r = await c.post('/api/v1/me/emergency');
  assert.equal(r.status, 201, r.text);
  const call = r.body.call;
  assert.equal(call.on_duty, entry.user_name);
  assert.equal(call.street_notified, false);
  r = await gw.get('/api/v1/alerts?kind=emergency_call&acked=0');
  const alert = r.body.items.find((a) => a.detail.call_id === call.id);
  assert.ok(alert, r.text);
  assert.match(alert.message, new RegExp(`值班人员：${entry.user_name}`));
  assert.equal((await street.get('/api/v1/alerts?kind=emergency_call&acked=0')).body.total, streetOpen + 1, 'the street reads the community alert in its scope');
  // another resident cannot see this call: their own is theirs alone
  const other = await resident({ name: '赵大爷' });
  r = await other.get('/api/v1/me/emergency');
  assert.equal(r.body.call, null);
  // acknowledging the alert on the console's alert page handles the call
  r = await gw.post(`/api/v1/alerts/${alert.id}/ack`, { note: '值班人员已到场' });
  assert.equal(r.status, 200, r.text);
  r = await c.get('/api/v1/me/emergency');
  assert.equal(r.body.call.state, 'handled');
  assert.equal(r.body.call.note, '值班人员已到场');
  assert.equal(r.body.call.handled_by_name, entry.user_name);
  r = await cs.get('/api/v1/service/emergency?state=handled');
  assert.ok(r.body.items.some((x) => x.id === call.id));
  expectError(await cs.get('/api/v1/service/emergency?state=closed'), 400, 'invalid_value', 'state');

  r = await cs.del(`/api/v1/service/duty/${dutyId}`);
  assert.equal(r.status, 204, r.text);
  assert.equal((await cs.get('/api/v1/service/duty')).body.items.length, 0);
});

test('staff accounts cannot call; a resident without a record is told to register', async () => {
  assert.equal((await cs.post('/api/v1/me/emergency')).status, 403); // staff hold no self.* right
  const phone = '13920009999';
  const c = ctx.client();
  await c.post('/api/v1/auth/sms/send', { phone });
  await c.post('/api/v1/auth/sms/login', { phone, code: smsCode(ctx, phone) });
  const r = await c.post('/api/v1/me/emergency');
  assert.equal(r.status, 404, r.text);
  assert.equal(r.body.error.code, 'person_not_registered');
});
