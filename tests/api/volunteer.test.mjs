// Volunteers (issue 14, docs/community-life.md "Volunteers"): a resident
// applies (bound to their person record), community staff approve and the
// account gains the role `volunteer` (assist.work); staff publish a project,
// volunteers of the community sign up, never more than the places (two at
// once for the last place: exactly one), staff record the service time, the
// volunteer sees history and total. Bad input on every endpoint, other
// communities refused, names masked for staff.
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { startCity, resident, expectError, auditWhere, PW, COMMUNITY, OTHER_COMMUNITY } from './devlib.mjs';
import { sqlRun, smsCode, residentId } from './lib.mjs';

const H = 3600000;
let ctx, cs, csOther, a, b, c, outsider, bare, vA, project, soon;

before(async () => {
  ctx = await startCity({
    setup: async (x) => {
      x.must(['user', 'add', '--username', 'cstaff', '--password', PW, '--role', 'community_staff', '--region', COMMUNITY]);
      x.must(['user', 'add', '--username', 'cs_other', '--password', PW, '--role', 'community_staff', '--region', OTHER_COMMUNITY]);
    },
  });
  cs = ctx.client();
  await cs.login('cstaff', PW);
  csOther = ctx.client();
  await csOther.login('cs_other', PW);
  a = await resident(ctx, COMMUNITY, '张三');
  b = await resident(ctx, COMMUNITY, '李四');
  c = await resident(ctx, COMMUNITY, '赵六');
  outsider = await resident(ctx, OTHER_COMMUNITY, '钱七');
  // a resident signed in but not registered: no real name to bind to
  bare = ctx.client();
  const phone = '13799990001';
  assert.equal((await bare.post('/api/v1/auth/sms/send', { phone })).status, 200);
  assert.equal((await bare.post('/api/v1/auth/sms/login', { phone, code: smsCode(ctx, phone) })).status, 200);
});
after(async () => {
  await ctx?.stop();
});

test('residents apply bound to their person record; bad input refused, nothing written', async () => {
  const body = { skills: '驾驶、心理疏导', availability: '周末全天' };
  let r = await a.get('/api/v1/me/volunteer');
  assert.equal(r.status, 200, r.text);
  assert.equal(r.body.application, null);
  expectError(await a.post('/api/v1/me/volunteer', { ...body, skills: '' }), 400, 'required', 'skills');
  expectError(await a.post('/api/v1/me/volunteer', { ...body, availability: 'a\nb' }), 400, 'invalid_value', 'availability');
  expectError(await a.post('/api/v1/me/volunteer', { ...body, skills: 'x'.repeat(201) }), 400, 'too_long', 'skills');
  expectError(await a.post('/api/v1/me/volunteer', { ...body, extra: 1 }), 400, 'unknown_field', 'extra');
  expectError(await bare.post('/api/v1/me/volunteer', body), 404, 'person_not_registered');
  expectError(await cs.post('/api/v1/me/volunteer', body), 403, 'forbidden');
  assert.equal(sqlRun(ctx, 'SELECT COUNT(*) FROM volunteers').trim(), '0', 'nothing written');
  r = await a.post('/api/v1/me/volunteer', body);
  assert.equal(r.status, 201, r.text);
  vA = r.body;
  assert.equal(vA.status, 'pending');
  assert.equal(vA.name, '张三', 'the real name of the person record');
  assert.equal(vA.region_name, '多福巷社区');
  expectError(await a.post('/api/v1/me/volunteer', body), 409, 'volunteer_applied');
  assert.equal(sqlRun(ctx, `SELECT COUNT(*) FROM volunteers WHERE person_id = ${a.person.person?.id ?? a.person.id}`).trim(), '1', 'bound to the person');
  for (const x of [b, c, outsider]) assert.equal((await x.post('/api/v1/me/volunteer', body)).status, 201);
  // not yet approved: no projects
  expectError(await a.get('/api/v1/me/volunteer/projects'), 403, 'volunteer_not_approved');
  expectError(await bare.get('/api/v1/me/volunteer/projects'), 404, 'person_not_registered');
});

test('staff see their community masked, approve (role volunteer) and reject', async () => {
  const wb = async (cl) => (await cl.get('/api/v1/workbench')).body.entries.find((x) => x.key === 'volunteers_pending')?.count;
  assert.equal(await wb(cs), 3, 'the workbench counts the community\'s pending applications');
  assert.equal(await wb(csOther), 1);
  let r = await cs.get('/api/v1/volunteers?status=pending');
  assert.equal(r.status, 200, r.text);
  assert.equal(r.body.total, 3, 'the other community\'s applicant is not listed');
  const mine = r.body.items.find((x) => x.id === vA.id);
  assert.equal(mine.name, '张*');
  assert.ok(mine.phone.includes('****'));
  expectError(await cs.get('/api/v1/volunteers?status=gone'), 400, 'invalid_parameter', 'status');
  r = await cs.get('/api/v1/volunteers?format=csv');
  assert.equal(r.status, 200);
  assert.ok(r.text.includes('张*') && !r.text.includes('张三'), 'the export is masked');
  expectError(await csOther.get(`/api/v1/volunteers/${vA.id}`), 404, 'volunteer_not_found');
  expectError(await csOther.post(`/api/v1/volunteers/${vA.id}/approve`, {}), 404, 'volunteer_not_found');
  expectError(await a.get('/api/v1/volunteers'), 403, 'forbidden');
  expectError(await a.post(`/api/v1/volunteers/${vA.id}/approve`, {}), 403, 'forbidden');
  // the role before and after, as the account sees it
  assert.ok(!(await a.get('/api/v1/me')).body.roles?.includes('volunteer'));
  r = await cs.post(`/api/v1/volunteers/${vA.id}/approve`, {});
  assert.equal(r.status, 200, r.text);
  assert.equal(r.body.status, 'approved');
  expectError(await cs.post(`/api/v1/volunteers/${vA.id}/approve`, {}), 409, 'volunteer_state');
  const me = (await a.get('/api/v1/me')).body;
  assert.ok(JSON.stringify(me).includes('volunteer'), 'the account holds the role');
  assert.ok(JSON.stringify(me).includes('assist.work'), 'the role grants assist.work');
  r = await cs.get('/api/v1/volunteers?status=pending');
  const ids = Object.fromEntries(r.body.items.map((x) => [x.name, x.id]));
  assert.equal((await cs.post(`/api/v1/volunteers/${ids['李*']}/approve`, {})).status, 200);
  assert.equal((await cs.post(`/api/v1/volunteers/${ids['赵*']}/approve`, {})).status, 200);
  assert.equal(await wb(cs), 0, 'reviewed: off the workbench');
  // reject: a reason is required; the resident may apply again
  const oid = (await csOther.get('/api/v1/volunteers')).body.items[0].id;
  expectError(await csOther.post(`/api/v1/volunteers/${oid}/reject`, {}), 400, 'required', 'note');
  expectError(await csOther.post(`/api/v1/volunteers/${oid}/reject`, { note: '' }), 400, 'required', 'note');
  r = await csOther.post(`/api/v1/volunteers/${oid}/reject`, { note: '暂不需要' });
  assert.equal(r.status, 200, r.text);
  assert.equal(r.body.status, 'rejected');
  r = await outsider.get('/api/v1/me/volunteer');
  assert.equal(r.body.application.note, '暂不需要');
  r = await outsider.post('/api/v1/me/volunteer', { skills: '搬运', availability: '晚上' });
  assert.equal(r.status, 201, r.text);
  assert.equal(r.body.status, 'pending');
  assert.equal(r.body.id, oid, 'the rejected application is reopened');
  expectError(await cs.post('/api/v1/volunteers/abc/approve', {}), 404, 'not_found');
});

test('staff publish projects; bad input refused', async () => {
  const now = Date.now();
  const body = { region_code: COMMUNITY, title: '核酸检测秩序维护', place: '多福巷社区广场', content: '引导排队', starts_at: now + 2 * H, ends_at: now + 5 * H, places: 2 };
  expectError(await cs.post('/api/v1/volunteer-projects', { ...body, title: '' }), 400, 'required', 'title');
  expectError(await cs.post('/api/v1/volunteer-projects', { ...body, place: 'a\tb' }), 400, 'invalid_value', 'place');
  expectError(await cs.post('/api/v1/volunteer-projects', { ...body, places: 0 }), 400, 'out_of_range', 'places');
  expectError(await cs.post('/api/v1/volunteer-projects', { ...body, places: 1001 }), 400, 'out_of_range', 'places');
  expectError(await cs.post('/api/v1/volunteer-projects', { ...body, places: '2' }), 400, 'invalid_type', 'places');
  expectError(await cs.post('/api/v1/volunteer-projects', { ...body, ends_at: body.starts_at }), 400, 'invalid_period', 'ends_at');
  expectError(await cs.post('/api/v1/volunteer-projects', { ...body, starts_at: now - 5 * H, ends_at: now - H }), 400, 'invalid_period', 'ends_at');
  expectError(await cs.post('/api/v1/volunteer-projects', { ...body, ends_at: body.starts_at + 32 * 24 * H }), 400, 'invalid_period', 'ends_at');
  expectError(await cs.post('/api/v1/volunteer-projects', { ...body, region_code: OTHER_COMMUNITY }), 400, 'invalid_region', 'region_code');
  expectError(await cs.post('/api/v1/volunteer-projects', { ...body, region_code: '110101001' }), 400, 'invalid_region', 'region_code');
  expectError(await cs.post('/api/v1/volunteer-projects', { ...body, region_code: 'x' }), 400, 'invalid_region', 'region_code');
  expectError(await a.post('/api/v1/volunteer-projects', body), 403, 'forbidden');
  assert.equal(sqlRun(ctx, 'SELECT COUNT(*) FROM volunteer_projects').trim(), '0', 'nothing written');
  let r = await cs.post('/api/v1/volunteer-projects', body);
  assert.equal(r.status, 201, r.text);
  project = r.body;
  assert.equal(project.region_name, '多福巷社区');
  assert.equal(project.taken, 0);
  // a project already running, for the service hours
  r = await cs.post('/api/v1/volunteer-projects', { ...body, title: '物资配送', starts_at: now - H, ends_at: now + H, places: 5 });
  assert.equal(r.status, 201, r.text);
  soon = r.body;
  r = await cs.get('/api/v1/volunteer-projects');
  assert.equal(r.body.total, 2);
  assert.equal((await csOther.get('/api/v1/volunteer-projects')).body.total, 0);
});

test('sign-up: the last place goes to exactly one of two at once; full, twice, other community', async () => {
  let r = await a.get('/api/v1/me/volunteer/projects');
  assert.equal(r.status, 200, r.text);
  assert.deepEqual(r.body.items.map((x) => x.title).sort(), ['物资配送', '核酸检测秩序维护'].sort());
  assert.equal(r.body.items[0].signed_up, false);
  r = await a.post(`/api/v1/me/volunteer/projects/${project.id}/signup`, {});
  assert.equal(r.status, 201, r.text);
  assert.equal(r.body.taken, 1);
  assert.equal(r.body.signed_up, true);
  expectError(await a.post(`/api/v1/me/volunteer/projects/${project.id}/signup`, {}), 409, 'already_signed_up');
  // b and c race for the last place
  const [rb, rc] = await Promise.all([
    b.post(`/api/v1/me/volunteer/projects/${project.id}/signup`, {}),
    c.post(`/api/v1/me/volunteer/projects/${project.id}/signup`, {}),
  ]);
  const codes = [rb.status, rc.status].sort();
  assert.deepEqual(codes, [201, 409], rb.text + rc.text);
  const loser = rb.status === 409 ? rb : rc;
  expectError(loser, 409, 'project_full');
  assert.equal(sqlRun(ctx, `SELECT taken, (SELECT COUNT(*) FROM volunteer_signups WHERE project_id = ${project.id}) FROM volunteer_projects WHERE id = ${project.id}`).trim(), '2|2');
  // the outsider (another community, not approved) and unknown ids
  expectError(await outsider.post(`/api/v1/me/volunteer/projects/${project.id}/signup`, {}), 403, 'volunteer_not_approved');
  expectError(await a.post('/api/v1/me/volunteer/projects/123/signup', {}), 404, 'project_not_found');
  expectError(await a.post('/api/v1/me/volunteer/projects/x/signup', {}), 404, 'not_found');
  // withdraw before the start returns the place; a started one cannot be withdrawn
  r = await a.del(`/api/v1/me/volunteer/projects/${project.id}/signup`);
  assert.equal(r.status, 200, r.text);
  expectError(await a.del(`/api/v1/me/volunteer/projects/${project.id}/signup`), 404, 'signup_not_found');
  const third = rb.status === 409 ? b : c;
  assert.equal((await third.post(`/api/v1/me/volunteer/projects/${project.id}/signup`, {})).status, 201, 'the place came back');
  assert.equal((await a.post(`/api/v1/me/volunteer/projects/${soon.id}/signup`, {})).status, 201);
  expectError(await a.del(`/api/v1/me/volunteer/projects/${soon.id}/signup`), 409, 'project_started');
});

test('staff record service hours; the volunteer sees history and total', async () => {
  let r = await csOther.get(`/api/v1/volunteer-projects/${soon.id}/signups`);
  expectError(r, 404, 'project_not_found');
  r = await cs.get(`/api/v1/volunteer-projects/${soon.id}/signups`);
  assert.equal(r.status, 200, r.text);
  assert.equal(r.body.items.length, 1);
  const sg = r.body.items[0];
  assert.equal(sg.name, '张*');
  expectError(await cs.post(`/api/v1/volunteer-signups/${sg.id}/hours`, { minutes: 0 }), 400, 'out_of_range', 'minutes');
  expectError(await cs.post(`/api/v1/volunteer-signups/${sg.id}/hours`, { minutes: 1441 }), 400, 'out_of_range', 'minutes');
  expectError(await cs.post(`/api/v1/volunteer-signups/${sg.id}/hours`, { minutes: 121 }), 400, 'out_of_range', 'minutes');
  expectError(await cs.post(`/api/v1/volunteer-signups/${sg.id}/hours`, {}), 400, 'required', 'minutes');
  expectError(await csOther.post(`/api/v1/volunteer-signups/${sg.id}/hours`, { minutes: 60 }), 404, 'signup_not_found');
  expectError(await a.post(`/api/v1/volunteer-signups/${sg.id}/hours`, { minutes: 60 }), 403, 'forbidden');
  // the project not started yet: no hours
  const pending = (await cs.get(`/api/v1/volunteer-projects/${project.id}/signups`)).body.items[0];
  expectError(await cs.post(`/api/v1/volunteer-signups/${pending.id}/hours`, { minutes: 60 }), 409, 'project_not_started');
  assert.equal(sqlRun(ctx, 'SELECT COUNT(*) FROM volunteer_signups WHERE minutes > 0').trim(), '0', 'nothing written');
  const due = async (cl) => (await cl.get('/api/v1/workbench')).body.entries.find((x) => x.key === 'volunteer_hours_due');
  let d = await due(cs);
  assert.equal(d.count, 1, 'the started project\'s sign-up waits for its time (the future one does not)');
  assert.equal(d.mobile, '/staff/volunteer-hours');
  assert.equal((await due(csOther)).count, 0);
  r = await cs.post(`/api/v1/volunteer-signups/${sg.id}/hours`, { minutes: 90 });
  assert.equal(r.status, 200, r.text);
  assert.equal((await due(cs)).count, 0, 'recorded: off the workbench');
  assert.equal(r.body.minutes, 90);
  r = await a.get('/api/v1/me/volunteer');
  assert.equal(r.body.minutes, 90);
  assert.deepEqual(r.body.items.map((x) => [x.title, x.minutes]), [['物资配送', 90]]);
  r = await cs.get(`/api/v1/volunteers/${vA.id}`);
  assert.equal(r.status, 200, r.text);
  assert.equal(r.body.minutes, 90);
  assert.equal(r.body.history.length, 1);
  r = await cs.get('/api/v1/volunteers?status=approved');
  assert.equal(r.body.items.find((x) => x.id === vA.id).minutes, 90);
  // the audit trail: the write, and the refused one of the other community
  const ok = (x) => String(x.object_id) === String(sg.id) && x.result === 'ok';
  assert.ok((await auditWhere(ctx, 'action=volunteer.hours', ok)).some(ok), 'the write is audited');
});

test('a volunteer checks in for the elderly of their own community only (assist.work narrowed)', async () => {
  // one elderly person living alone (enrolled by default) in each community
  const elder = async (cl, region, name, n) => {
    const r = await cl.post('/api/v1/persons', { name, id_number: residentId('110101', '19400101', n), region_code: region, address: '多福巷9号', vulnerable: ['elderly_alone'] });
    assert.equal(r.status, 201, r.text);
    return String(r.body.id);
  };
  const here = await elder(cs, COMMUNITY, '孙奶奶', 901);
  const there = await elder(csOther, OTHER_COMMUNITY, '周爷爷', 903);
  const count = () => sqlRun(ctx, `SELECT COUNT(*) FROM care_checkins WHERE person_id IN (${here}, ${there})`).trim();
  // the volunteer's account scope is the whole city: the other community's
  // person must not be found, nothing written, the refusal audited
  expectError(await a.post('/api/v1/service/care/checkins', { person_id: there }), 404, 'not_found', 'person_id');
  assert.equal(count(), '0', 'nothing written');
  const refused = (x) => String(x.object_id) === there && x.result === 'not_found';
  assert.ok((await auditWhere(ctx, 'action=care.checkin', refused)).some(refused), 'the refusal is audited');
  // positive control: their own community's person
  let r = await a.post('/api/v1/service/care/checkins', { person_id: here, feeling: 'good' });
  assert.equal(r.status, 201, r.text);
  assert.equal(count(), '1');
  // staff of the other community still reach theirs (staff: their own scope)
  r = await csOther.post('/api/v1/service/care/checkins', { person_id: there });
  assert.equal(r.status, 201, r.text);
  // a resident who is not a volunteer holds no assist.work at all
  expectError(await outsider.post('/api/v1/service/care/checkins', { person_id: there }), 403, 'forbidden');
});

let fut;
test('revoking a volunteer: role removed at once, future sign-ups dropped, history kept', async () => {
  const now = Date.now();
  let r = await cs.post('/api/v1/volunteer-projects', { region_code: COMMUNITY, title: '楼道消杀', place: '多福巷1号楼', starts_at: now + 24 * H, ends_at: now + 26 * H, places: 3 });
  assert.equal(r.status, 201, r.text);
  fut = r.body;
  for (const x of [a, b, c]) assert.equal((await x.post(`/api/v1/me/volunteer/projects/${fut.id}/signup`, {})).status, 201);
  expectError(await cs.post(`/api/v1/volunteers/${vA.id}/revoke`, {}), 400, 'required', 'note');
  expectError(await cs.post(`/api/v1/volunteers/${vA.id}/revoke`, { note: 'x'.repeat(201) }), 400, 'too_long', 'note');
  expectError(await csOther.post(`/api/v1/volunteers/${vA.id}/revoke`, { note: '缺勤' }), 404, 'volunteer_not_found');
  expectError(await a.post(`/api/v1/volunteers/${vA.id}/revoke`, { note: '缺勤' }), 403, 'forbidden');
  const pendingId = (await csOther.get('/api/v1/volunteers?status=pending')).body.items[0].id;
  expectError(await csOther.post(`/api/v1/volunteers/${pendingId}/revoke`, { note: '缺勤' }), 409, 'volunteer_state');
  assert.equal(sqlRun(ctx, `SELECT status FROM volunteers WHERE id = ${vA.id}`).trim(), 'approved', 'nothing written');
  r = await cs.post(`/api/v1/volunteers/${vA.id}/revoke`, { note: '多次无故缺勤' });
  assert.equal(r.status, 200, r.text);
  assert.equal(r.body.status, 'revoked');
  assert.equal(r.body.status_label, '已撤销');
  expectError(await cs.post(`/api/v1/volunteers/${vA.id}/revoke`, { note: '再次' }), 409, 'volunteer_state');
  // the very next request of the account no longer holds the role
  const me = (await a.get('/api/v1/me')).body;
  assert.ok(!JSON.stringify(me).includes('assist.work'), 'assist.work gone');
  const elder = sqlRun(ctx, `SELECT person_id FROM care_checkins WHERE by_user <> 0 LIMIT 1`).trim();
  expectError(await a.post('/api/v1/service/care/checkins', { person_id: elder }), 403, 'forbidden');
  expectError(await a.get('/api/v1/me/volunteer/projects'), 403, 'volunteer_not_approved');
  // the future sign-up dropped with its place, the past one kept with its hours
  assert.equal(sqlRun(ctx, `SELECT taken FROM volunteer_projects WHERE id = ${fut.id}`).trim(), '2');
  assert.equal(sqlRun(ctx, `SELECT COUNT(*) FROM volunteer_signups WHERE volunteer_id = ${vA.id} AND project_id = ${fut.id}`).trim(), '0');
  r = await a.get('/api/v1/me/volunteer');
  assert.equal(r.body.application.status, 'revoked');
  assert.equal(r.body.application.note, '多次无故缺勤');
  assert.deepEqual(r.body.items.map((x) => [x.title, x.minutes]), [['物资配送', 90]], 'history kept');
  assert.equal((await cs.get('/api/v1/volunteers?status=revoked')).body.total, 1);
  const audited = (x) => String(x.object_id) === String(vA.id) && x.result === 'ok';
  assert.ok((await auditWhere(ctx, 'action=volunteer.revoke', audited)).some(audited), 'audited');
  // a revoked resident may apply again (staff review it anew)
  r = await a.post('/api/v1/me/volunteer', { skills: '驾驶', availability: '周末' });
  assert.equal(r.status, 201, r.text);
  assert.equal(r.body.id, vA.id);
  assert.equal(r.body.status, 'pending');
});

test('staff edit and cancel a project; sign-ups marked cancelled, the volunteer sees 已取消', async () => {
  const path = `/api/v1/volunteer-projects/${fut.id}`;
  expectError(await cs.patch(path, { places: 1 }), 400, 'out_of_range', 'places'); // 2 signed up
  expectError(await cs.patch(path, { places: 0 }), 400, 'out_of_range', 'places');
  expectError(await cs.patch(path, { title: '' }), 400, 'too_short', 'title');
  expectError(await cs.patch(path, { ends_at: fut.starts_at - H }), 400, 'invalid_period', 'ends_at');
  expectError(await cs.patch(path, { region_code: OTHER_COMMUNITY }), 400, 'unknown_field', 'region_code');
  expectError(await csOther.patch(path, { title: '改' }), 404, 'project_not_found');
  expectError(await b.patch(path, { title: '改' }), 403, 'forbidden');
  expectError(await cs.patch('/api/v1/volunteer-projects/123', { title: '改' }), 404, 'project_not_found');
  assert.equal(sqlRun(ctx, `SELECT title, places FROM volunteer_projects WHERE id = ${fut.id}`).trim(), '楼道消杀|3', 'nothing written');
  let r = await cs.patch(path, { title: '楼道消杀（二期）', places: 4 });
  assert.equal(r.status, 200, r.text);
  assert.equal(r.body.title, '楼道消杀（二期）');
  assert.equal(r.body.places, 4);
  assert.equal(r.body.taken, 2);
  // c withdraws: still sees the project, not signed up
  assert.equal((await c.del(`${path.replace('/api/v1/volunteer-projects', '/api/v1/me/volunteer/projects')}/signup`)).status, 200);
  const mineOf = async (x) => (await x.get('/api/v1/me/volunteer/projects')).body.items.find((p) => p.id === fut.id);
  assert.equal((await mineOf(c))?.signed_up, false);
  // cancel
  expectError(await cs.post(`${path}/cancel`, {}), 400, 'required', 'note');
  expectError(await csOther.post(`${path}/cancel`, { note: '天气' }), 404, 'project_not_found');
  expectError(await b.post(`${path}/cancel`, { note: '天气' }), 403, 'forbidden');
  r = await cs.post(`${path}/cancel`, { note: '暴雨预警' });
  assert.equal(r.status, 200, r.text);
  assert.equal(r.body.cancelled, true);
  assert.equal(r.body.cancel_note, '暴雨预警');
  expectError(await cs.post(`${path}/cancel`, { note: '再次' }), 409, 'project_cancelled');
  expectError(await cs.patch(path, { title: '改' }), 409, 'project_cancelled');
  assert.equal(sqlRun(ctx, `SELECT COUNT(*) FROM volunteer_signups WHERE project_id = ${fut.id} AND cancelled_at > 0`).trim(), '1', 'b\'s sign-up marked');
  r = await cs.get(`${path}/signups`);
  assert.deepEqual(r.body.items.map((x) => x.cancelled), [true]);
  expectError(await cs.post(`/api/v1/volunteer-signups/${r.body.items[0].id}/hours`, { minutes: 30 }), 409, 'project_cancelled');
  // the signed-up volunteer sees it cancelled; the others no longer see it
  const seen = await mineOf(b);
  assert.equal(seen.cancelled, true);
  assert.equal(seen.signed_up, true);
  assert.equal(await mineOf(c), undefined);
  expectError(await c.post(`/api/v1/me/volunteer/projects/${fut.id}/signup`, {}), 409, 'project_cancelled');
  expectError(await b.del(`/api/v1/me/volunteer/projects/${fut.id}/signup`), 409, 'project_cancelled');
  assert.ok((await b.get('/api/v1/me/volunteer')).body.items.some((x) => x.id === fut.id && x.cancelled), 'in the history, cancelled');
});

// Telling the volunteers (docs/community-life.md "Telling the volunteers"):
// a project published or cancelled is a notice the platform publishes to
// the community's approved volunteers, in their 通知 list; a resident who
// is no volunteer, a revoked one and another community's do not get it.
test('volunteers are told of a project published and cancelled; nobody else is', async () => {
  const plain = await resident(ctx, COMMUNITY, '孙八');
  const titles = async (x) => (await x.get('/api/v1/me/notices')).body.items.map((n) => n.title);
  // the cancellation of the previous test reached b (approved), with its reason
  const cancelled = (await b.get('/api/v1/me/notices')).body.items.find((n) => n.title === '志愿服务项目取消：楼道消杀（二期）');
  assert.ok(cancelled, JSON.stringify(await titles(b)));
  const open = await b.get(`/api/v1/me/notices/${cancelled.id}`);
  assert.equal(open.status, 200, open.text);
  assert.match(open.body.body, /取消原因：暴雨预警/);
  const now = Date.now();
  const r = await cs.post('/api/v1/volunteer-projects', { region_code: COMMUNITY, title: '独居老人<送餐>', place: '多福巷社区食堂', content: '午餐送到家门口', starts_at: now + 26 * H, ends_at: now + 28 * H, places: 3 });
  assert.equal(r.status, 201, r.text);
  const title = '志愿服务项目招募：独居老人<送餐>';
  for (const v of [b, c]) assert.ok((await titles(v)).includes(title), 'an approved volunteer of the community');
  const n = (await b.get('/api/v1/me/notices')).body.items.find((x) => x.title === title);
  const body = (await b.get(`/api/v1/me/notices/${n.id}`)).body.body;
  assert.match(body, /独居老人&lt;送餐&gt;/, 'staff text escaped, not markup');
  assert.match(body, /地点：多福巷社区食堂/);
  for (const x of [plain, a /* revoked */, outsider]) assert.ok(!(await titles(x)).includes(title), 'not a volunteer of the community');
  // staff see it among the community's notices, for the volunteers, by the system
  const staff = (await cs.get('/api/v1/notices')).body.items.find((x) => x.title === title);
  assert.deepEqual([staff.audience, staff.audience_label, staff.author_name, staff.recipients], ['volunteers', '社区志愿者', '系统通知', 2]);
  // a project in a community with no approved volunteer publishes no notice
  const o = await csOther.post('/api/v1/volunteer-projects', { region_code: OTHER_COMMUNITY, title: '物资搬运', place: '社区仓库', starts_at: now + 26 * H, ends_at: now + 28 * H, places: 2 });
  assert.equal(o.status, 201, o.text);
  assert.equal((await csOther.get('/api/v1/notices')).body.total, 0);
});
