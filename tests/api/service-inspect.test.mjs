// Disinfection and inspection records through the API
// (docs/community-services.md "Disinfection and inspection"): the
// community adds objects with a schedule (bad input refused, nothing
// written); a grid worker records one with a photo and the next due time
// follows from it; the sweep raises one task per overdue object and no
// second while it is open; the record completes it; statistics and their
// export; another community's staff get 404 (audited) and empty lists.
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { startCityWith, expectError, waitForAudit } from './lib.mjs';

const PW = 'Passw0rd!serviceinspect';
const COMMUNITY = '110101001001'; // 多福巷社区
const OTHER = '110101002001'; // another street's community
const JPEG = Buffer.from([0xff, 0xd8, 0xff, 0xe0, 0, 16, 0x4a, 0x46, 0x49, 0x46, 0, 1, ...Buffer.alloc(64, 0x5a)]);
const HOUR = 3600 * 1000;
let ctx, cs, csOther, gw, cc, auditor, place, otherPlace;

before(async () => {
  ctx = await startCityWith(
    {
      i_cs: ['community_staff', COMMUNITY],
      i_cs_other: ['community_staff', OTHER],
      i_gw: ['grid_worker', COMMUNITY],
      i_cc: ['command_center', '110101000000'],
      i_audit: ['audit_admin', '110000000000'],
    },
    PW,
  );
  ({ i_cs: cs, i_cs_other: csOther, i_gw: gw, i_cc: cc, i_audit: auditor } = ctx.as);
  let r = await cc.post('/api/v1/places', { name: '多福巷菜市场', kind: 'market', region_code: COMMUNITY });
  assert.equal(r.status, 201, r.text);
  place = r.body.id;
  r = await cc.post('/api/v1/places', { name: '府右街市场', kind: 'market', region_code: OTHER });
  assert.equal(r.status, 201, r.text);
  otherPlace = r.body.id;
});
after(async () => ctx?.stop());

let market, square; // the objects the tests build on

test('objects: bad input refused with the field and nothing written; added with a schedule', async () => {
  const good = { region: COMMUNITY, name: '多福巷菜市场', kind: 'market', record_kind: 'disinfect', every_n: 1, every_unit: 'day' };
  const cases = [
    [{ ...good, region: OTHER }, 'invalid_region', 'region'],
    [{ ...good, region: '110101001000' }, 'invalid_region', 'region'],
    [{ ...good, region: 'x' }, 'invalid_region', 'region'],
    [{ ...good, name: '' }, 'too_short', 'name'],
    [{ ...good, name: '市'.repeat(41) }, 'too_long', 'name'],
    [{ ...good, kind: 'road' }, 'invalid_value', 'kind'],
    [{ ...good, record_kind: 'clean' }, 'invalid_value', 'record_kind'],
    [{ ...good, every_unit: 'week' }, 'invalid_value', 'every_unit'],
    [{ ...good, every_n: 0 }, 'out_of_range', 'every_n'],
    [{ ...good, every_n: 91 }, 'out_of_range', 'every_n'],
    [{ ...good, every_n: 1.5 }, 'invalid_type', 'every_n'],
    [{ ...good, place_id: otherPlace }, 'invalid_value', 'place_id'],
    [{ ...good, place_id: 'abc' }, 'invalid_value', 'place_id'],
    [{ ...good, lat: 95, lng: 116 }, 'invalid_position', 'lat'],
    [{ ...good, lat: 39.9 }, 'invalid_position', 'lng'],
    [{ ...good, last_at: Date.now() + HOUR }, 'out_of_range', 'last_at'],
    [{ ...good, last_at: Date.now() - 400 * 24 * HOUR }, 'out_of_range', 'last_at'],
    [{ ...good, extra: 1 }, 'unknown_field', 'extra'],
    [{ name: '广场' }, 'required', 'region'],
  ];
  for (const [body, code, field] of cases) {
    const r = await cs.post('/api/v1/service/inspect/objects', body);
    assert.equal(r.status, 400, `${JSON.stringify(body).slice(0, 90)}: ${r.text}`);
    assert.equal(r.body.error.field, field, r.text);
    if (code !== 'too_short') assert.equal(r.body.error.code, code, r.text);
  }
  assert.equal((await cs.get('/api/v1/service/inspect/objects')).body.total, 0, 'nothing written by the refusals');
  assert.equal((await gw.post('/api/v1/service/inspect/objects', good)).status, 403, 'grid workers record, they do not add');

  // done 30 hours ago, every day: overdue now; a square every 2 hours, new
  let r = await cs.post('/api/v1/service/inspect/objects', { ...good, place_id: place, lat: 39.93, lng: 116.41, last_at: Date.now() - 30 * HOUR });
  assert.equal(r.status, 201, r.text);
  market = r.body;
  assert.equal(market.kind_label, '集贸市场');
  assert.equal(market.record_kind_label, '消杀');
  assert.equal(market.every_label, '每天');
  assert.equal(market.place_name, '多福巷菜市场');
  assert.equal(market.region_name, '多福巷社区');
  assert.equal(market.overdue, true);
  assert.equal(market.last_at, null, 'a time done before entry is not a record');
  r = await cs.post('/api/v1/service/inspect/objects', { region: COMMUNITY, name: '多福巷广场', kind: 'space', record_kind: 'patrol', every_n: 2, every_unit: 'hour' });
  assert.equal(r.status, 201, r.text);
  square = r.body;
  assert.equal(square.every_label, '每2小时');
  assert.equal(square.overdue, false);
  assert.ok(Math.abs(square.due_at - (Date.now() + 2 * HOUR)) < 60000, 'due one period after entry');

  // the list: most overdue first, filters, bad filters
  r = await cs.get('/api/v1/service/inspect/objects');
  assert.deepEqual(r.body.items.map((o) => o.name), ['多福巷菜市场', '多福巷广场']);
  assert.equal((await cs.get('/api/v1/service/inspect/objects?overdue=1')).body.total, 1);
  assert.equal((await cs.get('/api/v1/service/inspect/objects?kind=space')).body.items[0].id, square.id);
  assert.equal((await cs.get(`/api/v1/service/inspect/objects?region=${OTHER}`)).body.total, 0, 'a region outside the scope holds nothing');
  expectError(await cs.get('/api/v1/service/inspect/objects?overdue=2'), 400, 'invalid_parameter', 'overdue');
  expectError(await cs.get('/api/v1/service/inspect/objects?kind=x'), 400, 'invalid_parameter', 'kind');
  expectError(await cs.get('/api/v1/service/inspect/objects?region=abc'), 400, 'invalid_region', 'region');

  // another community: empty list, 404 audited
  assert.equal((await csOther.get('/api/v1/service/inspect/objects')).body.total, 0);
  expectError(await csOther.get(`/api/v1/service/inspect/objects/${market.id}`), 404, 'not_found');
  const refused = await waitForAudit(auditor, 'action=inspect.read', (e) => e.result === 'not_found');
  assert.ok(refused.some((e) => e.result === 'not_found'), 'the refused read is audited');
});

test('the sweep raises one task per overdue object; a record with a photo completes it and moves the due time', async () => {
  let r = await cs.post('/api/v1/service/inspect/sweep');
  assert.equal(r.status, 200, r.text);
  assert.equal(r.body.tasks, 1);
  assert.equal((await cs.post('/api/v1/service/inspect/sweep')).body.tasks, 0, 'no second task while one is open');
  r = await cs.get('/api/v1/tasks?kind=inspect_overdue');
  assert.equal(r.body.total, 1);
  const task = r.body.items[0];
  assert.equal(task.title, '消杀逾期：多福巷菜市场');
  assert.equal(task.state, 'pending');
  assert.equal((await csOther.get(`/api/v1/tasks/${task.id}`)).status, 404);
  r = await cs.get(`/api/v1/service/inspect/objects/${market.id}`);
  assert.equal(r.body.task_id, task.id);

  // the workbench counts it
  r = await gw.get('/api/v1/workbench');
  const wb = r.body.entries.find((e) => e.key === 'inspect_overdue');
  assert.equal(wb.count, 1);
  assert.equal(wb.mobile, '/staff/inspect');

  // bad records: refused, nothing written
  const rec = `/api/v1/service/inspect/objects/${market.id}/records`;
  const cases = [
    [{}, 'required', 'result'],
    [{ result: 'fine' }, 'invalid_value', 'result'],
    [{ result: 'ok', kind: 'sweep' }, 'invalid_value', 'kind'],
    [{ result: 'issue' }, 'required', 'notes'],
    [{ result: 'ok', notes: '字'.repeat(501) }, 'too_long', 'notes'],
    [{ result: 'ok', attachments: ['123456'] }, 'invalid_attachment', 'attachments[0]'],
    [{ result: 'ok', attachments: 'x' }, 'invalid_type', 'attachments'],
    [{ result: 'ok', extra: 1 }, 'unknown_field', 'extra'],
  ];
  for (const [body, code, field] of cases) expectError(await gw.post(rec, body), 400, code, field);
  assert.equal((await gw.post('/api/v1/service/inspect/objects/abc/records', { result: 'ok' })).status, 404, 'not an id');
  expectError(await csOther.post(rec, { result: 'ok' }), 404, 'not_found');
  await waitForAudit(auditor, 'action=inspect.record', (e) => e.result === 'not_found');
  r = await cs.get(`/api/v1/service/inspect/objects/${market.id}`);
  assert.equal(r.body.records.length, 0, 'nothing written by the refusals');
  assert.equal(r.body.overdue, true);
  assert.equal((await cs.get(`/api/v1/tasks/${task.id}`)).body.state, 'pending');

  // the grid worker records a disinfection with a photo
  const up = await gw.post('/api/v1/attachments', JPEG, { 'content-type': 'image/jpeg' });
  assert.equal(up.status, 201, up.text);
  const before = Date.now();
  r = await gw.post(rec, { result: 'issue', notes: '东侧摊位垃圾未清，已督促', attachments: [up.body.id] });
  assert.equal(r.status, 201, r.text);
  assert.equal(r.body.overdue, false);
  assert.equal(r.body.task_id, null);
  assert.ok(r.body.last_at >= before);
  assert.equal(r.body.due_at, r.body.last_at + 24 * HOUR, 'due one period after the record');
  assert.equal(r.body.last_result_label, '发现问题');
  assert.equal(r.body.last_by_name, 'i_gw');
  const one = r.body.records[0];
  assert.equal(one.kind, 'disinfect', "the schedule's kind by default");
  assert.equal(one.notes, '东侧摊位垃圾未清，已督促');
  assert.equal(one.attachments.length, 1);
  assert.equal((await cs.get(`/api/v1/attachments/${one.attachments[0].id}`)).status, 200, 'the photo is readable in scope');
  assert.equal((await csOther.get(`/api/v1/attachments/${one.attachments[0].id}`)).status, 404);
  assert.equal((await cs.get(`/api/v1/tasks/${task.id}`)).body.state, 'done', 'the record completes the task');
  assert.equal((await cs.get('/api/v1/service/inspect/objects?overdue=1')).body.total, 0);
  assert.equal((await cs.post('/api/v1/service/inspect/sweep')).body.tasks, 0);
  // a patrol on the square, kind given
  r = await gw.post(`/api/v1/service/inspect/objects/${square.id}/records`, { result: 'ok', kind: 'patrol' });
  assert.equal(r.status, 201, r.text);
  assert.equal(r.body.records[0].kind_label, '巡查');
});

test('statistics per community, exported; refused for what the role lacks', async () => {
  let r = await cs.get('/api/v1/service/inspect/stats');
  assert.equal(r.status, 200, r.text);
  assert.deepEqual(r.body.items, [{ region_code: COMMUNITY, region_name: '多福巷社区', objects: 2, records_week: 2, overdue: 0 }]);
  assert.deepEqual((await csOther.get('/api/v1/service/inspect/stats')).body.items, []);
  r = await cs.get('/api/v1/service/inspect/stats?format=csv');
  assert.equal(r.status, 200, r.text);
  const lines = r.text.replace(/^\uFEFF/, '').trim().split(/\r?\n/);
  assert.equal(lines[0], '社区,对象数,近7日记录,逾期对象');
  assert.equal(lines[1], '多福巷社区,2,2,0');
  r = await cs.get('/api/v1/service/inspect/stats?format=xlsx');
  assert.equal(r.status, 200);
  assert.match(r.headers.get('content-type'), /spreadsheetml/);
  r = await cs.get('/api/v1/service/inspect/stats?format=pdf');
  assert.equal(r.status, 400, r.text);
  assert.equal(r.body.error.field, 'format');
  assert.equal((await gw.post('/api/v1/service/inspect/sweep')).status, 403);
});

test('a task ended on the task board without a record frees the object: the next sweep raises a new one', async () => {
  let r = await cs.post('/api/v1/service/inspect/objects', { region: COMMUNITY, name: '多福巷便民摊点', kind: 'stall', record_kind: 'patrol', every_n: 1, every_unit: 'hour', last_at: Date.now() - 2 * HOUR });
  assert.equal(r.status, 201, r.text);
  const stall = r.body;
  assert.equal((await cs.post('/api/v1/service/inspect/sweep')).body.tasks, 1);
  const task = (await cs.get(`/api/v1/service/inspect/objects/${stall.id}`)).body.task_id;
  assert.equal((await cs.get(`/api/v1/tasks/${task}`)).body.title, '巡查逾期：多福巷便民摊点');
  assert.equal((await cs.post(`/api/v1/tasks/${task}/accept`)).status, 200);
  r = await cs.post(`/api/v1/tasks/${task}/complete`, { result: { text: '已安排' } });
  assert.equal(r.status, 200, r.text);
  assert.equal((await cs.get(`/api/v1/service/inspect/objects/${stall.id}`)).body.task_id, null, 'the object is free');
  assert.equal((await cs.get(`/api/v1/service/inspect/objects/${stall.id}`)).body.overdue, true, 'and still overdue: no record was made');
  assert.equal((await cs.post('/api/v1/service/inspect/sweep')).body.tasks, 1, 'so the next sweep raises it again');
  assert.notEqual((await cs.get(`/api/v1/service/inspect/objects/${stall.id}`)).body.task_id, task);
});

// Editing and retiring (docs/community-services.md "Editing and retiring an
// object"): bad changes refused with the field and nothing changed, another
// community's object 404, a stale version 409; a responsible account gets
// the overdue task; a new period that ends the lateness cancels the task;
// a retired object leaves the sweep, the counts and the default list, its
// open task cancelled, its records still readable.
test('objects are edited (version, bad input, scope) and retired (the sweep skips them)', async () => {
  const path = (o) => `/api/v1/service/inspect/objects/${o.id}`;
  const cases = [
    [{}, 'empty_update', undefined],
    [{ version: 1 }, 'empty_update', undefined],
    [{ name: '' }, 'too_short', 'name'],
    [{ name: '市'.repeat(41) }, 'too_long', 'name'],
    [{ kind: 'road' }, 'invalid_value', 'kind'],
    [{ record_kind: 'clean' }, 'invalid_value', 'record_kind'],
    [{ every_unit: 'week' }, 'invalid_value', 'every_unit'],
    [{ every_n: 0 }, 'out_of_range', 'every_n'],
    [{ every_n: 100 }, 'out_of_range', 'every_n'], // the market's unit is the day: 1-90
    [{ every_n: 'x' }, 'invalid_type', 'every_n'],
    [{ version: 'x', name: '市场' }, 'invalid_type', 'version'],
    [{ responsible_id: 'abc' }, 'invalid_value', 'responsible_id'],
    [{ responsible_id: csOther.id }, 'invalid_value', 'responsible_id'], // another community's staff
    [{ responsible_id: auditor.id }, 'invalid_value', 'responsible_id'], // does not work tasks
    [{ extra: 1 }, 'unknown_field', 'extra'],
  ];
  for (const [body, code, field] of cases) {
    const r = await cs.patch(path(market), body);
    assert.equal(r.status, 400, `${JSON.stringify(body)}: ${r.text}`);
    if (code !== 'too_short') assert.equal(r.body.error.code, code, r.text);
    if (field) assert.equal(r.body.error.field, field, r.text);
  }
  let r = await cs.get(path(market));
  assert.equal(r.body.version, 1, 'nothing changed by the refusals');
  assert.equal(r.body.name, '多福巷菜市场');
  const lastAt = r.body.last_at;
  expectError(await csOther.patch(path(market), { name: '别人的市场' }), 404, 'not_found');
  expectError(await csOther.post(`${path(market)}/retire`, {}), 404, 'not_found');
  assert.equal((await gw.patch(path(market), { name: '市场' })).status, 403, 'workers record, managers edit');
  assert.equal((await gw.post(`${path(market)}/retire`, {})).status, 403);

  // a good change: name, schedule, responsible; the due time follows the new period
  r = await cs.patch(path(market), { version: 1, name: '多福巷农贸市场', every_n: 12, every_unit: 'hour', responsible_id: gw.id });
  assert.equal(r.status, 200, r.text);
  assert.equal(r.body.version, 2);
  assert.equal(r.body.name, '多福巷农贸市场');
  assert.equal(r.body.every_label, '每12小时');
  assert.equal(r.body.due_at, lastAt + 12 * HOUR, 'due one new period after the last record');
  assert.equal(r.body.responsible_name, 'i_gw');
  assert.equal(r.body.records.length, 1, 'its records stay');
  expectError(await cs.patch(path(market), { version: 1, name: '旧版本' }), 409, 'version_conflict');
  r = await cs.patch(path(market), { responsible_id: null });
  assert.equal(r.status, 200, r.text);
  assert.equal(r.body.responsible_id, null, 'null clears the responsible');
  assert.equal(r.body.version, 3);
  const upd = await waitForAudit(auditor, 'action=inspect.object_update', (e) => e.result === 'not_found');
  assert.ok(upd.some((e) => e.result === 'not_found'), "the refused change of another community's object is audited");

  // the responsible account gets the overdue task, not the whole role
  r = await cs.post('/api/v1/service/inspect/objects', { region: COMMUNITY, name: '多福巷车棚', kind: 'other', record_kind: 'disinfect', every_n: 1, every_unit: 'hour', last_at: Date.now() - 2 * HOUR, responsible_id: gw.id });
  assert.equal(r.status, 201, r.text);
  const shed = r.body;
  expectError(await cs.post('/api/v1/service/inspect/objects', { region: COMMUNITY, name: '车棚', kind: 'other', record_kind: 'disinfect', every_n: 1, every_unit: 'hour', responsible_id: csOther.id }), 400, 'invalid_value', 'responsible_id');
  assert.equal((await cs.post('/api/v1/service/inspect/sweep')).body.tasks, 1);
  let task = (await cs.get(path(shed))).body.task_id;
  assert.ok(task);
  r = await cs.get(`/api/v1/tasks/${task}`);
  assert.equal(r.body.assignee_user_id, gw.id, 'assigned to the responsible account');
  // a longer period ends the lateness: the task is cancelled, the object free
  r = await cs.patch(path(shed), { every_n: 24 });
  assert.equal(r.status, 200, r.text);
  assert.equal(r.body.overdue, false);
  assert.equal(r.body.task_id, null);
  assert.equal((await cs.get(`/api/v1/tasks/${task}`)).body.state, 'cancelled');

  // retire the stall with its open overdue task (from the test before)
  const stall = (await cs.get('/api/v1/service/inspect/objects?kind=stall')).body.items[0];
  assert.equal(stall.overdue, true);
  task = stall.task_id;
  assert.ok(task, 'the stall has an open task');
  expectError(await cs.post(`${path(stall)}/retire`, { version: stall.version + 1 }), 409, 'version_conflict');
  expectError(await cs.post(`${path(stall)}/retire`, { version: 'x' }), 400, 'invalid_type', 'version');
  r = await cs.post(`${path(stall)}/retire`, { version: stall.version });
  assert.equal(r.status, 200, r.text);
  assert.equal(r.body.retired, true);
  assert.ok(r.body.retired_at);
  assert.equal(r.body.overdue, false, 'nothing is due of a retired object');
  assert.equal(r.body.task_id, null);
  assert.equal((await cs.get(`/api/v1/tasks/${task}`)).body.state, 'cancelled', 'its open task is cancelled');
  // it was overdue with no task: in service the sweep would raise one (the test before)
  assert.equal((await cs.post('/api/v1/service/inspect/sweep')).body.tasks, 0, 'the sweep skips a retired object');
  // the square, with its record: retired, the record still readable
  r = await cs.post(`${path(square)}/retire`, {});
  assert.equal(r.status, 200, r.text);
  r = await cs.get(path(square));
  assert.equal(r.status, 200, r.text);
  assert.equal(r.body.retired, true);
  assert.equal(r.body.records[0].kind_label, '巡查', 'its records stay readable');
  expectError(await cs.post(`${path(square)}/retire`, {}), 409, 'object_retired');
  expectError(await cs.patch(path(square), { name: '广场' }), 409, 'object_retired');
  expectError(await gw.post(`${path(square)}/records`, { result: 'ok' }), 409, 'object_retired');

  // lists, counts and the workbench leave retired objects out
  r = await cs.get('/api/v1/service/inspect/objects');
  assert.deepEqual(r.body.items.map((o) => o.name).sort(), ['多福巷农贸市场', '多福巷车棚']);
  r = await cs.get('/api/v1/service/inspect/objects?retired=1');
  assert.deepEqual(r.body.items.map((o) => o.name).sort(), ['多福巷便民摊点', '多福巷广场']);
  assert.equal((await cs.get('/api/v1/service/inspect/objects?retired=all')).body.total, 4);
  expectError(await cs.get('/api/v1/service/inspect/objects?retired=2'), 400, 'invalid_parameter', 'retired');
  assert.equal((await cs.get('/api/v1/service/inspect/objects?overdue=1')).body.total, 0, 'the retired overdue stall is not listed as late');
  assert.equal((await cs.get('/api/v1/service/inspect/stats')).body.items[0].objects, 2);
  const wb = (await gw.get('/api/v1/workbench')).body.entries.find((e) => e.key === 'inspect_overdue');
  assert.equal(wb.count, 0);
  const done = await waitForAudit(auditor, 'action=inspect.object_retire', (e) => e.result === 'ok');
  assert.equal(done.filter((e) => e.result === 'ok').length, 2, 'both retirements are audited');
});
