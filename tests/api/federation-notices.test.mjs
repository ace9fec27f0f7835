// Notices downward (docs/exchange.md "Notices downward", docs/community.md
// "Notices"; src/exchange/federation.c notice_apply, src/notice/notice.c).
// A district instance (the parent, real, on SQLite) publishes notices; its
// change feed /exchange/v1/notices/changes sends a street child only those
// to all residents of a region covering the street (not a sibling street's,
// not one inside the street, not one to a group). The street (the child,
// FK_FED_NOTICES=1; on PostgreSQL under with-postgres) pulls it, publishes
// the copy to all residents of its root, where a resident reads it with
// receipts at the child; the parent's withdrawal withdraws the copy; a
// change sent again maps onto the same copy. Then the child's parent peer
// is pointed at a stand-in feed (fake-peer.mjs) with hostile records: the
// body is sanitised again on arrival, and every bad record (outside the
// root, a group audience, bad title, nothing left of the body) is passed,
// audited and counted while the good one applies.
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { startCityWith, residentId, smsCode, expectError, waitForAudit } from './lib.mjs';
import { startFakePeer, sm2Pair } from './fake-peer.mjs';
import { ok, caller, serverKey } from './share-lib.mjs';

const PW = 'Passw0rd!fednotice';
const DISTRICT = '110101000000';
const STREET = '110101001000'; // 东华门街道: the child's root
const COMMUNITY = '110101001001';
const BUILDING = '110101001001001001';
const SIBLING = '110101002001'; // 景山街道's community
const PARENT = '东城区防控平台';
let parent, child, pcc, cAdmin, ccc, cAuditor, resident, up, peer, front;
let seq = 0;
const rid = () => residentId('110101', '19720303', 900 + ++seq * 2);

const pull = () => cAdmin.post('/api/v1/exchange/federation/pull');
const childNotices = async () => (await ok(await ccc.get('/api/v1/notices?all=1&page_size=100'))).items;
const cursor = async () => (await ok(await cAdmin.get('/api/v1/exchange/federation'))).cursors.find((c) => c.dataset === 'notices');

before(async () => {
  parent = await startCityWith({ p_admin: ['security_admin', '110000000000'], p_cc: ['command_center', DISTRICT] }, PW, {
    sqlite: true,
    env: { FK_NODE: '41', FK_OUTBOX_EVERY: '0' },
  });
  pcc = parent.as.p_cc;
  child = await startCityWith(
    {
      c_admin: ['security_admin', '110000000000'],
      c_cc: ['command_center', DISTRICT],
      c_auditor: ['audit_admin', '110000000000'],
    },
    PW,
    { env: { FK_NODE: '42', FK_FED_PARENT: PARENT, FK_FED_PULL: '0', FK_FED_NOTICES: '1', FK_OUTBOX_EVERY: '0' } },
  );
  ({ c_admin: cAdmin, c_cc: ccc, c_auditor: cAuditor } = child.as);
  // the parent's people: someone in the street, in the sibling street, and
  // an elderly person living alone (a group audience)
  for (const [name, region, extra] of [['周一鸣', BUILDING, {}], ['吴二妹', SIBLING, {}], ['郑三叔', BUILDING, { vulnerable: ['elderly_alone'] }]])
    await ok(await pcc.post('/api/v1/persons', { name, id_number: rid(), region_code: region, ...extra }), 201);
  // the child's residents: one with an account, one without
  resident = child.client();
  const phone = '13600000021';
  await resident.post('/api/v1/auth/sms/send', { phone });
  await ok(await resident.post('/api/v1/auth/sms/login', { phone, code: smsCode(child, phone) }));
  await resident.post('/api/v1/me/consent', { version: 'v1' });
  await ok(await resident.post('/api/v1/me/person', { name: '钱四海', id_number: rid(), region_code: BUILDING, address: '多福巷1号楼' }), 201);
  await ok(await ccc.post('/api/v1/persons', { name: '孙五岳', id_number: rid(), region_code: COMMUNITY }), 201);
  // wired with the real APIs: the child a caller at the parent reading
  // notices for its street, the parent the child's parent peer
  up = await caller(parent.as.p_admin, '东华门街道平台', [STREET], ['zones', 'risk_areas', 'notices']);
  peer = await ok(await cAdmin.post('/api/v1/exchange/peers', {
    name: PARENT, kind: 'fangkong', base_url: parent.url, caller: up.id, key: up.private_key_pem,
    peer_key: await serverKey(parent.url), timeout_s: 3, region: STREET,
  }), 201);
});

after(async () => {
  await front?.close();
  await child?.stop();
  await parent?.stop();
});

const notice = (region_code, title, extra = {}) => pcc.post('/api/v1/notices', { region_code, audience: 'all', title, body: '<p>明天<strong>全员</strong>检测</p>', ...extra });
let districtNotice;

test("the parent's notice to the district is published at the street child to all its residents, read there with receipts", async () => {
  districtNotice = await ok(await notice(DISTRICT, '全区核酸检测安排', { pinned: true }), 201);
  // none of these reach the street: a sibling street's, one inside the
  // street (its residents' own), one to a group
  await ok(await notice(SIBLING, '景山街道停水通知'), 201);
  await ok(await notice(COMMUNITY, '多福巷社区消杀'), 201);
  await ok(await notice(DISTRICT, '独居老人送药上门', { audience: 'vulnerable', vulnerable: 'elderly_alone' }), 201);

  const st0 = await ok(await cAdmin.get('/api/v1/exchange/federation'));
  assert.equal(st0.notices_taken, true);
  const r = await ok(await pull());
  assert.equal(r.applied, 1, JSON.stringify(r));
  let copies = await childNotices();
  assert.deepEqual(copies.map((n) => n.title), ['全区核酸检测安排']);
  const copy = copies[0];
  assert.notEqual(copy.id, districtNotice.id, 'the copy has an id of the child');
  assert.equal(copy.region_code, STREET, "anchored at the child's root");
  assert.equal(copy.audience, 'all');
  assert.equal(copy.pinned, true);
  assert.equal(copy.author_name, `上级平台（${PARENT}）`);
  assert.equal(copy.recipients, 2, "the child's residents in the street");
  const c = await cursor();
  assert.deepEqual([c.seq > 0, c.applied, c.rejected, c.last_error], [true, 1, 0, '']);

  // the resident of the child reads it there; the receipts are the child's
  const mine = await ok(await resident.get('/api/v1/me/notices'));
  assert.equal(mine.items.filter((n) => n.title === '全区核酸检测安排').length, 1);
  const opened = await ok(await resident.get(`/api/v1/me/notices/${copy.id}`));
  assert.equal(opened.body, '<p>明天<strong>全员</strong>检测</p>');
  const rc = await ok(await ccc.get(`/api/v1/notices/${copy.id}/receipts?state=read`));
  assert.equal(rc.total, 1);
  assert.equal(rc.items[0].name, '钱*海');
  await waitForAudit(cAuditor, new URLSearchParams({ action: 'exchange.fed.notices', object_id: copy.id }).toString(), (a) => a.result === 'ok');

  // pulled again: nothing new, nothing doubled
  assert.equal((await ok(await pull())).applied, 0);
  assert.equal((await childNotices()).length, 1);
});

test("the parent's withdrawal withdraws the copy; one withdrawn before any pull is never copied", async () => {
  await ok(await pcc.post(`/api/v1/notices/${districtNotice.id}/withdraw`));
  const gone = await ok(await notice(DISTRICT, '临时通知（已撤回）'), 201);
  await ok(await pcc.post(`/api/v1/notices/${gone.id}/withdraw`));
  const r = await ok(await pull());
  assert.equal(r.applied, 3, JSON.stringify(r)); // the withdrawal, the publication and withdrawal of the other
  const copies = await childNotices();
  assert.deepEqual(copies.map((n) => [n.title, n.state]), [['全区核酸检测安排', 'withdrawn']]);
  expectError(await resident.get(`/api/v1/me/notices/${copies[0].id}`), 404, 'not_found');
  assert.ok(!(await ok(await resident.get('/api/v1/me/notices'))).items.some((n) => n.title === '全区核酸检测安排'));
});

test('a caller without the notices grant is refused by the parent: nothing applies and the reason is kept', async () => {
  const other = await caller(parent.as.p_admin, '只读封控区的调用方', [STREET], ['zones', 'risk_areas']);
  await ok(await cAdmin.patch(`/api/v1/exchange/peers/${peer.id}`, {
    name: PARENT, kind: 'fangkong', base_url: parent.url, caller: other.id, key: other.private_key_pem,
    peer_key: await serverKey(parent.url), timeout_s: 3, region: STREET,
  }));
  await ok(await notice(DISTRICT, '未授权时发布的通知'), 201);
  const before_ = await cursor();
  const r = await pull();
  assert.notEqual(r.status, 200, r.text);
  assert.equal(r.body.error.code, 'fed_parent_refused', r.text);
  const c = await cursor();
  assert.equal(c.seq, before_.seq, 'the cursor stays');
  assert.match(c.last_error, /上级平台拒绝（403）/);
  assert.ok(!(await childNotices()).some((n) => n.title === '未授权时发布的通知'));
});

test('a stand-in feed with hostile records: the body is sanitised again, every bad record is passed and counted', async () => {
  const ours = sm2Pair();
  const base = (await cursor()).seq;
  const rec = (id, over = {}) => ({ id, region_code: DISTRICT, audience: 'all', title: '勤洗手', body: '<p>勤洗手</p>', pinned: false, state: 'published', published_at: 1, withdrawn_at: 0, ...over });
  const feed = [
    rec('9001', { title: '  防疫提示  ', body: '<p onclick="steal()">勤洗手<script>alert(1)</script><img src="http://evil.example/x.png"><a href="javascript:alert(2)">戴口罩</a></p>' }),
    rec('9002', { region_code: SIBLING }), // does not cover the child's root
    rec('9003', { audience: 'vulnerable' }),
    rec('9004', { title: '   ' }),
    rec('9005', { title: '长'.repeat(101) }),
    rec('9006', { body: '<script>alert(3)</script>' }), // nothing left of it
    rec('9007', { region_code: 'abc' }),
  ].map((record, i) => ({ seq: base + 1 + i, op: 'upsert', id: record.id, region: DISTRICT, record }));
  front = await startFakePeer({
    caller: 'fk-dhm',
    callerKey: ours.publicPem,
    routes: {
      'GET /exchange/v1/zones/changes': () => [200, { items: [], next: 0, more: false }],
      'GET /exchange/v1/risk_areas/changes': () => [200, { items: [], next: 0, more: false }],
      'GET /exchange/v1/notices/changes': (rq) => {
        const since = Number(new URLSearchParams(rq.query).get('since') || 0);
        const items = feed.filter((c) => c.seq > since);
        return [200, { items, next: items.length ? items.at(-1).seq : since, more: false }];
      },
    },
  });
  await ok(await cAdmin.patch(`/api/v1/exchange/peers/${peer.id}`, {
    name: PARENT, kind: 'fangkong', base_url: front.url, caller: 'fk-dhm', key: ours.privatePem,
    peer_key: front.keys.publicPem, timeout_s: 3, region: STREET,
  }));
  const before_ = await cursor();
  const r = await ok(await pull());
  assert.equal(r.applied, 1, JSON.stringify(r));
  const c = await cursor();
  assert.equal(c.rejected - before_.rejected, 6);
  assert.equal(c.seq, base + feed.length);
  const copy = (await childNotices()).find((n) => n.title === '防疫提示');
  assert.ok(copy, 'the good record of the page applied, its title trimmed');
  const body = (await ok(await ccc.get(`/api/v1/notices/${copy.id}`))).body;
  assert.match(body, /勤洗手/);
  assert.match(body, /戴口罩/);
  for (const bad of ['script', 'onclick', 'evil.example', 'javascript:', 'alert']) assert.ok(!body.includes(bad), `${bad} in ${body}`);
  assert.equal((await childNotices()).filter((n) => n.title === '勤洗手').length, 0, 'no bad record was copied');
  // the refusals are audited with their reason
  const refused = await waitForAudit(cAuditor, new URLSearchParams({ action: 'exchange.fed.notices' }).toString(), (a) => a.result === 'too_long');
  const slugs = refused.filter((a) => a.result !== 'ok').map((a) => a.result).sort();
  assert.deepEqual(slugs, ['invalid_value', 'invalid_value', 'invalid_value', 'required', 'required', 'too_long'], JSON.stringify(slugs));

  // the parent's delete of it withdraws the copy
  feed.push({ seq: base + feed.length + 1, op: 'delete', id: '9001', region: DISTRICT, record: { id: '9001', deleted: true } });
  assert.equal((await ok(await pull())).applied, 1);
  assert.equal((await childNotices()).find((n) => n.id === copy.id).state, 'withdrawn');
});
