// Publishing (疫情发布, docs/publish.md): publications composed of blocks,
// submitted, approved by a second person (never the submitter), versioned
// and withdrawn; the public page /public/ and its API without sign-in,
// answering only approved snapshots of aggregates (no person-level string
// ever reaches it); news and public-opinion feeds imported as JSON, RSS or
// Atom, deduplicated and shown once approved; bad input refused and
// changing nothing; each user inside their scope.
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { startCityWith, startServer, startPeer, CITY_STAFF, CITY_CSV, writeTmp, residentId, expectError, auditEntries, sqlRun, sleep } from './lib.mjs';

const PW = 'Passw0rd!publish';
const BUILDING = '110101001001001001'; // 东华门街道 多福巷社区 第一网格 1号楼
const OTHER_COMMUNITY = '110101002001'; // 景山街道 隆福寺社区
const STREET = '110101001000'; // 东华门街道
const OTHER_STREET = '110101002000'; // 景山街道
const DISTRICT = '110101000000'; // 东城区
const WEST = '110102001001'; // 西城区 府右街社区

// People whose every personal string is distinctive, so that a scan of the
// public replies finds any of them that leaks.
const PEOPLE = [
  { name: '欧阳钫鑫', id: residentId('110101', '19770203', 917, true), phone: '13912345671', address: '多福巷甲九号院七门', region: BUILDING, status: 'confirmed' },
  { name: '司马炜骅', id: residentId('110101', '19810405', 919, false), phone: '13912345672', address: '隆福寺乙三号楼五单元', region: OTHER_COMMUNITY, status: 'confirmed' },
  { name: '诸葛珺琦', id: residentId('110101', '19900607', 921, true), phone: '13912345673', address: '多福巷丙十二号', region: BUILDING, status: 'suspected' },
  { name: '上官翊尧', id: residentId('110102', '19850809', 923, false), phone: '13912345674', address: '府右街丁八号', region: WEST, status: 'confirmed' },
];

let ctx, cc, ccWest, street, leader, grid, auditor;

before(async () => {
  ctx = await startCityWith(
    {
      cc_dc: CITY_STAFF.cc_dc,
      cc_xc: CITY_STAFF.cc_xc,
      grid_dc: CITY_STAFF.grid_dc,
      auditor: CITY_STAFF.auditor,
      street: ['street_staff', STREET],
      leader: ['leader', DISTRICT],
    },
    PW,
    // the schedule re-renders live versions every second here (an hour by default)
    { env: { FK_PUBLISH_RENDER: '1' } },
  );
  ({ cc_dc: cc, cc_xc: ccWest, street, leader, grid_dc: grid, auditor } = ctx.as);
  for (const p of PEOPLE) {
    const c = p.region === WEST ? ccWest : cc;
    const r = await c.post('/api/v1/persons', { name: p.name, id_number: p.id, phone: p.phone, address: p.address, region_code: p.region, status: p.status });
    assert.equal(r.status, 201, r.text);
    p.personId = r.body.id;
  }
});
after(async () => {
  await ctx?.stop();
});

const BLOCKS = [
  { kind: 'title', text: '东华门街道疫情通报' },
  { kind: 'text', text: '今日通报如下。\n\n请居民做好个人防护。' },
  { kind: 'figures', measures: ['person.status.confirmed', 'person.status.suspected', 'person.registered'] },
  { kind: 'trend', measure: 'person.registered', days: 7, cumulative: true },
  { kind: 'regions', measures: ['person.status.confirmed'] },
  { kind: 'map', measure: 'person.status.confirmed' },
];

async function create(c, body) {
  const r = await c.post('/api/v1/publications', body);
  assert.equal(r.status, 201, r.text);
  return r.body;
}

async function publicItems() {
  const r = await ctx.client().get('/api/v1/public/publications');
  assert.equal(r.status, 200, r.text);
  return r.body.items;
}

// The workbench count of entry `key` for a client, undefined without the entry.
async function benchCount(c, key) {
  const r = await c.get('/api/v1/workbench');
  assert.equal(r.status, 200, r.text);
  return r.body.entries.find((e) => e.key === key)?.count;
}

const figuresOf = (snap) => Object.fromEntries(snap.blocks.find((b) => b.kind === 'figures').items.map((f) => [f.label, f]));

test('templates: each starts with blocks of registered measures; who may compose and read', async () => {
  const r = await street.get('/api/v1/publish/templates');
  assert.equal(r.status, 200, r.text);
  assert.deepEqual(r.body.items.map((t) => t.name), ['overview', 'local', 'map', 'trends', 'regions']);
  assert.deepEqual(r.body.items.map((t) => t.label), ['疫情概况', '本地情况', '疫情地图', '疫情趋势', '分区数据']);
  const overview = r.body.items[0].blocks;
  assert.equal(overview[0].kind, 'title');
  assert.ok(overview.find((b) => b.kind === 'figures').measures.includes('person.status.confirmed'));
  // a draft from a template, in the street's own region by default
  const p = await create(street, { template: 'regions', title: '分区数据' });
  assert.equal(p.region_code, STREET);
  assert.equal(p.region_name, '东华门街道');
  assert.equal(p.state, 'draft');
  assert.equal(p.state_label, '草稿');
  assert.equal(p.blocks[1].kind, 'regions');
  assert.equal(p.live_version, null);
  // a grid worker holds neither permission; nobody signed in gets 401
  assert.equal((await grid.get('/api/v1/publications')).status, 403);
  assert.equal((await grid.post('/api/v1/publications', { template: 'overview', title: 'x' })).status, 403);
  assert.equal((await ctx.client().get('/api/v1/publications')).status, 401);
  // the leader approves (publish.approve) and so reads, but does not compose
  assert.equal((await leader.get('/api/v1/publications')).status, 200);
  assert.equal((await leader.post('/api/v1/publications', { template: 'overview', title: 'x' })).status, 403);
});

test('workflow: draft, preview, submit, self-approval refused, approval by a second person, the public sees it', async () => {
  const p = await create(street, { template: 'overview', title: '东华门街道疫情通报', blocks: BLOCKS });
  assert.equal(p.template, 'overview');
  assert.deepEqual(p.blocks, BLOCKS);
  // nothing public before approval
  assert.ok(!(await publicItems()).some((i) => i.id === p.id));
  // the preview renders the draft exactly as the public page will
  let r = await street.get(`/api/v1/publications/${p.id}/preview`);
  assert.equal(r.status, 200, r.text);
  const figs = figuresOf(r.body.snapshot);
  assert.equal(figs['确诊'].value, 1, 'the street counts its own confirmed person only');
  assert.equal(figs['疑似'].value, 1);
  assert.equal(figs['登记人员'].value, 2);
  assert.equal(figs['登记人员'].today, 2);
  assert.equal(r.body.snapshot.region_name, '东华门街道');
  assert.match(r.body.html, /<article class="pub"><h2>东华门街道疫情通报<\/h2>/);
  assert.match(r.body.html, /<p>请居民做好个人防护。<\/p>/);
  assert.match(r.body.css, /\.fkp/);
  const trend = r.body.snapshot.blocks.find((b) => b.kind === 'trend');
  assert.equal(trend.points.length, 7);
  assert.equal(trend.points.at(-1).value, 2, 'cumulative to today');
  const regions = r.body.snapshot.blocks.find((b) => b.kind === 'regions');
  assert.deepEqual(regions.columns, ['确诊']);
  assert.deepEqual(regions.rows, [{ name: '多福巷社区', values: [1] }]);
  const map = r.body.snapshot.blocks.find((b) => b.kind === 'map');
  assert.deepEqual(map.items, [{ name: '多福巷社区', value: 1 }], 'no outline stored: a table');

  // approve before submission: 409; submit
  expectError(await leader.post(`/api/v1/publications/${p.id}/approve`), 409, 'invalid_transition');
  r = await street.post(`/api/v1/publications/${p.id}/submit`);
  assert.equal(r.status, 200, r.text);
  assert.equal(r.body.state, 'pending');
  assert.equal(r.body.submitted_by, street.id);
  expectError(await street.post(`/api/v1/publications/${p.id}/submit`), 409, 'invalid_transition');
  // approvers find it on their workbench; composers have no such entry
  assert.equal(await benchCount(leader, 'publish_pending'), 1);
  assert.equal(await benchCount(ccWest, 'publish_pending'), 0, 'another district waits for nothing');
  assert.equal(await benchCount(street, 'publish_pending'), undefined);
  // a street user cannot approve at all (no publish.approve)
  assert.equal((await street.post(`/api/v1/publications/${p.id}/approve`)).status, 403);

  // the command centre composes and submits its own: it may not approve it
  const own = await create(cc, { template: 'overview', title: '东城区疫情概况', blocks: [{ kind: 'figures', measures: ['person.status.confirmed'] }] });
  assert.equal((await cc.post(`/api/v1/publications/${own.id}/submit`)).status, 200);
  expectError(await cc.post(`/api/v1/publications/${own.id}/approve`), 403, 'self_approval');
  r = await cc.get(`/api/v1/publications/${own.id}`);
  assert.equal(r.body.state, 'pending', 'the refused approval changed nothing');
  assert.equal(r.body.versions, 0);
  const refusals = await auditEntries(auditor, 'publish.approve', own.id);
  assert.ok(refusals.some((e) => e.result === 'self_approval'), JSON.stringify(refusals));
  // the leader (a second person) approves it
  r = await leader.post(`/api/v1/publications/${own.id}/approve`);
  assert.equal(r.status, 200, r.text);
  assert.equal(r.body.state, 'published');
  assert.equal(r.body.live_version, 1);

  // the street's is approved by the command centre
  r = await cc.post(`/api/v1/publications/${p.id}/approve`);
  assert.equal(r.status, 200, r.text);
  assert.equal(r.body.state, 'published');
  assert.equal(r.body.live_version, 1);
  assert.equal(r.body.versions, 1);
  const entries = await auditEntries(auditor, 'publish.approve', p.id);
  assert.ok(entries.some((e) => e.result === 'ok' && /version=1/.test(e.detail)), JSON.stringify(entries));
  for (const action of ['publish.create', 'publish.submit'])
    assert.ok((await auditEntries(auditor, action, p.id)).some((e) => e.result === 'ok'), action);

  // the public sees both, without a session, with the date of the data
  const items = await publicItems();
  const mine = items.find((i) => i.id === p.id);
  assert.ok(mine, JSON.stringify(items));
  assert.equal(mine.version, 1);
  assert.equal(mine.snapshot.title, '东华门街道疫情通报');
  assert.match(mine.snapshot.date, /^\d{4}-\d{2}-\d{2}$/);
  assert.equal(figuresOf(mine.snapshot)['确诊'].value, 1);
  const district = items.find((i) => i.id === own.id);
  assert.equal(district.snapshot.blocks[0].items[0].value, 2, 'the district counts both of its streets, not the west');
  const page = await ctx.client().get('/public/');
  assert.equal(page.status, 200);
  assert.match(page.headers.get('content-type'), /text\/html/);
  assert.match(page.text, /东华门街道疫情通报/);
  assert.match(page.text, /数据截至 <time>\d{4}-\d{2}-\d{2}<\/time>/);
  assert.match(page.text, /<svg viewBox="0 0 320 110"/, 'the trend drawn as SVG');
  assert.doesNotMatch(page.text, /<script/i, 'no script on the public page');
});

test('schedule: live versions get the figures of now, the text unchanged', async () => {
  const p = await create(street, { template: 'overview', title: '定时刷新', blocks: [{ kind: 'text', text: '固定文字' }, { kind: 'figures', measures: ['person.status.suspected'] }] });
  await street.post(`/api/v1/publications/${p.id}/submit`);
  assert.equal((await leader.post(`/api/v1/publications/${p.id}/approve`)).status, 200);
  const value = async () => (await publicItems()).find((i) => i.id === p.id).snapshot.blocks[1].items[0].value;
  assert.equal(await value(), 1);
  const r = await cc.post('/api/v1/persons', { name: '刷新测试', id_number: residentId('110101', '19920101', 951, true), region_code: BUILDING, status: 'suspected' });
  assert.equal(r.status, 201, r.text);
  let v;
  for (let i = 0; i < 60 && (v = await value()) !== 2; i++) await sleep(100);
  assert.equal(v, 2, 'the scheduled render counted the new suspected person');
  const snap = (await publicItems()).find((i) => i.id === p.id).snapshot;
  assert.deepEqual(snap.blocks[0], { kind: 'text', paragraphs: ['固定文字'] });
  const versions = (await street.get(`/api/v1/publications/${p.id}/versions`)).body.items;
  assert.equal(versions.length, 1, 'a render is no new version');
  // the same by hand, as an operator would
  assert.match(ctx.must(['publish', 'render']), /publish render: [1-9]\d* live version\(s\) rendered/);
  await cc.del(`/api/v1/persons/${r.body.id}`);
});

test('versions are immutable; withdraw shows the previous approved version, then nothing', async () => {
  const p = await create(cc, { template: 'local', title: '版本测试', blocks: [{ kind: 'text', text: '第一版' }] });
  const approve = async () => {
    assert.equal((await cc.post(`/api/v1/publications/${p.id}/submit`)).status, 200);
    const r = await leader.post(`/api/v1/publications/${p.id}/approve`);
    assert.equal(r.status, 200, r.text);
    return r.body;
  };
  await approve();
  // editing a published publication makes a draft; the public keeps version 1
  let r = await cc.patch(`/api/v1/publications/${p.id}`, { blocks: [{ kind: 'text', text: '第二版' }] });
  assert.equal(r.status, 200, r.text);
  assert.equal(r.body.state, 'draft');
  assert.equal(r.body.live_version, 1);
  const text = async () => (await publicItems()).find((i) => i.id === p.id)?.snapshot.blocks[0].paragraphs[0];
  assert.equal(await text(), '第一版');
  // a rejection sends it back with the reason
  assert.equal((await cc.post(`/api/v1/publications/${p.id}/submit`)).status, 200);
  r = await leader.post(`/api/v1/publications/${p.id}/reject`, { note: '请补充数据来源' });
  assert.equal(r.status, 200, r.text);
  assert.equal(r.body.state, 'draft');
  assert.equal(r.body.note, '请补充数据来源');
  const v2 = await approve();
  assert.equal(v2.live_version, 2);
  assert.equal(await text(), '第二版');

  r = await cc.get(`/api/v1/publications/${p.id}/versions`);
  assert.equal(r.status, 200, r.text);
  assert.deepEqual(r.body.items.map((v) => [v.version, v.live, v.withdrawn_at]), [[2, true, null], [1, false, null]]);
  assert.deepEqual(r.body.items[1].blocks, [{ kind: 'text', text: '第一版' }], 'version 1 kept as approved');
  assert.equal(r.body.items[0].approved_by, leader.id);
  assert.equal(r.body.items[0].submitted_by, cc.id);

  // withdraw: version 2 off, the public sees version 1 again
  r = await leader.post(`/api/v1/publications/${p.id}/withdraw`);
  assert.equal(r.status, 200, r.text);
  assert.equal(r.body.live_version, 1);
  assert.equal(await text(), '第一版');
  assert.ok((await auditEntries(auditor, 'publish.withdraw', p.id)).some((e) => /version=2/.test(e.detail)));
  // and again: nothing left
  assert.equal((await leader.post(`/api/v1/publications/${p.id}/withdraw`)).status, 200);
  assert.equal(await text(), undefined);
  expectError(await leader.post(`/api/v1/publications/${p.id}/withdraw`), 409, 'invalid_transition');
  r = await cc.get(`/api/v1/publications/${p.id}/versions`);
  assert.ok(r.body.items.every((v) => v.withdrawn_at && !v.live));
  // a street user may not withdraw (publish.approve)
  assert.equal((await street.post(`/api/v1/publications/${p.id}/withdraw`)).status, 403);
  // nothing live: it may be deleted, and leaves the lists; a live one may not
  assert.equal((await cc.del(`/api/v1/publications/${p.id}`)).status, 204);
  assert.equal((await cc.get(`/api/v1/publications/${p.id}`)).status, 404);
  assert.ok(!(await cc.get('/api/v1/publications?page_size=100')).body.items.some((i) => i.id === p.id));
  assert.ok((await auditEntries(auditor, 'publish.delete', p.id)).some((e) => e.result === 'ok'));
  const live = (await publicItems())[0];
  expectError(await cc.del(`/api/v1/publications/${live.id}`), 409, 'invalid_transition');
  assert.equal((await grid.del(`/api/v1/publications/${live.id}`)).status, 403);
});

test('scope: a street sees and composes only in its street; another district sees nothing', async () => {
  const mine = await create(street, { template: 'overview', title: '本街道', blocks: [{ kind: 'figures', measures: ['person.status.confirmed'] }] });
  const theirs = await create(cc, { template: 'overview', title: '景山街道', region_code: OTHER_STREET, blocks: [{ kind: 'figures', measures: ['person.status.confirmed'] }] });
  assert.equal(theirs.region_name, '景山街道');
  // the street's publication counts only the street
  let r = await street.get(`/api/v1/publications/${mine.id}/preview`);
  assert.equal(r.body.snapshot.blocks[0].items[0].value, 1);
  r = await cc.get(`/api/v1/publications/${theirs.id}/preview`);
  assert.equal(r.body.snapshot.blocks[0].items[0].value, 1);
  // beside the scope: 404, as for one that does not exist
  assert.equal((await street.get(`/api/v1/publications/${theirs.id}`)).status, 404);
  assert.equal((await street.patch(`/api/v1/publications/${theirs.id}`, { title: '改' })).status, 404);
  assert.equal((await street.post(`/api/v1/publications/${theirs.id}/submit`)).status, 404);
  assert.equal((await ccWest.get(`/api/v1/publications/${mine.id}`)).status, 404);
  await street.post(`/api/v1/publications/${mine.id}/submit`);
  assert.equal((await ccWest.post(`/api/v1/publications/${mine.id}/approve`)).status, 404);
  expectError(await street.post('/api/v1/publications', { template: 'overview', title: 'x', region_code: OTHER_STREET }), 404, 'not_found', 'region_code');
  expectError(await street.post('/api/v1/publications', { template: 'overview', title: 'x', region_code: DISTRICT }), 404, 'not_found', 'region_code');
  r = await street.get('/api/v1/publications?page_size=100');
  assert.ok(r.body.items.every((i) => i.region_code.startsWith('110101001')), JSON.stringify(r.body.items.map((i) => i.region_code)));
  assert.ok(!r.body.items.some((i) => i.id === theirs.id));
  r = await ccWest.get('/api/v1/publications');
  assert.equal(r.body.total, 0);
  r = await street.get('/api/v1/publications?state=pending');
  assert.ok(r.body.items.length >= 1 && r.body.items.every((i) => i.state === 'pending'));
});

test('bad input: unknown measure, unknown block, malformed blocks and bodies change nothing', async () => {
  const count = () => Number(sqlRun(ctx, 'SELECT COUNT(*) FROM publications').trim());
  const before = count();
  const bad = (blocks) => cc.post('/api/v1/publications', { template: 'overview', title: '坏', blocks });
  expectError(await bad([{ kind: 'title', text: 'x' }, { kind: 'figures', measures: ['person.status.confirmed', 'no.such.measure'] }]), 400, 'unknown_measure', 'blocks[1].measures');
  expectError(await bad([{ kind: 'video', url: 'http://x' }]), 400, 'unknown_block', 'blocks[0].kind');
  expectError(await bad([{ kind: 'figures' }]), 400, 'invalid_block', 'blocks[0].measures');
  expectError(await bad([{ kind: 'figures', measures: [] }]), 400, 'invalid_block', 'blocks[0].measures');
  expectError(await bad([{ kind: 'text', text: 'x', html: '<script>' }]), 400, 'invalid_block', 'blocks[0]');
  expectError(await bad([{ kind: 'trend', measure: 'person.status.confirmed' }]), 400, 'invalid_block', 'blocks[0].measure');
  expectError(await bad([{ kind: 'trend', measure: 'person.registered', days: 365 }]), 400, 'invalid_block', 'blocks[0].days');
  expectError(await bad([{ kind: 'title', text: '' }]), 400, 'invalid_block', 'blocks[0].text');
  expectError(await bad([]), 400, 'invalid_block', 'blocks');
  expectError(await bad(['figures']), 400, 'invalid_block', 'blocks[0]');
  expectError(await cc.post('/api/v1/publications', { template: 'poster', title: 'x' }), 400, 'invalid_value', 'template');
  expectError(await cc.post('/api/v1/publications', { template: 'overview' }), 400, 'required', 'title');
  expectError(await cc.post('/api/v1/publications', { template: 'overview', title: 'x', region_code: '12' }), 400, 'invalid_region', 'region_code');
  expectError(await cc.post('/api/v1/publications', { template: 'overview', title: 'x', extra: 1 }), 400, 'unknown_field', 'extra');
  assert.equal((await cc.req('POST', '/api/v1/publications', '{"template":', {})).status, 400);
  assert.equal(count(), before);
  // a patch with bad blocks leaves the draft as it was
  const p = await create(cc, { template: 'overview', title: '原样', blocks: [{ kind: 'text', text: '原文' }] });
  expectError(await cc.patch(`/api/v1/publications/${p.id}`, { blocks: [{ kind: 'map', measure: 'x.y' }] }), 400, 'unknown_measure', 'blocks[0].measure');
  assert.deepEqual((await cc.get(`/api/v1/publications/${p.id}`)).body.blocks, [{ kind: 'text', text: '原文' }]);
  expectError(await leader.post(`/api/v1/publications/${p.id}/reject`, { note: 5 }), 400, 'invalid_type', 'note');
  assert.equal((await cc.get('/api/v1/publications/123456789')).status, 404);
});

const RSS = `<?xml version="1.0" encoding="UTF-8"?>
<rss version="2.0"><channel><title>东城发布</title>
<item><title>东城区发布最新防控措施</title><link>https://example.gov.cn/news/1</link><guid>news-1</guid>
<description>&lt;p&gt;全区&lt;b&gt;常态化&lt;/b&gt;防控&lt;/p&gt;</description><pubDate>Fri, 04 Dec 2026 09:30:00 +0800</pubDate><source url="https://example.gov.cn">东城发布</source></item>
<item><title>核酸检测点位调整</title><link>https://example.gov.cn/news/2</link><description>新增三个点位</description></item>
<item><title>无效链接</title><link>javascript:alert(1)</link></item>
</channel></rss>`;

const ATOM = `<?xml version="1.0" encoding="utf-8"?>
<feed xmlns="http://www.w3.org/2005/Atom"><title>舆情监测</title><id>urn:feed</id>
<entry><title>网民关注隔离点物资保障</title><id>urn:opinion:1</id><link href="https://example.com/o/1"/>
<updated>2026-12-04T10:00:00+08:00</updated><summary>相关部门已回应</summary><source><title>微博</title></source></entry>
</feed>`;

test('feeds: JSON batch, RSS and Atom imports, deduplicated, shown only once approved', async () => {
  let r = await street.post('/api/v1/feed-items/batch', {
    items: [
      { kind: 'news', title: '街道开展防疫宣传', link: 'https://example.gov.cn/street/1', summary: '社区志愿者入户宣传', source: '东华门街道', published_at: '2026-12-03 08:00' },
      { kind: 'opinion', title: '居民反映买菜难', guid: 'op-77', source: '12345' },
    ],
  });
  assert.equal(r.status, 200, r.text);
  assert.deepEqual(r.body, { received: 2, created: 2, duplicates: 0, skipped: 0 });
  r = await cc.req('POST', '/api/v1/feed-items/import?kind=news', RSS, { 'content-type': 'application/rss+xml' });
  assert.equal(r.status, 200, r.text);
  assert.deepEqual(r.body, { received: 3, created: 2, duplicates: 0, skipped: 1 });
  // the same file again: every item already there
  r = await cc.req('POST', '/api/v1/feed-items/import?kind=news', RSS, { 'content-type': 'application/rss+xml' });
  assert.deepEqual(r.body, { received: 3, created: 0, duplicates: 2, skipped: 1 });
  r = await cc.req('POST', '/api/v1/feed-items/import?kind=opinion', ATOM, { 'content-type': 'application/atom+xml' });
  assert.deepEqual(r.body, { received: 1, created: 1, duplicates: 0, skipped: 0 });
  // the same item by JSON: deduplicated by its link
  r = await cc.post('/api/v1/feed-items/batch', { items: [{ kind: 'news', title: '重复', link: 'https://example.gov.cn/news/2' }] });
  assert.deepEqual(r.body, { received: 1, created: 0, duplicates: 1, skipped: 0 });

  r = await cc.get('/api/v1/feed-items?state=pending&page_size=50');
  assert.equal(r.status, 200, r.text);
  const byTitle = Object.fromEntries(r.body.items.map((i) => [i.title, i]));
  assert.equal(r.body.total, 5);
  const rssItem = byTitle['东城区发布最新防控措施'];
  assert.equal(rssItem.summary, '全区 常态化 防控', 'markup of the description dropped');
  assert.equal(rssItem.published_at, '2026-12-04 09:30:00');
  assert.equal(rssItem.source, '东城发布');
  assert.equal(rssItem.kind_label, '最新动态');
  const atomItem = byTitle['网民关注隔离点物资保障'];
  assert.equal(atomItem.kind, 'opinion');
  assert.equal(atomItem.link, 'https://example.com/o/1');
  assert.equal(atomItem.source, '微博');
  assert.equal(atomItem.published_at, '2026-12-04 10:00:00');
  // the street sees what was imported in its scope only
  r = await street.get('/api/v1/feed-items');
  assert.deepEqual(r.body.items.map((i) => i.title).sort(), ['居民反映买菜难', '街道开展防疫宣传'].sort());

  // nothing public before approval
  const pub = async () => (await ctx.client().get('/api/v1/public/feed-items')).body.items.map((i) => i.title);
  assert.ok(!(await pub()).includes('东城区发布最新防控措施'));
  assert.equal((await street.post(`/api/v1/feed-items/${rssItem.id}/approve`)).status, 403, 'publish.approve only');
  assert.equal((await ccWest.post(`/api/v1/feed-items/${rssItem.id}/approve`)).status, 404);
  r = await leader.post(`/api/v1/feed-items/${rssItem.id}/approve`);
  assert.equal(r.status, 200, r.text);
  assert.equal((await leader.post(`/api/v1/feed-items/${atomItem.id}/approve`)).status, 200);
  assert.equal((await leader.post(`/api/v1/feed-items/${byTitle['核酸检测点位调整'].id}/reject`)).status, 200);
  expectError(await leader.post(`/api/v1/feed-items/${rssItem.id}/reject`), 409, 'invalid_transition');
  const titles = await pub();
  assert.ok(titles.includes('东城区发布最新防控措施') && titles.includes('网民关注隔离点物资保障'), titles.join());
  assert.ok(!titles.includes('核酸检测点位调整') && !titles.includes('居民反映买菜难'));
  assert.equal(await benchCount(leader, 'feed_pending'), 2, 'the street\'s two items still wait');
  const page = (await ctx.client().get('/public/')).text;
  assert.match(page, /<section class="feed-news"><h2>最新动态<\/h2>.*东城区发布最新防控措施/s);
  assert.match(page, /<section class="feed-opinion"><h2>舆情信息<\/h2>.*网民关注隔离点物资保障/s);
  assert.ok((await auditEntries(auditor, 'feed.approve', rssItem.id)).some((e) => e.result === 'ok'));
  assert.ok((await auditEntries(auditor, 'feed.import')).some((e) => /created=2/.test(e.detail)));
});

test('feeds: a DOCTYPE or entity is refused, malformed or foreign XML and bad items are 400, nothing stored', async () => {
  const count = () => Number(sqlRun(ctx, 'SELECT COUNT(*) FROM feed_items').trim());
  const before = count();
  const post = (xml) => cc.req('POST', '/api/v1/feed-items/import', xml, { 'content-type': 'application/xml' });
  const xxe = `<?xml version="1.0"?><!DOCTYPE rss [<!ENTITY xxe SYSTEM "file:///etc/passwd">]>
<rss version="2.0"><channel><item><title>&xxe;</title><link>https://x.example/1</link></item></channel></rss>`;
  expectError(await post(xxe), 400, 'feed_doctype', 'file');
  const laughs = `<?xml version="1.0"?><!doctype rss [<!entity a "aaaaaaaaaa"><!entity b "&a;&a;&a;&a;">]><rss><channel><item><title>&b;</title><link>https://x.example/2</link></item></channel></rss>`;
  expectError(await post(laughs), 400, 'feed_doctype', 'file');
  expectError(await post('<rss><channel><item><title>未闭合</title></channel></rss>'), 400, 'invalid_feed', 'file');
  expectError(await post('<html><body>不是订阅</body></html>'), 400, 'invalid_feed', 'file');
  expectError(await post('<rss version="2.0"><channel></channel></rss>'), 400, 'invalid_feed', 'file');
  expectError(await cc.req('POST', '/api/v1/feed-items/import?kind=ads', RSS, { 'content-type': 'application/xml' }), 400, 'invalid_parameter', 'kind');
  expectError(await cc.post('/api/v1/feed-items/batch', { items: [] }), 400, 'invalid_batch', 'items');
  expectError(await cc.post('/api/v1/feed-items/batch', { items: [{ kind: 'news', title: '好', link: 'https://a.example/ok' }, { kind: 'news', title: '坏', link: 'ftp://a.example/x' }] }), 400, 'invalid_value', 'items[1].link');
  expectError(await cc.post('/api/v1/feed-items/batch', { items: [{ kind: 'news', title: '无键' }] }), 400, 'required', 'items[0].link');
  expectError(await cc.post('/api/v1/feed-items/batch', { items: [{ kind: 'rumour', title: 'x', link: 'https://a.example/y' }] }), 400, 'invalid_value', 'items[0].kind');
  expectError(await cc.post('/api/v1/feed-items/batch', { items: [{ kind: 'news', title: 'x', link: 'https://a.example/w', colour: 'red' }] }), 400, 'unknown_field', 'items[0].colour');
  expectError(await cc.post('/api/v1/feed-items/batch', { items: ['新闻'] }), 400, 'invalid_type', 'items[0]');
  expectError(await cc.post('/api/v1/feed-items/batch', { items: [{ kind: 'news', title: 'x', link: 'https://a.example/z', published_at: '昨天' }] }), 400, 'invalid_value', 'items[0].published_at');
  assert.equal(count(), before);
  const refused = await auditEntries(auditor, 'feed.import');
  assert.ok(refused.length >= 1);
});

test('the public replies: no sign-in, cacheable with an ETag, and NONE of a person\'s strings anywhere', async () => {
  // everything a district can publish, approved
  const all = await create(cc, {
    template: 'overview',
    title: '全区疫情通报',
    blocks: [
      { kind: 'title', text: '全区疫情通报' },
      { kind: 'text', text: '全区情况' },
      { kind: 'figures', measures: ['person.status.confirmed', 'person.status.suspected', 'person.registered'] },
      { kind: 'trend', measure: 'person.registered', days: 30, cumulative: false },
      { kind: 'regions', measures: ['person.status.confirmed', 'person.registered'] },
      { kind: 'map', measure: 'person.status.confirmed' },
    ],
  });
  await cc.post(`/api/v1/publications/${all.id}/submit`);
  assert.equal((await leader.post(`/api/v1/publications/${all.id}/approve`)).status, 200);
  const anon = ctx.client();
  const replies = [];
  for (const p of ['/public/', '/api/v1/public/publications', '/api/v1/public/feed-items']) {
    const r = await anon.get(p);
    assert.equal(r.status, 200, `${p}: ${r.text}`);
    assert.equal(r.headers.get('set-cookie'), null);
    replies.push([p, r.text]);
  }
  // every item's own JSON too, as a script would read it
  for (const it of JSON.parse(replies[1][1]).items) replies.push([`publication ${it.id}`, JSON.stringify(it)]);
  const secrets = PEOPLE.flatMap((p) => [p.name, p.id, p.phone, p.address, p.id.slice(-8), p.phone.slice(-8), p.personId, String(p.personId)]);
  for (const [where, text] of replies)
    for (const s of secrets) assert.ok(!text.includes(s), `${where} holds a person's string ${s}`);
  // positive controls: the scan reads the texts that are there
  const page = replies[0][1];
  assert.ok(page.includes('全区疫情通报') && page.includes('东华门街道') && page.includes('景山街道'));
  assert.ok(replies[1][1].includes('全区情况'));
  const snap = JSON.parse(replies[1][1]).items.find((i) => i.id === all.id).snapshot;
  assert.deepEqual(snap.blocks.find((b) => b.kind === 'regions').rows.map((r) => r.name).sort(), ['东华门街道', '景山街道'].sort());

  // cacheable: ETag and a conditional request answered 304 (the schedule
  // renders every second here, so the pair is retried if it fell across one)
  let status;
  for (let i = 0; i < 10 && status !== 304; i++) {
    const r = await fetch(`${ctx.url}/public/`);
    assert.equal(r.headers.get('cache-control'), 'public, max-age=60');
    const etag = r.headers.get('etag');
    assert.match(etag, /^"[0-9a-f]{16}"$/);
    await r.text();
    const again = await fetch(`${ctx.url}/public/`, { headers: { 'if-none-match': etag } });
    status = again.status;
    assert.equal(await again.text(), '');
  }
  assert.equal(status, 304);
  // /public redirects to /public/
  const bare = await fetch(`${ctx.url}/public`, { redirect: 'manual' });
  assert.equal(bare.status, 302);
  assert.equal(bare.headers.get('location'), '/public/');
});

test('a second server keeps its own copy of the page and sees every change the first one writes', async () => {
  const peer = await startPeer(ctx);
  try {
    const page = async () => (await peer.client().get('/public/')).text;
    const p = await create(cc, { template: 'local', title: '两台服务器', blocks: [{ kind: 'text', text: '甲版' }] });
    assert.ok(!(await page()).includes('两台服务器'));
    await cc.post(`/api/v1/publications/${p.id}/submit`);
    assert.equal((await leader.post(`/api/v1/publications/${p.id}/approve`)).status, 200);
    assert.match(await page(), /两台服务器.*甲版/s, 'an approval on the first server');
    await cc.patch(`/api/v1/publications/${p.id}`, { blocks: [{ kind: 'text', text: '乙版' }] });
    assert.match(await page(), /甲版/, 'a draft changes nothing public');
    await cc.post(`/api/v1/publications/${p.id}/submit`);
    await leader.post(`/api/v1/publications/${p.id}/approve`);
    assert.match(await page(), /乙版/);
    await leader.post(`/api/v1/publications/${p.id}/withdraw`);
    assert.match(await page(), /甲版/, 'a withdrawal on the first server');
    const r = await cc.post('/api/v1/feed-items/batch', { items: [{ kind: 'news', title: '两台服务器的动态', link: 'https://example.gov.cn/two' }] });
    assert.equal(r.status, 200, r.text);
    const item = (await cc.get('/api/v1/feed-items?state=pending&page_size=50')).body.items.find((i) => i.title === '两台服务器的动态');
    assert.ok(!(await page()).includes('两台服务器的动态'));
    await leader.post(`/api/v1/feed-items/${item.id}/approve`);
    assert.ok((await page()).includes('两台服务器的动态'), 'a feed approval on the first server');
  } finally {
    await peer.stop();
  }
});

test('rate limit: an address over FK_PUBLIC_RATE a minute gets 429', async () => {
  const small = await startServer({ env: { FK_PUBLIC_RATE: '3' }, setup: (c) => c.must(['import', 'regions', writeTmp(c, 'city.csv', CITY_CSV)]) });
  try {
    const got = [];
    for (let i = 0; i < 5; i++) got.push((await fetch(`${small.url}/api/v1/public/publications`)).status);
    assert.deepEqual(got, [200, 200, 200, 429, 429]);
    const r = await small.client().get('/public/');
    expectError(r, 429, 'public_rate_limited');
  } finally {
    await small.stop();
  }
});
