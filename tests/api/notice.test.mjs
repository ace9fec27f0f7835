// Notices with read receipts (docs/community.md "Notices"): publishing to
// each audience with the body sanitised on the server, bad input for every
// field, a resident's list and opening (idempotent), someone else's notice,
// a staff user outside scope, exact receipts with masked names and their
// CSV, editing before and after a reading, remind the rest, withdrawing;
// live receipts over SSE (counts only, in scope; another server on PostgreSQL).
// One server; the tests build on each other's data in order.
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { residentId, smsCode, startCityWith, expectError, openStream, until, startPeer, onPostgres } from './lib.mjs';

const PW = 'Notice-test-2024!';
const COMMUNITY = '110101001001';
const BUILDING = '110101001001001001';
const OTHER_COMMUNITY = '110101002001';
const WEST = '110102001001';
let ctx, cc, ccWest, comm, grid;
let resA, resB, resC, personD;
let seq = 0;
const rid = () => residentId('110101', '19600505', 500 + ++seq * 2);

async function resident(phone, body) {
  const c = ctx.client();
  await c.post('/api/v1/auth/sms/send', { phone });
  const r0 = await c.post('/api/v1/auth/sms/login', { phone, code: smsCode(ctx, phone) });
  assert.equal(r0.status, 200, r0.text);
  await c.post('/api/v1/me/consent', { version: 'v1' });
  const r = await c.post('/api/v1/me/person', { id_number: rid(), address: '多福巷1号', ...body });
  assert.equal(r.status, 201, r.text);
  c.personId = r.body.person.id;
  return c;
}

before(async () => {
  ctx = await startCityWith({
    cc_dc: ['command_center', '110101000000'],
    cc_west: ['command_center', '110102000000'],
    comm_dc: ['community_staff', COMMUNITY],
    grid_dc: ['grid_worker', COMMUNITY],
  }, PW);
  ({ cc_dc: cc, cc_west: ccWest, comm_dc: comm, grid_dc: grid } = ctx.as);
  // A lives in the building and is an elderly person living alone; B in the
  // community; C in another community; D (no account) in the building, on
  // home isolation
  resA = await resident('13900000001', { name: '张三丰', region_code: BUILDING, vulnerable: ['elderly_alone'] });
  resB = await resident('13900000002', { name: '李四海', region_code: COMMUNITY });
  resC = await resident('13900000003', { name: '王五岳', region_code: OTHER_COMMUNITY });
  const d = await cc.post('/api/v1/persons', { name: '赵六合', id_number: rid(), region_code: BUILDING });
  assert.equal(d.status, 201, d.text);
  personD = d.body.id;
  const o = await cc.post('/api/v1/observations', { person_id: personD, kind: 'home_isolation', source: 'grid_patrol' });
  assert.equal(o.status, 201, o.text);
});

after(async () => {
  await ctx?.stop();
});

const good = { region_code: COMMUNITY, audience: 'all', title: '核酸检测通知', body: '<p>明天上午检测</p>' };
let allNotice, buildingNotice;

test('bad input is refused, field by field, and writes nothing', async () => {
  expectError(await comm.post('/api/v1/notices', { ...good, title: undefined }), 400, 'required', 'title');
  expectError(await comm.post('/api/v1/notices', { ...good, title: '   ' }), 400, 'required', 'title');
  expectError(await comm.post('/api/v1/notices', { ...good, title: '长'.repeat(101) }), 400, 'too_long', 'title');
  expectError(await comm.post('/api/v1/notices', { ...good, audience: 'everyone' }), 400, 'invalid_value', 'audience');
  expectError(await comm.post('/api/v1/notices', { ...good, region_code: 'abc' }), 400, 'invalid_region', 'region_code');
  expectError(await comm.post('/api/v1/notices', { ...good, pinned: 'yes' }), 400, 'invalid_type', 'pinned');
  expectError(await comm.post('/api/v1/notices', { ...good, colour: 'red' }), 400, 'unknown_field', 'colour');
  expectError(await comm.post('/api/v1/notices', { ...good, audience: 'vulnerable' }), 400, 'required', 'vulnerable');
  expectError(await comm.post('/api/v1/notices', { ...good, audience: 'vulnerable', vulnerable: 'giants' }), 400, 'invalid_value', 'vulnerable');
  expectError(await comm.post('/api/v1/notices', { ...good, vulnerable: 'pregnant' }), 400, 'invalid_value', 'vulnerable');
  expectError(await comm.post('/api/v1/notices', { ...good, audience: 'building' }), 400, 'invalid_value', 'audience');
  // nothing but markup that the sanitiser drops
  expectError(await comm.post('/api/v1/notices', { ...good, body: '<script>alert(1)</script><p> </p>' }), 400, 'required', 'body');
  expectError(await comm.post('/api/v1/notices', { ...good, attachments: [123] }), 400, 'invalid_attachment', 'attachments[0]');
  // a region outside the author's scope is as if it did not exist
  expectError(await comm.post('/api/v1/notices', { ...good, region_code: OTHER_COMMUNITY }), 404, 'not_found', 'region_code');
  expectError(await comm.post('/api/v1/notices', { ...good, region_code: '110101001009' }), 404, 'not_found', 'region_code');
  // an audience that holds nobody (nobody pregnant)
  expectError(await comm.post('/api/v1/notices', { ...good, audience: 'vulnerable', vulnerable: 'pregnant' }), 409, 'no_recipients', 'audience');
  // no permission
  assert.equal((await grid.post('/api/v1/notices', good)).status, 403);
  assert.equal((await resA.post('/api/v1/notices', good)).status, 403);
  const list = await cc.get('/api/v1/notices?all=1');
  assert.equal(list.status, 200, list.text);
  assert.equal(list.body.total, 0);
});

test('publishing sanitises the body and resolves each audience into exact recipients', async () => {
  const r = await comm.post('/api/v1/notices', {
    ...good,
    pinned: true,
    body: '<p onclick="steal()" style="color:red">请<strong>注意</strong><script>alert(1)</script>' +
      '<img src=x onerror=alert(1)><a href="java&#x09;script:alert(1)">链接</a>' +
      '<a href="https://example.cn/a">说明</a></p><iframe src="//evil"></iframe>',
  });
  assert.equal(r.status, 201, r.text);
  allNotice = r.body;
  assert.equal(allNotice.body,
    '<p>请<strong>注意</strong><a rel="noopener">链接</a><a href="https://example.cn/a" rel="noopener">说明</a></p>');
  assert.equal(allNotice.recipients, 3); // A, B and D; not C of another community
  assert.equal(allNotice.read, 0);
  assert.equal(allNotice.region_name, '多福巷社区');
  assert.equal(allNotice.pinned, true);
  assert.equal(allNotice.editable, true);
  // the stored body is the sanitised one
  const again = await comm.get(`/api/v1/notices/${allNotice.id}`);
  assert.equal(again.body.body, allNotice.body);
  assert.ok(!again.text.includes('script') && !again.text.includes('onerror') && !again.text.includes('onclick'));

  const b = await comm.post('/api/v1/notices', { ...good, region_code: BUILDING, audience: 'building', title: '1号楼停水通知' });
  assert.equal(b.status, 201, b.text);
  buildingNotice = b.body;
  assert.equal(buildingNotice.recipients, 2); // A and D
  const v = await comm.post('/api/v1/notices', { ...good, audience: 'vulnerable', vulnerable: 'elderly_alone', title: '独居老人关怀' });
  assert.equal(v.status, 201, v.text);
  assert.equal(v.body.recipients, 1);
  assert.equal(v.body.vulnerable_label, '独居老人');
  const o = await comm.post('/api/v1/notices', { ...good, audience: 'observation', title: '居家隔离须知' });
  assert.equal(o.status, 201, o.text);
  assert.equal(o.body.recipients, 1); // D only
  const rc = await comm.get(`/api/v1/notices/${o.body.id}/receipts`);
  assert.equal(rc.body.items.length, 1);
  assert.equal(rc.body.items[0].person_id, personD);
});

test('a resident sees the notices addressed to them, pinned first, and opens one once', async () => {
  let r = await resA.get('/api/v1/me/notices');
  assert.equal(r.status, 200, r.text);
  assert.equal(r.body.total, 3); // all, building, vulnerable
  assert.equal(r.body.unread, 3);
  assert.equal(r.body.items[0].id, allNotice.id); // pinned first
  assert.equal(r.body.items[0].read, false);
  assert.equal(r.body.items[0].summary, '请注意链接说明');
  assert.equal((await resB.get('/api/v1/me/notices')).body.total, 1);
  assert.equal((await resC.get('/api/v1/me/notices')).body.total, 0);

  r = await resA.get(`/api/v1/me/notices/${allNotice.id}`);
  assert.equal(r.status, 200, r.text);
  assert.equal(r.body.body, allNotice.body);
  assert.equal(r.body.read, true);
  const firstRead = r.body.read_at;
  assert.ok(firstRead > 0);
  r = await resA.get(`/api/v1/me/notices/${allNotice.id}`);
  assert.equal(r.body.read_at, firstRead); // idempotent
  r = await resA.get('/api/v1/me/notices');
  assert.equal(r.body.unread, 2);

  // someone else's notice, an unknown one, a bad id; staff on the resident's path
  expectError(await resC.get(`/api/v1/me/notices/${allNotice.id}`), 404, 'not_found');
  expectError(await resB.get(`/api/v1/me/notices/${buildingNotice.id}`), 404, 'not_found');
  assert.equal((await resA.get('/api/v1/me/notices/999')).status, 404);
  assert.equal((await resA.get('/api/v1/me/notices/abc')).status, 404);
  assert.equal((await comm.get('/api/v1/me/notices')).status, 403); // staff hold no self permission
  // a resident on the staff paths
  assert.equal((await resA.get(`/api/v1/notices/${allNotice.id}/receipts`)).status, 403);
});

test('receipts are exact, masked, filterable and exportable', async () => {
  let r = await comm.get(`/api/v1/notices/${allNotice.id}`);
  assert.equal(r.body.read, 1);
  assert.equal(r.body.unread, 2);
  assert.equal(r.body.editable, false);
  r = await comm.get(`/api/v1/notices/${allNotice.id}/receipts?state=read`);
  assert.equal(r.status, 200, r.text);
  assert.equal(r.body.total, 1);
  assert.equal(r.body.items[0].name, '张*丰');
  assert.equal(r.body.items[0].region_name, '1号楼');
  assert.ok(r.body.items[0].read_at > 0);
  r = await comm.get(`/api/v1/notices/${allNotice.id}/receipts?state=unread`);
  assert.equal(r.body.total, 2);
  assert.ok(!r.text.includes('李四海') && !r.text.includes('赵六合'));
  r = await comm.get(`/api/v1/notices/${allNotice.id}/receipts?building=${BUILDING}`);
  assert.equal(r.body.total, 2); // A and D live in 1号楼
  expectError(await comm.get(`/api/v1/notices/${allNotice.id}/receipts?state=maybe`), 400, 'invalid_parameter', 'state');
  expectError(await comm.get(`/api/v1/notices/${allNotice.id}/receipts?building=x`), 400, 'invalid_region', 'building');
  expectError(await comm.get(`/api/v1/notices/${allNotice.id}/receipts?building=${WEST}`), 400, 'invalid_region', 'building');
  expectError(await comm.get(`/api/v1/notices/${allNotice.id}/receipts?format=pdf`), 400, 'invalid_parameter', 'format');
  const csv = await comm.get(`/api/v1/notices/${allNotice.id}/receipts?format=csv`);
  assert.equal(csv.status, 200);
  assert.match(csv.text, /姓名,楼栋,状态,阅读时间,提醒时间/);
  assert.match(csv.text, /张\*丰,1号楼,已读/);
  assert.ok(!csv.text.includes('张三丰'));
  assert.equal(csv.text.trim().split('\n').length, 4);
  const xlsx = await comm.get(`/api/v1/notices/${allNotice.id}/receipts?format=xlsx`);
  assert.equal(xlsx.status, 200);
  assert.match(xlsx.headers.get('content-type'), /spreadsheetml/);
  // a command centre of another district: as if it did not exist
  expectError(await ccWest.get(`/api/v1/notices/${allNotice.id}`), 404, 'not_found');
  expectError(await ccWest.get(`/api/v1/notices/${allNotice.id}/receipts`), 404, 'not_found');
  expectError(await ccWest.post(`/api/v1/notices/${allNotice.id}/remind`), 404, 'not_found');
  expectError(await ccWest.post(`/api/v1/notices/${allNotice.id}/withdraw`), 404, 'not_found');
  assert.equal((await ccWest.get('/api/v1/notices')).body.total, 0);
  // the district's command centre sees its communities' notices
  assert.equal((await cc.get('/api/v1/notices')).body.total, 4);
});

test('editing only while unread; remind the rest', async () => {
  expectError(await comm.patch(`/api/v1/notices/${allNotice.id}`, { title: '改', body: '<p>改</p>' }), 409, 'notice_already_read');
  let r = await comm.patch(`/api/v1/notices/${buildingNotice.id}`, { title: '1号楼停水通知（更正）', body: '<p>下午<em>两点</em></p><script>x</script>', pinned: true });
  assert.equal(r.status, 200, r.text);
  assert.equal(r.body.body, '<p>下午<em>两点</em></p>');
  assert.equal(r.body.title, '1号楼停水通知（更正）');
  expectError(await comm.patch(`/api/v1/notices/${buildingNotice.id}`, { title: '', body: '<p>x</p>' }), 400, 'required', 'title');

  r = await comm.post(`/api/v1/notices/${allNotice.id}/remind`);
  assert.equal(r.status, 200, r.text);
  assert.equal(r.body.reminded, 2); // B and D, not A who read it
  const mine = await resB.get('/api/v1/me/notices');
  assert.equal(mine.body.items[0].reminded, true);
  const a = await resA.get('/api/v1/me/notices');
  assert.equal(a.body.items.find((n) => n.id === allNotice.id).reminded, false);
});

test('withdrawing hides the notice from residents, once', async () => {
  let r = await comm.post(`/api/v1/notices/${allNotice.id}/withdraw`);
  assert.equal(r.status, 200, r.text);
  assert.equal(r.body.state, 'withdrawn');
  expectError(await comm.post(`/api/v1/notices/${allNotice.id}/withdraw`), 409, 'notice_withdrawn');
  expectError(await comm.post(`/api/v1/notices/${allNotice.id}/remind`), 409, 'notice_withdrawn');
  expectError(await resA.get(`/api/v1/me/notices/${allNotice.id}`), 404, 'not_found');
  assert.ok(!(await resA.get('/api/v1/me/notices')).body.items.some((n) => n.id === allNotice.id));
  assert.equal((await resB.get('/api/v1/me/notices')).body.total, 0);
  // staff still see it with all=1, and its receipts
  assert.equal((await comm.get('/api/v1/notices')).body.total, 3);
  assert.equal((await comm.get('/api/v1/notices?all=1')).body.total, 4);
  expectError(await comm.get('/api/v1/notices?all=2'), 400, 'invalid_parameter', 'all');
  assert.equal((await comm.get(`/api/v1/notices/${allNotice.id}/receipts`)).body.total, 3);
});

test('a recipient reads a notice\'s attachment through the notice; nobody else does', async () => {
  const JPEG = Buffer.from([0xff, 0xd8, 0xff, 0xe0, 0, 16, 0x4a, 0x46, 0x49, 0x46, 0, 1, ...Buffer.alloc(64, 0x5a)]);
  const up = await comm.post('/api/v1/attachments', JPEG, { 'content-type': 'image/jpeg' });
  assert.equal(up.status, 201, up.text);
  const r = await comm.post('/api/v1/notices', { ...good, region_code: BUILDING, audience: 'building', title: '1号楼消杀安排', attachments: [up.body.id] });
  assert.equal(r.status, 201, r.text);
  assert.equal(r.body.attachments.length, 1);
  const id = r.body.id;
  const own = `/api/v1/me/notices/${id}/attachments/${up.body.id}`;
  // A lives in the building: a recipient; the bytes are the upload's
  const a = await resA.get(own);
  assert.equal(a.status, 200);
  assert.equal(a.headers.get('content-type'), 'image/jpeg');
  assert.equal(Number(a.headers.get('content-length')), JPEG.length);
  expectError(await resB.get(own), 404, 'not_found'); // not in the building
  expectError(await resA.get(`/api/v1/me/notices/${allNotice.id}/attachments/${up.body.id}`), 404, 'not_found'); // another notice
  expectError(await resA.get(`/api/v1/me/notices/${id}/attachments/123`), 404, 'not_found');
  expectError(await resA.get(`/api/v1/me/notices/${id}/attachments/x`), 404, 'not_found'); // not an id
  assert.equal((await comm.get(`/api/v1/notices/${id}/attachments/${up.body.id}`)).status, 200);
  expectError(await ccWest.get(`/api/v1/notices/${id}/attachments/${up.body.id}`), 404, 'not_found');
  // withdrawn: the residents' route closes with the notice
  assert.equal((await comm.post(`/api/v1/notices/${id}/withdraw`)).status, 200);
  expectError(await resA.get(own), 404, 'not_found');
});

test('a notice\'s body images are served to its recipients through the notice', async () => {
  const JPEG = Buffer.from([0xff, 0xd8, 0xff, 0xe0, 0, 16, 0x4a, 0x46, 0x49, 0x46, 0, 1, ...Buffer.alloc(64, 0x5a)]);
  const up = await comm.post('/api/v1/attachments', JPEG, { 'content-type': 'image/jpeg' });
  const other = await comm.post('/api/v1/attachments', JPEG, { 'content-type': 'image/jpeg' });
  assert.equal(up.status, 201, up.text);
  const img = up.body.id;
  const theirs = await resA.post('/api/v1/attachments', JPEG, { 'content-type': 'image/jpeg' });
  const body = (src) => `<p>消杀路线</p><img src="${src}">`;
  const bad = { ...good, region_code: BUILDING, audience: 'building', title: '1号楼消杀路线', body: body(`/api/v1/attachments/${theirs.body.id}`) };
  expectError(await comm.post('/api/v1/notices', bad), 400, 'invalid_attachment', 'body');
  const r = await comm.post('/api/v1/notices', { ...bad, body: body(`/api/v1/attachments/${img}`) });
  assert.equal(r.status, 201, r.text);
  const id = r.body.id;
  assert.equal(r.body.body, body(`/api/v1/notices/${id}/images/${img}`));
  assert.deepEqual(r.body.attachments, []); // not listed as an attachment
  // edited while unread, the body sent back as staff got it keeps its image
  const p = await comm.patch(`/api/v1/notices/${id}`, { title: '1号楼消杀路线图', body: r.body.body });
  assert.equal(p.status, 200, p.text);
  assert.equal(p.body.body, r.body.body);
  const mine = `/api/v1/me/notices/${id}/images/${img}`;
  const o = await resA.get(`/api/v1/me/notices/${id}`);
  assert.equal(o.status, 200, o.text);
  assert.equal(o.body.body, body(mine));
  const a = await resA.get(mine);
  assert.equal(a.status, 200);
  assert.equal(Number(a.headers.get('content-length')), JPEG.length);
  expectError(await resA.get(`/api/v1/attachments/${img}`), 404, 'not_found');
  expectError(await resA.get(`/api/v1/me/notices/${id}/images/${other.body.id}`), 404, 'not_found'); // not in the body
  expectError(await resB.get(mine), 404, 'not_found'); // not a recipient
  assert.equal((await comm.get(`/api/v1/notices/${id}/images/${img}`)).status, 200);
  expectError(await ccWest.get(`/api/v1/notices/${id}/images/${img}`), 404, 'not_found');
  assert.equal((await comm.post(`/api/v1/notices/${id}/withdraw`)).status, 200);
  expectError(await resA.get(mine), 404, 'not_found');
});

// Live receipts (live.c): the console's drawer hears a first reading as an
// event of counts only, in the staff member's scope; nobody else hears it.
test('a first reading is pushed to the staff streams in scope, counts only', async () => {
  const r = await comm.post('/api/v1/notices', { ...good, title: '楼道消毒时间' });
  assert.equal(r.status, 201, r.text);
  const id = r.body.id;
  const mine = await openStream(ctx.url, comm, {}, '/api/v1/notices/stream');
  const city = await openStream(ctx.url, cc, {}, '/api/v1/notices/stream');
  const west = await openStream(ctx.url, ccWest, {}, '/api/v1/notices/stream');
  try {
    assert.equal(mine.status, 200);
    assert.match(mine.type, /^text\/event-stream/);
    assert.equal(west.status, 200);
    // no notice.read: neither a resident nor a grid worker opens it
    assert.equal((await openStream(ctx.url, resA, {}, '/api/v1/notices/stream')).status, 403);
    assert.equal((await openStream(ctx.url, grid, {}, '/api/v1/notices/stream')).status, 403);
    assert.equal(mine.events.length, 0);

    assert.equal((await resB.get(`/api/v1/me/notices/${id}`)).status, 200);
    assert.ok(await until(() => mine.events.length >= 1 && city.events.length >= 1), 'heard in scope');
    const ev = mine.events[0];
    assert.equal(ev.event, 'receipt');
    assert.deepEqual(ev.data, { notice_id: id, read: 1, recipients: r.body.recipients });
    assert.deepEqual(Object.keys(ev.data).sort(), ['notice_id', 'read', 'recipients']); // no person
    assert.ok(!mine.raw.includes('李四海') && !mine.raw.includes(resB.personId));
    assert.deepEqual(city.events[0].data, ev.data);

    // opening it again is not a reading: nothing more; a second reader counts 2
    assert.equal((await resB.get(`/api/v1/me/notices/${id}`)).status, 200);
    assert.equal((await resA.get(`/api/v1/me/notices/${id}`)).status, 200);
    assert.ok(await until(() => mine.events.length >= 2));
    assert.equal(mine.events.length, 2);
    assert.equal(mine.events[1].data.read, 2);
    // the drawer's re-read agrees with the event
    assert.equal((await comm.get(`/api/v1/notices/${id}`)).body.read, 2);
    // another district's command centre heard nothing of it
    assert.equal(west.events.length, 0);
  } finally {
    mine.close();
    city.close();
    west.close();
  }
});

// Two servers on one PostgreSQL database: a reading on one reaches the
// drawer of a console connected to the other (NOTIFY fk_notices), once.
test('a reading on one server reaches the streams of another on the same database', { skip: !onPostgres && 'several servers share a PostgreSQL database only' }, async () => {
  const r = await comm.post('/api/v1/notices', { ...good, title: '垃圾分类宣传' });
  assert.equal(r.status, 201, r.text);
  const peer = await startPeer(ctx);
  try {
    const commPeer = peer.client();
    await commPeer.login('comm_dc', PW);
    const there = await openStream(peer.url, commPeer, {}, '/api/v1/notices/stream');
    const here = await openStream(ctx.url, comm, {}, '/api/v1/notices/stream');
    assert.equal(there.status, 200);
    assert.equal((await resB.get(`/api/v1/me/notices/${r.body.id}`)).status, 200);
    assert.ok(await until(() => there.events.length >= 1 && here.events.length >= 1), 'heard on both servers');
    assert.deepEqual(there.events[0].data, { notice_id: r.body.id, read: 1, recipients: r.body.recipients });
    assert.equal(here.events.length, 1); // its own server did not publish it twice
    there.close();
    here.close();
  } finally {
    await peer.stop();
  }
});
