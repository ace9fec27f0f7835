// Visitors: a resident submits, community staff confirm or refuse, the
// confirmed visitor's code (token, PNG, SVG) works only inside its window,
// at the community's venues and while confirmed; scans are logged with
// their verdict; personal data is masked and audited; bad input everywhere.
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import fs from 'node:fs';
import path from 'node:path';
import { residentId, sqlRun, failingAudit } from './lib.mjs';
import { startCity, resident, expectError, alerts, auditWhere, OTHER_COMMUNITY } from './devlib.mjs';

let ctx, host;
const H = 3600000;

before(async () => {
  ctx = await startCity();
  host = await resident(ctx);
});
after(async () => {
  await ctx?.stop();
});

const visitor = (over = {}) => ({
  name: '赵六', id_type: 'resident_id', id_number: residentId('110102', '19920315', 7), phone: '13912345678',
  purpose: '探亲', valid_from: Date.now() - H, valid_to: Date.now() + 4 * H, ...over,
});

async function submit(over = {}, who = host) {
  const r = await who.post('/api/v1/me/visitors', visitor(over));
  assert.equal(r.status, 201, r.text);
  return r.body;
}

test('submit, list pending, confirm, code, scan: the happy path, masked', async () => {
  const v = await submit();
  assert.equal(v.status, 'pending');
  assert.equal(v.name, '赵*');
  assert.match(v.id_number, /^11\*{15}[\dX]$/);
  assert.equal(v.phone, '139****5678');
  const pending = await ctx.grid.get('/api/v1/visitors?status=pending');
  assert.equal(pending.status, 200, pending.text);
  assert.ok(pending.body.items.some((x) => x.id === v.id));
  assert.ok(!(await ctx.gridOther.get('/api/v1/visitors?status=pending')).body.items.some((x) => x.id === v.id), 'another community does not see it');
  assert.equal((await ctx.gridOther.post(`/api/v1/visitors/${v.id}/confirm`, {})).status, 404);
  // no code before confirmation
  expectError(await host.get(`/api/v1/visitors/${v.id}/code`), 409, 'visitor_not_confirmed');
  let r = await ctx.grid.post(`/api/v1/visitors/${v.id}/confirm`, {});
  assert.equal(r.status, 200, r.text);
  assert.equal(r.body.status, 'confirmed');
  expectError(await ctx.grid.post(`/api/v1/visitors/${v.id}/refuse`, { reason: '晚了' }), 409, 'visitor_not_pending');
  r = await host.get(`/api/v1/visitors/${v.id}/code`);
  assert.equal(r.status, 200, r.text);
  assert.match(r.body.token, /^FK1\./);
  const token = r.body.token;
  assert.equal((await host.get(`/api/v1/visitors/${v.id}/code`)).body.token, token, 'stable');
  const png = await host.get(`/api/v1/visitors/${v.id}/code.png`);
  assert.equal(png.headers.get('content-type'), 'image/png');
  const svg = await ctx.grid.get(`/api/v1/visitors/${v.id}/code.svg`);
  assert.match(svg.text, /^<svg/);
  // zbarimg reads the PNG back to the token
  const f = path.join(ctx.dir, 'visitor.png');
  fs.writeFileSync(f, Buffer.from(await (await fetch(ctx.url + `/api/v1/visitors/${v.id}/code.png`, { headers: { cookie: host.cookie } })).arrayBuffer()));
  assert.equal(execFileSync('zbarimg', ['--raw', '-q', f], { encoding: 'utf8' }).trim(), token);
  // another resident cannot fetch it
  const other = await resident(ctx, OTHER_COMMUNITY, '孙七');
  assert.equal((await other.get(`/api/v1/visitors/${v.id}/code`)).status, 404);
  // scan at the community gate
  r = await ctx.gate.post('/api/v1/visitors/scan', { venue_id: ctx.venue.id, token, direction: 'in', temperature: 36.6 });
  assert.equal(r.status, 200, r.text);
  assert.equal(r.body.verdict, 'allow');
  assert.equal(r.body.visitor.name, '赵*');
  // a fever: denied, logged, alert raised
  r = await ctx.gate.post('/api/v1/visitors/scan', { venue_id: ctx.venue.id, token, direction: 'in', temperature: 38.1 });
  assert.equal(r.status, 200, r.text);
  assert.equal(r.body.verdict, 'deny');
  assert.equal(r.body.reason, 'fever');
  assert.ok((await alerts(ctx.grid, '?kind=fever')).some((a) => /访客/.test(a.message) && /38\.1/.test(a.message)));
  // the resident sees their visitors
  const mine = await host.get('/api/v1/me/visitors');
  assert.ok(mine.body.items.some((x) => x.id === v.id && x.status === 'confirmed'));
});

test('the staff list names the host: community, masked name and masked address, never a code', async () => {
  const v = await submit({ name: '周九' });
  const r = await ctx.grid.get('/api/v1/visitors?status=pending&page_size=100');
  assert.equal(r.status, 200, r.text);
  const item = r.body.items.find((x) => x.id === v.id);
  assert.equal(item.host_community, '多福巷社区');
  assert.equal(item.host_name, '王*');
  assert.ok(item.host_address && item.host_address !== '多福巷1号' && item.host_address.includes('*'), item.host_address);
  assert.ok(!r.text.includes('王五') && !r.text.includes('多福巷1号'), 'the host stays masked');
});

test('refusal needs a reason; scans of bad, forged, revoked and out-of-window codes change nothing', async () => {
  const v = await submit();
  expectError(await ctx.grid.post(`/api/v1/visitors/${v.id}/refuse`, {}), 400, 'required', 'reason');
  expectError(await ctx.grid.post(`/api/v1/visitors/${v.id}/refuse`, { reason: '不认识', x: 1 }), 400, 'unknown_field', 'x');
  let r = await ctx.grid.post(`/api/v1/visitors/${v.id}/refuse`, { reason: '户主不在家' });
  assert.equal(r.status, 200);
  assert.equal(r.body.status, 'refused');
  assert.equal(r.body.reason, '户主不在家');
  expectError(await host.get(`/api/v1/visitors/${v.id}/code`), 409, 'visitor_not_confirmed');

  const ok = await submit();
  await ctx.grid.post(`/api/v1/visitors/${ok.id}/confirm`, {});
  const token = (await host.get(`/api/v1/visitors/${ok.id}/code`)).body.token;
  const scan = (body) => ctx.gate.post('/api/v1/visitors/scan', { venue_id: ctx.venue.id, token, direction: 'in', ...body });
  expectError(await scan({ token: 'FK1.AAAA.BBBB' }), 400, 'token_malformed', 'token');
  const forged = token.slice(0, -2) + (token.endsWith('AA') ? 'BB' : 'AA');
  expectError(await scan({ token: forged }), 400, 'token_forged', 'token');
  expectError(await scan({ direction: 'sideways' }), 400, 'invalid_value', 'direction');
  expectError(await scan({ temperature: 'hot' }), 400, 'invalid_type', 'temperature');
  expectError(await scan({ temperature: 50 }), 400, 'out_of_range', 'temperature');
  expectError(await scan({ venue_id: ctx.venueWest.id }), 404, 'unknown_venue', 'venue_id');
  expectError(await scan({ extra: 1 }), 400, 'unknown_field', 'extra');
  // a venue of another community inside the caller's scope (command centre)
  r = await ctx.cc.post('/api/v1/visitors/scan', { venue_id: ctx.venueOther.id, token, direction: 'in' });
  expectError(r, 409, 'visitor_wrong_area', 'venue_id');
  // a health-code token is not a visitor code
  const hc = (await host.get('/api/v1/me/code/token')).body.token;
  expectError(await scan({ token: hc }), 400, 'token_wrong_kind', 'token');
  // cancelled by the host: the code is revoked
  assert.equal((await host.del(`/api/v1/me/visitors/${ok.id}`)).status, 204);
  expectError(await scan({}), 400, 'visitor_code_revoked', 'token');
  // a window that has not started
  const later = await submit({ valid_from: Date.now() + 5 * H, valid_to: Date.now() + 8 * H });
  await ctx.grid.post(`/api/v1/visitors/${later.id}/confirm`, {});
  const lt = (await host.get(`/api/v1/visitors/${later.id}/code`)).body.token;
  expectError(await scan({ token: lt }), 409, 'visitor_window_not_started', 'token');
  // checkpoint staff cannot confirm; residents cannot list everyone's
  assert.equal((await ctx.gate.post(`/api/v1/visitors/${later.id}/confirm`, {})).status, 403);
  assert.equal((await host.get('/api/v1/visitors')).status, 403);
});

test('submission: bad input on every field is refused with the field', async () => {
  const cases = [
    [{ name: '' }, 'name'],
    [{ id_number: '110101199001011234' }, 'id_number'],
    [{ id_type: 'badge' }, 'id_type'],
    [{ phone: '12345' }, 'phone'],
    [{ purpose: '' }, 'purpose'],
    [{ plate: '京A1234' }, 'plate'],
    [{ valid_from: Date.now() + 2 * H, valid_to: Date.now() + H }, 'valid_to'],
    [{ valid_from: Date.now() - 3 * H, valid_to: Date.now() - H }, 'valid_to'],
    [{ valid_to: Date.now() + 9 * 24 * H }, 'valid_to'],
    [{ valid_from: Date.now() + 40 * 24 * H, valid_to: Date.now() + 41 * 24 * H }, 'valid_from'],
    [{ valid_to: 'tomorrow' }, 'valid_to'],
    [{ colour: 'red' }, 'colour'],
  ];
  const before = (await host.get('/api/v1/me/visitors')).body.total;
  for (const [over, field] of cases) {
    const r = await host.post('/api/v1/me/visitors', visitor(over));
    assert.equal(r.status, 400, JSON.stringify(over) + ' ' + r.text);
    assert.equal(r.body.error.field, field, JSON.stringify(over) + ' ' + r.text);
  }
  assert.equal((await host.get('/api/v1/me/visitors')).body.total, before, 'nothing stored');
  assert.equal((await ctx.grid.post('/api/v1/me/visitors', visitor())).status, 403, 'staff are not residents');
});

test('reads and writes of visitors are audited', async () => {
  const v = await submit();
  await ctx.grid.post(`/api/v1/visitors/${v.id}/confirm`, {});
  ctx.must(['audit', 'verify']);
});

test('a person\'s page lists the visitors that person invited (host_person_id), audited as a read of the person', async () => {
  const other = await resident(ctx, undefined, '孙七');
  const mine = await submit({ name: '吴一' });
  const theirs = await submit({ name: '郑二' }, other);
  const r = await ctx.grid.get(`/api/v1/visitors?host_person_id=${other.person.id}&page_size=100`);
  assert.equal(r.status, 200, r.text);
  const ids = r.body.items.map((x) => x.id);
  assert.ok(ids.includes(theirs.id), 'their visitor is listed');
  assert.ok(!ids.includes(mine.id), 'another host\'s visitor is not');
  assert.ok(r.body.items.every((x) => x.host_person_id === other.person.id));
  expectError(await ctx.grid.get('/api/v1/visitors?host_person_id=abc'), 400, 'invalid_parameter', 'host_person_id');
  const items = await auditWhere(ctx, 'action=visitor.list', (a) => a.object_type === 'person' && a.object_id === other.person.id);
  assert.ok(items.some((a) => a.object_type === 'person' && a.object_id === other.person.id), JSON.stringify(items.slice(0, 3)));
});

test('a decision and a scan are not kept without their audit entry (one transaction)', async () => {
  const v = await submit({ name: '钱十一' });
  const confirm = () => ctx.grid.post(`/api/v1/visitors/${v.id}/confirm`, {});
  let r = await failingAudit(ctx, 'visitor.confirm', confirm);
  assert.equal(r.status, 500, r.text);
  assert.equal((await ctx.grid.get(`/api/v1/visitors/${v.id}`)).body.status, 'pending');
  assert.equal((await confirm()).status, 200);
  const token = (await host.get(`/api/v1/visitors/${v.id}/code`)).body.token;
  const passages = () => Number(sqlRun(ctx, `SELECT COUNT(*) FROM visitor_passages WHERE visitor_id = ${v.id}`).trim());
  const scan = () => ctx.gate.post('/api/v1/visitors/scan', { venue_id: ctx.venue.id, token, direction: 'in' });
  r = await failingAudit(ctx, 'visitor.scan', scan);
  assert.equal(r.status, 500, r.text);
  assert.equal(passages(), 0);
  assert.equal((await scan()).status, 200);
  assert.equal(passages(), 1);
});
