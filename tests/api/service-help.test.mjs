// Help requests through the API (docs/community-services.md "Help
// requests"): a resident asks with a photo (bad input refused and nothing
// written), reads only their own; staff list in scope (masked, filters,
// export), assign to a worker holding assist.work, the worker starts and
// finishes with a note the resident reads; the state machine refuses
// what it forbids; another community's staff see nothing. Approved
// volunteers of the community are assignees too (named masked, never by
// phone), list, start and finish theirs from the phone; another
// community's volunteer is refused, another volunteer gets 404.
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { startCityWith, residentId, smsCode, expectError, sqlRun } from './lib.mjs';

const PW = 'Passw0rd!servicehelp';
const COMMUNITY = '110101001001'; // 多福巷社区
const BUILDING = '110101001001001001'; // 1号楼
const OTHER = '110101002001'; // another street's community
const STREET = '110101001000';
const JPEG = Buffer.from([0xff, 0xd8, 0xff, 0xe0, 0, 16, 0x4a, 0x46, 0x49, 0x46, 0, 1, ...Buffer.alloc(64, 0x5a)]);
let ctx, cs, csOther, street, gw, gw2, cc, alice, bob;

let seq = 0;
async function resident(name, region = BUILDING) {
  seq += 1;
  const phone = '1392100' + String(1000 + seq).padStart(4, '0');
  const c = ctx.client();
  let r = await c.post('/api/v1/auth/sms/send', { phone });
  assert.equal(r.status, 200, r.text);
  r = await c.post('/api/v1/auth/sms/login', { phone, code: smsCode(ctx, phone) });
  assert.equal(r.status, 200, r.text);
  assert.equal((await c.post('/api/v1/me/consent', { version: 'v1' })).status, 200);
  r = await c.post('/api/v1/me/person', {
    name, id_number: residentId('110101', '19500101', 300 + seq * 2, false), region_code: region, vulnerable: ['elderly_alone'], address: '多福巷3号院2单元101',
  });
  assert.equal(r.status, 201, r.text);
  return c;
}

before(async () => {
  ctx = await startCityWith(
    {
      h_cs: ['community_staff', COMMUNITY],
      h_cs_other: ['community_staff', OTHER],
      h_street: ['street_staff', STREET],
      h_gw: ['grid_worker', COMMUNITY],
      h_gw2: ['grid_worker', COMMUNITY],
      h_cc: ['command_center', '110101000000'],
    },
    PW,
  );
  ({ h_cs: cs, h_cs_other: csOther, h_street: street, h_gw: gw, h_gw2: gw2, h_cc: cc } = ctx.as);
  alice = await resident('王秀英');
  bob = await resident('李建华');
});
after(async () => ctx?.stop());

let first; // alice's request with a photo

test('a resident asks for help: bad input refused with the field and nothing written; only their own is theirs', async () => {
  const good = { kind: 'medicine', text: '降压药吃完了，行动不便，请帮忙代购' };
  const cases = [
    [{ ...good, kind: 'food' }, 'invalid_value', 'kind'],
    [{ text: good.text }, 'required', 'kind'],
    [{ kind: 'goods' }, 'required', 'text'],
    [{ ...good, text: '' }, 'too_short', 'text'],
    [{ ...good, text: '药'.repeat(501) }, 'too_long', 'text'],
    [{ ...good, text: 5 }, 'invalid_type', 'text'],
    [{ ...good, attachments: 'x' }, 'invalid_type', 'attachments'],
    [{ ...good, attachments: ['123456'] }, 'invalid_attachment', 'attachments[0]'],
    [{ ...good, extra: 1 }, 'unknown_field', 'extra'],
  ];
  for (const [body, code, field] of cases) {
    const r = await alice.post('/api/v1/me/help', body);
    assert.equal(r.status, 400, `${JSON.stringify(body).slice(0, 80)}: ${r.text}`);
    assert.equal(r.body.error.field, field, r.text);
    if (code !== 'too_short') assert.equal(r.body.error.code, code, r.text);
  }
  // someone else's upload is not theirs to attach
  const bobs = await bob.post('/api/v1/attachments', JPEG, { 'content-type': 'image/jpeg' });
  assert.equal(bobs.status, 201, bobs.text);
  expectError(await alice.post('/api/v1/me/help', { ...good, attachments: [bobs.body.id] }), 400, 'invalid_attachment', 'attachments[0]');
  // staff are not residents
  assert.equal((await cs.post('/api/v1/me/help', good)).status, 403);
  let r = await alice.get('/api/v1/me/help');
  assert.equal(r.body.total, 0, 'nothing written by the refusals');
  assert.equal((await cs.get('/api/v1/service/help')).body.total, 0);

  const up = await alice.post('/api/v1/attachments', JPEG, { 'content-type': 'image/jpeg' });
  assert.equal(up.status, 201, up.text);
  r = await alice.post('/api/v1/me/help', { ...good, attachments: [up.body.id] });
  assert.equal(r.status, 201, r.text);
  first = r.body;
  assert.equal(first.state, 'submitted');
  assert.equal(first.state_label, '待受理');
  assert.equal(first.kind_label, '药品');
  assert.equal(first.text, good.text);
  assert.equal(first.attachments.length, 1);

  // the resident reads their own; another resident gets 404 and an empty list
  assert.equal((await alice.get(`/api/v1/me/help/${first.id}`)).body.text, good.text);
  expectError(await bob.get(`/api/v1/me/help/${first.id}`), 404, 'not_found');
  expectError(await bob.post(`/api/v1/me/help/${first.id}/cancel`), 404, 'not_found');
  assert.equal((await bob.get('/api/v1/me/help')).body.total, 0);
  expectError(await alice.get('/api/v1/me/help/abc'), 404, 'not_found');
});

test('staff: list in scope, masked, with filters and export; another community sees nothing', async () => {
  let r = await cs.get('/api/v1/service/help');
  assert.equal(r.status, 200, r.text);
  assert.equal(r.body.total, 1);
  const it = r.body.items[0];
  assert.equal(it.id, first.id);
  assert.equal(it.person_name, '王*英');
  assert.match(it.phone, /^139\*\*\*\*\d{4}$/);
  assert.equal(it.region_name, '1号楼');
  assert.equal(it.text, first.text);
  assert.equal(it.assignee_id, null);
  // the photo: readable by the community's staff, not by another community's
  r = await cs.get(`/api/v1/service/help/${first.id}`);
  assert.equal(r.status, 200, r.text);
  assert.equal(r.body.attachments.length, 1);
  assert.equal((await cs.get(`/api/v1/attachments/${r.body.attachments[0].id}`)).status, 200);
  assert.equal((await csOther.get(`/api/v1/attachments/${r.body.attachments[0].id}`)).status, 404);
  // scope: the other community's staff see nothing, not even that it exists
  assert.equal((await csOther.get('/api/v1/service/help')).body.total, 0);
  expectError(await csOther.get(`/api/v1/service/help/${first.id}`), 404, 'not_found');
  expectError(await csOther.post(`/api/v1/service/help/${first.id}/assign`, { assignee_id: csOther.id }), 404, 'not_found');
  // the street reads it; the command centre reads it in full with reveal
  assert.equal((await street.get('/api/v1/service/help')).body.total, 1);
  r = await cc.get(`/api/v1/service/help/${first.id}?reveal=1`);
  assert.equal(r.status, 200, r.text);
  assert.equal(r.body.person_name, '王秀英');
  assert.equal((await cs.get('/api/v1/service/help?reveal=1')).status, 403, 'community staff hold no person.reveal');
  // filters
  assert.equal((await cs.get('/api/v1/service/help?kind=medicine')).body.total, 1);
  assert.equal((await cs.get('/api/v1/service/help?kind=goods')).body.total, 0);
  assert.equal((await cs.get('/api/v1/service/help?state=submitted')).body.total, 1);
  assert.equal((await cs.get('/api/v1/service/help?state=done')).body.total, 0);
  assert.equal((await cs.get(`/api/v1/service/help?region=${BUILDING}`)).body.total, 1);
  assert.equal((await cc.get(`/api/v1/service/help?region=${OTHER}`)).body.total, 0);
  expectError(await cs.get('/api/v1/service/help?state=closed'), 400, 'invalid_parameter', 'state');
  expectError(await cs.get('/api/v1/service/help?kind=x'), 400, 'invalid_parameter', 'kind');
  expectError(await cs.get('/api/v1/service/help?open=2'), 400, 'invalid_parameter', 'open');
  expectError(await cs.get('/api/v1/service/help?mine=yes'), 400, 'invalid_parameter', 'mine');
  expectError(await cs.get('/api/v1/service/help?assignee_id=x'), 400, 'invalid_parameter', 'assignee_id');
  expectError(await cs.get(`/api/v1/service/help?region=${OTHER}`), 400, 'invalid_region', 'region');
  expectError(await cs.get('/api/v1/service/help?region=abc'), 400, 'invalid_region', 'region');
  expectError(await cs.get('/api/v1/service/help?format=pdf'), 400, 'invalid_parameter', 'format');
  // export: the masked rows under a Chinese header
  r = await cs.get('/api/v1/service/help?format=csv');
  assert.equal(r.status, 200, r.text);
  assert.match(r.headers.get('content-type'), /text\/csv/);
  assert.match(r.text, /编号,提交时间,求助人,联系电话/);
  assert.match(r.text, /王\*英/);
  assert.match(r.text, /降压药吃完了/);
  assert.doesNotMatch(r.text, /王秀英/);
  r = await cs.get('/api/v1/service/help?format=xlsx');
  assert.equal(r.status, 200);
  assert.match(r.headers.get('content-type'), /spreadsheetml/);
});

test('assign, start, finish: the resident reads the handler and the outcome; the state machine holds', async () => {
  const url = `/api/v1/service/help/${first.id}`;
  // who may take it: the community's assist.work holders, not another community's
  let r = await cs.get(`/api/v1/service/help/assignees?region=${COMMUNITY}`);
  assert.equal(r.status, 200, r.text);
  const ids = r.body.items.map((u) => u.id);
  assert.ok(ids.includes(gw.id) && ids.includes(cs.id), r.text);
  assert.ok(!ids.includes(csOther.id) && !ids.includes(street.id), 'street staff hold no assist.work');
  expectError(await cs.get('/api/v1/service/help/assignees?region=x'), 400, 'invalid_region', 'region');
  expectError(await cs.get(`/api/v1/service/help/assignees?region=${OTHER}`), 400, 'invalid_region', 'region');

  // bad assignments change nothing
  expectError(await cs.post(`${url}/assign`, { assignee_id: csOther.id }), 400, 'invalid_user', 'assignee_id');
  expectError(await cs.post(`${url}/assign`, { assignee_id: street.id }), 400, 'invalid_user', 'assignee_id');
  expectError(await cs.post(`${url}/assign`, { assignee_id: 'x' }), 400, 'invalid_user', 'assignee_id');
  expectError(await cs.post(`${url}/assign`, {}), 400, 'required', 'assignee_id');
  expectError(await cs.post(`${url}/assign`, { assignee_id: gw.id, note: 'x'.repeat(201) }), 400, 'too_long', 'note');
  assert.equal((await gw.post(`${url}/assign`, { assignee_id: gw.id })).status, 403, 'grid workers do not assign');
  assert.equal((await street.post(`${url}/start`, {})).status, 403, 'the street only reads');
  expectError(await cs.post(`${url}/start`, {}), 409, 'invalid_transition'); // nobody assigned yet
  expectError(await cs.post('/api/v1/service/help/123/start', {}), 404, 'not_found');
  assert.equal((await cs.get(url)).body.state, 'submitted', 'nothing changed');

  r = await cs.post(`${url}/assign`, { assignee_id: gw.id, note: '已安排网格员' });
  assert.equal(r.status, 200, r.text);
  assert.equal(r.body.state, 'assigned');
  assert.equal(r.body.assignee_id, gw.id);
  r = await alice.get(`/api/v1/me/help/${first.id}`);
  assert.equal(r.body.state_label, '已指派');
  assert.equal(r.body.assignee_name, 'h_gw');
  assert.equal(r.body.note, '已安排网格员');
  // the worker's own list
  assert.equal((await gw.get('/api/v1/service/help?mine=1')).body.total, 1);
  assert.equal((await gw2.get('/api/v1/service/help?mine=1')).body.total, 0);
  // another worker may not act on it
  expectError(await gw2.post(`${url}/start`, {}), 403, 'forbidden');
  r = await gw.post(`${url}/start`, { note: '正在药店购买' });
  assert.equal(r.status, 200, r.text);
  assert.equal(r.body.state, 'in_progress');
  // once started the resident can no longer withdraw it
  expectError(await alice.post(`/api/v1/me/help/${first.id}/cancel`), 409, 'invalid_transition');
  expectError(await gw.post(`${url}/start`, {}), 409, 'invalid_transition');
  expectError(await gw.post(`${url}/done`, {}), 400, 'required', 'note');
  expectError(await gw.post(`${url}/done`, { note: '' }), 400, 'required', 'note');
  assert.equal((await cs.get(`/api/v1/service/help?open=1`)).body.total, 1);
  r = await gw.post(`${url}/done`, { note: '已送药上门，老人签收' });
  assert.equal(r.status, 200, r.text);
  assert.equal(r.body.state, 'done');
  assert.ok(r.body.closed_at > 0);
  expectError(await gw.post(`${url}/done`, { note: '再次' }), 409, 'invalid_transition');
  expectError(await cs.post(`${url}/cancel`, { note: '关闭' }), 409, 'invalid_transition');
  expectError(await cs.post(`${url}/assign`, { assignee_id: gw2.id }), 409, 'invalid_transition');
  assert.equal((await cs.get(`/api/v1/service/help?open=1`)).body.total, 0);
  assert.equal((await cs.get(`/api/v1/service/help?state=done`)).body.total, 1);
  r = await alice.get('/api/v1/me/help');
  assert.equal(r.body.items[0].state_label, '已完成');
  assert.equal(r.body.items[0].note, '已送药上门，老人签收');
  assert.equal(r.body.items[0].assignee_name, 'h_gw');
});

test('cancelling: the resident before work starts, staff with a reason', async () => {
  let r = await bob.post('/api/v1/me/help', { kind: 'goods', text: '需要米和油' });
  assert.equal(r.status, 201, r.text);
  const a = r.body;
  r = await bob.post(`/api/v1/me/help/${a.id}/cancel`);
  assert.equal(r.status, 200, r.text);
  assert.equal(r.body.state, 'cancelled');
  expectError(await bob.post(`/api/v1/me/help/${a.id}/cancel`), 409, 'invalid_transition');
  r = await bob.post('/api/v1/me/help', { kind: 'counselling', text: '独居，心情不好' });
  const b = r.body;
  assert.equal((await cs.post(`/api/v1/service/help/${b.id}/assign`, { assignee_id: gw2.id })).status, 200);
  // reassigning an assigned one: the new handler takes it
  r = await cs.post(`/api/v1/service/help/${b.id}/assign`, { assignee_id: gw.id });
  assert.equal(r.status, 200, r.text);
  assert.equal(r.body.assignee_id, gw.id);
  expectError(await gw.post(`/api/v1/service/help/${b.id}/cancel`, {}), 400, 'required', 'note');
  r = await cs.post(`/api/v1/service/help/${b.id}/cancel`, { note: '已转介心理热线' });
  assert.equal(r.status, 200, r.text);
  assert.equal(r.body.state, 'cancelled');
  r = await bob.get(`/api/v1/me/help/${b.id}`);
  assert.equal(r.body.state_label, '已取消');
  assert.equal(r.body.note, '已转介心理热线');
  assert.equal((await cs.get('/api/v1/service/help?state=cancelled')).body.total, 2);
  assert.equal((await bob.get('/api/v1/me/help?page_size=1')).body.items.length, 1);
  assert.equal((await bob.get('/api/v1/me/help?page=0')).status, 400);
});

test('the staff list flags requesters in a vulnerable group or on observation, as filters; the assignee sees theirs on the workbench', async () => {
  const mine = async (c) => (await c.get('/api/v1/workbench')).body.entries.find((e) => e.key === 'help_mine');
  const before = (await mine(gw2)).count;
  assert.equal((await mine(cs)).console, '/service?tab=help&mine=1');
  assert.equal((await street.get('/api/v1/workbench')).body.entries.some((e) => e.key === 'help_mine'), false, 'only for holders of assist.work');
  // bob asks; alice is put on home observation
  let r = await bob.post('/api/v1/me/help', { kind: 'goods', text: '需要代买米面' });
  assert.equal(r.status, 201, r.text);
  const bobs = r.body;
  const alicePerson = (await cs.get(`/api/v1/service/help/${first.id}`)).body.person_id;
  r = await cs.post('/api/v1/observations', { person_id: alicePerson, kind: 'home_isolation', source: 'grid_patrol' });
  assert.equal(r.status, 201, r.text);
  r = await cs.get('/api/v1/service/help?page_size=100');
  const byId = Object.fromEntries(r.body.items.map((h) => [h.id, h]));
  assert.equal(byId[first.id].observed, true);
  assert.equal(byId[first.id].vulnerable, true);
  assert.equal(byId[bobs.id].observed, false, 'bob is not under observation');
  assert.equal(byId[bobs.id].vulnerable, true);
  r = await cs.get('/api/v1/service/help?observed=1&page_size=100');
  assert.ok(r.body.items.length >= 1 && r.body.items.every((h) => h.observed), 'the filter keeps only the observed');
  assert.ok(!r.body.items.some((h) => h.id === bobs.id));
  assert.equal((await cs.get('/api/v1/service/help?vulnerable=1&observed=1')).body.total, r.body.total);
  expectError(await cs.get('/api/v1/service/help?observed=yes'), 400, 'invalid_parameter', 'observed');
  expectError(await cs.get('/api/v1/service/help?vulnerable=2'), 400, 'invalid_parameter', 'vulnerable');
  r = await cs.get('/api/v1/service/help?format=csv&observed=1');
  assert.match(r.text, /重点关注/);
  assert.match(r.text, /重点人群、隔离观察/);
  // assignment: the assignee's workbench counts it at once
  r = await cs.post(`/api/v1/service/help/${bobs.id}/assign`, { assignee_id: gw2.id });
  assert.equal(r.status, 200, r.text);
  assert.equal((await mine(gw2)).count, before + 1);
  assert.equal((await cs.post(`/api/v1/service/help/${bobs.id}/cancel`, { note: '已由家属代买' })).status, 200);
  assert.equal((await mine(gw2)).count, before, 'a closed request leaves the count');
});

test('volunteers of the community take requests: listed masked, assignable; another community refused; they start and finish theirs, another volunteer gets 404', async () => {
  // three volunteers: two of the community, one of another community
  const body = { skills: '跑腿代购', availability: '工作日晚上' };
  const apply = async (c, staff) => {
    let r = await c.post('/api/v1/me/volunteer', body);
    assert.equal(r.status, 201, r.text);
    r = await staff.post(`/api/v1/volunteers/${r.body.id}/approve`, {});
    assert.equal(r.status, 200, r.text);
    return (await c.get('/api/v1/me')).body;
  };
  const v1 = await resident('周志强');
  const v2 = await resident('吴桂兰');
  const vOther = await resident('郑海涛', OTHER);
  const pending = await resident('孙丽');
  const [u1, u2, uOther] = [await apply(v1, cs), await apply(v2, cs), await apply(vOther, csOther)];
  const id1 = u1.id ?? u1.user?.id, id2 = u2.id ?? u2.user?.id, idOther = uOther.id ?? uOther.user?.id;
  assert.ok(id1 && id2 && idOther, JSON.stringify(u1));
  assert.equal((await pending.post('/api/v1/me/volunteer', body)).status, 201); // not approved
  const pendingId = (await pending.get('/api/v1/me')).body;

  // the assignee list: staff as before, then the community's volunteers, masked
  let r = await cs.get(`/api/v1/service/help/assignees?region=${COMMUNITY}`);
  assert.equal(r.status, 200, r.text);
  const byId = Object.fromEntries(r.body.items.map((u) => [u.id, u]));
  assert.equal(byId[gw.id]?.kind, 'staff');
  assert.equal(byId[id1]?.name, '志愿者 周*强', r.text);
  assert.equal(byId[id1].kind, 'volunteer');
  assert.equal(byId[id1].region_name, '多福巷社区');
  assert.equal(byId[id2]?.name, '志愿者 吴*兰');
  assert.ok(!byId[idOther], 'another community\'s volunteer is not listed');
  assert.ok(!byId[pendingId.id ?? pendingId.user?.id], 'an applicant not approved is not listed');
  assert.ok(!/1392100|周志强|\*\*\*\*/.test(r.text), 'no phone and no full name in the list');
  r = await csOther.get(`/api/v1/service/help/assignees?region=${OTHER}`);
  assert.ok(r.body.items.some((u) => u.id === idOther) && !r.body.items.some((u) => u.id === id1));

  // bob asks; another community's volunteer is refused, nothing written
  r = await bob.post('/api/v1/me/help', { kind: 'goods', text: '请帮忙买一袋大米送到家' });
  assert.equal(r.status, 201, r.text);
  const req = r.body;
  const url = `/api/v1/service/help/${req.id}`;
  expectError(await cs.post(`${url}/assign`, { assignee_id: idOther }), 400, 'invalid_user', 'assignee_id');
  expectError(await cs.post(`${url}/assign`, { assignee_id: pendingId.id ?? pendingId.user?.id }), 400, 'invalid_user', 'assignee_id');
  assert.equal(sqlRun(ctx, `SELECT state || ',' || assignee_id FROM help_requests WHERE id = ${req.id}`).trim(), 'submitted,0', 'nothing written');
  r = await cs.post(`${url}/assign`, { assignee_id: id1, note: '请志愿者代买' });
  assert.equal(r.status, 200, r.text);
  assert.equal(r.body.assignee_id, id1);
  assert.equal(r.body.assignee_name, '志愿者 周*强', 'the staff list names the volunteer masked');
  assert.equal((await bob.get(`/api/v1/me/help/${req.id}`)).body.assignee_name, '志愿者 周*强', 'the resident too, never a phone');

  // the volunteer's list: masked requester, the building, open first
  r = await v1.get('/api/v1/me/volunteer/help');
  assert.equal(r.status, 200, r.text);
  assert.equal(r.body.total, 1);
  const item = r.body.items[0];
  assert.equal(item.id, req.id);
  assert.equal(item.person_name, '李*华');
  assert.equal(item.building_name, '1号楼');
  assert.equal(item.kind_label, '生活物资');
  assert.equal(item.text, '请帮忙买一袋大米送到家');
  assert.equal(item.state, 'assigned');
  assert.ok(!('phone' in item) && !r.text.includes('李建华'));
  // others see nothing of it: another volunteer, another community's, a non-volunteer, staff
  assert.equal((await v2.get('/api/v1/me/volunteer/help')).body.total, 0);
  assert.equal((await vOther.get('/api/v1/me/volunteer/help')).body.total, 0);
  expectError(await pending.get('/api/v1/me/volunteer/help'), 403, 'volunteer_not_approved');
  expectError(await cs.get('/api/v1/me/volunteer/help'), 403, 'forbidden');
  expectError(await v1.get('/api/v1/me/volunteer/help?page=0'), 400, 'invalid_parameter', 'page');
  // the staff routes are not theirs (assist.work comes with the role): the phone's routes are
  expectError(await v1.post(`${url}/start`, {}), 403, 'forbidden');
  assert.equal((await v1.get(url)).status, 403, 'no service.read');
  const vurl = `/api/v1/me/volunteer/help/${req.id}`;
  expectError(await v2.post(`${vurl}/start`, {}), 404, 'not_found');
  expectError(await vOther.post(`${vurl}/done`, { note: '完成' }), 404, 'not_found');
  expectError(await pending.post(`${vurl}/start`, {}), 403, 'volunteer_not_approved');
  expectError(await v1.post('/api/v1/me/volunteer/help/123/start', {}), 404, 'not_found');
  expectError(await v1.post('/api/v1/me/volunteer/help/x/start', {}), 404, 'not_found');
  expectError(await v1.post(`${vurl}/start`, { note: 'x'.repeat(201) }), 400, 'too_long', 'note');
  expectError(await v1.post(`${vurl}/start`, { extra: 1 }), 400, 'unknown_field', 'extra');
  assert.equal(sqlRun(ctx, `SELECT state FROM help_requests WHERE id = ${req.id}`).trim(), 'assigned', 'refusals change nothing');
  const refused = sqlRun(ctx, `SELECT COUNT(*) FROM audit_log WHERE action = 'help.start' AND object_id = ${req.id} AND result <> 'ok'`).trim();
  assert.ok(Number(refused) >= 1, 'the refusal is audited');

  // the volunteer starts and finishes it (a note required); the resident reads the outcome
  r = await v1.post(`${vurl}/start`, { note: '正在超市购买' });
  assert.equal(r.status, 200, r.text);
  assert.equal(r.body.state, 'in_progress');
  expectError(await v1.post(`${vurl}/start`, {}), 409, 'invalid_transition');
  expectError(await v1.post(`${vurl}/done`, {}), 400, 'required', 'note');
  r = await v1.post(`${vurl}/done`, { note: '大米已送到，居民签收' });
  assert.equal(r.status, 200, r.text);
  assert.equal(r.body.state, 'done');
  assert.ok(r.body.closed_at > 0);
  r = await bob.get(`/api/v1/me/help/${req.id}`);
  assert.equal(r.body.state_label, '已完成');
  assert.equal(r.body.note, '大米已送到，居民签收');
  assert.equal(sqlRun(ctx, `SELECT COUNT(*) FROM audit_log WHERE action = 'help.done' AND object_id = ${req.id} AND result = 'ok'`).trim(), '1');

  // open first: a second request assigned to v1 comes before the finished one
  r = await alice.post('/api/v1/me/help', { kind: 'medicine', text: '请帮忙取药' });
  assert.equal(r.status, 201, r.text);
  assert.equal((await cs.post(`/api/v1/service/help/${r.body.id}/assign`, { assignee_id: id1 })).status, 200);
  r = await v1.get('/api/v1/me/volunteer/help');
  assert.deepEqual(r.body.items.map((h) => h.state), ['assigned', 'done']);
});
