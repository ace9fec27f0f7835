// Tasks (issue 9, docs/tasks.md): the command centre dispatches a task to
// one user or to every holder of a role in a region; my tasks come by
// urgency; the first holder to accept takes a role's task; another grid's
// worker gets 404; bad input changes nothing; every state change checks the
// state; revealing the phone is audited; the overdue sweep raises exactly
// one alert per task; the board exports CSV; changes are pushed live.
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { residentId, startCityWith, CITY_STAFF, expectError, auditEntries, waitForAudit, sqlRun, sleep, openStream } from './lib.mjs';

const PW = 'Task-test-2024!';
const DUOFU = '110101001001'; // 多福巷社区 (grid_dc, grid2)
const LONGFU = '110101002001'; // 隆福寺社区 (grid_other)
const H = 3600000;
let ctx, cc, ccXc, grid, grid2, other, doctor, gate, auditor, street;

before(async () => {
  ctx = await startCityWith(
    {
      ...CITY_STAFF,
      grid2: ['grid_worker', DUOFU],
      grid_other: ['grid_worker', LONGFU],
      street: ['street_staff', '110101001000'],
    },
    PW,
    { env: { FK_TASK_CHECK: '1' } },
  );
  ({ cc_dc: cc, cc_xc: ccXc, grid_dc: grid, grid2, grid_other: other, doctor_dc: doctor, gate_dc: gate, auditor, street } = ctx.as);
});
after(async () => {
  await ctx?.stop();
});

let seq = 0;
function general(over = {}) {
  seq++;
  return {
    kind: 'general',
    region_code: DUOFU,
    assignee_user_id: grid.id,
    priority: 'normal',
    deadline: Date.now() + 5 * H,
    title: `入户送药 ${seq}`,
    address: '东城区多福巷12号院3单元501',
    phone: '13912345678',
    lat: 39.9163,
    lng: 116.4102,
    note: '请当面交给住户',
    ...over,
  };
}

async function dispatch(over = {}, as = cc) {
  const r = await as.post('/api/v1/tasks', general(over));
  assert.equal(r.status, 201, r.text);
  return r.body;
}

const taskCount = () => Number(sqlRun(ctx, 'SELECT COUNT(*) FROM tasks').trim());
const mine = async (c, q = '') => {
  const r = await c.get(`/api/v1/me/tasks?page_size=100${q}`);
  assert.equal(r.status, 200, r.text);
  return r.body.items;
};

test('dispatch: 201 with names, labels and masked address and phone; a created event', async () => {
  const t = await dispatch();
  assert.equal(t.kind, 'general');
  assert.equal(t.kind_label, '一般任务');
  assert.equal(t.state, 'pending');
  assert.equal(t.state_label, '待接收');
  assert.equal(t.priority_label, '一般');
  assert.equal(t.region_name, '多福巷社区');
  assert.equal(t.assignee_user_id, grid.id);
  assert.ok(t.assignee_name, 'the assignee by name');
  assert.equal(t.created_by_name.length > 0, true);
  assert.notEqual(t.phone, '13912345678', 'phone masked');
  assert.match(t.phone, /\*/);
  assert.notEqual(t.address, '东城区多福巷12号院3单元501', 'address masked');
  assert.equal(t.lat, 39.9163);
  assert.deepEqual(t.events.map((e) => e.action), ['created']);
  assert.equal(t.events[0].action_label, '派发');
  // stored sealed: the phone is not in the row in clear
  const raw = sqlRun(ctx, `SELECT phone_enc FROM tasks WHERE id = ${t.id}`);
  assert.ok(!raw.includes('13912345678'));
  const a = await auditEntries(auditor, 'task.create', t.id);
  assert.equal(a.length, 1);
});

test('a task about a person shows the name masked', async () => {
  const p = await cc.post('/api/v1/persons', { name: '张三丰', id_number: residentId('110101', '19600101', 7), region_code: DUOFU });
  assert.equal(p.status, 201, p.text);
  const t = await dispatch({ person_id: p.body.id, title: '核实张某' });
  assert.equal(t.person_id, p.body.id);
  assert.ok(t.person_name && t.person_name !== '张三丰' && t.person_name.startsWith('张'), t.person_name);
  const item = (await mine(grid)).find((x) => x.id === t.id);
  assert.equal(item.person_name, t.person_name);
  // another district's person is not the dispatcher's to name
  const far = await ccXc.post('/api/v1/persons', { name: '李四', id_number: residentId('110102', '19700101', 8), region_code: '110102001001' });
  assert.equal(far.status, 201, far.text);
  expectError(await cc.post('/api/v1/tasks', general({ person_id: far.body.id })), 400, 'unknown_person', 'person_id');
});

test('bad input: 400 with the field, and nothing written', async () => {
  const before = taskCount();
  const bad = async (over, status, code, field, as = cc) => {
    const r = await as.post('/api/v1/tasks', general(over));
    expectError(r, status, code, field);
  };
  await bad({ kind: 'teleport' }, 400, 'unknown_kind', 'kind');
  await bad({ deadline: Date.now() - 60000 }, 400, 'deadline_past', 'deadline');
  await bad({ deadline: Date.now() + 400 * 24 * H }, 400, 'out_of_range', 'deadline');
  await bad({ assignee_user_id: other.id }, 400, 'assignee_out_of_region', 'assignee_user_id');
  await bad({ priority: 'asap' }, 400, 'invalid_value', 'priority');
  const noTitle = await cc.post('/api/v1/tasks', general({ title: '' }));
  assert.equal(noTitle.status, 400, noTitle.text);
  assert.equal(noTitle.body.error.field, 'title');
  await bad({ title: '长'.repeat(61) }, 400, 'too_long', 'title');
  await bad({ assignee_user_id: undefined }, 400, 'required', 'assignee_user_id');
  await bad({ assignee_role: 'grid_worker' }, 400, 'invalid_value', 'assignee_user_id');
  await bad({ assignee_user_id: undefined, assignee_role: 'astronaut' }, 400, 'unknown_role', 'assignee_role');
  await bad({ assignee_user_id: undefined, assignee_role: 'checkpoint_staff' }, 400, 'assignee_cannot_work', 'assignee_role');
  await bad({ assignee_user_id: gate.id, region_code: '110101000000' }, 400, 'assignee_cannot_work', 'assignee_user_id');
  await bad({ assignee_user_id: '99999' }, 400, 'unknown_user', 'assignee_user_id');
  await bad({ assignee_user_id: 'abc' }, 400, 'invalid_value', 'assignee_user_id');
  const badPhone = await cc.post('/api/v1/tasks', general({ phone: '12345' }));
  assert.equal(badPhone.status, 400, badPhone.text);
  assert.equal(badPhone.body.error.field, 'phone');
  await bad({ lat: 91 }, 400, 'out_of_range', 'lat');
  await bad({ lng: undefined }, 400, 'required', 'lng');
  await bad({ person_id: '12345' }, 400, 'unknown_person', 'person_id');
  await bad({ region_code: '999999000000' }, 400, 'invalid_region', 'region_code');
  // another district's command centre: the region is outside its scope
  await bad({ assignee_user_id: undefined, assignee_role: 'grid_worker' }, 400, 'invalid_region', 'region_code', ccXc);
  // a grid worker may not dispatch
  const r = await grid.post('/api/v1/tasks', general());
  assert.equal(r.status, 403, r.text);
  assert.equal(taskCount(), before, 'nothing written');
});

test('my tasks: overdue first, then priority, then deadline; history with ?state=done', async () => {
  const far = await dispatch({ title: '远期一般', deadline: Date.now() + 20 * H });
  const urgent = await dispatch({ title: '远期紧急', priority: 'urgent', deadline: Date.now() + 30 * H });
  const near = await dispatch({ title: '近期一般', deadline: Date.now() + 10 * H });
  const late = await dispatch({ title: '已超时的', priority: 'normal', deadline: Date.now() + 40 * H });
  sqlRun(ctx, `UPDATE tasks SET deadline = ${Date.now() - H} WHERE id = ${late.id}`);
  const ids = (await mine(grid)).map((t) => t.id);
  const mineOrder = [late.id, urgent.id, near.id, far.id];
  assert.deepEqual(ids.filter((id) => mineOrder.includes(id)), mineOrder);
  const item = (await mine(grid)).find((t) => t.id === late.id);
  assert.equal(item.overdue, true);
  assert.equal(item.kind_label, '一般任务');
  assert.match(item.phone, /\*/);
  assert.equal(item.lng, 116.4102);
  // none of them is grid2's
  assert.ok(!(await mine(grid2)).some((t) => mineOrder.includes(t.id)));
  // done: not open any more, in the history
  assert.equal((await grid.post(`/api/v1/tasks/${far.id}/accept`)).status, 200);
  const done = await grid.post(`/api/v1/tasks/${far.id}/complete`, { result: { text: '已送达' } });
  assert.equal(done.status, 200, done.text);
  assert.ok(!(await mine(grid)).some((t) => t.id === far.id));
  assert.ok((await mine(grid, '&state=done')).some((t) => t.id === far.id));
  expectError(await grid.get('/api/v1/me/tasks?state=lost'), 400, 'invalid_parameter', 'state');
});

test('a role task: every holder in the region sees it, the first accept takes it', async () => {
  const t = await dispatch({ assignee_user_id: undefined, assignee_role: 'grid_worker', title: '网格巡查' });
  assert.equal(t.assignee_user_id, null);
  assert.equal(t.assignee_role_name, '网格员');
  for (const c of [grid, grid2]) {
    const it = (await mine(c)).find((x) => x.id === t.id);
    assert.ok(it, 'seen by every holder in the region');
    assert.equal(it.claimable, true);
  }
  assert.ok(!(await mine(other)).some((x) => x.id === t.id), 'not by a holder in another community');
  const [a, b] = await Promise.all([grid.post(`/api/v1/tasks/${t.id}/accept`), grid2.post(`/api/v1/tasks/${t.id}/accept`)]);
  const statuses = [a.status, b.status].sort();
  assert.deepEqual(statuses, [200, 409], `${a.text} ${b.text}`);
  const [win, winner, loser] = a.status === 200 ? [a, grid, grid2] : [b, grid2, grid];
  const lost = a.status === 200 ? b : a;
  expectError(lost, 409, 'already_taken');
  assert.equal(win.body.assignee_user_id, winner.id);
  assert.equal(win.body.state, 'accepted');
  assert.ok(!(await mine(loser)).some((x) => x.id === t.id), 'gone from the other holder');
  assert.equal((await loser.get(`/api/v1/tasks/${t.id}`)).status, 404);
  expectError(await loser.post(`/api/v1/tasks/${t.id}/accept`), 409, 'already_taken');
  const again = (await mine(winner)).find((x) => x.id === t.id);
  assert.equal(again.claimable, false);
});

test("another grid's worker gets 404 for my task, on every route", async () => {
  const t = await dispatch();
  for (const [m, p, body] of [
    ['get', '', undefined],
    ['post', '/accept', undefined],
    ['post', '/complete', { result: { text: 'x' } }],
    ['post', '/return', { reason: 'x' }],
    ['post', '/reveal', undefined],
  ]) {
    const r = m === 'get' ? await other.get(`/api/v1/tasks/${t.id}${p}`) : await other.post(`/api/v1/tasks/${t.id}${p}`, body);
    assert.equal(r.status, 404, `${p}: ${r.text}`);
  }
  // nor does another district's command centre see it
  assert.equal((await ccXc.get(`/api/v1/tasks/${t.id}`)).status, 404);
  assert.ok(!(await ccXc.get('/api/v1/tasks?page_size=100')).body.items.some((x) => x.id === t.id));
  assert.equal((await ccXc.post(`/api/v1/tasks/${t.id}/cancel`, { reason: '不需要' })).status, 404);
  // and nothing changed
  const now = await grid.get(`/api/v1/tasks/${t.id}`);
  assert.equal(now.status, 200);
  assert.equal(now.body.state, 'pending');
  const refusals = await waitForAudit(auditor, `action=task.accept&object_id=${t.id}`, (e) => e.result === 'not_found');
  assert.ok(refusals.some((e) => e.result === 'not_found'), 'the refusal is audited');
});

test('the state machine: each change checks the state (409) and records an event', async () => {
  const t = await dispatch();
  const go = (c, what, body) => c.post(`/api/v1/tasks/${t.id}/${what}`, body);
  expectError(await go(grid, 'complete', { result: { text: '好了' } }), 409, 'invalid_transition');
  expectError(await go(grid, 'return', { reason: '不在家' }), 409, 'invalid_transition');
  assert.equal((await go(grid, 'accept')).status, 200);
  expectError(await go(grid, 'accept'), 409, 'invalid_transition');
  // the general kind's result: required, text 1..500
  expectError(await go(grid, 'complete', {}), 400, 'required', 'result.text');
  expectError(await go(grid, 'complete', { result: {} }), 400, 'required', 'result.text');
  expectError(await go(grid, 'complete', { result: { text: '  ' } }), 400, 'required', 'result.text');
  expectError(await go(grid, 'complete', { result: { text: 'x'.repeat(501) } }), 400, 'too_long', 'result.text');
  expectError(await go(grid, 'complete', { result: { text: 1 } }), 400, 'invalid_type', 'result.text');
  assert.equal((await grid.get(`/api/v1/tasks/${t.id}`)).body.state, 'accepted', 'a refused result changes nothing');
  const done = await go(grid, 'complete', { result: { text: '药已送到' } });
  assert.equal(done.status, 200, done.text);
  assert.equal(done.body.state, 'done');
  assert.deepEqual(done.body.result, { text: '药已送到' });
  expectError(await go(grid, 'complete', { result: { text: '再次' } }), 409, 'invalid_transition');
  expectError(await go(grid, 'return', { reason: '晚了' }), 409, 'invalid_transition');
  expectError(await go(cc, 'cancel', { reason: '不用了' }), 409, 'invalid_transition');
  expectError(await go(cc, 'reassign', { assignee_user_id: grid2.id }), 409, 'invalid_transition');
  assert.deepEqual(done.body.events.map((e) => e.action), ['created', 'accepted', 'completed']);

  // returned, reassigned, cancelled
  const u = await dispatch();
  const on = (c, what, body) => c.post(`/api/v1/tasks/${u.id}/${what}`, body);
  assert.equal((await on(grid, 'accept')).status, 200);
  expectError(await on(grid, 'return', {}), 400, 'required', 'reason');
  const ret = await on(grid, 'return', { reason: '住户不在家，无法送达' });
  assert.equal(ret.status, 200, ret.text);
  assert.equal(ret.body.state, 'returned');
  expectError(await on(grid, 'accept'), 409, 'invalid_transition');
  expectError(await on(cc, 'reassign', { assignee_user_id: other.id }), 400, 'assignee_out_of_region', 'assignee_user_id');
  expectError(await on(cc, 'reassign', { assignee_user_id: grid2.id, deadline: Date.now() - 1 }), 400, 'deadline_past', 'deadline');
  const re = await on(cc, 'reassign', { assignee_user_id: grid2.id, deadline: Date.now() + 8 * H });
  assert.equal(re.status, 200, re.text);
  assert.equal(re.body.state, 'pending');
  assert.equal(re.body.assignee_user_id, grid2.id);
  assert.ok((await mine(grid2)).some((x) => x.id === u.id), 'the new assignee has it');
  assert.equal((await grid.get(`/api/v1/tasks/${u.id}`)).status, 404, 'the old one does not');
  assert.equal((await on(grid, 'cancel', { reason: 'x' })).status, 403, 'cancelling needs task.dispatch');
  const can = await on(cc, 'cancel', { reason: '住户已自行取药' });
  assert.equal(can.status, 200, can.text);
  assert.equal(can.body.state, 'cancelled');
  expectError(await on(grid2, 'accept'), 409, 'invalid_transition');
  assert.deepEqual(can.body.events.map((e) => e.action), ['created', 'accepted', 'returned', 'reassigned', 'cancelled']);
  assert.equal(can.body.events[2].note, '住户不在家，无法送达');
});

test('reveal: the full address and phone for the assignee or person.reveal, audited', async () => {
  const t = await dispatch();
  const r = await grid.post(`/api/v1/tasks/${t.id}/reveal`);
  assert.equal(r.status, 200, r.text);
  assert.equal(r.body.phone, '13912345678');
  assert.equal(r.body.address, '东城区多福巷12号院3单元501');
  const a = await auditEntries(auditor, 'task.reveal', t.id);
  assert.ok(a.length >= 1, 'audited');
  assert.equal(a[0].result, 'ok');
  // the command centre holds person.reveal
  assert.equal((await cc.post(`/api/v1/tasks/${t.id}/reveal`)).body.phone, '13912345678');
  // a doctor of the district may work tasks, but this one is not theirs
  assert.equal((await doctor.post(`/api/v1/tasks/${t.id}/reveal`)).status, 404);
  // street staff see the street's board (task.read) but may not reveal
  assert.equal((await street.get(`/api/v1/tasks/${t.id}`)).status, 200);
  expectError(await street.post(`/api/v1/tasks/${t.id}/reveal`), 403, 'reveal_forbidden');
  const refused = await waitForAudit(auditor, `action=task.reveal&object_id=${t.id}`, (e) => e.result === 'reveal_forbidden');
  assert.ok(refused.some((e) => e.result === 'reveal_forbidden'), 'the refusal is audited');
});

test('the overdue sweep raises exactly one task_overdue alert per task and marks it', async () => {
  const a = await dispatch({ title: '超时甲' });
  const b = await dispatch({ title: '超时乙', priority: 'urgent' });
  assert.equal((await grid.post(`/api/v1/tasks/${b.id}/accept`)).status, 200);
  sqlRun(ctx, `UPDATE tasks SET deadline = ${Date.now() - 60000} WHERE id IN (${a.id}, ${b.id})`);
  const alertsOf = async (id) => {
    const r = await cc.get('/api/v1/alerts?kind=task_overdue&page_size=200');
    assert.equal(r.status, 200, r.text);
    return r.body.items.filter((x) => x.detail.task_id === id);
  };
  for (let i = 0; i < 60 && ((await alertsOf(a.id)).length === 0 || (await alertsOf(b.id)).length === 0); i++) await sleep(100);
  await sleep(2500); // two more sweeps
  const [la, lb] = [await alertsOf(a.id), await alertsOf(b.id)];
  assert.equal(la.length, 1, 'one alert for the first task');
  assert.equal(lb.length, 1, 'one alert for the second task');
  assert.equal(la[0].kind_label, '任务超时');
  assert.ok(la[0].region_code.startsWith(DUOFU), la[0].region_code);
  assert.match(la[0].message, /超时甲/);
  assert.equal(la[0].level, 'warning');
  assert.equal(lb[0].level, 'critical', 'an urgent task is critical');
  const ta = (await cc.get(`/api/v1/tasks/${a.id}`)).body;
  assert.equal(ta.state, 'overdue');
  assert.ok(ta.events.some((e) => e.action === 'overdue' && e.user_name === '系统'));
  // still workable: accept keeps it overdue, complete finishes it
  assert.equal((await grid.post(`/api/v1/tasks/${a.id}/accept`)).body.state, 'overdue');
  assert.equal((await grid.post(`/api/v1/tasks/${b.id}/complete`, { result: { text: '补办完成' } })).body.state, 'done');
  // the board and the workbench count it
  const board = await cc.get('/api/v1/tasks?overdue=1&page_size=100');
  assert.ok(board.body.items.some((x) => x.id === a.id));
  assert.ok(!board.body.items.some((x) => x.id === b.id));
  const wb = await cc.get('/api/v1/workbench');
  const e = wb.body.entries.find((x) => x.key === 'tasks_overdue');
  assert.ok(e && e.count >= 1, wb.text);
});

test('the board: filters, sort, paging and a CSV export with masked values', async () => {
  const t = await dispatch({ title: '看板查找专用' });
  const list = async (q) => {
    const r = await cc.get(`/api/v1/tasks?${q}`);
    assert.equal(r.status, 200, r.text);
    return r.body;
  };
  assert.deepEqual((await list('q=看板查找')).items.map((x) => x.id), [t.id]);
  assert.ok((await list('state=pending&page_size=100')).items.every((x) => x.state === 'pending'));
  assert.ok((await list('kind=general&page_size=100')).items.some((x) => x.id === t.id));
  assert.ok((await list(`assignee_user_id=${grid2.id}&page_size=100`)).items.every((x) => x.assignee_user_id === grid2.id));
  const p = await list('page_size=2&sort=deadline');
  assert.equal(p.items.length, 2);
  assert.ok(p.total > 2);
  assert.ok(p.items[0].deadline <= p.items[1].deadline);
  expectError(await cc.get('/api/v1/tasks?sort=colour'), 400, 'invalid_parameter', 'sort');
  expectError(await cc.get('/api/v1/tasks?state=lost'), 400, 'invalid_parameter', 'state');
  expectError(await cc.get('/api/v1/tasks?kind=teleport'), 400, 'invalid_parameter', 'kind');
  expectError(await cc.get('/api/v1/tasks?overdue=2'), 400, 'invalid_parameter', 'overdue');
  assert.equal((await grid.get('/api/v1/tasks')).status, 403, 'the board needs task.read');
  // the header's region narrows the board like every list
  assert.equal((await list(`within=${LONGFU}&q=看板查找`)).total, 0);
  assert.equal((await list(`within=${DUOFU}&q=看板查找`)).total, 1);
  const csv = await cc.get('/api/v1/tasks?format=csv&q=看板查找');
  assert.equal(csv.status, 200, csv.text);
  assert.match(csv.headers.get('content-type'), /text\/csv/);
  const lines = csv.text.replace(/^\uFEFF/, '').trim().split(/\r?\n/);
  assert.equal(lines.length, 2);
  assert.match(lines[0], /任务标题/);
  assert.match(lines[1], /看板查找专用/);
  assert.match(lines[1], /多福巷社区/);
  assert.ok(!lines[1].includes('13912345678'), 'phone masked in the export');
  const ex = await auditEntries(auditor, 'task.export');
  assert.ok(ex.length >= 1);
});

test('the workbench: my open tasks for a worker', async () => {
  const count = async (c) => {
    const r = await c.get('/api/v1/workbench');
    assert.equal(r.status, 200, r.text);
    return r.body.entries.find((x) => x.key === 'tasks_mine')?.count;
  };
  const before = await count(grid2);
  const t = await dispatch({ assignee_user_id: grid2.id });
  assert.equal(await count(grid2), before + 1);
  assert.equal((await grid2.post(`/api/v1/tasks/${t.id}/accept`)).status, 200);
  assert.equal(await count(grid2), before + 1, 'accepted is still open');
  assert.equal((await grid2.post(`/api/v1/tasks/${t.id}/complete`, { result: { text: '完成' } })).status, 200);
  assert.equal(await count(grid2), before);
});

test('a change is pushed live to the alert streams of the region', async () => {
  const s = await openStream(ctx.url, grid);
  assert.equal(s.status, 200);
  try {
    const t = await dispatch({ title: '实时推送' });
    for (let i = 0; i < 40 && !s.events.some((e) => e.event === 'task' && e.data.id === t.id); i++) await sleep(50);
    const ev = s.events.find((e) => e.event === 'task' && e.data.id === t.id);
    assert.ok(ev, s.raw);
    assert.equal(ev.data.action, 'created');
    assert.equal(ev.data.assignee_user_id, grid.id);
    assert.ok(!JSON.stringify(ev.data).includes('1391234'), 'no phone in the push');
  } finally {
    s.close();
  }
});
